/* Snapshots: a compacted LMDB copy (plus a tail of commands applied while an off-loop copy ran)
 * restored into another state machine gives the same state; a state machine already at or
 * past a snapshot keeps its own state; a malformed snapshot is refused and changes nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <raft.h>
#include <uv.h>

#include "consensus/fixtures.h"
#include "consensus/fsm.h"
#include "consensus/members.h"
#include "consensus/replica.h"
#include "tests/unit/unit_util.h"

#define SNAP_HEADER 40

struct node
{
    char* dir;
    struct fsm* f;
    struct util_result r;
};

struct ctx
{
    struct node a, b;
};

static void node_open(struct node* n)
{
    n->dir = util_tmpdir();
    n->f = util_fsm_open(n->dir);
    util_capture_results(n->f, &n->r);
}

static void node_close(struct node* n)
{
    fsm_close(n->f);
    util_rmdir(n->dir);
}

static void node_restart(struct node* n)
{
    fsm_close(n->f);
    n->f = util_fsm_open(n->dir);
    util_capture_results(n->f, &n->r);
}

static int setup(void** state)
{
    struct ctx* c = calloc(1, sizeof *c);
    node_open(&c->a);
    node_open(&c->b);
    *state = c;
    return 0;
}

static int teardown(void** state)
{
    struct ctx* c = *state;
    node_close(&c->a);
    node_close(&c->b);
    free(c);
    return 0;
}

static int create(struct node* n, uint64_t idx, const char* id, const char* idem)
{
    return util_apply(n->f, &n->r, idx, CMD_FIXTURE_CREATE, idem, 0x5a,
                      util_fixture_json(id, "Ligue 1", "2026-08-15T19:00:00Z"));
}

static int update(struct node* n, uint64_t idx, const char* json)
{
    return util_apply(n->f, &n->r, idx, CMD_FIXTURE_UPDATE, NULL, 0, json);
}

/* 30 fixtures, some updated, an idempotency record, a member: entries 1..35. */
static void build_state(struct node* n)
{
    char id[16], key[16];
    for (int i = 0; i < 30; i++) {
        snprintf(id, sizeof id, "m%02d", i);
        snprintf(key, sizeof key, "k%02d", i);
        assert_int_equal(create(n, (uint64_t)i + 1, id, i % 3 ? NULL : key), 201);
    }
    assert_int_equal(update(n, 31, "{\"id\":\"m03\",\"status\":\"live\"}"), 200);
    assert_int_equal(update(n, 32, "{\"id\":\"m03\",\"status\":\"finished\"}"), 200);
    assert_int_equal(update(n, 33, "{\"id\":\"m07\",\"status\":\"postponed\"}"), 200);
    assert_int_equal(update(n, 34, "{\"id\":\"m09\",\"status\":\"finished\"}"), 409);
    assert_int_equal(util_apply(n->f, &n->r, 35, CMD_MEMBER_SET, NULL, 0,
                                "{\"id\":1,\"raft_address\":\"127.0.0.1:9001\","
                                "\"http_address\":\"127.0.0.1:8001\"}"),
                     200);
}

static char* members_dump(struct fsm* f)
{
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(f, &txn), 0);
    json_t* m = member_list(f, txn);
    fsm_read_end(txn);
    char* s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(m);
    return s;
}

/* Same last_applied, same fixtures (each one byte for byte), same members, same idempotency
 * records. */
static void assert_same_state(struct fsm* x, struct fsm* y)
{
    assert_int_equal(fsm_last_applied(x), fsm_last_applied(y));
    char *dx = util_dump_fixtures(x), *dy = util_dump_fixtures(y);
    assert_string_equal(dx, dy);
    free(dx);
    free(dy);
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(x, &txn), 0);
    json_t* all = fixture_list(x, txn, &(struct fixture_filter){.limit = 100000});
    fsm_read_end(txn);
    size_t i;
    json_t* fx;
    json_array_foreach(json_object_get(all, "items"), i, fx)
    {
        const char* id = json_string_value(json_object_get(fx, "id"));
        char *gx = util_get_fixture(x, id), *gy = util_get_fixture(y, id);
        assert_non_null(gx);
        assert_non_null(gy);
        assert_string_equal(gx, gy);
        free(gx);
        free(gy);
    }
    json_decref(all);
    char *mx = members_dump(x), *my = members_dump(y);
    assert_string_equal(mx, my);
    free(mx);
    free(my);
    for (int k = 0; k < 30; k += 3) {
        char key[16];
        snprintf(key, sizeof key, "k%02d", k);
        uint8_t fx_[32], fy_[32];
        struct fsm_result rx = {0, NULL}, ry = {0, NULL};
        int gx = fsm_idem_get(x, key, strlen(key), fx_, &rx);
        int gy = fsm_idem_get(y, key, strlen(key), fy_, &ry);
        assert_int_equal(gx, gy);
        if (gx == 1) {
            assert_int_equal(rx.status, ry.status);
            assert_string_equal(rx.body, ry.body);
            assert_memory_equal(fx_, fy_, 32);
        }
        fsm_result_clear(&rx);
        fsm_result_clear(&ry);
    }
}

