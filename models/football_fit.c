/*
 * football_fit.c -- Dixon-Coles team ratings by weighted maximum likelihood.
 *
 * Model: home goals ~ Poisson(lambda), away goals ~ Poisson(mu) with the Dixon-Coles tau on
 * the four low scores, where
 *     log lambda = base + hfa + att[home] + def[away]    (hfa = 0 at a neutral venue)
 *     log mu     = base + att[away] + def[home].
 * Each game before the pricing day weighs exp(-xi * days ago) (Dixon & Coles' time decay;
 * xi = 0.0018 per day by default). A small ridge penalty on att and def makes the solution
 * unique (it replaces the usual sum-to-zero constraint) and pulls teams with little data
 * towards the average.
 *
 * Beyond goals: shots on target carry information about strength with less noise than
 * goals. When a game has HST/AST, the Poisson "observation" used for the rates is a blend
 *     x* = (1 - s) * goals + s * k * shots_on_target
 * where k is the weighted goals-per-shot-on-target ratio of the training data and s the
 * shots weight (default 0.3). The Poisson log-likelihood stays a proper M-estimating
 * equation with non-integer targets; tau still uses the actual score.
 *
 * rho is fitted through rho = 0.3 tanh(r) so that it stays in a range where tau is positive
 * for ordinary rates; tau is also floored at 1e-10 inside the log for pathological rates.
 * The minimiser is GSL's BFGS (vector_bfgs2) with the analytic gradient, a fixed iteration
 * limit and a fixed gradient tolerance.
 *
 * Determinism: the games are copied and sorted into a canonical order before any sum is
 * taken, and teams are numbered by id, so the result does not depend on input order.
 */
#include "models/models.h"
#include "models/detmath.h"

#include <assert.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RHO_SCALE 0.3
#define MIN_WEIGHT 1e-3
#define TAU_FLOOR 1e-10
#define PRIOR_WEAKEST 3

void model_fb_fit_opts_default(model_fb_fit_opts* o)
{
    o->xi = 0.0018;
    o->shots_weight = 0.3;
    o->xg_weight = 0.0;
    o->ridge = 0.5;
    o->newcomer_pull = 3.0;
    o->newcomer_games = 15.0;
    o->max_iter = 300;
    o->grad_tol = 1e-3;
}

typedef struct
{
    int day, h, a, x, y; /* h, a: parameter indices after remapping */
    int neutral;
    double w, xt, yt; /* weight and (possibly blended) targets */
} fit_game;

/* The likelihood is linear in the weights, so all games of one fixture (home, away,
 * venue) collapse into sums: W = sum w, X = sum w x*, Y = sum w y*, and the weight of each
 * of the four low scores that tau touches. One pair costs two exp() however many games. */
typedef struct
{
    int h, a, neutral;
    double W, X, Y;
    double low[4]; /* weights of 0-0, 0-1, 1-0, 1-1 */
} fit_pair;

typedef struct
{
    fit_pair* g;
    size_t n;
    int nt;
    double ridge;
    /* newcomer pull: pull[t] (att - pa)^2 + pull[t] (def - pd)^2; pull NULL in pass one */
    const double* pull;
    double pa, pd;
    /* Diagonal preconditioning: the minimiser works on u = theta * scale, with scale about
     * the square root of the Hessian's diagonal, so that every direction has curvature near
     * one. tmp holds theta and the gradient during an evaluation. */
    const double* scale;
    double *theta, *gtheta;
    /* soft sum-to-zero weight: makes the curvature along "all ratings up by one" about half
     * that of one average team */
    double sum_pen;
    /* the last evaluation: u, f and gradient in u (see scaled()) */
    double *last_u, *last_g, last_f;
    int cached;
} fit_ctx;

static int game_cmp(const void* pa, const void* pb)
{
    const model_fb_game *a = pa, *b = pb;
    const int ka[] = {a->day,     a->home,       a->away,       a->home_goals, a->away_goals,
                      a->neutral, a->home_shots, a->away_shots, a->home_sot,   a->away_sot};
    const int kb[] = {b->day,     b->home,       b->away,       b->home_goals, b->away_goals,
                      b->neutral, b->home_shots, b->away_shots, b->home_sot,   b->away_sot};
    for (size_t i = 0; i < sizeof ka / sizeof ka[0]; i++)
        if (ka[i] != kb[i])
            return ka[i] < kb[i] ? -1 : 1;
    if (a->home_xg != b->home_xg)
        return a->home_xg < b->home_xg ? -1 : 1;
    if (a->away_xg != b->away_xg)
        return a->away_xg < b->away_xg ? -1 : 1;
    return 0;
}

