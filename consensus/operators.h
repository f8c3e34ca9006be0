/* Named operators, machine tokens and the audit trail (operators.c).
 *
 * Operators (accounts cluster): {id, name, email, password_hash, scopes[], disabled,
 * totp_secret (sealed), totp_confirmed, totp_step, created_ms}. Machine tokens: {id, name,
 * scopes[], expires_ms, hash (SHA-256 of the secret, hex), created_by, revoked}. The audit
 * trail (both cluster kinds): CMD_ADMIN wraps an admin's command with who asked (actor), the
 * route and method; its apply runs the wrapped command and appends {seq, time, time_ms, actor,
 * method, route, command (its name), fields (its payload, secrets redacted), status, outcome}
 * in the same transaction. */
#ifndef PARLAY_OPERATORS_H
#define PARLAY_OPERATORS_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "consensus/fsm.h"

#define OPERATOR_ID_MAX 40
#define OPERATOR_NAME_MAX 100
#define OPERATOR_EMAIL_MAX 254
/* Failed sign-ins in a row (wrong password or code) that lock an operator out, and for how
 * long (CMD_OPERATOR_SET {id, failed: true}; a successful sign-in resets the count). */
#define OPERATOR_MAX_FAILURES 5
#define OPERATOR_LOCK_MS (15 * 60 * 1000)

/* The scopes an operator or machine token may hold. */
extern const char *const operator_scopes[];
bool operator_scope_known(const char *s);
/* @scopes is a non-empty array of distinct known scopes. */
bool operator_scopes_valid(const json_t *scopes);

json_t *operator_get(struct fsm *f, MDB_txn *txn, const char *id);
json_t *operator_by_email(struct fsm *f, MDB_txn *txn, const char *email);
json_t *operator_list(struct fsm *f, MDB_txn *txn); /* without password hashes or secrets */
json_t *mtoken_get(struct fsm *f, MDB_txn *txn, const char *id);
json_t *mtoken_list(struct fsm *f, MDB_txn *txn); /* without hashes */
/* Audit records with seq >= @since, at most @limit, oldest first. */
json_t *audit_list(struct fsm *f, MDB_txn *txn, uint64_t since, unsigned limit);
/* A copy of @payload without fields that may hold secrets (recursively). */
json_t *audit_redact(const json_t *payload);
/* The CMD_ADMIN payload for the command @type / @payload (@len bytes of JSON) asked by the
 * actor @kind / @id through @method @route (malloc'd, NUL-terminated, its length in
 * *@out_len; NULL when out of memory). No JSON is parsed or written here. */
char *operators_admin_wrap(const char *kind, const char *id, const char *method,
                           size_t method_len, const char *route, size_t route_len,
                           uint16_t type, const char *payload, size_t len, size_t *out_len);
/* The type a CMD_ADMIN payload wraps (either form), 0 when it is not one. */
unsigned operators_admin_type(const char *payload, size_t len);

#endif
