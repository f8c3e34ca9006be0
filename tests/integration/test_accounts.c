/* The accounts cluster with real parlayd processes (role "accounts") on loopback: a player
 * registers on one node and signs in on another, the access token verifies against the
 * published JWKS, refresh tokens rotate and a reused one revokes its family, sign out
 * everywhere, the sign-in back-off counted across nodes and kept across a leader change, bad
 * input refused with problem+json, and kill -9 of the leader during sign-ups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "kyc/kyc.h"
#include "kyc/tests/standin.h"
#include "tests/integration/harness.h"

#define ISSUER "urn:parlay:accounts:accounts"
#define PW "a long and private phrase"

/* A player's request: optional Idempotency-Key and bearer access token. */
static struct h_resp call(struct h_cluster *c, int i, const char *method, const char *path,
                          const char *body, const char *idem, const char *bearer)
{
    struct h_resp r = h_http_bearer(c, i, method, path, body, idem, bearer);
    if (r.status >= 400 && getenv("PARLAY_TEST_VERBOSE")) {
        char *t = r.json ? json_dumps(r.json, JSON_COMPACT) : NULL;
        fprintf(stderr, "%s %s on node %d: %ld %s\n", method, path, i + 1, r.status,
                t ? t : "");
        free(t);
    }
    return r;
}

static const char *creds(const char *email, const char *pw)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
    return buf;
}

static const char *sval(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    assert_non_null(s);
    return s;
}

struct tokens {
    char access[2048];
    char refresh[128];
    char session[64];
};

static void take_tokens(struct h_resp *r, struct tokens *t)
{
    snprintf(t->access, sizeof t->access, "%s", sval(r->json, "access_token"));
    snprintf(t->refresh, sizeof t->refresh, "%s", sval(r->json, "refresh_token"));
    snprintf(t->session, sizeof t->session, "%s", sval(r->json, "session_id"));
}

static void signin(struct h_cluster *c, int i, const char *email, const char *key,
                   struct tokens *t)
{
    struct h_resp r = call(c, i, "POST", "/v1/sessions", creds(email, PW), key, NULL);
    assert_int_equal(r.status, 201);
    take_tokens(&r, t);
    h_resp_free(&r);
}

/* The token verifies against node @i's JWKS (issuer, audience, ES256, expiry); its kid. */
static void verify_token(struct h_cluster *c, int i, const char *token, const char *sub,
                         char kid_out[64])
{
    struct h_resp r = call(c, i, "GET", "/.well-known/jwks.json", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    kyc_jwt_expect ex = {.issuer = ISSUER, .audience = "parlay", .now = (int64_t)time(NULL),
                         .skew = 5, .require_exp_iat = true};
    json_t *claims = NULL;
    kyc_err err = {0};
    int rv = kyc_jwt_verify(token, r.json, &ex, &claims, &err);
    if (rv != KYC_OK)
        fprintf(stderr, "verify: %s\n", err.msg);
    assert_int_equal(rv, KYC_OK);
    assert_string_equal(sval(claims, "sub"), sub);
    json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
    json_int_t iat = json_integer_value(json_object_get(claims, "iat"));
    assert_int_equal(exp - iat, 900);
    json_decref(claims);
    h_resp_free(&r);
    if (kid_out) {
        /* The kid is in the protected header: the first part, base64url JSON. */
        char hdr[256] = "";
        const char *dot = strchr(token, '.');
        size_t n = (size_t)(dot - token);
        char b64[256];
        snprintf(b64, sizeof b64, "%.*s", (int)n, token);
        for (char *p = b64; *p; p++)
            *p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
        while (strlen(b64) % 4)
            strcat(b64, "=");
        static const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t o = 0;
        unsigned acc = 0;
        int bits = 0;
        for (char *p = b64; *p && *p != '='; p++) {
            acc = (acc << 6) | (unsigned)(strchr(tab, *p) - tab);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                hdr[o++] = (char)((acc >> bits) & 0xff);
            }
        }
        hdr[o] = 0;
        json_t *h = json_loads(hdr, 0, NULL);
        assert_non_null(h);
        snprintf(kid_out, 64, "%s", sval(h, "kid"));
        json_decref(h);
    }
}

static int follower(struct h_cluster *c, int leader, int nth)
{
    for (int i = 0; i < c->n; i++)
        if (i != leader && c->nodes[i].pid && nth-- == 0)
            return i;
    return -1;
}

/* The session limits of the configuration: with session_max_per_player 2 a third sign-in
 * ends the oldest session (its refresh token and its access token are refused); with
 * session_idle_s 2 a session not refreshed for 2 s ends ("Session idle"). */
static void session_limits(void **state)
{
    (void)state;
    struct h_cluster c;
    h_start_accounts(&c, "{\"session_max_per_player\": 2, \"session_idle_s\": 2}");
    int L = h_wait_leader(&c, H_WAIT_MS), F1 = follower(&c, L, 0);
    struct h_resp r = call(&c, F1, "POST", "/v1/players", creds("carol@example.fr", PW),
                           "reg-1", NULL);
    assert_int_equal(r.status, 201);
    h_resp_free(&r);
    struct tokens a, b, t;
    signin(&c, L, "carol@example.fr", "in-1", &a);
    signin(&c, L, "carol@example.fr", "in-2", &b);
    r = call(&c, L, "GET", "/v1/players/me", NULL, NULL, a.access);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    signin(&c, L, "carol@example.fr", "in-3", &t);
    r = call(&c, L, "GET", "/v1/players/me", NULL, NULL, a.access);
    assert_int_equal(r.status, 401); /* the oldest session ended with the third sign-in */
    h_resp_free(&r);
    char body[256];
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", a.refresh);
    r = call(&c, F1, "POST", "/v1/sessions/refresh", body, "rf-1", NULL);
    assert_int_equal(r.status, 401);
    h_resp_free(&r);
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", b.refresh);
    r = call(&c, F1, "POST", "/v1/sessions/refresh", body, "rf-2", NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    /* The third session, unused for longer than session_idle_s, has ended. */
    h_sleep_ms(2500);
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", t.refresh);
    r = call(&c, F1, "POST", "/v1/sessions/refresh", body, "rf-3", NULL);
    assert_int_equal(r.status, 401);
    assert_string_equal(sval(r.json, "title"), "Session idle");
    h_resp_free(&r);
    h_cluster_destroy(&c);
}

static void register_signin_refresh_signout(void **state)
{
    (void)state;
    struct h_cluster c;
    h_start_accounts(&c, NULL);
    int L = h_wait_leader(&c, H_WAIT_MS), F1 = follower(&c, L, 0), F2 = follower(&c, L, 1);

    /* Register through a follower; the same key again is the same answer. */
    struct h_resp r = call(&c, F1, "POST", "/v1/players", creds("Alice@Example.fr", PW), "reg-1",
                           NULL);
    assert_int_equal(r.status, 201);
    char id[64];
    snprintf(id, sizeof id, "%s", sval(r.json, "id"));
    assert_string_equal(sval(r.json, "email"), "alice@example.fr");
    h_resp_free(&r);
    r = call(&c, F2, "POST", "/v1/players", creds("alice@example.fr", PW), "reg-1", NULL);
    assert_int_equal(r.status, 201);
    assert_string_equal(sval(r.json, "id"), id);
    assert_string_equal(r.replayed, "true");
    h_resp_free(&r);
    r = call(&c, L, "POST", "/v1/players", creds("alice@example.fr", PW), "reg-2", NULL);
    assert_int_equal(r.status, 409);
    h_resp_free(&r);

    /* Sign in on the other follower; the token verifies against the leader's JWKS. */
    struct tokens t1, t2;
    signin(&c, F2, "alice@example.fr", "in-1", &t1);
    char kid1[64];
    verify_token(&c, L, t1.access, id, kid1);
    r = call(&c, L, "GET", "/v1/players/me", NULL, NULL, t1.access);
    assert_int_equal(r.status, 200);
    assert_string_equal(sval(r.json, "email"), "alice@example.fr");
    assert_null(json_object_get(r.json, "password_hash"));
    h_resp_free(&r);
    /* The same sign-in key again: the tokens were handed out once. */
    r = call(&c, F1, "POST", "/v1/sessions", creds("alice@example.fr", PW), "in-1", NULL);
    assert_int_equal(r.status, 409);
    h_resp_free(&r);

    /* Refresh rotates the token; presenting the old one again revokes the family. */
    char body[256];
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", t1.refresh);
    r = call(&c, F1, "POST", "/v1/sessions/refresh", body, "rf-1", NULL);
    assert_int_equal(r.status, 200);
    take_tokens(&r, &t2);
    h_resp_free(&r);
    assert_string_equal(t2.session, t1.session);
    assert_string_not_equal(t2.refresh, t1.refresh);
    verify_token(&c, F2, t2.access, id, NULL);
    r = call(&c, F2, "POST", "/v1/sessions/refresh", body, "rf-2", NULL);
    assert_int_equal(r.status, 401);
    assert_string_equal(sval(r.json, "title"), "Refresh token reused");
    h_resp_free(&r);
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", t2.refresh);
    r = call(&c, L, "POST", "/v1/sessions/refresh", body, "rf-3", NULL);
    assert_int_equal(r.status, 401);
    h_resp_free(&r);
    r = call(&c, L, "GET", "/v1/players/me", NULL, NULL, t2.access);
    assert_int_equal(r.status, 401); /* the leader applied the revocation before answering */
    h_resp_free(&r);

    /* Sign out everywhere: two sessions, both refused afterwards. */
    struct tokens a, b;
    signin(&c, F1, "alice@example.fr", "in-2", &a);
    signin(&c, L, "alice@example.fr", "in-3", &b);
    r = call(&c, F2, "DELETE", "/v1/sessions", NULL, "out-all-1", a.access);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "revoked")), 2);
    h_resp_free(&r);
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", b.refresh);
    r = call(&c, F1, "POST", "/v1/sessions/refresh", body, "rf-4", NULL);
    assert_int_equal(r.status, 401);
    h_resp_free(&r);

    /* Sign out of one session. */
    signin(&c, F1, "alice@example.fr", "in-4", &a);
    r = call(&c, F1, "DELETE", "/v1/sessions/current", NULL, "out-1", a.access);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    r = call(&c, L, "GET", "/v1/players/me", NULL, NULL, a.access);
    assert_int_equal(r.status, 401);
    h_resp_free(&r);

    /* Key rotation keeps the previous key published: earlier tokens still verify. */
    signin(&c, F2, "alice@example.fr", "in-5", &a);
    r = h_http(&c, F1, "POST", "/admin/v1/signing-keys", NULL, "rot-1", true);
    assert_int_equal(r.status, 201);
    char kid2[64];
    snprintf(kid2, sizeof kid2, "%s", sval(r.json, "kid"));
    h_resp_free(&r);
    assert_string_not_equal(kid1, kid2);
    verify_token(&c, L, a.access, id, NULL);
    r = call(&c, L, "GET", "/v1/players/me", NULL, NULL, a.access);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    signin(&c, L, "alice@example.fr", "in-6", &b);
    char kid3[64];
    verify_token(&c, L, b.access, id, kid3);
    assert_string_equal(kid3, kid2);
    h_cluster_destroy(&c);
}

