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
 *   A delayed bet ("pending", hold "pending"): accepted -> hold "held" (still pending, the
 *   leader decides after the delay); refused -> "rejected" with the wallet's code.
 *
 * Acceptance delay. CMD_BET_PLACE may carry delay_pre_ms / delay_live_ms (the taking node's
 *   configuration for its sport, bet_delay_pre_ms / bet_delay_live_ms; at most
 *   BET_DELAY_MAX_MS): a bet with a live leg waits delay_live_ms, else delay_pre_ms. A bet with
 *   a delay is stored "pending" (hold "pending", "decide_after_ms" = the placing entry's time +
 *   the delay), each leg with its market's suspended_index and live state at placement; it is
 *   queued in "bet_delayed" (be64 seq -> id) besides "bet_pending".
 * CMD_BET_DECIDE {bet_id} (the leader, stamped with its time, once the hold is held and the
 *   delay is over; 409 delay_running before, 409 hold_not_held, 409 bet_resolved when not
 *   pending): accepted only if no leg's market was suspended since placement (its
 *   suspended_index unchanged and not suspended now), every market is open and every leg's
 *   current price still stands under the bet's policy against the price the player saw (the
 *   bet keeps the price and payout it got at placement); else "rejected" with reject_code
 *   market_suspended, betting_closed or price_changed, its exposure released and its hold
 *   "voiding" (queued in "bet_void"). Accepted: settled at once if its results are known.
 * CMD_BET_HOLD_VOIDED {bet_id}: the leader voided a rejected bet's hold in the accounts
 *   cluster: hold "voided", out of "bet_void" (again: 200 unchanged; not voiding: 409).
 *
 * Every status change is appended to "bet_events" (see bets_events_after) for the players'
 * stream (GET /v1/stream/bets).
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
#define BET_DELAY_MAX_MS 60000

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
/* Bet records in id (= placement) order after id @after ("" or NULL: from the first), at
 * most @limit. */
json_t *bets_scan(struct fsm *f, MDB_txn *txn, const char *after, unsigned limit);
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
 * A bet still pending_hold is settled when its hold is accepted. At most BET_SETTLE_CHUNK bets
 * are settled in this apply (placement order); if there may be more, the result is kept in
 * "bet_config" (key "settle|FIXTURE": {fixture, cancelled, home, away, after: the last bet seq
 * done}) and the leader proposes CMD_BET_SETTLE_MORE {fixture} until it is gone, so that one
 * fixture's thousands of bets never stall the log (quotes of other games apply in between). */
#define BET_SETTLE_CHUNK 1000
int bets_on_result(struct fsm *f, MDB_txn *txn, const char *fixture, bool cancelled, int h,
                   int a, uint64_t time_ms);

/* Ids of settled bets whose money has not moved yet, at most @limit, in placement order. */
json_t *bets_unpaid(struct fsm *f, MDB_txn *txn, unsigned limit);
/* How a settled bet's hold is resolved: "void" (result void or push: the stake back), else
 * "post" with the stake and @payout = the bet's return (0 when lost). */
const char *bets_settle_how(json_t *bet, uint64_t *payout);

/* Bets waiting out their acceptance delay ("pending"), and rejected bets whose hold is to be
 * voided (hold "voiding"): ids, at most @limit, in placement order. */
json_t *bets_delayed(struct fsm *f, MDB_txn *txn, unsigned limit);
json_t *bets_voids(struct fsm *f, MDB_txn *txn, unsigned limit);

/* The bet event log (db "bet_events", ids 1, 2, ... the same on every node): events after
 * @after, at most @limit: {id, type (placed, held, accepted, rejected, hold_voided, settled,
 * paid), bet_id, player_id, status, at}; and the last id (0: none). */
json_t *bets_events_after(struct fsm *f, MDB_txn *txn, uint64_t after, unsigned limit);
uint64_t bets_last_event(struct fsm *f, MDB_txn *txn);

