/* The simulator's HTTP/1.1 server: plain libuv, one connection struct per client.
 *
 * Public port (what nodes read):
 *   GET /v1/fixtures                 {"fixtures": [...]}            ETag, 304 on If-None-Match
 *   GET /v1/events?fixture=ID&after=SEQ  {"fixture": ID, "events": [...]}   ETag, 304
 *   GET /v1/results                  {"results": [...]}             ETag, 304
 *   GET /v1/stream                   text/event-stream of every published observation, ids
 *                                    1.. in scenario order; Last-Event-ID (or ?after=) resumes
 *   GET /healthz
 * Admin port (what tests and operators use, still up when the public port is "down"):
 *   GET  /admin/v1/state             clock, counters, current lies
 *   POST /admin/v1/advance           {"seconds": S} or {"to": T}: move the simulated clock
 *   POST /admin/v1/lie               {"clear", "score", "drop_event", "flip_event", "delay_ms", "slow_ms",
 *                                     "garbage", "down", "drop_stream_every"}
 *   POST /admin/v1/drop-streams      close every open stream now
 *
 * Requests are parsed by hand (request line, headers, Content-Length body); answers carry
 * Content-Length and keep the connection alive, except streams, which end with the
 * connection. Lies are applied when answering, so changing them takes effect at once.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feed/internal.h"
#include "feed/sim/sim.h"

#define IN_MAX (1u << 20)

struct sim_conn {
    uv_tcp_t tcp;
    uv_timer_t delay;
    struct sim *s;
    struct sim_conn *next, *prev;
    bool admin, stream, closing, close_after_write;
    int pending_writes;
    int handles;
    char *in;
    size_t inlen, incap;
    uint64_t stream_last; /* id of the last item the stream has passed */
    unsigned stream_sent;
    char *delayed; /* an answer held back by the slow lie */
    size_t delayed_len;
};

struct req {
    char method[8];
    char path[256];
    char query[512];
    char inm[256];
    char last_id[64];
    bool keep_alive;
    const char *body;
    size_t body_len;
};

struct wreq {
    uv_write_t w;
    struct sim_conn *c;
    char data[];
};

static void conn_close(struct sim_conn *c);

/* ---- connections ----------------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
    struct sim_conn *c = h->data;
    if (--c->handles)
        return;
    free(c->in);
    free(c->delayed);
    free(c);
}

static void conn_close(struct sim_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    struct sim *s = c->s;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_timer_stop(&c->delay);
    uv_close((uv_handle_t *)&c->delay, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_written(uv_write_t *w, int status)
{
    struct wreq *r = (struct wreq *)w;
    struct sim_conn *c = r->c;
    free(r);
    c->pending_writes--;
    if (status < 0)
        conn_close(c);
    else if (c->close_after_write && c->pending_writes == 0)
        conn_close(c);
}

static void conn_write(struct sim_conn *c, const char *p, size_t n)
{
    if (c->closing)
        return;
    struct wreq *r = malloc(sizeof *r + n);
    memcpy(r->data, p, n);
    r->c = c;
    uv_buf_t b = uv_buf_init(r->data, (unsigned)n);
    if (uv_write(&r->w, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(r);
        conn_close(c);
        return;
    }
    c->pending_writes++;
}

static void conn_end(struct sim_conn *c)
{
    c->close_after_write = true;
    if (c->pending_writes == 0)
        conn_close(c);
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

static void on_delay(uv_timer_t *t)
{
    struct sim_conn *c = t->data;
    conn_write(c, c->delayed, c->delayed_len);
    free(c->delayed);
    c->delayed = NULL;
    if (c->close_after_write)
        conn_end(c);
}

/* Sends a whole answer. @extra: more header lines, each ending in CRLF, or NULL. */
static void reply(struct sim_conn *c, const struct req *q, int status, const char *ctype,
                  const char *extra, const char *body, size_t len)
{
    size_t cap = 512 + (extra ? strlen(extra) : 0) + len;
    char *buf = malloc(cap);
    int h = snprintf(buf, cap,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
                     status, reason(status), ctype, status == 304 ? 0 : len, extra ? extra : "",
                     q->keep_alive ? "" : "Connection: close\r\n");
    size_t n = (size_t)h;
    if (status != 304) {
        memcpy(buf + n, body, len);
        n += len;
    }
    if (!q->keep_alive)
        c->close_after_write = true;
    if (!c->admin && c->s->lies.slow_ms) {
        c->delayed = buf;
        c->delayed_len = n;
        uv_timer_start(&c->delay, on_delay, c->s->lies.slow_ms, 0);
        return;
    }
    conn_write(c, buf, n);
    free(buf);
    if (c->close_after_write)
        conn_end(c);
}

