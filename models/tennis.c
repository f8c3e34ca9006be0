/*
 * tennis.c -- point-level Markov chain: game, tie-break, set, match, from any live score.
 *
 * Input: pa = P(A wins a point on A's serve), pb = P(B wins a point on B's serve), treated as
 * constant (the Barnett-Clarke combination below estimates them from serve and return
 * statistics). From these:
 *   game      hold(p, a, b) by recursion on points; deuce in closed form p^2 / (p^2 + q^2).
 *             From 0-0 this is O'Malley's G(p); G(2/3) = 208/243.
 *   tie-break first to 7 by two; serve order A, B B, A A, ... from its first server; from
 *             6-6 on the next two points are served one each, which gives a closed form.
 *   set       forward propagation of probability over games scores (x, y); servers
 *             alternate every game (the tie-break counts as a game); tie-break at 6-6;
 *             the distribution over final set scores is kept for set betting and totals.
 *   match     forward over sets (sets_a, sets_b, first server of the set) carrying the
 *             distribution of games won by each player, so that match winner, set betting,
 *             total games and game handicap all come from one pass.
 * Every set is a tie-break set (current ATP/WTA rules); the deciding set's tie-break goes to
 * 7 points, or to 10 with final_set_tb10 (Grand Slams since 2022). Advantage sets (no
 * tie-break) are not modelled.
 */
#include "models/models.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define G MODEL_TENNIS_MAX_GAMES

double model_tennis_bc_serve(double tour_serve,
                             double i_serve,
                             double avg_serve,
                             double j_return,
                             double avg_return)
{
    double p = tour_serve + (i_serve - avg_serve) - (j_return - avg_return);
    return p < 0.01 ? 0.01 : p > 0.99 ? 0.99 : p;
}

/* P(server wins the game) from a-b points (server's points first). */
static double hold_from(double p, int a, int b)
{
    double q = 1.0 - p;
    if (a >= 4 && a - b >= 2)
        return 1.0;
    if (b >= 4 && b - a >= 2)
        return 0.0;
    if (a >= 3 && b >= 3) {
        double deuce = p * p / (p * p + q * q);
        if (a == b)
            return deuce;
        return a > b ? p + q * deuce : p * deuce;
    }
    return p * hold_from(p, a + 1, b) + q * hold_from(p, a, b + 1);
}

double model_tennis_hold(double p)
{
    if (!(p >= 0.0 && p <= 1.0))
        return NAN;
    return hold_from(p, 0, 0);
}

/* Server of tie-break point k (0-based) when `first` serves point 0: 1 = A. */
static int tb_server(int first, int k)
{
    if (k == 0)
        return first;
    return (((k - 1) / 2) % 2 == 0) ? !first : first;
}

/* P(A wins a tie-break to n points (7, or 10 for the Slams' final set) by two, from a-b
 * points (A's first), first server `first`. */
static double tb_from(double pa, double pb, int first, int a, int b, int n)
{
    double xa = pa, xb = 1.0 - pb; /* P(A wins a point) on A's, B's serve */
    double tie = xa * xb / (xa * xb + (1.0 - xa) * (1.0 - xb));
    if (a >= n && a - b >= 2)
        return 1.0;
    if (b >= n && b - a >= 2)
        return 0.0;
    if (a >= n - 1 && b >= n - 1) {
        if (a == b)
            return tie;
        double w = tb_server(first, a + b) ? xa : xb;
        return a > b ? w + (1.0 - w) * tie : w * tie;
    }
    /* Backward table over the scores still reachable before (n-1)-(n-1). */
    double v[11][11];
    for (int x = n; x >= a; x--) {
        for (int y = n; y >= b; y--) {
            if (x == n && y <= n - 2) {
                v[x][y] = 1.0;
            } else if (y == n && x <= n - 2) {
                v[x][y] = 0.0;
            } else if (x >= n - 1 && y >= n - 1) {
                v[x][y] = (x == y) ? tie : 0.0; /* only (n-1)-(n-1) is reached from below */
            } else {
                double w = tb_server(first, x + y) ? xa : xb;
                v[x][y] = w * v[x + 1][y] + (1.0 - w) * v[x][y + 1];
            }
        }
    }
    return v[a][b];
}

double model_tennis_tiebreak(double pa, double pb)
{
    if (!(pa >= 0 && pa <= 1 && pb >= 0 && pb <= 1))
        return NAN;
    return tb_from(pa, pb, 1, 0, 0, 7);
}

static int set_over(int x, int y)
{
    return (x >= 6 && x - y >= 2) || (y >= 6 && y - x >= 2) || x == 7 || y == 7;
}

