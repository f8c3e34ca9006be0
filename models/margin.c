/*
 * margin.c -- from fair probabilities to bookmaker odds and back.
 *
 * A bookmaker's odds o_i over one market's n outcomes have a booksum S = sum 1/o_i above 1;
 * the excess M = S - 1 is the margin (overround). Four ways to spread it are implemented in
 * both directions:
 *
 *   multiplicative  1/o_i = p_i (1 + M)
 *   additive        1/o_i = p_i + M / n
 *   power           1/o_i = p_i^k        (k < 1 when M > 0: more margin on long shots)
 *   Shin            1/o_i = y_i sum_j y_j, y_i = sqrt(z p_i + (1 - z) p_i^2)
 *
 * Power and Shin need a one-dimensional root; solve() below is a safeguarded Newton method
 * with a fixed iteration limit and a fixed tolerance, so that the same inputs always take
 * the same steps and give the same bits.
 *
 * Odds are then rounded down onto a price ladder and carried as integers (milli-odds):
 * rounding down never gives margin away, and integers compare exactly between replicas.
 */
#include "models/models.h"
#include "models/detmath.h"

#include <math.h>
#include <string.h>

#define SOLVE_MAX_ITER 100

const char* model_strerror(int err)
{
    switch (err) {
    case MODEL_OK:
        return "ok";
    case MODEL_EINVAL:
        return "invalid input";
    case MODEL_ERANGE:
        return "no solution for these inputs";
    case MODEL_ENOCONV:
        return "iteration did not converge";
    case MODEL_ENOMEM:
        return "out of memory";
    case MODEL_ETOOBIG:
        return "too many teams or games";
    default:
        return "unknown error";
    }
}

const char* model_margin_name(model_margin_method m)
{
    switch (m) {
    case MODEL_MARGIN_MULTIPLICATIVE:
        return "multiplicative";
    case MODEL_MARGIN_ADDITIVE:
        return "additive";
    case MODEL_MARGIN_POWER:
        return "power";
    case MODEL_MARGIN_SHIN:
        return "shin";
    default:
        return "?";
    }
}

/* f(x) and f'(x) of the equation being solved; f must be monotone on [lo, hi] and change
 * sign there. */
typedef void (*solve_fn)(double x, const double* v, int n, double c, double* f, double* df);

/* Safeguarded Newton: a Newton step that leaves the bracket is replaced by bisection. */
static int
solve(solve_fn fn, const double* v, int n, double c, double lo, double hi, double x, double* root)
{
    double flo, fhi, f, df, d;
    fn(lo, v, n, c, &flo, &d);
    fn(hi, v, n, c, &fhi, &d);
    if (flo == 0.0) {
        *root = lo;
        return MODEL_OK;
    }
    if (fhi == 0.0) {
        *root = hi;
        return MODEL_OK;
    }
    if ((flo > 0) == (fhi > 0))
        return MODEL_ERANGE;
    for (int it = 0; it < SOLVE_MAX_ITER; it++) {
        fn(x, v, n, c, &f, &df);
        if (f == 0.0) {
            *root = x;
            return MODEL_OK;
        }
        if ((f > 0) == (flo > 0)) {
            lo = x;
            flo = f;
        } else {
            hi = x;
        }
        double nx = (df != 0.0) ? x - f / df : 0.5 * (lo + hi);
        if (!(nx > lo && nx < hi))
            nx = 0.5 * (lo + hi);
        if (fabs(nx - x) <= 1e-15 * fmax(1.0, fabs(x)) || hi - lo <= 1e-15 * fmax(1.0, fabs(x))) {
            *root = nx;
            return MODEL_OK;
        }
        x = nx;
    }
    return MODEL_ENOCONV;
}

/* ---- odds -> probabilities */

