/* The Raft transport; see transport.h.
 *
 * The happy path of an outbound connection (raft asks to connect to node S at an address):
 *   - TCP connect, TCP_NODELAY, send HELLO: magic, our id C, S, a fresh nonce Nc, our address;
 *   - read CHALLENGE: S's nonce Ns and MAC("server", ...), which only a holder of the secret can
 *     compute for this Nc; check it (constant time);
 *   - send PROOF: MAC("client", ...); read VERDICT (one byte): S accepted us;
 *   - make a socketpair, hand one end to raft (its connect callback), relay the other end's
 *     bytes to the TCP socket untouched.
 * An inbound connection runs the other half: read HELLO (S must be us), send CHALLENGE, read
 * PROOF, ask the guard whether C is a member, send VERDICT, hand raft its end of a socketpair
 * (its accept callback, with C's id and address) and relay what the TCP socket brings,
 * message by message, through the frame reader (transport_check.h).
 *
 * MAC(label) = HMAC-SHA256(secret, label, cluster, C, S, Nc, Ns, C's address field): both
 * nonces make it fresh, the labels keep a server's answer from serving as a client's proof.
 *
 * TLS mode (transport_options.tls set): all of the above runs inside a TLS 1.3 session on the
 * TCP socket, driven through memory BIOs from the libuv callbacks (the loop never blocks): the
 * TCP bytes go into the session (tls_in), its plaintext into the same handshake and relay code
 * (plain_in), and what we send leaves through SSL_write (net_send, tls_flush). Once the TLS
 * handshake is done the peer's certificate must chain to the CA, be valid now (OpenSSL) and
 * name this cluster and a node (tls_peer_member): outbound the node dialled, inbound a current
 * member, which the HELLO must then claim to be. So a member needs both its certificate and
 * the secret. A TLS failure (no certificate, a foreign CA, expired, ...) is a refusal with
 * reason "tls: <OpenSSL's reason>".
 *
 * Possible failure modes: the peer is down or slow (connect fails, or the handshake deadline
 * passes: raft's connect callback gets RAFT_NOCONNECTION and raft retries later); the peer has
 * no or the wrong secret, is not a member, or sends a malformed message (the connection is
 * closed and the refusal logged and counted; raft sees a closed stream); raft closes its end
 * (the TCP socket is closed with it); the transport closes (every connection is closed; a
 * pending connect request gets RAFT_CANCELED). A relay whose destination is backed up stops
 * reading its source until the queue drains. */
#include "consensus/transport.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/tls.h"

#define MAGIC "PRLYRFT1"
#define NONCE 32
#define MAC_LEN 32
#define ADDR_FIELD 64
#define HELLO_LEN (8 + 8 + 8 + NONCE + ADDR_FIELD)
#define CHALLENGE_LEN (NONCE + MAC_LEN)
#define VERDICT_OK 'A'
#define RELAY_READ (64u << 10)
#define HIGH_WATER (8u << 20) /* queued bytes at which a relay stops reading its source */
#define LOW_WATER (1u << 20)

enum { C_CONNECTING, C_HELLO, C_CHALLENGE, C_PROOF, C_VERDICT, C_RELAY, C_CLOSING };

struct conn;

struct tport {
    struct raft_uv_transport *t;
    struct transport_options o;
    char cluster[64];
    unsigned char secret[TRANSPORT_SECRET_LEN];
    uint64_t id;
    char address[ADDR_FIELD];
    uv_tcp_t listener;
    uv_timer_t idle; /* closed last, so that closing is asynchronous even with nothing open */
    bool listening, closing;
    int open; /* transport handles not yet closed */
    raft_uv_accept_cb accept_cb;
    raft_uv_transport_close_cb close_cb;
    struct conn *conns;
    uint64_t refusals;
};

