/*
 * models.h -- Parlay's pricing library: the one header callers may use.
 *
 * The library turns what we know about a game into probabilities and then into prices.
 * It does no I/O, keeps no global state and is deterministic: the same inputs give the same
 * bits on any x86-64 machine with the same libm (no -ffast-math, fixed iteration limits and
 * tolerances, no threads, and the fit sorts its input so that the order of the games does
 * not matter). Prices are integers: decimal odds x 1000, so replicas compare them exactly.
 *
 * Every function that can fail returns 0 or a negative MODEL_E* code; bad inputs (NaN,
 * negative rates, impossible scores) are refused, never priced.
 *
 * Layout of the implementation (one concept per file):
 *   margin.c          probabilities <-> odds with a margin (multiplicative, additive, power,
 *                     Shin), the price ladder, integer prices
 *   football_grid.c   Dixon-Coles score grid, pre-match and live
 *   football_markets.c every football market from a grid; Asian handicap settlement
 *   football_fit.c    Dixon-Coles maximum-likelihood fit (time decay, shots blend, priors)
 *   football_quote.c  a full priced football market set from a grid and a configuration
 *   tennis.c          point-level Markov chain: game, tie-break, set, match, live
 *   basketball.c      normal margin/total model and its Brownian-motion live version
 *   metrics.c         ranked probability score and log loss
 *   blend.c           the model blended with the de-margined market (weights fitted on the past)
 */
#ifndef PARLAY_MODELS_H
#define PARLAY_MODELS_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- errors */

enum {
    MODEL_OK = 0,
    MODEL_EINVAL = -1,  /* an input is NaN, negative, out of range or inconsistent */
    MODEL_ERANGE = -2,  /* the method has no solution for these inputs */
    MODEL_ENOCONV = -3, /* an iteration did not converge within its fixed limit */
    MODEL_ENOMEM = -4,
    MODEL_ETOOBIG = -5, /* more teams or games than the library's fixed limits */
};

const char* model_strerror(int err);

/* ---------------------------------------------------------------- margins and prices */

typedef enum {
    MODEL_MARGIN_MULTIPLICATIVE = 0, /* o_i = 1 / (p_i (1 + M)) */
    MODEL_MARGIN_ADDITIVE = 1,       /* o_i = 1 / (p_i + M / n) */
    MODEL_MARGIN_POWER = 2,          /* o_i = p_i^-k, sum p_i^k = 1 + M */
    MODEL_MARGIN_SHIN = 3,           /* Shin (1993): q_i = y_i sum y, y_i = sqrt(z p + (1-z) p^2) */
    MODEL_MARGIN__COUNT
} model_margin_method;

const char* model_margin_name(model_margin_method m);

#define MODEL_MARGIN_MAX_OUTCOMES 64 /* largest market: correct score, 37 outcomes */

/* Fair probabilities p[0..n) (summing to 1) to decimal odds whose booksum sum(1/odds) is
 * exactly 1 + margin (up to rounding). Outcomes with p == 0 get odds 0 (not offered).
 * *param receives the method's parameter (k for power, z for Shin; may be NULL). */
int model_margin_apply(const double* p,
                       int n,
                       model_margin_method m,
                       double margin,
                       double* odds,
                       double* param);

/* Bookmaker decimal odds[0..n) (all > 1) to fair probabilities summing to 1.
 * *param receives k (power) or z (Shin). Additive refuses results below zero (MODEL_ERANGE);
 * power and Shin need a booksum above 1 (MODEL_ERANGE otherwise). */
int model_margin_remove(const double* odds, int n, model_margin_method m, double* p, double* param);

/* Price ladder in milli-odds: 1010, 1020, ... 2000, 2020, ... 1000000. */
#define MODEL_PRICE_MIN 1010
#define MODEL_PRICE_MAX 1000000
/* Rounds decimal odds down to the ladder (the rounding never gives away margin) and returns
 * milli-odds; odds below 1.01 give MODEL_PRICE_MIN, above the top MODEL_PRICE_MAX, and
 * odds == 0 (not offered) or NaN give 0. */
int32_t model_price_round(double odds);

/* Which margin a market carries, by type and phase (configuration). */
typedef enum {
    MODEL_MKT_1X2 = 0,
    MODEL_MKT_DOUBLE_CHANCE,
    MODEL_MKT_DRAW_NO_BET,
    MODEL_MKT_TOTALS,
    MODEL_MKT_BTTS,
    MODEL_MKT_CORRECT_SCORE,
    MODEL_MKT_ASIAN_HANDICAP,
    MODEL_MKT_TEAM_TOTALS,
    MODEL_MKT_WINNING_MARGIN,
    MODEL_MKT_NEXT_GOAL,
    MODEL_MKT_MATCH_WINNER, /* tennis, basketball moneyline */
    MODEL_MKT_SET_BETTING,
    MODEL_MKT_HANDICAP, /* tennis game handicap, basketball spread */
    MODEL_MKT__COUNT
} model_market_type;

