/* Trader controls per market: CMD_TRADER_MARKET_SET and its queries. See trader_market.h for
 * the happy path and the failure modes. Apply checks everything before it writes, so a refusal
 * changes nothing. */
#include "consensus/trader_market.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "consensus/cmdtable.h"
#include "consensus/store.h"
#include "consensus/trader.h"

const struct fsm_domain trader_market_domain;

static MDB_dbi db(struct fsm *f)
{
    return fsm_domain_dbis(f, &trader_market_domain)[0];
}

/* Every market a sport node prices. side: the two sides a lean may name (none: no lean);
 * step_q / max_q: a line move's step and bound in quarters of @unit (0: the market has no line
 * a trader may move). Tennis's and basketball's ladders are centred by the model; a move
 * shifts the ladder and prices each offered line at the model's price of the line it came
 * from, as football's fixed ladders do (node/quote_price.c). */
static const struct market {
    const char *name, *side[2];
    int step_q, max_q;
    const char *unit;
} MARKETS[] = {
    {"total_goals", {"over", "under"}, 4, 12, "goals"},
    {"home_goals", {"over", "under"}, 4, 8, "goals"},
    {"away_goals", {"over", "under"}, 4, 8, "goals"},
    {"asian_handicap", {"home", "away"}, 1, 8, "goals"},
    {"btts", {"yes", "no"}, 0, 0, NULL},
    {"draw_no_bet", {"home", "away"}, 0, 0, NULL},
    {"1x2", {NULL, NULL}, 0, 0, NULL},
    {"double_chance", {NULL, NULL}, 0, 0, NULL},
    {"correct_score", {NULL, NULL}, 0, 0, NULL},
    {"winning_margin", {NULL, NULL}, 0, 0, NULL},
    {"next_goal", {NULL, NULL}, 0, 0, NULL},
    {"match_winner", {"home", "away"}, 0, 0, NULL},
    {"set_winner", {"home", "away"}, 0, 0, NULL},
    {"set_betting", {NULL, NULL}, 0, 0, NULL},
    {"total_games", {"over", "under"}, 4, 12, "games"},
    {"game_handicap", {"home", "away"}, 4, 12, "games"},
    {"moneyline", {"home", "away"}, 0, 0, NULL},
    {"spread", {"home", "away"}, 4, 40, "points"},
    {"total_points", {"over", "under"}, 4, 40, "points"},
};
_Static_assert(TRADER_LINE_MAX_Q >= 40, "the widest line bound fits");

static const struct market *find_market(const char *name)
{
    for (size_t i = 0; name && i < sizeof MARKETS / sizeof *MARKETS; i++)
        if (!strcmp(name, MARKETS[i].name))
            return &MARKETS[i];
    return NULL;
}

json_t *trader_market_get(struct fsm *f, MDB_txn *txn, const char *fixture)
{
    return store_get_json(txn, db(f), fixture, strlen(fixture));
}

