/* Observations: canonical encoding round trips, a golden vector, refusal of garbage bytes and
 * garbage JSON with precise errors, and a fixed-seed fuzz loop that must never crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "feed/feed.h"

static struct feed_obs fixture(void)
{
    struct feed_obs o = {.kind = FEED_FIXTURE};
    strcpy(o.u.fixture.id, "FB-1001");
    o.u.fixture.sport = FEED_FOOTBALL;
    strcpy(o.u.fixture.competition, "Premier League");
    strcpy(o.u.fixture.home, "Arsenal");
    strcpy(o.u.fixture.away, "Chelsea");
    o.u.fixture.kickoff = 1795878000; /* 2026-11-28T15:00:00Z */
    return o;
}

static struct feed_obs event(enum feed_event_type type)
{
    struct feed_obs o = {.kind = FEED_EVENT};
    struct feed_event *e = &o.u.event;
    strcpy(e->fixture, "FB-1001");
    e->seq = 7;
    e->minute = 45;
    e->stoppage = 2;
    e->period = 1;
    e->type = type;
    if (type == FEED_POINT) {
        e->server = FEED_HOME;
        e->winner = FEED_AWAY;
    } else if (type == FEED_SCORING_RUN) {
        e->team = FEED_AWAY;
        e->points = 9;
    } else if (type != FEED_KICK_OFF && type != FEED_PERIOD_START && type != FEED_PERIOD_END) {
        e->team = FEED_HOME;
    }
    return o;
}

static struct feed_obs result(uint16_t home, uint16_t away)
{
    struct feed_obs o = {.kind = FEED_RESULT};
    strcpy(o.u.result.fixture, "FB-1001");
    o.u.result.status = FEED_FINAL;
    o.u.result.home = home;
    o.u.result.away = away;
    return o;
}

static struct feed_obs odds(int books)
{
    struct feed_obs o = {.kind = FEED_ODDS};
    struct feed_odds *m = &o.u.odds;
    strcpy(m->fixture, "FB-1001");
    m->seq = 3;
    m->books = (uint8_t)books;
    for (int b = 0; b < books; b++) {
        m->milli[b][0] = 2100 + 10 * (uint32_t)b;
        m->milli[b][1] = 3400;
        m->milli[b][2] = 3600 - 20 * (uint32_t)b;
    }
    return o;
}

/* encode -> decode -> equal -> encode again: the same bytes */
static void round_trip(const struct feed_obs *o)
{
    uint8_t a[FEED_ENCODED_MAX], b[FEED_ENCODED_MAX];
    struct feed_error err = {0};
    int la = feed_encode(o, a, sizeof a, &err);
    if (la < 0)
        fail_msg("encode: %s", err.msg);
    struct feed_obs back;
    assert_int_equal(feed_decode(a, (size_t)la, &back, &err), 0);
    assert_true(feed_obs_equal(o, &back));
    int lb = feed_encode(&back, b, sizeof b, NULL);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, (size_t)la);
    /* and through the providers' JSON */
    char *json = feed_obs_to_json_text(o);
    assert_non_null(json);
    struct feed_obs parsed;
    if (feed_obs_from_json_text(o->kind, json, strlen(json), &parsed, &err))
        fail_msg("%s: %s", json, err.msg);
    assert_true(feed_obs_equal(o, &parsed));
    free(json);
}

static void test_round_trips(void **state)
{
    (void)state;
    struct feed_obs f = fixture();
    round_trip(&f);
    for (int t = FEED_KICK_OFF; t <= FEED_SCORING_RUN; t++) {
        struct feed_obs e = event((enum feed_event_type)t);
        round_trip(&e);
    }
    struct feed_obs r = result(4, 2);
    round_trip(&r);
    r.u.result.status = FEED_VOID;
    r.u.result.home = r.u.result.away = 0;
    round_trip(&r);
    /* UTF-8 names, the longest id */
    f = fixture();
    strcpy(f.u.fixture.home, "Olympique de Marseille \xc3\xa9\xe2\x82\xac\xf0\x9f\x8f\x86");
    memset(f.u.fixture.id, 'x', FEED_ID_MAX);
    f.u.fixture.id[FEED_ID_MAX] = 0;
    round_trip(&f);
}

