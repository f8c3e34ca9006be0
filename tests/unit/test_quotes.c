/* Markets and agreed quotes in the state machine, without raft: every step is an encoded
 * command given to fsm_apply, as Raft would. An agreed fixture creates a pending market;
 * CMD_QUOTE_ROUND captures the pricing inputs at its index; CMD_QUOTE_PUBLISHED with a quorum
 * of signatures over quote_digest opens the market at the next version (and refuses, changing
 * nothing, prices not in canonical form, bad signatures, stale rounds, closed markets); agreed
 * events make the fixture live, suspend the market and feed the live inputs; CMD_MARKETS_SUSPEND
 * suspends; an agreed result closes the market, finishes (or cancels) the fixture and becomes a
 * rating input. Two state machines given the same entries end in the same state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <secp256k1.h>

#include "consensus/fsm.h"
#include "consensus/fsm_internal.h" /* to remove a market, as an older database lacks it */
#include "consensus/observations.h"
#include "consensus/quotes.h"
#include "feed/feed.h"
#include "tests/unit/unit_util.h"

/* Members 1 and 2 have registered keys (setup, entries 1 and 2); key 3 is never registered. */
static const uint8_t SK[4][32] = {{0}, {[31] = 1}, {[31] = 2}, {[31] = 3}};

#define KICKOFF 1795878000 /* 2026-11-28T15:00:00Z */
#define PRICES "{\"1x2\":{\"away\":3100,\"draw\":3500,\"home\":2140}}"
#define PRICES2 "{\"1x2\":{\"away\":4200,\"draw\":3700,\"home\":1850}}"
#define LOG_MAX 128

struct entry {
    uint64_t index;
    uint16_t type;
    char *payload;
};

struct ctx {
    char *dir;
    struct fsm *f;
    struct util_result r;
    uint64_t last;               /* index of the last entry applied */
    struct entry log[LOG_MAX];   /* every entry applied, for a replay */
    size_t nlog;
};

/* ---- keys and signatures --------------------------------------------------------------- */

static void sign_digest(int key, const uint8_t d[32], char out[129])
{
    util_sign_hex(SK[key], d, out);
}

/* util_fsm_open names no cluster: every digest is over the empty cluster name. */
static json_t *quote_sig(int node, int key, const char *fixture, uint64_t index,
                         const char *prices)
{
    uint8_t d[32];
    char hex[129];
    quote_digest("", fixture, index, prices, d);
    sign_digest(key, d, hex);
    return json_pack("{s:i, s:s}", "node", node, "signature", hex);
}

/* ---- applying entries ------------------------------------------------------------------ */

static int apply(struct ctx *c, uint16_t type, const char *payload)
{
    assert_true(c->nlog < LOG_MAX);
    uint64_t index = ++c->last;
    c->log[c->nlog++] = (struct entry){index, type, strdup(payload)};
    return util_apply(c->f, &c->r, index, type, NULL, 0, payload);
}

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    c->dir = util_tmpdir();
    c->f = util_fsm_open(c->dir);
    util_capture_results(c->f, &c->r);
    for (int node = 1; node <= 2; node++)
        assert_int_equal(apply(c, CMD_MEMBER_KEY,
                               util_member_key_payload((uint64_t)node, SK[node], NULL)),
                         200);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    fsm_close(c->f);
    util_rmdir(c->dir);
    for (size_t i = 0; i < c->nlog; i++)
        free(c->log[i].payload);
    free(c);
    return 0;
}

static struct feed_obs fixture_obs(const char *id, enum feed_sport sport)
{
    return util_fixture_obs(id, sport, "Arsenal", "Chelsea", KICKOFF);
}

static struct feed_obs event_obs(const char *id, uint64_t seq, enum feed_event_type type,
                                 enum feed_side team, uint8_t period, uint16_t minute)
{
    struct feed_obs o = {.kind = FEED_EVENT};
    snprintf(o.u.event.fixture, sizeof o.u.event.fixture, "%s", id);
    o.u.event.seq = seq;
    o.u.event.minute = minute;
    o.u.event.period = period;
    o.u.event.type = type;
    o.u.event.team = team;
    return o;
}

static struct feed_obs result_obs(const char *id, enum feed_result_status st, uint16_t h,
                                  uint16_t a)
{
    struct feed_obs o = {.kind = FEED_RESULT};
    snprintf(o.u.result.fixture, sizeof o.u.result.fixture, "%s", id);
    o.u.result.status = st;
    o.u.result.home = h;
    o.u.result.away = a;
    return o;
}

/* CMD_OBSERVATION_AGREED of @o, signed by members 1 and 2. */
static int agree(struct ctx *c, const struct feed_obs *o)
{
    char *text = util_agreed_payload(o, SK[1], SK[2]);
    int st = apply(c, CMD_OBSERVATION_AGREED, text);
    free(text);
    return st;
}

static void agree_fixture(struct ctx *c, const char *id)
{
    struct feed_obs o = fixture_obs(id, FEED_FOOTBALL);
    assert_int_equal(agree(c, &o), 201);
}

