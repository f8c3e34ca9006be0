/* Agreed observations and members' public keys (the agreement layer's replicated state).
 *
 * CMD_MEMBER_KEY {id, public_key}: records a member's compressed secp256k1 public key (66 hex
 * digits); a later command for the same id replaces it. Nodes ask the leader to record their own
 * key (POST /internal/v1/member-key, admin token).
 *
 * CMD_OBSERVATION_AGREED {subject, bytes, signatures: [{node, signature}]}: an observation a
 * quorum of voters sent with identical canonical bytes (hex of feed_encode's output). Apply
 * decodes the bytes (feed_decode), checks that they are about @subject, and stores the record
 * in agreed_fixtures (key: fixture id), agreed_events (key: fixture id, NUL, u64 seq big-endian,
 * so a cursor walks a fixture's events in order) or agreed_results (key: fixture id). A second
 * command for a subject already agreed is ignored (200, "duplicate": true, nothing changes). An
 * agreed fixture of the cluster's sport also creates the fixture (status "scheduled") if absent.
 * The leader checks each sender's signature before counting it; apply checks them again
 * (each a distinct member's, verifying with its registered key over obs_digest with the
 * cluster's name from fsm_options) and keeps them for attestation. The quorum size is the
 * leader's business (apply does not see the Raft configuration).
 */
#ifndef PARLAY_OBSERVATIONS_H
#define PARLAY_OBSERVATIONS_H

#include <jansson.h>
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hex.h"

struct fsm;

/* The member's public key (hex) into @out (67 bytes); 0, or -1 if none is recorded. */
int obs_member_key(struct fsm *f, MDB_txn *txn, uint64_t id, char out[67]);
/* The agreed record for @subject ("fixture/ID", "event/ID/SEQ", "result/ID"), or NULL. */
json_t *obs_agreed_get(struct fsm *f, MDB_txn *txn, const char *subject);
/* The agreed events of @fixture in seq order: a JSON array of records. */
json_t *obs_agreed_events(struct fsm *f, MDB_txn *txn, const char *fixture);

/* The message a node signs for an observation: SHA-256 over
 *   "parlay-observation-v1" NUL cluster NUL subject NUL bytes. */
void obs_digest(const char *cluster, const char *subject, const uint8_t *bytes, size_t len,
                uint8_t out[32]);

/* Checks that @sigs is a non-empty array of {node, signature}, one per node, each verifying
 * with that member's registered key over @digest. 0, or -1 with a sentence in @detail. */
int obs_check_signatures(struct fsm *f, MDB_txn *txn, json_t *sigs, const uint8_t digest[32],
                         char *detail, size_t n);

/* CMD_MEMBER_KEY {id, public_key}; CMD_OBSERVATION_AGREED {subject, bytes, signatures}
 * (@signatures is stolen). See cmd_fill. */
struct cmd;
char *obs_cmd_member_key(struct cmd *c, uint64_t id, const char *public_key);
char *obs_cmd_agreed(struct cmd *c, const char *subject, const char *bytes_hex,
                     json_t *signatures);

/* The handle of the agreed fixtures' database (quotes.c walks it for fixtures without
 * markets); keys are fixture ids. */
MDB_dbi obs_agreed_fixtures_dbi(struct fsm *f);

/* CMD_MEMBER_KEY's apply (its row is in observations.c's table). */
struct fsm_result;
int obs_apply_member_key(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                         struct fsm_result *res);

/* The hex helpers moved to common/hex.h; these names stay for the agreement engine's callers. */
#define obs_hex_decode hex_decode /* bytes or -1 */
#define obs_hex_encode hex_encode /* 2n + 1 bytes */

#endif
