/* Bets in the state machine, without raft: every step is an encoded command given to fsm_apply,
 * as Raft would. Markets are opened the real way (agreed fixture, quote round, a quorum's
 * publication: quotes.c); CMD_BET_PLACE is then checked at its index against the market's
 * status and phase, the cited quote version, the odds-change policy, the stake and payout
 * limits and the replicated liability, and every refusal changes nothing; CMD_BET_HOLD_DONE
 * accepts or rejects a pending bet once (a rejection releases its exposure). Two state machines
 * given the same entries hold the same bets. An agreed result settles every leg on the fixture
 * (a table of football markets, Asian quarter lines included); accepted bets whose legs all
 * have results are settled with their return, accumulators on their last leg, a cancelled
 * fixture's legs are void, a bet accepted after the result is settled at once. Cash-out: the
 * offer to the cent (a single, an accumulator with a won leg), every refusal changes nothing,
 * the accept settles the bet cashed_out once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "consensus/bets.h"
#include "consensus/bets_internal.h"
#include "consensus/fsm.h"
#include "consensus/observations.h"
#include "consensus/quotes.h"
#include "feed/feed.h"
#include "tests/unit/unit_util.h"

static const uint8_t SK[3][32] = {{0}, {[31] = 1}, {[31] = 2}};

#define KICKOFF 1795878000
/* Canonical prices (compact, sorted keys), as quote_price.c names markets and lines. */
#define PRICES1                                                                                \
    "{\"1x2\":{\"away\":3100,\"draw\":3500,\"home\":2140},\"asian_handicap\":{\"-0.25\":{"     \
    "\"away\":2050,\"home\":1800}},\"total_goals\":{\"2.5\":{\"over\":1900,\"under\":1950}}}"
#define PRICES2 "{\"1x2\":{\"away\":4200,\"draw\":3700,\"home\":1850}}"
#define LOG_MAX 2048

struct entry {
    uint16_t type;
    char *payload;
};

struct ctx {
    char *dir;
    struct fsm *f;
    struct util_result r;
    uint64_t last;
    struct entry log[LOG_MAX];
    size_t nlog;
};

static int apply(struct ctx *c, uint16_t type, const char *payload)
{
    assert_true(c->nlog < LOG_MAX);
    c->log[c->nlog++] = (struct entry){type, strdup(payload)};
    uint64_t index = ++c->last;
    return util_apply_at(c->f, &c->r, index, type, NULL, 0, payload,
                         (uint64_t)KICKOFF * 1000 - 3600000 + index * 1000);
}

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
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    fsm_close(c->f);
    util_rmdir(c->dir);
    for (size_t i = 0; i < c->nlog; i++)
        free(c->log[i].payload);
    free(c);
    return 0;
}

/* ---- agreed observations and quotes ---------------------------------------------------- */

static void agree(struct ctx *c, const struct feed_obs *o)
{
    char *text = util_agreed_payload(o, SK[1], SK[2]);
    assert_int_equal(apply(c, CMD_OBSERVATION_AGREED, text), 201);
    free(text);
}

static void agree_fixture(struct ctx *c, const char *id)
{
    char home[64], away[64];
    snprintf(home, sizeof home, "Arsenal %s", id);
    snprintf(away, sizeof away, "Chelsea %s", id);
    struct feed_obs o = util_fixture_obs(id, FEED_FOOTBALL, home, away, KICKOFF);
    agree(c, &o);
}

static void agree_kickoff(struct ctx *c, const char *id)
{
    struct feed_obs o = {.kind = FEED_EVENT};
    snprintf(o.u.event.fixture, sizeof o.u.event.fixture, "%s", id);
    o.u.event.seq = 1;
    o.u.event.period = 1;
    o.u.event.type = FEED_KICK_OFF;
    agree(c, &o);
}

static void agree_result_st(struct ctx *c, const char *id, enum feed_result_status st,
                            uint16_t h, uint16_t a)
{
    struct feed_obs o = {.kind = FEED_RESULT};
    snprintf(o.u.result.fixture, sizeof o.u.result.fixture, "%s", id);
    o.u.result.status = st;
    o.u.result.home = h;
    o.u.result.away = a;
    agree(c, &o);
}

static void agree_result(struct ctx *c, const char *id, uint16_t h, uint16_t a)
{
    agree_result_st(c, id, FEED_FINAL, h, a);
}

static json_t *quote_sig(int node, const char *fixture, uint64_t index, const char *prices)
{
    uint8_t d[32];
    char hex[129];
    quote_digest("", fixture, index, prices, d);
    util_sign_hex(SK[node], d, hex);
    return json_pack("{s:i, s:s}", "node", node, "signature", hex);
}

/* A round for @fixture and its publication of @prices; returns the market's new version. */
static long long publish(struct ctx *c, const char *fixture, const char *prices)
{
    char p[128];
    snprintf(p, sizeof p, "{\"fixture\":\"%s\"}", fixture);
    assert_int_equal(apply(c, CMD_QUOTE_ROUND, p), 201);
    uint64_t index = c->last;
    json_t *sigs = json_pack("[o, o]", quote_sig(1, fixture, index, prices),
                             quote_sig(2, fixture, index, prices));
    json_t *q = json_pack("{s:s, s:I, s:s, s:o}", "fixture", fixture, "index",
                          (json_int_t)index, "prices", prices, "signatures", sigs);
    char *text = json_dumps(q, JSON_COMPACT);
    json_decref(q);
    assert_int_equal(apply(c, CMD_QUOTE_PUBLISHED, text), 201);
    free(text);
    json_t *r = json_loads(c->r.body, 0, NULL);
    long long v = json_integer_value(json_object_get(r, "version"));
    json_decref(r);
    return v;
}

static void suspend(struct ctx *c, const char *fixture)
{
    char p[160];
    snprintf(p, sizeof p, "{\"fixture\":\"%s\",\"reason\":\"var_check\"}", fixture);
    assert_int_equal(apply(c, CMD_MARKETS_SUSPEND, p), 200);
}

/* ---- bets ------------------------------------------------------------------------------ */

static json_t *leg(const char *fixture, const char *market, const char *line,
                   const char *outcome, long long price, long long version)
{
    json_t *l = json_pack("{s:s, s:s, s:s, s:I, s:I}", "fixture", fixture, "market", market,
                          "outcome", outcome, "price", (json_int_t)price, "version",
                          (json_int_t)version);
    if (line)
        json_object_set_new(l, "line", json_string(line));
    return l;
}

/* Place a bet of @legs (stolen); the result is in c->r. */
static int place(struct ctx *c, const char *player, long long stake, const char *policy,
                 long long tol, json_t *legs)
{
    struct cmd cm;
    char *text = bets_cmd_place(&cm, player, (uint64_t)stake, policy, (uint64_t)tol, legs, 2);
    json_decref(legs);
    assert_non_null(text);
    assert_int_equal(cm.type, CMD_BET_PLACE);
    int st = apply(c, CMD_BET_PLACE, text);
    free(text);
    return st;
}

static int place1(struct ctx *c, long long stake, const char *policy, long long tol,
                  json_t *one)
{
    return place(c, "p1", stake, policy, tol, json_pack("[o]", one));
}

static json_t *result(struct ctx *c)
{
    json_t *r = json_loads(c->r.body, 0, NULL);
    assert_non_null(r);
    return r;
}

static void assert_code(struct ctx *c, const char *code)
{
    json_t *r = result(c);
    const char *got = json_string_value(json_object_get(r, "code"));
    if (!got || strcmp(got, code))
        fail_msg("want code %s, got %s", code, c->r.body);
    assert_non_null(json_string_value(json_object_get(r, "detail")));
    json_decref(r);
}

static long long rnum(struct ctx *c, const char *key)
{
    json_t *r = result(c);
    json_t *v = json_object_get(r, key);
    if (!json_is_integer(v))
        fail_msg("%s: not an integer in %s", key, c->r.body);
    long long n = json_integer_value(v);
    json_decref(r);
    return n;
}

static json_t *bet(struct fsm *f, const char *id)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(f, &txn), 0);
    json_t *b = bets_get(f, txn, id);
    fsm_read_end(txn);
    return b;
}

static long long exposure(struct fsm *f, const char *key)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(f, &txn), 0);
    uint64_t v = bets_exposure(f, txn, key);
    fsm_read_end(txn);
    return (long long)v;
}

static size_t pending(struct fsm *f)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(f, &txn), 0);
    json_t *p = bets_pending_holds(f, txn, 1000);
    fsm_read_end(txn);
    size_t n = json_array_size(p);
    json_decref(p);
    return n;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "(none)";
}

static long long num(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static int set_limits(struct ctx *c, const char *json)
{
    json_t *o = json_loads(json, 0, NULL);
    struct cmd cm;
    char *text = bets_cmd_limits(&cm, o);
    json_decref(o);
    int st = apply(c, CMD_BET_LIMITS, text);
    free(text);
    return st;
}

static int hold_done(struct ctx *c, const char *id, bool ok, const char *code)
{
    struct cmd cm;
    char *text = bets_cmd_hold_done(&cm, id, ok, code, code ? "refused by the wallet" : NULL);
    int st = apply(c, CMD_BET_HOLD_DONE, text);
    free(text);
    return st;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_single_placed_pending_hold(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    long long v = publish(c, "F1", PRICES1);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v)), 201);
    json_t *r = result(c);
    assert_string_equal(str(r, "id"), "b000000000001");
    json_decref(r);
    json_t *b = bet(c->f, "b000000000001");
    assert_non_null(b);
    assert_string_equal(str(b, "status"), "pending_hold");
    assert_string_equal(str(b, "kind"), "single");
    assert_string_equal(str(b, "player_id"), "p1");
    assert_int_equal(num(b, "stake"), 1000);
    assert_int_equal(num(b, "odds"), 2140);
    assert_int_equal(num(b, "payout"), 2140);
    json_t *l = json_array_get(json_object_get(b, "legs"), 0);
    assert_int_equal(num(l, "price"), 2140);
    assert_int_equal(num(l, "version"), v);
    assert_string_equal(str(l, "phase"), "pre");
    json_decref(b);
    assert_int_equal(exposure(c->f, "o|F1|1x2||home"), 1140);
    assert_int_equal(exposure(c->f, "f|F1"), 1140);
    assert_int_equal(pending(c->f), 1);
    /* A line market (Asian quarter line) is addressed by market, line and outcome. */
    assert_int_equal(place1(c, 500, "exact", 0,
                            leg("F1", "asian_handicap", "-0.25", "home", 1800, v)),
                     201);
    assert_int_equal(rnum(c, "payout"), 900);
    assert_int_equal(exposure(c->f, "o|F1|asian_handicap|-0.25|home"), 400);
    assert_int_equal(exposure(c->f, "f|F1"), 1540);
    assert_int_equal(pending(c->f), 2);
}

static void test_price_policies(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    long long v1 = publish(c, "F1", PRICES1);
    long long v2 = publish(c, "F1", PRICES2); /* home 2140 -> 1850, away 3100 -> 4200 */
    assert_int_equal(v2, v1 + 1);
    /* Worse price now: exact and better refuse with the current price; any_within by tolerance. */
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v1)), 409);
    assert_code(c, "price_changed");
    assert_int_equal(rnum(c, "current"), 1850);
    assert_int_equal(rnum(c, "version"), v2);
    assert_int_equal(place1(c, 1000, "better", 0, leg("F1", "1x2", NULL, "home", 2140, v1)), 409);
    assert_code(c, "price_changed");
    assert_int_equal(
        place1(c, 1000, "any_within", 289, leg("F1", "1x2", NULL, "home", 2140, v1)), 409);
    assert_code(c, "price_changed");
    assert_null(bet(c->f, "b000000000001"));
    assert_int_equal(exposure(c->f, "f|F1"), 0);
    assert_int_equal(
        place1(c, 1000, "any_within", 290, leg("F1", "1x2", NULL, "home", 2140, v1)), 201);
    assert_int_equal(rnum(c, "payout"), 1850); /* the price it got, not the one seen */
    /* Better price now: exact refuses, better takes the better one. */
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "away", 3100, v1)), 409);
    assert_code(c, "price_changed");
    assert_int_equal(rnum(c, "current"), 4200);
    assert_int_equal(place1(c, 1000, "better", 0, leg("F1", "1x2", NULL, "away", 3100, v1)), 201);
    assert_int_equal(rnum(c, "odds"), 4200);
    /* Same price at a newer version: exact stands. */
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "draw", 3700, v2)), 201);
    /* The cited version must have offered the cited price; a future version is refused. */
    assert_int_equal(place1(c, 1000, "better", 0, leg("F1", "1x2", NULL, "draw", 3600, v1)), 422);
    assert_code(c, "invalid_quote");
    assert_int_equal(place1(c, 1000, "better", 0, leg("F1", "1x2", NULL, "draw", 3700, v2 + 1)),
                     422);
    assert_code(c, "invalid_quote");
    /* The current version (its prices read from the market record) with a price it never had. */
    assert_int_equal(place1(c, 1000, "better", 0, leg("F1", "1x2", NULL, "draw", 3600, v2)), 422);
    assert_code(c, "invalid_quote");
    /* An outcome the current prices no longer carry. */
    assert_int_equal(
        place1(c, 1000, "better", 0, leg("F1", "total_goals", "2.5", "over", 1900, v1)), 409);
    assert_code(c, "not_offered");
    assert_int_equal(pending(c->f), 3);
}

