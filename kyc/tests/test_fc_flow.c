/* End-to-end FranceConnect relying-party tests against the oidc-provider stand-in
 * (kyc/standin/fc-standin.mjs), started once on a free 127.0.0.1 port for the whole file.
 *
 * Each scenario runs the real flow: kyc_fc_authorize -> the stand-in's headless login as a
 * named identity -> kyc_fc_callback (state, code exchange, ID token, signed userinfo) ->
 * identity, then the rules a sign-up applies (18+, identity key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "kyc/kyc.h"
#include "kyc/tests/standin.h"

#define REDIRECT "http://127.0.0.1/kyc/callback"
#define SECRET "parlay-test-secret"

static standin op;

static int setup_all(void** state)
{
    (void)state;
    if (kyc_global_init() != KYC_OK)
        return -1;
    return standin_start(&op, "kyc/standin/fc-standin.mjs", NULL);
}

static int teardown_all(void** state)
{
    (void)state;
    standin_stop(&op);
    return 0;
}

static kyc_fc* client(const char* client_id, const char* secret)
{
    kyc_fc_config cfg = {.issuer = op.url,
                         .client_id = client_id,
                         .client_secret = secret,
                         .redirect_uri = REDIRECT,
                         .post_logout_redirect_uri = "http://127.0.0.1/kyc/logged-out",
                         .timeout_ms = 20000,
                         .allow_http = true};
    kyc_fc* fc = NULL;
    kyc_err err = {0};
    int rc = kyc_fc_new(&cfg, &fc, &err);
    if (rc)
        fail_msg("kyc_fc_new: %s", err.msg);
    return fc;
}

/* authorize + headless login: fills *login and returns the callback query (malloc'ed). */
static char* login_as(kyc_fc* fc, kyc_fc_login* login, const char* identity, bool deny)
{
    char* url = NULL;
    kyc_err err = {0};
    int rc = kyc_fc_authorize(fc, login, &url, &err);
    if (rc)
        fail_msg("authorize: %s", err.msg);
    char* query = NULL;
    long status = 0;
    if (browser_login(url, identity, deny, REDIRECT, &query, &status) != 0)
        fail_msg("login as %s did not come back to the redirect_uri (last HTTP %ld)", identity,
                 status);
    free(url);
    return query;
}

static int sign_up(const char* client_id, const char* identity, kyc_fc_result* res, kyc_err* err)
{
    kyc_fc* fc = client(client_id, SECRET);
    kyc_fc_login login;
    char* q = login_as(fc, &login, identity, false);
    int rc = kyc_fc_callback(fc, &login, q, (int64_t)time(NULL), res, err);
    free(q);
    kyc_fc_free(fc);
    return rc;
}

static void test_authorize_url(void** state)
{
    (void)state;
    kyc_fc* fc = client("parlay", SECRET);
    kyc_fc_login a, b;
    char *u1 = NULL, *u2 = NULL;
    kyc_err err = {0};
    assert_int_equal(kyc_fc_authorize(fc, &a, &u1, &err), KYC_OK);
    assert_int_equal(kyc_fc_authorize(fc, &b, &u2, &err), KYC_OK);
    char ep[300];
    snprintf(ep, sizeof ep, "%s/authorize?", op.url);
    assert_memory_equal(u1, ep, strlen(ep));
    assert_non_null(strstr(u1, "response_type=code"));
    assert_non_null(strstr(u1, "scope=openid%20identite_pivot%20email"));
    assert_non_null(strstr(u1, "acr_values=eidas1"));
    assert_non_null(strstr(u1, "client_id=parlay&"));
    assert_null(strstr(u1, "prompt=none"));
    assert_true(strlen(a.nonce) >= 22 && strlen(a.state) >= 22);
    assert_string_not_equal(a.state, b.state); /* fresh from the CSPRNG each time */
    assert_string_not_equal(a.nonce, b.nonce);
    char want[80];
    snprintf(want, sizeof want, "nonce=%s", a.nonce);
    assert_non_null(strstr(u1, want));
    free(u1);
    free(u2);
    kyc_fc_free(fc);
}

static void check_adult_identity(const kyc_fc_result* r)
{
    assert_string_equal(r->id.given_names, "Angela Claire Louise");
    assert_string_equal(r->id.family_name, "DUBOIS");
    assert_string_equal(r->id.birthdate, "1962-08-24");
    assert_string_equal(r->id.birthplace, "75107");
    assert_string_equal(r->id.birthcountry, "99100");
    assert_string_equal(r->id.gender, "female");
    assert_string_equal(r->id.email, "angela@example.test");
    assert_string_equal(r->id.acr, "eidas1");
    assert_string_equal(r->id.issuer, op.url);
    assert_int_equal(strlen(r->id.sub), 66); /* 64 hex + "v1", FranceConnect's shape */
    assert_non_null(r->id_token);
}

