/* The transaction manager: gets our transactions mined exactly once and follows them until
 * they are deep enough to trust.
 *
 * The happy path for a send is: estimate gas (a revert stops here, nothing recorded), pick
 * fees, take the next local nonce, sign, write the record to the journal, broadcast, and
 * return. oracle_txm_poll then follows each open record: receipt seen -> MINED; enough blocks
 * on top and its block still canonical -> CONFIRMED (or FAILED when the receipt says reverted).
 *
 * Possible failure modes are:
 *  - the node is unreachable when we broadcast: the record stays NEW in the journal and the
 *    next poll (in this process or in the next leader's) sends the same bytes;
 *  - the transaction sits in the pool (fees too low, pool eviction): after stuck_blocks heads or
 *    stuck_seconds without a receipt it is replaced with the same nonce and fees raised by at
 *    least bump_percent (computed here: nodes differ in what they refuse, anvil takes +5%);
 *    every attempt's hash is kept, because the old one may still be the one that gets mined;
 *  - the block holding it is reorged out: its receipt disappears or its block hash changes,
 *    and the record goes back to SENT and is broadcast again;
 *  - its nonce is used by a transaction that is none of our attempts (another process with the
 *    same key): the record becomes SUPERSEDED and the caller decides (the submitter re-reads
 *    the contract before sending again). A node may count a nonce before it serves the
 *    receipt of the transaction that used it, so our attempts' receipts are looked up for
 *    about a second before SUPERSEDED is concluded;
 *  - "nonce too low" on a first broadcast: our local nonce is behind the chain; re-read it,
 *    re-sign, send once more.
 * Nonces are allocated locally, starting from max(the node's pending count, the highest open
 * journal nonce + 1), so back-to-back sends get consecutive nonces without asking the node. */
#include "oracle/oracle.h"
#include "oracle/txm_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct oracle_txm
{
    eth_rpc* rpc;
    eth_key key;
    oracle_journal* journal;
    oracle_txm_config cfg;
    int ready;
    uint64_t chain_id;
    int eip1559;
    int nonce_known;
    uint64_t next_nonce;
    oracle_tx_record* recs;
    size_t nrecs;
};

static int64_t now_unix(void)
{
    return (int64_t)time(NULL);
}

static int is_open(int state)
{
    return state == ORACLE_TX_NEW || state == ORACLE_TX_SENT || state == ORACLE_TX_MINED;
}

oracle_txm* oracle_txm_new(eth_rpc* rpc,
                           const eth_key* sender,
                           oracle_journal* journal,
                           const oracle_txm_config* cfg)
{
    if (!rpc || !sender || !journal)
        return NULL;
    oracle_txm* m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->rpc = rpc;
    m->key = *sender;
    m->journal = journal;
    if (cfg)
        m->cfg = *cfg;
    if (m->cfg.confirmations == 0)
        m->cfg.confirmations = 3;
    if (m->cfg.bump_percent < 10)
        m->cfg.bump_percent = m->cfg.bump_percent ? 10 : 12;
    if (m->cfg.stuck_blocks == 0)
        m->cfg.stuck_blocks = 3;
    if (!m->cfg.stuck_seconds_set && m->cfg.stuck_seconds == 0)
        m->cfg.stuck_seconds = 60;
    if (m->cfg.gas_margin_percent == 0)
        m->cfg.gas_margin_percent = 20;
    if (journal->list(journal->ctx, &m->recs, &m->nrecs) != ETH_OK) {
        free(m);
        return NULL;
    }
    return m;
}

void oracle_txm_free(oracle_txm* m)
{
    if (!m)
        return;
    eth_key_wipe(&m->key);
    oracle_tx_records_free(m->recs, m->nrecs);
    free(m);
}

uint64_t oracle_txm_chain_id(const oracle_txm* m)
{
    return m->chain_id ? m->chain_id : m->cfg.chain_id;
}

eth_rpc* oracle_txm_rpc(oracle_txm* m)
{
    return m->rpc;
}

static oracle_tx_record* find(oracle_txm* m, uint64_t id)
{
    for (size_t i = 0; i < m->nrecs; i++)
        if (m->recs[i].id == id)
            return &m->recs[i];
    return NULL;
}

int oracle_txm_get(oracle_txm* m, uint64_t id, oracle_tx_record* out)
{
    oracle_tx_record* r = find(m, id);
    return r ? oracle_tx_record_copy(out, r) : ETH_ENOTFOUND;
}

