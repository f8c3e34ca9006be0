/* The HTTP server: h2o on the node's libuv loop.
 *
 * Every request gets a struct http_req with two references: one held by the handler until it
 * answers, one by a guard object in the h2o request's memory pool. If the client goes away
 * first, h2o clears the pool, the guard's destructor forgets the h2o request, and the eventual
 * answer is dropped instead of touching freed memory.
 *
 * Routing is by hand, Redis-style: each handler parses, validates, hands its prepared command
 * to the write path (node/write.c) or serves its read, and replies.
 * Errors are RFC 9457 problem+json with a precise detail. Bodies above max_body_bytes get 413.
 */
#include "node/node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <h2o/socket/uv-binding.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/forward.h"
#include "node/operators.h"
#include "node/http_guard.h"
#include "common/hex.h"
#include "common/log.h"
#include "node/node.h"
#include "node/write.h"

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void http_release(struct http_req *r)
{
    if (--r->refs == 0)
        free(r);
}

static void guard_dispose(void *p)
{
    struct http_req *r = *(struct http_req **)p;
    r->req = NULL;
    http_release(r);
}

void http_header(struct http_req *r, const char *name, const char *value)
{
    if (!r->req)
        return;
    h2o_req_t *req = r->req;
    size_t nl = strlen(name), vl = strlen(value);
    char *n = h2o_mem_alloc_pool(&req->pool, nl + 1);
    memcpy(n, name, nl + 1);
    h2o_iovec_t v = h2o_strdup(&req->pool, value, vl);
    h2o_add_header_by_str(&req->pool, &req->res.headers, n, nl, 1, NULL, v.base, v.len);
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 507: return "Insufficient Storage";
    default: return "Status";
    }
}

void http_reply(struct http_req *r, int status, const char *content_type, const char *body,
                size_t len)
{
    struct node *n = r->node;
    metrics_observe(&n->metrics, r->route, status, (double)(mono_ns() - r->start_ns) / 1e9);
    if (r->req) {
        h2o_req_t *req = r->req;
        req->res.status = status;
        req->res.reason = reason_of(status);
        /* A known length keeps the connection alive for every status (h2o's chunked encoder
         * closes HTTP/1.1 connections for non-200 answers of unknown length). */
        req->res.content_length = len;
        h2o_iovec_t ct = h2o_strdup(&req->pool, content_type, strlen(content_type));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ct.base,
                       ct.len);
        h2o_send_inline(req, body, len);
    }
    http_release(r);
}

void http_text_clean(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                               : (c & 0xf8) == 0xf0 ? 4 : 0;
        unsigned cp = n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
        size_t i = 1;
        for (; i < n && (p[i] & 0xc0) == 0x80; i++)
            cp = cp << 6 | (p[i] & 0x3f);
        bool ok = n == 1 || (n > 1 && i == n && !(n == 2 && cp < 0x80) &&
                             !(n == 3 && cp < 0x800) && !(n == 4 && cp < 0x10000) &&
                             !(cp >= 0xd800 && cp <= 0xdfff) && cp <= 0x10ffff);
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

void http_reply_json(struct http_req *r, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(body);
    if (!text) { /* not encodable (out of memory): never answer with nothing */
        status = 500;
        text = strdup("{\"detail\":\"the answer could not be encoded\",\"status\":500,"
                      "\"title\":\"Internal error\",\"type\":\"about:blank\"}");
        if (!text) {
            http_reply(r, 500, "application/problem+json", "", 0);
            return;
        }
    }
    size_t len = strlen(text);
    text[len] = 0;
    /* One trailing newline so that curl output ends cleanly. */
    char *withnl = malloc(len + 2);
    memcpy(withnl, text, len);
    withnl[len] = '\n';
    http_reply(r, status, status >= 400 ? "application/problem+json" : "application/json",
               withnl, len + 1);
    free(withnl);
    free(text);
}

void http_problemv(struct http_req *r, int status, const char *title, const char *code,
                   const char *fmt, va_list ap)
{
    char detail[512];
    vsnprintf(detail, sizeof detail, fmt, ap);
    http_text_clean(detail); /* it may quote the client's bytes */
    json_t *o = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title", title, "status",
                          status, "detail", detail);
    if (code)
        json_object_set_new(o, "code", json_string(code));
    if (r->req) {
        h2o_iovec_t path = r->req->path;
        json_object_set_new(o, "instance", json_stringn(path.base, path.len));
    }
    http_reply_json(r, status, o);
}

void http_problem(struct http_req *r, int status, const char *title, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    http_problemv(r, status, title, NULL, fmt, ap);
    va_end(ap);
}

bool http_header_get(struct http_req *r, const char *name, char *out, size_t n)
{
    if (!r->req)
        return false;
    ssize_t i = h2o_find_header_by_str(&r->req->headers, name, strlen(name), -1);
    if (i < 0)
        return false;
    h2o_iovec_t v = r->req->headers.entries[i].value;
    if (v.len >= n)
        return false;
    memcpy(out, v.base, v.len);
    out[v.len] = 0;
    return true;
}

