/* Trader controls (issue 17) in the state machine and in pricing, without raft: every step is
 * an encoded command given to fsm_apply, as Raft would.
 *   bounds        every out-of-bounds or malformed CMD_TRADER_SET is a 422 with its stable
 *                 code (404 no_fixture for an unknown fixture) and changes nothing;
 *   history       changes merge into the fixture's settings, each kept with its entry, time,
 *                 actor and reason; the next CMD_QUOTE_ROUND captures the pricing part;
 *   suspend       suspended: true suspends the open market at once (reason "trader") and
 *                 refuses rounds; false lets the next round publish and reopen it;
 *   two_machines  two state machines given the same entries hold the same settings, history,
 *                 markets and rounds;
 *   pricing       node/quote_price.c: a margin shift gives a larger 1X2 overround, a lean a
 *                 higher probability for its outcome, a market shift only that market; every
 *                 call gives the same bytes;
 *   market_*      per-market controls (CMD_TRADER_MARKET_SET): bounds refused with their code
 *                 and changing nothing; line moves, leans, caps and suspensions merged with
 *                 their history, captured by the next round, alike on two state machines;
 *                 priced by node/quote_trader.c (a moved ladder, a leaned side, a market left
 *                 out), the same bytes on every call. */
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
#include "consensus/quotes.h"
#include "consensus/trader.h"
#include "consensus/trader_market.h"
#include "feed/feed.h"
#include "node/quote_price.h"
#include "tests/unit/unit_util.h"

static const uint8_t SK[3][32] = {{0}, {[31] = 1}, {[31] = 2}};
#define KICKOFF 1795878000 /* 2026-11-28T15:00:00Z */
#define PRICES "{\"1x2\":{\"away\":3100,\"draw\":3500,\"home\":2140}}"
#define LOG_MAX 128

struct entry {
    uint64_t index;
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
    uint64_t index = ++c->last;
    c->log[c->nlog++] = (struct entry){index, type, strdup(payload)};
    return util_apply(c->f, &c->r, index, type, NULL, 0, payload);
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

/* An agreed football fixture @id (members 1 and 2 sign it): its pending market exists. */
static void agree_fixture(struct ctx *c, const char *id)
{
    struct feed_obs o = util_fixture_obs(id, FEED_FOOTBALL, "Arsenal", "Chelsea", KICKOFF);
    char *text = util_agreed_payload(&o, SK[1], SK[2]);
    assert_int_equal(apply(c, CMD_OBSERVATION_AGREED, text), 201);
    free(text);
}

static int round_(struct ctx *c, const char *fixture)
{
    char p[128];
    snprintf(p, sizeof p, "{\"fixture\":\"%s\"}", fixture);
    return apply(c, CMD_QUOTE_ROUND, p);
}

static int publish(struct ctx *c, const char *fixture, uint64_t index)
{
    json_t *sigs = json_array();
    for (int k = 1; k <= 2; k++) {
        uint8_t d[32];
        char hex[129];
        quote_digest("", fixture, index, PRICES, d);
        util_sign_hex(SK[k], d, hex);
        json_array_append_new(sigs, json_pack("{s:i, s:s}", "node", k, "signature", hex));
    }
    json_t *p = json_pack("{s:s, s:I, s:s, s:o}", "fixture", fixture, "index",
                          (json_int_t)index, "prices", PRICES, "signatures", sigs);
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    int st = apply(c, CMD_QUOTE_PUBLISHED, text);
    free(text);
    return st;
}

/* @type (CMD_TRADER_SET or CMD_TRADER_MARKET_SET) with @fields (JSON members without braces)
 * for @fixture. */
static int trader_t(struct ctx *c, uint16_t type, const char *fixture, const char *fields)
{
    char p[2048];
    snprintf(p, sizeof p, "{\"fixture\":\"%s\",%s}", fixture, fields);
    return apply(c, type, p);
}

static int trader(struct ctx *c, const char *fixture, const char *fields)
{
    return trader_t(c, CMD_TRADER_SET, fixture, fields);
}

static int market_set(struct ctx *c, const char *fixture, const char *fields)
{
    return trader_t(c, CMD_TRADER_MARKET_SET, fixture, fields);
}

/* The trader settings and markets of @ids, the quote stream: one comparable text. */
static char *dump(struct fsm *f)
{
    static const char *const ids[] = {"FB-1", "FB-2", NULL};
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(f, &txn), 0);
    json_t *all = json_object();
    for (size_t i = 0; ids[i]; i++) {
        json_t *t = trader_get(f, txn, ids[i]), *m = quotes_market_get(f, txn, ids[i]);
        json_t *pm = trader_market_get(f, txn, ids[i]);
        json_object_set_new(all, ids[i], json_pack("{s:o, s:o, s:o}", "trader",
                                                   t ? t : json_null(), "market",
                                                   m ? m : json_null(), "per_market",
                                                   pm ? pm : json_null()));
    }
    json_object_set_new(all, "events", quotes_events_after(f, txn, 0, 1000));
    fsm_read_end(txn);
    char *s = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(all);
    return s;
}

