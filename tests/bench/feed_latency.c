/* Feed latency: from the simulator publishing an observation to the adapter delivering it.
 *
 *   make bench-feed      (or: build/bench/feed_latency [SCENARIO] [REST_POLL_MS])
 *
 * The simulator runs with its clock stopped; for each distinct publication time in the
 * scenario the bench notes the time, moves the clock there (POST /admin/v1/advance, which
 * publishes and pushes to the streams before answering), then runs the loop until the
 * adapter has delivered everything published. The figure therefore includes one admin HTTP
 * round trip on loopback (a fraction of a millisecond), and, for REST, the wait for the
 * next poll (up to poll_ms; the default 1000 is the node's default). This is the first hop
 * of issue 6's "simulator emits a live event -> agreed quote on a follower" latency.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feed/feed.h"
#include "tests/feedsim/simproc.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long delivered;

static void on_obs(void *arg, const struct feed_obs *o)
{
    (void)arg;
    (void)o;
    delivered++;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Distinct publication times of the scenario, read from the file itself. */
static size_t times_of(const char *path, double *out, size_t cap)
{
    json_t *j = json_load_file(path, 0, NULL), *f;
    size_t n = 0, i, k;
    json_array_foreach(json_object_get(j, "fixtures"), i, f)
    {
        double start = json_number_value(json_object_get(f, "start"));
        json_t *e;
        json_array_foreach(json_object_get(f, "events"), k, e) if (n < cap) out[n++] =
            start + json_number_value(json_object_get(e, "at"));
        if (json_object_get(f, "result") && n < cap)
            out[n++] = start + json_number_value(json_object_get(json_object_get(f, "result"), "at"));
    }
    json_decref(j);
    qsort(out, n, sizeof *out, cmp);
    size_t d = 0;
    for (i = 0; i < n; i++)
        if (i == 0 || out[i] != out[d - 1])
            out[d++] = out[i];
    return d;
}

static void run(const char *scenario, enum feed_adapter a, unsigned poll_ms)
{
    static double times[100000], lat[100000];
    size_t nt = times_of(scenario, times, 100000), nl = 0;
    struct simproc s;
    simproc_start(&s, scenario, (const char *[]){"--speed", "0", NULL});
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct feed_config cfg = {.adapter = a, .url = s.url, .poll_ms = poll_ms, .on_obs = on_obs};
    struct feed_provider *p;
    delivered = 0;
    feed_open(&loop, &cfg, &p);
    json_t *st = simproc_admin(&s, "/admin/v1/state", NULL);
    long want = (long)json_integer_value(json_object_get(st, "released"));
    json_decref(st);
    while (delivered < want) /* the fixtures, published at time 0 */
        uv_run(&loop, UV_RUN_ONCE);
    for (size_t i = 0; i < nt; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"to\": %.3f}", times[i]);
        double t0 = now_ms();
        st = simproc_admin(&s, "/admin/v1/advance", body);
        want = (long)json_integer_value(json_object_get(st, "released"));
        json_decref(st);
        while (delivered < want)
            uv_run(&loop, UV_RUN_ONCE);
        lat[nl++] = now_ms() - t0;
    }
    feed_close(p, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    simproc_stop(&s);
    qsort(lat, nl, sizeof *lat, cmp);
    printf("%-4s poll_ms=%-5u publications=%-5zu observations=%-6ld p50=%.2f ms p99=%.2f ms "
           "max=%.2f ms\n",
           a == FEED_SSE ? "sse" : "rest", a == FEED_SSE ? 0 : poll_ms, nl, delivered,
           lat[nl / 2], lat[(size_t)ceil(nl * 0.99) - 1], lat[nl - 1]);
}

int main(int argc, char **argv)
{
    const char *scenario = argc > 1 ? argv[1] : "tests/feedsim/scenarios/busy-afternoon.json";
    unsigned poll = argc > 2 ? (unsigned)atoi(argv[2]) : 1000;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    setenv("FEEDSIM", "build/parlay-feedsim", 0); /* the optimised build, not the sanitized */
    run(scenario, FEED_SSE, 0);
    run(scenario, FEED_REST, poll);
    curl_global_cleanup();
    return 0;
}
