/* Agreed quotes end to end: three real parlayd processes, each reading its own real
 * parlay-feedsim process (tests/feedsim/scenarios/football.json, clock stopped, moved forward through
 * the simulator's admin API), and a real SSE client (curl) on a follower's quote stream.
 *
 *   live_match     the fixture is agreed and pre-match prices are published with a quorum of
 *                  signatures that verify here (SHA-256 of the documented message, secp256k1);
 *                  kick-off and a goal suspend the markets at once, new agreed live prices
 *                  (with the score) reopen them, and the follower's stream shows the suspension
 *                  before the publication; the result closes the markets and finishes the
 *                  fixture; a stream on another node resumes from a Last-Event-ID with the same
 *                  ids; bad queries are refused with problem+json;
 *   wrong_prices   node 3 prices wrong (test_fault_prices): quotes are published with nodes 1
 *                  and 2's signatures, node 3 is counted as a dissenter; forged and malformed
 *                  votes are refused (403 / 422);
 *   liars_hold     two simulators lie differently about the first goal (one swaps the team,
 *                  one drops it): no quorum agrees on it, the markets stay suspended while it
 *                  is pending, and the leader raises the agreement alert;
 *   leader_killed  the leader dies mid-game: every agreed event and quote survives on the other
 *                  two, and quoting resumes (new versions that know of later events);
 *   trader_markets a trader moves the total goals line and suspends correct score: the next
 *                  agreed quote on every node has them; a bad line move is refused with its code;
 *   market_snapshots a market snapshot disputed by one lying provider is not used (the quotes
 *                  stay the model's alone); once agreed, the next 1X2 moves toward it everywhere;
 *   trader_controls a trader's margin shift (POST /admin/v1/fixtures/{id}/trader) makes the
 *                  next agreed quote on every node have a larger 1X2 overround, quorum-signed;
 *                  a shift out of bounds is refused with its code and changes nothing; the
 *                  settings and their history read the same on every node; suspend suspends
 *                  the markets everywhere, reopen opens them again with new prices.
 *
 * Every wait is a condition polled with a deadline. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <secp256k1.h>

#include "tests/feedsim/simproc.h"
#include "tests/integration/harness.h"

#define SCENARIO "tests/feedsim/scenarios/football.json"
#define FIXTURE "FB-1001"

struct setup {
    struct h_cluster c;
    struct simproc sims[3];
    pid_t sse[4];
    int nsse;
};

/* ---- simulators and cluster ------------------------------------------------------------ */

static void advance(struct setup *s, int i, int seconds)
{
    char body[64];
    snprintf(body, sizeof body, "{\"seconds\": %d}", seconds);
    json_t *r = simproc_admin(&s->sims[i], "/admin/v1/advance", body);
    assert_non_null(r);
    json_decref(r);
}

static void advance_all(struct setup *s, int seconds)
{
    for (int i = 0; i < 3; i++)
        advance(s, i, seconds);
}

/* @lies[i]: extra simulator arguments (NULL-terminated list) or NULL; @extra[i]: extra node
 * configuration (JSON members without braces) or NULL. */
static void start_sport(struct setup *s, const char *scenario, const char *role,
                        const char *const *lies[3], const char *extra[3])
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 3; i++) {
        const char *args[8] = {"--speed", "0"};
        int k = 2;
        for (int j = 0; lies && lies[i] && lies[i][j] && k < 7; j++)
            args[k++] = lies[i][j];
        simproc_start(&s->sims[i], scenario, args);
    }
    h_cluster_init(&s->c, 3);
    s->c.role = role;
    for (int i = 0; i < 3; i++)
        snprintf(s->c.node_extra[i], sizeof s->c.node_extra[i],
                 "{\"feed_url\": \"%s\", \"feed_adapter\": \"sse\", \"quote_hold_s\": 600, "
                 "\"agreement_alert_s\": 2%s%s}",
                 s->sims[i].url, extra && extra[i] ? ", " : "",
                 extra && extra[i] ? extra[i] : "");
    h_cluster_write_configs(&s->c);
    h_start_cluster(&s->c);
}

static void start(struct setup *s, const char *const *lies[3], const char *extra[3])
{
    start_sport(s, SCENARIO, NULL, lies, extra);
}

static void stop(struct setup *s)
{
    for (int i = 0; i < s->nsse; i++)
        if (s->sse[i] > 0) {
            kill(s->sse[i], SIGTERM);
            waitpid(s->sse[i], NULL, 0);
        }
    h_cluster_destroy(&s->c);
    for (int i = 0; i < 3; i++)
        simproc_stop(&s->sims[i]);
}

/* ---- a real SSE client ------------------------------------------------------------------ */

/* curl -N on node @i's quote stream into @file (extra query and Last-Event-ID optional). */
static void sse_open(struct setup *s, int i, const char *query, const char *last_id,
                     char *file, size_t cap)
{
    snprintf(file, cap, "%s/sse-%d-%d.txt", s->c.root, i, s->nsse);
    char url[256], hdr[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/stream/quotes%s", s->c.nodes[i].http_port,
             query ? query : "");
    snprintf(hdr, sizeof hdr, "Last-Event-ID: %s", last_id ? last_id : "");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (last_id)
            execlp("curl", "curl", "-sN", "-o", file, "-H", hdr, url, (char *)NULL);
        else
            execlp("curl", "curl", "-sN", "-o", file, url, (char *)NULL);
        _exit(127);
    }
    s->sse[s->nsse++] = pid;
}

/* The events in @file so far: [{id, event, data}] (a comment-only block is skipped). */
static json_t *sse_events(const char *file)
{
    json_t *arr = json_array();
    FILE *f = fopen(file, "r");
    if (!f)
        return arr;
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = buf, *end;
    while ((end = strstr(p, "\n\n"))) {
        *end = 0;
        long long id = -1;
        char ev[32] = "";
        json_t *data = NULL;
        for (char *line = strtok(p, "\n"); line; line = strtok(NULL, "\n")) {
            if (!strncmp(line, "id: ", 4))
                id = atoll(line + 4);
            else if (!strncmp(line, "event: ", 7))
                snprintf(ev, sizeof ev, "%s", line + 7);
            else if (!strncmp(line, "data: ", 6))
                data = json_loads(line + 6, 0, NULL);
        }
        if (id >= 0 && data)
            json_array_append_new(arr, json_pack("{s:I, s:s, s:o}", "id", (json_int_t)id,
                                                 "event", ev, "data", data));
        else
            json_decref(data);
        p = end + 2;
    }
    return arr;
}

