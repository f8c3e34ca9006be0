/* Accounts: validation, apply and queries. See accounts.h for the records and the rules.
 *
 * Each apply function parses its payload, checks every field and every precondition, and only
 * then writes: a refusal is a 4xx result that leaves nothing behind. No clock, no randomness:
 * the time is the leader's stamp in the command (c->time_ms), ids and hashes came with it. */
#include "consensus/accounts.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hex.h"
#include "common/seal.h"
#include "consensus/cmdtable.h"
#include "consensus/store.h"
#include "consensus/accounts_internal.h"

int accounts_email_normalise(const char *in, char *out, size_t n)
{
    while (*in == ' ' || *in == '\t')
        in++;
    size_t len = strlen(in);
    while (len && (in[len - 1] == ' ' || in[len - 1] == '\t'))
        len--;
    if (len < 3 || len > ACCOUNTS_EMAIL_MAX || len + 1 > n)
        return -1;
    size_t at = len, ats = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch <= 0x20 || ch == 0x7f)
            return -1;
        if (ch == '@')
            at = i, ats++;
        out[i] = (char)(ch < 0x80 ? tolower(ch) : ch);
    }
    out[len] = 0;
    if (ats != 1 || at == 0 || at + 1 >= len)
        return -1;
    const char *dom = out + at + 1;
    const char *dot = strchr(dom, '.');
    if (!dot || dot == dom || dom[strlen(dom) - 1] == '.')
        return -1;
    return 0;
}

bool accounts_player_id_valid(const char *id)
{
    return id && !strncmp(id, "p_", 2) && hex_is(id + 2, ACCOUNTS_ID_CHARS - 2);
}

bool accounts_family_valid(const char *id)
{
    return id && hex_is(id, ACCOUNTS_FAMILY_CHARS);
}

uint64_t accounts_lock_ms(unsigned failures)
{
    if (failures < ACCOUNTS_LOCK_AFTER)
        return 0;
    unsigned shift = failures - ACCOUNTS_LOCK_AFTER;
    if (shift > 10)
        return ACCOUNTS_LOCK_MAX_MS;
    uint64_t ms = (uint64_t)ACCOUNTS_LOCK_BASE_MS << shift;
    return ms > ACCOUNTS_LOCK_MAX_MS ? ACCOUNTS_LOCK_MAX_MS : ms;
}

/* ---- storage helpers ---- */

/* 429 with the seconds to wait in "retry_after" (the HTTP layer copies it to Retry-After). */
void acc_result_locked(struct fsm_result *res, uint64_t now_ms, uint64_t until_ms)
{
    uint64_t secs = (until_ms - now_ms + 999) / 1000;
    json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:I}", "type", "about:blank", "title",
                          "Too many failed sign-ins", "status", 429, "detail", "", "retry_after",
                          (json_int_t)secs);
    char detail[160];
    snprintf(detail, sizeof detail,
             "too many failed sign-ins for this account; try again in %llu seconds",
             (unsigned long long)secs);
    json_object_set_new(o, "detail", json_string(detail));
    store_result_json(res, 429, o);
}

/* ---- queries ---- */

json_t *accounts_player_get(struct fsm *f, MDB_txn *txn, const char *id)
{
    return store_get_json(txn, DB(f)->players, id, strlen(id));
}

json_t *accounts_player_by_email(struct fsm *f, MDB_txn *txn, const char *email_norm)
{
    MDB_val k = {strlen(email_norm), (void *)email_norm}, v;
    if (mdb_get(txn, DB(f)->player_email, &k, &v) != 0)
        return NULL;
    return store_get_json(txn, DB(f)->players, v.mv_data, v.mv_size);
}

unsigned accounts_player_count(struct fsm *f, MDB_txn *txn)
{
    MDB_stat st;
    if (mdb_stat(txn, DB(f)->players, &st) != 0)
        return 0;
    return (unsigned)st.ms_entries;
}

json_t *accounts_players_by_kyc(struct fsm *f, MDB_txn *txn, const char *status, const char *after,
                                unsigned limit, char *next, size_t nextlen)
{
    json_t *items = json_array();
    MDB_cursor *cur;
    char from[128]; /* @after may be @next itself */
    snprintf(from, sizeof from, "%s", after ? after : "");
    next[0] = '\0';
    if (mdb_cursor_open(txn, DB(f)->players, &cur) != 0)
        return items;
    size_t alen = strlen(from);
    after = after ? from : NULL;
    MDB_val k = {alen, from}, v;
    int rv = after ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (rv == 0 && after && k.mv_size == alen && !memcmp(k.mv_data, after, alen))
        rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT); /* strictly after the cursor */
    bool none = !strcmp(status, "none");
    unsigned scanned = 0;
    for (; rv == 0; rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (json_array_size(items) == limit || scanned == ACCOUNTS_KYC_SCAN)
            break; /* more may follow: @next is the last record read */
        scanned++;
        snprintf(next, nextlen, "%.*s", (int)k.mv_size, (const char *)k.mv_data);
        json_t *p = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        const char *st = store_str(p, "kyc_status");
        if (p && (none ? st == NULL : (st && !strcmp(st, status)))) {
            json_object_del(p, "password_hash");
            json_array_append_new(items, p);
        } else {
            json_decref(p);
        }
    }
    if (rv != 0)
        next[0] = '\0'; /* read to the end */
    mdb_cursor_close(cur);
    return items;
}

void accounts_failures(struct fsm *f, MDB_txn *txn, const char *player_id, unsigned *count,
                       uint64_t *locked_until_ms)
{
    json_t *o = store_get_json(txn, DB(f)->login_failures, player_id, strlen(player_id));
    *count = o ? (unsigned)json_integer_value(json_object_get(o, "count")) : 0;
    *locked_until_ms = o ? (uint64_t)json_integer_value(json_object_get(o, "locked_until_ms")) : 0;
    json_decref(o);
}

json_t *accounts_session_get(struct fsm *f, MDB_txn *txn, const char *family)
{
    return store_get_json(txn, DB(f)->sessions, family, strlen(family));
}