/* Writes r through to the journal and to our copy (inserting it when new). */
static int save(oracle_txm* m, oracle_tx_record* r)
{
    int is_new = r->id == 0;
    int rc = m->journal->put(m->journal->ctx, r);
    if (rc != ETH_OK)
        return ETH_EJOURNAL;
    if (!is_new)
        return ETH_OK; /* r points into m->recs */
    oracle_tx_record* nr = realloc(m->recs, (m->nrecs + 1) * sizeof *nr);
    if (!nr)
        return ETH_ENOMEM;
    m->recs = nr;
    m->recs[m->nrecs++] = *r; /* takes ownership of r's strings */
    return ETH_OK;
}

static int ready(oracle_txm* m, eth_error* err)
{
    if (m->ready)
        return ETH_OK;
    uint64_t id;
    int rc = eth_rpc_chain_id(m->rpc, &id, err);
    if (rc != ETH_OK)
        return rc;
    if (m->cfg.chain_id && m->cfg.chain_id != id) {
        if (err)
            snprintf(err->message, sizeof err->message,
                     "the node is on chain %llu, configuration says %llu", (unsigned long long)id,
                     (unsigned long long)m->cfg.chain_id);
        return ETH_ECHAIN;
    }
    uint64_t base;
    int has_base = 0;
    rc = eth_rpc_block(m->rpc, "latest", NULL, NULL, &base, &has_base, err);
    if (rc != ETH_OK)
        return rc;
    m->chain_id = id;
    m->eip1559 = has_base && !m->cfg.force_legacy;
    m->ready = 1;
    return ETH_OK;
}

static int alloc_nonce(oracle_txm* m, uint64_t* nonce, eth_error* err)
{
    if (!m->nonce_known) {
        uint64_t pending;
        int rc = eth_rpc_nonce(m->rpc, m->key.address, "pending", &pending, err);
        if (rc != ETH_OK)
            return rc;
        for (size_t i = 0; i < m->nrecs; i++)
            if (m->recs[i].state != ORACLE_TX_SUPERSEDED && m->recs[i].nonce >= pending &&
                m->recs[i].chain_id == m->chain_id &&
                memcmp(m->recs[i].from, m->key.address, 20) == 0)
                pending = m->recs[i].nonce + 1;
        m->next_nonce = pending;
        m->nonce_known = 1;
    }
    *nonce = m->next_nonce++;
    return ETH_OK;
}

/* Signs r's current fields into r->raw_hex and appends the attempt hash. */
static int sign_attempt(oracle_txm* m, oracle_tx_record* r)
{
    if (r->nattempts >= ORACLE_MAX_ATTEMPTS)
        return ETH_EUNDERPRICED;
    eth_buf data, raw;
    eth_buf_init(&data);
    eth_buf_init(&raw);
    int rc = r->data_hex ? eth_hex_decode_buf(r->data_hex, &data) : ETH_OK;
    eth_tx tx = {.type = r->type,
                 .chain_id = r->chain_id,
                 .nonce = r->nonce,
                 .max_priority_fee = r->tip,
                 .max_fee = r->max_fee,
                 .gas_limit = r->gas_limit,
                 .has_to = r->has_to,
                 .value = r->value,
                 .data = data.p,
                 .data_len = data.len};
    memcpy(tx.to, r->to, 20);
    uint8_t hash[32];
    if (rc == ETH_OK)
        rc = eth_tx_sign(&tx, &m->key, &raw, hash);
    if (rc == ETH_OK) {
        char* hex = eth_hex_encode(raw.p, raw.len);
        if (!hex) {
            rc = ETH_ENOMEM;
        } else {
            free(r->raw_hex);
            r->raw_hex = hex;
            memcpy(r->attempts[r->nattempts++], hash, 32);
        }
    }
    eth_buf_free(&data);
    eth_buf_free(&raw);
    return rc;
}

/* Sends r's latest attempt. `head` is recorded as the send time unless it is 0 (a mere
 * re-broadcast of an attempt that is already out keeps its stuck clock running). */
