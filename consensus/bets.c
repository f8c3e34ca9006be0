/* Bets: placement, the hold's outcome, limits. See bets.h. */
#include "consensus/bets.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/cmdtable.h"
#include "consensus/quotes.h"
#include "consensus/store.h"

static const char BET_SEQ_KEY[] = "bet_seq";
static const char BET_EVENT_KEY[] = "bet_event_seq";
static const char LIMITS_KEY[] = "limits";
static const char SWITCHES_KEY[] = "switches";

const struct fsm_domain bets_domain;

struct bets_dbs {
    MDB_dbi bets, exposure, player, fixture, pending, config, unpaid, delayed, voids, events;
};

static const struct bets_dbs *DB(struct fsm *f)
{
    return (const struct bets_dbs *)fsm_domain_dbis(f, &bets_domain);
}

#define PLAYER_MAX 128
#define FIXTURE_MAX 128
#define NAME_MAX_ 64
#define KEY_MAX 512
#define PRICE_MIN 1001    /* milli-odds */
#define PRICE_MAX 1000000

static const struct bet_limits DEFAULTS = {
    .min_stake = 10,             /* 0.10 */
    .max_stake = 100000,         /* 1 000.00 */
    .max_payout = 10000000,      /* 100 000.00 */
    .outcome_cap = 5000000,      /* 50 000.00 net per outcome */
    .fixture_cap = 20000000,     /* 200 000.00 net per fixture */
    .live = false,               /* live bets need the acceptance delay (not built yet) */
};

static int refuse(struct fsm_result *res, int status, const char *code, const char *title,
                  json_t *extra, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int refuse(struct fsm_result *res, int status, const char *code, const char *title,
                  json_t *extra, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    json_t *p = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank", "title", title,
                          "status", status, "detail", detail, "code", code);
    if (extra)
        json_object_update(p, extra);
    json_decref(extra);
    store_result_json(res, status, p);
    return 0;
}

/* ---- limits -------------------------------------------------------------------------- */

static void limits_from(json_t *o, struct bet_limits *l)
{
    uint64_t v;
    if (store_u64(o, "min_stake", 1, &v))
        l->min_stake = v;
    if (store_u64(o, "max_stake", 1, &v))
        l->max_stake = v;
    if (store_u64(o, "max_payout", 1, &v))
        l->max_payout = v;
    if (store_u64(o, "outcome_cap", 0, &v))
        l->outcome_cap = v;
    if (store_u64(o, "fixture_cap", 0, &v))
        l->fixture_cap = v;
    json_t *live = json_object_get(o, "live");
    if (json_is_boolean(live))
        l->live = json_is_true(live);
}

static json_t *limits_json(const struct bet_limits *l)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:b}", "min_stake", (json_int_t)l->min_stake,
                     "max_stake", (json_int_t)l->max_stake, "max_payout",
                     (json_int_t)l->max_payout, "outcome_cap", (json_int_t)l->outcome_cap,
                     "fixture_cap", (json_int_t)l->fixture_cap, "live", l->live);
}

void bets_limits_get(struct fsm *f, MDB_txn *txn, struct bet_limits *out)
{
    *out = DEFAULTS;
    json_t *o = store_get_json(txn, DB(f)->config, LIMITS_KEY, strlen(LIMITS_KEY));
    if (o)
        limits_from(o, out);
    json_decref(o);
}

static int limits_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                        struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    static const char *const keys[] = {"min_stake", "max_stake", "max_payout", "outcome_cap",
                                       "fixture_cap", "live"};
    const char *k;
    json_t *v;
    int rv = 0;
    json_object_foreach(body, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
            known = known || !strcmp(k, keys[i]);
        bool ok = !strcmp(k, "live") ? json_is_boolean(v)
                                     : json_is_integer(v) && json_integer_value(v) >= 0;
        if (!known || !ok) {
            refuse(res, 422, "invalid_limits", "Invalid limits", NULL,
                   "%s: %s", k,
                   known ? "want a non-negative integer of cents (live: a boolean)"
                         : "unknown field (min_stake, max_stake, max_payout, outcome_cap, "
                           "fixture_cap, live)");
            goto out;
        }
    }
    struct bet_limits l;
    bets_limits_get(f, txn, &l);
    limits_from(body, &l);
    if (l.min_stake == 0 || l.min_stake > l.max_stake) {
        refuse(res, 422, "invalid_limits", "Invalid limits", NULL,
               "min_stake must be at least 1 and at most max_stake (%llu > %llu)",
               (unsigned long long)l.min_stake, (unsigned long long)l.max_stake);
        goto out;
    }
    json_t *o = limits_json(&l);
    rv = store_put_json(txn, DB(f)->config, LIMITS_KEY, strlen(LIMITS_KEY), o, NULL);
    if (rv == 0)
        store_result_json(res, 200, o);
    else
        json_decref(o);
out:
    json_decref(body);
    return rv;
}

/* ---- betting switches ---------------------------------------------------------------- */

json_t *bets_switches(struct fsm *f, MDB_txn *txn)
{
    json_t *o = store_get_json(txn, DB(f)->config, SWITCHES_KEY, strlen(SWITCHES_KEY));
    if (!o)
        o = json_pack("{s:b, s:{}}", "all", true, "fixtures_closed");
    struct bet_limits l;
    bets_limits_get(f, txn, &l);
    json_object_set_new(o, "live", json_boolean(l.live));
    return o;
}

static int switch_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                        struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *sw = NULL;
    const char *scope = store_str(body, "scope");
    const char *fixture = store_str_max(body, "fixture", FIXTURE_MAX);
    json_t *open = json_object_get(body, "open");
    if (!scope || !json_is_boolean(open) ||
        (strcmp(scope, "all") && strcmp(scope, "live") && strcmp(scope, "fixture")) ||
        (!strcmp(scope, "fixture") != (fixture != NULL))) {
        refuse(res, 422, "invalid_switch", "Invalid switch", NULL,
               "need {scope: all|live|fixture, fixture (with scope fixture only), open: bool}");
        goto out;
    }
    if (!strcmp(scope, "live")) {
        struct bet_limits l;
        bets_limits_get(f, txn, &l);
        l.live = json_is_true(open);
        json_t *o = limits_json(&l);
        rv = store_put_json(txn, DB(f)->config, LIMITS_KEY, strlen(LIMITS_KEY), o, NULL);
        json_decref(o);
        if (rv)
            goto out;
    } else {
        sw = store_get_json(txn, DB(f)->config, SWITCHES_KEY, strlen(SWITCHES_KEY));
        if (!sw)
            sw = json_pack("{s:b, s:{}}", "all", true, "fixtures_closed");
        if (!strcmp(scope, "all")) {
            json_object_set(sw, "all", open);
        } else if (json_is_true(open)) {
            json_object_del(json_object_get(sw, "fixtures_closed"), fixture);
        } else {
            char ts[32];
            fsm_format_time(c->time_ms, ts);
            json_object_set_new(json_object_get(sw, "fixtures_closed"), fixture,
                                json_string(ts));
        }
        if ((rv = store_put_json(txn, DB(f)->config, SWITCHES_KEY, strlen(SWITCHES_KEY), sw,
                                 NULL)))
            goto out;
    }
    store_result_json(res, 200, bets_switches(f, txn));
out:
    json_decref(sw);
    json_decref(body);
    return rv;
}

