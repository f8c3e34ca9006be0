/* Helpers shared by the consensus unit tests; see unit_util.h. */
#include "tests/unit/unit_util.h"

#include <ftw.h>
#include <raft.h>
#include <secp256k1.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "consensus/fixtures.h"
#include "consensus/observations.h"
#include "common/log.h"

void util_log_init(void)
{
    log_init(0, getenv("PARLAY_TEST_LOG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR + 1);
}

char* util_tmpdir(void)
{
    const char* base = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/parlay-unit-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(path));
    char* out = strdup(path);
    assert_non_null(out);
    return out;
}

static int rm_entry(const char* path, const struct stat* st, int flag, struct FTW* ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void util_rmdir(char* dir)
{
    if (!dir)
        return;
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

struct fsm* util_fsm_open(const char* dir)
{
    return util_fsm_open_size(dir, 64u << 20);
}

struct fsm* util_fsm_open_size(const char* dir, size_t map_size)
{
    struct fsm_options o = {
        .dir = dir, .map_size = map_size, .quota = 0, .sport = "football", .loop = NULL};
    struct fsm* f = NULL;
    char err[256] = "";
    int rv = fsm_open(&f, &o, err, sizeof err);
    if (rv != 0)
        fail_msg("fsm_open(%s): %d %s", dir, rv, err);
    return f;
}

void* util_cmd(uint16_t type,
               const char* idem,
               uint8_t fp,
               uint64_t time_ms,
               const char* payload,
               size_t* len)
{
    struct cmd c = {.type = type,
                    .time_ms = time_ms,
                    .idem = idem,
                    .idem_len = idem ? strlen(idem) : 0,
                    .payload = payload,
                    .payload_len = payload ? strlen(payload) : 0};
    memset(c.fingerprint, fp, sizeof c.fingerprint);
    *len = cmd_encoded_size(&c);
    void* buf = raft_malloc(*len);
    assert_non_null(buf);
    assert_int_equal(cmd_encode(&c, buf, *len), CMD_OK);
    return buf;
}

const char* util_fixture_json(const char* id, const char* competition, const char* kickoff)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"id\":\"%s\",\"sport\":\"football\",\"competition\":\"%s\","
             "\"home\":\"Home %s\",\"away\":\"Away %s\",\"kickoff\":\"%s\"}",
             id, competition, id, id, kickoff);
    return buf;
}

static void capture(void* ctx, uint64_t index, const struct fsm_result* res)
{
    struct util_result* r = ctx;
    r->index = index;
    r->status = res->status;
    snprintf(r->body, sizeof r->body, "%s", res->body ? res->body : "");
    r->calls++;
}

void util_capture_results(struct fsm* f, struct util_result* r)
{
    memset(r, 0, sizeof *r);
    fsm_set_result_hook(f, capture, r);
}

int util_apply(struct fsm* f,
               struct util_result* r,
               uint64_t index,
               uint16_t type,
               const char* idem,
               uint8_t fp,
               const char* payload)
{
    return util_apply_at(f, r, index, type, idem, fp, payload, 1700000000000ull + index * 1000);
}

int util_apply_at(struct fsm* f,
                  struct util_result* r,
                  uint64_t index,
                  uint16_t type,
                  const char* idem,
                  uint8_t fp,
                  const char* payload,
                  uint64_t time_ms)
{
    size_t len;
    void* buf = util_cmd(type, idem, fp, time_ms, payload, &len);
    unsigned before = r->calls;
    int rv = fsm_apply(f, index, buf, len);
    raft_free(buf);
    assert_int_equal(rv, 0);
    assert_int_equal(r->calls, before + 1);
    assert_int_equal(r->index, index);
    return r->status;
}

static json_t* list_all(struct fsm* f)
{
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(f, &txn), 0);
    struct fixture_filter flt = {.limit = 100000};
    json_t* out = fixture_list(f, txn, &flt);
    fsm_read_end(txn);
    assert_non_null(out);
    return out;
}

char* util_dump_fixtures(struct fsm* f)
{
    json_t* out = list_all(f);
    char* s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(out);
    assert_non_null(s);
    return s;
}

