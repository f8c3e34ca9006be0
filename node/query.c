/* Strict query parameters (see query.h). http_query_get() answers "not there" both for an
 * absent parameter and for one too long for the buffer; a parser that took the second for
 * the first dropped the filter (a 49-character status returned every fixture). */
#include "node/query.h"

#include <stdlib.h>

#include "node/http_guard.h"

int query_param(struct http_req *r, const char *key, char *out, size_t n)
{
    if (http_query_get(r, key, out, n))
        return 1;
    if (!r->req || r->req->query_at == SIZE_MAX)
        return 0;
    /* Not taken: absent, or too long. A decoded value is never longer than the raw query. */
    size_t cap = r->req->path.len + 1;
    char *big = malloc(cap);
    bool present = big && http_query_get(r, key, big, cap);
    free(big);
    if (!present)
        return 0;
    http_guard_problem(r, 400, "Bad query parameter", "query_parameter_too_long",
                       "query parameter '%s' is longer than %zu characters: it cannot be "
                       "honoured, and is refused rather than ignored",
                       key, n - 1);
    return -1;
}

int query_params(struct http_req *r, struct query_want *w, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if ((w[i].got = query_param(r, w[i].key, w[i].out, w[i].n)) < 0)
            return -1;
    return 0;
}
