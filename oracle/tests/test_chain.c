/* Scenarios against a real local chain: each test starts its own anvil, deploys MatchOracle
 * through the C client and drives the submitter and the transaction manager. */
#include "oracle/oracle.h"
#include "oracle/tests/anvil.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

typedef struct fixture
{
    anvil node;
    eth_rpc* rpc;
    oracle_journal journal;
    char journal_path[160];
    oracle_txm* txm;
    eth_key sender;
    eth_key nodes[7];
    oracle_artefact art;
    uint8_t contract[20];
} fixture;

static void open_txm(fixture* f, const oracle_txm_config* cfg)
{
    oracle_txm_config c = cfg ? *cfg : (oracle_txm_config){.confirmations = 1};
    c.abi_json = f->art.abi_json;
    assert_int_equal(oracle_journal_file_open(&f->journal, f->journal_path, NULL), ETH_OK);
    f->txm = oracle_txm_new(f->rpc, &f->sender, &f->journal, &c);
    assert_non_null(f->txm);
}

static void close_txm(fixture* f)
{
    oracle_txm_free(f->txm);
    f->txm = NULL;
    oracle_journal_close(&f->journal);
}

/* Starts anvil, deploys a contract with signers nodes[0..n-1] and `threshold`. */
static fixture* chain_up(const char* const* anvil_args,
                         size_t n,
                         unsigned threshold,
                         const oracle_txm_config* cfg)
{
    fixture* f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(anvil_start(&f->node, anvil_args), 0);
    eth_rpc_config rc = {
        .url = f->node.url, .timeout_ms = 5000, .max_attempts = 3, .backoff_ms = 20};
    f->rpc = eth_rpc_new(&rc);
    assert_non_null(f->rpc);
    snprintf(f->journal_path, sizeof f->journal_path, "%s/journal.jsonl", f->node.dir);
    assert_int_equal(eth_key_from_hex(&f->sender, ANVIL_KEY0), ETH_OK);
    for (int i = 0; i < 7; i++)
        test_node_key(i + 1, &f->nodes[i]);
    eth_error err;
    int rc2 = oracle_artefact_load(&f->art, NULL, &err);
    if (rc2 != ETH_OK)
        fail_msg("%s", err.message);
    open_txm(f, cfg);
    uint8_t signers[7][20];
    for (size_t i = 0; i < n; i++)
        memcpy(signers[i], f->nodes[i].address, 20);
    uint64_t id;
    rc2 = oracle_deploy(f->txm, &f->art, (const uint8_t(*)[20])signers, n, threshold, &id,
                        f->contract, &err);
    if (rc2 != ETH_OK)
        fail_msg("deploy: %s (%s)", eth_strerror(rc2), err.message);
    assert_int_equal(anvil_mine(&f->node, 3), 0);
    assert_int_equal(oracle_txm_wait(f->txm, id, 60000, 10, &err), ETH_OK);
    return f;
}

static void chain_down(fixture* f)
{
    close_txm(f);
    eth_rpc_free(f->rpc);
    oracle_artefact_free(&f->art);
    anvil_cleanup(&f->node);
    free(f);
}

static void sign_by(fixture* f,
                    const oracle_result* r,
                    const int* who,
                    size_t n,
                    uint8_t (*sigs)[65])
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(oracle_sign_result(&f->nodes[who[i]], 31337, f->contract, r, sigs[i]),
                         ETH_OK);
}

/* Sends submitResult calldata as-is (no local checks) and returns the manager's answer. */
static int raw_submit(fixture* f,
                      const oracle_result* r,
                      const uint8_t (*sigs)[65],
                      size_t n,
                      eth_error* err)
{
    eth_buf d;
    eth_buf_init(&d);
    assert_int_equal(oracle_calldata_submit(r, sigs, n, &d), ETH_OK);
    uint64_t id;
    int rc = oracle_txm_send(f->txm, ORACLE_KIND_SUBMIT, r->match_id, f->contract, d.p, d.len, 0,
                             &id, err);
    eth_buf_free(&d);
    return rc;
}

static void expect_revert(fixture* f,
                          const oracle_result* r,
                          const uint8_t (*sigs)[65],
                          size_t n,
                          const char* reason_prefix)
{
    eth_error err;
    int rc = raw_submit(f, r, sigs, n, &err);
    if (rc != ETH_EREVERT)
        fail_msg("expected a revert %s, got %s (%s)", reason_prefix, eth_strerror(rc), err.message);
    if (strncmp(err.reason, reason_prefix, strlen(reason_prefix)) != 0)
        fail_msg("expected reason %s, got '%s' (%s)", reason_prefix, err.reason, err.message);
}

