/* Wallets end to end on a three-node accounts cluster with the payment stand-in
 * (tests/standins/pay-standin.mjs): real parlayd processes, real HTTP, real signed webhooks.
 * After every scenario the ledger check must pass on every node, and every node must hold the
 * same ledger. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <secp256k1.h>

#include "tests/integration/harness.h"

#define PW "correct horse battery staple 42"
#define PAY_SECRET "pay-webhook-secret-for-tests"
#define PAY_KEY "pay-api-key-for-tests"
#define SPORT "football"

#ifndef PARLAYD
#define PARLAYD "build/parlayd-san"
#endif

struct world {
    struct h_cluster c;
    char ban_file[512]; /* the national ban list stand-in every node reads */
    struct h_paystandin pay;
    int pay_port;
    uint8_t sport_sk[32];
    char sport_pub[67];
};

static struct world W;

/* ---- small helpers ---- */

static struct h_resp call(int i, const char *method, const char *path, const char *body,
                          const char *idem, const char *bearer)
{
    struct h_resp r = h_http_bearer(&W.c, i, method, path, body, idem, bearer);
    if (r.status >= 400 && getenv("PARLAY_TEST_VERBOSE")) {
        char *t = r.json ? json_dumps(r.json, JSON_COMPACT) : NULL;
        fprintf(stderr, "%s %s on node %d: %ld %s\n", method, path, i + 1, r.status, t ? t : "");
        free(t);
    }
    return r;
}

static const char *code_of(struct h_resp *r)
{
    const char *s = json_string_value(json_object_get(r->json, "code"));
    return s ? s : "";
}

static int64_t num(json_t *o, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(o, k));
}

/* A registered, signed-in player: their id and access token. */
struct player {
    char id[64];
    char token[2048];
};

static void new_player(int i, const char *email, struct player *p)
{
    char body[256], key[96];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, PW);
    snprintf(key, sizeof key, "reg-%s", email);
    struct h_resp r = call(i, "POST", "/v1/players", body, key, NULL);
    assert_int_equal(r.status, 201);
    snprintf(p->id, sizeof p->id, "%s", json_string_value(json_object_get(r.json, "id")));
    h_resp_free(&r);
    snprintf(key, sizeof key, "in-%s", email);
    r = call(i, "POST", "/v1/sessions", body, key, NULL);
    assert_int_equal(r.status, 201);
    snprintf(p->token, sizeof p->token, "%s",
             json_string_value(json_object_get(r.json, "access_token")));
    h_resp_free(&r);
}

/* The wallet as the leader has it now (a follower's copy may trail a write by a moment). */
static json_t *wallet(int i, struct player *p)
{
    struct h_resp r = call(i, "GET", "/v1/wallet?consistency=linearizable", NULL, NULL, p->token);
    assert_int_equal(r.status, 200);
    json_t *w = json_incref(r.json);
    h_resp_free(&r);
    return w;
}

/* Node @i's own copy. */
static int64_t balance(int i, struct player *p, const char *what)
{
    struct h_resp r = call(i, "GET", "/v1/wallet", NULL, NULL, p->token);
    assert_int_equal(r.status, 200);
    int64_t v = num(r.json, what);
    h_resp_free(&r);
    return v;
}

/* Wait until node @i shows @p's @what equal to @want. */
static bool wait_balance(int i, struct player *p, const char *what, int64_t want)
{
    for (double end = h_now() + 20; h_now() < end; h_sleep_ms(50))
        if (balance(i, p, what) == want)
            return true;
    fprintf(stderr, "node %d: %s is %lld, want %lld\n", i + 1, what,
            (long long)balance(i, p, what), (long long)want);
    return false;
}

static void set_limits(int i, struct player *p, const char *body, const char *key)
{
    struct h_resp r = call(i, "POST", "/v1/wallet/limits", body, key, p->token);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
}

/* POST to the stand-in (its base URL + @path); the status, the JSON in @out if given. */
static long pay_post(const char *path, const char *body, json_t **out)
{
    struct h_resp r = h_http_raw(W.pay_port, "POST", path, body, NULL, 10000);
    long st = r.status;
    if (out)
        *out = json_incref(r.json);
    h_resp_free(&r);
    return st;
}

/* Open a deposit on node @i and pay it on the hosted page; returns the deposit JSON. */
static json_t *deposit(int i, struct player *p, int64_t amount, const char *key)
{
    char body[64];
    snprintf(body, sizeof body, "{\"amount\":%lld}", (long long)amount);
    struct h_resp r = call(i, "POST", "/v1/wallet/deposits", body, key, p->token);
    assert_int_equal(r.status, 201);
    json_t *d = json_incref(r.json);
    h_resp_free(&r);
    assert_non_null(strstr(json_string_value(json_object_get(d, "url")), "/pay/"));
    char path[256];
    snprintf(path, sizeof path, "/pay/%s/confirm",
             json_string_value(json_object_get(d, "payment_id")));
    struct h_resp c = h_http_raw(W.pay_port, "POST", path, "card=4242424242424242", NULL, 10000);
    assert_int_equal(c.status, 303);
    h_resp_free(&c);
    return d;
}

/* The ledger check passes on every running node, and they all hold the same ledger: read
 * round after round until every node reports the same number of transfers in one round (the
 * leader may still be moving money, e.g. closing provisional accounts one after another, and
 * followers trail it by a moment), at most 60 s. */
static void ledger_ok_everywhere(void)
{
    for (double end = h_now() + 60;; h_sleep_ms(200)) {
        int64_t first = -1;
        bool same = true;
        for (int i = 0; i < W.c.n; i++) {
            if (!W.c.nodes[i].pid)
                continue;
            struct h_resp r = h_http(&W.c, i, "GET", "/admin/v1/ledger/check", NULL, NULL, true);
            assert_int_equal(r.status, 200);
            if (!json_is_true(json_object_get(r.json, "ok"))) {
                char *t = json_dumps(r.json, JSON_INDENT(1));
                fprintf(stderr, "node %d: %s\n", i + 1, t);
                free(t);
                fail_msg("the ledger check failed on node %d", i + 1);
            }
            int64_t t = num(r.json, "transfers");
            if (first < 0)
                first = t;
            else if (t != first)
                same = false;
            h_resp_free(&r);
        }
        if (same)
            break;
        if (h_now() > end)
            fail_msg("the nodes' ledgers did not reach the same transfer count within 60 s");
    }
    for (int i = 0; i < W.c.n; i++) {
        if (!W.c.nodes[i].pid)
            continue;
        /* And the operator's command agrees (exit 0 only when the check passes). */
        char out[4096];
        assert_int_equal(h_parlayctl(&W.c, i, "ledger check", out, sizeof out), 0);
        assert_non_null(strstr(out, "ledger OK"));
    }
}

/* ---- sport-cluster calls, signed with a member's key ---- */

static void sport_digest(const char *ts, const char *method, const char *path, const char *body,
                         uint8_t out[32])
{
    /* SHA-256("parlay-wallet-v1" NUL cluster NUL ts NUL method NUL path NUL body), as
     * consensus/wallet.h specifies it (written here again, independently). */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    const char *parts[] = {"parlay-wallet-v1", SPORT, ts, method, path};
    for (int i = 0; i < 5; i++)
        EVP_DigestUpdate(md, parts[i], strlen(parts[i]) + 1);
    EVP_DigestUpdate(md, body, strlen(body));
    EVP_DigestFinal_ex(md, out, NULL);
    EVP_MD_CTX_free(md);
}

