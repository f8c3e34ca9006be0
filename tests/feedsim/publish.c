/* What the simulated provider publishes: the clock, the items due, the lies applied to
 * them, the REST pages with their ETags, and the event stream.
 *
 * An item is published once the simulated clock reaches its time (sim_release, called by the
 * 10 ms tick and after every admin change); the public sees published items except those
 * the delay lie still holds back (visible). Stream ids are item numbers, so a Last-Event-ID
 * is a position in the scenario and resuming is "send what is visible after it".
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed/internal.h"
#include "tests/feedsim/http.h"

double sim_now(const struct sim *s)
{
    return s->base_t + (double)(uv_now(s->loop) - s->base_ms) / 1000.0 * s->speed;
}

/* Items the public sees: published ones, minus those published less than delay_ms ago
 * (real time) when the delay lie is on. */
static size_t visible(const struct sim *s)
{
    size_t n = s->released;
    uint64_t now = uv_now(s->loop);
    while (n > 0 && s->released_at[n - 1] + s->lies.delay_ms > now)
        n--;
    return n;
}

static bool is_ref(const struct feed_obs *o, const struct sim_event_ref *refs, int n)
{
    if (o->kind != FEED_EVENT)
        return false;
    for (int i = 0; i < n; i++)
        if (o->u.event.seq == refs[i].seq && !strcmp(o->u.event.fixture, refs[i].fixture))
            return true;
    return false;
}

static bool dropped(const struct sim *s, const struct feed_obs *o)
{
    return is_ref(o, s->lies.drop, s->lies.ndrop);
}

static enum feed_side other(enum feed_side x)
{
    return x == FEED_HOME ? FEED_AWAY : x == FEED_AWAY ? FEED_HOME : FEED_NONE;
}

static json_t *render(const struct sim *s, const struct feed_obs *o)
{
    struct feed_obs copy = *o;
    if (is_ref(o, s->lies.flip, s->lies.nflip)) {
        copy.u.event.team = other(o->u.event.team);
        copy.u.event.server = other(o->u.event.server);
        copy.u.event.winner = other(o->u.event.winner);
    }
    for (int i = 0; o->kind == FEED_ODDS && i < s->lies.nswap; i++)
        if (!strcmp(o->u.odds.fixture, s->lies.swap_odds[i]))
            for (int b = 0; b < o->u.odds.books; b++) {
                copy.u.odds.milli[b][0] = o->u.odds.milli[b][2];
                copy.u.odds.milli[b][2] = o->u.odds.milli[b][0];
            }
    if (o->kind == FEED_RESULT) {
        for (int i = 0; i < s->lies.nscore; i++)
            if (!strcmp(o->u.result.fixture, s->lies.score[i].fixture)) {
                copy.u.result.status = FEED_FINAL;
                copy.u.result.home = s->lies.score[i].home;
                copy.u.result.away = s->lies.score[i].away;
            }
    }
    return feed_obs_to_json(&copy);
}

/* Three kinds of garbage in turn: not JSON, the wrong shape, an invalid observation. */
static const char *garbage(struct sim *s)
{
    static const char *const g[] = {
        "\x01\xff<html>upstream exploded</html>",
        "{\"fixtures\": \"yes\", \"events\": 7, \"results\": null, \"fixture\": []}",
        "{\"fixtures\": [{\"id\": \"bad id!\", \"sport\": \"cricket\"}], \"fixture\": \"x\", "
        "\"events\": [{\"seq\": -1}], \"results\": [{\"status\": \"maybe\"}]}",
    };
    return g[s->garbage_count++ % 3];
}

static void reply_page(struct sim_conn *c, const struct req *q, json_t *page)
{
    char *body = json_dumps(page, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(page);
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = body; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    char etag[40], extra[80];
    snprintf(etag, sizeof etag, "\"%016llx\"", (unsigned long long)h);
    snprintf(extra, sizeof extra, "ETag: %s\r\nCache-Control: no-cache\r\n", etag);
    /* If-None-Match may list several tags, possibly weak (W/"..."). */
    bool match = false;
    char inm[256];
    snprintf(inm, sizeof inm, "%s", q->inm);
    for (char *save, *tok = strtok_r(inm, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!strncmp(tok, "W/", 2))
            tok += 2;
        size_t tl = strlen(tok);
        while (tl && tok[tl - 1] == ' ')
            tok[--tl] = 0;
        if (!strcmp(tok, etag) || !strcmp(tok, "*"))
            match = true;
    }
    reply(c, q, match ? 304 : 200, "application/json", extra, body, strlen(body));
    free(body);
}

static bool query_get(const char *query, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            size_t vl = len - kl - 1;
            if (vl >= cap)
                return false;
            memcpy(out, p + kl + 1, vl);
            out[vl] = 0;
            return true;
        }
        p = amp ? amp + 1 : NULL;
    }
    return false;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!*s || *s == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return false;
    *out = v;
    return true;
}

static void get_list(struct sim_conn *c, const struct req *q, enum feed_kind kind,
                     const char *key)
{
    struct sim *s = c->s;
    json_t *arr = json_array();
    for (size_t i = 0, n = visible(s); i < n; i++)
        if (s->sc.items[i].obs.kind == kind)
            json_array_append_new(arr, render(s, &s->sc.items[i].obs));
    json_t *page = json_object();
    json_object_set_new(page, key, arr);
    reply_page(c, q, page);
}

