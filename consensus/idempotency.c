/* Idempotency records: the answer to each keyed request, so that a retry on any node, after any
 * leader change, gets the first answer (fsm.c checks and writes them around every command).
 *
 * Records:
 *   idem      idempotency key -> fingerprint (32), status (u16 big-endian), body
 *   idem_exp  time_ms (u64 big-endian) ++ key -> "" (the oldest first, for expiry)
 *
 * CMD_IDEM_EXPIRE {before_ms}: forget the records stamped before that time (the leader's clock,
 * inside the command), at most IDEM_EXPIRE_MAX per command so that apply stays short. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/cmdtable.h"
#include "consensus/fsm_internal.h"
#include "consensus/idempotency.h"
#include "consensus/store.h"

#define IDEM_EXPIRE_MAX 10000

const struct fsm_domain idempotency_domain;

struct idem_dbs {
    MDB_dbi idem, idem_exp;
};

static const struct idem_dbs *DB(struct fsm *f)
{
    return (const struct idem_dbs *)fsm_domain_dbis(f, &idempotency_domain);
}

char *idem_cmd_expire(struct cmd *c, uint64_t before_ms)
{
    json_t *o = json_pack("{s:I}", "before_ms", (json_int_t)before_ms);
    return cmd_fill_new(c, CMD_IDEM_EXPIRE, o);
}

int idem_put(struct fsm *f, MDB_txn *txn, const struct cmd *c, const struct fsm_result *res)
{
    size_t blen = res->body ? strlen(res->body) : 0;
    uint8_t ebuf[8 + CMD_IDEM_MAX];
    if (c->idem_len > CMD_IDEM_MAX)
        return MDB_BAD_VALSIZE;
    store_be64_put(ebuf, c->time_ms);
    memcpy(ebuf + 8, c->idem, c->idem_len);
    MDB_val ek = {8 + c->idem_len, ebuf}, ev = {0, NULL};
    int rv = mdb_put(txn, DB(f)->idem_exp, &ek, &ev, 0);
    if (rv != 0)
        return rv;
    MDB_val k = {c->idem_len, (void *)c->idem}, v = {34 + blen, NULL};
    rv = mdb_put(txn, DB(f)->idem, &k, &v, MDB_RESERVE);
    if (rv != 0)
        return rv;
    uint8_t *p = v.mv_data;
    memcpy(p, c->fingerprint, 32);
    p[32] = (uint8_t)(res->status >> 8);
    p[33] = (uint8_t)res->status;
    if (blen)
        memcpy(p + 34, res->body, blen);
    return 0;
}

int idem_lookup(struct fsm *f, MDB_txn *txn, const char *key, size_t key_len,
                uint8_t fingerprint[32], struct fsm_result *res)
{
    MDB_val k = {key_len, (void *)key}, v;
    int rv = mdb_get(txn, DB(f)->idem, &k, &v);
    if (rv == MDB_NOTFOUND)
        return 0;
    if (rv != 0)
        return -rv;
    if (v.mv_size < 34)
        return -MDB_CORRUPTED;
    const uint8_t *p = v.mv_data;
    memcpy(fingerprint, p, 32);
    char *body = malloc(v.mv_size - 34 + 1);
    if (!body)
        return -ENOMEM;
    memcpy(body, p + 34, v.mv_size - 34);
    body[v.mv_size - 34] = 0;
    fsm_result_set(res, (p[32] << 8) | p[33], body);
    return 1;
}

int idem_oldest(struct fsm *f, MDB_txn *txn, uint64_t *time_ms)
{
    MDB_cursor *cur;
    int rv = mdb_cursor_open(txn, DB(f)->idem_exp, &cur);
    if (rv != 0)
        return rv;
    MDB_val k, v;
    rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (rv == 0)
        *time_ms = k.mv_size >= 8 ? store_be64_get(k.mv_data) : 0;
    mdb_cursor_close(cur);
    return rv;
}

static int apply_expire(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                        struct fsm_result *res)
{
    json_t *body = json_loadb(c->payload, c->payload_len, 0, NULL);
    uint64_t before;
    bool ok = store_u64(body, "before_ms", 0, &before);
    json_decref(body);
    if (!ok) {
        fsm_result_problem(res, 422, "Invalid command", "'before_ms' must be a time in ms");
        return 0;
    }
    MDB_cursor *cur;
    int rv = mdb_cursor_open(txn, DB(f)->idem_exp, &cur);
    if (rv != 0)
        return rv;
    MDB_val k, v;
    unsigned n = 0;
    bool more = false;
    for (rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rv == 0;
         rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) {
        if (k.mv_size < 8 || store_be64_get(k.mv_data) >= before)
            break;
        if (n == IDEM_EXPIRE_MAX) {
            more = true;
            break;
        }
        MDB_val ik = {k.mv_size - 8, (uint8_t *)k.mv_data + 8};
        rv = mdb_del(txn, DB(f)->idem, &ik, NULL);
        if (rv != 0 && rv != MDB_NOTFOUND)
            break;
        if ((rv = mdb_cursor_del(cur, 0)) != 0)
            break;
        n++;
    }
    mdb_cursor_close(cur);
    if (rv != 0 && rv != MDB_NOTFOUND)
        return rv;
    store_result_json(res, 200, json_pack("{s:I, s:b}", "expired", (json_int_t)n, "more", more));
    return 0;
}

static const struct fsm_command COMMANDS[] = {
    {CMD_IDEM_EXPIRE, "idem_expire", true, apply_expire, NULL},
    {0, NULL, false, NULL, NULL},
};

static const char *const DBS[] = {"idem", "idem_exp", NULL};
/* DB() reads the handles as a struct: one field per name, in the same order. */
_Static_assert(sizeof(struct idem_dbs) == (sizeof DBS / sizeof *DBS - 1) * sizeof(MDB_dbi),
               "one handle per database name");

const struct fsm_domain idempotency_domain = {"idempotency", COMMANDS, DBS};