static struct h_resp sport_call(int i, const char *method, const char *path, const char *body,
                                const uint8_t *sk)
{
    char ts[32], sig[160], h1[64], h2[64], h3[200];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    uint8_t digest[32], raw[64];
    char bare[256]; /* the path signed is the path without its query */
    snprintf(bare, sizeof bare, "%.*s", (int)strcspn(path, "?"), path);
    sport_digest(ts, method, bare, body ? body : "", digest);
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    secp256k1_ecdsa_signature s;
    assert_true(secp256k1_ecdsa_sign(ctx, &s, digest, sk, NULL, NULL));
    secp256k1_ecdsa_signature_serialize_compact(ctx, raw, &s);
    secp256k1_context_destroy(ctx);
    for (int k = 0; k < 64; k++)
        sprintf(sig + 2 * k, "%02x", raw[k]);
    snprintf(h1, sizeof h1, "parlay-cluster: %s", SPORT);
    snprintf(h2, sizeof h2, "parlay-timestamp: %s", ts);
    snprintf(h3, sizeof h3, "parlay-signature: %s", sig);
    const char *headers[] = {h1, h2, h3, "content-type: application/json", NULL};
    return h_http_host("127.0.0.1", W.c.nodes[i].http_port, method, path, body, headers, 20000);
}

static long hold(int i, const char *id, struct player *p, int64_t amount, int64_t timeout_ms,
                 json_t **out)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"hold_id\":\"%s\",\"player_id\":\"%s\",\"amount\":%lld,\"timeout_ms\":%lld}", id,
             p->id, (long long)amount, (long long)timeout_ms);
    struct h_resp r = sport_call(i, "POST", "/internal/v1/holds", body, W.sport_sk);
    long st = r.status;
    if (out)
        *out = json_incref(r.json);
    h_resp_free(&r);
    return st;
}

static long resolve(int i, const char *id, const char *how, const char *body, json_t **out)
{
    char path[160];
    snprintf(path, sizeof path, "/internal/v1/holds/%s/%s", id, how);
    struct h_resp r = sport_call(i, "POST", path, body ? body : "", W.sport_sk);
    long st = r.status;
    if (out)
        *out = json_incref(r.json);
    h_resp_free(&r);
    return st;
}

/* ---- set-up ---- */

/* Replace the ban list file (a new file renamed over the old, as a real update would do). */
static void write_ban_list(const char *text)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.new", W.ban_file);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, W.ban_file), 0);
}

static int setup(void **state)
{
    (void)state;
    memset(&W, 0, sizeof W);
    assert_int_equal(h_paystandin_start(&W.pay, PAY_SECRET, PAY_KEY), 0);
    const char *colon = strrchr(W.pay.url, ':');
    assert_non_null(colon);
    W.pay_port = atoi(colon + 1);
    h_cluster_init(&W.c, 3);
    W.c.role = "accounts";
    /* The provider calls the next node (as it would call the edge, which picks any node): a
     * deposit's webhook arrives at a node other than the one that opened it. */
    char cfg[1536];
    h_paystandin_config(&W.pay, cfg, sizeof cfg);
    /* The national gambling-ban list: a person (matched on a verified identity) and an email. */
    snprintf(W.ban_file, sizeof W.ban_file, "%s/ban-list.txt", W.c.root);
    write_ban_list("# ANJ stand-in\nperson: DE LA FONTAINE|Jean|1970-01-02\n"
                   "email: eve@example.fr\n");
    for (int i = 0; i < 3; i++) {
        json_t *j = json_loads(cfg, 0, NULL), *pay = json_object_get(j, "payments");
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%d", W.c.nodes[(i + 1) % 3].http_port);
        json_object_set_new(pay, "webhook_url", json_string(url));
        json_object_set_new(j, "ban_list_file", json_string(W.ban_file));
        json_object_set_new(j, "test_clock", json_true());
        char *t = json_dumps(j, JSON_COMPACT);
        assert_true(strlen(t) < sizeof W.c.node_extra[i]);
        strcpy(W.c.node_extra[i], t);
        free(t);
        json_decref(j);
    }
    h_cluster_write_configs(&W.c);
    h_accounts_ready(&W.c);
    /* The sport cluster's member key, registered by an operator. */
    assert_int_equal(RAND_bytes(W.sport_sk, 32), 1);
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    secp256k1_pubkey pk;
    assert_true(secp256k1_ec_pubkey_create(ctx, &pk, W.sport_sk));
    uint8_t ser[33];
    size_t sl = 33;
    secp256k1_ec_pubkey_serialize(ctx, ser, &sl, &pk, SECP256K1_EC_COMPRESSED);
    secp256k1_context_destroy(ctx);
    for (int k = 0; k < 33; k++)
        sprintf(W.sport_pub + 2 * k, "%02x", ser[k]);
    /* An operator registers it with parlayctl (on a follower: sent on to the leader). */
    char args[256], out[2048];
    snprintf(args, sizeof args, "wallet register-cluster %s %s", SPORT, W.sport_pub);
    int L = h_wait_leader(&W.c, H_WAIT_MS);
    assert_int_equal(h_parlayctl(&W.c, (L + 1) % 3, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "registered with 1 member key"));
    assert_int_equal(h_parlayctl(&W.c, L, "wallet register-cluster BAD! 02ab", out, sizeof out), 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    h_cluster_destroy(&W.c);
    h_paystandin_stop(&W.pay);
    return 0;
}

/* ---- scenarios ---- */

/* Deposit end to end: limits first; opened on a follower, paid on the hosted page, credited by
 * the webhook at another node; duplicates and replays credit once; forged and stale ones are
 * refused and change nothing. */
static void deposit_end_to_end(void **state)
{
    (void)state;
    int L = h_wait_leader(&W.c, H_WAIT_MS), F = (L + 1) % 3;
    struct player a;
    new_player(F, "alice@example.fr", &a);
    struct h_resp r = call(F, "POST", "/v1/wallet/deposits", "{\"amount\":1000}", "dep-0", a.token);
    assert_int_equal(r.status, 403);
    assert_string_equal(code_of(&r), "limits_required");
    h_resp_free(&r);
    /* Bad input: problem+json, nothing changes. */
    set_limits(F, &a, "{\"deposit_7d\":50000,\"stake_7d\":20000}", "lim-1");
    r = call(F, "POST", "/v1/wallet/deposits", "{\"amount\":-5}", "dep-bad", a.token);
    assert_int_equal(r.status, 422);
    h_resp_free(&r);
    r = call(F, "POST", "/v1/wallet/deposits", "{\"amount\":10}", NULL, a.token);
    assert_int_equal(r.status, 428);
    h_resp_free(&r);
    r = call(F, "POST", "/v1/wallet/deposits", "{\"amount\":60000}", "dep-big", a.token);
    assert_int_equal(r.status, 403);
    assert_string_equal(code_of(&r), "deposit_limit");
    h_resp_free(&r);

    /* Duplicates: every delivery sent three times. */
    assert_int_equal(pay_post("/__test__/mode", "{\"duplicates\":3}", NULL), 200);
    json_t *d = deposit(F, &a, 2500, "dep-1");
    for (int i = 0; i < 3; i++)
        assert_true(wait_balance(i, &a, "balance", 2500));
    /* The same request again answers the same deposit (no second payment). */
    r = call((F + 1) % 3, "POST", "/v1/wallet/deposits", "{\"amount\":2500}", "dep-1", a.token);
    assert_int_equal(r.status, 201);
    assert_string_equal(json_string_value(json_object_get(r.json, "payment_id")),
                        json_string_value(json_object_get(d, "payment_id")));
    h_resp_free(&r);
    /* A replayed event (same id), a forged one and a stale one. */
    char path[256];
    snprintf(path, sizeof path, "/__test__/payments/%s/event",
             json_string_value(json_object_get(d, "payment_id")));
    json_t *out = NULL;
    assert_int_equal(pay_post(path, "{\"type\":\"payment.succeeded\",\"repeat\":3}", &out), 200);
    json_t *st = json_object_get(out, "statuses");
    for (size_t k = 0; k < json_array_size(st); k++)
        assert_int_equal(json_integer_value(json_array_get(st, k)), 200);
    json_decref(out);
    assert_int_equal(pay_post(path, "{\"type\":\"payment.succeeded\",\"tamper\":\"signature\"}",
                              &out),
                     200);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(out, "statuses"), 0)), 401);
    json_decref(out);
    assert_int_equal(pay_post(path, "{\"type\":\"payment.refunded\",\"tamper\":\"stale\"}", &out),
                     200);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(out, "statuses"), 0)), 401);
    json_decref(out);
    assert_int_equal(pay_post("/__test__/mode", "{\"duplicates\":1}", NULL), 200);
    for (int i = 0; i < 3; i++)
        assert_true(wait_balance(i, &a, "balance", 2500));
    /* The statement shows one deposit. */
    r = call(L, "GET", "/v1/wallet/transactions", NULL, NULL, a.token);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    h_resp_free(&r);
    /* A failed payment credits nothing. */
    assert_int_equal(pay_post("/__test__/mode", "{\"payments\":\"fail\"}", NULL), 200);
    json_t *d2 = deposit(L, &a, 700, "dep-2");
    char dpath[160];
    snprintf(dpath, sizeof dpath, "/v1/wallet/deposits/%s",
             json_string_value(json_object_get(d2, "deposit_id")));
    bool failed = false;
    for (double end = h_now() + 20; h_now() < end && !failed; h_sleep_ms(50)) {
        r = call(F, "GET", dpath, NULL, NULL, a.token);
        failed = r.status == 200 &&
                 !strcmp(json_string_value(json_object_get(r.json, "status")), "failed");
        h_resp_free(&r);
    }
    assert_true(failed);
    assert_int_equal(pay_post("/__test__/mode", "{\"payments\":\"succeed\"}", NULL), 200);
    assert_int_equal(balance(F, &a, "balance"), 2500);
    json_decref(d);
    json_decref(d2);
    ledger_ok_everywhere();
}

