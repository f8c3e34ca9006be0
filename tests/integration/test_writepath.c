/* The write path between nodes, with real parlayd processes on loopback:
 *
 * - POST /internal/v1/propose (a follower's prepared command) does not open with the admin
 *   token: a session for a player, a TOTP confirmation, an identity link, a signing key, a
 *   password hash, an operator's KYC decision are all refused and nothing changes anywhere;
 * - it takes a member's HMAC over the exact bytes, fresh, for command types followers
 *   prepare: a wrong key, a stale or future timestamp, a changed body, or a leader-only type
 *   are refused;
 * - a follower whose leader dies after the forwarded request reached it answers "Outcome
 *   unknown", never "not applied" (libcurl's silent re-send on a fresh connection ends in
 *   "could not connect", which used to be read as "never delivered");
 * - a follower stopped with SIGTERM while a forward is in flight exits 0 without a leak.
 *
 * The races are made deterministic with SIGSTOP: the leader is stopped, the forward is sent,
 * and the test waits (with a deadline) until the leader's socket holds the unread request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tests/integration/harness.h"

#define PW "a long and private phrase"

static void expect_problem(struct h_resp r, long status, const char *title)
{
    const char *t = json_string_value(json_object_get(r.json, "title"));
    if (r.status != status || !t || (title && strcmp(t, title) != 0)) {
        char *d = r.json ? json_dumps(r.json, JSON_COMPACT) : NULL;
        fprintf(stderr, "expected %ld %s, got %ld %s\n", status, title ? title : "",
                r.status, d ? d : "(no body)");
        free(d);
    }
    assert_int_equal(r.status, status);
    assert_string_equal(r.content_type, "application/problem+json");
    assert_non_null(t);
    if (title)
        assert_string_equal(t, title);
    h_resp_free(&r);
}

/* ---- the accounts cluster ---- */

static char *register_player(struct h_cluster *c, int node, const char *email, const char *key)
{
    char body[256];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"" PW "\"}", email);
    struct h_resp r = h_http(c, node, "POST", "/v1/players", body, key, false);
    assert_int_equal(r.status, 201);
    char *id = strdup(json_string_value(json_object_get(r.json, "id")));
    h_resp_free(&r);
    return id;
}

static long long player_count(struct h_cluster *c, int i)
{
    struct h_resp r = h_http(c, i, "GET", "/admin/v1/players", NULL, NULL, true);
    assert_int_equal(r.status, 200);
    long long n = (long long)json_integer_value(json_object_get(r.json, "count"));
    h_resp_free(&r);
    return n;
}

/* What node @i knows of the players @ids (each one's full admin view: sessions, second
 * factor, identity, KYC) and of the signing keys, as one text. */
static char *accounts_view(struct h_cluster *c, int i, char *const *ids, size_t n)
{
    json_t *all = json_object();
    for (size_t k = 0; k < n; k++) {
        char path[128];
        snprintf(path, sizeof path, "/admin/v1/players/%s", ids[k]);
        struct h_resp one = h_http(c, i, "GET", path, NULL, NULL, true);
        assert_int_equal(one.status, 200);
        json_object_set(all, ids[k], one.json);
        h_resp_free(&one);
    }
    struct h_resp r = h_http(c, i, "GET", "/.well-known/jwks.json", NULL, NULL, false);
    json_object_set(all, "_jwks", r.json);
    h_resp_free(&r);
    char *text = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(all);
    return text;
}

/* A proposal body {type, payload, idem, fp} as a follower sends it. */
static char *proposal(int type, json_t *payload, const char *idem)
{
    char *pl = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(payload);
    json_t *o = json_pack("{s:i, s:s, s:s, s:s}", "type", type, "payload", pl, "idem", idem,
                          "fp", "00000000000000000000000000000000"
                                "00000000000000000000000000000000");
    char *t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(pl);
    return t;
}