static long wrong_signin(struct h_cluster *c, int i, const char *key, char retry_after[32])
{
    struct h_resp r = call(c, i, "POST", "/v1/sessions", creds("bob@example.fr", "not it at all"),
                           key, NULL);
    long st = r.status;
    snprintf(retry_after, 32, "%s", r.retry_after);
    assert_string_equal(r.content_type, "application/problem+json");
    h_resp_free(&r);
    return st;
}

static void failed_signins_back_off_across_nodes(void **state)
{
    (void)state;
    struct h_cluster c;
    h_start_accounts(&c, NULL);
    struct h_resp r = call(&c, 0, "POST", "/v1/players", creds("bob@example.fr", PW), "reg-b",
                           NULL);
    assert_int_equal(r.status, 201);
    h_resp_free(&r);
    char ra[32], key[32];
    /* Five failures spread over the three nodes add up in the replicated counter. */
    for (int k = 0; k < 5; k++) {
        snprintf(key, sizeof key, "bad-%d", k);
        assert_int_equal(wrong_signin(&c, k % 3, key, ra), 401);
        if (k < 4)
            assert_string_equal(ra, "");
    }
    assert_string_equal(ra, "15"); /* the fifth starts the back-off */
    /* Now even the right password is refused, on any node, with Retry-After. */
    r = call(&c, 1, "POST", "/v1/sessions", creds("bob@example.fr", PW), "good-1", NULL);
    assert_int_equal(r.status, 429);
    int secs = atoi(r.retry_after);
    assert_true(secs >= 1 && secs <= 15);
    h_resp_free(&r);
    assert_int_equal(wrong_signin(&c, 2, "bad-6", ra), 429);

    /* The lock survives the leader: kill it, a new one is elected, still 429. */
    int L = h_wait_leader(&c, H_WAIT_MS);
    h_node_kill(&c, L);
    int L2 = h_wait_leader(&c, H_WAIT_MS);
    assert_true(L2 >= 0 && L2 != L);
    int other = follower(&c, L2, 0);
    r = call(&c, other, "POST", "/v1/sessions", creds("bob@example.fr", PW), "good-2", NULL);
    /* 429 from the local state, or from the new leader; never a session. */
    while (r.status == 503) {
        h_resp_free(&r);
        h_sleep_ms(100);
        r = call(&c, other, "POST", "/v1/sessions", creds("bob@example.fr", PW), "good-2", NULL);
    }
    assert_int_equal(r.status, 429);
    assert_true(atoi(r.retry_after) >= 1);
    h_resp_free(&r);
    h_cluster_destroy(&c);
}

static unsigned player_count(struct h_cluster *c, int i)
{
    struct h_resp r = h_http(c, i, "GET", "/admin/v1/players", NULL, NULL, true);
    assert_int_equal(r.status, 200);
    unsigned n = (unsigned)json_integer_value(json_object_get(r.json, "count"));
    h_resp_free(&r);
    return n;
}

static void expect_problem(struct h_resp r, long status, const char *needle)
{
    if (r.status != status || !r.json)
        fprintf(stderr, "expected %ld, got %ld\n", status, r.status);
    assert_int_equal(r.status, status);
    assert_string_equal(r.content_type, "application/problem+json");
    const char *d = json_string_value(json_object_get(r.json, "detail"));
    assert_non_null(d);
    if (needle && !strstr(d, needle))
        fprintf(stderr, "detail '%s' lacks '%s'\n", d, needle);
    assert_non_null(needle ? strstr(d, needle) : d);
    h_resp_free(&r);
}

