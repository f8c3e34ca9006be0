/* Bets: markets settled from the agreed events rather than the final score (next goal), and
 * what an abandoned fixture leaves standing (issue 12, "Settlement"). See bets.h.
 *
 * Next goal ("next_goal": home | none | away, priced live only): the leg records the live
 * state at placement, with the seq of the last agreed event ("live".seq; 0 when placed before
 * any). The next goal is the first agreed goal event (goal, penalty_scored: the team's; an
 * own_goal: the other side's) with a higher seq; "none" wins when there is none at full time.
 * It is settled as soon as that goal and every event before it are agreed (bets_on_event,
 * called by quotes.c for every agreed event; an index "ng|FIXTURE|seq" in bet_config keeps
 * the bets to look at), else with the fixture's result (every event is in by then).
 *
 * Abandoned fixtures (CMD_BET_ABANDONED {fixture, reason}: an operator, for a live fixture that
 * will not be finished): each leg on it is settled if its market is already decided by the
 * score at abandonment (the agreed live state), void otherwise; the fixture becomes
 * "cancelled" (with "abandoned": {at, reason, home, away}) and betting on it is switched off.
 * A later void result from the feed changes nothing that was settled. The table:
 *
 *   market                    decided at abandonment when                  result then
 *   total_goals over/under    over already won at the current goals        over won, under lost
 *   home_goals, away_goals    the same with the team's goals               (idem)
 *   btts                      both teams have scored                       yes won, no lost
 *   next_goal                 a goal was agreed after the bet              by that goal
 *   1x2, double_chance, draw_no_bet, correct_score, winning_margin, asian_handicap:
 *                             never (any later goal could change them)     void
 *
 * (A half-time market would stand once its half is over; the models price none yet.)
 * Like a settlement, it goes BET_SETTLE_CHUNK bets per apply: while more may be left its record
 * "abandon|FIXTURE" (bet_config) keeps "running" and the leader proposes {fixture, more: true}
 * (bets_chunked BETS_ABANDONING); a void result agreed meanwhile leaves the fixture to it
 * (bets_on_result).
 * Failure modes: 422 invalid_abandon, 404 no_fixture, 409 fixture_not_live (only a live
 * fixture is abandoned; a cancelled or finished one is settled already). */
#include "consensus/bets.h"
#include "consensus/bets_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/cmdtable.h"
#include "consensus/fixtures.h"
#include "consensus/observations.h"
#include "consensus/quotes.h"
#include "consensus/store.h"

/* The side ("home" | "away") that scored agreed event @o, or NULL when it is not a goal. */
static const char *goal_side(json_t *o)
{
    const char *type = store_str(o, "type") ?: "", *team = store_str(o, "team") ?: "";
    bool home = !strcmp(team, "home");
    if (!strcmp(type, "goal") || !strcmp(type, "penalty_scored"))
        return home ? "home" : "away";
    if (!strcmp(type, "own_goal"))
        return home ? "away" : "home";
    return NULL;
}

/* The side of the first goal after seq @after in the agreed events @evs (in seq order), as far
 * as every event from @after + 1 to it is agreed: NULL with *@known false when one is missing
 * before any goal (it could be the goal), NULL with *@known true when no goal follows. */
static const char *next_goal_contiguous(json_t *evs, uint64_t after, bool *known)
{
    size_t i;
    json_t *rec;
    uint64_t want = after + 1;
    json_array_foreach(evs, i, rec)
    {
        json_t *o = json_object_get(rec, "observation");
        uint64_t seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
        if (seq < want)
            continue;
        if (seq > want)
            break; /* a gap */
        const char *s = goal_side(o);
        if (s) {
            *known = true;
            return s;
        }
        want++;
    }
    *known = false;
    return NULL;
}

/* The side of the first goal after seq @after in the agreed events @evs, or NULL. */
static const char *next_goal_side(json_t *evs, uint64_t after)
{
    size_t i;
    json_t *rec;
    const char *side = NULL;
    uint64_t best = 0;
    json_array_foreach(evs, i, rec)
    {
        json_t *o = json_object_get(rec, "observation");
        uint64_t seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
        const char *s = goal_side(o);
        if (s && seq > after && (!side || seq < best)) {
            side = s;
            best = seq;
        }
    }
    return side;
}