/* POST @body to node @i's /internal/v1/propose with the admin token. */
static struct h_resp propose_as_admin(struct h_cluster *c, int i, const char *body)
{
    return h_http(c, i, "POST", "/internal/v1/propose", body, "forged", true);
}

/* The same, signed as a member would with @secret (32 bytes) at @ts for @cluster; @sign_body
 * is what the MAC covers (normally @body itself). */
static struct h_resp propose_signed(struct h_cluster *c, int i, const char *body,
                                    const char *sign_body, const uint8_t secret[32],
                                    const char *cluster, long long ts)
{
    char tss[32], msg[8192], hexmac[65], ts_line[64], sig_line[96];
    snprintf(tss, sizeof tss, "%lld", ts);
    int n = snprintf(msg, sizeof msg, "parlay-propose-v1\n%s\n%s\n%s", cluster, tss, sign_body);
    assert_true(n > 0 && (size_t)n < sizeof msg);
    uint8_t mac[32];
    unsigned int ml = 32;
    HMAC(EVP_sha256(), secret, 32, (const unsigned char *)msg, (size_t)n, mac, &ml);
    for (int k = 0; k < 32; k++)
        sprintf(hexmac + 2 * k, "%02x", mac[k]);
    snprintf(ts_line, sizeof ts_line, "parlay-timestamp: %s", tss);
    snprintf(sig_line, sizeof sig_line, "parlay-signature: %s", hexmac);
    const char *hdrs[] = {"content-type: application/json", "idempotency-key: member",
                          ts_line, sig_line, NULL};
    return h_http_raw(c->nodes[i].http_port, "POST", "/internal/v1/propose", body, hdrs, 10000);
}

static void cluster_secret(struct h_cluster *c, uint8_t out[32])
{
    FILE *f = fopen(c->secret_file, "r");
    assert_non_null(f);
    char hex[80] = "";
    assert_non_null(fgets(hex, sizeof hex, f));
    fclose(f);
    hex[64] = 0;
    assert_int_equal(h_unhex(hex, out, 32), 32);
}

/* A normal write through node @via, then wait until every node applied it: anything proposed
 * before it has been applied everywhere too. */
static void barrier_write(struct h_cluster *c, int via, const char *email, const char *key)
{
    free(register_player(c, via, email, key));
    int leader = h_wait_leader(c, H_WAIT_MS);
    json_t *st = h_status(c, leader);
    assert_non_null(st);
    unsigned long long idx =
        (unsigned long long)json_integer_value(json_object_get(st, "last_applied"));
    json_decref(st);
    assert_true(h_wait_applied(c, idx, H_WAIT_MS));
}

