/* Results to the chain end to end (issue 13): anvil, the MatchOracle contract deployed 2-of-3
 * with the three football nodes' keys, three real parlayd processes each reading its own real
 * parlay-feedsim, and the result of FB-1001 (4-2 in tests/feedsim/scenarios/football.json).
 *
 *   lands once        node 3's simulator lies about the score: the agreed result (4-2) is
 *                     confirmed on chain once (one ResultReported log, one transaction from the
 *                     cluster's sender), its signatures recover to the nodes' keys, the contract
 *                     holds 4-2, and GET /v1/fixtures/{id}/result shows the transaction;
 *   journaled, kill   mining off: once the submission is journaled (in the replicated state)
 *                     the leader is killed -9; mining on: the new leader carries on and the
 *                     result lands exactly once;
 *   broadcast, kill   mining off: the transaction is sent, the leader is killed -9, then a block
 *                     mines it: the new leader finds the receipt and records the confirmation of
 *                     that very transaction (no second one);
 *   chain down        anvil is stopped (its state saved) while the result is agreed: the
 *                     submission waits (errors counted, nothing lost) and lands once anvil is
 *                     back with its state;
 *   reorg             three confirmations: once mined, anvil_reorg drops the block: the
 *                     transaction is sent again and the result lands once;
 *   already there     someone else submitted the result first: recorded "already", the
 *                     cluster's sender sends nothing;
 *   signers differ    the contract's signers are nodes 1, 2 and a stranger: the cluster
 *                     raises the alert and submits with the shared signers (1 and 2);
 *   tennis void       a tennis cluster's void result (0-0) reaches the contract as status 2;
 *   basketball        a basketball cluster's final score (88-81) reaches the contract.
 *
 * Every wait is a condition polled with a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "oracle/oracle.h"
#include "oracle/tests/anvil.h"
#include "tests/feedsim/simproc.h"
#include "tests/integration/harness.h"

#define SCENARIO "tests/feedsim/scenarios/football.json"
#define FIXTURE "FB-1001"
/* anvil's dev account 1: the cluster's sender (pays gas); account 0 deploys. */
#define SENDER_KEY "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
#define CHAIN_ID 31337

struct ofx {
    anvil chain;
    eth_rpc *rpc;
    oracle_artefact art;
    oracle_journal journal;
    oracle_txm *txm; /* the deployer's (account 0) */
    eth_key deployer, sender, nodes[4];
    uint8_t contract[20];
    char sender_file[256];
    struct h_cluster c;
    struct simproc sims[3];
    int nsims;
    char statefile[256];
};

static struct ofx *current; /* for the teardown after a failed assertion */

static struct ofx *chain_up(void)
{
    struct ofx *f = calloc(1, sizeof *f);
    current = f;
    assert_int_equal(anvil_start(&f->chain, NULL), 0);
    f->rpc = eth_rpc_new(&(eth_rpc_config){.url = f->chain.url, .timeout_ms = 5000,
                                           .max_attempts = 3, .backoff_ms = 20});
    eth_error err;
    if (oracle_artefact_load(&f->art, NULL, &err) != ETH_OK)
        fail_msg("%s", err.message);
    assert_int_equal(eth_key_from_hex(&f->deployer, ANVIL_KEY0), ETH_OK);
    assert_int_equal(eth_key_from_hex(&f->sender, SENDER_KEY), ETH_OK);
    for (int i = 0; i < 4; i++)
        test_node_key(i + 1, &f->nodes[i]);
    char jp[200];
    snprintf(jp, sizeof jp, "%s/deployer.jsonl", f->chain.dir);
    assert_int_equal(oracle_journal_file_open(&f->journal, jp, NULL), ETH_OK);
    f->txm = oracle_txm_new(f->rpc, &f->deployer, &f->journal,
                            &(oracle_txm_config){.confirmations = 1,
                                                 .abi_json = f->art.abi_json});
    assert_non_null(f->txm);
    snprintf(f->sender_file, sizeof f->sender_file, "%s/sender.key", f->chain.dir);
    FILE *kf = fopen(f->sender_file, "w");
    assert_non_null(kf);
    fprintf(kf, "%s\n", SENDER_KEY);
    fclose(kf);
    chmod(f->sender_file, 0600);
    return f;
}

