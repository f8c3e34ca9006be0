/* Real network partitions: each parlayd in its own network namespace, every pair of nodes joined
 * by its own link, links cut and restored while clients write. Needs root (skipped otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/integration/harness.h"

static const char *state_of(struct h_cluster *c, int i)
{
    static char buf[32];
    json_t *st = h_status(c, i);
    snprintf(buf, sizeof buf, "%s", st ? json_string_value(json_object_get(st, "state")) : "?");
    json_decref(st);
    return buf;
}

/* Wait until one of @a or @b reports itself leader; returns it, or -1. */
static int wait_leader_among(struct h_cluster *c, int a, int b)
{
    double deadline = h_now() + H_WAIT_MS / 1000.0;
    do {
        if (!strcmp(state_of(c, a), "leader"))
            return a;
        if (!strcmp(state_of(c, b), "leader"))
            return b;
        h_sleep_ms(50);
    } while (h_now() < deadline);
    return -1;
}

static void isolated_leader_cannot_commit_while_majority_carries_on(void **state)
{
    (void)state;
    struct h_cluster c;
    if (!h_cluster_init_netns(&c, 3))
        skip();
    h_start_cluster(&c);
    int old = h_wait_leader(&c, H_WAIT_MS);
    int a = (old + 1) % 3, b = (old + 2) % 3;
    assert_int_equal(h_write_until_answer(&c, a, "POST", "/admin/v1/fixtures",
                                          h_fixture_body("before"), "key-before", NULL),
                     201);

    /* Cut the leader off from both followers (the test still reaches every node). */
    h_link(&c, old, a, false);
    h_link(&c, old, b, false);
    struct h_resp r = h_http(&c, old, "POST", "/admin/v1/fixtures", h_fixture_body("minority"),
                             "key-minority", true);
    assert_int_equal(r.status, 503); /* never acknowledged without a quorum */
    assert_string_equal(r.content_type, "application/problem+json");
    h_resp_free(&r);

    /* The majority elects a leader of its own and keeps taking writes. */
    int leader = wait_leader_among(&c, a, b);
    assert_true(leader >= 0);
    assert_int_equal(h_write_until_answer(&c, leader, "POST", "/admin/v1/fixtures",
                                          h_fixture_body("majority"), "key-majority", NULL),
                     201);
    assert_true(h_wait_fixture(&c, a, "majority", "scheduled", 1));
    assert_true(h_wait_fixture(&c, b, "majority", "scheduled", 1));
    /* The old leader knows nothing of it and still refuses writes. */
    r = h_http(&c, old, "GET", "/v1/fixtures/majority", NULL, NULL, false);
    assert_int_equal(r.status, 404);
    h_resp_free(&r);
    r = h_http(&c, old, "POST", "/admin/v1/fixtures", h_fixture_body("minority2"),
               "key-minority2", true);
    assert_int_equal(r.status, 503);
    h_resp_free(&r);
    assert_string_not_equal(state_of(&c, old), "leader");

    /* Heal: the old leader follows the new one and converges. */
    h_link(&c, old, a, true);
    h_link(&c, old, b, true);
    assert_true(h_wait_fixture(&c, old, "majority", "scheduled", 1));
    assert_true(h_wait_fixture(&c, old, "before", "scheduled", 1));
    /* The minority write was never acknowledged; the client's retry with the same key is
     * applied exactly once, everywhere. */
    assert_int_equal(h_write_until_answer(&c, old, "POST", "/admin/v1/fixtures",
                                          h_fixture_body("minority"), "key-minority", NULL),
                     201);
    for (int i = 0; i < 3; i++)
        assert_true(h_wait_fixture(&c, i, "minority", "scheduled", 1));
    h_cluster_destroy(&c);
}

static void isolated_follower_catches_up_after_healing(void **state)
{
    (void)state;
    struct h_cluster c;
    if (!h_cluster_init_netns(&c, 3))
        skip();
    c.snapshot_threshold = 16; /* far enough behind to need a snapshot */
    c.snapshot_trailing = 4;
    h_cluster_write_configs(&c);
    h_start_cluster(&c);
    int leader = h_wait_leader(&c, H_WAIT_MS);
    int f = (leader + 1) % 3, other = (leader + 2) % 3;
    h_link(&c, f, leader, false);
    h_link(&c, f, other, false);
    for (int k = 0; k < 40; k++) {
        char id[32], key[48];
        snprintf(id, sizeof id, "p%02d", k);
        snprintf(key, sizeof key, "key-%s", id);
        assert_int_equal(h_write_until_answer(&c, leader, "POST", "/admin/v1/fixtures",
                                              h_fixture_body(id), key, NULL),
                         201);
    }
    struct h_resp r = h_http(&c, f, "GET", "/v1/fixtures/p00", NULL, NULL, false);
    assert_int_equal(r.status, 404);
    h_resp_free(&r);
    h_link(&c, f, leader, true);
    h_link(&c, f, other, true);
    for (int k = 0; k < 40; k++) {
        char id[32];
        snprintf(id, sizeof id, "p%02d", k);
        assert_true(h_wait_fixture(&c, f, id, "scheduled", 1));
    }
    h_cluster_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(isolated_leader_cannot_commit_while_majority_carries_on),
        cmocka_unit_test(isolated_follower_catches_up_after_healing),
    };
    return cmocka_run_group_tests_name("partition", tests, NULL, NULL);
}
