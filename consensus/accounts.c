/* Accounts: validation, apply and queries. See accounts.h for the records and the rules.
 *
 * Each apply function parses its payload, checks every field and every precondition, and only
 * then writes: a refusal is a 4xx result that leaves nothing behind. No clock, no randomness:
 * the time is the leader's stamp in the command (c->time_ms), ids and hashes came with it. */
#include "consensus/accounts.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "consensus/cmdtable.h"
#include "consensus/store.h"

const struct fsm_domain accounts_domain;

struct accounts_dbs {
    MDB_dbi players, player_email, login_failures, sessions, player_sessions, signing_keys, totp,
        fc_logins, identities, doc_events;
};

static const struct accounts_dbs *DB(struct fsm *f)
{
    return (const struct accounts_dbs *)fsm_domain_dbis(f, &accounts_domain);
}

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
static void result_locked(struct fsm_result *res, uint64_t now_ms, uint64_t until_ms)
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

/* ---- apply ---- */

static int apply_register(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                          struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    const char *id = store_str(body, "id"), *email = store_str(body, "email"),
               *hash = store_str(body, "password_hash");
    char norm[ACCOUNTS_EMAIL_MAX + 1];
    if (!accounts_player_id_valid(id) || !email ||
        accounts_email_normalise(email, norm, sizeof norm) != 0 || strcmp(norm, email) != 0 ||
        !hash || strncmp(hash, "$argon2id$", 10) != 0 || strlen(hash) > 200) {
        fsm_result_problem(res, 422, "Invalid registration",
                           "the command needs a player id, a normalised email and an Argon2id "
                           "hash");
        goto out;
    }
    MDB_val k = {strlen(email), (void *)email}, v;
    if (mdb_get(txn, DB(f)->player_email, &k, &v) == 0) {
        fsm_result_problem(res, 409, "Email taken", "an account already uses %s", email);
        goto out;
    }
    json_t *old = accounts_player_get(f, txn, id);
    if (old) {
        json_decref(old);
        fsm_result_problem(res, 409, "Player exists", "player '%s' already exists", id);
        goto out;
    }
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:i}", "id", id, "email", email,
                          "password_hash", hash, "created_at", ts, "version", 1);
    if ((rv = store_put_json(txn, DB(f)->players, id, strlen(id), p, NULL)) == 0 &&
        (rv = store_put_str(txn, DB(f)->player_email, email, id)) == 0)
        store_result_json(res, 201, json_pack("{s:s, s:s, s:s}", "id", id, "email", email,
                                        "created_at", ts));
    json_decref(p);
out:
    json_decref(body);
    return rv;
}

/* The player of @id, or a 404 result. */
static json_t *need_player(struct fsm *f, MDB_txn *txn, const char *id, struct fsm_result *res)
{
    json_t *p = accounts_player_id_valid(id) ? accounts_player_get(f, txn, id) : NULL;
    if (!p)
        fsm_result_problem(res, 404, "No such player", "player '%s' does not exist",
                           id ? id : "");
    return p;
}

static int apply_login_failed(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                              struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    const char *id = store_str(body, "player_id");
    json_t *p = need_player(f, txn, id, res);
    if (!p)
        goto out;
    json_decref(p);
    unsigned count;
    uint64_t until;
    accounts_failures(f, txn, id, &count, &until);
    if (c->time_ms < until) {
        result_locked(res, c->time_ms, until); /* locked: not counted */
        goto out;
    }
    count++;
    uint64_t lock = accounts_lock_ms(count);
    until = lock ? c->time_ms + lock : 0;
    json_t *rec = json_pack("{s:I, s:I}", "count", (json_int_t)count, "locked_until_ms",
                            (json_int_t)until);
    rv = store_put_json(txn, DB(f)->login_failures, id, strlen(id), rec, NULL);
    json_decref(rec);
    if (rv == 0) {
        json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:I}", "type", "about:blank", "title",
                              "Sign-in failed", "status", 401, "detail",
                              "the email or the password is wrong", "failures",
                              (json_int_t)count);
        if (lock)
            json_object_set_new(o, "retry_after", json_integer((json_int_t)(lock / 1000)));
        store_result_json(res, 401, o);
    }