static void reply_json(struct sim_conn *c, const struct req *q, int status, json_t *j,
                       const char *extra)
{
    char *body = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    reply(c, q, status, "application/json", extra, body, strlen(body));
    free(body);
}

static void reply_problem(struct sim_conn *c, const struct req *q, int status, const char *detail,
                          const char *extra)
{
    reply_json(c, q, status,
               json_pack("{s:s, s:i, s:s}", "title", reason(status), "status", status, "detail",
                         detail),
               extra);
}

/* ---- the published world, with lies applied -------------------------------------------- */

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
        static const char *const names[] = {NULL, "fixture", "live", "result"};
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

/* ---- admin ----------------------------------------------------------------------------- */

static json_t *state_json(struct sim *s)
{
    static const char *const downs[] = {"none", "503", "refuse"};
    json_t *scores = json_array(), *drops = json_array(), *flips = json_array();
    for (int i = 0; i < s->lies.nscore; i++)
        json_array_append_new(scores, json_pack("{s:s, s:i, s:i}", "fixture",
                                                s->lies.score[i].fixture, "home",
                                                s->lies.score[i].home, "away",
                                                s->lies.score[i].away));
    for (int i = 0; i < s->lies.ndrop; i++)
        json_array_append_new(drops, json_pack("{s:s, s:I}", "fixture", s->lies.drop[i].fixture,
                                               "seq", (json_int_t)s->lies.drop[i].seq));
    for (int i = 0; i < s->lies.nflip; i++)
        json_array_append_new(flips, json_pack("{s:s, s:I}", "fixture", s->lies.flip[i].fixture,
                                               "seq", (json_int_t)s->lies.flip[i].seq));
    int streams = 0;
    for (struct sim_conn *c = s->conns; c; c = c->next)
        streams += c->stream && !c->closing;
    return json_pack("{s:s, s:f, s:f, s:I, s:I, s:b, s:i, s:I, s:I, s:I, s:I, s:i, s:i, "
                     "s:{s:o, s:o, s:o, s:i, s:i, s:b, s:s, s:i}}",
                     "scenario", s->sc.name, "sim_time", sim_now(s), "speed", s->speed,
                     "released", (json_int_t)s->released, "items", (json_int_t)s->sc.n,
                     "finished", s->released == s->sc.n, "streams", streams, "requests",
                     (json_int_t)s->requests, "resumes", (json_int_t)s->resumes,
                     "streams_dropped", (json_int_t)s->streams_dropped, "garbage_sent",
                     (json_int_t)s->garbage_count, "port", s->port, "admin_port",
                     s->admin_port, "lies", "score", scores, "drop_event", drops, "flip_event", flips, "delay_ms",
                     (int)s->lies.delay_ms, "slow_ms", (int)s->lies.slow_ms, "garbage", s->lies.garbage, "down",
                     downs[s->lies.down], "drop_stream_every", (int)s->lies.drop_stream_every);
}

static void close_public(struct sim *s, bool streams_only)
{
    for (struct sim_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (!c->admin && (!streams_only || c->stream)) {
            if (c->stream)
                s->streams_dropped++;
            conn_close(c);
        }
    }
}

static void on_listener_closed(uv_handle_t *h)
{
    free(h);
}

static void set_down(struct sim *s, enum sim_down d)
{
    enum sim_down was = s->lies.down;
    s->lies.down = d;
    if (d == SIM_DOWN_REFUSE && was != SIM_DOWN_REFUSE) {
        if (s->listener)
            uv_close((uv_handle_t *)s->listener, on_listener_closed);
        s->listener = NULL;
        close_public(s, false);
    } else if (d != SIM_DOWN_REFUSE && was == SIM_DOWN_REFUSE) {
        if (sim_listen_public(s) != 0)
            fprintf(stderr, "feedsim: cannot listen again on port %d\n", s->port);
    }
    if (d == SIM_DOWN_503)
        close_public(s, true);
}

