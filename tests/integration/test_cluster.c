/* Cluster scenarios with real parlayd processes on loopback. Each test starts its own cluster,
 * does what an operator or a client would do, and checks what they must see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/integration/harness.h"

#define WAIT_MS H_WAIT_MS

static void write_to_follower_is_visible_everywhere(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 3);
    h_start_cluster(&c);
    int leader = h_wait_leader(&c, WAIT_MS);
    int follower = (leader + 1) % 3;

    struct h_resp r = h_http(&c, follower, "POST", "/admin/v1/fixtures", h_fixture_body("f1"),
                             "key-f1", true);
    assert_int_equal(r.status, 201);
    assert_string_equal(json_string_value(json_object_get(r.json, "id")), "f1");
    h_resp_free(&r);

    for (int i = 0; i < 3; i++) {
        struct h_resp g =
            h_http(&c, i, "GET", "/v1/fixtures/f1?consistency=linearizable", NULL, NULL, false);
        assert_int_equal(g.status, 200);
        assert_string_equal(json_string_value(json_object_get(g.json, "home")), "Home f1");
        h_resp_free(&g);
        assert_true(h_wait_fixture(&c, i, "f1", "scheduled", 1));
    }
    /* The same key again, through another follower: the first answer, not a second create. */
    r = h_http(&c, (leader + 2) % 3, "POST", "/admin/v1/fixtures", h_fixture_body("f1"), "key-f1",
               true);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.replayed, "true");
    h_resp_free(&r);
    h_cluster_destroy(&c);
}

#define N_WRITES 30

static void kill_leader_while_writing_loses_nothing(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 3);
    h_start_cluster(&c);
    int killed = -1;
    for (int k = 0; k < N_WRITES; k++) {
        char id[32], key[48], path[64];
        snprintf(id, sizeof id, "k%02d", k);
        if (k == N_WRITES / 3) {
            killed = h_wait_leader(&c, WAIT_MS);
            assert_true(killed >= 0);
            h_node_kill(&c, killed); /* kill -9 the leader mid-stream */
        }
        snprintf(key, sizeof key, "create-%s", id);
        long st = h_write_until_answer(&c, k, "POST", "/admin/v1/fixtures", h_fixture_body(id), key,
                                     NULL);
        assert_int_equal(st, 201); /* never 409: a retried create is not applied twice */
        snprintf(key, sizeof key, "live-%s", id);
        snprintf(path, sizeof path, "/admin/v1/fixtures/%s", id);
        st = h_write_until_answer(&c, k + 1, "PATCH", path, "{\"status\":\"live\"}", key, NULL);
        assert_int_equal(st, 200); /* never 409 "already live" */
    }
    /* Bring the old leader back: it must converge to the same state. */
    h_node_start(&c, killed);
    assert_true(h_wait_ready(&c, killed, WAIT_MS));
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < N_WRITES; k++) {
            char id[32];
            snprintf(id, sizeof id, "k%02d", k);
            /* version 2 exactly: created once, set live once */
            assert_true(h_wait_fixture(&c, i, id, "live", 2));
        }

    /* Restart every node (kill -9, the harshest stop): nothing acknowledged is lost. */
    for (int i = 0; i < 3; i++)
        h_node_kill(&c, i);
    h_start_cluster(&c);
    for (int i = 0; i < 3; i++) {
        struct h_resp r = h_http(&c, i, "GET", "/v1/fixtures?limit=500&consistency=linearizable",
                                 NULL, NULL, false);
        assert_int_equal(r.status, 200);
        assert_int_equal(json_array_size(json_object_get(r.json, "items")), N_WRITES);
        h_resp_free(&r);
        for (int k = 0; k < N_WRITES; k++) {
            char id[32];
            snprintf(id, sizeof id, "k%02d", k);
            assert_true(h_wait_fixture(&c, i, id, "live", 2));
        }
    }
    h_cluster_destroy(&c);
}

