/*
 * basketball.c -- margin and total as normals; live as Brownian motion (Stern 1994).
 *
 * Pre-match the home margin is Normal(m, s^2), s about 12 points in the NBA. In play, with a
 * fraction t of the game played and a lead l, the rest of the game is the same Brownian
 * motion over 1 - t: the final margin is Normal(l + (1 - t) m, s^2 (1 - t)), hence
 *     P(home wins | l, t) = Phi((l + (1 - t) m) / (s sqrt(1 - t))).
 * Totals work the same way with the points so far added. A tie after regulation goes to
 * overtime, which the normal approximation treats as a coin flip (P(win) = P(margin > 0)
 * of the continuous margin). Spreads and totals on whole numbers can push: final scores are
 * integers, so a line s is won when the margin is at least floor(s) + 1 and pushes when it
 * equals s; probabilities use the continuity correction.
 */
#include "models/models.h"
#include "models/detmath.h"

#include <math.h>
#include <stdlib.h>

static double phi_cdf(double x)
{
    return model_dm_phi(x);
}

int model_bb_price(const model_bb_state* st, model_bb_result* r)
{
    if (!st || !r)
        return MODEL_EINVAL;
    if (!isfinite(st->margin_mean) || !isfinite(st->total_mean) || !(st->margin_sd > 0) ||
        !(st->total_sd > 0) || !isfinite(st->margin_sd) || !isfinite(st->total_sd))
        return MODEL_EINVAL;
    if (!(st->t >= 0.0 && st->t < 1.0) || st->points < 0 || st->total_mean < 0 ||
        fabs(st->margin_mean) > 200 || st->total_mean > 1000 || abs(st->lead) > st->points ||
        (st->t == 0.0 && (st->points != 0 || st->lead != 0)))
        return MODEL_EINVAL;
    double rest = 1.0 - st->t, sq = sqrt(rest);
    r->mean_margin = st->lead + rest * st->margin_mean;
    r->sd_margin = st->margin_sd * sq;
    r->mean_total = st->points + rest * st->total_mean;
    r->sd_total = st->total_sd * sq;
    r->home_win = phi_cdf(r->mean_margin / r->sd_margin);
    return MODEL_OK;
}

/* P(X >= k) and P(X == k) for an integer-valued X ~ Normal(m, s) with continuity correction */
static void int_tail(double m, double s, double line, double* win, double* push)
{
    double k = floor(line) + 1.0;
    *win = 1.0 - phi_cdf((k - 0.5 - m) / s);
    *push = 0.0;
    if (line == floor(line))
        *push = phi_cdf((line + 0.5 - m) / s) - phi_cdf((line - 0.5 - m) / s);
}

void model_bb_spread(const model_bb_result* r, double s, double* win, double* push)
{
    if (!r || !win || !push || !isfinite(s)) {
        if (win)
            *win = NAN;
        if (push)
            *push = NAN;
        return;
    }
    int_tail(r->mean_margin, r->sd_margin, s, win, push);
}

void model_bb_total(const model_bb_result* r, double line, double* over, double* push)
{
    if (!r || !over || !push || !isfinite(line)) {
        if (over)
            *over = NAN;
        if (push)
            *push = NAN;
        return;
    }
    int_tail(r->mean_total, r->sd_total, line, over, push);
}