struct conn {
    struct tport *tp;
    struct conn *prev, *next;
    bool outbound, paused, pipe_open;
    int state;
    int handles; /* open: tcp, timer, pipe */
    uv_tcp_t tcp;
    uv_pipe_t pipe; /* our end of the socketpair while relaying */
    uv_timer_t timer;
    uv_connect_t connect;
    struct raft_uv_connect *req; /* outbound: raft's request until it is answered */
    uint64_t client_id, server_id;
    uint8_t nonce_c[NONCE], nonce_s[NONCE];
    uint8_t addr[ADDR_FIELD]; /* the connecting node's address field */
    uint8_t hs[HELLO_LEN];    /* the handshake message being read */
    size_t hs_have, hs_need;
    struct frame_reader fr;
    SSL *ssl;         /* TLS mode: the session over tcp (memory BIOs), else NULL */
    bool tls_done;    /* its handshake is complete and the peer's certificate checked */
    bool tls_bytes;   /* inbound: the peer has sent something */
    uint64_t cert_id; /* inbound: the member the peer's certificate names */
};

struct wreq {
    uv_write_t req;
    struct conn *c;
    uint8_t *buf;
};

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void proof(const struct conn *c, const char *label, uint8_t out[MAC_LEN])
{
    const struct tport *tp = c->tp;
    uint8_t m[32 + 1 + sizeof tp->cluster + 16 + 2 * NONCE + ADDR_FIELD];
    size_t n = 0, ll = strlen(label) + 1, cl = strlen(tp->cluster);
    memcpy(m, label, ll); /* labels are short literals */
    n += ll;
    m[n++] = (uint8_t)cl;
    memcpy(m + n, tp->cluster, cl);
    n += cl;
    put64(m + n, c->client_id);
    put64(m + n + 8, c->server_id);
    n += 16;
    memcpy(m + n, c->nonce_c, NONCE);
    memcpy(m + n + NONCE, c->nonce_s, NONCE);
    n += 2 * NONCE;
    memcpy(m + n, c->addr, ADDR_FIELD);
    n += ADDR_FIELD;
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), tp->secret, sizeof tp->secret, m, n, out, &len) || len != MAC_LEN)
        RAND_bytes(out, MAC_LEN); /* no MAC: a value nobody can match */
}

/* ---- connection life cycle ---- */

static void tp_maybe_closed(struct tport *tp)
{
    if (tp->closing && tp->open == 0 && !tp->conns && tp->close_cb) {
        raft_uv_transport_close_cb cb = tp->close_cb;
        tp->close_cb = NULL;
        cb(tp->t);
    }
}

static void conn_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->handles > 0)
        return;
    struct tport *tp = c->tp;
    if (c->prev)
        c->prev->next = c->next;
    else
        tp->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->req)
        c->req->cb(c->req, NULL, tp->closing ? RAFT_CANCELED : RAFT_NOCONNECTION);
    frame_reader_clear(&c->fr);
    SSL_free(c->ssl);
    free(c);
    tp_maybe_closed(tp);
}

/* Close the connection; @refusal (or NULL for an ordinary end) is logged and counted. */
static void conn_close(struct conn *c, const char *refusal)
{
    if (c->state == C_CLOSING)
        return;
    if (refusal) {
        c->tp->refusals++;
        char addr[ADDR_FIELD];
        snprintf(addr, sizeof addr, "%.*s", ADDR_FIELD - 1, (const char *)c->addr);
        LOG_WARN("event=raft_peer_refused direction=%s peer=%llu peer_address=%s reason=\"%s\" "
                 "refusals=%llu",
                 c->outbound ? "outbound" : "inbound",
                 (unsigned long long)(c->outbound ? c->server_id : c->client_id),
                 addr[0] ? addr : "-", refusal, (unsigned long long)c->tp->refusals);
    }
    c->state = C_CLOSING;
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
    if (c->pipe_open)
        uv_close((uv_handle_t *)&c->pipe, conn_handle_closed);
}

static void on_deadline(uv_timer_t *t)
{
    struct conn *c = t->data;
    conn_close(c, c->outbound ? NULL : "no handshake in time");
}

static struct conn *conn_new(struct tport *tp, bool outbound)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->tp = tp;
    c->outbound = outbound;
    uv_tcp_init(tp->o.loop, &c->tcp);
    uv_timer_init(tp->o.loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    c->next = tp->conns;
    if (tp->conns)
        tp->conns->prev = c;
    tp->conns = c;
    uv_timer_start(&c->timer, on_deadline, tp->o.handshake_timeout_ms, 0);
    return c;
}