typedef enum { MODEL_PHASE_PRE = 0, MODEL_PHASE_LIVE = 1, MODEL_PHASE__COUNT } model_phase;

typedef struct
{
    model_margin_method method;
    double margin[MODEL_MKT__COUNT][MODEL_PHASE__COUNT]; /* 0.05 = 5% overround */
} model_quote_cfg;

/* Defaults: Shin method; 5% pre-match and 7% live on 1X2, more on correct score
 * and winning margin. Callers override fields from their configuration. */
void model_quote_cfg_default(model_quote_cfg* cfg);
int model_quote_cfg_check(const model_quote_cfg* cfg);

/* Prices one market: probabilities -> odds with the configured margin -> ladder. */
int model_price_market(const double* p,
                       int n,
                       const model_quote_cfg* cfg,
                       model_market_type t,
                       model_phase ph,
                       int32_t* prices);

/* A two-way market (over/under, yes/no, player A/B, spread home/away) from P(first). This is
 * how tennis and basketball markets are priced: e.g. model_tennis_total_over(r, 22.5) ->
 * model_price_two_way(p, cfg, MODEL_MKT_TOTALS, MODEL_PHASE_LIVE, prices). */
int model_price_two_way(double p,
                        const model_quote_cfg* cfg,
                        model_market_type t,
                        model_phase ph,
                        int32_t out[2]);

/* ---------------------------------------------------------------- football: score grid */

#define MODEL_FB_GOALS 16 /* the grid holds 0..15 further goals for each side */

/* Probabilities of the final score home = base_home + i, away = base_away + j. A pre-match
 * grid has base 0-0; a live grid has the current score as base and holds the goals still to
 * come. The cells sum to 1. */
typedef struct
{
    int base_home, base_away;
    double lambda, mu; /* expected further goals (home, away) */
    double p[MODEL_FB_GOALS][MODEL_FB_GOALS];
} model_fb_grid;

/* Dixon-Coles grid from expected goals lambda (home), mu (away) and rho. rho is clamped into
 * the range where every tau stays positive for these rates; the grid is renormalised. */
int model_fb_grid_dc(double lambda, double mu, double rho, model_fb_grid* g);

/* Live state of a football match. minute is the match clock including stoppage time
 * (e.g. 93.0 in the first half's stoppage is not possible: use half = 1 and minute 45 + x);
 * minute counts from 0 to 90 plus stoppage; added_time is the expected total stoppage still
 * to be played in the current half (default 0 means: use 1 minute in the first half, 4 in
 * the second, when the clock is below 45/90). */
typedef struct
{
    double lambda, mu; /* pre-match expected goals over 90 minutes */
    double rho;        /* Dixon-Coles rho of the pre-match fit (used only at 0-0) */
    double minute;     /* minutes played, 0..130 */
    int half;          /* 1 or 2 */
    int home_goals, away_goals;
    int home_reds, away_reds; /* 0..4 */
} model_fb_live;

/* Within-match intensity and score-state effects; defaults from research/pricing.md. */
typedef struct
{
    double red_penalised; /* rate multiplier for a team per player sent off: 0.66 */
    double red_opponent;  /* rate multiplier for its opponent: 1.24 */
    double trail_by_one;  /* rate multiplier for a team losing by one: 1.10 */
    double trail_by_more; /* losing by two or more: 1.20 */
    double lead_factor;   /* rate multiplier for the leading team: 0.95 */
    double late_slope;    /* scoring rate grows linearly over the match: g(s) = 1 + a (s - 1/2) */
    double stoppage_1, stoppage_2; /* expected stoppage minutes per half */
} model_fb_live_params;

void model_fb_live_params_default(model_fb_live_params* lp);

/* Grid of the final score from a live state; also returns the remaining expected goals. */
int model_fb_grid_live(const model_fb_live* st, const model_fb_live_params* lp, model_fb_grid* g);

/* ---------------------------------------------------------------- football: markets */

/* Asian handicap: line applies to the home side (home -0.75 means line = -0.75). */
typedef enum {
    MODEL_AH_LOSS = 0,
    MODEL_AH_HALF_LOSS = 1,
    MODEL_AH_PUSH = 2,
    MODEL_AH_HALF_WIN = 3,
    MODEL_AH_WIN = 4,
} model_ah_result;

