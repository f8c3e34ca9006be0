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
 * or NULL when the market is not settled from the final score (next_goal: from the agreed
 * events, bets_next_goal_result). */
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
/* The jobs that go on in chunks, a proposal by the leader per chunk: a settlement
 * (CMD_BET_SETTLE_MORE {fixture, limit?}: the next @limit (1 to BET_SETTLE_CHUNK, the default)
 * bets of a fixture whose result is being settled: 200 {fixture, more: bool}; nothing left (or
 * never started): 200 {fixture, more: false}, nothing changed; 422 invalid_settle without a
 * fixture or with a limit out of range), a correction
 * (CMD_BET_RESETTLE {fixture, more: true}, bets_resettle.c) and an abandonment
 * (CMD_BET_ABANDONED {fixture, more: true}, bets_markets.c). */
enum bets_chunked { BETS_SETTLING, BETS_RESETTLING, BETS_ABANDONING, BETS_CHUNKED_KINDS };
/* The fixtures with a job of kind @k still going on, at most @limit. */
json_t *bets_chunked(struct fsm *f, MDB_txn *txn, enum bets_chunked k, unsigned limit);
/* The command for the next chunk of @fixture's job of kind @k. */
char *bets_cmd_chunk_more(struct cmd *c, enum bets_chunked k, const char *fixture);
/* The same for a settlement, of at most @limit bets (the leader's choice: smaller while live
 * games' quote rounds are in flight, node/bets_hold.c). */
char *bets_cmd_settle_more(struct cmd *c, const char *fixture, unsigned limit);
/* Bets with a leg on @fixture, in placement order, at most @limit. */
json_t *bets_list_fixture(struct fsm *f, MDB_txn *txn, const char *fixture, unsigned limit);

/* Re-settlement and postponed fixtures (bets_resettle.c; its opening comment tells the rules).
 * CMD_BET_RESETTLE {fixture, home, away, reason}: an operator corrects a finished fixture's
 * result; every bet on it settles again at the fixture's next generation (200 {fixture,
 * generation, bets, resettled, history}). CMD_BET_POSTPONED {fixture}: the leader voids a
 * postponed fixture's bets BET_POSTPONED_VOID_MS after its original kick-off. */
#define BET_POSTPONED_VOID_MS (48ull * 3600 * 1000)
/* The corrections of @fixture: {fixture, generation, home, away, history: [{generation, home,
 * away, reason, at, resettled}]}, or NULL when none. */
json_t *bets_resettles(struct fsm *f, MDB_txn *txn, const char *fixture);
/* Postponed fixtures whose bets are due to be voided at @now_ms (not done yet), at most
 * @limit ids. */
json_t *bets_postponed_due(struct fsm *f, MDB_txn *txn, uint64_t now_ms, unsigned limit);
/* The stake kept and the payout paid, as @hold's transfers (with their corrections) say. */
void bets_hold_effect(json_t *hold, int64_t *stake, int64_t *payout);
char *bets_cmd_resettle(struct cmd *c, const char *fixture, int home, int away,
                        const char *reason);
char *bets_cmd_postponed(struct cmd *c, const char *fixture);
/* CMD_BET_PAID {bet_id, how: "resettle", generation}: a re-settled bet's hold was corrected. */
char *bets_cmd_paid_resettle(struct cmd *c, const char *bet_id, int64_t generation);

/* Markets settled from the agreed events, and abandoned fixtures (bets_markets.c; its opening
 * comment has the table of what stands). A next_goal leg's result from the fixture's agreed
 * events @evs (obs_agreed_events): the first goal after the leg's placement ("live".seq);
 * without one, NULL until @final (then "none" wins). */
const char *bets_next_goal_result(json_t *leg, json_t *evs, bool final);
/* An event of @fixture was agreed (quotes.c calls it in the same transaction): next_goal legs
 * on it whose next goal is now known (every event from the bet's placement to that goal
 * agreed) get their result, and their bets settle if accepted and complete. */
int bets_on_event(struct fsm *f, MDB_txn *txn, const char *fixture, uint64_t time_ms);
/* A leg's result when its fixture is abandoned at @h-@a: decided markets stand, else "void". */
const char *bets_abandoned_result(json_t *leg, int h, int a, json_t *evs);
/* CMD_BET_ABANDONED {fixture, reason}: an operator abandons a live fixture (200 {fixture,
 * abandoned: {at, reason, home, away}, settled}). */
char *bets_cmd_abandoned(struct cmd *c, const char *fixture, const char *reason);
/* Whether @fixture was abandoned (its chunks: bets_chunked BETS_ABANDONING). */
bool bets_abandoned_fixture(struct fsm *f, MDB_txn *txn, const char *fixture);

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

/* Cash-out (bets_cashout.c; see its opening comment for the arithmetic). The operator's
 * settings in "bet_config" (key "cashout"), CMD_BET_CASHOUT_SET {enabled?, margin_bp?,
 * validity_ms?} (omitted fields keep their value; 422 invalid_cashout_config). */
#define BET_CASHOUT_MARGIN_MAX 5000      /* basis points */
#define BET_CASHOUT_VALIDITY_MIN 1000    /* ms */
#define BET_CASHOUT_VALIDITY_MAX 60000
struct bet_cashout_cfg {
    bool enabled;         /* default on */
    uint64_t margin_bp;   /* default 500 (5 %) */
    uint64_t validity_ms; /* how long an offer stands, default 5000 */
};
void bets_cashout_cfg_get(struct fsm *f, MDB_txn *txn, struct bet_cashout_cfg *out);
json_t *bets_cashout_cfg_json(const struct bet_cashout_cfg *cfg);
/* The cash-out offer for bet @id of @player at this state: *@status 200 and {bet_id, stake,
 * amount, fair_value, margin_bp, validity_ms, versions: [quote version per leg, null for a
 * leg with a result], legs: [...]}, or a problem+json object with its status (404 no_bet, 409
 * bet_not_open, cashout_off, market_suspended, betting_closed, cashout_unavailable). */
json_t *bets_cashout_offer(struct fsm *f, MDB_txn *txn, const char *id, const char *player,
                           int *status);
/* CMD_BET_CASHOUT {bet_id, player_id, amount, versions, expires_ms}: accept an offer (see
 * bets_cashout.c): 200 the bet settled "cashed_out", or a refusal that changes nothing. */
char *bets_cmd_cashout(struct cmd *c, const char *bet_id, const char *player_id, uint64_t amount,
                       json_t *versions, uint64_t expires_ms);
char *bets_cmd_cashout_set(struct cmd *c, json_t *settings);

#endif
