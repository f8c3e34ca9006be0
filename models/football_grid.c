/*
 * football_grid.c -- the score grid every football market is read from.
 *
 * Pre-match: Dixon-Coles (1997). Goals are Poisson(lambda) and Poisson(mu), and the four
 * low scores are reweighted by tau:
 *     tau(0,0) = 1 - lambda mu rho    tau(0,1) = 1 + lambda rho
 *     tau(1,0) = 1 + mu rho           tau(1,1) = 1 - rho
 * A rho outside (max(-1/lambda, -1/mu), min(1/(lambda mu), 1)) makes a probability
 * negative (the bug behind penaltyblog #7 and regista #23), so rho is clamped into that
 * interval, with a small safety factor, before use. The grid is truncated at 15 goals a side
 * and renormalised.
 *
 * Live: the goals still to come are Poisson with the pre-match rates scaled by the share of
 * the match's scoring intensity that is left. The intensity grows linearly over the match
 * (Dixon & Robinson 1998: more goals late), stoppage time counts at the end-of-half rate,
 * and each red card multiplies the penalised side's rate by about 0.66 and its opponent's
 * by about 1.24 (Vecer et al. 2009). A trailing side scores a little faster (Maia et al.
 * 2023: +10% one goal down, +20% two or more). The score-state factor is frozen at the
 * current score: a cheap approximation of the birth process, recomputed at every event.
 */
#include "models/models.h"
#include "models/detmath.h"

#include <math.h>
#include <string.h>

#define RHO_SAFETY 0.98
#define MAX_RATE 10.0

static int rate_ok(double r)
{
    return isfinite(r) && r >= 0.0 && r <= MAX_RATE;
}

static void poisson_row(double l, double* out)
{
    out[0] = model_dm_exp(-l);
    for (int i = 1; i < MODEL_FB_GOALS; i++)
        out[i] = out[i - 1] * l / i;
}

static double clamp_rho(double lambda, double mu, double rho)
{
    double lo = -1.0, hi = 1.0;
    if (lambda > 0)
        lo = fmax(lo, -1.0 / lambda);
    if (mu > 0)
        lo = fmax(lo, -1.0 / mu);
    if (lambda * mu > 0)
        hi = fmin(hi, 1.0 / (lambda * mu));
    lo *= RHO_SAFETY;
    hi *= RHO_SAFETY;
    return rho < lo ? lo : rho > hi ? hi : rho;
}

static void grid_fill(double lambda, double mu, double rho, model_fb_grid* g)
{
    double px[MODEL_FB_GOALS], py[MODEL_FB_GOALS], sum = 0;
    poisson_row(lambda, px);
    poisson_row(mu, py);
    for (int i = 0; i < MODEL_FB_GOALS; i++)
        for (int j = 0; j < MODEL_FB_GOALS; j++)
            g->p[i][j] = px[i] * py[j];
    if (rho != 0.0) {
        rho = clamp_rho(lambda, mu, rho);
        g->p[0][0] *= 1.0 - lambda * mu * rho;
        g->p[0][1] *= 1.0 + lambda * rho;
        g->p[1][0] *= 1.0 + mu * rho;
        g->p[1][1] *= 1.0 - rho;
    }
    for (int i = 0; i < MODEL_FB_GOALS; i++)
        for (int j = 0; j < MODEL_FB_GOALS; j++)
            sum += g->p[i][j];
    double inv = 1.0 / sum;
    for (int i = 0; i < MODEL_FB_GOALS; i++)
        for (int j = 0; j < MODEL_FB_GOALS; j++)
            g->p[i][j] *= inv;
    g->lambda = lambda;
    g->mu = mu;
}

int model_fb_grid_dc(double lambda, double mu, double rho, model_fb_grid* g)
{
    if (!g || !rate_ok(lambda) || !rate_ok(mu) || !isfinite(rho))
        return MODEL_EINVAL;
    g->base_home = g->base_away = 0;
    grid_fill(lambda, mu, rho, g);
    return MODEL_OK;
}