json_t *accounts_signing_keys(struct fsm *f, MDB_txn *txn)
{
    json_t *out = json_array();
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, DB(f)->signing_keys, &cur) != 0)
        return out;
    MDB_val k, v;
    int rv = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    for (int n = 0; rv == 0 && n < ACCOUNTS_JWKS_KEEP; n++) {
        json_t *key = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        if (key)
            json_array_insert_new(out, 0, key);
        rv = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    }
    mdb_cursor_close(cur);
    return out;
}

/* ---- apply: one shape for every command ---- */

/* The player of @id, or a 404 result. */
json_t *acc_need_player(struct fsm *f, MDB_txn *txn, const char *id, struct fsm_result *res)
{
    json_t *p = accounts_player_id_valid(id) ? accounts_player_get(f, txn, id) : NULL;
    if (!p)
        fsm_result_problem(res, 404, "No such player", "player '%s' does not exist",
                           id ? id : "");
    return p;
}

static int acc_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    const struct acc_shape *sh = cmdtable_find(c->type)->ctx;
    struct acc_op op = {f, txn, c, res, NULL, NULL, NULL, ""};
    int rv = 0;
    if (!(op.body = store_payload(c, true, res)))
        return 0;
    op.id = store_str(op.body, "player_id");
    fsm_format_time(c->time_ms, op.ts);
    if (sh->valid && !sh->valid(op.body))
        fsm_result_problem(res, 422, sh->title, "%s", sh->detail);
    else if (!sh->player || (op.p = acc_need_player(f, txn, op.id, res)))
        rv = sh->act(&op);
    json_decref(op.p);
    json_decref(op.body);
    return rv;
}

/* Write the player @op->p back and answer @result (stolen). */
int acc_save_player(struct acc_op *op, int status, json_t *result)
{
    int rv = store_put_json(op->txn, DB(op->f)->players, op->id, strlen(op->id), op->p, NULL);
    if (rv == 0)
        store_result_json(op->res, status, result);
    else
        json_decref(result);
    return rv;
}

void acc_bump_version(json_t *rec)
{
    json_object_set_new(rec, "version",
                        json_integer(json_integer_value(json_object_get(rec, "version")) + 1));
}

/* ---- players and sign-in failures ---- */

static bool register_valid(json_t *b)
{
    const char *email = store_str(b, "email"), *hash = store_str(b, "password_hash");
    char norm[ACCOUNTS_EMAIL_MAX + 1];
    return accounts_player_id_valid(store_str(b, "id")) && email &&
           accounts_email_normalise(email, norm, sizeof norm) == 0 && !strcmp(norm, email) &&
           hash && !strncmp(hash, "$argon2id$", 10) && strlen(hash) <= 200;
}

static int player_register(struct acc_op *op)
{
    const char *id = store_str(op->body, "id"), *email = store_str(op->body, "email"),
               *hash = store_str(op->body, "password_hash");
    MDB_val k = {strlen(email), (void *)email}, v;
    if (mdb_get(op->txn, DB(op->f)->player_email, &k, &v) == 0) {
        fsm_result_problem(op->res, 409, "Email taken", "an account already uses %s", email);
        return 0;
    }
    json_t *old = accounts_player_get(op->f, op->txn, id);
    if (old) {
        json_decref(old);
        fsm_result_problem(op->res, 409, "Player exists", "player '%s' already exists", id);
        return 0;
    }
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:i}", "id", id, "email", email,
                          "password_hash", hash, "created_at", op->ts, "version", 1);
    int rv = store_put_json(op->txn, DB(op->f)->players, id, strlen(id), p, NULL);
    json_decref(p);
    if (rv == 0 && (rv = store_put_str(op->txn, DB(op->f)->player_email, email, id)) == 0)
        store_result_json(op->res, 201, json_pack("{s:s, s:s, s:s}", "id", id, "email", email,
                                                   "created_at", op->ts));
    return rv;
}

static int login_failed(struct acc_op *op)
{
    const struct cmd *c = op->c;
    unsigned count;
    uint64_t until;
    accounts_failures(op->f, op->txn, op->id, &count, &until);
    if (c->time_ms < until) {
        acc_result_locked(op->res, c->time_ms, until); /* locked: not counted */
        return 0;
    }
    count++;
    uint64_t lock = accounts_lock_ms(count);
    until = lock ? c->time_ms + lock : 0;
    json_t *rec = json_pack("{s:I, s:I}", "count", (json_int_t)count, "locked_until_ms",
                            (json_int_t)until);
    int rv = store_put_json(op->txn, DB(op->f)->login_failures, op->id, strlen(op->id), rec,
                            NULL);
    json_decref(rec);
    if (rv == 0) {
        json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:I}", "type", "about:blank", "title",
                              "Sign-in failed", "status", 401, "detail",
                              "the email or the password is wrong", "failures",
                              (json_int_t)count);
        if (lock)
            json_object_set_new(o, "retry_after", json_integer((json_int_t)(lock / 1000)));
        store_result_json(op->res, 401, o);
    }
    return rv;
}

/* ---- TOTP ---- */

json_t *accounts_totp_get(struct fsm *f, MDB_txn *txn, const char *player_id)
{
    return store_get_json(txn, DB(f)->totp, player_id, strlen(player_id));
}

/* A confirmed second factor: spend the time step (later than the last one used) or the
 * recovery code the command carries, or refuse (res set). Returns an LMDB error or 0. */
static int totp_spend(struct fsm *f, MDB_txn *txn, const char *id, json_t *totp, json_t *body,
                      struct fsm_result *res)
{
    json_t *step = json_object_get(body, "totp_step");
    const char *rec = store_str(body, "recovery_hash");
    json_t *list = json_object_get(totp, "recovery");
    if (json_is_integer(step)) {
        if (json_integer_value(step) <= json_integer_value(json_object_get(totp, "last_step"))) {
            fsm_result_problem(res, 401, "Code already used",
                               "this one-time code was already used; wait for the next one");
            return 0;
        }
        json_object_set(totp, "last_step", step);
    } else if (rec) {
        size_t i, at = SIZE_MAX;
        json_t *v;
        json_array_foreach(list, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), rec))
            at = i;
        if (at == SIZE_MAX) {
            fsm_result_problem(res, 401, "Recovery code refused",
                               "this recovery code is not known or was already used");
            return 0;
        }
        json_array_remove(list, at);
    } else {
        fsm_result_problem(res, 401, "Second factor required",
                           "this account has a one-time-code second factor: send 'totp' or "
                           "'recovery_code'");
        return 0;
    }
    return store_put_json(txn, DB(f)->totp, id, strlen(id), totp, NULL);
}

