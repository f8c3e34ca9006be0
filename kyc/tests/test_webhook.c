/* The shared signed-webhook verifier (kyc_webhook) with the payment stand-in's scheme
 * (tests/standins/pay-standin.mjs): X-Pay-Signature: v1=<hex HMAC-SHA256(secret,
 * "<timestamp>.<raw body>")>, X-Pay-Timestamp in unix seconds, the event id in "id". A
 * signature made by node's crypto is accepted; a wrong secret, a changed byte, a missing or
 * unprefixed signature, a missing timestamp header, an old or future timestamp, a body that is
 * not an object and a missing event id are each refused with their own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kyc/kyc.h"

#define NOW 1700000000LL

static const char* PAY =
    "{\"name\":\"standin\",\"secret\":\"pay-test-secret\",\"signature_header\":"
    "\"x-pay-signature\",\"signature_prefix\":\"v1=\",\"signed_payload\":\"timestamp.body\","
    "\"timestamp_header\":\"x-pay-timestamp\",\"max_age_s\":300,\"event_id_field\":\"id\","
    "\"fields\":{\"ignored\":\"by kyc_webhook\"}}";

/* As the stand-in sends it (JSON.stringify), signed by node's crypto at NOW. */
static const char* BODY =
    "{\"id\":\"evt_1\",\"type\":\"payment.succeeded\",\"created\":1700000000,\"data\":{\"object\":"
    "{\"id\":\"pay_1\",\"reference\":\"dep-1\",\"amount\":2500,\"account\":\"acct_x\"}}}";
static const char* NODE_SIG = "v1=1cc227cf619b90edfc9b597aeb31f73617b633ca06b268fc65f8f8c3433f15e6";

static kyc_webhook* webhook(const char* json)
{
    json_error_t je;
    json_t* cfg = json_loads(json, 0, &je);
    if (!cfg)
        fail_msg("bad test config: %s", je.text);
    kyc_webhook* w = NULL;
    kyc_err err = {0};
    int rc = kyc_webhook_new(cfg, "payment provider", &w, &err);
    json_decref(cfg);
    if (rc)
        fail_msg("webhook: %s", err.msg);
    return w;
}

/* Verify @body with the given header values (NULL: header absent). */
static int verify(kyc_webhook* w,
                  const char* sig,
                  const char* ts,
                  const char* body,
                  int64_t now,
                  json_t** obj,
                  char event_id[128],
                  kyc_err* err)
{
    kyc_header h[3];
    size_t n = 0;
    h[n++] = (kyc_header){"Content-Type", "application/json"};
    if (sig)
        h[n++] = (kyc_header){"X-Pay-Signature", sig};
    if (ts)
        h[n++] = (kyc_header){"X-Pay-Timestamp", ts};
    int64_t got_ts = -1;
    int rc = kyc_webhook_verify(w, h, n, body, strlen(body), now, obj, &got_ts, event_id, err);
    if (rc) {
        assert_int_equal(err->code, rc);
        assert_true(strlen(err->msg) > 0);
        assert_string_equal(event_id, "");
        if (obj)
            assert_null(*obj);
    }
    return rc;
}

