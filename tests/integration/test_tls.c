/* Raft over mutual TLS (issue 16, "Close the classes"). Three parlayd processes (the sanitizer
 * build) with member certificates from a CA made for the test (common/certs.c, as parlayctl
 * certs does). The test plays every kind of stranger on a node's Raft port, over TLS: no
 * client certificate, a certificate from a foreign CA, an expired one, one naming a node that
 * is no member, one naming another cluster, a member's certificate whose hello claims another
 * id, and a client speaking the old handshake in clear. Each sends what would move the term
 * (RequestVote of a far higher term) or append (AppendEntries): refused, logged, the term does
 * not move, nothing is applied. A member (its certificate and the secret) sends the malformed
 * messages of test_raft_guard: dropped, the node stays up. Then every node's certificate is
 * rotated (the files replaced) while a client writes: every write succeeds, the nodes reload,
 * new connections get the new certificate, a restarted node rejoins with it. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/certs.h"
#include "consensus/codec.h"
#include "tests/integration/harness.h"

enum { MSG_APPEND = 1, MSG_VOTE = 3 };
enum { ENTRY_COMMAND = 1 };
#define REFUSED "event=raft_peer_refused"

struct wire {
    uint8_t b[4096];
    size_t n;
};

static void w64(struct wire *w, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        w->b[w->n++] = (uint8_t)v;
}

static void wbytes(struct wire *w, const void *p, size_t n)
{
    assert_true(w->n + n <= sizeof w->b);
    if (n)
        memcpy(w->b + w->n, p, n);
    w->n += n;
}

/* ---- certificates ---- */

static char dir[300];

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* Issue @name.pem / @name.key from the CA @ca ("ca" or "foreign") for member @id of @cluster,
 * valid from @nb to @na seconds from now. */
static void issue(const char *ca, const char *name, const char *cluster, uint64_t id, long nb,
                  long na)
{
    char ca_cert[600], ca_key[600], cert[600], key[600], err[512];
    snprintf(ca_cert, sizeof ca_cert, "%s/%s.pem", dir, ca);
    snprintf(ca_key, sizeof ca_key, "%s/%s.key", dir, ca);
    snprintf(cert, sizeof cert, "%s/%s.pem", dir, name);
    snprintf(key, sizeof key, "%s/%s.key", dir, name);
    struct certs_request r = {.ca_cert = ca_cert, .ca_key = ca_key, .cluster = cluster,
                              .node_id = id, .hosts = "127.0.0.1", .not_before_s = nb,
                              .not_after_s = na, .cert_out = cert, .key_out = key};
    if (certs_issue(&r, err, sizeof err) != 0)
        fail_msg("issue %s: %s", name, err);
}

static void make_ca(const char *name)
{
    char cert[600], key[600], err[512];
    snprintf(cert, sizeof cert, "%s/%s.pem", dir, name);
    snprintf(key, sizeof key, "%s/%s.key", dir, name);
    if (certs_ca_init(cert, key, name, 30, err, sizeof err) != 0)
        fail_msg("CA %s: %s", name, err);
}

/* A three-node cluster with member TLS; returns the leader. */
static int tls_cluster(struct h_cluster *c)
{
    h_cluster_init(c, 3);
    snprintf(dir, sizeof dir, "%s/certs", c->root);
    assert_int_equal(mkdir(dir, 0700), 0);
    make_ca("ca");
    for (int i = 0; i < c->n; i++) {
        char name[32], ca[400], cert[400], key[400];
        snprintf(name, sizeof name, "node-%d", c->nodes[i].id);
        issue("ca", name, "football", (uint64_t)c->nodes[i].id, -60, 86400);
        path_of(ca, sizeof ca, "ca.pem");
        snprintf(cert, sizeof cert, "%s/%s.pem", dir, name);
        snprintf(key, sizeof key, "%s/%s.key", dir, name);
        snprintf(c->node_extra[i], sizeof c->node_extra[i],
                 "{\"tls_ca_file\": \"%s\", \"tls_cert_file\": \"%s\", \"tls_key_file\": \"%s\"}",
                 ca, cert, key);
    }
    h_cluster_write_configs(c);
    path_of(h_tls_ca, sizeof h_tls_ca, "ca.pem"); /* the nodes serve HTTPS */
    h_start_cluster(c);
    int leader = h_wait_leader(c, H_WAIT_MS);
    assert_true(leader >= 0);
    return leader;
}