static void agree_event(struct ctx *c, const char *id, uint64_t seq, enum feed_event_type type,
                        enum feed_side team, uint8_t period, uint16_t minute)
{
    struct feed_obs o = event_obs(id, seq, type, team, period, minute);
    assert_int_equal(agree(c, &o), 201);
}

static void agree_result(struct ctx *c, const char *id, enum feed_result_status st, uint16_t h,
                         uint16_t a)
{
    struct feed_obs o = result_obs(id, st, h, a);
    assert_int_equal(agree(c, &o), 201);
}

/* CMD_QUOTE_ROUND for @fixture; the round's index is c->last. */
static int round_(struct ctx *c, const char *fixture)
{
    char p[128];
    snprintf(p, sizeof p, "{\"fixture\":\"%s\"}", fixture);
    return apply(c, CMD_QUOTE_ROUND, p);
}

/* A CMD_QUOTE_PUBLISHED payload with @sigs (stolen). */
static char *quote_payload(const char *fixture, uint64_t index, const char *prices, json_t *sigs)
{
    json_t *p = json_pack("{s:s, s:I, s:s, s:o}", "fixture", fixture, "index",
                          (json_int_t)index, "prices", prices, "signatures", sigs);
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    return text;
}

/* Members 1 and 2 sign @prices for round @index. */
static char *good_quote(const char *fixture, uint64_t index, const char *prices)
{
    json_t *sigs = json_array();
    json_array_append_new(sigs, quote_sig(1, 1, fixture, index, prices));
    json_array_append_new(sigs, quote_sig(2, 2, fixture, index, prices));
    return quote_payload(fixture, index, prices, sigs);
}

static int publish(struct ctx *c, const char *fixture, uint64_t index, const char *prices)
{
    char *p = good_quote(fixture, index, prices);
    int st = apply(c, CMD_QUOTE_PUBLISHED, p);
    free(p);
    return st;
}

static int suspend_cmd(struct ctx *c, const char *fixture, const char *reason)
{
    char p[160];
    snprintf(p, sizeof p, "{\"fixture\":\"%s\",\"reason\":\"%s\"}", fixture, reason);
    return apply(c, CMD_MARKETS_SUSPEND, p);
}

/* ---- reading the state ----------------------------------------------------------------- */

static json_t *market(struct ctx *c, const char *fixture)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *m = quotes_market_get(c->f, txn, fixture);
    fsm_read_end(txn);
    return m;
}

static json_t *quote(struct ctx *c, uint64_t version)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *q = quotes_get(c->f, txn, version);
    fsm_read_end(txn);
    return q;
}

static json_t *events(struct fsm *f)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(f, &txn), 0);
    json_t *e = quotes_events_after(f, txn, 0, 1000);
    fsm_read_end(txn);
    return e;
}

static size_t event_count(struct ctx *c)
{
    json_t *e = events(c->f);
    size_t n = json_array_size(e);
    json_decref(e);
    return n;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(none)";
}

static long long num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("%s: not an integer", key);
    return json_integer_value(v);
}

static void assert_market(struct ctx *c, const char *fixture, const char *status,
                          long long version)
{
    json_t *m = market(c, fixture);
    assert_non_null(m);
    assert_string_equal(str(m, "status"), status);
    assert_int_equal(num(m, "version"), version);
    json_decref(m);
}

static char *fixture_status(struct ctx *c, const char *id)
{
    char *fx = util_get_fixture(c->f, id);
    assert_non_null(fx);
    json_t *j = json_loads(fx, 0, NULL);
    char *s = strdup(str(j, "status"));
    json_decref(j);
    free(fx);
    return s;
}

static void assert_fixture_status(struct ctx *c, const char *id, const char *want)
{
    char *s = fixture_status(c, id);
    assert_string_equal(s, want);
    free(s);
}

/* The whole replicated quoting state, as one comparable text: every market, every stream
 * event, every quote, the rating inputs and the fixtures. */
static char *dump_state(struct fsm *f)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(f, &txn), 0);
    struct market_filter flt = {.limit = 100000};
    json_t *quotes = json_array(), *results = json_array();
    for (uint64_t v = 1;; v++) {
        json_t *q = quotes_get(f, txn, v);
        if (!q)
            break;
        json_array_append_new(quotes, q);
    }
    uint64_t n = quotes_results_count(f, txn);
    for (uint64_t i = 1; i <= n; i++)
        json_array_append_new(results, quotes_result_nth(f, txn, i));
    json_t *all = json_pack("{s:o, s:o, s:o, s:I, s:o}", "markets",
                            quotes_market_list(f, txn, &flt), "events",
                            quotes_events_after(f, txn, 0, 100000), "quotes", quotes,
                            "last_event", (json_int_t)quotes_last_event(f, txn), "results",
                            results);
    fsm_read_end(txn);
    char *fx = util_dump_fixtures(f);
    json_object_set_new(all, "fixtures", json_string(fx));
    free(fx);
    char *s = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(all);
    assert_non_null(s);
    return s;
}

