/* The LMDB state machine without raft: what each command does, that a refusal changes
 * nothing, that apply is exactly-once (also across a restart, when raft replays its log),
 * idempotency keys, the fixture queries and the validation helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <raft.h>

#include "consensus/fixtures.h"
#include "consensus/fsm.h"
#include "consensus/fsm_internal.h" /* the LMDB env, to see commits */
#include "consensus/members.h"
#include "tests/unit/unit_util.h"

struct ctx
{
    char* dir;
    struct fsm* f;
    struct util_result r;
};

static int setup(void** state)
{
    struct ctx* c = calloc(1, sizeof *c);
    c->dir = util_tmpdir();
    c->f = util_fsm_open(c->dir);
    util_capture_results(c->f, &c->r);
    *state = c;
    return 0;
}

static int teardown(void** state)
{
    struct ctx* c = *state;
    fsm_close(c->f);
    util_rmdir(c->dir);
    free(c);
    return 0;
}

/* Close and reopen the state machine on the same directory (a process restart). */
static void restart(struct ctx* c)
{
    fsm_close(c->f);
    c->f = util_fsm_open(c->dir);
    util_capture_results(c->f, &c->r);
}

#define CREATE(c, idx, id, kickoff)                                 \
    util_apply((c)->f, &(c)->r, (idx), CMD_FIXTURE_CREATE, NULL, 0, \
               util_fixture_json((id), "Ligue 1", (kickoff)))
#define UPDATE(c, idx, json) util_apply((c)->f, &(c)->r, (idx), CMD_FIXTURE_UPDATE, NULL, 0, (json))

static json_t* body_of(struct ctx* c)
{
    json_t* b = json_loads(c->r.body, 0, NULL);
    assert_non_null(b);
    return b;
}

static const char* sfield(json_t* o, const char* k)
{
    const char* s = json_string_value(json_object_get(o, k));
    assert_non_null(s);
    return s;
}

/* Apply @payload as @type at @idx, expect @status, and check that the fixtures did not change
 * while last_applied moved to @idx. */
static void expect_refusal(struct ctx* c,
                           uint64_t idx,
                           uint16_t type,
                           const char* payload,
                           int status)
{
    char* before = util_dump_fixtures(c->f);
    assert_int_equal(util_apply(c->f, &c->r, idx, type, NULL, 0, payload), status);
    json_t* b = body_of(c);
    assert_int_equal(json_integer_value(json_object_get(b, "status")), status);
    assert_non_null(json_string_value(json_object_get(b, "detail")));
    json_decref(b);
    char* after = util_dump_fixtures(c->f);
    assert_string_equal(before, after);
    assert_int_equal(fsm_last_applied(c->f), idx);
    free(before);
    free(after);
}

static void test_create_and_read_back(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(fsm_last_applied(c->f), 0);
    assert_string_equal(fsm_sport(c->f), "football");
    assert_int_equal(CREATE(c, 1, "psg-om", "2026-11-28T16:00:00+01:00"), 201);
    json_t* b = body_of(c);
    assert_string_equal(sfield(b, "id"), "psg-om");
    assert_string_equal(sfield(b, "kickoff"), "2026-11-28T15:00:00Z"); /* normalised to UTC */
    assert_string_equal(sfield(b, "status"), "scheduled");
    assert_int_equal(json_integer_value(json_object_get(b, "version")), 1);
    /* created_at is the leader's time carried in the command (1700000001000 ms). */
    assert_string_equal(sfield(b, "created_at"), "2023-11-14T22:13:21Z");
    assert_string_equal(sfield(b, "updated_at"), "2023-11-14T22:13:21Z");
    json_decref(b);
    assert_int_equal(fsm_last_applied(c->f), 1);
    /* What the reader sees is exactly what the result said. */
    char* stored = util_get_fixture(c->f, "psg-om");
    assert_non_null(stored);
    assert_string_equal(stored, c->r.body);
    free(stored);
    assert_null(util_get_fixture(c->f, "nope"));
}

static void test_create_refusals_change_nothing(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(CREATE(c, 1, "a", "2026-01-01T12:00:00Z"), 201);
    /* Duplicate id. */
    expect_refusal(c, 2, CMD_FIXTURE_CREATE,
                   util_fixture_json("a", "Other", "2026-02-01T12:00:00Z"), 409);
    /* Invalid payloads: 422. */
    expect_refusal(c, 3, CMD_FIXTURE_CREATE,
                   "{\"id\":\"b\",\"sport\":\"football\",\"competition\":\"L1\",\"home\":\"X\"}",
                   422);
    expect_refusal(c, 4, CMD_FIXTURE_CREATE,
                   "{\"id\":\"b\",\"sport\":\"tennis\",\"competition\":\"L1\",\"home\":\"X\","
                   "\"away\":\"Y\",\"kickoff\":\"2026-01-01T12:00:00Z\"}",
                   422);
    expect_refusal(c, 5, CMD_FIXTURE_CREATE,
                   "{\"id\":\"b c\",\"sport\":\"football\",\"competition\":\"L1\",\"home\":\"X\","
                   "\"away\":\"Y\",\"kickoff\":\"2026-01-01T12:00:00Z\"}",
                   422);
    expect_refusal(c, 6, CMD_FIXTURE_CREATE,
                   "{\"id\":\"b\",\"sport\":\"football\",\"competition\":\"L1\",\"home\":\"X\","
                   "\"away\":\"X\",\"kickoff\":\"2026-01-01T12:00:00Z\"}",
                   422);
    expect_refusal(c, 7, CMD_FIXTURE_CREATE,
                   "{\"id\":\"b\",\"sport\":\"football\",\"competition\":\"L1\",\"home\":\"X\","
                   "\"away\":\"Y\",\"kickoff\":\"tomorrow\"}",
                   422);
    expect_refusal(c, 8, CMD_FIXTURE_CREATE,
                   "{\"id\":\"b\",\"sport\":\"football\",\"competition\":\"L1\",\"home\":\"X\","
                   "\"away\":\"Y\",\"kickoff\":\"2026-01-01T12:00:00Z\",\"status\":\"live\"}",
                   422);
    expect_refusal(c, 9, CMD_FIXTURE_CREATE,
                   "{\"id\":\"b\",\"sport\":\"football\",\"competition\":\"L1\",\"home\":\"X\","
                   "\"away\":\"Y\",\"kickoff\":\"2026-01-01T12:00:00Z\",\"extra\":1}",
                   422);
    expect_refusal(c, 10, CMD_FIXTURE_CREATE, "[1,2]", 422);
    /* Not JSON at all: 400. */
    expect_refusal(c, 11, CMD_FIXTURE_CREATE, "{\"id\":", 400);
    expect_refusal(c, 12, CMD_FIXTURE_CREATE, "", 400);
    assert_int_equal(util_count_fixtures(c->f), 1);
}

