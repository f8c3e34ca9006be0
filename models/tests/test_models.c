/*
 * test_models.c -- unit tests of the pricing library against published check values,
 * hand-computed cases and invariants (markets sum correctly, margins land on the configured
 * overround, bad inputs are refused, results do not depend on input order).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/detmath.h"
#include "models/models.h"

#define GOLDEN_PRICES 0x598f860d0c12fb6ULL

#define assert_close(a, b, tol)                                                         \
    do {                                                                                \
        double a_ = (a), b_ = (b);                                                      \
        if (!(fabs(a_ - b_) <= (tol)))                                                  \
            fail_msg("%s = %.12g, expected %.12g (tol %g)", #a, a_, b_, (double)(tol)); \
    } while (0)

/* ---------------------------------------------------------------- margins */

static void shin_check_value(void** s)
{
    (void)s;
    /* research/pricing.md 3.1 and issue 3: same numbers as the mberk/shin README */
    const double odds[3] = {2.6, 2.4, 4.3};
    double p[3], z;
    assert_int_equal(model_margin_remove(odds, 3, MODEL_MARGIN_SHIN, p, &z), MODEL_OK);
    assert_close(p[0], 0.37299406, 5e-9);
    assert_close(p[1], 0.40477941, 5e-9);
    assert_close(p[2], 0.22222653, 5e-9);
    assert_close(z, 0.016942513, 5e-10);
}

static void remove_other_methods(void** s)
{
    (void)s;
    const double odds[3] = {2.6, 2.4, 4.3};
    double p[3], k;
    assert_int_equal(model_margin_remove(odds, 3, MODEL_MARGIN_POWER, p, &k), MODEL_OK);
    assert_close(k, 1.0321, 5e-5);
    assert_close(p[0], 0.37298, 5e-6);
    assert_close(p[1], 0.40511, 5e-6);
    assert_close(p[2], 0.22191, 5e-6);
    assert_int_equal(model_margin_remove(odds, 3, MODEL_MARGIN_MULTIPLICATIVE, p, NULL), MODEL_OK);
    assert_close(p[0], 0.37203, 5e-6);
    assert_close(p[1], 0.40303, 5e-6);
    assert_close(p[2], 0.22495, 5e-6);
    assert_int_equal(model_margin_remove(odds, 3, MODEL_MARGIN_ADDITIVE, p, NULL), MODEL_OK);
    assert_close(p[0] + p[1] + p[2], 1.0, 1e-12);
    /* r = 1/2.6 - (S - 1)/3: hand computation */
    double S = 1 / 2.6 + 1 / 2.4 + 1 / 4.3;
    assert_close(p[0], 1 / 2.6 - (S - 1) / 3, 1e-12);
}

static void apply_check_values(void** s)
{
    (void)s;
    const double p[3] = {0.45, 0.27, 0.28};
    double o[3], par;
    assert_int_equal(model_margin_apply(p, 3, MODEL_MARGIN_MULTIPLICATIVE, 0.05, o, NULL),
                     MODEL_OK);
    assert_close(o[0], 2.116, 5e-4);
    assert_close(o[1], 3.527, 5e-4);
    assert_close(o[2], 3.401, 5e-4);
    assert_int_equal(model_margin_apply(p, 3, MODEL_MARGIN_POWER, 0.05, o, &par), MODEL_OK);
    assert_close(o[0], 2.143, 5e-4);
    assert_close(o[1], 3.489, 5e-4);
    assert_close(o[2], 3.370, 5e-4);
    assert_close(par, 0.9544, 5e-5);
    assert_int_equal(model_margin_apply(p, 3, MODEL_MARGIN_SHIN, 0.05, o, &par), MODEL_OK);
    assert_close(o[0], 2.136, 5e-4);
    assert_close(o[1], 3.498, 5e-4);
    assert_close(o[2], 3.378, 5e-4);
    assert_close(par, 0.0250, 5e-5);
}

static void margins_land_on_overround(void** s)
{
    (void)s;
    const double p[5] = {0.05, 0.15, 0.3, 0.2, 0.3};
    const double margins[] = {0.0, 0.02, 0.05, 0.12, 0.3};
    for (int m = 0; m < MODEL_MARGIN__COUNT; m++) {
        for (size_t k = 0; k < sizeof margins / sizeof margins[0]; k++) {
            double o[5], back[5], sum = 0;
            assert_int_equal(model_margin_apply(p, 5, m, margins[k], o, NULL), MODEL_OK);
            for (int i = 0; i < 5; i++)
                sum += 1.0 / o[i];
            assert_close(sum, 1.0 + margins[k], 1e-12);
            if (margins[k] > 0) { /* the inverse of the same method gives p back */
                assert_int_equal(model_margin_remove(o, 5, m, back, NULL), MODEL_OK);
                for (int i = 0; i < 5; i++)
                    assert_close(back[i], p[i], 1e-9);
            }
        }
    }
}

static void margin_bad_inputs(void** s)
{
    (void)s;
    double p[3], o[3];
    const double bad_odds[3] = {1.0, 2.0, 3.0}, nan_odds[3] = {2.0, NAN, 3.0};
    assert_int_equal(model_margin_remove(bad_odds, 3, MODEL_MARGIN_SHIN, p, NULL), MODEL_EINVAL);
    assert_int_equal(model_margin_remove(nan_odds, 3, MODEL_MARGIN_POWER, p, NULL), MODEL_EINVAL);
    /* additive makes the long shot negative: refused (Clarke et al. 2017 example shape) */
    const double longshot[3] = {1.05, 15.0, 150.0};
    assert_int_equal(model_margin_remove(longshot, 3, MODEL_MARGIN_ADDITIVE, p, NULL),
                     MODEL_ERANGE);
    /* booksum below 1: Shin and power have no solution */
    const double under[3] = {3.1, 3.1, 3.1};
    assert_int_equal(model_margin_remove(under, 3, MODEL_MARGIN_SHIN, p, NULL), MODEL_ERANGE);
    assert_int_equal(model_margin_remove(under, 3, MODEL_MARGIN_POWER, p, NULL), MODEL_ERANGE);
    const double notsum[3] = {0.3, 0.3, 0.3}, negp[3] = {1.2, -0.1, -0.1},
                 nanp[3] = {NAN, 0.5, 0.5};
    const double fine[3] = {0.5, 0.3, 0.2};
    assert_int_equal(model_margin_apply(notsum, 3, MODEL_MARGIN_POWER, 0.05, o, NULL),
                     MODEL_EINVAL);
    assert_int_equal(model_margin_apply(negp, 3, MODEL_MARGIN_POWER, 0.05, o, NULL), MODEL_EINVAL);
    assert_int_equal(model_margin_apply(nanp, 3, MODEL_MARGIN_SHIN, 0.05, o, NULL), MODEL_EINVAL);
    assert_int_equal(model_margin_apply(fine, 3, MODEL_MARGIN_SHIN, -0.05, o, NULL), MODEL_EINVAL);
    assert_int_equal(model_margin_apply(fine, 3, MODEL_MARGIN_SHIN, NAN, o, NULL), MODEL_EINVAL);
    assert_int_equal(model_margin_apply(fine, 3, (model_margin_method)9, 0.05, o, NULL),
                     MODEL_EINVAL);
}

static void zero_probability_not_offered(void** s)
{
    (void)s;
    const double p[3] = {0.6, 0.0, 0.4};
    double o[3];
    assert_int_equal(model_margin_apply(p, 3, MODEL_MARGIN_SHIN, 0.05, o, NULL), MODEL_OK);
    assert_true(o[1] == 0.0);
    assert_close(1 / o[0] + 1 / o[2], 1.05, 1e-12);
    assert_int_equal(model_price_round(o[1]), 0);
}

static void price_ladder(void** s)
{
    (void)s;
    assert_int_equal(model_price_round(2.0), 2000);
    assert_int_equal(model_price_round(1.0 / 0.5), 2000);
    assert_int_equal(model_price_round(1.999), 1990);
    assert_int_equal(model_price_round(1.015), 1010);
    assert_int_equal(model_price_round(2.039), 2020);
    assert_int_equal(model_price_round(3.33), 3300);
    assert_int_equal(model_price_round(5.55), 5500);
    assert_int_equal(model_price_round(7.9), 7800);
    assert_int_equal(model_price_round(17.9), 17500);
    assert_int_equal(model_price_round(151.0), 150000);
    assert_int_equal(model_price_round(1.001), MODEL_PRICE_MIN);
    assert_int_equal(model_price_round(1e12), MODEL_PRICE_MAX);
    assert_int_equal(model_price_round(NAN), 0);
    assert_int_equal(model_price_round(0.0), 0);
}