const char *bets_next_goal_result(json_t *leg, json_t *evs, bool final)
{
    uint64_t after = (uint64_t)json_integer_value(
        json_object_get(json_object_get(leg, "live"), "seq"));
    const char *outcome = store_str(leg, "outcome") ?: "", *side;
    bool known = false;
    if (final) {
        side = next_goal_side(evs, after); /* every event is in: the first goal by seq */
    } else if (!(side = next_goal_contiguous(evs, after, &known))) {
        return NULL; /* no goal yet, or an event before it still to be agreed */
    }
    return !strcmp(outcome, side ? side : "none") ? "won" : "lost";
}

#define NG_PREFIX "ng|"

static void ng_key(char out[KEY_MAX], const char *fixture, uint64_t seq)
{
    snprintf(out, KEY_MAX, NG_PREFIX "%s|%016llx", fixture, (unsigned long long)seq);
}

int bets_next_goal_index(struct fsm *f, MDB_txn *txn, json_t *b)
{
    size_t i;
    json_t *leg;
    const char *id = store_str(b, "id");
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(b, "seq"));
    json_array_foreach(json_object_get(b, "legs"), i, leg)
    {
        if (strcmp(store_str(leg, "market") ?: "", "next_goal") != 0)
            continue;
        char k[KEY_MAX];
        ng_key(k, store_str(leg, "fixture"), seq);
        MDB_val kv = {strlen(k), k}, v = {strlen(id), (void *)id};
        int rv = mdb_put(txn, bets_db(f)->config, &kv, &v, 0);
        if (rv)
            return rv;
    }
    return 0;
}

/* The index keys of @fixture (at most @limit). */
static json_t *ng_keys(struct fsm *f, MDB_txn *txn, const char *fixture, unsigned limit)
{
    json_t *out = json_array();
    char pre[KEY_MAX];
    snprintf(pre, sizeof pre, NG_PREFIX "%s|", fixture);
    size_t pl = strlen(pre);
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, bets_db(f)->config, &cur))
        return out;
    MDB_val k = {pl, pre}, v;
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         r == 0 && k.mv_size == pl + 16 && !memcmp(k.mv_data, pre, pl) &&
         json_array_size(out) < limit;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        json_array_append_new(out, json_pack("{s:s%, s:s%}", "key", (const char *)k.mv_data,
                                             k.mv_size, "id", (const char *)v.mv_data,
                                             v.mv_size));
    mdb_cursor_close(cur);
    return out;
}

