/* Agreed observations end to end: three real parlayd processes, each reading its own real
 * parlay-feedsim process (tests/feedsim/scenarios/football.json, clock stopped and then moved past the
 * final whistle through the simulator's admin API).
 *
 *   honest      three honest simulators: the fixture, every live event and the result are
 *               agreed, and each stored signature verifies here, independently of the node
 *               (SHA-256 of the documented message, secp256k1 against the attested key);
 *   one liar    node 3's simulator gives another score: the result is agreed from nodes 1
 *               and 2 with their bytes, and node 3 is counted as a dissenter in the leader's
 *               metrics and admin status;
 *   two liars   nodes 2 and 3 give two different wrong scores: once the leader holds all
 *               three votes for the result (its admin status lists them as pending), no byte
 *               string has a quorum, and the result answers 404 on every node while the
 *               fixture and the events are agreed;
 *   forged      another member's signature, a stranger, bytes the signature is not over: 403;
 *   resend      the leader dies holding one node's vote for the result; that node resends
 *               it to the new leader, and the result is agreed with the third node's vote;
 *   key swap    the admin token tries to replace a member's key with a fresh one (proven by
 *               the new key, not signed by the old one): 403, and every node keeps the old.
 *
 * Every wait is a condition polled with a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <secp256k1.h>

#include "tests/feedsim/simproc.h"
#include "tests/integration/harness.h"

#define SCENARIO "tests/feedsim/scenarios/football.json"
#define FIXTURE "FB-1001"

static unsigned scenario_events(void)
{
    json_t *s = json_load_file(SCENARIO, 0, NULL);
    assert_non_null(s);
    unsigned n = 0;
    size_t i;
    json_t *fx;
    json_array_foreach(json_object_get(s, "fixtures"), i, fx)
    {
        if (!strcmp(json_string_value(json_object_get(fx, "id")), FIXTURE))
            n = (unsigned)json_array_size(json_object_get(fx, "events"));
    }
    json_decref(s);
    return n;
}

/* Verify every signature of an attestation the way an outsider would. Returns how many. */
static unsigned verify_attestation(json_t *att, const char *cluster)
{
    const char *subject = json_string_value(json_object_get(att, "subject"));
    const char *hex = json_string_value(json_object_get(att, "bytes"));
    assert_non_null(subject);
    assert_non_null(hex);
    uint8_t bytes[1024], digest[32];
    size_t bl = h_unhex(hex, bytes, sizeof bytes);
    static const char tag[] = "parlay-observation-v1";
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, tag, sizeof tag);
    EVP_DigestUpdate(md, cluster, strlen(cluster) + 1);
    EVP_DigestUpdate(md, subject, strlen(subject) + 1);
    EVP_DigestUpdate(md, bytes, bl);
    EVP_DigestFinal_ex(md, digest, NULL);
    EVP_MD_CTX_free(md);
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    unsigned ok = 0;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(att, "signatures"), i, s)
    {
        uint8_t pk[33], sig[64];
        const char *pkh = json_string_value(json_object_get(s, "public_key"));
        const char *sh = json_string_value(json_object_get(s, "signature"));
        assert_non_null(pkh);
        assert_non_null(sh);
        assert_int_equal(h_unhex(pkh, pk, sizeof pk), 33);
        assert_int_equal(h_unhex(sh, sig, sizeof sig), 64);
        secp256k1_pubkey pub;
        secp256k1_ecdsa_signature es;
        assert_true(secp256k1_ec_pubkey_parse(ctx, &pub, pk, 33));
        assert_true(secp256k1_ecdsa_signature_parse_compact(ctx, &es, sig));
        assert_true(secp256k1_ecdsa_verify(ctx, &es, digest, &pub));
        /* A tampered message does not verify. */
        digest[0] ^= 1;
        assert_false(secp256k1_ecdsa_verify(ctx, &es, digest, &pub));
        digest[0] ^= 1;
        ok++;
    }
    secp256k1_context_destroy(ctx);
    return ok;
}

struct setup {
    struct h_cluster c;
    struct simproc sims[3];
};

/* Three simulators (lies[i]: NULL or a --lie-score argument), three nodes each reading one. */
static void advance(struct setup *s, int i)
{
    json_t *r = simproc_admin(&s->sims[i], "/admin/v1/advance", "{\"seconds\": 100000}");
    assert_non_null(r);
    json_decref(r);
}

