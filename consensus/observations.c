#include "consensus/observations.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/agreement.h"
#include "consensus/fixtures.h"
#include "consensus/cmdtable.h"
#include "consensus/quotes.h"
#include "consensus/store.h"
#include "feed/feed.h"

const struct fsm_domain observations_domain;

struct obs_dbs {
    MDB_dbi member_keys, agreed_fixtures, agreed_events, agreed_results, agreed_odds;
};

static const struct obs_dbs *DB(struct fsm *f)
{
    return (const struct obs_dbs *)fsm_domain_dbis(f, &observations_domain);
}

static void key_of(uint64_t id, uint8_t k[8])
{
    store_be64_put(k, id);
}

void obs_digest(const char *cluster, const char *subject, const uint8_t *bytes, size_t len,
                uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    static const char tag[] = "parlay-observation-v1";
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, tag, sizeof tag); /* with its NUL */
    EVP_DigestUpdate(md, cluster, strlen(cluster) + 1);
    EVP_DigestUpdate(md, subject, strlen(subject) + 1);
    EVP_DigestUpdate(md, bytes, len);
    EVP_DigestFinal_ex(md, out, NULL);
    EVP_MD_CTX_free(md);
}

int obs_member_key(struct fsm *f, MDB_txn *txn, uint64_t id, char out[67])
{
    uint8_t k8[8];
    key_of(id, k8);
    MDB_val k = {8, k8}, v;
    if (mdb_get(txn, DB(f)->member_keys, &k, &v) != 0 || v.mv_size != 66)
        return -1;
    memcpy(out, v.mv_data, 66);
    out[66] = 0;
    return 0;
}

void obs_member_key_digest(enum obs_key_tag tag, const char *cluster, uint64_t id,
                           const char *public_key, uint8_t out[32])
{
    static const char proof[] = "parlay-member-key-v1", change[] = "parlay-member-key-change-v1";
    char ids[24];
    snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    if (tag == OBS_KEY_PROOF)
        EVP_DigestUpdate(md, proof, sizeof proof); /* with its NUL */
    else
        EVP_DigestUpdate(md, change, sizeof change);
    EVP_DigestUpdate(md, cluster, strlen(cluster) + 1);
    EVP_DigestUpdate(md, ids, strlen(ids) + 1);
    EVP_DigestUpdate(md, public_key, strlen(public_key));
    EVP_DigestFinal_ex(md, out, NULL);
    EVP_MD_CTX_free(md);
}

int obs_member_key_check(struct fsm *f, MDB_txn *txn, json_t *body, const char **title,
                         char *detail, size_t n)
{
    json_t *id = json_object_get(body, "id");
    const char *pk = json_string_value(json_object_get(body, "public_key"));
    const char *proof = json_string_value(json_object_get(body, "proof"));
    const char *oldsig = json_string_value(json_object_get(body, "old_key_signature"));
    uint8_t raw[33], digest[32];
    *title = "Invalid member key";
    if (!json_is_integer(id) || json_integer_value(id) <= 0 || !pk || strlen(pk) != 66 ||
        obs_hex_decode(pk, raw, sizeof raw) != 33 || (raw[0] != 2 && raw[0] != 3) || !proof) {
        snprintf(detail, n, "need {id: positive integer, public_key: 66 lower-case hex digits of "
                            "a compressed secp256k1 key, proof: the new key's signature (128 hex "
                            "digits)}");
        return 422;
    }
    uint64_t mid = (uint64_t)json_integer_value(id);
    char old[67];
    bool has_old = obs_member_key(f, txn, mid, old) == 0 && strcmp(old, pk) != 0;
    /* The new key proves itself; a change is also signed by the key it replaces. */
    const struct {
        enum obs_key_tag tag;
        const char *key, *sig, *title, *why;
    } need[2] = {{OBS_KEY_PROOF, pk, proof, "Key not proven",
                  "proof: not a signature by the new key over the member-key digest"},
                 {OBS_KEY_CHANGE, old, oldsig, "Key change not authorized",
                  "the member already has a key: old_key_signature must be its signature over "
                  "the key-change digest of the new key"}};
    for (int i = 0; i < (has_old ? 2 : 1); i++) {
        obs_member_key_digest(need[i].tag, fsm_cluster(f), mid, pk, digest);
        if (!agr_verify(need[i].key, need[i].sig, digest)) {
            *title = need[i].title;
            snprintf(detail, n, "member %llu: %s", (unsigned long long)mid, need[i].why);
            return 403;
        }
    }
    return 0;
}

