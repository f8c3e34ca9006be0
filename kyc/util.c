/* kyc: error names, CSPRNG tokens, base64url, hex, URL encoding and a small blocking HTTP
 * client over libcurl (every call bounded by a timeout, body capped, no redirects followed). */
#include "kyc/internal.h"
#include "common/hex.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/rand.h>

const char* kyc_strerror(int code)
{
    switch (code) {
    case KYC_OK:
        return "ok";
    case KYC_E_NOMEM:
        return "out of memory";
    case KYC_E_INVAL:
        return "invalid argument";
    case KYC_E_RANDOM:
        return "random generator failure";
    case KYC_E_CRYPTO:
        return "crypto failure";
    case KYC_E_IO:
        return "i/o error";
    case KYC_E_HTTP:
        return "http transport error";
    case KYC_E_TIMEOUT:
        return "timeout";
    case KYC_E_HTTP_STATUS:
        return "unexpected http status";
    case KYC_E_RESPONSE:
        return "malformed response";
    case KYC_E_DISCOVERY:
        return "discovery document unusable";
    case KYC_E_STATE:
        return "state mismatch";
    case KYC_E_PROVIDER:
        return "provider returned an error";
    case KYC_E_ISS_PARAM:
        return "callback issuer mismatch";
    case KYC_E_GRANT:
        return "authorization code refused";
    case KYC_E_JWT_FORMAT:
        return "malformed jwt";
    case KYC_E_JWT_ALG:
        return "jwt algorithm not allowed";
    case KYC_E_JWT_KEY:
        return "no key for jwt";
    case KYC_E_JWT_SIGNATURE:
        return "jwt signature invalid";
    case KYC_E_JWT_ISS:
        return "jwt issuer mismatch";
    case KYC_E_JWT_AUD:
        return "jwt audience mismatch";
    case KYC_E_JWT_EXPIRED:
        return "jwt expired";
    case KYC_E_JWT_IAT:
        return "jwt issued-at invalid";
    case KYC_E_JWT_NONCE:
        return "jwt nonce mismatch";
    case KYC_E_JWT_ACR:
        return "jwt acr insufficient";
    case KYC_E_JWT_SUB:
        return "jwt subject mismatch";
    case KYC_E_USERINFO_UNSIGNED:
        return "userinfo not signed";
    case KYC_E_JWT_LIFETIME:
        return "jwt lifetime too long";
    case KYC_E_IDENTITY:
        return "identity claims invalid";
    case KYC_E_BIRTHDATE:
        return "birth date invalid";
    case KYC_E_MINOR:
        return "under 18";
    case KYC_E_PW_LENGTH:
        return "password length";
    case KYC_E_PW_BREACHED:
        return "password breached";
    case KYC_E_PW_MISMATCH:
        return "password mismatch";
    case KYC_E_PW_HASH:
        return "password hash invalid";
    case KYC_E_TOTP_FORMAT:
        return "totp format";
    case KYC_E_TOTP_MISMATCH:
        return "totp mismatch";
    case KYC_E_TOTP_REUSED:
        return "totp code already used";
    case KYC_E_WH_SIGNATURE:
        return "webhook signature invalid";
    case KYC_E_WH_STALE:
        return "webhook timestamp stale";
    case KYC_E_WH_FORMAT:
        return "webhook body malformed";
    case KYC_E_WH_STATUS:
        return "webhook status unknown";
    }
    return "unknown error";
}

int kyc_fail(kyc_err* err, int code, const char* fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int64_t kyc_time_add(int64_t a, int64_t b)
{
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

int kyc_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? KYC_OK : KYC_E_HTTP;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t kyc_b64url_encode(const uint8_t* in, size_t n, char* out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
    return o;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

long kyc_b64url_decode(const char* in, size_t n, uint8_t* out, size_t outsz)
{
    while (n > 0 && in[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outsz)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)o;
}

void kyc_hex(const uint8_t* in, size_t n, char* out)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[in[i] >> 4];
        out[2 * i + 1] = h[in[i] & 15];
    }
    out[2 * n] = '\0';
}

bool kyc_copy(char* dst, size_t dstsz, const char* src)
{
    size_t n = strlen(src);
    if (n >= dstsz)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

int kyc_random_token(char out[KYC_TOKEN_CHARS + 1], kyc_err* err)
{
    uint8_t b[32];
    if (RAND_bytes(b, sizeof b) != 1)
        return kyc_fail(err, KYC_E_RANDOM, "RAND_bytes failed");
    kyc_b64url_encode(b, sizeof b, out);
    return KYC_OK;
}

char* kyc_urlencode(const char* s)
{
    size_t n = strlen(s);
    char* out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out[o++] = (char)c;
        } else {
            snprintf(out + o, 4, "%%%02X", c);
            o += 3;
        }
    }
    out[o] = '\0';
    return out;
}

