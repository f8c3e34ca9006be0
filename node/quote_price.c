/* Pricing a quote round. See quote_price.h. */
#include "node/quote_price.h"

#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/quotes.h"
#include "common/file.h"
#include "feed/feed.h"
#include "models/history.h"
#include "node/quote_trader.h"

#define RATINGS_CACHE 4
#define DEFAULT_LAMBDA 1.45
#define DEFAULT_MU 1.15

struct fit {
    bool valid;
    uint64_t epoch;
    int day;
    unsigned used; /* LRU clock */
    int nteams;
    char (*teams)[FD_NAME];
    bool fitted; /* false: no games, default rates */
    model_fb_params params;
};

struct ratings {
    fd_data hist;
    int last_day; /* of the history, or -1 */
    struct fit cache[RATINGS_CACHE];
    unsigned clock;
    uint64_t fits;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct ratings *ratings_open(const char *dir, char *err, size_t errlen)
{
    struct ratings *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->last_day = -1;
    if (!dir || !*dir)
        return r;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "key 'ratings_history': cannot open directory %s", dir);
        free(r);
        return NULL;
    }
    char *names[1024];
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(d)) && nn < 1024) {
        size_t l = strlen(de->d_name);
        if (l > 4 && !strcmp(de->d_name + l - 4, ".csv"))
            names[nn++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof *names, cmp_str); /* the same order on every node */
    int rc = 0;
    for (size_t i = 0; i < nn; i++) {
        char path[4096], *buf;
        size_t len;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (rc == 0 && file_read(path, (size_t)1 << 30, &buf, &len) == 0) {
            rc = fd_parse(&r->hist, buf, len);
            free(buf);
            if (rc)
                snprintf(err, errlen, "key 'ratings_history': %s: %s", path, model_strerror(rc));
        }
        free(names[i]);
    }
    if (rc || r->hist.nteams > MODEL_FB_MAX_TEAMS / 2) {
        if (!rc)
            snprintf(err, errlen, "key 'ratings_history': %d teams, at most %d", r->hist.nteams,
                     MODEL_FB_MAX_TEAMS / 2);
        fd_free(&r->hist);
        free(r);
        return NULL;
    }
    for (size_t i = 0; i < r->hist.n; i++)
        if (r->hist.m[i].day > r->last_day)
            r->last_day = r->hist.m[i].day;
    return r;
}

void ratings_close(struct ratings *r)
{
    if (!r)
        return;
    for (int i = 0; i < RATINGS_CACHE; i++)
        free(r->cache[i].teams);
    fd_free(&r->hist);
    free(r);
}

unsigned ratings_history_games(const struct ratings *r)
{
    return (unsigned)r->hist.n;
}

uint64_t ratings_fits(const struct ratings *r)
{
    return r->fits;
}

static int team_id(struct fit *ft, const char *name, bool add)
{
    for (int i = 0; i < ft->nteams; i++)
        if (!strncmp(ft->teams[i], name, FD_NAME - 1))
            return i;
    if (!add || ft->nteams >= MODEL_FB_MAX_TEAMS - 2)
        return -1;
    snprintf(ft->teams[ft->nteams], FD_NAME, "%s", name);
    return ft->nteams++;
}

