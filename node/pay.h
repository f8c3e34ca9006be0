/* The payment provider (deposits and withdrawals), from configuration: a Stripe-, Adyen- or
 * Mangopay-shaped HTTP API and its signed webhooks.
 *
 * Happy path: pay_payment_create opens a payment (amount, reference = our deposit id, the
 * callback the provider posts its webhooks to, our idempotency key = the deposit id, so a retry
 * opens nothing new) and hands back the provider's id and hosted-page URL; pay_payout_create
 * asks for a payout to the payment account recorded at deposit (idempotency key = the
 * withdrawal id). pay_webhook_read checks a webhook with the document-check provider's verifier
 * (kyc/webhook.c: HMAC-SHA256 over the raw bytes or "timestamp.body", constant-time compare,
 * freshness, an event id), configured for the payment provider's headers and fields, and only
 * then reads the event (kind, object id, reference, amount, payment account).
 *
 * Failure modes: the provider unreachable or answering non-2xx (-1 with a message; the caller
 * retries with the same idempotency key); a webhook unsigned, badly signed or stale (401),
 * unreadable (400), of a kind nobody mapped (422). The API key is read from a file (mode 0600)
 * and never logged; plain http is allowed only to 127.0.0.1 (the test stand-in).
 *
 * Configuration ("payments" in an accounts node's config):
 *   {"name": "standin", "api_url": "http://127.0.0.1:PORT", "api_key_file": "path",
 *    "currency": "EUR", "webhook_url": "https://edge.example" (optional: the base URL the
 *    provider calls; default this node's own address),
 *    "webhook": {"secret_file": "path" | "secret": "...", "signature_header": "x-pay-signature",
 *                "signature_prefix": "v1=", "signed_payload": "timestamp.body",
 *                "timestamp_header": "x-pay-timestamp", "max_age_s": 300}}
 * Event fields (Stripe-shaped by default; "fields" overrides any): type "type", id "id",
 * object_id "data.object.id", reference "data.object.reference", amount "data.object.amount",
 * account "data.object.account"; "types" maps the provider's event types to ours. */
#ifndef PARLAY_PAY_H
#define PARLAY_PAY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "kyc/kyc.h"

struct pay_provider;

int pay_provider_new(const json_t *cfg, struct pay_provider **out, char *err, size_t errlen);
void pay_provider_free(struct pay_provider *p);
const char *pay_provider_name(const struct pay_provider *p);
/* The base URL webhooks are sent to ("" when not configured: the node's own address). */
const char *pay_provider_webhook_url(const struct pay_provider *p);

/* Blocking (run on a libuv worker thread). 0, or -1 with a message in @err. */
int pay_payment_create(const struct pay_provider *p, int64_t amount_cents, const char *reference,
                       const char *callback, const char *return_url, const char *idem,
                       long timeout_ms, char **id, char **url, char *err, size_t errlen);
int pay_payout_create(const struct pay_provider *p, int64_t amount_cents, const char *account,
                      const char *reference, const char *callback, const char *idem,
                      long timeout_ms, char **id, char *err, size_t errlen);

enum pay_event_kind {
    PAY_PAYMENT_SUCCEEDED = 1,
    PAY_PAYMENT_FAILED,
    PAY_PAYMENT_REFUNDED,
    PAY_CHARGEBACK,
    PAY_PAYOUT_PAID,
    PAY_PAYOUT_FAILED,
};
/* "payment_succeeded", "payment_failed", "payment_refunded", "chargeback", "payout_paid",
 * "payout_failed" (the wallet's pay_event kinds). */
const char *pay_event_kind_name(enum pay_event_kind k);

struct pay_event {
    enum pay_event_kind kind;
    char event_id[128];
    char object_id[128];
    char reference[128];
    int64_t amount;
    char account[128];
    int64_t ts;
};

/* 0, or the HTTP status to answer (401, 400, 422) with the reason in @err. */
int pay_webhook_read(const struct pay_provider *p, const kyc_header *h, size_t nh,
                     const void *body, size_t len, int64_t now, struct pay_event *ev, char *err,
                     size_t errlen);

#endif
