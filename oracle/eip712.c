/* EIP-712 typed-data digests: keccak256("\x19\x01" || domainSeparator || hashStruct(message)),
 * with the domain EIP712Domain(string name,string version,uint256 chainId,address
 * verifyingContract). Putting chain id and contract address in the domain stops a result
 * signed for one chain or deployment from being replayed on another. */
#include "oracle/oracle.h"

#include <string.h>

void eth_eip712_domain(const char* name,
                       const char* version,
                       uint64_t chain_id,
                       const uint8_t contract[20],
                       uint8_t out[32])
{
    static const char type[] =
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
    uint8_t enc[5 * 32];
    eth_keccak256(type, strlen(type), enc);
    eth_keccak256(name, strlen(name), enc + 32);
    eth_keccak256(version, strlen(version), enc + 64);
    memset(enc + 96, 0, 64);
    for (int i = 0; i < 8; i++)
        enc[127 - i] = (uint8_t)(chain_id >> (8 * i));
    memcpy(enc + 140, contract, 20);
    eth_keccak256(enc, sizeof enc, out);
}

void eth_eip712_digest(const uint8_t domain_separator[32],
                       const uint8_t struct_hash[32],
                       uint8_t out[32])
{
    uint8_t m[66];
    m[0] = 0x19;
    m[1] = 0x01;
    memcpy(m + 2, domain_separator, 32);
    memcpy(m + 34, struct_hash, 32);
    eth_keccak256(m, sizeof m, out);
}
