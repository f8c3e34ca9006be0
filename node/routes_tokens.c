/* Access tokens (ES256 JWTs signed with the newest signing key), the public JWKS, and the
 * signing keys: the leader makes the first one, an operator rotates them. */
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
#include "node/http_guard.h"
#include "node/query.h"
#include "node/routes.h"

/* ---- access tokens ---- */

/* The newest signing key (private JWK text, malloc'd) and its kid; NULL if none yet. */
char *acc_current_key(struct node *n, char kid[80])
{
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return NULL;
    json_t *keys = accounts_signing_keys(n->fsm, txn);
    fsm_read_end(txn);
    json_t *k = json_array_get(keys, json_array_size(keys) - 1);
    char *out = NULL;
    if (k) {
        snprintf(kid, 80, "%s", json_string_value(json_object_get(k, "kid")));
        json_t *jwk = json_object_get(k, "jwk");
        char aad[128], err[160];
        snprintf(aad, sizeof aad, "signing-key:%s", kid);
        char *d = seal_reveal(&n->cfg.secrets, aad, json_string_value(json_object_get(jwk, "d")),
                              err, sizeof err);
        if (d) {
            json_object_set_new(jwk, "d", json_string(d));
            out = json_dumps(jwk, JSON_COMPACT);
            json_object_del(jwk, "d");
            seal_free(d);
        } else {
            LOG_ERROR("event=signing_key_unreadable kid=%s reason=\"%s\"", kid, err);
        }
    }
    json_decref(keys);
    return out;
}

json_t *acc_public_jwks(struct node *n)
{
    MDB_txn *txn;
    json_t *out = json_array();
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return json_pack("{s:o}", "keys", out);
    json_t *keys = accounts_signing_keys(n->fsm, txn);
    fsm_read_end(txn);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        json_t *jwk = json_deep_copy(json_object_get(k, "jwk"));
        json_object_del(jwk, "d");
        json_object_set_new(jwk, "use", json_string("sig"));
        json_object_set_new(jwk, "alg", json_string("ES256"));
        json_array_append_new(out, jwk);
    }
    json_decref(keys);
    return json_pack("{s:o}", "keys", out);
}

/* @claims (stolen) signed with the newest signing key as an ES256 JWT (malloc'd), or NULL. */
char *acc_sign_claims(struct node *n, json_t *claims)
{
    char kid[80];
    char *jwk_text = acc_current_key(n, kid);
    if (!jwk_text) {
        json_decref(claims);
        return NULL;
    }
    cjose_err cerr = {0};
    char *out = NULL;
    char *ctext = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    cjose_jwk_t *jwk = cjose_jwk_import(jwk_text, strlen(jwk_text), &cerr);
    cjose_header_t *hdr = cjose_header_new(&cerr);
    cjose_jws_t *jws = NULL;
    const char *compact;
    if (ctext && jwk && hdr && cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &cerr) &&
        cjose_header_set(hdr, CJOSE_HDR_KID, kid, &cerr) &&
        cjose_header_set(hdr, "typ", "at+jwt", &cerr) &&
        (jws = cjose_jws_sign(jwk, hdr, (const uint8_t *)ctext, strlen(ctext), &cerr)) &&
        cjose_jws_export(jws, &compact, &cerr))
        out = strdup(compact);
    else
        LOG_ERROR("event=token_sign_failed err=\"%s\"", cerr.message);
    if (out && kyc_es256_flip_s(out, true, NULL) != KYC_OK) { /* verifiers take low-s only */
        free(out);
        out = NULL;
    }
    cjose_jws_release(jws);
    cjose_header_release(hdr);
    cjose_jwk_release(jwk);
    free(ctext);
    free(jwk_text);
    return out;
}

/* An ES256 access token for @player in session @sid (malloc'd), or NULL. */
char *acc_access_token(struct node *n, const char *player, const char *sid)
{
    int64_t now = acc_now_s();
    return acc_sign_claims(n, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss",
                                        n->accounts->issuer, "aud", AUDIENCE, "sub", player,
                                        "sid", sid, "iat", (json_int_t)now, "exp",
                                        (json_int_t)(now + ACCESS_TTL_S)));
}

/* Verify the bearer access token; on failure answer 401 and return NULL. Also refuses a token
 * whose session was revoked (this cluster can tell; other clusters wait for its expiry). */
json_t *acc_authenticate(struct http_req *r)
{
    struct node *n = r->node;
    json_t *jwks = acc_public_jwks(n);
    json_t *claims = auth_verify_bearer(r, jwks, n->accounts->issuer, NULL);
    json_decref(jwks);
    if (!claims)
        return NULL;
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *sid = json_string_value(json_object_get(claims, "sid"));
    MDB_txn *txn;
    json_t *s = NULL;
    if (sid && accounts_family_valid(sid) && fsm_read_begin(n->fsm, &txn) == 0) {
        s = accounts_session_get(n->fsm, txn, sid);
        fsm_read_end(txn);
    }
    if (sub && !s && !r->forwarded && !replica_is_leader(n->replica)) {
        /* A session created a moment ago may not be applied here yet: the leader knows. */
        json_decref(claims);
        http_forward_to_leader(r);
        return NULL;
    }
    if (!sub || !s || strcmp(json_string_value(json_object_get(s, "player_id")), sub) != 0 ||
        json_is_true(json_object_get(s, "revoked"))) {
        json_decref(s);
        json_decref(claims);
        http_header(r, "www-authenticate", "Bearer error=\"invalid_token\"");
        http_problem(r, 401, "Session ended",
                     "the session of this access token was signed out or is not known here");
        return NULL;
    }
    json_decref(s);
    return claims;
}

