/*
 * governor_season.c -- a calendar year of bets through the return-to-player governor's rule
 * (consensus/governor_rule.c), issue 17. A simulation, not a timing: it prints the TRJ month by
 * month and every move of the adjustment, beside the same year without the governor.
 *
 *   build/bench/governor_season [--seed N] [--period-days D] [--margin M] [--target-bp T]
 *                               [--step-bp S] [--max-bp X] [--year Y]
 *
 * The season: every day of the year Y (default 2026) has some football games (fewer in June
 * and July); each game's expected goals are drawn (home 0.9-2.1, away 0.6-1.7) and the pricing
 * library gives its Dixon-Coles grid, its 1X2 and its total goals 2.5 probabilities, priced
 * with the configured margin (--margin, default 0.09 on both markets, Shin, on the ladder:
 * model_price_market, as the nodes price) plus the governor's adjustment in force that day.
 * Bettors back outcomes in proportion to their probabilities (the model is the truth here: the
 * book has no model error); a third of the bets are accumulators of 2 to 4 legs, whose margins
 * compound. Stakes are whole cents (2.00 to 50.00 singles, 1.00 to 20.00 accumulators). The
 * score is drawn from the same grid. The scenario (games, bets, scores) comes from one seeded
 * generator and the prices from the adjustment only, so both runs see the same season.
 *
 * The governor looks every --period-days days (default 1) at the year's stakes and payouts so
 * far, as the sport leader does with the accounts cluster's TRJ, and its rule (target 84 %,
 * band 0.5 pt, step 25 bp, max 1000 bp, min stakes 10,000.00 by default) moves the adjustment. Exit status 0 when the
 * governed year ends under the 85 % cap with no move above the step; 1 otherwise.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/governor_rule.h"
#include "models/models.h"

#define CAP_BP 8500
#define GAMES_MAX 64
#define LEGS_MAX 4

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double unif(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

/* One game of the day: its probabilities and its result. */
struct game {
    double p1x2[3];  /* home, draw, away */
    double pou[2];   /* over 2.5, under 2.5 */
    int won1x2;      /* 0 home, 1 draw, 2 away */
    int wonou;       /* 0 over, 1 under */
};

struct leg {
    int game;
    int market; /* 0: 1X2, 1: total goals 2.5 */
    int outcome;
};

struct bet {
    int64_t stake;
    int n;
    struct leg legs[LEGS_MAX];
};

/* A day's scenario: drawn once, priced by both runs. */
struct day {
    int ngames;
    struct game games[GAMES_MAX];
    int nbets;
    struct bet *bets;
};

static int pick(const double *p, int n)
{
    double u = unif(), c = 0;
    for (int i = 0; i < n - 1; i++)
        if (u < (c += p[i]))
            return i;
    return n - 1;
}

static void draw_game(struct game *g)
{
    model_fb_grid grid;
    model_fb_markets mk;
    double lambda = 0.9 + 1.2 * unif(), mu = 0.6 + 1.1 * unif();
    if (model_fb_grid_dc(lambda, mu, -0.05, &grid) != 0 || model_fb_markets_compute(&grid, &mk) != 0) {
        fprintf(stderr, "governor_season: the pricing library refused a game\n");
        exit(2);
    }
    g->p1x2[0] = mk.home;
    g->p1x2[1] = mk.draw;
    g->p1x2[2] = mk.away;
    g->pou[0] = mk.over[2]; /* over 2.5 */
    g->pou[1] = 1 - mk.over[2];
    /* The score, from the same grid. */
    double u = unif(), c = 0;
    int h = MODEL_FB_GOALS - 1, a = MODEL_FB_GOALS - 1;
    for (int i = 0; i < MODEL_FB_GOALS && c <= u; i++)
        for (int j = 0; j < MODEL_FB_GOALS; j++)
            if ((c += grid.p[i][j]) > u) {
                h = i;
                a = j;
                break;
            }
    g->won1x2 = h > a ? 0 : h == a ? 1 : 2;
    g->wonou = h + a > 2 ? 0 : 1;
}

