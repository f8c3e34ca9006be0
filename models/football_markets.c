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

#include <math.h>
#include <string.h>

#define DIFF_MAX (MODEL_FB_GOALS - 1)
#define DIFF_N (2 * DIFF_MAX + 1)

static int line_quarters(double line, int *q)
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
    case 2: return MODEL_AH_WIN;
    case 1: return MODEL_AH_HALF_WIN;
    case 0: return MODEL_AH_PUSH; /* not reachable for quarter lines, kept for safety */
    case -1: return MODEL_AH_HALF_LOSS;
    default: return MODEL_AH_LOSS;
    }
}

int model_ah_settle(double line, int diff, model_ah_result *res)
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
    case MODEL_AH_WIN: return odds;
    case MODEL_AH_HALF_WIN: return 0.5 * (1.0 + odds);
    case MODEL_AH_PUSH: return 1.0;
    case MODEL_AH_HALF_LOSS: return 0.5;
    default: return 0.0;
    }
}

/* Distribution of the difference of further goals i - j, index d + DIFF_MAX. */
static void diff_dist(const model_fb_grid *g, double *pd)
{
    memset(pd, 0, sizeof(double) * DIFF_N);
    for (int i = 0; i < MODEL_FB_GOALS; i++)
        for (int j = 0; j < MODEL_FB_GOALS; j++)
            pd[i - j + DIFF_MAX] += g->p[i][j];
}

static void ah_from_dist(const double *pd, int q, model_ah_probs *out)
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

int model_fb_asian(const model_fb_grid *g, double line, model_ah_probs *out)
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

int model_fb_markets_compute(const model_fb_grid *g, model_fb_markets *m)
{
    if (!g || !m || g->base_home < 0 || g->base_away < 0)
        return MODEL_EINVAL;
    memset(m, 0, sizeof *m);
    double pd[DIFF_N];
    diff_dist(g, pd);
    for (int i = 0; i < MODEL_FB_GOALS; i++) {
        int h = g->base_home + i;
        for (int j = 0; j < MODEL_FB_GOALS; j++) {
            int a = g->base_away + j;
            double p = g->p[i][j];
            int d = h - a, t = h + a;
            if (d > 0)
                m->home += p;
            else if (d == 0)
                m->draw += p;
            else
                m->away += p;
            for (int k = 0; k < MODEL_FB_TOTAL_LINES && k < t; k++)
                m->over[k] += p;
            for (int k = 0; k < MODEL_FB_TEAM_LINES && k < h; k++)
                m->home_over[k] += p;
            for (int k = 0; k < MODEL_FB_TEAM_LINES && k < a; k++)
                m->away_over[k] += p;
            if (h > 0 && a > 0)
                m->btts_yes += p;
            if (h < MODEL_FB_CS_MAX && a < MODEL_FB_CS_MAX)
                m->cs[h][a] += p;
            else
                m->cs_other += p;
            m->win_margin[margin_index(d)] += p;
        }
    }
    m->dc_1x = m->home + m->draw;
    m->dc_12 = m->home + m->away;
    m->dc_x2 = m->draw + m->away;
    if (m->home + m->away > 0) {
        m->dnb_home = m->home / (m->home + m->away);
        m->dnb_away = m->away / (m->home + m->away);
    }
    for (int k = 0; k < MODEL_FB_AH_LINES; k++)
        ah_from_dist(pd, -12 + k, &m->ah[k]);
    double tot = g->lambda + g->mu, none = exp(-tot);
    m->next_none = none;
    if (tot > 0) {
        m->next_home = g->lambda / tot * (1.0 - none);
        m->next_away = g->mu / tot * (1.0 - none);
    }
    return MODEL_OK;
}
