/* kyc: signed provider webhooks (kyc_webhook), shared by every kind of provider, and the
 * document-check providers built on them (Onfido-, Veriff-, Sumsub-shaped), from configuration.
 * node/pay.c builds the payment provider's webhooks on the same kyc_webhook.
 *
 * The happy path of a webhook is: the provider POSTs a JSON event with an HMAC-SHA256 of the
 * raw body (or of "timestamp.body") in a header; kyc_webhook_verify recomputes it over the
 * exact bytes received, compares in constant time, and only then parses the body; the event's
 * timestamp (a header or a body field) must be within max_age_s of our clock; the event id is
 * a configured field (or the body's digest). A document provider then maps its status string
 * through the configured table to approved / declined / retry / manual_review / pending. The
 * caller deduplicates on (provider, event_id) in replicated state, so a replayed delivery is
 * processed once.
 *
 * Possible failure modes: no or wrong signature (KYC_E_WH_SIGNATURE), a replay of an old
 * delivery (KYC_E_WH_STALE: its timestamp is old; a recent replay is caught by the event id),
 * a body we cannot read (KYC_E_WH_FORMAT), a status nobody mapped (KYC_E_WH_STATUS: logged
 * and left for an operator rather than guessed). */
#include "kyc/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

/* ---- the signed webhook, shared by every provider kind ---- */

struct kyc_webhook
{
    char* name;
    uint8_t* secret;
    size_t secret_len;
    char* sig_header;
    char* sig_prefix;
    bool sig_base64;
    bool sign_ts_body; /* HMAC over "<timestamp>.<body>" */
    char* ts_header;
    char* ts_field;
    enum { TS_S, TS_MS, TS_ISO } ts_unit;
    int64_t max_age;
    char* event_id_field;
};

void kyc_webhook_free(kyc_webhook* w)
{
    if (!w)
        return;
    free(w->name);
    if (w->secret)
        OPENSSL_cleanse(w->secret, w->secret_len);
    free(w->secret);
    free(w->sig_header);
    free(w->sig_prefix);
    free(w->ts_header);
    free(w->ts_field);
    free(w->event_id_field);
    free(w);
}

const char* kyc_webhook_name(const kyc_webhook* w)
{
    return w->name;
}

/* Optional string setting; *ok false on a non-string or allocation failure. */
static char* opt_str(const json_t* cfg, const char* key, const char* dflt, bool* ok)
{
    json_t* v = json_object_get(cfg, key);
    if (v && !json_is_string(v)) {
        *ok = false;
        return NULL;
    }
    const char* s = v ? json_string_value(v) : dflt;
    if (!s)
        return NULL;
    char* d = strdup(s);
    if (!d)
        *ok = false;
    return d;
}

