/* A signed-in player changes their password (ASVS 6.2.2, 6.2.3):
 * POST /v1/players/me/password {current, new, code? | recovery_code?} with the player's access
 * token and an Idempotency-Key.
 *
 * The happy path: the request is checked alone (its fields, the new password not the current
 * one, the registration policy: 8 to 128 characters, not on the common-password list), then
 * the player's record is read here (the sign-in back-off answers 429 before any hashing, a
 * confirmed second factor without a code 401), then one job on the Argon2id worker pool
 * verifies the current password against the stored hash and, when it matches, hashes the new
 * one. The one-time code is checked as sign-in checks it, and CMD_PASSWORD_CHANGE carries the
 * hash checked (so a change that raced another is refused), the new hash, the session to keep
 * and the code's time step. consensus/accounts_password.c stores the hash and ends the
 * player's other sessions.
 *
 * Possible failures: a wrong current password, or a wrong code, is a failed sign-in
 * (CMD_LOGIN_FAILED: the same count and back-off on every node) answered 401 invalid_password
 * or invalid_second_factor; every refusal is problem+json with a stable code and changes
 * nothing else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/accounts_common.h"
#include "node/http_guard.h"
#include "node/routes.h"

#define WHAT "password" /* the request's fingerprint: ("password", player id) */

static void second_factor_required(struct http_req *r)
{
    http_guard_problem(r, 401, "Second factor required", "second_factor_required",
                       "this account has a one-time-code second factor: send 'code' (the "
                       "6-digit code) or 'recovery_code' with the passwords");
}

/* A counted failure's answer (CMD_LOGIN_FAILED's result, or a replay of it): said as a
 * password change's refusal, with @ctx's stable code, the count and the wait kept. */
