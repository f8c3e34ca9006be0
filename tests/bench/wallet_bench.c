/* Hold batches applied in-process (README "Benchmark"; never run by `make test`): the apply
 * time of CMD_HOLD_BATCH on a release-built state machine, without Raft or HTTP, i.e. what one
 * node spends per hold item. 16 funded players; ROUNDS rounds of one batch placing ITEMS holds
 * and one resolving them (post and void alternately, as holds_bench does).
 *
 *   build/bench/wallet_bench [ROUNDS [ITEMS]]   (default 40 rounds of 256) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "consensus/fsm.h"
#include "consensus/wallet.h"
#include "tests/unit/unit_util.h"

#define PLAYERS 16
static struct fsm *f;
static struct util_result r;
static uint64_t idx, now = 1800000000000ull;
static int rounds = 40, items = 256;

/* CPU time of this process (not wall time): what the apply costs, even on a loaded machine
 * where the process waits for a core. */
static double ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int run1(uint16_t type, json_t *payload)
{
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    int st = util_apply_at(f, &r, ++idx, type, NULL, 0, text, now);
    free(text);
    return st;
}

static void bench(void **state)
{
    (void)state;
    char *dir = util_tmpdir();
    f = util_fsm_open_size(dir, (size_t)4 << 30);
    util_capture_results(f, &r);
    assert_int_equal(run1(CMD_WALLET_CLUSTER,
                          wallet_cmd_cluster("football", json_pack("[s]", "02a1b2c3d4e5f60718293a"
                                                                          "4b5c6d7e8f90a1b2c3d4e5f6"
                                                                          "0718293a4b5c6d7e8f90"))),
                     200);
    char pid[PLAYERS][40];
    for (int p = 0; p < PLAYERS; p++) {
        snprintf(pid[p], sizeof pid[p], "p_%032d", p + 1);
        char body[1024], id[32], pay[40], ev[40];
        snprintf(body, sizeof body,
                 "{\"id\":\"%s\",\"email\":\"w%d@example.com\",\"password_hash\":\"$argon2id$v=19"
                 "$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA\"}",
                 pid[p], p);
        assert_int_equal(util_apply_at(f, &r, ++idx, CMD_PLAYER_REGISTER, NULL, 0, body, now), 201);
        assert_int_equal(run1(CMD_WALLET_LIMITS, wallet_cmd_limits(pid[p], 100000000000,
                                                                   100000000000, -1)),
                         200);
        snprintf(id, sizeof id, "d%d", p);
        snprintf(pay, sizeof pay, "pay_%d", p);
        snprintf(ev, sizeof ev, "evt_%d", p);
        assert_int_equal(run1(CMD_DEPOSIT_OPEN, wallet_cmd_deposit_open(pid[p], id, 100000000)), 201);
        assert_int_equal(run1(CMD_DEPOSIT_LINK, wallet_cmd_deposit_link(id, pay, "http://x/y")), 200);
        assert_int_equal(run1(CMD_PAY_EVENT, wallet_cmd_pay_event("standin", ev, "payment_succeeded",
                                                                  pay, id, 100000000, "acct_1")),
                         200);
    }
    double place = 0, resolve = 0, first = 0, last = 0;
    for (int k = 0; k < rounds; k++) {
        json_t *a = json_array(), *b = json_array();
        for (int j = 0; j < items; j++) {
            char hid[48];
            snprintf(hid, sizeof hid, "h%d-%d", k, j);
            json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:i, s:i}", "op", "place", "hold_id",
                                               hid, "player_id", pid[j % PLAYERS], "amount",
                                               1 + j % 100, "timeout_ms", 600000));
            json_array_append_new(b, j % 2 ? json_pack("{s:s, s:s}", "op", "void", "hold_id", hid)
                                           : json_pack("{s:s, s:s, s:i, s:i}", "op", "post",
                                                       "hold_id", hid, "stake", 1 + j % 100,
                                                       "payout", 0));
        }
        now += 50;
        double t0 = ms();
        assert_int_equal(run1(CMD_HOLD_BATCH, wallet_cmd_hold_batch("football", a)), 200);
        double t1 = ms();
        now += 50;
        assert_int_equal(run1(CMD_HOLD_BATCH, wallet_cmd_hold_batch("football", b)), 200);
        double t2 = ms();
        json_decref(a);
        json_decref(b);
        place += t1 - t0;
        resolve += t2 - t1;
        if (k == 0)
            first = (t2 - t0) / (2.0 * items);
        last = (t2 - t0) / (2.0 * items);
    }
    printf("%d rounds of %d holds (16 players), CPU time: place %.1f us an item, resolve %.1f us an item; "
           "first round %.1f us, last %.1f us an item (each player's 7-day window grows by the "
           "posted ones)\n",
           rounds, items, place * 1e3 / (rounds * items), resolve * 1e3 / (rounds * items),
           first * 1e3, last * 1e3);
    fsm_close(f);
    util_rmdir(dir);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        rounds = atoi(argv[1]);
    if (argc > 2)
        items = atoi(argv[2]);
    util_log_init();
    const struct CMUnitTest tests[] = {cmocka_unit_test(bench)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