static void test_restore_into_fresh(void** state)
{
    struct ctx* c = *state;
    build_state(&c->a);
    void* snap;
    size_t len;
    assert_int_equal(fsm_snapshot_now(c->a.f, &snap, &len), 0);
    assert_int_equal(len % 8, 0);
    assert_int_equal(fsm_snapshot_index_of(snap, len), 35);
    assert_int_equal(fsm_last_applied(c->b.f), 0);
    assert_int_equal(fsm_restore_buf(c->b.f, snap, len), 0);
    free(snap);
    assert_int_equal(fsm_last_applied(c->b.f), 35);
    assert_same_state(c->a.f, c->b.f);
    /* An idempotent retry answered from the restored record, on both. */
    assert_int_equal(create(&c->b, 36, "m00", "k00"), 201);
    assert_int_equal(create(&c->a, 36, "m00", "k00"), 201);
    /* Both carry on identically. */
    assert_int_equal(update(&c->a, 37, "{\"id\":\"m01\",\"status\":\"live\"}"), 200);
    assert_int_equal(update(&c->b, 37, "{\"id\":\"m01\",\"status\":\"live\"}"), 200);
    assert_string_equal(c->a.r.body, c->b.r.body);
    assert_same_state(c->a.f, c->b.f);
    /* The restored state is on disk. */
    node_restart(&c->b);
    assert_same_state(c->a.f, c->b.f);
}

static void test_restore_replaces_older_state(void** state)
{
    struct ctx* c = *state;
    build_state(&c->a);
    /* b is behind (index 3) and has something a never had. */
    assert_int_equal(create(&c->b, 1, "zz-only-on-b", NULL), 201);
    assert_int_equal(create(&c->b, 3, "zz-also-on-b", NULL), 201);
    void* snap;
    size_t len;
    assert_int_equal(fsm_snapshot_now(c->a.f, &snap, &len), 0);
    assert_int_equal(fsm_restore_buf(c->b.f, snap, len), 0);
    free(snap);
    assert_null(util_get_fixture(c->b.f, "zz-only-on-b"));
    assert_same_state(c->a.f, c->b.f);
}

static void test_restore_skipped_when_at_or_past(void** state)
{
    struct ctx* c = *state;
    build_state(&c->a);
    void* snap;
    size_t len;
    assert_int_equal(fsm_snapshot_now(c->a.f, &snap, &len), 0);
    /* b at exactly the snapshot's index, with other contents: kept. */
    for (uint64_t i = 1; i <= 35; i++) {
        char id[16];
        snprintf(id, sizeof id, "b%02u", (unsigned)i);
        assert_int_equal(create(&c->b, i, id, NULL), 201);
    }
    char* before = util_dump_fixtures(c->b.f);
    assert_int_equal(fsm_restore_buf(c->b.f, snap, len), 0);
    assert_int_equal(fsm_last_applied(c->b.f), 35);
    char* after = util_dump_fixtures(c->b.f);
    assert_string_equal(before, after);
    free(after);
    /* Past it: kept too. */
    assert_int_equal(create(&c->b, 40, "b40", NULL), 201);
    free(before);
    before = util_dump_fixtures(c->b.f);
    assert_int_equal(fsm_restore_buf(c->b.f, snap, len), 0);
    assert_int_equal(fsm_last_applied(c->b.f), 40);
    after = util_dump_fixtures(c->b.f);
    assert_string_equal(before, after);
    /* The same snapshot into its own source (what raft does at every restart). */
    char* a_before = util_dump_fixtures(c->a.f);
    assert_int_equal(fsm_restore_buf(c->a.f, snap, len), 0);
    char* a_after = util_dump_fixtures(c->a.f);
    assert_string_equal(a_before, a_after);
    assert_int_equal(fsm_last_applied(c->a.f), 35);
    free(snap);
    free(before);
    free(after);
    free(a_before);
    free(a_after);
}