static double rho_of(double r)
{
    return RHO_SCALE * model_dm_tanh(r);
}

/* Negative penalised log-likelihood and its gradient (grad may be NULL). */
static double objective(const double* v, double* grad, const fit_ctx* c)
{
    int nt = c->nt;
    double base = v[0], hfa = v[1], rho = rho_of(v[2]);
    const double *att = v + 3, *def = v + 3 + nt;
    double f = 0, gb = 0, gh = 0, gr = 0;
    double *gatt = grad ? grad + 3 : NULL, *gdef = grad ? grad + 3 + nt : NULL;
    if (grad)
        memset(grad, 0, sizeof(double) * (3 + 2 * (size_t)nt));
    /* rho = 0.3 tanh(r) keeps 1 - rho >= 0.7, so tau(1,1) never needs the floor */
    const double log11 = model_dm_log(1.0 - rho);
    for (size_t k = 0; k < c->n; k++) {
        const fit_pair* g = &c->g[k];
        double e1 = base + (g->neutral ? 0.0 : hfa) + att[g->h] + def[g->a];
        double e2 = base + att[g->a] + def[g->h];
        double lam = model_dm_exp(e1), mu = model_dm_exp(e2);
        double ll = g->X * e1 - g->W * lam + g->Y * e2 - g->W * mu;
        double d1 = g->X - g->W * lam, d2 = g->Y - g->W * mu, dr = 0;
        for (int sc = 0; sc < 4; sc++) {
            double w = g->low[sc];
            if (w == 0.0)
                continue;
            double tau, t1 = 0, t2 = 0, tr;
            switch (sc) {
            case 0: /* 0-0 */
                tau = 1.0 - lam * mu * rho;
                t1 = t2 = -lam * mu * rho;
                tr = -lam * mu;
                break;
            case 1: /* 0-1 */
                tau = 1.0 + lam * rho;
                t1 = lam * rho;
                tr = lam;
                break;
            case 2: /* 1-0 */
                tau = 1.0 + mu * rho;
                t2 = mu * rho;
                tr = mu;
                break;
            default: /* 1-1: the same tau for every pair, its log taken once below */
                tau = 1.0 - rho;
                tr = -1.0;
                break;
            }
            if (sc == 3) {
                ll += w * log11;
                dr += w * tr / tau;
                continue;
            }
            if (tau < TAU_FLOOR) {
                ll += w * model_dm_log(TAU_FLOOR);
            } else {
                ll += w * model_dm_log(tau);
                d1 += w * t1 / tau;
                d2 += w * t2 / tau;
                dr += w * tr / tau;
            }
        }
        f -= ll;
        if (grad) {
            gb -= d1 + d2;
            if (!g->neutral)
                gh -= d1;
            gatt[g->h] -= d1;
            gdef[g->a] -= d1;
            gatt[g->a] -= d2;
            gdef[g->h] -= d2;
            gr -= dr;
        }
    }
    /* Soft sum-to-zero on att and def: removes the near-flat direction shared with base
     * (ratings are only defined up to a constant), which BFGS would otherwise crawl along. */
    double sa = 0, sd = 0;
    for (int i = 0; i < nt; i++) {
        sa += att[i];
        sd += def[i];
    }
    f += c->sum_pen * (sa * sa + sd * sd);
    for (int i = 0; i < nt; i++) {
        if (grad) {
            gatt[i] += 2.0 * c->sum_pen * sa;
            gdef[i] += 2.0 * c->sum_pen * sd;
        }
        f += c->ridge * (att[i] * att[i] + def[i] * def[i]);
        if (grad) {
            gatt[i] += 2.0 * c->ridge * att[i];
            gdef[i] += 2.0 * c->ridge * def[i];
        }
        if (c->pull && c->pull[i] > 0) {
            double da = att[i] - c->pa, dd = def[i] - c->pd;
            f += c->pull[i] * (da * da + dd * dd);
            if (grad) {
                gatt[i] += 2.0 * c->pull[i] * da;
                gdef[i] += 2.0 * c->pull[i] * dd;
            }
        }
    }
    if (grad) {
        double th = model_dm_tanh(v[2]);
        grad[0] = gb;
        grad[1] = gh;
        grad[2] = gr * RHO_SCALE * (1.0 - th * th);
    }
    return f;
}