out:
    json_decref(body);
    return rv;
}

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

static int apply_totp_enrol(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                            struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    const char *id = store_str(body, "player_id"), *secret = store_str(body, "secret"), *uri = store_str(body, "uri");
    if (!secret || strlen(secret) < 16 || strlen(secret) > 128 || !uri || strlen(uri) > 512) {
        fsm_result_problem(res, 422, "Invalid enrolment", "the command needs a secret and a URI");
        goto out;
    }
    json_t *p = need_player(f, txn, id, res);
    if (!p)
        goto out;
    json_decref(p);
    json_t *old = accounts_totp_get(f, txn, id);
    bool confirmed = old && json_is_true(json_object_get(old, "confirmed"));
    json_decref(old);
    if (confirmed) {
        fsm_result_problem(res, 409, "Second factor active",
                           "a one-time-code second factor is already confirmed for this account");
        goto out;
    }
    json_t *t = json_pack("{s:s, s:s, s:b, s:i, s:[]}", "secret", secret, "uri", uri,
                          "confirmed", 0, "last_step", -1, "recovery");
    rv = store_put_json(txn, DB(f)->totp, id, strlen(id), t, NULL);
    json_decref(t);
    if (rv == 0)
        store_result_json(res, 201, json_pack("{s:s, s:s}", "secret", secret, "otpauth_uri", uri));
out:
    json_decref(body);
    return rv;
}

static int apply_totp_confirm(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                              struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *t = NULL;
    const char *id = store_str(body, "player_id");
    json_t *step = json_object_get(body, "step"), *hashes = json_object_get(body, "recovery_hashes");
    bool ok = json_is_integer(step) && json_is_array(hashes) && json_array_size(hashes) >= 1 &&
              json_array_size(hashes) <= 16;
    size_t i;
    json_t *v;
    json_array_foreach(hashes, i, v) ok = ok && json_is_string(v) && hex_is(json_string_value(v), 64);
    if (!ok) {
        fsm_result_problem(res, 422, "Invalid confirmation",
                           "the command needs a time step and 1 to 16 recovery-code hashes");
        goto out;
    }
    t = accounts_player_id_valid(id) ? accounts_totp_get(f, txn, id) : NULL;
    if (!t) {
        fsm_result_problem(res, 409, "Not enrolled", "start with POST /v1/players/me/totp");
        goto out;
    }
    if (json_is_true(json_object_get(t, "confirmed"))) {
        fsm_result_problem(res, 409, "Second factor active", "the second factor is already "
                                                             "confirmed");
        goto out;
    }
    if (json_integer_value(step) <= json_integer_value(json_object_get(t, "last_step"))) {
        fsm_result_problem(res, 401, "Code already used", "this one-time code was already used");
        goto out;
    }
    json_object_set_new(t, "confirmed", json_true());
    json_object_set(t, "last_step", step);
    json_object_set(t, "recovery", hashes);
    if ((rv = store_put_json(txn, DB(f)->totp, id, strlen(id), t, NULL)) == 0)
        store_result_json(res, 200, json_pack("{s:b, s:s%}", "confirmed", 1, "token_check",
                                        json_string_value(json_array_get(hashes, 0)),
                                        (size_t)16));
out:
    json_decref(t);
    json_decref(body);
    return rv;
}

static int fc_signin_spend(struct fsm *f, MDB_txn *txn, const char *id, const char *state,
                           const char *subkey, struct fsm_result *res);