static void test_standin_signature_accepted(void** state)
{
    (void)state;
    kyc_webhook* w = webhook(PAY);
    assert_string_equal(kyc_webhook_name(w), "standin");
    char id[128];
    json_t* obj = NULL;
    kyc_err err = {0};
    assert_int_equal(verify(w, NODE_SIG, "1700000000", BODY, NOW, &obj, id, &err), KYC_OK);
    assert_string_equal(id, "evt_1");
    assert_non_null(obj);
    assert_string_equal(json_string_value(kyc_json_path(obj, "type")), "payment.succeeded");
    assert_string_equal(json_string_value(kyc_json_path(obj, "data.object.id")), "pay_1");
    assert_int_equal(json_integer_value(kyc_json_path(obj, "data.object.amount")), 2500);
    assert_null(kyc_json_path(obj, "data.object.missing"));
    assert_null(kyc_json_path(obj, "data.object.id.deeper"));
    json_decref(obj);
    /* Our own signature is the stand-in's. */
    char sig[128];
    assert_int_equal(kyc_webhook_sign(w, NOW, BODY, strlen(BODY), sig, sizeof sig, &err), KYC_OK);
    assert_string_equal(sig, NODE_SIG);
    /* Upper-case hex is the same signature; no body wanted is fine. */
    char up[128];
    snprintf(up, sizeof up, "v1=%s", NODE_SIG + 3);
    for (char* p = up + 3; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);
    assert_int_equal(verify(w, up, "1700000000", BODY, NOW + 299, NULL, id, &err), KYC_OK);
    kyc_webhook_free(w);
}

static void test_refusals(void** state)
{
    (void)state;
    kyc_webhook* w = webhook(PAY);
    char id[128];
    json_t* obj = NULL;
    kyc_err err = {0};
    /* Wrong signature: signed with another secret. */
    kyc_webhook* other = webhook(
        "{\"name\":\"standin\",\"secret\":\"not-the-secret\",\"signature_header\":"
        "\"x-pay-signature\",\"signature_prefix\":\"v1=\",\"signed_payload\":\"timestamp.body\","
        "\"timestamp_header\":\"x-pay-timestamp\",\"event_id_field\":\"id\"}");
    char forged[128];
    assert_int_equal(kyc_webhook_sign(other, NOW, BODY, strlen(BODY), forged, sizeof forged, &err),
                     KYC_OK);
    kyc_webhook_free(other);
    assert_int_equal(verify(w, forged, "1700000000", BODY, NOW, &obj, id, &err),
                     KYC_E_WH_SIGNATURE);
    /* Tampered body: one byte of the amount changed, then the same bytes re-serialised. */
    char* body = strdup(BODY);
    *strstr(body, "2500") = '9';
    assert_int_equal(verify(w, NODE_SIG, "1700000000", body, NOW, &obj, id, &err),
                     KYC_E_WH_SIGNATURE);
    free(body);
    char spaced[512];
    snprintf(spaced, sizeof spaced, "%s\n", BODY);
    assert_int_equal(verify(w, NODE_SIG, "1700000000", spaced, NOW, &obj, id, &err),
                     KYC_E_WH_SIGNATURE);
    /* The timestamp is signed: a fresh header on an old signature does not pass. */
    assert_int_equal(verify(w, NODE_SIG, "1700000100", BODY, NOW + 100, &obj, id, &err),
                     KYC_E_WH_SIGNATURE);
    /* Bad prefix: the right MAC without "v1=", or under another version. */
    assert_int_equal(verify(w, NODE_SIG + 3, "1700000000", BODY, NOW, &obj, id, &err),
                     KYC_E_WH_SIGNATURE);
    assert_non_null(strstr(err.msg, "prefix"));
    char v0[128];
    snprintf(v0, sizeof v0, "v0=%s", NODE_SIG + 3);
    assert_int_equal(verify(w, v0, "1700000000", BODY, NOW, &obj, id, &err), KYC_E_WH_SIGNATURE);
    /* Truncated. */
    char trunc[128];
    snprintf(trunc, sizeof trunc, "%.40s", NODE_SIG);
    assert_int_equal(verify(w, trunc, "1700000000", BODY, NOW, &obj, id, &err),
                     KYC_E_WH_SIGNATURE);
    /* Missing headers. */
    assert_int_equal(verify(w, NULL, "1700000000", BODY, NOW, &obj, id, &err),
                     KYC_E_WH_SIGNATURE);
    assert_non_null(strstr(err.msg, "x-pay-signature"));
    assert_int_equal(verify(w, NODE_SIG, NULL, BODY, NOW, &obj, id, &err), KYC_E_WH_SIGNATURE);
    assert_non_null(strstr(err.msg, "x-pay-timestamp"));
    /* Stale either way: the right signature, our clock 301 s away. */
    assert_int_equal(verify(w, NODE_SIG, "1700000000", BODY, NOW + 301, &obj, id, &err),
                     KYC_E_WH_STALE);
    assert_int_equal(verify(w, NODE_SIG, "1700000000", BODY, NOW - 301, &obj, id, &err),
                     KYC_E_WH_STALE);
    assert_int_equal(verify(w, NODE_SIG, "1700000000", BODY, INT64_MIN, &obj, id, &err),
                     KYC_E_WH_STALE);
    /* A signed timestamp that is not a number. */
    char sig[128];
    assert_int_equal(kyc_webhook_sign(w, NOW, BODY, strlen(BODY), sig, sizeof sig, &err), KYC_OK);
    kyc_header h[] = {{"x-pay-signature", sig}, {"x-pay-timestamp", "1700000000"}};
    assert_int_equal(kyc_webhook_verify(w, h, 2, BODY, strlen(BODY), NOW, NULL, NULL, id, &err),
                     KYC_OK);
    /* Signed but not a JSON object, or without the event id. */
    const char* arr = "[1,2]";
    assert_int_equal(kyc_webhook_sign(w, NOW, arr, strlen(arr), sig, sizeof sig, &err), KYC_OK);
    assert_int_equal(verify(w, sig, "1700000000", arr, NOW, &obj, id, &err), KYC_E_WH_FORMAT);
    const char* noid = "{\"type\":\"payment.succeeded\"}";
    assert_int_equal(kyc_webhook_sign(w, NOW, noid, strlen(noid), sig, sizeof sig, &err), KYC_OK);
    assert_int_equal(verify(w, sig, "1700000000", noid, NOW, &obj, id, &err), KYC_E_WH_FORMAT);
    assert_non_null(strstr(err.msg, "id"));
    kyc_webhook_free(w);
}