static void draw_day(struct day *d, int month)
{
    static const double volume[12] = {1, 1, 1, 1, 0.9, 0.3, 0.2, 0.8, 1, 1, 1, 1.1};
    d->ngames = (int)(volume[month] * (20 + (int)(rnd() % 21)));
    if (d->ngames < 1)
        d->ngames = 1;
    for (int g = 0; g < d->ngames; g++)
        draw_game(&d->games[g]);
    d->nbets = d->ngames * 25;
    d->bets = malloc(sizeof *d->bets * (size_t)d->nbets);
    for (int b = 0; b < d->nbets; b++) {
        struct bet *bt = &d->bets[b];
        bool acca = rnd() % 3 == 0 && d->ngames >= LEGS_MAX;
        bt->n = acca ? 2 + (int)(rnd() % 3) : 1;
        bt->stake = acca ? 100 + (int64_t)(rnd() % 1901) : 200 + (int64_t)(rnd() % 4801);
        for (int l = 0; l < bt->n; l++) {
            struct leg *lg = &bt->legs[l];
            bool again;
            do { /* an accumulator's legs are on different games */
                lg->game = (int)(rnd() % (uint64_t)d->ngames);
                again = false;
                for (int k = 0; k < l; k++)
                    again = again || bt->legs[k].game == lg->game;
            } while (again);
            const struct game *g = &d->games[lg->game];
            lg->market = rnd() % 10 < 7 ? 0 : 1;
            lg->outcome = lg->market == 0 ? pick(g->p1x2, 3) : pick(g->pou, 2);
        }
    }
}

/* One run over the year: with the governor (@gov non-NULL) or without. */
struct run {
    const gov_cfg *gov;
    int period_days;
    double margin;
    int adj;                     /* in force */
    int64_t stakes, payouts;     /* the year so far */
    int64_t base_stakes, base_payouts;
    int has_window;
    int64_t m_stakes[12], m_payouts[12];
    int m_adj_end[12], m_moves[12];
    int max_step, max_adj, moves, ups;
};

/* Milli-odds of a game's two markets with the margin plus @adj bp. */
static void price_game(const struct game *g, double margin, int adj, int32_t o1x2[3],
                       int32_t oou[2])
{
    model_quote_cfg cfg;
    model_quote_cfg_default(&cfg);
    double m = margin + (double)adj / 10000.0;
    cfg.margin[MODEL_MKT_1X2][MODEL_PHASE_PRE] = m;
    cfg.margin[MODEL_MKT_TOTALS][MODEL_PHASE_PRE] = m;
    if (model_price_market(g->p1x2, 3, &cfg, MODEL_MKT_1X2, MODEL_PHASE_PRE, o1x2) != 0 ||
        model_price_market(g->pou, 2, &cfg, MODEL_MKT_TOTALS, MODEL_PHASE_PRE, oou) != 0) {
        fprintf(stderr, "governor_season: pricing failed\n");
        exit(2);
    }
}

static void play_day(struct run *r, const struct day *d, int month)
{
    int32_t o1x2[GAMES_MAX][3], oou[GAMES_MAX][2];
    for (int g = 0; g < d->ngames; g++)
        price_game(&d->games[g], r->margin, r->adj, o1x2[g], oou[g]);
    for (int b = 0; b < d->nbets; b++) {
        const struct bet *bt = &d->bets[b];
        __int128 ret = bt->stake, scale = 1;
        for (int l = 0; l < bt->n && ret; l++) {
            const struct leg *lg = &bt->legs[l];
            const struct game *g = &d->games[lg->game];
            bool won = lg->market == 0 ? g->won1x2 == lg->outcome : g->wonou == lg->outcome;
            int32_t odds = lg->market == 0 ? o1x2[lg->game][lg->outcome]
                                           : oou[lg->game][lg->outcome];
            if (!won || odds <= 0)
                ret = 0;
            ret *= odds;
            scale *= 1000;
        }
        int64_t payout = (int64_t)(ret / scale); /* floored to the cent */
        r->stakes += bt->stake;
        r->payouts += payout;
        r->m_stakes[month] += bt->stake;
        r->m_payouts[month] += payout;
    }
}

static void look(struct run *r, int yday, int days, int month)
{
    gov_in in = {.stakes = r->stakes, .payouts = r->payouts, .day = yday, .days = days,
                 .current_bp = r->adj, .has_window = r->has_window,
                 .win_stakes = r->stakes - r->base_stakes,
                 .win_payouts = r->payouts - r->base_payouts};
    gov_out out;
    if (gov_next(r->gov, &in, &out) != 0) {
        fprintf(stderr, "governor_season: the rule refused its inputs\n");
        exit(2);
    }
    if (out.next_bp == r->adj)
        return;
    int step = abs(out.next_bp - r->adj);
    if (step > r->max_step)
        r->max_step = step;
    r->ups += out.next_bp > r->adj;
    r->adj = out.next_bp;
    if (r->adj > r->max_adj)
        r->max_adj = r->adj;
    r->moves++;
    r->m_moves[month]++;
    r->has_window = 1; /* as apply does: the window starts again at this reading */
    r->base_stakes = r->stakes;
    r->base_payouts = r->payouts;
}