/* How a home bet on `line` (a multiple of 0.25) settles when the home side wins by `diff`
 * (negative: loses). Returns MODEL_EINVAL for a line that is not a multiple of 0.25. */
int model_ah_settle(double line, int diff, model_ah_result* res);
/* Return per unit stake at decimal odds (0 for a loss, odds for a win, 1 for a push,
 * (1 + odds) / 2 for a half win, 1/2 for a half loss). */
double model_ah_payout(model_ah_result r, double odds);

typedef struct
{
    double p[5];     /* indexed by model_ah_result, for the home side */
    double eff_home; /* effective win probabilities: 1 / fair odds; eff_home + eff_away = 1 */
    double eff_away;
} model_ah_probs;

int model_fb_asian(const model_fb_grid* g, double line, model_ah_probs* out);

#define MODEL_FB_TOTAL_LINES 7 /* 0.5 .. 6.5 */
#define MODEL_FB_TEAM_LINES 5  /* 0.5 .. 4.5 */
#define MODEL_FB_CS_MAX 6      /* correct score 0..5 each, plus "any other" */
#define MODEL_FB_AH_LINES 25   /* -3.0 .. +3.0 by 0.25 */
#define MODEL_FB_MARGIN_OUT 9  /* home by 4+,3,2,1, draw, away by 1,2,3,4+ */

/* Fair probabilities of every football market, all from one grid. */
typedef struct
{
    double home, draw, away;               /* 1X2 */
    double dc_1x, dc_12, dc_x2;            /* double chance */
    double dnb_home, dnb_away;             /* draw no bet (conditional on no draw) */
    double over[MODEL_FB_TOTAL_LINES];     /* total goals over k + 0.5 */
    double btts_yes;                       /* both teams to score */
    double home_over[MODEL_FB_TEAM_LINES]; /* home goals over k + 0.5 */
    double away_over[MODEL_FB_TEAM_LINES];
    double cs[MODEL_FB_CS_MAX][MODEL_FB_CS_MAX]; /* final score h-a, h,a in 0..5 */
    double cs_other;
    double win_margin[MODEL_FB_MARGIN_OUT]; /* home 4+, 3, 2, 1, draw, away 1, 2, 3, 4+ */
    model_ah_probs ah[MODEL_FB_AH_LINES];   /* line = -3 + 0.25 i */
    double next_home, next_none, next_away; /* next goal (from the grid's rates) */
} model_fb_markets;

int model_fb_markets_compute(const model_fb_grid* g, model_fb_markets* m);

/* Integer prices (milli-odds) of the whole football market set. 0 = not offered. */
typedef struct
{
    int32_t x12[3], dc[3], dnb[2];
    int32_t over[MODEL_FB_TOTAL_LINES], under[MODEL_FB_TOTAL_LINES];
    int32_t btts[2];
    int32_t home_over[MODEL_FB_TEAM_LINES], home_under[MODEL_FB_TEAM_LINES];
    int32_t away_over[MODEL_FB_TEAM_LINES], away_under[MODEL_FB_TEAM_LINES];
    int32_t cs[MODEL_FB_CS_MAX * MODEL_FB_CS_MAX + 1]; /* row-major h*6+a, last = other */
    int32_t win_margin[MODEL_FB_MARGIN_OUT];
    int32_t ah_home[MODEL_FB_AH_LINES], ah_away[MODEL_FB_AH_LINES];
    int32_t next_goal[3]; /* live only; 0 pre-match */
} model_fb_prices;

int model_fb_quote(const model_fb_markets* m,
                   const model_quote_cfg* cfg,
                   model_phase ph,
                   model_fb_prices* out);

/* ---------------------------------------------------------------- football: fit */

#define MODEL_FB_MAX_TEAMS 512
#define MODEL_FB_MAX_GAMES 200000

typedef struct
{
    int day;        /* days since any fixed epoch */
    int home, away; /* team ids 0..MODEL_FB_MAX_TEAMS-1 */
    int home_goals, away_goals;
    int neutral;                                    /* 1: no home advantage */
    int home_shots, away_shots, home_sot, away_sot; /* -1 when unknown */
    /* Expected goals from another source: an xG feed, or the rates implied by the odds
     * published before this (past) game (model_fb_implied_rates). <= 0 when unknown. */
    double home_xg, away_xg;
} model_fb_game;