static void test_update_results(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(CREATE(c, 1, "m", "2026-01-01T12:00:00Z"), 201);
    /* Missing fixture. */
    expect_refusal(c, 2, CMD_FIXTURE_UPDATE, "{\"id\":\"ghost\",\"status\":\"live\"}", 404);
    /* Bad transitions and no-ops. */
    expect_refusal(c, 3, CMD_FIXTURE_UPDATE, "{\"id\":\"m\",\"status\":\"finished\"}", 409);
    expect_refusal(c, 4, CMD_FIXTURE_UPDATE, "{\"id\":\"m\",\"status\":\"scheduled\"}", 409);
    /* Invalid update bodies. */
    expect_refusal(c, 5, CMD_FIXTURE_UPDATE, "{\"id\":\"m\"}", 422);
    expect_refusal(c, 6, CMD_FIXTURE_UPDATE, "{\"id\":\"m\",\"status\":\"paused\"}", 422);
    expect_refusal(c, 7, CMD_FIXTURE_UPDATE, "{\"id\":\"m\",\"home\":\"Z\"}", 422);
    expect_refusal(c, 8, CMD_FIXTURE_UPDATE, "{\"id\":\"m\",\"kickoff\":\"2026-13-01T00:00:00Z\"}",
                   422);
    expect_refusal(c, 9, CMD_FIXTURE_UPDATE, "not json", 400);

    /* A new kick-off while scheduled: 200, version 2, updated_at moves, created_at stays. */
    assert_int_equal(UPDATE(c, 10, "{\"id\":\"m\",\"kickoff\":\"2026-01-02T12:00:00-02:00\"}"),
                     200);
    json_t* b = body_of(c);
    assert_string_equal(sfield(b, "kickoff"), "2026-01-02T14:00:00Z");
    assert_int_equal(json_integer_value(json_object_get(b, "version")), 2);
    assert_string_equal(sfield(b, "created_at"), "2023-11-14T22:13:21Z");
    assert_string_equal(sfield(b, "updated_at"), "2023-11-14T22:13:30Z");
    json_decref(b);

    assert_int_equal(UPDATE(c, 11, "{\"id\":\"m\",\"status\":\"live\"}"), 200);
    /* The kick-off of a live fixture is fixed. */
    expect_refusal(c, 12, CMD_FIXTURE_UPDATE, "{\"id\":\"m\",\"kickoff\":\"2026-01-03T12:00:00Z\"}",
                   409);
    assert_int_equal(UPDATE(c, 13, "{\"id\":\"m\",\"status\":\"finished\"}"), 200);
    b = body_of(c);
    assert_string_equal(sfield(b, "status"), "finished");
    assert_int_equal(json_integer_value(json_object_get(b, "version")), 4);
    json_decref(b);
    /* finished is final. */
    expect_refusal(c, 14, CMD_FIXTURE_UPDATE, "{\"id\":\"m\",\"status\":\"live\"}", 409);
    expect_refusal(c, 15, CMD_FIXTURE_UPDATE, "{\"id\":\"m\",\"status\":\"cancelled\"}", 409);
    char* stored = util_get_fixture(c->f, "m");
    assert_non_null(strstr(stored, "\"version\":4"));
    free(stored);
}

