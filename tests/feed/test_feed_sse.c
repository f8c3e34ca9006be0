/* The event-stream parser, fed every possible chunking of the same streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "feed/internal.h"

struct got {
    char log[4096]; /* "event|data|id;" per dispatch, data "-" when absent */
    int n;
    int stop_at; /* return an error from this dispatch (1-based), 0: never */
};

static int on_event(void *arg, const char *event, const char *data, size_t len, const char *id)
{
    struct got *g = arg;
    size_t at = strlen(g->log);
    snprintf(g->log + at, sizeof g->log - at, "%s|%.*s|%s;", event, data ? (int)len : 1,
             data ? data : "-", id);
    if (++g->n == g->stop_at)
        return FEED_EJSON;
    return 0;
}

/* Feeds @stream split at every pair of points (three chunks); every split must give @want. */
static void expect(const char *stream, size_t n, const char *want)
{
    for (size_t i = 0; i <= n; i++)
        for (size_t j = i; j <= n; j++) {
            struct feed_sse p;
            struct got g = {.log = ""};
            assert_int_equal(feed_sse_init(&p, on_event, &g), 0);
            assert_int_equal(feed_sse_feed(&p, stream, i), 0);
            assert_int_equal(feed_sse_feed(&p, stream + i, j - i), 0);
            assert_int_equal(feed_sse_feed(&p, stream + j, n - j), 0);
            if (strcmp(g.log, want))
                fail_msg("split %zu/%zu: got \"%s\", want \"%s\"", i, j, g.log, want);
            feed_sse_free(&p);
        }
}
#define EXPECT(s, w) expect(s, sizeof(s) - 1, w)

static void test_line_ends_and_chunking(void **state)
{
    (void)state;
    EXPECT("id: 1\nevent: live\ndata: {\"a\":1}\n\n", "live|{\"a\":1}|1;");
    EXPECT("id: 1\r\nevent: live\r\ndata: x\r\n\r\n", "live|x|1;");
    EXPECT("id: 1\revent: live\rdata: x\r\r", "live|x|1;");
    /* mixed, and a CR immediately followed by a line's content */
    EXPECT("data: a\r\n\rdata: b\n\r\n", "|a|;|b|;");
}

static void test_fields(void **state)
{
    (void)state;
    /* several data lines join with LF; no space after the colon is fine; a comment; an
     * unknown field; "retry" ignored */
    EXPECT(": hb\n\ndata:one\ndata: two\nfoo: bar\nretry: 10\n\n", "|-|;|one\ntwo|;");
    /* "data" without a colon is an empty data line; only one leading space is dropped */
    EXPECT("data\ndata:  x\n\n", "|\n x|;");
    /* the id persists from event to event; an event without data still dispatches (to move
     * the resume point) */
    EXPECT("id: 7\ndata: a\n\ndata: b\n\nid: 8\n\n", "|a|7;|b|7;|-|8;");
    /* an id containing NUL is ignored */
    EXPECT("id: 3\n\nid: 4\0x\ndata: z\n\n", "|-|3;|z|3;");
    /* a BOM opens the stream */
    EXPECT("\xef\xbb\xbf" "data: q\n\n", "|q|;");
    /* the last event is not dispatched until its blank line */
    EXPECT("data: done\n\ndata: half", "|done|;");
}

static void test_refusals(void **state)
{
    (void)state;
    struct feed_sse p;
    struct got g = {.log = ""};
    char *big = malloc(FEED_SSE_LINE_MAX + 16);
    memset(big, 'x', FEED_SSE_LINE_MAX + 16);
    feed_sse_init(&p, on_event, &g);
    assert_int_equal(feed_sse_feed(&p, "data: ", 6), 0);
    assert_int_equal(feed_sse_feed(&p, big, FEED_SSE_LINE_MAX + 16), FEED_ESSE);
    assert_string_equal(p.msg, "line longer than 64 KiB");
    assert_int_equal(feed_sse_feed(&p, "\n\n", 2), FEED_ESSE); /* sticky */
    assert_int_equal(g.n, 0);
    feed_sse_free(&p);

    /* many long data lines: bounded */
    feed_sse_init(&p, on_event, &g);
    int rc = 0;
    for (int i = 0; i < 8 && !rc; i++) {
        rc = feed_sse_feed(&p, "data: ", 6);
        if (!rc)
            rc = feed_sse_feed(&p, big, FEED_SSE_LINE_MAX / 2);
        if (!rc)
            rc = feed_sse_feed(&p, "\n", 1);
    }
    assert_int_equal(rc, FEED_ESSE);
    assert_string_equal(p.msg, "event data above 256 KiB");
    feed_sse_free(&p);

    feed_sse_init(&p, on_event, &g);
    assert_int_equal(feed_sse_feed(&p, "\xef\xbb" "data", 6), FEED_ESSE);
    feed_sse_free(&p);
    feed_sse_init(&p, on_event, &g);
    assert_int_equal(feed_sse_feed(&p, "event: 0123456789012345678901234567890123\n", 42),
                     FEED_ESSE);
    feed_sse_free(&p);

    /* the callback can stop the parser: nothing after that is dispatched */
    struct got g2 = {.log = "", .stop_at = 1};
    feed_sse_init(&p, on_event, &g2);
    assert_int_equal(feed_sse_feed(&p, "data: a\n\ndata: b\n\n", 18), FEED_EJSON);
    assert_string_equal(g2.log, "|a|;");
    feed_sse_free(&p);
    free(big);
}

/* Random bytes in random chunks: never a crash, never a dispatch longer than the limits. */
static void test_fuzz(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ULL;
    static const char alphabet[] = "data: id event :\r\n\n\n{}x\0\xef\xbb\xbf";
    for (int round = 0; round < 2000; round++) {
        struct feed_sse p;
        struct got g = {.log = ""};
        feed_sse_init(&p, on_event, &g);
        char buf[512];
        for (int chunk = 0; chunk < 8; chunk++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t n = x % sizeof buf;
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[i] = (x >> 60) & 1 ? (char)(x >> 8) : alphabet[(x >> 16) % (sizeof alphabet - 1)];
            }
            g.log[0] = 0;
            if (feed_sse_feed(&p, buf, n))
                break;
        }
        feed_sse_free(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_ends_and_chunking),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
