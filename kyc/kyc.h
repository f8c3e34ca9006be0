/* kyc: identity verification and credential helpers for Parlay's accounts cluster.
 *
 * What is here, each part usable on its own:
 *   - a FranceConnect v2 relying party (OpenID Connect authorization-code flow): discovery,
 *     the authorize URL, the callback (state, code exchange, ID token and signed userinfo
 *     verified against the provider's JWKS) and the logout URL;
 *   - JWT (JWS compact) verification against a JWKS with an algorithm allow-list;
 *   - identity rules: birth dates (presumed dates count as the latest possible day), age on a
 *     date, the "same person" key;
 *   - passwords: length rule, breached-password list, Argon2id hashing and verification;
 *   - TOTP (RFC 6238), otpauth URIs, recovery codes;
 *   - signed provider webhooks (kyc_webhook): HMAC-SHA256 over the raw body, constant-time
 *     compare, timestamp freshness, event ids, all from configuration; the document-check
 *     providers (status mapping, hosted sessions) are built on them, and so is node/pay.c;
 *   - the blocking HTTP POST the providers' APIs are called with (kyc_http_post_json_auth).
 *
 * Nothing here touches an event loop: the network calls (kyc_fc_*) block for at most their
 * configured timeout, and Argon2id costs ~19 MiB and tens of milliseconds, so the node runs
 * them on a worker thread. Nothing keeps global state except libcurl's global init, which the
 * program does once (kyc_global_init) before starting threads.
 *
 * Errors: every function that can fail returns KYC_OK (0) or a negative kyc_code and, when the
 * caller passes a kyc_err, fills it with the code and a one-line message saying what exactly
 * was wrong. kyc_strerror() names a code. */
#ifndef PARLAY_KYC_H
#define PARLAY_KYC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* ---------------------------------------------------------------------------------------- */
/* Errors */

typedef enum {
    KYC_OK = 0,
    KYC_E_NOMEM = -1,              /* out of memory */
    KYC_E_INVAL = -2,              /* bad argument or configuration */
    KYC_E_RANDOM = -3,             /* the CSPRNG failed */
    KYC_E_CRYPTO = -4,             /* a crypto library call failed */
    KYC_E_IO = -5,                 /* a local file could not be read */
    KYC_E_HTTP = -10,              /* transport failure (connect, TLS, reset) */
    KYC_E_TIMEOUT = -11,           /* the call did not finish within its timeout */
    KYC_E_HTTP_STATUS = -12,       /* unexpected HTTP status */
    KYC_E_RESPONSE = -13,          /* malformed or oversized response body */
    KYC_E_DISCOVERY = -14,         /* discovery document unusable (issuer mismatch, no endpoint) */
    KYC_E_STATE = -20,             /* callback state missing or not the one issued */
    KYC_E_PROVIDER = -21,          /* the provider returned error=... to the callback */
    KYC_E_ISS_PARAM = -22,         /* the callback's iss parameter is not our issuer */
    KYC_E_GRANT = -23,             /* the token endpoint refused the code (used, expired, ...) */
    KYC_E_JWT_FORMAT = -30,        /* not a JWS compact serialization / bad JSON inside */
    KYC_E_JWT_ALG = -31,           /* algorithm not on the allow-list (none, HS*, ...) */
    KYC_E_JWT_KEY = -32,           /* no key in the JWKS for this kid/alg */
    KYC_E_JWT_SIGNATURE = -33,     /* signature does not verify */
    KYC_E_JWT_ISS = -34,           /* wrong issuer */
    KYC_E_JWT_AUD = -35,           /* wrong audience */
    KYC_E_JWT_EXPIRED = -36,       /* exp in the past (beyond the allowed skew) or missing */
    KYC_E_JWT_IAT = -37,           /* iat missing or in the future */
    KYC_E_JWT_NONCE = -38,         /* nonce missing or not the one sent */
    KYC_E_JWT_ACR = -39,           /* acr missing or below the level asked for */
    KYC_E_JWT_SUB = -40,           /* sub missing, or userinfo's sub is not the ID token's */
    KYC_E_USERINFO_UNSIGNED = -41, /* userinfo came back as plain JSON, not a signed JWT */
    KYC_E_JWT_LIFETIME = -42,      /* exp further ahead than the issuer's tokens ever live */
    KYC_E_IDENTITY = -50,          /* an identity claim is missing or malformed */
    KYC_E_BIRTHDATE = -51,         /* birth date malformed */
    KYC_E_MINOR = -52,             /* under 18 on the given day */
    KYC_E_PW_LENGTH = -60,         /* password shorter than 8 or longer than 128 characters */
    KYC_E_PW_BREACHED = -61,       /* password is on the breached-password list */
    KYC_E_PW_MISMATCH = -62,       /* password does not match the stored hash */
    KYC_E_PW_HASH = -63,           /* stored hash malformed / argon2 failure */
    KYC_E_TOTP_FORMAT = -70,       /* code is not 6 digits */
    KYC_E_TOTP_MISMATCH = -71,     /* code does not match any step in the window */
    KYC_E_TOTP_REUSED = -72,       /* code matches a step already used */
    KYC_E_WH_SIGNATURE = -80,      /* webhook signature header missing or wrong */
    KYC_E_WH_STALE = -81,          /* webhook timestamp missing or outside the freshness window */
    KYC_E_WH_FORMAT = -82,         /* webhook body not JSON / field missing */
    KYC_E_WH_STATUS = -83,         /* provider status not in the configured mapping */
} kyc_code;

