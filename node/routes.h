/* Helpers shared by the route handlers. */
#ifndef PARLAY_ROUTES_H
#define PARLAY_ROUTES_H

#include "node/node.h"

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
/* Match "/prefix/{seg}" (returns segment into @seg) exactly. */
bool routes_match1(const char *path, const char *prefix, char *seg, size_t n);

#endif
