/* Wallets: bet holds (place, post, void, expiry), hold batches and corrections. See wallet.h.
 * A hold batch (hold_batch) runs each item through the single-item function with its own
 * result, so a batch can never do what the single calls could not; it shares one read and one
 * write of each player's profile and each ledger account among its items (wop.profiles,
 * wop.accts). Failure modes: a refused item is answered in its result and changes nothing;
 * an LMDB error fails the whole command and nothing of it is kept. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/accounts.h"
#include "consensus/wallet_internal.h"

/* ---- holds ---- */

static const char *hold_status_name(enum ledger_pending_status s)
{
    return s == LEDGER_PENDING  ? "pending"
           : s == LEDGER_POSTED ? "posted"
           : s == LEDGER_VOIDED ? "voided"
                                : "expired";
}

static void hold_from_json(json_t *j, struct ledger_hold *h)
{
    const char *s = store_str(j, "status");
    h->amount = jint(j, "amount");
    h->posted = jint(j, "posted");
    h->expires_ms = (uint64_t)jint(j, "expires_ms");
    h->status = !strcmp(s, "pending")  ? LEDGER_PENDING
                : !strcmp(s, "posted") ? LEDGER_POSTED
                : !strcmp(s, "voided") ? LEDGER_VOIDED
                                       : LEDGER_EXPIRED;
}

void expiry_key(uint64_t at, const char *id, uint8_t *key, size_t *klen)
{
    store_be64_put(key, at);
    size_t n = strlen(id);
    memcpy(key + 8, id, n);
    *klen = 8 + n;
}

static int expiry_del(struct wop *op, json_t *hold)
{
    uint64_t at = (uint64_t)jint(hold, "expires_ms");
    if (!at)
        return 0;
    uint8_t key[8 + TID_MAX];
    size_t klen;
    expiry_key(at, store_str(hold, "id"), key, &klen);
    MDB_val k = {klen, key};
    int rv = mdb_del(op->txn, DB(op->f)->expiry, &k, NULL);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

/* Reserve @amount dr -> cr as hold @id; its record is returned (the caller adds its fields and
 * stores it with hold_store). */
json_t *plan_hold(struct plan *p, const char *id, const char *kind, const char *dr,
                  const char *cr, int64_t amount, uint64_t timeout_ms, const char *ref,
                  enum ledger_code *lc)
{
    struct ledger_hold h;
    *lc = ledger_hold(&plan_acct(p, dr)->l, &plan_acct(p, cr)->l, amount, p->op->now, timeout_ms,
                      &h);
    if (*lc != LEDGER_OK)
        return NULL;
    /* Callers choose hold ids; the transfers' namespace is shared, so a hold's are prefixed. */
    char tid[TID_MAX];
    snprintf(tid, sizeof tid, "%s:%s", !strcmp(kind, "stake") ? "hold" : "wd", id);
    json_t *t = plan_transfer(p, tid, kind, dr, cr, amount, ref);
    json_object_set_new(t, "pending", json_true());
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I}", "id", id, "transfer",
                     tid, "kind", kind,
                     "debit", dr, "credit", cr, "amount", (json_int_t)amount, "status", "pending",
                     "posted", (json_int_t)0, "expires_ms", (json_int_t)h.expires_ms,
                     "placed_ms", (json_int_t)p->op->now);
}

int hold_store(struct wop *op, json_t *hold)
{
    const char *id = store_str(hold, "id");
    int rv = wallet_put(op->txn, DB(op->f)->holds, id, hold);
    uint64_t at = (uint64_t)jint(hold, "expires_ms");
    if (rv == 0 && at && !strcmp(store_str(hold, "status"), "pending")) {
        uint8_t key[8 + TID_MAX];
        size_t klen;
        expiry_key(at, id, key, &klen);
        MDB_val k = {klen, key}, v = {0, ""};
        rv = mdb_put(op->txn, DB(op->f)->expiry, &k, &v, 0);
    }
    return rv;
}

/* Resolve hold @hold in the plan: @how is "post" (@amount), "void" or "expire". On success the
 * hold record is updated in memory (status, posted) and the resolution transfer listed. */
