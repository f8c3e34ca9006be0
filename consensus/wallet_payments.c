/* Wallets: deposits, the payment provider's events and withdrawals. See wallet.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/accounts.h"
#include "consensus/wallet_internal.h"

int deposit_open(struct wop *op)
{
    const char *pid = store_str(op->b, "player_id"), *did = store_str(op->b, "deposit_id");
    int64_t amount;
    if (!wallet_id_valid(did) || !int_field(op->b, "amount", 1, LEDGER_AMOUNT_MAX, &amount))
        return refuse(op, 422, "amount_invalid", "Invalid deposit",
                      "a deposit needs an id and an amount of 1 to %lld cents",
                      (long long)LEDGER_AMOUNT_MAX);
    json_t *old = store_get_json(op->txn, DB(op->f)->deposits, did, strlen(did));
    if (old) {
        bool same = !strcmp(store_str(old, "player"), pid ? pid : "") && jint(old, "amount") == amount;
        json_decref(old);
        return refuse(op, 409, same ? "deposit_exists" : "deposit_conflict", "Deposit exists",
                      "deposit '%s' was already opened%s", did,
                      same ? "" : " with other fields");
    }
    json_t *player = need_player(op, pid);
    if (!player)
        return 0;
    json_t *prof = profile_load(op, pid);
    profile_promote(prof, op->now);
    int rv = 0;
    int64_t lim = limit_of(prof, "deposit_7d"), used = window_used(prof, "deposits", op->now);
    if (play_refused(op, player, prof)) {
    } else if (lim < 0) {
        refuse(op, 403, "limits_required", "Limits required",
               "set a 7-day deposit limit before the first deposit");
    } else if (used + amount > lim) {
        refuse(op, 403, "deposit_limit", "Deposit limit reached",
               "this deposit of %lld cents would bring the last 7 days' deposits to %lld cents, "
               "over the limit of %lld",
               (long long)amount, (long long)(used + amount), (long long)lim);
    } else {
        window_add(prof, "deposits", did, amount, op->now);
        json_t *d = json_pack("{s:s, s:s, s:I, s:s, s:I}", "id", did, "player", pid, "amount",
                              (json_int_t)amount, "status", "open", "opened_ms",
                              (json_int_t)op->now);
        rv = profile_store(op, pid, prof);
        if (rv == 0)
            rv = store_put_json(op->txn, DB(op->f)->deposits, did, strlen(did), d, NULL);
        if (rv == 0)
            store_result_json(op->res, 201, json_incref(d));
        json_decref(d);
    }
    json_decref(prof);
    json_decref(player);
    return rv;
}

int deposit_link(struct wop *op)
{
    const char *did = store_str(op->b, "deposit_id"),
               *pay = store_str_max(op->b, "payment_id", 128), *url = store_str_max(op->b, "url", 1000);
    if (!wallet_id_valid(did) || !pay || !url)
        return refuse(op, 422, "invalid_link", "Invalid link",
                      "the command needs deposit_id, payment_id and url");
    json_t *d = store_get_json(op->txn, DB(op->f)->deposits, did, strlen(did));
    if (!d)
        return refuse(op, 404, "no_such_deposit", "No such deposit", "deposit '%s' does not exist",
                      did);
    int rv = 0;
    const char *had = store_str(d, "payment_id");
    if (had && strcmp(had, pay)) {
        refuse(op, 409, "deposit_state", "Deposit already linked",
               "deposit '%s' is linked to payment %s", did, had);
    } else {
        json_object_set_new(d, "payment_id", json_string(pay));
        json_object_set_new(d, "url", json_string(url));
        rv = store_put_json(op->txn, DB(op->f)->deposits, did, strlen(did), d, NULL);
        if (rv == 0)
            store_result_json(op->res, 200, json_incref(d));
    }
    json_decref(d);
    return rv;
}

/* Take @amount back from @player toward @to for @kind (refund, chargeback: the clearing
 * account; a corrected bet settlement: the house): what the cash account has available, the
 * rest through the player's debt account. */
