/* kyc_jwt_verify: tokens made here with cjose (ES256 and RS256 keys generated per run) and by
 * hand (alg none), each refusal with its precise code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjose/cjose.h>
#include <cmocka.h>

#include "kyc/internal.h"
#include "kyc/kyc.h"

#define ISS "https://fc.test/api/v2"
#define AUD "parlay"
#define NONCE "n-0123456789abcdefghijklmnop"

static cjose_jwk_t *ec, *rsa, *ec_other;
static json_t* jwks;
static int64_t now;

static json_t* public_jwk(cjose_jwk_t* k)
{
    cjose_err ce;
    char* s = cjose_jwk_to_json(k, false, &ce);
    json_error_t je;
    json_t* j = json_loads(s, 0, &je);
    free(s);
    return j;
}

static int setup(void** state)
{
    (void)state;
    cjose_err ce;
    now = (int64_t)time(NULL);
    ec = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &ce);
    ec_other = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &ce);
    static const uint8_t e[] = {1, 0, 1};
    rsa = cjose_jwk_create_RSA_random(2048, e, sizeof e, &ce);
    if (!ec || !rsa || !ec_other)
        return -1;
    cjose_jwk_set_kid(ec, "es1", 3, &ce);
    cjose_jwk_set_kid(ec_other, "es1", 3, &ce); /* an attacker's key claiming the same kid */
    cjose_jwk_set_kid(rsa, "rs1", 3, &ce);
    jwks = json_pack("{s:[o,o]}", "keys", public_jwk(ec), public_jwk(rsa));
    return jwks ? 0 : -1;
}

static int teardown(void** state)
{
    (void)state;
    cjose_jwk_release(ec);
    cjose_jwk_release(ec_other);
    cjose_jwk_release(rsa);
    json_decref(jwks);
    return 0;
}

static json_t* claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "iss", ISS, "aud", AUD, "sub",
                     "abc123v1", "nonce", NONCE, "acr", "eidas1", "iat", (json_int_t)now, "exp",
                     (json_int_t)(now + 60));
}

/* Signs `c` (stolen reference) with key k under a header {alg, kid, extra...}. */
static char* sign(cjose_jwk_t* k, const char* alg, const char* kid, json_t* c, json_t* extra)
{
    cjose_err ce;
    json_t* hdr = json_object();
    json_object_set_new(hdr, "alg", json_string(alg));
    if (kid)
        json_object_set_new(hdr, "kid", json_string(kid));
    if (extra)
        json_object_update(hdr, extra);
    char* payload = json_dumps(c, JSON_COMPACT);
    cjose_jws_t* jws =
        cjose_jws_sign(k, (cjose_header_t*)hdr, (const uint8_t*)payload, strlen(payload), &ce);
    assert_non_null(jws);
    const char* ser = NULL;
    assert_true(cjose_jws_export(jws, &ser, &ce));
    char* out = strdup(ser);
    cjose_jws_release(jws);
    json_decref(hdr);
    json_decref(c);
    json_decref(extra);
    free(payload);
    return out;
}

static kyc_jwt_expect expect(void)
{
    kyc_jwt_expect e = {.issuer = ISS,
                        .audience = AUD,
                        .nonce = NONCE,
                        .acr = "eidas1",
                        .now = now,
                        .skew = 60,
                        .require_exp_iat = true};
    return e;
}

static int verify(const char* tok)
{
    kyc_jwt_expect e = expect();
    kyc_err err = {0};
    json_t* c = NULL;
    int rc = kyc_jwt_verify(tok, jwks, &e, &c, &err);
    if (rc == KYC_OK)
        assert_non_null(c);
    else
        assert_int_equal(err.code, rc);
    json_decref(c);
    return rc;
}

static void test_good_es256_and_rs256(void** state)
{
    (void)state;
    char* t = sign(ec, "ES256", "es1", claims(), NULL);
    kyc_jwt_expect e = expect();
    json_t* c = NULL;
    kyc_err err;
    assert_int_equal(kyc_jwt_verify(t, jwks, &e, &c, &err), KYC_OK);
    assert_string_equal(json_string_value(json_object_get(c, "sub")), "abc123v1");
    json_decref(c);
    free(t);
    t = sign(rsa, "RS256", "rs1", claims(), NULL);
    assert_int_equal(verify(t), KYC_OK);
    free(t);
}

static char* b64(const char* s)
{
    char* o = malloc(4 * strlen(s) / 3 + 4);
    kyc_b64url_encode((const uint8_t*)s, strlen(s), o);
    return o;
}