static void graceful_restart_resumes(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 3);
    h_start_cluster(&c);
    assert_int_equal(h_write_until_answer(&c, 0, "POST", "/admin/v1/fixtures", h_fixture_body("r1"),
                                        "key-r1", NULL),
                     201);
    /* Several restarts in a row: each new leader appends a barrier that the state machine never
     * sees; readiness must follow raft's applied index, not the last command's. */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 3; i++)
            assert_int_equal(WEXITSTATUS(h_node_stop(&c, i)), 0);
        h_cluster_start_all(&c);
        assert_true(h_wait_leader(&c, WAIT_MS) >= 0);
        for (int i = 0; i < 3; i++)
            assert_true(h_wait_ready(&c, i, 10000));
        for (int i = 0; i < 3; i++)
            assert_true(h_wait_fixture(&c, i, "r1", "scheduled", 1));
    }
    h_cluster_destroy(&c);
}

static void added_node_catches_up_through_snapshot(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 3);
    c.snapshot_threshold = 16; /* snapshot often and keep a short log */
    c.snapshot_trailing = 4;
    h_cluster_write_configs(&c);
    h_start_cluster(&c);
    for (int k = 0; k < 60; k++) {
        char id[32], key[48];
        snprintf(id, sizeof id, "s%02d", k);
        snprintf(key, sizeof key, "key-%s", id);
        assert_int_equal(h_write_until_answer(&c, k, "POST", "/admin/v1/fixtures", h_fixture_body(id),
                                            key, NULL),
                         201);
    }
    char out[8192];
    assert_int_equal(h_parlayctl(&c, 0, "snapshot", out, sizeof out), 0);

    int spare = h_cluster_add_spare(&c);
    h_node_start(&c, spare);
    char args[256];
    snprintf(args, sizeof args, "--timeout 60 add %d 127.0.0.1:%d 127.0.0.1:%d", c.nodes[spare].id,
             c.nodes[spare].raft_port, c.nodes[spare].http_port);
    int rc = h_parlayctl(&c, 1, args, out, sizeof out);
    if (rc != 0)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "voter"));
    /* It got the state from an installed snapshot, not by replaying the whole log. */
    assert_true(h_log_count(&c, spare, "event=restored") >= 1);
    for (int k = 0; k < 60; k++) {
        char id[32];
        snprintf(id, sizeof id, "s%02d", k);
        assert_true(h_wait_fixture(&c, spare, id, "scheduled", 1));
    }
    rc = h_parlayctl(&c, spare, "--json status", out, sizeof out);
    assert_int_equal(rc, 0);
    json_t *st = json_loads(out, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(st, "members")), 4);
    json_decref(st);

    /* Remove a follower that is not the new node; the cluster keeps taking writes. */
    int leader = h_wait_leader(&c, WAIT_MS);
    int victim = (leader + 1) % 3;
    snprintf(args, sizeof args, "remove %d", c.nodes[victim].id);
    assert_int_equal(h_parlayctl(&c, leader, args, out, sizeof out), 0);
    h_node_stop(&c, victim);
    rc = h_parlayctl(&c, spare, "--json members", out, sizeof out);
    assert_int_equal(rc, 0);
    st = json_loads(out, 0, NULL);
    assert_int_equal(json_array_size(st), 3);
    json_decref(st);
    assert_int_equal(h_write_until_answer(&c, spare, "POST", "/admin/v1/fixtures",
                                        h_fixture_body("after-remove"), "key-after-remove", NULL),
                     201);
    h_cluster_destroy(&c);
}

/* The quote stream's banner on node @i: connects, asks, reads until the banner or @ms pass;
 * true when the node answered 200 text/event-stream with it. The socket is closed after. */
static bool stream_answers(struct h_cluster *c, int i, int ms)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->nodes[i].http_port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    const char *req = "GET /v1/stream/quotes HTTP/1.1\r\nHost: x\r\n\r\n";
    bool ok = write(fd, req, strlen(req)) == (ssize_t)strlen(req);
    char buf[4096];
    size_t n = 0;
    double end = h_now() + ms / 1000.0;
    while (ok && n < sizeof buf - 1 && h_now() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = 0;
        if (strstr(buf, ": parlay quote stream"))
            break;
    }
    buf[n] = 0;
    close(fd);
    return !strncmp(buf, "HTTP/1.1 200", 12) && strstr(buf, "text/event-stream") &&
           strstr(buf, ": parlay quote stream");
}

static const char *member_role(const char *members_json, int id)
{
    static char role[32];
    json_t *members = json_loads(members_json, 0, NULL);
    size_t k;
    json_t *m;
    role[0] = 0;
    json_array_foreach(members, k, m) if (json_integer_value(json_object_get(m, "id")) == id)
        snprintf(role, sizeof role, "%s", json_string_value(json_object_get(m, "role")) ?: "");
    json_decref(members);
    return role;
}