static int apply_session_create(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                                struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    const char *id = store_str(body, "player_id"), *fam = store_str(body, "family"),
               *hash = store_str(body, "refresh_hash");
    if (!accounts_family_valid(fam) || !hash || !hex_is(hash, 64)) {
        fsm_result_problem(res, 422, "Invalid session",
                           "the command needs a family id (32 hex) and a refresh-token hash");
        goto out;
    }
    json_t *p = need_player(f, txn, id, res);
    if (!p)
        goto out;
    json_decref(p);
    json_t *old = accounts_session_get(f, txn, fam);
    if (old) {
        json_decref(old);
        fsm_result_problem(res, 409, "Session exists", "session '%s' already exists", fam);
        goto out;
    }
    /* Signed in with FranceConnect: the provider authenticated the person, so neither the
     * password back-off nor the one-time code applies; the login's state is spent. */
    const char *fc_state = store_str(body, "fc_state");
    if (fc_state) {
        int r2 = fc_signin_spend(f, txn, id, fc_state, store_str(body, "fc_subkey"), res);
        if (r2 != 0 || res->status) {
            rv = r2;
            goto out;
        }
    }
    unsigned count;
    uint64_t until;
    accounts_failures(f, txn, id, &count, &until);
    if (!fc_state && c->time_ms < until) {
        result_locked(res, c->time_ms, until);
        goto out;
    }
    json_t *totp = fc_state ? NULL : accounts_totp_get(f, txn, id);
    if (totp && json_is_true(json_object_get(totp, "confirmed"))) {
        int r2 = totp_spend(f, txn, id, totp, body, res);
        json_decref(totp);
        if (r2 != 0 || res->status) {
            rv = r2;
            goto out;
        }
    } else {
        json_decref(totp);
    }
    char ts[32], pk[ACCOUNTS_ID_CHARS + ACCOUNTS_FAMILY_CHARS + 1];
    fsm_format_time(c->time_ms, ts);
    uint64_t expires = c->time_ms + ACCOUNTS_SESSION_TTL_MS;
    json_t *s = json_pack("{s:s, s:s, s:s, s:[], s:s, s:s, s:I, s:b}", "id", fam, "player_id",
                          id, "current", hash, "previous", "created_at", ts, "updated_at", ts,
                          "expires_at_ms", (json_int_t)expires, "revoked", 0);
    snprintf(pk, sizeof pk, "%s%s", id, fam);
    MDB_val fk = {strlen(id), (void *)id};
    if ((rv = store_put_json(txn, DB(f)->sessions, fam, strlen(fam), s, NULL)) == 0 &&
        (rv = store_put_str(txn, DB(f)->player_sessions, pk, "")) == 0) {
        rv = mdb_del(txn, DB(f)->login_failures, &fk, NULL); /* a success resets the count */
        if (rv == MDB_NOTFOUND)
            rv = 0;
    }
    json_decref(s);
    if (rv == 0)
        store_result_json(res, 201, json_pack("{s:s, s:s, s:I, s:s%}", "session_id", fam, "player_id",
                                        id, "expires_at_ms", (json_int_t)expires,
                                        "token_check", hash, (size_t)16));
out:
    json_decref(body);
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

static int family_revoke(struct fsm *f, MDB_txn *txn, json_t *s, const char *reason, const char *ts)
{
    json_object_set_new(s, "revoked", json_true());
    json_object_set_new(s, "revoked_reason", json_string(reason));
    json_object_set_new(s, "updated_at", json_string(ts));
    const char *fam = store_str(s, "id");
    return store_put_json(txn, DB(f)->sessions, fam, strlen(fam), s, NULL);
}

static int apply_session_refresh(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                                 struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *s = NULL;
    const char *fam = store_str(body, "family"), *given = store_str(body, "presented_hash"),
               *next = store_str(body, "new_hash");
    if (!accounts_family_valid(fam) || !given || !hex_is(given, 64) || !next ||
        !hex_is(next, 64)) {
        fsm_result_problem(res, 422, "Invalid refresh",
                           "the command needs a family id and two refresh-token hashes");
        goto out;
    }
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    s = accounts_session_get(f, txn, fam);
    if (!s) {
        fsm_result_problem(res, 401, "Invalid refresh token", "this refresh token is not known");
        goto out;
    }
    if (json_is_true(json_object_get(s, "revoked"))) {
        fsm_result_problem(res, 401, "Session revoked",
                           "this session was revoked (%s); sign in again",
                           store_str(s, "revoked_reason") ? store_str(s, "revoked_reason") : "signed out");
        goto out;
    }
    json_t *prev = json_object_get(s, "previous");
    if (strcmp(store_str(s, "current"), given) != 0) {
        if (!in_array(prev, given)) {
            fsm_result_problem(res, 401, "Invalid refresh token",
                               "this refresh token is not known");
            goto out;
        }
        /* An old token came back: whoever holds the family's tokens cannot be told apart
         * from a thief, so the whole family goes. */
        if ((rv = family_revoke(f, txn, s, "refresh token reused", ts)) == 0)
            fsm_result_problem(res, 401, "Refresh token reused",
                               "this refresh token was already used; the session is revoked "
                               "and every token of it refused: sign in again");
        goto out;
    }
    if ((uint64_t)json_integer_value(json_object_get(s, "expires_at_ms")) <= c->time_ms) {
        fsm_result_problem(res, 401, "Session expired", "this session expired; sign in again");
        goto out;
    }
    if (!strcmp(next, given) || in_array(prev, next)) {
        fsm_result_problem(res, 422, "Invalid refresh", "the new refresh-token hash is not new");
        goto out;
    }
    json_array_append_new(prev, json_string(given));
    while (json_array_size(prev) > ACCOUNTS_PREVIOUS_MAX)
        json_array_remove(prev, 0);
    json_object_set_new(s, "current", json_string(next));
    json_object_set_new(s, "updated_at", json_string(ts));
    if ((rv = store_put_json(txn, DB(f)->sessions, fam, strlen(fam), s, NULL)) == 0)
        store_result_json(res, 200, json_pack("{s:s, s:s, s:O, s:s%}", "session_id", fam, "player_id",
                                        store_str(s, "player_id"), "expires_at_ms",
                                        json_object_get(s, "expires_at_ms"), "token_check",
                                        next, (size_t)16));
out:
    json_decref(s);
    json_decref(body);
    return rv;
}

static int apply_session_revoke(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                                struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    const char *id = store_str(body, "player_id"), *fam = store_str(body, "family");
    json_t *s = accounts_family_valid(fam) ? accounts_session_get(f, txn, fam) : NULL;
    if (!s || !id || strcmp(store_str(s, "player_id"), id) != 0) {
        fsm_result_problem(res, 404, "No such session", "no session '%s' for this player",
                           fam ? fam : "");
        goto out;
    }
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    bool was = json_is_true(json_object_get(s, "revoked"));
    if (!was)
        rv = family_revoke(f, txn, s, "signed out", ts);
    if (rv == 0)
        store_result_json(res, 200, json_pack("{s:s, s:i}", "session_id", fam, "revoked", was ? 0 : 1));
out:
    json_decref(s);
    json_decref(body);
    return rv;
}

static int apply_session_revoke_all(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                                    struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    const char *id = store_str(body, "player_id");
    json_t *p = need_player(f, txn, id, res);
    if (!p)
        goto out;
    json_decref(p);
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    size_t il = strlen(id);
    MDB_cursor *cur;
    if ((rv = mdb_cursor_open(txn, DB(f)->player_sessions, &cur)) != 0)
        goto out;
    MDB_val k = {il, (void *)id}, v;
    unsigned n = 0;
    int crv = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (; crv == 0 && rv == 0; crv = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != il + ACCOUNTS_FAMILY_CHARS || memcmp(k.mv_data, id, il) != 0)
            break;
        char fam[ACCOUNTS_FAMILY_CHARS + 1];
        memcpy(fam, (char *)k.mv_data + il, ACCOUNTS_FAMILY_CHARS);
        fam[ACCOUNTS_FAMILY_CHARS] = 0;
        json_t *s = accounts_session_get(f, txn, fam);
        if (s && !json_is_true(json_object_get(s, "revoked"))) {
            rv = family_revoke(f, txn, s, "signed out everywhere", ts);
            n++;
        }
        json_decref(s);
    }
    mdb_cursor_close(cur);
    if (rv == 0)
        store_result_json(res, 200, json_pack("{s:s, s:i}", "player_id", id, "revoked", n));
out:
    json_decref(body);
    return rv;
}

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

