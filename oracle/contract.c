/* The MatchOracle contract seen from C: the digest each node signs, calldata for the calls we
 * make, the compiled artefacts the build writes, and the two views (result, signer set).
 * The layouts here must match oracle/contracts/MatchOracle.sol; the chain tests check them
 * against the deployed contract (digestOf) and the selectors against its ABI. */
#include "oracle/oracle.h"

#include "common/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBMIT_SIG "submitResult(uint256,uint8,uint16,uint16,(bytes32,bytes32)[],uint256)"
#define SET_SIGNERS_SIG "setSigners(address[],uint8)"
#define RESULT_SIG "result(uint256)"
#define GET_SIGNERS_SIG "getSigners()"

void oracle_result_digest(uint64_t chain_id,
                          const uint8_t contract[20],
                          const oracle_result* res,
                          uint8_t out[32])
{
    uint8_t ds[32], sh[32];
    eth_eip712_domain(ORACLE_EIP712_NAME, ORACLE_EIP712_VERSION, chain_id, contract, ds);
    eth_buf b;
    eth_buf_init(&b);
    uint8_t th[32];
    eth_keccak256(ORACLE_RESULT_TYPE, strlen(ORACLE_RESULT_TYPE), th);
    eth_abi_word(&b, th);
    eth_abi_u64(&b, res->match_id);
    eth_abi_u64(&b, res->status);
    eth_abi_u64(&b, res->home);
    eth_abi_u64(&b, res->away);
    memset(sh, 0, sizeof sh);
    if (!b.oom)
        eth_keccak256(b.p, b.len, sh);
    eth_buf_free(&b);
    eth_eip712_digest(ds, sh, out);
}

int oracle_sign_result(const eth_key* node_key,
                       uint64_t chain_id,
                       const uint8_t contract[20],
                       const oracle_result* res,
                       uint8_t sig[65])
{
    uint8_t d[32];
    oracle_result_digest(chain_id, contract, res, d);
    return eth_sign_digest(node_key, d, sig);
}

static void selector(eth_buf* out, const char* sig)
{
    uint8_t s[4];
    eth_abi_selector(sig, s);
    eth_buf_append(out, s, 4);
}

int oracle_calldata_submit(const oracle_result* res,
                           const uint8_t (*sigs)[65],
                           size_t nsigs,
                           eth_buf* out)
{
    if (!res || (nsigs && !sigs) || nsigs > 256)
        return ETH_EINVAL;
    /* v (27/28, or 0/1) of signature i travels as bit i of one word. */
    uint8_t vbits[32] = {0};
    for (size_t i = 0; i < nsigs; i++) {
        int v = sigs[i][64] >= 27 ? sigs[i][64] - 27 : sigs[i][64];
        if (v != 0 && v != 1)
            return ETH_EINVAL;
        vbits[31 - i / 8] |= (uint8_t)(v << (i % 8));
    }
    selector(out, SUBMIT_SIG);
    eth_abi_u64(out, res->match_id);
    eth_abi_u64(out, res->status);
    eth_abi_u64(out, res->home);
    eth_abi_u64(out, res->away);
    eth_abi_u64(out, 6 * 32); /* offset of the signature array */
    eth_abi_word(out, vbits);
    eth_abi_u64(out, nsigs);
    for (size_t i = 0; i < nsigs; i++) {
        eth_abi_word(out, sigs[i]);      /* r */
        eth_abi_word(out, sigs[i] + 32); /* s */
    }
    return out->oom ? ETH_ENOMEM : ETH_OK;
}

/* abi.encode(address[] signers, uint8 threshold) */
static void encode_signer_set(eth_buf* out,
                              const uint8_t (*signers)[20],
                              size_t n,
                              unsigned threshold)
{
    eth_abi_u64(out, 2 * 32);
    eth_abi_u64(out, threshold);
    eth_abi_u64(out, n);
    for (size_t i = 0; i < n; i++)
        eth_abi_address(out, signers[i]);
}

int oracle_calldata_set_signers(const uint8_t (*signers)[20],
                                size_t n,
                                unsigned threshold,
                                eth_buf* out)
{
    if (n == 0 || !signers || threshold == 0 || threshold > 255)
        return ETH_EINVAL;
    selector(out, SET_SIGNERS_SIG);
    encode_signer_set(out, signers, n, threshold);
    return out->oom ? ETH_ENOMEM : ETH_OK;
}

int oracle_deploy_code(const uint8_t* bytecode,
                       size_t n,
                       const uint8_t (*signers)[20],
                       size_t nsigners,
                       unsigned threshold,
                       eth_buf* out)
{
    if (!bytecode || n == 0 || nsigners == 0 || !signers || threshold == 0 || threshold > 255)
        return ETH_EINVAL;
    eth_buf_append(out, bytecode, n);
    encode_signer_set(out, signers, nsigners, threshold);
    return out->oom ? ETH_ENOMEM : ETH_OK;
}

