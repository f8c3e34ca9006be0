/* The payment provider: see pay.h for the story. */
#include "node/pay.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pay_provider {
    char name[64];
    char api_url[256];
    char api_key[256];
    char currency[8];
    char webhook_url[256];
    char payments_path[64], payouts_path[64];
    kyc_doc_provider *verifier; /* the shared webhook verifier, set up for this provider */
    char f_amount[64], f_object[64], f_account[64];
    json_t *types; /* provider type -> our kind name */
};

static const char *const KINDS[] = {NULL,          "payment_succeeded", "payment_failed",
                                    "payment_refunded", "chargeback", "payout_paid",
                                    "payout_failed"};

const char *pay_event_kind_name(enum pay_event_kind k)
{
    return k >= PAY_PAYMENT_SUCCEEDED && k <= PAY_PAYOUT_FAILED ? KINDS[k] : "unknown";
}

const char *pay_provider_name(const struct pay_provider *p)
{
    return p->name;
}

const char *pay_provider_webhook_url(const struct pay_provider *p)
{
    return p->webhook_url;
}

void pay_provider_free(struct pay_provider *p)
{
    if (!p)
        return;
    OPENSSL_cleanse(p->api_key, sizeof p->api_key);
    kyc_doc_provider_free(p->verifier);
    json_decref(p->types);
    free(p);
}

/* A secret from a file only the owner can read (trailing newline dropped). */
static int read_secret(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot read %s", path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (st.st_mode & 077) {
        close(fd);
        snprintf(err, errlen, "%s must not be readable by group or others (chmod 600)", path);
        return -1;
    }
    ssize_t n = read(fd, out, cap - 1);
    close(fd);
    if (n < 0)
        n = 0;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        n--;
    out[n] = 0;
    if (n == 0) {
        snprintf(err, errlen, "%s is empty", path);
        return -1;
    }
    return 0;
}

static const char *str_or(const json_t *o, const char *k, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : dflt;
}

static bool url_ok(const char *u)
{
    return !strncmp(u, "https://", 8) ||
           (!strncmp(u, "http://127.0.0.1", 16) && (u[16] == ':' || u[16] == '/' || !u[16]));
}