static int apply_signing_key_add(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                                 struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    const char *kid = store_str(body, "kid");
    json_t *jwk = json_object_get(body, "jwk");
    if (!kid_ok(kid) || !json_is_object(jwk) || !store_str(jwk, "kty") ||
        strcmp(store_str(jwk, "kty"), "EC") != 0 || !store_str(jwk, "crv") ||
        strcmp(store_str(jwk, "crv"), "P-256") != 0 || !store_str(jwk, "d") || !store_str(jwk, "x") ||
        !store_str(jwk, "y") || !store_str(jwk, "kid") || strcmp(store_str(jwk, "kid"), kid) != 0) {
        fsm_result_problem(res, 422, "Invalid signing key",
                           "the command needs a kid and a private EC P-256 JWK with that kid");
        goto out;
    }
    MDB_cursor *cur;
    if ((rv = mdb_cursor_open(txn, DB(f)->signing_keys, &cur)) != 0)
        goto out;
    MDB_val k, v;
    uint64_t seq = 0;
    int crv = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (crv == 0 && k.mv_size == 8)
        seq = store_be64_get(k.mv_data);
    bool any = crv == 0;
    bool dup = false;
    for (; crv == 0 && !dup; crv = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
        json_t *o = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        dup = o && store_str(o, "kid") && !strcmp(store_str(o, "kid"), kid);
        json_decref(o);
    }
    mdb_cursor_close(cur);
    if (any && json_is_true(json_object_get(body, "if_none"))) {
        fsm_result_problem(res, 409, "Signing key exists", "the cluster already has a signing "
                                                           "key");
        goto out;
    }
    if (dup) {
        fsm_result_problem(res, 409, "Signing key exists", "kid '%s' is already used", kid);
        goto out;
    }
    seq++;
    uint8_t be[8];
    store_be64_put(be, seq);
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_t *rec = json_pack("{s:s, s:O, s:s}", "kid", kid, "jwk", jwk, "created_at", ts);
    rv = store_put_json(txn, DB(f)->signing_keys, be, 8, rec, NULL);
    json_decref(rec);
    if (rv == 0)
        store_result_json(res, 201, json_pack("{s:s, s:s}", "kid", kid, "created_at", ts));
out:
    json_decref(body);
    return rv;
}

