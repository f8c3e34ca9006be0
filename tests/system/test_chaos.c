/* System test with faults (issue 15): an accounts cluster (3 nodes) and a football cluster (5
 * nodes, CHAOS_SPORT_NODES; each in a network namespace of its own when the run is root) with
 * three feed simulators and the payment stand-in; a bounded money workload from many players
 * through random nodes: registrations (then sign-in, limits and an operator's KYC decision),
 * deposits confirmed at the stand-in (which sends the signed webhook), withdrawals (paid by the
 * stand-in), pre-match bets and cash-outs of them, the game ending and settling; meanwhile the
 * nemesis (chaos_nemesis.c) injects, in turn: kill -9 (sport leader, sport follower, accounts
 * leader, accounts follower, two sport nodes), SIGSTOP/SIGCONT (leaders), partitions (isolated
 * leader, majority/minority, a bridge node), a full disk for one sport node, a clean rolling
 * restart. Every request and its answer is recorded; so is every fault.
 *
 * The checker, over the history and the final state of every node:
 *  - bank: every ledger check read during the run (GET /admin/v1/ledger/check on a random live
 *    accounts node) answered ok, and at the end on every accounts node; no player negative;
 *  - set: every acknowledged bet present exactly once on every sport node; every bet present is
 *    one the history knows (acknowledged, or an indefinite answer resolved at the end by sending
 *    the same Idempotency-Key again); every confirmed deposit "succeeded" on every accounts node;
 *    every acknowledged registration present once (by email, with its id; the player count is
 *    exactly the acknowledged ones), a refused one absent; every acknowledged withdrawal final
 *    (paid, or failed and given back) alike on every node and in the player's statement exactly
 *    once, nothing else there; a bet is cashed out (for the amount acknowledged) iff one
 *    cash-out of it was acknowledged: no "not applied" answer for something applied;
 *  - every player's balance on every accounts node is exactly the confirmed deposits less the
 *    withdrawals paid plus the returns less the stakes of the bets posted, nothing held;
 *  - the bets audit (GET /admin/v1/bets/audit) passes on every sport node;
 *  - the nodes converge (the same bets, statuses and returns on every sport node);
 *  - every node stops cleanly at the end (the harness fails a sanitizer report).
 * A failing check prints the history window around the anomaly.
 *
 * CHAOS_SECONDS (default 60) bounds the workload, which goes on until every fault family was
 * injected once; CHAOS_SEED fixes the random choices; CHAOS_FAULTS=<part of a name> keeps only
 * the families whose names contain it. */
#include <sched.h>
#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/feedsim/simproc.h"
#include "tests/integration/harness.h"
#include "tests/integration/tokens.h"
#include "tests/system/chaos.h"

#define SCENARIO "tests/feedsim/scenarios/football-bets.json"
#define FIXTURE "FB-1001"
#define PW "a long and private phrase"
#define NPLAYERS 8     /* signed up before the run */
#define MAX_PLAYERS 24 /* and registered during it */
#define MAX_BETS_PER_PLAYER 900 /* the admin list answers at most 1000 */

struct h_cluster acc, sp;
static int nsp; /* sport nodes: CHAOS_SPORT_NODES, default 5 (3 without namespaces) */
bool sport_netns;
static struct simproc sims[3]; /* sport node i reads sims[i % 3] */
static struct h_paystandin pay;
static char pay_cfg[1536];
static double t0;

struct player {
    char id[64], token[2048], session[64];
};
static struct player players[MAX_PLAYERS];
static int nplayers; /* the players the workload uses (signed in, limits set, verified) */

static const char *const kind_name[OP_KINDS] = {"deposit", "bet", "ledger-read", "fault",
                                                "register", "withdraw", "cash-out"};

struct op hist[MAX_OPS];
int nhist;

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static json_int_t num(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

struct op *record(enum op_kind kind, int player, int node, const char *key)
{
    assert_true(nhist < MAX_OPS);
    struct op *o = &hist[nhist++];
    memset(o, 0, sizeof *o);
    o->t = h_now() - t0;
    o->kind = kind;
    o->player = player;
    o->node = node;
    if (key)
        snprintf(o->key, sizeof o->key, "%s", key);
    return o;
}

void print_op(const struct op *o)
{
    fprintf(stderr, "  %8.3f %-11s p%d n%d %-14s -> %ld %s %s%s\n", o->t, kind_name[o->kind],
            o->player, o->node + 1, o->key, o->status, o->id, o->note,
            o->confirmed ? " confirmed" : "");
}

void anomaly(int at, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at < 0)
        at = nhist - 1;
    fprintf(stderr, "chaos: ANOMALY: %s\nchaos: history around it:\n", msg);
    for (int k = at - 15 < 0 ? 0 : at - 15; k < nhist && k <= at + 15; k++)
        print_op(&hist[k]);
    fail_msg("%s", msg);
}

/* A player's write on @c, sent again with the same key on the next live node while it is
 * answered 503 or not at all, for up to 15 s (as the API asks of clients). */
static struct h_resp write_call(struct h_cluster *c, int *node, const char *path,
                                const char *body, const char *key, const char *token)
{
    struct h_resp r = h_http_bearer(c, *node, "POST", path, body, key, token);
    for (double end = h_now() + 15; (r.status == 503 || r.status == 0) && h_now() < end;) {
        h_resp_free(&r);
        heal_due(false); /* a fault lasts as long as planned, not as long as this waits */
        h_sleep_ms(300);
        for (int k = 0; k < c->n; k++) {
            *node = (*node + 1) % c->n;
            if (c->nodes[*node].pid > 0)
                break;
        }
        r = h_http_bearer(c, *node, "POST", path, body, key, token);
    }
    return r;
}