int kyc_webhook_new(const json_t* cfg, const char* what, kyc_webhook** out, kyc_err* err)
{
    *out = NULL;
    if (!what)
        what = "provider";
    if (!json_is_object(cfg))
        return kyc_fail(err, KYC_E_INVAL, "%s config is not an object", what);
    kyc_webhook* w = calloc(1, sizeof *w);
    if (!w)
        return kyc_fail(err, KYC_E_NOMEM, "out of memory");
    bool ok = true;
    w->name = opt_str(cfg, "name", NULL, &ok);
    char* secret = opt_str(cfg, "secret", NULL, &ok);
    w->sig_header = opt_str(cfg, "signature_header", NULL, &ok);
    w->sig_prefix = opt_str(cfg, "signature_prefix", "", &ok);
    char* enc = opt_str(cfg, "signature_encoding", "hex", &ok);
    char* payload = opt_str(cfg, "signed_payload", "body", &ok);
    w->ts_header = opt_str(cfg, "timestamp_header", NULL, &ok);
    w->ts_field = opt_str(cfg, "timestamp_field", NULL, &ok);
    char* unit = opt_str(cfg, "timestamp_unit", "s", &ok);
    w->event_id_field = opt_str(cfg, "event_id_field", NULL, &ok);
    json_t* age = json_object_get(cfg, "max_age_s");
    w->max_age = json_is_integer(age) ? (int64_t)json_integer_value(age) : 300;
    int rc = KYC_OK;
    const char* why = NULL;
    if (!ok)
        why = "a setting is not a string";
    else if (!w->name || !secret || !*secret || !w->sig_header)
        why = "name, secret, signature_header are required";
    else if (strcmp(enc, "hex") != 0 && strcmp(enc, "base64") != 0)
        why = "signature_encoding must be hex or base64";
    else if (strcmp(payload, "body") != 0 && strcmp(payload, "timestamp.body") != 0)
        why = "signed_payload must be body or timestamp.body";
    else if (strcmp(payload, "timestamp.body") == 0 && !w->ts_header)
        why = "signed_payload timestamp.body needs timestamp_header";
    else if (!w->ts_header && !w->ts_field)
        why = "timestamp_header or timestamp_field is required (freshness)";
    else if (strcmp(unit, "s") != 0 && strcmp(unit, "ms") != 0 && strcmp(unit, "iso8601") != 0)
        why = "timestamp_unit must be s, ms or iso8601";
    else if (w->max_age <= 0)
        why = "max_age_s must be positive";
    if (why) {
        rc = kyc_fail(err, KYC_E_INVAL, "%s %.40s: %s", what, w->name ? w->name : "?", why);
    } else {
        w->sig_base64 = strcmp(enc, "base64") == 0;
        w->sign_ts_body = strcmp(payload, "timestamp.body") == 0;
        w->ts_unit = strcmp(unit, "ms") == 0 ? TS_MS : strcmp(unit, "iso8601") == 0 ? TS_ISO : TS_S;
        w->secret_len = strlen(secret);
        w->secret = (uint8_t*)secret;
        secret = NULL;
    }
    if (secret)
        OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    free(enc);
    free(payload);
    free(unit);
    if (rc) {
        kyc_webhook_free(w);
        return rc;
    }
    *out = w;
    return KYC_OK;
}

static const char* header_get(const kyc_header* h, size_t n, const char* name)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].name && strcasecmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

/* Expected signature value (without prefix), hex lowercase or base64. */
static int compute_sig(const kyc_webhook* w,
                       const char* ts,
                       const void* body,
                       size_t len,
                       char* out,
                       size_t outsz,
                       kyc_err* err)
{
    uint8_t mac[32];
    unsigned int maclen = 0;
    EVP_MAC* m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX* c = m ? EVP_MAC_CTX_new(m) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    size_t ml = 0;
    bool good = c && EVP_MAC_init(c, w->secret, w->secret_len, params) &&
                (!w->sign_ts_body || (EVP_MAC_update(c, (const uint8_t*)ts, strlen(ts)) &&
                                      EVP_MAC_update(c, (const uint8_t*)".", 1))) &&
                EVP_MAC_update(c, body, len) && EVP_MAC_final(c, mac, &ml, sizeof mac);
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(m);
    maclen = (unsigned int)ml;
    if (!good || maclen != 32)
        return kyc_fail(err, KYC_E_CRYPTO, "HMAC-SHA256 failed");
    if (outsz < 65)
        return kyc_fail(err, KYC_E_INVAL, "signature buffer too small");
    if (w->sig_base64)
        EVP_EncodeBlock((unsigned char*)out, mac, 32);
    else
        kyc_hex(mac, 32, out);
    return KYC_OK;
}

int kyc_webhook_sign(const kyc_webhook* w,
                     int64_t timestamp,
                     const void* body,
                     size_t len,
                     char* out,
                     size_t outsz,
                     kyc_err* err)
{
    char ts[32], sig[96];
    snprintf(ts, sizeof ts, "%lld", (long long)timestamp);
    int rc = compute_sig(w, ts, body, len, sig, sizeof sig, err);
    if (rc)
        return rc;
    if ((size_t)snprintf(out, outsz, "%s%s", w->sig_prefix, sig) >= outsz)
        return kyc_fail(err, KYC_E_INVAL, "signature buffer too small");
    return KYC_OK;
}

/* Dotted path lookup: "verification.status". */
json_t* kyc_json_path(json_t* root, const char* dotted)
{
    char buf[256];
    if (!dotted || !kyc_copy(buf, sizeof buf, dotted))
        return NULL;
    json_t* cur = root;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, tok);
    return cur;
}

static bool parse_int(const char* s, int64_t* v)
{
    if (!s || !*s)
        return false;
    char* end;
    long long x = strtoll(s, &end, 10);
    if (*end)
        return false;
    *v = x;
    return true;
}