void model_fb_live_params_default(model_fb_live_params* lp)
{
    lp->red_penalised = 0.66;
    lp->red_opponent = 1.24;
    lp->trail_by_one = 1.10;
    lp->trail_by_more = 1.20;
    lp->lead_factor = 1.0;
    lp->late_slope = 0.3;
    lp->stoppage_1 = 1.5;
    lp->stoppage_2 = 4.0;
}

/* Integral of g(s) = 1 + a (s - 1/2) over [u, v], s in match fractions of 90 minutes. */
static double intensity(double a, double u, double v)
{
    if (v <= u)
        return 0.0;
    return (v - u) + 0.5 * a * ((v - 0.5) * (v - 0.5) - (u - 0.5) * (u - 0.5));
}

static int live_params_ok(const model_fb_live_params* lp)
{
    const double* v[] = {&lp->red_penalised, &lp->red_opponent, &lp->trail_by_one,
                         &lp->trail_by_more, &lp->lead_factor};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (!(isfinite(*v[i]) && *v[i] > 0.0 && *v[i] < 10.0))
            return 0;
    return isfinite(lp->late_slope) && fabs(lp->late_slope) < 2.0 && lp->stoppage_1 >= 0 &&
           lp->stoppage_1 <= 30 && lp->stoppage_2 >= 0 && lp->stoppage_2 <= 30;
}

/* Share of the whole match's expected scoring still to come. */
static double remaining_share(const model_fb_live* st, const model_fb_live_params* lp)
{
    double a = lp->late_slope;
    double g_half = 1.0, g_end = 1.0 + 0.5 * a;
    double s1 = lp->stoppage_1 / 90.0, s2 = lp->stoppage_2 / 90.0;
    double total = intensity(a, 0, 1) + s1 * g_half + s2 * g_end;
    double m = st->minute, rem;
    if (st->half == 1) {
        double first;
        if (m < 45.0)
            first = intensity(a, m / 90.0, 0.5) + s1 * g_half;
        else /* in stoppage: what is left of it, at least half a minute */
            first = fmax(s1 - (m - 45.0) / 90.0, 0.5 / 90.0) * g_half;
        rem = first + intensity(a, 0.5, 1.0) + s2 * g_end;
    } else {
        if (m < 90.0)
            rem = intensity(a, m / 90.0, 1.0) + s2 * g_end;
        else
            rem = fmax(s2 - (m - 90.0) / 90.0, 0.5 / 90.0) * g_end;
    }
    return rem / total;
}

int model_fb_grid_live(const model_fb_live* st, const model_fb_live_params* lp, model_fb_grid* g)
{
    if (!st || !lp || !g || !live_params_ok(lp))
        return MODEL_EINVAL;
    if (!rate_ok(st->lambda) || !rate_ok(st->mu) || !isfinite(st->rho) || !isfinite(st->minute))
        return MODEL_EINVAL;
    if (st->half == 1) {
        if (!(st->minute >= 0.0 && st->minute <= 75.0))
            return MODEL_EINVAL;
    } else if (st->half == 2) {
        if (!(st->minute >= 45.0 && st->minute <= 130.0))
            return MODEL_EINVAL;
    } else {
        return MODEL_EINVAL;
    }
    if (st->home_goals < 0 || st->away_goals < 0 || st->home_goals > 30 || st->away_goals > 30 ||
        st->home_reds < 0 || st->away_reds < 0 || st->home_reds > 4 || st->away_reds > 4)
        return MODEL_EINVAL;

    double share = remaining_share(st, lp);
    double rh = model_dm_pow(lp->red_penalised, st->home_reds) *
                model_dm_pow(lp->red_opponent, st->away_reds);
    double ra = model_dm_pow(lp->red_penalised, st->away_reds) *
                model_dm_pow(lp->red_opponent, st->home_reds);
    int diff = st->home_goals - st->away_goals;
    if (diff == -1) {
        rh *= lp->trail_by_one;
        ra *= lp->lead_factor;
    } else if (diff <= -2) {
        rh *= lp->trail_by_more;
        ra *= lp->lead_factor;
    } else if (diff == 1) {
        ra *= lp->trail_by_one;
        rh *= lp->lead_factor;
    } else if (diff >= 2) {
        ra *= lp->trail_by_more;
        rh *= lp->lead_factor;
    }
    double lam = st->lambda * share * rh, mu = st->mu * share * ra;
    if (lam > MAX_RATE || mu > MAX_RATE)
        return MODEL_EINVAL;
    g->base_home = st->home_goals;
    g->base_away = st->away_goals;
    /* The low-score dependence belongs to the final score; it only applies while 0-0. */
    grid_fill(lam, mu, (diff == 0 && st->home_goals == 0) ? st->rho : 0.0, g);
    return MODEL_OK;
}

