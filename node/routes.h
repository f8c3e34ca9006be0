/* Helpers shared by the route handlers. */
#ifndef PARLAY_ROUTES_H
#define PARLAY_ROUTES_H

#include "node/node.h"

/* Who asked, as a history records it: "kind:id" of the caller routes_require_scope admitted
 * ("admin:token" for the bootstrap token). */
void routes_actor(struct http_req *r, char *out, size_t n);
/* Parse the JSON object body; on failure answer 400/415 and return NULL. */
json_t *routes_body(struct http_req *r);
/* Admit a caller holding @scope (one of operator_scopes): the bootstrap admin token, an
 * operator's access token (aud "parlay-operator") whose scopes include it, or (accounts
 * cluster) a machine token holding it. 401 without valid credentials, 403
 * `insufficient_scope` naming @scope otherwise; true if the caller may go on (and
 * r->actor_kind/actor_id say who). */
bool routes_require_scope(struct http_req *r, const char *scope);
/* Serve a read at the consistency asked for (?consistency=local|linearizable): call @serve
 * now, or after a Raft barrier on the leader, or forward to the leader. */
void routes_read(struct http_req *r, void (*serve)(struct http_req *r));
/* Answer 405 with @hint unless @method is @want; true if it is. */
bool routes_method(struct http_req *r, const char *method, const char *want, const char *hint);
/* An operator's write, the checks before its body: POST only (405 with @hint; @method NULL when
 * the caller checked it), on the leader (a follower forwards the request as it is), an
 * Idempotency-Key in the "admin" namespace (into @idem), then the JSON object body: returned,
 * or NULL once answered. The caller checks the scope first. */
json_t *routes_admin_write(struct http_req *r, const char *method, const char *hint,
                           char idem[256]);
/* Propose command @type / @text (freed here; NULL: out of memory, answered 500 "the @what
 * could not be prepared") through the write path under @idem, fingerprinted by @tag and
 * @subject; the result is relayed as it is. */
void routes_submit(struct http_req *r, uint16_t type, char *text, const char *tag,
                   const char *subject, const char *idem, const char *what);
/* The same fingerprinted by @b's canonical form (@b is dropped here). */
void routes_submit_body(struct http_req *r, uint16_t type, char *text, json_t *b,
                        const char *tag, const char *idem, const char *what);
/* Open a read of the replicated state into @txn (the caller ends it with fsm_read_end); false
 * once 503 is answered. */
bool routes_read_begin(struct http_req* r, MDB_txn** txn);
/* Answer 200 with the object @read builds from the replicated state (given @arg); 503 if the
 * state cannot be read. */
void routes_reply_read(struct http_req* r,
                       json_t* (*read)(struct http_req* r, MDB_txn* txn, const void* arg),
                       const void* arg);
/* A settings route: GET answers @read's object on any node, POST (an operator's write, see
 * routes_admin_write) hands the body to @post, another method is 405 naming @route. */
void routes_settings(struct http_req *r, const char *method, const char *route,
                     const char *scope, json_t *(*read)(struct fsm *f, MDB_txn *txn),
                     void (*post)(struct http_req *r, json_t *b, const char *idem));
/* Match "/prefix/{seg}" (returns segment into @seg) exactly. */
bool routes_match1(const char *path, const char *prefix, char *seg, size_t n);

#endif
