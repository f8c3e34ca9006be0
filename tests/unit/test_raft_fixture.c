/* Cluster scenarios on canonical raft's deterministic fixture (in-memory I/O and network, a
 * simulated clock), each server with its own LMDB state machine in its own directory:
 * replication to every server, a partitioned leader that cannot commit while the majority
 * elects a new leader and carries on, convergence after healing, and a lagging follower that
 * catches up through an InstallSnapshot of our LMDB snapshot. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <raft.h>
#include <raft/fixture.h>

#include "consensus/fixtures.h"
#include "consensus/fsm.h"
#include "tests/unit/unit_util.h"

#define N 3
#define MAX_MS 10000 /* simulated milliseconds: the fixture's clock, not the wall clock */

struct proposal
{
    struct raft_apply req;
    bool done;
    int status;
};

struct cluster
{
    struct raft_fixture fx;
    char* dir[N];
    struct fsm* fsm[N];
    struct util_result res[N];
    struct proposal props[64];
    unsigned n_props;
};

static struct raft* R(struct cluster* c, unsigned i)
{
    return raft_fixture_get(&c->fx, i);
}

/* The fixture traces every step to stderr; keep that for PARLAY_TEST_LOG runs only. */
static void quiet_emit(struct raft_tracer* t, int type, const void* info)
{
    (void)t;
    (void)type;
    (void)info;
}
static struct raft_tracer quiet_tracer = {.impl = NULL, .version = 2, .emit = quiet_emit};

static int setup(void** state)
{
    struct cluster* c = calloc(1, sizeof *c);
    assert_int_equal(raft_fixture_init(&c->fx), 0);
    for (unsigned i = 0; i < N; i++) {
        c->dir[i] = util_tmpdir();
        c->fsm[i] = util_fsm_open(c->dir[i]);
        util_capture_results(c->fsm[i], &c->res[i]);
        assert_int_equal(raft_fixture_grow(&c->fx, fsm_raft_fsm(c->fsm[i])), 0);
        fsm_attach_raft(c->fsm[i], R(c, i));
        if (!getenv("PARLAY_TEST_LOG"))
            R(c, i)->tracer = &quiet_tracer;
    }
    struct raft_configuration conf;
    assert_int_equal(raft_fixture_configuration(&c->fx, N, &conf), 0);
    assert_int_equal(raft_fixture_bootstrap(&c->fx, &conf), 0);
    raft_configuration_close(&conf);
    assert_int_equal(raft_fixture_start(&c->fx), 0);
    *state = c;
    return 0;
}

static int teardown(void** state)
{
    struct cluster* c = *state;
    raft_fixture_close(&c->fx);
    for (unsigned i = 0; i < N; i++) {
        fsm_close(c->fsm[i]);
        util_rmdir(c->dir[i]);
    }
    free(c);
    return 0;
}

static void apply_cb(struct raft_apply* req, int status, void* result)
{
    (void)result;
    struct proposal* p = req->data;
    p->done = true;
    p->status = status;
}

/* Propose creating fixture @id on server @i; returns the proposal (its req.index is the
 * entry's index). */
static struct proposal* propose(struct cluster* c, unsigned i, const char* id)
{
    assert_true(c->n_props < sizeof c->props / sizeof *c->props);
    struct proposal* p = &c->props[c->n_props++];
    memset(p, 0, sizeof *p);
    p->req.data = p;
    struct raft_buffer buf;
    buf.base = util_cmd(CMD_FIXTURE_CREATE, NULL, 0, 1700000000000ull + c->n_props,
                        util_fixture_json(id, "Ligue 1", "2026-09-01T18:00:00Z"), &buf.len);
    int rv = raft_apply(R(c, i), &p->req, &buf, 1, apply_cb);
    if (rv != 0) {
        raft_free(buf.base);
        fail_msg("raft_apply on server %u: %s", i, raft_strerror(rv));
    }
    return p;
}

/* Propose @n fixtures "<prefix>-<k>" on @i; returns the index of the last one. */
static raft_index propose_n(struct cluster* c, unsigned i, const char* prefix, unsigned n)
{
    raft_index last = 0;
    for (unsigned k = 0; k < n; k++) {
        char id[32];
        snprintf(id, sizeof id, "%s-%02u", prefix, k);
        last = propose(c, i, id)->req.index;
    }
    return last;
}

