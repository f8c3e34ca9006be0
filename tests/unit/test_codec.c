/* Command codec: every command type round-trips, the encoding is padded with zeros to a
 * multiple of 8, and decoding refuses anything that is not exactly a well-formed command. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/codec.h"

static const uint16_t TYPES[] = {CMD_FIXTURE_CREATE, CMD_FIXTURE_UPDATE, CMD_MEMBER_SET};

/* Encode @c into a fresh malloc'd buffer of exactly cmd_encoded_size bytes. */
static uint8_t* encode(const struct cmd* c, size_t* len)
{
    *len = cmd_encoded_size(c);
    uint8_t* buf = malloc(*len);
    assert_non_null(buf);
    memset(buf, 0xA5, *len); /* so that unwritten padding would show */
    assert_int_equal(cmd_encode(c, buf, *len), CMD_OK);
    return buf;
}

static void check_round_trip(uint16_t type,
                             const char* idem,
                             size_t idem_len,
                             const char* payload,
                             size_t payload_len)
{
    struct cmd in = {.type = type,
                     .time_ms = 0x0123456789abcdefull,
                     .idem = idem,
                     .idem_len = idem_len,
                     .payload = payload,
                     .payload_len = payload_len};
    for (int i = 0; i < 32; i++)
        in.fingerprint[i] = (uint8_t)(i * 7 + 1);
    size_t len;
    uint8_t* buf = encode(&in, &len);
    size_t real = CMD_HEADER_SIZE + idem_len + payload_len;
    assert_int_equal(len % 8, 0);
    assert_true(len >= real && len - real < 8);
    for (size_t i = real; i < len; i++)
        assert_int_equal(buf[i], 0);

    struct cmd out;
    memset(&out, 0xff, sizeof out);
    assert_int_equal(cmd_decode(buf, len, &out), CMD_OK);
    assert_int_equal(out.type, type);
    assert_true(out.time_ms == in.time_ms);
    assert_memory_equal(out.fingerprint, in.fingerprint, 32);
    assert_int_equal(out.idem_len, idem_len);
    if (idem_len)
        assert_memory_equal(out.idem, idem, idem_len);
    else
        assert_null(out.idem);
    assert_int_equal(out.payload_len, payload_len);
    if (payload_len)
        assert_memory_equal(out.payload, payload, payload_len);
    /* Decoded pointers point into the buffer, within its real length. */
    assert_true((const uint8_t*)out.payload >= buf &&
                (const uint8_t*)out.payload + payload_len <= buf + real);
    free(buf);
}

static void test_round_trip_every_type(void** state)
{
    (void)state;
    const char* p = "{\"id\":\"m1\",\"status\":\"live\"}";
    for (size_t t = 0; t < sizeof TYPES / sizeof *TYPES; t++) {
        check_round_trip(TYPES[t], NULL, 0, p, strlen(p));
        check_round_trip(TYPES[t], "key-1", 5, p, strlen(p));
        check_round_trip(TYPES[t], NULL, 0, NULL, 0);
        check_round_trip(TYPES[t], "k", 1, NULL, 0);
    }
}

static void test_round_trip_every_padding(void** state)
{
    (void)state;
    /* Lengths 0..16 of idem and payload hit every remainder modulo 8. */
    char idem[CMD_IDEM_MAX], payload[32];
    memset(idem, 'i', sizeof idem);
    memset(payload, 'p', sizeof payload);
    for (size_t i = 0; i <= 16; i++)
        for (size_t p = 0; p <= 16; p++)
            check_round_trip(CMD_FIXTURE_CREATE, i ? idem : NULL, i, p ? payload : NULL, p);
}

static void test_round_trip_limits(void** state)
{
    (void)state;
    char idem[CMD_IDEM_MAX];
    for (size_t i = 0; i < sizeof idem; i++)
        idem[i] = (char)(33 + i % 90);
    char* big = malloc(CMD_PAYLOAD_MAX);
    assert_non_null(big);
    for (size_t i = 0; i < CMD_PAYLOAD_MAX; i++)
        big[i] = (char)(i * 31 + 7);
    check_round_trip(CMD_FIXTURE_UPDATE, idem, CMD_IDEM_MAX, big, CMD_PAYLOAD_MAX);
    check_round_trip(CMD_MEMBER_SET, NULL, 0, big, CMD_PAYLOAD_MAX - 3);
    free(big);
}