static void test_market_states(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(place1(c, 1000, "exact", 0, leg("NOPE", "1x2", NULL, "home", 2140, 1)), 404);
    assert_code(c, "no_market");
    agree_fixture(c, "F1");
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, 1)), 409);
    assert_code(c, "betting_closed"); /* pending: no agreed prices yet */
    long long v = publish(c, "F1", PRICES1);
    suspend(c, "F1");
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v)), 409);
    assert_code(c, "market_suspended");
    /* Kick-off: the next prices are live ones; live betting is off by default. */
    agree_kickoff(c, "F1");
    long long lv = publish(c, "F1", PRICES2);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "home", 1850, lv)), 409);
    assert_code(c, "betting_closed");
    assert_int_equal(set_limits(c, "{\"live\":true}"), 200);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "home", 1850, lv)), 201);
    json_t *b = result(c);
    assert_string_equal(str(json_array_get(json_object_get(b, "legs"), 0), "phase"), "live");
    json_decref(b);
    agree_result(c, "F1", 2, 1);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "home", 1850, lv)), 409);
    assert_code(c, "betting_closed");
    assert_int_equal(pending(c->f), 1);
}

/* A trader's per-market controls (issue 17, CMD_TRADER_MARKET_SET): a stake cap on one market
 * refuses larger bets on it only; a suspended market refuses bets at once, the others take
 * them. */
static void test_trader_market_cap_and_suspension(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    long long v = publish(c, "F1", PRICES1);
    assert_int_equal(apply(c, CMD_TRADER_MARKET_SET, "{\"fixture\":\"F1\",\"market\":"
                                                     "\"total_goals\",\"max_stake\":3000,"
                                                     "\"reason\":\"liability\"}"),
                     200);
    assert_int_equal(place1(c, 3001, "exact", 0, leg("F1", "total_goals", "2.5", "over", 1900, v)),
                     409);
    assert_code(c, "above_max_stake");
    assert_int_equal(rnum(c, "max"), 3000);
    assert_int_equal(place1(c, 3000, "exact", 0, leg("F1", "total_goals", "2.5", "over", 1900, v)),
                     201);
    assert_int_equal(place1(c, 3001, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v)), 201);
    assert_int_equal(apply(c, CMD_TRADER_MARKET_SET, "{\"fixture\":\"F1\",\"market\":"
                                                     "\"asian_handicap\",\"suspended\":true,"
                                                     "\"reason\":\"integrity\"}"),
                     200);
    assert_int_equal(place1(c, 100, "exact", 0, leg("F1", "asian_handicap", "-0.25", "home", 1800,
                                                    v)),
                     409);
    assert_code(c, "market_suspended");
    assert_int_equal(place1(c, 100, "exact", 0, leg("F1", "1x2", NULL, "away", 3100, v)), 201);
}

static void test_stake_and_payout_limits(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    long long v = publish(c, "F1", PRICES1);
    assert_int_equal(set_limits(c, "{\"min_stake\":100,\"max_stake\":5000,\"max_payout\":12000}"),
                     200);
    assert_int_equal(set_limits(c, "{\"min_stake\":6000}"), 422); /* over max_stake */
    assert_code(c, "invalid_limits");
    assert_int_equal(set_limits(c, "{\"max_liability\":1}"), 422);
    assert_code(c, "invalid_limits");
    assert_int_equal(place1(c, 99, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v)), 422);
    assert_code(c, "below_min_stake");
    assert_int_equal(rnum(c, "min"), 100);
    assert_int_equal(place1(c, 5001, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v)), 409);
    assert_code(c, "above_max_stake");
    assert_int_equal(rnum(c, "max"), 5000);
    /* 4000 at 3.10 pays 12400 > 12000; 3870 pays 11997. */
    assert_int_equal(place1(c, 4000, "exact", 0, leg("F1", "1x2", NULL, "away", 3100, v)), 409);
    assert_code(c, "above_max_payout");
    assert_int_equal(rnum(c, "max"), 12000);
    assert_int_equal(rnum(c, "max_stake"), 3870);
    assert_int_equal(place1(c, 3870, "exact", 0, leg("F1", "1x2", NULL, "away", 3100, v)), 201);
    assert_int_equal(rnum(c, "payout"), 11997);
    /* Malformed bets. */
    assert_int_equal(place1(c, 1000, "whatever", 0, leg("F1", "1x2", NULL, "home", 2140, v)),
                     422);
    assert_code(c, "invalid_bet");
    assert_int_equal(place1(c, 1000, "any_within", 0, leg("F1", "1x2", NULL, "home", 2140, v)),
                     422);
    assert_code(c, "invalid_bet");
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "home", 999, v)), 422);
    assert_code(c, "invalid_bet");
    assert_int_equal(place(c, "p1", 1000, "exact", 0, json_array()), 422);
    assert_code(c, "invalid_bet");
    assert_int_equal(pending(c->f), 1);
}

static void test_accumulators(void **state)
{
    struct ctx *c = *state;
    char id[16];
    long long v[11];
    for (int i = 0; i < 11; i++) {
        snprintf(id, sizeof id, "A%d", i);
        agree_fixture(c, id);
        v[i] = publish(c, id, PRICES1);
    }
    json_t *legs = json_array();
    for (int i = 0; i < 11; i++) {
        snprintf(id, sizeof id, "A%d", i);
        json_array_append_new(legs, leg(id, "1x2", NULL, "home", 2140, v[i]));
    }
    assert_int_equal(place(c, "p1", 100, "exact", 0, legs), 422);
    assert_code(c, "too_many_legs");
    assert_int_equal(rnum(c, "max"), 10);
    assert_int_equal(place(c, "p1", 100, "exact", 0,
                           json_pack("[o, o]", leg("A0", "1x2", NULL, "home", 2140, v[0]),
                                     leg("A0", "total_goals", "2.5", "over", 1900, v[0]))),
                     422);
    assert_code(c, "same_fixture");
    /* 2.14 x 3.10 x 1.95 = 6.634 -> 12.936 (milli, floored per leg): stake 1000 pays 12936. */
    assert_int_equal(place(c, "p1", 1000, "exact", 0,
                           json_pack("[o, o, o]", leg("A0", "1x2", NULL, "home", 2140, v[0]),
                                     leg("A1", "1x2", NULL, "away", 3100, v[1]),
                                     leg("A2", "total_goals", "2.5", "under", 1950, v[2]))),
                     201);
    json_t *b = result(c);
    assert_string_equal(str(b, "kind"), "accumulator");
    assert_int_equal(num(b, "odds"), 12936);
    assert_int_equal(num(b, "payout"), 12936);
    assert_int_equal(json_array_size(json_object_get(b, "legs")), 3);
    json_decref(b);
    assert_int_equal(exposure(c->f, "o|A0|1x2||home"), 11936);
    assert_int_equal(exposure(c->f, "o|A1|1x2||away"), 11936);
    assert_int_equal(exposure(c->f, "o|A2|total_goals|2.5|under"), 11936);
    assert_int_equal(exposure(c->f, "f|A1"), 11936);
    assert_int_equal(exposure(c->f, "f|A3"), 0);
    /* One suspended leg refuses the whole accumulator, changing nothing. */
    suspend(c, "A4");
    assert_int_equal(place(c, "p1", 1000, "exact", 0,
                           json_pack("[o, o]", leg("A3", "1x2", NULL, "home", 2140, v[3]),
                                     leg("A4", "1x2", NULL, "home", 2140, v[4]))),
                     409);
    assert_code(c, "market_suspended");
    assert_int_equal(exposure(c->f, "f|A3"), 0);
    assert_int_equal(pending(c->f), 1);
}

static void test_liability_caps(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    long long v = publish(c, "F1", PRICES1);
    assert_int_equal(set_limits(c, "{\"outcome_cap\":5000,\"fixture_cap\":6000}"), 200);
    /* 2000 at 2.14: 2280 net each; a third would make the outcome 6840 > 5000. */
    assert_int_equal(place1(c, 2000, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v)), 201);
    assert_int_equal(place(c, "p2", 2000, "exact", 0,
                           json_pack("[o]", leg("F1", "1x2", NULL, "home", 2140, v))),
                     201);
    assert_int_equal(place(c, "p3", 2000, "exact", 0,
                           json_pack("[o]", leg("F1", "1x2", NULL, "home", 2140, v))),
                     409);
    assert_code(c, "liability_cap");
    assert_int_equal(rnum(c, "cap"), 5000);
    assert_int_equal(rnum(c, "current"), 4560);
    /* The same for every bettor: what is left (440 net at 1.14) takes a stake up to 385. */
    assert_int_equal(rnum(c, "max_stake"), 385);
    assert_int_equal(place(c, "p3", 385, "exact", 0,
                           json_pack("[o]", leg("F1", "1x2", NULL, "home", 2140, v))),
                     201);
    assert_int_equal(exposure(c->f, "o|F1|1x2||home"), 4998);
    /* Another outcome under its own cap, but the fixture's (6000) is reached. */
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "draw", 3500, v)), 409);
    assert_code(c, "liability_cap");
    json_t *r = result(c);
    assert_string_equal(str(r, "scope"), "fixture");
    json_decref(r);
    assert_int_equal(place1(c, 400, "exact", 0, leg("F1", "1x2", NULL, "draw", 3500, v)), 201);
    assert_int_equal(exposure(c->f, "f|F1"), 5998);
}

static void test_hold_outcome(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    long long v = publish(c, "F1", PRICES1);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v)), 201);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "draw", 3500, v)), 201);
    assert_int_equal(pending(c->f), 2);
    assert_int_equal(exposure(c->f, "f|F1"), 1140 + 2500);
    assert_int_equal(hold_done(c, "b000000000001", true, NULL), 200);
    assert_int_equal(hold_done(c, "b000000000002", false, "insufficient_funds"), 200);
    json_t *b = bet(c->f, "b000000000002");
    assert_string_equal(str(b, "status"), "rejected");
    assert_string_equal(str(b, "reject_code"), "insufficient_funds");
    json_decref(b);
    b = bet(c->f, "b000000000001");
    assert_string_equal(str(b, "status"), "accepted");
    json_decref(b);
    assert_int_equal(pending(c->f), 0);
    /* The rejected bet's exposure is released; the accepted one's stays. */
    assert_int_equal(exposure(c->f, "o|F1|1x2||draw"), 0);
    assert_int_equal(exposure(c->f, "f|F1"), 1140);
    /* Once: the same answer again changes nothing, the other one is refused. */
    assert_int_equal(hold_done(c, "b000000000001", true, NULL), 200);
    assert_int_equal(hold_done(c, "b000000000002", false, "insufficient_funds"), 200);
    assert_int_equal(exposure(c->f, "f|F1"), 1140);
    assert_int_equal(hold_done(c, "b000000000001", false, "blocked"), 409);
    assert_code(c, "bet_resolved");
    assert_int_equal(hold_done(c, "b000000000009", true, NULL), 404);
    assert_code(c, "no_bet");
    assert_int_equal(apply(c, CMD_BET_HOLD_DONE, "{\"bet_id\":\"b000000000001\",\"accepted\":false}"),
                     422);
    assert_code(c, "invalid_hold_result");
    /* Replayed on a second state machine, the same entries give the same bets. */
    char *dir2 = util_tmpdir();
    struct fsm *g = util_fsm_open(dir2);
    struct util_result r2;
    util_capture_results(g, &r2);
    for (size_t i = 0; i < c->nlog; i++)
        util_apply_at(g, &r2, i + 1, c->log[i].type, NULL, 0, c->log[i].payload,
                      (uint64_t)KICKOFF * 1000 - 3600000 + (i + 1) * 1000);
    for (int i = 1; i <= 2; i++) {
        char id[16];
        snprintf(id, sizeof id, "b%012d", i);
        json_t *a = bet(c->f, id), *b2 = bet(g, id);
        char *ta = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
        char *tb = json_dumps(b2, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(ta, tb);
        free(ta);
        free(tb);
        json_decref(a);
        json_decref(b2);
    }
    assert_int_equal(exposure(g, "f|F1"), 1140);
    fsm_close(g);
    util_rmdir(dir2);
}

/* Live bets with an acceptance delay (4.5 s; every entry here is 1 s later than the one
 * before): "pending" until the leader's decision after the delay, which needs the hold held;
 * accepted when nothing changed, rejected with market_suspended after a suspension of the
 * market, with price_changed after a price drop the policy does not take; a rejected bet's
 * exposure is released and its hold queued to be voided until CMD_BET_HOLD_VOIDED; every
 * change is in the bet event log. */
static int place_delayed(struct ctx *c, const char *player, json_t *one)
{
    struct cmd cm;
    json_t *legs = json_pack("[o]", one);
    char *text = bets_cmd_place_delayed(&cm, player, 1000, "exact", 0, legs, 2, 0, 4500);
    json_decref(legs);
    int st = apply(c, CMD_BET_PLACE, text);
    free(text);
    return st;
}