static void wait_applied(struct cluster* c, unsigned i, raft_index index)
{
    if (!raft_fixture_step_until_applied(&c->fx, i, index, MAX_MS))
        fail_msg("server %u did not apply index %llu", i, (unsigned long long)index);
}

static bool has_fixture(struct cluster* c, unsigned i, const char* id)
{
    char* s = util_get_fixture(c->fsm[i], id);
    free(s);
    return s != NULL;
}

/* Every server in @set has the same fixtures and the same last_applied as server @ref. */
static void assert_converged(struct cluster* c, unsigned ref, const unsigned* set, unsigned n)
{
    char* want = util_dump_fixtures(c->fsm[ref]);
    for (unsigned k = 0; k < n; k++) {
        unsigned i = set[k];
        assert_int_equal(fsm_last_applied(c->fsm[i]), fsm_last_applied(c->fsm[ref]));
        char* got = util_dump_fixtures(c->fsm[i]);
        assert_string_equal(got, want);
        free(got);
    }
    free(want);
}

static const unsigned ALL[N] = {0, 1, 2};

static void test_replicate_to_all(void** state)
{
    struct cluster* c = *state;
    raft_fixture_elect(&c->fx, 0);
    assert_int_equal(raft_fixture_leader_index(&c->fx), 0);
    raft_index last = propose_n(c, 0, "g", 5);
    wait_applied(c, N, last); /* N: every server */
    for (unsigned k = 0; k < c->n_props; k++) {
        assert_true(c->props[k].done);
        assert_int_equal(c->props[k].status, 0);
    }
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(util_count_fixtures(c->fsm[i]), 5);
        assert_true(has_fixture(c, i, "g-04"));
        /* The state machine saw the entries at raft's indexes. */
        assert_int_equal(fsm_last_applied(c->fsm[i]), last);
        assert_int_equal(c->res[i].index, last);
        assert_int_equal(c->res[i].status, 201);
        assert_int_equal(c->res[i].calls, 5);
    }
    assert_converged(c, 0, ALL, N);
    /* A follower refuses proposals. */
    struct proposal p = {0};
    struct raft_buffer buf;
    buf.base = util_cmd(CMD_FIXTURE_CREATE, NULL, 0, 1,
                        util_fixture_json("x", "L1", "2026-01-01T00:00:00Z"), &buf.len);
    assert_int_equal(raft_apply(R(c, 1), &p.req, &buf, 1, apply_cb), RAFT_NOTLEADER);
    raft_free(buf.base);
    /* A duplicate through raft is a refusal on every server alike, not an error. */
    struct proposal* dup = propose(c, 0, "g-00");
    wait_applied(c, N, dup->req.index);
    assert_int_equal(dup->status, 0);
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(c->res[i].status, 409);
        assert_int_equal(fsm_last_applied(c->fsm[i]), dup->req.index);
    }
    assert_converged(c, 0, ALL, N);
}

struct leader_among
{
    struct cluster* c;
    unsigned a, b;
};

static bool leader_among(struct raft_fixture* fx, void* arg)
{
    struct leader_among* l = arg;
    return raft_state(raft_fixture_get(fx, l->a)) == RAFT_LEADER ||
           raft_state(raft_fixture_get(fx, l->b)) == RAFT_LEADER;
}

static void isolate(struct cluster* c, unsigned i)
{
    for (unsigned j = 0; j < N; j++)
        if (j != i) {
            raft_fixture_disconnect(&c->fx, i, j);
            raft_fixture_disconnect(&c->fx, j, i);
        }
}

static void rejoin(struct cluster* c, unsigned i)
{
    for (unsigned j = 0; j < N; j++)
        if (j != i) {
            raft_fixture_reconnect(&c->fx, i, j);
            raft_fixture_reconnect(&c->fx, j, i);
        }
}