static json_t *settings(struct ctx *c, const char *fixture)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *t = trader_get(c->f, txn, fixture);
    fsm_read_end(txn);
    return t;
}

static void expect_code_t(struct ctx *c, uint16_t type, const char *fixture,
                          const char *fields, int status, const char *code)
{
    char *before = dump(c->f);
    assert_int_equal(trader_t(c, type, fixture, fields), status);
    json_t *p = json_loads(c->r.body, 0, NULL);
    const char *got = json_string_value(json_object_get(p, "code"));
    if (!got || strcmp(got, code))
        fail_msg("%s: code %s, want %s", fields, got ? got : "(none)", code);
    assert_non_null(json_object_get(p, "detail"));
    json_decref(p);
    char *after = dump(c->f);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void expect_code(struct ctx *c, const char *fixture, const char *fields, int status,
                        const char *code)
{
    expect_code_t(c, CMD_TRADER_SET, fixture, fields, status, code);
}

static void test_bounds(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    assert_int_equal(trader(c, "FB-1", "\"margin_shift_bp\":200,\"reason\":\"sharp money\""),
                     200);
    const char *R = "\"reason\":\"test bounds\"";
    char f[1200];
    snprintf(f, sizeof f, "\"margin_shift_bp\":1501,%s", R);
    expect_code(c, "FB-1", f, 422, "margin_shift_out_of_bounds");
    snprintf(f, sizeof f, "\"margin_shift_bp\":-501,%s", R);
    expect_code(c, "FB-1", f, 422, "margin_shift_out_of_bounds");
    snprintf(f, sizeof f, "\"margin_shift_bp\":1.5,%s", R);
    expect_code(c, "FB-1", f, 422, "margin_shift_out_of_bounds");
    snprintf(f, sizeof f, "\"lean\":{\"outcome\":\"home\",\"bp\":501},%s", R);
    expect_code(c, "FB-1", f, 422, "lean_out_of_bounds");
    snprintf(f, sizeof f, "\"lean\":{\"outcome\":\"over\",\"bp\":100},%s", R);
    expect_code(c, "FB-1", f, 422, "lean_out_of_bounds");
    snprintf(f, sizeof f, "\"lean\":{\"outcome\":\"home\",\"bp\":-1},%s", R);
    expect_code(c, "FB-1", f, 422, "lean_out_of_bounds");
    expect_code(c, "FB-1", "\"margin_shift_bp\":100,\"reason\":\"ab\"", 422, "reason_length");
    expect_code(c, "FB-1", "\"margin_shift_bp\":100", 422, "reason_length");
    char longr[600];
    memset(longr, 'x', 501);
    longr[501] = 0;
    snprintf(f, sizeof f, "\"margin_shift_bp\":100,\"reason\":\"%s\"", longr);
    expect_code(c, "FB-1", f, 422, "reason_length");
    snprintf(f, sizeof f, "\"margin\":100,%s", R);
    expect_code(c, "FB-1", f, 422, "unknown_field");
    snprintf(f, sizeof f, "\"market\":\"1x3\",\"margin_shift_bp\":100,%s", R);
    expect_code(c, "FB-1", f, 422, "unknown_market");
    snprintf(f, sizeof f, "\"market\":\"1x2\",\"suspended\":true,%s", R);
    expect_code(c, "FB-1", f, 422, "trader_scope");
    expect_code(c, "FB-1", R, 422, "nothing_to_set");
    snprintf(f, sizeof f, "\"suspended\":1,%s", R);
    expect_code(c, "FB-1", f, 422, "invalid_suspended");
    snprintf(f, sizeof f, "\"max_stake\":-5,%s", R);
    expect_code(c, "FB-1", f, 422, "invalid_max_stake");
    snprintf(f, sizeof f, "\"margin_shift_bp\":100,%s", R);
    expect_code(c, "FB-404", f, 404, "no_fixture");
    /* The edges themselves are allowed. */
    snprintf(f, sizeof f, "\"margin_shift_bp\":1500,\"lean\":{\"outcome\":\"away\",\"bp\":500},%s",
             R);
    assert_int_equal(trader(c, "FB-1", f), 200);
    snprintf(f, sizeof f, "\"margin_shift_bp\":-500,%s", R);
    assert_int_equal(trader(c, "FB-1", f), 200);
    json_t *t = settings(c, "FB-1");
    assert_int_equal(json_integer_value(json_object_get(t, "margin_shift_bp")), -500);
    assert_int_equal(json_integer_value(json_object_get(t, "changes")), 3);
    json_decref(t);
}

static void test_history_and_round(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    assert_int_equal(round_(c, "FB-1"), 201);
    json_t *b = json_loads(c->r.body, 0, NULL);
    assert_null(json_object_get(json_object_get(b, "inputs"), "trader")); /* none yet */
    json_decref(b);
    assert_int_equal(trader(c, "FB-1", "\"margin_shift_bp\":300,\"reason\":\"team news\","
                                       "\"by\":\"operator:op-1\""),
                     200);
    uint64_t first = c->last;
    assert_int_equal(trader(c, "FB-1", "\"market\":\"total_goals\",\"margin_shift_bp\":100,"
                                       "\"reason\":\"weather\""),
                     200);
    assert_int_equal(trader(c, "FB-1", "\"lean\":{\"outcome\":\"home\",\"bp\":200},"
                                       "\"max_stake\":5000,\"reason\":\"liability\""),
                     200);
    json_t *t = settings(c, "FB-1");
    assert_int_equal(json_integer_value(json_object_get(t, "margin_shift_bp")), 300);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(t, "market_shift_bp"), "total_goals")),
                     100);
    assert_string_equal(json_string_value(json_object_get(json_object_get(t, "lean"),
                                                          "outcome")),
                        "home");
    assert_int_equal(json_integer_value(json_object_get(t, "max_stake")), 5000);
    json_t *h = json_object_get(t, "history");
    assert_int_equal(json_array_size(h), 3);
    json_t *h0 = json_array_get(h, 0);
    assert_int_equal(json_integer_value(json_object_get(h0, "entry")), (json_int_t)first);
    assert_string_equal(json_string_value(json_object_get(h0, "by")), "operator:op-1");
    assert_string_equal(json_string_value(json_object_get(h0, "reason")), "team news");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(h0, "set"),
                                                        "margin_shift_bp")),
                     300);
    json_decref(t);
    /* The stake cap applies to that fixture only, and never raises the limit. */
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    assert_int_equal(trader_max_stake(c->f, txn, "FB-1", 100000), 5000);
    assert_int_equal(trader_max_stake(c->f, txn, "FB-1", 3000), 3000);
    assert_int_equal(trader_max_stake(c->f, txn, "FB-2", 100000), 100000);
    fsm_read_end(txn);
    /* The next round captures the pricing part. */
    assert_int_equal(round_(c, "FB-1"), 201);
    b = json_loads(c->r.body, 0, NULL);
    json_t *tr = json_object_get(json_object_get(b, "inputs"), "trader");
    assert_non_null(tr);
    assert_int_equal(json_integer_value(json_object_get(tr, "margin_shift_bp")), 300);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(tr, "market_shift_bp"),
                                                        "total_goals")),
                     100);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(tr, "lean"), "bp")),
                     200);
    json_decref(b);
    /* Clearing everything: the round carries no trader part any more. */
    assert_int_equal(trader(c, "FB-1", "\"margin_shift_bp\":0,\"lean\":{\"outcome\":\"home\","
                                       "\"bp\":0},\"reason\":\"back to model\""),
                     200);
    assert_int_equal(trader(c, "FB-1", "\"market\":\"total_goals\",\"margin_shift_bp\":0,"
                                       "\"reason\":\"back to model\""),
                     200);
    assert_int_equal(round_(c, "FB-1"), 201);
    b = json_loads(c->r.body, 0, NULL);
    assert_null(json_object_get(json_object_get(b, "inputs"), "trader"));
    json_decref(b);
}

