/* quote_price_bench.c -- the cost of pricing one football round (node/quote_price.c), reported,
 * never asserted.
 *
 *   make build/bench/quote_price && build/bench/quote_price
 *
 * The ceiling, measured in the same run: the pricing library alone (grid, every market,
 * prices; no JSON). Then quote_price_football, the function every node runs for every round,
 * with the inputs a round carries: the model alone; with an agreed market snapshot of 8 books
 * (issue 17's blend); with a fixture-wide margin shift and lean; with per-market controls (two
 * line moves, a lean, a suspended market). Each figure is the best of 60 timed batches of 200; the
 * ratio to the ceiling is what compares across machines. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "models/models.h"
#include "node/quote_price.h"

#define BATCHES 60
#define ITERS 200

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static volatile int sink;

static double model_only(const model_quote_cfg *cfg)
{
    double best = 1e30;
    model_fb_grid *g = malloc(sizeof *g);
    model_fb_markets *mk = malloc(sizeof *mk);
    model_fb_prices pr;
    for (int b = 0; b < BATCHES; b++) {
        double t0 = now();
        for (int i = 0; i < ITERS; i++) {
            model_fb_grid_dc(1.45, 1.15, -0.05, g);
            model_fb_markets_compute(g, mk);
            model_fb_quote(mk, cfg, MODEL_PHASE_PRE, &pr);
            sink += pr.x12[0];
        }
        double t = (now() - t0) / ITERS;
        best = t < best ? t : best;
    }
    free(g);
    free(mk);
    return best;
}

static double priced(const model_quote_cfg *cfg, const char *extra)
{
    json_t *in = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i}", "phase", "pre", "home_goals", 0,
                           "away_goals", 0, "home_reds", 0, "away_reds", 0, "minute_x10", 0,
                           "half", 0);
    if (extra)
        json_object_update_new(in, json_loads(extra, 0, NULL));
    double best = 1e30;
    char err[200];
    for (int b = 0; b < BATCHES; b++) {
        double t0 = now();
        for (int i = 0; i < ITERS; i++) {
            char *text = quote_price_football(in, 1.45, 1.15, -0.05, cfg, 0, err, sizeof err);
            sink += text ? (int)text[0] : -1;
            free(text);
        }
        double t = (now() - t0) / ITERS;
        best = t < best ? t : best;
    }
    json_decref(in);
    return best;
}

int main(void)
{
    model_quote_cfg cfg;
    model_quote_cfg_default(&cfg);
    static const struct {
        const char *name, *extra;
    } cases[] = {
        {"model alone", NULL},
        {"market snapshot, 8 books",
         "{\"market\":{\"seq\":1,\"odds_milli\":[[1500,4200,6500],[1550,4000,6000],[1520,4100,"
         "6200],[1480,4300,6800],[1510,4150,6400],[1530,4050,6300],[1490,4250,6600],[1540,4000,"
         "6100]]}}"},
        {"fixture margin + lean",
         "{\"trader\":{\"margin_shift_bp\":300,\"market_shift_bp\":{\"total_goals\":100},"
         "\"lean\":{\"outcome\":\"home\",\"bp\":200}}}"},
        {"per-market controls",
         "{\"trader\":{\"margin_shift_bp\":0,\"market_shift_bp\":{},\"markets\":{\"total_goals\":"
         "{\"line_move_q\":4,\"lean\":{\"outcome\":\"over\",\"bp\":200}},\"asian_handicap\":{"
         "\"line_move_q\":-2},\"correct_score\":{\"suspended\":true}}}}"},
    };
    double ceiling = model_only(&cfg);
    printf("pricing one football round (best of %d x %d calls)\n", BATCHES, ITERS);
    printf("  %-28s %8.2f us  (ceiling)\n", "models only, no JSON", ceiling * 1e6);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double t = priced(&cfg, cases[i].extra);
        printf("  %-28s %8.2f us  %.2fx the ceiling\n", cases[i].name, t * 1e6, t / ceiling);
    }
    return sink == 42 ? 1 : 0;
}