void acc_serve_jwks(struct http_req *r)
{
    http_header(r, "cache-control", "public, max-age=60");
    json_t *jwks = acc_public_jwks(r->node);
    char *text = json_dumps(jwks, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(jwks);
    http_reply(r, 200, "application/jwk-set+json", text, strlen(text));
    free(text);
}

/* ---- revoked sessions, for sport nodes ---- */

/* GET /v1/sessions/revocations?since=MS&limit=N: the revoked sessions from that leader time on
 * (consensus/accounts.h accounts_revocations). Public like the JWKS: a session id alone opens
 * nothing, and these sessions are dead. */
static void serve_revocations(struct http_req *r)
{
    char since[24] = "", limit[8] = "";
    struct query_want w[] = {{"since", since, sizeof since, 0}, {"limit", limit, sizeof limit, 0}};
    if (query_params(r, w, 2) != 0)
        return;
    char *end;
    long long s = w[0].got ? strtoll(since, &end, 10) : 0;
    if (w[0].got && (!since[0] || *end || s < 0)) {
        http_guard_problem(r, 400, "Bad parameter", "bad_since",
                           "'since' must be a leader time in milliseconds (0 or more)");
        return;
    }
    long l = w[1].got ? strtol(limit, &end, 10) : 1000;
    if (w[1].got && (!limit[0] || *end || l < 1 || l > 1000)) {
        http_guard_problem(r, 400, "Bad parameter", "bad_limit", "'limit' must be 1 to 1000");
        return;
    }
    MDB_txn *txn;
    if (fsm_read_begin(r->node->fsm, &txn) != 0) {
        http_problem(r, 500, "Storage error", "the state machine could not be read");
        return;
    }
    json_t *out = accounts_revocations(r->node->fsm, txn, s, (size_t)l);
    fsm_read_end(txn);
    http_header(r, "cache-control", "no-store");
    http_reply_json(r, 200, out);
}

void acc_serve_revocations(struct http_req *r)
{
    routes_read(r, serve_revocations);
}

/* ---- signing keys ---- */

/* A new P-256 key as {kid, jwk} (the private JWK, its "d" sealed with the node's keyring so
 * that the command, the log and the state hold only ciphertext), or NULL. */
static json_t *key_new(struct node *n)
{
    char kid[17];
    if (acc_random_hex(8, kid) != 0)
        return NULL;
    cjose_err cerr;
    cjose_jwk_t *jwk = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &cerr);
    if (!jwk || !cjose_jwk_set_kid(jwk, kid, strlen(kid), &cerr)) {
        cjose_jwk_release(jwk);
        return NULL;
    }
    char *text = cjose_jwk_to_json(jwk, true, &cerr);
    cjose_jwk_release(jwk);
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        cjose_get_dealloc()(text);
    }
    const char *d = json_string_value(json_object_get(j, "d"));
    char aad[128];
    snprintf(aad, sizeof aad, "signing-key:%s", kid);
    char *sealed = d ? seal_text(&n->cfg.secrets, aad, d) : NULL;
    if (!sealed) {
        json_decref(j); /* the clear d goes with it; jansson frees without wiping: short-lived */
        return NULL;
    }
    json_object_set_new(j, "d", json_string(sealed));
    free(sealed);
    return json_pack("{s:s, s:o}", "kid", kid, "jwk", j);
}

void acc_do_rotate(struct http_req *r)
{
    char idem[256];
    if (!acc_idem_key(r, "admin-keys", idem) || !acc_on_leader(r))
        return;
    json_t *k = key_new(r->node);
    if (!k) {
        http_problem(r, 500, "Key generation failed", "a new P-256 key could not be made");
        return;
    }
    LOG_INFO("event=admin_signing_key_rotation");
    acc_submit(r, CMD_SIGNING_KEY_ADD, k, idem, "rotate", "");
}

static void key_proposed(void *arg, int outcome, const struct fsm_result *res)
{
    struct accounts *a = arg;
    a->key_proposing = false;
    if (outcome == REPLICA_OK && res->status == 201)
        LOG_INFO("event=signing_key_created %s", res->body);
}

/* The leader makes the cluster's first signing key: generated here, carried in a command. */
void acc_on_key_timer(uv_timer_t *t)
{
    struct accounts *a = t->data;
    struct node *n = a->node;
    acc_ban_tick(a);
    wallet_on_timer(a);
    if (a->key_proposing || !replica_is_leader(n->replica))
        return;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return;
    json_t *keys = accounts_signing_keys(n->fsm, txn);
    fsm_read_end(txn);
    size_t have = json_array_size(keys);
    json_decref(keys);
    if (have)
        return;
    json_t *k = key_new(n);
    if (!k)
        return;
    json_object_set_new(k, "if_none", json_true());
    char *text = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(k);
    struct cmd c = {.type = CMD_SIGNING_KEY_ADD, .payload = text, .payload_len = strlen(text)};
    a->key_proposing = replica_propose(n->replica, &c, key_proposed, a) == REPLICA_OK;
    free(text);
}