/* Whether betting on @fixture is switched off (all, or that fixture). */
static bool switched_off(struct fsm *f, MDB_txn *txn, const char *fixture, const char **why)
{
    json_t *sw = store_get_json(txn, DB(f)->config, SWITCHES_KEY, strlen(SWITCHES_KEY));
    bool off = false;
    if (sw && json_is_false(json_object_get(sw, "all"))) {
        off = true;
        *why = "all betting is switched off";
    } else if (sw && json_object_get(json_object_get(sw, "fixtures_closed"), fixture)) {
        off = true;
        *why = "betting on this fixture is switched off";
    }
    json_decref(sw);
    return off;
}

/* ---- exposure ------------------------------------------------------------------------ */

uint64_t bets_exposure(struct fsm *f, MDB_txn *txn, const char *key)
{
    json_t *o = store_get_json(txn, DB(f)->exposure, key, strlen(key));
    uint64_t v = o ? (uint64_t)json_integer_value(json_object_get(o, "amount")) : 0;
    json_decref(o);
    return v;
}

static int exposure_add(struct fsm *f, MDB_txn *txn, const char *key, int64_t delta)
{
    int64_t v = (int64_t)bets_exposure(f, txn, key) + delta;
    if (v < 0)
        v = 0;
    json_t *o = json_pack("{s:I}", "amount", (json_int_t)v);
    int rv = store_put_json(txn, DB(f)->exposure, key, strlen(key), o, NULL);
    json_decref(o);
    return rv;
}

static void outcome_key(char out[KEY_MAX], json_t *leg)
{
    snprintf(out, KEY_MAX, "o|%s|%s|%s|%s", store_str(leg, "fixture"), store_str(leg, "market"),
             store_str(leg, "line") ? store_str(leg, "line") : "", store_str(leg, "outcome"));
}

static void fixture_key(char out[KEY_MAX], const char *fixture)
{
    snprintf(out, KEY_MAX, "f|%s", fixture);
}

/* Add (@sign 1) or release (@sign -1) bet @b's exposure. */
static int bet_exposure(struct fsm *f, MDB_txn *txn, json_t *b, int sign)
{
    int64_t net = (int64_t)json_integer_value(json_object_get(b, "payout")) -
                  (int64_t)json_integer_value(json_object_get(b, "stake"));
    size_t i;
    json_t *leg;
    int rv = 0;
    char k[KEY_MAX];
    json_array_foreach(json_object_get(b, "legs"), i, leg)
    {
        outcome_key(k, leg);
        if ((rv = exposure_add(f, txn, k, sign * net)))
            break;
        fixture_key(k, store_str(leg, "fixture"));
        if ((rv = exposure_add(f, txn, k, sign * net)))
            break;
    }
    return rv;
}

/* ---- queues and the bet event log ---------------------------------------------------- */

/* Put (@put) or remove bet @b in a queue keyed by its be64 seq (pending, delayed, void). */
static int queue_set(MDB_txn *txn, MDB_dbi dbi, json_t *b, bool put)
{
    const char *id = store_str(b, "id");
    uint8_t be[8];
    store_be64_put(be, (uint64_t)json_integer_value(json_object_get(b, "seq")));
    MDB_val k = {8, be}, v = {strlen(id), (void *)id};
    int rv = put ? mdb_put(txn, dbi, &k, &v, 0) : mdb_del(txn, dbi, &k, NULL);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

/* Append an event about bet @b to the replicated log the player's stream reads. */
static int bet_event(struct fsm *f, MDB_txn *txn, json_t *b, const char *type,
                     uint64_t time_ms)
{
    uint64_t seq = fsm_meta_get(f, txn, BET_EVENT_KEY) + 1;
    char ts[32];
    fsm_format_time(time_ms, ts);
    json_t *e = json_pack("{s:I, s:s, s:O, s:O, s:O, s:s}", "id", (json_int_t)seq, "type",
                          type, "bet_id", json_object_get(b, "id"), "player_id",
                          json_object_get(b, "player_id"), "status",
                          json_object_get(b, "status"), "at", ts);
    uint8_t k[8];
    store_be64_put(k, seq);
    int rv = store_put_json(txn, DB(f)->events, k, 8, e, NULL);
    json_decref(e);
    return rv ? rv : fsm_meta_put(f, txn, BET_EVENT_KEY, seq);
}

/* Store bet @b and log @type about it. */
static int bet_put(struct fsm *f, MDB_txn *txn, json_t *b, const char *type, uint64_t time_ms)
{
    const char *id = store_str(b, "id");
    int rv = store_put_json(txn, DB(f)->bets, id, strlen(id), b, NULL);
    return rv ? rv : bet_event(f, txn, b, type, time_ms);
}

json_t *bets_events_after(struct fsm *f, MDB_txn *txn, uint64_t after, unsigned limit)
{
    json_t *out = json_array();
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, DB(f)->events, &cur))
        return out;
    uint8_t be[8];
    store_be64_put(be, after + 1);
    MDB_val k = {8, be}, v;
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         r == 0 && json_array_size(out) < limit; r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        json_t *e = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        if (e)
            json_array_append_new(out, e);
    }
    mdb_cursor_close(cur);
    return out;
}

uint64_t bets_last_event(struct fsm *f, MDB_txn *txn)
{
    return fsm_meta_get(f, txn, BET_EVENT_KEY);
}

/* ---- placement ----------------------------------------------------------------------- */

/* The price of @outcome at @line of @market in a prices object, or 0. */
static int64_t price_of(json_t *prices, const char *market, const char *line,
                        const char *outcome)
{
    json_t *m = json_object_get(prices, market);
    if (line)
        m = json_object_get(m, line);
    json_t *p = json_object_get(m, outcome);
    return json_is_integer(p) ? json_integer_value(p) : 0;
}

static bool policy_ok(const char *policy, int64_t seen, int64_t now, int64_t tol)
{
    if (!strcmp(policy, "exact"))
        return now == seen;
    if (!strcmp(policy, "better"))
        return now >= seen;
    return now >= seen - tol; /* any_within */
}

struct leg_in {
    const char *fixture, *market, *line, *outcome;
    int64_t price;
    uint64_t version;
};

/* Shape of one leg; a refusal names it. */
static bool leg_parse(json_t *o, size_t i, struct leg_in *l, struct fsm_result *res)
{
    static const char need[] = "need {fixture, market, line?, outcome, price (milli-odds), "
                               "version}";
    json_t *p = json_object_get(o, "price"), *line = json_object_get(o, "line");
    l->fixture = store_str_max(o, "fixture", FIXTURE_MAX);
    l->market = store_str_max(o, "market", NAME_MAX_);
    l->outcome = store_str_max(o, "outcome", NAME_MAX_);
    l->line = store_str_max(o, "line", NAME_MAX_);
    if (!json_is_object(o) || !l->fixture || !l->market || !l->outcome ||
        (line && !json_is_null(line) && !l->line)) {
        refuse(res, 422, "invalid_bet", "Invalid bet", NULL, "legs[%zu]: %s", i, need);
        return false;
    }
    if (!json_is_integer(p) || json_integer_value(p) < PRICE_MIN ||
        json_integer_value(p) > PRICE_MAX) {
        refuse(res, 422, "invalid_bet", "Invalid bet", NULL,
               "legs[%zu].price: an integer of milli-odds from %d to %d", i, PRICE_MIN,
               PRICE_MAX);
        return false;
    }
    l->price = json_integer_value(p);
    if (!store_u64(o, "version", 1, &l->version)) {
        refuse(res, 422, "invalid_bet", "Invalid bet", NULL,
               "legs[%zu].version: the quote version the price came from (integer >= 1)", i);
        return false;
    }
    return true;
}