/* Position of the first event at or after @from of type @type matching @pred; -1 if none. */
static int sse_find(json_t *evs, int from, const char *type, bool (*pred)(json_t *d, void *a),
                    void *arg)
{
    for (size_t i = (size_t)from; i < json_array_size(evs); i++) {
        json_t *e = json_array_get(evs, i);
        if (!strcmp(json_string_value(json_object_get(e, "event")), type) &&
            (!pred || pred(json_object_get(e, "data"), arg)))
            return (int)i;
    }
    return -1;
}

/* ---- markets ---------------------------------------------------------------------------- */

static const char *market_fixture = FIXTURE;

static json_t *market(struct h_cluster *c, int i)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/fixtures/%s/markets", market_fixture);
    struct h_resp r = h_http(c, i, "GET", path, NULL, NULL, false);
    json_t *m = r.status == 200 ? r.json : NULL;
    r.json = r.status == 200 ? NULL : r.json;
    h_resp_free(&r);
    return m;
}

/* Wait until node @i's market satisfies @pred; returns it. */
static json_t *wait_market(struct h_cluster *c, int i, bool (*pred)(json_t *m, void *a),
                           void *arg, const char *what)
{
    double end = h_now() + H_WAIT_MS / 1000.0;
    while (h_now() < end) {
        json_t *m = market(c, i);
        if (m && pred(m, arg))
            return m;
        json_decref(m);
        h_sleep_ms(50);
    }
    json_t *m = market(c, i);
    char *t = m ? json_dumps(m, JSON_COMPACT) : NULL;
    fail_msg("node %d: market never %s; last: %.600s", i + 1, what, t ? t : "(none)");
    return NULL;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static json_int_t num(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static bool open_pre(json_t *m, void *a)
{
    (void)a;
    return !strcmp(str(m, "status"), "open") && !strcmp(str(m, "phase"), "pre") &&
           num(m, "version") >= 1;
}

/* Open, live, and knowing of at least *a home goals. */
static bool open_live_goals(json_t *m, void *a)
{
    return !strcmp(str(m, "status"), "open") && !strcmp(str(m, "phase"), "live") &&
           num(json_object_get(m, "live"), "home_goals") >= *(int *)a;
}

static bool closed(json_t *m, void *a)
{
    (void)a;
    return !strcmp(str(m, "status"), "closed");
}

static bool version_above(json_t *m, void *a)
{
    return !strcmp(str(m, "status"), "open") && num(m, "version") > *(json_int_t *)a;
}

/* Check a quote's attestation as an outsider would; returns the signer ids as a bit set. */
static unsigned verify_quote(struct h_cluster *c, int i, json_int_t version)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/quotes/%lld/attestation", (long long)version);
    struct h_resp r = h_http(c, i, "GET", path, NULL, NULL, false);
    assert_int_equal(r.status, 200);
    json_t *a = r.json;
    const char *fixture = str(a, "fixture"), *prices = str(a, "prices_text");
    char ix[24];
    snprintf(ix, sizeof ix, "%lld", (long long)num(a, "index"));
    /* The signed text is the canonical form of the prices shown. */
    char *canon = json_dumps(json_object_get(a, "prices"), JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(canon, prices);
    free(canon);
    uint8_t digest[32];
    static const char tag[] = "parlay-quote-v1";
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, tag, sizeof tag);
    EVP_DigestUpdate(md, "football", 9);
    EVP_DigestUpdate(md, fixture, strlen(fixture) + 1);
    EVP_DigestUpdate(md, ix, strlen(ix) + 1);
    EVP_DigestUpdate(md, prices, strlen(prices));
    EVP_DigestFinal_ex(md, digest, NULL);
    EVP_MD_CTX_free(md);
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    unsigned signers = 0;
    size_t k;
    json_t *s;
    json_array_foreach(json_object_get(a, "signatures"), k, s)
    {
        uint8_t pk[33], sig[64];
        assert_int_equal(h_unhex(str(s, "public_key"), pk, sizeof pk), 33);
        assert_int_equal(h_unhex(str(s, "signature"), sig, sizeof sig), 64);
        secp256k1_pubkey pub;
        secp256k1_ecdsa_signature es;
        assert_true(secp256k1_ec_pubkey_parse(ctx, &pub, pk, 33));
        assert_true(secp256k1_ecdsa_signature_parse_compact(ctx, &es, sig));
        assert_true(secp256k1_ecdsa_verify(ctx, &es, digest, &pub));
        digest[5] ^= 1; /* a changed message does not verify */
        assert_false(secp256k1_ecdsa_verify(ctx, &es, digest, &pub));
        digest[5] ^= 1;
        signers |= 1u << num(s, "node");
    }
    secp256k1_context_destroy(ctx);
    h_resp_free(&r);
    return signers;
}

static bool metric_at_least(struct h_cluster *c, int i, const char *name, double want)
{
    char cmd[256], out[1 << 16];
    snprintf(cmd, sizeof cmd, "curl -s http://127.0.0.1:%d/metrics", c->nodes[i].http_port);
    FILE *f = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, f);
    pclose(f);
    out[n] = 0;
    size_t nl = strlen(name);
    for (char *p = out; (p = strstr(p, name)); p += nl)
        if ((p == out || p[-1] == '\n') && p[nl] == ' ')
            return atof(p + nl + 1) >= want;
    return false;
}

static void wait_metric(struct h_cluster *c, int i, const char *name, double want)
{
    double end = h_now() + H_WAIT_MS / 1000.0;
    while (h_now() < end) {
        if (metric_at_least(c, i, name, want))
            return;
        h_sleep_ms(100);
    }
    fail_msg("node %d: metric %s never reached %g", i + 1, name, want);
}

static long get_status(struct h_cluster *c, int i, const char *path, const char *want_detail)
{
    struct h_resp r = h_http(c, i, "GET", path, NULL, NULL, false);
    long st = r.status;
    if (st >= 400) {
        assert_string_equal(r.content_type, "application/problem+json");
        if (want_detail)
            assert_non_null(strstr(str(r.json, "detail"), want_detail));
    }
    h_resp_free(&r);
    return st;
}

/* ---- tests ------------------------------------------------------------------------------ */

static bool event_seq_at_least(json_t *d, void *a)
{
    return !strcmp(str(d, "fixture"), FIXTURE) && num(d, "event_seq") >= *(int *)a;
}

