/* Fuzz target: tokens and signed webhooks as the accounts nodes read them.
 *
 * The first byte chooses the reader, the rest is its input:
 *   0  a compact JWS checked by kyc_jwt_verify against a fixed JWK set (ES256 key "es1");
 *   1  "header JSON\nclaims JSON": signed here with that key (cjose), then verified, so that
 *      the claims checks (iss, aud, exp/iat, nonce, acr, lifetime) see arbitrary claims; its
 *      high-s twin (kyc_es256_flip_s) must be refused where the low-s form is demanded;
 *   2  "JWK set JSON\ntoken": a hostile key set;
 *   3  "signature\ntimestamp\nbody": a payment webhook delivery (kyc_webhook_verify and
 *      node/pay.c's pay_webhook_read, the stand-in's scheme);
 *   4  "timestamp\nbody": the same delivery correctly signed here, so that the body's reading
 *      (event id, type, ids, amount) sees arbitrary JSON;
 *   5  "timestamp\nbody": a document-check provider's webhook, correctly signed;
 *   6  "birthdate\nname\nquery\nkey": what an identity provider vouches for (the birth date
 *      with its presumed forms, a name as the identity key normalises it) and the callback's
 *      query string as kyc_query_get reads it.
 * Invariants: an accepted token has claims; a refusal carries its code and a sentence; a
 * correctly signed, fresh delivery is never refused for its signature; pay_webhook_read
 * answers 0 or 400/401/422 with a message, and what it accepts has an event id and a known
 * kind; a normalised name fits its buffer and normalises to itself; an accepted birth date
 * has its latest possible day on or after the date given. */
#include <cjose/cjose.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kyc/internal.h"
#include "kyc/kyc.h"
#include "node/pay.h"
#include "tests/fuzz/fuzz.h"

#define NOW 1700000000LL
#define ISS "https://fc.test/api/v2"
#define AUD "parlay"

/* A test key, used by nothing else. */
static const char KEY[] =
    "{\"kty\":\"EC\",\"kid\":\"es1\",\"crv\":\"P-256\","
    "\"x\":\"XJDQ-eX3umMmRkUx3_-6SXIKh4VIiollekzzDKggz2s\","
    "\"y\":\"HWQZhTsf8pd6SQE7KxS6KtmfRhBONgV2RrA1rf2ibFc\","
    "\"d\":\"KnZyDLWRS5thyVANGRGJnTWhpFQ17C9QenQvIg5bPBI\"}";
static const char PAY[] =
    "{\"name\":\"standin\",\"secret\":\"pay-test-secret\",\"signature_header\":"
    "\"x-pay-signature\",\"signature_prefix\":\"v1=\",\"signed_payload\":\"timestamp.body\","
    "\"timestamp_header\":\"x-pay-timestamp\",\"max_age_s\":300,\"event_id_field\":\"id\"}";
static const char DOC[] =
    "{\"name\":\"sumsub-like\",\"secret\":\"k\",\"signature_header\":\"x-payload-digest\","
    "\"timestamp_field\":\"createdAtMs\",\"timestamp_unit\":\"ms\",\"event_id_field\":"
    "\"correlationId\",\"reference_field\":\"applicantId\",\"status_field\":"
    "\"reviewResult.reviewAnswer\",\"max_age_s\":120,"
    "\"status_map\":{\"GREEN\":\"approved\",\"RED\":\"manual_review\"}}";

static cjose_jwk_t *key;
static json_t *jwks;
static kyc_webhook *pay_wh;
static struct pay_provider *pay;
static kyc_doc_provider *doc;

static json_t *loads(const char *s)
{
    json_t *j = json_loads(s, 0, NULL);
    FUZZ_CHECK(j, "fixed JSON");
    return j;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    cjose_err ce;
    key = cjose_jwk_import(KEY, strlen(KEY), &ce);
    FUZZ_CHECK(key, "key: %s", ce.message);
    char *pub = cjose_jwk_to_json(key, false, &ce);
    jwks = json_pack("{s:[o]}", "keys", loads(pub));
    free(pub);
    kyc_err err = {0};
    json_t *c = loads(PAY);
    FUZZ_CHECK(kyc_webhook_new(c, "payment provider", &pay_wh, &err) == KYC_OK, "%s", err.msg);
    json_decref(c);
    c = loads(DOC);
    FUZZ_CHECK(kyc_doc_provider_new(c, &doc, &err) == KYC_OK, "%s", err.msg);
    json_decref(c);
    /* The payment provider reads its API key and webhook secret from owner-only files. */
    char dir[] = "/tmp/parlay-fuzz-kyc-XXXXXX", kf[128], sf[128];
    FUZZ_CHECK(mkdtemp(dir), "mkdtemp");
    snprintf(kf, sizeof kf, "%s/key", dir);
    snprintf(sf, sizeof sf, "%s/secret", dir);
    const char *files[2][2] = {{kf, "sk_test"}, {sf, "pay-test-secret"}};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i][0], "w");
        FUZZ_CHECK(f, "%s", files[i][0]);
        fputs(files[i][1], f);
        fclose(f);
        chmod(files[i][0], 0600);
    }
    c = json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", "standin", "api_url",
                  "http://127.0.0.1:9", "api_key_file", kf, "webhook", "secret_file", sf);
    char perr[400] = "";
    FUZZ_CHECK(pay_provider_new(c, &pay, perr, sizeof perr) == 0, "pay: %s", perr);
    json_decref(c);
    unlink(kf);
    unlink(sf);
    rmdir(dir);
    return 0;
}