/* Deploys MatchOracle with the given node keys (indexes into f->nodes) as signers. */
static void deploy(struct ofx *f, const int *who, size_t n, unsigned threshold)
{
    uint8_t signers[8][20];
    for (size_t i = 0; i < n; i++)
        memcpy(signers[i], f->nodes[who[i]].address, 20);
    uint64_t id;
    eth_error err;
    int rc = oracle_deploy(f->txm, &f->art, (const uint8_t(*)[20])signers, n, threshold, &id,
                           f->contract, &err);
    if (rc != ETH_OK)
        fail_msg("deploy: %s (%s)", eth_strerror(rc), err.message);
    assert_int_equal(oracle_txm_wait(f->txm, id, 60000, 20, &err), ETH_OK);
}

static void write_node_key(const char *dir, const eth_key *k)
{
    mkdir(dir, 0700);
    char p[600];
    snprintf(p, sizeof p, "%s/node.key", dir);
    FILE *kf = fopen(p, "w");
    assert_non_null(kf);
    for (int i = 0; i < 32; i++)
        fprintf(kf, "%02x", k->secret[i]);
    fprintf(kf, "\n");
    fclose(kf);
    chmod(p, 0600);
}

/* Three nodes of @sport (cluster of the same name) reading three simulators of @scenario, the
 * clock stopped; @lie3: node 3's --lie-score argument or NULL; @confirmations. */
static void cluster_up(struct ofx *f, const char *sport, const char *scenario, const char *lie3,
                       unsigned confirmations)
{
    for (int i = 0; i < 3; i++) {
        const char *args[5] = {"--speed", "0", NULL, NULL, NULL};
        if (i == 2 && lie3) {
            args[2] = "--lie-score";
            args[3] = lie3;
        }
        simproc_start(&f->sims[i], scenario, args);
    }
    f->nsims = 3;
    h_cluster_init(&f->c, 3);
    char ca[43];
    eth_hex_write(f->contract, 20, ca);
    for (int i = 0; i < 3; i++) {
        write_node_key(f->c.nodes[i].dir, &f->nodes[i]);
        snprintf(f->c.node_extra[i], sizeof f->c.node_extra[i],
                 "{\"cluster\": \"%s\", \"role\": \"sport:%s\", \"feed_url\": \"%s\", "
                 "\"feed_adapter\": \"sse\", \"feed_poll_ms\": 50, \"oracle\": {\"rpc\": \"%s\", "
                 "\"chain_id\": %d, \"contract\": \"%s\", \"sender_key_file\": \"%s\", "
                 "\"confirmations\": %u, \"poll_ms\": 50, \"signers_refresh_ms\": 500}}",
                 sport, sport, f->sims[i].url, f->chain.url, CHAIN_ID, ca, f->sender_file,
                 confirmations);
    }
    h_cluster_write_configs(&f->c);
    h_start_cluster(&f->c);
}

/* Every simulator past the final whistle: everything is published at once. */
static void final_whistle(struct ofx *f)
{
    for (int i = 0; i < f->nsims; i++) {
        json_t *r = simproc_admin(&f->sims[i], "/admin/v1/advance", "{\"seconds\": 100000}");
        assert_non_null(r);
        json_decref(r);
    }
}

static void down(struct ofx *f)
{
    h_cluster_destroy(&f->c);
    for (int i = 0; i < f->nsims; i++)
        simproc_stop(&f->sims[i]);
    oracle_txm_free(f->txm);
    oracle_journal_close(&f->journal);
    eth_rpc_free(f->rpc);
    oracle_artefact_free(&f->art);
    anvil_cleanup(&f->chain);
    free(f);
    current = NULL;
}

static int teardown(void **state)
{
    (void)state;
    if (current) /* a failed test: stop its nodes, simulators and chain */
        down(current);
    return 0;
}

/* The result's "oracle" object as node @i serves it (NULL if none yet). */
static json_t *oracle_of(struct ofx *f, int i, const char *fixture)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/fixtures/%s/result", fixture);
    struct h_resp r = h_http(&f->c, i, "GET", path, NULL, NULL, false);
    json_t *o = r.status == 200 ? json_incref(json_object_get(r.json, "oracle")) : NULL;
    h_resp_free(&r);
    return o;
}

