/*
 * test_models_eval.c -- the football-data.co.uk reader and the walk-forward evaluation.
 *
 * The reader is tested on inline CSV text with the quirks of the real files (CRLF, trailing
 * commas, empty lines, two-digit and four-digit years, a row without a result). The
 * evaluation runs on one real season (EPL 2014-15 with 2013-14 as history) from
 * MODELS_DATA_DIR (default /work/shared/data/football); without the data that test is skipped.
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

#include "models/tool/fd.h"

static const char csv[] =
    "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,FTR,HS,AS,HST,AST,B365H,B365D,B365A,BbAHh,BbMxAHH,"
    "BbMxAHA,PSH,PSD,PSA,,\r\n"
    "E0,16/08/14,Arsenal,Crystal "
    "Palace,2,1,H,14,4,6,2,1.25,6.5,15,-1.5,1.81,2.2,1.26,6.45,14.01,,\r\n"
    "E0,16/08/2014,Leicester,Everton,2,2,D,11,13,3,3,3.2,3.4,2.4,0.25,1.9,2.0,,,,,\r\n"
    "E0,17/08/14,Arsenal,,1,1,D,,,,,,,,,,,,,,,\r\n"
    "E0,18/08/14,Everton,Arsenal,,,,,,,,,,,,,,,,,,\r\n"
    "\r\n"
    ",,,,,,,,,,,,,,,,,,,,,\r\n"
    "\n";

static void reader_quirks(void** s)
{
    (void)s;
    fd_data d;
    memset(&d, 0, sizeof d);
    assert_int_equal(fd_parse(&d, csv, sizeof csv - 1), MODEL_OK);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.skipped, 2); /* no away team; no result */
    assert_int_equal(d.nteams, 4);
    assert_int_equal(d.nbooks, 2); /* B365 and PS; the Asian columns are not 1X2 books */
    assert_string_equal(d.books[0], "B365");
    assert_string_equal(d.books[1], "PS");
    const fd_match* m = &d.m[0];
    assert_string_equal(m->div, "E0");
    assert_int_equal(m->season, 2014);
    assert_int_equal(m->hg, 2);
    assert_int_equal(m->ast, 2);
    assert_true(m->odds[0][2] == 15.0);
    assert_true(m->odds[1][2] == 14.01);
    assert_int_equal(d.m[1].day, m->day);  /* 16/08/2014 == 16/08/14 */
    assert_true(d.m[1].odds[1][0] == 0.0); /* missing Pinnacle odds */
    assert_int_equal(fd_parse_date("01/01/70", NULL), 0);
    assert_int_equal(fd_parse_date("01/03/2000", NULL), 11017);
    assert_int_equal(fd_parse_date("31/13/2000", NULL), -1);
    assert_int_equal(fd_parse_date("1/1/2000x", NULL), -1);
    int season;
    assert_int_equal(fd_parse_date("30/06/2011", &season) + 1, fd_parse_date("01/07/11", NULL));
    assert_int_equal(season, 2010);
    assert_int_equal(fd_parse(&d, "no,header\n1,2\n", 14), MODEL_EINVAL);
    /* the other football-data layout (extra leagues): Home/Away/HG/AG, League, PH/PD/PA */
    static const char extra[] =
        "Country,League,Season,Date,Time,Home,Away,HG,AG,Res,PH,PD,PA,MaxH,MaxD,MaxA\n"
        "Brazil,Serie "
        "A,2012,19/05/2012,22:30,Palmeiras,Portuguesa,1,1,D,1.75,3.86,5.25,1.76,3.86,5.25\n";
    size_t before = d.n;
    assert_int_equal(fd_parse(&d, extra, sizeof extra - 1), MODEL_OK);
    assert_int_equal(d.n, before + 1);
    assert_string_equal(d.m[before].div, "Serie A");
    assert_int_equal(d.m[before].season, 2012); /* from the Season column */
    int pb = -1;
    for (int b = 0; b < d.nbooks; b++)
        if (strcmp(d.books[b], "P") == 0)
            pb = b;
    assert_true(pb >= 0);
    assert_true(d.m[before].odds[pb][2] == 5.25);
    fd_free(&d);
}

/* Garbage in: truncated files at every length and random text from the CSV alphabet must give
 * OK or an error code, never a crash or an out-of-bounds access (ASan watches). */