static bool totp_enrol_valid(json_t *b)
{
    const char *secret = store_str(b, "secret"), *uri = store_str(b, "uri");
    /* Sealed by the node (common/seal.h): about 4/3 of the clear text and 40 characters more. */
    return secret && strlen(secret) >= 16 && strlen(secret) <= 256 && uri && strlen(uri) <= 1024;
}

static int totp_enrol(struct acc_op *op)
{
    const char *secret = store_str(op->body, "secret"), *uri = store_str(op->body, "uri");
    json_t *old = accounts_totp_get(op->f, op->txn, op->id);
    bool confirmed = old && json_is_true(json_object_get(old, "confirmed"));
    json_decref(old);
    if (confirmed) {
        fsm_result_problem(op->res, 409, "Second factor active",
                           "a one-time-code second factor is already confirmed for this account");
        return 0;
    }
    json_t *t = json_pack("{s:s, s:s, s:b, s:i, s:[]}", "secret", secret, "uri", uri,
                          "confirmed", 0, "last_step", -1, "recovery");
    int rv = store_put_json(op->txn, DB(op->f)->totp, op->id, strlen(op->id), t, NULL);
    json_decref(t);
    if (rv == 0)
        store_result_json(op->res, 201,
                          json_pack("{s:s, s:s}", "secret", secret, "otpauth_uri", uri));
    return rv;
}

static bool totp_confirm_valid(json_t *b)
{
    json_t *step = json_object_get(b, "step"), *hashes = json_object_get(b, "recovery_hashes");
    bool ok = json_is_integer(step) && json_is_array(hashes) && json_array_size(hashes) >= 1 &&
              json_array_size(hashes) <= 16;
    size_t i;
    json_t *v;
    json_array_foreach(hashes, i, v) ok =
        ok && json_is_string(v) && hex_is(json_string_value(v), 64);
    return ok;
}

static int totp_confirm_record(struct acc_op *op, json_t *t)
{
    json_t *step = json_object_get(op->body, "step");
    json_t *hashes = json_object_get(op->body, "recovery_hashes");
    if (!t) {
        fsm_result_problem(op->res, 409, "Not enrolled", "start with POST /v1/players/me/totp");
        return 0;
    }
    if (json_is_true(json_object_get(t, "confirmed"))) {
        fsm_result_problem(op->res, 409, "Second factor active", "the second factor is already "
                                                                 "confirmed");
        return 0;
    }
    if (json_integer_value(step) <= json_integer_value(json_object_get(t, "last_step"))) {
        fsm_result_problem(op->res, 401, "Code already used",
                           "this one-time code was already used");
        return 0;
    }
    json_object_set_new(t, "confirmed", json_true());
    json_object_set(t, "last_step", step);
    json_object_set(t, "recovery", hashes);
    int rv = store_put_json(op->txn, DB(op->f)->totp, op->id, strlen(op->id), t, NULL);
    if (rv == 0)
        store_result_json(op->res, 200,
                          json_pack("{s:b, s:s%}", "confirmed", 1, "token_check",
                                    json_string_value(json_array_get(hashes, 0)), (size_t)16));
    return rv;
}

static int totp_confirm(struct acc_op *op)
{
    json_t *t = accounts_player_id_valid(op->id) ? accounts_totp_get(op->f, op->txn, op->id)
                                                 : NULL;
    int rv = totp_confirm_record(op, t);
    json_decref(t);
    return rv;
}

/* ---- sessions ---- */

/* An optional positive integer field of @b (absent: 0). */
static bool opt_count(json_t *b, const char *key, json_int_t max, json_int_t *out)
{
    json_t *v = json_object_get(b, key);
    *out = v ? json_integer_value(v) : 0;
    return !v || (json_is_integer(v) && *out > 0 && *out <= max);
}

static bool session_create_valid(json_t *b)
{
    const char *hash = store_str(b, "refresh_hash");
    json_int_t x;
    return accounts_family_valid(store_str(b, "family")) && hash && hex_is(hash, 64) &&
           opt_count(b, "lifetime_ms", (json_int_t)ACCOUNTS_SESSION_TTL_MS, &x) &&
           opt_count(b, "idle_ms", (json_int_t)ACCOUNTS_SESSION_TTL_MS, &x) &&
           opt_count(b, "max_sessions", 1000, &x);
}

static int family_revoke(struct acc_op *op, json_t *s, const char *reason);

/* Player @id's sessions not revoked (and, with @unexpired, not expired) into *@out (a new
 * array). */
static int player_open_sessions(struct acc_op *op, const char *id, bool unexpired, json_t **out)
{
    size_t il = strlen(id);
    MDB_cursor *cur;
    int rv = mdb_cursor_open(op->txn, DB(op->f)->player_sessions, &cur);
    *out = json_array();
    if (rv != 0)
        return rv;
    MDB_val k = {il, (void *)id}, v;
    int crv = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (; crv == 0; crv = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != il + ACCOUNTS_FAMILY_CHARS || memcmp(k.mv_data, id, il) != 0)
            break;
        char fam[ACCOUNTS_FAMILY_CHARS + 1];
        memcpy(fam, (char *)k.mv_data + il, ACCOUNTS_FAMILY_CHARS);
        fam[ACCOUNTS_FAMILY_CHARS] = 0;
        json_t *s = accounts_session_get(op->f, op->txn, fam);
        if (s && !json_is_true(json_object_get(s, "revoked")) &&
            (!unexpired || (uint64_t)json_integer_value(json_object_get(s, "expires_at_ms")) >
                               op->c->time_ms))
            json_array_append(*out, s);
        json_decref(s);
    }
    mdb_cursor_close(cur);
    return 0;
}