static bool alive(struct ofx *f, int i)
{
    return f->c.nodes[i].pid > 0;
}

/* Wait until a live node serves the result in one of @states ("a|b|c"); returns its object. */
static json_t *wait_state(struct ofx *f, const char *fixture, const char *states, int secs)
{
    double deadline = h_now() + secs;
    char last[64] = "none";
    while (h_now() < deadline) {
        for (int i = 0; i < f->c.n; i++) {
            if (!alive(f, i))
                continue;
            json_t *o = oracle_of(f, i, fixture);
            const char *st = json_string_value(json_object_get(o, "state"));
            if (st) {
                snprintf(last, sizeof last, "%s", st);
                char want[128];
                snprintf(want, sizeof want, "|%s|", states);
                char probe[80];
                snprintf(probe, sizeof probe, "|%s|", st);
                if (strstr(want, probe))
                    return o;
            }
            json_decref(o);
        }
        h_sleep_ms(20);
    }
    fail_msg("%s: oracle state not %s within %d s (last: %s)", fixture, states, secs, last);
    return NULL;
}

static uint64_t match_id_of(json_t *o)
{
    return (uint64_t)json_integer_value(json_object_get(o, "match_id"));
}

static int count_reports(struct ofx *f, uint64_t match_id)
{
    uint8_t topic[32], mid[32] = {0};
    const char *ev = "ResultReported(uint256,uint8,uint16,uint16)";
    eth_keccak256(ev, strlen(ev), topic);
    for (int i = 0; i < 8; i++)
        mid[31 - i] = (uint8_t)(match_id >> (8 * i));
    char t[67], m[67], a[43], params[400];
    eth_hex_write(topic, 32, t);
    eth_hex_write(mid, 32, m);
    eth_hex_write(f->contract, 20, a);
    snprintf(params, sizeof params,
             "[{\"fromBlock\":\"0x0\",\"toBlock\":\"latest\",\"address\":\"%s\",\"topics\":[\"%s\","
             "\"%s\"]}]",
             a, t, m);
    char *s = anvil_rpc(&f->chain, "eth_getLogs", params);
    assert_non_null(s);
    json_t *logs = json_loads(s, 0, NULL);
    free(s);
    int n = (int)json_array_size(logs);
    json_decref(logs);
    return n;
}

static uint64_t sender_nonce(struct ofx *f)
{
    uint64_t n = 0;
    eth_error err;
    assert_int_equal(eth_rpc_nonce(f->rpc, f->sender.address, "latest", &n, &err), ETH_OK);
    return n;
}

static void expect_on_chain(struct ofx *f, uint64_t match_id, int status, int home, int away)
{
    oracle_result got;
    int present = 0;
    eth_error err;
    assert_int_equal(oracle_read_result(f->rpc, f->contract, match_id, &got, &present, &err),
                     ETH_OK);
    assert_true(present);
    assert_int_equal(got.status, status);
    assert_int_equal(got.home, home);
    assert_int_equal(got.away, away);
    assert_int_equal(count_reports(f, match_id), 1);
}

/* Every stored signature recovers, over the contract's digest of the result, to a distinct
 * node key among @allowed (indexes into f->nodes). Returns how many. */
static unsigned check_signatures(struct ofx *f, json_t *o, const int *allowed, size_t nallowed)
{
    const char *st = json_string_value(json_object_get(o, "status"));
    oracle_result r = {.match_id = match_id_of(o),
                       .status = !strcmp(st, "void") ? ORACLE_STATUS_VOID : ORACLE_STATUS_FINAL,
                       .home = (uint16_t)json_integer_value(json_object_get(o, "home")),
                       .away = (uint16_t)json_integer_value(json_object_get(o, "away"))};
    uint8_t digest[32];
    oracle_result_digest(CHAIN_ID, f->contract, &r, digest);
    bool seen[4] = {0};
    unsigned n = 0;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(o, "signatures"), i, s)
    {
        uint8_t sig[65], who[20];
        assert_int_equal(eth_hex_decode(json_string_value(json_object_get(s, "signature")), sig,
                                        65),
                         ETH_OK);
        assert_int_equal(eth_recover(digest, sig, who), ETH_OK);
        int found = -1;
        for (size_t k = 0; k < nallowed; k++)
            if (!memcmp(who, f->nodes[allowed[k]].address, 20))
                found = allowed[k];
        if (found < 0)
            fail_msg("signature %zu recovers to no allowed node key", i);
        assert_false(seen[found]);
        seen[found] = true;
        n++;
    }
    return n;
}