/* GSL's line search often asks for f and then for the gradient at the same point; every
 * evaluation computes both and keeps the last one (same x bits: same answer). */
static double scaled(const gsl_vector* x, fit_ctx* c, double* g)
{
    size_t n = x->size;
    if (!c->cached || memcmp(c->last_u, x->data, n * sizeof(double)) != 0) {
        for (size_t i = 0; i < n; i++)
            c->theta[i] = x->data[i] / c->scale[i];
        c->last_f = objective(c->theta, c->gtheta, c);
        for (size_t i = 0; i < n; i++)
            c->last_g[i] = c->gtheta[i] / c->scale[i];
        memcpy(c->last_u, x->data, n * sizeof(double));
        c->cached = 1;
    }
    if (g)
        memcpy(g, c->last_g, n * sizeof(double));
    return c->last_f;
}

static double gsl_f(const gsl_vector* x, void* p)
{
    return scaled(x, p, NULL);
}

static void gsl_df(const gsl_vector* x, void* p, gsl_vector* g)
{
    scaled(x, p, g->data);
}

static void gsl_fdf(const gsl_vector* x, void* p, double* f, gsl_vector* g)
{
    *f = scaled(x, p, g->data);
}

static int opts_ok(const model_fb_fit_opts* o)
{
    return o && isfinite(o->xi) && o->xi >= 0 && o->xi < 1 && o->shots_weight >= 0 &&
           o->shots_weight <= 1 && o->xg_weight >= 0 && o->xg_weight <= 1 &&
           o->shots_weight + o->xg_weight <= 1 + 1e-12 && isfinite(o->ridge) && o->ridge > 0 &&
           o->max_iter > 0 && o->max_iter <= 100000 && o->grad_tol > 0 && isfinite(o->grad_tol) &&
           isfinite(o->newcomer_pull) && o->newcomer_pull >= 0 && isfinite(o->newcomer_games) &&
           o->newcomer_games > 0;
}

static int game_ok(const model_fb_game* g)
{
    return g->home >= 0 && g->home < MODEL_FB_MAX_TEAMS && g->away >= 0 &&
           g->away < MODEL_FB_MAX_TEAMS && g->home != g->away && g->home_goals >= 0 &&
           g->home_goals <= 30 && g->away_goals >= 0 && g->away_goals <= 30 &&
           (g->neutral == 0 || g->neutral == 1) && !isnan(g->home_xg) && !isnan(g->away_xg);
}

static int has_sot(const model_fb_game* g)
{
    return g->home_sot >= 0 && g->away_sot >= 0 && g->home_sot <= 100 && g->away_sot <= 100;
}

static int has_xg(const model_fb_game* g)
{
    return isfinite(g->home_xg) && isfinite(g->away_xg) && g->home_xg > 0 && g->away_xg > 0 &&
           g->home_xg <= 10 && g->away_xg <= 10;
}

/* Newcomer prior: the average ratings of the weakest established teams (by att - def);
 * established = at least min_w time-weighted games (all known teams if none is). */
static void set_prior(model_fb_params* out, const int* map, const double* wt, double min_w)
{
    int established = 0;
    for (int t = 0; t < MODEL_FB_MAX_TEAMS; t++)
        established += map[t] >= 0 && wt[map[t]] >= min_w;
    double s[PRIOR_WEAKEST];
    int who[PRIOR_WEAKEST], k = 0;
    for (int t = 0; t < MODEL_FB_MAX_TEAMS; t++) {
        if (!out->known[t] || (established && wt[map[t]] < min_w))
            continue;
        double st = out->att[t] - out->def[t];
        /* insert into the sorted list of the PRIOR_WEAKEST lowest; ties by team id */
        int pos = k;
        while (pos > 0 && s[pos - 1] > st)
            pos--;
        if (pos >= PRIOR_WEAKEST)
            continue;
        int last = k < PRIOR_WEAKEST ? k : PRIOR_WEAKEST - 1;
        for (int i = last; i > pos; i--) {
            s[i] = s[i - 1];
            who[i] = who[i - 1];
        }
        s[pos] = st;
        who[pos] = t;
        if (k < PRIOR_WEAKEST)
            k++;
    }
    out->prior_att = out->prior_def = 0;
    for (int i = 0; i < k; i++) {
        out->prior_att += out->att[who[i]] / k;
        out->prior_def += out->def[who[i]] / k;
    }
}