/* ---- writing ---- */

static void on_written(uv_write_t *req, int status);

/* Write @buf (malloc'd; freed once written) to @dst; pause @src while @dst is backed up. */
static void conn_write(struct conn *c, uv_stream_t *dst, uv_stream_t *src, uint8_t *buf,
                       size_t len)
{
    struct wreq *w = malloc(sizeof *w);
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    if (!w || uv_write(&w->req, dst, &b, 1, on_written) != 0) {
        free(w);
        free(buf);
        conn_close(c, NULL);
        return;
    }
    w->c = c;
    w->buf = buf;
    if (src && !c->paused && uv_stream_get_write_queue_size(dst) > HIGH_WATER) {
        uv_read_stop(src);
        c->paused = true;
    }
}

static void on_relay_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void on_pipe_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void on_written(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct conn *c = w->c;
    uv_stream_t *dst = req->handle;
    free(w->buf);
    free(w);
    if (c->state == C_CLOSING)
        return;
    if (status != 0) {
        conn_close(c, NULL);
        return;
    }
    if (c->paused && uv_stream_get_write_queue_size(dst) < LOW_WATER) {
        c->paused = false;
        if (c->outbound)
            uv_read_start((uv_stream_t *)&c->pipe, on_relay_alloc, on_pipe_read);
        else
            uv_read_start((uv_stream_t *)&c->tcp, on_tcp_alloc, on_tcp_read);
    }
}

/* TLS mode: what the session has to send (records, alerts) to the TCP socket. */
static void tls_flush(struct conn *c, uv_stream_t *src)
{
    BIO *w = SSL_get_wbio(c->ssl);
    size_t pending;
    while (c->state != C_CLOSING && (pending = BIO_ctrl_pending(w)) > 0) {
        uint8_t *buf = malloc(pending);
        int k = buf ? BIO_read(w, buf, (int)pending) : -1;
        if (k <= 0) {
            free(buf);
            conn_close(c, NULL);
            return;
        }
        conn_write(c, (uv_stream_t *)&c->tcp, src, buf, (size_t)k);
    }
}

/* Plaintext @buf (malloc'd, taken) for the peer: as it is, or through the TLS session. */
static void net_send(struct conn *c, uv_stream_t *src, uint8_t *buf, size_t len)
{
    if (!c->ssl) {
        conn_write(c, (uv_stream_t *)&c->tcp, src, buf, len);
        return;
    }
    int k = len ? SSL_write(c->ssl, buf, (int)len) : 0;
    free(buf);
    if (k != (int)len) {
        ERR_clear_error();
        conn_close(c, NULL);
        return;
    }
    tls_flush(c, src);
}

static void send_copy(struct conn *c, const uint8_t *data, size_t len)
{
    uint8_t *buf = malloc(len);
    if (!buf) {
        conn_close(c, NULL);
        return;
    }
    memcpy(buf, data, len);
    net_send(c, NULL, buf, len);
}

/* ---- relaying ---- */

/* Handshake done: a socketpair, raft's end handed over, ours read. */
static void relay_start(struct conn *c)
{
    struct tport *tp = c->tp;
    int sv[2];
    uv_pipe_t *theirs = raft_malloc(sizeof *theirs);
    if (!theirs || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        raft_free(theirs);
        conn_close(c, NULL);
        return;
    }
    uv_pipe_init(tp->o.loop, &c->pipe, 0);
    c->pipe.data = c;
    c->pipe_open = true;
    c->handles++;
    uv_pipe_init(tp->o.loop, theirs, 0);
    if (uv_pipe_open(&c->pipe, sv[0]) != 0 || uv_pipe_open(theirs, sv[1]) != 0) {
        close(sv[0]);
        close(sv[1]);
        uv_close((uv_handle_t *)theirs, (uv_close_cb)raft_free);
        conn_close(c, NULL);
        return;
    }
    uv_timer_stop(&c->timer);
    c->state = C_RELAY;
    uv_read_start((uv_stream_t *)&c->pipe, on_relay_alloc, on_pipe_read);
    if (c->outbound) {
        struct raft_uv_connect *req = c->req;
        c->req = NULL;
        req->cb(req, (uv_stream_t *)theirs, 0);
    } else {
        char addr[ADDR_FIELD];
        memcpy(addr, c->addr, ADDR_FIELD);
        tp->accept_cb(tp->t, c->client_id, addr, (uv_stream_t *)theirs);
    }
}

