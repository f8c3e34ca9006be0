/* Bets: placement with every check at the committed index, the hold's outcome, the
 * acceptance delay, the void of a refused hold. See bets.h. */
#include "consensus/bets.h"
#include "consensus/bets_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/cmdtable.h"
#include "consensus/quotes.h"
#include "consensus/trader.h"
#include "consensus/trader_market.h"
#include "consensus/store.h"

static const char BET_SEQ_KEY[] = "bet_seq";

/* ---- placement ----------------------------------------------------------------------- */

/* The price of @outcome at @line of @market in a prices object, or 0. */
int64_t bets_price_of(json_t *prices, const char *market, const char *line, const char *outcome)
{
    json_t *m = json_object_get(prices, market);
    if (line)
        m = json_object_get(m, line);
    json_t *p = json_object_get(m, outcome);
    return json_is_integer(p) ? json_integer_value(p) : 0;
}

bool bets_policy_ok(const char *policy, int64_t seen, int64_t now, int64_t tol)
{
    if (!strcmp(policy, "exact"))
        return now == seen;
    if (!strcmp(policy, "better"))
        return now >= seen;
    return now >= seen - tol; /* any_within */
}

struct leg_in
{
    const char *fixture, *market, *line, *outcome;
    int64_t price;
    uint64_t version;
};

/* Shape of one leg; a refusal names it. */
static bool leg_parse(json_t *o, size_t i, struct leg_in *l, struct fsm_result *res)
{
    static const char need[] =
        "need {fixture, market, line?, outcome, price (milli-odds), "
        "version}";
    json_t *p = json_object_get(o, "price"), *line = json_object_get(o, "line");
    l->fixture = store_str_max(o, "fixture", FIXTURE_MAX);
    l->market = store_str_max(o, "market", NAME_MAX_);
    l->outcome = store_str_max(o, "outcome", NAME_MAX_);
    l->line = store_str_max(o, "line", NAME_MAX_);
    if (!json_is_object(o) || !l->fixture || !l->market || !l->outcome ||
        (line && !json_is_null(line) && !l->line)) {
        bets_refuse(res, 422, "invalid_bet", "Invalid bet", NULL, "legs[%zu]: %s", i, need);
        return false;
    }
    if (!json_is_integer(p) || json_integer_value(p) < PRICE_MIN ||
        json_integer_value(p) > PRICE_MAX) {
        bets_refuse(res, 422, "invalid_bet", "Invalid bet", NULL,
                    "legs[%zu].price: an integer of milli-odds from %d to %d", i, PRICE_MIN,
                    PRICE_MAX);
        return false;
    }
    l->price = json_integer_value(p);
    if (!store_u64(o, "version", 1, &l->version)) {
        bets_refuse(res, 422, "invalid_bet", "Invalid bet", NULL,
                    "legs[%zu].version: the quote version the price came from (integer >= 1)", i);
        return false;
    }
    return true;
}