/* ---- KYC status history ---- */

static void kyc_history(json_t *p, const char *ts, const char *source, const char *status,
                        const char *detail)
{
    json_t *h = json_object_get(p, "kyc_history");
    if (!json_is_array(h)) {
        h = json_array();
        json_object_set_new(p, "kyc_history", h);
    }
    json_t *e = json_pack("{s:s, s:s, s:s}", "at", ts, "source", source, "status", status);
    if (detail)
        json_object_set_new(e, "detail", json_string(detail));
    json_array_append_new(h, e);
}

/* ---- FranceConnect ---- */

json_t *accounts_fc_login_get(struct fsm *f, MDB_txn *txn, const char *state)
{
    return store_get_json(txn, DB(f)->fc_logins, state, strlen(state));
}

static bool token_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 22 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return false;
    return true;
}

static int apply_fc_start(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                          struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    const char *id = store_str(body, "player_id"), *state = store_str(body, "state"),
               *nonce = store_str(body, "nonce"), *url = store_str(body, "authorize_url");
    bool signin = json_is_true(json_object_get(body, "signin"));
    if (!token_ok(state) || !token_ok(nonce) || !url || (signin && id)) {
        fsm_result_problem(res, 422, "Invalid login",
                           "the command needs state, nonce, URL and a player (to link) or "
                           "signin: true");
        goto out;
    }
    if (!signin) {
        json_t *p = need_player(f, txn, id, res);
        if (!p)
            goto out;
        json_decref(p);
    }
    json_t *old = accounts_fc_login_get(f, txn, state);
    if (old) {
        json_decref(old);
        fsm_result_problem(res, 409, "Login exists", "this state is already used");
        goto out;
    }
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_t *l = json_pack("{s:s, s:s, s:s, s:b}", "player_id", signin ? "" : id, "nonce",
                          nonce, "created_at", ts, "used", 0);
    if (signin)
        json_object_set_new(l, "signin", json_true());
    rv = store_put_json(txn, DB(f)->fc_logins, state, strlen(state), l, NULL);
    json_decref(l);
    if (rv == 0)
        store_result_json(res, 201, json_pack("{s:s}", "authorize_url", url));
out:
    json_decref(body);
    return rv;
}

static int put_identity(MDB_txn *txn, MDB_dbi dbi, const char *prefix, const char *key,
                        const char *val)
{
    char k[512];
    snprintf(k, sizeof k, "%s%s", prefix, key);
    return store_put_str(txn, dbi, k, val);
}

