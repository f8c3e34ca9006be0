/* The return-to-player governor end to end (issue 17): a three-node accounts cluster (the
 * licence's ledger and its TRJ) and a three-node football cluster, one feed simulator per node
 * (scenario football-cashout.json: FB-3001 is played when the simulators are advanced and ends
 * 2-1 to the home side; FB-3002 kicks off much later and stays pre-match). The football nodes
 * run the governor every 300 ms (target 84 %, step 200 bp, max 1000 bp, min stakes 1.00).
 *
 *   The accounts cluster refuses an unsigned TRJ call (401). Before any money moves the
 *   licence's TRJ has no stakes: the governor holds (hold_data) and
 *   the adjustment stays 0, so FB-3002's prices are the plain model's.
 *   Ada stakes 10.00 on FB-3001 home; the game is played, the bet is won and paid (the TRJ is
 *   then far above 84 %). The leader reads the TRJ from the accounts cluster (signed), proposes
 *   a move of one step (200 bp), and every node holds the same state (margin_bp 200, one change
 *   with its reading, in the audit trail as actor "governor"); the next agreed FB-3002 quote on
 *   every node has a larger 1X2 overround, quorum-signed. With no new stakes since the move, the
 *   governor waits (hold_window) rather than moving again. A reset without a reason is refused
 *   (422, changes nothing); `parlayctl governor reset` puts it back to 0, and the governor,
 *   still on with the TRJ still above target, raises it again at its next look.
 *   The ledger check on every accounts node and the bets audit on every football node pass.
 *
 * Every wait is a condition polled with a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/feedsim/simproc.h"
#include "tests/integration/harness.h"
#include "tests/integration/tokens.h"

#define SCENARIO "tests/feedsim/scenarios/football-cashout.json"
#define FX1 "FB-3001"
#define FX2 "FB-3002"
#define PW "a long and private phrase"
#define STEP_BP 200

static struct h_cluster acc, sp;
static struct simproc sims[3];
static struct h_paystandin pay;
static char pay_cfg[1536];
static char token[2048];

/* Wait until @fx's market on node @i is open at a version above @after and @pred holds (NULL:
 * no more); returns it. */
static json_t *wait_market(int i, const char *fx, json_int_t after, bool (*pred)(json_t *, void *),
                           void *arg, const char *what)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/fixtures/%s/markets", fx);
    for (double end = h_now() + H_WAIT_MS / 1000.0; h_now() < end; h_sleep_ms(50)) {
        struct h_resp r = h_http(&sp, i, "GET", path, NULL, NULL, false);
        json_t *m = r.status == 200 ? json_incref(r.json) : NULL;
        h_resp_free(&r);
        if (m && !strcmp(h_str(m, "status"), "open") && h_num(m, "version") > after &&
            (!pred || pred(m, arg)))
            return m;
        json_decref(m);
    }
    fail_msg("node %d: %s never %s above version %lld", i + 1, fx, what, (long long)after);
    return NULL;
}

static bool above(json_t *m, void *arg)
{
    return h_overround_1x2(m) > *(double *)arg;
}

/* GET /admin/v1/governor on node @i until @pred holds; returns it. */
static json_t *wait_governor(int i, bool (*pred)(json_t *, void *), void *arg, const char *what)
{
    json_t *last = NULL;
    for (double end = h_now() + H_WAIT_MS / 1000.0; h_now() < end; h_sleep_ms(50)) {
        struct h_resp r = h_http(&sp, i, "GET", "/admin/v1/governor", NULL, NULL, true);
        assert_int_equal(r.status, 200);
        json_decref(last);
        last = json_incref(r.json);
        h_resp_free(&r);
        if (pred(last, arg))
            return last;
    }
    fail_msg("node %d: the governor never %s: %s", i + 1, what, h_dump(last));
    return NULL;
}

static bool look_is(json_t *g, void *why)
{
    json_t *rule = json_object_get(json_object_get(g, "look"), "rule");
    return !strcmp(h_str(rule, "why"), (const char *)why);
}

/* The adjustment is want[0] after at least want[1] changes. */
static bool margin_is(json_t *g, void *arg)
{
    const json_int_t *want = arg;
    return h_num(json_object_get(g, "state"), "margin_bp") == want[0] &&
           h_num(json_object_get(g, "state"), "changes") >= want[1];
}

static void advance_all(int seconds)
{
    char body[48];
    snprintf(body, sizeof body, "{\"seconds\": %d}", seconds);
    for (int i = 0; i < 3; i++) {
        json_t *a = simproc_admin(&sims[i], "/admin/v1/advance", body);
        assert_non_null(a);
        json_decref(a);
    }
}