int obs_apply_member_key(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                         struct fsm_result *res)
{
    json_t *body = json_loadb(c->payload, c->payload_len, 0, NULL);
    const char *title;
    char detail[256];
    int status = obs_member_key_check(f, txn, body, &title, detail, sizeof detail);
    if (status != 0) {
        fsm_result_problem(res, status, title, "%s", detail);
        json_decref(body);
        return 0;
    }
    const char *pk = json_string_value(json_object_get(body, "public_key"));
    uint8_t k8[8];
    key_of((uint64_t)json_integer_value(json_object_get(body, "id")), k8);
    MDB_val k = {8, k8}, v = {66, (void *)pk};
    int rv = mdb_put(txn, DB(f)->member_keys, &k, &v, 0);
    if (rv == 0) {
        json_t *out = json_pack("{s:O, s:s}", "id", json_object_get(body, "id"), "public_key",
                                pk);
        fsm_result_set(res, 200, json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS));
        json_decref(out);
    }
    json_decref(body);
    return rv;
}

/* The database and key of a subject; -1 if the subject is not well formed. */
static int subject_key(struct fsm *f, const char *subject, MDB_dbi *dbi, uint8_t *key,
                       size_t *klen)
{
    const char *id;
    if (!strncmp(subject, "fixture/", 8)) {
        *dbi = DB(f)->agreed_fixtures;
        id = subject + 8;
    } else if (!strncmp(subject, "result/", 7)) {
        *dbi = DB(f)->agreed_results;
        id = subject + 7;
    } else if (!strncmp(subject, "event/", 6) || !strncmp(subject, "odds/", 5)) {
        /* fixture id, NUL, seq (big-endian): a cursor walks a fixture's items in seq order */
        bool ev = subject[0] == 'e';
        *dbi = ev ? DB(f)->agreed_events : DB(f)->agreed_odds;
        id = subject + (ev ? 6 : 5);
        const char *slash = strchr(id, '/');
        if (!slash || slash == id || (size_t)(slash - id) > FEED_ID_MAX || !slash[1])
            return -1;
        char *end;
        unsigned long long seq = strtoull(slash + 1, &end, 10);
        if (*end || seq == 0)
            return -1;
        size_t il = (size_t)(slash - id);
        memcpy(key, id, il);
        key[il] = 0;
        key_of(seq, key + il + 1);
        *klen = il + 9;
        return 0;
    } else {
        return -1;
    }
    size_t il = strlen(id);
    if (il == 0 || il > FEED_ID_MAX || strchr(id, '/'))
        return -1;
    memcpy(key, id, il);
    *klen = il;
    return 0;
}

json_t *obs_agreed_get(struct fsm *f, MDB_txn *txn, const char *subject)
{
    MDB_dbi dbi;
    uint8_t key[FEED_ID_MAX + 16];
    size_t kl;
    if (subject_key(f, subject, &dbi, key, &kl) != 0)
        return NULL;
    return store_get_json(txn, dbi, key, kl);
}

json_t *obs_agreed_results(struct fsm *f, MDB_txn *txn)
{
    return store_list_json(txn, DB(f)->agreed_results);
}

MDB_dbi obs_agreed_fixtures_dbi(struct fsm *f)
{
    return DB(f)->agreed_fixtures;
}

/* Calls @fn on each record of @fixture in a seq-keyed database, in seq order. */
static void seq_each(MDB_txn *txn, MDB_dbi dbi, const char *fixture,
                     void (*fn)(void *arg, const MDB_val *v), void *arg)
{
    size_t il = strlen(fixture);
    if (il == 0 || il > FEED_ID_MAX)
        return;
    uint8_t key[FEED_ID_MAX + 16];
    memcpy(key, fixture, il);
    key[il] = 0;
    memset(key + il + 1, 0, 8);
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, dbi, &cur) != 0)
        return;
    MDB_val k = {il + 9, key}, v;
    for (int rv = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rv == 0;
         rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != il + 9 || memcmp(k.mv_data, fixture, il) != 0 ||
            ((uint8_t *)k.mv_data)[il] != 0)
            break;
        fn(arg, &v);
    }
    mdb_cursor_close(cur);
}

json_t *obs_market_round_inputs(struct fsm *f, MDB_txn *txn, const char *fixture)
{
    struct feed_odds m;
    if (obs_agreed_odds_latest(f, txn, fixture, &m) != 0)
        return NULL;
    struct feed_obs o = {.kind = FEED_ODDS, .u.odds = m};
    char *text = feed_obs_to_json_text(&o);
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    json_object_del(j, "fixture");
    return j;
}