static int fit_now(struct ratings *r, struct fit *ft, struct fsm *f, MDB_txn *txn,
                   uint64_t epoch, int day)
{
    free(ft->teams);
    memset(ft, 0, sizeof *ft);
    ft->teams = calloc(MODEL_FB_MAX_TEAMS, FD_NAME);
    size_t cap = r->hist.n + epoch;
    model_fb_game *g = calloc(cap ? cap : 1, sizeof *g);
    if (!ft->teams || !g) {
        free(g);
        return MODEL_ENOMEM;
    }
    for (int i = 0; i < r->hist.nteams; i++)
        snprintf(ft->teams[i], FD_NAME, "%s", r->hist.teams[i]);
    ft->nteams = r->hist.nteams;
    size_t n = 0;
    for (size_t i = 0; i < r->hist.n; i++) {
        const fd_match *m = &r->hist.m[i];
        g[n++] = (model_fb_game){.day = m->day, .home = m->home, .away = m->away,
                                 .home_goals = m->hg, .away_goals = m->ag, .home_shots = m->hs,
                                 .away_shots = m->as, .home_sot = m->hst, .away_sot = m->ast,
                                 .home_xg = -1, .away_xg = -1};
    }
    int d0 = day, base;
    for (uint64_t k = 1; k <= epoch; k++) {
        json_t *res = quotes_result_nth(f, txn, k);
        if (!res)
            continue;
        int kd = (int)(json_integer_value(json_object_get(res, "kickoff")) / 86400);
        if (k == 1 || kd < d0)
            d0 = kd;
        json_decref(res);
    }
    base = r->last_day >= 0 ? r->last_day + 1 : d0; /* agreed results follow the history */
    for (uint64_t k = 1; k <= epoch; k++) {
        json_t *res = quotes_result_nth(f, txn, k);
        if (!res)
            continue;
        int kd = (int)(json_integer_value(json_object_get(res, "kickoff")) / 86400);
        int h = team_id(ft, json_string_value(json_object_get(res, "home")), true);
        int a = team_id(ft, json_string_value(json_object_get(res, "away")), true);
        if (h >= 0 && a >= 0 && h != a)
            g[n++] = (model_fb_game){
                .day = base + (kd - d0), .home = h, .away = a,
                .home_goals = (int)json_integer_value(json_object_get(res, "home_goals")),
                .away_goals = (int)json_integer_value(json_object_get(res, "away_goals")),
                .home_shots = -1, .away_shots = -1, .home_sot = -1, .away_sot = -1,
                .home_xg = -1, .away_xg = -1};
        json_decref(res);
    }
    int before = base + (day > d0 ? day - d0 : 0) + 1;
    int rc = 0;
    if (n > 0) {
        model_fb_fit_opts o;
        model_fb_fit_opts_default(&o);
        rc = model_fb_fit(g, n, before, &o, NULL, &ft->params);
        ft->fitted = rc == 0;
    }
    free(g);
    ft->valid = true;
    ft->epoch = epoch;
    ft->day = day;
    r->fits++;
    return rc == MODEL_ENOMEM ? rc : 0; /* a fit that fails falls back to default rates */
}

int ratings_rates(struct ratings *r, struct fsm *f, MDB_txn *txn, uint64_t epoch, int day,
                  const char *home, const char *away, double *lambda, double *mu, double *rho)
{
    struct fit *ft = NULL, *lru = &r->cache[0];
    for (int i = 0; i < RATINGS_CACHE; i++) {
        struct fit *c = &r->cache[i];
        if (c->valid && c->epoch == epoch && c->day == day)
            ft = c;
        if (!c->valid || c->used < lru->used)
            lru = c;
    }
    if (!ft) {
        int rc = fit_now(r, lru, f, txn, epoch, day);
        if (rc)
            return rc;
        ft = lru;
    }
    ft->used = ++r->clock;
    if (!ft->fitted) {
        *lambda = DEFAULT_LAMBDA;
        *mu = DEFAULT_MU;
        *rho = 0;
        return 0;
    }
    int h = team_id(ft, home, false), a = team_id(ft, away, false);
    /* Teams the fit never saw take the newcomer prior (known[] is 0 past nteams). */
    if (h < 0)
        h = ft->nteams;
    if (a < 0)
        a = ft->nteams + 1;
    *rho = ft->params.rho;
    return model_fb_rates(&ft->params, h, a, 0, lambda, mu);
}

/* ---- margins --------------------------------------------------------------------------- */

