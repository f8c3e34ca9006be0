/* The payment provider client (node/pay.c) against the REAL stand-in
 * (tests/standins/pay-standin.mjs, started here on a free port and stopped at the end):
 * a payment is created (and the same Idempotency-Key gives back the same payment), a payout is
 * created, a wrong API key is refused; the stand-in's own webhooks, received by a small local
 * listener, are read into pay_events (payment succeeded, payout paid, chargeback), and its
 * forged and stale deliveries are refused with 401. Bodies signed here (kyc_webhook_sign) show
 * the 400 and 422 answers; the settings' refusals come first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "kyc/kyc.h"
#include "kyc/tests/standin.h"
#include "node/pay.h"

#define SECRET "pay-unit-secret"
#define API_KEY "pay-unit-key-0123456789"

static standin sp;
static receiver rcv;
static char dir[64], key_file[128], bad_key_file[128], open_key_file[128], secret_file[128];
static char callback[128];

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static json_t *settings(const char *api_url, const char *keyf)
{
    json_t *c = json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", "standin", "api_url", api_url,
                          "api_key_file", keyf, "webhook", "secret_file", secret_file);
    assert_non_null(c);
    return c;
}

static struct pay_provider *provider(const char *keyf)
{
    json_t *c = settings(sp.url, keyf);
    struct pay_provider *p = NULL;
    char err[400] = "";
    if (pay_provider_new(c, &p, err, sizeof err) != 0)
        fail_msg("pay_provider_new: %s", err);
    json_decref(c);
    return p;
}

static int setup(void **state)
{
    (void)state;
    kyc_global_init();
    snprintf(dir, sizeof dir, "/tmp/parlay-test-pay-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(key_file, sizeof key_file, "%s/api-key", dir);
    snprintf(bad_key_file, sizeof bad_key_file, "%s/wrong-key", dir);
    snprintf(open_key_file, sizeof open_key_file, "%s/open-key", dir);
    snprintf(secret_file, sizeof secret_file, "%s/webhook-secret", dir);
    write_file(key_file, API_KEY "\n", 0600);
    write_file(bad_key_file, "not-the-key\n", 0600);
    write_file(open_key_file, API_KEY "\n", 0644);
    write_file(secret_file, SECRET "\n", 0600);
    const char *const args[] = {"--secret", SECRET, "--api-key", API_KEY, "--retry-ms", "50",
                                "--max-attempts", "2", NULL};
    if (standin_start(&sp, "tests/standins/pay-standin.mjs", args) != 0)
        return -1;
    if (receiver_start(&rcv) != 0)
        return -1;
    snprintf(callback, sizeof callback, "http://127.0.0.1:%d/v1/wallet/webhooks/standin",
             rcv.port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    receiver_stop(&rcv);
    standin_stop(&sp);
    unlink(key_file);
    unlink(bad_key_file);
    unlink(open_key_file);
    unlink(secret_file);
    rmdir(dir);
    curl_global_cleanup();
    return 0;
}

static size_t collect(char *ptr, size_t size, size_t n, void *ud)
{
    char *buf = ud;
    size_t have = strlen(buf), add = size * n;
    if (have + add < 4096) {
        memcpy(buf + have, ptr, add);
        buf[have + add] = 0;
    }
    return size * n;
}

/* POST @json to the stand-in's @path; returns the status, the body in @out (4096). */
static long standin_post(const char *path, const char *json, char *out)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", sp.url, path);
    out[0] = 0;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    long st = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return st;
}

/* Read the receiver's request @i (waiting for it) as the node would. */
static int read_delivery(struct pay_provider *p, size_t i, int64_t now, struct pay_event *ev,
                         char *err, size_t errlen)
{
    assert_true(receiver_wait(&rcv, i + 1) >= i + 1);
    char sig[160] = "", ts[32] = "";
    kyc_header h[2];
    size_t n = 0;
    if (receiver_header(&rcv, i, "x-pay-signature", sig, sizeof sig))
        h[n++] = (kyc_header){"X-Pay-Signature", sig};
    if (receiver_header(&rcv, i, "x-pay-timestamp", ts, sizeof ts))
        h[n++] = (kyc_header){"X-Pay-Timestamp", ts};
    assert_int_equal(n, 2);
    return pay_webhook_read(p, h, n, rcv.reqs[i].body, rcv.reqs[i].len, now, ev, err, errlen);
}

