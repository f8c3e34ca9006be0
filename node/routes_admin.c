/* The admin API (bearer admin token): node and cluster status, membership, leadership
 * transfer, snapshot now.
 *
 * Adding a node is three calls, which `parlayctl add` makes and waits on: POST
 * /admin/v1/members records its addresses in the replicated member table and adds it as a
 * spare; PUT .../role standby makes the leader replicate the log (or a snapshot) to it; once
 * its match index has caught up, PUT .../role voter promotes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/members.h"
#include "node/http_guard.h"
#include "node/routes.h"
#include "node/write.h"

static const char *role_name(int role)
{
    switch (role) {
    case RAFT_VOTER: return "voter";
    case RAFT_STANDBY: return "standby";
    case RAFT_SPARE: return "spare";
    default: return "unknown";
    }
}

json_t *node_status(struct node *n, bool with_progress)
{
    struct raft *raft = replica_raft(n->replica);
    char leader_http[64];
    uint64_t leader = replica_leader(n->replica, leader_http, sizeof leader_http);
    size_t used, map, quota;
    fsm_space(n->fsm, &used, &map, &quota);
    json_t *o = json_pack(
        "{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:{s:I, s:I, s:I}}",
        "id", (json_int_t)n->cfg.node_id, "cluster", n->cfg.cluster, "role", n->cfg.role, "state",
        raft_state_name(raft_state(raft)), "term", (json_int_t)raft_current_term(raft),
        "commit_index", (json_int_t)raft_commit_index(raft), "last_index",
        (json_int_t)raft_last_index(raft), "last_applied", (json_int_t)raft_last_applied(raft),
        "raft_address", n->cfg.raft_address, "http_address", n->cfg.http_address, "public_key",
        n->public_key, "snapshots", (json_int_t)fsm_snapshots_taken(n->fsm), "apply_errors",
        (json_int_t)fsm_apply_errors(n->fsm), "space", "used_bytes", (json_int_t)used,
        "map_bytes", (json_int_t)map, "quota_bytes", (json_int_t)quota);
    json_object_set_new(o, "fsm_applied", json_integer((json_int_t)fsm_last_applied(n->fsm)));
    json_object_set_new(o, "observations", agree_status(n));
    json_object_set_new(o, "quotes", quote_status(n));
    json_object_set_new(o, "oracle", oracle_status(n));
    json_object_set_new(o, "leader",
                        leader ? json_pack("{s:I, s:s}", "id", (json_int_t)leader,
                                           "http_address", leader_http)
                               : json_null());
    json_t *members = json_array();
    MDB_txn *txn = NULL;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        txn = NULL;
    bool leading = replica_is_leader(n->replica);
    for (unsigned i = 0; i < raft->configuration.n; i++) {
        struct raft_server *s = &raft->configuration.servers[i];
        json_t *m = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)s->id, "raft_address",
                              s->address, "role", role_name(s->role));
        json_t *info = txn ? member_get(n->fsm, txn, s->id) : NULL;
        if (info)
            json_object_set(m, "http_address", json_object_get(info, "http_address"));
        json_decref(info);
        if (with_progress && leading) {
            raft_index match = 0;
            if (s->id == n->cfg.node_id)
                match = raft_last_index(raft);
            else if (raft_match_index(raft, s->id, &match) != 0)
                match = 0;
            json_object_set_new(m, "match_index", json_integer((json_int_t)match));
            json_object_set_new(m, "lag", json_integer((json_int_t)(raft_last_index(raft) - match)));
        }
        json_array_append_new(members, m);
    }
    if (txn)
        fsm_read_end(txn);
    json_object_set_new(o, "members", members);
    return o;
}

static void serve_cluster(struct http_req *r)
{
    http_reply_json(r, 200, node_status(r->node, true));
}

/* ---- membership ---- */

struct member_op {
    struct http_req *r;
    uint64_t id;
    char raft_address[64];
    int role;
};

static void change_done(void *arg, int outcome, const char *detail)
{
    struct member_op *op = arg;
    struct http_req *r = op->r;
    if (outcome == REPLICA_OK) {
        json_t *o = node_status(r->node, true);
        json_object_set_new(o, "changed", json_integer((json_int_t)op->id));
        http_reply_json(r, 200, o);
    } else if (outcome == REPLICA_NOTLEADER) {
        http_forward_to_leader(r);
    } else if (detail && (strstr(detail, "already") || strstr(detail, "duplicate") ||
                          strstr(detail, "role"))) {
        http_problem(r, 409, "Membership change refused", "member %llu: %s",
                     (unsigned long long)op->id, detail);
    } else if (detail && strstr(detail, "server ID")) {
        http_problem(r, 404, "No such member", "member %llu: %s", (unsigned long long)op->id,
                     detail);
    } else {
        http_reply_outcome(r, outcome, detail);
    }
    free(op);
}

