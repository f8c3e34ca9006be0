/* RLP encoding (Yellow Paper, appendix B): strings and lists with short (< 56) and long
 * length prefixes; integers as big-endian bytes without leading zeros (zero is ""). Lists are
 * built by encoding the items into a scratch buffer and wrapping it with eth_rlp_list. */
#include "oracle/oracle.h"

static void rlp_header(eth_buf* out, uint8_t short_base, size_t n)
{
    if (n < 56) {
        eth_buf_byte(out, (uint8_t)(short_base + n));
        return;
    }
    uint8_t be[8];
    int k = 0;
    for (size_t v = n; v; v >>= 8)
        k++;
    for (int i = 0; i < k; i++)
        be[i] = (uint8_t)(n >> (8 * (k - 1 - i)));
    eth_buf_byte(out, (uint8_t)(short_base + 55 + k));
    eth_buf_append(out, be, (size_t)k);
}

void eth_rlp_bytes(eth_buf* out, const uint8_t* p, size_t n)
{
    if (n == 1 && p[0] < 0x80) {
        eth_buf_byte(out, p[0]);
        return;
    }
    rlp_header(out, 0x80, n);
    eth_buf_append(out, p, n);
}

void eth_rlp_uint_be(eth_buf* out, const uint8_t* be, size_t n)
{
    while (n && be[0] == 0) {
        be++;
        n--;
    }
    eth_rlp_bytes(out, be, n);
}

void eth_rlp_u64(eth_buf* out, uint64_t v)
{
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(v >> (56 - 8 * i));
    eth_rlp_uint_be(out, be, 8);
}

void eth_rlp_list(eth_buf* out, const uint8_t* payload, size_t n)
{
    rlp_header(out, 0xc0, n);
    eth_buf_append(out, payload, n);
}
