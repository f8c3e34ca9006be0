/* Registration, sign-in (password, then the second factor if enrolled), the tokens handed out
 * after a session is created or refreshed, refresh, sign-out, and the player's own record. */
#include <cjose/cjose.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/accounts_common.h"
#include "node/auth.h"
#include "common/log.h"
#include "node/routes.h"

/* ---- register ---- */

static void register_done(struct http_req *r, void *ctx, int status, const char *body,
                          const char *ra, bool replayed)
{
    (void)ctx;
    acc_relay(r, status, body, ra, replayed);
}

static void register_hashed(uv_work_t *w, int status)
{
    struct job *j = w->data;
    struct http_req *r = j->r;
    acc_job_done(r->node->accounts, j);
    if (status != 0 || j->rv != KYC_OK) {
        http_problem(r, 500, "Hashing failed", "%s", status ? "cancelled" : j->err.msg);
        acc_job_free(j);
        return;
    }
    acc_submit_then(r, CMD_PLAYER_REGISTER,
                    json_pack("{s:s, s:s, s:s}", "id", j->player_id, "email", j->email,
                              "password_hash", j->hash),
                    j->idem, "register", j->email, register_done, NULL);
    acc_job_free(j);
}

void acc_do_register(struct http_req *r)
{
    static const char *const names[] = {"email", "password", NULL};
    struct node *n = r->node;
    json_t *body = routes_body(r);
    if (!body)
        return;
    char email[ACCOUNTS_EMAIL_MAX + 1], ns[64], idem[256];
    if (!acc_fields(r, body, names) || !acc_email_field(r, body, email))
        goto out;
    if (acc_banned_email(n, email)) { /* the national gambling-ban list */
        acc_refuse_banned(r);
        goto out;
    }
    const char *pw = json_string_value(json_object_get(body, "password"));
    kyc_err err = {0};
    if (kyc_password_policy(pw, strlen(pw), n->accounts->pwlist, &err) != KYC_OK) {
        http_problem(r, 422, err.code == KYC_E_PW_BREACHED ? "Password breached"
                                                           : "Invalid password",
                     "field 'password': %s", err.msg);
        goto out;
    }
    acc_email_ns("register", email, ns, sizeof ns);
    if (!acc_idem_key(r, ns, idem))
        goto out;
    /* Answer a replay from the local record before paying for a hash. */
    struct fsm_result prev = {0, NULL};
    uint8_t fp[32], pfp[32];
    acc_fingerprint("register", email, fp);
    if (fsm_idem_get(n->fsm, idem, strlen(idem), pfp, &prev) == 1) {
        n->metrics.idem_replays++;
        if (memcmp(fp, pfp, 32) != 0)
            http_problem(r, 422, "Idempotency key reused",
                         "this Idempotency-Key was already used for a different request");
        else
            acc_relay(r, prev.status, prev.body, NULL, true);
        fsm_result_clear(&prev);
        goto out;
    }
    MDB_txn *txn;
    json_t *taken = NULL;
    if (fsm_read_begin(n->fsm, &txn) == 0) {
        taken = accounts_player_by_email(n->fsm, txn, email);
        fsm_read_end(txn);
    }
    if (taken) {
        json_decref(taken);
        http_problem(r, 409, "Email taken", "an account already uses %s", email);
        goto out;
    }
    struct job *j = acc_job_new(r, body, email, idem);
    memcpy(j->player_id, "p_", 2);
    if (acc_random_hex(16, j->player_id + 2) != 0) {
        acc_job_free(j);
        http_problem(r, 500, "No randomness", "the CSPRNG failed");
        goto out;
    }
    acc_job_queue(r, j, register_hashed);
out:
    json_decref(body);
}

/* ---- sessions: tokens handed out after a create or a refresh ---- */


/* A new refresh token for @family: "<family>.<43 base64url chars>" and its hash. */
int acc_refresh_new(const char *family, char *token, size_t n, char hash[65])
{
    char secret[KYC_TOKEN_CHARS + 1];
    kyc_err err;
    if (kyc_random_token(secret, &err) != KYC_OK)
        return -1;
    snprintf(token, n, "%s.%s", family, secret);
    acc_sha256_hex(token, NULL, hash);
    return 0;
}

