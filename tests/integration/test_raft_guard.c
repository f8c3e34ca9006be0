/* Only members speak Raft, and what they say is checked before raft sees it (issue 16 findings
 * 1 and 2). A three-node cluster of the sanitizer build; the test plays a stranger on the Raft
 * port (raft_uv_tcp's plain handshake, then well-formed raft messages), a process that knows
 * the cluster secret but is no member, and an authenticated member sending the malformed
 * messages that crashed or stopped raft 0.22.1. Every time: the node stays up, nothing of the
 * intruder is applied anywhere, the cluster keeps committing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "consensus/codec.h"
#include "tests/integration/harness.h"

enum { MSG_APPEND = 1, MSG_VOTE = 3 };
enum { ENTRY_COMMAND = 1 };
#define REFUSED "event=raft_peer_refused"

/* ---- bytes on the wire ---- */

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

/* A TCP connection to node @i's Raft port (reads time out after 10 s); -1 if refused. */
static int raft_dial(const struct h_cluster *c, int i)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(c->nodes[i].raft_port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static int raft_connect(struct h_cluster *c, int i)
{
    int fd = raft_dial(c, i);
    assert_true(fd >= 0);
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
        if (k <= 0)
            return; /* the node hung up: what the caller checks next tells */
        b += k;
        n -= (size_t)k;
    }
}

/* Read exactly @n bytes; false if the peer closed (or said nothing for 10 s) first. */
static bool recv_all(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        ssize_t k = recv(fd, b, n, 0);
        if (k <= 0)
            return false;
        b += k;
        n -= (size_t)k;
    }
    return true;
}

/* True once the node has closed @fd (EOF or reset); false if it keeps it open 10 s. */
static bool closed_by_peer(int fd)
{
    uint8_t b[256];
    for (;;) {
        ssize_t k = recv(fd, b, sizeof b, 0);
        if (k == 0)
            return true;
        if (k < 0)
            return errno == ECONNRESET;
    }
}

/* raft_uv_tcp's own handshake: protocol 1, id, address length (padded to 8), address. */
static void stranger_hello(struct wire *w, uint64_t id)
{
    char addr[16] = "127.0.0.1:9";
    w64(w, 1);
    w64(w, id);
    w64(w, sizeof addr);
    wbytes(w, addr, sizeof addr);
}

/* ---- Parlay's handshake, as a peer that knows the secret ---- */

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

/* Run the handshake with node @i claiming @claim_id; returns the socket and whether the node
 * accepted (its verdict byte). */
static int peer_handshake(struct h_cluster *c, int i, uint64_t claim_id, bool *accepted)
{
    struct peer p = {.client_id = claim_id, .server_id = (uint64_t)c->nodes[i].id};
    char hex[80] = {0};
    FILE *f = fopen(c->secret_file, "r");
    assert_non_null(f);
    assert_non_null(fgets(hex, sizeof hex, f));
    fclose(f);
    hex[strcspn(hex, "\r\n")] = 0;
    assert_int_equal(h_unhex(hex, p.secret, sizeof p.secret), 32);
    RAND_bytes(p.nc, sizeof p.nc);
    snprintf((char *)p.addr, sizeof p.addr, "127.0.0.1:%d", 40000 + (int)claim_id);

    int fd = raft_connect(c, i);
    struct wire w = {.n = 0};
    wbytes(&w, "PRLYRFT1", 8);
    w64(&w, p.client_id);
    w64(&w, p.server_id);
    wbytes(&w, p.nc, 32);
    wbytes(&w, p.addr, 64);
    send_all(fd, w.b, w.n);
    uint8_t challenge[64], want[32], verdict = 0;
    assert_true(recv_all(fd, challenge, sizeof challenge));
    memcpy(p.ns, challenge, 32);
    peer_mac(&p, "parlay raft server", want);
    assert_memory_equal(want, challenge + 32, 32); /* the node proved it holds the secret */
    peer_mac(&p, "parlay raft client", want);
    send_all(fd, want, sizeof want);
    *accepted = recv_all(fd, &verdict, 1) && verdict == 'A';
    return fd;
}

