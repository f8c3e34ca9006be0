/* Operators' routes and the audit trail's (node/operators.c). */
#ifndef PARLAY_NODE_OPERATORS_H
#define PARLAY_NODE_OPERATORS_H

#include "node/node.h"

/* GET /admin/v1/audit (both cluster kinds); on the accounts cluster /v1/operators/sessions,
 * /v1/operators/totp[/confirm], /admin/v1/operators[/{id}/disable], /admin/v1/tokens[/{id}].
 * Returns -1 for other paths. */
int routes_operators(struct http_req *r, const char *method, const char *path);

#endif