static void reader_survives_garbage(void** s)
{
    (void)s;
    for (size_t len = 0; len <= sizeof csv - 1; len++) {
        fd_data d;
        memset(&d, 0, sizeof d);
        int rc = fd_parse(&d, csv, len);
        assert_true(rc == MODEL_OK || rc == MODEL_EINVAL);
        fd_free(&d);
    }
    static const char alphabet[] = "0123456789,,,,///\n\n\r\"HDA.-ETeamxyz ";
    uint64_t st = 7;
    char buf[600];
    const char* hdr = "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,HS,AS,HST,AST,XH,XD,XA\n";
    for (int it = 0; it < 3000; it++) {
        size_t n = 0;
        if (it % 2) { /* with a valid header, so that rows get parsed */
            n = strlen(hdr);
            memcpy(buf, hdr, n);
        }
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t len = (st >> 33) % (sizeof buf - n);
        for (size_t i = 0; i < len; i++) {
            st = st * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[n++] = alphabet[(st >> 33) % (sizeof alphabet - 1)];
        }
        fd_data d;
        memset(&d, 0, sizeof d);
        int rc = fd_parse(&d, buf, n);
        assert_true(rc == MODEL_OK || rc == MODEL_EINVAL);
        for (size_t i = 0; i < d.n; i++) {
            assert_true(d.m[i].home >= 0 && d.m[i].home < d.nteams);
            assert_true(d.m[i].hg >= 0 && d.m[i].ag >= 0);
        }
        fd_free(&d);
    }
}

static int load(fd_data* d, const char* dir, const char* name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE* f = fopen(path, "rb");
    if (!f)
        return -1;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return fd_parse(d, buf, n);
}

static void walk_forward_one_season(void** s)
{
    (void)s;
    const char* dir = getenv("MODELS_DATA_DIR");
    if (!dir)
        dir = "/work/shared/data/football";
    fd_data d;
    memset(&d, 0, sizeof d);
    if (load(&d, dir, "england-Premier-2013-2014.csv") ||
        load(&d, dir, "england-Premier-2014-2015.csv")) {
        fd_free(&d);
        skip();
    }
    fd_eval_opts o;
    fd_eval_opts_default(&o);
    o.first_season = o.last_season = 2014;
    o.refit_days = 7;
    fd_eval_result* r = calloc(1, sizeof *r);
    assert_int_equal(fd_eval(&d, &o, r), MODEL_OK);
    assert_int_equal(r->games_tested, 380);
    const fd_row* all = NULL;
    for (int i = 0; i < r->nrows; i++)
        if (strcmp(r->row[i].div, "ALL") == 0)
            all = &r->row[i];
    assert_non_null(all);
    double model = all->model.rps / all->model.n, base = all->base.rps / all->base.n;
    int b365 = -1;
    for (int b = 0; b < d.nbooks; b++)
        if (strcmp(d.books[b], "B365") == 0)
            b365 = b;
    assert_true(b365 >= 0);
    const fd_acc* bk = &all->book[b365][MODEL_MARGIN_SHIN];
    double book = bk->rps / bk->n;
    /* The model must beat the naive baseline clearly and be near the bookmaker (with one
     * season of history the gap is larger than over five seasons). */
    assert_true(model < base - 0.01);
    assert_true(model < book * 1.06);
    assert_true(book > 0.17 && book < 0.22);
    /* Walk-forward must not peek: the first week's predictions exist (fit on 2013-14 only). */
    assert_true(r->fits >= 30 && r->fits <= 60);
    FILE* devnull = fopen("/dev/null", "w");
    fd_eval_print(devnull, &d, r);
    fclose(devnull);
    free(r);
    fd_free(&d);
}

/* Closing odds (recorded at kick-off) are refused by name, with a message saying why;
 * pre-match columns, including VC Bet's, are not. */
static void closing_columns_refused(void** s)
{
    (void)s;
    const char* closing[] = {"PSCH",     "PSCD",    "PSCA", "B365CH",   "AvgCH",
                             "MaxCH",    "VCCH",    "WHCA", "AvgC>2.5", "PC<2.5",
                             "B365CAHH", "AvgCAHA", "PSC",  "B365C",    "MaxC"};
    const char* prematch[] = {"B365H", "PSH",  "PSA", "VCH",      "VC",    "BbAvH",   "AvgH",
                              "MaxH",  "WHH",  "WH",  "BbAv>2.5", "P>2.5", "B365AHH", "BbAHh",
                              "B365",  "BbAv", "IW",  "Avg<2.5",  ""};
    char why[256];
    for (size_t i = 0; i < sizeof closing / sizeof *closing; i++) {
        why[0] = '\0';
        if (!fd_column_is_closing(closing[i], why, sizeof why))
            fail_msg("%s not refused", closing[i]);
        assert_non_null(strstr(why, "closing"));
        assert_non_null(strstr(why, closing[i]));
    }
    for (size_t i = 0; i < sizeof prematch / sizeof *prematch; i++)
        if (fd_column_is_closing(prematch[i], why, sizeof why))
            fail_msg("%s refused", prematch[i]);
    assert_int_equal(fd_column_is_closing(NULL, NULL, 0), 0);
    fd_column_is_closing("PSCH", NULL, 0); /* no message buffer: no crash */
}

