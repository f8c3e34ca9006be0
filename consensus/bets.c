/* Bets: the domain's databases and table, limits, switches, exposure, the event log and the
 * command payloads. Placement is in bets_place.c, settlement in bets_settle.c, queries and
 * the audit in bets_query.c. See bets.h. */
#include "consensus/bets.h"
#include "consensus/bets_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/cmdtable.h"
#include "consensus/quotes.h"
#include "consensus/store.h"

static const char BET_EVENT_KEY[] = "bet_event_seq";
static const char LIMITS_KEY[] = "limits";
static const char SWITCHES_KEY[] = "switches";

const struct fsm_domain bets_domain;

const struct bets_dbs *bets_db(struct fsm *f)
{
    return (const struct bets_dbs *)fsm_domain_dbis(f, &bets_domain);
}

static const struct bet_limits DEFAULTS = {
    .min_stake = 10,         /* 0.10 */
    .max_stake = 100000,     /* 1 000.00 */
    .max_payout = 10000000,  /* 100 000.00 */
    .outcome_cap = 5000000,  /* 50 000.00 net per outcome */
    .fixture_cap = 20000000, /* 200 000.00 net per fixture */
    .live = false,           /* live bets need the acceptance delay (not built yet) */
};

static json_t *problem_v(int status, const char *code, const char *title, json_t *extra,
                         const char *fmt, va_list ap)
{
    char detail[512];
    vsnprintf(detail, sizeof detail, fmt, ap);
    json_t *p = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank", "title", title,
                          "status", status, "detail", detail, "code", code);
    if (extra)
        json_object_update(p, extra);
    json_decref(extra);
    return p;
}

json_t *bets_problem(int *status_out, int status, const char *code, const char *title,
                     json_t *extra, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *p = problem_v(status, code, title, extra, fmt, ap);
    va_end(ap);
    *status_out = status;
    return p;
}

int bets_refuse(struct fsm_result *res, int status, const char *code, const char *title,
                json_t *extra, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *p = problem_v(status, code, title, extra, fmt, ap);
    va_end(ap);
    store_result_json(res, status, p);
    return 0;
}

void bets_stamp(json_t *b, uint64_t time_ms, const char *field)
{
    char ts[32];
    fsm_format_time(time_ms, ts);
    json_object_set_new(b, "updated_at", json_string(ts));
    if (field)
        json_object_set_new(b, field, json_string(ts));
}

void bets_reject(json_t *b, const char *code, const char *detail)
{
    json_object_set_new(b, "status", json_string("rejected"));
    json_object_set_new(b, "reject_code", json_string(code));
    if (detail)
        json_object_set_new(b, "reject_detail", json_string(detail));
}

/* ---- "bet_config" records ------------------------------------------------------------ */

static void config_key(char key[KEY_MAX], const char *prefix, const char *name)
{
    snprintf(key, KEY_MAX, "%s%s", prefix, name);
}

json_t *bets_config_get(struct fsm *f, MDB_txn *txn, const char *prefix, const char *name)
{
    char key[KEY_MAX];
    config_key(key, prefix, name);
    return store_get_json(txn, bets_db(f)->config, key, strlen(key));
}

int bets_config_put(struct fsm *f, MDB_txn *txn, const char *prefix, const char *name, json_t *o)
{
    char key[KEY_MAX];
    config_key(key, prefix, name);
    return store_put_json(txn, bets_db(f)->config, key, strlen(key), o, NULL);
}

