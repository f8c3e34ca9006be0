#include "consensus/members.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/cmdtable.h"
#include "consensus/store.h"

const struct fsm_domain members_domain;

static MDB_dbi members_db(struct fsm *f)
{
    return fsm_domain_dbis(f, &members_domain)[0];
}

static int addr_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || strlen(s) > 64)
        return 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return *end == 0 && port > 0 && port < 65536;
}

int member_check(json_t *body, char *detail, size_t n)
{
    json_t *id = json_object_get(body, "id");
    json_t *ra = json_object_get(body, "raft_address");
    json_t *ha = json_object_get(body, "http_address");
    if (!json_is_integer(id) || json_integer_value(id) <= 0) {
        snprintf(detail, n, "field 'id' must be a positive integer");
        return -1;
    }
    if (!json_is_string(ra) || !addr_ok(json_string_value(ra))) {
        snprintf(detail, n, "field 'raft_address' must be host:port");
        return -1;
    }
    if (!json_is_string(ha) || !addr_ok(json_string_value(ha))) {
        snprintf(detail, n, "field 'http_address' must be host:port");
        return -1;
    }
    if (json_object_size(body) != 3) {
        snprintf(detail, n, "only 'id', 'raft_address' and 'http_address' are allowed");
        return -1;
    }
    return 0;
}

char *members_cmd_set(struct cmd *c, uint64_t id, const char *raft_address,
                      const char *http_address)
{
    json_t *o = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "raft_address", raft_address,
                          "http_address", http_address);
    return cmd_fill_new(c, CMD_MEMBER_SET, o);
}

static int apply_set(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    char detail[128];
    json_t *body = json_loadb(c->payload, c->payload_len, 0, NULL);
    if (!body || member_check(body, detail, sizeof detail) != 0) {
        fsm_result_problem(res, 422, "Invalid member", "%s", body ? detail : "not JSON");
        json_decref(body);
        return 0;
    }
    uint8_t k8[8];
    char *text;
    store_be64_put(k8, (uint64_t)json_integer_value(json_object_get(body, "id")));
    int rv = store_put_json(txn, members_db(f), k8, 8, body, &text);
    json_decref(body);
    if (rv == 0)
        fsm_result_set(res, 200, text);
    return rv;
}

json_t *member_get(struct fsm *f, MDB_txn *txn, uint64_t id)
{
    uint8_t k8[8];
    store_be64_put(k8, id);
    return store_get_json(txn, members_db(f), k8, 8);
}

json_t *member_list(struct fsm *f, MDB_txn *txn)
{
    json_t *arr = json_array();
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, members_db(f), &cur) != 0)
        return arr;
    MDB_val k, v;
    for (int rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rv == 0;
         rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        json_array_append_new(arr, json_loadb(v.mv_data, v.mv_size, 0, NULL));
    mdb_cursor_close(cur);
    return arr;
}

static const struct fsm_command COMMANDS[] = {
    {CMD_MEMBER_SET, "member_set", true, apply_set, NULL},
    {0, NULL, false, NULL, NULL},
};

static const char *const DBS[] = {"members", NULL};

const struct fsm_domain members_domain = {"members", COMMANDS, DBS};
