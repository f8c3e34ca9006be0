/* Bets, measured (README "Benchmark"; issue 12 "Benchmark"): pre-match bets per second with
 * p50/p99 at 1, 16 and 64 clients on a three-node football cluster and a three-node accounts
 * cluster, beside the raw committed-write rate (fixtures created on the same football cluster
 * by the same clients) in the same run; then the settlement of every bet placed on the fixture.
 *
 *   build/bench/bets_bench [SECONDS [EXTRA]]   (each run's length, default 5; EXTRA: seconds
 *                                             more of bets at 64 clients before settlement,
 *                                             default 0; `make bench-bets`)
 *
 * Release-built parlayd (build/parlayd), three parlay-feedsim at speed 0 (scenario
 * football-bets.json: FB-1001 pre-match until the simulators are advanced), the payment
 * stand-in. Every client is its own player (limits set, 400.00 deposited) and places singles
 * of 0.10 on FB-1001 home at the agreed price (policy better) on the sport leader, each with its
 * own Idempotency-Key, back to back for SECONDS; each HTTP call is a fresh connection (curl),
 * as the raw-write clients' are.
 *   - placed: POST /v1/bets answered 201 (committed pending_hold); rate and p50/p99 latency;
 *   - accepted: the bets whose hold the leader placed on the accounts cluster and committed
 *     (the players' held amounts / 0.10), over the time from the run's start until the bet
 *     placed last is accepted (the saga takes holds in placement order; the audit on the
 *     leader then confirms that nothing is in progress);
 *   - settlement: the simulators play the game out; the time from that until the bets are
 *     settled (one command applies the result to every bet of the fixture) and until every
 *     one is paid (its hold posted on the accounts cluster, the audit with nothing in progress).
 * At the end the ledger check on every accounts node and the audit on every sport node must
 * pass. Nothing here is a test: no timing is asserted.
 *
 *   build/bench/bets_bench settle BETS   (`make bench-settle`: BETS=100000)
 *
 * Settlement of BETS bets on one fixture while other games are live (issue 12: "under 10 s,
 * while the quote latency p99 of the other live games stays under 100 ms"). The simulators
 * play a scenario written by quote_scenario.py settle: FB-1001 as above, and 20 games (QL-*)
 * that kick off 2 s after FB-1001's result, each with a live event every 3 s. The 64 clients
 * place singles as above (the same API, commands and checks) until BETS are placed; once every
 * hold is placed and committed, quote_latency (build/bench/quote_latency, or $QUOTE_LATENCY)
 * reads the simulators' and a sport follower's streams, and the three simulators' clocks jump
 * to FB-1001's result and run on at real speed. Measured from that jump: until the bet placed
 * last (settlement goes in placement order) is settled, and until every hold is posted on the
 * accounts cluster (the players hold nothing); the QL games' agreed-quote latency (live event
 * -> published quote on the follower) over that same window, then over 10 s after it, with
 * nothing being settled, for comparison. Then the ledger check and the audit on every node. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/feedsim/simproc.h"
#include "tests/integration/harness.h"
#include "tests/integration/tokens.h"

#define SCENARIO "tests/feedsim/scenarios/football-bets.json"
#define FIXTURE "FB-1001"
#define PW "a long and private phrase"
#define CLIENTS_MAX 64
#define SAMPLES_MAX 200000
#define STAKE 10

static struct h_cluster acc, sp;
static struct simproc sims[3];
static struct h_paystandin pay;
static char pay_cfg[1536];
static int seconds = 5, extra = 0;
static long settle_goal;              /* settle mode: bets to place (0: the rates mode) */
static atomic_long settle_placed;     /* settle mode: bets placed so far by every client */
static char settle_scenario[256];     /* settle mode: the scenario written for the run */

struct player {
    char id[64], token[2048], session[64];
};
static struct player players[CLIENTS_MAX];

struct client {
    pthread_t th;
    int k, leader;
    bool bets; /* false: raw writes (fixtures) */
    int run;
    double end;
    long ok, other;
    long last_status;
    double *lat;
    size_t nlat;
    char last_bet[32]; /* the highest bet id this client placed */
};

