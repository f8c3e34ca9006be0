/* Per-market trader controls in pricing. See quote_trader.h. */
#include "node/quote_trader.h"

#include <stdbool.h>
#include <string.h>

static json_t *markets_of(const json_t *inputs)
{
    return json_object_get(json_object_get(inputs, "trader"), "markets");
}

/* @p moved by @d, kept within 0.01..0.99; a decided outcome (0 or 1) is not leaned. */
static void lean_p(double *p, double d)
{
    if (!(*p > 0.0 && *p < 1.0))
        return;
    double v = *p + d;
    *p = v < 0.01 ? 0.01 : v > 0.99 ? 0.99 : v;
}

static void lean_all(double *p, int n, double d)
{
    for (int i = 0; i < n; i++)
        lean_p(&p[i], d);
}

/* The signed change a lean asks for: toward the first side (over, home, yes) positive. */
static double lean_delta(const json_t *lean)
{
    const char *o = json_string_value(json_object_get(lean, "outcome"));
    json_int_t bp = json_integer_value(json_object_get(lean, "bp"));
    if (!o || bp <= 0)
        return 0.0;
    bool first = !strcmp(o, "over") || !strcmp(o, "home") || !strcmp(o, "yes");
    return (first ? 1.0 : -1.0) * (double)bp / 10000.0;
}

double quote_trader_lean_d(const json_t *inputs, const char *market)
{
    return lean_delta(json_object_get(json_object_get(markets_of(inputs), market), "lean"));
}

double quote_trader_leaned(double p, double d)
{
    lean_p(&p, d);
    return p;
}

void quote_trader_lean_markets(const json_t *inputs, model_fb_markets *mk)
{
    const char *name;
    json_t *s;
    json_object_foreach(markets_of(inputs), name, s)
    {
        /* The first side of each market (over, home, yes) is the probability the model keeps. */
        double d = lean_delta(json_object_get(s, "lean"));
        if (d == 0.0)
            continue;
        if (!strcmp(name, "total_goals")) {
            lean_all(mk->over, MODEL_FB_TOTAL_LINES, d);
        } else if (!strcmp(name, "home_goals")) {
            lean_all(mk->home_over, MODEL_FB_TEAM_LINES, d);
        } else if (!strcmp(name, "away_goals")) {
            lean_all(mk->away_over, MODEL_FB_TEAM_LINES, d);
        } else if (!strcmp(name, "btts")) {
            lean_p(&mk->btts_yes, d);
        } else if (!strcmp(name, "draw_no_bet")) {
            lean_p(&mk->dnb_home, d);
            mk->dnb_away = 1.0 - mk->dnb_home;
        } else if (!strcmp(name, "asian_handicap")) {
            for (int k = 0; k < MODEL_FB_AH_LINES; k++) {
                lean_p(&mk->ah[k].eff_home, d);
                mk->ah[k].eff_away = 1.0 - mk->ah[k].eff_home;
            }
        }
    }
}

/* Line i takes the model's line i - @s (both sides); off the ladder: not offered (0). */
static void shift_pair(int32_t *a, int32_t *b, int n, int s)
{
    int32_t ta[MODEL_FB_AH_LINES], tb[MODEL_FB_AH_LINES];
    for (int i = 0; i < n; i++) {
        int j = i - s;
        ta[i] = j >= 0 && j < n ? a[j] : 0;
        tb[i] = j >= 0 && j < n ? b[j] : 0;
    }
    memcpy(a, ta, (size_t)n * sizeof *a);
    memcpy(b, tb, (size_t)n * sizeof *b);
}

_Static_assert(MODEL_FB_AH_LINES >= MODEL_FB_TOTAL_LINES &&
                   MODEL_FB_AH_LINES >= MODEL_FB_TEAM_LINES,
               "shift_pair's buffers hold every ladder");

void quote_trader_move_lines(const json_t *inputs, model_fb_prices *pr)
{
    const char *name;
    json_t *s;
    json_object_foreach(markets_of(inputs), name, s)
    {
        int q = (int)json_integer_value(json_object_get(s, "line_move_q"));
        if (q == 0)
            continue;
        /* Ladders: totals by whole goals (4 quarters a line), the handicap by quarters. */
        if (!strcmp(name, "total_goals"))
            shift_pair(pr->over, pr->under, MODEL_FB_TOTAL_LINES, q / 4);
        else if (!strcmp(name, "home_goals"))
            shift_pair(pr->home_over, pr->home_under, MODEL_FB_TEAM_LINES, q / 4);
        else if (!strcmp(name, "away_goals"))
            shift_pair(pr->away_over, pr->away_under, MODEL_FB_TEAM_LINES, q / 4);
        else if (!strcmp(name, "asian_handicap"))
            shift_pair(pr->ah_home, pr->ah_away, MODEL_FB_AH_LINES, q);
    }
}

int quote_trader_line_units(const json_t *inputs, const char *market)
{
    json_t *s = json_object_get(markets_of(inputs), market);
    return (int)(json_integer_value(json_object_get(s, "line_move_q")) / 4);
}

void quote_trader_suspend_markets(const json_t *inputs, json_t *prices)
{
    const char *name;
    json_t *s;
    json_object_foreach(markets_of(inputs), name, s)
        if (json_is_true(json_object_get(s, "suspended")))
            json_object_del(prices, name);
}
