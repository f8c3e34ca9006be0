/* The accounts cluster with a payment provider configured (key `payments`, node/pay.h): three
 * accounts nodes start with the pay stand-in's settings from the harness (h_paystandin_start,
 * h_paystandin_config) and serve, and the stand-in they point at answers its API with the key
 * from the same file. A node is refused at start, with a message naming the key, when its
 * provider's key file is readable by others, when its api_url is plain http to another host,
 * and when it is a sport node. (The wallet routes that use the provider are not here yet.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/integration/harness.h"

#ifndef PARLAYD
#define PARLAYD "build/parlayd-san"
#endif

static struct h_paystandin ps;

static int setup(void **state)
{
    (void)state;
    return h_paystandin_start(&ps, "it-pay-secret", "it-pay-key-0123456789");
}

static int teardown(void **state)
{
    (void)state;
    h_paystandin_stop(&ps);
    return 0;
}

static void accounts_nodes_start_with_payments(void **state)
{
    (void)state;
    char extra[2048];
    h_paystandin_config(&ps, extra, sizeof extra);
    json_t *j = json_loads(extra, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "payments"),
                                                          "api_url")),
                        ps.url);
    json_decref(j);
    struct h_cluster c;
    h_start_accounts(&c, extra);
    for (int i = 0; i < c.n; i++) {
        assert_true(h_wait_ready(&c, i, H_WAIT_MS));
        assert_int_equal(h_log_count(&c, i, ps.api_key), 0); /* never logged */
    }
    /* The stand-in the nodes point at takes the key the nodes were given. */
    const char *hdr[] = {"Authorization: Bearer it-pay-key-0123456789",
                         "Content-Type: application/json", "Idempotency-Key: it-1", NULL};
    int port = atoi(strrchr(ps.url, ':') + 1);
    struct h_resp r = h_http_raw(port, "POST", "/v1/payments",
                                 "{\"amount\":500,\"currency\":\"EUR\",\"reference\":\"dep-it\","
                                 "\"callback\":\"http://127.0.0.1:1/cb\"}",
                                 hdr, 10000);
    assert_int_equal(r.status, 201);
    assert_int_equal(strncmp(json_string_value(json_object_get(r.json, "id")), "pay_", 4), 0);
    h_resp_free(&r);
    h_cluster_destroy(&c);
}

/* Start node 1 of @c with @extra merged into its config; it must exit 1 at once with @needle
 * in what it printed. */
static void refused(struct h_cluster *c, const char *extra, const char *needle)
{
    snprintf(c->node_extra[0], sizeof c->node_extra[0], "%s", extra);
    h_cluster_write_configs(c);
    char out[512];
    snprintf(out, sizeof out, "%s/refused.log", c->root);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(PARLAYD, PARLAYD, "--config", c->nodes[0].config, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    char log[1024] = "";
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    size_t n = fread(log, 1, sizeof log - 1, f);
    log[n] = 0;
    fclose(f);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 1 || !strstr(log, needle))
        fail_msg("expected exit 1 naming \"%s\", got %d: %s", needle, st, log);
    assert_null(strstr(log, ps.api_key));
}

static void bad_payments_refused_at_start(void **state)
{
    (void)state;
    char extra[2048];
    h_paystandin_config(&ps, extra, sizeof extra);
    json_t *good = json_loads(extra, 0, NULL);
    struct h_cluster c;
    h_cluster_init(&c, 1);
    c.role = "accounts";

    /* The API key readable by others. */
    char open_key[600];
    snprintf(open_key, sizeof open_key, "%s/open.key", c.root);
    FILE *f = fopen(open_key, "w");
    fprintf(f, "%s\n", ps.api_key);
    fclose(f);
    chmod(open_key, 0644);
    json_t *j = json_deep_copy(good);
    json_object_set_new(json_object_get(j, "payments"), "api_key_file", json_string(open_key));
    char *t = json_dumps(j, JSON_COMPACT);
    refused(&c, t, "chmod 600");
    free(t);
    json_decref(j);

    /* Plain http to another host. */
    j = json_deep_copy(good);
    json_object_set_new(json_object_get(j, "payments"), "api_url",
                        json_string("http://pay.example.com"));
    t = json_dumps(j, JSON_COMPACT);
    refused(&c, t, "key 'payments': api_url must be https://");
    free(t);
    json_decref(j);

    /* Not an object. */
    refused(&c, "{\"payments\": \"standin\"}", "key 'payments'");

    /* A sport node. */
    c.role = NULL;
    t = json_dumps(good, JSON_COMPACT);
    refused(&c, t, "key 'payments' is for accounts nodes");
    free(t);
    json_decref(good);
    h_cluster_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accounts_nodes_start_with_payments),
        cmocka_unit_test(bad_payments_refused_at_start),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