static void failed_done(struct http_req *r, void *ctx, int status, const char *body,
                        const char *ra, bool replayed)
{
    const char *code = ctx ? ctx : "invalid_password";
    json_t *o = status == 401 || status == 429 ? json_loads(body, 0, NULL) : NULL;
    if (!o || json_object_get(o, "code")) {
        json_decref(o);
        acc_relay(r, status, body, ra, replayed);
        return;
    }
    if (status == 429) {
        json_object_set_new(o, "code", json_string("too_many_failures"));
    } else {
        bool pw = !strcmp(code, "invalid_password");
        json_object_set_new(o, "code", json_string(code));
        json_object_set_new(o, "title", json_string(pw ? "Wrong password"
                                                       : "Wrong one-time code"));
        json_object_set_new(o, "detail",
                            json_string(pw ? "the current password is wrong"
                                           : "the one-time code or the recovery code is wrong"));
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    acc_relay(r, status, text, ra, replayed);
    free(text);
}

static void count_failure(struct http_req *r, struct job *j, const char *code)
{
    acc_submit_then(r, CMD_LOGIN_FAILED, accounts_cmd_login_failed(j->player_id), j->idem, WHAT,
                    j->player_id, failed_done, (void *)code);
}

static void password_checked(uv_work_t *w, int status)
{
    struct job *j = w->data;
    struct http_req *r = j->r;
    char *sid = j->ctx;
    acc_job_done(r->node->accounts, j);
    if (status != 0 || (j->rv != KYC_OK && j->rv != KYC_E_PW_MISMATCH)) {
        http_problem(r, 500, "Password check failed", "%s", status ? "cancelled" : j->err.msg);
    } else if (j->rv == KYC_E_PW_MISMATCH) {
        count_failure(r, j, "invalid_password");
    } else {
        json_t *payload = accounts_cmd_password_change(j->player_id, sid, j->hash, j->next_hash);
        int sf = acc_second_factor(r->node, j, payload);
        if (sf < 0)
            count_failure(r, j, "invalid_second_factor");
        else if (sf > 0) /* confirmed while the password was being checked */
            second_factor_required(r);
        else
            acc_submit_then(r, CMD_PASSWORD_CHANGE, json_incref(payload), j->idem, WHAT,
                            j->player_id, failed_done, NULL);
        json_decref(payload);
    }
    free(sid);
    acc_job_free(j);
}

/* The request alone: the second factor's shape, the current password's length, the new one
 * different and within the policy. False when answered. */
static bool password_request_ok(struct http_req *r, json_t *body)
{
    const char *cur = json_string_value(json_object_get(body, "current"));
    const char *nw = json_string_value(json_object_get(body, "new"));
    const char *code = json_string_value(json_object_get(body, "code"));
    const char *rec = json_string_value(json_object_get(body, "recovery_code"));
    if ((code && (strlen(code) == 0 || strlen(code) >= sizeof ((struct job *)0)->totp)) ||
        (rec && (strlen(rec) == 0 || strlen(rec) >= sizeof ((struct job *)0)->recovery)) ||
        (code && rec)) {
        http_guard_problem(r, 422, "Invalid second factor", "bad_code",
                           "give either 'code' (the 6-digit code) or 'recovery_code' "
                           "(XXXX-XXXX-XXXX-XXXX-XXXX-XXXX), not both");
        return false;
    }
    size_t curlen = strlen(cur);
    if (curlen == 0 || curlen > 4 * KYC_PW_MAX_CHARS) {
        http_guard_problem(r, 422, "Invalid password", "bad_current",
                           "field 'current' must be the current password (1 to %d characters)",
                           KYC_PW_MAX_CHARS);
        return false;
    }
    if (!strcmp(cur, nw)) {
        http_guard_problem(r, 422, "Same password", "same_password",
                           "field 'new': the new password must differ from the current one");
        return false;
    }
    kyc_err err = {0};
    if (kyc_password_policy(nw, strlen(nw), r->node->accounts->pwlist, &err) != KYC_OK) {
        http_guard_problem(r, 422,
                           err.code == KYC_E_PW_BREACHED ? "Password breached" : "Invalid password",
                           "password_policy", "field 'new': %s", err.msg);
        return false;
    }
    return true;
}

/* The player's record, or NULL when answered (unknown here, locked by the back-off, or a
 * confirmed second factor and no code given). */
static json_t *password_player(struct http_req *r, const char *id, json_t *body)
{
    struct node *n = r->node;
    MDB_txn *txn;
    unsigned failures = 0;
    uint64_t until = 0;
    if (fsm_read_begin(n->fsm, &txn) != 0) {
        http_problem(r, 500, "Storage error", "the state machine could not be read");
        return NULL;
    }
    json_t *p = accounts_player_get(n->fsm, txn, id);
    accounts_failures(n->fsm, txn, id, &failures, &until);
    fsm_read_end(txn);
    if (!p) {
        http_problem(r, 404, "No such player", "the player of this token is not known here");
        return NULL;
    }
    if (acc_refuse_locked(r, until)) {
        json_decref(p);
        return NULL;
    }
    json_t *t = acc_totp_record(n, id);
    bool factor = t && json_is_true(json_object_get(t, "confirmed"));
    json_decref(t);
    if (factor && !json_object_get(body, "code") && !json_object_get(body, "recovery_code")) {
        second_factor_required(r);
        json_decref(p);
        return NULL;
    }
    return p;
}

void acc_do_password(struct http_req *r)
{
    static const char *const names[] = {"current", "new", NULL};
    static const char *const opt[] = {"code", "recovery_code", NULL};
    char idem[256];
    json_t *claims = acc_player(r, idem);
    if (!claims)
        return;
    json_t *body = routes_body(r), *player = NULL;
    if (!body || !acc_fields_opt(r, body, names, opt) || !password_request_ok(r, body))
        goto out;
    const char *id = json_string_value(json_object_get(claims, "sub"));
    if (!(player = password_player(r, id, body)))
        goto out;
    const char *email = json_string_value(json_object_get(player, "email"));
    const char *hash = json_string_value(json_object_get(player, "password_hash"));
    const char *nw = json_string_value(json_object_get(body, "new"));
    const char *code = json_string_value(json_object_get(body, "code"));
    const char *rec = json_string_value(json_object_get(body, "recovery_code"));
    struct job *j = acc_job_new_pw(r, json_string_value(json_object_get(body, "current")),
                                   email ? email : "", idem);
    j->verify = true;
    snprintf(j->player_id, sizeof j->player_id, "%s", id);
    snprintf(j->hash, sizeof j->hash, "%s", hash ? hash : "");
    snprintf(j->totp, sizeof j->totp, "%s", code ? code : "");
    snprintf(j->recovery, sizeof j->recovery, "%s", rec ? rec : "");
    j->nextlen = strlen(nw);
    j->next = strdup(nw);
    char *sid = strdup(json_string_value(json_object_get(claims, "sid")));
    j->ctx = sid;
    if (!acc_job_queue(r, j, password_checked)) /* answered 503, @j freed */
        free(sid);
out:
    json_decref(player);
    json_decref(body);
    json_decref(claims);
}
