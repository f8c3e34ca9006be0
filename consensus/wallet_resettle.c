/* Wallets: a bet's hold settled again after its fixture's result was corrected (issue 12,
 * "re-settle"; CMD_HOLD_RESETTLE). See wallet.h.
 *
 * Happy path: the sport cluster re-settled a bet (generation g >= 1, from the bet's id and the
 * fixture's correction count) and asks that the hold's money end up as if it had been settled
 * with @stake kept (0 for a void or push) and @payout paid (0 when lost):
 *   - a hold still pending (the first settlement never reached us) is simply resolved: posted
 *     with (stake, payout), or voided when both are 0;
 *   - a hold already posted, voided or expired keeps its transfers (never changed or deleted):
 *     the difference between what the previous generation moved and what this one wants moves
 *     by correcting transfers "hold:<id>:r<g>:stake" and "hold:<id>:r<g>:payout" (kind
 *     "correction", naming the transfer they correct, with the operator's reason) between the
 *     player and the house. Money owed to the player moves first; money taken back comes from
 *     what the cash account has available, the rest through the player's debt account (the
 *     chargeback mechanism: play is blocked until a deposit repays it), never an overdraft.
 *     A credit while a debt is owed repays it first ("hold:<id>:r<g>:repay").
 *   The hold records "generation", "settled": {stake, payout} (what the hold's money now
 *   amounts to) and "fix_transfers" (for the audit), and the TRJ counts the differences.
 * Exactly once: the same generation again answers the first result (200); the same generation
 * with other amounts: 409 resettle_conflict; an older generation than the hold's: 409
 * resettle_superseded (a newer settlement already stands). */
#include <stdio.h>
#include <string.h>

#include "consensus/wallet_internal.h"

/* What the hold's money amounts to now: {stake kept by the house, payout to the player}. */
static void current_effect(json_t *h, int64_t *stake, int64_t *payout)
{
    json_t *s = json_object_get(h, "settled");
    const char *st = store_str(h, "status");
    if (s) {
        *stake = jint(s, "stake");
        *payout = jint(s, "payout");
    } else if (!strcmp(st, "posted")) {
        json_t *r = json_object_get(h, "result");
        *stake = jint(r, "stake");
        *payout = jint(r, "payout");
    } else { /* voided, expired: the stake went back */
        *stake = 0;
        *payout = 0;
    }
}

/* The transfer a correction of the stake (@payout_part false) or of the payout corrects: the
 * previous generation's, else the hold's resolution. */
static void corrected_id(json_t *h, int gen_prev, bool payout_part, char out[TID_MAX])
{
    const char *id = store_str(h, "id"), *st = store_str(h, "status");
    if (gen_prev > 0)
        snprintf(out, TID_MAX, "hold:%s:r%d:%s", id, gen_prev, payout_part ? "payout" : "stake");
    else if (!strcmp(st, "posted"))
        snprintf(out, TID_MAX, "hold:%s:%s", id,
                 payout_part && jint(json_object_get(h, "result"), "payout") > 0 ? "payout"
                                                                                 : "stake");
    else
        snprintf(out, TID_MAX, "hold:%s:%s", id, !strcmp(st, "voided") ? "void" : "expire");
}

/* Move @delta for one part: > 0 toward the player (@to_player) or the house; the plan's
 * transfers from @from on get "corrects" and "reason". */
static enum ledger_code correct_part(struct plan *p, json_t *h, const char *player,
                                     const char *tid, int64_t amount, bool to_player,
                                     const char *corrects, const char *reason)
{
    int from = p->nt;
    char cash[ACCT_MAX];
    snprintf(cash, sizeof cash, "player:%s", player);
    enum ledger_code lc =
        to_player ? plan_move(p, tid, "correction", HOUSE, cash, amount, store_str(h, "id"))
                  : plan_take_back(p, player, HOUSE, tid, "correction", amount,
                                   store_str(h, "id"));
    for (int i = from; lc == LEDGER_OK && i < p->nt; i++) {
        json_object_set_new(p->t[i], "corrects", json_string(corrects));
        json_object_set_new(p->t[i], "reason", json_string(reason));
    }
    return lc;
}