/* A new player with stake and deposit limits of 1,000.00 and 100.00 deposited (keys lim-TAG,
 * dep-TAG), credited on node @i. */
static void funded_player(int i, const char *email, const char *tag, struct player *p)
{
    char lim[32], dep[32];
    snprintf(lim, sizeof lim, "lim-%s", tag);
    snprintf(dep, sizeof dep, "dep-%s", tag);
    new_player(i, email, p);
    set_limits(i, p, "{\"deposit_7d\":100000,\"stake_7d\":100000}", lim);
    json_decref(deposit(i, p, 10000, dep));
    assert_true(wait_balance(i, p, "balance", 10000));
}

struct racer {
    int node, n, accepted_count;
    int64_t accepted;
    struct player *p;
    char prefix[16];
};

static void *race(void *arg)
{
    struct racer *r = arg;
    for (int k = 0; k < r->n; k++) {
        char id[64];
        snprintf(id, sizeof id, "%s-%d", r->prefix, k);
        int64_t amount = 100 + (k * 37) % 400;
        long st = hold(r->node, id, r->p, amount, 600000, NULL);
        if (st == 201) {
            r->accepted += amount;
            r->accepted_count++;
        }
    }
    return NULL;
}

/* Holds from many clients on all nodes never overdraw; post (part, with payout), void and
 * expiry move exactly the right amounts; a second resolve answers the first result. */