enum ledger_code plan_take_back(struct plan *p, const char *player, const char *to,
                                const char *tid, const char *kind, int64_t amount,
                                const char *ref)
{
    char cash[ACCT_MAX], debt[ACCT_MAX], t2[TID_MAX + 8];
    snprintf(cash, sizeof cash, "player:%s", player);
    snprintf(debt, sizeof debt, "debt:%s", player);
    int64_t avail = ledger_available(&plan_acct(p, cash)->l);
    int64_t from_cash = avail < 0 ? 0 : avail < amount ? avail : amount;
    enum ledger_code lc = LEDGER_OK;
    if (from_cash > 0)
        lc = plan_move(p, tid, kind, cash, to, from_cash, ref);
    snprintf(t2, sizeof t2, "%s:debt", tid);
    if (lc == LEDGER_OK && amount > from_cash)
        lc = plan_move(p, t2, kind, debt, to, amount - from_cash, ref);
    return lc;
}

static int pay_deposit_event(struct wop *op, struct plan *p, const char *kind, json_t *d)
{
    const char *did = store_str(d, "id"), *pid = store_str(d, "player"),
               *status = store_str(d, "status"), *obj = store_str(op->b, "object_id"),
               *had = store_str(d, "payment_id");
    int64_t amount = jint(op->b, "amount");
    if (had && obj && strcmp(had, obj))
        return refuse(op, 409, "deposit_state", "Wrong payment",
                      "deposit '%s' belongs to payment %s, not %s", did, had, obj);
    json_t *prof = profile_load(op, pid);
    char cash[ACCT_MAX], tid[TID_MAX];
    snprintf(cash, sizeof cash, "player:%s", pid);
    enum ledger_code lc = LEDGER_OK;
    const char *next = NULL;
    json_t *auto_w = NULL; /* a withdrawal above the auto_withdraw threshold */
    if (!strcmp(kind, "payment_succeeded")) {
        if (!strcmp(status, "open") || !strcmp(status, "failed")) {
            if (amount != jint(d, "amount")) {
                json_decref(prof);
                return refuse(op, 422, "amount_mismatch", "Amount mismatch",
                              "the provider paid %lld cents for deposit '%s' of %lld",
                              (long long)amount, did, (long long)jint(d, "amount"));
            }
            snprintf(tid, sizeof tid, "dep:%s", did);
            lc = plan_move(p, tid, "deposit", CLEARING, cash, amount, did);
            int64_t debt = -debt_of(p, pid);
            if (lc == LEDGER_OK && debt > 0) {
                char debt_id[ACCT_MAX];
                snprintf(debt_id, sizeof debt_id, "debt:%s", pid);
                snprintf(tid, sizeof tid, "dep:%s:repay", did);
                lc = plan_move(p, tid, "debt_repay", cash, debt_id, debt < amount ? debt : amount,
                               did);
            }
            const char *acct = store_str_max(op->b, "account", 128);
            json_object_set_new(prof, "account", json_string(acct ? acct : obj ? obj : did));
            if (!strcmp(status, "failed"))
                window_add(prof, "deposits", did, amount, jint(d, "opened_ms") > 0 ? (uint64_t)jint(d, "opened_ms") : op->now);
            next = "succeeded";
            if (lc == LEDGER_OK) {
                json_t *player = accounts_player_get(op->f, op->txn, pid);
                auto_w = auto_withdraw_plan(p, pid, player, prof, &lc);
                json_decref(player);
            }
        }
    } else if (!strcmp(kind, "payment_failed")) {
        if (!strcmp(status, "open")) {
            window_remove(prof, "deposits", did);
            next = "failed";
        }
    } else { /* payment_refunded, chargeback */
        if (!strcmp(status, "succeeded")) {
            bool cb = !strcmp(kind, "chargeback");
            snprintf(tid, sizeof tid, "%s:%s", cb ? "cb" : "rf", did);
            lc = plan_take_back(p, pid, CLEARING, tid, cb ? "chargeback" : "refund", jint(d, "amount"), did);
            next = cb ? "charged_back" : "refunded";
        }
    }
    int rv = 0;
    if (lc != LEDGER_OK) {
        ledger_refuse(op, lc, "deposit event");
    } else {
        if (next) {
            json_object_set_new(d, "status", json_string(next));
            if (obj && !had)
                json_object_set_new(d, "payment_id", json_string(obj));
            rv = plan_commit(p);
            if (rv == 0)
                rv = store_put_json(op->txn, DB(op->f)->deposits, did, strlen(did), d, NULL);
            if (rv == 0)
                rv = profile_store(op, pid, prof);
            if (rv == 0)
                rv = auto_withdraw_store(op, auto_w);
        }
        if (rv == 0)
            store_result_json(op->res, 200,
                              json_pack("{s:s, s:s, s:b}", "deposit", did, "status",
                                        store_str(d, "status"), "changed", next != NULL));
    }
    json_decref(prof);
    json_decref(auto_w);
    return rv;
}