static int ng_del(struct fsm *f, MDB_txn *txn, const char *key)
{
    MDB_val k = {strlen(key), (void *)key};
    int rv = mdb_del(txn, bets_db(f)->config, &k, NULL);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

int bets_next_goal_forget(struct fsm *f, MDB_txn *txn, const char *fixture)
{
    json_t *keys = ng_keys(f, txn, fixture, UINT32_MAX);
    size_t i;
    json_t *e;
    int rv = 0;
    json_array_foreach(keys, i, e) if (rv == 0) rv = ng_del(f, txn, store_str(e, "key"));
    json_decref(keys);
    return rv;
}

/* Give bet @b's next_goal legs on @fixture their result when known; *@open: one is left. */
static bool ng_legs(json_t *b, const char *fixture, json_t *evs, bool *open)
{
    bool changed = false;
    size_t j;
    json_t *leg;
    *open = false;
    json_array_foreach(json_object_get(b, "legs"), j, leg)
    {
        if (strcmp(store_str(leg, "fixture") ?: "", fixture) ||
            strcmp(store_str(leg, "market") ?: "", "next_goal") || store_str(leg, "result"))
            continue;
        const char *r = bets_next_goal_result(leg, evs, false);
        if (r) {
            json_object_set_new(leg, "result", json_string(r));
            changed = true;
        } else {
            *open = true;
        }
    }
    return changed;
}

int bets_on_event(struct fsm *f, MDB_txn *txn, const char *fixture, uint64_t time_ms)
{
    json_t *keys = ng_keys(f, txn, fixture, UINT32_MAX);
    if (json_array_size(keys) == 0) {
        json_decref(keys);
        return 0;
    }
    json_t *evs = obs_agreed_events(f, txn, fixture), *e;
    size_t i;
    int rv = 0;
    json_array_foreach(keys, i, e)
    {
        json_t *b = rv ? NULL : bets_get(f, txn, store_str(e, "id"));
        const char *st = b ? store_str(b, "status") ?: "" : "";
        bool open = false, live = b && strcmp(st, "rejected") && strcmp(st, "settled");
        if (live && ng_legs(b, fixture, evs, &open)) {
            rv = bets_settle_or_store(f, txn, b, time_ms);
        } /* else *open says whether a next_goal leg still waits (none: drop the entry) */
        if (rv == 0 && !open)
            rv = ng_del(f, txn, store_str(e, "key"));
        json_decref(b);
    }
    json_decref(evs);
    json_decref(keys);
    return rv;
}

const char *bets_abandoned_result(json_t *leg, int h, int a, json_t *evs)
{
    const char *market = store_str(leg, "market") ?: "", *outcome = store_str(leg, "outcome") ?: "";
    if (!strcmp(market, "next_goal"))
        return bets_next_goal_result(leg, evs, false) ?: "void";
    if (!strcmp(market, "btts"))
        return h > 0 && a > 0 ? (!strcmp(outcome, "yes") ? "won" : "lost") : "void";
    if (!strcmp(market, "total_goals") || !strcmp(market, "home_goals") ||
        !strcmp(market, "away_goals")) {
        /* Goals only go up: "over" fully won now stays won, and "under" lost. */
        const char *line = store_str(leg, "line");
        const char *over = bets_leg_result(market, line, "over", h, a);
        if (over && !strcmp(over, "won"))
            return !strcmp(outcome, "over") ? "won" : "lost";
        return "void";
    }
    return "void";
}

bool bets_abandoned_fixture(struct fsm *f, MDB_txn *txn, const char *fixture)
{
    json_t *rec = bets_config_get(f, txn, ABANDON_PREFIX, fixture);
    json_decref(rec);
    return rec != NULL;
}

/* The next BET_SETTLE_CHUNK bets on the fixture of abandonment record @rec after its "after":
 * each leg on it gets its result by the table, accepted bets whose legs all have results are
 * settled; @rec's "after", "running" and "settled" are updated, then it is stored. */
static int abandon_chunk(struct fsm *f, MDB_txn *txn, json_t *rec, uint64_t time_ms)
{
    const char *fixture = store_str(rec, "fixture");
    int h = (int)json_integer_value(json_object_get(rec, "home")),
        a = (int)json_integer_value(json_object_get(rec, "away"));
    json_int_t settled = json_integer_value(json_object_get(rec, "settled"));
    uint64_t last;
    json_t *ids = bets_fixture_ids(f, txn, fixture,
                                   (uint64_t)json_integer_value(json_object_get(rec, "after")),
                                   BET_SETTLE_CHUNK, &last);
    json_t *evs = obs_agreed_events(f, txn, fixture), *jid;
    int rv = 0;
    size_t i;
    json_array_foreach(ids, i, jid)
    {
        json_t *b = rv ? NULL : bets_get(f, txn, json_string_value(jid));
        const char *st = b ? store_str(b, "status") ?: "" : "";
        if (!b || !strcmp(st, "rejected") || !strcmp(st, "settled")) {
            json_decref(b);
            continue;
        }
        size_t j;
        json_t *leg;
        json_array_foreach(json_object_get(b, "legs"), j, leg)
        {
            if (!strcmp(store_str(leg, "fixture") ?: "", fixture) && !store_str(leg, "result"))
                json_object_set_new(leg, "result",
                                    json_string(bets_abandoned_result(leg, h, a, evs)));
        }
        rv = bets_settle_or_store(f, txn, b, time_ms);
        if (rv == 0 && !strcmp(store_str(b, "status") ?: "", "settled"))
            settled++;
        json_decref(b);
    }
    json_object_set_new(rec, "running", json_boolean(json_array_size(ids) == BET_SETTLE_CHUNK));
    json_object_set_new(rec, "after", json_integer((json_int_t)last));
    json_object_set_new(rec, "settled", json_integer(settled));
    json_decref(ids);
    json_decref(evs);
    if (rv)
        return rv;
    return bets_config_put(f, txn, ABANDON_PREFIX, fixture, rec);
}

static json_t *abandon_answer(json_t *rec)
{
    return json_pack("{s:O, s:{s:O, s:O, s:O, s:O}, s:O, s:b}", "fixture",
                     json_object_get(rec, "fixture"), "abandoned", "at",
                     json_object_get(rec, "at"), "reason", json_object_get(rec, "reason"),
                     "home", json_object_get(rec, "home"), "away", json_object_get(rec, "away"),
                     "settled", json_object_get(rec, "settled"), "more",
                     json_is_true(json_object_get(rec, "running")));
}

int bets_abandoned_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *fx = NULL, *m = NULL, *rec = NULL;
    const char *fixture = store_str_max(body, "fixture", FIXTURE_MAX),
               *reason = store_str_max(body, "reason", 500);
    if (fixture && json_is_true(json_object_get(body, "more"))) {
        /* The leader carries an abandonment on, a chunk at a time; done already: nothing. */
        rec = bets_config_get(f, txn, ABANDON_PREFIX, fixture);
        if (json_is_true(json_object_get(rec, "running")))
            rv = abandon_chunk(f, txn, rec, c->time_ms);
        if (rv == 0)
            store_result_json(res, 200, rec ? abandon_answer(rec)
                                            : json_pack("{s:s, s:b}", "fixture", fixture, "more",
                                                        false));
        goto out;
    }
    if (!fixture || !reason || !reason[0]) {
        bets_refuse(res, 422, "invalid_abandon", "Invalid abandonment", NULL,
                    "need {fixture, reason: a non-empty text of at most 500 bytes}");
        goto out;
    }
    if (!(fx = fixture_get(f, txn, fixture))) {
        bets_refuse(res, 404, "no_fixture", "No such fixture", NULL, "no fixture '%s'", fixture);
        goto out;
    }
    const char *st = store_str(fx, "status") ?: "";
    if (strcmp(st, "live") != 0) {
        bets_refuse(res, 409, "fixture_not_live", "Fixture not live",
                    json_pack("{s:s}", "fixture_status", st),
                    "fixture '%s' is %s: only a live fixture can be abandoned", fixture, st);
        goto out;
    }
    m = quotes_market_get(f, txn, fixture);
    json_t *live = json_object_get(m, "live");
    int h = (int)json_integer_value(json_object_get(live, "home_goals")),
        a = (int)json_integer_value(json_object_get(live, "away_goals"));
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    rec = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i}", "fixture", fixture, "at", ts, "reason",
                    reason, "home", h, "away", a, "after", 0, "settled", 0);
    if ((rv = abandon_chunk(f, txn, rec, c->time_ms)) ||
        (rv = bets_next_goal_forget(f, txn, fixture)) ||
        (rv = bets_fixture_switch(f, txn, fixture, false, c->time_ms)))
        goto out;
    json_object_set_new(fx, "status", json_string("cancelled"));
    json_object_set_new(fx, "abandoned", json_pack("{s:s, s:s, s:i, s:i}", "at", ts, "reason",
                                                   reason, "home", h, "away", a));
    json_object_set_new(fx, "updated_at", json_string(ts));
    json_object_set_new(fx, "version",
                        json_integer(json_integer_value(json_object_get(fx, "version")) + 1));
    if ((rv = fixture_put(f, txn, fx, NULL)) == 0)
        store_result_json(res, 200, abandon_answer(rec));
out:
    json_decref(rec);
    json_decref(m);
    json_decref(fx);
    json_decref(body);
    return rv;
}

char *bets_cmd_abandoned(struct cmd *c, const char *fixture, const char *reason)
{
    json_t *o = json_pack("{s:s, s:s}", "fixture", fixture, "reason", reason);
    return cmd_fill_new(c, CMD_BET_ABANDONED, o);
}
