/* A player's password change (ASVS 6.2.2, 6.2.3): CMD_PASSWORD_CHANGE replaces the Argon2id
 * hash on the player's record.
 *
 * The happy path: the node that took the request (node/routes_password.c) verified the
 * current password against the hash it read, checked the new one against the registration
 * policy and the one-time code when the player has a second factor, hashed the new password,
 * and proposes {player_id, session_id, old_hash, password_hash, totp_step? | recovery_hash?}.
 * Apply stores the new hash (version bumped, password_changed_at stamped), clears the sign-in
 * failure count (the current password was just proven), spends the code, and revokes every
 * OTHER open session of the player: whoever else held one (a stolen token, a forgotten
 * device) is signed out, on sport nodes too through the revocation log. The session the
 * request came with stays.
 *
 * Possible refusals, each changing nothing, with a stable "code":
 *   - the player is unknown: 404 (no code, as every accounts command);
 *   - the sign-in back-off locks the account (a failure was counted meanwhile): 429
 *     too_many_failures;
 *   - the request's session is not the player's, or ended meanwhile: 401 session_ended;
 *   - the stored hash is not the one checked (another change won the race, so the password
 *     the player proved is no longer current): 409 password_changed;
 *   - the player has a confirmed second factor and the command has no code: 401
 *     second_factor_required; a code already used or an unknown recovery code: 401
 *     invalid_second_factor. */
#include <stdio.h>
#include <string.h>

#include "common/hex.h"
#include "consensus/accounts_internal.h"

json_t *accounts_cmd_password_change(const char *player_id, const char *session_id,
                                     const char *old_hash, const char *password_hash)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "player_id", player_id, "session_id", session_id,
                     "old_hash", old_hash, "password_hash", password_hash);
}

/* Gives the refusal already in @res the stable @code (the shared sign-in checks answer
 * without one). */
static void with_code(struct fsm_result *res, const char *code)
{
    json_t *o = res->body ? json_loads(res->body, 0, NULL) : NULL;
    if (!o)
        return;
    json_object_set_new(o, "code", json_string(code));
    store_result_json(res, res->status, o);
}

/* A refusal with a stable @code. Returns 0 (apply's "refused"). */
static int refuse(struct fsm_result *res, int status, const char *code, const char *title,
                  const char *detail)
{
    fsm_result_problem(res, status, title, "%s", detail);
    with_code(res, code);
    return 0;
}

static bool argon2id_hash_ok(const char *h)
{
    return h && !strncmp(h, "$argon2id$", 10) && strlen(h) <= 200;
}

static bool password_change_valid(json_t *b)
{
    json_t *step = json_object_get(b, "totp_step");
    const char *rec = store_str(b, "recovery_hash");
    return accounts_family_valid(store_str(b, "session_id")) &&
           argon2id_hash_ok(store_str(b, "password_hash")) &&
           store_str_max(b, "old_hash", 200) && (!step || json_is_integer(step)) &&
           (!json_object_get(b, "recovery_hash") || (rec && hex_is(rec, 64))) &&
           !(step && rec);
}

/* Is the request's session (@sid) still an open session of @op's player? */
static bool session_open(struct acc_op *op, const char *sid)
{
    json_t *s = accounts_session_get(op->f, op->txn, sid);
    bool open = s && acc_str_is(s, "player_id", op->id) &&
                !json_is_true(json_object_get(s, "revoked"));
    json_decref(s);
    return open;
}

static int password_change(struct acc_op *op)
{
    const char *sid = store_str(op->body, "session_id");
    unsigned failures;
    uint64_t until;
    accounts_failures(op->f, op->txn, op->id, &failures, &until);
    if (op->c->time_ms < until) {
        acc_result_locked(op->res, op->c->time_ms, until);
        with_code(op->res, "too_many_failures");
        return 0;
    }
    if (!session_open(op, sid))
        return refuse(op->res, 401, "session_ended", "Session ended",
                      "the session of this access token was signed out or is not known");
    if (!acc_str_is(op->p, "password_hash", store_str(op->body, "old_hash")))
        return refuse(op->res, 409, "password_changed", "Password changed meanwhile",
                      "the password was changed by another request since this one was "
                      "checked; sign in with the new password");
    bool factor = acc_totp_confirmed(op);
    if (factor && !json_object_get(op->body, "totp_step") &&
        !json_object_get(op->body, "recovery_hash"))
        return refuse(op->res, 401, "second_factor_required", "Second factor required",
                      "this account has a one-time-code second factor: send 'code' (the "
                      "6-digit code) or 'recovery_code' with the passwords");
    int rv = factor ? acc_factor_spend(op) : 0;
    if (rv != 0)
        return rv;
    if (op->res->status) {
        with_code(op->res, "invalid_second_factor");
        return 0;
    }
    json_object_set_new(op->p, "password_hash",
                        json_string(store_str(op->body, "password_hash")));
    json_object_set_new(op->p, "password_changed_at", json_string(op->ts));
    acc_bump_version(op->p);
    MDB_val fk = {strlen(op->id), (void *)op->id};
    rv = mdb_del(op->txn, DB(op->f)->login_failures, &fk, NULL);
    if (rv != 0 && rv != MDB_NOTFOUND)
        return rv;
    unsigned revoked = 0;
    if ((rv = acc_revoke_player(op, op->id, sid, "password changed", &revoked)) != 0)
        return rv;
    return acc_save_player(op, 200,
                           json_pack("{s:s, s:s, s:s, s:i}", "player_id", op->id, "session_id",
                                     sid, "password_changed_at", op->ts, "sessions_revoked",
                                     revoked));
}

const struct acc_shape acc_shape_password_change = {
    password_change_valid, "Invalid password change",
    "the command needs a session id, the Argon2id hash checked and the new one, and at most "
    "one of totp_step and recovery_hash",
    true, password_change};