static kyc_jwt_expect expect(bool low_s)
{
    kyc_jwt_expect e = {.issuer = ISS, .audience = AUD, .nonce = "n-0123456789abcdef",
                        .acr = "eidas1", .now = NOW, .skew = 60, .require_exp_iat = true,
                        .max_lifetime = 3600, .es256_low_s = low_s};
    return e;
}

static int verify(const char *tok, const json_t *set, bool low_s)
{
    kyc_jwt_expect e = expect(low_s);
    kyc_err err = {0};
    json_t *claims = NULL;
    int rc = kyc_jwt_verify(tok, set, &e, &claims, &err);
    if (rc == KYC_OK)
        FUZZ_CHECK(json_is_object(claims), "accepted without claims");
    else
        FUZZ_CHECK(err.code == rc && err.msg[0] && !claims, "refusal %d without its code (%d) "
                   "or sentence", rc, err.code);
    json_decref(claims);
    return rc;
}

static void signed_token(const uint8_t *p, size_t n)
{
    struct fuzz_in in = {p, n};
    const uint8_t *h, *c;
    size_t hl = fuzz_part(&in, '\n', &h);
    size_t cl = fuzz_part(&in, '\n', &c);
    json_t *hdr = json_loadb((const char *)h, hl, 0, NULL);
    if (!json_is_object(hdr)) {
        json_decref(hdr);
        return;
    }
    /* cjose signs with the key's own algorithm: the header says ES256. */
    json_object_set_new(hdr, "alg", json_string("ES256"));
    cjose_err ce;
    cjose_jws_t *jws = cjose_jws_sign(key, (cjose_header_t *)hdr, c, cl, &ce);
    json_decref(hdr);
    if (!jws)
        return;
    const char *ser = NULL;
    if (cjose_jws_export(jws, &ser, &ce) && ser) {
        char *tok = strdup(ser);
        int rc = verify(tok, jwks, false);
        kyc_err err = {0};
        if (kyc_es256_flip_s(tok, true, &err) == KYC_OK) { /* now canonical (low s) */
            FUZZ_CHECK(verify(tok, jwks, true) == rc, "the low-s form is judged differently");
            if (kyc_es256_flip_s(tok, false, &err) == KYC_OK) /* its high-s twin */
                FUZZ_CHECK(verify(tok, jwks, true) != KYC_OK, "a high-s token was accepted");
        }
        free(tok);
    }
    cjose_jws_release(jws);
}

static void pay_read(const kyc_header *h, size_t nh, const uint8_t *body, size_t len)
{
    struct pay_event ev;
    char err[300] = "";
    int st = pay_webhook_read(pay, h, nh, body, len, NOW, &ev, err, sizeof err);
    FUZZ_CHECK(st == 0 || st == 400 || st == 401 || st == 422, "pay_webhook_read: %d", st);
    if (st) {
        FUZZ_CHECK(err[0], "status %d without a message", st);
    } else {
        FUZZ_CHECK(ev.event_id[0] && strcmp(pay_event_kind_name(ev.kind), "?"),
                   "accepted without an event id or a known kind");
    }
}

static void pay_delivery(const char *sig, const char *ts, const uint8_t *body, size_t len,
                         bool signed_ok)
{
    kyc_header h[3] = {{"Content-Type", "application/json"},
                       {"X-Pay-Signature", sig},
                       {"X-Pay-Timestamp", ts}};
    kyc_err err = {0};
    json_t *obj = NULL;
    int64_t got = 0;
    char event_id[128] = "";
    int rc = kyc_webhook_verify(pay_wh, h, 3, body, len, NOW, &obj, &got, event_id, &err);
    if (rc == KYC_OK) {
        FUZZ_CHECK(json_is_object(obj) && event_id[0], "accepted without a body or an id");
    } else {
        FUZZ_CHECK(err.code == rc && err.msg[0] && !obj, "refusal without code or sentence");
        if (signed_ok)
            FUZZ_CHECK(rc != KYC_E_WH_SIGNATURE, "a correctly signed delivery: %s", err.msg);
    }
    json_decref(obj);
    pay_read(h, 3, body, len);
}

