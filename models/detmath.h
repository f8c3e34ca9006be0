/*
 * detmath.h -- elementary functions that give the same bits on every x86-64 machine.
 *
 * glibc picks exp/log/pow implementations at run time by CPU features (FMA and non-FMA
 * variants), and those may differ in the last bit. Replicas compare prices exactly, so the
 * library computes these functions itself from IEEE additions, multiplications, divisions,
 * sqrt and exact scalings only (no FMA: -std=c11 disables contraction and x86-64 has no FMA by
 * default). Accuracy is a few ulp, far below what pricing needs. Internal to models/.
 */
#ifndef PARLAY_MODELS_DETMATH_H
#define PARLAY_MODELS_DETMATH_H

double model_dm_exp(double x);
double model_dm_log(double x);           /* x > 0; NaN otherwise */
double model_dm_pow(double x, double y); /* x >= 0 */
double model_dm_tanh(double x);
double model_dm_atanh(double x); /* |x| < 1 */
double model_dm_phi(double x);   /* standard normal CDF */

#endif