static const struct {
    const char *name;
    model_market_type type;
} MARKETS[] = {
    {"1x2", MODEL_MKT_1X2},
    {"double_chance", MODEL_MKT_DOUBLE_CHANCE},
    {"draw_no_bet", MODEL_MKT_DRAW_NO_BET},
    {"total_goals", MODEL_MKT_TOTALS},
    {"btts", MODEL_MKT_BTTS},
    {"correct_score", MODEL_MKT_CORRECT_SCORE},
    {"asian_handicap", MODEL_MKT_ASIAN_HANDICAP},
    {"team_goals", MODEL_MKT_TEAM_TOTALS},
    {"winning_margin", MODEL_MKT_WINNING_MARGIN},
    {"next_goal", MODEL_MKT_NEXT_GOAL},
    {"match_winner", MODEL_MKT_MATCH_WINNER},
    {"set_betting", MODEL_MKT_SET_BETTING},
    {"handicap", MODEL_MKT_HANDICAP},
};

int quote_margins_parse(const char *text, model_quote_cfg *cfg, char *err, size_t errlen)
{
    model_quote_cfg_default(cfg);
    if (!text || !*text)
        return 0;
    json_t *o = json_loads(text, 0, NULL);
    const char *key;
    json_t *v;
    int rc = 0;
    if (!json_is_object(o)) {
        snprintf(err, errlen, "key 'margins' must be an object");
        json_decref(o);
        return -1;
    }
    json_object_foreach(o, key, v)
    {
        if (!strcmp(key, "method")) {
            const char *m = json_string_value(v);
            int found = -1;
            for (int i = 0; m && i < MODEL_MARGIN__COUNT; i++)
                if (!strcmp(m, model_margin_name((model_margin_method)i)))
                    found = i;
            if (found < 0) {
                snprintf(err, errlen, "key 'margins.method' must be one of shin, "
                                      "multiplicative, additive, power");
                rc = -1;
                break;
            }
            cfg->method = (model_margin_method)found;
            continue;
        }
        int t = -1;
        for (size_t i = 0; i < sizeof MARKETS / sizeof *MARKETS; i++)
            if (!strcmp(key, MARKETS[i].name))
                t = (int)MARKETS[i].type;
        if (t < 0 || !json_is_object(v)) {
            snprintf(err, errlen, "key 'margins.%s': not a market with {pre, live}", key);
            rc = -1;
            break;
        }
        const char *ph;
        json_t *x;
        json_object_foreach(v, ph, x)
        {
            int p = !strcmp(ph, "pre") ? MODEL_PHASE_PRE : !strcmp(ph, "live") ? MODEL_PHASE_LIVE
                                                                               : -1;
            double val = json_number_value(x);
            if (p < 0 || !json_is_number(x) || !(val >= 0 && val <= 0.5)) {
                snprintf(err, errlen, "key 'margins.%s.%s': need pre or live, a number from 0 "
                                      "to 0.5", key, ph);
                rc = -1;
                break;
            }
            cfg->margin[t][p] = val;
        }
        if (rc)
            break;
    }
    json_decref(o);
    return rc;
}

/* ---- trader controls (issue 17) ---------------------------------------------------------- */

/* @base with the round's trader margin shifts added (inputs.trader: margin_shift_bp for every
 * market, market_shift_bp per margins key) and the TRJ governor's adjustment (inputs.governor_bp,
 * every market), each margin kept within 0..0.5. Plain IEEE additions of integers / 10000: the
 * same bits on every node. */
static void trader_cfg(const json_t *inputs, const model_quote_cfg *base, model_quote_cfg *out)
{
    *out = *base;
    json_t *t = json_object_get(inputs, "trader");
    json_int_t gov = json_integer_value(json_object_get(inputs, "governor_bp"));
    if (!json_is_object(t) && !gov)
        return;
    double all =
        (double)(json_integer_value(json_object_get(t, "margin_shift_bp")) + gov) / 10000.0;
    json_t *ms = json_object_get(t, "market_shift_bp");
    for (int k = 0; k < MODEL_MKT__COUNT; k++) {
        double extra = 0;
        for (size_t i = 0; i < sizeof MARKETS / sizeof *MARKETS; i++)
            if ((int)MARKETS[i].type == k)
                extra += (double)json_integer_value(json_object_get(ms, MARKETS[i].name)) /
                         10000.0;
        for (int p = 0; p < MODEL_PHASE__COUNT; p++) {
            double m = base->margin[k][p] + all + extra;
            out->margin[k][p] = m < 0 ? 0 : m > 0.5 ? 0.5 : m;
        }
    }
}