static void start_paused(struct setup *s, const char *const lies[3])
{
    for (int i = 0; i < 3; i++) {
        const char *args[5] = {"--speed", "0", NULL, NULL, NULL};
        if (lies[i]) {
            args[2] = "--lie-score";
            args[3] = lies[i];
        }
        simproc_start(&s->sims[i], SCENARIO, args);
    }
    h_cluster_init(&s->c, 3);
    for (int i = 0; i < 3; i++)
        snprintf(s->c.node_extra[i], sizeof s->c.node_extra[i],
                 "{\"feed_url\": \"%s\", \"feed_adapter\": \"%s\", \"feed_poll_ms\": 50}",
                 s->sims[i].url, i == 1 ? "rest" : "sse");
    h_cluster_write_configs(&s->c);
    h_start_cluster(&s->c);
}

static void start(struct setup *s, const char *const lies[3])
{
    start_paused(s, lies);
    /* Past the final whistle: everything is published at once. */
    for (int i = 0; i < 3; i++)
        advance(s, i);
}

static void stop(struct setup *s)
{
    h_cluster_destroy(&s->c);
    for (int i = 0; i < 3; i++)
        simproc_stop(&s->sims[i]);
}

/* GET @path on node @i until it answers @status, or the deadline. Returns the body. */
static json_t *wait_status(struct h_cluster *c, int i, const char *path, long status)
{
    double end = h_now() + H_WAIT_MS / 1000.0;
    while (h_now() < end) {
        struct h_resp r = h_http(c, i, "GET", path, NULL, NULL, false);
        if (r.status == status) {
            json_t *j = r.json;
            r.json = NULL;
            h_resp_free(&r);
            return j ? j : json_object();
        }
        h_resp_free(&r);
        h_sleep_ms(50);
    }
    fail_msg("node %d: %s never answered %ld", i + 1, path, status);
    return NULL;
}

static void wait_events(struct h_cluster *c, int i, unsigned want)
{
    double end = h_now() + H_WAIT_MS / 1000.0;
    size_t got = 0;
    while (h_now() < end) {
        struct h_resp r = h_http(c, i, "GET", "/v1/fixtures/" FIXTURE "/events", NULL, NULL, false);
        got = r.status == 200 ? json_array_size(json_object_get(r.json, "items")) : 0;
        if (got == want) {
            /* In seq order, each with a quorum of signatures. */
            size_t k;
            json_t *e;
            json_array_foreach(json_object_get(r.json, "items"), k, e)
            {
                json_t *o = json_object_get(e, "observation");
                assert_int_equal(json_integer_value(json_object_get(o, "seq")), (json_int_t)k + 1);
                assert_true(json_array_size(json_object_get(e, "signatures")) >= 2);
            }
            h_resp_free(&r);
            return;
        }
        h_resp_free(&r);
        h_sleep_ms(50);
    }
    fail_msg("node %d: %zu agreed events, want %u", i + 1, got, want);
}

/* Wait until the leader's /metrics counts a dissent for @node, and its status shows it. */
static void wait_dissent(struct h_cluster *c, int leader, int node)
{
    char needle[96];
    snprintf(needle, sizeof needle, "parlay_observation_dissent_total{node=\"%d\"} ", node);
    double end = h_now() + H_WAIT_MS / 1000.0;
    while (h_now() < end) {
        json_t *st = h_status(c, leader);
        json_t *d = json_object_get(json_object_get(st, "observations"), "dissent");
        char k[16];
        snprintf(k, sizeof k, "%d", node);
        bool in_status = json_integer_value(json_object_get(d, k)) >= 1;
        json_decref(st);
        if (in_status) {
            /* The metric, read as text (the harness parses JSON bodies only). */
            char cmd[256], out[65536];
            snprintf(cmd, sizeof cmd, "curl -s http://127.0.0.1:%d/metrics",
                     c->nodes[leader].http_port);
            FILE *f = popen(cmd, "r");
            size_t n = fread(out, 1, sizeof out - 1, f);
            pclose(f);
            out[n] = 0;
            assert_non_null(strstr(out, needle));
            return;
        }
        h_sleep_ms(50);
    }
    fail_msg("node %d was never flagged as a dissenter", node);
}

