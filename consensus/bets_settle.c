/* Bets: settlement from agreed results, operator void, payment records. See bets.h. */
#include "consensus/bets.h"
#include "consensus/bets_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/observations.h"
#include "consensus/quotes.h"
#include "consensus/store.h"

/* ---- settlement ---------------------------------------------------------------------- */

static const char *by_sign(int d)
{
    return d > 0 ? "won" : d < 0 ? "lost" : "push";
}

/* A line "2.5", "-0.25" in quarters (10 -> 2.5 * 4); false if not a multiple of 0.25. */
static bool line_quarters(const char *line, int *q)
{
    if (!line)
        return false;
    char *end;
    double v = strtod(line, &end);
    if (*end || v < -20 || v > 20)
        return false;
    double x = v * 4;
    int r = (int)(x < 0 ? x - 0.5 : x + 0.5);
    if (x - r > 1e-9 || r - x > 1e-9)
        return false;
    *q = r;
    return true;
}

/* A handicap or total in quarters: @d4 is 4 x (margin or goals) + the line's quarters (for a
 * total: goals x 4 - line quarters, over side). A quarter line is half on each neighbour. */
static const char *quarter_result(int d4, int q)
{
    if (q % 2 == 0)
        return by_sign(d4);
    const char *lo = by_sign(d4 - 1), *hi = by_sign(d4 + 1);
    if (!strcmp(lo, hi))
        return lo;
    if (!strcmp(lo, "push"))
        return "half_won"; /* push + won */
    if (!strcmp(hi, "push"))
        return "half_lost"; /* lost + push */
    return "push";          /* not reached for quarter lines */
}

const char *bets_leg_result(const char *market, const char *line, const char *outcome, int h, int a)
{
    int q;
    if (!strcmp(market, "1x2")) {
        const char *w = h > a ? "home" : h < a ? "away" : "draw";
        return !strcmp(outcome, w) ? "won" : "lost";
    }
    if (!strcmp(market, "double_chance")) {
        bool ok = !strcmp(outcome, "home_draw")   ? h >= a
                  : !strcmp(outcome, "home_away") ? h != a
                  : !strcmp(outcome, "draw_away") ? h <= a
                                                  : false;
        return ok ? "won" : "lost";
    }
    if (!strcmp(market, "draw_no_bet")) {
        if (h == a)
            return "void";
        return (h > a) == !strcmp(outcome, "home") ? "won" : "lost";
    }
    if (!strcmp(market, "btts")) {
        bool yes = h > 0 && a > 0;
        return yes == !strcmp(outcome, "yes") ? "won" : "lost";
    }
    if (!strcmp(market, "total_goals") || !strcmp(market, "home_goals") ||
        !strcmp(market, "away_goals")) {
        if (!line_quarters(line, &q))
            return "void";
        int g = !strcmp(market, "total_goals") ? h + a : !strcmp(market, "home_goals") ? h : a;
        int d4 = 4 * g - q;
        const char *over = quarter_result(d4, q);
        if (!strcmp(outcome, "over"))
            return over;
        return quarter_result(-d4, q); /* under */
    }
    if (!strcmp(market, "correct_score")) {
        char k[32];
        if (h > 5 || a > 5)
            snprintf(k, sizeof k, "other");
        else
            snprintf(k, sizeof k, "%d-%d", h, a);
        return !strcmp(outcome, k) ? "won" : "lost";
    }
    if (!strcmp(market, "winning_margin")) {
        char k[32];
        int d = h - a;
        if (d == 0)
            snprintf(k, sizeof k, "draw");
        else
            snprintf(k, sizeof k, "%s_%d%s", d > 0 ? "home" : "away", abs(d) >= 4 ? 4 : abs(d),
                     abs(d) >= 4 ? "+" : "");
        return !strcmp(outcome, k) ? "won" : "lost";
    }
    if (!strcmp(market, "asian_handicap")) {
        if (!line_quarters(line, &q))
            return "void";
        /* The line is the home side's handicap; the away side takes the opposite. */
        int d4 = 4 * (h - a) + q;
        return !strcmp(outcome, "home") ? quarter_result(d4, q) : quarter_result(-d4, q);
    }
    return NULL;
}

