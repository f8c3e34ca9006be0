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
#include "consensus/wallet_internal.h"


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


/* A refusal: problem+json with a stable machine-readable @code. Returns 0 (apply's "refused"). */
int refuse(struct wop *op, int status, const char *code, const char *title,
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

bool int_field(json_t *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return false;
    *out = (int64_t)json_integer_value(v);
    return true;
}

int64_t jint(json_t *o, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(o, key));
}

/* ---- accounts ---- */


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
bool acct_id_valid(const char *id)
{
    if (!id || strlen(id) >= ACCT_MAX)
        return false;
    if (!strncmp(id, "player:", 7) || !strncmp(id, "debt:", 5))
        return accounts_player_id_valid(strchr(id, ':') + 1);
    if (!strncmp(id, "sys:stakes:", 11))
        return wallet_cluster_name_valid(id + 11);
    return !strcmp(id, CLEARING) || !strcmp(id, PAYOUTS) || !strcmp(id, HOUSE) ||
           !strcmp(id, RETURNS);
}

void acct_from_json(json_t *j, const char *id, struct acct *a)
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

static void acct_read(struct fsm *f, MDB_txn *txn, const char *id, struct acct *a)
{
    json_t *j = store_get_json(txn, DB(f)->accounts, id, strlen(id));
    acct_from_json(j, id, a);
    json_decref(j);
}

/* An account as the command sees it: in a hold batch, as its earlier items left it. */
static void acct_load(struct wop *op, const char *id, struct acct *a)
{
    json_t *c = op->accts ? json_object_get(op->accts, id) : NULL;
    if (c)
        acct_from_json(c, id, a);
    else
        acct_read(op->f, op->txn, id, a);
}

static json_t *acct_json(const struct acct *a)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:i, s:I}", "id", a->id, "kind", a->kind,
                     "dp", (json_int_t)a->l.debits_pending, "dpo",
                     (json_int_t)a->l.debits_posted, "cp", (json_int_t)a->l.credits_pending,
                     "cpo", (json_int_t)a->l.credits_posted, "flags", (int)a->l.flags, "seq",
                     (json_int_t)a->seq);
}

/* ---- records written ---- */

/* The record's text as store_put_json writes it (compact, keys sorted), built here for the flat
 * records of the hold path without jansson's dump (its sorting and buffer allocations were a
 * fifth of a hold's apply). Anything it does not write byte for byte as jansson would (a string
 * to escape, a non-ASCII byte, a real, a deep or wide object) makes it give up: the caller then
 * uses store_put_json. */
struct wbuf {
    char *p;
    size_t n, cap;
    bool bad;
};