static void put64(uint8_t* p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Try @snap[0..len) on b and check that it is refused and b unchanged. */
static void expect_refused(struct node* b, const void* snap, size_t len, const char* what)
{
    char* before = util_dump_fixtures(b->f);
    uint64_t la = fsm_last_applied(b->f);
    int rv = fsm_restore_buf(b->f, snap, len);
    if (rv == 0)
        fail_msg("%s: restore accepted", what);
    assert_int_equal(fsm_snapshot_index_of(snap, len), 0);
    assert_int_equal(fsm_last_applied(b->f), la);
    char* after = util_dump_fixtures(b->f);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* The same for a snapshot whose header parses (so index_of sees it) but whose image is bad;
 * no temporary file may be left behind. */
static void expect_refused_image(struct node* b, const void* snap, size_t len, const char* what)
{
    char* before = util_dump_fixtures(b->f);
    uint64_t la = fsm_last_applied(b->f);
    if (fsm_restore_buf(b->f, snap, len) == 0)
        fail_msg("%s: restore accepted", what);
    assert_int_equal(fsm_last_applied(b->f), la);
    char* after = util_dump_fixtures(b->f);
    assert_string_equal(before, after);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s/restore.tmp", b->dir);
    assert_int_not_equal(access(tmp, F_OK), 0);
    free(before);
    free(after);
}

static void test_malformed_refused(void** state)
{
    struct ctx* c = *state;
    build_state(&c->a);
    assert_int_equal(create(&c->b, 1, "b-own", NULL), 201);
    void* snap;
    size_t len;
    assert_int_equal(fsm_snapshot_now(c->a.f, &snap, &len), 0);
    uint8_t* m = malloc(len + 64);
    /* Truncations: every cut inside the header, then cuts inside the image. */
    for (size_t cut = 0; cut < SNAP_HEADER + 8; cut++) {
        memcpy(m, snap, len);
        expect_refused(&c->b, m, cut, "header truncated");
    }
    size_t cuts[] = {len - 1, len - 8, len / 2, SNAP_HEADER + 4096};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        memcpy(m, snap, len);
        expect_refused(&c->b, m, cuts[i], "image truncated");
    }
    /* Garbled header fields. */
    memcpy(m, snap, len);
    m[0] ^= 0x20;
    expect_refused(&c->b, m, len, "bad magic");
    memcpy(m, snap, len);
    m[8] = 2;
    expect_refused(&c->b, m, len, "unknown version");
    memcpy(m, snap, len);
    put64(m + 16, len); /* image longer than the buffer */
    expect_refused(&c->b, m, len, "image length");
    memcpy(m, snap, len);
    put64(m + 16, UINT64_MAX - 3);
    expect_refused(&c->b, m, len, "image length overflow");
    memcpy(m, snap, len);
    put64(m + 32, 1); /* a tail entry that is not there */
    expect_refused(&c->b, m, len, "tail count");
    /* A tail entry whose length runs past the end. */
    memcpy(m, snap, len);
    put64(m + 32, 1);
    put64(m + len, 36);
    put64(m + len + 8, 1000);
    expect_refused(&c->b, m, len + 16, "tail entry length");
    memcpy(m, snap, len);
    put64(m + 32, 1);
    put64(m + len, 36);
    put64(m + len + 8, UINT64_MAX - 5);
    expect_refused(&c->b, m, len + 16, "tail entry length overflow");
    free(m);
    /* b still works, and the real snapshot is still accepted. */
    assert_int_equal(create(&c->b, 2, "b-two", NULL), 201);
    assert_int_equal(fsm_restore_buf(c->b.f, snap, len), 0);
    assert_same_state(c->a.f, c->b.f);
    free(snap);
}

/* The header is fine but the LMDB image inside is not: it must be refused before it replaces
 * the live database (it used to be swapped in, then the reopen failed and the process
 * aborted with the local state gone). */
static void test_garbled_image_refused(void** state)
{
    struct ctx* c = *state;
    build_state(&c->a);
    assert_int_equal(create(&c->b, 1, "b-own", NULL), 201);
    assert_int_equal(create(&c->b, 2, "b-two", NULL), 201);
    void* snap;
    size_t len;
    assert_int_equal(fsm_snapshot_now(c->a.f, &snap, &len), 0);
    assert_true(len > SNAP_HEADER + 3 * 4096);
    uint8_t* m = malloc(len);
    /* Both meta pages broken (LMDB meta magic at offset 16 of pages 0 and 1). */
    memcpy(m, snap, len);
    m[SNAP_HEADER + 16] ^= 0xff;
    m[SNAP_HEADER + 4096 + 16] ^= 0xff;
    expect_refused_image(&c->b, m, len, "meta pages");
    /* All zeros. */
    memcpy(m, snap, len);
    memset(m + SNAP_HEADER, 0, len - SNAP_HEADER);
    expect_refused_image(&c->b, m, len, "zeroed image");
    /* Every data page scrambled. */
    memcpy(m, snap, len);
    for (size_t i = SNAP_HEADER + 2 * 4096; i < len; i++)
        m[i] ^= 0x5a;
    expect_refused_image(&c->b, m, len, "data pages");
    /* A header that claims a later copy than the image holds. */
    memcpy(m, snap, len);
    put64(m + 24, 1000);
    expect_refused_image(&c->b, m, len, "copy index");
    free(m);
    /* b is intact on disk too, and still takes the real snapshot. */
    node_restart(&c->b);
    assert_int_equal(fsm_last_applied(c->b.f), 2);
    assert_int_equal(util_count_fixtures(c->b.f), 2);
    assert_int_equal(fsm_restore_buf(c->b.f, snap, len), 0);
    assert_same_state(c->a.f, c->b.f);
    free(snap);
}

static void test_index_of(void** state)
{
    struct ctx* c = *state;
    void* snap;
    size_t len;
    /* An empty state machine's snapshot is at index 0. */
    assert_int_equal(fsm_snapshot_now(c->a.f, &snap, &len), 0);
    assert_int_equal(fsm_snapshot_index_of(snap, len), 0);
    free(snap);
    assert_int_equal(create(&c->a, 7, "x", NULL), 201);
    assert_int_equal(fsm_snapshot_now(c->a.f, &snap, &len), 0);
    assert_int_equal(fsm_snapshot_index_of(snap, len), 7);
    assert_int_equal(fsm_snapshot_index_of(snap, SNAP_HEADER - 1), 0);
    assert_int_equal(fsm_snapshot_index_of(NULL, 0), 0);
    free(snap);
    assert_int_equal(fsm_snapshots_taken(c->a.f), 2);
}

/* Append a tail entry (the documented layout: u64 index, u64 len, bytes padded to 8) holding
 * command @cmd to the snapshot in *snap. */
static void append_tail(uint8_t** snap,
                        size_t* len,
                        uint64_t index,
                        const void* cmd,
                        size_t cmd_len)
{
    size_t pad = (cmd_len + 7) & ~(size_t)7;
    uint8_t* p = realloc(*snap, *len + 16 + pad);
    assert_non_null(p);
    memset(p + *len, 0, 16 + pad);
    put64(p + *len, index);
    put64(p + *len + 8, cmd_len);
    memcpy(p + *len + 16, cmd, cmd_len);
    uint64_t count = 0;
    for (int i = 7; i >= 0; i--)
        count = (count << 8) | p[32 + i];
    put64(p + 32, count + 1);
    *snap = p;
    *len += 16 + pad;
}

/* A copy taken at index 35 followed by commands 34..38: restore installs the copy and
 * applies the tail, skipping what the copy already holds. */
static void test_restore_applies_tail(void** state)
{
    struct ctx* c = *state;
    build_state(&c->a);
    uint8_t* snap;
    size_t len;
    assert_int_equal(fsm_snapshot_now(c->a.f, (void**)&snap, &len), 0);
    static const char* const upd[] = {
        "{\"id\":\"m07\",\"status\":\"scheduled\"}", /* 34: already in the copy */
        "{\"id\":\"m00\",\"status\":\"cancelled\"}", /* 35: already in the copy */
        "{\"id\":\"m01\",\"status\":\"live\"}",      /* 36.. new */
        "{\"id\":\"m01\",\"status\":\"finished\"}",
        "{\"id\":\"m02\",\"kickoff\":\"2026-08-16T19:00:00Z\"}",
    };
    for (int i = 0; i < 5; i++) {
        size_t cl;
        void* cmd =
            util_cmd(CMD_FIXTURE_UPDATE, NULL, 0, 1700000000000ull + (34 + i) * 1000, upd[i], &cl);
        append_tail(&snap, &len, 34 + (uint64_t)i, cmd, cl);
        raft_free(cmd);
        if (i >= 2)
            assert_int_equal(update(&c->a, 34 + (uint64_t)i, upd[i]), 200);
    }
    assert_int_equal(fsm_snapshot_index_of(snap, len), 38);
    assert_int_equal(fsm_restore_buf(c->b.f, snap, len), 0);
    assert_int_equal(fsm_last_applied(c->b.f), 38);
    /* m00 and m07 unchanged (the tail's 34 and 35 were skipped), m01 finished, m02 moved. */
    assert_same_state(c->a.f, c->b.f);
    char* m00 = util_get_fixture(c->b.f, "m00");
    assert_non_null(strstr(m00, "\"status\":\"scheduled\""));
    free(m00);
    free(snap);
}

/* The off-loop snapshot (fsm loop set): the first call starts a compacting copy on a worker
 * and answers RAFT_BUSY; commands applied meanwhile go to the tail; once the copy is done the
 * snapshot is copy + tail and restores to exactly the source's state. */
static void test_async_snapshot_with_tail(void** state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    char* dir_a = util_tmpdir();
    struct fsm_options o = {
        .dir = dir_a, .map_size = 64u << 20, .sport = "football", .loop = &loop};
    struct node a = {.dir = dir_a}, b;
    char err[256];
    assert_int_equal(fsm_open(&a.f, &o, err, sizeof err), 0);
    util_capture_results(a.f, &a.r);
    node_open(&b);
    build_state(&a);
    uv_run(&loop, UV_RUN_NOWAIT); /* the idle flush */

    struct raft_fsm* rf = fsm_raft_fsm(a.f);
    struct raft_buffer* bufs = NULL;
    unsigned n = 0;
    assert_int_equal(rf->snapshot(rf, &bufs, &n), RAFT_BUSY);
    /* Applied while the copy runs. */
    assert_int_equal(update(&a, 36, "{\"id\":\"m10\",\"status\":\"live\"}"), 200);
    assert_int_equal(create(&a, 37, "late", NULL), 201);
    int rv;
    unsigned rounds = 0;
    while ((rv = rf->snapshot(rf, &bufs, &n)) == RAFT_BUSY) {
        uv_run(&loop, UV_RUN_ONCE); /* blocks until the worker reports */
        assert_true(++rounds < 1000);
    }
    assert_int_equal(rv, 0);
    assert_true(n >= 1 && n <= 2);
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += bufs[i].len;
    uint8_t* snap = malloc(total);
    size_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(bufs[i].len % 8, 0);
        memcpy(snap + off, bufs[i].base, bufs[i].len);
        off += bufs[i].len;
    }
    assert_int_equal(rf->snapshot_finalize(rf, &bufs, &n), 0);
    assert_int_equal(fsm_snapshots_taken(a.f), 1);
    assert_int_equal(fsm_snapshot_index_of(snap, total), 37);
    assert_int_equal(fsm_restore_buf(b.f, snap, total), 0);
    free(snap);
    assert_int_equal(fsm_last_applied(b.f), 37);
    assert_same_state(a.f, b.f);

    /* A copy still running at close is waited for and thrown away. */
    assert_int_equal(rf->snapshot(rf, &bufs, &n), RAFT_BUSY);
    fsm_close(a.f);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    util_rmdir(dir_a);
    node_close(&b);
}