static void set_automine(struct ofx *f, bool on)
{
    char *s = anvil_rpc(&f->chain, "evm_setAutomine", on ? "[true]" : "[false]");
    assert_non_null(s);
    free(s);
}

static int leader(struct ofx *f)
{
    int l = h_wait_leader(&f->c, H_WAIT_MS);
    assert_true(l >= 0);
    return l;
}

/* ---- scenarios ----------------------------------------------------------------------------- */

static void test_lands_once_liar_never(void **state)
{
    (void)state;
    struct ofx *f = chain_up();
    deploy(f, (int[]){0, 1, 2}, 3, 2);
    cluster_up(f, "football", SCENARIO, FIXTURE "=0-3", 1);
    double t0 = h_now();
    final_whistle(f);
    json_t *o = wait_state(f, FIXTURE, "confirmed", 60);
    printf("agreed and confirmed %.0f ms after the final whistle\n", (h_now() - t0) * 1000);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "final");
    assert_int_equal(json_integer_value(json_object_get(o, "home")), 4);
    assert_int_equal(json_integer_value(json_object_get(o, "away")), 2);
    assert_true(check_signatures(f, o, (int[]){0, 1, 2}, 3) >= 2);
    assert_int_equal(strlen(json_string_value(json_object_get(o, "tx_hash"))), 66);
    assert_true(json_integer_value(json_object_get(o, "block")) > 0);
    assert_true(json_integer_value(json_object_get(o, "gas_used")) > 21000);
    expect_on_chain(f, match_id_of(o), ORACLE_STATUS_FINAL, 4, 2);
    assert_int_equal(sender_nonce(f), 1);
    /* Every node shows the same confirmation (it is replicated state). */
    for (int i = 0; i < 3; i++) {
        json_t *oi = NULL;
        double deadline = h_now() + 10;
        while (h_now() < deadline) {
            oi = oracle_of(f, i, FIXTURE);
            if (!strcmp(json_string_value(json_object_get(oi, "state")) ?: "", "confirmed"))
                break;
            json_decref(oi);
            oi = NULL;
            h_sleep_ms(20);
        }
        assert_non_null(oi);
        assert_true(json_equal(json_object_get(oi, "tx_hash"), json_object_get(o, "tx_hash")));
        json_decref(oi);
    }
    /* The leader's status and metrics. */
    int l = leader(f);
    struct h_resp st = h_http(&f->c, l, "GET", "/admin/v1/oracle", NULL, NULL, true);
    assert_int_equal(st.status, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st.json, "results"),
                                                        "confirmed")),
                     1);
    /* The recent results for the console: this fixture, confirmed, with its transaction. */
    json_t *rec = json_array_get(json_object_get(st.json, "recent"), 0);
    assert_string_equal(json_string_value(json_object_get(rec, "fixture")), FIXTURE);
    assert_string_equal(json_string_value(json_object_get(rec, "state")), "confirmed");
    assert_string_equal(json_string_value(json_object_get(rec, "tx_hash")),
                        json_string_value(json_object_get(o, "tx_hash")));
    if (json_is_true(json_object_get(json_object_get(st.json, "signers"), "out_of_sync"))) {
        char *d = json_dumps(st.json, JSON_INDENT(1));
        fail_msg("signers out of sync: %s", d);
    }
    h_resp_free(&st);
    /* The operator's view. */
    char out[4096];
    /* A follower shows it once it has applied the confirmation (it may trail the leader). */
    double until = h_now() + 30;
    do {
        assert_int_equal(
            h_parlayctl(&f->c, (l + 1) % 3, "oracle result " FIXTURE, out, sizeof out), 0);
        if (strstr(out, "on chain: confirmed"))
            break;
        h_sleep_ms(100);
    } while (h_now() < until);
    assert_non_null(strstr(out, "agreed final 4-2"));
    assert_non_null(strstr(out, "on chain: confirmed"));
    assert_non_null(strstr(out, json_string_value(json_object_get(o, "tx_hash"))));
    assert_int_equal(h_parlayctl(&f->c, l, "oracle status", out, sizeof out), 0);
    assert_non_null(strstr(out, "confirmed 1"));
    assert_int_equal(h_parlayctl(&f->c, l, "oracle signers", out, sizeof out), 0);
    assert_non_null(strstr(out, "in sync"));
    struct h_resp mt = h_http(&f->c, l, "GET", "/metrics", NULL, NULL, false);
    h_resp_free(&mt);
    json_decref(o);
    down(f);
}