static void live_match(void **state)
{
    (void)state;
    static struct setup s;
    start(&s, NULL, NULL);
    /* Pre-match prices, agreed by a quorum, on every node. */
    json_t *m = NULL;
    for (int i = 0; i < 3; i++) {
        json_decref(m);
        m = wait_market(&s.c, i, open_pre, NULL, "open pre-match");
    }
    assert_true(num(m, "signatures") >= 2);
    json_t *x12 = json_object_get(json_object_get(m, "prices"), "1x2");
    assert_true(num(x12, "home") > 1000 && num(x12, "draw") > 1000 && num(x12, "away") > 1000);
    assert_null(json_object_get(json_object_get(m, "prices"), "next_goal")); /* live only */
    unsigned signers = verify_quote(&s.c, 1, num(m, "version"));
    assert_true(__builtin_popcount(signers) >= 2);
    json_int_t v_pre = num(m, "version");
    json_decref(m);
    int leader = h_wait_leader(&s.c, H_WAIT_MS);
    int f = (leader + 1) % 3, g = (leader + 2) % 3;
    char file[600];
    sse_open(&s, f, NULL, NULL, file, sizeof file);
    /* The stream is open (a client counted) before the game starts. */
    wait_metric(&s.c, f, "parlay_stream_clients", 1);

    /* Kick-off, then the first goal (12'). */
    advance_all(&s, 100);
    int zero = 0, one = 1;
    m = wait_market(&s.c, g, open_live_goals, &zero, "open live");
    assert_true(num(m, "version") > v_pre);
    json_decref(m);
    advance_all(&s, 700);
    m = wait_market(&s.c, f, open_live_goals, &one, "open live after the goal");
    assert_int_equal(num(json_object_get(m, "live"), "away_goals"), 0);
    assert_non_null(json_object_get(json_object_get(m, "prices"), "next_goal"));
    json_int_t v_goal = num(m, "version");
    json_decref(m);
    /* The leader proposed the goal's round right behind the goal's agreement (quote.c
     * on_event_proposed), and those prices know of the goal (above). */
    wait_metric(&s.c, leader, "parlay_quote_rounds_behind_event_total", 1);
    struct h_resp fx = h_http(&s.c, g, "GET", "/v1/fixtures/" FIXTURE, NULL, NULL, false);
    assert_string_equal(str(fx.json, "status"), "live");
    h_resp_free(&fx);
    /* The follower's stream: suspended for the goal, then agreed prices that know of it. */
    int goal_seq = 3, pos = -1;
    double end = h_now() + H_WAIT_MS / 1000.0;
    json_t *evs = NULL;
    while (h_now() < end) {
        json_decref(evs);
        evs = sse_events(file);
        pos = sse_find(evs, 0, "published", event_seq_at_least, &goal_seq);
        if (pos >= 0)
            break;
        h_sleep_ms(50);
    }
    assert_true(pos >= 0);
    int susp = -1;
    for (int k = 0; k < pos; k++) {
        json_t *d = json_object_get(json_array_get(evs, (size_t)k), "data");
        if (!strcmp(str(json_array_get(evs, (size_t)k), "event"), "suspended") &&
            !strcmp(str(d, "reason"), "goal"))
            susp = k;
    }
    assert_true(susp >= 0 && susp < pos);
    /* Ids increase by one: nothing is skipped. */
    for (size_t k = 1; k < json_array_size(evs); k++)
        assert_int_equal(num(json_array_get(evs, k), "id"),
                         num(json_array_get(evs, k - 1), "id") + 1);
    json_int_t first_id = num(json_array_get(evs, 0), "id");
    json_decref(evs);
    assert_true(v_goal > v_pre);

    /* The rest of the match: the result closes the markets and finishes the fixture. */
    advance_all(&s, 100000);
    for (int i = 0; i < 3; i++)
        json_decref(wait_market(&s.c, i, closed, NULL, "closed"));
    fx = h_http(&s.c, leader, "GET", "/v1/fixtures/" FIXTURE, NULL, NULL, false);
    assert_string_equal(str(fx.json, "status"), "finished");
    h_resp_free(&fx);
    end = h_now() + H_WAIT_MS / 1000.0;
    pos = -1;
    evs = NULL;
    while (pos < 0 && h_now() < end) {
        json_decref(evs);
        evs = sse_events(file);
        pos = sse_find(evs, 0, "closed", NULL, NULL);
        if (pos < 0)
            h_sleep_ms(50);
    }
    assert_true(pos >= 0);
    json_int_t last_id = num(json_array_get(evs, (size_t)pos), "id");

    /* Resume on another node from the event before the goal's suspension: the same events
     * with the same ids, from the next one on. */
    char resume[600], lid[24];
    snprintf(lid, sizeof lid, "%lld", (long long)(first_id + susp - 1));
    sse_open(&s, g, "?fixture=" FIXTURE, lid, resume, sizeof resume);
    json_t *rev = NULL;
    end = h_now() + H_WAIT_MS / 1000.0;
    while (h_now() < end) {
        json_decref(rev);
        rev = sse_events(resume);
        if (sse_find(rev, 0, "closed", NULL, NULL) >= 0)
            break;
        h_sleep_ms(50);
    }
    assert_true(json_array_size(rev) > 0);
    assert_int_equal(num(json_array_get(rev, 0), "id"), first_id + susp);
    assert_int_equal(num(json_array_get(rev, json_array_size(rev) - 1), "id"), last_id);
    for (size_t k = 0; k < json_array_size(rev); k++) {
        json_t *a = json_array_get(rev, k), *b = json_array_get(evs, (size_t)susp + k);
        assert_int_equal(num(a, "id"), num(b, "id"));
        assert_string_equal(str(a, "event"), str(b, "event"));
        assert_int_equal(num(json_object_get(a, "data"), "version"),
                         num(json_object_get(b, "data"), "version"));
    }
    json_decref(rev);
    json_decref(evs);

    /* The operator's view: parlayctl quotes and events. */
    char out[16384];
    assert_int_equal(h_parlayctl(&s.c, f, "quotes", out, sizeof out), 0);
    assert_non_null(strstr(out, FIXTURE));
    assert_non_null(strstr(out, "closed"));
    assert_int_equal(h_parlayctl(&s.c, g, "events " FIXTURE, out, sizeof out), 0);
    assert_non_null(strstr(out, "result: 4-2 (final)"));
    assert_non_null(strstr(out, "penalty_missed"));
    assert_int_equal(h_parlayctl(&s.c, g, "quotes --version 1", out, sizeof out), 0);
    assert_non_null(strstr(out, "digest"));
    assert_int_not_equal(h_parlayctl(&s.c, g, "quotes --status nope", out, sizeof out), 0);

    /* The list and its filters; bad input is refused with a precise problem. */
    struct h_resp l = h_http(&s.c, f, "GET", "/v1/markets?status=closed", NULL, NULL, false);
    assert_int_equal(l.status, 200);
    assert_int_equal(json_array_size(json_object_get(l.json, "items")), 1);
    h_resp_free(&l);
    l = h_http(&s.c, f, "GET", "/v1/markets?status=open", NULL, NULL, false);
    assert_int_equal(json_array_size(json_object_get(l.json, "items")), 0);
    h_resp_free(&l);
    assert_int_equal(get_status(&s.c, f, "/v1/markets?status=bogus", "status must be"), 422);
    assert_int_equal(get_status(&s.c, f, "/v1/markets?limit=0", "limit"), 422);
    assert_int_equal(get_status(&s.c, f, "/v1/markets?phase=half", "phase"), 422);
    assert_int_equal(get_status(&s.c, f, "/v1/markets?sport=tennis", "quotes football"), 404);
    assert_int_equal(get_status(&s.c, f, "/v1/quotes/abc", "positive integer"), 422);
    assert_int_equal(get_status(&s.c, f, "/v1/quotes/999999", "no quote"), 404);
    assert_int_equal(get_status(&s.c, f, "/v1/fixtures/NOPE/markets", "no markets"), 404);
    struct h_resp q = h_http(&s.c, f, "GET", "/v1/quotes/1", NULL, NULL, false);
    assert_int_equal(q.status, 200);
    assert_true(json_is_object(json_object_get(q.json, "inputs")));
    h_resp_free(&q);
    char bad[256];
    snprintf(bad, sizeof bad, "curl -s -o /dev/null -w '%%{http_code}' -H 'Last-Event-ID: x1' "
                              "http://127.0.0.1:%d/v1/stream/quotes",
             s.c.nodes[f].http_port);
    FILE *p = popen(bad, "r");
    char code[8] = "";
    assert_non_null(fgets(code, sizeof code, p));
    pclose(p);
    assert_string_equal(code, "422");
    stop(&s);
}