static int live_random(struct h_cluster *c)
{
    for (;;) {
        int i = rand() % c->n;
        if (c->nodes[i].pid > 0)
            return i;
    }
}

static void deposit(int p, int seq)
{
    char key[48], body[64];
    snprintf(key, sizeof key, "dep-%d-%d", p, seq);
    json_int_t amount = 1000 + rand() % 4000;
    snprintf(body, sizeof body, "{\"amount\": %lld}", (long long)amount);
    int node = live_random(&acc);
    struct op *o = record(OP_DEPOSIT, p, node, key);
    o->amount = amount;
    struct h_resp r =
        write_call(&acc, &node, "/v1/wallet/deposits", body, key, players[p].token);
    o->status = r.status;
    o->node = node;
    if (r.status == 201) {
        snprintf(o->id, sizeof o->id, "%s", str(r.json, "deposit_id"));
        char ppath[256];
        snprintf(ppath, sizeof ppath, "/pay/%s/confirm", str(r.json, "payment_id"));
        const char *colon = strrchr(pay.url, ':');
        struct h_resp c = h_http_raw(atoi(colon + 1), "POST", ppath, "card=4242424242424242",
                                     NULL, 10000);
        o->confirmed = c.status == 303;
        if (!o->confirmed)
            snprintf(o->note, sizeof o->note, "confirm answered %ld", c.status);
        h_resp_free(&c);
    } else {
        snprintf(o->note, sizeof o->note, "%s", str(r.json, "code"));
    }
    h_resp_free(&r);
}

static json_int_t price_home, price_draw, price_away, mversion;

/* A registered player signed in (@email set) gets limits and is verified by an operator (so
 * that it may withdraw); false when a step got no definite answer. */
static bool player_ready(int p)
{
    char key[64], path[160];
    snprintf(key, sizeof key, "lim-%d", p);
    int node = rand() % 3;
    struct h_resp r = write_call(&acc, &node, "/v1/wallet/limits",
                                 "{\"deposit_7d\":5000000,\"stake_7d\":5000000}", key,
                                 players[p].token);
    long st = r.status;
    h_resp_free(&r);
    snprintf(path, sizeof path, "/admin/v1/players/%s/kyc", players[p].id);
    snprintf(key, sizeof key, "kyc-%d", p);
    long kst = h_write_until_answer(&acc, node, "POST", path,
                                    "{\"status\":\"verified\",\"reason\":\"documents checked\"}",
                                    key, NULL);
    return st == 200 && kst == 200;
}

/* Registration of a new player during the run (and, acknowledged, its sign-in and set-up:
 * it then joins the workload). */
static void registration(int seq)
{
    char body[160], key[96];
    struct op *o = record(OP_REGISTER, nplayers, -1, NULL);
    char email[32];
    snprintf(email, sizeof email, "r%d@example.fr", seq);
    snprintf(o->body, sizeof o->body, "%s", email);
    snprintf(o->key, sizeof o->key, "reg-%s", email);
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, PW);
    int node = live_random(&acc);
    struct h_resp r = write_call(&acc, &node, "/v1/players", body, o->key, NULL);
    o->status = r.status;
    o->node = node;
    if (r.status != 201) {
        snprintf(o->note, sizeof o->note, "%s", str(r.json, "code"));
        h_resp_free(&r);
        return;
    }
    struct player *pl = &players[nplayers];
    snprintf(o->id, sizeof o->id, "%s", str(r.json, "id"));
    snprintf(pl->id, sizeof pl->id, "%s", o->id);
    h_resp_free(&r);
    snprintf(key, sizeof key, "in-%s", email);
    r = write_call(&acc, &node, "/v1/sessions", body, key, NULL);
    bool in = r.status == 201;
    if (in) {
        snprintf(pl->token, sizeof pl->token, "%s", str(r.json, "access_token"));
        snprintf(pl->session, sizeof pl->session, "%s", str(r.json, "session_id"));
    }
    h_resp_free(&r);
    if (in && player_ready(nplayers))
        nplayers++;
    else
        snprintf(o->note, sizeof o->note, "registered; its set-up got no answer");
}

static void withdrawal(int p, int seq)
{
    char key[48], body[64];
    snprintf(key, sizeof key, "wd-%d-%d", p, seq);
    json_int_t amount = 100 + rand() % 600;
    snprintf(body, sizeof body, "{\"amount\": %lld}", (long long)amount);
    int node = live_random(&acc);
    struct op *o = record(OP_WITHDRAW, p, node, key);
    o->amount = amount;
    struct h_resp r =
        write_call(&acc, &node, "/v1/wallet/withdrawals", body, key, players[p].token);
    o->status = r.status;
    o->node = node;
    if (r.status == 201)
        snprintf(o->id, sizeof o->id, "%s", str(r.json, "id"));
    else
        snprintf(o->note, sizeof o->note, "%s", str(r.json, "code"));
    h_resp_free(&r);
}

