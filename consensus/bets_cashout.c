/* Bets: cash-out (issue 12). A player may settle an accepted bet early at its fair value from
 * the current agreed prices, less the operator's cash-out margin.
 *
 * Happy path: a node computes the offer from its applied state (bets_cashout_offer: read
 * only, no command) and hands it to the player bound to the quote version of every open leg
 * and to an expiry; the player accepts it with CMD_BET_CASHOUT {bet_id, player_id, amount,
 * versions, expires_ms}; at that command's index the state machine computes the offer again
 * from the same state (the same versions give the same amount, to the cent), checks it is the
 * one accepted, and settles the bet "settled" with result "cashed_out" and "return" = the
 * amount: its exposure is released and it is queued in "bet_unpaid", so the leader's bet saga
 * posts its hold with the stake and pays the amount in the same accounts command (like a won
 * bet), exactly once (CMD_BET_PAID).
 *
 * Failure modes, every one a refusal that changes nothing: the bet is not the player's (404
 * no_bet), not accepted or already settled (409 bet_not_open; the same accept of a bet already
 * cashed out at that amount answers the bet unchanged), cash-out switched off (409
 * cashout_off), the offer's expiry passed at the leader-stamped time of the command (409
 * cashout_expired), a leg's market suspended (409 market_suspended) or not open (409
 * betting_closed), a leg lost or its outcome no longer priced (409 cashout_unavailable), a
 * leg's market has a newer quote than the offer used or the amount differs (409 price_changed
 * with the current versions and amount).
 *
 * The arithmetic (integers only, so every node agrees): a leg with a result counts at its
 * settlement factor (won: its price, void/push 1000, half won, half lost); an open leg at its
 * price x its outcome's fair probability in the current quote, de-margined multiplicatively:
 * p = (1/price) / sum over the outcomes of that market (and line) of 1/price_j, in 1e-9. The
 * value, in micro-cents, is stake x the product of those factors, floored at each step; the
 * amount is value x (10000 - margin_bp) / 10000, floored to the cent. */
#include "consensus/bets.h"
#include "consensus/bets_internal.h"

#include <stdio.h>
#include <string.h>

#include "consensus/cmdtable.h"
#include "consensus/quotes.h"
#include "consensus/store.h"

static const char CASHOUT_KEY[] = "cashout";

#define SCALE_VALUE 1000000u       /* micro-cents per cent */
#define SCALE_P 1000000000u        /* probabilities in 1e-9 */
#define INV_NUM 1000000000000ull   /* 1/odds in 1e-9: 1e12 / milli-odds */
#define VALUE_CAP ((unsigned __int128)1 << 90) /* x 1e9 still fits in 128 bits */

static const struct bet_cashout_cfg CASHOUT_DEFAULTS = {
    .enabled = true,
    .margin_bp = 500,    /* 5 % */
    .validity_ms = 5000, /* an offer stands 5 s */
};

void bets_cashout_cfg_get(struct fsm *f, MDB_txn *txn, struct bet_cashout_cfg *out)
{
    *out = CASHOUT_DEFAULTS;
    json_t *o = store_get_json(txn, bets_db(f)->config, CASHOUT_KEY, strlen(CASHOUT_KEY));
    uint64_t v;
    if (o) {
        json_t *en = json_object_get(o, "enabled");
        if (json_is_boolean(en))
            out->enabled = json_is_true(en);
        if (store_u64(o, "margin_bp", 0, &v))
            out->margin_bp = v;
        if (store_u64(o, "validity_ms", 1, &v))
            out->validity_ms = v;
    }
    json_decref(o);
}

json_t *bets_cashout_cfg_json(const struct bet_cashout_cfg *cfg)
{
    return json_pack("{s:b, s:I, s:I}", "enabled", cfg->enabled, "margin_bp",
                     (json_int_t)cfg->margin_bp, "validity_ms", (json_int_t)cfg->validity_ms);
}

/* The fair probability (1e-9) of @outcome in the market object @mk (outcome -> milli-odds):
 * 1/price over the sum of 1/price_j; 0 when the outcome is not priced. */
