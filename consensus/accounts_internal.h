/* What the accounts domain's files share (consensus/accounts.c: players, sessions, TOTP,
 * signing keys, secrets at rest, the command table; consensus/accounts_kyc.c: FranceConnect,
 * document checks, operators' KYC decisions). Nothing outside consensus/accounts*.c includes
 * it. */
#ifndef PARLAY_ACCOUNTS_INTERNAL_H
#define PARLAY_ACCOUNTS_INTERNAL_H

#include "consensus/accounts.h"
#include "consensus/cmdtable.h"
#include "consensus/store.h"

extern const struct fsm_domain accounts_domain;

struct accounts_dbs {
    MDB_dbi players, player_email, login_failures, sessions, player_sessions, signing_keys, totp,
        fc_logins, identities, doc_events, session_revocations;
};

static inline const struct accounts_dbs *DB(struct fsm *f)
{
    return (const struct accounts_dbs *)fsm_domain_dbis(f, &accounts_domain);
}

/* One accounts command being applied: its payload, the leader's time, the player it names. */
struct acc_op {
    struct fsm *f;
    MDB_txn *txn;
    const struct cmd *c;
    struct fsm_result *res;
    json_t *body;   /* the payload (an object) */
    const char *id; /* its "player_id", if any */
    json_t *p;      /* that player, loaded when the shape says so */
    char ts[32];    /* the leader's time, RFC 3339 */
};

/* How a command runs (each row of the table points at one): check the payload alone (a 422
 * with @title and @detail), load the player it names when @player (a 404), then @act: the
 * command's own checks and writes, which may simply return (acc_apply releases everything).
 * The checks come in this order so that each refusal stays what it always was. */
struct acc_shape {
    bool (*valid)(json_t *body);
    const char *title, *detail;
    bool player;
    int (*act)(struct acc_op *op);
};

/* The player of @id, or a 404 result. */
json_t *acc_need_player(struct fsm *f, MDB_txn *txn, const char *id, struct fsm_result *res);
/* Write the player @op->p back and answer @result (stolen). */
int acc_save_player(struct acc_op *op, int status, json_t *result);
void acc_bump_version(json_t *rec);
/* Whether @o's string field @key is @want. */
bool acc_str_is(json_t *o, const char *key, const char *want);
/* 429 "Too many failed sign-ins" with the seconds to wait until @until_ms. */
void acc_result_locked(struct fsm_result *res, uint64_t now_ms, uint64_t until_ms);
/* Has the player of @op confirmed a TOTP second factor? */
bool acc_totp_confirmed(struct acc_op *op);
/* A password sign-in's (or change's) second factor, when the player confirmed one: spends the
 * command's totp_step or recovery_hash, or refuses with a 401 (res set). An LMDB error or 0. */
int acc_factor_spend(struct acc_op *op);
/* Revokes every open session of player @id but @keep (NULL: none) with @reason; how many in
 * *@count. */
int acc_revoke_player(struct acc_op *op, const char *id, const char *keep, const char *reason,
                      unsigned *count);
/* accounts_kyc.c: a FranceConnect sign-in's login @state spent by session create. */
int fc_signin_spend(struct fsm *f, MDB_txn *txn, const char *id, const char *state,
                    const char *subkey, struct fsm_result *res);
extern const struct acc_shape acc_shape_fc_start, acc_shape_fc_link, acc_shape_doc_session,
    acc_shape_doc_event, acc_shape_kyc_override;
/* accounts_password.c: a player's password changed. */
extern const struct acc_shape acc_shape_password_change;

#endif