int pay_provider_new(const json_t *cfg, struct pay_provider **out, char *err, size_t errlen)
{
    *out = NULL;
    struct pay_provider *p = calloc(1, sizeof *p);
    const json_t *wh = json_object_get(cfg, "webhook"), *fields = json_object_get(cfg, "fields");
    const char *name = str_or(cfg, "name", NULL), *api = str_or(cfg, "api_url", NULL),
               *keyf = str_or(cfg, "api_key_file", NULL);
    char secret[256] = "";
    const char *why = NULL;
    if (!json_is_object(cfg))
        why = "must be an object";
    else if (!name || !*name || strlen(name) >= sizeof p->name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(name))
        why = "name (a-z 0-9 _ -) is required";
    else if (!api || strlen(api) >= sizeof p->api_url || !url_ok(api))
        why = "api_url must be an https:// URL (http only to 127.0.0.1)";
    else if (!keyf)
        why = "api_key_file is required";
    else if (!json_is_object(wh))
        why = "webhook (the signature settings) is required";
    if (why) {
        snprintf(err, errlen, "%s", why);
        free(p);
        return -1;
    }
    if (read_secret(keyf, p->api_key, sizeof p->api_key, err, errlen)) {
        free(p);
        return -1;
    }
    const char *sf = str_or(wh, "secret_file", NULL);
    if (sf ? read_secret(sf, secret, sizeof secret, err, errlen)
           : snprintf(secret, sizeof secret, "%s", str_or(wh, "secret", "")) <= 0) {
        if (!sf)
            snprintf(err, errlen, "webhook: secret_file (or secret) is required");
        pay_provider_free(p);
        return -1;
    }
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->api_url, sizeof p->api_url, "%s", api);
    snprintf(p->currency, sizeof p->currency, "%s", str_or(cfg, "currency", "EUR"));
    snprintf(p->webhook_url, sizeof p->webhook_url, "%s", str_or(cfg, "webhook_url", ""));
    snprintf(p->payments_path, sizeof p->payments_path, "%s",
             str_or(cfg, "payments_path", "/v1/payments"));
    snprintf(p->payouts_path, sizeof p->payouts_path, "%s",
             str_or(cfg, "payouts_path", "/v1/payouts"));
    snprintf(p->f_amount, sizeof p->f_amount, "%s", str_or(fields, "amount", "data.object.amount"));
    snprintf(p->f_object, sizeof p->f_object, "%s", str_or(fields, "object_id", "data.object.id"));
    snprintf(p->f_account, sizeof p->f_account, "%s",
             str_or(fields, "account", "data.object.account"));
    p->types = json_object_get(cfg, "types") ? json_deep_copy(json_object_get(cfg, "types"))
                                             : json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
                                                         "payment.succeeded", "payment_succeeded",
                                                         "payment.failed", "payment_failed",
                                                         "payment.refunded", "payment_refunded",
                                                         "payment.chargeback", "chargeback",
                                                         "payout.paid", "payout_paid",
                                                         "payout.failed", "payout_failed");
    /* The document-check verifier, pointed at this provider's headers and fields: the event
     * type is its "status" (every type maps to "pending"; pay_webhook_read maps it to ours). */
    json_t *map = json_object(), *v;
    const char *k;
    json_object_foreach(p->types, k, v) json_object_set_new(map, k, json_string("pending"));
    json_t *vc = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I}", "name", name, "secret", secret,
        "signature_header", str_or(wh, "signature_header", "x-pay-signature"), "signature_prefix",
        str_or(wh, "signature_prefix", "v1="), "signed_payload",
        str_or(wh, "signed_payload", "timestamp.body"), "timestamp_header",
        str_or(wh, "timestamp_header", "x-pay-timestamp"), "event_id_field",
        str_or(fields, "event_id", "id"), "reference_field",
        str_or(fields, "reference", "data.object.reference"), "status_field",
        str_or(fields, "type", "type"), "status_map", map, "max_age_s",
        (json_int_t)(json_is_integer(json_object_get(wh, "max_age_s"))
                         ? json_integer_value(json_object_get(wh, "max_age_s"))
                         : 300));
    OPENSSL_cleanse(secret, sizeof secret);
    kyc_err kerr = {0};
    int rv = kyc_doc_provider_new(vc, &p->verifier, &kerr);
    json_t *s = json_object_get(vc, "secret");
    if (s)
        json_string_set(s, "");
    json_decref(vc);
    if (rv != KYC_OK) {
        snprintf(err, errlen, "webhook: %s", kerr.msg);
        pay_provider_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

/* ---- the provider's API (blocking, on a worker thread) ---- */

struct buf {
    char *data;
    size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
    struct buf *b = ud;
    size_t add = size * n;
    if (b->len + add > 65536)
        return 0;
    char *d = realloc(b->data, b->len + add + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, ptr, add);
    b->data = d;
    b->len += add;
    d[b->len] = 0;
    return add;
}

/* POST @body (JSON) to @path with the API key and @idem; the answer's JSON object. */
static json_t *post(const struct pay_provider *p, const char *path, json_t *body,
                    const char *idem, long timeout_ms, char *err, size_t errlen)
{
    char url[512], auth[300], key[300];
    snprintf(url, sizeof url, "%s%s", p->api_url, path);
    snprintf(auth, sizeof auth, "authorization: Bearer %s", p->api_key);
    snprintf(key, sizeof key, "idempotency-key: %s", idem);
    char *text = json_dumps(body, JSON_COMPACT);
    struct buf b = {0};
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "content-type: application/json");
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, key);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    OPENSSL_cleanse(auth, sizeof auth);
    curl_easy_cleanup(c);
    free(text);
    json_t *j = b.data ? json_loads(b.data, 0, NULL) : NULL;
    free(b.data);
    if (rc != CURLE_OK)
        snprintf(err, errlen, "%s: %s", p->name, curl_easy_strerror(rc));
    else if (status < 200 || status > 299)
        snprintf(err, errlen, "%s: HTTP %ld", p->name, status);
    else if (!json_is_object(j))
        snprintf(err, errlen, "%s: the answer is not a JSON object", p->name);
    else
        return j;
    json_decref(j);
    return NULL;
}

