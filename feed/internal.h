/* Private to feed/: shared by the adapters, the JSON code and the simulator. */
#ifndef PARLAY_FEED_INTERNAL_H
#define PARLAY_FEED_INTERNAL_H

#include <curl/curl.h>
#include <jansson.h>

#include "common/curl_uv.h"
#include "feed/feed.h"

/* ---- JSON (json.c) --------------------------------------------------------------------- */

int feed_obs_from_json(enum feed_kind kind, json_t *j, struct feed_obs *out,
                       struct feed_error *err);
json_t *feed_obs_to_json(const struct feed_obs *o);
int feed_parse_time(const char *s, int64_t *out);
void feed_format_time(int64_t t, char out[21]);

/* ---- the REST adapter's pages (rest.c) -------------------------------------------------- */

/* Reads one REST answer's body (@len bytes, need not be terminated): a JSON object whose array
 * under "fixtures", "events", "results" or "odds" (by @kind) holds observations of @kind; an
 * events page also names its @fixture ("fixture") and its events are of @fixture with seq
 * increasing. All or nothing: 0 with *out (malloc'd, *n entries; free() it, also when *n is 0),
 * or a FEED_E* code with *out NULL and a sentence in @err (the page key and the index of the
 * offending entry; without the URL, which the caller adds). Pure: no I/O, no provider. */
int feed_rest_page_read(const void *body, size_t len, enum feed_kind kind, const char *fixture,
                        struct feed_obs **out, size_t *n, struct feed_error *err);

/* libcurl's multi interface on a libuv loop: common/curl_uv.h (shared with node/forward.c). */

/* ---- the provider core (provider.c) ---------------------------------------------------- */

struct feed_track; /* what has been delivered for one fixture */

struct feed_adapter_ops {
    int (*start)(struct feed_provider *p);
    void (*retry)(struct feed_provider *p); /* the retry timer fired */
    void (*stop)(struct feed_provider *p);  /* remove transfers, free adapter state */
    void (*failover)(struct feed_provider *p); /* p->url changed: forget per-URL state */
};

struct feed_provider {
    uv_loop_t *loop;
    struct feed_config cfg;
    char *url; /* the URL in use: urls[stats.url_index] */
    char **urls;
    unsigned nurls;
    char **headers; /* cfg.headers, copied; NULL-terminated */
    const struct feed_adapter_ops *ops;
    void *impl;
    struct cu_multi cm;
    uv_timer_t retry;
    uint64_t rng;
    struct feed_stats stats;
    struct feed_track **tracks; /* open hash by fixture id */
    size_t ntracks, cap;
    bool closing;
    int open_handles;
    void (*on_closed)(void *arg);
    void *closed_arg;
};

extern const struct feed_adapter_ops feed_rest_ops, feed_sse_ops;

struct feed_track {
    char id[FEED_ID_MAX + 1];
    bool have_fixture, have_result, final;
    uint64_t last_seq;
    uint64_t last_odds_seq; /* the newest market snapshot delivered */
    uint8_t fixture_enc[FEED_ENCODED_MAX], result_enc[FEED_ENCODED_MAX];
    int fixture_len, result_len;
    char events_url[512]; /* the URL the ETag below belongs to */
    char events_etag[128];
};

struct feed_track *provider_track(struct feed_provider *p, const char *id, bool create);
/* Delivers @o unless already delivered (same fixture or result bytes, an event at or below
 * the fixture's last seq). Returns true if delivered. */
bool provider_emit(struct feed_provider *p, const struct feed_obs *o);
void provider_error(struct feed_provider *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Schedules ops->retry: after poll_ms (success) or after a jittered back-off (failure). */
void provider_schedule(struct feed_provider *p, bool failed);
/* Appends the configured extra headers to @list. */
struct curl_slist *provider_headers(struct feed_provider *p, struct curl_slist *list);

/* ---- text/event-stream framing (sse_parse.c) ------------------------------------------ */

#define FEED_SSE_LINE_MAX (64 * 1024)

/* One dispatched event: @data is NULL when it had no data line; @id is the last-event-id
 * buffer ("" if none yet). A non-zero return stops the parser and is returned by feed. */
typedef int (*feed_sse_cb)(void *arg, const char *event, const char *data, size_t len,
                           const char *id);

struct feed_sse {
    char *line;
    size_t llen;
    bool after_cr;
    int bom_checked; /* bytes of a leading BOM seen; 3 once past the start */
    char event[32];
    char *data;
    size_t dlen, dcap;
    bool has_data;
    char id[64];
    feed_sse_cb cb;
    void *arg;
    int err; /* sticky: FEED_E* that stopped the parser */
    char msg[FEED_ERROR_MAX];
};

int feed_sse_init(struct feed_sse *s, feed_sse_cb cb, void *arg);
void feed_sse_restart(struct feed_sse *s);
int feed_sse_feed(struct feed_sse *s, const char *buf, size_t n);
void feed_sse_free(struct feed_sse *s);

#endif
