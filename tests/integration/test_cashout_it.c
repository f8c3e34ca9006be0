/* Cash-out over HTTP (issue 12): a three-node accounts cluster (the player's wallet) and a
 * three-node football cluster with one feed simulator per node (scenario
 * football-cashout.json: FB-3001 kicks off when the simulators are advanced, a home goal at
 * minute 12; FB-3002 much later). Ada deposits 100.00 and places, pre-match, a single on
 * FB-3001 (10.00 home), an accumulator FB-3001 away x FB-3002 home (5.00) and a single on
 * FB-3001 draw (10.00); all accepted, 25.00 held.
 * The offer (GET, and POST without a body) is the formula to the cent from the agreed prices
 * the node serves: stake x price taken x the outcome's de-margined probability x 0.95, floored.
 * Refusals change nothing: Bob asking for Ada's offer (404 no_bet) or presenting it (422
 * invalid_offer), an altered amount (422 invalid_offer), cash-out switched off with parlayctl
 * (409 cashout_off), an offer past its expiry (409 cashout_expired, with validity_ms 1000).
 * The single and the accumulator are cashed out (the same Idempotency-Key on another node
 * answers the same bet, replayed): settled cashed_out on every node, paid by the hold post,
 * Ada's balance and held amount exact to the cent on every accounts node.
 * Live: an offer made before kick-off is refused once the market reopened live at a newer
 * quote (409 price_changed, with the current versions and amount); a goal reported by one
 * simulator only (not agreed: the markets stay suspended, quote_hold_s 600) refuses the offer
 * and the accept (409 market_suspended); once the goal is agreed and the market reopens the
 * draw single is cashed out live. The game ends: nothing is paid twice; the ledger check on
 * every accounts node and the bets audit on every sport node pass.
 *
 * The batch saga's fallback (node/bets_hold.c): every sport node's first accounts URL is a stand-in
 * in this process that answers the batch route 404 without results (an accounts cluster of an
 * older version) and every other call 503 (an unreachable node); the first bets must still be
 * accepted, by single hold calls (the stand-in sees POST /internal/v1/holds after the batch, the
 * 503 moving them on to a real node). Were the 404 taken as a failed batch, the batch would go
 * to the next URL and the stand-in would never see a single call.
 *
 * Every wait is a condition polled with a deadline. */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/feedsim/simproc.h"
#include "tests/integration/harness.h"
#include "tests/integration/tokens.h"

#define SCENARIO "tests/feedsim/scenarios/football-cashout.json"
#define FX1 "FB-3001"
#define FX2 "FB-3002"
#define PW "a long and private phrase"

static struct h_cluster acc, sp;
static struct simproc sims[3];
static struct h_paystandin pay;
static char pay_cfg[1536];
static char token[2048], token2[2048];

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static json_int_t num(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static char *dump(json_t *o)
{
    static char buf[4096];
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    snprintf(buf, sizeof buf, "%s", t ? t : "(no body)");
    free(t);
    return buf;
}

static json_t *market(int i, const char *fx)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/fixtures/%s/markets", fx);
    struct h_resp r = h_http(&sp, i, "GET", path, NULL, NULL, false);
    json_t *m = r.status == 200 ? r.json : NULL;
    r.json = r.status == 200 ? NULL : r.json;
    h_resp_free(&r);
    return m;
}

/* Wait until @fx's market on node @i has @status (and @phase, if not NULL) at a version above
 * @after; returns it. */
static json_t *wait_market(int i, const char *fx, const char *status, const char *phase,
                           json_int_t after)
{
    for (double end = h_now() + H_WAIT_MS / 1000.0; h_now() < end; h_sleep_ms(50)) {
        json_t *m = market(i, fx);
        if (m && !strcmp(str(m, "status"), status) && (!phase || !strcmp(str(m, "phase"), phase)) &&
            num(m, "version") > after)
            return m;
        json_decref(m);
    }
    fail_msg("node %d: %s never %s %s above version %lld", i + 1, fx, status, phase ? phase : "",
             (long long)after);
    return NULL;
}