/* After a session create or refresh: hand out the tokens, unless the result is a replay of an
 * earlier request with the same key (its tokens were handed out then and are not kept). */
void acc_tokens_done(struct http_req *r, void *ctx, int status, const char *body,
                        const char *ra, bool replayed)
{
    struct issue *is = ctx;
    json_t *res = status == 200 || status == 201 ? json_loads(body, 0, NULL) : NULL;
    if (!res) {
        acc_relay(r, status, body, ra, replayed);
        goto out;
    }
    const char *check = json_string_value(json_object_get(res, "token_check"));
    if (replayed || !check || strncmp(check, is->hash, 16) != 0) {
        http_problem(r, 409, "Tokens already issued",
                     "this Idempotency-Key was already used and its tokens were handed out with "
                     "the first answer (they are not kept); send the request again with a new "
                     "Idempotency-Key");
        goto out;
    }
    const char *player = json_string_value(json_object_get(res, "player_id"));
    const char *sid = json_string_value(json_object_get(res, "session_id"));
    char *at = acc_access_token(r->node, player, sid);
    if (!at) {
        http_header(r, "retry-after", "1");
        http_problem(r, 503, "No signing key",
                     "this node has no token-signing key yet; retry shortly");
        goto out;
    }
    http_header(r, "cache-control", "no-store");
    json_t *reply = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "player_id", player, "session_id",
                              sid, "access_token", at, "token_type", "Bearer", "expires_in",
                              ACCESS_TTL_S, "refresh_token", is->refresh);
    if (is->logout_url)
        json_object_set_new(reply, "franceconnect_logout_url", json_string(is->logout_url));
    http_reply_json(r, status, reply);
    free(at);
out:
    json_decref(res);
    OPENSSL_cleanse(is->refresh, sizeof is->refresh);
    free(is->logout_url);
    free(is);
}

/* ---- sign in ---- */

static void signin_failed_done(struct http_req *r, void *ctx, int status, const char *body,
                               const char *ra, bool replayed)
{
    (void)ctx;
    acc_relay(r, status, body, ra, replayed);
}

int acc_second_factor(struct node *n, struct job *j, json_t *payload)
{
    json_t *t = acc_totp_record(n, j->player_id);
    int out = 0;
    if (!t || !json_is_true(json_object_get(t, "confirmed"))) {
        json_decref(t);
        return 0;
    }
    kyc_err err = {0};
    if (j->totp[0]) {
        int64_t step;
        if (acc_totp_check(t, j->totp, &step, &err) == KYC_OK)
            json_object_set_new(payload, "totp_step", json_integer((json_int_t)step));
        else
            out = -1;
    } else if (j->recovery[0]) {
        char h[65];
        if (kyc_recovery_hash(j->recovery, h, &err) == KYC_OK)
            json_object_set_new(payload, "recovery_hash", json_string(h));
        else
            out = -1;
    } else {
        out = 1;
    }
    json_decref(t);
    return out;
}

/* Is the player on the ban list (their email, or the identity verified on their record)? */
static bool signin_banned(struct node *n, const char *player_id)
{
    MDB_txn *txn;
    json_t *p = NULL;
    if (fsm_read_begin(n->fsm, &txn) == 0) {
        p = accounts_player_get(n->fsm, txn, player_id);
        fsm_read_end(txn);
    }
    bool banned = p && acc_banned_player(n, p);
    json_decref(p);
    return banned;
}

