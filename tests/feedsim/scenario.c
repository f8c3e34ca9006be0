/* Scenario files: what the simulator publishes, and when.
 *
 *   {"name": "...",
 *    "fixtures": [
 *      {"id": "FB-1", "sport": "football", "competition": "...", "home": "...", "away": "...",
 *       "kickoff": "2026-11-28T15:00:00Z",
 *       "announce": 0,           simulated second the fixture is published (default 0)
 *       "start": 60,             simulated second of kick-off; event "at"s count from here
 *       "events": [{"at": 0, "minute": 0, "period": 1, "type": "kick_off"}, ...],
 *       "odds": [{"at": 20, "odds_milli": [[2100, 3400, 3600], ...]}, ...],
 *                                market snapshots, "at" counting from the announcement
 *       "result": {"at": 5900, "status": "final", "home": 2, "away": 1}}]}
 *
 * Events are written in the providers' JSON without "fixture" (taken from the parent) and
 * usually without "seq" (their position, from 1). Every observation is checked with the feed
 * library's own parser, so a scenario cannot publish what a node would refuse, and the
 * football score is checked against the goals, so a scenario cannot lie by accident.
 */
#include "tests/feedsim/sim.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed/internal.h"

static int item_cmp(const void *a, const void *b)
{
    const struct sim_item *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id; /* id is file order before sorting */
}

static int add(struct sim_scenario *sc, size_t *cap, double t, const struct feed_obs *o)
{
    if (sc->n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        struct sim_item *ni = realloc(sc->items, *cap * sizeof *ni);
        if (!ni)
            return -1;
        sc->items = ni;
    }
    struct sim_item *it = &sc->items[sc->n];
    it->t = t;
    it->id = sc->n;
    it->obs = *o;
    sc->n++;
    return 0;
}

static double num(json_t *o, const char *key, double def)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : def;
}

/* Goals for each side from football events: own goals count for the other side. */
static void football_score(const struct sim_scenario *sc, size_t from, const char *id,
                           unsigned score[3])
{
    score[1] = score[2] = 0;
    for (size_t i = from; i < sc->n; i++) {
        const struct feed_event *e = &sc->items[i].obs.u.event;
        if (sc->items[i].obs.kind != FEED_EVENT || strcmp(e->fixture, id))
            continue;
        if (e->type == FEED_GOAL || e->type == FEED_PENALTY_SCORED)
            score[e->team]++;
        else if (e->type == FEED_OWN_GOAL)
            score[3 - e->team]++;
    }
}

/* A fixture's i-th event or snapshot @j, written without "fixture" (the parent's @id) and
 * usually without "seq" (its position, from 1), parsed by the feed library; its "at" (-1 if
 * missing) in *at. Returns feed_obs_from_json's code. */
static int child_obs(enum feed_kind kind, json_t *j, const char *id, size_t i,
                     struct feed_obs *o, struct feed_error *fe, double *at)
{
    json_t *c = json_deep_copy(j);
    json_object_set_new(c, "fixture", json_string(id));
    if (!json_object_get(c, "seq"))
        json_object_set_new(c, "seq", json_integer((json_int_t)i + 1));
    *at = num(c, "at", -1);
    int rc = feed_obs_from_json(kind, c, o, fe);
    json_decref(c);
    return rc;
}

