/* What every fuzz target shares (tests/fuzz).
 *
 * Each target defines LLVMFuzzerTestOneInput. The same file is linked two ways:
 *   - with clang's libFuzzer (`make fuzz SECONDS=N`, tests/fuzz/run.sh), which mutates inputs;
 *   - with gcc and the project's sanitizers against replay.c (`make test`), which feeds it every
 *     file of the target's committed corpus once, as a regression test.
 * An invariant that does not hold calls FUZZ_CHECK's abort(): libFuzzer records the input as
 * a crash, the replay program exits non-zero. */
#ifndef PARLAY_TESTS_FUZZ_H
#define PARLAY_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                              \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz invariant failed at %s:%d: %s: ", __FILE__, __LINE__,    \
                    #cond);                                                                \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* A reader over the input, for targets that split it into parts. */
struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

/* The next byte (0 once the input is used up). */
static inline uint8_t fuzz_byte(struct fuzz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

/* The bytes up to the next @sep (not included; the separator is consumed), or the rest of the
 * input when there is none. Returns their length; *out points into the input. */
static inline size_t fuzz_part(struct fuzz_in *in, uint8_t sep, const uint8_t **out)
{
    size_t i = 0;
    while (i < in->n && in->p[i] != sep)
        i++;
    *out = in->p;
    size_t len = i;
    if (i < in->n)
        i++;
    in->p += i;
    in->n -= i;
    return len;
}

/* A NUL-terminated malloc'd copy of @n bytes at @p. */
static inline char *fuzz_strndup(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    for (size_t i = 0; i < n; i++)
        s[i] = (char)p[i];
    s[n] = 0;
    return s;
}

#endif