static void holds_never_overdraw(void **state)
{
    (void)state;
    int L = h_wait_leader(&W.c, H_WAIT_MS);
    struct player b;
    funded_player(L, "bob@example.fr", "b", &b);
    /* Unsigned, wrongly signed and unknown-cluster calls are refused. */
    struct h_resp r = h_http(&W.c, L, "POST", "/internal/v1/holds", "{}", NULL, true);
    assert_int_equal(r.status, 401);
    h_resp_free(&r);
    uint8_t other[32];
    assert_int_equal(RAND_bytes(other, 32), 1);
    r = sport_call(L, "POST", "/internal/v1/holds", "{\"hold_id\":\"x\"}", other);
    assert_int_equal(r.status, 403);
    h_resp_free(&r);

    struct racer rs[6];
    pthread_t th[6];
    for (int k = 0; k < 6; k++) {
        rs[k] = (struct racer){.node = k % 3, .n = 12, .p = &b};
        snprintf(rs[k].prefix, sizeof rs[k].prefix, "race%d", k);
        pthread_create(&th[k], NULL, race, &rs[k]);
    }
    int64_t accepted = 0;
    for (int k = 0; k < 6; k++) {
        pthread_join(th[k], NULL);
        accepted += rs[k].accepted;
    }
    /* 72 holds of 100..499 cents ask for far more than the 10,000 there are. */
    assert_true(accepted <= 10000);
    assert_true(accepted > 9000);
    for (int i = 0; i < 3; i++) {
        assert_true(wait_balance(i, &b, "held", accepted));
        assert_true(wait_balance(i, &b, "available", 10000 - accepted));
    }
    /* Void everything the race held, then the resolves. */
    for (int k = 0; k < 6; k++)
        for (int j = 0; j < rs[k].n; j++) {
            char id[64];
            snprintf(id, sizeof id, "%s-%d", rs[k].prefix, j);
            long st = resolve(j % 3, id, "void", NULL, NULL);
            assert_true(st == 200 || st == 404);
        }
    assert_true(wait_balance(L, &b, "available", 10000));
    json_t *out = NULL;
    assert_int_equal(hold(L, "bet-1", &b, 4000, 600000, NULL), 201);
    assert_int_equal(hold((L + 1) % 3, "bet-1", &b, 4000, 600000, NULL), 201); /* same: first answer */
    assert_int_equal(hold(L, "bet-1", &b, 4100, 600000, &out), 409);
    assert_string_equal(json_string_value(json_object_get(out, "code")), "hold_exists");
    json_decref(out);
    assert_int_equal(resolve((L + 2) % 3, "bet-1", "post", "{\"stake\":3000,\"payout\":6600}", &out),
                     200);
    json_decref(out);
    assert_int_equal(resolve(L, "bet-1", "post", "{\"stake\":3000,\"payout\":6600}", &out), 200);
    assert_int_equal(num(out, "payout"), 6600);
    json_decref(out);
    assert_int_equal(resolve(L, "bet-1", "void", NULL, &out), 409);
    assert_string_equal(json_string_value(json_object_get(out, "code")), "hold_already_posted");
    json_decref(out);
    assert_true(wait_balance(L, &b, "balance", 10000 - 3000 + 6600));
    /* Expiry: the leader expires a hold past its deadline by itself. */
    assert_int_equal(hold(L, "bet-2", &b, 500, 1000, NULL), 201);
    assert_true(wait_balance(L, &b, "held", 500));
    for (int i = 0; i < 3; i++)
        assert_true(wait_balance(i, &b, "held", 0));
    assert_int_equal(resolve(L, "bet-2", "post", "{\"stake\":500,\"payout\":0}", &out), 409);
    assert_string_equal(json_string_value(json_object_get(out, "code")), "hold_expired");
    json_decref(out);
    assert_int_equal(balance(L, &b, "balance"), 13600);
    /* The operator's view and the TRJ. */
    char path[128];
    snprintf(path, sizeof path, "/admin/v1/wallets/%s", b.id);
    r = h_http(&W.c, L, "GET", path, NULL, NULL, true);
    assert_int_equal(r.status, 200);
    assert_int_equal(num(r.json, "balance"), 13600);
    h_resp_free(&r);
    r = h_http(&W.c, L, "GET", "/admin/v1/ledger/trj", NULL, NULL, true);
    assert_int_equal(r.status, 200);
    assert_true(num(r.json, "stakes") >= 3000);
    h_resp_free(&r);
    /* In a batch (POST /internal/v1/hold-batches), through a follower: unsigned 401, a bad
     * body 422 invalid_batch, then items each answered with the single call's rules (placed,
     * insufficient funds, the first post's answer again, voided); sent again to another node,
     * the same answers and nothing moves. */
    int F = (L + 1) % 3;
    r = h_http(&W.c, F, "POST", "/internal/v1/hold-batches", "{\"items\":[]}", NULL, true);
    assert_int_equal(r.status, 401);
    h_resp_free(&r);
    const char *bad[] = {"{\"items\":[]}", "{\"items\":{}}", "{\"items\":[{}],\"x\":1}"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        r = sport_call(F, "POST", "/internal/v1/hold-batches", bad[k], W.sport_sk);
        assert_int_equal(r.status, 422);
        assert_string_equal(json_string_value(json_object_get(r.json, "code")), "invalid_batch");
        h_resp_free(&r);
    }
    r = sport_call(F, "POST", "/internal/v1/hold-batches", "[]", W.sport_sk);
    assert_int_equal(r.status, 400);
    h_resp_free(&r);
    char batch[1024];
    snprintf(batch, sizeof batch,
             "{\"items\":[{\"op\":\"place\",\"hold_id\":\"bet-3\",\"player_id\":\"%s\","
             "\"amount\":2000,\"timeout_ms\":600000},{\"op\":\"place\",\"hold_id\":\"bet-4\","
             "\"player_id\":\"%s\",\"amount\":50000,\"timeout_ms\":600000},{\"op\":\"post\","
             "\"hold_id\":\"bet-1\",\"stake\":3000,\"payout\":6600},{\"op\":\"void\","
             "\"hold_id\":\"bet-3\"}]}",
             b.id, b.id);
    for (int round = 0; round < 2; round++) {
        r = sport_call(round ? L : F, "POST", "/internal/v1/hold-batches", batch, W.sport_sk);
        assert_int_equal(r.status, 200);
        json_t *res = json_object_get(r.json, "results");
        assert_int_equal(json_array_size(res), 4);
        const long want[4] = {201, 409, 200, 200};
        for (size_t k = 0; k < 4; k++)
            assert_int_equal(num(json_array_get(res, k), "status"), want[k]);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(json_array_get(res, 1), "body"),
                                              "code")),
            "insufficient_funds");
        assert_int_equal(num(json_object_get(json_array_get(res, 2), "body"), "payout"), 6600);
        h_resp_free(&r);
    }
    /* The audit's read of the holds, linearizable, at once on every node (a follower forwards
     * it, signature and all, to the leader): bet-3 is voided, never still pending. A
     * consistency that is neither is refused. */
    for (int i = 0; i < 3; i++) {
        r = sport_call(i, "GET", "/internal/v1/holds?limit=1000&consistency=linearizable", "",
                       W.sport_sk);
        assert_int_equal(r.status, 200);
        const char *st = NULL;
        size_t k;
        json_t *it;
        json_array_foreach(json_object_get(r.json, "items"), k, it)
        {
            if (!strcmp(json_string_value(json_object_get(it, "id")) ?: "", "bet-3"))
                st = json_string_value(json_object_get(it, "status"));
        }
        assert_non_null(st);
        assert_string_equal(st, "voided");
        h_resp_free(&r);
    }
    r = sport_call(F, "GET", "/internal/v1/holds?consistency=eventual", "", W.sport_sk);
    assert_int_equal(r.status, 400);
    h_resp_free(&r);
    /* Unsigned: 401 before anything else is read or forwarded (an admin token is no sport
     * cluster). */
    r = h_http(&W.c, F, "GET", "/internal/v1/holds?consistency=linearizable", NULL, NULL, true);
    assert_int_equal(r.status, 401);
    h_resp_free(&r);
    for (int i = 0; i < 3; i++) {
        /* Every node has applied the batch (bet-3 placed and voided) before the check. */
        bool voided = false;
        for (double end = h_now() + 20; h_now() < end && !voided; h_sleep_ms(100)) {
            r = sport_call(i, "GET", "/internal/v1/holds/bet-3", "", W.sport_sk);
            voided = r.status == 200 &&
                     !strcmp(json_string_value(json_object_get(r.json, "status")) ?: "", "voided");
            h_resp_free(&r);
        }
        assert_true(voided);
        assert_true(wait_balance(i, &b, "held", 0));
        assert_true(wait_balance(i, &b, "balance", 13600));
    }
    ledger_ok_everywhere();
}

struct batcher {
    int node, index, answered;
    int64_t accepted;
    const char *player;
};

#define BATCHERS 8
#define BATCH_ITEMS 200

/* One batch of BATCH_ITEMS places (or, with @op "void", their voids) from @b. */
static struct h_resp batch_call(const struct batcher *b, const char *op)
{
    size_t cap = BATCH_ITEMS * 180 + 32, len = 0;
    char *body = malloc(cap);
    len += (size_t)snprintf(body, cap, "{\"items\":[");
    for (int k = 0; k < BATCH_ITEMS; k++) {
        int64_t amount = 100 + (k * 37 + b->index) % 400;
        if (!strcmp(op, "place"))
            len += (size_t)snprintf(body + len, cap - len,
                                    "%s{\"op\":\"place\",\"hold_id\":\"qb%d-%d\",\"player_id\":"
                                    "\"%s\",\"amount\":%lld,\"timeout_ms\":600000}",
                                    k ? "," : "", b->index, k, b->player, (long long)amount);
        else
            len += (size_t)snprintf(body + len, cap - len,
                                    "%s{\"op\":\"void\",\"hold_id\":\"qb%d-%d\"}", k ? "," : "",
                                    b->index, k);
    }
    snprintf(body + len, cap - len, "]}");
    struct h_resp r = sport_call(b->node, "POST", "/internal/v1/hold-batches", body, W.sport_sk);
    free(body);
    return r;
}

static void *batch_race(void *arg)
{
    struct batcher *b = arg;
    struct h_resp r = batch_call(b, "place");
    json_t *res = json_object_get(r.json, "results");
    if (r.status == 200 && json_array_size(res) == BATCH_ITEMS) {
        b->answered = 1;
        for (int k = 0; k < BATCH_ITEMS; k++)
            if (num(json_array_get(res, (size_t)k), "status") == 201)
                b->accepted += 100 + (k * 37 + b->index) % 400;
    }
    h_resp_free(&r);
    return NULL;
}

/* Hold batches from many sport leaders at once, more than the leader lets be in flight (the
 * others wait in its queue, node/write.c): every batch is answered, and the holds accepted
 * never add up to more than the balance. */
static void hold_batches_queued_never_overdraw(void **state)
{
    (void)state;
    int L = h_wait_leader(&W.c, H_WAIT_MS);
    struct player q;
    funded_player(L, "quinn@example.fr", "q", &q);
    struct batcher bs[BATCHERS];
    pthread_t th[BATCHERS];
    for (int k = 0; k < BATCHERS; k++) {
        bs[k] = (struct batcher){.node = k % 3, .index = k, .player = q.id};
        pthread_create(&th[k], NULL, batch_race, &bs[k]);
    }
    int64_t accepted = 0;
    for (int k = 0; k < BATCHERS; k++) {
        pthread_join(th[k], NULL);
        assert_int_equal(bs[k].answered, 1);
        accepted += bs[k].accepted;
    }
    /* 1,600 holds of 100..499 cents ask for far more than the 10,000 there are. */
    assert_true(accepted <= 10000);
    assert_true(accepted > 9000);
    for (int i = 0; i < 3; i++)
        assert_true(wait_balance(i, &q, "available", 10000 - accepted));
    for (int k = 0; k < BATCHERS; k++) {
        struct h_resp r = batch_call(&bs[k], "void");
        assert_int_equal(r.status, 200);
        h_resp_free(&r);
    }
    for (int i = 0; i < 3; i++) {
        assert_true(wait_balance(i, &q, "held", 0));
        assert_true(wait_balance(i, &q, "available", 10000));
    }
    ledger_ok_everywhere();
}