static void admin_token_cannot_commit_accounts_commands(void **state)
{
    (void)state;
    struct h_cluster c;
    h_start_accounts(&c, NULL);
    int leader = h_wait_leader(&c, H_WAIT_MS);
    int follower = (leader + 1) % 3;
    char *pid = register_player(&c, follower, "victim@example.fr", "reg-victim");
    char *ids[] = {pid, register_player(&c, leader, "first@example.fr", "reg-first")};
    barrier_write(&c, leader, "barrier1@example.fr", "reg-barrier1");
    char *before[3];
    long long count[3];
    for (int i = 0; i < 3; i++) {
        before[i] = accounts_view(&c, i, ids, 2);
        count[i] = player_count(&c, i);
    }

    /* Each with the admin token, on the leader and on a follower: 401, nothing changes. */
    char *forged[] = {
        /* a session for the player: their powers for whoever holds its refresh token */
        proposal(6, json_pack("{s:s, s:s, s:s}", "player_id", pid, "family",
                              "ffffffffffffffffffffffffffffffff", "refresh_hash",
                              "00000000000000000000000000000000"
                              "00000000000000000000000000000000"),
                 "player:x:forged-session"),
        /* a TOTP confirmation the player never made */
        proposal(12, json_pack("{s:s, s:i, s:[s]}", "player_id", pid, "step", 1,
                               "recovery_hashes",
                               "00000000000000000000000000000000"
                               "00000000000000000000000000000000"),
                 "player:x:forged-totp"),
        /* an identity: adult and verified */
        proposal(14, json_pack("{s:s, s:s, s:b, s:s, s:{s:s, s:s, s:s}}", "player_id", pid,
                               "state", "forged", "adult", 1, "idkey", "forged-identity",
                               "identity", "given_name", "Eve", "family_name", "Forger",
                               "birthdate", "1970-01-01"),
                 "player:x:forged-link"),
        /* a signing key of the attacker's choice */
        proposal(10, json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "kid", "evil", "jwk",
                               "kty", "EC", "crv", "P-256", "x", "AAAA", "y", "AAAA", "d",
                               "AAAA"),
                 "admin-keys:forged-key"),
        /* a poisonous password hash (a new account with a hash the attacker chose) */
        proposal(4, json_pack("{s:s, s:s, s:s}", "id", "p-forged", "email",
                              "forged@example.fr", "password_hash",
                              "$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAA"),
                 "register:forged"),
        /* an operator's decision without its audited route */
        proposal(17, json_pack("{s:s, s:s, s:s}", "player_id", pid, "status", "verified",
                               "reason", "forged"),
                 "admin:forged-kyc"),
    };
    for (size_t k = 0; k < sizeof forged / sizeof forged[0]; k++) {
        expect_problem(propose_as_admin(&c, leader, forged[k]), 401,
                       "Member signature required");
        expect_problem(propose_as_admin(&c, follower, forged[k]), 401,
                       "Member signature required");
        free(forged[k]);
    }
    barrier_write(&c, follower, "barrier2@example.fr", "reg-barrier2");
    for (int i = 0; i < 3; i++) {
        char *after = accounts_view(&c, i, ids, 2);
        assert_string_equal(after, before[i]);
        /* One more player: the barrier's, not the forged one. */
        assert_int_equal(player_count(&c, i), count[i] + 1);
        struct h_resp r = h_http(&c, i, "GET", "/admin/v1/players?email=forged@example.fr",
                                 NULL, NULL, true);
        assert_int_equal(r.status, 200);
        assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
        h_resp_free(&r);
        free(after);
        free(before[i]);
    }
    free(ids[1]);
    free(pid);
    h_cluster_destroy(&c);
}

static void member_signature_and_types_checked(void **state)
{
    (void)state;
    struct h_cluster c;
    h_start_accounts(&c, NULL);
    int leader = h_wait_leader(&c, H_WAIT_MS);
    char *pid = register_player(&c, leader, "member@example.fr", "reg-member");
    uint8_t secret[32], wrong[32];
    cluster_secret(&c, secret);
    memcpy(wrong, secret, 32);
    wrong[0] ^= 1;
    long long now = (long long)time(NULL);
    char *revoke = proposal(9, json_pack("{s:s}", "player_id", pid), "player:x:revoke-all");

    expect_problem(propose_signed(&c, leader, revoke, revoke, wrong, "accounts", now), 401,
                   "Bad member signature");
    expect_problem(propose_signed(&c, leader, revoke, revoke, secret, "football", now), 401,
                   "Bad member signature");
    expect_problem(propose_signed(&c, leader, revoke, "{}", secret, "accounts", now), 401,
                   "Bad member signature");
    expect_problem(propose_signed(&c, leader, revoke, revoke, secret, "accounts", now - 120),
                   401, "Stale member signature");
    expect_problem(propose_signed(&c, leader, revoke, revoke, secret, "accounts", now + 120),
                   401, "Stale member signature");
    /* Correctly signed, but a type no follower prepares: the leader's own or an operator's. */
    char *key = proposal(10, json_pack("{s:s, s:{s:s}}", "kid", "evil", "jwk", "kty", "EC"),
                         "admin-keys:signed-key");
    char *kyc = proposal(17, json_pack("{s:s, s:s, s:s}", "player_id", pid, "status",
                                       "verified", "reason", "signed"),
                         "admin:signed-kyc");
    expect_problem(propose_signed(&c, leader, key, key, secret, "accounts", now), 403,
                   "Command not accepted");
    expect_problem(propose_signed(&c, leader, kyc, kyc, secret, "accounts", now), 403,
                   "Command not accepted");
    /* The control: the same signer with a follower's command is accepted and applied. */
    struct h_resp r = propose_signed(&c, leader, revoke, revoke, secret, "accounts", now);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    /* The signing keys and the player's KYC status did not change. */
    r = h_http(&c, leader, "GET", "/.well-known/jwks.json", NULL, NULL, false);
    assert_int_equal(json_array_size(json_object_get(r.json, "keys")), 1);
    h_resp_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/admin/v1/players/%s", pid);
    r = h_http(&c, leader, "GET", path, NULL, NULL, true);
    assert_int_equal(r.status, 200);
    char *t = json_dumps(r.json, JSON_COMPACT);
    assert_null(strstr(t, "verified"));
    free(t);
    h_resp_free(&r);
    free(key);
    free(kyc);
    free(revoke);
    free(pid);
    h_cluster_destroy(&c);
}