static void honest(void **state)
{
    (void)state;
    static struct setup s;
    const char *lies[3] = {NULL, NULL, NULL};
    start(&s, lies);
    unsigned nev = scenario_events();
    assert_true(nev > 5);
    for (int i = 0; i < 3; i++) {
        json_t *fx = wait_status(&s.c, i, "/v1/fixtures/" FIXTURE, 200);
        assert_string_equal(json_string_value(json_object_get(fx, "home")), "Arsenal");
        json_decref(fx);
        wait_events(&s.c, i, nev);
        json_t *res = wait_status(&s.c, i, "/v1/fixtures/" FIXTURE "/result", 200);
        json_t *o = json_object_get(res, "observation");
        assert_int_equal(json_integer_value(json_object_get(o, "home")), 4);
        assert_int_equal(json_integer_value(json_object_get(o, "away")), 2);
        assert_true(verify_attestation(res, "football") >= 2);
        json_decref(res);
    }
    json_t *att = wait_status(&s.c, 0, "/v1/observations/fixture/" FIXTURE "/attestation", 200);
    assert_true(verify_attestation(att, "football") >= 2);
    json_decref(att);
    att = wait_status(&s.c, 2, "/v1/observations/event/" FIXTURE "/3/attestation", 200);
    assert_true(verify_attestation(att, "football") >= 2);
    json_decref(att);
    json_t *missing = wait_status(&s.c, 0, "/v1/observations/result/NOPE/attestation", 404);
    json_decref(missing);
    stop(&s);
}

static void one_liar(void **state)
{
    (void)state;
    static struct setup s;
    const char *lies[3] = {NULL, NULL, FIXTURE "=0-7"};
    start(&s, lies);
    for (int i = 0; i < 3; i++) {
        json_t *res = wait_status(&s.c, i, "/v1/fixtures/" FIXTURE "/result", 200);
        json_t *o = json_object_get(res, "observation");
        assert_int_equal(json_integer_value(json_object_get(o, "home")), 4);
        assert_int_equal(json_integer_value(json_object_get(o, "away")), 2);
        json_t *sig;
        size_t k;
        json_array_foreach(json_object_get(res, "signatures"), k, sig)
            assert_int_not_equal(json_integer_value(json_object_get(sig, "node")), 3);
        assert_int_equal(verify_attestation(res, "football"), 2);
        json_decref(res);
    }
    int leader = h_wait_leader(&s.c, H_WAIT_MS);
    assert_true(leader >= 0);
    wait_dissent(&s.c, leader, 3);
    char out[8192];
    assert_int_equal(h_parlayctl(&s.c, leader, "status", out, sizeof out), 0);
    assert_non_null(strstr(out, "dissent   node 3: "));
    stop(&s);
}

static void two_liars(void **state)
{
    (void)state;
    static struct setup s;
    const char *lies[3] = {NULL, FIXTURE "=1-1", FIXTURE "=3-3"};
    start(&s, lies);
    unsigned nev = scenario_events();
    int leader = h_wait_leader(&s.c, H_WAIT_MS);
    assert_true(leader >= 0);
    /* The leader holds three different votes for the result. */
    double end = h_now() + H_WAIT_MS / 1000.0;
    bool three = false;
    while (!three && h_now() < end) {
        json_t *st = h_status(&s.c, leader);
        json_t *p = json_object_get(json_object_get(json_object_get(st, "observations"),
                                                    "pending"),
                                    "result/" FIXTURE);
        size_t voters = 0, k;
        json_t *v;
        json_array_foreach(p, k, v) voters += json_array_size(json_object_get(v, "nodes"));
        three = json_array_size(p) == 3 && voters == 3;
        json_decref(st);
        if (!three)
            h_sleep_ms(50);
    }
    assert_true(three);
    for (int i = 0; i < 3; i++) {
        wait_events(&s.c, i, nev);
        json_t *r = wait_status(&s.c, i, "/v1/fixtures/" FIXTURE "/result", 404);
        json_decref(r);
    }
    /* Still pending on the leader (nothing was proposed for it). */
    json_t *st = h_status(&s.c, leader);
    assert_non_null(json_object_get(json_object_get(json_object_get(st, "observations"),
                                                    "pending"),
                                    "result/" FIXTURE));
    json_decref(st);
    stop(&s);
}

/* POST an observation to the leader as node @node_id; returns the status. */
static long post_obs(struct h_cluster *c, int leader, int node_id, const char *subject,
                     const char *bytes, const char *sig)
{
    char body[2048];
    snprintf(body, sizeof body,
             "{\"node_id\": %d, \"subject\": \"%s\", \"bytes\": \"%s\", \"signature\": "
             "\"%s\"}",
             node_id, subject, bytes, sig);
    struct h_resp r = h_http(c, leader, "POST", "/internal/v1/observations", body, NULL, false);
    long st = r.status;
    h_resp_free(&r);
    return st;
}

