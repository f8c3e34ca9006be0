/* Bets on a sport cluster: placement checked at the committing index, the hold's outcome, the
 * betting limits (issue 12, first slice; DESIGN.md "Bets").
 *
 * Databases: "bets" (key: bet id) the bet records; "bet_exposure" (key "o|fixture|market|line|
 * outcome" or "f|fixture") the replicated liability in cents; "bet_player" (key: player id NUL
 * be64 seq -> bet id) and "bet_fixture" (key: fixture id NUL be64 seq -> bet id) for listing
 * and settling; "bet_pending" (key: be64 seq -> bet id) the bets whose hold is not answered
 * yet; "bet_config" (key "limits") the operator's limits.
 *
 * CMD_BET_PLACE {player_id, stake, policy, tolerance?, legs: [{fixture, market, line?, outcome,
 *   price, version}], node?}: every check happens here, at the committing index, so every node
 *   agrees and no check can be raced:
 *   - 1 to BET_LEGS_MAX legs (422 too_many_legs), at most one per fixture (422 same_fixture);
 *   - each leg's market (quotes.c) is open (409 market_suspended when suspended; 409
 *     betting_closed when pending, closed, or live while live betting is off);
 *   - the cited quote version belongs to the fixture, is not newer than the market's, and
 *     offered the cited price for that outcome (422 invalid_quote);
 *   - the current price (the market's latest agreed prices) still stands under the policy:
 *     "exact" (the same price), "better" (the same or higher), "any_within" (at least the cited
 *     price less @tolerance milli-odds); else 409 price_changed with every leg's current price
 *     and version; an outcome no longer priced is 409 not_offered. The bet records the price
 *     it got (the current one);
 *   - the stake is between the limits' min and max (422 below_min_stake, 409 above_max_stake
 *     with "max"), the payout (stake x the legs' odds, floored at every step, in cents) under
 *     max_payout (409 above_max_payout with "max");
 *   - the exposure it adds (payout - stake) keeps every leg's outcome under outcome_cap and
 *     every leg's fixture under fixture_cap (409 liability_cap with "cap", "scope", "current").
 *   On success (201) the bet is stored as "pending_hold" with id "b" + 12-digit sequence (the
 *   same on every node), its exposure added. Batchable: nothing depends on the entry's index.
 * CMD_BET_LIMITS {min_stake?, max_stake?, max_payout?, outcome_cap?, fixture_cap?, live?}: the
 *   operator's limits (the same for every bettor); omitted fields keep their value (200).
 * CMD_BET_PAID {bet_id, how: "post"|"void"}: the leader moved a settled bet's money through the
 *   accounts cluster (bets_settle_how); the bet gets "paid": how and leaves "bet_unpaid" (200;
 *   again: 200 unchanged; a bet not settled: 409 bet_not_settled; another how: 409).
 * CMD_BET_HOLD_DONE {bet_id, accepted: bool, code?, detail?}: the leader learnt the accounts
 *   cluster's answer to the bet's hold (hold id = bet id). A pending_hold bet becomes "accepted"
 *   or "rejected" (with the wallet's problem code; its exposure released). A bet already past
 *   pending_hold: 409 (the leader takes it as done; the same answer again is 200 unchanged).
 */
#ifndef PARLAY_BETS_H
#define PARLAY_BETS_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

struct fsm;
struct cmd;

#define BET_LEGS_MAX 10
#define BET_ID_MAX 32

struct bet_limits {
    uint64_t min_stake, max_stake, max_payout, outcome_cap, fixture_cap; /* cents */
    bool live;
};

/* The limits in force (defaults when the operator set none). */
void bets_limits_get(struct fsm *f, MDB_txn *txn, struct bet_limits *out);

/* A bet record, or NULL. */
json_t *bets_get(struct fsm *f, MDB_txn *txn, const char *id);
/* The exposure in cents at an exposure key (see above); 0 when none. */
uint64_t bets_exposure(struct fsm *f, MDB_txn *txn, const char *key);
/* A player's bets, newest first: {"items": [bet records], "next": cursor-or-null}. @status:
 * NULL (all), "open" (pending_hold, accepted) or "settled" (every other status); @before: a
 * cursor from a previous page (the seq to continue under), 0 for the first page. */
json_t *bets_list_player(struct fsm *f, MDB_txn *txn, const char *player, const char *status,
                         uint64_t before, unsigned limit);
/* Ids of bets whose status is "pending_hold", at most @limit, in placement order. */
json_t *bets_pending_holds(struct fsm *f, MDB_txn *txn, unsigned limit);

/* Settlement (football markets as quote_price.c names them). The result of one leg on a final
 * score @h-@a: "won", "lost", "push", "void", "half_won" or "half_lost" (Asian quarter lines),
 * or NULL when the market is not settled from the final score (next_goal: not built). */
const char *bets_leg_result(const char *market, const char *line, const char *outcome, int h,
                            int a);

/* A fixture's result was agreed (quotes.c calls it in the same transaction): every leg on it
 * gets its result (@cancelled: "void"); a bet whose legs all have results and whose hold was
 * accepted is settled: status "settled", "result" (a single: its leg's; an accumulator: "lost"
 * if a leg lost, "void" if every leg is void or pushed, else "won"), "odds_settled" (a lost
 * leg counts 0, void and push 1000, half won (price + 1000) / 2, half lost 500; floored per
 * leg) and "return" (stake x odds_settled / 1000, floored to the cent), its exposure released.
 * A bet still pending_hold is settled when its hold is accepted. All the fixture's bets are
 * settled in this one apply (not yet in bounded chunks). */
int bets_on_result(struct fsm *f, MDB_txn *txn, const char *fixture, bool cancelled, int h,
                   int a, uint64_t time_ms);

/* Ids of settled bets whose money has not moved yet, at most @limit, in placement order. */
json_t *bets_unpaid(struct fsm *f, MDB_txn *txn, unsigned limit);
/* How a settled bet's hold is resolved: "void" (result void or push: the stake back), else
 * "post" with the stake and @payout = the bet's return (0 when lost). */
const char *bets_settle_how(json_t *bet, uint64_t *payout);

/* Payload builders (see cmd_fill). @legs and @limits are borrowed. */
char *bets_cmd_place(struct cmd *c, const char *player_id, uint64_t stake, const char *policy,
                     uint64_t tolerance, json_t *legs, uint64_t node);
char *bets_cmd_limits(struct cmd *c, json_t *limits);
char *bets_cmd_paid(struct cmd *c, const char *bet_id, const char *how);
char *bets_cmd_hold_done(struct cmd *c, const char *bet_id, bool accepted, const char *code,
                         const char *detail);

#endif
