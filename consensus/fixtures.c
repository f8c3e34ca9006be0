/* Fixtures: validation, apply and queries. See fixtures.h. */
#include "consensus/fixtures.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/cmdtable.h"
#include "consensus/store.h"

const struct fsm_domain fixtures_domain;

static MDB_dbi fixtures_db(struct fsm *f)
{
    return fsm_domain_dbis(f, &fixtures_domain)[0];
}

static const char *const STATUSES[] = {"scheduled", "live", "finished", "postponed", "cancelled"};

bool fixture_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > FIXTURE_ID_MAX)
        return false;
    /* "." and ".." are path segments: a client that normalises paths turns
     * /v1/fixtures/.. into /v1/. A safe id starts with a letter or digit. */
    if (!isalnum((unsigned char)id[0]))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)id[i];
        if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.')
            return false;
    }
    return true;
}

bool fixture_status_valid(const char *status)
{
    for (size_t i = 0; i < sizeof STATUSES / sizeof *STATUSES; i++)
        if (!strcmp(status, STATUSES[i]))
            return true;
    return false;
}

bool fixture_transition_ok(const char *from, const char *to)
{
    if (!strcmp(from, "scheduled"))
        return !strcmp(to, "live") || !strcmp(to, "postponed") || !strcmp(to, "cancelled");
    if (!strcmp(from, "live"))
        return !strcmp(to, "finished") || !strcmp(to, "cancelled");
    if (!strcmp(from, "postponed"))
        return !strcmp(to, "scheduled") || !strcmp(to, "cancelled");
    return false;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int fixture_parse_time(const char *s, int64_t *out)
{
    int Y, M, D, h, m, sec;
    if (strlen(s) < 20 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) ||
        s[7] != '-' || digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &m) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return -1;
    const char *p = s + 19;
    if (*p == '.') { /* fractional seconds are accepted and dropped */
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    int offset = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == 0) {
        offset = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
    } else {
        return -1;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (Y < 1970 || Y > 9999 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 ||
        m > 59 || sec > 60)
        return -1;
    bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (M == 2 && D == 29 && !leap)
        return -1;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h,
                    .tm_min = m, .tm_sec = sec};
    int64_t t = (int64_t)timegm(&tm) - offset;
    if (t < 0)
        return -1; /* before 1970 (an offset can take 1970-01-01 back): not representable */
    *out = t;
    return 0;
}