int bets_config_del(struct fsm *f, MDB_txn *txn, const char *prefix, const char *name)
{
    char key[KEY_MAX];
    config_key(key, prefix, name);
    MDB_val k = {strlen(key), key};
    int rv = mdb_del(txn, bets_db(f)->config, &k, NULL);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

int bets_config_answer(struct fsm *f, MDB_txn *txn, const char *key, json_t *o,
                       struct fsm_result *res)
{
    int rv = bets_config_put(f, txn, key, "", o);
    if (rv == 0)
        store_result_json(res, 200, o);
    else
        json_decref(o);
    return rv;
}

/* Each kind of chunked job: its records in "bet_config" and its command; a correction or an
 * abandonment keeps its record when done ("running": false, its payload says "more"). */
static const struct {
    const char *prefix;
    uint16_t type;
    bool running_only;
} chunked[BETS_CHUNKED_KINDS] = {
    [BETS_SETTLING] = {SETTLE_PREFIX, CMD_BET_SETTLE_MORE, false},
    [BETS_RESETTLING] = {RESETTLE_PREFIX, CMD_BET_RESETTLE, true},
    [BETS_ABANDONING] = {ABANDON_PREFIX, CMD_BET_ABANDONED, true},
};

json_t *bets_chunked(struct fsm *f, MDB_txn *txn, enum bets_chunked kind, unsigned limit)
{
    const char *prefix = chunked[kind].prefix;
    bool running_only = chunked[kind].running_only;
    json_t *out = json_array();
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, bets_db(f)->config, &cur))
        return out;
    size_t pl = strlen(prefix);
    MDB_val k = {pl, (void *)prefix}, v;
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         r == 0 && k.mv_size > pl && !memcmp(k.mv_data, prefix, pl) &&
         json_array_size(out) < limit;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        json_t *o = running_only ? json_loadb(v.mv_data, v.mv_size, 0, NULL) : NULL;
        if (!running_only || json_is_true(json_object_get(o, "running")))
            json_array_append_new(out, json_stringn((const char *)k.mv_data + pl, k.mv_size - pl));
        json_decref(o);
    }
    mdb_cursor_close(cur);
    return out;
}

int bets_run(struct fsm *f,
             MDB_txn *txn,
             const struct cmd *c,
             struct fsm_result *res,
             const struct bet_step *op)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = bets_run_body(f, txn, c, body, res, op, true);
    json_decref(body);
    return rv;
}

int bets_run_body(struct fsm *f, MDB_txn *txn, const struct cmd *c, json_t *body,
                  struct fsm_result *res, const struct bet_step *op, bool answer_bet)
{
    int rv = 0;
    json_t *b = NULL;
    const char *id = store_str_max(body, "bet_id", BET_ID_MAX - 1);
    if (!id || (op->valid && !op->valid(body)))
        bets_refuse(res, 422, op->code, op->title, NULL, "%s", op->need);
    else if (!(b = bets_get(f, txn, id)))
        bets_refuse(res, 404, "no_bet", "No such bet", NULL, "no bet '%s'", id);
    else if ((rv = op->step(f, txn, c, body, id, b, res)) == 0 && res->status == 0) {
        if (answer_bet)
            store_result_json(res, 200, json_incref(b));
        else
            fsm_result_set(res, 200, NULL);
    }
    json_decref(b);
    return rv;
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
                     "max_stake", (json_int_t)l->max_stake, "max_payout", (json_int_t)l->max_payout,
                     "outcome_cap", (json_int_t)l->outcome_cap, "fixture_cap",
                     (json_int_t)l->fixture_cap, "live", l->live);
}

void bets_limits_get(struct fsm *f, MDB_txn *txn, struct bet_limits *out)
{
    *out = DEFAULTS;
    json_t *o = store_get_json(txn, bets_db(f)->config, LIMITS_KEY, strlen(LIMITS_KEY));
    if (o)
        limits_from(o, out);
    json_decref(o);
}

int bets_limits_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    static const char *const keys[] = {"min_stake",   "max_stake",   "max_payout",
                                       "outcome_cap", "fixture_cap", "live"};
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
            bets_refuse(res, 422, "invalid_limits", "Invalid limits", NULL, "%s: %s", k,
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
        bets_refuse(res, 422, "invalid_limits", "Invalid limits", NULL,
                    "min_stake must be at least 1 and at most max_stake (%llu > %llu)",
                    (unsigned long long)l.min_stake, (unsigned long long)l.max_stake);
        goto out;
    }
    rv = bets_config_answer(f, txn, LIMITS_KEY, limits_json(&l), res);
out:
    json_decref(body);
    return rv;
}

/* ---- betting switches ---------------------------------------------------------------- */

json_t *bets_switches(struct fsm *f, MDB_txn *txn)
{
    json_t *o = store_get_json(txn, bets_db(f)->config, SWITCHES_KEY, strlen(SWITCHES_KEY));
    if (!o)
        o = json_pack("{s:b, s:{}}", "all", true, "fixtures_closed");
    struct bet_limits l;
    bets_limits_get(f, txn, &l);
    json_object_set_new(o, "live", json_boolean(l.live));
    return o;
}

