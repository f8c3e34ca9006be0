/* parlay-feedsim: command line, clock and signals. See feed/README.md. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/feedsim/sim.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: parlay-feedsim --scenario FILE [options]\n"
            "  --listen HOST:PORT      public feed address (default 127.0.0.1:8300; port 0: any)\n"
            "  --admin-port PORT       admin port on the same host (default 0: any)\n"
            "  --port-file PATH        write \"PORT ADMIN_PORT\\n\" there once listening\n"
            "  --speed N               simulated seconds per real second (default 1;\n"
            "                          0: the clock stands still until POST /admin/v1/advance)\n"
            "  --start-at T            simulated time at start, seconds (default 0)\n"
            "  --heartbeat-ms MS       stream comment interval (default 1000)\n"
            "  --api-key KEY           the public endpoints want \"X-Api-Key: KEY\" (else 401)\n"
            "lies (each instance its own):\n"
            "  --lie-score FIXTURE=H-A        report a wrong final score\n"
            "  --lie-drop-event FIXTURE:SEQ   never publish that event\n"
            "  --lie-flip-event FIXTURE:SEQ   publish that event with home and away swapped\n"
            "  --lie-swap-odds FIXTURE        publish its market snapshots with home and away swapped\n"
            "  --lie-delay MS                 publish everything MS late (REST and stream)\n"
            "  --lie-slow MS                  send every REST answer MS late\n"
            "  --lie-garbage                  answer 200 with bodies that are not observations\n"
            "  --lie-down 503|refuse          503 for everything, or refuse connections\n"
            "  --drop-stream-every N          close each stream after N events\n");
}

static uv_signal_t sigs[2];

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    struct sim *s = h->data;
    sim_stop(s);
    for (int i = 0; i < 2; i++) {
        uv_signal_stop(&sigs[i]);
        uv_close((uv_handle_t *)&sigs[i], NULL);
    }
}

static int write_port_file(const char *path, const struct sim *s)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%d %d\n", s->port, s->admin_port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path); /* readers see the whole file or none */
}

int main(int argc, char **argv)
{
    static struct sim s;
    const char *scenario = NULL, *port_file = NULL, *listen = "127.0.0.1:8300";
    double start_at = 0;
    s.speed = 1;
    s.heartbeat_ms = 1000;
    static const struct option opts[] = {
        {"scenario", required_argument, 0, 's'},   {"listen", required_argument, 0, 'l'},
        {"admin-port", required_argument, 0, 'a'}, {"port-file", required_argument, 0, 'p'},
        {"speed", required_argument, 0, 'x'},      {"start-at", required_argument, 0, 't'},
        {"heartbeat-ms", required_argument, 0, 'b'}, {"lie-score", required_argument, 0, 'S'},
        {"lie-drop-event", required_argument, 0, 'D'},
        {"lie-flip-event", required_argument, 0, 'F'}, {"lie-delay", required_argument, 0, 'W'},
        {"lie-slow", required_argument, 0, 'L'}, {"lie-swap-odds", required_argument, 0, 'O'},
        {"lie-garbage", no_argument, 0, 'G'},      {"lie-down", required_argument, 0, 'R'},
        {"drop-stream-every", required_argument, 0, 'E'}, {"help", no_argument, 0, 'h'},
        {"api-key", required_argument, 0, 'k'},
        {0, 0, 0, 0}};
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        bool bad = false;
        switch (c) {
        case 's': scenario = optarg; break;
        case 'l': listen = optarg; break;
        case 'a': s.admin_port = (int)strtol(optarg, &end, 10), bad = *end || s.admin_port < 0; break;
        case 'p': port_file = optarg; break;
        case 'x': s.speed = strtod(optarg, &end), bad = *end || s.speed < 0; break;
        case 't': start_at = strtod(optarg, &end), bad = *end || start_at < 0; break;
        case 'b': s.heartbeat_ms = (unsigned)strtoul(optarg, &end, 10), bad = *end || !s.heartbeat_ms; break;
        case 'S': bad = sim_lie_score(&s.lies, optarg) != 0; break;
        case 'D': bad = sim_lie_event(s.lies.drop, &s.lies.ndrop, optarg) != 0; break;
        case 'F': bad = sim_lie_event(s.lies.flip, &s.lies.nflip, optarg) != 0; break;
        case 'O': bad = sim_lie_swap_odds(&s.lies, optarg) != 0; break;
        case 'W': s.lies.delay_ms = (unsigned)strtoul(optarg, &end, 10), bad = *end; break;
        case 'L': s.lies.slow_ms = (unsigned)strtoul(optarg, &end, 10), bad = *end; break;
        case 'G': s.lies.garbage = true; break;
        case 'R':
            bad = strcmp(optarg, "503") && strcmp(optarg, "refuse");
            s.lies.down = !strcmp(optarg, "503") ? SIM_DOWN_503 : SIM_DOWN_REFUSE;
            break;
        case 'E': s.lies.drop_stream_every = (unsigned)strtoul(optarg, &end, 10), bad = *end; break;
        case 'k': s.api_key = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (bad) {
            fprintf(stderr, "parlay-feedsim: bad value: %s\n", argv[optind - 1]);
            return 2;
        }
    }
    if (!scenario || optind != argc) {
        usage(stderr);
        return 2;
    }
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof s.host) {
        fprintf(stderr, "parlay-feedsim: --listen wants HOST:PORT\n");
        return 2;
    }
    snprintf(s.host, sizeof s.host, "%.*s", (int)(colon - listen), listen);
    s.port = (int)strtol(colon + 1, &end, 10);
    if (*end || s.port < 0 || s.port > 65535) {
        fprintf(stderr, "parlay-feedsim: bad port in --listen %s\n", listen);
        return 2;
    }
    char err[512];
    if (sim_scenario_load(scenario, &s.sc, err, sizeof err)) {
        fprintf(stderr, "parlay-feedsim: scenario: %s\n", err);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    s.loop = uv_default_loop();
    s.base_t = start_at;
    int rc = sim_start(&s);
    if (rc) {
        fprintf(stderr, "parlay-feedsim: cannot listen on %s: %s\n", listen, uv_strerror(rc));
        return 1;
    }
    if (port_file && write_port_file(port_file, &s)) {
        perror("parlay-feedsim: port file");
        return 1;
    }
    printf("feedsim scenario=\"%s\" items=%zu end=%.0fs listen=%s:%d admin=%s:%d speed=%g\n",
           s.sc.name, s.sc.n, s.sc.end, s.host, s.port, s.host, s.admin_port, s.speed);
    fflush(stdout);
    for (int i = 0; i < 2; i++) {
        uv_signal_init(s.loop, &sigs[i]);
        sigs[i].data = &s;
        uv_signal_start(&sigs[i], on_signal, i ? SIGINT : SIGTERM);
    }
    uv_run(s.loop, UV_RUN_DEFAULT);
    uv_loop_close(s.loop);
    sim_scenario_free(&s.sc);
    free(s.released_at);
    return 0;
}
