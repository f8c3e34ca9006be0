/*
 * fd.h -- the walk-forward evaluation of parlay-model on football-data.co.uk history
 * (models/history.h parses the CSV text). Tool code, not part of the pricing library.
 */
#ifndef PARLAY_MODELS_FD_H
#define PARLAY_MODELS_FD_H

#include <stdio.h>

#include "models/history.h"

typedef struct
{
    double rps, ll;
    long n;
} fd_acc;

#define FD_MAX_KEYS 128

typedef struct
{
    char div[8];
    int season; /* -1: all seasons of this division; the last key of all is everything */
    fd_acc model, base;
    double pred[3], seen[3]; /* sums of the model's H/D/A probabilities and of outcomes */
    fd_acc book[FD_MAX_BOOKS][MODEL_MARGIN__COUNT];
    fd_acc model_same[FD_MAX_BOOKS]; /* the model on the games where the book has odds */
    long book_fail[FD_MAX_BOOKS][MODEL_MARGIN__COUNT];
    /* market mode (fd_eval_opts.market): */
    fd_acc mkt_model, mkt, blend;      /* on the games with a market snapshot */
    fd_acc blend_all;                  /* every game: the blend, or the model alone */
    fd_acc blend_same[FD_MAX_BOOKS];   /* the blend on the games the book priced */
    long mkt_from_avg, mkt_from_books; /* where the snapshot came from: the preferred column
                                          (PS or BbAv/Avg, per fd_eval_opts.market_snap) or
                                          the mean of the single books */
    double weight;                     /* market weight used (season rows) */
    long weight_n;                     /* earlier-season games it was fitted on (0: default) */
    int weight_first, weight_last;     /* seasons it was fitted on */
} fd_row;

/* One scored game kept for the market mode's second pass. */
typedef struct
{
    size_t match;
    double pm[3], q[3];
    int has_q, from_avg, k;
} fd_blend_rec;

#define FD_BLEND_DEFAULT_W 0.5 /* market weight when no earlier season has market data */
#define FD_BLEND_MIN_FIT 200   /* fewer earlier games in the league: fit on all leagues */

/* Where the game's market snapshot comes from (market mode). */
typedef enum {
    FD_SNAP_SHARP = 0, /* Pinnacle's pre-match column (PS) alone when the game has it, else the
                          mean of the single books' fair probabilities (default) */
    FD_SNAP_MEAN = 1,  /* the mean of the single books' fair probabilities (what a node sees) */
    FD_SNAP_AVG = 2,   /* the average column (BbAv/Avg), else the mean of the single books */
} fd_market_snap;

typedef struct
{
    model_fb_fit_opts fit;
    int refit_days; /* 1: refit before every match day; 7: weekly */
    int first_season, last_season;
    const char* test_divs; /* comma-separated Div codes to test on; NULL or "" = all */
    int report_from;       /* aggregate rows ("all seasons") only from this season on */
    /* market mode: blend the model with the game's own pre-match odds */
    int market;
    const char* market_col; /* a single pre-match book column (e.g. "B365"); NULL: the average
                               column (BbAv/Avg) when present, else the mean of the books */
    model_margin_method market_method; /* shin or power */
    model_blend_space blend_space;
    fd_market_snap market_snap;
    int blend_pooled; /* 1: one weight fitted on every league's earlier games (default);
                         0: per league (all leagues when it has < FD_BLEND_MIN_FIT games) */
    int blend_window; /* seasons before the tested one to fit on (1 = the last one, default);
                         0: every earlier season */
} fd_eval_opts;

typedef struct
{
    int nrows;
    fd_row row[FD_MAX_KEYS];
    long fits, games_tested;
    double fit_seconds; /* filled in by the caller if it times the run */
    fd_blend_rec* recs; /* market mode: every tested game (fd_eval_free releases) */
    size_t nrecs, caprecs;
    int market, market_col, market_avg; /* mode, the chosen column, the average column (-1) */
    model_margin_method market_method;
    model_blend_space blend_space;
    fd_market_snap market_snap;
    int blend_pooled, blend_window;
} fd_eval_result;

void fd_eval_opts_default(fd_eval_opts* o);
/* Walk-forward: for every test match day, refit (at most refit_days old) on games strictly
 * before that day, in the match's connected group of teams, and score the model, the naive
 * baseline and every bookmaker. result is large: allocate it. */
int fd_eval(const fd_data* d, const fd_eval_opts* o, fd_eval_result* r);
void fd_eval_print(FILE* f, const fd_data* d, const fd_eval_result* r);
void fd_eval_free(fd_eval_result* r);
/* Market mode: the weights for the season after the last one in the data, with the run's
 * snapshot, scope and window, per tested division and pooled, as the C table of
 * models/blend.c (model_blend_weights_fb) and one line per division fitted per league. */
int fd_eval_print_weights(FILE* f, const fd_data* d, const fd_eval_result* r);
const char* fd_market_snap_name(fd_market_snap s);

/* 1 if a football-data column name or column prefix holds closing odds (recorded at
 * kick-off): a prefix ending in C before the outcome letters (PSCH, B365CH, AvgCH, MaxCH),
 * before an over/under line (AvgC>2.5, PC<2.5) or an Asian handicap side (B365CAHH). VC
 * (VC Bet, VCH/VCD/VCA) is a pre-match book; its closing column is VCCH. When why is not
 * NULL it receives a message for the user. */
int fd_column_is_closing(const char* name, char* why, size_t whylen);
/* 1 for columns of the best price over many books (BbMx, Max): no one offers that price. */
int fd_column_is_aggregate(const char* book);

#endif