static void test_suspend_reopen(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    assert_int_equal(round_(c, "FB-1"), 201);
    uint64_t r1 = c->last;
    assert_int_equal(round_(c, "FB-1"), 201); /* a newer round, not published yet */
    uint64_t r2 = c->last;
    (void)r1;
    assert_int_equal(publish(c, "FB-1", r2), 201);
    assert_int_equal(round_(c, "FB-1"), 201);
    uint64_t pending = c->last;
    assert_int_equal(trader(c, "FB-1", "\"suspended\":true,\"reason\":\"integrity alert\""), 200);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *m = quotes_market_get(c->f, txn, "FB-1");
    assert_true(trader_suspended(c->f, txn, "FB-1"));
    fsm_read_end(txn);
    assert_string_equal(json_string_value(json_object_get(m, "status")), "suspended");
    assert_string_equal(json_string_value(json_object_get(m, "reason")), "trader");
    json_decref(m);
    /* No round while suspended; the round computed before cannot reopen it. */
    assert_int_equal(round_(c, "FB-1"), 409);
    assert_int_equal(publish(c, "FB-1", pending), 409);
    assert_int_equal(trader(c, "FB-1", "\"suspended\":false,\"reason\":\"all clear\""), 200);
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    m = quotes_market_get(c->f, txn, "FB-1");
    fsm_read_end(txn);
    assert_string_equal(json_string_value(json_object_get(m, "status")), "suspended");
    json_decref(m);
    assert_int_equal(round_(c, "FB-1"), 201);
    assert_int_equal(publish(c, "FB-1", c->last), 201);
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    m = quotes_market_get(c->f, txn, "FB-1");
    fsm_read_end(txn);
    assert_string_equal(json_string_value(json_object_get(m, "status")), "open");
    json_decref(m);
}

/* A second state machine given the same entries: the same dump, bit for bit; returns it. */
static char *replay_alike(struct ctx *c)
{
    char *dir2 = util_tmpdir();
    struct fsm *f2 = util_fsm_open(dir2);
    struct util_result r2;
    util_capture_results(f2, &r2);
    for (size_t i = 0; i < c->nlog; i++)
        (void)util_apply(f2, &r2, c->log[i].index, c->log[i].type, NULL, 0, c->log[i].payload);
    char *a = dump(c->f), *b = dump(f2);
    assert_string_equal(a, b);
    free(b);
    fsm_close(f2);
    util_rmdir(dir2);
    return a;
}

