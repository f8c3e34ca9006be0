/* Access tokens across clusters: a three-node accounts cluster signs them, a three-node
 * football cluster (accounts_jwks_url: one accounts node's JWKS) verifies them offline on
 * GET /v1/me. A token issued by accounts node 1 verifies on accounts node 2 and on every sport
 * node; tampered, foreign-key, alg none, garbage and missing tokens get 401; after a key
 * rotation a token with the new kid verifies on the sport nodes (they refetch on the unknown
 * kid) and the old token still does; with that accounts node gone, a refetch fails and the
 * sport nodes keep verifying with the last good set. A sport node that could not load any
 * set answers 503 + Retry-After. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjose/cjose.h>
#include <cmocka.h>

#include "tests/integration/harness.h"
#include "tests/integration/tokens.h"

#define ISSUER "urn:parlay:accounts:accounts"
#define PW "a long and private phrase"

static struct h_resp call(struct h_cluster *c, int i, const char *method, const char *path,
                          const char *body, const char *idem, const char *bearer)
{
    return h_http_bearer(c, i, method, path, body, idem, bearer);
}

static const char *sval(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    assert_non_null(s);
    return s;
}

static char last_detail[512]; /* the last refusal's problem detail */
static char last_challenge[128]; /* and its WWW-Authenticate */

/* GET /v1/me on sport node @i with @token (NULL: none); the status, the problem's title into
 * @title and its detail into last_detail. */
static long me(struct h_cluster *s, int i, const char *token, char *title, size_t tn)
{
    struct h_resp r = call(s, i, "GET", "/v1/me", NULL, NULL, token);
    long st = r.status;
    if (title) {
        const char *t = json_string_value(json_object_get(r.json, "title"));
        snprintf(title, tn, "%s", t ? t : "");
    }
    if (st >= 400) {
        assert_string_equal(r.content_type, "application/problem+json");
        const char *d = json_string_value(json_object_get(r.json, "detail"));
        snprintf(last_detail, sizeof last_detail, "%s", d ? d : "");
        snprintf(last_challenge, sizeof last_challenge, "%s", r.www_authenticate);
        if (getenv("PARLAY_TEST_VERBOSE")) {
            char *t = json_dumps(r.json, JSON_COMPACT);
            fprintf(stderr, "/v1/me on sport node %d: %ld %s\n", i + 1, st, t ? t : "");
            free(t);
        }
    }
    h_resp_free(&r);
    return st;
}

static void assert_me(struct h_cluster *s, int i, const char *token, const char *player,
                      const char *session)
{
    struct h_resp r = call(s, i, "GET", "/v1/me", NULL, NULL, token);
    assert_int_equal(r.status, 200);
    assert_string_equal(sval(r.json, "player_id"), player);
    assert_string_equal(sval(r.json, "session_id"), session);
    h_resp_free(&r);
}

/* A compact JWS over @claims signed by a fresh P-256 key that no JWKS holds. */
static char *foreign_token(const char *claims, const char *kid)
{
    cjose_err err;
    cjose_jwk_t *k = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
    char *out = tk_sign(k, kid, claims);
    cjose_jwk_release(k);
    return out;
}