static void priced_market_overround(void** s)
{
    (void)s;
    model_quote_cfg cfg;
    model_quote_cfg_default(&cfg);
    const double p[3] = {0.45, 0.27, 0.28};
    for (int m = 0; m < MODEL_MARGIN__COUNT; m++) {
        cfg.method = m;
        for (int ph = 0; ph < MODEL_PHASE__COUNT; ph++) {
            int32_t pr[3];
            assert_int_equal(model_price_market(p, 3, &cfg, MODEL_MKT_1X2, ph, pr), MODEL_OK);
            double book = 0;
            for (int i = 0; i < 3; i++)
                book += 1000.0 / pr[i];
            double want = 1.0 + cfg.margin[MODEL_MKT_1X2][ph];
            /* rounding down to the ladder only ever adds margin, and little */
            assert_true(book >= want - 1e-12);
            assert_true(book <= want + 0.02);
        }
    }
    /* two-way helper, as tennis and basketball markets use it */
    int32_t two[2];
    cfg.method = MODEL_MARGIN_MULTIPLICATIVE;
    assert_int_equal(model_price_two_way(0.5, &cfg, MODEL_MKT_MATCH_WINNER, MODEL_PHASE_PRE, two),
                     MODEL_OK);
    assert_int_equal(two[0], 1900); /* 1 / (0.5 * 1.05) = 1.9048 -> 1.90 */
    assert_int_equal(two[1], 1900);
    assert_int_equal(model_price_two_way(1.5, &cfg, MODEL_MKT_MATCH_WINNER, MODEL_PHASE_PRE, two),
                     MODEL_EINVAL);
    assert_int_equal(model_price_two_way(NAN, &cfg, MODEL_MKT_MATCH_WINNER, MODEL_PHASE_PRE, two),
                     MODEL_EINVAL);
    cfg.margin[MODEL_MKT_BTTS][MODEL_PHASE_LIVE] = -0.1;
    assert_int_equal(model_quote_cfg_check(&cfg), MODEL_EINVAL);
    int32_t pr[3];
    assert_int_equal(model_price_market(p, 3, &cfg, MODEL_MKT_1X2, MODEL_PHASE_PRE, pr), MODEL_OK);
}

/* ---------------------------------------------------------------- football grid and markets */

static double pois(int k, double l)
{
    return exp(-l) * pow(l, k) / tgamma(k + 1.0);
}

static double tau_of(double lam, double mu, double rho, int x, int y)
{
    model_fb_grid a, b;
    assert_int_equal(model_fb_grid_dc(lam, mu, rho, &a), MODEL_OK);
    assert_int_equal(model_fb_grid_dc(lam, mu, 0.0, &b), MODEL_OK);
    return a.p[x][y] / b.p[x][y];
}

static void dc_tau_check_values(void** s)
{
    (void)s;
    /* regista's unit-test vectors (research/pricing.md 1.2); DC keeps the total mass, so the
     * ratio of the rho grid to the plain grid is tau itself */
    assert_close(tau_of(1.2, 1.2, -0.2, 0, 0), 1.288, 1e-9);
    assert_close(tau_of(1.0, 0.8, -0.2, 1, 0), 0.84, 1e-9);
    assert_close(tau_of(0.8, 0.8, -0.2, 1, 1), 1.2, 1e-9);
    assert_close(tau_of(1.3, 0.9, -0.1, 0, 1), 1 + 1.3 * -0.1, 1e-9);
    assert_close(tau_of(1.3, 0.9, -0.1, 2, 1), 1.0, 1e-9);
}

static void dc_rho_clamped(void** s)
{
    (void)s;
    /* unconstrained rho would make P(0-1) and P(1-0) negative (penaltyblog #7) */
    const double rhos[] = {-5.0, -0.9, 0.9, 5.0};
    for (size_t k = 0; k < 4; k++) {
        model_fb_grid g;
        assert_int_equal(model_fb_grid_dc(3.5, 2.5, rhos[k], &g), MODEL_OK);
        double sum = 0;
        for (int i = 0; i < MODEL_FB_GOALS; i++)
            for (int j = 0; j < MODEL_FB_GOALS; j++) {
                assert_true(g.p[i][j] > 0.0);
                sum += g.p[i][j];
            }
        assert_close(sum, 1.0, 1e-12);
    }
}

static void poisson_hand_values(void** s)
{
    (void)s;
    model_fb_grid g;
    model_fb_markets m;
    assert_int_equal(model_fb_grid_dc(1.0, 1.0, 0.0, &g), MODEL_OK);
    assert_int_equal(model_fb_markets_compute(&g, &m), MODEL_OK);
    assert_close(g.p[0][0], exp(-2.0), 1e-12);
    assert_close(m.draw, 0.308508322553671, 1e-11); /* e^-2 I0(2) */
    assert_close(m.home, m.away, 1e-14);
    assert_close(m.btts_yes, 0.39957640089372803, 1e-11);
    assert_close(m.over[2], 0.3233235838169365, 1e-11); /* total ~ Poisson(2) */
    assert_close(m.over[0], 1 - exp(-2.0), 1e-11);
    assert_close(m.home_over[0], 1 - exp(-1.0), 1e-11);
    assert_close(m.cs[1][2], pois(1, 1) * pois(2, 1), 1e-12);
    assert_close(m.next_none, exp(-2.0), 1e-14);
    assert_close(m.next_home, (1 - exp(-2.0)) / 2, 1e-14);
}

static void markets_sum_correctly(void** s)
{
    (void)s;
    model_fb_grid g;
    model_fb_markets m;
    assert_int_equal(model_fb_grid_dc(1.7, 0.9, -0.08, &g), MODEL_OK);
    assert_int_equal(model_fb_markets_compute(&g, &m), MODEL_OK);
    assert_close(m.home + m.draw + m.away, 1.0, 1e-12);
    assert_close(m.dc_1x + m.dc_12 + m.dc_x2, 2.0, 1e-12);
    assert_close(m.dnb_home + m.dnb_away, 1.0, 1e-12);
    assert_close(m.dnb_home, m.home / (m.home + m.away), 1e-12);
    for (int k = 1; k < MODEL_FB_TOTAL_LINES; k++)
        assert_true(m.over[k] < m.over[k - 1]);
    double cs = m.cs_other, wm = 0;
    for (int h = 0; h < MODEL_FB_CS_MAX; h++)
        for (int a = 0; a < MODEL_FB_CS_MAX; a++)
            cs += m.cs[h][a];
    for (int k = 0; k < MODEL_FB_MARGIN_OUT; k++)
        wm += m.win_margin[k];
    assert_close(cs, 1.0, 1e-12);
    assert_close(wm, 1.0, 1e-12);
    assert_close(m.win_margin[4], m.draw, 1e-12);
    assert_close(m.win_margin[0] + m.win_margin[1] + m.win_margin[2] + m.win_margin[3], m.home,
                 1e-12);
    assert_close(
        m.btts_yes,
        1 - (g.p[0][0] + (1 - m.home_over[0] - g.p[0][0]) + (1 - m.away_over[0] - g.p[0][0])),
        1e-12);
    assert_close(m.next_home + m.next_none + m.next_away, 1.0, 1e-12);
    for (int k = 0; k < MODEL_FB_AH_LINES; k++) {
        const model_ah_probs* a = &m.ah[k];
        assert_close(a->p[0] + a->p[1] + a->p[2] + a->p[3] + a->p[4], 1.0, 1e-12);
        assert_close(a->eff_home + a->eff_away, 1.0, 1e-12);
        if (k)
            assert_true(a->eff_home > m.ah[k - 1].eff_home); /* more start, more likely */
    }
    /* line index: -3 + 0.25 k */
    assert_close(m.ah[12].eff_home, m.dnb_home, 1e-12);          /* 0.0 = draw no bet */
    assert_close(m.ah[10].eff_home, m.home, 1e-12);              /* -0.5 = home win */
    assert_close(m.ah[14].eff_home, m.home + m.draw, 1e-12);     /* +0.5 = home or draw */
    assert_close(m.ah[11].p[MODEL_AH_HALF_LOSS], m.draw, 1e-12); /* -0.25: draw half lost */
    assert_close(m.ah[11].p[MODEL_AH_WIN], m.home, 1e-12);
    /* -0.25: fair 1/o = (H) / (H + A + D/2) */
    assert_close(m.ah[11].eff_home, m.home / (m.home + m.away + m.draw / 2), 1e-12);
}