enum ledger_code plan_resolve(struct plan *p, json_t *hold, const char *how,
                              int64_t amount)
{
    struct ledger_hold h;
    hold_from_json(hold, &h);
    const char *dr = store_str(hold, "debit"), *cr = store_str(hold, "credit");
    struct ledger_account *d = &plan_acct(p, dr)->l, *c = &plan_acct(p, cr)->l;
    enum ledger_code lc = !strcmp(how, "post")   ? ledger_post(d, c, &h, amount, p->op->now)
                          : !strcmp(how, "void") ? ledger_void(d, c, &h)
                                                 : ledger_expire(d, c, &h, p->op->now);
    if (lc != LEDGER_OK)
        return lc;
    char tid[TID_MAX + 8];
    snprintf(tid, sizeof tid, "%s:%s", store_str(hold, "transfer"), how);
    json_t *t = plan_transfer(p, tid, !strcmp(how, "post") ? "hold_post"
                                      : !strcmp(how, "void") ? "hold_void"
                                                             : "hold_expire",
                              dr, cr, h.status == LEDGER_POSTED ? h.posted : 0,
                              store_str(hold, "id"));
    json_object_set_new(t, "resolves", json_string(store_str(hold, "id")));
    json_object_set_new(t, "released", json_integer(h.amount));
    json_object_set_new(hold, "status", json_string(hold_status_name(h.status)));
    json_object_set_new(hold, "posted", json_integer(h.posted));
    json_object_set_new(hold, "resolved_ms", json_integer((json_int_t)p->op->now));
    return LEDGER_OK;
}

static int need_cluster(struct wop *op, const char *cluster)
{
    if (op->cluster_ok) /* a batch's item: the batch checked it */
        return 1;
    json_t *c = wallet_cluster_name_valid(cluster)
                    ? store_get_json(op->txn, DB(op->f)->clusters, cluster, strlen(cluster))
                    : NULL;
    if (c) {
        json_decref(c);
        return 1;
    }
    refuse(op, 403, "unknown_cluster", "Unknown sport cluster",
           "sport cluster '%s' is not registered on this accounts cluster", cluster ? cluster : "");
    return 0;
}

int hold_place(struct wop *op)
{
    const char *hid = store_str(op->b, "hold_id"), *pid = store_str(op->b, "player_id"),
               *cl = store_str(op->b, "cluster");
    int64_t amount, timeout;
    if (!wallet_id_valid(hid) || !int_field(op->b, "amount", 1, LEDGER_AMOUNT_MAX, &amount) ||
        !int_field(op->b, "timeout_ms", 1000, (int64_t)WALLET_HOLD_TIMEOUT_MAX_MS, &timeout))
        return refuse(op, 422, "amount_invalid", "Invalid hold",
                      "a hold needs an id, an amount of 1 to %lld cents and a timeout of 1 s to "
                      "30 days",
                      (long long)LEDGER_AMOUNT_MAX);
    if (!need_cluster(op, cl))
        return 0;
    json_t *old = store_get_json(op->txn, DB(op->f)->holds, hid, strlen(hid));
    if (old) {
        bool same = !strcmp(store_str(old, "kind"), "stake") &&
                    !strcmp(store_str(old, "player"), pid ? pid : "") &&
                    !strcmp(store_str(old, "cluster"), cl) && jint(old, "amount") == amount &&
                    jint(old, "timeout_ms") == timeout;
        if (same)
            store_result_json(op->res, 201, json_incref(json_object_get(old, "placed")));
        else
            refuse(op, 409, "hold_exists", "Hold exists",
                   "hold '%s' exists with other fields", hid);
        json_decref(old);
        return 0;
    }
    json_t *player = need_player(op, pid);
    if (!player)
        return 0;
    json_t *prof = profile_load(op, pid);
    profile_promote(prof, op->now);
    struct plan p = {.op = op};
    int rv = 0;
    int64_t lim = limit_of(prof, "stake_7d"), used = stakes_used(op->f, op->txn, pid, op->now);
    char cash[ACCT_MAX], stakes[ACCT_MAX];
    snprintf(cash, sizeof cash, "player:%s", pid);
    snprintf(stakes, sizeof stakes, "sys:stakes:%s", cl);
    int64_t debt = -debt_of(&p, pid);
    if (play_refused(op, player, prof)) {
    } else if (debt > 0) {
        refuse(op, 403, "debt_outstanding", "Debt outstanding",
               "the player owes %lld cents after a refund or chargeback; a deposit settles it",
               (long long)debt);
    } else if (lim < 0) {
        refuse(op, 403, "limits_required", "Limits required",
               "set a 7-day stake limit before the first bet");
    } else if (used + amount > lim) {
        refuse(op, 403, "stake_limit", "Stake limit reached",
               "this stake of %lld cents would bring the last 7 days' stakes to %lld cents, over "
               "the limit of %lld",
               (long long)amount, (long long)(used + amount), (long long)lim);
    } else {
        enum ledger_code lc;
        json_t *hold = plan_hold(&p, hid, "stake", cash, stakes, amount, (uint64_t)timeout, hid,
                                 &lc);
        if (!hold) {
            ledger_refuse(op, lc, "hold");
        } else {
            json_t *placed = json_pack(
                "{s:s, s:s, s:s, s:I, s:s, s:I, s:I}", "id", hid, "player", pid, "cluster", cl,
                "amount", (json_int_t)amount, "status", "pending", "expires_ms",
                jint(hold, "expires_ms"), "available",
                (json_int_t)ledger_available(&plan_acct(&p, cash)->l));
            json_object_set_new(hold, "player", json_string(pid));
            json_object_set_new(hold, "cluster", json_string(cl));
            json_object_set_new(hold, "timeout_ms", json_integer(timeout));
            json_object_set(hold, "placed", placed);
            rv = plan_commit(&p);
            if (rv == 0)
                rv = hold_store(op, hold);
            if (rv == 0)
                rv = stakes_add(op, pid, hid, amount);
            if (rv == 0)
                store_result_json(op->res, 201, json_incref(placed));
            json_decref(placed);
            json_decref(hold);
        }
    }
    plan_free(&p);
    json_decref(prof);
    json_decref(player);
    return rv;
}