static bool has_vote(json_t *st, const char *subject, int node)
{
    json_t *p = json_object_get(json_object_get(json_object_get(st, "observations"), "pending"),
                                subject);
    size_t k, j;
    json_t *v, *n;
    json_array_foreach(p, k, v) json_array_foreach(json_object_get(v, "nodes"), j, n)
    {
        if (json_integer_value(n) == node)
            return true;
    }
    return false;
}

/* Forged observations are refused: another member's signature under node 1's name, a
 * signature over other bytes, a node that is not a member. Nothing is counted for them. */
static void forged_refused(void **state)
{
    (void)state;
    static struct setup s;
    const char *lies[3] = {NULL, NULL, NULL};
    start(&s, lies);
    json_t *res = wait_status(&s.c, 0, "/v1/fixtures/" FIXTURE "/result", 200);
    const char *bytes = json_string_value(json_object_get(res, "bytes"));
    json_t *sig0 = json_array_get(json_object_get(res, "signatures"), 0);
    int signer = (int)json_integer_value(json_object_get(sig0, "node"));
    const char *sig = json_string_value(json_object_get(sig0, "signature"));
    int other = signer == 1 ? 2 : 1;
    int leader = h_wait_leader(&s.c, H_WAIT_MS);
    assert_true(leader >= 0);
    /* The genuine one is accepted (and ignored: already agreed). */
    assert_int_equal(post_obs(&s.c, leader, signer, "result/" FIXTURE, bytes, sig), 202);
    /* Someone else's signature, a subject it does not sign, a stranger, garbage. */
    assert_int_equal(post_obs(&s.c, leader, other, "result/" FIXTURE, bytes, sig), 403);
    assert_int_equal(post_obs(&s.c, leader, signer, "result/FB-9999", bytes, sig), 403);
    assert_int_equal(post_obs(&s.c, leader, 9, "result/" FIXTURE, bytes, sig), 403);
    assert_int_equal(post_obs(&s.c, leader, signer, "result/" FIXTURE, "0103", sig), 403);
    assert_int_equal(post_obs(&s.c, leader, signer, "result/" FIXTURE, bytes, "00"), 422);
    json_decref(res);
    stop(&s);
}

/* The leader dies holding one vote for the result: the voter resends it to the new leader,
 * which agrees once the third node's simulator publishes the result too. */
static void resend_after_leader_change(void **state)
{
    (void)state;
    static struct setup s;
    const char *lies[3] = {NULL, NULL, NULL};
    start_paused(&s, lies);
    int leader = h_wait_leader(&s.c, H_WAIT_MS);
    assert_true(leader >= 0);
    int f1 = (leader + 1) % 3, f2 = (leader + 2) % 3;
    advance(&s, f1);
    /* The leader holds f1's vote for the result, and nobody else's. */
    double end = h_now() + H_WAIT_MS / 1000.0;
    bool held = false;
    while (!held && h_now() < end) {
        json_t *st = h_status(&s.c, leader);
        held = has_vote(st, "result/" FIXTURE, f1 + 1);
        json_decref(st);
        if (!held)
            h_sleep_ms(50);
    }
    assert_true(held);
    struct h_resp r = h_http(&s.c, f1, "GET", "/v1/fixtures/" FIXTURE "/result", NULL, NULL, false);
    assert_int_equal(r.status, 404);
    h_resp_free(&r);
    h_node_kill(&s.c, leader);
    int nl = h_wait_leader(&s.c, H_WAIT_MS);
    assert_true(nl == f1 || nl == f2);
    advance(&s, f2);
    for (int i = 0; i < 3; i++) {
        if (i == leader)
            continue;
        json_t *res = wait_status(&s.c, i, "/v1/fixtures/" FIXTURE "/result", 200);
        assert_int_equal(verify_attestation(res, "football"), 2);
        json_decref(res);
    }
    stop(&s);
}

/* The public key an attestation on node @i lists for member @member (the registered one). */
static char *attested_key(struct h_cluster *c, int i, int member)
{
    json_t *att = wait_status(c, i, "/v1/observations/fixture/" FIXTURE "/attestation", 200);
    char *pk = NULL;
    size_t k;
    json_t *sg;
    json_array_foreach(json_object_get(att, "signatures"), k, sg)
    {
        if (json_integer_value(json_object_get(sg, "node")) == member)
            pk = strdup(json_string_value(json_object_get(sg, "public_key")));
    }
    json_decref(att);
    assert_non_null(pk);
    return pk;
}