static void expect_code(struct h_resp *r, long status, const char *code)
{
    if (r->status != status || strcmp(str(r->json, "code"), code) != 0)
        fail_msg("want %ld %s, got %ld %s", status, code, r->status, dump(r->json));
    assert_string_equal(r->content_type, "application/problem+json");
    assert_true(strlen(str(r->json, "detail")) > 0);
}

static double wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec * 1000 + tv.tv_usec / 1000.0;
}

/* The expected offer, from the prices the market serves: stake x every leg's price taken x
 * its outcome's probability with the margin removed proportionally (1/price over the sum of
 * 1/price of that market's outcomes) x (1 - 5 %), floored to the cent. */
static json_int_t expected_amount(json_t *bet, json_t *markets[], int nm)
{
    long double v = (long double)num(bet, "stake");
    size_t i;
    json_t *leg;
    json_array_foreach(json_object_get(bet, "legs"), i, leg)
    {
        json_t *m = NULL;
        for (int k = 0; k < nm; k++)
            if (!strcmp(str(markets[k], "fixture"), str(leg, "fixture")))
                m = markets[k];
        assert_non_null(m);
        json_t *mk = json_object_get(json_object_get(m, "prices"), str(leg, "market"));
        long double sum = 0;
        const char *k;
        json_t *p;
        json_object_foreach(mk, k, p)
            sum += 1000.0L / (long double)json_integer_value(p);
        long double prob = (1000.0L / (long double)num(mk, str(leg, "outcome"))) / sum;
        v *= (long double)num(leg, "price") / 1000.0L * prob;
    }
    return (json_int_t)(v * 0.95L + 1e-9L);
}

static struct h_resp get_offer(int i, const char *id, const char *tok)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/bets/%s/cashout", id);
    return h_http_bearer(&sp, i, "GET", path, NULL, NULL, tok);
}

/* A 200 offer for @id on node @i (fails otherwise). */
static json_t *offer(int i, const char *id)
{
    struct h_resp r = get_offer(i, id, token);
    if (r.status != 200)
        fail_msg("offer for %s on node %d: %ld %s", id, i + 1, r.status, dump(r.json));
    json_t *o = r.json;
    r.json = NULL;
    h_resp_free(&r);
    return o;
}

/* Accept offer @o (its offer, amount and versions; @amount_delta added to the amount). */
static struct h_resp take(int i, const char *id, json_t *o, long amount_delta,
                            const char *key, const char *tok)
{
    json_t *b = json_pack("{s:O, s:I, s:O}", "offer", json_object_get(o, "offer"), "amount",
                          num(o, "amount") + amount_delta, "versions",
                          json_object_get(o, "versions"));
    char *text = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    char path[96];
    snprintf(path, sizeof path, "/v1/bets/%s/cashout", id);
    struct h_resp r = h_http_bearer(&sp, i, "POST", path, text, key, tok);
    free(text);
    return r;
}

/* Wait until bet @id's @field is @value on every sport node; returns node 1's record. */
static json_t *wait_bet_all(const char *id, const char *field, const char *value)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/bets/%s", id);
    json_t *out = NULL;
    for (int i = 0; i < 3; i++) {
        double end = h_now() + H_WAIT_MS / 1000.0;
        for (;;) {
            struct h_resp r = h_http_bearer(&sp, i, "GET", path, NULL, NULL, token);
            if (r.status == 200 && !strcmp(str(r.json, field), value)) {
                if (i == 0)
                    out = json_incref(r.json);
                h_resp_free(&r);
                break;
            }
            if (h_now() > end)
                fail_msg("bet %s on node %d: want %s %s, got %s", id, i + 1, field, value,
                         dump(r.json));
            h_resp_free(&r);
            h_sleep_ms(50);
        }
    }
    return out;
}