static void on_relay_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = malloc(RELAY_READ);
    buf->len = buf->base ? RELAY_READ : 0;
}

/* Inbound: the network's bytes, passed on to raft one checked message at a time. */
static void relay_inbound(struct conn *c, const uint8_t *p, size_t len)
{
    while (len && c->state == C_RELAY) {
        uint8_t *msg;
        size_t msg_len;
        const char *why = NULL;
        if (frame_feed(&c->fr, &c->tp->o.limits, &p, &len, &msg, &msg_len, &why) != 0) {
            conn_close(c, why);
            return;
        }
        if (msg)
            conn_write(c, (uv_stream_t *)&c->pipe, (uv_stream_t *)&c->tcp, msg, msg_len);
    }
}

/* Our end of the socketpair: outbound, raft's messages for the network; inbound, only the
 * end of the stream when raft closes it. */
static void on_pipe_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    if (n > 0 && c->outbound && c->state == C_RELAY) {
        net_send(c, s, (uint8_t *)buf->base, (size_t)n);
        return;
    }
    free(buf->base);
    if (n < 0)
        conn_close(c, NULL);
}

/* ---- the handshake ---- */

static void hs_expect(struct conn *c, int state, size_t n)
{
    c->state = state;
    c->hs_have = 0;
    c->hs_need = n;
}

static void client_hello(struct conn *c)
{
    uint8_t m[HELLO_LEN] = {0};
    memcpy(m, MAGIC, 8);
    put64(m + 8, c->client_id);
    put64(m + 16, c->server_id);
    memcpy(m + 24, c->nonce_c, NONCE);
    memcpy(m + 24 + NONCE, c->addr, ADDR_FIELD);
    hs_expect(c, C_CHALLENGE, CHALLENGE_LEN);
    send_copy(c, m, sizeof m);
}

/* Server: HELLO read. */
static void server_on_hello(struct conn *c)
{
    struct tport *tp = c->tp;
    if (memcmp(c->hs, MAGIC, 8) != 0) {
        conn_close(c, "not a Parlay Raft handshake");
        return;
    }
    c->client_id = get64(c->hs + 8);
    c->server_id = get64(c->hs + 16);
    memcpy(c->nonce_c, c->hs + 24, NONCE);
    memcpy(c->addr, c->hs + 24 + NONCE, ADDR_FIELD);
    if (c->server_id != tp->id) {
        conn_close(c, "the hello names another node");
        return;
    }
    if (c->ssl && c->client_id != c->cert_id) {
        conn_close(c, "the hello claims another node than its certificate");
        return;
    }
    if (c->client_id == 0 || c->addr[0] == 0 || !memchr(c->addr, 0, ADDR_FIELD)) {
        conn_close(c, "malformed hello");
        return;
    }
    uint8_t m[CHALLENGE_LEN];
    if (RAND_bytes(c->nonce_s, NONCE) != 1) {
        conn_close(c, NULL);
        return;
    }
    memcpy(m, c->nonce_s, NONCE);
    proof(c, "parlay raft server", m + NONCE);
    hs_expect(c, C_PROOF, MAC_LEN);
    send_copy(c, m, sizeof m);
}

/* Server: PROOF read. */
static void server_on_proof(struct conn *c)
{
    struct tport *tp = c->tp;
    uint8_t want[MAC_LEN];
    proof(c, "parlay raft client", want);
    if (CRYPTO_memcmp(want, c->hs, MAC_LEN) != 0) {
        conn_close(c, "wrong proof of the cluster secret");
        return;
    }
    if (!tp->o.is_member(tp->o.arg, c->client_id)) {
        conn_close(c, "not a member of the configuration");
        return;
    }
    uint8_t ok = VERDICT_OK;
    send_copy(c, &ok, 1);
    if (c->state != C_CLOSING)
        relay_start(c);
}

