/* The adapters against a real parlay-feedsim process on 127.0.0.1.
 *
 * The simulator runs with its clock stopped (--speed 0) and the tests move it with
 * POST /admin/v1/advance, so what the provider has published at each step is exact. Every
 * wait is "run the loop until this condition holds", bounded by a generous deadline that
 * only turns a hang into a failure; no test depends on how fast anything is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "feed/feed.h"
#include "tests/feedsim/simproc.h"

#define FOOTBALL "tests/feedsim/scenarios/football.json"
#define FOOTBALL_EVENTS 15
#define DEADLINE_MS 30000

/* ---- what a provider delivered --------------------------------------------------------- */

struct col {
    struct feed_obs obs[512];
    int n, fixtures, events, results, odds;
    int errors, last_error;
    int codes[16]; /* errors by -code */
    struct feed_provider *p;
};

static void on_obs(void *arg, const struct feed_obs *o)
{
    struct col *c = arg;
    assert_true(c->n < 512);
    c->obs[c->n++] = *o;
    c->fixtures += o->kind == FEED_FIXTURE;
    c->events += o->kind == FEED_EVENT;
    c->results += o->kind == FEED_RESULT;
    c->odds += o->kind == FEED_ODDS;
}

static void on_error(void *arg, const struct feed_error *e)
{
    struct col *c = arg;
    c->errors++;
    c->last_error = e->code;
    if (-e->code < 16)
        c->codes[-e->code]++;
}

static uv_loop_t *loop;

static void open_provider(struct col *c, enum feed_adapter a, const char *url)
{
    memset(c, 0, sizeof *c);
    struct feed_config cfg = {.adapter = a,
                              .url = url,
                              .poll_ms = 20,
                              .timeout_ms = 3000,
                              .backoff_min_ms = 10,
                              .backoff_max_ms = 80,
                              .seed = 42,
                              .on_obs = on_obs,
                              .on_error = on_error,
                              .arg = c};
    assert_int_equal(feed_open(loop, &cfg, &c->p), 0);
}

static void closed(void *arg)
{
    *(bool *)arg = true;
}

static void close_provider(struct col *c)
{
    bool done = false;
    feed_close(c->p, closed, &done);
    while (!done)
        uv_run(loop, UV_RUN_ONCE);
}

static struct feed_stats stats(struct col *c)
{
    struct feed_stats s;
    feed_get_stats(c->p, &s);
    return s;
}