/* ---- forwarding when the leader dies or the follower stops ---- */

/* True once a socket of the process listening on @port holds unread bytes (the request the
 * stopped leader has not read), waiting up to @ms. */
static bool wait_unread(int port, int ms)
{
    double deadline = h_now() + ms / 1000.0;
    while (h_now() < deadline) {
        FILE *f = fopen("/proc/net/tcp", "r");
        assert_non_null(f);
        char line[512];
        bool found = false;
        while (!found && fgets(line, sizeof line, f)) {
            unsigned lport, st;
            unsigned long tx, rx;
            if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %lx:%lx", &lport, &st, &tx, &rx) == 4 &&
                (int)lport == port && st == 1 && rx > 0)
                found = true;
        }
        fclose(f);
        if (found)
            return true;
        h_sleep_ms(5);
    }
    return false;
}

/* Node @i's established connections to 127.0.0.1:@port (its sockets, found through its file
 * descriptors, whose remote end is that port). */
static int connections_to(struct h_cluster *c, int i, int port)
{
    char dir[64], link[128], target[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)c->nodes[i].pid);
    unsigned long inodes[256];
    int n = 0;
    for (int fd = 0; fd < 1024 && n < 256; fd++) {
        snprintf(link, sizeof link, "%s/%d", dir, fd);
        ssize_t l = readlink(link, target, sizeof target - 1);
        if (l <= 0)
            continue;
        target[l] = 0;
        unsigned long ino;
        if (sscanf(target, "socket:[%lu]", &ino) == 1)
            inodes[n++] = ino;
    }
    FILE *f = fopen("/proc/net/tcp", "r");
    assert_non_null(f);
    char line[512];
    int count = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned rport, st;
        unsigned long ino;
        if (sscanf(line, " %*d: %*x:%*x %*x:%x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &rport,
                   &st, &ino) != 3 ||
            (int)rport != port || st != 1)
            continue;
        for (int k = 0; k < n; k++)
            count += inodes[k] == ino;
    }
    fclose(f);
    return count;
}

struct bg_write {
    struct h_cluster *c;
    int node;
    const char *method, *path;
    char body[512];
    const char *key;
    const char *bearer; /* NULL: none; the admin token if admin */
    bool admin;
    long status;
    char title[64];
};

static void *bg_write_run(void *arg)
{
    struct bg_write *w = arg;
    struct h_resp r = h_http_bearer(w->c, w->node, w->method ? w->method : "POST", w->path,
                                    w->body[0] ? w->body : NULL, w->key,
                                    w->admin ? w->c->token : w->bearer);
    w->status = r.status;
    snprintf(w->title, sizeof w->title, "%s",
             r.json && json_string_value(json_object_get(r.json, "title"))
                 ? json_string_value(json_object_get(r.json, "title"))
                 : "");
    h_resp_free(&r);
    return NULL;
}

