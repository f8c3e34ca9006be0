/* feed: the sports-data feed, as a node reads it.
 *
 * A node learns about the world through observations: a fixture (who plays whom, when), a live
 * event (a goal in the 67th minute) and a final result. This library
 *
 *   1. defines the canonical observation (struct feed_obs) and its canonical byte encoding,
 *      the bytes a node signs and the leader compares; two nodes that saw the same thing
 *      produce the same bytes, and anything else produces different bytes;
 *   2. parses a provider's JSON into observations, refusing garbage with a precise error;
 *   3. reads a provider on a caller-supplied libuv loop, without blocking it, through one of
 *      two adapters over libcurl's multi interface: a REST poller (ETag / If-None-Match,
 *      per-request timeouts, back-off with jitter) or a server-sent-events stream
 *      (Last-Event-ID resume, reconnect with back-off).
 *
 * Errors are negative integers (FEED_E*) named by feed_strerror(); functions that can say more
 * fill an optional struct feed_error with a sentence naming the offending field.
 * Nothing here keeps global state except libcurl's, which the caller initialises once with
 * curl_global_init() before feed_open().
 */
#ifndef PARLAY_FEED_H
#define PARLAY_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* ---- errors ---------------------------------------------------------------------------- */

enum {
    FEED_OK = 0,
    FEED_ENOMEM = -1,   /* out of memory */
    FEED_EINVAL = -2,   /* bad argument or configuration */
    FEED_ETRUNC = -3,   /* canonical encoding ends early */
    FEED_ETRAIL = -4,   /* bytes after the end of a canonical encoding */
    FEED_EVERSION = -5, /* unknown encoding version */
    FEED_EKIND = -6,    /* unknown observation kind */
    FEED_EFIELD = -7,   /* a field is missing, of the wrong type or out of range */
    FEED_EJSON = -8,    /* the provider's body is not JSON or not the expected shape */
    FEED_EHTTP = -9,    /* the provider answered with an unexpected HTTP status */
    FEED_ENET = -10,    /* transport error: refused, reset, timed out, DNS */
    FEED_ESSE = -11,    /* malformed server-sent-events stream */
};

#define FEED_ERROR_MAX 200

struct feed_error {
    int code;
    char msg[FEED_ERROR_MAX];
};

const char *feed_strerror(int code);

/* ---- observations ---------------------------------------------------------------------- */

#define FEED_ID_MAX 64    /* fixture ids, bytes */
#define FEED_NAME_MAX 128 /* competition and team names, bytes (UTF-8) */

enum feed_kind { FEED_FIXTURE = 1, FEED_EVENT = 2, FEED_RESULT = 3, FEED_ODDS = 4 };

enum feed_sport { FEED_FOOTBALL = 1, FEED_TENNIS = 2, FEED_BASKETBALL = 3 };

enum feed_side { FEED_NONE = 0, FEED_HOME = 1, FEED_AWAY = 2 };

enum feed_event_type {
    FEED_KICK_OFF = 1,
    FEED_GOAL = 2,
    FEED_OWN_GOAL = 3, /* team: the side whose player put the ball in their own net */
    FEED_PENALTY_AWARDED = 4,
    FEED_PENALTY_SCORED = 5,
    FEED_PENALTY_MISSED = 6,
    FEED_RED_CARD = 7,
    FEED_PERIOD_START = 8,
    FEED_PERIOD_END = 9,
    FEED_POINT = 10,       /* tennis: server and winner of one point */
    FEED_SCORING_RUN = 11, /* basketball: team scored points unanswered */
};

enum feed_result_status { FEED_FINAL = 1, FEED_VOID = 2 };

struct feed_fixture {
    char id[FEED_ID_MAX + 1];
    enum feed_sport sport;
    char competition[FEED_NAME_MAX + 1];
    char home[FEED_NAME_MAX + 1];
    char away[FEED_NAME_MAX + 1];
    int64_t kickoff; /* Unix seconds, UTC */
};