typedef struct
{
    int code;      /* a kyc_code */
    char msg[256]; /* what exactly failed, for logs and problem+json details */
} kyc_err;

const char* kyc_strerror(int code);

/* Once per process, before threads start (calls curl_global_init). */
int kyc_global_init(void);

/* ---------------------------------------------------------------------------------------- */
/* Random tokens */

/* 32 bytes from the CSPRNG, base64url without padding: 43 characters + NUL. Used for state
 * and nonce (FranceConnect requires >= 22 characters). */
#define KYC_TOKEN_CHARS 43
int kyc_random_token(char out[KYC_TOKEN_CHARS + 1], kyc_err* err);

/* ---------------------------------------------------------------------------------------- */
/* Identity */

typedef struct
{
    char sub[128];         /* provider subject, unique per (issuer, client) */
    char issuer[256];      /* who vouched for it */
    char acr[16];          /* eIDAS level, e.g. "eidas1" */
    char given_names[256]; /* space separated, as given */
    char family_name[256]; /* birth name */
    char birthdate[11];    /* YYYY-MM-DD; MM and/or DD may be 00 (presumed) */
    char birthplace[6];    /* INSEE commune code; empty when born abroad */
    char birthcountry[6];  /* INSEE country code, 99100 = France */
    char gender[12];       /* male | female | unspecified */
    char email[256];       /* not trustworthy for account linking */
} kyc_identity;

typedef struct
{
    int year, month, day;       /* the date as given (month/day 0 when presumed) */
    int l_year, l_month, l_day; /* the latest possible real date */
    bool presumed;              /* month or day was 00 */
} kyc_birthdate;

/* Parses YYYY-MM-DD, YYYY-MM-00 and YYYY-00-00 (FranceConnect presumed dates). YYYY-00-DD is
 * refused. The latest possible day is the last day of the month, or 31 December. */
int kyc_birthdate_parse(const char* s, kyc_birthdate* out, kyc_err* err);

/* Age in whole years on the civil date y-m-d, counting from the latest possible birth date.
 * Born 29 February: the birthday in a common year is 1 March. */
int kyc_age_on(const char* birthdate, int y, int m, int d, int* age, kyc_err* err);

/* KYC_OK if 18 or older on the UTC date of unix time `now`, KYC_E_MINOR if not. The UTC date
 * is never later than the Paris date, so a player is never accepted before 18 in France. */
int kyc_check_adult(const char* birthdate, int64_t now, kyc_err* err);

/* "Same person" key: hex SHA-256 over the normalised family name, first given name, birth
 * date, birth country and birthplace (uppercase ASCII, accents folded, hyphens, apostrophes
 * and runs of spaces made one space). Two identities with the same key are taken to be the
 * same person whatever the provider; the accounts cluster keeps one account per key. */
#define KYC_IDKEY_CHARS 64
int kyc_identity_key(const kyc_identity* id, char out[KYC_IDKEY_CHARS + 1], kyc_err* err);

/* Name normalisation used by the key (exposed for tests and for display matching).
 * Writes at most outsz bytes including the NUL. */
