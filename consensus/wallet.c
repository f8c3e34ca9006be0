/* Wallets: apply and queries. See wallet.h for the accounts, the records and the rules.
 *
 * Every command works on a plan: the accounts it names are loaded into memory, the ledger's pure
 * functions (ledger.c) change the copies, and the transfers are listed; only when every step was
 * allowed are the accounts, transfers and statement lines written, in the command's own write
 * transaction. A refusal (problem+json with a stable `code`) leaves nothing behind. No clock, no
 * randomness: the time is the leader's stamp (c->time_ms), ids came with the command. */
#include "consensus/wallet.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "consensus/accounts.h"
#include "consensus/cmdtable.h"
#include "consensus/ledger.h"
#include "consensus/store.h"

const struct fsm_domain wallet_domain;

struct wallet_dbs {
    MDB_dbi accounts, transfers, statement, holds, expiry, profiles, deposits, withdrawals,
        events, clusters;
};

static const struct wallet_dbs *DB(struct fsm *f)
{
    return (const struct wallet_dbs *)fsm_domain_dbis(f, &wallet_domain);
}

#define ACCT_MAX 128
#define TID_MAX 128

static const char CLEARING[] = "sys:clearing", PAYOUTS[] = "sys:payouts", HOUSE[] = "sys:house";

bool wallet_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n < 1 || n > WALLET_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':'))
            return false;
    }
    return true;
}

bool wallet_cluster_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* ---- a command being applied ---- */

struct wop {
    struct fsm *f;
    MDB_txn *txn;
    const struct cmd *c;
    struct fsm_result *res;
    json_t *b;     /* the payload */
    uint64_t now;  /* the leader's stamp */
    char ts[32];
};

/* A refusal: problem+json with a stable machine-readable @code. Returns 0 (apply's "refused"). */
static int refuse(struct wop *op, int status, const char *code, const char *title,
                  const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    store_result_json(op->res, status,
                      json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank", "title", title,
                                "status", status, "detail", detail, "code", code));
    return 0;
}

static bool int_field(json_t *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return false;
    *out = (int64_t)json_integer_value(v);
    return true;
}

static int64_t jint(json_t *o, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(o, key));
}

/* ---- accounts ---- */

struct acct {
    char id[ACCT_MAX];
    struct ledger_account l;
    uint64_t seq;
    char kind[16];
};

static void acct_kind(const char *id, char kind[16], uint32_t *flags)
{
    *flags = 0;
    if (!strncmp(id, "player:", 7)) {
        strcpy(kind, "player");
        *flags = LEDGER_NO_OVERDRAFT;
    } else if (!strncmp(id, "debt:", 5)) {
        strcpy(kind, "debt");
    } else {
        strcpy(kind, "system");
    }
}

/* An account id this domain knows the shape of. */
static bool acct_id_valid(const char *id)
{
    if (!id || strlen(id) >= ACCT_MAX)
        return false;
    if (!strncmp(id, "player:", 7) || !strncmp(id, "debt:", 5))
        return accounts_player_id_valid(strchr(id, ':') + 1);
    if (!strncmp(id, "sys:stakes:", 11))
        return wallet_cluster_name_valid(id + 11);
    return !strcmp(id, CLEARING) || !strcmp(id, PAYOUTS) || !strcmp(id, HOUSE);
}

static void acct_from_json(json_t *j, const char *id, struct acct *a)
{
    memset(a, 0, sizeof *a);
    snprintf(a->id, sizeof a->id, "%s", id);
    acct_kind(id, a->kind, &a->l.flags);
    if (j) {
        a->l.debits_pending = jint(j, "dp");
        a->l.debits_posted = jint(j, "dpo");
        a->l.credits_pending = jint(j, "cp");
        a->l.credits_posted = jint(j, "cpo");
        a->seq = (uint64_t)jint(j, "seq");
    }
}

static void acct_load(struct fsm *f, MDB_txn *txn, const char *id, struct acct *a)
{
    json_t *j = store_get_json(txn, DB(f)->accounts, id, strlen(id));
    acct_from_json(j, id, a);
    json_decref(j);
}

static json_t *acct_json(const struct acct *a)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:i, s:I}", "id", a->id, "kind", a->kind,
                     "dp", (json_int_t)a->l.debits_pending, "dpo",
                     (json_int_t)a->l.debits_posted, "cp", (json_int_t)a->l.credits_pending,
                     "cpo", (json_int_t)a->l.credits_posted, "flags", (int)a->l.flags, "seq",
                     (json_int_t)a->seq);
}

/* ---- plans: what a command will write, decided in memory first ---- */

#define PLAN_ACCTS 6
#define PLAN_TRANSFERS 6

struct plan {
    struct wop *op;
    struct acct acct[PLAN_ACCTS];
    int nacct;
    json_t *t[PLAN_TRANSFERS];
    int nt;
};