int bets_place_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *legs_out = json_array(), *changed = json_array(), *bet = NULL;
    const char *player = store_str_max(body, "player_id", PLAYER_MAX);
    const char *policy = store_str(body, "policy");
    json_t *legs = json_object_get(body, "legs");
    uint64_t stake = 0, tol = 0, node = 0;
    if (!player) {
        bets_refuse(res, 422, "invalid_bet", "Invalid bet", NULL, "player_id: missing or too long");
        goto out;
    }
    if (!store_u64(body, "stake", 1, &stake)) {
        bets_refuse(res, 422, "invalid_bet", "Invalid bet", NULL,
                    "stake: a positive integer of cents");
        goto out;
    }
    if (!policy ||
        (strcmp(policy, "exact") && strcmp(policy, "better") && strcmp(policy, "any_within"))) {
        bets_refuse(res, 422, "invalid_bet", "Invalid bet", NULL,
                    "policy: one of exact, better, any_within");
        goto out;
    }
    if (!strcmp(policy, "any_within") && !store_u64(body, "tolerance", 1, &tol)) {
        bets_refuse(res, 422, "invalid_bet", "Invalid bet", NULL,
                    "tolerance: any_within needs a positive integer of milli-odds");
        goto out;
    }
    if (json_object_get(body, "node"))
        store_u64(body, "node", 0, &node);
    /* The acceptance delays of the node that took the bet (its sport's configuration). */
    uint64_t delay_pre = 0, delay_live = 0;
    if (json_object_get(body, "delay_pre_ms"))
        store_u64(body, "delay_pre_ms", 0, &delay_pre);
    if (json_object_get(body, "delay_live_ms"))
        store_u64(body, "delay_live_ms", 0, &delay_live);
    if (delay_pre > BET_DELAY_MAX_MS || delay_live > BET_DELAY_MAX_MS) {
        bets_refuse(res, 422, "invalid_bet", "Invalid bet", NULL,
                    "delay_pre_ms, delay_live_ms: at most %d ms", BET_DELAY_MAX_MS);
        goto out;
    }
    bool any_live = false;
    if (!json_is_array(legs) || json_array_size(legs) == 0) {
        bets_refuse(res, 422, "invalid_bet", "Invalid bet", NULL, "legs: a non-empty array");
        goto out;
    }
    size_t n = json_array_size(legs);
    if (n > BET_LEGS_MAX) {
        bets_refuse(res, 422, "too_many_legs", "Too many legs",
                    json_pack("{s:i}", "max", BET_LEGS_MAX),
                    "an accumulator has at most %d legs (%zu given)", BET_LEGS_MAX, n);
        goto out;
    }
    struct leg_in in[BET_LEGS_MAX];
    for (size_t i = 0; i < n; i++) {
        if (!leg_parse(json_array_get(legs, i), i, &in[i], res))
            goto out;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(in[j].fixture, in[i].fixture)) {
                bets_refuse(res, 422, "same_fixture", "Same fixture", NULL,
                            "legs[%zu] and legs[%zu] are both on fixture '%s': at most one leg per "
                            "fixture",
                            j, i, in[i].fixture);
                goto out;
            }
    }
    struct bet_limits lim;
    bets_limits_get(f, txn, &lim);

    /* Every leg against its market at this index. */
    uint64_t odds = 1000; /* milli-odds of the whole bet, floored at each leg */
    for (size_t i = 0; i < n; i++) {
        struct leg_in *l = &in[i];
        const char *why = NULL;
        if (bets_switched_off(f, txn, l->fixture, &why)) {
            bets_refuse(res, 409, "betting_closed", "Betting closed",
                        json_pack("{s:s}", "fixture", l->fixture), "legs[%zu]: %s ('%s')", i, why,
                        l->fixture);
            goto out;
        }
        lim.max_stake = trader_max_stake(f, txn, l->fixture, lim.max_stake); /* issue 17 */
        lim.max_stake = trader_market_max_stake(f, txn, l->fixture, l->market, lim.max_stake);
        if (trader_market_suspended(f, txn, l->fixture, l->market)) {
            bets_refuse(res, 409, "market_suspended", "Market suspended",
                        json_pack("{s:s, s:s}", "fixture", l->fixture, "market", l->market),
                        "legs[%zu]: a trader suspended %s of '%s'", i, l->market, l->fixture);
            goto out;
        }
        json_t *m = quotes_market_shared(f, txn, l->fixture); /* read only */
        if (!m) {
            bets_refuse(res, 404, "no_market", "No market", NULL,
                        "legs[%zu]: fixture '%s' has no market", i, l->fixture);
            goto out;
        }
        const char *status = store_str(m, "status") ?: "";
        const char *phase = store_str(m, "phase") ?: "pre";
        uint64_t cur_v = (uint64_t)json_integer_value(json_object_get(m, "version"));
        if (!strcmp(status, "suspended")) {
            json_decref(m);
            bets_refuse(res, 409, "market_suspended", "Market suspended",
                        json_pack("{s:s}", "fixture", l->fixture),
                        "legs[%zu]: the markets of '%s' are suspended", i, l->fixture);
            goto out;
        }
        if (strcmp(status, "open") != 0 || (!strcmp(phase, "live") && !lim.live)) {
            bets_refuse(res, 409, "betting_closed", "Betting closed",
                        json_pack("{s:s}", "fixture", l->fixture),
                        "legs[%zu]: betting on '%s' is closed (market %s, phase %s%s)", i,
                        l->fixture, status, phase,
                        !strcmp(phase, "live") && !lim.live ? ", live betting off" : "");
            json_decref(m);
            goto out;
        }
        /* The cited quote: this fixture's, not newer than the market's, with that price. The
         * market record carries its current quote's prices (quotes.c sets both together): the
         * usual bet, at the current version, reads no quote record (the costliest read here). */
        json_t *q = l->version < cur_v ? quotes_get(f, txn, l->version) : NULL;
        const char *qfx = q ? store_str(q, "fixture") : NULL;
        json_t *qprices = cur_v && l->version == cur_v ? json_object_get(m, "prices")
                          : qfx && !strcmp(qfx, l->fixture) ? json_object_get(q, "prices")
                                                            : NULL;
        int64_t seen = qprices ? bets_price_of(qprices, l->market, l->line, l->outcome) : 0;
        json_decref(q);
        if (seen != l->price) {
            bets_refuse(res, 422, "invalid_quote", "Invalid quote", NULL,
                        "legs[%zu]: quote version %llu of '%s' did not offer %lld for %s%s%s/%s", i,
                        (unsigned long long)l->version, l->fixture, (long long)l->price, l->market,
                        l->line ? "/" : "", l->line ? l->line : "", l->outcome);
            json_decref(m);
            goto out;
        }
        int64_t now = bets_price_of(json_object_get(m, "prices"), l->market, l->line, l->outcome);
        if (now == 0) {
            bets_refuse(
                res, 409, "not_offered", "Not offered",
                json_pack("{s:s, s:I}", "fixture", l->fixture, "version", (json_int_t)cur_v),
                "legs[%zu]: %s%s%s/%s is no longer priced (version %llu)", i, l->market,
                l->line ? "/" : "", l->line ? l->line : "", l->outcome, (unsigned long long)cur_v);
            json_decref(m);
            goto out;
        }
        if (!bets_policy_ok(policy, l->price, now, (int64_t)tol))
            json_array_append_new(
                changed,
                json_pack("{s:i, s:I, s:I, s:I}", "leg", (int)i, "price", (json_int_t)l->price,
                          "current", (json_int_t)now, "version", (json_int_t)cur_v));
        unsigned __int128 o = (unsigned __int128)odds * (uint64_t)now / 1000;
        odds =
            o > (unsigned __int128)UINT64_MAX / 1000000000 ? UINT64_MAX / 1000000000 : (uint64_t)o;
        any_live = any_live || !strcmp(phase, "live");
        json_t *leg = json_pack(
            "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:I}", "fixture", l->fixture, "market",
            l->market, "outcome", l->outcome, "price_seen", (json_int_t)l->price, "version_seen",
            (json_int_t)l->version, "price", (json_int_t)now, "version", (json_int_t)cur_v, "phase",
            phase, "suspended_index", json_integer_value(json_object_get(m, "suspended_index")));
        json_t *live = json_object_get(m, "live");
        if (json_is_object(live)) /* a copy: the market record is shared */
            json_object_set_new(leg, "live", json_deep_copy(live));
        if (l->line)
            json_object_set_new(leg, "line", json_string(l->line));
        json_object_set_new(leg, "result", json_null());
        json_array_append_new(legs_out, leg);
        json_decref(m);
    }
    if (json_array_size(changed)) {
        json_t *first = json_array_get(changed, 0);
        bets_refuse(res, 409, "price_changed", "Price changed",
                    json_pack("{s:O, s:O, s:O}", "current", json_object_get(first, "current"),
                              "version", json_object_get(first, "version"), "legs", changed),
                    "legs[%d]: the price is now %lld (version %lld), not %lld under policy %s",
                    (int)json_integer_value(json_object_get(first, "leg")),
                    (long long)json_integer_value(json_object_get(first, "current")),
                    (long long)json_integer_value(json_object_get(first, "version")),
                    (long long)json_integer_value(json_object_get(first, "price")), policy);
        goto out;
    }
    if (stake < lim.min_stake) {
        bets_refuse(res, 422, "below_min_stake", "Stake too small",
                    json_pack("{s:I}", "min", (json_int_t)lim.min_stake),
                    "stake %llu is under the minimum %llu", (unsigned long long)stake,
                    (unsigned long long)lim.min_stake);
        goto out;
    }
    if (stake > lim.max_stake) {
        bets_refuse(res, 409, "above_max_stake", "Stake too large",
                    json_pack("{s:I}", "max", (json_int_t)lim.max_stake),
                    "stake %llu is over the maximum %llu", (unsigned long long)stake,
                    (unsigned long long)lim.max_stake);
        goto out;
    }
    unsigned __int128 pay = (unsigned __int128)stake * odds / 1000;
    if (pay > lim.max_payout) {
        uint64_t max_stake = lim.max_payout * 1000 / (odds ? odds : 1);
        bets_refuse(res, 409, "above_max_payout", "Payout too large",
                    json_pack("{s:I, s:I}", "max", (json_int_t)lim.max_payout, "max_stake",
                              (json_int_t)max_stake),
                    "the payout at odds %llu (milli) would exceed the maximum %llu",
                    (unsigned long long)odds, (unsigned long long)lim.max_payout);
        goto out;
    }
    uint64_t payout = (uint64_t)pay, net = payout - stake;
    /* Liability: every leg's outcome and fixture, with what this bet adds. */
    for (size_t i = 0; i < n; i++) {
        char k[KEY_MAX];
        const char *scope[2] = {"outcome", "fixture"};
        uint64_t cap[2] = {lim.outcome_cap, lim.fixture_cap};
        bets_outcome_key(k, json_array_get(legs_out, i));
        for (int s = 0; s < 2; s++) {
            if (s == 1)
                bets_fixture_key(k, in[i].fixture);
            uint64_t cur = bets_exposure(f, txn, k);
            if (cur + net > cap[s]) {
                bets_refuse(
                    res, 409, "liability_cap", "Liability cap",
                    json_pack("{s:s, s:s, s:I, s:I, s:I}", "scope", scope[s], "fixture",
                              in[i].fixture, "cap", (json_int_t)cap[s], "current", (json_int_t)cur,
                              "max_stake",
                              (json_int_t)(cap[s] > cur && odds > 1000
                                               ? (cap[s] - cur) * 1000 / (odds - 1000)
                                               : 0)),
                    "legs[%zu]: the %s liability of '%s' would reach %llu, over its cap %llu", i,
                    scope[s], in[i].fixture, (unsigned long long)(cur + net),
                    (unsigned long long)cap[s]);
                goto out;
            }
        }
    }
    /* Stand: store the bet, pending its hold. */
    uint64_t seq = fsm_meta_get(f, txn, BET_SEQ_KEY) + 1;
    char id[BET_ID_MAX], ts[32];
    snprintf(id, sizeof id, "b%012llu", (unsigned long long)seq);
    fsm_format_time(c->time_ms, ts);
    bet = json_pack("{s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:s, s:O, s:s, s:s, s:I, s:s}", "id", id,
                    "seq", (json_int_t)seq, "player_id", player, "status", "pending_hold", "stake",
                    (json_int_t)stake, "odds", (json_int_t)odds, "payout", (json_int_t)payout,
                    "policy", policy, "legs", legs_out, "kind", n == 1 ? "single" : "accumulator",
                    "placed_at", ts, "node", (json_int_t)node, "updated_at", ts);
    if (tol)
        json_object_set_new(bet, "tolerance", json_integer((json_int_t)tol));
    uint64_t delay = any_live ? delay_live : delay_pre;
    if (delay) {
        /* Waits out its acceptance delay: the leader decides after it (CMD_BET_DECIDE). */
        char after[32];
        fsm_format_time(c->time_ms + delay, after);
        json_object_set_new(bet, "status", json_string("pending"));
        json_object_set_new(bet, "hold", json_string("pending"));
        json_object_set_new(bet, "delay_ms", json_integer((json_int_t)delay));
        json_object_set_new(bet, "decide_after_ms", json_integer((json_int_t)(c->time_ms + delay)));
        json_object_set_new(bet, "decide_after", json_string(after));
        if ((rv = bets_queue_set(txn, bets_db(f)->delayed, bet, true)))
            goto out;
    }
    uint8_t be[8];
    store_be64_put(be, seq);
    char k[KEY_MAX + 8];
    size_t pl = strlen(player);
    memcpy(k, player, pl + 1);
    memcpy(k + pl + 1, be, 8);
    MDB_val kv = {pl + 9, k}, iv = {strlen(id), id};
    if ((rv = bets_put(f, txn, bet, "placed", c->time_ms)) ||
        (rv = mdb_put(txn, bets_db(f)->player, &kv, &iv, 0)) ||
        (rv = bets_exposure_add(f, txn, bet, 1)) || (rv = fsm_meta_put(f, txn, BET_SEQ_KEY, seq)))
        goto out;
    if ((rv = bets_queue_set(txn, bets_db(f)->pending, bet, true)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        size_t fl = strlen(in[i].fixture);
        memcpy(k, in[i].fixture, fl + 1);
        memcpy(k + fl + 1, be, 8);
        MDB_val fk = {fl + 9, k};
        if ((rv = mdb_put(txn, bets_db(f)->fixture, &fk, &iv, 0)))
            goto out;
    }
    if ((rv = bets_next_goal_index(f, txn, bet))) /* settled at the goal (bets_markets.c) */
        goto out;
    store_result_json(res, 201, json_incref(bet));
out:
    json_decref(bet);
    json_decref(changed);
    json_decref(legs_out);
    json_decref(body);
    return rv;
}