static void get_events(struct sim_conn *c, const struct req *q)
{
    struct sim *s = c->s;
    char fixture[FEED_ID_MAX + 2], after_s[32] = "0";
    uint64_t after;
    if (!query_get(q->query, "fixture", fixture, sizeof fixture) || !fixture[0] ||
        strlen(fixture) > FEED_ID_MAX) {
        reply_problem(c, q, 400, "query parameter fixture=ID is required", NULL);
        return;
    }
    bool has_after = query_get(q->query, "after", after_s, sizeof after_s);
    if ((!has_after && strstr(q->query, "after=")) || !parse_u64(after_s, &after)) {
        reply_problem(c, q, 400, "after must be a non-negative integer", NULL);
        return;
    }
    size_t n = visible(s);
    bool known = false;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct feed_obs *o = &s->sc.items[i].obs;
        if (o->kind == FEED_FIXTURE && !strcmp(o->u.fixture.id, fixture))
            known = true;
        if (o->kind == FEED_EVENT && !strcmp(o->u.event.fixture, fixture) &&
            o->u.event.seq > after && !dropped(s, o))
            json_array_append_new(arr, render(s, o));
    }
    if (!known) {
        json_decref(arr);
        reply_problem(c, q, 404, "no such fixture", NULL);
        return;
    }
    reply_page(c, q, json_pack("{s:s, s:o}", "fixture", fixture, "events", arr));
}

/* ---- the stream ------------------------------------------------------------------------ */

static void stream_push(struct sim_conn *c)
{
    struct sim *s = c->s;
    size_t n = visible(s);
    while (!c->closing && !c->close_after_write && c->stream_last < n) {
        const struct sim_item *it = &s->sc.items[c->stream_last];
        c->stream_last = it->id;
        if (dropped(s, &it->obs))
            continue;
        static const char *const names[] = {NULL, "fixture", "live", "result", "odds"};
        char *data;
        if (s->lies.garbage) {
            data = strdup(garbage(s));
            for (char *p = data; *p; p++) /* keep it one SSE line */
                if (*p == '\n' || *p == '\r')
                    *p = ' ';
        } else {
            json_t *j = render(s, &it->obs);
            data = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
            json_decref(j);
        }
        size_t cap = strlen(data) + 96;
        char *msg = malloc(cap);
        int len = snprintf(msg, cap, "id: %llu\nevent: %s\ndata: %s\n\n",
                           (unsigned long long)it->id, names[it->obs.kind], data);
        conn_write(c, msg, (size_t)len);
        free(msg);
        free(data);
        c->stream_sent++;
        if (s->lies.drop_stream_every && c->stream_sent >= s->lies.drop_stream_every) {
            s->streams_dropped++;
            conn_end(c);
        }
    }
}

static void get_stream(struct sim_conn *c, const struct req *q)
{
    struct sim *s = c->s;
    uint64_t last = 0;
    char after[32];
    if (q->last_id[0]) {
        if (!parse_u64(q->last_id, &last)) {
            reply_problem(c, q, 400, "Last-Event-ID must be an event id from this stream", NULL);
            return;
        }
        s->resumes++;
    } else if (query_get(q->query, "after", after, sizeof after) && !parse_u64(after, &last)) {
        reply_problem(c, q, 400, "after must be a non-negative integer", NULL);
        return;
    }
    if (last > s->sc.n)
        last = s->sc.n;
    static const char head[] =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "Connection: close\r\n\r\nretry: 500\n\n";
    conn_write(c, head, sizeof head - 1);
    c->stream = true;
    c->stream_last = last;
    stream_push(c);
}

void sim_release(struct sim *s)
{
    double now = sim_now(s);
    while (s->released < s->sc.n && s->sc.items[s->released].t <= now)
        s->released_at[s->released++] = uv_now(s->loop);
    bool beat = uv_now(s->loop) - s->last_heartbeat >= s->heartbeat_ms;
    if (beat)
        s->last_heartbeat = uv_now(s->loop);
    for (struct sim_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (!c->stream || c->closing)
            continue;
        stream_push(c);
        if (beat && !c->closing)
            conn_write(c, ": hb\n\n", 6);
    }
}


/* GET on the public port (the router in http.c has answered /healthz and the admin port). */
void sim_public_request(struct sim_conn *c, const struct req *q)
{
    struct sim *s = c->s;
    if (s->api_key && strcmp(q->api_key, s->api_key)) {
        reply_problem(c, q, 401, "X-Api-Key missing or wrong", NULL);
        return;
    }
    if (strcmp(q->method, "GET")) {
        reply_problem(c, q, 405, "the feed is read-only", NULL);
        return;
    }
    if (s->lies.down == SIM_DOWN_503) {
        reply_problem(c, q, 503, "provider under maintenance", "Retry-After: 1\r\n");
        return;
    }
    bool list = !strcmp(q->path, "/v1/fixtures") || !strcmp(q->path, "/v1/results") ||
                !strcmp(q->path, "/v1/events") || !strcmp(q->path, "/v1/odds");
    if (list && s->lies.garbage) {
        const char *g = garbage(s);
        reply(c, q, 200, "application/json", NULL, g, strlen(g));
    } else if (!strcmp(q->path, "/v1/fixtures")) {
        get_list(c, q, FEED_FIXTURE, "fixtures");
    } else if (!strcmp(q->path, "/v1/results")) {
        get_list(c, q, FEED_RESULT, "results");
    } else if (!strcmp(q->path, "/v1/odds")) {
        get_list(c, q, FEED_ODDS, "odds");
    } else if (!strcmp(q->path, "/v1/events")) {
        get_events(c, q);
    } else if (!strcmp(q->path, "/v1/stream")) {
        get_stream(c, q);
    } else {
        reply_problem(c, q, 404, "no such endpoint", NULL);
    }
}
