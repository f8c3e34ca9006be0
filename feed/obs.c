/* Observations: the rules of the model and the canonical byte encoding.
 *
 * The encoding is what nodes will sign, so it must have exactly one form per observation:
 * integers are fixed-width big-endian, strings are length-prefixed, every field is always
 * present (unused ones are zero), and only observations that pass feed_obs_validate() encode.
 * The decoder is the encoder run backwards plus the same validation, so any byte string it
 * accepts re-encodes to itself; it refuses truncation, trailing bytes, unknown versions,
 * kinds and enum values, and out-of-range fields, each with a sentence naming the field.
 */
#include "feed/feed.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(struct feed_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *feed_strerror(int code)
{
    switch (code) {
    case FEED_OK: return "ok";
    case FEED_ENOMEM: return "out of memory";
    case FEED_EINVAL: return "invalid argument";
    case FEED_ETRUNC: return "encoding truncated";
    case FEED_ETRAIL: return "trailing bytes after encoding";
    case FEED_EVERSION: return "unknown encoding version";
    case FEED_EKIND: return "unknown observation kind";
    case FEED_EFIELD: return "invalid field";
    case FEED_EJSON: return "invalid JSON";
    case FEED_EHTTP: return "unexpected HTTP status";
    case FEED_ENET: return "transport error";
    case FEED_ESSE: return "malformed event stream";
    default: return "unknown error";
    }
}

const char *feed_kind_name(enum feed_kind k)
{
    switch (k) {
    case FEED_FIXTURE: return "fixture";
    case FEED_EVENT: return "event";
    case FEED_RESULT: return "result";
    case FEED_ODDS: return "odds";
    }
    return "unknown";
}

const char *feed_sport_name(enum feed_sport s)
{
    switch (s) {
    case FEED_FOOTBALL: return "football";
    case FEED_TENNIS: return "tennis";
    case FEED_BASKETBALL: return "basketball";
    }
    return NULL;
}

const char *feed_event_type_name(enum feed_event_type t)
{
    static const char *const names[] = {
        NULL,           "kick_off",  "goal",       "own_goal", "penalty_awarded", "penalty_scored",
        "penalty_missed", "red_card", "period_start", "period_end", "point", "scoring_run",
    };
    if ((int)t < 1 || (int)t >= (int)(sizeof names / sizeof *names))
        return NULL;
    return names[t];
}

/* ---- validation ------------------------------------------------------------------------ */

/* Ids travel in URLs and logs: ASCII letters, digits and "-_.:" only. */
static int check_id(const char *field, const char *s, struct feed_error *err)
{
    size_t n = strnlen(s, FEED_ID_MAX + 1);
    if (n == 0 || n > FEED_ID_MAX)
        return fail(err, FEED_EFIELD, "%s: must be 1 to %d bytes", field, FEED_ID_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok)
            return fail(err, FEED_EFIELD, "%s: byte %zu (0x%02x) is not one of [A-Za-z0-9-_.:]",
                        field, i, c);
    }
    return 0;
}

/* Names: well-formed UTF-8 (shortest form, no surrogates) without control characters. */
static int check_name(const char *field, const char *s, struct feed_error *err)
{
    size_t n = strnlen(s, FEED_NAME_MAX + 1);
    if (n == 0 || n > FEED_NAME_MAX)
        return fail(err, FEED_EFIELD, "%s: must be 1 to %d bytes", field, FEED_NAME_MAX);
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i], need, cp;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return fail(err, FEED_EFIELD, "%s: control character at byte %zu", field, i);
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, cp = c & 0x07;
        else
            return fail(err, FEED_EFIELD, "%s: invalid UTF-8 at byte %zu", field, i);
        if (i + need >= n)
            return fail(err, FEED_EFIELD, "%s: truncated UTF-8 at byte %zu", field, i);
        for (unsigned k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return fail(err, FEED_EFIELD, "%s: invalid UTF-8 at byte %zu", field, i);
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
            return fail(err, FEED_EFIELD, "%s: invalid UTF-8 at byte %zu", field, i);
        i += need + 1;
    }
    return 0;
}