/* One set outcome: final games (x, y), probability, who serves first in the next set. */
typedef struct
{
    int x, y, next_srv;
    double p;
} set_outcome;

/* Forward propagation over one set from games (ga, gb) whose current game is served by srv0
 * and won by A with probability w0. Returns the number of outcomes written. */
static int
set_dist(double pa, double pb, int ga, int gb, int srv0, double w0, int tb_n, set_outcome* out)
{
    double m[8][8];
    memset(m, 0, sizeof m);
    m[ga][gb] = 1.0;
    double hA = hold_from(pa, 0, 0), hB = hold_from(pb, 0, 0);
    int t0 = ga + gb, n = 0;
    for (int t = t0; t <= 13; t++) {
        for (int x = 0; x <= 7 && x <= t; x++) {
            int y = t - x;
            if (y > 7 || m[x][y] == 0.0)
                continue;
            int srv = ((t - t0) % 2 == 0) ? srv0 : !srv0;
            if (set_over(x, y)) {
                out[n].x = x;
                out[n].y = y;
                out[n].p = m[x][y];
                out[n].next_srv = !srv; /* the server of the game that would come next */
                n++;
                continue;
            }
            double w;
            if (t == t0)
                w = w0;
            else if (x == 6 && y == 6)
                w = tb_from(pa, pb, srv, 0, 0, tb_n);
            else
                w = srv ? hA : 1.0 - hB;
            m[x + 1][y] += m[x][y] * w;
            m[x][y + 1] += m[x][y] * (1.0 - w);
        }
    }
    return n;
}

/* Tie-break length of the set being played. */
static int current_tb_n(const model_tennis_state* st)
{
    int need = st->best_of / 2 + 1;
    int final = st->sets_a == need - 1 && st->sets_b == need - 1;
    return (final && st->final_set_tb10) ? 10 : 7;
}

static int state_ok(const model_tennis_state* st)
{
    if (!(st->best_of == 3 || st->best_of == 5))
        return 0;
    if (!(st->pa > 0.0 && st->pa < 1.0 && st->pb > 0.0 && st->pb < 1.0))
        return 0;
    int need = st->best_of / 2 + 1;
    if (st->sets_a < 0 || st->sets_b < 0 || st->sets_a >= need || st->sets_b >= need)
        return 0;
    if (st->prev_games_a < 0 || st->prev_games_b < 0 ||
        st->prev_games_a > 7 * (st->sets_a + st->sets_b) ||
        st->prev_games_b > 7 * (st->sets_a + st->sets_b))
        return 0;
    if (st->games_a < 0 || st->games_b < 0 || st->games_a > 7 || st->games_b > 7 ||
        set_over(st->games_a, st->games_b))
        return 0;
    if (st->points_a < 0 || st->points_b < 0 || st->points_a > 50 || st->points_b > 50)
        return 0;
    if (st->final_set_tb10 != 0 && st->final_set_tb10 != 1)
        return 0;
    int tb = st->games_a == 6 && st->games_b == 6, a = st->points_a, b = st->points_b;
    int target = tb ? current_tb_n(st) : 4;
    if ((a >= target && a - b >= 2) || (b >= target && b - a >= 2))
        return 0; /* that game is already over */
    /* A score like 9-3 cannot happen: past the target the gap stays within one */
    if ((a > target && a - b > 1) || (b > target && b - a > 1))
        return 0;
    return st->server_a == 0 || st->server_a == 1;
}

/* Distribution of games won (a, b) for one (sets_a, sets_b, server) state of the match,
 * stored densely with stride gm and with the box [0, hi_a] x [0, hi_b] that holds mass. */
typedef struct
{
    double* g;
    int hi_a, hi_b, used;
} games_dist;

static void dist_add(games_dist* d, int gm, int a, int b, double p)
{
    d->g[a * gm + b] += p;
    if (!d->used || a > d->hi_a)
        d->hi_a = a;
    if (!d->used || b > d->hi_b)
        d->hi_b = b;
    d->used = 1;
}