static int bet_cmd(struct ctx *c, uint16_t type, const char *id)
{
    struct cmd cm;
    char *text = type == CMD_BET_DECIDE ? bets_cmd_decide(&cm, id) : bets_cmd_hold_voided(&cm, id);
    int st = apply(c, type, text);
    free(text);
    return st;
}

static size_t queued(struct fsm *f, bool voids)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(f, &txn), 0);
    json_t *p = voids ? bets_voids(f, txn, 1000) : bets_delayed(f, txn, 1000);
    fsm_read_end(txn);
    size_t n = json_array_size(p);
    json_decref(p);
    return n;
}

static void test_live_delay(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    publish(c, "F1", PRICES1);
    agree_kickoff(c, "F1");
    long long lv = publish(c, "F1", PRICES2);
    assert_int_equal(set_limits(c, "{\"live\":true}"), 200);
    const char *ids[3] = {"b000000000001", "b000000000002", "b000000000003"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(place_delayed(c, "p1", leg("F1", "1x2", NULL, "home", 1850, lv)), 201);
        json_t *b = result(c);
        assert_string_equal(str(b, "status"), "pending");
        assert_string_equal(str(b, "hold"), "pending");
        json_decref(b);
        if (i == 0) {
            assert_int_equal(bet_cmd(c, CMD_BET_DECIDE, ids[0]), 409);
            assert_code(c, "hold_not_held");
            assert_int_equal(hold_done(c, ids[0], true, NULL), 200);
            assert_int_equal(bet_cmd(c, CMD_BET_DECIDE, ids[0]), 409);
            assert_code(c, "delay_running");
        }
    }
    assert_int_equal(exposure(c->f, "f|F1"), 3 * 850);
    assert_int_equal(queued(c->f, false), 3);
    assert_int_equal(hold_done(c, ids[1], true, NULL), 200);
    assert_int_equal(hold_done(c, ids[2], true, NULL), 200);
    json_t *b = bet(c->f, ids[1]);
    assert_string_equal(str(b, "status"), "pending");
    assert_string_equal(str(b, "hold"), "held");
    json_decref(b);
    assert_int_equal(pending(c->f), 0);
    /* Nothing changed: accepted. */
    assert_int_equal(bet_cmd(c, CMD_BET_DECIDE, ids[0]), 200);
    b = result(c);
    assert_string_equal(str(b, "status"), "accepted");
    json_decref(b);
    assert_int_equal(bet_cmd(c, CMD_BET_DECIDE, ids[0]), 409);
    assert_code(c, "bet_resolved");
    /* The home price drops (no suspension): exact no longer stands. */
    publish(c, "F1", "{\"1x2\":{\"away\":4000,\"draw\":3700,\"home\":1800}}");
    assert_int_equal(bet_cmd(c, CMD_BET_DECIDE, ids[2]), 200);
    b = result(c);
    assert_string_equal(str(b, "status"), "rejected");
    assert_string_equal(str(b, "reject_code"), "price_changed");
    assert_string_equal(str(b, "hold"), "voiding");
    json_decref(b);
    /* A goal suspends the market (and it reopens): market_suspended. */
    suspend(c, "F1");
    publish(c, "F1", PRICES2);
    assert_int_equal(bet_cmd(c, CMD_BET_DECIDE, ids[1]), 200);
    b = result(c);
    assert_string_equal(str(b, "status"), "rejected");
    assert_string_equal(str(b, "reject_code"), "market_suspended");
    json_decref(b);
    assert_int_equal(exposure(c->f, "f|F1"), 850);
    assert_int_equal(queued(c->f, false), 0);
    assert_int_equal(queued(c->f, true), 2);
    assert_int_equal(bet_cmd(c, CMD_BET_HOLD_VOIDED, ids[1]), 200);
    assert_int_equal(bet_cmd(c, CMD_BET_HOLD_VOIDED, ids[1]), 200);
    assert_int_equal(bet_cmd(c, CMD_BET_HOLD_VOIDED, ids[0]), 409);
    assert_code(c, "hold_not_voiding");
    assert_int_equal(queued(c->f, true), 1);
    b = bet(c->f, ids[1]);
    assert_string_equal(str(b, "hold"), "voided");
    json_decref(b);
    /* The event log: 3 placed, 3 held, accepted, 2 rejected, hold_voided. */
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *evs = bets_events_after(c->f, txn, 0, 100);
    assert_int_equal(bets_last_event(c->f, txn), 10);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(evs), 10);
    assert_string_equal(str(json_array_get(evs, 0), "type"), "placed");
    assert_string_equal(str(json_array_get(evs, 9), "type"), "hold_voided");
    assert_string_equal(str(json_array_get(evs, 9), "bet_id"), ids[1]);
    assert_string_equal(str(json_array_get(evs, 9), "player_id"), "p1");
    json_decref(evs);
}

/* The audit's comparison: bets against holds and their transfers; every kind of difference
 * is reported, bets on their way are only counted. */
static json_t *audit_of(const char *bets, const char *holds)
{
    json_t *b = json_loads(bets, 0, NULL), *h = json_loads(holds, 0, NULL);
    assert_non_null(b);
    assert_non_null(h);
    json_t *r = bets_audit_compare(b, h);
    json_decref(b);
    json_decref(h);
    return r;
}

static void expect_audit(const char *bets, const char *holds, int diffs, int in_progress,
                         const char *problem)
{
    json_t *r = audit_of(bets, holds);
    if (num(r, "difference_count") != diffs || num(r, "in_progress") != in_progress) {
        char *t = json_dumps(r, JSON_COMPACT);
        fail_msg("want %d differences, %d in progress: %s", diffs, in_progress, t);
    }
    assert_int_equal(json_is_true(json_object_get(r, "ok")), diffs == 0);
    if (problem)
        assert_string_equal(str(json_array_get(json_object_get(r, "differences"), 0), "problem"),
                            problem);
    json_decref(r);
}

#define WON_BET                                                                                \
    "{\"id\":\"b1\",\"player_id\":\"p1\",\"status\":\"settled\",\"stake\":100,\"result\":"     \
    "\"won\",\"return\":214,\"paid\":\"post\"}"
#define POSTED(stake, payout)                                                                  \
    "{\"b1\":{\"id\":\"b1\",\"player\":\"p1\",\"amount\":100,\"status\":\"posted\","           \
    "\"transfers\":[{\"id\":\"hold:b1\",\"amount\":100},{\"id\":\"hold:b1:stake\",\"amount\":" \
    #stake "},{\"id\":\"hold:b1:payout\",\"amount\":" #payout "}]}}"

static void test_audit_compare(void **state)
{
    (void)state;
    expect_audit("[" WON_BET "]", POSTED(100, 214), 0, 0, NULL);
    expect_audit("[" WON_BET "]", POSTED(100, 200), 1, 0, "payout_transfer");
    expect_audit("[" WON_BET "]", POSTED(90, 214), 1, 0, "stake_transfer");
    expect_audit("[" WON_BET "]", "{}", 1, 0, "hold_status");
    expect_audit("[]", POSTED(100, 214), 1, 0, "hold_without_bet");
    /* Accepted: the stake held; a hold of another amount or player is a difference. */
    const char *acc = "[{\"id\":\"b1\",\"player_id\":\"p1\",\"status\":\"accepted\","
                      "\"stake\":100}]";
    expect_audit(acc, "{\"b1\":{\"id\":\"b1\",\"player\":\"p1\",\"amount\":100,\"status\":"
                      "\"pending\"}}", 0, 0, NULL);
    expect_audit(acc, "{\"b1\":{\"id\":\"b1\",\"player\":\"p2\",\"amount\":100,\"status\":"
                      "\"pending\"}}", 1, 0, "player");
    expect_audit(acc, "{\"b1\":{\"id\":\"b1\",\"player\":\"p1\",\"amount\":90,\"status\":"
                      "\"pending\"}}", 1, 0, "amount");
    expect_audit(acc, "{\"b1\":{\"id\":\"b1\",\"player\":\"p1\",\"amount\":100,\"status\":"
                      "\"voided\"}}", 1, 0, "hold_status");
    /* Rejected by the wallet: no hold; a hold left pending outlives its bet. */
    const char *rej = "[{\"id\":\"b1\",\"player_id\":\"p1\",\"status\":\"rejected\","
                      "\"stake\":100,\"reject_code\":\"insufficient_funds\"}]";
    expect_audit(rej, "{}", 0, 0, NULL);
    expect_audit(rej, "{\"b1\":{\"id\":\"b1\",\"player\":\"p1\",\"amount\":100,\"status\":"
                      "\"pending\"}}", 1, 0, "hold_outlives_bet");
    /* On their way: counted, not a difference. */
    expect_audit("[{\"id\":\"b1\",\"player_id\":\"p1\",\"status\":\"pending_hold\",\"stake\":"
                 "100}]", "{}", 0, 1, NULL);
    expect_audit("[{\"id\":\"b1\",\"player_id\":\"p1\",\"status\":\"rejected\",\"hold\":"
                 "\"voiding\",\"stake\":100}]",
                 "{\"b1\":{\"id\":\"b1\",\"player\":\"p1\",\"amount\":100,\"status\":"
                 "\"pending\"}}", 0, 1, NULL);
    /* Paid by void: voided with its transfer. */
    const char *vb = "[{\"id\":\"b1\",\"player_id\":\"p1\",\"status\":\"settled\",\"stake\":"
                     "100,\"result\":\"void\",\"return\":100,\"paid\":\"void\"}]";
    expect_audit(vb, "{\"b1\":{\"id\":\"b1\",\"player\":\"p1\",\"amount\":100,\"status\":"
                     "\"voided\",\"transfers\":[{\"id\":\"hold:b1:void\",\"amount\":0}]}}", 0, 0,
                 NULL);
    expect_audit(vb, "{\"b1\":{\"id\":\"b1\",\"player\":\"p1\",\"amount\":100,\"status\":"
                     "\"posted\",\"transfers\":[]}}", 1, 0, "hold_status");
}

/* An operator voids an accepted bet with a reason: settled void at once (return = the stake),
 * its exposure released, queued to have its hold voided (paid "void" only); the same void
 * again changes nothing; a bet still pending its hold, or settled, cannot be voided. */
static int void_bet(struct ctx *c, const char *id, const char *reason)
{
    struct cmd cm;
    char *text = bets_cmd_void(&cm, id, reason);
    int st = apply(c, CMD_BET_VOID, text);
    free(text);
    return st;
}

static void test_operator_void(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    long long v = publish(c, "F1", PRICES1);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v)), 201);
    assert_int_equal(place1(c, 500, "exact", 0, leg("F1", "1x2", NULL, "draw", 3500, v)), 201);
    assert_int_equal(void_bet(c, "b000000000001", "palpable error"), 409);
    assert_code(c, "bet_not_voidable");
    assert_int_equal(hold_done(c, "b000000000001", true, NULL), 200);
    assert_int_equal(hold_done(c, "b000000000002", true, NULL), 200);
    assert_int_equal(apply(c, CMD_BET_VOID, "{\"bet_id\":\"b000000000001\"}"), 422);
    assert_code(c, "invalid_void");
    assert_int_equal(void_bet(c, "b000000000009", "x"), 404);
    assert_int_equal(exposure(c->f, "f|F1"), 1140 + 1250);
    assert_int_equal(void_bet(c, "b000000000001", "palpable error"), 200);
    json_t *b = result(c);
    assert_string_equal(str(b, "status"), "settled");
    assert_string_equal(str(b, "result"), "void");
    assert_string_equal(str(b, "void_reason"), "palpable error");
    assert_string_equal(str(b, "voided_by"), "operator");
    assert_int_equal(num(b, "return"), 1000);
    uint64_t pay;
    assert_string_equal(bets_settle_how(b, &pay), "void");
    json_decref(b);
    assert_int_equal(exposure(c->f, "f|F1"), 1250);
    assert_int_equal(exposure(c->f, "o|F1|1x2||home"), 0);
    assert_int_equal(void_bet(c, "b000000000001", "palpable error"), 200);
    assert_int_equal(void_bet(c, "b000000000001", "another reason"), 409);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *unpaid = bets_unpaid(c->f, txn, 100);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(unpaid), 1);
    json_decref(unpaid);
    struct cmd cm;
    char *text = bets_cmd_paid(&cm, "b000000000001", "post");
    assert_int_equal(apply(c, CMD_BET_PAID, text), 409);
    free(text);
    text = bets_cmd_paid(&cm, "b000000000001", "void");
    assert_int_equal(apply(c, CMD_BET_PAID, text), 200);
    free(text);
    /* The result later settles the other bet only. */
    agree_result(c, "F1", 1, 1);
    b = bet(c->f, "b000000000002");
    assert_string_equal(str(b, "result"), "won");
    json_decref(b);
    b = bet(c->f, "b000000000001");
    assert_string_equal(str(b, "result"), "void");
    assert_string_equal(str(b, "paid"), "void");
    json_decref(b);
}

