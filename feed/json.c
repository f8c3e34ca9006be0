/* The providers' JSON to and from observations.
 *
 * Parsing is strict about what it knows and silent about what it does not: a known key with a
 * wrong type or an out-of-range value is refused with the key's name, unknown keys are
 * ignored (providers add fields over time), duplicate keys are refused (two readings of one
 * object would make two nodes disagree for no reason). The parsed observation then goes
 * through feed_obs_validate(), so JSON and canonical bytes obey the same rules.
 */
#include "feed/internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int fail(struct feed_error *err, int code, const char *fmt, const char *a)
{
    if (err) {
        err->code = code;
        snprintf(err->msg, sizeof err->msg, fmt, a);
    }
    return code;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Exactly "YYYY-MM-DDTHH:MM:SSZ": one spelling per instant. */
int feed_parse_time(const char *s, int64_t *out)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (strlen(s) != sizeof shape - 1)
        return -1;
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return -1;
    }
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    for (int k = 0; k < 4; k++)
        y = y * 10 + (s[k] - '0');
    mo = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    h = (s[11] - '0') * 10 + (s[12] - '0');
    mi = (s[14] - '0') * 10 + (s[15] - '0');
    se = (s[17] - '0') * 10 + (s[18] - '0');
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || se > 59 || y < 1970)
        return -1;
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

void feed_format_time(int64_t t, char out[21])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- field readers: each names its key in the error ------------------------------------ */

static int get_string(json_t *o, const char *key, char *out, size_t max, bool required,
                      struct feed_error *err)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        if (required)
            return fail(err, FEED_EFIELD, "%s: missing", key);
        out[0] = 0;
        return 0;
    }
    if (!json_is_string(v))
        return fail(err, FEED_EFIELD, "%s: not a string", key);
    size_t n = json_string_length(v);
    if (n == 0 || n > max || strlen(json_string_value(v)) != n)
        return fail(err, FEED_EFIELD, "%s: empty, too long or contains NUL", key);
    memcpy(out, json_string_value(v), n + 1);
    return 0;
}

static int get_uint(json_t *o, const char *key, uint64_t max, bool required, uint64_t *out,
                    struct feed_error *err)
{
    json_t *v = json_object_get(o, key);
    *out = 0;
    if (!v)
        return required ? fail(err, FEED_EFIELD, "%s: missing", key) : 0;
    if (!json_is_integer(v))
        return fail(err, FEED_EFIELD, "%s: not an integer", key);
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i > max)
        return fail(err, FEED_EFIELD, "%s: out of range", key);
    *out = (uint64_t)i;
    return 0;
}

/* One of @names (index = enum value, [0] unused unless @allow_zero), or absent -> 0. */
static int get_enum(json_t *o, const char *key, const char *const *names, int n, bool required,
                    int *out, struct feed_error *err)
{
    json_t *v = json_object_get(o, key);
    *out = 0;
    if (!v)
        return required ? fail(err, FEED_EFIELD, "%s: missing", key) : 0;
    if (!json_is_string(v))
        return fail(err, FEED_EFIELD, "%s: not a string", key);
    for (int i = 1; i < n; i++)
        if (names[i] && !strcmp(names[i], json_string_value(v))) {
            *out = i;
            return 0;
        }
    return fail(err, FEED_EFIELD, "%s: unknown value", key);
}

static const char *const sides[] = {NULL, "home", "away"};
static const char *const sports[] = {NULL, "football", "tennis", "basketball"};
static const char *const statuses[] = {NULL, "final", "void"};

