/* The REST poller.
 *
 * The happy path for one poll is four phases, each a set of parallel requests:
 *   1. GET /v1/fixtures                              -> new or changed fixtures
 *   2. GET /v1/odds                                  -> newer market snapshots (a 404: a
 *                                                       provider without odds, not a failure)
 *   3. GET /v1/events?fixture=ID&after=SEQ for every known fixture without a final result
 *                                                    -> its events above SEQ, in seq order
 *   4. GET /v1/results                               -> new or changed results
 * so a node always delivers a fixture before its snapshots and events, and its events before
 * its result (nothing of a fixture comes after its result: a snapshot is pre-match news).
 * Every request carries If-None-Match with the ETag of the last answer to the same URL; a 304
 * means nothing changed and costs no parsing. The next poll starts poll_ms after this one.
 *
 * Possible failure modes: the provider is down (connection refused, 5xx), slow (the
 * per-request timeout fires), or answers garbage (not JSON, wrong shape, an invalid
 * observation). A response is checked whole before anything in it is delivered, so garbage
 * never delivers half a page. Any failure ends the poll after its phase and schedules the next
 * after a jittered, doubling back-off; the first clean poll resets it.
 */
#include "feed/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum rest_what { R_FIXTURES, R_EVENTS, R_RESULTS, R_ODDS };

struct rest_req {
    struct cu_xfer x;
    struct feed_provider *p;
    enum rest_what what;
    char fixture[FEED_ID_MAX + 1]; /* R_EVENTS */
    char url[512];
    struct curl_slist *headers;
    struct cu_body body;
    char etag[128];
    struct rest_req *next;
};

struct rest {
    int phase;
    int inflight;
    bool failed;
    struct rest_req *live; /* in flight, to abandon them on close */
    char fixtures_etag[128], results_etag[128], odds_etag[128];
};

static void phase_start(struct feed_provider *p, int phase);

static size_t on_header(char *line, size_t size, size_t nmemb, void *arg)
{
    struct rest_req *q = arg;
    size_t n = size * nmemb;
    cu_header_value(line, n, "etag", q->etag, sizeof q->etag);
    return n;
}

static void req_free(struct rest *r, struct rest_req *q)
{
    for (struct rest_req **pp = &r->live; *pp; pp = &(*pp)->next)
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    curl_slist_free_all(q->headers);
    curl_easy_cleanup(q->x.easy);
    cu_body_free(&q->body);
    free(q);
}

static const char *const page_keys[] = {NULL, "fixtures", "events", "results", "odds"};

int feed_rest_page_read(const void *body, size_t len, enum feed_kind kind, const char *fixture,
                        struct feed_obs **out, size_t *n, struct feed_error *err)
{
    *out = NULL;
    *n = 0;
    err->code = 0;
    err->msg[0] = 0;
    if (kind < FEED_FIXTURE || kind > FEED_ODDS || (kind == FEED_EVENT && !fixture)) {
        err->code = FEED_EINVAL;
        snprintf(err->msg, sizeof err->msg, "no such page kind");
        return FEED_EINVAL;
    }
    const char *key = page_keys[kind];
    json_error_t je;
    json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je);
    json_t *arr = j ? json_object_get(j, key) : NULL;
    if (!j || !json_is_array(arr)) {
        err->code = FEED_EJSON;
        snprintf(err->msg, sizeof err->msg, "%s", j ? "no array under the expected key" : je.text);
        json_decref(j);
        return FEED_EJSON;
    }
    if (kind == FEED_EVENT) {
        json_t *f = json_object_get(j, "fixture");
        if (!json_is_string(f) || strcmp(json_string_value(f), fixture)) {
            err->code = FEED_EJSON;
            snprintf(err->msg, sizeof err->msg, "answer is not for fixture %s", fixture);
            json_decref(j);
            return FEED_EJSON;
        }
    }
    size_t count = json_array_size(arr);
    struct feed_obs *obs = calloc(count ? count : 1, sizeof *obs);
    if (!obs) {
        err->code = FEED_ENOMEM;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        json_decref(j);
        return FEED_ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        struct feed_error e;
        int rc = feed_obs_from_json(kind, json_array_get(arr, i), &obs[i], &e);
        if (!rc && kind == FEED_EVENT &&
            (strcmp(obs[i].u.event.fixture, fixture) ||
             (i > 0 && obs[i].u.event.seq <= obs[i - 1].u.event.seq))) {
            rc = e.code = FEED_EFIELD;
            snprintf(e.msg, sizeof e.msg, "event %zu: other fixture or seq not increasing", i);
        }
        if (rc) {
            err->code = rc;
            snprintf(err->msg, sizeof err->msg, "%s[%zu]: %.170s", key, i, e.msg);
            free(obs);
            json_decref(j);
            return rc;
        }
    }
    json_decref(j);
    *out = obs;
    *n = count;
    return 0;
}