/* A cash-out of one of @p's acknowledged bets: the offer from a random node, accepted. */
static void cashout(int p)
{
    int cand[64], nc = 0;
    for (int k = nhist - 1; k >= 0 && nc < 64; k--)
        if (hist[k].kind == OP_BET && hist[k].player == p && hist[k].id[0])
            cand[nc++] = k;
    if (nc == 0)
        return;
    const char *bet_id = hist[cand[rand() % nc]].id;
    char path[128], key[64];
    snprintf(path, sizeof path, "/v1/bets/%s/cashout", bet_id);
    int node = live_random(&sp);
    struct h_resp r = h_http_bearer(&sp, node, "GET", path, NULL, NULL, players[p].token);
    if (r.status != 200) { /* no offer (already cashed out, node down ...): nothing to do */
        h_resp_free(&r);
        return;
    }
    json_t *b = json_pack("{s:O, s:O, s:O}", "offer", json_object_get(r.json, "offer"), "amount",
                          json_object_get(r.json, "amount"), "versions",
                          json_object_get(r.json, "versions"));
    json_int_t amount = num(r.json, "amount");
    h_resp_free(&r);
    snprintf(key, sizeof key, "co-%s-%d", bet_id, nhist);
    struct op *o = record(OP_CASHOUT, p, node, key);
    o->amount = amount;
    snprintf(o->id, sizeof o->id, "%s", bet_id);
    char *text = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    snprintf(o->body, sizeof o->body, "%s", text);
    free(text);
    r = write_call(&sp, &node, path, o->body, key, players[p].token);
    o->status = r.status;
    o->node = node;
    if (r.status != 200)
        snprintf(o->note, sizeof o->note, "%s", str(r.json, "code"));
    else if (strcmp(str(r.json, "result"), "cashed_out") || num(r.json, "return") != amount)
        anomaly(nhist - 1, "cash-out of %s acknowledged as %s, return %lld", bet_id,
                str(r.json, "result"), (long long)num(r.json, "return"));
    h_resp_free(&r);
}

/* The market's current prices from sport node @i, when it is open (pre-match or live). */
static void refresh_prices(int i)
{
    struct h_resp r = h_http(&sp, i, "GET", "/v1/fixtures/" FIXTURE "/markets", NULL, NULL, false);
    if (r.status == 200 && !strcmp(str(r.json, "status"), "open")) {
        json_t *x = json_object_get(json_object_get(r.json, "prices"), "1x2");
        price_home = num(x, "home");
        price_draw = num(x, "draw");
        price_away = num(x, "away");
        mversion = num(r.json, "version");
    }
    h_resp_free(&r);
}

static int live_bets; /* acknowledged bets placed in play */

static void bet(int p, int seq)
{
    char key[48], body[256];
    snprintf(key, sizeof key, "bet-%d-%d", p, seq);
    static const char *const outcomes[] = {"home", "draw", "away"};
    int w = rand() % 3;
    json_int_t price = w == 0 ? price_home : w == 1 ? price_draw : price_away;
    json_int_t stake = 100 + rand() % 400;
    snprintf(body, sizeof body,
             "{\"stake\": %lld, \"policy\": \"better\", \"legs\": [{\"fixture\": \"" FIXTURE
             "\", \"market\": \"1x2\", \"outcome\": \"%s\", \"price\": %lld, \"version\": "
             "%lld}]}",
             (long long)stake, outcomes[w], (long long)price, (long long)mversion);
    int node = live_random(&sp);
    struct op *o = record(OP_BET, p, node, key);
    o->amount = stake;
    snprintf(o->body, sizeof o->body, "%s", body);
    struct h_resp r = write_call(&sp, &node, "/v1/bets", body, key, players[p].token);
    o->status = r.status;
    o->node = node;
    if (r.status == 201) {
        snprintf(o->id, sizeof o->id, "%s", str(r.json, "id"));
        json_t *leg = json_array_get(json_object_get(r.json, "legs"), 0);
        if (!strcmp(str(leg, "phase"), "live")) {
            snprintf(o->note, sizeof o->note, "live");
            live_bets++;
        }
    } else {
        snprintf(o->note, sizeof o->note, "%s", str(r.json, "code"));
        if (r.status == 409) /* price changed, suspended ...: bet at the current prices next */
            refresh_prices(node);
    }
    h_resp_free(&r);
}

static void ledger_read(void)
{
    int node = live_random(&acc);
    struct op *o = record(OP_LEDGER_READ, -1, node, NULL);
    struct h_resp r = h_http(&acc, node, "GET", "/admin/v1/ledger/check", NULL, NULL, true);
    o->status = r.status;
    if (r.status == 200 && !json_is_true(json_object_get(r.json, "ok"))) {
        char *t = json_dumps(r.json, JSON_COMPACT);
        snprintf(o->note, sizeof o->note, "%.90s", t ? t : "");
        free(t);
        h_resp_free(&r);
        anomaly(nhist - 1, "bank: the ledger check on accounts node %d is not ok", node + 1);
    }
    snprintf(o->note, sizeof o->note, "%s", r.status == 200 ? "ok" : "unavailable");
    h_resp_free(&r);
}

/* ---- set-up ------------------------------------------------------------------------------- */

