/* The return-to-player governor's rule (issue 17): a pure function, integers only, so that
 * every node that runs it on the same inputs derives the same adjustment.
 *
 * French law caps the return to players (TRJ = payouts / stakes over a calendar year, per
 * licence) at 85 %. The governor adds a global margin adjustment (basis points, on top of every
 * market's configured margin and any trader's shift) when the year's projected TRJ drifts above
 * a target set below the cap, and takes it back when the projection falls back.
 *
 * The projection: the year so far (stakes S, payouts P over the days elapsed) plus the rest of
 * the year at the same pace of stakes (R = S x days left / days elapsed), returning what the
 * stakes returned since the adjustment last changed (the "window": the TRJ at the adjustment in
 * force), or the year's TRJ when there is no window yet:
 *     projected = (P + recent x R) / (S + R).
 * The adjustment the rest of the year needs: the rest must return r* = (target (S + R) - P) / R
 * instead of `recent`; since a book's return is about k / (1 + margin), that is
 * (recent / r* - 1) more margin, taken here as (recent - r*) / r* in basis points.
 *
 * Bounds (gradual, no shocks): nothing moves while |projected - target| <= band (the dead
 * band), nor before the year has min_stakes of stakes, nor while the window since the last move
 * has less than min_stakes (the last move's effect is not measured yet); a move is at most
 * step_bp either way; the adjustment stays within 0..max_bp (the governor only ever adds
 * margin; relaxing takes back what it added). */
#ifndef PARLAY_GOVERNOR_RULE_H
#define PARLAY_GOVERNOR_RULE_H

#include <stdint.h>

#define GOV_TARGET_MIN_BP 5000
#define GOV_TARGET_MAX_BP 8500 /* the legal cap: a target above it makes no sense */
#define GOV_STEP_MAX_BP 200
#define GOV_MAX_BP 1000

typedef struct {
    int target_bp;      /* the TRJ aimed at, e.g. 8400 (84.00 %) */
    int band_bp;        /* dead band either side of the target */
    int step_bp;        /* the most one move changes the adjustment, 1..GOV_STEP_MAX_BP */
    int max_bp;         /* the adjustment's ceiling, 0..GOV_MAX_BP */
    int64_t min_stakes; /* cents: less than this says nothing yet (year and window) */
} gov_cfg;

typedef struct {
    int64_t stakes, payouts;         /* the calendar year so far, cents */
    int64_t win_stakes, win_payouts; /* since the adjustment last changed; has_window false:
                                        it never changed this year */
    int has_window;
    int day;        /* day of the year, 0-based (1 January = 0) */
    int days;       /* days in the year, 365 or 366 */
    int current_bp; /* the adjustment in force */
} gov_in;

enum gov_why {
    GOV_RAISE,       /* projected above target + band: more margin */
    GOV_RELAX,       /* projected below target - band: margin taken back */
    GOV_HOLD_BAND,   /* inside the dead band */
    GOV_HOLD_DATA,   /* the year has less than min_stakes */
    GOV_HOLD_WINDOW, /* the last move is not measured yet */
    GOV_HOLD_BOUND,  /* the rule wants to move but the adjustment is at 0 or max_bp */
};

typedef struct {
    int next_bp;       /* the adjustment to use from now on */
    int ytd_bp;        /* the year's TRJ so far, bp (0 without stakes) */
    int recent_bp;     /* the window's TRJ (the year's when there is no window) */
    int projected_bp;  /* the projected year TRJ, bp */
    int needed_bp;     /* the adjustment the rule wants, before the step and the bounds */
    enum gov_why why;
} gov_out;

/* 0 when @cfg is within the bounds above (target 5000..8500, band 0..1000, step
 * 1..GOV_STEP_MAX_BP, max 0..GOV_MAX_BP, min_stakes >= 0), else -1. */
int gov_cfg_check(const gov_cfg *cfg);

/* The next adjustment: @out filled; returns 0, or -1 when @cfg or @in is out of range
 * (day outside 0..days-1, days not 365 or 366, current outside 0..max_bp, negative year
 * totals). */
int gov_next(const gov_cfg *cfg, const gov_in *in, gov_out *out);

/* "raise", "relax", "hold_band", "hold_data", "hold_window", "hold_bound". */
const char *gov_why_name(enum gov_why why);

#endif