static int place_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                       struct fsm_result *res)
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
        refuse(res, 422, "invalid_bet", "Invalid bet", NULL, "player_id: missing or too long");
        goto out;
    }
    if (!store_u64(body, "stake", 1, &stake)) {
        refuse(res, 422, "invalid_bet", "Invalid bet", NULL,
               "stake: a positive integer of cents");
        goto out;
    }
    if (!policy || (strcmp(policy, "exact") && strcmp(policy, "better") &&
                    strcmp(policy, "any_within"))) {
        refuse(res, 422, "invalid_bet", "Invalid bet", NULL,
               "policy: one of exact, better, any_within");
        goto out;
    }
    if (!strcmp(policy, "any_within") && !store_u64(body, "tolerance", 1, &tol)) {
        refuse(res, 422, "invalid_bet", "Invalid bet", NULL,
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
        refuse(res, 422, "invalid_bet", "Invalid bet", NULL,
               "delay_pre_ms, delay_live_ms: at most %d ms", BET_DELAY_MAX_MS);
        goto out;
    }
    bool any_live = false;
    if (!json_is_array(legs) || json_array_size(legs) == 0) {
        refuse(res, 422, "invalid_bet", "Invalid bet", NULL, "legs: a non-empty array");
        goto out;
    }
    size_t n = json_array_size(legs);
    if (n > BET_LEGS_MAX) {
        refuse(res, 422, "too_many_legs", "Too many legs",
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
                refuse(res, 422, "same_fixture", "Same fixture", NULL,
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
        if (switched_off(f, txn, l->fixture, &why)) {
            refuse(res, 409, "betting_closed", "Betting closed",
                   json_pack("{s:s}", "fixture", l->fixture), "legs[%zu]: %s ('%s')", i, why,
                   l->fixture);
            goto out;
        }
        json_t *m = quotes_market_get(f, txn, l->fixture);
        if (!m) {
            refuse(res, 404, "no_market", "No market", NULL,
                   "legs[%zu]: fixture '%s' has no market", i, l->fixture);
            goto out;
        }
        const char *status = store_str(m, "status") ?: "";
        const char *phase = store_str(m, "phase") ?: "pre";
        uint64_t cur_v = (uint64_t)json_integer_value(json_object_get(m, "version"));
        if (!strcmp(status, "suspended")) {
            json_decref(m);
            refuse(res, 409, "market_suspended", "Market suspended",
                   json_pack("{s:s}", "fixture", l->fixture),
                   "legs[%zu]: the markets of '%s' are suspended", i, l->fixture);
            goto out;
        }
        if (strcmp(status, "open") != 0 || (!strcmp(phase, "live") && !lim.live)) {
            refuse(res, 409, "betting_closed", "Betting closed",
                   json_pack("{s:s}", "fixture", l->fixture),
                   "legs[%zu]: betting on '%s' is closed (market %s, phase %s%s)", i,
                   l->fixture, status, phase,
                   !strcmp(phase, "live") && !lim.live ? ", live betting off" : "");
            json_decref(m);
            goto out;
        }
        /* The cited quote: this fixture's, not newer than the market's, with that price. */
        json_t *q = l->version <= cur_v ? quotes_get(f, txn, l->version) : NULL;
        const char *qfx = q ? store_str(q, "fixture") : NULL;
        int64_t seen = q && qfx && !strcmp(qfx, l->fixture)
                           ? price_of(json_object_get(q, "prices"), l->market, l->line,
                                      l->outcome)
                           : 0;
        json_decref(q);
        if (seen != l->price) {
            refuse(res, 422, "invalid_quote", "Invalid quote", NULL,
                   "legs[%zu]: quote version %llu of '%s' did not offer %lld for %s%s%s/%s", i,
                   (unsigned long long)l->version, l->fixture, (long long)l->price, l->market,
                   l->line ? "/" : "", l->line ? l->line : "", l->outcome);
            json_decref(m);
            goto out;
        }
        int64_t now = price_of(json_object_get(m, "prices"), l->market, l->line, l->outcome);
        if (now == 0) {
            refuse(res, 409, "not_offered", "Not offered",
                   json_pack("{s:s, s:I}", "fixture", l->fixture, "version", (json_int_t)cur_v),
                   "legs[%zu]: %s%s%s/%s is no longer priced (version %llu)", i, l->market,
                   l->line ? "/" : "", l->line ? l->line : "", l->outcome,
                   (unsigned long long)cur_v);
            json_decref(m);
            goto out;
        }
        if (!policy_ok(policy, l->price, now, (int64_t)tol))
            json_array_append_new(changed, json_pack("{s:i, s:I, s:I, s:I}", "leg", (int)i,
                                                     "price", (json_int_t)l->price, "current",
                                                     (json_int_t)now, "version",
                                                     (json_int_t)cur_v));
        unsigned __int128 o = (unsigned __int128)odds * (uint64_t)now / 1000;
        odds = o > (unsigned __int128)UINT64_MAX / 1000000000 ? UINT64_MAX / 1000000000
                                                                : (uint64_t)o;
        any_live = any_live || !strcmp(phase, "live");
        json_t *leg = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:I}", "fixture",
                                l->fixture, "market", l->market, "outcome", l->outcome,
                                "price_seen", (json_int_t)l->price, "version_seen",
                                (json_int_t)l->version, "price", (json_int_t)now, "version",
                                (json_int_t)cur_v, "phase", phase, "suspended_index",
                                json_integer_value(json_object_get(m, "suspended_index")));
        json_t *live = json_object_get(m, "live");
        if (json_is_object(live))
            json_object_set(leg, "live", live);
        if (l->line)
            json_object_set_new(leg, "line", json_string(l->line));
        json_object_set_new(leg, "result", json_null());
        json_array_append_new(legs_out, leg);
        json_decref(m);
    }
    if (json_array_size(changed)) {
        json_t *first = json_array_get(changed, 0);
        refuse(res, 409, "price_changed", "Price changed",
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
        refuse(res, 422, "below_min_stake", "Stake too small",
               json_pack("{s:I}", "min", (json_int_t)lim.min_stake),
               "stake %llu is under the minimum %llu", (unsigned long long)stake,
               (unsigned long long)lim.min_stake);
        goto out;
    }
    if (stake > lim.max_stake) {
        refuse(res, 409, "above_max_stake", "Stake too large",
               json_pack("{s:I}", "max", (json_int_t)lim.max_stake),
               "stake %llu is over the maximum %llu", (unsigned long long)stake,
               (unsigned long long)lim.max_stake);
        goto out;
    }
    unsigned __int128 pay = (unsigned __int128)stake * odds / 1000;
    if (pay > lim.max_payout) {
        uint64_t max_stake = lim.max_payout * 1000 / (odds ? odds : 1);
        refuse(res, 409, "above_max_payout", "Payout too large",
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
        outcome_key(k, json_array_get(legs_out, i));
        for (int s = 0; s < 2; s++) {
            if (s == 1)
                fixture_key(k, in[i].fixture);
            uint64_t cur = bets_exposure(f, txn, k);
            if (cur + net > cap[s]) {
                refuse(res, 409, "liability_cap", "Liability cap",
                       json_pack("{s:s, s:s, s:I, s:I, s:I}", "scope", scope[s], "fixture",
                                 in[i].fixture, "cap", (json_int_t)cap[s], "current",
                                 (json_int_t)cur, "max_stake",
                                 (json_int_t)(cap[s] > cur && odds > 1000
                                                  ? (cap[s] - cur) * 1000 / (odds - 1000)
                                                  : 0)),
                       "legs[%zu]: the %s liability of '%s' would reach %llu, over its cap %llu",
                       i, scope[s], in[i].fixture, (unsigned long long)(cur + net),
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
    bet = json_pack("{s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:s, s:O, s:s, s:s, s:I, s:s}", "id",
                    id, "seq", (json_int_t)seq, "player_id", player, "status", "pending_hold",
                    "stake", (json_int_t)stake, "odds", (json_int_t)odds, "payout",
                    (json_int_t)payout, "policy", policy, "legs", legs_out, "kind",
                    n == 1 ? "single" : "accumulator", "placed_at", ts, "node",
                    (json_int_t)node, "updated_at", ts);
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
        json_object_set_new(bet, "decide_after_ms",
                            json_integer((json_int_t)(c->time_ms + delay)));
        json_object_set_new(bet, "decide_after", json_string(after));
        if ((rv = queue_set(txn, DB(f)->delayed, bet, true)))
            goto out;
    }
    uint8_t be[8];
    store_be64_put(be, seq);
    char k[KEY_MAX + 8];
    size_t pl = strlen(player);
    memcpy(k, player, pl + 1);
    memcpy(k + pl + 1, be, 8);
    MDB_val kv = {pl + 9, k}, iv = {strlen(id), id};
    if ((rv = bet_put(f, txn, bet, "placed", c->time_ms)) ||
        (rv = mdb_put(txn, DB(f)->player, &kv, &iv, 0)) ||
        (rv = bet_exposure(f, txn, bet, 1)) || (rv = fsm_meta_put(f, txn, BET_SEQ_KEY, seq)))
        goto out;
    MDB_val pk = {8, be};
    if ((rv = mdb_put(txn, DB(f)->pending, &pk, &iv, 0)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        size_t fl = strlen(in[i].fixture);
        memcpy(k, in[i].fixture, fl + 1);
        memcpy(k + fl + 1, be, 8);
        MDB_val fk = {fl + 9, k};
        if ((rv = mdb_put(txn, DB(f)->fixture, &fk, &iv, 0)))
            goto out;
    }
    store_result_json(res, 201, json_incref(bet));
out:
    json_decref(bet);
    json_decref(changed);
    json_decref(legs_out);
    json_decref(body);
    return rv;
}

/* ---- the hold's outcome -------------------------------------------------------------- */

static int bet_settle(struct fsm *f, MDB_txn *txn, json_t *b, uint64_t time_ms);

static int hold_done_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                           struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *b = NULL;
    const char *id = store_str_max(body, "bet_id", BET_ID_MAX - 1);
    json_t *acc = json_object_get(body, "accepted");
    const char *code = store_str_max(body, "code", 64);
    const char *detail = store_str_max(body, "detail", 512);
    if (!id || !json_is_boolean(acc) || (!json_is_true(acc) && !code)) {
        refuse(res, 422, "invalid_hold_result", "Invalid hold result", NULL,
               "need {bet_id, accepted: bool, code (when refused), detail?}");
        goto out;
    }
    if (!(b = bets_get(f, txn, id))) {
        refuse(res, 404, "no_bet", "No such bet", NULL, "no bet '%s'", id);
        goto out;
    }
    const char *to = json_is_true(acc) ? "accepted" : "rejected";
    const char *st = store_str(b, "status") ?: "";
    bool delayed = !strcmp(st, "pending");
    if (delayed && !strcmp(store_str(b, "hold") ?: "", "pending")) {
        /* A bet waiting out its delay: the hold is noted; the leader decides later. */
        char ts[32];
        fsm_format_time(c->time_ms, ts);
        json_object_set_new(b, "updated_at", json_string(ts));
        json_object_set_new(b, "hold_at", json_string(ts));
        if (json_is_true(acc)) {
            json_object_set_new(b, "hold", json_string("held"));
        } else {
            json_object_set_new(b, "status", json_string("rejected"));
            json_object_set_new(b, "hold", json_string("refused"));
            json_object_set_new(b, "reject_code", json_string(code));
            if (detail)
                json_object_set_new(b, "reject_detail", json_string(detail));
            if ((rv = bet_exposure(f, txn, b, -1)) ||
                (rv = queue_set(txn, DB(f)->delayed, b, false)))
                goto out;
        }
        if ((rv = queue_set(txn, DB(f)->pending, b, false)) ||
            (rv = bet_put(f, txn, b, json_is_true(acc) ? "held" : "rejected", c->time_ms)))
            goto out;
        store_result_json(res, 200, json_incref(b));
        goto out;
    }
    if (strcmp(st, "pending_hold") != 0) {
        if (!strcmp(st, to)) {
            store_result_json(res, 200, json_incref(b));
            goto out;
        }
        refuse(res, 409, "bet_resolved", "Bet already resolved",
               json_pack("{s:s}", "bet_status", st), "bet '%s' is %s, not pending_hold", id,
               st);
        goto out;
    }
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_object_set_new(b, "status", json_string(to));
    json_object_set_new(b, "updated_at", json_string(ts));
    json_object_set_new(b, "hold_at", json_string(ts));
    if (!json_is_true(acc)) {
        json_object_set_new(b, "reject_code", json_string(code));
        if (detail)
            json_object_set_new(b, "reject_detail", json_string(detail));
        if ((rv = bet_exposure(f, txn, b, -1)))
            goto out;
    }
    uint8_t be[8];
    store_be64_put(be, (uint64_t)json_integer_value(json_object_get(b, "seq")));
    MDB_val pk = {8, be};
    rv = mdb_del(txn, DB(f)->pending, &pk, NULL);
    if (rv == MDB_NOTFOUND)
        rv = 0;
    if (rv || (rv = bet_put(f, txn, b, to, c->time_ms)))
        goto out;
    /* Its fixtures' results may already be agreed: settle now. */
    if (json_is_true(acc) && (rv = bet_settle(f, txn, b, c->time_ms)))
        goto out;
    store_result_json(res, 200, json_incref(b));
out:
    json_decref(b);
    json_decref(body);
    return rv;
}

/* ---- the acceptance delay ------------------------------------------------------------ */

static int decide_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                        struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *b = NULL;
    const char *id = store_str_max(body, "bet_id", BET_ID_MAX - 1);
    if (!id) {
        refuse(res, 422, "invalid_decision", "Invalid decision", NULL, "need {bet_id}");
        goto out;
    }
    if (!(b = bets_get(f, txn, id))) {
        refuse(res, 404, "no_bet", "No such bet", NULL, "no bet '%s'", id);
        goto out;
    }
    const char *st = store_str(b, "status") ?: "";
    if (strcmp(st, "pending") != 0) {
        refuse(res, 409, "bet_resolved", "Bet already resolved",
               json_pack("{s:s}", "bet_status", st), "bet '%s' is %s, not pending", id, st);
        goto out;
    }
    if (strcmp(store_str(b, "hold") ?: "", "held") != 0) {
        refuse(res, 409, "hold_not_held", "Hold not placed yet", NULL,
               "bet '%s': its stake is not held yet", id);
        goto out;
    }
    uint64_t after = (uint64_t)json_integer_value(json_object_get(b, "decide_after_ms"));
    if (c->time_ms < after) {
        refuse(res, 409, "delay_running", "Delay running",
               json_pack("{s:I}", "decide_after_ms", (json_int_t)after),
               "bet '%s' waits until %llu ms, it is %llu", id, (unsigned long long)after,
               (unsigned long long)c->time_ms);
        goto out;
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
        json_t *m = quotes_market_get(f, txn, fx);
        json_int_t susp = m ? json_integer_value(json_object_get(m, "suspended_index")) : 0;
        const char *mst = m ? store_str(m, "status") ?: "" : "";
        if (!m || susp != json_integer_value(json_object_get(leg, "suspended_index")) ||
            !strcmp(mst, "suspended")) {
            code = "market_suspended";
            snprintf(why, sizeof why, "legs[%zu]: the markets of '%s' were suspended during "
                     "the acceptance delay", i, fx);
        } else if (strcmp(mst, "open") != 0) {
            code = "betting_closed";
            snprintf(why, sizeof why, "legs[%zu]: the markets of '%s' are %s", i, fx, mst);
        } else {
            int64_t now = price_of(json_object_get(m, "prices"), store_str(leg, "market"),
                                   store_str(leg, "line"), store_str(leg, "outcome"));
            int64_t got = json_integer_value(json_object_get(leg, "price"));
            int64_t seen = json_integer_value(json_object_get(leg, "price_seen"));
            if (now == 0 || !policy_ok(policy, seen, now, tol)) {
                code = "price_changed";
                snprintf(why, sizeof why, "legs[%zu]: the price is now %lld, the bet got %lld "
                         "(policy %s)", i, (long long)now, (long long)got, policy);
                json_object_set_new(leg, "price_at_decision", json_integer((json_int_t)now));
            }
        }
        json_decref(m);
        if (code)
            break;
    }
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_object_set_new(b, "updated_at", json_string(ts));
    json_object_set_new(b, "decided_at", json_string(ts));
    if ((rv = queue_set(txn, DB(f)->delayed, b, false)))
        goto out;
    if (code) {
        json_object_set_new(b, "status", json_string("rejected"));
        json_object_set_new(b, "reject_code", json_string(code));
        json_object_set_new(b, "reject_detail", json_string(why));
        json_object_set_new(b, "hold", json_string("voiding"));
        if ((rv = bet_exposure(f, txn, b, -1)) || (rv = queue_set(txn, DB(f)->voids, b, true)) ||
            (rv = bet_put(f, txn, b, "rejected", c->time_ms)))
            goto out;
    } else {
        json_object_set_new(b, "status", json_string("accepted"));
        if ((rv = bet_put(f, txn, b, "accepted", c->time_ms)) ||
            (rv = bet_settle(f, txn, b, c->time_ms)))
            goto out;
    }
    store_result_json(res, 200, json_incref(b));
out:
    json_decref(b);
    json_decref(body);
    return rv;
}

static int voided_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                        struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *b = NULL;
    const char *id = store_str_max(body, "bet_id", BET_ID_MAX - 1);
    if (!id) {
        refuse(res, 422, "invalid_voided", "Invalid void record", NULL, "need {bet_id}");
        goto out;
    }
    if (!(b = bets_get(f, txn, id))) {
        refuse(res, 404, "no_bet", "No such bet", NULL, "no bet '%s'", id);
        goto out;
    }
    const char *h = store_str(b, "hold") ?: "";
    if (!strcmp(h, "voided")) {
        store_result_json(res, 200, json_incref(b));
        goto out;
    }
    if (strcmp(h, "voiding") != 0) {
        refuse(res, 409, "hold_not_voiding", "Hold not to be voided", NULL,
               "bet '%s': its hold is %s, not voiding", id, h[0] ? h : "not tracked");
        goto out;
    }
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_object_set_new(b, "hold", json_string("voided"));
    json_object_set_new(b, "hold_voided_at", json_string(ts));
    json_object_set_new(b, "updated_at", json_string(ts));
    if ((rv = queue_set(txn, DB(f)->voids, b, false)) ||
        (rv = bet_put(f, txn, b, "hold_voided", c->time_ms)))
        goto out;
    store_result_json(res, 200, json_incref(b));
out:
    json_decref(b);
    json_decref(body);
    return rv;
}

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

const char *bets_leg_result(const char *market, const char *line, const char *outcome, int h,
                            int a)
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

/* Settle @b (accepted, every leg with a result); writes it. */
static int bet_settle(struct fsm *f, MDB_txn *txn, json_t *b, uint64_t time_ms)
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
            return 0; /* not every leg is settled yet */
        single = r;
        lost = lost || !strcmp(r, "lost");
        all_void = all_void && (!strcmp(r, "void") || !strcmp(r, "push"));
        unsigned __int128 o =
            (unsigned __int128)odds * leg_factor(r, (uint64_t)json_integer_value(
                                                        json_object_get(leg, "price"))) /
            1000;
        odds = (uint64_t)o;
    }
    uint64_t stake = (uint64_t)json_integer_value(json_object_get(b, "stake"));
    const char *result = json_array_size(json_object_get(b, "legs")) == 1 ? single
                         : lost                                            ? "lost"
                         : all_void                                        ? "void"
                                                                           : "won";
    char ts[32];
    fsm_format_time(time_ms, ts);
    int rv = bet_exposure(f, txn, b, -1);
    json_object_set_new(b, "status", json_string("settled"));
    json_object_set_new(b, "result", json_string(result));
    json_object_set_new(b, "odds_settled", json_integer((json_int_t)odds));
    json_object_set_new(b, "return",
                        json_integer((json_int_t)((unsigned __int128)stake * odds / 1000)));
    json_object_set_new(b, "settled_at", json_string(ts));
    json_object_set_new(b, "updated_at", json_string(ts));
    const char *id = store_str(b, "id");
    uint8_t be[8];
    store_be64_put(be, (uint64_t)json_integer_value(json_object_get(b, "seq")));
    MDB_val uk = {8, be}, uv = {strlen(id), (void *)id};
    if (rv == 0)
        rv = mdb_put(txn, DB(f)->unpaid, &uk, &uv, 0);
    return rv ? rv : bet_put(f, txn, b, "settled", time_ms);
}

const char *bets_settle_how(json_t *b, uint64_t *payout)
{
    const char *r = store_str(b, "result") ?: "";
    *payout = (uint64_t)json_integer_value(json_object_get(b, "return"));
    if (!strcmp(r, "void") || !strcmp(r, "push"))
        return "void";
    return "post";
}

/* An operator voids an accepted bet with a kept reason: settled "void" at once (every leg
 * void, the stake back), its exposure released; the leader then voids its hold (bet_unpaid). */
static int void_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *b = NULL;
    const char *id = store_str_max(body, "bet_id", BET_ID_MAX - 1);
    const char *reason = store_str_max(body, "reason", 500);
    if (!id || !reason || !reason[0]) {
        refuse(res, 422, "invalid_void", "Invalid void", NULL,
               "need {bet_id, reason: a non-empty text of at most 500 bytes}");
        goto out;
    }
    if (!(b = bets_get(f, txn, id))) {
        refuse(res, 404, "no_bet", "No such bet", NULL, "no bet '%s'", id);
        goto out;
    }
    const char *st = store_str(b, "status") ?: "";
    if (!strcmp(st, "settled") && !strcmp(store_str(b, "result") ?: "", "void") &&
        !strcmp(store_str(b, "void_reason") ?: "", reason)) {
        store_result_json(res, 200, json_incref(b)); /* the same void again */
        goto out;
    }
    if (strcmp(st, "accepted") != 0) {
        refuse(res, 409, "bet_not_voidable", "Bet cannot be voided",
               json_pack("{s:s}", "bet_status", st),
               "bet '%s' is %s: only an accepted bet not yet settled can be voided (a pending "
               "one is decided first; re-settling a settled one is not built)",
               id, st);
        goto out;
    }
    size_t i;
    json_t *leg;
    json_array_foreach(json_object_get(b, "legs"), i, leg)
        json_object_set_new(leg, "result", json_string("void"));
    json_object_set_new(b, "void_reason", json_string(reason));
    json_object_set_new(b, "voided_by", json_string("operator"));
    if ((rv = bet_settle(f, txn, b, c->time_ms)))
        goto out;
    store_result_json(res, 200, json_incref(b));
out:
    json_decref(b);
    json_decref(body);
    return rv;
}

