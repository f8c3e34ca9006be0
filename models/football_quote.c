/*
 * football_quote.c -- the priced football market set: fair probabilities from
 * football_markets.c, the configured margin per market type and phase, the price ladder.
 *
 * Two-way markets (over/under, yes/no, Asian home/away) are priced as pairs. A double-chance
 * selection is priced against its complement (1X against 2), since the three double-chance
 * selections overlap and do not form one market.
 */
#include "models/models.h"

#include <string.h>

int model_price_two_way(double p,
                        const model_quote_cfg* cfg,
                        model_market_type t,
                        model_phase ph,
                        int32_t out[2])
{
    if (!out || !(p >= -1e-9 && p <= 1.0 + 1e-9))
        return MODEL_EINVAL;
    /* Sums over a grid can land a hair outside [0, 1]. */
    p = p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
    double v[2] = {p, 1.0 - p};
    return model_price_market(v, 2, cfg, t, ph, out);
}

static int pair(double p,
                const model_quote_cfg* cfg,
                model_market_type t,
                model_phase ph,
                int32_t* yes,
                int32_t* no)
{
    /* Sums over the grid can land a hair outside [0, 1]. */
    p = p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
    double v[2] = {p, 1.0 - p};
    int32_t out[2];
    int rc = model_price_market(v, 2, cfg, t, ph, out);
    if (rc)
        return rc;
    *yes = out[0];
    if (no)
        *no = out[1];
    return MODEL_OK;
}

int model_fb_quote(const model_fb_markets* m,
                   const model_quote_cfg* cfg,
                   model_phase ph,
                   model_fb_prices* out)
{
    if (!m || !out || model_quote_cfg_check(cfg))
        return MODEL_EINVAL;
    memset(out, 0, sizeof *out);
    int rc = 0;
    double x12[3] = {m->home, m->draw, m->away};
    rc |= model_price_market(x12, 3, cfg, MODEL_MKT_1X2, ph, out->x12);
    rc |= pair(m->dc_1x, cfg, MODEL_MKT_DOUBLE_CHANCE, ph, &out->dc[0], NULL);
    rc |= pair(m->dc_12, cfg, MODEL_MKT_DOUBLE_CHANCE, ph, &out->dc[1], NULL);
    rc |= pair(m->dc_x2, cfg, MODEL_MKT_DOUBLE_CHANCE, ph, &out->dc[2], NULL);
    rc |= pair(m->dnb_home, cfg, MODEL_MKT_DRAW_NO_BET, ph, &out->dnb[0], &out->dnb[1]);
    for (int k = 0; k < MODEL_FB_TOTAL_LINES; k++)
        rc |= pair(m->over[k], cfg, MODEL_MKT_TOTALS, ph, &out->over[k], &out->under[k]);
    rc |= pair(m->btts_yes, cfg, MODEL_MKT_BTTS, ph, &out->btts[0], &out->btts[1]);
    for (int k = 0; k < MODEL_FB_TEAM_LINES; k++) {
        rc |= pair(m->home_over[k], cfg, MODEL_MKT_TEAM_TOTALS, ph, &out->home_over[k],
                   &out->home_under[k]);
        rc |= pair(m->away_over[k], cfg, MODEL_MKT_TEAM_TOTALS, ph, &out->away_over[k],
                   &out->away_under[k]);
    }
    double cs[MODEL_FB_CS_MAX * MODEL_FB_CS_MAX + 1];
    for (int h = 0; h < MODEL_FB_CS_MAX; h++)
        for (int a = 0; a < MODEL_FB_CS_MAX; a++)
            cs[h * MODEL_FB_CS_MAX + a] = m->cs[h][a];
    cs[MODEL_FB_CS_MAX * MODEL_FB_CS_MAX] = m->cs_other;
    rc |= model_price_market(cs, MODEL_FB_CS_MAX * MODEL_FB_CS_MAX + 1, cfg,
                             MODEL_MKT_CORRECT_SCORE, ph, out->cs);
    rc |= model_price_market(m->win_margin, MODEL_FB_MARGIN_OUT, cfg, MODEL_MKT_WINNING_MARGIN, ph,
                             out->win_margin);
    for (int k = 0; k < MODEL_FB_AH_LINES; k++)
        rc |= pair(m->ah[k].eff_home, cfg, MODEL_MKT_ASIAN_HANDICAP, ph, &out->ah_home[k],
                   &out->ah_away[k]);
    if (ph == MODEL_PHASE_LIVE) {
        double ng[3] = {m->next_home, m->next_none, m->next_away};
        rc |= model_price_market(ng, 3, cfg, MODEL_MKT_NEXT_GOAL, ph, out->next_goal);
    }
    return rc ? MODEL_EINVAL : MODEL_OK;
}