static void test_full_flow_es256(void** state)
{
    (void)state;
    kyc_fc* fc = client("parlay", SECRET);
    kyc_fc_login login;
    char* q = login_as(fc, &login, "adult", false);
    assert_non_null(strstr(q, "code="));
    kyc_fc_result r;
    kyc_err err = {0};
    int rc = kyc_fc_callback(fc, &login, q, (int64_t)time(NULL), &r, &err);
    if (rc)
        fail_msg("callback: %s", err.msg);
    check_adult_identity(&r);
    assert_true(r.auth_time > 0);
    assert_int_equal(kyc_check_adult(r.id.birthdate, (int64_t)time(NULL), &err), KYC_OK);
    /* The ID token is ES256 with the stand-in's EC key. */
    assert_memory_equal(r.id_token, "eyJhbGciOiJFUzI1NiIs", 20);

    /* Logout: the end-session URL carries id_token_hint and the provider accepts it. */
    char* out = NULL;
    assert_int_equal(kyc_fc_logout_url(fc, r.id_token, login.state, &out, &err), KYC_OK);
    char ep[300];
    snprintf(ep, sizeof ep, "%s/session/end?id_token_hint=", op.url);
    assert_memory_equal(out, ep, strlen(ep));
    assert_non_null(
        strstr(out, "post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%2Fkyc%2Flogged-out"));
    assert_int_equal(http_status_of(out), 200);
    free(out);
    kyc_fc_result_clear(&r);
    free(q);
    kyc_fc_free(fc);
}

static void test_full_flow_rs256(void** state)
{
    (void)state;
    kyc_fc_result r;
    kyc_err err = {0};
    int rc = sign_up("parlay-rs", "adult", &r, &err);
    if (rc)
        fail_msg("callback: %s", err.msg);
    check_adult_identity(&r);
    assert_memory_equal(r.id_token, "eyJhbGciOiJSUzI1NiIs", 20);
    kyc_fc_result_clear(&r);
}

static void test_state_mismatch_refused_then_right_state_works(void** state)
{
    (void)state;
    kyc_fc* fc = client("parlay", SECRET);
    kyc_fc_login login;
    char* q = login_as(fc, &login, "adult", false);
    kyc_fc_login forged = login;
    forged.state[0] = forged.state[0] == 'A' ? 'B' : 'A';
    kyc_fc_result r;
    kyc_err err = {0};
    assert_int_equal(kyc_fc_callback(fc, &forged, q, (int64_t)time(NULL), &r, &err), KYC_E_STATE);
    assert_int_equal(err.code, KYC_E_STATE);
    assert_null(r.id_token);
    /* The state is checked before the code is spent: the real login still completes. */
    assert_int_equal(kyc_fc_callback(fc, &login, q, (int64_t)time(NULL), &r, &err), KYC_OK);
    kyc_fc_result_clear(&r);
    /* A callback without state at all. */
    assert_int_equal(kyc_fc_callback(fc, &login, "code=abc", (int64_t)time(NULL), &r, &err),
                     KYC_E_STATE);
    free(q);
    kyc_fc_free(fc);
}

static void test_replayed_code_refused(void** state)
{
    (void)state;
    kyc_fc* fc = client("parlay", SECRET);
    kyc_fc_login login;
    char* q = login_as(fc, &login, "adult", false);
    kyc_fc_result r;
    kyc_err err = {0};
    assert_int_equal(kyc_fc_callback(fc, &login, q, (int64_t)time(NULL), &r, &err), KYC_OK);
    kyc_fc_result_clear(&r);
    assert_int_equal(kyc_fc_callback(fc, &login, q, (int64_t)time(NULL), &r, &err), KYC_E_GRANT);
    assert_non_null(strstr(err.msg, "invalid_grant"));
    assert_null(r.id_token);
    free(q);
    kyc_fc_free(fc);
}

static void test_minor_refused(void** state)
{
    (void)state;
    kyc_fc_result r;
    kyc_err err = {0};
    assert_int_equal(sign_up("parlay", "minor", &r, &err), KYC_OK);
    assert_string_equal(r.id.family_name, "MARTIN");
    assert_int_equal(kyc_check_adult(r.id.birthdate, (int64_t)time(NULL), &err), KYC_E_MINOR);
    assert_non_null(strstr(err.msg, "16"));
    kyc_fc_result_clear(&r);
}

