/* HTTPS on the node's HTTP port, and who is calling: see node.h (http_tls_start,
 * http_peer_member, node_curl_tls).
 *
 * With member TLS configured (tls_* keys) the node serves TLS 1.3 with its member certificate;
 * a client certificate is requested and, when presented, must chain to the deployment's CA
 * (else the handshake fails). Public clients (the edge, tools) need none. When a handshake
 * completes, the connection remembers the member its certificate names (SSL info callback):
 * h2o 2.2 puts its socket in the data of the SSL's BIO, and on_accept (http.c) keeps one
 * struct http_conn per connection with that socket, so the request finds it through
 * conn->callbacks->get_socket. Anything that does not match (another h2o, no certificate, a
 * certificate naming no member) leaves the connection without a member: /internal/v1/...
 * refuses it (fail closed). Outbound, every call to another node (forwarding, agreement
 * votes, member keys, holds, key sets) uses https:// with the CA, this node's certificate
 * and key, and libcurl's peer and host checks (on by default; never turned off here). */
#include <curl/curl.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/tls.h"
#include "node/node.h"

static void on_tls_info(const SSL *ssl, int where, int ret)
{
    (void)ret;
    if (!(where & SSL_CB_HANDSHAKE_DONE))
        return;
    struct node *n = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    X509 *peer = SSL_get0_peer_certificate(ssl);
    char cluster[64];
    uint64_t id = 0;
    if (!n || !peer || SSL_get_verify_result(ssl) != X509_V_OK ||
        tls_peer_member(peer, cluster, sizeof cluster, &id) != 0)
        return;
    void *sock = BIO_get_data(SSL_get_rbio(ssl));
    for (struct http_conn *c = n->conns; c; c = c->next)
        if (c->sock == sock && sock) {
            c->member = id;
            return;
        }
}

static void on_build(SSL_CTX *ctx, void *arg)
{
    SSL_CTX_set_app_data(ctx, arg);
    SSL_CTX_set_info_callback(ctx, on_tls_info);
}

int http_tls_start(struct node *n, char *err, size_t errlen)
{
    if (!n->tls)
        return 0;
    char e[512];
    if (tls_files_open(&n->tls_http, n->cfg.tls_ca_file, n->cfg.tls_cert_file,
                       n->cfg.tls_key_file, false, e, sizeof e) != 0) {
        snprintf(err, errlen, "keys 'tls_*' (HTTPS): %s", e);
        return -1;
    }
    tls_files_on_build(n->tls_http, on_build, n);
    n->accept_ctx.ssl_ctx = tls_files_ctx(n->tls_http);
    return 0;
}

uint64_t http_peer_member(struct http_req *r)
{
    struct node *n = r->node;
    if (!n->tls_http || !r->req || !r->req->conn->callbacks->get_socket)
        return 0;
    h2o_socket_t *sock = r->req->conn->callbacks->get_socket(r->req->conn);
    for (struct http_conn *c = n->conns; sock && c; c = c->next)
        if (c->sock == sock)
            return c->member;
    return 0;
}

void node_curl_tls(const struct node *n, void *curl_easy)
{
    if (!n->tls)
        return;
    CURL *e = curl_easy;
    curl_easy_setopt(e, CURLOPT_CAINFO, tls_files_ca(n->tls));
    curl_easy_setopt(e, CURLOPT_CAPATH, NULL); /* the deployment's CA only, not the system's */
    curl_easy_setopt(e, CURLOPT_SSLCERT, tls_files_cert(n->tls));
    curl_easy_setopt(e, CURLOPT_SSLKEY, tls_files_key(n->tls));
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    /* h2o closes an idle connection after 10 s with a TLS close_notify, which libcurl's
     * liveness check takes for data: reuse only connections idle for less than 5 s. */
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, 5L);
}

const char *node_scheme(const struct node *n) { return n->tls ? "https" : "http"; }