static long post_vote(struct h_cluster *c, int leader, const char *body)
{
    struct h_resp r = h_http(c, leader, "POST", "/internal/v1/quote-votes", body, NULL, false);
    long st = r.status;
    h_resp_free(&r);
    return st;
}

static bool published_live(json_t *d, void *a)
{
    (void)a;
    return !strcmp(str(d, "fixture"), FIXTURE) && num(d, "event_seq") >= 2;
}

/* A match-day standby (parlayctl add --standby, a fourth node with no feed of its own) streams
 * what the cluster agrees: opened before the kick-off, its quote stream carries the
 * suspension and the agreed live prices with the same ids, types and versions as a voter's
 * stream, and it serves the market; then it is removed. */
static void standby_streams_quotes(void **state)
{
    (void)state;
    struct setup s;
    start(&s, NULL, NULL);
    json_decref(wait_market(&s.c, 0, open_pre, NULL, "open pre-match"));
    int sb = h_cluster_add_spare(&s.c);
    h_node_start(&s.c, sb);
    char out[8192], args[256];
    snprintf(args, sizeof args, "--timeout 60 add --standby %d 127.0.0.1:%d 127.0.0.1:%d",
             s.c.nodes[sb].id, s.c.nodes[sb].raft_port, s.c.nodes[sb].http_port);
    int rc = h_parlayctl(&s.c, 0, args, out, sizeof out);
    if (rc != 0)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    json_decref(wait_market(&s.c, sb, open_pre, NULL, "open pre-match on the standby"));
    char sfile[600], vfile[600];
    sse_open(&s, sb, NULL, NULL, sfile, sizeof sfile);
    sse_open(&s, 0, NULL, NULL, vfile, sizeof vfile);
    wait_metric(&s.c, sb, "parlay_stream_clients", 1);
    wait_metric(&s.c, 0, "parlay_stream_clients", 1);

    advance_all(&s, 100); /* kick-off: suspended, then agreed live prices */
    json_t *sev = NULL, *vev = NULL;
    double end = h_now() + H_WAIT_MS / 1000.0;
    while (h_now() < end) {
        json_decref(sev);
        json_decref(vev);
        sev = sse_events(sfile);
        vev = sse_events(vfile);
        if (sse_find(sev, 0, "published", published_live, NULL) >= 0 &&
            sse_find(vev, 0, "published", published_live, NULL) >= 0)
            break;
        h_sleep_ms(50);
    }
    int pos = sse_find(sev, 0, "published", published_live, NULL);
    assert_true(pos >= 0);
    assert_true(sse_find(sev, 0, "suspended", NULL, NULL) >= 0);
    /* Every event the standby streamed is the voter's event of the same id. */
    size_t same = 0;
    for (size_t k = 0; k < json_array_size(sev); k++) {
        json_t *a = json_array_get(sev, k);
        for (size_t j = 0; j < json_array_size(vev); j++) {
            json_t *b = json_array_get(vev, j);
            if (num(a, "id") != num(b, "id"))
                continue;
            assert_string_equal(str(a, "event"), str(b, "event"));
            assert_int_equal(num(json_object_get(a, "data"), "version"),
                             num(json_object_get(b, "data"), "version"));
            same++;
        }
    }
    assert_true(same >= 2);
    json_decref(sev);
    json_decref(vev);

    int leader = h_wait_leader(&s.c, H_WAIT_MS);
    snprintf(args, sizeof args, "remove %d", s.c.nodes[sb].id);
    assert_int_equal(h_parlayctl(&s.c, leader, args, out, sizeof out), 0);
    stop(&s);
}

