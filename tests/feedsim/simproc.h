/* A parlay-feedsim process for tests: started on free 127.0.0.1 ports (it picks them itself
 * and reports them in a port file, so there is no race for a port), waited for with a
 * deadline, spoken to over real HTTP, and killed at the end. */
#ifndef PARLAY_FEED_SIMPROC_H
#define PARLAY_FEED_SIMPROC_H

#include <jansson.h>
#include <sys/types.h>

struct simproc {
    pid_t pid;
    int port, admin_port;
    char dir[128];
    char url[64];
};

/* @args: extra command-line arguments, NULL-terminated (may be NULL). Exits the test program
 * if the simulator is not answering within 20 s. */
void simproc_start(struct simproc *p, const char *scenario, const char *const *args);
void simproc_stop(struct simproc *p);
/* Stops every simulator still running (for teardown after a failed assertion). */
void simproc_stop_all(void);
/* Runs the simulator with @args (NULL-terminated) expecting it to exit by itself (a refused
 * scenario or option); returns its exit status and its output in @out. */
int simproc_run(const char *const *args, char *out, size_t cap);
/* POST @body (JSON) to the admin path, or GET when @body is NULL; returns the answer's JSON
 * (NULL if not 200). */
json_t *simproc_admin(struct simproc *p, const char *path, const char *body);
/* GET a public path; returns the status, fills @etag (may be NULL) from the answer. */
long simproc_get(struct simproc *p, const char *path, const char *if_none_match, char *etag,
                 size_t etag_cap);

#endif