static void signin_checked(uv_work_t *w, int status)
{
    struct job *j = w->data;
    struct http_req *r = j->r;
    acc_job_done(r->node->accounts, j);
    if (status != 0 || (j->rv != KYC_OK && j->rv != KYC_E_PW_MISMATCH)) {
        http_problem(r, 500, "Password check failed", "%s", status ? "cancelled" : j->err.msg);
    } else if (!j->player_id[0]) {
        http_problem(r, 401, "Sign-in failed", "the email or the password is wrong");
    } else if (j->rv == KYC_E_PW_MISMATCH) {
        acc_submit_then(r, CMD_LOGIN_FAILED, json_pack("{s:s}", "player_id", j->player_id),
                        j->idem, "signin", j->email, signin_failed_done, NULL);
    } else if (signin_banned(r->node, j->player_id)) {
        /* The password was right; the national gambling-ban list says no (at every sign-in). */
        acc_ban_and_refuse(r, j->player_id);
    } else {
        json_t *payload = json_pack("{s:s}", "player_id", j->player_id);
        int sf = acc_second_factor(r->node, j, payload);
        if (sf < 0) {
            json_decref(payload);
            acc_submit_then(r, CMD_LOGIN_FAILED, json_pack("{s:s}", "player_id", j->player_id),
                            j->idem, "signin", j->email, signin_failed_done, NULL);
            acc_job_free(j);
            return;
        }
        if (sf > 0) {
            json_decref(payload);
            http_problem(r, 401, "Second factor required",
                         "this account has a one-time-code second factor: send 'totp' (the "
                         "6-digit code) or 'recovery_code' with the email and password");
            acc_job_free(j);
            return;
        }
        struct issue *is = calloc(1, sizeof *is);
        char family[ACCOUNTS_FAMILY_CHARS + 1];
        if (acc_random_hex(16, family) != 0 ||
            acc_refresh_new(family, is->refresh, sizeof is->refresh, is->hash) != 0) {
            free(is);
            http_problem(r, 500, "No randomness", "the CSPRNG failed");
        } else {
            json_object_set_new(payload, "family", json_string(family));
            json_object_set_new(payload, "refresh_hash", json_string(is->hash));
            acc_session_limits(r->node, payload);
            acc_submit_then(r, CMD_SESSION_CREATE, payload, j->idem, "signin", j->email,
                            acc_tokens_done, is);
            payload = NULL;
        }
        json_decref(payload);
    }
    acc_job_free(j);
}

void acc_do_signin(struct http_req *r)
{
    static const char *const names[] = {"email", "password", NULL};
    static const char *const opt[] = {"totp", "recovery_code", NULL};
    struct node *n = r->node;
    json_t *body = routes_body(r);
    if (!body)
        return;
    char email[ACCOUNTS_EMAIL_MAX + 1], ns[64], idem[256];
    if (!acc_fields_opt(r, body, names, opt) || !acc_email_field(r, body, email))
        goto out;
    const char *totp = json_string_value(json_object_get(body, "totp"));
    const char *recovery = json_string_value(json_object_get(body, "recovery_code"));
    if ((totp && strlen(totp) >= 16) || (recovery && strlen(recovery) >= 32)) {
        http_problem(r, 422, "Invalid second factor",
                     "'totp' is a 6-digit code, 'recovery_code' XXXX-XXXX-XXXX-XXXX-XXXX-XXXX");
        goto out;
    }
    const char *pw = json_string_value(json_object_get(body, "password"));
    size_t pwlen = strlen(pw);
    if (pwlen == 0 || pwlen > 4 * KYC_PW_MAX_CHARS) {
        http_problem(r, 422, "Invalid password", "field 'password' must be 1 to %d characters",
                     KYC_PW_MAX_CHARS);
        goto out;
    }
    acc_email_ns("signin", email, ns, sizeof ns);
    if (!acc_idem_key(r, ns, idem))
        goto out;
    MDB_txn *txn;
    json_t *player = NULL;
    unsigned failures = 0;
    uint64_t until = 0;
    if (fsm_read_begin(n->fsm, &txn) != 0) {
        http_problem(r, 500, "Storage error", "the state machine could not be read");
        goto out;
    }
    player = accounts_player_by_email(n->fsm, txn, email);
    if (player)
        accounts_failures(n->fsm, txn,
                          json_string_value(json_object_get(player, "id")), &failures, &until);
    fsm_read_end(txn);
    char kid[80];
    char *key = acc_current_key(n, kid);
    bool have_key = key != NULL;
    if (key) {
        OPENSSL_cleanse(key, strlen(key));
        free(key);
    }
    bool factor_known = true;
    if (player && (totp || recovery)) {
        json_t *t = acc_totp_record(n, json_string_value(json_object_get(player, "id")));
        factor_known = t && json_is_true(json_object_get(t, "confirmed"));
        json_decref(t);
    }
    if ((!player || !have_key || !factor_known) && !replica_is_leader(n->replica) &&
        !r->forwarded) {
        /* Maybe registered (or the second factor confirmed) a moment ago and not applied here
         * yet, or the cluster's first signing key has not reached this node: the leader
         * knows. */
        json_decref(player);
        http_forward_to_leader(r);
        goto out;
    }
    if (acc_refuse_locked(r, until)) {
        json_decref(player);
        goto out;
    }
    struct job *j = acc_job_new(r, body, email, idem);
    j->verify = true;
    if (totp)
        snprintf(j->totp, sizeof j->totp, "%s", totp);
    if (recovery)
        snprintf(j->recovery, sizeof j->recovery, "%s", recovery);
    if (player) {
        snprintf(j->player_id, sizeof j->player_id, "%s",
                 json_string_value(json_object_get(player, "id")));
        snprintf(j->hash, sizeof j->hash, "%s",
                 json_string_value(json_object_get(player, "password_hash")));
        json_decref(player);
    }
    acc_job_queue(r, j, signin_checked);
out:
    json_decref(body);
}

