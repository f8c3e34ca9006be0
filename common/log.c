#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static unsigned long long log_node_id;
static int log_level = LOG_LEVEL_INFO;

void log_init(unsigned long long node_id, int level)
{
    log_node_id = node_id;
    log_level = level;
}

void log_line(int level, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < log_level)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ts=%s.%03ldZ level=%s node=%llu %s\n", ts, (long)(tv.tv_usec / 1000),
            names[level], log_node_id, line);
}