/* The hold a sport cluster resolves, or a refusal. */
json_t *stake_hold(struct wop *op, const char *hid, const char *cl)
{
    json_t *h = wallet_id_valid(hid) ? store_get_json(op->txn, DB(op->f)->holds, hid, strlen(hid))
                                     : NULL;
    /* No cluster in the payload is no hold either (found by tests/fuzz: strcmp on NULL). */
    if (!h || !cl || strcmp(store_str(h, "kind"), "stake") || strcmp(store_str(h, "cluster"), cl)) {
        json_decref(h);
        refuse(op, 404, "no_such_hold", "No such hold", "cluster '%s' has no hold '%s'",
               cl ? cl : "", hid ? hid : "");
        return NULL;
    }
    return h;
}

/* A hold that is not pending any more: the same resolve answers what it answered the first time,
 * another answers what happened. */
static int resolved_answer(struct wop *op, json_t *h, bool same)
{
    if (same && json_object_get(h, "result"))
        store_result_json(op->res, 200, json_incref(json_object_get(h, "result")));
    else {
        const char *s = store_str(h, "status");
        refuse(op, 409,
               !strcmp(s, "posted")   ? "hold_already_posted"
               : !strcmp(s, "voided") ? "hold_already_voided"
                                      : "hold_expired",
               "Hold already resolved", "hold '%s' was %s at %lld", store_str(h, "id"), s,
               (long long)jint(h, "resolved_ms"));
    }
    return 0;
}

