/* Accounts: players, sessions (refresh-token families), sign-in failure counters and the
 * cluster's token-signing keys, replicated in the accounts cluster.
 *
 * Everything random or slow happens before a command is proposed, on the node that took the
 * request: the Argon2id hash, player and session ids, refresh tokens (only their SHA-256 travels
 * and is stored) and signing keys. The leader stamps the time. Apply only checks and writes,
 * so every node reaches the same state.
 *
 * Records (JSON values; keys as noted):
 *   players          id -> {id, email, password_hash, created_at, version,
 *                    password_changed_at?}
 *   player_email     normalised email -> id
 *   login_failures   player id -> {count, locked_until_ms}
 *   sessions         family id -> {id, player_id, current, previous[], created_at,
 *                    updated_at, expires_at_ms, revoked, revoked_reason?}
 *   player_sessions  player id ++ family id -> "" for sessions not revoked (sign out
 *                    everywhere and the per-player bound walk the prefix)
 *   session_revocations  u64 big-endian time (ms) ++ family id -> {session_id, player_id,
 *                    at_ms}: kept ACCOUNTS_REVOCATION_KEEP_S, read by sport nodes
 *   signing_keys     u64 big-endian sequence -> {kid, jwk (private JWK, "d" sealed by the node:
 *                    common/seal.h), created_at}
 *   totp             player id -> {secret, uri (both sealed by the node), confirmed, last_step,
 *                    recovery[] (SHA-256 of each unused recovery code)}
 *   fc_logins        state -> {player_id ("" for a sign-in), nonce, created_at, used,
 *                    signin?}
 *   identities       "key:" + identity key, or "sub:" + issuer + " " + sub -> player id, or
 *                    "minor" for a person refused under 18 (refused for good)
 *   doc_events       provider + " " + event id -> {player_id, status, at}: each document-check
 *                    webhook event is processed once
 *
 * Document checks: a hosted session is recorded on the player (kyc.doc_sessions); a verified
 * webhook event moves the player's kyc_status (approved -> verified, declined -> declined,
 * which is final, retry, manual_review, pending) and is appended to kyc_history. A player
 * already verified stays verified (a late or replayed "pending" does not undo it). An operator
 * may set any status, with a reason that is kept in the history.
 *
 * FranceConnect: the node that starts a link makes state and nonce (kyc_fc_authorize) and
 * records them (any node may take the callback); the node that takes the callback checks the
 * provider's answer, the age and the identity key, and proposes the link with its verdict.
 * Apply spends the state (a replayed callback is refused), keeps one account per identity key
 * and per provider subject, and records an under-18 identity so that it stays refused. A linked
 * player may sign in with FranceConnect: the session-create command then carries the state
 * (spent) and the subject, which must be linked to that player; no password back-off or
 * one-time code applies, the provider having authenticated the person.
 *
 * TOTP: enrol stores a pending secret (made on the node that took the request); confirm needs
 * the time step a code matched (checked there) and the hashes of fresh recovery codes. Once
 * confirmed, a session is created only with a time step later than the last one used or an
 * unused recovery code (which is then spent): each code works once, on whichever node.
 *
 * Sign-in back-off: from the 5th consecutive failure on, the player is locked for
 * 15 s * 2^(failures-5), at most 15 minutes, from the leader's time of the failure. A success
 * resets the count. While locked, failures are not counted and sign-ins are refused (429).
 *
 * Refresh-token families: a session is a family; each refresh replaces `current` by a new hash
 * and keeps the old one in `previous`. Presenting a previous token again is a reuse (the token
 * was stolen or replayed): the whole family is revoked.
 */
#ifndef PARLAY_ACCOUNTS_H
#define PARLAY_ACCOUNTS_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fsm;

#define ACCOUNTS_ID_CHARS 34          /* "p_" + 32 hex: a player id */
#define ACCOUNTS_FAMILY_CHARS 32      /* 32 hex: a session (refresh family) id */
#define ACCOUNTS_EMAIL_MAX 254
#define ACCOUNTS_LOCK_AFTER 5         /* failures before the back-off starts */
#define ACCOUNTS_LOCK_BASE_MS 15000   /* first lock */
#define ACCOUNTS_LOCK_MAX_MS 900000   /* 15 minutes */
#define ACCOUNTS_SESSION_TTL_MS (30ull * 24 * 3600 * 1000) /* refresh family lifetime */
#define ACCOUNTS_PREVIOUS_MAX 64      /* old refresh hashes kept for reuse detection */
#define ACCOUNTS_JWKS_KEEP 2          /* current key and the one before it */

/* The KYC statuses a player can be in (an operator may set any of them). */
bool accounts_kyc_status_valid(const char *status);

/* Lower-case ASCII, surrounding spaces removed; refuses what cannot be an address (one '@',
 * non-empty local part and domain, a dot in the domain, no spaces or controls, <= 254). */
int accounts_email_normalise(const char *in, char *out, size_t n);
bool accounts_player_id_valid(const char *id);
bool accounts_family_valid(const char *id);
/* Lock duration after @failures consecutive failures (0 below ACCOUNTS_LOCK_AFTER). */
uint64_t accounts_lock_ms(unsigned failures);