/* ---- raft messages ---- */

/* An AppendEntries whose header says what the arguments say (entries: one header each). */
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
    w64(w, 0); /* raft's unused eighth word */
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
    w64(w, 1ull << 40); /* a log "longer" than anyone's */
    w64(w, term);
    w64(w, 1); /* disrupt the leader */
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

/* The cluster commits a new fixture and every node serves it. */
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

static int follower_of(struct h_cluster *c, int leader)
{
    return (leader + 1) % c->n;
}

/* Three nodes up, a leader, a first fixture committed everywhere; returns the leader. */
static int guard_cluster(struct h_cluster *c)
{
    h_cluster_init(c, 3);
    h_start_cluster(c);
    int leader = h_wait_leader(c, H_WAIT_MS);
    assert_true(leader >= 0);
    cluster_commits(c, "before");
    return leader;
}

/* ---- scenarios ---- */

/* A stranger "leader" of a far higher term appends a fixture on a follower: refused before
 * raft reads a byte; the fixture never appears; the cluster keeps committing. */
static void stranger_append_entries_is_refused(void **state)
{
    (void)state;
    struct h_cluster c;
    int leader = guard_cluster(&c);
    int f = follower_of(&c, leader);
    uint64_t last = status_u64(&c, f, "last_index"), term = status_u64(&c, f, "term");

    const char *body = h_fixture_body("intruder");
    struct cmd cmd = {.type = CMD_FIXTURE_CREATE, .time_ms = (uint64_t)(h_now() * 1000),
                      .idem = "intruder", .idem_len = 8, .payload = body,
                      .payload_len = strlen(body)};
    size_t len = cmd_encoded_size(&cmd);
    uint8_t data[1024], eh[16];
    assert_true(len <= sizeof data);
    assert_int_equal(cmd_encode(&cmd, data, len), CMD_OK);
    entry_header(eh, term + 1000, ENTRY_COMMAND, (uint32_t)len);
    struct wire w = {.n = 0};
    stranger_hello(&w, 99);
    append_entries(&w, term + 1000, last, term, last + 1, 1, eh, 1, data, len);
    int fd = raft_connect(&c, f);
    send_all(fd, w.b, w.n);
    assert_true(closed_by_peer(fd));
    close(fd);
    assert_true(wait_log(&c, f, "reason=\"not a Parlay Raft handshake\"", 1));

    cluster_commits(&c, "after");
    assert_false(fixture_anywhere(&c, "intruder"));
    assert_int_equal(status_u64(&c, f, "term"), term); /* nobody adopted the stranger's term */
    h_cluster_destroy(&c);
}

/* A stranger sends RequestVote of ever higher terms to every node every 300 ms while a client
 * writes: every write succeeds and no election happens. */
static void stranger_vote_spam_does_not_stop_writes(void **state)
{
    (void)state;
    struct h_cluster c;
    int leader = guard_cluster(&c);
    uint64_t term = status_u64(&c, leader, "term");

    pid_t spammer = fork();
    assert_true(spammer >= 0);
    if (spammer == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the test */
        for (uint64_t k = 1;; k++) {
            for (int i = 0; i < c.n; i++) {
                int fd = raft_dial(&c, i);
                if (fd < 0)
                    continue;
                struct wire w = {.n = 0};
                stranger_hello(&w, (uint64_t)c.nodes[(i + 1) % c.n].id);
                request_vote(&w, term + k, (uint64_t)c.nodes[(i + 1) % c.n].id);
                send_all(fd, w.b, w.n);
                close(fd);
            }
            usleep(300 * 1000);
        }
    }
    /* Writes for as long as it takes the spam to reach every node ten times. */
    int writes = 0;
    double deadline = h_now() + H_WAIT_MS / 1000.0;
    while (h_log_count(&c, 0, REFUSED) < 10 || h_log_count(&c, 1, REFUSED) < 10 ||
           h_log_count(&c, 2, REFUSED) < 10) {
        assert_true(h_now() < deadline);
        char id[32], key[48];
        snprintf(id, sizeof id, "spam-%d", writes);
        snprintf(key, sizeof key, "key-spam-%d", writes);
        struct h_resp r =
            h_http(&c, leader, "POST", "/admin/v1/fixtures", h_fixture_body(id), key, true);
        assert_int_equal(r.status, 201);
        h_resp_free(&r);
        writes++;
        h_sleep_ms(50);
    }
    kill(spammer, SIGKILL);
    waitpid(spammer, NULL, 0);
    assert_true(writes > 0);
    assert_int_equal(status_u64(&c, leader, "term"), term);
    h_cluster_destroy(&c);
}