/* Ada's wallet on every accounts node reaches @balance with @held. */
static void wallet_is(json_int_t balance, json_int_t held)
{
    for (int i = 0; i < 3; i++) {
        double end = h_now() + H_WAIT_MS / 1000.0;
        for (;;) {
            struct h_resp r = h_http_bearer(&acc, i, "GET", "/v1/wallet", NULL, NULL, token);
            bool ok = r.status == 200 && num(r.json, "balance") == balance &&
                      num(r.json, "held") == held;
            if (!ok && h_now() > end)
                fail_msg("wallet on accounts node %d: want balance %lld held %lld, got %s",
                         i + 1, (long long)balance, (long long)held, dump(r.json));
            h_resp_free(&r);
            if (ok)
                break;
            h_sleep_ms(50);
        }
    }
}

static void ledger_check_all(void)
{
    for (int i = 0; i < 3; i++) {
        struct h_resp r = h_http(&acc, i, "GET", "/admin/v1/ledger/check", NULL, NULL, true);
        if (r.status != 200 || !json_is_true(json_object_get(r.json, "ok")))
            fail_msg("ledger check on accounts node %d: %ld %s", i + 1, r.status, dump(r.json));
        h_resp_free(&r);
    }
}

static void audit_all(void)
{
    for (int i = 0; i < 3; i++) {
        double end = h_now() + H_WAIT_MS / 1000.0;
        struct h_resp r;
        for (;;) {
            r = h_http(&sp, i, "GET", "/admin/v1/bets/audit", NULL, NULL, true);
            if ((r.status == 200 && num(r.json, "in_progress") == 0) || h_now() > end)
                break;
            h_resp_free(&r);
            h_sleep_ms(100);
        }
        if (r.status != 200 || num(r.json, "difference_count") != 0 ||
            num(r.json, "in_progress") != 0 || !json_is_true(json_object_get(r.json, "ok")) ||
            num(r.json, "bets") != 3 || num(r.json, "holds") != 3)
            fail_msg("audit on sport node %d: %ld %s", i + 1, r.status, dump(r.json));
        h_resp_free(&r);
    }
}

static void advance(int from, int to, int seconds)
{
    char body[48];
    snprintf(body, sizeof body, "{\"seconds\": %d}", seconds);
    for (int i = from; i < to; i++) {
        json_t *a = simproc_admin(&sims[i], "/admin/v1/advance", body);
        assert_non_null(a);
        json_decref(a);
    }
}

static void set_cashout(const char *body, const char *key)
{
    int L = h_wait_leader(&sp, H_WAIT_MS);
    struct h_resp r = h_http(&sp, L, "POST", "/admin/v1/bets/cashout", body, key, true);
    if (r.status != 200)
        fail_msg("POST /admin/v1/bets/cashout %s: %ld %s", body, r.status, dump(r.json));
    h_resp_free(&r);
}

/* The old accounts node: the batch route 404 without results, the rest 503; it keeps the
 * request lines it saw ("POST /internal/v1/holds", path without its query). */
static struct {
    int fd, port;
    pthread_t th;
    pthread_mutex_t mu;
    volatile int stop;
    char seen[8192];
} old;

static void old_serve(int c)
{
    char buf[16384];
    size_t len = 0;
    char *eoh = NULL;
    while (len < sizeof buf - 1) {
        struct pollfd p = {c, POLLIN, 0};
        if (poll(&p, 1, 5000) <= 0)
            return;
        ssize_t k = read(c, buf + len, sizeof buf - 1 - len);
        if (k <= 0)
            return;
        len += (size_t)k;
        buf[len] = 0;
        if ((eoh = strstr(buf, "\r\n\r\n")))
            break;
    }
    if (!eoh)
        return;
    char method[16] = "", path[256] = "";
    if (sscanf(buf, "%15s %255s", method, path) != 2)
        return;
    char *q = strchr(path, '?');
    if (q)
        *q = 0;
    pthread_mutex_lock(&old.mu);
    size_t used = strlen(old.seen);
    snprintf(old.seen + used, sizeof old.seen - used, "%s %s\n", method, path);
    pthread_mutex_unlock(&old.mu);
    bool batch = !strcmp(path, "/internal/v1/hold-batches");
    const char *body = batch ? "{\"title\":\"Not Found\",\"status\":404}"
                             : "{\"title\":\"Service Unavailable\",\"status\":503}";
    char resp[512];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 %s\r\nContent-Type: application/problem+json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     batch ? "404 Not Found" : "503 Service Unavailable", strlen(body), body);
    if (write(c, resp, (size_t)n) != n)
        return;
}