static bool is_side(enum feed_side s)
{
    return s == FEED_HOME || s == FEED_AWAY;
}

static int validate_fixture(const struct feed_fixture *f, struct feed_error *err)
{
    int rc;
    if ((rc = check_id("fixture.id", f->id, err)) || (rc = check_name("competition", f->competition, err)) ||
        (rc = check_name("home", f->home, err)) || (rc = check_name("away", f->away, err)))
        return rc;
    if (!feed_sport_name(f->sport))
        return fail(err, FEED_EFIELD, "sport: unknown value %d", (int)f->sport);
    if (!strcmp(f->home, f->away))
        return fail(err, FEED_EFIELD, "home and away: the same team \"%s\"", f->home);
    if (f->kickoff < 0)
        return fail(err, FEED_EFIELD, "kickoff: before 1970");
    return 0;
}

/* Which of team / server+winner / points each event type carries. */
static int validate_event(const struct feed_event *e, struct feed_error *err)
{
    int rc = check_id("event.fixture", e->fixture, err);
    if (rc)
        return rc;
    const char *tn = feed_event_type_name(e->type);
    if (!tn)
        return fail(err, FEED_EFIELD, "type: unknown value %d", (int)e->type);
    if (e->seq == 0)
        return fail(err, FEED_EFIELD, "seq: must be at least 1");
    if (e->period == 0)
        return fail(err, FEED_EFIELD, "period: must be at least 1");
    bool wants_team = false, wants_point = false, wants_points = false;
    switch (e->type) {
    case FEED_GOAL:
    case FEED_OWN_GOAL:
    case FEED_PENALTY_AWARDED:
    case FEED_PENALTY_SCORED:
    case FEED_PENALTY_MISSED:
    case FEED_RED_CARD: wants_team = true; break;
    case FEED_POINT: wants_point = true; break;
    case FEED_SCORING_RUN: wants_team = wants_points = true; break;
    default: break;
    }
    if (wants_team && !is_side(e->team))
        return fail(err, FEED_EFIELD, "team: %s needs \"home\" or \"away\"", tn);
    if (!wants_team && e->team != FEED_NONE)
        return fail(err, FEED_EFIELD, "team: not used by %s", tn);
    if (wants_point && (!is_side(e->server) || !is_side(e->winner)))
        return fail(err, FEED_EFIELD, "server and winner: point needs both, \"home\" or \"away\"");
    if (!wants_point && (e->server != FEED_NONE || e->winner != FEED_NONE))
        return fail(err, FEED_EFIELD, "server and winner: not used by %s", tn);
    if (wants_points && e->points == 0)
        return fail(err, FEED_EFIELD, "points: scoring_run needs at least 1");
    if (!wants_points && e->points != 0)
        return fail(err, FEED_EFIELD, "points: not used by %s", tn);
    return 0;
}

static int validate_result(const struct feed_result *r, struct feed_error *err)
{
    int rc = check_id("result.fixture", r->fixture, err);
    if (rc)
        return rc;
    if (r->status != FEED_FINAL && r->status != FEED_VOID)
        return fail(err, FEED_EFIELD, "status: unknown value %d", (int)r->status);
    if (r->status == FEED_VOID && (r->home || r->away))
        return fail(err, FEED_EFIELD, "score: a void result has no score");
    return 0;
}

