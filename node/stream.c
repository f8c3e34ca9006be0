/* GET /v1/stream/quotes: server-sent events of every publication, suspension and close.
 *
 * The events come from the replicated stream log (consensus/quotes.h, db "quote_events"), so
 * their ids are the same on every node and a client resumes anywhere with Last-Event-ID (or
 * ?after=N). A new client first catches up from the log, a page at a time as it reads, then
 * follows live: after every local commit that appended events (stream_kick), the new events
 * are formatted once and queued to each live client whose filters (?fixture=, ?sport=) match.
 * A "published" event carries the agreed prices, the round's index and event_seq (the last agreed
 * live event the prices know of). A comment line every 15 s keeps proxies and
 * dead-peer detection honest; a client that stops reading and holds more than 4 MiB queued is
 * disconnected (it can resume from its last id).
 *
 * h2o's streaming contract: one h2o_send in flight per request; the buffers must live until
 * the generator's proceed callback runs; after stop (the client went away) nothing more is
 * sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/quotes.h"
#include "feed/feed.h"
#include "node/log.h"
#include "node/node.h"

#define STREAM_PAGE 500
#define STREAM_MAX_QUEUED (4u << 20)
#define STREAM_KEEPALIVE_MS 15000

struct sclient {
    h2o_generator_t gen; /* first: h2o hands it back to the callbacks */
    h2o_req_t *req;      /* NULL once h2o stopped the request */
    struct node *node;
    char fixture[FEED_ID_MAX + 1];
    uint64_t last_id;
    bool catching_up;
    bool inflight;
    bool closing; /* send the final chunk at the next chance */
    char *sending;
    size_t sending_len;
    char *queued;
    size_t qlen, qcap;
    struct sclient *next;
};

struct stream {
    struct node *node;
    struct sclient *clients;
    uint64_t broadcast_last; /* the last event id queued to live clients */
    bool kicked;
    uv_timer_t keepalive;
    uint64_t sent_events, dropped_clients, opened;
};

static void client_unlink(struct stream *s, struct sclient *c)
{
    for (struct sclient **pc = &s->clients; *pc; pc = &(*pc)->next)
        if (*pc == c) {
            *pc = c->next;
            return;
        }
}

static void client_free(struct sclient *c)
{
    free(c->sending);
    free(c->queued);
    free(c);
}

static void queue(struct sclient *c, const char *data, size_t len)
{
    if (c->closing)
        return;
    if (c->qlen + len > STREAM_MAX_QUEUED) {
        c->closing = true; /* a reader this slow resumes later from its last id */
        c->node->stream->dropped_clients++;
        return;
    }
    if (c->qlen + len > c->qcap) {
        size_t cap = c->qcap ? c->qcap : 4096;
        while (cap < c->qlen + len)
            cap *= 2;
        char *q = realloc(c->queued, cap);
        if (!q) {
            c->closing = true;
            return;
        }
        c->queued = q;
        c->qcap = cap;
    }
    memcpy(c->queued + c->qlen, data, len);
    c->qlen += len;
}

/* The text of one event: "id: N\nevent: TYPE\ndata: JSON\n\n" (published events with their
 * prices); malloc'd. */
static char *format_event(struct node *n, MDB_txn *txn, json_t *e, size_t *len)
{
    const char *type = json_string_value(json_object_get(e, "type"));
    if (type && !strcmp(type, "published")) {
        json_t *q = quotes_get(n->fsm, txn,
                               (uint64_t)json_integer_value(json_object_get(e, "version")));
        if (q) {
            json_object_set(e, "prices", json_object_get(q, "prices"));
            json_object_set(e, "index", json_object_get(q, "index"));
            json_object_set(e, "phase", json_object_get(q, "phase"));
            /* The last agreed event the prices know of (0: none). */
            json_object_set(e, "event_seq",
                            json_object_get(json_object_get(q, "inputs"), "seq"));
            json_object_set_new(e, "signatures",
                                json_integer((json_int_t)json_array_size(
                                    json_object_get(q, "signatures"))));
        }
        json_decref(q);
    }
    char *data = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
    if (!data)
        return NULL;
    size_t need = strlen(data) + 96;
    char *out = malloc(need);
    int l = snprintf(out, need, "id: %lld\nevent: %s\ndata: %s\n\n",
                     (long long)json_integer_value(json_object_get(e, "id")),
                     type ? type : "message", data);
    free(data);
    *len = (size_t)l;
    return out;
}