static void bad_input_gets_problem_json_and_changes_nothing(void **state)
{
    (void)state;
    struct h_cluster c;
    h_start_accounts(&c, NULL);
    expect_problem(call(&c, 1, "POST", "/v1/players", "{\"email\":\"a@example.fr\"}", "k1",
                        NULL),
                   422, "'password'");
    expect_problem(call(&c, 1, "POST", "/v1/players",
                        "{\"email\":\"a@example.fr\",\"password\":\"" PW "\",\"x\":1}", "k1",
                        NULL),
                   400, "'x'");
    expect_problem(call(&c, 1, "POST", "/v1/players", creds("not-an-email", PW), "k1", NULL), 422,
                   "'email'");
    expect_problem(call(&c, 2, "POST", "/v1/players", creds("a@example.fr", "short"), "k1", NULL),
                   422, "'password'");
    expect_problem(call(&c, 2, "POST", "/v1/players", creds("a@example.fr", "password1"), "k1",
                        NULL),
                   422, "breached");
    expect_problem(call(&c, 0, "POST", "/v1/players", creds("a@example.fr", PW), NULL, NULL),
                   428, "Idempotency-Key");
    expect_problem(call(&c, 0, "POST", "/v1/players", "{not json", "k1", NULL), 400, NULL);
    expect_problem(call(&c, 0, "PUT", "/v1/players", creds("a@example.fr", PW), "k1", NULL), 405,
                   NULL);
    expect_problem(call(&c, 0, "GET", "/v1/players/me", NULL, NULL, NULL), 401, NULL);
    expect_problem(call(&c, 0, "GET", "/v1/players/me", NULL, NULL, "eyJhbGciOiJub25lIn0.e30."),
                   401, NULL);
    expect_problem(call(&c, 0, "POST", "/v1/sessions/refresh", "{\"refresh_token\":\"abc\"}", "k2",
                        NULL),
                   422, "refresh token");
    expect_problem(call(&c, 1, "POST", "/v1/sessions", creds("nobody@example.fr", PW), "k3",
                        NULL),
                   401, "wrong");
    expect_problem(call(&c, 1, "POST", "/internal/v1/propose", "{}", "k4", NULL), 401, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(player_count(&c, i), 0);
    h_cluster_destroy(&c);
}

#define SIGNUPS 24

static void kill_leader_during_signups(void **state)
{
    (void)state;
    struct h_cluster c;
    h_start_accounts(&c, NULL);
    char ids[SIGNUPS][64], email[64], key[32];
    int killed = -1;
    for (int k = 0; k < SIGNUPS; k++) {
        if (k == SIGNUPS / 3) {
            killed = h_wait_leader(&c, H_WAIT_MS);
            h_node_kill(&c, killed);
        }
        snprintf(email, sizeof email, "p%d@example.fr", k);
        snprintf(key, sizeof key, "signup-%d", k);
        json_t *out = NULL;
        long st = h_write_until_answer(&c, k, "POST", "/v1/players", creds(email, PW), key, &out);
        assert_int_equal(st, 201);
        snprintf(ids[k], sizeof ids[k], "%s", sval(out, "id"));
        json_decref(out);
    }
    h_node_start(&c, killed);
    assert_true(h_wait_ready(&c, killed, H_WAIT_MS));
    /* Every node, once caught up, holds exactly the acknowledged players. */
    for (int i = 0; i < c.n; i++) {
        double deadline = h_now() + 30;
        while (player_count(&c, i) < SIGNUPS && h_now() < deadline)
            h_sleep_ms(50);
        assert_int_equal(player_count(&c, i), SIGNUPS);
        for (int k = 0; k < SIGNUPS; k++) {
            char path[128];
            snprintf(path, sizeof path, "/admin/v1/players?email=p%d%%40example.fr", k);
            struct h_resp r = h_http(&c, i, "GET", path, NULL, NULL, true);
            assert_int_equal(r.status, 200);
            json_t *items = json_object_get(r.json, "items");
            assert_int_equal(json_array_size(items), 1);
            assert_string_equal(sval(json_array_get(items, 0), "id"), ids[k]);
            h_resp_free(&r);
        }
    }
    h_cluster_destroy(&c);
}

/* The 6-digit code of @secret (base32) at unix time @t. */
static void totp_code(const char *secret, int64_t t, char out[8])
{
    uint8_t key[64];
    int n = kyc_base32_decode(secret, key, sizeof key);
    assert_true(n > 0);
    uint32_t code;
    assert_int_equal(kyc_totp_code(key, (size_t)n, KYC_TOTP_SHA1, t, 30, 6, &code, NULL), KYC_OK);
    snprintf(out, 8, "%06u", code);
}

static long signin_2fa(struct h_cluster *c, int i, const char *key, const char *field,
                       const char *value)
{
    char body[600];
    if (field)
        snprintf(body, sizeof body,
                 "{\"email\":\"carol@example.fr\",\"password\":\"" PW "\",\"%s\":\"%s\"}",
                 field, value);
    else
        snprintf(body, sizeof body, "%s", creds("carol@example.fr", PW));
    struct h_resp r = call(c, i, "POST", "/v1/sessions", body, key, NULL);
    long st = r.status;
    h_resp_free(&r);
    return st;
}

static void totp_second_factor(void **state)
{
    (void)state;
    struct h_cluster c;
    h_start_accounts(&c, NULL);
    int L = h_wait_leader(&c, H_WAIT_MS), F1 = follower(&c, L, 0), F2 = follower(&c, L, 1);
    struct h_resp r = call(&c, F1, "POST", "/v1/players", creds("carol@example.fr", PW), "reg-c",
                           NULL);
    assert_int_equal(r.status, 201);
    h_resp_free(&r);
    struct tokens t;
    signin(&c, F2, "carol@example.fr", "in-1", &t);

    /* Enrol through one follower, confirm through the other. */
    r = call(&c, F1, "POST", "/v1/players/me/totp", NULL, "totp-1", t.access);
    assert_int_equal(r.status, 201);
    char secret[64];
    snprintf(secret, sizeof secret, "%s", sval(r.json, "secret"));
    assert_non_null(strstr(sval(r.json, "otpauth_uri"), "otpauth://totp/Parlay:"));
    h_resp_free(&r);
    char code[8], body[64];
    totp_code(secret, (int64_t)time(NULL), code);
    snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
    r = call(&c, F2, "POST", "/v1/players/me/totp/confirm", body, "totp-2", t.access);
    assert_int_equal(r.status, 200);
    json_t *codes = json_object_get(r.json, "recovery_codes");
    assert_int_equal(json_array_size(codes), 10);
    char recovery[32];
    snprintf(recovery, sizeof recovery, "%s", json_string_value(json_array_get(codes, 0)));
    h_resp_free(&r);

    /* The password alone is not enough any more. */
    assert_int_equal(signin_2fa(&c, L, "in-2", NULL, NULL), 401);
    /* The next code works once, on any node. */
    totp_code(secret, (int64_t)time(NULL) + 30, code);
    assert_int_equal(signin_2fa(&c, F1, "in-3", "totp", code), 201);
    assert_int_equal(signin_2fa(&c, F2, "in-4", "totp", code), 401);
    /* A recovery code works once. */
    assert_int_equal(signin_2fa(&c, L, "in-5", "recovery_code", recovery), 201);
    assert_int_equal(signin_2fa(&c, F1, "in-6", "recovery_code", recovery), 401);
    h_cluster_destroy(&c);
}

/* Whether anything under @dir matches @pattern (grep -E, binary files as text). */
static bool dir_matches(const char *dir, const char *pattern)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "grep -rqaE -- '%s' '%s'", pattern, dir);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) <= 1);
    return WEXITSTATUS(st) == 0;
}

/* Waits until node @i counts @n secrets sealed under @key and none clear or unreadable. */
static void wait_sealed(struct h_cluster *c, int i, const char *key, long long n)
{
    double deadline = h_now() + 30;
    long long got = -1, clear = -1, unreadable = -1;
    while (h_now() < deadline) {
        struct h_resp r = h_http(c, i, "GET", "/admin/v1/secrets", NULL, NULL, true);
        json_t *j = r.status == 200 ? json_incref(r.json) : NULL;
        h_resp_free(&r);
        if (!j) { /* still starting after a restart */
            h_sleep_ms(100);
            continue;
        }
        got = json_integer_value(json_object_get(json_object_get(j, "sealed_by_key"), key));
        clear = json_integer_value(json_object_get(j, "clear"));
        unreadable = json_integer_value(json_object_get(j, "unreadable"));
        json_decref(j);
        if (got == n && clear == 0 && unreadable == 0)
            return;
        h_sleep_ms(100);
    }
    fail_msg("node %d: %lld secrets under '%s' (want %lld), %lld clear, %lld unreadable", i + 1,
             got, key, n, clear, unreadable);
}

static void write_keyring(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, 0600);
}

/* An accounts node's configuration with @key set to @value (raw JSON; NULL removes it) is
 * refused at start with a message holding @expect. */
