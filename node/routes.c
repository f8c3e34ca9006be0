/* Public routes (health, readiness, metrics) and the shared route helpers. */
#include "node/routes.h"
#include "node/accounts_common.h"
#include "node/query.h"
#include "node/write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void routes_actor(struct http_req *r, char *out, size_t n)
{
    snprintf(out, n, "%s:%s", r->actor_kind[0] ? r->actor_kind : "admin",
             r->actor_id[0] ? r->actor_id : "token");
}

json_t *routes_body(struct http_req *r)
{
    char ct[128];
    if (http_header_get(r, "content-type", ct, sizeof ct) &&
        strncasecmp(ct, "application/json", 16) != 0) {
        http_problem(r, 415, "Unsupported media type",
                     "the body must be application/json, not %s", ct);
        return NULL;
    }
    if (!r->req->entity.base || r->req->entity.len == 0) {
        http_problem(r, 400, "Body required", "this request needs a JSON object body");
        return NULL;
    }
    json_error_t je;
    json_t *body = json_loadb(r->req->entity.base, r->req->entity.len, JSON_REJECT_DUPLICATES,
                              &je);
    if (!body) {
        http_problem(r, 400, "Malformed JSON", "line %d, column %d: %s", je.line, je.column,
                     je.text);
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        http_problem(r, 400, "Malformed request", "the body must be a JSON object");
        return NULL;
    }
    return body;
}

struct read_wait {
    struct http_req *r;
    void (*serve)(struct http_req *r);
};

static void after_barrier(void *arg, int outcome, const char *detail)
{
    struct read_wait *w = arg;
    struct http_req *r = w->r;
    void (*serve)(struct http_req *) = w->serve;
    free(w);
    if (!r->req) /* the client went away while we waited */
        http_release(r);
    else if (outcome == REPLICA_OK)
        serve(r);
    else if (outcome == REPLICA_NOTLEADER)
        http_forward_to_leader(r);
    else
        http_reply_outcome(r, outcome == REPLICA_UNKNOWN ? REPLICA_FAILED : outcome,
                           detail ? detail : "the linearizable read could not be confirmed");
}

void routes_read(struct http_req *r, void (*serve)(struct http_req *r))
{
    char c[32];
    int got = query_param(r, "consistency", c, sizeof c); /* too long: refused, not "local" */
    if (got < 0)
        return;
    if (!got || !strcmp(c, "local")) {
        serve(r);
        return;
    }
    if (strcmp(c, "linearizable") != 0) {
        http_problem(r, 400, "Bad query parameter",
                     "'consistency' must be 'local' or 'linearizable', not '%s'", c);
        return;
    }
    if (!replica_is_leader(r->node->replica)) {
        http_forward_to_leader(r);
        return;
    }
    struct read_wait *w = malloc(sizeof *w);
    w->r = r;
    w->serve = serve;
    replica_barrier(r->node->replica, after_barrier, w);
}

bool routes_method(struct http_req *r, const char *method, const char *want, const char *hint)
{
    if (!strcmp(method, want))
        return true;
    http_header(r, "allow", want);
    http_problem(r, 405, "Method not allowed", "%s", hint);
    return false;
}

json_t *routes_admin_write(struct http_req *r, const char *method, const char *hint,
                           char idem[256])
{
    if ((method && !routes_method(r, method, "POST", hint)) || !acc_on_leader(r) ||
        !acc_idem_key(r, "admin", idem))
        return NULL;
    return routes_body(r);
}

void routes_submit(struct http_req *r, uint16_t type, char *text, const char *tag,
                   const char *subject, const char *idem, const char *what)
{
    uint8_t fp[32];
    acc_fingerprint(tag, subject, fp);
    if (text)
        write_submit(r, type, text, strlen(text), idem, fp, acc_relay_done, NULL);
    else
        http_problem(r, 500, "Out of memory", "the %s could not be prepared", what);
    free(text);
}

void routes_submit_body(struct http_req *r, uint16_t type, char *text, json_t *b,
                        const char *tag, const char *idem, const char *what)
{
    char *canon = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(b);
    routes_submit(r, type, text, tag, canon ? canon : "", idem, what);
    free(canon);
}

bool routes_read_begin(struct http_req* r, MDB_txn** txn)
{
    if (fsm_read_begin(r->node->fsm, txn) == 0)
        return true;
    http_problem(r, 503, "Unavailable", "the state could not be read");
    return false;
}

void routes_reply_read(struct http_req* r,
                       json_t* (*read)(struct http_req* r, MDB_txn* txn, const void* arg),
                       const void* arg)
{
    MDB_txn* txn;
    if (!routes_read_begin(r, &txn))
        return;
    json_t* out = read(r, txn, arg);
    fsm_read_end(txn);
    http_reply_json(r, 200, out);
}