static void tokens_verify_across_clusters(void **state)
{
    (void)state;
    struct h_cluster a, s;
    /* The football cluster reads accounts node 2's JWKS; an unknown kid refetches at once. */
    char extra[512];
    tk_start_clusters(&a, 3, &s, 3, 1, extra, sizeof extra);

    /* Register and sign in on accounts node 1. */
    char player[64], token[2048], session[64];
    tk_sign_up(&a, 0, "ada@example.fr", PW, player, token, sizeof token, session);
    struct h_resp r;

    /* It verifies on accounts node 2 ... */
    r = call(&a, 1, "GET", "/v1/players/me", NULL, NULL, token);
    assert_int_equal(r.status, 200);
    assert_string_equal(sval(r.json, "id"), player);
    h_resp_free(&r);
    /* ... and on every sport node, once it has loaded the key set (503 until then). */
    for (int i = 0; i < 3; i++) {
        double deadline = h_now() + 30;
        long st;
        while ((st = me(&s, i, token, NULL, 0)) == 503 && h_now() < deadline)
            h_sleep_ms(20);
        assert_int_equal(st, 200);
        assert_me(&s, i, token, player, session);
    }

    /* Refusals, on every sport node: no token, garbage, a tampered payload, a token signed
     * by a key not in the JWKS (with a kid the set does not have, and with the real kid),
     * alg none. */
    const char *dot1 = strchr(token, '.'), *dot2 = strchr(dot1 + 1, '.');
    char tampered[2048], none[2048], header_seg[256];
    snprintf(tampered, sizeof tampered, "%s", token);
    size_t mid = (size_t)(dot1 - token) + 1 + (size_t)(dot2 - dot1) / 2;
    tampered[mid] = tampered[mid] == 'A' ? 'B' : 'A';
    snprintf(header_seg, sizeof header_seg, "%.*s", (int)(dot1 - token), token);
    /* {"alg":"none","typ":"at+jwt"}, the real payload, no signature. */
    snprintf(none, sizeof none, "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0%.*s.",
             (int)(dot2 - dot1), dot1);
    char claims[512];
    time_t now = time(NULL);
    snprintf(claims, sizeof claims,
             "{\"iss\":\"" ISSUER "\",\"aud\":\"parlay\",\"sub\":\"%s\",\"sid\":\"%s\","
             "\"iat\":%lld,\"exp\":%lld}",
             player, session, (long long)now, (long long)now + 900);
    char *foreign = foreign_token(claims, "not-a-parlay-key");
    /* The real kid (decoded from the header segment by the accounts cluster's own JWKS). */
    r = h_http(&a, 1, "GET", "/.well-known/jwks.json", NULL, NULL, false);
    char kid1[128];
    snprintf(kid1, sizeof kid1, "%s",
             sval(json_array_get(json_object_get(r.json, "keys"), 0), "kid"));
    h_resp_free(&r);
    char *forged = foreign_token(claims, kid1);
    /* A token for another audience, signed by a foreign key under the real kid. */
    snprintf(claims, sizeof claims,
             "{\"iss\":\"" ISSUER "\",\"aud\":\"elsewhere\",\"sub\":\"%s\",\"sid\":\"%s\","
             "\"iat\":%lld,\"exp\":%lld}",
             player, session, (long long)now, (long long)now + 900);
    char *other_aud = foreign_token(claims, kid1);
    char title[128];
    for (int i = 0; i < 3; i++) {
        /* RFC 6750 3.1: no error code when no token was sent. */
        assert_int_equal(me(&s, i, NULL, title, sizeof title), 401);
        assert_string_equal(title, "Unauthorized");
        assert_string_equal(last_challenge, "Bearer realm=\"parlay\"");
        assert_int_equal(me(&s, i, "not.a.token", title, sizeof title), 401);
        assert_string_equal(title, "Invalid access token");
        assert_string_equal(last_challenge, "Bearer realm=\"parlay\", error=\"invalid_token\"");
        assert_int_equal(me(&s, i, tampered, title, sizeof title), 401);
        assert_non_null(strstr(last_detail, "signature does not verify"));
        assert_string_equal(last_challenge, "Bearer realm=\"parlay\", error=\"invalid_token\"");
        assert_int_equal(me(&s, i, none, title, sizeof title), 401);
        assert_non_null(strstr(last_detail, "alg none not allowed"));
        /* An unknown kid makes the node refetch the set first (min interval 0 here). */
        assert_int_equal(me(&s, i, foreign, title, sizeof title), 401);
        assert_string_equal(title, "Invalid access token");
        assert_non_null(strstr(last_detail, "no ES256 key with kid \"not-a-parlay-key\""));
        assert_int_equal(me(&s, i, forged, title, sizeof title), 401);
        assert_non_null(strstr(last_detail, "signature does not verify"));
        assert_int_equal(me(&s, i, other_aud, title, sizeof title), 401);
        assert_non_null(strstr(last_detail, "signature does not verify"));
        /* The refusals changed nothing: the real token still verifies. */
        assert_me(&s, i, token, player, session);
    }
    /* The accounts cluster refuses them with the same helper. */
    r = call(&a, 2, "GET", "/v1/players/me", NULL, NULL, tampered);
    assert_int_equal(r.status, 401);
    h_resp_free(&r);
    r = call(&a, 2, "GET", "/v1/players/me", NULL, NULL, forged);
    assert_int_equal(r.status, 401);
    h_resp_free(&r);
    free(foreign);
    free(forged);
    free(other_aud);

    /* Rotate the accounts cluster's signing key; sign in on the leader (which signs with the
     * new key once it answered the rotation). */
    int L = h_wait_leader(&a, H_WAIT_MS);
    assert_true(L >= 0);
    r = h_http(&a, L, "POST", "/admin/v1/signing-keys", NULL, "rotate-1", true);
    assert_int_equal(r.status, 201);
    h_resp_free(&r);
    r = call(&a, L, "POST", "/v1/sessions",
             "{\"email\":\"ada@example.fr\",\"password\":\"" PW "\"}", "in-2", NULL);
    assert_int_equal(r.status, 201);
    char token2[2048], session2[64];
    snprintf(token2, sizeof token2, "%s", sval(r.json, "access_token"));
    snprintf(session2, sizeof session2, "%s", sval(r.json, "session_id"));
    h_resp_free(&r);
    /* Another kid: the protected header differs. */
    assert_true(strncmp(token2, header_seg, strlen(header_seg)) != 0);
    /* The node the sport cluster reads publishes both keys once it applied the rotation. */
    tk_wait_keys(&a, 1, 2);
    for (int i = 0; i < 3; i++) {
        assert_me(&s, i, token2, player, session2); /* refetched on the unknown kid */
        assert_me(&s, i, token, player, session);   /* the old key is still published */
    }
    /* The accounts node the sport cluster reads goes away: an unknown kid makes the sport
     * nodes refetch, which fails; they keep the last good set and go on verifying. */
    h_node_kill(&a, 1);
    char *stranger = foreign_token(claims, "another-stranger");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(me(&s, i, stranger, title, sizeof title), 401);
        assert_non_null(strstr(last_detail, "no ES256 key with kid \"another-stranger\""));
        assert_me(&s, i, token2, player, session2);
        assert_me(&s, i, token, player, session);
        assert_true(h_log_count(&s, i, "event=jwks_fetch_failed") >= 1);
    }
    free(stranger);
    h_cluster_destroy(&s);
    h_cluster_destroy(&a);
}