static void refused_config(struct h_cluster *c, const char *key, const char *value,
                          const char *expect)
{
    json_t *cfg = json_load_file(c->nodes[0].config, 0, NULL);
    assert_non_null(cfg);
    if (value)
        json_object_set_new(cfg, key, json_loads(value, JSON_DECODE_ANY, NULL));
    else
        json_object_del(cfg, key);
    char path[600], cmd[1400], out[2048];
    snprintf(path, sizeof path, "%s/refused.json", c->root);
    json_dump_file(cfg, path, 0);
    json_decref(cfg);
    snprintf(cmd, sizeof cmd, "build/parlayd-san --config %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = 0;
    int st = pclose(p);
    if (!strstr(out, expect))
        fail_msg("%s=%s: '%s' does not say '%s'", key, value ? value : "(none)", out, expect);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

/* Secrets at rest (issue 16): the TOTP secret, its URI and the signing key's private scalar
 * never reach the Raft log, a snapshot or the LMDB files in clear; the keyring rotates (new key
 * first, reseal, old key dropped) without a player noticing. */
static void secrets_sealed_at_rest_and_rotated(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 3);
    c.role = "accounts";
    c.snapshot_threshold = 16;
    c.snapshot_trailing = 4;
    h_cluster_write_configs(&c);

    /* Bad keyrings refuse the start, naming the key. */
    char bad[600];
    refused_config(&c, "secrets_key_file", NULL, "missing key 'secrets_key_file'");
    snprintf(bad, sizeof bad, "%s/open.keys", c.root);
    write_keyring(bad, "k1 " "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
    chmod(bad, 0644);
    char val[700];
    snprintf(val, sizeof val, "\"%s\"", bad);
    refused_config(&c, "secrets_key_file", val, "chmod 600");
    snprintf(bad, sizeof bad, "%s/short.keys", c.root);
    write_keyring(bad, "k1 0123\n");
    snprintf(val, sizeof val, "\"%s\"", bad);
    refused_config(&c, "secrets_key_file", val, "line 1");

    h_accounts_ready(&c);
    int L = h_wait_leader(&c, H_WAIT_MS), F1 = follower(&c, L, 0), F2 = follower(&c, L, 1);
    struct h_resp r = call(&c, F1, "POST", "/v1/players", creds("carol@example.fr", PW), "reg-c",
                           NULL);
    assert_int_equal(r.status, 201);
    h_resp_free(&r);
    struct tokens t;
    signin(&c, F2, "carol@example.fr", "in-1", &t);
    r = call(&c, F1, "POST", "/v1/players/me/totp", NULL, "totp-1", t.access);
    assert_int_equal(r.status, 201);
    char secret[64], code[8], body[64];
    snprintf(secret, sizeof secret, "%s", sval(r.json, "secret"));
    assert_non_null(strstr(sval(r.json, "otpauth_uri"), "otpauth://totp/Parlay:"));
    h_resp_free(&r);
    /* The replayed enrolment answers the same secret, opened again. */
    r = call(&c, L, "POST", "/v1/players/me/totp", NULL, "totp-1", t.access);
    assert_int_equal(r.status, 201);
    assert_string_equal(sval(r.json, "secret"), secret);
    h_resp_free(&r);
    totp_code(secret, (int64_t)time(NULL), code);
    snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
    r = call(&c, F2, "POST", "/v1/players/me/totp/confirm", body, "totp-2", t.access);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    /* Enough writes that every node takes a snapshot. */
    for (int k = 0; k < 20; k++) {
        char email[64], key[32];
        snprintf(email, sizeof email, "filler%d@example.fr", k);
        snprintf(key, sizeof key, "reg-f%d", k);
        r = call(&c, k % 3, "POST", "/v1/players", creds(email, PW), key, NULL);
        assert_int_equal(r.status, 201);
        h_resp_free(&r);
    }
    for (int i = 0; i < 3; i++) {
        double deadline = h_now() + 30;
        long long snaps = 0;
        while (snaps == 0 && h_now() < deadline) {
            struct h_resp s = h_http(&c, i, "GET", "/admin/v1/node", NULL, NULL, true);
            snaps = json_integer_value(json_object_get(s.json, "snapshots"));
            h_resp_free(&s);
            if (!snaps)
                h_sleep_ms(100);
        }
        assert_true(snaps > 0);
        wait_sealed(&c, i, "it1", 3); /* the key's d, the TOTP secret and its URI */
    }
    /* Nothing in clear anywhere on disk: the Raft log, the snapshots, LMDB. The sealed form is
     * there (so the search does read those files). */
    for (int i = 0; i < 3; i++) {
        assert_true(dir_matches(c.nodes[i].dir, "sealed:v1:it1:"));
        assert_false(dir_matches(c.nodes[i].dir, secret));
        assert_false(dir_matches(c.nodes[i].dir, "otpauth://"));
        assert_false(dir_matches(c.nodes[i].dir, "\"d\":\"[A-Za-z0-9_-]{43}\""));
    }

    /* Rotation: the new key first, the old one kept, nodes restarted one by one. */
    char old[256], ring[600];
    FILE *f = fopen(c.keyring_file, "r");
    assert_non_null(fgets(old, sizeof old, f));
    fclose(f);
    snprintf(ring, sizeof ring,
             "it2 fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210\n%s", old);
    write_keyring(c.keyring_file, ring);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h_node_stop(&c, i), 0);
        h_node_start(&c, i);
        assert_true(h_wait_ready(&c, i, H_WAIT_MS));
    }
    L = h_wait_leader(&c, H_WAIT_MS);
    F1 = follower(&c, L, 0);
    /* Refused without an Idempotency-Key, then done through a follower. */
    r = h_http(&c, F1, "POST", "/admin/v1/secrets/reseal", NULL, NULL, true);
    assert_int_equal(r.status, 428);
    h_resp_free(&r);
    long long left = -1;
    for (int round = 0; round < 5 && left != 0; round++) {
        char key[32];
        snprintf(key, sizeof key, "reseal-%d", round);
        r = h_http(&c, F1, "POST", "/admin/v1/secrets/reseal", NULL, key, true);
        assert_int_equal(r.status, 200);
        left = json_integer_value(json_object_get(r.json, "remaining"));
        if (round == 0)
            assert_int_equal(json_integer_value(json_object_get(r.json, "resealed")), 3);
        assert_int_equal(json_integer_value(json_object_get(r.json, "unreadable")), 0);
        h_resp_free(&r);
    }
    assert_int_equal(left, 0);
    for (int i = 0; i < 3; i++)
        wait_sealed(&c, i, "it2", 3);
    char out[1024];
    assert_int_equal(h_parlayctl(&c, F1, "secrets reseal", out, sizeof out), 0);
    assert_non_null(strstr(out, "resealed 0 secrets; 0 remaining, 0 unreadable"));
    assert_int_equal(h_parlayctl(&c, L, "secrets status", out, sizeof out), 0);
    assert_non_null(strstr(out, "current key it2; 3 secrets stored, 0 clear, 0 unreadable"));

    /* The old key dropped: the player signs in with the second factor and the token works. */
    write_keyring(c.keyring_file,
                  "it2 fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210\n");
    h_cluster_stop_all(&c);
    h_cluster_start_all(&c);
    for (int i = 0; i < 3; i++)
        assert_true(h_wait_ready(&c, i, H_WAIT_MS));
    L = h_wait_leader(&c, H_WAIT_MS);
    for (int i = 0; i < 3; i++)
        wait_sealed(&c, i, "it2", 3);
    totp_code(secret, (int64_t)time(NULL) + 30, code);
    snprintf(body, sizeof body, "\"totp\":\"%s\"", code);
    char signin_body[600];
    snprintf(signin_body, sizeof signin_body,
             "{\"email\":\"carol@example.fr\",\"password\":\"" PW "\",%s}", body);
    r = call(&c, follower(&c, L, 1), "POST", "/v1/sessions", signin_body, "in-2", NULL);
    assert_int_equal(r.status, 201);
    take_tokens(&r, &t);
    h_resp_free(&r);
    r = call(&c, L, "GET", "/v1/players/me", NULL, NULL, t.access);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    h_cluster_destroy(&c);
}

