/* The return-to-player governor (issue 17): its rule (consensus/governor_rule.c), its commands
 * in the state machine without raft (encoded commands given to fsm_apply, as Raft would), and
 * its adjustment in node/quote_price.c.
 *   rule_projection  the projected year TRJ and the needed adjustment, to the basis point;
 *   rule_dead_band   nothing moves within the band around the target;
 *   rule_gradual     above the target the adjustment rises by at most step_bp per move, stops
 *                    at max_bp, waits for the last move to be measured (the window);
 *   rule_relax       below the target it comes down by at most step_bp, never below 0;
 *   rule_bounds      a fixed-seed sweep of readings: every move within the step, the
 *                    adjustment within 0..max_bp, the same answer twice;
 *   rule_refused     parameters or readings out of range are refused;
 *   apply_adjust     CMD_GOVERNOR_ADJUST reruns the rule on the payload, the stamp's date and
 *                    the state; the move, its history and its window; refusals (stale
 *                    reading, bad parameters, unknown fields) change nothing; a reset;
 *   two_machines     two state machines given the same entries hold the same state;
 *   pricing          governor_bp in a round's inputs: a larger overround in every market, the
 *                    same bytes as a trader's equal margin shift, the same bytes every call. */
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
#include "consensus/governor.h"
#include "node/quote_price.h"
#include "tests/unit/unit_util.h"

static const gov_cfg CFG = {.target_bp = 8400, .band_bp = 50, .step_bp = 25, .max_bp = 300,
                            .min_stakes = 100000};

/* ---- the rule ---------------------------------------------------------------------------- */

static gov_out next(const gov_cfg *cfg, gov_in in)
{
    gov_out o;
    assert_int_equal(gov_next(cfg, &in, &o), 0);
    return o;
}

static void rule_projection(void **state)
{
    (void)state;
    /* 100 days in (day 99), 10000.00 staked, 9000.00 paid: 90 % so far, no window. */
    gov_in in = {.stakes = 1000000, .payouts = 900000, .day = 99, .days = 365};
    gov_out o = next(&CFG, in);
    assert_int_equal(o.ytd_bp, 9000);
    assert_int_equal(o.recent_bp, 9000);
    assert_int_equal(o.projected_bp, 9000);
    /* The rest (26500.00 at this pace) may return r* = (8400 x 36500 - 9000 x 10000) / 26500
     * = 8173 bp (8173.58, truncated): 9000 / 8173 - 1 = 10.11 % more margin. */
    assert_int_equal(o.needed_bp, (9000 - 8173) * 10000 / 8173);
    assert_int_equal(o.why, GOV_RAISE);
    assert_int_equal(o.next_bp, 25);
    /* With a window at 80 % since the last move: (9e9 + 8000 x 2.65e6) / 3.65e6 = 8273 bp,
     * inside nothing: below target - band, the rule relaxes. */
    in.has_window = 1;
    in.win_stakes = 200000;
    in.win_payouts = 160000;
    in.current_bp = 100;
    o = next(&CFG, in);
    assert_int_equal(o.recent_bp, 8000);
    assert_int_equal(o.projected_bp, 8273);
    assert_int_equal(o.why, GOV_RELAX);
    assert_int_equal(o.next_bp, 75);
    assert_string_equal(gov_why_name(o.why), "relax");
}

static void rule_dead_band(void **state)
{
    (void)state;
    for (int64_t p = 837000; p <= 844000; p += 500) { /* 83.70 % .. 84.40 % */
        gov_in in = {.stakes = 1000000, .payouts = p, .day = 200, .days = 365, .current_bp = 120};
        gov_out o = next(&CFG, in);
        bool inside = o.projected_bp >= 8350 && o.projected_bp <= 8450;
        assert_true(inside);
        assert_int_equal(o.why, GOV_HOLD_BAND);
        assert_int_equal(o.next_bp, 120);
    }
}