static bool text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static int str_field(json_t *body, const char *key, bool required, size_t max, const char **out,
                     char *detail, size_t n)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v) {
        if (required) {
            snprintf(detail, n, "field '%s' is required", key);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        snprintf(detail, n, "field '%s' must be a string", key);
        return -1;
    }
    if (!text_ok(json_string_value(v), max)) {
        snprintf(detail, n, "field '%s' must be 1 to %zu printable characters", key, max);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static int check_known(json_t *body, const char *const *known, char *detail, size_t n)
{
    const char *key;
    json_t *v;
    if (!json_is_object(body)) {
        snprintf(detail, n, "the body must be a JSON object");
        return -1;
    }
    json_object_foreach(body, key, v)
    {
        bool ok = false;
        for (const char *const *k = known; *k; k++)
            ok = ok || !strcmp(*k, key);
        if (!ok) {
            snprintf(detail, n, "unknown field '%s'", key);
            return -1;
        }
    }
    return 0;
}

static int normalise_kickoff(json_t *body, const char *kickoff, char *detail, size_t n)
{
    int64_t t;
    if (fixture_parse_time(kickoff, &t) != 0) {
        snprintf(detail, n, "field 'kickoff' must be an RFC 3339 time such as "
                            "2026-11-28T15:00:00Z");
        return -1;
    }
    char buf[32];
    fsm_format_time((uint64_t)t * 1000, buf);
    json_object_set_new(body, "kickoff", json_string(buf));
    return 0;
}

int fixture_check_create(json_t *body, const char *sport, char *detail, size_t n)
{
    static const char *const known[] = {"id", "sport", "competition", "home", "away", "kickoff",
                                        "status", NULL};
    const char *id, *sp, *comp, *home, *away, *kickoff, *status;
    if (check_known(body, known, detail, n) ||
        str_field(body, "id", true, FIXTURE_ID_MAX, &id, detail, n) ||
        str_field(body, "sport", true, 32, &sp, detail, n) ||
        str_field(body, "competition", true, 100, &comp, detail, n) ||
        str_field(body, "home", true, 100, &home, detail, n) ||
        str_field(body, "away", true, 100, &away, detail, n) ||
        str_field(body, "kickoff", true, 40, &kickoff, detail, n) ||
        str_field(body, "status", false, 16, &status, detail, n))
        return -1;
    if (!fixture_id_valid(id, strlen(id))) {
        snprintf(detail, n, "field 'id' may use only letters, digits, '-', '_' and '.', and "
                            "starts with a letter or digit");
        return -1;
    }
    if (!sport) {
        snprintf(detail, n, "this cluster is not a sport cluster and takes no fixtures");
        return -1;
    }
    if (strcmp(sp, sport) != 0) {
        snprintf(detail, n, "field 'sport' is '%s' but this is the %s cluster", sp, sport);
        return -1;
    }
    if (!strcmp(home, away)) {
        snprintf(detail, n, "fields 'home' and 'away' must name different teams");
        return -1;
    }
    if (status && strcmp(status, "scheduled") != 0 && strcmp(status, "postponed") != 0) {
        snprintf(detail, n, "a new fixture's 'status' must be 'scheduled' or 'postponed'");
        return -1;
    }
    if (!status)
        json_object_set_new(body, "status", json_string("scheduled"));
    return normalise_kickoff(body, kickoff, detail, n);
}

int fixture_check_update(json_t *body, char *detail, size_t n)
{
    static const char *const known[] = {"id", "status", "kickoff", NULL};
    const char *id, *status, *kickoff;
    if (check_known(body, known, detail, n) ||
        str_field(body, "id", true, FIXTURE_ID_MAX, &id, detail, n) ||
        str_field(body, "status", false, 16, &status, detail, n) ||
        str_field(body, "kickoff", false, 40, &kickoff, detail, n))
        return -1;
    if (!fixture_id_valid(id, strlen(id))) {
        snprintf(detail, n, "fixture id may use only letters, digits, '-', '_' and '.'");
        return -1;
    }
    if (!status && !kickoff) {
        snprintf(detail, n, "nothing to change: give 'status' and/or 'kickoff'");
        return -1;
    }
    if (status && !fixture_status_valid(status)) {
        snprintf(detail, n,
                 "field 'status' must be one of scheduled, live, finished, postponed, cancelled");
        return -1;
    }
    return kickoff ? normalise_kickoff(body, kickoff, detail, n) : 0;
}

json_t *fixture_get(struct fsm *f, MDB_txn *txn, const char *id)
{
    return store_get_json(txn, fixtures_db(f), id, strlen(id));
}

int fixture_put(struct fsm *f, MDB_txn *txn, json_t *fx, char **text_out)
{
    const char *id = json_string_value(json_object_get(fx, "id"));
    return store_put_json(txn, fixtures_db(f), id, strlen(id), fx, text_out);
}

/* Write @fx and make its text the result. */
static int put_fixture(struct fsm *f, MDB_txn *txn, json_t *fx, struct fsm_result *res,
                       int status)
{
    char *text;
    int rv = fixture_put(f, txn, fx, &text);
    if (rv == 0)
        fsm_result_set(res, status, text);
    return rv;
}

/* The payload of @c if its shape is right for a new fixture (@create) or an update; otherwise
 * NULL with the 422 in @res. */
static json_t *checked_payload(struct fsm *f, const struct cmd *c, bool create,
                               struct fsm_result *res)
{
    char detail[256];
    json_t *body = store_payload(c, false, res);
    if (!body)
        return NULL;
    if ((create ? fixture_check_create(body, fsm_sport(f), detail, sizeof detail)
                : fixture_check_update(body, detail, sizeof detail)) != 0) {
        fsm_result_problem(res, 422, create ? "Invalid fixture" : "Invalid fixture update", "%s",
                           detail);
        json_decref(body);
        return NULL;
    }
    return body;
}

static int apply_create(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                        struct fsm_result *res)
{
    json_t *body = checked_payload(f, c, true, res);
    if (!body)
        return 0;
    int rv = 0;
    const char *id = json_string_value(json_object_get(body, "id"));
    json_t *old = fixture_get(f, txn, id);
    if (old) {
        json_decref(old);
        fsm_result_problem(res, 409, "Fixture exists", "fixture '%s' already exists", id);
        goto out;
    }
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_object_set_new(body, "version", json_integer(1));
    json_object_set_new(body, "created_at", json_string(ts));
    json_object_set_new(body, "updated_at", json_string(ts));
    rv = put_fixture(f, txn, body, res, 201);
out:
    json_decref(body);
    return rv;
}

static int apply_update(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                        struct fsm_result *res)
{
    json_t *body = checked_payload(f, c, false, res);
    if (!body)
        return 0;
    int rv = 0;
    json_t *fx = NULL;
    const char *id = json_string_value(json_object_get(body, "id"));
    fx = fixture_get(f, txn, id);
    if (!fx) {
        fsm_result_problem(res, 404, "No such fixture", "fixture '%s' does not exist", id);
        goto out;
    }
    const char *from = json_string_value(json_object_get(fx, "status"));
    json_t *to = json_object_get(body, "status");
    if (to && strcmp(from, json_string_value(to)) != 0) {
        if (!fixture_transition_ok(from, json_string_value(to))) {
            fsm_result_problem(res, 409, "Invalid status change",
                               "fixture '%s' cannot go from %s to %s", id, from,
                               json_string_value(to));
            goto out;
        }
        json_object_set(fx, "status", to);
    } else if (to && !json_object_get(body, "kickoff")) {
        fsm_result_problem(res, 409, "No change", "fixture '%s' is already %s", id, from);
        goto out;
    }
    json_t *kickoff = json_object_get(body, "kickoff");
    if (kickoff) {
        const char *st = json_string_value(json_object_get(fx, "status"));
        if (!strcmp(st, "finished") || !strcmp(st, "cancelled") || !strcmp(st, "live")) {
            fsm_result_problem(res, 409, "Kick-off fixed",
                               "the kick-off of a %s fixture cannot change", st);
            goto out;
        }
        /* A postponed fixture's bets are void 48 h after the kick-off first agreed
         * (bets_resettle.c), whatever date it is moved to. */
        if (!json_object_get(fx, "original_kickoff") &&
            !json_equal(json_object_get(fx, "kickoff"), kickoff))
            json_object_set(fx, "original_kickoff", json_object_get(fx, "kickoff"));
        json_object_set(fx, "kickoff", kickoff);
    }
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_object_set_new(fx, "updated_at", json_string(ts));
    json_object_set_new(fx, "version",
                        json_integer(json_integer_value(json_object_get(fx, "version")) + 1));
    rv = put_fixture(f, txn, fx, res, 200);
out:
    json_decref(fx);
    json_decref(body);
    return rv;
}

static bool matches(json_t *fx, const struct fixture_filter *flt)
{
    if (flt->sport && strcmp(flt->sport, json_string_value(json_object_get(fx, "sport"))))
        return false;
    if (flt->competition &&
        strcmp(flt->competition, json_string_value(json_object_get(fx, "competition"))))
        return false;
    if (flt->status && strcmp(flt->status, json_string_value(json_object_get(fx, "status"))))
        return false;
    if (flt->from || flt->to) {
        int64_t t;
        if (fixture_parse_time(json_string_value(json_object_get(fx, "kickoff")), &t) != 0)
            return false;
        if ((flt->from && t < flt->from) || (flt->to && t >= flt->to))
            return false;
    }
    return true;
}

json_t *fixture_list(struct fsm *f, MDB_txn *txn, const struct fixture_filter *flt)
{
    json_t *items = json_array(), *next = json_null();
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, fixtures_db(f), &cur) != 0)
        return json_pack("{s:o, s:o}", "items", items, "next", next);
    MDB_val k = {0, NULL}, v;
    int op = MDB_FIRST;
    if (flt->after) {
        k.mv_size = strlen(flt->after);
        k.mv_data = (void *)flt->after;
        op = MDB_SET_RANGE;
    }
    int rv = mdb_cursor_get(cur, &k, &v, op);
    if (rv == 0 && flt->after && k.mv_size == strlen(flt->after) &&
        !memcmp(k.mv_data, flt->after, k.mv_size))
        rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    for (; rv == 0; rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        json_t *fx = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        if (!fx || !matches(fx, flt)) {
            json_decref(fx);
            continue;
        }
        if (json_array_size(items) == flt->limit) {
            /* One more match exists: the cursor is the last id returned. */
            json_decref(fx);
            json_decref(next);
            next = json_incref(json_object_get(json_array_get(items, flt->limit - 1), "id"));
            break;
        }
        json_array_append_new(items, fx);
    }
    mdb_cursor_close(cur);
    return json_pack("{s:o, s:o}", "items", items, "next", next);
}

/* ---- the domain's commands ---- */

char *fixtures_cmd_create(struct cmd *c, json_t *checked)
{
    return cmd_fill(c, CMD_FIXTURE_CREATE, checked);
}

char *fixtures_cmd_update(struct cmd *c, json_t *checked)
{
    return cmd_fill(c, CMD_FIXTURE_UPDATE, checked);
}

static const struct fsm_command COMMANDS[] = {
    {CMD_FIXTURE_CREATE, "fixture_create", true, apply_create, NULL},
    {CMD_FIXTURE_UPDATE, "fixture_update", true, apply_update, NULL},
    {0, NULL, false, NULL, NULL},
};

static const char *const DBS[] = {"fixtures", NULL};

const struct fsm_domain fixtures_domain = {"fixtures", COMMANDS, DBS};
