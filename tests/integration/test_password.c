/* A player changes their password (ASVS 6.2.2, 6.2.3; POST /v1/players/me/password): a
 * three-node accounts cluster and a football node that polls its revocation log.
 *
 * Refusals change nothing (the old password still signs in, every session still works): no
 * token, no Idempotency-Key, bad fields, a new password outside the policy or equal to the
 * current one, a wrong current password (401, counted as a failed sign-in: the count grows on
 * the cluster's record). The change through a follower keeps the session that asked and ends
 * the player's other sessions, on the accounts nodes and on the football node within seconds;
 * the new password signs in on another node and the old one no longer does. A player with a
 * TOTP second factor is refused without a code and with a wrong one, and changes it with the
 * next code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "kyc/kyc.h"
#include "tests/integration/harness.h"
#include "tests/integration/tokens.h"

#define PW "a long and private phrase"
#define PW2 "another phrase, just as private"
#define PATH "/v1/players/me/password"

static const char *sval(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    assert_non_null(s);
    return s;
}

/* A request answered @status with problem+json code @code (NULL: none expected). */
static void expect(struct h_resp r, long status, const char *code)
{
    assert_int_equal(r.status, status);
    assert_string_equal(r.content_type, "application/problem+json");
    assert_non_null(json_string_value(json_object_get(r.json, "detail")));
    if (code)
        assert_string_equal(sval(r.json, "code"), code);
    h_resp_free(&r);
}

/* Signs @email in on accounts node @i: the status, and the access token when 201. */
static long sign_in(struct h_cluster *a, int i, const char *email, const char *pw,
                    const char *extra, const char *key, char token[2048])
{
    char body[512];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"%s}", email, pw,
             extra ? extra : "");
    struct h_resp r = h_http_bearer(a, i, "POST", "/v1/sessions", body, key, NULL);
    long st = r.status;
    if (st == 201 && token)
        snprintf(token, 2048, "%s", sval(r.json, "access_token"));
    h_resp_free(&r);
    return st;
}

static const char *change(const char *current, const char *nw, const char *extra)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "{\"current\":\"%s\",\"new\":\"%s\"%s}", current, nw,
             extra ? extra : "");
    return buf;
}

/* GET /v1/players/me on accounts node @i with @token: the status (the record in *@out). */
static long me_accounts(struct h_cluster *a, int i, const char *token, json_t **out)
{
    struct h_resp r = h_http_bearer(a, i, "GET", "/v1/players/me", NULL, NULL, token);
    long st = r.status;
    if (out)
        *out = json_incref(r.json);
    h_resp_free(&r);
    return st;
}

/* Waits (15 s at most) until accounts node @i has applied a password change for the player of
 * @token (its record carries password_changed_at). */
static void wait_changed(struct h_cluster *a, int i, const char *token, const char *after)
{
    double deadline = h_now() + 15;
    for (;; h_sleep_ms(50)) {
        json_t *p = NULL;
        long st = me_accounts(a, i, token, &p);
        const char *at = json_string_value(json_object_get(p, "password_changed_at"));
        bool done = st == 200 && at && (!after || strcmp(at, after) != 0);
        json_decref(p);
        if (done)
            return;
        if (h_now() > deadline)
            fail_msg("accounts node %d has not applied the change", i + 1);
    }
}

static void start(struct h_cluster *a, struct h_cluster *s, char *extra, size_t n)
{
    h_cluster_init(a, 3);
    a->role = "accounts";
    h_cluster_write_configs(a);
    h_start_cluster(a);
    for (int i = 0; i < 3; i++)
        tk_wait_keys(a, i, 1);
    snprintf(extra, n,
             "{\"accounts_jwks_url\": \"http://127.0.0.1:%d/.well-known/jwks.json\", "
             "\"accounts_jwks_min_interval_ms\": 0, \"accounts_revocations_poll_ms\": 200, "
             "\"accounts_urls\": \"http://127.0.0.1:%d,http://127.0.0.1:%d,http://127.0.0.1:%d\"}",
             a->nodes[0].http_port, a->nodes[0].http_port, a->nodes[1].http_port,
             a->nodes[2].http_port);
    h_cluster_init(s, 1);
    s->extra_config = extra;
    h_cluster_write_configs(s);
    h_start_cluster(s);
}

static int follower(struct h_cluster *c, int leader, int nth)
{
    for (int i = 0, k = 0; i < c->n; i++)
        if (i != leader && k++ == nth)
            return i;
    return -1;
}

