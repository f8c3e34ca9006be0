#include "node/forward.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/curl_uv.h"
#include "common/log.h"
#include "node/node.h"

struct forwarder {
    struct node *node;
    struct cu_multi cu; /* libcurl's multi interface on the node's loop (shared with feed/) */
};

struct fwd {
    struct cu_xfer x; /* first: the transfer's done callback finds the fwd from it */
    struct forwarder *f;
    struct http_req *r;
    struct curl_slist *headers;
    char *body;
    size_t body_len;
    struct cu_body resp; /* the leader's answer, unbounded (the leader is a member) */
    char content_type[128];
    char retry_after[32];
    char idem_replayed[8];
    bool is_read;
    bool maybe_sent; /* curl was about to write the request on a connection */
    forward_done_cb done; /* forward_post: the caller answers */
    forward_send_cb sent; /* forward_send: no client request behind it */
    void *arg;
};

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    struct fwd *w = arg;
    size_t n = size * nmemb;
    cu_header_value(p, n, "content-type", w->content_type, sizeof w->content_type);
    cu_header_value(p, n, "retry-after", w->retry_after, sizeof w->retry_after);
    cu_header_value(p, n, "idempotent-replayed", w->idem_replayed, sizeof w->idem_replayed);
    return n;
}

static void fwd_free(struct fwd *w)
{
    curl_slist_free_all(w->headers);
    curl_easy_cleanup(w->x.easy);
    free(w->body);
    cu_body_free(&w->resp);
    free(w);
}

/* The leader's status, or 0 when curl proves that no byte of the request left this node (it
 * never got as far as sending it: w->maybe_sent is set by on_prereq, which curl calls on a new
 * or reused connection right before it writes the request), or -1: sent or maybe sent, and no
 * answer. A reused keep-alive connection that died before the answer makes curl re-send on a
 * fresh connection; when that connect fails, curl says CURLE_COULDNT_CONNECT although the
 * first copy may have reached the leader and been applied: that is -1, never 0. */
static long fwd_status(struct fwd *w, CURLcode rc)
{
    long status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(w->x.easy, CURLINFO_RESPONSE_CODE, &status);
    else if (!w->maybe_sent)
        status = 0;
    if (rc != CURLE_OK && !w->sent)
        w->f->node->metrics.forward_errors++;
    if (rc != CURLE_OK) {
        char *url = NULL;
        long conns = -1;
        curl_easy_getinfo(w->x.easy, CURLINFO_EFFECTIVE_URL, &url);
        curl_easy_getinfo(w->x.easy, CURLINFO_NUM_CONNECTS, &conns);
        LOG_WARN("event=forward_failed url=%s err=\"%s\" sent=%d new_connections=%ld",
                 url ? url : "?", curl_easy_strerror(rc), w->maybe_sent, conns);
    }
    return status;
}

static void fwd_finish(struct fwd *w, CURLcode rc)
{
    struct http_req *r = w->r;
    long status = fwd_status(w, rc);
    if (w->sent) {
        w->sent(w->arg, status, w->resp.p ? w->resp.p : "", w->resp.len);
    } else if (w->done) {
        w->done(w->arg, status, w->resp.p ? w->resp.p : "", w->resp.len, w->retry_after,
                w->idem_replayed[0] != 0);
    } else if (status > 0) {
        if (w->retry_after[0])
            http_header(r, "retry-after", w->retry_after);
        if (w->idem_replayed[0])
            http_header(r, "idempotent-replayed", w->idem_replayed);
        http_reply(r, (int)status, w->content_type[0] ? w->content_type : "application/json",
                   w->resp.p ? w->resp.p : "", w->resp.len);
    } else {
        http_header(r, "retry-after", "1");
        if (status == 0 || w->is_read)
            http_problem(r, 503, "Leader unreachable",
                         "the leader could not be reached (%s); retry shortly",
                         curl_easy_strerror(rc));
        else
            http_reply_outcome(r, REPLICA_UNKNOWN, NULL);
    }
    fwd_free(w);
}

static int on_prereq(void *arg, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port)
{
    (void)conn_primary_ip, (void)conn_local_ip, (void)conn_primary_port, (void)conn_local_port;
    ((struct fwd *)arg)->maybe_sent = true;
    return CURL_PREREQFUNC_OK;
}

static void add_header(struct fwd *w, const char *name, const char *value)
{
    char line[4200];
    snprintf(line, sizeof line, "%s: %s", name, value);
    w->headers = curl_slist_append(w->headers, line);
}

static void fwd_done(struct cu_xfer *x, CURLcode rc)
{
    fwd_finish((struct fwd *)x, rc);
}