static struct acct *plan_acct(struct plan *p, const char *id)
{
    for (int i = 0; i < p->nacct; i++)
        if (!strcmp(p->acct[i].id, id))
            return &p->acct[i];
    if (p->nacct == PLAN_ACCTS)
        abort(); /* a command names at most four accounts */
    struct acct *a = &p->acct[p->nacct++];
    acct_load(p->op->f, p->op->txn, id, a);
    return a;
}

static json_t *plan_transfer(struct plan *p, const char *id, const char *kind, const char *dr,
                             const char *cr, int64_t amount, const char *ref)
{
    if (p->nt == PLAN_TRANSFERS)
        abort();
    json_t *t = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s}", "id", id, "kind", kind,
                          "debit", dr, "credit", cr, "amount", (json_int_t)amount, "ref",
                          ref ? ref : "", "at_ms", (json_int_t)p->op->now, "at", p->op->ts);
    p->t[p->nt++] = t;
    return t;
}

static void plan_free(struct plan *p)
{
    for (int i = 0; i < p->nt; i++)
        json_decref(p->t[i]);
    p->nt = 0;
}

static enum ledger_code plan_move(struct plan *p, const char *id, const char *kind,
                                  const char *dr, const char *cr, int64_t amount, const char *ref)
{
    enum ledger_code lc = ledger_move(&plan_acct(p, dr)->l, &plan_acct(p, cr)->l, amount);
    if (lc == LEDGER_OK)
        plan_transfer(p, id, kind, dr, cr, amount, ref);
    return lc;
}

static void statement_key(const char *account, uint64_t seq, uint8_t *key, size_t *klen)
{
    size_t n = strlen(account);
    memcpy(key, account, n);
    key[n] = 0;
    store_be64_put(key + n + 1, seq);
    *klen = n + 9;
}

/* Write everything the plan decided. */
static int plan_commit(struct plan *p)
{
    struct wop *op = p->op;
    int rv = 0;
    for (int i = 0; i < p->nt && rv == 0; i++) {
        const char *id = store_str(p->t[i], "id");
        rv = store_put_json(op->txn, DB(op->f)->transfers, id, strlen(id), p->t[i], NULL);
        const char *side[2] = {store_str(p->t[i], "debit"), store_str(p->t[i], "credit")};
        for (int s = 0; s < 2 && rv == 0; s++) {
            struct acct *a = plan_acct(p, side[s]);
            uint8_t key[ACCT_MAX + 9];
            size_t klen;
            statement_key(a->id, ++a->seq, key, &klen);
            MDB_val k = {klen, key}, v = {strlen(id), (void *)id};
            rv = mdb_put(op->txn, DB(op->f)->statement, &k, &v, 0);
        }
    }
    for (int i = 0; i < p->nacct && rv == 0; i++) {
        json_t *j = acct_json(&p->acct[i]);
        rv = store_put_json(op->txn, DB(op->f)->accounts, p->acct[i].id, strlen(p->acct[i].id), j,
                            NULL);
        json_decref(j);
    }
    return rv;
}

static int ledger_refuse(struct wop *op, enum ledger_code lc, const char *what)
{
    switch (lc) {
    case LEDGER_E_INSUFFICIENT:
        return refuse(op, 409, "insufficient_funds", "Insufficient funds",
                      "%s: the available balance does not cover it (holds included)", what);
    case LEDGER_E_POSTED:
    case LEDGER_E_VOIDED:
    case LEDGER_E_EXPIRED:
        return refuse(op, 409, ledger_code_name(lc), "Hold already resolved", "%s: %s", what,
                      ledger_code_name(lc));
    case LEDGER_E_POST_EXCEEDS:
        return refuse(op, 422, "post_exceeds_hold", "Post exceeds hold",
                      "%s: the stake posted is larger than the hold", what);
    default:
        return refuse(op, 422, ledger_code_name(lc), "Transfer refused", "%s: %s", what,
                      ledger_code_name(lc));
    }
}

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