/* Reads the answer's page into observations of @kind; all or nothing. */
static int parse_page(struct feed_provider *p, struct rest_req *q, enum feed_kind kind,
                      struct feed_obs **out, size_t *n)
{
    struct feed_error e;
    int rc = feed_rest_page_read(q->body.p, q->body.len, kind, q->fixture, out, n, &e);
    if (rc)
        provider_error(p, rc, "%s: %s", q->url, e.msg);
    return rc;
}

static bool handle_ok(struct feed_provider *p, struct rest_req *q)
{
    struct rest *r = p->impl;
    static const enum feed_kind kinds[] = {FEED_FIXTURE, FEED_EVENT, FEED_RESULT, FEED_ODDS};
    struct feed_obs *obs;
    size_t n;
    if (parse_page(p, q, kinds[q->what], &obs, &n))
        return false;
    bool skipped = false;
    for (size_t i = 0; i < n; i++) {
        /* A result for a fixture we never saw (published after our fixtures request) would
         * break "fixture first"; it comes back on the next poll, after the fixture. */
        if (q->what == R_RESULTS || q->what == R_ODDS) {
            struct feed_track *t = provider_track(p, feed_obs_fixture(&obs[i]), false);
            if (!t || !t->have_fixture) {
                skipped = true;
                continue;
            }
        }
        provider_emit(p, &obs[i]);
    }
    free(obs);
    char *slot = q->what == R_FIXTURES ? r->fixtures_etag
                 : q->what == R_RESULTS ? r->results_etag
                 : q->what == R_ODDS    ? r->odds_etag
                                        : NULL;
    if (slot) /* after a skip, the same page must not come back as a 304 */
        snprintf(slot, 128, "%s", skipped ? "" : q->etag);
    else {
        struct feed_track *t = provider_track(p, q->fixture, false);
        /* The ETag belongs to the URL asked, which names the old last seq: keep it only if
         * nothing new arrived, i.e. the next poll asks the same URL. */
        if (t && n == 0) {
            snprintf(t->events_url, sizeof t->events_url, "%s", q->url);
            snprintf(t->events_etag, sizeof t->events_etag, "%s", q->etag);
        } else if (t) {
            t->events_url[0] = 0;
        }
    }
    return true;
}

static void on_done(struct cu_xfer *x, CURLcode rc)
{
    struct rest_req *q = (struct rest_req *)x;
    struct feed_provider *p = q->p;
    struct rest *r = p->impl;
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    bool ok = false;
    if (rc != CURLE_OK) {
        provider_error(p, q->body.overflow ? FEED_EJSON : FEED_ENET, "%s: %s", q->url,
                       q->body.overflow ? "answer too large" : curl_easy_strerror(rc));
    } else if (status == 304) {
        p->stats.not_modified++;
        ok = true;
    } else if (status == 200) {
        ok = handle_ok(p, q);
    } else if (status == 404 && q->what == R_ODDS) {
        ok = true; /* a provider without market odds: nothing to deliver */
    } else {
        provider_error(p, FEED_EHTTP, "%s: HTTP %ld", q->url, status);
    }
    if (!ok)
        r->failed = true;
    req_free(r, q);
    if (--r->inflight > 0 || p->closing)
        return;
    if (r->failed) {
        provider_schedule(p, true);
    } else if (r->phase < 4) {
        phase_start(p, r->phase + 1);
    } else {
        p->stats.cycles++;
        provider_schedule(p, false);
    }
}

