#include "node/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const double BOUNDS[METRICS_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                               0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                               1,      5};

const char *metrics_route_name(int route)
{
    static const char *names[ROUTE_COUNT] = {"other",          "health",          "metrics",
                                             "fixtures_read",  "fixtures_write",  "admin",
                                             "accounts"};
    return route >= 0 && route < ROUTE_COUNT ? names[route] : "other";
}

void metrics_observe(struct metrics *m, int route, int status, double seconds)
{
    int cls = status / 100 - 1;
    if (cls < 0 || cls > 4)
        cls = 4;
    m->requests[route][cls]++;
    int b = 0;
    while (b < METRICS_BUCKETS && seconds > BOUNDS[b])
        b++;
    m->latency_bucket[route][b]++;
    m->latency_sum[route] += seconds;
}

void metrics_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < *cap - *len) {
            *len += (size_t)n;
            return;
        }
        size_t ncap = *cap * 2 + (size_t)n + 1;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return;
        *buf = nb;
        *cap = ncap;
    }
}

void metrics_render(const struct metrics *m, char **buf, size_t *len, size_t *cap)
{
    metrics_printf(buf, len, cap,
                   "# HELP parlay_http_requests_total HTTP requests by route and status class.\n"
                   "# TYPE parlay_http_requests_total counter\n");
    for (int r = 0; r < ROUTE_COUNT; r++)
        for (int c = 0; c < 5; c++)
            if (m->requests[r][c])
                metrics_printf(buf, len, cap,
                               "parlay_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n",
                               metrics_route_name(r), c + 1,
                               (unsigned long long)m->requests[r][c]);
    metrics_printf(buf, len, cap,
                   "# HELP parlay_http_request_duration_seconds HTTP request latency.\n"
                   "# TYPE parlay_http_request_duration_seconds histogram\n");
    for (int r = 0; r < ROUTE_COUNT; r++) {
        uint64_t cum = 0;
        for (int b = 0; b <= METRICS_BUCKETS; b++) {
            cum += m->latency_bucket[r][b];
            if (b < METRICS_BUCKETS)
                metrics_printf(buf, len, cap,
                               "parlay_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} "
                               "%llu\n",
                               metrics_route_name(r), BOUNDS[b], (unsigned long long)cum);
            else
                metrics_printf(buf, len, cap,
                               "parlay_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
                               "%llu\n"
                               "parlay_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                               "parlay_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                               metrics_route_name(r), (unsigned long long)cum,
                               metrics_route_name(r), m->latency_sum[r], metrics_route_name(r),
                               (unsigned long long)cum);
        }
    }
    const struct metric writes[] = {
        {"parlay_forwarded_total", METRIC_COUNTER, m->forwarded},
        {"parlay_forward_errors_total", METRIC_COUNTER, m->forward_errors},
        {"parlay_proposals_total", METRIC_COUNTER, m->proposals},
        {"parlay_outcome_unknown_total", METRIC_COUNTER, m->outcome_unknown},
        {"parlay_idempotent_replays_total", METRIC_COUNTER, m->idem_replays},
        {"parlay_quota_refusals_total", METRIC_COUNTER, m->quota_refusals},
    };
    METRICS_PUT(buf, len, cap, writes);
}

void metrics_by_node(char **buf, size_t *len, size_t *cap, const char *name, const uint64_t *v,
                     unsigned n)
{
    metrics_printf(buf, len, cap, "# TYPE %s counter\n", name);
    for (unsigned i = 1; i < n; i++)
        if (v[i])
            metrics_printf(buf, len, cap, "%s{node=\"%u\"} %llu\n", name, i,
                           (unsigned long long)v[i]);
}

void metrics_put(char **buf, size_t *len, size_t *cap, const struct metric *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        metrics_printf(buf, len, cap, "# TYPE %s %s\n%s %llu\n", m[i].name,
                       m[i].type == METRIC_GAUGE ? "gauge" : "counter", m[i].name,
                       (unsigned long long)m[i].value);
}
