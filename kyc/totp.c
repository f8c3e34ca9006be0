/* kyc: TOTP second factor (RFC 6238 over RFC 4226 HOTP), otpauth URIs, recovery codes.
 *
 * Verification accepts the current 30-second step and `window` steps either side (clock
 * drift of the phone), and a code only once: the caller stores the last step used (in
 * replicated state) and a code for that step or an earlier one is refused. */
#include "kyc/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int kyc_base32_encode(const uint8_t* in, size_t n, char* out, size_t outsz)
{
    size_t need = (n * 8 + 4) / 5 + 1;
    if (outsz < need)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = b32[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return (int)o;
}

int kyc_base32_decode(const char* in, uint8_t* out, size_t outsz)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (const char* p = in; *p; p++) {
        int c = (unsigned char)*p;
        if (c == ' ' || c == '=' || c == '-')
            continue;
        if (c >= 'a' && c <= 'z')
            c -= 32;
        const char* q = c ? strchr(b32, c) : NULL;
        if (!q)
            return -1;
        acc = (acc << 5) | (uint32_t)(q - b32);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outsz)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (int)o;
}

static const EVP_MD* md_of(kyc_totp_alg alg)
{
    switch (alg) {
    case KYC_TOTP_SHA1:
        return EVP_sha1();
    case KYC_TOTP_SHA256:
        return EVP_sha256();
    case KYC_TOTP_SHA512:
        return EVP_sha512();
    }
    return NULL;
}

static int hotp(const uint8_t* key,
                size_t keylen,
                kyc_totp_alg alg,
                uint64_t counter,
                int digits,
                uint32_t* code,
                kyc_err* err)
{
    uint8_t msg[8];
    for (int i = 7; i >= 0; i--) {
        msg[i] = (uint8_t)(counter & 0xff);
        counter >>= 8;
    }
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    const EVP_MD* md = md_of(alg);
    if (!md || !HMAC(md, key, (int)keylen, msg, sizeof msg, mac, &maclen))
        return kyc_fail(err, KYC_E_CRYPTO, "HMAC failed");
    int off = mac[maclen - 1] & 0x0f; /* RFC 4226 dynamic truncation */
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    uint32_t mod = 1;
    for (int i = 0; i < digits; i++)
        mod *= 10;
    *code = bin % mod;
    return KYC_OK;
}

int kyc_totp_code(const uint8_t* key,
                  size_t keylen,
                  kyc_totp_alg alg,
                  int64_t t,
                  int period,
                  int digits,
                  uint32_t* code,
                  kyc_err* err)
{
    if (!key || keylen == 0 || period <= 0 || digits < 6 || digits > 8 || t < 0)
        return kyc_fail(err, KYC_E_INVAL, "totp: bad key, period, digits or time");
    return hotp(key, keylen, alg, (uint64_t)(t / period), digits, code, err);
}

int kyc_totp_secret_new(uint8_t secret[KYC_TOTP_SECRET_BYTES], kyc_err* err)
{
    if (RAND_bytes(secret, KYC_TOTP_SECRET_BYTES) != 1)
        return kyc_fail(err, KYC_E_RANDOM, "RAND_bytes failed");
    return KYC_OK;
}

int kyc_totp_verify(const uint8_t* key,
                    size_t keylen,
                    const char* code,
                    int64_t now,
                    int window,
                    int64_t* last_step,
                    kyc_err* err)
{
    enum { DIGITS = 6, PERIOD = 30 };
    if (!code || strlen(code) != DIGITS)
        return kyc_fail(err, KYC_E_TOTP_FORMAT, "code must be %d digits", DIGITS);
    for (int i = 0; i < DIGITS; i++)
        if (code[i] < '0' || code[i] > '9')
            return kyc_fail(err, KYC_E_TOTP_FORMAT, "code must be %d digits", DIGITS);
    if (window < 0 || window > 10 || now < 0)
        return kyc_fail(err, KYC_E_INVAL, "totp: bad window or time");
    int64_t step = now / PERIOD;
    int64_t matched = -1;
    bool reused = false;
    /* Every step of the window is computed and compared, match or not. */
    for (int64_t s = step - window; s <= step + window; s++) {
        if (s < 0)
            continue;
        uint32_t c;
        int rc = hotp(key, keylen, KYC_TOTP_SHA1, (uint64_t)s, DIGITS, &c, err);
        if (rc)
            return rc;
        char want[DIGITS + 1];
        snprintf(want, sizeof want, "%06u", c);
        if (CRYPTO_memcmp(want, code, DIGITS) == 0) {
            if (s <= *last_step)
                reused = true;
            else if (matched < 0)
                matched = s;
        }
    }
    if (matched >= 0) {
        *last_step = matched;
        return KYC_OK;
    }
    if (reused)
        return kyc_fail(err, KYC_E_TOTP_REUSED, "code already used");
    return kyc_fail(err, KYC_E_TOTP_MISMATCH, "code does not match");
}

int kyc_totp_uri(const uint8_t* key,
                 size_t keylen,
                 const char* issuer,
                 const char* account,
                 char** uri,
                 kyc_err* err)
{
    *uri = NULL;
    if (!key || keylen == 0 || keylen > 64 || !issuer || !account || strchr(issuer, ':') ||
        strchr(account, ':'))
        return kyc_fail(err, KYC_E_INVAL, "totp uri: bad key, or ':' in issuer or account");
    char secret[128];
    kyc_base32_encode(key, keylen, secret, sizeof secret);
    char* is = kyc_urlencode(issuer);
    char* ac = kyc_urlencode(account);
    int rc = KYC_OK;
    if (!is || !ac) {
        rc = kyc_fail(err, KYC_E_NOMEM, "out of memory");
    } else {
        size_t n = 2 * strlen(is) + strlen(ac) + strlen(secret) + 96;
        *uri = malloc(n);
        if (!*uri)
            rc = kyc_fail(err, KYC_E_NOMEM, "out of memory");
        else
            snprintf(*uri, n,
                     "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=6&period=30",
                     is, ac, secret, is);
    }
    OPENSSL_cleanse(secret, sizeof secret);
    free(is);
    free(ac);
    return rc;
}

int kyc_recovery_code_new(char out[KYC_RECOVERY_CHARS + 1], kyc_err* err)
{
    uint8_t b[15];
    char s[25];
    if (RAND_bytes(b, sizeof b) != 1)
        return kyc_fail(err, KYC_E_RANDOM, "RAND_bytes failed");
    kyc_base32_encode(b, sizeof b, s, sizeof s);
    snprintf(out, KYC_RECOVERY_CHARS + 1, "%.4s-%.4s-%.4s-%.4s-%.4s-%.4s", s, s + 4, s + 8,
             s + 12, s + 16, s + 20);
    OPENSSL_cleanse(b, sizeof b);
    OPENSSL_cleanse(s, sizeof s);
    return KYC_OK;
}

int kyc_recovery_hash(const char* code, char out[65], kyc_err* err)
{
    char norm[64];
    size_t n = 0;
    for (const char* p = code; p && *p; p++) {
        char c = *p;
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        if (n + 1 >= sizeof norm)
            return kyc_fail(err, KYC_E_INVAL, "recovery code too long");
        norm[n++] = c;
    }
    if (n == 0)
        return kyc_fail(err, KYC_E_INVAL, "empty recovery code");
    uint8_t md[32];
    unsigned int mdlen;
    if (!EVP_Digest(norm, n, md, &mdlen, EVP_sha256(), NULL))
        return kyc_fail(err, KYC_E_CRYPTO, "sha256 failed");
    kyc_hex(md, 32, out);
    return KYC_OK;
}
