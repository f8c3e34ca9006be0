/* The JSON-RPC client against a scripted HTTP server on 127.0.0.1: what it does with rate
 * limits (HTTP 429, -32005 with backoff_seconds), server errors, and where the API key goes. */
#include "oracle/oracle.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

typedef struct reply
{
    int status;
    const char* body;
} reply;

typedef struct server
{
    int fd, port;
    const reply* script;
    size_t n, served;
    char paths[8][128];
    pthread_t thread;
} server;

static void* serve(void* arg)
{
    server* s = arg;
    for (; s->served < s->n; s->served++) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            break;
        char req[8192];
        size_t got = 0;
        char* end = NULL;
        while (got < sizeof req - 1 && !end) {
            ssize_t k = read(c, req + got, sizeof req - 1 - got);
            if (k <= 0)
                break;
            got += (size_t)k;
            req[got] = 0;
            end = strstr(req, "\r\n\r\n");
        }
        if (end) {
            size_t clen = 0;
            char* cl = strcasestr(req, "Content-Length:");
            if (cl)
                clen = strtoul(cl + 15, NULL, 10);
            while (got < (size_t)(end + 4 - req) + clen && got < sizeof req - 1) {
                ssize_t k = read(c, req + got, sizeof req - 1 - got);
                if (k <= 0)
                    break;
                got += (size_t)k;
            }
        }
        if (s->served < 8)
            sscanf(req, "POST %127s", s->paths[s->served]);
        const reply* r = &s->script[s->served];
        char head[256];
        int hl = snprintf(head, sizeof head,
                          "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                          r->status, strlen(r->body));
        if (write(c, head, (size_t)hl) < 0 || write(c, r->body, strlen(r->body)) < 0)
            perror("write");
        close(c);
    }
    return NULL;
}

static void server_start(server* s, const reply* script, size_t n)
{
    memset(s, 0, sizeof *s);
    s->script = script;
    s->n = n;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    assert_int_equal(bind(s->fd, (struct sockaddr*)&sa, sizeof sa), 0);
    assert_int_equal(listen(s->fd, 8), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr*)&sa, &len), 0);
    s->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(server* s)
{
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static eth_rpc* client(const server* s, const char* key, int attempts)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v3", s->port);
    eth_rpc_config cfg = {.url = url,
                          .api_key = key,
                          .timeout_ms = 5000,
                          .max_attempts = attempts,
                          .backoff_ms = 1,
                          .max_backoff_ms = 20};
    eth_rpc* r = eth_rpc_new(&cfg);
    assert_non_null(r);
    return r;
}

static void test_rate_limits_back_off_and_retry(void** state)
{
    (void)state;
    static const reply script[] = {
        {429, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32005,\"message\":\"rate\"}}"},
        {200,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32005,\"message\":"
         "\"project ID request rate exceeded\",\"data\":{\"backoff_seconds\":0.01}}}"},
        {503, "<html>busy</html>"},
        {200, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x7a69\"}"},
    };
    server s;
    server_start(&s, script, 4);
    eth_rpc* r = client(&s, "SECRETKEY", 5);
    uint64_t id = 0;
    eth_error err;
    assert_int_equal(eth_rpc_chain_id(r, &id, &err), ETH_OK);
    assert_int_equal(id, 31337);
    eth_rpc_free(r);
    server_stop(&s);
    assert_int_equal(s.served, 4);
    assert_string_equal(s.paths[0], "/v3/SECRETKEY"); /* Infura style */
}

static void test_rate_limit_gives_up_without_leaking_key(void** state)
{
    (void)state;
    static const reply script[] = {
        {429, "{}"},
        {429, "{}"},
        {429, "{}"},
    };
    server s;
    server_start(&s, script, 3);
    eth_rpc* r = client(&s, "SECRETKEY", 3);
    uint64_t id;
    eth_error err;
    assert_int_equal(eth_rpc_chain_id(r, &id, &err), ETH_ERATELIMIT);
    assert_int_equal(err.http_status, 429);
    assert_non_null(strstr(err.message, "3 attempts"));
    assert_null(strstr(err.message, "SECRETKEY"));
    eth_rpc_free(r);
    server_stop(&s);
}