unsigned util_count_fixtures(struct fsm* f)
{
    json_t* out = list_all(f);
    unsigned n = (unsigned)json_array_size(json_object_get(out, "items"));
    json_decref(out);
    return n;
}

char* util_get_fixture(struct fsm* f, const char* id)
{
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(f, &txn), 0);
    json_t* fx = fixture_get(f, txn, id);
    fsm_read_end(txn);
    if (!fx)
        return NULL;
    char* s = json_dumps(fx, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(fx);
    return s;
}

/* ---- members' keys ---------------------------------------------------------------------- */

void util_pub_hex(const uint8_t sk[32], char out[67])
{
    secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    secp256k1_pubkey pk;
    uint8_t ser[33];
    size_t sl = sizeof ser;
    assert_true(secp256k1_ec_pubkey_create(ctx, &pk, sk));
    secp256k1_ec_pubkey_serialize(ctx, ser, &sl, &pk, SECP256K1_EC_COMPRESSED);
    obs_hex_encode(ser, 33, out);
    secp256k1_context_destroy(ctx);
}

void util_sign_hex(const uint8_t sk[32], const uint8_t digest[32], char out[129])
{
    secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    uint8_t ser[64];
    secp256k1_ecdsa_signature sig;
    assert_true(secp256k1_ecdsa_sign(ctx, &sig, digest, sk, NULL, NULL));
    secp256k1_ecdsa_signature_serialize_compact(ctx, ser, &sig);
    obs_hex_encode(ser, 64, out);
    secp256k1_context_destroy(ctx);
}

const char* util_member_key_payload(uint64_t id, const uint8_t sk[32], const uint8_t* old_sk)
{
    static char out[512];
    char pk[67], proof[129], old[129] = "";
    uint8_t d[32];
    util_pub_hex(sk, pk);
    obs_member_key_digest(OBS_KEY_PROOF, "", id, pk, d);
    util_sign_hex(sk, d, proof);
    if (old_sk) {
        obs_member_key_digest(OBS_KEY_CHANGE, "", id, pk, d);
        util_sign_hex(old_sk, d, old);
    }
    snprintf(out, sizeof out,
             "{\"id\":%llu,\"public_key\":\"%s\",\"proof\":\"%s\"%s%s%s}",
             (unsigned long long)id, pk, proof, old_sk ? ",\"old_key_signature\":\"" : "", old,
             old_sk ? "\"" : "");
    return out;
}

struct feed_obs util_fixture_obs(const char *id, enum feed_sport sport, const char *home,
                                 const char *away, int64_t kickoff)
{
    struct feed_obs o = {.kind = FEED_FIXTURE};
    snprintf(o.u.fixture.id, sizeof o.u.fixture.id, "%s", id);
    o.u.fixture.sport = sport;
    snprintf(o.u.fixture.competition, sizeof o.u.fixture.competition, "Premier League");
    snprintf(o.u.fixture.home, sizeof o.u.fixture.home, "%s", home);
    snprintf(o.u.fixture.away, sizeof o.u.fixture.away, "%s", away);
    o.u.fixture.kickoff = kickoff;
    return o;
}

char *util_agreed_payload(const struct feed_obs *o, const uint8_t sk1[32], const uint8_t sk2[32])
{
    uint8_t bytes[FEED_ENCODED_MAX], d[32];
    int len = feed_encode(o, bytes, sizeof bytes, NULL);
    assert_true(len > 0);
    char hex[2 * FEED_ENCODED_MAX + 1], subj[FEED_SUBJECT_MAX], s1[129], s2[129];
    obs_hex_encode(bytes, (size_t)len, hex);
    assert_true(feed_obs_subject(o, subj, sizeof subj) > 0);
    obs_digest("", subj, bytes, (size_t)len, d); /* util_fsm_open names no cluster */
    util_sign_hex(sk1, d, s1);
    util_sign_hex(sk2, d, s2);
    json_t *p = json_pack("{s:s, s:s, s:[{s:i, s:s}, {s:i, s:s}]}", "subject", subj, "bytes",
                          hex, "signatures", "node", 1, "signature", s1, "node", 2,
                          "signature", s2);
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    return text;
}