static int paid_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *b = NULL;
    const char *id = store_str_max(body, "bet_id", BET_ID_MAX - 1);
    const char *how = store_str(body, "how");
    if (!id || !how || (strcmp(how, "post") && strcmp(how, "void"))) {
        refuse(res, 422, "invalid_paid", "Invalid payment record", NULL,
               "need {bet_id, how: post or void}");
        goto out;
    }
    if (!(b = bets_get(f, txn, id))) {
        refuse(res, 404, "no_bet", "No such bet", NULL, "no bet '%s'", id);
        goto out;
    }
    uint64_t payout;
    const char *want = bets_settle_how(b, &payout);
    if (strcmp(store_str(b, "status") ?: "", "settled") != 0) {
        refuse(res, 409, "bet_not_settled", "Bet not settled", NULL, "bet '%s' is %s", id,
               store_str(b, "status") ?: "?");
        goto out;
    }
    if (strcmp(how, want) != 0) {
        refuse(res, 409, "wrong_resolution", "Wrong resolution", NULL,
               "bet '%s' settles by %s, not %s", id, want, how);
        goto out;
    }
    if (store_str(b, "paid")) {
        store_result_json(res, 200, json_incref(b));
        goto out;
    }
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_object_set_new(b, "paid", json_string(how));
    json_object_set_new(b, "paid_at", json_string(ts));
    json_object_set_new(b, "updated_at", json_string(ts));
    uint8_t be[8];
    store_be64_put(be, (uint64_t)json_integer_value(json_object_get(b, "seq")));
    MDB_val uk = {8, be};
    rv = mdb_del(txn, DB(f)->unpaid, &uk, NULL);
    if (rv == MDB_NOTFOUND)
        rv = 0;
    if (rv || (rv = bet_put(f, txn, b, "paid", c->time_ms)))
        goto out;
    store_result_json(res, 200, json_incref(b));