static void test_encode_refuses(void** state)
{
    (void)state;
    uint8_t buf[512];
    char idem[CMD_IDEM_MAX + 1];
    memset(idem, 'x', sizeof idem);
    struct cmd c = {.type = CMD_FIXTURE_CREATE, .payload = "{}", .payload_len = 2};
    c.type = 0;
    assert_int_equal(cmd_encode(&c, buf, sizeof buf), CMD_ETYPE);
    c.type = CMD_TYPE_MAX + 1;
    assert_int_equal(cmd_encode(&c, buf, sizeof buf), CMD_ETYPE);
    c.type = CMD_FIXTURE_CREATE;
    c.idem = idem;
    c.idem_len = CMD_IDEM_MAX + 1;
    assert_int_equal(cmd_encode(&c, buf, sizeof buf), CMD_ELENGTH);
    c.idem_len = 0;
    c.payload_len = CMD_PAYLOAD_MAX + 1;
    assert_int_equal(cmd_encode(&c, buf, sizeof buf), CMD_ELENGTH);
    c.payload_len = 2;
    /* 64 + 2 = 66 needs 72 bytes. */
    assert_int_equal(cmd_encoded_size(&c), 72);
    assert_int_equal(cmd_encode(&c, buf, 71), CMD_ESHORT);
    assert_int_equal(cmd_encode(&c, buf, 72), CMD_OK);
}

/* A valid encoding of 64 + 5 + 6 = 75 bytes, padded to 80. */
static uint8_t* sample(size_t* len)
{
    struct cmd c = {.type = CMD_FIXTURE_UPDATE,
                    .time_ms = 42,
                    .idem = "abcde",
                    .idem_len = 5,
                    .payload = "{\"a\":1",
                    .payload_len = 6};
    memset(c.fingerprint, 0x11, 32);
    uint8_t* buf = encode(&c, len);
    assert_int_equal(*len, 80);
    return buf;
}

static int decode(const uint8_t* buf, size_t len)
{
    struct cmd c;
    return cmd_decode(buf, len, &c);
}