static void wrong_prices(void **state)
{
    (void)state;
    static struct setup s;
    const char *extra[3] = {NULL, NULL, "\"test_fault_prices\": true"};
    start(&s, NULL, extra);
    json_t *m = wait_market(&s.c, 0, open_pre, NULL, "open pre-match");
    unsigned signers = verify_quote(&s.c, 0, num(m, "version"));
    assert_int_equal(signers, (1u << 1) | (1u << 2)); /* nodes 1 and 2, never 3 */
    json_int_t v = num(m, "version");
    json_decref(m);
    advance_all(&s, 100); /* kick-off: a live round, with node 3 wrong again */
    m = wait_market(&s.c, 1, version_above, &v, "republished");
    assert_int_equal(verify_quote(&s.c, 1, num(m, "version")), (1u << 1) | (1u << 2));
    int leader = h_wait_leader(&s.c, H_WAIT_MS);
    wait_metric(&s.c, leader, "parlay_quote_dissent_total{node=\"3\"}", 1);
    json_t *st = h_status(&s.c, leader);
    assert_true(num(json_object_get(json_object_get(st, "quotes"), "dissent"), "3") >= 1);
    json_decref(st);
    char out[8192];
    assert_int_equal(h_parlayctl(&s.c, leader, "status", out, sizeof out), 0);
    assert_non_null(strstr(out, "prices    node 3: "));

    /* Forged and malformed votes. */
    char att[96];
    snprintf(att, sizeof att, "/v1/quotes/%lld/attestation", (long long)num(m, "version"));
    struct h_resp a = h_http(&s.c, leader, "GET", att, NULL, NULL, false);
    json_t *sig0 = json_array_get(json_object_get(a.json, "signatures"), 0);
    json_t *b = json_pack("{s:I, s:s, s:I, s:s, s:s}", "node_id", num(sig0, "node"), "fixture",
                          FIXTURE, "index", num(a.json, "index"), "prices",
                          str(a.json, "prices_text"), "signature", str(sig0, "signature"));
    char *genuine = json_dumps(b, JSON_COMPACT);
    assert_int_equal(post_vote(&s.c, leader, genuine), 202);
    json_object_set_new(b, "node_id", json_integer(num(sig0, "node") == 1 ? 2 : 1));
    char *other = json_dumps(b, JSON_COMPACT);
    assert_int_equal(post_vote(&s.c, leader, other), 403); /* someone else's signature */
    json_object_set_new(b, "node_id", json_integer(9));
    char *stranger = json_dumps(b, JSON_COMPACT);
    assert_int_equal(post_vote(&s.c, leader, stranger), 403);
    json_object_set_new(b, "node_id", json_integer(num(sig0, "node")));
    json_object_set_new(b, "prices", json_string("{\"1x2\":{\"home\":99000}}"));
    char *changed = json_dumps(b, JSON_COMPACT);
    assert_int_equal(post_vote(&s.c, leader, changed), 403); /* not what was signed */
    assert_int_equal(post_vote(&s.c, leader, "{\"node_id\": 1}"), 422);
    assert_int_equal(post_vote(&s.c, leader, "not json"), 400);
    free(genuine);
    free(other);
    free(stranger);
    free(changed);
    json_decref(b);
    h_resp_free(&a);
    json_decref(m);
    stop(&s);
}

static bool suspended(json_t *m, void *a)
{
    (void)a;
    return !strcmp(str(m, "status"), "suspended");
}

static void liars_hold(void **state)
{
    (void)state;
    static struct setup s;
    const char *flip[] = {"--lie-flip-event", FIXTURE ":3", NULL};
    const char *drop[] = {"--lie-drop-event", FIXTURE ":3", NULL};
    const char *const *lies[3] = {NULL, flip, drop};
    start(&s, lies, NULL);
    json_decref(wait_market(&s.c, 0, open_pre, NULL, "open pre-match"));
    advance_all(&s, 100);
    int zero = 0;
    json_t *m = wait_market(&s.c, 0, open_live_goals, &zero, "open live");
    json_int_t v_live = num(m, "version");
    json_decref(m);
    advance_all(&s, 700); /* the disputed goal */
    int leader = h_wait_leader(&s.c, H_WAIT_MS);
    json_decref(wait_market(&s.c, leader, suspended, NULL, "suspended"));
    /* The alert: an observation pending past agreement_alert_s (2 s). */
    wait_metric(&s.c, leader, "parlay_agreement_alerts_total", 1);
    wait_metric(&s.c, leader, "parlay_agreement_stalled", 1);
    assert_true(h_log_count(&s.c, leader, "event=agreement_stalled subject=event/" FIXTURE
                                          "/3") >= 1);
    char out[8192];
    assert_int_equal(h_parlayctl(&s.c, leader, "status", out, sizeof out), 0);
    assert_non_null(strstr(out, "ALERT"));
    /* Nothing reopened the markets: still suspended everywhere, no new version, no goal. */
    for (int i = 0; i < 3; i++) {
        m = market(&s.c, i);
        assert_non_null(m);
        assert_string_equal(str(m, "status"), "suspended");
        assert_int_equal(num(m, "version"), v_live);
        assert_int_equal(num(json_object_get(m, "live"), "home_goals"), 0);
        json_decref(m);
    }
    struct h_resp r =
        h_http(&s.c, 0, "GET", "/v1/observations/event/" FIXTURE "/3/attestation", NULL, NULL,
               false);
    assert_int_equal(r.status, 404);
    h_resp_free(&r);
    stop(&s);
}

static void leader_killed(void **state)
{
    (void)state;
    static struct setup s;
    start(&s, NULL, NULL);
    json_decref(wait_market(&s.c, 0, open_pre, NULL, "open pre-match"));
    advance_all(&s, 800); /* kick-off and the first goal */
    int one = 1;
    json_t *m = wait_market(&s.c, 0, open_live_goals, &one, "open live with the goal");
    json_int_t v = num(m, "version");
    json_decref(m);
    int leader = h_wait_leader(&s.c, H_WAIT_MS);
    h_node_kill(&s.c, leader);
    int nl = h_wait_leader(&s.c, H_WAIT_MS);
    assert_true(nl >= 0 && nl != leader);
    /* Everything agreed before is still there on both survivors (a follower that was a few
     * entries behind gets them from the new leader). */
    for (int i = 0; i < 3; i++) {
        if (i == leader)
            continue;
        char path[64];
        snprintf(path, sizeof path, "/v1/quotes/%lld", (long long)v);
        double until = h_now() + H_WAIT_MS / 1000.0;
        size_t nev = 0;
        long st = 0;
        while (h_now() < until && (st != 200 || nev != 3)) {
            st = get_status(&s.c, i, path, NULL);
            struct h_resp e = h_http(&s.c, i, "GET", "/v1/fixtures/" FIXTURE "/events", NULL,
                                     NULL, false);
            nev = json_array_size(json_object_get(e.json, "items"));
            h_resp_free(&e);
            if (st != 200 || nev != 3)
                h_sleep_ms(50);
        }
        assert_int_equal(st, 200);
        assert_int_equal(nev, 3);
    }
    /* The game goes on: the penalty (27') and its goal (28') are agreed by the two
     * survivors, and quoting resumes with prices that know of the second goal. */
    for (int i = 0; i < 3; i++)
        if (i != leader)
            advance(&s, i, 1000);
    int f = 3 - nl - leader; /* the survivor that is not the new leader */
    double end = h_now() + H_WAIT_MS / 1000.0;
    bool ok = false;
    while (!ok && h_now() < end) {
        m = market(&s.c, f);
        ok = m && !strcmp(str(m, "status"), "open") && num(m, "version") > v &&
             num(json_object_get(m, "live"), "away_goals") == 1;
        json_decref(m);
        if (!ok)
            h_sleep_ms(50);
    }
    assert_true(ok);
    stop(&s);
}