static void start_everything(void)
{
    assert_int_equal(h_paystandin_start(&pay, NULL, NULL), 0);
    h_paystandin_config(&pay, pay_cfg, sizeof pay_cfg);
    h_cluster_init(&acc, 3);
    /* With the sport nodes in namespaces of their own, what they call (the accounts nodes, the
     * feed simulators) is reached at ACC_HOST, an address of the run's namespace each of them
     * has a route to over its link to the test. */
    if (sport_netns)
        for (int i = 0; i < 3; i++) {
            /* Every address of the run's namespace (so ACC_HOST too); the payment stand-in
             * calls back 127.0.0.1 only. */
            json_t *x = json_loads(pay_cfg, 0, NULL);
            char u[64];
            snprintf(u, sizeof u, "http://127.0.0.1:%d", acc.nodes[i].http_port);
            json_object_set_new(json_object_get(x, "payments"), "webhook_url", json_string(u));
            snprintf(u, sizeof u, "0.0.0.0:%d", acc.nodes[i].http_port);
            json_object_set_new(x, "http_address", json_string(u));
            char *t = json_dumps(x, JSON_COMPACT);
            snprintf(acc.node_extra[i], sizeof acc.node_extra[i], "%s", t);
            free(t);
            json_decref(x);
        }
    acc.role = "accounts";
    acc.extra_config = pay_cfg;
    h_cluster_write_configs(&acc);
    h_start_cluster(&acc);
    for (int i = 0; i < 3; i++)
        tk_wait_keys(&acc, i, 1);
    for (int i = 0; i < 3; i++) {
        const char *args[] = {"--speed", "0", "--listen", sport_netns ? "0.0.0.0:0" : "127.0.0.1:0",
                              NULL};
        simproc_start(&sims[i], SCENARIO, args);
        snprintf(sims[i].url, sizeof sims[i].url, "http://%s:%d",
                 sport_netns ? ACC_HOST : "127.0.0.1", sims[i].port);
    }
    if (!sport_netns || !h_cluster_init_netns(&sp, nsp)) {
        sport_netns = false;
        h_cluster_init(&sp, nsp);
    } else {
        h_netns_route(&sp, ACC_HOST);
    }
    for (int i = 0; i < sp.n; i++) {
        const char *h = sport_netns ? ACC_HOST : "127.0.0.1";
        snprintf(sp.node_extra[i], sizeof sp.node_extra[i],
                 "{\"feed_url\": \"%s\", \"feed_adapter\": \"sse\", \"quote_hold_s\": 86400, "
                 "\"test_clock\": true, "
                 "\"accounts_jwks_url\": \"http://%s:%d/.well-known/jwks.json\", "
                 "\"accounts_jwks_min_interval_ms\": 0, "
                 "\"accounts_urls\": \"http://%s:%d,http://%s:%d,http://%s:%d\"}",
                 sims[i % 3].url, h, acc.nodes[i % 3].http_port, h,
                 acc.nodes[(i + 1) % 3].http_port, h, acc.nodes[(i + 2) % 3].http_port, h,
                 acc.nodes[i % 3].http_port);
    }
    disk_mount();
    h_cluster_write_configs(&sp);
    h_start_cluster(&sp);
    tk_register_sport_cluster(&acc, &sp, "reg-chaos");
    /* Live betting on: after kick-off (half-way through the run) bets are taken in play. */
    assert_int_equal(h_write_until_answer(&sp, 0, "POST", "/admin/v1/bets/limits",
                                          "{\"live\": true}", "lim-live", NULL),
                     200);

    for (int p = 0; p < NPLAYERS; p++) {
        char email[64];
        snprintf(email, sizeof email, "p%d@example.fr", p);
        tk_sign_up(&acc, p % 3, email, PW, players[p].id, players[p].token,
                   sizeof players[p].token, players[p].session);
        assert_true(player_ready(p));
        nplayers++;
    }
    /* The pre-match market open on every sport node, and its key set loaded everywhere. */
    for (int i = 0; i < sp.n; i++) {
        json_t *m = NULL;
        for (double end = h_now() + H_WAIT_MS / 1000.0;; h_sleep_ms(50)) {
            struct h_resp r = h_http(&sp, i, "GET", "/v1/fixtures/" FIXTURE "/markets", NULL,
                                     NULL, false);
            if (r.status == 200 && !strcmp(str(r.json, "status"), "open") &&
                !strcmp(str(r.json, "phase"), "pre") && num(r.json, "version") >= 1) {
                m = json_incref(r.json);
                h_resp_free(&r);
                break;
            }
            h_resp_free(&r);
            if (h_now() > end)
                fail_msg("sport node %d: the market never opened pre-match", i + 1);
        }
        json_t *x = json_object_get(json_object_get(m, "prices"), "1x2");
        price_home = num(x, "home");
        price_draw = num(x, "draw");
        price_away = num(x, "away");
        mversion = num(m, "version");
        json_decref(m);
        for (double end = h_now() + 30;; h_sleep_ms(50)) {
            struct h_resp r = h_http_bearer(&sp, i, "GET", "/v1/bets", NULL, NULL,
                                            players[0].token);
            long st = r.status;
            h_resp_free(&r);
            if (st == 200)
                break;
            if (h_now() > end)
                fail_msg("sport node %d: GET /v1/bets answered %ld", i + 1, st);
        }
    }
}

/* ---- the checker -------------------------------------------------------------------------- */

/* Resolve indefinite writes: the same request with the same key sent again (on a healthy
 * cluster) tells whether it was applied. */
static void resolve_indefinite(void)
{
    int n = nhist;
    for (int k = 0; k < n; k++) {
        struct op *o = &hist[k];
        if (o->kind == OP_LEDGER_READ || o->kind == OP_FAULT ||
            (o->status != 0 && o->status != 503))
            continue;
        int node = 0;
        char body[160], path[128];
        snprintf(body, sizeof body, "{\"amount\": %lld}", (long long)o->amount);
        struct h_cluster *c = &acc;
        const char *b = body, *idf = "id", *tok = o->player >= 0 ? players[o->player].token : NULL;
        long ok = 201;
        if (o->kind == OP_BET) {
            c = &sp, b = o->body;
            snprintf(path, sizeof path, "/v1/bets");
        } else if (o->kind == OP_DEPOSIT) {
            idf = "deposit_id";
            snprintf(path, sizeof path, "/v1/wallet/deposits");
        } else if (o->kind == OP_WITHDRAW) {
            snprintf(path, sizeof path, "/v1/wallet/withdrawals");
        } else if (o->kind == OP_CASHOUT) {
            c = &sp, b = o->body, ok = 200, idf = NULL;
            snprintf(path, sizeof path, "/v1/bets/%s/cashout", o->id);
        } else { /* OP_REGISTER */
            snprintf(body, sizeof body, "{\"email\":\"%.40s\",\"password\":\"%s\"}", o->body,
                     PW);
            snprintf(path, sizeof path, "/v1/players");
            tok = NULL;
        }
        struct h_resp r = write_call(c, &node, path, b, o->key, tok);
        if (r.status == ok && idf)
            snprintf(o->id, sizeof o->id, "%s", str(r.json, idf));
        o->indefinite = true;
        o->status = r.status == ok ? ok : o->status;
        snprintf(o->note, sizeof o->note, "indefinite, resolved %ld", r.status);
        h_resp_free(&r);
    }
}

