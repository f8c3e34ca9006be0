/* Bets: what the files of the bets domain share (bets.c, bets_place.c, bets_settle.c,
 * bets_query.c). Not for use outside consensus/bets*.c. */
#ifndef PARLAY_BETS_INTERNAL_H
#define PARLAY_BETS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus/bets.h"
#include "consensus/fsm.h"

struct bets_dbs
{
    MDB_dbi bets, exposure, player, fixture, pending, config, unpaid, delayed, voids, events;
};

const struct bets_dbs *bets_db(struct fsm *f);

#define PLAYER_MAX 128
#define FIXTURE_MAX 128
#define NAME_MAX_ 64
#define KEY_MAX 512
#define PRICE_MIN 1001 /* milli-odds */
#define PRICE_MAX 1000000

/* Store a problem+json refusal in @res (@extra, if any, is merged in and released); 0. */
int bets_refuse(struct fsm_result *res, int status, const char *code, const char *title,
                json_t *extra, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Switch betting on @fixture on (@open) or off, as CMD_BET_SWITCH does. */
int bets_fixture_switch(struct fsm *f, MDB_txn *txn, const char *fixture, bool open,
                        uint64_t time_ms);
/* The same refusal returned as a problem+json object; *@status_out gets @status. */
json_t *bets_problem(int *status_out, int status, const char *code, const char *title,
                     json_t *extra, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Whether betting on @fixture is switched off (all, or that fixture); @why says which. */
bool bets_switched_off(struct fsm *f, MDB_txn *txn, const char *fixture, const char **why);

/* Exposure keys: one outcome of a leg, a whole fixture. */
void bets_outcome_key(char out[KEY_MAX], json_t *leg);
void bets_fixture_key(char out[KEY_MAX], const char *fixture);
/* Add (@sign 1) or release (@sign -1) bet @b's exposure. */
int bets_exposure_add(struct fsm *f, MDB_txn *txn, json_t *b, int sign);
/* Between bets_exposure_gather(true) and bets_exposure_gathered, releases are summed per key
 * and written at the end (or when GATHER_MAX keys are pending); a settlement chunk releases
 * each bet's exposure and reads none. bets_exposure_gather(false) drops what is pending (the
 * apply failed: its transaction is aborted anyway). */
void bets_exposure_gather(bool on);
int bets_exposure_gathered(struct fsm *f, MDB_txn *txn);

/* Put (@put) or remove bet @b in a queue keyed by its be64 seq (pending, delayed, void,
 * unpaid). */
int bets_queue_set(MDB_txn *txn, MDB_dbi dbi, json_t *b, bool put);
/* Store bet @b and log event @type about it. */
int bets_put(struct fsm *f, MDB_txn *txn, json_t *b, const char *type, uint64_t time_ms);

/* The price of @outcome at @line of @market in a prices object, or 0. */
int64_t bets_price_of(json_t *prices, const char *market, const char *line, const char *outcome);
/* Whether price @now stands against @seen under @policy (exact, better, any_within @tol). */
bool bets_policy_ok(const char *policy, int64_t seen, int64_t now, int64_t tol);

/* Set @b's result, odds_settled and return from its legs' results; false (nothing set) when a
 * leg has no result yet. */
bool bets_settle_compute(json_t *b);
/* Settle @b if it is accepted and every leg has a result; writes it. */
int bets_settle_one(struct fsm *f, MDB_txn *txn, json_t *b, uint64_t time_ms);

/* Set @b's updated_at, and @field if not NULL, to the time @time_ms. */
void bets_stamp(json_t *b, uint64_t time_ms, const char *field);
/* Mark @b rejected with @code and @detail (if not NULL). */
void bets_reject(json_t *b, const char *code, const char *detail);

/* The parameters of a bet_step's step, written once: the state (@f, @txn), the command @c and
 * its decoded payload @body (borrowed), the bet's id @id and its record @b, the result @res.
 * Each step is defined as `static int name_step(BET_STEP_PARAMS)`. */
#define BET_STEP_PARAMS                                                                        \
    struct fsm *f, MDB_txn *txn, const struct cmd *c, json_t *body, const char *id, json_t *b, \
        struct fsm_result *res

/* A command on one bet named by its payload's bet_id. */
struct bet_step
{
    const char *code, *title, *need; /* the 422 refusal when the payload's shape is wrong */
    bool (*valid)(json_t *body);     /* the other fields' shape (NULL: only bet_id) */
    /* Apply to bet @b (named @id); may refuse into @res. Leaving @res unset answers 200 with
     * @b as it then is. */
    int (*step)(BET_STEP_PARAMS);
};
/* Decode the payload, check it (422 @op->code), load the bet (404 no_bet), run the step. */
int bets_run(struct fsm *f,
             MDB_txn *txn,
             const struct cmd *c,
             struct fsm_result *res,
             const struct bet_step *op);

/* The same on an already decoded payload @body (borrowed): one item of CMD_BET_HOLDS_DONE;
 * without @answer_bet a success is a 200 without a body (the bet is not serialised again). */
int bets_run_body(struct fsm *f, MDB_txn *txn, const struct cmd *c, json_t *body,
                  struct fsm_result *res, const struct bet_step *op, bool answer_bet);
/* The steps CMD_BET_HOLDS_DONE runs per item (op "hold", "voided": bets_place.c; "paid":
 * bets_settle.c), the same as CMD_BET_HOLD_DONE, CMD_BET_HOLD_VOIDED and CMD_BET_PAID. */
extern const struct bet_step bets_hold_done_op, bets_voided_op, bets_paid_op;
/* The ids of the bets with a leg on @fixture placed after seq @after, oldest first, at most
 * @limit; @last (if not NULL) gets the seq of the last one (@after if none). */
json_t *bets_fixture_ids(struct fsm *f, MDB_txn *txn, const char *fixture, uint64_t after,
                         unsigned limit, uint64_t *last);

/* Next goal legs are settled at the goal (bets_markets.c): "ng|FIXTURE|<16 hex seq>" in
 * "bet_config" -> bet id for each bet with a next_goal leg not settled yet. Index @b (at
 * placement); drop the fixture's entries (its result settles what is left). */
int bets_next_goal_index(struct fsm *f, MDB_txn *txn, json_t *b);
int bets_next_goal_forget(struct fsm *f, MDB_txn *txn, const char *fixture);

/* "settle|FIXTURE", "resettle|FIXTURE", "abandon|FIXTURE" in "bet_config": a settlement, a
 * correction, an abandonment (going on in chunks while "running"). */
#define SETTLE_PREFIX "settle|"
#define RESETTLE_PREFIX "resettle|"
#define ABANDON_PREFIX "abandon|"

/* "bet_config" records named @prefix then @name ("" for a single key such as "limits"): get
 * (NULL when absent), put, delete (absent: 0). */
json_t *bets_config_get(struct fsm *f, MDB_txn *txn, const char *prefix, const char *name);
int bets_config_put(struct fsm *f, MDB_txn *txn, const char *prefix, const char *name, json_t *o);
int bets_config_del(struct fsm *f, MDB_txn *txn, const char *prefix, const char *name);
/* Store settings @o (stolen) under @key and answer 200 with them; an LMDB error otherwise. */
int bets_config_answer(struct fsm *f, MDB_txn *txn, const char *key, json_t *o,
                       struct fsm_result *res);
/* Settle @b if it is accepted (and complete), else (not settled) write it as it is: what a
 * chunk does to each bet once its legs on the fixture have their results. */
int bets_settle_or_store(struct fsm *f, MDB_txn *txn, json_t *b, uint64_t time_ms);

/* The command handlers (the table is in bets.c). */
int bets_place_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res);
int bets_limits_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res);
int bets_switch_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res);
int bets_hold_done_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res);
int bets_decide_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res);
int bets_voided_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res);
int bets_void_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res);
int bets_settle_more_apply(struct fsm *f,
                           MDB_txn *txn,
                           const struct cmd *c,
                           struct fsm_result *res);
int bets_settle_more_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                           struct fsm_result *res);
int bets_resettle_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                        struct fsm_result *res);
int bets_postponed_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                         struct fsm_result *res);
int bets_abandoned_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                         struct fsm_result *res);
int bets_cashout_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res);
int bets_cashout_set_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                           struct fsm_result *res);
/* Milli-odds a leg with @result counts for at settlement (won: @price, lost 0, ...). */
uint64_t bets_leg_factor(const char *result, uint64_t price);
/* The cash-out offer of bet record @b (see bets_cashout_offer). */
json_t *bets_cashout_offer_of(struct fsm *f, MDB_txn *txn, json_t *b, int *status);
int bets_paid_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res);
int bets_holds_done_apply(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                          struct fsm_result *res);

#endif