/* When session @s began, in leader milliseconds: created_at_ms, or for sessions recorded
 * before it existed their created_at (whole seconds, so ...999 within that second: never later
 * than a session with created_at_ms of the same second). */
static uint64_t session_created_ms(json_t *s)
{
    json_t *ms = json_object_get(s, "created_at_ms");
    if (json_is_integer(ms))
        return (uint64_t)json_integer_value(ms);
    struct tm tm = {0};
    const char *at = store_str(s, "created_at");
    const char *end = at ? strptime(at, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    return end && !*end ? (uint64_t)timegm(&tm) * 1000 : 0;
}

/* Before a new session of player @id: while @max or more of their sessions are open (not
 * revoked, not expired), the oldest ends ("session limit"): by the leader's time in
 * milliseconds (created_at has whole seconds only: two sign-ins within one second tied, and
 * the tie went by the random session id), then by id. */
static int sessions_bound(struct acc_op *op, const char *id, size_t max)
{
    json_t *open;
    int rv = player_open_sessions(op, id, true, &open);
    while (rv == 0 && json_array_size(open) >= max) {
        size_t oldest = 0, i;
        json_t *s;
        json_array_foreach(open, i, s)
        {
            json_t *o = json_array_get(open, oldest);
            uint64_t ts = session_created_ms(s), to = session_created_ms(o);
            if (ts < to || (ts == to && strcmp(store_str(s, "id"), store_str(o, "id")) < 0))
                oldest = i;
        }
        rv = family_revoke(op, json_array_get(open, oldest), "session limit");
        json_array_remove(open, oldest);
    }
    json_decref(open);
    return rv;
}

bool acc_totp_confirmed(struct acc_op *op)
{
    json_t *totp = accounts_totp_get(op->f, op->txn, op->id);
    bool yes = totp && json_is_true(json_object_get(totp, "confirmed"));
    json_decref(totp);
    return yes;
}

/* The second factor of a password sign-in, if the player confirmed one. */
int acc_factor_spend(struct acc_op *op)
{
    json_t *totp = accounts_totp_get(op->f, op->txn, op->id);
    int rv = 0;
    if (totp && json_is_true(json_object_get(totp, "confirmed")))
        rv = totp_spend(op->f, op->txn, op->id, totp, op->body, op->res);
    json_decref(totp);
    return rv;
}

static int session_create(struct acc_op *op)
{
    const struct cmd *c = op->c;
    const char *id = op->id, *fam = store_str(op->body, "family"),
               *hash = store_str(op->body, "refresh_hash");
    json_t *old = accounts_session_get(op->f, op->txn, fam);
    if (old) {
        json_decref(old);
        fsm_result_problem(op->res, 409, "Session exists", "session '%s' already exists", fam);
        return 0;
    }
    /* Signed in with FranceConnect: the provider authenticated the person, so neither the
     * password back-off nor the one-time code applies; the login's state is spent. */
    const char *fc_state = store_str(op->body, "fc_state");
    int rv = 0;
    if (fc_state && acc_totp_confirmed(op)) {
        /* A confirmed second factor is asked at every sign-in: FranceConnect cannot carry it,
         * so a player who has one signs in with the password and the code (ASVS 6.3.4). */
        json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank", "title",
                              "Second factor required", "status", 401, "code",
                              "second_factor_required", "detail",
                              "this account has a one-time-code second factor, which a "
                              "FranceConnect sign-in cannot give: sign in with the email, the "
                              "password and the code");
        store_result_json(op->res, 401, o);
        return 0;
    }
    if (fc_state)
        rv = fc_signin_spend(op->f, op->txn, id, fc_state, store_str(op->body, "fc_subkey"),
                             op->res);
    if (rv != 0 || op->res->status)
        return rv;
    unsigned count;
    uint64_t until;
    accounts_failures(op->f, op->txn, id, &count, &until);
    if (!fc_state && c->time_ms < until) {
        acc_result_locked(op->res, c->time_ms, until);
        return 0;
    }
    if (!fc_state && ((rv = acc_factor_spend(op)) != 0 || op->res->status))
        return rv;
    /* The limits the leader put in the command (older commands have none: 30 days, no
     * inactivity timeout, no bound). */
    json_int_t life, idle, max;
    opt_count(op->body, "lifetime_ms", (json_int_t)ACCOUNTS_SESSION_TTL_MS, &life);
    opt_count(op->body, "idle_ms", (json_int_t)ACCOUNTS_SESSION_TTL_MS, &idle);
    opt_count(op->body, "max_sessions", 1000, &max);
    if (max > 0 && (rv = sessions_bound(op, id, (size_t)max)) != 0)
        return rv;
    char pk[ACCOUNTS_ID_CHARS + ACCOUNTS_FAMILY_CHARS + 1];
    uint64_t expires = c->time_ms + (life > 0 ? (uint64_t)life : ACCOUNTS_SESSION_TTL_MS);
    json_t *s = json_pack("{s:s, s:s, s:s, s:[], s:s, s:s, s:I, s:b}", "id", fam, "player_id",
                          id, "current", hash, "previous", "created_at", op->ts, "updated_at",
                          op->ts, "expires_at_ms", (json_int_t)expires, "revoked", 0);
    json_object_set_new(s, "created_at_ms", json_integer((json_int_t)c->time_ms));
    if (idle > 0) {
        json_object_set_new(s, "idle_ms", json_integer(idle));
        json_object_set_new(s, "used_ms", json_integer((json_int_t)c->time_ms));
    }
    snprintf(pk, sizeof pk, "%s%s", id, fam);
    MDB_val fk = {strlen(id), (void *)id};
    if ((rv = store_put_json(op->txn, DB(op->f)->sessions, fam, strlen(fam), s, NULL)) == 0 &&
        (rv = store_put_str(op->txn, DB(op->f)->player_sessions, pk, "")) == 0) {
        rv = mdb_del(op->txn, DB(op->f)->login_failures, &fk, NULL); /* a success resets it */
        if (rv == MDB_NOTFOUND)
            rv = 0;
    }
    json_decref(s);
    if (rv == 0)
        store_result_json(op->res, 201,
                          json_pack("{s:s, s:s, s:I, s:s%}", "session_id", fam, "player_id", id,
                                    "expires_at_ms", (json_int_t)expires, "token_check", hash,
                                    (size_t)16));
    return rv;
}

