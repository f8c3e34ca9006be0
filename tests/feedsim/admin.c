/* The admin API (its own port, up even when the public one is "down") and the lies. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/feedsim/http.h"

static json_t *state_json(struct sim *s)
{
    static const char *const downs[] = {"none", "503", "refuse"};
    json_t *scores = json_array(), *drops = json_array(), *flips = json_array();
    for (int i = 0; i < s->lies.nscore; i++)
        json_array_append_new(scores, json_pack("{s:s, s:i, s:i}", "fixture",
                                                s->lies.score[i].fixture, "home",
                                                s->lies.score[i].home, "away",
                                                s->lies.score[i].away));
    for (int i = 0; i < s->lies.ndrop; i++)
        json_array_append_new(drops, json_pack("{s:s, s:I}", "fixture", s->lies.drop[i].fixture,
                                               "seq", (json_int_t)s->lies.drop[i].seq));
    for (int i = 0; i < s->lies.nflip; i++)
        json_array_append_new(flips, json_pack("{s:s, s:I}", "fixture", s->lies.flip[i].fixture,
                                               "seq", (json_int_t)s->lies.flip[i].seq));
    int streams = 0;
    for (struct sim_conn *c = s->conns; c; c = c->next)
        streams += c->stream && !c->closing;
    return json_pack("{s:s, s:f, s:f, s:I, s:I, s:b, s:i, s:I, s:I, s:I, s:I, s:i, s:i, "
                     "s:{s:o, s:o, s:o, s:i, s:i, s:b, s:s, s:i}}",
                     "scenario", s->sc.name, "sim_time", sim_now(s), "speed", s->speed,
                     "released", (json_int_t)s->released, "items", (json_int_t)s->sc.n,
                     "finished", s->released == s->sc.n, "streams", streams, "requests",
                     (json_int_t)s->requests, "resumes", (json_int_t)s->resumes,
                     "streams_dropped", (json_int_t)s->streams_dropped, "garbage_sent",
                     (json_int_t)s->garbage_count, "port", s->port, "admin_port",
                     s->admin_port, "lies", "score", scores, "drop_event", drops, "flip_event", flips, "delay_ms",
                     (int)s->lies.delay_ms, "slow_ms", (int)s->lies.slow_ms, "garbage", s->lies.garbage, "down",
                     downs[s->lies.down], "drop_stream_every", (int)s->lies.drop_stream_every);
}

static void close_public(struct sim *s, bool streams_only)
{
    for (struct sim_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (!c->admin && (!streams_only || c->stream)) {
            if (c->stream)
                s->streams_dropped++;
            conn_close(c);
        }
    }
}


void sim_set_down(struct sim *s, enum sim_down d)
{
    enum sim_down was = s->lies.down;
    s->lies.down = d;
    if (d == SIM_DOWN_REFUSE && was != SIM_DOWN_REFUSE) {
        if (s->listener)
            sim_close_listener(s->listener);
        s->listener = NULL;
        close_public(s, false);
    } else if (d != SIM_DOWN_REFUSE && was == SIM_DOWN_REFUSE) {
        if (sim_listen_public(s) != 0)
            fprintf(stderr, "feedsim: cannot listen again on port %d\n", s->port);
    }
    if (d == SIM_DOWN_503)
        close_public(s, true);
}

/* Each item of @v (one object or an array of them) through @fn; -1 on a bad one. */
static int each(json_t *v, int (*fn)(struct sim_lies *l, json_t *o), struct sim_lies *l)
{
    if (json_is_object(v))
        return fn(l, v);
    size_t i;
    json_t *o;
    json_array_foreach(v, i, o) if (fn(l, o)) return -1;
    return json_is_array(v) ? 0 : -1;
}

static int lie_score(struct sim_lies *l, json_t *o)
{
    char arg[128];
    json_t *f = json_object_get(o, "fixture");
    snprintf(arg, sizeof arg, "%s=%lld-%lld", json_is_string(f) ? json_string_value(f) : "",
             json_integer_value(json_object_get(o, "home")),
             json_integer_value(json_object_get(o, "away")));
    return sim_lie_score(l, arg);
}

static int event_ref(struct sim_event_ref *refs, int *n, json_t *o)
{
    char arg[128];
    json_t *f = json_object_get(o, "fixture");
    snprintf(arg, sizeof arg, "%s:%lld", json_is_string(f) ? json_string_value(f) : "",
             json_integer_value(json_object_get(o, "seq")));
    return sim_lie_event(refs, n, arg);
}

static int lie_drop(struct sim_lies *l, json_t *o)
{
    return event_ref(l->drop, &l->ndrop, o);
}

static int lie_flip(struct sim_lies *l, json_t *o)
{
    return event_ref(l->flip, &l->nflip, o);
}

static int lie_swap_odds(struct sim_lies *l, json_t *o)
{
    return json_is_string(o) ? sim_lie_swap_odds(l, json_string_value(o)) : -1;
}