static void test_undecodable_command(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(CREATE(c, 1, "m", "2026-01-01T12:00:00Z"), 201);
    char* before = util_dump_fixtures(c->f);
    /* A valid command with its magic broken, a short buffer and an unknown type. */
    size_t len;
    uint8_t* buf = util_cmd(CMD_FIXTURE_CREATE, NULL, 0, 1,
                            util_fixture_json("x", "L1", "2026-01-01T12:00:00Z"), &len);
    buf[0] ^= 0xff;
    assert_int_equal(fsm_apply(c->f, 2, buf, len), 0);
    assert_int_equal(c->r.status, 400);
    assert_non_null(strstr(c->r.body, "Undecodable"));
    buf[0] ^= 0xff;
    assert_int_equal(fsm_apply(c->f, 3, buf, 17), 0);
    assert_int_equal(c->r.status, 400);
    buf[6] = 99; /* type */
    assert_int_equal(fsm_apply(c->f, 4, buf, len), 0);
    assert_int_equal(c->r.status, 400);
    assert_int_equal(fsm_apply(c->f, 5, NULL, 0), 0);
    assert_int_equal(c->r.status, 400);
    raft_free(buf);
    assert_int_equal(c->r.calls, 5);
    assert_int_equal(fsm_last_applied(c->f), 5);
    char* after = util_dump_fixtures(c->f);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_apply_exactly_once(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(CREATE(c, 5, "a", "2026-01-01T12:00:00Z"), 201);
    unsigned calls = c->r.calls;
    char* before = util_dump_fixtures(c->f);
    /* The same index again, and an older one, are skipped: no result, no change, even for a
     * command that would otherwise succeed. */
    size_t len;
    void* buf =
        util_cmd(CMD_FIXTURE_UPDATE, NULL, 0, 1, "{\"id\":\"a\",\"status\":\"live\"}", &len);
    assert_int_equal(fsm_apply(c->f, 5, buf, len), 0);
    assert_int_equal(fsm_apply(c->f, 3, buf, len), 0);
    assert_int_equal(c->r.calls, calls);
    assert_int_equal(fsm_last_applied(c->f), 5);
    char* after = util_dump_fixtures(c->f);
    assert_string_equal(before, after);
    /* The next index is applied. */
    assert_int_equal(fsm_apply(c->f, 6, buf, len), 0);
    assert_int_equal(c->r.status, 200);
    assert_int_equal(fsm_last_applied(c->f), 6);
    raft_free(buf);
    free(before);
    free(after);
}

/* Raft replays its log after a restart: every entry from the last snapshot (here: all of them)
 * is handed to apply again. Those at or below the stored last_applied must be skipped. */
static void test_exactly_once_across_restart(void** state)
{
    struct ctx* c = *state;
    static const char* upd[] = {"{\"id\":\"f0\",\"status\":\"live\"}",
                                "{\"id\":\"f0\",\"status\":\"finished\"}",
                                "{\"id\":\"f1\",\"kickoff\":\"2026-06-01T20:00:00Z\"}"};
    char ids[8][8];
    /* Entries 1..8 create, 9..11 update; the first batch is flushed, the rest is left open
     * for fsm_close to commit. */
    for (int i = 0; i < 8; i++) {
        snprintf(ids[i], sizeof ids[i], "f%d", i);
        assert_int_equal(CREATE(c, (uint64_t)i + 1, ids[i], "2026-05-01T20:00:00Z"), 201);
    }
    fsm_flush(c->f);
    for (int i = 0; i < 3; i++)
        assert_int_equal(UPDATE(c, 9 + (uint64_t)i, upd[i]), 200);
    char* before = util_dump_fixtures(c->f);
    restart(c);
    assert_int_equal(fsm_last_applied(c->f), 11);
    char* after = util_dump_fixtures(c->f);
    assert_string_equal(before, after);
    /* The replay: all 11 entries again. None may run (creates would answer 409, updates
     * would bump versions). */
    for (int i = 0; i < 11; i++) {
        size_t len;
        void* buf =
            i < 8 ? util_cmd(CMD_FIXTURE_CREATE, NULL, 0, 7,
                             util_fixture_json(ids[i], "Ligue 1", "2026-05-01T20:00:00Z"), &len)
                  : util_cmd(CMD_FIXTURE_UPDATE, NULL, 0, 7, upd[i - 8], &len);
        assert_int_equal(fsm_apply(c->f, (uint64_t)i + 1, buf, len), 0);
        raft_free(buf);
    }
    assert_int_equal(c->r.calls, 0);
    assert_int_equal(fsm_last_applied(c->f), 11);
    fsm_flush(c->f);
    free(after);
    after = util_dump_fixtures(c->f);
    assert_string_equal(before, after);
    /* And once more through another restart with nothing new. */
    restart(c);
    assert_int_equal(fsm_last_applied(c->f), 11);
    free(after);
    after = util_dump_fixtures(c->f);
    assert_string_equal(before, after);
    /* New entries continue from there. */
    assert_int_equal(UPDATE(c, 12, "{\"id\":\"f2\",\"status\":\"postponed\"}"), 200);
    restart(c);
    assert_int_equal(fsm_last_applied(c->f), 12);
    char* f2 = util_get_fixture(c->f, "f2");
    assert_non_null(strstr(f2, "\"status\":\"postponed\""));
    free(f2);
    free(before);
    free(after);
}

static void test_idempotency(void** state)
{
    struct ctx* c = *state;
    const char* p = util_fixture_json("k1", "Ligue 1", "2026-01-01T12:00:00Z");
    char payload[512];
    snprintf(payload, sizeof payload, "%s", p);
    assert_int_equal(util_apply(c->f, &c->r, 1, CMD_FIXTURE_CREATE, "key-A", 0x11, payload), 201);
    char first[sizeof c->r.body];
    snprintf(first, sizeof first, "%s", c->r.body);

    /* A retry (same key, same fingerprint) gets the first answer, not a 409. */
    assert_int_equal(util_apply(c->f, &c->r, 2, CMD_FIXTURE_CREATE, "key-A", 0x11, payload), 201);
    assert_string_equal(c->r.body, first);
    /* Even if the payload differs, the fingerprint decides: nothing is re-applied. */
    assert_int_equal(util_apply(c->f, &c->r, 3, CMD_FIXTURE_CREATE, "key-A", 0x11,
                                util_fixture_json("k2", "Ligue 1", "2026-01-01T12:00:00Z")),
                     201);
    assert_string_equal(c->r.body, first);
    assert_null(util_get_fixture(c->f, "k2"));

    /* Same key, another request: 422, nothing changes. */
    char* before = util_dump_fixtures(c->f);
    assert_int_equal(util_apply(c->f, &c->r, 4, CMD_FIXTURE_CREATE, "key-A", 0x22,
                                util_fixture_json("k3", "Ligue 1", "2026-01-01T12:00:00Z")),
                     422);
    assert_non_null(strstr(c->r.body, "Idempotency"));
    char* after = util_dump_fixtures(c->f);
    assert_string_equal(before, after);

    /* The stored record is the first result. */
    uint8_t fp[32], want[32];
    memset(want, 0x11, sizeof want);
    struct fsm_result res = {0, NULL};
    assert_int_equal(fsm_idem_get(c->f, "key-A", 5, fp, &res), 1);
    assert_int_equal(res.status, 201);
    assert_string_equal(res.body, first);
    assert_memory_equal(fp, want, 32);
    fsm_result_clear(&res);
    assert_int_equal(fsm_idem_get(c->f, "key-B", 5, fp, &res), 0);

    /* A refusal is remembered too: the retry gets the same 409, even after the conflict is
     * gone from the request's point of view. */
    assert_int_equal(util_apply(c->f, &c->r, 5, CMD_FIXTURE_UPDATE, "key-U", 0x33,
                                "{\"id\":\"k1\",\"status\":\"finished\"}"),
                     409);
    snprintf(first, sizeof first, "%s", c->r.body);
    assert_int_equal(util_apply(c->f, &c->r, 6, CMD_FIXTURE_UPDATE, NULL, 0,
                                "{\"id\":\"k1\",\"status\":\"live\"}"),
                     200);
    assert_int_equal(util_apply(c->f, &c->r, 7, CMD_FIXTURE_UPDATE, "key-U", 0x33,
                                "{\"id\":\"k1\",\"status\":\"finished\"}"),
                     409);
    assert_string_equal(c->r.body, first);
    char* k1 = util_get_fixture(c->f, "k1");
    assert_non_null(strstr(k1, "\"status\":\"live\""));
    free(k1);

    /* Records survive a restart. */
    restart(c);
    assert_int_equal(util_apply(c->f, &c->r, 8, CMD_FIXTURE_CREATE, "key-A", 0x11, payload), 201);
    assert_int_equal(util_apply(c->f, &c->r, 9, CMD_FIXTURE_CREATE, "key-A", 0x12, payload), 422);
    free(before);
    free(after);
}

static void test_member_set(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(util_apply(c->f, &c->r, 1, CMD_MEMBER_SET, NULL, 0,
                                "{\"id\":2,\"raft_address\":\"10.0.0.2:9001\","
                                "\"http_address\":\"10.0.0.2:8001\"}"),
                     200);
    assert_int_equal(util_apply(c->f, &c->r, 2, CMD_MEMBER_SET, NULL, 0,
                                "{\"id\":0,\"raft_address\":\"a:1\",\"http_address\":\"a:2\"}"),
                     422);
    assert_int_equal(util_apply(c->f, &c->r, 3, CMD_MEMBER_SET, NULL, 0,
                                "{\"id\":3,\"raft_address\":\"nohost\",\"http_address\":\"a:2\"}"),
                     422);
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t* m = member_get(c->f, txn, 2);
    json_t* all = member_list(c->f, txn);
    fsm_read_end(txn);
    assert_non_null(m);
    assert_string_equal(sfield(m, "http_address"), "10.0.0.2:8001");
    assert_int_equal(json_array_size(all), 1);
    json_decref(m);
    json_decref(all);
}

/* A local failure (here: the LMDB map is full) in the middle of an uncommitted batch. Raft
 * counts the entries before the failing one as applied and never hands them over again, so
 * they must stay, and last_applied must stop just before the failing entry. (The batch used
 * to be thrown away: last_applied went back to the last commit and raft's retry then wrote the
 * failing entry's index over the hole, silently losing the entries in between.) */
static void test_local_failure_keeps_earlier_entries(void** state)
{
    (void)state;
    char* dir = util_tmpdir();
    struct fsm* f = util_fsm_open_size(dir, 64 * 1024);
    struct util_result r;
    util_capture_results(f, &r);
    uint64_t idx, flushed = 0;
    int rv = 0;
    for (idx = 1; idx < 5000; idx++) {
        char id[16];
        snprintf(id, sizeof id, "fx%04u", (unsigned)idx);
        size_t len;
        void* buf = util_cmd(CMD_FIXTURE_CREATE, id, 1, 1,
                             util_fixture_json(id, "L1", "2026-01-01T00:00:00Z"), &len);
        rv = fsm_apply(f, idx, buf, len);
        raft_free(buf);
        if (rv != 0)
            break;
        if (idx % 10 == 0) {
            fsm_flush(f);
            flushed = idx;
        }
    }
    assert_int_equal(rv, RAFT_NOSPACE);
    assert_true(idx > flushed + 1); /* the failure hit an open batch with entries in it */
    assert_int_equal(fsm_apply_errors(f), 1);
    assert_int_equal(fsm_last_applied(f), idx - 1);
    assert_int_equal(r.calls, idx - 1);
    assert_int_equal(util_count_fixtures(f), idx - 1);
    /* Raft retries the same entry: still no room, still nothing changes. */
    size_t len;
    void* buf = util_cmd(CMD_FIXTURE_CREATE, "again", 1, 1,
                         util_fixture_json("again", "L1", "2026-01-01T00:00:00Z"), &len);
    assert_int_not_equal(fsm_apply(f, idx, buf, len), 0);
    raft_free(buf);
    assert_int_equal(fsm_last_applied(f), idx - 1);
    /* And all of it is in the database, not only in memory. */
    fsm_close(f);
    f = util_fsm_open_size(dir, 64 * 1024);
    assert_int_equal(fsm_last_applied(f), idx - 1);
    assert_int_equal(util_count_fixtures(f), idx - 1);
    char id[16];
    snprintf(id, sizeof id, "fx%04u", (unsigned)(idx - 1));
    char* last = util_get_fixture(f, id);
    assert_non_null(last);
    free(last);
    fsm_close(f);
    util_rmdir(dir);
}

/* fsm_defer: a client is answered only once its write is committed to LMDB. Without a loop
 * the batch is committed at once; with a loop, on the loop's next idle turn. */
struct deferred
{
    struct fsm* f;
    size_t committed_txn; /* LMDB's last committed transaction id when the callback ran */
    unsigned calls, order;
};

static void on_deferred(void* arg)
{
    struct deferred* d = arg;
    MDB_envinfo info;
    mdb_env_info(d->f->env, &info);
    d->committed_txn = info.me_last_txnid;
    d->order = ++d->calls;
}

static size_t last_txnid(struct fsm* f)
{
    MDB_envinfo info;
    mdb_env_info(f->env, &info);
    return info.me_last_txnid;
}

static void test_defer_runs_after_commit(void** state)
{
    struct ctx* c = *state;
    size_t t0 = last_txnid(c->f);
    assert_int_equal(CREATE(c, 1, "d1", "2026-01-01T12:00:00Z"), 201);
    assert_int_equal(last_txnid(c->f), t0); /* still in the open batch */
    struct deferred d = {.f = c->f};
    fsm_defer(c->f, on_deferred, &d);
    assert_int_equal(d.calls, 1);
    assert_true(d.committed_txn > t0);

    /* With a loop: nothing until the loop turns, then commit, then the callbacks in order. */
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    char* dir = util_tmpdir();
    struct fsm_options o = {.dir = dir, .map_size = 16u << 20, .sport = "football", .loop = &loop};
    struct fsm* f;
    char err[128];
    assert_int_equal(fsm_open(&f, &o, err, sizeof err), 0);
    struct util_result r;
    util_capture_results(f, &r);
    size_t t1 = last_txnid(f);
    assert_int_equal(util_apply(f, &r, 1, CMD_FIXTURE_CREATE, NULL, 0,
                                util_fixture_json("d2", "L1", "2026-01-01T12:00:00Z")),
                     201);
    struct deferred a = {.f = f}, b = {.f = f};
    fsm_defer(f, on_deferred, &a);
    fsm_defer(f, on_deferred, &b);
    assert_int_equal(a.calls + b.calls, 0);
    assert_int_equal(last_txnid(f), t1);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_true(a.committed_txn > t1);
    fsm_close(f);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    util_rmdir(dir);
}

/* ---- LMDB writeback ---- */

/* Dirty pages of a file, by cachestat(2) (Linux 6.5; bookworm's headers and glibc 2.36 know
 * neither its number, the same 451 on every architecture, nor a wrapper). -1 if the kernel
 * cannot tell. */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif
static long file_dirty_pages(const char* path)
{
    struct
    {
        uint64_t off, len;
    } range = {0, 0};
    struct
    {
        uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
    } cs;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long rv = syscall(__NR_cachestat, fd, &range, &cs, 0);
    close(fd);
    return rv == 0 ? (long)cs.nr_dirty : -1;
}

static void fill(struct fsm* f, const char* tag)
{
    struct util_result r;
    util_capture_results(f, &r);
    for (int i = 1; i <= 300; i++)
    {
        char id[32];
        snprintf(id, sizeof id, "%s-%d", tag, i);
        assert_int_equal(util_apply(f, &r, (uint64_t)i, CMD_FIXTURE_CREATE, NULL, 0,
                                    util_fixture_json(id, "Ligue 1", "2026-01-01T12:00:00Z")),
                         201);
    }
    assert_int_equal(fsm_flush(f), 0);
}

/* With MDB_NOSYNC the data file's pages stay dirty in the page cache until the kernel's flusher
 * takes them (30 s old, or a tenth of memory: gigabytes at once under the bets workload). The
 * fsm's writeback thread hands them to the disk every writeback_ms: without it the pages are
 * still dirty, with it they are written within a few passes. */
static void test_writeback_thread(void** state)
{
    (void)state;
    char err[256];
    char* dir0 = util_tmpdir();
    char* dir1 = util_tmpdir();
    struct fsm *f0, *f1;
    struct fsm_options o0 = {.dir = dir0, .map_size = 16u << 20, .sport = "football"};
    struct fsm_options o1 = {
        .dir = dir1, .map_size = 16u << 20, .sport = "football", .writeback_ms = 20};
    assert_int_equal(fsm_open(&f0, &o0, err, sizeof err), 0);
    assert_int_equal(fsm_open(&f1, &o1, err, sizeof err), 0);
    if (!f1->nosync)
    {
        fsm_close(f0);
        fsm_close(f1);
        util_rmdir(dir0);
        util_rmdir(dir1);
        skip(); /* no boot id: LMDB syncs itself, there is no thread */
    }
    fill(f0, "a");
    fill(f1, "b");
    char p0[600], p1[600];
    snprintf(p0, sizeof p0, "%s/data.mdb", dir0);
    snprintf(p1, sizeof p1, "%s/data.mdb", dir1);
    long d0 = file_dirty_pages(p0);
    /* Wait (up to 10 s) for the thread's passes and for the file's pages to be clean. */
    long d1 = -1;
    for (int i = 0; i < 1000; i++)
    {
        d1 = file_dirty_pages(p1);
        if (fsm_writeback_passes(f1) >= 3 && d1 == 0)
            break;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    assert_true(fsm_writeback_passes(f1) >= 3);
    assert_int_equal(fsm_writeback_passes(f0), 0);
    if (d0 > 0)
    {
        /* The kernel can tell (cachestat): the file without the thread is still dirty (its
         * pages are younger than the flusher's 30 s), the one with it is clean. */
        assert_int_equal(d1, 0);
        d0 = file_dirty_pages(p0);
        assert_true(d0 > 0);
    }
    else
        print_message("cachestat cannot tell dirty pages here (%ld): passes only\n", d0);
    /* The thread stops with the fsm: joined by fsm_close (the sanitizer build would report a
     * thread or memory left behind). */
    fsm_close(f0);
    fsm_close(f1);
    util_rmdir(dir0);
    util_rmdir(dir1);
}

/* ---- queries ---- */

static json_t* list(struct ctx* c, const struct fixture_filter* flt)
{
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t* out = fixture_list(c->f, txn, flt);
    fsm_read_end(txn);
    assert_non_null(out);
    return out;
}

/* "id,id,..." of a list answer. */
static void ids_of(json_t* out, char* buf, size_t n)
{
    buf[0] = 0;
    size_t i;
    json_t* fx;
    json_array_foreach(json_object_get(out, "items"), i, fx)
    {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s", i ? "," : "", sfield(fx, "id"));
    }
}

static void populate(struct ctx* c)
{
    /* Inserted out of order; keys sort as strings. */
    static const struct
    {
        const char *id, *comp, *kickoff;
    } fx[] = {
        {"g05", "L1", "2026-03-05T20:00:00Z"}, {"g01", "L1", "2026-03-01T20:00:00Z"},
        {"g03", "PL", "2026-03-03T20:00:00Z"}, {"g02", "L1", "2026-03-02T20:00:00Z"},
        {"g04", "PL", "2026-03-04T20:00:00Z"}, {"g06", "L1", "2026-03-06T20:00:00Z"},
        {"g07", "PL", "2026-03-07T20:00:00Z"},
    };
    uint64_t idx = 1;
    for (size_t i = 0; i < sizeof fx / sizeof *fx; i++)
        assert_int_equal(util_apply(c->f, &c->r, idx++, CMD_FIXTURE_CREATE, NULL, 0,
                                    util_fixture_json(fx[i].id, fx[i].comp, fx[i].kickoff)),
                         201);
    assert_int_equal(UPDATE(c, idx++, "{\"id\":\"g02\",\"status\":\"live\"}"), 200);
    assert_int_equal(UPDATE(c, idx++, "{\"id\":\"g04\",\"status\":\"postponed\"}"), 200);
    assert_int_equal(UPDATE(c, idx++, "{\"id\":\"g06\",\"status\":\"live\"}"), 200);
}

static void check_list(struct ctx* c,
                       const struct fixture_filter* flt,
                       const char* want_ids,
                       const char* want_next)
{
    json_t* out = list(c, flt);
    char got[512];
    ids_of(out, got, sizeof got);
    assert_string_equal(got, want_ids);
    json_t* next = json_object_get(out, "next");
    if (want_next)
        assert_string_equal(json_string_value(next), want_next);
    else
        assert_true(json_is_null(next));
    json_decref(out);
}

static int64_t t_of(const char* s)
{
    int64_t t;
    assert_int_equal(fixture_parse_time(s, &t), 0);
    return t;
}

static void test_list_filters(void** state)
{
    struct ctx* c = *state;
    populate(c);
    check_list(c, &(struct fixture_filter){.limit = 50}, "g01,g02,g03,g04,g05,g06,g07", NULL);
    check_list(c, &(struct fixture_filter){.limit = 50, .competition = "PL"}, "g03,g04,g07", NULL);
    check_list(c, &(struct fixture_filter){.limit = 50, .status = "live"}, "g02,g06", NULL);
    check_list(c, &(struct fixture_filter){.limit = 50, .status = "scheduled", .competition = "L1"},
               "g01,g05", NULL);
    check_list(c, &(struct fixture_filter){.limit = 50, .sport = "football", .status = "postponed"},
               "g04", NULL);
    check_list(c, &(struct fixture_filter){.limit = 50, .sport = "tennis"}, "", NULL);
    check_list(c, &(struct fixture_filter){.limit = 50, .status = "finished"}, "", NULL);
    /* from is inclusive, to is exclusive. */
    check_list(
        c,
        &(struct fixture_filter){
            .limit = 50, .from = t_of("2026-03-03T20:00:00Z"), .to = t_of("2026-03-06T20:00:00Z")},
        "g03,g04,g05", NULL);
    check_list(c, &(struct fixture_filter){.limit = 50, .from = t_of("2026-03-06T20:00:01Z")},
               "g07", NULL);
    check_list(c, &(struct fixture_filter){.limit = 50, .to = t_of("2026-03-02T20:00:00Z")}, "g01",
               NULL);
    check_list(c,
               &(struct fixture_filter){
                   .limit = 50, .competition = "L1", .from = t_of("2026-03-02T00:00:00+02:00")},
               "g02,g05,g06", NULL);
}

static void test_list_paging(void** state)
{
    struct ctx* c = *state;
    populate(c);
    check_list(c, &(struct fixture_filter){.limit = 3}, "g01,g02,g03", "g03");
    check_list(c, &(struct fixture_filter){.limit = 3, .after = "g03"}, "g04,g05,g06", "g06");
    check_list(c, &(struct fixture_filter){.limit = 3, .after = "g06"}, "g07", NULL);
    check_list(c, &(struct fixture_filter){.limit = 3, .after = "g07"}, "", NULL);
    /* Exactly `limit` left: no next cursor. */
    check_list(c, &(struct fixture_filter){.limit = 4, .after = "g03"}, "g04,g05,g06,g07", NULL);
    /* A cursor that is not an existing id, before the first and after the last. */
    check_list(c, &(struct fixture_filter){.limit = 2, .after = "g035"}, "g04,g05", "g05");
    check_list(c, &(struct fixture_filter){.limit = 2, .after = "a"}, "g01,g02", "g02");
    check_list(c, &(struct fixture_filter){.limit = 2, .after = "z"}, "", NULL);
    /* Paging through a filtered list: the cursor counts only matches. */
    check_list(c, &(struct fixture_filter){.limit = 1, .competition = "PL"}, "g03", "g03");
    check_list(c, &(struct fixture_filter){.limit = 1, .competition = "PL", .after = "g03"}, "g04",
               "g04");
    check_list(c, &(struct fixture_filter){.limit = 1, .competition = "PL", .after = "g04"}, "g07",
               NULL);
    /* Following next from the start visits every fixture once, in order. */
    for (unsigned limit = 1; limit <= 8; limit++) {
        char all[512] = "", cursor[64] = "";
        unsigned pages = 0;
        for (;;) {
            json_t* out = list(
                c, &(struct fixture_filter){.limit = limit, .after = cursor[0] ? cursor : NULL});
            char page[512];
            ids_of(out, page, sizeof page);
            if (all[0] && page[0])
                strcat(all, ",");
            assert_true(strlen(all) + strlen(page) < sizeof all);
            strcat(all, page);
            pages++;
            json_t* next = json_object_get(out, "next");
            if (json_is_null(next)) {
                json_decref(out);
                break;
            }
            snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
            json_decref(out);
            assert_true(pages < 20);
        }
        assert_string_equal(all, "g01,g02,g03,g04,g05,g06,g07");
        assert_int_equal(pages, (7 + limit - 1) / limit);
    }
}

/* ---- validation helpers ---- */

/* The crash marker (fsm.c): LMDB runs without fsync, so a database left unclean by a machine
 * crash (a different kernel boot id) is thrown away and rebuilt from raft, while one left by a
 * process crash (same boot: the page cache kept every write) is kept. */
static void write_marker(const char* dir, const char* boot, int clean)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/state", dir);
    FILE* fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "boot=%s clean=%d\n", boot, clean);
    fclose(fp);
}

