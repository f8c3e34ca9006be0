/* Private to oracle/: what the submitter needs from the transaction manager. */
#ifndef PARLAY_ORACLE_TXM_INTERNAL_H
#define PARLAY_ORACLE_TXM_INTERNAL_H

#include "oracle/oracle.h"

/* The newest record of `kind` for match_id sent to `to` that is open or confirmed (0 if none). */
uint64_t oracle_txm_find_live(oracle_txm* m, int kind, uint64_t match_id, const uint8_t to[20]);
/* Reads (once) the chain id and whether the chain has a base fee. */
int oracle_txm_prepare(oracle_txm* m, eth_error* err);
const uint8_t* oracle_txm_sender(const oracle_txm* m);

#endif
