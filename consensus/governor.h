/* The return-to-player governor in the replicated state (issue 17): the cluster-wide margin
 * adjustment it keeps, its evaluations and their history (governor.c); the rule itself is
 * governor_rule.c.
 *
 * Happy path: on a timer, the sport cluster's leader reads the licence's TRJ for the year from
 * the accounts cluster (node/governor.c) and runs the rule on it with the adjustment in force;
 * when the rule moves it, the leader proposes CMD_GOVERNOR_ADJUST with the reading and its
 * configured parameters. Apply runs the rule again on the payload, the date of the leader's
 * stamp and the replicated state (the adjustment, the reading at its last change), so every
 * node derives the same adjustment; a move is kept with its history entry {n, entry, at, from,
 * to, why, ytd_bp, recent_bp, projected_bp, stakes, payouts, target_bp}. The next
 * CMD_QUOTE_ROUND puts the adjustment in its captured inputs ("governor_bp"), and every node's
 * pricing adds it to every market's margin (node/quote_price.c), so quotes still agree.
 * Failure modes: a payload out of bounds is a 422 problem with a stable code and changes
 * nothing; a reading of another year than the stamp's is 409 stale_reading (the year turned
 * between the reading and the proposal). An evaluation that moves nothing (the state changed
 * since the leader looked) is recorded as the last evaluation only.
 *
 * CMD_GOVERNOR_ADJUST {year, stakes, payouts, target_bp, band_bp, step_bp, max_bp, min_stakes}
 * CMD_GOVERNOR_RESET {reason, by?}: an operator puts the adjustment back to 0 (kept in the
 *   history with the reason; the next evaluation starts from there). */
#ifndef PARLAY_GOVERNOR_H
#define PARLAY_GOVERNOR_H

#include <jansson.h>
#include <lmdb.h>
#include <stdint.h>

#include "consensus/governor_rule.h"

struct fsm;
struct cmd;

#define GOVERNOR_HISTORY_KEEP 100

/* The state {margin_bp, changes, year?, base_stakes?, base_payouts?, last?, history[],
 * updated_at?}: {margin_bp: 0, changes: 0, history: []} when never touched. */
json_t *governor_get(struct fsm *f, MDB_txn *txn);
/* The adjustment in force, basis points (0 when none). */
int governor_margin_bp(struct fsm *f, MDB_txn *txn);

/* The rule's inputs from the replicated state and a reading (@year's @stakes and @payouts) at
 * @time_ms: the date, the adjustment in force and the window since it last changed. -1 when
 * @time_ms is not in @year. */
int governor_inputs(struct fsm *f, MDB_txn *txn, int year, int64_t stakes, int64_t payouts,
                    uint64_t time_ms, gov_in *in);

/* The rule's parameters as the payload carries them. */
json_t *governor_cfg_json(const gov_cfg *cfg);

/* Payload builders (the text @c points to, freed by the caller after proposing). */
char *governor_cmd_adjust(struct cmd *c, int year, int64_t stakes, int64_t payouts,
                          const gov_cfg *cfg);
char *governor_cmd_reset(struct cmd *c, const char *reason, const char *by);

#endif