/* ---- the hold's outcome -------------------------------------------------------------- */

static bool hold_done_valid(json_t *body)
{
    json_t *acc = json_object_get(body, "accepted");
    return json_is_boolean(acc) && (json_is_true(acc) || store_str_max(body, "code", 64));
}

static int hold_done_step(BET_STEP_PARAMS)
{
    int rv = 0;
    bool accepted = json_is_true(json_object_get(body, "accepted"));
    const char *code = store_str_max(body, "code", 64);
    const char *detail = store_str_max(body, "detail", 512);
    const char *to = accepted ? "accepted" : "rejected";
    const char *st = store_str(b, "status") ?: "";
    if (!strcmp(st, "pending") && !strcmp(store_str(b, "hold") ?: "", "pending")) {
        /* A bet waiting out its delay: the hold is noted; the leader decides later. */
        bets_stamp(b, c->time_ms, "hold_at");
        if (accepted) {
            json_object_set_new(b, "hold", json_string("held"));
        } else {
            bets_reject(b, code, detail);
            json_object_set_new(b, "hold", json_string("refused"));
            if ((rv = bets_exposure_add(f, txn, b, -1)) ||
                (rv = bets_queue_set(txn, bets_db(f)->delayed, b, false)))
                return rv;
        }
        if ((rv = bets_queue_set(txn, bets_db(f)->pending, b, false)))
            return rv;
        return bets_put(f, txn, b, accepted ? "held" : "rejected", c->time_ms);
    }
    if (strcmp(st, "pending_hold") != 0) {
        if (!strcmp(st, to))
            return 0; /* the same answer again */
        return bets_refuse(res, 409, "bet_resolved", "Bet already resolved",
                           json_pack("{s:s}", "bet_status", st), "bet '%s' is %s, not pending_hold",
                           id, st);
    }
    bets_stamp(b, c->time_ms, "hold_at");
    json_object_set_new(b, "status", json_string(to));
    if (!accepted) {
        bets_reject(b, code, detail);
        if ((rv = bets_exposure_add(f, txn, b, -1)))
            return rv;
    }
    if ((rv = bets_queue_set(txn, bets_db(f)->pending, b, false)) ||
        (rv = bets_put(f, txn, b, to, c->time_ms)))
        return rv;
    /* Its fixtures' results may already be agreed: settle now. */
    return accepted ? bets_settle_one(f, txn, b, c->time_ms) : 0;
}

