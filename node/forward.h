/* Forwarding a request to the leader over HTTP (libcurl's multi interface on the node's libuv
 * loop), and relaying its answer. Connections to the leader are kept alive and reused.
 *
 * Failure modes: the leader cannot be reached and curl proves nothing was sent: 503 "Leader
 * unreachable" + Retry-After. Anything else without an answer (the leader died, the connection
 * broke, no answer in forward_timeout_ms, or curl re-sent on a fresh connection that could not
 * connect after the first copy may have arrived): for a write the outcome is unknown (503,
 * retry with the same Idempotency-Key); for a read, 503. A transfer still in flight when the
 * node stops is ended with that answer too (forward_close). */
#ifndef PARLAY_FORWARD_H
#define PARLAY_FORWARD_H

#include <stdbool.h>
#include <stddef.h>

struct forwarder;
struct http_req;
struct node;

struct forwarder *forward_new(struct node *n);
void forward_close(struct forwarder *f);
void forward_request(struct forwarder *f, struct http_req *r, const char *leader_http_address);

/* POST @body to @path on the leader with @headers (NULL-terminated "name: value" lines) and
 * hand the answer to @done instead of relaying it. @status is the leader's HTTP status, 0 when
 * provably nothing was sent (the request may be retried as not applied) and -1 when the
 * outcome is unknown (sent or maybe sent, no answer). Used by the write path (node/write.c). */
typedef void (*forward_done_cb)(void *arg, long status, const char *body, size_t len,
                                const char *retry_after, bool replayed);
void forward_post(struct forwarder *f, const char *leader_http_address, const char *path,
                  const char *const *headers, const char *body, forward_done_cb done,
                  void *arg);

/* POST @body (JSON) to @path on the node at @address (with the admin token and, if not NULL,
 * @idem_key) on the node's own behalf: no client request is behind it. @cb gets the status
 * as for forward_post (0: not reached, -1: no answer) and the body. */
typedef void (*forward_send_cb)(void *arg, long status, const char *body, size_t len);
void forward_send(struct forwarder *f, const char *address, const char *path,
                  const char *idem_key, const char *body, forward_send_cb cb, void *arg);

#endif
