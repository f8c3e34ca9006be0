/* Document-check provider webhooks: signature over the raw body (constant-time compare),
 * freshness, status mapping, configuration errors; then end to end with the local
 * Veriff-shaped stand-in (kyc/standin/doc-standin.mjs) sending real signed webhooks to a
 * receiver here, including a replayed delivery, a bad signature and a stale one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "kyc/kyc.h"
#include "kyc/tests/standin.h"

#define NOW 1700000000LL

static kyc_doc_provider* provider(const char* json)
{
    json_error_t je;
    json_t* cfg = json_loads(json, 0, &je);
    if (!cfg)
        fail_msg("bad test config: %s", je.text);
    kyc_doc_provider* p = NULL;
    kyc_err err = {0};
    int rc = kyc_doc_provider_new(cfg, &p, &err);
    json_decref(cfg);
    if (rc)
        fail_msg("provider: %s", err.msg);
    return p;
}

/* Onfido-shaped: X-SHA2-Signature = hex HMAC of the body, time inside the body (ISO 8601). */
static const char* ONFIDO =
    "{\"name\":\"onfido-like\",\"secret\":\"s3cret\",\"signature_header\":\"X-SHA2-Signature\","
    "\"timestamp_field\":\"payload.object.completed_at_iso8601\",\"timestamp_unit\":\"iso8601\","
    "\"reference_field\":\"payload.object.id\",\"status_field\":\"payload.object.status\","
    "\"status_map\":{\"approved\":\"approved\",\"declined\":\"declined\",\"review\":"
    "\"manual_review\",\"abandoned\":\"retry\",\"awaiting_input\":\"pending\"}}";

/* Sumsub-shaped: X-Payload-Digest, createdAtMs in the body, an event id. */
static const char* SUMSUB =
    "{\"name\":\"sumsub-like\",\"secret\":\"k\",\"signature_header\":\"x-payload-digest\","
    "\"timestamp_field\":\"createdAtMs\",\"timestamp_unit\":\"ms\",\"event_id_field\":"
    "\"correlationId\",\"reference_field\":\"applicantId\",\"status_field\":"
    "\"reviewResult.reviewAnswer\",\"max_age_s\":120,"
    "\"status_map\":{\"GREEN\":\"approved\",\"RED\":\"manual_review\"}}";

/* Timestamp header signed with the body, base64, with a prefix. */
static const char* STAMPED =
    "{\"name\":\"stamped\",\"secret\":\"abc\",\"signature_header\":\"X-Signature\","
    "\"signature_prefix\":\"v1=\",\"signature_encoding\":\"base64\",\"signed_payload\":"
    "\"timestamp.body\",\"timestamp_header\":\"X-Timestamp\",\"reference_field\":\"ref\","
    "\"event_id_field\":\"event\",\"status_field\":\"state\","
    "\"status_map\":{\"ok\":\"approved\",\"ko\":\"declined\",\"again\":\"retry\"}}";

static const char* ONFIDO_BODY =
    "{\"payload\":{\"resource_type\":\"workflow_run\",\"action\":\"workflow_run.completed\","
    "\"object\":{\"id\":\"wfr_123\",\"status\":\"approved\",\"completed_at_iso8601\":"
    "\"2023-11-14T22:13:20Z\"}}}"; /* = NOW */

static int check(kyc_doc_provider* p,
                 const char* hname,
                 const char* sig,
                 const char* body,
                 int64_t now,
                 kyc_doc_event* ev)
{
    kyc_header h[] = {{"Content-Type", "application/json"}, {hname, sig}};
    kyc_err err = {0};
    int rc = kyc_doc_webhook_verify(p, h, 2, body, strlen(body), now, ev, &err);
    if (rc)
        assert_int_equal(err.code, rc);
    return rc;
}