static void asian_settlement(void** s)
{
    (void)s;
    const struct
    {
        double line;
        int diff;
        model_ah_result r;
    } cases[] = {
        {-0.25, 0, MODEL_AH_HALF_LOSS},  {-0.25, 1, MODEL_AH_WIN},
        {-0.25, -1, MODEL_AH_LOSS},      {+0.25, 0, MODEL_AH_HALF_WIN},
        {+0.25, -1, MODEL_AH_LOSS},      {-0.75, 1, MODEL_AH_HALF_WIN},
        {-0.75, 2, MODEL_AH_WIN},        {-0.75, 0, MODEL_AH_LOSS},
        {+0.75, -1, MODEL_AH_HALF_LOSS}, {+0.75, 0, MODEL_AH_WIN},
        {-1.0, 1, MODEL_AH_PUSH},        {-1.0, 2, MODEL_AH_WIN},
        {-1.25, 1, MODEL_AH_HALF_LOSS},  {-1.5, 1, MODEL_AH_LOSS},
        {-1.75, 2, MODEL_AH_HALF_WIN},   {+1.0, -1, MODEL_AH_PUSH},
        {+1.25, -1, MODEL_AH_HALF_WIN},  {0.0, 0, MODEL_AH_PUSH},
        {0.0, 3, MODEL_AH_WIN},          {-2.25, 2, MODEL_AH_HALF_LOSS},
        {+2.5, -2, MODEL_AH_WIN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        model_ah_result r;
        assert_int_equal(model_ah_settle(cases[i].line, cases[i].diff, &r), MODEL_OK);
        if (r != cases[i].r)
            fail_msg("line %+.2f diff %d: got %d want %d", cases[i].line, cases[i].diff, r,
                     cases[i].r);
    }
    model_ah_result r;
    assert_int_equal(model_ah_settle(0.1, 0, &r), MODEL_EINVAL);
    assert_int_equal(model_ah_settle(NAN, 0, &r), MODEL_EINVAL);
    assert_close(model_ah_payout(MODEL_AH_HALF_WIN, 1.90), 1.45, 1e-12);
    assert_close(model_ah_payout(MODEL_AH_HALF_LOSS, 1.90), 0.5, 1e-12);
    assert_close(model_ah_payout(MODEL_AH_PUSH, 1.90), 1.0, 1e-12);
    /* the fair price makes every Asian bet break even under the model */
    model_fb_grid g;
    assert_int_equal(model_fb_grid_dc(1.4, 1.1, -0.05, &g), MODEL_OK);
    const double lines[] = {-1.75, -0.75, -0.25, 0.25, 1.0};
    for (size_t k = 0; k < 5; k++) {
        model_ah_probs a;
        assert_int_equal(model_fb_asian(&g, lines[k], &a), MODEL_OK);
        double o = 1.0 / a.eff_home, ev = 0;
        for (int res = 0; res < 5; res++)
            ev += a.p[res] * model_ah_payout(res, o);
        assert_close(ev, 1.0, 1e-12);
    }
    assert_int_equal(model_fb_asian(&g, 0.3, &(model_ah_probs){0}), MODEL_EINVAL);
}

/* The market set reads Asian lines from the cumulative difference distribution; it must
 * agree with settling every score one by one (model_fb_asian), pre-match and in play. */
static void asian_fast_matches_settlement(void** s)
{
    (void)s;
    model_fb_live_params lp;
    model_fb_live_params_default(&lp);
    model_fb_live st = {1.9, 0.8, -0.1, 70, 2, 0, 2, 1, 0};
    model_fb_grid grids[2];
    assert_int_equal(model_fb_grid_dc(2.2, 0.7, -0.07, &grids[0]), MODEL_OK);
    assert_int_equal(model_fb_grid_live(&st, &lp, &grids[1]), MODEL_OK);
    for (int k = 0; k < 2; k++) {
        model_fb_markets m;
        assert_int_equal(model_fb_markets_compute(&grids[k], &m), MODEL_OK);
        for (int l = 0; l < MODEL_FB_AH_LINES; l++) {
            model_ah_probs a;
            assert_int_equal(model_fb_asian(&grids[k], -3.0 + 0.25 * l, &a), MODEL_OK);
            for (int r = 0; r < 5; r++)
                assert_close(m.ah[l].p[r], a.p[r], 1e-12);
            assert_close(m.ah[l].eff_home, a.eff_home, 1e-12);
        }
        /* and the other markets agree with direct sums over the grid */
        double home = 0, over25 = 0, btts = 0;
        for (int i = 0; i < MODEL_FB_GOALS; i++)
            for (int j = 0; j < MODEL_FB_GOALS; j++) {
                int h = grids[k].base_home + i, a = grids[k].base_away + j;
                home += h > a ? grids[k].p[i][j] : 0;
                over25 += h + a > 2 ? grids[k].p[i][j] : 0;
                btts += (h > 0 && a > 0) ? grids[k].p[i][j] : 0;
            }
        assert_close(m.home, home, 1e-12);
        assert_close(m.over[2], over25, 1e-12);
        assert_close(m.btts_yes, btts, 1e-12);
    }
}

static void football_bad_inputs(void** s)
{
    (void)s;
    model_fb_grid g;
    assert_int_equal(model_fb_grid_dc(NAN, 1.0, 0, &g), MODEL_EINVAL);
    assert_int_equal(model_fb_grid_dc(-0.1, 1.0, 0, &g), MODEL_EINVAL);
    assert_int_equal(model_fb_grid_dc(1.0, INFINITY, 0, &g), MODEL_EINVAL);
    assert_int_equal(model_fb_grid_dc(1.0, 1.0, NAN, &g), MODEL_EINVAL);
    model_fb_live_params lp;
    model_fb_live_params_default(&lp);
    model_fb_live ok = {1.5, 1.1, -0.05, 30, 1, 0, 0, 0, 0};
    assert_int_equal(model_fb_grid_live(&ok, &lp, &g), MODEL_OK);
    model_fb_live b = ok;
    b.minute = -1;
    assert_int_equal(model_fb_grid_live(&b, &lp, &g), MODEL_EINVAL);
    b = ok, b.half = 3;
    assert_int_equal(model_fb_grid_live(&b, &lp, &g), MODEL_EINVAL);
    b = ok, b.half = 2, b.minute = 30; /* second half cannot be at minute 30 */
    assert_int_equal(model_fb_grid_live(&b, &lp, &g), MODEL_EINVAL);
    b = ok, b.home_goals = -1;
    assert_int_equal(model_fb_grid_live(&b, &lp, &g), MODEL_EINVAL);
    b = ok, b.away_reds = 5;
    assert_int_equal(model_fb_grid_live(&b, &lp, &g), MODEL_EINVAL);
    b = ok, b.minute = NAN;
    assert_int_equal(model_fb_grid_live(&b, &lp, &g), MODEL_EINVAL);
    b = ok, b.lambda = -1;
    assert_int_equal(model_fb_grid_live(&b, &lp, &g), MODEL_EINVAL);
    lp.red_penalised = NAN;
    assert_int_equal(model_fb_grid_live(&ok, &lp, &g), MODEL_EINVAL);
}

/* ---------------------------------------------------------------- football live */

static void live_at_kickoff_is_prematch(void** s)
{
    (void)s;
    model_fb_live_params lp;
    model_fb_live_params_default(&lp);
    model_fb_live st = {1.6, 1.2, -0.06, 0, 1, 0, 0, 0, 0};
    model_fb_grid a, b;
    assert_int_equal(model_fb_grid_live(&st, &lp, &a), MODEL_OK);
    assert_int_equal(model_fb_grid_dc(1.6, 1.2, -0.06, &b), MODEL_OK);
    assert_close(a.lambda, 1.6, 1e-12);
    assert_close(a.mu, 1.2, 1e-12);
    for (int i = 0; i < MODEL_FB_GOALS; i++)
        for (int j = 0; j < MODEL_FB_GOALS; j++)
            assert_close(a.p[i][j], b.p[i][j], 1e-14);
}

static void live_time_cards_score(void** s)
{
    (void)s;
    model_fb_live_params lp;
    model_fb_live_params_default(&lp);
    /* flat intensity and no stoppage: half time leaves exactly half of the goals */
    lp.late_slope = 0;
    lp.stoppage_1 = lp.stoppage_2 = 0;
    model_fb_live st = {1.6, 1.2, 0, 45, 2, 0, 0, 0, 0};
    model_fb_grid g;
    assert_int_equal(model_fb_grid_live(&st, &lp, &g), MODEL_OK);
    assert_close(g.lambda, 0.8, 1e-12);
    assert_close(g.mu, 0.6, 1e-12);
    /* a home red card: 0.66 for home, 1.24 for away */
    st.home_reds = 1;
    assert_int_equal(model_fb_grid_live(&st, &lp, &g), MODEL_OK);
    assert_close(g.lambda, 0.8 * 0.66, 1e-12);
    assert_close(g.mu, 0.6 * 1.24, 1e-12);
    /* home one goal down: +10% for home */
    st.home_reds = 0;
    st.away_goals = 1;
    assert_int_equal(model_fb_grid_live(&st, &lp, &g), MODEL_OK);
    assert_close(g.lambda, 0.8 * 1.10, 1e-12);
    assert_int_equal(g.base_away, 1);
    /* with default parameters: the later, the fewer goals left; late-game intensity */
    model_fb_live_params_default(&lp);
    double prev = 1e9;
    for (int minute = 0; minute <= 90; minute += 5) {
        model_fb_live t = {1.6, 1.2, 0, minute, minute <= 45 ? 1 : 2, 0, 0, 0, 0};
        assert_int_equal(model_fb_grid_live(&t, &lp, &g), MODEL_OK);
        assert_true(g.lambda < prev);
        prev = g.lambda;
    }
    assert_true(prev > 0); /* stoppage still to come at 90:00 */
    model_fb_live t1 = {1.6, 1.2, 0, 45, 2, 0, 0, 0, 0};
    assert_int_equal(model_fb_grid_live(&t1, &lp, &g), MODEL_OK);
    assert_true(g.lambda > 0.8); /* the second half scores more than the first */
}

static void live_markets(void** s)
{
    (void)s;
    model_fb_live_params lp;
    model_fb_live_params_default(&lp);
    model_fb_live st = {1.4, 1.3, -0.05, 80, 2, 2, 1, 0, 0};
    model_fb_grid g;
    model_fb_markets m;
    assert_int_equal(model_fb_grid_live(&st, &lp, &g), MODEL_OK);
    assert_int_equal(model_fb_markets_compute(&g, &m), MODEL_OK);
    assert_true(m.home > 0.8);
    assert_close(m.home + m.draw + m.away, 1.0, 1e-12);
    assert_close(m.over[2], 1.0, 1e-12); /* three goals already scored */
    assert_close(m.btts_yes, 1.0, 1e-12);
    assert_close(m.cs[2][1], g.p[0][0], 1e-15);
    assert_close(m.next_home + m.next_none + m.next_away, 1.0, 1e-12);
    /* Asian lines count only goals from now on: at -0.0 it is a coin flip weighted by rates */
    assert_true(m.ah[12].eff_home < 0.6);
    model_quote_cfg cfg;
    model_quote_cfg_default(&cfg);
    model_fb_prices pr;
    assert_int_equal(model_fb_quote(&m, &cfg, MODEL_PHASE_LIVE, &pr), MODEL_OK);
    assert_true(pr.next_goal[0] >= MODEL_PRICE_MIN);
    assert_int_equal(pr.over[0], 0); /* over 0.5 is already won: not offered */
    assert_true(pr.under[0] == 0);
}

static void full_quote(void** s)
{
    (void)s;
    model_fb_grid g;
    model_fb_markets m;
    model_quote_cfg cfg;
    model_fb_prices pr;
    model_quote_cfg_default(&cfg);
    assert_int_equal(model_fb_grid_dc(1.5, 1.1, -0.05, &g), MODEL_OK);
    assert_int_equal(model_fb_markets_compute(&g, &m), MODEL_OK);
    assert_int_equal(model_fb_quote(&m, &cfg, MODEL_PHASE_PRE, &pr), MODEL_OK);
    const int32_t* all = (const int32_t*)&pr;
    for (size_t i = 0; i < sizeof pr / sizeof(int32_t); i++)
        assert_true(all[i] == 0 || (all[i] >= MODEL_PRICE_MIN && all[i] <= MODEL_PRICE_MAX));
    assert_int_equal(pr.next_goal[0], 0); /* pre-match: no next-goal market */
    double book = 0;
    for (int i = 0; i < 3; i++)
        book += 1000.0 / pr.x12[i];
    assert_true(book >= 1.05 && book < 1.07);
    assert_true(pr.x12[0] < pr.x12[2]); /* home favourite */
    cfg.method = (model_margin_method)7;
    assert_int_equal(model_fb_quote(&m, &cfg, MODEL_PHASE_PRE, &pr), MODEL_EINVAL);
}

/* ---------------------------------------------------------------- football fit */

/* Deterministic synthetic league: 12 teams with known strengths. */
static uint64_t rng_state;
static double rng_u(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((rng_state >> 11) + 0.5) / 9007199254740992.0;
}
static int rng_pois(double l)
{
    double L = exp(-l), p = 1;
    int k = 0;
    do {
        k++;
        p *= rng_u();
    } while (p > L);
    return k - 1;
}

static size_t synth_league(model_fb_game* g, size_t cap, double* att, double* def)
{
    rng_state = 42;
    for (int t = 0; t < 12; t++) {
        att[t] = 0.5 * (t - 5.5) / 5.5;
        def[t] = -0.4 * (t - 5.5) / 5.5;
    }
    size_t n = 0;
    for (int season = 0; season < 3; season++)
        for (int h = 0; h < 12; h++)
            for (int a = 0; a < 12; a++) {
                if (h == a || n == cap)
                    continue;
                double lam = exp(0.1 + 0.3 + att[h] + def[a]), mu = exp(0.1 + att[a] + def[h]);
                model_fb_game* x = &g[n++];
                memset(x, 0, sizeof *x);
                x->day = season * 300 + (h * 12 + a) % 200;
                x->home = h;
                x->away = a;
                x->home_goals = rng_pois(lam);
                x->away_goals = rng_pois(mu);
                x->home_shots = x->away_shots = x->home_sot = x->away_sot = -1;
            }
    return n;
}

static void fit_recovers_ratings(void** s)
{
    (void)s;
    static model_fb_game g[500];
    double att[12], def[12];
    size_t n = synth_league(g, 500, att, def);
    model_fb_fit_opts o;
    model_fb_fit_opts_default(&o);
    o.xi = 0.0;
    o.ridge = 0.5;
    model_fb_params* p = calloc(1, sizeof *p);
    assert_int_equal(model_fb_fit(g, n, 10000, &o, NULL, p), MODEL_OK);
    assert_true(p->iterations > 0 && p->iterations < o.max_iter);
    assert_close(p->hfa, 0.3, 0.12);
    assert_true(fabs(p->rho) < 0.3);
    /* strongest attack and weakest defence are recovered in the right order */
    assert_true(p->att[11] - p->att[0] > 0.5);
    assert_true(p->def[0] - p->def[11] > 0.4);
    double lam, mu;
    assert_int_equal(model_fb_rates(p, 11, 0, 0, &lam, &mu), MODEL_OK);
    assert_true(lam > 2.0 * mu);
    /* neutral venue removes the home advantage */
    double l2, m2;
    assert_int_equal(model_fb_rates(p, 11, 0, 1, &l2, &m2), MODEL_OK);
    assert_close(l2, lam * exp(-p->hfa), 1e-12);
    /* a team never seen gets the newcomer prior: weaker than average, not an error */
    assert_int_equal(model_fb_rates(p, 40, 0, 0, &lam, &mu), MODEL_OK);
    double la, ma;
    assert_int_equal(model_fb_rates(p, 40, 11, 0, &la, &ma), MODEL_OK);
    assert_true(ma > la * 0.9);
    assert_true(p->prior_att < 0 && p->prior_def > 0);
    /* only games before the pricing day count */
    model_fb_params* q = calloc(1, sizeof *q);
    assert_int_equal(model_fb_fit(g, n, 300, &o, NULL, q), MODEL_OK);
    assert_true(memcmp(p->att, q->att, sizeof p->att) != 0);
    assert_int_equal(model_fb_fit(g, n, 0, &o, NULL, q), MODEL_OK); /* nothing before: defaults */
    assert_int_equal(model_fb_rates(q, 1, 2, 0, &lam, &mu), MODEL_OK);
    assert_true(lam > mu);
    free(p);
    free(q);
}

static void implied_rates_round_trip(void** s)
{
    (void)s;
    const double cases[][3] = {
        {1.386, 1.033, 0.0}, {1.9, 0.57, -0.08}, {0.85, 1.6, 0.05}, {0.6, 0.6, 0.0}};
    for (size_t k = 0; k < 4; k++) {
        model_fb_grid g;
        model_fb_markets m;
        assert_int_equal(model_fb_grid_dc(cases[k][0], cases[k][1], cases[k][2], &g), MODEL_OK);
        assert_int_equal(model_fb_markets_compute(&g, &m), MODEL_OK);
        double l, u;
        assert_int_equal(model_fb_implied_rates(m.home, m.away, cases[k][2], &l, &u), MODEL_OK);
        assert_close(l, cases[k][0], 1e-6);
        assert_close(u, cases[k][1], 1e-6);
    }
    double l, u;
    assert_int_equal(model_fb_implied_rates(0.6, 0.5, 0, &l, &u), MODEL_EINVAL); /* sums above 1 */
    assert_int_equal(model_fb_implied_rates(NAN, 0.3, 0, &l, &u), MODEL_EINVAL);
    assert_int_equal(model_fb_implied_rates(0.5, 0.49, 0, &l, &u),
                     MODEL_ERANGE); /* 1% draws: rates > 10 */
}

/* Expected goals from another source move the ratings when weighted, and only then. */
static void fit_uses_xg_when_asked(void** s)
{
    (void)s;
    static model_fb_game g[500];
    double att[12], def[12];
    size_t n = synth_league(g, 500, att, def);
    for (size_t i = 0; i < n; i++) /* a feed that rates team 0 far above its goals */
        if (g[i].home == 0) {
            g[i].home_xg = 4.0;
            g[i].away_xg = 0.3;
        }
    model_fb_fit_opts o;
    model_fb_fit_opts_default(&o);
    model_fb_params *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    assert_int_equal(model_fb_fit(g, n, 900, &o, NULL, a), MODEL_OK);
    o.xg_weight = 0.5;
    assert_int_equal(model_fb_fit(g, n, 900, &o, NULL, b), MODEL_OK);
    assert_true(b->att[0] > a->att[0] + 0.2);
    o.xg_weight = 0.8; /* with shots 0.3: more than everything */
    assert_int_equal(model_fb_fit(g, n, 900, &o, NULL, b), MODEL_EINVAL);
    o.xg_weight = 0.5;
    g[3].home_xg = NAN;
    assert_int_equal(model_fb_fit(g, n, 900, &o, NULL, b), MODEL_EINVAL);
    free(a);
    free(b);
}

static void fit_bad_inputs(void** s)
{
    (void)s;
    model_fb_game g[2] = {{10, 0, 1, 1, 0, 0, -1, -1, -1, -1, 0, 0},
                          {11, 1, 1, 1, 0, 0, -1, -1, -1, -1, 0, 0}};
    model_fb_fit_opts o;
    model_fb_fit_opts_default(&o);
    model_fb_params* p = calloc(1, sizeof *p);
    assert_int_equal(model_fb_fit(g, 2, 100, &o, NULL, p), MODEL_EINVAL); /* team plays itself */
    g[1].away = 2;
    g[1].home_goals = -3;
    assert_int_equal(model_fb_fit(g, 2, 100, &o, NULL, p), MODEL_EINVAL);
    g[1].home_goals = 1;
    g[1].home = MODEL_FB_MAX_TEAMS;
    assert_int_equal(model_fb_fit(g, 2, 100, &o, NULL, p), MODEL_EINVAL);
    g[1].home = 1;
    o.xi = NAN;
    assert_int_equal(model_fb_fit(g, 2, 100, &o, NULL, p), MODEL_EINVAL);
    model_fb_fit_opts_default(&o);
    assert_int_equal(model_fb_fit(g, 2, 100, &o, NULL, p), MODEL_OK);
    double l, m;
    assert_int_equal(model_fb_rates(p, 1, 1, 0, &l, &m), MODEL_EINVAL);
    assert_int_equal(model_fb_rates(p, -1, 1, 0, &l, &m), MODEL_EINVAL);
    free(p);
}

/* Issue 3: "a test proves it by computing a fixed set of games twice in different orders and
 * comparing bytes". The fit sees the games in two orders; then every game is priced in two
 * orders; fits and prices must be bit-identical. */
static void deterministic_any_order(void** s)
{
    (void)s;
    static model_fb_game g[500], r[500];
    double att[12], def[12];
    size_t n = synth_league(g, 500, att, def);
    for (size_t i = 0; i < n; i++) /* a fixed permutation: reversed with a stride */
        r[i] = g[(n - 1 - (i * 7) % n)];
    model_fb_fit_opts o;
    model_fb_fit_opts_default(&o);
    model_fb_params *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    assert_int_equal(model_fb_fit(g, n, 900, &o, NULL, a), MODEL_OK);
    assert_int_equal(model_fb_fit(r, n, 900, &o, NULL, b), MODEL_OK);
    assert_memory_equal(a, b, sizeof *a);

    model_quote_cfg cfg;
    model_quote_cfg_default(&cfg);
    cfg.method = MODEL_MARGIN_SHIN;
    enum { NG = 132 };
    static model_fb_prices first[NG], second[NG];
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < NG; k++) {
            int idx = pass == 0 ? k : NG - 1 - k;
            int h = idx / 11, aw = idx % 11;
            if (aw >= h)
                aw++;
            double lam, mu;
            model_fb_grid gr;
            model_fb_markets m;
            assert_int_equal(model_fb_rates(pass ? b : a, h, aw, 0, &lam, &mu), MODEL_OK);
            assert_int_equal(model_fb_grid_dc(lam, mu, a->rho, &gr), MODEL_OK);
            assert_int_equal(model_fb_markets_compute(&gr, &m), MODEL_OK);
            assert_int_equal(
                model_fb_quote(&m, &cfg, MODEL_PHASE_PRE, pass ? &second[idx] : &first[idx]),
                MODEL_OK);
        }
    }
    assert_memory_equal(first, second, sizeof first);
    free(a);
    free(b);
}