int pay_payment_create(const struct pay_provider *p, int64_t amount_cents, const char *reference,
                       const char *callback, const char *return_url, const char *idem,
                       long timeout_ms, char **id, char **url, char *err, size_t errlen)
{
    *id = *url = NULL;
    json_t *body = json_pack("{s:I, s:s, s:s, s:s}", "amount", (json_int_t)amount_cents,
                             "currency", p->currency, "reference", reference, "callback",
                             callback);
    if (return_url)
        json_object_set_new(body, "return_url", json_string(return_url));
    json_t *j = post(p, p->payments_path, body, idem, timeout_ms, err, errlen);
    json_decref(body);
    const char *i = json_string_value(json_object_get(j, "id")),
               *u = json_string_value(json_object_get(j, "url"));
    int rv = -1;
    if (j && (!i || !u))
        snprintf(err, errlen, "%s: the payment has no id or url", p->name);
    else if (j) {
        *id = strdup(i);
        *url = strdup(u);
        rv = 0;
    }
    json_decref(j);
    return rv;
}

int pay_payout_create(const struct pay_provider *p, int64_t amount_cents, const char *account,
                      const char *reference, const char *callback, const char *idem,
                      long timeout_ms, char **id, char *err, size_t errlen)
{
    *id = NULL;
    json_t *body = json_pack("{s:I, s:s, s:s, s:s, s:s}", "amount", (json_int_t)amount_cents,
                             "currency", p->currency, "account", account, "reference", reference,
                             "callback", callback);
    json_t *j = post(p, p->payouts_path, body, idem, timeout_ms, err, errlen);
    json_decref(body);
    const char *i = json_string_value(json_object_get(j, "id"));
    int rv = -1;
    if (j && !i)
        snprintf(err, errlen, "%s: the payout has no id", p->name);
    else if (j) {
        *id = strdup(i);
        rv = 0;
    }
    json_decref(j);
    return rv;
}

/* ---- webhooks ---- */

static json_t *path_get(json_t *root, const char *path)
{
    char b[64];
    snprintf(b, sizeof b, "%s", path);
    json_t *cur = root;
    for (char *save = NULL, *t = strtok_r(b, ".", &save); t && cur; t = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, t);
    return cur;
}

int pay_webhook_read(const struct pay_provider *p, const kyc_header *h, size_t nh,
                     const void *body, size_t len, int64_t now, struct pay_event *ev, char *err,
                     size_t errlen)
{
    memset(ev, 0, sizeof *ev);
    kyc_doc_event de;
    kyc_err kerr = {0};
    int rv = kyc_doc_webhook_verify(p->verifier, h, nh, body, len, now, &de, &kerr);
    if (rv != KYC_OK) {
        snprintf(err, errlen, "%s: %s", kyc_strerror(rv), kerr.msg);
        return rv == KYC_E_WH_SIGNATURE || rv == KYC_E_WH_STALE ? 401
               : rv == KYC_E_WH_STATUS                          ? 422
                                                                : 400;
    }
    /* Signed by the provider: the rest of the body can be read. */
    const char *kind = json_string_value(json_object_get(p->types, de.raw_status));
    for (int k = PAY_PAYMENT_SUCCEEDED; kind && k <= PAY_PAYOUT_FAILED; k++)
        if (!strcmp(kind, KINDS[k]))
            ev->kind = (enum pay_event_kind)k;
    if (!ev->kind) {
        snprintf(err, errlen, "%s: event type '%s' is not mapped", p->name, de.raw_status);
        return 422;
    }
    json_t *j = json_loadb(body, len, 0, NULL);
    json_t *amt = path_get(j, p->f_amount);
    const char *obj = json_string_value(path_get(j, p->f_object)),
               *acct = json_string_value(path_get(j, p->f_account));
    rv = 0;
    if (!json_is_integer(amt) || json_integer_value(amt) < 0 || !obj || strlen(obj) >= 128) {
        snprintf(err, errlen, "%s: the event lacks %s or %s", p->name, p->f_amount, p->f_object);
        rv = 400;
    } else {
        ev->amount = (int64_t)json_integer_value(amt);
        snprintf(ev->object_id, sizeof ev->object_id, "%s", obj);
        snprintf(ev->account, sizeof ev->account, "%s", acct && strlen(acct) < 128 ? acct : "");
        snprintf(ev->event_id, sizeof ev->event_id, "%s", de.event_id);
        snprintf(ev->reference, sizeof ev->reference, "%s", de.reference);
        ev->ts = de.timestamp;
    }
    json_decref(j);
    return rv;
}
