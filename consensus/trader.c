/* Trader controls: CMD_TRADER_SET and its queries. See trader.h for the happy path and the
 * failure modes. Apply checks everything before it writes, so a refusal changes nothing. */
#include "consensus/trader.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/cmdtable.h"
#include "consensus/fixtures.h"
#include "consensus/quotes.h"
#include "consensus/store.h"

const struct fsm_domain trader_domain;

static MDB_dbi db(struct fsm *f)
{
    return fsm_domain_dbis(f, &trader_domain)[0];
}

/* The markets a margin shift may name: the keys of the node's `margins` configuration. */
static const char *const MARKETS[] = {
    "1x2",        "double_chance",   "draw_no_bet", "total_goals", "btts",
    "correct_score", "asian_handicap", "team_goals", "winning_margin", "next_goal",
    "match_winner",  "set_betting",    "handicap",    NULL,
};

json_t *trader_get(struct fsm *f, MDB_txn *txn, const char *fixture)
{
    return store_get_json(txn, db(f), fixture, strlen(fixture));
}

json_t *trader_round_inputs(struct fsm *f, MDB_txn *txn, const char *fixture)
{
    json_t *t = trader_get(f, txn, fixture);
    if (!t)
        return NULL;
    json_t *shift = json_object_get(t, "margin_shift_bp"), *ms = json_object_get(t, "market_shift_bp");
    json_t *lean = json_object_get(t, "lean");
    json_t *out = NULL;
    if (json_integer_value(shift) != 0 || json_object_size(ms) || json_is_object(lean)) {
        out = json_pack("{s:I, s:o}", "margin_shift_bp", (json_int_t)json_integer_value(shift),
                        "market_shift_bp", json_is_object(ms) ? json_deep_copy(ms)
                                                              : json_object());
        if (json_is_object(lean))
            json_object_set(out, "lean", lean);
    }
    json_decref(t);
    return out;
}

bool trader_suspended(struct fsm *f, MDB_txn *txn, const char *fixture)
{
    json_t *t = trader_get(f, txn, fixture);
    bool s = json_is_true(json_object_get(t, "suspended"));
    json_decref(t);
    return s;
}

uint64_t trader_max_stake(struct fsm *f, MDB_txn *txn, const char *fixture, uint64_t max)
{
    json_t *t = trader_get(f, txn, fixture);
    json_int_t cap = json_integer_value(json_object_get(t, "max_stake"));
    json_decref(t);
    return cap > 0 && (uint64_t)cap < max ? (uint64_t)cap : max;
}

/* A refusal with its stable code (store_problem: 0, as apply returns after one). */
#define refuse(res, status, code, ...)                                                         \
    store_problem((res), (status), (status) == 404 ? "No fixture" : "Invalid trader setting", \
                  (code), __VA_ARGS__)

static bool known_market(const char *m)
{
    for (size_t i = 0; MARKETS[i]; i++)
        if (!strcmp(m, MARKETS[i]))
            return true;
    return false;
}

int trader_check(json_t *p, struct fsm_result *res)
{
    static const char *const fields[] = {"fixture",   "market",    "margin_shift_bp",
                                         "lean",      "suspended", "max_stake",
                                         "reason",    "by",        NULL};
    const char *k;
    json_t *v;
    json_object_foreach(p, k, v)
    {
        bool ok = false;
        for (size_t i = 0; fields[i]; i++)
            ok = ok || !strcmp(k, fields[i]);
        if (!ok)
            return refuse(res, 422, "unknown_field",
                          "unknown field '%s' (market, margin_shift_bp, lean, suspended, "
                          "max_stake, reason)", k), -1;
    }
    const char *reason = store_str(p, "reason");
    size_t rl = reason ? strlen(reason) : 0;
    if (rl < TRADER_REASON_MIN || rl > TRADER_REASON_MAX)
        return refuse(res, 422, "reason_length", "reason: %d to %d bytes of text (a trader says "
                      "why)", TRADER_REASON_MIN, TRADER_REASON_MAX), -1;
    json_t *market = json_object_get(p, "market");
    if (market && (!json_is_string(market) || !known_market(json_string_value(market))))
        return refuse(res, 422, "unknown_market", "market: one of the margins keys (1x2, "
                      "double_chance, total_goals, ...)"), -1;
    json_t *shift = json_object_get(p, "margin_shift_bp");
    if (shift && (!json_is_integer(shift) || json_integer_value(shift) < TRADER_MARGIN_MIN_BP ||
                  json_integer_value(shift) > TRADER_MARGIN_MAX_BP))
        return refuse(res, 422, "margin_shift_out_of_bounds",
                      "margin_shift_bp: an integer from %d to %d", TRADER_MARGIN_MIN_BP,
                      TRADER_MARGIN_MAX_BP), -1;
    json_t *lean = json_object_get(p, "lean");
    if (lean) {
        const char *o = store_str(lean, "outcome");
        json_t *bp = json_object_get(lean, "bp");
        if (!json_is_object(lean) || json_object_size(lean) != 2 || !o ||
            (strcmp(o, "home") && strcmp(o, "draw") && strcmp(o, "away")) ||
            !json_is_integer(bp) || json_integer_value(bp) < 0 ||
            json_integer_value(bp) > TRADER_LEAN_MAX_BP)
            return refuse(res, 422, "lean_out_of_bounds",
                          "lean: {outcome: home|draw|away, bp: 0 to %d}", TRADER_LEAN_MAX_BP),
                   -1;
    }
    json_t *susp = json_object_get(p, "suspended"), *cap = json_object_get(p, "max_stake");
    if (susp && !json_is_boolean(susp))
        return refuse(res, 422, "invalid_suspended", "suspended: true or false"), -1;
    if (cap && (!json_is_integer(cap) || json_integer_value(cap) < 0 ||
                json_integer_value(cap) > 100000000000LL))
        return refuse(res, 422, "invalid_max_stake",
                      "max_stake: cents from 0 (no cap) to 100000000000"), -1;
    if (market && (lean || susp || cap))
        return refuse(res, 422, "trader_scope", "with market, only margin_shift_bp (lean, "
                      "suspended and max_stake are per fixture)"), -1;
    if (!shift && !lean && !susp && !cap)
        return refuse(res, 422, "nothing_to_set", "set at least one of margin_shift_bp, lean, "
                      "suspended, max_stake"), -1;
    json_t *by = json_object_get(p, "by");
    if (by && (!json_is_string(by) || strlen(json_string_value(by)) > 200))
        return refuse(res, 422, "invalid_trader", "by: at most 200 bytes"), -1;
    return 0;
}