/* ---- a TLS client on a node's Raft port ---- */

struct tconn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    bool handshake_ok;
};

/* Connect to node @i's Raft port with certificate @name ("" for none); the server's certificate
 * is not checked (the test is the stranger). Reads time out after 10 s. */
static struct tconn tls_dial(struct h_cluster *c, int i, const char *name)
{
    struct tconn t = {.fd = socket(AF_INET, SOCK_STREAM, 0)};
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(c->nodes[i].raft_port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(t.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(connect(t.fd, (struct sockaddr *)&sa, sizeof sa), 0);
    t.ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(t.ctx);
    if (name[0]) {
        char cert[600], key[600];
        snprintf(cert, sizeof cert, "%s/%s.pem", dir, name);
        snprintf(key, sizeof key, "%s/%s.key", dir, name);
        assert_int_equal(SSL_CTX_use_certificate_file(t.ctx, cert, SSL_FILETYPE_PEM), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(t.ctx, key, SSL_FILETYPE_PEM), 1);
    }
    t.ssl = SSL_new(t.ctx);
    SSL_set_fd(t.ssl, t.fd);
    t.handshake_ok = SSL_connect(t.ssl) == 1;
    ERR_clear_error();
    return t;
}

static void tls_close(struct tconn *t)
{
    SSL_free(t->ssl);
    SSL_CTX_free(t->ctx);
    close(t->fd);
}

static void tls_send(struct tconn *t, const void *p, size_t n)
{
    if (t->handshake_ok && n)
        SSL_write(t->ssl, p, (int)n); /* the node may have hung up: what follows tells */
    ERR_clear_error();
}

static bool tls_recv_all(struct tconn *t, void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        int k = t->handshake_ok ? SSL_read(t->ssl, b, (int)n) : -1;
        ERR_clear_error();
        if (k <= 0)
            return false;
        b += k;
        n -= (size_t)k;
    }
    return true;
}

/* True once the node has closed the connection (TLS alert, EOF or reset); false if it keeps
 * it open for 10 s. */
static bool tls_closed_by_peer(struct tconn *t)
{
    if (!t->handshake_ok)
        return true;
    uint8_t b[256];
    for (;;) {
        errno = 0;
        int k = SSL_read(t->ssl, b, sizeof b);
        if (k > 0)
            continue;
        int e = SSL_get_error(t->ssl, k);
        ERR_clear_error();
        return !(e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK));
    }
}

static bool wait_log(struct h_cluster *c, int i, const char *needle, int count);

/* The SHA-256 of the certificate node @i presents on a new connection (the probe then hangs
 * up, which the node logs as a refusal: waited for, so that later counts are stable). */
static void presented_cert(struct h_cluster *c, int i, const char *name, uint8_t out[32])
{
    int before = h_log_count(c, i, REFUSED);
    struct tconn t = tls_dial(c, i, name);
    assert_true(t.handshake_ok);
    X509 *x = SSL_get1_peer_certificate(t.ssl);
    assert_non_null(x);
    unsigned len = 0;
    assert_int_equal(X509_digest(x, EVP_sha256(), out, &len), 1);
    X509_free(x);
    tls_close(&t);
    assert_true(wait_log(c, i, "reason=\"hung up during the handshake\"", before + 1));
}

static void file_cert(const char *name, uint8_t out[32])
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s.pem", dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    unsigned len = 0;
    assert_int_equal(X509_digest(x, EVP_sha256(), out, &len), 1);
    X509_free(x);
}

/* ---- Parlay's handshake inside TLS, as a peer that knows the secret ---- */

struct peer {
    uint8_t secret[32];
    uint64_t client_id, server_id;
    uint8_t nc[32], ns[32];
    uint8_t addr[64];
};