static void test_two_machines(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    agree_fixture(c, "FB-2");
    assert_int_equal(round_(c, "FB-1"), 201);
    assert_int_equal(publish(c, "FB-1", c->last), 201);
    assert_int_equal(trader(c, "FB-1", "\"margin_shift_bp\":250,\"reason\":\"steam\""), 200);
    assert_int_equal(trader(c, "FB-2", "\"lean\":{\"outcome\":\"draw\",\"bp\":150},"
                                       "\"reason\":\"derby\""),
                     200);
    assert_int_equal(trader(c, "FB-1", "\"suspended\":true,\"reason\":\"red flag\""), 200);
    assert_int_equal(trader(c, "FB-1", "\"margin_shift_bp\":9999,\"reason\":\"oops\""), 422);
    assert_int_equal(trader(c, "FB-1", "\"suspended\":false,\"max_stake\":1000,"
                                       "\"reason\":\"cleared\""),
                     200);
    assert_int_equal(round_(c, "FB-1"), 201);
    assert_int_equal(round_(c, "FB-2"), 201);

    char *a = replay_alike(c);
    assert_non_null(strstr(a, "\"margin_shift_bp\":250")); /* the dump holds the settings */
    assert_non_null(strstr(a, "\"derby\""));
    free(a);
}

/* ---- pricing ---------------------------------------------------------------------------- */

static char *price_comp(const char *phase, const char *trader_json, const char *market_json,
                        const char *competition)
{
    json_t *in = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i}", "phase", phase, "home_goals",
                           0, "away_goals", 0, "home_reds", 0, "away_reds", 0, "minute_x10",
                           !strcmp(phase, "live") ? 200 : 0, "half", !strcmp(phase, "live"));
    if (competition)
        json_object_set_new(in, "competition", json_string(competition));
    if (trader_json)
        json_object_set_new(in, "trader", json_loads(trader_json, 0, NULL));
    if (market_json)
        json_object_set_new(in, "market", json_loads(market_json, 0, NULL));
    model_quote_cfg cfg;
    model_quote_cfg_default(&cfg);
    char err[200] = "";
    char *text = quote_price_football(in, 1.45, 1.15, -0.05, &cfg, 0, err, sizeof err);
    json_decref(in);
    if (!text)
        fail_msg("pricing failed: %s", err);
    return text;
}

static char *price_in(const char *phase, const char *trader_json, const char *market_json)
{
    return price_comp(phase, trader_json, market_json, NULL);
}

static char *price(const char *trader_json)
{
    return price_in("pre", trader_json, NULL);
}

static double price_of(const char *text, const char *market, const char *line,
                       const char *outcome)
{
    json_t *p = json_loads(text, 0, NULL);
    json_t *m = json_object_get(p, market);
    if (line)
        m = json_object_get(m, line);
    json_int_t v = json_integer_value(json_object_get(m, outcome));
    json_decref(p);
    assert_true(v > 1000);
    return (double)v;
}

/* Sum of 1 / odds over the outcomes (odds in milli). */
static double overround(const char *text, const char *market, const char *line,
                        const char *const *outcomes)
{
    double s = 0;
    for (size_t i = 0; outcomes[i]; i++)
        s += 1000.0 / price_of(text, market, line, outcomes[i]);
    return s;
}

static void test_pricing(void **state)
{
    (void)state;
    static const char *const x12[] = {"home", "draw", "away", NULL};
    static const char *const ou[] = {"over", "under", NULL};
    char *base = price(NULL);
    char *shift = price("{\"margin_shift_bp\":500,\"market_shift_bp\":{}}");
    char *shift2 = price("{\"margin_shift_bp\":500,\"market_shift_bp\":{}}");
    char *lean = price("{\"margin_shift_bp\":0,\"market_shift_bp\":{},\"lean\":{\"outcome\":"
                       "\"away\",\"bp\":400}}");
    char *lean2 = price("{\"margin_shift_bp\":0,\"market_shift_bp\":{},\"lean\":{\"outcome\":"
                        "\"away\",\"bp\":400}}");
    char *mkt = price("{\"margin_shift_bp\":0,\"market_shift_bp\":{\"total_goals\":800}}");
    /* Bit-identical on two calls. */
    assert_string_equal(shift, shift2);
    assert_string_equal(lean, lean2);
    /* A 5% shift: a larger 1X2 overround (by about 0.05) and shorter odds everywhere. */
    double o0 = overround(base, "1x2", NULL, x12), o1 = overround(shift, "1x2", NULL, x12);
    assert_true(o1 > o0 + 0.03);
    assert_true(price_of(shift, "1x2", NULL, "home") < price_of(base, "1x2", NULL, "home"));
    assert_true(overround(shift, "total_goals", "2.5", ou) >
                overround(base, "total_goals", "2.5", ou));
    /* A lean toward away: away shorter, home and draw longer, the same overround nearly. */
    assert_true(price_of(lean, "1x2", NULL, "away") < price_of(base, "1x2", NULL, "away"));
    assert_true(price_of(lean, "1x2", NULL, "home") > price_of(base, "1x2", NULL, "home"));
    assert_true(price_of(lean, "1x2", NULL, "draw") > price_of(base, "1x2", NULL, "draw"));
    assert_true(price_of(lean, "draw_no_bet", NULL, "away") <
                price_of(base, "draw_no_bet", NULL, "away"));
    /* A market's shift moves that market only. */
    assert_true(overround(mkt, "total_goals", "2.5", ou) >
                overround(base, "total_goals", "2.5", ou) + 0.05);
    assert_true(price_of(mkt, "1x2", NULL, "home") == price_of(base, "1x2", NULL, "home"));
    free(base);
    free(shift);
    free(shift2);
    free(lean);
    free(lean2);
    free(mkt);
}