/* Double chance and draw no bet from a changed 1X2. */
static void follow_1x2(model_fb_markets *mk)
{
    mk->dc_1x = mk->home + mk->draw;
    mk->dc_12 = mk->home + mk->away;
    mk->dc_x2 = mk->draw + mk->away;
    if (mk->home + mk->away > 0) {
        mk->dnb_home = mk->home / (mk->home + mk->away);
        mk->dnb_away = mk->away / (mk->home + mk->away);
    }
}

/* The trader's lean: the 1X2 probability of inputs.trader.lean.outcome up by bp / 10000 (at
 * most to 0.99), the other two scaled down in proportion so the three still sum to one; double
 * chance and draw no bet follow from the new 1X2. Other markets are not leaned. */
static void trader_lean(const json_t *inputs, model_fb_markets *mk)
{
    json_t *lean = json_object_get(json_object_get(inputs, "trader"), "lean");
    const char *o = json_string_value(json_object_get(lean, "outcome"));
    json_int_t bp = json_integer_value(json_object_get(lean, "bp"));
    if (!o || bp <= 0)
        return;
    double *p[3] = {&mk->home, &mk->draw, &mk->away};
    int k = !strcmp(o, "home") ? 0 : !strcmp(o, "draw") ? 1 : !strcmp(o, "away") ? 2 : -1;
    if (k < 0 || !(*p[k] < 0.99))
        return;
    double to = *p[k] + (double)bp / 10000.0;
    if (to > 0.99)
        to = 0.99;
    double scale = (1.0 - to) / (1.0 - *p[k]);
    for (int i = 0; i < 3; i++)
        *p[i] = i == k ? to : *p[i] * scale;
    follow_1x2(mk);
}

/* ---- market blend (issue 17) ------------------------------------------------------------- */

/* The round's agreed market snapshot (inputs.market: {seq, odds_milli: [[h, d, a], ...]},
 * pre-match only) de-margined by Shin and averaged over its books, then blended with the
 * model's 1X2 by logarithmic pooling with the fixture's league weight (inputs.competition,
 * agreed with the fixture: model_blend_weight_fb, a compiled-in table fitted walk-forward by
 * parlay-model eval; an unknown competition gets the pooled weight) (models/blend.c; detmath,
 * fixed order: the same bits on every node). No snapshot, or no usable book: the model alone.
 * Other markets follow from the 1X2 only through double chance and draw no bet. */
static void market_blend(const json_t *inputs, model_fb_markets *mk)
{
    json_t *books = json_object_get(json_object_get(inputs, "market"), "odds_milli");
    size_t nb = json_array_size(books);
    if (nb < 1 || nb > FEED_ODDS_BOOKS_MAX)
        return;
    double odds[FEED_ODDS_BOOKS_MAX * 3], q[3], b[3], pm[3] = {mk->home, mk->draw, mk->away};
    for (size_t i = 0; i < nb; i++)
        for (size_t j = 0; j < 3; j++)
            odds[i * 3 + j] =
                (double)json_integer_value(json_array_get(json_array_get(books, i), j)) / 1000.0;
    const char *league = json_string_value(json_object_get(inputs, "competition"));
    if (model_market_fair(odds, (int)nb, 3, MODEL_MARGIN_SHIN, q, NULL) != MODEL_OK ||
        model_blend(pm, q, 3, model_blend_weight_fb(league), MODEL_BLEND_LOG, b) != MODEL_OK)
        return;
    mk->home = b[0], mk->draw = b[1], mk->away = b[2];
    follow_1x2(mk);
}