/* Client: CHALLENGE read. */
static void client_on_challenge(struct conn *c)
{
    memcpy(c->nonce_s, c->hs, NONCE);
    uint8_t want[MAC_LEN];
    proof(c, "parlay raft server", want);
    if (CRYPTO_memcmp(want, c->hs + NONCE, MAC_LEN) != 0) {
        conn_close(c, "the peer has no proof of the cluster secret");
        return;
    }
    proof(c, "parlay raft client", want);
    hs_expect(c, C_VERDICT, 1);
    send_copy(c, want, sizeof want);
}

static void hs_step(struct conn *c)
{
    switch (c->state) {
    case C_HELLO: server_on_hello(c); break;
    case C_PROOF: server_on_proof(c); break;
    case C_CHALLENGE: client_on_challenge(c); break;
    case C_VERDICT:
        if (c->hs[0] == VERDICT_OK)
            relay_start(c);
        else
            conn_close(c, "the peer refused us");
        break;
    }
}

/* The TCP socket reads exactly what the handshake step needs, then whatever comes. */
static void on_tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    if (c->ssl || (c->state == C_RELAY && !c->outbound)) {
        on_relay_alloc(h, suggested, buf);
        return;
    }
    if (c->state == C_RELAY) { /* outbound: nothing is expected; a little room to notice */
        buf->base = (char *)c->hs;
        buf->len = sizeof c->hs;
        return;
    }
    buf->base = (char *)c->hs + c->hs_have;
    buf->len = c->hs_need - c->hs_have;
}

/* ---- TLS mode: the same protocol inside a TLS 1.3 session ---- */

/* Plaintext from the TLS session: the handshake messages byte by byte, then the relay. */
static void plain_in(struct conn *c, const uint8_t *p, size_t len)
{
    while (len && c->state != C_CLOSING) {
        if (c->state == C_RELAY) {
            if (c->outbound)
                conn_close(c, "unexpected bytes from the accepting node");
            else
                relay_inbound(c, p, len);
            return;
        }
        if (c->state == C_CONNECTING) {
            conn_close(c, "bytes before the hello");
            return;
        }
        size_t k = c->hs_need - c->hs_have;
        if (k > len)
            k = len;
        memcpy(c->hs + c->hs_have, p, k);
        c->hs_have += k;
        p += k;
        len -= k;
        if (c->hs_have == c->hs_need)
            hs_step(c);
    }
}

static void tls_refuse(struct conn *c)
{
    char why[160], reason[200];
    snprintf(reason, sizeof reason, "tls: %s", tls_failure(c->ssl, why, sizeof why));
    conn_close(c, reason);
}

/* The TLS handshake is done: the chain to the CA and the validity period were checked by
 * OpenSSL; the certificate must name a member of this cluster: the node we dialled, or (inbound)
 * a current member, which the hello must then claim to be. */
static void tls_established(struct conn *c)
{
    struct tport *tp = c->tp;
    X509 *peer = SSL_get0_peer_certificate(c->ssl);
    char cluster[sizeof tp->cluster];
    uint64_t id = 0;
    c->tls_done = true;
    if (!peer || SSL_get_verify_result(c->ssl) != X509_V_OK) {
        conn_close(c, "tls: no verified certificate");
        return;
    }
    if (tls_peer_member(peer, cluster, sizeof cluster, &id) != 0) {
        conn_close(c, "tls: the certificate names no member");
        return;
    }
    if (strcmp(cluster, tp->cluster) != 0) {
        conn_close(c, "tls: the certificate names another cluster");
        return;
    }
    if (c->outbound) {
        if (id != c->server_id) {
            conn_close(c, "tls: the certificate names another node");
            return;
        }
        client_hello(c);
        return;
    }
    c->cert_id = id;
    if (!tp->o.is_member(tp->o.arg, id))
        conn_close(c, "not a member of the configuration");
}