static int broadcast(oracle_txm* m, oracle_tx_record* r, uint64_t head, eth_error* err)
{
    eth_buf raw;
    eth_buf_init(&raw);
    int rc = eth_hex_decode_buf(r->raw_hex, &raw);
    uint8_t hash[32];
    if (rc == ETH_OK)
        rc = eth_rpc_send_raw(m->rpc, raw.p, raw.len, hash, err);
    eth_buf_free(&raw);
    if (rc == ETH_OK) {
        if (head || r->state == ORACLE_TX_NEW) {
            r->sent_block = head;
            r->sent_unix = now_unix();
        }
        r->last_error[0] = 0;
        if (r->state == ORACLE_TX_NEW)
            r->state = ORACLE_TX_SENT;
    } else if (err) {
        snprintf(r->last_error, sizeof r->last_error, "%.127s", err->message);
    }
    return rc;
}

static void decode_reason(oracle_txm* m, eth_error* err)
{
    if (err && (err->data_len || err->code == 3))
        eth_abi_decode_revert(m->cfg.abi_json, err->data, err->data_len, err->reason,
                              sizeof err->reason);
}

int oracle_txm_send(oracle_txm* m,
                    int kind,
                    uint64_t match_id,
                    const uint8_t* to,
                    const uint8_t* data,
                    size_t n,
                    uint64_t gas_limit,
                    uint64_t* id,
                    eth_error* err)
{
    if (id)
        *id = 0;
    int rc = ready(m, err);
    if (rc != ETH_OK)
        return rc;
    if (gas_limit == 0) {
        uint64_t est;
        rc = eth_rpc_estimate_gas(m->rpc, m->key.address, to, data, n, &est, err);
        if (rc == ETH_EREVERT)
            decode_reason(m, err);
        if (rc != ETH_OK)
            return rc;
        gas_limit = est + est * m->cfg.gas_margin_percent / 100;
    }
    uint64_t max_fee, tip, head;
    int eip1559;
    rc = eth_rpc_suggest_fees(m->rpc, &max_fee, &tip, &eip1559, err);
    if (rc == ETH_OK)
        rc = eth_rpc_block_number(m->rpc, &head, err);
    if (rc != ETH_OK)
        return rc;
    if (m->cfg.max_fee_cap && max_fee > m->cfg.max_fee_cap)
        max_fee = m->cfg.max_fee_cap;
    if (tip > max_fee)
        tip = max_fee;

    oracle_tx_record r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.match_id = match_id;
    r.state = ORACLE_TX_NEW;
    r.type = (m->eip1559 && eip1559) ? ETH_TX_1559 : ETH_TX_LEGACY;
    r.chain_id = m->chain_id;
    r.gas_limit = gas_limit;
    r.max_fee = max_fee;
    r.tip = r.type == ETH_TX_1559 ? tip : 0;
    r.has_to = to != NULL;
    if (to)
        memcpy(r.to, to, 20);
    memcpy(r.from, m->key.address, 20);
    r.mined_attempt = -1;
    r.data_hex = eth_hex_encode(data, n);
    if (!r.data_hex)
        return ETH_ENOMEM;
    rc = alloc_nonce(m, &r.nonce, err);
    if (rc == ETH_OK)
        rc = sign_attempt(m, &r);
    if (rc == ETH_OK)
        rc = save(m, &r); /* recorded before it can reach any node */
    if (rc != ETH_OK) {
        oracle_tx_record_free(&r);
        if (rc == ETH_EJOURNAL && err)
            snprintf(err->message, sizeof err->message, "journal write failed: nothing sent");
        m->nonce_known = 0;
        return rc;
    }
    oracle_tx_record* rec = &m->recs[m->nrecs - 1];
    if (id)
        *id = rec->id;
    rc = broadcast(m, rec, head, err);
    if (rc == ETH_ENONCE) {
        /* Our nonce is behind the chain (the key was used elsewhere): take a fresh one. */
        uint64_t fresh;
        int rc2 = eth_rpc_nonce(m->rpc, m->key.address, "pending", &fresh, err);
        if (rc2 == ETH_OK) {
            rec->nonce = fresh;
            rec->nattempts = 0; /* the refused attempt never reached a pool */
            m->next_nonce = fresh + 1;
            m->nonce_known = 1;
            rc2 = sign_attempt(m, rec);
        } else {
            m->nonce_known = 0;
        }
        if (rc2 == ETH_OK)
            rc2 = save(m, rec);
        rc = rc2 == ETH_OK ? broadcast(m, rec, head, err) : rc2;
    }
    int rc_save = save(m, rec);
    if (rc == ETH_EREVERT)
        decode_reason(m, err);
    return rc != ETH_OK ? rc : rc_save;
}

