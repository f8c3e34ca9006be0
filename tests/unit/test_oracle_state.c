/* The oracle's commands in the state machine, without raft (consensus/oracle_state.c):
 * CMD_ORACLE_SIGNED keeps a result's signatures only for the result this state machine agreed,
 * with the documented match id, each signature a distinct member's recovering to the address
 * of its registered key over the contract's digest; anything else is refused as a result that
 * changes nothing. CMD_ORACLE_TX assigns journal ids and moves the result along; CMD_ORACLE_DONE
 * records the final state once. */
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
#include "consensus/oracle_state.h"
#include "feed/feed.h"
#include "oracle/oracle.h"
#include "tests/unit/unit_util.h"

static const uint8_t SK[4][32] = {{0}, {[31] = 1}, {[31] = 2}, {[31] = 3}};
static const char CONTRACT[] = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
#define CHAIN 31337

struct ctx {
    char *dir;
    struct fsm *f;
    struct util_result r;
    uint64_t idx;
};

static int apply(struct ctx *c, uint16_t type, const char *payload)
{
    return util_apply(c->f, &c->r, ++c->idx, type, NULL, 0, payload);
}

/* Members 1 and 2 have keys; FB-1 is agreed 3-1 (signed by both). Member 3 has none. */
static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    c->dir = util_tmpdir();
    c->f = util_fsm_open(c->dir);
    util_capture_results(c->f, &c->r);
    for (int node = 1; node <= 2; node++)
        assert_int_equal(apply(c, CMD_MEMBER_KEY,
                               util_member_key_payload((uint64_t)node, SK[node], NULL)),
                         200);
    struct feed_obs o = {.kind = FEED_RESULT};
    snprintf(o.u.result.fixture, sizeof o.u.result.fixture, "FB-1");
    o.u.result.status = FEED_FINAL;
    o.u.result.home = 3;
    o.u.result.away = 1;
    uint8_t bytes[FEED_ENCODED_MAX], d[32];
    int len = feed_encode(&o, bytes, sizeof bytes, NULL);
    assert_true(len > 0);
    char hex[2 * FEED_ENCODED_MAX + 1], s1[129], s2[129];
    obs_hex_encode(bytes, (size_t)len, hex);
    obs_digest("", "result/FB-1", bytes, (size_t)len, d);
    util_sign_hex(SK[1], d, s1);
    util_sign_hex(SK[2], d, s2);
    json_t *p = json_pack("{s:s, s:s, s:[{s:i, s:s}, {s:i, s:s}]}", "subject", "result/FB-1",
                          "bytes", hex, "signatures", "node", 1, "signature", s1, "node", 2,
                          "signature", s2);
    char *t = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    assert_int_equal(apply(c, CMD_OBSERVATION_AGREED, t), 201);
    free(t);
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

/* A node's 65-byte signature (hex, 130 digits) of @r for @chain. */
static void sig_of(int node, uint64_t chain, const oracle_result *r, char out[131])
{
    eth_key k;
    uint8_t caddr[20], sig[65];
    assert_int_equal(eth_key_from_secret(&k, SK[node]), ETH_OK);
    assert_int_equal(eth_address_parse(CONTRACT, caddr), ETH_OK);
    assert_int_equal(oracle_sign_result(&k, chain, caddr, r, sig), ETH_OK);
    char h[133];
    eth_hex_write(sig, 65, h);
    snprintf(out, 131, "%s", h + 2);
}

static oracle_result fb1(uint16_t home, uint16_t away)
{
    return (oracle_result){.match_id = oracle_match_id("", "FB-1"),
                           .status = ORACLE_STATUS_FINAL,
                           .home = home,
                           .away = away};
}

static char *signed_payload(const char *fixture, uint64_t match_id, int home, int away,
                            json_t *sigs)
{
    json_t *p = json_pack("{s:s, s:I, s:s, s:i, s:i, s:i, s:s, s:o}", "fixture", fixture,
                          "match_id", (json_int_t)match_id, "status", "final", "home", home,
                          "away", away, "chain_id", CHAIN, "contract", CONTRACT, "signatures",
                          sigs);
    char *t = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    return t;
}

static json_t *two_sigs(uint64_t chain, oracle_result r)
{
    char s1[131], s2[131];
    sig_of(1, chain, &r, s1);
    sig_of(2, chain, &r, s2);
    return json_pack("[{s:i, s:s}, {s:i, s:s}]", "node", 1, "signature", s1, "node", 2,
                     "signature", s2);
}