json_t *trader_market_round_inputs(struct fsm *f, MDB_txn *txn, const char *fixture)
{
    json_t *t = trader_market_get(f, txn, fixture), *out = json_object(), *s;
    const char *name;
    json_object_foreach(json_object_get(t, "markets"), name, s)
    {
        json_t *p = json_object();
        if (json_integer_value(json_object_get(s, "line_move_q")) != 0)
            json_object_set(p, "line_move_q", json_object_get(s, "line_move_q"));
        if (json_is_object(json_object_get(s, "lean")))
            json_object_set(p, "lean", json_object_get(s, "lean"));
        if (json_is_true(json_object_get(s, "suspended")))
            json_object_set_new(p, "suspended", json_true());
        if (json_object_size(p))
            json_object_set_new(out, name, p);
        else
            json_decref(p);
    }
    json_decref(t);
    if (!json_object_size(out)) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static json_t *settings_of(struct fsm *f, MDB_txn *txn, const char *fixture, const char *market)
{
    json_t *t = trader_market_get(f, txn, fixture);
    json_t *s = json_incref(json_object_get(json_object_get(t, "markets"), market));
    json_decref(t);
    return s;
}

uint64_t trader_market_max_stake(struct fsm *f, MDB_txn *txn, const char *fixture,
                                 const char *market, uint64_t max)
{
    json_t *s = settings_of(f, txn, fixture, market);
    json_int_t cap = json_integer_value(json_object_get(s, "max_stake"));
    json_decref(s);
    return cap > 0 && (uint64_t)cap < max ? (uint64_t)cap : max;
}

bool trader_market_suspended(struct fsm *f, MDB_txn *txn, const char *fixture,
                             const char *market)
{
    json_t *s = settings_of(f, txn, fixture, market);
    bool susp = json_is_true(json_object_get(s, "suspended"));
    json_decref(s);
    return susp;
}

bool trader_market_is_change(json_t *p)
{
    return json_object_get(p, "market") &&
           (json_object_get(p, "line_move") || json_object_get(p, "lean") ||
            json_object_get(p, "max_stake") || json_object_get(p, "suspended"));
}

/* trader.c's problem, returning -1 for the checks' "refused". */
static int refuse(struct fsm_result *res, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(struct fsm_result *res, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    trader_vrefuse(res, status, code, fmt, ap);
    va_end(ap);
    return -1;
}

/* line_move in the market's unit as quarters; false if it is not a number on its steps. */
static bool line_quarters(json_t *v, const struct market *m, int *q)
{
    if (!json_is_number(v))
        return false;
    double x = json_number_value(v) * 4.0, r = round(x);
    if (fabs(x - r) > 1e-9 || fabs(r) > m->max_q || ((int)r % m->step_q) != 0)
        return false;
    *q = (int)r;
    return true;
}

static int check_lean(json_t *lean, const struct market *m, struct fsm_result *res)
{
    const char *o = store_str(lean, "outcome");
    json_t *bp = json_object_get(lean, "bp");
    if (!m->side[0])
        return refuse(res, 422, "lean_market", "lean: %s has no two sides to lean between (the "
                      "1X2 lean is the fixture's, without market)", m->name);
    if (!json_is_object(lean) || json_object_size(lean) != 2 || !o ||
        (strcmp(o, m->side[0]) && strcmp(o, m->side[1])) || !json_is_integer(bp) ||
        json_integer_value(bp) < 0 || json_integer_value(bp) > 500)
        return refuse(res, 422, "lean_out_of_bounds", "lean: {outcome: %s|%s, bp: 0 to 500}",
                      m->side[0], m->side[1]);
    return 0;
}

int trader_market_check(json_t *p, struct fsm_result *res)
{
    static const char *const fields[] = {"fixture",   "market", "line_move", "lean",
                                         "max_stake", "suspended", "reason", "by", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(p, k, v)
    {
        bool ok = false;
        for (size_t i = 0; fields[i]; i++)
            ok = ok || !strcmp(k, fields[i]);
        if (!ok)
            return refuse(res, 422, !strcmp(k, "margin_shift_bp") ? "trader_scope" : "unknown_field",
                          "unknown field '%s' for a market's line_move, lean, max_stake, "
                          "suspended (a margin shift is its own change)", k);
    }
    const char *reason = store_str(p, "reason");
    size_t rl = reason ? strlen(reason) : 0;
    if (rl < 3 || rl > 500)
        return refuse(res, 422, "reason_length", "reason: 3 to 500 bytes of text (a trader says "
                      "why)");
    const struct market *m = find_market(store_str(p, "market"));
    if (!m)
        return refuse(res, 422, "unknown_market", "market: one of the priced markets (1x2, "
                      "total_goals, asian_handicap, btts, ...)");
    json_t *line = json_object_get(p, "line_move"), *lean = json_object_get(p, "lean");
    json_t *cap = json_object_get(p, "max_stake"), *susp = json_object_get(p, "suspended");
    int q;
    if (line && !m->step_q)
        return refuse(res, 422, "line_market", "line_move: %s has no line a trader moves "
                      "(total_goals, home_goals, away_goals, asian_handicap; total_games, "
                      "game_handicap; spread, total_points)", m->name);
    if (line && !line_quarters(line, m, &q))
        return refuse(res, 422, "line_move_out_of_bounds",
                      "line_move: %s in steps of %.2f, at most %.2f either way", m->unit,
                      m->step_q / 4.0, m->max_q / 4.0);
    if (lean && check_lean(lean, m, res))
        return -1;
    if (cap && (!json_is_integer(cap) || json_integer_value(cap) < 0 ||
                json_integer_value(cap) > 100000000000LL))
        return refuse(res, 422, "invalid_max_stake",
                      "max_stake: cents from 0 (no cap) to 100000000000");
    if (susp && !json_is_boolean(susp))
        return refuse(res, 422, "invalid_suspended", "suspended: true or false");
    if (!line && !lean && !cap && !susp)
        return refuse(res, 422, "nothing_to_set", "set at least one of line_move, lean, "
                      "max_stake, suspended");
    json_t *by = json_object_get(p, "by");
    if (by && (!json_is_string(by) || strlen(json_string_value(by)) > 200))
        return refuse(res, 422, "invalid_trader", "by: at most 200 bytes");
    return 0;
}

/* The change merged into @s (the market's settings); what was set goes into @set. */
static void merge(json_t *p, json_t *s, json_t *set)
{
    const struct market *m = find_market(store_str(p, "market"));
    json_t *v;
    int q;
    if ((v = json_object_get(p, "line_move")) && line_quarters(v, m, &q)) {
        json_object_set_new(s, "line_move_q", json_integer(q));
        json_object_set_new(set, "line_move_q", json_integer(q));
    }
    if ((v = json_object_get(p, "lean"))) {
        json_object_set_new(s, "lean", json_integer_value(json_object_get(v, "bp")) == 0
                                           ? json_null()
                                           : json_deep_copy(v));
        json_object_set(set, "lean", v);
    }
    static const char *const plain[] = {"max_stake", "suspended", NULL};
    for (size_t i = 0; plain[i]; i++)
        if ((v = json_object_get(p, plain[i]))) {
            json_object_set(s, plain[i], v);
            json_object_set(set, plain[i], v);
        }
}

static int apply_set(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    json_t *p = trader_payload(f, txn, c, trader_market_check, res);
    if (!p)
        return 0;
    int rv = 0;
    const char *fixture = store_str(p, "fixture");
    json_t *t = trader_market_get(f, txn, fixture);
    if (!t)
        t = json_pack("{s:s, s:{}, s:i, s:[]}", "fixture", fixture, "markets", "changes", 0,
                      "history");
    const char *market = store_str(p, "market");
    json_t *s = json_object_get(json_object_get(t, "markets"), market);
    if (!s) {
        s = json_pack("{s:i, s:n, s:i, s:b}", "line_move_q", 0, "lean", "max_stake", 0,
                      "suspended", 0);
        json_object_set_new(json_object_get(t, "markets"), market, s);
    }
    json_t *set = json_object();
    merge(p, s, set);
    json_t *h = trader_history_push(f, c, t, p, set);
    json_object_set_new(h, "market", json_string(market));
    if ((rv = store_put_json(txn, db(f), fixture, strlen(fixture), t, NULL)) == 0) {
        json_t *r = json_pack("{s:s, s:s, s:O, s:O}", "fixture", fixture, "market", market,
                              "settings", s, "change", h);
        store_result_json(res, 200, r);
    }
    json_decref(t);
    json_decref(p);
    return rv;
}

char *trader_market_cmd_set(struct cmd *c, const char *fixture, json_t *body, const char *by)
{
    char *text = trader_cmd_set(c, fixture, body, by); /* the same payload, another type */
    c->type = CMD_TRADER_MARKET_SET;
    return text;
}

/* Batchable: the admin write path wraps it in CMD_ADMIN, which shares entries. */
static const struct fsm_command COMMANDS[] = {
    {CMD_TRADER_MARKET_SET, "trader_market_set", true, apply_set, NULL},
    {0, NULL, false, NULL, NULL},
};

static const char *const DBS[] = {"trader_markets", NULL};

const struct fsm_domain trader_market_domain = {"trader_market", COMMANDS, DBS};
