/* The TOTP second factor: enrolment, confirmation (recovery codes handed out once), and the
 * check sign-in uses. */
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

/* The contexts a player's TOTP secret and otpauth URI are sealed under. */
static void totp_aad(char secret[128], char uri[128], const char *player_id)
{
    snprintf(secret, 128, "totp-secret:%s", player_id);
    snprintf(uri, 128, "totp-uri:%s", player_id);
}

/* Replaces the sealed @field of @o (context @aad) by its clear value; false (and the field
 * removed) when it does not open. */
static bool reveal_field(struct node *n, json_t *o, const char *field, const char *aad)
{
    const char *v = json_string_value(json_object_get(o, field));
    if (!v)
        return true;
    char err[160];
    char *p = seal_reveal(&n->cfg.secrets, aad, v, err, sizeof err);
    if (!p) {
        LOG_ERROR("event=secret_unreadable field=%s context=%s reason=\"%s\"", field, aad, err);
        json_object_del(o, field);
        return false;
    }
    json_object_set_new(o, field, json_string(p));
    seal_free(p);
    return true;
}

/* The player's TOTP record with its secret and URI opened (they are sealed at rest). */
json_t *acc_totp_record(struct node *n, const char *player_id)
{
    MDB_txn *txn;
    json_t *t = NULL;
    if (fsm_read_begin(n->fsm, &txn) == 0) {
        t = accounts_totp_get(n->fsm, txn, player_id);
        fsm_read_end(txn);
    }
    char sa[128], ua[128];
    totp_aad(sa, ua, player_id);
    if (t) {
        reveal_field(n, t, "secret", sa);
        reveal_field(n, t, "uri", ua);
    }
    return t;
}

/* Checks the code against the secret in @t from the last used step on: the matched step in
 * *step. */
int acc_totp_check(json_t *t, const char *code, int64_t *step, kyc_err *err)
{
    uint8_t key[64];
    int kl = kyc_base32_decode(json_string_value(json_object_get(t, "secret")), key, sizeof key);
    if (kl <= 0) {
        snprintf(err->msg, sizeof err->msg, "stored secret unreadable");
        return KYC_E_INVAL;
    }
    *step = json_integer_value(json_object_get(t, "last_step"));
    int rv = kyc_totp_verify(key, (size_t)kl, code, acc_now_s(), 1, step, err);
    OPENSSL_cleanse(key, sizeof key);
    return rv;
}

/* After the password matched: 0 = go on (the second factor, if the account has one, is in
 * @payload as totp_step or recovery_hash), 1 = a second factor is needed and none was given,
 * -1 = the one given is wrong (counted as a failed sign-in). Apply checks single use again. */
/* ---- TOTP second factor ---- */

/* The enrolment's answer carries the secret and URI sealed (it is the command's result, kept
 * in the idempotency record): the player gets them opened. */
static void enrol_done(struct http_req *r, void *ctx, int status, const char *body,
                       const char *ra, bool replayed)
{
    char *sub = ctx; /* the player's id (malloc'd) */
    json_t *res = status == 201 ? json_loads(body, 0, NULL) : NULL;
    char sa[128], ua[128];
    if (!res) {
        acc_relay(r, status, body, ra, replayed);
    } else {
        totp_aad(sa, ua, sub);
        if (reveal_field(r->node, res, "secret", sa) &&
            reveal_field(r->node, res, "otpauth_uri", ua)) {
            http_header(r, "cache-control", "no-store");
            if (replayed)
                http_header(r, "idempotent-replayed", "true");
            http_reply_json(r, 201, json_incref(res));
        } else {
            http_problem(r, 500, "Enrolment unreadable",
                         "the stored enrolment could not be opened with this node's keyring");
        }
    }
    free(sub);
    json_decref(res);
}