static bool in_array(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), s))
        return true;
    return false;
}

/* Revocations older than the retention are forgotten, a few per new one (by the command's
 * time, so every node forgets the same ones). */
static int revocations_prune(struct fsm *f, MDB_txn *txn, int64_t now_ms)
{
    MDB_cursor *cur;
    int rv = mdb_cursor_open(txn, DB(f)->session_revocations, &cur);
    if (rv != 0)
        return rv;
    MDB_val k, v;
    int64_t cutoff = now_ms - (int64_t)ACCOUNTS_REVOCATION_KEEP_S * 1000;
    int crv = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (int n = 0; crv == 0 && n < 16 && k.mv_size >= 8; n++) {
        if ((int64_t)store_be64_get(k.mv_data) >= cutoff)
            break;
        if ((rv = mdb_cursor_del(cur, 0)) != 0)
            break;
        crv = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }
    mdb_cursor_close(cur);
    return rv;
}

static int family_revoke(struct acc_op *op, json_t *s, const char *reason)
{
    struct fsm *f = op->f;
    MDB_txn *txn = op->txn;
    json_object_set_new(s, "revoked", json_true());
    json_object_set_new(s, "revoked_reason", json_string(reason));
    json_object_set_new(s, "updated_at", json_string(op->ts));
    const char *fam = store_str(s, "id");
    int rv = store_put_json(txn, DB(f)->sessions, fam, strlen(fam), s, NULL);
    /* Out of the player's index: the walks at each sign-in and sign-out see open sessions
     * only, however often the player signed in before. */
    char pk[ACCOUNTS_ID_CHARS + ACCOUNTS_FAMILY_CHARS + 1];
    snprintf(pk, sizeof pk, "%s%s", store_str(s, "player_id"), fam);
    MDB_val pkv = {strlen(pk), pk};
    int drv = rv == 0 ? mdb_del(txn, DB(f)->player_sessions, &pkv, NULL) : 0;
    if (drv != 0 && drv != MDB_NOTFOUND)
        rv = drv;
    /* The revocation log sport nodes poll (GET /v1/sessions/revocations): time ++ family. */
    uint8_t key[8 + ACCOUNTS_FAMILY_CHARS];
    size_t fl = strlen(fam);
    if (rv == 0 && fl == ACCOUNTS_FAMILY_CHARS) {
        store_be64_put(key, (uint64_t)op->c->time_ms);
        memcpy(key + 8, fam, fl);
        json_t *e = json_pack("{s:s, s:s, s:I}", "session_id", fam, "player_id",
                              store_str(s, "player_id"), "at_ms", (json_int_t)op->c->time_ms);
        rv = store_put_json(txn, DB(f)->session_revocations, key, sizeof key, e, NULL);
        json_decref(e);
        if (rv == 0)
            rv = revocations_prune(f, txn, op->c->time_ms);
    }
    return rv;
}

int accounts_revocation_add(struct fsm *f, MDB_txn *txn, const char *sid, uint64_t time_ms)
{
    size_t sl = strlen(sid);
    if (sl == 0 || sl > 96)
        return EINVAL;
    uint8_t key[8 + 96];
    store_be64_put(key, time_ms);
    memcpy(key + 8, sid, sl);
    json_t *e = json_pack("{s:s, s:I}", "session_id", sid, "at_ms", (json_int_t)time_ms);
    int rv = store_put_json(txn, DB(f)->session_revocations, key, 8 + sl, e, NULL);
    json_decref(e);
    if (rv == 0)
        rv = revocations_prune(f, txn, (int64_t)time_ms);
    return rv;
}

json_t *accounts_revocations(struct fsm *f, MDB_txn *txn, int64_t since_ms, size_t limit)
{
    json_t *items = json_array();
    MDB_cursor *cur;
    bool more = false;
    if (mdb_cursor_open(txn, DB(f)->session_revocations, &cur) == 0) {
        uint8_t from[8];
        store_be64_put(from, (uint64_t)(since_ms < 0 ? 0 : since_ms));
        MDB_val k = {sizeof from, from}, v;
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            if (json_array_size(items) == limit) {
                more = true;
                break;
            }
            json_t *e = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            if (e)
                json_array_append_new(items, e);
        }
        mdb_cursor_close(cur);
    }
    return json_pack("{s:o, s:b, s:i}", "items", items, "more", more, "keep_s",
                     ACCOUNTS_REVOCATION_KEEP_S);
}

static bool session_refresh_valid(json_t *b)
{
    const char *given = store_str(b, "presented_hash"), *next = store_str(b, "new_hash");
    return accounts_family_valid(store_str(b, "family")) && given && hex_is(given, 64) && next &&
           hex_is(next, 64);
}

