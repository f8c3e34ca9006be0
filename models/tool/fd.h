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
} fd_row;

typedef struct
{
    model_fb_fit_opts fit;
    int refit_days; /* 1: refit before every match day; 7: weekly */
    int first_season, last_season;
    const char* test_divs; /* comma-separated Div codes to test on; NULL or "" = all */
} fd_eval_opts;

typedef struct
{
    int nrows;
    fd_row row[FD_MAX_KEYS];
    long fits, games_tested;
    double fit_seconds; /* filled in by the caller if it times the run */
} fd_eval_result;

void fd_eval_opts_default(fd_eval_opts* o);
/* Walk-forward: for every test match day, refit (at most refit_days old) on games strictly
 * before that day, in the match's connected group of teams, and score the model, the naive
 * baseline and every bookmaker. result is large: allocate it. */
int fd_eval(const fd_data* d, const fd_eval_opts* o, fd_eval_result* r);
void fd_eval_print(FILE* f, const fd_data* d, const fd_eval_result* r);

#endif