static bool parse_ts(const kyc_webhook* w, json_t* v, const char* s, int64_t* ts)
{
    int64_t x;
    if (w->ts_unit == TS_ISO) {
        const char* str = s ? s : json_string_value(v);
        struct tm tm = {0};
        const char* end = str ? strptime(str, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
        if (!end)
            return false;
        if (*end == '.') /* fractional seconds */
            for (end++; *end >= '0' && *end <= '9'; end++) {
            }
        if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0)
            return false;
        *ts = (int64_t)timegm(&tm);
        return true;
    }
    if (s) {
        if (!parse_int(s, &x))
            return false;
    } else if (json_is_integer(v)) {
        x = (int64_t)json_integer_value(v);
    } else if (json_is_string(v)) {
        if (!parse_int(json_string_value(v), &x))
            return false;
    } else {
        return false;
    }
    *ts = w->ts_unit == TS_MS ? x / 1000 : x;
    return true;
}

static int copy_field(json_t* root, const char* path, char* dst, size_t dstsz, kyc_err* err)
{
    json_t* v = kyc_json_path(root, path);
    if (json_is_integer(v)) {
        snprintf(dst, dstsz, "%lld", (long long)json_integer_value(v));
        return KYC_OK;
    }
    const char* s = json_string_value(v);
    if (!s || !*s)
        return kyc_fail(err, KYC_E_WH_FORMAT, "webhook field %.60s missing", path);
    if (!kyc_copy(dst, dstsz, s))
        return kyc_fail(err, KYC_E_WH_FORMAT, "webhook field %.60s too long", path);
    return KYC_OK;
}

int kyc_webhook_verify(const kyc_webhook* w,
                       const kyc_header* headers,
                       size_t nheaders,
                       const void* body,
                       size_t len,
                       int64_t now,
                       json_t** obj_out,
                       int64_t* ts_out,
                       char event_id[128],
                       kyc_err* err)
{
    if (obj_out)
        *obj_out = NULL;
    if (ts_out)
        *ts_out = 0;
    event_id[0] = '\0';
    /* 1. Signature over the raw bytes, before anything else reads them. */
    const char* got = header_get(headers, nheaders, w->sig_header);
    if (!got)
        return kyc_fail(err, KYC_E_WH_SIGNATURE, "%s: no %s header", w->name, w->sig_header);
    const char* ts_hdr = w->ts_header ? header_get(headers, nheaders, w->ts_header) : NULL;
    if (w->sign_ts_body && !ts_hdr)
        return kyc_fail(err, KYC_E_WH_SIGNATURE, "%s: no %s header", w->name, w->ts_header);
    char want[96];
    int rc = compute_sig(w, ts_hdr ? ts_hdr : "", body, len, want, sizeof want, err);
    if (rc)
        return rc;
    size_t plen = strlen(w->sig_prefix);
    if (strncmp(got, w->sig_prefix, plen) != 0)
        return kyc_fail(err, KYC_E_WH_SIGNATURE, "%s: signature lacks prefix \"%s\"", w->name,
                        w->sig_prefix);
    got += plen;
    char norm[96];
    size_t glen = strlen(got);
    if (glen != strlen(want) || glen >= sizeof norm)
        return kyc_fail(err, KYC_E_WH_SIGNATURE, "%s: signature has the wrong length", w->name);
    memcpy(norm, got, glen + 1);
    if (!w->sig_base64) /* hex may come in either case */
        for (size_t i = 0; i < glen; i++)
            if (norm[i] >= 'A' && norm[i] <= 'F')
                norm[i] = (char)(norm[i] + 32);
    if (CRYPTO_memcmp(norm, want, glen) != 0)
        return kyc_fail(err, KYC_E_WH_SIGNATURE, "%s: signature does not match the body", w->name);

    /* 2. The body, now trusted to come from the provider. */
    json_error_t je;
    json_t* j = json_loadb(body, len, 0, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        return kyc_fail(err, KYC_E_WH_FORMAT, "%s: body is not a JSON object", w->name);
    }
    /* 3. Freshness: an old delivery replayed is refused here, a recent one by the event id. */
    int64_t ts = 0;
    bool have_ts = ts_hdr ? parse_ts(w, NULL, ts_hdr, &ts)
                          : (w->ts_field && parse_ts(w, kyc_json_path(j, w->ts_field), NULL, &ts));
    if (!have_ts) {
        rc = kyc_fail(err, KYC_E_WH_STALE, "%s: timestamp missing or unreadable", w->name);
    } else if (ts < kyc_time_add(now, -w->max_age) || ts > kyc_time_add(now, w->max_age)) {
        /* The timestamp is the provider's: saturate, never overflow (INT64_MIN, 2^63 - 1). */
        rc = kyc_fail(err, KYC_E_WH_STALE, "%s: timestamp %lld is outside now %lld +- %llds",
                      w->name, (long long)ts, (long long)now, (long long)w->max_age);
    }
    /* 4. The event id. Without an event id field, the body's digest identifies the delivery. */
    if (!rc && w->event_id_field) {
        rc = copy_field(j, w->event_id_field, event_id, 128, err);
    } else if (!rc) {
        uint8_t md[32];
        unsigned int mdlen;
        if (!EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL))
            rc = kyc_fail(err, KYC_E_CRYPTO, "sha256 failed");
        else
            kyc_hex(md, 32, event_id);
    }
    if (rc) {
        event_id[0] = '\0';
        json_decref(j);
        return rc;
    }
    if (ts_out)
        *ts_out = ts;
    if (obj_out)
        *obj_out = j;
    else
        json_decref(j);
    return KYC_OK;
}

