/* Wallets: listings and the ledger check (the invariants), the TRJ. See wallet.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/accounts.h"
#include "consensus/wallet_internal.h"

/* Every record of @dbi (values as JSON) passed to @fn until it returns false. */
static void each_record(MDB_txn *txn, MDB_dbi dbi, bool (*fn)(void *ctx, MDB_val *k, json_t *v),
                        void *ctx)
{
    store_each_after(txn, dbi, NULL, fn, ctx);
}

static bool add_cluster(void *ctx, MDB_val *k, json_t *v)
{
    (void)k;
    json_array_append(ctx, v);
    return true;
}

struct bans {
    json_t *out;
    unsigned limit;
};

static bool add_ban(void *ctx, MDB_val *k, json_t *j)
{
    struct bans *b = ctx;
    if (json_array_size(b->out) >= b->limit)
        return false;
    json_t *ban = json_object_get(j, "banned");
    json_array_append_new(b->out, json_pack("{s:s%, s:o}", "player_id", (const char *)k->mv_data,
                                            k->mv_size, "banned",
                                            ban ? json_string(store_str(ban, "source"))
                                                : json_null()));
    return json_array_size(b->out) < b->limit;
}

json_t *wallet_profile_bans(struct fsm *f, MDB_txn *txn, const char *after, unsigned limit)
{
    struct bans b = {json_array(), limit};
    store_each_after(txn, DB(f)->profiles, after, add_ban, &b);
    return b.out;
}

json_t *wallet_clusters(struct fsm *f, MDB_txn *txn)
{
    json_t *a = json_array();
    each_record(txn, DB(f)->clusters, add_cluster, a);
    return a;
}

struct to_send {
    json_t *out;
    unsigned limit;
};

static bool add_to_send(void *ctx, MDB_val *k, json_t *v)
{
    (void)k;
    struct to_send *t = ctx;
    if (v && !strcmp(store_str(v, "status"), "requested"))
        json_array_append(t->out, v);
    return json_array_size(t->out) < t->limit;
}

json_t *wallet_withdrawals_to_send(struct fsm *f, MDB_txn *txn, unsigned limit)
{
    struct to_send t = {json_array(), limit};
    each_record(txn, DB(f)->withdrawals, add_to_send, &t);
    return t.out;
}

uint64_t wallet_next_expiry(struct fsm *f, MDB_txn *txn)
{
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t at = 0;
    if (mdb_cursor_open(txn, DB(f)->expiry, &cur))
        return 0;
    if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0 && k.mv_size > 8)
        at = store_be64_get(k.mv_data);
    mdb_cursor_close(cur);
    return at;
}

/* ---- the check ---- */

struct check {
    struct fsm *f;
    MDB_txn *txn;
    json_t *calc;     /* account -> [dp, dpo, cp, cpo] from the transfers */
    json_t *resolved; /* hold id -> resolutions seen */
    json_t *problems;
    uint64_t transfers, holds, pending;
    struct ledger_sum sum;
};