static int replace(oracle_txm* m, oracle_tx_record* r, uint64_t head, eth_error* err)
{
    uint64_t max_fee = eth_fee_bump(r->max_fee, m->cfg.bump_percent);
    uint64_t tip = r->type == ETH_TX_1559 ? eth_fee_bump(r->tip, m->cfg.bump_percent) : 0;
    uint64_t s_max, s_tip;
    int s1559;
    /* If the market moved more than our bump, follow the market. */
    if (eth_rpc_suggest_fees(m->rpc, &s_max, &s_tip, &s1559, NULL) == ETH_OK) {
        if (s_max > max_fee)
            max_fee = s_max;
        if (r->type == ETH_TX_1559 && s_tip > tip)
            tip = s_tip;
    }
    if (tip > max_fee)
        max_fee = tip;
    if (m->cfg.max_fee_cap && max_fee > m->cfg.max_fee_cap) {
        snprintf(r->last_error, sizeof r->last_error, "fee cap reached: not replaced");
        return save(m, r);
    }
    r->max_fee = max_fee;
    r->tip = tip;
    int rc = sign_attempt(m, r);
    if (rc == ETH_OK)
        rc = save(m, r);
    if (rc != ETH_OK)
        return rc;
    rc = broadcast(m, r, head, err);
    int rs = save(m, r);
    return rc != ETH_OK ? rc : rs;
}

int oracle_txm_bump(oracle_txm* m, uint64_t id, eth_error* err)
{
    oracle_tx_record* r = find(m, id);
    if (!r || !is_open(r->state) || r->state == ORACLE_TX_MINED)
        return ETH_EINVAL;
    int rc = ready(m, err);
    uint64_t head = 0;
    if (rc == ETH_OK)
        rc = eth_rpc_block_number(m->rpc, &head, err);
    return rc == ETH_OK ? replace(m, r, head, err) : rc;
}

/* Looks for a receipt of any attempt, newest first. */
static int find_receipt(oracle_txm* m,
                        oracle_tx_record* r,
                        eth_receipt* rc_out,
                        int* which,
                        eth_error* err)
{
    *which = -1;
    for (int i = (int)r->nattempts - 1; i >= 0; i--) {
        int rc = eth_rpc_receipt(m->rpc, r->attempts[i], rc_out, err);
        if (rc != ETH_OK)
            return rc;
        if (rc_out->found) {
            *which = i;
            return ETH_OK;
        }
    }
    return ETH_OK;
}

static void sleep_ms(long ms);

/* find_receipt when our nonce is known to be used: a node may count the nonce a moment before
 * it serves the receipt (anvil under load does), so look a few times over about a second
 * before concluding that another transaction took the nonce. */
static int find_receipt_patient(oracle_txm* m,
                                oracle_tx_record* r,
                                eth_receipt* rc_out,
                                int* which,
                                eth_error* err)
{
    for (int tries = 0;; tries++) {
        int rc = find_receipt(m, r, rc_out, which, err);
        if (rc != ETH_OK || rc_out->found || tries == 9)
            return rc;
        sleep_ms(100);
    }
}

static void take_receipt(oracle_tx_record* r, const eth_receipt* rc, int which)
{
    r->state = ORACLE_TX_MINED;
    r->mined_attempt = which;
    r->block_number = rc->block_number;
    memcpy(r->block_hash, rc->block_hash, 32);
    r->gas_used = rc->gas_used;
    r->receipt_status = rc->status;
}

/* A submit whose result is already on chain (another node's transmission landed first) must
 * not go out as it is: it would revert and still cost gas. Its nonce cannot simply be skipped
 * either (every later nonce would wait behind the gap), so it becomes a 0-value transfer to
 * ourselves: 21,000 gas, and the nonce sequence stays whole. */
static int result_already_there(oracle_txm* m, const oracle_tx_record* r)
{
    if (r->kind != ORACLE_KIND_SUBMIT || r->noop || !r->has_to)
        return 0;
    oracle_result got;
    int present = 0;
    if (oracle_read_result(m->rpc, r->to, r->match_id, &got, &present, NULL) != ETH_OK)
        return 0;
    return present;
}

