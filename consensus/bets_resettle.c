/* Bets: re-settling a fixture whose agreed result was corrected, and voiding the bets of a
 * fixture postponed for more than 48 hours (issue 12, "Settlement"). See bets.h.
 *
 * Re-settle (CMD_BET_RESETTLE {fixture, home, away, reason}, an operator's, audited as every
 * admin command). Happy path: the fixture is finished and its first settlement is complete; the
 * fixture's correction count (its "generation", kept in bet_config "resettle|FIXTURE" with the
 * history of corrections) goes up by one, and every bet with a leg on it gets that leg's result
 * from the corrected score. A settled bet keeps what it was settled at in "settlements" (one
 * entry per earlier generation: result, odds, return, when, how it was paid), is settled again
 * at the new generation and queued to be paid again: the leader's saga then asks the accounts
 * cluster to re-settle the hold (POST /internal/v1/holds/{id}/resettle {generation, stake,
 * payout}: correcting transfers for the difference, never a changed transfer; idempotent by
 * the bet id and the generation) and records CMD_BET_PAID {how: "resettle", generation}. A bet
 * not settled yet (an accumulator waiting for another leg, a bet whose hold is not answered)
 * just has its leg's result replaced. Exposure is not touched (it was released at the first
 * settlement). Bets voided by an operator keep their void, cashed-out bets their cash-out.
 * Failure modes: 422 invalid_resettle (shape), 404 no_fixture, 409 fixture_not_finished (no
 * agreed final result to correct: a cancelled, live or scheduled fixture), 409 fixture_voided
 * (its bets were voided as postponed: played later, it has no settlement to correct), 409
 * settlement_in_progress (its first settlement, or its last correction, still runs in chunks:
 * wait for it). Like the first settlement, a correction re-settles BET_SETTLE_CHUNK bets per
 * apply: while more may be left its record keeps "running" and "after", and the leader's saga
 * proposes CMD_BET_RESETTLE {fixture, more: true} until it is done (bets_chunked
 * BETS_RESETTLING), so a fixture with many bets never holds the log.
 *
 * Postponed (CMD_BET_POSTPONED {fixture}, proposed by the sport leader stamped with its time
 * once 48 hours have passed since the original kick-off of a fixture still "postponed"; an
 * operator postpones with PATCH /v1/fixtures/{id} {status: postponed}). Happy path: apply checks
 * the status and the time again (so every node decides alike), voids every leg on the fixture
 * as a cancelled fixture does (the same chunked settlement: CMD_BET_SETTLE_MORE carries on),
 * switches betting on the fixture off, and keeps "postponed|FIXTURE" so that it is done once.
 * Bets stay open (accepted, held) until then. Failure modes: 404 no_fixture, 409
 * not_postponed (played or rescheduled meanwhile), 409 postponement_running (before the 48 h,
 * with void_after); again after it is done: 200 {done: true}, nothing changed. */
#include "consensus/bets.h"
#include "consensus/bets_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/cmdtable.h"
#include "consensus/fixtures.h"
#include "consensus/observations.h"
#include "consensus/store.h"

#define POSTPONED_PREFIX "postponed|"

/* A snapshot of @b's current settlement for its history. */
static json_t *settlement_of(json_t *b)
{
    json_t *legs = json_array();
    size_t i;
    json_t *leg;
    json_array_foreach(json_object_get(b, "legs"), i, leg)
        json_array_append_new(legs, json_pack("{s:O, s:O?}", "fixture",
                                              json_object_get(leg, "fixture"), "result",
                                              json_object_get(leg, "result")));
    json_t *s = json_pack("{s:I, s:O, s:O, s:O, s:O?, s:O?, s:O?, s:o}", "generation",
                          json_integer_value(json_object_get(b, "generation")), "result",
                          json_object_get(b, "result"), "odds_settled",
                          json_object_get(b, "odds_settled"), "return",
                          json_object_get(b, "return"), "settled_at",
                          json_object_get(b, "settled_at"), "paid", json_object_get(b, "paid"),
                          "paid_at", json_object_get(b, "paid_at"), "legs", legs);
    return s;
}

