/* The accounts cluster over HTTP: players, sign-in, sessions and the token-signing keys. This
 * file routes the requests and starts and stops the role; the handlers live in one file per
 * concern (see node/accounts_common.h for the map).
 *
 *   POST   /v1/players                {email, password}          register
 *   POST   /v1/sessions               {email, password}          sign in
 *   POST   /v1/sessions/refresh       {refresh_token}            rotate the refresh token
 *   DELETE /v1/sessions/current       (access token)             sign out
 *   DELETE /v1/sessions               (access token)             sign out everywhere
 *   GET    /v1/players/me             (access token)             the player
 *   POST   /v1/players/me/totp        (access token)             enrol a TOTP second factor
 *   POST   /v1/players/me/totp/confirm {code} (access token)     confirm it: recovery codes
 *   GET    /.well-known/jwks.json                                the public signing keys
 *   GET    /v1/sessions/revocations?since=MS&limit=N             revoked sessions (sport nodes poll)
 *   POST   /v1/players/me/franceconnect (access token)           start a FranceConnect link
 *   POST   /v1/sessions/franceconnect                            sign in with FranceConnect
 *   GET    /v1/kyc/franceconnect/callback?code&state&iss         finish either (any node)
 *   POST   /v1/players/me/kyc/document (access token)            start a document check
 *   POST   /v1/kyc/webhooks/{provider} (the provider, signed)       its decision
 *   POST   /admin/v1/signing-keys     (admin)                    rotate the signing key
 *   GET    /admin/v1/players[?email=] | /admin/v1/players/{id}  (admin) see players
 *   POST   /admin/v1/players/{id}/kyc {status, reason} (admin)  an operator's KYC decision
 *   POST   /admin/v1/players/{id}/signout {reason} (admin: kyc) end every session of a player
 *   GET    /admin/v1/secrets, POST /admin/v1/secrets/reseal (admin)  secrets at rest
 *                                                            (node/routes_secrets.c)
 *
 * The happy path of a write: parse and validate on the node that took the request; do the slow
 * or random part there (Argon2id on a libuv worker thread, ids and refresh tokens from the
 * CSPRNG); then hand the prepared command to the write path (node/write.c): on the leader it
 * is proposed directly; a follower posts it to the leader's /internal/v1/propose, signed with
 * the members' secret, so the password never leaves the node that received it and the leader
 * does not redo the hash. An operator's write (signing-key rotation, KYC decision) is made on
 * the leader (and logged there): a follower forwards the operator's request itself.
 * Tokens are built after the command is applied: the refresh token's plaintext is known only
 * to the node that generated it, and only its SHA-256 is replicated.
 *
 * Idempotency: keys are namespaced by caller (the email's digest for register and sign-in, the
 * session family for refresh, the player for sign-out) and the fingerprint covers what the
 * caller asked, not the prepared command (whose salt and tokens are new on every try), so a
 * retry with the same key gets the first answer. Tokens are handed out once: a replayed
 * sign-in or refresh is answered 409, because their plaintext is not kept anywhere.
 *
 * Failure modes: no leader / leader unreachable: 503 + Retry-After; leadership lost in flight:
 * 503 "Outcome unknown" (retry with the same key); too many hashes in flight: 503. */
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
#include "node/banlist.h"
#include "common/log.h"
#include "node/routes.h"

/* ---- routing and life cycle ---- */