/* ---- document-check providers: the webhook plus the document-specific settings ---- */

struct kyc_doc_provider
{
    kyc_webhook* wh;
    char* ref_field;
    char* status_field;
    json_t* status_map; /* provider value -> kyc_doc_status name */
    char* session_url;
};

const char* kyc_doc_status_name(kyc_doc_status s)
{
    switch (s) {
    case KYC_DOC_PENDING:
        return "pending";
    case KYC_DOC_APPROVED:
        return "approved";
    case KYC_DOC_DECLINED:
        return "declined";
    case KYC_DOC_RETRY:
        return "retry";
    case KYC_DOC_MANUAL_REVIEW:
        return "manual_review";
    }
    return "?";
}

static bool status_from_name(const char* s, kyc_doc_status* out)
{
    for (int i = KYC_DOC_PENDING; i <= KYC_DOC_MANUAL_REVIEW; i++)
        if (strcmp(s, kyc_doc_status_name((kyc_doc_status)i)) == 0) {
            *out = (kyc_doc_status)i;
            return true;
        }
    return false;
}

void kyc_doc_provider_free(kyc_doc_provider* p)
{
    if (!p)
        return;
    kyc_webhook_free(p->wh);
    free(p->ref_field);
    free(p->status_field);
    json_decref(p->status_map);
    free(p->session_url);
    free(p);
}

const char* kyc_doc_provider_name(const kyc_doc_provider* p)
{
    return kyc_webhook_name(p->wh);
}

int kyc_doc_provider_new(const json_t* cfg, kyc_doc_provider** out, kyc_err* err)
{
    *out = NULL;
    if (!json_is_object(cfg))
        return kyc_fail(err, KYC_E_INVAL, "provider config is not an object");
    kyc_doc_provider* p = calloc(1, sizeof *p);
    if (!p)
        return kyc_fail(err, KYC_E_NOMEM, "out of memory");
    bool ok = true;
    char* name = opt_str(cfg, "name", NULL, &ok);
    char* secret = opt_str(cfg, "secret", NULL, &ok);
    char* sig_header = opt_str(cfg, "signature_header", NULL, &ok);
    p->ref_field = opt_str(cfg, "reference_field", NULL, &ok);
    p->status_field = opt_str(cfg, "status_field", NULL, &ok);
    p->session_url = opt_str(cfg, "session_url", NULL, &ok);
    json_t* map = json_object_get(cfg, "status_map");
    int rc = KYC_OK;
    const char* why = NULL;
    if (!ok)
        why = "a setting is not a string";
    else if (!name || !secret || !*secret || !sig_header || !p->status_field || !p->ref_field)
        why = "name, secret, signature_header, reference_field, status_field are required";
    if (secret)
        OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    free(sig_header);
    if (why)
        rc = kyc_fail(err, KYC_E_INVAL, "document provider %.40s: %s", name ? name : "?", why);
    /* The generic part: signature, freshness, event id. */
    if (!rc)
        rc = kyc_webhook_new(cfg, "document provider", &p->wh, err);
    if (!rc && (!json_is_object(map) || json_object_size(map) == 0))
        why = "status_map must map provider statuses";
    if (!rc && !why) {
        const char* k;
        json_t* v;
        kyc_doc_status st;
        json_object_foreach(
            map, k, v) if (!json_is_string(v) || !status_from_name(json_string_value(v), &st)) why =
            "status_map values must be approved, declined, retry, manual_review or pending";
    }
    if (!rc && why)
        rc = kyc_fail(err, KYC_E_INVAL, "document provider %.40s: %s", name, why);
    free(name);
    if (rc) {
        kyc_doc_provider_free(p);
        return rc;
    }
    p->status_map = json_incref(map);
    *out = p;
    return KYC_OK;
}

