/* The agreement layer's commands in the state machine, without raft: CMD_OBSERVATION_AGREED
 * stores fixtures, events (in seq order) and results, creates an agreed fixture, ignores a
 * second agreement for a subject, and refuses (as results that change nothing) bytes that are
 * not an observation or not about the subject, or whose signatures do not verify with the
 * signers' registered keys; CMD_MEMBER_KEY records members' keys only
 * with the new key's proof and, for a change, the old key's signature. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "consensus/fsm.h"
#include "consensus/observations.h"
#include "feed/feed.h"
#include "tests/unit/unit_util.h"

#include <secp256k1.h>

/* Members 1 and 2 have registered keys (setup, entries 1 and 2); the tests' own entries are
 * numbered from 11. */
#define util_apply(f, r, idx, ...) (util_apply)((f), (r), (idx) + 10, __VA_ARGS__)
#define IDX(i) ((i) + 10)

static const uint8_t SK[3][32] = {{0}, {[31] = 1}, {[31] = 2}};

struct ctx {
    char *dir;
    struct fsm *f;
    struct util_result r;
};

static void sign_hex(int node, const char *subject, const uint8_t *bytes, size_t len,
                     char out[129])
{
    uint8_t d[32];
    obs_digest("", subject, bytes, len, d); /* util_fsm_open names no cluster */
    util_sign_hex(SK[node], d, out);
}

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    c->dir = util_tmpdir();
    c->f = util_fsm_open(c->dir);
    util_capture_results(c->f, &c->r);
    for (int node = 1; node <= 2; node++)
        assert_int_equal((util_apply)(c->f, &c->r, (uint64_t)node, CMD_MEMBER_KEY, NULL, 0,
                                      util_member_key_payload((uint64_t)node, SK[node], NULL)),
                         200);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    fsm_close(c->f);
    util_rmdir(c->dir);
    free(c);
    return 0;
}

static struct feed_obs fixture_obs(const char *id, enum feed_sport sport)
{
    return util_fixture_obs(id, sport, "Arsenal", "Chelsea", 1795878000); /* 2026-11-28 15:00Z */
}

static struct feed_obs event_obs(const char *id, uint64_t seq)
{
    struct feed_obs o = {.kind = FEED_EVENT};
    snprintf(o.u.event.fixture, sizeof o.u.event.fixture, "%s", id);
    o.u.event.seq = seq;
    o.u.event.minute = (uint16_t)seq;
    o.u.event.period = 1;
    o.u.event.type = FEED_GOAL;
    o.u.event.team = FEED_HOME;
    return o;
}

static struct feed_obs result_obs(const char *id, uint16_t h, uint16_t a)
{
    struct feed_obs o = {.kind = FEED_RESULT};
    snprintf(o.u.result.fixture, sizeof o.u.result.fixture, "%s", id);
    o.u.result.status = FEED_FINAL;
    o.u.result.home = h;
    o.u.result.away = a;
    return o;
}

/* The payload of an agreement on @o (subject given, or @o's own when NULL). */
static char *agreed_payload(const struct feed_obs *o, const char *subject)
{
    uint8_t bytes[FEED_ENCODED_MAX];
    int len = feed_encode(o, bytes, sizeof bytes, NULL);
    assert_true(len > 0);
    char hex[2 * FEED_ENCODED_MAX + 1], subj[FEED_SUBJECT_MAX];
    obs_hex_encode(bytes, (size_t)len, hex);
    assert_true(feed_obs_subject(o, subj, sizeof subj) > 0);
    const char *sj = subject ? subject : subj;
    char s1[129], s2[129];
    sign_hex(1, sj, bytes, (size_t)len, s1);
    sign_hex(2, sj, bytes, (size_t)len, s2);
    json_t *p = json_pack("{s:s, s:s, s:[{s:i, s:s}, {s:i, s:s}]}", "subject", sj, "bytes",
                          hex, "signatures", "node", 1, "signature", s1, "node", 2,
                          "signature", s2);
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    return text;
}