static const fd_row* find_row(const fd_eval_result* r, const char* div, int season)
{
    for (int i = 0; i < r->nrows; i++)
        if (r->row[i].season == season && strcmp(r->row[i].div, div) == 0)
            return &r->row[i];
    return NULL;
}

/* The market mode on one real season: the blend beats the model alone; the weight of the
 * first tested season is the default (no earlier season: the season itself is never used);
 * a closing column that knows the results is refused when asked for and never enters the
 * snapshot built from the books; two runs give the same bits. */
static void market_mode_one_season(void** s)
{
    (void)s;
    const char* dir = getenv("MODELS_DATA_DIR");
    if (!dir)
        dir = "/work/shared/data/football";
    fd_data d;
    memset(&d, 0, sizeof d);
    if (load(&d, dir, "england-Premier-2013-2014.csv") ||
        load(&d, dir, "england-Premier-2014-2015.csv")) {
        fd_free(&d);
        skip();
    }
    /* a leaking "closing" column: near-certain odds on what happened */
    assert_true(d.nbooks < FD_MAX_BOOKS);
    int leak = d.nbooks++, avg = -1;
    snprintf(d.books[leak], sizeof d.books[leak], "PSC");
    for (int b = 0; b < d.nbooks; b++)
        if (strcmp(d.books[b], "BbAv") == 0)
            avg = b;
    assert_true(avg >= 0);
    for (size_t i = 0; i < d.n; i++) {
        fd_match* m = &d.m[i];
        int k = m->hg > m->ag ? 0 : m->hg == m->ag ? 1 : 2;
        for (int j = 0; j < 3; j++)
            m->odds[leak][j] = j == k ? 1.02 : 40.0;
    }
    fd_eval_opts o;
    fd_eval_opts_default(&o);
    o.first_season = o.last_season = 2014;
    o.refit_days = 7;
    o.market = 1;
    o.market_snap = FD_SNAP_AVG;
    fd_eval_result *r = calloc(1, sizeof *r), *r2 = calloc(1, sizeof *r2);
    assert_non_null(r);
    assert_non_null(r2);

    o.market_col = "PSC";
    assert_int_equal(fd_eval(&d, &o, r), MODEL_EINVAL);
    fd_eval_free(r);
    o.market_col = "B365";
    assert_int_equal(fd_eval(&d, &o, r), MODEL_OK);
    const fd_row* w = find_row(r, "E0", 2014);
    assert_non_null(w);
    assert_int_equal(w->mkt.n, 380);
    assert_int_equal(w->mkt_from_avg + w->mkt_from_books, 380);
    fd_eval_free(r);
    o.market_col = NULL;

    assert_int_equal(fd_eval(&d, &o, r), MODEL_OK);
    assert_int_equal(fd_eval(&d, &o, r2), MODEL_OK);
    w = find_row(r, "E0", 2014);
    assert_non_null(w);
    assert_int_equal(w->mkt_from_avg, 380);
    assert_int_equal(w->weight_n, 0);
    assert_true(w->weight == FD_BLEND_DEFAULT_W);
    double model = w->mkt_model.rps / w->mkt_model.n, mkt = w->mkt.rps / w->mkt.n,
           blend = w->blend.rps / w->blend.n;
    assert_true(mkt > 0.17 && mkt < 0.22);
    assert_true(blend < model);
    assert_true(blend < fmax(model, mkt));
    const fd_row* w2 = find_row(r2, "E0", 2014);
    assert_non_null(w2);
    assert_memory_equal(&w->blend, &w2->blend, sizeof w->blend);
    assert_memory_equal(&w->mkt, &w2->mkt, sizeof w->mkt);
    FILE* devnull = fopen("/dev/null", "w");
    fd_eval_print(devnull, &d, r);
    fclose(devnull);
    fd_eval_free(r);
    fd_eval_free(r2);

    /* without the average column the snapshot is the mean of the books, never the leak */
    for (size_t i = 0; i < d.n; i++)
        d.m[i].odds[avg][0] = d.m[i].odds[avg][1] = d.m[i].odds[avg][2] = 0.0;
    assert_int_equal(fd_eval(&d, &o, r), MODEL_OK);
    w = find_row(r, "E0", 2014);
    assert_non_null(w);
    assert_int_equal(w->mkt_from_books, 380);
    mkt = w->mkt.rps / w->mkt.n;
    assert_true(mkt > 0.17 && mkt < 0.22); /* with the leak it would be near 0 */
    fd_eval_free(r);

    /* the sharp snapshot: Pinnacle's pre-match column (PS) where the game has it, the mean of
     * the books where it does not; the closing leak never */
    int ps = -1;
    for (int b = 0; b < d.nbooks; b++)
        if (strcmp(d.books[b], "PS") == 0)
            ps = b;
    assert_true(ps >= 0);
    long with_ps = 0;
    for (size_t i = 0; i < d.n; i++) {
        if (d.m[i].season != 2014)
            continue;
        if (i % 3 == 0)
            d.m[i].odds[ps][1] = 0.0; /* a third of the games lose Pinnacle's draw price */
        with_ps += d.m[i].odds[ps][0] > 1 && d.m[i].odds[ps][1] > 1 && d.m[i].odds[ps][2] > 1;
    }
    o.market_snap = FD_SNAP_SHARP;
    assert_int_equal(fd_eval(&d, &o, r), MODEL_OK);
    w = find_row(r, "E0", 2014);
    assert_non_null(w);
    assert_int_equal(w->mkt_from_avg, with_ps);
    assert_int_equal(w->mkt_from_books, 380 - with_ps);
    mkt = w->mkt.rps / w->mkt.n;
    assert_true(mkt > 0.17 && mkt < 0.22);
    fd_eval_free(r);
    free(r);
    free(r2);
    fd_free(&d);
}

