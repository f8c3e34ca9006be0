/* Secrets at rest on an accounts node (common/seal.h): the signing keys' private scalars and
 * the players' TOTP secrets and URIs are sealed by the node that makes them, before they are
 * proposed, so the Raft log, the snapshots, the LMDB files and the idempotency records hold
 * ciphertext only. This file is the operator's side of it:
 *
 *   GET  /admin/v1/secrets         (admin)  how many stored secrets are sealed under which key,
 *                                           how many are still clear (stored before sealing)
 *                                           and how many this node's keyring cannot open
 *   POST /admin/v1/secrets/reseal  (admin, Idempotency-Key; made on the leader)  seal again,
 *                                  under the keyring's first key, up to 64 values sealed under
 *                                  another key or still clear; answers {resealed, skipped,
 *                                  remaining, unreadable}: call again until remaining is 0
 *                                  (`parlayctl secrets reseal` does)
 *
 * Key rotation: put the new key first in every accounts node's secrets_key_file, keep the old
 * one below it, restart the nodes one by one, reseal until nothing remains, then drop the old
 * key from the files. A value is replaced only while it still holds what the leader read
 * (CMD_SECRETS_RESEAL in consensus/accounts.c), so a reseal never undoes a new enrolment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/seal.h"
#include "node/accounts_common.h"
#include "node/routes.h"

/* The context a stored secret is sealed under (node/routes_tokens.c, node/routes_totp.c). */
static void context_of(json_t *it, char aad[160])
{
    const char *table = json_string_value(json_object_get(it, "table"));
    const char *field = json_string_value(json_object_get(it, "field"));
    const char *id = json_string_value(json_object_get(it, "id"));
    if (!strcmp(table, "totp"))
        snprintf(aad, 160, "totp-%s:%s", field, id);
    else
        snprintf(aad, 160, "signing-key:%s", id);
}

/* Every stored secret, with its value and the id of the key it is sealed under ("" when
 * clear), to @visit; false (answered 500) when the state machine could not be read. */
static bool census(struct http_req *r,
                   void (*visit)(struct node *n, json_t *it, const char *v, const char *kid,
                                 void *ctx),
                   void *ctx)
{
    MDB_txn *txn;
    json_t *all = NULL;
    if (fsm_read_begin(r->node->fsm, &txn) == 0) {
        all = accounts_secrets(r->node->fsm, txn);
        fsm_read_end(txn);
    }
    if (!all) {
        http_problem(r, 500, "Storage error", "the state machine could not be read");
        return false;
    }
    json_t *it;
    size_t i;
    json_array_foreach(all, i, it)
    {
        const char *v = json_string_value(json_object_get(it, "value"));
        char kid[SEAL_ID_MAX + 1];
        seal_key_id(v, kid);
        visit(r->node, it, v, kid, ctx);
    }
    json_decref(all);
    return true;
}

/* @value opened with this node's keyring (malloc'd, seal_free), or NULL with the reason in
 * @err. */
static char *reveal(struct node *n, json_t *it, const char *value, char err[160])
{
    char aad[160];
    context_of(it, aad);
    return seal_reveal(&n->cfg.secrets, aad, value, err, 160);
}

struct tally {
    json_t *by_key;
    long long total, clear, unreadable;
};

static void count_one(struct node *n, json_t *it, const char *v, const char *kid, void *ctx)
{
    struct tally *t = ctx;
    t->total++;
    if (!kid[0]) {
        t->clear++;
        return;
    }
    json_object_set_new(t->by_key, kid,
                        json_integer(json_integer_value(json_object_get(t->by_key, kid)) + 1));
    char err[160], *clear = reveal(n, it, v, err);
    if (!clear)
        t->unreadable++;
    seal_free(clear);
}

static void serve_secrets(struct http_req *r)
{
    struct node *n = r->node;
    struct tally t = {json_object(), 0, 0, 0};
    if (!census(r, count_one, &t)) {
        json_decref(t.by_key);
        return;
    }
    json_t *keys = json_array();
    for (int k = 0; k < n->cfg.secrets.n; k++)
        json_array_append_new(keys, json_string(n->cfg.secrets.keys[k].id));
    http_reply_json(r, 200,
                    json_pack("{s:s, s:o, s:I, s:o, s:I, s:I}", "current_key",
                              n->cfg.secrets.keys[0].id, "keyring", keys, "total",
                              (json_int_t)t.total, "sealed_by_key", t.by_key, "clear",
                              (json_int_t)t.clear, "unreadable", (json_int_t)t.unreadable));
}