static void peer_mac(const struct peer *p, const char *label, uint8_t out[32])
{
    const char *cluster = "football";
    uint8_t m[512];
    size_t n = 0;
    memcpy(m, label, strlen(label) + 1);
    n += strlen(label) + 1;
    m[n++] = (uint8_t)strlen(cluster);
    memcpy(m + n, cluster, strlen(cluster));
    n += strlen(cluster);
    for (int k = 0; k < 8; k++)
        m[n++] = (uint8_t)(p->client_id >> (8 * k));
    for (int k = 0; k < 8; k++)
        m[n++] = (uint8_t)(p->server_id >> (8 * k));
    memcpy(m + n, p->nc, 32);
    memcpy(m + n + 32, p->ns, 32);
    memcpy(m + n + 64, p->addr, 64);
    n += 128;
    unsigned len = 0;
    assert_non_null(HMAC(EVP_sha256(), p->secret, 32, m, n, out, &len));
}

static void hello_of(struct h_cluster *c, struct peer *p, struct wire *w)
{
    char hex[80] = {0};
    FILE *f = fopen(c->secret_file, "r");
    assert_non_null(f);
    assert_non_null(fgets(hex, sizeof hex, f));
    fclose(f);
    hex[strcspn(hex, "\r\n")] = 0;
    assert_int_equal(h_unhex(hex, p->secret, sizeof p->secret), 32);
    RAND_bytes(p->nc, sizeof p->nc);
    snprintf((char *)p->addr, sizeof p->addr, "127.0.0.1:%d", 40000 + (int)p->client_id);
    wbytes(w, "PRLYRFT1", 8);
    w64(w, p->client_id);
    w64(w, p->server_id);
    wbytes(w, p->nc, 32);
    wbytes(w, p->addr, 64);
}

/* Over TLS with certificate @name, the Parlay handshake claiming @claim_id; *@accepted: the
 * node's verdict was yes. */
static struct tconn peer_handshake(struct h_cluster *c, int i, const char *name,
                                   uint64_t claim_id, bool *accepted)
{
    struct peer p = {.client_id = claim_id, .server_id = (uint64_t)c->nodes[i].id};
    struct wire w = {.n = 0};
    hello_of(c, &p, &w);
    struct tconn t = tls_dial(c, i, name);
    tls_send(&t, w.b, w.n);
    uint8_t challenge[64], want[32], verdict = 0;
    *accepted = false;
    if (!tls_recv_all(&t, challenge, sizeof challenge))
        return t;
    memcpy(p.ns, challenge, 32);
    peer_mac(&p, "parlay raft server", want);
    assert_memory_equal(want, challenge + 32, 32);
    peer_mac(&p, "parlay raft client", want);
    tls_send(&t, want, sizeof want);
    *accepted = tls_recv_all(&t, &verdict, 1) && verdict == 'A';
    return t;
}

/* ---- raft messages ---- */

static void append_entries(struct wire *w, uint64_t term, uint64_t prev, uint64_t prev_term,
                           uint64_t commit, uint64_t n_entries, const uint8_t *entry_headers,
                           size_t n_headers, const void *payload, size_t payload_len)
{
    w64(w, MSG_APPEND);
    w64(w, 48 + 16 * n_headers);
    w64(w, term);
    w64(w, prev);
    w64(w, prev_term);
    w64(w, commit);
    w64(w, n_entries);
    wbytes(w, entry_headers, 16 * n_headers);
    w64(w, 0);
    wbytes(w, payload, payload_len);
}

static void entry_header(uint8_t h[16], uint64_t term, uint8_t type, uint32_t len)
{
    memset(h, 0, 16);
    for (int k = 0; k < 8; k++)
        h[k] = (uint8_t)(term >> (8 * k));
    h[8] = type;
    for (int k = 0; k < 4; k++)
        h[12 + k] = (uint8_t)(len >> (8 * k));
}

static void request_vote(struct wire *w, uint64_t term, uint64_t candidate)
{
    w64(w, MSG_VOTE);
    w64(w, 40);
    w64(w, term);
    w64(w, candidate);
    w64(w, 1ull << 40);
    w64(w, term);
    w64(w, 1);
}

/* ---- cluster helpers ---- */

