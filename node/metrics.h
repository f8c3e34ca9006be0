/* Prometheus metrics: request counts by route and status class, latency histogram. */
#ifndef PARLAY_METRICS_H
#define PARLAY_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum {
    ROUTE_OTHER,
    ROUTE_HEALTH,
    ROUTE_METRICS,
    ROUTE_FIXTURES_READ,
    ROUTE_FIXTURES_WRITE,
    ROUTE_ADMIN,
    ROUTE_ACCOUNTS,
    ROUTE_COUNT
};

#define METRICS_BUCKETS 14

struct metrics {
    uint64_t requests[ROUTE_COUNT][5]; /* by status class 1xx..5xx */
    uint64_t latency_bucket[ROUTE_COUNT][METRICS_BUCKETS + 1];
    double latency_sum[ROUTE_COUNT];
    uint64_t forwarded, forward_errors, proposals, outcome_unknown, idem_replays,
        quota_refusals, ban_refusals;
};

void metrics_observe(struct metrics *m, int route, int status, double seconds);
const char *metrics_route_name(int route);
/* Append the request metrics in text format to a growing buffer. */
void metrics_render(const struct metrics *m, char **buf, size_t *len, size_t *cap);
void metrics_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A metric without labels: its name, kind and value, for metrics_put. */
enum metric_type { METRIC_COUNTER, METRIC_GAUGE };
struct metric {
    const char *name;
    enum metric_type type;
    uint64_t value;
};
/* Append @n metrics, each as its "# TYPE" line and its value line. */
void metrics_put(char **buf, size_t *len, size_t *cap, const struct metric *m, size_t n);
#define METRICS_PUT(buf, len, cap, array) \
    metrics_put(buf, len, cap, array, sizeof(array) / sizeof *(array))
/* A counter by member: its TYPE line, then name{node="i"} for each non-zero @v[i], 0 < i < @n. */
void metrics_by_node(char **buf, size_t *len, size_t *cap, const char *name, const uint64_t *v,
                     unsigned n);

#endif