struct reseal {
    long long remaining, unreadable;
};

static void reseal_done(struct http_req *r, void *ctx, int status, const char *body,
                        const char *ra, bool replayed)
{
    struct reseal *rs = ctx;
    json_t *res = status == 200 ? json_loads(body, 0, NULL) : NULL;
    if (!res) {
        acc_relay(r, status, body, ra, replayed);
    } else {
        json_object_set_new(res, "remaining", json_integer(rs->remaining));
        json_object_set_new(res, "unreadable", json_integer(rs->unreadable));
        if (replayed)
            http_header(r, "idempotent-replayed", "true");
        LOG_INFO("event=secrets_resealed resealed=%lld remaining=%lld unreadable=%lld",
                 (long long)json_integer_value(json_object_get(res, "resealed")), rs->remaining,
                 rs->unreadable);
        http_reply_json(r, 200, json_incref(res));
    }
    json_decref(res);
    free(rs);
}

struct reseal_plan {
    json_t *items;
    long long needing, unreadable;
};

static void plan_one(struct node *n, json_t *it, const char *v, const char *kid, void *ctx)
{
    struct reseal_plan *p = ctx;
    if (!strcmp(kid, n->cfg.secrets.keys[0].id))
        return; /* already under the current key */
    char err[160], *clear = reveal(n, it, v, err);
    if (!clear) {
        p->unreadable++;
        LOG_WARN("event=secret_unreadable table=%s id=%s reason=\"%s\"",
                 json_string_value(json_object_get(it, "table")),
                 json_string_value(json_object_get(it, "id")), err);
        return;
    }
    p->needing++;
    char aad[160];
    context_of(it, aad);
    char *sealed = json_array_size(p->items) < ACCOUNTS_RESEAL_MAX
                       ? seal_text(&n->cfg.secrets, aad, clear)
                       : NULL;
    seal_free(clear);
    if (sealed)
        json_array_append_new(
            p->items, json_pack("{s:O, s:O, s:O, s:s, s:s}", "table", json_object_get(it, "table"),
                                "id", json_object_get(it, "id"), "field",
                                json_object_get(it, "field"), "old", v, "new", sealed));
    free(sealed);
}

static void do_reseal(struct http_req *r)
{
    char idem[256];
    if (!acc_idem_key(r, "admin-secrets", idem) || !acc_on_leader(r))
        return;
    struct reseal_plan p = {json_array(), 0, 0};
    if (!census(r, plan_one, &p)) {
        json_decref(p.items);
        return;
    }
    if (json_array_size(p.items) == 0) {
        json_decref(p.items);
        http_reply_json(r, 200, json_pack("{s:i, s:i, s:i, s:I}", "resealed", 0, "skipped", 0,
                                          "remaining", 0, "unreadable", (json_int_t)p.unreadable));
        return;
    }
    struct reseal *rs = calloc(1, sizeof *rs);
    rs->remaining = p.needing - (long long)json_array_size(p.items);
    rs->unreadable = p.unreadable;
    acc_submit_then(r, CMD_SECRETS_RESEAL, json_pack("{s:o}", "items", p.items), idem, "reseal",
                    "", reseal_done, rs);
}

int routes_secrets(struct http_req *r, const char *method, const char *path)
{
    if (!strcmp(path, "/admin/v1/secrets")) {
        if (routes_require_scope(r, "cluster") && routes_method(r, method, "GET", "use GET"))
            routes_read(r, serve_secrets);
    } else if (!strcmp(path, "/admin/v1/secrets/reseal")) {
        if (routes_require_scope(r, "cluster") &&
            routes_method(r, method, "POST", "use POST to seal stored secrets under the "
                                             "keyring's first key"))
            do_reseal(r);
    } else {
        return -1;
    }
    return 0;
}