static int apply_obs(struct ctx *c, uint64_t idx, const struct feed_obs *o, const char *subject)
{
    char *p = agreed_payload(o, subject);
    int st = util_apply(c->f, &c->r, idx, CMD_OBSERVATION_AGREED, NULL, 0, p);
    free(p);
    return st;
}

static json_t *get(struct ctx *c, const char *subject)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *rec = obs_agreed_get(c->f, txn, subject);
    fsm_read_end(txn);
    return rec;
}

static void test_fixture_agreed_creates_fixture(void **state)
{
    struct ctx *c = *state;
    struct feed_obs o = fixture_obs("FB-1", FEED_FOOTBALL);
    assert_int_equal(apply_obs(c, 1, &o, NULL), 201);
    json_t *rec = get(c, "fixture/FB-1");
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "kind")), "fixture");
    assert_int_equal(json_array_size(json_object_get(rec, "signatures")), 2);
    json_t *ob = json_object_get(rec, "observation");
    assert_string_equal(json_string_value(json_object_get(ob, "home")), "Arsenal");
    json_decref(rec);
    char *fx = util_get_fixture(c->f, "FB-1");
    assert_non_null(fx);
    json_t *j = json_loads(fx, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "scheduled");
    assert_string_equal(json_string_value(json_object_get(j, "kickoff")), "2026-11-28T15:00:00Z");
    assert_string_equal(json_string_value(json_object_get(j, "sport")), "football");
    json_decref(j);
    free(fx);
    /* A fixture of another sport is stored as agreed but not created here. */
    o = fixture_obs("TN-1", FEED_TENNIS);
    assert_int_equal(apply_obs(c, 2, &o, NULL), 201);
    assert_null(util_get_fixture(c->f, "TN-1"));
}

static void test_existing_fixture_kept(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(util_apply(c->f, &c->r, 1, CMD_FIXTURE_CREATE, NULL, 0,
                                util_fixture_json("FB-1", "Ligue 1", "2026-12-01T20:00:00Z")),
                     201);
    char *before = util_dump_fixtures(c->f);
    struct feed_obs o = fixture_obs("FB-1", FEED_FOOTBALL);
    assert_int_equal(apply_obs(c, 2, &o, NULL), 201);
    char *after = util_dump_fixtures(c->f);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_duplicate_ignored(void **state)
{
    struct ctx *c = *state;
    struct feed_obs o = result_obs("FB-1", 4, 2);
    assert_int_equal(apply_obs(c, 1, &o, NULL), 201);
    json_t *first = get(c, "result/FB-1");
    /* The same again, and other bytes for the same subject: ignored. */
    assert_int_equal(apply_obs(c, 2, &o, NULL), 200);
    json_t *b = json_loads(c->r.body, 0, NULL);
    assert_true(json_is_true(json_object_get(b, "duplicate")));
    assert_true(json_is_true(json_object_get(b, "same_bytes")));
    json_decref(b);
    o = result_obs("FB-1", 0, 7);
    assert_int_equal(apply_obs(c, 3, &o, NULL), 200);
    b = json_loads(c->r.body, 0, NULL);
    assert_true(json_is_false(json_object_get(b, "same_bytes")));
    json_decref(b);
    json_t *now = get(c, "result/FB-1");
    assert_true(json_equal(first, now));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(now, "observation"),
                                                        "home")),
                     4);
    json_decref(first);
    json_decref(now);
    assert_int_equal(fsm_last_applied(c->f), IDX(3));
}

static void test_events_in_seq_order(void **state)
{
    struct ctx *c = *state;
    uint64_t seqs[] = {2, 10, 1, 9};
    for (int i = 0; i < 4; i++) {
        struct feed_obs o = event_obs("FB-1", seqs[i]);
        assert_int_equal(apply_obs(c, (uint64_t)i + 1, &o, NULL), 201);
    }
    struct feed_obs other = event_obs("FB-10", 1); /* a prefix-sharing id stays apart */
    assert_int_equal(apply_obs(c, 5, &other, NULL), 201);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *evs = obs_agreed_events(c->f, txn, "FB-1");
    json_t *none = obs_agreed_events(c->f, txn, "FB-2");
    fsm_read_end(txn);
    assert_int_equal(json_array_size(evs), 4);
    uint64_t want[] = {1, 2, 9, 10};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(json_array_get(evs, i), "observation"), "seq")),
                         want[i]);
    assert_int_equal(json_array_size(none), 0);
    json_decref(evs);
    json_decref(none);
    json_t *rec = get(c, "event/FB-1/9");
    assert_non_null(rec);
    json_decref(rec);
}

