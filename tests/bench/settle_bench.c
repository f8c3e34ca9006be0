/* Settlement of one fixture's bets, in-process (README "Benchmark"; never run by `make test`):
 * the apply time of each settlement chunk (CMD_BET_SETTLE_MORE, BET_SETTLE_CHUNK bets) on a
 * release-built state machine in a temporary directory, without Raft or HTTP, so it is the
 * part of settling that holds the log (quotes of other games wait behind a chunk's apply).
 *
 *   build/bench/settle_bench [BETS [LEGS]]   (default 100000 singles; LEGS 2: accumulators
 *                                            whose other leg is on a second fixture, settled
 *                                            first)
 *
 * Every bet goes through the real commands: CMD_BET_PLACE (each checked at its index like any
 * bet: open market, quote version, price, limits, exposure), then CMD_BET_HOLDS_DONE (accepted,
 * 500 a command), then the agreed result (CMD_OBSERVATION_AGREED, which settles the first
 * chunk) and CMD_BET_SETTLE_MORE until the fixture is done. Printed: placement and acceptance
 * rates (apply only), each chunk's apply time (p50, max), the total settle time and rate. */
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

#include "consensus/bets.h"
#include "consensus/fsm.h"
#include "consensus/observations.h"
#include "consensus/quotes.h"
#include "feed/feed.h"
#include "tests/unit/unit_util.h"

static const uint8_t SK[3][32] = {{0}, {[31] = 1}, {[31] = 2}};
#define KICKOFF 1795878000
#define PRICES "{\"1x2\":{\"away\":3100,\"draw\":3500,\"home\":2140}}"

static struct fsm *f;
static struct util_result r;
static uint64_t last;
static long bets_n = 100000, legs_n = 1;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int apply(uint16_t type, const char *payload)
{
    uint64_t index = ++last;
    return util_apply_at(f, &r, index, type, NULL, 0, payload,
                         (uint64_t)KICKOFF * 1000 - 3600000 + index);
}

static void agree(const struct feed_obs *o)
{
    uint8_t bytes[FEED_ENCODED_MAX], d[32];
    int len = feed_encode(o, bytes, sizeof bytes, NULL);
    assert_true(len > 0);
    char hex[2 * FEED_ENCODED_MAX + 1], subj[FEED_SUBJECT_MAX], s1[129], s2[129];
    obs_hex_encode(bytes, (size_t)len, hex);
    assert_true(feed_obs_subject(o, subj, sizeof subj) > 0);
    obs_digest("", subj, bytes, (size_t)len, d);
    util_sign_hex(SK[1], d, s1);
    util_sign_hex(SK[2], d, s2);
    json_t *p = json_pack("{s:s, s:s, s:[{s:i, s:s}, {s:i, s:s}]}", "subject", subj, "bytes",
                          hex, "signatures", "node", 1, "signature", s1, "node", 2,
                          "signature", s2);
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    assert_int_equal(apply(CMD_OBSERVATION_AGREED, text), 201);
    free(text);
}

static void agree_fixture(const char *id)
{
    struct feed_obs o = {.kind = FEED_FIXTURE};
    snprintf(o.u.fixture.id, sizeof o.u.fixture.id, "%s", id);
    o.u.fixture.sport = FEED_FOOTBALL;
    snprintf(o.u.fixture.competition, sizeof o.u.fixture.competition, "Premier League");
    snprintf(o.u.fixture.home, sizeof o.u.fixture.home, "Arsenal %s", id);
    snprintf(o.u.fixture.away, sizeof o.u.fixture.away, "Chelsea %s", id);
    o.u.fixture.kickoff = KICKOFF;
    agree(&o);
}

static void agree_result(const char *id, uint16_t h, uint16_t a)
{
    struct feed_obs o = {.kind = FEED_RESULT};
    snprintf(o.u.result.fixture, sizeof o.u.result.fixture, "%s", id);
    o.u.result.status = FEED_FINAL;
    o.u.result.home = h;
    o.u.result.away = a;
    agree(&o);
}

static json_t *quote_sig(int node, const char *fixture, uint64_t index, const char *prices)
{
    uint8_t d[32];
    char hex[129];
    quote_digest("", fixture, index, prices, d);
    util_sign_hex(SK[node], d, hex);
    return json_pack("{s:i, s:s}", "node", node, "signature", hex);
}

static long long publish(const char *fixture, const char *prices)
{
    char p[128];
    snprintf(p, sizeof p, "{\"fixture\":\"%s\"}", fixture);
    assert_int_equal(apply(CMD_QUOTE_ROUND, p), 201);
    uint64_t index = last;
    json_t *sigs = json_pack("[o, o]", quote_sig(1, fixture, index, prices),
                             quote_sig(2, fixture, index, prices));
    json_t *q = json_pack("{s:s, s:I, s:s, s:o}", "fixture", fixture, "index",
                          (json_int_t)index, "prices", prices, "signatures", sigs);
    char *text = json_dumps(q, JSON_COMPACT);
    json_decref(q);
    assert_int_equal(apply(CMD_QUOTE_PUBLISHED, text), 201);
    free(text);
    json_t *res = json_loads(r.body, 0, NULL);
    long long v = json_integer_value(json_object_get(res, "version"));
    json_decref(res);
    return v;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static bool settling(void)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(f, &txn), 0);
    json_t *more = bets_chunked(f, txn, BETS_SETTLING, 4);
    fsm_read_end(txn);
    bool any = json_array_size(more) > 0;
    json_decref(more);
    return any;
}