static void kill_after(struct ofx *f, const char *states, bool mine_before_automine)
{
    deploy(f, (int[]){0, 1, 2}, 3, 2);
    cluster_up(f, "football", SCENARIO, NULL, 1);
    set_automine(f, false);
    final_whistle(f);
    json_t *o = wait_state(f, FIXTURE, states, 60);
    const char *seen = json_string_value(json_object_get(o, "state"));
    char hash[67] = "";
    if (json_string_value(json_object_get(o, "tx_hash")))
        snprintf(hash, sizeof hash, "%s", json_string_value(json_object_get(o, "tx_hash")));
    int l = leader(f);
    h_node_kill(&f->c, l);
    printf("leader (node %d) killed -9 with the result %s (tx %s)\n", f->c.nodes[l].id, seen,
           hash[0] ? hash : "-");
    if (mine_before_automine) {
        /* The receipt appears while nobody leads: the new leader must find it. */
        char *s = anvil_rpc(&f->chain, "evm_mine", "[]");
        assert_non_null(s);
        free(s);
    }
    int nl = leader(f);
    assert_int_not_equal(nl, l);
    set_automine(f, true);
    json_t *c = wait_state(f, FIXTURE, "confirmed", 90);
    expect_on_chain(f, match_id_of(c), ORACLE_STATUS_FINAL, 4, 2);
    assert_int_equal(sender_nonce(f), 1); /* one transaction from the cluster, ever */
    if (mine_before_automine)
        assert_string_equal(json_string_value(json_object_get(c, "tx_hash")), hash);
    json_decref(c);
    json_decref(o);
}

static void test_kill_leader_journaled_not_mined(void **state)
{
    (void)state;
    struct ofx *f = chain_up();
    kill_after(f, "journaled|sent", false);
    down(f);
}

static void test_kill_leader_after_broadcast(void **state)
{
    (void)state;
    struct ofx *f = chain_up();
    kill_after(f, "sent", true);
    down(f);
}

static void test_chain_down_then_back(void **state)
{
    (void)state;
    struct ofx *f = chain_up();
    deploy(f, (int[]){0, 1, 2}, 3, 2);
    cluster_up(f, "football", SCENARIO, NULL, 1);
    /* The leader proposes signatures only once it has read the contract's signers: let it
     * read them before the chain goes (on a loaded machine the first read can come late). */
    bool known = false;
    for (double until = h_now() + 60; !known && h_now() < until; h_sleep_ms(50)) {
        struct h_resp st = h_http(&f->c, leader(f), "GET", "/admin/v1/oracle", NULL, NULL, true);
        known = st.status == 200 &&
                json_is_true(json_object_get(json_object_get(st.json, "signers"), "known"));
        h_resp_free(&st);
    }
    assert_true(known);
    char *dump = anvil_rpc(&f->chain, "anvil_dumpState", "[]");
    assert_non_null(dump);
    anvil_stop(&f->chain);
    final_whistle(f);
    json_t *o = wait_state(f, FIXTURE, "signed", 60);
    /* It waits: the leader keeps trying (errors counted), the result stays signed. */
    int l = leader(f);
    double deadline = h_now() + 30;
    long errors = 0;
    while (h_now() < deadline && errors < 3) {
        struct h_resp st = h_http(&f->c, l, "GET", "/admin/v1/oracle", NULL, NULL, true);
        errors = (long)json_integer_value(
            json_object_get(json_object_get(st.json, "counters"), "rpc_errors"));
        h_resp_free(&st);
        h_sleep_ms(50);
    }
    assert_true(errors >= 3);
    json_t *still = oracle_of(f, l, FIXTURE);
    assert_string_equal(json_string_value(json_object_get(still, "state")), "signed");
    json_decref(still);
    /* Back with its chain. */
    json_t *hexstate = json_loads(dump, JSON_DECODE_ANY, NULL);
    free(dump);
    assert_int_equal(anvil_restart(&f->chain, NULL), 0);
    char *lp = malloc(strlen(json_string_value(hexstate)) + 8);
    sprintf(lp, "[\"%s\"]", json_string_value(hexstate));
    json_decref(hexstate);
    char *ok = anvil_rpc(&f->chain, "anvil_loadState", lp);
    free(lp);
    assert_non_null(ok);
    free(ok);
    json_t *c = wait_state(f, FIXTURE, "confirmed", 60);
    expect_on_chain(f, match_id_of(c), ORACLE_STATUS_FINAL, 4, 2);
    assert_int_equal(sender_nonce(f), 1);
    json_decref(c);
    json_decref(o);
    down(f);
}