static json_t *state_of(struct ctx *c, const char *fixture)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *o = oracle_state_get(c->f, txn, fixture);
    fsm_read_end(txn);
    return o;
}

static void test_match_id_documented(void **state)
{
    (void)state;
    /* last 8 bytes, big-endian, of keccak256("parlay-match-v1" NUL cluster NUL fixture) */
    const char msg[] = "parlay-match-v1\0football\0FB-1001";
    uint8_t h[32];
    eth_keccak256(msg, sizeof msg - 1, h);
    uint64_t want = 0;
    for (int i = 24; i < 32; i++)
        want = want << 8 | h[i];
    assert_true(want != 0);
    assert_true(oracle_match_id("football", "FB-1001") == want);
    assert_true(oracle_match_id("tennis", "FB-1001") != want);
}

static void test_signed_kept_once(void **state)
{
    struct ctx *c = *state;
    oracle_result r = fb1(3, 1);
    char *p = signed_payload("FB-1", r.match_id, 3, 1, two_sigs(CHAIN, r));
    assert_int_equal(apply(c, CMD_ORACLE_SIGNED, p), 201);
    json_t *o = state_of(c, "FB-1");
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "signed");
    assert_int_equal(json_array_size(json_object_get(o, "signatures")), 2);
    json_decref(o);
    /* Again: a no-op. */
    assert_int_equal(apply(c, CMD_ORACLE_SIGNED, p), 200);
    assert_non_null(strstr(c->r.body, "\"duplicate\":true"));
    free(p);
}

static void expect_refused(struct ctx *c, int status, const char *payload, const char *needle)
{
    assert_int_equal(apply(c, CMD_ORACLE_SIGNED, payload), status);
    if (!strstr(c->r.body, needle))
        fail_msg("expected '%s' in %s", needle, c->r.body);
    json_t *o = state_of(c, "FB-1");
    assert_null(o);
}

static void test_refusals_change_nothing(void **state)
{
    struct ctx *c = *state;
    oracle_result r = fb1(3, 1), lie = fb1(0, 1);
    char *p;
    /* Not the agreed score. */
    p = signed_payload("FB-1", r.match_id, 0, 1, two_sigs(CHAIN, lie));
    expect_refused(c, 409, p, "has not agreed");
    free(p);
    /* A fixture without an agreed result. */
    oracle_result r2 = {.match_id = oracle_match_id("", "FB-2"), .status = 1, .home = 3, .away = 1};
    p = signed_payload("FB-2", r2.match_id, 3, 1, two_sigs(CHAIN, r2));
    assert_int_equal(apply(c, CMD_ORACLE_SIGNED, p), 409);
    free(p);
    /* Another match id. */
    oracle_result r3 = r;
    r3.match_id = 42;
    p = signed_payload("FB-1", 42, 3, 1, two_sigs(CHAIN, r3));
    expect_refused(c, 422, p, "match_id");
    free(p);
    /* Signatures for another chain. */
    p = signed_payload("FB-1", r.match_id, 3, 1, two_sigs(1, r));
    expect_refused(c, 422, p, "does not recover");
    free(p);
    /* Member 3 has no registered key. */
    char s3[131], s1[131];
    sig_of(3, CHAIN, &r, s3);
    sig_of(1, CHAIN, &r, s1);
    p = signed_payload("FB-1", r.match_id, 3, 1,
                       json_pack("[{s:i, s:s}]", "node", 3, "signature", s3));
    expect_refused(c, 422, p, "does not recover");
    free(p);
    /* Node 1's signature claimed by node 2. */
    p = signed_payload("FB-1", r.match_id, 3, 1,
                       json_pack("[{s:i, s:s}]", "node", 2, "signature", s1));
    expect_refused(c, 422, p, "does not recover");
    free(p);
    /* The same node twice. */
    p = signed_payload("FB-1", r.match_id, 3, 1,
                       json_pack("[{s:i, s:s}, {s:i, s:s}]", "node", 1, "signature", s1, "node",
                                 1, "signature", s1));
    expect_refused(c, 422, p, "one per node");
    free(p);
    /* Malformed: a 64-byte signature, an empty list, a bad status. */
    char short_sig[129];
    memcpy(short_sig, s1, 128);
    short_sig[128] = 0;
    p = signed_payload("FB-1", r.match_id, 3, 1,
                       json_pack("[{s:i, s:s}]", "node", 1, "signature", short_sig));
    expect_refused(c, 422, p, "130 hex");
    free(p);
    p = signed_payload("FB-1", r.match_id, 3, 1, json_array());
    expect_refused(c, 422, p, "signatures");
    free(p);
    expect_refused(c, 422, "{\"fixture\":\"FB-1\",\"status\":\"won\"}", "final|void");
}

