/* Results to the chain, measured (README "Benchmark"): the time from an agreed result to its
 * confirmed transaction on anvil (automine, one confirmation), over a few hundred results.
 *
 *   build/bench/oracle_latency [RESULTS [GAP_MS]]   (default 300 results, one every 500 ms;
 *                                                   `make bench-oracle-latency`)
 *
 * A fresh anvil, MatchOracle deployed 2-of-3 with the nodes' keys, three release-built parlayd
 * (build/parlayd) football nodes, each reading its own parlay-feedsim of a generated scenario:
 * RESULTS games whose final results come out one every GAP_MS (simulated at speed 10).
 * Each node logs the apply of the agreed result (event=observation_agreed subject=result/ID)
 * and the leader logs the commit of its confirmation (event=oracle_confirmed fixture=ID) with
 * millisecond timestamps; the latency of a result is the second minus the first of these on
 * the node that led (the earliest agreement line when leadership moved). Also printed: the gas
 * of each submission (two signatures). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "oracle/oracle.h"
#include "oracle/tests/anvil.h"
#include "tests/feedsim/simproc.h"
#include "tests/integration/harness.h"

#define SENDER_KEY "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
#define MAX_RESULTS 5000

static int nresults = 300, gap_ms = 500;

struct sample {
    char id[32];
    double agreed_ms, submitted_ms, confirmed_ms;
    uint64_t gas;
};

static struct sample samples[MAX_RESULTS];

static void write_key(const char *dir, const eth_key *k)
{
    mkdir(dir, 0700);
    char p[600];
    snprintf(p, sizeof p, "%s/node.key", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    for (int i = 0; i < 32; i++)
        fprintf(f, "%02x", k->secret[i]);
    fprintf(f, "\n");
    fclose(f);
    chmod(p, 0600);
}

static int find(const char *id)
{
    for (int i = 0; i < nresults; i++)
        if (!strcmp(samples[i].id, id))
            return i;
    return -1;
}

/* "ts=2026-12-04T14:47:07.509Z" -> milliseconds of the day. */
static bool ts_ms(const char *line, double *out)
{
    const char *t = strstr(line, "ts=");
    int h, m, s, ms;
    if (!t || sscanf(t + 3, "%*4d-%*2d-%*2dT%2d:%2d:%2d.%3dZ", &h, &m, &s, &ms) != 4)
        return false;
    *out = ((h * 60.0 + m) * 60.0 + s) * 1000.0 + ms;
    return true;
}