/* Home and away win probabilities of a Dixon-Coles grid. */
static void win_probs(double lambda, double mu, double rho, double* ph, double* pa)
{
    model_fb_grid g;
    grid_fill(lambda, mu, rho, &g);
    double h = 0, a = 0;
    for (int i = 0; i < MODEL_FB_GOALS; i++)
        for (int j = 0; j < MODEL_FB_GOALS; j++) {
            if (i > j)
                h += g.p[i][j];
            else if (j > i)
                a += g.p[i][j];
        }
    *ph = h;
    *pa = a;
}

/*
 * Inverse of the grid for 1X2: Newton on (log lambda, log mu) with a forward-difference
 * Jacobian, step halving when the residual does not shrink, at most 50 iterations.
 */
int model_fb_implied_rates(double p_home, double p_away, double rho, double* lambda, double* mu)
{
    if (!lambda || !mu || !isfinite(p_home) || !isfinite(p_away) || !isfinite(rho) ||
        !(p_home > 0.005 && p_away > 0.005 && p_home + p_away < 0.995))
        return MODEL_EINVAL;
    double x = model_dm_log(1.4), y = model_dm_log(1.1), fh, fa;
    win_probs(model_dm_exp(x), model_dm_exp(y), rho, &fh, &fa);
    double rh = fh - p_home, ra = fa - p_away, res = fmax(fabs(rh), fabs(ra));
    const double h = 1e-6;
    for (int it = 0; it < 50 && res > 1e-10; it++) {
        double h1, a1, h2, a2;
        win_probs(model_dm_exp(x + h), model_dm_exp(y), rho, &h1, &a1);
        win_probs(model_dm_exp(x), model_dm_exp(y + h), rho, &h2, &a2);
        double j11 = (h1 - fh) / h, j21 = (a1 - fa) / h, j12 = (h2 - fh) / h, j22 = (a2 - fa) / h;
        double det = j11 * j22 - j12 * j21;
        if (!(fabs(det) > 1e-300))
            return MODEL_ENOCONV;
        double dx = -(rh * j22 - ra * j12) / det, dy = -(ra * j11 - rh * j21) / det;
        double t = 1.0;
        for (int k = 0; k < 20; k++, t *= 0.5) {
            double nx = x + t * dx, ny = y + t * dy;
            if (nx > model_dm_log(MAX_RATE) || ny > model_dm_log(MAX_RATE) ||
                nx < model_dm_log(1e-3) || ny < model_dm_log(1e-3))
                continue;
            double nh, na;
            win_probs(model_dm_exp(nx), model_dm_exp(ny), rho, &nh, &na);
            double nr = fmax(fabs(nh - p_home), fabs(na - p_away));
            if (nr < res) {
                x = nx;
                y = ny;
                fh = nh;
                fa = na;
                rh = nh - p_home;
                ra = na - p_away;
                res = nr;
                break;
            }
        }
        if (t < 1e-6)
            break;
    }
    if (res > 1e-6)
        return MODEL_ERANGE;
    *lambda = model_dm_exp(x);
    *mu = model_dm_exp(y);
    return MODEL_OK;
}