/* Fields a type does not use must be zero (FEED_NONE): the encoding has one form per event. */
struct feed_event {
    char fixture[FEED_ID_MAX + 1];
    uint64_t seq;      /* per fixture, from 1, increasing */
    uint16_t minute;   /* match clock: 45 for "45+2" */
    uint16_t stoppage; /* added time: 2 for "45+2" */
    uint8_t period;    /* half, set or quarter, from 1 */
    enum feed_event_type type;
    enum feed_side team;   /* goal, own_goal, penalty_*, red_card, scoring_run */
    enum feed_side server; /* point */
    enum feed_side winner; /* point */
    uint16_t points;       /* scoring_run: points in the run */
};

/* Score: goals (football), sets (tennis), points (basketball). A void result has 0-0. */
struct feed_result {
    char fixture[FEED_ID_MAX + 1];
    enum feed_result_status status;
    uint16_t home;
    uint16_t away;
};

/* A market snapshot: bookmakers' pre-match 1X2 odds for one fixture, in milli-odds (2.10 ->
 * 2100), home/draw/away, books in the provider's order. Each book's odds are above 1.000 and at
 * most 1000.000 and carry a margin (sum of 1/odds above 1, at most 1.5); books after @books are
 * zero. @seq numbers a fixture's snapshots from 1. Only the 1X2 market for now. */
#define FEED_ODDS_BOOKS_MAX 8
#define FEED_ODDS_MILLI_MIN 1000    /* exclusive */
#define FEED_ODDS_MILLI_MAX 1000000 /* inclusive */
struct feed_odds {
    char fixture[FEED_ID_MAX + 1];
    uint64_t seq;
    uint8_t books;
    uint32_t milli[FEED_ODDS_BOOKS_MAX][3];
};

struct feed_obs {
    enum feed_kind kind;
    union {
        struct feed_fixture fixture;
        struct feed_event event;
        struct feed_result result;
        struct feed_odds odds;
    } u;
};

/* Checks every rule of the model (lengths, ranges, which fields each event type uses). */
int feed_obs_validate(const struct feed_obs *o, struct feed_error *err);

/* The fixture an observation is about. */
const char *feed_obs_fixture(const struct feed_obs *o);

/* What an observation is about, as opposed to what it says: "fixture/ID", "event/ID/SEQ",
 * "result/ID" ('/' never occurs in an id). Agreement collects encodings per subject:
 * identical encodings under one subject agree; different ones are a disagreement.
 * Returns the length, or FEED_EINVAL if @cap (FEED_SUBJECT_MAX is enough) is too small. */
#define FEED_SUBJECT_MAX (7 + FEED_ID_MAX + 1 + 20 + 1)
int feed_obs_subject(const struct feed_obs *o, char *buf, size_t cap);

/* ---- canonical encoding ---------------------------------------------------------------- *
 *
 *   u8 version (1), u8 kind, then the kind's fields in the order of the structs above;
 *   integers big-endian of fixed width (sport, period, type, sides, status: u8; minute,
 *   stoppage, points, scores: u16; seq: u64; kickoff: i64); strings as u16 length + bytes.
 *   Only valid observations encode, and decoding refuses anything that would not re-encode to
 *   the same bytes, so that bytes and observations correspond one to one.
 */
#define FEED_ENCODING_VERSION 1
#define FEED_ENCODED_MAX (2 + (2 + FEED_ID_MAX) + 1 + 3 * (2 + FEED_NAME_MAX) + 8)
/* The largest odds snapshot (2 + 66 + 8 + 1 + 8 books x 12) is well below the fixture's. */
_Static_assert(2 + (2 + FEED_ID_MAX) + 8 + 1 + FEED_ODDS_BOOKS_MAX * 12 <= FEED_ENCODED_MAX,
               "an odds snapshot fits FEED_ENCODED_MAX");

/* Writes at most @cap bytes; returns the length (> 0) or a negative FEED_E* code. */
int feed_encode(const struct feed_obs *o, uint8_t *buf, size_t cap, struct feed_error *err);
int feed_decode(const uint8_t *buf, size_t len, struct feed_obs *out, struct feed_error *err);
bool feed_obs_equal(const struct feed_obs *a, const struct feed_obs *b);