/* Give @b's legs on @fixture their result on @h-@a; settle it again at @gen if it was settled.
 * *@changed: whether it was re-settled. */
static int resettle_bet(struct fsm *f, MDB_txn *txn, json_t *b, const char *fixture, int h,
                        int a, int64_t gen, uint64_t time_ms, bool *changed)
{
    *changed = false;
    const char *st = store_str(b, "status") ?: "";
    /* Rejected bets, operators' voids and cashed-out bets (bets_cashout.c) stand as they are. */
    if (!strcmp(st, "rejected") || store_str(b, "void_reason") ||
        !strcmp(store_str(b, "result") ?: "", "cashed_out"))
        return 0;
    size_t i;
    json_t *leg;
    json_array_foreach(json_object_get(b, "legs"), i, leg)
    {
        if (strcmp(store_str(leg, "fixture") ?: "", fixture) != 0)
            continue;
        const char *r = bets_leg_result(store_str(leg, "market"), store_str(leg, "line"),
                                        store_str(leg, "outcome"), h, a);
        if (r)
            json_object_set_new(leg, "result", json_string(r));
    }
    const char *id = store_str(b, "id");
    if (strcmp(st, "settled") != 0)
        return store_put_json(txn, bets_db(f)->bets, id, strlen(id), b, NULL);
    json_t *hist = json_object_get(b, "settlements");
    if (!json_is_array(hist)) {
        hist = json_array();
        json_object_set_new(b, "settlements", hist);
    }
    json_array_append_new(hist, settlement_of(b));
    bets_settle_compute(b);
    json_object_set_new(b, "generation", json_integer(gen));
    json_object_del(b, "paid");
    json_object_del(b, "paid_at");
    bets_stamp(b, time_ms, "settled_at");
    *changed = true;
    int rv = bets_queue_set(txn, bets_db(f)->unpaid, b, true);
    return rv ? rv : bets_put(f, txn, b, "resettled", time_ms);
}

/* Whether @fixture is finished; @status gets its status ("" when there is no such fixture). */
static bool fixture_finished(struct fsm *f, MDB_txn *txn, const char *fixture, char status[16])
{
    json_t *fx = fixture_get(f, txn, fixture);
    snprintf(status, 16, "%s", fx ? store_str(fx, "status") ?: "?" : "");
    json_decref(fx);
    return !strcmp(status, "finished");
}

/* Re-settle the next BET_SETTLE_CHUNK bets of the fixture of correction record @rec after its
 * "after" (the last bet seq done); counts them in its last history entry, and keeps "after"
 * and "running" while bets may be left (the leader then proposes {fixture, more: true}). */
static int resettle_chunk(struct fsm *f, MDB_txn *txn, json_t *rec, uint64_t time_ms)
{
    const char *fixture = store_str(rec, "fixture");
    int64_t gen = json_integer_value(json_object_get(rec, "generation"));
    int h = (int)json_integer_value(json_object_get(rec, "home")),
        a = (int)json_integer_value(json_object_get(rec, "away"));
    uint64_t last;
    json_t *ids = bets_fixture_ids(f, txn, fixture,
                                   (uint64_t)json_integer_value(json_object_get(rec, "after")),
                                   BET_SETTLE_CHUNK, &last);
    json_t *hist = json_object_get(rec, "history");
    json_t *entry = json_array_get(hist, json_array_size(hist) - 1);
    json_int_t n = json_integer_value(json_object_get(entry, "resettled")),
               bets = json_integer_value(json_object_get(entry, "bets"));
    int rv = 0;
    size_t i;
    json_t *jid;
    json_array_foreach(ids, i, jid)
    {
        json_t *b = rv ? NULL : bets_get(f, txn, json_string_value(jid));
        bool changed = false;
        if (b) {
            bets++;
            rv = resettle_bet(f, txn, b, fixture, h, a, gen, time_ms, &changed);
        }
        n += changed;
        json_decref(b);
    }
    bool more = json_array_size(ids) == BET_SETTLE_CHUNK;
    json_decref(ids);
    json_object_set_new(entry, "bets", json_integer(bets));
    json_object_set_new(entry, "resettled", json_integer(n));
    json_object_set_new(rec, "after", json_integer((json_int_t)last));
    json_object_set_new(rec, "running", json_boolean(more));
    return rv;
}

