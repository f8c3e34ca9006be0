/* Transactions: EIP-1559 (type 2, EIP-2718 envelope) and, for chains without a base fee,
 * legacy transactions with EIP-155 replay protection.
 *
 *   type 2 signing hash: keccak256(0x02 || rlp([chainId, nonce, tip, maxFee, gas, to, value,
 *                        data, accessList]))   signed: same list + [yParity, r, s]
 *   legacy signing hash: keccak256(rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0]))
 *                        signed: [nonce, ..., data, v = recid + 2*chainId + 35, r, s]
 * r and s are RLP integers (leading zeros stripped); a creation has an empty `to`. */
#include "oracle/oracle.h"

#include <string.h>

static void tx_fields(const eth_tx* tx, eth_buf* items)
{
    if (tx->type == ETH_TX_1559) {
        eth_rlp_u64(items, tx->chain_id);
        eth_rlp_u64(items, tx->nonce);
        eth_rlp_u64(items, tx->max_priority_fee);
        eth_rlp_u64(items, tx->max_fee);
    } else {
        eth_rlp_u64(items, tx->nonce);
        eth_rlp_u64(items, tx->max_fee);
    }
    eth_rlp_u64(items, tx->gas_limit);
    eth_rlp_bytes(items, tx->to, tx->has_to ? 20 : 0);
    eth_rlp_u64(items, tx->value);
    eth_rlp_bytes(items, tx->data, tx->data_len);
    if (tx->type == ETH_TX_1559)
        eth_rlp_list(items, NULL, 0); /* empty access list */
}

static int tx_check(const eth_tx* tx)
{
    if (tx->type != ETH_TX_1559 && tx->type != ETH_TX_LEGACY)
        return ETH_EINVAL;
    if (tx->data_len && !tx->data)
        return ETH_EINVAL;
    if (tx->type == ETH_TX_1559 && tx->max_priority_fee > tx->max_fee)
        return ETH_EINVAL;
    if (tx->chain_id == 0)
        return ETH_EINVAL;
    return ETH_OK;
}

/* Encodes the unsigned (sig == NULL) or signed transaction into out. */
static int tx_encode(const eth_tx* tx, const uint8_t* rs, int recid, eth_buf* out)
{
    eth_buf items;
    eth_buf_init(&items);
    tx_fields(tx, &items);
    if (!rs && tx->type == ETH_TX_LEGACY) {
        eth_rlp_u64(&items, tx->chain_id);
        eth_rlp_u64(&items, 0);
        eth_rlp_u64(&items, 0);
    } else if (rs) {
        if (tx->type == ETH_TX_1559)
            eth_rlp_u64(&items, (uint64_t)recid);
        else
            eth_rlp_u64(&items, (uint64_t)recid + 2 * tx->chain_id + 35);
        eth_rlp_uint_be(&items, rs, 32);
        eth_rlp_uint_be(&items, rs + 32, 32);
    }
    if (tx->type == ETH_TX_1559)
        eth_buf_byte(out, 0x02);
    eth_rlp_list(out, items.p, items.len);
    int oom = items.oom || out->oom;
    eth_buf_free(&items);
    return oom ? ETH_ENOMEM : ETH_OK;
}

int eth_tx_signing_hash(const eth_tx* tx, uint8_t out[32])
{
    int rc = tx_check(tx);
    if (rc != ETH_OK)
        return rc;
    eth_buf b;
    eth_buf_init(&b);
    rc = tx_encode(tx, NULL, 0, &b);
    if (rc == ETH_OK)
        eth_keccak256(b.p, b.len, out);
    eth_buf_free(&b);
    return rc;
}

int eth_tx_sign(const eth_tx* tx, const eth_key* k, eth_buf* raw, uint8_t hash[32])
{
    uint8_t h[32], rs[64];
    int recid;
    int rc = eth_tx_signing_hash(tx, h);
    if (rc == ETH_OK)
        rc = eth_sign_recoverable(k, h, rs, &recid);
    if (rc != ETH_OK)
        return rc;
    eth_buf_reset(raw);
    rc = tx_encode(tx, rs, recid, raw);
    if (rc == ETH_OK)
        eth_keccak256(raw->p, raw->len, hash);
    return rc;
}

uint64_t eth_fee_bump(uint64_t old, unsigned percent)
{
    if (percent < 10)
        percent = 10;
    /* ceil(old * (100 + percent) / 100) without overflow for any realistic fee */
    uint64_t q = old / 100, r = old % 100;
    uint64_t bumped = q * (100 + percent) + (r * (100 + percent) + 99) / 100;
    return bumped > old ? bumped : old + 1;
}
