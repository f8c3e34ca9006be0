/*
 * blend.c -- the model's probabilities blended with the de-margined market.
 *
 * A market snapshot is one or more bookmakers' decimal odds for the outcomes of one market.
 * Each book's odds are de-margined (Shin or power: margin.c) and the fair probabilities of
 * the books are averaged in book order. The blend of the model's p and the market's q with
 * the market weight w in [0, 1] is
 *
 *   log space (logarithmic pooling): b_i proportional to p_i^(1-w) q_i^w
 *   linear space:                    b_i = (1-w) p_i + w q_i
 *
 * Without a market (q NULL) the model prices alone. Weights are fitted by a grid search on
 * past samples (the caller passes only games before the one being priced). Everything uses
 * IEEE arithmetic and detmath's exp/log in a fixed order: same inputs, same bits.
 */
#include "models/models.h"
#include "models/detmath.h"

#include <math.h>
#include <stdlib.h>

const char* model_blend_space_name(model_blend_space s)
{
    return s == MODEL_BLEND_LOG ? "log" : s == MODEL_BLEND_LINEAR ? "linear" : "?";
}

static int prob_ok(const double* p, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        if (!(p[i] >= 0.0 && p[i] <= 1.0))
            return 0;
        s += p[i];
    }
    return fabs(s - 1.0) <= 1e-6;
}

int model_market_fair(const double* odds,
                      int nbooks,
                      int n,
                      model_margin_method m,
                      double* q,
                      int* used)
{
    if (used)
        *used = 0;
    if (!odds || !q || nbooks < 1 || n < 2 || n > MODEL_MARGIN_MAX_OUTCOMES ||
        (m != MODEL_MARGIN_SHIN && m != MODEL_MARGIN_POWER && m != MODEL_MARGIN_MULTIPLICATIVE &&
         m != MODEL_MARGIN_ADDITIVE))
        return MODEL_EINVAL;
    double acc[MODEL_MARGIN_MAX_OUTCOMES], f[MODEL_MARGIN_MAX_OUTCOMES];
    int k = 0;
    for (int i = 0; i < n; i++)
        acc[i] = 0.0;
    for (int b = 0; b < nbooks; b++) {
        const double* o = odds + (size_t)b * n;
        int ok = 1;
        for (int i = 0; i < n && ok; i++)
            ok = isfinite(o[i]) && o[i] > 1.0;
        if (!ok || model_margin_remove(o, n, m, f, NULL) != MODEL_OK || !prob_ok(f, n))
            continue; /* a missing or unusable price: this book is left out */
        for (int i = 0; i < n; i++)
            acc[i] += f[i];
        k++;
    }
    if (!k)
        return MODEL_ERANGE;
    for (int i = 0; i < n; i++)
        q[i] = acc[i] / k;
    if (used)
        *used = k;
    return MODEL_OK;
}

int model_blend(const double* p, const double* q, int n, double w, model_blend_space s, double* out)
{
    if (!p || !out || n < 2 || n > MODEL_MARGIN_MAX_OUTCOMES || !(w >= 0.0 && w <= 1.0) ||
        (s != MODEL_BLEND_LOG && s != MODEL_BLEND_LINEAR) || !prob_ok(p, n) ||
        (q && !prob_ok(q, n)))
        return MODEL_EINVAL;
    if (!q || w == 0.0) {
        for (int i = 0; i < n; i++)
            out[i] = p[i];
        return MODEL_OK;
    }
    if (w == 1.0) {
        for (int i = 0; i < n; i++)
            out[i] = q[i];
        return MODEL_OK;
    }
    if (s == MODEL_BLEND_LINEAR) {
        for (int i = 0; i < n; i++)
            out[i] = (1.0 - w) * p[i] + w * q[i];
        return MODEL_OK;
    }
    /* log pooling: an outcome impossible for either side stays impossible */
    double l[MODEL_MARGIN_MAX_OUTCOMES], mx = -INFINITY;
    int any = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] <= 0.0 || q[i] <= 0.0) {
            l[i] = -INFINITY;
            continue;
        }
        l[i] = (1.0 - w) * model_dm_log(p[i]) + w * model_dm_log(q[i]);
        if (l[i] > mx)
            mx = l[i];
        any = 1;
    }
    if (!any)
        return MODEL_ERANGE; /* model and market disagree on every outcome */
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        out[i] = l[i] == -INFINITY ? 0.0 : model_dm_exp(l[i] - mx);
        sum += out[i];
    }
    for (int i = 0; i < n; i++)
        out[i] /= sum;
    return MODEL_OK;
}

int model_blend_fit(const double* p,
                    const double* q,
                    const int* k,
                    size_t count,
                    int n,
                    model_blend_space s,
                    double* w,
                    double* rps)
{
    if (!p || !q || !k || !w || !count || n < 2 || n > MODEL_MARGIN_MAX_OUTCOMES)
        return MODEL_EINVAL;
    double best = INFINITY, bw = 0.0, b[MODEL_MARGIN_MAX_OUTCOMES];
    for (int g = 0; g <= MODEL_BLEND_GRID; g++) {
        double wt = (double)g / MODEL_BLEND_GRID, sum = 0.0;
        for (size_t j = 0; j < count; j++) {
            if (k[j] < 0 || k[j] >= n)
                return MODEL_EINVAL;
            int rc = model_blend(p + j * n, q + j * n, n, wt, s, b);
            if (rc)
                return rc;
            sum += model_rps(b, n, k[j]);
        }
        if (sum < best) { /* strict: a tie keeps the smaller market weight */
            best = sum;
            bw = wt;
        }
    }
    *w = bw;
    if (rps)
        *rps = best / count;
    return MODEL_OK;
}