/* The answer: the fixture, its generation, the last correction's counts, whether more runs. */
static json_t *resettle_answer(json_t *rec)
{
    json_t *hist = json_object_get(rec, "history");
    json_t *entry = json_array_get(hist, json_array_size(hist) - 1);
    return json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:b, s:O}", "fixture",
                     json_object_get(rec, "fixture"), "generation",
                     json_object_get(rec, "generation"), "home", json_object_get(rec, "home"),
                     "away", json_object_get(rec, "away"), "bets", json_object_get(entry, "bets"),
                     "resettled", json_object_get(entry, "resettled"), "more",
                     json_is_true(json_object_get(rec, "running")), "history", hist);
}

/* The checks of a new correction of @fixture; 0 when it may go on (else @res has the refusal). */
static bool resettle_allowed(struct fsm *f, MDB_txn *txn, const char *fixture, json_t *rec,
                             struct fsm_result *res)
{
    char st[16];
    json_t *voided = NULL, *running = NULL;
    bool ok = false;
    if (!fixture_finished(f, txn, fixture, st)) {
        if (!st[0])
            bets_refuse(res, 404, "no_fixture", "No such fixture", NULL, "no fixture '%s'",
                        fixture);
        else
            bets_refuse(res, 409, "fixture_not_finished", "Fixture not finished",
                        json_pack("{s:s}", "fixture_status", st),
                        "fixture '%s' is %s: only a finished fixture's agreed result can be "
                        "corrected",
                        fixture, st);
    } else if ((voided = bets_config_get(f, txn, POSTPONED_PREFIX, fixture))) {
        bets_refuse(res, 409, "fixture_voided", "Bets voided", NULL,
                    "the bets on fixture '%s' were voided when it stayed postponed past 48 "
                    "hours: there is no settlement to correct",
                    fixture);
    } else if ((running = bets_config_get(f, txn, SETTLE_PREFIX, fixture)) ||
               json_is_true(json_object_get(rec, "running"))) {
        bets_refuse(res, 409, "settlement_in_progress", "Settlement in progress", NULL,
                    "the settlement of fixture '%s' (or its last correction) still runs in "
                    "chunks: retry when it is done",
                    fixture);
    } else {
        ok = true;
    }
    json_decref(voided);
    json_decref(running);
    return ok;
}