static void test_leg_results(void **state)
{
    (void)state;
    static const struct {
        const char *market, *line, *outcome;
        int h, a;
        const char *want;
    } T[] = {
        {"1x2", NULL, "home", 2, 1, "won"},
        {"1x2", NULL, "draw", 2, 1, "lost"},
        {"1x2", NULL, "draw", 0, 0, "won"},
        {"double_chance", NULL, "home_draw", 1, 1, "won"},
        {"double_chance", NULL, "home_away", 1, 1, "lost"},
        {"double_chance", NULL, "draw_away", 0, 2, "won"},
        {"draw_no_bet", NULL, "home", 1, 1, "void"},
        {"draw_no_bet", NULL, "away", 1, 0, "lost"},
        {"btts", NULL, "yes", 1, 1, "won"},
        {"btts", NULL, "no", 3, 0, "won"},
        {"total_goals", "2.5", "over", 2, 1, "won"},
        {"total_goals", "2.5", "under", 2, 1, "lost"},
        {"total_goals", "2.25", "over", 1, 1, "half_lost"},
        {"total_goals", "2.25", "under", 1, 1, "half_won"},
        {"total_goals", "2.75", "over", 2, 1, "half_won"},
        {"total_goals", "2", "over", 1, 1, "push"},
        {"home_goals", "0.5", "over", 0, 3, "lost"},
        {"away_goals", "1.5", "over", 0, 3, "won"},
        {"correct_score", NULL, "2-1", 2, 1, "won"},
        {"correct_score", NULL, "other", 6, 0, "won"},
        {"correct_score", NULL, "1-2", 2, 1, "lost"},
        {"winning_margin", NULL, "home_4+", 5, 0, "won"},
        {"winning_margin", NULL, "away_1", 0, 1, "won"},
        {"winning_margin", NULL, "draw", 2, 2, "won"},
        {"winning_margin", NULL, "home_1", 3, 1, "lost"},
        {"asian_handicap", "-0.25", "home", 1, 1, "half_lost"},
        {"asian_handicap", "-0.25", "away", 1, 1, "half_won"},
        {"asian_handicap", "-0.25", "home", 2, 1, "won"},
        {"asian_handicap", "-0.75", "home", 2, 1, "half_won"},
        {"asian_handicap", "-0.75", "away", 2, 1, "half_lost"},
        {"asian_handicap", "-1.00", "home", 2, 1, "push"},
        {"asian_handicap", "0.50", "home", 0, 0, "won"},
        {"asian_handicap", "1.25", "away", 2, 1, "lost"},
        {"asian_handicap", "1.25", "home", 0, 1, "half_won"},
    };
    for (size_t i = 0; i < sizeof T / sizeof *T; i++) {
        const char *got = bets_leg_result(T[i].market, T[i].line, T[i].outcome, T[i].h, T[i].a);
        if (!got || strcmp(got, T[i].want))
            fail_msg("%s %s %s at %d-%d: want %s, got %s", T[i].market,
                     T[i].line ? T[i].line : "", T[i].outcome, T[i].h, T[i].a, T[i].want,
                     got ? got : "(unsettled)");
    }
    assert_null(bets_leg_result("next_goal", NULL, "home", 1, 0));
}

static void assert_settled(struct ctx *c, const char *id, const char *result, long long ret)
{
    json_t *b = bet(c->f, id);
    assert_non_null(b);
    if (strcmp(str(b, "status"), "settled") || strcmp(str(b, "result"), result) ||
        num(b, "return") != ret) {
        char *t = json_dumps(b, JSON_COMPACT);
        fail_msg("%s: want settled %s return %lld, got %s", id, result, ret, t);
    }
    json_decref(b);
}

static void assert_status(struct ctx *c, const char *id, const char *status)
{
    json_t *b = bet(c->f, id);
    assert_non_null(b);
    assert_string_equal(str(b, "status"), status);
    json_decref(b);
}

static void test_settlement(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    agree_fixture(c, "F2");
    long long v1 = publish(c, "F1", PRICES1), v2 = publish(c, "F2", PRICES1);
    /* b1 home, b2 draw, b3 AH -0.25 home, b4 F1 home x F2 away, b5 F1 draw x F2 home,
     * b6 draw (hold answered after the result), b7 draw (hold refused). */
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v1)), 201);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "draw", 3500, v1)), 201);
    assert_int_equal(place1(c, 1000, "exact", 0,
                            leg("F1", "asian_handicap", "-0.25", "home", 1800, v1)),
                     201);
    assert_int_equal(place(c, "p1", 1000, "exact", 0,
                           json_pack("[o, o]", leg("F1", "1x2", NULL, "home", 2140, v1),
                                     leg("F2", "1x2", NULL, "away", 3100, v2))),
                     201);
    assert_int_equal(place(c, "p1", 1000, "exact", 0,
                           json_pack("[o, o]", leg("F1", "1x2", NULL, "draw", 3500, v1),
                                     leg("F2", "1x2", NULL, "home", 2140, v2))),
                     201);
    assert_int_equal(place1(c, 777, "exact", 0, leg("F1", "1x2", NULL, "draw", 3500, v1)), 201);
    assert_int_equal(place1(c, 500, "exact", 0, leg("F1", "1x2", NULL, "draw", 3500, v1)), 201);
    for (int i = 1; i <= 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "b%012d", i);
        assert_int_equal(hold_done(c, id, true, NULL), 200);
    }
    assert_int_equal(hold_done(c, "b000000000007", false, "insufficient_funds"), 200);
    /* F1 ends 1-1. */
    agree_result(c, "F1", 1, 1);
    assert_settled(c, "b000000000001", "lost", 0);
    assert_settled(c, "b000000000002", "won", 3500);
    assert_settled(c, "b000000000003", "half_lost", 500);
    /* Accumulators wait for their last leg. */
    assert_status(c, "b000000000004", "accepted");
    assert_status(c, "b000000000005", "accepted");
    assert_status(c, "b000000000006", "pending_hold");
    assert_status(c, "b000000000007", "rejected");
    /* The hold answered after the result: settled at once. */
    assert_int_equal(hold_done(c, "b000000000006", true, NULL), 200);
    assert_settled(c, "b000000000006", "won", 777 * 3500 / 1000);
    /* F2 cancelled: its legs are void (odds 1). */
    agree_result_st(c, "F2", FEED_VOID, 0, 0);
    assert_settled(c, "b000000000004", "lost", 0);
    assert_settled(c, "b000000000005", "won", 3500);
    json_t *b = bet(c->f, "b000000000005");
    assert_string_equal(str(json_array_get(json_object_get(b, "legs"), 1), "result"), "void");
    assert_int_equal(num(b, "odds_settled"), 3500);
    json_decref(b);
    /* Settled bets hold no exposure any more. */
    assert_int_equal(exposure(c->f, "f|F1"), 0);
    assert_int_equal(exposure(c->f, "f|F2"), 0);
    assert_int_equal(exposure(c->f, "o|F1|1x2||draw"), 0);
    /* Money: every settled bet waits to be paid; lost and won are posted, void voided. */
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *unpaid = bets_unpaid(c->f, txn, 100);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(unpaid), 6);
    json_decref(unpaid);
    uint64_t pay;
    b = bet(c->f, "b000000000002");
    assert_string_equal(bets_settle_how(b, &pay), "post");
    assert_int_equal(pay, 3500);
    json_decref(b);
    b = bet(c->f, "b000000000001");
    assert_string_equal(bets_settle_how(b, &pay), "post");
    assert_int_equal(pay, 0);
    json_decref(b);
    struct cmd cm;
    char *t = bets_cmd_paid(&cm, "b000000000001", "void");
    assert_int_equal(apply(c, CMD_BET_PAID, t), 409);
    assert_code(c, "wrong_resolution");
    free(t);
    t = bets_cmd_paid(&cm, "b000000000001", "post");
    assert_int_equal(apply(c, CMD_BET_PAID, t), 200);
    assert_int_equal(apply(c, CMD_BET_PAID, t), 200); /* again: unchanged */
    free(t);
    t = bets_cmd_paid(&cm, "b000000000007", "void");
    assert_int_equal(apply(c, CMD_BET_PAID, t), 409);
    assert_code(c, "bet_not_settled");
    free(t);
    b = bet(c->f, "b000000000001");
    assert_string_equal(str(b, "paid"), "post");
    json_decref(b);
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    unpaid = bets_unpaid(c->f, txn, 100);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(unpaid), 5);
    assert_string_equal(json_string_value(json_array_get(unpaid, 0)), "b000000000002");
    json_decref(unpaid);
}


/* ---- re-settlement and postponed fixtures (bets_resettle.c) ----------------------------- */

static int apply_at(struct ctx *c, uint16_t type, const char *payload, uint64_t time_ms)
{
    assert_true(c->nlog < LOG_MAX);
    c->log[c->nlog++] = (struct entry){type, strdup(payload)};
    return util_apply_at(c->f, &c->r, ++c->last, type, NULL, 0, payload, time_ms);
}

static int resettle(struct ctx *c, const char *fixture, int h, int a, const char *reason)
{
    struct cmd cm;
    char *text = bets_cmd_resettle(&cm, fixture, h, a, reason);
    int st = apply(c, CMD_BET_RESETTLE, text);
    free(text);
    return st;
}

static int paid_resettle(struct ctx *c, const char *id, long long gen)
{
    struct cmd cm;
    char *text = bets_cmd_paid_resettle(&cm, id, gen);
    int st = apply(c, CMD_BET_PAID, text);
    free(text);
    return st;
}

/* A corrected result: every bet on the fixture is settled again at the next generation and
 * keeps its earlier settlements; money moves again ("resettle", idempotent by generation);
 * exposure is not touched; bets not settled yet only get the corrected leg result; refused
 * shapes and fixtures change nothing. */
static void test_resettle(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    agree_fixture(c, "F2");
    long long v1 = publish(c, "F1", PRICES1), v2 = publish(c, "F2", PRICES1);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v1)), 201);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "draw", 3500, v1)), 201);
    assert_int_equal(place(c, "p1", 1000, "exact", 0,
                           json_pack("[o, o]", leg("F1", "1x2", NULL, "home", 2140, v1),
                                     leg("F2", "1x2", NULL, "away", 3100, v2))),
                     201);
    assert_int_equal(place1(c, 600, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v1)), 201);
    for (int i = 1; i <= 4; i++) {
        char id[16];
        snprintf(id, sizeof id, "b%012d", i);
        assert_int_equal(hold_done(c, id, true, NULL), 200);
    }
    assert_int_equal(void_bet(c, "b000000000004", "palpable error"), 200);
    /* Not finished yet: nothing to correct. */
    assert_int_equal(resettle(c, "F1", 2, 1, "VAR goal allowed"), 409);
    assert_code(c, "fixture_not_finished");
    agree_result(c, "F1", 1, 1);
    assert_settled(c, "b000000000001", "lost", 0);
    assert_settled(c, "b000000000002", "won", 3500);
    long long exp_f1 = exposure(c->f, "f|F1");
    struct cmd cm;
    char *t = bets_cmd_paid(&cm, "b000000000001", "post");
    assert_int_equal(apply(c, CMD_BET_PAID, t), 200);
    free(t);
    /* Refusals change nothing. */
    assert_int_equal(resettle(c, "F9", 2, 1, "typo"), 404);
    assert_code(c, "no_fixture");
    assert_int_equal(apply(c, CMD_BET_RESETTLE, "{\"fixture\":\"F1\",\"home\":2,\"away\":1}"),
                     422);
    assert_code(c, "invalid_resettle");
    assert_int_equal(apply(c, CMD_BET_RESETTLE,
                           "{\"fixture\":\"F1\",\"home\":-2,\"away\":1,\"reason\":\"x\"}"),
                     422);
    assert_settled(c, "b000000000001", "lost", 0);
    /* The correction: 2-1. */
    assert_int_equal(resettle(c, "F1", 2, 1, "VAR goal allowed"), 200);
    assert_int_equal(rnum(c, "generation"), 1);
    assert_int_equal(rnum(c, "resettled"), 2);
    assert_int_equal(rnum(c, "bets"), 4);
    assert_settled(c, "b000000000001", "won", 2140);
    assert_settled(c, "b000000000002", "lost", 0);
    assert_settled(c, "b000000000004", "void", 600); /* the operator's void stands */
    json_t *b = bet(c->f, "b000000000001");
    assert_int_equal(num(b, "generation"), 1);
    assert_null(json_object_get(b, "paid"));
    json_t *h0 = json_array_get(json_object_get(b, "settlements"), 0);
    assert_int_equal(json_array_size(json_object_get(b, "settlements")), 1);
    assert_string_equal(str(h0, "result"), "lost");
    assert_int_equal(num(h0, "return"), 0);
    assert_int_equal(num(h0, "generation"), 0);
    assert_string_equal(str(h0, "paid"), "post");
    uint64_t pay;
    assert_string_equal(bets_settle_how(b, &pay), "resettle");
    assert_int_equal(pay, 2140);
    json_decref(b);
    b = bet(c->f, "b000000000002");
    assert_string_equal(bets_settle_how(b, &pay), "resettle");
    assert_int_equal(pay, 0);
    assert_string_equal(str(json_array_get(json_object_get(b, "settlements"), 0), "result"),
                        "won");
    json_decref(b);
    /* The accumulator waits for F2 with its F1 leg now won. */
    b = bet(c->f, "b000000000003");
    assert_string_equal(str(b, "status"), "accepted");
    assert_string_equal(str(json_array_get(json_object_get(b, "legs"), 0), "result"), "won");
    json_decref(b);
    assert_int_equal(exposure(c->f, "f|F1"), exp_f1);
    /* Paying: only by "resettle" at the bet's generation, once. */
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *unpaid = bets_unpaid(c->f, txn, 100);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(unpaid), 3); /* b1, b2 (again) and the void b4 */
    json_decref(unpaid);
    t = bets_cmd_paid(&cm, "b000000000001", "post");
    assert_int_equal(apply(c, CMD_BET_PAID, t), 409);
    assert_code(c, "wrong_resolution");
    free(t);
    assert_int_equal(paid_resettle(c, "b000000000001", 2), 409);
    assert_code(c, "wrong_generation");
    assert_int_equal(paid_resettle(c, "b000000000001", 1), 200);
    assert_int_equal(paid_resettle(c, "b000000000001", 1), 200);
    b = bet(c->f, "b000000000001");
    assert_string_equal(str(b, "paid"), "resettle");
    json_decref(b);
    /* Corrected again (back to 1-1): generation 2, both earlier settlements kept. */
    assert_int_equal(resettle(c, "F1", 1, 1, "VAR decision reversed"), 200);
    assert_int_equal(rnum(c, "generation"), 2);
    assert_settled(c, "b000000000001", "lost", 0);
    b = bet(c->f, "b000000000001");
    assert_int_equal(json_array_size(json_object_get(b, "settlements")), 2);
    assert_string_equal(str(json_array_get(json_object_get(b, "settlements"), 1), "result"),
                        "won");
    assert_string_equal(str(json_array_get(json_object_get(b, "settlements"), 1), "paid"),
                        "resettle");
    json_decref(b);
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *hist = bets_resettles(c->f, txn, "F1");
    fsm_read_end(txn);
    assert_int_equal(num(hist, "generation"), 2);
    assert_int_equal(json_array_size(json_object_get(hist, "history")), 2);
    assert_string_equal(str(json_array_get(json_object_get(hist, "history"), 0), "reason"),
                        "VAR goal allowed");
    json_decref(hist);
}