static void test_crash_marker(void** state)
{
    struct ctx* c = *state;
    char boot[64] = "";
    FILE* fp = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!fp || !fgets(boot, sizeof boot, fp)) {
        if (fp)
            fclose(fp);
        skip(); /* no boot id: the state machine keeps LMDB's own syncing */
    }
    fclose(fp);
    boot[strcspn(boot, "\n")] = 0;
    assert_int_equal(CREATE(c, 1, "crash-a", "2026-12-01T20:00:00Z"), 201);
    fsm_flush(c->f);
    restart(c); /* clean close and reopen */
    assert_int_equal(fsm_last_applied(c->f), 1);

    fsm_close(c->f);
    write_marker(c->dir, boot, 0); /* kill -9 on this boot */
    c->f = util_fsm_open(c->dir);
    util_capture_results(c->f, &c->r);
    assert_int_equal(fsm_last_applied(c->f), 1);
    char* kept = util_dump_fixtures(c->f);
    assert_non_null(strstr(kept, "crash-a"));
    free(kept);

    fsm_close(c->f);
    write_marker(c->dir, "00000000-0000-0000-0000-000000000000", 0); /* machine crash */
    c->f = util_fsm_open(c->dir);
    util_capture_results(c->f, &c->r);
    assert_int_equal(fsm_last_applied(c->f), 0); /* rebuilt: raft replays from its snapshot */
    char* wiped = util_dump_fixtures(c->f);
    assert_null(strstr(wiped, "crash-a"));
    free(wiped);
    /* ... and raft's replay of entry 1 rebuilds the same state. */
    assert_int_equal(CREATE(c, 1, "crash-a", "2026-12-01T20:00:00Z"), 201);
    assert_int_equal(fsm_last_applied(c->f), 1);
}