static void expiry_key(uint64_t at, const char *id, uint8_t *key, size_t *klen)
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
static json_t *plan_hold(struct plan *p, const char *id, const char *kind, const char *dr,
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

static int hold_store(struct wop *op, json_t *hold)
{
    const char *id = store_str(hold, "id");
    int rv = store_put_json(op->txn, DB(op->f)->holds, id, strlen(id), hold, NULL);
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
static enum ledger_code plan_resolve(struct plan *p, json_t *hold, const char *how,
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

/* ---- profiles and player protection ---- */

static const char *const LIMITS[] = {"deposit_7d", "stake_7d", "auto_withdraw", NULL};

static json_t *profile_read(struct fsm *f, MDB_txn *txn, const char *player)
{
    json_t *p = store_get_json(txn, DB(f)->profiles, player, strlen(player));
    if (!p)
        p = json_pack("{s:{}, s:{}, s:{s:[], s:[]}}", "limits", "pending", "window", "deposits",
                      "stakes");
    return p;
}

static json_t *profile_load(struct wop *op, const char *player)
{
    return profile_read(op->f, op->txn, player);
}

/* Raises whose 48 hours are over take effect (in memory; stored with the next write). */
static void profile_promote(json_t *prof, uint64_t now)
{
    json_t *pending = json_object_get(prof, "pending"), *limits = json_object_get(prof, "limits");
    for (const char *const *n = LIMITS; *n; n++) {
        json_t *r = json_object_get(pending, *n);
        if (r && (uint64_t)jint(r, "from_ms") <= now) {
            json_object_set(limits, *n, json_object_get(r, "value"));
            json_object_del(pending, *n);
        }
    }
}

static int64_t limit_of(json_t *prof, const char *name)
{
    json_t *v = json_object_get(json_object_get(prof, "limits"), name);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* What the window @which has used in the 7 days before @now. */
static int64_t window_used(json_t *prof, const char *which, uint64_t now)
{
    json_t *w = json_object_get(json_object_get(prof, "window"), which), *e;
    size_t i;
    int64_t sum = 0;
    json_array_foreach(w, i, e) if ((uint64_t)jint(e, "at_ms") + WALLET_WINDOW_MS > now) sum +=
        jint(e, "amount");
    return sum;
}

/* Drop entries older than 7 days, then add one (when @id is not NULL). */
static void window_add(json_t *prof, const char *which, const char *id, int64_t amount,
                       uint64_t now)
{
    json_t *w = json_object_get(json_object_get(prof, "window"), which);
    for (size_t i = json_array_size(w); i-- > 0;)
        if ((uint64_t)jint(json_array_get(w, i), "at_ms") + WALLET_WINDOW_MS <= now)
            json_array_remove(w, i);
    if (id)
        json_array_append_new(w, json_pack("{s:s, s:I, s:I}", "id", id, "at_ms", (json_int_t)now,
                                           "amount", (json_int_t)amount));
}

static void window_remove(json_t *prof, const char *which, const char *id)
{
    json_t *w = json_object_get(json_object_get(prof, "window"), which);
    for (size_t i = json_array_size(w); i-- > 0;)
        if (!strcmp(store_str(json_array_get(w, i), "id"), id))
            json_array_remove(w, i);
}

static int profile_store(struct wop *op, const char *player, json_t *prof)
{
    return store_put_json(op->txn, DB(op->f)->profiles, player, strlen(player), prof, NULL);
}

static uint64_t rfc3339_ms(const char *s)
{
    struct tm tm = {0};
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!end)
        return 0;
    time_t t = timegm(&tm);
    return t > 0 ? (uint64_t)t * 1000 : 0;
}

static bool verified(json_t *player)
{
    const char *s = store_str(player, "kyc_status");
    return s && !strcmp(s, "verified");
}

static int64_t debt_of(struct plan *p, const char *player)
{
    char id[ACCT_MAX];
    snprintf(id, sizeof id, "debt:%s", player);
    return ledger_balance(&plan_acct(p, id)->l);
}

/* The player of the command (accounts domain), or a 404 refusal. */
static json_t *need_player(struct wop *op, const char *id)
{
    json_t *p = accounts_player_id_valid(id) ? accounts_player_get(op->f, op->txn, id) : NULL;
    if (!p)
        refuse(op, 404, "no_such_player", "No such player", "player '%s' does not exist",
               id ? id : "");
    return p;
}

/* The refusals every way of putting money at stake shares (deposits, holds): blocked, excluded,
 * deactivated. Returns 1 when refused (the result is set). */
static int play_refused(struct wop *op, json_t *player, json_t *prof)
{
    json_t *blocked = json_object_get(prof, "blocked");
    if (blocked)
        return refuse(op, 403, "account_blocked", "Account blocked",
                      "an operator blocked this account: %s", store_str(blocked, "reason")),
               1;
    uint64_t until = (uint64_t)jint(prof, "excluded_until_ms");
    if (until > op->now) {
        char t[32];
        fsm_format_time(until, t);
        return refuse(op, 403, "self_excluded", "Self-excluded",
                      "the player excluded themselves until %s", t),
               1;
    }
    uint64_t created = rfc3339_ms(store_str(player, "created_at"));
    if (!verified(player) && created && created + WALLET_PROVISIONAL_MS <= op->now)
        return refuse(op, 403, "account_deactivated", "Account deactivated",
                      "the identity was not verified within a month of registration; verify it "
                      "to deposit and bet again"),
               1;
    return 0;
}

/* ---- commands ---- */

static int limits_apply(struct wop *op)
{
    const char *pid = store_str(op->b, "player_id");
    int64_t v[3];
    bool have[3], any = false;
    for (int i = 0; LIMITS[i]; i++) {
        json_t *x = json_object_get(op->b, LIMITS[i]);
        have[i] = x && !json_is_null(x);
        if (have[i] && !int_field(op->b, LIMITS[i], 0, LEDGER_AMOUNT_MAX, &v[i]))
            return refuse(op, 422, "invalid_limits", "Invalid limits",
                          "%s must be an integer number of cents from 0 to %lld", LIMITS[i],
                          (long long)LEDGER_AMOUNT_MAX);
        any = any || have[i];
    }
    if (!any)
        return refuse(op, 422, "invalid_limits", "Invalid limits",
                      "give at least one of deposit_7d, stake_7d, auto_withdraw (cents)");
    json_t *player = need_player(op, pid);
    if (!player)
        return 0;
    json_decref(player);
    json_t *prof = profile_load(op, pid);
    profile_promote(prof, op->now);
    json_t *limits = json_object_get(prof, "limits"), *pending = json_object_get(prof, "pending");
    for (int i = 0; LIMITS[i]; i++) {
        if (!have[i])
            continue;
        int64_t cur = limit_of(prof, LIMITS[i]);
        /* auto_withdraw protects the player the other way round: lowering it withdraws more. */
        bool safer = !strcmp(LIMITS[i], "auto_withdraw") ? v[i] >= cur : v[i] <= cur;
        if (cur < 0 || safer) {
            json_object_set_new(limits, LIMITS[i], json_integer(v[i]));
            json_object_del(pending, LIMITS[i]);
        } else {
            json_object_set_new(pending, LIMITS[i],
                                json_pack("{s:I, s:I}", "value", (json_int_t)v[i], "from_ms",
                                          (json_int_t)(op->now + WALLET_RAISE_DELAY_MS)));
        }
    }
    int rv = profile_store(op, pid, prof);
    if (rv == 0)
        store_result_json(op->res, 200,
                          json_pack("{s:s, s:O, s:O}", "player_id", pid, "limits", limits,
                                    "pending", pending));
    json_decref(prof);
    return rv;
}

static int exclude_apply(struct wop *op)
{
    const char *pid = store_str(op->b, "player_id");
    int64_t hours;
    if (!int_field(op->b, "hours", WALLET_EXCLUDE_MIN_H, WALLET_EXCLUDE_MAX_H, &hours))
        return refuse(op, 422, "invalid_exclusion", "Invalid exclusion",
                      "hours must be an integer from %d (24 hours) to %d (12 months)",
                      WALLET_EXCLUDE_MIN_H, WALLET_EXCLUDE_MAX_H);
    json_t *player = need_player(op, pid);
    if (!player)
        return 0;
    json_decref(player);
    json_t *prof = profile_load(op, pid);
    uint64_t until = op->now + (uint64_t)hours * 3600000, old = (uint64_t)jint(prof,
                                                                               "excluded_until_ms");
    if (old > until)
        until = old; /* never shortened */
    json_object_set_new(prof, "excluded_until_ms", json_integer((json_int_t)until));
    int rv = profile_store(op, pid, prof);
    char t[32];
    fsm_format_time(until, t);
    if (rv == 0)
        store_result_json(op->res, 200,
                          json_pack("{s:s, s:s, s:I}", "player_id", pid, "excluded_until", t,
                                    "excluded_until_ms", (json_int_t)until));
    json_decref(prof);
    return rv;
}

static int block_apply(struct wop *op)
{
    const char *pid = store_str(op->b, "player_id"), *reason = store_str_max(op->b, "reason", 500);
    json_t *blocked = json_object_get(op->b, "blocked");
    if (!json_is_boolean(blocked) || !reason || strlen(reason) < 3)
        return refuse(op, 422, "invalid_block", "Invalid decision",
                      "blocked (true or false) and a reason of 3 to 500 characters are required");
    json_t *player = need_player(op, pid);
    if (!player)
        return 0;
    json_decref(player);
    json_t *prof = profile_load(op, pid);
    if (json_is_true(blocked))
        json_object_set_new(prof, "blocked",
                            json_pack("{s:s, s:s}", "reason", reason, "at", op->ts));
    else
        json_object_del(prof, "blocked");
    int rv = profile_store(op, pid, prof);
    if (rv == 0)
        store_result_json(op->res, 200,
                          json_pack("{s:s, s:b, s:s}", "player_id", pid, "blocked",
                                    json_is_true(blocked), "reason", reason));
    json_decref(prof);
    return rv;
}

static int deposit_open(struct wop *op)
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

static int deposit_link(struct wop *op)
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

/* Take @amount back from @player toward @to for @kind (refund, chargeback): what the cash
 * account has available, the rest through the player's debt account. */
static enum ledger_code plan_take_back(struct plan *p, const char *player, const char *tid,
                                       const char *kind, int64_t amount, const char *ref)
{
    char cash[ACCT_MAX], debt[ACCT_MAX], t2[TID_MAX + 8];
    snprintf(cash, sizeof cash, "player:%s", player);
    snprintf(debt, sizeof debt, "debt:%s", player);
    int64_t avail = ledger_available(&plan_acct(p, cash)->l);
    int64_t from_cash = avail < 0 ? 0 : avail < amount ? avail : amount;
    enum ledger_code lc = LEDGER_OK;
    if (from_cash > 0)
        lc = plan_move(p, tid, kind, cash, CLEARING, from_cash, ref);
    snprintf(t2, sizeof t2, "%s:debt", tid);
    if (lc == LEDGER_OK && amount > from_cash)
        lc = plan_move(p, t2, kind, debt, CLEARING, amount - from_cash, ref);
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
            lc = plan_take_back(p, pid, tid, cb ? "chargeback" : "refund", jint(d, "amount"), did);
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
        }
        if (rv == 0)
            store_result_json(op->res, 200,
                              json_pack("{s:s, s:s, s:b}", "deposit", did, "status",
                                        store_str(d, "status"), "changed", next != NULL));
    }
    json_decref(prof);
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

static int pay_event(struct wop *op)
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

static int withdraw_open(struct wop *op)
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

static int withdraw_sent(struct wop *op)
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

static int need_cluster(struct wop *op, const char *cluster)
{
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

static int hold_place(struct wop *op)
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
    int64_t lim = limit_of(prof, "stake_7d"), used = window_used(prof, "stakes", op->now);
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
            window_add(prof, "stakes", hid, amount, op->now);
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
                rv = profile_store(op, pid, prof);
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
static json_t *stake_hold(struct wop *op, const char *hid, const char *cl)
{
    json_t *h = wallet_id_valid(hid) ? store_get_json(op->txn, DB(op->f)->holds, hid, strlen(hid))
                                     : NULL;
    if (!h || strcmp(store_str(h, "kind"), "stake") || strcmp(store_str(h, "cluster"), cl)) {
        json_decref(h);
        refuse(op, 404, "no_such_hold", "No such hold", "cluster '%s' has no hold '%s'", cl,
               hid ? hid : "");
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

static void trj_add(struct wop *op, int64_t stake, int64_t payout, int *rv)
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

static int hold_post(struct wop *op)
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
    if (lc != LEDGER_OK) {
        ledger_refuse(op, lc, "post");
    } else {
        json_t *r = json_pack("{s:s, s:s, s:I, s:I, s:I}", "id", hid, "status", "posted", "stake",
                              (json_int_t)stake, "payout", (json_int_t)payout, "returned",
                              (json_int_t)(jint(h, "amount") - stake));
        json_object_set(h, "result", r);
        json_object_set_new(h, "payout", json_integer(payout));
        rv = plan_commit(&p);
        if (rv == 0)
            rv = expiry_del(op, h);
        if (rv == 0)
            rv = store_put_json(op->txn, DB(op->f)->holds, hid, strlen(hid), h, NULL);
        trj_add(op, stake, payout, &rv);
        if (rv == 0)
            store_result_json(op->res, 200, json_incref(r));
        json_decref(r);
    }
    plan_free(&p);
    json_decref(h);
    return rv;
}

static int hold_void(struct wop *op)
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
        const char *pid = store_str(h, "player");
        json_t *prof = profile_load(op, pid);
        window_remove(prof, "stakes", hid); /* a bet that never stood did not count */
        json_t *r = json_pack("{s:s, s:s, s:I}", "id", hid, "status", "voided", "returned",
                              jint(h, "amount"));
        json_object_set(h, "result", r);
        rv = plan_commit(&p);
        if (rv == 0)
            rv = expiry_del(op, h);
        if (rv == 0)
            rv = store_put_json(op->txn, DB(op->f)->holds, hid, strlen(hid), h, NULL);
        if (rv == 0)
            rv = profile_store(op, pid, prof);
        if (rv == 0)
            store_result_json(op->res, 200, json_incref(r));
        json_decref(r);
        json_decref(prof);
    }
    plan_free(&p);
    json_decref(h);
    return rv;
}

static int hold_expire(struct wop *op)
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
            json_object_set_new(h, "result", json_pack("{s:s, s:s, s:I}", "id", hid, "status",
                                                       "expired", "returned", jint(h, "amount")));
            json_t *prof = profile_load(op, store_str(h, "player"));
            window_remove(prof, "stakes", hid);
            rv = plan_commit(&p);
            if (rv == 0)
                rv = expiry_del(op, h);
            if (rv == 0)
                rv = store_put_json(op->txn, DB(op->f)->holds, hid, strlen(hid), h, NULL);
            if (rv == 0)
                rv = profile_store(op, store_str(h, "player"), prof);
            json_decref(prof);
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

static int correct_apply(struct wop *op)
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

static bool pubkey_hex(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n != 66)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[0] == '0' && (s[1] == '2' || s[1] == '3');
}

static int cluster_apply(struct wop *op)
{
    const char *name = store_str(op->b, "name");
    json_t *keys = json_object_get(op->b, "keys"), *k;
    size_t i;
    bool ok = wallet_cluster_name_valid(name) && json_is_array(keys) &&
              json_array_size(keys) >= 1 && json_array_size(keys) <= WALLET_CLUSTER_KEYS_MAX;
    json_array_foreach(keys, i, k) ok = ok && pubkey_hex(json_string_value(k));
    if (!ok)
        return refuse(op, 422, "invalid_cluster", "Invalid sport cluster",
                      "a sport cluster needs a name (1 to 32 of a-z 0-9 _ -) and 1 to %d members' "
                      "secp256k1 public keys (lower-case hex)",
                      WALLET_CLUSTER_KEYS_MAX);
    json_t *c = json_pack("{s:s, s:O, s:s}", "name", name, "keys", keys, "registered_at", op->ts);
    int rv = store_put_json(op->txn, DB(op->f)->clusters, name, strlen(name), c, NULL);
    if (rv == 0)
        store_result_json(op->res, 200, json_incref(c));
    json_decref(c);
    return rv;
}

/* ---- the table ---- */

/* A row's ctx: the command's own function. */
struct wshape {
    int (*act)(struct wop *op);
};

static int wallet_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    const struct wshape *sh = cmdtable_find(c->type)->ctx;
    struct wop op = {f, txn, c, res, NULL, c->time_ms, ""};
    if (!(op.b = store_payload(c, true, res)))
        return 0;
    fsm_format_time(c->time_ms, op.ts);
    int rv = sh->act(&op);
    json_decref(op.b);
    return rv;
}