/* power: sum r_i^k - 1 */
static void power_remove_fn(double k, const double* r, int n, double c, double* f, double* df)
{
    (void)c;
    double s = 0, ds = 0;
    for (int i = 0; i < n; i++) {
        double t = model_dm_pow(r[i], k);
        s += t;
        ds += t * model_dm_log(r[i]);
    }
    *f = s - 1.0;
    *df = ds;
}

/* Shin: sum p_i(z) - 1 with p_i(z) = (sqrt(z^2 + 4 (1 - z) a_i) - z) / (2 (1 - z)),
 * a_i = r_i^2 / S (c = S). */
static void shin_remove_fn(double z, const double* r, int n, double S, double* f, double* df)
{
    double s = 0, ds = 0, w = 1.0 - z;
    for (int i = 0; i < n; i++) {
        double a = r[i] * r[i] / S;
        double D = sqrt(z * z + 4.0 * w * a);
        double dD = (z - 2.0 * a) / D;
        s += (D - z) / (2.0 * w);
        ds += ((dD - 1.0) * w + (D - z)) / (2.0 * w * w);
    }
    *f = s - 1.0;
    *df = ds;
}

static void shin_probs(double z, const double* r, int n, double S, double* p)
{
    for (int i = 0; i < n; i++)
        p[i] = (sqrt(z * z + 4.0 * (1.0 - z) * r[i] * r[i] / S) - z) / (2.0 * (1.0 - z));
}

int model_margin_remove(const double* odds, int n, model_margin_method m, double* p, double* param)
{
    if (!odds || !p || n < 2 || n > MODEL_MARGIN_MAX_OUTCOMES)
        return MODEL_EINVAL;
    double r[MODEL_MARGIN_MAX_OUTCOMES], S = 0;
    for (int i = 0; i < n; i++) {
        if (!(odds[i] > 1.0) || !isfinite(odds[i]))
            return MODEL_EINVAL;
        r[i] = 1.0 / odds[i];
        S += r[i];
    }
    double k = 0;
    int rc = MODEL_OK;
    switch (m) {
    case MODEL_MARGIN_MULTIPLICATIVE:
        for (int i = 0; i < n; i++)
            p[i] = r[i] / S;
        k = S - 1.0;
        break;
    case MODEL_MARGIN_ADDITIVE:
        for (int i = 0; i < n; i++) {
            p[i] = r[i] + (1.0 - S) / n;
            if (p[i] <= 0.0)
                return MODEL_ERANGE;
        }
        k = S - 1.0;
        break;
    case MODEL_MARGIN_POWER:
        if (!(S > 1.0))
            return MODEL_ERANGE;
        rc = solve(power_remove_fn, r, n, 0, 1.0, 100.0, 1.0, &k);
        if (rc)
            return rc;
        for (int i = 0; i < n; i++)
            p[i] = model_dm_pow(r[i], k);
        break;
    case MODEL_MARGIN_SHIN:
        if (!(S > 1.0))
            return MODEL_ERANGE;
        rc = solve(shin_remove_fn, r, n, S, 0.0, 0.999, 0.0, &k);
        if (rc)
            return rc;
        shin_probs(k, r, n, S, p);
        break;
    default:
        return MODEL_EINVAL;
    }
    if (param)
        *param = k;
    return MODEL_OK;
}

/* ---- probabilities -> odds */

/* power: sum p_i^k - c, c = 1 + M */
static void power_apply_fn(double k, const double* p, int n, double c, double* f, double* df)
{
    double s = 0, ds = 0;
    for (int i = 0; i < n; i++) {
        double t = model_dm_pow(p[i], k);
        s += t;
        ds += t * model_dm_log(p[i]);
    }
    *f = s - c;
    *df = ds;
}

/* Shin: sum y_i(z) - sqrt(1 + M), y_i = sqrt(p^2 + z (p - p^2)); c = sqrt(1 + M) */
static void shin_apply_fn(double z, const double* p, int n, double c, double* f, double* df)
{
    double s = 0, ds = 0;
    for (int i = 0; i < n; i++) {
        double y = sqrt(p[i] * p[i] + z * (p[i] - p[i] * p[i]));
        s += y;
        ds += (p[i] - p[i] * p[i]) / (2.0 * y);
    }
    *f = s - c;
    *df = ds;
}