/* The agreed market snapshot in a pre-match round pulls the 1X2 toward the market (the model
 * favours the home side, this market the away side), the same bits every time; double chance
 * follows; a live round, or a snapshot without a usable book, prices from the model alone. */
static void test_market_blend(void **state)
{
    (void)state;
    static const char *const mkt = "{\"seq\":2,\"odds_milli\":[[5000,4000,1600],[5200,3900,1580]]}";
    char *base = price(NULL), *blend = price_in("pre", NULL, mkt), *again = price_in("pre", NULL, mkt);
    assert_string_equal(blend, again); /* deterministic: the same text, bit for bit */
    assert_true(price_of(blend, "1x2", NULL, "away") < price_of(base, "1x2", NULL, "away"));
    assert_true(price_of(blend, "1x2", NULL, "home") > price_of(base, "1x2", NULL, "home"));
    assert_true(price_of(blend, "double_chance", NULL, "draw_away") <
                price_of(base, "double_chance", NULL, "draw_away"));
    /* the blended away price sits between the model's and the market's fair price (~1.66), or
     * at the market's when the fitted weight is 1 */
    assert_true(price_of(blend, "1x2", NULL, "away") > 1500.0);
    /* the weight is the fixture's league's (models/blend.c table): a league's names share it;
     * an unknown competition, or none, takes the pooled default */
    char *epl = price_comp("pre", NULL, mkt, "Premier League"),
         *e0 = price_comp("pre", NULL, mkt, "E0"),
         *other = price_comp("pre", NULL, mkt, "No Such League");
    assert_string_equal(epl, e0);
    assert_string_equal(other, blend);
    if (model_blend_weight_fb("E0") != model_blend_weight_fb_default)
        assert_string_not_equal(e0, blend);
    else
        assert_string_equal(e0, blend);
    free(epl), free(e0), free(other);
    char *with_lean = price_in("pre", "{\"margin_shift_bp\":0,\"market_shift_bp\":{},\"lean\":"
                                      "{\"outcome\":\"home\",\"bp\":300}}", mkt);
    assert_true(price_of(with_lean, "1x2", NULL, "home") < price_of(blend, "1x2", NULL, "home"));
    char *live = price_in("live", NULL, NULL), *live_m = price_in("live", NULL, mkt);
    assert_string_equal(live, live_m);
    char *unusable = price_in("pre", NULL, "{\"seq\":1,\"odds_milli\":[[1000,1000,1000]]}");
    assert_string_equal(unusable, base);
    free(base), free(blend), free(again), free(with_lean), free(live), free(live_m), free(unusable);
}

/* ---- per-market controls (CMD_TRADER_MARKET_SET) ----------------------------------------- */