/* A process that knows the secret but claims an id outside the configuration: refused. */
static void secret_without_membership_is_refused(void **state)
{
    (void)state;
    struct h_cluster c;
    int leader = guard_cluster(&c);
    int f = follower_of(&c, leader);
    bool accepted = true;
    int fd = peer_handshake(&c, f, 42, &accepted);
    assert_false(accepted);
    close(fd);
    assert_true(wait_log(&c, f, "reason=\"not a member of the configuration\"", 1));
    /* The same secret with a member's id is let in: the refusal was about membership. */
    fd = peer_handshake(&c, f, (uint64_t)c.nodes[leader].id, &accepted);
    assert_true(accepted);
    close(fd);
    cluster_commits(&c, "after");
    h_cluster_destroy(&c);
}

/* Send @w to follower @f as an authenticated member; the node must close the connection, log
 * @reason, stay up and keep committing with the others. */
static void malformed_is_dropped(struct h_cluster *c, int f, uint64_t as, const struct wire *w,
                                 const char *reason, const char *fixture)
{
    bool accepted = false;
    int fd = peer_handshake(c, f, as, &accepted);
    assert_true(accepted);
    send_all(fd, w->b, w->n);
    assert_true(closed_by_peer(fd));
    close(fd);
    char needle[160];
    snprintf(needle, sizeof needle, "reason=\"%s\"", reason);
    assert_true(wait_log(c, f, needle, 1));
    node_healthy(c, f);
    cluster_commits(c, fixture);
}

static void malformed_messages_from_a_member_are_dropped(void **state)
{
    (void)state;
    struct h_cluster c;
    int leader = guard_cluster(&c);
    int f = follower_of(&c, leader);
    uint64_t as = (uint64_t)c.nodes[leader].id;
    uint64_t term = status_u64(&c, f, "term"), commit = status_u64(&c, f, "commit_index");
    uint8_t eh[16], data[16] = {0};

    /* An entry of unknown type (raft frees the entries, then reads them). */
    struct wire w = {.n = 0};
    entry_header(eh, term, 7, sizeof data);
    append_entries(&w, term, commit, term, commit, 1, eh, 1, data, sizeof data);
    malformed_is_dropped(&c, f, as, &w, "unknown entry type", "after-type");

    /* 2^32 entries announced (raft allocates for them all). */
    w.n = 0;
    append_entries(&w, term, commit, term, commit, 1ull << 32, NULL, 0, NULL, 0);
    malformed_is_dropped(&c, f, as, &w, "too many entries", "after-count");

    /* A batch whose previous entry conflicts with a committed one (raft frees it twice, or
     * stops). */
    commit = status_u64(&c, f, "commit_index");
    term = status_u64(&c, f, "term");
    w.n = 0;
    entry_header(eh, term, ENTRY_COMMAND, sizeof data);
    append_entries(&w, term, commit, term + 7, commit, 1, eh, 1, data, sizeof data);
    malformed_is_dropped(&c, f, as, &w, "previous entry conflicts with a committed entry",
                         "after-conflict");
    assert_int_equal(status_u64(&c, f, "term"), term);
    h_cluster_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stranger_append_entries_is_refused),
        cmocka_unit_test(stranger_vote_spam_does_not_stop_writes),
        cmocka_unit_test(secret_without_membership_is_refused),
        cmocka_unit_test(malformed_messages_from_a_member_are_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