#define ROW(type, name, fn) {type, name, true, wallet_apply, &(const struct wshape){fn}}

static const struct fsm_command COMMANDS[] = {
    ROW(CMD_WALLET_LIMITS, "wallet_limits", limits_apply),
    ROW(CMD_WALLET_EXCLUDE, "wallet_exclude", exclude_apply),
    ROW(CMD_WALLET_BLOCK, "wallet_block", block_apply),
    ROW(CMD_DEPOSIT_OPEN, "deposit_open", deposit_open),
    ROW(CMD_DEPOSIT_LINK, "deposit_link", deposit_link),
    ROW(CMD_PAY_EVENT, "pay_event", pay_event),
    ROW(CMD_WITHDRAW_OPEN, "withdraw_open", withdraw_open),
    ROW(CMD_WITHDRAW_SENT, "withdraw_sent", withdraw_sent),
    ROW(CMD_HOLD_PLACE, "hold_place", hold_place),
    ROW(CMD_HOLD_POST, "hold_post", hold_post),
    ROW(CMD_HOLD_VOID, "hold_void", hold_void),
    ROW(CMD_HOLD_EXPIRE, "hold_expire", hold_expire),
    ROW(CMD_WALLET_CORRECT, "wallet_correct", correct_apply),
    ROW(CMD_WALLET_CLUSTER, "wallet_cluster", cluster_apply),
    {0, NULL, false, NULL, NULL},
};

