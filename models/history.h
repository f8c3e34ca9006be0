/*
 * history.h -- past results: football-data.co.uk CSV text parsed into matches.
 *
 * Part of the models library so that the node's pricing path (ratings fit on the history) and
 * the evaluation tool read history through the same parser. It reads from memory buffers (the
 * caller does the file I/O) and allocates the match table; no globals.
 */
#ifndef PARLAY_MODELS_HISTORY_H
#define PARLAY_MODELS_HISTORY_H

#include <stddef.h>
#include <stdio.h>

#include "models/models.h"

#define FD_MAX_BOOKS 48
#define FD_NAME 48

typedef struct
{
    char div[8];
    int day;        /* days since 1970-01-01 */
    int season;     /* year the season starts (July to June) */
    int home, away; /* indices into fd_data.teams */
    int hg, ag;
    int hs, as, hst, ast;         /* -1 when missing */
    double odds[FD_MAX_BOOKS][3]; /* H, D, A; 0 when missing */
    size_t order;                 /* position in the input, for stable sorting */
} fd_match;

typedef struct
{
    int nbooks;
    char books[FD_MAX_BOOKS][16]; /* column prefix: B365, PS, BbAv, ... */
    int nteams;
    char (*teams)[FD_NAME];
    fd_match* m;
    size_t n, cap;
    size_t skipped; /* rows without teams, date or goals */
} fd_data;

/* Appends the rows of one CSV file (whole text in buf). Returns 0 or a MODEL_E* code. */
int fd_parse(fd_data* d, const char* buf, size_t len);
void fd_free(fd_data* d);
/* Days since 1970-01-01 of a dd/mm/yy or dd/mm/yyyy date; -1 if malformed or before 1970. */
int fd_parse_date(const char* s, int* season);

#endif
