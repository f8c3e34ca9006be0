/* Access-token scenarios shared by the integration tests: an accounts cluster with a sport
 * cluster reading its key set, a player signed up and in, and ES256 tokens made by the test. */
#ifndef PARLAY_TEST_TOKENS_H
#define PARLAY_TEST_TOKENS_H

#include <cjose/cjose.h>
#include <stddef.h>

#include "tests/integration/harness.h"

/* Waits (deadline 30 s) until node @i of @c publishes @n signing keys. */
void tk_wait_keys(struct h_cluster *c, int i, size_t n);

/* Starts accounts cluster @a (@na nodes) and waits until each node publishes its signing key,
 * then sport cluster @s (@ns nodes) reading accounts node @jwks_node's JWKS (a kid it lacks is
 * refetched at once). @extra (@extra_n bytes) holds the sport config and must outlive @s. */
void tk_start_clusters(struct h_cluster *a, int na, struct h_cluster *s, int ns, int jwks_node,
                       char *extra, size_t extra_n);

/* Registers @email with @pw on accounts node @i and signs in: the player id, the access token
 * (@tn bytes) and the session id. */
void tk_sign_up(struct h_cluster *a, int i, const char *email, const char *pw, char player[64],
                char *token, size_t tn, char session[64]);

/* Registers sport cluster @s (its name and every member's public key, from their status) with
 * accounts cluster @a (POST /admin/v1/sport-clusters on node 1, Idempotency-Key @key); asserts
 * 200. From then on the accounts cluster answers @s's signed hold calls. */
void tk_register_sport_cluster(struct h_cluster *a, struct h_cluster *s, const char *key);

/* The problem code sport node @i of @s answers @token with on GET /v1/me, "" for a 200. */
void tk_me_code(struct h_cluster *s, int i, const char *token, char code[64]);
/* Waits (15 s at most per node) until every node of @s answers @token with @want ("" =
 * accepted); fails the test otherwise. */
void tk_wait_me_code(struct h_cluster *s, const char *token, const char *want);

/* A compact ES256 JWS over @claims signed by @k under @kid (malloc'd). */
char *tk_sign(cjose_jwk_t *k, const char *kid, const char *claims);

#endif