/* A match-day read replica: `parlayctl add --standby` brings a node in and stops once it caught
 * up (it never becomes a voter); it serves reads and the quote stream, forwards writes, and
 * `parlayctl remove` takes it out again. (test_quotes' standby_streams_quotes has its stream
 * carry real publications.) */
static void standby_for_a_match_day(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 3);
    h_start_cluster(&c);
    assert_int_equal(h_write_until_answer(&c, 0, "POST", "/admin/v1/fixtures", h_fixture_body("md1"),
                                          "key-md1", NULL),
                     201);
    int sb = h_cluster_add_spare(&c);
    h_node_start(&c, sb);
    char out[8192], args[256];
    snprintf(args, sizeof args, "--timeout 60 add --standby %d 127.0.0.1:%d 127.0.0.1:%d",
             c.nodes[sb].id, c.nodes[sb].raft_port, c.nodes[sb].http_port);
    int rc = h_parlayctl(&c, 1, args, out, sizeof out);
    if (rc != 0)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "standby"));
    assert_int_equal(h_parlayctl(&c, 0, "--json members", out, sizeof out), 0);
    assert_string_equal(member_role(out, c.nodes[sb].id), "standby");
    assert_int_equal(h_parlayctl(&c, 0, "add --standby 9", out, sizeof out), 2); /* usage */

    /* Reads: what was written before it came, local and linearizable. */
    assert_true(h_wait_fixture(&c, sb, "md1", "scheduled", 1));
    struct h_resp g = h_http(&c, sb, "GET", "/v1/fixtures/md1?consistency=linearizable", NULL,
                             NULL, false);
    assert_int_equal(g.status, 200);
    h_resp_free(&g);
    /* A write through it reaches the leader and every node. */
    struct h_resp w = h_http(&c, sb, "POST", "/admin/v1/fixtures", h_fixture_body("md2"),
                             "key-md2", true);
    assert_int_equal(w.status, 201);
    h_resp_free(&w);
    for (int i = 0; i < c.n; i++)
        assert_true(h_wait_fixture(&c, i, "md2", "scheduled", 1));
    /* Its quote stream answers. */
    assert_true(stream_answers(&c, sb, 10000));
    /* Still a standby after all that (it was not promoted on the way). */
    assert_int_equal(h_parlayctl(&c, sb, "--json members", out, sizeof out), 0);
    assert_string_equal(member_role(out, c.nodes[sb].id), "standby");

    /* After the match day: out of the cluster; the three voters keep taking writes. */
    int leader = h_wait_leader(&c, WAIT_MS);
    snprintf(args, sizeof args, "remove %d", c.nodes[sb].id);
    assert_int_equal(h_parlayctl(&c, leader, args, out, sizeof out), 0);
    assert_int_equal(WEXITSTATUS(h_node_stop(&c, sb)), 0);
    assert_int_equal(h_parlayctl(&c, leader, "--json members", out, sizeof out), 0);
    json_t *members = json_loads(out, 0, NULL);
    assert_int_equal(json_array_size(members), 3);
    json_decref(members);
    assert_int_equal(h_write_until_answer(&c, leader, "POST", "/admin/v1/fixtures",
                                          h_fixture_body("md3"), "key-md3", NULL),
                     201);
    h_cluster_destroy(&c);
}

static void partitioned_minority_refuses_writes(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 3);
    h_start_cluster(&c);
    int leader = h_wait_leader(&c, WAIT_MS);
    /* Cut the leader off from the majority: the two followers stop answering. */
    for (int i = 0; i < 3; i++)
        if (i != leader)
            h_node_signal(&c, i, SIGSTOP);
    struct h_resp r = h_http(&c, leader, "POST", "/admin/v1/fixtures", h_fixture_body("m1"),
                             "key-m1", true);
    assert_int_equal(r.status, 503); /* never acknowledged without a quorum */
    assert_string_equal(r.content_type, "application/problem+json");
    assert_true(r.retry_after[0] != 0);
    h_resp_free(&r);
    r = h_http(&c, leader, "GET", "/v1/fixtures/m1", NULL, NULL, false);
    assert_int_equal(r.status, 404);
    h_resp_free(&r);
    /* A second write finds no leader at all on the minority side. */
    r = h_http(&c, leader, "POST", "/admin/v1/fixtures", h_fixture_body("m2"), "key-m2", true);
    assert_int_equal(r.status, 503);
    h_resp_free(&r);
    for (int i = 0; i < 3; i++)
        h_node_signal(&c, i, SIGCONT);
    assert_true(h_wait_leader(&c, WAIT_MS) >= 0);
    /* The client's retry with the same key gets one real answer. */
    assert_int_equal(h_write_until_answer(&c, leader, "POST", "/admin/v1/fixtures",
                                        h_fixture_body("m1"), "key-m1", NULL),
                     201);
    for (int i = 0; i < 3; i++)
        assert_true(h_wait_fixture(&c, i, "m1", "scheduled", 1));
    h_cluster_destroy(&c);
}