static void test_reorg_lands_once(void **state)
{
    (void)state;
    struct ofx *f = chain_up();
    deploy(f, (int[]){0, 1, 2}, 3, 2);
    cluster_up(f, "football", SCENARIO, NULL, 3);
    final_whistle(f);
    json_t *o = wait_state(f, FIXTURE, "mined", 60);
    char hash[67];
    snprintf(hash, sizeof hash, "%s", json_string_value(json_object_get(o, "tx_hash")));
    uint8_t h[32];
    assert_int_equal(eth_hex_decode(hash, h, 32), ETH_OK);
    eth_receipt rc;
    eth_error err;
    assert_int_equal(eth_rpc_receipt(f->rpc, h, &rc, &err), ETH_OK);
    assert_true(rc.found);
    /* Replace the block holding it with an empty one. */
    char *s = anvil_rpc(&f->chain, "anvil_reorg", "[1,[]]");
    assert_non_null(s);
    free(s);
    assert_int_equal(eth_rpc_receipt(f->rpc, h, &rc, &err), ETH_OK);
    assert_false(rc.found);
    /* The leader notices, sends again (automine mines it), and follows it to 3 blocks. */
    double deadline = h_now() + 60;
    json_t *c = NULL;
    while (h_now() < deadline) {
        for (int i = 0; i < 3 && !c; i++) {
            json_t *oi = oracle_of(f, i, FIXTURE);
            if (!strcmp(json_string_value(json_object_get(oi, "state")) ?: "", "confirmed"))
                c = oi;
            else
                json_decref(oi);
        }
        if (c)
            break;
        eth_rpc_receipt(f->rpc, h, &rc, &err);
        if (rc.found) /* mined again: let blocks pile on top */
            anvil_mine(&f->chain, 1);
        h_sleep_ms(100);
    }
    assert_non_null(c);
    expect_on_chain(f, match_id_of(c), ORACLE_STATUS_FINAL, 4, 2);
    json_decref(c);
    json_decref(o);
    down(f);
}