static void test_hmac_known_vector(void** state)
{
    (void)state;
    /* RFC 4231 test case 2: HMAC-SHA256(key "Jefe", "what do ya want for nothing?"). */
    kyc_doc_provider* p = provider(
        "{\"name\":\"rfc4231\",\"secret\":\"Jefe\",\"signature_header\":\"X-Sig\","
        "\"timestamp_field\":\"t\",\"reference_field\":\"r\",\"status_field\":\"s\","
        "\"status_map\":{\"a\":\"approved\"}}");
    const char* data = "what do ya want for nothing?";
    char sig[128];
    kyc_err err;
    assert_int_equal(kyc_doc_webhook_sign(p, 0, data, strlen(data), sig, sizeof sig, &err), KYC_OK);
    assert_string_equal(sig, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* The same MAC accepted as a signature (the body is not JSON: refused after it). */
    kyc_doc_event ev;
    assert_int_equal(
        check(p, "X-Sig", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", data,
              NOW, &ev),
        KYC_E_WH_FORMAT);
    assert_int_equal(
        check(p, "X-Sig", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3844", data,
              NOW, &ev),
        KYC_E_WH_SIGNATURE);
    kyc_doc_provider_free(p);
}

static void test_onfido_shape(void** state)
{
    (void)state;
    kyc_doc_provider* p = provider(ONFIDO);
    char sig[128];
    kyc_err err;
    assert_int_equal(
        kyc_doc_webhook_sign(p, 0, ONFIDO_BODY, strlen(ONFIDO_BODY), sig, sizeof sig, &err),
        KYC_OK);
    kyc_doc_event ev;
    assert_int_equal(check(p, "x-sha2-signature", sig, ONFIDO_BODY, NOW, &ev), KYC_OK);
    assert_int_equal(ev.status, KYC_DOC_APPROVED);
    assert_string_equal(ev.reference, "wfr_123");
    assert_string_equal(ev.raw_status, "approved");
    assert_int_equal(ev.timestamp, NOW);
    assert_int_equal(strlen(ev.event_id), 64); /* no event id field: the body's digest */
    /* Upper-case hex is the same signature. */
    char up[128];
    for (size_t i = 0; i <= strlen(sig); i++)
        up[i] = (char)(sig[i] >= 'a' && sig[i] <= 'f' ? sig[i] - 32 : sig[i]);
    assert_int_equal(check(p, "X-SHA2-Signature", up, ONFIDO_BODY, NOW, &ev), KYC_OK);
    /* One byte changed in the body. */
    char* body = strdup(ONFIDO_BODY);
    *strstr(body, "wfr_123") = 'x';
    assert_int_equal(check(p, "X-SHA2-Signature", sig, body, NOW, &ev), KYC_E_WH_SIGNATURE);
    /* Whitespace added (a re-serialised body is not the signed one). */
    char spaced[512];
    snprintf(spaced, sizeof spaced, "%s ", ONFIDO_BODY);
    assert_int_equal(check(p, "X-SHA2-Signature", sig, spaced, NOW, &ev), KYC_E_WH_SIGNATURE);
    /* Missing header, truncated signature, another header name. */
    assert_int_equal(check(p, "X-Other", sig, ONFIDO_BODY, NOW, &ev), KYC_E_WH_SIGNATURE);
    sig[10] = '\0';
    assert_int_equal(check(p, "X-SHA2-Signature", sig, ONFIDO_BODY, NOW, &ev), KYC_E_WH_SIGNATURE);
    /* Freshness: 5 minutes either way by default. */
    kyc_doc_webhook_sign(p, 0, ONFIDO_BODY, strlen(ONFIDO_BODY), sig, sizeof sig, &err);
    assert_int_equal(check(p, "X-SHA2-Signature", sig, ONFIDO_BODY, NOW + 300, &ev), KYC_OK);
    assert_int_equal(check(p, "X-SHA2-Signature", sig, ONFIDO_BODY, NOW + 301, &ev),
                     KYC_E_WH_STALE);
    assert_int_equal(check(p, "X-SHA2-Signature", sig, ONFIDO_BODY, NOW - 301, &ev),
                     KYC_E_WH_STALE);
    free(body);
    kyc_doc_provider_free(p);
}

static void test_status_mapping_and_fields(void** state)
{
    (void)state;
    kyc_doc_provider* p = provider(ONFIDO);
    static const struct
    {
        const char* raw;
        int rc;
        kyc_doc_status st;
    } cases[] = {
        {"approved", KYC_OK, KYC_DOC_APPROVED},      {"declined", KYC_OK, KYC_DOC_DECLINED},
        {"review", KYC_OK, KYC_DOC_MANUAL_REVIEW},   {"abandoned", KYC_OK, KYC_DOC_RETRY},
        {"awaiting_input", KYC_OK, KYC_DOC_PENDING}, {"error", KYC_E_WH_STATUS, KYC_DOC_PENDING}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char body[512], sig[128];
        snprintf(body, sizeof body,
                 "{\"payload\":{\"object\":{\"id\":\"wfr_1\",\"status\":\"%s\","
                 "\"completed_at_iso8601\":\"2023-11-14T22:13:20.123Z\"}}}",
                 cases[i].raw);
        kyc_err err;
        kyc_doc_webhook_sign(p, 0, body, strlen(body), sig, sizeof sig, &err);
        kyc_doc_event ev;
        assert_int_equal(check(p, "X-SHA2-Signature", sig, body, NOW, &ev), cases[i].rc);
        if (cases[i].rc == KYC_OK)
            assert_int_equal(ev.status, cases[i].st);
    }
    /* Signed, but not JSON / missing fields / no timestamp. */
    static const char* bodies[] = {"not json", "{\"payload\":{}}",
                                   "{\"payload\":{\"object\":{\"id\":\"w\",\"status\":"
                                   "\"approved\"}}}"};
    static const int want[] = {KYC_E_WH_FORMAT, KYC_E_WH_STALE, KYC_E_WH_STALE};
    for (size_t i = 0; i < 3; i++) {
        char sig[128];
        kyc_err err;
        kyc_doc_webhook_sign(p, 0, bodies[i], strlen(bodies[i]), sig, sizeof sig, &err);
        kyc_doc_event ev;
        assert_int_equal(check(p, "X-SHA2-Signature", sig, bodies[i], NOW, &ev), want[i]);
    }
    kyc_doc_provider_free(p);
}

static void test_sumsub_shape_and_event_id(void** state)
{
    (void)state;
    kyc_doc_provider* p = provider(SUMSUB);
    char body[256], sig[128];
    snprintf(body, sizeof body,
             "{\"applicantId\":\"5f1\",\"correlationId\":\"req-9\",\"type\":\"applicantReviewed\","
             "\"reviewResult\":{\"reviewAnswer\":\"GREEN\"},\"createdAtMs\":\"%lld123\"}",
             NOW - 100);
    kyc_err err;
    kyc_doc_webhook_sign(p, 0, body, strlen(body), sig, sizeof sig, &err);
    kyc_doc_event ev;
    assert_int_equal(check(p, "X-Payload-Digest", sig, body, NOW, &ev), KYC_OK);
    assert_string_equal(ev.event_id, "req-9");
    assert_string_equal(ev.reference, "5f1");
    assert_int_equal(ev.status, KYC_DOC_APPROVED);
    /* This provider's window is 120 s. */
    assert_int_equal(check(p, "X-Payload-Digest", sig, body, NOW + 21, &ev), KYC_E_WH_STALE);
    /* A signature made with another secret. */
    kyc_doc_provider* q = provider(ONFIDO);
    kyc_doc_webhook_sign(q, 0, body, strlen(body), sig, sizeof sig, &err);
    assert_int_equal(check(p, "X-Payload-Digest", sig, body, NOW, &ev), KYC_E_WH_SIGNATURE);
    kyc_doc_provider_free(q);
    kyc_doc_provider_free(p);
}

static void test_timestamp_header_signed_with_body(void** state)
{
    (void)state;
    kyc_doc_provider* p = provider(STAMPED);
    const char* body = "{\"event\":\"ev1\",\"ref\":\"r1\",\"state\":\"again\"}";
    char sig[128], ts[32];
    kyc_err err;
    assert_int_equal(kyc_doc_webhook_sign(p, NOW, body, strlen(body), sig, sizeof sig, &err),
                     KYC_OK);
    assert_memory_equal(sig, "v1=", 3);
    snprintf(ts, sizeof ts, "%lld", NOW);
    kyc_header h[] = {{"x-signature", sig}, {"x-timestamp", ts}};
    kyc_doc_event ev;
    assert_int_equal(kyc_doc_webhook_verify(p, h, 2, body, strlen(body), NOW, &ev, &err), KYC_OK);
    assert_int_equal(ev.status, KYC_DOC_RETRY);
    assert_string_equal(ev.event_id, "ev1");
    /* Moving the timestamp (to dodge freshness) breaks the signature. */
    snprintf(ts, sizeof ts, "%lld", NOW + 1);
    assert_int_equal(kyc_doc_webhook_verify(p, h, 2, body, strlen(body), NOW, &ev, &err),
                     KYC_E_WH_SIGNATURE);
    /* No timestamp header at all. */
    assert_int_equal(kyc_doc_webhook_verify(p, h, 1, body, strlen(body), NOW, &ev, &err),
                     KYC_E_WH_SIGNATURE);
    /* Without the prefix. */
    kyc_doc_webhook_sign(p, NOW, body, strlen(body), sig, sizeof sig, &err);
    snprintf(ts, sizeof ts, "%lld", NOW);
    memmove(sig, sig + 3, strlen(sig) - 2);
    assert_int_equal(kyc_doc_webhook_verify(p, h, 2, body, strlen(body), NOW, &ev, &err),
                     KYC_E_WH_SIGNATURE);
    kyc_doc_provider_free(p);
}

static void test_config_errors(void** state)
{
    (void)state;
    static const char* bad[] = {
        "[]",
        "{\"name\":\"x\"}",
        "{\"name\":\"x\",\"secret\":\"s\",\"signature_header\":\"h\",\"reference_field\":\"r\","
        "\"status_field\":\"s\",\"timestamp_field\":\"t\",\"status_map\":{}}",
        "{\"name\":\"x\",\"secret\":\"s\",\"signature_header\":\"h\",\"reference_field\":\"r\","
        "\"status_field\":\"s\",\"status_map\":{\"a\":\"approved\"}}", /* no timestamp */
        "{\"name\":\"x\",\"secret\":\"s\",\"signature_header\":\"h\",\"reference_field\":\"r\","
        "\"status_field\":\"s\",\"timestamp_field\":\"t\",\"status_map\":{\"a\":\"yes\"}}",
        "{\"name\":\"x\",\"secret\":\"s\",\"signature_header\":\"h\",\"reference_field\":\"r\","
        "\"status_field\":\"s\",\"timestamp_field\":\"t\",\"signature_encoding\":\"b32\","
        "\"status_map\":{\"a\":\"approved\"}}",
        "{\"name\":\"x\",\"secret\":\"s\",\"signature_header\":\"h\",\"reference_field\":\"r\","
        "\"status_field\":\"s\",\"timestamp_field\":\"t\",\"signed_payload\":\"timestamp.body\","
        "\"status_map\":{\"a\":\"approved\"}}",
        "{\"name\":\"x\",\"secret\":\"\",\"signature_header\":\"h\",\"reference_field\":\"r\","
        "\"status_field\":\"s\",\"timestamp_field\":\"t\",\"status_map\":{\"a\":\"approved\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_error_t je;
        json_t* cfg = json_loads(bad[i], 0, &je);
        assert_non_null(cfg);
        kyc_doc_provider* p = NULL;
        kyc_err err = {0};
        assert_int_equal(kyc_doc_provider_new(cfg, &p, &err), KYC_E_INVAL);
        assert_null(p);
        assert_true(strlen(err.msg) > 0);
        json_decref(cfg);
    }
}

/* ---- end to end with the stand-in ---- */

static long post_json(const char* url, const char* json)
{
    CURL* c = curl_easy_init();
    struct curl_slist* h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    FILE* devnull = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
    long st = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    fclose(devnull);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return st;
}

static int verify_received(kyc_doc_provider* p,
                           receiver* r,
                           size_t i,
                           kyc_doc_event* ev,
                           kyc_err* err)
{
    char sig[160], client[64];
    kyc_header h[2] = {{"X-HMAC-SIGNATURE", sig}, {"X-AUTH-CLIENT", client}};
    size_t n = 0;
    if (receiver_header(r, i, "x-hmac-signature", sig, sizeof sig))
        n = 1;
    if (n && receiver_header(r, i, "x-auth-client", client, sizeof client))
        n = 2;
    return kyc_doc_webhook_verify(p, h, n, r->reqs[i].body, r->reqs[i].len, (int64_t)time(NULL), ev,
                                  err);
}

static standin sp;
static receiver rc;

/* The stand-in and the receiver are stopped by the teardown even when an assertion fails. */
static int e2e_setup(void** state)
{
    (void)state;
    const char* extra[] = {"--secret", "doc-e2e-secret", NULL};
    if (kyc_global_init() != KYC_OK || standin_start(&sp, "kyc/standin/doc-standin.mjs", extra))
        return -1;
    if (receiver_start(&rc) != 0) {
        standin_stop(&sp);
        return -1;
    }
    return 0;
}

static int e2e_teardown(void** state)
{
    (void)state;
    receiver_stop(&rc);
    standin_stop(&sp);
    return 0;
}

static void test_end_to_end_with_standin(void** state)
{
    (void)state;

    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"name\":\"veriff-like\",\"secret\":\"doc-e2e-secret\",\"signature_header\":"
             "\"X-HMAC-SIGNATURE\",\"timestamp_field\":\"verification.decisionTime\","
             "\"timestamp_unit\":\"iso8601\",\"event_id_field\":\"id\",\"reference_field\":"
             "\"verification.vendorData\",\"status_field\":\"verification.status\","
             "\"session_url\":\"%s/v1/sessions\",\"status_map\":{\"approved\":\"approved\","
             "\"declined\":\"declined\",\"resubmission_requested\":\"retry\",\"review\":"
             "\"manual_review\",\"started\":\"pending\"}}",
             sp.url);
    kyc_doc_provider* p = provider(cfg);
    char callback[128];
    snprintf(callback, sizeof callback, "http://127.0.0.1:%d/kyc/webhook", rc.port);
    char *sid = NULL, *hosted = NULL;
    kyc_err err = {0};
    int r = kyc_doc_session_start(p, "player-42", callback, 20000, &sid, &hosted, &err);
    if (r)
        fail_msg("session: %s", err.msg);
    assert_int_equal(http_status_of(hosted), 200);

    char url[300];
    snprintf(url, sizeof url, "%s/v1/sessions/%s/decision", sp.url, sid);
    /* Approved, delivered twice (a provider retry / a replay): same event id both times, so
     * the cluster's (provider, event id) set processes it once. */
    assert_int_equal(post_json(url, "{\"status\":\"approved\",\"repeat\":2}"), 200);
    assert_int_equal(receiver_wait(&rc, 2), 2);
    kyc_doc_event a, b;
    assert_int_equal(verify_received(p, &rc, 0, &a, &err), KYC_OK);
    assert_int_equal(a.status, KYC_DOC_APPROVED);
    assert_string_equal(a.reference, "player-42");
    assert_int_equal(verify_received(p, &rc, 1, &b, &err), KYC_OK);
    assert_string_equal(a.event_id, b.event_id);

    /* Signed with the wrong secret. */
    assert_int_equal(post_json(url, "{\"status\":\"approved\",\"tamper\":\"signature\"}"), 200);
    assert_int_equal(receiver_wait(&rc, 3), 3);
    assert_int_equal(verify_received(p, &rc, 2, &a, &err), KYC_E_WH_SIGNATURE);
    /* A genuine but hour-old delivery. */
    assert_int_equal(post_json(url, "{\"status\":\"approved\",\"tamper\":\"stale\"}"), 200);
    assert_int_equal(receiver_wait(&rc, 4), 4);
    assert_int_equal(verify_received(p, &rc, 3, &a, &err), KYC_E_WH_STALE);
    /* The other outcomes. */
    static const char* outs[] = {"declined", "resubmission_requested", "review", "started"};
    static const kyc_doc_status st[] = {KYC_DOC_DECLINED, KYC_DOC_RETRY, KYC_DOC_MANUAL_REVIEW,
                                        KYC_DOC_PENDING};
    for (size_t i = 0; i < 4; i++) {
        char body[96];
        snprintf(body, sizeof body, "{\"status\":\"%s\"}", outs[i]);
        assert_int_equal(post_json(url, body), 200);
        assert_int_equal(receiver_wait(&rc, 5 + i), 5 + i);
        assert_int_equal(verify_received(p, &rc, 4 + i, &a, &err), KYC_OK);
        assert_int_equal(a.status, st[i]);
        assert_string_not_equal(a.event_id, b.event_id);
    }
    free(sid);
    free(hosted);
    kyc_doc_provider_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_known_vector),
        cmocka_unit_test(test_onfido_shape),
        cmocka_unit_test(test_status_mapping_and_fields),
        cmocka_unit_test(test_sumsub_shape_and_event_id),
        cmocka_unit_test(test_timestamp_header_signed_with_body),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test_setup_teardown(test_end_to_end_with_standin, e2e_setup, e2e_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
