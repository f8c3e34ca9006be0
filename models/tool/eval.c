/*
 * eval.c -- walk-forward evaluation of the football model against bookmakers.
 *
 * Teams are split into connected groups (teams linked by having played each other: a
 * league and the divisions it exchanges teams with); each group is fitted on its own. The
 * matches of a group are visited in date order. Before each test match day, if the last fit
 * is refit_days or more old, the model is refitted on the group's games strictly before that
 * day (warm-started from the previous fit). Then every test match of the day is scored:
 *   - the model: Dixon-Coles grid from the fitted rates -> 1X2;
 *   - a naive baseline: the group's past home/draw/away frequencies (Laplace-smoothed);
 *   - every bookmaker column present, de-margined with each of the four methods.
 * Scores are RPS and log loss, per (division, season), per division and overall; for each
 * bookmaker the model is also scored on exactly the games that bookmaker priced.
 */
#include "models/tool/fd.h"

#include <stdlib.h>
#include <string.h>

void fd_eval_opts_default(fd_eval_opts* o)
{
    model_fb_fit_opts_default(&o->fit);
    o->refit_days = 1;
    o->first_season = 0;
    o->last_season = 9999;
    o->test_divs = NULL;
}

/* Columns of the best price over many books (BbMx, Max) are not a price anyone offers. */
static int is_aggregate(const char* book)
{
    return strstr(book, "Mx") != NULL || strncmp(book, "Max", 3) == 0;
}