static void test_already_submitted_elsewhere(void **state)
{
    (void)state;
    struct ofx *f = chain_up();
    deploy(f, (int[]){0, 1, 2}, 3, 2);
    cluster_up(f, "football", SCENARIO, NULL, 1);
    /* Someone else (the deployer's key) publishes the result with nodes 1 and 2's signatures
     * before the game ends in the cluster's feeds. */
    json_t *pend = oracle_of(f, 0, FIXTURE); /* 404 before agreement: read the match id */
    assert_null(pend);
    oracle_result r = {.status = ORACLE_STATUS_FINAL, .home = 4, .away = 2};
    /* The match id as documented: low 8 bytes of keccak256("parlay-match-v1" NUL cluster NUL
     * fixture). */
    const char tag[] = "parlay-match-v1";
    uint8_t buf[64], hh[32];
    size_t n = 0;
    memcpy(buf, tag, sizeof tag), n += sizeof tag;
    memcpy(buf + n, "football", 9), n += 9;
    memcpy(buf + n, FIXTURE, strlen(FIXTURE)), n += strlen(FIXTURE);
    eth_keccak256(buf, n, hh);
    for (int i = 24; i < 32; i++)
        r.match_id = r.match_id << 8 | hh[i];
    uint8_t sigs[2][65];
    for (int i = 0; i < 2; i++)
        assert_int_equal(oracle_sign_result(&f->nodes[i], CHAIN_ID, f->contract, &r, sigs[i]),
                         ETH_OK);
    uint64_t id;
    eth_error err;
    assert_int_equal(oracle_submit_result(f->txm, f->contract, &r, (const uint8_t(*)[65])sigs, 2,
                                          &id, &err),
                     ETH_OK);
    assert_int_equal(oracle_txm_wait(f->txm, id, 60000, 20, &err), ETH_OK);
    final_whistle(f);
    json_t *o = wait_state(f, FIXTURE, "already|confirmed", 60);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "already");
    assert_int_equal(match_id_of(o), r.match_id);
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(o, "onchain"), "home")),
                     4);
    assert_null(json_object_get(o, "reason")); /* the same result */
    expect_on_chain(f, r.match_id, ORACLE_STATUS_FINAL, 4, 2);
    assert_int_equal(sender_nonce(f), 0); /* the cluster sent nothing */
    json_decref(o);
    down(f);
}

static void test_signers_out_of_sync(void **state)
{
    (void)state;
    struct ofx *f = chain_up();
    /* Signers: nodes 1, 2 and a stranger (key 4, no node); threshold 2. */
    deploy(f, (int[]){0, 1, 3}, 3, 2);
    cluster_up(f, "football", SCENARIO, NULL, 1);
    int l = leader(f);
    double deadline = h_now() + 30;
    bool alert = false;
    while (h_now() < deadline && !alert) {
        struct h_resp st = h_http(&f->c, l, "GET", "/admin/v1/oracle", NULL, NULL, true);
        alert = json_is_true(
            json_object_get(json_object_get(st.json, "signers"), "out_of_sync"));
        if (alert) {
            json_t *s = json_object_get(st.json, "signers");
            assert_int_equal(json_array_size(json_object_get(s, "shared")), 2);
            assert_int_equal(json_array_size(json_object_get(s, "only_contract")), 1);
            assert_int_equal(json_array_size(json_object_get(s, "only_voters")), 1);
        }
        h_resp_free(&st);
        h_sleep_ms(50);
    }
    assert_true(alert);
    assert_true(h_log_count(&f->c, l, "event=oracle_signers_out_of_sync") >= 1);
    char out[4096];
    assert_int_equal(h_parlayctl(&f->c, l, "oracle signers", out, sizeof out), 0);
    assert_non_null(strstr(out, "OUT OF SYNC"));
    final_whistle(f);
    json_t *o = wait_state(f, FIXTURE, "confirmed", 60);
    /* Only the shared signers' signatures were kept (node 3 is no signer of the contract). */
    assert_int_equal(check_signatures(f, o, (int[]){0, 1}, 2), 2);
    expect_on_chain(f, match_id_of(o), ORACLE_STATUS_FINAL, 4, 2);
    json_decref(o);
    /* The owner syncs the contract with the voters: the alert clears. */
    char kp[300], args[600];
    snprintf(kp, sizeof kp, "%s/owner.key", f->chain.dir);
    FILE *kf = fopen(kp, "w");
    assert_non_null(kf);
    fprintf(kf, "%s\n", ANVIL_KEY0 + 2);
    fclose(kf);
    chmod(kp, 0600);
    snprintf(args, sizeof args, "oracle sync-signers --key %s --journal %s/owner.jsonl", kp,
             f->chain.dir);
    int rc = h_parlayctl(&f->c, l, args, out, sizeof out);
    if (rc != 0)
        fail_msg("sync-signers: exit %d: %s", rc, out);
    deadline = h_now() + 30;
    while (h_now() < deadline && alert) {
        struct h_resp st = h_http(&f->c, l, "GET", "/admin/v1/oracle", NULL, NULL, true);
        alert = json_is_true(
            json_object_get(json_object_get(st.json, "signers"), "out_of_sync"));
        h_resp_free(&st);
        h_sleep_ms(50);
    }
    assert_false(alert);
    down(f);
}