bool http_query_get(struct http_req *r, const char *key, char *out, size_t n)
{
    if (!r->req || r->req->query_at == SIZE_MAX)
        return false;
    const char *q = r->req->path.base + r->req->query_at + 1;
    const char *end = r->req->path.base + r->req->path.len;
    size_t kl = strlen(key);
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        if (!amp)
            amp = end;
        const char *eq = memchr(q, '=', (size_t)(amp - q));
        const char *kend = eq ? eq : amp;
        if ((size_t)(kend - q) == kl && !memcmp(q, key, kl)) {
            size_t o = 0;
            for (const char *p = eq ? eq + 1 : amp; p < amp; p++) {
                int c = *p;
                if (c == '+')
                    c = ' ';
                else if (c == '%' && p + 2 < amp && hex_digit(p[1]) >= 0 && hex_digit(p[2]) >= 0) {
                    c = hex_digit(p[1]) * 16 + hex_digit(p[2]);
                    p += 2;
                }
                if (o + 1 >= n)
                    return false;
                out[o++] = (char)c;
            }
            out[o] = 0;
            return true;
        }
        q = amp + 1;
    }
    return false;
}

bool http_is_admin(struct http_req *r)
{
    char auth[300];
    const char *tok = r->node->cfg.admin_token;
    size_t tl = strlen(tok);
    if (!http_header_get(r, "authorization", auth, sizeof auth) ||
        strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *given = auth + 7;
    size_t gl = strlen(given);
    /* Constant time over the token's length; the length itself is not secret. */
    return gl == tl && CRYPTO_memcmp(given, tok, tl) == 0;
}

void http_reply_outcome(struct http_req *r, int outcome, const char *detail)
{
    switch (outcome) {
    case REPLICA_NOTLEADER:
        http_header(r, "retry-after", "1");
        http_problem(r, 503, "No leader", "this node is not the leader and cannot forward%s%s",
                     detail ? ": " : "", detail ? detail : "");
        return;
    case REPLICA_UNKNOWN:
        r->node->metrics.outcome_unknown++;
        http_header(r, "retry-after", "1");
        http_problem(r, 503, "Outcome unknown",
                     "leadership changed while the request was in flight; it may or may not "
                     "have been applied: retry with the same Idempotency-Key");
        return;
    case REPLICA_BUSY:
        http_header(r, "retry-after", "1");
        http_problem(r, 409, "Busy", "%s",
                     detail ? detail : "another change is in progress; retry shortly");
        return;
    default:
        http_header(r, "retry-after", "1");
        http_problem(r, 503, "Not applied", "%s",
                     detail ? detail : "the request could not be replicated");
    }
}

void http_forward_to_leader(struct http_req *r)
{
    char addr[64];
    uint64_t leader = replica_leader(r->node->replica, addr, sizeof addr);
    if (r->forwarded || leader == 0 || leader == r->node->cfg.node_id || !addr[0]) {
        http_header(r, "retry-after", "1");
        http_problem(r, 503, "No leader",
                     leader == 0 ? "the cluster has no leader at the moment (election in "
                                   "progress or no quorum); retry shortly"
                                 : "leadership is moving; retry shortly");
        return;
    }
    r->node->metrics.forwarded++;
    forward_request(r->node->fwd, r, addr);
}

void http_write(struct http_req *r, struct cmd *c, const char *key_namespace)
{
    char idem[256];
    if (!write_idem_key(r, key_namespace, idem))
        return;
    /* The fingerprint binds the key to this exact request. */
    uint8_t fp[32];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, r->req->method.base, r->req->method.len);
    EVP_DigestUpdate(md, "\n", 1);
    EVP_DigestUpdate(md, r->req->path_normalized.base, r->req->path_normalized.len);
    EVP_DigestUpdate(md, "\n", 1);
    EVP_DigestUpdate(md, c->payload, c->payload_len);
    EVP_DigestFinal_ex(md, fp, NULL);
    EVP_MD_CTX_free(md);
    write_submit(r, c->type, c->payload, c->payload_len, idem, fp, NULL, NULL);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct node *n = *(struct node **)(self + 1);
    struct http_req *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->req = req;
    r->node = n;
    r->refs = 2;
    r->start_ns = mono_ns();
    struct http_req **guard = h2o_mem_alloc_shared(&req->pool, sizeof *guard, guard_dispose);
    *guard = r;
    char tmp[8];
    r->forwarded = http_header_get(r, "parlay-forwarded", tmp, sizeof tmp);

    if (n->stopping) {
        /* A request on a connection accepted before the signal: the replica and its
         * configuration are being torn down (a vote read them after raft freed them). */
        http_header(r, "retry-after", "1");
        http_problem(r, 503, "Stopping", "this node is stopping; ask another node");
        return 0;
    }
    char method[16], path[512];
    snprintf(method, sizeof method, "%.*s", (int)req->method.len, req->method.base);
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    if (plen >= sizeof path) {
        http_problem(r, 404, "Not found", "no such resource");
        return 0;
    }
    memcpy(path, req->path.base, plen);
    path[plen] = 0;
    if (http_guard_refuse(r)) /* smuggling shapes: 400, connection closed */
        return 0;
    if (req->entity.base && req->entity.len > n->cfg.max_body_bytes) {
        http_problem(r, 413, "Body too large", "the request body is %zu bytes; the limit is %zu",
                     req->entity.len, n->cfg.max_body_bytes);
        return 0;
    }
    /* With member TLS, only members speak to /internal/ (their signatures are checked too). */
    if (n->tls_http && !strncmp(path, "/internal/", 10) && !http_peer_member(r)) {
        char detail[640];
        snprintf(detail, sizeof detail, "%s is for members: present a member certificate of "
                 "the deployment's CA", path);
        http_reply_json(r, 403, json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank",
                                          "title", "Forbidden", "status", 403, "detail",
                                          detail, "code", "member_certificate_required"));
        return 0;
    }
    if (routes_public(r, method, path) == 0 || routes_quotes(r, method, path) == 0 ||
        routes_agree(r, method, path) == 0 || routes_oracle(r, method, path) == 0 ||
        routes_fixtures(r, method, path) == 0 ||
        routes_accounts(r, method, path) == 0 || routes_wallet(r, method, path) == 0 ||
        routes_auth(r, method, path) == 0 || routes_bets(r, method, path) == 0 ||
        routes_operators(r, method, path) == 0 || routes_admin(r, method, path) == 0 || routes_internal(r, method, path) == 0)
        return 0;
    http_problem(r, 404, "Not found", "no resource at %s", path);
    return 0;
}