static void test_alg_none_refused(void** state)
{
    (void)state;
    json_t* c = claims();
    char* payload = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    char *h = b64("{\"alg\":\"none\"}"), *p = b64(payload), tok[4096];
    snprintf(tok, sizeof tok, "%s.%s.", h, p);
    assert_int_equal(verify(tok), KYC_E_JWT_ALG);
    free(h);
    h = b64("{\"alg\":\"none\",\"kid\":\"es1\"}");
    snprintf(tok, sizeof tok, "%s.%s.AAAA", h, p);
    assert_int_equal(verify(tok), KYC_E_JWT_ALG);
    free(h);
    h = b64("{\"alg\":\"NONE\"}");
    snprintf(tok, sizeof tok, "%s.%s.", h, p);
    assert_int_equal(verify(tok), KYC_E_JWT_ALG);
    free(h);
    h = b64("{\"kid\":\"es1\"}"); /* no alg at all */
    snprintf(tok, sizeof tok, "%s.%s.AAAA", h, p);
    assert_int_equal(verify(tok), KYC_E_JWT_ALG);
    free(h);
    free(p);
    free(payload);
}

static void test_hs256_key_confusion_refused(void** state)
{
    (void)state;
    /* The classic attack: HMAC with the provider's public key as the secret. */
    json_t* pub = json_array_get(json_object_get(jwks, "keys"), 0);
    char* secret = json_dumps(pub, JSON_COMPACT);
    cjose_err ce;
    cjose_jwk_t* oct = cjose_jwk_create_oct_spec((const uint8_t*)secret, strlen(secret), &ce);
    char* t = sign(oct, "HS256", "es1", claims(), NULL);
    assert_int_equal(verify(t), KYC_E_JWT_ALG);
    free(t);
    cjose_jwk_release(oct);
    free(secret);
    /* Other asymmetric algorithms are not on the list either. */
    t = sign(rsa, "PS256", "rs1", claims(), NULL);
    assert_int_equal(verify(t), KYC_E_JWT_ALG);
    free(t);
}

static void test_tampered_and_foreign_signatures(void** state)
{
    (void)state;
    char* good = sign(ec, "ES256", "es1", claims(), NULL);
    /* Payload swapped for one saying another sub: the signature no longer matches. */
    json_t* c = claims();
    json_object_set_new(c, "sub", json_string("someone-else"));
    char* other = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    char* p = b64(other);
    char* d1 = strchr(good, '.');
    char* d2 = strchr(d1 + 1, '.');
    char tok[4096];
    snprintf(tok, sizeof tok, "%.*s.%s%s", (int)(d1 - good), good, p, d2);
    assert_int_equal(verify(tok), KYC_E_JWT_SIGNATURE);
    /* ES256 signature of the wrong length. */
    snprintf(tok, sizeof tok, "%.*sAAAA", (int)(d2 + 1 - good), good);
    strcat(tok, d2 + 1);
    assert_int_equal(verify(tok), KYC_E_JWT_SIGNATURE);
    /* No signature. */
    snprintf(tok, sizeof tok, "%.*s", (int)(d2 + 1 - good), good);
    assert_int_equal(verify(tok), KYC_E_JWT_SIGNATURE);
    free(p);
    free(other);
    free(good);
    /* Signed by another key that claims the provider's kid. */
    char* t = sign(ec_other, "ES256", "es1", claims(), NULL);
    assert_int_equal(verify(t), KYC_E_JWT_SIGNATURE);
    free(t);
    /* ... even when the header points at the attacker's own key: jku/jwk are never used. */
    json_t* pub = public_jwk(ec_other);
    t = sign(ec_other, "ES256", "es1", claims(),
             json_pack("{s:o, s:s}", "jwk", pub, "jku", "https://evil.test/jwks"));
    assert_int_equal(verify(t), KYC_E_JWT_SIGNATURE);
    free(t);
}

static void test_key_selection(void** state)
{
    (void)state;
    char* t = sign(ec, "ES256", "unknown", claims(), NULL);
    assert_int_equal(verify(t), KYC_E_JWT_KEY);
    free(t);
    /* ES256 naming the RSA key's kid: wrong kty, no key. */
    t = sign(ec, "ES256", "rs1", claims(), NULL);
    assert_int_equal(verify(t), KYC_E_JWT_KEY);
    free(t);
    /* No kid: fine when one key fits the algorithm. */
    t = sign(ec, "ES256", NULL, claims(), NULL);
    assert_int_equal(verify(t), KYC_OK);
    free(t);
    /* crit extensions are refused. */
    t = sign(ec, "ES256", "es1", claims(), json_pack("{s:[s]}", "crit", "exp"));
    assert_int_equal(verify(t), KYC_E_JWT_FORMAT);
    free(t);
}