static const char *const DBS[] = {"wallet_accounts", "wallet_transfers", "wallet_statement",
                                  "wallet_holds",    "wallet_expiry",    "wallet_profiles",
                                  "wallet_deposits", "wallet_withdrawals", "wallet_events",
                                  "wallet_clusters", NULL};
_Static_assert(sizeof(struct wallet_dbs) == (sizeof DBS / sizeof *DBS - 1) * sizeof(MDB_dbi),
               "one handle per database name");

const struct fsm_domain wallet_domain = {"wallet", COMMANDS, DBS};

/* ---- queries ---- */

json_t *wallet_account_get(struct fsm *f, MDB_txn *txn, const char *account)
{
    return store_get_json(txn, DB(f)->accounts, account, strlen(account));
}

json_t *wallet_hold_get(struct fsm *f, MDB_txn *txn, const char *id)
{
    return store_get_json(txn, DB(f)->holds, id, strlen(id));
}

json_t *wallet_holds_page(struct fsm *f, MDB_txn *txn, const char *cluster, const char *after,
                          unsigned limit)
{
    json_t *items = json_array(), *next = json_null();
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, DB(f)->holds, &cur))
        return json_pack("{s:o, s:o}", "items", items, "next", next);
    MDB_val k = {after ? strlen(after) : 0, (void *)(after ? after : "")}, v;
    int r = after && *after ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                            : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (r == 0 && after && *after && k.mv_size == strlen(after) &&
        !memcmp(k.mv_data, after, k.mv_size))
        r = mdb_cursor_get(cur, &k, &v, MDB_NEXT); /* strictly after */
    for (; r == 0; r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        json_t *h = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        if (!h || strcmp(store_str(h, "cluster") ?: "", cluster) != 0) {
            json_decref(h);
            continue;
        }
        if (json_array_size(items) == limit) {
            json_decref(next);
            next = json_copy(json_object_get(json_array_get(items, limit - 1), "id"));
            json_decref(h);
            break;
        }
        /* The transfers that moved its money, by their ids (see plan_hold, hold_post). */
        json_t *ts = json_array();
        static const char *const sfx[] = {"", ":post", ":void", ":expire", ":stake", ":payout"};
        for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
            char tid[TID_MAX + 16];
            snprintf(tid, sizeof tid, "hold:%s%s", store_str(h, "id") ?: "", sfx[i]);
            json_t *t = store_get_json(txn, DB(f)->transfers, tid, strlen(tid));
            if (t)
                json_array_append_new(ts, t);
        }
        json_object_set_new(h, "transfers", ts);
        json_array_append_new(items, h);
    }
    mdb_cursor_close(cur);
    return json_pack("{s:o, s:o}", "items", items, "next", next);
}