static void put_le(uint8_t* p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void test_decode_short(void** state)
{
    (void)state;
    size_t len;
    uint8_t* buf = sample(&len);
    assert_int_equal(decode(buf, 0), CMD_ESHORT);
    assert_int_equal(decode(buf, CMD_HEADER_SIZE - 1), CMD_ESHORT);
    /* Header complete but body cut (64 and 72 bytes are multiples of 8). */
    assert_int_equal(decode(buf, 64), CMD_ESHORT);
    assert_int_equal(decode(buf, 72), CMD_ESHORT);
    free(buf);
}

static void test_decode_bad_magic_version_type(void** state)
{
    (void)state;
    size_t len;
    uint8_t* buf = sample(&len);
    uint8_t* m = malloc(len);
    memcpy(m, buf, len);
    m[0] ^= 1;
    assert_int_equal(decode(m, len), CMD_EMAGIC);
    memcpy(m, buf, len);
    put_le(m + 4, CMD_VERSION + 1, 2);
    assert_int_equal(decode(m, len), CMD_EVERSION);
    put_le(m + 4, 0, 2);
    assert_int_equal(decode(m, len), CMD_EVERSION);
    memcpy(m, buf, len);
    put_le(m + 6, 0, 2);
    assert_int_equal(decode(m, len), CMD_ETYPE);
    put_le(m + 6, CMD_TYPE_MAX + 1, 2);
    assert_int_equal(decode(m, len), CMD_ETYPE);
    put_le(m + 6, 0xffff, 2);
    assert_int_equal(decode(m, len), CMD_ETYPE);
    free(m);
    free(buf);
}

static void test_decode_inconsistent_lengths(void** state)
{
    (void)state;
    size_t len;
    uint8_t* buf = sample(&len);
    uint8_t* m = malloc(len);
    /* Total length that disagrees with the header + idem + payload. */
    memcpy(m, buf, len);
    put_le(m + 8, 74, 4);
    assert_int_equal(decode(m, len), CMD_ELENGTH);
    put_le(m + 8, 76, 4);
    assert_int_equal(decode(m, len), CMD_ELENGTH);
    /* idem_len or payload_len changed alone no longer adds up to the total. */
    memcpy(m, buf, len);
    put_le(m + 12, 6, 2);
    assert_int_equal(decode(m, len), CMD_ELENGTH);
    memcpy(m, buf, len);
    put_le(m + 56, 7, 4);
    assert_int_equal(decode(m, len), CMD_ELENGTH);
    /* Over the limits, with a total that matches. */
    memcpy(m, buf, len);
    put_le(m + 12, CMD_IDEM_MAX + 1, 2);
    put_le(m + 8, CMD_HEADER_SIZE + CMD_IDEM_MAX + 1 + 6, 4);
    assert_int_equal(decode(m, len), CMD_ELENGTH);
    memcpy(m, buf, len);
    put_le(m + 56, CMD_PAYLOAD_MAX + 1, 4);
    put_le(m + 8, CMD_HEADER_SIZE + 5 + CMD_PAYLOAD_MAX + 1, 4);
    assert_int_equal(decode(m, len), CMD_ELENGTH);
    /* A payload_len that wraps the 32-bit sum. */
    memcpy(m, buf, len);
    put_le(m + 56, 0xffffffffu, 4);
    put_le(m + 8, (uint32_t)(CMD_HEADER_SIZE + 5 + 0xffffffffull), 4);
    assert_int_equal(decode(m, len), CMD_ELENGTH);
    /* Declared length beyond the buffer. */
    memcpy(m, buf, len);
    put_le(m + 56, 16, 4);
    put_le(m + 8, CMD_HEADER_SIZE + 5 + 16, 4);
    assert_int_equal(decode(m, len), CMD_ESHORT);
    free(m);
    free(buf);
}

static void test_decode_padding_and_size(void** state)
{
    (void)state;
    size_t len;
    uint8_t* buf = sample(&len);
    uint8_t* m = calloc(1, len + 16);
    /* Non-zero reserved header bytes. */
    for (int off = 14; off < 16; off++) {
        memcpy(m, buf, len);
        m[off] = 1;
        assert_int_equal(decode(m, len), CMD_EPAD);
    }
    for (int off = 60; off < 64; off++) {
        memcpy(m, buf, len);
        m[off] = 0x80;
        assert_int_equal(decode(m, len), CMD_EPAD);
    }
    /* Non-zero padding after the real length (75..79). */
    for (size_t off = 75; off < 80; off++) {
        memcpy(m, buf, len);
        m[off] = 1;
        assert_int_equal(decode(m, len), CMD_EPAD);
    }
    /* Not a multiple of 8, or a whole extra block of padding. */
    memcpy(m, buf, len);
    assert_int_equal(decode(m, 75), CMD_ELENGTH);
    assert_int_equal(decode(m, 76), CMD_ELENGTH);
    assert_int_equal(decode(m, 79), CMD_ELENGTH);
    assert_int_equal(decode(m, 81), CMD_ELENGTH);
    assert_int_equal(decode(m, 88), CMD_ELENGTH);
    assert_int_equal(decode(m, 80), CMD_OK);
    free(m);
    free(buf);
}

static void test_strerror_and_names(void** state)
{
    (void)state;
    int codes[] = {CMD_OK,    CMD_ESHORT,  CMD_EMAGIC, CMD_EVERSION,
                   CMD_ETYPE, CMD_ELENGTH, CMD_EPAD,   CMD_ENOMEM};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        assert_non_null(cmd_strerror(codes[i]));
        assert_string_not_equal(cmd_strerror(codes[i]), "unknown codec error");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(cmd_strerror(codes[i]), cmd_strerror(codes[j]));
    }
    assert_string_equal(cmd_strerror(-100), "unknown codec error");
    assert_string_equal(cmd_type_name(CMD_FIXTURE_CREATE), "fixture_create");
    assert_string_equal(cmd_type_name(CMD_FIXTURE_UPDATE), "fixture_update");
    assert_string_equal(cmd_type_name(CMD_MEMBER_SET), "member_set");
    assert_string_equal(cmd_type_name(0), "unknown");
    assert_string_equal(cmd_type_name(CMD_TYPE_MAX + 1), "unknown");
}

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_fuzz_mutations(void** state)
{
    (void)state;
    enum { ROUNDS = 200000 };
    unsigned ok = 0, refused = 0;
    for (int round = 0; round < ROUNDS; round++) {
        /* A valid command of random shape. */
        char idem[40], payload[120];
        size_t il = rnd() % sizeof idem, pl = rnd() % sizeof payload;
        for (size_t i = 0; i < il; i++)
            idem[i] = (char)rnd();
        for (size_t i = 0; i < pl; i++)
            payload[i] = (char)rnd();
        /* A declared type (numbers reserved for other branches may be gaps here). */
        uint16_t type;
        do
            type = (uint16_t)(1 + rnd() % CMD_TYPE_MAX);
        while (!strcmp(cmd_type_name(type), "unknown") || type == CMD_BATCH);
        struct cmd c = {.type = type,
                        .time_ms = rnd(),
                        .idem = idem,
                        .idem_len = il,
                        .payload = payload,
                        .payload_len = pl};
        size_t len = cmd_encoded_size(&c);
        /* Exactly-sized heap copies so that ASan catches any read past the end. */
        uint8_t* buf = malloc(len);
        assert_int_equal(cmd_encode(&c, buf, len), CMD_OK);
        size_t mlen = len;
        switch (rnd() % 4) {
        case 0: /* flip 1 to 4 random bits */
            for (int k = 1 + (int)(rnd() % 4); k > 0; k--)
                buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
            break;
        case 1: /* overwrite a header field byte with a random value */
            buf[rnd() % CMD_HEADER_SIZE] = (uint8_t)rnd();
            break;
        case 2: /* truncate */
            mlen = rnd() % len;
            break;
        default: /* random garbage with a valid magic */
            for (size_t i = 4; i < len; i++)
                buf[i] = (uint8_t)rnd();
            break;
        }
        uint8_t* m = malloc(mlen ? mlen : 1);
        memcpy(m, buf, mlen);
        struct cmd out;
        int rv = cmd_decode(m, mlen, &out);
        if (rv == CMD_OK) {
            ok++;
            /* Whatever decodes must be self-consistent and inside the buffer. */
            assert_true((out.type >= 1 && out.type <= CMD_TYPE_MAX) || out.type == CMD_BATCH);
            assert_true(out.idem_len <= CMD_IDEM_MAX);
            assert_true(out.payload_len <= CMD_PAYLOAD_MAX);
            size_t real = CMD_HEADER_SIZE + out.idem_len + out.payload_len;
            assert_true(real <= mlen && mlen - real < 8 && mlen % 8 == 0);
            assert_ptr_equal(out.payload, (const char*)m + CMD_HEADER_SIZE + out.idem_len);
            if (out.idem_len)
                assert_ptr_equal(out.idem, (const char*)m + CMD_HEADER_SIZE);
            for (size_t i = real; i < mlen; i++)
                assert_int_equal(m[i], 0);
            /* Re-encoding what was decoded gives back the same bytes. */
            uint8_t* again = malloc(mlen);
            assert_int_equal(cmd_encoded_size(&out), mlen);
            assert_int_equal(cmd_encode(&out, again, mlen), CMD_OK);
            assert_memory_equal(again, m, mlen);
            free(again);
        } else {
            refused++;
            assert_true(rv <= CMD_ESHORT && rv >= CMD_EPAD);
        }
        free(m);
        free(buf);
    }
    /* Both outcomes must occur (bit flips in payload bytes keep a command valid). */
    assert_true(ok > 1000);
    assert_true(refused > 1000);
}