/* SHA-256 of "parlay-member-key-v1" NUL cluster NUL id NUL public_key, as documented. */
static void key_proof_digest(const char *cluster, int id, const char *pk, uint8_t out[32])
{
    char msg[256];
    int n = snprintf(msg, sizeof msg, "parlay-member-key-v1%c%s%c%d%c%s", 0, cluster, 0, id, 0,
                     pk);
    assert_true(n > 0 && (size_t)n < sizeof msg);
    EVP_Digest(msg, (size_t)n, out, NULL, EVP_sha256(), NULL);
}

/* Issue 16, finding 3: the admin token alone cannot replace a running member's signing key.
 * A fresh key with a valid proof of possession, but without the old key's signature over the
 * change, is refused (403 problem+json, "Key change not authorized") on the leader and on a
 * follower, and every node still lists the member's own key. */
static void admin_cannot_replace_key(void **state)
{
    (void)state;
    static struct setup s;
    const char *lies[3] = {NULL, NULL, NULL};
    start(&s, lies);
    int leader = h_wait_leader(&s.c, H_WAIT_MS);
    assert_true(leader >= 0);
    /* The victim: a member whose signature the agreed fixture carries. */
    json_t *att = wait_status(&s.c, 0, "/v1/observations/fixture/" FIXTURE "/attestation", 200);
    int victim = (int)json_integer_value(
                     json_object_get(json_array_get(json_object_get(att, "signatures"), 0),
                                     "node")) -
                 1;
    json_decref(att);
    assert_true(victim >= 0 && victim < 3);
    json_t *st = h_status(&s.c, victim);
    char own[67];
    snprintf(own, sizeof own, "%s", json_string_value(json_object_get(st, "public_key")));
    json_decref(st);
    /* The token holder's fresh key, proven by itself. */
    static const uint8_t sk[32] = {[0] = 0x5a, [31] = 0x77};
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    secp256k1_pubkey pub;
    secp256k1_ecdsa_signature sig;
    uint8_t ser[33], sigser[64], digest[32];
    size_t sl = sizeof ser;
    char pk[67], proof[129], body[512];
    assert_true(secp256k1_ec_pubkey_create(ctx, &pub, sk));
    secp256k1_ec_pubkey_serialize(ctx, ser, &sl, &pub, SECP256K1_EC_COMPRESSED);
    for (int i = 0; i < 33; i++)
        snprintf(pk + 2 * i, 3, "%02x", ser[i]);
    key_proof_digest("football", victim + 1, pk, digest);
    assert_true(secp256k1_ecdsa_sign(ctx, &sig, digest, sk, NULL, NULL));
    secp256k1_ecdsa_signature_serialize_compact(ctx, sigser, &sig);
    for (int i = 0; i < 64; i++)
        snprintf(proof + 2 * i, 3, "%02x", sigser[i]);
    secp256k1_context_destroy(ctx);
    snprintf(body, sizeof body, "{\"id\": %d, \"public_key\": \"%s\", \"proof\": \"%s\"}",
             victim + 1, pk, proof);
    int targets[2] = {leader, (leader + 1) % 3}; /* the leader, and a follower that forwards */
    for (int t = 0; t < 2; t++) {
        char idem[32];
        snprintf(idem, sizeof idem, "swap-key-%d", t);
        struct h_resp r = h_http(&s.c, targets[t], "POST", "/internal/v1/member-key", body, idem,
                                 true);
        assert_int_equal(r.status, 403);
        assert_string_equal(r.content_type, "application/problem+json");
        assert_string_equal(json_string_value(json_object_get(r.json, "title")),
                            "Key change not authorized");
        h_resp_free(&r);
    }
    /* Nothing changed anywhere, also after a later write is applied everywhere. */
    struct h_resp w = h_http(&s.c, leader, "POST", "/admin/v1/fixtures",
                             h_fixture_body("FB-KEY-1"), "key-barrier", true);
    assert_int_equal(w.status, 201);
    h_resp_free(&w);
    for (int i = 0; i < 3; i++) {
        assert_true(h_wait_fixture(&s.c, i, "FB-KEY-1", "scheduled", 1));
        char *got = attested_key(&s.c, i, victim + 1);
        assert_string_equal(got, own);
        free(got);
    }
    stop(&s);
}

int main(void)
{
    /* The harness exits the program when a cluster does not come up: the simulators go too. */
    atexit(simproc_stop_all);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(honest),
        cmocka_unit_test(one_liar),
        cmocka_unit_test(two_liars),
        cmocka_unit_test(forged_refused),
        cmocka_unit_test(resend_after_leader_change),
        cmocka_unit_test(admin_cannot_replace_key),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    simproc_stop_all();
    return rv;
}