static void append_record(void *arg, const MDB_val *v)
{
    json_array_append_new(arg, json_loadb(v->mv_data, v->mv_size, 0, NULL));
}

json_t *obs_agreed_events(struct fsm *f, MDB_txn *txn, const char *fixture)
{
    json_t *arr = json_array();
    seq_each(txn, DB(f)->agreed_events, fixture, append_record, arr);
    return arr;
}

static void keep_last(void *arg, const MDB_val *v)
{
    *(MDB_val *)arg = *v;
}

int obs_agreed_odds_latest(struct fsm *f, MDB_txn *txn, const char *fixture,
                           struct feed_odds *out)
{
    MDB_val last = {0, NULL};
    seq_each(txn, DB(f)->agreed_odds, fixture, keep_last, &last);
    if (!last.mv_data)
        return -1;
    json_t *rec = json_loadb(last.mv_data, last.mv_size, 0, NULL);
    const char *hex = json_string_value(json_object_get(rec, "bytes"));
    uint8_t bytes[FEED_ENCODED_MAX];
    int n = hex ? obs_hex_decode(hex, bytes, sizeof bytes) : -1;
    struct feed_obs o;
    int rc = n > 0 && feed_decode(bytes, (size_t)n, &o, NULL) == 0 && o.kind == FEED_ODDS ? 0 : -1;
    json_decref(rec);
    if (rc == 0)
        *out = o.u.odds;
    return rc;
}

static int create_fixture(struct fsm *f, MDB_txn *txn, const struct feed_fixture *fx,
                          uint64_t time_ms)
{
    if (!fsm_sport(f) || strcmp(fsm_sport(f), feed_sport_name(fx->sport)) != 0)
        return 0;
    json_t *old = fixture_get(f, txn, fx->id);
    if (old) {
        json_decref(old);
        return 0;
    }
    char ko[32], ts[32];
    time_t t = (time_t)fx->kickoff;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ko, sizeof ko, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fsm_format_time(time_ms, ts);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "id",
                          fx->id, "sport", feed_sport_name(fx->sport), "competition",
                          fx->competition, "home", fx->home, "away", fx->away, "kickoff", ko,
                          "status", "scheduled", "version", 1, "created_at", ts, "updated_at",
                          ts, "source", "agreed");
    int rv = fixture_put(f, txn, o, NULL);
    json_decref(o);
    return rv;
}

int obs_check_signatures(struct fsm *f, MDB_txn *txn, json_t *sigs, const uint8_t digest[32],
                         char *detail, size_t n)
{
    if (!json_is_array(sigs) || json_array_size(sigs) == 0) {
        snprintf(detail, n, "signatures: need a non-empty array of {node, signature}");
        return -1;
    }
    size_t i;
    json_t *s;
    int rv = 0;
    json_array_foreach(sigs, i, s)
    {
        json_t *nd = json_object_get(s, "node");
        const char *sh = json_string_value(json_object_get(s, "signature"));
        char pk[67];
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup |= json_equal(json_object_get(json_array_get(sigs, j), "node"), nd);
        if (!json_is_integer(nd) || json_integer_value(nd) <= 0 || !sh || dup) {
            snprintf(detail, n, "signatures[%zu]: need {node, signature}, one per node", i);
            rv = -1;
            break;
        }
        if (obs_member_key(f, txn, (uint64_t)json_integer_value(nd), pk) != 0 ||
            !agr_verify(pk, sh, digest)) {
            snprintf(detail, n, "signatures[%zu]: does not verify with node %lld's registered key",
                     i, (long long)json_integer_value(nd));
            rv = -1;
            break;
        }
    }
    return rv;
}