static int fixture_from_json(json_t *o, struct feed_fixture *f, struct feed_error *err)
{
    int rc, sport;
    char when[32];
    if ((rc = get_string(o, "id", f->id, FEED_ID_MAX, true, err)) ||
        (rc = get_enum(o, "sport", sports, 4, true, &sport, err)) ||
        (rc = get_string(o, "competition", f->competition, FEED_NAME_MAX, true, err)) ||
        (rc = get_string(o, "home", f->home, FEED_NAME_MAX, true, err)) ||
        (rc = get_string(o, "away", f->away, FEED_NAME_MAX, true, err)) ||
        (rc = get_string(o, "kickoff", when, sizeof when - 1, true, err)))
        return rc;
    f->sport = (enum feed_sport)sport;
    if (feed_parse_time(when, &f->kickoff))
        return fail(err, FEED_EFIELD, "kickoff: \"%s\" is not YYYY-MM-DDTHH:MM:SSZ", when);
    return 0;
}

static int event_from_json(json_t *o, struct feed_event *e, struct feed_error *err)
{
    static const char *types[FEED_SCORING_RUN + 1];
    for (int i = 1; i <= FEED_SCORING_RUN; i++)
        types[i] = feed_event_type_name((enum feed_event_type)i);
    int rc, type, team, server, winner;
    uint64_t seq, minute, stoppage, period, points;
    if ((rc = get_string(o, "fixture", e->fixture, FEED_ID_MAX, true, err)) ||
        (rc = get_uint(o, "seq", INT64_MAX, true, &seq, err)) ||
        (rc = get_uint(o, "minute", UINT16_MAX, true, &minute, err)) ||
        (rc = get_uint(o, "stoppage", UINT16_MAX, false, &stoppage, err)) ||
        (rc = get_uint(o, "period", UINT8_MAX, true, &period, err)) ||
        (rc = get_enum(o, "type", types, FEED_SCORING_RUN + 1, true, &type, err)) ||
        (rc = get_enum(o, "team", sides, 3, false, &team, err)) ||
        (rc = get_enum(o, "server", sides, 3, false, &server, err)) ||
        (rc = get_enum(o, "winner", sides, 3, false, &winner, err)) ||
        (rc = get_uint(o, "points", UINT16_MAX, false, &points, err)))
        return rc;
    e->seq = seq;
    e->minute = (uint16_t)minute;
    e->stoppage = (uint16_t)stoppage;
    e->period = (uint8_t)period;
    e->type = (enum feed_event_type)type;
    e->team = (enum feed_side)team;
    e->server = (enum feed_side)server;
    e->winner = (enum feed_side)winner;
    e->points = (uint16_t)points;
    return 0;
}

static int result_from_json(json_t *o, struct feed_result *r, struct feed_error *err)
{
    int rc, status;
    uint64_t home, away;
    if ((rc = get_string(o, "fixture", r->fixture, FEED_ID_MAX, true, err)) ||
        (rc = get_enum(o, "status", statuses, 3, true, &status, err)))
        return rc;
    bool final = status == FEED_FINAL;
    if ((rc = get_uint(o, "home", UINT16_MAX, final, &home, err)) ||
        (rc = get_uint(o, "away", UINT16_MAX, final, &away, err)))
        return rc;
    r->status = (enum feed_result_status)status;
    r->home = (uint16_t)home;
    r->away = (uint16_t)away;
    return 0;
}

/* {fixture, seq, odds_milli: [[home, draw, away], ...]}: one array of three integers per book. */
static int odds_from_json(json_t *o, struct feed_odds *m, struct feed_error *err)
{
    int rc;
    uint64_t seq;
    if ((rc = get_string(o, "fixture", m->fixture, FEED_ID_MAX, true, err)) ||
        (rc = get_uint(o, "seq", INT64_MAX, true, &seq, err)))
        return rc;
    m->seq = seq;
    json_t *books = json_object_get(o, "odds_milli");
    if (!json_is_array(books) || json_array_size(books) < 1 ||
        json_array_size(books) > FEED_ODDS_BOOKS_MAX)
        return fail(err, FEED_EFIELD, "odds_milli: %s", "need an array of 1 to 8 books");
    m->books = (uint8_t)json_array_size(books);
    for (size_t b = 0; b < m->books; b++) {
        json_t *row = json_array_get(books, b);
        if (!json_is_array(row) || json_array_size(row) != 3)
            return fail(err, FEED_EFIELD, "odds_milli: %s",
                        "each book is [home, draw, away] milli-odds");
        for (size_t i = 0; i < 3; i++) {
            json_t *v = json_array_get(row, i);
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > UINT32_MAX)
                return fail(err, FEED_EFIELD, "odds_milli: %s",
                            "milli-odds are integers (2.10 is 2100)");
            m->milli[b][i] = (uint32_t)json_integer_value(v);
        }
    }
    return 0;
}

