/*
 * football_markets.c -- every football market read off one score grid.
 *
 * The grid holds the final score as base + (i, j). Markets on the final score (1X2,
 * double chance, draw no bet, totals, both teams to score, team totals, correct score,
 * winning margin) use base + (i, j). Asian handicap uses the goals still to come, (i, j)
 * only: in play, Asian lines are settled on goals scored after the bet (the score at the
 * time of the bet counts as 0-0); before the match the two are the same.
 *
 * Asian handicap settlement: a line that is a multiple of 0.5 is one bet (win, push on a
 * whole line, loss); a quarter line (e.g. -0.75) is the stake split over the two
 * neighbouring lines (-0.5 and -1.0), so it can be half won or half lost. Lines are handled
 * as integers in quarters so that no floating comparison decides a settlement.
 */
#include "models/models.h"
#include "models/detmath.h"

#include <math.h>
#include <string.h>

#define DIFF_MAX (MODEL_FB_GOALS - 1)
#define DIFF_N (2 * DIFF_MAX + 1)

static int line_quarters(double line, int* q)
{
    if (!isfinite(line) || fabs(line) > 100.0)
        return MODEL_EINVAL;
    double v = line * 4.0, r = nearbyint(v);
    if (fabs(v - r) > 1e-9)
        return MODEL_EINVAL;
    *q = (int)r;
    return MODEL_OK;
}

/* One bet on a line in quarters that is a multiple of two quarters: sign of 4 d + q. */
static int half_result(int q, int diff)
{
    int v = 4 * diff + q;
    return v > 0 ? 1 : v < 0 ? -1 : 0;
}

static model_ah_result settle_q(int q, int diff)
{
    if (q % 2 == 0) {
        int r = half_result(q, diff);
        return r > 0 ? MODEL_AH_WIN : r < 0 ? MODEL_AH_LOSS : MODEL_AH_PUSH;
    }
    int a = half_result(q - 1, diff), b = half_result(q + 1, diff);
    int s = a + b; /* each half: +1 win, 0 push, -1 loss; the halves differ by at most one */
    switch (s) {
    case 2:
        return MODEL_AH_WIN;
    case 1:
        return MODEL_AH_HALF_WIN;
    case 0:
        return MODEL_AH_PUSH; /* not reachable for quarter lines, kept for safety */
    case -1:
        return MODEL_AH_HALF_LOSS;
    default:
        return MODEL_AH_LOSS;
    }
}

int model_ah_settle(double line, int diff, model_ah_result* res)
{
    int q;
    if (!res || line_quarters(line, &q))
        return MODEL_EINVAL;
    *res = settle_q(q, diff);
    return MODEL_OK;
}

double model_ah_payout(model_ah_result r, double odds)
{
    switch (r) {
    case MODEL_AH_WIN:
        return odds;
    case MODEL_AH_HALF_WIN:
        return 0.5 * (1.0 + odds);
    case MODEL_AH_PUSH:
        return 1.0;
    case MODEL_AH_HALF_LOSS:
        return 0.5;
    default:
        return 0.0;
    }
}

/* Distribution of the difference of further goals i - j, index d + DIFF_MAX. */
static void diff_dist(const model_fb_grid* g, double* pd)
{
    memset(pd, 0, sizeof(double) * DIFF_N);
    for (int i = 0; i < MODEL_FB_GOALS; i++)
        for (int j = 0; j < MODEL_FB_GOALS; j++)
            pd[i - j + DIFF_MAX] += g->p[i][j];
}

static void ah_from_dist(const double* pd, int q, model_ah_probs* out)
{
    memset(out, 0, sizeof *out);
    for (int d = -DIFF_MAX; d <= DIFF_MAX; d++)
        out->p[settle_q(q, d)] += pd[d + DIFF_MAX];
    /* Fair odds o make the bet's expectation zero:
     * (o - 1)(W + HW/2) = L + HL/2, so 1/o = (W + HW/2) / (W + HW/2 + L + HL/2). */
    double w = out->p[MODEL_AH_WIN] + 0.5 * out->p[MODEL_AH_HALF_WIN];
    double l = out->p[MODEL_AH_LOSS] + 0.5 * out->p[MODEL_AH_HALF_LOSS];
    if (w + l > 0) {
        out->eff_home = w / (w + l);
        out->eff_away = l / (w + l);
    } else {
        out->eff_home = out->eff_away = 0.5;
    }
}

int model_fb_asian(const model_fb_grid* g, double line, model_ah_probs* out)
{
    int q;
    if (!g || !out || line_quarters(line, &q))
        return MODEL_EINVAL;
    double pd[DIFF_N];
    diff_dist(g, pd);
    ah_from_dist(pd, q, out);
    return MODEL_OK;
}

static int margin_index(int d)
{
    if (d >= 4)
        return 0;
    if (d <= -4)
        return 8;
    return 4 - d;
}

/* Fills one Asian line from the distribution of further-goal differences, using its
 * cumulative form: P(d > x), P(d == x) and P(d < x) for the integer x where the line's
 * outcome changes. */