static json_int_t home_price, version;

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static json_int_t num(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void *client_main(void *arg)
{
    struct client *cl = arg;
    char body[512], key[64];
    for (unsigned n = 0; h_now() < cl->end; n++) {
        if (settle_goal && atomic_load(&settle_placed) >= settle_goal)
            break;
        snprintf(key, sizeof key, "r%d-c%d-%u", cl->run, cl->k, n);
        double t0 = h_now();
        struct h_resp r;
        if (cl->bets) {
            snprintf(body, sizeof body,
                     "{\"stake\": %d, \"policy\": \"better\", \"legs\": [{\"fixture\": \"" FIXTURE
                     "\", \"market\": \"1x2\", \"outcome\": \"home\", \"price\": %lld, "
                     "\"version\": %lld}]}",
                     STAKE, (long long)home_price, (long long)version);
            r = h_http_bearer(&sp, cl->leader, "POST", "/v1/bets", body, key,
                              players[cl->k].token);
        } else {
            snprintf(body, sizeof body,
                     "{\"id\":\"W-%s\",\"sport\":\"football\",\"competition\":\"Bench\","
                     "\"home\":\"H %s\",\"away\":\"A %s\",\"kickoff\":\"2026-12-05T20:00:00Z\"}",
                     key, key, key);
            r = h_http(&sp, cl->leader, "POST", "/admin/v1/fixtures", body, key, true);
        }
        double dt = (h_now() - t0) * 1000;
        if (r.status == 201) {
            cl->ok++;
            const char *id = cl->bets ? str(r.json, "id") : "";
            if (strlen(id) < sizeof cl->last_bet && strcmp(id, cl->last_bet) > 0)
                snprintf(cl->last_bet, sizeof cl->last_bet, "%s", id); /* b%012llu: sorts */
            if (cl->bets && settle_goal)
                atomic_fetch_add(&settle_placed, 1);
            if (cl->nlat < SAMPLES_MAX)
                cl->lat[cl->nlat++] = dt;
        } else {
            cl->other++;
            cl->last_status = r.status;
        }
        h_resp_free(&r);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct run_out {
    long ok, other;
    double secs, p50, p99;
    char last_bet[32]; /* the highest bet id placed, and by which client (player) */
    int last_k;
};

static struct run_out run(int clients, bool bets, int leader, int tag)
{
    static struct client cl[CLIENTS_MAX];
    double start = h_now();
    for (int k = 0; k < clients; k++) {
        cl[k] = (struct client){.k = k, .leader = leader, .bets = bets, .run = tag,
                                .end = start + seconds};
        cl[k].lat = malloc(sizeof(double) * SAMPLES_MAX);
        assert_non_null(cl[k].lat);
        assert_int_equal(pthread_create(&cl[k].th, NULL, client_main, &cl[k]), 0);
    }
    struct run_out o = {0};
    size_t n = 0;
    double *all = malloc(sizeof(double) * SAMPLES_MAX);
    long last = 0;
    for (int k = 0; k < clients; k++) {
        pthread_join(cl[k].th, NULL);
        o.ok += cl[k].ok;
        o.other += cl[k].other;
        if (cl[k].other)
            last = cl[k].last_status;
        if (strcmp(cl[k].last_bet, o.last_bet) > 0) {
            memcpy(o.last_bet, cl[k].last_bet, sizeof o.last_bet);
            o.last_k = k;
        }
        for (size_t i = 0; i < cl[k].nlat && n < SAMPLES_MAX; i++)
            all[n++] = cl[k].lat[i];
        free(cl[k].lat);
    }
    o.secs = h_now() - start;
    qsort(all, n, sizeof *all, cmp_double);
    o.p50 = n ? all[n / 2] : 0;
    o.p99 = n ? all[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] : 0;
    free(all);
    if (o.other)
        fprintf(stderr, "bets_bench: %ld answers other than 201 (last %ld)\n", o.other, last);
    return o;
}

/* The accounts nodes' last applied indexes, for a report. */
static void accounts_applied(char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (int i = 0; i < 3 && n < cap; i++) {
        json_t *st = h_status(&acc, i);
        n += (size_t)snprintf(out + n, cap - n, "%s%lld", i ? " " : "",
                              (long long)num(st, "last_applied"));
        json_decref(st);
    }
}

/* The audit on sport node @i: waits until nothing is in progress and (when @strict) no
 * difference; returns the seconds from @since until nothing was in progress. */
static double audit_settled(int i, double since, int wait_s, bool strict)
{
    double end = h_now() + wait_s, first_diff = 0;
    char auth[2100];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", sp.token);
    const char *hdrs[] = {auth, NULL};
    for (;;) {
        /* One audit at a time, however long it takes (with 100,000 bets it reads every hold
         * from the accounts cluster for minutes): the harness's 15 s would ask again while
         * the node still answers the first, and pile them up. */
        struct h_resp r = h_http_host(sp.nodes[i].http_host, sp.nodes[i].http_port, "GET",
                                      "/admin/v1/bets/audit", NULL, hdrs, 900000);
        bool idle = r.status == 200 && num(r.json, "in_progress") == 0;
        bool clean = idle && num(r.json, "difference_count") == 0;
        if (idle && !clean && !first_diff)
            first_diff = h_now();
        /* The audit lists the holds before it reads the bets: a bet accepted in between
         * shows "hold absent" once; only a difference that stays is one. */
        if (idle && !clean && (!strict || h_now() - first_diff > 30)) {
            char *t = json_dumps(r.json, JSON_COMPACT), applied[96];
            accounts_applied(applied, sizeof applied);
            fprintf(stderr, "bets_bench: audit on sport node %d (accounts applied %s): %.600s\n",
                    i + 1, applied, t ? t : "");
            free(t);
            if (strict)
                fail_msg("audit on sport node %d: differences for 30 s", i + 1);
        }
        h_resp_free(&r);
        if (clean || (idle && !strict))
            return h_now() - since;
        if (h_now() > end)
            fail_msg("audit on sport node %d: not settled after %d s", i + 1, wait_s);
        h_sleep_ms(100);
    }
}

/* Seconds from @since until the bet placed last in @b is no longer waiting for its hold
 * (accepted, or rejected), read on sport node @i every 10 ms. The leader's saga takes pending
 * holds in placement order, so that is when the run's bets were all answered; the audit
 * (which reads every hold from the accounts cluster: seconds once there are thousands) then
 * confirms that nothing is in progress, untimed. */
static double last_resolved(int i, const struct run_out *b, double since)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/bets/%s", b->last_bet);
    for (double end = h_now() + 1200;; h_sleep_ms(10)) {
        struct h_resp r = h_http_bearer(&sp, i, "GET", path, NULL, NULL, players[b->last_k].token);
        const char *st = str(r.json, "status");
        bool done = r.status == 200 && strcmp(st, "pending_hold") != 0 && strcmp(st, "pending");
        h_resp_free(&r);
        if (done)
            return h_now() - since;
        if (h_now() > end)
            fail_msg("bet %s (placed last) still waits for its hold after 1200 s", b->last_bet);
    }
}

/* The sum of the players' held amounts (linearizable reads). */
static long long held_total(int n)
{
    long long sum = 0;
    for (int k = 0; k < n; k++) {
        struct h_resp r = h_http_bearer(&acc, k % 3, "GET", "/v1/wallet?consistency=linearizable",
                                        NULL, NULL, players[k].token);
        assert_int_equal(r.status, 200);
        sum += num(r.json, "held");
        h_resp_free(&r);
    }
    return sum;
}

/* The two clusters, the simulators on @scenario at speed 0, the players, the agreed pre-match
 * price of FB-1001: returns the sport leader. */
static int setup(const char *scenario)
{
    assert_int_equal(h_paystandin_start(&pay, NULL, NULL), 0);
    h_paystandin_config(&pay, pay_cfg, sizeof pay_cfg);
    h_cluster_init(&acc, 3);
    acc.map_size_mb = 2048; /* the harness's 64 MiB fills up (507, read-only) within a minute */
    acc.role = "accounts";
    acc.extra_config = pay_cfg;
    h_cluster_write_configs(&acc);
    h_start_cluster(&acc);
    for (int i = 0; i < 3; i++)
        tk_wait_keys(&acc, i, 1);
    for (int i = 0; i < 3; i++) {
        const char *args[] = {"--speed", "0", NULL};
        simproc_start(&sims[i], scenario, args);
    }
    h_cluster_init(&sp, 3);
    sp.map_size_mb = 2048;
    for (int i = 0; i < 3; i++)
        snprintf(sp.node_extra[i], sizeof sp.node_extra[i],
                 "{\"feed_url\": \"%s\", \"feed_adapter\": \"sse\", \"quote_hold_s\": 3600, "
                 "\"accounts_jwks_url\": \"http://127.0.0.1:%d/.well-known/jwks.json\", "
                 "\"accounts_jwks_min_interval_ms\": 0, "
                 "\"accounts_urls\": \"http://127.0.0.1:%d,http://127.0.0.1:%d,http://127.0.0.1:%d\"}",
                 sims[i].url, acc.nodes[i].http_port, acc.nodes[i].http_port,
                 acc.nodes[(i + 1) % 3].http_port, acc.nodes[(i + 2) % 3].http_port);
    h_cluster_write_configs(&sp);
    h_start_cluster(&sp);

    /* The football cluster registered with the accounts cluster (its holds are answered). */
    tk_register_sport_cluster(&acc, &sp, "reg-1");
    struct h_resp r;

    /* The players: signed up, limits set, 400.00 deposited through the stand-in. */
    double t_setup = h_now();
    const char *colon = strrchr(pay.url, ':');
    for (int k = 0; k < CLIENTS_MAX; k++) {
        struct player *p = &players[k];
        char email[64], key[32];
        snprintf(email, sizeof email, "bench%d@example.fr", k);
        tk_sign_up(&acc, k % 3, email, PW, p->id, p->token, sizeof p->token, p->session);
        snprintf(key, sizeof key, "lim-%d", k);
        r = h_http_bearer(&acc, k % 3, "POST", "/v1/wallet/limits",
                          "{\"deposit_7d\":50000,\"stake_7d\":50000}", key, p->token);
        assert_int_equal(r.status, 200);
        h_resp_free(&r);
        snprintf(key, sizeof key, "dep-%d", k);
        r = h_http_bearer(&acc, k % 3, "POST", "/v1/wallet/deposits", "{\"amount\":40000}", key,
                          p->token);
        assert_int_equal(r.status, 201);
        char ppath[256];
        snprintf(ppath, sizeof ppath, "/pay/%s/confirm", str(r.json, "payment_id"));
        h_resp_free(&r);
        r = h_http_raw(atoi(colon + 1), "POST", ppath, "card=4242424242424242", NULL, 10000);
        assert_int_equal(r.status, 303);
        h_resp_free(&r);
    }
    for (int k = 0; k < CLIENTS_MAX; k++) {
        double end = h_now() + 30;
        for (;;) {
            r = h_http_bearer(&acc, k % 3, "GET", "/v1/wallet?consistency=linearizable", NULL,
                              NULL, players[k].token);
            json_int_t bal = num(r.json, "balance");
            h_resp_free(&r);
            if (bal == 40000)
                break;
            assert_true(h_now() < end);
            h_sleep_ms(50);
        }
    }
    fprintf(stderr, "bets_bench: %d players set up in %.1f s\n", CLIENTS_MAX,
            h_now() - t_setup);

    /* The agreed pre-match price, and every node serving the key set. */
    int L = h_wait_leader(&sp, H_WAIT_MS);
    assert_true(L >= 0);
    for (double end = h_now() + H_WAIT_MS / 1000.0;; h_sleep_ms(50)) {
        r = h_http(&sp, L, "GET", "/v1/fixtures/" FIXTURE "/markets", NULL, NULL, false);
        bool open = r.status == 200 && !strcmp(str(r.json, "status"), "open") &&
                    !strcmp(str(r.json, "phase"), "pre") && num(r.json, "version") >= 1;
        if (open) {
            version = num(r.json, "version");
            home_price = num(json_object_get(json_object_get(r.json, "prices"), "1x2"), "home");
        }
        h_resp_free(&r);
        if (open)
            break;
        if (h_now() > end)
            fail_msg("the market never opened pre-match");
    }
    for (double end = h_now() + 30;; h_sleep_ms(50)) {
        r = h_http_bearer(&sp, L, "GET", "/v1/bets", NULL, NULL, players[0].token);
        long st = r.status;
        h_resp_free(&r);
        if (st == 200)
            break;
        if (h_now() > end)
            fail_msg("the sport leader never served the player's bets (%ld)", st);
    }
    return L;
}

/* The ledger check on every accounts node, the audit on every sport node (strict), then
 * everything stopped. */
static void check_and_stop(void)
{
    for (int i = 0; i < 3; i++) {
        struct h_resp r = h_http(&acc, i, "GET", "/admin/v1/ledger/check", NULL, NULL, true);
        assert_int_equal(r.status, 200);
        assert_true(json_is_true(json_object_get(r.json, "ok")));
        h_resp_free(&r);
        audit_settled(i, h_now(), 600, true);
    }
    printf("ledger check OK on 3 accounts nodes; audit OK on 3 sport nodes\n");
    h_cluster_destroy(&sp);
    h_cluster_destroy(&acc);
    for (int i = 0; i < 3; i++)
        simproc_stop(&sims[i]);
    h_paystandin_stop(&pay);
}

/* The simulators' clocks to @to (simulated seconds), running at @speed from there. */
static void sims_advance(const char *body)
{
    for (int i = 0; i < 3; i++) {
        json_t *a = simproc_admin(&sims[i], "/admin/v1/advance", body);
        assert_non_null(a);
        json_decref(a);
    }
}

static void bench(void **state)
{
    (void)state;
    int L = setup(SCENARIO);
    struct h_resp r;

    double la[3] = {0};
    if (getloadavg(la, 3) != 3)
        la[0] = la[1] = la[2] = -1;
    printf("machine: %ld cores, load average %.2f %.2f %.2f at the start; release parlayd; "
           "each run %d s; fresh connection per request\n",
           sysconf(_SC_NPROCESSORS_ONLN), la[0], la[1], la[2], seconds);
    printf("%-8s %-26s %10s %9s %9s %11s\n", "clients", "what", "per second", "p50 ms",
           "p99 ms", "count");
    static const int levels[] = {1, 16, 64};
    long long accepted_before = 0;
    long placed_total = 0;
    for (size_t li = 0; li < sizeof levels / sizeof *levels; li++) {
        int c = levels[li];
        struct run_out w = run(c, false, L, (int)li);
        printf("%-8d %-26s %10.1f %9.1f %9.1f %11ld\n", c, "raw writes (fixtures)",
               w.ok / w.secs, w.p50, w.p99, w.ok);
        double t0 = h_now();
        struct run_out b = run(c, true, L, (int)li);
        placed_total += b.ok;
        printf("%-8d %-26s %10.1f %9.1f %9.1f %11ld\n", c, "bets placed (201)", b.ok / b.secs,
               b.p50, b.p99, b.ok);
        double drained = last_resolved(L, &b, t0);
        audit_settled(L, t0, 600, false); /* then nothing in progress: the count below */
        long long held = held_total(CLIENTS_MAX);
        long long accepted = held / STAKE - accepted_before;
        accepted_before = held / STAKE;
        printf("%-8d %-26s %10.1f %9s %9s %11lld  (%.1f s to the last hold)\n", c,
               "bets accepted (held)", accepted / drained, "", "", accepted, drained);
        fflush(stdout);
        if (accepted != b.ok)
            fprintf(stderr, "bets_bench: %ld placed, %lld accepted\n", b.ok, accepted);
    }

    /* More bets at 64 clients for @extra seconds, so that settlement has more to do. */
    if (extra > 0) {
        int keep = seconds;
        seconds = extra;
        double t0 = h_now();
        struct run_out b = run(64, true, L, 9);
        seconds = keep;
        placed_total += b.ok;
        double drained = audit_settled(L, t0, 1200, false);
        printf("%-8d %-26s %10.1f %9.1f %9.1f %11ld  (%d s; all held %.1f s after the start)\n",
               64, "more bets placed (201)", b.ok / b.secs, b.p50, b.p99, b.ok, extra, drained);
    }

    /* Settlement: the game played out; every bet of the fixture settled, then paid. */
    sims_advance("{\"seconds\": 100000}");
    double t0 = h_now();
    char path[128];
    snprintf(path, sizeof path, "/v1/bets?limit=1");
    double t_settled = 0;
    for (double end = h_now() + 600; !t_settled; h_sleep_ms(20)) {
        r = h_http_bearer(&sp, L, "GET", path, NULL, NULL, players[0].token);
        json_t *b = json_array_get(json_object_get(r.json, "items"), 0);
        if (!strcmp(str(b, "status"), "settled"))
            t_settled = h_now() - t0;
        h_resp_free(&r);
        if (h_now() > end)
            fail_msg("the result never settled the bets");
    }
    double t_paid = audit_settled(L, t0, 1200, false);
    printf("settlement of %ld bets on one fixture: result advanced -> settled %.2f s, -> every "
           "hold posted (paid) %.1f s\n",
           placed_total, t_settled, t_paid);
    if (held_total(CLIENTS_MAX) != 0)
        fail_msg("money still held after every bet was paid");
    check_and_stop();
}

/* quote_latency on the QL games against sport node @i for at most @secs, started now (its
 * output goes to ours); quotes_end() ends its window (SIGUSR1) and waits for its report. */
static pid_t quotes_start(int i, int secs, const char *label, const char *split_label)
{
    const char *bin = getenv("QUOTE_LATENCY") ? getenv("QUOTE_LATENCY") : "build/bench/quote_latency";
    char q[64], sec[16];
    snprintf(q, sizeof q, "http://127.0.0.1:%d", sp.nodes[i].http_port);
    snprintf(sec, sizeof sec, "%d", secs);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(bin, bin, "latency", "--sim", sims[0].url, "--sim", sims[1].url, "--sim",
              sims[2].url, "--quotes", q, "--seconds", sec, "--prefix", "QL-", "--label", label,
              split_label ? "--split-label" : (char *)NULL, split_label, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int quotes_end(pid_t pid, bool now)
{
    int st = 0;
    if (now)
        kill(pid, SIGUSR1);
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Until every player holds nothing (every hold posted or voided on the accounts cluster):
 * one player read at a time, so the polling does not load the accounts cluster. */
static void wait_nothing_held(double wait_s)
{
    double end = h_now() + wait_s;
    for (int k = 0; k < CLIENTS_MAX;) {
        struct h_resp r = h_http_bearer(&acc, k % 3, "GET", "/v1/wallet?consistency=linearizable",
                                        NULL, NULL, players[k].token);
        json_int_t held = r.status == 200 ? num(r.json, "held") : -1;
        h_resp_free(&r);
        if (held == 0) {
            k++;
            continue;
        }
        if (h_now() > end)
            fail_msg("player %d still holds %lld after %.0f s", k, (long long)held, wait_s);
        h_sleep_ms(50);
    }
}

static void settle(void **state)
{
    (void)state;
    json_t *sc = json_load_file(settle_scenario, 0, NULL);
    json_t *fx = json_array_get(json_object_get(sc, "fixtures"), 0);
    double result_at = json_number_value(json_object_get(fx, "start")) +
                       json_number_value(json_object_get(json_object_get(fx, "result"), "at"));
    assert_string_equal(str(fx, "id"), FIXTURE);
    json_decref(sc);
    int L = setup(settle_scenario), fo = (L + 1) % 3;
    printf("settle: %ld bets on " FIXTURE " by %d clients (players), one fresh connection per "
           "request, sport leader node %d, quotes read on node %d\n",
           settle_goal, CLIENTS_MAX, L + 1, fo + 1);
    seconds = 3600; /* the clients stop at the goal */
    double t0 = h_now();
    struct run_out b = run(CLIENTS_MAX, true, L, 0);
    printf("placed %ld bets (201) in %.1f s: %.1f/s, p50 %.1f ms, p99 %.1f ms\n", b.ok, b.secs,
           b.ok / b.secs, b.p50, b.p99);
    double held_s = last_resolved(L, &b, t0);
    audit_settled(L, t0, 1200, false);
    if (held_total(CLIENTS_MAX) != (long long)b.ok * STAKE)
        fail_msg("the players hold %lld, not %ld bets' stakes", held_total(CLIENTS_MAX), b.ok);
    printf("every hold placed and every bet accepted %.1f s after the start (%.1f bets/s)\n",
           held_s, b.ok / held_s);

    /* The result, with the QL games playing on; timed from the clocks' jump. */
    pid_t q = quotes_start(fo, 3600, "QL quotes until settled", "QL quotes while paying");
    char adv[96], path[96];
    snprintf(adv, sizeof adv, "{\"to\": %.3f, \"speed\": 1}", result_at);
    sims_advance(adv);
    double ts = h_now(), t_settled = 0;
    snprintf(path, sizeof path, "/v1/bets/%s", b.last_bet);
    for (double end = ts + 1200; !t_settled; h_sleep_ms(20)) {
        struct h_resp r = h_http_bearer(&sp, L, "GET", path, NULL, NULL, players[b.last_k].token);
        if (!strcmp(str(r.json, "status"), "settled"))
            t_settled = h_now() - ts;
        h_resp_free(&r);
        if (t_settled)
            kill(q, SIGUSR2); /* its window splits: the bets settled, their holds being paid */
        if (h_now() > end)
            fail_msg("bet %s (placed last) not settled after 1200 s", b.last_bet);
    }
    wait_nothing_held(1800);
    double t_paid = h_now() - ts;
    int qrc = quotes_end(q, true);
    printf("settlement of %ld bets on one fixture: from the result's release, the bet placed "
           "last settled %.2f s (%.0f bets/s), every hold posted on the accounts cluster %.2f s "
           "(%.0f/s); quote_latency exit %d\n",
           b.ok, t_settled, b.ok / t_settled, t_paid, b.ok / t_paid, qrc);
    q = quotes_start(fo, 10, "QL quotes after (nothing settling)", NULL);
    printf("quote_latency exit %d\n", quotes_end(q, false));
    audit_settled(L, h_now(), 600, false);
    check_and_stop();
}

int main(int argc, char **argv)
{
    /* The clusters run with the deployment's heartbeat (heartbeat_timeout_ms 20, node/config.c
     * and cluster-config/), not the integration tests' 100: at 100 the first write after a
     * quiet moment waits up to one heartbeat in raft 0.22.1's probe mode (README, configuration
     * reference), which the quote latency measured here would count. */
    setenv("PARLAY_IT_HEARTBEAT_MS", "20", 0);
    bool settling = argc > 1 && !strcmp(argv[1], "settle");
    if (settling) {
        settle_goal = argc == 3 ? atol(argv[2]) : 0;
    } else {
        if (argc > 1)
            seconds = atoi(argv[1]);
        if (argc > 2)
            extra = atoi(argv[2]);
    }
    if (seconds < 1 || seconds > 600 || extra < 0 || extra > 600 ||
        (settling && (settle_goal < 1 || settle_goal > 1000000))) {
        fprintf(stderr, "usage: bets_bench [SECONDS 1..600 [EXTRA_SECONDS 0..600]]\n"
                        "       bets_bench settle BETS (1..1000000)\n");
        return 2;
    }
    if (settling) { /* FB-1001, then 20 games with an event every 3 s each for 30 minutes */
        snprintf(settle_scenario, sizeof settle_scenario, "/tmp/bets-settle-%d.json",
                 (int)getpid());
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "python3 tests/bench/quote_scenario.py settle " SCENARIO " " FIXTURE
                 " 20 1800 3 > %s",
                 settle_scenario);
        if (system(cmd) != 0) {
            fprintf(stderr, "bets_bench: %s failed\n", cmd);
            return 1;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(bench)};
    const struct CMUnitTest settle_tests[] = {cmocka_unit_test(settle)};
    int rc = settling ? cmocka_run_group_tests(settle_tests, NULL, NULL)
                      : cmocka_run_group_tests(tests, NULL, NULL);
    simproc_stop_all();
    if (settling)
        unlink(settle_scenario);
    return rc;
}
