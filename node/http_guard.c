/* Request framing guards (h2o 2.2.5, HTTP/1).
 *
 * Body size. h2o reads the whole body before it calls a handler, so a limit checked in the
 * handler comes after the memory is spent (30 connections each sending 8 MB took a node from
 * 45 to 575 MB). h2o's own knob, globalconf.max_request_entity_size, acts earlier: a
 * Content-Length above it is answered 413 as soon as the headers are parsed, before any byte
 * of the body is read, and a chunked body is refused as soon as the decoded bytes cross it.
 * It is set to max_body_bytes. Those answers are h2o's (text/plain, the connection closed);
 * a filter turns every text/plain error answer into problem+json, so that a client sees the
 * same kind of answer whoever refused it.
 *
 * Smuggling. h2o 2.2.5 takes Transfer-Encoding over Content-Length when both are sent, and
 * the first of two Content-Length headers; a proxy in front may pick the other, and the bytes
 * after what h2o took as the body run as a second request. Such requests are refused (400)
 * and the connection is marked non-persistent, so h2o closes it after the answer and never
 * parses what follows. h2o keeps neither header in req->headers, so the check reads the raw
 * request head, which is still at the start of the connection's input buffer while the
 * handler runs (h2o consumes it after the response).
 *
 * The connection's socket: h2o 2.2.5 keeps it right after the public h2o_conn_t in its HTTP/1
 * connection (struct st_h2o_http1_conn_t { h2o_conn_t super; h2o_socket_t *sock; ... h2o_req_t
 * req; }), and sets sock->data to the connection; both are checked before it is used. */
#include "node/http_guard.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"

struct problem_filter {
    h2o_filter_t super;
    size_t max_body;
};

struct problem_ostream {
    h2o_ostream_t super;
    size_t max_body;
    int status;
    bool sent;
    char body[640];
};

static json_t *problem_json(int status, const char *title, const char *code, const char *detail)
{
    return json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank", "title", title,
                     "status", status, "detail", detail, "code", code);
}

void http_guard_problem(struct http_req *r, int status, const char *title, const char *code,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    http_problemv(r, status, title, code, fmt, ap);
    va_end(ap);
}

/* The problem text for an error h2o answered itself; @text is h2o's plain-text body. */
static size_t problem_text(struct problem_ostream *s, const char *text, size_t len)
{
    const char *title = s->status == 413 ? "Body too large" : "Bad request";
    const char *code = s->status == 413 ? "body_too_large" : "bad_request_framing";
    char detail[256];
    if (s->status == 413)
        snprintf(detail, sizeof detail,
                 "the request body is larger than the limit of %zu bytes (max_body_bytes)",
                 s->max_body);
    else
        snprintf(detail, sizeof detail, "the request could not be read: %.*s",
                 (int)(len > 128 ? 128 : len), text);
    json_t *o = problem_json(s->status, title, code, detail);
    char *t = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    int n = snprintf(s->body, sizeof s->body, "%s\n", t ? t : "{}");
    free(t);
    return n < (int)sizeof s->body ? (size_t)n : sizeof s->body - 1;
}

static void problem_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n,
                         h2o_send_state_t state)
{
    struct problem_ostream *s = (struct problem_ostream *)self;
    if (s->sent) {
        h2o_ostream_send_next(self, req, NULL, 0, state);
        return;
    }
    s->sent = true;
    size_t len = problem_text(s, n ? bufs[0].base : "", n ? bufs[0].len : 0);
    /* The headers are written when the first bytes reach the connection, i.e. after this. */
    req->res.content_length = len;
    ssize_t i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (i >= 0)
        req->res.headers.entries[i].value = h2o_iovec_init(H2O_STRLIT("application/problem+json"));
    h2o_iovec_t out = h2o_iovec_init(s->body, len);
    h2o_ostream_send_next(self, req, &out, 1, state);
}