/* ---- prices ---------------------------------------------------------------------------- */

static int fault_add;

static void put(json_t *o, const char *k, int32_t price)
{
    if (price > 0)
        json_object_set_new(o, k, json_integer(price + fault_add));
}

static void two_way(json_t *parent, const char *line, const char *a, int32_t pa, const char *b,
                    int32_t pb)
{
    json_t *o = json_object();
    put(o, a, pa);
    put(o, b, pb);
    if (json_object_size(o))
        json_object_set_new(parent, line, o);
    else
        json_decref(o);
}

static void add_market(json_t *all, const char *name, json_t *m)
{
    if (json_object_size(m))
        json_object_set_new(all, name, m);
    else
        json_decref(m);
}

char *quote_price_football(const json_t *inputs, double lambda, double mu, double rho,
                           const model_quote_cfg *cfg, int fault, char *err, size_t errlen)
{
    const char *phase = json_string_value(json_object_get(inputs, "phase"));
    bool live = phase && !strcmp(phase, "live");
    model_quote_cfg tcfg;
    trader_cfg(inputs, cfg, &tcfg);
    cfg = &tcfg;
    model_fb_grid *g = malloc(sizeof *g);
    model_fb_markets *mk = malloc(sizeof *mk);
    model_fb_prices pr;
    int rc = g && mk ? 0 : MODEL_ENOMEM;
    if (rc == 0 && live) {
        model_fb_live st = {
            .lambda = lambda,
            .mu = mu,
            .rho = rho,
            .minute = (double)json_integer_value(json_object_get(inputs, "minute_x10")) / 10.0,
            .half = (int)json_integer_value(json_object_get(inputs, "half")),
            .home_goals = (int)json_integer_value(json_object_get(inputs, "home_goals")),
            .away_goals = (int)json_integer_value(json_object_get(inputs, "away_goals")),
            .home_reds = (int)json_integer_value(json_object_get(inputs, "home_reds")),
            .away_reds = (int)json_integer_value(json_object_get(inputs, "away_reds")),
        };
        if (st.home_reds > 4)
            st.home_reds = 4;
        if (st.away_reds > 4)
            st.away_reds = 4;
        model_fb_live_params lp;
        model_fb_live_params_default(&lp);
        rc = model_fb_grid_live(&st, &lp, g);
    } else if (rc == 0) {
        rc = model_fb_grid_dc(lambda, mu, rho, g);
    }
    if (rc == 0)
        rc = model_fb_markets_compute(g, mk);
    if (rc == 0 && !live)
        market_blend(inputs, mk); /* the agreed market first, the trader's lean on top */
    if (rc == 0) {
        trader_lean(inputs, mk);
        quote_trader_lean_markets(inputs, mk); /* per market, after the 1X2's followers */
    }
    if (rc == 0)
        rc = model_fb_quote(mk, cfg, live ? MODEL_PHASE_LIVE : MODEL_PHASE_PRE, &pr);
    free(g);
    free(mk);
    if (rc) {
        snprintf(err, errlen, "models: %s", model_strerror(rc));
        return NULL;
    }
    quote_trader_move_lines(inputs, &pr);
    fault_add = fault ? 10 : 0;
    json_t *all = json_object(), *m;
    char k[32];
    m = json_object();
    put(m, "home", pr.x12[0]);
    put(m, "draw", pr.x12[1]);
    put(m, "away", pr.x12[2]);
    add_market(all, "1x2", m);
    m = json_object();
    put(m, "home_draw", pr.dc[0]);
    put(m, "home_away", pr.dc[1]);
    put(m, "draw_away", pr.dc[2]);
    add_market(all, "double_chance", m);
    m = json_object();
    put(m, "home", pr.dnb[0]);
    put(m, "away", pr.dnb[1]);
    add_market(all, "draw_no_bet", m);
    m = json_object();
    for (int i = 0; i < MODEL_FB_TOTAL_LINES; i++) {
        snprintf(k, sizeof k, "%d.5", i);
        two_way(m, k, "over", pr.over[i], "under", pr.under[i]);
    }
    add_market(all, "total_goals", m);
    m = json_object();
    put(m, "yes", pr.btts[0]);
    put(m, "no", pr.btts[1]);
    add_market(all, "btts", m);
    json_t *hm = json_object(), *am = json_object();
    for (int i = 0; i < MODEL_FB_TEAM_LINES; i++) {
        snprintf(k, sizeof k, "%d.5", i);
        two_way(hm, k, "over", pr.home_over[i], "under", pr.home_under[i]);
        two_way(am, k, "over", pr.away_over[i], "under", pr.away_under[i]);
    }
    add_market(all, "home_goals", hm);
    add_market(all, "away_goals", am);
    m = json_object();
    for (int h = 0; h < MODEL_FB_CS_MAX; h++)
        for (int a = 0; a < MODEL_FB_CS_MAX; a++) {
            snprintf(k, sizeof k, "%d-%d", h, a);
            put(m, k, pr.cs[h * MODEL_FB_CS_MAX + a]);
        }
    put(m, "other", pr.cs[MODEL_FB_CS_MAX * MODEL_FB_CS_MAX]);
    add_market(all, "correct_score", m);
    static const char *const wm[MODEL_FB_MARGIN_OUT] = {"home_4+", "home_3", "home_2",
                                                        "home_1",  "draw",   "away_1",
                                                        "away_2",  "away_3", "away_4+"};
    m = json_object();
    for (int i = 0; i < MODEL_FB_MARGIN_OUT; i++)
        put(m, wm[i], pr.win_margin[i]);
    add_market(all, "winning_margin", m);
    m = json_object();
    for (int i = 0; i < MODEL_FB_AH_LINES; i++) {
        snprintf(k, sizeof k, "%.2f", -3.0 + 0.25 * i);
        two_way(m, k, "home", pr.ah_home[i], "away", pr.ah_away[i]);
    }
    add_market(all, "asian_handicap", m);
    if (live) {
        m = json_object();
        put(m, "home", pr.next_goal[0]);
        put(m, "none", pr.next_goal[1]);
        put(m, "away", pr.next_goal[2]);
        add_market(all, "next_goal", m);
    }
    quote_trader_suspend_markets(inputs, all);
    char *text = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(all);
    if (!text)
        snprintf(err, errlen, "out of memory");
    return text;
}