static bool matches(struct sclient *c, json_t *e)
{
    return !c->fixture[0] ||
           !strcmp(c->fixture, json_string_value(json_object_get(e, "fixture")) ?: "");
}

static void flush_client(struct sclient *c);

/* One page of the log for a client catching up. */
static void catch_up(struct sclient *c)
{
    struct node *n = c->node;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return;
    json_t *evs = quotes_events_after(n->fsm, txn, c->last_id, STREAM_PAGE);
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e)
    {
        c->last_id = (uint64_t)json_integer_value(json_object_get(e, "id"));
        if (!matches(c, e))
            continue;
        size_t l;
        char *t = format_event(n, txn, e, &l);
        if (t)
            queue(c, t, l);
        free(t);
    }
    if (json_array_size(evs) < STREAM_PAGE && c->last_id >= n->stream->broadcast_last)
        c->catching_up = false; /* from here on, live events reach it through broadcasts */
    json_decref(evs);
    fsm_read_end(txn);
}

static void on_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    (void)req;
    struct sclient *c = (struct sclient *)g;
    c->inflight = false;
    free(c->sending);
    c->sending = NULL;
    if (c->catching_up && c->qlen == 0)
        catch_up(c);
    flush_client(c);
}

static void on_stop(h2o_generator_t *g, h2o_req_t *req)
{
    (void)req;
    struct sclient *c = (struct sclient *)g;
    struct stream *s = c->node->stream;
    c->req = NULL;
    client_unlink(s, c);
    client_free(c);
}

static void flush_client(struct sclient *c)
{
    if (!c->req || c->inflight)
        return;
    if (c->closing) {
        struct stream *s = c->node->stream;
        h2o_req_t *req = c->req;
        client_unlink(s, c);
        c->req = NULL;
        c->gen.stop = NULL;
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
        /* h2o does not call proceed or stop after the final send. */
        client_free(c);
        return;
    }
    if (c->qlen == 0)
        return;
    c->sending = c->queued;
    c->sending_len = c->qlen;
    c->queued = NULL;
    c->qlen = c->qcap = 0;
    c->inflight = true;
    h2o_iovec_t buf = h2o_iovec_init(c->sending, c->sending_len);
    h2o_send(c->req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void broadcast(void *arg)
{
    struct node *n = arg;
    struct stream *s = n->stream;
    if (!s)
        return;
    s->kicked = false;
    if (n->stopping)
        return;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return;
    for (;;) {
        json_t *evs = quotes_events_after(n->fsm, txn, s->broadcast_last, STREAM_PAGE);
        size_t i, cnt = json_array_size(evs);
        json_t *e;
        json_array_foreach(evs, i, e)
        {
            uint64_t id = (uint64_t)json_integer_value(json_object_get(e, "id"));
            size_t l = 0;
            char *t = NULL;
            for (struct sclient *c = s->clients; c; c = c->next) {
                if (c->catching_up || id <= c->last_id || !matches(c, e))
                    continue;
                if (!t && !(t = format_event(n, txn, e, &l)))
                    break;
                queue(c, t, l);
                c->last_id = id;
                s->sent_events++;
            }
            free(t);
            s->broadcast_last = id;
        }
        json_decref(evs);
        if (cnt < STREAM_PAGE)
            break;
    }
    fsm_read_end(txn);
    for (struct sclient *c = s->clients, *next; c; c = next) {
        next = c->next;
        flush_client(c);
    }
}

void stream_kick(struct node *n)
{
    struct stream *s = n->stream;
    if (!s || s->kicked)
        return;
    s->kicked = true;
    fsm_defer(n->fsm, broadcast, n);
}

static void on_keepalive(uv_timer_t *t)
{
    struct node *n = t->data;
    struct stream *s = n->stream;
    for (struct sclient *c = s->clients, *next; c; c = next) {
        next = c->next;
        if (!c->inflight && c->qlen == 0)
            queue(c, ": keep-alive\n\n", 14);
        flush_client(c);
    }
}

void stream_open(struct http_req *r)
{
    struct node *n = r->node;
    struct stream *s = n->stream;
    char fixture[FEED_ID_MAX + 2] = "", sport[48] = "", idbuf[32] = "";
    if (!s) {
        http_problem(r, 404, "Not found", "this node has no quote stream");
        return;
    }
    if (http_query_get(r, "sport", sport, sizeof sport) && strcmp(sport, n->cfg.sport) != 0) {
        http_problem(r, 404, "Other sport", "this cluster quotes %s, not '%s'", n->cfg.sport,
                     sport);
        return;
    }
    if (http_query_get(r, "fixture", fixture, sizeof fixture) &&
        (!fixture[0] || strlen(fixture) > FEED_ID_MAX || strchr(fixture, '/'))) {
        http_problem(r, 422, "Invalid filter", "fixture must be a fixture id (1-64 bytes)");
        return;
    }
    uint64_t after = 0;
    bool have = http_header_get(r, "last-event-id", idbuf, sizeof idbuf) ||
                http_query_get(r, "after", idbuf, sizeof idbuf);
    if (have) {
        char *end;
        unsigned long long v = strtoull(idbuf, &end, 10);
        if (!idbuf[0] || *end || idbuf[0] == '-') {
            http_problem(r, 422, "Invalid Last-Event-ID",
                         "Last-Event-ID (or after) must be a non-negative integer, not '%s'",
                         idbuf);
            return;
        }
        after = v;
    } else {
        /* A new client without a position starts from now. */
        MDB_txn *txn;
        if (fsm_read_begin(n->fsm, &txn) == 0) {
            after = quotes_last_event(n->fsm, txn);
            fsm_read_end(txn);
        }
    }
    if (!r->req) {
        http_release(r);
        return;
    }
    h2o_req_t *req = r->req;
    struct sclient *c = calloc(1, sizeof *c);
    if (!c) {
        http_problem(r, 503, "Busy", "out of memory");
        return;
    }
    c->gen.proceed = on_proceed;
    c->gen.stop = on_stop;
    c->req = req;
    c->node = n;
    snprintf(c->fixture, sizeof c->fixture, "%s", fixture);
    c->last_id = after;
    c->catching_up = true;
    c->next = s->clients;
    s->clients = c;
    s->opened++;
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/event-stream"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-cache"));
    metrics_observe(&n->metrics, r->route, 200, 0);
    http_release(r); /* the handler's reference: the stream lives in c from here */
    h2o_start_response(req, &c->gen);
    queue(c, ": parlay quote stream\nretry: 1000\n\n", 35);
    catch_up(c);
    flush_client(c);
}