static struct feed_obs odds_obs(const char *id, uint64_t seq, uint32_t home)
{
    struct feed_obs o = {.kind = FEED_ODDS};
    snprintf(o.u.odds.fixture, sizeof o.u.odds.fixture, "%s", id);
    o.u.odds.seq = seq;
    o.u.odds.books = 2;
    uint32_t row[2][3] = {{home, 3400, 3600}, {home + 50, 3300, 3500}};
    memcpy(o.u.odds.milli, row, sizeof row);
    return o;
}

/* Market snapshots: stored under odds/ID/SEQ, the newest by seq (not by arrival) is the one
 * pricing reads, a prefix-sharing id stays apart, and no fixture or market changes. */
static void test_odds_latest(void **state)
{
    struct ctx *c = *state;
    struct feed_obs fx = fixture_obs("FB-1", FEED_FOOTBALL);
    assert_int_equal(apply_obs(c, 1, &fx, NULL), 201);
    char *before = util_dump_fixtures(c->f);
    uint64_t seqs[] = {2, 5, 1};
    for (int i = 0; i < 3; i++) {
        struct feed_obs o = odds_obs("FB-1", seqs[i], 2000 - 50 * (uint32_t)seqs[i]);
        assert_int_equal(apply_obs(c, (uint64_t)i + 2, &o, NULL), 201);
    }
    struct feed_obs other = odds_obs("FB-10", 9, 1900);
    assert_int_equal(apply_obs(c, 5, &other, NULL), 201);
    char *after = util_dump_fixtures(c->f);
    assert_string_equal(before, after);
    free(before);
    free(after);
    MDB_txn *txn;
    struct feed_odds got, none;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    assert_int_equal(obs_agreed_odds_latest(c->f, txn, "FB-1", &got), 0);
    assert_int_equal(obs_agreed_odds_latest(c->f, txn, "FB-2", &none), -1);
    fsm_read_end(txn);
    struct feed_obs want = odds_obs("FB-1", 5, 1750);
    assert_int_equal(got.seq, 5);
    assert_memory_equal(got.milli, want.u.odds.milli, sizeof got.milli);
    json_t *rec = get(c, "odds/FB-1/2");
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "kind")), "odds");
    json_decref(rec);
}

static void expect_refused(struct ctx *c, uint64_t idx, const char *payload)
{
    char *before = util_dump_fixtures(c->f);
    assert_int_equal(util_apply(c->f, &c->r, idx, CMD_OBSERVATION_AGREED, NULL, 0, payload), 422);
    char *after = util_dump_fixtures(c->f);
    assert_string_equal(before, after);
    assert_int_equal(fsm_last_applied(c->f), IDX(idx));
    free(before);
    free(after);
}

static void test_refusals_change_nothing(void **state)
{
    struct ctx *c = *state;
    struct feed_obs o = fixture_obs("FB-1", FEED_FOOTBALL);
    char *p = agreed_payload(&o, "fixture/FB-2"); /* bytes about another fixture */
    expect_refused(c, 1, p);
    free(p);
    p = agreed_payload(&o, "result/FB-1"); /* another kind */
    expect_refused(c, 2, p);
    free(p);
    expect_refused(c, 3, "{\"subject\":\"fixture/FB-1\",\"bytes\":\"0103\","
                         "\"signatures\":[{\"node\":1,\"signature\":\"aa\"}]}");
    expect_refused(c, 4, "{\"subject\":\"fixture/FB-1\",\"bytes\":\"zz\","
                         "\"signatures\":[{\"node\":1,\"signature\":\"aa\"}]}");
    char *good = agreed_payload(&o, NULL);
    json_t *j = json_loads(good, 0, NULL);
    json_object_set_new(j, "signatures", json_array());
    char *nosig = json_dumps(j, JSON_COMPACT);
    expect_refused(c, 5, nosig);
    json_decref(j);
    free(nosig);
    free(good);
    expect_refused(c, 6, "not json");
    assert_null(get(c, "fixture/FB-1"));
    assert_null(get(c, "fixture/FB-2"));
}