/* Idempotency records are forgotten after their TTL: CMD_IDEM_EXPIRE carries the cut-off (the
 * leader's clock), deletes exactly the older records, and reports how many. */
static void test_idempotency_expiry(void** state)
{
    struct ctx* c = *state;
    /* util_apply stamps entry i with time 1700000000000 + i * 1000 ms. */
    assert_int_equal(util_apply(c->f, &c->r, 1, CMD_FIXTURE_CREATE, "k1", 1,
                                util_fixture_json("e1", "L1", "2026-12-01T20:00:00Z")),
                     201);
    assert_int_equal(util_apply(c->f, &c->r, 2, CMD_FIXTURE_CREATE, "k2", 2,
                                util_fixture_json("e2", "L1", "2026-12-01T20:00:00Z")),
                     201);
    assert_int_equal(util_apply(c->f, &c->r, 3, CMD_FIXTURE_CREATE, "k3", 3,
                                util_fixture_json("e3", "L1", "2026-12-01T20:00:00Z")),
                     201);
    fsm_flush(c->f);
    uint64_t oldest = 0;
    assert_int_equal(fsm_idem_oldest(c->f, &oldest), 0);
    assert_int_equal(oldest, 1700000001000ull);
    /* Forget what is older than entry 3's time: k1 and k2. */
    assert_int_equal(util_apply(c->f, &c->r, 4, CMD_IDEM_EXPIRE, NULL, 0,
                                "{\"before_ms\":1700000003000}"),
                     200);
    assert_non_null(strstr(c->r.body, "\"expired\":2"));
    uint8_t fp[32];
    struct fsm_result res = {0, NULL};
    assert_int_equal(fsm_idem_get(c->f, "k1", 2, fp, &res), 0);
    assert_int_equal(fsm_idem_get(c->f, "k2", 2, fp, &res), 0);
    assert_int_equal(fsm_idem_get(c->f, "k3", 2, fp, &res), 1);
    assert_int_equal(res.status, 201);
    fsm_result_clear(&res);
    assert_int_equal(fsm_idem_oldest(c->f, &oldest), 0);
    assert_int_equal(oldest, 1700000003000ull);
    /* The fixtures themselves stay; a retry with an expired key is a new request now. */
    assert_int_equal(util_apply(c->f, &c->r, 5, CMD_FIXTURE_CREATE, "k1", 1,
                                util_fixture_json("e1", "L1", "2026-12-01T20:00:00Z")),
                     409);
    /* A malformed cut-off is refused and deletes nothing. */
    assert_int_equal(util_apply(c->f, &c->r, 6, CMD_IDEM_EXPIRE, NULL, 0, "{\"before_ms\":-1}"),
                     422);
    assert_int_equal(fsm_idem_get(c->f, "k3", 2, fp, &res), 1);
    fsm_result_clear(&res);
}