static double pct(int64_t p, int64_t s)
{
    return s ? 100.0 * (double)p / (double)s : 0;
}

int main(int argc, char **argv)
{
    uint64_t seed = 17;
    int period = 1, year = 2026;
    double margin = 0.09;
    gov_cfg cfg = {.target_bp = 8400, .band_bp = 50, .step_bp = 25, .max_bp = 1000,
                   .min_stakes = 1000000};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--period-days"))
            period = atoi(v);
        else if (!strcmp(a, "--margin"))
            margin = atof(v);
        else if (!strcmp(a, "--target-bp"))
            cfg.target_bp = atoi(v);
        else if (!strcmp(a, "--step-bp"))
            cfg.step_bp = atoi(v);
        else if (!strcmp(a, "--max-bp"))
            cfg.max_bp = atoi(v);
        else if (!strcmp(a, "--year"))
            year = atoi(v);
        else {
            fprintf(stderr, "usage: governor_season [--seed N] [--period-days D] [--margin M] "
                            "[--target-bp T] [--step-bp S] [--max-bp X] [--year Y]\n");
            return 2;
        }
    }
    if (gov_cfg_check(&cfg) != 0 || period < 1 || margin < 0 || margin > 0.3) {
        fprintf(stderr, "governor_season: parameters out of range\n");
        return 2;
    }
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int days = leap ? 366 : 365;
    struct run gov = {.gov = &cfg, .period_days = period, .margin = margin};
    struct run plain = {.gov = NULL, .margin = margin};
    rng_state = seed;
    int64_t nbets = 0;
    for (int yday = 0; yday < days; yday++) {
        struct tm tm = {.tm_year = year - 1900, .tm_mon = 0, .tm_mday = 1 + yday, .tm_hour = 12};
        timegm(&tm); /* normalises the month */
        int month = tm.tm_mon;
        struct day d;
        draw_day(&d, month);
        nbets += d.nbets;
        play_day(&gov, &d, month);
        play_day(&plain, &d, month);
        free(d.bets);
        if ((yday + 1) % period == 0)
            look(&gov, yday, days, month);
        gov.m_adj_end[month] = gov.adj;
    }
    printf("governor_season: seed %llu, year %d, %lld bets (a third accumulators), margin "
           "%.1f %% on 1X2 and total goals, governor: target %.2f %% (band %d bp), step %d bp, "
           "max %d bp, a look every %d day(s)\n\n",
           (unsigned long long)seed, year, (long long)nbets, margin * 100,
           cfg.target_bp / 100.0, cfg.band_bp, cfg.step_bp, cfg.max_bp, period);
    printf("| month | stakes (EUR) | TRJ of the month | TRJ year to date | adjustment at month "
           "end | moves | without governor: TRJ year to date |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|\n");
    static const char *const names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t gs = 0, gp = 0, ps = 0, pp = 0;
    for (int m = 0; m < 12; m++) {
        gs += gov.m_stakes[m];
        gp += gov.m_payouts[m];
        ps += plain.m_stakes[m];
        pp += plain.m_payouts[m];
        printf("| %s | %lld | %.2f %% | %.2f %% | +%d bp | %d | %.2f %% |\n", names[m],
               (long long)(gov.m_stakes[m] / 100), pct(gov.m_payouts[m], gov.m_stakes[m]),
               pct(gp, gs), gov.m_adj_end[m], gov.m_moves[m], pct(pp, ps));
    }
    double year_gov = pct(gov.payouts, gov.stakes), year_plain = pct(plain.payouts, plain.stakes);
    bool ok = gov.payouts * 10000 < gov.stakes * CAP_BP && gov.max_step <= cfg.step_bp;
    printf("\nyear: TRJ %.2f %% with the governor (cap 85 %%: %s), %.2f %% without; %d moves "
           "(%d up, %d down), largest %d bp (bound %d), highest adjustment +%d bp, at the end "
           "+%d bp\n",
           year_gov, ok ? "under" : "OVER OR STEP TOO LARGE", year_plain, gov.moves, gov.ups,
           gov.moves - gov.ups, gov.max_step, cfg.step_bp, gov.max_adj, gov.adj);
    return ok ? 0 : 1;
}