/* Limits lower at once and self-exclusion stops play; a withdrawal needs a verified identity,
 * is held at once, and posted when the provider pays it. */
static void protection_and_withdrawals(void **state)
{
    (void)state;
    int L = h_wait_leader(&W.c, H_WAIT_MS), F = (L + 2) % 3;
    struct player c;
    new_player(F, "carol@example.fr", &c);
    set_limits(F, &c, "{\"deposit_7d\":20000,\"stake_7d\":5000}", "lim-c1");
    json_decref(deposit(F, &c, 8000, "dep-c"));
    assert_true(wait_balance(F, &c, "balance", 8000));
    /* Lowering the stake limit applies at once; raising waits 48 hours. */
    set_limits(F, &c, "{\"stake_7d\":300}", "lim-c2");
    json_t *out = NULL;
    assert_int_equal(hold(F, "c-1", &c, 301, 60000, &out), 403);
    assert_string_equal(json_string_value(json_object_get(out, "code")), "stake_limit");
    json_decref(out);
    set_limits(F, &c, "{\"stake_7d\":9000}", "lim-c3");
    json_t *w = wallet(F, &c);
    assert_int_equal(num(json_object_get(w, "limits"), "stake_7d"), 300);
    assert_non_null(json_object_get(json_object_get(w, "pending_raises"), "stake_7d"));
    json_decref(w);
    assert_int_equal(hold(F, "c-1", &c, 301, 60000, NULL), 403);
    /* Withdrawal before verification: refused. */
    struct h_resp r = call(F, "POST", "/v1/wallet/withdrawals", "{\"amount\":1000}", "wd-1", c.token);
    assert_int_equal(r.status, 403);
    assert_string_equal(code_of(&r), "not_verified");
    h_resp_free(&r);
    char path[160], body[128];
    snprintf(path, sizeof path, "/admin/v1/players/%s/kyc", c.id);
    snprintf(body, sizeof body, "{\"status\":\"verified\",\"reason\":\"documents checked\"}");
    r = h_http(&W.c, L, "POST", path, body, "kyc-c", true);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    /* Verified: withdraw 3000; it is held at once and posted on "paid". */
    for (double end = h_now() + 10; h_now() < end; h_sleep_ms(50)) {
        r = call(F, "POST", "/v1/wallet/withdrawals", "{\"amount\":3000}", "wd-2", c.token);
        long st = r.status;
        h_resp_free(&r);
        if (st == 201)
            break;
    }
    assert_true(wait_balance(F, &c, "balance", 5000));
    assert_true(wait_balance(F, &c, "held", 0));
    /* A failed payout returns the money. */
    assert_int_equal(pay_post("/__test__/mode", "{\"payouts\":\"failed\"}", NULL), 200);
    r = call(F, "POST", "/v1/wallet/withdrawals", "{\"amount\":1000}", "wd-3", c.token);
    assert_int_equal(r.status, 201);
    snprintf(path, sizeof path, "/v1/wallet/withdrawals/%s",
             json_string_value(json_object_get(r.json, "id")));
    h_resp_free(&r);
    bool failed = false;
    for (double end = h_now() + 20; h_now() < end && !failed; h_sleep_ms(50)) {
        r = call(L, "GET", path, NULL, NULL, c.token);
        failed = r.status == 200 &&
                 !strcmp(json_string_value(json_object_get(r.json, "status")), "failed");
        h_resp_free(&r);
    }
    assert_true(failed);
    assert_true(wait_balance(F, &c, "available", 5000));
    assert_int_equal(pay_post("/__test__/mode", "{\"payouts\":\"paid\"}", NULL), 200);
    /* Self-exclusion: immediate. */
    r = call(F, "POST", "/v1/wallet/self-exclusion", "{\"hours\":12}", "ex-0", c.token);
    assert_int_equal(r.status, 422);
    h_resp_free(&r);
    r = call(F, "POST", "/v1/wallet/self-exclusion", "{\"hours\":24}", "ex-1", c.token);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    assert_int_equal(hold(L, "c-2", &c, 100, 60000, &out), 403);
    assert_string_equal(json_string_value(json_object_get(out, "code")), "self_excluded");
    json_decref(out);
    r = call(F, "POST", "/v1/wallet/deposits", "{\"amount\":100}", "dep-c2", c.token);
    assert_int_equal(r.status, 403);
    assert_string_equal(code_of(&r), "self_excluded");
    h_resp_free(&r);
    ledger_ok_everywhere();
}

/* Open a deposit on a live node (retrying with the same key, so the same deposit, until a
 * definitive answer) and pay it on the hosted page; the stand-in then delivers its webhook,
 * retrying with back-off while the node it calls is down. Returns the amount acknowledged. */
static int64_t deposit_through(int prefer, struct player *p, int64_t amount, const char *key)
{
    char body[64];
    snprintf(body, sizeof body, "{\"amount\":%lld}", (long long)amount);
    json_t *d = NULL;
    for (double end = h_now() + 40; h_now() < end && !d; h_sleep_ms(100)) {
        int node = prefer;
        for (int k = 0; k < 3 && !W.c.nodes[node].pid; k++)
            node = (node + 1) % 3;
        struct h_resp r = call(node, "POST", "/v1/wallet/deposits", body, key, p->token);
        if (r.status == 201)
            d = json_incref(r.json);
        else if (r.status >= 400 && r.status < 500 && r.status != 409 && r.status != 429)
            fail_msg("deposit %s refused: %ld", key, r.status);
        h_resp_free(&r);
    }
    assert_non_null(d);
    char path[256];
    snprintf(path, sizeof path, "/pay/%s/confirm",
             json_string_value(json_object_get(d, "payment_id")));
    struct h_resp c = h_http_raw(W.pay_port, "POST", path, "card=4242424242424242", NULL, 10000);
    assert_int_equal(c.status, 303);
    h_resp_free(&c);
    json_decref(d);
    return amount;
}

/* kill -9 the leader while deposits (their webhooks included) and holds are being made: every
 * acknowledged movement is there exactly once and the ledger check passes on every node. */