int routes_accounts(struct http_req *r, const char *method, const char *path)
{
    if (!r->node->accounts)
        return -1;
    r->route = ROUTE_ACCOUNTS;
    if (routes_secrets(r, method, path) == 0)
        return 0;
    if (!strcmp(path, "/v1/players")) {
        if (routes_method(r, method, "POST", "use POST to register"))
            acc_do_register(r);
    } else if (!strcmp(path, "/v1/players/me")) {
        if (routes_method(r, method, "GET", "use GET"))
            acc_serve_me(r);
    } else if (!strcmp(path, "/v1/players/me/password")) {
        if (routes_method(r, method, "POST", "use POST to change the password"))
            acc_do_password(r);
    } else if (!strcmp(path, "/v1/players/me/totp")) {
        if (routes_method(r, method, "POST", "use POST to enrol a one-time-code second factor"))
            acc_do_totp_enrol(r);
    } else if (!strcmp(path, "/v1/players/me/totp/confirm")) {
        if (routes_method(r, method, "POST", "use POST"))
            acc_do_totp_confirm(r);
    } else if (!strcmp(path, "/v1/players/me/franceconnect")) {
        if (routes_method(r, method, "POST", "use POST to start a FranceConnect verification"))
            acc_do_fc_start(r);
    } else if (!strcmp(path, "/v1/kyc/franceconnect/callback")) {
        if (routes_method(r, method, "GET", "use GET (the provider redirects the browser here)"))
            acc_do_fc_callback(r);
    } else if (!strcmp(path, "/v1/sessions")) {
        if (!strcmp(method, "DELETE"))
            acc_do_signout(r, true);
        else if (routes_method(r, method, "POST", "use POST to sign in, DELETE to sign out "
                                                  "everywhere"))
            acc_do_signin(r);
    } else if (!strcmp(path, "/v1/players/me/kyc/document")) {
        if (routes_method(r, method, "POST", "use POST to start a document check"))
            acc_do_doc_start(r);
    } else if (!strncmp(path, "/v1/kyc/webhooks/", 17) && path[17] && !strchr(path + 17, '/')) {
        if (routes_method(r, method, "POST", "use POST"))
            acc_do_doc_webhook(r, path + 17);
    } else if (!strcmp(path, "/v1/sessions/franceconnect")) {
        if (routes_method(r, method, "POST", "use POST to sign in with FranceConnect"))
            acc_do_fc_signin_start(r);
    } else if (!strcmp(path, "/v1/sessions/refresh")) {
        if (routes_method(r, method, "POST", "use POST"))
            acc_do_refresh(r);
    } else if (!strcmp(path, "/v1/sessions/current")) {
        if (routes_method(r, method, "DELETE", "use DELETE to sign out"))
            acc_do_signout(r, false);
    } else if (!strcmp(path, "/v1/sessions/revocations")) {
        if (routes_method(r, method, "GET", "use GET"))
            acc_serve_revocations(r);
    } else if (!strcmp(path, "/.well-known/jwks.json")) {
        if (routes_method(r, method, "GET", "use GET"))
            acc_serve_jwks(r);
    } else if (!strcmp(path, "/admin/v1/signing-keys")) {
        if (routes_require_scope(r, "cluster") &&
            routes_method(r, method, "POST", "use POST to rotate the signing key"))
            acc_do_rotate(r);
    } else if (!strcmp(path, "/admin/v1/players")) {
        if (routes_require_scope(r, "kyc") && routes_method(r, method, "GET", "use GET"))
            routes_read(r, acc_serve_players_admin);
    } else if (!strncmp(path, "/admin/v1/players/", 18) && path[18]) {
        const char *id = path + 18, *slash = strchr(id, '/');
        if (!routes_require_scope(r, "kyc"))
            return 0;
        if (!slash) {
            if (routes_method(r, method, "GET", "use GET"))
                routes_read(r, acc_serve_player_admin);
        } else if (!strcmp(slash, "/kyc")) {
            char pid[ACCOUNTS_ID_CHARS + 2];
            snprintf(pid, sizeof pid, "%.*s", (int)(slash - id), id);
            if (routes_method(r, method, "POST", "use POST to record a KYC decision"))
                acc_do_kyc_override(r, pid);
        } else if (!strcmp(slash, "/signout")) {
            char pid[ACCOUNTS_ID_CHARS + 2];
            snprintf(pid, sizeof pid, "%.*s", (int)(slash - id), id);
            if (routes_method(r, method, "POST", "use POST to end the player's sessions"))
                acc_do_admin_signout(r, pid);
        } else {
            r->route = ROUTE_OTHER;
            return -1;
        }
    } else {
        r->route = ROUTE_OTHER;
        return -1;
    }
    return 0;
}