static int pay_withdrawal_event(struct wop *op, struct plan *p, const char *kind, json_t *w)
{
    const char *wid = store_str(w, "id"), *status = store_str(w, "status");
    bool open = !strcmp(status, "requested") || !strcmp(status, "sent");
    bool paid = !strcmp(kind, "payout_paid");
    const char *next = NULL;
    if (!open && strcmp(status, paid ? "paid" : "failed"))
        return refuse(op, 409, "withdrawal_state", "Withdrawal already settled",
                      "withdrawal '%s' is %s; a %s event needs an operator", wid, status, kind);
    json_t *hold = NULL;
    enum ledger_code lc = LEDGER_OK;
    if (open) {
        hold = store_get_json(op->txn, DB(op->f)->holds, wid, strlen(wid));
        if (!hold)
            return refuse(op, 409, "withdrawal_state", "Withdrawal without hold",
                          "withdrawal '%s' has no hold", wid);
        lc = plan_resolve(p, hold, paid ? "post" : "void", jint(hold, "amount"));
        if (lc == LEDGER_OK && paid) {
            char tid[TID_MAX];
            snprintf(tid, sizeof tid, "wd:%s:paid", wid);
            lc = plan_move(p, tid, "payout_sent", PAYOUTS, CLEARING, jint(hold, "amount"), wid);
        }
        next = paid ? "paid" : "failed";
    }
    int rv = 0;
    if (lc != LEDGER_OK) {
        ledger_refuse(op, lc, "withdrawal event");
    } else {
        if (next) {
            json_object_set_new(w, "status", json_string(next));
            rv = plan_commit(p);
            if (rv == 0)
                rv = store_put_json(op->txn, DB(op->f)->holds, wid, strlen(wid), hold, NULL);
            if (rv == 0)
                rv = store_put_json(op->txn, DB(op->f)->withdrawals, wid, strlen(wid), w, NULL);
        }
        if (rv == 0)
            store_result_json(op->res, 200,
                              json_pack("{s:s, s:s, s:b}", "withdrawal", wid, "status",
                                        store_str(w, "status"), "changed", next != NULL));
    }
    json_decref(hold);
    return rv;
}

static const char *const PAY_KINDS[] = {"payment_succeeded", "payment_failed", "payment_refunded",
                                        "chargeback",        "payout_paid",    "payout_failed",
                                        NULL};

int pay_event(struct wop *op)
{
    const char *prov = store_str_max(op->b, "provider", 64),
               *evid = store_str_max(op->b, "event_id", 128), *kind = store_str(op->b, "kind"),
               *ref = store_str(op->b, "reference");
    int64_t amount;
    bool known = false;
    for (const char *const *k = PAY_KINDS; kind && *k; k++)
        known = known || !strcmp(*k, kind);
    if (!prov || !evid || !known || !wallet_id_valid(ref) ||
        !int_field(op->b, "amount", 0, LEDGER_AMOUNT_MAX, &amount))
        return refuse(op, 422, "invalid_event", "Invalid payment event",
                      "the event needs provider, event_id, a known kind, a reference and an "
                      "amount");
    char ekey[200];
    int en = snprintf(ekey, sizeof ekey, "%s", prov);
    ekey[en] = 0;
    int elen = en + 1 + snprintf(ekey + en + 1, sizeof ekey - (size_t)en - 1, "%s", evid);
    MDB_val k = {(size_t)elen, ekey}, v;
    if (mdb_get(op->txn, DB(op->f)->events, &k, &v) == 0) {
        store_result_json(op->res, 200,
                          json_pack("{s:s, s:b}", "event_id", evid, "duplicate", 1));
        return 0;
    }
    bool payout = !strncmp(kind, "payout", 6);
    json_t *rec = store_get_json(op->txn, payout ? DB(op->f)->withdrawals : DB(op->f)->deposits,
                                 ref, strlen(ref));
    if (!rec)
        return refuse(op, 404, payout ? "no_such_withdrawal" : "no_such_deposit",
                      "Unknown reference", "no %s '%s'", payout ? "withdrawal" : "deposit", ref);
    struct plan p = {.op = op};
    int rv = payout ? pay_withdrawal_event(op, &p, kind, rec) : pay_deposit_event(op, &p, kind, rec);
    plan_free(&p);
    json_decref(rec);
    if (rv == 0 && op->res->status == 200) {
        json_t *e = json_pack("{s:s, s:I}", "kind", kind, "at_ms", (json_int_t)op->now);
        char *text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(e);
        MDB_val val = {strlen(text), text};
        rv = mdb_put(op->txn, DB(op->f)->events, &k, &val, 0);
        free(text);
    }
    return rv;
}