int kyc_normalise_name(const char* in, char* out, size_t outsz, kyc_err* err);

/* ---------------------------------------------------------------------------------------- */
/* JWT verification */

typedef struct
{
    const char* issuer;   /* required: exact match on iss */
    const char* audience; /* required: aud (string or array) must contain it */
    const char* nonce;    /* if set: nonce must equal it */
    const char* acr;      /* if set: acr must be at least this eIDAS level (eidas1 < eidas2 <
                             eidas3), or equal it for other values */
    int64_t now;          /* unix seconds */
    int64_t skew;         /* clock tolerance for exp/iat, seconds */
    bool require_exp_iat; /* ID tokens: true; userinfo JWTs: checked when present */
    int64_t max_lifetime; /* if > 0: exp may be at most this many seconds (plus skew) ahead */
    bool es256_low_s;     /* our own tokens: only the canonical (low-s) ES256 signature, so
                             that a token has exactly one valid form */
} kyc_jwt_expect;

/* Verifies a JWS compact token with a key from `jwks` (a JWK set, JSON). Only ES256 and RS256
 * are accepted; the key is chosen by kid and must have the matching kty (EC P-256 / RSA).
 * On success *claims (if non-NULL) receives the payload (caller json_decref()s). */
int kyc_jwt_verify(const char* token,
                   const json_t* jwks,
                   const kyc_jwt_expect* expect,
                   json_t** claims,
                   kyc_err* err);

/* Rewrites the ES256 signature of the compact JWS @compact in place from (r, s) to (r, n - s),
 * the other valid signature of the same message: with @only_high only when s is in the upper
 * half of the group order (so that a token signed by cjose/OpenSSL leaves in the canonical
 * low-s form that es256_low_s demands), otherwise always (tests make a token's high-s twin
 * this way). KYC_OK, or KYC_E_JWT_FORMAT / KYC_E_JWT_SIGNATURE / KYC_E_CRYPTO. */
int kyc_es256_flip_s(char* compact, bool only_high, kyc_err* err);

/* a + b, saturated at INT64_MIN / INT64_MAX instead of overflowing: every sum of a time taken
 * from outside (a token's exp, a webhook's timestamp) and a tolerance goes through it. */
int64_t kyc_time_add(int64_t a, int64_t b);

/* ---------------------------------------------------------------------------------------- */
/* FranceConnect v2 relying party */

typedef struct
{
    const char* issuer; /* e.g. ".../api/v2"; the discovery document is under it */
    const char* client_id;
    const char* client_secret;
    const char* redirect_uri;             /* registered callback */
    const char* post_logout_redirect_uri; /* optional */
    const char* scope;                    /* default "openid identite_pivot email" */
    const char* acr;                      /* default "eidas1" */
    long timeout_ms;        /* whole-call timeout of each HTTP request; default 10000 */
    int64_t skew;           /* clock tolerance, seconds; default 60 */
    bool allow_http;        /* tests on 127.0.0.1 only; production refuses http:// */
    int64_t jwks_refresh_s; /* least seconds between JWKS fetches caused by an unknown kid;
                               0 = 30, < 0 = no minimum (tests) */
    const char* ca_file;    /* optional CA bundle */
} kyc_fc_config;

typedef struct kyc_fc kyc_fc;

/* Copies the configuration. No network. */
int kyc_fc_new(const kyc_fc_config* cfg, kyc_fc** out, kyc_err* err);
void kyc_fc_free(kyc_fc* fc);

/* Fetches the discovery document (checks its issuer is exactly ours) and the JWKS. Called
 * by the others when needed; call it at start-up to fail early. The JWKS is fetched again
 * when a token names an unknown kid (key rotation), at most once per jwks_refresh_s (30 s). */
int kyc_fc_discover(kyc_fc* fc, kyc_err* err);

/* A login in progress: keep it server-side (replicated login record keyed by a cookie) until
 * the callback. */
typedef struct
{
    char state[KYC_TOKEN_CHARS + 1];
    char nonce[KYC_TOKEN_CHARS + 1];
} kyc_fc_login;

/* Fresh state and nonce from the CSPRNG and the authorize URL to redirect the browser to
 * (malloc'ed; free()). */
int kyc_fc_authorize(kyc_fc* fc, kyc_fc_login* login, char** url, kyc_err* err);