/* The signatures are checked on apply: each must be a distinct member's, over these bytes
 * and this subject, with its registered key. */
static void test_signatures_checked(void **state)
{
    struct ctx *c = *state;
    struct feed_obs o = result_obs("FB-1", 4, 2);
    char *good = agreed_payload(&o, NULL);
    json_t *j = json_loads(good, 0, NULL);
    json_t *sigs = json_object_get(j, "signatures");
    json_t *s1 = json_object_get(json_array_get(sigs, 0), "signature");
    /* Node 1's signature under node 2's name. */
    json_t *w = json_deep_copy(j);
    json_object_set(json_array_get(json_object_get(w, "signatures"), 1), "signature", s1);
    char *t = json_dumps(w, JSON_COMPACT);
    expect_refused(c, 1, t);
    free(t);
    json_decref(w);
    /* A node with no registered key. */
    w = json_deep_copy(j);
    json_object_set_new(json_array_get(json_object_get(w, "signatures"), 1), "node",
                        json_integer(3));
    t = json_dumps(w, JSON_COMPACT);
    expect_refused(c, 2, t);
    free(t);
    json_decref(w);
    /* The same node twice. */
    w = json_deep_copy(j);
    json_array_set(json_object_get(w, "signatures"), 1,
                   json_array_get(json_object_get(w, "signatures"), 0));
    t = json_dumps(w, JSON_COMPACT);
    expect_refused(c, 3, t);
    free(t);
    json_decref(w);
    /* Other bytes than the ones signed. */
    struct feed_obs lie = result_obs("FB-1", 0, 7);
    uint8_t bytes[FEED_ENCODED_MAX];
    char hex[2 * FEED_ENCODED_MAX + 1];
    int len = feed_encode(&lie, bytes, sizeof bytes, NULL);
    obs_hex_encode(bytes, (size_t)len, hex);
    w = json_deep_copy(j);
    json_object_set_new(w, "bytes", json_string(hex));
    t = json_dumps(w, JSON_COMPACT);
    expect_refused(c, 4, t);
    free(t);
    json_decref(w);
    assert_null(get(c, "result/FB-1"));
    assert_int_equal(util_apply(c->f, &c->r, 5, CMD_OBSERVATION_AGREED, NULL, 0, good), 201);
    json_decref(j);
    free(good);
}

static void member_key_is(struct ctx *c, uint64_t id, const char *want)
{
    MDB_txn *txn;
    char out[67];
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    int rv = obs_member_key(c->f, txn, id, out);
    fsm_read_end(txn);
    if (!want) {
        assert_int_equal(rv, -1);
        return;
    }
    assert_int_equal(rv, 0);
    assert_string_equal(out, want);
}

static void test_member_key(void **state)
{
    struct ctx *c = *state;
    static const uint8_t sk3[32] = {[31] = 3}, sk4[32] = {[31] = 4};
    char pk3[67], pk4[67];
    util_pub_hex(sk3, pk3);
    util_pub_hex(sk4, pk4);
    assert_int_equal(util_apply(c->f, &c->r, 1, CMD_MEMBER_KEY, NULL, 0,
                                util_member_key_payload(3, sk3, NULL)),
                     200);
    member_key_is(c, 3, pk3);
    member_key_is(c, 4, NULL);
    assert_int_equal(util_apply(c->f, &c->r, 2, CMD_MEMBER_KEY, NULL, 0,
                                "{\"id\":3,\"public_key\":\"04zz\"}"),
                     422);
    assert_int_equal(util_apply(c->f, &c->r, 3, CMD_MEMBER_KEY, NULL, 0,
                                "{\"id\":0,\"public_key\":\"02aabbccddeeff00112233445566778899"
                                "aabbccddeeff00112233445566778899\"}"),
                     422);
    member_key_is(c, 3, pk3);
    /* Registering the same key again (a node restarting) is fine. */
    assert_int_equal(util_apply(c->f, &c->r, 4, CMD_MEMBER_KEY, NULL, 0,
                                util_member_key_payload(3, sk3, NULL)),
                     200);
    member_key_is(c, 3, pk3);
}