static void rule_gradual(void **state)
{
    (void)state;
    /* 95 % all year: the adjustment rises step by step to max_bp and stays there. */
    gov_in in = {.stakes = 5000000, .payouts = 4750000, .day = 31, .days = 366};
    int moves = 0;
    for (int i = 0; i < 40; i++) {
        gov_out o = next(&CFG, in);
        assert_true(o.next_bp - in.current_bp <= CFG.step_bp);
        assert_true(o.next_bp >= in.current_bp);
        if (o.next_bp != in.current_bp)
            moves++;
        else
            assert_int_equal(o.why, GOV_HOLD_BOUND);
        in.current_bp = o.next_bp;
        in.has_window = 1; /* the new window is measured */
        in.win_stakes = 500000;
        in.win_payouts = 475000;
    }
    assert_int_equal(in.current_bp, CFG.max_bp);
    assert_int_equal(moves, CFG.max_bp / CFG.step_bp);
    /* A window too small to measure the last move: hold. */
    in.current_bp = 50;
    in.win_stakes = CFG.min_stakes - 1;
    gov_out o = next(&CFG, in);
    assert_int_equal(o.why, GOV_HOLD_WINDOW);
    assert_int_equal(o.next_bp, 50);
    /* Too little staked in the year: hold. */
    gov_in little = {.stakes = CFG.min_stakes - 1, .payouts = CFG.min_stakes * 2, .day = 10,
                     .days = 365, .current_bp = 10};
    o = next(&CFG, little);
    assert_int_equal(o.why, GOV_HOLD_DATA);
    assert_int_equal(o.next_bp, 10);
}