static int session_refresh_family(struct acc_op *op, json_t *s)
{
    const char *fam = store_str(op->body, "family"), *given = store_str(op->body, "presented_hash"),
               *next = store_str(op->body, "new_hash");
    struct fsm_result *res = op->res;
    if (!s) {
        fsm_result_problem(res, 401, "Invalid refresh token", "this refresh token is not known");
        return 0;
    }
    if (json_is_true(json_object_get(s, "revoked"))) {
        fsm_result_problem(res, 401, "Session revoked",
                           "this session was revoked (%s); sign in again",
                           store_str(s, "revoked_reason") ? store_str(s, "revoked_reason")
                                                          : "signed out");
        return 0;
    }
    json_t *prev = json_object_get(s, "previous");
    int rv = 0;
    if (strcmp(store_str(s, "current"), given) != 0) {
        if (!in_array(prev, given)) {
            fsm_result_problem(res, 401, "Invalid refresh token",
                               "this refresh token is not known");
            return 0;
        }
        /* An old token came back: whoever holds the family's tokens cannot be told apart
         * from a thief, so the whole family goes. */
        if ((rv = family_revoke(op, s, "refresh token reused")) == 0)
            fsm_result_problem(res, 401, "Refresh token reused",
                               "this refresh token was already used; the session is revoked "
                               "and every token of it refused: sign in again");
        return rv;
    }
    if ((uint64_t)json_integer_value(json_object_get(s, "expires_at_ms")) <= op->c->time_ms) {
        fsm_result_problem(res, 401, "Session expired", "this session expired; sign in again");
        return 0;
    }
    json_int_t idle = json_integer_value(json_object_get(s, "idle_ms"));
    if (idle > 0 && (uint64_t)json_integer_value(json_object_get(s, "used_ms")) +
                            (uint64_t)idle <= op->c->time_ms) {
        fsm_result_problem(res, 401, "Session idle",
                           "this session was not used for %lld s and ended; sign in again",
                           (long long)(idle / 1000));
        return 0;
    }
    if (!strcmp(next, given) || in_array(prev, next)) {
        fsm_result_problem(res, 422, "Invalid refresh", "the new refresh-token hash is not new");
        return 0;
    }
    json_array_append_new(prev, json_string(given));
    while (json_array_size(prev) > ACCOUNTS_PREVIOUS_MAX)
        json_array_remove(prev, 0);
    json_object_set_new(s, "current", json_string(next));
    json_object_set_new(s, "updated_at", json_string(op->ts));
    if (idle > 0)
        json_object_set_new(s, "used_ms", json_integer((json_int_t)op->c->time_ms));
    if ((rv = store_put_json(op->txn, DB(op->f)->sessions, fam, strlen(fam), s, NULL)) == 0)
        store_result_json(res, 200,
                          json_pack("{s:s, s:s, s:O, s:s%}", "session_id", fam, "player_id",
                                    store_str(s, "player_id"), "expires_at_ms",
                                    json_object_get(s, "expires_at_ms"), "token_check", next,
                                    (size_t)16));
    return rv;
}

static int session_refresh(struct acc_op *op)
{
    json_t *s = accounts_session_get(op->f, op->txn, store_str(op->body, "family"));
    int rv = session_refresh_family(op, s);
    json_decref(s);
    return rv;
}

static int session_revoke(struct acc_op *op)
{
    const char *fam = store_str(op->body, "family");
    json_t *s = accounts_family_valid(fam) ? accounts_session_get(op->f, op->txn, fam) : NULL;
    int rv = 0;
    if (!s || !op->id || strcmp(store_str(s, "player_id"), op->id) != 0) {
        fsm_result_problem(op->res, 404, "No such session", "no session '%s' for this player",
                           fam ? fam : "");
    } else {
        bool was = json_is_true(json_object_get(s, "revoked"));
        if (!was)
            rv = family_revoke(op, s, "signed out");
        if (rv == 0)
            store_result_json(op->res, 200, json_pack("{s:s, s:i}", "session_id", fam,
                                                      "revoked", was ? 0 : 1));
    }
    json_decref(s);
    return rv;
}

int acc_revoke_player(struct acc_op *op, const char *id, const char *keep, const char *reason,
                      unsigned *count)
{
    json_t *open, *s;
    size_t i;
    int rv = player_open_sessions(op, id, false, &open);
    *count = 0;
    json_array_foreach(open, i, s)
    {
        if (keep && acc_str_is(s, "id", keep))
            continue;
        if (rv == 0)
            rv = family_revoke(op, s, reason);
        (*count)++;
    }
    json_decref(open);
    return rv;
}

int accounts_end_sessions(struct fsm *f, MDB_txn *txn, const struct cmd *c, const char *player_id,
                          const char *reason)
{
    struct acc_op op = {f, txn, c, NULL, NULL, player_id, NULL, ""};
    fsm_format_time(c->time_ms, op.ts);
    unsigned n;
    return accounts_player_id_valid(player_id)
               ? acc_revoke_player(&op, player_id, NULL, reason, &n)
               : 0;
}

static int session_revoke_all(struct acc_op *op)
{
    const char *why = store_str(op->body, "reason"); /* an operator's sign-out of a player */
    unsigned n = 0;
    int rv = acc_revoke_player(op, op->id, NULL, why ? why : "signed out everywhere", &n);
    if (rv == 0)
        store_result_json(op->res, 200, json_pack("{s:s, s:i}", "player_id", op->id, "revoked", n));
    return rv;
}

/* ---- signing keys ---- */

static bool kid_ok(const char *kid)
{
    size_t n = kid ? strlen(kid) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)kid[i]) && kid[i] != '-' && kid[i] != '_')
            return false;
    return true;
}

/* Whether @o's string field @key is @want. */
bool acc_str_is(json_t *o, const char *key, const char *want)
{
    const char *s = store_str(o, key);
    return s && !strcmp(s, want);
}

static bool signing_key_valid(json_t *b)
{
    const char *kid = store_str(b, "kid");
    json_t *jwk = json_object_get(b, "jwk");
    return kid_ok(kid) && json_is_object(jwk) && acc_str_is(jwk, "kty", "EC") &&
           acc_str_is(jwk, "crv", "P-256") && store_str(jwk, "d") && store_str(jwk, "x") &&
           store_str(jwk, "y") && acc_str_is(jwk, "kid", kid);
}

static int signing_key_add(struct acc_op *op)
{
    const char *kid = store_str(op->body, "kid");
    json_t *jwk = json_object_get(op->body, "jwk");
    MDB_cursor *cur;
    int rv = mdb_cursor_open(op->txn, DB(op->f)->signing_keys, &cur);
    if (rv != 0)
        return rv;
    MDB_val k, v;
    uint64_t seq = 0;
    int crv = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (crv == 0 && k.mv_size == 8)
        seq = store_be64_get(k.mv_data);
    bool any = crv == 0;
    bool dup = false;
    for (; crv == 0 && !dup; crv = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
        json_t *o = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        dup = acc_str_is(o, "kid", kid);
        json_decref(o);
    }
    mdb_cursor_close(cur);
    if (any && json_is_true(json_object_get(op->body, "if_none"))) {
        fsm_result_problem(op->res, 409, "Signing key exists", "the cluster already has a "
                                                               "signing key");
        return 0;
    }
    if (dup) {
        fsm_result_problem(op->res, 409, "Signing key exists", "kid '%s' is already used", kid);
        return 0;
    }
    uint8_t be[8];
    store_be64_put(be, seq + 1);
    json_t *rec = json_pack("{s:s, s:O, s:s}", "kid", kid, "jwk", jwk, "created_at", op->ts);
    rv = store_put_json(op->txn, DB(op->f)->signing_keys, be, 8, rec, NULL);
    json_decref(rec);
    if (rv == 0)
        store_result_json(op->res, 201,
                          json_pack("{s:s, s:s}", "kid", kid, "created_at", op->ts));
    return rv;
}

