/*
 * bench_models.c -- speed of the pricing library (reported, never asserted).
 *
 *   build/bench_models [DATA_DIR]     (default /work/shared/data/football)
 *
 * Measures: a full Dixon-Coles fit on ten seasons of two leagues (EPL 2005-15 and Ligue 1
 * 2004-14, about 7,500 games, cold and warm start); the full pre-match market set for one
 * game (grid + every market, then with prices); a live re-price after an event; one Shin
 * solve; the market blend (blend only, a snapshot of 1 or 10 books plus the blend, a set of 50
 * markets); a tennis best-of-five match from a live score. Each figure is the best of several
 * timed batches (less noise from other processes on the machine).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/models.h"
#include "models/tool/fd.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static volatile double sink;

#define BATCHES 7

/* Best-of-BATCHES time per call, in seconds. */
#define TIME_IT(iters, body)                        \
    ({                                              \
        double best_ = 1e30;                        \
        for (int b_ = 0; b_ < BATCHES; b_++) {      \
            double t0_ = now();                     \
            for (long i_ = 0; i_ < (iters); i_++) { \
                body;                               \
            }                                       \
            double dt_ = (now() - t0_) / (iters);   \
            if (dt_ < best_)                        \
                best_ = dt_;                        \
        }                                           \
        best_;                                      \
    })

static int load(fd_data* d, const char* dir, const char* name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE* f = fopen(path, "rb");
    if (!f)
        return -1;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return fd_parse(d, buf, n);
}