static json_t *get_identity(MDB_txn *txn, MDB_dbi dbi, const char *prefix, const char *key)
{
    char k[512];
    snprintf(k, sizeof k, "%s%s", prefix, key);
    MDB_val kv = {strlen(k), k}, v;
    if (mdb_get(txn, dbi, &kv, &v) != 0)
        return NULL;
    return json_stringn(v.mv_data, v.mv_size);
}

static int apply_fc_link(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                         struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *login = NULL, *p = NULL, *by_key = NULL, *by_sub = NULL;
    const char *id = store_str(body, "player_id"), *state = store_str(body, "state"),
               *idkey = store_str(body, "idkey");
    json_t *ident = json_object_get(body, "identity");
    const char *iss = store_str(ident, "issuer"), *sub = store_str(ident, "sub");
    if (!token_ok(state) || !idkey || !hex_is(idkey, 64) || !json_is_object(ident) || !iss ||
        !sub || !*sub || strlen(iss) + strlen(sub) > 400 ||
        !json_is_boolean(json_object_get(body, "adult"))) {
        fsm_result_problem(res, 422, "Invalid link",
                           "the command needs state, identity (issuer, sub), idkey and adult");
        goto out;
    }
    login = accounts_fc_login_get(f, txn, state);
    if (!login || json_is_true(json_object_get(login, "signin")) ||
        strcmp(store_str(login, "player_id"), id ? id : "") != 0) {
        fsm_result_problem(res, 400, "Unknown state", "this sign-in was not started here");
        goto out;
    }
    if (json_is_true(json_object_get(login, "used"))) {
        fsm_result_problem(res, 409, "State already used", "this sign-in was already completed");
        goto out;
    }
    if (!(p = need_player(f, txn, id, res)))
        goto out;
    char subkey[420];
    snprintf(subkey, sizeof subkey, "%s %s", iss, sub);
    by_key = get_identity(txn, DB(f)->identities, "key:", idkey);
    by_sub = get_identity(txn, DB(f)->identities, "sub:", subkey);
    /* From here on the state is spent, whatever the verdict. */
    json_object_set_new(login, "used", json_true());
    if ((rv = store_put_json(txn, DB(f)->fc_logins, state, strlen(state), login, NULL)) != 0)
        goto out;
    bool minor = !json_is_true(json_object_get(body, "adult"));
    if (minor || (by_key && !strcmp(json_string_value(by_key), "minor"))) {
        if ((rv = put_identity(txn, DB(f)->identities, "key:", idkey, "minor")) == 0)
            fsm_result_problem(res, 403, "Under 18",
                               "betting is for adults only: this identity is refused for good");
        goto out;
    }
    if ((by_key && strcmp(json_string_value(by_key), id) != 0) ||
        (by_sub && strcmp(json_string_value(by_sub), id) != 0)) {
        fsm_result_problem(res, 409, "Identity in use",
                           "this identity already holds an account; one person, one account");
        goto out;
    }
    json_t *have = json_object_get(p, "identity");
    if (have && strcmp(store_str(have, "idkey") ? store_str(have, "idkey") : "", idkey) != 0) {
        fsm_result_problem(res, 409, "Another identity",
                           "this account is already verified with another identity");
        goto out;
    }
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_t *rec = json_deep_copy(ident);
    json_object_set_new(rec, "idkey", json_string(idkey));
    json_object_set_new(rec, "verified_at", json_string(ts));
    json_object_set_new(rec, "method", json_string("franceconnect"));
    json_object_set_new(p, "identity", rec);
    json_object_set_new(p, "kyc_status", json_string("verified"));
    kyc_history(p, ts, "franceconnect", "verified", NULL);
    json_object_set_new(p, "version",
                        json_integer(json_integer_value(json_object_get(p, "version")) + 1));
    if ((rv = store_put_json(txn, DB(f)->players, id, strlen(id), p, NULL)) == 0 &&
        (rv = put_identity(txn, DB(f)->identities, "key:", idkey, id)) == 0 &&
        (rv = put_identity(txn, DB(f)->identities, "sub:", subkey, id)) == 0)
        store_result_json(res, 201, json_pack("{s:s, s:s, s:s, s:s}", "player_id", id, "kyc_status",
                                        "verified", "family_name", store_str(ident, "family_name")
                                        ? store_str(ident, "family_name") : "",
                                        "verified_at", ts));
out:
    json_decref(by_key);
    json_decref(by_sub);
    json_decref(p);
    json_decref(login);
    json_decref(body);
    return rv;
}

