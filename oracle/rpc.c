/* JSON-RPC client over libcurl (one handle per eth_rpc; use one eth_rpc per thread).
 *
 * The happy path: POST {"jsonrpc":"2.0","id":n,"method":...,"params":[...]}, read "result".
 *
 * Failure modes and what we do:
 *  - transport (connection refused, DNS, timeout, HTTP 5xx): retry with doubling back-off up to
 *    max_attempts, then ETH_EIO with the curl reason and the number of attempts;
 *  - HTTP 429, or a JSON-RPC rate-limit error (-32005, "rate", "limit exceeded"): back off
 *    (honouring data.backoff_seconds, capped) and retry; ETH_ERATELIMIT when attempts run out;
 *  - HTTP 401/402/403: no retry (a wrong key or an exhausted plan does not heal by waiting);
 *  - a JSON-RPC error: classified on its message text as well as its code, because nodes differ
 *    (anvil says -32003 where geth says -32000 for the same pool errors; a revert is code 3 on
 *    both, with the revert data in "data").
 * The API key is part of the URL and is never copied into an error message. */
#include "oracle/oracle.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct eth_rpc
{
    CURL* curl;
    char* url;     /* with the key */
    char* display; /* without it */
    long timeout_ms;
    int max_attempts;
    long backoff_ms, max_backoff_ms;
    uint64_t next_id;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

eth_rpc* eth_rpc_new(const eth_rpc_config* cfg)
{
    if (!cfg || !cfg->url || !*cfg->url)
        return NULL;
    pthread_once(&curl_once, curl_init_once);
    eth_rpc* r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->curl = curl_easy_init();
    size_t n = strlen(cfg->url) + (cfg->api_key ? strlen(cfg->api_key) + 2 : 1);
    r->url = malloc(n);
    r->display = strdup(cfg->url);
    if (!r->curl || !r->url || !r->display) {
        eth_rpc_free(r);
        return NULL;
    }
    if (cfg->api_key && *cfg->api_key) {
        size_t l = strlen(cfg->url);
        snprintf(r->url, n, "%s%s%s", cfg->url, (l && cfg->url[l - 1] == '/') ? "" : "/",
                 cfg->api_key);
    } else {
        snprintf(r->url, n, "%s", cfg->url);
    }
    r->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
    r->max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : 4;
    r->backoff_ms = cfg->backoff_ms > 0 ? cfg->backoff_ms : 250;
    r->max_backoff_ms = cfg->max_backoff_ms > 0 ? cfg->max_backoff_ms : 30000;
    r->next_id = 1;
    return r;
}

void eth_rpc_free(eth_rpc* r)
{
    if (!r)
        return;
    if (r->curl)
        curl_easy_cleanup(r->curl);
    if (r->url) {
        memset(r->url, 0, strlen(r->url));
        free(r->url);
    }
    free(r->display);
    free(r);
}

static size_t on_body(char* p, size_t size, size_t n, void* ud)
{
    eth_buf_append(ud, p, size * n);
    return ((eth_buf*)ud)->oom ? 0 : size * n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int contains_ci(const char* hay, const char* needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

static int is_rate_limit(long code, const char* msg)
{
    return code == -32005 || contains_ci(msg, "rate limit") || contains_ci(msg, "rate exceeded") ||
           contains_ci(msg, "too many requests") || contains_ci(msg, "limit exceeded");
}

/* Maps a JSON-RPC error to our codes by message first, code second. */
static int classify(long code, const char* msg)
{
    if (contains_ci(msg, "nonce too low"))
        return ETH_ENONCE;
    if (contains_ci(msg, "insufficient funds"))
        return ETH_EFUNDS;
    if (contains_ci(msg, "underpriced") || contains_ci(msg, "less than block base fee"))
        return ETH_EUNDERPRICED;
    if (code == 3 || contains_ci(msg, "execution reverted") || contains_ci(msg, "revert"))
        return ETH_EREVERT;
    return ETH_ERPC;
}

static void take_revert_data(json_t* data, eth_error* err)
{
    if (json_is_object(data))
        data = json_object_get(data, "data");
    const char* hex = json_string_value(data);
    if (!hex)
        return;
    eth_buf b;
    eth_buf_init(&b);
    if (eth_hex_decode_buf(hex, &b) == ETH_OK && b.len) { /* "" or "0x": no data (b.p NULL) */
        err->data_len = b.len < sizeof err->data ? b.len : sizeof err->data;
        memcpy(err->data, b.p, err->data_len);
    }
    eth_buf_free(&b);
}

/* One HTTP exchange. Returns ETH_OK with the answer's bytes in @resp (NUL-terminated; p NULL
 * when they did not fit in memory) and the HTTP status, or a transport error with its reason. */
static int rpc_post(eth_rpc* r, const char* body, eth_buf* resp, long* http, char* why,
                    size_t why_len)
{
    struct curl_slist* hdr = curl_slist_append(NULL, "Content-Type: application/json");
    CURL* c = r->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(hdr);
    *http = 0;
    if (cc != CURLE_OK) {
        snprintf(why, why_len, "%s", curl_easy_strerror(cc));
        return cc == CURLE_OPERATION_TIMEDOUT ? ETH_ETIMEOUT : ETH_EIO;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http);
    eth_buf_byte(resp, 0);
    return ETH_OK;
}

int eth_rpc_answer_read(const char* body,
                        size_t len,
                        long http,
                        const char* display,
                        int attempt,
                        json_t** result,
                        eth_error* err,
                        int* retry,
                        long* wait_ms)
{
    *result = NULL;
    *retry = 0;
    *wait_ms = -1;
    memset(err, 0, sizeof *err);
    err->http_status = (int)http;
    if (!display)
        display = "?";
    /* The text up to the first NUL, as the node's answer has always been read. */
    json_t* reply = body ? json_loadb(body, strnlen(body, len), JSON_ALLOW_NUL, NULL) : NULL;
    int rc;
    if (!reply && http != 429 && http < 500) {
        snprintf(err->message, sizeof err->message,
                 "Ethereum node at %.120s: HTTP %ld with a body that is not JSON", display, http);
        return ETH_EPROTO;
    }
    /* 429 and 5xx bodies are often HTML from a proxy: those are retried below. */
    json_t* e = reply ? json_object_get(reply, "error") : NULL;
    const char* emsg = json_string_value(json_object_get(e, "message"));
    if (http == 429 || (e && is_rate_limit((long)json_integer_value(json_object_get(e, "code")),
                                           emsg ? emsg : ""))) {
        json_t* bs = e ? json_object_get(json_object_get(e, "data"), "backoff_seconds") : NULL;
        double secs = json_number_value(bs);
        /* A wait the node asks for, within a day (negative, NaN or absent: our own back-off). */
        if (json_is_number(bs) && secs >= 0)
            *wait_ms = secs < 86400 ? (long)(secs * 1000) : 86400L * 1000;
        snprintf(err->message, sizeof err->message,
                 "rate limited by the Ethereum node (HTTP %ld, %d attempt%s)", http, attempt,
                 attempt > 1 ? "s" : "");
        rc = ETH_ERATELIMIT;
        *retry = 1;
    } else if (json_is_object(e)) {
        err->code = (long)json_integer_value(json_object_get(e, "code"));
        /* An empty message (or one starting with \u0000) would leave the caller nothing to say. */
        if (emsg && *emsg)
            snprintf(err->message, sizeof err->message, "%s", emsg);
        else
            snprintf(err->message, sizeof err->message, "JSON-RPC error %ld without a message",
                     err->code);
        take_revert_data(json_object_get(e, "data"), err);
        rc = classify(err->code, err->message);
    } else if (http >= 500) {
        snprintf(err->message, sizeof err->message, "Ethereum node at %.120s: HTTP %ld", display,
                 http);
        rc = ETH_EIO;
        *retry = 1;
    } else if (http >= 400 || !json_object_get(reply, "result")) {
        snprintf(err->message, sizeof err->message,
                 "Ethereum node at %.120s: HTTP %ld without a result%s", display, http,
                 (http == 401 || http == 403) ? " (check the API key)" : "");
        rc = http == 402 ? ETH_ERATELIMIT : ETH_EPROTO;
    } else {
        *result = json_incref(json_object_get(reply, "result"));
        rc = ETH_OK;
    }
    json_decref(reply);
    return rc;
}

static int rpc_json(eth_rpc* r,
                    const char* method,
                    const char* params,
                    json_t** result,
                    eth_error* err)
{
    eth_error local;
    if (!err)
        err = &local;
    memset(err, 0, sizeof *err);
    *result = NULL;
    size_t blen = strlen(method) + strlen(params) + 96;
    char* body = malloc(blen);
    if (!body)
        return ETH_ENOMEM;
    snprintf(body, blen, "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"%s\",\"params\":%s}",
             (unsigned long long)r->next_id++, method, params);

    long backoff = r->backoff_ms;
    int rc = ETH_EIO;
    for (int attempt = 1; attempt <= r->max_attempts; attempt++) {
        eth_buf resp;
        eth_buf_init(&resp);
        long http = 0, wait = backoff, asked = -1;
        char why[160] = "";
        int retry = 0;
        rc = rpc_post(r, body, &resp, &http, why, sizeof why);
        if (rc != ETH_OK) {
            memset(err, 0, sizeof *err);
            snprintf(err->message, sizeof err->message,
                     "cannot reach Ethereum node at %.120s: %s (%d attempt%s)", r->display, why,
                     attempt, attempt > 1 ? "s" : "");
            retry = 1;
        } else {
            rc = eth_rpc_answer_read(resp.oom ? NULL : (const char*)resp.p, resp.len, http,
                                     r->display, attempt, result, err, &retry, &asked);
            if (asked >= 0)
                wait = asked;
        }
        eth_buf_free(&resp);
        if (!retry || attempt == r->max_attempts)
            break;
        if (wait > r->max_backoff_ms)
            wait = r->max_backoff_ms;
        sleep_ms(wait);
        backoff = backoff * 2 > r->max_backoff_ms ? r->max_backoff_ms : backoff * 2;
    }
    free(body);
    return rc;
}

int eth_rpc_call(eth_rpc* r,
                 const char* method,
                 const char* params,
                 char** result_json,
                 eth_error* err)
{
    json_t* res;
    int rc = rpc_json(r, method, params ? params : "[]", &res, err);
    if (rc != ETH_OK)
        return rc;
    *result_json = json_dumps(res, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(res);
    return *result_json ? ETH_OK : ETH_ENOMEM;
}

static int proto_error(eth_error* err, const char* method)
{
    if (err)
        snprintf(err->message, sizeof err->message, "%s: unexpected result", method);
    return ETH_EPROTO;
}

static int rpc_quantity(eth_rpc* r,
                        const char* method,
                        const char* params,
                        uint64_t* out,
                        eth_error* err)
{
    json_t* res;
    int rc = rpc_json(r, method, params, &res, err);
    if (rc != ETH_OK)
        return rc;
    rc = eth_hex_u64(json_string_value(res), out);
    json_decref(res);
    return rc == ETH_OK ? ETH_OK : proto_error(err, method);
}

int eth_rpc_chain_id(eth_rpc* r, uint64_t* out, eth_error* err)
{
    return rpc_quantity(r, "eth_chainId", "[]", out, err);
}

int eth_rpc_block_number(eth_rpc* r, uint64_t* out, eth_error* err)
{
    return rpc_quantity(r, "eth_blockNumber", "[]", out, err);
}

int eth_rpc_gas_price(eth_rpc* r, uint64_t* out, eth_error* err)
{
    return rpc_quantity(r, "eth_gasPrice", "[]", out, err);
}

int eth_rpc_nonce(eth_rpc* r,
                  const uint8_t addr[20],
                  const char* tag,
                  uint64_t* out,
                  eth_error* err)
{
    char a[43], params[128];
    eth_hex_write(addr, 20, a);
    snprintf(params, sizeof params, "[\"%s\",\"%s\"]", a, tag);
    return rpc_quantity(r, "eth_getTransactionCount", params, out, err);
}

static void tag_param(const char* tag, char* out, size_t n)
{
    if (isdigit((unsigned char)tag[0]))
        snprintf(out, n, "\"0x%llx\"", strtoull(tag, NULL, 10));
    else
        snprintf(out, n, "\"%s\"", tag);
}

int eth_rpc_block(eth_rpc* r,
                  const char* tag,
                  uint64_t* number,
                  uint8_t hash[32],
                  uint64_t* base_fee,
                  int* has_base_fee,
                  eth_error* err)
{
    char t[48], params[80];
    tag_param(tag, t, sizeof t);
    snprintf(params, sizeof params, "[%s,false]", t);
    json_t* res;
    int rc = rpc_json(r, "eth_getBlockByNumber", params, &res, err);
    if (rc != ETH_OK)
        return rc;
    if (json_is_null(res)) {
        json_decref(res);
        if (err)
            snprintf(err->message, sizeof err->message, "no block %s", tag);
        return ETH_ENOTFOUND;
    }
    uint64_t num = 0, fee = 0;
    rc = eth_hex_u64(json_string_value(json_object_get(res, "number")), &num);
    if (rc == ETH_OK && hash)
        rc = eth_hex_decode(json_string_value(json_object_get(res, "hash")), hash, 32);
    int has_fee =
        eth_hex_u64(json_string_value(json_object_get(res, "baseFeePerGas")), &fee) == ETH_OK;
    json_decref(res);
    if (rc != ETH_OK)
        return proto_error(err, "eth_getBlockByNumber");
    if (number)
        *number = num;
    if (base_fee)
        *base_fee = fee;
    if (has_base_fee)
        *has_base_fee = has_fee;
    return ETH_OK;
}

int eth_rpc_suggest_fees(eth_rpc* r, uint64_t* max_fee, uint64_t* tip, int* eip1559, eth_error* err)
{
    uint64_t base = 0;
    int has_base = 0;
    int rc = eth_rpc_block(r, "latest", NULL, NULL, &base, &has_base, err);
    if (rc != ETH_OK)
        return rc;
    if (!has_base) {
        *eip1559 = 0;
        *tip = 0;
        return eth_rpc_gas_price(r, max_fee, err);
    }
    *eip1559 = 1;
    /* The base fee of the next block: the last entry of feeHistory's baseFeePerGas. */
    json_t* fh;
    if (rpc_json(r, "eth_feeHistory", "[\"0x1\",\"latest\",[]]", &fh, NULL) == ETH_OK) {
        json_t* fees = json_object_get(fh, "baseFeePerGas");
        uint64_t next;
        if (json_array_size(fees) &&
            eth_hex_u64(json_string_value(json_array_get(fees, json_array_size(fees) - 1)),
                        &next) == ETH_OK)
            base = next;
        json_decref(fh);
    }
    uint64_t t = 0;
    if (rpc_quantity(r, "eth_maxPriorityFeePerGas", "[]", &t, NULL) != ETH_OK || t == 0)
        t = 1000000000ULL; /* 1 gwei, the usual default when the node has no suggestion */
    *tip = t;
    *max_fee = 2 * base + t;
    return ETH_OK;
}

static char* call_object(const uint8_t* from, const uint8_t* to, const uint8_t* data, size_t n)
{
    char* d = eth_hex_encode(data, n);
    if (!d)
        return NULL;
    size_t len = strlen(d) + 160;
    char* s = malloc(len);
    if (s) {
        char f[43] = "", t[43] = "";
        if (from)
            eth_hex_write(from, 20, f);
        if (to)
            eth_hex_write(to, 20, t);
        snprintf(s, len, "{%s%s%s%s%s%s\"data\":\"%s\"}", from ? "\"from\":\"" : "", f,
                 from ? "\"," : "", to ? "\"to\":\"" : "", t, to ? "\"," : "", d);
    }
    free(d);
    return s;
}

int eth_rpc_estimate_gas(eth_rpc* r,
                         const uint8_t* from,
                         const uint8_t* to,
                         const uint8_t* data,
                         size_t n,
                         uint64_t* gas,
                         eth_error* err)
{
    char* obj = call_object(from, to, data, n);
    if (!obj)
        return ETH_ENOMEM;
    size_t len = strlen(obj) + 8;
    char* params = malloc(len);
    if (!params) {
        free(obj);
        return ETH_ENOMEM;
    }
    snprintf(params, len, "[%s]", obj);
    int rc = rpc_quantity(r, "eth_estimateGas", params, gas, err);
    free(obj);
    free(params);
    return rc;
}

int eth_rpc_call_contract(eth_rpc* r,
                          const uint8_t to[20],
                          const uint8_t* data,
                          size_t n,
                          eth_buf* out,
                          eth_error* err)
{
    char* obj = call_object(NULL, to, data, n);
    if (!obj)
        return ETH_ENOMEM;
    size_t len = strlen(obj) + 16;
    char* params = malloc(len);
    if (!params) {
        free(obj);
        return ETH_ENOMEM;
    }
    snprintf(params, len, "[%s,\"latest\"]", obj);
    json_t* res;
    int rc = rpc_json(r, "eth_call", params, &res, err);
    free(obj);
    free(params);
    if (rc != ETH_OK)
        return rc;
    eth_buf_reset(out);
    rc = eth_hex_decode_buf(json_string_value(res), out);
    json_decref(res);
    return rc == ETH_OK ? ETH_OK : proto_error(err, "eth_call");
}

int eth_rpc_send_raw(eth_rpc* r, const uint8_t* raw, size_t n, uint8_t hash[32], eth_error* err)
{
    eth_keccak256(raw, n, hash);
    char* hex = eth_hex_encode(raw, n);
    if (!hex)
        return ETH_ENOMEM;
    size_t len = strlen(hex) + 8;
    char* params = malloc(len);
    if (!params) {
        free(hex);
        return ETH_ENOMEM;
    }
    snprintf(params, len, "[\"%s\"]", hex);
    free(hex);
    json_t* res;
    eth_error local;
    if (!err)
        err = &local;
    int rc = rpc_json(r, "eth_sendRawTransaction", params, &res, err);
    free(params);
    if (rc == ETH_OK) {
        json_decref(res);
        return ETH_OK;
    }
    /* The same bytes again (a re-broadcast): the node already has them. */
    if (contains_ci(err->message, "already known") ||
        contains_ci(err->message, "known transaction"))
        return ETH_OK;
    return rc;
}

int eth_rpc_receipt(eth_rpc* r, const uint8_t hash[32], eth_receipt* rc_out, eth_error* err)
{
    char h[67], params[80];
    eth_hex_write(hash, 32, h);
    snprintf(params, sizeof params, "[\"%s\"]", h);
    json_t* res;
    memset(rc_out, 0, sizeof *rc_out);
    int rc = rpc_json(r, "eth_getTransactionReceipt", params, &res, err);
    if (rc != ETH_OK)
        return rc;
    if (json_is_null(res)) {
        json_decref(res);
        return ETH_OK; /* pending, unknown, dropped or reorged out */
    }
    uint64_t status = 0;
    int ok = eth_hex_u64(json_string_value(json_object_get(res, "status")), &status) == ETH_OK &&
             eth_hex_u64(json_string_value(json_object_get(res, "blockNumber")),
                         &rc_out->block_number) == ETH_OK &&
             eth_hex_decode(json_string_value(json_object_get(res, "blockHash")),
                            rc_out->block_hash, 32) == ETH_OK;
    (void)eth_hex_u64(json_string_value(json_object_get(res, "gasUsed")), &rc_out->gas_used);
    (void)eth_hex_u64(json_string_value(json_object_get(res, "effectiveGasPrice")),
                      &rc_out->effective_gas_price);
    const char* ca = json_string_value(json_object_get(res, "contractAddress"));
    rc_out->has_contract = ca && eth_address_parse(ca, rc_out->contract) == ETH_OK;
    json_decref(res);
    if (!ok) {
        /* A receipt without a block is a pending one on some nodes: treat it as absent. */
        memset(rc_out, 0, sizeof *rc_out);
        return ETH_OK;
    }
    rc_out->found = 1;
    rc_out->status = (int)status;
    return ETH_OK;
}