static void test_market_bounds(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    static const struct {
        const char *fields, *code;
    } bad[] = {
        {"\"market\":\"total_goals\",\"line_move\":0.5", "line_move_out_of_bounds"},
        {"\"market\":\"total_goals\",\"line_move\":4", "line_move_out_of_bounds"},
        {"\"market\":\"asian_handicap\",\"line_move\":0.3", "line_move_out_of_bounds"},
        {"\"market\":\"asian_handicap\",\"line_move\":-2.25", "line_move_out_of_bounds"},
        {"\"market\":\"asian_handicap\",\"line_move\":\"1\"", "line_move_out_of_bounds"},
        {"\"market\":\"btts\",\"line_move\":1", "line_market"},
        {"\"market\":\"total_games\",\"line_move\":0.5", "line_move_out_of_bounds"},
        {"\"market\":\"game_handicap\",\"line_move\":-4", "line_move_out_of_bounds"},
        {"\"market\":\"spread\",\"line_move\":1.5", "line_move_out_of_bounds"},
        {"\"market\":\"total_points\",\"line_move\":11", "line_move_out_of_bounds"},
        {"\"market\":\"moneyline\",\"line_move\":1", "line_market"},
        {"\"market\":\"set_betting\",\"line_move\":1", "line_market"},
        {"\"market\":\"set_betting\",\"lean\":{\"outcome\":\"home\",\"bp\":100}",
         "lean_market"},
        {"\"market\":\"moneyline\",\"lean\":{\"outcome\":\"draw\",\"bp\":100}",
         "lean_out_of_bounds"},
        {"\"market\":\"total_points\",\"lean\":{\"outcome\":\"home\",\"bp\":100}",
         "lean_out_of_bounds"},
        {"\"market\":\"total_goals\",\"lean\":{\"outcome\":\"draw\",\"bp\":100}",
         "lean_out_of_bounds"},
        {"\"market\":\"total_goals\",\"lean\":{\"outcome\":\"over\",\"bp\":501}",
         "lean_out_of_bounds"},
        {"\"market\":\"1x2\",\"lean\":{\"outcome\":\"home\",\"bp\":100}", "lean_market"},
        {"\"market\":\"corners\",\"suspended\":true", "unknown_market"},
        {"\"market\":\"btts\",\"suspended\":true,\"margin_shift_bp\":100", "trader_scope"},
        {"\"market\":\"btts\",\"max_stake\":-1", "invalid_max_stake"},
        {"\"market\":\"btts\",\"suspended\":\"yes\"", "invalid_suspended"},
        {"\"market\":\"btts\"", "nothing_to_set"},
    };
    char f[600];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(f, sizeof f, "%s,\"reason\":\"test bounds\"", bad[i].fields);
        expect_code_t(c, CMD_TRADER_MARKET_SET, "FB-1", f, 422, bad[i].code);
    }
    expect_code_t(c, CMD_TRADER_MARKET_SET, "FB-1",
                  "\"market\":\"btts\",\"suspended\":true,\"reason\":\"x\"", 422,
                  "reason_length");
    expect_code_t(c, CMD_TRADER_MARKET_SET, "FB-404",
                  "\"market\":\"btts\",\"suspended\":true,\"reason\":\"ghost\"", 404,
                  "no_fixture");
    /* The edges are allowed. */
    assert_int_equal(market_set(c, "FB-1", "\"market\":\"total_goals\",\"line_move\":-3,"
                                           "\"reason\":\"edge\""),
                     200);
    assert_int_equal(market_set(c, "FB-1", "\"market\":\"asian_handicap\",\"line_move\":"
                                           "1.75,\"lean\":{\"outcome\":\"away\",\"bp\":500},"
                                           "\"reason\":\"edge\""),
                     200);
    /* Tennis's games and basketball's points: whole units, 3 games and 10 points at most. */
    assert_int_equal(market_set(c, "FB-1", "\"market\":\"total_games\",\"line_move\":-3,"
                                           "\"reason\":\"edge\""),
                     200);
    assert_int_equal(market_set(c, "FB-1", "\"market\":\"spread\",\"line_move\":10,"
                                           "\"reason\":\"edge\""),
                     200);
    /* The unit is named in the refusal. */
    expect_code_t(c, CMD_TRADER_MARKET_SET, "FB-1",
                  "\"market\":\"total_points\",\"line_move\":0.5,\"reason\":\"units\"", 422,
                  "line_move_out_of_bounds");
    assert_non_null(strstr(c->r.body, "points in steps of 1.00, at most 10.00"));
}

static json_t *round_trader(struct ctx *c, const char *fixture)
{
    assert_int_equal(round_(c, fixture), 201);
    json_t *b = json_loads(c->r.body, 0, NULL);
    json_t *t = json_incref(json_object_get(json_object_get(b, "inputs"), "trader"));
    json_decref(b);
    return t;
}

static void test_market_round_two_machines(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    agree_fixture(c, "FB-2");
    assert_int_equal(market_set(c, "FB-1", "\"market\":\"total_goals\",\"line_move\":1,"
                                           "\"reason\":\"heavy pitch\",\"by\":\"operator:t1\""),
                     200);
    assert_int_equal(market_set(c, "FB-1", "\"market\":\"asian_handicap\",\"line_move\":"
                                           "-0.5,\"lean\":{\"outcome\":\"home\",\"bp\":200},"
                                           "\"reason\":\"team news\""),
                     200);
    assert_int_equal(market_set(c, "FB-1", "\"market\":\"btts\",\"max_stake\":500,"
                                           "\"reason\":\"liability\""),
                     200);
    assert_int_equal(market_set(c, "FB-1", "\"market\":\"correct_score\",\"suspended\":"
                                           "true,\"reason\":\"integrity\""),
                     200);
    assert_int_equal(market_set(c, "FB-2", "\"market\":\"total_goals\",\"line_move\":5,"
                                           "\"reason\":\"refused\""),
                     422);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *pm = trader_market_get(c->f, txn, "FB-1");
    assert_int_equal(trader_market_max_stake(c->f, txn, "FB-1", "btts", 100000), 500);
    assert_int_equal(trader_market_max_stake(c->f, txn, "FB-1", "1x2", 100000), 100000);
    assert_true(trader_market_suspended(c->f, txn, "FB-1", "correct_score"));
    assert_false(trader_market_suspended(c->f, txn, "FB-2", "correct_score"));
    fsm_read_end(txn);
    assert_int_equal(json_integer_value(json_object_get(pm, "changes")), 4);
    json_t *h0 = json_array_get(json_object_get(pm, "history"), 0);
    assert_string_equal(json_string_value(json_object_get(h0, "market")), "total_goals");
    assert_string_equal(json_string_value(json_object_get(h0, "by")), "operator:t1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(h0, "set"),
                                                        "line_move_q")),
                     4);
    json_decref(pm);
    /* The round captures the pricing part (no stake cap: bets check it themselves). */
    json_t *t = round_trader(c, "FB-1");
    char *text = json_dumps(json_object_get(t, "markets"), JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"asian_handicap\":{\"lean\":{\"bp\":200,\"outcome\":"
                              "\"home\"},\"line_move_q\":-2},\"correct_score\":{\"suspended\""
                              ":true},\"total_goals\":{\"line_move_q\":4}}");
    free(text);
    json_decref(t);
    t = round_trader(c, "FB-2");
    assert_null(t);
    /* Another state machine given the same entries holds the same bytes. */
    char *a = replay_alike(c);
    assert_non_null(strstr(a, "\"heavy pitch\""));
    free(a);
    /* Cleared, market by market: the round has no trader part any more. */
    assert_int_equal(market_set(c, "FB-1", "\"market\":\"total_goals\",\"line_move\":0,"
                                           "\"reason\":\"back to model\""),
                     200);
    assert_int_equal(market_set(c, "FB-1", "\"market\":\"asian_handicap\",\"line_move\":0,"
                                           "\"lean\":{\"outcome\":\"home\",\"bp\":0},"
                                           "\"reason\":\"back to model\""),
                     200);
    assert_int_equal(market_set(c, "FB-1", "\"market\":\"correct_score\",\"suspended\":"
                                           "false,\"reason\":\"reopen\""),
                     200);
    assert_null(round_trader(c, "FB-1"));
}