static uint64_t status_u64(struct h_cluster *c, int i, const char *key)
{
    json_t *st = h_status(c, i);
    assert_non_null(st);
    uint64_t v = (uint64_t)json_integer_value(json_object_get(st, key));
    json_decref(st);
    return v;
}

static bool fixture_anywhere(struct h_cluster *c, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/fixtures/%s", id);
    bool found = false;
    for (int i = 0; i < c->n; i++) {
        struct h_resp r = h_http(c, i, "GET", path, NULL, NULL, false);
        found |= r.status != 404;
        h_resp_free(&r);
    }
    return found;
}

static void cluster_commits(struct h_cluster *c, const char *id)
{
    char key[64];
    snprintf(key, sizeof key, "key-%s", id);
    assert_int_equal(
        h_write_until_answer(c, 0, "POST", "/admin/v1/fixtures", h_fixture_body(id), key, NULL),
        201);
    for (int i = 0; i < c->n; i++)
        assert_true(h_wait_fixture(c, i, id, "scheduled", 1));
}

/* The same with node @down stopped: the others commit and serve it. */
static void cluster_commits_without(struct h_cluster *c, int down, const char *id)
{
    char key[64];
    snprintf(key, sizeof key, "key-%s", id);
    assert_int_equal(h_write_until_answer(c, (down + 1) % c->n, "POST", "/admin/v1/fixtures",
                                          h_fixture_body(id), key, NULL),
                     201);
    for (int i = 0; i < c->n; i++)
        if (i != down)
            assert_true(h_wait_fixture(c, i, id, "scheduled", 1));
}

static bool wait_log(struct h_cluster *c, int i, const char *needle, int count)
{
    double deadline = h_now() + H_WAIT_MS / 1000.0;
    while (h_log_count(c, i, needle) < count) {
        if (h_now() > deadline)
            return false;
        h_sleep_ms(20);
    }
    return true;
}

static void node_healthy(struct h_cluster *c, int i)
{
    struct h_resp r = h_http(c, i, "GET", "/healthz", NULL, NULL, false);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
}

/* ---- scenarios ---- */

/* Three nodes with member certificates elect a leader and commit; a member speaking the
 * handshake in clear (no TLS) is refused: Raft really runs inside TLS. */
static void cluster_elects_and_commits_over_tls(void **state)
{
    (void)state;
    struct h_cluster c;
    int leader = tls_cluster(&c);
    cluster_commits(&c, "over-tls");
    int f = (leader + 1) % c.n;
    for (int i = 0; i < c.n; i++)
        assert_int_equal(h_log_count(&c, i, REFUSED), 0); /* members never refuse each other */

    /* The old handshake in clear, with the secret and a member's id: not TLS, refused. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(c.nodes[f].raft_port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct peer p = {.client_id = (uint64_t)c.nodes[leader].id,
                     .server_id = (uint64_t)c.nodes[f].id};
    struct wire w = {.n = 0};
    hello_of(&c, &p, &w);
    assert_int_equal(send(fd, w.b, w.n, MSG_NOSIGNAL), (ssize_t)w.n);
    uint8_t b[64];
    ssize_t k;
    while ((k = recv(fd, b, sizeof b, 0)) > 0)
        ; /* at most a TLS alert, never the challenge */
    assert_true(k == 0 || errno == ECONNRESET);
    close(fd);
    assert_true(wait_log(&c, f, "reason=\"tls: ", 1));
    cluster_commits(&c, "after-clear");
    h_cluster_destroy(&c);
}

/* One stranger: TLS with certificate @name, then @w (a hello and a raft message). */
static void stranger(struct h_cluster *c, int f, const char *name, const struct wire *w,
                     const char *reason)
{
    int before = h_log_count(c, f, REFUSED);
    struct tconn t = tls_dial(c, f, name);
    tls_send(&t, w->b, w->n);
    assert_true(tls_closed_by_peer(&t));
    tls_close(&t);
    char needle[200];
    snprintf(needle, sizeof needle, "reason=\"%s", reason);
    assert_true(wait_log(c, f, needle, 1));
    assert_true(wait_log(c, f, REFUSED, before + 1));
}

