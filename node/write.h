/* The one write path of a node: see node/write.c's opening comment for the whole story. */
#ifndef PARLAY_WRITE_H
#define PARLAY_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/node.h"

/* How a caller renders a write's answer. @status and @body are the command's result (or the
 * write path's own problem+json); @retry_after is a Retry-After value or NULL; @replayed: the
 * answer comes from the idempotency record. The callback must answer @r. */
typedef void (*write_done_cb)(struct http_req *r, void *ctx, int status, const char *body,
                              const char *retry_after, bool replayed);

/* The client's Idempotency-Key, namespaced "@ns:@key" into @out. Answers 428 (missing) or 400
 * (not 1 to 200 visible ASCII characters) and returns false when it cannot be used. */
bool write_idem_key(struct http_req *r, const char *ns, char out[256]);

/* Commit a prepared command of @type with @payload (@len bytes, copied), idempotency key @idem
 * and request fingerprint @fp: on the leader answer from the idempotency record or propose it;
 * on a follower send it to the leader's POST /internal/v1/propose (signed with the members'
 * secret). @done renders the answer; NULL relays it as it is (write_relay). */
void write_submit(struct http_req *r, uint16_t type, const char *payload, size_t len,
                  const char *idem, const uint8_t fp[32], write_done_cb done, void *ctx);

/* When @r passed routes_require_scope: @payload wrapped as a CMD_ADMIN payload (malloc'd)
 * naming the caller, the route and the method, so that its apply records the audit entry;
 * NULL otherwise (write_submit does this itself; for commands proposed directly). */
char *write_admin_wrap(struct http_req *r, uint16_t type, const char *payload, size_t len);

/* Answer @status / @body as a command result: problem+json from 400 on, Retry-After and
 * Idempotent-Replayed headers when given. */
void write_relay(struct http_req *r, int status, const char *body, const char *retry_after,
                 bool replayed);

/* POST /internal/v1/propose: a prepared command from a follower of this cluster (HMAC over the
 * forwarded bytes with the members' secret, fresh timestamp, a command type followers prepare).
 * Returns -1 when @path is not that route. */
int routes_internal(struct http_req *r, const char *method, const char *path);

/* The headers that sign @body for node-to-node POST /internal/v1/propose at @now (unix
 * seconds): "parlay-timestamp: T" into @ts_line and "parlay-signature: HEX" into @sig_line. */
void write_sign(const struct node *n, const char *body, size_t len, long long now,
                char ts_line[64], char sig_line[96]);

#endif