static void leader_killed_during_money(void **state)
{
    (void)state;
    int L = h_wait_leader(&W.c, H_WAIT_MS);
    int A = (L + 1) % 3;
    struct player d;
    new_player(A, "dave@example.fr", &d);
    set_limits(A, &d, "{\"deposit_7d\":1000000,\"stake_7d\":1000000}", "lim-d");
    json_decref(deposit(A, &d, 50000, "dep-d0"));
    assert_true(wait_balance(A, &d, "balance", 50000));
    int64_t held = 0, deposited = 50000;
    int acked = 0, deposits = 1;
    for (int k = 0; k < 40; k++) {
        if (k == 15)
            h_node_kill(&W.c, L);
        /* Every third step a deposit too, on a node that takes turns (the webhook goes to the
         * next node, the dead leader included: the stand-in retries). */
        if (k % 3 == 0) {
            char key[32];
            snprintf(key, sizeof key, "dep-kd-%d", k);
            deposited += deposit_through((k / 3) % 3, &d, 1000 + k, key);
            deposits++;
        }
        char id[32];
        snprintf(id, sizeof id, "kd-%d", k);
        /* Retry the same hold (same id) until it has a definitive answer, on live nodes. */
        long st = 0;
        for (double end = h_now() + 40; h_now() < end; h_sleep_ms(100)) {
            int node = k % 3 == L ? A : k % 3;
            if (!W.c.nodes[node].pid)
                node = A;
            st = hold(node, id, &d, 100, 600000, NULL);
            if (st == 201 || (st >= 400 && st < 500))
                break;
        }
        assert_int_equal(st, 201);
        held += 100;
        acked++;
    }
    h_node_start(&W.c, L);
    h_start_cluster(&W.c);
    /* Every acknowledged deposit credited exactly once (webhook retries, duplicates and the
     * leader change notwithstanding), on every node. */
    for (int i = 0; i < 3; i++) {
        bool ok = false;
        for (double end = h_now() + 90; h_now() < end && !ok; h_sleep_ms(200))
            ok = balance(i, &d, "balance") == deposited;
        if (!ok)
            fprintf(stderr, "node %d: balance %lld, want %lld\n", i + 1,
                    (long long)balance(i, &d, "balance"), (long long)deposited);
        assert_true(ok);
        assert_true(wait_balance(i, &d, "held", held));
    }
    assert_int_equal(acked, 40);
    /* Some webhook did go to the dead leader (no answer) and was delivered later. */
    struct h_resp dl = h_http_raw(W.pay_port, "GET", "/__test__/deliveries", NULL, NULL, 10000);
    assert_int_equal(dl.status, 200);
    int late = 0;
    json_t *rec;
    size_t di;
    json_array_foreach(dl.json, di, rec)
    {
        json_t *at = json_object_get(rec, "attempts");
        size_t na = json_array_size(at);
        bool missed = false;
        for (size_t k = 0; k + 1 < na; k++)
            missed = missed || json_integer_value(json_array_get(at, k)) < 0;
        late += missed && json_integer_value(json_array_get(at, na - 1)) / 100 == 2;
    }
    h_resp_free(&dl);
    assert_true(late >= 1);
    /* Each movement exactly once in the statement: every deposit and the 40 holds. */
    struct h_resp r = call(L, "GET", "/v1/wallet/transactions?limit=500", NULL, NULL, d.token);
    assert_int_equal(r.status, 200);
    json_t *items = json_object_get(r.json, "items"), *t;
    size_t n;
    int dep_seen = 0, hold_seen = 0;
    json_array_foreach(items, n, t)
    {
        const char *kind = json_string_value(json_object_get(t, "kind"));
        dep_seen += kind && !strcmp(kind, "deposit");
        hold_seen += kind && !strcmp(kind, "stake");
    }
    assert_int_equal(dep_seen, deposits);
    assert_int_equal(hold_seen, 40);
    assert_int_equal(json_array_size(items), (size_t)(deposits + 40));
    h_resp_free(&r);
    ledger_ok_everywhere();
}

/* The automatic withdrawal: a verified player's credits above their auto_withdraw threshold
 * leave by themselves, a deposit's and a bet's payout alike: the excess is held in the
 * crediting command, the leader sends the payout, the provider pays it. */
static void auto_withdraw_end_to_end(void **state)
{
    (void)state;
    int L = h_wait_leader(&W.c, H_WAIT_MS), F = (L + 1) % 3;
    struct player h;
    new_player(F, "henri@example.fr", &h);
    char path[160];
    snprintf(path, sizeof path, "/admin/v1/players/%s/kyc", h.id);
    struct h_resp r = h_http(&W.c, L, "POST", path,
                             "{\"status\":\"verified\",\"reason\":\"documents checked\"}",
                             "kyc-h", true);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    set_limits(F, &h, "{\"deposit_7d\":50000,\"stake_7d\":20000,\"auto_withdraw\":2000}", "lim-h");
    json_decref(deposit(F, &h, 5000, "dep-h"));
    /* 5000 credited, 3000 over the threshold withdrawn and paid: 2000 stay, nothing held. */
    for (int i = 0; i < 3; i++) {
        assert_true(wait_balance(i, &h, "balance", 2000));
        assert_true(wait_balance(i, &h, "held", 0));
    }
    /* A bet wins 4000 on a 1000 stake: 5000 available, 3000 go out again. */
    assert_int_equal(hold(F, "h-1", &h, 1000, 600000, NULL), 201);
    assert_int_equal(resolve(L, "h-1", "post", "{\"stake\":1000,\"payout\":4000}", NULL), 200);
    for (int i = 0; i < 3; i++) {
        assert_true(wait_balance(i, &h, "balance", 2000));
        assert_true(wait_balance(i, &h, "held", 0));
    }
    /* The statement shows the two automatic withdrawals, each held then paid. */
    r = call(L, "GET", "/v1/wallet/transactions?limit=100", NULL, NULL, h.token);
    assert_int_equal(r.status, 200);
    json_t *t;
    size_t k;
    int autos = 0, paid = 0;
    json_array_foreach(json_object_get(r.json, "items"), k, t)
    {
        const char *ref = json_string_value(json_object_get(t, "ref")),
                   *kind = json_string_value(json_object_get(t, "kind"));
        if (!ref || strncmp(ref, "auto:", 5))
            continue;
        if (!strcmp(kind, "withdrawal")) {
            autos++;
            assert_int_equal(num(t, "amount"), 3000);
        } else if (!strcmp(kind, "hold_post")) {
            paid++;
        }
    }
    h_resp_free(&r);
    assert_int_equal(autos, 2);
    assert_int_equal(paid, 2);
    ledger_ok_everywhere();
}

/* Node @i's /metrics text into @out. */
static void metrics_of(int i, char *out, size_t n)
{
    h_metrics(&W.c, i, out, n);
}

/* The value of the series @name (with its labels) in @text, or -1 when absent. */
static double series_value(const char *text, const char *name)
{
    char key[160];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *at = strstr(text, key);
    return at ? strtod(at + strlen(key), NULL) : -1;
}

/* The return to player of this year in every node's /metrics: the same stakes and payouts as
 * the ledger's TRJ (GET /admin/v1/ledger/trj), the ratio, the cap and the over-the-cap alert
 * (the bets above paid 6600 on 3000 of stakes: far over 85 %). */
static void trj_in_metrics(void **state)
{
    (void)state;
    int L = h_wait_leader(&W.c, H_WAIT_MS);
    struct h_resp r = h_http(&W.c, L, "GET", "/admin/v1/ledger/trj", NULL, NULL, true);
    assert_int_equal(r.status, 200);
    int year = (int)num(r.json, "year");
    int64_t stakes = num(r.json, "stakes"), payouts = num(r.json, "payouts");
    bool over = json_is_true(json_object_get(r.json, "over_cap"));
    h_resp_free(&r);
    assert_true(stakes > 0);
    assert_true(over); /* 6600 paid on 3000 staked */
    for (int i = 0; i < 3; i++) {
        char text[65536], name[96];
        bool same = false;
        for (double end = h_now() + 20; h_now() < end && !same; h_sleep_ms(100)) {
            metrics_of(i, text, sizeof text);
            snprintf(name, sizeof name, "parlay_trj_stakes_cents{year=\"%d\"}", year);
            same = series_value(text, name) == (double)stakes;
        }
        if (!same)
            fprintf(stderr, "node %d metrics:\n%s\n", i + 1, text);
        assert_true(same);
        snprintf(name, sizeof name, "parlay_trj_payouts_cents{year=\"%d\"}", year);
        assert_true(series_value(text, name) == (double)payouts);
        snprintf(name, sizeof name, "parlay_trj_ratio{year=\"%d\"}", year);
        double ratio = series_value(text, name);
        assert_true(ratio > (double)payouts / (double)stakes - 1e-4 &&
                    ratio < (double)payouts / (double)stakes + 1e-4);
        snprintf(name, sizeof name, "parlay_trj_over_cap{year=\"%d\"}", year);
        assert_true(series_value(text, name) == 1);
        snprintf(name, sizeof name, "parlay_trj_over_cap{year=\"%d\"}", year - 1);
        assert_true(series_value(text, name) == 0);
        assert_true(series_value(text, "parlay_trj_cap_ratio") == 0.85);
    }
}