/* All or nothing: the new lies are built in a copy and installed only if every key is
 * valid, so a refused request changes nothing. */
static const char *apply_lies(struct sim *s, json_t *j)
{
    struct sim_lies next = s->lies;
    enum sim_down down = s->lies.down;
    json_t *v;
    if (json_is_true(json_object_get(j, "clear"))) {
        memset(&next, 0, sizeof next);
        down = SIM_UP;
    }
    if ((v = json_object_get(j, "score")) && each(v, lie_score, &next))
        return "score: {\"fixture\": ID, \"home\": N, \"away\": N} or a list of them";
    if ((v = json_object_get(j, "drop_event")) && each(v, lie_drop, &next))
        return "drop_event: {\"fixture\": ID, \"seq\": N} or a list of them";
    if ((v = json_object_get(j, "flip_event")) && each(v, lie_flip, &next))
        return "flip_event: {\"fixture\": ID, \"seq\": N} or a list of them";
    if ((v = json_object_get(j, "swap_odds")) &&
        (json_is_string(v) ? lie_swap_odds(&next, v) : each(v, lie_swap_odds, &next)))
        return "swap_odds: a fixture id or a list of them";
    if ((v = json_object_get(j, "delay_ms"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 600000)
            return "delay_ms: 0 to 600000";
        next.delay_ms = (unsigned)json_integer_value(v);
    }
    if ((v = json_object_get(j, "slow_ms"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 600000)
            return "slow_ms: 0 to 600000";
        next.slow_ms = (unsigned)json_integer_value(v);
    }
    if ((v = json_object_get(j, "garbage"))) {
        if (!json_is_boolean(v))
            return "garbage: true or false";
        next.garbage = json_is_true(v);
    }
    if ((v = json_object_get(j, "drop_stream_every"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return "drop_stream_every: a count, 0 for never";
        next.drop_stream_every = (unsigned)json_integer_value(v);
    }
    if ((v = json_object_get(j, "down"))) {
        const char *d = json_string_value(v);
        if (!d || (strcmp(d, "none") && strcmp(d, "503") && strcmp(d, "refuse")))
            return "down: \"none\", \"503\" or \"refuse\"";
        down = !strcmp(d, "503") ? SIM_DOWN_503 : !strcmp(d, "refuse") ? SIM_DOWN_REFUSE : SIM_UP;
    }
    next.down = s->lies.down; /* set_down() makes the transition */
    s->lies = next;
    sim_set_down(s, down);
    return NULL;
}

void sim_admin_request(struct sim_conn *c, const struct req *q)
{
    struct sim *s = c->s;
    bool post = !strcmp(q->method, "POST");
    if (!strcmp(q->path, "/admin/v1/state") && !post) {
        reply_json(c, q, 200, state_json(s), NULL);
        return;
    }
    if (!post) {
        reply_problem(c, q, strncmp(q->path, "/admin/v1/", 10) ? 404 : 405, "not here", NULL);
        return;
    }
    json_error_t je;
    json_t *j = q->body_len ? json_loadb(q->body, q->body_len, 0, &je) : json_object();
    if (!json_is_object(j)) {
        json_decref(j);
        reply_problem(c, q, 400, "the body must be a JSON object", NULL);
        return;
    }
    const char *bad = NULL;
    if (!strcmp(q->path, "/admin/v1/advance")) {
        json_t *sec = json_object_get(j, "seconds"), *to = json_object_get(j, "to");
        double now = sim_now(s), t = -1;
        if (json_is_number(sec) && json_number_value(sec) >= 0)
            t = now + json_number_value(sec);
        else if (json_is_number(to) && json_number_value(to) >= now)
            t = json_number_value(to);
        else
            bad = "{\"seconds\": S >= 0} or {\"to\": T >= now}: the clock only goes forward";
        json_t *speed = json_object_get(j, "speed"); /* optional: the clock's new speed */
        if (speed && (!json_is_number(speed) || json_number_value(speed) < 0))
            bad = "speed: simulated seconds per real second, >= 0";
        if (t >= 0 && !bad) { /* restart the clock from t, now */
            s->base_t = t;
            s->base_ms = uv_now(s->loop);
            if (speed)
                s->speed = json_number_value(speed);
        }
    } else if (!strcmp(q->path, "/admin/v1/lie")) {
        bad = apply_lies(s, j);
    } else if (!strcmp(q->path, "/admin/v1/drop-streams")) {
        close_public(s, true);
    } else {
        json_decref(j);
        reply_problem(c, q, 404, "no such admin endpoint", NULL);
        return;
    }
    json_decref(j);
    if (bad) {
        reply_problem(c, q, 400, bad, NULL);
        return;
    }
    sim_release(s);
    reply_json(c, q, 200, state_json(s), NULL);
}