static void tls_in(struct conn *c, const uint8_t *p, size_t n)
{
    if (BIO_write(SSL_get_rbio(c->ssl), p, (int)n) != (int)n) {
        conn_close(c, NULL);
        return;
    }
    if (!c->tls_done) {
        int r = SSL_do_handshake(c->ssl);
        tls_flush(c, NULL);
        if (c->state == C_CLOSING)
            return;
        if (r != 1) {
            if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ)
                tls_refuse(c);
            return;
        }
        tls_established(c);
    }
    uint8_t buf[16384];
    while (c->state != C_CLOSING) {
        int k = SSL_read(c->ssl, buf, sizeof buf);
        if (k > 0) {
            plain_in(c, buf, (size_t)k);
            continue;
        }
        int e = SSL_get_error(c->ssl, k);
        if (e == SSL_ERROR_WANT_READ)
            tls_flush(c, NULL);
        else if (e == SSL_ERROR_ZERO_RETURN)
            conn_close(c, NULL);
        else
            tls_refuse(c); /* e.g. the accepting node refused our certificate */
        return;
    }
}

static int conn_tls(struct conn *c)
{
    struct tport *tp = c->tp;
    if (!tp->o.tls)
        return 0;
    c->ssl = SSL_new(tls_files_ctx(tp->o.tls));
    BIO *r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());
    if (!c->ssl || !r || !w) {
        BIO_free(r);
        BIO_free(w);
        return -1;
    }
    BIO_set_mem_eof_return(r, -1);
    BIO_set_mem_eof_return(w, -1);
    SSL_set_bio(c->ssl, r, w);
    if (c->outbound)
        SSL_set_connect_state(c->ssl);
    else
        SSL_set_accept_state(c->ssl);
    return 0;
}

static void on_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    bool owned = c->ssl || (c->state == C_RELAY && !c->outbound);
    if (c->state == C_CLOSING) {
        if (owned)
            free(buf->base);
        return;
    }
    if (c->ssl) {
        if (n > 0) {
            c->tls_bytes = true;
            tls_in(c, (const uint8_t *)buf->base, (size_t)n);
        }
        free(buf->base);
        if (n < 0 && c->state != C_CLOSING)
            conn_close(c, !c->outbound && c->state != C_RELAY && c->tls_bytes
                              ? "hung up during the handshake"
                              : NULL);
        return;
    }
    if (n < 0) {
        if (owned)
            free(buf->base);
        /* a stranger that sent something else and hung up is a refusal too */
        conn_close(c, !c->outbound && c->state != C_RELAY && c->hs_have
                          ? "hung up during the handshake"
                          : NULL);
        return;
    }
    if (owned) {
        relay_inbound(c, (const uint8_t *)buf->base, (size_t)n);
        free(buf->base);
        return;
    }
    if (n == 0)
        return;
    if (c->state == C_RELAY) {
        conn_close(c, "unexpected bytes from the accepting node");
        return;
    }
    c->hs_have += (size_t)n;
    if (c->hs_have == c->hs_need)
        hs_step(c);
}

/* ---- the raft_uv_transport methods ---- */

static int parse_address(const char *address, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(address, ':');
    if (!colon || (size_t)(colon - address) >= sizeof host)
        return -1;
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535)
        return -1;
    return uv_ip4_addr(host, (int)port, sa);
}

static int tp_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    struct tport *tp = t->impl;
    if (strlen(address) >= ADDR_FIELD) {
        snprintf(t->errmsg, sizeof t->errmsg, "raft address too long");
        return RAFT_INVALID;
    }
    tp->id = id;
    snprintf(tp->address, sizeof tp->address, "%s", address);
    return 0;
}

/* A new connection, accepted or connected (@status: how that went): no Nagle delay, then TLS
 * when configured. False once it is closed. */
static bool conn_start(struct conn *c, int status)
{
    if (status == 0) {
        uv_tcp_nodelay(&c->tcp, 1);
        status = conn_tls(c);
    }
    if (status != 0)
        conn_close(c, NULL);
    return status == 0;
}