int bets_resettle_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    const char *fixture = store_str_max(body, "fixture", FIXTURE_MAX),
               *reason = store_str_max(body, "reason", 500);
    json_t *rec = fixture ? bets_config_get(f, txn, RESETTLE_PREFIX, fixture) : NULL;
    uint64_t h, a;
    if (fixture && json_is_true(json_object_get(body, "more"))) {
        /* The leader carries a correction on, a chunk at a time; done already: nothing. */
        if (json_is_true(json_object_get(rec, "running")) &&
            (rv = resettle_chunk(f, txn, rec, c->time_ms)) == 0)
            rv = bets_config_put(f, txn, RESETTLE_PREFIX, fixture, rec);
        if (rv == 0)
            store_result_json(res, 200, rec ? resettle_answer(rec)
                                            : json_pack("{s:s, s:b}", "fixture", fixture, "more",
                                                        false));
        goto out;
    }
    if (!fixture || !reason || !reason[0] || !store_u64(body, "home", 0, &h) ||
        !store_u64(body, "away", 0, &a) || h > 99 || a > 99) {
        bets_refuse(res, 422, "invalid_resettle", "Invalid re-settlement", NULL,
                    "need {fixture, home: 0..99, away: 0..99, reason: a non-empty text of at "
                    "most 500 bytes}");
        goto out;
    }
    if (!resettle_allowed(f, txn, fixture, rec, res))
        goto out;
    if (!rec)
        rec = json_pack("{s:s, s:i, s:[]}", "fixture", fixture, "generation", 0, "history");
    int64_t gen = json_integer_value(json_object_get(rec, "generation")) + 1;
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_array_append_new(json_object_get(rec, "history"),
                          json_pack("{s:I, s:I, s:I, s:s, s:s, s:i, s:i}", "generation",
                                    (json_int_t)gen, "home", (json_int_t)h, "away",
                                    (json_int_t)a, "reason", reason, "at", ts, "bets", 0,
                                    "resettled", 0));
    json_object_set_new(rec, "generation", json_integer(gen));
    json_object_set_new(rec, "home", json_integer((json_int_t)h));
    json_object_set_new(rec, "away", json_integer((json_int_t)a));
    json_object_set_new(rec, "after", json_integer(0));
    if ((rv = resettle_chunk(f, txn, rec, c->time_ms)) == 0 &&
        (rv = bets_config_put(f, txn, RESETTLE_PREFIX, fixture, rec)) == 0)
        store_result_json(res, 200, resettle_answer(rec));
out:
    json_decref(rec);
    json_decref(body);
    return rv;
}

json_t *bets_resettles(struct fsm *f, MDB_txn *txn, const char *fixture)
{
    return bets_config_get(f, txn, RESETTLE_PREFIX, fixture);
}

/* ---- postponed fixtures ------------------------------------------------------------------ */

/* When @fx's bets are voided if it is still postponed (ms): 48 h after its original kick-off;
 * 0 if the kick-off cannot be read. */
static uint64_t void_after_ms(json_t *fx)
{
    int64_t t;
    const char *ko = store_str(fx, "original_kickoff") ?: store_str(fx, "kickoff");
    if (!ko || fixture_parse_time(ko, &t) != 0 || t < 0)
        return 0;
    return (uint64_t)t * 1000 + BET_POSTPONED_VOID_MS;
}

int bets_postponed_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *fx = NULL, *done = NULL;
    const char *fixture = store_str_max(body, "fixture", FIXTURE_MAX);
    if (!fixture) {
        bets_refuse(res, 422, "invalid_postponed", "Invalid postponement void", NULL,
                    "need {fixture: a fixture id of at most %d bytes}", FIXTURE_MAX);
        goto out;
    }
    if ((done = bets_config_get(f, txn, POSTPONED_PREFIX, fixture))) {
        json_object_set_new(done, "done", json_true());
        store_result_json(res, 200, json_incref(done));
        goto out;
    }
    if (!(fx = fixture_get(f, txn, fixture))) {
        bets_refuse(res, 404, "no_fixture", "No such fixture", NULL, "no fixture '%s'", fixture);
        goto out;
    }
    const char *st = store_str(fx, "status") ?: "";
    uint64_t when = void_after_ms(fx);
    if (strcmp(st, "postponed") != 0) {
        bets_refuse(res, 409, "not_postponed", "Fixture not postponed",
                    json_pack("{s:s}", "fixture_status", st), "fixture '%s' is %s", fixture, st);
        goto out;
    }
    if (!when || c->time_ms < when) {
        char ts[32];
        fsm_format_time(when, ts);
        bets_refuse(res, 409, "postponement_running", "Postponement still running",
                    json_pack("{s:s}", "void_after", ts),
                    "fixture '%s' may still be played until %s (48 h after its original "
                    "kick-off): its bets stay open",
                    fixture, ts);
        goto out;
    }
    /* Void every leg on it as for a cancelled fixture (chunked: CMD_BET_SETTLE_MORE goes on). */
    if ((rv = bets_on_result(f, txn, fixture, true, 0, 0, c->time_ms)) ||
        (rv = bets_fixture_switch(f, txn, fixture, false, c->time_ms)))
        goto out;
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    done = json_pack("{s:s, s:s, s:s}", "fixture", fixture, "voided_at", ts, "reason",
                     "postponed_48h");
    if ((rv = bets_config_put(f, txn, POSTPONED_PREFIX, fixture, done)) == 0)
        store_result_json(res, 200, json_incref(done));