static void rule_relax(void **state)
{
    (void)state;
    /* The year ran hot (86 %) but the adjustment in force returns 76 %: it comes down, by at
     * most step_bp a move, to 0 and no further. */
    gov_in in = {.stakes = 8000000, .payouts = 6880000, .day = 180, .days = 365,
                 .current_bp = 200, .has_window = 1, .win_stakes = 2000000,
                 .win_payouts = 1520000};
    int prev = in.current_bp;
    for (int i = 0; i < 20; i++) {
        gov_out o = next(&CFG, in);
        assert_true(o.next_bp <= prev);
        assert_true(prev - o.next_bp <= CFG.step_bp);
        assert_true(o.next_bp >= 0);
        if (o.next_bp == prev)
            assert_int_equal(o.why, GOV_HOLD_BOUND);
        else
            assert_int_equal(o.why, GOV_RELAX);
        prev = in.current_bp = o.next_bp;
    }
    assert_int_equal(in.current_bp, 0);
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static void rule_bounds(void **state)
{
    (void)state;
    for (int i = 0; i < 20000; i++) {
        gov_cfg cfg = {.target_bp = 8000 + (int)(rnd() % 500), .band_bp = (int)(rnd() % 200),
                       .step_bp = 1 + (int)(rnd() % 100), .max_bp = (int)(rnd() % 1001),
                       .min_stakes = (int64_t)(rnd() % 1000000)};
        int64_t stakes = (int64_t)(rnd() % 10000000000000ULL); /* up to 100 bn euros */
        gov_in in = {.stakes = stakes,
                     .payouts = stakes ? (int64_t)(rnd() % (uint64_t)stakes) * 3 / 2 : 0,
                     .day = (int)(rnd() % 365), .days = 365,
                     .current_bp = cfg.max_bp ? (int)(rnd() % (uint64_t)(cfg.max_bp + 1)) : 0,
                     .has_window = (int)(rnd() % 2)};
        in.win_stakes = in.has_window && stakes ? (int64_t)(rnd() % (uint64_t)stakes) : 0;
        in.win_payouts = in.win_stakes ? (int64_t)(rnd() % (uint64_t)in.win_stakes) * 2 : 0;
        gov_out a = next(&cfg, in), b = next(&cfg, in);
        assert_memory_equal(&a, &b, sizeof a);
        assert_true(a.next_bp >= 0 && a.next_bp <= cfg.max_bp);
        assert_true(abs(a.next_bp - in.current_bp) <= cfg.step_bp);
        if (a.why >= GOV_HOLD_BAND)
            assert_int_equal(a.next_bp, in.current_bp);
    }
}

static void rule_refused(void **state)
{
    (void)state;
    gov_out o;
    gov_in ok = {.stakes = 1000, .payouts = 900, .day = 0, .days = 365};
    const gov_cfg bad[] = {
        {.target_bp = 8600, .band_bp = 50, .step_bp = 25, .max_bp = 300}, /* above the cap */
        {.target_bp = 4000, .band_bp = 50, .step_bp = 25, .max_bp = 300},
        {.target_bp = 8400, .band_bp = -1, .step_bp = 25, .max_bp = 300},
        {.target_bp = 8400, .band_bp = 50, .step_bp = 0, .max_bp = 300},
        {.target_bp = 8400, .band_bp = 50, .step_bp = 201, .max_bp = 300},
        {.target_bp = 8400, .band_bp = 50, .step_bp = 25, .max_bp = 1001},
        {.target_bp = 8400, .band_bp = 50, .step_bp = 25, .max_bp = 300, .min_stakes = -1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(gov_cfg_check(&bad[i]), -1);
        assert_int_equal(gov_next(&bad[i], &ok, &o), -1);
    }
    const gov_in wrong[] = {
        {.stakes = 1000, .payouts = 900, .day = 365, .days = 365},
        {.stakes = 1000, .payouts = 900, .day = 0, .days = 364},
        {.stakes = 1000, .payouts = 900, .day = -1, .days = 365},
        {.stakes = -1, .payouts = 900, .day = 0, .days = 365},
        {.stakes = 1000, .payouts = 900, .day = 0, .days = 365, .current_bp = 301},
        {.stakes = 1000, .payouts = 900, .day = 0, .days = 365, .current_bp = -1},
    };
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++)
        assert_int_equal(gov_next(&CFG, &wrong[i], &o), -1);
}

/* ---- the commands ------------------------------------------------------------------------ */

#define JUNE_1_2026 1780272000000ULL /* 2026-06-01T00:00:00Z, day 151 of 365 */
#define DAY_MS 86400000ULL

struct ctx {
    char *dir;
    struct fsm *f;
    struct util_result r;
    uint64_t last;
};

static struct ctx *ctx_new(void)
{
    struct ctx *c = calloc(1, sizeof *c);
    c->dir = util_tmpdir();
    c->f = util_fsm_open(c->dir);
    util_capture_results(c->f, &c->r);
    return c;
}

static void ctx_free(struct ctx *c)
{
    fsm_close(c->f);
    util_rmdir(c->dir);
    free(c);
}

static int apply_at(struct ctx *c, uint16_t type, const char *payload, uint64_t time_ms)
{
    return util_apply_at(c->f, &c->r, ++c->last, type, NULL, 0, payload, time_ms);
}

static char *adjust_payload(int year, int64_t stakes, int64_t payouts)
{
    struct cmd cm;
    return governor_cmd_adjust(&cm, year, stakes, payouts, &CFG);
}

static int adjust(struct ctx *c, int year, int64_t stakes, int64_t payouts, uint64_t time_ms)
{
    char *p = adjust_payload(year, stakes, payouts);
    int status = apply_at(c, CMD_GOVERNOR_ADJUST, p, time_ms);
    free(p);
    return status;
}

static json_t *state_of(struct ctx *c)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *s = governor_get(c->f, txn);
    assert_int_equal((int)json_integer_value(json_object_get(s, "margin_bp")),
                     governor_margin_bp(c->f, txn));
    fsm_read_end(txn);
    return s;
}

static char *dump_state(struct ctx *c)
{
    json_t *s = state_of(c);
    char *t = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(s);
    return t;
}

