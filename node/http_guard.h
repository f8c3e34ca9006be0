/* Request framing guards that h2o 2.2.5 leaves to us (see http_guard.c): bodies over
 * max_body_bytes refused before they are read, h2o's own error answers turned into
 * problem+json, request-smuggling shapes refused with the connection closed, and the HTTP/1
 * connection's socket for handlers that must notice a client going away (the quote stream). */
#ifndef PARLAY_HTTP_GUARD_H
#define PARLAY_HTTP_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "node/node.h"

/* Sets h2o's entity limit to @max_body (a Content-Length above it gets 413 before one byte of
 * the body is read; a chunked body is cut as soon as it crosses it) and installs, on @host and
 * @path, the filter that answers h2o's own errors in problem+json. */
void http_guard_setup(h2o_globalconf_t *g, h2o_hostconf_t *host, h2o_pathconf_t *path,
                      size_t max_body);

/* Refuses a request whose framing is ambiguous (Content-Length together with
 * Transfer-Encoding, or Content-Length headers that disagree): 400 problem+json, and the
 * connection is closed after the answer so that no byte after it is parsed as a request.
 * Returns true when it answered. */
bool http_guard_refuse(struct http_req *r);

/* The socket of @req's HTTP/1 connection, or NULL (HTTP/2, or a layout it does not
 * recognise). */
h2o_socket_t *http_guard_socket(h2o_req_t *req);

/* A problem+json answer with a stable machine-readable "code" besides the title and detail. */
void http_guard_problem(struct http_req *r, int status, const char *title, const char *code,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