static void test_parse_time(void** state)
{
    (void)state;
    static const struct
    {
        const char* s;
        int ok;
        int64_t t;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 1, 0},
        {"2026-11-28T15:00:00Z", 1, 1795878000},
        {"2026-11-28t15:00:00z", 1, 1795878000},
        {"2026-11-28T16:00:00+01:00", 1, 1795878000},
        {"2026-11-28T10:30:00-04:30", 1, 1795878000},
        {"2026-11-29T14:59:00+23:59", 1, 1795878000},
        {"2026-11-28T15:00:00.123Z", 1, 1795878000},
        {"2026-11-28T15:00:00.5+00:00", 1, 1795878000},
        {"2024-02-29T00:00:00Z", 1, 1709164800}, /* leap year */
        {"2000-02-29T00:00:00Z", 1, 951782400},  /* divisible by 400 */
        {"2024-12-31T23:59:59Z", 1, 1735689599},
        {"2016-12-31T23:59:60Z", 1, 1483228800}, /* leap second: the next second */
        {"2023-02-29T00:00:00Z", 0, 0},          /* not a leap year */
        {"2100-02-29T00:00:00Z", 0, 0},          /* divisible by 100 */
        {"2026-04-31T00:00:00Z", 0, 0},
        {"2026-00-10T00:00:00Z", 0, 0},
        {"2026-13-10T00:00:00Z", 0, 0},
        {"2026-01-00T00:00:00Z", 0, 0},
        {"2026-01-32T00:00:00Z", 0, 0},
        {"2026-01-01T24:00:00Z", 0, 0},
        {"2026-01-01T00:60:00Z", 0, 0},
        {"2026-01-01T00:00:61Z", 0, 0},
        {"1969-12-31T23:59:59Z", 0, 0},
        {"1970-01-01T00:30:00+01:00", 0, 0}, /* 1969 once the offset is applied */
        {"1970-01-01T00:30:00-01:00", 1, 5400},
        {"2026-01-01T00:00:00", 0, 0}, /* no zone */
        {"2026-01-01 00:00:00Z", 0, 0},
        {"2026-01-01T00:00:00+0100", 0, 0},
        {"2026-01-01T00:00:00+01", 0, 0},
        {"2026-01-01T00:00:00+24:00", 0, 0},
        {"2026-01-01T00:00:00+01:60", 0, 0},
        {"2026-01-01T00:00:00Zjunk", 0, 0},
        {"2026-01-01T00:00:00.Z", 0, 0},
        {"2026-1-01T00:00:00Z", 0, 0},
        {"2026/01/01T00:00:00Z", 0, 0},
        {"+026-01-01T00:00:00Z", 0, 0},
        {"tomorrow at noon, ok?", 0, 0},
        {"", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t t = -12345;
        int rv = fixture_parse_time(cases[i].s, &t);
        if (cases[i].ok) {
            if (rv != 0 || t != cases[i].t)
                fail_msg("'%s': rv=%d t=%lld, want %lld", cases[i].s, rv, (long long)t,
                         (long long)cases[i].t);
        } else if (rv == 0) {
            fail_msg("'%s' was accepted (t=%lld)", cases[i].s, (long long)t);
        }
    }
}

static void test_transition_table(void** state)
{
    (void)state;
    static const char* const st[] = {"scheduled", "live", "finished", "postponed", "cancelled"};
    /* allowed[from][to] */
    static const int allowed[5][5] = {
        /*            sch live fin post canc */
        /* sch  */ {0, 1, 0, 1, 1},
        /* live */ {0, 0, 1, 0, 1},
        /* fin  */ {0, 0, 0, 0, 0},
        /* post */ {1, 0, 0, 0, 1},
        /* canc */ {0, 0, 0, 0, 0},
    };
    for (int i = 0; i < 5; i++) {
        assert_true(fixture_status_valid(st[i]));
        for (int j = 0; j < 5; j++)
            if (fixture_transition_ok(st[i], st[j]) != (allowed[i][j] != 0))
                fail_msg("%s -> %s", st[i], st[j]);
        assert_false(fixture_transition_ok(st[i], "unknown"));
        assert_false(fixture_transition_ok("unknown", st[i]));
    }
    assert_false(fixture_status_valid("Scheduled"));
    assert_false(fixture_status_valid(""));
    assert_true(fixture_id_valid("psg-om_2026.1", 13));
    assert_false(fixture_id_valid("", 0));
    assert_false(fixture_id_valid("a/b", 3));
    char longid[FIXTURE_ID_MAX + 2];
    memset(longid, 'a', sizeof longid);
    assert_true(fixture_id_valid(longid, FIXTURE_ID_MAX));
    assert_false(fixture_id_valid(longid, FIXTURE_ID_MAX + 1));
}

/* A kick-off is normalised to the same instant in UTC; one the state machine cannot represent
 * (before 1970 once its offset is applied) is refused, never stored as garbage (it used to be
 * stored as "584556019-04-03T13:55:51Z"). */