/* The bytes are the contract between nodes: pin them. */
static void test_golden_vector(void **state)
{
    (void)state;
    struct feed_obs o = result(4, 2);
    uint8_t buf[FEED_ENCODED_MAX];
    static const uint8_t want[] = {1, 3, 0, 7, 'F', 'B', '-', '1', '0', '0', '1', 1, 0, 4, 0, 2};
    assert_int_equal(feed_encode(&o, buf, sizeof buf, NULL), sizeof want);
    assert_memory_equal(buf, want, sizeof want);

    o = event(FEED_GOAL);
    static const uint8_t want_ev[] = {1, 2, 0, 7, 'F', 'B', '-', '1', '0', '0', '1',
                                      0, 0, 0, 0, 0, 0, 0, 7, /* seq */
                                      0, 45, 0, 2, 1,         /* minute, stoppage, period */
                                      2, 1, 0, 0, 0, 0};      /* type, team, server, winner, points */
    assert_int_equal(feed_encode(&o, buf, sizeof buf, NULL), sizeof want_ev);
    assert_memory_equal(buf, want_ev, sizeof want_ev);
}

static void test_different_observations_differ(void **state)
{
    (void)state;
    uint8_t a[FEED_ENCODED_MAX], b[FEED_ENCODED_MAX];
    struct feed_obs honest = result(4, 2), liar = result(2, 4);
    int la = feed_encode(&honest, a, sizeof a, NULL), lb = feed_encode(&liar, b, sizeof b, NULL);
    assert_true(la == lb && memcmp(a, b, (size_t)la) != 0);
    struct feed_obs e1 = event(FEED_GOAL), e2 = event(FEED_GOAL);
    e2.u.event.stoppage = 3;
    assert_false(feed_obs_equal(&e1, &e2));

    /* ... but they are about the same thing: the subject under which votes are counted */
    char sa[FEED_SUBJECT_MAX], sb[FEED_SUBJECT_MAX];
    assert_int_equal(feed_obs_subject(&honest, sa, sizeof sa), 14);
    assert_int_equal(feed_obs_subject(&liar, sb, sizeof sb), 14);
    assert_string_equal(sa, "result/FB-1001");
    assert_string_equal(sa, sb);
    feed_obs_subject(&e1, sa, sizeof sa);
    feed_obs_subject(&e2, sb, sizeof sb);
    assert_string_equal(sa, "event/FB-1001/7");
    assert_string_equal(sa, sb);
    e2.u.event.seq = 8;
    feed_obs_subject(&e2, sb, sizeof sb);
    assert_string_not_equal(sa, sb);
    struct feed_obs f = fixture();
    feed_obs_subject(&f, sa, sizeof sa);
    assert_string_equal(sa, "fixture/FB-1001");
    assert_string_equal(feed_obs_fixture(&f), "FB-1001");
    assert_int_equal(feed_obs_subject(&f, sa, 5), FEED_EINVAL);
    memset(f.u.fixture.id, 'x', FEED_ID_MAX);
    struct feed_obs e = event(FEED_GOAL);
    memcpy(e.u.event.fixture, f.u.fixture.id, sizeof e.u.event.fixture);
    e.u.event.seq = UINT64_MAX;
    assert_true(feed_obs_subject(&e, sa, sizeof sa) > 0); /* FEED_SUBJECT_MAX is enough */
}

static void expect_decode(const uint8_t *buf, size_t len, int code, const char *needle)
{
    struct feed_obs o;
    struct feed_error err = {0};
    int rc = feed_decode(buf, len, &o, &err);
    if (rc != code || !strstr(err.msg, needle))
        fail_msg("want %d (%s) mentioning \"%s\", got %d: %s", code, feed_strerror(code), needle,
                 rc, err.msg);
}