static uint64_t wait_ok(fixture* f, uint64_t id)
{
    eth_error err;
    int rc = oracle_txm_wait(f->txm, id, 60000, 10, &err);
    if (rc != ETH_OK)
        fail_msg("wait %llu: %s (%s)", (unsigned long long)id, eth_strerror(rc), err.message);
    oracle_tx_record rec;
    assert_int_equal(oracle_txm_get(f->txm, id, &rec), ETH_OK);
    uint64_t gas = rec.gas_used;
    assert_int_equal(rec.state, ORACLE_TX_CONFIRMED);
    oracle_tx_record_free(&rec);
    return gas;
}

/* Polls until the record has a receipt (automine answers before it has mined, under load). */
static void poll_until_mined(fixture* f, uint64_t id)
{
    eth_error err;
    for (int i = 0; i < 6000; i++) {
        assert_int_equal(oracle_txm_poll(f->txm, &err), ETH_OK);
        oracle_tx_record rec;
        assert_int_equal(oracle_txm_get(f->txm, id, &rec), ETH_OK);
        int state = rec.state;
        oracle_tx_record_free(&rec);
        if (state != ORACLE_TX_SENT && state != ORACLE_TX_NEW)
            return;
        usleep(10000);
    }
    fail_msg("no receipt for transaction %llu", (unsigned long long)id);
}

/* ------------------------------------------------------------------ scenarios */

static void test_deploy_submit_read_back(void** state)
{
    (void)state;
    fixture* f = chain_up(NULL, 3, 2, NULL);
    eth_error err;

    uint8_t(*signers)[20];
    size_t n;
    unsigned threshold;
    assert_int_equal(oracle_read_signers(f->rpc, f->contract, &signers, &n, &threshold, &err),
                     ETH_OK);
    assert_int_equal(n, 3);
    assert_int_equal(threshold, 2);
    for (size_t i = 0; i < n; i++)
        assert_memory_equal(signers[i], f->nodes[i].address, 20);
    free(signers);

    /* The contract computes the same digest as the C side. */
    oracle_result r = {.match_id = 1001, .status = ORACLE_STATUS_FINAL, .home = 2, .away = 1};
    eth_buf call, ret;
    eth_buf_init(&call);
    eth_buf_init(&ret);
    uint8_t sel[4], digest[32];
    eth_abi_selector("digestOf(uint256,uint8,uint16,uint16)", sel);
    eth_buf_append(&call, sel, 4);
    eth_abi_u64(&call, r.match_id);
    eth_abi_u64(&call, r.status);
    eth_abi_u64(&call, r.home);
    eth_abi_u64(&call, r.away);
    assert_int_equal(eth_rpc_call_contract(f->rpc, f->contract, call.p, call.len, &ret, &err),
                     ETH_OK);
    oracle_result_digest(31337, f->contract, &r, digest);
    assert_int_equal(ret.len, 32);
    assert_memory_equal(ret.p, digest, 32);
    eth_buf_free(&call);
    eth_buf_free(&ret);

    /* The selector we encode is the one in the ABI solc wrote. */
    assert_non_null(strstr(f->art.abi_json, "\"name\":\"submitResult\""));

    int present = 1;
    oracle_result got;
    assert_int_equal(oracle_read_result(f->rpc, f->contract, r.match_id, &got, &present, &err),
                     ETH_OK);
    assert_false(present);

    uint8_t sigs[2][65];
    sign_by(f, &r, (int[]){0, 2}, 2, sigs);
    uint64_t id;
    int rc =
        oracle_submit_result(f->txm, f->contract, &r, (const uint8_t(*)[65])sigs, 2, &id, &err);
    if (rc != ETH_OK)
        fail_msg("submit: %s (%s)", eth_strerror(rc), err.message);
    uint64_t gas = wait_ok(f, id);
    printf("gas: submitResult 2-of-3 = %llu\n", (unsigned long long)gas);
    assert_true(gas <= 65000); /* issue 4's budget; gas is deterministic, not a timing */

    assert_int_equal(oracle_read_result(f->rpc, f->contract, r.match_id, &got, &present, &err),
                     ETH_OK);
    assert_true(present);
    assert_int_equal(got.status, ORACLE_STATUS_FINAL);
    assert_int_equal(got.home, 2);
    assert_int_equal(got.away, 1);

    /* A void result carries no score. */
    oracle_result v = {.match_id = 1002, .status = ORACLE_STATUS_VOID};
    sign_by(f, &v, (int[]){1, 2}, 2, sigs);
    assert_int_equal(
        oracle_submit_result(f->txm, f->contract, &v, (const uint8_t(*)[65])sigs, 2, &id, &err),
        ETH_OK);
    wait_ok(f, id);
    assert_int_equal(oracle_read_result(f->rpc, f->contract, v.match_id, &got, &present, &err),
                     ETH_OK);
    assert_true(present);
    assert_int_equal(got.status, ORACLE_STATUS_VOID);
    chain_down(f);
}

