/* Forwarding a request to the leader over HTTP (libcurl's multi interface on the node's libuv
 * loop), and relaying its answer. Connections to the leader are kept alive and reused.
 *
 * Failure modes: the leader cannot be reached (nothing was sent): 503 + Retry-After. The
 * leader was reached but did not answer in forward_timeout_ms or the connection broke: for a
 * write the outcome is unknown (503, retry with the same Idempotency-Key); for a read, 503. */
#ifndef PARLAY_FORWARD_H
#define PARLAY_FORWARD_H

struct forwarder;
struct http_req;
struct node;

struct forwarder *forward_new(struct node *n);
void forward_close(struct forwarder *f);
void forward_request(struct forwarder *f, struct http_req *r, const char *leader_http_address);

#endif
