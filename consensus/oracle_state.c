/* The oracle's replicated state: collected result signatures, the transaction journal and
 * each result's on-chain outcome. See oracle_state.h. */
#include "consensus/oracle_state.h"

#include <secp256k1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/cmdtable.h"
#include "consensus/observations.h"
#include "consensus/store.h"
#include "oracle/oracle.h"

extern const struct fsm_domain oracle_domain;

struct oracle_dbs {
    MDB_dbi results, txs, matches;
};

static const struct oracle_dbs *DB(struct fsm *f)
{
    return (const struct oracle_dbs *)fsm_domain_dbis(f, &oracle_domain);
}

#define FIXTURE_MAX 64

uint64_t oracle_match_id(const char *cluster, const char *fixture)
{
    static const char tag[] = "parlay-match-v1";
    size_t cl = strlen(cluster), fl = strlen(fixture);
    size_t n = sizeof tag + cl + 1 + fl;
    uint8_t *buf = malloc(n), h[32];
    if (!buf)
        return 1;
    memcpy(buf, tag, sizeof tag);
    memcpy(buf + sizeof tag, cluster, cl + 1);
    memcpy(buf + sizeof tag + cl + 1, fixture, fl);
    eth_keccak256(buf, n, h);
    free(buf);
    uint64_t v = store_be64_get(h + 24);
    return v ? v : 1;
}

int oracle_status_code(const char *s)
{
    if (s && !strcmp(s, "final"))
        return ORACLE_STATUS_FINAL;
    if (s && !strcmp(s, "void"))
        return ORACLE_STATUS_VOID;
    return 0;
}

static json_t *get_json(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t kl)
{
    MDB_val k = {kl, (void *)key}, v;
    if (mdb_get(txn, dbi, &k, &v) != 0)
        return NULL;
    return json_loadb(v.mv_data, v.mv_size, 0, NULL);
}

static int put_json(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t kl, json_t *o)
{
    char *t = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    if (!t)
        return MDB_PANIC;
    MDB_val k = {kl, (void *)key}, v = {strlen(t), t};
    int rv = mdb_put(txn, dbi, &k, &v, 0);
    free(t);
    return rv;
}

json_t *oracle_state_get(struct fsm *f, MDB_txn *txn, const char *fixture)
{
    return get_json(txn, DB(f)->results, fixture, strlen(fixture));
}

static bool is_final(const char *state)
{
    return state && (!strcmp(state, "confirmed") || !strcmp(state, "already") ||
                     !strcmp(state, "failed"));
}

json_t *oracle_state_results(struct fsm *f, MDB_txn *txn, int all)
{
    json_t *arr = store_list_json(txn, DB(f)->results);
    for (size_t i = json_array_size(arr); !all && i-- > 0;)
        if (is_final(json_string_value(json_object_get(json_array_get(arr, i), "state"))))
            json_array_remove(arr, i);
    return arr;
}

json_t *oracle_state_counts(struct fsm *f, MDB_txn *txn)
{
    json_t *all = oracle_state_results(f, txn, 1);
    json_t *c = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "signed", 0, "journaled", 0,
                          "sent", 0, "mined", 0, "confirmed", 0, "already", 0, "failed", 0);
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        const char *s = json_string_value(json_object_get(o, "state"));
        json_t *n = s ? json_object_get(c, s) : NULL;
        if (n)
            json_integer_set(n, json_integer_value(n) + 1);
    }
    json_decref(all);
    return c;
}

json_t *oracle_state_journal(struct fsm *f, MDB_txn *txn)
{
    return store_list_json(txn, DB(f)->txs);
}

/* The Ethereum address of a registered member key (66 hex digits, compressed). */
static bool member_address(struct fsm *f, MDB_txn *txn, uint64_t node, uint8_t addr[20])
{
    char pk[67];
    uint8_t ser[33], xy[65];
    if (obs_member_key(f, txn, node, pk) != 0 || obs_hex_decode(pk, ser, 33) != 33)
        return false;
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    secp256k1_pubkey pub;
    size_t l = sizeof xy;
    bool ok = secp256k1_ec_pubkey_parse(ctx, &pub, ser, 33) &&
              secp256k1_ec_pubkey_serialize(ctx, xy, &l, &pub, SECP256K1_EC_UNCOMPRESSED);
    secp256k1_context_destroy(ctx);
    if (ok)
        eth_address_from_pubkey(xy + 1, addr);
    return ok;
}