/* A hold already resolved: correcting transfers from its current effect to (@stake, @payout). */
static int correct_hold(struct wop *op, json_t *h, int gen, int64_t stake, int64_t payout,
                        const char *reason)
{
    const char *hid = store_str(h, "id"), *pid = store_str(h, "player");
    int gen_prev = (int)jint(h, "generation");
    int64_t s0, p0;
    current_effect(h, &s0, &p0);
    int64_t ds = stake - s0, dp = payout - p0;
    struct plan p = {.op = op};
    enum ledger_code lc = LEDGER_OK;
    char tid[TID_MAX], corr[TID_MAX];
    int64_t credited = 0;
    /* Credits first (a stake returned, a payout added), then what is taken back. */
    for (int pass = 0; pass < 2 && lc == LEDGER_OK; pass++) {
        for (int part = 0; part < 2 && lc == LEDGER_OK; part++) {
            int64_t d = part ? dp : -ds; /* > 0: toward the player */
            if (d == 0 || (pass == 0) != (d > 0))
                continue;
            snprintf(tid, sizeof tid, "hold:%s:r%d:%s", hid, gen, part ? "payout" : "stake");
            corrected_id(h, gen_prev, part, corr);
            lc = correct_part(&p, h, pid, tid, d > 0 ? d : -d, d > 0, corr, reason);
            if (d > 0)
                credited += d;
        }
        int64_t debt = -debt_of(&p, pid);
        if (pass == 0 && lc == LEDGER_OK && credited > 0 && debt > 0) {
            char cash[ACCT_MAX], debt_id[ACCT_MAX];
            snprintf(cash, sizeof cash, "player:%s", pid);
            snprintf(debt_id, sizeof debt_id, "debt:%s", pid);
            snprintf(tid, sizeof tid, "hold:%s:r%d:repay", hid, gen);
            lc = plan_move(&p, tid, "debt_repay", cash, debt_id, debt < credited ? debt : credited,
                           hid);
        }
    }
    int rv = 0;
    if (lc != LEDGER_OK) {
        ledger_refuse(op, lc, "correction");
    } else {
        json_t *fix = json_object_get(h, "fix_transfers");
        if (!fix) {
            fix = json_array();
            json_object_set_new(h, "fix_transfers", fix);
        }
        for (int i = 0; i < p.nt; i++)
            json_array_append(fix, json_object_get(p.t[i], "id"));
        rv = plan_commit(&p);
        trj_add(op, ds, dp, &rv);
    }
    plan_free(&p);
    return rv;
}

int hold_resettle(struct wop *op)
{
    const char *hid = store_str(op->b, "hold_id"), *cl = store_str(op->b, "cluster"),
               *reason = store_str_max(op->b, "reason", 500);
    int64_t gen, stake, payout;
    if (!int_field(op->b, "generation", 1, 1000000, &gen) ||
        !int_field(op->b, "stake", 0, LEDGER_AMOUNT_MAX, &stake) ||
        !int_field(op->b, "payout", 0, LEDGER_AMOUNT_MAX, &payout) || !reason || !reason[0])
        return refuse(op, 422, "amount_invalid", "Invalid re-settlement",
                      "a re-settlement needs a generation from 1, the stake kept (0 or up to "
                      "the hold), the payout (0 or more cents) and a reason");
    json_t *h = stake_hold(op, hid, cl);
    if (!h)
        return 0;
    int rv = 0;
    int64_t have = jint(h, "generation");
    json_t *r = json_object_get(h, "resettle_result");
    if (stake > jint(h, "amount")) {
        refuse(op, 422, "post_exceeds_hold", "Stake exceeds the hold",
               "hold '%s' is %lld cents, the stake kept %lld", hid, (long long)jint(h, "amount"),
               (long long)stake);
    } else if (have > gen) {
        refuse(op, 409, "resettle_superseded", "Re-settlement superseded",
               "hold '%s' is at generation %lld, after %lld", hid, (long long)have,
               (long long)gen);
    } else if (have == gen) {
        if (r && jint(r, "stake") == stake && jint(r, "payout") == payout)
            store_result_json(op->res, 200, json_incref(r));
        else
            refuse(op, 409, "resettle_conflict", "Re-settlement conflict",
                   "hold '%s' was settled at generation %lld with other amounts", hid,
                   (long long)gen);
    } else {
        bool pending = !strcmp(store_str(h, "status"), "pending");
        if (pending) {
            /* Never settled: resolve it as this generation says (post, or void when the bet
             * is void), through the ordinary resolution. */
            json_object_set_new(op->b, "stake", json_integer(stake));
            rv = stake ? hold_post(op) : hold_void(op);
            json_decref(h);
            if (rv || op->res->status >= 300 || !(h = stake_hold(op, hid, cl)))
                return rv;
            fsm_result_set(op->res, 0, NULL);
        } else {
            rv = correct_hold(op, h, (int)gen, stake, payout, reason);
        }
        if (rv == 0 && op->res->status == 0) {
            json_t *res = json_pack("{s:s, s:s, s:I, s:I, s:I, s:b}", "id", hid, "status",
                                    store_str(h, "status"), "generation", (json_int_t)gen,
                                    "stake", (json_int_t)stake, "payout", (json_int_t)payout,
                                    "corrected", !pending);
            json_object_set_new(h, "generation", json_integer(gen));
            json_object_set_new(h, "settled", json_pack("{s:I, s:I}", "stake", (json_int_t)stake,
                                                        "payout", (json_int_t)payout));
            json_object_set(h, "resettle_result", res);
            rv = store_put_json(op->txn, DB(op->f)->holds, hid, strlen(hid), h, NULL);
            if (rv == 0)
                store_result_json(op->res, 200, res);
            else
                json_decref(res);
        }
    }
    json_decref(h);
    return rv;
}

json_t *wallet_cmd_hold_resettle(const char *hold_id, const char *cluster, int64_t generation,
                                 int64_t stake, int64_t payout, const char *reason)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:s}", "hold_id", hold_id, "cluster", cluster,
                     "generation", (json_int_t)generation, "stake", (json_int_t)stake, "payout",
                     (json_int_t)payout, "reason", reason);
}