#define FC_REDIRECT "http://127.0.0.1/kyc/callback" /* what the stand-in has registered */

static const char *fc_config(const standin *op, const char *client, char *out, size_t n)
{
    snprintf(out, n,
             "{\"franceconnect\": {\"issuer\": \"%s\", \"client_id\": \"%s\", "
             "\"client_secret\": \"parlay-test-secret\", \"redirect_uri\": "
             "\"http://127.0.0.1/kyc/callback\", \"allow_http\": true}}",
             op->url, client);
    return out;
}

/* A player of @email registers and signs in on node @start, starts a FranceConnect link there
 * and logs in at the provider as @identity: the query string the provider redirected back
 * with (malloc'ed), not yet delivered to the cluster. */
static char *fc_begin(struct h_cluster *c, const char *email, const char *identity, int start)
{
    char key[64];
    snprintf(key, sizeof key, "reg-%s", email);
    struct h_resp r = call(c, start, "POST", "/v1/players", creds(email, PW), key, NULL);
    assert_int_equal(r.status, 201);
    h_resp_free(&r);
    struct tokens t;
    snprintf(key, sizeof key, "in-%s", email);
    signin(c, start, email, key, &t);
    snprintf(key, sizeof key, "fc-%s", email);
    r = call(c, start, "POST", "/v1/players/me/franceconnect", NULL, key, t.access);
    assert_int_equal(r.status, 201);
    char *url = strdup(sval(r.json, "authorize_url"));
    h_resp_free(&r);
    char *query = NULL;
    long st = 0;
    assert_int_equal(browser_login(url, identity, false, FC_REDIRECT, &query, &st), 0);
    free(url);
    return query;
}

/* Deliver the provider's redirect @query to node @back's callback: the status; the problem
 * detail into @detail (if given). */
static long fc_callback(struct h_cluster *c, int back, const char *query, char *detail,
                        size_t dn)
{
    char path[4096];
    snprintf(path, sizeof path, "/v1/kyc/franceconnect/callback?%s", query);
    struct h_resp r = call(c, back, "GET", path, NULL, NULL, NULL);
    long st = r.status;
    if (detail) {
        const char *d = json_string_value(json_object_get(r.json, "detail"));
        snprintf(detail, dn, "%s", d ? d : "");
        if (st >= 400)
            assert_string_equal(r.content_type, "application/problem+json");
    }
    h_resp_free(&r);
    return st;
}

/* A player of @email signs in, starts a FranceConnect link on node @start, logs in at the
 * provider as @identity and comes back through node @back: the callback's status. */
static long fc_link(struct h_cluster *c, const char *email, const char *identity, int start,
                    int back, char **query_out)
{
    char *query = fc_begin(c, email, identity, start);
    long st = fc_callback(c, back, query, NULL, 0);
    if (query_out)
        *query_out = query;
    else
        free(query);
    return st;
}

/* A FranceConnect sign-in started on @start, the provider's login as @identity (or a refusal
 * there), the callback through @back: its status; on 201 the token's subject must be @sub. */
static long fc_signin(struct h_cluster *c, const char *identity, bool deny, int start, int back,
                      const char *sub)
{
    struct h_resp r = call(c, start, "POST", "/v1/sessions/franceconnect", NULL, NULL, NULL);
    assert_int_equal(r.status, 201);
    char *url = strdup(sval(r.json, "authorize_url"));
    h_resp_free(&r);
    char *query = NULL;
    long st = 0;
    assert_int_equal(browser_login(url, identity, deny, FC_REDIRECT, &query, &st), 0);
    free(url);
    char path[4096];
    snprintf(path, sizeof path, "/v1/kyc/franceconnect/callback?%s", query);
    free(query);
    r = call(c, back, "GET", path, NULL, NULL, NULL);
    st = r.status;
    if (st == 201) {
        assert_non_null(sub);
        verify_token(c, back, sval(r.json, "access_token"), sub, NULL);
        assert_non_null(json_object_get(r.json, "refresh_token"));
        /* Logging out at the provider takes the ID token as a hint. */
        assert_non_null(strstr(sval(r.json, "franceconnect_logout_url"), "id_token_hint="));
    }
    h_resp_free(&r);
    return st;
}

static json_t *admin_player(struct h_cluster *c, int i, const char *email)
{
    char path[256];
    snprintf(path, sizeof path, "/admin/v1/players?email=%s", email);
    struct h_resp r = h_http(c, i, "GET", path, NULL, NULL, true);
    assert_int_equal(r.status, 200);
    json_t *p = json_incref(json_array_get(json_object_get(r.json, "items"), 0));
    h_resp_free(&r);
    assert_non_null(p);
    return p;
}

/* A provider that answers userinfo as plain JSON (FranceConnect v1 style) is refused, and
 * nothing is recorded. */
static void franceconnect_unsigned_userinfo_refused(void **state)
{
    (void)state;
    standin op;
    assert_int_equal(standin_start(&op, "kyc/standin/fc-standin.mjs", NULL), 0);
    char extra[1024];
    struct h_cluster c;
    h_start_accounts(&c, fc_config(&op, "parlay-plain", extra, sizeof extra));
    int L = h_wait_leader(&c, H_WAIT_MS), F1 = follower(&c, L, 0);
    assert_int_equal(fc_link(&c, "gina@example.fr", "adult", F1, L, NULL), 401);
    json_t *p = admin_player(&c, L, "gina%40example.fr");
    assert_null(json_object_get(p, "identity"));
    assert_null(json_object_get(p, "kyc_status"));
    json_decref(p);
    h_cluster_destroy(&c);
    standin_stop(&op);
}

static void franceconnect_link(void **state)
{
    (void)state;
    standin op;
    assert_int_equal(standin_start(&op, "kyc/standin/fc-standin.mjs", NULL), 0);
    char extra[1024];
    snprintf(extra, sizeof extra,
             "{\"franceconnect\": {\"issuer\": \"%s\", \"client_id\": \"parlay\", "
             "\"client_secret\": \"parlay-test-secret\", \"redirect_uri\": \"" FC_REDIRECT
             "\", \"allow_http\": true}}",
             op.url);
    struct h_cluster c;
    h_start_accounts(&c, extra);
    int L = h_wait_leader(&c, H_WAIT_MS), F1 = follower(&c, L, 0), F2 = follower(&c, L, 1);

    /* Start on one follower, come back through the other: the identity is recorded. */
    char *query = NULL;
    assert_int_equal(fc_link(&c, "dana@example.fr", "adult", F1, F2, &query), 201);
    struct h_resp r = h_http(&c, L, "GET", "/admin/v1/players?email=dana%40example.fr", NULL,
                             NULL, true);
    json_t *p = json_array_get(json_object_get(r.json, "items"), 0);
    assert_string_equal(sval(p, "kyc_status"), "verified");
    assert_string_equal(sval(json_object_get(p, "identity"), "family_name"), "DUBOIS");
    assert_string_equal(sval(json_object_get(p, "identity"), "birthdate"), "1962-08-24");
    h_resp_free(&r);
    /* The same callback again (replayed state): refused, nothing changes. */
    char path[4096];
    snprintf(path, sizeof path, "/v1/kyc/franceconnect/callback?%s", query);
    free(query);
    r = call(&c, L, "GET", path, NULL, NULL, NULL);
    assert_int_equal(r.status, 409);
    h_resp_free(&r);

    /* The same person for a second account: refused. */
    assert_int_equal(fc_link(&c, "dana2@example.fr", "adult", F2, L, NULL), 409);
    /* Under 18: refused, and for good. */
    assert_int_equal(fc_link(&c, "lucas@example.fr", "minor", L, F1, NULL), 403);
    assert_int_equal(fc_link(&c, "lucas2@example.fr", "minor", F1, F1, NULL), 403);
    r = h_http(&c, L, "GET", "/admin/v1/players?email=dana2%40example.fr", NULL, NULL, true);
    p = json_array_get(json_object_get(r.json, "items"), 0);
    assert_null(json_object_get(p, "identity"));
    h_resp_free(&r);

    /* Dana signs in with FranceConnect alone: started on one node, finished on another. */
    r = h_http(&c, L, "GET", "/admin/v1/players?email=dana%40example.fr", NULL, NULL, true);
    char dana[64];
    snprintf(dana, sizeof dana, "%s",
             sval(json_array_get(json_object_get(r.json, "items"), 0), "id"));
    h_resp_free(&r);
    assert_int_equal(fc_signin(&c, "adult", false, F2, F1, dana), 201);
    /* Once Dana confirms a TOTP second factor, FranceConnect alone no longer signs her in
     * (401 second_factor_required); the password and the code do. */
    struct tokens dt;
    signin(&c, L, "dana@example.fr", "in-d1", &dt);
    r = call(&c, F1, "POST", "/v1/players/me/totp", NULL, "totp-d1", dt.access);
    assert_int_equal(r.status, 201);
    char secret[64], code[8], body[600];
    snprintf(secret, sizeof secret, "%s", sval(r.json, "secret"));
    h_resp_free(&r);
    totp_code(secret, (int64_t)time(NULL), code);
    snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
    r = call(&c, F2, "POST", "/v1/players/me/totp/confirm", body, "totp-d2", dt.access);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    assert_int_equal(fc_signin(&c, "adult", false, F1, F2, NULL), 401);
    totp_code(secret, (int64_t)time(NULL) + 30, code);
    snprintf(body, sizeof body,
             "{\"email\":\"dana@example.fr\",\"password\":\"" PW "\",\"totp\":\"%s\"}", code);
    r = call(&c, L, "POST", "/v1/sessions", body, "in-d2", NULL);
    assert_int_equal(r.status, 201);
    h_resp_free(&r);
    /* An identity linked to no account cannot sign in; a refusal at the provider records
     * nothing. */
    assert_int_equal(fc_signin(&c, "presumed", false, L, F2, NULL), 404);
    assert_int_equal(fc_signin(&c, "adult", true, F1, L, NULL), 403);
    r = call(&c, F1, "GET", "/v1/kyc/franceconnect/callback?code=x&state=not-a-state", NULL, NULL,
             NULL);
    assert_int_equal(r.status, 400);
    h_resp_free(&r);
    h_cluster_destroy(&c);
    standin_stop(&op);
}