char* kyc_query_get(const char* query, const char* key)
{
    size_t klen = strlen(key);
    const char* p = query;
    while (p && *p) {
        const char* end = strchr(p, '&');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        if (plen > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            const char* v = p + klen + 1;
            size_t vlen = plen - klen - 1;
            char* out = malloc(vlen + 1);
            if (!out)
                return NULL;
            size_t o = 0;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] == '+') {
                    out[o++] = ' ';
                } else if (v[i] == '%' && i + 2 < vlen && hex_digit((unsigned char)v[i + 1]) >= 0 &&
                           hex_digit((unsigned char)v[i + 2]) >= 0) {
                    out[o++] = (char)(hex_digit((unsigned char)v[i + 1]) * 16 +
                                      hex_digit((unsigned char)v[i + 2]));
                    i += 2;
                } else {
                    out[o++] = v[i];
                }
            }
            out[o] = '\0';
            return out;
        }
        if (plen == klen && strncmp(p, key, klen) == 0)
            return strdup("");
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

/* ---- HTTP ---- */

#define KYC_HTTP_MAX_BODY (1u << 20)

typedef struct
{
    char* buf;
    size_t len;
    bool overflow;
} body_buf;

static size_t on_body(char* ptr, size_t size, size_t nmemb, void* ud)
{
    body_buf* b = ud;
    size_t n = size * nmemb;
    if (b->len + n > KYC_HTTP_MAX_BODY) {
        b->overflow = true;
        return 0;
    }
    char* nb = realloc(b->buf, b->len + n + 1);
    if (!nb)
        return 0;
    b->buf = nb;
    memcpy(b->buf + b->len, ptr, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return n;
}

static int http_do(const kyc_http_opts* o,
                   const char* url,
                   const char* bearer,
                   const char* idem,
                   const char* post,
                   const char* post_type,
                   kyc_http_resp* r,
                   kyc_err* err)
{
    memset(r, 0, sizeof *r);
    bool https = strncmp(url, "https://", 8) == 0;
    bool http = strncmp(url, "http://", 7) == 0;
    if (!https && !(http && o->allow_http))
        return kyc_fail(err, KYC_E_INVAL, "refusing url scheme of %.120s", url);
    CURL* c = curl_easy_init();
    if (!c)
        return kyc_fail(err, KYC_E_NOMEM, "curl_easy_init failed");
    struct curl_slist* hdrs = NULL;
    char auth[4200];
    body_buf b = {0};
    int rc = KYC_OK;
    if (bearer) {
        if ((size_t)snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer) >=
            sizeof auth) {
            rc = kyc_fail(err, KYC_E_INVAL, "access token too long");
            goto out;
        }
        hdrs = curl_slist_append(hdrs, auth);
    }
    if (idem) {
        char ik[300];
        if (strpbrk(idem, "\r\n") ||
            (size_t)snprintf(ik, sizeof ik, "Idempotency-Key: %s", idem) >= sizeof ik) {
            rc = kyc_fail(err, KYC_E_INVAL, "idempotency key too long or not one line");
            goto out;
        }
        hdrs = curl_slist_append(hdrs, ik);
    }
    if (post) {
        char ct[96];
        snprintf(ct, sizeof ct, "Content-Type: %s", post_type);
        hdrs = curl_slist_append(hdrs, ct);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/json, application/jwt");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, o->allow_http ? "http,https" : "https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (o->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = kyc_fail(err, KYC_E_TIMEOUT, "%s %.120s: no answer within %ld ms",
                      post ? "POST" : "GET", url, o->timeout_ms > 0 ? o->timeout_ms : 10000L);
        goto out;
    }
    if (cc == CURLE_WRITE_ERROR && b.overflow) {
        rc = kyc_fail(err, KYC_E_RESPONSE, "%.120s: response larger than %u bytes", url,
                      KYC_HTTP_MAX_BODY);
        goto out;
    }
    if (cc != CURLE_OK) {
        rc = kyc_fail(err, KYC_E_HTTP, "%s %.120s: %s", post ? "POST" : "GET", url,
                      curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    char* ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct)
        snprintf(r->content_type, sizeof r->content_type, "%s", ct);
    if (!b.buf) {
        b.buf = calloc(1, 1);
        if (!b.buf) {
            rc = kyc_fail(err, KYC_E_NOMEM, "out of memory");
            goto out;
        }
    }
    r->body = b.buf;
    r->len = b.len;
    b.buf = NULL;
out:
    free(b.buf);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return rc;
}

int kyc_http_get(const kyc_http_opts* o,
                 const char* url,
                 const char* bearer,
                 kyc_http_resp* r,
                 kyc_err* err)
{
    return http_do(o, url, bearer, NULL, NULL, NULL, r, err);
}

int kyc_http_post_form(const kyc_http_opts* o,
                       const char* url,
                       const char* form,
                       kyc_http_resp* r,
                       kyc_err* err)
{
    return http_do(o, url, NULL, NULL, form, "application/x-www-form-urlencoded", r, err);
}

int kyc_http_post_json(const kyc_http_opts* o,
                       const char* url,
                       const char* json,
                       kyc_http_resp* r,
                       kyc_err* err)
{
    return http_do(o, url, NULL, NULL, json, "application/json", r, err);
}

int kyc_http_post_json_auth(const kyc_http_opts* o,
                            const char* url,
                            const char* bearer,
                            const char* idem,
                            const char* json,
                            kyc_http_resp* r,
                            kyc_err* err)
{
    return http_do(o, url, bearer, idem, json, "application/json", r, err);
}

void kyc_http_resp_clear(kyc_http_resp* r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}
