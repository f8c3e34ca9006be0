/* Wallets: the player-protection actions that move or stop money by themselves: the ban list's
 * verdict (wallet_ban), provisional accounts closed after two months with their balance
 * returned (wallet_close, the leader's, at its stamped time) and the automatic withdrawal above
 * a player's threshold. See wallet.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/accounts.h"
#include "consensus/wallet_internal.h"

/* ---- the ban list's verdict ---- */

int ban_apply(struct wop *op)
{
    const char *pid = store_str(op->b, "player_id"), *source = store_str_max(op->b, "source", 64);
    json_t *banned = json_object_get(op->b, "banned");
    if (!json_is_boolean(banned) || !source || !*source)
        return refuse(op, 422, "invalid_ban", "Invalid ban",
                      "banned (true or false) and a source (1 to 64 characters) are required");
    json_t *player = need_player(op, pid);
    if (!player)
        return 0;
    json_decref(player);
    json_t *prof = profile_load(op, pid);
    bool was = json_object_get(prof, "banned") != NULL;
    if (json_is_true(banned) && !was)
        json_object_set_new(prof, "banned", json_pack("{s:s, s:s}", "source", source, "at", op->ts));
    else if (!json_is_true(banned))
        json_object_del(prof, "banned");
    int rv = profile_store(op, pid, prof);
    if (rv == 0 && json_is_true(banned) && !was) /* banned: signed out everywhere */
        rv = accounts_end_sessions(op->f, op->txn, op->c, pid, "banned from gambling");
    if (rv == 0)
        store_result_json(op->res, 200,
                          json_pack("{s:s, s:b, s:b}", "player_id", pid, "banned",
                                    json_is_true(banned), "changed",
                                    was != json_is_true(banned)));
    json_decref(prof);
    return rv;
}

/* ---- provisional accounts closed ---- */

/* The players whose provisional account is due for closure at @now with money available: up
 * to @limit ids (JSON strings), in account order. */
static json_t *closure_due(struct fsm *f, MDB_txn *txn, uint64_t now, size_t limit)
{
    json_t *out = json_array();
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, DB(f)->accounts, &cur))
        return out;
    static const char prefix[] = "player:";
    MDB_val k = {sizeof prefix - 1, (void *)prefix}, v;
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         r == 0 && json_array_size(out) < limit; r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < sizeof prefix - 1 || memcmp(k.mv_data, prefix, sizeof prefix - 1))
            break;
        char id[ACCT_MAX];
        if (k.mv_size >= sizeof id)
            continue;
        memcpy(id, k.mv_data, k.mv_size);
        id[k.mv_size] = 0;
        json_t *j = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        struct acct a;
        acct_from_json(j, id, &a);
        json_decref(j);
        if (ledger_available(&a.l) <= 0)
            continue;
        const char *pid = id + 7;
        json_t *p = accounts_player_get(f, txn, pid);
        uint64_t created = p ? rfc3339_ms(store_str(p, "created_at")) : 0;
        if (p && !verified(p) && created && created + WALLET_CLOSE_MS <= now)
            json_array_append_new(out, json_string(pid));
        json_decref(p);
    }
    mdb_cursor_close(cur);
    return out;
}

bool wallet_close_due(struct fsm *f, MDB_txn *txn, uint64_t now_ms)
{
    json_t *due = closure_due(f, txn, now_ms, 1);
    bool any = json_array_size(due) > 0;
    json_decref(due);
    return any;
}

/* Close @pid's account and return what is available: to the payment account as a withdrawal,
 * or to sys:returns_due. Adds to *@returned. */