/* Milli-odds a leg counts for at settlement. */
static uint64_t leg_factor(const char *result, uint64_t price)
{
    if (!strcmp(result, "won"))
        return price;
    if (!strcmp(result, "half_won"))
        return (price + 1000) / 2;
    if (!strcmp(result, "half_lost"))
        return 500;
    if (!strcmp(result, "lost"))
        return 0;
    return 1000; /* void, push */
}

uint64_t bets_leg_factor(const char *result, uint64_t price)
{
    return leg_factor(result, price);
}

bool bets_settle_compute(json_t *b)
{
    size_t i;
    json_t *leg;
    uint64_t odds = 1000;
    bool lost = false, all_void = true;
    const char *single = NULL;
    json_array_foreach(json_object_get(b, "legs"), i, leg)
    {
        const char *r = store_str(leg, "result");
        if (!r)
            return false; /* not every leg is settled yet */
        single = r;
        lost = lost || !strcmp(r, "lost");
        all_void = all_void && (!strcmp(r, "void") || !strcmp(r, "push"));
        unsigned __int128 o =
            (unsigned __int128)odds *
            leg_factor(r, (uint64_t)json_integer_value(json_object_get(leg, "price"))) / 1000;
        odds = (uint64_t)o;
    }
    uint64_t stake = (uint64_t)json_integer_value(json_object_get(b, "stake"));
    const char *result = json_array_size(json_object_get(b, "legs")) == 1 ? single
                         : lost                                           ? "lost"
                         : all_void                                       ? "void"
                                                                          : "won";
    json_object_set_new(b, "result", json_string(result));
    json_object_set_new(b, "odds_settled", json_integer((json_int_t)odds));
    json_object_set_new(b, "return",
                        json_integer((json_int_t)((unsigned __int128)stake * odds / 1000)));
    return true;
}

/* Settle @b (accepted, every leg with a result); writes it. */
int bets_settle_one(struct fsm *f, MDB_txn *txn, json_t *b, uint64_t time_ms)
{
    if (!bets_settle_compute(b))
        return 0; /* not every leg is settled yet */
    int rv = bets_exposure_add(f, txn, b, -1);
    json_object_set_new(b, "status", json_string("settled"));
    bets_stamp(b, time_ms, "settled_at");
    if (rv == 0)
        rv = bets_queue_set(txn, bets_db(f)->unpaid, b, true);
    return rv ? rv : bets_put(f, txn, b, "settled", time_ms);
}

int bets_settle_or_store(struct fsm *f, MDB_txn *txn, json_t *b, uint64_t time_ms)
{
    int rv = !strcmp(store_str(b, "status") ?: "", "accepted") ? bets_settle_one(f, txn, b, time_ms)
                                                               : 0;
    if (rv == 0 && strcmp(store_str(b, "status") ?: "", "settled") != 0) {
        const char *id = store_str(b, "id");
        rv = store_put_json(txn, bets_db(f)->bets, id, strlen(id), b, NULL);
    }
    return rv;
}

const char *bets_settle_how(json_t *b, uint64_t *payout)
{
    const char *r = store_str(b, "result") ?: "";
    *payout = (uint64_t)json_integer_value(json_object_get(b, "return"));
    bool back = !strcmp(r, "void") || !strcmp(r, "push");
    if (json_integer_value(json_object_get(b, "generation")) > 0) {
        /* Re-settled (bets_resettle.c): the wallet corrects the hold to the new amounts. */
        if (back)
            *payout = 0;
        return "resettle";
    }
    return back ? "void" : "post";
}

static bool void_valid(json_t *body)
{
    const char *reason = store_str_max(body, "reason", 500);
    return reason && reason[0];
}