/* Games come sorted by day, so the weight of the previous game's day is usually reusable. */
typedef struct
{
    int day, valid;
    double w;
} weight_cache;

static double day_weight(double xi, int before_day, int day, weight_cache* c)
{
    if (!c->valid || day != c->day) {
        c->valid = 1;
        c->day = day;
        c->w = model_dm_exp(-xi * (before_day - day));
    }
    return c->w;
}

static int fit_game_cmp(const void* pa, const void* pb)
{
    const fit_game *a = pa, *b = pb;
    const int ka[] = {a->h, a->a, a->neutral, a->day, a->x, a->y};
    const int kb[] = {b->h, b->a, b->neutral, b->day, b->x, b->y};
    for (size_t i = 0; i < sizeof ka / sizeof ka[0]; i++)
        if (ka[i] != kb[i])
            return ka[i] < kb[i] ? -1 : 1;
    if (a->xt != b->xt)
        return a->xt < b->xt ? -1 : 1;
    if (a->yt != b->yt)
        return a->yt < b->yt ? -1 : 1;
    return 0;
}

/* Sorts the games by fixture (a total order: equal keys are identical games) and sums
 * each fixture's games into one pair. */
static fit_pair* make_pairs(fit_game* fg, size_t m, size_t* np)
{
    fit_pair* p = malloc(sizeof *p * (m ? m : 1));
    if (!p)
        return NULL;
    qsort(fg, m, sizeof *fg, fit_game_cmp);
    size_t n = 0;
    for (size_t i = 0; i < m; i++) {
        const fit_game* g = &fg[i];
        if (!n || p[n - 1].h != g->h || p[n - 1].a != g->a || p[n - 1].neutral != g->neutral) {
            memset(&p[n], 0, sizeof p[n]);
            p[n].h = g->h;
            p[n].a = g->a;
            p[n].neutral = g->neutral;
            n++;
        }
        fit_pair* q = &p[n - 1];
        q->W += g->w;
        q->X += g->w * g->xt;
        q->Y += g->w * g->yt;
        if (g->x <= 1 && g->y <= 1)
            q->low[g->x * 2 + g->y] += g->w;
    }
    *np = n;
    return p;
}

/* BFGS from x with a fixed iteration limit; returns the iterations used. */
static int minimise(fit_ctx* ctx,
                    gsl_multimin_fdfminimizer* mz,
                    gsl_vector* x,
                    int max_iter,
                    double eps)
{
    gsl_multimin_function_fdf fn = {gsl_f, gsl_df, gsl_fdf, x->size, ctx};
    gsl_set_error_handler_off();
    gsl_multimin_fdfminimizer_set(mz, &fn, x, 1.0, 0.1);
    int it = 0;
    while (it < max_iter) {
        it++;
        if (gsl_multimin_fdfminimizer_iterate(mz))
            break; /* no further progress possible: take the best point found */
        if (gsl_multimin_test_gradient(mz->gradient, eps) == GSL_SUCCESS)
            break;
    }
    return it;
}

/* theta from the minimiser's u, in the minimiser's own vector (read once, then reset) */
static const double* unscale(gsl_vector* u, const double* scale)
{
    static_assert(sizeof(double) == 8, "double");
    double* t = (double*)scale + u->size; /* the theta work area */
    for (size_t i = 0; i < u->size; i++)
        t[i] = u->data[i] / scale[i];
    return t;
}

static void read_params(const double* v, const int* map, int nt, model_fb_params* out)
{
    out->base = v[0];
    out->hfa = v[1];
    out->rho = rho_of(v[2]);
    for (int t = 0; t < MODEL_FB_MAX_TEAMS; t++) {
        if (map[t] < 0)
            continue;
        out->att[t] = v[3 + map[t]];
        out->def[t] = v[3 + nt + map[t]];
    }
}

