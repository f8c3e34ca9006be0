/* Wallets: what the wallet_*.c files share (not an API; wallet.h is). The apply helpers
 * (refusals, accounts, plans, holds, profiles) live in wallet.c and wallet_holds.c; the commands
 * in wallet.c (limits, exclusion, block, clusters), wallet_payments.c (deposits, provider events,
 * withdrawals) and wallet_holds.c (bet holds, corrections); the check and the listings in
 * wallet_check.c. */
#ifndef PARLAY_WALLET_INTERNAL_H
#define PARLAY_WALLET_INTERNAL_H

#include "consensus/wallet.h"

#include "consensus/cmdtable.h"
#include "consensus/ledger.h"
#include "consensus/store.h"

extern const struct fsm_domain wallet_domain;

struct wallet_dbs {
    MDB_dbi accounts, transfers, statement, holds, expiry, profiles, deposits, withdrawals,
        events, clusters, stakes;
};

static inline const struct wallet_dbs *DB(struct fsm *f)
{
    return (const struct wallet_dbs *)fsm_domain_dbis(f, &wallet_domain);
}

#define ACCT_MAX 128
#define TID_MAX 128

static const char CLEARING[] = "sys:clearing", PAYOUTS[] = "sys:payouts", HOUSE[] = "sys:house",
                  RETURNS[] = "sys:returns_due";

struct wop {
    struct fsm *f;
    MDB_txn *txn;
    const struct cmd *c;
    struct fsm_result *res;
    json_t *b;     /* the payload */
    uint64_t now;  /* the leader's stamp */
    char ts[32];
    /* In a hold batch: the players' profiles read so far, by id, and those changed (written
     * once at the end of the batch instead of once per item); NULL otherwise. */
    json_t *profiles, *dirty;
    /* In a hold batch: the ledger accounts as the items left them (id -> struct acct's record),
     * written once at the end; NULL otherwise. */
    json_t *accts;
    /* In a hold batch: the players read so far (hold operations never change them), and the
     * batch's sport cluster found registered; NULL and false otherwise. */
    json_t *players;
    bool cluster_ok;
};

struct acct {
    char id[ACCT_MAX];
    struct ledger_account l;
    uint64_t seq;
    char kind[16];
};

#define PLAN_ACCTS 6
#define PLAN_TRANSFERS 6

struct plan {
    struct wop *op;
    struct acct acct[PLAN_ACCTS];
    int nacct;
    json_t *t[PLAN_TRANSFERS];
    int nt;
};

static const char *const LIMITS[] = {"deposit_7d", "stake_7d", "auto_withdraw", NULL};

/* wallet.c */
/* Write record @v under @key as store_put_json does (the same text), faster for flat records. */
int wallet_put(MDB_txn *txn, MDB_dbi dbi, const char *key, json_t *v);
int refuse(struct wop *op, int status, const char *code, const char *title,
           const char *fmt, ...);
bool int_field(json_t *o, const char *key, int64_t min, int64_t max, int64_t *out);
int64_t jint(json_t *o, const char *key);
bool acct_id_valid(const char *id);
void acct_from_json(json_t *j, const char *id, struct acct *a);
struct acct *plan_acct(struct plan *p, const char *id);
json_t *plan_transfer(struct plan *p, const char *id, const char *kind, const char *dr,
                      const char *cr, int64_t amount, const char *ref);
void plan_free(struct plan *p);
enum ledger_code plan_move(struct plan *p, const char *id, const char *kind,
                           const char *dr, const char *cr, int64_t amount, const char *ref);
int plan_commit(struct plan *p);
int ledger_refuse(struct wop *op, enum ledger_code lc, const char *what);
json_t *profile_load(struct wop *op, const char *player);
void profile_promote(json_t *prof, uint64_t now);
int64_t limit_of(json_t *prof, const char *name);
int64_t window_used(json_t *prof, const char *which, uint64_t now);
void window_add(json_t *prof, const char *which, const char *id, int64_t amount,
                uint64_t now);
void window_remove(json_t *prof, const char *which, const char *id);
int profile_store(struct wop *op, const char *player, json_t *prof);
/* The end of a hold batch: write the profiles its items changed. */
int profiles_flush(struct wop *op);
/* The end of a hold batch: write the accounts its items changed. */
int accts_flush(struct wop *op);
bool verified(json_t *player);
uint64_t rfc3339_ms(const char *s);
int64_t debt_of(struct plan *p, const char *player);
json_t *need_player(struct wop *op, const char *id);
int play_refused(struct wop *op, json_t *player, json_t *prof);
/* wallet_holds.c */
void expiry_key(uint64_t at, const char *id, uint8_t *key, size_t *klen);
json_t *plan_hold(struct plan *p, const char *id, const char *kind, const char *dr,
                  const char *cr, int64_t amount, uint64_t timeout_ms, const char *ref,
                  enum ledger_code *lc);
int hold_store(struct wop *op, json_t *hold);
enum ledger_code plan_resolve(struct plan *p, json_t *hold, const char *how,
                              int64_t amount);
int hold_place(struct wop *op);
int hold_post(struct wop *op);
int hold_void(struct wop *op);
int hold_expire(struct wop *op);
int hold_batch(struct wop *op);
int correct_apply(struct wop *op);
/* The stake hold @hid of sport cluster @cl, or NULL with a 404 no_such_hold refusal. */
json_t *stake_hold(struct wop *op, const char *hid, const char *cl);
/* Count @stake and @payout (either may be negative: a correction) in the TRJ of the year. */
void trj_add(struct wop *op, int64_t stake, int64_t payout, int *rv);
/* wallet_window.c: the 7-day stake window (database wallet_stakes_7d) */
/* What @player staked in the 7 days before @now (read only). */
int64_t stakes_used(struct fsm *f, MDB_txn *txn, const char *player, uint64_t now);
/* Count stake hold @hid of @amount at the command's time (dropping what is 7 days old). */
int stakes_add(struct wop *op, const char *player, const char *hid, int64_t amount);
/* Stake hold @hold (its player, id, placed_ms) no longer counts: voided or expired. */
int stakes_remove(struct wop *op, json_t *hold);
/* wallet_resettle.c */
int hold_resettle(struct wop *op);
/* wallet_payments.c */
int deposit_open(struct wop *op);
int deposit_link(struct wop *op);
int pay_event(struct wop *op);
int withdraw_open(struct wop *op);
int withdraw_sent(struct wop *op);
/* Take @amount from @player's cash toward account @to (what is available), the rest through
 * their debt account (transfer @tid, then @tid ":debt"). */
enum ledger_code plan_take_back(struct plan *p, const char *player, const char *to,
                                const char *tid, const char *kind, int64_t amount,
                                const char *ref);
/* wallet_protect.c */
int ban_apply(struct wop *op);
int close_apply(struct wop *op);
/* After a credit to @pid's cash in plan @p (@prof: their profile, @player: their record): when
 * they are verified, not blocked, have a payment account and an auto_withdraw threshold, and
 * the available balance is above it, hold the excess as withdrawal "auto:<pid>:<n>" (sent by
 * the leader like any other). Returns that withdrawal's record for auto_withdraw_store (after
 * plan_commit), NULL when nothing is due; *@lc is LEDGER_OK (kept for the callers' flow: the
 * credit is never refused because of it). */
json_t *auto_withdraw_plan(struct plan *p, const char *pid, json_t *player, json_t *prof,
                           enum ledger_code *lc);
int auto_withdraw_store(struct wop *op, json_t *w);

#endif
