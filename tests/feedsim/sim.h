/* parlay-feedsim: a sports-data provider that replays a scenario, and can be told to lie. */
#ifndef PARLAY_FEEDSIM_H
#define PARLAY_FEEDSIM_H

#include <uv.h>

#include "feed/feed.h"

/* ---- scenarios (scenario.c) ------------------------------------------------------------ */

/* One observation the provider will publish at simulated time t (seconds). Items are sorted
 * by t (ties keep file order) and numbered 1.. in that order: the number is the stream's
 * event id, so a Last-Event-ID names a point in the scenario. */
struct sim_item {
    double t;
    uint64_t id;
    struct feed_obs obs;
};

struct sim_scenario {
    char name[128];
    struct sim_item *items;
    size_t n;
    double end; /* t of the last item */
};

int sim_scenario_load(const char *path, struct sim_scenario *sc, char *err, size_t errlen);
void sim_scenario_free(struct sim_scenario *sc);

/* ---- lies ------------------------------------------------------------------------------ */

#define SIM_MAX_LIES 32

struct sim_event_ref {
    char fixture[FEED_ID_MAX + 1];
    uint64_t seq;
};

enum sim_down { SIM_UP = 0, SIM_DOWN_503, SIM_DOWN_REFUSE };

struct sim_lies {
    struct {
        char fixture[FEED_ID_MAX + 1];
        uint16_t home, away;
    } score[SIM_MAX_LIES]; /* a wrong final score */
    int nscore;
    struct sim_event_ref drop[SIM_MAX_LIES]; /* events that never appear */
    int ndrop;
    struct sim_event_ref flip[SIM_MAX_LIES]; /* events told the other way round: home and
                                                away swapped in team, server and winner */
    int nflip;
    char swap_odds[SIM_MAX_LIES][FEED_ID_MAX + 1]; /* market snapshots of these fixtures
                                                      told with home and away odds swapped */
    int nswap;
    unsigned delay_ms;           /* everything is published this much later (real time) */
    unsigned slow_ms;            /* every REST answer is sent this much later */
    bool garbage;                /* 200 answers whose bodies are not valid observations */
    enum sim_down down;          /* 503 for everything, or the port closed */
    unsigned drop_stream_every;  /* close each stream after this many events (0: never) */
};

/* Parses "F1=0-3" / "F1:5" into the lies; returns 0 or -1. */
int sim_lie_score(struct sim_lies *l, const char *arg);
int sim_lie_event(struct sim_event_ref *refs, int *n, const char *arg);
/* Adds a fixture id to the swap_odds lie; returns 0 or -1. */
int sim_lie_swap_odds(struct sim_lies *l, const char *fixture);

/* ---- the server (server.c) ------------------------------------------------------------- */

struct sim_conn;

struct sim {
    uv_loop_t *loop;
    struct sim_scenario sc;
    struct sim_lies lies;
    double speed;       /* simulated seconds per real second; 0: paused (advance by admin) */
    double base_t;      /* simulated time at base_ms */
    uint64_t base_ms;   /* uv_now() when the clock was last set */
    size_t released;    /* items[0..released) are published */
    uint64_t *released_at; /* uv_now() when each was */
    char host[64];
    int port, admin_port;
    uv_tcp_t *listener, *admin;
    uv_timer_t tick;
    unsigned heartbeat_ms;
    const char *api_key; /* if set, the public endpoints want "X-Api-Key: <it>" */
    uint64_t last_heartbeat;
    struct sim_conn *conns;
    uint64_t requests, resumes, streams_dropped, garbage_count;
};

int sim_start(struct sim *s);  /* binds both ports (0: any), starts the clock */
void sim_stop(struct sim *s);  /* closes every handle */
double sim_now(const struct sim *s);
/* Publishes what is due and sends it to the streams; call after changing the clock. */
void sim_release(struct sim *s);
int sim_listen_public(struct sim *s);

#endif