static void start(void)
{
    tk_start_accounts_pay(&acc, &pay, pay_cfg, sizeof pay_cfg);
    for (int i = 0; i < 3; i++) {
        const char *args[] = {"--speed", "0", NULL};
        simproc_start(&sims[i], SCENARIO, args);
    }
    h_cluster_init(&sp, 3);
    for (int i = 0; i < 3; i++)
        snprintf(sp.node_extra[i], sizeof sp.node_extra[i],
                 "{\"feed_url\": \"%s\", \"feed_adapter\": \"sse\", \"quote_hold_s\": 600, "
                 "\"accounts_jwks_url\": \"http://127.0.0.1:%d/.well-known/jwks.json\", "
                 "\"accounts_jwks_min_interval_ms\": 0, "
                 "\"accounts_urls\": \"http://127.0.0.1:%d,http://127.0.0.1:%d\", "
                 "\"governor\": {\"enabled\": true, \"period_ms\": 300, \"target_bp\": 8400, "
                 "\"step_bp\": %d, \"max_bp\": 1000, \"min_stakes\": 100}}",
                 sims[i].url, acc.nodes[i].http_port, acc.nodes[i].http_port,
                 acc.nodes[(i + 1) % 3].http_port, STEP_BP);
    h_cluster_write_configs(&sp);
    h_start_cluster(&sp);
}


/* Wait until bet @id's @field is @value on every sport node. */
static void wait_bet_all(const char *id, const char *field, const char *value)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/bets/%s", id);
    for (int i = 0; i < 3; i++)
        for (double end = h_now() + H_WAIT_MS / 1000.0;; h_sleep_ms(50)) {
            struct h_resp r = h_http_bearer(&sp, i, "GET", path, NULL, NULL, token);
            bool ok = r.status == 200 && !strcmp(h_str(r.json, field), value);
            if (!ok && h_now() > end)
                fail_msg("bet %s on node %d: want %s %s, got %s", id, i + 1, field, value,
                         h_dump(r.json));
            h_resp_free(&r);
            if (ok)
                break;
        }
}

static void ledger_and_audit(void)
{
    for (int i = 0; i < 3; i++) {
        struct h_resp r = h_http(&acc, i, "GET", "/admin/v1/ledger/check", NULL, NULL, true);
        if (r.status != 200 || !json_is_true(json_object_get(r.json, "ok")))
            fail_msg("ledger check on accounts node %d: %ld %s", i + 1, r.status, h_dump(r.json));
        h_resp_free(&r);
    }
    for (int i = 0; i < 3; i++) {
        struct h_resp r = h_http(&sp, i, "GET", "/admin/v1/bets/audit", NULL, NULL, true);
        if (r.status != 200 || h_num(r.json, "difference_count") != 0 ||
            !json_is_true(json_object_get(r.json, "ok")) || h_num(r.json, "bets") != 1)
            fail_msg("audit on sport node %d: %ld %s", i + 1, r.status, h_dump(r.json));
        h_resp_free(&r);
    }
}