static void test_partitioned_leader(void** state)
{
    struct cluster* c = *state;
    raft_fixture_elect(&c->fx, 0);
    raft_index before = propose_n(c, 0, "pre", 3);
    wait_applied(c, N, before);
    raft_index old_commit = raft_commit_index(R(c, 0));

    /* Cut the leader off; it still believes it leads and accepts a proposal. */
    isolate(c, 0);
    assert_int_equal(raft_state(R(c, 0)), RAFT_LEADER);
    struct proposal* lost = propose(c, 0, "lost");

    /* The majority elects a new leader. */
    struct leader_among l = {c, 1, 2};
    assert_true(raft_fixture_step_until(&c->fx, leader_among, &l, MAX_MS));
    unsigned nl = raft_state(R(c, 1)) == RAFT_LEADER ? 1 : 2;
    unsigned other = nl == 1 ? 2 : 1;
    assert_true(raft_current_term(R(c, nl)) > raft_current_term(R(c, 0)) ||
                raft_state(R(c, 0)) != RAFT_LEADER);

    /* It keeps committing, with the old leader away. */
    raft_index during = propose_n(c, nl, "during", 4);
    wait_applied(c, nl, during);
    wait_applied(c, other, during);
    raft_fixture_step_until_elapsed(&c->fx, 3000);
    const unsigned majority[] = {nl, other};
    assert_converged(c, nl, majority, 2);
    assert_int_equal(util_count_fixtures(c->fsm[nl]), 7);

    /* The old leader committed nothing: its proposal is pending or failed, never applied. */
    assert_int_equal(raft_commit_index(R(c, 0)), old_commit);
    assert_int_equal(fsm_last_applied(c->fsm[0]), before);
    assert_false(has_fixture(c, 0, "lost"));
    assert_false(has_fixture(c, 0, "during-00"));
    assert_true(!lost->done || lost->status != 0);
    assert_int_equal(util_count_fixtures(c->fsm[0]), 3);

    /* Heal: the old leader follows, its uncommitted entry is replaced, everyone converges. */
    rejoin(c, 0);
    raft_index after = propose_n(c, nl, "after", 2);
    wait_applied(c, N, after);
    assert_converged(c, nl, ALL, N);
    for (unsigned i = 0; i < N; i++) {
        assert_false(has_fixture(c, i, "lost"));
        assert_true(has_fixture(c, i, "during-03"));
        assert_true(has_fixture(c, i, "after-01"));
        assert_int_equal(util_count_fixtures(c->fsm[i]), 9);
        assert_int_equal(fsm_last_applied(c->fsm[i]), after);
    }
    assert_int_not_equal(raft_state(R(c, 0)), RAFT_LEADER);
    assert_true(lost->done);
    assert_int_not_equal(lost->status, 0);
}

static void test_lagging_follower_gets_snapshot(void** state)
{
    struct cluster* c = *state;
    for (unsigned i = 0; i < N; i++) {
        raft_set_snapshot_threshold(R(c, i), 4);
        raft_set_snapshot_trailing(R(c, i), 2);
    }
    raft_fixture_elect(&c->fx, 0);
    raft_index first = propose_n(c, 0, "early", 2);
    wait_applied(c, N, first);
    assert_int_equal(util_count_fixtures(c->fsm[2]), 2);

    /* Server 2 falls behind while the others move on and compact their logs. */
    isolate(c, 2);
    raft_index last = propose_n(c, 0, "late", 20);
    wait_applied(c, 0, last);
    wait_applied(c, 1, last);
    assert_true(fsm_snapshots_taken(c->fsm[0]) > 0);
    assert_int_equal(fsm_last_applied(c->fsm[2]), first);
    assert_int_equal(raft_fixture_n_recv(&c->fx, 2, RAFT_INSTALL_SNAPSHOT), 0);

    /* Back again: the entries it misses are gone from the leader's log, so it gets a
     * snapshot, restores it into LMDB and then applies what follows. */
    rejoin(c, 2);
    wait_applied(c, 2, last);
    assert_true(raft_fixture_n_recv(&c->fx, 2, RAFT_INSTALL_SNAPSHOT) >= 1);
    assert_converged(c, 0, ALL, N);
    assert_int_equal(util_count_fixtures(c->fsm[2]), 22);
    assert_int_equal(fsm_last_applied(c->fsm[2]), last);
    /* It did not apply the missed commands one by one: the snapshot carried them. */
    assert_true(c->res[2].calls < 22);

    /* And it keeps applying normally afterwards. */
    raft_index more = propose_n(c, 0, "more", 3);
    wait_applied(c, N, more);
    assert_converged(c, 0, ALL, N);
    assert_int_equal(util_count_fixtures(c->fsm[2]), 25);
}

int main(void)
{
    util_log_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replicate_to_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partitioned_leader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lagging_follower_gets_snapshot, setup, teardown),
    };
    return cmocka_run_group_tests_name("raft_fixture", tests, NULL, NULL);
}