out:
    json_decref(b);
    json_decref(body);
    return rv;
}

int bets_on_result(struct fsm *f, MDB_txn *txn, const char *fixture, bool cancelled, int h,
                   int a, uint64_t time_ms)
{
    size_t fl = strlen(fixture);
    if (fl > FIXTURE_MAX)
        return 0;
    MDB_cursor *cur;
    int rv = mdb_cursor_open(txn, DB(f)->fixture, &cur);
    if (rv)
        return rv;
    char k[FIXTURE_MAX + 9];
    memcpy(k, fixture, fl + 1);
    memset(k + fl + 1, 0, 8);
    MDB_val kv = {fl + 9, k}, v;
    /* Collect the ids first: settling writes "bets", not this database, but keep it simple. */
    json_t *ids = json_array();
    for (int r = mdb_cursor_get(cur, &kv, &v, MDB_SET_RANGE);
         r == 0 && kv.mv_size == fl + 9 && !memcmp(kv.mv_data, fixture, fl + 1);
         r = mdb_cursor_get(cur, &kv, &v, MDB_NEXT))
        json_array_append_new(ids, json_stringn(v.mv_data, v.mv_size));
    mdb_cursor_close(cur);
    size_t i;
    json_t *jid;
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
            if (strcmp(store_str(leg, "fixture") ?: "", fixture) != 0 ||
                store_str(leg, "result"))
                continue;
            const char *res = cancelled ? "void"
                                        : bets_leg_result(store_str(leg, "market"),
                                                          store_str(leg, "line"),
                                                          store_str(leg, "outcome"), h, a);
            if (res)
                json_object_set_new(leg, "result", json_string(res));
        }
        rv = !strcmp(st, "accepted") ? bet_settle(f, txn, b, time_ms) : 0;
        if (rv == 0 && strcmp(store_str(b, "status") ?: "", "settled") != 0)
            rv = store_put_json(txn, DB(f)->bets, id, strlen(id), b, NULL);
        json_decref(b);
        if (rv)
            break;
    }
    json_decref(ids);
    return rv;
}