/* A tennis scenario whose result is void (written from the shipped one). */
static void test_tennis_void(void **state)
{
    (void)state;
    struct ofx *f = chain_up();
    deploy(f, (int[]){0, 1, 2}, 3, 2);
    json_t *s = json_load_file("tests/feedsim/scenarios/tennis.json", 0, NULL);
    assert_non_null(s);
    json_t *fx = json_array_get(json_object_get(s, "fixtures"), 0);
    const char *id = json_string_value(json_object_get(fx, "id"));
    char fixture[64];
    snprintf(fixture, sizeof fixture, "%s", id);
    json_t *res = json_object_get(fx, "result");
    json_object_set_new(res, "status", json_string("void"));
    json_object_del(res, "home");
    json_object_del(res, "away");
    char path[300];
    snprintf(path, sizeof path, "%s/tennis-void.json", f->chain.dir);
    assert_int_equal(json_dump_file(s, path, JSON_INDENT(1)), 0);
    json_decref(s);
    /* The sender's balance under the floor (10^17 wei by default): the alert, and it still
     * pays for this submission. */
    char params[200], sa[43];
    eth_hex_write(f->sender.address, 20, sa);
    snprintf(params, sizeof params, "[\"%s\",\"0xb1a2bc2ec50000\"]", sa); /* 0.05 ETH */
    free(anvil_rpc(&f->chain, "anvil_setBalance", params));
    cluster_up(f, "tennis", path, NULL, 1);
    int l = leader(f);
    double deadline = h_now() + 30;
    bool low = false;
    while (h_now() < deadline && !low) {
        struct h_resp st = h_http(&f->c, l, "GET", "/admin/v1/oracle", NULL, NULL, true);
        low = json_is_true(json_object_get(json_object_get(st.json, "balance"), "low"));
        h_resp_free(&st);
        h_sleep_ms(50);
    }
    assert_true(low);
    struct h_resp mt = h_http(&f->c, l, "GET", "/metrics", NULL, NULL, false);
    assert_int_equal(mt.status, 200);
    h_resp_free(&mt);
    assert_true(h_log_count(&f->c, l, "event=oracle_balance_low") >= 1);
    final_whistle(f);
    json_t *o = wait_state(f, fixture, "confirmed", 60);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "void");
    assert_true(check_signatures(f, o, (int[]){0, 1, 2}, 3) >= 2);
    expect_on_chain(f, match_id_of(o), ORACLE_STATUS_VOID, 0, 0);
    json_decref(o);
    down(f);
}

/* A basketball cluster's final score. */
static void test_basketball_final(void **state)
{
    (void)state;
    struct ofx *f = chain_up();
    deploy(f, (int[]){0, 1, 2}, 3, 2);
    cluster_up(f, "basketball", "tests/feedsim/scenarios/basketball.json", NULL, 1);
    final_whistle(f);
    json_t *o = wait_state(f, "BB-3001", "confirmed", 60);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "final");
    assert_true(check_signatures(f, o, (int[]){0, 1, 2}, 3) >= 2);
    expect_on_chain(f, match_id_of(o), ORACLE_STATUS_FINAL, 88, 81);
    json_decref(o);
    down(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_lands_once_liar_never, teardown),
        cmocka_unit_test_teardown(test_kill_leader_journaled_not_mined, teardown),
        cmocka_unit_test_teardown(test_kill_leader_after_broadcast, teardown),
        cmocka_unit_test_teardown(test_chain_down_then_back, teardown),
        cmocka_unit_test_teardown(test_reorg_lands_once, teardown),
        cmocka_unit_test_teardown(test_already_submitted_elsewhere, teardown),
        cmocka_unit_test_teardown(test_signers_out_of_sync, teardown),
        cmocka_unit_test_teardown(test_tennis_void, teardown),
        cmocka_unit_test_teardown(test_basketball_final, teardown),
    };
    if (getenv("PARLAY_TEST_FILTER")) /* e.g. "*reorg*" */
        cmocka_set_test_filter(getenv("PARLAY_TEST_FILTER"));
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    simproc_stop_all();
    return rc;
}