static void on_deadline(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

/* Runs the loop until @cond holds (true) or the deadline passes (false). */
typedef bool (*cond_fn)(void *);
static bool run_until(cond_fn cond, void *arg)
{
    bool expired = false;
    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = &expired;
    uv_timer_start(&t, on_deadline, DEADLINE_MS, 0);
    while (!cond(arg) && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_timer_stop(&t);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return cond(arg);
}

static void advance(struct simproc *s, const char *body)
{
    json_t *j = simproc_admin(s, "/admin/v1/advance", body);
    assert_non_null(j);
    json_decref(j);
}

static void lie(struct simproc *s, const char *body)
{
    json_t *j = simproc_admin(s, "/admin/v1/lie", body);
    assert_non_null(j);
    json_decref(j);
}

static json_int_t sim_state(struct simproc *s, const char *key)
{
    json_t *j = simproc_admin(s, "/admin/v1/state", NULL);
    assert_non_null(j);
    json_int_t v = json_integer_value(json_object_get(j, key));
    json_decref(j);
    return v;
}

/* A fixture first, events in strictly increasing seq, nothing after the result. */
static void assert_well_ordered(const struct col *c)
{
    bool fixture_seen = false, result_seen = false;
    uint64_t last = 0;
    for (int i = 0; i < c->n; i++) {
        const struct feed_obs *o = &c->obs[i];
        assert_false(result_seen);
        if (o->kind == FEED_FIXTURE)
            fixture_seen = true;
        else if (o->kind == FEED_EVENT) {
            assert_true(fixture_seen);
            if (o->u.event.seq <= last)
                fail_msg("event seq %llu after %llu", (unsigned long long)o->u.event.seq,
                         (unsigned long long)last);
            last = o->u.event.seq;
        } else if (o->kind == FEED_ODDS) {
            assert_true(fixture_seen);
        } else {
            result_seen = true;
        }
    }
}

static const struct feed_obs *find(const struct col *c, enum feed_kind k, uint64_t seq)
{
    for (int i = 0; i < c->n; i++)
        if (c->obs[i].kind == k && (k != FEED_EVENT || c->obs[i].u.event.seq == seq))
            return &c->obs[i];
    return NULL;
}

static void encode(const struct feed_obs *o, uint8_t *buf, int *len)
{
    *len = feed_encode(o, buf, FEED_ENCODED_MAX, NULL);
    assert_true(*len > 0);
}

/* ---- conditions ------------------------------------------------------------------------ */

static struct col *A, *B;
static int want;

static bool a_has_result_and_two_cycles(void *x)
{
    (void)x;
    return A->results == 1 && stats(A).cycles >= 2;
}
static bool a_has_result(void *x)
{
    (void)x;
    return A->results >= 1;
}
static bool both_have_result(void *x)
{
    (void)x;
    return A->results >= 1 && B->results >= 1;
}
static bool a_events_at_least(void *x)
{
    (void)x;
    return A->events >= want;
}
static bool a_fixture_and_cycle(void *x)
{
    (void)x;
    return A->fixtures == 1 && stats(A).cycles >= 1;
}
static bool a_failing(void *x)
{
    (void)x;
    return stats(A).failures >= (unsigned)want;
}
static bool a_http_error(void *x)
{
    (void)x;
    return A->codes[-FEED_EHTTP] > 0;
}
static bool a_healthy_with_events(void *x)
{
    (void)x;
    return A->events >= want && stats(A).failures == 0;
}
static bool a_cycles(void *x)
{
    (void)x;
    return stats(A).cycles >= (uint64_t)want;
}
static bool both_errors(void *x)
{
    (void)x;
    return A->errors >= want && B->errors >= want;
}

/* ---- tests ----------------------------------------------------------------------------- */

/* The whole match through the REST poller; the second poll is answered 304. */
static void test_rest_full_match_and_etag(void **state)
{
    (void)state;
    struct simproc s;
    simproc_start(&s, FOOTBALL, (const char *[]){"--speed", "0", NULL});
    advance(&s, "{\"to\": 100000}");
    struct col c;
    A = &c;
    open_provider(&c, FEED_REST, s.url);
    assert_true(run_until(a_has_result_and_two_cycles, NULL));
    assert_int_equal(c.fixtures, 1);
    assert_int_equal(c.events, FOOTBALL_EVENTS);
    assert_well_ordered(&c);
    const struct feed_obs *r = find(&c, FEED_RESULT, 0);
    assert_int_equal(r->u.result.status, FEED_FINAL);
    assert_int_equal(r->u.result.home, 4);
    assert_int_equal(r->u.result.away, 2);
    const struct feed_obs *pen = find(&c, FEED_EVENT, 5);
    assert_int_equal(pen->u.event.type, FEED_PENALTY_SCORED);
    assert_int_equal(pen->u.event.team, FEED_AWAY);
    const struct feed_obs *late = find(&c, FEED_EVENT, 7);
    assert_int_equal(late->u.event.minute, 45);
    assert_int_equal(late->u.event.stoppage, 2);
    /* cycle 2 asked fixtures and results again with If-None-Match: both 304 (events are no
     * longer polled once the result is in) */
    assert_true(stats(&c).not_modified >= 2);
    assert_int_equal(c.errors, 0);
    close_provider(&c);

    /* and the same by hand */
    char etag[128] = "";
    assert_int_equal(simproc_get(&s, "/v1/fixtures", NULL, etag, sizeof etag), 200);
    assert_true(etag[0] == '"');
    assert_int_equal(simproc_get(&s, "/v1/fixtures", etag, NULL, 0), 304);
    assert_int_equal(simproc_get(&s, "/v1/events?fixture=FB-1001&after=0", NULL, NULL, 0), 200);
    assert_int_equal(simproc_get(&s, "/v1/events?fixture=NOPE", NULL, NULL, 0), 404);
    assert_int_equal(simproc_get(&s, "/v1/events?after=1", NULL, NULL, 0), 400);
    simproc_stop(&s);
}

/* The match as it happens; the provider goes away (refused, then 503) and comes back. */
static void test_rest_survives_downtime(void **state)
{
    (void)state;
    struct simproc s;
    simproc_start(&s, FOOTBALL, (const char *[]){"--speed", "0", NULL});
    struct col c;
    A = &c;
    open_provider(&c, FEED_REST, s.url);
    assert_true(run_until(a_fixture_and_cycle, NULL));
    assert_int_equal(c.events, 0);
    advance(&s, "{\"to\": 1000}"); /* period_start, kick_off, goal at 12' */
    want = 3;
    assert_true(run_until(a_events_at_least, NULL));

    lie(&s, "{\"down\": \"refuse\"}");
    want = 4;
    assert_true(run_until(a_failing, NULL));
    struct feed_stats st = stats(&c);
    assert_true(st.backoff_ms > 0 && st.backoff_ms <= 80);
    assert_true(c.codes[-FEED_ENET] >= 4);
    advance(&s, "{\"to\": 4000}"); /* while nobody can see it */
    lie(&s, "{\"down\": \"503\"}");
    assert_true(run_until(a_http_error, NULL));
    lie(&s, "{\"down\": \"none\"}");
    want = 9; /* through the second-half kick-off */
    assert_true(run_until(a_healthy_with_events, NULL));
    assert_well_ordered(&c);
    assert_int_equal(c.fixtures, 1);
    close_provider(&c);
    simproc_stop(&s);
}

/* Live events over SSE in order; after the provider drops the stream the adapter resumes
 * with Last-Event-ID and nothing is lost or repeated. */
static void test_sse_in_order_and_resume(void **state)
{
    (void)state;
    struct simproc s;
    simproc_start(&s, FOOTBALL, (const char *[]){"--speed", "0", NULL});
    advance(&s, "{\"to\": 2500}");
    struct col c;
    A = &c;
    open_provider(&c, FEED_SSE, s.url);
    want = 6; /* up to the red card at 39' */
    assert_true(run_until(a_events_at_least, NULL));
    assert_int_equal(c.events, 6);
    json_decref(simproc_admin(&s, "/admin/v1/drop-streams", "{}"));
    advance(&s, "{\"to\": 100000}");
    assert_true(run_until(a_has_result, NULL));
    assert_int_equal(c.fixtures, 1);
    assert_int_equal(c.events, FOOTBALL_EVENTS);
    assert_well_ordered(&c);
    assert_true(stats(&c).reconnects >= 1);
    assert_int_equal(stats(&c).last_event_id, 17);
    assert_true(sim_state(&s, "resumes") >= 1);
    close_provider(&c);
    simproc_stop(&s);
}

static bool a_two_odds_and_result(void *arg)
{
    (void)arg;
    return A->odds >= 2 && A->results >= 1;
}

/* Market snapshots (issue 17) over REST (GET /v1/odds) and SSE ("odds" events): both, in seq
 * order, with the scenario's milli-odds; a provider without /v1/odds is not a failure (the
 * plain football scenario's tests expect no errors and get none). */
static void test_odds_rest_and_sse(void **state)
{
    (void)state;
    struct simproc s;
    simproc_start(&s, "tests/feedsim/scenarios/football-odds.json",
                  (const char *[]){"--speed", "0", NULL});
    advance(&s, "{\"to\": 100000}");
    for (int a = 0; a < 2; a++) {
        struct col c;
        A = &c;
        open_provider(&c, a ? FEED_SSE : FEED_REST, s.url);
        assert_true(run_until(a_two_odds_and_result, NULL));
        assert_int_equal(c.odds, 2);
        assert_int_equal(c.events, FOOTBALL_EVENTS);
        assert_well_ordered(&c);
        const struct feed_obs *o1 = NULL, *o2 = NULL;
        for (int i = 0; i < c.n; i++)
            if (c.obs[i].kind == FEED_ODDS)
                *(o1 ? &o2 : &o1) = &c.obs[i];
        assert_int_equal(o1->u.odds.seq, 1);
        assert_int_equal(o1->u.odds.books, 2);
        assert_int_equal(o1->u.odds.milli[1][2], 6000);
        assert_int_equal(o2->u.odds.seq, 2);
        assert_int_equal(o2->u.odds.books, 1);
        assert_int_equal(o2->u.odds.milli[0][0], 1900);
        assert_int_equal(c.errors, 0);
        close_provider(&c);
    }
    assert_int_equal(simproc_get(&s, "/v1/odds", NULL, NULL, 0), 200);
    /* The swap_odds lie: the same snapshots with home and away odds swapped in every book. */
    lie(&s, "{\"swap_odds\": \"FB-1001\"}");
    struct col c;
    A = &c;
    open_provider(&c, FEED_REST, s.url);
    assert_true(run_until(a_two_odds_and_result, NULL));
    const struct feed_obs *o1 = find(&c, FEED_ODDS, 0);
    assert_int_equal(o1->u.odds.milli[1][0], 6000);
    assert_int_equal(o1->u.odds.milli[1][2], 1550);
    assert_int_equal(o1->u.odds.milli[1][1], 4000);
    close_provider(&c);
    simproc_stop(&s);
}

/* A provider that hangs up every 4 events: many resumes, the same observations. */
static void test_sse_resumes_through_repeated_drops(void **state)
{
    (void)state;
    struct simproc s;
    simproc_start(&s, FOOTBALL,
                  (const char *[]){"--speed", "0", "--drop-stream-every", "4", NULL});
    advance(&s, "{\"to\": 100000}");
    struct col c;
    A = &c;
    open_provider(&c, FEED_SSE, s.url);
    assert_true(run_until(a_has_result, NULL));
    assert_int_equal(c.n, 1 + FOOTBALL_EVENTS + 1);
    assert_well_ordered(&c);
    assert_true(sim_state(&s, "resumes") >= 4);
    close_provider(&c);
    simproc_stop(&s);
}

/* Two providers, one lying about the score: same fixture and events byte for byte, a
 * different result. The agreement layer will see exactly this. */
static void test_liar_score_is_a_different_observation(void **state)
{
    (void)state;
    struct simproc honest, liar;
    simproc_start(&honest, FOOTBALL, (const char *[]){"--speed", "0", NULL});
    simproc_start(&liar, FOOTBALL,
                  (const char *[]){"--speed", "0", "--lie-score", "FB-1001=2-4", NULL});
    advance(&honest, "{\"to\": 100000}");
    advance(&liar, "{\"to\": 100000}");
    struct col ch, cl;
    A = &ch;
    B = &cl;
    open_provider(&ch, FEED_REST, honest.url);
    open_provider(&cl, FEED_SSE, liar.url); /* and across adapters */
    assert_true(run_until(both_have_result, NULL));
    assert_int_equal(ch.n, cl.n);
    uint8_t a[FEED_ENCODED_MAX], b[FEED_ENCODED_MAX];
    int la, lb;
    for (int i = 0; i + 1 < ch.n; i++) {
        encode(&ch.obs[i], a, &la);
        encode(&cl.obs[i], b, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, (size_t)la);
    }
    encode(find(&ch, FEED_RESULT, 0), a, &la);
    encode(find(&cl, FEED_RESULT, 0), b, &lb);
    assert_true(la == lb && memcmp(a, b, (size_t)la) != 0);
    assert_int_equal(find(&cl, FEED_RESULT, 0)->u.result.away, 4);
    close_provider(&ch);
    close_provider(&cl);
    simproc_stop(&honest);
    simproc_stop(&liar);
}

/* A provider that leaves out an event: the node simply never sees it. One that credits a
 * goal to the wrong side: the same subject, different bytes. */
static void test_liar_missing_or_flipped_event(void **state)
{
    (void)state;
    struct simproc s;
    simproc_start(&s, FOOTBALL,
                  (const char *[]){"--speed", "0", "--lie-drop-event", "FB-1001:5", NULL});
    advance(&s, "{\"to\": 100000}");
    struct col c;
    A = &c;
    open_provider(&c, FEED_REST, s.url);
    assert_true(run_until(a_has_result, NULL));
    assert_int_equal(c.events, FOOTBALL_EVENTS - 1);
    assert_null(find(&c, FEED_EVENT, 5));
    assert_non_null(find(&c, FEED_EVENT, 6));
    close_provider(&c);

    /* now flip the goal at 12' (seq 3), through the admin API, for a fresh reader */
    lie(&s, "{\"clear\": true, \"flip_event\": {\"fixture\": \"FB-1001\", \"seq\": 3}}");
    struct col f;
    A = &f;
    open_provider(&f, FEED_SSE, s.url);
    assert_true(run_until(a_has_result, NULL));
    assert_int_equal(f.events, FOOTBALL_EVENTS);
    const struct feed_obs *honest = find(&c, FEED_EVENT, 3), *liar = find(&f, FEED_EVENT, 3);
    assert_int_equal(honest->u.event.team, FEED_HOME);
    assert_int_equal(liar->u.event.team, FEED_AWAY);
    char sa[FEED_SUBJECT_MAX], sb[FEED_SUBJECT_MAX];
    feed_obs_subject(honest, sa, sizeof sa);
    feed_obs_subject(liar, sb, sizeof sb);
    assert_string_equal(sa, sb);
    assert_false(feed_obs_equal(honest, liar));
    assert_true(feed_obs_equal(find(&c, FEED_EVENT, 4), find(&f, FEED_EVENT, 4)));
    close_provider(&f);
    simproc_stop(&s);
}

/* Garbage bodies: errors, back-off, no observations, no crash; then recovery. */
static void test_garbage_yields_errors(void **state)
{
    (void)state;
    struct simproc s;
    simproc_start(&s, FOOTBALL, (const char *[]){"--speed", "0", "--lie-garbage", NULL});
    advance(&s, "{\"to\": 100000}");
    struct col cr, cs;
    A = &cr;
    B = &cs;
    open_provider(&cr, FEED_REST, s.url);
    open_provider(&cs, FEED_SSE, s.url);
    want = 6;
    assert_true(run_until(both_errors, NULL));
    assert_int_equal(cr.n, 0);
    assert_int_equal(cs.n, 0);
    assert_true(cr.codes[-FEED_EJSON] + cr.codes[-FEED_EFIELD] == cr.errors);
    assert_true(cs.codes[-FEED_EJSON] + cs.codes[-FEED_EFIELD] == cs.errors);
    assert_true(stats(&cr).failures >= 6);
    /* a stream URL that answers JSON instead of text/event-stream */
    struct col cj;
    char url[160];
    snprintf(url, sizeof url, "%s/v1/fixtures?x=", s.url);
    A = &cj;
    open_provider(&cj, FEED_SSE, url);
    want = 2;
    assert_true(run_until(a_failing, NULL));
    assert_true(cj.codes[-FEED_ESSE] >= 2);
    assert_int_equal(cj.n, 0);
    close_provider(&cj);
    A = &cr;
    lie(&s, "{\"garbage\": false}");
    assert_true(run_until(both_have_result, NULL));
    assert_int_equal(cr.n, 1 + FOOTBALL_EVENTS + 1);
    assert_int_equal(cs.n, 1 + FOOTBALL_EVENTS + 1);
    close_provider(&cr);
    close_provider(&cs);
    simproc_stop(&s);
}

/* Tennis point by point and basketball scoring runs, over both adapters. */
static void test_tennis_and_basketball(void **state)
{
    (void)state;
    static const char *const files[] = {"tests/feedsim/scenarios/tennis.json",
                                        "tests/feedsim/scenarios/basketball.json"};
    for (int f = 0; f < 2; f++) {
        struct simproc s;
        simproc_start(&s, files[f], (const char *[]){"--speed", "0", NULL});
        advance(&s, "{\"to\": 100000}");
        struct col cr, cs;
        A = &cr;
        B = &cs;
        open_provider(&cr, FEED_REST, s.url);
        open_provider(&cs, FEED_SSE, s.url);
        assert_true(run_until(both_have_result, NULL));
        assert_int_equal(cr.n, (int)sim_state(&s, "items"));
        assert_int_equal(cs.n, cr.n);
        assert_well_ordered(&cr);
        int special = 0;
        for (int i = 0; i < cr.n; i++) {
            assert_true(feed_obs_equal(&cr.obs[i], &cs.obs[i]));
            if (cr.obs[i].kind == FEED_EVENT)
                special += cr.obs[i].u.event.type == (f ? FEED_SCORING_RUN : FEED_POINT);
        }
        assert_true(special >= (f ? 8 : 100));
        const struct feed_obs *r = find(&cr, FEED_RESULT, 0);
        if (f == 0) /* best of three, and this one went the distance */
            assert_true((r->u.result.home == 2 && r->u.result.away == 1) ||
                        (r->u.result.home == 1 && r->u.result.away == 2));
        close_provider(&cr);
        close_provider(&cs);
        simproc_stop(&s);
    }
}

/* At --speed 20000 the match plays itself to the end on the simulator's own clock. */
static void test_accelerated_clock(void **state)
{
    (void)state;
    struct simproc s;
    simproc_start(&s, FOOTBALL, (const char *[]){"--speed", "20000", NULL});
    struct col c;
    A = &c;
    open_provider(&c, FEED_SSE, s.url);
    assert_true(run_until(a_has_result, NULL));
    assert_int_equal(c.events, FOOTBALL_EVENTS);
    assert_well_ordered(&c);
    close_provider(&c);
    simproc_stop(&s);
}

/* An answer slower than the per-request timeout is a failure like any other; the poller
 * backs off and gets everything once the provider is quick again. */
static void test_rest_request_timeout(void **state)
{
    (void)state;
    struct simproc s;
    simproc_start(&s, FOOTBALL, (const char *[]){"--speed", "0", "--lie-slow", "60000", NULL});
    advance(&s, "{\"to\": 100000}");
    struct col c;
    A = &c;
    memset(&c, 0, sizeof c);
    struct feed_config cfg = {.adapter = FEED_REST, .url = s.url, .poll_ms = 20,
                              .timeout_ms = 100, .backoff_min_ms = 10, .backoff_max_ms = 40,
                              .on_obs = on_obs, .on_error = on_error, .arg = &c};
    assert_int_equal(feed_open(loop, &cfg, &c.p), 0);
    want = 2;
    assert_true(run_until(a_failing, NULL));
    assert_int_equal(c.n, 0);
    assert_true(c.codes[-FEED_ENET] >= 2);
    lie(&s, "{\"slow_ms\": 0}");
    assert_true(run_until(a_has_result, NULL));
    assert_int_equal(c.n, 1 + FOOTBALL_EVENTS + 1);
    close_provider(&c);
    simproc_stop(&s);
}

/* A node configured with a dead provider and a mirror moves to the mirror, over both
 * adapters, and delivers everything once. */
static void test_failover_to_fallback_url(void **state)
{
    (void)state;
    struct simproc dead, mirror;
    simproc_start(&dead, FOOTBALL, (const char *[]){"--speed", "0", "--lie-down", "refuse", NULL});
    simproc_start(&mirror, FOOTBALL, (const char *[]){"--speed", "0", NULL});
    advance(&mirror, "{\"to\": 100000}");
    for (int a = FEED_REST; a <= FEED_SSE; a++) {
        struct col c;
        A = &c;
        memset(&c, 0, sizeof c);
        const char *const fallbacks[] = {mirror.url, NULL};
        struct feed_config cfg = {.adapter = (enum feed_adapter)a, .url = dead.url,
                                  .fallback_urls = fallbacks, .failover_after = 2,
                                  .poll_ms = 20, .timeout_ms = 3000, .backoff_min_ms = 10,
                                  .backoff_max_ms = 40, .on_obs = on_obs, .on_error = on_error,
                                  .arg = &c};
        assert_int_equal(feed_open(loop, &cfg, &c.p), 0);
        assert_true(run_until(a_has_result, NULL));
        assert_int_equal(c.n, 1 + FOOTBALL_EVENTS + 1);
        assert_well_ordered(&c);
        assert_int_equal(stats(&c).failovers, 1);
        assert_int_equal(stats(&c).url_index, 1);
        assert_true(c.codes[-FEED_ENET] >= 2);
        close_provider(&c);
    }
    simproc_stop(&dead);
    simproc_stop(&mirror);
}

/* A provider that publishes late: nothing is visible on REST or the stream until its delay
 * has passed (a minute here, so the test never waits on it), then everything is. */
static void test_delayed_provider(void **state)
{
    (void)state;
    struct simproc s;
    simproc_start(&s, FOOTBALL, (const char *[]){"--speed", "0", "--lie-delay", "60000", NULL});
    advance(&s, "{\"to\": 100000}");
    struct col cr, cs;
    A = &cr;
    B = &cs;
    open_provider(&cr, FEED_REST, s.url);
    open_provider(&cs, FEED_SSE, s.url);
    want = 2;
    assert_true(run_until(a_cycles, NULL)); /* two complete polls of an empty provider */
    assert_int_equal(cr.n, 0);
    assert_int_equal(cs.n, 0);
    assert_int_equal(sim_state(&s, "released"), 17); /* published, but not yet shown */
    lie(&s, "{\"delay_ms\": 0}");
    assert_true(run_until(both_have_result, NULL));
    assert_int_equal(cr.n, 1 + FOOTBALL_EVENTS + 1);
    assert_int_equal(cs.n, 1 + FOOTBALL_EVENTS + 1);
    close_provider(&cr);
    close_provider(&cs);
    simproc_stop(&s);
}

/* Bad scenario files and options are refused at start with a message naming the problem. */
static void test_simulator_refuses_bad_input(void **state)
{
    (void)state;
    static const char fx[] = "{\"id\": \"FB-1\", \"sport\": \"football\", \"competition\": "
                             "\"c\", \"home\": \"a\", \"away\": \"b\", \"kickoff\": "
                             "\"2026-11-28T15:00:00Z\"";
    struct {
        const char *body, *want;
    } cases[] = {
        {"{\"fixtures\": [", "scenario: "},
        {"{\"name\": \"x\"}", "no \"fixtures\" array"},
        {"{\"fixtures\": [%s, \"events\": [{\"at\": 0, \"minute\": 0, \"period\": 1, "
         "\"type\": \"dunk\"}]}]}",
         "fixture FB-1, events[0]: type: unknown value"},
        {"{\"fixtures\": [%s, \"events\": [{\"at\": 60, \"minute\": 1, \"period\": 1, "
         "\"type\": \"kick_off\"}, {\"at\": 0, \"minute\": 0, \"period\": 1, \"type\": "
         "\"period_start\"}]}]}",
         "events[1]: \"at\" missing or going back in time"},
        {"{\"fixtures\": [%s, \"result\": {\"at\": 10, \"status\": \"final\", \"home\": 1, "
         "\"away\": 0}}]}",
         "result 1-0 but the events say 0-0"},
        {"{\"fixtures\": [%s}, %s}]}", "id FB-1 appears twice"},
        {"{\"fixtures\": [{\"id\": \"FB 1\"}]}", "fixtures[0]: sport: missing"},
        {"{\"fixtures\": [{\"id\": \"FB 1\", \"sport\": \"tennis\", \"competition\": \"c\", "
         "\"home\": \"a\", \"away\": \"b\", \"kickoff\": \"2026-11-28T15:00:00Z\"}]}",
         "fixtures[0]: fixture.id: byte 2 (0x20)"},
    };
    char dir[] = "/tmp/parlay-feedsim-bad-XXXXXX", path[128], out[4096], body[2048];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.json", dir);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(body, sizeof body, cases[i].body, fx, fx);
        FILE *f = fopen(path, "w");
        fputs(body, f);
        fclose(f);
        int rc = simproc_run((const char *[]){"--scenario", path, "--listen", "127.0.0.1:0", NULL},
                             out, sizeof out);
        if (rc != 1 || !strstr(out, cases[i].want))
            fail_msg("case %zu: exit %d, output \"%s\", want \"%s\"", i, rc, out, cases[i].want);
    }
    static const char *const bad_options[][2] = {{"--lie-score", "FB-1001=two-nil"},
                                                 {"--lie-drop-event", "FB-1001"},
                                                 {"--lie-down", "sometimes"},
                                                 {"--speed", "-1"}};
    for (size_t i = 0; i < 4; i++) {
        int rc = simproc_run((const char *[]){"--scenario", FOOTBALL, bad_options[i][0],
                                              bad_options[i][1], NULL},
                             out, sizeof out);
        if (rc != 2 || !strstr(out, "bad value"))
            fail_msg("%s %s: exit %d, output \"%s\"", bad_options[i][0], bad_options[i][1], rc,
                     out);
    }
    unlink(path);
    rmdir(dir);
}

/* An inconsistent provider publishes a result before its fixture. The poller holds the
 * result back (fixture first) and must not let the unchanged results page become a 304 that
 * hides it forever once the fixture appears. */
static void test_rest_result_before_fixture(void **state)
{
    (void)state;
    char dir[] = "/tmp/parlay-feed-early-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"fixtures\": [{\"id\": \"BB-9\", \"sport\": \"basketball\", \"competition\": "
          "\"c\", \"home\": \"a\", \"away\": \"b\", \"kickoff\": \"2026-11-28T15:00:00Z\", "
          "\"announce\": 100, \"start\": 0, \"result\": {\"at\": 50, \"status\": \"void\"}}]}",
          f);
    fclose(f);
    struct simproc s;
    simproc_start(&s, path, (const char *[]){"--speed", "0", NULL});
    advance(&s, "{\"to\": 60}"); /* the result, without its fixture */
    struct col c;
    A = &c;
    open_provider(&c, FEED_REST, s.url);
    want = 3;
    assert_true(run_until(a_cycles, NULL));
    assert_int_equal(c.n, 0);
    advance(&s, "{\"to\": 100}");
    assert_true(run_until(a_has_result, NULL));
    assert_int_equal(c.fixtures, 1);
    assert_well_ordered(&c);
    close_provider(&c);
    simproc_stop(&s);
    unlink(path);
    rmdir(dir);
}

