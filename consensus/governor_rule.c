/* The return-to-player governor's rule: see governor_rule.h for the projection and the bounds.
 * Integers only (128-bit intermediates: a year's stakes in cents times 10000 times the days
 * does not fit 64 bits), so the same inputs give the same adjustment on every machine. */
#include "consensus/governor_rule.h"

#include <stddef.h>

typedef __int128 wide;

#define NEEDED_LIMIT 100000 /* what "needed" reports at most either way (display only) */

int gov_cfg_check(const gov_cfg *cfg)
{
    if (!cfg || cfg->target_bp < GOV_TARGET_MIN_BP ||
        cfg->target_bp > GOV_TARGET_MAX_BP || cfg->band_bp < 0 || cfg->band_bp > 1000 ||
        cfg->step_bp < 1 || cfg->step_bp > GOV_STEP_MAX_BP || cfg->max_bp < 0 ||
        cfg->max_bp > GOV_MAX_BP || cfg->min_stakes < 0)
        return -1;
    return 0;
}

static int clamp(wide v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : (int)v;
}

static int ratio_bp(int64_t payouts, int64_t stakes)
{
    return stakes > 0 ? clamp((wide)payouts * 10000 / stakes, 0, 1000000) : 0;
}

/* The adjustment the rest of the year needs for the year to end at the target (see governor.h):
 * @rest the stakes still to come, @recent the TRJ they would return at the current adjustment. */
static int needed(const gov_cfg *cfg, const gov_in *in, wide rest, int recent)
{
    wide target_total = (wide)cfg->target_bp * ((wide)in->stakes + rest);
    wide paid = (wide)in->payouts * 10000;
    if (rest == 0) /* the last day: nothing left to steer but the direction */
        return paid > target_total ? cfg->max_bp : 0;
    wide rstar = (target_total - paid) / rest; /* bp the rest may return */
    if (rstar <= 0)
        return cfg->max_bp; /* the year is lost whatever the rest returns: as much as allowed */
    wide more = ((wide)recent - rstar) * 10000 / rstar;
    return clamp((wide)in->current_bp + more, -NEEDED_LIMIT, NEEDED_LIMIT);
}

int gov_next(const gov_cfg *cfg, const gov_in *in, gov_out *out)
{
    if (gov_cfg_check(cfg) != 0 || !in || !out || (in->days != 365 && in->days != 366) ||
        in->day < 0 || in->day >= in->days || in->current_bp < 0 ||
        in->current_bp > cfg->max_bp || in->stakes < 0 || in->payouts < 0)
        return -1;
    *out = (gov_out){.next_bp = in->current_bp};
    out->ytd_bp = ratio_bp(in->payouts, in->stakes);
    int window_ok = in->has_window && in->win_stakes > 0 && in->win_stakes >= cfg->min_stakes;
    out->recent_bp = window_ok ? ratio_bp(in->win_payouts, in->win_stakes) : out->ytd_bp;
    int elapsed = in->day + 1, left = in->days - elapsed;
    wide rest = (wide)in->stakes * left / elapsed;
    wide total = (wide)in->stakes + rest;
    out->projected_bp =
        total > 0 ? clamp(((wide)in->payouts * 10000 + (wide)out->recent_bp * rest) / total, 0,
                          1000000)
                  : 0;
    out->needed_bp = needed(cfg, in, rest, out->recent_bp);
    if (in->stakes <= 0 || in->stakes < cfg->min_stakes) {
        out->why = GOV_HOLD_DATA;
    } else if (in->has_window && !window_ok) {
        out->why = GOV_HOLD_WINDOW;
    } else if (out->projected_bp > cfg->target_bp + cfg->band_bp) {
        int up = out->needed_bp > in->current_bp ? out->needed_bp : in->current_bp + 1;
        if (up > in->current_bp + cfg->step_bp)
            up = in->current_bp + cfg->step_bp;
        out->next_bp = up > cfg->max_bp ? cfg->max_bp : up;
        out->why = out->next_bp != in->current_bp ? GOV_RAISE : GOV_HOLD_BOUND;
    } else if (out->projected_bp < cfg->target_bp - cfg->band_bp) {
        int down = out->needed_bp < in->current_bp ? out->needed_bp : in->current_bp - 1;
        if (down < in->current_bp - cfg->step_bp)
            down = in->current_bp - cfg->step_bp;
        out->next_bp = down < 0 ? 0 : down;
        out->why = out->next_bp != in->current_bp ? GOV_RELAX : GOV_HOLD_BOUND;
    } else {
        out->why = GOV_HOLD_BAND;
    }
    return 0;
}

const char *gov_why_name(enum gov_why why)
{
    static const char *const names[] = {"raise",     "relax",       "hold_band",
                                        "hold_data", "hold_window", "hold_bound"};
    return (unsigned)why < sizeof names / sizeof *names ? names[why] : "unknown";
}
