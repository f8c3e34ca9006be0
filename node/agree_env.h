/* What the agreement engine's users on a node share (consensus/agreement.h): the Raft and
 * network sides of struct agr_env for this node (its loop clock, the leader and term, the
 * current voters, members' registered keys), sending an outbox entry to the leader, and
 * signing with the node's key. The users (agree.c, quote.c) add their domain's digest, message
 * and proposal. */
#ifndef PARLAY_AGREE_ENV_H
#define PARLAY_AGREE_ENV_H

#include <jansson.h>
#include <secp256k1.h>
#include <stdbool.h>
#include <stdint.h>

#include "consensus/agreement.h"

struct node;

/* A new engine for @n with the user's callbacks in @user (digest, send, propose, ...; now_ms
 * if not the loop's clock) and the node-wide ones filled in (arg: the node). */
struct agr *agree_env_new(struct node *n, const struct agr_env *user,
                          const struct agr_options *opt);

/* POST @body (stolen) to @path on the leader for @engine's outbox entry @t; the answer goes to
 * agr_outbox_sent (accepted: 200 or 202). 0, or -1 if no leader address is known. */
int agree_env_send(struct node *n, struct agr *engine, const char *path, json_t *body,
                   const struct agr_ticket *t);

/* The node's signature of @digest (compact r||s, low-s) as 128 hex digits into @out. */
bool agree_sign(secp256k1_context *ctx, const unsigned char sk[32], const uint8_t digest[32],
                char out[AGR_SIG_HEX]);

#endif