/* The audit: @bets (every bet record) against @holds (the accounts cluster's holds of this
 * cluster by id, each with its "transfers", wallet_holds_page). A bet whose money is settled
 * must have its hold in the matching state with the matching transfers (accepted or held:
 * hold pending for the stake; rejected: no hold, or voided; paid by post: posted with a stake
 * transfer of the stake and a payout transfer of the return, when above 0; paid by void:
 * voided with its void transfer), the same player and amount; every hold must have its bet.
 * Bets still on their way (pending_hold, pending, voiding, settled not paid) are counted in
 * "in_progress" and only a contradiction is a difference. Returns {ok, bets, holds,
 * in_progress, difference_count, differences: [{bet_id, problem, detail}]}. */
json_t *bets_audit_compare(json_t *bets, json_t *holds);

/* Betting switches: {all: bool (false: every bet refused), live: bool (the limits' live
 * flag), fixtures_closed: {fixture: since}}. CMD_BET_SWITCH {scope: all|live|fixture,
 * fixture?, open: bool} sets one (200 with the switches; 422 invalid_switch); a bet on a
 * switched-off fixture (or with everything off) is refused 409 betting_closed. */
json_t *bets_switches(struct fsm *f, MDB_txn *txn);
/* The liability of @fixture: {fixture, exposure, cap, outcomes: [{market, line?, outcome,
 * exposure, cap}]} (net cents the house would pay if that outcome won). */
json_t *bets_liability(struct fsm *f, MDB_txn *txn, const char *fixture);
/* The fixtures whose settlement goes on in chunks (CMD_BET_SETTLE_MORE), at most @limit. */
json_t *bets_settling(struct fsm *f, MDB_txn *txn, unsigned limit);
/* CMD_BET_SETTLE_MORE {fixture}: the next BET_SETTLE_CHUNK bets of a fixture whose result is
 * being settled: 200 {fixture, more: bool}; nothing left (or never started): 200 {fixture,
 * more: false}, nothing changed; 422 invalid_settle without a fixture. */
char *bets_cmd_settle_more(struct cmd *c, const char *fixture);
/* Bets with a leg on @fixture, in placement order, at most @limit. */
json_t *bets_list_fixture(struct fsm *f, MDB_txn *txn, const char *fixture, unsigned limit);

/* Payload builders (see cmd_fill). @legs and @limits are borrowed. */
char *bets_cmd_switch(struct cmd *c, const char *scope, const char *fixture, bool open);
/* CMD_BET_VOID {bet_id, reason}: an operator voids an accepted, unsettled bet with a kept
 * reason: settled at once with result "void" (every leg void, return = the stake, "void_reason",
 * "voided_by": "operator"), exposure released; the leader voids its hold like any void bet
 * (then CMD_BET_PAID how "void"). The same void again: 200 unchanged; any other status: 409
 * bet_not_voidable; 422 invalid_void without a reason. */
char *bets_cmd_void(struct cmd *c, const char *bet_id, const char *reason);
char *bets_cmd_place_delayed(struct cmd *c, const char *player_id, uint64_t stake,
                             const char *policy, uint64_t tolerance, json_t *legs, uint64_t node,
                             uint64_t delay_pre_ms, uint64_t delay_live_ms);
char *bets_cmd_decide(struct cmd *c, const char *bet_id);
char *bets_cmd_hold_voided(struct cmd *c, const char *bet_id);
char *bets_cmd_place(struct cmd *c, const char *player_id, uint64_t stake, const char *policy,
                     uint64_t tolerance, json_t *legs, uint64_t node);
char *bets_cmd_limits(struct cmd *c, json_t *limits);
char *bets_cmd_paid(struct cmd *c, const char *bet_id, const char *how);
char *bets_cmd_hold_done(struct cmd *c, const char *bet_id, bool accepted, const char *code,
                         const char *detail);
/* CMD_BET_HOLDS_DONE {items: [{op: "hold", bet_id, accepted, code?, detail?} |
 * {op: "paid", bet_id, how} | {op: "voided", bet_id}]} (1 to BET_HOLDS_DONE_MAX): the
 * leader's record of the accounts cluster's answers to one hold batch; each item applied in
 * order exactly as CMD_BET_HOLD_DONE, CMD_BET_PAID or CMD_BET_HOLD_VOIDED would apply it, with
 * its own result (a refused item does not refuse the others). 200 {results: [{bet_id, status,
 * code?}]}; 422 invalid_holds_done. @items is borrowed. */
#define BET_HOLDS_DONE_MAX 512
char *bets_cmd_holds_done(struct cmd *c, json_t *items);

#endif