/* Set, for registrations: every acknowledged one present exactly once on every accounts node
 * (by its email, with its id; the player count is the players acknowledged), every refused one
 * absent. */
static void check_registrations(void)
{
    int want = NPLAYERS;
    for (int k = 0; k < nhist; k++)
        want += hist[k].kind == OP_REGISTER && hist[k].status == 201;
    for (int i = 0; i < 3; i++) {
        json_int_t count = -1;
        for (double end = h_now() + 30; count != want && h_now() < end; h_sleep_ms(100)) {
            struct h_resp r = h_http(&acc, i, "GET", "/admin/v1/players", NULL, NULL, true);
            count = r.status == 200 ? num(r.json, "count") : -1;
            h_resp_free(&r);
        }
        if (count != want)
            anomaly(-1, "set: accounts node %d counts %lld players, the history %d", i + 1,
                    (long long)count, want);
        for (int k = 0; k < nhist; k++) {
            struct op *o = &hist[k];
            if (o->kind != OP_REGISTER || o->status == 0 || o->status == 503)
                continue;
            char path[160];
            snprintf(path, sizeof path, "/admin/v1/players?email=%s", o->body);
            struct h_resp r = h_http(&acc, i, "GET", path, NULL, NULL, true);
            json_t *items = json_object_get(r.json, "items");
            bool good = r.status == 200 &&
                        (o->status == 201 ? json_array_size(items) == 1 &&
                                                !strcmp(str(json_array_get(items, 0), "id"), o->id)
                                          : json_array_size(items) == 0);
            h_resp_free(&r);
            if (!good)
                anomaly(k, "set: registration of %s (answered %ld) wrong on accounts node %d",
                        o->body, o->status, i + 1);
        }
    }
}

/* Cash-outs: a bet is cashed out (for the amount acknowledged) iff one cash-out of it was
 * acknowledged; a refused one changed nothing. */
static void check_cashout(json_t *b)
{
    int acked = -1, n = 0;
    for (int k = 0; k < nhist; k++)
        if (hist[k].kind == OP_CASHOUT && hist[k].status == 200 &&
            !strcmp(hist[k].id, str(b, "id"))) {
            acked = k;
            n++;
        }
    bool out = !strcmp(str(b, "result"), "cashed_out");
    if (n > 1)
        anomaly(acked, "set: bet %s cashed out %d times", str(b, "id"), n);
    if (n == 1 && (!out || num(b, "return") != hist[acked].amount))
        anomaly(acked, "set: bet %s's acknowledged cash-out (%lld) not applied: %s, return %lld",
                str(b, "id"), (long long)hist[acked].amount, str(b, "result"),
                (long long)num(b, "return"));
    if (n == 0 && out)
        anomaly(-1, "set: bet %s cashed out, but no cash-out of it was acknowledged",
                str(b, "id"));
}

static int find_bet_op(const char *id)
{
    for (int k = 0; k < nhist; k++)
        if (hist[k].kind == OP_BET && !strcmp(hist[k].id, id))
            return k;
    return -1;
}

/* Every player's bets on sport node @i (admin list), or NULL when it did not answer. */
static json_t *all_bets(int i)
{
    json_t *all = json_array();
    for (int p = 0; p < nplayers; p++) {
        char path[160];
        snprintf(path, sizeof path, "/admin/v1/bets?player=%s&limit=1000", players[p].id);
        struct h_resp r = h_http(&sp, i, "GET", path, NULL, NULL, true);
        if (r.status != 200) {
            h_resp_free(&r);
            json_decref(all);
            return NULL;
        }
        json_array_extend(all, json_object_get(r.json, "items"));
        h_resp_free(&r);
    }
    return all;
}

/* Every bet on sport node @i, waiting until each is final (rejected, or settled and paid). */
static json_t *final_bets(int i)
{
    for (double end = h_now() + 120;; h_sleep_ms(200)) {
        json_t *all = all_bets(i);
        bool done = all != NULL, late = h_now() > end;
        size_t k;
        json_t *b;
        json_array_foreach(all, k, b)
        {
            const char *s = str(b, "status");
            if (strcmp(s, "rejected") && !(!strcmp(s, "settled") && json_object_get(b, "paid"))) {
                done = false;
                if (late) {
                    char *t = json_dumps(b, JSON_COMPACT);
                    fprintf(stderr, "chaos: not final on sport node %d: %s\n", i + 1, t);
                    free(t);
                }
            }
        }
        if (done)
            return all;
        json_decref(all);
        if (late)
            anomaly(-1, "sport node %d: bets not all final after the game", i + 1);
    }
}

static void check_bets(json_t *ref)
{
    /* Set: every bet acknowledged is there exactly once; every bet there is known. */
    for (int k = 0; k < nhist; k++) {
        if (hist[k].kind != OP_BET || !hist[k].id[0])
            continue;
        int found = 0;
        size_t j;
        json_t *b;
        json_array_foreach(ref, j, b) found += !strcmp(str(b, "id"), hist[k].id);
        if (found != 1)
            anomaly(k, "set: acknowledged bet %s found %d times", hist[k].id, found);
    }
    size_t j;
    json_t *b;
    json_array_foreach(ref, j, b)
    {
        /* Acknowledged, or an indefinite answer resolved by its key: nothing else. */
        if (find_bet_op(str(b, "id")) < 0)
            anomaly(-1, "set: bet %s present but never acknowledged", str(b, "id"));
        check_cashout(b);
    }
}