int model_margin_apply(const double* p,
                       int n,
                       model_margin_method m,
                       double margin,
                       double* odds,
                       double* param)
{
    if (!p || !odds || n < 1 || n > MODEL_MARGIN_MAX_OUTCOMES)
        return MODEL_EINVAL;
    if (!(margin >= 0.0 && margin <= 1.0))
        return MODEL_EINVAL;
    /* Outcomes with probability 0 are not offered; the margin goes on the others. */
    double q[MODEL_MARGIN_MAX_OUTCOMES], sum = 0;
    int idx[MODEL_MARGIN_MAX_OUTCOMES], k = 0;
    for (int i = 0; i < n; i++) {
        if (!(p[i] >= 0.0 && p[i] <= 1.0))
            return MODEL_EINVAL;
        sum += p[i];
        if (p[i] > 0.0) {
            idx[k] = i;
            q[k++] = p[i];
        }
    }
    if (k == 0 || fabs(sum - 1.0) > 1e-6)
        return MODEL_EINVAL;
    for (int i = 0; i < n; i++)
        odds[i] = 0.0;
    double par = 0, inv[MODEL_MARGIN_MAX_OUTCOMES];
    int rc;
    switch (m) {
    case MODEL_MARGIN_MULTIPLICATIVE:
        for (int i = 0; i < k; i++)
            inv[i] = q[i] * (1.0 + margin);
        par = margin;
        break;
    case MODEL_MARGIN_ADDITIVE:
        for (int i = 0; i < k; i++)
            inv[i] = q[i] + margin / k;
        par = margin;
        break;
    case MODEL_MARGIN_POWER:
        if (k == 1 || margin == 0.0) {
            par = 1.0;
        } else {
            rc = solve(power_apply_fn, q, k, 1.0 + margin, 1e-3, 1.0, 1.0, &par);
            if (rc)
                return rc;
        }
        for (int i = 0; i < k; i++)
            inv[i] = model_dm_pow(q[i], par);
        break;
    case MODEL_MARGIN_SHIN: {
        double c = sqrt(1.0 + margin), sy = 0;
        if (k == 1 || margin == 0.0) {
            par = 0.0;
        } else {
            rc = solve(shin_apply_fn, q, k, c, 0.0, 1.0, 0.0, &par);
            if (rc)
                return rc;
        }
        double y[MODEL_MARGIN_MAX_OUTCOMES];
        for (int i = 0; i < k; i++) {
            y[i] = sqrt(q[i] * q[i] + par * (q[i] - q[i] * q[i]));
            sy += y[i];
        }
        for (int i = 0; i < k; i++)
            inv[i] = y[i] * sy;
        break;
    }
    default:
        return MODEL_EINVAL;
    }
    for (int i = 0; i < k; i++)
        odds[idx[i]] = 1.0 / inv[i];
    if (param)
        *param = par;
    return MODEL_OK;
}

/* ---- the price ladder */

static const struct
{
    int32_t lo, hi, step;
} ladder[] = {
    {1010, 2000, 10},      {2000, 3000, 20},         {3000, 4000, 50},     {4000, 6000, 100},
    {6000, 10000, 200},    {10000, 20000, 500},      {20000, 30000, 1000}, {30000, 50000, 2000},
    {50000, 100000, 5000}, {100000, 1000000, 10000},
};