int withdraw_open(struct wop *op)
{
    const char *pid = store_str(op->b, "player_id"), *wid = store_str(op->b, "withdrawal_id");
    int64_t amount;
    if (!wallet_id_valid(wid) || !int_field(op->b, "amount", 1, LEDGER_AMOUNT_MAX, &amount))
        return refuse(op, 422, "amount_invalid", "Invalid withdrawal",
                      "a withdrawal needs an id and an amount of 1 to %lld cents",
                      (long long)LEDGER_AMOUNT_MAX);
    json_t *old = store_get_json(op->txn, DB(op->f)->withdrawals, wid, strlen(wid));
    if (old) {
        json_decref(old);
        return refuse(op, 409, "withdrawal_exists", "Withdrawal exists",
                      "withdrawal '%s' was already requested", wid);
    }
    json_t *player = need_player(op, pid);
    if (!player)
        return 0;
    json_t *prof = profile_load(op, pid);
    struct plan p = {.op = op};
    const char *acct = store_str(prof, "account");
    int rv = 0;
    char cash[ACCT_MAX];
    snprintf(cash, sizeof cash, "player:%s", pid);
    if (json_object_get(prof, "blocked")) {
        refuse(op, 403, "account_blocked", "Account blocked",
               "an operator blocked this account: %s",
               store_str(json_object_get(prof, "blocked"), "reason"));
    } else if (!verified(player)) {
        refuse(op, 403, "not_verified", "Identity not verified",
               "withdrawals need a verified identity (FranceConnect or a document check)");
    } else if (!acct) {
        refuse(op, 409, "no_payment_account", "No payment account",
               "withdrawals go to the payment account of a deposit; none succeeded yet");
    } else {
        enum ledger_code lc;
        json_t *hold = plan_hold(&p, wid, "withdrawal", cash, PAYOUTS, amount, 0, wid, &lc);
        if (!hold) {
            ledger_refuse(op, lc, "withdrawal");
        } else {
            json_object_set_new(hold, "player", json_string(pid));
            json_t *w = json_pack("{s:s, s:s, s:I, s:s, s:s, s:I}", "id", wid, "player", pid,
                                  "amount", (json_int_t)amount, "status", "requested", "account",
                                  acct, "requested_ms", (json_int_t)op->now);
            rv = plan_commit(&p);
            if (rv == 0)
                rv = hold_store(op, hold);
            if (rv == 0)
                rv = store_put_json(op->txn, DB(op->f)->withdrawals, wid, strlen(wid), w, NULL);
            if (rv == 0)
                store_result_json(op->res, 201, json_incref(w));
            json_decref(w);
            json_decref(hold);
        }
    }
    plan_free(&p);
    json_decref(prof);
    json_decref(player);
    return rv;
}

int withdraw_sent(struct wop *op)
{
    const char *wid = store_str(op->b, "withdrawal_id"),
               *po = store_str_max(op->b, "payout_id", 128);
    if (!wallet_id_valid(wid) || !po)
        return refuse(op, 422, "invalid_payout", "Invalid payout",
                      "the command needs withdrawal_id and payout_id");
    json_t *w = store_get_json(op->txn, DB(op->f)->withdrawals, wid, strlen(wid));
    if (!w)
        return refuse(op, 404, "no_such_withdrawal", "No such withdrawal",
                      "withdrawal '%s' does not exist", wid);
    int rv = 0;
    const char *status = store_str(w, "status"), *had = store_str(w, "payout_id");
    if (had && strcmp(had, po)) {
        refuse(op, 409, "withdrawal_state", "Payout already recorded",
               "withdrawal '%s' went out as payout %s", wid, had);
    } else {
        if (!strcmp(status, "requested"))
            json_object_set_new(w, "status", json_string("sent"));
        json_object_set_new(w, "payout_id", json_string(po));
        rv = store_put_json(op->txn, DB(op->f)->withdrawals, wid, strlen(wid), w, NULL);
        if (rv == 0)
            store_result_json(op->res, 200, json_incref(w));
    }
    json_decref(w);
    return rv;
}