static void check_converged(json_t *ref, json_t *other, int i)
{
    if (json_array_size(ref) != json_array_size(other))
        anomaly(-1, "convergence: sport node %d has %zu bets, node 1 %zu", i + 1,
                json_array_size(other), json_array_size(ref));
    size_t j;
    json_t *b;
    json_array_foreach(ref, j, b)
    {
        bool same = false;
        size_t q;
        json_t *o;
        json_array_foreach(other, q, o) if (!strcmp(str(o, "id"), str(b, "id"))) same =
            !strcmp(str(o, "status"), str(b, "status")) &&
            !strcmp(str(o, "paid"), str(b, "paid")) && num(o, "return") == num(b, "return") &&
            num(o, "stake") == num(b, "stake");
        if (!same)
            anomaly(-1, "convergence: bet %s differs on sport node %d", str(b, "id"), i + 1);
    }
}

/* Withdrawals of player @p: every acknowledged one final (paid, or failed and given back) and
 * the same on every accounts node; each in the statement exactly once, nothing else there.
 * Returns what was paid out. */
static json_int_t check_withdrawals(int p)
{
    json_int_t paid = 0;
    for (int k = 0; k < nhist; k++) {
        struct op *o = &hist[k];
        if (o->kind != OP_WITHDRAW || o->player != p || o->status != 201)
            continue;
        char path[160], first[16] = "";
        snprintf(path, sizeof path, "/v1/wallet/withdrawals/%s", o->id);
        for (int i = 0; i < 3; i++) {
            char st[16] = "";
            for (double end = h_now() + 60; h_now() < end; h_sleep_ms(100)) {
                struct h_resp r = h_http_bearer(&acc, i, "GET", path, NULL, NULL, players[p].token);
                snprintf(st, sizeof st, "%s", str(r.json, "status"));
                h_resp_free(&r);
                if (!strcmp(st, "paid") || !strcmp(st, "failed"))
                    break;
            }
            if (i == 0)
                snprintf(first, sizeof first, "%s", st);
            if (strcmp(st, first) || (strcmp(st, "paid") && strcmp(st, "failed")))
                anomaly(k, "set: withdrawal %s is '%s' on accounts node %d, '%s' on node 1", o->id,
                        st, i + 1, first);
        }
        paid += !strcmp(first, "paid") ? o->amount : 0;
    }
    for (int i = 0; i < 3; i++) {
        char path[96] = "/v1/wallet/transactions?limit=500";
        for (;;) {
            struct h_resp r = h_http_bearer(&acc, i, "GET", path, NULL, NULL, players[p].token);
            if (r.status != 200)
                anomaly(-1, "statement of player %d on accounts node %d: %ld", p, i + 1, r.status);
            size_t j;
            json_t *t;
            json_array_foreach(json_object_get(r.json, "items"), j, t)
            {
                if (strcmp(str(t, "kind"), "withdrawal"))
                    continue;
                int found = 0, at = -1;
                for (int k = 0; k < nhist; k++)
                    if (hist[k].kind == OP_WITHDRAW && hist[k].status == 201 &&
                        !strcmp(hist[k].id, str(t, "ref")))
                        found++, at = k;
                if (found != 1)
                    anomaly(at, "set: withdrawal %s in player %d's statement on accounts node "
                                "%d, acknowledged %d times", str(t, "ref"), p, i + 1, found);
                hist[at].confirmed = true; /* seen in a statement */
            }
            json_int_t next = num(r.json, "next");
            h_resp_free(&r);
            if (!next)
                break;
            snprintf(path, sizeof path, "/v1/wallet/transactions?limit=500&before=%lld",
                     (long long)next);
        }
        for (int k = 0; k < nhist; k++) {
            if (hist[k].kind == OP_WITHDRAW && hist[k].player == p && hist[k].status == 201 &&
                !hist[k].confirmed)
                anomaly(k, "set: acknowledged withdrawal %s not in the statement on accounts "
                           "node %d", hist[k].id, i + 1);
            if (hist[k].kind == OP_WITHDRAW)
                hist[k].confirmed = false;
        }
    }
    return paid;
}

static void check_wallets(json_t *bets)
{
    for (int p = 0; p < nplayers; p++) {
        json_int_t want = -check_withdrawals(p);
        for (int k = 0; k < nhist; k++)
            if (hist[k].kind == OP_DEPOSIT && hist[k].player == p && hist[k].confirmed)
                want += hist[k].amount;
        size_t j;
        json_t *b;
        json_array_foreach(bets, j, b) if (!strcmp(str(b, "player_id"), players[p].id) &&
                                           !strcmp(str(b, "paid"), "post")) want +=
            num(b, "return") - num(b, "stake");
        for (int i = 0; i < 3; i++) {
            /* Every confirmed deposit succeeded on this node. */
            for (int k = 0; k < nhist; k++) {
                if (hist[k].kind != OP_DEPOSIT || hist[k].player != p || !hist[k].confirmed)
                    continue;
                char path[160];
                snprintf(path, sizeof path, "/v1/wallet/deposits/%s", hist[k].id);
                const char *st = "";
                struct h_resp r;
                for (double end = h_now() + 60;; h_sleep_ms(100)) {
                    r = h_http_bearer(&acc, i, "GET", path, NULL, NULL, players[p].token);
                    st = str(r.json, "status");
                    if (!strcmp(st, "succeeded") || h_now() > end)
                        break;
                    h_resp_free(&r);
                }
                bool ok = !strcmp(st, "succeeded");
                h_resp_free(&r);
                if (!ok)
                    anomaly(k, "set: confirmed deposit %s not succeeded on accounts node %d",
                            hist[k].id, i + 1);
            }
            json_int_t bal = 0, held = -1;
            for (double end = h_now() + 30;; h_sleep_ms(100)) {
                struct h_resp r =
                    h_http_bearer(&acc, i, "GET", "/v1/wallet", NULL, NULL, players[p].token);
                bal = num(r.json, "balance");
                held = num(r.json, "held");
                h_resp_free(&r);
                if ((bal == want && held == 0) || h_now() > end)
                    break;
            }
            if (bal < 0)
                anomaly(-1, "bank: player %d negative (%lld) on accounts node %d", p,
                        (long long)bal, i + 1);
            if (bal != want || held != 0)
                anomaly(-1,
                        "bank: player %d on accounts node %d: balance %lld held %lld, the "
                        "history says %lld held 0",
                        p, i + 1, (long long)bal, (long long)held, (long long)want);
        }
    }
}

