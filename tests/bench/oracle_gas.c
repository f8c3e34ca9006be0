/* Gas of MatchOracle.submitResult on a local anvil, for the oracle README.
 *
 *   make bench-oracle        (or build/bench/oracle-gas after `make build/bench/oracle-gas`)
 *
 * For each k-of-n (2-of-3, 3-of-5, 5-of-7) it deploys a fresh contract with n signers and
 * threshold k, submits one result signed by k nodes and prints the receipt's gasUsed and the
 * calldata size; then the cost of each extra signature (4..7 signatures on a 4-of-7 contract),
 * and what a refused second report costs. Gas is deterministic: it does not depend on the
 * machine, only on the contract, the compiler settings and the hardfork anvil runs. */
#include "oracle/oracle.h"
#include "oracle/tests/anvil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static anvil node;
static eth_rpc* rpc;
static oracle_journal journal;
static oracle_txm* txm;
static oracle_artefact art;
static eth_key nodes[7];

static void die(const char* what, int rc, const eth_error* err)
{
    fprintf(stderr, "oracle-gas: %s: %s %s %s\n", what, eth_strerror(rc), err ? err->message : "",
            err ? err->reason : "");
    anvil_cleanup(&node);
    exit(1);
}

static uint64_t wait_gas(uint64_t id, int expect_state)
{
    eth_error err;
    int rc = oracle_txm_wait(txm, id, 60000, 5, &err);
    oracle_tx_record r;
    if (oracle_txm_get(txm, id, &r) != ETH_OK)
        die("record", ETH_ENOTFOUND, NULL);
    if (r.state != expect_state)
        die("unexpected transaction state", rc, &err);
    uint64_t gas = r.gas_used;
    oracle_tx_record_free(&r);
    return gas;
}

static void deploy(size_t n, unsigned k, uint8_t contract[20], uint64_t* gas)
{
    uint8_t signers[7][20];
    for (size_t i = 0; i < n; i++)
        memcpy(signers[i], nodes[i].address, 20);
    eth_error err;
    uint64_t id;
    int rc = oracle_deploy(txm, &art, (const uint8_t(*)[20])signers, n, k, &id, contract, &err);
    if (rc != ETH_OK)
        die("deploy", rc, &err);
    *gas = wait_gas(id, ORACLE_TX_CONFIRMED);
}

static uint64_t submit(const uint8_t contract[20], uint64_t match, size_t nsigs, size_t* calldata)
{
    oracle_result r = {.match_id = match, .status = ORACLE_STATUS_FINAL, .home = 2, .away = 1};
    uint8_t sigs[7][65];
    for (size_t i = 0; i < nsigs; i++)
        if (oracle_sign_result(&nodes[i], oracle_txm_chain_id(txm), contract, &r, sigs[i]) !=
            ETH_OK)
            die("sign", ETH_EKEY, NULL);
    eth_buf d;
    eth_buf_init(&d);
    oracle_calldata_submit(&r, (const uint8_t(*)[65])sigs, nsigs, &d);
    *calldata = d.len;
    eth_buf_free(&d);
    eth_error err;
    uint64_t id;
    int rc = oracle_submit_result(txm, contract, &r, (const uint8_t(*)[65])sigs, nsigs, &id, &err);
    if (rc != ETH_OK)
        die("submit", rc, &err);
    return wait_gas(id, ORACLE_TX_CONFIRMED);
}

/* A second report of `match`, sent without the submitter's checks (fixed gas, no estimate). */
static uint64_t duplicate(const uint8_t contract[20], uint64_t match, size_t nsigs)
{
    oracle_result r = {.match_id = match, .status = ORACLE_STATUS_FINAL, .home = 2, .away = 1};
    uint8_t sigs[7][65];
    for (size_t i = 0; i < nsigs; i++)
        oracle_sign_result(&nodes[i], oracle_txm_chain_id(txm), contract, &r, sigs[i]);
    eth_buf d;
    eth_buf_init(&d);
    oracle_calldata_submit(&r, (const uint8_t(*)[65])sigs, nsigs, &d);
    eth_error err;
    uint64_t id;
    int rc = oracle_txm_send(txm, ORACLE_KIND_OTHER, 0, contract, d.p, d.len, 200000, &id, &err);
    eth_buf_free(&d);
    if (rc != ETH_OK)
        die("duplicate", rc, &err);
    return wait_gas(id, ORACLE_TX_FAILED);
}

int main(void)
{
    struct utsname u;
    uname(&u);
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGE_SIZE);
    printf("machine: %s %s, %ld cores, %.1f GiB RAM\n", u.sysname, u.machine,
           sysconf(_SC_NPROCESSORS_ONLN), (double)pages * (double)psize / (1024.0 * 1024 * 1024));
    if (anvil_start(&node, NULL) != 0)
        return 1;
    char* ver = anvil_rpc(&node, "web3_clientVersion", "[]");
    printf("node: %s\n", ver ? ver : "?");
    free(ver);
    eth_rpc_config rc = {.url = node.url};
    rpc = eth_rpc_new(&rc);
    char jpath[160];
    snprintf(jpath, sizeof jpath, "%s/journal.jsonl", node.dir);
    eth_error err;
    if (oracle_journal_file_open(&journal, jpath, &err) != ETH_OK ||
        oracle_artefact_load(&art, NULL, &err) != ETH_OK)
        die("setup", ETH_EINVAL, &err);
    eth_key sender;
    eth_key_from_hex(&sender, ANVIL_KEY0);
    oracle_txm_config cfg = {.confirmations = 1, .abi_json = art.abi_json};
    txm = oracle_txm_new(rpc, &sender, &journal, &cfg);
    for (int i = 0; i < 7; i++)
        test_node_key(i + 1, &nodes[i]);

    static const struct
    {
        unsigned k, n;
    } configs[] = {{2, 3}, {3, 5}, {5, 7}};
    printf("\n%-8s %12s %10s %12s\n", "k-of-n", "submit gas", "calldata", "deploy gas");
    uint8_t contract[20];
    for (size_t i = 0; i < 3; i++) {
        uint64_t dgas;
        size_t cd;
        deploy(configs[i].n, configs[i].k, contract, &dgas);
        uint64_t gas = submit(contract, 100 + i, configs[i].k, &cd);
        printf("%u-of-%-3u %12llu %8zu B %12llu\n", configs[i].k, configs[i].n,
               (unsigned long long)gas, cd, (unsigned long long)dgas);
    }

    printf("\nsignatures on a 4-of-7 contract (each extra signature):\n");
    uint64_t dgas, prev = 0;
    deploy(7, 4, contract, &dgas);
    for (size_t s = 4; s <= 7; s++) {
        size_t cd;
        uint64_t gas = submit(contract, 200 + s, s, &cd);
        if (prev)
            printf("%zu sigs %10llu  (+%llu)\n", s, (unsigned long long)gas,
                   (unsigned long long)(gas - prev));
        else
            printf("%zu sigs %10llu\n", s, (unsigned long long)gas);
        prev = gas;
    }
    printf("\nsecond report of a match (reverts AlreadyReported), 4 sigs: %llu gas\n",
           (unsigned long long)duplicate(contract, 204, 4));

    oracle_txm_free(txm);
    oracle_journal_close(&journal);
    oracle_artefact_free(&art);
    eth_rpc_free(rpc);
    anvil_cleanup(&node);
    return 0;
}