/* ---- tennis and basketball -------------------------------------------------------------- */

static json_int_t in_int(const json_t *in, const char *k)
{
    return json_integer_value(json_object_get(in, k));
}

/* A two-way market under @parent[@key] (or @parent itself when @key is NULL). */
static int price_two(json_t *parent, const char *key, double p, const model_quote_cfg *cfg,
                     model_market_type t, model_phase ph, const char *a, const char *b)
{
    int32_t o[2] = {0, 0};
    if (!(p > 0.0 && p < 1.0))
        return 0; /* decided already: not offered */
    int rc = model_price_two_way(p, cfg, t, ph, o);
    if (rc)
        return rc;
    json_t *m = json_object();
    put(m, a, o[0]);
    put(m, b, o[1]);
    if (key && json_object_size(m)) {
        json_object_set_new(parent, key, m);
        return 0;
    }
    if (!key)
        json_object_update(parent, m);
    json_decref(m);
    return 0;
}

char *quote_price_tennis(const json_t *inputs, double serve_a, double serve_b,
                         const model_quote_cfg *cfg, int fault, char *err, size_t errlen)
{
    const char *phase = json_string_value(json_object_get(inputs, "phase"));
    model_phase ph = phase && !strcmp(phase, "live") ? MODEL_PHASE_LIVE : MODEL_PHASE_PRE;
    model_quote_cfg tcfg;
    trader_cfg(inputs, cfg, &tcfg); /* the margin shifts (the fixture-wide lean is football's) */
    cfg = &tcfg;
    model_tennis_state st = {
        .best_of = (int)in_int(inputs, "best_of"),
        .pa = serve_a,
        .pb = serve_b,
        .sets_a = (int)in_int(inputs, "sets_a"),
        .sets_b = (int)in_int(inputs, "sets_b"),
        .prev_games_a = (int)in_int(inputs, "prev_games_a"),
        .prev_games_b = (int)in_int(inputs, "prev_games_b"),
        .games_a = (int)in_int(inputs, "games_a"),
        .games_b = (int)in_int(inputs, "games_b"),
        .points_a = (int)in_int(inputs, "points_a"),
        .points_b = (int)in_int(inputs, "points_b"),
        .server_a = (int)in_int(inputs, "server_a"),
    };
    model_tennis_result *r = malloc(sizeof *r);
    int rc = r ? model_tennis_price(&st, r) : MODEL_ENOMEM;
    /* A trader's lean per market (quote_trader.h); the fixture-wide 1X2 lean is football's. */
    double lmw = quote_trader_lean_d(inputs, "match_winner");
    double lsw = quote_trader_lean_d(inputs, "set_winner");
    double ltg = quote_trader_lean_d(inputs, "total_games");
    double lgh = quote_trader_lean_d(inputs, "game_handicap");
    json_t *all = json_object();
    char k[32];
    fault_add = fault ? 10 : 0;
    if (rc == 0) {
        json_t *mw = json_object();
        rc = price_two(mw, NULL, quote_trader_leaned(r->match_a, lmw), cfg,
                       MODEL_MKT_MATCH_WINNER, ph, "home", "away");
        add_market(all, "match_winner", mw);
    }
    if (rc == 0) {
        json_t *sw = json_object();
        rc = price_two(sw, NULL, quote_trader_leaned(r->set_a, lsw), cfg,
                       MODEL_MKT_MATCH_WINNER, ph, "home", "away");
        add_market(all, "set_winner", sw);
    }
    if (rc == 0) { /* set betting: the final score in sets */
        double p[16];
        char names[16][24];
        int n = 0, need = st.best_of / 2 + 1;
        for (int a = 0; a <= need; a++)
            for (int b = 0; b <= need; b++)
                if ((a == need) != (b == need) && r->set_score[a][b] > 0 && n < 16) {
                    p[n] = r->set_score[a][b];
                    snprintf(names[n++], sizeof names[0], "%d-%d", a, b);
                }
        int32_t pr[16];
        if (n >= 2 && (rc = model_price_market(p, n, cfg, MODEL_MKT_SET_BETTING, ph, pr)) == 0) {
            json_t *m = json_object();
            for (int i = 0; i < n; i++)
                put(m, names[i], pr[i]);
            add_market(all, "set_betting", m);
        }
    }
    json_t *tg = json_object(), *gh = json_object();
    /* A trader's line move (whole games): the ladder shifted, each line at the model's price
     * of the line it came from (quote_trader.h). */
    int mt = quote_trader_line_units(inputs, "total_games");
    int mh = quote_trader_line_units(inputs, "game_handicap");
    for (int line = 18; rc == 0 && line <= 26; line += 2) {
        snprintf(k, sizeof k, "%d.5", line + mt);
        rc = price_two(tg, k, quote_trader_leaned(model_tennis_total_over(r, line + 0.5), ltg),
                       cfg, MODEL_MKT_TOTALS, ph, "over", "under");
    }
    for (int line = -5; rc == 0 && line <= 5; line += 2) {
        /* home's handicap in games: home -3.5 wins when it takes 4 games more */
        double h = line + (line < 0 ? -0.5 : 0.5);
        snprintf(k, sizeof k, "%.1f", h + mh);
        rc = price_two(gh, k, quote_trader_leaned(model_tennis_handicap_a(r, h), lgh), cfg,
                       MODEL_MKT_HANDICAP, ph, "home", "away");
    }
    add_market(all, "total_games", tg);
    add_market(all, "game_handicap", gh);
    free(r);
    quote_trader_suspend_markets(inputs, all);
    char *text = rc == 0 ? json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(all);
    if (!text)
        snprintf(err, errlen, "models: %s", rc ? model_strerror(rc) : "out of memory");
    return text;
}