int model_tennis_price(const model_tennis_state* st, model_tennis_result* r)
{
    if (!st || !r || !state_ok(st))
        return MODEL_EINVAL;
    memset(r, 0, sizeof *r);
    int need = st->best_of / 2 + 1;
    double pa = st->pa, pb = st->pb;

    /* The current game (or tie-break) and who served the set's current game. */
    int tb = st->games_a == 6 && st->games_b == 6, srv0;
    double w0;
    if (tb) {
        int k = st->points_a + st->points_b, cur = st->server_a;
        int first = (k == 0) ? cur : ((((k - 1) / 2) % 2 == 0) ? !cur : cur);
        w0 = tb_from(pa, pb, first, st->points_a, st->points_b, current_tb_n(st));
        srv0 = first;
    } else {
        w0 = st->server_a ? hold_from(pa, st->points_a, st->points_b)
                          : 1.0 - hold_from(pb, st->points_b, st->points_a);
        srv0 = st->server_a;
    }
    /* fresh[f][s]: a set from 0-0 with server s; f = 1 for the deciding set, whose tie-break
     * may be played to 10 */
    set_outcome cur[64], fresh[2][2][64];
    int ncur = set_dist(pa, pb, st->games_a, st->games_b, srv0, w0, current_tb_n(st), cur);
    int nfresh[2][2];
    for (int f = 0; f < 2; f++)
        for (int s = 0; s < 2; s++)
            nfresh[f][s] =
                set_dist(pa, pb, 0, 0, s, s ? hold_from(pa, 0, 0) : 1.0 - hold_from(pb, 0, 0),
                         (f && st->final_set_tb10) ? 10 : 7, fresh[f][s]);

    /* A player wins at most 7 games a set, over at most 2 need - 1 sets. */
    int gm = 7 * (2 * need - 1) + 1;
    if (gm > G)
        gm = G;
    size_t nstates = (size_t)need * need * 2;
    games_dist w[18];
    double* mem = calloc(nstates * (size_t)gm * gm, sizeof *mem);
    if (!mem)
        return MODEL_ENOMEM;
    for (size_t i = 0; i < nstates; i++) {
        w[i].g = mem + i * (size_t)gm * gm;
        w[i].used = w[i].hi_a = w[i].hi_b = 0;
    }
#define IDX(i, j, s) ((((size_t)(i)*need) + (j)) * 2 + (s))

    for (int k = 0; k < ncur; k++) {
        int a = st->sets_a + (cur[k].x > cur[k].y), b = st->sets_b + (cur[k].y > cur[k].x);
        int ga = st->prev_games_a + cur[k].x, gb = st->prev_games_b + cur[k].y;
        if (cur[k].x > cur[k].y)
            r->set_a += cur[k].p;
        if (a == need || b == need) {
            r->set_score[a][b] += cur[k].p;
            r->games[ga][gb] += cur[k].p;
        } else {
            dist_add(&w[IDX(a, b, cur[k].next_srv)], gm, ga, gb, cur[k].p);
        }
    }
    for (int t = st->sets_a + st->sets_b + 1; t <= 2 * need - 2; t++) {
        for (int i = 0; i < need; i++) {
            int j = t - i;
            if (j < 0 || j >= need)
                continue;
            for (int s = 0; s < 2; s++) {
                games_dist* src = &w[IDX(i, j, s)];
                if (!src->used)
                    continue;
                int f = (i == need - 1 && j == need - 1);
                for (int k = 0; k < nfresh[f][s]; k++) {
                    const set_outcome* o = &fresh[f][s][k];
                    int a = i + (o->x > o->y), b = j + (o->y > o->x);
                    int done = (a == need || b == need);
                    games_dist* dst = done ? NULL : &w[IDX(a, b, o->next_srv)];
                    for (int ga = 0; ga <= src->hi_a && ga + o->x < gm; ga++) {
                        const double* row = src->g + (size_t)ga * gm;
                        for (int gb = 0; gb <= src->hi_b && gb + o->y < gm; gb++) {
                            double m = row[gb];
                            if (m == 0.0)
                                continue;
                            m *= o->p;
                            if (done) {
                                r->set_score[a][b] += m;
                                r->games[ga + o->x][gb + o->y] += m;
                            } else {
                                dist_add(dst, gm, ga + o->x, gb + o->y, m);
                            }
                        }
                    }
                }
            }
        }
    }
#undef IDX
    free(mem);
    for (int j = 0; j < need; j++)
        r->match_a += r->set_score[need][j];
    return MODEL_OK;
}

double model_tennis_total_over(const model_tennis_result* r, double line)
{
    if (!r || isnan(line))
        return NAN;
    double s = 0;
    for (int a = 0; a < G; a++)
        for (int b = 0; b < G; b++)
            if (a + b > line)
                s += r->games[a][b];
    return s;
}

double model_tennis_handicap_a(const model_tennis_result* r, double line)
{
    if (!r || isnan(line))
        return NAN;
    double s = 0;
    for (int a = 0; a < G; a++)
        for (int b = 0; b < G; b++)
            if (a - b + line > 0)
                s += r->games[a][b];
    return s;
}
