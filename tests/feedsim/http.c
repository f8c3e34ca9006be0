/* The simulator's HTTP/1.1 server: plain libuv, one connection struct per client.
 * This file: connections, request parsing, routing, listening and the clock's tick.
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
 *                                    (and "speed": X, optional: let it run at X from there)
 *   POST /admin/v1/lie               {"clear", "score", "drop_event", "flip_event",
 *                                     "delay_ms", "slow_ms", "garbage", "down",
 *                                     "drop_stream_every"}
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
#include "tests/feedsim/http.h"

#define IN_MAX (1u << 20)

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

void conn_close(struct sim_conn *c)
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

void conn_write(struct sim_conn *c, const char *p, size_t n)
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

void conn_end(struct sim_conn *c)
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
    case 401: return "Unauthorized";
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
void reply(struct sim_conn *c, const struct req *q, int status, const char *ctype,
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

void reply_json(struct sim_conn *c, const struct req *q, int status, json_t *j,
                       const char *extra)
{
    char *body = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    reply(c, q, status, "application/json", extra, body, strlen(body));
    free(body);
}

void reply_problem(struct sim_conn *c, const struct req *q, int status, const char *detail,
                          const char *extra)
{
    reply_json(c, q, status,
               json_pack("{s:s, s:i, s:s}", "title", reason(status), "status", status, "detail",
                         detail),
               extra);
}

static void on_listener_closed(uv_handle_t *h)
{
    free(h);
}

void sim_close_listener(uv_tcp_t *t)
{
    uv_close((uv_handle_t *)t, on_listener_closed);
}

/* ---- requests -------------------------------------------------------------------------- */

static void handle(struct sim_conn *c, const struct req *q)
{
    c->s->requests++;
    if (!strcmp(q->path, "/healthz"))
        reply(c, q, 200, "text/plain", NULL, "ok\n", 3);
    else if (c->admin)
        sim_admin_request(c, q);
    else
        sim_public_request(c, q);
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
            if (nl == 9 && !strncasecmp(h, "x-api-key", nl))
                snprintf(q->api_key, sizeof q->api_key, "%s", val);
            else if (nl == 13 && !strncasecmp(h, "if-none-match", nl))
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
        sim_close_listener(t);
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
    sim_set_down(s, down);
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
        sim_close_listener(s->listener);
    if (s->admin)
        sim_close_listener(s->admin);
    s->listener = s->admin = NULL;
}