static void on_incoming(uv_stream_t *server, int status)
{
    struct tport *tp = server->data;
    if (status != 0 || tp->closing)
        return;
    struct conn *c = conn_new(tp, false);
    if (!c || !conn_start(c, uv_accept(server, (uv_stream_t *)&c->tcp)))
        return;
    hs_expect(c, C_HELLO, HELLO_LEN);
    uv_read_start((uv_stream_t *)&c->tcp, on_tcp_alloc, on_tcp_read);
}

static int tp_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    struct tport *tp = t->impl;
    struct sockaddr_in sa;
    int rv;
    if (parse_address(tp->address, &sa) != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "bad raft address %s", tp->address);
        return RAFT_INVALID;
    }
    tp->accept_cb = cb;
    uv_tcp_init(tp->o.loop, &tp->listener);
    tp->listener.data = tp;
    tp->listening = true;
    tp->open++;
    if ((rv = uv_tcp_bind(&tp->listener, (struct sockaddr *)&sa, 0)) != 0 ||
        (rv = uv_listen((uv_stream_t *)&tp->listener, 128, on_incoming)) != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "listen on %s: %s", tp->address,
                 uv_strerror(rv));
        return RAFT_IOERR;
    }
    return 0;
}

static void on_connected(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    if (c->state == C_CLOSING || !conn_start(c, status))
        return;
    if (c->ssl) { /* the hello waits for the TLS handshake (tls_established) */
        SSL_do_handshake(c->ssl);
        ERR_clear_error();
        tls_flush(c, NULL);
    } else {
        client_hello(c);
    }
    if (c->state != C_CLOSING)
        uv_read_start((uv_stream_t *)&c->tcp, on_tcp_alloc, on_tcp_read);
}

static int tp_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
                      const char *address, raft_uv_connect_cb cb)
{
    struct tport *tp = t->impl;
    struct sockaddr_in sa;
    if (tp->closing)
        return RAFT_CANCELED;
    struct conn *c = conn_new(tp, true);
    if (!c)
        return RAFT_NOMEM;
    req->cb = cb;
    c->req = req;
    c->client_id = tp->id;
    c->server_id = id;
    memcpy(c->addr, tp->address, strlen(tp->address));
    c->state = C_CONNECTING;
    c->connect.data = c;
    if (RAND_bytes(c->nonce_c, NONCE) != 1 || parse_address(address, &sa) != 0 ||
        uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&sa, on_connected) != 0)
        uv_timer_start(&c->timer, on_deadline, 0, 0); /* fail from the loop, not from here */
    return 0;
}

static void on_tp_handle_closed(uv_handle_t *h)
{
    struct tport *tp = h->data;
    tp->open--;
    tp_maybe_closed(tp);
}

static void tp_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    struct tport *tp = t->impl;
    tp->closing = true;
    tp->close_cb = cb;
    if (tp->listening)
        uv_close((uv_handle_t *)&tp->listener, on_tp_handle_closed);
    for (struct conn *c = tp->conns; c; c = c->next)
        conn_close(c, NULL);
    tp->open++;
    uv_close((uv_handle_t *)&tp->idle, on_tp_handle_closed);
}

int transport_init(struct raft_uv_transport *t, const struct transport_options *o)
{
    struct tport *tp = calloc(1, sizeof *tp);
    if (!tp)
        return RAFT_NOMEM;
    tp->t = t;
    tp->o = *o;
    if (!tp->o.handshake_timeout_ms)
        tp->o.handshake_timeout_ms = 5000;
    snprintf(tp->cluster, sizeof tp->cluster, "%s", o->cluster ? o->cluster : "");
    memcpy(tp->secret, o->secret, sizeof tp->secret);
    uv_timer_init(o->loop, &tp->idle);
    tp->idle.data = tp;
    t->version = 1;
    t->impl = tp;
    t->init = tp_init;
    t->listen = tp_listen;
    t->connect = tp_connect;
    t->close = tp_close;
    return 0;
}

void transport_free(struct raft_uv_transport *t)
{
    struct tport *tp = t->impl;
    if (tp)
        OPENSSL_cleanse(tp->secret, sizeof tp->secret);
    free(tp);
    t->impl = NULL;
}

uint64_t transport_refusals(const struct raft_uv_transport *t)
{
    const struct tport *tp = t->impl;
    return tp ? tp->refusals : 0;
}