static uint64_t fair_probability(json_t *mk, const char *outcome)
{
    json_t *mine = json_object_get(mk, outcome);
    if (!json_is_integer(mine) || json_integer_value(mine) < PRICE_MIN)
        return 0;
    uint64_t sum = 0, inv = INV_NUM / (uint64_t)json_integer_value(mine);
    const char *k;
    json_t *v;
    json_object_foreach(mk, k, v)
    {
        if (json_is_integer(v) && json_integer_value(v) >= PRICE_MIN)
            sum += INV_NUM / (uint64_t)json_integer_value(v);
    }
    return sum ? (uint64_t)((unsigned __int128)inv * SCALE_P / sum) : 0;
}

/* Is the bet in a state that can be cashed out (and the switch on)? NULL if so, else the
 * problem. */
static json_t *cashout_open(json_t *b, const struct bet_cashout_cfg *cfg, int *status)
{
    const char *st = store_str(b, "status") ?: "";
    if (strcmp(st, "accepted") != 0)
        return bets_problem(status, 409, "bet_not_open", "Bet not open",
                       json_pack("{s:s}", "bet_status", st),
                       "bet '%s' is %s: only an accepted bet not yet settled can be cashed out",
                       store_str(b, "id") ?: "?", st);
    if (!cfg->enabled)
        return bets_problem(status, 409, "cashout_off", "Cash-out unavailable", NULL,
                       "the operator has switched cash-out off");
    return NULL;
}

json_t *bets_cashout_offer_of(struct fsm *f, MDB_txn *txn, json_t *b, int *status)
{
    struct bet_cashout_cfg cfg;
    bets_cashout_cfg_get(f, txn, &cfg);
    json_t *p = cashout_open(b, &cfg, status);
    if (p)
        return p;
    uint64_t stake = (uint64_t)json_integer_value(json_object_get(b, "stake"));
    unsigned __int128 v = (unsigned __int128)stake * SCALE_VALUE;
    json_t *versions = json_array(), *legs = json_array();
    size_t i;
    json_t *leg;
    json_array_foreach(json_object_get(b, "legs"), i, leg)
    {
        const char *fixture = store_str(leg, "fixture") ?: "";
        const char *market = store_str(leg, "market") ?: "", *line = store_str(leg, "line");
        const char *outcome = store_str(leg, "outcome") ?: "";
        const char *r = store_str(leg, "result");
        uint64_t price = (uint64_t)json_integer_value(json_object_get(leg, "price"));
        if (r) {
            if (!strcmp(r, "lost")) {
                p = bets_problem(status, 409, "cashout_unavailable", "Cash-out unavailable",
                            json_pack("{s:i}", "leg", (int)i),
                            "legs[%zu] (%s) is lost: there is nothing to cash out", i, fixture);
                goto out;
            }
            uint64_t factor = bets_leg_factor(r, price);
            v = v * factor / 1000;
            if (v > VALUE_CAP)
                v = VALUE_CAP;
            json_array_append_new(versions, json_null());
            json_array_append_new(legs, json_pack("{s:s, s:s, s:I}", "fixture", fixture,
                                                  "result", r, "factor", (json_int_t)factor));
            continue;
        }
        json_t *m = quotes_market_get(f, txn, fixture);
        const char *ms = m ? store_str(m, "status") ?: "" : "";
        if (!strcmp(ms, "suspended")) {
            json_decref(m);
            p = bets_problem(status, 409, "market_suspended", "Market suspended",
                        json_pack("{s:s, s:i}", "fixture", fixture, "leg", (int)i),
                        "legs[%zu]: the markets of '%s' are suspended", i, fixture);
            goto out;
        }
        if (strcmp(ms, "open") != 0) {
            json_decref(m);
            p = bets_problem(status, 409, "betting_closed", "Betting closed",
                        json_pack("{s:s, s:i}", "fixture", fixture, "leg", (int)i),
                        "legs[%zu]: the market of '%s' is %s", i, fixture, m ? ms : "missing");
            goto out;
        }
        json_t *mk = json_object_get(json_object_get(m, "prices"), market);
        if (line)
            mk = json_object_get(mk, line);
        uint64_t prob = fair_probability(mk, outcome);
        json_int_t version = json_integer_value(json_object_get(m, "version"));
        json_int_t now = (json_int_t)bets_price_of(json_object_get(m, "prices"), market, line,
                                                   outcome);
        json_decref(m);
        if (prob == 0) {
            p = bets_problem(status, 409, "cashout_unavailable", "Cash-out unavailable",
                        json_pack("{s:s, s:i}", "fixture", fixture, "leg", (int)i),
                        "legs[%zu]: %s%s%s/%s of '%s' is no longer priced", i, market,
                        line ? "/" : "", line ? line : "", outcome, fixture);
            goto out;
        }
        v = v * price / 1000;
        v = v * prob / SCALE_P;
        if (v > VALUE_CAP)
            v = VALUE_CAP;
        json_array_append_new(versions, json_integer(version));
        json_array_append_new(
            legs, json_pack("{s:s, s:I, s:I, s:I, s:I}", "fixture", fixture, "version", version,
                            "current", now, "probability", (json_int_t)prob, "fair_price",
                            (json_int_t)((unsigned __int128)INV_NUM / 1000 / prob)));
    }
    unsigned __int128 amount =
        v * (cfg.margin_bp < 10000 ? 10000 - cfg.margin_bp : 0) / 10000 / SCALE_VALUE;
    if (amount == 0) {
        p = bets_problem(status, 409, "cashout_unavailable", "Cash-out unavailable", NULL,
                    "the bet is worth less than a cent now");
        goto out;
    }
    *status = 200;
    p = json_pack("{s:O, s:I, s:I, s:I, s:I, s:I, s:O, s:O}", "bet_id", json_object_get(b, "id"),
                  "stake", (json_int_t)stake, "amount", (json_int_t)amount, "fair_value",
                  (json_int_t)(v / SCALE_VALUE), "margin_bp", (json_int_t)cfg.margin_bp,
                  "validity_ms", (json_int_t)cfg.validity_ms, "versions", versions, "legs", legs);
out:
    json_decref(versions);
    json_decref(legs);
    return p;
}

