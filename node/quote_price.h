/* Pricing a quote round: inputs (captured by the state machine at the round's index) to the
 * canonical prices text every node signs. Deterministic: the same inputs, ratings history,
 * agreed results and margins give the same text on every node.
 *
 * Ratings. The pre-match expected goals come from a Dixon-Coles fit (models/) over an optional
 * history (football-data CSV files in `ratings_history`, read in name order) plus the first
 * `epoch` agreed final results of the cluster, in agreement order. The history's days are kept;
 * agreed results are placed just after it, at their distance from the first agreed result, so
 * that the latest games weigh most whatever the history's age. A team the fit never saw gets
 * the model's newcomer prior; with no game at all, default rates 1.45 - 1.15 are used.
 *
 * The prices text is canonical JSON (compact, keys sorted), prices in milli-odds on the
 * ladder; 0 (not offered) is left out:
 *   {"1x2":{"away","draw","home"}, "asian_handicap":{"-0.25":{"away","home"},...},
 *    "btts":{"no","yes"}, "correct_score":{"0-0",...,"other"}, "double_chance":
 *    {"draw_away","home_away","home_draw"}, "draw_no_bet":{"away","home"},
 *    "total_goals":{"2.5":{"over","under"},...}, "home_goals":{...}, "away_goals":{...},
 *    "winning_margin":{"away_1",...,"draw","home_4+"}, "next_goal":{"away","home","none"}
 *    (live only)}
 */
#ifndef PARLAY_QUOTE_PRICE_H
#define PARLAY_QUOTE_PRICE_H

#include <jansson.h>
#include <lmdb.h>
#include <stdint.h>

#include "models/models.h"

struct fsm;
struct ratings;

/* Loads the history from @dir ("" or NULL: none). NULL with @err filled on failure. */
struct ratings *ratings_open(const char *dir, char *err, size_t errlen);
void ratings_close(struct ratings *r);
unsigned ratings_history_games(const struct ratings *r);
uint64_t ratings_fits(const struct ratings *r);

/* Expected goals of @home v @away from the fit on the history plus the first @epoch agreed
 * results (read from @txn), fitted before @day. Fits are cached by (epoch, day). */
int ratings_rates(struct ratings *r, struct fsm *f, MDB_txn *txn, uint64_t epoch, int day,
                  const char *home, const char *away, double *lambda, double *mu, double *rho);

/* Margins: {"method": "shin"|"multiplicative"|"additive"|"power",
 *           "<market>": {"pre": 0.05, "live": 0.07}, ...} with markets 1x2, double_chance,
 * draw_no_bet, total_goals, btts, correct_score, asian_handicap, team_goals, winning_margin,
 * next_goal; missing entries keep the models' defaults. -1 with @err on a bad value. */
int quote_margins_parse(const char *text, model_quote_cfg *cfg, char *err, size_t errlen);

/* The market's weight in the pre-match 1X2 blend when the round carries an agreed market
 * snapshot (inputs.market): model_blend_weight_fb(inputs.competition), the compiled-in table
 * of per-league weights fitted walk-forward by parlay-model eval (models/blend.c,
 * models/README.md "Market blend"); an unknown competition gets the pooled weight. The table
 * is code, so every node of one build reads the same weights. */
/* The prices text for a football round (malloc'd), or NULL with @err. @fault (tests only)
 * adds 10 to every price, as a node with a broken model would. Pre-match, inputs.market
 * {seq, odds_milli: [[home, draw, away] milli-odds, ...]} blends the 1X2 with that market. */
char *quote_price_football(const json_t *inputs, double lambda, double mu, double rho,
                           const model_quote_cfg *cfg, int fault, char *err, size_t errlen);

/* Tennis (best of 3; no player ratings yet: both players win @serve_a / @serve_b of their
 * service points): match_winner, set_winner (the current set), set_betting, total_games
 * (18.5-26.5), game_handicap (home -5.5..+5.5). */
char *quote_price_tennis(const json_t *inputs, double serve_a, double serve_b,
                         const model_quote_cfg *cfg, int fault, char *err, size_t errlen);

/* Basketball (a normal margin and total, Brownian in play; @pre: the pre-match means and
 * spreads): moneyline, spread and total_points on half-point lines around the expected margin
 * and total. The live score is what the agreed scoring runs add up to. */
char *quote_price_basketball(const json_t *inputs, const model_bb_state *pre,
                             const model_quote_cfg *cfg, int fault, char *err, size_t errlen);

#endif