/* ---- the providers' JSON --------------------------------------------------------------- *
 *
 *   fixture {"id","sport":"football|tennis|basketball","competition","home","away",
 *            "kickoff":"2026-11-24T15:00:00Z"}
 *   event   {"fixture","seq","minute","stoppage"?,"period","type","team"?,"server"?,
 *            "winner"?,"points"?}           sides are "home" or "away"
 *   result  {"fixture","status":"final|void","home","away"}   (no score when void)
 *
 * Unknown keys are ignored (providers add fields); a known key with a wrong type or value, or
 * a field the type does not use, is refused.
 */
int feed_obs_from_json_text(enum feed_kind kind, const char *text, size_t len,
                            struct feed_obs *out, struct feed_error *err);
/* Serialises to the same JSON (compact, keys in a fixed order); returns a malloc'd string. */
char *feed_obs_to_json_text(const struct feed_obs *o);

const char *feed_kind_name(enum feed_kind k); /* "fixture", "event", "result", "odds" */
const char *feed_sport_name(enum feed_sport s);
const char *feed_event_type_name(enum feed_event_type t);

/* ---- providers ------------------------------------------------------------------------- */

enum feed_adapter {
    /* Polls GET {url}/v1/fixtures, then /v1/odds (a 404 is a provider without odds), then
     * /v1/events?fixture=ID&after=SEQ for every fixture without a final result, then
     * /v1/results; every poll_ms, with If-None-Match. */
    FEED_REST = 1,
    /* Follows GET {url}/v1/stream (text/event-stream: events "fixture", "odds", "live",
     * "result"),
     * resuming with Last-Event-ID after a drop. */
    FEED_SSE = 2,
};

struct feed_config {
    enum feed_adapter adapter;
    const char *url;         /* provider base URL, e.g. "http://127.0.0.1:8300" */
    /* Alternates of the same provider (NULL-terminated, optional): after failover_after
     * consecutive failures the adapter moves to the next URL, round robin. They must number
     * events the same way (mirrors of one feed), or seq-based de-duplication breaks. */
    const char *const *fallback_urls;
    unsigned failover_after; /* default 3 */
    /* Extra request headers, "Name: value", NULL-terminated, optional: a provider's API key
     * ("X-Api-Key: ..." or "Authorization: Bearer ..."). Copied by feed_open. */
    const char *const *headers;
    unsigned poll_ms;        /* REST: pause between successful polls (default 1000) */
    unsigned timeout_ms;     /* REST: per request; SSE: connect, and silence before giving up
                                (default 5000) */
    unsigned backoff_min_ms; /* first retry delay after a failure (default 200) */
    unsigned backoff_max_ms; /* ceiling of the doubling (default 30000) */
    uint64_t seed;           /* jitter generator seed; 0 picks one from the clock */
    /* Every new or changed observation, once, in the provider's order (a fixture before its
     * events, events by seq, the result last). Called on the loop. */
    void (*on_obs)(void *arg, const struct feed_obs *obs);
    /* Every failure (the provider retries by itself); optional. */
    void (*on_error)(void *arg, const struct feed_error *err);
    void *arg;
};

struct feed_stats {
    uint64_t requests;     /* HTTP requests started (SSE: connections) */
    uint64_t not_modified; /* REST: 304 answers */
    uint64_t cycles;       /* REST: complete successful polls; SSE: streams that ended */
    uint64_t errors;       /* failures reported through on_error */
    uint64_t observations; /* delivered through on_obs */
    uint64_t reconnects;   /* SSE: connections after the first */
    unsigned failures;     /* consecutive failures now (0 when healthy; SSE: 1 after a
                              stream ended, until the next one delivers) */
    unsigned backoff_ms;   /* the delay chosen after the last failure */
    uint64_t last_event_id; /* SSE: the last id received */
    uint64_t failovers;     /* moves to the next URL */
    unsigned url_index;     /* 0: url, 1..: fallback_urls[i - 1] */
};

struct feed_provider;

int feed_open(uv_loop_t *loop, const struct feed_config *cfg, struct feed_provider **out);
/* Stops all transfers and timers; @on_closed (optional) runs on the loop once every handle
 * is closed and the provider is freed. Neither on_obs nor on_error runs after feed_close
 * returns, and it may be called from inside them. */
void feed_close(struct feed_provider *p, void (*on_closed)(void *arg), void *arg);
void feed_get_stats(const struct feed_provider *p, struct feed_stats *out);

#endif