static int validate_odds(const struct feed_odds *m, struct feed_error *err)
{
    int rc = check_id("odds.fixture", m->fixture, err);
    if (rc)
        return rc;
    if (m->seq < 1 || m->seq > INT64_MAX)
        return fail(err, FEED_EFIELD, "seq: %llu, must be 1 to 2^63-1", (unsigned long long)m->seq);
    if (m->books < 1 || m->books > FEED_ODDS_BOOKS_MAX)
        return fail(err, FEED_EFIELD, "books: %u, must be 1 to %d", (unsigned)m->books,
                    FEED_ODDS_BOOKS_MAX);
    for (int b = 0; b < FEED_ODDS_BOOKS_MAX; b++) {
        double booksum = 0.0;
        for (int i = 0; i < 3; i++) {
            uint32_t v = m->milli[b][i];
            if (b >= m->books) {
                if (v)
                    return fail(err, FEED_EFIELD, "odds[%d]: a book after the %u given", b,
                                (unsigned)m->books);
                continue;
            }
            if (v <= FEED_ODDS_MILLI_MIN || v > FEED_ODDS_MILLI_MAX)
                return fail(err, FEED_EFIELD, "odds[%d][%d]: %u milli-odds, must be %d to %d", b,
                            i, (unsigned)v, FEED_ODDS_MILLI_MIN + 1, FEED_ODDS_MILLI_MAX);
            booksum += 1000.0 / (double)v;
        }
        if (b < m->books && !(booksum > 1.0 && booksum <= 1.5))
            return fail(err, FEED_EFIELD,
                        "odds[%d]: implied probabilities sum to %.4f, must be above 1 (a margin) "
                        "and at most 1.5",
                        b, booksum);
    }
    return 0;
}

int feed_obs_validate(const struct feed_obs *o, struct feed_error *err)
{
    if (!o)
        return fail(err, FEED_EINVAL, "no observation");
    switch (o->kind) {
    case FEED_FIXTURE: return validate_fixture(&o->u.fixture, err);
    case FEED_EVENT: return validate_event(&o->u.event, err);
    case FEED_RESULT: return validate_result(&o->u.result, err);
    case FEED_ODDS: return validate_odds(&o->u.odds, err);
    }
    return fail(err, FEED_EKIND, "kind: unknown value %d", (int)o->kind);
}

const char *feed_obs_fixture(const struct feed_obs *o)
{
    switch (o->kind) {
    case FEED_FIXTURE: return o->u.fixture.id;
    case FEED_EVENT: return o->u.event.fixture;
    case FEED_RESULT: return o->u.result.fixture;
    case FEED_ODDS: return o->u.odds.fixture;
    }
    return NULL;
}

int feed_obs_subject(const struct feed_obs *o, char *buf, size_t cap)
{
    const char *id = feed_obs_fixture(o);
    if (!id)
        return FEED_EKIND;
    int n = o->kind == FEED_EVENT
                ? snprintf(buf, cap, "event/%s/%llu", id, (unsigned long long)o->u.event.seq)
            : o->kind == FEED_ODDS
                ? snprintf(buf, cap, "odds/%s/%llu", id, (unsigned long long)o->u.odds.seq)
                : snprintf(buf, cap, "%s/%s", o->kind == FEED_FIXTURE ? "fixture" : "result", id);
    return n < 0 || (size_t)n >= cap ? FEED_EINVAL : n;
}

bool feed_obs_equal(const struct feed_obs *a, const struct feed_obs *b)
{
    uint8_t ba[FEED_ENCODED_MAX], bb[FEED_ENCODED_MAX];
    int la = feed_encode(a, ba, sizeof ba, NULL), lb = feed_encode(b, bb, sizeof bb, NULL);
    return la > 0 && la == lb && !memcmp(ba, bb, (size_t)la);
}

/* ---- encoding -------------------------------------------------------------------------- */

struct wbuf {
    uint8_t *p;
    size_t len, cap;
    bool overflow;
};

static void put(struct wbuf *w, uint64_t v, int bytes)
{
    if (w->len + (size_t)bytes > w->cap) {
        w->overflow = true;
        return;
    }
    for (int i = bytes - 1; i >= 0; i--)
        w->p[w->len++] = (uint8_t)(v >> (8 * i));
}