static int void_step(BET_STEP_PARAMS)
{
    const char *reason = store_str(body, "reason");
    const char *st = store_str(b, "status") ?: "";
    if (!strcmp(st, "settled") && !strcmp(store_str(b, "result") ?: "", "void") &&
        !strcmp(store_str(b, "void_reason") ?: "", reason))
        return 0; /* the same void again */
    if (strcmp(st, "accepted") != 0)
        return bets_refuse(res, 409, "bet_not_voidable", "Bet cannot be voided",
                           json_pack("{s:s}", "bet_status", st),
                           "bet '%s' is %s: only an accepted bet not yet settled can be voided "
                           "(a pending one is decided first; re-settling a settled one is not "
                           "built)",
                           id, st);
    size_t i;
    json_t *leg;
    json_array_foreach(json_object_get(b, "legs"), i, leg)
        json_object_set_new(leg, "result", json_string("void"));
    json_object_set_new(b, "void_reason", json_string(reason));
    json_object_set_new(b, "voided_by", json_string("operator"));
    return bets_settle_one(f, txn, b, c->time_ms);
}

/* An operator voids an accepted bet with a kept reason: settled "void" at once (every leg
 * void, the stake back), its exposure released; the leader then voids its hold (bet_unpaid). */
int bets_void_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    static const struct bet_step op = {
        "invalid_void", "Invalid void",
        "need {bet_id, reason: a non-empty text of at most 500 bytes}", void_valid, void_step};
    return bets_run(f, txn, c, res, &op);
}

static bool paid_valid(json_t *body)
{
    const char *how = store_str(body, "how");
    return how && (!strcmp(how, "post") || !strcmp(how, "void") ||
                   (!strcmp(how, "resettle") &&
                    json_integer_value(json_object_get(body, "generation")) > 0));
}

static int paid_step(BET_STEP_PARAMS)
{
    const char *how = store_str(body, "how");
    uint64_t payout;
    const char *want = bets_settle_how(b, &payout);
    if (strcmp(store_str(b, "status") ?: "", "settled") != 0)
        return bets_refuse(res, 409, "bet_not_settled", "Bet not settled", NULL, "bet '%s' is %s",
                           id, store_str(b, "status") ?: "?");
    if (strcmp(how, want) != 0)
        return bets_refuse(res, 409, "wrong_resolution", "Wrong resolution", NULL,
                           "bet '%s' settles by %s, not %s", id, want, how);
    if (!strcmp(how, "resettle") && json_integer_value(json_object_get(body, "generation")) !=
                                        json_integer_value(json_object_get(b, "generation")))
        return bets_refuse(res, 409, "wrong_generation", "Wrong settlement generation", NULL,
                           "bet '%s' is at settlement generation %lld",
                           id, (long long)json_integer_value(json_object_get(b, "generation")));
    if (store_str(b, "paid"))
        return 0;
    json_object_set_new(b, "paid", json_string(how));
    bets_stamp(b, c->time_ms, "paid_at");
    int rv = bets_queue_set(txn, bets_db(f)->unpaid, b, false);
    return rv ? rv : bets_put(f, txn, b, "paid", c->time_ms);
}

const struct bet_step bets_paid_op = {"invalid_paid", "Invalid payment record",
                                     "need {bet_id, how: post or void}", paid_valid, paid_step};

int bets_paid_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    return bets_run(f, txn, c, res, &bets_paid_op);
}

/* Apply a fixture's result to its next @limit bets placed after seq @after; keep (or drop,
 * when none may be left) the "settle|FIXTURE" record the leader carries on from. */
