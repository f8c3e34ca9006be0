/* The server-sent-events adapter.
 *
 * The happy path: one long GET /v1/stream (Accept: text/event-stream). The body is parsed as
 * it arrives (sse_parse.c: any chunking, LF, CRLF or CR line ends) into events of the form
 *
 *     id: 42
 *     event: live            (or "fixture", "result"; other names are skipped)
 *     data: {"fixture":"F1","seq":3,...}
 *
 * ended by a blank line; each is parsed with the same JSON rules as the REST pages and
 * delivered, and only then does its id become the Last-Event-ID we resume from.
 *
 * Possible failure modes: the connection cannot be made or is refused (5xx), the provider
 * goes silent (no byte, not even a ": heartbeat" comment, for timeout_ms: curl's low-speed
 * limit ends the transfer), the provider closes the stream, or it sends garbage (a line
 * longer than 64 KiB, data that is not a valid observation). In every case the transfer ends
 * and we reconnect with Last-Event-ID set to the last event delivered, so nothing is skipped
 * and, by the provider core's per-fixture seq check, nothing is delivered twice. A stream
 * that delivered at least one event before ending resets the back-off; otherwise each
 * attempt doubles it.
 */
#include "feed/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sse {
    struct cu_xfer x;
    struct feed_provider *p;
    bool active;
    struct curl_slist *headers;
    char url[512];
    long status;
    bool type_checked;
    struct feed_sse parser;
    char last_id[64]; /* the id of the last event delivered: what we resume from */
    int delivered;    /* events delivered by the current connection */
    int bad;          /* FEED_E* that made us abort the transfer, 0 if none */
    char bad_msg[512];
};

/* An event from the parser: deliver it, and only then move the resume point past it. */
static int on_event(void *arg, const char *event, const char *data, size_t len, const char *id)
{
    struct sse *s = arg;
    struct feed_provider *p = s->p;
    enum feed_kind kind = !strcmp(event, "fixture") ? FEED_FIXTURE
                          : !strcmp(event, "live")  ? FEED_EVENT
                          : !strcmp(event, "result") ? FEED_RESULT
                          : !strcmp(event, "odds")   ? FEED_ODDS
                                                     : 0;
    if (data && kind) {
        struct feed_obs o;
        struct feed_error e;
        if (feed_obs_from_json_text(kind, data, len, &o, &e)) {
            s->bad = e.code;
            snprintf(s->bad_msg, sizeof s->bad_msg, "event \"%s\" after id %s: %s", event,
                     s->last_id[0] ? s->last_id : "(none)", e.msg);
            return e.code;
        }
        provider_emit(p, &o);
        if (s->delivered++ == 0) { /* the connection works: healthy again */
            p->stats.failures = 0;
            p->stats.backoff_ms = 0;
        }
    }
    snprintf(s->last_id, sizeof s->last_id, "%s", id);
    p->stats.last_event_id = strtoull(id, NULL, 10);
    return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct sse *s = arg;
    size_t n = size * nmemb;
    if (s->p->closing)
        return 0;
    if (!s->status)
        curl_easy_getinfo(s->x.easy, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status != 200)
        return n; /* an error page: read and discard, on_done reports the status */
    if (!s->type_checked) {
        char *ct = NULL;
        curl_easy_getinfo(s->x.easy, CURLINFO_CONTENT_TYPE, &ct);
        s->type_checked = true;
        if (!ct || strncasecmp(ct, "text/event-stream", 17)) {
            s->bad = FEED_ESSE;
            snprintf(s->bad_msg, sizeof s->bad_msg, "content type %s, not text/event-stream",
                     ct ? ct : "(none)");
            return 0;
        }
    }
    int rc = feed_sse_feed(&s->parser, ptr, n);
    if (rc) {
        if (!s->bad) {
            s->bad = rc;
            snprintf(s->bad_msg, sizeof s->bad_msg, "%s", s->parser.msg);
        }
        return 0; /* aborts the transfer */
    }
    return n;
}

static void sse_cleanup_easy(struct sse *s)
{
    curl_slist_free_all(s->headers);
    s->headers = NULL;
    curl_easy_cleanup(s->x.easy);
    s->x.easy = NULL;
    s->active = false;
}

static void on_done(struct cu_xfer *x, CURLcode rc)
{
    struct sse *s = (struct sse *)x;
    struct feed_provider *p = s->p;
    long status = s->status;
    if (!status)
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    sse_cleanup_easy(s);
    p->stats.cycles++;
    if (p->closing)
        return;
    if (s->bad)
        provider_error(p, s->bad, "%s: %s", s->url, s->bad_msg);
    else if (status != 200 && status != 0)
        provider_error(p, FEED_EHTTP, "%s: HTTP %ld", s->url, status);
    else if (rc != CURLE_OK)
        provider_error(p, FEED_ENET, "%s: %s", s->url, curl_easy_strerror(rc));
    /* else: the provider closed the stream cleanly; reconnect all the same */
    /* Every reconnect waits a back-off; a stream that delivered something restarts the
     * doubling from backoff_min, one that did not doubles it. */
    if (s->delivered)
        p->stats.failures = 0;
    provider_schedule(p, true);
}

static void sse_connect(struct feed_provider *p)
{
    struct sse *s = p->impl;
    if (p->stats.requests)
        p->stats.reconnects++;
    p->stats.requests++;
    s->status = 0;
    s->type_checked = false;
    s->delivered = 0;
    s->bad = 0;
    snprintf(s->url, sizeof s->url, "%s/v1/stream", p->url);
    feed_sse_restart(&s->parser);
    memcpy(s->parser.id, s->last_id, sizeof s->parser.id); /* not a half-read event's id */
    s->x.easy = curl_easy_init();
    s->x.done = on_done;
    s->headers = curl_slist_append(NULL, "Accept: text/event-stream");
    s->headers = provider_headers(p, s->headers);
    if (s->last_id[0]) {
        char h[96];
        snprintf(h, sizeof h, "Last-Event-ID: %s", s->last_id);
        s->headers = curl_slist_append(s->headers, h);
    }
    CURL *e = s->x.easy;
    long idle_s = (long)((p->cfg.timeout_ms + 999) / 1000);
    curl_easy_setopt(e, CURLOPT_URL, s->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)p->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, idle_s);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    s->active = true;
    cu_add(&p->cm, &s->x);
}

static int sse_start(struct feed_provider *p)
{
    struct sse *s = calloc(1, sizeof *s);
    if (!s || feed_sse_init(&s->parser, on_event, s)) {
        free(s);
        return FEED_ENOMEM;
    }
    s->p = p;
    snprintf(s->url, sizeof s->url, "%s/v1/stream", p->url);
    p->impl = s;
    sse_connect(p);
    return 0;
}

static void sse_retry(struct feed_provider *p)
{
    sse_connect(p);
}

static void sse_stop(struct feed_provider *p)
{
    struct sse *s = p->impl;
    if (s->active) {
        cu_remove(&p->cm, &s->x);
        sse_cleanup_easy(s);
    }
    feed_sse_free(&s->parser);
    free(s);
    p->impl = NULL;
}

/* Event ids are per provider: start the new one from the beginning; the per-fixture seq
 * check in the provider core keeps what was delivered from being delivered again. */
static void sse_failover(struct feed_provider *p)
{
    struct sse *s = p->impl;
    s->last_id[0] = 0;
}

const struct feed_adapter_ops feed_sse_ops = {sse_start, sse_retry, sse_stop, sse_failover};