/* The audit of a re-settled bet: the hold's transfers and their corrections must amount to
 * the last generation's stake and return. */
#define RESETTLED_BET(result, ret)                                                             \
    "[{\"id\":\"b1\",\"player_id\":\"p1\",\"status\":\"settled\",\"stake\":100,\"result\":"    \
    "\"" result "\",\"return\":" #ret ",\"paid\":\"resettle\",\"generation\":1}]"
#define CORRECTED(extra)                                                                       \
    "{\"b1\":{\"id\":\"b1\",\"player\":\"p1\",\"amount\":100,\"status\":\"posted\","           \
    "\"transfers\":[{\"id\":\"hold:b1\",\"amount\":100},{\"id\":\"hold:b1:stake\",\"amount\":" \
    "100,\"debit\":\"sys:stakes:fb\",\"credit\":\"sys:house\"},{\"id\":\"hold:b1:payout\","    \
    "\"amount\":214,\"debit\":\"sys:house\",\"credit\":\"player:p1\"}" extra "]}}"

static void test_audit_resettled(void **state)
{
    (void)state;
    /* Won (100 kept, 214 paid) corrected to lost: the 214 taken back, part from the debt. */
    const char *back = ",{\"id\":\"hold:b1:r1:payout\",\"amount\":150,\"debit\":\"player:p1\","
                       "\"credit\":\"sys:house\"},{\"id\":\"hold:b1:r1:payout:debt\",\"amount\":"
                       "64,\"debit\":\"debt:p1\",\"credit\":\"sys:house\"}";
    char holds[1024];
    snprintf(holds, sizeof holds, CORRECTED("%s"), back);
    expect_audit(RESETTLED_BET("lost", 0), holds, 0, 0, NULL);
    expect_audit(RESETTLED_BET("won", 214), holds, 1, 0, "resettle_transfers");
    expect_audit(RESETTLED_BET("lost", 0), CORRECTED(""), 1, 0, "resettle_transfers");
    /* Corrected to void: the stake returned and the payout taken back. */
    snprintf(holds, sizeof holds, CORRECTED("%s"),
             ",{\"id\":\"hold:b1:r1:stake\",\"amount\":100,\"debit\":\"sys:house\",\"credit\":"
             "\"player:p1\"},{\"id\":\"hold:b1:r1:payout\",\"amount\":214,\"debit\":"
             "\"player:p1\",\"credit\":\"sys:house\"}");
    expect_audit(RESETTLED_BET("void", 100), holds, 0, 0, NULL);
    /* Not paid yet: in progress whatever the hold says. */
    expect_audit("[{\"id\":\"b1\",\"player_id\":\"p1\",\"status\":\"settled\",\"stake\":100,"
                 "\"result\":\"lost\",\"return\":0,\"generation\":1}]",
                 CORRECTED(""), 0, 1, NULL);
}

/* A postponed fixture: its bets stay open until 48 hours after the original kick-off (even
 * when the kick-off is moved), then the leader's CMD_BET_POSTPONED voids them (the stake
 * back) and closes betting on it; before that, or when not postponed, it is refused and
 * changes nothing; again after, nothing changes. */
static void test_postponed(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F3");
    long long v = publish(c, "F3", PRICES1);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F3", "1x2", NULL, "home", 2140, v)), 201);
    assert_int_equal(hold_done(c, "b000000000001", true, NULL), 200);
    const uint64_t ko = (uint64_t)KICKOFF * 1000, h48 = 48ull * 3600 * 1000;
    char p[64];
    snprintf(p, sizeof p, "{\"fixture\":\"F3\"}");
    assert_int_equal(apply_at(c, CMD_BET_POSTPONED, p, ko + h48 + 1000), 409);
    assert_code(c, "not_postponed");
    assert_int_equal(apply(c, CMD_FIXTURE_UPDATE,
                           "{\"id\":\"F3\",\"status\":\"postponed\",\"kickoff\":"
                           "\"2026-12-31T20:00:00Z\"}"),
                     200);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *due_early = bets_postponed_due(c->f, txn, ko + h48 - 1000, 10);
    json_t *due = bets_postponed_due(c->f, txn, ko + h48, 10);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(due_early), 0);
    assert_int_equal(json_array_size(due), 1);
    assert_string_equal(json_string_value(json_array_get(due, 0)), "F3");
    json_decref(due_early);
    json_decref(due);
    assert_int_equal(apply_at(c, CMD_BET_POSTPONED, p, ko + h48 - 1000), 409);
    assert_code(c, "postponement_running");
    assert_status(c, "b000000000001", "accepted");
    assert_int_equal(apply_at(c, CMD_BET_POSTPONED, "{}", ko + h48), 422);
    assert_int_equal(apply_at(c, CMD_BET_POSTPONED, p, ko + h48 + 1000), 200);
    assert_settled(c, "b000000000001", "void", 1000);
    assert_int_equal(exposure(c->f, "f|F3"), 0);
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *sw = bets_switches(c->f, txn);
    due = bets_postponed_due(c->f, txn, ko + h48 + 5000, 10);
    fsm_read_end(txn);
    assert_non_null(json_object_get(json_object_get(sw, "fixtures_closed"), "F3"));
    assert_int_equal(json_array_size(due), 0);
    json_decref(sw);
    json_decref(due);
    assert_int_equal(apply_at(c, CMD_BET_POSTPONED, p, ko + h48 + 9000), 200);
    assert_non_null(strstr(c->r.body, "\"done\":true"));
    /* A bet on it now: betting closed. */
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F3", "1x2", NULL, "home", 2140, v)), 409);
    assert_code(c, "betting_closed");
    /* Played later after all: its voided bets have no settlement to correct. */
    assert_int_equal(apply(c, CMD_FIXTURE_UPDATE, "{\"id\":\"F3\",\"status\":\"scheduled\"}"),
                     200);
    agree_kickoff(c, "F3");
    agree_result(c, "F3", 2, 0);
    assert_settled(c, "b000000000001", "void", 1000);
    assert_int_equal(resettle(c, "F3", 0, 2, "typo"), 409);
    assert_code(c, "fixture_voided");
}


/* ---- next goal and abandoned fixtures (bets_markets.c) ---------------------------------- */

#define PRICES_LIVE                                                                            \
    "{\"1x2\":{\"away\":3100,\"draw\":3500,\"home\":2140},\"btts\":{\"no\":1900,\"yes\":1850},"  \
    "\"next_goal\":{\"away\":2600,\"home\":2000,\"none\":6000},\"total_goals\":{\"1.5\":{"      \
    "\"over\":1300,\"under\":3200},\"2.5\":{\"over\":1900,\"under\":1950}}}"

static void agree_goal(struct ctx *c, const char *id, uint64_t seq, enum feed_side team,
                       enum feed_event_type type)
{
    struct feed_obs o = {.kind = FEED_EVENT};
    snprintf(o.u.event.fixture, sizeof o.u.event.fixture, "%s", id);
    o.u.event.seq = seq;
    o.u.event.period = 1;
    o.u.event.minute = (uint16_t)(10 * seq);
    o.u.event.type = type;
    o.u.event.team = team;
    agree(c, &o);
}

/* A live fixture with the live prices above, live betting on; returns the version. */
static long long live_fixture(struct ctx *c, const char *id)
{
    agree_fixture(c, id);
    agree_kickoff(c, id);
    assert_int_equal(set_limits(c, "{\"live\": true}"), 200);
    return publish(c, id, PRICES_LIVE);
}

/* Next goal settles from the agreed events: the first goal after the bet (an own goal counts
 * for the other side), "none" only when no goal followed; a final score alone could not tell. */
static void test_next_goal(void **state)
{
    struct ctx *c = *state;
    long long v = live_fixture(c, "F5");
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F5", "next_goal", NULL, "home", 2000, v)),
                     201);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F5", "next_goal", NULL, "away", 2600, v)),
                     201);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F5", "next_goal", NULL, "none", 6000, v)),
                     201);
    for (int i = 1; i <= 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "b%012d", i);
        assert_int_equal(hold_done(c, id, true, NULL), 200);
    }
    /* The home side scores into its own net first: settled at that goal, before the result. */
    agree_goal(c, "F5", 2, FEED_HOME, FEED_OWN_GOAL);
    assert_settled(c, "b000000000001", "lost", 0);
    assert_settled(c, "b000000000002", "won", 2600);
    assert_settled(c, "b000000000003", "lost", 0);
    agree_goal(c, "F5", 3, FEED_HOME, FEED_GOAL);
    agree_result(c, "F5", 1, 1);
    assert_settled(c, "b000000000002", "won", 2600);
    /* No goal after the bet: "none" wins at full time. */
    v = live_fixture(c, "F6");
    assert_int_equal(place1(c, 500, "exact", 0, leg("F6", "next_goal", NULL, "none", 6000, v)),
                     201);
    assert_int_equal(place1(c, 500, "exact", 0, leg("F6", "next_goal", NULL, "home", 2000, v)),
                     201);
    assert_int_equal(hold_done(c, "b000000000004", true, NULL), 200);
    assert_int_equal(hold_done(c, "b000000000005", true, NULL), 200);
    agree_result(c, "F6", 0, 0);
    assert_settled(c, "b000000000004", "won", 3000);
    assert_settled(c, "b000000000005", "lost", 0);
    /* A goal agreed while an earlier event is not: it may not be the next goal; once the
     * missing one is agreed (a red card), it is; a bet still waiting for its hold settles
     * when the hold is answered. */
    v = live_fixture(c, "F4");
    assert_int_equal(place1(c, 500, "exact", 0, leg("F4", "next_goal", NULL, "away", 2600, v)),
                     201);
    assert_int_equal(place1(c, 500, "exact", 0, leg("F4", "next_goal", NULL, "home", 2000, v)),
                     201);
    assert_int_equal(hold_done(c, "b000000000006", true, NULL), 200);
    agree_goal(c, "F4", 3, FEED_AWAY, FEED_GOAL);
    assert_status(c, "b000000000006", "accepted");
    agree_goal(c, "F4", 2, FEED_HOME, FEED_RED_CARD);
    assert_settled(c, "b000000000006", "won", 1300);
    assert_status(c, "b000000000007", "pending_hold");
    assert_int_equal(hold_done(c, "b000000000007", true, NULL), 200);
    assert_settled(c, "b000000000007", "lost", 0);
    /* The leg results from the table directly. */
    json_t *evs = json_pack("[{s:{s:I, s:s, s:s}}]", "observation", "seq", (json_int_t)4,
                            "type", "penalty_scored", "team", "away");
    json_t *lg = json_pack("{s:s, s:s, s:{s:I}}", "market", "next_goal", "outcome", "away",
                           "live", "seq", (json_int_t)3);
    assert_string_equal(bets_next_goal_result(lg, evs, false), "won");
    json_object_set_new(json_object_get(lg, "live"), "seq", json_integer(4));
    assert_null(bets_next_goal_result(lg, evs, false));
    assert_string_equal(bets_next_goal_result(lg, evs, true), "lost");
    json_decref(lg);
    json_decref(evs);
}

/* An abandoned fixture: markets already decided by the score at abandonment stand, the others
 * are void; the fixture is cancelled with the abandonment kept, betting on it switched off;
 * a later void result from the feed changes nothing; refusals change nothing. */
