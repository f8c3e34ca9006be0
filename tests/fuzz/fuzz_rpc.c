/* Fuzz target: the Ethereum node's JSON-RPC answers as the oracle's call loop reads them
 * (oracle/rpc.c, eth_rpc_answer_read), then as its callers use the result.
 *
 * Input: an optional first line with the HTTP status (digits only), then the body; without
 * one, the whole input is the body of a 200. Invariants:
 *   - ETH_OK exactly when a result is handed back, with an empty message; its JSON text (what
 *     eth_rpc_call returns) reads back to the same value;
 *   - a refusal is one of the ETH_E* codes with a message, terminated; revert data within its
 *     buffer; a retry only for a rate limit or a server error; a wait the node asked for
 *     within a day, or none (-1);
 *   - the error's HTTP status is the answer's;
 *   - the callers' readers (quantities, block and receipt fields, eth_call data, revert
 *     reasons) take whatever the result holds. */
#include <string.h>

#include <jansson.h>

#include "oracle/oracle.h"
#include "tests/fuzz/fuzz.h"

static void use_result(json_t *res)
{
    uint64_t v;
    uint8_t h[32], a[20];
    (void)eth_hex_u64(json_string_value(res), &v);
    (void)eth_hex_u64(json_string_value(json_object_get(res, "number")), &v);
    (void)eth_hex_decode(json_string_value(json_object_get(res, "hash")), h, 32);
    (void)eth_hex_u64(json_string_value(json_object_get(res, "status")), &v);
    const char *ca = json_string_value(json_object_get(res, "contractAddress"));
    if (ca)
        (void)eth_address_parse(ca, a);
    json_t *fees = json_object_get(res, "baseFeePerGas");
    if (json_array_size(fees))
        (void)eth_hex_u64(json_string_value(json_array_get(fees, json_array_size(fees) - 1)), &v);
    eth_buf b;
    eth_buf_init(&b);
    (void)eth_hex_decode_buf(json_string_value(res), &b);
    eth_buf_free(&b);
}

static void check(long http, const char *body, size_t len, int attempt)
{
    json_t *res = (json_t *)&res; /* must be overwritten */
    eth_error err;
    memset(&err, 'x', sizeof err);
    int retry = 7;
    long wait = -7;
    int rc = eth_rpc_answer_read(body, len, http, "http://node.test", attempt, &res, &err, &retry,
                                 &wait);
    FUZZ_CHECK(err.http_status == (int)http, "http_status %d for %ld", err.http_status, http);
    FUZZ_CHECK(memchr(err.message, 0, sizeof err.message) && memchr(err.reason, 0, sizeof err.reason),
               "message or reason not terminated");
    FUZZ_CHECK(err.data_len <= sizeof err.data, "revert data of %zu bytes", err.data_len);
    FUZZ_CHECK(retry == 0 || retry == 1, "retry %d", retry);
    FUZZ_CHECK(wait == -1 || (wait >= 0 && wait <= 86400L * 1000), "wait %ld ms", wait);
    if (rc == ETH_OK) {
        FUZZ_CHECK(res && res != (json_t *)&res, "ETH_OK without a result");
        FUZZ_CHECK(!retry && !err.message[0], "ETH_OK with a retry or a message: %s", err.message);
        char *text = json_dumps(res, JSON_ENCODE_ANY | JSON_COMPACT);
        FUZZ_CHECK(text, "the result does not print");
        json_t *back = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        FUZZ_CHECK(back && json_equal(back, res), "result round trip: %s", text);
        json_decref(back);
        free(text);
        use_result(res);
        json_decref(res);
        return;
    }
    FUZZ_CHECK(!res, "a refusal (%d) with a result", rc);
    FUZZ_CHECK(rc == ETH_EIO || rc == ETH_EPROTO || rc == ETH_ERPC || rc == ETH_EREVERT ||
                   rc == ETH_ENONCE || rc == ETH_EFUNDS || rc == ETH_EUNDERPRICED ||
                   rc == ETH_ERATELIMIT,
               "unexpected code %d", rc);
    FUZZ_CHECK(err.message[0], "a refusal (%d) without a message", rc);
    FUZZ_CHECK(!retry || rc == ETH_ERATELIMIT || rc == ETH_EIO, "retry on %d", rc);
    if (err.data_len) {
        char reason[64];
        eth_abi_decode_revert(NULL, err.data, err.data_len, reason, sizeof reason);
        FUZZ_CHECK(memchr(reason, 0, sizeof reason), "revert reason not terminated");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    const uint8_t *line;
    size_t n = fuzz_part(&in, '\n', &line);
    long http = 200;
    const uint8_t *body = data;
    size_t len = size;
    if (n > 0 && n <= 3 && in.n + n < size) {
        int digits = 1;
        for (size_t i = 0; i < n; i++)
            digits = digits && line[i] >= '0' && line[i] <= '9';
        if (digits) {
            http = 0;
            for (size_t i = 0; i < n; i++)
                http = http * 10 + (line[i] - '0');
            body = in.p;
            len = in.n;
        }
    }
    check(http, (const char *)body, len, 1);
    check(http, (const char *)body, len, 3);
    check(http, NULL, 0, 2); /* an answer that did not fit in memory */
    return 0;
}
