/* The payment provider's plumbing for wallets (issue 11): open a payment for a deposit, ask for
 * a payout for a withdrawal, and read the provider's signed webhooks into events. The provider
 * is configuration (a Stripe-, Adyen- or Mangopay-shaped provider fits; the node config key
 * `payments`, README "Configuration"); the local stand-in is tests/standins/pay-standin.mjs.
 *
 * The happy path of a deposit: the wallet route calls pay_payment_create on a libuv worker
 * thread (it blocks for at most @timeout_ms) with the deposit's id as reference and its
 * Idempotency-Key, records the provider's payment id and sends the player to the hosted page's
 * URL; the player pays there; the provider POSTs a signed webhook, which pay_webhook_read
 * verifies (the shared kyc_webhook: signature over the raw bytes first, then freshness, then
 * the event id) and reads into a pay_event (kind, ids, amount, payment account); the caller
 * deduplicates on (provider, event_id) in replicated state and answers 2xx so that the
 * provider stops retrying. A payout goes the same way with pay_payout_create and a
 * payout_paid / payout_failed event.
 *
 * Failure modes: the provider is unreachable or slow (-1 from the create calls with a message:
 * the outcome is unknown, retry with the same idempotency key, which the provider honours: the
 * same payment comes back); it refuses (HTTP 4xx/5xx: -1 with its status and its own error
 * text); it answers without an id or URL (-1). A webhook with a missing, wrong or stale
 * signature is answered 401 (the provider retries; an attacker learns nothing), an unreadable
 * body or field 400, an event type nobody mapped 422 (logged for an operator, never guessed).
 *
 * A provider is immutable once made: the calls may run on several threads at once. The API key
 * is read from its file (owner-only, like the node's other key files) when the provider is made
 * and is never logged or put in a message. */
#ifndef PARLAY_PAY_H
#define PARLAY_PAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kyc/kyc.h"

struct pay_provider;

/* Settings (a JSON object; missing keys take the stand-in's shape):
 *   name ("standin"), api_url (required: https://, or http:// to 127.0.0.1 only),
 *   api_key_file (required, owner-only), currency ("EUR"), payments_path ("/v1/payments"),
 *   payouts_path ("/v1/payouts"), webhook_url (optional: the base URL the provider calls
 *   back, e.g. the edge; "" = the node's own address, see pay_provider_webhook_url),
 *   webhook {kyc_webhook settings: secret or secret_file (owner-only) required;
 *            signature_header "x-pay-signature", signature_prefix "v1=", signed_payload
 *            "timestamp.body", timestamp_header "x-pay-timestamp", max_age_s 300,
 *            event_id_field "id" by default},
 *   fields {type "type", object_id "data.object.id", reference "data.object.reference",
 *           amount "data.object.amount", account "data.object.account"} (dotted paths),
 *   types {provider's type: one of pay_event_kind_name()} (the stand-in's six by default).
 * Unknown keys are refused. 0, or -1 with a message naming the setting in @err. */
int pay_provider_new(const json_t *cfg, struct pay_provider **out, char *err, size_t errlen);
void pay_provider_free(struct pay_provider *p);
const char *pay_provider_name(const struct pay_provider *p);
/* The configured base URL for webhooks, without a trailing '/'; "" when not configured (the
 * caller then uses the node's own address). */
const char *pay_provider_webhook_url(const struct pay_provider *p);

/* Blocking (run on a libuv worker thread, like kyc_doc_session_start): POST a payment
 * {amount, currency, reference, callback, return_url} with Idempotency-Key @idem; fills the
 * provider's payment id and hosted-page URL (malloc'd). 0, or -1 with a message in err. */
int pay_payment_create(const struct pay_provider *p, int64_t amount_cents, const char *reference,
                       const char *callback, const char *return_url, const char *idem,
                       long timeout_ms, char **id, char **url, char *err, size_t errlen);

/* POST a payout {amount, currency, account, reference, callback}; fills the payout id. */
int pay_payout_create(const struct pay_provider *p, int64_t amount_cents, const char *account,
                      const char *reference, const char *callback, const char *idem,
                      long timeout_ms, char **id, char *err, size_t errlen);

/* What the create calls read from the provider's answer (pure: no I/O): HTTP @status and the
 * body's @len bytes (need not be terminated). 200 or 201 with a JSON object holding a non-empty
 * string "id" (and "url" when @want_url): 0, with malloc'd copies in *id and *url (*url only
 * when @want_url; @url may be NULL otherwise). Anything else: -1, *id (and *url) NULL, and a
 * message in @err naming @name and @what ("payment", "payout"): the status and the provider's
 * own "error" text (a string, or an object's "message") when it refused, else what is missing. */
int pay_create_answer_read(const char *name, const char *what, long status, const void *body,
                           size_t len, bool want_url, char **id, char **url, char *err,
                           size_t errlen);

enum pay_event_kind {
    PAY_PAYMENT_SUCCEEDED = 1,
    PAY_PAYMENT_FAILED,
    PAY_PAYMENT_REFUNDED,
    PAY_CHARGEBACK,
    PAY_PAYOUT_PAID,
    PAY_PAYOUT_FAILED
};

/* "payment_succeeded", "payment_failed", "payment_refunded", "chargeback", "payout_paid",
 * "payout_failed"; "?" for anything else. */
const char *pay_event_kind_name(enum pay_event_kind k);

struct pay_event {
    enum pay_event_kind kind;
    char event_id[128];  /* deduplicate on (provider, event_id) */
    char object_id[128]; /* the provider's payment or payout id */
    char reference[128]; /* ours, as given to the create call */
    int64_t amount;      /* cents */
    char account[128];   /* the payment account (payouts go back to it); "" when absent */
    int64_t ts;          /* the delivery's timestamp, unix seconds */
};

/* Verify a webhook (kyc_webhook_verify) and read the event. Returns 0, or the HTTP status to
 * answer (401 bad/missing signature or stale, 400 unreadable body/field, 422 unknown type)
 * with a precise message in err. */
int pay_webhook_read(const struct pay_provider *p, const kyc_header *h, size_t nh,
                     const void *body, size_t len, int64_t now, struct pay_event *ev,
                     char *err, size_t errlen);

#endif
