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
    o->report_from = 0;
    o->market = 0;
    o->market_col = NULL;
    o->market_method = MODEL_MARGIN_SHIN;
    o->blend_space = MODEL_BLEND_LOG;
    o->market_snap = FD_SNAP_SHARP;
    o->blend_pooled = 1;
    o->blend_window = 1;
}

const char* fd_market_snap_name(fd_market_snap s)
{
    return s == FD_SNAP_SHARP  ? "PS else mean of books"
           : s == FD_SNAP_MEAN ? "mean of books"
           : s == FD_SNAP_AVG  ? "average column else mean of books"
                               : "?";
}

/* Columns of the best price over many books (BbMx, Max) are not a price anyone offers. */
int fd_column_is_aggregate(const char* book)
{
    return strstr(book, "Mx") != NULL || strncmp(book, "Max", 3) == 0;
}
#define is_aggregate fd_column_is_aggregate

int fd_column_is_closing(const char* name, char* why, size_t whylen)
{
    if (!name || !*name)
        return 0;
    size_t n = strlen(name), pre;
    const char* ou = strpbrk(name, "<>");
    if (ou) /* over/under: AvgC>2.5, PC<2.5 (pre-match: BbAv>2.5, P>2.5) */
        pre = (size_t)(ou - name);
    else if (n >= 3 && (strcmp(name + n - 3, "AHH") == 0 || strcmp(name + n - 3, "AHA") == 0))
        pre = n - 3; /* Asian handicap sides: B365CAHH */
    else if (n >= 2 && strcmp(name + n - 2, "AH") == 0)
        pre = n - 2; /* the handicap line: B365CAH */
    else if (name[n - 1] == 'H' || name[n - 1] == 'D' || name[n - 1] == 'A')
        pre = n - 1; /* 1X2: PSCH, B365CD, AvgCA */
    else
        pre = n; /* a bare prefix: PSC, B365C */
    if (pre == 0 || name[pre - 1] != 'C')
        return 0;
    if (pre == 2 && strncmp(name, "VC", 2) == 0)
        return 0; /* VC Bet's pre-match odds (VCH); its closing odds are VCCH */
    if (why)
        snprintf(why, whylen,
                 "%s is a closing-odds column (prefix %.*s ends in C: odds recorded at kick-off); "
                 "the market mode uses pre-match columns only",
                 name, (int)pre, name);
    return 1;
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

/* The game's own pre-match market: the chosen column; else, by o->market_snap, Pinnacle's
 * column (PS) or the average column (BbAv/Avg) when the game has it, otherwise the mean of the
 * single books' fair probabilities (closing, max-odds and average columns never in the mean).
 * *from_avg: 1 when the preferred column gave the snapshot. */
static int market_snapshot(const fd_data* d,
                           const fd_match* m,
                           const fd_eval_opts* o,
                           int col,
                           int avg,
                           double* q,
                           int* from_avg)
{
    *from_avg = 0;
    if (col >= 0)
        return model_market_fair(m->odds[col], 1, 3, o->market_method, q, NULL);
    if (o->market_snap == FD_SNAP_AVG && avg >= 0 &&
        model_market_fair(m->odds[avg], 1, 3, o->market_method, q, NULL) == MODEL_OK) {
        *from_avg = 1;
        return MODEL_OK;
    }
    double buf[FD_MAX_BOOKS * 3];
    int nb = 0, pref = -1;
    for (int b = 0; b < d->nbooks; b++) {
        if (b == avg || strcmp(d->books[b], "BbAv") == 0 || strcmp(d->books[b], "Avg") == 0 ||
            is_aggregate(d->books[b]) || fd_column_is_closing(d->books[b], NULL, 0))
            continue;
        if (o->market_snap == FD_SNAP_SHARP && strcmp(d->books[b], "PS") == 0)
            pref = nb;
        memcpy(buf + 3 * nb++, m->odds[b], sizeof(double) * 3);
    }
    if (!nb)
        return MODEL_ERANGE;
    int used = 0, rc = model_market_fair_pref(buf, nb, 3, pref, o->market_method, q, &used);
    /* the preferred row alone gives used == 1; so does a single usable book: tell them apart */
    if (rc == MODEL_OK && pref >= 0 && used == 1) {
        double t[3];
        *from_avg = model_market_fair(buf + 3 * pref, 1, 3, o->market_method, t, NULL) == MODEL_OK;
    }
    return rc;
}

static int rec_add(fd_eval_result* r, const fd_blend_rec* x)
{
    if (r->nrecs == r->caprecs) {
        size_t c = r->caprecs ? 2 * r->caprecs : 1024;
        fd_blend_rec* p = realloc(r->recs, sizeof *p * c);
        if (!p)
            return MODEL_ENOMEM;
        r->recs = p;
        r->caprecs = c;
    }
    r->recs[r->nrecs++] = *x;
    return MODEL_OK;
}

void fd_eval_free(fd_eval_result* r)
{
    free(r->recs);
    r->recs = NULL;
    r->nrecs = r->caprecs = 0;
}

/* The market weight for season `before` fitted on the recorded games with a snapshot of the
 * blend_window seasons before it (every earlier season when 0), of division div only (NULL:
 * every division). Only games of earlier seasons are ever passed to the fit, and
 * model_blend_fit_window itself drops any sample of season `before` or later. *n = 0 and
 * the default weight when there is no such game. */
static int fit_weight(const fd_data* d,
                      const fd_eval_result* r,
                      const char* div,
                      int before,
                      double* w,
                      long* nfit,
                      int* first,
                      int* last)
{
    size_t n = r->nrecs, c = 0;
    double *p = malloc(sizeof *p * 3 * (n + 1)), *q = malloc(sizeof *q * 3 * (n + 1));
    int *k = malloc(sizeof *k * (n + 1)), *se = malloc(sizeof *se * (n + 1));
    int rc = MODEL_OK, lo = 99999, hi = -1;
    *w = FD_BLEND_DEFAULT_W;
    *nfit = 0;
    if (!p || !q || !k || !se) {
        rc = MODEL_ENOMEM;
        goto out;
    }
    for (size_t j = 0; j < n; j++) {
        const fd_blend_rec* x = &r->recs[j];
        const fd_match* m = &d->m[x->match];
        if (!x->has_q || m->season >= before ||
            (r->blend_window > 0 && m->season < before - r->blend_window) ||
            (div && strcmp(m->div, div)))
            continue;
        memcpy(p + 3 * c, x->pm, sizeof x->pm);
        memcpy(q + 3 * c, x->q, sizeof x->q);
        k[c] = x->k;
        se[c++] = m->season;
        lo = m->season < lo ? m->season : lo;
        hi = m->season > hi ? m->season : hi;
    }
    if (c) {
        size_t used = 0;
        rc = model_blend_fit_window(p, q, k, se, c, 3, r->blend_space, before, r->blend_window, w,
                                    &used, NULL);
        *nfit = (long)used;
        *first = lo;
        *last = hi;
    }
out:
    free(p);
    free(q);
    free(k);
    free(se);
    return rc;
}

/* The weight of each (league, season) row is fitted on earlier seasons only (fit_weight):
 * pooled over every league, or the league's own (all leagues' when the league has fewer than
 * FD_BLEND_MIN_FIT such games); then every recorded game is scored with its season's weight. */
static int blend_pass(const fd_data* d, const fd_eval_opts* o, fd_eval_result* r)
{
    size_t n = r->nrecs;
    int rc = MODEL_OK;
    for (int i = 0; i < r->nrows; i++) {
        fd_row* w = &r->row[i];
        if (w->season < 0)
            continue;
        if (!o->blend_pooled && (rc = fit_weight(d, r, w->div, w->season, &w->weight, &w->weight_n,
                                                 &w->weight_first, &w->weight_last)))
            return rc;
        if ((o->blend_pooled || w->weight_n < FD_BLEND_MIN_FIT) &&
            (rc = fit_weight(d, r, NULL, w->season, &w->weight, &w->weight_n, &w->weight_first,
                             &w->weight_last)))
            return rc;
    }
    for (size_t j = 0; j < n; j++) {
        const fd_blend_rec* x = &r->recs[j];
        const fd_match* m = &d->m[x->match];
        fd_row* rows[3];
        int nr = 0;
        for (int i = 0; i < r->nrows; i++) {
            fd_row* w = &r->row[i];
            if ((w->season == m->season && strcmp(w->div, m->div) == 0) ||
                (m->season >= o->report_from && w->season < 0 &&
                 (strcmp(w->div, m->div) == 0 || strcmp(w->div, "ALL") == 0)))
                rows[nr++] = w;
        }
        double wt = FD_BLEND_DEFAULT_W, b[3];
        for (int i = 0; i < nr; i++)
            if (rows[i]->season >= 0)
                wt = rows[i]->weight;
        if ((rc = model_blend(x->pm, x->has_q ? x->q : NULL, 3, wt, o->blend_space, b)))
            return rc;
        for (int i = 0; i < nr; i++) {
            acc_add(&rows[i]->blend_all, b, x->k);
            if (!x->has_q)
                continue;
            acc_add(&rows[i]->mkt_model, x->pm, x->k);
            acc_add(&rows[i]->mkt, x->q, x->k);
            acc_add(&rows[i]->blend, b, x->k);
            if (x->from_avg)
                rows[i]->mkt_from_avg++;
            else
                rows[i]->mkt_from_books++;
            for (int bk = 0; bk < d->nbooks; bk++)
                if (m->odds[bk][0] > 1 && m->odds[bk][1] > 1 && m->odds[bk][2] > 1)
                    acc_add(&rows[i]->blend_same[bk], b, x->k);
        }
    }
    return MODEL_OK;
}

int fd_eval(const fd_data* d, const fd_eval_opts* o, fd_eval_result* r)
{
    memset(r, 0, sizeof *r);
    if (!d->n)
        return MODEL_EINVAL;
    int mcol = -1, mavg = -1;
    if (o->market) {
        if (o->market_method != MODEL_MARGIN_SHIN && o->market_method != MODEL_MARGIN_POWER)
            return MODEL_EINVAL;
        if (o->market_col) {
            if (fd_column_is_closing(o->market_col, NULL, 0) || is_aggregate(o->market_col))
                return MODEL_EINVAL;
            for (int b = 0; b < d->nbooks; b++)
                if (strcmp(d->books[b], o->market_col) == 0)
                    mcol = b;
            if (mcol < 0)
                return MODEL_EINVAL;
        } else {
            for (int b = 0; b < d->nbooks; b++)
                if (strcmp(d->books[b], "BbAv") == 0 || strcmp(d->books[b], "Avg") == 0)
                    mavg = b;
        }
    }
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
                score_match(d, m, pm, pb, rows, m->season >= o->report_from ? 3 : 1);
                r->games_tested++;
                if (o->market) {
                    fd_blend_rec x;
                    memset(&x, 0, sizeof x);
                    x.match = idx[q];
                    memcpy(x.pm, pm, sizeof pm);
                    x.k = m->hg > m->ag ? 0 : m->hg == m->ag ? 1 : 2;
                    x.has_q = market_snapshot(d, m, o, mcol, mavg, x.q, &x.from_avg) == MODEL_OK;
                    if ((rc = rec_add(r, &x)))
                        goto out;
                }
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
    if (o->market) {
        r->market = 1;
        r->market_col = mcol;
        r->market_avg = mavg;
        r->market_method = o->market_method;
        r->blend_space = o->blend_space;
        r->market_snap = o->market_snap;
        r->blend_pooled = o->blend_pooled;
        r->blend_window = o->blend_window;
        rc = blend_pass(d, o, r);
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

/* The market mode's lines of one row: model, market and blend on the games with a market
 * snapshot, and the blend against the best column and Bet365 on the games each priced. */
static void print_market(FILE* f,
                         const fd_data* d,
                         const fd_eval_result* res,
                         const fd_row* w,
                         int best_b,
                         int best_m,
                         double best)
{
    char src[64];
    if (res->market_col >= 0)
        snprintf(src, sizeof src, "column %s", d->books[res->market_col]);
    else
        snprintf(src, sizeof src, "%s col. %ld, mean of books %ld",
                 res->market_snap == FD_SNAP_SHARP ? "PS"
                 : res->market_avg >= 0            ? d->books[res->market_avg]
                                                   : "avg",
                 w->mkt_from_avg, w->mkt_from_books);
    fprintf(f, "  market mode: %ld of %ld games with a pre-match snapshot (%s), de-margined %s\n",
            w->mkt.n, w->model.n, src, model_margin_name(res->market_method));
    if (w->season >= 0) {
        if (w->weight_n)
            fprintf(f, "  %-22s %.2f (%s space), fitted on %ld games of seasons %d-%d (%s)\n",
                    "market weight", w->weight, model_blend_space_name(res->blend_space),
                    w->weight_n, w->weight_first, w->weight_last,
                    res->blend_pooled || w->weight_n >= 0
                        ? (res->blend_pooled ? "all leagues" : "league or all")
                        : "");
        else
            fprintf(f, "  %-22s %.2f (%s space), default: no earlier season with a market\n",
                    "market weight", w->weight, model_blend_space_name(res->blend_space));
    }
    fprintf(f, "  %-22s RPS %.4f  logloss %.4f\n", "model alone (same)",
            mean(w->mkt_model.rps, w->mkt_model.n), mean(w->mkt_model.ll, w->mkt_model.n));
    fprintf(f, "  %-22s RPS %.4f  logloss %.4f\n", "market alone", mean(w->mkt.rps, w->mkt.n),
            mean(w->mkt.ll, w->mkt.n));
    fprintf(f, "  %-22s RPS %.4f  logloss %.4f\n", "blend", mean(w->blend.rps, w->blend.n),
            mean(w->blend.ll, w->blend.n));
    fprintf(f, "  %-22s RPS %.4f  logloss %.4f\n", "blend, all games",
            mean(w->blend_all.rps, w->blend_all.n), mean(w->blend_all.ll, w->blend_all.n));
    if (best_b >= 0) {
        const fd_acc* a = &w->blend_same[best_b];
        double v = mean(a->rps, a->n);
        fprintf(f,
                "  blend vs best column %s/%s (RPS %.5f): blend %.5f on its games, %+.2f%% -> %s\n",
                d->books[best_b], model_margin_name(best_m), best, v, 100.0 * (v - best) / best,
                v <= best ? "no worse" : "WORSE");
    }
    for (int b = 0; b < d->nbooks; b++) {
        if (strcmp(d->books[b], "B365") || !w->model_same[b].n)
            continue;
        double bb = 1e9;
        int bm = 0;
        for (int m = 0; m < MODEL_MARGIN__COUNT; m++) {
            const fd_acc* a = &w->book[b][m];
            if (a->n == w->model_same[b].n && mean(a->rps, a->n) < bb) {
                bb = mean(a->rps, a->n);
                bm = m;
            }
        }
        const fd_acc* a = &w->blend_same[b];
        double v = mean(a->rps, a->n);
        if (bb < 1e9)
            fprintf(f, "  blend vs B365/%s (RPS %.5f): blend %.5f on its games, %+.2f%% -> %s\n",
                    model_margin_name(bm), bb, v, 100.0 * (v - bb) / bb,
                    v < bb ? "better" : "NOT better");
    }
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
                        !is_aggregate(d->books[b]) && !fd_column_is_closing(d->books[b], NULL, 0)) {
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
                    "  best bookmaker column (>= 90%% of games, not a max-odds or closing column): "
                    "%s/%s RPS "
                    "%.4f; model %.4f on the same "
                    "games: %+.2f%%\n",
                    d->books[best_b], model_margin_name(best_m), best, ms,
                    100.0 * (ms - best) / best);
        }
        if (res->market)
            print_market(f, d, res, w, best_b, best_m, best);
    }
    free(rows);
}