int feed_obs_from_json(enum feed_kind kind, json_t *j, struct feed_obs *out,
                       struct feed_error *err)
{
    struct feed_obs o;
    memset(&o, 0, sizeof o);
    o.kind = kind;
    if (!json_is_object(j))
        return fail(err, FEED_EJSON, "%s: not a JSON object", feed_kind_name(kind));
    int rc;
    switch (kind) {
    case FEED_FIXTURE: rc = fixture_from_json(j, &o.u.fixture, err); break;
    case FEED_EVENT: rc = event_from_json(j, &o.u.event, err); break;
    case FEED_RESULT: rc = result_from_json(j, &o.u.result, err); break;
    case FEED_ODDS: rc = odds_from_json(j, &o.u.odds, err); break;
    default: return fail(err, FEED_EKIND, "kind: %s", "unknown");
    }
    if (rc || (rc = feed_obs_validate(&o, err)))
        return rc;
    *out = o;
    return 0;
}

int feed_obs_from_json_text(enum feed_kind kind, const char *text, size_t len,
                            struct feed_obs *out, struct feed_error *err)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return fail(err, FEED_EJSON, "not JSON: %s", je.text);
    int rc = feed_obs_from_json(kind, j, out, err);
    json_decref(j);
    return rc;
}

json_t *feed_obs_to_json(const struct feed_obs *o)
{
    switch (o->kind) {
    case FEED_FIXTURE: {
        const struct feed_fixture *f = &o->u.fixture;
        char when[21];
        feed_format_time(f->kickoff, when);
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", f->id, "sport",
                         feed_sport_name(f->sport), "competition", f->competition, "home",
                         f->home, "away", f->away, "kickoff", when);
    }
    case FEED_EVENT: {
        const struct feed_event *e = &o->u.event;
        json_t *j = json_pack("{s:s, s:I, s:i, s:i, s:i, s:s}", "fixture", e->fixture, "seq",
                              (json_int_t)e->seq, "minute", e->minute, "stoppage", e->stoppage,
                              "period", e->period, "type", feed_event_type_name(e->type));
        if (e->team)
            json_object_set_new(j, "team", json_string(sides[e->team]));
        if (e->server)
            json_object_set_new(j, "server", json_string(sides[e->server]));
        if (e->winner)
            json_object_set_new(j, "winner", json_string(sides[e->winner]));
        if (e->points)
            json_object_set_new(j, "points", json_integer(e->points));
        return j;
    }
    case FEED_RESULT: {
        const struct feed_result *r = &o->u.result;
        json_t *j = json_pack("{s:s, s:s}", "fixture", r->fixture, "status",
                              statuses[r->status]);
        if (r->status == FEED_FINAL) {
            json_object_set_new(j, "home", json_integer(r->home));
            json_object_set_new(j, "away", json_integer(r->away));
        }
        return j;
    }
    case FEED_ODDS: {
        const struct feed_odds *m = &o->u.odds;
        json_t *books = json_array();
        for (int b = 0; b < m->books; b++)
            json_array_append_new(books, json_pack("[I, I, I]", (json_int_t)m->milli[b][0],
                                                   (json_int_t)m->milli[b][1],
                                                   (json_int_t)m->milli[b][2]));
        return json_pack("{s:s, s:I, s:o}", "fixture", m->fixture, "seq", (json_int_t)m->seq,
                         "odds_milli", books);
    }
    }
    return NULL;
}

char *feed_obs_to_json_text(const struct feed_obs *o)
{
    if (feed_obs_validate(o, NULL))
        return NULL;
    json_t *j = feed_obs_to_json(o);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    return s;
}