json_t *wallet_deposit_get(struct fsm *f, MDB_txn *txn, const char *id)
{
    return store_get_json(txn, DB(f)->deposits, id, strlen(id));
}

json_t *wallet_withdrawal_get(struct fsm *f, MDB_txn *txn, const char *id)
{
    return store_get_json(txn, DB(f)->withdrawals, id, strlen(id));
}

json_t *wallet_cluster_get(struct fsm *f, MDB_txn *txn, const char *name)
{
    return wallet_cluster_name_valid(name) ? store_get_json(txn, DB(f)->clusters, name, strlen(name))
                                           : NULL;
}

/* Every record of @dbi (values as JSON) passed to @fn until it returns false. */
static void each_record(MDB_txn *txn, MDB_dbi dbi, bool (*fn)(void *ctx, MDB_val *k, json_t *v),
                        void *ctx)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, dbi, &cur))
        return;
    MDB_val k, v;
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        json_t *j = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        bool go = fn(ctx, &k, j);
        json_decref(j);
        if (!go)
            break;
    }
    mdb_cursor_close(cur);
}

static bool add_cluster(void *ctx, MDB_val *k, json_t *v)
{
    (void)k;
    json_array_append(ctx, v);
    return true;
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

json_t *wallet_view(struct fsm *f, MDB_txn *txn, const char *player, uint64_t now_ms)
{
    char id[ACCT_MAX];
    struct acct cash, debt;
    snprintf(id, sizeof id, "player:%s", player);
    acct_load(f, txn, id, &cash);
    snprintf(id, sizeof id, "debt:%s", player);
    acct_load(f, txn, id, &debt);
    json_t *prof = profile_read(f, txn, player), *p = accounts_player_get(f, txn, player);
    profile_promote(prof, now_ms);
    int64_t owed = -ledger_balance(&debt.l), avail = ledger_available(&cash.l);
    bool can_withdraw = p && verified(p) && store_str(prof, "account") &&
                        !json_object_get(prof, "blocked") && owed <= 0;
    json_t *pending = json_object(), *k;
    const char *name;
    json_object_foreach(json_object_get(prof, "pending"), name, k)
    {
        char t[32];
        fsm_format_time((uint64_t)jint(k, "from_ms"), t);
        json_object_set_new(pending, name,
                            json_pack("{s:O, s:s}", "value", json_object_get(k, "value"), "from", t));
    }
    int64_t dlim = limit_of(prof, "deposit_7d"), slim = limit_of(prof, "stake_7d");
    int64_t dused = window_used(prof, "deposits", now_ms), sused = window_used(prof, "stakes", now_ms);
    json_t *v = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:O, s:o, s:{s:I, s:I}, s:{s:o, s:o}}", "player_id",
        player, "currency", "EUR", "balance", (json_int_t)ledger_balance(&cash.l), "available",
        (json_int_t)avail, "held", (json_int_t)cash.l.debits_pending, "withdrawable",
        (json_int_t)(can_withdraw && avail > 0 ? avail : 0), "debt", (json_int_t)(owed > 0 ? owed : 0),
        "limits", json_object_get(prof, "limits"), "pending_raises", pending, "window_used",
        "deposits", (json_int_t)dused, "stakes", (json_int_t)sused, "window_left", "deposits",
        dlim < 0 ? json_null() : json_integer(dlim > dused ? dlim - dused : 0), "stakes",
        slim < 0 ? json_null() : json_integer(slim > sused ? slim - sused : 0));
    uint64_t until = (uint64_t)jint(prof, "excluded_until_ms");
    if (until > now_ms) {
        char t[32];
        fsm_format_time(until, t);
        json_object_set_new(v, "excluded_until", json_string(t));
    }
    if (json_object_get(prof, "blocked"))
        json_object_set(v, "blocked", json_object_get(prof, "blocked"));
    if (store_str(prof, "account"))
        json_object_set(v, "payment_account", json_object_get(prof, "account"));
    json_object_set_new(v, "verified", json_boolean(p && verified(p)));
    json_decref(p);
    json_decref(prof);
    return v;
}