int kyc_doc_webhook_sign(const kyc_doc_provider* p,
                         int64_t timestamp,
                         const void* body,
                         size_t len,
                         char* out,
                         size_t outsz,
                         kyc_err* err)
{
    return kyc_webhook_sign(p->wh, timestamp, body, len, out, outsz, err);
}

int kyc_doc_webhook_verify(const kyc_doc_provider* p,
                           const kyc_header* headers,
                           size_t nheaders,
                           const void* body,
                           size_t len,
                           int64_t now,
                           kyc_doc_event* ev,
                           kyc_err* err)
{
    memset(ev, 0, sizeof *ev);
    json_t* j = NULL;
    int64_t ts = 0;
    char event_id[128];
    int rc = kyc_webhook_verify(p->wh, headers, nheaders, body, len, now, &j, &ts, event_id, err);
    if (rc)
        return rc;
    ev->timestamp = ts;
    memcpy(ev->event_id, event_id, sizeof ev->event_id);
    rc = copy_field(j, p->ref_field, ev->reference, sizeof ev->reference, err);
    if (!rc)
        rc = copy_field(j, p->status_field, ev->raw_status, sizeof ev->raw_status, err);
    if (!rc) {
        const char* mapped = json_string_value(json_object_get(p->status_map, ev->raw_status));
        if (!mapped || !status_from_name(mapped, &ev->status))
            rc = kyc_fail(err, KYC_E_WH_STATUS, "%s: status \"%s\" is not mapped",
                          kyc_webhook_name(p->wh), ev->raw_status);
    }
    json_decref(j);
    return rc;
}

int kyc_doc_session_start(const kyc_doc_provider* p,
                          const char* reference,
                          const char* callback,
                          long timeout_ms,
                          char** session_id,
                          char** url,
                          kyc_err* err)
{
    *session_id = NULL;
    *url = NULL;
    if (!p->session_url)
        return kyc_fail(err, KYC_E_INVAL, "%s: no session_url configured", kyc_webhook_name(p->wh));
    json_t* req = json_pack("{s:s, s:s}", "reference", reference, "callback", callback);
    char* body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        return kyc_fail(err, KYC_E_NOMEM, "out of memory");
    /* Plain http only to this machine's loopback (tests); providers are reached over https. */
    const char* u0 = p->session_url;
    bool loopback = strncmp(u0, "http://127.0.0.1", 16) == 0 && (u0[16] == ':' || u0[16] == '/');
    kyc_http_opts o = {.timeout_ms = timeout_ms, .allow_http = loopback};
    kyc_http_resp r;
    int rc = kyc_http_post_json(&o, p->session_url, body, &r, err);
    free(body);
    if (rc)
        return rc;
    json_error_t je;
    json_t* j = json_loadb(r.body, r.len, 0, &je);
    const char* id = json_string_value(json_object_get(j, "id"));
    const char* u = json_string_value(json_object_get(j, "url"));
    if (r.status != 200 && r.status != 201)
        rc = kyc_fail(err, KYC_E_HTTP_STATUS, "%s: session: HTTP %ld", kyc_webhook_name(p->wh), r.status);
    else if (!id || !u)
        rc = kyc_fail(err, KYC_E_RESPONSE, "%s: session answer lacks id or url", kyc_webhook_name(p->wh));
    else if (!(*session_id = strdup(id)) || !(*url = strdup(u))) {
        free(*session_id);
        *session_id = NULL;
        rc = kyc_fail(err, KYC_E_NOMEM, "out of memory");
    }
    json_decref(j);
    kyc_http_resp_clear(&r);
    return rc;
}