int fd_eval_print_weights(FILE* f, const fd_data* d, const fd_eval_result* r)
{
    if (!r->market)
        return MODEL_EINVAL;
    int last = -1;
    for (size_t j = 0; j < r->nrecs; j++)
        if (d->m[r->recs[j].match].season > last)
            last = d->m[r->recs[j].match].season;
    if (last < 0)
        return MODEL_ERANGE;
    int before = last + 1, rc, lo = 0, hi = 0;
    double wp, wl;
    long np, nl;
    if ((rc = fit_weight(d, r, NULL, before, &wp, &np, &lo, &hi)))
        return rc;
    fprintf(f,
            "\nmarket weights for seasons from %d-%02d (snapshot: %s, de-margined %s, %s space; "
            "fitted on %s, %s):\n",
            before, (before + 1) % 100, fd_market_snap_name(r->market_snap),
            model_margin_name(r->market_method), model_blend_space_name(r->blend_space),
            r->blend_pooled ? "all leagues pooled" : "each league (all when < 200 games)",
            r->blend_window > 0 ? "the last season(s) in the window" : "every season");
    fprintf(f, "  pooled: %.2f (%ld games, seasons %d-%d)\n", wp, np, lo, hi);
    /* the divisions that have recorded games, in first-seen order */
    char divs[16][8];
    int nd = 0;
    for (size_t j = 0; j < r->nrecs && nd < 16; j++) {
        const char* dv = d->m[r->recs[j].match].div;
        int seen = 0;
        for (int i = 0; i < nd; i++)
            seen |= strcmp(divs[i], dv) == 0;
        if (!seen)
            snprintf(divs[nd++], sizeof divs[0], "%s", dv);
    }
    for (int i = 0; i < nd; i++) {
        if ((rc = fit_weight(d, r, divs[i], before, &wl, &nl, &lo, &hi)))
            return rc;
        double use = r->blend_pooled || nl < FD_BLEND_MIN_FIT ? wp : wl;
        if (nl)
            fprintf(f, "  %-4s own league only: %.2f (%ld games, seasons %d-%d); table: %.2f\n",
                    divs[i], wl, nl, lo, hi, use);
        else
            fprintf(f, "  %-4s own league only: no game in the window; table: %.2f\n", divs[i],
                    use);
    }
    fprintf(f, "  C table (models/blend.c model_blend_weights_fb, weights):");
    for (int i = 0; i < nd; i++) {
        if ((rc = fit_weight(d, r, divs[i], before, &wl, &nl, &lo, &hi)))
            return rc;
        fprintf(f, " %s %.2f", divs[i], r->blend_pooled || nl < FD_BLEND_MIN_FIT ? wp : wl);
    }
    fprintf(f, " default %.2f\n", wp);
    return MODEL_OK;
}