/* ---------------------------------------------------------------- tennis */

static void tennis_hold_check_values(void** s)
{
    (void)s;
    assert_close(model_tennis_hold(2.0 / 3.0), 208.0 / 243.0, 1e-14);
    assert_close(model_tennis_hold(0.64), 0.8126, 5e-5);
    assert_close(model_tennis_hold(0.60), 0.7357, 5e-5);
    assert_close(model_tennis_hold(0.5), 0.5, 1e-15);
    /* O'Malley's closed form */
    double p = 0.62, q = 1 - p;
    assert_close(
        model_tennis_hold(p),
        pow(p, 4) * (1 + 4 * q + 10 * q * q) + 20 * pow(p * q, 3) * p * p / (1 - 2 * p * q), 1e-14);
    assert_true(isnan(model_tennis_hold(1.5)));
}

static void tennis_symmetry_and_sums(void** s)
{
    (void)s;
    assert_close(model_tennis_tiebreak(0.63, 0.63), 0.5, 1e-12);
    assert_close(model_tennis_tiebreak(0.7, 0.6) + model_tennis_tiebreak(0.6, 0.7), 1.0, 1e-12);
    for (int bo = 3; bo <= 5; bo += 2) {
        model_tennis_state st = {bo, 0.64, 0.64, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
        model_tennis_result* r = calloc(1, sizeof *r);
        assert_int_equal(model_tennis_price(&st, r), MODEL_OK);
        assert_close(r->match_a, 0.5, 1e-12);
        double ss = 0, gs = 0;
        for (int a = 0; a < 6; a++)
            for (int b = 0; b < 6; b++)
                ss += r->set_score[a][b];
        for (int a = 0; a < MODEL_TENNIS_MAX_GAMES; a++)
            for (int b = 0; b < MODEL_TENNIS_MAX_GAMES; b++)
                gs += r->games[a][b];
        assert_close(ss, 1.0, 1e-12);
        assert_close(gs, 1.0, 1e-12);
        assert_close(r->set_score[bo / 2 + 1][0], r->set_score[0][bo / 2 + 1], 1e-12);
        assert_close(model_tennis_handicap_a(r, 0.5) + model_tennis_handicap_a(r, -0.5) -
                         model_tennis_handicap_a(r, 0.5) * 2,
                     0.0, 0.2); /* shape sanity */
        assert_true(model_tennis_total_over(r, 20.5) > model_tennis_total_over(r, 24.5));
        free(r);
    }
}

static void tennis_live_consistency(void** s)
{
    (void)s;
    model_tennis_result *r0 = calloc(1, sizeof *r0), *r1 = calloc(1, sizeof *r1),
                        *r2 = calloc(1, sizeof *r2);
    double pa = 0.66, pb = 0.61;
    /* start = hold * P(after 1-0, B serves) + (1 - hold) * P(after 0-1, B serves) */
    model_tennis_state st = {3, pa, pb, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    assert_int_equal(model_tennis_price(&st, r0), MODEL_OK);
    st.games_a = 1, st.server_a = 0;
    assert_int_equal(model_tennis_price(&st, r1), MODEL_OK);
    st.games_a = 0, st.games_b = 1;
    assert_int_equal(model_tennis_price(&st, r2), MODEL_OK);
    double h = model_tennis_hold(pa);
    assert_close(r0->match_a, h * r1->match_a + (1 - h) * r2->match_a, 1e-12);
    /* point level: 0-0 in a game = p * (15-0) + q * (0-15) */
    model_tennis_state a = {5, pa, pb, 1, 1, 10, 10, 3, 2, 0, 0, 1, 0}, b = a, c = a;
    b.points_a = 1;
    c.points_b = 1;
    assert_int_equal(model_tennis_price(&a, r0), MODEL_OK);
    assert_int_equal(model_tennis_price(&b, r1), MODEL_OK);
    assert_int_equal(model_tennis_price(&c, r2), MODEL_OK);
    assert_close(r0->match_a, pa * r1->match_a + (1 - pa) * r2->match_a, 1e-12);
    /* in a tie-break at 6-6 points, B to serve, next two points one each */
    model_tennis_state t = {3, pa, pb, 1, 1, 11, 12, 6, 6, 6, 6, 0, 0};
    assert_int_equal(model_tennis_price(&t, r0), MODEL_OK);
    double xa = pa, xb = 1 - pb, tie = xa * xb / (xa * xb + (1 - xa) * (1 - xb));
    assert_close(r0->set_a, tie, 1e-12);
    assert_close(r0->match_a, tie, 1e-12); /* final set */
    assert_close(r0->set_score[2][1], tie, 1e-12);
    /* total games: 11 + 12 in finished sets plus a 13-game set = 36 */
    assert_close(model_tennis_total_over(r0, 35.5), 1.0, 1e-12);
    assert_close(model_tennis_total_over(r0, 36.5), 0.0, 1e-12);
    assert_close(model_tennis_handicap_a(r0, 0.5), tie, 1e-12); /* 18-18 if A wins, 17-19 if not */
    /* best of three at one set all: the match is the current set */
    model_tennis_state u = {3, pa, pb, 1, 1, 9, 10, 2, 3, 1, 2, 1, 0};
    assert_int_equal(model_tennis_price(&u, r0), MODEL_OK);
    assert_close(r0->match_a, r0->set_a, 1e-12);
    free(r0);
    free(r1);
    free(r2);
}

/* Grand Slam rule since 2022: the deciding set's tie-break at 6-6 goes to 10 points. */
static void tennis_final_set_tiebreak_to_10(void** s)
{
    (void)s;
    model_tennis_result *r7 = calloc(1, sizeof *r7), *r10 = calloc(1, sizeof *r10);
    double pa = 0.67, pb = 0.62, xa = pa, xb = 1 - pb;
    double tie = xa * xb / (xa * xb + (1 - xa) * (1 - xb));
    /* deciding set at 6-6, tie-break 0-0, A to serve */
    model_tennis_state t7 = {5, pa, pb, 2, 2, 24, 24, 6, 6, 0, 0, 1, 0}, t10 = t7;
    t10.final_set_tb10 = 1;
    assert_int_equal(model_tennis_price(&t7, r7), MODEL_OK);
    assert_int_equal(model_tennis_price(&t10, r10), MODEL_OK);
    /* the better server gains from a longer tie-break */
    assert_true(r10->match_a > r7->match_a);
    assert_close(r7->match_a, model_tennis_tiebreak(pa, pb), 1e-12);
    /* at 9-9 the next two points are one serve each: the tie closed form */
    t10.points_a = t10.points_b = 9;
    assert_int_equal(model_tennis_price(&t10, r10), MODEL_OK);
    assert_close(r10->match_a, tie, 1e-12);
    /* 8-3 is still being played in a 10-point tie-break, over in a 7-point one */
    t10.points_a = 8, t10.points_b = 3;
    assert_int_equal(model_tennis_price(&t10, r10), MODEL_OK);
    assert_true(r10->match_a > 0.9);
    t7.points_a = 8, t7.points_b = 3;
    assert_int_equal(model_tennis_price(&t7, r7), MODEL_EINVAL);
    /* not the deciding set: the rule does not apply (7-3 there is over) */
    model_tennis_state n = {5, pa, pb, 1, 2, 20, 20, 6, 6, 7, 3, 1, 1};
    assert_int_equal(model_tennis_price(&n, r7), MODEL_EINVAL);
    /* symmetric players: still a coin flip */
    model_tennis_state sym = {5, 0.64, 0.64, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1};
    assert_int_equal(model_tennis_price(&sym, r10), MODEL_OK);
    assert_close(r10->match_a, 0.5, 1e-12);
    sym.final_set_tb10 = 2;
    assert_int_equal(model_tennis_price(&sym, r10), MODEL_EINVAL);
    free(r7);
    free(r10);
}

static void tennis_bad_inputs(void** s)
{
    (void)s;
    model_tennis_result* r = calloc(1, sizeof *r);
    model_tennis_state ok = {3, 0.64, 0.62, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, b;
    assert_int_equal(model_tennis_price(&ok, r), MODEL_OK);
    b = ok, b.best_of = 4;
    assert_int_equal(model_tennis_price(&b, r), MODEL_EINVAL);
    b = ok, b.pa = NAN;
    assert_int_equal(model_tennis_price(&b, r), MODEL_EINVAL);
    b = ok, b.pb = 1.0;
    assert_int_equal(model_tennis_price(&b, r), MODEL_EINVAL);
    b = ok, b.sets_a = 2; /* match already won */
    assert_int_equal(model_tennis_price(&b, r), MODEL_EINVAL);
    b = ok, b.games_a = 6, b.games_b = 2; /* set already over */
    assert_int_equal(model_tennis_price(&b, r), MODEL_EINVAL);
    b = ok, b.points_a = 4, b.points_b = 1; /* game already over */
    assert_int_equal(model_tennis_price(&b, r), MODEL_EINVAL);
    b = ok, b.points_a = 9, b.points_b = 3; /* impossible score */
    assert_int_equal(model_tennis_price(&b, r), MODEL_EINVAL);
    b = ok, b.games_a = -1;
    assert_int_equal(model_tennis_price(&b, r), MODEL_EINVAL);
    b = ok, b.server_a = 2;
    assert_int_equal(model_tennis_price(&b, r), MODEL_EINVAL);
    free(r);
    assert_true(isnan(model_tennis_total_over(NULL, 20.5)));
    assert_close(model_tennis_bc_serve(0.64, 0.68, 0.64, 0.36, 0.36), 0.68, 1e-15);
    assert_close(model_tennis_bc_serve(0.64, 0.64, 0.64, 0.40, 0.36), 0.60, 1e-15);
}

/* ---------------------------------------------------------------- basketball */

static void basketball(void** s)
{
    (void)s;
    model_bb_state st = {0, 12, 220, 18, 0, 0, 0};
    model_bb_result r;
    assert_int_equal(model_bb_price(&st, &r), MODEL_OK);
    assert_close(r.home_win, 0.5, 1e-15);
    /* Brownian motion: lead 5 with a quarter left, drift 3, sd 12 -> Phi(5.75 / 6) */
    model_bb_state live = {3, 12, 220, 18, 0.75, 5, 170};
    assert_int_equal(model_bb_price(&live, &r), MODEL_OK);
    assert_close(r.home_win, 0.831052649787595, 1e-12);
    assert_close(r.mean_margin, 5.75, 1e-12);
    assert_close(r.sd_margin, 6.0, 1e-12);
    assert_close(r.mean_total, 225.0, 1e-12);
    double w, p, w2, p2;
    /* final margin ~ N(5.75, 6); integer margins with the continuity correction */
    model_bb_spread(&r, 5.5, &w, &p);
    assert_close(p, 0.0, 0);
    assert_close(w, 0.5166177864903634, 1e-12); /* P(M >= 6) = 1 - Phi((5.5 - 5.75) / 6) */
    model_bb_spread(&r, 5.0, &w2, &p2);
    assert_close(w2, w, 1e-15);                  /* -5 is also won from 6 up */
    assert_close(p2, 0.0658978603301591, 1e-12); /* P(M == 5) */
    model_bb_total(&r, 224.5, &w, &p);
    assert_true(w > 0.5);
    model_bb_spread(&r, NAN, &w, &p);
    assert_true(isnan(w) && isnan(p));
    model_bb_state bad = st;
    bad.margin_sd = 0;
    assert_int_equal(model_bb_price(&bad, &r), MODEL_EINVAL);
    bad = st, bad.t = 1.0;
    assert_int_equal(model_bb_price(&bad, &r), MODEL_EINVAL);
    bad = st, bad.margin_mean = NAN;
    assert_int_equal(model_bb_price(&bad, &r), MODEL_EINVAL);
    bad = live, bad.lead = 300;
    assert_int_equal(model_bb_price(&bad, &r), MODEL_EINVAL);
}

/* ---------------------------------------------------------------- deterministic math */

static double rel(double a, double b)
{
    return a == b ? 0.0 : fabs(a - b) / fmax(fabs(b), 1e-300);
}

static void detmath_accuracy(void** s)
{
    (void)s;
    assert_true(model_dm_exp(0.0) == 1.0);
    assert_true(model_dm_log(1.0) == 0.0);
    assert_true(model_dm_pow(0.25, 0.5) == 0.5);
    assert_true(model_dm_exp(-800) == 0.0 && isinf(model_dm_exp(800)));
    assert_true(isnan(model_dm_log(-1.0)) && isinf(model_dm_log(0.0)));
    for (int i = 0; i <= 20000; i++) {
        double x = -700.0 + 1400.0 * i / 20000;
        if (rel(model_dm_exp(x), exp(x)) > 3e-16)
            fail_msg("exp(%g)", x);
        double y = exp(-700.0 + 1400.0 * i / 20000);
        if (fabs(model_dm_log(y) - log(y)) > 4.5e-16 * fmax(1.0, fabs(log(y))))
            fail_msg("log(%g)", y);
        double p = 1e-4 + 0.9998 * i / 20000, k = 0.9 + 0.2 * (i % 7) / 7.0;
        if (rel(model_dm_pow(p, k), pow(p, k)) > 2e-15)
            fail_msg("pow(%g, %g)", p, k);
        double t = -6.0 + 12.0 * i / 20000;
        assert_close(model_dm_tanh(t), tanh(t), 1e-15);
        assert_close(model_dm_phi(t), 0.5 * erfc(-t / sqrt(2.0)), 1e-14);
        double a = -0.999 + 1.998 * i / 20000;
        assert_close(model_dm_atanh(a), atanh(a), 1e-13);
    }
}

/* A fixed game priced with every method, hashed: the bits must not change between runs,
 * machines or builds. If the model changes on purpose, print the new value and update it
 * together with the change; if it changes by itself, replicas would disagree. */
static void golden_prices(void** s)
{
    (void)s;
    uint64_t h = 1469598103934665603ULL;
    model_quote_cfg cfg;
    model_quote_cfg_default(&cfg);
    model_fb_live_params lp;
    model_fb_live_params_default(&lp);
    for (int m = 0; m < MODEL_MARGIN__COUNT; m++) {
        cfg.method = m;
        model_fb_grid g;
        model_fb_markets mk;
        model_fb_prices pr;
        assert_int_equal(model_fb_grid_dc(1.61, 1.07, -0.07, &g), MODEL_OK);
        assert_int_equal(model_fb_markets_compute(&g, &mk), MODEL_OK);
        assert_int_equal(model_fb_quote(&mk, &cfg, MODEL_PHASE_PRE, &pr), MODEL_OK);
        const unsigned char* b = (const unsigned char*)&pr;
        for (size_t i = 0; i < sizeof pr; i++)
            h = (h ^ b[i]) * 1099511628211ULL;
        model_fb_live st = {1.61, 1.07, -0.07, 67.5, 2, 1, 1, 0, 1};
        assert_int_equal(model_fb_grid_live(&st, &lp, &g), MODEL_OK);
        assert_int_equal(model_fb_markets_compute(&g, &mk), MODEL_OK);
        assert_int_equal(model_fb_quote(&mk, &cfg, MODEL_PHASE_LIVE, &pr), MODEL_OK);
        for (size_t i = 0; i < sizeof pr; i++)
            h = (h ^ b[i]) * 1099511628211ULL;
    }
    if (h != GOLDEN_PRICES)
        fail_msg("price hash %#llx, expected %#llx", (unsigned long long)h,
                 (unsigned long long)GOLDEN_PRICES);
}

/* ---------------------------------------------------------------- metrics */

static void metrics(void** s)
{
    (void)s;
    const double perfect[3] = {1, 0, 0}, flat[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    assert_close(model_rps(perfect, 3, 0), 0.0, 0);
    assert_close(model_rps(flat, 3, 0), 5.0 / 18.0, 1e-15);
    assert_close(model_rps(flat, 3, 1), 1.0 / 9.0, 1e-15);
    assert_close(model_logloss(flat, 3, 2), log(3.0), 1e-15);
    assert_true(isnan(model_rps(flat, 3, 3)));
}

/* ---------------------------------------------------------------- market blend */

static void blend_arithmetic(void** st)
{
    (void)st;
    const double p[3] = {0.5, 0.3, 0.2}, q[3] = {0.4, 0.3, 0.3};
    double b[3];
    assert_int_equal(model_blend(p, q, 3, 0.25, MODEL_BLEND_LINEAR, b), MODEL_OK);
    assert_float_equal(b[0], 0.475, 1e-15);
    assert_float_equal(b[1], 0.3, 1e-15);
    assert_float_equal(b[2], 0.225, 1e-15);
    /* log pooling, w = 0.5: proportional to sqrt(p q) */
    assert_int_equal(model_blend(p, q, 3, 0.5, MODEL_BLEND_LOG, b), MODEL_OK);
    double g[3], sg = 0;
    for (int i = 0; i < 3; i++)
        sg += g[i] = sqrt(p[i] * q[i]);
    for (int i = 0; i < 3; i++)
        assert_float_equal(b[i], g[i] / sg, 1e-13);
    /* w = 0.3 in log space: b_i ~ p^0.7 q^0.3 */
    assert_int_equal(model_blend(p, q, 3, 0.3, MODEL_BLEND_LOG, b), MODEL_OK);
    sg = 0;
    for (int i = 0; i < 3; i++)
        sg += g[i] = pow(p[i], 0.7) * pow(q[i], 0.3);
    for (int i = 0; i < 3; i++)
        assert_float_equal(b[i], g[i] / sg, 1e-13);
    /* the ends and no market: the model or the market bit for bit */
    for (int s = 0; s < 2; s++) {
        assert_int_equal(model_blend(p, q, 3, 0.0, s, b), MODEL_OK);
        assert_memory_equal(b, p, sizeof p);
        assert_int_equal(model_blend(p, q, 3, 1.0, s, b), MODEL_OK);
        assert_memory_equal(b, q, sizeof q);
        assert_int_equal(model_blend(p, NULL, 3, 0.7, s, b), MODEL_OK);
        assert_memory_equal(b, p, sizeof p);
    }
    /* an outcome impossible for one side stays impossible in log space */
    const double p0[3] = {0.5, 0.5, 0.0};
    assert_int_equal(model_blend(p0, q, 3, 0.5, MODEL_BLEND_LOG, b), MODEL_OK);
    assert_true(b[2] == 0.0);
    assert_float_equal(b[0] + b[1], 1.0, 1e-15);
    const double pa[3] = {1, 0, 0}, qa[3] = {0, 0.5, 0.5};
    assert_int_equal(model_blend(pa, qa, 3, 0.5, MODEL_BLEND_LOG, b), MODEL_ERANGE);
    /* bad inputs */
    const double bad[3] = {0.5, 0.3, 0.3};
    assert_int_equal(model_blend(p, q, 3, -0.1, MODEL_BLEND_LOG, b), MODEL_EINVAL);
    assert_int_equal(model_blend(p, q, 3, 1.1, MODEL_BLEND_LOG, b), MODEL_EINVAL);
    assert_int_equal(model_blend(p, q, 3, NAN, MODEL_BLEND_LINEAR, b), MODEL_EINVAL);
    assert_int_equal(model_blend(bad, q, 3, 0.5, MODEL_BLEND_LOG, b), MODEL_EINVAL);
    assert_int_equal(model_blend(p, bad, 3, 0.5, MODEL_BLEND_LOG, b), MODEL_EINVAL);
    assert_int_equal(model_blend(p, q, 1, 0.5, MODEL_BLEND_LOG, b), MODEL_EINVAL);
    assert_int_equal(model_blend(p, q, 3, 0.5, (model_blend_space)7, b), MODEL_EINVAL);
}

/* A market snapshot priced from known probabilities with Shin or power margins comes back to
 * those probabilities; several books are averaged; unusable rows are left out. */
static void blend_market_snapshot(void** st)
{
    (void)st;
    const double p1[3] = {0.48, 0.27, 0.25}, p2[3] = {0.52, 0.25, 0.23};
    const model_margin_method ms[2] = {MODEL_MARGIN_SHIN, MODEL_MARGIN_POWER};
    for (int mi = 0; mi < 2; mi++) {
        double odds[3 * 3], q[3];
        int used = -1;
        assert_int_equal(model_margin_apply(p1, 3, ms[mi], 0.05, odds, NULL), MODEL_OK);
        assert_int_equal(model_market_fair(odds, 1, 3, ms[mi], q, &used), MODEL_OK);
        assert_int_equal(used, 1);
        for (int i = 0; i < 3; i++)
            assert_float_equal(q[i], p1[i], 1e-9);
        assert_int_equal(model_margin_apply(p2, 3, ms[mi], 0.08, odds + 3, NULL), MODEL_OK);
        odds[6] = 2.0; /* a book without a draw price */
        odds[7] = 0.0;
        odds[8] = 3.0;
        assert_int_equal(model_market_fair(odds, 3, 3, ms[mi], q, &used), MODEL_OK);
        assert_int_equal(used, 2);
        for (int i = 0; i < 3; i++)
            assert_float_equal(q[i], 0.5 * (p1[i] + p2[i]), 1e-9);
        assert_int_equal(model_market_fair(odds + 6, 1, 3, ms[mi], q, &used), MODEL_ERANGE);
        assert_int_equal(used, 0);
    }
    const double under[3] = {3.0, 3.0, 3.0}; /* booksum 1: no margin to remove, refused */
    double q[3];
    assert_int_equal(model_market_fair(under, 1, 3, MODEL_MARGIN_POWER, q, NULL), MODEL_ERANGE);
    assert_int_equal(model_market_fair(under, 0, 3, MODEL_MARGIN_SHIN, q, NULL), MODEL_EINVAL);
    assert_int_equal(model_market_fair(NULL, 1, 3, MODEL_MARGIN_SHIN, q, NULL), MODEL_EINVAL);
}

static uint64_t blend_lcg(uint64_t* x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 11;
}

static double blend_u(uint64_t* x)
{
    return (double)blend_lcg(x) / 9007199254740992.0;
}

/* n random 1X2 markets: truth t, model p = t with noise, market q = t with less noise, and the
 * outcome drawn from t. */
static void blend_samples(uint64_t seed, int n, double pn, double qn, double* p, double* q, int* k)
{
    uint64_t x = seed;
    for (int j = 0; j < n; j++) {
        double t[3], a = 0.2 + 0.5 * blend_u(&x), dr = 0.2 + 0.1 * blend_u(&x);
        t[0] = a * (1 - dr);
        t[1] = dr;
        t[2] = 1 - t[0] - t[1];
        double sp = 0, sq = 0;
        for (int i = 0; i < 3; i++) {
            p[3 * j + i] = t[i] * (1 + pn * (blend_u(&x) - 0.5));
            q[3 * j + i] = t[i] * (1 + qn * (blend_u(&x) - 0.5));
            sp += p[3 * j + i];
            sq += q[3 * j + i];
        }
        for (int i = 0; i < 3; i++) {
            p[3 * j + i] /= sp;
            q[3 * j + i] /= sq;
        }
        double u = blend_u(&x);
        k[j] = u < t[0] ? 0 : u < t[0] + t[1] ? 1 : 2;
    }
}

/* Same inputs, same bits, whatever the order the markets are blended in; the fit gives the
 * same bits twice and leans towards the side that is closer to the truth. */
static void blend_determinism_and_fit(void** st)
{
    (void)st;
    enum { N = 4000 };
    double *p = malloc(sizeof *p * 3 * N), *q = malloc(sizeof *q * 3 * N),
           *b1 = malloc(sizeof *b1 * 3 * N), *b2 = malloc(sizeof *b2 * 3 * N);
    int* k = malloc(sizeof *k * N);
    assert_non_null(p);
    assert_non_null(q);
    assert_non_null(b1);
    assert_non_null(b2);
    assert_non_null(k);
    blend_samples(42, N, 0.8, 0.1, p, q, k);
    for (int s = 0; s < 2; s++) {
        for (int j = 0; j < N; j++)
            assert_int_equal(model_blend(p + 3 * j, q + 3 * j, 3, 0.37, s, b1 + 3 * j), MODEL_OK);
        for (int j = N - 1; j >= 0; j--) /* reverse order, with other work in between */
            assert_int_equal(model_blend(q + 3 * j, p + 3 * j, 3, 0.5, s, b2 + 3 * j) ||
                                 model_blend(p + 3 * j, q + 3 * j, 3, 0.37, s, b2 + 3 * j),
                             MODEL_OK);
        assert_memory_equal(b1, b2, sizeof *b1 * 3 * N);
    }
    /* the market is much closer to the truth: its weight is high; and the other way round */
    double w1, w2, r1, r2;
    assert_int_equal(model_blend_fit(p, q, k, N, 3, MODEL_BLEND_LOG, &w1, &r1), MODEL_OK);
    assert_int_equal(model_blend_fit(p, q, k, N, 3, MODEL_BLEND_LOG, &w2, &r2), MODEL_OK);
    assert_memory_equal(&w1, &w2, sizeof w1);
    assert_memory_equal(&r1, &r2, sizeof r1);
    assert_true(w1 >= 0.7);
    double r0, rw;
    (void)r0;
    assert_int_equal(model_blend_fit(q, p, k, N, 3, MODEL_BLEND_LINEAR, &rw, &r0), MODEL_OK);
    assert_true(rw <= 0.3);
    /* the fitted weight's mean RPS is no worse than the model's or the market's alone */
    double sm = 0, sq = 0;
    for (int j = 0; j < N; j++) {
        sm += model_rps(p + 3 * j, 3, k[j]);
        sq += model_rps(q + 3 * j, 3, k[j]);
    }
    assert_true(r1 <= sm / N && r1 <= sq / N);
    int badk[1] = {3};
    assert_int_equal(model_blend_fit(p, q, badk, 1, 3, MODEL_BLEND_LOG, &w1, NULL), MODEL_EINVAL);
    assert_int_equal(model_blend_fit(p, q, k, 0, 3, MODEL_BLEND_LOG, &w1, NULL), MODEL_EINVAL);
    free(p);
    free(q);
    free(b1);
    free(b2);
    free(k);
}

/* The preferred book alone when all its prices are usable; otherwise the mean of the books. */
static void blend_snapshot_pref(void** st)
{
    (void)st;
    const double p1[3] = {0.48, 0.27, 0.25}, p2[3] = {0.52, 0.25, 0.23};
    double odds[6], q[3], qm[3];
    int used = -1;
    assert_int_equal(model_margin_apply(p1, 3, MODEL_MARGIN_SHIN, 0.06, odds, NULL), MODEL_OK);
    assert_int_equal(model_margin_apply(p2, 3, MODEL_MARGIN_SHIN, 0.02, odds + 3, NULL), MODEL_OK);
    assert_int_equal(model_market_fair_pref(odds, 2, 3, 1, MODEL_MARGIN_SHIN, q, &used), MODEL_OK);
    assert_int_equal(used, 1);
    for (int i = 0; i < 3; i++)
        assert_float_equal(q[i], p2[i], 1e-9);
    assert_int_equal(model_market_fair(odds, 2, 3, MODEL_MARGIN_SHIN, qm, NULL), MODEL_OK);
    for (int pref = -1; pref <= 2; pref += 3) { /* no preference / out of range: the mean */
        assert_int_equal(model_market_fair_pref(odds, 2, 3, pref, MODEL_MARGIN_SHIN, q, &used),
                         MODEL_OK);
        assert_int_equal(used, 2);
        assert_memory_equal(q, qm, sizeof q);
    }
    odds[4] = 0.0; /* the preferred book has no draw price: the usable books' mean */
    assert_int_equal(model_market_fair_pref(odds, 2, 3, 1, MODEL_MARGIN_SHIN, q, &used), MODEL_OK);
    assert_int_equal(used, 1);
    for (int i = 0; i < 3; i++)
        assert_float_equal(q[i], p1[i], 1e-9);
    assert_int_equal(model_market_fair_pref(odds + 3, 1, 3, 0, MODEL_MARGIN_SHIN, q, &used),
                     MODEL_ERANGE);
    assert_int_equal(model_market_fair_pref(NULL, 1, 3, 0, MODEL_MARGIN_SHIN, q, NULL),
                     MODEL_EINVAL);
}

/* The walk-forward fit sees only the window's seasons: samples of the priced season or later
 * (here with outcomes chosen to pull the weight to the other end) and samples before the
 * window change neither the weight nor the bits of its RPS; the samples' order changes
 * nothing either (fixed-point sums); the weight stays on the grid in [0, 1]. */
static void blend_fit_window_only_earlier(void** st)
{
    (void)st;
    enum { N = 3000 };
    double *p = malloc(sizeof *p * 3 * N), *q = malloc(sizeof *q * 3 * N),
           *p2 = malloc(sizeof *p2 * 3 * N), *q2 = malloc(sizeof *q2 * 3 * N);
    int *k = malloc(sizeof *k * N), *se = malloc(sizeof *se * N), *k2 = malloc(sizeof *k2 * N),
        *se2 = malloc(sizeof *se2 * N);
    assert_true(p && q && p2 && q2 && k && se && k2 && se2);
    blend_samples(7, N, 0.8, 0.1, p, q, k);
    for (int j = 0; j < N; j++)
        se[j] = 2008 + j % 5; /* seasons 2008..2012 */
    double w, wa, wb, r, ra, rb;
    size_t used, ua;
    /* season 2012 priced with a one-season window: 2011 only */
    assert_int_equal(
        model_blend_fit_window(p, q, k, se, N, 3, MODEL_BLEND_LOG, 2012, 1, &w, &used, &r),
        MODEL_OK);
    assert_int_equal(used, N / 5);
    assert_true(w >= 0.0 && w <= 1.0);
    assert_true(w * MODEL_BLEND_GRID == (double)(int)(w * MODEL_BLEND_GRID + 0.5));
    /* poison the later and the too-early samples: the model is made perfect there */
    memcpy(p2, p, sizeof *p * 3 * N);
    memcpy(q2, q, sizeof *q * 3 * N);
    memcpy(k2, k, sizeof *k * N);
    for (int j = 0; j < N; j++)
        if (se[j] != 2011)
            for (int i = 0; i < 3; i++) {
                p2[3 * j + i] = i == k2[j] ? 0.98 : 0.01;
                q2[3 * j + i] = i == k2[j] ? 0.01 : 0.495;
            }
    assert_int_equal(
        model_blend_fit_window(p2, q2, k2, se, N, 3, MODEL_BLEND_LOG, 2012, 1, &wa, &ua, &ra),
        MODEL_OK);
    assert_memory_equal(&w, &wa, sizeof w);
    assert_memory_equal(&r, &ra, sizeof r);
    assert_int_equal(ua, used);
    /* with every earlier season (window 0) the poisoned 2008-2010 samples do count */
    assert_int_equal(
        model_blend_fit_window(p2, q2, k2, se, N, 3, MODEL_BLEND_LOG, 2012, 0, &wb, &ua, &rb),
        MODEL_OK);
    assert_int_equal(ua, 4 * (N / 5));
    assert_true(wb < w);
    /* reversed order: the same bits */
    for (int j = 0; j < N; j++) {
        memcpy(p2 + 3 * j, p + 3 * (N - 1 - j), sizeof *p * 3);
        memcpy(q2 + 3 * j, q + 3 * (N - 1 - j), sizeof *q * 3);
        k2[j] = k[N - 1 - j];
        se2[j] = se[N - 1 - j];
    }
    for (int win = 0; win <= 2; win++) {
        assert_int_equal(
            model_blend_fit_window(p, q, k, se, N, 3, MODEL_BLEND_LOG, 2012, win, &wa, NULL, &ra),
            MODEL_OK);
        assert_int_equal(model_blend_fit_window(p2, q2, k2, se2, N, 3, MODEL_BLEND_LOG, 2012, win,
                                                &wb, NULL, &rb),
                         MODEL_OK);
        assert_memory_equal(&wa, &wb, sizeof wa);
        assert_memory_equal(&ra, &rb, sizeof ra);
    }
    /* nothing earlier: no weight; bad arguments */
    assert_int_equal(
        model_blend_fit_window(p, q, k, se, N, 3, MODEL_BLEND_LOG, 2008, 0, &w, &used, NULL),
        MODEL_ERANGE);
    assert_int_equal(used, 0);
    k2[0] = 5;
    se2[0] = 2000;
    assert_int_equal(
        model_blend_fit_window(p, q, k2, se2, N, 3, MODEL_BLEND_LOG, 2012, 0, &w, NULL, NULL),
        MODEL_EINVAL);
    assert_int_equal(
        model_blend_fit_window(p, q, k, NULL, N, 3, MODEL_BLEND_LOG, 2012, 0, &w, NULL, NULL),
        MODEL_EINVAL);
    free(p);
    free(q);
    free(p2);
    free(q2);
    free(k);
    free(se);
    free(k2);
    free(se2);
}

/* The compiled-in weights: every league's names map to its row, unknown names and NULL to the
 * default; every weight is a market weight in [0, 1]. */
static void blend_weight_table(void** st)
{
    (void)st;
    assert_true(model_blend_weights_fb_count >= 3);
    assert_true(model_blend_weight_fb_default >= 0.0 && model_blend_weight_fb_default <= 1.0);
    for (int i = 0; i < model_blend_weights_fb_count; i++) {
        const model_blend_weight_row* w = &model_blend_weights_fb[i];
        assert_true(w->weight >= 0.0 && w->weight <= 1.0);
        assert_true(model_blend_weight_fb(w->div) == w->weight);
        char names[128];
        snprintf(names, sizeof names, "%s", w->names);
        for (char* t = strtok(names, "|"); t; t = strtok(NULL, "|"))
            assert_true(model_blend_weight_fb(t) == w->weight);
    }
    assert_true(model_blend_weight_fb("Premier League") == model_blend_weight_fb("E0"));
    assert_true(model_blend_weight_fb("Ligue 1") == model_blend_weight_fb("F1"));
    assert_true(model_blend_weight_fb("Serie A") == model_blend_weight_fb_default);
    assert_true(model_blend_weight_fb("Premier") == model_blend_weight_fb_default);
    assert_true(model_blend_weight_fb("") == model_blend_weight_fb_default);
    assert_true(model_blend_weight_fb(NULL) == model_blend_weight_fb_default);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shin_check_value),
        cmocka_unit_test(remove_other_methods),
        cmocka_unit_test(apply_check_values),
        cmocka_unit_test(margins_land_on_overround),
        cmocka_unit_test(margin_bad_inputs),
        cmocka_unit_test(zero_probability_not_offered),
        cmocka_unit_test(price_ladder),
        cmocka_unit_test(priced_market_overround),
        cmocka_unit_test(dc_tau_check_values),
        cmocka_unit_test(dc_rho_clamped),
        cmocka_unit_test(poisson_hand_values),
        cmocka_unit_test(markets_sum_correctly),
        cmocka_unit_test(asian_settlement),
        cmocka_unit_test(asian_fast_matches_settlement),
        cmocka_unit_test(football_bad_inputs),
        cmocka_unit_test(live_at_kickoff_is_prematch),
        cmocka_unit_test(live_time_cards_score),
        cmocka_unit_test(live_markets),
        cmocka_unit_test(full_quote),
        cmocka_unit_test(fit_recovers_ratings),
        cmocka_unit_test(fit_bad_inputs),
        cmocka_unit_test(implied_rates_round_trip),
        cmocka_unit_test(fit_uses_xg_when_asked),
        cmocka_unit_test(deterministic_any_order),
        cmocka_unit_test(tennis_hold_check_values),
        cmocka_unit_test(tennis_symmetry_and_sums),
        cmocka_unit_test(tennis_live_consistency),
        cmocka_unit_test(tennis_final_set_tiebreak_to_10),
        cmocka_unit_test(tennis_bad_inputs),
        cmocka_unit_test(basketball),
        cmocka_unit_test(metrics),
        cmocka_unit_test(detmath_accuracy),
        cmocka_unit_test(golden_prices),
        cmocka_unit_test(blend_arithmetic),
        cmocka_unit_test(blend_market_snapshot),
        cmocka_unit_test(blend_determinism_and_fit),
        cmocka_unit_test(blend_snapshot_pref),
        cmocka_unit_test(blend_fit_window_only_earlier),
        cmocka_unit_test(blend_weight_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