static void run(void **state)
{
    (void)state;
    char *dir = util_tmpdir();
    f = util_fsm_open_size(dir, (size_t)8 << 30);
    util_capture_results(f, &r);
    for (int node = 1; node <= 2; node++)
        assert_int_equal(apply(CMD_MEMBER_KEY,
                               util_member_key_payload((uint64_t)node, SK[node], NULL)),
                         200);
    agree_fixture("F1");
    agree_fixture("F2");
    long long v1 = publish("F1", PRICES), v2 = publish("F2", PRICES);
    /* No cap gets in the way of the count: the limits are the operator's. */
    assert_int_equal(apply(CMD_BET_LIMITS, "{\"outcome_cap\":100000000000000,"
                                           "\"fixture_cap\":100000000000000}"),
                     200);
    double t0 = now_ms();
    for (long i = 0; i < bets_n; i++) {
        json_t *legs = json_pack("[{s:s, s:s, s:s, s:i, s:I}]", "fixture", "F1", "market", "1x2",
                                 "outcome", i % 3 == 0 ? "home" : i % 3 == 1 ? "draw" : "away",
                                 "price", i % 3 == 0 ? 2140 : i % 3 == 1 ? 3500 : 3100,
                                 "version", (json_int_t)v1);
        if (legs_n > 1)
            json_array_append_new(legs, json_pack("{s:s, s:s, s:s, s:i, s:I}", "fixture", "F2",
                                                  "market", "1x2", "outcome", "home", "price",
                                                  2140, "version", (json_int_t)v2));
        char player[32];
        snprintf(player, sizeof player, "p%ld", i % 1000);
        struct cmd cm;
        char *text = bets_cmd_place(&cm, player, 100, "exact", 0, legs, 2);
        json_decref(legs);
        assert_int_equal(apply(CMD_BET_PLACE, text), 201);
        free(text);
    }
    double t1 = now_ms();
    for (long i = 0; i < bets_n; i += 500) {
        json_t *items = json_array();
        for (long j = i; j < i + 500 && j < bets_n; j++) {
            char id[32];
            snprintf(id, sizeof id, "b%012ld", j + 1);
            json_array_append_new(items, json_pack("{s:s, s:s, s:b}", "op", "hold", "bet_id", id,
                                                   "accepted", 1));
        }
        struct cmd cm;
        char *text = bets_cmd_holds_done(&cm, items);
        json_decref(items);
        assert_int_equal(apply(CMD_BET_HOLDS_DONE, text), 200);
        free(text);
    }
    double t2 = now_ms();
    printf("placed %ld bets (%ld leg%s each) in %.0f ms (%.0f/s, apply only); accepted by "
           "bet_holds_done of 500 in %.0f ms (%.0f/s)\n",
           bets_n, legs_n, legs_n > 1 ? "s" : "", t1 - t0, bets_n / ((t1 - t0) / 1e3), t2 - t1,
           bets_n / ((t2 - t1) / 1e3));
    if (legs_n > 1)
        agree_result("F2", 1, 0);
    while (settling()) /* F2's legs only: nothing settles before F1 */
        assert_int_equal(apply(CMD_BET_SETTLE_MORE, "{\"fixture\":\"F2\"}"), 200);
    size_t cap = (size_t)bets_n / BET_SETTLE_CHUNK + 4, n = 0;
    double *chunk = calloc(cap, sizeof *chunk);
    double s0 = now_ms();
    agree_result("F1", 2, 1);
    chunk[n++] = now_ms() - s0;
    while (settling()) {
        double c0 = now_ms();
        assert_int_equal(apply(CMD_BET_SETTLE_MORE, "{\"fixture\":\"F1\"}"), 200);
        if (n < cap)
            chunk[n++] = now_ms() - c0;
    }
    double s1 = now_ms();
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(f, &txn), 0);
    json_t *unpaid = bets_unpaid(f, txn, (unsigned)bets_n + 1);
    fsm_read_end(txn);
    assert_int_equal((long)json_array_size(unpaid), bets_n);
    json_decref(unpaid);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += chunk[i];
    qsort(chunk, n, sizeof *chunk, cmpd);
    printf("settled %ld bets in %zu chunks of %d: %.0f ms in all (%.0f bets/s; apply %.0f ms), "
           "chunk apply p50 %.1f ms, p90 %.1f ms, max %.1f ms (%.1f us a bet)\n",
           bets_n, n, BET_SETTLE_CHUNK, s1 - s0, bets_n / ((s1 - s0) / 1e3), sum, chunk[n / 2],
           chunk[n * 9 / 10], chunk[n - 1], chunk[n / 2] * 1e3 / BET_SETTLE_CHUNK);
    free(chunk);
    fsm_close(f);
    util_rmdir(dir);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        bets_n = atol(argv[1]);
    if (argc > 2)
        legs_n = atol(argv[2]) > 1 ? 2 : 1;
    util_log_init();
    const struct CMUnitTest tests[] = {cmocka_unit_test(run)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