/* Apply @payload and expect @status with the whole quoting state unchanged. */
static void expect_refused(struct ctx *c, uint16_t type, const char *payload, int status)
{
    char *before = dump_state(c->f);
    assert_int_equal(apply(c, type, payload), status);
    char *after = dump_state(c->f);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_agreed_fixture_creates_pending_market(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    json_t *m = market(c, "FB-1");
    assert_non_null(m);
    assert_string_equal(str(m, "status"), "pending");
    assert_string_equal(str(m, "sport"), "football");
    assert_string_equal(str(m, "fixture"), "FB-1");
    assert_int_equal(num(m, "version"), 0);
    assert_true(json_is_null(json_object_get(m, "round")));
    json_decref(m);
    assert_int_equal(event_count(c), 0);
    /* Another sport's fixture: no market in a football cluster. */
    struct feed_obs o = fixture_obs("TN-1", FEED_TENNIS);
    assert_int_equal(agree(c, &o), 201);
    assert_null(market(c, "TN-1"));
}

static void test_round_captures_inputs(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    assert_int_equal(round_(c, "FB-1"), 201);
    uint64_t idx = c->last;
    json_t *b = json_loads(c->r.body, 0, NULL);
    assert_non_null(b);
    assert_string_equal(str(b, "fixture"), "FB-1");
    assert_int_equal(num(b, "index"), idx);
    json_t *in = json_object_get(b, "inputs");
    assert_string_equal(str(in, "phase"), "pre");
    assert_string_equal(str(in, "home"), "Arsenal");
    assert_string_equal(str(in, "away"), "Chelsea");
    assert_string_equal(str(in, "competition"), "Premier League");
    assert_int_equal(num(in, "kickoff"), KICKOFF);
    assert_int_equal(num(in, "day"), KICKOFF / 86400);
    assert_int_equal(num(in, "epoch"), 0);
    assert_int_equal(num(in, "home_goals"), 0);
    assert_int_equal(num(in, "seq"), 0);
    json_t *m = market(c, "FB-1");
    json_t *round = json_object_get(m, "round");
    assert_int_equal(num(round, "index"), idx);
    assert_true(json_equal(json_object_get(round, "inputs"), in));
    assert_string_equal(str(m, "status"), "pending"); /* a round opens nothing */
    json_decref(m);
    json_decref(b);
    /* A fixture with no market, and a payload with no fixture. */
    expect_refused(c, CMD_QUOTE_ROUND, "{\"fixture\":\"FB-404\"}", 404);
    expect_refused(c, CMD_QUOTE_ROUND, "{\"fixture\":7}", 422);
    expect_refused(c, CMD_QUOTE_ROUND, "not json", 422);
}

static void test_publish_opens_market(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    assert_int_equal(round_(c, "FB-1"), 201);
    uint64_t idx = c->last;
    json_t *rb = json_loads(c->r.body, 0, NULL);
    assert_int_equal(publish(c, "FB-1", idx, PRICES), 201);
    json_t *b = json_loads(c->r.body, 0, NULL);
    assert_int_equal(num(b, "version"), 1);
    assert_int_equal(num(b, "index"), idx);
    assert_string_equal(str(b, "status"), "open");
    json_decref(b);

    json_t *m = market(c, "FB-1");
    assert_string_equal(str(m, "status"), "open");
    assert_int_equal(num(m, "version"), 1);
    assert_int_equal(num(m, "index"), idx);
    assert_string_equal(str(m, "phase"), "pre");
    assert_int_equal(num(m, "signatures"), 2);
    json_t *want = json_loads(PRICES, 0, NULL);
    assert_true(json_equal(json_object_get(m, "prices"), want));
    json_decref(m);

    json_t *q = quote(c, 1);
    assert_non_null(q);
    assert_int_equal(num(q, "version"), 1);
    assert_int_equal(num(q, "index"), idx);
    assert_string_equal(str(q, "fixture"), "FB-1");
    assert_string_equal(str(q, "prices_text"), PRICES);
    assert_true(json_equal(json_object_get(q, "prices"), want));
    assert_true(json_equal(json_object_get(q, "inputs"), json_object_get(rb, "inputs")));
    json_t *sigs = json_object_get(q, "signatures");
    assert_int_equal(json_array_size(sigs), 2);
    assert_int_equal(num(json_array_get(sigs, 0), "node"), 1);
    assert_int_equal(num(json_array_get(sigs, 1), "node"), 2);
    json_decref(q);
    json_decref(want);
    json_decref(rb);
    assert_null(quote(c, 2));

    json_t *ev = events(c->f);
    assert_int_equal(json_array_size(ev), 1);
    json_t *e = json_array_get(ev, 0);
    assert_int_equal(num(e, "id"), 1);
    assert_string_equal(str(e, "type"), "published");
    assert_string_equal(str(e, "fixture"), "FB-1");
    assert_string_equal(str(e, "status"), "open");
    assert_int_equal(num(e, "version"), 1);
    assert_null(json_object_get(e, "reason"));
    json_decref(ev);
}

static void test_publish_refusals(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    assert_int_equal(round_(c, "FB-1"), 201);
    uint64_t idx = c->last;
    char *p;

    /* Prices not in canonical form: a space, unsorted keys, not an object, not JSON. */
    static const char *const bad_prices[] = {
        "{\"1x2\": {\"away\":3100,\"draw\":3500,\"home\":2140}}",
        "{\"1x2\":{\"home\":2140,\"draw\":3500,\"away\":3100}}",
        "[2140,3500,3100]",
        "{\"1x2\":",
    };
    for (size_t i = 0; i < sizeof bad_prices / sizeof *bad_prices; i++) {
        p = good_quote("FB-1", idx, bad_prices[i]); /* well signed, but not canonical */
        expect_refused(c, CMD_QUOTE_PUBLISHED, p, 422);
        free(p);
    }

    /* A key that is not registered (node 3), and node 3's key under node 2's name. */
    json_t *sigs = json_array();
    json_array_append_new(sigs, quote_sig(1, 1, "FB-1", idx, PRICES));
    json_array_append_new(sigs, quote_sig(3, 3, "FB-1", idx, PRICES));
    p = quote_payload("FB-1", idx, PRICES, sigs);
    expect_refused(c, CMD_QUOTE_PUBLISHED, p, 422);
    free(p);
    sigs = json_array();
    json_array_append_new(sigs, quote_sig(1, 1, "FB-1", idx, PRICES));
    json_array_append_new(sigs, quote_sig(2, 3, "FB-1", idx, PRICES));
    p = quote_payload("FB-1", idx, PRICES, sigs);
    expect_refused(c, CMD_QUOTE_PUBLISHED, p, 422);
    free(p);

    /* Node 2 signed other prices, another round, another fixture. */
    sigs = json_array();
    json_array_append_new(sigs, quote_sig(1, 1, "FB-1", idx, PRICES));
    json_array_append_new(sigs, quote_sig(2, 2, "FB-1", idx, PRICES2));
    p = quote_payload("FB-1", idx, PRICES, sigs);
    expect_refused(c, CMD_QUOTE_PUBLISHED, p, 422);
    free(p);
    sigs = json_array();
    json_array_append_new(sigs, quote_sig(1, 1, "FB-1", idx, PRICES));
    json_array_append_new(sigs, quote_sig(2, 2, "FB-1", idx - 1, PRICES));
    p = quote_payload("FB-1", idx, PRICES, sigs);
    expect_refused(c, CMD_QUOTE_PUBLISHED, p, 422);
    free(p);
    sigs = json_array();
    json_array_append_new(sigs, quote_sig(1, 1, "FB-1", idx, PRICES));
    json_array_append_new(sigs, quote_sig(2, 2, "FB-2", idx, PRICES));
    p = quote_payload("FB-1", idx, PRICES, sigs);
    expect_refused(c, CMD_QUOTE_PUBLISHED, p, 422);
    free(p);

    /* The same node twice (a quorum of one member counted twice). */
    sigs = json_array();
    json_array_append_new(sigs, quote_sig(1, 1, "FB-1", idx, PRICES));
    json_array_append_new(sigs, quote_sig(1, 1, "FB-1", idx, PRICES));
    p = quote_payload("FB-1", idx, PRICES, sigs);
    expect_refused(c, CMD_QUOTE_PUBLISHED, p, 422);
    free(p);

    /* No signatures; no index; an unknown fixture. */
    p = quote_payload("FB-1", idx, PRICES, json_array());
    expect_refused(c, CMD_QUOTE_PUBLISHED, p, 422);
    free(p);
    expect_refused(c, CMD_QUOTE_PUBLISHED,
                   "{\"fixture\":\"FB-1\",\"prices\":\"{}\",\"signatures\":[]}", 422);
    p = good_quote("FB-404", idx, PRICES);
    expect_refused(c, CMD_QUOTE_PUBLISHED, p, 404);
    free(p);

    assert_market(c, "FB-1", "pending", 0);
    assert_int_equal(event_count(c), 0);
    assert_int_equal(publish(c, "FB-1", idx, PRICES), 201);
    assert_market(c, "FB-1", "open", 1);
}

/* Only the current round may publish: an older round after a newer CMD_QUOTE_ROUND is stale. */
static void test_stale_round(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    assert_int_equal(round_(c, "FB-1"), 201);
    uint64_t old = c->last;
    assert_int_equal(round_(c, "FB-1"), 201);
    uint64_t cur = c->last;
    char *p = good_quote("FB-1", old, PRICES);
    expect_refused(c, CMD_QUOTE_PUBLISHED, p, 409);
    free(p);
    /* A round index that was never a round (the next entry's). */
    p = good_quote("FB-1", cur + 1, PRICES);
    expect_refused(c, CMD_QUOTE_PUBLISHED, p, 409);
    free(p);
    assert_int_equal(publish(c, "FB-1", cur, PRICES), 201);
    assert_market(c, "FB-1", "open", 1);
    /* The same round a second time (a leader re-proposing after a timeout, or a new leader
     * given the resent votes, while the first proposal commits): stale, not a second version
     * with a second stream event. */
    p = good_quote("FB-1", cur, PRICES);
    expect_refused(c, CMD_QUOTE_PUBLISHED, p, 409);
    free(p);
    assert_market(c, "FB-1", "open", 1);
    assert_int_equal(event_count(c), 1);
}

static void test_market_list(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    agree_fixture(c, "FB-2");
    agree_fixture(c, "FB-3");
    assert_int_equal(round_(c, "FB-2"), 201);
    assert_int_equal(publish(c, "FB-2", c->last, PRICES), 201);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    struct market_filter open = {.status = "open"}, pre = {.phase = "pre"};
    struct market_filter page1 = {.limit = 2}, page2 = {.after = "FB-2", .limit = 2};
    json_t *l_open = quotes_market_list(c->f, txn, &open);
    json_t *l_pre = quotes_market_list(c->f, txn, &pre);
    json_t *l_p1 = quotes_market_list(c->f, txn, &page1);
    json_t *l_p2 = quotes_market_list(c->f, txn, &page2);
    fsm_read_end(txn);
    json_t *items = json_object_get(l_open, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(str(json_array_get(items, 0), "fixture"), "FB-2");
    assert_true(json_is_null(json_object_get(l_open, "next")));
    assert_int_equal(json_array_size(json_object_get(l_pre, "items")), 1); /* pending: none */
    items = json_object_get(l_p1, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(str(json_array_get(items, 0), "fixture"), "FB-1");
    assert_string_equal(str(l_p1, "next"), "FB-2");
    items = json_object_get(l_p2, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(str(json_array_get(items, 0), "fixture"), "FB-3");
    assert_true(json_is_null(json_object_get(l_p2, "next")));
    json_decref(l_open);
    json_decref(l_pre);
    json_decref(l_p1);
    json_decref(l_p2);
}

/* A suspension, even of a market that was never open, voids every round before it. */
static void test_quote_before_suspension(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    assert_int_equal(round_(c, "FB-1"), 201);
    uint64_t idx = c->last;
    assert_int_equal(suspend_cmd(c, "FB-1", "goal"), 200);
    assert_market(c, "FB-1", "pending", 0); /* nothing was open: no event */
    assert_int_equal(event_count(c), 0);
    char *p = good_quote("FB-1", idx, PRICES);
    expect_refused(c, CMD_QUOTE_PUBLISHED, p, 409);
    free(p);
    assert_int_equal(round_(c, "FB-1"), 201);
    assert_int_equal(publish(c, "FB-1", c->last, PRICES), 201);
    assert_market(c, "FB-1", "open", 1);
}

static void test_live_events(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    assert_int_equal(round_(c, "FB-1"), 201);
    assert_int_equal(publish(c, "FB-1", c->last, PRICES), 201);
    assert_fixture_status(c, "FB-1", "scheduled");

    /* Kick-off: the fixture is live, the open market suspended. */
    agree_event(c, "FB-1", 1, FEED_KICK_OFF, FEED_NONE, 1, 0);
    assert_fixture_status(c, "FB-1", "live");
    json_t *m = market(c, "FB-1");
    assert_string_equal(str(m, "status"), "suspended");
    assert_string_equal(str(m, "reason"), "kick_off");
    assert_int_equal(num(m, "suspended_index"), c->last);
    assert_int_equal(num(m, "version"), 1);
    json_decref(m);
    json_t *ev = events(c->f);
    assert_int_equal(json_array_size(ev), 2);
    json_t *e = json_array_get(ev, 1);
    assert_int_equal(num(e, "id"), 2);
    assert_string_equal(str(e, "type"), "suspended");
    assert_string_equal(str(e, "status"), "suspended");
    assert_string_equal(str(e, "reason"), "kick_off");
    json_decref(ev);

    /* A home goal in the 10th minute: the live score; the suspended market stays suspended
     * and no second event is emitted. */
    agree_event(c, "FB-1", 2, FEED_GOAL, FEED_HOME, 1, 10);
    m = market(c, "FB-1");
    assert_string_equal(str(m, "status"), "suspended");
    assert_string_equal(str(m, "reason"), "goal");
    json_t *live = json_object_get(m, "live");
    assert_int_equal(num(live, "home_goals"), 1);
    assert_int_equal(num(live, "away_goals"), 0);
    assert_int_equal(num(live, "seq"), 2);
    assert_true(json_is_true(json_object_get(live, "in_play")));
    json_decref(m);
    assert_int_equal(event_count(c), 2);

    /* A round now prices the live game. */
    assert_int_equal(round_(c, "FB-1"), 201);
    uint64_t idx = c->last;
    json_t *b = json_loads(c->r.body, 0, NULL);
    json_t *in = json_object_get(b, "inputs");
    assert_string_equal(str(in, "phase"), "live");
    assert_int_equal(num(in, "home_goals"), 1);
    assert_int_equal(num(in, "away_goals"), 0);
    assert_int_equal(num(in, "seq"), 2);
    assert_int_equal(num(in, "half"), 1);
    assert_int_equal(num(in, "minute_x10"), 100); /* one second after the goal's minute 10 */
    assert_int_equal(num(in, "epoch"), 0);
    json_decref(b);

    assert_int_equal(publish(c, "FB-1", idx, PRICES2), 201);
    m = market(c, "FB-1");
    assert_string_equal(str(m, "status"), "open");
    assert_int_equal(num(m, "version"), 2);
    assert_string_equal(str(m, "phase"), "live");
    assert_null(json_object_get(m, "reason"));
    json_decref(m);
    json_t *q = quote(c, 2);
    assert_string_equal(str(q, "phase"), "live");
    json_decref(q);
    ev = events(c->f);
    assert_int_equal(json_array_size(ev), 3);
    assert_string_equal(str(json_array_get(ev, 2), "type"), "published");
    assert_int_equal(num(json_array_get(ev, 2), "version"), 2);
    json_decref(ev);

    /* An own goal by the home side counts for the away side, and suspends. */
    agree_event(c, "FB-1", 3, FEED_OWN_GOAL, FEED_HOME, 1, 20);
    m = market(c, "FB-1");
    assert_string_equal(str(m, "status"), "suspended");
    assert_int_equal(num(json_object_get(m, "live"), "away_goals"), 1);
    json_decref(m);

    /* The final whistle: no more rounds; the game waits for its result. */
    agree_event(c, "FB-1", 4, FEED_PERIOD_END, FEED_NONE, 2, 90);
    expect_refused(c, CMD_QUOTE_ROUND, "{\"fixture\":\"FB-1\"}", 409);
}

/* Events agreed out of order: the score counts all of them, the clock stays the latest's. */
static void test_events_out_of_order(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    agree_event(c, "FB-1", 1, FEED_KICK_OFF, FEED_NONE, 1, 0);
    agree_event(c, "FB-1", 3, FEED_GOAL, FEED_AWAY, 1, 30);
    agree_event(c, "FB-1", 2, FEED_GOAL, FEED_HOME, 1, 20);
    json_t *m = market(c, "FB-1");
    json_t *live = json_object_get(m, "live");
    assert_int_equal(num(live, "home_goals"), 1);
    assert_int_equal(num(live, "away_goals"), 1);
    assert_int_equal(num(live, "seq"), 3);
    assert_int_equal(num(live, "minute"), 30);
    json_decref(m);
}

static void test_suspend_command(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    assert_int_equal(round_(c, "FB-1"), 201);
    uint64_t before = c->last;
    assert_int_equal(publish(c, "FB-1", before, PRICES), 201);

    assert_int_equal(suspend_cmd(c, "FB-1", "goal"), 200);
    uint64_t at = c->last;
    json_t *b = json_loads(c->r.body, 0, NULL);
    assert_string_equal(str(b, "status"), "suspended");
    assert_int_equal(num(b, "suspended_index"), at);
    json_decref(b);
    json_t *m = market(c, "FB-1");
    assert_string_equal(str(m, "status"), "suspended");
    assert_string_equal(str(m, "reason"), "goal");
    assert_int_equal(num(m, "suspended_index"), at);
    json_decref(m);
    json_t *ev = events(c->f);
    assert_int_equal(json_array_size(ev), 2);
    json_t *e = json_array_get(ev, 1);
    assert_string_equal(str(e, "type"), "suspended");
    assert_string_equal(str(e, "reason"), "goal");
    assert_int_equal(num(e, "version"), 1);
    json_decref(ev);

    /* The round from before the suspension (still the current round) cannot reopen it. */
    char *p = good_quote("FB-1", before, PRICES);
    expect_refused(c, CMD_QUOTE_PUBLISHED, p, 409);
    free(p);

    /* Suspending a suspended market moves the bar but emits nothing. */
    assert_int_equal(suspend_cmd(c, "FB-1", "red_card"), 200);
    assert_int_equal(event_count(c), 2);
    assert_market(c, "FB-1", "suspended", 1);

    /* Refusals. */
    expect_refused(c, CMD_MARKETS_SUSPEND, "{\"fixture\":\"FB-404\",\"reason\":\"goal\"}", 404);
    expect_refused(c, CMD_MARKETS_SUSPEND, "{\"fixture\":\"FB-1\"}", 422);
    expect_refused(c, CMD_MARKETS_SUSPEND, "{\"fixture\":\"FB-1\",\"reason\":\"\"}", 422);

    /* A new round, a new quote: open again. */
    assert_int_equal(round_(c, "FB-1"), 201);
    assert_int_equal(publish(c, "FB-1", c->last, PRICES2), 201);
    assert_market(c, "FB-1", "open", 2);
    assert_int_equal(event_count(c), 3);
}

static void test_result_closes(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    agree_fixture(c, "FB-2");
    assert_int_equal(round_(c, "FB-1"), 201);
    uint64_t idx = c->last;
    assert_int_equal(publish(c, "FB-1", idx, PRICES), 201);
    agree_event(c, "FB-1", 1, FEED_KICK_OFF, FEED_NONE, 1, 0);
    agree_event(c, "FB-2", 1, FEED_KICK_OFF, FEED_NONE, 1, 0); /* FB-2's epoch: 0 results */
    assert_int_equal(round_(c, "FB-1"), 201);
    idx = c->last;
    assert_int_equal(publish(c, "FB-1", idx, PRICES2), 201);
    size_t nev = event_count(c);

    agree_result(c, "FB-1", FEED_FINAL, 2, 1);
    json_t *m = market(c, "FB-1");
    assert_string_equal(str(m, "status"), "closed");
    assert_string_equal(str(m, "reason"), "result");
    json_decref(m);
    json_t *ev = events(c->f);
    assert_int_equal(json_array_size(ev), nev + 1);
    json_t *e = json_array_get(ev, nev);
    assert_string_equal(str(e, "type"), "closed");
    assert_string_equal(str(e, "status"), "closed");
    assert_string_equal(str(e, "reason"), "result");
    json_decref(ev);
    assert_fixture_status(c, "FB-1", "finished");

    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    assert_int_equal(quotes_results_count(c->f, txn), 1);
    json_t *r = quotes_result_nth(c->f, txn, 1);
    assert_null(quotes_result_nth(c->f, txn, 2));
    fsm_read_end(txn);
    assert_non_null(r);
    assert_string_equal(str(r, "fixture"), "FB-1");
    assert_string_equal(str(r, "home"), "Arsenal");
    assert_string_equal(str(r, "away"), "Chelsea");
    assert_int_equal(num(r, "kickoff"), KICKOFF);
    assert_int_equal(num(r, "home_goals"), 2);
    assert_int_equal(num(r, "away_goals"), 1);
    json_decref(r);

    /* Closed is final: no round, no quote (even of the last current round), no suspension. */
    expect_refused(c, CMD_QUOTE_ROUND, "{\"fixture\":\"FB-1\"}", 409);
    char *p = good_quote("FB-1", idx, PRICES);
    expect_refused(c, CMD_QUOTE_PUBLISHED, p, 409);
    free(p);
    expect_refused(c, CMD_MARKETS_SUSPEND, "{\"fixture\":\"FB-1\",\"reason\":\"goal\"}", 409);

    /* The epoch: a game that kicked off before the result keeps its own; a new pre-match
     * round counts the result. */
    assert_int_equal(round_(c, "FB-2"), 201);
    json_t *b = json_loads(c->r.body, 0, NULL);
    assert_int_equal(num(json_object_get(b, "inputs"), "epoch"), 0);
    json_decref(b);
    agree_fixture(c, "FB-3");
    assert_int_equal(round_(c, "FB-3"), 201);
    b = json_loads(c->r.body, 0, NULL);
    assert_string_equal(str(json_object_get(b, "inputs"), "phase"), "pre");
    assert_int_equal(num(json_object_get(b, "inputs"), "epoch"), 1);
    json_decref(b);

    /* A void result cancels the fixture and is no rating input. */
    agree_result(c, "FB-2", FEED_VOID, 0, 0);
    m = market(c, "FB-2");
    assert_string_equal(str(m, "status"), "closed");
    assert_string_equal(str(m, "reason"), "void");
    json_decref(m);
    assert_fixture_status(c, "FB-2", "cancelled");
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    assert_int_equal(quotes_results_count(c->f, txn), 1);
    fsm_read_end(txn);
    expect_refused(c, CMD_QUOTE_ROUND, "{\"fixture\":\"FB-2\"}", 409);
}

/* The scenario of the tests above on one state machine, then its entries on another: the same
 * markets, quotes, stream events (ids included) and rating inputs. */
static void test_deterministic(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    agree_fixture(c, "FB-2");
    assert_int_equal(round_(c, "FB-1"), 201);
    assert_int_equal(publish(c, "FB-1", c->last, PRICES), 201);
    assert_int_equal(round_(c, "FB-2"), 201);
    assert_int_equal(publish(c, "FB-2", c->last, PRICES2), 201);
    agree_event(c, "FB-1", 1, FEED_KICK_OFF, FEED_NONE, 1, 0);
    agree_event(c, "FB-1", 2, FEED_GOAL, FEED_AWAY, 1, 12);
    assert_int_equal(round_(c, "FB-1"), 201);
    assert_int_equal(publish(c, "FB-1", c->last, PRICES2), 201);
    assert_int_equal(suspend_cmd(c, "FB-1", "penalty_awarded"), 200);
    char *stale = good_quote("FB-1", c->last - 1, PRICES);
    assert_int_equal(apply(c, CMD_QUOTE_PUBLISHED, stale), 409);
    free(stale);
    assert_int_equal(round_(c, "FB-1"), 201);
    assert_int_equal(publish(c, "FB-1", c->last, PRICES), 201);
    agree_result(c, "FB-1", FEED_FINAL, 0, 1);
    agree_result(c, "FB-2", FEED_VOID, 0, 0);
    assert_int_equal(event_count(c), 8); /* 4 published, 2 suspended, 2 closed */

    char *dir2 = util_tmpdir();
    struct fsm *f2 = util_fsm_open(dir2);
    struct util_result r2;
    util_capture_results(f2, &r2);
    for (size_t i = 0; i < c->nlog; i++) {
        const struct entry *en = &c->log[i];
        (void)util_apply(f2, &r2, en->index, en->type, NULL, 0, en->payload);
    }
    char *a = dump_state(c->f), *b = dump_state(f2);
    assert_string_equal(a, b);
    json_t *ea = events(c->f), *eb = events(f2);
    assert_true(json_equal(ea, eb));
    assert_int_equal(json_array_size(eb), 8);
    json_decref(ea);
    json_decref(eb);
    free(a);
    free(b);
    fsm_close(f2);
    util_rmdir(dir2);
}

static void test_digest_binds_every_field(void **state)
{
    (void)state;
    uint8_t a[32], d[32];
    quote_digest("football", "FB-1", 12, PRICES, a);
    quote_digest("football", "FB-1", 12, PRICES, d);
    assert_memory_equal(a, d, 32);
    quote_digest("tennis", "FB-1", 12, PRICES, d);
    assert_memory_not_equal(a, d, 32);
    quote_digest("football", "FB-2", 12, PRICES, d);
    assert_memory_not_equal(a, d, 32);
    quote_digest("football", "FB-1", 1, PRICES, d);
    assert_memory_not_equal(a, d, 32);
    quote_digest("football", "FB-1", 12, PRICES2, d);
    assert_memory_not_equal(a, d, 32);
    /* The NUL separators: "FB-1" at 12 is not "FB-11" at 2. */
    quote_digest("football", "FB-11", 2, PRICES, d);
    assert_memory_not_equal(a, d, 32);
}

/* A database from before markets existed: agreed fixtures without markets. The leader finds
 * them (quotes_unmarketed) and their first round creates the market from the events agreed so
 * far; a finished fixture is left alone. */
static void test_late_market(void **state)
{
    struct ctx *c = *state;
    agree_fixture(c, "FB-1");
    agree_fixture(c, "FB-2");
    agree_event(c, "FB-1", 1, FEED_KICK_OFF, FEED_NONE, 1, 0);
    agree_event(c, "FB-1", 2, FEED_GOAL, FEED_HOME, 1, 12);
    agree_result(c, "FB-2", FEED_FINAL, 1, 0);
    MDB_txn *txn;
    assert_int_equal(fsm_flush(c->f), 0); /* the batch's write transaction first */
    assert_int_equal(mdb_txn_begin(c->f->env, NULL, 0, &txn), 0);
    MDB_val k1 = {4, "FB-1"}, k2 = {4, "FB-2"};
    assert_int_equal(mdb_del(txn, fsm_dbi(c->f, "markets"), &k1, NULL), 0);
    assert_int_equal(mdb_del(txn, fsm_dbi(c->f, "markets"), &k2, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *ids = quotes_unmarketed(c->f, txn, 10);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(ids), 1);
    assert_string_equal(json_string_value(json_array_get(ids, 0)), "FB-1");
    json_decref(ids);
    assert_int_equal(round_(c, "FB-1"), 201);
    json_t *m = market(c, "FB-1");
    assert_non_null(m);
    assert_string_equal(str(m, "status"), "pending");
    assert_int_equal(num(json_object_get(m, "live"), "home_goals"), 1);
    assert_string_equal(str(json_object_get(json_object_get(m, "round"), "inputs"), "phase"),
                        "live");
    json_decref(m);
    assert_int_equal(round_(c, "FB-2"), 404); /* over: no market is made for it */
    assert_null(market(c, "FB-2"));
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    ids = quotes_unmarketed(c->f, txn, 10);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(ids), 0);
    json_decref(ids);
}

int main(void)
{
    util_log_init();
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_agreed_fixture_creates_pending_market),
        T(test_round_captures_inputs),
        T(test_publish_opens_market),
        T(test_publish_refusals),
        T(test_stale_round),
        T(test_market_list),
        T(test_quote_before_suspension),
        T(test_live_events),
        T(test_events_out_of_order),
        T(test_suspend_command),
        T(test_result_closes),
        T(test_deterministic),
        T(test_late_market),
        cmocka_unit_test(test_digest_binds_every_field),
    };
#undef T
    return cmocka_run_group_tests_name("quotes", tests, NULL, NULL);
}