static void test_decode_refuses_garbage(void **state)
{
    (void)state;
    uint8_t buf[FEED_ENCODED_MAX + 1];
    struct feed_obs o = event(FEED_POINT);
    int len = feed_encode(&o, buf, sizeof buf, NULL);
    assert_true(len > 0);
    /* every truncation */
    for (int cut = 0; cut < len; cut++) {
        struct feed_obs out;
        struct feed_error err;
        int rc = feed_decode(buf, (size_t)cut, &out, &err);
        assert_int_equal(rc, FEED_ETRUNC);
    }
    expect_decode(buf, 0, FEED_ETRUNC, "version");
    expect_decode(buf, 12, FEED_ETRUNC, "seq");
    buf[len] = 0;
    expect_decode(buf, (size_t)len + 1, FEED_ETRAIL, "1 bytes after the end of the event");

    uint8_t bad[FEED_ENCODED_MAX];
    memcpy(bad, buf, (size_t)len);
    bad[0] = 2;
    expect_decode(bad, (size_t)len, FEED_EVERSION, "version: 2");
    memcpy(bad, buf, (size_t)len);
    bad[1] = 9;
    expect_decode(bad, (size_t)len, FEED_EKIND, "kind: unknown value 9");
    /* a point without a winner */
    memcpy(bad, buf, (size_t)len);
    bad[len - 3] = 0;
    expect_decode(bad, (size_t)len, FEED_EFIELD, "server and winner");
    /* a side that does not exist */
    memcpy(bad, buf, (size_t)len);
    bad[len - 3] = 3;
    expect_decode(bad, (size_t)len, FEED_EFIELD, "server and winner");
    /* type 12 */
    memcpy(bad, buf, (size_t)len);
    bad[len - 6] = 12;
    expect_decode(bad, (size_t)len, FEED_EFIELD, "type: unknown value 12");
    /* an id with a space */
    memcpy(bad, buf, (size_t)len);
    bad[6] = ' ';
    expect_decode(bad, (size_t)len, FEED_EFIELD, "event.fixture: byte 2");
    /* a length that claims more than the maximum */
    memcpy(bad, buf, (size_t)len);
    bad[2] = 0xff;
    expect_decode(bad, (size_t)len, FEED_EFIELD, "length 65287 above 64");
    /* seq 0 */
    o.u.event.seq = 0;
    assert_int_equal(feed_encode(&o, bad, sizeof bad, NULL), FEED_EFIELD);
    /* a NUL inside a name */
    struct feed_obs f = fixture();
    len = feed_encode(&f, buf, sizeof buf, NULL);
    buf[4 + 7 + 1 + 2 + 3] = 0; /* inside "Premier League" */
    expect_decode(buf, (size_t)len, FEED_EFIELD, "competition: contains a NUL");
}

static void test_encode_refuses_invalid(void **state)
{
    (void)state;
    uint8_t buf[FEED_ENCODED_MAX];
    struct feed_error err;
    struct feed_obs o = event(FEED_GOAL);
    o.u.event.team = FEED_NONE;
    assert_int_equal(feed_encode(&o, buf, sizeof buf, &err), FEED_EFIELD);
    assert_non_null(strstr(err.msg, "team: goal needs"));
    o = event(FEED_KICK_OFF);
    o.u.event.points = 3;
    assert_int_equal(feed_encode(&o, buf, sizeof buf, &err), FEED_EFIELD);
    assert_non_null(strstr(err.msg, "points: not used by kick_off"));
    o = result(0, 1);
    o.u.result.status = FEED_VOID;
    assert_int_equal(feed_encode(&o, buf, sizeof buf, &err), FEED_EFIELD);
    o = fixture();
    strcpy(o.u.fixture.away, o.u.fixture.home);
    assert_int_equal(feed_encode(&o, buf, sizeof buf, &err), FEED_EFIELD);
    o = fixture();
    strcpy(o.u.fixture.home, "bad \xc3\x28 utf8");
    assert_int_equal(feed_encode(&o, buf, sizeof buf, &err), FEED_EFIELD);
    assert_non_null(strstr(err.msg, "home: invalid UTF-8"));
    o = fixture();
    assert_int_equal(feed_encode(&o, buf, 10, &err), FEED_EINVAL);
}

static void expect_json(enum feed_kind kind, const char *json, int code, const char *needle)
{
    struct feed_obs o;
    struct feed_error err = {0};
    int rc = feed_obs_from_json_text(kind, json, strlen(json), &o, &err);
    if (rc != code || !strstr(err.msg, needle))
        fail_msg("%s: want %d mentioning \"%s\", got %d: %s", json, code, needle, rc, err.msg);
}