typedef struct
{
    kyc_identity id;   /* from the verified userinfo JWT (sub/acr from the ID token) */
    char* id_token;    /* malloc'ed, for logout's id_token_hint */
    int64_t auth_time; /* 0 if absent */
} kyc_fc_result;

/* The redirect back: `query` is the raw query string of the callback request (without '?').
 * Checks state (constant time), the error and iss parameters, exchanges the code at once
 * (client_secret_post), verifies the ID token (alg, signature, iss, aud, exp, iat, nonce, acr),
 * fetches userinfo, verifies that JWT (alg, signature, iss, aud, sub) and fills *res. Does not
 * judge age or uniqueness: that is kyc_check_adult / kyc_identity_key. `now` = unix seconds.
 * kyc_fc_result_clear() frees what it holds, also after a failure. */
int kyc_fc_callback(kyc_fc* fc,
                    const kyc_fc_login* login,
                    const char* query,
                    int64_t now,
                    kyc_fc_result* res,
                    kyc_err* err);
void kyc_fc_result_clear(kyc_fc_result* res);

/* The end-session URL with id_token_hint, state and post_logout_redirect_uri (if configured). */
int kyc_fc_logout_url(kyc_fc* fc,
                      const char* id_token,
                      const char* state,
                      char** url,
                      kyc_err* err);

/* Endpoint from the discovery document ("authorization_endpoint", ...), NULL before
 * discovery. For logs and tests. */
const char* kyc_fc_endpoint(const kyc_fc* fc, const char* name);

/* ---------------------------------------------------------------------------------------- */
/* Passwords */

#define KYC_PW_MIN_CHARS 8
#define KYC_PW_MAX_CHARS 128

/* Breached / most common passwords, one per line, '#' lines ignored; compared ignoring ASCII
 * case. The project ships kyc/data/common-passwords.txt (see kyc/README.md). */
typedef struct kyc_pwlist kyc_pwlist;
int kyc_pwlist_load(const char* path, kyc_pwlist** out, kyc_err* err);
bool kyc_pwlist_contains(const kyc_pwlist* l, const char* pw, size_t len);
size_t kyc_pwlist_size(const kyc_pwlist* l);
void kyc_pwlist_free(kyc_pwlist* l);

/* Length 8..128 characters (UTF-8 code points, the password exactly as received, no
 * composition rules) and not on the list (list may be NULL). */
int kyc_password_policy(const char* pw, size_t len, const kyc_pwlist* list, kyc_err* err);

typedef struct
{
    uint32_t t_cost; /* iterations */
    uint32_t m_cost; /* KiB */
    uint32_t parallelism;
} kyc_argon2_params;

/* OWASP / ASVS 5.0 Appendix C: argon2id t=2, m=19456 KiB, p=1. */
extern const kyc_argon2_params kyc_argon2_default;

#define KYC_PW_HASH_MAX 160
/* PHC string "$argon2id$v=19$m=...,t=...,p=...$salt$hash" with a 16-byte CSPRNG salt and a
 * 32-byte hash. params NULL = kyc_argon2_default. */
int kyc_password_hash(const char* pw,
                      size_t len,
                      const kyc_argon2_params* params,
                      char out[KYC_PW_HASH_MAX],
                      kyc_err* err);
/* KYC_OK, KYC_E_PW_MISMATCH or KYC_E_PW_HASH. */
int kyc_password_verify(const char* encoded, const char* pw, size_t len, kyc_err* err);
/* True when the stored hash is not argon2id or uses weaker parameters than `params`. */
bool kyc_password_needs_rehash(const char* encoded, const kyc_argon2_params* params);

/* ---------------------------------------------------------------------------------------- */
/* TOTP (RFC 6238) */

typedef enum { KYC_TOTP_SHA1, KYC_TOTP_SHA256, KYC_TOTP_SHA512 } kyc_totp_alg;

#define KYC_TOTP_SECRET_BYTES 20
/* A new secret from the CSPRNG. */
int kyc_totp_secret_new(uint8_t secret[KYC_TOTP_SECRET_BYTES], kyc_err* err);

/* RFC 4648 base32 without padding; out needs 8*ceil(n/5)+1 bytes at most. */
int kyc_base32_encode(const uint8_t* in, size_t n, char* out, size_t outsz);
/* Accepts upper/lower case, ignores spaces and '='; returns the byte count or < 0. */
int kyc_base32_decode(const char* in, uint8_t* out, size_t outsz);