static void put_str(struct wbuf *w, const char *s)
{
    size_t n = strlen(s);
    put(w, n, 2);
    if (w->len + n > w->cap) {
        w->overflow = true;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

int feed_encode(const struct feed_obs *o, uint8_t *buf, size_t cap, struct feed_error *err)
{
    int rc = feed_obs_validate(o, err);
    if (rc)
        return rc;
    struct wbuf w = {buf, 0, cap, false};
    put(&w, FEED_ENCODING_VERSION, 1);
    put(&w, (uint64_t)o->kind, 1);
    switch (o->kind) {
    case FEED_FIXTURE: {
        const struct feed_fixture *f = &o->u.fixture;
        put_str(&w, f->id);
        put(&w, (uint64_t)f->sport, 1);
        put_str(&w, f->competition);
        put_str(&w, f->home);
        put_str(&w, f->away);
        put(&w, (uint64_t)f->kickoff, 8);
        break;
    }
    case FEED_EVENT: {
        const struct feed_event *e = &o->u.event;
        put_str(&w, e->fixture);
        put(&w, e->seq, 8);
        put(&w, e->minute, 2);
        put(&w, e->stoppage, 2);
        put(&w, e->period, 1);
        put(&w, (uint64_t)e->type, 1);
        put(&w, (uint64_t)e->team, 1);
        put(&w, (uint64_t)e->server, 1);
        put(&w, (uint64_t)e->winner, 1);
        put(&w, e->points, 2);
        break;
    }
    case FEED_RESULT: {
        const struct feed_result *r = &o->u.result;
        put_str(&w, r->fixture);
        put(&w, (uint64_t)r->status, 1);
        put(&w, r->home, 2);
        put(&w, r->away, 2);
        break;
    }
    case FEED_ODDS: {
        const struct feed_odds *m = &o->u.odds;
        put_str(&w, m->fixture);
        put(&w, m->seq, 8);
        put(&w, m->books, 1);
        for (int b = 0; b < m->books; b++)
            for (int i = 0; i < 3; i++)
                put(&w, m->milli[b][i], 4);
        break;
    }
    }
    if (w.overflow)
        return fail(err, FEED_EINVAL, "buffer of %zu bytes too small (FEED_ENCODED_MAX is %d)",
                    cap, FEED_ENCODED_MAX);
    return (int)w.len;
}

/* ---- decoding -------------------------------------------------------------------------- */

struct rbuf {
    const uint8_t *p;
    size_t len, off;
    const char *field; /* the field being read when the input ran out */
};

static bool get(struct rbuf *r, const char *field, uint64_t *v, int bytes)
{
    r->field = field;
    if (r->len - r->off < (size_t)bytes)
        return false;
    *v = 0;
    for (int i = 0; i < bytes; i++)
        *v = (*v << 8) | r->p[r->off++];
    return true;
}

/* A length above @max is refused before reading it, so a corrupt length cannot make us read
 * far; a NUL inside would be silently cut by C strings, so it is refused too. */
static int get_str(struct rbuf *r, const char *field, char *out, size_t max,
                   struct feed_error *err)
{
    uint64_t n;
    if (!get(r, field, &n, 2))
        return fail(err, FEED_ETRUNC, "%s: length cut at byte %zu", field, r->off);
    if (n > max)
        return fail(err, FEED_EFIELD, "%s: length %llu above %zu", field, (unsigned long long)n, max);
    if (r->len - r->off < n)
        return fail(err, FEED_ETRUNC, "%s: %llu bytes announced, %zu left", field,
                    (unsigned long long)n, r->len - r->off);
    if (memchr(r->p + r->off, 0, n))
        return fail(err, FEED_EFIELD, "%s: contains a NUL byte", field);
    memcpy(out, r->p + r->off, n);
    out[n] = 0;
    r->off += n;
    return 0;
}

#define GET(field, dst, bytes)                                                                  \
    do {                                                                                        \
        uint64_t v_;                                                                            \
        if (!get(&r, field, &v_, bytes))                                                        \
            return fail(err, FEED_ETRUNC, "%s: cut at byte %zu of %zu", field, r.off, r.len);  \
        dst = v_;                                                                               \
    } while (0)

int feed_decode(const uint8_t *buf, size_t len, struct feed_obs *out, struct feed_error *err)
{
    if (!buf || !out)
        return fail(err, FEED_EINVAL, "no buffer");
    struct rbuf r = {buf, len, 0, NULL};
    uint64_t version, kind, v;
    struct feed_obs o;
    memset(&o, 0, sizeof o);
    int rc;
    GET("version", version, 1);
    if (version != FEED_ENCODING_VERSION)
        return fail(err, FEED_EVERSION, "version: %llu, this build reads %d",
                    (unsigned long long)version, FEED_ENCODING_VERSION);
    GET("kind", kind, 1);
    o.kind = (enum feed_kind)kind;
    switch (kind) {
    case FEED_FIXTURE: {
        struct feed_fixture *f = &o.u.fixture;
        if ((rc = get_str(&r, "fixture.id", f->id, FEED_ID_MAX, err)))
            return rc;
        GET("sport", v, 1);
        f->sport = (enum feed_sport)v;
        if ((rc = get_str(&r, "competition", f->competition, FEED_NAME_MAX, err)) ||
            (rc = get_str(&r, "home", f->home, FEED_NAME_MAX, err)) ||
            (rc = get_str(&r, "away", f->away, FEED_NAME_MAX, err)))
            return rc;
        GET("kickoff", v, 8);
        f->kickoff = (int64_t)v;
        break;
    }
    case FEED_EVENT: {
        struct feed_event *e = &o.u.event;
        if ((rc = get_str(&r, "event.fixture", e->fixture, FEED_ID_MAX, err)))
            return rc;
        GET("seq", e->seq, 8);
        GET("minute", e->minute, 2);
        GET("stoppage", e->stoppage, 2);
        GET("period", e->period, 1);
        GET("type", v, 1);
        e->type = (enum feed_event_type)v;
        GET("team", v, 1);
        e->team = (enum feed_side)v;
        GET("server", v, 1);
        e->server = (enum feed_side)v;
        GET("winner", v, 1);
        e->winner = (enum feed_side)v;
        GET("points", e->points, 2);
        break;
    }
    case FEED_RESULT: {
        struct feed_result *x = &o.u.result;
        if ((rc = get_str(&r, "result.fixture", x->fixture, FEED_ID_MAX, err)))
            return rc;
        GET("status", v, 1);
        x->status = (enum feed_result_status)v;
        GET("home", x->home, 2);
        GET("away", x->away, 2);
        break;
    }
    case FEED_ODDS: {
        struct feed_odds *m = &o.u.odds;
        if ((rc = get_str(&r, "odds.fixture", m->fixture, FEED_ID_MAX, err)))
            return rc;
        GET("seq", m->seq, 8);
        GET("books", m->books, 1);
        if (m->books > FEED_ODDS_BOOKS_MAX)
            return fail(err, FEED_EFIELD, "books: %u, at most %d", (unsigned)m->books,
                        FEED_ODDS_BOOKS_MAX);
        for (int b = 0; b < m->books; b++)
            for (int i = 0; i < 3; i++)
                GET("odds", m->milli[b][i], 4);
        break;
    }
    default:
        return fail(err, FEED_EKIND, "kind: unknown value %llu", (unsigned long long)kind);
    }
    if (r.off != len)
        return fail(err, FEED_ETRAIL, "%zu bytes after the end of the %s", len - r.off,
                    feed_kind_name((enum feed_kind)kind));
    /* Enum bytes out of range (side 7, sport 9) fail here, which keeps decoding one to one. */
    if ((rc = feed_obs_validate(&o, err)))
        return rc;
    *out = o;
    return 0;
}
