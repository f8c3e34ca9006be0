/* Fuzz target: what a sports-data provider sends a node, as the feed reads it.
 *
 * Every input goes through three readers:
 *   - the observation JSON (feed_obs_from_json_text) as a fixture, an event and a result:
 *     whatever it accepts must validate, encode canonically, decode back to the same
 *     observation and print to JSON that reads back to the same observation;
 *   - the canonical binary decoder (feed_decode): what it accepts re-encodes to the same bytes
 *     (bytes and observations correspond one to one);
 *   - the SSE framing (feed_sse_feed) fed the input whole and again in chunks whose sizes come
 *     from the input's first bytes: both give the same events (name, data, id) and the same
 *     end state; each event's data is read as the observation its name says, as the SSE
 *     adapter (feed/sse.c) does. */
#include <string.h>

#include "feed/internal.h"
#include "tests/fuzz/fuzz.h"

static void check_obs_json(enum feed_kind kind, const char *text, size_t len)
{
    struct feed_obs o, back, again;
    struct feed_error e;
    memset(&o, 0, sizeof o);
    if (feed_obs_from_json_text(kind, text, len, &o, &e) != 0) {
        FUZZ_CHECK(e.code != 0 && e.msg[0], "a refusal without its code and sentence");
        return;
    }
    FUZZ_CHECK(o.kind == kind, "kind %d for %d", o.kind, kind);
    FUZZ_CHECK(feed_obs_validate(&o, &e) == 0, "accepted JSON does not validate: %s", e.msg);
    uint8_t enc[FEED_ENCODED_MAX];
    int n = feed_encode(&o, enc, sizeof enc, &e);
    FUZZ_CHECK(n > 0, "accepted JSON does not encode: %s", e.msg);
    FUZZ_CHECK(feed_decode(enc, (size_t)n, &back, &e) == 0, "own encoding refused: %s", e.msg);
    FUZZ_CHECK(feed_obs_equal(&o, &back), "encoding round trip differs");
    char *j = feed_obs_to_json_text(&o);
    FUZZ_CHECK(j, "to_json");
    FUZZ_CHECK(feed_obs_from_json_text(kind, j, strlen(j), &again, &e) == 0,
               "own JSON refused: %s (%s)", e.msg, j);
    FUZZ_CHECK(feed_obs_equal(&o, &again), "JSON round trip differs: %s", j);
    free(j);
}

static void check_decode(const uint8_t *p, size_t n)
{
    struct feed_obs o;
    struct feed_error e;
    if (feed_decode(p, n, &o, &e) != 0)
        return;
    uint8_t enc[FEED_ENCODED_MAX];
    int m = feed_encode(&o, enc, sizeof enc, &e);
    FUZZ_CHECK(m > 0, "decoded observation does not encode: %s", e.msg);
    FUZZ_CHECK((size_t)m == n && !memcmp(enc, p, n), "decode then encode changes the bytes");
}

/* The events one parse saw, as one byte string (name NUL data-or-"(none)" NUL id NUL). */
struct seen {
    char *p;
    size_t len, cap;
    unsigned events;
};

static void seen_put(struct seen *s, const char *p, size_t n)
{
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2 + 64;
        s->p = realloc(s->p, s->cap);
        FUZZ_CHECK(s->p, "memory");
    }
    memcpy(s->p + s->len, p, n);
    s->len += n;
}

static int on_event(void *arg, const char *event, const char *data, size_t len, const char *id)
{
    struct seen *s = arg;
    s->events++;
    FUZZ_CHECK(strlen(event) < 32 && strlen(id) < 64, "event name or id past its buffer");
    seen_put(s, event, strlen(event) + 1);
    if (data)
        seen_put(s, data, len);
    else
        seen_put(s, "(none)", 6);
    seen_put(s, "", 1);
    seen_put(s, id, strlen(id) + 1);
    enum feed_kind kind = !strcmp(event, "fixture") ? FEED_FIXTURE
                          : !strcmp(event, "live")  ? FEED_EVENT
                          : !strcmp(event, "result") ? FEED_RESULT
                                                     : 0;
    if (data && kind)
        check_obs_json(kind, data, len);
    return 0;
}

static int sse_parse(const uint8_t *p, size_t n, const uint8_t *sizes, size_t nsizes,
                     struct seen *out)
{
    struct feed_sse s;
    FUZZ_CHECK(feed_sse_init(&s, on_event, out) == 0, "sse init");
    int rc = 0;
    size_t off = 0, k = 0;
    while (off < n && rc == 0) {
        size_t chunk = nsizes ? (size_t)sizes[k++ % nsizes] % 17 + 1 : n;
        if (chunk > n - off)
            chunk = n - off;
        /* Each chunk in its own allocation, so that a read past it is seen. */
        char *c = malloc(chunk);
        memcpy(c, p + off, chunk);
        rc = feed_sse_feed(&s, c, chunk);
        free(c);
        off += chunk;
    }
    feed_sse_free(&s);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    check_obs_json(FEED_FIXTURE, text, size);
    check_obs_json(FEED_EVENT, text, size);
    check_obs_json(FEED_RESULT, text, size);
    check_decode(data, size);

    struct seen whole = {0}, chunked = {0};
    int a = sse_parse(data, size, NULL, 0, &whole);
    int b = sse_parse(data, size, data, size < 8 ? size : 8, &chunked);
    FUZZ_CHECK(a == b, "whole %d, chunked %d", a, b);
    if (a == 0)
        FUZZ_CHECK(whole.events == chunked.events && whole.len == chunked.len &&
                       (!whole.len || !memcmp(whole.p, chunked.p, whole.len)),
                   "the chunking changed the events (%u vs %u)", whole.events,
                   chunked.events);
    free(whole.p);
    free(chunked.p);
    return 0;
}
