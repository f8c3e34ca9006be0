/* Trader controls (issue 17): per fixture, a trader's margin shift (fixture-wide or per
 * market), a bounded lean toward one 1X2 outcome, a suspension and a stake cap, each change with
 * a reason, kept in the replicated state with its history (trader.c).
 *
 * Happy path: POST /admin/v1/fixtures/{id}/trader builds CMD_TRADER_SET (wrapped in CMD_ADMIN by
 * the write path, so the audit trail has it too); apply checks the bounds, merges the change
 * into the fixture's record (db "trader", key: fixture id) and appends it to the record's
 * history {n, entry, at, by, reason, set}. The next CMD_QUOTE_ROUND copies the pricing part
 * into its captured inputs ("trader": {margin_shift_bp, market_shift_bp, lean}), so every
 * node prices with the same settings and the vote still agrees (node/quote_price.c).
 * Failure modes: a value out of bounds, an unknown field or market, a reason outside 3-500
 * bytes is a 422 problem with a stable code that changes nothing; an unknown fixture is 404
 * (no_fixture). suspended: true suspends the fixture's markets at once (reason "trader") and
 * refuses rounds until suspended: false, after which the next round reopens them.
 *
 * CMD_TRADER_SET {fixture, market?, margin_shift_bp?, lean?: {outcome, bp}, suspended?,
 *                 max_stake?, reason, by?}
 *   margin_shift_bp: -500..1500 (added to the configured margin, in basis points; 0 clears);
 *   with market (a margins key: 1x2, total_goals, ...) it is that market's shift.
 *   lean: outcome home|draw|away, bp 0..500 (0 clears): the 1X2 probability of the outcome
 *   moves up by bp / 10000, the others scale down in proportion. Fixture-wide only.
 *   suspended: true|false. max_stake: cents, 0 clears; bets on the fixture above it are
 *   refused (above_max_stake). by: who (the write path's actor), kept in the history. */
#ifndef PARLAY_TRADER_H
#define PARLAY_TRADER_H

#include <jansson.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

struct fsm;
struct cmd;

#define TRADER_MARGIN_MIN_BP (-500)
#define TRADER_MARGIN_MAX_BP 1500
#define TRADER_LEAN_MAX_BP 500
#define TRADER_REASON_MIN 3
#define TRADER_REASON_MAX 500
#define TRADER_HISTORY_KEEP 100 /* the newest changes kept in the record */

/* The fixture's record {fixture, margin_shift_bp, market_shift_bp, lean, suspended, max_stake,
 * changes, updated_at, history[]}, or NULL when no trader ever touched it. */
json_t *trader_get(struct fsm *f, MDB_txn *txn, const char *fixture);
/* The pricing part for a round's inputs ({margin_shift_bp, market_shift_bp, lean}), or NULL
 * when nothing changes the prices. */
json_t *trader_round_inputs(struct fsm *f, MDB_txn *txn, const char *fixture);
bool trader_suspended(struct fsm *f, MDB_txn *txn, const char *fixture);
/* @max capped by the fixture's trader stake cap, if any. */
uint64_t trader_max_stake(struct fsm *f, MDB_txn *txn, const char *fixture, uint64_t max);

/* Bounds and shape of a change (the payload without or with "fixture"): 0 if it may be
 * applied, else -1 with the 422 problem (and its code) in @res. The route checks with it too,
 * so a refused change never reaches the log. */
struct fsm_result;
int trader_check(json_t *p, struct fsm_result *res);

/* Shared with trader_market.c: a 422 (404: "No fixture") problem with its stable @code in
 * @res (returns 0); the change @set (stolen) of payload @p appended to record @t's history
 * {n, entry, at, by, reason, set} (the newest TRADER_HISTORY_KEEP kept), its changes and
 * updated_at advanced; returns the entry (borrowed from @t). */
int trader_vrefuse(struct fsm_result *res, int status, const char *code, const char *fmt,
                   va_list ap);
/* The payload of a trader command (a new reference), checked by @check, for a fixture the
 * state knows; NULL with the refusal (422 invalid_trader, @check's, 404 no_fixture) in @res. */
json_t *trader_payload(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                       int (*check)(json_t *p, struct fsm_result *res), struct fsm_result *res);
json_t *trader_history_push(struct fsm *f, const struct cmd *c, json_t *t, json_t *p, json_t *set);

/* The payload of CMD_TRADER_SET: @body (borrowed) with "fixture" and "by" set. */
char *trader_cmd_set(struct cmd *c, const char *fixture, json_t *body, const char *by);

#endif