struct bad_case {
    const char *method, *path, *body, *key;
    bool admin;
    long status;
    const char *detail_part;
};

static void bad_input_gets_problem_json_and_changes_nothing(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 3);
    c.max_body_bytes = 4096;
    h_cluster_write_configs(&c);
    h_start_cluster(&c);
    assert_int_equal(h_write_until_answer(&c, 0, "POST", "/admin/v1/fixtures", h_fixture_body("ok1"),
                                        "key-ok1", NULL),
                     201);
    struct h_resp before = h_http(&c, 0, "GET", "/v1/fixtures?consistency=linearizable", NULL,
                                  NULL, false);
    assert_int_equal(before.status, 200);

    static char big[10000];
    memset(big, 'x', sizeof big - 1);
    memcpy(big, "{\"id\":\"", 7);
    const struct bad_case cases[] = {
        {"POST", "/admin/v1/fixtures", "{\"id\": \"x\",", "b1", true, 400, "line"},
        {"POST", "/admin/v1/fixtures", "[1,2]", "b2", true, 400, "JSON object"},
        {"POST", "/admin/v1/fixtures",
         "{\"id\":5,\"sport\":\"football\",\"competition\":\"L\",\"home\":\"A\",\"away\":\"B\","
         "\"kickoff\":\"2026-12-01T20:00:00Z\"}",
         "b3", true, 422, "'id' must be a string"},
        {"POST", "/admin/v1/fixtures",
         "{\"id\":\"u1\",\"sport\":\"football\",\"competition\":\"L\",\"home\":\"A\",\"away\":"
         "\"B\",\"kickoff\":\"2026-12-01T20:00:00Z\",\"colour\":\"red\"}",
         "b4", true, 422, "unknown field 'colour'"},
        {"POST", "/admin/v1/fixtures",
         "{\"id\":\"u2\",\"sport\":\"tennis\",\"competition\":\"L\",\"home\":\"A\",\"away\":"
         "\"B\",\"kickoff\":\"2026-12-01T20:00:00Z\"}",
         "b5", true, 422, "football cluster"},
        {"POST", "/admin/v1/fixtures",
         "{\"id\":\"u3\",\"sport\":\"football\",\"competition\":\"L\",\"home\":\"A\",\"away\":"
         "\"B\",\"kickoff\":\"next tuesday\"}",
         "b6", true, 422, "RFC 3339"},
        {"POST", "/admin/v1/fixtures", big, "b7", true, 413, "limit"},
        {"POST", "/admin/v1/fixtures", h_fixture_body("u4"), NULL, true, 428, "Idempotency-Key"},
        {"POST", "/admin/v1/fixtures", h_fixture_body("u5"), "b8", false, 401, "admin token"},
        {"GET", "/v1/fixtures/bad$id", NULL, NULL, false, 400, "fixture id"},
        {"GET", "/v1/fixtures/nope", NULL, NULL, false, 404, "does not exist"},
        {"GET", "/v1/fixtures?colour=red", NULL, NULL, false, 400, "unknown query parameter"},
        {"GET", "/v1/fixtures?limit=0", NULL, NULL, false, 400, "'limit'"},
        {"GET", "/v1/fixtures?consistency=strong", NULL, NULL, false, 400, "'consistency'"},
        {"PATCH", "/admin/v1/fixtures/nope", "{\"status\":\"live\"}", "b9", true, 404,
         "does not exist"},
        {"PATCH", "/admin/v1/fixtures/ok1", "{\"status\":\"finished\"}", "b10", true, 409,
         "cannot go from scheduled to finished"},
        {"PATCH", "/admin/v1/fixtures/ok1", "{\"status\":\"over\"}", "b11", true, 422,
         "'status' must be one of"},
        {"DELETE", "/v1/fixtures", NULL, NULL, false, 405, "GET"},
        {"GET", "/admin/v1/cluster", NULL, NULL, false, 401, "admin token"},
        {"GET", "/nowhere", NULL, NULL, false, 404, "no resource"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const struct bad_case *bc = &cases[k];
        struct h_resp r = h_http(&c, (int)(k % 3), bc->method, bc->path, bc->body, bc->key,
                                 bc->admin);
        if (r.status != bc->status)
            fprintf(stderr, "case %zu: %s %s: got %ld\n", k, bc->method, bc->path, r.status);
        assert_int_equal(r.status, bc->status);
        assert_string_equal(r.content_type, "application/problem+json");
        const char *detail = json_string_value(json_object_get(r.json, "detail"));
        assert_non_null(detail);
        if (!strstr(detail, bc->detail_part))
            fprintf(stderr, "case %zu: detail '%s'\n", k, detail);
        assert_non_null(strstr(detail, bc->detail_part));
        assert_int_equal(json_integer_value(json_object_get(r.json, "status")), bc->status);
        h_resp_free(&r);
    }
    /* A key reused for a different request is refused, not applied. */
    struct h_resp r = h_http(&c, 1, "POST", "/admin/v1/fixtures", h_fixture_body("other"),
                             "key-ok1", true);
    assert_int_equal(r.status, 422);
    h_resp_free(&r);
    /* Wrong token: 401 too. */
    const char *hdrs[] = {"Authorization: Bearer not-the-token-at-all", NULL};
    r = h_http_raw(c.nodes[0].http_port, "GET", "/admin/v1/node", NULL, hdrs, 5000);
    assert_int_equal(r.status, 401);
    h_resp_free(&r);

    struct h_resp after = h_http(&c, 2, "GET", "/v1/fixtures?consistency=linearizable", NULL,
                                 NULL, false);
    assert_int_equal(after.status, 200);
    assert_true(json_equal(before.json, after.json));
    h_resp_free(&before);
    h_resp_free(&after);
    h_cluster_destroy(&c);
}