static int make_noop(oracle_tx_record* r)
{
    char* empty = strdup("0x");
    if (!empty)
        return ETH_ENOMEM;
    free(r->data_hex);
    r->data_hex = empty;
    r->noop = (int)r->nattempts + 1; /* the next attempt is the first no-op */
    r->has_to = 1;
    memcpy(r->to, r->from, 20);
    r->gas_limit = 21000;
    r->value = 0;
    snprintf(r->last_error, sizeof r->last_error,
             "result already on chain: nonce filled with a no-op");
    return ETH_OK;
}

static int follow(oracle_txm* m, oracle_tx_record* r, uint64_t head, eth_error* err)
{
    eth_receipt rcpt;
    int which, rc;
    if (r->state == ORACLE_TX_NEW) {
        /* Recovering after a crash: one of its attempts may have gone out and been mined. */
        rc = find_receipt(m, r, &rcpt, &which, err);
        if (rc != ETH_OK)
            return rc;
        if (rcpt.found) {
            take_receipt(r, &rcpt, which);
            return follow(m, r, head, err);
        }
        if (result_already_there(m, r)) {
            rc = make_noop(r);
            if (rc == ETH_OK)
                rc = sign_attempt(m, r);
            if (rc == ETH_OK)
                rc = save(m, r);
            if (rc != ETH_OK)
                return rc;
        }
        rc = broadcast(m, r, head, err);
        if (rc == ETH_EUNDERPRICED) /* the base fee outran our max fee: bid again */
            rc = replace(m, r, head, err);
        if (rc == ETH_ENONCE) {
            /* Its nonce is used: by this very transaction (sent just before a crash, before
             * the journal said "sent"), or by another one. */
            rc = find_receipt_patient(m, r, &rcpt, &which, err);
            if (rc != ETH_OK)
                return rc;
            if (rcpt.found) {
                take_receipt(r, &rcpt, which);
                return follow(m, r, head, err);
            }
            r->state = ORACLE_TX_SUPERSEDED;
            snprintf(r->last_error, sizeof r->last_error, "nonce used by another transaction");
        }
        return rc;
    }

    if (r->state == ORACLE_TX_MINED) {
        /* Still canonical? The receipt must still be there, in the same block. */
        rc = find_receipt(m, r, &rcpt, &which, err);
        if (rc != ETH_OK)
            return rc;
        if (!rcpt.found) {
            r->state = ORACLE_TX_SENT; /* reorged out: send it again */
            r->mined_attempt = -1;
            snprintf(r->last_error, sizeof r->last_error, "receipt vanished (reorg): re-sent");
            return broadcast(m, r, head, err);
        }
        take_receipt(r, &rcpt, which);
        uint8_t bh[32];
        char tag[24];
        snprintf(tag, sizeof tag, "%llu", (unsigned long long)r->block_number);
        rc = eth_rpc_block(m->rpc, tag, NULL, bh, NULL, NULL, err);
        if (rc == ETH_ENOTFOUND || (rc == ETH_OK && memcmp(bh, r->block_hash, 32) != 0))
            return ETH_OK; /* the node is mid-reorg; look again next round */
        if (rc != ETH_OK)
            return rc;
        uint64_t final_block = UINT64_MAX;
        if (m->cfg.finality_tag) {
            rc = eth_rpc_block(m->rpc, m->cfg.finality_tag, &final_block, NULL, NULL, NULL, err);
            if (rc == ETH_ENOTFOUND)
                return ETH_OK; /* nothing is final yet */
            if (rc != ETH_OK)
                return rc;
        }
        if (head + 1 >= r->block_number + m->cfg.confirmations && r->block_number <= final_block) {
            if (r->noop && r->mined_attempt >= r->noop - 1)
                r->state = ORACLE_TX_SUPERSEDED; /* our no-op, not the submit, was mined */
            else
                r->state = r->receipt_status == 1 ? ORACLE_TX_CONFIRMED : ORACLE_TX_FAILED;
        }
        return ETH_OK;
    }

    /* SENT */
    rc = find_receipt(m, r, &rcpt, &which, err);
    if (rc != ETH_OK)
        return rc;
    if (rcpt.found) {
        take_receipt(r, &rcpt, which);
        return follow(m, r, head, err);
    }
    uint64_t mined_nonce;
    rc = eth_rpc_nonce(m->rpc, r->from, "latest", &mined_nonce, err);
    if (rc != ETH_OK)
        return rc;
    if (mined_nonce > r->nonce) {
        /* Our nonce is used; more looks in case an attempt was mined meanwhile. */
        rc = find_receipt_patient(m, r, &rcpt, &which, err);
        if (rc != ETH_OK)
            return rc;
        if (rcpt.found) {
            take_receipt(r, &rcpt, which);
            return follow(m, r, head, err);
        }
        r->state = ORACLE_TX_SUPERSEDED;
        snprintf(r->last_error, sizeof r->last_error, "nonce used by another transaction");
        return ETH_OK;
    }
    int stuck = head >= r->sent_block + m->cfg.stuck_blocks ||
                now_unix() - r->sent_unix >= (int64_t)m->cfg.stuck_seconds;
    if (stuck) {
        if (result_already_there(m, r)) {
            rc = make_noop(r);
            if (rc != ETH_OK)
                return rc;
        }
        return replace(m, r, head, err);
    }
    /* Not stuck yet: make sure a node has it (it may have been evicted or lost in a reorg). */
    rc = broadcast(m, r, 0, err);
    return rc == ETH_ENONCE ? ETH_OK : rc;
}