void routes_settings(struct http_req *r, const char *method, const char *route,
                     const char *scope, json_t *(*read)(struct fsm *f, MDB_txn *txn),
                     void (*post)(struct http_req *r, json_t *b, const char *idem))
{
    if (!routes_require_scope(r, scope))
        return;
    if (!strcmp(method, "GET")) {
        MDB_txn *txn;
        if (!routes_read_begin(r, &txn))
            return;
        json_t *out = read(r->node->fsm, txn);
        fsm_read_end(txn);
        http_reply_json(r, 200, out);
        return;
    }
    if (strcmp(method, "POST") != 0) {
        http_header(r, "allow", "GET, POST");
        http_problem(r, 405, "Method not allowed", "%s takes GET or POST", route);
        return;
    }
    char idem[256];
    json_t *b = routes_admin_write(r, NULL, NULL, idem);
    if (b)
        post(r, b, idem);
}

bool routes_match1(const char *path, const char *prefix, char *seg, size_t n)
{
    size_t pl = strlen(prefix);
    if (strncmp(path, prefix, pl) != 0 || path[pl] != '/' || !path[pl + 1])
        return false;
    const char *s = path + pl + 1;
    if (strchr(s, '/') || strlen(s) >= n)
        return false;
    strcpy(seg, s);
    return true;
}

static void serve_metrics(struct http_req *r)
{
    struct node *n = r->node;
    struct raft *raft = replica_raft(n->replica);
    size_t len = 0, cap = 8192;
    char *buf = malloc(cap);
    size_t used, map, quota;
    fsm_space(n->fsm, &used, &map, &quota);
    uint64_t leader = replica_leader(n->replica, NULL, 0);
    const struct metric ms[] = {
        {"parlay_raft_term", METRIC_GAUGE, raft_current_term(raft)},
        {"parlay_raft_commit_index", METRIC_GAUGE, raft_commit_index(raft)},
        {"parlay_raft_applied_index", METRIC_GAUGE, raft_last_applied(raft)},
        {"parlay_raft_last_index", METRIC_GAUGE, raft_last_index(raft)},
        {"parlay_raft_leader", METRIC_GAUGE, leader},
        {"parlay_raft_is_leader", METRIC_GAUGE, replica_is_leader(n->replica) ? 1 : 0},
        {"parlay_fsm_apply_errors_total", METRIC_COUNTER, fsm_apply_errors(n->fsm)},
        {"parlay_fsm_snapshots_total", METRIC_COUNTER, fsm_snapshots_taken(n->fsm)},
        {"parlay_lmdb_writeback_passes_total", METRIC_COUNTER, fsm_writeback_passes(n->fsm)},
        {"parlay_lmdb_used_bytes", METRIC_GAUGE, used},
        {"parlay_lmdb_map_bytes", METRIC_GAUGE, map},
        {"parlay_lmdb_quota_bytes", METRIC_GAUGE, quota},
    };
    METRICS_PUT(&buf, &len, &cap, ms);
    metrics_render(&n->metrics, &buf, &len, &cap);
    agree_metrics(n, &buf, &len, &cap);
    quote_metrics(n, &buf, &len, &cap);
    wallet_metrics(n, &buf, &len, &cap);
    oracle_metrics(n, &buf, &len, &cap);
    governor_metrics(n, &buf, &len, &cap);
    stream_metrics(n, &buf, &len, &cap);
    http_reply(r, 200, "text/plain; version=0.0.4", buf, len);
    free(buf);
}

int routes_public(struct http_req *r, const char *method, const char *path)
{
    struct node *n = r->node;
    if (!strcmp(path, "/healthz")) {
        r->route = ROUTE_HEALTH;
        if (routes_method(r, method, "GET", "use GET"))
            http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
        return 0;
    }
    if (!strcmp(path, "/readyz")) {
        r->route = ROUTE_HEALTH;
        uint64_t leader = replica_leader(n->replica, NULL, 0);
        struct raft *raft = replica_raft(n->replica);
        /* raft's applied index, not the state machine's: barriers and configuration entries
         * move the former only. */
        bool caught_up = raft_last_applied(raft) >= raft_commit_index(raft);
        if (leader == 0 || !caught_up) {
            http_header(r, "retry-after", "1");
            http_problem(r, 503, "Not ready",
                         leader == 0 ? "no leader is known" : "still applying the log");
            return 0;
        }
        http_reply_json(r, 200, json_pack("{s:s, s:I}", "status", "ready", "leader",
                                          (json_int_t)leader));
        return 0;
    }
    if (!strcmp(path, "/metrics")) {
        r->route = ROUTE_METRICS;
        serve_metrics(r);
        return 0;
    }
    return -1;
}
