/*
 * metrics.c -- scores for probability forecasts of ordered outcomes.
 *
 * Ranked probability score (Constantinou & Fenton 2012): for n ordered outcomes,
 * RPS = 1/(n-1) sum_{i<n-1} (P_i - E_i)^2 with P and E cumulative forecast and outcome;
 * for 1X2 (n = 3) that is 1/2 of the sum over the first two cumulative sums.
 */
#include "models/models.h"
#include "models/detmath.h"

#include <math.h>

double model_rps(const double* p, int n, int k)
{
    if (!p || n < 2 || k < 0 || k >= n)
        return NAN;
    double cp = 0, s = 0;
    for (int i = 0; i < n - 1; i++) {
        cp += p[i];
        double ce = (i >= k) ? 1.0 : 0.0;
        s += (cp - ce) * (cp - ce);
    }
    return s / (n - 1);
}

double model_logloss(const double* p, int n, int k)
{
    if (!p || n < 1 || k < 0 || k >= n)
        return NAN;
    return -model_dm_log(fmax(p[k], 1e-15));
}
