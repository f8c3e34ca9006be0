/* kyc: JWS compact verification against a JWK set, with libcjose doing the signature.
 *
 * The order matters and is the whole point of this file:
 *   1. split the token and read its header ourselves: the algorithm must be ES256 or RS256.
 *      `none`, HS* (which would turn a public key into an HMAC secret) and everything else
 *      are refused before any key is looked at; `crit` is refused (we understand no
 *      extension); keys named in the header (jku, jwk, x5u) are never used.
 *   2. pick the key from the configured JWKS by kid, with the kty the algorithm needs (EC
 *      P-256 for ES256, RSA for RS256), and a matching alg/use when the key states them.
 *   3. cjose verifies the signature (an ES256 signature must be exactly 64 bytes: cjose
 *      splits whatever it gets in half).
 *      For our own tokens (es256_low_s) only the low-s form of an ES256 signature is taken:
 *      (r, s) and (r, n - s) both verify, and a token must have exactly one valid spelling.
 *   4. only then is the payload parsed, and the claims checked: iss, aud, exp, iat, nonce,
 *      acr, sub. cjose checks no claims. Times come from the token, so every sum with them
 *      saturates (kyc_time_add): exp = 2^63 - 1 plus the skew must not overflow. */
#include "kyc/internal.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include <math.h>

#include <cjose/cjose.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>

#define JWT_MAX_PART 16384

typedef struct
{
    char alg[16];
    char kid[128];
} jwt_header;

static int read_header(const char* token, const char* dot1, jwt_header* h, kyc_err* err)
{
    uint8_t buf[2048];
    long n = kyc_b64url_decode(token, (size_t)(dot1 - token), buf, sizeof buf - 1);
    if (n < 0)
        return kyc_fail(err, KYC_E_JWT_FORMAT, "jwt header is not base64url");
    buf[n] = '\0';
    json_error_t je;
    json_t* hdr = json_loadb((const char*)buf, (size_t)n, 0, &je);
    if (!json_is_object(hdr)) {
        json_decref(hdr);
        return kyc_fail(err, KYC_E_JWT_FORMAT, "jwt header is not a JSON object");
    }
    int rc = KYC_OK;
    const char* alg = json_string_value(json_object_get(hdr, "alg"));
    const char* kid = json_string_value(json_object_get(hdr, "kid"));
    if (!alg) {
        rc = kyc_fail(err, KYC_E_JWT_ALG, "jwt header has no alg");
    } else if (strcmp(alg, "ES256") != 0 && strcmp(alg, "RS256") != 0) {
        rc = kyc_fail(err, KYC_E_JWT_ALG, "jwt alg %.32s not allowed (ES256, RS256 only)", alg);
    } else if (json_object_get(hdr, "crit")) {
        rc = kyc_fail(err, KYC_E_JWT_FORMAT, "jwt header has crit extensions");
    } else if (kid && strlen(kid) >= sizeof h->kid) {
        rc = kyc_fail(err, KYC_E_JWT_FORMAT, "jwt kid too long");
    } else {
        kyc_copy(h->alg, sizeof h->alg, alg);
        kyc_copy(h->kid, sizeof h->kid, kid ? kid : "");
    }
    json_decref(hdr);
    return rc;
}

static bool key_fits(json_t* k, const jwt_header* h)
{
    const char* kty = json_string_value(json_object_get(k, "kty"));
    const char* kid = json_string_value(json_object_get(k, "kid"));
    const char* alg = json_string_value(json_object_get(k, "alg"));
    const char* use = json_string_value(json_object_get(k, "use"));
    if (!kty)
        return false;
    if (strcmp(h->alg, "ES256") == 0) {
        const char* crv = json_string_value(json_object_get(k, "crv"));
        if (strcmp(kty, "EC") != 0 || !crv || strcmp(crv, "P-256") != 0)
            return false;
    } else if (strcmp(kty, "RSA") != 0) {
        return false;
    }
    if (alg && strcmp(alg, h->alg) != 0)
        return false;
    if (use && strcmp(use, "sig") != 0)
        return false;
    if (h->kid[0])
        return kid && strcmp(kid, h->kid) == 0;
    return true;
}