static void test_abandoned(void **state)
{
    struct ctx *c = *state;
    long long v = live_fixture(c, "F7");
    static const struct {
        const char *market, *line, *outcome;
        long long price;
        const char *want;
        long long ret;
    } B[] = {
        {"btts", NULL, "yes", 1850, "won", 1850},
        {"btts", NULL, "no", 1900, "lost", 0},
        {"total_goals", "1.5", "over", 1300, "won", 1300},
        {"total_goals", "1.5", "under", 3200, "lost", 0},
        {"total_goals", "2.5", "over", 1900, "void", 1000},
        {"total_goals", "2.5", "under", 1950, "void", 1000},
        {"1x2", NULL, "home", 2140, "void", 1000},
        {"next_goal", NULL, "home", 2000, "won", 2000},
        {"next_goal", NULL, "none", 6000, "lost", 0},
    };
    size_t n = sizeof B / sizeof *B;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(place1(c, 1000, "exact", 0, leg("F7", B[i].market, B[i].line,
                                                        B[i].outcome, B[i].price, v)),
                         201);
        char id[16];
        snprintf(id, sizeof id, "b%012zu", i + 1);
        assert_int_equal(hold_done(c, id, true, NULL), 200);
    }
    /* An accumulator with a leg on another fixture waits for it. */
    agree_fixture(c, "F8");
    long long v8 = publish(c, "F8", PRICES1);
    assert_int_equal(place(c, "p1", 1000, "exact", 0,
                           json_pack("[o, o]", leg("F7", "btts", NULL, "yes", 1850, v),
                                     leg("F8", "1x2", NULL, "home", 2140, v8))),
                     201);
    char acc[16];
    snprintf(acc, sizeof acc, "b%012zu", n + 1);
    assert_int_equal(hold_done(c, acc, true, NULL), 200);
    agree_goal(c, "F7", 2, FEED_HOME, FEED_GOAL);
    agree_goal(c, "F7", 3, FEED_AWAY, FEED_PENALTY_SCORED);
    /* Refusals: shape, unknown fixture, a fixture not live. */
    assert_int_equal(apply(c, CMD_BET_ABANDONED, "{\"fixture\":\"F7\"}"), 422);
    assert_code(c, "invalid_abandon");
    struct cmd cm;
    char *t = bets_cmd_abandoned(&cm, "F9", "floodlights");
    assert_int_equal(apply(c, CMD_BET_ABANDONED, t), 404);
    free(t);
    t = bets_cmd_abandoned(&cm, "F8", "floodlights");
    assert_int_equal(apply(c, CMD_BET_ABANDONED, t), 409);
    assert_code(c, "fixture_not_live");
    free(t);
    assert_status(c, "b000000000001", "accepted");
    t = bets_cmd_abandoned(&cm, "F7", "floodlights failed at 62'");
    assert_int_equal(apply(c, CMD_BET_ABANDONED, t), 200);
    /* The two next goal bets were settled at the home goal already. */
    assert_int_equal(rnum(c, "settled"), (long long)n - 2);
    for (size_t i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "b%012zu", i + 1);
        assert_settled(c, id, B[i].want, B[i].ret);
    }
    json_t *b = bet(c->f, acc);
    assert_string_equal(str(b, "status"), "accepted");
    assert_string_equal(str(json_array_get(json_object_get(b, "legs"), 0), "result"), "won");
    json_decref(b);
    assert_int_equal(apply(c, CMD_BET_ABANDONED, t), 409); /* cancelled now */
    assert_code(c, "fixture_not_live");
    free(t);
    assert_int_equal(exposure(c->f, "o|F7|btts||no"), 0);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *sw = bets_switches(c->f, txn);
    fsm_read_end(txn);
    assert_non_null(json_object_get(json_object_get(sw, "fixtures_closed"), "F7"));
    json_decref(sw);
    /* The feed's void result later: what was settled stays. */
    agree_result_st(c, "F7", FEED_VOID, 0, 0);
    assert_settled(c, "b000000000001", "won", 1850);
    assert_settled(c, "b000000000003", "won", 1300);
}

static json_t *list(struct ctx *c, const char *player, const char *status, uint64_t before,
                    unsigned limit)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *p = bets_list_player(c->f, txn, player, status, before, limit);
    fsm_read_end(txn);
    return p;
}

static void test_player_listing(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    long long v = publish(c, "F1", PRICES1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(place1(c, 100, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v)),
                         201);
    assert_int_equal(place(c, "p2", 100, "exact", 0,
                           json_pack("[o]", leg("F1", "1x2", NULL, "home", 2140, v))),
                     201);
    assert_int_equal(hold_done(c, "b000000000002", false, "insufficient_funds"), 200);
    /* Newest first, two a page, then the rest from the cursor. */
    json_t *p = list(c, "p1", NULL, 0, 2), *items = json_object_get(p, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(str(json_array_get(items, 0), "id"), "b000000000003");
    assert_string_equal(str(json_array_get(items, 1), "id"), "b000000000002");
    long long next = num(p, "next");
    assert_int_equal(next, 2);
    json_decref(p);
    p = list(c, "p1", NULL, (uint64_t)next, 2);
    items = json_object_get(p, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(str(json_array_get(items, 0), "id"), "b000000000001");
    assert_true(json_is_null(json_object_get(p, "next")));
    json_decref(p);
    /* Filters: the rejected one is not open. */
    p = list(c, "p1", "open", 0, 10);
    assert_int_equal(json_array_size(json_object_get(p, "items")), 2);
    json_decref(p);
    p = list(c, "p1", "settled", 0, 10);
    items = json_object_get(p, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(str(json_array_get(items, 0), "status"), "rejected");
    json_decref(p);
    /* Another player's, and a player with none. */
    p = list(c, "p2", NULL, 0, 10);
    assert_int_equal(json_array_size(json_object_get(p, "items")), 1);
    json_decref(p);
    p = list(c, "p", NULL, 0, 10);
    assert_int_equal(json_array_size(json_object_get(p, "items")), 0);
    json_decref(p);
}

/* More bets on a fixture than one chunk: the result settles BET_SETTLE_CHUNK of them in its
 * own apply and keeps the rest for the leader; each CMD_BET_SETTLE_MORE settles the next
 * chunk; once none is left the record is gone and a repeated step changes nothing. */
static void test_settlement_in_chunks(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    long long v1 = publish(c, "F1", PRICES1);
    const int n = BET_SETTLE_CHUNK + 7;
    for (int i = 1; i <= n; i++) {
        assert_int_equal(place1(c, 100, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v1)),
                         201);
        char id[16];
        snprintf(id, sizeof id, "b%012d", i);
        assert_int_equal(hold_done(c, id, true, NULL), 200);
    }
    agree_result(c, "F1", 2, 0);
    char last_in[16], first_out[16], last[16];
    snprintf(last_in, sizeof last_in, "b%012d", BET_SETTLE_CHUNK);
    snprintf(first_out, sizeof first_out, "b%012d", BET_SETTLE_CHUNK + 1);
    snprintf(last, sizeof last, "b%012d", n);
    assert_settled(c, "b000000000001", "won", 214);
    assert_settled(c, last_in, "won", 214);
    assert_status(c, first_out, "accepted");
    assert_status(c, last, "accepted");
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *more = bets_chunked(c->f, txn, BETS_SETTLING, 10);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(more), 1);
    assert_string_equal(json_string_value(json_array_get(more, 0)), "F1");
    json_decref(more);
    struct cmd cm;
    /* The leader may ask for fewer (node/bets_hold.c, while quote rounds are in flight): 3. */
    char *t = bets_cmd_settle_more(&cm, "F1", 3);
    assert_int_equal(apply(c, CMD_BET_SETTLE_MORE, t), 200);
    free(t);
    char third[16], fourth[16];
    snprintf(third, sizeof third, "b%012d", BET_SETTLE_CHUNK + 3);
    snprintf(fourth, sizeof fourth, "b%012d", BET_SETTLE_CHUNK + 4);
    assert_settled(c, first_out, "won", 214);
    assert_settled(c, third, "won", 214);
    assert_status(c, fourth, "accepted");
    /* A limit out of range is refused and changes nothing. */
    const char *bad[] = {"{\"fixture\":\"F1\",\"limit\":0}",
                         "{\"fixture\":\"F1\",\"limit\":1001}",
                         "{\"fixture\":\"F1\",\"limit\":\"5\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(apply(c, CMD_BET_SETTLE_MORE, bad[i]), 422);
        assert_code(c, "invalid_settle");
        assert_status(c, fourth, "accepted");
    }
    t = bets_cmd_chunk_more(&cm, BETS_SETTLING, "F1");
    assert_int_equal(apply(c, CMD_BET_SETTLE_MORE, t), 200);
    assert_settled(c, first_out, "won", 214);
    assert_settled(c, last, "won", 214);
    assert_int_equal(exposure(c->f, "f|F1"), 0);
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    more = bets_chunked(c->f, txn, BETS_SETTLING, 10);
    json_t *unpaid = bets_unpaid(c->f, txn, 10000);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(more), 0);
    assert_int_equal(json_array_size(unpaid), (size_t)n);
    json_decref(more);
    json_decref(unpaid);
    /* Again: nothing left, nothing changed. */
    assert_int_equal(apply(c, CMD_BET_SETTLE_MORE, t), 200);
    free(t);
    assert_int_equal(apply(c, CMD_BET_SETTLE_MORE, "{}"), 422);
    assert_code(c, "invalid_settle");
}

/* A settlement chunk sums its exposure releases per key and writes each key once
 * (bets_exposure_gather): with more keys than it holds at once (70 accumulators, each with its
 * own second fixture settled first: 142 keys), every exposure still ends at exactly 0, and the
 * bets' event records are the bytes json_dumps gives (compact, sorted keys), a player id with
 * characters to escape included. */
static void test_settle_gathers_exposure(void **state)
{
    struct ctx *c = *state;
    enum { N = 70 };
    agree_fixture(c, "F1");
    long long v1 = publish(c, "F1", PRICES1);
    const char *odd = "p\"q\\r\x01\n\xc3\xa9/";
    for (int i = 0; i < N; i++) {
        char fx[16], id[16];
        snprintf(fx, sizeof fx, "G%d", i);
        agree_fixture(c, fx);
        long long v = publish(c, fx, PRICES2);
        json_t *legs = json_pack("[o, o]", leg("F1", "1x2", NULL, "home", 2140, v1),
                                 leg(fx, "1x2", NULL, i % 2 ? "home" : "away",
                                     i % 2 ? 1850 : 4200, v));
        assert_int_equal(place(c, i == 3 ? odd : "p1", 100 + i, "exact", 0, legs), 201);
        snprintf(id, sizeof id, "b%012d", i + 1);
        assert_int_equal(hold_done(c, id, true, NULL), 200);
    }
    assert_true(exposure(c->f, "f|F1") > 0);
    for (int i = 0; i < N; i++) {
        char fx[16];
        snprintf(fx, sizeof fx, "G%d", i);
        agree_result(c, fx, 1, 0); /* home won: the odd bets' leg won, the even ones' lost */
    }
    /* A lost leg does not settle an accumulator before its last leg has a result. */
    assert_status(c, "b000000000001", "accepted");
    agree_result(c, "F1", 2, 0);
    for (int i = 0; i < N; i++) {
        char fx[16], key[64], id[16];
        snprintf(fx, sizeof fx, "G%d", i);
        snprintf(key, sizeof key, "f|%s", fx);
        assert_int_equal(exposure(c->f, key), 0);
        snprintf(key, sizeof key, "o|%s|1x2||%s", fx, i % 2 ? "home" : "away");
        assert_int_equal(exposure(c->f, key), 0);
        snprintf(id, sizeof id, "b%012d", i + 1);
        /* 2.140 x 1.850 = 3.959: the return floored to the cent */
        assert_settled(c, id, i % 2 ? "won" : "lost", i % 2 ? (100 + i) * 3959 / 1000 : 0);
    }
    assert_int_equal(exposure(c->f, "f|F1"), 0);
    assert_int_equal(exposure(c->f, "o|F1|1x2||home"), 0);
    /* Every event record is canonical JSON; the odd player id came back intact. */
    MDB_txn *txn;
    MDB_cursor *cur;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    assert_int_equal(mdb_cursor_open(txn, bets_db(c->f)->events, &cur), 0);
    MDB_val k, v;
    int seen = 0, odd_seen = 0;
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT), seen++) {
        json_t *e = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        assert_non_null(e);
        char *canon = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
        assert_int_equal(strlen(canon), v.mv_size);
        assert_memory_equal(canon, v.mv_data, v.mv_size);
        odd_seen += !strcmp(str(e, "player_id"), odd);
        free(canon);
        json_decref(e);
    }
    mdb_cursor_close(cur);
    fsm_read_end(txn);
    assert_true(seen >= 3 * N); /* placed, accepted, settled */
    assert_true(odd_seen >= 3);
}

/* A correction of a fixture with more bets than a chunk: the first BET_SETTLE_CHUNK in its
 * apply, the rest by the leader's {fixture, more: true}; meanwhile another correction waits
 * (settlement_in_progress); a repeated step changes nothing. */