void trj_add(struct wop *op, int64_t stake, int64_t payout, int *rv)
{
    time_t t = (time_t)(op->now / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char k[64];
    snprintf(k, sizeof k, "wallet.trj.%04d.stakes", tm.tm_year + 1900);
    if (*rv == 0)
        *rv = fsm_meta_put(op->f, op->txn, k, fsm_meta_get(op->f, op->txn, k) + (uint64_t)stake);
    snprintf(k, sizeof k, "wallet.trj.%04d.payouts", tm.tm_year + 1900);
    if (*rv == 0)
        *rv = fsm_meta_put(op->f, op->txn, k, fsm_meta_get(op->f, op->txn, k) + (uint64_t)payout);
}

/* A pending hold resolved: @result (not stolen) becomes its result, the plan's transfers are
 * written, the hold leaves the expiry index and is stored. */
static int hold_resolved(struct wop *op, struct plan *p, json_t *h, json_t *result)
{
    const char *hid = store_str(h, "id");
    json_object_set(h, "result", result);
    int rv = plan_commit(p);
    if (rv == 0)
        rv = expiry_del(op, h);
    if (rv == 0)
        rv = wallet_put(op->txn, DB(op->f)->holds, hid, h);
    return rv;
}

int hold_post(struct wop *op)
{
    const char *hid = store_str(op->b, "hold_id"), *cl = store_str(op->b, "cluster");
    int64_t stake, payout;
    if (!int_field(op->b, "stake", 1, LEDGER_AMOUNT_MAX, &stake) ||
        !int_field(op->b, "payout", 0, LEDGER_AMOUNT_MAX, &payout))
        return refuse(op, 422, "amount_invalid", "Invalid post",
                      "a post needs the stake kept (1 cent up to the hold) and a payout (0 or "
                      "more cents)");
    json_t *h = stake_hold(op, hid, cl);
    if (!h)
        return 0;
    int rv = 0;
    if (strcmp(store_str(h, "status"), "pending")) {
        json_t *r = json_object_get(h, "result");
        bool same = r && !strcmp(store_str(h, "status"), "posted") && jint(r, "stake") == stake &&
                    jint(r, "payout") == payout;
        resolved_answer(op, h, same);
        json_decref(h);
        return 0;
    }
    struct plan p = {.op = op};
    const char *pid = store_str(h, "player");
    char cash[ACCT_MAX], stakes[ACCT_MAX], tid[TID_MAX];
    snprintf(cash, sizeof cash, "player:%s", pid);
    snprintf(stakes, sizeof stakes, "sys:stakes:%s", cl);
    enum ledger_code lc = plan_resolve(&p, h, "post", stake);
    snprintf(tid, sizeof tid, "hold:%s:stake", hid);
    if (lc == LEDGER_OK)
        lc = plan_move(&p, tid, "stake", stakes, HOUSE, stake, hid);
    snprintf(tid, sizeof tid, "hold:%s:payout", hid);
    if (lc == LEDGER_OK && payout > 0)
        lc = plan_move(&p, tid, "payout", HOUSE, cash, payout, hid);
    json_t *auto_w = NULL; /* a withdrawal above the auto_withdraw threshold */
    if (lc == LEDGER_OK && payout > 0) {
        json_t *player = accounts_player_get(op->f, op->txn, pid), *prof = profile_load(op, pid);
        auto_w = auto_withdraw_plan(&p, pid, player, prof, &lc);
        json_decref(prof);
        json_decref(player);
    }
    if (lc != LEDGER_OK) {
        ledger_refuse(op, lc, "post");
    } else {
        json_t *r = json_pack("{s:s, s:s, s:I, s:I, s:I}", "id", hid, "status", "posted", "stake",
                              (json_int_t)stake, "payout", (json_int_t)payout, "returned",
                              (json_int_t)(jint(h, "amount") - stake));
        json_object_set_new(h, "payout", json_integer(payout));
        rv = hold_resolved(op, &p, h, r);
        if (rv == 0)
            rv = auto_withdraw_store(op, auto_w);
        trj_add(op, stake, payout, &rv);
        if (rv == 0)
            store_result_json(op->res, 200, json_incref(r));
        json_decref(r);
    }
    json_decref(auto_w);
    plan_free(&p);
    json_decref(h);
    return rv;
}

int hold_void(struct wop *op)
{
    const char *hid = store_str(op->b, "hold_id"), *cl = store_str(op->b, "cluster");
    json_t *h = stake_hold(op, hid, cl);
    if (!h)
        return 0;
    if (strcmp(store_str(h, "status"), "pending")) {
        resolved_answer(op, h, !strcmp(store_str(h, "status"), "voided"));
        json_decref(h);
        return 0;
    }
    struct plan p = {.op = op};
    int rv = 0;
    enum ledger_code lc = plan_resolve(&p, h, "void", 0);
    if (lc != LEDGER_OK) {
        ledger_refuse(op, lc, "void");
    } else {
        json_t *r = json_pack("{s:s, s:s, s:I}", "id", hid, "status", "voided", "returned",
                              jint(h, "amount"));
        rv = stakes_remove(op, h); /* a bet that never stood did not count */
        if (rv == 0)
            rv = hold_resolved(op, &p, h, r);
        if (rv == 0)
            store_result_json(op->res, 200, json_incref(r));
        json_decref(r);
    }
    plan_free(&p);
    json_decref(h);
    return rv;
}

int hold_expire(struct wop *op)
{
    MDB_cursor *cur;
    int rv = mdb_cursor_open(op->txn, DB(op->f)->expiry, &cur);
    if (rv)
        return rv;
    /* Collect first: the cursor's database changes as holds expire. */
    json_t *due = json_array();
    MDB_val k, v;
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
         r == 0 && json_array_size(due) < WALLET_EXPIRE_BATCH;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= 8 || store_be64_get(k.mv_data) > op->now)
            break;
        json_array_append_new(due, json_stringn((const char *)k.mv_data + 8, k.mv_size - 8));
    }
    mdb_cursor_close(cur);
    size_t i, n = 0;
    json_t *id;
    json_array_foreach(due, i, id)
    {
        if (rv)
            break;
        const char *hid = json_string_value(id);
        json_t *h = store_get_json(op->txn, DB(op->f)->holds, hid, strlen(hid));
        if (!h || strcmp(store_str(h, "status"), "pending")) {
            json_decref(h);
            continue;
        }
        struct plan p = {.op = op};
        if (plan_resolve(&p, h, "expire", 0) == LEDGER_OK) {
            json_t *r = json_pack("{s:s, s:s, s:I}", "id", hid, "status", "expired", "returned",
                                  jint(h, "amount"));
            rv = stakes_remove(op, h);
            if (rv == 0)
                rv = hold_resolved(op, &p, h, r);
            json_decref(r);
            n++;
        }
        plan_free(&p);
        json_decref(h);
    }
    json_decref(due);
    if (rv == 0)
        store_result_json(op->res, 200, json_pack("{s:I}", "expired", (json_int_t)n));
    return rv;
}