int bets_switch_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
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
        bets_refuse(
            res, 422, "invalid_switch", "Invalid switch", NULL,
            "need {scope: all|live|fixture, fixture (with scope fixture only), open: bool}");
        goto out;
    }
    if (!strcmp(scope, "live")) {
        struct bet_limits l;
        bets_limits_get(f, txn, &l);
        l.live = json_is_true(open);
        json_t *o = limits_json(&l);
        rv = store_put_json(txn, bets_db(f)->config, LIMITS_KEY, strlen(LIMITS_KEY), o, NULL);
        json_decref(o);
        if (rv)
            goto out;
    } else {
        sw = store_get_json(txn, bets_db(f)->config, SWITCHES_KEY, strlen(SWITCHES_KEY));
        if (!sw)
            sw = json_pack("{s:b, s:{}}", "all", true, "fixtures_closed");
        if (!strcmp(scope, "all")) {
            json_object_set(sw, "all", open);
        } else if (json_is_true(open)) {
            json_object_del(json_object_get(sw, "fixtures_closed"), fixture);
        } else {
            char ts[32];
            fsm_format_time(c->time_ms, ts);
            json_object_set_new(json_object_get(sw, "fixtures_closed"), fixture, json_string(ts));
        }
        if ((rv = store_put_json(txn, bets_db(f)->config, SWITCHES_KEY, strlen(SWITCHES_KEY), sw,
                                 NULL)))
            goto out;
    }
    store_result_json(res, 200, bets_switches(f, txn));
out:
    json_decref(sw);
    json_decref(body);
    return rv;
}

int bets_fixture_switch(struct fsm *f, MDB_txn *txn, const char *fixture, bool open,
                        uint64_t time_ms)
{
    json_t *sw = store_get_json(txn, bets_db(f)->config, SWITCHES_KEY, strlen(SWITCHES_KEY));
    if (!sw)
        sw = json_pack("{s:b, s:{}}", "all", true, "fixtures_closed");
    if (open) {
        json_object_del(json_object_get(sw, "fixtures_closed"), fixture);
    } else {
        char ts[32];
        fsm_format_time(time_ms, ts);
        json_object_set_new(json_object_get(sw, "fixtures_closed"), fixture, json_string(ts));
    }
    int rv = store_put_json(txn, bets_db(f)->config, SWITCHES_KEY, strlen(SWITCHES_KEY), sw, NULL);
    json_decref(sw);
    return rv;
}

/* Whether betting on @fixture is switched off (all, or that fixture). */
bool bets_switched_off(struct fsm *f, MDB_txn *txn, const char *fixture, const char **why)
{
    json_t *sw = store_get_json(txn, bets_db(f)->config, SWITCHES_KEY, strlen(SWITCHES_KEY));
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
    json_t *o = store_get_json(txn, bets_db(f)->exposure, key, strlen(key));
    uint64_t v = o ? (uint64_t)json_integer_value(json_object_get(o, "amount")) : 0;
    json_decref(o);
    return v;
}

/* Exposure releases gathered over one settlement chunk (bets_exposure_gather): a chunk of a
 * thousand singles on one fixture read and wrote the same few records two thousand times. */
#define GATHER_MAX 64
static struct { /* applies run on one thread (the loop's) */
    bool on;
    unsigned n;
    struct {
        char key[KEY_MAX];
        int64_t delta;
    } e[GATHER_MAX];
} gather;

static int exposure_write(struct fsm *f, MDB_txn *txn, const char *key, int64_t delta);

static int gather_flush(struct fsm *f, MDB_txn *txn)
{
    int rv = 0;
    for (unsigned i = 0; i < gather.n && rv == 0; i++)
        rv = exposure_write(f, txn, gather.e[i].key, gather.e[i].delta);
    gather.n = 0;
    return rv;
}

void bets_exposure_gather(bool on)
{
    gather.on = on;
    gather.n = 0;
}