static void test_settings(void **state)
{
    (void)state;
    struct pay_provider *p = provider(key_file);
    assert_string_equal(pay_provider_name(p), "standin");
    assert_string_equal(pay_provider_webhook_url(p), "");
    assert_string_equal(pay_event_kind_name(PAY_CHARGEBACK), "chargeback");
    assert_string_equal(pay_event_kind_name(PAY_PAYOUT_FAILED), "payout_failed");
    assert_string_equal(pay_event_kind_name((enum pay_event_kind)0), "?");
    pay_provider_free(p);

    struct {
        const char *json; /* merged into good settings */
        const char *needle;
    } bad[] = {
        {"{\"api_url\":\"http://pay.example.com\"}", "https"},
        {"{\"api_url\":\"http://127.0.0.10:80\"}", "https"},
        {"{\"api_key_file\":\"/nonexistent/key\"}", "api_key_file"},
        {"{\"colour\":\"blue\"}", "colour"},
        {"{\"currency\":\"euro\"}", "currency"},
        {"{\"payments_path\":\"v1/payments\"}", "payments_path"},
        {"{\"types\":{\"payment.succeeded\":\"paid\"}}", "payment.succeeded"},
        {"{\"fields\":{\"amount\":7}}", "amount"},
        {"{\"fields\":{\"colour\":\"x\"}}", "colour"},
        {"{\"webhook\":{\"secret\":\"\"}}", "secret"},
        {"{\"webhook\":{\"secret\":\"a\",\"secret_file\":\"b\"}}", "not both"},
        {"{\"webhook\":{\"secret\":\"a\",\"signature_encoding\":\"b32\"}}", "signature_encoding"},
        {"{\"webhook\":{\"secret\":\"a\",\"shared\":\"b\"}}", "shared"},
        {"{\"webhook\":\"s3cret\"}", "webhook"},
        {"{\"webhook_url\":\"edge.example\"}", "webhook_url"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *c = settings(sp.url, key_file);
        json_t *x = json_loads(bad[i].json, 0, NULL);
        assert_non_null(x);
        json_object_update(c, x);
        json_decref(x);
        char err[400] = "";
        p = (struct pay_provider *)1;
        assert_int_equal(pay_provider_new(c, &p, err, sizeof err), -1);
        assert_null(p);
        if (!strstr(err, bad[i].needle))
            fail_msg("case %zu: \"%s\" does not name %s", i, err, bad[i].needle);
        json_decref(c);
    }
    /* A key file others may read is refused, and the key never appears in a message. */
    json_t *c = settings(sp.url, open_key_file);
    char err[400] = "";
    assert_int_equal(pay_provider_new(c, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "chmod 600"));
    assert_null(strstr(err, API_KEY));
    json_decref(c);
    /* The webhook secret inline instead of in a file, and a public base URL. */
    c = settings(sp.url, key_file);
    json_object_set_new(c, "webhook", json_pack("{s:s}", "secret", SECRET));
    json_object_set_new(c, "webhook_url", json_string("https://edge.example/"));
    assert_int_equal(pay_provider_new(c, &p, err, sizeof err), 0);
    assert_string_equal(pay_provider_webhook_url(p), "https://edge.example");
    pay_provider_free(p);
    json_decref(c);
}

static void test_payment_create(void **state)
{
    (void)state;
    struct pay_provider *p = provider(key_file);
    char *id = NULL, *url = NULL, *id2 = NULL, *url2 = NULL, err[400] = "";
    if (pay_payment_create(p, 2500, "dep-1", callback, "http://127.0.0.1:1/wallet", "idem-dep-1",
                           10000, &id, &url, err, sizeof err) != 0)
        fail_msg("payment: %s", err);
    assert_int_equal(strncmp(id, "pay_", 4), 0);
    char want[512];
    snprintf(want, sizeof want, "%s/pay/%s", sp.url, id);
    assert_string_equal(url, want);
    assert_int_equal(http_status_of(url), 200); /* the hosted page */
    /* The same Idempotency-Key: the same payment, not a second one. */
    assert_int_equal(pay_payment_create(p, 2500, "dep-1", callback, NULL, "idem-dep-1", 10000,
                                        &id2, &url2, err, sizeof err),
                     0);
    assert_string_equal(id2, id);
    assert_string_equal(url2, url);
    free(id2);
    free(url2);
    /* Another key: another payment. */
    assert_int_equal(pay_payment_create(p, 2500, "dep-1", callback, NULL, "idem-dep-1b", 10000,
                                        &id2, &url2, err, sizeof err),
                     0);
    assert_string_not_equal(id2, id);
    free(id2);
    free(url2);
    /* Refused before sending, and refused by the provider (with its reason). */
    assert_int_equal(pay_payment_create(p, 0, "dep-2", callback, NULL, "k0", 10000, &id2, &url2,
                                        err, sizeof err),
                     -1);
    assert_null(id2);
    json_t *c = settings(sp.url, key_file);
    json_object_set_new(c, "currency", json_string("USD"));
    struct pay_provider *usd = NULL;
    assert_int_equal(pay_provider_new(c, &usd, err, sizeof err), 0);
    json_decref(c);
    assert_int_equal(pay_payment_create(usd, 100, "dep-3", callback, NULL, "k-usd", 10000, &id2,
                                        &url2, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "HTTP 400"));
    assert_non_null(strstr(err, "currency must be EUR"));
    pay_provider_free(usd);
    free(id);
    free(url);
    pay_provider_free(p);
}

static void test_bad_api_key(void **state)
{
    (void)state;
    struct pay_provider *p = provider(bad_key_file);
    char *id = NULL, *url = NULL, err[400] = "";
    assert_int_equal(pay_payment_create(p, 1000, "dep-x", callback, NULL, "kx", 10000, &id, &url,
                                        err, sizeof err),
                     -1);
    assert_null(id);
    assert_null(url);
    assert_non_null(strstr(err, "HTTP 401"));
    assert_null(strstr(err, "not-the-key"));
    assert_int_equal(pay_payout_create(p, 1000, "acct_1", "wd-x", callback, "ky", 10000, &id, err,
                                       sizeof err),
                     -1);
    assert_non_null(strstr(err, "HTTP 401"));
    pay_provider_free(p);
    /* Nobody listening: an error, not a hang. */
    json_t *c = settings("http://127.0.0.1:1", key_file);
    assert_int_equal(pay_provider_new(c, &p, err, sizeof err), 0);
    json_decref(c);
    assert_int_equal(pay_payment_create(p, 1000, "dep-y", callback, NULL, "kz", 2000, &id, &url,
                                        err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "payment"));
    pay_provider_free(p);
}

/* The stand-in's deliveries, in order: the receiver's requests 0, 1, 2, ... */
static void test_webhooks_from_standin(void **state)
{
    (void)state;
    struct pay_provider *p = provider(key_file);
    char *id = NULL, *url = NULL, err[400] = "", path[256], out[4096];
    assert_int_equal(pay_payment_create(p, 4200, "dep-wh", callback, NULL, "idem-wh", 10000, &id,
                                        &url, err, sizeof err),
                     0);
    size_t next = rcv.n;
    int64_t now = (int64_t)time(NULL);

    /* payment.succeeded, delivered to our listener, read into an event. */
    snprintf(path, sizeof path, "/__test__/payments/%s/event", id);
    assert_int_equal(standin_post(path, "{\"type\":\"payment.succeeded\"}", out), 200);
    struct pay_event ev;
    if (read_delivery(p, next, now, &ev, err, sizeof err) != 0)
        fail_msg("read: %s", err);
    assert_int_equal(ev.kind, PAY_PAYMENT_SUCCEEDED);
    assert_int_equal(strncmp(ev.event_id, "evt_", 4), 0);
    assert_non_null(strstr(out, ev.event_id));
    assert_string_equal(ev.object_id, id);
    assert_string_equal(ev.reference, "dep-wh");
    assert_int_equal(ev.amount, 4200);
    assert_int_equal(strncmp(ev.account, "acct_", 5), 0);
    assert_true(ev.ts >= now - 5 && ev.ts <= now + 5);
    char account[128];
    snprintf(account, sizeof account, "%s", ev.account);

    /* Forged (signed with another secret) and stale (an hour old): 401. */
    assert_int_equal(standin_post(path, "{\"type\":\"payment.refunded\",\"tamper\":\"signature\"}",
                                  out),
                     200);
    assert_int_equal(read_delivery(p, next + 1, now, &ev, err, sizeof err), 401);
    assert_non_null(strstr(err, "signature"));
    assert_int_equal(ev.kind, 0);
    assert_int_equal(standin_post(path, "{\"type\":\"payment.refunded\",\"tamper\":\"stale\"}",
                                  out),
                     200);
    assert_int_equal(read_delivery(p, next + 2, now, &ev, err, sizeof err), 401);
    assert_non_null(strstr(err, "timestamp"));
    /* The genuine delivery read an hour later is stale too. */
    assert_int_equal(read_delivery(p, next, now + 3600, &ev, err, sizeof err), 401);

    /* A payout to the payment's account: the stand-in pays it and says so. */
    char *po = NULL;
    if (pay_payout_create(p, 1500, account, "wd-1", callback, "idem-wd-1", 10000, &po, err,
                          sizeof err) != 0)
        fail_msg("payout: %s", err);
    assert_int_equal(strncmp(po, "po_", 3), 0);
    char *po2 = NULL;
    assert_int_equal(pay_payout_create(p, 1500, account, "wd-1", callback, "idem-wd-1", 10000,
                                       &po2, err, sizeof err),
                     0);
    assert_string_equal(po2, po);
    free(po2);
    assert_int_equal(read_delivery(p, next + 3, now, &ev, err, sizeof err), 0);
    assert_int_equal(ev.kind, PAY_PAYOUT_PAID);
    assert_string_equal(ev.object_id, po);
    assert_string_equal(ev.reference, "wd-1");
    assert_int_equal(ev.amount, 1500);
    assert_string_equal(ev.account, account);

    /* A chargeback on the payment. */
    assert_int_equal(standin_post(path, "{\"type\":\"payment.chargeback\"}", out), 200);
    assert_int_equal(read_delivery(p, next + 4, now, &ev, err, sizeof err), 0);
    assert_int_equal(ev.kind, PAY_CHARGEBACK);
    assert_string_equal(ev.object_id, id);
    free(po);
    free(id);
    free(url);
    pay_provider_free(p);
}

/* Bodies signed here as the stand-in would: the event's fields and type. */
static void test_webhook_fields(void **state)
{
    (void)state;
    struct pay_provider *p = provider(key_file);
    json_t *wc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", "standin", "secret",
                           SECRET, "signature_header", "x-pay-signature", "signature_prefix",
                           "v1=", "signed_payload", "timestamp.body", "timestamp_header",
                           "x-pay-timestamp", "event_id_field", "id");
    kyc_webhook *w = NULL;
    kyc_err ke;
    assert_int_equal(kyc_webhook_new(wc, "payment provider", &w, &ke), KYC_OK);
    json_decref(wc);
    const int64_t now = 1700000000;
    struct {
        const char *body;
        int status;
        const char *needle;
    } cases[] = {
        {"{\"id\":\"evt_a\",\"type\":\"payout.failed\",\"data\":{\"object\":{\"id\":\"po_1\","
         "\"reference\":\"wd-9\",\"amount\":700,\"account\":null}}}",
         0, NULL},
        {"{\"id\":\"evt_b\",\"type\":\"payment.disputed\",\"data\":{\"object\":{\"id\":\"pay_1\","
         "\"reference\":\"dep-9\",\"amount\":700}}}",
         422, "payment.disputed"},
        {"{\"id\":\"evt_c\",\"type\":\"payment.failed\",\"data\":{\"object\":{\"id\":\"pay_1\","
         "\"reference\":\"dep-9\",\"amount\":\"700\"}}}",
         400, "amount"},
        {"{\"id\":\"evt_d\",\"type\":\"payment.failed\",\"data\":{\"object\":{\"id\":\"pay_1\","
         "\"amount\":700}}}",
         400, "reference"},
        {"{\"id\":\"evt_e\",\"data\":{\"object\":{\"id\":\"pay_1\",\"reference\":\"r\","
         "\"amount\":700}}}",
         400, "type"},
        {"{\"type\":\"payment.failed\",\"data\":{\"object\":{\"id\":\"pay_1\",\"reference\":\"r\","
         "\"amount\":700}}}",
         400, "id"},
        {"not json", 400, "JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char sig[128], err[400] = "";
        const char *b = cases[i].body;
        assert_int_equal(kyc_webhook_sign(w, now, b, strlen(b), sig, sizeof sig, &ke), KYC_OK);
        kyc_header h[] = {{"x-pay-signature", sig}, {"x-pay-timestamp", "1700000000"}};
        struct pay_event ev;
        int st = pay_webhook_read(p, h, 2, b, strlen(b), now, &ev, err, sizeof err);
        if (st != cases[i].status || (cases[i].needle && !strstr(err, cases[i].needle)))
            fail_msg("case %zu: %d \"%s\"", i, st, err);
        if (!st) {
            assert_int_equal(ev.kind, PAY_PAYOUT_FAILED);
            assert_string_equal(ev.account, "");
            assert_int_equal(ev.ts, now);
        }
        /* Missing headers: 401. */
        assert_int_equal(pay_webhook_read(p, h, 1, b, strlen(b), now, &ev, err, sizeof err), 401);
        assert_int_equal(pay_webhook_read(p, h + 1, 1, b, strlen(b), now, &ev, err, sizeof err),
                         401);
    }
    kyc_webhook_free(w);
    pay_provider_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_payment_create),
        cmocka_unit_test(test_bad_api_key),
        cmocka_unit_test(test_webhooks_from_standin),
        cmocka_unit_test(test_webhook_fields),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