/* Each item of @v (one object or an array of them) through @fn; -1 on a bad one. */
static int each(json_t *v, int (*fn)(struct sim_lies *l, json_t *o), struct sim_lies *l)
{
    if (json_is_object(v))
        return fn(l, v);
    size_t i;
    json_t *o;
    json_array_foreach(v, i, o) if (fn(l, o)) return -1;
    return json_is_array(v) ? 0 : -1;
}

static int lie_score(struct sim_lies *l, json_t *o)
{
    char arg[128];
    json_t *f = json_object_get(o, "fixture");
    snprintf(arg, sizeof arg, "%s=%lld-%lld", json_is_string(f) ? json_string_value(f) : "",
             json_integer_value(json_object_get(o, "home")),
             json_integer_value(json_object_get(o, "away")));
    return sim_lie_score(l, arg);
}

static int event_ref(struct sim_event_ref *refs, int *n, json_t *o)
{
    char arg[128];
    json_t *f = json_object_get(o, "fixture");
    snprintf(arg, sizeof arg, "%s:%lld", json_is_string(f) ? json_string_value(f) : "",
             json_integer_value(json_object_get(o, "seq")));
    return sim_lie_event(refs, n, arg);
}

static int lie_drop(struct sim_lies *l, json_t *o)
{
    return event_ref(l->drop, &l->ndrop, o);
}

static int lie_flip(struct sim_lies *l, json_t *o)
{
    return event_ref(l->flip, &l->nflip, o);
}

/* All or nothing: the new lies are built in a copy and installed only if every key is
 * valid, so a refused request changes nothing. */