const struct bet_step bets_hold_done_op = {
    "invalid_hold_result", "Invalid hold result",
    "need {bet_id, accepted: bool, code (when refused), detail?}", hold_done_valid,
    hold_done_step};

int bets_hold_done_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    return bets_run(f, txn, c, res, &bets_hold_done_op);
}

/* ---- the acceptance delay ------------------------------------------------------------ */

static int decide_step(BET_STEP_PARAMS)
{
    (void)body;
    int rv = 0;
    const char *st = store_str(b, "status") ?: "";
    if (strcmp(st, "pending") != 0) {
        return bets_refuse(res, 409, "bet_resolved", "Bet already resolved",
                           json_pack("{s:s}", "bet_status", st), "bet '%s' is %s, not pending", id,
                           st);
    }
    if (strcmp(store_str(b, "hold") ?: "", "held") != 0) {
        return bets_refuse(res, 409, "hold_not_held", "Hold not placed yet", NULL,
                           "bet '%s': its stake is not held yet", id);
    }
    uint64_t after = (uint64_t)json_integer_value(json_object_get(b, "decide_after_ms"));
    if (c->time_ms < after) {
        return bets_refuse(res, 409, "delay_running", "Delay running",
                           json_pack("{s:I}", "decide_after_ms", (json_int_t)after),
                           "bet '%s' waits until %llu ms, it is %llu", id,
                           (unsigned long long)after, (unsigned long long)c->time_ms);
    }
    /* Every leg: no suspension of its market since placement, the market open, the price the
     * bet got still standing under its policy against the price the player saw. */
    const char *code = NULL;
    char why[256] = "";
    const char *policy = store_str(b, "policy") ?: "exact";
    int64_t tol = json_integer_value(json_object_get(b, "tolerance"));
    size_t i;
    json_t *leg;
    json_array_foreach(json_object_get(b, "legs"), i, leg)
    {
        const char *fx = store_str(leg, "fixture") ?: "";
        json_t *m = quotes_market_shared(f, txn, fx); /* read only */
        json_int_t susp = m ? json_integer_value(json_object_get(m, "suspended_index")) : 0;
        const char *mst = m ? store_str(m, "status") ?: "" : "";
        if (!m || susp != json_integer_value(json_object_get(leg, "suspended_index")) ||
            !strcmp(mst, "suspended")) {
            code = "market_suspended";
            snprintf(why, sizeof why,
                     "legs[%zu]: the markets of '%s' were suspended during "
                     "the acceptance delay",
                     i, fx);
        } else if (strcmp(mst, "open") != 0) {
            code = "betting_closed";
            snprintf(why, sizeof why, "legs[%zu]: the markets of '%s' are %s", i, fx, mst);
        } else {
            int64_t now = bets_price_of(json_object_get(m, "prices"), store_str(leg, "market"),
                                        store_str(leg, "line"), store_str(leg, "outcome"));
            int64_t got = json_integer_value(json_object_get(leg, "price"));
            int64_t seen = json_integer_value(json_object_get(leg, "price_seen"));
            if (now == 0 || !bets_policy_ok(policy, seen, now, tol)) {
                code = "price_changed";
                snprintf(why, sizeof why,
                         "legs[%zu]: the price is now %lld, the bet got %lld "
                         "(policy %s)",
                         i, (long long)now, (long long)got, policy);
                json_object_set_new(leg, "price_at_decision", json_integer((json_int_t)now));
            }
        }
        json_decref(m);
        if (code)
            break;
    }
    bets_stamp(b, c->time_ms, "decided_at");
    if ((rv = bets_queue_set(txn, bets_db(f)->delayed, b, false)))
        return rv;
    if (code) {
        bets_reject(b, code, why);
        json_object_set_new(b, "hold", json_string("voiding"));
        if ((rv = bets_exposure_add(f, txn, b, -1)) ||
            (rv = bets_queue_set(txn, bets_db(f)->voids, b, true)))
            return rv;
        return bets_put(f, txn, b, "rejected", c->time_ms);
    }
    json_object_set_new(b, "status", json_string("accepted"));
    if ((rv = bets_put(f, txn, b, "accepted", c->time_ms)))
        return rv;
    return bets_settle_one(f, txn, b, c->time_ms);
}