/* A provider that wants an API key: refused (401) without it, everything with it. */
static void test_api_key_header(void **state)
{
    (void)state;
    struct simproc s;
    simproc_start(&s, FOOTBALL, (const char *[]){"--speed", "0", "--api-key", "s3cret", NULL});
    advance(&s, "{\"to\": 100000}");
    struct col c;
    A = &c;
    open_provider(&c, FEED_REST, s.url);
    want = 2;
    assert_true(run_until(a_failing, NULL));
    assert_int_equal(c.n, 0);
    assert_true(c.codes[-FEED_EHTTP] >= 2);
    close_provider(&c);
    static const char *const key[] = {"X-Api-Key: s3cret", NULL};
    for (int a = FEED_REST; a <= FEED_SSE; a++) {
        memset(&c, 0, sizeof c);
        struct feed_config cfg = {.adapter = (enum feed_adapter)a, .url = s.url, .headers = key,
                                  .poll_ms = 20, .backoff_min_ms = 10, .on_obs = on_obs,
                                  .on_error = on_error, .arg = &c};
        assert_int_equal(feed_open(loop, &cfg, &c.p), 0);
        assert_true(run_until(a_has_result, NULL));
        assert_int_equal(c.n, 1 + FOOTBALL_EVENTS + 1);
        assert_int_equal(c.errors, 0);
        close_provider(&c);
    }
    simproc_stop(&s);
}