static void password_change_ends_other_sessions(void **state)
{
    (void)state;
    struct h_cluster a, s;
    char extra[1024];
    start(&a, &s, extra, sizeof extra);
    int L = h_wait_leader(&a, H_WAIT_MS), F1 = follower(&a, L, 0), F2 = follower(&a, L, 1);

    /* Session A (sign-up), B (another device) and C (the one that will change the
     * password). */
    char player[64], tok_a[2048], ses_a[64], tok_b[2048], tok_c[2048];
    tk_sign_up(&a, L, "pat@example.fr", PW, player, tok_a, sizeof tok_a, ses_a);
    assert_int_equal(sign_in(&a, F2, "pat@example.fr", PW, NULL, "in-b", tok_b), 201);
    assert_int_equal(sign_in(&a, F1, "pat@example.fr", PW, NULL, "in-c", tok_c), 201);
    tk_wait_me_code(&s, tok_a, "");
    tk_wait_me_code(&s, tok_b, "");

    /* Refusals. */
    struct h_resp r = h_http_bearer(&a, F1, "POST", PATH, change(PW, PW2, NULL), "ch-0", NULL);
    assert_int_equal(r.status, 401);
    h_resp_free(&r);
    r = h_http_bearer(&a, F1, "POST", PATH, change(PW, PW2, NULL), NULL, tok_c);
    assert_int_equal(r.status, 428);
    h_resp_free(&r);
    r = h_http_bearer(&a, F1, "GET", PATH, NULL, NULL, tok_c);
    assert_int_equal(r.status, 405);
    h_resp_free(&r);
    expect(h_http_bearer(&a, F1, "POST", PATH,
                         "{\"current\":\"" PW "\",\"new\":\"" PW2 "\",\"x\":\"1\"}", "ch-1", tok_c),
           400, NULL);
    expect(h_http_bearer(&a, F1, "POST", PATH, "{\"current\":\"" PW "\"}", "ch-2", tok_c), 422,
           NULL);
    expect(h_http_bearer(&a, F1, "POST", PATH, "{\"current\":\"" PW "\",\"new\":8}", "ch-3", tok_c),
           422, NULL);
    expect(h_http_bearer(&a, F1, "POST", PATH, change(PW, "short", NULL), "ch-4", tok_c), 422,
           "password_policy");
    expect(h_http_bearer(&a, F1, "POST", PATH, change(PW, "password1", NULL), "ch-5", tok_c), 422,
           "password_policy");
    expect(h_http_bearer(&a, F1, "POST", PATH, change(PW, PW, NULL), "ch-6", tok_c), 422,
           "same_password");
    expect(h_http_bearer(&a, F1, "POST", PATH, change("", PW2, NULL), "ch-7", tok_c), 422,
           "bad_current");
    expect(h_http_bearer(&a, F1, "POST", PATH,
                         change(PW, PW2, ",\"code\":\"1\",\"recovery_code\":\"2\""), "ch-8", tok_c),
           422, "bad_code");
    /* A wrong current password: 401, counted as a failed sign-in (the count grows). */
    for (int k = 1; k <= 2; k++) {
        char key[16];
        snprintf(key, sizeof key, "ch-wrong-%d", k);
        r = h_http_bearer(&a, k == 1 ? F1 : F2, "POST", PATH, change("not the password", PW2, NULL),
                          key, tok_c);
        assert_int_equal(r.status, 401);
        assert_string_equal(sval(r.json, "code"), "invalid_password");
        assert_int_equal(json_integer_value(json_object_get(r.json, "failures")), k);
        h_resp_free(&r);
    }
    /* Nothing changed: every session works, the old password signs in (and resets the
     * count). */
    tk_wait_me_code(&s, tok_a, "");
    tk_wait_me_code(&s, tok_b, "");
    assert_int_equal(me_accounts(&a, F2, tok_b, NULL), 200);
    assert_int_equal(sign_in(&a, F2, "pat@example.fr", PW, NULL, "in-d", NULL), 201);
    json_t *p = NULL;
    assert_int_equal(me_accounts(&a, L, tok_c, &p), 200);
    assert_null(json_object_get(p, "password_changed_at"));
    assert_null(json_object_get(p, "password_hash"));
    json_decref(p);

    /* The change, through a follower: the asking session stays, the other three end. */
    r = h_http_bearer(&a, F1, "POST", PATH, change(PW, PW2, NULL), "ch-ok", tok_c);
    assert_int_equal(r.status, 200);
    assert_string_equal(sval(r.json, "player_id"), player);
    assert_int_equal(json_integer_value(json_object_get(r.json, "sessions_revoked")), 3);
    h_resp_free(&r);
    /* A retry with the same key answers the same, and changes nothing more. */
    r = h_http_bearer(&a, L, "POST", PATH, change(PW, PW2, NULL), "ch-ok", tok_c);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "sessions_revoked")), 3);
    h_resp_free(&r);

    /* Sessions A and B are refused by the football node within seconds and by the accounts
     * nodes; C goes on. */
    tk_wait_me_code(&s, tok_a, "session_revoked");
    tk_wait_me_code(&s, tok_b, "session_revoked");
    tk_wait_me_code(&s, tok_c, "");
    wait_changed(&a, F2, tok_c, NULL);
    assert_int_equal(me_accounts(&a, F2, tok_a, NULL), 401);
    assert_int_equal(me_accounts(&a, F2, tok_b, NULL), 401);
    assert_int_equal(me_accounts(&a, F2, tok_c, NULL), 200);

    /* On another node, the new password signs in and the old one does not. */
    assert_int_equal(sign_in(&a, F2, "pat@example.fr", PW, NULL, "in-old", NULL), 401);
    char tok_e[2048];
    assert_int_equal(sign_in(&a, F2, "pat@example.fr", PW2, NULL, "in-new", tok_e), 201);
    tk_wait_me_code(&s, tok_e, "");
    /* The old password is now the wrong current one. */
    expect(h_http_bearer(&a, L, "POST", PATH, change(PW, "a third private phrase", NULL),
                         "ch-again", tok_c),
           401, "invalid_password");
    h_cluster_destroy(&s);
    h_cluster_destroy(&a);
}