static int apply_set(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    json_t *p = store_payload(c, true, res);
    if (!p)
        return 0;
    int rv = 0;
    json_t *t = NULL, *fx = NULL;
    const char *fixture = store_str(p, "fixture");
    if (!fixture || !fixture_id_valid(fixture, strlen(fixture))) {
        refuse(res, 422, "invalid_trader", "need {fixture: a fixture id, reason, ...}");
        goto out;
    }
    if (trader_check(p, res) != 0)
        goto out;
    if (!(fx = fixture_get(f, txn, fixture))) {
        refuse(res, 404, "no_fixture", "fixture '%s' is not known", fixture);
        goto out;
    }
    t = trader_get(f, txn, fixture);
    if (!t)
        t = json_pack("{s:s, s:i, s:{}, s:n, s:b, s:i, s:i, s:[]}", "fixture", fixture,
                      "margin_shift_bp", 0, "market_shift_bp", "lean", "suspended", 0,
                      "max_stake", 0, "changes", 0, "history");
    json_t *market = json_object_get(p, "market"), *shift = json_object_get(p, "margin_shift_bp");
    json_t *lean = json_object_get(p, "lean"), *susp = json_object_get(p, "suspended");
    json_t *cap = json_object_get(p, "max_stake"), *set = json_object();
    if (shift && market) {
        json_t *ms = json_object_get(t, "market_shift_bp");
        if (json_integer_value(shift) == 0)
            json_object_del(ms, json_string_value(market));
        else
            json_object_set(ms, json_string_value(market), shift);
        json_object_set(set, "market", market);
    } else if (shift) {
        json_object_set(t, "margin_shift_bp", shift);
    }
    if (shift)
        json_object_set(set, "margin_shift_bp", shift);
    if (lean) {
        json_object_set_new(t, "lean", json_integer_value(json_object_get(lean, "bp")) == 0
                                           ? json_null()
                                           : json_deep_copy(lean));
        json_object_set(set, "lean", lean);
    }
    if (cap) {
        json_object_set(t, "max_stake", cap);
        json_object_set(set, "max_stake", cap);
    }
    bool suspend_now = susp && json_is_true(susp) &&
                       !json_is_true(json_object_get(t, "suspended"));
    if (susp) {
        json_object_set(t, "suspended", susp);
        json_object_set(set, "suspended", susp);
    }
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_int_t n = json_integer_value(json_object_get(t, "changes")) + 1;
    json_t *h = json_pack("{s:I, s:I, s:s, s:s, s:O, s:o}", "n", n, "entry",
                          (json_int_t)fsm_applying(f), "at", ts, "by",
                          store_str(p, "by") ?: "", "reason", json_object_get(p, "reason"),
                          "set", set);
    json_t *hist = json_object_get(t, "history");
    json_array_append_new(hist, h);
    while (json_array_size(hist) > TRADER_HISTORY_KEEP)
        json_array_remove(hist, 0);
    json_object_set_new(t, "changes", json_integer(n));
    json_object_set_new(t, "updated_at", json_string(ts));
    if (suspend_now && (rv = quotes_trader_suspend(f, txn, fixture, c->time_ms)) != 0)
        goto out;
    if ((rv = store_put_json(txn, db(f), fixture, strlen(fixture), t, NULL)) == 0) {
        json_t *r = json_deep_copy(t);
        json_object_del(r, "history");
        json_object_set(r, "change", h);
        store_result_json(res, 200, r);
    }
out:
    json_decref(fx);
    json_decref(t);
    json_decref(p);
    return rv;
}

char *trader_cmd_set(struct cmd *c, const char *fixture, json_t *body, const char *by)
{
    json_t *o = json_deep_copy(body);
    json_object_set_new(o, "fixture", json_string(fixture));
    if (by)
        json_object_set_new(o, "by", json_string(by));
    char *text = cmd_fill(c, CMD_TRADER_SET, o);
    json_decref(o);
    return text;
}

/* Batchable: the admin write path wraps it in CMD_ADMIN, which shares entries. */
static const struct fsm_command COMMANDS[] = {
    {CMD_TRADER_SET, "trader_set", true, apply_set, NULL},
    {0, NULL, false, NULL, NULL},
};

static const char *const DBS[] = {"trader", NULL};

const struct fsm_domain trader_domain = {"trader", COMMANDS, DBS};