/* ---- refresh ---- */

void acc_do_refresh(struct http_req *r)
{
    static const char *const names[] = {"refresh_token", NULL};
    json_t *body = routes_body(r);
    if (!body)
        return;
    if (!acc_fields(r, body, names))
        goto out;
    const char *tok = json_string_value(json_object_get(body, "refresh_token"));
    char family[ACCOUNTS_FAMILY_CHARS + 1], ns[64], idem[256], given[65];
    if (strlen(tok) != ACCOUNTS_FAMILY_CHARS + 1 + KYC_TOKEN_CHARS ||
        tok[ACCOUNTS_FAMILY_CHARS] != '.') {
        http_problem(r, 422, "Invalid refresh token",
                     "field 'refresh_token' is not a refresh token issued by this cluster");
        goto out;
    }
    memcpy(family, tok, ACCOUNTS_FAMILY_CHARS);
    family[ACCOUNTS_FAMILY_CHARS] = 0;
    if (!accounts_family_valid(family)) {
        http_problem(r, 422, "Invalid refresh token",
                     "field 'refresh_token' is not a refresh token issued by this cluster");
        goto out;
    }
    snprintf(ns, sizeof ns, "refresh:%s", family);
    if (!acc_idem_key(r, ns, idem))
        goto out;
    acc_sha256_hex(tok, NULL, given);
    struct issue *is = calloc(1, sizeof *is);
    if (acc_refresh_new(family, is->refresh, sizeof is->refresh, is->hash) != 0) {
        free(is);
        http_problem(r, 500, "No randomness", "the CSPRNG failed");
        goto out;
    }
    acc_submit_then(r, CMD_SESSION_REFRESH,
                    json_pack("{s:s, s:s, s:s}", "family", family, "presented_hash", given,
                              "new_hash", is->hash),
                    idem, "refresh", given, acc_tokens_done, is);
out:
    json_decref(body);
}

/* ---- sign out ---- */


void acc_do_signout(struct http_req *r, bool everywhere)
{
    char idem[256];
    json_t *claims = acc_player(r, idem);
    if (!claims)
        return;
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *sid = json_string_value(json_object_get(claims, "sid"));
    {
        json_t *payload = everywhere ? json_pack("{s:s}", "player_id", sub)
                                     : json_pack("{s:s, s:s}", "player_id", sub, "family", sid);
        acc_submit(r, everywhere ? CMD_SESSION_REVOKE_ALL : CMD_SESSION_REVOKE, payload, idem,
                   everywhere ? "signout-all" : "signout", everywhere ? sub : sid);
    }
    json_decref(claims);
}


void acc_serve_me(struct http_req *r)
{
    json_t *claims = acc_authenticate(r);
    if (!claims)
        return;
    MDB_txn *txn;
    json_t *p = NULL;
    if (fsm_read_begin(r->node->fsm, &txn) == 0) {
        p = accounts_player_get(r->node->fsm, txn,
                                json_string_value(json_object_get(claims, "sub")));
        fsm_read_end(txn);
    }
    json_decref(claims);
    if (!p) {
        http_problem(r, 404, "No such player", "the player of this token is not known here");
        return;
    }
    json_object_del(p, "password_hash");
    http_reply_json(r, 200, p);
}