static void test_resettle_in_chunks(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    long long v1 = publish(c, "F1", PRICES1);
    const int n = BET_SETTLE_CHUNK + 3;
    for (int i = 1; i <= n; i++) {
        assert_int_equal(place1(c, 100, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v1)),
                         201);
        char id[16];
        snprintf(id, sizeof id, "b%012d", i);
        assert_int_equal(hold_done(c, id, true, NULL), 200);
    }
    agree_result(c, "F1", 2, 0);
    struct cmd cm;
    char *t = bets_cmd_chunk_more(&cm, BETS_SETTLING, "F1");
    assert_int_equal(apply(c, CMD_BET_SETTLE_MORE, t), 200);
    free(t);
    assert_int_equal(resettle(c, "F1", 0, 2, "scores swapped"), 200);
    assert_int_equal(rnum(c, "resettled"), BET_SETTLE_CHUNK);
    char last_in[16], first_out[16];
    snprintf(last_in, sizeof last_in, "b%012d", BET_SETTLE_CHUNK);
    snprintf(first_out, sizeof first_out, "b%012d", BET_SETTLE_CHUNK + 1);
    assert_settled(c, last_in, "lost", 0);
    assert_settled(c, first_out, "won", 214);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *re = bets_chunked(c->f, txn, BETS_RESETTLING, 10);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(re), 1);
    assert_string_equal(json_string_value(json_array_get(re, 0)), "F1");
    json_decref(re);
    assert_int_equal(resettle(c, "F1", 1, 2, "another"), 409);
    assert_code(c, "settlement_in_progress");
    t = bets_cmd_chunk_more(&cm, BETS_RESETTLING, "F1");
    assert_int_equal(apply(c, CMD_BET_RESETTLE, t), 200);
    assert_int_equal(rnum(c, "resettled"), n);
    assert_settled(c, first_out, "lost", 0);
    json_t *b = bet(c->f, first_out);
    assert_int_equal(num(b, "generation"), 1);
    json_decref(b);
    assert_int_equal(apply(c, CMD_BET_RESETTLE, t), 200); /* nothing left: unchanged */
    assert_int_equal(rnum(c, "resettled"), n);
    free(t);
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    re = bets_chunked(c->f, txn, BETS_RESETTLING, 10);
    json_t *unpaid = bets_unpaid(c->f, txn, 10000);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(re), 0);
    assert_int_equal(json_array_size(unpaid), (size_t)n);
    json_decref(re);
    json_decref(unpaid);
}

/* ---- cash-out ---------------------------------------------------------------------------- */

/* The offer for @id of @player at the current state; *@st its status. */
static json_t *offer(struct ctx *c, const char *id, const char *player, int *st)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *o = bets_cashout_offer(c->f, txn, id, player, st);
    fsm_read_end(txn);
    assert_non_null(o);
    return o;
}

/* The offer's code (a refusal) or "ok". */
static void expect_offer(struct ctx *c, const char *id, const char *code, long long amount)
{
    int st;
    json_t *o = offer(c, id, "p1", &st);
    if (!code) {
        if (st != 200)
            fail_msg("offer of %s: %d %s", id, st, str(o, "code"));
        assert_int_equal(num(o, "amount"), amount);
    } else {
        assert_int_equal(st, 409);
        assert_string_equal(str(o, "code"), code);
    }
    json_decref(o);
}

/* The time of the next entry (apply stamps entry i with KICKOFF - 1 h + i s). */
static uint64_t next_time(struct ctx *c)
{
    return (uint64_t)KICKOFF * 1000 - 3600000 + (c->last + 1) * 1000;
}

static int cash_out(struct ctx *c, const char *id, const char *player, long long amount,
                    const char *versions, uint64_t expires)
{
    json_t *v = json_loads(versions, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    struct cmd cm;
    char *text = bets_cmd_cashout(&cm, id, player, (uint64_t)amount, v, expires);
    json_decref(v);
    assert_int_equal(cm.type, CMD_BET_CASHOUT);
    int st = apply(c, CMD_BET_CASHOUT, text);
    free(text);
    return st;
}

static int cashout_set(struct ctx *c, const char *json)
{
    json_t *o = json_loads(json, 0, NULL);
    struct cmd cm;
    char *text = bets_cmd_cashout_set(&cm, o);
    json_decref(o);
    int st = apply(c, CMD_BET_CASHOUT_SET, text);
    free(text);
    return st;
}

static char *bet_text(struct fsm *f, const char *id)
{
    json_t *b = bet(f, id);
    char *t = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(b);
    return t;
}

#define PRICES_UP "{\"1x2\":{\"away\":4600,\"draw\":3800,\"home\":1800}}"

/* A single: the offer to the cent (stake x taken odds x the outcome's de-margined probability x
 * (1 - 5 %), floored: 1000 x 2.140 x (1/1.8) / (1/1.8 + 1/3.8 + 1/4.6) = 1147.46 -> x 0.95 =
 * 1090, worked out with exact fractions), every refusal changes nothing, the accept settles it
 * cashed_out (exposure released, queued to be paid by post with the amount), a second accept
 * answers the first, and a second state machine given the same entries agrees. */
static void test_cashout_single(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    long long v1 = publish(c, "F1", PRICES1);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v1)), 201);
    const char *id = "b000000000001";
    expect_offer(c, id, "bet_not_open", 0); /* its hold is not answered yet */
    assert_int_equal(hold_done(c, id, true, NULL), 200);
    /* At the prices it was taken at: 1000 x 2.14 x 0.43459... = 929.7 -> 883 after 5 %. */
    expect_offer(c, id, NULL, 883);
    int st;
    json_t *o = offer(c, id, "p2", &st);
    assert_int_equal(st, 404);
    json_decref(o);
    long long v2 = publish(c, "F1", PRICES_UP);
    o = offer(c, id, "p1", &st);
    assert_int_equal(st, 200);
    assert_int_equal(num(o, "amount"), 1090);
    assert_int_equal(num(o, "fair_value"), 1147);
    assert_int_equal(num(o, "margin_bp"), 500);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(o, "versions"), 0)), v2);
    json_decref(o);

    char vs1[32], vs2[32];
    snprintf(vs1, sizeof vs1, "[%lld]", v1);
    snprintf(vs2, sizeof vs2, "[%lld]", v2);
    char *before = bet_text(c->f, id);
    long long exp_home = exposure(c->f, "o|F1|1x2||home"), exp_f1 = exposure(c->f, "f|F1");
    assert_int_equal(exp_home, 1140);
    /* Refusals, each changing nothing. */
    assert_int_equal(cash_out(c, id, "p1", 883, vs1, next_time(c) + 5000), 409);
    assert_code(c, "price_changed"); /* an offer on the old quote */
    assert_int_equal(rnum(c, "amount"), 1090);
    assert_int_equal(cash_out(c, id, "p1", 1091, vs2, next_time(c) + 5000), 409);
    assert_code(c, "price_changed"); /* an amount the state does not give */
    assert_int_equal(cash_out(c, id, "p2", 1090, vs2, next_time(c) + 5000), 404);
    assert_code(c, "no_bet"); /* someone else's bet */
    assert_int_equal(cash_out(c, id, "p1", 1090, vs2, next_time(c) - 1), 409);
    assert_code(c, "cashout_expired");
    assert_int_equal(cash_out(c, "b000000000009", "p1", 1090, vs2, next_time(c)), 404);
    assert_code(c, "no_bet");
    assert_int_equal(apply(c, CMD_BET_CASHOUT, "{\"bet_id\":\"b000000000001\",\"amount\":1}"),
                     422);
    assert_code(c, "invalid_cashout");
    assert_int_equal(cashout_set(c, "{\"enabled\":false}"), 200);
    expect_offer(c, id, "cashout_off", 0);
    assert_int_equal(cash_out(c, id, "p1", 1090, vs2, next_time(c) + 5000), 409);
    assert_code(c, "cashout_off");
    assert_int_equal(cashout_set(c, "{\"enabled\":true}"), 200);
    suspend(c, "F1");
    expect_offer(c, id, "market_suspended", 0);
    assert_int_equal(cash_out(c, id, "p1", 1090, vs2, next_time(c) + 5000), 409);
    assert_code(c, "market_suspended");
    char *after = bet_text(c->f, id);
    assert_string_equal(before, after);
    free(after);
    assert_int_equal(exposure(c->f, "o|F1|1x2||home"), exp_home);
    assert_int_equal(exposure(c->f, "f|F1"), exp_f1);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *unpaid = bets_unpaid(c->f, txn, 100);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(unpaid), 0);
    json_decref(unpaid);
    free(before);

    /* Prices after the suspension reopen the market: a new version, the same amount. */
    long long v3 = publish(c, "F1", PRICES_UP);
    char vs3[32];
    snprintf(vs3, sizeof vs3, "[%lld]", v3);
    assert_int_equal(cash_out(c, id, "p1", 1090, vs2, next_time(c) + 5000), 409);
    assert_code(c, "price_changed");
    /* Accepted at the last moment of the offer (the leader's stamped time = the expiry). */
    assert_int_equal(cash_out(c, id, "p1", 1090, vs3, next_time(c)), 200);
    json_t *b = bet(c->f, id);
    assert_string_equal(str(b, "status"), "settled");
    assert_string_equal(str(b, "result"), "cashed_out");
    assert_int_equal(num(b, "return"), 1090);
    assert_int_equal(num(json_object_get(b, "cashout"), "amount"), 1090);
    uint64_t pay;
    assert_string_equal(bets_settle_how(b, &pay), "post");
    assert_int_equal(pay, 1090);
    json_decref(b);
    assert_int_equal(exposure(c->f, "o|F1|1x2||home"), 0);
    assert_int_equal(exposure(c->f, "f|F1"), 0);
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    unpaid = bets_unpaid(c->f, txn, 100);
    uint64_t events = bets_last_event(c->f, txn);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(unpaid), 1);
    json_decref(unpaid);
    /* The same accept again answers the bet unchanged; another amount is refused. */
    before = bet_text(c->f, id);
    assert_int_equal(cash_out(c, id, "p1", 1090, vs3, next_time(c) - 99999), 200);
    after = bet_text(c->f, id);
    assert_string_equal(before, after);
    free(after);
    assert_int_equal(cash_out(c, id, "p1", 1000, vs3, next_time(c) + 5000), 409);
    assert_code(c, "bet_not_open");
    expect_offer(c, id, "bet_not_open", 0);
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    assert_int_equal(bets_last_event(c->f, txn), events);
    fsm_read_end(txn);
    /* The result later changes nothing; paying it is the usual post. */
    agree_result(c, "F1", 0, 3);
    after = bet_text(c->f, id);
    assert_string_equal(before, after);
    free(after);
    free(before);
    struct cmd cm;
    char *t = bets_cmd_paid(&cm, id, "post");
    assert_int_equal(apply(c, CMD_BET_PAID, t), 200);
    free(t);

    /* A second state machine given the same entries holds the same bet. */
    char *dir2 = util_tmpdir();
    struct fsm *g = util_fsm_open(dir2);
    struct util_result r2;
    util_capture_results(g, &r2);
    for (size_t i = 0; i < c->nlog; i++)
        util_apply_at(g, &r2, i + 1, c->log[i].type, NULL, 0, c->log[i].payload,
                      (uint64_t)KICKOFF * 1000 - 3600000 + (i + 1) * 1000);
    char *ta = bet_text(c->f, id), *tb = bet_text(g, id);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    fsm_close(g);
    util_rmdir(dir2);
}

/* An accumulator: a won leg counts at its odds, an open one at its fair value (500 x 2.140 x
 * 1.850 x p(home) = 1020.11 with F2's 1x2 at 1.85/3.70/4.20 -> 969 after 5 %; 1020 with no
 * margin); a lost leg means no offer; the margin is the operator's (checked). */
static void test_cashout_accumulator(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    agree_fixture(c, "F2");
    long long v1 = publish(c, "F1", PRICES1), v2 = publish(c, "F2", PRICES2);
    assert_int_equal(place(c, "p1", 500, "exact", 0,
                           json_pack("[o, o]", leg("F1", "1x2", NULL, "home", 2140, v1),
                                     leg("F2", "1x2", NULL, "home", 1850, v2))),
                     201);
    assert_int_equal(place(c, "p1", 500, "exact", 0,
                           json_pack("[o, o]", leg("F1", "1x2", NULL, "draw", 3500, v1),
                                     leg("F2", "1x2", NULL, "home", 1850, v2))),
                     201);
    assert_int_equal(hold_done(c, "b000000000001", true, NULL), 200);
    assert_int_equal(hold_done(c, "b000000000002", true, NULL), 200);
    agree_result(c, "F1", 2, 0);
    assert_status(c, "b000000000001", "accepted");
    expect_offer(c, "b000000000002", "cashout_unavailable", 0); /* its F1 leg lost */
    int st;
    json_t *o = offer(c, "b000000000001", "p1", &st);
    assert_int_equal(st, 200);
    assert_int_equal(num(o, "amount"), 969);
    assert_int_equal(num(o, "fair_value"), 1020);
    json_t *vs = json_object_get(o, "versions");
    assert_true(json_is_null(json_array_get(vs, 0)));
    assert_int_equal(json_integer_value(json_array_get(vs, 1)), v2);
    json_decref(o);
    assert_int_equal(cashout_set(c, "{\"margin_bp\":6000}"), 422);
    assert_code(c, "invalid_cashout_config");
    assert_int_equal(cashout_set(c, "{\"validity_ms\":10}"), 422);
    assert_code(c, "invalid_cashout_config");
    assert_int_equal(cashout_set(c, "{\"margin_bp\":0}"), 200);
    expect_offer(c, "b000000000001", NULL, 1020);
    assert_int_equal(cashout_set(c, "{\"margin_bp\":500,\"validity_ms\":8000}"), 200);
    assert_int_equal(rnum(c, "validity_ms"), 8000);
    long long f2_before = exposure(c->f, "f|F2");
    char vs2[40];
    snprintf(vs2, sizeof vs2, "[null,%lld]", v2);
    assert_int_equal(cash_out(c, "b000000000001", "p1", 969, vs2, next_time(c) + 8000), 200);
    assert_settled(c, "b000000000001", "cashed_out", 969);
    /* Its exposure on F2 is released, the other bet's stays. */
    long long net1 = 500LL * 2140 / 1000 * 1850 / 1000 - 500;
    assert_int_equal(exposure(c->f, "f|F2"), f2_before - net1);
    assert_status(c, "b000000000002", "accepted");
}

