/* The provider core shared by both adapters: configuration, what has been delivered,
 * back-off with jitter, and an orderly close.
 *
 * Delivery is idempotent per fixture: a fixture or result is delivered again only if its
 * canonical bytes changed (a provider correcting a score), an event only if its seq is above
 * the last one delivered for its fixture. So a REST poll that overlaps the previous one, or a
 * stream that replays after a reconnect, never delivers twice.
 *
 * Back-off: after the n-th consecutive failure the next attempt waits d/2 + uniform(0, d/2)
 * with d = min(backoff_min * 2^(n-1), backoff_max) ("equal jitter"): growing, bounded, and
 * spread so that nodes that lost the same provider do not come back in lock-step.
 *
 * Closing: feed_close() marks the provider closing (no user callback runs after that) and
 * defers the teardown to a zero timer, because it may be called from inside a curl callback
 * (an on_obs that decides to close), where curl handles must not be removed.
 */
#include "feed/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_next(struct feed_provider *p)
{
    /* xorshift64*: plenty for jitter */
    uint64_t x = p->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    p->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

struct feed_track *provider_track(struct feed_provider *p, const char *id, bool create)
{
    if (p->cap) {
        for (size_t i = hash_id(id) & (p->cap - 1);; i = (i + 1) & (p->cap - 1)) {
            if (!p->tracks[i])
                break;
            if (!strcmp(p->tracks[i]->id, id))
                return p->tracks[i];
        }
    }
    if (!create)
        return NULL;
    if ((p->ntracks + 1) * 2 > p->cap) { /* grow, keep the load under one half */
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct feed_track **t = calloc(cap, sizeof *t);
        if (!t)
            return NULL;
        for (size_t i = 0; i < p->cap; i++) {
            if (!p->tracks[i])
                continue;
            size_t j = hash_id(p->tracks[i]->id) & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = p->tracks[i];
        }
        free(p->tracks);
        p->tracks = t;
        p->cap = cap;
    }
    struct feed_track *tr = calloc(1, sizeof *tr);
    if (!tr)
        return NULL;
    snprintf(tr->id, sizeof tr->id, "%s", id);
    size_t j = hash_id(id) & (p->cap - 1);
    while (p->tracks[j])
        j = (j + 1) & (p->cap - 1);
    p->tracks[j] = tr;
    p->ntracks++;
    return tr;
}

static bool remember(uint8_t *store, int *store_len, bool *have, const uint8_t *enc, int len)
{
    if (*have && *store_len == len && !memcmp(store, enc, (size_t)len))
        return false;
    memcpy(store, enc, (size_t)len);
    *store_len = len;
    *have = true;
    return true;
}

bool provider_emit(struct feed_provider *p, const struct feed_obs *o)
{
    if (p->closing)
        return false;
    uint8_t enc[FEED_ENCODED_MAX];
    int len = feed_encode(o, enc, sizeof enc, NULL);
    if (len < 0)
        return false;
    const char *id = feed_obs_fixture(o);
    struct feed_track *t = provider_track(p, id, true);
    if (!t)
        return false;
    bool fresh = false;
    switch (o->kind) {
    case FEED_FIXTURE:
        fresh = remember(t->fixture_enc, &t->fixture_len, &t->have_fixture, enc, len);
        break;
    case FEED_EVENT:
        fresh = o->u.event.seq > t->last_seq;
        if (fresh)
            t->last_seq = o->u.event.seq;
        break;
    case FEED_RESULT:
        fresh = remember(t->result_enc, &t->result_len, &t->have_result, enc, len);
        t->final = true;
        break;
    case FEED_ODDS: /* only a newer snapshot; an older one arriving late is stale */
        fresh = o->u.odds.seq > t->last_odds_seq;
        if (fresh)
            t->last_odds_seq = o->u.odds.seq;
        break;
    }
    if (fresh) {
        p->stats.observations++;
        p->cfg.on_obs(p->cfg.arg, o);
    }
    return fresh;
}

void provider_error(struct feed_provider *p, int code, const char *fmt, ...)
{
    p->stats.errors++;
    if (p->closing || !p->cfg.on_error)
        return;
    struct feed_error e = {.code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    p->cfg.on_error(p->cfg.arg, &e);
}

static void on_retry(uv_timer_t *t)
{
    struct feed_provider *p = t->data;
    if (!p->closing)
        p->ops->retry(p);
}

void provider_schedule(struct feed_provider *p, bool failed)
{
    if (p->closing)
        return;
    uint64_t delay;
    if (failed) {
        p->stats.failures++;
        uint64_t d = p->cfg.backoff_min_ms;
        for (unsigned i = 1; i < p->stats.failures && d < p->cfg.backoff_max_ms; i++)
            d *= 2;
        if (d > p->cfg.backoff_max_ms)
            d = p->cfg.backoff_max_ms;
        delay = d / 2 + rng_next(p) % (d / 2 + 1);
        p->stats.backoff_ms = (unsigned)delay;
        if (p->nurls > 1 && p->stats.failures % p->cfg.failover_after == 0) {
            p->stats.url_index = (p->stats.url_index + 1) % p->nurls;
            p->url = p->urls[p->stats.url_index];
            p->stats.failovers++;
            p->ops->failover(p);
        }
    } else {
        p->stats.failures = 0;
        p->stats.backoff_ms = 0;
        delay = p->cfg.poll_ms;
    }
    uv_timer_start(&p->retry, on_retry, delay, 0);
}

struct curl_slist *provider_headers(struct feed_provider *p, struct curl_slist *list)
{
    for (char **h = p->headers; h && *h; h++)
        list = curl_slist_append(list, *h);
    return list;
}

static void free_urls(struct feed_provider *p)
{
    for (unsigned i = 0; p->urls && i < p->nurls; i++)
        free(p->urls[i]);
    free(p->urls);
    for (char **h = p->headers; h && *h; h++)
        free(*h);
    free(p->headers);
}

/* "Name: value" with a token name and no line breaks (a CR or LF would smuggle headers). */
static bool header_ok(const char *h)
{
    const char *colon = strchr(h, ':');
    if (!colon || colon == h || strlen(h) > 1024 || strpbrk(h, "\r\n"))
        return false;
    for (const char *c = h; c < colon; c++)
        if (*c <= ' ' || *c >= 127)
            return false;
    return true;
}

static bool url_ok(const char *u)
{
    return u && (!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8)) && strlen(u) <= 256;
}

int feed_open(uv_loop_t *loop, const struct feed_config *cfg, struct feed_provider **out)
{
    if (!loop || !cfg || !out || !url_ok(cfg->url) || !cfg->on_obs)
        return FEED_EINVAL;
    for (unsigned i = 0; cfg->fallback_urls && cfg->fallback_urls[i]; i++)
        if (!url_ok(cfg->fallback_urls[i]) || i >= 15)
            return FEED_EINVAL;
    unsigned nh = 0;
    for (; cfg->headers && cfg->headers[nh]; nh++)
        if (!header_ok(cfg->headers[nh]) || nh >= 31)
            return FEED_EINVAL;
    const struct feed_adapter_ops *ops = cfg->adapter == FEED_REST  ? &feed_rest_ops
                                         : cfg->adapter == FEED_SSE ? &feed_sse_ops
                                                                    : NULL;
    if (!ops)
        return FEED_EINVAL;
    struct feed_provider *p = calloc(1, sizeof *p);
    if (!p)
        return FEED_ENOMEM;
    p->loop = loop;
    p->cfg = *cfg;
    p->ops = ops;
    unsigned n = 1;
    while (cfg->fallback_urls && cfg->fallback_urls[n - 1])
        n++;
    p->urls = calloc(n, sizeof *p->urls);
    p->nurls = n;
    for (unsigned i = 0; p->urls && i < n; i++) {
        const char *u = i ? cfg->fallback_urls[i - 1] : cfg->url;
        size_t ul = strlen(u);
        while (ul && u[ul - 1] == '/') /* "http://h:p/" and "http://h:p" are the same */
            ul--;
        p->urls[i] = strndup(u, ul);
    }
    p->headers = calloc(nh + 1, sizeof *p->headers);
    for (unsigned i = 0; p->headers && i < nh; i++)
        p->headers[i] = strdup(cfg->headers[i]);
    if (!p->urls || !p->headers) {
        free_urls(p);
        free(p);
        return FEED_ENOMEM;
    }
    p->url = p->urls[0];
    if (!p->cfg.failover_after)
        p->cfg.failover_after = 3;
    if (!p->cfg.poll_ms)
        p->cfg.poll_ms = 1000;
    if (!p->cfg.timeout_ms)
        p->cfg.timeout_ms = 5000;
    if (!p->cfg.backoff_min_ms)
        p->cfg.backoff_min_ms = 200;
    if (!p->cfg.backoff_max_ms)
        p->cfg.backoff_max_ms = 30000;
    if (p->cfg.backoff_max_ms < p->cfg.backoff_min_ms)
        p->cfg.backoff_max_ms = p->cfg.backoff_min_ms;
    p->rng = cfg->seed ? cfg->seed
                       : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ (uintptr_t)p;
    if (!p->rng)
        p->rng = 1;
    int rc = cu_init(&p->cm, loop);
    if (rc) {
        free_urls(p);
        free(p);
        return rc;
    }
    uv_timer_init(loop, &p->retry);
    p->retry.data = p;
    p->open_handles = 2; /* the retry timer and the curl glue */
    if ((rc = ops->start(p))) {
        feed_close(p, NULL, NULL);
        return rc;
    }
    *out = p;
    return 0;
}

static void provider_free_if_closed(struct feed_provider *p)
{
    if (--p->open_handles)
        return;
    for (size_t i = 0; i < p->cap; i++)
        free(p->tracks[i]);
    free(p->tracks);
    free_urls(p);
    void (*cb)(void *) = p->on_closed;
    void *arg = p->closed_arg;
    free(p);
    if (cb)
        cb(arg);
}

static void on_retry_closed(uv_handle_t *h)
{
    provider_free_if_closed(h->data);
}

static void on_cm_closed(struct cu_multi *m)
{
    struct feed_provider *p = (struct feed_provider *)((char *)m - offsetof(struct feed_provider, cm));
    provider_free_if_closed(p);
}

static void teardown(uv_timer_t *t)
{
    struct feed_provider *p = t->data;
    p->ops->stop(p);
    cu_close(&p->cm, on_cm_closed);
    uv_close((uv_handle_t *)&p->retry, on_retry_closed);
}

void feed_close(struct feed_provider *p, void (*on_closed)(void *arg), void *arg)
{
    if (!p || p->closing)
        return;
    p->closing = true;
    p->on_closed = on_closed;
    p->closed_arg = arg;
    uv_timer_start(&p->retry, teardown, 0, 0);
}

void feed_get_stats(const struct feed_provider *p, struct feed_stats *out)
{
    *out = p->stats;
}