json_t *accounts_identity_player(struct fsm *f, MDB_txn *txn, const char *issuer,
                                 const char *sub)
{
    char subkey[420];
    snprintf(subkey, sizeof subkey, "%s %s", issuer, sub);
    return get_identity(txn, DB(f)->identities, "sub:", subkey);
}

/* A FranceConnect sign-in: the login must be an unused sign-in and the subject linked to @id.
 * Spends the state. Returns an LMDB error or 0 (res set on a refusal). */
static int fc_signin_spend(struct fsm *f, MDB_txn *txn, const char *id, const char *state,
                           const char *subkey, struct fsm_result *res)
{
    json_t *login = token_ok(state) ? accounts_fc_login_get(f, txn, state) : NULL;
    json_t *owner = subkey ? get_identity(txn, DB(f)->identities, "sub:", subkey) : NULL;
    int rv = 0;
    if (!login || !json_is_true(json_object_get(login, "signin")))
        fsm_result_problem(res, 400, "Unknown state", "this sign-in was not started here");
    else if (json_is_true(json_object_get(login, "used")))
        fsm_result_problem(res, 409, "State already used", "this sign-in was already completed");
    else if (!owner || strcmp(json_string_value(owner), id) != 0)
        fsm_result_problem(res, 404, "No linked account",
                           "no account is linked to this FranceConnect identity");
    else {
        json_object_set_new(login, "used", json_true());
        rv = store_put_json(txn, DB(f)->fc_logins, state, strlen(state), login, NULL);
    }
    json_decref(owner);
    json_decref(login);
    return rv;
}

/* ---- document checks ---- */

static bool name_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static int apply_doc_session(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                             struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *p = NULL;
    const char *id = store_str(body, "player_id"), *prov = store_str(body, "provider"),
               *sid = store_str(body, "session_id"), *url = store_str(body, "url");
    if (!name_ok(prov, 64) || !name_ok(sid, 128) || !url) {
        fsm_result_problem(res, 422, "Invalid session", "the command needs provider, session_id "
                                                        "and url");
        goto out;
    }
    if (!(p = need_player(f, txn, id, res)))
        goto out;
    const char *st = store_str(p, "kyc_status");
    if (st && (!strcmp(st, "verified") || !strcmp(st, "declined"))) {
        fsm_result_problem(res, 409, "KYC decided", "this player's identity check is %s", st);
        goto out;
    }
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_object_set_new(p, "kyc_status", json_string("pending"));
    kyc_history(p, ts, prov, "pending", sid);
    if ((rv = store_put_json(txn, DB(f)->players, id, strlen(id), p, NULL)) == 0)
        store_result_json(res, 201, json_pack("{s:s, s:s, s:s}", "provider", prov, "session_id", sid,
                                        "url", url));
out:
    json_decref(p);
    json_decref(body);
    return rv;
}

static int apply_doc_event(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                           struct fsm_result *res)
{
    static const char *const statuses[] = {"pending", "approved", "declined", "retry",
                                           "manual_review", NULL};
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *p = NULL;
    const char *prov = store_str(body, "provider"), *ev = store_str(body, "event_id"),
               *id = store_str(body, "reference"), *status = store_str(body, "status");
    bool known = false;
    for (const char *const *s2 = statuses; status && *s2; s2++)
        known = known || !strcmp(*s2, status);
    if (!name_ok(prov, 64) || !name_ok(ev, 128) || !known) {
        fsm_result_problem(res, 422, "Invalid event", "the command needs provider, event_id and "
                                                      "a mapped status");
        goto out;
    }
    char k[256];
    snprintf(k, sizeof k, "%s %s", prov, ev);
    json_t *seen = store_get_json(txn, DB(f)->doc_events, k, strlen(k));
    if (seen) {
        json_object_set_new(seen, "duplicate", json_true());
        store_result_json(res, 200, seen); /* processed once: a retry or a replay changes nothing */
        goto out;
    }
    if (!(p = need_player(f, txn, id, res)))
        goto out;
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    const char *now = store_str(p, "kyc_status");
    const char *next = !strcmp(status, "approved") ? "verified" : status;
    /* Decisions are final: verified and declined are not undone by a later event. */
    bool final = now && (!strcmp(now, "verified") || !strcmp(now, "declined"));
    if (!final)
        json_object_set_new(p, "kyc_status", json_string(next));
    kyc_history(p, ts, prov, status, ev);
    json_t *rec = json_pack("{s:s, s:s, s:s}", "player_id", id, "status", status, "at", ts);
    if ((rv = store_put_json(txn, DB(f)->players, id, strlen(id), p, NULL)) == 0 &&
        (rv = store_put_json(txn, DB(f)->doc_events, k, strlen(k), rec, NULL)) == 0)
        store_result_json(res, 200, json_pack("{s:s, s:s, s:b}", "player_id", id, "kyc_status",
                                        final ? now : next, "duplicate", 0));
    json_decref(rec);
out:
    json_decref(p);
    json_decref(body);
    return rv;
}

