/* Hexadecimal text; see hex.h. */
#include "common/hex.h"

#include <string.h>

void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t l = strlen(hex);
    if (l % 2 || l / 2 > cap)
        return -1;
    for (size_t i = 0; i < l / 2; i++) {
        int a = nibble(hex[2 * i]), b = nibble(hex[2 * i + 1]);
        if (a < 0 || b < 0)
            return -1;
        out[i] = (uint8_t)(a << 4 | b);
    }
    return (int)(l / 2);
}

int hex_digit(int c)
{
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return nibble((char)c);
}

bool hex_is(const char *s, size_t len)
{
    if (!s || strlen(s) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (nibble(s[i]) < 0)
            return false;
    return true;
}
