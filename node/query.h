/* Strict query parameters: a value that does not fit the handler's buffer is refused (400
 * problem+json, code "query_parameter_too_long", naming the parameter), never taken as absent,
 * so that a filter can never silently widen a query. */
#ifndef PARLAY_QUERY_H
#define PARLAY_QUERY_H

#include <stddef.h>

#include "node/node.h"

/* The percent-decoded value of @key into @out (@n bytes with the NUL): 1 when present, 0 when
 * absent, -1 when it is longer than n - 1 (then the request has been answered with 400). */
int query_param(struct http_req *r, const char *key, char *out, size_t n);

/* Several at once: each entry's @got is set to 1 (present) or 0 (absent). Returns -1 as soon
 * as one is refused (answered), else 0. */
struct query_want {
    const char *key;
    char *out;
    size_t n;
    int got;
};
int query_params(struct http_req *r, struct query_want *w, size_t count);

#endif