static void test_config_errors(void** state)
{
    (void)state;
    const char* bad[] = {
        "[]",
        "{\"secret\":\"s\",\"signature_header\":\"h\",\"timestamp_header\":\"t\"}",
        "{\"name\":\"x\",\"signature_header\":\"h\",\"timestamp_header\":\"t\"}",
        "{\"name\":\"x\",\"secret\":\"\",\"signature_header\":\"h\",\"timestamp_header\":\"t\"}",
        "{\"name\":\"x\",\"secret\":\"s\",\"timestamp_header\":\"t\"}",
        "{\"name\":\"x\",\"secret\":\"s\",\"signature_header\":\"h\"}",
        "{\"name\":\"x\",\"secret\":\"s\",\"signature_header\":\"h\",\"timestamp_header\":\"t\","
        "\"signature_encoding\":\"b32\"}",
        "{\"name\":\"x\",\"secret\":\"s\",\"signature_header\":\"h\",\"timestamp_field\":\"t\","
        "\"signed_payload\":\"timestamp.body\"}",
        "{\"name\":\"x\",\"secret\":\"s\",\"signature_header\":\"h\",\"timestamp_header\":\"t\","
        "\"timestamp_unit\":\"h\"}",
        "{\"name\":\"x\",\"secret\":\"s\",\"signature_header\":\"h\",\"timestamp_header\":\"t\","
        "\"max_age_s\":0}",
        "{\"name\":\"x\",\"secret\":7,\"signature_header\":\"h\",\"timestamp_header\":\"t\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t* cfg = json_loads(bad[i], 0, NULL);
        assert_non_null(cfg);
        kyc_webhook* w = NULL;
        kyc_err err = {0};
        assert_int_equal(kyc_webhook_new(cfg, "payment provider", &w, &err), KYC_E_INVAL);
        assert_null(w);
        assert_non_null(strstr(err.msg, "payment provider"));
        json_decref(cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standin_signature_accepted),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