/* The snapshot threshold grows with the state (one entry per 16 KiB), never below the
 * configured one nor above its maximum, staggered by node id once above the base. */
static void test_threshold_scales_with_state(void **state)
{
    (void)state;
    const uint64_t MB = 1 << 20;
    /* A small state: the configured threshold, on every node (the tests' 16 stays 16). */
    for (uint64_t id = 1; id <= 5; id++) {
        assert_int_equal(replica_snapshot_threshold(1024, 16384, 4 * MB, id), 1024);
        assert_int_equal(replica_snapshot_threshold(16, 16, 4000 * MB, id), 16);
    }
    /* 64 MB: 4096 entries on node 1, +25% a node id, node 5 as node 1. */
    assert_int_equal(replica_snapshot_threshold(1024, 16384, 64 * MB, 1), 4096);
    assert_int_equal(replica_snapshot_threshold(1024, 16384, 64 * MB, 2), 5120);
    assert_int_equal(replica_snapshot_threshold(1024, 16384, 64 * MB, 3), 6144);
    assert_int_equal(replica_snapshot_threshold(1024, 16384, 64 * MB, 4), 7168);
    assert_int_equal(replica_snapshot_threshold(1024, 16384, 64 * MB, 5), 4096);
    /* 290 MB (100,000 settled bets): the maximum, staggered. */
    assert_int_equal(replica_snapshot_threshold(1024, 16384, 290 * MB, 1), 16384);
    assert_int_equal(replica_snapshot_threshold(1024, 16384, 290 * MB, 3), 24576);
    /* A maximum at or below the base: the base, whatever the size. */
    assert_int_equal(replica_snapshot_threshold(2048, 1024, 290 * MB, 2), 2048);
}

int main(void)
{
    util_log_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restore_into_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_replaces_older_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_skipped_when_at_or_past, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbled_image_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_of, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_applies_tail, setup, teardown),
        cmocka_unit_test(test_async_snapshot_with_tail),
        cmocka_unit_test(test_threshold_scales_with_state),
    };
    return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