/* ---- batches ------------------------------------------------------------------------------ */

/* Three sub-commands of different shapes. */
static void batch_subs(struct cmd subs[3])
{
    static const char p0[] = "{\"id\":\"a\"}", p1[] = "{\"id\":\"bb\",\"status\":\"live\"}";
    memset(subs, 0, 3 * sizeof *subs);
    subs[0] = (struct cmd){.type = CMD_FIXTURE_CREATE, .time_ms = 11, .idem = "key-1",
                           .idem_len = 5, .payload = p0, .payload_len = sizeof p0 - 1};
    subs[1] = (struct cmd){.type = CMD_FIXTURE_UPDATE, .time_ms = 22, .payload = p1,
                           .payload_len = sizeof p1 - 1};
    subs[2] = (struct cmd){.type = CMD_PLAYER_REGISTER, .time_ms = 33, .idem = "k",
                           .idem_len = 1, .payload = "{}", .payload_len = 2};
    for (int i = 0; i < 32; i++)
        subs[0].fingerprint[i] = (uint8_t)i, subs[2].fingerprint[i] = (uint8_t)(255 - i);
}

static void test_batch_round_trip(void** state)
{
    (void)state;
    struct cmd subs[3];
    batch_subs(subs);
    void* buf;
    size_t len;
    assert_int_equal(cmd_batch_encode(subs, 3, 777, &buf, &len), CMD_OK);
    assert_int_equal(len % 8, 0);
    struct cmd b;
    assert_int_equal(cmd_decode(buf, len, &b), CMD_OK);
    assert_int_equal(b.type, CMD_BATCH);
    assert_true(b.time_ms == 777);
    assert_int_equal(b.idem_len, 0);
    assert_string_equal(cmd_type_name(CMD_BATCH), "batch");
    unsigned n = 0;
    assert_int_equal(cmd_batch_check(&b, &n), CMD_OK);
    assert_int_equal(n, 3);
    size_t off = 0;
    for (unsigned i = 0; i < 3; i++) {
        struct cmd out;
        assert_int_equal(cmd_batch_next(&b, &off, &out), CMD_OK);
        assert_int_equal(out.type, subs[i].type);
        assert_true(out.time_ms == subs[i].time_ms);
        assert_int_equal(out.idem_len, subs[i].idem_len);
        if (out.idem_len)
            assert_memory_equal(out.idem, subs[i].idem, out.idem_len);
        assert_memory_equal(out.fingerprint, subs[i].fingerprint, 32);
        assert_int_equal(out.payload_len, subs[i].payload_len);
        assert_memory_equal(out.payload, subs[i].payload, out.payload_len);
    }
    assert_int_equal(off, b.payload_len);
    /* The item-by-item API (the replica's) gives the same bytes. */
    uint8_t payload[1024];
    size_t plen = CMD_BATCH_HEADER;
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(cmd_batch_put_item(payload + plen, sizeof payload - plen, &subs[i]),
                         CMD_OK);
        plen += cmd_batch_item_size(&subs[i]);
    }
    cmd_batch_put_header(payload, 3);
    struct cmd b2 = {.type = CMD_BATCH, .time_ms = 777, .payload = (const char*)payload,
                     .payload_len = plen};
    size_t len2;
    uint8_t* buf2 = encode(&b2, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(buf2, buf, len);
    free(buf2);
    free(buf);
    /* One command is a batch of one. */
    assert_int_equal(cmd_batch_encode(subs, 1, 1, &buf, &len), CMD_OK);
    assert_int_equal(cmd_decode(buf, len, &b), CMD_OK);
    assert_int_equal(cmd_batch_check(&b, &n), CMD_OK);
    assert_int_equal(n, 1);
    free(buf);
}