typedef struct
{
    double xi;            /* time decay per day, default 0.0018 */
    double shots_weight;  /* 0..1: share of the shots-based goal proxy in the target, default 0.3 */
    double xg_weight;     /* 0..1: share of home_xg/away_xg in the target, default 0 (off);
                             shots_weight + xg_weight <= 1 */
    double ridge;         /* L2 pull of team ratings towards the average, default 0.5 */
    double newcomer_pull; /* extra L2 pull towards the newcomer prior for teams with little
                             recent history, default 3.0 (0 = off) */
    double newcomer_games; /* "little": below this many time-weighted games, default 15 */
    int max_iter;          /* fixed iteration limit, default 300 */
    double grad_tol;       /* gradient norm in the preconditioned variables, default 1e-3 */
} model_fb_fit_opts;

void model_fb_fit_opts_default(model_fb_fit_opts* o);

typedef struct
{
    double base, hfa, rho;          /* log-rate intercept, home advantage, DC rho */
    double att[MODEL_FB_MAX_TEAMS]; /* log attack (higher scores more) */
    double def[MODEL_FB_MAX_TEAMS]; /* log defence weakness (higher concedes more) */
    unsigned char known[MODEL_FB_MAX_TEAMS];
    double prior_att, prior_def; /* used for teams with no history */
    int iterations;
    double loglik;
} model_fb_params;

/* Fits on every game with day < before_day, weighted exp(-xi (before_day - day)).
 * The result does not depend on the order of games[]. If warm is not NULL its ratings are
 * the starting point (faster refits); pass NULL for a cold start. */
int model_fb_fit(const model_fb_game* games,
                 size_t n,
                 int before_day,
                 const model_fb_fit_opts* o,
                 const model_fb_params* warm,
                 model_fb_params* out);

/* Expected goals for a game. A team the fit never saw gets the newcomer prior (the average of
 * the weakest teams, as promoted sides usually are). */
/* The Poisson rates (lambda, mu) whose score grid (with this rho) gives home and away win
 * probabilities p_home and p_away: the expected goals a 1X2 price implies. Damped Newton
 * with a fixed iteration limit. */
int model_fb_implied_rates(double p_home, double p_away, double rho, double* lambda, double* mu);

int model_fb_rates(const model_fb_params* pr,
                   int home,
                   int away,
                   int neutral,
                   double* lambda,
                   double* mu);

/* ---------------------------------------------------------------- tennis */

typedef struct
{
    int best_of;   /* 3 or 5 */
    double pa, pb; /* P(point won) when A serves, when B serves */
    /* live score; all zero and server_a = 1 for the start of the match */
    int sets_a, sets_b;
    int prev_games_a, prev_games_b; /* games won in the sets already finished */
    int games_a, games_b;           /* in the current set */
    int points_a, points_b;         /* in the current game or tie-break (points, not 15/30/40) */
    int server_a;                   /* 1 if A serves the next point */
    int final_set_tb10;             /* 1: the deciding set's tie-break at 6-6 goes to 10
                                       (Grand Slams since 2022); 0: to 7 like the others */
} model_tennis_state;

#define MODEL_TENNIS_MAX_GAMES 40 /* per player in a best-of-five match, 7 x 5 + slack */

typedef struct
{
    double match_a;         /* P(A wins the match) */
    double set_score[6][6]; /* [sets_a][sets_b] final sets score */
    double set_a;           /* P(A wins the current set) */
    double games[MODEL_TENNIS_MAX_GAMES][MODEL_TENNIS_MAX_GAMES]; /* final games totals */
} model_tennis_result;

/* O'Malley's hold probability for a service game from 0-0. */
double model_tennis_hold(double p);
/* P(server-at-start A wins a tie-break to 7) from 0-0 given pa, pb. */
double model_tennis_tiebreak(double pa, double pb);
/* Barnett-Clarke: P(i wins a point on serve against j) from serve/return point shares. */
double model_tennis_bc_serve(double tour_serve,
                             double i_serve,
                             double avg_serve,
                             double j_return,
                             double avg_return);
int model_tennis_price(const model_tennis_state* st, model_tennis_result* r);
/* P(total games over line), P(A covers games handicap line) from a result; NaN for a NULL
 * result or a NaN line. Use half lines: whole lines would push, and pushes are not split out. */
double model_tennis_total_over(const model_tennis_result* r, double line);
double model_tennis_handicap_a(const model_tennis_result* r, double line);

/* ---------------------------------------------------------------- basketball */