static void request(struct feed_provider *p, enum rest_what what, const char *fixture,
                    uint64_t after)
{
    struct rest *r = p->impl;
    struct rest_req *q = calloc(1, sizeof *q);
    q->p = p;
    q->what = what;
    q->x.done = on_done;
    q->x.easy = curl_easy_init();
    q->body.max = 16u << 20;
    const char *etag = NULL;
    switch (what) {
    case R_FIXTURES:
        snprintf(q->url, sizeof q->url, "%s/v1/fixtures", p->url);
        etag = r->fixtures_etag;
        break;
    case R_RESULTS:
        snprintf(q->url, sizeof q->url, "%s/v1/results", p->url);
        etag = r->results_etag;
        break;
    case R_ODDS:
        snprintf(q->url, sizeof q->url, "%s/v1/odds", p->url);
        etag = r->odds_etag;
        break;
    case R_EVENTS: {
        snprintf(q->fixture, sizeof q->fixture, "%s", fixture);
        snprintf(q->url, sizeof q->url, "%s/v1/events?fixture=%s&after=%llu", p->url, fixture,
                 (unsigned long long)after);
        struct feed_track *t = provider_track(p, fixture, false);
        if (t && !strcmp(t->events_url, q->url))
            etag = t->events_etag;
        break;
    }
    }
    q->headers = curl_slist_append(q->headers, "Accept: application/json");
    q->headers = provider_headers(p, q->headers);
    if (etag && etag[0]) {
        char h[160];
        snprintf(h, sizeof h, "If-None-Match: %s", etag);
        q->headers = curl_slist_append(q->headers, h);
    }
    CURL *e = q->x.easy;
    curl_easy_setopt(e, CURLOPT_URL, q->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, cu_body_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &q->body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)p->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)p->cfg.timeout_ms);
    q->next = r->live;
    r->live = q;
    r->inflight++;
    p->stats.requests++;
    cu_add(&p->cm, &q->x);
}

static void phase_start(struct feed_provider *p, int phase)
{
    struct rest *r = p->impl;
    r->phase = phase;
    r->failed = false;
    if (phase == 1) {
        request(p, R_FIXTURES, NULL, 0);
    } else if (phase == 2) {
        request(p, R_ODDS, NULL, 0);
    } else if (phase == 3) {
        for (size_t i = 0; i < p->cap; i++) {
            struct feed_track *t = p->tracks[i];
            if (t && t->have_fixture && !t->final)
                request(p, R_EVENTS, t->id, t->last_seq);
        }
        if (r->inflight == 0)
            phase_start(p, 4);
    } else {
        request(p, R_RESULTS, NULL, 0);
    }
}

static int rest_start(struct feed_provider *p)
{
    p->impl = calloc(1, sizeof(struct rest));
    if (!p->impl)
        return FEED_ENOMEM;
    phase_start(p, 1);
    return 0;
}

static void rest_retry(struct feed_provider *p)
{
    phase_start(p, 1);
}

static void rest_stop(struct feed_provider *p)
{
    struct rest *r = p->impl;
    while (r->live) {
        cu_remove(&p->cm, &r->live->x);
        req_free(r, r->live);
    }
    free(r);
    p->impl = NULL;
}

/* ETags are per provider: a tag from one mirror means nothing to another. */
static void rest_failover(struct feed_provider *p)
{
    struct rest *r = p->impl;
    r->fixtures_etag[0] = r->results_etag[0] = r->odds_etag[0] = 0;
    for (size_t i = 0; i < p->cap; i++)
        if (p->tracks[i])
            p->tracks[i]->events_url[0] = 0;
}

const struct feed_adapter_ops feed_rest_ops = {rest_start, rest_retry, rest_stop, rest_failover};