static void test_contract_refusals(void** state)
{
    (void)state;
    fixture* f = chain_up(NULL, 3, 2, NULL);
    oracle_result r = {.match_id = 7, .status = ORACLE_STATUS_FINAL, .home = 0, .away = 3};
    uint8_t sigs[2][65];
    eth_error err;

    /* one signature short */
    sign_by(f, &r, (int[]){0}, 1, sigs);
    expect_revert(f, &r, (const uint8_t(*)[65])sigs, 1, "NotEnoughSignatures(1, 2)");

    /* the same signer twice */
    sign_by(f, &r, (int[]){1, 1}, 2, sigs);
    expect_revert(f, &r, (const uint8_t(*)[65])sigs, 2, "DuplicateSigner(");

    /* a signer that is not registered (node 4 of a 3-node set) */
    sign_by(f, &r, (int[]){0, 3}, 2, sigs);
    expect_revert(f, &r, (const uint8_t(*)[65])sigs, 2, "UnknownSigner(");

    /* a high-s twin of a valid signature: s' = n - s, v flipped (ecrecover accepts it) */
    sign_by(f, &r, (int[]){0, 1}, 2, sigs);
    static const uint8_t order[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
                                      0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
                                      0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = order[i] - sigs[1][32 + i] - borrow;
        borrow = d < 0;
        sigs[1][32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    sigs[1][64] = (uint8_t)(55 - sigs[1][64]); /* 27 <-> 28 */
    assert_false(eth_sig_is_low_s(sigs[1]));
    uint8_t who[20], digest[32];
    oracle_result_digest(31337, f->contract, &r, digest);
    assert_int_equal(eth_recover(digest, sigs[1], who), ETH_OK);
    assert_memory_equal(who, f->nodes[1].address, 20); /* same signer, malleated signature */
    expect_revert(f, &r, (const uint8_t(*)[65])sigs, 2, "HighS(1)");
    uint64_t id;
    assert_int_equal(
        oracle_submit_result(f->txm, f->contract, &r, (const uint8_t(*)[65])sigs, 2, &id, &err),
        ETH_EINVAL); /* the submitter refuses it before paying for the revert */

    /* signed for another chain: recovers to some unregistered address */
    assert_int_equal(oracle_sign_result(&f->nodes[0], 1, f->contract, &r, sigs[0]), ETH_OK);
    assert_int_equal(oracle_sign_result(&f->nodes[1], 1, f->contract, &r, sigs[1]), ETH_OK);
    expect_revert(f, &r, (const uint8_t(*)[65])sigs, 2, "UnknownSigner(");

    /* a good report, then a second one (even with a different score) */
    sign_by(f, &r, (int[]){0, 1}, 2, sigs);
    assert_int_equal(
        oracle_submit_result(f->txm, f->contract, &r, (const uint8_t(*)[65])sigs, 2, &id, &err),
        ETH_OK);
    wait_ok(f, id);
    oracle_result r2 = r;
    r2.home = 5;
    sign_by(f, &r2, (int[]){1, 2}, 2, sigs);
    expect_revert(f, &r2, (const uint8_t(*)[65])sigs, 2, "AlreadyReported(7)");
    assert_int_equal(
        oracle_submit_result(f->txm, f->contract, &r2, (const uint8_t(*)[65])sigs, 2, &id, &err),
        ETH_EALREADY);
    assert_non_null(strstr(err.message, "already reported"));

    /* membership: only the owner may change the signer set */
    uint8_t set[3][20];
    for (int i = 0; i < 3; i++)
        memcpy(set[i], f->nodes[i + 2].address, 20);
    assert_int_equal(
        oracle_set_signers(f->txm, f->contract, (const uint8_t(*)[20])set, 3, 1, &id, &err),
        ETH_EREVERT);
    assert_string_equal(err.reason, "BadThreshold(1, 3)");
    assert_int_equal(
        oracle_set_signers(f->txm, f->contract, (const uint8_t(*)[20])set, 3, 2, &id, &err),
        ETH_OK);
    wait_ok(f, id);
    uint8_t(*signers)[20];
    size_t n;
    unsigned threshold;
    assert_int_equal(oracle_read_signers(f->rpc, f->contract, &signers, &n, &threshold, &err),
                     ETH_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(signers[0], f->nodes[2].address, 20);
    free(signers);
    chain_down(f);
}

static void test_consecutive_nonces(void** state)
{
    (void)state;
    fixture* f = chain_up(NULL, 3, 2, NULL);
    eth_error err;
    uint64_t ids[2];
    for (int i = 0; i < 2; i++) {
        oracle_result r = {.match_id = 20 + (uint64_t)i,
                           .status = ORACLE_STATUS_FINAL,
                           .home = (uint16_t)i,
                           .away = 1};
        uint8_t sigs[2][65];
        sign_by(f, &r, (int[]){0, 1}, 2, sigs);
        int rc = oracle_submit_result(f->txm, f->contract, &r, (const uint8_t(*)[65])sigs, 2,
                                      &ids[i], &err);
        if (rc != ETH_OK)
            fail_msg("submit %d: %s (%s)", i, eth_strerror(rc), err.message);
    }
    oracle_tx_record a, b;
    assert_int_equal(oracle_txm_get(f->txm, ids[0], &a), ETH_OK);
    assert_int_equal(oracle_txm_get(f->txm, ids[1], &b), ETH_OK);
    assert_int_equal(b.nonce, a.nonce + 1);
    oracle_tx_record_free(&a);
    oracle_tx_record_free(&b);
    wait_ok(f, ids[0]);
    wait_ok(f, ids[1]);

    /* Submitting again is a no-op: the contract already has it. */
    oracle_result r = {.match_id = 20, .status = ORACLE_STATUS_FINAL, .home = 0, .away = 1};
    uint8_t sigs[2][65];
    sign_by(f, &r, (int[]){0, 1}, 2, sigs);
    uint64_t id;
    assert_int_equal(
        oracle_submit_result(f->txm, f->contract, &r, (const uint8_t(*)[65])sigs, 2, &id, &err),
        ETH_EALREADY);
    chain_down(f);
}

static int pool_pending(fixture* f)
{
    char* s = anvil_rpc(&f->node, "txpool_status", "[]");
    assert_non_null(s);
    json_t* o = json_loads(s, 0, NULL);
    free(s);
    uint64_t n = 0;
    const char* p = json_string_value(json_object_get(o, "pending"));
    if (p)
        assert_int_equal(eth_hex_u64(p, &n), ETH_OK);
    else
        n = (uint64_t)json_integer_value(json_object_get(o, "pending"));
    json_decref(o);
    return (int)n;
}

static void test_stuck_transaction_replaced(void** state)
{
    (void)state;
    /* stuck_seconds 0: a transaction without a receipt at the next poll counts as stuck. */
    oracle_txm_config cfg = {
        .confirmations = 1, .stuck_seconds = 0, .stuck_seconds_set = 1, .stuck_blocks = 1000};
    fixture* f = chain_up(NULL, 3, 2, &cfg);
    free(anvil_rpc(&f->node, "evm_setAutomine", "[false]"));

    oracle_result r = {.match_id = 31, .status = ORACLE_STATUS_FINAL, .home = 1, .away = 1};
    uint8_t sigs[2][65];
    sign_by(f, &r, (int[]){0, 1}, 2, sigs);
    uint64_t id;
    eth_error err;
    assert_int_equal(
        oracle_submit_result(f->txm, f->contract, &r, (const uint8_t(*)[65])sigs, 2, &id, &err),
        ETH_OK);
    oracle_tx_record before, after;
    assert_int_equal(oracle_txm_get(f->txm, id, &before), ETH_OK);
    assert_int_equal(before.state, ORACLE_TX_SENT);
    assert_int_equal(pool_pending(f), 1);

    assert_int_equal(oracle_txm_poll(f->txm, &err), ETH_OK);
    assert_int_equal(oracle_txm_get(f->txm, id, &after), ETH_OK);
    assert_int_equal(after.nattempts, 2);
    assert_int_equal(after.nonce, before.nonce);
    assert_true(after.max_fee * 100 >= before.max_fee * 110);
    assert_true(after.tip * 100 >= before.tip * 110);
    assert_int_equal(pool_pending(f), 1); /* replaced, not added */

    assert_int_equal(anvil_mine(&f->node, 1), 0);
    wait_ok(f, id);
    oracle_tx_record done;
    assert_int_equal(oracle_txm_get(f->txm, id, &done), ETH_OK);
    assert_int_equal(done.mined_attempt, 1);
    eth_receipt rc;
    assert_int_equal(eth_rpc_receipt(f->rpc, before.attempts[0], &rc, &err), ETH_OK);
    assert_false(rc.found);
    assert_int_equal(eth_rpc_receipt(f->rpc, after.attempts[1], &rc, &err), ETH_OK);
    assert_true(rc.found);
    assert_int_equal(rc.status, 1);
    oracle_tx_record_free(&before);
    oracle_tx_record_free(&after);
    oracle_tx_record_free(&done);
    chain_down(f);
}

static int count_reports(fixture* f, uint64_t match_id)
{
    uint8_t topic[32], mid[32] = {0};
    const char* ev = "ResultReported(uint256,uint8,uint16,uint16)";
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
    char* s = anvil_rpc(&f->node, "eth_getLogs", params);
    assert_non_null(s);
    json_t* logs = json_loads(s, 0, NULL);
    free(s);
    int n = (int)json_array_size(logs);
    json_decref(logs);
    return n;
}

static void test_reorg_lands_once(void** state)
{
    (void)state;
    oracle_txm_config cfg = {.confirmations = 3};
    fixture* f = chain_up(NULL, 3, 2, &cfg);
    oracle_result r = {.match_id = 41, .status = ORACLE_STATUS_FINAL, .home = 4, .away = 2};
    uint8_t sigs[2][65];
    sign_by(f, &r, (int[]){1, 2}, 2, sigs);
    uint64_t id;
    eth_error err;
    assert_int_equal(
        oracle_submit_result(f->txm, f->contract, &r, (const uint8_t(*)[65])sigs, 2, &id, &err),
        ETH_OK);
    poll_until_mined(f, id);
    oracle_tx_record rec;
    assert_int_equal(oracle_txm_get(f->txm, id, &rec), ETH_OK);
    assert_int_equal(rec.state, ORACLE_TX_MINED); /* 1 of 3 confirmations */
    eth_receipt rc;
    assert_int_equal(eth_rpc_receipt(f->rpc, rec.attempts[0], &rc, &err), ETH_OK);
    assert_true(rc.found);

    /* Replace the last block with an empty one: the receipt disappears. */
    char* s = anvil_rpc(&f->node, "anvil_reorg", "[1,[]]");
    assert_non_null(s);
    free(s);
    assert_int_equal(eth_rpc_receipt(f->rpc, rec.attempts[0], &rc, &err), ETH_OK);
    int dropped = !rc.found;

    /* The manager notices, sends again, and follows it to 3 confirmations. */
    assert_int_equal(oracle_txm_poll(f->txm, &err), ETH_OK);
    assert_int_equal(anvil_mine(&f->node, 3), 0);
    wait_ok(f, id);
    int present;
    oracle_result got;
    assert_int_equal(oracle_read_result(f->rpc, f->contract, r.match_id, &got, &present, &err),
                     ETH_OK);
    assert_true(present);
    assert_int_equal(got.home, 4);
    assert_int_equal(count_reports(f, r.match_id), 1);
    printf("reorg: receipt %s by anvil_reorg; result landed once\n", dropped ? "dropped" : "kept");
    assert_true(dropped);
    oracle_tx_record_free(&rec);
    chain_down(f);
}

static void test_node_down_keeps_journal(void** state)
{
    (void)state;
    oracle_txm_config cfg = {.confirmations = 1};
    fixture* f = chain_up(NULL, 3, 2, &cfg);
    char statefile[160];
    snprintf(statefile, sizeof statefile, "%s/state.json", f->node.dir);
    free(anvil_rpc(&f->node, "evm_setAutomine", "[false]"));

    oracle_result r = {.match_id = 51, .status = ORACLE_STATUS_FINAL, .home = 1, .away = 0};
    uint8_t sigs[2][65];
    sign_by(f, &r, (int[]){0, 1}, 2, sigs);
    uint64_t id;
    eth_error err;
    assert_int_equal(
        oracle_submit_result(f->txm, f->contract, &r, (const uint8_t(*)[65])sigs, 2, &id, &err),
        ETH_OK);
    /* Save the chain (contract included) for the restart, then stop the node. */
    char params[200];
    snprintf(params, sizeof params, "[]");
    char* dump = anvil_rpc(&f->node, "anvil_dumpState", params);
    assert_non_null(dump);
    anvil_stop(&f->node);

    /* Retries, then a clear error; the transaction stays in the journal. */
    int rc = oracle_txm_poll(f->txm, &err);
    assert_int_equal(rc, ETH_EIO);
    printf("node down: %s\n", err.message);
    assert_non_null(strstr(err.message, "cannot reach Ethereum node"));
    assert_non_null(strstr(err.message, "3 attempts"));
    rc = oracle_submit_result(f->txm, f->contract, &(oracle_result){.match_id = 52, .status = 1},
                              (const uint8_t(*)[65])sigs, 2, &id, &err);
    assert_int_equal(rc, ETH_EIO);
    close_txm(f);

    oracle_journal j;
    assert_int_equal(oracle_journal_file_open(&j, f->journal_path, NULL), ETH_OK);
    oracle_tx_record* recs;
    size_t n;
    assert_int_equal(j.list(j.ctx, &recs, &n), ETH_OK);
    const oracle_tx_record* kept = NULL;
    for (size_t i = 0; i < n; i++)
        if (recs[i].kind == ORACLE_KIND_SUBMIT && recs[i].match_id == 51)
            kept = &recs[i];
    assert_non_null(kept);
    assert_true(kept->state == ORACLE_TX_SENT || kept->state == ORACLE_TX_NEW);
    assert_non_null(kept->raw_hex);
    oracle_tx_records_free(recs, n);
    oracle_journal_close(&j);

    /* The node comes back with its chain but an empty pool: the journal's copy lands. */
    json_t* hexstate = json_loads(dump, JSON_DECODE_ANY, NULL);
    free(dump);
    assert_non_null(hexstate);
    assert_int_equal(anvil_restart(&f->node, NULL), 0);
    char* lp = malloc(strlen(json_string_value(hexstate)) + 8);
    sprintf(lp, "[\"%s\"]", json_string_value(hexstate));
    json_decref(hexstate);
    char* ok = anvil_rpc(&f->node, "anvil_loadState", lp);
    free(lp);
    assert_non_null(ok);
    free(ok);
    assert_int_equal(pool_pending(f), 0);
    open_txm(f, &cfg);
    uint64_t kept_id = 0;
    oracle_tx_record* all;
    assert_int_equal(f->journal.list(f->journal.ctx, &all, &n), ETH_OK);
    for (size_t i = 0; i < n; i++)
        if (all[i].match_id == 51 && all[i].kind == ORACLE_KIND_SUBMIT)
            kept_id = all[i].id;
    oracle_tx_records_free(all, n);
    wait_ok(f, kept_id);
    int present;
    oracle_result got;
    assert_int_equal(oracle_read_result(f->rpc, f->contract, 51, &got, &present, &err), ETH_OK);
    assert_true(present);
    assert_int_equal(count_reports(f, 51), 1);
    chain_down(f);
}

/* Another node's transmission lands first while ours sits in the pool: ours must not go out
 * as a reverting submit; its nonce is filled with a 0-value self-transfer instead. */
static void test_other_transmitter_first(void** state)
{
    (void)state;
    oracle_txm_config cfg = {
        .confirmations = 1, .stuck_seconds = 0, .stuck_seconds_set = 1, .stuck_blocks = 1000};
    fixture* f = chain_up(NULL, 3, 2, &cfg);
    free(anvil_rpc(&f->node, "evm_setAutomine", "[false]"));
    oracle_result r = {.match_id = 71, .status = ORACLE_STATUS_FINAL, .home = 1, .away = 2};
    uint8_t sigs[2][65];
    sign_by(f, &r, (int[]){0, 1}, 2, sigs);
    uint64_t ours;
    eth_error err;
    assert_int_equal(
        oracle_submit_result(f->txm, f->contract, &r, (const uint8_t(*)[65])sigs, 2, &ours, &err),
        ETH_OK);
    oracle_tx_record rec;
    assert_int_equal(oracle_txm_get(f->txm, ours, &rec), ETH_OK);
    char h[67], params[100];
    eth_hex_write(rec.attempts[0], 32, h);
    snprintf(params, sizeof params, "[\"%s\"]", h);
    free(anvil_rpc(&f->node, "anvil_dropTransaction", params)); /* evicted from the pool */
    oracle_tx_record_free(&rec);

    /* Another node (its own sender key and journal) gets the result in. */
    eth_key other;
    assert_int_equal(
        eth_key_from_hex(&other,
                         "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
        ETH_OK);
    char jpath[200];
    snprintf(jpath, sizeof jpath, "%s/other.jsonl", f->node.dir);
    oracle_journal oj;
    assert_int_equal(oracle_journal_file_open(&oj, jpath, NULL), ETH_OK);
    oracle_txm_config ocfg = {.confirmations = 1};
    oracle_txm* om = oracle_txm_new(f->rpc, &other, &oj, &ocfg);
    assert_non_null(om);
    uint64_t theirs;
    assert_int_equal(
        oracle_submit_result(om, f->contract, &r, (const uint8_t(*)[65])sigs, 2, &theirs, &err),
        ETH_OK);
    assert_int_equal(anvil_mine(&f->node, 1), 0);
    assert_int_equal(oracle_txm_wait(om, theirs, 60000, 10, &err), ETH_OK);

    /* Ours is stuck; at its replacement the manager sees the result and sends a no-op. */
    assert_int_equal(oracle_txm_poll(f->txm, &err), ETH_OK);
    assert_int_equal(oracle_txm_get(f->txm, ours, &rec), ETH_OK);
    assert_int_equal(rec.noop, 2); /* attempt 1 (the second) is the no-op */
    assert_int_equal(rec.nattempts, 2);
    oracle_tx_record_free(&rec);
    assert_int_equal(anvil_mine(&f->node, 1), 0);
    assert_int_equal(oracle_txm_wait(f->txm, ours, 60000, 10, &err), ETH_OK);
    assert_int_equal(oracle_txm_get(f->txm, ours, &rec), ETH_OK);
    assert_int_equal(rec.state, ORACLE_TX_SUPERSEDED);
    assert_int_equal(rec.gas_used, 21000);
    assert_int_equal(rec.receipt_status, 1);
    oracle_tx_record_free(&rec);
    assert_int_equal(count_reports(f, 71), 1);

    oracle_txm_free(om);
    oracle_journal_close(&oj);
    chain_down(f);
}

/* With a finality tag, a mined result is confirmed only once its block is finalized
 * (anvil with one slot per epoch: finalized = latest - 2). */
static void test_finalized_tag(void** state)
{
    (void)state;
    static const char* const args[] = {"--slots-in-an-epoch", "1", NULL};
    oracle_txm_config cfg = {.confirmations = 1, .finality_tag = "finalized"};
    fixture* f = chain_up(args, 3, 2, &cfg);
    oracle_result r = {.match_id = 81, .status = ORACLE_STATUS_FINAL, .home = 0, .away = 0};
    uint8_t sigs[2][65];
    sign_by(f, &r, (int[]){0, 1}, 2, sigs);
    uint64_t id;
    eth_error err;
    assert_int_equal(
        oracle_submit_result(f->txm, f->contract, &r, (const uint8_t(*)[65])sigs, 2, &id, &err),
        ETH_OK);
    poll_until_mined(f, id);
    oracle_tx_record rec;
    assert_int_equal(oracle_txm_get(f->txm, id, &rec), ETH_OK);
    assert_int_equal(rec.state, ORACLE_TX_MINED);
    oracle_tx_record_free(&rec);
    assert_int_equal(anvil_mine(&f->node, 2), 0);
    wait_ok(f, id);
    chain_down(f);
}

/* A crash right after the broadcast, before the journal said "sent": on restart the record is
 * NEW, its bytes were mined meanwhile; the manager must find the receipt, not send again or
 * give up on it. */
static void test_crash_between_broadcast_and_journal(void** state)
{
    (void)state;
    fixture* f = chain_up(NULL, 3, 2, NULL);
    oracle_result r = {.match_id = 91, .status = ORACLE_STATUS_FINAL, .home = 1, .away = 1};
    uint8_t sigs[2][65];
    sign_by(f, &r, (int[]){0, 1}, 2, sigs);
    uint64_t id;
    eth_error err;
    assert_int_equal(
        oracle_submit_result(f->txm, f->contract, &r, (const uint8_t(*)[65])sigs, 2, &id, &err),
        ETH_OK);
    oracle_tx_record rec;
    assert_int_equal(oracle_txm_get(f->txm, id, &rec), ETH_OK);
    close_txm(f);

    /* What the journal held at the crash: the record as written before the broadcast. */
    rec.state = ORACLE_TX_NEW;
    rec.sent_block = 0;
    rec.sent_unix = 0;
    oracle_journal j;
    assert_int_equal(oracle_journal_file_open(&j, f->journal_path, NULL), ETH_OK);
    assert_int_equal(j.put(j.ctx, &rec), ETH_OK);
    oracle_journal_close(&j);
    oracle_tx_record_free(&rec);

    open_txm(f, NULL);
    wait_ok(f, id);
    assert_int_equal(oracle_txm_get(f->txm, id, &rec), ETH_OK);
    assert_int_equal(rec.nattempts, 1);
    oracle_tx_record_free(&rec);
    assert_int_equal(count_reports(f, 91), 1);
    chain_down(f);
}

static void test_legacy_fallback(void** state)
{
    (void)state;
    oracle_txm_config cfg = {.confirmations = 1, .force_legacy = 1};
    fixture* f = chain_up(NULL, 3, 2, &cfg);
    oracle_result r = {.match_id = 61, .status = ORACLE_STATUS_FINAL, .home = 3, .away = 3};
    uint8_t sigs[2][65];
    sign_by(f, &r, (int[]){0, 2}, 2, sigs);
    uint64_t id;
    eth_error err;
    assert_int_equal(
        oracle_submit_result(f->txm, f->contract, &r, (const uint8_t(*)[65])sigs, 2, &id, &err),
        ETH_OK);
    wait_ok(f, id);
    oracle_tx_record rec;
    assert_int_equal(oracle_txm_get(f->txm, id, &rec), ETH_OK);
    assert_int_equal(rec.type, ETH_TX_LEGACY);
    char h[67], params[100];
    eth_hex_write(rec.attempts[rec.mined_attempt], 32, h);
    snprintf(params, sizeof params, "[\"%s\"]", h);
    char* tx = anvil_rpc(&f->node, "eth_getTransactionByHash", params);
    assert_non_null(tx);
    assert_non_null(strstr(tx, "\"type\":\"0x0\""));
    free(tx);
    oracle_tx_record_free(&rec);
    chain_down(f);
}

/* Our EIP-1559 signature is byte-identical to the node's own eth_signTransaction. */
static void test_1559_matches_node(void** state)
{
    (void)state;
    anvil a;
    assert_int_equal(anvil_start(&a, NULL), 0);
    const char* params =
        "[{\"from\":\"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\","
        "\"to\":\"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\",\"gas\":\"0x7530\","
        "\"maxFeePerGas\":\"0xb2d05e00\",\"maxPriorityFeePerGas\":\"0x3b9aca00\","
        "\"value\":\"0x2a\",\"nonce\":\"0x5\",\"data\":\"0xdeadbeef\",\"chainId\":\"0x7a69\"}]";
    char* signed_json = anvil_rpc(&a, "eth_signTransaction", params);
    assert_non_null(signed_json);
    eth_key k;
    assert_int_equal(eth_key_from_hex(&k, ANVIL_KEY0), ETH_OK);
    static const uint8_t data[] = {0xde, 0xad, 0xbe, 0xef};
    eth_tx tx = {.type = ETH_TX_1559,
                 .chain_id = 31337,
                 .nonce = 5,
                 .max_priority_fee = 1000000000,
                 .max_fee = 3000000000,
                 .gas_limit = 30000,
                 .has_to = 1,
                 .value = 42,
                 .data = data,
                 .data_len = 4};
    assert_int_equal(eth_address_parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", tx.to),
                     ETH_OK);
    eth_buf raw;
    eth_buf_init(&raw);
    uint8_t h[32];
    assert_int_equal(eth_tx_sign(&tx, &k, &raw, h), ETH_OK);
    char* mine = eth_hex_encode(raw.p, raw.len);
    char quoted[1024];
    snprintf(quoted, sizeof quoted, "\"%s\"", mine);
    assert_string_equal(signed_json, quoted);
    free(mine);
    free(signed_json);
    eth_buf_free(&raw);
    anvil_cleanup(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_1559_matches_node),
        cmocka_unit_test(test_deploy_submit_read_back),
        cmocka_unit_test(test_contract_refusals),
        cmocka_unit_test(test_consecutive_nonces),
        cmocka_unit_test(test_stuck_transaction_replaced),
        cmocka_unit_test(test_reorg_lands_once),
        cmocka_unit_test(test_node_down_keeps_journal),
        cmocka_unit_test(test_other_transmitter_first),
        cmocka_unit_test(test_finalized_tag),
        cmocka_unit_test(test_crash_between_broadcast_and_journal),
        cmocka_unit_test(test_legacy_fallback),
    };
    return cmocka_run_group_tests_name("oracle on anvil", tests, NULL, NULL);
}