int oracle_artefact_load(oracle_artefact* a, const char* dir, eth_error* err)
{
    memset(a, 0, sizeof *a);
    if (!dir || !*dir)
        dir = getenv("PARLAY_ORACLE_ARTEFACTS");
    if (!dir || !*dir)
        dir = "build/contracts";
    char path[4096];
    snprintf(path, sizeof path, "%s/MatchOracle.bin", dir);
    char* bin = NULL;
    size_t bin_len;
    if (file_read(path, (size_t)64 << 20, &bin, &bin_len) != 0)
        bin = NULL;
    if (!bin) {
        if (err)
            snprintf(err->message, sizeof err->message,
                     "cannot read %.180s (build it with `make oracle-contracts`)", path);
        return ETH_ENOTFOUND;
    }
    char* end = bin + strlen(bin);
    while (end > bin && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        *--end = 0;
    eth_buf_init(&a->bytecode);
    int rc = eth_hex_decode_buf(bin, &a->bytecode);
    free(bin);
    if (rc != ETH_OK || a->bytecode.len == 0) {
        if (err)
            snprintf(err->message, sizeof err->message, "%.200s is not hex bytecode", path);
        oracle_artefact_free(a);
        return ETH_EINVAL;
    }
    snprintf(path, sizeof path, "%s/MatchOracle.abi", dir);
    size_t abi_len;
    if (file_read(path, (size_t)64 << 20, &a->abi_json, &abi_len) != 0) {
        a->abi_json = NULL;
        if (err)
            snprintf(err->message, sizeof err->message, "cannot read %.200s", path);
        oracle_artefact_free(a);
        return ETH_ENOTFOUND;
    }
    return ETH_OK;
}

void oracle_artefact_free(oracle_artefact* a)
{
    eth_buf_free(&a->bytecode);
    free(a->abi_json);
    a->abi_json = NULL;
}

int oracle_read_result(eth_rpc* rpc,
                       const uint8_t contract[20],
                       uint64_t match_id,
                       oracle_result* out,
                       int* present,
                       eth_error* err)
{
    eth_buf in, ret;
    eth_buf_init(&in);
    eth_buf_init(&ret);
    selector(&in, RESULT_SIG);
    eth_abi_u64(&in, match_id);
    int rc = in.oom ? ETH_ENOMEM : eth_rpc_call_contract(rpc, contract, in.p, in.len, &ret, err);
    if (rc == ETH_OK && ret.len < 5 * 32)
        rc = ETH_EPROTO; /* no contract at that address answers with empty data */
    if (rc == ETH_OK) {
        memset(out, 0, sizeof *out);
        out->match_id = match_id;
        out->status = (uint8_t)eth_abi_read_u64(ret.p);
        out->home = (uint16_t)eth_abi_read_u64(ret.p + 32);
        out->away = (uint16_t)eth_abi_read_u64(ret.p + 64);
        *present = out->status != ORACLE_STATUS_NONE;
    } else if (rc == ETH_EPROTO && err) {
        snprintf(err->message, sizeof err->message,
                 "no MatchOracle contract answers at this address");
    }
    eth_buf_free(&in);
    eth_buf_free(&ret);
    return rc;
}

int oracle_read_signers(eth_rpc* rpc,
                        const uint8_t contract[20],
                        uint8_t (**signers)[20],
                        size_t* n,
                        unsigned* threshold,
                        eth_error* err)
{
    eth_buf in, ret;
    eth_buf_init(&in);
    eth_buf_init(&ret);
    selector(&in, GET_SIGNERS_SIG);
    *signers = NULL;
    *n = 0;
    int rc = in.oom ? ETH_ENOMEM : eth_rpc_call_contract(rpc, contract, in.p, in.len, &ret, err);
    if (rc == ETH_OK) {
        uint64_t off = ret.len >= 64 ? eth_abi_read_u64(ret.p) : UINT64_MAX;
        uint64_t count = (off <= ret.len - 32) ? eth_abi_read_u64(ret.p + off) : UINT64_MAX;
        if (ret.len < 96 || count > 256 || off + 32 + 32 * count > ret.len) {
            rc = ETH_EPROTO;
            if (err)
                snprintf(err->message, sizeof err->message,
                         "no MatchOracle contract answers at this address");
        } else {
            *threshold = (unsigned)eth_abi_read_u64(ret.p + 32);
            *signers = calloc(count ? count : 1, 20);
            if (!*signers) {
                rc = ETH_ENOMEM;
            } else {
                for (uint64_t i = 0; i < count; i++)
                    memcpy((*signers)[i], ret.p + off + 32 + 32 * i + 12, 20);
                *n = count;
            }
        }
    }
    eth_buf_free(&in);
    eth_buf_free(&ret);
    return rc;
}
