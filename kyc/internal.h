/* kyc: helpers shared by the library's files; not part of the public API. */
#ifndef PARLAY_KYC_INTERNAL_H
#define PARLAY_KYC_INTERNAL_H

#include "kyc/kyc.h"

/* Sets err (if any) and returns code. */
int kyc_fail(kyc_err* err, int code, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

/* base64url without padding. out needs 4*ceil(n/3)+1 bytes. */
size_t kyc_b64url_encode(const uint8_t* in, size_t n, char* out);
/* Decodes base64url (padding tolerated); returns the byte count or -1. */
long kyc_b64url_decode(const char* in, size_t n, uint8_t* out, size_t outsz);

void kyc_hex(const uint8_t* in, size_t n, char* out);

/* Copies src into a fixed buffer; false if it does not fit. */
bool kyc_copy(char* dst, size_t dstsz, const char* src);

/* HTTP (libcurl), blocking, bounded by timeout_ms. The body is capped at 1 MiB. The types and
 * kyc_http_post_json_auth are in kyc.h. */
int kyc_http_get(const kyc_http_opts* o,
                 const char* url,
                 const char* bearer,
                 kyc_http_resp* r,
                 kyc_err* err);
int kyc_http_post_form(const kyc_http_opts* o,
                       const char* url,
                       const char* form,
                       kyc_http_resp* r,
                       kyc_err* err);
int kyc_http_post_json(const kyc_http_opts* o,
                       const char* url,
                       const char* json,
                       kyc_http_resp* r,
                       kyc_err* err);

/* Percent-encodes for a query component (malloc'ed). */
char* kyc_urlencode(const char* s);
/* Finds key in a raw query string and percent-decodes its value (malloc'ed), NULL if absent. */
char* kyc_query_get(const char* query, const char* key);

#endif