static void test_json_refuses_garbage(void **state)
{
    (void)state;
    expect_json(FEED_FIXTURE, "\x01\xff<html>", FEED_EJSON, "not JSON");
    expect_json(FEED_FIXTURE, "[1,2]", FEED_EJSON, "fixture: not a JSON object");
    expect_json(FEED_FIXTURE, "{\"id\":\"F1\"}", FEED_EFIELD, "sport: missing");
    expect_json(FEED_FIXTURE,
                "{\"id\":\"F1\",\"sport\":\"cricket\",\"competition\":\"c\",\"home\":\"a\","
                "\"away\":\"b\",\"kickoff\":\"2026-11-28T15:00:00Z\"}",
                FEED_EFIELD, "sport: unknown value");
    expect_json(FEED_FIXTURE,
                "{\"id\":\"F1\",\"sport\":\"tennis\",\"competition\":\"c\",\"home\":\"a\","
                "\"away\":\"b\",\"kickoff\":\"2026-02-30T15:00:00Z\"}",
                FEED_EFIELD, "kickoff");
    expect_json(FEED_FIXTURE,
                "{\"id\":\"F1\",\"sport\":\"tennis\",\"competition\":\"c\",\"home\":\"a\","
                "\"away\":\"b\",\"kickoff\":\"2026-11-28 15:00:00\"}",
                FEED_EFIELD, "kickoff");
    expect_json(FEED_EVENT, "{\"fixture\":\"F1\",\"seq\":\"one\"}", FEED_EFIELD,
                "seq: not an integer");
    expect_json(FEED_EVENT, "{\"fixture\":\"F1\",\"seq\":-1}", FEED_EFIELD, "seq: out of range");
    expect_json(FEED_EVENT,
                "{\"fixture\":\"F1\",\"seq\":1,\"minute\":3,\"period\":1,\"type\":\"goal\"}",
                FEED_EFIELD, "team: goal needs");
    expect_json(FEED_EVENT,
                "{\"fixture\":\"F1\",\"seq\":1,\"minute\":3,\"period\":1,\"type\":\"goal\","
                "\"team\":\"both\"}",
                FEED_EFIELD, "team: unknown value");
    expect_json(FEED_EVENT,
                "{\"fixture\":\"F1\",\"seq\":1,\"minute\":3,\"period\":1,\"type\":\"dunk\"}",
                FEED_EFIELD, "type: unknown value");
    expect_json(FEED_EVENT,
                "{\"fixture\":\"F1\",\"seq\":1,\"minute\":70000,\"period\":1,\"type\":\"goal\"}",
                FEED_EFIELD, "minute: out of range");
    expect_json(FEED_EVENT, "{\"fixture\":\"F1\",\"fixture\":\"F2\"}", FEED_EJSON, "duplicate");
    expect_json(FEED_RESULT, "{\"fixture\":\"F1\",\"status\":\"final\",\"home\":1}",
                FEED_EFIELD, "away: missing");
    expect_json(FEED_RESULT, "{\"fixture\":\"F1\",\"status\":\"maybe\"}", FEED_EFIELD,
                "status: unknown value");
    /* unknown keys are ignored */
    struct feed_obs o;
    const char *ok = "{\"fixture\":\"F1\",\"status\":\"void\",\"reason\":\"abandoned\"}";
    assert_int_equal(feed_obs_from_json_text(FEED_RESULT, ok, strlen(ok), &o, NULL), 0);
    assert_int_equal(o.u.result.status, FEED_VOID);
}

/* Random mutations of valid encodings: decode never crashes, and whatever it accepts
 * re-encodes to exactly the same bytes (one encoding per observation). */
static void test_fuzz_decode(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    struct feed_obs seeds[] = {fixture(), event(FEED_POINT), event(FEED_SCORING_RUN),
                               event(FEED_RED_CARD), result(3, 1)};
    int accepted = 0;
    for (int round = 0; round < 100000; round++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint8_t buf[FEED_ENCODED_MAX + 8], again[FEED_ENCODED_MAX];
        int len = feed_encode(&seeds[x % 5], buf, sizeof buf, NULL);
        int flips = 1 + (int)((x >> 8) % 3);
        for (int f = 0; f < flips; f++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[(x >> 16) % (uint64_t)len] = (uint8_t)(x >> 40);
        }
        size_t dlen = (size_t)len - ((x >> 50) % 4 == 0 ? (x >> 52) % 3 : 0);
        struct feed_obs o;
        if (feed_decode(buf, dlen, &o, NULL) == 0) {
            accepted++;
            int l2 = feed_encode(&o, again, sizeof again, NULL);
            assert_int_equal((size_t)l2, dlen);
            assert_memory_equal(buf, again, dlen);
        }
    }
    assert_true(accepted > 0); /* some mutations are valid observations, checked above */
}