static void test_batch_encode_refuses(void** state)
{
    (void)state;
    struct cmd subs[CMD_BATCH_MAX + 1];
    memset(subs, 0, sizeof subs);
    for (unsigned i = 0; i <= CMD_BATCH_MAX; i++)
        subs[i] = (struct cmd){.type = CMD_FIXTURE_CREATE, .payload = "{}", .payload_len = 2};
    void* buf = NULL;
    size_t len;
    assert_int_equal(cmd_batch_encode(subs, 0, 1, &buf, &len), CMD_ELENGTH);
    assert_int_equal(cmd_batch_encode(subs, CMD_BATCH_MAX + 1, 1, &buf, &len), CMD_ELENGTH);
    assert_int_equal(cmd_batch_encode(subs, CMD_BATCH_MAX, 1, &buf, &len), CMD_OK);
    free(buf);
    /* Not batchable: a batch, and commands that record their entry's index. */
    static const uint16_t alone[] = {CMD_BATCH, CMD_OBSERVATION_AGREED, CMD_QUOTE_ROUND,
                                     CMD_QUOTE_PUBLISHED, CMD_MARKETS_SUSPEND, 0,
                                     CMD_TYPE_MAX + 1};
    for (size_t i = 0; i < sizeof alone / sizeof *alone; i++) {
        assert_false(cmd_batchable(alone[i]));
        subs[1].type = alone[i];
        assert_int_not_equal(cmd_batch_encode(subs, 2, 1, &buf, &len), CMD_OK);
        uint8_t item[256];
        assert_int_not_equal(cmd_batch_put_item(item, sizeof item, &subs[1]), CMD_OK);
    }
    assert_true(cmd_batchable(CMD_FIXTURE_CREATE) && cmd_batchable(CMD_SESSION_REFRESH));
    /* Too big for a batch's payload. */
    static char big[CMD_PAYLOAD_MAX];
    memset(big, 'x', sizeof big);
    subs[1] = (struct cmd){.type = CMD_FIXTURE_CREATE, .payload = big, .payload_len = sizeof big};
    assert_int_equal(cmd_batch_encode(subs, 2, 1, &buf, &len), CMD_ELENGTH);
    uint8_t small[64];
    assert_int_equal(cmd_batch_put_item(small, sizeof small, &subs[0]), CMD_ESHORT);
}