static void governor_over_http(void **state)
{
    (void)state;
    start();
    char player[64], session[64];
    tk_sign_up(&acc, 0, "ada@example.fr", PW, player, token, sizeof token, session);
    tk_register_sport_cluster(&acc, &sp, "reg-1");
    tk_fund(&acc, 0, &pay, token, "{\"deposit_7d\":50000,\"stake_7d\":50000}", 10000, "a");
    /* The accounts cluster answers the TRJ to a registered sport cluster's signed call only. */
    struct h_resp u = h_http(&acc, 0, "GET", "/internal/v1/trj?year=2026", NULL, NULL, false);
    assert_int_equal(u.status, 401);
    h_resp_free(&u);
    /* No stakes yet: the governor reads the TRJ and holds. */
    int leader = h_wait_leader(&sp, H_WAIT_MS);
    json_decref(wait_governor(leader, look_is, "hold_data", "held for lack of stakes"));
    json_t *m1 = NULL, *m2 = NULL;
    json_int_t v2 = 0;
    double base = 0;
    for (int i = 0; i < 3; i++) {
        json_decref(m1);
        json_decref(m2);
        m1 = wait_market(i, FX1, 0, NULL, NULL, "open");
        m2 = wait_market(i, FX2, 0, NULL, NULL, "open");
        if (h_num(m2, "version") > v2)
            v2 = h_num(m2, "version");
        base = h_overround_1x2(m2);
    }
    /* Every sport node has the accounts' key set (503 until loaded). */
    tk_wait_me_code(&sp, token, "");
    /* Ada's 10.00 on the home side, won once the game is played. */
    json_t *x1 = json_object_get(json_object_get(m1, "prices"), "1x2");
    char body[512];
    snprintf(body, sizeof body,
             "{\"stake\": 1000, \"policy\": \"exact\", \"legs\": [{\"fixture\": \"" FX1 "\", "
             "\"market\": \"1x2\", \"outcome\": \"home\", \"price\": %lld, \"version\": %lld}]}",
             (long long)h_num(x1, "home"), (long long)h_num(m1, "version"));
    struct h_resp r = h_http_bearer(&sp, 0, "POST", "/v1/bets", body, "bet-1", token);
    if (r.status != 201)
        fail_msg("POST /v1/bets: %ld %s", r.status, h_dump(r.json));
    char bet[32];
    snprintf(bet, sizeof bet, "%s", h_str(r.json, "id"));
    h_resp_free(&r);
    wait_bet_all(bet, "status", "accepted");
    advance_all(7000);
    wait_bet_all(bet, "result", "won");
    wait_bet_all(bet, "paid", "post");

    /* The TRJ is far above 84 %: one step, the same state on every node. */
    json_int_t want[2] = {STEP_BP, 1};
    json_t *g = NULL;
    for (int i = 0; i < 3; i++) {
        json_decref(g);
        g = wait_governor(i, margin_is, want, "moved by one step");
    }
    json_t *st = json_object_get(g, "state");
    assert_int_equal(h_num(st, "changes"), 1);
    json_t *h = json_array_get(json_object_get(st, "history"), 0);
    assert_string_equal(h_str(h, "why"), "raise");
    assert_int_equal(h_num(h, "from"), 0);
    assert_int_equal(h_num(h, "to"), STEP_BP);
    assert_int_equal(h_num(h, "stakes"), 1000);
    assert_true(h_num(h, "payouts") > 1000);
    assert_true(h_num(h, "projected_bp") > 10000);
    json_decref(g);
    /* The next agreed FB-3002 quote on every node has the larger overround. */
    double want_or = base + 0.01;
    for (int i = 0; i < 3; i++) {
        json_t *m = wait_market(i, FX2, v2, above, &want_or, "re-priced with the adjustment");
        assert_true(h_num(m, "signatures") >= 2);
        fprintf(stderr, "test_governor_it: node %d: FB-3002 1X2 overround %.4f -> %.4f (version "
                        "%lld -> %lld)\n",
                i + 1, base, h_overround_1x2(m), (long long)v2, (long long)h_num(m, "version"));
        json_decref(m);
    }
    /* In every node's metrics. */
    static char text[1 << 16];
    for (int i = 0; i < 3; i++) {
        h_metrics(&sp, i, text, sizeof text);
        assert_non_null(strstr(text, "\nparlay_governor_margin_bp 200\n"));
        assert_non_null(strstr(text, "\nparlay_governor_changes_total 1\n"));
    }
    /* No stakes since the move: the leader waits for the move to be measured. */
    leader = h_wait_leader(&sp, H_WAIT_MS);
    json_decref(wait_governor(leader, look_is, "hold_window", "waited for the window"));
    /* In the audit trail as the governor's. */
    r = h_http(&sp, leader, "GET", "/admin/v1/audit", NULL, NULL, true);
    assert_int_equal(r.status, 200);
    char *audit = json_dumps(r.json, JSON_COMPACT);
    assert_non_null(strstr(audit, "\"governor_adjust\""));
    free(audit);
    h_resp_free(&r);
    /* A reset without a reason: refused, nothing changes. */
    r = h_http(&sp, leader, "POST", "/admin/v1/governor/reset", "{}", "gr-bad", true);
    assert_int_equal(r.status, 422);
    assert_string_equal(r.content_type, "application/problem+json");
    assert_string_equal(h_str(r.json, "code"), "invalid_governor_reset");
    h_resp_free(&r);
    /* parlayctl: the status, then the reset (an operator's, audited); the governor, still on and
     * with the TRJ still far above its target, raises it again at its next look. */
    char out[8192];
    int follower = (leader + 1) % 3;
    assert_int_equal(h_parlayctl(&sp, follower, "governor status", out, sizeof out), 0);
    assert_non_null(strstr(out, "adjustment in force: +200 bp (1 changes)"));
    assert_int_equal(h_parlayctl(&sp, follower, "governor reset --reason 'season review'", out,
                                 sizeof out),
                     0);
    assert_non_null(strstr(out, "adjustment in force: +0 bp (2 changes)"));
    json_int_t again[2] = {STEP_BP, 3};
    for (int i = 0; i < 3; i++)
        json_decref(wait_governor(i, margin_is, again, "raised again after the reset"));
    ledger_and_audit();
    json_decref(m1);
    json_decref(m2);
    h_cluster_destroy(&sp);
    h_cluster_destroy(&acc);
    for (int i = 0; i < 3; i++)
        simproc_stop(&sims[i]);
    h_paystandin_stop(&pay);
}

int main(void)
{
    atexit(simproc_stop_all);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(governor_over_http),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