/* Sessions signed out on the accounts cluster stop working on sport nodes within seconds (they
 * poll the revocation log), not only when their access tokens expire; the other session of the
 * same player goes on; with the first accounts node they ask gone, they ask the next. */
static void signed_out_sessions_refused_on_sport_nodes(void **state)
{
    (void)state;
    struct h_cluster a, s;
    h_cluster_init(&a, 3);
    a.role = "accounts";
    h_cluster_write_configs(&a);
    h_start_cluster(&a);
    for (int i = 0; i < 3; i++)
        tk_wait_keys(&a, i, 1);
    char extra[1024];
    snprintf(extra, sizeof extra,
             "{\"accounts_jwks_url\": \"http://127.0.0.1:%d/.well-known/jwks.json\", "
             "\"accounts_jwks_min_interval_ms\": 0, \"accounts_revocations_poll_ms\": 200, "
             "\"accounts_urls\": \"http://127.0.0.1:%d,http://127.0.0.1:%d,http://127.0.0.1:%d\"}",
             a.nodes[1].http_port, a.nodes[0].http_port, a.nodes[1].http_port,
             a.nodes[2].http_port);
    h_cluster_init(&s, 3);
    s.extra_config = extra;
    h_cluster_write_configs(&s);
    h_start_cluster(&s);

    char player[64], tok_a[2048], ses_a[64];
    tk_sign_up(&a, 0, "eve@example.fr", PW, player, tok_a, sizeof tok_a, ses_a);
    struct h_resp r = call(&a, 2, "POST", "/v1/sessions",
                           "{\"email\":\"eve@example.fr\",\"password\":\"" PW "\"}", "in-b", NULL);
    assert_int_equal(r.status, 201);
    char tok_b[2048];
    snprintf(tok_b, sizeof tok_b, "%s", sval(r.json, "access_token"));
    h_resp_free(&r);
    tk_wait_me_code(&s, tok_a, "");
    tk_wait_me_code(&s, tok_b, "");

    /* The revocation log's bad parameters. */
    r = call(&a, 0, "GET", "/v1/sessions/revocations?since=soon", NULL, NULL, NULL);
    assert_int_equal(r.status, 400);
    assert_string_equal(sval(r.json, "code"), "bad_since");
    h_resp_free(&r);
    r = call(&a, 0, "GET", "/v1/sessions/revocations?limit=0", NULL, NULL, NULL);
    assert_int_equal(r.status, 400);
    assert_string_equal(sval(r.json, "code"), "bad_limit");
    h_resp_free(&r);

    /* Session A signs out: refused everywhere within seconds; B still works. */
    r = call(&a, 1, "DELETE", "/v1/sessions/current", NULL, "out-a", tok_a);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    tk_wait_me_code(&s, tok_a, "session_revoked");
    for (int i = 0; i < 3; i++) {
        char code[64];
        tk_me_code(&s, i, tok_b, code);
        assert_string_equal(code, "");
    }
    /* Node 3 may apply the sign-out a moment after the node that answered it. */
    for (double until = h_now() + 15;; h_sleep_ms(50)) {
        r = call(&a, 2, "GET", "/v1/sessions/revocations?since=0", NULL, NULL, NULL);
        assert_int_equal(r.status, 200);
        if (json_array_size(json_object_get(r.json, "items")) > 0 || h_now() > until)
            break;
        h_resp_free(&r);
    }
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(sval(json_array_get(items, 0), "session_id"), ses_a);
    h_resp_free(&r);

    /* The first accounts node in their list goes away; B signs out through another node. */
    h_node_kill(&a, 0);
    assert_true(h_wait_leader(&a, H_WAIT_MS) >= 0);
    double deadline = h_now() + 30;
    long st = 0;
    while (st != 200 && h_now() < deadline) {
        r = call(&a, 2, "DELETE", "/v1/sessions/current", NULL, "out-b", tok_b);
        st = r.status;
        h_resp_free(&r);
        if (st != 200)
            h_sleep_ms(100); /* 503 while a new leader is elected */
    }
    assert_int_equal(st, 200);
    tk_wait_me_code(&s, tok_b, "session_revoked");
    for (int i = 0; i < 3; i++)
        assert_true(h_log_count(&s, i, "event=revocations_fetch_failed") >= 1);

    /* An operator ends every session of the player (ASVS 7.4.5): a new session is refused on
     * the sport nodes within seconds, with the operator's reason kept. Bad input changes
     * nothing. */
    r = call(&a, 2, "POST", "/v1/sessions",
             "{\"email\":\"eve@example.fr\",\"password\":\"" PW "\"}", "in-c", NULL);
    assert_int_equal(r.status, 201);
    char tok_c[2048];
    snprintf(tok_c, sizeof tok_c, "%s", sval(r.json, "access_token"));
    h_resp_free(&r);
    tk_wait_me_code(&s, tok_c, "");
    char path[160];
    snprintf(path, sizeof path, "/admin/v1/players/%s/signout", player);
    r = h_http(&a, 2, "POST", path, "{\"reason\":\"x\"}", "so-bad", true);
    assert_int_equal(r.status, 422);
    h_resp_free(&r);
    r = h_http(&a, 2, "POST", "/admin/v1/players/p_00000000000000000000000000000099/signout",
               "{\"reason\":\"account takeover suspected\"}", "so-none", true);
    assert_int_equal(r.status, 404);
    h_resp_free(&r);
    r = call(&a, 2, "POST", path, "{\"reason\":\"account takeover suspected\"}", "so-1", tok_c);
    assert_int_equal(r.status, 401); /* a player's token is no operator's */
    h_resp_free(&r);
    tk_wait_me_code(&s, tok_c, "");
    deadline = h_now() + 30;
    st = 0;
    while (st != 200 && h_now() < deadline) {
        r = h_http(&a, 2, "POST", path, "{\"reason\":\"account takeover suspected\"}", "so-1",
                   true);
        st = r.status;
        if (st == 200)
            assert_int_equal(json_integer_value(json_object_get(r.json, "revoked")), 1);
        h_resp_free(&r);
        if (st != 200)
            h_sleep_ms(100);
    }
    assert_int_equal(st, 200);
    tk_wait_me_code(&s, tok_c, "session_revoked");
    /* The accounts node that relayed the sign-out answered once the leader applied it; it
     * applies it itself a moment later: refused there too within 10 s. */
    for (double end = h_now() + 10;; h_sleep_ms(100)) {
        r = call(&a, 2, "GET", "/v1/players/me", NULL, NULL, tok_c);
        st = r.status;
        h_resp_free(&r);
        if (st == 401 || h_now() > end)
            break;
    }
    assert_int_equal(st, 401);
    h_cluster_destroy(&s);
    h_cluster_destroy(&a);
}

/* A sport node whose accounts cluster is unreachable answers 503 + Retry-After, not 401. */
static void no_key_set_yet_is_503(void **state)
{
    (void)state;
    struct h_cluster s;
    h_cluster_init(&s, 1);
    s.extra_config = "{\"accounts_jwks_url\": \"http://127.0.0.1:1/.well-known/jwks.json\"}";
    h_cluster_write_configs(&s);
    h_start_cluster(&s);
    struct h_resp r = call(&s, 0, "GET", "/v1/me", NULL, NULL, "a.b.c");
    assert_int_equal(r.status, 503);
    assert_string_equal(r.content_type, "application/problem+json");
    assert_string_equal(r.retry_after, "1");
    h_resp_free(&r);
    h_cluster_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens_verify_across_clusters),
        cmocka_unit_test(no_key_set_yet_is_503),
        cmocka_unit_test(signed_out_sessions_refused_on_sport_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