static void ah_fast(const double* pd, const double* cdf, int q, model_ah_probs* out)
{
    memset(out, 0, sizeof *out);
    /* whole lines (q % 4 == 0): d = -q/4 pushes; half lines: nothing pushes; quarter lines:
     * the whole-line half pushes at one d, where the half-line half wins or loses */
    if (q % 2 == 0) {
        /* win when 4d + q > 0, i.e. d > -q/4 */
        int k = (q % 4 == 0) ? -q / 4 : (int)floor(-q / 4.0) + 1; /* first winning d */
        if (q % 4 == 0) {
            int x = -q / 4; /* push */
            double below = (x - 1 + DIFF_MAX >= 0) ? cdf[x - 1 + DIFF_MAX] : 0.0;
            double upto = (x + DIFF_MAX >= 0) ? cdf[x + DIFF_MAX] : 0.0;
            out->p[MODEL_AH_LOSS] = below;
            out->p[MODEL_AH_PUSH] = upto - below;
            out->p[MODEL_AH_WIN] = 1.0 - upto;
        } else {
            double below = (k - 1 + DIFF_MAX >= 0) ? cdf[k - 1 + DIFF_MAX] : 0.0;
            out->p[MODEL_AH_LOSS] = below;
            out->p[MODEL_AH_WIN] = 1.0 - below;
        }
    } else {
        /* the whole-line half is q - 1 or q + 1, whichever is a multiple of 4 */
        int qw = ((q - 1) % 4 == 0) ? q - 1 : q + 1, x = -qw / 4;
        double below = (x - 1 + DIFF_MAX >= 0) ? cdf[x - 1 + DIFF_MAX] : 0.0;
        double at = pd[x + DIFF_MAX];
        out->p[MODEL_AH_LOSS] = below;
        out->p[MODEL_AH_WIN] = 1.0 - below - at;
        /* at d == x the whole half pushes; the other half (q's other neighbour) wins if it is
         * the more generous line (qw < q), else loses */
        out->p[qw < q ? MODEL_AH_HALF_WIN : MODEL_AH_HALF_LOSS] = at;
    }
    double w = out->p[MODEL_AH_WIN] + 0.5 * out->p[MODEL_AH_HALF_WIN];
    double l = out->p[MODEL_AH_LOSS] + 0.5 * out->p[MODEL_AH_HALF_LOSS];
    if (w + l > 0) {
        out->eff_home = w / (w + l);
        out->eff_away = l / (w + l);
    } else {
        out->eff_home = out->eff_away = 0.5;
    }
}

/* One pass over the grid builds the marginals and the distributions of the goal difference
 * and of the total; every market is then a few sums over those. */
int model_fb_markets_compute(const model_fb_grid* g, model_fb_markets* m)
{
    if (!g || !m || g->base_home < 0 || g->base_away < 0)
        return MODEL_EINVAL;
    memset(m, 0, sizeof *m);
    enum { N = MODEL_FB_GOALS };
    double ph[N] = {0}, pa[N] = {0}, pd[DIFF_N] = {0}, pt[2 * N] = {0};
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            double p = g->p[i][j];
            ph[i] += p;
            pa[j] += p;
            pd[i - j + DIFF_MAX] += p;
            pt[i + j] += p;
        }
    }
    int bh = g->base_home, ba = g->base_away, bd = bh - ba, bt = bh + ba;
    /* 1X2 and winning margin from the difference of the final score, bd + (i - j) */
    for (int d = -DIFF_MAX; d <= DIFF_MAX; d++) {
        double p = pd[d + DIFF_MAX];
        int fd = bd + d;
        if (fd > 0)
            m->home += p;
        else if (fd == 0)
            m->draw += p;
        else
            m->away += p;
        m->win_margin[margin_index(fd)] += p;
    }
    /* totals: over k + 0.5 once bt + t > k */
    for (int t = 0; t < 2 * N; t++)
        for (int k = 0; k < MODEL_FB_TOTAL_LINES && k < bt + t; k++)
            m->over[k] += pt[t];
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < MODEL_FB_TEAM_LINES && k < bh + i; k++)
            m->home_over[k] += ph[i];
        for (int k = 0; k < MODEL_FB_TEAM_LINES && k < ba + i; k++)
            m->away_over[k] += pa[i];
    }
    /* both teams score: 1 - P(home ends on 0) - P(away ends on 0) + P(both on 0) */
    double h0 = bh > 0 ? 0.0 : ph[0], a0 = ba > 0 ? 0.0 : pa[0];
    double both0 = (bh > 0 || ba > 0) ? 0.0 : g->p[0][0];
    m->btts_yes = 1.0 - h0 - a0 + both0;
    if (m->btts_yes < 0)
        m->btts_yes = 0;
    /* correct score: cells that land inside 0..5 each */
    double in = 0;
    for (int i = 0; bh + i < MODEL_FB_CS_MAX && i < N; i++)
        for (int j = 0; ba + j < MODEL_FB_CS_MAX && j < N; j++) {
            m->cs[bh + i][ba + j] = g->p[i][j];
            in += g->p[i][j];
        }
    m->cs_other = 1.0 - in > 0 ? 1.0 - in : 0.0;
    m->dc_1x = m->home + m->draw;
    m->dc_12 = m->home + m->away;
    m->dc_x2 = m->draw + m->away;
    if (m->home + m->away > 0) {
        m->dnb_home = m->home / (m->home + m->away);
        m->dnb_away = m->away / (m->home + m->away);
    }
    double cdf[DIFF_N], c = 0;
    for (int k = 0; k < DIFF_N; k++)
        cdf[k] = (c += pd[k]);
    for (int k = 0; k < MODEL_FB_AH_LINES; k++)
        ah_fast(pd, cdf, -12 + k, &m->ah[k]);
    double tot = g->lambda + g->mu, none = model_dm_exp(-tot);
    m->next_none = none;
    if (tot > 0) {
        m->next_home = g->lambda / tot * (1.0 - none);
        m->next_away = g->mu / tot * (1.0 - none);
    }
    return MODEL_OK;
}