static const char *apply_lies(struct sim *s, json_t *j)
{
    struct sim_lies next = s->lies;
    enum sim_down down = s->lies.down;
    json_t *v;
    if (json_is_true(json_object_get(j, "clear"))) {
        memset(&next, 0, sizeof next);
        down = SIM_UP;
    }
    if ((v = json_object_get(j, "score")) && each(v, lie_score, &next))
        return "score: {\"fixture\": ID, \"home\": N, \"away\": N} or a list of them";
    if ((v = json_object_get(j, "drop_event")) && each(v, lie_drop, &next))
        return "drop_event: {\"fixture\": ID, \"seq\": N} or a list of them";
    if ((v = json_object_get(j, "flip_event")) && each(v, lie_flip, &next))
        return "flip_event: {\"fixture\": ID, \"seq\": N} or a list of them";
    if ((v = json_object_get(j, "delay_ms"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 600000)
            return "delay_ms: 0 to 600000";
        next.delay_ms = (unsigned)json_integer_value(v);
    }
    if ((v = json_object_get(j, "slow_ms"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 600000)
            return "slow_ms: 0 to 600000";
        next.slow_ms = (unsigned)json_integer_value(v);
    }
    if ((v = json_object_get(j, "garbage"))) {
        if (!json_is_boolean(v))
            return "garbage: true or false";
        next.garbage = json_is_true(v);
    }
    if ((v = json_object_get(j, "drop_stream_every"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return "drop_stream_every: a count, 0 for never";
        next.drop_stream_every = (unsigned)json_integer_value(v);
    }
    if ((v = json_object_get(j, "down"))) {
        const char *d = json_string_value(v);
        if (!d || (strcmp(d, "none") && strcmp(d, "503") && strcmp(d, "refuse")))
            return "down: \"none\", \"503\" or \"refuse\"";
        down = !strcmp(d, "503") ? SIM_DOWN_503 : !strcmp(d, "refuse") ? SIM_DOWN_REFUSE : SIM_UP;
    }
    next.down = s->lies.down; /* set_down() makes the transition */
    s->lies = next;
    set_down(s, down);
    return NULL;
}

static void admin_request(struct sim_conn *c, const struct req *q)
{
    struct sim *s = c->s;
    bool post = !strcmp(q->method, "POST");
    if (!strcmp(q->path, "/admin/v1/state") && !post) {
        reply_json(c, q, 200, state_json(s), NULL);
        return;
    }
    if (!post) {
        reply_problem(c, q, strncmp(q->path, "/admin/v1/", 10) ? 404 : 405, "not here", NULL);
        return;
    }
    json_error_t je;
    json_t *j = q->body_len ? json_loadb(q->body, q->body_len, 0, &je) : json_object();
    if (!json_is_object(j)) {
        json_decref(j);
        reply_problem(c, q, 400, "the body must be a JSON object", NULL);
        return;
    }
    const char *bad = NULL;
    if (!strcmp(q->path, "/admin/v1/advance")) {
        json_t *sec = json_object_get(j, "seconds"), *to = json_object_get(j, "to");
        double now = sim_now(s), t = -1;
        if (json_is_number(sec) && json_number_value(sec) >= 0)
            t = now + json_number_value(sec);
        else if (json_is_number(to) && json_number_value(to) >= now)
            t = json_number_value(to);
        else
            bad = "{\"seconds\": S >= 0} or {\"to\": T >= now}: the clock only goes forward";
        if (t >= 0) { /* restart the clock from t, now */
            s->base_t = t;
            s->base_ms = uv_now(s->loop);
        }
    } else if (!strcmp(q->path, "/admin/v1/lie")) {
        bad = apply_lies(s, j);
    } else if (!strcmp(q->path, "/admin/v1/drop-streams")) {
        close_public(s, true);
    } else {
        json_decref(j);
        reply_problem(c, q, 404, "no such admin endpoint", NULL);
        return;
    }
    json_decref(j);
    if (bad) {
        reply_problem(c, q, 400, bad, NULL);
        return;
    }
    sim_release(s);
    reply_json(c, q, 200, state_json(s), NULL);
}

/* ---- requests -------------------------------------------------------------------------- */

static void handle(struct sim_conn *c, const struct req *q)
{
    struct sim *s = c->s;
    s->requests++;
    if (!strcmp(q->path, "/healthz")) {
        reply(c, q, 200, "text/plain", NULL, "ok\n", 3);
        return;
    }
    if (c->admin) {
        admin_request(c, q);
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
                !strcmp(q->path, "/v1/events");
    if (list && s->lies.garbage) {
        const char *g = garbage(s);
        reply(c, q, 200, "application/json", NULL, g, strlen(g));
    } else if (!strcmp(q->path, "/v1/fixtures")) {
        get_list(c, q, FEED_FIXTURE, "fixtures");
    } else if (!strcmp(q->path, "/v1/results")) {
        get_list(c, q, FEED_RESULT, "results");
    } else if (!strcmp(q->path, "/v1/events")) {
        get_events(c, q);
    } else if (!strcmp(q->path, "/v1/stream")) {
        get_stream(c, q);
    } else {
        reply_problem(c, q, 404, "no such endpoint", NULL);
    }
}

static void header_copy(const char *v, size_t vl, char *out, size_t cap)
{
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        vl--;
    snprintf(out, cap, "%.*s", (int)(vl < cap ? vl : cap - 1), v);
}

/* Parses one request from the front of c->in: >0 bytes consumed, 0 need more, -1 bad. */
static long parse_request(struct sim_conn *c, struct req *q)
{
    char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
    if (!end)
        return c->inlen > 64 * 1024 ? -1 : 0;
    size_t head = (size_t)(end - c->in) + 4;
    memset(q, 0, sizeof *q);
    char *line = c->in, *eol = memmem(line, head, "\r\n", 2);
    char target[1024], version[16];
    *eol = 0;
    if (sscanf(line, "%7s %1023s %15s", q->method, target, version) != 3 ||
        strncmp(version, "HTTP/1.", 7))
        return -1;
    q->keep_alive = !strcmp(version, "HTTP/1.1");
    char *qm = strchr(target, '?');
    if (qm) {
        *qm = 0;
        snprintf(q->query, sizeof q->query, "%.511s", qm + 1);
    }
    if (strlen(target) >= sizeof q->path || strlen(q->query) >= sizeof q->query - 1)
        return -1;
    memcpy(q->path, target, strlen(target) + 1);
    size_t clen = 0;
    for (char *h = eol + 2; h < end; ) {
        char *he = memmem(h, (size_t)(end + 2 - h), "\r\n", 2);
        char *colon = memchr(h, ':', (size_t)(he - h));
        if (colon) {
            size_t nl = (size_t)(colon - h), vl = (size_t)(he - colon - 1);
            char val[256];
            header_copy(colon + 1, vl, val, sizeof val);
            if (nl == 13 && !strncasecmp(h, "if-none-match", nl))
                snprintf(q->inm, sizeof q->inm, "%s", val);
            else if (nl == 13 && !strncasecmp(h, "last-event-id", nl))
                snprintf(q->last_id, sizeof q->last_id, "%.63s", val);
            else if (nl == 14 && !strncasecmp(h, "content-length", nl))
                clen = strtoul(val, NULL, 10);
            else if (nl == 10 && !strncasecmp(h, "connection", nl))
                q->keep_alive = strcasecmp(val, "close") != 0 &&
                                (q->keep_alive || !strcasecmp(val, "keep-alive"));
        }
        h = he + 2;
    }
    if (clen > IN_MAX / 2)
        return -1;
    if (c->inlen < head + clen)
        return 0;
    q->body = c->in + head;
    q->body_len = clen;
    return (long)(head + clen);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct sim_conn *c = h->data;
    if (c->incap - c->inlen < 16384) {
        size_t cap = c->incap ? c->incap * 2 : 32768;
        c->in = realloc(c->in, cap);
        c->incap = cap;
    }
    *buf = uv_buf_init(c->in + c->inlen, (unsigned)(c->incap - c->inlen));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    struct sim_conn *c = st->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->inlen += (size_t)n;
    if (c->stream) { /* a stream's client has nothing more to say */
        c->inlen = 0;
        return;
    }
    while (!c->closing && !c->close_after_write && !c->stream && !c->delayed) {
        struct req q;
        long used = parse_request(c, &q);
        if (used == 0)
            break;
        if (used < 0 || c->inlen > IN_MAX) {
            static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                      "Connection: close\r\n\r\n";
            conn_write(c, bad, sizeof bad - 1);
            conn_end(c);
            break;
        }
        handle(c, &q);
        memmove(c->in, c->in + used, c->inlen - (size_t)used);
        c->inlen -= (size_t)used;
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    struct sim *s = server->data;
    if (status < 0)
        return;
    struct sim_conn *c = calloc(1, sizeof *c);
    c->s = s;
    c->admin = (uv_tcp_t *)server == s->admin;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->delay);
    c->tcp.data = c->delay.data = c;
    c->handles = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static int listen_on(struct sim *s, uv_tcp_t **out, int *port)
{
    struct sockaddr_in addr;
    int rc = uv_ip4_addr(s->host, *port, &addr);
    if (rc)
        return rc;
    uv_tcp_t *t = malloc(sizeof *t);
    uv_tcp_init(s->loop, t);
    t->data = s;
    if ((rc = uv_tcp_bind(t, (struct sockaddr *)&addr, 0)) ||
        (rc = uv_listen((uv_stream_t *)t, 128, on_connection))) {
        uv_close((uv_handle_t *)t, on_listener_closed);
        return rc;
    }
    struct sockaddr_in bound;
    int len = sizeof bound;
    uv_tcp_getsockname(t, (struct sockaddr *)&bound, &len);
    *port = ntohs(bound.sin_port);
    *out = t;
    return 0;
}

int sim_listen_public(struct sim *s)
{
    return listen_on(s, &s->listener, &s->port);
}

static void on_tick(uv_timer_t *t)
{
    sim_release(t->data);
}

int sim_start(struct sim *s)
{
    int rc;
    s->released_at = calloc(s->sc.n ? s->sc.n : 1, sizeof *s->released_at);
    if (!s->released_at)
        return UV_ENOMEM;
    if ((rc = listen_on(s, &s->admin, &s->admin_port)))
        return rc;
    /* Bind the public port even when starting "refused", so that it is known and reserved
     * for when the lie is lifted. */
    enum sim_down down = s->lies.down;
    s->lies.down = SIM_UP;
    if ((rc = sim_listen_public(s)))
        return rc;
    set_down(s, down);
    s->base_ms = uv_now(s->loop);
    uv_timer_init(s->loop, &s->tick);
    s->tick.data = s;
    uv_timer_start(&s->tick, on_tick, 10, 10);
    sim_release(s);
    return 0;
}

void sim_stop(struct sim *s)
{
    uv_timer_stop(&s->tick);
    uv_close((uv_handle_t *)&s->tick, NULL);
    while (s->conns)
        conn_close(s->conns);
    if (s->listener)
        uv_close((uv_handle_t *)s->listener, on_listener_closed);
    if (s->admin)
        uv_close((uv_handle_t *)s->admin, on_listener_closed);
    s->listener = s->admin = NULL;
}