void acc_do_totp_enrol(struct http_req *r)
{
    char idem[256];
    json_t *claims = acc_player(r, idem);
    if (!claims)
        return;
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    uint8_t key[KYC_TOTP_SECRET_BYTES];
    char b32[64], *uri = NULL;
    kyc_err err = {0};
    MDB_txn *txn;
    json_t *p = NULL;
    if (fsm_read_begin(r->node->fsm, &txn) == 0) {
        p = accounts_player_get(r->node->fsm, txn, sub);
        fsm_read_end(txn);
    }
    const char *account = p ? json_string_value(json_object_get(p, "email")) : sub;
    if (kyc_totp_secret_new(key, &err) != KYC_OK ||
        kyc_base32_encode(key, sizeof key, b32, sizeof b32) < 0 ||
        kyc_totp_uri(key, sizeof key, "Parlay", account, &uri, &err) != KYC_OK) {
        http_problem(r, 500, "Enrolment failed", "%s", err.msg);
    } else {
        char sa[128], ua[128];
        totp_aad(sa, ua, sub);
        char *s_secret = seal_text(&r->node->cfg.secrets, sa, b32);
        char *s_uri = seal_text(&r->node->cfg.secrets, ua, uri);
        if (!s_secret || !s_uri) {
            http_problem(r, 500, "Enrolment failed", "the secret could not be sealed");
        } else {
            acc_submit_then(r, CMD_TOTP_ENROL,
                            json_pack("{s:s, s:s, s:s}", "player_id", sub, "secret", s_secret,
                                      "uri", s_uri),
                            idem, "totp-enrol", sub, enrol_done, strdup(sub));
        }
        free(s_secret);
        free(s_uri);
    }
    OPENSSL_cleanse(b32, sizeof b32);
    OPENSSL_cleanse(key, sizeof key);
    free(uri);
    json_decref(p);
    json_decref(claims);
}

#define RECOVERY_CODES 10

struct recovery_issue {
    char codes[RECOVERY_CODES][KYC_RECOVERY_CHARS + 1];
    char first_hash[65];
};

static void confirm_done(struct http_req *r, void *ctx, int status, const char *body,
                         const char *ra, bool replayed)
{
    struct recovery_issue *ri = ctx;
    json_t *res = status == 200 ? json_loads(body, 0, NULL) : NULL;
    const char *check = json_string_value(json_object_get(res, "token_check"));
    if (!res) {
        acc_relay(r, status, body, ra, replayed);
    } else if (replayed || !check || strncmp(check, ri->first_hash, 16) != 0) {
        http_problem(r, 409, "Recovery codes already issued",
                     "this Idempotency-Key was already used and the recovery codes were handed "
                     "out with the first answer");
    } else {
        json_t *codes = json_array();
        for (int i = 0; i < RECOVERY_CODES; i++)
            json_array_append_new(codes, json_string(ri->codes[i]));
        http_header(r, "cache-control", "no-store");
        http_reply_json(r, 200, json_pack("{s:b, s:o}", "confirmed", 1, "recovery_codes", codes));
    }
    json_decref(res);
    OPENSSL_cleanse(ri, sizeof *ri);
    free(ri);
}

void acc_do_totp_confirm(struct http_req *r)
{
    static const char *const names[] = {"code", NULL};
    json_t *claims = acc_authenticate(r);
    if (!claims)
        return;
    json_t *body = routes_body(r), *t = NULL;
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    char idem[256];
    if (!body || !acc_fields(r, body, names))
        goto out;
    if (!acc_player_idem_key(r, sub, idem))
        goto out;
    t = acc_totp_record(r->node, sub);
    if (!t && !replica_is_leader(r->node->replica) && !r->forwarded) {
        http_forward_to_leader(r); /* enrolled a moment ago, not applied here yet */
        goto out;
    }
    if (!t || json_is_true(json_object_get(t, "confirmed"))) {
        http_problem(r, 409, t ? "Second factor active" : "Not enrolled",
                     t ? "the second factor is already confirmed"
                       : "start with POST /v1/players/me/totp");
        goto out;
    }
    int64_t step;
    kyc_err err = {0};
    if (acc_totp_check(t, json_string_value(json_object_get(body, "code")), &step, &err) !=
        KYC_OK) {
        http_problem(r, 422, "Code refused", "field 'code': %s", err.msg);
        goto out;
    }
    struct recovery_issue *ri = calloc(1, sizeof *ri);
    json_t *hashes = json_array();
    bool ok = true;
    for (int i = 0; i < RECOVERY_CODES && ok; i++) {
        char h[65];
        ok = kyc_recovery_code_new(ri->codes[i], &err) == KYC_OK &&
             kyc_recovery_hash(ri->codes[i], h, &err) == KYC_OK;
        json_array_append_new(hashes, json_string(h));
        if (i == 0)
            memcpy(ri->first_hash, h, sizeof h);
    }
    if (!ok) {
        json_decref(hashes);
        free(ri);
        http_problem(r, 500, "No randomness", "%s", err.msg);
        goto out;
    }
    acc_submit_then(r, CMD_TOTP_CONFIRM,
                    json_pack("{s:s, s:I, s:o}", "player_id", sub, "step", (json_int_t)step,
                              "recovery_hashes", hashes),
                    idem, "totp-confirm", sub, confirm_done, ri);
out:
    json_decref(t);
    json_decref(body);
    json_decref(claims);
}