static json_int_t num(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void expect_refused(struct ctx *c, const char *payload, uint64_t time_ms, int status,
                           const char *code)
{
    char *before = dump_state(c);
    assert_int_equal(apply_at(c, CMD_GOVERNOR_ADJUST, payload, time_ms), status);
    json_t *b = json_loads(c->r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(b, "code")), code);
    json_decref(b);
    char *after = dump_state(c);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* The entries both machines get in two_machines, and apply_adjust's checks along the way. */
static void run_script(struct ctx *c, bool check)
{
    uint64_t t = JUNE_1_2026;
    /* 90 % so far: raised by one step; the window starts at this reading. */
    assert_int_equal(adjust(c, 2026, 2000000, 1800000, t), 200);
    if (check) {
        json_t *s = state_of(c);
        assert_int_equal(num(s, "margin_bp"), 25);
        assert_int_equal(num(s, "changes"), 1);
        assert_int_equal(num(s, "base_stakes"), 2000000);
        json_t *h = json_array_get(json_object_get(s, "history"), 0);
        assert_int_equal(num(h, "from"), 0);
        assert_int_equal(num(h, "to"), 25);
        assert_string_equal(json_string_value(json_object_get(h, "why")), "raise");
        assert_string_equal(json_string_value(json_object_get(h, "at")), "2026-06-01T00:00:00Z");
        json_decref(s);
    }
    /* The same reading again: the window is empty, nothing moves; only "last" changes. */
    assert_int_equal(adjust(c, 2026, 2000000, 1800000, t + DAY_MS), 200);
    if (check) {
        json_t *r = json_loads(c->r.body, 0, NULL);
        assert_true(json_is_null(json_object_get(r, "change")));
        assert_string_equal(json_string_value(json_object_get(json_object_get(r, "last"), "why")),
                            "hold_window");
        assert_int_equal(num(r, "margin_bp"), 25);
        json_decref(r);
    }
    /* The window (500.00 at 88 %) still too hot: one more step. */
    assert_int_equal(adjust(c, 2026, 2500000, 2240000, t + 7 * DAY_MS), 200);
    if (check) {
        json_t *s = state_of(c);
        assert_int_equal(num(s, "margin_bp"), 50);
        assert_int_equal(num(s, "changes"), 2);
        json_decref(s);
    }
    /* The window returns 70 %: relaxed by one step. */
    assert_int_equal(adjust(c, 2026, 3500000, 2940000, t + 30 * DAY_MS), 200);
    if (check) {
        json_t *s = state_of(c);
        assert_int_equal(num(s, "margin_bp"), 25);
        json_decref(s);
    }
    /* A new year: no window from last year; the adjustment carries on. */
    assert_int_equal(adjust(c, 2027, 300000, 240000, 1798761600000ULL + DAY_MS), 200);
    char *p = governor_cmd_reset(&(struct cmd){0}, "season review", "op-1");
    assert_int_equal(apply_at(c, CMD_GOVERNOR_RESET, p, 1798761600000ULL + 2 * DAY_MS), 200);
    free(p);
    if (check) {
        json_t *s = state_of(c);
        assert_int_equal(num(s, "margin_bp"), 0);
        json_t *h = json_array_get(json_object_get(s, "history"), json_array_size(
                                                                      json_object_get(s, "history")) -
                                                                      1);
        assert_string_equal(json_string_value(json_object_get(h, "why")), "reset");
        assert_string_equal(json_string_value(json_object_get(h, "reason")), "season review");
        assert_null(json_object_get(s, "base_stakes"));
        json_decref(s);
    }
}

static void apply_adjust(void **state)
{
    (void)state;
    struct ctx *c = ctx_new();
    /* Never touched: no adjustment. */
    json_t *s = state_of(c);
    assert_int_equal(num(s, "margin_bp"), 0);
    json_decref(s);
    /* Refusals change nothing. */
    char *p = adjust_payload(2025, 2000000, 1800000); /* a 2025 reading stamped in 2026 */
    expect_refused(c, p, JUNE_1_2026, 409, "stale_reading");
    free(p);
    expect_refused(c, "{\"year\":2026,\"stakes\":-5,\"payouts\":1,\"target_bp\":8400,"
                      "\"band_bp\":50,\"step_bp\":25,\"max_bp\":300,\"min_stakes\":0}",
                   JUNE_1_2026, 422, "invalid_reading");
    expect_refused(c, "{\"year\":2026,\"stakes\":5,\"payouts\":1,\"target_bp\":9000,"
                      "\"band_bp\":50,\"step_bp\":25,\"max_bp\":300,\"min_stakes\":0}",
                   JUNE_1_2026, 422, "governor_cfg_out_of_bounds");
    expect_refused(c, "{\"year\":2026,\"stakes\":5,\"payouts\":1,\"target_bp\":8400,"
                      "\"band_bp\":50,\"step_bp\":25,\"max_bp\":300}",
                   JUNE_1_2026, 422, "invalid_governor_cfg");
    expect_refused(c, "{\"year\":2026,\"stakes\":5,\"payouts\":1,\"target_bp\":8400,"
                      "\"band_bp\":50,\"step_bp\":25,\"max_bp\":300,\"min_stakes\":0,"
                      "\"margin_bp\":500}",
                   JUNE_1_2026, 422, "unknown_field");
    char *before = dump_state(c);
    assert_int_equal(apply_at(c, CMD_GOVERNOR_RESET, "{\"reason\":\"x\"}", JUNE_1_2026), 422);
    char *after = dump_state(c);
    assert_string_equal(before, after);
    free(before);
    free(after);
    run_script(c, true);
    ctx_free(c);
}

static void two_machines(void **state)
{
    (void)state;
    struct ctx *a = ctx_new(), *b = ctx_new();
    run_script(a, false);
    run_script(b, false);
    char *sa = dump_state(a), *sb = dump_state(b);
    assert_string_equal(sa, sb);
    free(sa);
    free(sb);
    ctx_free(a);
    ctx_free(b);
}

/* ---- pricing ----------------------------------------------------------------------------- */

static char *price(const char *extra_json)
{
    json_t *in = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i}", "phase", "pre", "home_goals",
                           0, "away_goals", 0, "home_reds", 0, "away_reds", 0, "minute_x10", 0,
                           "half", 0);
    if (extra_json) {
        json_t *x = json_loads(extra_json, 0, NULL);
        json_object_update(in, x);
        json_decref(x);
    }
    model_quote_cfg cfg;
    model_quote_cfg_default(&cfg);
    char err[200] = "";
    char *text = quote_price_football(in, 1.45, 1.15, -0.05, &cfg, 0, err, sizeof err);
    json_decref(in);
    if (!text)
        fail_msg("pricing failed: %s", err);
    return text;
}

