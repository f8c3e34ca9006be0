/* The payment provider client: settings, the two create calls, webhooks into events (pay.h). */
#include "node/pay.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "node/config.h"

struct pay_provider {
    char name[64];
    char api_url[512]; /* without a trailing '/' */
    char api_key[1024];
    char webhook_url[256]; /* the base URL the provider calls back, "" = the node's own */
    char currency[4];
    char payments_path[128];
    char payouts_path[128];
    bool allow_http; /* api_url is http://127.0.0.1 (tests, make run) */
    kyc_webhook *wh;
    char f_type[128], f_object_id[128], f_reference[128], f_amount[128], f_account[128];
    json_t *types; /* provider's type -> pay_event_kind name */
};

static const char *const kind_names[] = {NULL,          "payment_succeeded", "payment_failed",
                                         "payment_refunded", "chargeback",   "payout_paid",
                                         "payout_failed"};

const char *pay_event_kind_name(enum pay_event_kind k)
{
    return k >= PAY_PAYMENT_SUCCEEDED && k <= PAY_PAYOUT_FAILED ? kind_names[k] : "?";
}

static int kind_from_name(const char *s)
{
    for (int k = PAY_PAYMENT_SUCCEEDED; k <= PAY_PAYOUT_FAILED; k++)
        if (s && !strcmp(s, kind_names[k]))
            return k;
    return 0;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

void pay_provider_free(struct pay_provider *p)
{
    if (!p)
        return;
    kyc_webhook_free(p->wh);
    json_decref(p->types);
    OPENSSL_cleanse(p->api_key, sizeof p->api_key);
    free(p);
}

const char *pay_provider_name(const struct pay_provider *p)
{
    return p->name;
}

const char *pay_provider_webhook_url(const struct pay_provider *p)
{
    return p->webhook_url;
}

/* A string setting of @obj into @dst (default @dflt, NULL = required); -1 with a message. */
static int str_setting(const json_t *obj, const char *where, const char *key, const char *dflt,
                       char *dst, size_t cap, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    const char *s = v ? json_string_value(v) : dflt;
    if (v && !json_is_string(v))
        return fail(err, errlen, "%s%s must be a string", where, key);
    if (!s || !*s)
        return fail(err, errlen, "%s%s is required", where, key);
    if (strlen(s) >= cap)
        return fail(err, errlen, "%s%s is longer than %zu bytes", where, key, cap - 1);
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

/* Every key of @obj is one of @known. */
static int known_keys(const json_t *obj, const char *where, const char *const *known, char *err,
                      size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        for (const char *const *k = known; *k; k++)
            ok |= !strcmp(*k, key);
        if (!ok)
            return fail(err, errlen, "%sunknown setting '%s'", where, key);
    }
    return 0;
}

/* An owner-only key file's content (config_read_key_file), at least one character. */
static int key_file(const char *key, const char *path, char *buf, size_t cap, char *err,
                    size_t errlen)
{
    char e[512];
    if (config_read_key_file(key, path, true, buf, cap, e, sizeof e))
        return fail(err, errlen, "%s", e);
    if (!buf[0])
        return fail(err, errlen, "key '%s': %s is empty", key, path);
    if (strlen(buf) >= cap - 1)
        return fail(err, errlen, "key '%s': %s holds more than %zu bytes", key, path, cap - 2);
    return 0;
}

/* The webhook settings for kyc_webhook_new: the stand-in's shape where a key is missing, the
 * provider's name, and the secret read from secret_file if that is how it is given. */
static json_t *webhook_settings(const json_t *wh, const char *name, char *err, size_t errlen)
{
    static const char *const known[] = {
        "secret", "secret_file", "signature_header", "signature_prefix", "signature_encoding",
        "signed_payload", "timestamp_header", "timestamp_field", "timestamp_unit", "max_age_s",
        "event_id_field", NULL};
    if (!json_is_object(wh)) {
        fail(err, errlen, "webhook must be an object with the secret or secret_file");
        return NULL;
    }
    if (known_keys(wh, "webhook: ", known, err, errlen))
        return NULL;
    json_t *w = json_deep_copy(wh);
    if (!w) {
        fail(err, errlen, "out of memory");
        return NULL;
    }
    json_object_set_new(w, "name", json_string(name));
    bool custom_ts = json_object_get(wh, "timestamp_header") || json_object_get(wh, "timestamp_field");
    static const char *const dflt[][2] = {{"signature_header", "x-pay-signature"},
                                          {"signature_prefix", "v1="},
                                          {"signed_payload", "timestamp.body"},
                                          {"event_id_field", "id"}};
    for (size_t i = 0; i < sizeof dflt / sizeof *dflt; i++)
        if (!json_object_get(w, dflt[i][0]))
            json_object_set_new(w, dflt[i][0], json_string(dflt[i][1]));
    if (!custom_ts)
        json_object_set_new(w, "timestamp_header", json_string("x-pay-timestamp"));
    json_t *sf = json_object_get(wh, "secret_file");
    if (sf && json_object_get(wh, "secret")) {
        fail(err, errlen, "webhook: give secret or secret_file, not both");
        json_decref(w);
        return NULL;
    }
    if (sf) {
        char secret[512];
        if (!json_is_string(sf)) {
            fail(err, errlen, "webhook: secret_file must be a path");
            json_decref(w);
            return NULL;
        }
        if (key_file("payments.webhook.secret_file", json_string_value(sf), secret, sizeof secret,
                     err, errlen)) {
            json_decref(w);
            return NULL;
        }
        json_object_set_new(w, "secret", json_string(secret));
        OPENSSL_cleanse(secret, sizeof secret);
        json_object_del(w, "secret_file");
    }
    return w;
}

int pay_provider_new(const json_t *cfg, struct pay_provider **out, char *err, size_t errlen)
{
    static const char *const known[] = {"name", "api_url", "api_key_file", "currency",
                                        "payments_path", "payouts_path", "webhook", "fields",
                                        "types", "webhook_url", NULL};
    static const char *const fields[][2] = {{"type", "type"},
                                            {"object_id", "data.object.id"},
                                            {"reference", "data.object.reference"},
                                            {"amount", "data.object.amount"},
                                            {"account", "data.object.account"},
                                            {NULL, NULL}};
    static const char *const field_keys[] = {"type", "object_id", "reference", "amount",
                                             "account", NULL};
    static const char *const types[][2] = {{"payment.succeeded", "payment_succeeded"},
                                           {"payment.failed", "payment_failed"},
                                           {"payment.refunded", "payment_refunded"},
                                           {"payment.chargeback", "chargeback"},
                                           {"payout.paid", "payout_paid"},
                                           {"payout.failed", "payout_failed"}};
    *out = NULL;
    if (!json_is_object(cfg))
        return fail(err, errlen, "the payment provider's settings must be an object");
    struct pay_provider *p = calloc(1, sizeof *p);
    if (!p)
        return fail(err, errlen, "out of memory");
    json_t *whs = NULL;
    char key_path[512];
    if (known_keys(cfg, "", known, err, errlen) ||
        str_setting(cfg, "", "name", "standin", p->name, sizeof p->name, err, errlen) ||
        str_setting(cfg, "", "api_url", NULL, p->api_url, sizeof p->api_url, err, errlen) ||
        str_setting(cfg, "", "api_key_file", NULL, key_path, sizeof key_path, err, errlen) ||
        str_setting(cfg, "", "currency", "EUR", p->currency, sizeof p->currency, err, errlen) ||
        str_setting(cfg, "", "payments_path", "/v1/payments", p->payments_path,
                    sizeof p->payments_path, err, errlen) ||
        str_setting(cfg, "", "payouts_path", "/v1/payouts", p->payouts_path,
                    sizeof p->payouts_path, err, errlen))
        goto bad;
    /* The provider is reached over https; plain http only to this machine's loopback. */
    const char *u = p->api_url;
    p->allow_http = !strncmp(u, "http://127.0.0.1", 16) && (u[16] == ':' || u[16] == '/' || !u[16]);
    if (strncmp(u, "https://", 8) != 0 && !p->allow_http) {
        fail(err, errlen, "api_url must be https:// (http:// only to 127.0.0.1)");
        goto bad;
    }
    for (size_t n = strlen(p->api_url); n > 8 && p->api_url[n - 1] == '/'; n--)
        p->api_url[n - 1] = 0;
    if (strlen(p->currency) != 3 || p->currency[0] < 'A' || p->currency[0] > 'Z' ||
        p->currency[1] < 'A' || p->currency[1] > 'Z' || p->currency[2] < 'A' ||
        p->currency[2] > 'Z') {
        fail(err, errlen, "currency must be an ISO 4217 code such as EUR");
        goto bad;
    }
    if (p->payments_path[0] != '/' || p->payouts_path[0] != '/') {
        fail(err, errlen, "payments_path and payouts_path must start with '/'");
        goto bad;
    }
    json_t *wu = json_object_get(cfg, "webhook_url");
    if (wu && (!json_is_string(wu) || json_string_length(wu) >= sizeof p->webhook_url ||
               (strncmp(json_string_value(wu), "https://", 8) != 0 &&
                strncmp(json_string_value(wu), "http://", 7) != 0))) {
        fail(err, errlen, "webhook_url must be an http:// or https:// base URL of at most %zu "
                          "bytes", sizeof p->webhook_url - 1);
        goto bad;
    }
    if (wu)
        snprintf(p->webhook_url, sizeof p->webhook_url, "%s", json_string_value(wu));
    for (size_t n = strlen(p->webhook_url); n > 0 && p->webhook_url[n - 1] == '/'; n--)
        p->webhook_url[n - 1] = 0;
    /* Field paths. */
    json_t *f = json_object_get(cfg, "fields");
    if (f && !json_is_object(f)) {
        fail(err, errlen, "fields must be an object of dotted paths");
        goto bad;
    }
    if (f && known_keys(f, "fields: ", field_keys, err, errlen))
        goto bad;
    char *const dst[] = {p->f_type, p->f_object_id, p->f_reference, p->f_amount, p->f_account};
    for (size_t i = 0; fields[i][0]; i++)
        if (str_setting(f, "fields: ", fields[i][0], fields[i][1], dst[i], sizeof p->f_type, err,
                        errlen))
            goto bad;
    /* The event types. */
    json_t *t = json_object_get(cfg, "types");
    if (t) {
        const char *k;
        json_t *v;
        if (!json_is_object(t) || !json_object_size(t)) {
            fail(err, errlen, "types must map the provider's event types to payment_succeeded, "
                              "payment_failed, payment_refunded, chargeback, payout_paid or "
                              "payout_failed");
            goto bad;
        }
        json_object_foreach(t, k, v) {
            if (!kind_from_name(json_string_value(v))) {
                fail(err, errlen, "types: '%.60s' must map to payment_succeeded, "
                                  "payment_failed, payment_refunded, chargeback, payout_paid or "
                                  "payout_failed", k);
                goto bad;
            }
        }
        p->types = json_deep_copy(t);
    } else {
        p->types = json_object();
        for (size_t i = 0; p->types && i < sizeof types / sizeof *types; i++)
            json_object_set_new(p->types, types[i][0], json_string(types[i][1]));
    }
    if (!p->types) {
        fail(err, errlen, "out of memory");
        goto bad;
    }
    /* The webhook: the shared verifier. */
    whs = webhook_settings(json_object_get(cfg, "webhook"), p->name, err, errlen);
    if (!whs)
        goto bad;
    kyc_err ke = {0};
    if (kyc_webhook_new(whs, "payment provider", &p->wh, &ke)) {
        fail(err, errlen, "webhook: %s", ke.msg);
        goto bad;
    }
    /* Last, the API key: read once, never logged. */
    if (key_file("payments.api_key_file", key_path, p->api_key, sizeof p->api_key, err, errlen))
        goto bad;
    if (strpbrk(p->api_key, "\r\n")) {
        fail(err, errlen, "key 'payments.api_key_file': %s must hold one line", key_path);
        goto bad;
    }
    json_t *sec = json_object_get(whs, "secret");
    if (json_is_string(sec))
        OPENSSL_cleanse((void *)json_string_value(sec), json_string_length(sec));
    json_decref(whs);
    *out = p;
    return 0;
bad:
    if (whs) {
        json_t *s = json_object_get(whs, "secret");
        if (json_is_string(s))
            OPENSSL_cleanse((void *)json_string_value(s), json_string_length(s));
    }
    json_decref(whs);
    pay_provider_free(p);
    return -1;
}

int pay_create_answer_read(const char *name, const char *what, long status, const void *body,
                           size_t len, bool want_url, char **id, char **url, char *err,
                           size_t errlen)
{
    *id = NULL;
    if (url)
        *url = NULL;
    if (want_url && !url)
        return fail(err, errlen, "%s: %s: no place for the url", name, what);
    json_t *j = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
    const char *pid = json_string_value(json_object_get(j, "id"));
    const char *purl = json_string_value(json_object_get(j, "url"));
    int rc = -1;
    if (status != 200 && status != 201) {
        const char *why = json_string_value(json_object_get(j, "error"));
        if (!why)
            why = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        fail(err, errlen, "%s: %s: HTTP %ld%s%.160s", name, what, status, why ? ": " : "",
             why ? why : "");
    } else if (!pid || !*pid || (want_url && (!purl || !*purl))) {
        fail(err, errlen, "%s: %s: the answer lacks the %s", name, what,
             want_url ? "id or url" : "id");
    } else if (!(*id = strdup(pid)) || (want_url && !(*url = strdup(purl)))) {
        free(*id);
        *id = NULL;
        fail(err, errlen, "%s: out of memory", name);
    } else {
        rc = 0;
    }
    json_decref(j);
    return rc;
}

/* POST @body to @path; the answer's id (and url) into malloc'd strings. */
static int create(const struct pay_provider *p, const char *what, const char *path, json_t *req,
                  const char *idem, long timeout_ms, char **id, char **url, char *err,
                  size_t errlen)
{
    *id = NULL;
    if (url)
        *url = NULL;
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        return fail(err, errlen, "%s: out of memory", p->name);
    char target[700];
    snprintf(target, sizeof target, "%s%s", p->api_url, path);
    kyc_http_opts o = {.timeout_ms = timeout_ms > 0 ? timeout_ms : 10000,
                       .allow_http = p->allow_http};
    kyc_http_resp r;
    kyc_err ke = {0};
    int rc = kyc_http_post_json_auth(&o, target, p->api_key, idem, body, &r, &ke);
    free(body);
    if (rc)
        return fail(err, errlen, "%s: %s: %s", p->name, what, ke.msg);
    rc = pay_create_answer_read(p->name, what, r.status, r.body, r.len, url != NULL, id, url,
                                err, errlen);
    kyc_http_resp_clear(&r);
    return rc;
}

int pay_payment_create(const struct pay_provider *p, int64_t amount_cents, const char *reference,
                       const char *callback, const char *return_url, const char *idem,
                       long timeout_ms, char **id, char **url, char *err, size_t errlen)
{
    *id = NULL;
    *url = NULL;
    if (amount_cents <= 0 || !reference || !*reference || !callback || !*callback)
        return fail(err, errlen, "%s: payment: amount, reference and callback are required",
                    p->name);
    json_t *req = json_pack("{s:I, s:s, s:s, s:s}", "amount", (json_int_t)amount_cents,
                            "currency", p->currency, "reference", reference, "callback",
                            callback);
    if (req && return_url)
        json_object_set_new(req, "return_url", json_string(return_url));
    return create(p, "payment", p->payments_path, req, idem, timeout_ms, id, url, err, errlen);
}

int pay_payout_create(const struct pay_provider *p, int64_t amount_cents, const char *account,
                      const char *reference, const char *callback, const char *idem,
                      long timeout_ms, char **id, char *err, size_t errlen)
{
    *id = NULL;
    if (amount_cents <= 0 || !account || !*account || !reference || !*reference || !callback ||
        !*callback)
        return fail(err, errlen,
                    "%s: payout: amount, account, reference and callback are required", p->name);
    json_t *req = json_pack("{s:I, s:s, s:s, s:s, s:s}", "amount", (json_int_t)amount_cents,
                            "currency", p->currency, "account", account, "reference", reference,
                            "callback", callback);
    return create(p, "payout", p->payouts_path, req, idem, timeout_ms, id, NULL, err, errlen);
}

/* A string (or integer) field at @path into @dst; @required: absent is an error. */
static int text_field(json_t *root, const char *name, const char *path, bool required, char *dst,
                      size_t cap, char *err, size_t errlen)
{
    json_t *v = kyc_json_path(root, path);
    dst[0] = 0;
    if (json_is_integer(v)) {
        snprintf(dst, cap, "%lld", (long long)json_integer_value(v));
        return 0;
    }
    if (!v || json_is_null(v)) {
        if (required)
            return fail(err, errlen, "webhook field %s (%.60s) missing", name, path);
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s || (required && !*s))
        return fail(err, errlen, "webhook field %s (%.60s) is not a string", name, path);
    if (strlen(s) >= cap)
        return fail(err, errlen, "webhook field %s (%.60s) is longer than %zu bytes", name, path,
                    cap - 1);
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

int pay_webhook_read(const struct pay_provider *p, const kyc_header *h, size_t nh,
                     const void *body, size_t len, int64_t now, struct pay_event *ev,
                     char *err, size_t errlen)
{
    memset(ev, 0, sizeof *ev);
    json_t *j = NULL;
    kyc_err ke = {0};
    int rc = kyc_webhook_verify(p->wh, h, nh, body, len, now, &j, &ev->ts, ev->event_id, &ke);
    if (rc) {
        fail(err, errlen, "%s", ke.msg);
        return rc == KYC_E_WH_SIGNATURE || rc == KYC_E_WH_STALE ? 401
               : rc == KYC_E_WH_FORMAT                          ? 400
                                                                : 500;
    }
    char type[128];
    int status = 400;
    if (text_field(j, "type", p->f_type, true, type, sizeof type, err, errlen) ||
        text_field(j, "object_id", p->f_object_id, true, ev->object_id, sizeof ev->object_id, err,
                   errlen) ||
        text_field(j, "reference", p->f_reference, true, ev->reference, sizeof ev->reference, err,
                   errlen) ||
        text_field(j, "account", p->f_account, false, ev->account, sizeof ev->account, err,
                   errlen))
        goto out;
    json_t *amount = kyc_json_path(j, p->f_amount);
    if (!json_is_integer(amount) || json_integer_value(amount) < 0) {
        fail(err, errlen, "webhook field amount (%.60s) must be a whole number of cents",
             p->f_amount);
        goto out;
    }
    ev->amount = (int64_t)json_integer_value(amount);
    int kind = kind_from_name(json_string_value(json_object_get(p->types, type)));
    if (!kind) {
        status = 422;
        fail(err, errlen, "%s: event type \"%.60s\" is not mapped (types)", p->name, type);
        goto out;
    }
    ev->kind = (enum pay_event_kind)kind;
    status = 0;
out:
    json_decref(j);
    if (status) {
        char keep[128];
        memcpy(keep, ev->event_id, sizeof keep);
        int64_t ts = ev->ts;
        memset(ev, 0, sizeof *ev);
        /* The event id stays for the caller's log: the delivery was genuine. */
        memcpy(ev->event_id, keep, sizeof keep);
        ev->ts = ts;
    }
    return status;
}