static int load_fixture(struct sim_scenario *sc, size_t *cap, json_t *jf, size_t fi, char *err,
                        size_t errlen)
{
    struct feed_obs fx, o;
    struct feed_error fe;
    if (feed_obs_from_json(FEED_FIXTURE, jf, &fx, &fe)) {
        snprintf(err, errlen, "fixtures[%zu]: %s", fi, fe.msg);
        return -1;
    }
    const char *id = fx.u.fixture.id;
    for (size_t k = 0; k < sc->n; k++)
        if (sc->items[k].obs.kind == FEED_FIXTURE && !strcmp(sc->items[k].obs.u.fixture.id, id)) {
            snprintf(err, errlen, "fixtures[%zu]: id %s appears twice", fi, id);
            return -1;
        }
    double start = num(jf, "start", 0);
    if (add(sc, cap, num(jf, "announce", 0), &fx))
        return -1;
    size_t first = sc->n;
    json_t *evs = json_object_get(jf, "events"), *ev;
    size_t i;
    double prev_at = -1;
    json_array_foreach(evs, i, ev)
    {
        double at;
        int rc = child_obs(FEED_EVENT, ev, id, i, &o, &fe, &at);
        if (rc || at < prev_at) {
            snprintf(err, errlen, "fixture %s, events[%zu]: %s", id, i,
                     rc ? fe.msg : "\"at\" missing or going back in time");
            return -1;
        }
        prev_at = at;
        if (add(sc, cap, start + at, &o))
            return -1;
    }
    /* Market snapshots: "odds": [{"at": seconds after the announcement, "odds_milli": [[h, d,
     * a], ...]}, ...], seq from 1 in order unless given. */
    json_t *jo;
    json_array_foreach(json_object_get(jf, "odds"), i, jo)
    {
        double at;
        int rc = child_obs(FEED_ODDS, jo, id, i, &o, &fe, &at);
        if (rc || at < 0) {
            snprintf(err, errlen, "fixture %s, odds[%zu]: %s", id, i,
                     rc ? fe.msg : "\"at\" missing or negative");
            return -1;
        }
        if (add(sc, cap, num(jf, "announce", 0) + at, &o))
            return -1;
    }
    json_t *jr = json_object_get(jf, "result");
    if (jr) {
        json_t *c = json_deep_copy(jr);
        json_object_set_new(c, "fixture", json_string(id));
        int rc = feed_obs_from_json(FEED_RESULT, c, &o, &fe);
        double at = num(c, "at", -1);
        json_decref(c);
        if (rc || at < prev_at) {
            snprintf(err, errlen, "fixture %s, result: %s", id,
                     rc ? fe.msg : "\"at\" missing or before the last event");
            return -1;
        }
        if (fx.u.fixture.sport == FEED_FOOTBALL && o.u.result.status == FEED_FINAL) {
            unsigned score[3];
            football_score(sc, first, id, score);
            if (score[1] != o.u.result.home || score[2] != o.u.result.away) {
                snprintf(err, errlen, "fixture %s: result %u-%u but the events say %u-%u", id,
                         o.u.result.home, o.u.result.away, score[1], score[2]);
                return -1;
            }
        }
        if (add(sc, cap, start + at, &o))
            return -1;
    }
    return 0;
}

int sim_scenario_load(const char *path, struct sim_scenario *sc, char *err, size_t errlen)
{
    memset(sc, 0, sizeof *sc);
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
        return -1;
    }
    json_t *fixtures = json_object_get(j, "fixtures"), *jf;
    if (!json_is_array(fixtures) || json_array_size(fixtures) == 0) {
        snprintf(err, errlen, "%s: no \"fixtures\" array", path);
        json_decref(j);
        return -1;
    }
    snprintf(sc->name, sizeof sc->name, "%s",
             json_is_string(json_object_get(j, "name"))
                 ? json_string_value(json_object_get(j, "name"))
                 : path);
    size_t cap = 0, i;
    json_array_foreach(fixtures, i, jf)
    {
        if (load_fixture(sc, &cap, jf, i, err, errlen)) {
            json_decref(j);
            sim_scenario_free(sc);
            return -1;
        }
    }
    json_decref(j);
    qsort(sc->items, sc->n, sizeof *sc->items, item_cmp);
    for (size_t k = 0; k < sc->n; k++) {
        sc->items[k].id = k + 1;
        if (sc->items[k].t > sc->end)
            sc->end = sc->items[k].t;
    }
    return 0;
}

void sim_scenario_free(struct sim_scenario *sc)
{
    free(sc->items);
    sc->items = NULL;
    sc->n = 0;
}

int sim_lie_score(struct sim_lies *l, const char *arg)
{
    const char *eq = strchr(arg, '=');
    unsigned h, a;
    char tail;
    if (!eq || eq == arg || (size_t)(eq - arg) > FEED_ID_MAX || l->nscore == SIM_MAX_LIES ||
        sscanf(eq + 1, "%u-%u%c", &h, &a, &tail) != 2 || h > 65535 || a > 65535)
        return -1;
    snprintf(l->score[l->nscore].fixture, sizeof l->score[0].fixture, "%.*s", (int)(eq - arg),
             arg);
    l->score[l->nscore].home = (uint16_t)h;
    l->score[l->nscore].away = (uint16_t)a;
    l->nscore++;
    return 0;
}

int sim_lie_event(struct sim_event_ref *refs, int *n, const char *arg)
{
    const char *c = strrchr(arg, ':');
    unsigned long long seq;
    char tail;
    if (!c || c == arg || (size_t)(c - arg) > FEED_ID_MAX || *n == SIM_MAX_LIES ||
        sscanf(c + 1, "%llu%c", &seq, &tail) != 1 || seq == 0)
        return -1;
    snprintf(refs[*n].fixture, sizeof refs[0].fixture, "%.*s", (int)(c - arg), arg);
    refs[*n].seq = seq;
    (*n)++;
    return 0;
}

int sim_lie_swap_odds(struct sim_lies *l, const char *fixture)
{
    if (!fixture[0] || strlen(fixture) > FEED_ID_MAX || l->nswap == SIM_MAX_LIES)
        return -1;
    snprintf(l->swap_odds[l->nswap++], sizeof l->swap_odds[0], "%s", fixture);
    return 0;
}