/* The leader @l is stopped and @w is sent (through a follower) in the background; returns
 * once the request sits unread at the leader. */
static void send_to_stopped_leader(struct h_cluster *c, int l, struct bg_write *w,
                                   pthread_t *th)
{
    h_node_signal(c, l, SIGSTOP);
    assert_int_equal(pthread_create(th, NULL, bg_write_run, w), 0);
    assert_true(wait_unread(c->nodes[l].http_port, 10000));
}

static size_t text_sink(char *p, size_t size, size_t n, void *arg)
{
    char *buf = arg;
    size_t have = strlen(buf), add = size * n;
    if (have + add < 16384) {
        memcpy(buf + have, p, add);
        buf[have + add] = 0;
    }
    return size * n;
}

/* The leader's parlay_proposals_total (its /metrics), -1 if it does not answer. */
static long long proposals(struct h_cluster *c, int i)
{
    static char buf[16384];
    buf[0] = 0;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", c->nodes[i].http_port);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, text_sink);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, buf);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    static const char name[] = "\nparlay_proposals_total ";
    const char *m = strstr(buf, name);
    return rc == CURLE_OK && m ? atoll(m + strlen(name)) : -1;
}

static void leader_killed_mid_forward_is_outcome_unknown(void **state)
{
    (void)state;
    if (geteuid() != 0 || system("ss -h >/dev/null 2>&1") != 0) {
        fprintf(stderr, "needs root and ss(8) to destroy a listening socket; skipped\n");
        skip();
    }
    /* Three voters and a standby F that takes the client's writes: with the two other voters
     * stopped the leader reads F's forwarded write, proposes it and cannot commit it; it keeps
     * leading for an election timeout (long here), which is when it is killed. */
    struct h_cluster c;
    h_cluster_init(&c, 3);
    c.role = "accounts";
    c.extra_config = "{\"election_timeout_ms\": 5000}";
    h_cluster_write_configs(&c);
    h_start_cluster(&c);
    int f = h_cluster_add_spare(&c);
    h_node_start(&c, f);
    char args[256], out[4096];
    snprintf(args, sizeof args, "--timeout 60 add %d 127.0.0.1:%d 127.0.0.1:%d", c.nodes[f].id,
             c.nodes[f].raft_port, c.nodes[f].http_port);
    int l = h_wait_leader(&c, H_WAIT_MS);
    assert_int_equal(h_parlayctl(&c, l, args, out, sizeof out), 0);
    snprintf(args, sizeof args, "--timeout 60 assign %d standby", c.nodes[f].id);
    assert_int_equal(h_parlayctl(&c, l, args, out, sizeof out), 0);
    l = h_wait_leader(&c, H_WAIT_MS);
    assert_true(l >= 0 && l != f);
    assert_true(h_wait_ready(&c, f, H_WAIT_MS));
    /* A player signs in through F. The forwarded writes leave F one kept-alive connection to
     * the leader, and only one (an older idle one is closed by the leader's keep-alive
     * timeout). */
    free(register_player(&c, f, "warm@example.fr", "reg-warm"));
    struct h_resp si = h_http(&c, f, "POST", "/v1/sessions",
                              "{\"email\":\"warm@example.fr\",\"password\":\"" PW "\"}",
                              "signin-warm", false);
    assert_int_equal(si.status, 201);
    char access[2048];
    snprintf(access, sizeof access, "%s",
             json_string_value(json_object_get(si.json, "access_token")));
    h_resp_free(&si);
    int port = c.nodes[l].http_port;
    double deadline = h_now() + 30;
    while (connections_to(&c, f, port) != 1 && h_now() < deadline)
        h_sleep_ms(50);
    assert_int_equal(connections_to(&c, f, port), 1);
    for (int i = 0; i < 3; i++)
        if (i != l)
            h_node_signal(&c, i, SIGSTOP);
    long long before = proposals(&c, l);
    assert_true(before >= 0);
    /* Sign out everywhere: prepared on F without any slow step, forwarded at once. */
    struct bg_write w = {.c = &c, .node = f, .method = "DELETE", .path = "/v1/sessions",
                         .key = "signout-in-flight", .bearer = access};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bg_write_run, &w), 0);
    /* The leader read the request and proposed it: it is in the leader's log. */
    deadline = h_now() + 30;
    while (proposals(&c, l) == before && h_now() < deadline)
        h_sleep_ms(5);
    assert_true(proposals(&c, l) > before);
    /* The leader dies before answering; its port refuses new connections first (its listening
     * socket is destroyed, as when a dying process closes it before its connections), so
     * that libcurl's silent re-send on a fresh connection fails to connect. */
    char cmd[160];
    snprintf(cmd, sizeof cmd, "ss -K -t state listening src 127.0.0.1:%d >/dev/null 2>&1",
             port);
    assert_int_equal(system(cmd), 0);
    h_node_signal(&c, l, SIGKILL);
    h_node_kill(&c, l);
    pthread_join(th, NULL);
    /* The write reached the leader: whether it was applied cannot be known. */
    if (w.status != 503 || strcmp(w.title, "Outcome unknown") != 0)
        fprintf(stderr, "forward to a killed leader answered %ld %s\n", w.status, w.title);
    assert_int_equal(w.status, 503);
    assert_string_equal(w.title, "Outcome unknown");
    /* The other voters come back, with the leader's entry in their sockets' buffers: a new
     * leader may commit it, so the write may well have been applied although its leader died.
     * The client retries with the same key until it gets a definitive answer: 200 (applied
     * now, or the recorded answer) or 401 (the first attempt was applied and revoked the
     * session this token belongs to). */
    for (int i = 0; i < 3; i++)
        if (i != l)
            h_node_signal(&c, i, SIGCONT);
    deadline = h_now() + 60;
    long st = 0;
    while (h_now() < deadline) {
        struct h_resp r = h_http_bearer(&c, f, "DELETE", "/v1/sessions", NULL, w.key, access);
        st = r.status;
        h_resp_free(&r);
        if (st != 0 && st != 503)
            break;
        h_sleep_ms(100);
    }
    fprintf(stderr, "the retry answered %ld (%s)\n", st,
            st == 401 ? "the first attempt had been applied" : "applied by the retry");
    assert_true(st == 200 || st == 401);
    h_cluster_destroy(&c);
}