static int uf_find(int* p, int x)
{
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

static int div_selected(const char* list, const char* div)
{
    if (!list || !*list)
        return 1;
    size_t n = strlen(div);
    for (const char* p = list; *p;) {
        const char* e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == n && strncmp(p, div, n) == 0)
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

static fd_row* row_get(fd_eval_result* r, const char* div, int season)
{
    for (int i = 0; i < r->nrows; i++)
        if (r->row[i].season == season && strcmp(r->row[i].div, div) == 0)
            return &r->row[i];
    if (r->nrows == FD_MAX_KEYS)
        return NULL;
    fd_row* w = &r->row[r->nrows++];
    memset(w, 0, sizeof *w);
    snprintf(w->div, sizeof w->div, "%s", div);
    w->season = season;
    return w;
}

static void acc_add(fd_acc* a, const double* p, int k)
{
    a->rps += model_rps(p, 3, k);
    a->ll += model_logloss(p, 3, k);
    a->n++;
}

/* qsort_r (glibc, _GNU_SOURCE) comparator: match indices by day, then input order. */
static int idx_cmp(const void* a, const void* b, void* ctx)
{
    const fd_data* d = ctx;
    const fd_match *x = &d->m[*(const size_t*)a], *y = &d->m[*(const size_t*)b];
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void score_match(const fd_data* d,
                        const fd_match* m,
                        const double* pm,
                        const double* pb,
                        fd_row** rows,
                        int nrows)
{
    int k = m->hg > m->ag ? 0 : m->hg == m->ag ? 1 : 2;
    for (int r = 0; r < nrows; r++) {
        acc_add(&rows[r]->model, pm, k);
        acc_add(&rows[r]->base, pb, k);
        for (int j = 0; j < 3; j++)
            rows[r]->pred[j] += pm[j];
        rows[r]->seen[k] += 1.0;
    }
    for (int b = 0; b < d->nbooks; b++) {
        if (!(m->odds[b][0] > 1 && m->odds[b][1] > 1 && m->odds[b][2] > 1))
            continue;
        for (int r = 0; r < nrows; r++)
            acc_add(&rows[r]->model_same[b], pm, k);
        for (int meth = 0; meth < MODEL_MARGIN__COUNT; meth++) {
            double p[3];
            if (model_margin_remove(m->odds[b], 3, meth, p, NULL)) {
                for (int r = 0; r < nrows; r++)
                    rows[r]->book_fail[b][meth]++;
                continue;
            }
            for (int r = 0; r < nrows; r++)
                acc_add(&rows[r]->book[b][meth], p, k);
        }
    }
}

/* The market's view of a past game: the average of every (non-max) bookmaker's 1X2
 * probabilities, de-margined multiplicatively, turned into the Poisson rates that give them.
 * Only ever called for games before the day being priced. Leaves 0 (unknown) on failure. */
static void odds_implied_rates(const fd_data* d, const fd_match* m, double* hx, double* ax)
{
    double p[3] = {0, 0, 0};
    int n = 0;
    for (int b = 0; b < d->nbooks; b++) {
        double q[3];
        if (is_aggregate(d->books[b]) ||
            model_margin_remove(m->odds[b], 3, MODEL_MARGIN_MULTIPLICATIVE, q, NULL))
            continue;
        for (int k = 0; k < 3; k++)
            p[k] += q[k];
        n++;
    }
    double l, u;
    if (n && model_fb_implied_rates(p[0] / n, p[2] / n, 0.0, &l, &u) == MODEL_OK) {
        *hx = l;
        *ax = u;
    }
}

int fd_eval(const fd_data* d, const fd_eval_opts* o, fd_eval_result* r)
{
    memset(r, 0, sizeof *r);
    if (!d->n)
        return MODEL_EINVAL;
    size_t* idx = malloc(sizeof *idx * d->n);
    int *parent = malloc(sizeof *parent * (d->nteams + 1)),
        *local = malloc(sizeof *local * (d->nteams + 1));
    model_fb_game* games = malloc(sizeof *games * d->n);
    model_fb_params *prm = malloc(sizeof *prm), *warm = malloc(sizeof *warm);
    int rc = MODEL_OK;
    if (!idx || !parent || !local || !games || !prm || !warm) {
        rc = MODEL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < d->n; i++)
        idx[i] = i;
    qsort_r(idx, d->n, sizeof *idx, idx_cmp, (void*)d);
    for (int t = 0; t < d->nteams; t++)
        parent[t] = t;
    for (size_t i = 0; i < d->n; i++) {
        int a = uf_find(parent, d->m[i].home), b = uf_find(parent, d->m[i].away);
        if (a != b)
            parent[a < b ? b : a] = a < b ? a : b;
    }
    for (int root = 0; root < d->nteams; root++) {
        if (uf_find(parent, root) != root)
            continue;
        int nt = 0;
        for (int t = 0; t < d->nteams; t++)
            local[t] = (uf_find(parent, t) == root) ? nt++ : -1;
        if (nt > MODEL_FB_MAX_TEAMS) {
            rc = MODEL_ETOOBIG;
            goto out;
        }
        size_t ng = 0;
        long cnt[3] = {0, 0, 0};
        int have_fit = 0, fit_day = 0;
        for (size_t ii = 0; ii < d->n;) {
            /* one match day of this group: [ii, jj) over idx, filtered by group */
            int day = d->m[idx[ii]].day;
            size_t jj = ii;
            while (jj < d->n && d->m[idx[jj]].day == day)
                jj++;
            for (size_t q = ii; q < jj; q++) {
                const fd_match* m = &d->m[idx[q]];
                if (local[m->home] < 0 || m->season < o->first_season ||
                    m->season > o->last_season || !div_selected(o->test_divs, m->div))
                    continue;
                if (!have_fit || day - fit_day >= o->refit_days) {
                    rc = model_fb_fit(games, ng, day, &o->fit, have_fit ? warm : NULL, prm);
                    if (rc)
                        goto out;
                    memcpy(warm, prm, sizeof *prm);
                    have_fit = 1;
                    fit_day = day;
                    r->fits++;
                }
                double lam, mu, pm[3], pb[3];
                model_fb_grid g;
                model_fb_markets mk;
                if ((rc = model_fb_rates(prm, local[m->home], local[m->away], 0, &lam, &mu)) ||
                    (rc = model_fb_grid_dc(lam, mu, prm->rho, &g)) ||
                    (rc = model_fb_markets_compute(&g, &mk)))
                    goto out;
                pm[0] = mk.home;
                pm[1] = mk.draw;
                pm[2] = mk.away;
                long tot = cnt[0] + cnt[1] + cnt[2];
                for (int k = 0; k < 3; k++)
                    pb[k] = (cnt[k] + 1.0) / (tot + 3.0);
                fd_row* rows[3] = {row_get(r, m->div, m->season), row_get(r, m->div, -1),
                                   row_get(r, "ALL", -1)};
                if (!rows[0] || !rows[1] || !rows[2]) {
                    rc = MODEL_ETOOBIG;
                    goto out;
                }
                score_match(d, m, pm, pb, rows, 3);
                r->games_tested++;
            }
            /* the day's games join the history only after the whole day is priced */
            for (size_t q = ii; q < jj; q++) {
                const fd_match* m = &d->m[idx[q]];
                if (local[m->home] < 0)
                    continue;
                model_fb_game* g = &games[ng++];
                g->day = m->day;
                g->home = local[m->home];
                g->away = local[m->away];
                g->home_goals = m->hg;
                g->away_goals = m->ag;
                g->neutral = 0;
                g->home_shots = m->hs;
                g->away_shots = m->as;
                g->home_sot = m->hst;
                g->away_sot = m->ast;
                g->home_xg = g->away_xg = 0.0;
                if (o->fit.xg_weight > 0)
                    odds_implied_rates(d, m, &g->home_xg, &g->away_xg);
                cnt[m->hg > m->ag ? 0 : m->hg == m->ag ? 1 : 2]++;
            }
            ii = jj;
        }
    }
out:
    free(idx);
    free(parent);
    free(local);
    free(games);
    free(prm);
    free(warm);
    return rc;
}

static int row_cmp(const void* a, const void* b)
{
    const fd_row *x = a, *y = b;
    int ax = strcmp(x->div, "ALL") == 0, ay = strcmp(y->div, "ALL") == 0;
    if (ax != ay)
        return ax - ay;
    int c = strcmp(x->div, y->div);
    if (c)
        return c;
    int sx = x->season < 0 ? 99999 : x->season, sy = y->season < 0 ? 99999 : y->season;
    return (sx > sy) - (sx < sy);
}

static double mean(double s, long n)
{
    return n ? s / n : 0.0;
}

void fd_eval_print(FILE* f, const fd_data* d, const fd_eval_result* res)
{
    fd_row* rows = malloc(sizeof *rows * (res->nrows ? res->nrows : 1));
    if (!rows)
        return;
    memcpy(rows, res->row, sizeof *rows * res->nrows);
    qsort(rows, res->nrows, sizeof *rows, row_cmp);
    for (int i = 0; i < res->nrows; i++) {
        const fd_row* w = &rows[i];
        char label[32];
        if (w->season >= 0)
            snprintf(label, sizeof label, "%s %d-%02d", w->div, w->season, (w->season + 1) % 100);
        else
            snprintf(label, sizeof label, "%s all seasons", w->div);
        fprintf(f, "\n== %s: %ld games\n", label, w->model.n);
        fprintf(f, "  %-22s RPS %.4f  logloss %.4f\n", "model (Dixon-Coles)",
                mean(w->model.rps, w->model.n), mean(w->model.ll, w->model.n));
        fprintf(f, "  %-22s RPS %.4f  logloss %.4f\n", "baseline (past freq.)",
                mean(w->base.rps, w->base.n), mean(w->base.ll, w->base.n));
        if (w->model.n)
            fprintf(f, "  %-22s model H/D/A %.3f/%.3f/%.3f, observed %.3f/%.3f/%.3f\n",
                    "calibration", w->pred[0] / w->model.n, w->pred[1] / w->model.n,
                    w->pred[2] / w->model.n, w->seen[0] / w->model.n, w->seen[1] / w->model.n,
                    w->seen[2] / w->model.n);
        fprintf(f, "  %-8s %5s  %-15s %-15s %-15s %-15s  %s\n", "book", "games", "multiplicative",
                "additive", "power", "shin", "model same games (RPS gap vs best)");
        int best_b = -1, best_m = 0;
        double best = 1e9;
        for (int b = 0; b < d->nbooks; b++) {
            if (!w->model_same[b].n)
                continue;
            fprintf(f, "  %-8s %5ld ", d->books[b], w->model_same[b].n);
            double bb = 1e9;
            for (int m = 0; m < MODEL_MARGIN__COUNT; m++) {
                const fd_acc* a = &w->book[b][m];
                if (a->n == w->model_same[b].n) {
                    fprintf(f, " %.4f/%.4f ", mean(a->rps, a->n), mean(a->ll, a->n));
                    double v = mean(a->rps, a->n);
                    if (v < bb)
                        bb = v;
                    if (v < best && w->model_same[b].n * 10 >= w->model.n * 9 &&
                        !is_aggregate(d->books[b])) {
                        best = v;
                        best_b = b;
                        best_m = m;
                    }
                } else {
                    fprintf(f, " %-15s", a->n ? "(some refused)" : "n/a");
                }
            }
            double ms = mean(w->model_same[b].rps, w->model_same[b].n);
            fprintf(f, "  %.4f (%+.2f%%)\n", ms, bb < 1e9 ? 100.0 * (ms - bb) / bb : 0.0);
        }
        if (best_b >= 0) {
            double ms = mean(w->model_same[best_b].rps, w->model_same[best_b].n);
            fprintf(f,
                    "  best bookmaker column (>= 90%% of games, not a max-odds column): %s/%s RPS "
                    "%.4f; model %.4f on the same "
                    "games: %+.2f%%\n",
                    d->books[best_b], model_margin_name(best_m), best, ms,
                    100.0 * (ms - best) / best);
        }
    }
    free(rows);
}