static void added_info(void *arg, int outcome, const struct fsm_result *res)
{
    struct member_op *op = arg;
    if (outcome != REPLICA_OK || res->status >= 300) {
        change_done(op, outcome == REPLICA_OK ? REPLICA_FAILED : outcome,
                    res && res->body ? res->body : NULL);
        return;
    }
    replica_add(op->r->node->replica, op->id, op->raft_address, change_done, op);
}

static void member_add(struct http_req *r)
{
    json_t *body = routes_body(r);
    if (!body)
        return;
    char detail[200];
    if (member_check(body, detail, sizeof detail) != 0) {
        json_decref(body);
        http_problem(r, 422, "Invalid member", "%s", detail);
        return;
    }
    const char *ra = json_string_value(json_object_get(body, "raft_address"));
    if (!config_addr_ok(ra) ||
        !config_addr_ok(json_string_value(json_object_get(body, "http_address")))) {
        json_decref(body);
        http_problem(r, 422, "Invalid member",
                     "addresses must be IPv4 with a port, e.g. 127.0.0.1:7004");
        return;
    }
    uint64_t id = (uint64_t)json_integer_value(json_object_get(body, "id"));
    struct raft *raft = replica_raft(r->node->replica);
    for (unsigned i = 0; i < raft->configuration.n; i++)
        if (raft->configuration.servers[i].id == id) {
            json_decref(body);
            http_problem(r, 409, "Member exists", "member %llu is already in the cluster",
                         (unsigned long long)id);
            return;
        }
    if (!replica_is_leader(r->node->replica)) {
        json_decref(body);
        http_forward_to_leader(r);
        return;
    }
    struct member_op *op = calloc(1, sizeof *op);
    op->r = r;
    op->id = id;
    snprintf(op->raft_address, sizeof op->raft_address, "%s", ra);
    struct cmd c;
    char *text =
        members_cmd_set(&c, id, ra, json_string_value(json_object_get(body, "http_address")));
    json_decref(body);
    char *wrapped = write_admin_wrap(r, c.type, c.payload, c.payload_len);
    if (wrapped) { /* audited (consensus/operators.c) */
        c.type = CMD_ADMIN;
        c.payload = wrapped;
        c.payload_len = strlen(wrapped);
    }
    int rv = replica_propose(r->node->replica, &c, added_info, op);
    free(wrapped);
    free(text);
    if (rv != REPLICA_OK) {
        free(op);
        if (rv == REPLICA_NOTLEADER)
            http_forward_to_leader(r);
        else
            http_reply_outcome(r, rv, NULL);
    }
}

static bool parse_id(struct http_req *r, const char *s, uint64_t *id)
{
    char *e;
    unsigned long long v = strtoull(s, &e, 10);
    if (!*s || *e || v == 0 || v > UINT32_MAX) {
        http_problem(r, 400, "Bad member id", "'%s' is not a member id (a positive integer)", s);
        return false;
    }
    *id = v;
    return true;
}

/* Membership changes happen on the leader: forward there (NULL) or start an operation. */
static struct member_op *leader_op(struct http_req *r, uint64_t id)
{
    if (!replica_is_leader(r->node->replica)) {
        http_forward_to_leader(r);
        return NULL;
    }
    struct member_op *op = calloc(1, sizeof *op);
    op->r = r;
    op->id = id;
    return op;
}

static void member_role(struct http_req *r, uint64_t id)
{
    json_t *body = routes_body(r);
    if (!body)
        return;
    json_t *role = json_object_get(body, "role");
    int rr = -1;
    if (json_is_string(role)) {
        const char *s = json_string_value(role);
        rr = !strcmp(s, "voter") ? RAFT_VOTER
             : !strcmp(s, "standby") ? RAFT_STANDBY
             : !strcmp(s, "spare") ? RAFT_SPARE
                                   : -1;
    }
    if (rr < 0 || json_object_size(body) != 1) {
        json_decref(body);
        http_problem(r, 422, "Invalid role",
                     "the body must be {\"role\": \"voter\" | \"standby\" | \"spare\"}");
        return;
    }
    json_decref(body);
    struct member_op *op = leader_op(r, id);
    if (op)
        replica_assign(r->node->replica, id, rr, change_done, op);
}

static void member_remove(struct http_req *r, uint64_t id)
{
    struct member_op *op = leader_op(r, id);
    if (op)
        replica_remove(r->node->replica, id, change_done, op);
}

static void transfer(struct http_req *r)
{
    uint64_t to = 0;
    if (r->req->entity.base && r->req->entity.len) {
        json_t *body = routes_body(r);
        if (!body)
            return;
        json_t *v = json_object_get(body, "to");
        if ((v && (!json_is_integer(v) || json_integer_value(v) < 0)) ||
            json_object_size(body) > (v ? 1u : 0u)) {
            json_decref(body);
            http_problem(r, 422, "Invalid transfer",
                         "the body must be {\"to\": <member id>} or empty (any voter)");
            return;
        }
        to = v ? (uint64_t)json_integer_value(v) : 0;
        json_decref(body);
    }
    struct member_op *op = leader_op(r, to);
    if (op)
        replica_transfer(r->node->replica, to, change_done, op);
}