static void test_market_pricing(void **state)
{
    (void)state;
    static const char *const ou[] = {"over", "under", NULL};
    char *base = price(NULL);
    const char *tr = "{\"margin_shift_bp\":0,\"market_shift_bp\":{},\"markets\":{"
                     "\"total_goals\":{\"line_move_q\":4},"
                     "\"asian_handicap\":{\"line_move_q\":-2},"
                     "\"btts\":{\"lean\":{\"outcome\":\"yes\",\"bp\":300}},"
                     "\"correct_score\":{\"suspended\":true}}}";
    char *moved = price(tr), *again = price(tr);
    assert_string_equal(moved, again); /* the same bytes on every call */
    /* Totals up a goal: 3.5 has 2.5's prices; 0.5 fell off the ladder. */
    assert_true(price_of(moved, "total_goals", "3.5", "over") ==
                price_of(base, "total_goals", "2.5", "over"));
    assert_true(price_of(moved, "total_goals", "3.5", "under") ==
                price_of(base, "total_goals", "2.5", "under"));
    json_t *p = json_loads(moved, 0, NULL);
    assert_null(json_object_get(json_object_get(p, "total_goals"), "0.5"));
    assert_null(json_object_get(p, "correct_score")); /* suspended: not offered */
    json_decref(p);
    /* The handicap half a goal toward home: home -1.00 at the model's -0.50. */
    assert_true(price_of(moved, "asian_handicap", "-1.00", "home") ==
                price_of(base, "asian_handicap", "-0.50", "home"));
    /* btts leaned to yes: yes shorter, no longer; other markets untouched. */
    assert_true(price_of(moved, "btts", NULL, "yes") < price_of(base, "btts", NULL, "yes"));
    assert_true(price_of(moved, "btts", NULL, "no") > price_of(base, "btts", NULL, "no"));
    assert_true(price_of(moved, "1x2", NULL, "home") == price_of(base, "1x2", NULL, "home"));
    char *over = price("{\"margin_shift_bp\":0,\"market_shift_bp\":{},\"markets\":{"
                       "\"total_goals\":{\"lean\":{\"outcome\":\"under\",\"bp\":400}}}}");
    assert_true(price_of(over, "total_goals", "2.5", "under") <
                price_of(base, "total_goals", "2.5", "under"));
    assert_true(overround(over, "total_goals", "2.5", ou) > 1.0);
    free(base), free(moved), free(again), free(over);
}

static char *price_sport(const char *sport, const char *trader_json)
{
    json_t *in = json_pack("{s:s, s:i, s:i}", "phase", "pre", "best_of", 3, "server_a", 1);
    if (trader_json)
        json_object_set_new(in, "trader", json_loads(trader_json, 0, NULL));
    model_quote_cfg cfg;
    model_quote_cfg_default(&cfg);
    char err[200] = "";
    model_bb_state pre = {.margin_mean = 2.5, .margin_sd = 12.0, .total_mean = 165.0,
                          .total_sd = 14.0};
    char *text = !strcmp(sport, "tennis")
                     ? quote_price_tennis(in, 0.64, 0.62, &cfg, 0, err, sizeof err)
                     : quote_price_basketball(in, &pre, &cfg, 0, err, sizeof err);
    json_decref(in);
    if (!text)
        fail_msg("pricing failed: %s", err);
    return text;
}

/* Every line of @market in @moved is @base's line @units lower, at the same prices, and the
 * ladders have as many lines. */