json_t *bets_cashout_offer(struct fsm *f, MDB_txn *txn, const char *id, const char *player,
                           int *status)
{
    json_t *b = bets_get(f, txn, id);
    const char *owner = b ? store_str(b, "player_id") : NULL;
    json_t *p;
    if (!b || !owner || !player || strcmp(owner, player) != 0)
        p = bets_problem(status, 404, "no_bet", "No such bet", NULL, "no bet '%s' of yours", id);
    else
        p = bets_cashout_offer_of(f, txn, b, status);
    json_decref(b);
    return p;
}

/* ---- CMD_BET_CASHOUT ----------------------------------------------------------------- */

static bool cashout_valid(json_t *body)
{
    uint64_t u;
    return store_str_max(body, "player_id", PLAYER_MAX) && store_u64(body, "amount", 1, &u) &&
           store_u64(body, "expires_ms", 0, &u) && json_is_array(json_object_get(body, "versions"));
}

static int cashout_step(BET_STEP_PARAMS)
{
    const char *player = store_str(body, "player_id");
    uint64_t amount = 0, expires = 0;
    store_u64(body, "amount", 1, &amount);
    store_u64(body, "expires_ms", 0, &expires);
    json_t *versions = json_object_get(body, "versions");
    if (strcmp(store_str(b, "player_id") ?: "", player) != 0)
        return bets_refuse(res, 404, "no_bet", "No such bet", NULL, "no bet '%s' of yours", id);
    json_t *done = json_object_get(b, "cashout");
    if (!strcmp(store_str(b, "result") ?: "", "cashed_out") && json_is_object(done) &&
        (uint64_t)json_integer_value(json_object_get(done, "amount")) == amount &&
        json_equal(json_object_get(done, "versions"), versions))
        return 0; /* the same accept again: the bet as it is */
    struct bet_cashout_cfg cfg;
    bets_cashout_cfg_get(f, txn, &cfg);
    int st = 0;
    json_t *p = cashout_open(b, &cfg, &st);
    if (!p && c->time_ms > expires) {
        char ts[32];
        fsm_format_time(expires, ts);
        p = bets_problem(&st, 409, "cashout_expired", "Offer expired", NULL,
                    "the offer expired at %s: ask for a new one", ts);
    }
    json_t *offer = p ? NULL : bets_cashout_offer_of(f, txn, b, &st);
    if (offer && st != 200) {
        p = offer;
        offer = NULL;
    }
    if (offer) {
        json_t *now_v = json_object_get(offer, "versions");
        uint64_t now_a = (uint64_t)json_integer_value(json_object_get(offer, "amount"));
        if (!json_equal(now_v, versions) || now_a != amount)
            p = bets_problem(&st, 409, "price_changed", "Price changed",
                        json_pack("{s:O, s:I}", "versions", now_v, "amount", (json_int_t)now_a),
                        json_equal(now_v, versions)
                            ? "the cash-out value is now %llu, not %llu: ask for a new offer"
                            : "the prices moved since the offer (now %llu, offered %llu): ask "
                              "for a new offer",
                        (unsigned long long)now_a, (unsigned long long)amount);
    }
    json_decref(offer);
    if (p) {
        store_result_json(res, st, p);
        return 0;
    }
    /* Stand: settle early at the amount; the saga posts the hold with it as the payout. */
    uint64_t stake = (uint64_t)json_integer_value(json_object_get(b, "stake"));
    int rv = bets_exposure_add(f, txn, b, -1);
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_object_set_new(b, "status", json_string("settled"));
    json_object_set_new(b, "result", json_string("cashed_out"));
    json_object_set_new(
        b, "odds_settled",
        json_integer((json_int_t)((unsigned __int128)amount * 1000 / (stake ? stake : 1))));
    json_object_set_new(b, "return", json_integer((json_int_t)amount));
    json_object_set_new(b, "cashout",
                        json_pack("{s:I, s:O, s:I, s:s}", "amount", (json_int_t)amount,
                                  "versions", versions, "expires_ms", (json_int_t)expires, "at",
                                  ts));
    bets_stamp(b, c->time_ms, "settled_at");
    if (rv == 0)
        rv = bets_queue_set(txn, bets_db(f)->unpaid, b, true);
    return rv ? rv : bets_put(f, txn, b, "settled", c->time_ms);
}