/* ---- queries ------------------------------------------------------------------------- */

json_t *bets_get(struct fsm *f, MDB_txn *txn, const char *id)
{
    return store_get_json(txn, DB(f)->bets, id, strlen(id));
}

static bool open_status(const char *st)
{
    return !strcmp(st, "pending_hold") || !strcmp(st, "pending") || !strcmp(st, "accepted");
}

json_t *bets_list_player(struct fsm *f, MDB_txn *txn, const char *player, const char *status,
                         uint64_t before, unsigned limit)
{
    json_t *items = json_array();
    json_t *next = json_null();
    size_t pl = strlen(player);
    if (pl > PLAYER_MAX)
        return json_pack("{s:o, s:o}", "items", items, "next", next);
    char k[PLAYER_MAX + 9];
    memcpy(k, player, pl + 1);
    store_be64_put((uint8_t *)k + pl + 1, before ? before : UINT64_MAX);
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, DB(f)->player, &cur))
        return json_pack("{s:o, s:o}", "items", items, "next", next);
    MDB_val kv = {pl + 9, k}, v;
    /* The first key at or after the cursor, then backwards (newest first). */
    int r = mdb_cursor_get(cur, &kv, &v, MDB_SET_RANGE);
    r = r == 0 ? mdb_cursor_get(cur, &kv, &v, MDB_PREV) : mdb_cursor_get(cur, &kv, &v, MDB_LAST);
    uint64_t last = 0;
    for (; r == 0; r = mdb_cursor_get(cur, &kv, &v, MDB_PREV)) {
        if (kv.mv_size != pl + 9 || memcmp(kv.mv_data, player, pl + 1) != 0)
            break;
        uint64_t seq = store_be64_get((const uint8_t *)kv.mv_data + pl + 1);
        if (before && seq >= before)
            continue;
        if (json_array_size(items) == limit) {
            next = json_integer((json_int_t)last);
            break;
        }
        char id[BET_ID_MAX];
        snprintf(id, sizeof id, "%.*s", (int)v.mv_size, (const char *)v.mv_data);
        json_t *b = bets_get(f, txn, id);
        if (!b)
            continue;
        const char *st = store_str(b, "status") ?: "";
        bool open = open_status(st);
        if (status && ((!strcmp(status, "open") && !open) ||
                       (!strcmp(status, "settled") && open))) {
            json_decref(b);
            continue;
        }
        json_array_append_new(items, b);
        last = seq;
    }
    mdb_cursor_close(cur);
    return json_pack("{s:o, s:o}", "items", items, "next", next);
}

static json_t *ids_of(MDB_txn *txn, MDB_dbi dbi, unsigned limit);

