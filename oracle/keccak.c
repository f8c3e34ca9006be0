/* Keccak-256 as Ethereum uses it: the SHA-3 sponge (rate 136 bytes) with the original Keccak
 * padding 0x01 ... 0x80. nettle's sha3_256 pads with 0x06 (FIPS 202) and gives different
 * digests, so only its permutation is used here. */
#include "oracle/oracle.h"

#include <nettle/sha3.h>
#include <string.h>

#define RATE 136

static void absorb(struct sha3_state* st, const uint8_t* block)
{
    for (size_t i = 0; i < RATE / 8; i++) {
        uint64_t lane = 0;
        for (int b = 7; b >= 0; b--)
            lane = lane << 8 | block[8 * i + (size_t)b];
        st->a[i] ^= lane;
    }
    sha3_permute(st);
}

void eth_keccak256(const void* data, size_t len, uint8_t out[32])
{
    const uint8_t* p = data;
    struct sha3_state st;
    memset(&st, 0, sizeof st);
    while (len >= RATE) {
        absorb(&st, p);
        p += RATE;
        len -= RATE;
    }
    uint8_t last[RATE];
    memset(last, 0, sizeof last);
    if (len)
        memcpy(last, p, len);
    last[len] ^= 0x01;
    last[RATE - 1] ^= 0x80; /* with len == 135 both land on one byte: 0x81 */
    absorb(&st, last);
    for (size_t i = 0; i < 32; i++)
        out[i] = (uint8_t)(st.a[i / 8] >> (8 * (i % 8)));
}