/* The 6-digit code of @secret (base32) at unix time @t. */
static unsigned totp_at(const char *secret, int64_t t)
{
    uint8_t key[64];
    int n = kyc_base32_decode(secret, key, sizeof key);
    assert_true(n > 0);
    uint32_t code;
    assert_int_equal(kyc_totp_code(key, (size_t)n, KYC_TOTP_SHA1, t, 30, 6, &code, NULL), KYC_OK);
    return code;
}

static void password_change_needs_second_factor(void **state)
{
    (void)state;
    struct h_cluster a;
    h_start_accounts(&a, NULL);
    int L = h_wait_leader(&a, H_WAIT_MS), F1 = follower(&a, L, 0), F2 = follower(&a, L, 1);
    char player[64], tok[2048], ses[64];
    tk_sign_up(&a, F1, "tom@example.fr", PW, player, tok, sizeof tok, ses);
    struct h_resp r = h_http_bearer(&a, F1, "POST", "/v1/players/me/totp", NULL, "totp-1", tok);
    assert_int_equal(r.status, 201);
    char secret[64], body[128], rec[3][32];
    snprintf(secret, sizeof secret, "%s", sval(r.json, "secret"));
    h_resp_free(&r);
    int64_t now = (int64_t)time(NULL);
    snprintf(body, sizeof body, "{\"code\":\"%06u\"}", totp_at(secret, now));
    r = h_http_bearer(&a, L, "POST", "/v1/players/me/totp/confirm", body, "totp-2", tok);
    assert_int_equal(r.status, 200);
    for (int i = 0; i < 3; i++)
        snprintf(rec[i], sizeof rec[i], "%s",
                 json_string_value(json_array_get(json_object_get(r.json, "recovery_codes"), i)));
    h_resp_free(&r);

    /* Without a code, and with a wrong one (not the code of any step near now): refused, the
     * wrong code counted as a failed sign-in. */
    expect(h_http_bearer(&a, F1, "POST", PATH, change(PW, PW2, NULL), "ch-1", tok), 401,
           "second_factor_required");
    unsigned wrong = 0;
    for (bool clash = true; clash; wrong++) {
        clash = false;
        for (int d = -3; d <= 3; d++)
            clash = clash || totp_at(secret, now + 30 * d) == wrong;
    }
    wrong--;
    char extra[64];
    snprintf(extra, sizeof extra, ",\"code\":\"%06u\"", wrong);
    r = h_http_bearer(&a, F1, "POST", PATH, change(PW, PW2, extra), "ch-2", tok);
    assert_int_equal(r.status, 401);
    assert_string_equal(sval(r.json, "code"), "invalid_second_factor");
    assert_int_equal(json_integer_value(json_object_get(r.json, "failures")), 1);
    h_resp_free(&r);
    /* Nothing changed: the old password (with a recovery code) signs in. */
    snprintf(extra, sizeof extra, ",\"recovery_code\":\"%s\"", rec[0]);
    assert_int_equal(sign_in(&a, L, "tom@example.fr", PW, extra, "in-1", NULL), 201);

    /* With the next code, through a follower: the session signed in above ends. */
    snprintf(extra, sizeof extra, ",\"code\":\"%06u\"", totp_at(secret, now + 30));
    r = h_http_bearer(&a, F1, "POST", PATH, change(PW, PW2, extra), "ch-3", tok);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "sessions_revoked")), 1);
    h_resp_free(&r);
    /* The code is spent: the same code again is refused (even with the right password). */
    snprintf(extra, sizeof extra, ",\"code\":\"%06u\"", totp_at(secret, now + 30));
    r = h_http_bearer(&a, L, "POST", PATH, change(PW2, "a third private phrase", extra), "ch-4",
                      tok);
    assert_int_equal(r.status, 401);
    h_resp_free(&r);
    wait_changed(&a, F2, tok, NULL);
    snprintf(extra, sizeof extra, ",\"recovery_code\":\"%s\"", rec[1]);
    assert_int_equal(sign_in(&a, F2, "tom@example.fr", PW, extra, "in-2", NULL), 401);
    assert_int_equal(sign_in(&a, F2, "tom@example.fr", PW2, extra, "in-3", NULL), 201);
    h_cluster_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(password_change_ends_other_sessions),
        cmocka_unit_test(password_change_needs_second_factor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