/* Issue 16, finding 3: whoever holds the admin token cannot swap a member's key. */
static void test_member_key_needs_the_member(void **state)
{
    struct ctx *c = *state;
    static const uint8_t sk3[32] = {[31] = 3}, sk4[32] = {[31] = 4};
    char pk1[67], pk3[67], payload[512];
    util_pub_hex(SK[1], pk1);
    util_pub_hex(sk3, pk3);
    /* No proof at all (today's admin request): refused. */
    snprintf(payload, sizeof payload, "{\"id\":5,\"public_key\":\"%s\"}", pk3);
    assert_int_equal(util_apply(c->f, &c->r, 1, CMD_MEMBER_KEY, NULL, 0, payload), 422);
    assert_non_null(strstr(c->r.body, "Invalid member key"));
    member_key_is(c, 5, NULL);
    /* A proof by another key than the one registered: refused. */
    const char *good = util_member_key_payload(5, sk3, NULL);
    json_t *j = json_loads(good, 0, NULL);
    json_object_set_new(j, "public_key", json_string(pk1));
    char *text = json_dumps(j, JSON_COMPACT);
    assert_int_equal(util_apply(c->f, &c->r, 2, CMD_MEMBER_KEY, NULL, 0, text), 403);
    assert_non_null(strstr(c->r.body, "Key not proven"));
    free(text);
    json_decref(j);
    /* A proof made for another member id does not carry over. */
    j = json_loads(util_member_key_payload(5, sk3, NULL), 0, NULL);
    json_object_set_new(j, "id", json_integer(6));
    text = json_dumps(j, JSON_COMPACT);
    assert_int_equal(util_apply(c->f, &c->r, 3, CMD_MEMBER_KEY, NULL, 0, text), 403);
    free(text);
    json_decref(j);
    member_key_is(c, 6, NULL);
    /* Member 1 has a key: a fresh key with its own proof but no old-key signature is refused,
     * and so is an old-key signature by the wrong key. */
    assert_int_equal(util_apply(c->f, &c->r, 4, CMD_MEMBER_KEY, NULL, 0,
                                util_member_key_payload(1, sk3, NULL)),
                     403);
    assert_non_null(strstr(c->r.body, "Key change not authorized"));
    assert_int_equal(util_apply(c->f, &c->r, 5, CMD_MEMBER_KEY, NULL, 0,
                                util_member_key_payload(1, sk3, sk4)),
                     403);
    member_key_is(c, 1, pk1);
    /* With the old key's signature over the change, the member rotates its key. */
    assert_int_equal(util_apply(c->f, &c->r, 6, CMD_MEMBER_KEY, NULL, 0,
                                util_member_key_payload(1, sk3, SK[1])),
                     200);
    member_key_is(c, 1, pk3);
}

static void test_digest_is_domain_separated(void **state)
{
    (void)state;
    uint8_t a[32], b[32], d[32];
    const uint8_t bytes[] = {1, 3, 0};
    obs_digest("football", "result/X", bytes, sizeof bytes, a);
    obs_digest("tennis", "result/X", bytes, sizeof bytes, b);
    obs_digest("football", "result/Y", bytes, sizeof bytes, d);
    assert_memory_not_equal(a, b, 32);
    assert_memory_not_equal(a, d, 32);
}

int main(void)
{
    util_log_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fixture_agreed_creates_fixture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_existing_fixture_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_in_seq_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odds_latest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signatures_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_key_needs_the_member, setup, teardown),
        cmocka_unit_test(test_digest_is_domain_separated),
    };
    return cmocka_run_group_tests_name("observations", tests, NULL, NULL);
}