/* Sign in on node @i with @body until refused `banned` (fresh keys; a session granted before
 * the node read the list again is allowed), for at most 10 s. */
static bool signin_refused(int i, const char *body, const char *key)
{
    for (int k = 0; k < 100; k++, h_sleep_ms(100)) {
        char kk[64];
        snprintf(kk, sizeof kk, "%s-%d", key, k);
        struct h_resp r = call(i, "POST", "/v1/sessions", body, kk, NULL);
        bool banned = r.status == 403 && !strcmp(code_of(&r), "banned");
        assert_true(r.status == 201 || banned);
        h_resp_free(&r);
        if (banned)
            return true;
    }
    return false;
}

/* Start a one-node accounts cluster with @extra merged into its config: it must exit 1 at once
 * with @needle in what it printed. */
static void refused_at_start(const char *extra, const char *needle)
{
    struct h_cluster c;
    h_cluster_init(&c, 1);
    c.role = "accounts";
    snprintf(c.node_extra[0], sizeof c.node_extra[0], "%s", extra);
    h_cluster_write_configs(&c);
    char out[600];
    snprintf(out, sizeof out, "%s/refused.log", c.root);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(PARLAYD, PARLAYD, "--config", c.nodes[0].config, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    char log[2048] = "";
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    size_t n = fread(log, 1, sizeof log - 1, f);
    log[n] = 0;
    fclose(f);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 1 || !strstr(log, needle))
        fail_msg("expected exit 1 naming \"%s\", got %d: %s", needle, st, log);
    h_cluster_destroy(&c);
}

/* The national gambling-ban list (ban_list_file): a listed person cannot register; a player
 * added to the list later is refused at the next sign-in, and from then on the wallet refuses
 * their deposits and holds (`banned`) on every node; an unlisted player passes; a bad file
 * refuses the start, naming the key. */
static void ban_list(void **state)
{
    (void)state;
    int L = h_wait_leader(&W.c, H_WAIT_MS), F = (L + 1) % 3, G = (L + 2) % 3;
    char body[256];
    snprintf(body, sizeof body, "{\"email\":\"Eve@Example.fr\",\"password\":\"%s\"}", PW);
    struct h_resp r = call(F, "POST", "/v1/players", body, "reg-eve", NULL);
    assert_int_equal(r.status, 403);
    assert_string_equal(code_of(&r), "banned");
    h_resp_free(&r);
    /* Two unlisted players register, sign in and fund their wallets. */
    struct player fr, gr;
    new_player(F, "frank@example.fr", &fr);
    new_player(G, "grace@example.fr", &gr);
    set_limits(F, &fr, "{\"deposit_7d\":50000,\"stake_7d\":20000}", "lim-fr");
    json_decref(deposit(F, &fr, 3000, "dep-fr"));
    assert_true(wait_balance(F, &fr, "balance", 3000));
    assert_int_equal(hold(F, "fr-1", &fr, 100, 600000, NULL), 201);
    /* Frank is added to the list (another spelling of his address). The leader's sweep bans
     * him in the wallet at once, before any sign-in: his open session cannot bet on. */
    write_ban_list("# ANJ stand-in\nperson: DE LA FONTAINE|Jean|1970-01-02\n"
                   "email: eve@example.fr\nemail: FRANK@example.fr \n");
    json_t *out = NULL;
    bool swept = false;
    for (int k = 0; k < 200 && !swept; k++, h_sleep_ms(100)) {
        char id[32];
        snprintf(id, sizeof id, "fr-sweep-%d", k);
        long st = hold(F, id, &fr, 100, 600000, &out);
        swept = st == 403 && !strcmp(json_string_value(json_object_get(out, "code")), "banned");
        json_decref(out);
        assert_true(st == 201 || st == 403);
        if (st == 201) /* placed before the sweep: give it back */
            assert_int_equal(resolve(F, id, "void", NULL, NULL), 200);
    }
    assert_true(swept);
    /* And the next sign-in, on any node, is refused (once that node has read the file again:
     * it looks every 200 ms). */
    snprintf(body, sizeof body, "{\"email\":\"frank@example.fr\",\"password\":\"%s\"}", PW);
    assert_true(signin_refused(G, body, "in-frank-2"));
    for (int i = 0; i < 3; i++) {
        char id[32];
        snprintf(id, sizeof id, "fr-2-%d", i);
        assert_int_equal(hold(i, id, &fr, 100, 600000, &out), 403);
        assert_string_equal(json_string_value(json_object_get(out, "code")), "banned");
        json_decref(out);
    }
    /* The ban ended his open session too (ASVS 7.4.2): his token no longer works. */
    r = call(L, "POST", "/v1/wallet/deposits", "{\"amount\":100}", "dep-fr-2", fr.token);
    assert_int_equal(r.status, 401);
    h_resp_free(&r);
    /* The operator sees it. */
    char args[128], shown[8192];
    snprintf(args, sizeof args, "wallet get %s", fr.id);
    assert_int_equal(h_parlayctl(&W.c, F, args, shown, sizeof shown), 0);
    assert_non_null(strstr(shown, "banned (ban_list) since "));
    /* A wrong password is still just a wrong password (the list is not disclosed). */
    r = call(F, "POST", "/v1/sessions",
             "{\"email\":\"frank@example.fr\",\"password\":\"not the password at all\"}",
             "in-frank-3", NULL);
    assert_int_equal(r.status, 401);
    h_resp_free(&r);
    /* Grace, unlisted, signs in again and plays. */
    snprintf(body, sizeof body, "{\"email\":\"grace@example.fr\",\"password\":\"%s\"}", PW);
    r = call(F, "POST", "/v1/sessions", body, "in-grace-2", NULL);
    assert_int_equal(r.status, 201);
    h_resp_free(&r);
    /* The node that refused counts it and shows the list it reloaded. */
    char text[65536];
    metrics_of(G, text, sizeof text);
    assert_true(series_value(text, "parlay_ban_list_entries") == 3);
    assert_true(series_value(text, "parlay_ban_list_reloads_total") >= 1);
    assert_true(series_value(text, "parlay_ban_refusals_total") >= 1);
    /* A broken file later keeps the last good list. */
    write_ban_list("email: eve@example.fr\nnot an entry\n");
    r = call(G, "POST", "/v1/sessions", body, "in-grace-3", NULL);
    assert_int_equal(r.status, 201);
    h_resp_free(&r);
    snprintf(body, sizeof body, "{\"email\":\"frank@example.fr\",\"password\":\"%s\"}", PW);
    r = call(G, "POST", "/v1/sessions", body, "in-frank-4", NULL);
    assert_int_equal(r.status, 403);
    assert_string_equal(code_of(&r), "banned");
    h_resp_free(&r);
    bool counted = false;
    for (double end = h_now() + 20; h_now() < end && !counted; h_sleep_ms(100)) {
        metrics_of(G, text, sizeof text);
        counted = series_value(text, "parlay_ban_list_reload_failures_total") >= 1;
    }
    assert_true(counted);
    /* Frank leaves the list: the leader's sweep lifts the list's ban; he signs in and bets. */
    write_ban_list("email: eve@example.fr\n");
    bool lifted = false;
    for (int k = 0; k < 200 && !lifted; k++, h_sleep_ms(100)) {
        char id[32]; /* a refused hold's answer is kept for its id: a new id each time */
        snprintf(id, sizeof id, "fr-3-%d", k);
        lifted = hold(G, id, &fr, 100, 600000, NULL) == 201;
    }
    assert_true(lifted);
    bool back = false;
    for (int k = 0; k < 100 && !back; k++, h_sleep_ms(100)) {
        char key[32];
        snprintf(key, sizeof key, "in-frank-5-%d", k);
        r = call(F, "POST", "/v1/sessions", body, key, NULL);
        back = r.status == 201;
        assert_true(r.status == 201 || r.status == 403);
        h_resp_free(&r);
    }
    assert_true(back);
    ledger_ok_everywhere();

    /* Bad files refuse the start, naming the key and the line. */
    char bad[600], extra[800];
    snprintf(bad, sizeof bad, "%s/bad-ban-list.txt", W.c.root);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("# list\nperson: DUPONT|Marie|1990-13-01\n", f);
    fclose(f);
    snprintf(extra, sizeof extra, "{\"ban_list_file\":\"%s\"}", bad);
    refused_at_start(extra, "key 'ban_list_file'");
    refused_at_start(extra, "line 2");
    snprintf(extra, sizeof extra, "{\"ban_list_file\":\"%s/missing.txt\"}", W.c.root);
    refused_at_start(extra, "key 'ban_list_file'");
}