static bool open_live(json_t *m, void *a)
{
    (void)a;
    return !strcmp(str(m, "status"), "open") && !strcmp(str(m, "phase"), "live");
}

/* Tennis points: the game score moves on; @a: the number of games won in all at least. */
static bool tennis_games(json_t *m, void *a)
{
    json_t *l = json_object_get(m, "live");
    return open_live(m, NULL) &&
           num(l, "games_a") + num(l, "games_b") + num(l, "prev_games_a") +
                   num(l, "prev_games_b") >=
               *(int *)a;
}

static bool basketball_points(json_t *m, void *a)
{
    json_t *l = json_object_get(m, "live");
    return open_live(m, NULL) && num(l, "home_points") + num(l, "away_points") >= *(int *)a;
}

/* A price that is a whole market's only outcome pair, as decimal odds, both offered. */
static void two_way_offered(json_t *m, const char *market, const char *a, const char *b)
{
    json_t *x = json_object_get(json_object_get(m, "prices"), market);
    assert_true(num(x, a) >= 1010 && num(x, b) >= 1010);
}

/* ---- trader controls (issue 17) --------------------------------------------------------- */

static double overround_1x2(json_t *m)
{
    return h_overround_1x2(m);
}

struct above {
    json_int_t version;
    double overround;
};

/* Open, a newer version than a->version, and a 1X2 overround above a->overround. */
static bool shifted(json_t *m, void *a)
{
    const struct above *ab = a;
    return !strcmp(str(m, "status"), "open") && num(m, "version") > ab->version &&
           overround_1x2(m) > ab->overround;
}

static bool trader_suspended_m(json_t *m, void *a)
{
    (void)a;
    return !strcmp(str(m, "status"), "suspended") && !strcmp(str(m, "reason"), "trader");
}

static struct h_resp trader_post(struct h_cluster *c, int i, const char *body, const char *key)
{
    return h_http(c, i, "POST", "/admin/v1/fixtures/" FIXTURE "/trader", body, key, true);
}

static void trader_controls(void **state)
{
    (void)state;
    static struct setup s;
    start(&s, NULL, NULL);
    json_int_t v0 = 0;
    double base = 0;
    for (int i = 0; i < 3; i++) {
        json_t *m = wait_market(&s.c, i, open_pre, NULL, "open pre-match");
        if (num(m, "version") > v0)
            v0 = num(m, "version");
        base = overround_1x2(m);
        json_decref(m);
    }
    int leader = h_wait_leader(&s.c, H_WAIT_MS);
    int f = (leader + 1) % 3;
    /* Out of bounds: refused with its code, nothing recorded. */
    struct h_resp r = trader_post(&s.c, leader, "{\"margin_shift_bp\": 2000, \"reason\": \"x\"}",
                                  "tr-bad-1");
    assert_int_equal(r.status, 422);
    assert_string_equal(str(r.json, "code"), "reason_length");
    h_resp_free(&r);
    r = trader_post(&s.c, leader, "{\"margin_shift_bp\": 2000, \"reason\": \"too much\"}",
                    "tr-bad-2");
    assert_int_equal(r.status, 422);
    assert_string_equal(r.content_type, "application/problem+json");
    assert_string_equal(str(r.json, "code"), "margin_shift_out_of_bounds");
    h_resp_free(&r);
    /* A 5% margin shift: the next agreed quote on every node has a larger overround. */
    r = trader_post(&s.c, leader, "{\"margin_shift_bp\": 500, \"reason\": \"sharp money\"}",
                    "tr-1");
    assert_int_equal(r.status, 200);
    assert_int_equal(num(r.json, "margin_shift_bp"), 500);
    h_resp_free(&r);
    struct above ab = {v0, base + 0.03};
    json_int_t v1 = 0;
    for (int i = 0; i < 3; i++) {
        json_t *m = wait_market(&s.c, i, shifted, &ab, "re-priced with the margin shift");
        assert_true(num(m, "signatures") >= 2);
        if (num(m, "version") > v1)
            v1 = num(m, "version");
        json_decref(m);
    }
    /* The settings and their history, the same on a follower once applied there. */
    double end = h_now() + H_WAIT_MS / 1000.0;
    json_t *t = NULL;
    while (h_now() < end) {
        r = h_http(&s.c, f, "GET", "/admin/v1/fixtures/" FIXTURE "/trader", NULL, NULL, true);
        assert_int_equal(r.status, 200);
        t = json_incref(r.json);
        h_resp_free(&r);
        if (num(t, "changes") >= 1)
            break;
        json_decref(t);
        t = NULL;
        h_sleep_ms(50);
    }
    assert_non_null(t);
    assert_int_equal(num(t, "changes"), 1); /* the refused ones left no trace */
    assert_int_equal(num(t, "margin_shift_bp"), 500);
    json_t *h0 = json_array_get(json_object_get(t, "history"), 0);
    assert_string_equal(str(h0, "reason"), "sharp money");
    assert_true(str(h0, "by")[0] != 0);
    json_decref(t);
    /* Suspend: the markets are suspended on every node; reopen: open again, newer prices. */
    r = trader_post(&s.c, leader, "{\"suspended\": true, \"reason\": \"integrity alert\"}",
                    "tr-2");
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    for (int i = 0; i < 3; i++)
        json_decref(wait_market(&s.c, i, trader_suspended_m, NULL, "suspended by the trader"));
    r = trader_post(&s.c, leader, "{\"suspended\": false, \"reason\": \"all clear\"}",
                    "tr-3");
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    for (int i = 0; i < 3; i++)
        json_decref(wait_market(&s.c, i, version_above, &v1, "reopened"));
    stop(&s);
}

/* Open, newer than a->version, and its total_goals 3.5 line priced as a->over. */
struct moved {
    json_int_t version, over;
};

static json_int_t line_price(json_t *m, const char *market, const char *line, const char *o)
{
    return num(json_object_get(json_object_get(json_object_get(m, "prices"), market), line), o);
}

