/*
 * parlay-model -- command-line front of the pricing library.
 *
 *   parlay-model eval [options] FILE.csv...    walk-forward evaluation (see eval.c)
 *   parlay-model markets LAMBDA MU [RHO]       fair probabilities of the main football markets
 *
 * eval options:
 *   --from YEAR, --to YEAR   test seasons starting in these years (2010 = 2010-11)
 *   --test-div E0,F1         test only these Div codes (other files still feed the fits)
 *   --xi X                   time decay per day (0.0018)
 *   --shots S                weight of the shots-on-target proxy in the fit (0.3; 0 = goals only)
 *   --ridge R                ridge penalty on team ratings (0.5)
 *   --xg-odds W              weight of the expected goals implied by past games' odds (0 = off)
 *   --newcomer P             pull of teams with little history towards the newcomer prior (3; 0 =
 * off)
 *   --refit DAYS             refit when the last fit is this many days old (1 = every match day)
 *   --report-from YEAR       "all seasons" rows count only seasons from YEAR (earlier ones tune)
 *   --market                 blend with each game's own pre-match odds: the average column
 *                            (BbAv/Avg) when present, else the mean of the single books
 *   --market-col BOOK        ... or one book's column (B365, PS...); closing columns refused
 *   --market-method M        shin (default) or power de-margining of the snapshot
 *   --blend S                log (default) or linear blending space
 *   --market-snap S          sharp (default: PS when the game has it, else the mean of the
 *                            books), mean (mean of the single books) or avg (BbAv/Avg column)
 *   --blend-fit F            pooled (default: one weight over all leagues) or league
 *   --blend-window N         fit a season's weight on the N seasons before it (1; 0 = all)
 *   --print-weights          also print the weights for the season after the data's last one
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/file.h"
#include "models/tool/fd.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: parlay-model eval [--from Y] [--to Y] [--test-div E0,F1] [--xi X] [--shots S]\n"
            "                         [--ridge R] [--xg-odds W] [--newcomer P] [--refit DAYS]\n"
            "                         [--report-from Y] [--market] [--market-col BOOK]\n"
            "                         [--market-method shin|power] [--blend log|linear]\n"
            "                         [--market-snap sharp|mean|avg] [--blend-fit pooled|league]\n"
            "                         [--blend-window N] [--print-weights] "
            "FILE.csv...\n"
            "       parlay-model markets LAMBDA MU [RHO]\n");
    return 2;
}

static int cmd_eval(int argc, char** argv)
{
    int print_weights = 0;
    fd_eval_opts o;
    fd_eval_opts_default(&o);
    fd_data d;
    memset(&d, 0, sizeof d);
    int nfiles = 0;
    for (int i = 0; i < argc; i++) {
        const char* a = argv[i];
        if (i + 1 < argc && strcmp(a, "--from") == 0)
            o.first_season = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--to") == 0)
            o.last_season = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--test-div") == 0)
            o.test_divs = argv[++i];
        else if (i + 1 < argc && strcmp(a, "--xi") == 0)
            o.fit.xi = atof(argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--shots") == 0)
            o.fit.shots_weight = atof(argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--ridge") == 0)
            o.fit.ridge = atof(argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--xg-odds") == 0)
            o.fit.xg_weight = atof(argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--newcomer") == 0)
            o.fit.newcomer_pull = atof(argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--refit") == 0)
            o.refit_days = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--report-from") == 0)
            o.report_from = atoi(argv[++i]);
        else if (strcmp(a, "--market") == 0)
            o.market = 1;
        else if (i + 1 < argc && strcmp(a, "--market-col") == 0) {
            char why[256];
            o.market = 1;
            o.market_col = argv[++i];
            if (fd_column_is_closing(o.market_col, why, sizeof why)) {
                fprintf(stderr, "parlay-model: refused: %s\n", why);
                return 2;
            }
            if (fd_column_is_aggregate(o.market_col)) {
                fprintf(stderr,
                        "parlay-model: refused: %s is a max-odds column (the best price over "
                        "many books, offered by no one)\n",
                        o.market_col);
                return 2;
            }
        } else if (i + 1 < argc && strcmp(a, "--market-method") == 0) {
            const char* m = argv[++i];
            if (strcmp(m, "shin") == 0)
                o.market_method = MODEL_MARGIN_SHIN;
            else if (strcmp(m, "power") == 0)
                o.market_method = MODEL_MARGIN_POWER;
            else {
                fprintf(stderr, "parlay-model: --market-method: shin or power, not %s\n", m);
                return 2;
            }
        } else if (i + 1 < argc && strcmp(a, "--market-snap") == 0) {
            const char* m = argv[++i];
            if (strcmp(m, "sharp") == 0)
                o.market_snap = FD_SNAP_SHARP;
            else if (strcmp(m, "mean") == 0)
                o.market_snap = FD_SNAP_MEAN;
            else if (strcmp(m, "avg") == 0)
                o.market_snap = FD_SNAP_AVG;
            else {
                fprintf(stderr, "parlay-model: --market-snap: sharp, mean or avg, not %s\n", m);
                return 2;
            }
        } else if (i + 1 < argc && strcmp(a, "--blend-fit") == 0) {
            const char* m = argv[++i];
            if (strcmp(m, "pooled") == 0 || strcmp(m, "league") == 0)
                o.blend_pooled = strcmp(m, "pooled") == 0;
            else {
                fprintf(stderr, "parlay-model: --blend-fit: pooled or league, not %s\n", m);
                return 2;
            }
        } else if (i + 1 < argc && strcmp(a, "--blend-window") == 0) {
            o.blend_window = atoi(argv[++i]);
            if (o.blend_window < 0)
                return usage();
        } else if (strcmp(a, "--print-weights") == 0) {
            print_weights = 1;
            o.market = 1;
        } else if (i + 1 < argc && strcmp(a, "--blend") == 0) {
            const char* m = argv[++i];
            if (strcmp(m, "log") == 0)
                o.blend_space = MODEL_BLEND_LOG;
            else if (strcmp(m, "linear") == 0)
                o.blend_space = MODEL_BLEND_LINEAR;
            else {
                fprintf(stderr, "parlay-model: --blend: log or linear, not %s\n", m);
                return 2;
            }
        } else if (a[0] == '-')
            return usage();
        else {
            char* buf;
            size_t len;
            if (file_read(a, (size_t)1 << 30, &buf, &len)) {
                fprintf(stderr, "parlay-model: cannot read %s\n", a);
                return 1;
            }
            int rc = fd_parse(&d, buf, len);
            free(buf);
            if (rc) {
                fprintf(stderr, "parlay-model: %s: %s\n", a, model_strerror(rc));
                return 1;
            }
            nfiles++;
        }
    }
    if (!nfiles || o.refit_days < 1)
        return usage();
    if (o.market_col) {
        int found = 0;
        for (int b = 0; b < d.nbooks; b++)
            found |= strcmp(d.books[b], o.market_col) == 0;
        if (!found) {
            fprintf(stderr,
                    "parlay-model: --market-col %s: no such bookmaker column in the files\n",
                    o.market_col);
            return 2;
        }
    }
    fd_eval_result* r = malloc(sizeof *r);
    if (!r)
        return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = fd_eval(&d, &o, r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc) {
        fprintf(stderr, "parlay-model: eval: %s\n", model_strerror(rc));
        return 1;
    }
    printf(
        "parlay-model eval: %d files, %zu games read (%zu rows skipped), %d teams, %d bookmaker "
        "columns\n",
        nfiles, d.n, d.skipped, d.nteams, d.nbooks);
    printf(
        "fit: Dixon-Coles, xi %.4f/day, shots weight %.2f, past-odds xG weight %.2f, ridge %.2f, "
        "newcomer "
        "pull %.1f, refit every %d day(s); %ld fits, %ld games tested, %.1f s\n",
        o.fit.xi, o.fit.shots_weight, o.fit.xg_weight, o.fit.ridge, o.fit.newcomer_pull,
        o.refit_days, r->fits, r->games_tested,
        (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec));
    printf("columns: RPS/logloss of each bookmaker's 1X2 odds de-margined by each method\n");
    fd_eval_print(stdout, &d, r);
    if (print_weights && (rc = fd_eval_print_weights(stdout, &d, r))) {
        fprintf(stderr, "parlay-model: weights: %s\n", model_strerror(rc));
        return 1;
    }
    fd_eval_free(r);
    free(r);
    fd_free(&d);
    return 0;
}

static int cmd_markets(int argc, char** argv)
{
    if (argc < 2)
        return usage();
    double lam = atof(argv[0]), mu = atof(argv[1]), rho = argc > 2 ? atof(argv[2]) : 0.0;
    model_fb_grid g;
    model_fb_markets m;
    int rc = model_fb_grid_dc(lam, mu, rho, &g);
    if (!rc)
        rc = model_fb_markets_compute(&g, &m);
    if (rc) {
        fprintf(stderr, "parlay-model: %s\n", model_strerror(rc));
        return 1;
    }
    printf("1X2          %.4f %.4f %.4f\n", m.home, m.draw, m.away);
    printf("double chance 1X %.4f 12 %.4f X2 %.4f\n", m.dc_1x, m.dc_12, m.dc_x2);
    printf("draw no bet  %.4f %.4f\n", m.dnb_home, m.dnb_away);
    for (int k = 0; k < MODEL_FB_TOTAL_LINES; k++)
        printf("over %d.5     %.4f\n", k, m.over[k]);
    printf("btts yes     %.4f\n", m.btts_yes);
    for (int k = 0; k < MODEL_FB_AH_LINES; k++)
        printf(
            "AH home %+.2f  win %.4f half-win %.4f push %.4f half-loss %.4f loss %.4f  1/fair "
            "%.4f\n",
            -3.0 + 0.25 * k, m.ah[k].p[MODEL_AH_WIN], m.ah[k].p[MODEL_AH_HALF_WIN],
            m.ah[k].p[MODEL_AH_PUSH], m.ah[k].p[MODEL_AH_HALF_LOSS], m.ah[k].p[MODEL_AH_LOSS],
            m.ah[k].eff_home);
    return 0;
}

int main(int argc, char** argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "eval") == 0)
        return cmd_eval(argc - 2, argv + 2);
    if (strcmp(argv[1], "markets") == 0)
        return cmd_markets(argc - 2, argv + 2);
    return usage();
}
