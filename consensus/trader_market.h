/* Trader controls per market (issue 17): a line move, a lean toward one side, a stake cap and a
 * suspension for one market of one fixture, each change with a reason, kept with its history
 * (trader_market.c). The fixture-wide controls and a market's margin shift are trader.h's.
 *
 * Happy path: POST /admin/v1/fixtures/{id}/trader with "market" and any of line_move, lean,
 * max_stake, suspended builds CMD_TRADER_MARKET_SET (wrapped in CMD_ADMIN by the write path, so
 * the audit trail has it); apply checks the bounds, merges the change into the fixture's record
 * (db "trader_markets", key: fixture id) and appends it to the history {n, entry, at, by,
 * reason, market, set}. trader_round_inputs() adds the pricing part to the round's inputs
 * (trader.markets: {market: {line_move_q?, lean?, suspended?}}), so every node prices the same
 * bytes (node/quote_trader.c). The stake cap is checked by the bet at its log index.
 * Failure modes: a value out of bounds, an unknown field or market, a line move or lean on a
 * market without lines or sides, a reason outside 3-500 bytes: 422 with a stable code,
 * nothing changes; an unknown fixture: 404 no_fixture.
 *
 * CMD_TRADER_MARKET_SET {fixture, market, line_move?, lean?: {outcome, bp}, max_stake?,
 *                        suspended?, reason, by?}
 *   line_move: goals, a multiple of the market's step (total_goals, home_goals, away_goals:
 *   whole goals, at most 3; asian_handicap: quarter goals, at most 2), 0 clears. The price of
 *   line X becomes the model's price of line X - line_move (totals: +1 moves 2.5's price to 3.5;
 *   asian_handicap, the home side's line: -0.5 prices home -1.0 as the model's -0.5).
 *   lean: {outcome: one of the market's two sides, bp: 0..500} (0 clears): that side's
 *   probability up by bp / 10000 on every line, the other side's down as much.
 *   max_stake: cents, 0 clears: bets on this market above it are refused (above_max_stake).
 *   suspended: true leaves the market out of the next prices and refuses bets on it at once
 *   (market_suspended); false offers it again from the next round. */
#ifndef PARLAY_TRADER_MARKET_H
#define PARLAY_TRADER_MARKET_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

struct fsm;
struct cmd;
struct fsm_result;

#define TRADER_LINE_MAX_Q 40 /* quarters of the market's unit: 10 basketball points */

/* The fixture's record {fixture, markets: {name: {line_move_q, lean, max_stake, suspended}},
 * changes, updated_at, history[]}, or NULL when no trader set a market of it. */
json_t *trader_market_get(struct fsm *f, MDB_txn *txn, const char *fixture);
/* The pricing part ({market: {line_move_q?, lean?, suspended?}}), or NULL when neutral. */
json_t *trader_market_round_inputs(struct fsm *f, MDB_txn *txn, const char *fixture);
/* @max capped by @market's stake cap, if any. */
uint64_t trader_market_max_stake(struct fsm *f, MDB_txn *txn, const char *fixture,
                                 const char *market, uint64_t max);
bool trader_market_suspended(struct fsm *f, MDB_txn *txn, const char *fixture,
                             const char *market);

/* True if @p (a route's body) is a per-market change: "market" with line_move, lean,
 * max_stake or suspended. */
bool trader_market_is_change(json_t *p);
/* Bounds and shape, as trader_check: 0, or -1 with the 422 problem (and its code) in @res. */
int trader_market_check(json_t *p, struct fsm_result *res);
/* The payload of CMD_TRADER_MARKET_SET: @body (borrowed) with "fixture" and "by" set. */
char *trader_market_cmd_set(struct cmd *c, const char *fixture, json_t *body, const char *by);

#endif