void stream_metrics(struct node *n, char **buf, size_t *len, size_t *cap)
{
    struct stream *s = n->stream;
    if (!s)
        return;
    unsigned k = 0;
    for (struct sclient *c = s->clients; c; c = c->next)
        k++;
    metrics_printf(buf, len, cap,
                   "# TYPE parlay_stream_clients gauge\nparlay_stream_clients %u\n"
                   "# TYPE parlay_stream_events_sent_total counter\n"
                   "parlay_stream_events_sent_total %llu\n"
                   "# TYPE parlay_stream_clients_dropped_total counter\n"
                   "parlay_stream_clients_dropped_total %llu\n",
                   k, (unsigned long long)s->sent_events,
                   (unsigned long long)s->dropped_clients);
}

int stream_start(struct node *n)
{
    if (!n->quoter)
        return 0;
    struct stream *s = calloc(1, sizeof *s);
    s->node = n;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) == 0) {
        s->broadcast_last = quotes_last_event(n->fsm, txn);
        fsm_read_end(txn);
    }
    n->stream = s;
    uv_timer_init(n->loop, &s->keepalive);
    s->keepalive.data = n;
    uv_timer_start(&s->keepalive, on_keepalive, STREAM_KEEPALIVE_MS, STREAM_KEEPALIVE_MS);
    return 0;
}

void stream_stop(struct node *n)
{
    struct stream *s = n->stream;
    if (!s)
        return;
    uv_timer_stop(&s->keepalive);
    uv_close((uv_handle_t *)&s->keepalive, NULL);
    for (struct sclient *c = s->clients; c; c = c->next)
        c->closing = true;
    for (struct sclient *c = s->clients, *next; c; c = next) {
        next = c->next;
        flush_client(c);
    }
}
