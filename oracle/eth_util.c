/* Error names, the growable byte buffer and hex conversions shared by the oracle library. */
#include "oracle/oracle.h"

#include "common/hex.h"

#include <stdlib.h>
#include <string.h>

const char* eth_strerror(int err)
{
    switch (err) {
    case ETH_OK:
        return "ok";
    case ETH_EINVAL:
        return "invalid argument";
    case ETH_ENOMEM:
        return "out of memory";
    case ETH_EIO:
        return "Ethereum node unreachable";
    case ETH_ERPC:
        return "Ethereum node returned an error";
    case ETH_EREVERT:
        return "execution reverted";
    case ETH_EFUNDS:
        return "insufficient funds for gas * price + value";
    case ETH_ETIMEOUT:
        return "timed out";
    case ETH_EKEY:
        return "unusable key file";
    case ETH_ENOTFOUND:
        return "not found";
    case ETH_EALREADY:
        return "result already on chain";
    case ETH_ERATELIMIT:
        return "rate limited by the Ethereum node";
    case ETH_EJOURNAL:
        return "transaction journal write failed";
    case ETH_ENONCE:
        return "nonce too low";
    case ETH_EUNDERPRICED:
        return "transaction underpriced";
    case ETH_ECHAIN:
        return "wrong chain id";
    case ETH_EPROTO:
        return "unexpected answer from the Ethereum node";
    default:
        return "unknown error";
    }
}

void eth_buf_init(eth_buf* b)
{
    memset(b, 0, sizeof *b);
}

void eth_buf_free(eth_buf* b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void eth_buf_reset(eth_buf* b)
{
    b->len = 0;
    b->oom = 0;
}

static int buf_reserve(eth_buf* b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->len + extra <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra)
        cap *= 2;
    uint8_t* p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void eth_buf_append(eth_buf* b, const void* p, size_t n)
{
    if (n == 0 || buf_reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void eth_buf_byte(eth_buf* b, uint8_t c)
{
    eth_buf_append(b, &c, 1);
}

static const char* skip0x(const char* s)
{
    return (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? s + 2 : s;
}

int eth_hex_decode(const char* hex, uint8_t* out, size_t out_len)
{
    if (!hex)
        return ETH_EINVAL;
    hex = skip0x(hex);
    if (strlen(hex) != 2 * out_len)
        return ETH_EINVAL;
    for (size_t i = 0; i < out_len; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return ETH_EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return ETH_OK;
}

int eth_hex_decode_buf(const char* hex, eth_buf* out)
{
    if (!hex)
        return ETH_EINVAL;
    hex = skip0x(hex);
    size_t n = strlen(hex);
    if (n % 2)
        return ETH_EINVAL;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return ETH_EINVAL;
        eth_buf_byte(out, (uint8_t)(hi << 4 | lo));
    }
    return out->oom ? ETH_ENOMEM : ETH_OK;
}

void eth_hex_write(const uint8_t* p, size_t n, char* out)
{
    out[0] = '0';
    out[1] = 'x';
    hex_encode(p, n, out + 2);
}

char* eth_hex_encode(const uint8_t* p, size_t n)
{
    char* s = malloc(2 * n + 3);
    if (s)
        eth_hex_write(p, n, s);
    return s;
}

int eth_hex_u64(const char* hex, uint64_t* out)
{
    if (!hex || hex[0] != '0' || (hex[1] != 'x' && hex[1] != 'X') || !hex[2])
        return ETH_EINVAL;
    uint64_t v = 0;
    for (const char* c = hex + 2; *c; c++) {
        int d = hex_digit(*c);
        if (d < 0 || v > (UINT64_MAX >> 4))
            return ETH_EINVAL;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return ETH_OK;
}