int bets_exposure_gathered(struct fsm *f, MDB_txn *txn)
{
    if (!gather.on)
        return 0;
    int rv = gather_flush(f, txn);
    gather.on = false;
    return rv;
}

static int exposure_add(struct fsm *f, MDB_txn *txn, const char *key, int64_t delta)
{
    if (gather.on && delta <= 0) {
        /* Only releases are gathered, so the sum floored at 0 once is what flooring after
         * each would give. */
        for (unsigned i = 0; i < gather.n; i++)
            if (!strcmp(gather.e[i].key, key)) {
                gather.e[i].delta += delta;
                return 0;
            }
        int rv = gather.n == GATHER_MAX ? gather_flush(f, txn) : 0;
        if (rv == 0) {
            snprintf(gather.e[gather.n].key, KEY_MAX, "%s", key);
            gather.e[gather.n++].delta = delta;
        }
        return rv;
    }
    return exposure_write(f, txn, key, delta);
}

static int exposure_write(struct fsm *f, MDB_txn *txn, const char *key, int64_t delta)
{
    int64_t v = (int64_t)bets_exposure(f, txn, key) + delta;
    if (v < 0)
        v = 0;
    json_t *o = json_pack("{s:I}", "amount", (json_int_t)v);
    int rv = store_put_json(txn, bets_db(f)->exposure, key, strlen(key), o, NULL);
    json_decref(o);
    return rv;
}

void bets_outcome_key(char out[KEY_MAX], json_t *leg)
{
    snprintf(out, KEY_MAX, "o|%s|%s|%s|%s", store_str(leg, "fixture"), store_str(leg, "market"),
             store_str(leg, "line") ? store_str(leg, "line") : "", store_str(leg, "outcome"));
}

void bets_fixture_key(char out[KEY_MAX], const char *fixture)
{
    snprintf(out, KEY_MAX, "f|%s", fixture);
}

/* Add (@sign 1) or release (@sign -1) bet @b's exposure. */
int bets_exposure_add(struct fsm *f, MDB_txn *txn, json_t *b, int sign)
{
    int64_t net = (int64_t)json_integer_value(json_object_get(b, "payout")) -
                  (int64_t)json_integer_value(json_object_get(b, "stake"));
    size_t i;
    json_t *leg;
    int rv = 0;
    char k[KEY_MAX];
    json_array_foreach(json_object_get(b, "legs"), i, leg)
    {
        bets_outcome_key(k, leg);
        if ((rv = exposure_add(f, txn, k, sign * net)))
            break;
        bets_fixture_key(k, store_str(leg, "fixture"));
        if ((rv = exposure_add(f, txn, k, sign * net)))
            break;
    }
    return rv;
}

/* ---- queues and the bet event log ---------------------------------------------------- */

