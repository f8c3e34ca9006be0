/* Fixtures over HTTP: GET /v1/fixtures, GET /v1/fixtures/{id} (public reads);
 * POST /admin/v1/fixtures and PATCH /admin/v1/fixtures/{id} (admin writes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/fixtures.h"
#include "node/query.h"
#include "node/routes.h"

static void serve_get(struct http_req *r)
{
    char id[FIXTURE_ID_MAX + 2];
    size_t plen = r->req->query_at != SIZE_MAX ? r->req->query_at : r->req->path.len;
    const char *p = r->req->path.base + strlen("/v1/fixtures/");
    size_t len = plen - strlen("/v1/fixtures/");
    snprintf(id, sizeof id, "%.*s", (int)len, p);
    MDB_txn *txn;
    if (fsm_read_begin(r->node->fsm, &txn) != 0) {
        http_problem(r, 500, "Storage error", "the state machine could not be read");
        return;
    }
    json_t *fx = fixture_get(r->node->fsm, txn, id);
    fsm_read_end(txn);
    if (!fx) {
        http_problem(r, 404, "No such fixture", "fixture '%s' does not exist", id);
        return;
    }
    http_reply_json(r, 200, fx);
}

static int time_param(struct http_req *r, const char *key, int64_t *out)
{
    char v[64];
    *out = 0;
    int got = query_param(r, key, v, sizeof v);
    if (got <= 0)
        return got;
    if (fixture_parse_time(v, out) != 0) {
        http_problem(r, 400, "Bad query parameter",
                     "'%s' must be an RFC 3339 time such as 2026-11-28T15:00:00Z", key);
        return -1;
    }
    return 0;
}

static void serve_list(struct http_req *r)
{
    static const char *const known[] = {"sport", "competition", "status", "from", "to",
                                        "limit", "after", "consistency", NULL};
    char sport[64], comp[128], status[32], limit_s[16], after[FIXTURE_ID_MAX + 2];
    struct fixture_filter flt = {0};
    /* Unknown parameters are refused: a typo must not silently widen a query. */
    if (r->req->query_at != SIZE_MAX) {
        const char *q = r->req->path.base + r->req->query_at + 1;
        const char *end = r->req->path.base + r->req->path.len;
        while (q < end) {
            const char *amp = memchr(q, '&', (size_t)(end - q));
            if (!amp)
                amp = end;
            const char *eq = memchr(q, '=', (size_t)(amp - q));
            size_t kl = (size_t)((eq ? eq : amp) - q);
            bool ok = kl == 0;
            for (const char *const *k = known; *k && !ok; k++)
                ok = strlen(*k) == kl && !memcmp(*k, q, kl);
            if (!ok) {
                http_problem(r, 400, "Bad query parameter",
                             "unknown query parameter '%.*s'; known: sport, competition, "
                             "status, from, to, limit, after, consistency",
                             (int)(kl > 64 ? 64 : kl), q);
                return;
            }
            q = amp + 1;
        }
    }
    struct query_want q[] = {{"sport", sport, sizeof sport, 0},
                             {"competition", comp, sizeof comp, 0},
                             {"status", status, sizeof status, 0},
                             {"after", after, sizeof after, 0},
                             {"limit", limit_s, sizeof limit_s, 0}};
    if (query_params(r, q, sizeof q / sizeof *q) < 0)
        return;
    if (q[0].got)
        flt.sport = sport;
    if (q[1].got)
        flt.competition = comp;
    if (q[2].got) {
        if (!fixture_status_valid(status)) {
            http_problem(r, 400, "Bad query parameter",
                         "'status' must be one of scheduled, live, finished, postponed, "
                         "cancelled");
            return;
        }
        flt.status = status;
    }
    if (q[3].got) {
        if (!fixture_id_valid(after, strlen(after))) {
            http_problem(r, 400, "Bad query parameter", "'after' must be a fixture id");
            return;
        }
        flt.after = after;
    }
    flt.limit = 50;
    if (q[4].got) {
        char *e;
        long l = strtol(limit_s, &e, 10);
        if (*e || l < 1 || l > 500) {
            http_problem(r, 400, "Bad query parameter", "'limit' must be an integer from 1 to 500");
            return;
        }
        flt.limit = (unsigned)l;
    }
    if (time_param(r, "from", &flt.from) || time_param(r, "to", &flt.to))
        return;
    MDB_txn *txn;
    if (fsm_read_begin(r->node->fsm, &txn) != 0) {
        http_problem(r, 500, "Storage error", "the state machine could not be read");
        return;
    }
    json_t *out = fixture_list(r->node->fsm, txn, &flt);
    fsm_read_end(txn);
    http_reply_json(r, 200, out);
}