/* The key for this header, or NULL. Without a kid the set must hold exactly one candidate. */
static json_t* find_key(const json_t* jwks, const jwt_header* h, kyc_err* err)
{
    json_t* keys = json_object_get(jwks, "keys");
    if (!json_is_array(keys)) {
        kyc_fail(err, KYC_E_JWT_KEY, "JWKS has no keys array");
        return NULL;
    }
    json_t* found = NULL;
    size_t count = 0, i;
    json_t* k;
    json_array_foreach(keys, i, k)
    {
        if (json_is_object(k) && key_fits(k, h)) {
            found = k;
            count++;
        }
    }
    if (count == 0) {
        kyc_fail(err, KYC_E_JWT_KEY, "no %s key with kid \"%.64s\" in the JWKS", h->alg, h->kid);
        return NULL;
    }
    if (count > 1 && !h->kid[0]) {
        kyc_fail(err, KYC_E_JWT_KEY, "jwt has no kid and the JWKS has %zu %s keys", count, h->alg);
        return NULL;
    }
    return found;
}

/* A NumericDate claim: an integer, or a real within +-2^62 (a larger real does not fit an
 * int64_t, and converting it would be undefined). */
static bool num_claim(json_t* c, const char* name, int64_t* v)
{
    json_t* x = json_object_get(c, name);
    if (json_is_integer(x)) {
        *v = (int64_t)json_integer_value(x);
        return true;
    }
    if (json_is_real(x)) {
        double d = json_real_value(x);
        if (!isfinite(d) || fabs(d) > 4611686018427387904.0)
            return false;
        *v = (int64_t)d;
        return true;
    }
    return false;
}

/* The order n of P-256, big-endian. */
static const uint8_t P256_N[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};

/* s <= (n - 1) / 2, i.e. 2s < n: the canonical half. */
static bool s_is_low(const uint8_t s[32])
{
    unsigned carry = 0;
    uint8_t twice[33];
    for (int i = 31; i >= 0; i--) {
        unsigned v = ((unsigned)s[i] << 1) | carry;
        twice[i + 1] = (uint8_t)v;
        carry = v >> 8;
    }
    twice[0] = (uint8_t)carry;
    if (twice[0])
        return false;
    return memcmp(twice + 1, P256_N, 32) < 0;
}

int kyc_es256_flip_s(char* compact, bool only_high, kyc_err* err)
{
    char* dot = compact ? strrchr(compact, '.') : NULL;
    uint8_t sig[64];
    if (!dot || kyc_b64url_decode(dot + 1, strlen(dot + 1), sig, sizeof sig) != 64)
        return kyc_fail(err, KYC_E_JWT_FORMAT, "not a compact JWS with a 64-byte ES256 signature");
    if (only_high && s_is_low(sig + 32))
        return KYC_OK;
    BIGNUM* n = BN_bin2bn(P256_N, 32, NULL);
    BIGNUM* s = BN_bin2bn(sig + 32, 32, NULL);
    bool ok = n && s && !BN_is_zero(s) && BN_cmp(s, n) < 0 && BN_sub(s, n, s) &&
              BN_bn2binpad(s, sig + 32, 32) == 32;
    BN_free(n);
    BN_free(s);
    if (!ok)
        return kyc_fail(err, KYC_E_JWT_SIGNATURE, "ES256 signature s is out of range");
    char enc[90];
    size_t len = kyc_b64url_encode(sig, sizeof sig, enc);
    if (len != strlen(dot + 1))
        return kyc_fail(err, KYC_E_JWT_FORMAT, "ES256 signature is not unpadded base64url");
    memcpy(dot + 1, enc, len);
    return KYC_OK;
}