static void test_kickoff_normalisation(void** state)
{
    (void)state;
    char detail[256];
    json_t* b =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", "x", "sport", "football", "competition",
                  "L1", "home", "A", "away", "B", "kickoff", "2026-03-29T02:30:00+05:45");
    assert_int_equal(fixture_check_create(b, "football", detail, sizeof detail), 0);
    assert_string_equal(sfield(b, "kickoff"), "2026-03-28T20:45:00Z");
    assert_string_equal(sfield(b, "status"), "scheduled");
    json_decref(b);
    b = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", "x", "sport", "football", "competition",
                  "L1", "home", "A", "away", "B", "kickoff", "1970-01-01T00:30:00+01:00");
    int rv = fixture_check_create(b, "football", detail, sizeof detail);
    json_decref(b);
    assert_int_equal(rv, -1);
    assert_non_null(strstr(detail, "kickoff"));
    /* No fixtures on a cluster without a sport. */
    b = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", "x", "sport", "football", "competition",
                  "L1", "home", "A", "away", "B", "kickoff", "2026-01-01T00:00:00Z");
    assert_int_equal(fixture_check_create(b, NULL, detail, sizeof detail), -1);
    json_decref(b);
}

/* ---- batches (CMD_BATCH: the proposals of one loop iteration in one entry) ---------------- */

/* What the entry hook and the apply listener saw. */
struct seen
{
    unsigned n_hook, n_listen;
    uint64_t index[64];
    uint32_t pos[64];
    int status[64];
    char body[64][512];
    unsigned type[64];
    int lstatus[64];
};

static void seen_hook(void* ctx, uint64_t index, uint32_t pos, const struct fsm_result* res)
{
    struct seen* s = ctx;
    assert_true(s->n_hook < 64);
    s->index[s->n_hook] = index;
    s->pos[s->n_hook] = pos;
    s->status[s->n_hook] = res->status;
    snprintf(s->body[s->n_hook], sizeof s->body[0], "%s", res->body ? res->body : "");
    s->n_hook++;
}

static void seen_listener(void* ctx, uint64_t index, unsigned type, const struct fsm_result* res)
{
    struct seen* s = ctx;
    (void)index;
    assert_true(s->n_listen < 64);
    s->type[s->n_listen] = type;
    s->lstatus[s->n_listen] = res->status;
    s->n_listen++;
}

static void seen_attach(struct fsm* f, struct seen* s)
{
    memset(s, 0, sizeof *s);
    fsm_set_entry_hook(f, seen_hook, s);
    fsm_set_apply_listener(f, seen_listener, s);
}

/* One sub-command: type, idempotency key (or NULL), fingerprint byte, payload. */
struct sub
{
    uint16_t type;
    const char* idem;
    uint8_t fp;
    const char* payload;
};

static void* batch_of(const struct sub* subs, unsigned n, size_t* len)
{
    struct cmd c[16];
    assert_true(n <= 16);
    for (unsigned i = 0; i < n; i++) {
        c[i] = (struct cmd){.type = subs[i].type,
                            .time_ms = 1700000000000ull + i,
                            .idem = subs[i].idem,
                            .idem_len = subs[i].idem ? strlen(subs[i].idem) : 0,
                            .payload = subs[i].payload,
                            .payload_len = strlen(subs[i].payload)};
        memset(c[i].fingerprint, subs[i].fp, 32);
    }
    void* buf;
    assert_int_equal(cmd_batch_encode(c, n, 1700000000000ull, &buf, len), CMD_OK);
    return buf;
}

static char* fx(const char* id)
{
    return strdup(util_fixture_json(id, "Ligue 1", "2026-03-01T20:00:00Z"));
}

static void test_batch_results_per_command(void** state)
{
    struct ctx* c = *state;
    struct seen s;
    seen_attach(c->f, &s);
    char *a = fx("ba"), *b = fx("bb"), *cc = fx("bc");
    struct sub subs[] = {
        {CMD_FIXTURE_CREATE, NULL, 0, a},
        {CMD_FIXTURE_CREATE, NULL, 0, b},
        {CMD_FIXTURE_UPDATE, NULL, 0, "{\"id\":\"ba\",\"status\":\"live\"}"},
        {CMD_FIXTURE_CREATE, NULL, 0, a},                           /* exists: 409 */
        {CMD_FIXTURE_UPDATE, NULL, 0, "{\"id\":\"zz\",\"status\":\"live\"}"}, /* 404 */
        {CMD_FIXTURE_CREATE, NULL, 0, cc},
    };
    size_t len;
    void* buf = batch_of(subs, 6, &len);
    assert_int_equal(fsm_apply(c->f, 1, buf, len), 0);
    /* One result per command, in order, each with its position in the entry. */
    static const int want[] = {201, 201, 200, 409, 404, 201};
    assert_int_equal(s.n_hook, 6);
    assert_int_equal(s.n_listen, 6);
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(s.index[i], 1);
        assert_int_equal(s.pos[i], i);
        assert_int_equal(s.status[i], want[i]);
        assert_int_equal(s.type[i], subs[i].type);
        assert_int_equal(s.lstatus[i], want[i]);
    }
    assert_non_null(strstr(s.body[2], "\"status\":\"live\""));
    assert_non_null(strstr(s.body[2], "\"version\":2")); /* saw the create before it */
    /* The index-only hook is called per command too. */
    assert_int_equal(c->r.calls, 6);
    assert_int_equal(c->r.index, 1);
    assert_int_equal(c->r.status, 201);
    /* last_applied counts the entry once; the next entry is 2. */
    assert_int_equal(fsm_last_applied(c->f), 1);
    assert_int_equal(util_count_fixtures(c->f), 3);
    char* got = util_get_fixture(c->f, "ba");
    assert_non_null(strstr(got, "\"status\":\"live\""));
    free(got);
    /* A replay of the entry (after a restart) is skipped as a whole. */
    char* before = util_dump_fixtures(c->f);
    restart(c);
    seen_attach(c->f, &s);
    assert_int_equal(fsm_apply(c->f, 1, buf, len), 0);
    assert_int_equal(s.n_hook, 0);
    assert_int_equal(s.n_listen, 0);
    char* after = util_dump_fixtures(c->f);
    assert_string_equal(before, after);
    /* A plain entry after a batch: position 0. */
    assert_int_equal(UPDATE(c, 2, "{\"id\":\"bb\",\"status\":\"postponed\"}"), 200);
    assert_int_equal(s.n_hook, 1);
    assert_int_equal(s.pos[0], 0);
    assert_int_equal(s.type[0], CMD_FIXTURE_UPDATE);
    free(before);
    free(after);
    free(buf);
    free(a);
    free(b);
    free(cc);
}

static void test_batch_idempotency(void** state)
{
    struct ctx* c = *state;
    struct seen s;
    seen_attach(c->f, &s);
    char *x = fx("ix"), *y = fx("iy"), *z = fx("iz");
    struct sub subs[] = {
        {CMD_FIXTURE_CREATE, "K", 0x11, x},
        {CMD_FIXTURE_CREATE, "K", 0x11, x}, /* a retry in the same batch: the first answer */
        {CMD_FIXTURE_CREATE, "K", 0x22, y}, /* the key reused for another request: 422 */
        {CMD_FIXTURE_CREATE, "K2", 0x33, z},
        {CMD_FIXTURE_CREATE, "K3", 0x44, x}, /* another key, same fixture: 409 */
    };
    size_t len;
    void* buf = batch_of(subs, 5, &len);
    assert_int_equal(fsm_apply(c->f, 1, buf, len), 0);
    free(buf);
    assert_int_equal(s.n_hook, 5);
    assert_int_equal(s.status[0], 201);
    assert_int_equal(s.status[1], 201);
    assert_string_equal(s.body[0], s.body[1]);
    assert_int_equal(s.status[2], 422);
    assert_non_null(strstr(s.body[2], "Idempotency key reused"));
    assert_int_equal(s.status[3], 201);
    assert_int_equal(s.status[4], 409);
    assert_int_equal(util_count_fixtures(c->f), 2);
    assert_null(util_get_fixture(c->f, "iy"));
    /* Each command kept its own record: a later retry of each gets its own answer. */
    uint8_t fp[32];
    struct fsm_result res = {0, NULL};
    assert_int_equal(fsm_idem_get(c->f, "K", 1, fp, &res), 1);
    assert_int_equal(fp[0], 0x11);
    assert_int_equal(res.status, 201);
    assert_string_equal(res.body, s.body[0]);
    assert_int_equal(fsm_idem_get(c->f, "K3", 2, fp, &res), 1);
    assert_int_equal(res.status, 409);
    fsm_result_clear(&res);
    /* And a retry in a later batch, next to a new command. */
    char k2_answer[512];
    snprintf(k2_answer, sizeof k2_answer, "%s", s.body[3]);
    seen_attach(c->f, &s);
    struct sub again[] = {{CMD_FIXTURE_CREATE, "K2", 0x33, z}, {CMD_FIXTURE_CREATE, "K4", 0x55, y}};
    buf = batch_of(again, 2, &len);
    assert_int_equal(fsm_apply(c->f, 2, buf, len), 0);
    free(buf);
    assert_int_equal(s.status[0], 201);
    assert_string_equal(s.body[0], k2_answer);
    assert_int_equal(s.status[1], 201);
    assert_int_equal(util_count_fixtures(c->f), 3);
    free(x);
    free(y);
    free(z);
}