struct forwarder *forward_new(struct node *n)
{
    struct forwarder *f = calloc(1, sizeof *f);
    if (!f || cu_init(&f->cu, n->loop) != 0) {
        free(f);
        return NULL;
    }
    f->node = n;
    curl_multi_setopt(f->cu.multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
    return f;
}

static void forwarder_closed(struct cu_multi *m)
{
    free((char *)m - offsetof(struct forwarder, cu));
}

void forward_close(struct forwarder *f)
{
    cu_close(&f->cu, forwarder_closed);
}

static struct fwd *fwd_new(struct forwarder *f, struct http_req *r)
{
    struct fwd *w = calloc(1, sizeof *w);
    w->f = f;
    w->r = r;
    w->x.easy = curl_easy_init();
    w->x.done = fwd_done;
    return w;
}

/* Send @w's request to @url: the options every forwarded request shares. */
static void fwd_start(struct fwd *w, const char *url)
{
    struct forwarder *f = w->f;
    char v[32];
    snprintf(v, sizeof v, "%llu", (unsigned long long)f->node->cfg.node_id);
    add_header(w, "parlay-forwarded", v);
    w->headers = curl_slist_append(w->headers, "Expect:");
    curl_easy_setopt(w->x.easy, CURLOPT_URL, url);
    node_curl_tls(f->node, w->x.easy); /* with member TLS: https, the CA, our certificate */
    if (w->body) {
        curl_easy_setopt(w->x.easy, CURLOPT_POSTFIELDS, w->body);
        curl_easy_setopt(w->x.easy, CURLOPT_POSTFIELDSIZE, (long)w->body_len);
    }
    curl_easy_setopt(w->x.easy, CURLOPT_HTTPHEADER, w->headers);
    curl_easy_setopt(w->x.easy, CURLOPT_WRITEFUNCTION, cu_body_write);
    curl_easy_setopt(w->x.easy, CURLOPT_WRITEDATA, &w->resp);
    curl_easy_setopt(w->x.easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(w->x.easy, CURLOPT_HEADERDATA, w);
    curl_easy_setopt(w->x.easy, CURLOPT_TIMEOUT_MS, (long)f->node->cfg.forward_timeout_ms);
    /* with member TLS the connect phase includes the handshake, which a busy node answers
     * later than a TCP connect */
    curl_easy_setopt(w->x.easy, CURLOPT_CONNECTTIMEOUT_MS, f->node->tls ? 3000L : 1000L);
    curl_easy_setopt(w->x.easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(w->x.easy, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(w->x.easy, CURLOPT_PREREQDATA, w);
    cu_add(&f->cu, &w->x);
}

void forward_request(struct forwarder *f, struct http_req *r, const char *leader)
{
    h2o_req_t *req = r->req;
    if (!req) {
        http_release(r);
        return;
    }
    struct fwd *w = fwd_new(f, r);
    char url[1024], method[16], v[4096]; /* bearer access tokens are ~600 bytes */
    snprintf(url, sizeof url, "%s://%s%.*s", node_scheme(f->node), leader, (int)req->path.len, req->path.base);
    snprintf(method, sizeof method, "%.*s", (int)req->method.len, req->method.base);
    w->is_read = !strcmp(method, "GET");
    /* parlay-cluster/-timestamp/-signature: a sport cluster's signed call (a linearizable
     * read of its holds); the leader checks the signature itself. */
    static const char *const pass[] = {"authorization",   "content-type",     "idempotency-key",
                                       "accept",          "parlay-cluster",   "parlay-timestamp",
                                       "parlay-signature", NULL};
    for (const char *const *h = pass; *h; h++)
        if (http_header_get(r, *h, v, sizeof v))
            add_header(w, *h, v);
    curl_easy_setopt(w->x.easy, CURLOPT_CUSTOMREQUEST, method);
    if (req->entity.base) {
        w->body = malloc(req->entity.len + 1);
        memcpy(w->body, req->entity.base, req->entity.len);
        w->body_len = req->entity.len;
    }
    fwd_start(w, url);
}

void forward_post(struct forwarder *f, const char *leader, const char *path,
                  const char *const *headers, const char *body, forward_done_cb done, void *arg)
{
    struct fwd *w = fwd_new(f, NULL);
    w->done = done;
    w->arg = arg;
    char url[1024];
    snprintf(url, sizeof url, "%s://%s%s", node_scheme(f->node), leader, path);
    for (const char *const *h = headers; *h; h++)
        w->headers = curl_slist_append(w->headers, *h);
    w->body = strdup(body);
    w->body_len = strlen(body);
    fwd_start(w, url);
}

void forward_send(struct forwarder *f, const char *address, const char *path,
                  const char *idem_key, const char *body, forward_send_cb cb, void *arg)
{
    struct fwd *w = fwd_new(f, NULL);
    w->sent = cb;
    w->arg = arg;
    char url[1024], v[320];
    snprintf(url, sizeof url, "%s://%s%s", node_scheme(f->node), address, path);
    snprintf(v, sizeof v, "Bearer %s", f->node->cfg.admin_token);
    add_header(w, "authorization", v);
    add_header(w, "content-type", "application/json");
    if (idem_key)
        add_header(w, "idempotency-key", idem_key);
    w->body = strdup(body);
    w->body_len = strlen(body);
    fwd_start(w, url);
}