/* No certificate, a foreign CA's, an expired one, a non-member's, another cluster's, a
 * member's with a hello that claims another id: each sends a RequestVote of a far higher term
 * and an AppendEntries that would create a fixture. All refused; no term moves; no fixture. */
static void strangers_cannot_vote_or_append(void **state)
{
    (void)state;
    struct h_cluster c;
    int leader = tls_cluster(&c);
    cluster_commits(&c, "before");
    int f = (leader + 1) % c.n;
    uint64_t term = status_u64(&c, f, "term"), last = status_u64(&c, f, "last_index");
    uint64_t lterm = status_u64(&c, leader, "term");
    make_ca("foreign");
    issue("foreign", "foreign-1", "football", (uint64_t)c.nodes[leader].id, -60, 86400);
    issue("ca", "expired-1", "football", (uint64_t)c.nodes[leader].id, -2 * 86400, -86400);
    issue("ca", "member-42", "football", 42, -60, 86400);
    issue("ca", "tennis-1", "tennis", (uint64_t)c.nodes[leader].id, -60, 86400);
    char leader_cert[32];
    snprintf(leader_cert, sizeof leader_cert, "node-%d", c.nodes[leader].id);

    /* What each stranger sends once connected: a hello (as the leader, or 42), then a vote
     * and an append. The hello carries no valid proof: it must not matter. */
    const char *body = h_fixture_body("intruder");
    struct cmd cmd = {.type = CMD_FIXTURE_CREATE, .time_ms = (uint64_t)(h_now() * 1000),
                      .idem = "intruder", .idem_len = 8, .payload = body,
                      .payload_len = strlen(body)};
    size_t len = cmd_encoded_size(&cmd);
    uint8_t data[1024], eh[16];
    assert_true(len <= sizeof data);
    assert_int_equal(cmd_encode(&cmd, data, len), CMD_OK);
    entry_header(eh, term + 1000, ENTRY_COMMAND, (uint32_t)len);
    struct {
        const char *cert;
        uint64_t claim;
        const char *reason;
    } cases[] = {
        {"", (uint64_t)c.nodes[leader].id, "tls: peer did not return a certificate"},
        {"foreign-1", (uint64_t)c.nodes[leader].id, "tls: unable to get local issuer"},
        {"expired-1", (uint64_t)c.nodes[leader].id, "tls: certificate has expired"},
        {"member-42", 42, "not a member of the configuration"},
        {"tennis-1", (uint64_t)c.nodes[leader].id, "tls: the certificate names another cluster"},
        {leader_cert, (uint64_t)c.nodes[(leader + 2) % c.n].id,
         "the hello claims another node than its certificate"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int to[2] = {f, leader}; /* the leader's term must not move either */
        for (int j = 0; j < 2; j++) {
            struct peer p = {.client_id = cases[k].claim,
                             .server_id = (uint64_t)c.nodes[to[j]].id};
            struct wire w = {.n = 0};
            hello_of(&c, &p, &w);
            request_vote(&w, term + 1000, cases[k].claim);
            append_entries(&w, term + 1000, last, term, last + 1, 1, eh, 1, data, len);
            stranger(&c, to[j], cases[k].cert, &w, cases[k].reason);
        }
    }
    cluster_commits(&c, "after");
    assert_false(fixture_anywhere(&c, "intruder"));
    assert_int_equal(status_u64(&c, f, "term"), term);
    assert_int_equal(status_u64(&c, leader, "term"), lterm);
    h_cluster_destroy(&c);
}

/* A member (its certificate and the secret) sends the messages that crash raft 0.22.1: the
 * frame checks still run behind TLS; the node stays up and the cluster keeps committing. */
static void malformed_over_tls_are_dropped(void **state)
{
    (void)state;
    struct h_cluster c;
    int leader = tls_cluster(&c);
    cluster_commits(&c, "before");
    int f = (leader + 1) % c.n;
    uint64_t as = (uint64_t)c.nodes[leader].id;
    char name[32];
    snprintf(name, sizeof name, "node-%d", c.nodes[leader].id);
    uint64_t term = status_u64(&c, f, "term"), commit = status_u64(&c, f, "commit_index");
    uint8_t eh[16], data[16] = {0};
    struct {
        int kind;
        const char *reason;
    } cases[] = {{0, "unknown entry type"},
                 {1, "too many entries"},
                 {2, "previous entry conflicts with a committed entry"}};
    for (size_t k = 0; k < 3; k++) {
        commit = status_u64(&c, f, "commit_index");
        struct wire w = {.n = 0};
        if (cases[k].kind == 0) {
            entry_header(eh, term, 7, sizeof data);
            append_entries(&w, term, commit, term, commit, 1, eh, 1, data, sizeof data);
        } else if (cases[k].kind == 1) {
            append_entries(&w, term, commit, term, commit, 1ull << 32, NULL, 0, NULL, 0);
        } else {
            entry_header(eh, term, ENTRY_COMMAND, sizeof data);
            append_entries(&w, term, commit, term + 7, commit, 1, eh, 1, data, sizeof data);
        }
        bool accepted = false;
        struct tconn t = peer_handshake(&c, f, name, as, &accepted);
        assert_true(accepted);
        tls_send(&t, w.b, w.n);
        assert_true(tls_closed_by_peer(&t));
        tls_close(&t);
        char needle[160];
        snprintf(needle, sizeof needle, "reason=\"%s\"", cases[k].reason);
        assert_true(wait_log(&c, f, needle, 1));
        node_healthy(&c, f);
        char fx[32];
        snprintf(fx, sizeof fx, "after-%zu", k);
        cluster_commits(&c, fx);
    }
    assert_int_equal(status_u64(&c, f, "term"), term);
    h_cluster_destroy(&c);
}

/* Every node's certificate and key are replaced while a client writes: every write is
 * answered 201, each node logs the reload (one by SIGHUP, the others by the file check), a new
 * connection gets the new certificate, the old certificate's holder is still a member (it is
 * the same node id), and a node restarted after the rotation rejoins and catches up. */
static void certificates_rotate_without_downtime(void **state)
{
    (void)state;
    struct h_cluster c;
    int leader = tls_cluster(&c);
    cluster_commits(&c, "before");
    uint8_t old_fp[32], new_fp[32], seen[32];
    file_cert("node-1", old_fp);
    presented_cert(&c, 0, "node-2", seen);
    assert_memory_equal(seen, old_fp, 32);

    int writes = 0;
    for (int i = 0; i < c.n; i++) {
        char name[32];
        snprintf(name, sizeof name, "node-%d", c.nodes[i].id);
        issue("ca", name, "football", (uint64_t)c.nodes[i].id, -60, 2 * 86400);
        if (i == 0)
            h_node_signal(&c, 0, SIGHUP);
        /* writes go on while the node reloads */
        double deadline = h_now() + H_WAIT_MS / 1000.0;
        while (h_log_count(&c, i, "event=tls_reloaded") < 1) {
            assert_true(h_now() < deadline);
            char id[32], key[48];
            snprintf(id, sizeof id, "rot-%d", writes);
            snprintf(key, sizeof key, "key-rot-%d", writes);
            struct h_resp r =
                h_http(&c, leader, "POST", "/admin/v1/fixtures", h_fixture_body(id), key, true);
            assert_int_equal(r.status, 201);
            h_resp_free(&r);
            writes++;
            h_sleep_ms(50);
        }
    }
    assert_true(writes > 0);
    file_cert("node-1", new_fp);
    assert_memory_not_equal(new_fp, old_fp, 32);
    presented_cert(&c, 0, "node-2", seen);
    assert_memory_equal(seen, new_fp, 32);
    int refused[H_MAX_NODES]; /* so far: the test's own probes, which hang up unfinished */
    for (int i = 0; i < c.n; i++)
        refused[i] = h_log_count(&c, i, REFUSED);

    /* A follower restarted now connects (both ways) with the rotated certificates only. */
    int f = (leader + 1) % c.n;
    if (h_node_stop(&c, f) != 0)
        fail_msg("node %d did not stop cleanly: %s", c.nodes[f].id, c.stop_failure);
    cluster_commits_without(&c, f, "while-down");
    h_node_start(&c, f);
    assert_true(h_wait_fixture(&c, f, "while-down", "scheduled", 1));
    cluster_commits(&c, "after-rotation");
    for (int i = 0; i < c.n; i++)
        if (h_log_count(&c, i, REFUSED) != refused[i]) {
            char cmd[700];
            snprintf(cmd, sizeof cmd, "grep -h '%s' %s >&2", REFUSED, c.nodes[i].log);
            if (system(cmd) != 0)
                fprintf(stderr, "no log\n");
            fail_msg("node %d refused a member after the rotation", c.nodes[i].id);
        }
    h_cluster_destroy(&c);
}

/* POST @path on node @i over HTTPS with client certificate @name ("" none): the status (0
 * when the TLS handshake or the connection failed) and the problem's code in @code. */
static long internal_post(struct h_cluster *c, int i, const char *scheme, const char *name,
                          const char *path, char *code, size_t n)
{
    char url[256], cert[400], key[400], ca[400], buf[4096] = {0};
    snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", scheme, c->nodes[i].http_port, path);
    path_of(ca, sizeof ca, "ca.pem");
    FILE *mem = fmemopen(buf, sizeof buf - 1, "w");
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "{}");
    curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, mem);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    if (name[0]) {
        snprintf(cert, sizeof cert, "%s/%s.pem", dir, name);
        snprintf(key, sizeof key, "%s/%s.key", dir, name);
        curl_easy_setopt(e, CURLOPT_SSLCERT, cert);
        curl_easy_setopt(e, CURLOPT_SSLKEY, key);
    }
    long status = 0;
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(e);
    fclose(mem);
    json_t *j = json_loads(buf, 0, NULL);
    snprintf(code, n, "%s", j && json_is_string(json_object_get(j, "code"))
                                ? json_string_value(json_object_get(j, "code"))
                                : "");
    json_decref(j);
    return status;
}