int accounts_start(struct node *n, char *err, size_t errlen)
{
    struct accounts *a = calloc(1, sizeof *a);
    kyc_err kerr = {0};
    a->node = n;
    snprintf(a->issuer, sizeof a->issuer, "urn:parlay:accounts:%s", n->cfg.cluster);
    if (kyc_pwlist_load(n->cfg.password_list, &a->pwlist, &kerr) != KYC_OK) {
        snprintf(err, errlen, "key 'password_list': %s", kerr.msg);
        free(a);
        return -1;
    }
    if (kyc_password_hash("not a password anyone has", 25, NULL, acc_dummy_hash, &kerr) != KYC_OK) {
        snprintf(err, errlen, "argon2id: %s", kerr.msg);
        kyc_pwlist_free(a->pwlist);
        free(a);
        return -1;
    }
    if (n->cfg.franceconnect[0]) {
        json_t *fc = json_loads(n->cfg.franceconnect, 0, NULL);
        kyc_fc_config fcc = {
            .issuer = json_string_value(json_object_get(fc, "issuer")),
            .client_id = json_string_value(json_object_get(fc, "client_id")),
            .client_secret = json_string_value(json_object_get(fc, "client_secret")),
            .redirect_uri = json_string_value(json_object_get(fc, "redirect_uri")),
            .post_logout_redirect_uri =
                json_string_value(json_object_get(fc, "post_logout_redirect_uri")),
            .timeout_ms = (long)json_integer_value(json_object_get(fc, "timeout_ms")),
            .allow_http = json_is_true(json_object_get(fc, "allow_http")),
        };
        int rv = kyc_fc_new(&fcc, &a->fc, &kerr);
        json_decref(fc);
        if (rv != KYC_OK) {
            snprintf(err, errlen, "key 'franceconnect': %s", kerr.msg);
            kyc_pwlist_free(a->pwlist);
            free(a);
            return -1;
        }
    }
    if (n->cfg.document_check[0]) {
        json_t *dc = json_loads(n->cfg.document_check, 0, NULL);
        int rv = kyc_doc_provider_new(dc, &a->doc, &kerr);
        json_decref(dc);
        if (rv != KYC_OK) {
            snprintf(err, errlen, "key 'document_check': %s", kerr.msg);
            kyc_fc_free(a->fc);
            kyc_pwlist_free(a->pwlist);
            free(a);
            return -1;
        }
    }
    if (n->cfg.payments[0]) {
        json_t *pc = json_loads(n->cfg.payments, 0, NULL);
        char perr[256];
        int rv = pay_provider_new(pc, &a->pay, perr, sizeof perr);
        json_decref(pc);
        if (rv != 0) {
            snprintf(err, errlen, "key 'payments': %s", perr);
            kyc_doc_provider_free(a->doc);
            kyc_fc_free(a->fc);
            kyc_pwlist_free(a->pwlist);
            free(a);
            return -1;
        }
    }
    if (n->cfg.ban_list_file[0]) {
        char berr[400];
        if (!(a->ban = banlist_open(n->cfg.ban_list_file, berr, sizeof berr))) {
            snprintf(err, errlen, "key 'ban_list_file': %s", berr);
            pay_provider_free(a->pay);
            kyc_doc_provider_free(a->doc);
            kyc_fc_free(a->fc);
            kyc_pwlist_free(a->pwlist);
            free(a);
            return -1;
        }
    }
    uv_timer_init(n->loop, &a->key_timer);
    a->key_timer.data = a;
    uv_timer_start(&a->key_timer, acc_on_key_timer, 200, 200);
    n->accounts = a;
    return 0;
}

void accounts_stop(struct node *n)
{
    if (!n->accounts)
        return;
    kyc_fc_free(n->accounts->fc);
    n->accounts->fc = NULL;
    kyc_doc_provider_free(n->accounts->doc);
    n->accounts->doc = NULL;
    pay_provider_free(n->accounts->pay);
    n->accounts->pay = NULL;
    banlist_free(n->accounts->ban);
    n->accounts->ban = NULL;
    uv_timer_stop(&n->accounts->key_timer);
    uv_close((uv_handle_t *)&n->accounts->key_timer, NULL);
}

