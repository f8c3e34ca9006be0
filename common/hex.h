/* Hexadecimal text, lower-case: the one encoder and decoder every layer uses (keys, signatures,
 * digests, observation bytes). Upper-case digits are refused on input so that a value has one
 * spelling (it is compared as text in places, and signed). */
#ifndef PARLAY_HEX_H
#define PARLAY_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* @n bytes as 2n lower-case digits and a NUL into @out (2n + 1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);

/* The bytes of the NUL-terminated @hex into @out (@cap bytes): their count, or -1 if @hex has
 * an odd length, a character that is not a lower-case hex digit, or more than @cap bytes. */
int hex_decode(const char *hex, uint8_t *out, size_t cap);

/* Whether @s is exactly @len lower-case hex digits. */
bool hex_is(const char *s, size_t len);

/* The value (0 to 15) of the hex digit @c in either case, or -1: for formats outside Parlay
 * that allow both (a URL's %XX escapes, Ethereum's 0x text). */
int hex_digit(int c);

#endif