static void assert_shifted(const char *base, const char *moved, const char *market, int units,
                           const char *side0, const char *side1)
{
    json_t *b = json_loads(base, 0, NULL), *m = json_loads(moved, 0, NULL);
    json_t *bm = json_object_get(b, market), *mm = json_object_get(m, market);
    assert_true(json_object_size(mm) >= 3);
    assert_int_equal(json_object_size(mm), json_object_size(bm));
    const char *line;
    json_t *v;
    json_object_foreach(mm, line, v)
    {
        char from[32];
        snprintf(from, sizeof from, "%.1f", atof(line) - units);
        json_t *o = json_object_get(bm, from);
        assert_non_null(o);
        assert_true(json_equal(json_object_get(v, side0), json_object_get(o, side0)));
        assert_true(json_equal(json_object_get(v, side1), json_object_get(o, side1)));
    }
    json_decref(b);
    json_decref(m);
}

/* Tennis and basketball: a line move shifts the model-centred ladder, each line at the model's
 * price of the line it came from; the other markets are untouched, the same bytes every call. */
static void test_market_lines_tennis_basketball(void **state)
{
    (void)state;
    char *tb = price_sport("tennis", NULL);
    const char *tt = "{\"margin_shift_bp\":0,\"market_shift_bp\":{},\"markets\":{"
                     "\"total_games\":{\"line_move_q\":8},"
                     "\"game_handicap\":{\"line_move_q\":-4}}}";
    char *tm = price_sport("tennis", tt), *tm2 = price_sport("tennis", tt);
    assert_string_equal(tm, tm2);
    assert_shifted(tb, tm, "total_games", 2, "over", "under");
    assert_shifted(tb, tm, "game_handicap", -1, "home", "away");
    /* 20.5 is offered at the model's 18.5, which is no longer offered. */
    assert_true(price_of(tm, "total_games", "20.5", "over") ==
                price_of(tb, "total_games", "18.5", "over"));
    assert_true(price_of(tm, "match_winner", NULL, "home") ==
                price_of(tb, "match_winner", NULL, "home"));

    char *bb = price_sport("basketball", NULL);
    const char *bt = "{\"margin_shift_bp\":0,\"market_shift_bp\":{},\"markets\":{"
                     "\"spread\":{\"line_move_q\":12},"
                     "\"total_points\":{\"line_move_q\":-20}}}";
    char *bm = price_sport("basketball", bt);
    assert_shifted(bb, bm, "spread", 3, "home", "away");
    assert_shifted(bb, bm, "total_points", -5, "over", "under");
    assert_true(price_of(bm, "moneyline", NULL, "home") ==
                price_of(bb, "moneyline", NULL, "home"));
    /* Leans: basketball's total toward under, tennis's match winner toward away. Every line's
     * under shorter and over longer; the other markets' bytes unchanged. */
    char *bl = price_sport("basketball", "{\"margin_shift_bp\":0,\"market_shift_bp\":{},"
                                          "\"markets\":{\"total_points\":{\"lean\":"
                                          "{\"outcome\":\"under\",\"bp\":300}}}}");
    json_t *jb = json_loads(bb, 0, NULL), *jl = json_loads(bl, 0, NULL);
    const char *ln;
    json_t *lv;
    json_object_foreach(json_object_get(jb, "total_points"), ln, lv)
    {
        json_t *l = json_object_get(json_object_get(jl, "total_points"), ln);
        assert_true(json_integer_value(json_object_get(l, "under")) <
                    json_integer_value(json_object_get(lv, "under")));
        assert_true(json_integer_value(json_object_get(l, "over")) >
                    json_integer_value(json_object_get(lv, "over")));
    }
    assert_true(json_equal(json_object_get(jb, "spread"), json_object_get(jl, "spread")));
    assert_true(json_equal(json_object_get(jb, "moneyline"), json_object_get(jl, "moneyline")));
    json_decref(jb);
    json_decref(jl);
    char *tl = price_sport("tennis", "{\"margin_shift_bp\":0,\"market_shift_bp\":{},"
                                     "\"markets\":{\"match_winner\":{\"lean\":"
                                     "{\"outcome\":\"away\",\"bp\":500}}}}");
    assert_true(price_of(tl, "match_winner", NULL, "away") <
                price_of(tb, "match_winner", NULL, "away"));
    assert_true(price_of(tl, "match_winner", NULL, "home") >
                price_of(tb, "match_winner", NULL, "home"));
    assert_true(price_of(tl, "total_games", "20.5", "over") ==
                price_of(tb, "total_games", "20.5", "over"));
    free(bl), free(tl);
    /* Nothing moved: the same bytes as without a trader. */
    char *bz = price_sport("basketball", "{\"margin_shift_bp\":0,\"market_shift_bp\":{},"
                                          "\"markets\":{\"spread\":{\"max_stake\":100}}}");
    assert_string_equal(bz, bb);
    free(tb), free(tm), free(tm2), free(bb), free(bm), free(bz);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_bounds), T(test_history_and_round), T(test_suspend_reopen), T(test_two_machines),
        T(test_market_bounds), T(test_market_round_two_machines),
        cmocka_unit_test(test_pricing),
        cmocka_unit_test(test_market_blend),
        cmocka_unit_test(test_market_pricing),
        cmocka_unit_test(test_market_lines_tennis_basketball),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