/* ---- operator decisions ---- */

bool accounts_kyc_status_valid(const char *status)
{
    static const char *const ok[] = {"verified", "declined", "retry", "manual_review", "pending",
                                     NULL};
    for (const char *const *k = ok; status && *k; k++)
        if (!strcmp(*k, status))
            return true;
    return false;
}

static int apply_kyc_override(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                              struct fsm_result *res)
{
    json_t *body = store_payload(c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *p = NULL;
    const char *id = store_str(body, "player_id"), *status = store_str(body, "status"),
               *reason = store_str(body, "reason");
    if (!accounts_kyc_status_valid(status) || !reason || strlen(reason) < 3 ||
        strlen(reason) > 500) {
        fsm_result_problem(res, 422, "Invalid decision",
                           "a status (verified, declined, retry, manual_review, pending) and a "
                           "reason of 3 to 500 characters are required");
        goto out;
    }
    if (!(p = need_player(f, txn, id, res)))
        goto out;
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_object_set_new(p, "kyc_status", json_string(status));
    kyc_history(p, ts, "operator", status, reason);
    json_object_set_new(p, "version",
                        json_integer(json_integer_value(json_object_get(p, "version")) + 1));
    if ((rv = store_put_json(txn, DB(f)->players, id, strlen(id), p, NULL)) == 0)
        store_result_json(res, 200, json_pack("{s:s, s:s, s:s}", "player_id", id, "kyc_status", status,
                                        "reason", reason));
out:
    json_decref(p);
    json_decref(body);
    return rv;
}

/* ---- the domain's commands ---- */

static const struct fsm_command COMMANDS[] = {
    {CMD_PLAYER_REGISTER, "player_register", true, apply_register},
    {CMD_LOGIN_FAILED, "login_failed", true, apply_login_failed},
    {CMD_SESSION_CREATE, "session_create", true, apply_session_create},
    {CMD_SESSION_REFRESH, "session_refresh", true, apply_session_refresh},
    {CMD_SESSION_REVOKE, "session_revoke", true, apply_session_revoke},
    {CMD_SESSION_REVOKE_ALL, "session_revoke_all", true, apply_session_revoke_all},
    {CMD_SIGNING_KEY_ADD, "signing_key_add", true, apply_signing_key_add},
    {CMD_TOTP_ENROL, "totp_enrol", true, apply_totp_enrol},
    {CMD_TOTP_CONFIRM, "totp_confirm", true, apply_totp_confirm},
    {CMD_FC_START, "fc_start", true, apply_fc_start},
    {CMD_FC_LINK, "fc_link", true, apply_fc_link},
    {CMD_DOC_SESSION, "doc_session", true, apply_doc_session},
    {CMD_DOC_EVENT, "doc_event", true, apply_doc_event},
    {CMD_KYC_OVERRIDE, "kyc_override", true, apply_kyc_override},
    {0, NULL, false, NULL},
};

static const char *const DBS[] = {"players",      "player_email", "login_failures",
                                  "sessions",     "player_sessions", "signing_keys",
                                  "totp",         "fc_logins",    "identities",
                                  "doc_events",   NULL};

const struct fsm_domain accounts_domain = {"accounts", COMMANDS, DBS};