static json_int_t jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static int apply_signed(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    json_t *b = json_loadb(c->payload, c->payload_len, 0, NULL);
    const char *fixture = json_string_value(json_object_get(b, "fixture"));
    const char *status = json_string_value(json_object_get(b, "status"));
    const char *contract = json_string_value(json_object_get(b, "contract"));
    json_t *sigs = json_object_get(b, "signatures");
    json_t *rec = NULL, *agreed = NULL;
    int rv = 0;
    uint8_t caddr[20];
    if (!fixture || !*fixture || strlen(fixture) > FIXTURE_MAX || !oracle_status_code(status) ||
        !json_is_integer(json_object_get(b, "match_id")) ||
        !json_is_integer(json_object_get(b, "home")) ||
        !json_is_integer(json_object_get(b, "away")) || jint(b, "home") < 0 ||
        jint(b, "home") > 65535 || jint(b, "away") < 0 || jint(b, "away") > 65535 ||
        !json_is_integer(json_object_get(b, "chain_id")) || jint(b, "chain_id") <= 0 ||
        !contract || eth_address_parse(contract, caddr) != ETH_OK || !json_is_array(sigs) ||
        json_array_size(sigs) == 0 || json_array_size(sigs) > 32) {
        fsm_result_problem(res, 422, "Invalid oracle signatures",
                           "need {fixture, match_id, status: final|void, home, away (0..65535), "
                           "chain_id, contract (address), signatures: [{node, signature}] (1..32)}");
        goto out;
    }
    if ((uint64_t)jint(b, "match_id") != oracle_match_id(fsm_cluster(f), fixture)) {
        fsm_result_problem(res, 422, "Invalid oracle signatures",
                           "match_id is not the one of fixture '%s' in cluster '%s'", fixture,
                           fsm_cluster(f));
        goto out;
    }
    char subject[FIXTURE_MAX + 16];
    snprintf(subject, sizeof subject, "result/%s", fixture);
    agreed = obs_agreed_get(f, txn, subject);
    json_t *ob = json_object_get(agreed, "observation");
    const char *ast = json_string_value(json_object_get(ob, "status"));
    if (!agreed || !ast || strcmp(ast, status) != 0 || jint(ob, "home") != jint(b, "home") ||
        jint(ob, "away") != jint(b, "away")) {
        fsm_result_problem(res, 409, "Result not agreed",
                           "this cluster has not agreed %s %lld-%lld for fixture '%s'", status,
                           (long long)jint(b, "home"), (long long)jint(b, "away"), fixture);
        goto out;
    }
    rec = oracle_state_get(f, txn, fixture);
    if (rec && strcmp(json_string_value(json_object_get(rec, "state")) ?: "", "failed") != 0) {
        json_t *d = json_pack("{s:s, s:b, s:O}", "fixture", fixture, "duplicate", 1, "oracle",
                              rec);
        fsm_result_set(res, 200, json_dumps(d, JSON_COMPACT));
        json_decref(d);
        goto out;
    }
    oracle_result r = {.match_id = (uint64_t)jint(b, "match_id"),
                       .status = (uint8_t)oracle_status_code(status),
                       .home = (uint16_t)jint(b, "home"),
                       .away = (uint16_t)jint(b, "away")};
    uint8_t digest[32];
    oracle_result_digest((uint64_t)jint(b, "chain_id"), caddr, &r, digest);
    json_t *kept = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(sigs, i, s)
    {
        json_t *nd = json_object_get(s, "node");
        const char *sh = json_string_value(json_object_get(s, "signature"));
        uint8_t sig[65], want[20], got[20];
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup |= json_equal(json_object_get(json_array_get(sigs, j), "node"), nd);
        if (!json_is_integer(nd) || json_integer_value(nd) <= 0 || dup || !sh ||
            strlen(sh) != 130 || obs_hex_decode(sh, sig, 65) != 65) {
            fsm_result_problem(res, 422, "Invalid oracle signatures",
                               "signatures[%zu]: need {node, signature (130 hex digits r||s||v)}, "
                               "one per node",
                               i);
            json_decref(kept);
            goto out;
        }
        uint64_t node = (uint64_t)json_integer_value(nd);
        if (!member_address(f, txn, node, want) || eth_recover(digest, sig, got) != ETH_OK ||
            memcmp(want, got, 20) != 0 || !eth_sig_is_low_s(sig)) {
            fsm_result_problem(res, 422, "Invalid oracle signatures",
                               "signatures[%zu]: does not recover to node %llu's registered key",
                               i, (unsigned long long)node);
            json_decref(kept);
            goto out;
        }
        char ah[43];
        eth_address_checksum(want, ah);
        json_array_append_new(kept, json_pack("{s:I, s:s, s:s}", "node", (json_int_t)node,
                                              "signature", sh, "address", ah));
    }
    char ts[32], ch[43];
    fsm_format_time(c->time_ms, ts);
    eth_address_checksum(caddr, ch);
    json_t *o = json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:s, s:o, s:s, s:s, s:s}", "fixture",
                          fixture, "match_id", (json_int_t)r.match_id, "status", status, "home",
                          (json_int_t)r.home, "away", (json_int_t)r.away, "chain_id",
                          (json_int_t)jint(b, "chain_id"), "contract", ch, "signatures", kept,
                          "state", "signed", "signed_at", ts, "updated_at", ts);
    uint8_t mk[8];
    store_be64_put(mk, r.match_id);
    MDB_val k = {8, mk}, v = {strlen(fixture), (void *)fixture};
    rv = put_json(txn, DB(f)->results, fixture, strlen(fixture), o);
    if (rv == 0)
        rv = mdb_put(txn, DB(f)->matches, &k, &v, 0);
    if (rv == 0)
        fsm_result_set(res, 201, json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS));
    json_decref(o);