static int close_one(struct wop *op, const char *pid, int64_t *returned)
{
    struct plan p = {.op = op};
    char cash[ACCT_MAX], wid[TID_MAX];
    snprintf(cash, sizeof cash, "player:%s", pid);
    struct acct *a = plan_acct(&p, cash);
    int64_t amount = ledger_available(&a->l);
    snprintf(wid, sizeof wid, "close:%s:%llu", pid, (unsigned long long)a->seq);
    json_t *prof = profile_load(op, pid);
    const char *acct = store_str(prof, "account");
    enum ledger_code lc = LEDGER_OK;
    json_t *hold = NULL, *w = NULL;
    if (acct) {
        hold = plan_hold(&p, wid, "withdrawal", cash, PAYOUTS, amount, 0, wid, &lc);
        if (hold) {
            json_object_set_new(hold, "player", json_string(pid));
            w = json_pack("{s:s, s:s, s:I, s:s, s:s, s:I, s:s}", "id", wid, "player", pid,
                          "amount", (json_int_t)amount, "status", "requested", "account", acct,
                          "requested_ms", (json_int_t)op->now, "reason", "closure");
        }
    } else {
        lc = plan_move(&p, wid, "closure_return", cash, RETURNS, amount, pid);
    }
    int rv = 0;
    if (lc == LEDGER_OK) {
        json_t *closed = json_object_get(prof, "closed");
        if (!closed) {
            closed = json_pack("{s:s, s:I}", "at", op->ts, "returned", (json_int_t)0);
            json_object_set_new(prof, "closed", closed);
        }
        json_object_set_new(closed, "returned", json_integer(jint(closed, "returned") + amount));
        json_object_set_new(closed, "to", json_string(acct ? "payment_account" : RETURNS));
        rv = plan_commit(&p);
        if (rv == 0 && hold)
            rv = hold_store(op, hold);
        if (rv == 0 && w)
            rv = store_put_json(op->txn, DB(op->f)->withdrawals, wid, strlen(wid), w, NULL);
        if (rv == 0)
            rv = profile_store(op, pid, prof);
        if (rv == 0) /* a closed account is signed out everywhere */
            rv = accounts_end_sessions(op->f, op->txn, op->c, pid, "account closed");
        if (rv == 0)
            *returned += amount;
    }
    json_decref(hold);
    json_decref(w);
    json_decref(prof);
    plan_free(&p);
    return rv;
}

int close_apply(struct wop *op)
{
    json_t *due = closure_due(op->f, op->txn, op->now, WALLET_CLOSE_BATCH), *id;
    size_t i, n = 0;
    int64_t returned = 0;
    int rv = 0;
    json_array_foreach(due, i, id)
    {
        if ((rv = close_one(op, json_string_value(id), &returned)) != 0)
            break;
        n++;
    }
    json_decref(due);
    if (rv == 0)
        store_result_json(op->res, 200,
                          json_pack("{s:I, s:I}", "closed", (json_int_t)n, "returned",
                                    (json_int_t)returned));
    return rv;
}

/* ---- automatic withdrawal ---- */

json_t *auto_withdraw_plan(struct plan *p, const char *pid, json_t *player, json_t *prof,
                           enum ledger_code *lc)
{
    *lc = LEDGER_OK;
    profile_promote(prof, p->op->now);
    int64_t threshold = limit_of(prof, "auto_withdraw");
    const char *acct = store_str(prof, "account");
    if (threshold < 0 || !acct || !player || !verified(player) ||
        json_object_get(prof, "blocked"))
        return NULL;
    char cash[ACCT_MAX], wid[TID_MAX];
    snprintf(cash, sizeof cash, "player:%s", pid);
    struct acct *a = plan_acct(p, cash);
    int64_t excess = ledger_available(&a->l) - threshold;
    if (excess <= 0)
        return NULL;
    /* The cash account's statement position makes the id unique (it only grows). */
    snprintf(wid, sizeof wid, "auto:%s:%llu", pid, (unsigned long long)a->seq);
    /* Never a reason to refuse the credit itself: if the ledger would not hold it (it always
     * should: the excess is available), the money simply stays. */
    enum ledger_code hl;
    json_t *hold = plan_hold(p, wid, "withdrawal", cash, PAYOUTS, excess, 0, wid, &hl);
    if (!hold)
        return NULL;
    json_object_set_new(hold, "player", json_string(pid));
    return json_pack("{s:s, s:s, s:I, s:s, s:s, s:I, s:s, s:o}", "id", wid, "player", pid,
                     "amount", (json_int_t)excess, "status", "requested", "account", acct,
                     "requested_ms", (json_int_t)p->op->now, "reason", "auto_withdraw", "_hold",
                     hold);
}

int auto_withdraw_store(struct wop *op, json_t *w)
{
    if (!w)
        return 0;
    json_t *hold = json_incref(json_object_get(w, "_hold"));
    json_object_del(w, "_hold");
    const char *wid = store_str(w, "id");
    int rv = hold_store(op, hold);
    if (rv == 0)
        rv = store_put_json(op->txn, DB(op->f)->withdrawals, wid, strlen(wid), w, NULL);
    json_decref(hold);
    return rv;
}
