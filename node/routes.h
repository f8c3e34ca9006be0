/* Helpers shared by the route handlers. */
#ifndef PARLAY_ROUTES_H
#define PARLAY_ROUTES_H

#include "node/node.h"

/* Parse the JSON object body; on failure answer 400/415 and return NULL. */
json_t *routes_body(struct http_req *r);
/* Refuse a non-admin caller with 401; returns true if the caller may go on. */
bool routes_require_admin(struct http_req *r);
/* Serve a read at the consistency asked for (?consistency=local|linearizable): call @serve
 * now, or after a Raft barrier on the leader, or forward to the leader. */
void routes_read(struct http_req *r, void (*serve)(struct http_req *r));
/* Answer 405 with @hint unless @method is @want; true if it is. */
bool routes_method(struct http_req *r, const char *method, const char *want, const char *hint);
/* Match "/prefix/{seg}" (returns segment into @seg) exactly. */
bool routes_match1(const char *path, const char *prefix, char *seg, size_t n);

#endif