static void check_audit(int i)
{
    struct h_resp r;
    for (double end = h_now() + H_WAIT_MS / 1000.0;; h_sleep_ms(100)) {
        r = h_http(&sp, i, "GET", "/admin/v1/bets/audit", NULL, NULL, true);
        if ((r.status == 200 && num(r.json, "in_progress") == 0) || h_now() > end)
            break;
        h_resp_free(&r);
    }
    bool ok = r.status == 200 && num(r.json, "difference_count") == 0 &&
              json_is_true(json_object_get(r.json, "ok"));
    char *t = r.json ? json_dumps(r.json, JSON_COMPACT) : NULL;
    h_resp_free(&r);
    if (!ok) {
        fprintf(stderr, "chaos: audit: %s\n", t ? t : "");
        free(t);
        anomaly(-1, "audit: sport node %d", i + 1);
    }
    free(t);
}

static void chaos_run(void **state)
{
    (void)state;
    const char *s = getenv("CHAOS_SECONDS");
    double seconds = s ? atof(s) : 60;
    const char *seed = getenv("CHAOS_SEED");
    unsigned sd = seed ? (unsigned)atoi(seed) : (unsigned)time(NULL);
    srand(sd);
    fprintf(stderr, "chaos: %.0f s of workload, seed %u\n", seconds, sd);
    int fault_kind = 0, families[F_COUNT], nfamilies = 0;
    /* CHAOS_FAULTS: the fault families whose names contain it (default: all, in turn). */
    const char *fl = getenv("CHAOS_FAULTS");
    for (int k = 0; k < F_COUNT; k++) {
        if (fl && !strstr(fault_name[k], fl))
            continue;
        /* A family this kernel cannot inject is left out of the rotation, said once. */
        if ((k == F_NETEM && !tc_netem) || (k == F_CUT_SPORT_LEADER && !tc_cut)) {
            fprintf(stderr, "chaos: %s left out: %s\n", fault_name[k],
                    own_netns ? "the kernel has no such qdisc" : "no network namespace of our own");
            continue;
        }
        if (k == F_DISK_FULL && !own_netns) {
            fprintf(stderr, "chaos: %s left out: no mount namespace of our own\n", fault_name[k]);
            continue;
        }
        if ((k == F_PART_ISOLATE_LEADER || k == F_PART_MAJORITY || k == F_PART_BRIDGE) &&
            !sport_netns) {
            fprintf(stderr, "chaos: %s left out: no network namespaces for the nodes\n",
                    fault_name[k]);
            continue;
        }
        families[nfamilies++] = k;
    }
    assert_true(nfamilies > 0);
    start_everything();
    t0 = h_now();
    int seq[MAX_PLAYERS] = {0}, regs = 0;
    bool kicked_off = false;
    double next_fault = h_now() + 5, next_read = h_now();
    /* Every player is funded first, then a mix. */
    for (int p = 0; p < NPLAYERS; p++)
        deposit(p, seq[p]++);
    /* At least every family once, whatever CHAOS_SECONDS says. */
    while (h_now() - t0 < seconds || fault_kind < nfamilies || nheals > 0) {
        /* After a heal, a few seconds for the cluster to recover before the next fault. */
        if (heal_due(false) > 0 && next_fault < h_now() + 3)
            next_fault = h_now() + 3;
        if (h_now() >= next_fault && nheals == 0) {
            fault(families[fault_kind % nfamilies]);
            fault_kind++;
            next_fault = h_now() + 4 + rand() % 5;
        }
        if (!kicked_off && h_now() - t0 >= seconds / 2) {
            /* Kick-off: every simulator's clock moves on 100 s (the game starts at 60 s). */
            for (int i = 0; i < 3; i++)
                json_decref(simproc_admin(&sims[i], "/admin/v1/advance", "{\"seconds\": 100}"));
            struct op *o = record(OP_FAULT, -1, -1, "kick-off");
            snprintf(o->note, sizeof o->note, "the game kicks off: bets from now on are live");
            kicked_off = true;
        }
        if (h_now() >= next_read) {
            ledger_read();
            next_read = h_now() + 2;
        }
        int p = rand() % nplayers, dice = rand() % 100;
        if (seq[p] >= MAX_BETS_PER_PLAYER) /* the workload is bounded */
            h_sleep_ms(50);
        else if (dice < 3 && nplayers < MAX_PLAYERS)
            registration(regs++);
        else if (dice < 20)
            deposit(p, seq[p]++);
        else if (dice < 28)
            withdrawal(p, seq[p]++);
        else if (dice < 36)
            cashout(p);
        else
            bet(p, seq[p]++);
    }
    heal_due(true);
    for (int i = 0; i < 3; i++)
        assert_true(h_wait_ready(&acc, i, H_WAIT_MS));
    for (int i = 0; i < sp.n; i++)
        assert_true(h_wait_ready(&sp, i, H_WAIT_MS));
    resolve_indefinite();
    /* The game ends and settles. */
    for (int i = 0; i < 3; i++) {
        json_t *a = simproc_admin(&sims[i], "/admin/v1/advance", "{\"seconds\": 100000}");
        assert_non_null(a);
        json_decref(a);
    }
    json_t *ref = final_bets(0);
    check_bets(ref);
    for (int i = 1; i < sp.n; i++) {
        json_t *other = final_bets(i);
        check_converged(ref, other, i);
        json_decref(other);
    }
    check_wallets(ref);
    check_registrations();
    for (int i = 0; i < sp.n; i++)
        check_audit(i);
    for (int i = 0; i < 3; i++) {
        struct h_resp r = h_http(&acc, i, "GET", "/admin/v1/ledger/check", NULL, NULL, true);
        bool ok = r.status == 200 && json_is_true(json_object_get(r.json, "ok"));
        h_resp_free(&r);
        if (!ok)
            anomaly(-1, "bank: final ledger check on accounts node %d", i + 1);
    }
    /* What the nemesis did, and when. */
    for (int k = 0; k < nhist; k++)
        if (hist[k].kind == OP_FAULT)
            print_op(&hist[k]);
    /* Figures. */
    int n[OP_KINDS] = {0}, acked[OP_KINDS] = {0}, indef[OP_KINDS] = {0}, settled = 0;
    for (int k = 0; k < nhist; k++) {
        n[hist[k].kind]++;
        acked[hist[k].kind] += hist[k].status == 201 || hist[k].status == 200;
        indef[hist[k].kind] += hist[k].indefinite;
    }
    settled = (int)json_array_size(ref);
    int cashed = 0;
    size_t j;
    json_t *b;
    json_array_foreach(ref, j, b) cashed += !strcmp(str(b, "result"), "cashed_out");
    fprintf(stderr, "chaos: %.0f s, seed %u, %d sport nodes: operations:", seconds, sd, sp.n);
    for (int k = 0; k < OP_KINDS; k++)
        if (k != OP_FAULT)
            fprintf(stderr, " %s %d (%d acknowledged, %d indefinite then resolved),",
                    kind_name[k], n[k], acked[k], indef[k]);
    fprintf(stderr, " %d players; %d bets on the fixture at the end (%d placed live), %d cashed "
                    "out, the rest settled; faults:", nplayers, settled, live_bets, cashed);
    for (int k = 0; k < F_COUNT; k++)
        fprintf(stderr, " %s %d", fault_name[k], faults_by_kind[k]);
    fprintf(stderr, "; the full disk stopped the node %d times; anomalies 0\n", disk_stops);
    json_decref(ref);
    for (int i = 0; i < 3; i++)
        simproc_stop(&sims[i]);
    if (disk_dir[0]) { /* the tmpfs goes before the cluster's directory */
        h_node_stop(&sp, DISK_NODE);
        umount2(disk_dir, MNT_DETACH);
    }
    h_cluster_destroy(&sp);
    h_cluster_destroy(&acc);
    h_paystandin_stop(&pay);
}