/* Build a batch entry around a hand-made @payload and check it. */
static int check_payload(const uint8_t* payload, size_t plen)
{
    struct cmd b = {.type = CMD_BATCH, .time_ms = 1, .payload = (const char*)payload,
                    .payload_len = plen};
    size_t len;
    uint8_t* buf = encode(&b, &len);
    struct cmd out;
    int rv = cmd_decode(buf, len, &out);
    unsigned n = 0;
    if (rv == CMD_OK)
        rv = cmd_batch_check(&out, &n);
    free(buf);
    return rv;
}

static void test_batch_malformed(void** state)
{
    (void)state;
    struct cmd subs[3];
    batch_subs(subs);
    uint8_t p[1024];
    size_t plen = CMD_BATCH_HEADER;
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(cmd_batch_put_item(p + plen, sizeof p - plen, &subs[i]), CMD_OK);
        plen += cmd_batch_item_size(&subs[i]);
    }
    size_t item0 = cmd_batch_item_size(&subs[0]);
    uint8_t m[1024];
#define MUTATE(expr, want)                                      \
    do {                                                        \
        memcpy(m, p, plen);                                     \
        size_t ml = plen;                                       \
        cmd_batch_put_header(m, 2);                             \
        expr;                                                   \
        assert_int_equal(check_payload(m, ml), (want));         \
    } while (0)
    MUTATE((void)0, CMD_OK);
    MUTATE(cmd_batch_put_header(m, 0), CMD_ELENGTH);                 /* empty */
    MUTATE(cmd_batch_put_header(m, CMD_BATCH_MAX + 1), CMD_ELENGTH); /* too many */
    MUTATE(cmd_batch_put_header(m, 3), CMD_ESHORT);                  /* count past the end */
    MUTATE(cmd_batch_put_header(m, 1), CMD_ELENGTH);                 /* bytes after the last */
    MUTATE(m[5] = 1, CMD_EPAD);                                      /* reserved after count */
    MUTATE(m[CMD_BATCH_HEADER + 4] = 1, CMD_EPAD);                   /* reserved after len */
    MUTATE(ml = 4, CMD_ESHORT);                                      /* no header */
    MUTATE(ml = CMD_BATCH_HEADER + item0 + 8, CMD_ESHORT);           /* second item cut */
    MUTATE(put_le(m + CMD_BATCH_HEADER, 1000, 4), CMD_ESHORT);       /* item len past the end */
    MUTATE(put_le(m + CMD_BATCH_HEADER, item0 - 16, 4), CMD_ESHORT); /* item len too short */
    MUTATE(m[CMD_BATCH_HEADER + 8] ^= 1, CMD_EMAGIC);                /* a sub-command's magic */
    MUTATE(m[CMD_BATCH_HEADER + 8 + 4] = 9, CMD_EVERSION);           /* its version */
    MUTATE(m[CMD_BATCH_HEADER + 8 + 6] = CMD_BATCH, CMD_ETYPE);      /* a batch in a batch */
    MUTATE(m[CMD_BATCH_HEADER + 8 + 6] = CMD_QUOTE_ROUND, CMD_ETYPE); /* not batchable */
    MUTATE(m[CMD_BATCH_HEADER + 8 + 6] = 0, CMD_ETYPE);
    MUTATE(m[CMD_BATCH_HEADER + item0 - 1] = 1, CMD_EPAD);           /* a sub's padding */
    /* The batch's own header: no idempotency key, zero fingerprint. */
    cmd_batch_put_header(p, 2);
    struct cmd b = {.type = CMD_BATCH, .payload = (const char*)p, .payload_len = plen};
    unsigned n;
    assert_int_equal(cmd_batch_check(&b, &n), CMD_OK);
    b.fingerprint[31] = 1;
    assert_int_equal(cmd_batch_check(&b, &n), CMD_EPAD);
    b.fingerprint[31] = 0;
    b.idem = "k";
    b.idem_len = 1;
    assert_int_equal(cmd_batch_check(&b, &n), CMD_ELENGTH);
    b.idem = NULL;
    b.idem_len = 0;
    b.type = CMD_FIXTURE_CREATE;
    assert_int_equal(cmd_batch_check(&b, &n), CMD_ETYPE);
