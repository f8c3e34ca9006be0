/* Forwarding a request to the leader over HTTP (libcurl's multi interface on the node's libuv
 * loop), and relaying its answer. Connections to the leader are kept alive and reused.
 *
 * Failure modes: the leader cannot be reached (nothing was sent): 503 + Retry-After. The
 * leader was reached but did not answer in forward_timeout_ms or the connection broke: for a
 * write the outcome is unknown (503, retry with the same Idempotency-Key); for a read, 503. */
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

/* POST @body (JSON) to @path on the leader with the node's admin token and @idem_key, and hand
 * the answer to @done instead of relaying it. @status is the leader's HTTP status, 0 when the
 * leader could not be reached (nothing sent) and -1 when the outcome is unknown (sent, no
 * answer). Used by the accounts routes to propose a command prepared on this node. */
typedef void (*forward_done_cb)(struct http_req *r, long status, const char *body, size_t len,
                                const char *retry_after, bool replayed);
void forward_post(struct forwarder *f, struct http_req *r, const char *leader_http_address,
                  const char *path, const char *idem_key, const char *body,
                  forward_done_cb done);

/* POST @body (JSON) to @path on the node at @address (with the admin token and, if not NULL,
 * @idem_key) on the node's own behalf: no client request is behind it. @cb gets the status
 * as for forward_post (0: not reached, -1: no answer) and the body. */
typedef void (*forward_send_cb)(void *arg, long status, const char *body, size_t len);
void forward_send(struct forwarder *f, const char *address, const char *path,
                  const char *idem_key, const char *body, forward_send_cb cb, void *arg);

#endif