int main(void)
{
    /* As root, the run gets network and PID namespaces of its own: tc on its loopback touches
     * nothing else on the machine, and when it ends (even by an abort) the kernel kills every
     * process it started. */
    if (getuid() == 0 && unshare(CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS) == 0) {
        pid_t child = fork();
        if (child < 0)
            return 1;
        if (child > 0) {
            int st;
            while (waitpid(child, &st, 0) < 0)
                ;
            /* _exit: this parent sees the child's /proc, where LeakSanitizer cannot work. */
            _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        }
        /* Our own /proc (the sanitizers read it) and mounts (the tmpfs of a full disk). */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("proc", "/proc", "proc", 0, NULL) != 0)
            return 1;
        own_netns = system("ip link set lo up") == 0;
        /* `ip netns add` keeps its names under /run/netns: ours, so that runs do not meet. */
        (void)!system("mkdir -p /run/netns");
        sport_netns = own_netns && mount("tmpfs", "/run/netns", "tmpfs", 0, "size=1m") == 0 &&
                      system("ip addr add " ACC_HOST "/32 dev lo") == 0;
        /* tc needs sch_netem and sch_prio with the u32 classifier; some kernels lack them. */
        tc_netem = own_netns && system("tc qdisc add dev lo root netem delay 1ms 2>/dev/null && "
                                       "tc qdisc del dev lo root") == 0;
        tc_cut = own_netns &&
                 system("tc qdisc add dev lo root handle 1: prio 2>/dev/null && tc filter add dev "
                        "lo parent 1: protocol ip prio 1 u32 match ip dport 9 0xffff action drop "
                        "2>/dev/null && tc qdisc del dev lo root") == 0;
        if (!tc_cut)
            (void)!system("tc qdisc del dev lo root 2>/dev/null");
    }
    const char *ns = getenv("CHAOS_SPORT_NODES");
    nsp = ns ? atoi(ns) : sport_netns ? 5 : 3;
    if (nsp < 3 || nsp > H_MAX_NODES)
        nsp = 3;
    fprintf(stderr, "chaos: %s; %d sport nodes%s\n",
            own_netns ? "own network and PID namespaces" : "shared network (no tc faults)", nsp,
            sport_netns ? ", each in a network namespace of its own" : " (no partitions)");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chaos_run),
    };
    return cmocka_run_group_tests_name("chaos", tests, NULL, NULL);
}