static void space_quota_makes_cluster_read_only(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 3);
    c.map_size_mb = 4;
    c.space_quota_mb = 1;
    h_cluster_write_configs(&c);
    h_start_cluster(&c);
    long st = 0;
    int k;
    char id[32], key[48];
    /* Fill until the quota refuses: 507 with a clear detail, before LMDB can ever be full. */
    for (k = 0; k < 5000; k++) {
        snprintf(id, sizeof id, "q%04d", k);
        snprintf(key, sizeof key, "key-%s", id);
        json_t *body = NULL;
        st = h_write_until_answer(&c, 0, "POST", "/admin/v1/fixtures", h_fixture_body(id), key, &body);
        if (st == 507) {
            assert_non_null(strstr(json_string_value(json_object_get(body, "detail")),
                                   "space quota"));
            json_decref(body);
            break;
        }
        json_decref(body);
        assert_int_equal(st, 201);
    }
    assert_int_equal(st, 507);
    /* Reads still work. */
    struct h_resp r = h_http(&c, 1, "GET", "/v1/fixtures/q0000", NULL, NULL, false);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    /* The operator grows the quota and restarts: writes are accepted again. */
    c.space_quota_mb = 3;
    h_cluster_write_configs(&c);
    h_cluster_stop_all(&c);
    h_start_cluster(&c);
    assert_int_equal(h_write_until_answer(&c, 0, "POST", "/admin/v1/fixtures", h_fixture_body(id),
                                        key, NULL),
                     201);
    h_cluster_destroy(&c);
}