/* ---- secrets at rest: sealed again under the keyring's current key ---- */

/* The record @table/@id holding a secret and its key (signing keys are found by kid), or NULL.
 * @key gets the LMDB key (at most 255 bytes), @klen its length. */
static json_t *secret_record(struct fsm *f, MDB_txn *txn, const char *table, const char *id,
                             uint8_t key[256], size_t *klen)
{
    if (!strcmp(table, "totp")) {
        if (!accounts_player_id_valid(id))
            return NULL;
        *klen = strlen(id);
        memcpy(key, id, *klen);
        return store_get_json(txn, DB(f)->totp, id, *klen);
    }
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, DB(f)->signing_keys, &cur) != 0)
        return NULL;
    MDB_val k, v;
    json_t *found = NULL;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !found;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        json_t *o = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        if (acc_str_is(o, "kid", id) && k.mv_size <= 255) {
            found = o;
            memcpy(key, k.mv_data, k.mv_size);
            *klen = k.mv_size;
        } else {
            json_decref(o);
        }
    }
    mdb_cursor_close(cur);
    return found;
}

json_t *accounts_secrets(struct fsm *f, MDB_txn *txn)
{
    json_t *out = json_array();
    MDB_cursor *cur;
    MDB_val k, v;
    if (mdb_cursor_open(txn, DB(f)->signing_keys, &cur) == 0) {
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            json_t *o = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            const char *d = store_str(json_object_get(o, "jwk"), "d");
            if (d)
                json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s}", "table",
                                                     "signing_key", "id", store_str(o, "kid"),
                                                     "field", "d", "value", d));
            json_decref(o);
        }
        mdb_cursor_close(cur);
    }
    if (mdb_cursor_open(txn, DB(f)->totp, &cur) == 0) {
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            json_t *o = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            char id[256];
            snprintf(id, sizeof id, "%.*s", (int)k.mv_size, (const char *)k.mv_data);
            for (int i = 0; i < 2; i++) {
                const char *field = i ? "uri" : "secret", *val = store_str(o, field);
                if (val)
                    json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s}", "table",
                                                         "totp", "id", id, "field", field,
                                                         "value", val));
            }
            json_decref(o);
        }
        mdb_cursor_close(cur);
    }
    return out;
}

static bool reseal_valid(json_t *b)
{
    json_t *items = json_object_get(b, "items"), *it;
    size_t i;
    if (!json_is_array(items) || json_array_size(items) < 1 ||
        json_array_size(items) > ACCOUNTS_RESEAL_MAX)
        return false;
    json_array_foreach(items, i, it)
    {
        const char *table = store_str(it, "table"), *field = store_str(it, "field");
        bool totp = table && !strcmp(table, "totp"), key = table && !strcmp(table, "signing_key");
        if (!(totp && field && (!strcmp(field, "secret") || !strcmp(field, "uri"))) &&
            !(key && field && !strcmp(field, "d")))
            return false;
        if (!store_str(it, "id") || !store_str(it, "old") || !seal_is_sealed(store_str(it, "new")) ||
            strlen(store_str(it, "new")) > 1024)
            return false;
    }
    return true;
}

/* Each item replaces a stored secret only if it still holds the value the node read (so a
 * reseal racing a new enrolment or another reseal changes nothing it did not see). */
static int secrets_reseal(struct acc_op *op)
{
    json_t *items = json_object_get(op->body, "items"), *it;
    size_t i;
    int done = 0, skipped = 0, rv = 0;
    json_array_foreach(items, i, it)
    {
        const char *table = store_str(it, "table"), *field = store_str(it, "field");
        uint8_t key[256];
        size_t klen = 0;
        json_t *rec = secret_record(op->f, op->txn, table, store_str(it, "id"), key, &klen);
        json_t *holder = !rec ? NULL : !strcmp(table, "totp") ? rec : json_object_get(rec, "jwk");
        if (!holder || !acc_str_is(holder, field, store_str(it, "old"))) {
            skipped++;
        } else {
            json_object_set_new(holder, field, json_string(store_str(it, "new")));
            MDB_dbi dbi = !strcmp(table, "totp") ? DB(op->f)->totp : DB(op->f)->signing_keys;
            rv = store_put_json(op->txn, dbi, key, klen, rec, NULL);
            done++;
        }
        json_decref(rec);
        if (rv)
            return rv;
    }
    store_result_json(op->res, 200, json_pack("{s:i, s:i}", "resealed", done, "skipped",
                                               skipped));
    return 0;
}

/* ---- the domain's commands ---- */

/* Payload builders (accounts.h): each command's payload is written here, next to what reads it. */

json_t *accounts_cmd_register(const char *id, const char *email, const char *password_hash)
{
    return json_pack("{s:s, s:s, s:s}", "id", id, "email", email, "password_hash",
                     password_hash);
}

json_t *accounts_cmd_login_failed(const char *player_id)
{
    return json_pack("{s:s}", "player_id", player_id);
}

json_t *accounts_cmd_session_fc(const char *player_id, const char *family,
                                const char *refresh_hash, const char *fc_state,
                                const char *fc_subkey)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "player_id", player_id, "family", family,
                     "refresh_hash", refresh_hash, "fc_state", fc_state, "fc_subkey", fc_subkey);
}

json_t *accounts_cmd_session_refresh(const char *family, const char *presented_hash,
                                     const char *new_hash)
{
    return json_pack("{s:s, s:s, s:s}", "family", family, "presented_hash", presented_hash,
                     "new_hash", new_hash);
}

json_t *accounts_cmd_session_revoke(const char *player_id, const char *family)
{
    return family ? json_pack("{s:s, s:s}", "player_id", player_id, "family", family)
                  : json_pack("{s:s}", "player_id", player_id);
}