char *quote_price_basketball(const json_t *inputs, const model_bb_state *pre,
                             const model_quote_cfg *cfg, int fault, char *err, size_t errlen)
{
    const char *phase = json_string_value(json_object_get(inputs, "phase"));
    bool live = phase && !strcmp(phase, "live");
    model_phase ph = live ? MODEL_PHASE_LIVE : MODEL_PHASE_PRE;
    model_quote_cfg tcfg;
    trader_cfg(inputs, cfg, &tcfg); /* the margin shifts (the fixture-wide lean is football's) */
    cfg = &tcfg;
    model_bb_state st = *pre;
    if (live) {
        json_int_t h = in_int(inputs, "home_points"), a = in_int(inputs, "away_points");
        st.t = (double)in_int(inputs, "minute_x10") / 480.0;
        st.lead = (int)(h - a);
        st.points = (int)(h + a);
        if (st.t == 0.0 && st.points > 0)
            st.t = 0.001; /* points before the clock moved: the game is under way */
    }
    model_bb_result r;
    int rc = model_bb_price(&st, &r);
    /* A trader's lean per market (quote_trader.h). */
    double lml = quote_trader_lean_d(inputs, "moneyline");
    double lsp = quote_trader_lean_d(inputs, "spread");
    double ltp = quote_trader_lean_d(inputs, "total_points");
    json_t *all = json_object(), *sp = json_object(), *tot = json_object();
    char k[32];
    fault_add = fault ? 10 : 0;
    if (rc == 0) {
        json_t *ml = json_object();
        rc = price_two(ml, NULL, quote_trader_leaned(r.home_win, lml), cfg,
                       MODEL_MKT_MATCH_WINNER, ph, "home", "away");
        add_market(all, "moneyline", ml);
    }
    /* Spreads and totals on half points around the expected margin and total (floor, so the
     * lines are the same on every node for the same inputs). */
    int mid = (int)floor(r.mean_margin), tmid = (int)floor(r.mean_total);
    /* A trader's line move (whole points): the ladder shifted, each line at the model's price
     * of the line it came from (quote_trader.h). */
    int ms = quote_trader_line_units(inputs, "spread");
    int mt = quote_trader_line_units(inputs, "total_points");
    for (int d = -6; rc == 0 && d <= 6; d += 2) {
        double h = -(mid + d) - 0.5; /* home's handicap: home -3.5 covers by winning by 4+ */
        double win, push;
        model_bb_spread(&r, -h, &win, &push);
        snprintf(k, sizeof k, "%.1f", h + ms);
        rc = price_two(sp, k, quote_trader_leaned(win, lsp), cfg, MODEL_MKT_HANDICAP, ph, "home",
                       "away");
    }
    for (int d = -10; rc == 0 && d <= 10; d += 4) {
        double line = tmid + d + 0.5, over, push;
        model_bb_total(&r, line, &over, &push);
        snprintf(k, sizeof k, "%.1f", line + mt);
        rc = price_two(tot, k, quote_trader_leaned(over, ltp), cfg, MODEL_MKT_TOTALS, ph, "over",
                       "under");
    }
    add_market(all, "spread", sp);
    add_market(all, "total_points", tot);
    quote_trader_suspend_markets(inputs, all);
    char *text = rc == 0 ? json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(all);
    if (!text)
        snprintf(err, errlen, "models: %s", rc ? model_strerror(rc) : "out of memory");
    return text;
}