/* A node may close its provider from inside on_obs (here after three observations, in the
 * middle of a page or a stream chunk): nothing more is delivered and everything is freed. */
struct closer {
    int n;
    bool closed;
    struct feed_provider *p;
};

static void close_after_three(void *arg, const struct feed_obs *o)
{
    (void)o;
    struct closer *c = arg;
    if (++c->n == 3)
        feed_close(c->p, closed, &c->closed);
}

static bool closer_closed(void *x)
{
    return ((struct closer *)x)->closed;
}

static void test_close_from_callback(void **state)
{
    (void)state;
    struct simproc s;
    simproc_start(&s, FOOTBALL, (const char *[]){"--speed", "0", NULL});
    advance(&s, "{\"to\": 100000}");
    for (int a = FEED_REST; a <= FEED_SSE; a++) {
        struct closer c = {0};
        struct feed_config cfg = {.adapter = (enum feed_adapter)a, .url = s.url,
                                  .on_obs = close_after_three, .arg = &c};
        assert_int_equal(feed_open(loop, &cfg, &c.p), 0);
        assert_true(run_until(closer_closed, &c));
        assert_int_equal(c.n, 3);
    }
    simproc_stop(&s);
}

static void test_open_refuses_bad_config(void **state)
{
    (void)state;
    struct feed_provider *p;
    struct feed_config cfg = {.adapter = FEED_REST, .url = "ftp://x", .on_obs = on_obs};
    assert_int_equal(feed_open(loop, &cfg, &p), FEED_EINVAL);
    cfg.url = "http://127.0.0.1:1";
    cfg.adapter = 7;
    assert_int_equal(feed_open(loop, &cfg, &p), FEED_EINVAL);
    cfg.adapter = FEED_SSE;
    cfg.on_obs = NULL;
    assert_int_equal(feed_open(loop, &cfg, &p), FEED_EINVAL);
    cfg.on_obs = on_obs;
    const char *const bad[] = {"http://127.0.0.1:1", "gopher://x", NULL};
    cfg.fallback_urls = bad;
    assert_int_equal(feed_open(loop, &cfg, &p), FEED_EINVAL);
    cfg.fallback_urls = NULL;
    const char *const smuggle[] = {"X-Api-Key: k\r\nX-Admin: yes", NULL};
    cfg.headers = smuggle;
    assert_int_equal(feed_open(loop, &cfg, &p), FEED_EINVAL);
    const char *const nameless[] = {": value", NULL};
    cfg.headers = nameless;
    assert_int_equal(feed_open(loop, &cfg, &p), FEED_EINVAL);
}