/* Two seasons, pooled and per league: the 2014 weight is fitted on the 2013 games only (the
 * tested season never), and rewriting every 2014 result changes no 2014 weight; the weights
 * printed for the season after the data come from the last season. */
static void market_weights_walk_forward(void** s)
{
    (void)s;
    const char* dir = getenv("MODELS_DATA_DIR");
    if (!dir)
        dir = "/work/shared/data/football";
    fd_data d;
    memset(&d, 0, sizeof d);
    if (load(&d, dir, "england-Premier-2013-2014.csv") ||
        load(&d, dir, "england-Premier-2014-2015.csv")) {
        fd_free(&d);
        skip();
    }
    fd_eval_opts o;
    fd_eval_opts_default(&o);
    o.first_season = 2013;
    o.last_season = 2014;
    o.refit_days = 7;
    o.market = 1;
    fd_eval_result *r = calloc(1, sizeof *r), *r2 = calloc(1, sizeof *r2);
    assert_non_null(r);
    assert_non_null(r2);
    for (int pooled = 0; pooled <= 1; pooled++) {
        o.blend_pooled = pooled;
        o.blend_window = pooled; /* per league: every earlier season */
        assert_int_equal(fd_eval(&d, &o, r), MODEL_OK);
        const fd_row* w = find_row(r, "E0", 2014);
        assert_non_null(w);
        assert_int_equal(w->weight_n, 380);
        assert_int_equal(w->weight_first, 2013);
        assert_int_equal(w->weight_last, 2013);
        assert_true(w->weight >= 0.0 && w->weight <= 1.0);
        double w14 = w->weight;
        assert_int_equal(find_row(r, "E0", 2013)->weight_n, 0);
        /* 2014's results rewritten (home wins become away wins and back): same 2014 weight */
        fd_data d2 = d;
        fd_match* m2 = malloc(sizeof *m2 * d.n);
        assert_non_null(m2);
        memcpy(m2, d.m, sizeof *m2 * d.n);
        for (size_t i = 0; i < d.n; i++)
            if (m2[i].season == 2014) {
                int t = m2[i].hg;
                m2[i].hg = m2[i].ag;
                m2[i].ag = t;
            }
        d2.m = m2;
        assert_int_equal(fd_eval(&d2, &o, r2), MODEL_OK);
        const fd_row* w2 = find_row(r2, "E0", 2014);
        assert_non_null(w2);
        assert_memory_equal(&w14, &w2->weight, sizeof w14);
        assert_true(memcmp(&w->blend, &w2->blend, sizeof w->blend) != 0); /* 2014 did change */
        char* buf = NULL;
        size_t len = 0;
        FILE* f = open_memstream(&buf, &len);
        assert_non_null(f);
        assert_int_equal(fd_eval_print_weights(f, &d, r), MODEL_OK);
        fclose(f);
        assert_non_null(strstr(buf, "for seasons from 2015-16"));
        /* one-season window: the last season; every earlier season: both */
        assert_non_null(strstr(buf, pooled ? "seasons 2014-2014" : "seasons 2013-2014"));
        free(buf);
        fd_eval_free(r);
        fd_eval_free(r2);
        free(m2);
    }
    free(r);
    free(r2);
    fd_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reader_quirks),           cmocka_unit_test(reader_survives_garbage),
        cmocka_unit_test(walk_forward_one_season), cmocka_unit_test(closing_columns_refused),
        cmocka_unit_test(market_mode_one_season),  cmocka_unit_test(market_weights_walk_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