static int with_claim(const char* name, json_t* value)
{
    json_t* c = claims();
    if (value)
        json_object_set_new(c, name, value);
    else
        json_object_del(c, name);
    char* t = sign(ec, "ES256", "es1", c, NULL);
    int rc = verify(t);
    free(t);
    return rc;
}

static void test_claims(void** state)
{
    (void)state;
    assert_int_equal(with_claim("aud", json_string("someone-else")), KYC_E_JWT_AUD);
    assert_int_equal(with_claim("aud", NULL), KYC_E_JWT_AUD);
    assert_int_equal(with_claim("aud", json_pack("[s]", AUD)), KYC_OK);
    /* Several audiences without azp naming us. */
    assert_int_equal(with_claim("aud", json_pack("[s,s]", "other", AUD)), KYC_E_JWT_AUD);
    assert_int_equal(with_claim("iss", json_string("https://evil.test/api/v2")), KYC_E_JWT_ISS);
    assert_int_equal(with_claim("iss", json_string(ISS "/")), KYC_E_JWT_ISS);
    assert_int_equal(with_claim("iss", NULL), KYC_E_JWT_ISS);
    assert_int_equal(with_claim("exp", json_integer(now - 61)), KYC_E_JWT_EXPIRED);
    assert_int_equal(with_claim("exp", json_integer(now - 30)), KYC_OK); /* within skew */
    assert_int_equal(with_claim("exp", NULL), KYC_E_JWT_EXPIRED);
    assert_int_equal(with_claim("exp", json_string("never")), KYC_E_JWT_EXPIRED);
    assert_int_equal(with_claim("iat", json_integer(now + 600)), KYC_E_JWT_IAT);
    assert_int_equal(with_claim("iat", NULL), KYC_E_JWT_IAT);
    assert_int_equal(with_claim("nonce", json_string("n-0123456789abcdefghijklmnoq")),
                     KYC_E_JWT_NONCE);
    assert_int_equal(with_claim("nonce", NULL), KYC_E_JWT_NONCE);
    assert_int_equal(with_claim("acr", json_string("eidas0")), KYC_E_JWT_ACR);
    assert_int_equal(with_claim("acr", NULL), KYC_E_JWT_ACR);
    assert_int_equal(with_claim("acr", json_string("eidas2")), KYC_OK); /* higher is enough */
    assert_int_equal(with_claim("acr", json_string("eidas10")), KYC_E_JWT_ACR);
    assert_int_equal(with_claim("acr", json_integer(1)), KYC_E_JWT_ACR);
    assert_int_equal(with_claim("sub", NULL), KYC_E_JWT_SUB);
    assert_int_equal(with_claim("sub", json_string("")), KYC_E_JWT_SUB);
}

/* exp = 2^63 - 1 (and other extreme times) signed by a key in the set: exp + skew used to
 * overflow (UBSan aborts). Now refused as too far ahead where a lifetime is set, and never
 * an overflow. */
static void test_extreme_times(void** state)
{
    (void)state;
    assert_int_equal(with_claim("exp", json_integer(INT64_MAX)), KYC_OK); /* no lifetime cap */
    assert_int_equal(with_claim("exp", json_integer(INT64_MIN)), KYC_E_JWT_EXPIRED);
    assert_int_equal(with_claim("iat", json_integer(INT64_MAX)), KYC_E_JWT_IAT);
    assert_int_equal(with_claim("iat", json_integer(INT64_MIN)), KYC_OK);
    assert_int_equal(with_claim("exp", json_real(1e300)), KYC_E_JWT_EXPIRED);
    assert_int_equal(with_claim("exp", json_real(-1e300)), KYC_E_JWT_EXPIRED);
    assert_int_equal(with_claim("iat", json_real(1e300)), KYC_E_JWT_IAT);
    /* The caller's own tolerance at its extreme too. */
    char* t = sign(ec, "ES256", "es1", claims(), NULL);
    kyc_jwt_expect e = expect();
    e.skew = INT64_MAX;
    kyc_err err = {0};
    assert_int_equal(kyc_jwt_verify(t, jwks, &e, NULL, &err), KYC_OK);
    free(t);
    /* With a lifetime (our access tokens): a far exp is refused. */
    e = expect();
    e.max_lifetime = 3600;
    json_t* c = claims();
    json_object_set_new(c, "exp", json_integer(INT64_MAX));
    t = sign(ec, "ES256", "es1", c, NULL);
    assert_int_equal(kyc_jwt_verify(t, jwks, &e, NULL, &err), KYC_E_JWT_LIFETIME);
    free(t);
    c = claims();
    json_object_set_new(c, "exp", json_integer(now + 3600 + 61));
    t = sign(ec, "ES256", "es1", c, NULL);
    assert_int_equal(kyc_jwt_verify(t, jwks, &e, NULL, &err), KYC_E_JWT_LIFETIME);
    free(t);
    c = claims();
    json_object_set_new(c, "exp", json_integer(now + 3600));
    t = sign(ec, "ES256", "es1", c, NULL);
    assert_int_equal(kyc_jwt_verify(t, jwks, &e, NULL, &err), KYC_OK);
    free(t);
    assert_int_equal(kyc_time_add(INT64_MAX, 60), INT64_MAX);
    assert_int_equal(kyc_time_add(INT64_MIN, -60), INT64_MIN);
    assert_int_equal(kyc_time_add(5, -7), -2);
}