int model_fb_fit(const model_fb_game* games,
                 size_t n,
                 int before_day,
                 const model_fb_fit_opts* o,
                 const model_fb_params* warm,
                 model_fb_params* out)
{
    if (!out || (!games && n) || !opts_ok(o))
        return MODEL_EINVAL;
    if (n > MODEL_FB_MAX_GAMES)
        return MODEL_ETOOBIG;
    memset(out, 0, sizeof *out);
    model_fb_game* sorted = malloc(sizeof *sorted * (n ? n : 1));
    fit_game* fg = malloc(sizeof *fg * (n ? n : 1));
    if (!sorted || !fg) {
        free(sorted);
        free(fg);
        return MODEL_ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!game_ok(&games[i])) {
            free(sorted);
            free(fg);
            return MODEL_EINVAL;
        }
        /* weight >= MIN_WEIGHT  <=>  days ago <= -log(MIN_WEIGHT) / xi */
        if (games[i].day < before_day &&
            o->xi * (double)(before_day - games[i].day) <= -model_dm_log(MIN_WEIGHT))
            sorted[m++] = games[i];
    }
    qsort(sorted, m, sizeof *sorted, game_cmp);

    int map[MODEL_FB_MAX_TEAMS], nt = 0;
    for (size_t i = 0; i < m; i++)
        out->known[sorted[i].home] = out->known[sorted[i].away] = 1;
    for (int t = 0; t < MODEL_FB_MAX_TEAMS; t++)
        map[t] = out->known[t] ? nt++ : -1;

    /* Goals per shot on target over the training games that have shots. */
    double sg = 0, ss = 0, sw = 0, sx = 0;
    weight_cache cache = {0, 0, 0.0};
    for (size_t i = 0; i < m; i++) {
        double w = day_weight(o->xi, before_day, sorted[i].day, &cache);
        sw += w;
        sx += w * (sorted[i].home_goals + sorted[i].away_goals);
        if (has_sot(&sorted[i])) {
            sg += w * (sorted[i].home_goals + sorted[i].away_goals);
            ss += w * (sorted[i].home_sot + sorted[i].away_sot);
        }
    }
    double conv = ss > 0 ? sg / ss : 0, s = o->shots_weight;
    for (size_t i = 0; i < m; i++) {
        const model_fb_game* g = &sorted[i];
        fit_game* f = &fg[i];
        f->day = g->day;
        f->h = map[g->home];
        f->a = map[g->away];
        f->x = g->home_goals;
        f->y = g->away_goals;
        f->neutral = g->neutral;
        f->w = day_weight(o->xi, before_day, g->day, &cache);
        f->xt = g->home_goals;
        f->yt = g->away_goals;
        /* Blend the observations that this game has; missing ones give their share back
         * to the goals. */
        double wg = 1.0, xt = 0, yt = 0;
        if (s > 0 && conv > 0 && has_sot(g)) {
            xt += s * conv * g->home_sot;
            yt += s * conv * g->away_sot;
            wg -= s;
        }
        if (o->xg_weight > 0 && has_xg(g)) {
            xt += o->xg_weight * g->home_xg;
            yt += o->xg_weight * g->away_xg;
            wg -= o->xg_weight;
        }
        f->xt = xt + wg * g->home_goals;
        f->yt = yt + wg * g->away_goals;
    }
    free(sorted);

    if (m == 0) { /* nothing to learn from: league-average defaults */
        free(fg);
        out->base = model_dm_log(1.35);
        out->hfa = 0.25;
        out->rho = 0;
        return MODEL_OK;
    }

    size_t np = 3 + 2 * (size_t)nt;
    /* Time-weighted games per team: who counts as a newcomer. */
    double *wt = calloc((size_t)nt, sizeof *wt), *pull = calloc((size_t)nt, sizeof *pull);
    gsl_vector* x = gsl_vector_alloc(np);
    gsl_multimin_fdfminimizer* mz =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, np);
    if (!x || !mz || !wt || !pull) {
        if (x)
            gsl_vector_free(x);
        if (mz)
            gsl_multimin_fdfminimizer_free(mz);
        free(wt);
        free(pull);
        free(fg);
        return MODEL_ENOMEM;
    }
    size_t npairs = 0;
    fit_pair* pairs = make_pairs(fg, m, &npairs);
    if (!pairs) {
        gsl_vector_free(x);
        gsl_multimin_fdfminimizer_free(mz);
        free(wt);
        free(pull);
        free(fg);
        return MODEL_ENOMEM;
    }
    for (size_t i = 0; i < npairs; i++) {
        wt[pairs[i].h] += pairs[i].W;
        wt[pairs[i].a] += pairs[i].W;
    }
    double mean = sx / (2.0 * sw);
    if (mean < 0.05)
        mean = 0.05;
    double* scale = malloc(sizeof(double) * np * 5);
    if (!scale) {
        free(pairs);
        gsl_vector_free(x);
        gsl_multimin_fdfminimizer_free(mz);
        free(wt);
        free(pull);
        free(fg);
        return MODEL_ENOMEM;
    }
    scale[0] = sqrt(2.0 * sw * mean + 1.0);
    scale[1] = sqrt(sw * mean + 1.0);
    scale[2] = sqrt(0.3 * sw + 1.0);
    for (int i = 0; i < nt; i++)
        scale[3 + i] = scale[3 + nt + i] = sqrt(wt[i] * mean + 2.0 * o->ridge + 1.0);
    fit_ctx ctx = {pairs,
                   npairs,
                   nt,
                   o->ridge,
                   NULL,
                   0,
                   0,
                   scale,
                   scale + np,
                   scale + 2 * np,
                   0.5 * (2.0 * sw / nt) * mean / ((double)nt * nt),
                   scale + 3 * np,
                   scale + 4 * np,
                   0.0,
                   0};
    gsl_vector_set(x, 0, warm ? warm->base : model_dm_log(mean));
    gsl_vector_set(x, 1, warm ? warm->hfa : 0.25);
    gsl_vector_set(x, 2,
                   warm ? model_dm_atanh(fmax(fmin(warm->rho / RHO_SCALE, 0.99), -0.99)) : 0.0);
    for (int t = 0; t < MODEL_FB_MAX_TEAMS; t++) {
        if (map[t] < 0)
            continue;
        int known = warm && warm->known[t];
        gsl_vector_set(x, 3 + map[t], known ? warm->att[t] : 0.0);
        gsl_vector_set(x, 3 + nt + map[t], known ? warm->def[t] : 0.0);
    }
    for (size_t i = 0; i < np; i++)
        x->data[i] *= scale[i];
    double eps = o->grad_tol;
    int it = minimise(&ctx, mz, x, o->max_iter, eps);
    read_params(unscale(mz->x, scale), map, nt, out);
    set_prior(out, map, wt, o->newcomer_games);

    /* Pass two: teams with little recent history (promoted, returning after years away)
     * are pulled towards the newcomer prior rather than towards the average, in proportion
     * to how little history they have. */
    int any = 0;
    for (int i = 0; i < nt; i++) {
        double share = 1.0 - wt[i] / o->newcomer_games;
        pull[i] = share > 0 ? o->newcomer_pull * share : 0.0;
        any |= pull[i] > 0;
    }
    if (any && o->newcomer_pull > 0) {
        ctx.pull = pull;
        ctx.pa = out->prior_att;
        ctx.pd = out->prior_def;
        ctx.cached = 0; /* a different objective from here on */
        gsl_vector_memcpy(x, mz->x);
        it += minimise(&ctx, mz, x, o->max_iter, eps);
        read_params(unscale(mz->x, scale), map, nt, out);
    }
    out->iterations = it;
    out->loglik = -mz->f;
    gsl_multimin_fdfminimizer_free(mz);
    gsl_vector_free(x);
    free(wt);
    free(pull);
    free(fg);
    free(pairs);
    free(scale);
    return MODEL_OK;
}

int model_fb_rates(const model_fb_params* pr,
                   int home,
                   int away,
                   int neutral,
                   double* lambda,
                   double* mu)
{
    if (!pr || !lambda || !mu || home < 0 || away < 0 || home >= MODEL_FB_MAX_TEAMS ||
        away >= MODEL_FB_MAX_TEAMS || home == away || (neutral != 0 && neutral != 1))
        return MODEL_EINVAL;
    double ah = pr->known[home] ? pr->att[home] : pr->prior_att;
    double dh = pr->known[home] ? pr->def[home] : pr->prior_def;
    double aa = pr->known[away] ? pr->att[away] : pr->prior_att;
    double da = pr->known[away] ? pr->def[away] : pr->prior_def;
    *lambda = model_dm_exp(pr->base + (neutral ? 0.0 : pr->hfa) + ah + da);
    *mu = model_dm_exp(pr->base + aa + dh);
    if (!isfinite(*lambda) || !isfinite(*mu))
        return MODEL_ERANGE;
    return MODEL_OK;
}