static void follower_stopped_with_forward_in_flight_exits_clean(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 3);
    h_cluster_write_configs(&c);
    h_start_cluster(&c);
    int l = h_wait_leader(&c, H_WAIT_MS), f = (l + 1) % 3;
    struct bg_write w = {.c = &c, .node = f, .path = "/admin/v1/fixtures", .key = "k-in-flight",
                         .admin = true};
    snprintf(w.body, sizeof w.body, "%s", h_fixture_body("in-flight"));
    pthread_t th;
    send_to_stopped_leader(&c, l, &w, &th);
    int st = h_node_stop(&c, f);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "the follower stopped with status %d\n", st);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(h_log_count(&c, f, "LeakSanitizer"), 0);
    pthread_join(th, NULL);
    /* The client got "Outcome unknown" or lost its connection: never "not applied". */
    if (w.status != 0) {
        assert_int_equal(w.status, 503);
        assert_string_equal(w.title, "Outcome unknown");
    }
    h_node_signal(&c, l, SIGCONT);
    h_cluster_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(admin_token_cannot_commit_accounts_commands),
        cmocka_unit_test(member_signature_and_types_checked),
        cmocka_unit_test(leader_killed_mid_forward_is_outcome_unknown),
        cmocka_unit_test(follower_stopped_with_forward_in_flight_exits_clean),
    };
    return cmocka_run_group_tests_name("writepath", tests, NULL, NULL);
}