/* Put (@put) or remove bet @b in a queue keyed by its be64 seq (pending, delayed, void). */
int bets_queue_set(MDB_txn *txn, MDB_dbi dbi, json_t *b, bool put)
{
    const char *id = store_str(b, "id");
    uint8_t be[8];
    store_be64_put(be, (uint64_t)json_integer_value(json_object_get(b, "seq")));
    MDB_val k = {8, be}, v = {strlen(id), (void *)id};
    int rv = put ? mdb_put(txn, dbi, &k, &v, 0) : mdb_del(txn, dbi, &k, NULL);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

/* Append an event about bet @b to the replicated log the player's stream reads. Its record is
 * written as text: the bytes json_dumps gives (compact, sorted keys) without building an
 * object, since a settlement chunk writes a thousand of them (test_bets checks the bytes). */
static int bet_event(struct fsm *f, MDB_txn *txn, json_t *b, const char *type, uint64_t time_ms)
{
    uint64_t seq = fsm_meta_get(f, txn, BET_EVENT_KEY) + 1;
    char ts[32];
    fsm_format_time(time_ms, ts);
    const char *id = store_str(b, "id") ?: "", *player = store_str(b, "player_id") ?: "",
               *status = store_str(b, "status") ?: "";
    size_t cap = 6 * (strlen(ts) + strlen(id) + strlen(player) + strlen(status) + strlen(type)) +
                 128;
    char stack[1024], *text = cap <= sizeof stack ? stack : malloc(cap), *p = text;
    if (!text)
        return MDB_PANIC;
    p += sprintf(p, "{\"at\":");
    p += store_json_str(p, ts, strlen(ts));
    p += sprintf(p, ",\"bet_id\":");
    p += store_json_str(p, id, strlen(id));
    p += sprintf(p, ",\"id\":%llu,\"player_id\":", (unsigned long long)seq);
    p += store_json_str(p, player, strlen(player));
    p += sprintf(p, ",\"status\":");
    p += store_json_str(p, status, strlen(status));
    p += sprintf(p, ",\"type\":");
    p += store_json_str(p, type, strlen(type));
    *p++ = '}';
    uint8_t k[8];
    store_be64_put(k, seq);
    MDB_val kv = {8, k}, v = {(size_t)(p - text), text};
    int rv = mdb_put(txn, bets_db(f)->events, &kv, &v, 0);
    if (text != stack)
        free(text);
    return rv ? rv : fsm_meta_put(f, txn, BET_EVENT_KEY, seq);
}

/* Store bet @b and log @type about it. */
int bets_put(struct fsm *f, MDB_txn *txn, json_t *b, const char *type, uint64_t time_ms)
{
    const char *id = store_str(b, "id");
    int rv = store_put_json(txn, bets_db(f)->bets, id, strlen(id), b, NULL);
    return rv ? rv : bet_event(f, txn, b, type, time_ms);
}

json_t *bets_events_after(struct fsm *f, MDB_txn *txn, uint64_t after, unsigned limit)
{
    uint8_t be[8];
    store_be64_put(be, after + 1);
    return store_page_json(txn, bets_db(f)->events, be, 8, limit);
}

uint64_t bets_last_event(struct fsm *f, MDB_txn *txn)
{
    return fsm_meta_get(f, txn, BET_EVENT_KEY);
}

/* ---- payloads ------------------------------------------------------------------------ */

char *bets_cmd_place(struct cmd *c, const char *player_id, uint64_t stake, const char *policy,
                     uint64_t tolerance, json_t *legs, uint64_t node)
{
    return bets_cmd_place_delayed(c, player_id, stake, policy, tolerance, legs, node, 0, 0);
}

char *bets_cmd_place_delayed(struct cmd *c,
                             const char *player_id,
                             uint64_t stake,
                             const char *policy,
                             uint64_t tolerance,
                             json_t *legs,
                             uint64_t node,
                             uint64_t delay_pre_ms,
                             uint64_t delay_live_ms)
{
    json_t *o =
        json_pack("{s:s, s:I, s:s, s:O, s:I}", "player_id", player_id, "stake", (json_int_t)stake,
                  "policy", policy, "legs", legs, "node", (json_int_t)node);
    if (delay_pre_ms)
        json_object_set_new(o, "delay_pre_ms", json_integer((json_int_t)delay_pre_ms));
    if (delay_live_ms)
        json_object_set_new(o, "delay_live_ms", json_integer((json_int_t)delay_live_ms));
    if (tolerance)
        json_object_set_new(o, "tolerance", json_integer((json_int_t)tolerance));
    return cmd_fill_new(c, CMD_BET_PLACE, o);
}

/* {bet_id} and, if @key is not NULL, {@key: @value}. */
static char *cmd_bet(struct cmd *c,
                     uint16_t type,
                     const char *bet_id,
                     const char *key,
                     const char *value)
{
    json_t *o = json_pack("{s:s}", "bet_id", bet_id);
    if (key)
        json_object_set_new(o, key, json_string(value));
    return cmd_fill_new(c, type, o);
}

char *bets_cmd_paid(struct cmd *c, const char *bet_id, const char *how)
{
    return cmd_bet(c, CMD_BET_PAID, bet_id, "how", how);
}

char *bets_cmd_holds_done(struct cmd *c, json_t *items)
{
    json_t *o = json_pack("{s:O}", "items", items);
    return cmd_fill_new(c, CMD_BET_HOLDS_DONE, o);
}

char *bets_cmd_limits(struct cmd *c, json_t *limits)
{
    return cmd_fill(c, CMD_BET_LIMITS, limits);
}

char *bets_cmd_hold_done(struct cmd *c,
                         const char *bet_id,
                         bool accepted,
                         const char *code,
                         const char *detail)
{
    json_t *o = json_pack("{s:s, s:b}", "bet_id", bet_id, "accepted", accepted);
    if (code)
        json_object_set_new(o, "code", json_string(code));
    if (detail)
        json_object_set_new(o, "detail", json_string(detail));
    return cmd_fill_new(c, CMD_BET_HOLD_DONE, o);
}

char *bets_cmd_switch(struct cmd *c, const char *scope, const char *fixture, bool open)
{
    json_t *o = json_pack("{s:s, s:b}", "scope", scope, "open", open);
    if (fixture)
        json_object_set_new(o, "fixture", json_string(fixture));
    return cmd_fill_new(c, CMD_BET_SWITCH, o);
}

char *bets_cmd_void(struct cmd *c, const char *bet_id, const char *reason)
{
    return cmd_bet(c, CMD_BET_VOID, bet_id, "reason", reason);
}

char *bets_cmd_chunk_more(struct cmd *c, enum bets_chunked kind, const char *fixture)
{
    json_t *o = chunked[kind].running_only
                    ? json_pack("{s:s, s:b}", "fixture", fixture, "more", true)
                    : json_pack("{s:s}", "fixture", fixture);
    return cmd_fill_new(c, chunked[kind].type, o);
}

char *bets_cmd_settle_more(struct cmd *c, const char *fixture, unsigned limit)
{
    return cmd_fill_new(c, CMD_BET_SETTLE_MORE,
                        json_pack("{s:s, s:I}", "fixture", fixture, "limit", (json_int_t)limit));
}

char *bets_cmd_decide(struct cmd *c, const char *bet_id)
{
    return cmd_bet(c, CMD_BET_DECIDE, bet_id, NULL, NULL);
}

char *bets_cmd_hold_voided(struct cmd *c, const char *bet_id)
{
    return cmd_bet(c, CMD_BET_HOLD_VOIDED, bet_id, NULL, NULL);
}

/* ---- table --------------------------------------------------------------------------- */

static const struct fsm_command COMMANDS[] = {
    {CMD_BET_PLACE, "bet_place", true, bets_place_apply, NULL},
    {CMD_BET_LIMITS, "bet_limits", true, bets_limits_apply, NULL},
    {CMD_BET_HOLD_DONE, "bet_hold_done", true, bets_hold_done_apply, NULL},
    {CMD_BET_PAID, "bet_paid", true, bets_paid_apply, NULL},
    {CMD_BET_DECIDE, "bet_decide", true, bets_decide_apply, NULL},
    {CMD_BET_HOLD_VOIDED, "bet_hold_voided", true, bets_voided_apply, NULL},
    {CMD_BET_SWITCH, "bet_switch", true, bets_switch_apply, NULL},
    {CMD_BET_VOID, "bet_void", true, bets_void_apply, NULL},
    {CMD_BET_SETTLE_MORE, "bet_settle_more", true, bets_settle_more_apply, NULL},
    {CMD_BET_RESETTLE, "bet_resettle", true, bets_resettle_apply, NULL},
    {CMD_BET_POSTPONED, "bet_postponed", true, bets_postponed_apply, NULL},
    {CMD_BET_ABANDONED, "bet_abandoned", true, bets_abandoned_apply, NULL},
    {CMD_BET_CASHOUT_SET, "bet_cashout_set", true, bets_cashout_set_apply, NULL},
    {CMD_BET_CASHOUT, "bet_cashout", true, bets_cashout_apply, NULL},
    {CMD_BET_HOLDS_DONE, "bet_holds_done", true, bets_holds_done_apply, NULL},
    {0, NULL, false, NULL, NULL},
};

static const char *const DBS[] = {"bets",        "bet_exposure", "bet_player", "bet_fixture",
                                  "bet_pending", "bet_config",   "bet_unpaid", "bet_delayed",
                                  "bet_void",    "bet_events",   NULL};
_Static_assert(sizeof(struct bets_dbs) == (sizeof DBS / sizeof *DBS - 1) * sizeof(MDB_dbi),
               "one handle per database name");

const struct fsm_domain bets_domain = {"bets", COMMANDS, DBS};