static void parlayctl_exit_codes(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 3);
    h_start_cluster(&c);
    char out[8192];
    assert_int_equal(h_parlayctl(&c, 0, "status", out, sizeof out), 0);
    assert_non_null(strstr(out, "leader"));
    assert_int_equal(h_parlayctl(&c, 1, "fixtures status nope live", out, sizeof out), 1);
    assert_non_null(strstr(out, "does not exist"));
    assert_int_equal(h_parlayctl(&c, 1, "frobnicate", out, sizeof out), 2);
    assert_int_equal(h_parlayctl(&c, 1, "add x", out, sizeof out), 2);
    int port = c.nodes[2].http_port;
    h_node_kill(&c, 2);
    char args[128];
    snprintf(args, sizeof args, "--url 127.0.0.1:%d status", port);
    assert_int_equal(h_parlayctl(&c, 0, args, out, sizeof out), 3);
    assert_non_null(strstr(out, "cannot reach"));
    h_cluster_destroy(&c);
}

static void transfer_leadership_and_change_roles(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 3);
    h_start_cluster(&c);
    int leader = h_wait_leader(&c, WAIT_MS);
    int target = (leader + 1) % 3, other = (leader + 2) % 3;
    char out[8192], args[64];
    snprintf(args, sizeof args, "transfer %d", c.nodes[target].id);
    int rc = h_parlayctl(&c, other, args, out, sizeof out);
    if (rc != 0)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_int_equal(h_wait_leader(&c, WAIT_MS), target);
    json_t *st = h_status(&c, other);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "leader"), "id")),
                     c.nodes[target].id);
    json_decref(st);

    /* Demote a follower to standby: it keeps replicating but no longer votes. */
    snprintf(args, sizeof args, "assign %d standby", c.nodes[other].id);
    assert_int_equal(h_parlayctl(&c, leader, args, out, sizeof out), 0);
    assert_int_equal(h_parlayctl(&c, leader, "--json members", out, sizeof out), 0);
    json_t *members = json_loads(out, 0, NULL);
    size_t k;
    json_t *m;
    int standby = 0;
    json_array_foreach(members, k, m) if (json_integer_value(json_object_get(m, "id")) ==
                                          c.nodes[other].id) standby =
        !strcmp(json_string_value(json_object_get(m, "role")), "standby");
    json_decref(members);
    assert_true(standby);
    /* Assigning the role it already has is refused with a clear message. */
    assert_int_equal(h_parlayctl(&c, leader, args, out, sizeof out), 1);
    assert_non_null(strstr(out, "refused"));
    /* Writes still commit (two voters), and the standby still receives them. */
    assert_int_equal(h_write_until_answer(&c, other, "POST", "/admin/v1/fixtures",
                                          h_fixture_body("t1"), "key-t1", NULL),
                     201);
    assert_true(h_wait_fixture(&c, other, "t1", "scheduled", 1));
    snprintf(args, sizeof args, "assign %d voter", c.nodes[other].id);
    assert_int_equal(h_parlayctl(&c, leader, args, out, sizeof out), 0);
    h_cluster_destroy(&c);
}

static void metrics_expose_raft_and_requests(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 3);
    h_start_cluster(&c);
    assert_int_equal(h_write_until_answer(&c, 1, "POST", "/admin/v1/fixtures",
                                          h_fixture_body("m1"), "key-m1", NULL),
                     201);
    char cmd[256], out[65536];
    snprintf(cmd, sizeof cmd, "curl -s http://127.0.0.1:%d/metrics", c.nodes[1].http_port);
    FILE *p = popen(cmd, "r");
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = 0;
    pclose(p);
    static const char *const series[] = {
        "parlay_raft_term ", "parlay_raft_commit_index ", "parlay_raft_applied_index ",
        "parlay_raft_leader ", "parlay_fsm_apply_errors_total 0",
        "parlay_http_requests_total{route=\"fixtures_write\",code=\"2xx\"}",
        "parlay_http_request_duration_seconds_bucket{route=\"fixtures_write\",le=\"+Inf\"}",
        "parlay_lmdb_used_bytes ", "parlay_forwarded_total "};
    for (size_t k = 0; k < sizeof series / sizeof *series; k++) {
        if (!strstr(out, series[k]))
            fprintf(stderr, "missing %s\n", series[k]);
        assert_non_null(strstr(out, series[k]));
    }
    h_cluster_destroy(&c);
}

/* Idempotency keys are remembered for idempotency_ttl_s, then swept by the leader on every
 * node alike: the same key may then name a new request. */
