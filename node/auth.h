/* Players' access tokens (ES256 JWTs signed by the accounts cluster): one verifier for every
 * role, and on sport nodes a cached copy of the accounts cluster's JWKS, fetched in the
 * background (worker thread, never on the loop), refreshed periodically and when a token names
 * an unknown kid (rate-limited); the last good set is kept. */
#ifndef PARLAY_AUTH_H
#define PARLAY_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "node/node.h"

#define AUTH_AUDIENCE "parlay"
/* Access tokens live 15 minutes; one whose exp is further ahead than this was not made by the
 * accounts cluster (a leaked signing key, a forged clock) and is refused. */
#define AUTH_MAX_LIFETIME_S 3600

/* Verifies `Authorization: Bearer <token>` against @jwks (iss must be @issuer, aud "parlay",
 * exp/iat checked, exp at most AUTH_MAX_LIFETIME_S ahead, ES256 signatures in low-s form only). Returns the claims (caller json_decref()s), or NULL after answering 401
 * problem+json with WWW-Authenticate. When @unknown_kid is non-NULL and the only fault is a
 * kid absent from @jwks, nothing is answered: *unknown_kid is set and NULL returned. */
json_t *auth_verify_bearer(struct http_req *r, const json_t *jwks, const char *issuer,
                           bool *unknown_kid);

/* The same for another audience and lifetime bound. */
json_t *auth_verify_bearer_aud(struct http_req *r, const json_t *jwks, const char *issuer,
                               const char *audience, int64_t max_lifetime, bool *unknown_kid);

/* Operators' access tokens: aud "parlay-operator", sub = operator id, sid = "operator:<id>",
 * scope = space-separated scopes; they live AUTH_OPERATOR_TTL_S. Accounts nodes check the
 * operator's record each time; sport nodes refuse a disabled operator's token once the
 * revocation log they poll names its sid (within accounts_revocations_poll_ms), and at its
 * expiry at the latest. */
#define AUTH_OPERATOR_AUDIENCE "parlay-operator"
#define AUTH_OPERATOR_TTL_S 300

/* Sport role: the operator token's claims verified offline against the cached keys, or NULL
 * with the request answered (401, or 503 while keys are not loaded). */
json_t *auth_operator(struct http_req *r);

/* Sport role with accounts_jwks_url: start the background fetcher. */
int auth_start(struct node *n, char *err, size_t errlen);
void auth_stop(struct node *n);

/* Sport role: the player of the request's bearer token, verified offline against the cached
 * keys: the token's claims, or NULL with the request answered (404 no verifier configured, 503
 * keys not loaded or a key not known yet (a refetch starts), 401 a bad token). */
json_t *auth_player(struct http_req *r);

/* Sport role: GET /v1/me. Returns 0 if handled, -1 if the path is not ours. */
int routes_auth(struct http_req *r, const char *method, const char *path);

#endif