json_t *accounts_cmd_totp_enrol(const char *player_id, const char *secret, const char *uri)
{
    return json_pack("{s:s, s:s, s:s}", "player_id", player_id, "secret", secret, "uri", uri);
}

json_t *accounts_cmd_totp_confirm(const char *player_id, int64_t step, json_t *recovery_hashes)
{
    return json_pack("{s:s, s:I, s:o}", "player_id", player_id, "step", (json_int_t)step,
                     "recovery_hashes", recovery_hashes);
}

json_t *accounts_cmd_fc_link(const char *player_id, const char *state, bool adult,
                             const char *idkey, json_t *identity)
{
    return json_pack("{s:s, s:s, s:b, s:s, s:o}", "player_id", player_id, "state", state,
                     "adult", adult, "idkey", idkey, "identity", identity);
}

json_t *accounts_cmd_doc_session(const char *player_id, const char *provider,
                                 const char *session_id, const char *url)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "player_id", player_id, "provider", provider,
                     "session_id", session_id, "url", url);
}

json_t *accounts_cmd_doc_event(const char *provider, const char *event_id,
                               const char *reference, const char *status,
                               const char *raw_status, int64_t timestamp)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "provider", provider, "event_id",
                     event_id, "reference", reference, "status", status, "raw_status",
                     raw_status, "timestamp", (json_int_t)timestamp);
}

json_t *accounts_cmd_kyc_override(const char *player_id, const char *status, const char *reason)
{
    return json_pack("{s:s, s:s, s:s}", "player_id", player_id, "status", status, "reason",
                     reason);
}

static const struct acc_shape REGISTER = {
    register_valid, "Invalid registration",
    "the command needs a player id, a normalised email and an Argon2id hash", false,
    player_register};
static const struct acc_shape LOGIN_FAILED = {NULL, NULL, NULL, true, login_failed};
static const struct acc_shape SESSION_CREATE = {
    session_create_valid, "Invalid session",
    "the command needs a family id (32 hex) and a refresh-token hash", true, session_create};
static const struct acc_shape SESSION_REFRESH = {
    session_refresh_valid, "Invalid refresh",
    "the command needs a family id and two refresh-token hashes", false, session_refresh};
static const struct acc_shape SESSION_REVOKE = {NULL, NULL, NULL, false, session_revoke};
static bool revoke_all_valid(json_t *b)
{
    json_t *why = json_object_get(b, "reason");
    return !why || (json_is_string(why) && strlen(json_string_value(why)) >= 3 &&
                    strlen(json_string_value(why)) <= 500);
}

static const struct acc_shape SESSION_REVOKE_ALL = {
    revoke_all_valid, "Invalid sign-out", "'reason', when given, is 3 to 500 characters", true,
    session_revoke_all};
static const struct acc_shape SIGNING_KEY_ADD = {
    signing_key_valid, "Invalid signing key",
    "the command needs a kid and a private EC P-256 JWK with that kid", false, signing_key_add};
static const struct acc_shape TOTP_ENROL = {totp_enrol_valid, "Invalid enrolment",
                                            "the command needs a secret and a URI", true,
                                            totp_enrol};
static const struct acc_shape TOTP_CONFIRM = {
    totp_confirm_valid, "Invalid confirmation",
    "the command needs a time step and 1 to 16 recovery-code hashes", false, totp_confirm};

_Static_assert(ACCOUNTS_RESEAL_MAX == 64, "the reseal refusal names the limit");
static const struct acc_shape SECRETS_RESEAL = {
    reseal_valid, "Invalid reseal",
    "the command needs 1 to 64 items {table: totp (field secret or "
    "uri) or signing_key (field d), id, old, new (sealed text)}",
    false, secrets_reseal};

static const struct fsm_command COMMANDS[] = {
    {CMD_PLAYER_REGISTER, "player_register", true, acc_apply, &REGISTER},
    {CMD_LOGIN_FAILED, "login_failed", true, acc_apply, &LOGIN_FAILED},
    {CMD_SESSION_CREATE, "session_create", true, acc_apply, &SESSION_CREATE},
    {CMD_SESSION_REFRESH, "session_refresh", true, acc_apply, &SESSION_REFRESH},
    {CMD_SESSION_REVOKE, "session_revoke", true, acc_apply, &SESSION_REVOKE},
    {CMD_SESSION_REVOKE_ALL, "session_revoke_all", true, acc_apply, &SESSION_REVOKE_ALL},
    {CMD_SIGNING_KEY_ADD, "signing_key_add", true, acc_apply, &SIGNING_KEY_ADD},
    {CMD_TOTP_ENROL, "totp_enrol", true, acc_apply, &TOTP_ENROL},
    {CMD_TOTP_CONFIRM, "totp_confirm", true, acc_apply, &TOTP_CONFIRM},
    {CMD_FC_START, "fc_start", true, acc_apply, &acc_shape_fc_start},
    {CMD_FC_LINK, "fc_link", true, acc_apply, &acc_shape_fc_link},
    {CMD_DOC_SESSION, "doc_session", true, acc_apply, &acc_shape_doc_session},
    {CMD_DOC_EVENT, "doc_event", true, acc_apply, &acc_shape_doc_event},
    {CMD_KYC_OVERRIDE, "kyc_override", true, acc_apply, &acc_shape_kyc_override},
    {CMD_SECRETS_RESEAL, "secrets_reseal", true, acc_apply, &SECRETS_RESEAL},
    {CMD_PASSWORD_CHANGE, "password_change", true, acc_apply, &acc_shape_password_change},
    {0, NULL, false, NULL, NULL},
};

static const char *const DBS[] = {"players",  "player_email",    "login_failures", "sessions",
                                  "player_sessions", "signing_keys", "totp",      "fc_logins",
                                  "identities", "doc_events",   "session_revocations", NULL};
/* DB() reads the handles as a struct: one field per name, in the same order. */
_Static_assert(sizeof(struct accounts_dbs) == (sizeof DBS / sizeof *DBS - 1) * sizeof(MDB_dbi),
               "one handle per database name");

const struct fsm_domain accounts_domain = {"accounts", COMMANDS, DBS};