/* Shift the time every node stamps as leader by @offset_ms (the test clock: refused unless
 * the configuration sets "test_clock", as setup does here). */
static void clock_offset(int64_t offset_ms)
{
    char body[64];
    snprintf(body, sizeof body, "{\"offset_ms\":%lld}", (long long)offset_ms);
    for (int i = 0; i < 3; i++) {
        struct h_resp r = h_http(&W.c, i, "POST", "/admin/v1/test/clock", body, NULL, true);
        assert_int_equal(r.status, 200);
        h_resp_free(&r);
    }
}

/* Provisional accounts (issue 11): an unverified player deposits; one month after registration
 * (the leaders' stamped time moved on with the test clock) the account is deactivated: no
 * deposit, no bet; two months after it, the leader closes it and returns the balance as a
 * withdrawal to the payment account recorded at the deposit, which the payment stand-in pays.
 * Nothing is left on the account, the payout is the balance to that account, and the ledger
 * check passes on every node. Runs last: the clock stays moved. */
static void provisional_closed(void **state)
{
    (void)state;
    int L = h_wait_leader(&W.c, H_WAIT_MS), F = (L + 1) % 3;
    struct player p;
    new_player(F, "provisional@example.fr", &p);
    set_limits(F, &p, "{\"deposit_7d\":50000,\"stake_7d\":20000}", "lim-prov");
    json_decref(deposit(F, &p, 3000, "dep-prov"));
    for (int i = 0; i < 3; i++)
        assert_true(wait_balance(i, &p, "balance", 3000));
    /* 31 days on: deactivated. */
    clock_offset(31LL * 24 * 3600 * 1000);
    struct h_resp r = call(L, "POST", "/v1/wallet/deposits", "{\"amount\":100}", "dep-prov-2",
                           p.token);
    assert_int_equal(r.status, 403);
    assert_string_equal(code_of(&r), "account_deactivated");
    h_resp_free(&r);
    json_t *out = NULL;
    assert_int_equal(hold(F, "prov-1", &p, 100, 60000, &out), 403);
    assert_string_equal(json_string_value(json_object_get(out, "code")), "account_deactivated");
    json_decref(out);
    assert_int_equal(balance(L, &p, "balance"), 3000);
    /* 62 days on: closed by the leader, the balance paid back to the payment account. */
    clock_offset(62LL * 24 * 3600 * 1000);
    char path[160];
    snprintf(path, sizeof path, "/admin/v1/wallets/%s", p.id);
    json_t *w = NULL;
    for (double end = h_now() + 30;; h_sleep_ms(100)) {
        r = h_http(&W.c, F, "GET", path, NULL, NULL, true);
        assert_int_equal(r.status, 200);
        json_decref(w);
        w = json_incref(r.json);
        h_resp_free(&r);
        if ((json_object_get(w, "closed") && num(w, "balance") == 0 && num(w, "held") == 0) ||
            h_now() > end)
            break;
    }
    json_t *closed = json_object_get(w, "closed");
    assert_non_null(closed);
    assert_int_equal(num(closed, "returned"), 3000);
    assert_string_equal(json_string_value(json_object_get(closed, "to")), "payment_account");
    assert_int_equal(num(w, "balance"), 0);
    const char *acct = json_string_value(json_object_get(w, "payment_account"));
    assert_non_null(acct);
    /* The withdrawal that returned it, and the stand-in's payout of it to that account. */
    char wid[128] = "";
    size_t k;
    json_t *t;
    json_array_foreach(json_object_get(json_object_get(w, "statement"), "items"), k, t)
    {
        const char *id = json_string_value(json_object_get(t, "id"));
        if (id && !strncmp(id, "wd:close:", 9) && !strchr(id + 9 + strlen(p.id) + 1, ':'))
            snprintf(wid, sizeof wid, "%s", id + 3);
    }
    assert_true(wid[0]);
    json_t *dl = NULL;
    bool paid = false;
    const char *auth[] = {"authorization: Bearer " PAY_KEY, NULL};
    for (double end = h_now() + 20; !paid && h_now() < end; h_sleep_ms(100)) {
        r = h_http_raw(W.pay_port, "GET", "/__test__/deliveries", NULL, NULL, 10000);
        json_decref(dl);
        dl = json_incref(r.json);
        h_resp_free(&r);
        json_array_foreach(dl, k, t)
        {
            if (strcmp(json_string_value(json_object_get(t, "type")) ?: "", "payout.paid"))
                continue;
            char pp[160];
            snprintf(pp, sizeof pp, "/v1/payouts/%s",
                     json_string_value(json_object_get(t, "object")));
            r = h_http_raw(W.pay_port, "GET", pp, NULL, auth, 10000);
            const char *ref = json_string_value(json_object_get(r.json, "reference"));
            if (r.status == 200 && ref && !strcmp(ref, wid)) {
                assert_string_equal(json_string_value(json_object_get(r.json, "account")), acct);
                assert_int_equal(num(r.json, "amount"), 3000);
                assert_string_equal(json_string_value(json_object_get(r.json, "status")), "paid");
                paid = true;
            }
            h_resp_free(&r);
        }
    }
    json_decref(dl);
    assert_true(paid);
    /* Posted on every node once the provider said "paid": nothing held, nothing left. */
    for (int i = 0; i < 3; i++) {
        for (double end = h_now() + 20;; h_sleep_ms(100)) {
            r = h_http(&W.c, i, "GET", path, NULL, NULL, true);
            bool done = r.status == 200 && num(r.json, "balance") == 0 &&
                        num(r.json, "held") == 0 && json_object_get(r.json, "closed");
            h_resp_free(&r);
            if (done)
                break;
            if (h_now() > end)
                fail_msg("node %d: the closed account still holds money", i + 1);
        }
    }
    json_decref(w);
    ledger_ok_everywhere();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deposit_end_to_end),
        cmocka_unit_test(holds_never_overdraw),
        cmocka_unit_test(hold_batches_queued_never_overdraw),
        cmocka_unit_test(trj_in_metrics),
        cmocka_unit_test(protection_and_withdrawals),
        cmocka_unit_test(auto_withdraw_end_to_end),
        cmocka_unit_test(leader_killed_during_money),
        cmocka_unit_test(ban_list),
        cmocka_unit_test(provisional_closed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
