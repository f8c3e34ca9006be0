/* FranceConnect (OpenID Connect): link a verified identity to a signed-in player, or sign in
 * with it; the callback finishes either on any node. */
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

/* ---- FranceConnect ---- */

struct fc_job {
    uv_work_t work;
    struct http_req *r;
    bool callback;
    bool signin; /* a FranceConnect sign-in rather than a link */
    char player_id[ACCOUNTS_ID_CHARS + 1];
    char idem[256];
    kyc_fc_login login;
    char *url;   /* start: the authorize URL */
    char *query; /* callback: the raw query string */
    kyc_fc_result res;
    char idkey[KYC_IDKEY_CHARS + 1];
    bool adult;
    int rv;
    kyc_err err;
};

static void fc_job_free(struct fc_job *j)
{
    free(j->url);
    free(j->query);
    kyc_fc_result_clear(&j->res);
    OPENSSL_cleanse(&j->login, sizeof j->login);
    free(j);
}

static void fc_work(uv_work_t *w)
{
    struct fc_job *j = w->data;
    kyc_fc *fc = j->r->node->accounts->fc;
    if (!j->callback) {
        j->rv = kyc_fc_authorize(fc, &j->login, &j->url, &j->err);
        return;
    }
    int64_t now = acc_now_s();
    j->rv = kyc_fc_callback(fc, &j->login, j->query, now, &j->res, &j->err);
    if (j->rv != KYC_OK)
        return;
    kyc_err aerr = {0};
    int age = kyc_check_adult(j->res.id.birthdate, now, &aerr);
    if (age != KYC_OK && age != KYC_E_MINOR) {
        j->rv = age;
        j->err = aerr;
        return;
    }
    j->adult = age == KYC_OK;
    j->rv = kyc_identity_key(&j->res.id, j->idkey, &j->err);
}

static bool fc_configured(struct http_req *r)
{
    if (r->node->accounts->fc)
        return true;
    http_problem(r, 404, "FranceConnect not configured",
                 "this cluster has no 'franceconnect' configuration");
    return false;
}

static void fc_started(uv_work_t *w, int status)
{
    struct fc_job *j = w->data;
    struct http_req *r = j->r;
    if (status != 0 || j->rv != KYC_OK) {
        http_header(r, "retry-after", "5");
        http_problem(r, 502, "FranceConnect unavailable", "%s",
                     status ? "cancelled" : j->err.msg);
    } else {
        json_t *payload = json_pack("{s:s, s:s, s:s}", "state", j->login.state, "nonce",
                                    j->login.nonce, "authorize_url", j->url);
        if (j->signin) {
            json_object_set_new(payload, "signin", json_true());
            snprintf(j->idem, sizeof j->idem, "fc-start:%s", j->login.state);
        } else {
            json_object_set_new(payload, "player_id", json_string(j->player_id));
        }
        acc_submit(r, CMD_FC_START, payload, j->idem, "fc-start",
                   j->signin ? j->login.state : j->player_id);
    }
    fc_job_free(j);
}

void acc_do_fc_start(struct http_req *r)
{
    if (!fc_configured(r))
        return;
    struct fc_job *j = calloc(1, sizeof *j);
    if (!acc_player_job(r, j->player_id, j->idem)) {
        free(j);
        return;
    }
    j->r = r;
    acc_work(r, &j->work, j, fc_work, fc_started);
}

/* The provider's end-session URL for this login (id_token_hint, a fresh state), or NULL. */
static char *fc_logout(struct node *n, struct fc_job *j)
{
    char st[KYC_TOKEN_CHARS + 1], *url = NULL;
    kyc_err err = {0};
    if (!j->res.id_token || kyc_random_token(st, &err) != KYC_OK ||
        kyc_fc_logout_url(n->accounts->fc, j->res.id_token, st, &url, &err) != KYC_OK) {
        LOG_WARN("event=fc_logout_url_failed err=\"%s\"", err.msg);
        return NULL;
    }
    return url;
}

/* A link's answer, with the provider's logout URL added to a success. */
static void link_done(struct http_req *r, void *ctx, int status, const char *body,
                      const char *ra, bool replayed)
{
    char *logout = ctx;
    json_t *res = status == 201 && logout && !replayed ? json_loads(body, 0, NULL) : NULL;
    if (res) {
        json_object_set_new(res, "franceconnect_logout_url", json_string(logout));
        http_reply_json(r, status, res);
    } else {
        acc_relay(r, status, body, ra, replayed);
    }
    free(logout);
}

/* POST /v1/sessions/franceconnect: a sign-in for a player whose account is linked. Starting
 * is safe to repeat (each start is a new, independent state), so it needs no key. */
void acc_do_fc_signin_start(struct http_req *r)
{
    if (!fc_configured(r))
        return;
    struct fc_job *j = calloc(1, sizeof *j);
    j->r = r;
    j->signin = true;
    acc_work(r, &j->work, j, fc_work, fc_started);
}

