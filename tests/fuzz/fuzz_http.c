/* Fuzz target: what the HTTP layer reads from a request before a handler runs, without h2o's
 * server: a request object is laid out here as h2o 2.2.5 lays it out (the HTTP/1 connection
 * holding the socket pointer and then the request; the socket's input buffer holding the raw
 * head) and handed to the project's functions:
 *   - query parameters (node/query.c over http.c's http_query_get) for the keys the routes
 *     use, at several buffer sizes: a value that does not fit is refused with 400
 *     query_parameter_too_long, never taken as absent; a taken value fits its buffer;
 *   - the request body as every JSON route reads it (routes_body: media type, presence,
 *     JSON, an object);
 *   - the framing guard (http_guard_refuse) on the raw head;
 *   - http_header_get.
 * Every answer goes through h2o_send_inline, which this file replaces (the executable's
 * definition wins over libh2o's) to check it: a status, JSON, problem+json with a title and a
 * detail for 4xx.
 *
 * Input: "target\ncontent-type\nraw request (head, blank line, body)". */
#include <jansson.h>
#include <string.h>

#include "common/log.h"
#include "node/http_guard.h"
#include "node/node.h"
#include "node/query.h"
#include "node/routes.h"
#include "tests/fuzz/fuzz.h"

static struct node *node;

struct answer {
    int count, status;
};
static struct answer answer;

/* Replaces libh2o's: the end of every reply (http.c's http_reply). */
void h2o_send_inline(h2o_req_t *req, const char *body, size_t len)
{
    answer.count++;
    answer.status = req->res.status;
    FUZZ_CHECK(req->res.status >= 200 && req->res.status <= 599, "status %d", req->res.status);
    ssize_t ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    FUZZ_CHECK(ct >= 0, "an answer without a content type");
    json_error_t je;
    json_t *j = json_loadb(body, len, JSON_ALLOW_NUL, &je); /* "\u0000" is valid JSON */
    FUZZ_CHECK(json_is_object(j), "answer %d is not a JSON object: %.*s (%s)", req->res.status,
               (int)(len > 300 ? 300 : len), body, je.text);
    if (req->res.status >= 400) {
        h2o_iovec_t v = req->res.headers.entries[ct].value;
        FUZZ_CHECK(v.len == 24 && !memcmp(v.base, "application/problem+json", 24),
                   "a refusal not in problem+json");
        FUZZ_CHECK(json_is_string(json_object_get(j, "title")) &&
                       json_is_string(json_object_get(j, "detail")) &&
                       json_integer_value(json_object_get(j, "status")) == req->res.status,
                   "a problem without title, detail or its status");
    }
    json_decref(j);
}

/* h2o 2.2.5's HTTP/1 connection: the public part, the socket, then (further on) the request. */
struct fake_conn {
    h2o_conn_t super;
    h2o_socket_t *sock;
    char other[64];
    h2o_req_t req;
};

struct fake {
    struct fake_conn conn;
    h2o_socket_t sock;
    h2o_buffer_t *input;
    char *target, *raw;
};

static struct http_req *request(struct fake *f)
{
    struct http_req *r = calloc(1, sizeof *r);
    r->req = &f->conn.req;
    r->node = node;
    r->refs = 1;
    return r;
}

/* A reply releases the request; one that was not answered is released here. */
static void done(struct http_req *r, int answered_before)
{
    if (answer.count == answered_before)
        http_release(r);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    log_init(0, getenv("PARLAY_TEST_LOG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR + 1);
    node = calloc(1, sizeof *node);
    return 0;
}

static const char *const KEYS[] = {"status", "from", "to", "limit", "after", "before", "fixture",
                                   "player", "since", "competition", "sport", "code", "id",
                                   "over_cap", "cursor", ""};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    const uint8_t *t, *c;
    size_t tl = fuzz_part(&in, '\n', &t), cl = fuzz_part(&in, '\n', &c);
    struct fake *f = calloc(1, sizeof *f);
    h2o_req_t *req = &f->conn.req;
    h2o_mem_init_pool(&req->pool);
    req->conn = &f->conn.super;
    req->version = 0x101;
    f->conn.sock = &f->sock;
    f->sock.data = &f->conn.super;
    f->target = fuzz_strndup(t, tl);
    req->path = h2o_iovec_init(f->target, tl);
    const char *q = memchr(f->target, '?', tl);
    req->query_at = q ? (size_t)(q - f->target) : SIZE_MAX;
    if (cl) {
        char *ct = fuzz_strndup(c, cl);
        h2o_add_header(&req->pool, &req->headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       h2o_strdup(&req->pool, ct, cl).base, cl);
        free(ct);
    }
    /* The raw request: the head in the connection's input buffer, the body after it. */
    f->raw = malloc(in.n ? in.n : 1);
    memcpy(f->raw, in.p, in.n);
    f->input = calloc(1, sizeof *f->input);
    f->input->bytes = f->raw;
    f->input->size = in.n;
    f->input->capacity = in.n;
    f->sock.input = f->input;
    const char *blank = in.n >= 4 ? memmem(f->raw, in.n, "\r\n\r\n", 4) : NULL;
    if (blank)
        req->entity = h2o_iovec_init(blank + 4, in.n - (size_t)(blank + 4 - f->raw));
    else if (in.n)
        req->entity = h2o_iovec_init(f->raw, in.n);

    static const size_t SIZES[] = {2, 9, 65, 257};
    for (size_t k = 0; KEYS[k][0]; k++)
        for (size_t s = 0; s < sizeof SIZES / sizeof *SIZES; s++) {
            char *out = malloc(SIZES[s]);
            struct http_req *r = request(f);
            int before = answer.count;
            int got = query_param(r, KEYS[k], out, SIZES[s]);
            if (got < 0) {
                FUZZ_CHECK(answer.count == before + 1 && answer.status == 400,
                           "a refused parameter not answered 400");
            } else {
                FUZZ_CHECK(answer.count == before, "answered without a refusal");
                if (got == 1)
                    FUZZ_CHECK(strlen(out) < SIZES[s], "a value past its buffer");
                done(r, before);
            }
            free(out);
        }

    struct http_req *r = request(f);
    int before = answer.count;
    json_t *body = routes_body(r);
    if (body) {
        FUZZ_CHECK(json_is_object(body) && answer.count == before, "a body and an answer");
        json_decref(body);
        done(r, before);
    } else {
        FUZZ_CHECK(answer.count == before + 1 && answer.status >= 400 && answer.status < 500,
                   "a refused body not answered 4xx");
    }

    r = request(f);
    before = answer.count;
    if (http_guard_refuse(r))
        FUZZ_CHECK(answer.count == before + 1 && answer.status == 400,
                   "ambiguous framing not answered 400");
    else
        done(r, before);

    r = request(f);
    char v[32];
    if (http_header_get(r, "content-type", v, sizeof v))
        FUZZ_CHECK(strlen(v) < sizeof v, "header past its buffer");
    http_release(r);

    h2o_mem_clear_pool(&req->pool);
    free(f->input);
    free(f->raw);
    free(f->target);
    free(f);
    return 0;
}