int32_t model_price_round(double odds)
{
    if (odds == 0.0 || isnan(odds))
        return 0; /* not offered; a NaN is never priced */
    if (!(odds >= 1.01))
        return MODEL_PRICE_MIN;
    if (!(odds < MODEL_PRICE_MAX / 1000.0))
        return MODEL_PRICE_MAX;
    /* A tiny epsilon so that 2.0 computed as 1.9999999999999998 stays on 2000. */
    int32_t v = (int32_t)floor(odds * 1000.0 + 1e-7);
    for (size_t i = 0; i < sizeof ladder / sizeof ladder[0]; i++) {
        if (v >= ladder[i].lo && v < ladder[i].hi)
            return ladder[i].lo + (v - ladder[i].lo) / ladder[i].step * ladder[i].step;
    }
    return MODEL_PRICE_MAX;
}

/* ---- configuration */

void model_quote_cfg_default(model_quote_cfg* cfg)
{
    static const double def[MODEL_MKT__COUNT][2] = {
        [MODEL_MKT_1X2] = {0.05, 0.07},
        [MODEL_MKT_DOUBLE_CHANCE] = {0.05, 0.07},
        [MODEL_MKT_DRAW_NO_BET] = {0.045, 0.06},
        [MODEL_MKT_TOTALS] = {0.05, 0.07},
        [MODEL_MKT_BTTS] = {0.06, 0.08},
        [MODEL_MKT_CORRECT_SCORE] = {0.15, 0.20},
        [MODEL_MKT_ASIAN_HANDICAP] = {0.045, 0.06},
        [MODEL_MKT_TEAM_TOTALS] = {0.06, 0.08},
        [MODEL_MKT_WINNING_MARGIN] = {0.12, 0.15},
        [MODEL_MKT_NEXT_GOAL] = {0.06, 0.08},
        [MODEL_MKT_MATCH_WINNER] = {0.05, 0.07},
        [MODEL_MKT_SET_BETTING] = {0.10, 0.12},
        [MODEL_MKT_HANDICAP] = {0.05, 0.07},
    };
    cfg->method = MODEL_MARGIN_SHIN;
    memcpy(cfg->margin, def, sizeof def);
}

int model_quote_cfg_check(const model_quote_cfg* cfg)
{
    if (!cfg || (int)cfg->method < 0 || cfg->method >= MODEL_MARGIN__COUNT)
        return MODEL_EINVAL;
    for (int t = 0; t < MODEL_MKT__COUNT; t++)
        for (int ph = 0; ph < MODEL_PHASE__COUNT; ph++)
            if (!(cfg->margin[t][ph] >= 0.0 && cfg->margin[t][ph] <= 1.0))
                return MODEL_EINVAL;
    return MODEL_OK;
}

int model_price_market(const double* p,
                       int n,
                       const model_quote_cfg* cfg,
                       model_market_type t,
                       model_phase ph,
                       int32_t* prices)
{
    if (!cfg || (int)t < 0 || t >= MODEL_MKT__COUNT || (int)ph < 0 || ph >= MODEL_PHASE__COUNT)
        return MODEL_EINVAL;
    double odds[MODEL_MARGIN_MAX_OUTCOMES];
    if (!p || !prices || n < 1 || n > MODEL_MARGIN_MAX_OUTCOMES)
        return MODEL_EINVAL;
    int live = 0;
    for (int i = 0; i < n; i++)
        live += p[i] > 0.0;
    if (live == 1) { /* the market is decided (e.g. over 0.5 once a goal is in): not offered */
        for (int i = 0; i < n; i++)
            prices[i] = 0;
        return (p[0] == p[0]) ? MODEL_OK : MODEL_EINVAL;
    }
    int rc = model_margin_apply(p, n, cfg->method, cfg->margin[t][ph], odds, NULL);
    /* Shin cannot load a large margin onto a near-certain favourite (sum sqrt(p) < sqrt(1+M));
     * such a market falls back to the multiplicative method, and the ladder floors it. */
    if (rc == MODEL_ERANGE)
        rc = model_margin_apply(p, n, MODEL_MARGIN_MULTIPLICATIVE, cfg->margin[t][ph], odds, NULL);
    if (rc)
        return rc;
    for (int i = 0; i < n; i++)
        prices[i] = model_price_round(odds[i]);
    return MODEL_OK;
}