/* The nodes serve HTTPS only; /internal/v1/... answers 403 member_certificate_required without a
 * member's certificate, and refuses a foreign CA's at the handshake; a member's certificate
 * gets past that check (to the signature check behind it); a write sent to a follower is
 * forwarded to the leader (whose /internal/v1/propose needs the follower's certificate). */
static void internal_http_needs_a_member_certificate(void **state)
{
    (void)state;
    struct h_cluster c;
    int leader = tls_cluster(&c);
    int f = (leader + 1) % c.n;
    make_ca("foreign");
    issue("foreign", "foreign-1", "football", (uint64_t)c.nodes[f].id, -60, 86400);
    char member[32], code[64];
    snprintf(member, sizeof member, "node-%d", c.nodes[f].id);
    const char *paths[] = {"/internal/v1/propose", "/internal/v1/observations",
                           "/internal/v1/quote-votes", "/internal/v1/member-key"};
    for (size_t k = 0; k < sizeof paths / sizeof *paths; k++) {
        assert_int_equal(internal_post(&c, leader, "https", "", paths[k], code, sizeof code), 403);
        assert_string_equal(code, "member_certificate_required");
        assert_int_equal(
            internal_post(&c, leader, "https", "foreign-1", paths[k], code, sizeof code), 0);
        long st = internal_post(&c, leader, "https", member, paths[k], code, sizeof code);
        assert_true(st >= 400 && st != 403); /* past the certificate, refused further on */
        assert_int_equal(internal_post(&c, leader, "http", "", paths[k], code, sizeof code), 0);
    }
    /* Forwarding: the follower's own HTTPS call with its certificate. */
    struct h_resp r = h_http(&c, f, "POST", "/admin/v1/fixtures", h_fixture_body("forwarded"),
                             "key-forwarded", true);
    assert_int_equal(r.status, 201);
    h_resp_free(&r);
    for (int i = 0; i < c.n; i++)
        assert_true(h_wait_fixture(&c, i, "forwarded", "scheduled", 1));
    h_cluster_destroy(&c);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* SSL_write to a node that hung up */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cluster_elects_and_commits_over_tls),
        cmocka_unit_test(strangers_cannot_vote_or_append),
        cmocka_unit_test(malformed_over_tls_are_dropped),
        cmocka_unit_test(certificates_rotate_without_downtime),
        cmocka_unit_test(internal_http_needs_a_member_certificate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
