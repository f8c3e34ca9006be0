/* Agreed observations and members' public keys (the agreement layer's replicated state).
 *
 * CMD_MEMBER_KEY {id, public_key, proof, old_key_signature?}: records a member's compressed
 * secp256k1 public key (66 hex digits). Only the member can prove it: @proof is the NEW key's
 * signature over obs_member_key_digest(OBS_KEY_PROOF, ...), and when the member already has
 * another key, @old_key_signature is the OLD key's signature over the OBS_KEY_CHANGE digest of
 * the new key. Anything less is refused as a result (403 "Key not proven" / "Key change not
 * authorized", 422 "Invalid member key") and changes nothing, so the admin token alone cannot
 * swap a member's key. Registering the key already recorded is a no-op. Nodes ask the leader to
 * record their own key at start (POST /internal/v1/member-key, admin token).
 *
 * CMD_OBSERVATION_AGREED {subject, bytes, signatures: [{node, signature}]}: an observation a
 * quorum of voters sent with identical canonical bytes (hex of feed_encode's output). Apply
 * decodes the bytes (feed_decode), checks that they are about @subject, and stores the record
 * in agreed_fixtures (key: fixture id), agreed_events (key: fixture id, NUL, u64 seq big-endian,
 * so a cursor walks a fixture's events in order), agreed_odds (market snapshots, subject
 * "odds/ID/SEQ", keyed like events) or agreed_results (key: fixture id). A second
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
/* Every agreed result record, in fixture id order: a JSON array. */
json_t *obs_agreed_results(struct fsm *f, MDB_txn *txn);
/* The agreed events of @fixture in seq order: a JSON array of records. */
json_t *obs_agreed_events(struct fsm *f, MDB_txn *txn, const char *fixture);
/* The newest agreed market snapshot of @fixture (highest seq) into @out: 0, or -1 if none. */
struct feed_odds;
int obs_agreed_odds_latest(struct fsm *f, MDB_txn *txn, const char *fixture,
                           struct feed_odds *out);
/* That snapshot as a quote round's inputs.market {seq, odds_milli}, or NULL if none. */
json_t *obs_market_round_inputs(struct fsm *f, MDB_txn *txn, const char *fixture);

/* What a member-key registration signs: SHA-256 over
 *   "parlay-member-key-v1" NUL cluster NUL id (decimal) NUL public_key (hex)       (PROOF)
 *   "parlay-member-key-change-v1" NUL cluster NUL id NUL new public_key (hex)      (CHANGE) */
enum obs_key_tag { OBS_KEY_PROOF, OBS_KEY_CHANGE };
void obs_member_key_digest(enum obs_key_tag tag, const char *cluster, uint64_t id,
                           const char *public_key, uint8_t out[32]);
/* The checks CMD_MEMBER_KEY's apply makes on @body, against the keys in @txn: 0 if it may be
 * recorded, else the HTTP status with @title (stable) and a sentence in @detail. */
int obs_member_key_check(struct fsm *f, MDB_txn *txn, json_t *body, const char **title,
                         char *detail, size_t n);

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
