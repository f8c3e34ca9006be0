/* Fuzz target: the payment provider's answers to the create calls (node/pay.c), as
 * pay_create_answer_read reads them for pay_payment_create (id and url) and pay_payout_create
 * (id only).
 *
 * Input: an optional first line with the HTTP status (digits only), then the body; without
 * one, the whole input is the body of a 201. Invariants:
 *   - accepted only for 200/201, with a non-empty id, and a non-empty url when one is wanted
 *     (none handed back otherwise), each the provider's whole string (never cut at a \u0000);
 *   - a refusal hands back nothing and carries a message naming the provider and the call
 *     (its status when the provider refused), terminated within the buffer at any size;
 *   - what a payment accepts, a payout accepts with the same id. */
#include <stdbool.h>
#include <string.h>

#include "node/pay.h"
#include "tests/fuzz/fuzz.h"

static int read_answer(long status, const uint8_t *p, size_t n, bool want_url, char **id,
                       char **url, char *err, size_t errlen)
{
    memset(err, 'x', errlen);
    *id = (char *)"stale";
    if (url)
        *url = (char *)"stale";
    int rc = pay_create_answer_read("prov", want_url ? "payment" : "payout", status, p, n,
                                    want_url, id, url, err, errlen);
    FUZZ_CHECK(rc == 0 || rc == -1, "rc %d", rc);
    if (rc) {
        FUZZ_CHECK(!*id && (!url || !*url), "a refusal hands back an id or url");
        FUZZ_CHECK(memchr(err, 0, errlen), "message not terminated within %zu bytes", errlen);
        if (errlen >= 128) {
            FUZZ_CHECK(!strncmp(err, want_url ? "prov: payment: " : "prov: payout: ", 14),
                       "message does not name the provider and call: %s", err);
            char st[32];
            snprintf(st, sizeof st, "HTTP %ld", status);
            FUZZ_CHECK(status == 200 || status == 201 || strstr(err, st),
                       "refusal of HTTP %ld does not say so: %s", status, err);
        }
    } else {
        FUZZ_CHECK(status == 200 || status == 201, "accepted with HTTP %ld", status);
        FUZZ_CHECK(*id && **id, "accepted without an id");
        /* The id (and url) whole, as the provider sent them: not cut at a \u0000. */
        json_t *j = json_loadb((const char *)p, n, 0, NULL);
        FUZZ_CHECK(strlen(*id) == json_string_length(json_object_get(j, "id")),
                   "id %s is not the provider's whole id", *id);
        if (want_url)
            FUZZ_CHECK(strlen(*url) == json_string_length(json_object_get(j, "url")),
                       "url %s is not the provider's whole url", *url);
        json_decref(j);
        if (want_url)
            FUZZ_CHECK(*url && **url, "accepted payment without a url");
        else if (url)
            FUZZ_CHECK(!*url, "a url handed back when none was wanted");
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    const uint8_t *line;
    size_t n = fuzz_part(&in, '\n', &line);
    long status = 201;
    const uint8_t *body = data;
    size_t len = size;
    if (n > 0 && n <= 3 && in.n + n < size) {
        bool digits = true;
        for (size_t i = 0; i < n; i++)
            digits = digits && line[i] >= '0' && line[i] <= '9';
        if (digits) {
            status = 0;
            for (size_t i = 0; i < n; i++)
                status = status * 10 + (line[i] - '0');
            body = in.p;
            len = in.n;
        }
    }
    char err[256], small[8];
    char *id = NULL, *url = NULL, *pid = NULL;
    int pay = read_answer(status, body, len, true, &id, &url, err, sizeof err);
    int out = read_answer(status, body, len, false, &pid, NULL, err, sizeof err);
    if (pay == 0) {
        FUZZ_CHECK(out == 0 && !strcmp(id, pid), "a payment's answer refused as a payout's: %s",
                   err);
    }
    free(id);
    free(url);
    free(pid);
    id = url = NULL;
    if (read_answer(status, body, len, true, &id, &url, small, sizeof small) == 0) {
        free(id);
        free(url);
    }
    return 0;
}