int main(int argc, char** argv)
{
    const char* dir = argc > 1 ? argv[1] : "/work/shared/data/football";
    fd_data d;
    memset(&d, 0, sizeof d);
    char name[128];
    for (int y = 2005; y < 2015; y++) {
        snprintf(name, sizeof name, "england-Premier-%d-%d.csv", y, y + 1);
        if (load(&d, dir, name))
            fprintf(stderr, "missing %s\n", name);
    }
    for (int y = 2004; y < 2014; y++) {
        snprintf(name, sizeof name, "france-Ligue1-%d-%d.csv", y, y + 1);
        if (load(&d, dir, name))
            fprintf(stderr, "missing %s\n", name);
    }
    model_fb_game* g = calloc(d.n ? d.n : 1, sizeof *g);
    int last = 0;
    for (size_t i = 0; i < d.n; i++) {
        const fd_match* m = &d.m[i];
        g[i] = (model_fb_game){m->day, m->home, m->away, m->hg,  m->ag, 0,
                               m->hs,  m->as,   m->hst,  m->ast, 0,     0};
        if (m->day > last)
            last = m->day;
    }
    model_fb_fit_opts o;
    model_fb_fit_opts_default(&o);
    o.xi = 0.0; /* every game counts fully: the largest fit */
    model_fb_params *p = calloc(1, sizeof *p), *w = calloc(1, sizeof *w);
    printf("bench_models: %zu games, %d teams\n", d.n, d.nteams);
    if (d.n) {
        double t = TIME_IT(1, model_fb_fit(g, d.n, last + 1, &o, NULL, p));
        printf("  fit, cold start, %zu games, xi=0:      %8.2f ms  (%d iterations)\n", d.n, t * 1e3,
               p->iterations);
        model_fb_fit_opts_default(&o);
        t = TIME_IT(1, model_fb_fit(g, d.n, last + 1, &o, NULL, p));
        printf("  fit, cold start, xi=0.0018 (default):  %8.2f ms  (%d iterations)\n", t * 1e3,
               p->iterations);
        memcpy(w, p, sizeof *p);
        t = TIME_IT(1, model_fb_fit(g, d.n, last + 8, &o, w, p));
        printf("  refit a week later, warm start:        %8.2f ms  (%d iterations)\n", t * 1e3,
               p->iterations);
    }
    model_fb_grid gr;
    model_fb_markets mk;
    model_fb_prices pr;
    model_quote_cfg cfg;
    model_quote_cfg_default(&cfg);
    double t = TIME_IT(200000, {
        model_fb_grid_dc(1.45 + 1e-9 * (i_ & 7), 1.12, -0.06, &gr);
        model_fb_markets_compute(&gr, &mk);
        sink += mk.home;
    });
    printf("  pre-match grid + all market probabilities:      %8.2f us\n", t * 1e6);
    for (int m = 0; m < MODEL_MARGIN__COUNT; m++) {
        cfg.method = m;
        t = TIME_IT(20000, {
            model_fb_grid_dc(1.45 + 1e-9 * (i_ & 7), 1.12, -0.06, &gr);
            model_fb_markets_compute(&gr, &mk);
            model_fb_quote(&mk, &cfg, MODEL_PHASE_PRE, &pr);
            sink += pr.x12[0];
        });
        printf("  pre-match full priced market set (%-14s): %8.2f us\n", model_margin_name(m),
               t * 1e6);
    }
    model_fb_live_params lp;
    model_fb_live_params_default(&lp);
    model_fb_live st = {1.45, 1.12, -0.06, 63.0, 2, 1, 0, 0, 1};
    t = TIME_IT(200000, {
        st.minute = 63.0 + 1e-6 * (i_ & 7);
        model_fb_grid_live(&st, &lp, &gr);
        model_fb_markets_compute(&gr, &mk);
        sink += mk.home;
    });
    printf("  live re-price: grid + all market probabilities: %8.2f us\n", t * 1e6);
    cfg.method = MODEL_MARGIN_MULTIPLICATIVE;
    t = TIME_IT(20000, {
        st.minute = 63.0 + 1e-6 * (i_ & 7);
        model_fb_grid_live(&st, &lp, &gr);
        model_fb_markets_compute(&gr, &mk);
        model_fb_quote(&mk, &cfg, MODEL_PHASE_LIVE, &pr);
        sink += pr.x12[0];
    });
    printf("  live re-price with prices (multiplicative):     %8.2f us\n", t * 1e6);
    double odds[3] = {2.6, 2.4, 4.3}, pp[3];
    t = TIME_IT(1000000, {
        odds[0] = 2.6 + 1e-9 * (i_ & 7);
        model_margin_remove(odds, 3, MODEL_MARGIN_SHIN, pp, NULL);
        sink += pp[0];
    });
    printf("  one Shin solve (3 outcomes):                     %8.3f us\n", t * 1e6);
    /* The market blend (blend.c): one 1X2 market, snapshot de-margined then blended. */
    const double pm3[3] = {0.47, 0.27, 0.26};
    double books[10][3], qb[3], bl[3];
    for (int b = 0; b < 10; b++) {
        books[b][0] = 2.00 + 0.02 * b;
        books[b][1] = 3.40 + 0.01 * b;
        books[b][2] = 3.60 - 0.02 * b;
    }
    for (int s = 0; s < 2; s++) {
        qb[0] = 0.45;
        qb[1] = 0.28;
        t = TIME_IT(1000000, {
            qb[0] = 0.45 + 1e-12 * (i_ & 7);
            qb[2] = 1.0 - qb[0] - qb[1];
            model_blend(pm3, qb, 3, 0.85, s, bl);
            sink += bl[0];
        });
        printf("  blend only, 1X2 (%-6s space):                 %8.3f us\n",
               model_blend_space_name(s), t * 1e6);
    }
    for (int nb = 1; nb <= 10; nb += 9) {
        t = TIME_IT(200000, {
            books[0][0] = 2.00 + 1e-9 * (i_ & 7);
            model_market_fair(&books[0][0], nb, 3, MODEL_MARGIN_SHIN, qb, NULL);
            model_blend(pm3, qb, 3, 0.85, MODEL_BLEND_LOG, bl);
            sink += bl[0];
        });
        printf("  1X2 snapshot of %2d book(s), Shin, + log blend:  %8.3f us\n", nb, t * 1e6);
    }
    /* a market set: 50 markets of 3 outcomes, each with a one-book Shin snapshot */
    t = TIME_IT(20000, {
        for (int k = 0; k < 50; k++) {
            books[k % 10][0] = 2.00 + 1e-9 * ((i_ + k) & 7);
            model_market_fair(books[k % 10], 1, 3, MODEL_MARGIN_SHIN, qb, NULL);
            model_blend(pm3, qb, 3, 0.85, MODEL_BLEND_LOG, bl);
            sink += bl[0];
        }
    });
    printf("  market set: 50 x (1-book Shin snapshot + blend): %8.2f us\n", t * 1e6);
    model_tennis_state ts = {5, 0.66, 0.63, 1, 1, 10, 11, 3, 4, 2, 1, 1, 0};
    model_tennis_result* tr = malloc(sizeof *tr);
    t = TIME_IT(2000, {
        ts.pa = 0.66 + 1e-9 * (i_ & 7);
        model_tennis_price(&ts, tr);
        sink += tr->match_a;
    });
    printf("  tennis best of five from a live score:          %8.2f us\n", t * 1e6);
    ts.best_of = 3;
    ts.sets_a = ts.sets_b = 0;
    ts.prev_games_a = ts.prev_games_b = 0;
    t = TIME_IT(2000, {
        ts.pa = 0.66 + 1e-9 * (i_ & 7);
        model_tennis_price(&ts, tr);
        sink += tr->match_a;
    });
    printf("  tennis best of three from a live score:         %8.2f us\n", t * 1e6);
    free(tr);
    free(p);
    free(w);
    free(g);
    fd_free(&d);
    return 0;
}
