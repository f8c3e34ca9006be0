/* The server-sent-events adapter.
 *
 * The happy path: one long GET /v1/stream (Accept: text/event-stream). The body is parsed as
 * it arrives, line by line (LF, CRLF or CR), into events of the form
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

#define SSE_LINE_MAX (64 * 1024)

struct sse {
    struct cu_xfer x;
    struct feed_provider *p;
    bool active;
    struct curl_slist *headers;
    char url[512];
    long status;
    char *line;
    size_t llen;
    bool after_cr; /* the previous byte was CR: a following LF belongs to the same line end */
    char event[32];
    char *data;
    size_t dlen;
    bool has_data;
    char pending_id[64];
    bool has_pending_id;
    char last_id[64];
    int delivered; /* events delivered by the current connection */
    int bad;       /* FEED_E* that made us abort the transfer, 0 if none */
    char bad_msg[512];
};

static void sse_connect(struct feed_provider *p);

static bool data_append(struct sse *s, const char *v, size_t n)
{
    if (s->dlen + n + 2 > SSE_LINE_MAX * 4)
        return false;
    char *nd = realloc(s->data, s->dlen + n + 2);
    if (!nd)
        return false;
    s->data = nd;
    memcpy(s->data + s->dlen, v, n);
    s->dlen += n;
    s->data[s->dlen++] = '\n';
    s->data[s->dlen] = 0;
    return true;
}

static void reset_event(struct sse *s)
{
    s->event[0] = 0;
    s->dlen = 0;
    s->has_data = false;
}

static int abort_with(struct sse *s, int code, const char *msg)
{
    s->bad = code;
    snprintf(s->bad_msg, sizeof s->bad_msg, "%s", msg);
    return -1;
}

static int dispatch(struct sse *s)
{
    struct feed_provider *p = s->p;
    if (!s->has_data) {
        reset_event(s);
        return 0;
    }
    enum feed_kind kind = !strcmp(s->event, "fixture") ? FEED_FIXTURE
                          : !strcmp(s->event, "live") ? FEED_EVENT
                          : !strcmp(s->event, "result") ? FEED_RESULT
                                                        : 0;
    if (kind) {
        struct feed_obs o;
        struct feed_error e;
        /* data ends with the LF we appended after its last line; SSE says to drop it */
        if (feed_obs_from_json_text(kind, s->data, s->dlen - 1, &o, &e)) {
            char msg[512];
            snprintf(msg, sizeof msg, "event \"%s\" after id %s: %s", s->event,
                     s->last_id[0] ? s->last_id : "(none)", e.msg);
            return abort_with(s, e.code, msg);
        }
        provider_emit(p, &o);
        if (s->delivered++ == 0) { /* the connection works: healthy again */
            p->stats.failures = 0;
            p->stats.backoff_ms = 0;
        }
    }
    if (s->has_pending_id) {
        memcpy(s->last_id, s->pending_id, sizeof s->last_id);
        p->stats.last_event_id = strtoull(s->last_id, NULL, 10);
    }
    s->has_pending_id = false;
    reset_event(s);
    return 0;
}

static int process_line(struct sse *s, char *line, size_t n)
{
    if (n == 0)
        return dispatch(s);
    if (line[0] == ':')
        return 0; /* comment: a heartbeat */
    char *colon = memchr(line, ':', n);
    size_t fl = colon ? (size_t)(colon - line) : n;
    const char *v = colon ? colon + 1 : line + n;
    size_t vl = colon ? n - fl - 1 : 0;
    if (vl && *v == ' ')
        v++, vl--;
    if (fl == 4 && !memcmp(line, "data", 4)) {
        if (!data_append(s, v, vl))
            return abort_with(s, FEED_ESSE, "event data above 256 KiB");
        s->has_data = true;
    } else if (fl == 5 && !memcmp(line, "event", 5)) {
        snprintf(s->event, sizeof s->event, "%.*s", (int)vl, v);
    } else if (fl == 2 && !memcmp(line, "id", 2)) {
        if (vl < sizeof s->pending_id && !memchr(v, 0, vl)) {
            memcpy(s->pending_id, v, vl);
            s->pending_id[vl] = 0;
            s->has_pending_id = true;
        }
    } /* "retry" and unknown fields: ignored (our back-off is our own) */
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
    for (size_t i = 0; i < n; i++) {
        char c = ptr[i];
        if (c == '\n' && s->after_cr) {
            s->after_cr = false;
            continue;
        }
        s->after_cr = c == '\r';
        if (c == '\n' || c == '\r') {
            s->line[s->llen] = 0;
            int rc = process_line(s, s->line, s->llen);
            s->llen = 0;
            if (rc)
                return 0;
            continue;
        }
        if (s->llen + 1 >= SSE_LINE_MAX) {
            abort_with(s, FEED_ESSE, "line longer than 64 KiB");
            return 0;
        }
        s->line[s->llen++] = c;
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
    s->llen = 0;
    s->after_cr = false;
    s->delivered = 0;
    s->bad = 0;
    s->has_pending_id = false;
    snprintf(s->url, sizeof s->url, "%s/v1/stream", p->url);
    reset_event(s);
    s->x.easy = curl_easy_init();
    s->x.done = on_done;
    s->headers = curl_slist_append(NULL, "Accept: text/event-stream");
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
    if (!s || !(s->line = malloc(SSE_LINE_MAX))) {
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
    free(s->line);
    free(s->data);
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