static void on_conn_closed(uv_handle_t *h)
{
    struct http_conn *hc = (struct http_conn *)h;
    if (hc->prev)
        hc->prev->next = hc->next;
    else
        hc->n->conns = hc->next;
    if (hc->next)
        hc->next->prev = hc->prev;
    free(hc);
}

static void on_accept(uv_stream_t *listener, int status)
{
    struct node *n = listener->data;
    if (status != 0)
        return;
    struct http_conn *hc = h2o_mem_alloc(sizeof *hc);
    memset(hc, 0, sizeof *hc);
    uv_tcp_t *conn = &hc->tcp;
    uv_tcp_init(listener->loop, conn);
    if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
        uv_close((uv_handle_t *)conn, (uv_close_cb)free);
        return;
    }
    uv_tcp_nodelay(conn, 1);
    hc->n = n;
    hc->next = n->conns;
    if (n->conns)
        n->conns->prev = hc;
    n->conns = hc;
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)conn, on_conn_closed);
    hc->sock = sock;
    h2o_accept(&n->accept_ctx, sock);
}

int http_start(struct node *n, char *err, size_t errlen)
{
    h2o_config_init(&n->h2o_config);
    h2o_hostconf_t *host =
        h2o_config_register_host(&n->h2o_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *h = h2o_create_handler(pc, sizeof *h + sizeof(struct node *));
    *(struct node **)(h + 1) = n;
    h->on_req = on_req;
    http_guard_setup(&n->h2o_config, host, pc, n->cfg.max_body_bytes); /* body limit, framing */
    h2o_context_init(&n->h2o_ctx, n->loop, &n->h2o_config);
    n->accept_ctx.ctx = &n->h2o_ctx;
    n->accept_ctx.hosts = n->h2o_config.hosts;
    if (http_tls_start(n, err, errlen) != 0)
        return -1;

    char host_s[32];
    const char *colon = strrchr(n->cfg.http_address, ':');
    snprintf(host_s, sizeof host_s, "%.*s", (int)(colon - n->cfg.http_address),
             n->cfg.http_address);
    struct sockaddr_in addr;
    uv_ip4_addr(host_s, atoi(colon + 1), &addr);
    uv_tcp_init(n->loop, &n->listener);
    n->listener.data = n;
    int rv = uv_tcp_bind(&n->listener, (const struct sockaddr *)&addr, 0);
    if (rv == 0)
        rv = uv_listen((uv_stream_t *)&n->listener, 1024, on_accept);
    if (rv != 0) {
        snprintf(err, errlen, "key 'http_address': cannot listen on %s: %s", n->cfg.http_address,
                 uv_strerror(rv));
        return -1;
    }
    return 0;
}

void http_stop(struct node *n)
{
    if (!uv_is_closing((uv_handle_t *)&n->listener))
        uv_close((uv_handle_t *)&n->listener, NULL);
}

void http_peer_address(struct http_req *r, char *out, size_t n)
{
    struct sockaddr_storage ss;
    snprintf(out, n, "?");
    if (!r->req->conn->callbacks->get_peername(r->req->conn, (struct sockaddr *)&ss))
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)n);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)n);
}
