/* Results to the chain: the oracle's replicated state (DESIGN.md "Results to the chain";
 * issue 13). The third user of the agreement engine keeps here what the leader commits:
 *
 * CMD_ORACLE_SIGNED {fixture, match_id, status, home, away, chain_id, contract,
 *                    signatures: [{node, signature}]}
 *   the signatures a quorum of nodes made over the contract's EIP-712 digest of an agreed
 *   result (signature: 130 hex digits r||s||v, v 27/28, the contract's form). Apply checks that
 *   the result is the one agreed in this state machine (agreed_results), that match_id is
 *   oracle_match_id(cluster, fixture), and that every signature is a distinct member's and
 *   recovers, over oracle_result_digest(chain_id, contract, result), to the Ethereum address of
 *   that member's registered key. A leader cannot commit a result nobody agreed, nor a
 *   signature a node did not make. A second command for the same fixture is a no-op (200,
 *   "duplicate"), unless the first one ended "failed" (then it is signed again).
 *
 * CMD_ORACLE_TX {record}
 *   the transaction manager's journal (oracle.h, oracle_journal) in the replicated state: a
 *   record with id 0 gets the next id (the answer's "id"), any other replaces that id's record.
 *   The leader commits it BEFORE it broadcasts the bytes, so whichever node leads next reads
 *   the journal and carries on. A submit record moves its result to "journaled", "sent" or
 *   "mined" (states of a result not yet final only).
 *
 * CMD_ORACLE_DONE {fixture, outcome: confirmed|already|failed, tx_id?, tx_hash?, block?,
 *                  gas_used?, reason?, onchain?}
 *   the result's final state: confirmed at the configured depth (transaction, block, gas),
 *   already on chain by someone else's transaction (what the contract holds), or failed with
 *   the reason. A second one for a result already final is a no-op (200, "duplicate").
 *
 * A result's record (GET /v1/fixtures/{id}/result, "oracle"): {fixture, match_id, status,
 * home, away, chain_id, contract, signatures, state: signed|journaled|sent|mined|confirmed|
 * already|failed, tx_id?, tx_hash?, block?, gas_used?, reason?, signed_at, updated_at}.
 */
#ifndef PARLAY_ORACLE_STATE_H
#define PARLAY_ORACLE_STATE_H

#include <jansson.h>
#include <lmdb.h>
#include <stdint.h>

struct fsm;
struct cmd;

/* The contract's match id of a fixture: the last 8 bytes, big-endian, of
 *   keccak256("parlay-match-v1" NUL cluster NUL fixture)
 * (a uint256 below 2^64 on chain; 0 is never used: it becomes 1). */
uint64_t oracle_match_id(const char *cluster, const char *fixture);

/* "final" / "void" <-> 1 / 2 (0 for anything else). */
int oracle_status_code(const char *s);

/* The result's oracle record, or NULL. */
json_t *oracle_state_get(struct fsm *f, MDB_txn *txn, const char *fixture);
/* Every result record not final yet (signed, journaled, sent, mined), oldest fixture id first;
 * with @all every record. */
json_t *oracle_state_results(struct fsm *f, MDB_txn *txn, int all);
/* Every journal record as text (a JSON array of the records' objects). */
json_t *oracle_state_journal(struct fsm *f, MDB_txn *txn);
/* How many results are in each state: {"signed": n, ...}. */
json_t *oracle_state_counts(struct fsm *f, MDB_txn *txn);

/* Builders (@signatures stolen; @record_text is a journal record's JSON text). */
char *oracle_cmd_signed(struct cmd *c, const char *fixture, uint64_t match_id, const char *status,
                        unsigned home, unsigned away, uint64_t chain_id, const char *contract,
                        json_t *signatures);
char *oracle_cmd_tx(struct cmd *c, const char *record_text);
char *oracle_cmd_done(struct cmd *c, json_t *body); /* body stolen: {fixture, outcome, ...} */

#endif