json_t *wallet_statement(struct fsm *f, MDB_txn *txn, const char *account, uint64_t before,
                         unsigned limit)
{
    struct acct a;
    acct_load(f, txn, account, &a);
    uint64_t seq = before && before - 1 < a.seq ? before - 1 : a.seq;
    json_t *items = json_array();
    for (; seq >= 1 && json_array_size(items) < limit; seq--) {
        uint8_t key[ACCT_MAX + 9];
        size_t klen;
        statement_key(account, seq, key, &klen);
        MDB_val k = {klen, key}, v;
        if (mdb_get(txn, DB(f)->statement, &k, &v))
            continue;
        json_t *t = store_get_json(txn, DB(f)->transfers, v.mv_data, v.mv_size);
        if (!t)
            continue;
        json_object_set_new(t, "position", json_integer((json_int_t)seq));
        /* Seen from this account: money in is positive. */
        int64_t amt = jint(t, "amount");
        bool out = !strcmp(store_str(t, "debit"), account);
        json_object_set_new(t, "direction", json_string(out ? "out" : "in"));
        json_object_set_new(t, "signed_amount", json_integer(out ? -amt : amt));
        json_array_append_new(items, t);
    }
    json_t *r = json_pack("{s:s, s:o}", "account", account, "items", items);
    if (seq >= 1)
        json_object_set_new(r, "next", json_integer((json_int_t)seq + 1));
    return r;
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

/* ---- payloads ---- */

json_t *wallet_cmd_limits(const char *player, int64_t deposit_7d, int64_t stake_7d,
                          int64_t auto_withdraw)
{
    json_t *o = json_pack("{s:s}", "player_id", player);
    int64_t v[3] = {deposit_7d, stake_7d, auto_withdraw};
    for (int i = 0; LIMITS[i]; i++)
        if (v[i] >= 0)
            json_object_set_new(o, LIMITS[i], json_integer(v[i]));
    return o;
}

json_t *wallet_cmd_exclude(const char *player, int64_t hours)
{
    return json_pack("{s:s, s:I}", "player_id", player, "hours", (json_int_t)hours);
}

json_t *wallet_cmd_block(const char *player, bool blocked, const char *reason)
{
    return json_pack("{s:s, s:b, s:s}", "player_id", player, "blocked", blocked, "reason", reason);
}

json_t *wallet_cmd_deposit_open(const char *player, const char *deposit_id, int64_t amount)
{
    return json_pack("{s:s, s:s, s:I}", "player_id", player, "deposit_id", deposit_id, "amount",
                     (json_int_t)amount);
}

json_t *wallet_cmd_deposit_link(const char *deposit_id, const char *payment_id, const char *url)
{
    return json_pack("{s:s, s:s, s:s}", "deposit_id", deposit_id, "payment_id", payment_id, "url",
                     url);
}

json_t *wallet_cmd_pay_event(const char *provider, const char *event_id, const char *kind,
                             const char *object_id, const char *reference, int64_t amount,
                             const char *account)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "provider", provider, "event_id",
                          event_id, "kind", kind, "object_id", object_id, "reference", reference,
                          "amount", (json_int_t)amount);
    if (account && *account)
        json_object_set_new(o, "account", json_string(account));
    return o;
}