/* A failed assertion leaves the test early: do not leave simulators behind. */
static int kill_sims(void **state)
{
    (void)state;
    simproc_stop_all();
    return 0;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    static uv_loop_t l;
    uv_loop_init(&l);
    loop = &l;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_open_refuses_bad_config, kill_sims),
        cmocka_unit_test_teardown(test_rest_full_match_and_etag, kill_sims),
        cmocka_unit_test_teardown(test_rest_survives_downtime, kill_sims),
        cmocka_unit_test_teardown(test_sse_in_order_and_resume, kill_sims),
        cmocka_unit_test_teardown(test_odds_rest_and_sse, kill_sims),
        cmocka_unit_test_teardown(test_sse_resumes_through_repeated_drops, kill_sims),
        cmocka_unit_test_teardown(test_liar_score_is_a_different_observation, kill_sims),
        cmocka_unit_test_teardown(test_liar_missing_or_flipped_event, kill_sims),
        cmocka_unit_test_teardown(test_garbage_yields_errors, kill_sims),
        cmocka_unit_test_teardown(test_tennis_and_basketball, kill_sims),
        cmocka_unit_test_teardown(test_accelerated_clock, kill_sims),
        cmocka_unit_test_teardown(test_rest_request_timeout, kill_sims),
        cmocka_unit_test_teardown(test_failover_to_fallback_url, kill_sims),
        cmocka_unit_test_teardown(test_delayed_provider, kill_sims),
        cmocka_unit_test_teardown(test_simulator_refuses_bad_input, kill_sims),
        cmocka_unit_test_teardown(test_rest_result_before_fixture, kill_sims),
        cmocka_unit_test_teardown(test_api_key_header, kill_sims),
        cmocka_unit_test_teardown(test_close_from_callback, kill_sims),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    uv_loop_close(loop);
    curl_global_cleanup();
    return rc;
}