/* The s of the ES256 signature (bytes 32..63) of @tok, as 32 big-endian bytes. */
static void sig_s(const char* tok, uint8_t s[32])
{
    uint8_t sig[64];
    const char* dot = strrchr(tok, '.');
    assert_int_equal(kyc_b64url_decode(dot + 1, strlen(dot + 1), sig, sizeof sig), 64);
    memcpy(s, sig + 32, 32);
}

/* Both (r, s) and (r, n - s) verify; with es256_low_s only the low one is taken, and
 * kyc_es256_flip_s(.., true) always leaves the low one. */
static void test_es256_low_s_only(void** state)
{
    (void)state;
    static const uint8_t half_n[32] = {
        0x7F, 0xFF, 0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xDE, 0x73, 0x7D, 0x56, 0xD3, 0x8B, 0xCF, 0x42, 0x79, 0xDC, 0xE5, 0x61, 0x7E, 0x31,
        0x92, 0xA8};
    kyc_err err = {0};
    for (int i = 0; i < 16; i++) {
        char* t = sign(ec, "ES256", "es1", claims(), NULL);
        assert_int_equal(kyc_es256_flip_s(t, true, &err), KYC_OK);
        uint8_t s[32];
        sig_s(t, s);
        assert_true(memcmp(s, half_n, 32) <= 0);
        char* twin = strdup(t);
        assert_int_equal(kyc_es256_flip_s(twin, false, &err), KYC_OK);
        sig_s(twin, s);
        assert_true(memcmp(s, half_n, 32) > 0);
        assert_string_not_equal(t, twin);
        /* Without the option both verify (an outside provider's tokens) ... */
        assert_int_equal(verify(t), KYC_OK);
        assert_int_equal(verify(twin), KYC_OK);
        /* ... with it only the canonical one. */
        kyc_jwt_expect e = expect();
        e.es256_low_s = true;
        assert_int_equal(kyc_jwt_verify(t, jwks, &e, NULL, &err), KYC_OK);
        assert_int_equal(kyc_jwt_verify(twin, jwks, &e, NULL, &err), KYC_E_JWT_SIGNATURE);
        assert_non_null(strstr(err.msg, "low-s"));
        /* Flipping twice gives the token back. */
        assert_int_equal(kyc_es256_flip_s(twin, false, &err), KYC_OK);
        assert_string_equal(t, twin);
        free(twin);
        free(t);
    }
    char bad[] = "a.b.AAAA";
    assert_int_equal(kyc_es256_flip_s(bad, true, &err), KYC_E_JWT_FORMAT);
}

static void test_malformed(void** state)
{
    (void)state;
    static const char* bad[] = {
        "", "abc", "a.b", "a.b.c.d", "!!!.e30.AAAA", "e30.e30.AAAA", "bm90IGpzb24.e30.AAAA"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = verify(bad[i]);
        assert_true(rc == KYC_E_JWT_FORMAT || rc == KYC_E_JWT_ALG);
    }
    /* A valid signature over a payload that is not JSON. */
    cjose_err ce;
    json_t* hdr = json_pack("{s:s, s:s}", "alg", "ES256", "kid", "es1");
    cjose_jws_t* jws = cjose_jws_sign(ec, (cjose_header_t*)hdr, (const uint8_t*)"hello", 5, &ce);
    const char* ser = NULL;
    cjose_jws_export(jws, &ser, &ce);
    assert_int_equal(verify(ser), KYC_E_JWT_FORMAT);
    cjose_jws_release(jws);
    json_decref(hdr);
    kyc_err err;
    kyc_jwt_expect e = expect();
    e.issuer = NULL;
    assert_int_equal(kyc_jwt_verify("a.b.c", jwks, &e, NULL, &err), KYC_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_es256_and_rs256),
        cmocka_unit_test(test_alg_none_refused),
        cmocka_unit_test(test_hs256_key_confusion_refused),
        cmocka_unit_test(test_tampered_and_foreign_signatures),
        cmocka_unit_test(test_key_selection),
        cmocka_unit_test(test_claims),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_extreme_times),
        cmocka_unit_test(test_es256_low_s_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