/* Market snapshots: round trips (1 and 8 books), the subject, the exact bytes, refusals. */
static void test_odds(void **state)
{
    (void)state;
    struct feed_obs one = odds(1), eight = odds(FEED_ODDS_BOOKS_MAX);
    round_trip(&one);
    round_trip(&eight);
    char subj[128];
    assert_true(feed_obs_subject(&one, subj, sizeof subj) > 0);
    assert_string_equal(subj, "odds/FB-1001/3");
    assert_string_equal(feed_obs_fixture(&one), "FB-1001");
    assert_string_equal(feed_kind_name(FEED_ODDS), "odds");
    uint8_t buf[FEED_ENCODED_MAX];
    int n = feed_encode(&one, buf, sizeof buf, NULL);
    static const uint8_t want[] = {
        FEED_ENCODING_VERSION, 4, 0, 7, 'F', 'B', '-', '1', '0', '0', '1', 0, 0, 0, 0, 0, 0, 0, 3,
        1, 0, 0, 0x08, 0x34, 0, 0, 0x0d, 0x48, 0, 0, 0x0e, 0x10}; /* 2100, 3400, 3600 */
    assert_int_equal(n, (int)sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    /* a book with no margin, odds at 1.000, a book past @books, seq 0, 9 books: refused */
    struct feed_error err = {0};
    struct feed_obs bad = one;
    bad.u.odds.milli[0][0] = 3000, bad.u.odds.milli[0][1] = 3000, bad.u.odds.milli[0][2] = 3000;
    assert_int_equal(feed_encode(&bad, buf, sizeof buf, &err), FEED_EFIELD);
    assert_non_null(strstr(err.msg, "sum to 1.0000"));
    bad = one, bad.u.odds.milli[0][1] = 1000;
    assert_int_equal(feed_obs_validate(&bad, &err), FEED_EFIELD);
    assert_non_null(strstr(err.msg, "odds[0][1]"));
    bad = one, bad.u.odds.milli[1][0] = 2000;
    assert_int_equal(feed_obs_validate(&bad, &err), FEED_EFIELD);
    bad = one, bad.u.odds.seq = 0;
    assert_int_equal(feed_obs_validate(&bad, &err), FEED_EFIELD);
    bad = one, bad.u.odds.books = FEED_ODDS_BOOKS_MAX + 1;
    assert_int_equal(feed_obs_validate(&bad, &err), FEED_EFIELD);
    /* bytes announcing 9 books are refused before reading them */
    uint8_t nine[sizeof want];
    memcpy(nine, want, sizeof want);
    nine[19] = FEED_ODDS_BOOKS_MAX + 1;
    struct feed_obs back;
    assert_int_equal(feed_decode(nine, sizeof nine, &back, &err), FEED_EFIELD);
    /* JSON: decimal odds are refused (milli-odds only), a book of two prices too */
    static const char *const js[] = {
        "{\"fixture\":\"FB-1\",\"seq\":1,\"odds_milli\":[[2.1,3.4,3.6]]}",
        "{\"fixture\":\"FB-1\",\"seq\":1,\"odds_milli\":[[2100,3400]]}",
        "{\"fixture\":\"FB-1\",\"seq\":1,\"odds_milli\":[]}",
        "{\"fixture\":\"FB-1\",\"odds_milli\":[[2100,3400,3600]]}",
    };
    for (size_t i = 0; i < sizeof js / sizeof *js; i++)
        assert_int_equal(feed_obs_from_json_text(FEED_ODDS, js[i], strlen(js[i]), &back, &err),
                         FEED_EFIELD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_golden_vector),
        cmocka_unit_test(test_different_observations_differ),
        cmocka_unit_test(test_decode_refuses_garbage),
        cmocka_unit_test(test_encode_refuses_invalid),
        cmocka_unit_test(test_json_refuses_garbage),
        cmocka_unit_test(test_fuzz_decode),
        cmocka_unit_test(test_odds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