#undef MUTATE
}

/* Random damage to a valid batch: every outcome is either a full, in-bounds batch or a
 * refusal code; never a crash or a read past the buffer (ASan). */
static void test_batch_fuzz(void** state)
{
    (void)state;
    unsigned ok = 0, refused = 0;
    for (int round = 0; round < 20000; round++) {
        struct cmd subs[5];
        char payloads[5][40];
        unsigned n = 1 + (unsigned)(rnd() % 5);
        for (unsigned i = 0; i < n; i++) {
            size_t pl = rnd() % sizeof payloads[i];
            for (size_t k = 0; k < pl; k++)
                payloads[i][k] = (char)rnd();
            subs[i] = (struct cmd){.type = (uint16_t)(1 + rnd() % CMD_MEMBER_KEY),
                                   .time_ms = rnd(),
                                   .payload = payloads[i],
                                   .payload_len = pl};
        }
        void* buf;
        size_t len;
        assert_int_equal(cmd_batch_encode(subs, n, rnd(), &buf, &len), CMD_OK);
        uint8_t* b = buf;
        for (int k = 1 + (int)(rnd() % 3); k > 0; k--)
            b[CMD_HEADER_SIZE + rnd() % (len - CMD_HEADER_SIZE)] ^= (uint8_t)(1u << (rnd() % 8));
        struct cmd out;
        unsigned count = 0;
        int rv = cmd_decode(buf, len, &out);
        if (rv == CMD_OK)
            rv = cmd_batch_check(&out, &count);
        if (rv == CMD_OK) {
            ok++;
            size_t off = 0;
            for (unsigned i = 0; i < count; i++) {
                struct cmd sub;
                assert_int_equal(cmd_batch_next(&out, &off, &sub), CMD_OK);
                assert_true(cmd_batchable(sub.type));
                assert_true(sub.payload + sub.payload_len <= out.payload + out.payload_len);
            }
            assert_int_equal(off, out.payload_len);
        } else {
            refused++;
            assert_true(rv <= CMD_ESHORT && rv >= CMD_EPAD);
        }
        free(buf);
    }
    assert_true(ok > 100);
    assert_true(refused > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_round_trip_every_padding),
        cmocka_unit_test(test_round_trip_limits),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_decode_short),
        cmocka_unit_test(test_decode_bad_magic_version_type),
        cmocka_unit_test(test_decode_inconsistent_lengths),
        cmocka_unit_test(test_decode_padding_and_size),
        cmocka_unit_test(test_strerror_and_names),
        cmocka_unit_test(test_fuzz_mutations),
        cmocka_unit_test(test_batch_round_trip),
        cmocka_unit_test(test_batch_encode_refuses),
        cmocka_unit_test(test_batch_malformed),
        cmocka_unit_test(test_batch_fuzz),
    };
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