static int apply_agreed(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                        struct fsm_result *res)
{
    json_t *body = json_loadb(c->payload, c->payload_len, 0, NULL);
    const char *subject = json_string_value(json_object_get(body, "subject"));
    const char *hex = json_string_value(json_object_get(body, "bytes"));
    json_t *sigs = json_object_get(body, "signatures");
    uint8_t bytes[FEED_ENCODED_MAX];
    int blen = hex ? obs_hex_decode(hex, bytes, sizeof bytes) : -1;
    struct feed_obs o;
    struct feed_error fe = {0};
    char subj[FEED_SUBJECT_MAX];
    int rv = 0;
    if (!subject || blen <= 0 || !json_is_array(sigs) || json_array_size(sigs) == 0) {
        fsm_result_problem(res, 422, "Invalid agreed observation",
                           "need {subject, bytes (hex), signatures: [{node, signature}]}");
        goto out;
    }
    if (feed_decode(bytes, (size_t)blen, &o, &fe) != 0) {
        fsm_result_problem(res, 422, "Invalid agreed observation", "bytes: %s", fe.msg);
        goto out;
    }
    if (feed_obs_subject(&o, subj, sizeof subj) < 0 || strcmp(subj, subject) != 0) {
        fsm_result_problem(res, 422, "Invalid agreed observation",
                           "the bytes are about '%s', not '%s'", subj, subject);
        goto out;
    }
    /* Every signature is a distinct member's, with its registered key, over this subject
     * and these bytes: a leader cannot commit an observation its signers did not send. */
    uint8_t digest[32];
    obs_digest(fsm_cluster(f), subject, bytes, (size_t)blen, digest);
    char detail[200];
    if (obs_check_signatures(f, txn, sigs, digest, detail, sizeof detail) != 0) {
        fsm_result_problem(res, 422, "Invalid agreed observation", "%s", detail);
        goto out;
    }
    MDB_dbi dbi;
    uint8_t key[FEED_ID_MAX + 16];
    size_t kl;
    if (subject_key(f, subject, &dbi, key, &kl) != 0) {
        fsm_result_problem(res, 422, "Invalid agreed observation", "bad subject '%s'", subject);
        goto out;
    }
    MDB_val k = {kl, key}, v;
    if (mdb_get(txn, dbi, &k, &v) == 0) {
        json_t *old = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        const char *ob = json_string_value(json_object_get(old, "bytes"));
        bool same = ob && !strcmp(ob, hex);
        json_decref(old);
        json_t *d = json_pack("{s:s, s:b, s:b}", "subject", subject, "duplicate", 1,
                              "same_bytes", same);
        fsm_result_set(res, 200, json_dumps(d, JSON_COMPACT));
        json_decref(d);
        goto out;
    }
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    char *oj = feed_obs_to_json_text(&o);
    json_t *rec = json_pack("{s:s, s:s, s:s, s:o, s:O, s:s}", "subject", subject, "kind",
                            feed_kind_name(o.kind),
                            "bytes", hex, "observation", json_loads(oj ? oj : "null", JSON_DECODE_ANY, NULL),
                            "signatures", sigs, "agreed_at", ts);
    free(oj);
    char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(rec);
    v.mv_size = strlen(text);
    v.mv_data = text;
    rv = mdb_put(txn, dbi, &k, &v, 0);
    if (rv == 0 && o.kind == FEED_FIXTURE)
        rv = create_fixture(f, txn, &o.u.fixture, c->time_ms);
    if (rv == 0)
        rv = quotes_on_agreed(f, txn, &o, c->time_ms);
    if (rv == 0)
        fsm_result_set(res, 201, text);
    else
        free(text);
out:
    json_decref(body);
    return rv;
}

/* ---- the domain's commands ---- */

char *obs_cmd_member_key(struct cmd *c, uint64_t id, const char *public_key)
{
    json_t *o = json_pack("{s:I, s:s}", "id", (json_int_t)id, "public_key", public_key);
    return cmd_fill_new(c, CMD_MEMBER_KEY, o);
}

char *obs_cmd_agreed(struct cmd *c, const char *subject, const char *bytes_hex,
                     json_t *signatures)
{
    json_t *o = json_pack("{s:s, s:s, s:o}", "subject", subject, "bytes", bytes_hex,
                          "signatures", signatures);
    return cmd_fill_new(c, CMD_OBSERVATION_AGREED, o);
}

static const struct fsm_command COMMANDS[] = {
    {CMD_MEMBER_KEY, "member_key", true, obs_apply_member_key, NULL},
    /* Not batchable: quotes_on_agreed records the entry's index. */
    {CMD_OBSERVATION_AGREED, "observation_agreed", false, apply_agreed, NULL},
    {0, NULL, false, NULL, NULL},
};

static const char *const DBS[] = {"member_keys", "agreed_fixtures", "agreed_events",
                                  "agreed_results", "agreed_odds", NULL};
/* DB() reads the handles as a struct: one field per name, in the same order. */
_Static_assert(sizeof(struct obs_dbs) == (sizeof DBS / sizeof *DBS - 1) * sizeof(MDB_dbi),
               "one handle per database name");

const struct fsm_domain observations_domain = {"observations", COMMANDS, DBS};