static bool line_moved(json_t *m, void *a)
{
    const struct moved *mv = a;
    return !strcmp(str(m, "status"), "open") && num(m, "version") > mv->version &&
           line_price(m, "total_goals", "3.5", "over") == mv->over &&
           !json_object_get(json_object_get(m, "prices"), "correct_score");
}

/* Per-market controls: the total goals line moved up a goal and correct score suspended in one
 * change each; the next agreed quote on every node prices 3.5 as the model priced 2.5 and
 * offers no correct score; a line move on a market without lines is refused with its code;
 * a follower reads the same settings. */
static void trader_markets(void **state)
{
    (void)state;
    static struct setup s;
    start(&s, NULL, NULL);
    json_t *m = wait_market(&s.c, 0, open_pre, NULL, "open pre-match");
    struct moved mv = {num(m, "version"), line_price(m, "total_goals", "2.5", "over")};
    assert_true(mv.over > 1000);
    assert_true(line_price(m, "total_goals", "3.5", "over") != mv.over);
    json_decref(m);
    int leader = h_wait_leader(&s.c, H_WAIT_MS);
    struct h_resp r = trader_post(&s.c, leader, "{\"market\": \"btts\", \"line_move\": 1, "
                                                "\"reason\": \"no line\"}", "tm-bad-1");
    assert_int_equal(r.status, 422);
    assert_string_equal(str(r.json, "code"), "line_market");
    h_resp_free(&r);
    r = trader_post(&s.c, leader, "{\"market\": \"total_goals\", \"line_move\": 1, "
                                  "\"reason\": \"heavy rain\"}", "tm-1");
    assert_int_equal(r.status, 200);
    assert_int_equal(num(json_object_get(r.json, "settings"), "line_move_q"), 4);
    h_resp_free(&r);
    char out[8192]; /* the same through parlayctl */
    assert_int_equal(h_parlayctl(&s.c, leader, "trader set " FIXTURE " --market "
                                 "correct_score --suspend --reason 'integrity alert'", out,
                                 sizeof out),
                     0);
    assert_non_null(strstr(out, "correct_score"));
    assert_non_null(strstr(out, "SUSPENDED"));
    for (int i = 0; i < 3; i++) {
        m = wait_market(&s.c, i, line_moved, &mv, "re-priced with the line moved");
        assert_true(num(m, "signatures") >= 2);
        json_decref(m);
    }
    int f = (leader + 1) % 3;
    r = h_http(&s.c, f, "GET", "/admin/v1/fixtures/" FIXTURE "/trader", NULL, NULL, true);
    assert_int_equal(r.status, 200);
    json_t *pm = json_object_get(r.json, "markets");
    assert_int_equal(num(pm, "changes"), 2);
    assert_int_equal(num(json_object_get(json_object_get(pm, "markets"), "total_goals"),
                         "line_move_q"),
                     4);
    assert_string_equal(str(json_array_get(json_object_get(pm, "history"), 1), "reason"),
                        "integrity alert");
    h_resp_free(&r);
    assert_int_equal(h_parlayctl(&s.c, f, "trader show " FIXTURE, out, sizeof out), 0);
    assert_non_null(strstr(out, "total_goals"));
    assert_non_null(strstr(out, "line +1.00"));
    stop(&s);
}

/* ---- market snapshots (issue 17) -------------------------------------------------------- */

/* The captured inputs of node @i's quote @version (a new reference), or NULL. */
static json_t *quote_inputs(struct h_cluster *c, int i, json_int_t version)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/quotes/%lld", (long long)version);
    struct h_resp r = h_http(c, i, "GET", path, NULL, NULL, false);
    json_t *in = r.status == 200 ? json_incref(json_object_get(r.json, "inputs")) : NULL;
    h_resp_free(&r);
    return in;
}

/* The 1X2 home probability a market shows: 1/odds normalised over the three outcomes. */
static double home_share(json_int_t h, json_int_t d, json_int_t a)
{
    double s = 1000.0 / (double)h + 1000.0 / (double)d + 1000.0 / (double)a;
    return 1000.0 / (double)h / s;
}

static double quote_home(json_t *m)
{
    json_t *x = json_object_get(json_object_get(m, "prices"), "1x2");
    return home_share(num(x, "home"), num(x, "draw"), num(x, "away"));
}

struct blended {
    struct h_cluster *c;
    int node;
    json_int_t after; /* a version older than the one wanted */
};

/* Open, newer than b->after, and priced from the agreed snapshot seq 1. */
static bool blends_snapshot(json_t *m, void *a)
{
    struct blended *b = a;
    if (strcmp(str(m, "status"), "open") || num(m, "version") <= b->after)
        return false;
    json_t *in = quote_inputs(b->c, b->node, num(m, "version"));
    bool ok = num(json_object_get(in, "market"), "seq") == 1;
    json_decref(in);
    return ok;
}

/* football-odds.json: the fixture at 0, snapshot 1 (home a clear favourite) at 20 s. Node 3's
 * provider lies about it (home and away swapped); node 2's provider is behind (its clock not
 * yet at 20 s). Node 1 and node 3 disagree: no quorum, the quotes stay the model's alone. Once
 * node 2 sees it too, it is agreed, and the next 1X2 moves toward it on every node. */
static void market_snapshots(void **state)
{
    (void)state;
    static struct setup s;
    const char *swap[] = {"--lie-swap-odds", FIXTURE, NULL};
    const char *const *lies[3] = {NULL, NULL, swap};
    start_sport(&s, "tests/feedsim/scenarios/football-odds.json", NULL, lies, NULL);
    json_t *m = wait_market(&s.c, 0, open_pre, NULL, "open pre-match");
    json_int_t v0 = num(m, "version");
    double model_home = quote_home(m);
    json_t *in = quote_inputs(&s.c, 0, v0);
    assert_non_null(in);
    assert_null(json_object_get(in, "market")); /* the model alone */
    json_decref(in);
    json_decref(m);
    /* Snapshot 1 seen by node 1 (truth) and node 3 (the lie) only: pending, then stalled. */
    advance(&s, 0, 20);
    advance(&s, 2, 20);
    int leader = h_wait_leader(&s.c, H_WAIT_MS);
    double end = h_now() + H_WAIT_MS / 1000.0;
    while (h_now() < end &&
           h_log_count(&s.c, leader, "event=agreement_stalled subject=odds/" FIXTURE "/1") < 1)
        h_sleep_ms(100);
    assert_true(h_log_count(&s.c, leader, "event=agreement_stalled subject=odds/" FIXTURE
                                          "/1") >= 1);
    for (int i = 0; i < 3; i++) {
        m = market(&s.c, i);
        assert_non_null(m);
        in = quote_inputs(&s.c, i, num(m, "version"));
        assert_non_null(in);
        assert_null(json_object_get(in, "market")); /* the disputed snapshot is not used */
        json_decref(in);
        json_decref(m);
    }
    struct h_resp r = h_http(&s.c, 0, "GET", "/v1/observations/odds/" FIXTURE "/1/attestation",
                             NULL, NULL, false);
    assert_int_equal(r.status, 404);
    h_resp_free(&r);
    /* Node 2 catches up: two honest nodes agree, and every node re-prices with the market. */
    advance(&s, 1, 20);
    double market_home = (home_share(1500, 4200, 6500) + home_share(1550, 4000, 6000)) / 2;
    assert_true(market_home > model_home + 0.05); /* the scenario makes them differ */
    for (int i = 0; i < 3; i++) {
        struct blended b = {&s.c, i, v0};
        m = wait_market(&s.c, i, blends_snapshot, &b, "priced from the agreed snapshot");
        assert_true(num(m, "signatures") >= 2);
        double h = quote_home(m);
        assert_true(h > model_home && h < market_home + 0.02); /* toward the market */
        json_decref(m);
    }
    r = h_http(&s.c, 2, "GET", "/v1/observations/odds/" FIXTURE "/1/attestation", NULL, NULL,
               false);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    stop(&s);
}