typedef struct
{
    double margin_mean; /* expected home margin over the whole game */
    double margin_sd;   /* default 12 */
    double total_mean;  /* expected total points */
    double total_sd;
    /* live: 0 <= t < 1 fraction played; current lead and points */
    double t;
    int lead;   /* home minus away */
    int points; /* total points so far */
} model_bb_state;

typedef struct
{
    double home_win;
    double mean_margin, sd_margin; /* of the final margin */
    double mean_total, sd_total;
} model_bb_result;

int model_bb_price(const model_bb_state* st, model_bb_result* r);
/* Home covers spread s (home wins by more than s): P(win), P(push) for integer lines.
 * NaN outputs for a NULL result or a non-finite line. */
void model_bb_spread(const model_bb_result* r, double s, double* win, double* push);
void model_bb_total(const model_bb_result* r, double line, double* over, double* push);

/* ---------------------------------------------------------------- market blend (blend.c) */

typedef enum {
    MODEL_BLEND_LOG = 0,    /* logarithmic pooling: b_i ~ p_i^(1-w) q_i^w */
    MODEL_BLEND_LINEAR = 1, /* b_i = (1-w) p_i + w q_i */
} model_blend_space;

#define MODEL_BLEND_GRID 100 /* weights tried by model_blend_fit: 0, 0.01, ..., 1 */

const char* model_blend_space_name(model_blend_space s);
/* The fair probabilities of a market snapshot: odds holds nbooks rows of n decimal odds
 * (row-major); each row with every price finite and above 1 is de-margined with method m and
 * the rows are averaged in order; other rows are skipped. *used (may be NULL) counts the rows
 * used. MODEL_ERANGE when no row is usable, MODEL_EINVAL on bad arguments. */
int model_market_fair(const double* odds,
                      int nbooks,
                      int n,
                      model_margin_method m,
                      double* q,
                      int* used);
/* Blends the model's p with the market's q (both n probabilities summing to 1) with market
 * weight w in [0, 1]; q NULL: out = p (no market data: the model alone). */
int model_blend(const double* p,
                const double* q,
                int n,
                double w,
                model_blend_space s,
                double* out);
/* The market weight minimising the mean RPS of the blend over count past samples (p and q
 * hold count rows of n; k the observed outcomes), by grid search (ties: the smaller weight).
 * The sum runs in the order given. *rps (may be NULL) receives that mean RPS. */
int model_blend_fit(const double* p,
                    const double* q,
                    const int* k,
                    size_t count,
                    int n,
                    model_blend_space s,
                    double* w,
                    double* rps);

/* The snapshot with a preferred book: row pref alone (de-margined with m) when every price of
 * it is usable, otherwise the mean of all usable rows as model_market_fair. pref < 0 or
 * >= nbooks: no preference. *used (may be NULL): rows used (1 when the preferred row was). */
int model_market_fair_pref(const double* odds,
                           int nbooks,
                           int n,
                           int pref,
                           model_margin_method m,
                           double* q,
                           int* used);
/* Walk-forward weight: model_blend_fit over only the samples j with
 * before - window <= season[j] < before (window <= 0: every season before `before`), so a
 * sample of season `before` or later can never move the weight. The per-sample RPS is summed
 * in 2^-40 fixed point (integer sums): the weight and *rps do not depend on the samples'
 * order. *used (may be NULL) receives the number of samples fitted on; none: MODEL_ERANGE. */
int model_blend_fit_window(const double* p,
                           const double* q,
                           const int* k,
                           const int* season,
                           size_t count,
                           int n,
                           model_blend_space s,
                           int before,
                           int window,
                           double* w,
                           size_t* used,
                           double* rps);

/* Fitted market weights for the pre-match football 1X2 blend, one per league (football-data
 * Div codes and the competition names the feeds use), produced by
 *   parlay-model eval ... --market --print-weights   (models/README.md "Market blend").
 * model_blend_weight_fb(competition) returns the league's weight, or the pooled default for
 * an unknown or NULL competition. */
typedef struct
{
    const char* div;   /* football-data Div code: E0, E1, F1 */
    const char* names; /* competition names mapped to it, '|'-separated */
    double weight;
} model_blend_weight_row;
extern const model_blend_weight_row model_blend_weights_fb[];
extern const int model_blend_weights_fb_count;
extern const double model_blend_weight_fb_default;
double model_blend_weight_fb(const char* competition);

/* ---------------------------------------------------------------- metrics */

/* Ranked probability score for ordered outcomes p[0..n), observed index k. */
double model_rps(const double* p, int n, int k);
/* -log p[k], floored at 1e-15 */
double model_logloss(const double* p, int n, int k);

#endif