json_t *wallet_cmd_withdraw_open(const char *player, const char *withdrawal_id, int64_t amount)
{
    return json_pack("{s:s, s:s, s:I}", "player_id", player, "withdrawal_id", withdrawal_id,
                     "amount", (json_int_t)amount);
}

json_t *wallet_cmd_withdraw_sent(const char *withdrawal_id, const char *payout_id)
{
    return json_pack("{s:s, s:s}", "withdrawal_id", withdrawal_id, "payout_id", payout_id);
}

json_t *wallet_cmd_hold_place(const char *hold_id, const char *player, const char *cluster,
                              int64_t amount, uint64_t timeout_ms)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I}", "hold_id", hold_id, "player_id", player,
                     "cluster", cluster, "amount", (json_int_t)amount, "timeout_ms",
                     (json_int_t)timeout_ms);
}

json_t *wallet_cmd_hold_post(const char *hold_id, const char *cluster, int64_t stake,
                             int64_t payout)
{
    return json_pack("{s:s, s:s, s:I, s:I}", "hold_id", hold_id, "cluster", cluster, "stake",
                     (json_int_t)stake, "payout", (json_int_t)payout);
}

json_t *wallet_cmd_hold_void(const char *hold_id, const char *cluster)
{
    return json_pack("{s:s, s:s}", "hold_id", hold_id, "cluster", cluster);
}

json_t *wallet_cmd_hold_expire(void)
{
    return json_object();
}

json_t *wallet_cmd_correct(const char *id, const char *debit, const char *credit, int64_t amount,
                           const char *corrects, const char *reason)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "id", id, "debit", debit, "credit", credit,
                     "amount", (json_int_t)amount, "corrects", corrects, "reason", reason);
}

json_t *wallet_cmd_cluster(const char *name, json_t *keys)
{
    return json_pack("{s:s, s:o}", "name", name, "keys", keys);
}

void wallet_request_digest(const char *cluster, const char *timestamp, const char *method,
                           const char *path, const void *body, size_t len, uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    static const char tag[] = "parlay-wallet-v1";
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, tag, sizeof tag); /* with its NUL */
    EVP_DigestUpdate(md, cluster, strlen(cluster) + 1);
    EVP_DigestUpdate(md, timestamp, strlen(timestamp) + 1);
    EVP_DigestUpdate(md, method, strlen(method) + 1);
    EVP_DigestUpdate(md, path, strlen(path) + 1);
    EVP_DigestUpdate(md, body, len);
    EVP_DigestFinal_ex(md, out, NULL);
    EVP_MD_CTX_free(md);
}