int bets_decide_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    static const struct bet_step op = {"invalid_decision", "Invalid decision", "need {bet_id}",
                                       NULL, decide_step};
    return bets_run(f, txn, c, res, &op);
}

static int voided_step(BET_STEP_PARAMS)
{
    (void)body;
    int rv;
    const char *h = store_str(b, "hold") ?: "";
    if (!strcmp(h, "voided"))
        return 0;
    if (strcmp(h, "voiding") != 0)
        return bets_refuse(res, 409, "hold_not_voiding", "Hold not to be voided", NULL,
                           "bet '%s': its hold is %s, not voiding", id, h[0] ? h : "not tracked");
    json_object_set_new(b, "hold", json_string("voided"));
    bets_stamp(b, c->time_ms, "hold_voided_at");
    if ((rv = bets_queue_set(txn, bets_db(f)->voids, b, false)))
        return rv;
    return bets_put(f, txn, b, "hold_voided", c->time_ms);
}

const struct bet_step bets_voided_op = {"invalid_voided", "Invalid void record",
                                       "need {bet_id}", NULL, voided_step};

int bets_voided_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    return bets_run(f, txn, c, res, &bets_voided_op);
}

/* ---- many bets' answers in one command ----------------------------------------------- */

/* CMD_BET_HOLDS_DONE: each item is applied in order exactly as its single command would be
 * (op "hold": CMD_BET_HOLD_DONE, "paid": CMD_BET_PAID, "voided": CMD_BET_HOLD_VOIDED), with
 * its own result; a refused item does not refuse the others. Only an LMDB error fails the
 * whole command. */