static bool str_eq(const char* a, const char* b)
{
    size_t n = strlen(a);
    return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

/* eIDAS levels are ordered (eidas1 < eidas2 < eidas3): a higher level than asked for is
 * enough, as FranceConnect+ documents. Any other value must match exactly. */
static int eidas_level(const char* acr)
{
    if (strncmp(acr, "eidas", 5) == 0 && acr[5] >= '1' && acr[5] <= '3' && acr[6] == '\0')
        return acr[5] - '0';
    return 0;
}

static bool acr_enough(const char* got, const char* want)
{
    int g = eidas_level(got), w = eidas_level(want);
    return g && w ? g >= w : strcmp(got, want) == 0;
}

static int check_claims(json_t* c, const kyc_jwt_expect* e, kyc_err* err)
{
    const char* iss = json_string_value(json_object_get(c, "iss"));
    if (!iss || strcmp(iss, e->issuer) != 0)
        return kyc_fail(err, KYC_E_JWT_ISS, "iss \"%.100s\" is not \"%.100s\"",
                        iss ? iss : "(missing)", e->issuer);
    json_t* aud = json_object_get(c, "aud");
    bool aud_ok = false;
    if (json_is_string(aud)) {
        aud_ok = strcmp(json_string_value(aud), e->audience) == 0;
    } else if (json_is_array(aud)) {
        size_t i;
        json_t* a;
        json_array_foreach(
            aud, i, a) if (json_is_string(a) && strcmp(json_string_value(a), e->audience) == 0)
            aud_ok = true;
        /* Several audiences: the token must say it was issued to us (azp). */
        const char* azp = json_string_value(json_object_get(c, "azp"));
        if (aud_ok && json_array_size(aud) > 1 && (!azp || strcmp(azp, e->audience) != 0))
            aud_ok = false;
    }
    if (!aud_ok)
        return kyc_fail(err, KYC_E_JWT_AUD, "aud does not name client \"%.100s\"", e->audience);
    int64_t exp = 0, iat = 0;
    bool has_exp = num_claim(c, "exp", &exp), has_iat = num_claim(c, "iat", &iat);
    if (!has_exp && (e->require_exp_iat || json_object_get(c, "exp")))
        return kyc_fail(err, KYC_E_JWT_EXPIRED, "exp missing or not a usable time");
    if (has_exp && e->now >= kyc_time_add(exp, e->skew))
        return kyc_fail(err, KYC_E_JWT_EXPIRED, "expired at %lld, now %lld (skew %llds)",
                        (long long)exp, (long long)e->now, (long long)e->skew);
    if (has_exp && e->max_lifetime > 0 &&
        exp > kyc_time_add(kyc_time_add(e->now, e->max_lifetime), e->skew))
        return kyc_fail(err, KYC_E_JWT_LIFETIME,
                        "exp %lld is more than %llds ahead of now (%lld): not a token this "
                        "issuer makes",
                        (long long)exp, (long long)e->max_lifetime, (long long)e->now);
    if (!has_iat && (e->require_exp_iat || json_object_get(c, "iat")))
        return kyc_fail(err, KYC_E_JWT_IAT, "iat missing or not a usable time");
    if (has_iat && iat > kyc_time_add(e->now, e->skew))
        return kyc_fail(err, KYC_E_JWT_IAT, "issued in the future (iat %lld, now %lld)",
                        (long long)iat, (long long)e->now);
    if (e->nonce) {
        const char* nonce = json_string_value(json_object_get(c, "nonce"));
        if (!nonce || !str_eq(nonce, e->nonce))
            return kyc_fail(err, KYC_E_JWT_NONCE, "nonce %s", nonce ? "differs" : "missing");
    }
    if (e->acr) {
        const char* acr = json_string_value(json_object_get(c, "acr"));
        if (!acr || !acr_enough(acr, e->acr))
            return kyc_fail(err, KYC_E_JWT_ACR, "acr \"%.32s\", wanted \"%.32s\"",
                            acr ? acr : "(missing)", e->acr);
    }
    const char* sub = json_string_value(json_object_get(c, "sub"));
    if (!sub || !*sub)
        return kyc_fail(err, KYC_E_JWT_SUB, "sub missing");
    return KYC_OK;
}

/* Whether [@p, @end) is unpadded base64url whose length can be decoded (not 1 mod 4). */
static bool b64url_part_ok(const char* p, const char* end)
{
    if ((end - p) % 4 == 1)
        return false;
    for (; p < end; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return false;
    return true;
}

int kyc_jwt_verify(const char* token,
                   const json_t* jwks,
                   const kyc_jwt_expect* expect,
                   json_t** claims,
                   kyc_err* err)
{
    if (claims)
        *claims = NULL;
    if (!token || !jwks || !expect || !expect->issuer || !expect->audience)
        return kyc_fail(err, KYC_E_INVAL, "kyc_jwt_verify: missing argument");
    size_t len = strlen(token);
    const char* d1 = strchr(token, '.');
    const char* d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.') || len > 3 * JWT_MAX_PART)
        return kyc_fail(err, KYC_E_JWT_FORMAT, "not a JWS compact serialization");
    jwt_header h;
    int rc = read_header(token, d1, &h, err);
    if (rc)
        return rc;
    uint8_t sig[1024];
    long siglen = kyc_b64url_decode(d2 + 1, strlen(d2 + 1), sig, sizeof sig);
    if (siglen <= 0)
        return kyc_fail(err, KYC_E_JWT_SIGNATURE, "signature missing or not base64url");
    if (strcmp(h.alg, "ES256") == 0 && siglen != 64)
        return kyc_fail(err, KYC_E_JWT_SIGNATURE, "ES256 signature is %ld bytes, not 64", siglen);
    json_t* key = find_key(jwks, &h, err);
    if (!key)
        return KYC_E_JWT_KEY;

    cjose_err ce;
    char* keyjson = json_dumps(key, JSON_COMPACT);
    cjose_jwk_t* jwk = keyjson ? cjose_jwk_import(keyjson, strlen(keyjson), &ce) : NULL;
    free(keyjson);
    if (!jwk)
        return kyc_fail(err, KYC_E_JWT_KEY, "JWKS key \"%.64s\" unusable", h.kid);
    /* cjose asserts (aborts the process) on a base64url part whose length is 1 mod 4: each
     * part is checked here first (found by fuzz_kyc). */
    if (!b64url_part_ok(token, d1) || !b64url_part_ok(d1 + 1, d2) ||
        !b64url_part_ok(d2 + 1, token + len)) {
        cjose_jwk_release(jwk);
        return kyc_fail(err, KYC_E_JWT_FORMAT, "a part of the token is not base64url");
    }
    cjose_jws_t* jws = cjose_jws_import(token, len, &ce);
    if (!jws) {
        cjose_jwk_release(jwk);
        return kyc_fail(err, KYC_E_JWT_FORMAT, "jws import: %s", ce.message);
    }
    uint8_t* pt = NULL;
    size_t ptlen = 0;
    if (!cjose_jws_verify(jws, jwk, &ce)) {
        rc = kyc_fail(err, KYC_E_JWT_SIGNATURE, "%s signature does not verify with key \"%.64s\"",
                      h.alg, h.kid);
    } else if (strcmp(h.alg, "ES256") == 0 && expect->es256_low_s && !s_is_low(sig + 32)) {
        /* Valid, but the high-s twin of the signature the issuer made. */
        rc = kyc_fail(err, KYC_E_JWT_SIGNATURE,
                      "ES256 signature is not in its canonical low-s form");
    } else if (!cjose_jws_get_plaintext(jws, &pt, &ptlen, &ce)) {
        rc = kyc_fail(err, KYC_E_JWT_FORMAT, "jws payload: %s", ce.message);
    } else {
        json_error_t je;
        json_t* c = json_loadb((const char*)pt, ptlen, 0, &je);
        if (!json_is_object(c)) {
            rc = kyc_fail(err, KYC_E_JWT_FORMAT, "jwt payload is not a JSON object");
        } else {
            rc = check_claims(c, expect, err);
        }
        if (rc == KYC_OK && claims)
            *claims = c;
        else
            json_decref(c);
    }
    cjose_jws_release(jws);
    cjose_jwk_release(jwk);
    return rc;
}