/* The code for time step floor(t / period): `digits` (6..8) digits. */
int kyc_totp_code(const uint8_t* key,
                  size_t keylen,
                  kyc_totp_alg alg,
                  int64_t t,
                  int period,
                  int digits,
                  uint32_t* code,
                  kyc_err* err);

/* Checks `code` against the steps now-window..now+window (period 30 s, SHA-1, 6 digits: what
 * authenticator apps use). A code is single use: a step <= *last_step is refused with
 * KYC_E_TOTP_REUSED; on success *last_step is set to the matched step (store it, replicated,
 * before answering). *last_step = -1 when nothing was used yet. */
int kyc_totp_verify(const uint8_t* key,
                    size_t keylen,
                    const char* code,
                    int64_t now,
                    int window,
                    int64_t* last_step,
                    kyc_err* err);

/* otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
 * (malloc'ed; free()). */
int kyc_totp_uri(const uint8_t* key,
                 size_t keylen,
                 const char* issuer,
                 const char* account,
                 char** uri,
                 kyc_err* err);

/* Recovery codes: n codes of 24 base32 characters shown as XXXX-XXXX-XXXX-XXXX-XXXX-XXXX (120
 * random bits each). Store only kyc_recovery_hash() of each; with at least 112 bits of entropy
 * an unsalted SHA-256 is enough (OWASP ASVS 5.0 6.5.2). Codes of the earlier 16-character form
 * still verify: the hash is of the code as typed, normalised. */
#define KYC_RECOVERY_CHARS 29
int kyc_recovery_code_new(char out[KYC_RECOVERY_CHARS + 1], kyc_err* err);
/* Hex SHA-256 of the code with dashes and spaces removed and letters uppercased. */
int kyc_recovery_hash(const char* code, char out[65], kyc_err* err);

/* ---------------------------------------------------------------------------------------- */
/* Signed provider webhooks (shared by the document-check and the payment providers) */

typedef struct
{
    const char* name; /* compared case-insensitively */
    const char* value;
} kyc_header;

typedef struct kyc_webhook kyc_webhook;

/* The generic part of a provider's webhook settings (a JSON object; kyc/README.md):
 *   name, secret, signature_header (required), signature_prefix (""), signature_encoding
 *   ("hex"|"base64", "hex"), signed_payload ("body"|"timestamp.body", "body"),
 *   timestamp_header | timestamp_field (one required), timestamp_unit ("s"|"ms"|"iso8601"),
 *   max_age_s (300), event_id_field (none: the body's SHA-256 identifies the delivery).
 * Other keys are ignored (they belong to the kind of provider). @what names the kind in error
 * messages ("document provider", "payment provider"). KYC_OK or KYC_E_INVAL. */
int kyc_webhook_new(const json_t* cfg, const char* what, kyc_webhook** out, kyc_err* err);
void kyc_webhook_free(kyc_webhook* w);
const char* kyc_webhook_name(const kyc_webhook* w);

/* Verifies a delivery, in this order: the signature over the raw bytes (nothing is parsed
 * before it checks; missing header, bad prefix, wrong length or value: KYC_E_WH_SIGNATURE);
 * the body is a JSON object (KYC_E_WH_FORMAT); the timestamp within max_age_s of @now either
 * way (KYC_E_WH_STALE); the event id (KYC_E_WH_FORMAT if its field is missing). On KYC_OK,
 * *obj_out (if non-NULL) receives the parsed body (the caller json_decref()s), *ts_out (if
 * non-NULL) the timestamp in unix seconds, and @event_id the event id. */
int kyc_webhook_verify(const kyc_webhook* w,
                       const kyc_header* h,
                       size_t nh,
                       const void* body,
                       size_t len,
                       int64_t now,
                       json_t** obj_out,
                       int64_t* ts_out,
                       char event_id[128],
                       kyc_err* err);

/* Signs a body the way the provider would (for tests and stand-ins): writes the signature
 * header's value (with prefix) into out. @timestamp is what goes in the timestamp header. */
int kyc_webhook_sign(const kyc_webhook* w,
                     int64_t timestamp,
                     const void* body,
                     size_t len,
                     char* out,
                     size_t outsz,
                     kyc_err* err);