static void test_presumed_birthdates(void** state)
{
    (void)state;
    kyc_fc_result r;
    kyc_err err = {0};
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(sign_up("parlay", "presumed", &r, &err), KYC_OK);
    assert_string_equal(r.id.birthdate, "1990-00-00");
    assert_string_equal(r.id.birthplace, ""); /* born abroad */
    assert_string_equal(r.id.birthcountry, "99350");
    assert_int_equal(kyc_check_adult(r.id.birthdate, now, &err), KYC_OK);
    kyc_fc_result_clear(&r);

    /* Born "sometime" in the year 18 years ago: counts from 31 December, so a minor on
     * every other day of the year. */
    assert_int_equal(sign_up("parlay", "presumed-recent", &r, &err), KYC_OK);
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    bool dec31 = tm.tm_mon == 11 && tm.tm_mday == 31;
    assert_int_equal(kyc_check_adult(r.id.birthdate, now, &err), dec31 ? KYC_OK : KYC_E_MINOR);
    kyc_fc_result_clear(&r);
}

static void test_same_person_two_subs(void** state)
{
    (void)state;
    kyc_fc_result a, b;
    kyc_err err = {0};
    assert_int_equal(sign_up("parlay", "adult", &a, &err), KYC_OK);
    assert_int_equal(sign_up("parlay", "adult-twin", &b, &err), KYC_OK);
    assert_string_not_equal(a.id.sub, b.id.sub);
    char ka[KYC_IDKEY_CHARS + 1], kb[KYC_IDKEY_CHARS + 1];
    assert_int_equal(kyc_identity_key(&a.id, ka, &err), KYC_OK);
    assert_int_equal(kyc_identity_key(&b.id, kb, &err), KYC_OK);
    assert_string_equal(ka, kb); /* one account for both */
    kyc_fc_result_clear(&a);
    kyc_fc_result_clear(&b);
}