static void identity(struct fuzz_in *in)
{
    const uint8_t *b, *n, *q;
    size_t bl = fuzz_part(in, '\n', &b), nl = fuzz_part(in, '\n', &n), ql = fuzz_part(in, '\n', &q);
    char *bd = fuzz_strndup(b, bl), *name = fuzz_strndup(n, nl), *query = fuzz_strndup(q, ql);
    char *key = fuzz_strndup(in->p, in->n);
    kyc_err err = {0};
    kyc_birthdate d;
    if (kyc_birthdate_parse(bd, &d, &err) == KYC_OK) {
        FUZZ_CHECK(d.l_year > d.year || (d.l_year == d.year && (d.l_month > d.month ||
                                         (d.l_month == d.month && d.l_day >= d.day))),
                   "latest possible day before the date given (%s)", bd);
        int age;
        (void)kyc_age_on(bd, 2026, 12, 4, &age, &err);
        (void)kyc_check_adult(bd, NOW, &err);
    }
    static const size_t SIZES[] = {1, 8, 64, 256};
    for (size_t k = 0; k < sizeof SIZES / sizeof *SIZES; k++) {
        char *out = malloc(SIZES[k]), *again = malloc(SIZES[k]);
        if (kyc_normalise_name(name, out, SIZES[k], &err) == KYC_OK) {
            FUZZ_CHECK(memchr(out, 0, SIZES[k]), "normalised name past its buffer");
            FUZZ_CHECK(kyc_normalise_name(out, again, SIZES[k], &err) == KYC_OK &&
                           !strcmp(out, again),
                       "normalising twice changes the name");
        }
        free(out);
        free(again);
    }
    char *v = kyc_query_get(query, key);
    if (v)
        FUZZ_CHECK(strlen(v) <= strlen(query), "a value longer than its query");
    free(v);
    char *enc = kyc_urlencode(name);
    free(enc);
    free(bd);
    free(name);
    free(query);
    free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    uint8_t mode = fuzz_byte(&in) % 7;
    if (mode == 6) {
        identity(&in);
        return 0;
    }
    if (mode == 0 || mode == 2) {
        json_t *set = jwks;
        if (mode == 2) {
            const uint8_t *k;
            size_t kl = fuzz_part(&in, '\n', &k);
            set = json_loadb((const char *)k, kl, 0, NULL);
        }
        char *tok = fuzz_strndup(in.p, in.n);
        verify(tok, set, true);
        verify(tok, set, false);
        free(tok);
        if (set != jwks)
            json_decref(set);
    } else if (mode == 1) {
        signed_token(in.p, in.n);
    } else if (mode == 3) {
        const uint8_t *s, *t;
        size_t sl = fuzz_part(&in, '\n', &s), tl = fuzz_part(&in, '\n', &t);
        char *sig = fuzz_strndup(s, sl), *ts = fuzz_strndup(t, tl);
        pay_delivery(sig, ts, in.p, in.n, false);
        free(sig);
        free(ts);
    } else {
        const uint8_t *t;
        size_t tl = fuzz_part(&in, '\n', &t);
        char *tss = fuzz_strndup(t, tl);
        int64_t ts = NOW + (int64_t)(strtoll(tss, NULL, 10) % 1000);
        free(tss);
        char sig[256], tsbuf[32];
        kyc_err err = {0};
        snprintf(tsbuf, sizeof tsbuf, "%lld", (long long)ts);
        if (mode == 4) {
            FUZZ_CHECK(kyc_webhook_sign(pay_wh, ts, in.p, in.n, sig, sizeof sig, &err) == KYC_OK,
                       "sign: %s", err.msg);
            pay_delivery(sig, tsbuf, in.p, in.n, true);
        } else {
            FUZZ_CHECK(kyc_doc_webhook_sign(doc, ts, in.p, in.n, sig, sizeof sig, &err) == KYC_OK,
                       "sign: %s", err.msg);
            kyc_header h[1] = {{"X-Payload-Digest", sig}};
            kyc_doc_event ev;
            int rc = kyc_doc_webhook_verify(doc, h, 1, in.p, in.n, NOW, &ev, &err);
            if (rc != KYC_OK)
                FUZZ_CHECK(rc != KYC_E_WH_SIGNATURE && err.code == rc && err.msg[0],
                           "document webhook refused %d: %s", rc, err.msg);
            else
                FUZZ_CHECK(memchr(ev.event_id, 0, sizeof ev.event_id) &&
                               memchr(ev.reference, 0, sizeof ev.reference),
                           "event fields not terminated");
        }
    }
    return 0;
}