static void snapshot_done(void *arg, int outcome, const char *detail)
{
    struct http_req *r = arg;
    if (outcome == REPLICA_OK)
        http_reply_json(r, 200, node_status(r->node, false));
    else if (outcome == REPLICA_NOTLEADER)
        http_forward_to_leader(r);
    else
        http_reply_outcome(r, outcome, detail);
}

/* POST /admin/v1/test/clock {offset_ms}: tests only. Shifts the time this node stamps on the
 * commands it proposes as leader (replica_now_ms), so that an integration test can reach the
 * 48-hour and two-month rules without waiting. Refused (403 test_clock_disabled) unless the
 * node's configuration sets "test_clock": true; never in production configurations. */
static void test_clock(struct http_req *r, const char *method)
{
    if (!routes_method(r, method, "POST", "use POST"))
        return;
    if (!r->node->cfg.test_clock) {
        http_guard_problem(r, 403, "Test clock disabled", "test_clock_disabled",
                           "this node's configuration does not set \"test_clock\": true");
        return;
    }
    json_t *b = routes_body(r);
    if (!b)
        return;
    json_t *v = json_object_get(b, "offset_ms");
    if (!json_is_integer(v) || json_object_size(b) != 1 ||
        llabs((long long)json_integer_value(v)) > 10LL * 366 * 24 * 3600 * 1000) {
        http_guard_problem(r, 422, "Invalid clock offset", "invalid_clock_offset",
                           "need {offset_ms: an integer of at most ten years either way}");
        json_decref(b);
        return;
    }
    replica_set_clock_offset(r->node->replica, (int64_t)json_integer_value(v));
    http_reply_json(r, 200, json_pack("{s:O, s:I}", "offset_ms", v, "now_ms",
                                      (json_int_t)replica_now_ms(r->node->replica)));
    json_decref(b);
}

int routes_admin(struct http_req *r, const char *method, const char *path)
{
    char seg[64], idbuf[32];
    uint64_t id;
    if (strncmp(path, "/admin/v1/", 10) != 0)
        return -1;
    r->route = ROUTE_ADMIN;
    if (!routes_require_scope(r, "cluster"))
        return 0;
    if (!strcmp(path, "/admin/v1/test/clock")) {
        test_clock(r, method);
        return 0;
    }
    if (!strcmp(path, "/admin/v1/node")) {
        if (routes_method(r, method, "GET", "use GET"))
            http_reply_json(r, 200, node_status(r->node, replica_is_leader(r->node->replica)));
        return 0;
    }
    if (!strcmp(path, "/admin/v1/cluster")) {
        if (routes_method(r, method, "GET", "use GET")) {
            if (replica_is_leader(r->node->replica))
                serve_cluster(r);
            else
                http_forward_to_leader(r);
        }
        return 0;
    }
    if (!strcmp(path, "/admin/v1/members")) {
        if (!strcmp(method, "POST"))
            member_add(r);
        else if (!strcmp(method, "GET")) {
            json_t *st = node_status(r->node, false);
            json_t *m = json_incref(json_object_get(st, "members"));
            json_decref(st);
            http_reply_json(r, 200, m);
        }
        else
            http_problem(r, 405, "Method not allowed", "use GET or POST");
        return 0;
    }
    const char *rolep = strstr(path, "/role");
    if (!strncmp(path, "/admin/v1/members/", 18) && rolep && !strcmp(rolep, "/role") &&
        (size_t)(rolep - path - 18) < sizeof idbuf) {
        snprintf(idbuf, sizeof idbuf, "%.*s", (int)(rolep - path - 18), path + 18);
        if (routes_method(r, method, "PUT", "use PUT") && parse_id(r, idbuf, &id))
            member_role(r, id);
        return 0;
    }
    if (routes_match1(path, "/admin/v1/members", seg, sizeof seg)) {
        if (routes_method(r, method, "DELETE", "use DELETE to remove a member") &&
            parse_id(r, seg, &id))
            member_remove(r, id);
        return 0;
    }
    if (!strcmp(path, "/admin/v1/leadership")) {
        if (routes_method(r, method, "POST", "use POST"))
            transfer(r);
        return 0;
    }
    if (!strcmp(path, "/admin/v1/snapshot")) {
        if (!routes_method(r, method, "POST", "use POST"))
            return 0;
        int rv = replica_snapshot_now(r->node->replica, snapshot_done, r);
        if (rv == REPLICA_NOTLEADER)
            http_forward_to_leader(r);
        else if (rv != REPLICA_OK)
            http_reply_outcome(r, rv, rv == REPLICA_BUSY ? "a snapshot is already running" : NULL);
        return 0;
    }
    http_problem(r, 404, "Not found", "no admin resource at %s", path);
    return 0;
}