static void test_errors_classified_by_text(void** state)
{
    (void)state;
    static const reply script[] = {
        {200,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,\"message\":\"nonce too "
         "low\"}}"},
        {200,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32003,\"message\":\"replacement "
         "transaction underpriced\"}}"},
        {200,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,\"message\":\"already "
         "known\"}}"},
        {200,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":3,\"message\":\"execution "
         "reverted\",\"data\":"
         "\"0x08c379a000000000000000000000000000000000000000000000000000000000000000200000000000000"
         "0000000000000000000000000000000000000000000000000026e6f0000000000000000000000000000000000"
         "00000000000000000000000000\"}}"},
        {401,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32002,\"message\":\"invalid project "
         "id\"}}"},
    };
    server s;
    server_start(&s, script, 5);
    eth_rpc* r = client(&s, NULL, 2);
    uint8_t raw[3] = {1, 2, 3}, h[32];
    eth_error err;
    assert_int_equal(eth_rpc_send_raw(r, raw, 3, h, &err), ETH_ENONCE);
    assert_int_equal(eth_rpc_send_raw(r, raw, 3, h, &err), ETH_EUNDERPRICED);
    assert_int_equal(eth_rpc_send_raw(r, raw, 3, h, &err), ETH_OK); /* a re-broadcast */
    uint64_t gas;
    uint8_t to[20] = {0};
    assert_int_equal(eth_rpc_estimate_gas(r, NULL, to, raw, 3, &gas, &err), ETH_EREVERT);
    char reason[64];
    eth_abi_decode_revert(NULL, err.data, err.data_len, reason, sizeof reason);
    assert_string_equal(reason, "no");
    uint64_t id;
    assert_int_equal(eth_rpc_chain_id(r, &id, &err), ETH_ERPC); /* 401: not retried */
    assert_string_equal(err.message, "invalid project id");
    eth_rpc_free(r);
    server_stop(&s);
    assert_int_equal(s.served, 5);
}

/* A wait the node asks for that is negative or absurd: our own back-off, not a hang (a negative
 * wait made sleep_ms spin on EINVAL forever) nor an overflow. */
static void test_backoff_out_of_range(void** state)
{
    (void)state;
    static const reply script[] = {
        {200,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32005,\"message\":\"limit "
         "exceeded\",\"data\":{\"backoff_seconds\":-1}}}"},
        {200,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32005,\"message\":\"limit "
         "exceeded\",\"data\":{\"backoff_seconds\":1e300}}}"},
        {200, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x7a69\"}"},
    };
    server s;
    server_start(&s, script, 3);
    eth_rpc* r = client(&s, NULL, 3);
    uint64_t id = 0;
    eth_error err;
    assert_int_equal(eth_rpc_chain_id(r, &id, &err), ETH_OK);
    assert_int_equal(id, 31337);
    eth_rpc_free(r);
    server_stop(&s);
    assert_int_equal(s.served, 3);
}

/* The answer reader alone (no HTTP): what the call loop decides from the bytes. */
static void test_answer_read(void** state)
{
    (void)state;
    struct json_t* res;
    eth_error err;
    int retry;
    long wait;
    const char ok[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"}";
    assert_int_equal(eth_rpc_answer_read(ok, sizeof ok - 1, 200, "n", 1, &res, &err, &retry, &wait),
                     ETH_OK);
    assert_non_null(res);
    assert_int_equal(retry, 0);
    assert_int_equal(wait, -1);
    json_decref(res);
    assert_int_equal(eth_rpc_answer_read("<html>", 6, 400, "n", 1, &res, &err, &retry, &wait),
                     ETH_EPROTO);
    assert_null(res);
    assert_non_null(strstr(err.message, "not JSON"));
    assert_int_equal(eth_rpc_answer_read("<html>", 6, 502, "n", 1, &res, &err, &retry, &wait),
                     ETH_EIO);
    assert_int_equal(retry, 1);
    const char rl[] = "{\"error\":{\"code\":-32005,\"message\":\"x\",\"data\":{\"backoff_seconds\":2}}}";
    assert_int_equal(eth_rpc_answer_read(rl, sizeof rl - 1, 200, "n", 2, &res, &err, &retry, &wait),
                     ETH_ERATELIMIT);
    assert_int_equal(wait, 2000);
    assert_non_null(strstr(err.message, "2 attempts"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_limits_back_off_and_retry),
        cmocka_unit_test(test_rate_limit_gives_up_without_leaking_key),
        cmocka_unit_test(test_errors_classified_by_text),
        cmocka_unit_test(test_backoff_out_of_range),
        cmocka_unit_test(test_answer_read),
    };
    return cmocka_run_group_tests_name("oracle json-rpc", tests, NULL, NULL);
}