static void problem(struct check *c, const char *fmt, ...)
{
    if (json_array_size(c->problems) >= 50)
        return;
    char buf[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_array_append_new(c->problems, json_string(buf));
}

static void calc_add(struct check *c, const char *acct, int i, int64_t d)
{
    json_t *a = json_object_get(c->calc, acct);
    if (!a) {
        a = json_pack("[I, I, I, I]", (json_int_t)0, (json_int_t)0, (json_int_t)0, (json_int_t)0);
        json_object_set_new(c->calc, acct, a);
    }
    json_array_set_new(a, (size_t)i, json_integer(json_integer_value(json_array_get(a, (size_t)i)) + d));
}

static bool check_transfer(void *ctx, MDB_val *k, json_t *t)
{
    struct check *c = ctx;
    c->transfers++;
    const char *dr = store_str(t, "debit"), *cr = store_str(t, "credit"),
               *res = store_str(t, "resolves");
    int64_t amt = jint(t, "amount");
    if (!dr || !cr || amt < 0) {
        problem(c, "transfer %.*s is unreadable", (int)k->mv_size, (const char *)k->mv_data);
        return true;
    }
    if (json_is_true(json_object_get(t, "pending"))) {
        calc_add(c, dr, 0, amt);
        calc_add(c, cr, 2, amt);
    } else if (res) {
        int64_t rel = jint(t, "released");
        calc_add(c, dr, 0, -rel);
        calc_add(c, cr, 2, -rel);
        calc_add(c, dr, 1, amt);
        calc_add(c, cr, 3, amt);
        json_object_set_new(c->resolved, res,
                            json_integer(json_integer_value(json_object_get(c->resolved, res)) + 1));
    } else {
        calc_add(c, dr, 1, amt);
        calc_add(c, cr, 3, amt);
    }
    return true;
}

static bool check_account(void *ctx, MDB_val *k, json_t *j)
{
    struct check *c = ctx;
    char id[ACCT_MAX];
    snprintf(id, sizeof id, "%.*s", (int)(k->mv_size < ACCT_MAX - 1 ? k->mv_size : ACCT_MAX - 1),
             (const char *)k->mv_data);
    struct acct a;
    acct_from_json(j, id, &a);
    ledger_sum_account(&c->sum, &a.l);
    if ((a.l.flags & LEDGER_NO_OVERDRAFT) &&
        a.l.debits_pending + a.l.debits_posted > a.l.credits_posted)
        problem(c, "account %s is overdrawn", id);
    json_t *x = json_object_get(c->calc, id);
    int64_t want[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++)
        want[i] = (int64_t)json_integer_value(json_array_get(x, (size_t)i));
    if (want[0] != a.l.debits_pending || want[1] != a.l.debits_posted ||
        want[2] != a.l.credits_pending || want[3] != a.l.credits_posted)
        problem(c, "account %s: counters %lld/%lld/%lld/%lld, its transfers add up to "
                   "%lld/%lld/%lld/%lld",
                id, (long long)a.l.debits_pending, (long long)a.l.debits_posted,
                (long long)a.l.credits_pending, (long long)a.l.credits_posted, (long long)want[0],
                (long long)want[1], (long long)want[2], (long long)want[3]);
    json_object_del(c->calc, id);
    return true;
}

static bool check_hold(void *ctx, MDB_val *k, json_t *h)
{
    struct check *c = ctx;
    c->holds++;
    const char *id = store_str(h, "id"), *st = store_str(h, "status");
    if (!id || !st) {
        problem(c, "hold %.*s is unreadable", (int)k->mv_size, (const char *)k->mv_data);
        return true;
    }
    int64_t n = (int64_t)json_integer_value(json_object_get(c->resolved, id));
    if (!strcmp(st, "pending")) {
        c->pending++;
        if (n != 0)
            problem(c, "hold %s is pending but has %lld resolutions", id, (long long)n);
        uint64_t at = (uint64_t)jint(h, "expires_ms");
        if (at) {
            uint8_t key[8 + TID_MAX];
            size_t klen;
            expiry_key(at, id, key, &klen);
            MDB_val ek = {klen, key}, ev;
            if (mdb_get(c->txn, DB(c->f)->expiry, &ek, &ev))
                problem(c, "pending hold %s has no deadline entry", id);
        }
    } else if (n != 1) {
        problem(c, "hold %s is %s with %lld resolutions (want exactly 1)", id, st, (long long)n);
    }
    return true;
}

json_t *wallet_check(struct fsm *f, MDB_txn *txn)
{
    struct check c = {f, txn, json_object(), json_object(), json_array(), 0, 0, 0, {0}};
    each_record(txn, DB(f)->transfers, check_transfer, &c);
    each_record(txn, DB(f)->accounts, check_account, &c);
    const char *left;
    json_t *x;
    json_object_foreach(c.calc, left, x) problem(&c, "transfers name account %s, which has no record",
                                                 left);
    each_record(txn, DB(f)->holds, check_hold, &c);
    if (!ledger_sum_ok(&c.sum))
        problem(&c, "the balances do not sum to zero (posted %lld vs %lld, pending %lld vs %lld)",
                (long long)c.sum.debits_posted, (long long)c.sum.credits_posted,
                (long long)c.sum.debits_pending, (long long)c.sum.credits_pending);
    json_t *r = json_pack("{s:b, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:o}", "ok",
                          json_array_size(c.problems) == 0, "accounts", (json_int_t)c.sum.accounts,
                          "transfers", (json_int_t)c.transfers, "holds", (json_int_t)c.holds,
                          "pending_holds", (json_int_t)c.pending, "sums", "debits_posted",
                          (json_int_t)c.sum.debits_posted, "credits_posted",
                          (json_int_t)c.sum.credits_posted, "debits_pending",
                          (json_int_t)c.sum.debits_pending, "credits_pending",
                          (json_int_t)c.sum.credits_pending, "problems", c.problems);
    json_decref(c.calc);
    json_decref(c.resolved);
    return r;
}

json_t *wallet_trj(struct fsm *f, MDB_txn *txn, int year)
{
    (void)txn;
    char k[64];
    snprintf(k, sizeof k, "wallet.trj.%04d.stakes", year);
    uint64_t stakes = fsm_meta_get(f, txn, k);
    snprintf(k, sizeof k, "wallet.trj.%04d.payouts", year);
    uint64_t payouts = fsm_meta_get(f, txn, k);
    double trj = stakes ? (double)payouts / (double)stakes : 0.0;
    return json_pack("{s:i, s:I, s:I, s:f, s:f, s:b}", "year", year, "stakes", (json_int_t)stakes,
                     "payouts", (json_int_t)payouts, "trj", trj, "cap",
                     WALLET_TRJ_CAP_PERMILLE / 1000.0, "over_cap",
                     stakes && payouts * 1000 > stakes * WALLET_TRJ_CAP_PERMILLE);
}