int oracle_txm_poll(oracle_txm* m, eth_error* err)
{
    int rc = ready(m, err);
    uint64_t head = 0;
    if (rc == ETH_OK)
        rc = eth_rpc_block_number(m->rpc, &head, err);
    if (rc != ETH_OK)
        return rc;
    /* Oldest first: nonces must reach the pool in order. */
    for (size_t i = 0; i < m->nrecs; i++) {
        oracle_tx_record* r = &m->recs[i];
        if (!is_open(r->state) || memcmp(r->from, m->key.address, 20) != 0 ||
            r->chain_id != m->chain_id)
            continue;
        int before = r->state;
        size_t attempts = r->nattempts;
        rc = follow(m, r, head, err);
        if (r->state != before || r->nattempts != attempts || rc != ETH_OK) {
            int rs = save(m, r);
            if (rc == ETH_OK)
                rc = rs;
        }
        if (rc == ETH_EIO || rc == ETH_ETIMEOUT || rc == ETH_ERATELIMIT || rc == ETH_EJOURNAL)
            return rc; /* no point going on: the next poll resumes */
    }
    return ETH_OK;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static long elapsed_ms(const struct timespec* t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

int oracle_txm_wait(oracle_txm* m, uint64_t id, long timeout_ms, long poll_ms, eth_error* err)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int rc = oracle_txm_poll(m, err);
        oracle_tx_record* r = find(m, id);
        if (!r)
            return ETH_ENOTFOUND;
        if (!is_open(r->state)) {
            if (r->state == ORACLE_TX_FAILED && err)
                snprintf(err->message, sizeof err->message,
                         "transaction mined but reverted (block %llu)",
                         (unsigned long long)r->block_number);
            return r->state == ORACLE_TX_FAILED ? ETH_EREVERT : ETH_OK;
        }
        if (elapsed_ms(&t0) >= timeout_ms) {
            if (rc == ETH_OK && err)
                snprintf(err->message, sizeof err->message,
                         "transaction %llu still %s; it stays in the journal",
                         (unsigned long long)id, oracle_tx_state_name(r->state));
            return rc != ETH_OK ? rc : ETH_ETIMEOUT;
        }
        sleep_ms(poll_ms > 0 ? poll_ms : 1000);
    }
}

uint64_t oracle_txm_find_live(oracle_txm* m, int kind, uint64_t match_id, const uint8_t to[20])
{
    for (size_t i = m->nrecs; i-- > 0;) {
        oracle_tx_record* r = &m->recs[i];
        /* Only our own: another sender's record (an old leader with its own key) may never
         * have been broadcast, and we could not follow it; the contract read stops a
         * duplicate if it did land. */
        if (memcmp(r->from, m->key.address, 20) != 0)
            continue;
        if (r->kind == kind && r->match_id == match_id && r->has_to && memcmp(r->to, to, 20) == 0 &&
            (is_open(r->state) || r->state == ORACLE_TX_CONFIRMED))
            return r->id;
    }
    return 0;
}

const uint8_t* oracle_txm_sender(const oracle_txm* m)
{
    return m->key.address;
}

int oracle_txm_prepare(oracle_txm* m, eth_error* err)
{
    return ready(m, err);
}