json_t *bets_liability(struct fsm *f, MDB_txn *txn, const char *fixture)
{
    struct bet_limits l;
    bets_limits_get(f, txn, &l);
    char fk[KEY_MAX];
    fixture_key(fk, fixture);
    json_t *outs = json_array();
    char pre[KEY_MAX];
    int pl = snprintf(pre, sizeof pre, "o|%s|", fixture);
    MDB_cursor *cur;
    if (pl > 0 && pl < (int)sizeof pre && mdb_cursor_open(txn, DB(f)->exposure, &cur) == 0) {
        MDB_val k = {(size_t)pl, pre}, v;
        for (int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
             r == 0 && k.mv_size >= (size_t)pl && !memcmp(k.mv_data, pre, (size_t)pl);
             r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            /* "o|fixture|market|line|outcome" */
            char key[KEY_MAX];
            snprintf(key, sizeof key, "%.*s", (int)(k.mv_size - (size_t)pl),
                     (const char *)k.mv_data + pl);
            char *line = strchr(key, '|'), *outcome = line ? strchr(line + 1, '|') : NULL;
            if (!outcome)
                continue;
            *line++ = 0;
            *outcome++ = 0;
            json_t *e = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "market", key, "outcome", outcome,
                                  "exposure", json_integer_value(json_object_get(e, "amount")),
                                  "cap", (json_int_t)l.outcome_cap);
            if (*line)
                json_object_set_new(o, "line", json_string(line));
            json_array_append_new(outs, o);
            json_decref(e);
        }
        mdb_cursor_close(cur);
    }
    return json_pack("{s:s, s:I, s:I, s:o}", "fixture", fixture, "exposure",
                     (json_int_t)bets_exposure(f, txn, fk), "cap", (json_int_t)l.fixture_cap,
                     "outcomes", outs);
}

json_t *bets_list_fixture(struct fsm *f, MDB_txn *txn, const char *fixture, unsigned limit)
{
    json_t *items = json_array();
    size_t fl = strlen(fixture);
    MDB_cursor *cur;
    if (fl > FIXTURE_MAX || mdb_cursor_open(txn, DB(f)->fixture, &cur))
        return items;
    char k[FIXTURE_MAX + 9];
    memcpy(k, fixture, fl + 1);
    memset(k + fl + 1, 0, 8);
    MDB_val kv = {fl + 9, k}, v;
    for (int r = mdb_cursor_get(cur, &kv, &v, MDB_SET_RANGE);
         r == 0 && kv.mv_size == fl + 9 && !memcmp(kv.mv_data, fixture, fl + 1) &&
         json_array_size(items) < limit;
         r = mdb_cursor_get(cur, &kv, &v, MDB_NEXT)) {
        char id[BET_ID_MAX];
        snprintf(id, sizeof id, "%.*s", (int)v.mv_size, (const char *)v.mv_data);
        json_t *b = bets_get(f, txn, id);
        if (b)
            json_array_append_new(items, b);
    }
    mdb_cursor_close(cur);
    return items;
}

json_t *bets_scan(struct fsm *f, MDB_txn *txn, const char *after, unsigned limit)
{
    json_t *out = json_array();
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, DB(f)->bets, &cur))
        return out;
    MDB_val k = {after ? strlen(after) : 0, (void *)(after ? after : "")}, v;
    int r = after && *after ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                            : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (r == 0 && after && *after && k.mv_size == strlen(after) &&
        !memcmp(k.mv_data, after, k.mv_size))
        r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    for (; r == 0 && json_array_size(out) < limit; r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        json_t *b = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        if (b)
            json_array_append_new(out, b);
    }
    mdb_cursor_close(cur);
    return out;
}

json_t *bets_unpaid(struct fsm *f, MDB_txn *txn, unsigned limit)
{
    return ids_of(txn, DB(f)->unpaid, limit);
}

json_t *bets_pending_holds(struct fsm *f, MDB_txn *txn, unsigned limit)
{
    return ids_of(txn, DB(f)->pending, limit);
}

json_t *bets_delayed(struct fsm *f, MDB_txn *txn, unsigned limit)
{
    return ids_of(txn, DB(f)->delayed, limit);
}

json_t *bets_voids(struct fsm *f, MDB_txn *txn, unsigned limit)
{
    return ids_of(txn, DB(f)->voids, limit);
}

static json_t *ids_of(MDB_txn *txn, MDB_dbi dbi, unsigned limit)
{
    json_t *out = json_array();
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, dbi, &cur))
        return out;
    MDB_val k, v;
    int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (r == 0 && json_array_size(out) < limit) {
        json_array_append_new(out, json_stringn(v.mv_data, v.mv_size));
        r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return out;
}

/* ---- audit --------------------------------------------------------------------------- */

static void diff(json_t *out, const char *bet, const char *problem, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void diff(json_t *out, const char *bet, const char *problem, const char *fmt, ...)
{
    char detail[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "bet_id", bet, "problem", problem,
                                         "detail", detail));
}

static json_int_t transfer_amount(json_t *hold, const char *suffix, bool *found)
{
    char want[160];
    snprintf(want, sizeof want, "hold:%s%s", store_str(hold, "id") ?: "", suffix);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(hold, "transfers"), i, t)
    {
        if (!strcmp(store_str(t, "id") ?: "", want)) {
            *found = true;
            return json_integer_value(json_object_get(t, "amount"));
        }
    }
    *found = false;
    return 0;
}