/* After a verified FranceConnect sign-in: the linked player gets a session. */
static void fc_signin_finish(struct http_req *r, struct fc_job *j)
{
    kyc_identity *id = &j->res.id;
    MDB_txn *txn;
    json_t *owner = NULL;
    if (fsm_read_begin(r->node->fsm, &txn) == 0) {
        owner = accounts_identity_player(r->node->fsm, txn, id->issuer, id->sub);
        fsm_read_end(txn);
    }
    if (!owner) {
        http_problem(r, 404, "No linked account",
                     "no account is linked to this FranceConnect identity: register, sign in "
                     "and link it first (POST /v1/players/me/franceconnect)");
        return;
    }
    struct issue *is = calloc(1, sizeof *is);
    char family[ACCOUNTS_FAMILY_CHARS + 1], subkey[420];
    snprintf(subkey, sizeof subkey, "%s %s", id->issuer, id->sub);
    if (acc_random_hex(16, family) != 0 ||
        acc_refresh_new(family, is->refresh, sizeof is->refresh, is->hash) != 0) {
        free(is);
        json_decref(owner);
        http_problem(r, 500, "No randomness", "the CSPRNG failed");
        return;
    }
    is->logout_url = fc_logout(r->node, j);
    json_t *payload = json_pack("{s:O, s:s, s:s, s:s, s:s}", "player_id", owner, "family",
                                family, "refresh_hash", is->hash, "fc_state", j->login.state,
                                "fc_subkey", subkey);
    acc_session_limits(r->node, payload);
    acc_submit_then(r, CMD_SESSION_CREATE, payload, j->idem, "fc-signin", j->login.state,
                    acc_tokens_done, is);
    json_decref(owner);
}

static int fc_status(int code)
{
    switch (code) {
    case KYC_E_HTTP:
    case KYC_E_TIMEOUT:
    case KYC_E_HTTP_STATUS:
    case KYC_E_RESPONSE:
    case KYC_E_DISCOVERY: return 502;
    case KYC_E_PROVIDER: return 403;
    default: return 401;
    }
}

static void fc_called_back(uv_work_t *w, int status)
{
    struct fc_job *j = w->data;
    struct http_req *r = j->r;
    if (status != 0 || j->rv != KYC_OK) {
        int st = status ? 500 : fc_status(j->rv);
        http_problem(r, st, "FranceConnect sign-in refused", "%s: %s",
                     status ? "cancelled" : kyc_strerror(j->rv), status ? "" : j->err.msg);
    } else if (acc_banned_person(r->node, j->res.id.family_name, j->res.id.given_names,
                                 j->res.id.birthdate)) {
        /* FranceConnect certified who this is, and the national gambling-ban list names them:
         * no sign-in, no link; the player it belongs to is banned in the wallet too. */
        char pid[ACCOUNTS_ID_CHARS + 1] = "";
        if (j->signin) {
            MDB_txn *txn;
            json_t *owner = NULL;
            if (fsm_read_begin(r->node->fsm, &txn) == 0) {
                owner = accounts_identity_player(r->node->fsm, txn, j->res.id.issuer,
                                                 j->res.id.sub);
                fsm_read_end(txn);
            }
            if (json_is_string(owner))
                snprintf(pid, sizeof pid, "%s", json_string_value(owner));
            json_decref(owner);
        } else {
            snprintf(pid, sizeof pid, "%s", j->player_id);
        }
        if (pid[0])
            acc_ban_and_refuse(r, pid);
        else
            acc_refuse_banned(r);
    } else if (j->signin) {
        fc_signin_finish(r, j);
    } else {
        kyc_identity *id = &j->res.id;
        json_t *ident = json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "issuer", id->issuer, "sub", id->sub,
            "acr", id->acr, "given_names", id->given_names, "family_name", id->family_name,
            "birthdate", id->birthdate, "birthplace", id->birthplace, "birthcountry",
            id->birthcountry, "gender", id->gender);
        acc_submit_then(r, CMD_FC_LINK,
                        json_pack("{s:s, s:s, s:b, s:s, s:o}", "player_id", j->player_id,
                                  "state", j->login.state, "adult", j->adult, "idkey", j->idkey,
                                  "identity", ident),
                        j->idem, "fc-link", j->login.state, link_done, fc_logout(r->node, j));
    }
    fc_job_free(j);
}

void acc_do_fc_callback(struct http_req *r)
{
    if (!fc_configured(r))
        return;
    char state[KYC_TOKEN_CHARS + 8];
    if (!http_query_get(r, "state", state, sizeof state) || strlen(state) != KYC_TOKEN_CHARS) {
        http_problem(r, 400, "Bad callback", "the callback needs the 'state' it was sent with");
        return;
    }
    MDB_txn *txn;
    json_t *login = NULL;
    if (fsm_read_begin(r->node->fsm, &txn) == 0) {
        login = accounts_fc_login_get(r->node->fsm, txn, state);
        fsm_read_end(txn);
    }
    if (!login && !replica_is_leader(r->node->replica) && !r->forwarded) {
        http_forward_to_leader(r); /* started a moment ago, not applied here yet */
        return;
    }
    if (!login || json_is_true(json_object_get(login, "used"))) {
        http_problem(r, login ? 409 : 400, login ? "State already used" : "Unknown state",
                     login ? "this sign-in was already completed; start again"
                           : "this sign-in was not started here");
        json_decref(login);
        return;
    }
    struct fc_job *j = calloc(1, sizeof *j);
    j->r = r;
    j->callback = true;
    j->signin = json_is_true(json_object_get(login, "signin"));
    snprintf(j->player_id, sizeof j->player_id, "%s",
             json_string_value(json_object_get(login, "player_id")));
    snprintf(j->login.state, sizeof j->login.state, "%s", state);
    snprintf(j->login.nonce, sizeof j->login.nonce, "%s",
             json_string_value(json_object_get(login, "nonce")));
    snprintf(j->idem, sizeof j->idem, "fc:%s", state);
    json_decref(login);
    h2o_req_t *req = r->req;
    j->query = strndup(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
    acc_work(r, &j->work, j, fc_work, fc_called_back);
}