static void problem_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    ssize_t i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (req->res.status >= 400 && i >= 0 &&
        !strncasecmp(req->res.headers.entries[i].value.base, "text/plain", 10)) {
        struct problem_ostream *s =
            (struct problem_ostream *)h2o_add_ostream(req, sizeof *s, slot);
        s->super.do_send = problem_send;
        s->max_body = ((struct problem_filter *)self)->max_body;
        s->status = req->res.status;
        s->sent = false;
        slot = &s->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

void http_guard_setup(h2o_globalconf_t *g, h2o_hostconf_t *host, h2o_pathconf_t *path,
                      size_t max_body)
{
    g->max_request_entity_size = max_body;
    /* h2o answers framing errors before a path is chosen: those go through the fallback. */
    h2o_pathconf_t *confs[] = {&host->fallback_path, path};
    for (size_t k = 0; k < 2; k++) {
        struct problem_filter *f =
            (struct problem_filter *)h2o_create_filter(confs[k], sizeof *f);
        f->super.on_setup_ostream = problem_setup;
        f->max_body = max_body;
    }
}

h2o_socket_t *http_guard_socket(h2o_req_t *req)
{
    if (!req || !req->conn || req->version >= 0x200)
        return NULL;
    char *conn = (char *)req->conn, *r = (char *)req;
    /* The request lives inside the HTTP/1 connection object, after the socket pointer. */
    if (r < conn + sizeof(h2o_conn_t) + sizeof(h2o_socket_t *) || r - conn > 4096)
        return NULL;
    h2o_socket_t *sock = *(h2o_socket_t **)(conn + sizeof(h2o_conn_t));
    return sock && sock->data == req->conn ? sock : NULL;
}

/* Counts the Content-Length and Transfer-Encoding lines of the raw request head at @p
 * (@len bytes available); whether the Content-Length values disagree. */
static void scan_head(const char *p, size_t len, int *n_cl, int *n_te, bool *cl_differ)
{
    const char *end = p + len, *first_cl = NULL;
    size_t first_cl_len = 0;
    const char *line = memchr(p, '\n', len); /* skip the request line */
    while (line && ++line < end && *line != '\r' && *line != '\n') {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            break;
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon) {
            size_t nl = (size_t)(colon - line);
            const char *v = colon + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (nl == 14 && !strncasecmp(line, "content-length", 14)) {
                if (!first_cl) {
                    first_cl = v;
                    first_cl_len = (size_t)(ve - v);
                } else if ((size_t)(ve - v) != first_cl_len || memcmp(v, first_cl, first_cl_len)) {
                    *cl_differ = true;
                }
                (*n_cl)++;
            } else if (nl == 17 && !strncasecmp(line, "transfer-encoding", 17)) {
                (*n_te)++;
            }
        }
        line = eol;
    }
}

bool http_guard_refuse(struct http_req *r)
{
    h2o_req_t *req = r->req;
    if (!req || !req->entity.base)
        return false; /* no body: nothing can hide behind it */
    h2o_socket_t *sock = http_guard_socket(req);
    if (!sock || !sock->input || sock->input->size == 0)
        return false;
    int n_cl = 0, n_te = 0;
    bool cl_differ = false;
    const char *head = sock->input->bytes;
    size_t avail = sock->input->size;
    if (req->entity.base > head && req->entity.base <= head + avail)
        avail = (size_t)(req->entity.base - head); /* only the head, not the body */
    scan_head(head, avail, &n_cl, &n_te, &cl_differ);
    if (!(n_cl && n_te) && !cl_differ)
        return false;
    req->http1_is_persistent = 0; /* h2o closes after the answer: the tail is never parsed */
    LOG_WARN("event=ambiguous_framing content_length=%d transfer_encoding=%d", n_cl, n_te);
    http_guard_problem(r, 400, "Ambiguous request framing", "ambiguous_framing",
                       n_te ? "the request has both Content-Length and Transfer-Encoding; send "
                              "one of them (the connection is closed)"
                            : "the request has Content-Length headers that disagree (the "
                              "connection is closed)");
    return true;
}
