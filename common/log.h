/* Logging: one line per event, key=value, with the node id and, where they apply, term and
 * index. Written to stderr. */
#ifndef PARLAY_LOG_H
#define PARLAY_LOG_H

enum { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

void log_init(unsigned long long node_id, int level);
void log_line(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_DEBUG(...) log_line(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define LOG_INFO(...) log_line(LOG_LEVEL_INFO, __VA_ARGS__)
#define LOG_WARN(...) log_line(LOG_LEVEL_WARN, __VA_ARGS__)
#define LOG_ERROR(...) log_line(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