/* Dotted path lookup in a JSON object ("data.object.id"); NULL when absent. Borrowed. */
json_t* kyc_json_path(json_t* root, const char* dotted);

/* ---------------------------------------------------------------------------------------- */
/* Provider API calls (HTTP over libcurl, blocking, bounded by timeout_ms, body capped at 1 MiB,
 * no redirects followed; https only unless allow_http) */

typedef struct
{
    long status;
    char* body; /* NUL-terminated, malloc'ed */
    size_t len;
    char content_type[128];
} kyc_http_resp;

typedef struct
{
    long timeout_ms;
    bool allow_http;
    const char* ca_file;
} kyc_http_opts;

/* POSTs @json (application/json) to @url with "Authorization: Bearer @bearer" and
 * "Idempotency-Key: @idem" when those are non-NULL. The answer, whatever its status, is in *r
 * (kyc_http_resp_clear() it); an error return means no answer (KYC_E_HTTP, KYC_E_TIMEOUT,
 * KYC_E_RESPONSE, KYC_E_INVAL for a refused scheme or header). */
int kyc_http_post_json_auth(const kyc_http_opts* o,
                            const char* url,
                            const char* bearer,
                            const char* idem,
                            const char* json,
                            kyc_http_resp* r,
                            kyc_err* err);
void kyc_http_resp_clear(kyc_http_resp* r);

/* ---------------------------------------------------------------------------------------- */
/* Document-check provider webhooks */

typedef enum {
    KYC_DOC_PENDING, /* started / submitted / in progress: nothing to decide yet */
    KYC_DOC_APPROVED,
    KYC_DOC_DECLINED,      /* final refusal */
    KYC_DOC_RETRY,         /* the player may try again (new documents) */
    KYC_DOC_MANUAL_REVIEW, /* an operator decides */
} kyc_doc_status;

const char* kyc_doc_status_name(kyc_doc_status s);

typedef struct kyc_doc_provider kyc_doc_provider;

/* Provider settings from configuration (a JSON object; kyc/README.md documents every field):
 *   name, secret, signature_header, signature_encoding ("hex"|"base64"), signature_prefix,
 *   signed_payload ("body"|"timestamp.body"), timestamp_header | timestamp_field,
 *   timestamp_unit ("s"|"ms"), max_age_s, event_id_field, reference_field, status_field,
 *   status_map { provider value: "approved"|"declined"|"retry"|"manual_review"|"pending" },
 *   session_url (optional, hosted session creation).
 * Field paths are dotted ("verification.status"). */
int kyc_doc_provider_new(const json_t* config, kyc_doc_provider** out, kyc_err* err);
void kyc_doc_provider_free(kyc_doc_provider* p);
const char* kyc_doc_provider_name(const kyc_doc_provider* p);

typedef struct
{
    char event_id[128];  /* deduplicate on (provider, event_id): each event processed once */
    char reference[128]; /* the provider's session/applicant id */
    char raw_status[64]; /* the provider's status string */
    kyc_doc_status status;
    int64_t timestamp; /* unix seconds */
} kyc_doc_event;

/* Verifies a webhook: the signature over the raw bytes first (nothing is parsed before it
 * checks), then the timestamp within max_age_s of `now` (either way), then reads the event
 * and maps its status. */
int kyc_doc_webhook_verify(const kyc_doc_provider* p,
                           const kyc_header* headers,
                           size_t nheaders,
                           const void* body,
                           size_t len,
                           int64_t now,
                           kyc_doc_event* ev,
                           kyc_err* err);

/* Signs a body the way the provider would (for tests and the stand-in): writes the header
 * value (with prefix) into out. */
int kyc_doc_webhook_sign(const kyc_doc_provider* p,
                         int64_t timestamp,
                         const void* body,
                         size_t len,
                         char* out,
                         size_t outsz,
                         kyc_err* err);

/* Hosted session: POSTs {"reference":..., "callback":...} to session_url (blocking, timeout)
 * and returns the provider's session id and the URL to send the player to (malloc'ed). */
int kyc_doc_session_start(const kyc_doc_provider* p,
                          const char* reference,
                          const char* callback,
                          long timeout_ms,
                          char** session_id,
                          char** url,
                          kyc_err* err);

#endif