/* A malformed batch is refused whole, alike on every state machine: one result for the whole
 * entry (FSM_POS_ENTRY), the listener once with type 0, nothing written but last_applied. */
static void test_batch_malformed_refused(void** state)
{
    (void)state;
    char* dirs[2] = {util_tmpdir(), util_tmpdir()};
    struct fsm* fs[2];
    struct util_result r[2];
    struct seen s[2];
    char* a = fx("ma");
    struct sub subs[] = {{CMD_FIXTURE_CREATE, "M1", 1, a},
                         {CMD_FIXTURE_UPDATE, NULL, 0, "{\"id\":\"ma\",\"status\":\"live\"}"}};
    size_t len;
    uint8_t* good = batch_of(subs, 2, &len);
    /* Damage: a sub-command's magic, its type made a batch, a quote round (not batchable),
     * the count, a reserved byte, a truncated item. */
    size_t at_sub = CMD_HEADER_SIZE + CMD_BATCH_HEADER + CMD_BATCH_ITEM_HEADER;
    struct
    {
        size_t off;
        uint8_t val;
    } damage[] = {{at_sub + 0, 0x00},
                  {at_sub + 6, CMD_BATCH},
                  {at_sub + 6, CMD_QUOTE_ROUND},
                  {CMD_HEADER_SIZE + 0, 3},
                  {CMD_HEADER_SIZE + 4, 1},
                  {CMD_HEADER_SIZE + CMD_BATCH_HEADER, 0xff}};
    enum { N = sizeof damage / sizeof *damage };
    char* dumps[2];
    for (int k = 0; k < 2; k++) {
        fs[k] = util_fsm_open(dirs[k]);
        util_capture_results(fs[k], &r[k]);
        seen_attach(fs[k], &s[k]);
        for (unsigned i = 0; i < N; i++) {
            uint8_t* bad = malloc(len);
            memcpy(bad, good, len);
            bad[damage[i].off] = damage[i].val;
            assert_int_equal(fsm_apply(fs[k], i + 1, bad, len), 0);
            free(bad);
            assert_int_equal(s[k].n_hook, i + 1);
            assert_int_equal(s[k].n_listen, i + 1);
            assert_int_equal(s[k].pos[i], FSM_POS_ENTRY);
            assert_int_equal(s[k].status[i], 400);
            assert_non_null(strstr(s[k].body[i], "Undecodable command"));
            assert_non_null(strstr(s[k].body[i], "batch: "));
            assert_int_equal(s[k].type[i], 0);
            assert_int_equal(fsm_last_applied(fs[k]), i + 1);
        }
        /* Nothing of any of them was applied (the first command alone was valid). */
        assert_int_equal(util_count_fixtures(fs[k]), 0);
        uint8_t fp[32];
        struct fsm_result res = {0, NULL};
        assert_int_equal(fsm_idem_get(fs[k], "M1", 2, fp, &res), 0);
        /* The undamaged batch then applies. */
        assert_int_equal(fsm_apply(fs[k], N + 1, good, len), 0);
        assert_int_equal(s[k].status[N], 201);
        assert_int_equal(s[k].status[N + 1], 200);
        dumps[k] = util_dump_fixtures(fs[k]);
    }
    /* The same refusals, word for word, on both. */
    for (unsigned i = 0; i < N + 2; i++)
        assert_string_equal(s[0].body[i], s[1].body[i]);
    assert_string_equal(dumps[0], dumps[1]);
    for (int k = 0; k < 2; k++) {
        free(dumps[k]);
        fsm_close(fs[k]);
        util_rmdir(dirs[k]);
    }
    free(good);
    free(a);
}

/* A local failure (map full) inside a batch: nothing of that batch stays, the batches before
 * it do, and last_applied stays at the entry before it. */
static void test_batch_local_failure_all_or_nothing(void** state)
{
    (void)state;
    char* dir = util_tmpdir();
    struct fsm* f = util_fsm_open_size(dir, 64 * 1024);
    struct util_result r;
    util_capture_results(f, &r);
    enum { PER = 7 };
    uint64_t idx;
    int rv = 0;
    char ids[PER][16], idems[PER][16];
    char* payloads[PER];
    for (idx = 1; idx < 1000; idx++) {
        struct sub subs[PER];
        for (unsigned i = 0; i < PER; i++) {
            snprintf(ids[i], sizeof ids[i], "b%03u-%u", (unsigned)idx, i);
            snprintf(idems[i], sizeof idems[i], "k%03u-%u", (unsigned)idx, i);
            payloads[i] = fx(ids[i]);
            subs[i] = (struct sub){CMD_FIXTURE_CREATE, idems[i], 1, payloads[i]};
        }
        size_t len;
        void* buf = batch_of(subs, PER, &len);
        rv = fsm_apply(f, idx, buf, len);
        free(buf);
        for (unsigned i = 0; i < PER; i++)
            free(payloads[i]);
        if (rv != 0)
            break;
        if (idx % 3 == 0)
            fsm_flush(f);
    }
    assert_int_equal(rv, RAFT_NOSPACE);
    assert_int_equal(fsm_last_applied(f), idx - 1);
    assert_int_equal(r.calls, (idx - 1) * PER);
    assert_int_equal(util_count_fixtures(f), (idx - 1) * PER);
    fsm_close(f);
    f = util_fsm_open_size(dir, 64 * 1024);
    assert_int_equal(fsm_last_applied(f), idx - 1);
    assert_int_equal(util_count_fixtures(f), (idx - 1) * PER);
    fsm_close(f);
    util_rmdir(dir);
}

int main(void)
{
    util_log_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_refusals_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_undecodable_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exactly_once_across_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_set, setup, teardown),
        cmocka_unit_test(test_local_failure_keeps_earlier_entries),
        cmocka_unit_test_setup_teardown(test_defer_runs_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_marker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_expiry, setup, teardown),
        cmocka_unit_test(test_writeback_thread),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_transition_table),
        cmocka_unit_test(test_kickoff_normalisation),
        cmocka_unit_test_setup_teardown(test_batch_results_per_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_idempotency, setup, teardown),
        cmocka_unit_test(test_batch_malformed_refused),
        cmocka_unit_test(test_batch_local_failure_all_or_nothing),
    };
    return cmocka_run_group_tests_name("fsm", tests, NULL, NULL);
}