static int settle_chunk(struct fsm *f, MDB_txn *txn, const char *fixture, bool cancelled, int h,
                        int a, uint64_t after, unsigned limit, uint64_t time_ms, bool *more)
{
    int rv = 0;
    uint64_t last;
    /* Collect the ids first: settling writes "bets", not the fixture index. */
    json_t *ids = bets_fixture_ids(f, txn, fixture, after, limit, &last), *evs = NULL;
    *more = json_array_size(ids) == limit;
    size_t i;
    json_t *jid;
    bets_exposure_gather(true);
    json_array_foreach(ids, i, jid)
    {
        const char *id = json_string_value(jid);
        json_t *b = bets_get(f, txn, id);
        if (!b)
            continue;
        const char *st = store_str(b, "status") ?: "";
        if (!strcmp(st, "rejected") || !strcmp(st, "settled")) {
            json_decref(b);
            continue;
        }
        size_t j;
        json_t *leg;
        json_array_foreach(json_object_get(b, "legs"), j, leg)
        {
            if (strcmp(store_str(leg, "fixture") ?: "", fixture) != 0 || store_str(leg, "result"))
                continue;
            const char *res =
                cancelled ? "void"
                          : bets_leg_result(store_str(leg, "market"), store_str(leg, "line"),
                                            store_str(leg, "outcome"), h, a);
            if (!res && !cancelled && !strcmp(store_str(leg, "market") ?: "", "next_goal")) {
                if (!evs) /* from the agreed events, not the score (bets_markets.c) */
                    evs = obs_agreed_events(f, txn, fixture);
                res = bets_next_goal_result(leg, evs, true);
            }
            if (res)
                json_object_set_new(leg, "result", json_string(res));
        }
        rv = bets_settle_or_store(f, txn, b, time_ms);
        json_decref(b);
        if (rv)
            break;
    }
    json_decref(ids);
    json_decref(evs);
    if (rv == 0)
        rv = bets_exposure_gathered(f, txn);
    bets_exposure_gather(false);
    if (rv)
        return rv;
    if (*more) {
        json_t *o = json_pack("{s:s, s:b, s:i, s:i, s:I}", "fixture", fixture, "cancelled",
                              cancelled, "home", h, "away", a, "after", (json_int_t)last);
        rv = bets_config_put(f, txn, SETTLE_PREFIX, fixture, o);
        json_decref(o);
        return rv;
    }
    return bets_config_del(f, txn, SETTLE_PREFIX, fixture);
}

int bets_on_result(struct fsm *f, MDB_txn *txn, const char *fixture, bool cancelled, int h,
                   int a, uint64_t time_ms)
{
    if (strlen(fixture) > FIXTURE_MAX)
        return 0;
    bool more;
    if (bets_abandoned_fixture(f, txn, fixture))
        return 0; /* the abandonment settles its bets (bets_markets.c), in chunks if need be */
    int rv = bets_next_goal_forget(f, txn, fixture); /* what is left settles here */
    return rv ? rv
              : settle_chunk(f, txn, fixture, cancelled, h, a, 0, BET_SETTLE_CHUNK, time_ms,
                             &more);
}

int bets_settle_more_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                           struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    const char *fixture = store_str_max(body, "fixture", FIXTURE_MAX);
    json_t *jl = json_object_get(body, "limit");
    json_int_t limit = jl ? (json_is_integer(jl) ? json_integer_value(jl) : 0) : BET_SETTLE_CHUNK;
    if (!fixture || limit < 1 || limit > BET_SETTLE_CHUNK) {
        bets_refuse(res, 422, "invalid_settle", "Invalid settlement step", NULL,
                    "need {fixture: a fixture id of at most %d bytes, limit: 1 to %d bets if "
                    "given}",
                    FIXTURE_MAX, BET_SETTLE_CHUNK);
        goto out;
    }
    json_t *st = bets_config_get(f, txn, SETTLE_PREFIX, fixture);
    bool more = false;
    if (st) /* else: done already (a repeated proposal), nothing to do */
        rv = settle_chunk(f, txn, fixture, json_is_true(json_object_get(st, "cancelled")),
                          (int)json_integer_value(json_object_get(st, "home")),
                          (int)json_integer_value(json_object_get(st, "away")),
                          (uint64_t)json_integer_value(json_object_get(st, "after")),
                          (unsigned)limit, c->time_ms, &more);
    json_decref(st);
    if (rv == 0)
        store_result_json(res, 200, json_pack("{s:s, s:b}", "fixture", fixture, "more", more));
out:
    json_decref(body);
    return rv;
}