static void idempotency_keys_expire(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 3);
    c.extra_config = "{\"idempotency_ttl_s\": 1}";
    h_cluster_write_configs(&c);
    h_start_cluster(&c);
    assert_int_equal(h_write_until_answer(&c, 0, "POST", "/admin/v1/fixtures",
                                          h_fixture_body("x1"), "key-reused", NULL),
                     201);
    /* While the key is remembered, another request under it is refused. */
    struct h_resp r = h_http(&c, 1, "POST", "/admin/v1/fixtures", h_fixture_body("x2"),
                             "key-reused", true);
    assert_int_equal(r.status, 422);
    h_resp_free(&r);
    /* Once swept, the key is free: the new request is applied. */
    double deadline = h_now() + WAIT_MS / 1000.0;
    long st = 0;
    while (h_now() < deadline) {
        r = h_http(&c, 2, "POST", "/admin/v1/fixtures", h_fixture_body("x2"), "key-reused", true);
        st = r.status;
        h_resp_free(&r);
        if (st == 201)
            break;
        assert_int_equal(st, 422);
        h_sleep_ms(200);
    }
    assert_int_equal(st, 201);
    for (int i = 0; i < 3; i++)
        assert_true(h_wait_fixture(&c, i, "x2", "scheduled", 1));
    h_cluster_destroy(&c);
}

/* parlayd refuses a bad configuration with a message that names the key or the path. */
static void bad_config_refuses_to_start(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 1);
    struct {
        const char *key, *value; /* value: raw JSON; NULL removes the key */
        const char *expect;
    } cases[] = {
        {"colour", "\"red\"", "unknown key 'colour'"},
        {"raft_address", NULL, "missing key 'raft_address'"},
        {"http_address", "\"127.0.0.1:99999\"", "key 'http_address'"},
        {"raft_address", "\"localhost\"", "key 'raft_address'"},
        {"role", "\"casino\"", "key 'role'"},
        {"data_dir", "\"/proc/parlay-cannot-be-here\"", "key 'data_dir'"},
        {"admin_token_file", "\"/nonexistent/token\"", "/nonexistent/token"},
        {"cluster_secret_file", NULL, "missing key 'cluster_secret_file'"},
        {"cluster_secret_file", "\"/nonexistent/secret\"", "/nonexistent/secret"},
        {"cluster_secret_file", "\"/etc/hostname\"", "key 'cluster_secret_file'"},
        {"snapshot_threshold", "\"often\"", "key 'snapshot_threshold'"},
        {"heartbeat_timeout_ms", "5000", "key 'heartbeat_timeout_ms'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        json_t *cfg = json_load_file(c.nodes[0].config, 0, NULL);
        assert_non_null(cfg);
        if (cases[k].value)
            json_object_set_new(cfg, cases[k].key, json_loads(cases[k].value, JSON_DECODE_ANY, NULL));
        else
            json_object_del(cfg, cases[k].key);
        char path[600], cmd[1400], out[2048];
        snprintf(path, sizeof path, "%s/bad%zu.json", c.root, k);
        json_dump_file(cfg, path, 0);
        json_decref(cfg);
        snprintf(cmd, sizeof cmd, "build/parlayd-san --config %s 2>&1", path);
        FILE *p = popen(cmd, "r");
        size_t got = fread(out, 1, sizeof out - 1, p);
        out[got] = 0;
        int st = pclose(p);
        if (!strstr(out, cases[k].expect))
            fprintf(stderr, "case %zu: %s", k, out);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
        assert_non_null(strstr(out, cases[k].expect));
    }
    h_cluster_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_to_follower_is_visible_everywhere),
        cmocka_unit_test(kill_leader_while_writing_loses_nothing),
        cmocka_unit_test(graceful_restart_resumes),
        cmocka_unit_test(added_node_catches_up_through_snapshot),
        cmocka_unit_test(standby_for_a_match_day),
        cmocka_unit_test(partitioned_minority_refuses_writes),
        cmocka_unit_test(bad_input_gets_problem_json_and_changes_nothing),
        cmocka_unit_test(space_quota_makes_cluster_read_only),
        cmocka_unit_test(parlayctl_exit_codes),
        cmocka_unit_test(bad_config_refuses_to_start),
        cmocka_unit_test(transfer_leadership_and_change_roles),
        cmocka_unit_test(metrics_expose_raft_and_requests),
        cmocka_unit_test(idempotency_keys_expire),
    };
    return cmocka_run_group_tests_name("cluster", tests, NULL, NULL);
}