static char *tx_payload(uint64_t id, int state, uint64_t match_id)
{
    oracle_tx_record r;
    memset(&r, 0, sizeof r);
    r.id = id;
    r.kind = ORACLE_KIND_SUBMIT;
    r.match_id = match_id;
    r.state = state;
    r.type = ETH_TX_1559;
    r.chain_id = CHAIN;
    r.nonce = 7;
    r.has_to = 1;
    r.nattempts = 1;
    memset(r.attempts[0], 0xab, 32);
    r.mined_attempt = -1;
    r.data_hex = "0x00";
    r.raw_hex = "0x02";
    char *rt = oracle_tx_record_to_text(&r);
    json_t *p = json_pack("{s:o}", "record", json_loads(rt, 0, NULL));
    free(rt);
    char *t = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    return t;
}

static const char *st(struct ctx *c)
{
    static char buf[32];
    json_t *o = state_of(c, "FB-1");
    snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(o, "state")));
    json_decref(o);
    return buf;
}

static void test_journal_then_done(void **state)
{
    struct ctx *c = *state;
    oracle_result r = fb1(3, 1);
    char *p = signed_payload("FB-1", r.match_id, 3, 1, two_sigs(CHAIN, r));
    assert_int_equal(apply(c, CMD_ORACLE_SIGNED, p), 201);
    free(p);
    /* A new record gets id 1, then 2; the result follows the submit's state. */
    p = tx_payload(0, ORACLE_TX_NEW, r.match_id);
    assert_int_equal(apply(c, CMD_ORACLE_TX, p), 201);
    assert_non_null(strstr(c->r.body, "\"id\":1"));
    free(p);
    assert_string_equal(st(c), "journaled");
    p = tx_payload(1, ORACLE_TX_SENT, r.match_id);
    assert_int_equal(apply(c, CMD_ORACLE_TX, p), 201);
    free(p);
    assert_string_equal(st(c), "sent");
    p = tx_payload(0, ORACLE_TX_NEW, 999); /* another match: the result does not move */
    assert_int_equal(apply(c, CMD_ORACLE_TX, p), 201);
    assert_non_null(strstr(c->r.body, "\"id\":2"));
    free(p);
    assert_string_equal(st(c), "sent");
    /* An id never given: refused. A record that is not one: refused. */
    p = tx_payload(9, ORACLE_TX_SENT, r.match_id);
    assert_int_equal(apply(c, CMD_ORACLE_TX, p), 404);
    free(p);
    assert_int_equal(apply(c, CMD_ORACLE_TX, "{\"record\":{\"kind\":2}}"), 422);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *j = oracle_state_journal(c->f, txn);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
    /* Done: confirmed once; a later journal update or a second outcome changes nothing. */
    assert_int_equal(apply(c, CMD_ORACLE_DONE,
                           "{\"fixture\":\"FB-1\",\"outcome\":\"confirmed\",\"tx_hash\":\"0xab\","
                           "\"block\":5,\"gas_used\":63248}"),
                     201);
    assert_string_equal(st(c), "confirmed");
    p = tx_payload(1, ORACLE_TX_SENT, r.match_id);
    assert_int_equal(apply(c, CMD_ORACLE_TX, p), 201);
    free(p);
    assert_string_equal(st(c), "confirmed");
    assert_int_equal(apply(c, CMD_ORACLE_DONE,
                           "{\"fixture\":\"FB-1\",\"outcome\":\"failed\",\"reason\":\"x\"}"),
                     200);
    json_t *o = state_of(c, "FB-1");
    assert_int_equal(json_integer_value(json_object_get(o, "gas_used")), 63248);
    assert_null(json_object_get(o, "reason"));
    json_decref(o);
    /* Refused outcomes. */
    assert_int_equal(apply(c, CMD_ORACLE_DONE, "{\"fixture\":\"FB-9\",\"outcome\":\"confirmed\"}"),
                     404);
    assert_int_equal(apply(c, CMD_ORACLE_DONE, "{\"fixture\":\"FB-1\",\"outcome\":\"maybe\"}"),
                     422);
}

int main(void)
{
    util_log_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_id_documented),
        cmocka_unit_test_setup_teardown(test_signed_kept_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_then_done, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
