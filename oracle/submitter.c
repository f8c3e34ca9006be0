/* The result submitter: turns an agreed, signed result into exactly one on-chain report.
 *
 * The happy path is: check the outcome and every signature locally (it recovers to some
 * address, low-s, v 27/28), look in the journal for a transaction already carrying this match
 * (a retry after a crash or from a new leader reuses it instead of sending a second one), read
 * the contract (a result that is already there is not sent again: ETH_EALREADY), then hand the
 * calldata to the transaction manager, whose gas estimate also surfaces any revert the contract
 * would raise (one signature short, unknown signer...) with its decoded reason.
 *
 * The contract refuses a second report for a match in any case; these checks only keep us from
 * paying for the revert. */
#include "oracle/oracle.h"
#include "oracle/txm_internal.h"

#include <stdio.h>
#include <string.h>

static int check_outcome(const oracle_result* res, eth_error* err)
{
    if (res->status == ORACLE_STATUS_FINAL)
        return ETH_OK;
    if (res->status == ORACLE_STATUS_VOID && res->home == 0 && res->away == 0)
        return ETH_OK;
    if (err)
        snprintf(err->message, sizeof err->message,
                 "outcome must be a final score or void (void carries no score)");
    return ETH_EINVAL;
}

static int check_signatures(oracle_txm* m,
                            const uint8_t contract[20],
                            const oracle_result* res,
                            const uint8_t (*sigs)[65],
                            size_t nsigs,
                            eth_error* err)
{
    uint8_t digest[32], who[20];
    oracle_result_digest(oracle_txm_chain_id(m), contract, res, digest);
    for (size_t i = 0; i < nsigs; i++) {
        const char* why = NULL;
        if (sigs[i][64] != 27 && sigs[i][64] != 28)
            why = "v must be 27 or 28";
        else if (!eth_sig_is_low_s(sigs[i]))
            why = "s is in the upper half of the curve order (EIP-2)";
        else if (eth_recover(digest, sigs[i], who) != ETH_OK)
            why = "does not recover to any key";
        if (why) {
            if (err)
                snprintf(err->message, sizeof err->message, "signature %zu: %s", i, why);
            return ETH_EINVAL;
        }
    }
    return ETH_OK;
}

int oracle_submit_result(oracle_txm* m,
                         const uint8_t contract[20],
                         const oracle_result* res,
                         const uint8_t (*sigs)[65],
                         size_t nsigs,
                         uint64_t* id,
                         eth_error* err)
{
    if (err)
        memset(err, 0, sizeof *err);
    if (id)
        *id = 0;
    if (!m || !contract || !res || (nsigs && !sigs))
        return ETH_EINVAL;
    int rc = check_outcome(res, err);
    if (rc != ETH_OK)
        return rc;
    /* The chain id is needed for the digest: one cheap call makes the manager ready. */
    oracle_result onchain;
    int present = 0;
    rc = oracle_read_result(oracle_txm_rpc(m), contract, res->match_id, &onchain, &present, err);
    if (rc != ETH_OK)
        return rc;
    if (present) {
        if (err)
            snprintf(err->message, sizeof err->message,
                     "match %llu already reported on chain (%u-%u, status %u)",
                     (unsigned long long)res->match_id, onchain.home, onchain.away, onchain.status);
        return ETH_EALREADY;
    }
    uint64_t live = oracle_txm_find_live(m, ORACLE_KIND_SUBMIT, res->match_id, contract);
    if (live) {
        if (id)
            *id = live;
        return ETH_OK;
    }
    rc = oracle_txm_prepare(m, err); /* learns and checks the chain id for the digest */
    if (rc == ETH_OK)
        rc = check_signatures(m, contract, res, sigs, nsigs, err);
    if (rc != ETH_OK)
        return rc;
    eth_buf data;
    eth_buf_init(&data);
    rc = oracle_calldata_submit(res, sigs, nsigs, &data);
    if (rc == ETH_OK)
        rc = oracle_txm_send(m, ORACLE_KIND_SUBMIT, res->match_id, contract, data.p, data.len, 0,
                             id, err);
    eth_buf_free(&data);
    return rc;
}

int oracle_deploy(oracle_txm* m,
                  const oracle_artefact* a,
                  const uint8_t (*signers)[20],
                  size_t n,
                  unsigned threshold,
                  uint64_t* id,
                  uint8_t contract[20],
                  eth_error* err)
{
    if (err)
        memset(err, 0, sizeof *err);
    eth_buf code;
    eth_buf_init(&code);
    uint64_t rid = 0;
    int rc = oracle_deploy_code(a->bytecode.p, a->bytecode.len, signers, n, threshold, &code);
    if (rc == ETH_OK)
        rc = oracle_txm_send(m, ORACLE_KIND_DEPLOY, 0, NULL, code.p, code.len, 0, &rid, err);
    eth_buf_free(&code);
    if (id)
        *id = rid;
    if (rid) {
        oracle_tx_record r;
        if (oracle_txm_get(m, rid, &r) == ETH_OK) {
            eth_create_address(r.from, r.nonce, contract);
            oracle_tx_record_free(&r);
        }
    }
    return rc;
}

int oracle_set_signers(oracle_txm* m,
                       const uint8_t contract[20],
                       const uint8_t (*signers)[20],
                       size_t n,
                       unsigned threshold,
                       uint64_t* id,
                       eth_error* err)
{
    if (err)
        memset(err, 0, sizeof *err);
    eth_buf data;
    eth_buf_init(&data);
    int rc = oracle_calldata_set_signers(signers, n, threshold, &data);
    if (rc == ETH_OK)
        rc = oracle_txm_send(m, ORACLE_KIND_SIGNERS, 0, contract, data.p, data.len, 0, id, err);
    eth_buf_free(&data);
    return rc;
}
