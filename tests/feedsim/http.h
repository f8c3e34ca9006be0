/* Private to the simulator: its HTTP connections and answers, shared by the three parts of
 * the server (http.c: connections, parsing, routing, lifecycle; publish.c: the feed
 * endpoints and the stream; admin.c: the admin API and the lies). */
#ifndef PARLAY_FEEDSIM_HTTP_H
#define PARLAY_FEEDSIM_HTTP_H

#include <jansson.h>

#include "tests/feedsim/sim.h"

struct sim_conn {
    uv_tcp_t tcp;
    uv_timer_t delay;
    struct sim *s;
    struct sim_conn *next, *prev;
    bool admin, stream, closing, close_after_write;
    int pending_writes;
    int handles;
    char *in;
    size_t inlen, incap;
    uint64_t stream_last; /* id of the last item the stream has passed */
    unsigned stream_sent;
    char *delayed; /* an answer held back by the slow lie */
    size_t delayed_len;
};

struct req {
    char method[8];
    char path[256];
    char query[512];
    char inm[256];
    char api_key[256];
    char last_id[64];
    bool keep_alive;
    const char *body;
    size_t body_len;
};

struct wreq {
    uv_write_t w;
    struct sim_conn *c;
    char data[];
};

void conn_close(struct sim_conn *c);
void conn_write(struct sim_conn *c, const char *p, size_t n);
/* Closes the connection once what was written has gone out. */
void conn_end(struct sim_conn *c);
/* A whole answer. @extra: more header lines, each ending in CRLF, or NULL. Held back by
 * the slow lie on the public port. */
void reply(struct sim_conn *c, const struct req *q, int status, const char *ctype,
           const char *extra, const char *body, size_t len);
void reply_json(struct sim_conn *c, const struct req *q, int status, json_t *j,
                const char *extra); /* takes @j */
void reply_problem(struct sim_conn *c, const struct req *q, int status, const char *detail,
                   const char *extra);
void sim_close_listener(uv_tcp_t *t);

void sim_public_request(struct sim_conn *c, const struct req *q); /* publish.c */
void sim_admin_request(struct sim_conn *c, const struct req *q);  /* admin.c */
void sim_set_down(struct sim *s, enum sim_down d);                 /* admin.c */

#endif