static void *old_run(void *arg)
{
    (void)arg;
    while (!old.stop) {
        struct pollfd p = {old.fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int c = accept(old.fd, NULL, NULL);
        if (c < 0)
            continue;
        old_serve(c);
        close(c);
    }
    return NULL;
}

static void old_start(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    old.fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(old.fd >= 0);
    assert_int_equal(bind(old.fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(old.fd, 64), 0);
    assert_int_equal(getsockname(old.fd, (struct sockaddr *)&a, &al), 0);
    old.port = ntohs(a.sin_port);
    pthread_mutex_init(&old.mu, NULL);
    assert_int_equal(pthread_create(&old.th, NULL, old_run, NULL), 0);
}

static void old_stop(void)
{
    old.stop = 1;
    pthread_join(old.th, NULL);
    close(old.fd);
}

static bool old_saw(const char *line)
{
    pthread_mutex_lock(&old.mu);
    bool yes = strstr(old.seen, line) != NULL;
    pthread_mutex_unlock(&old.mu);
    return yes;
}

static void start(void)
{
    old_start();
    tk_start_accounts_pay(&acc, &pay, pay_cfg, sizeof pay_cfg);
    for (int i = 0; i < 3; i++) {
        const char *args[] = {"--speed", "0", NULL};
        simproc_start(&sims[i], SCENARIO, args);
    }
    h_cluster_init(&sp, 3);
    for (int i = 0; i < 3; i++)
        snprintf(sp.node_extra[i], sizeof sp.node_extra[i],
                 "{\"feed_url\": \"%s\", \"feed_adapter\": \"sse\", \"quote_hold_s\": 600, "
                 "\"accounts_jwks_url\": \"http://127.0.0.1:%d/.well-known/jwks.json\", "
                 "\"accounts_jwks_min_interval_ms\": 0, "
                 "\"accounts_urls\": "
                 "\"http://127.0.0.1:%d,http://127.0.0.1:%d,http://127.0.0.1:%d\"}",
                 sims[i].url, acc.nodes[i].http_port, old.port, acc.nodes[i].http_port,
                 acc.nodes[(i + 1) % 3].http_port);
    h_cluster_write_configs(&sp);
    h_start_cluster(&sp);
}

/* Ada: limits, a 100.00 deposit through the payment stand-in. */
static void fund(void)
{
    tk_fund(&acc, 0, &pay, token, "{\"deposit_7d\":50000,\"stake_7d\":50000}", 10000, "a");
    wallet_is(10000, 0);
}

static void place(const char *legs, long stake, const char *key, char id[32])
{
    char body[1024];
    snprintf(body, sizeof body, "{\"stake\": %ld, \"policy\": \"exact\", \"legs\": %s}", stake,
             legs);
    struct h_resp r = h_http_bearer(&sp, 0, "POST", "/v1/bets", body, key, token);
    if (r.status != 201)
        fail_msg("POST /v1/bets %s: %ld %s", body, r.status, dump(r.json));
    snprintf(id, 32, "%s", str(r.json, "id"));
    h_resp_free(&r);
}

static void cashout_over_http(void **state)
{
    (void)state;
    start();
    char player[64], session[64], p2[64], s2[64];
    tk_sign_up(&acc, 0, "ada@example.fr", PW, player, token, sizeof token, session);
    tk_sign_up(&acc, 1, "bob@example.fr", PW, p2, token2, sizeof token2, s2);
    tk_register_sport_cluster(&acc, &sp, "reg-1");
    fund();

    json_t *m1 = NULL, *m2 = NULL;
    for (int i = 0; i < 3; i++) {
        json_decref(m1);
        json_decref(m2);
        m1 = wait_market(i, FX1, "open", "pre", 0);
        m2 = wait_market(i, FX2, "open", "pre", 0);
    }
    /* Every sport node has the accounts' key set (503 until loaded). */
    tk_wait_me_code(&sp, token, "");
    json_t *x1 = json_object_get(json_object_get(m1, "prices"), "1x2");
    json_t *x2 = json_object_get(json_object_get(m2, "prices"), "1x2");
    json_int_t v1 = num(m1, "version"), v2 = num(m2, "version");
    char legs[512], single[32], acca[32], draw[32];
    snprintf(legs, sizeof legs,
             "[{\"fixture\": \"" FX1 "\", \"market\": \"1x2\", \"outcome\": \"home\", "
             "\"price\": %lld, \"version\": %lld}]",
             (long long)num(x1, "home"), (long long)v1);
    place(legs, 1000, "bet-single", single);
    snprintf(legs, sizeof legs,
             "[{\"fixture\": \"" FX1 "\", \"market\": \"1x2\", \"outcome\": \"away\", "
             "\"price\": %lld, \"version\": %lld}, {\"fixture\": \"" FX2 "\", \"market\": "
             "\"1x2\", \"outcome\": \"home\", \"price\": %lld, \"version\": %lld}]",
             (long long)num(x1, "away"), (long long)v1, (long long)num(x2, "home"),
             (long long)v2);
    place(legs, 500, "bet-acca", acca);
    snprintf(legs, sizeof legs,
             "[{\"fixture\": \"" FX1 "\", \"market\": \"1x2\", \"outcome\": \"draw\", "
             "\"price\": %lld, \"version\": %lld}]",
             (long long)num(x1, "draw"), (long long)v1);
    place(legs, 1000, "bet-draw", draw);
    json_t *bs = wait_bet_all(single, "status", "accepted");
    json_t *ba = wait_bet_all(acca, "status", "accepted");
    json_decref(wait_bet_all(draw, "status", "accepted"));
    wallet_is(10000, 2500);
    /* Accepted through the fallback: the batch refused with 404, then single hold calls. */
    if (!old_saw("POST /internal/v1/hold-batches\n") || !old_saw("POST /internal/v1/holds\n"))
        fail_msg("the old accounts node saw no batch then single hold calls: %s", old.seen);

    /* The offer, to the cent, on any node (GET, or POST without a body). */
    json_t *ms[2] = {m1, m2};
    json_int_t want_s = expected_amount(bs, ms, 2), want_a = expected_amount(ba, ms, 2);
    double t0 = h_now();
    json_t *os = offer(1, single);
    double t_offer = h_now() - t0;
    assert_int_equal(num(os, "amount"), want_s);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(os, "versions"), 0)), v1);
    assert_true(num(os, "expires_ms") > wall_ms());
    {
        char path[96];
        snprintf(path, sizeof path, "/v1/bets/%s/cashout", acca);
        struct h_resp r = h_http_bearer(&sp, 2, "POST", path, NULL, NULL, token);
        if (r.status != 200 || num(r.json, "amount") != want_a)
            fail_msg("POST offer for the accumulator: want %lld, got %ld %s", (long long)want_a,
                     r.status, dump(r.json));
        h_resp_free(&r);
    }
    fprintf(stderr, "test_cashout_it: offers: single %lld (stake 1000 at %lld), accumulator %lld "
                    "(stake 500)\n",
            (long long)want_s, (long long)num(x1, "home"), (long long)want_a);

    /* Refusals change nothing. */
    struct h_resp r = get_offer(0, single, token2);
    expect_code(&r, 404, "no_bet");
    h_resp_free(&r);
    r = take(0, single, os, 0, "co-bob", token2);
    expect_code(&r, 422, "invalid_offer");
    h_resp_free(&r);
    r = take(0, single, os, 1, "co-more", token);
    expect_code(&r, 422, "invalid_offer");
    h_resp_free(&r);
    char out[4096];
    int rc = h_parlayctl(&sp, 0, "bets cashout-switch off", out, sizeof out);
    if (rc != 0 || !strstr(out, "false"))
        fail_msg("parlayctl bets cashout-switch off: exit %d: %s", rc, out);
    r = take(2, single, os, 0, "co-off", token);
    expect_code(&r, 409, "cashout_off");
    h_resp_free(&r);
    for (double end = h_now() + H_WAIT_MS / 1000.0;; h_sleep_ms(50)) {
        r = get_offer(1, single, token);
        if (r.status == 409 || h_now() > end)
            break;
        h_resp_free(&r);
    }
    expect_code(&r, 409, "cashout_off");
    h_resp_free(&r);
    rc = h_parlayctl(&sp, 0, "bets cashout-switch on", out, sizeof out);
    if (rc != 0 || !strstr(out, "true"))
        fail_msg("parlayctl bets cashout-switch on: exit %d: %s", rc, out);
    /* An offer valid for 1 s, presented after it. */
    set_cashout("{\"validity_ms\": 1000}", "co-valid-1");
    json_t *short_o = NULL;
    for (double end = h_now() + H_WAIT_MS / 1000.0;; h_sleep_ms(50)) {
        /* Node 1 may read before it applied the switch back on (409 cashout_off). */
        r = get_offer(0, single, token);
        json_decref(short_o);
        short_o = r.status == 200 ? json_incref(r.json) : NULL;
        h_resp_free(&r);
        if ((short_o && num(short_o, "validity_ms") == 1000) || h_now() > end)
            break;
    }
    if (!short_o)
        fail_msg("no offer on node 1 once cash-out is switched back on");
    assert_int_equal(num(short_o, "validity_ms"), 1000);
    while (wall_ms() <= (double)num(short_o, "expires_ms") + 20)
        h_sleep_ms(20);
    r = take(0, single, short_o, 0, "co-late", token);
    expect_code(&r, 409, "cashout_expired");
    h_resp_free(&r);
    json_decref(short_o);
    set_cashout("{\"validity_ms\": 60000}", "co-valid-60");
    json_decref(wait_bet_all(single, "status", "accepted"));
    wallet_is(10000, 2500);

    /* The single cashed out on node 3; the same key on node 1 answers the same (replayed). */
    json_decref(os);
    for (double end = h_now() + H_WAIT_MS / 1000.0;; h_sleep_ms(50)) {
        os = offer(2, single);
        if (num(os, "validity_ms") == 60000 || h_now() > end)
            break;
        json_decref(os);
    }
    t0 = h_now();
    r = take(2, single, os, 0, "co-single", token);
    fprintf(stderr, "test_cashout_it: GET offer answered in %.1f ms (node 2); the accept (node 3, "
                    "committed by the leader) in %.1f ms (sanitizer build, one sample)\n",
            t_offer * 1000, (h_now() - t0) * 1000);
    if (r.status != 200)
        fail_msg("cash-out of the single: %ld %s", r.status, dump(r.json));
    assert_string_equal(str(r.json, "status"), "settled");
    assert_string_equal(str(r.json, "result"), "cashed_out");
    assert_int_equal(num(r.json, "return"), want_s);
    h_resp_free(&r);
    r = take(0, single, os, 0, "co-single", token);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.replayed, "true");
    h_resp_free(&r);
    json_decref(os);
    json_t *oa = offer(0, acca);
    assert_int_equal(num(oa, "amount"), want_a);
    r = take(1, acca, oa, 0, "co-acca", token);
    if (r.status != 200)
        fail_msg("cash-out of the accumulator: %ld %s", r.status, dump(r.json));
    h_resp_free(&r);
    json_decref(oa);
    json_decref(wait_bet_all(single, "paid", "post"));
    json_decref(wait_bet_all(acca, "paid", "post"));
    r = get_offer(0, single, token);
    expect_code(&r, 409, "bet_not_open");
    h_resp_free(&r);
    json_int_t balance = 10000 - 1000 - 500 + want_s + want_a;
    wallet_is(balance, 1000);
    ledger_check_all();

    /* Live: an offer made before kick-off, refused once the market reopened at a newer quote. */
    json_t *od = offer(0, draw);
    advance(0, 3, 100);
    json_t *lm = wait_market(0, FX1, "open", "live", v1);
    json_int_t lv = num(lm, "version");
    json_decref(lm);
    for (int i = 1; i < 3; i++)
        json_decref(wait_market(i, FX1, "open", "live", lv - 1));
    r = take(1, draw, od, 0, "co-draw-old", token);
    expect_code(&r, 409, "price_changed");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(r.json, "versions"), 0)),
                     lv);
    assert_true(num(r.json, "amount") > 0);
    h_resp_free(&r);
    json_decref(od);
    /* A goal only simulator 1 reported: the markets stay suspended (not agreed). */
    od = offer(0, draw);
    advance(0, 1, 700);
    for (int i = 0; i < 3; i++)
        json_decref(wait_market(i, FX1, "suspended", NULL, lv - 1));
    r = get_offer(2, draw, token);
    expect_code(&r, 409, "market_suspended");
    h_resp_free(&r);
    r = take(2, draw, od, 0, "co-draw-goal", token);
    expect_code(&r, 409, "market_suspended");
    h_resp_free(&r);
    json_decref(od);
    json_decref(wait_bet_all(draw, "status", "accepted"));
    wallet_is(balance, 1000);
    /* The goal agreed, the market reopens: the draw single is cashed out live. */
    advance(1, 3, 700);
    lm = wait_market(0, FX1, "open", "live", lv);
    json_decref(lm);
    for (double end = h_now() + H_WAIT_MS / 1000.0;; h_sleep_ms(100)) {
        od = offer(0, draw);
        char key[48];
        snprintf(key, sizeof key, "co-draw-%.0f", h_now() * 1000);
        r = take(0, draw, od, 0, key, token);
        if (r.status == 200 || h_now() > end)
            break;
        /* Prices may move between the offer and the accept: ask again. */
        if (r.status != 409 || strcmp(str(r.json, "code"), "price_changed"))
            fail_msg("live cash-out: %ld %s", r.status, dump(r.json));
        h_resp_free(&r);
        json_decref(od);
    }
    if (r.status != 200)
        fail_msg("live cash-out: %ld %s", r.status, dump(r.json));
    json_int_t want_d = num(od, "amount");
    assert_int_equal(num(r.json, "return"), want_d);
    h_resp_free(&r);
    json_decref(od);
    json_decref(wait_bet_all(draw, "paid", "post"));
    balance += want_d - 1000;
    wallet_is(balance, 0);

    /* The games end: every bet stays cashed out, nothing is paid twice. */
    advance(0, 3, 100000);
    json_decref(wait_market(0, FX1, "closed", NULL, 0));
    json_decref(wait_bet_all(draw, "result", "cashed_out"));
    wallet_is(balance, 0);
    ledger_check_all();
    audit_all();
    fprintf(stderr, "test_cashout_it: cashed out %lld + %lld + %lld (live) for stakes 25.00; "
                    "balance %lld\n",
            (long long)want_s, (long long)want_a, (long long)want_d, (long long)balance);

    json_decref(bs);
    json_decref(ba);
    json_decref(m1);
    json_decref(m2);
    h_cluster_destroy(&sp);
    h_cluster_destroy(&acc);
    for (int i = 0; i < 3; i++)
        simproc_stop(&sims[i]);
    h_paystandin_stop(&pay);
    old_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cashout_over_http),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
