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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int model_market_fair_pref(const double* odds,
                           int nbooks,
                           int n,
                           int pref,
                           model_margin_method m,
                           double* q,
                           int* used)
{
    if (used)
        *used = 0;
    if (!odds || !q || nbooks < 1 || n < 2 || n > MODEL_MARGIN_MAX_OUTCOMES)
        return MODEL_EINVAL;
    if (pref >= 0 && pref < nbooks &&
        model_market_fair(odds + (size_t)pref * n, 1, n, m, q, used) == MODEL_OK)
        return MODEL_OK;
    return model_market_fair(odds, nbooks, n, m, q, used);
}

/* RPS in [0, 1] to 2^-40 fixed point: integer sums are exact, so any order gives one total
 * (2^23 samples of at most 2^40 each still fit in 63 bits). */
#define BLEND_FIX 1099511627776.0 /* 2^40 */

int model_blend_fit_window(const double* p,
                           const double* q,
                           const int* k,
                           const int* season,
                           size_t count,
                           int n,
                           model_blend_space s,
                           int before,
                           int window,
                           double* w,
                           size_t* used,
                           double* rps)
{
    if (used)
        *used = 0;
    if (!p || !q || !k || !season || !w || n < 2 || n > MODEL_MARGIN_MAX_OUTCOMES ||
        count > ((size_t)1 << 23))
        return MODEL_EINVAL;
    size_t c = 0;
    for (size_t j = 0; j < count; j++) {
        if (season[j] >= before || (window > 0 && season[j] < before - window))
            continue;
        if (k[j] < 0 || k[j] >= n)
            return MODEL_EINVAL;
        c++;
    }
    if (!c)
        return MODEL_ERANGE;
    int64_t best = INT64_MAX;
    double bw = 0.0, b[MODEL_MARGIN_MAX_OUTCOMES];
    for (int g = 0; g <= MODEL_BLEND_GRID; g++) {
        double wt = (double)g / MODEL_BLEND_GRID;
        int64_t sum = 0;
        for (size_t j = 0; j < count; j++) {
            if (season[j] >= before || (window > 0 && season[j] < before - window))
                continue;
            int rc = model_blend(p + j * n, q + j * n, n, wt, s, b);
            if (rc)
                return rc;
            double r = model_rps(b, n, k[j]);
            sum += (int64_t)(r * BLEND_FIX + 0.5);
        }
        if (sum < best) { /* strict: a tie keeps the smaller market weight */
            best = sum;
            bw = wt;
        }
    }
    *w = bw;
    if (used)
        *used = c;
    if (rps)
        *rps = (double)best / BLEND_FIX / (double)c;
    return MODEL_OK;
}

/* ---- fitted weights ------------------------------------------------------------------------
 * From the "C table" line of (models/README.md "Market blend"; FILES: the 30 CSV files of
 * /work/shared/data/football)
 *   build/parlay-model eval --from 2006 --to 2014 --report-from 2010 --test-div E0,F1,E1
 *       --market --market-snap mean --print-weights FILES
 * i.e. the snapshot a node has (the mean of the feed's books, Shin; the feed names no book, so
 * the evaluation's Pinnacle-first snapshot is not available to it), log pooling, one weight
 * pooled over the three leagues on the last season in the data (2014-15: 932 games), as the
 * evaluation's default walk-forward rule. Fitted per league on the same season, E0 and E1
 * give the same 1.00; F1 has no 2014-15 games and takes the pooled weight. A weight of 1.00 is
 * the market alone: on recent seasons the model adds nothing the books do not already have. */
const model_blend_weight_row model_blend_weights_fb[] = {
    {"E0", "E0|Premier League|EPL|PL|England Premier League", 1.00},
    {"E1", "E1|Championship|EFL Championship|England Championship", 1.00},
    {"F1", "F1|Ligue 1|L1|France Ligue 1", 1.00},
};
const int model_blend_weights_fb_count =
    (int)(sizeof model_blend_weights_fb / sizeof *model_blend_weights_fb);
const double model_blend_weight_fb_default = 1.00; /* the pooled weight */

static int name_in(const char* list, const char* name)
{
    size_t n = strlen(name);
    for (const char* p = list; *p;) {
        const char* e = strchr(p, '|');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == n && strncmp(p, name, n) == 0)
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

double model_blend_weight_fb(const char* competition)
{
    if (competition && *competition)
        for (int i = 0; i < model_blend_weights_fb_count; i++)
            if (name_in(model_blend_weights_fb[i].names, competition))
                return model_blend_weights_fb[i].weight;
    return model_blend_weight_fb_default;
}