out:
    json_decref(done);
    json_decref(fx);
    json_decref(body);
    return rv;
}

json_t *bets_postponed_due(struct fsm *f, MDB_txn *txn, uint64_t now_ms, unsigned limit)
{
    json_t *out = json_array();
    struct fixture_filter flt = {.status = "postponed", .limit = 100};
    char after[FIXTURE_MAX + 1] = "";
    for (;;) {
        flt.after = after[0] ? after : NULL;
        json_t *page = fixture_list(f, txn, &flt);
        size_t i;
        json_t *fx;
        json_array_foreach(json_object_get(page, "items"), i, fx)
        {
            const char *id = store_str(fx, "id");
            uint64_t when = void_after_ms(fx);
            json_t *done = id ? bets_config_get(f, txn, POSTPONED_PREFIX, id) : NULL;
            if (id && !done && when && when <= now_ms && json_array_size(out) < limit)
                json_array_append_new(out, json_string(id));
            json_decref(done);
        }
        const char *next = json_string_value(json_object_get(page, "next"));
        bool more = next && json_array_size(out) < limit;
        if (more)
            snprintf(after, sizeof after, "%s", next);
        json_decref(page);
        if (!more)
            break;
    }
    return out;
}

/* ---- payloads ---------------------------------------------------------------------------- */

char *bets_cmd_resettle(struct cmd *c, const char *fixture, int home, int away,
                        const char *reason)
{
    json_t *o = json_pack("{s:s, s:i, s:i, s:s}", "fixture", fixture, "home", home, "away", away,
                          "reason", reason);
    return cmd_fill_new(c, CMD_BET_RESETTLE, o);
}

char *bets_cmd_postponed(struct cmd *c, const char *fixture)
{
    json_t *o = json_pack("{s:s}", "fixture", fixture);
    return cmd_fill_new(c, CMD_BET_POSTPONED, o);
}

char *bets_cmd_paid_resettle(struct cmd *c, const char *bet_id, int64_t generation)
{
    json_t *o = json_pack("{s:s, s:s, s:I}", "bet_id", bet_id, "how", "resettle", "generation",
                          (json_int_t)generation);
    return cmd_fill_new(c, CMD_BET_PAID, o);
}

/* ---- the audit of a re-settled bet ------------------------------------------------------- */

/* What the hold's transfers amount to: the stake kept by the house and the payout to the
 * player, the original resolution's plus every correction's (wallet_resettle.c names them
 * hold:<id>:r<g>:stake|payout, possibly split with ":debt"). */
void bets_hold_effect(json_t *hold, int64_t *stake, int64_t *payout)
{
    *stake = *payout = 0;
    const char *id = store_str(hold, "id") ?: "";
    char base[BET_ID_MAX + 8];
    snprintf(base, sizeof base, "hold:%s:", id);
    size_t bl = strlen(base), i;
    json_t *t;
    json_array_foreach(json_object_get(hold, "transfers"), i, t)
    {
        const char *tid = store_str(t, "id") ?: "";
        if (strncmp(tid, base, bl) != 0)
            continue;
        const char *rest = tid + bl;
        if (rest[0] == 'r' && strchr(rest, ':'))
            rest = strchr(rest, ':') + 1; /* a correction: r<g>:stake|payout[:debt] */
        bool in = !strcmp(store_str(t, "credit") ?: "", "sys:house");
        int64_t amt = (int64_t)json_integer_value(json_object_get(t, "amount"));
        if (!strncmp(rest, "stake", 5))
            *stake += in ? amt : -amt;
        else if (!strncmp(rest, "payout", 6))
            *payout += in ? -amt : amt;
    }
}