/* A cashed-out bet keeps its cash-out when its fixture's result is corrected; the others on
 * it are re-settled. */
static void test_resettle_keeps_cashout(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    long long v1 = publish(c, "F1", PRICES1);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "home", 2140, v1)), 201);
    assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, "draw", 3500, v1)), 201);
    assert_int_equal(hold_done(c, "b000000000001", true, NULL), 200);
    assert_int_equal(hold_done(c, "b000000000002", true, NULL), 200);
    expect_offer(c, "b000000000001", NULL, 883);
    char vs[32];
    snprintf(vs, sizeof vs, "[%lld]", v1);
    assert_int_equal(cash_out(c, "b000000000001", "p1", 883, vs, next_time(c) + 5000), 200);
    assert_settled(c, "b000000000001", "cashed_out", 883);
    agree_result(c, "F1", 1, 1);
    assert_settled(c, "b000000000002", "won", 3500);
    assert_int_equal(resettle(c, "F1", 2, 0, "VAR goal allowed"), 200);
    assert_int_equal(rnum(c, "resettled"), 1);
    assert_settled(c, "b000000000001", "cashed_out", 883);
    json_t *b = bet(c->f, "b000000000001");
    assert_null(json_object_get(b, "generation"));
    json_decref(b);
    assert_settled(c, "b000000000002", "lost", 0);
}

/* An abandonment of more bets than a chunk: the first BET_SETTLE_CHUNK in its apply, the rest
 * by the leader's {fixture, more: true}; a void result agreed in between leaves them to it. */
static void test_abandoned_in_chunks(void **state)
{
    struct ctx *c = *state;
    long long v = live_fixture(c, "F7");
    const int n = BET_SETTLE_CHUNK + 3;
    for (int i = 1; i <= n; i++) {
        assert_int_equal(place1(c, 100, "exact", 0, leg("F7", "btts", NULL, "yes", 1850, v)),
                         201);
        char id[16];
        snprintf(id, sizeof id, "b%012d", i);
        assert_int_equal(hold_done(c, id, true, NULL), 200);
    }
    agree_goal(c, "F7", 2, FEED_HOME, FEED_GOAL);
    agree_goal(c, "F7", 3, FEED_AWAY, FEED_GOAL);
    struct cmd cm;
    char *t = bets_cmd_abandoned(&cm, "F7", "pitch invasion");
    assert_int_equal(apply(c, CMD_BET_ABANDONED, t), 200);
    free(t);
    assert_int_equal(rnum(c, "settled"), BET_SETTLE_CHUNK);
    char last_in[16], first_out[16];
    snprintf(last_in, sizeof last_in, "b%012d", BET_SETTLE_CHUNK);
    snprintf(first_out, sizeof first_out, "b%012d", BET_SETTLE_CHUNK + 1);
    assert_settled(c, last_in, "won", 185);
    assert_status(c, first_out, "accepted");
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *ab = bets_chunked(c->f, txn, BETS_ABANDONING, 10);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(ab), 1);
    json_decref(ab);
    agree_result_st(c, "F7", FEED_VOID, 0, 0); /* the feed's void: the abandonment decides */
    assert_status(c, first_out, "accepted");
    t = bets_cmd_chunk_more(&cm, BETS_ABANDONING, "F7");
    assert_int_equal(apply(c, CMD_BET_ABANDONED, t), 200);
    assert_int_equal(rnum(c, "settled"), n);
    assert_settled(c, first_out, "won", 185);
    assert_int_equal(apply(c, CMD_BET_ABANDONED, t), 200); /* nothing left: unchanged */
    assert_int_equal(rnum(c, "settled"), n);
    free(t);
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    ab = bets_chunked(c->f, txn, BETS_ABANDONING, 10);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(ab), 0);
    json_decref(ab);
    assert_int_equal(exposure(c->f, "f|F7"), 0);
}

/* CMD_BET_HOLDS_DONE: many bets' answers in one command, each item as its single command
 * would apply it (held, refused, paid, voided), mixed results in one batch, a repeated batch
 * changes nothing, and a second state machine given the same entries holds the same bets. */
static int holds_done(struct ctx *c, const char *items_json)
{
    json_t *items = json_loads(items_json, 0, NULL);
    assert_non_null(items);
    struct cmd cm;
    char *text = bets_cmd_holds_done(&cm, items);
    json_decref(items);
    assert_non_null(text);
    assert_int_equal(cm.type, CMD_BET_HOLDS_DONE);
    int st = apply(c, CMD_BET_HOLDS_DONE, text);
    free(text);
    return st;
}

/* The statuses (and codes) of a batch result, as "200,409:bet_resolved,...". */
static void batch_statuses(struct ctx *c, char *out, size_t len)
{
    json_t *r = result(c), *it;
    size_t i, used = 0;
    out[0] = 0;
    json_array_foreach(json_object_get(r, "results"), i, it)
    {
        const char *code = json_string_value(json_object_get(it, "code"));
        used += (size_t)snprintf(out + used, len - used, "%s%lld%s%s", i ? "," : "",
                                 num(it, "status"), code ? ":" : "", code ? code : "");
    }
    json_decref(r);
}

static char *bets_dump(struct fsm *f, int n)
{
    json_t *all = json_array();
    for (int i = 1; i <= n; i++) {
        char id[16];
        snprintf(id, sizeof id, "b%012d", i);
        json_array_append_new(all, bet(f, id));
    }
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(f, &txn), 0);
    json_array_append_new(all, json_integer((json_int_t)bets_last_event(f, txn)));
    json_array_append_new(all, json_integer((json_int_t)bets_exposure(f, txn, "f|F1")));
    json_array_append_new(all, bets_unpaid(f, txn, 100));
    fsm_read_end(txn);
    char *t = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(all);
    return t;
}

static void test_holds_done_batch(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "F1");
    long long v = publish(c, "F1", PRICES1);
    const char *outc[4] = {"home", "draw", "away", "home"};
    const long long pr[4] = {2140, 3500, 3100, 2140};
    for (int i = 0; i < 4; i++)
        assert_int_equal(place1(c, 1000, "exact", 0, leg("F1", "1x2", NULL, outc[i], pr[i], v)),
                         201);
    static const char batch1[] =
        "[{\"op\":\"hold\",\"bet_id\":\"b000000000001\",\"accepted\":true},"
        "{\"op\":\"hold\",\"bet_id\":\"b000000000002\",\"accepted\":false,"
        "\"code\":\"insufficient_funds\",\"detail\":\"no money\"},"
        "{\"op\":\"hold\",\"bet_id\":\"b000000000009\",\"accepted\":true},"
        "{\"op\":\"bogus\",\"bet_id\":\"b000000000003\"},"
        "{\"op\":\"hold\",\"bet_id\":\"b000000000003\",\"accepted\":false},"
        "{\"op\":\"hold\",\"bet_id\":\"b000000000003\",\"accepted\":true}]";
    assert_int_equal(holds_done(c, batch1), 200);
    char st[512];
    batch_statuses(c, st, sizeof st);
    assert_string_equal(st, "200,200,404:no_bet,422:invalid_holds_done,"
                            "422:invalid_hold_result,200");
    json_t *b = bet(c->f, "b000000000002");
    assert_string_equal(str(b, "status"), "rejected");
    assert_string_equal(str(b, "reject_code"), "insufficient_funds");
    json_decref(b);
    assert_status(c, "b000000000001", "accepted");
    assert_status(c, "b000000000003", "accepted");
    assert_status(c, "b000000000004", "pending_hold");
    assert_int_equal(pending(c->f), 1);
    assert_int_equal(exposure(c->f, "o|F1|1x2||draw"), 0);
    assert_int_equal(exposure(c->f, "f|F1"), 1140 + 2100 + 1140);
    /* The same batch again: the same answers, nothing changed. */
    char *before = bets_dump(c->f, 4);
    assert_int_equal(holds_done(c, batch1), 200);
    batch_statuses(c, st, sizeof st);
    assert_string_equal(st, "200,200,404:no_bet,422:invalid_holds_done,"
                            "422:invalid_hold_result,200");
    char *after = bets_dump(c->f, 4);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* Paying after the result: post the settled bets, a void that is not due is refused
     * alone, and a hold accepted after the result settles at once. */
    agree_result(c, "F1", 2, 0);
    assert_settled(c, "b000000000001", "won", 2140);
    assert_settled(c, "b000000000003", "lost", 0);
    static const char batch2[] =
        "[{\"op\":\"paid\",\"bet_id\":\"b000000000001\",\"how\":\"post\"},"
        "{\"op\":\"paid\",\"bet_id\":\"b000000000003\",\"how\":\"void\"},"
        "{\"op\":\"paid\",\"bet_id\":\"b000000000003\",\"how\":\"post\"},"
        "{\"op\":\"voided\",\"bet_id\":\"b000000000002\"},"
        "{\"op\":\"hold\",\"bet_id\":\"b000000000004\",\"accepted\":true}]";
    assert_int_equal(holds_done(c, batch2), 200);
    batch_statuses(c, st, sizeof st);
    assert_string_equal(st, "200,409:wrong_resolution,200,409:hold_not_voiding,200");
    b = bet(c->f, "b000000000001");
    assert_string_equal(str(b, "paid"), "post");
    json_decref(b);
    assert_settled(c, "b000000000004", "won", 2140);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *unpaid = bets_unpaid(c->f, txn, 100);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(unpaid), 1);
    assert_string_equal(json_string_value(json_array_get(unpaid, 0)), "b000000000004");
    json_decref(unpaid);
    before = bets_dump(c->f, 4);
    assert_int_equal(holds_done(c, batch2), 200);
    after = bets_dump(c->f, 4);
    assert_string_equal(before, after);
    free(after);
    /* Shape: no items, too many, not an array. */
    assert_int_equal(apply(c, CMD_BET_HOLDS_DONE, "{\"items\":[]}"), 422);
    assert_code(c, "invalid_holds_done");
    assert_int_equal(apply(c, CMD_BET_HOLDS_DONE, "{\"items\":{}}"), 422);
    assert_code(c, "invalid_holds_done");
    json_t *many = json_array();
    for (int i = 0; i <= BET_HOLDS_DONE_MAX; i++)
        json_array_append_new(many, json_pack("{s:s, s:s}", "op", "voided", "bet_id", "x"));
    json_t *big = json_pack("{s:o}", "items", many);
    char *t = json_dumps(big, JSON_COMPACT);
    json_decref(big);
    assert_int_equal(apply(c, CMD_BET_HOLDS_DONE, t), 422);
    free(t);
    /* Replayed on a second state machine, the same entries give the same bets. */
    char *dir2 = util_tmpdir();
    struct fsm *g = util_fsm_open(dir2);
    struct util_result r2;
    util_capture_results(g, &r2);
    for (size_t i = 0; i < c->nlog; i++)
        util_apply_at(g, &r2, i + 1, c->log[i].type, NULL, 0, c->log[i].payload,
                      (uint64_t)KICKOFF * 1000 - 3600000 + (i + 1) * 1000);
    after = bets_dump(g, 4);
    assert_string_equal(before, after);
    free(before);
    free(after);
    fsm_close(g);
    util_rmdir(dir2);
}

int main(void)
{
    util_log_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_placed_pending_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_price_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_market_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stake_and_payout_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trader_market_cap_and_suspension, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accumulators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_liability_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_outcome, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_delay, setup, teardown),
        cmocka_unit_test(test_audit_compare),
        cmocka_unit_test_setup_teardown(test_operator_void, setup, teardown),
        cmocka_unit_test(test_leg_results),
        cmocka_unit_test_setup_teardown(test_player_listing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settlement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settlement_in_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settle_gathers_exposure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resettle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resettle_in_chunks, setup, teardown),
        cmocka_unit_test(test_audit_resettled),
        cmocka_unit_test_setup_teardown(test_postponed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_goal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abandoned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_in_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cashout_single, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cashout_accumulator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resettle_keeps_cashout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_holds_done_batch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