int bets_cashout_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    static const struct bet_step op = {
        "invalid_cashout", "Invalid cash-out",
        "need {bet_id, player_id, amount (cents >= 1), versions (the offer's), expires_ms}",
        cashout_valid, cashout_step};
    return bets_run(f, txn, c, res, &op);
}

/* ---- CMD_BET_CASHOUT_SET ------------------------------------------------------------- */

int bets_cashout_set_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                           struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    struct bet_cashout_cfg cfg;
    bets_cashout_cfg_get(f, txn, &cfg);
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
        if (!strcmp(k, "enabled") && json_is_boolean(v)) {
            cfg.enabled = json_is_true(v);
        } else if (!strcmp(k, "margin_bp") && n >= 0 && n <= BET_CASHOUT_MARGIN_MAX) {
            cfg.margin_bp = (uint64_t)n;
        } else if (!strcmp(k, "validity_ms") && n >= BET_CASHOUT_VALIDITY_MIN &&
                   n <= BET_CASHOUT_VALIDITY_MAX) {
            cfg.validity_ms = (uint64_t)n;
        } else {
            bets_refuse(res, 422, "invalid_cashout_config", "Invalid cash-out settings", NULL,
                        "%s: want enabled (boolean), margin_bp (0 to %d basis points) or "
                        "validity_ms (%d to %d)",
                        k, BET_CASHOUT_MARGIN_MAX, BET_CASHOUT_VALIDITY_MIN,
                        BET_CASHOUT_VALIDITY_MAX);
            goto out;
        }
    }
    rv = bets_config_answer(f, txn, CASHOUT_KEY, bets_cashout_cfg_json(&cfg), res);
out:
    json_decref(body);
    return rv;
}

/* ---- payloads ------------------------------------------------------------------------ */

char *bets_cmd_cashout(struct cmd *c, const char *bet_id, const char *player_id, uint64_t amount,
                       json_t *versions, uint64_t expires_ms)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:O, s:I}", "bet_id", bet_id, "player_id", player_id,
                          "amount", (json_int_t)amount, "versions", versions, "expires_ms",
                          (json_int_t)expires_ms);
    char *t = o ? cmd_fill(c, CMD_BET_CASHOUT, o) : NULL;
    json_decref(o);
    return t;
}

char *bets_cmd_cashout_set(struct cmd *c, json_t *settings)
{
    return cmd_fill(c, CMD_BET_CASHOUT_SET, settings);
}