out:
    json_decref(rec);
    json_decref(agreed);
    json_decref(b);
    return rv;
}

/* The fixture of a match id ("" if none) into @out. */
static bool match_fixture(struct fsm *f, MDB_txn *txn, uint64_t match_id, char out[FIXTURE_MAX + 1])
{
    uint8_t mk[8];
    store_be64_put(mk, match_id);
    MDB_val k = {8, mk}, v;
    if (mdb_get(txn, DB(f)->matches, &k, &v) != 0 || v.mv_size > FIXTURE_MAX)
        return false;
    memcpy(out, v.mv_data, v.mv_size);
    out[v.mv_size] = 0;
    return true;
}

static int apply_tx(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    json_t *b = json_loadb(c->payload, c->payload_len, 0, NULL);
    json_t *jr = json_object_get(b, "record");
    char *text = json_is_object(jr) ? json_dumps(jr, JSON_COMPACT) : NULL;
    oracle_tx_record r;
    int rv = 0;
    if (!text || oracle_tx_record_from_text(text, strlen(text), 1, &r) != ETH_OK) {
        fsm_result_problem(res, 422, "Invalid oracle transaction",
                           "need {record}: a transaction manager journal record");
        free(text);
        json_decref(b);
        return 0;
    }
    free(text);
    if (r.kind < ORACLE_KIND_OTHER || r.kind > ORACLE_KIND_SIGNERS || r.state < ORACLE_TX_NEW ||
        r.state > ORACLE_TX_SUPERSEDED || r.chain_id == 0 || !r.raw_hex || r.nattempts == 0) {
        fsm_result_problem(res, 422, "Invalid oracle transaction",
                           "record: need kind 0..3, state 0..5, chain_id, raw and at least one "
                           "attempt (a transaction is journaled signed, before its broadcast)");
        oracle_tx_record_free(&r);
        json_decref(b);
        return 0;
    }
    uint8_t key[8];
    if (r.id == 0) {
        r.id = fsm_meta_get(f, txn, "oracle_tx_next") + 1;
        rv = fsm_meta_put(f, txn, "oracle_tx_next", r.id);
    } else {
        store_be64_put(key, r.id);
        MDB_val k = {8, key}, v;
        if (r.id > fsm_meta_get(f, txn, "oracle_tx_next") ||
            mdb_get(txn, DB(f)->txs, &k, &v) != 0) {
            fsm_result_problem(res, 404, "No such oracle transaction",
                               "journal record %llu does not exist", (unsigned long long)r.id);
            goto out;
        }
    }
    char *t = rv == 0 ? oracle_tx_record_to_text(&r) : NULL;
    if (rv == 0 && !t)
        rv = MDB_PANIC;
    if (rv == 0) {
        store_be64_put(key, r.id);
        MDB_val k = {8, key}, v = {strlen(t), t};
        rv = mdb_put(txn, DB(f)->txs, &k, &v, 0);
    }
    free(t);
    char fixture[FIXTURE_MAX + 1];
    if (rv == 0 && r.kind == ORACLE_KIND_SUBMIT && !r.noop &&
        match_fixture(f, txn, r.match_id, fixture)) {
        json_t *o = oracle_state_get(f, txn, fixture);
        const char *st = json_string_value(json_object_get(o, "state"));
        if (o && !is_final(st)) {
            const char *ns = r.state == ORACLE_TX_NEW    ? "journaled"
                             : r.state == ORACLE_TX_SENT ? "sent"
                                                         : "mined";
            char ts[32], hh[67];
            fsm_format_time(c->time_ms, ts);
            json_object_set_new(o, "state", json_string(ns));
            json_object_set_new(o, "tx_id", json_integer((json_int_t)r.id));
            if (r.nattempts) {
                eth_hex_write(r.attempts[r.mined_attempt >= 0 && (size_t)r.mined_attempt <
                                                                     r.nattempts
                                             ? (size_t)r.mined_attempt
                                             : r.nattempts - 1],
                              32, hh);
                json_object_set_new(o, "tx_hash", json_string(hh));
            }
            json_object_set_new(o, "updated_at", json_string(ts));
            rv = put_json(txn, DB(f)->results, fixture, strlen(fixture), o);
        }
        json_decref(o);
    }
    if (rv == 0) {
        json_t *d = json_pack("{s:I, s:s}", "id", (json_int_t)r.id, "state",
                              oracle_tx_state_name(r.state));
        fsm_result_set(res, 201, json_dumps(d, JSON_COMPACT));
        json_decref(d);
    }
out:
    oracle_tx_record_free(&r);
    json_decref(b);
    return rv;
}

