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
 *
 * A client that goes away. h2o stops reading an HTTP/1 connection while it answers, so a
 * closed stream used to be noticed only when a write failed, at the next keep-alive (600
 * streams opened and closed in 15 s left 600 sockets behind). Each stream therefore reads its
 * socket itself (http_guard_socket): end of file or an error ends the stream at once and the
 * connection is closed; a client that sends more than a little while streaming is dropped
 * too (nothing it sends is used). Streams are capped per node (stream_max_clients: 503) and
 * per peer address (stream_max_per_address: 429).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/bets.h"
#include "consensus/quotes.h"
#include "feed/feed.h"
#include "node/auth.h"
#include "node/http_guard.h"
#include "common/log.h"
#include "node/node.h"
#include "node/query.h"

#define STREAM_PAGE 500
#define STREAM_MAX_QUEUED (4u << 20)
#define STREAM_KEEPALIVE_MS 15000
#define STREAM_MAX_INPUT 16384 /* bytes a streaming client may send before it is dropped */

struct sclient {
    h2o_generator_t gen; /* first: h2o hands it back to the callbacks */
    h2o_req_t *req;      /* NULL once h2o stopped the request */
    h2o_socket_t *sock;  /* its connection's socket, read to notice a close; NULL if unknown */
    struct node *node;
    struct stream *s;    /* the stream it follows (quotes or bets) */
    char peer[INET6_ADDRSTRLEN]; /* the client's address, for the per-address cap */
    char fixture[FEED_ID_MAX + 1];
    char player[130];    /* bets: the player whose bets it follows */
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
    bool bets; /* the players' bet stream (bet_events) rather than the quote stream */
    struct sclient *clients;
    uint64_t broadcast_last; /* the last event id queued to live clients */
    bool kicked;
    uv_timer_t keepalive;
    uint64_t sent_events, dropped_clients, opened, refused, gone;
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
        c->s->dropped_clients++;
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
    const char *bet_id = json_string_value(json_object_get(e, "bet_id"));
    if (bet_id) {
        json_t *b = bets_get(n->fsm, txn, bet_id);
        if (b)
            json_object_set_new(e, "bet", b);
    } else if (type && !strcmp(type, "published")) {
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

static json_t *events_after(struct stream *s, MDB_txn *txn, uint64_t after, unsigned limit)
{
    return s->bets ? bets_events_after(s->node->fsm, txn, after, limit)
                   : quotes_events_after(s->node->fsm, txn, after, limit);
}

static void attach(struct http_req *r, struct stream *s, const char *fixture,
                   const char *player, uint64_t after, const char *hello);
static int stream_position(struct http_req *r, uint64_t *after);

/* Attach @r from the client's position (Last-Event-ID or ?after=), or from now: a new client
 * without a position starts after the stream's last event. */
static void attach_at_position(struct http_req *r, struct stream *s, const char *fixture,
                               const char *player, const char *hello)
{
    uint64_t after = 0;
    int have = stream_position(r, &after);
    if (have < 0)
        return;
    MDB_txn *txn;
    if (!have && fsm_read_begin(s->node->fsm, &txn) == 0) {
        after = s->bets ? bets_last_event(s->node->fsm, txn)
                        : quotes_last_event(s->node->fsm, txn);
        fsm_read_end(txn);
    }
    attach(r, s, fixture, player, after, hello);
}

static bool matches(struct sclient *c, json_t *e)
{
    if (c->s->bets)
        return !strcmp(c->player, json_string_value(json_object_get(e, "player_id")) ?: "");
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
    json_t *evs = events_after(c->s, txn, c->last_id, STREAM_PAGE);
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
    if (json_array_size(evs) < STREAM_PAGE && c->last_id >= c->s->broadcast_last)
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
    if (c->sock)
        h2o_socket_read_stop(c->sock);
    struct stream *s = c->s;
    c->req = NULL;
    client_unlink(s, c);
    client_free(c);
}

static void flush_client(struct sclient *c)
{
    if (!c->req || c->inflight)
        return;
    if (c->closing) {
        struct stream *s = c->s;
        h2o_req_t *req = c->req;
        if (c->sock)
            h2o_socket_read_stop(c->sock); /* h2o reads the connection again from here */
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
    struct stream *s = arg;
    struct node *n = s->node;
    s->kicked = false;
    if (n->stopping)
        return;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return;
    for (;;) {
        json_t *evs = events_after(s, txn, s->broadcast_last, STREAM_PAGE);
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

static void kick(struct stream *s)
{
    if (!s || s->kicked)
        return;
    s->kicked = true;
    fsm_defer(s->node->fsm, broadcast, s);
}

void stream_kick(struct node *n)
{
    kick(n->stream);
    kick(n->bet_stream);
}

static void on_keepalive(uv_timer_t *t)
{
    struct stream *s = t->data;
    for (struct sclient *c = s->clients, *next; c; c = next) {
        next = c->next;
        if (!c->inflight && c->qlen == 0)
            queue(c, ": keep-alive\n\n", 14);
        flush_client(c);
    }
}

/* The client's position: Last-Event-ID, or ?after=. 1 when given (in *after), 0 when not, -1
 * when refused (answered). An id beyond the largest event id there can be (2^63 - 1) is
 * refused rather than wrapped: 2^64 - 1 + 1 used to become 0 and replay the whole stream. */
static int stream_position(struct http_req *r, uint64_t *after)
{
    char id[32];
    int got;
    if (h2o_find_header_by_str(&r->req->headers, H2O_STRLIT("last-event-id"), -1) >= 0)
        got = http_header_get(r, "last-event-id", id, sizeof id) ? 1 : 2;
    else if ((got = query_param(r, "after", id, sizeof id)) <= 0)
        return got;
    bool digits = got == 1 && id[0];
    for (const char *p = id; got == 1 && *p; p++)
        digits = digits && *p >= '0' && *p <= '9';
    if (got == 1 && !digits) {
        http_problem(r, 422, "Invalid Last-Event-ID",
                     "Last-Event-ID (or after) must be a non-negative integer, not '%s'", id);
        return -1;
    }
    errno = 0;
    unsigned long long v = got == 1 ? strtoull(id, NULL, 10) : 0;
    if (got != 1 || errno == ERANGE || v > (unsigned long long)INT64_MAX) {
        http_guard_problem(r, 400, "Invalid Last-Event-ID", "last_event_id_out_of_range",
                           "Last-Event-ID (or after) must be an event id from 0 to %lld",
                           (long long)INT64_MAX);
        return -1;
    }
    *after = v;
    return 1;
}

static struct sclient *client_by_sock(struct stream *s, h2o_socket_t *sock)
{
    for (struct sclient *c = s->clients; c; c = c->next)
        if (c->sock == sock)
            return c;
    return NULL;
}

/* The stream's own reader of its socket: the client closed it (or sends what a stream client
 * has no reason to send): end the stream now and let h2o close the connection. */
static void on_sock_read(h2o_socket_t *sock, const char *err)
{
    h2o_conn_t *conn = sock->data;
    struct node *n = (struct node *)((char *)conn->ctx - offsetof(struct node, h2o_ctx));
    struct stream *s = n->stream;
    struct sclient *c = s ? client_by_sock(s, sock) : NULL;
    if (!c && (s = n->bet_stream) != NULL)
        c = client_by_sock(s, sock);
    if (!err && sock->input->size < STREAM_MAX_INPUT)
        return; /* kept in h2o's buffer, which h2o consumes after the answer */
    h2o_socket_read_stop(sock);
    if (!c || !c->req)
        return;
    s->gone++;
    c->req->http1_is_persistent = 0;
    c->closing = true;
    flush_client(c);
}

/* Refuses a client over the node's or its address's cap (answered: true). */
static bool stream_full(struct http_req *r, struct stream *s, const char *peer)
{
    const struct config *cfg = &r->node->cfg;
    unsigned all = 0, same = 0;
    for (struct sclient *c = s->clients; c; c = c->next) {
        all++;
        same += !strcmp(c->peer, peer);
    }
    if (all < cfg->stream_max_clients && same < cfg->stream_max_per_address)
        return false;
    s->refused++;
    http_header(r, "retry-after", "1");
    if (all >= cfg->stream_max_clients)
        http_guard_problem(r, 503, "Too many streams", "stream_capacity",
                           "this node serves at most %u streams of this kind (stream_max_clients); "
                           "retry shortly or use another node",
                           cfg->stream_max_clients);
    else
        http_guard_problem(r, 429, "Too many streams", "stream_per_address_limit",
                           "at most %u streams of this kind per client address "
                           "(stream_max_per_address); close one first",
                           cfg->stream_max_per_address);
    return true;
}

static void attach(struct http_req *r, struct stream *s, const char *fixture,
                   const char *player, uint64_t after, const char *banner);

void stream_open(struct http_req *r)
{
    struct node *n = r->node;
    struct stream *s = n->stream;
    char fixture[FEED_ID_MAX + 2] = "", sport[48] = "";
    if (!s) {
        http_problem(r, 404, "Not found", "this node has no quote stream");
        return;
    }
    struct query_want q[] = {{"sport", sport, sizeof sport, 0},
                             {"fixture", fixture, sizeof fixture, 0}};
    if (query_params(r, q, 2) < 0)
        return;
    if (q[0].got && strcmp(sport, n->cfg.sport) != 0) {
        http_problem(r, 404, "Other sport", "this cluster quotes %s, not '%s'", n->cfg.sport,
                     sport);
        return;
    }
    if (q[1].got && (!fixture[0] || strlen(fixture) > FEED_ID_MAX || strchr(fixture, '/'))) {
        http_problem(r, 422, "Invalid filter", "fixture must be a fixture id (1-64 bytes)");
        return;
    }
    attach_at_position(r, s, fixture, "", ": parlay quote stream\nretry: 1000\n\n");
}

/* Start streaming to @r from @s after event @after. */
static void attach(struct http_req *r, struct stream *s, const char *fixture,
                   const char *player, uint64_t after, const char *banner)
{
    struct node *n = r->node;
    char peer[INET6_ADDRSTRLEN];
    if (!r->req) {
        http_release(r);
        return;
    }
    http_peer_address(r, peer, sizeof peer);
    if (stream_full(r, s, peer))
        return;
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
    c->s = s;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    snprintf(c->fixture, sizeof c->fixture, "%s", fixture);
    snprintf(c->player, sizeof c->player, "%s", player);
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
    if ((c->sock = http_guard_socket(req)) != NULL)
        h2o_socket_read_start(c->sock, on_sock_read);
    queue(c, banner, strlen(banner));
    catch_up(c);
    flush_client(c);
}

void stream_open_bets(struct http_req *r)
{
    struct node *n = r->node;
    struct stream *s = n->bet_stream;
    if (!s) {
        http_problem(r, 404, "Not found", "this node has no bet stream");
        return;
    }
    json_t *claims = auth_player(r);
    if (!claims)
        return;
    char player[130];
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    snprintf(player, sizeof player, "%s", sub ? sub : "");
    json_decref(claims);
    if (!player[0] || strlen(player) > 128) {
        http_problem(r, 401, "Unauthorized", "the access token names no player");
        return;
    }
    attach_at_position(r, s, "", player, ": parlay bet stream\nretry: 1000\n\n");
}

void stream_metrics(struct node *n, char **buf, size_t *len, size_t *cap)
{
    struct stream *s = n->stream;
    if (!s)
        return;
    unsigned k = 0;
    for (struct sclient *c = s->clients; c; c = c->next)
        k++;
    const struct metric ms[] = {
        {"parlay_stream_clients", METRIC_GAUGE, k},
        {"parlay_stream_events_sent_total", METRIC_COUNTER, s->sent_events},
        {"parlay_stream_clients_dropped_total", METRIC_COUNTER, s->dropped_clients},
        {"parlay_stream_clients_refused_total", METRIC_COUNTER, s->refused},
        {"parlay_stream_clients_gone_total", METRIC_COUNTER, s->gone},
    };
    METRICS_PUT(buf, len, cap, ms);
}

static struct stream *stream_new(struct node *n, bool bets)
{
    struct stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->node = n;
    s->bets = bets;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) == 0) {
        s->broadcast_last = bets ? bets_last_event(n->fsm, txn) : quotes_last_event(n->fsm, txn);
        fsm_read_end(txn);
    }
    uv_timer_init(n->loop, &s->keepalive);
    s->keepalive.data = s;
    uv_timer_start(&s->keepalive, on_keepalive, STREAM_KEEPALIVE_MS, STREAM_KEEPALIVE_MS);
    return s;
}

int stream_start(struct node *n)
{
    if (n->quoter && !(n->stream = stream_new(n, false)))
        return -1;
    if (n->cfg.sport[0] && !(n->bet_stream = stream_new(n, true)))
        return -1;
    return 0;
}

static void stop_one(struct stream *s)
{
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

void stream_stop(struct node *n)
{
    stop_one(n->stream);
    stop_one(n->bet_stream);
}