/* The stand-in's test-only routes (outside /api/v2): @method @path; the HTTP status, the
 * JSON answer in @out (if given). */
static long standin_call(const standin *op, const char *method, const char *path, json_t **out)
{
    int port = 0;
    assert_int_equal(sscanf(op->url, "http://127.0.0.1:%d", &port), 1);
    struct h_resp r = h_http_raw(port, method, path, NULL, NULL, 10000);
    long st = r.status;
    if (out)
        *out = json_incref(r.json);
    h_resp_free(&r);
    return st;
}

/* The player has no identity and no KYC status. */
static void assert_nothing_recorded(struct h_cluster *c, int i, const char *email_q)
{
    json_t *p = admin_player(c, i, email_q);
    assert_null(json_object_get(p, "identity"));
    assert_null(json_object_get(p, "kyc_status"));
    json_decref(p);
}

/* A provider handing out a bad ID token (tampered after signing, another nonce, another
 * audience, alg none): the callback is refused with problem+json naming the fault, and
 * nothing is recorded: no identity on the player, none linked (the same identity links to a
 * new account afterwards, and a FranceConnect sign-in as it finds no account before that). */
static void franceconnect_bad_id_tokens_refused(void **state)
{
    (void)state;
    standin op;
    assert_int_equal(standin_start(&op, "kyc/standin/fc-standin.mjs", NULL), 0);
    char extra[1024];
    struct h_cluster c;
    h_start_accounts(&c, fc_config(&op, "parlay", extra, sizeof extra));
    int L = h_wait_leader(&c, H_WAIT_MS), F1 = follower(&c, L, 0), F2 = follower(&c, L, 1);
    static const struct {
        const char *mode, *email, *email_q, *detail;
    } cases[] = {
        {"tamper", "t1@example.fr", "t1%40example.fr", "signature does not verify"},
        {"nonce", "t2@example.fr", "t2%40example.fr", "nonce mismatch"},
        {"audience", "t3@example.fr", "t3%40example.fr", "audience mismatch"},
        {"alg-none", "t4@example.fr", "t4%40example.fr", "alg none not allowed"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char path[128], detail[512];
        snprintf(path, sizeof path, "/__test__/misbehave?id_token=%s", cases[k].mode);
        assert_int_equal(standin_call(&op, "POST", path, NULL), 200);
        char *query = fc_begin(&c, cases[k].email, "adult", k % 2 ? F1 : F2);
        long st = fc_callback(&c, k % 2 ? L : F1, query, detail, sizeof detail);
        free(query);
        if (st != 401 || !strstr(detail, cases[k].detail))
            fprintf(stderr, "mode %s: %ld %s\n", cases[k].mode, st, detail);
        assert_int_equal(st, 401);
        assert_non_null(strstr(detail, cases[k].detail));
        assert_nothing_recorded(&c, L, cases[k].email_q);
    }
    assert_int_equal(standin_call(&op, "POST", "/__test__/misbehave?id_token=", NULL), 200);
    /* No account holds the identity: a FranceConnect sign-in as it finds none ... */
    assert_int_equal(fc_signin(&c, "adult", false, F1, F2, NULL), 404);
    /* ... and it links to a new account now that the provider behaves. */
    assert_int_equal(fc_link(&c, "t5@example.fr", "adult", F2, L, NULL), 201);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        assert_nothing_recorded(&c, F1, cases[k].email_q);
    h_cluster_destroy(&c);
    standin_stop(&op);
}

/* An authorization code presented after it expired (the parlay-short client's codes live 1 s
 * at the stand-in; the test asks the stand-in until it says the code expired, then delivers
 * the callback): refused, nothing recorded. */
static void franceconnect_expired_code_refused(void **state)
{
    (void)state;
    standin op;
    assert_int_equal(standin_start(&op, "kyc/standin/fc-standin.mjs", NULL), 0);
    char extra[1024];
    struct h_cluster c;
    h_start_accounts(&c, fc_config(&op, "parlay-short", extra, sizeof extra));
    int L = h_wait_leader(&c, H_WAIT_MS), F1 = follower(&c, L, 0);
    char *query = fc_begin(&c, "x1@example.fr", "adult", F1);
    const char *code = strstr(query, "code=");
    assert_non_null(code);
    char path[1024];
    snprintf(path, sizeof path, "/__test__/code?%.*s", (int)strcspn(code, "&"), code);
    double deadline = h_now() + 30;
    bool expired = false;
    while (!expired && h_now() < deadline) {
        json_t *j = NULL;
        assert_int_equal(standin_call(&op, "GET", path, &j), 200);
        expired = json_is_true(json_object_get(j, "expired"));
        json_decref(j);
        if (!expired)
            h_sleep_ms(50);
    }
    assert_true(expired);
    char detail[512];
    long st = fc_callback(&c, L, query, detail, sizeof detail);
    free(query);
    if (st != 401 || !strstr(detail, "invalid_grant"))
        fprintf(stderr, "expired code: %ld %s\n", st, detail);
    assert_int_equal(st, 401);
    assert_non_null(strstr(detail, "invalid_grant"));
    assert_nothing_recorded(&c, L, "x1%40example.fr");
    h_cluster_destroy(&c);
    standin_stop(&op);
}

/* POST @body to the document-check stand-in's @path; the HTTP statuses its webhook deliveries
 * got from the cluster, as "200,200". */
static void doc_decide(const char *base, const char *sid, const char *body, char *statuses,
                       size_t n)
{
    int port = atoi(strrchr(base, ':') + 1);
    char path[256];
    snprintf(path, sizeof path, "/v1/sessions/%s/decision", sid);
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    struct h_resp r = h_http_raw(port, "POST", path, body, hdrs, 20000);
    assert_int_equal(r.status, 200);
    json_t *st = json_object_get(r.json, "statuses");
    statuses[0] = 0;
    size_t i;
    json_t *v;
    json_array_foreach(st, i, v)
    {
        size_t l = strlen(statuses);
        snprintf(statuses + l, n - l, "%s%lld", i ? "," : "", (long long)json_integer_value(v));
    }
    h_resp_free(&r);
}


/* A player signs in on @i and starts a document check there: the provider's session id. */
static void doc_start(struct h_cluster *c, int i, const char *email, char sid[128])
{
    char key[64];
    snprintf(key, sizeof key, "reg-%s", email);
    struct h_resp r = call(c, i, "POST", "/v1/players", creds(email, PW), key, NULL);
    assert_int_equal(r.status, 201);
    h_resp_free(&r);
    struct tokens t;
    snprintf(key, sizeof key, "in-%s", email);
    signin(c, i, email, key, &t);
    snprintf(key, sizeof key, "doc-%s", email);
    r = call(c, i, "POST", "/v1/players/me/kyc/document", NULL, key, t.access);
    assert_int_equal(r.status, 201);
    snprintf(sid, 128, "%s", sval(r.json, "session_id"));
    assert_int_equal(strncmp(sval(r.json, "url"), "http://127.0.0.1:", 17), 0);
    h_resp_free(&r);
}

static void document_check_webhooks(void **state)
{
    (void)state;
    standin sp;
    const char *const args[] = {"--secret", "doc-it-secret", NULL};
    assert_int_equal(standin_start(&sp, "kyc/standin/doc-standin.mjs", args), 0);
    char extra[1024];
    snprintf(extra, sizeof extra,
             "{\"document_check\": {\"name\":\"veriff-like\",\"secret\":\"doc-it-secret\","
             "\"signature_header\":\"X-HMAC-SIGNATURE\",\"timestamp_field\":"
             "\"verification.decisionTime\",\"timestamp_unit\":\"iso8601\",\"event_id_field\":"
             "\"id\",\"reference_field\":\"verification.vendorData\",\"status_field\":"
             "\"verification.status\",\"session_url\":\"%s/v1/sessions\",\"status_map\":{"
             "\"approved\":\"approved\",\"declined\":\"declined\",\"resubmission_requested\":"
             "\"retry\",\"review\":\"manual_review\",\"started\":\"pending\"}}}",
             sp.url);
    struct h_cluster c;
    h_start_accounts(&c, extra);
    int L = h_wait_leader(&c, H_WAIT_MS), F1 = follower(&c, L, 0), F2 = follower(&c, L, 1);

    /* Approved, delivered twice to a follower (a provider retry): recorded once. */
    char sid[128], st[64];
    doc_start(&c, F1, "erin@example.fr", sid);
    doc_decide(sp.url, sid, "{\"status\":\"approved\",\"repeat\":2}", st, sizeof st);
    assert_string_equal(st, "200,200");
    json_t *p = admin_player(&c, L, "erin%40example.fr");
    assert_string_equal(sval(p, "kyc_status"), "verified");
    assert_int_equal(json_array_size(json_object_get(p, "kyc_history")), 2); /* pending, approved */
    json_decref(p);
    /* A bad signature and a stale delivery are refused and change nothing. */
    doc_decide(sp.url, sid, "{\"status\":\"declined\",\"tamper\":\"signature\"}", st,
               sizeof st);
    assert_string_equal(st, "401");
    doc_decide(sp.url, sid, "{\"status\":\"declined\",\"tamper\":\"stale\"}", st, sizeof st);
    assert_string_equal(st, "401");
    p = admin_player(&c, L, "erin%40example.fr");
    assert_string_equal(sval(p, "kyc_status"), "verified");
    assert_int_equal(json_array_size(json_object_get(p, "kyc_history")), 2);
    json_decref(p);

    /* Declined is final: a new check is refused. */
    doc_start(&c, F2, "fred@example.fr", sid);
    doc_decide(sp.url, sid, "{\"status\":\"review\"}", st, sizeof st);
    assert_string_equal(st, "200");
    p = admin_player(&c, L, "fred%40example.fr");
    assert_string_equal(sval(p, "kyc_status"), "manual_review");
    json_decref(p);
    doc_decide(sp.url, sid, "{\"status\":\"declined\"}", st, sizeof st);
    assert_string_equal(st, "200");
    p = admin_player(&c, L, "fred%40example.fr");
    assert_string_equal(sval(p, "kyc_status"), "declined");
    char cmd[256], out[8192];
    snprintf(cmd, sizeof cmd, "players kyc %s verified --reason 'passport checked at the desk'",
             sval(p, "id"));
    json_decref(p);

    /* An operator overrides through parlayctl (on a follower), and the reason is kept. */
    assert_int_equal(h_parlayctl(&c, F1, cmd, out, sizeof out), 0);
    assert_int_equal(h_parlayctl(&c, L, "--json players get fred@example.fr", out, sizeof out), 0);
    p = json_loads(out, 0, NULL);
    assert_non_null(p);
    assert_string_equal(sval(p, "kyc_status"), "verified");
    json_t *hist = json_object_get(p, "kyc_history");
    json_t *last = json_array_get(hist, json_array_size(hist) - 1);
    assert_string_equal(sval(last, "source"), "operator");
    assert_string_equal(sval(last, "detail"), "passport checked at the desk");
    json_decref(p);
    assert_int_equal(h_parlayctl(&c, F2, "players kyc p_00 verified --reason x", out, sizeof out),
                     1);
    assert_int_equal(h_parlayctl(&c, F2, "players count", out, sizeof out), 0);
    assert_non_null(strstr(out, "2 players"));
    h_cluster_destroy(&c);
    standin_stop(&sp);
}

/* A node added later gets players, sessions and the signing key through an installed
 * snapshot, and serves them. */
static void added_node_gets_accounts_through_snapshot(void **state)
{
    (void)state;
    struct h_cluster c;
    h_cluster_init(&c, 3);
    c.role = "accounts";
    c.snapshot_threshold = 16; /* snapshot often and keep a short log */
    c.snapshot_trailing = 4;
    h_cluster_write_configs(&c);
    h_start_cluster(&c);
    for (int k = 0; k < 24; k++) {
        char email[64], key[32];
        snprintf(email, sizeof email, "snap%d@example.fr", k);
        snprintf(key, sizeof key, "snap-%d", k);
        assert_int_equal(h_write_until_answer(&c, k, "POST", "/v1/players", creds(email, PW), key,
                                              NULL),
                         201);
    }
    struct tokens t;
    signin(&c, 0, "snap3@example.fr", "in-snap", &t);
    char out[8192];
    assert_int_equal(h_parlayctl(&c, 0, "snapshot", out, sizeof out), 0);

    int spare = h_cluster_add_spare(&c);
    h_node_start(&c, spare);
    char args[256];
    snprintf(args, sizeof args, "--timeout 60 add %d 127.0.0.1:%d 127.0.0.1:%d", c.nodes[spare].id,
             c.nodes[spare].raft_port, c.nodes[spare].http_port);
    int rc = h_parlayctl(&c, 1, args, out, sizeof out);
    if (rc != 0)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_true(h_log_count(&c, spare, "event=restored") >= 1);
    double deadline = h_now() + 30;
    while (player_count(&c, spare) < 24 && h_now() < deadline)
        h_sleep_ms(50);
    assert_int_equal(player_count(&c, spare), 24);
    /* The session and the signing key came along: the token works there, and so does a new
     * sign-in. */
    struct h_resp r = call(&c, spare, "GET", "/v1/players/me", NULL, NULL, t.access);
    assert_int_equal(r.status, 200);
    assert_string_equal(sval(r.json, "email"), "snap3@example.fr");
    verify_token(&c, spare, t.access, sval(r.json, "id"), NULL);
    h_resp_free(&r);
    struct tokens t2;
    signin(&c, spare, "snap7@example.fr", "in-snap-2", &t2);
    h_cluster_destroy(&c);
}

/* Issue 16: anonymous registrations used to be able to take every password-hashing slot of a
 * node, and registered players' sign-ins on that node got 503. A flood of concurrent
 * registrations (many curl processes) now takes at most a few slots: every sign-in made while it
 * runs is served, and the flood itself is answered 429/503 beyond its share. */
#define FLOOD_CLIENTS 32
#define FLOOD_EACH 8
#define FLOOD (FLOOD_CLIENTS * FLOOD_EACH)
static void registration_flood_leaves_signins_served(void **state)
{
    (void)state;
    struct h_cluster c;
    h_start_accounts(&c, NULL);
    char email[64], key[64];
    for (int k = 0; k < 3; k++) {
        snprintf(email, sizeof email, "regular%d@example.fr", k);
        snprintf(key, sizeof key, "regular-%d", k);
        struct h_resp r = call(&c, 0, "POST", "/v1/players", creds(email, PW), key, NULL);
        assert_int_equal(r.status, 201);
        h_resp_free(&r);
    }
    char out[600], cmd[1600];
    snprintf(out, sizeof out, "%s/flood.txt", c.root);
    /* FLOOD_CLIENTS clients, each registering FLOOD_EACH new players one after the other. */
    snprintf(cmd, sizeof cmd,
             "for j in $(seq 1 %d); do ( for i in $(seq 1 %d); do curl -s -o /dev/null "
             "-w '%%{http_code}\\n' -X POST -H 'content-type: application/json' "
             "-H \"Idempotency-Key: flood-$j-$i\" "
             "-d \"{\\\"email\\\":\\\"flood$j-$i@example.fr\\\",\\\"password\\\":\\\"%s\\\"}\" "
             "http://%s:%d/v1/players; done ) & done; wait",
             FLOOD_CLIENTS, FLOOD_EACH, PW, c.nodes[0].http_host, c.nodes[0].http_port);
    pid_t flood = fork();
    if (flood == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    assert_true(flood > 0);
    int during = 0, done = 0;
    for (int k = 0; !done || during == 0; k++) {
        done = waitpid(flood, NULL, WNOHANG) == flood;
        snprintf(email, sizeof email, "regular%d@example.fr", k % 3);
        snprintf(key, sizeof key, "signin-flood-%d", k);
        struct h_resp r = call(&c, 0, "POST", "/v1/sessions", creds(email, PW), key, NULL);
        assert_int_equal(r.status, 201); /* never 503 because registrations hold the slots */
        h_resp_free(&r);
        if (!done)
            during++;
        assert_true(k < 10000);
    }
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    int created = 0, refused = 0, lines = 0, code;
    while (fscanf(f, "%d", &code) == 1) {
        lines++;
        created += code == 201;
        refused += code == 429 || code == 503;
    }
    fclose(f);
    printf("flood: %d registrations, %d created, %d refused; %d sign-ins served meanwhile\n",
           lines, created, refused, during);
    assert_int_equal(lines, FLOOD);
    assert_int_equal(created + refused, FLOOD);
    assert_true(created > 0);  /* registrations still go through, a few at a time */
    assert_true(refused > 0);  /* and the flood was held to its share */
    assert_true(during > 0);
    h_cluster_destroy(&c);
}

/* Write @text as the ban list @path (a new file renamed over the old). */
static void ban_file(const char *path, const char *text)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
}

/* The national gambling-ban list against the identity FranceConnect certifies: a player whose
 * verified identity is added to the list later is refused at the next sign-in, with the
 * password (the identity on the record) and with FranceConnect (the identity the provider
 * gives, matched across case, accents and a shorter list of given names), and banned in the
 * wallet on every node; linking that identity to another account is refused too. */
static void ban_list_franceconnect(void **state)
{
    (void)state;
    standin op;
    assert_int_equal(standin_start(&op, "kyc/standin/fc-standin.mjs", NULL), 0);
    char dir[] = "/tmp/parlay-ban-XXXXXX", path[600], extra[2048];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ban-list.txt", dir);
    ban_file(path, "# nobody yet\n");
    snprintf(extra, sizeof extra,
             "{\"franceconnect\": {\"issuer\": \"%s\", \"client_id\": \"parlay\", "
             "\"client_secret\": \"parlay-test-secret\", \"redirect_uri\": \"" FC_REDIRECT
             "\", \"allow_http\": true}, \"ban_list_file\": \"%s\"}",
             op.url, path);
    struct h_cluster c;
    h_start_accounts(&c, extra);
    int L = h_wait_leader(&c, H_WAIT_MS), F1 = follower(&c, L, 0), F2 = follower(&c, L, 1);
    /* Unlisted: the link and both sign-ins pass. */
    assert_int_equal(fc_link(&c, "hugo@example.fr", "adult", F1, F2, NULL), 201);
    struct tokens t;
    signin(&c, F2, "hugo@example.fr", "in-hugo-1", &t);
    struct h_resp r = h_http(&c, L, "GET", "/admin/v1/players?email=hugo%40example.fr", NULL,
                             NULL, true);
    char hugo[64];
    snprintf(hugo, sizeof hugo, "%s", sval(json_array_get(json_object_get(r.json, "items"), 0), "id"));
    h_resp_free(&r);
    assert_int_equal(fc_signin(&c, "adult", false, F1, L, hugo), 201);
    /* The regulator lists Angela Claire Louise DUBOIS, born 1962-08-24 (spelt otherwise). */
    ban_file(path, "# ANJ stand-in\nperson: Dubois|ANGELA|1962-08-24\n");
    /* Each node reads the file again within 200 ms of the change (on a worker thread). */
    bool refused = false;
    for (int k = 0; k < 100 && !refused; k++, h_sleep_ms(100)) {
        char key[32];
        snprintf(key, sizeof key, "in-hugo-2-%d", k);
        r = call(&c, F1, "POST", "/v1/sessions", creds("hugo@example.fr", PW), key, NULL);
        refused = r.status == 403 && !strcmp(sval(r.json, "code"), "banned");
        assert_true(r.status == 201 || refused);
        h_resp_free(&r);
    }
    assert_true(refused);
    assert_int_equal(fc_signin(&c, "adult", false, F2, F1, hugo), 403);
    /* The wallet knows, on every node. */
    char wpath[128];
    snprintf(wpath, sizeof wpath, "/admin/v1/wallets/%s", hugo);
    for (int i = 0; i < 3; i++) {
        bool banned = false;
        for (double end = h_now() + 20; h_now() < end && !banned; h_sleep_ms(100)) {
            r = h_http(&c, i, "GET", wpath, NULL, NULL, true);
            banned = r.status == 200 && json_object_get(r.json, "banned") != NULL;
            h_resp_free(&r);
        }
        assert_true(banned);
    }
    /* The same person linking another account: refused as banned before anything else. */
    assert_int_equal(fc_link(&c, "ines@example.fr", "adult", F2, L, NULL), 403);
    /* Someone else still passes. */
    assert_int_equal(fc_link(&c, "jules@example.fr", "presumed", L, F1, NULL), 201);
    h_cluster_destroy(&c);
    standin_stop(&op);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(register_signin_refresh_signout),
        cmocka_unit_test(failed_signins_back_off_across_nodes),
        cmocka_unit_test(bad_input_gets_problem_json_and_changes_nothing),
        cmocka_unit_test(kill_leader_during_signups),
        cmocka_unit_test(totp_second_factor),
        cmocka_unit_test(session_limits),
        cmocka_unit_test(secrets_sealed_at_rest_and_rotated),
        cmocka_unit_test(franceconnect_link),
        cmocka_unit_test(franceconnect_unsigned_userinfo_refused),
        cmocka_unit_test(franceconnect_bad_id_tokens_refused),
        cmocka_unit_test(franceconnect_expired_code_refused),
        cmocka_unit_test(ban_list_franceconnect),
        cmocka_unit_test(document_check_webhooks),
        cmocka_unit_test(added_node_gets_accounts_through_snapshot),
        cmocka_unit_test(registration_flood_leaves_signins_served),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