static void read_log(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        double t;
        char id[64];
        const char *p;
        static const char agreed[] = "event=observation_agreed subject=result/",
                          done[] = "event=oracle_confirmed fixture=",
                          sent[] = "event=oracle_submitted fixture=";
        if ((p = strstr(line, agreed)) && sscanf(p + sizeof agreed - 1, "%63s", id) == 1 &&
            ts_ms(line, &t)) {
            int i = find(id);
            if (i >= 0 && (samples[i].agreed_ms == 0 || t < samples[i].agreed_ms))
                samples[i].agreed_ms = t;
        } else if ((p = strstr(line, sent)) && sscanf(p + sizeof sent - 1, "%63s", id) == 1 &&
                   ts_ms(line, &t)) {
            int i = find(id);
            if (i >= 0)
                samples[i].submitted_ms = t;
        } else if ((p = strstr(line, done)) && sscanf(p + sizeof done - 1, "%63s", id) == 1 &&
                   ts_ms(line, &t)) {
            int i = find(id);
            const char *g = strstr(line, "gas_used=");
            if (i >= 0) {
                samples[i].confirmed_ms = t;
                samples[i].gas = g ? strtoull(g + 9, NULL, 10) : 0;
            }
        }
    }
    fclose(f);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void bench(void **state)
{
    (void)state;
    anvil chain;
    assert_int_equal(anvil_start(&chain, NULL), 0);
    eth_rpc *rpc = eth_rpc_new(&(eth_rpc_config){.url = chain.url, .timeout_ms = 5000});
    oracle_artefact art;
    eth_error err;
    if (oracle_artefact_load(&art, NULL, &err) != ETH_OK)
        fail_msg("%s", err.message);
    eth_key deployer, nodes[3];
    assert_int_equal(eth_key_from_hex(&deployer, ANVIL_KEY0), ETH_OK);
    for (int i = 0; i < 3; i++)
        test_node_key(i + 1, &nodes[i]);
    char jp[200], sender_file[200], scen[200];
    snprintf(jp, sizeof jp, "%s/deployer.jsonl", chain.dir);
    snprintf(sender_file, sizeof sender_file, "%s/sender.key", chain.dir);
    snprintf(scen, sizeof scen, "%s/results.json", chain.dir);
    FILE *kf = fopen(sender_file, "w");
    fprintf(kf, "%s\n", SENDER_KEY);
    fclose(kf);
    chmod(sender_file, 0600);
    oracle_journal j;
    assert_int_equal(oracle_journal_file_open(&j, jp, NULL), ETH_OK);
    oracle_txm *m = oracle_txm_new(rpc, &deployer, &j, &(oracle_txm_config){.confirmations = 1});
    uint8_t signers[3][20], contract[20];
    for (int i = 0; i < 3; i++)
        memcpy(signers[i], nodes[i].address, 20);
    uint64_t id;
    assert_int_equal(oracle_deploy(m, &art, (const uint8_t(*)[20])signers, 3, 2, &id, contract,
                                   &err),
                     ETH_OK);
    assert_int_equal(oracle_txm_wait(m, id, 60000, 20, &err), ETH_OK);

    /* The scenario: a result every gap_ms (real time), each game announced 3 s (real) before
     * its result. Not all at once: every agreed result makes every pre-match fixture due for
     * new prices (the ratings moved), and 300 fixtures re-quoted 300 times would measure the
     * quote rounds, not the oracle. */
    json_t *fx = json_array();
    for (int i = 0; i < nresults; i++) {
        double t = 40.0 + gap_ms / 100.0 * i; /* simulated seconds (speed 10) */
        snprintf(samples[i].id, sizeof samples[i].id, "OL-%04d", i + 1);
        char home[32], away[32];
        snprintf(home, sizeof home, "Home %04d", i + 1);
        snprintf(away, sizeof away, "Away %04d", i + 1);
        json_array_append_new(
            fx, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:[], s:{s:f, s:s, s:i, s:i}}",
                          "id", samples[i].id, "sport", "football", "competition",
                          "Bench League", "home", home, "away", away, "kickoff",
                          "2026-11-28T15:00:00Z", "announce", (int)(t - 30), "start", (int)(t - 10),
                          "events", "result", "at", t - (int)(t - 10), "status", "final", "home", 0,
                          "away", 0)); /* no events: the score must be 0-0 */
    }
    json_t *sc = json_pack("{s:s, s:o}", "name", "oracle latency", "fixtures", fx);
    assert_int_equal(json_dump_file(sc, scen, JSON_INDENT(1)), 0);
    json_decref(sc);

    struct h_cluster c;
    struct simproc sims[3];
    for (int i = 0; i < 3; i++) {
        const char *args[] = {"--speed", "10", NULL};
        simproc_start(&sims[i], scen, args);
    }
    h_cluster_init(&c, 3);
    char ca[43];
    eth_hex_write(contract, 20, ca);
    for (int i = 0; i < 3; i++) {
        write_key(c.nodes[i].dir, &nodes[i]);
        snprintf(c.node_extra[i], sizeof c.node_extra[i],
                 "{\"feed_url\": \"%s\", \"feed_adapter\": \"sse\", \"heartbeat_timeout_ms\": 20, "
                 "\"oracle\": {\"rpc\": \"%s\", \"chain_id\": 31337, \"contract\": \"%s\", "
                 "\"sender_key_file\": \"%s\", \"confirmations\": 1}}",
                 sims[i].url, chain.url, ca, sender_file);
    }
    h_cluster_write_configs(&c);
    h_start_cluster(&c);

    /* Until every result is confirmed (or a generous deadline). */
    double deadline = h_now() + 60 + nresults * (1.0 + gap_ms / 1000.0);
    long confirmed = 0, already = 0, failed = 0;
    while (h_now() < deadline && confirmed + already + failed < nresults) {
        int l = h_wait_leader(&c, 5000);
        struct h_resp st = h_http(&c, l < 0 ? 0 : l, "GET", "/admin/v1/oracle", NULL, NULL, true);
        json_t *res = json_object_get(st.json, "results");
        confirmed = (long)json_integer_value(json_object_get(res, "confirmed"));
        already = (long)json_integer_value(json_object_get(res, "already"));
        failed = (long)json_integer_value(json_object_get(res, "failed"));
        h_resp_free(&st);
        h_sleep_ms(500);
    }
    for (int i = 0; i < 3; i++)
        read_log(c.nodes[i].log);
    double lat[MAX_RESULTS], to_sub[MAX_RESULTS];
    int n = 0, ns = 0;
    uint64_t gmin = UINT64_MAX, gmax = 0;
    for (int i = 0; i < nresults; i++) {
        if (!samples[i].agreed_ms || !samples[i].confirmed_ms)
            continue;
        lat[n++] = samples[i].confirmed_ms - samples[i].agreed_ms;
        if (samples[i].submitted_ms)
            to_sub[ns++] = samples[i].submitted_ms - samples[i].agreed_ms;
        if (samples[i].gas < gmin)
            gmin = samples[i].gas;
        if (samples[i].gas > gmax)
            gmax = samples[i].gas;
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    qsort(to_sub, (size_t)ns, sizeof *to_sub, cmp_double);
    if (ns > 0)
        printf("of which agreed -> signatures committed and transaction journaled (ms): p50 %.0f "
               "p99 %.0f\n",
               to_sub[ns / 2], to_sub[(ns * 99) / 100 < ns ? (ns * 99) / 100 : ns - 1]);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += lat[i];
    printf("results confirmed: %ld of %d, one every %d ms (already on chain: %ld, failed: %ld; "
           "samples with both log lines: %d)\n",
           confirmed, nresults, gap_ms, already, failed, n);
    if (n > 0)
        printf("agreed result -> confirmed on chain (ms): p50 %.0f  p90 %.0f  p99 %.0f  max %.0f  "
               "mean %.0f\n"
               "gas per submission (2 signatures): %llu..%llu\n",
               lat[n / 2], lat[(n * 90) / 100], lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1],
               lat[n - 1], sum / n, (unsigned long long)gmin, (unsigned long long)gmax);
    h_cluster_destroy(&c);
    for (int i = 0; i < 3; i++)
        simproc_stop(&sims[i]);
    oracle_txm_free(m);
    oracle_journal_close(&j);
    eth_rpc_free(rpc);
    oracle_artefact_free(&art);
    anvil_cleanup(&chain);
    assert_int_equal(confirmed, nresults);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        nresults = atoi(argv[1]);
    if (argc > 2)
        gap_ms = atoi(argv[2]);
    if (nresults < 1 || nresults > MAX_RESULTS || gap_ms < 10 || gap_ms > 60000) {
        fprintf(stderr, "usage: oracle_latency [RESULTS 1..%d [GAP_MS 10..60000]]\n",
                MAX_RESULTS);
        return 2;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(bench)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    simproc_stop_all();
    return rc;
}