/* Sum of 1 / odds over a market's outcomes (@line: a line's object, or NULL). */
static double overround(const char *text, const char *market, const char *line)
{
    json_t *p = json_loads(text, 0, NULL), *m = json_object_get(p, market);
    if (line)
        m = json_object_get(m, line);
    double s = 0;
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v)
    {
        assert_true(json_integer_value(v) > 1000);
        s += 1000.0 / (double)json_integer_value(v);
    }
    json_decref(p);
    return s;
}

static void pricing(void **state)
{
    (void)state;
    char *base = price(NULL), *gov = price("{\"governor_bp\": 300}");
    char *gov2 = price("{\"governor_bp\": 300}");
    char *trader = price("{\"trader\": {\"margin_shift_bp\": 300, \"market_shift_bp\": {}}}");
    char *both = price("{\"governor_bp\": 100, \"trader\": {\"margin_shift_bp\": 200, "
                       "\"market_shift_bp\": {}}}");
    assert_string_equal(gov, gov2);   /* the same bytes every call */
    assert_string_equal(gov, trader); /* the same as a trader's equal shift */
    assert_string_equal(gov, both);   /* and as the sum of the two */
    assert_true(overround(gov, "1x2", NULL) > overround(base, "1x2", NULL) + 0.02);
    assert_true(overround(gov, "total_goals", "2.5") > overround(base, "total_goals", "2.5"));
    assert_true(overround(gov, "btts", NULL) > overround(base, "btts", NULL));
    free(base);
    free(gov);
    free(gov2);
    free(trader);
    free(both);
}

int main(void)
{
    util_log_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rule_projection), cmocka_unit_test(rule_dead_band),
        cmocka_unit_test(rule_gradual),    cmocka_unit_test(rule_relax),
        cmocka_unit_test(rule_bounds),     cmocka_unit_test(rule_refused),
        cmocka_unit_test(apply_adjust),    cmocka_unit_test(two_machines),
        cmocka_unit_test(pricing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