static void wb_add(struct wbuf *b, const char *s, size_t n)
{
    if (b->bad || b->n + n > b->cap) {
        b->bad = true;
        return;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void wb_str(struct wbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '"' ||
            s[i] == '\\')
            b->bad = true;
    wb_add(b, "\"", 1);
    wb_add(b, s, n);
    wb_add(b, "\"", 1);
}

#define WB_KEYS 24

static void wb_json(struct wbuf *b, json_t *v, int depth)
{
    char num[32];
    if (depth > 4) {
        b->bad = true;
    } else if (json_is_object(v)) {
        const char *keys[WB_KEYS], *k;
        size_t n = 0;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            if (n == WB_KEYS) {
                b->bad = true;
                return;
            }
            size_t i = n++; /* insertion sort: a record has a dozen keys */
            for (; i > 0 && strcmp(keys[i - 1], k) > 0; i--)
                keys[i] = keys[i - 1];
            keys[i] = k;
        }
        wb_add(b, "{", 1);
        for (size_t i = 0; i < n && !b->bad; i++) {
            if (i)
                wb_add(b, ",", 1);
            wb_str(b, keys[i], strlen(keys[i]));
            wb_add(b, ":", 1);
            wb_json(b, json_object_get(v, keys[i]), depth + 1);
        }
        wb_add(b, "}", 1);
    } else if (json_is_string(v)) {
        const char *t = json_string_value(v);
        size_t n = json_string_length(v);
        if (strlen(t) != n) /* an escaped NUL inside */
            b->bad = true;
        wb_str(b, t, n);
    } else if (json_is_integer(v)) { /* decimal, as jansson's "%lld" (no printf: hot) */
        json_int_t x = json_integer_value(v);
        uint64_t u = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
        char *e = num + sizeof num, *q = e;
        do {
            *--q = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (x < 0)
            *--q = '-';
        wb_add(b, q, (size_t)(e - q));
    } else if (json_is_true(v)) {
        wb_add(b, "true", 4);
    } else if (json_is_false(v)) {
        wb_add(b, "false", 5);
    } else if (json_is_null(v)) {
        wb_add(b, "null", 4);
    } else {
        b->bad = true;
    }
}

int wallet_put(MDB_txn *txn, MDB_dbi dbi, const char *key, json_t *v)
{
    char text[4096];
    struct wbuf b = {text, 0, sizeof text, false};
    wb_json(&b, v, 0);
    if (b.bad)
        return store_put_json(txn, dbi, key, strlen(key), v, NULL);
    MDB_val k = {strlen(key), (void *)key}, d = {b.n, text};
#ifdef WALLET_PUT_CHECK
    char *j = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    if (strlen(j) != b.n || memcmp(j, text, b.n)) {
        fprintf(stderr, "wallet_put differs:\n%s\n%.*s\n", j, (int)b.n, text);
        abort();
    }
    free(j);
#endif
    return mdb_put(txn, dbi, &k, &d, 0);
}

/* ---- plans: what a command will write, decided in memory first ---- */


struct acct *plan_acct(struct plan *p, const char *id)
{
    for (int i = 0; i < p->nacct; i++)
        if (!strcmp(p->acct[i].id, id))
            return &p->acct[i];
    if (p->nacct == PLAN_ACCTS)
        abort(); /* a command names at most four accounts */
    struct acct *a = &p->acct[p->nacct++];
    acct_load(p->op, id, a);
    return a;
}

json_t *plan_transfer(struct plan *p, const char *id, const char *kind, const char *dr,
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

void plan_free(struct plan *p)
{
    for (int i = 0; i < p->nt; i++)
        json_decref(p->t[i]);
    p->nt = 0;
}

enum ledger_code plan_move(struct plan *p, const char *id, const char *kind,
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
int plan_commit(struct plan *p)
{
    struct wop *op = p->op;
    int rv = 0;
    for (int i = 0; i < p->nt && rv == 0; i++) {
        const char *id = store_str(p->t[i], "id");
        rv = wallet_put(op->txn, DB(op->f)->transfers, id, p->t[i]);
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
        if (op->accts) /* a batch: written once at its end (accts_flush) */
            json_object_set(op->accts, p->acct[i].id, j);
        else
            rv = wallet_put(op->txn, DB(op->f)->accounts, p->acct[i].id, j);
        json_decref(j);
    }
    return rv;
}

int accts_flush(struct wop *op)
{
    const char *id;
    json_t *j;
    int rv = 0;
    json_object_foreach(op->accts, id, j)
    {
        if (rv == 0)
            rv = wallet_put(op->txn, DB(op->f)->accounts, id, j);
    }
    return rv;
}

int ledger_refuse(struct wop *op, enum ledger_code lc, const char *what)
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

/* ---- profiles and player protection ---- */


static json_t *profile_read(struct fsm *f, MDB_txn *txn, const char *player)
{
    json_t *p = store_get_json(txn, DB(f)->profiles, player, strlen(player));
    if (!p)
        p = json_pack("{s:{}, s:{}, s:{s:[]}}", "limits", "pending", "window", "deposits");
    return p;
}

json_t *profile_load(struct wop *op, const char *player)
{
    if (!op->profiles)
        return profile_read(op->f, op->txn, player);
    /* A batch: the same object for every item of the player (what an item changes without
     * storing it is only a raise that is due, which any later read makes the same way). */
    json_t *p = json_object_get(op->profiles, player);
    if (!p) {
        p = profile_read(op->f, op->txn, player);
        json_object_set_new(op->profiles, player, p);
    }
    return json_incref(p);
}

/* Raises whose 48 hours are over take effect (in memory; stored with the next write). */
void profile_promote(json_t *prof, uint64_t now)
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

int64_t limit_of(json_t *prof, const char *name)
{
    json_t *v = json_object_get(json_object_get(prof, "limits"), name);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* What the window @which has used in the 7 days before @now. */
int64_t window_used(json_t *prof, const char *which, uint64_t now)
{
    json_t *w = json_object_get(json_object_get(prof, "window"), which), *e;
    size_t i;
    int64_t sum = 0;
    json_array_foreach(w, i, e) if ((uint64_t)jint(e, "at_ms") + WALLET_WINDOW_MS > now) sum +=
        jint(e, "amount");
    return sum;
}

/* Drop entries older than 7 days, then add one (when @id is not NULL). */
void window_add(json_t *prof, const char *which, const char *id, int64_t amount,
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

void window_remove(json_t *prof, const char *which, const char *id)
{
    json_t *w = json_object_get(json_object_get(prof, "window"), which);
    for (size_t i = json_array_size(w); i-- > 0;)
        if (!strcmp(store_str(json_array_get(w, i), "id"), id))
            json_array_remove(w, i);
}

int profile_store(struct wop *op, const char *player, json_t *prof)
{
    if (!op->profiles)
        return wallet_put(op->txn, DB(op->f)->profiles, player, prof);
    json_object_set(op->profiles, player, prof);
    json_object_set_new(op->dirty, player, json_true());
    return 0;
}

int profiles_flush(struct wop *op)
{
    const char *player;
    json_t *v;
    int rv = 0;
    json_object_foreach(op->dirty, player, v)
    {
        json_t *prof = json_object_get(op->profiles, player);
        if (rv == 0)
            rv = wallet_put(op->txn, DB(op->f)->profiles, player, prof);
    }
    return rv;
}

uint64_t rfc3339_ms(const char *s)
{
    struct tm tm = {0};
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!end)
        return 0;
    time_t t = timegm(&tm);
    return t > 0 ? (uint64_t)t * 1000 : 0;
}

bool verified(json_t *player)
{
    const char *s = store_str(player, "kyc_status");
    return s && !strcmp(s, "verified");
}

int64_t debt_of(struct plan *p, const char *player)
{
    char id[ACCT_MAX];
    snprintf(id, sizeof id, "debt:%s", player);
    return ledger_balance(&plan_acct(p, id)->l);
}

/* The player of the command (accounts domain), or a 404 refusal. */
json_t *need_player(struct wop *op, const char *id)
{
    json_t *p = op->players && id ? json_object_get(op->players, id) : NULL;
    if (p)
        return json_incref(p);
    p = accounts_player_id_valid(id) ? accounts_player_get(op->f, op->txn, id) : NULL;
    if (!p)
        refuse(op, 404, "no_such_player", "No such player", "player '%s' does not exist",
               id ? id : "");
    else if (op->players)
        json_object_set(op->players, id, p);
    return p;
}

/* The refusals every way of putting money at stake shares (deposits, holds): banned, closed,
 * blocked, excluded, deactivated. Returns 1 when refused (the result is set). */
int play_refused(struct wop *op, json_t *player, json_t *prof)
{
    json_t *ban = json_object_get(prof, "banned"), *closed = json_object_get(prof, "closed");
    if (ban)
        return refuse(op, 403, "banned", "Banned from gambling",
                      "the player is on the national gambling-ban list (%s, since %s)",
                      store_str(ban, "source"), store_str(ban, "at")),
               1;
    if (closed)
        return refuse(op, 403, "account_closed", "Account closed",
                      "the identity was not verified within two months of registration: the "
                      "account was closed at %s and its balance returned",
                      store_str(closed, "at")),
               1;
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
    if (rv == 0 && json_is_true(blocked)) /* a blocked player is signed out everywhere */
        rv = accounts_end_sessions(op->f, op->txn, op->c, pid, "account blocked");
    if (rv == 0)
        store_result_json(op->res, 200,
                          json_pack("{s:s, s:b, s:s}", "player_id", pid, "blocked",
                                    json_is_true(blocked), "reason", reason));
    json_decref(prof);
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
    struct wop op = {f, txn, c, res, NULL, c->time_ms, "", NULL, NULL, NULL, NULL, false};
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
    ROW(CMD_WALLET_BAN, "wallet_ban", ban_apply),
    ROW(CMD_WALLET_CLOSE, "wallet_close", close_apply),
    ROW(CMD_HOLD_RESETTLE, "hold_resettle", hold_resettle),
    /* Alone in its Raft entry: one entry applies at most one batch of items, so that many
     * batches proposed together never make one long apply that stalls the leader's loop. */
    {CMD_HOLD_BATCH, "hold_batch", false, wallet_apply, &(const struct wshape){hold_batch}},
    {0, NULL, false, NULL, NULL},
};

static const char *const DBS[] = {"wallet_accounts", "wallet_transfers", "wallet_statement",
                                  "wallet_holds",    "wallet_expiry",    "wallet_profiles",
                                  "wallet_deposits", "wallet_withdrawals", "wallet_events",
                                  "wallet_clusters", "wallet_stakes_7d", NULL};
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
        /* A re-settled hold's correcting transfers (wallet_resettle.c). */
        size_t j;
        json_t *fid;
        json_array_foreach(json_object_get(h, "fix_transfers"), j, fid)
        {
            const char *tid = json_string_value(fid);
            json_t *t = tid ? store_get_json(txn, DB(f)->transfers, tid, strlen(tid)) : NULL;
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

json_t *wallet_view(struct fsm *f, MDB_txn *txn, const char *player, uint64_t now_ms)
{
    char id[ACCT_MAX];
    struct acct cash, debt;
    snprintf(id, sizeof id, "player:%s", player);
    acct_read(f, txn, id, &cash);
    snprintf(id, sizeof id, "debt:%s", player);
    acct_read(f, txn, id, &debt);
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
    int64_t dused = window_used(prof, "deposits", now_ms), sused = stakes_used(f, txn, player, now_ms);
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
    if (json_object_get(prof, "banned"))
        json_object_set(v, "banned", json_object_get(prof, "banned"));
    if (json_object_get(prof, "closed"))
        json_object_set(v, "closed", json_object_get(prof, "closed"));
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
    acct_read(f, txn, account, &a);
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

json_t *wallet_cmd_hold_batch(const char *cluster, json_t *items)
{
    return json_pack("{s:s, s:O}", "cluster", cluster, "items", items);
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

json_t *wallet_cmd_ban(const char *player, bool banned, const char *source)
{
    return json_pack("{s:s, s:b, s:s}", "player_id", player, "banned", banned, "source", source);
}

json_t *wallet_cmd_close(void)
{
    return json_object();
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