/* A moved basketball total: @line offered at the over price the model gave the line it came
 * from, in a quote newer than @version. */
struct bb_moved {
    json_int_t version, over;
    char line[16];
};

static bool bb_total_moved(json_t *m, void *a)
{
    const struct bb_moved *mv = a;
    json_t *l = json_object_get(json_object_get(json_object_get(m, "prices"), "total_points"),
                                mv->line);
    return !strcmp(str(m, "status"), "open") && num(m, "version") > mv->version && l &&
           json_integer_value(json_object_get(l, "over")) == mv->over;
}

/* Tennis and basketball clusters quote too: pre-match, then live from agreed points and
 * scoring runs, then closed by the result. A trader's line move on basketball's total points
 * shifts the model-centred ladder in the next agreed quote on every node. */
static void other_sports(void **state)
{
    (void)state;
    static struct setup s;
    market_fixture = "TN-2001";
    start_sport(&s, "tests/feedsim/scenarios/tennis.json", "sport:tennis", NULL, NULL);
    json_t *m = wait_market(&s.c, 0, open_pre, NULL, "open pre-match (tennis)");
    two_way_offered(m, "match_winner", "home", "away");
    assert_non_null(json_object_get(json_object_get(m, "prices"), "set_betting"));
    json_decref(m);
    advance_all(&s, 1500); /* about the first four games */
    int games = 3;
    m = wait_market(&s.c, 1, tennis_games, &games, "live with games played (tennis)");
    two_way_offered(m, "match_winner", "home", "away");
    assert_true(num(m, "signatures") >= 2);
    json_decref(m);
    advance_all(&s, 100000);
    json_decref(wait_market(&s.c, 2, closed, NULL, "closed (tennis)"));
    stop(&s);

    market_fixture = "BB-3001";
    start_sport(&s, "tests/feedsim/scenarios/basketball.json", "sport:basketball", NULL, NULL);
    m = wait_market(&s.c, 0, open_pre, NULL, "open pre-match (basketball)");
    two_way_offered(m, "moneyline", "home", "away");
    /* The top line of the totals ladder, moved up 3 points: offered 3 points higher at its
     * price, a line that was not offered before. */
    struct bb_moved mv = {num(m, "version"), 0, ""};
    const char *ln;
    json_t *lv;
    double top = -1;
    json_object_foreach(json_object_get(json_object_get(m, "prices"), "total_points"), ln, lv)
        if (atof(ln) > top) {
            top = atof(ln);
            mv.over = json_integer_value(json_object_get(lv, "over"));
        }
    assert_true(top > 0 && mv.over > 1000);
    snprintf(mv.line, sizeof mv.line, "%.1f", top + 3);
    assert_null(json_object_get(json_object_get(json_object_get(m, "prices"), "total_points"),
                                mv.line));
    json_decref(m);
    int bl = h_wait_leader(&s.c, H_WAIT_MS);
    struct h_resp r = h_http(&s.c, bl, "POST", "/admin/v1/fixtures/BB-3001/trader",
                             "{\"market\": \"total_points\", \"line_move\": 2.5, "
                             "\"reason\": \"half points\"}", "bb-tm-bad", true);
    assert_int_equal(r.status, 422);
    assert_string_equal(str(r.json, "code"), "line_move_out_of_bounds");
    h_resp_free(&r);
    r = h_http(&s.c, bl, "POST", "/admin/v1/fixtures/BB-3001/trader",
               "{\"market\": \"total_points\", \"line_move\": 3, "
               "\"reason\": \"pace up: both point guards back\"}", "bb-tm-1", true);
    assert_int_equal(r.status, 200);
    assert_int_equal(num(json_object_get(r.json, "settings"), "line_move_q"), 12);
    h_resp_free(&r);
    for (int i = 0; i < 3; i++)
        json_decref(wait_market(&s.c, i, bb_total_moved, &mv, "total points moved (basketball)"));
    advance_all(&s, 900);
    int pts = 14;
    m = wait_market(&s.c, 2, basketball_points, &pts, "live with points (basketball)");
    two_way_offered(m, "moneyline", "home", "away");
    /* The home side leads 24-0 by the runs: it is the favourite now. */
    json_t *ml = json_object_get(json_object_get(m, "prices"), "moneyline");
    assert_true(num(ml, "home") < num(ml, "away"));
    json_decref(m);
    advance_all(&s, 100000);
    json_decref(wait_market(&s.c, 0, closed, NULL, "closed (basketball)"));
    stop(&s);
    market_fixture = FIXTURE;
}

int main(void)
{
    atexit(simproc_stop_all);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(live_match),
        cmocka_unit_test(standby_streams_quotes),
        cmocka_unit_test(wrong_prices),
        cmocka_unit_test(liars_hold),
        cmocka_unit_test(leader_killed),
        cmocka_unit_test(trader_controls),
        cmocka_unit_test(market_snapshots),
        cmocka_unit_test(trader_markets),
        cmocka_unit_test(other_sports),
    };
    if (getenv("PARLAY_TEST_FILTER"))
        cmocka_set_test_filter(getenv("PARLAY_TEST_FILTER"));
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    simproc_stop_all();
    return rv;
}