/* CMD_HOLD_BATCH: many hold operations of one sport cluster in one command. Each item runs
 * through the single-item function (hold_place, hold_post, hold_void) with its own result, in
 * the order given, so it obeys exactly the single-item rules (idempotent by hold id, the same
 * refusals, no overdraft, limits, exclusion); a refused item changes nothing and does not
 * refuse the others. Only an LMDB error fails the whole command (nothing of it is kept). The
 * answer is written as text, each item's result spliced in as it is (no parse again). */
struct text {
    char *p;
    size_t n, cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        t->cap = (t->n + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = 0;
}

static int batch_item(struct wop *op, const char *cl, json_t *item, size_t i, struct text *out)
{
    struct fsm_result r = {0, NULL};
    struct wop sub = *op;
    sub.res = &r;
    /* The item itself (the parsed payload is the command's own): no copy per item. */
    sub.b = json_is_object(item) ? json_incref(item) : json_object();
    json_object_set_new(sub.b, "cluster", json_string(cl));
    const char *what = store_str(sub.b, "op"), *hid = store_str(sub.b, "hold_id");
    int rv = 0;
    if (!what || !hid)
        refuse(&sub, 422, "invalid_batch_item", "Invalid batch item",
               "items[%zu]: need {op: place|post|void, hold_id, ...}", i);
    else if (!strcmp(what, "place"))
        rv = hold_place(&sub);
    else if (!strcmp(what, "post"))
        rv = hold_post(&sub);
    else if (!strcmp(what, "void"))
        rv = hold_void(&sub);
    else
        refuse(&sub, 422, "invalid_batch_item", "Invalid batch item",
               "items[%zu]: op '%s' is not place, post or void", i, what);
    if (rv == 0) {
        /* A valid hold id needs no escaping ([A-Za-z0-9_.:-]); any other is answered as "". */
        char head[WALLET_ID_MAX + 64];
        int n = snprintf(head, sizeof head, "%s{\"hold_id\":\"%s\",\"status\":%d,\"body\":",
                         i ? "," : "", wallet_id_valid(hid) ? hid : "", r.status);
        text_add(out, head, (size_t)n);
        const char *b = r.body ? r.body : "null";
        text_add(out, b, strlen(b));
        text_add(out, "}", 1);
    }
    fsm_result_clear(&r);
    json_decref(sub.b);
    return rv;
}

int hold_batch(struct wop *op)
{
    const char *cl = store_str(op->b, "cluster");
    json_t *items = json_object_get(op->b, "items");
    if (!json_is_array(items) || json_array_size(items) < 1 ||
        json_array_size(items) > WALLET_HOLD_BATCH_MAX)
        return refuse(op, 422, "invalid_batch", "Invalid hold batch",
                      "a hold batch needs items: an array of 1 to %d hold operations",
                      WALLET_HOLD_BATCH_MAX);
    if (!need_cluster(op, cl))
        return 0;
    struct text out = {0};
    op->cluster_ok = true;
    op->players = json_object();
    op->profiles = json_object();
    op->dirty = json_object();
    op->accts = json_object(); /* only accounts an item wrote are kept: each is flushed */
    text_add(&out, "{\"cluster\":\"", strlen("{\"cluster\":\""));
    text_add(&out, cl, strlen(cl)); /* a registered name: [a-z0-9_-] */
    text_add(&out, "\",\"results\":[", strlen("\",\"results\":["));
    json_t *item;
    size_t i;
    int rv = 0;
    json_array_foreach(items, i, item)
    {
        if ((rv = batch_item(op, cl, item, i, &out)))
            break;
    }
    text_add(&out, "]}", 2);
    if (rv == 0)
        rv = profiles_flush(op);
    if (rv == 0)
        rv = accts_flush(op);
    json_decref(op->profiles);
    json_decref(op->dirty);
    json_decref(op->accts);
    json_decref(op->players);
    op->profiles = op->dirty = op->accts = op->players = NULL;
    op->cluster_ok = false;
    if (rv == 0)
        fsm_result_set(op->res, 200, out.p);
    else
        free(out.p);
    return rv;
}

int correct_apply(struct wop *op)
{
    const char *id = store_str(op->b, "id"), *dr = store_str(op->b, "debit"),
               *cr = store_str(op->b, "credit"), *corrects = store_str(op->b, "corrects"),
               *reason = store_str_max(op->b, "reason", 500);
    int64_t amount;
    if (!wallet_id_valid(id) || !acct_id_valid(dr) || !acct_id_valid(cr) ||
        !int_field(op->b, "amount", 1, LEDGER_AMOUNT_MAX, &amount) || !reason ||
        strlen(reason) < 3 || !corrects || strlen(corrects) >= TID_MAX)
        return refuse(op, 422, "invalid_correction", "Invalid correction",
                      "a correction needs an id, two known accounts, an amount in cents, the "
                      "transfer it corrects and a reason of 3 to 500 characters");
    char tid[TID_MAX];
    snprintf(tid, sizeof tid, "fix:%s", id);
    json_t *old = store_get_json(op->txn, DB(op->f)->transfers, tid, strlen(tid));
    if (old) {
        bool same = !strcmp(store_str(old, "debit"), dr) && !strcmp(store_str(old, "credit"), cr) &&
                    jint(old, "amount") == amount && !strcmp(store_str(old, "corrects"), corrects);
        if (same)
            store_result_json(op->res, 200, json_incref(old));
        else
            refuse(op, 409, "transfer_exists", "Correction exists",
                   "correction '%s' exists with other fields", id);
        json_decref(old);
        return 0;
    }
    json_t *target = store_get_json(op->txn, DB(op->f)->transfers, corrects, strlen(corrects));
    if (!target)
        return refuse(op, 404, "no_such_transfer", "No such transfer",
                      "transfer '%s' does not exist", corrects);
    json_decref(target);
    struct plan p = {.op = op};
    int rv = 0;
    enum ledger_code lc = plan_move(&p, tid, "correction", dr, cr, amount, corrects);
    if (lc != LEDGER_OK) {
        ledger_refuse(op, lc, "correction");
    } else {
        json_object_set_new(p.t[0], "corrects", json_string(corrects));
        json_object_set_new(p.t[0], "reason", json_string(reason));
        rv = plan_commit(&p);
        if (rv == 0)
            store_result_json(op->res, 201, json_incref(p.t[0]));
    }
    plan_free(&p);
    return rv;
}