/* Queries (read transaction from fsm_read_begin). Returned JSON is the caller's. */
json_t *accounts_player_get(struct fsm *f, MDB_txn *txn, const char *id);
json_t *accounts_player_by_email(struct fsm *f, MDB_txn *txn, const char *email_norm);
unsigned accounts_player_count(struct fsm *f, MDB_txn *txn);
/* The KYC review queue: players whose kyc_status is @status ("none": not set yet), in id order
 * strictly after @after (NULL: from the first), at most @limit of them, reading at most
 * ACCOUNTS_KYC_SCAN records; without their password hash. @next gets the id to continue after,
 * or "" when the table has been read to its end. */
#define ACCOUNTS_KYC_SCAN 20000u
json_t *accounts_players_by_kyc(struct fsm *f, MDB_txn *txn, const char *status, const char *after,
                                unsigned limit, char *next, size_t nextlen);
void accounts_failures(struct fsm *f, MDB_txn *txn, const char *player_id, unsigned *count,
                       uint64_t *locked_until_ms);
json_t *accounts_session_get(struct fsm *f, MDB_txn *txn, const char *family);
/* The newest ACCOUNTS_JWKS_KEEP signing keys, oldest first: [{kid, jwk, created_at}]. */
json_t *accounts_signing_keys(struct fsm *f, MDB_txn *txn);
json_t *accounts_fc_login_get(struct fsm *f, MDB_txn *txn, const char *state);
/* The id (JSON string) of the player linked to a provider subject, NULL if none. */
json_t *accounts_identity_player(struct fsm *f, MDB_txn *txn, const char *issuer,
                                 const char *sub);
/* The player's TOTP record, NULL if never enrolled. */
json_t *accounts_totp_get(struct fsm *f, MDB_txn *txn, const char *player_id);

/* Revokes every open session of @player_id within the command @c being applied (another
 * domain's apply calls it: a wallet blocked, banned or closed ends the player's sessions),
 * with @reason kept on each and in the revocation log. 0 or an LMDB error. */
struct cmd;
int accounts_end_sessions(struct fsm *f, MDB_txn *txn, const struct cmd *c, const char *player_id,
                          const char *reason);

/* Revoked sessions, oldest first, from @since_ms on (at most @limit): {items: [{session_id,
 * player_id, at_ms}], more, keep_s}. Sport nodes poll it to refuse a revoked session's access
 * tokens before they expire; entries are kept ACCOUNTS_REVOCATION_KEEP_S (more than an access
 * token lives). */
#define ACCOUNTS_REVOCATION_KEEP_S 3600
json_t *accounts_revocations(struct fsm *f, MDB_txn *txn, int64_t since_ms, size_t limit);
/* Another kind of session in the same log (a disabled operator's tokens, session id
 * "operator:<id>"), from the applying command's leader time @time_ms. */
int accounts_revocation_add(struct fsm *f, MDB_txn *txn, const char *sid, uint64_t time_ms);

/* Secrets at rest (sealed by the nodes, common/seal.h): every stored secret as
 * [{table: "signing_key"|"totp", id: kid|player id, field: "d"|"secret"|"uri", value}], for the
 * reseal after a key rotation. CMD_SECRETS_RESEAL carries at most ACCOUNTS_RESEAL_MAX items
 * {table, id, field, old, new}: each replaces the stored value only while it is still @old. */
#define ACCOUNTS_RESEAL_MAX 64
json_t *accounts_secrets(struct fsm *f, MDB_txn *txn);

/* Payloads of the accounts commands (proposed with CMD_PLAYER_REGISTER, CMD_LOGIN_FAILED, ...).
 * A json_t argument is stolen. The password sign-in's CMD_SESSION_CREATE and CMD_FC_START are
 * still assembled by their handler (fields depend on the second factor / the kind of login),
 * and CMD_SIGNING_KEY_ADD is {kid, jwk, if_none?} from the key maker. */
json_t *accounts_cmd_register(const char *id, const char *email, const char *password_hash);
json_t *accounts_cmd_login_failed(const char *player_id);
/* A FranceConnect sign-in's session. */
json_t *accounts_cmd_session_fc(const char *player_id, const char *family,
                                const char *refresh_hash, const char *fc_state,
                                const char *fc_subkey);
json_t *accounts_cmd_session_refresh(const char *family, const char *presented_hash,
                                     const char *new_hash);
/* CMD_SESSION_REVOKE's payload, or CMD_SESSION_REVOKE_ALL's with @family NULL. */
json_t *accounts_cmd_session_revoke(const char *player_id, const char *family);
json_t *accounts_cmd_totp_enrol(const char *player_id, const char *secret, const char *uri);
json_t *accounts_cmd_totp_confirm(const char *player_id, int64_t step, json_t *recovery_hashes);
json_t *accounts_cmd_fc_link(const char *player_id, const char *state, bool adult,
                             const char *idkey, json_t *identity);
json_t *accounts_cmd_doc_session(const char *player_id, const char *provider,
                                 const char *session_id, const char *url);
json_t *accounts_cmd_doc_event(const char *provider, const char *event_id,
                               const char *reference, const char *status,
                               const char *raw_status, int64_t timestamp);
json_t *accounts_cmd_kyc_override(const char *player_id, const char *status, const char *reason);
/* accounts_password.c: a player's new password (@old_hash: the hash the current password was
 * checked against; the request's session @session_id stays, the others end). A second factor
 * adds totp_step or recovery_hash as in a sign-in. */
json_t *accounts_cmd_password_change(const char *player_id, const char *session_id,
                                     const char *old_hash, const char *password_hash);

#endif