/* Refuse a malformed id in the path (400); true if the id may be used. */
static bool id_ok(struct http_req *r, const char *id)
{
    if (fixture_id_valid(id, strlen(id)))
        return true;
    http_problem(r, 400, "Bad fixture id",
                 "a fixture id is 1 to %d letters, digits, '-', '_' or '.', starting with a "
                 "letter or digit", FIXTURE_ID_MAX);
    return false;
}

/* Check @body (a create when @id is NULL, else an update of fixture @id), then write the
 * command through the one write path. Steals @body. */
static void submit(struct http_req *r, json_t *body, const char *id)
{
    const char *title = id ? "Invalid fixture update" : "Invalid fixture";
    char detail[256];
    int bad;
    if (id) {
        if (json_object_get(body, "id")) {
            json_decref(body);
            http_problem(r, 422, title,
                         "the fixture id comes from the path; do not send 'id' in the body");
            return;
        }
        json_object_set_new(body, "id", json_string(id));
        bad = fixture_check_update(body, detail, sizeof detail);
    } else {
        const char *sport = r->node->cfg.sport[0] ? r->node->cfg.sport : NULL;
        bad = fixture_check_create(body, sport, detail, sizeof detail);
    }
    if (bad != 0) {
        json_decref(body);
        http_problem(r, 422, title, "%s", detail);
        return;
    }
    struct cmd c;
    char *text = id ? fixtures_cmd_update(&c, body) : fixtures_cmd_create(&c, body);
    json_decref(body);
    http_write(r, &c, "admin");
    free(text);
}

static void create(struct http_req *r)
{
    json_t *body = routes_body(r);
    if (body)
        submit(r, body, NULL);
}

static void update(struct http_req *r, const char *id)
{
    json_t *body = routes_body(r);
    if (body)
        submit(r, body, id);
}

int routes_fixtures(struct http_req *r, const char *method, const char *path)
{
    char id[256];
    if (!strcmp(path, "/v1/fixtures")) {
        r->route = ROUTE_FIXTURES_READ;
        if (routes_method(r, method, "GET", "use GET (writes go to /admin/v1/fixtures)"))
            routes_read(r, serve_list);
        return 0;
    }
    if (routes_match1(path, "/v1/fixtures", id, sizeof id)) {
        r->route = ROUTE_FIXTURES_READ;
        if (routes_method(r, method, "GET", "use GET") && id_ok(r, id))
            routes_read(r, serve_get);
        return 0;
    }
    if (!strcmp(path, "/admin/v1/fixtures")) {
        r->route = ROUTE_FIXTURES_WRITE;
        if (!routes_require_scope(r, "bets"))
            return 0;
        if (routes_method(r, method, "POST", "use POST to create a fixture"))
            create(r);
        return 0;
    }
    if (routes_match1(path, "/admin/v1/fixtures", id, sizeof id)) {
        r->route = ROUTE_FIXTURES_WRITE;
        if (!routes_require_scope(r, "bets"))
            return 0;
        if (routes_method(r, method, "PATCH", "use PATCH to change a fixture") && id_ok(r, id))
            update(r, id);
        return 0;
    }
    return -1;
}