json_t *bets_audit_compare(json_t *bets, json_t *holds)
{
    json_t *out = json_array();
    json_t *seen = json_object();
    unsigned in_progress = 0;
    size_t i;
    json_t *b;
    json_array_foreach(bets, i, b)
    {
        const char *id = store_str(b, "id") ?: "";
        const char *st = store_str(b, "status") ?: "";
        const char *hf = store_str(b, "hold") ?: "";
        const char *paid = store_str(b, "paid");
        json_t *h = json_object_get(holds, id);
        if (h)
            json_object_set_new(seen, id, json_true());
        const char *hs = h ? store_str(h, "status") ?: "" : "absent";
        json_int_t stake = json_integer_value(json_object_get(b, "stake"));
        if (h && strcmp(store_str(h, "player") ?: "", store_str(b, "player_id") ?: "") != 0)
            diff(out, id, "player", "the hold is %s's, the bet %s's", store_str(h, "player"),
                 store_str(b, "player_id"));
        if (h && json_integer_value(json_object_get(h, "amount")) != stake)
            diff(out, id, "amount", "the hold is %lld cents, the stake %lld",
                 (long long)json_integer_value(json_object_get(h, "amount")), (long long)stake);
        bool held_open = !strcmp(st, "accepted") || (!strcmp(st, "pending") && !strcmp(hf, "held"));
        if (!strcmp(st, "pending_hold") || (!strcmp(st, "pending") && !strcmp(hf, "pending"))) {
            in_progress++;
            if (h && strcmp(hs, "pending") != 0)
                diff(out, id, "hold_status", "bet %s, hold %s", st, hs);
        } else if (held_open) {
            if (strcmp(hs, "pending") != 0)
                diff(out, id, "hold_status", "bet %s with its stake held, hold %s", st, hs);
        } else if (!strcmp(st, "rejected")) {
            if (!strcmp(hf, "voiding")) {
                in_progress++;
                if (strcmp(hs, "pending") != 0 && strcmp(hs, "voided") != 0)
                    diff(out, id, "hold_status", "rejected bet voiding its hold, hold %s", hs);
            } else if (!strcmp(hf, "voided")) {
                if (strcmp(hs, "voided") != 0)
                    diff(out, id, "hold_status", "rejected bet whose hold was voided, hold %s",
                         hs);
            } else if (h && strcmp(hs, "voided") != 0 && strcmp(hs, "expired") != 0) {
                diff(out, id, "hold_outlives_bet", "rejected bet (%s), hold %s",
                     store_str(b, "reject_code") ?: "?", hs);
            }
        } else if (!strcmp(st, "settled")) {
            uint64_t ret;
            const char *how = bets_settle_how(b, &ret);
            if (!paid) {
                in_progress++;
                if (strcmp(hs, "pending") != 0 && strcmp(hs, !strcmp(how, "post") ? "posted"
                                                                                 : "voided"))
                    diff(out, id, "hold_status", "settled bet not paid yet, hold %s", hs);
            } else if (!strcmp(paid, "void")) {
                bool f;
                transfer_amount(h, ":void", &f);
                if (strcmp(hs, "voided") != 0 || !f)
                    diff(out, id, "hold_status", "bet paid by void, hold %s%s", hs,
                         f ? "" : ", no void transfer");
            } else {
                bool fs, fp;
                json_int_t ts = transfer_amount(h, ":stake", &fs);
                json_int_t tp = transfer_amount(h, ":payout", &fp);
                if (strcmp(hs, "posted") != 0)
                    diff(out, id, "hold_status", "bet paid by post, hold %s", hs);
                else if (!fs || ts != stake)
                    diff(out, id, "stake_transfer", "stake %lld, stake transfer %s%lld",
                         (long long)stake, fs ? "" : "missing ", (long long)ts);
                else if ((ret > 0) != fp || (fp && (uint64_t)tp != ret))
                    diff(out, id, "payout_transfer", "return %llu, payout transfer %s%lld",
                         (unsigned long long)ret, fp ? "" : "missing ", (long long)tp);
            }
        } else {
            diff(out, id, "bet_status", "unknown bet status '%s'", st);
        }
    }
    const char *hid;
    json_t *h;
    json_object_foreach(holds, hid, h)
    {
        if (!json_object_get(seen, hid))
            diff(out, hid, "hold_without_bet", "hold %s of %lld cents (%s) has no bet",
                 hid, (long long)json_integer_value(json_object_get(h, "amount")),
                 store_str(h, "status") ?: "?");
    }
    json_decref(seen);
    return json_pack("{s:b, s:I, s:I, s:I, s:I, s:o}", "ok", json_array_size(out) == 0, "bets",
                     (json_int_t)json_array_size(bets), "holds", (json_int_t)json_object_size(holds),
                     "in_progress", (json_int_t)in_progress, "difference_count",
                     (json_int_t)json_array_size(out), "differences", out);
}

/* ---- payloads ------------------------------------------------------------------------ */

char *bets_cmd_place(struct cmd *c, const char *player_id, uint64_t stake, const char *policy,
                     uint64_t tolerance, json_t *legs, uint64_t node)
{
    return bets_cmd_place_delayed(c, player_id, stake, policy, tolerance, legs, node, 0, 0);
}

char *bets_cmd_place_delayed(struct cmd *c, const char *player_id, uint64_t stake,
                             const char *policy, uint64_t tolerance, json_t *legs, uint64_t node,
                             uint64_t delay_pre_ms, uint64_t delay_live_ms)
{
    json_t *o = json_pack("{s:s, s:I, s:s, s:O, s:I}", "player_id", player_id, "stake",
                          (json_int_t)stake, "policy", policy, "legs", legs, "node",
                          (json_int_t)node);
    if (delay_pre_ms)
        json_object_set_new(o, "delay_pre_ms", json_integer((json_int_t)delay_pre_ms));
    if (delay_live_ms)
        json_object_set_new(o, "delay_live_ms", json_integer((json_int_t)delay_live_ms));
    if (tolerance)
        json_object_set_new(o, "tolerance", json_integer((json_int_t)tolerance));
    char *t = cmd_fill(c, CMD_BET_PLACE, o);
    json_decref(o);
    return t;
}

char *bets_cmd_paid(struct cmd *c, const char *bet_id, const char *how)
{
    json_t *o = json_pack("{s:s, s:s}", "bet_id", bet_id, "how", how);
    char *t = cmd_fill(c, CMD_BET_PAID, o);
    json_decref(o);
    return t;
}

char *bets_cmd_limits(struct cmd *c, json_t *limits)
{
    return cmd_fill(c, CMD_BET_LIMITS, limits);
}

char *bets_cmd_hold_done(struct cmd *c, const char *bet_id, bool accepted, const char *code,
                         const char *detail)
{
    json_t *o = json_pack("{s:s, s:b}", "bet_id", bet_id, "accepted", accepted);
    if (code)
        json_object_set_new(o, "code", json_string(code));
    if (detail)
        json_object_set_new(o, "detail", json_string(detail));
    char *t = cmd_fill(c, CMD_BET_HOLD_DONE, o);
    json_decref(o);
    return t;
}

static char *cmd_bet_id(struct cmd *c, uint16_t type, const char *bet_id)
{
    json_t *o = json_pack("{s:s}", "bet_id", bet_id);
    char *t = cmd_fill(c, type, o);
    json_decref(o);
    return t;
}

char *bets_cmd_switch(struct cmd *c, const char *scope, const char *fixture, bool open)
{
    json_t *o = json_pack("{s:s, s:b}", "scope", scope, "open", open);
    if (fixture)
        json_object_set_new(o, "fixture", json_string(fixture));
    char *t = cmd_fill(c, CMD_BET_SWITCH, o);
    json_decref(o);
    return t;
}

char *bets_cmd_void(struct cmd *c, const char *bet_id, const char *reason)
{
    json_t *o = json_pack("{s:s, s:s}", "bet_id", bet_id, "reason", reason);
    char *t = cmd_fill(c, CMD_BET_VOID, o);
    json_decref(o);
    return t;
}

char *bets_cmd_decide(struct cmd *c, const char *bet_id)
{
    return cmd_bet_id(c, CMD_BET_DECIDE, bet_id);
}

char *bets_cmd_hold_voided(struct cmd *c, const char *bet_id)
{
    return cmd_bet_id(c, CMD_BET_HOLD_VOIDED, bet_id);
}

/* ---- table --------------------------------------------------------------------------- */

static const struct fsm_command COMMANDS[] = {
    {CMD_BET_PLACE, "bet_place", true, place_apply, NULL},
    {CMD_BET_LIMITS, "bet_limits", true, limits_apply, NULL},
    {CMD_BET_HOLD_DONE, "bet_hold_done", true, hold_done_apply, NULL},
    {CMD_BET_PAID, "bet_paid", true, paid_apply, NULL},
    {CMD_BET_DECIDE, "bet_decide", true, decide_apply, NULL},
    {CMD_BET_HOLD_VOIDED, "bet_hold_voided", true, voided_apply, NULL},
    {CMD_BET_SWITCH, "bet_switch", true, switch_apply, NULL},
    {CMD_BET_VOID, "bet_void", true, void_apply, NULL},
    {0, NULL, false, NULL, NULL},
};

static const char *const DBS[] = {"bets",        "bet_exposure", "bet_player",
                                  "bet_fixture", "bet_pending",  "bet_config",
                                  "bet_unpaid",  "bet_delayed",  "bet_void",
                                  "bet_events",  NULL};
_Static_assert(sizeof(struct bets_dbs) == (sizeof DBS / sizeof *DBS - 1) * sizeof(MDB_dbi),
               "one handle per database name");

const struct fsm_domain bets_domain = {"bets", COMMANDS, DBS};