static int apply_done(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    json_t *b = json_loadb(c->payload, c->payload_len, 0, NULL);
    const char *fixture = json_string_value(json_object_get(b, "fixture"));
    const char *outcome = json_string_value(json_object_get(b, "outcome"));
    json_t *o = NULL;
    int rv = 0;
    if (!fixture || strlen(fixture) > FIXTURE_MAX || !is_final(outcome)) {
        fsm_result_problem(res, 422, "Invalid oracle outcome",
                           "need {fixture, outcome: confirmed|already|failed}");
        goto out;
    }
    o = oracle_state_get(f, txn, fixture);
    if (!o) {
        fsm_result_problem(res, 404, "No such oracle result",
                           "fixture '%s' has no signed result", fixture);
        goto out;
    }
    if (is_final(json_string_value(json_object_get(o, "state")))) {
        json_t *d = json_pack("{s:s, s:b, s:O}", "fixture", fixture, "duplicate", 1, "oracle", o);
        fsm_result_set(res, 200, json_dumps(d, JSON_COMPACT));
        json_decref(d);
        goto out;
    }
    static const char *const keep[] = {"tx_id", "tx_hash", "block", "gas_used", "reason",
                                       "onchain", NULL};
    for (const char *const *k = keep; *k; k++) {
        json_t *v = json_object_get(b, *k);
        if (v)
            json_object_set(o, *k, v);
    }
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_object_set_new(o, "state", json_string(outcome));
    json_object_set_new(o, "updated_at", json_string(ts));
    rv = put_json(txn, DB(f)->results, fixture, strlen(fixture), o);
    if (rv == 0)
        fsm_result_set(res, 201, json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS));
out:
    json_decref(o);
    json_decref(b);
    return rv;
}

char *oracle_cmd_signed(struct cmd *c, const char *fixture, uint64_t match_id, const char *status,
                        unsigned home, unsigned away, uint64_t chain_id, const char *contract,
                        json_t *signatures)
{
    json_t *o = json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:s, s:o}", "fixture", fixture,
                          "match_id", (json_int_t)match_id, "status", status, "home",
                          (json_int_t)home, "away", (json_int_t)away, "chain_id",
                          (json_int_t)chain_id, "contract", contract, "signatures", signatures);
    return cmd_fill_new(c, CMD_ORACLE_SIGNED, o);
}

char *oracle_cmd_tx(struct cmd *c, const char *record_text)
{
    json_t *r = json_loads(record_text, 0, NULL);
    json_t *o = json_pack("{s:o}", "record", r ? r : json_null());
    return cmd_fill_new(c, CMD_ORACLE_TX, o);
}

char *oracle_cmd_done(struct cmd *c, json_t *body)
{
    return cmd_fill_new(c, CMD_ORACLE_DONE, body);
}

static const struct fsm_command COMMANDS[] = {
    {CMD_ORACLE_SIGNED, "oracle_signed", true, apply_signed, NULL},
    {CMD_ORACLE_TX, "oracle_tx", true, apply_tx, NULL},
    {CMD_ORACLE_DONE, "oracle_done", true, apply_done, NULL},
    {0, NULL, false, NULL, NULL},
};

static const char *const DBS[] = {"oracle_results", "oracle_txs", "oracle_matches", NULL};
_Static_assert(sizeof(struct oracle_dbs) == (sizeof DBS / sizeof *DBS - 1) * sizeof(MDB_dbi),
               "one handle per database name");

const struct fsm_domain oracle_domain = {"oracle", COMMANDS, DBS};