static void test_expired_code_refused(void** state)
{
    (void)state;
    /* parlay-short's codes live 1 s at the stand-in; present one 2.5 s later. Waiting longer
     * than the lifetime only makes it more expired: no race. */
    kyc_fc* fc = client("parlay-short", SECRET);
    kyc_fc_login login;
    kyc_fc_result r;
    kyc_err err = {0};
    /* Control: used at once, the same client's code works. */
    char* q = login_as(fc, &login, "adult", false);
    assert_int_equal(kyc_fc_callback(fc, &login, q, (int64_t)time(NULL), &r, &err), KYC_OK);
    kyc_fc_result_clear(&r);
    free(q);
    q = login_as(fc, &login, "adult", false);
    struct timespec ts = {2, 500 * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
    assert_int_equal(kyc_fc_callback(fc, &login, q, (int64_t)time(NULL), &r, &err), KYC_E_GRANT);
    assert_null(r.id_token);
    free(q);
    kyc_fc_free(fc);
}

static void test_wrong_nonce_refused(void** state)
{
    (void)state;
    kyc_fc* fc = client("parlay", SECRET);
    kyc_fc_login login;
    char* q = login_as(fc, &login, "adult", false);
    /* The stored login record says another nonce than the one sent (e.g. an ID token
     * obtained for another login). */
    memcpy(login.nonce, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", KYC_TOKEN_CHARS);
    kyc_fc_result r;
    kyc_err err = {0};
    assert_int_equal(kyc_fc_callback(fc, &login, q, (int64_t)time(NULL), &r, &err),
                     KYC_E_JWT_NONCE);
    assert_null(r.id_token);
    free(q);
    kyc_fc_free(fc);
}

static void test_expired_from_our_clock_refused(void** state)
{
    (void)state;
    kyc_fc* fc = client("parlay", SECRET);
    kyc_fc_login login;
    char* q = login_as(fc, &login, "adult", false);
    kyc_fc_result r;
    kyc_err err = {0};
    /* Our clock says an hour later: the 60-second ID token is long expired. */
    assert_int_equal(kyc_fc_callback(fc, &login, q, (int64_t)time(NULL) + 3600, &r, &err),
                     KYC_E_JWT_EXPIRED);
    free(q);
    kyc_fc_free(fc);
}

static void test_unsigned_userinfo_refused(void** state)
{
    (void)state;
    kyc_fc_result r;
    kyc_err err = {0};
    assert_int_equal(sign_up("parlay-plain", "adult", &r, &err), KYC_E_USERINFO_UNSIGNED);
    assert_null(r.id_token);
}

static void test_user_cancels(void** state)
{
    (void)state;
    kyc_fc* fc = client("parlay", SECRET);
    kyc_fc_login login;
    char* q = login_as(fc, &login, "adult", true);
    kyc_fc_result r;
    kyc_err err = {0};
    assert_int_equal(kyc_fc_callback(fc, &login, q, (int64_t)time(NULL), &r, &err), KYC_E_PROVIDER);
    assert_non_null(strstr(err.msg, "access_denied"));
    free(q);
    kyc_fc_free(fc);
}

static void test_wrong_client_secret(void** state)
{
    (void)state;
    kyc_fc* fc = client("parlay", "not-the-secret");
    kyc_fc_login login;
    char* q = login_as(fc, &login, "adult", false);
    kyc_fc_result r;
    kyc_err err = {0};
    assert_int_equal(kyc_fc_callback(fc, &login, q, (int64_t)time(NULL), &r, &err),
                     KYC_E_HTTP_STATUS);
    assert_non_null(strstr(err.msg, "invalid_client"));
    free(q);
    kyc_fc_free(fc);
}

static void test_foreign_iss_param_refused(void** state)
{
    (void)state;
    kyc_fc* fc = client("parlay", SECRET);
    kyc_fc_login login;
    char* q = login_as(fc, &login, "adult", false);
    /* Mix-up: the response claims to come from another provider. */
    char* iss = strstr(q, "iss=");
    assert_non_null(iss);
    char forged[2048];
    snprintf(forged, sizeof forged, "%.*siss=https%%3A%%2F%%2Fevil.test%%2Fapi%%2Fv2",
             (int)(iss - q), q);
    kyc_fc_result r;
    kyc_err err = {0};
    assert_int_equal(kyc_fc_callback(fc, &login, forged, (int64_t)time(NULL), &r, &err),
                     KYC_E_ISS_PARAM);
    free(q);
    kyc_fc_free(fc);
}

static void test_discovery_issuer_mismatch(void** state)
{
    (void)state;
    char iss[300];
    snprintf(iss, sizeof iss, "%s/", op.url); /* same server, not the same issuer string */
    kyc_fc_config cfg = {.issuer = iss,
                         .client_id = "parlay",
                         .client_secret = SECRET,
                         .redirect_uri = REDIRECT,
                         .allow_http = true};
    kyc_fc* fc = NULL;
    kyc_err err = {0};
    assert_int_equal(kyc_fc_new(&cfg, &fc, &err), KYC_OK);
    assert_int_equal(kyc_fc_discover(fc, &err), KYC_E_DISCOVERY);
    kyc_fc_free(fc);
    /* http:// is refused unless explicitly allowed (tests only). */
    cfg.issuer = op.url;
    cfg.allow_http = false;
    assert_int_equal(kyc_fc_new(&cfg, &fc, &err), KYC_E_INVAL);
}

static void test_timeout(void** state)
{
    (void)state;
    /* A server that accepts connections (the kernel does, from the backlog) and never
     * answers: the call must end with KYC_E_TIMEOUT, not hang. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr*)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr*)&sa, &sl), 0);
    char iss[100];
    snprintf(iss, sizeof iss, "http://127.0.0.1:%d/api/v2", ntohs(sa.sin_port));
    kyc_fc_config cfg = {.issuer = iss,
                         .client_id = "parlay",
                         .client_secret = SECRET,
                         .redirect_uri = REDIRECT,
                         .timeout_ms = 300,
                         .allow_http = true};
    kyc_fc* fc = NULL;
    kyc_err err = {0};
    assert_int_equal(kyc_fc_new(&cfg, &fc, &err), KYC_OK);
    assert_int_equal(kyc_fc_discover(fc, &err), KYC_E_TIMEOUT);
    kyc_fc_free(fc);
    close(fd);
}

/* One kyc_fc shared by worker threads, as the node's uv_queue_work pool will use it. Threads
 * only record results; the assertions run on the test's thread. */
typedef struct
{
    kyc_fc* fc;
    const char* identity;
    int rc[3];
    char sub[3][128];
} worker;

static void* worker_main(void* arg)
{
    worker* w = arg;
    for (int i = 0; i < 3; i++) {
        kyc_fc_login login;
        char* url = NULL;
        kyc_err err;
        w->rc[i] = kyc_fc_authorize(w->fc, &login, &url, &err);
        if (w->rc[i])
            continue;
        char* q = NULL;
        long status;
        if (browser_login(url, w->identity, false, REDIRECT, &q, &status) != 0) {
            w->rc[i] = -1000;
        } else {
            kyc_fc_result r;
            w->rc[i] = kyc_fc_callback(w->fc, &login, q, (int64_t)time(NULL), &r, &err);
            if (w->rc[i] == KYC_OK)
                snprintf(w->sub[i], sizeof w->sub[i], "%s", r.id.sub);
            kyc_fc_result_clear(&r);
        }
        free(q);
        free(url);
    }
    return NULL;
}

static void test_concurrent_logins_share_one_client(void** state)
{
    (void)state;
    kyc_fc* fc = client("parlay", SECRET);
    static const char* who[] = {"adult", "minor", "presumed", "adult-twin"};
    worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){.fc = fc, .identity = who[i]};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) {
            assert_int_equal(w[i].rc[j], KYC_OK);
            assert_string_equal(w[i].sub[j], w[i].sub[0]); /* each saw its own identity */
        }
    assert_string_not_equal(w[0].sub[0], w[1].sub[0]);
    kyc_fc_free(fc);
}

static void rotate_keys(void)
{
    char url[300];
    snprintf(url, sizeof url, "%.*s/__test__/rotate-keys", (int)(strlen(op.url) - 7), op.url);
    CURL* c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    FILE* devnull = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
    long st = 0;
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    assert_int_equal(st, 200);
    fclose(devnull);
    curl_easy_cleanup(c);
}

static void test_key_rotation(void** state)
{
    (void)state;
    /* Two clients that fetched the JWKS before the provider rotated its keys. One may fetch
     * it again at once (no minimum interval), the other not for an hour. */
    kyc_fc_config cfg = {.issuer = op.url,
                         .client_id = "parlay",
                         .client_secret = SECRET,
                         .redirect_uri = REDIRECT,
                         .timeout_ms = 20000,
                         .allow_http = true,
                         .jwks_refresh_s = -1};
    kyc_fc *eager = NULL, *lazy = NULL;
    kyc_err err = {0};
    assert_int_equal(kyc_fc_new(&cfg, &eager, &err), KYC_OK);
    cfg.jwks_refresh_s = 3600;
    assert_int_equal(kyc_fc_new(&cfg, &lazy, &err), KYC_OK);
    assert_int_equal(kyc_fc_discover(eager, &err), KYC_OK);
    assert_int_equal(kyc_fc_discover(lazy, &err), KYC_OK);
    rotate_keys();
    kyc_fc_login login;
    kyc_fc_result r;
    /* The ID token names a kid the cached JWKS lacks: fetched again, then verified. */
    char* q = login_as(eager, &login, "adult", false);
    int rc = kyc_fc_callback(eager, &login, q, (int64_t)time(NULL), &r, &err);
    if (rc)
        fail_msg("after rotation: %s", err.msg);
    kyc_fc_result_clear(&r);
    free(q);
    /* Rate-limited refetch: refused with a precise code rather than hammering the JWKS. */
    q = login_as(lazy, &login, "adult", false);
    assert_int_equal(kyc_fc_callback(lazy, &login, q, (int64_t)time(NULL), &r, &err),
                     KYC_E_JWT_KEY);
    free(q);
    kyc_fc_free(eager);
    kyc_fc_free(lazy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authorize_url),
        cmocka_unit_test(test_full_flow_es256),
        cmocka_unit_test(test_full_flow_rs256),
        cmocka_unit_test(test_state_mismatch_refused_then_right_state_works),
        cmocka_unit_test(test_replayed_code_refused),
        cmocka_unit_test(test_minor_refused),
        cmocka_unit_test(test_presumed_birthdates),
        cmocka_unit_test(test_same_person_two_subs),
        cmocka_unit_test(test_expired_code_refused),
        cmocka_unit_test(test_wrong_nonce_refused),
        cmocka_unit_test(test_expired_from_our_clock_refused),
        cmocka_unit_test(test_unsigned_userinfo_refused),
        cmocka_unit_test(test_user_cancels),
        cmocka_unit_test(test_wrong_client_secret),
        cmocka_unit_test(test_foreign_iss_param_refused),
        cmocka_unit_test(test_discovery_issuer_mismatch),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_concurrent_logins_share_one_client),
        cmocka_unit_test(test_key_rotation), /* last: the keys change */
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