int bets_holds_done_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                          struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    json_t *items = json_object_get(body, "items");
    if (!json_is_array(items) || json_array_size(items) < 1 ||
        json_array_size(items) > BET_HOLDS_DONE_MAX) {
        json_decref(body);
        return bets_refuse(res, 422, "invalid_holds_done", "Invalid hold results", NULL,
                           "need {items: 1 to %d of {op: hold|paid|voided, bet_id, ...}}",
                           BET_HOLDS_DONE_MAX);
    }
    json_t *out = json_array(), *item;
    size_t i;
    int rv = 0;
    json_array_foreach(items, i, item)
    {
        struct fsm_result r = {0, NULL};
        const char *what = json_is_object(item) ? store_str(item, "op") : NULL;
        const struct bet_step *st = !what                    ? NULL
                                    : !strcmp(what, "hold")   ? &bets_hold_done_op
                                    : !strcmp(what, "paid")   ? &bets_paid_op
                                    : !strcmp(what, "voided") ? &bets_voided_op
                                                              : NULL;
        if (!st)
            bets_refuse(&r, 422, "invalid_holds_done", "Invalid hold results", NULL,
                        "items[%zu]: need {op: hold|paid|voided, bet_id, ...}", i);
        else
            rv = bets_run_body(f, txn, c, item, &r, st, false);
        if (rv == 0) {
            json_t *o = json_pack("{s:s, s:i}", "bet_id",
                                  store_str_max(item, "bet_id", BET_ID_MAX - 1) ?: "", "status",
                                  r.status);
            if (r.status >= 300 && r.body) {
                json_t *p = json_loads(r.body, 0, NULL);
                json_object_set(o, "code", json_object_get(p, "code"));
                json_decref(p);
            }
            json_array_append_new(out, o);
        }
        fsm_result_clear(&r);
        if (rv)
            break;
    }
    if (rv == 0)
        store_result_json(res, 200, json_pack("{s:o}", "results", out));
    else
        json_decref(out);
    json_decref(body);
    return rv;
}
