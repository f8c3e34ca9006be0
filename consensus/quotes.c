/* Markets and agreed quotes: apply and queries. See quotes.h. */
#include "consensus/quotes.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/bets.h"
#include "consensus/fixtures.h"
#include "consensus/cmdtable.h"
#include "consensus/store.h"
#include "consensus/observations.h"
#include "consensus/governor.h"
#include "consensus/trader.h"
#include "feed/feed.h"

static const char QUOTE_VERSION_KEY[] = "quote_version";
static const char EVENT_SEQ_KEY[] = "quote_event_seq";
static const char RESULTS_N_KEY[] = "results_n";

const struct fsm_domain quotes_domain;

struct quotes_dbs {
    MDB_dbi markets, quotes, quote_events, results_order;
};

static const struct quotes_dbs *DB(struct fsm *f)
{
    return (const struct quotes_dbs *)fsm_domain_dbis(f, &quotes_domain);
}

void quote_digest(const char *cluster, const char *fixture, uint64_t index, const char *prices,
                  uint8_t out[32])
{
    static const char tag[] = "parlay-quote-v1";
    char ix[24];
    snprintf(ix, sizeof ix, "%llu", (unsigned long long)index);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, tag, sizeof tag); /* with its NUL */
    EVP_DigestUpdate(md, cluster, strlen(cluster) + 1);
    EVP_DigestUpdate(md, fixture, strlen(fixture) + 1);
    EVP_DigestUpdate(md, ix, strlen(ix) + 1);
    EVP_DigestUpdate(md, prices, strlen(prices));
    EVP_DigestFinal_ex(md, out, NULL);
    EVP_MD_CTX_free(md);
}

json_t *quotes_market_get(struct fsm *f, MDB_txn *txn, const char *fixture)
{
    return store_get_json(txn, DB(f)->markets, fixture, strlen(fixture));
}

/* Parsed market records, each kept with the bytes it was parsed from: a record is read for
 * every bet placed on its fixture and rewritten only when a quote is agreed, and parsing it
 * (every market's prices) was the costliest step of CMD_BET_PLACE. A read compares the stored
 * bytes with the kept ones, so nothing stale is ever returned, whichever state machine, read
 * or write transaction, or snapshot the bytes come from. One table per thread. */
#define MARKET_MEMO_SLOTS 32
static _Thread_local struct market_memo {
    char *bytes;
    size_t len;
    json_t *json;
} market_memo[MARKET_MEMO_SLOTS];

json_t *quotes_market_shared(struct fsm *f, MDB_txn *txn, const char *fixture)
{
    size_t kl = strlen(fixture);
    MDB_val k = {kl, (void *)fixture}, v;
    if (mdb_get(txn, DB(f)->markets, &k, &v) != 0)
        return NULL;
    uint64_t h = 1469598103934665603ull; /* FNV-1a of the fixture id: its slot */
    for (size_t i = 0; i < kl; i++)
        h = (h ^ (unsigned char)fixture[i]) * 1099511628211ull;
    struct market_memo *m = &market_memo[h % MARKET_MEMO_SLOTS];
    if (m->json && m->len == v.mv_size && !memcmp(m->bytes, v.mv_data, v.mv_size))
        return json_incref(m->json);
    json_t *j = json_loadb(v.mv_data, v.mv_size, 0, NULL);
    char *copy = j ? malloc(v.mv_size ? v.mv_size : 1) : NULL;
    if (!copy) /* not kept: the caller still gets its record */
        return j;
    memcpy(copy, v.mv_data, v.mv_size);
    free(m->bytes);
    json_decref(m->json);
    *m = (struct market_memo){copy, v.mv_size, json_incref(j)};
    return j;
}

json_t *quotes_get(struct fsm *f, MDB_txn *txn, uint64_t version)
{
    uint8_t k[8];
    store_be64_put(k, version);
    return store_get_json(txn, DB(f)->quotes, k, 8);
}

static int market_put(struct fsm *f, MDB_txn *txn, json_t *m, uint64_t time_ms)
{
    char ts[32];
    fsm_format_time(time_ms, ts);
    json_object_set_new(m, "updated_at", json_string(ts));
    const char *id = json_string_value(json_object_get(m, "fixture"));
    return store_put_json(txn, DB(f)->markets, id, strlen(id), m, NULL);
}

/* Append a stream event about market @m. */
static int emit(struct fsm *f, MDB_txn *txn, const char *type, json_t *m, uint64_t time_ms)
{
    uint64_t seq = fsm_meta_get(f, txn, EVENT_SEQ_KEY) + 1;
    char ts[32];
    fsm_format_time(time_ms, ts);
    json_t *e = json_pack("{s:I, s:s, s:O, s:O, s:O, s:O, s:I, s:s}", "id", (json_int_t)seq,
                          "type", type, "fixture", json_object_get(m, "fixture"), "sport",
                          json_object_get(m, "sport"), "status", json_object_get(m, "status"),
                          "version", json_object_get(m, "version"), "entry",
                          (json_int_t)fsm_applying(f), "at", ts);
    json_t *reason = json_object_get(m, "reason");
    if (strcmp(type, "published") != 0 && json_is_string(reason))
        json_object_set(e, "reason", reason);
    uint8_t k[8];
    store_be64_put(k, seq);
    int rv = store_put_json(txn, DB(f)->quote_events, k, 8, e, NULL);
    json_decref(e);
    return rv ? rv : fsm_meta_put(f, txn, EVENT_SEQ_KEY, seq);
}

/* ---- agreed observations --------------------------------------------------------------- */

/* Events that suspend a game's markets at once: the kick-off (pre-match prices end), the
 * football incidents that move prices most, and the end of the game (no more live prices;
 * @live is the state after the event). Tennis points and basketball runs do not suspend: each
 * agreed one starts a new round at once. */
static bool dangerous(const char *type, json_t *live)
{
    static const char *const types[] = {"kick_off", "goal", "own_goal", "penalty_awarded",
                                        "penalty_scored", "penalty_missed", "red_card"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (!strcmp(type, types[i]))
            return true;
    return json_is_true(json_object_get(live, "ended"));
}

/* Tennis: the score replayed point by point (games to 4 by 2, a tie-break to 7 by 2 at 6-6,
 * sets to 6 by 2 or 7-6, best of 3). server_a is who serves the current game, or in a
 * tie-break who served its first point (what models/ expects); the server of each game comes
 * from the events. */
static json_t *live_tennis(json_t *evs)
{
    int sets[2] = {0, 0}, games[2] = {0, 0}, prev[2] = {0, 0}, pts[2] = {0, 0};
    int first = 0, next_first = 0, period = 0, need = 2;
    long long seq = 0;
    bool ended = false, in_play = false;
    size_t i;
    json_t *rec;
    json_array_foreach(evs, i, rec)
    {
        json_t *o = json_object_get(rec, "observation");
        const char *type = json_string_value(json_object_get(o, "type"));
        seq = json_integer_value(json_object_get(o, "seq"));
        if (json_integer_value(json_object_get(o, "period")) > period)
            period = (int)json_integer_value(json_object_get(o, "period"));
        if (!type || ended)
            continue;
        if (!strcmp(type, "kick_off") || !strcmp(type, "period_start")) {
            in_play = true;
            continue;
        }
        if (strcmp(type, "point") != 0)
            continue;
        in_play = true;
        int server = strcmp(json_string_value(json_object_get(o, "server")) ?: "", "home") ? 1 : 0;
        int w = strcmp(json_string_value(json_object_get(o, "winner")) ?: "", "home") ? 1 : 0;
        if (pts[0] == 0 && pts[1] == 0)
            first = server;
        pts[w]++;
        bool tb = games[0] == 6 && games[1] == 6;
        int target = tb ? 7 : 4;
        if (pts[w] >= target && pts[w] - pts[1 - w] >= 2) {
            games[w]++;
            pts[0] = pts[1] = 0;
            next_first = 1 - first;
            if ((games[w] >= 6 && games[w] - games[1 - w] >= 2) || games[w] == 7) {
                sets[w]++;
                prev[0] += games[0];
                prev[1] += games[1];
                games[0] = games[1] = 0;
                if (sets[w] == need)
                    ended = true;
            }
        }
    }
    int server_a = (pts[0] || pts[1]) ? first == 0 : next_first == 0;
    return json_pack("{s:I, s:i, s:b, s:b, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:b}", "seq",
                     (json_int_t)seq, "period", period, "in_play", in_play && !ended, "ended",
                     ended, "sets_a", sets[0], "sets_b", sets[1], "games_a", games[0], "games_b",
                     games[1], "prev_games_a", prev[0], "prev_games_b", prev[1], "points_a",
                     pts[0], "points_b", pts[1], "server_a", server_a);
}

/* The live state from every agreed event of the fixture (they may be agreed out of order, so
 * it is recomputed from all of them). The match clock is the latest event's (by seq) and the
 * time it was agreed; an event agreed late with a lower seq keeps the clock. */
static json_t *live_state(struct fsm *f, MDB_txn *txn, const char *fixture, uint64_t cur_seq,
                          uint64_t time_ms, json_t *old)
{
    json_t *evs = obs_agreed_events(f, txn, fixture);
    if (fsm_sport(f) && !strcmp(fsm_sport(f), "tennis")) {
        json_t *l = live_tennis(evs);
        json_decref(evs);
        return l;
    }
    bool basketball = fsm_sport(f) && !strcmp(fsm_sport(f), "basketball");
    long long hg = 0, ag = 0, hr = 0, ar = 0, period = 0, maxseq = 0, minute = 0, stoppage = 0;
    bool in_play = false, ended = false;
    size_t i;
    json_t *rec;
    json_array_foreach(evs, i, rec)
    {
        json_t *o = json_object_get(rec, "observation");
        const char *type = json_string_value(json_object_get(o, "type"));
        const char *team = json_string_value(json_object_get(o, "team"));
        long long p = json_integer_value(json_object_get(o, "period"));
        bool home = team && !strcmp(team, "home");
        if (!type)
            continue;
        maxseq = json_integer_value(json_object_get(o, "seq"));
        minute = json_integer_value(json_object_get(o, "minute"));
        stoppage = json_integer_value(json_object_get(o, "stoppage"));
        if (!strcmp(type, "kick_off") || !strcmp(type, "period_start")) {
            in_play = true;
            period = p;
        } else if (!strcmp(type, "period_end")) {
            in_play = false;
            period = p;
            if (p >= (basketball ? 4 : 2))
                ended = true;
        } else if (period == 0) {
            period = p; /* no kick-off agreed (yet): the game is on all the same */
            in_play = true;
        }
        if (!strcmp(type, "scoring_run")) { /* basketball: points, as far as runs tell */
            *(home ? &hg : &ag) += json_integer_value(json_object_get(o, "points"));
        } else if (!strcmp(type, "goal") || !strcmp(type, "penalty_scored")) {
            *(home ? &hg : &ag) += 1;
        } else if (!strcmp(type, "own_goal")) {
            *(home ? &ag : &hg) += 1;
        } else if (!strcmp(type, "red_card")) {
            *(home ? &hr : &ar) += 1;
        }
    }
    json_decref(evs);
    json_t *at = json_integer((json_int_t)time_ms);
    if ((uint64_t)maxseq != cur_seq && json_is_object(old)) {
        minute = json_integer_value(json_object_get(old, "minute"));
        stoppage = json_integer_value(json_object_get(old, "stoppage"));
        json_decref(at);
        at = json_incref(json_object_get(old, "at_ms"));
    }
    json_t *l = json_pack("{s:I, s:I, s:b, s:b, s:I, s:I, s:o, s:I, s:I, s:I, s:I}", "seq",
                          (json_int_t)maxseq, "period", (json_int_t)period, "in_play", in_play,
                          "ended", ended, "minute", (json_int_t)minute, "stoppage",
                          (json_int_t)stoppage, "at_ms", at ? at : json_integer(0),
                          "home_goals", (json_int_t)hg, "away_goals", (json_int_t)ag,
                          "home_reds", (json_int_t)hr, "away_reds", (json_int_t)ar);
    if (basketball) { /* points (as far as the scoring runs tell), no red cards */
        json_object_set(l, "home_points", json_object_get(l, "home_goals"));
        json_object_set(l, "away_points", json_object_get(l, "away_goals"));
        json_object_del(l, "home_goals");
        json_object_del(l, "away_goals");
        json_object_del(l, "home_reds");
        json_object_del(l, "away_reds");
    }
    return l;
}

static int set_fixture_status(struct fsm *f, MDB_txn *txn, const char *id, const char *to,
                              uint64_t time_ms)
{
    json_t *fx = fixture_get(f, txn, id);
    if (!fx)
        return 0;
    const char *from = json_string_value(json_object_get(fx, "status"));
    int rv = 0;
    if (from && strcmp(from, to) != 0 && strcmp(from, "finished") != 0 &&
        strcmp(from, "cancelled") != 0) {
        char ts[32];
        fsm_format_time(time_ms, ts);
        json_object_set_new(fx, "status", json_string(to));
        json_object_set_new(fx, "version",
                            json_integer(json_integer_value(json_object_get(fx, "version")) + 1));
        json_object_set_new(fx, "updated_at", json_string(ts));
        rv = fixture_put(f, txn, fx, NULL);
    }
    json_decref(fx);
    return rv;
}

/* Suspend @m at this entry: an open market stops; no earlier round can open it again. */
static int suspend(struct fsm *f, MDB_txn *txn, json_t *m, const char *reason, uint64_t time_ms)
{
    json_object_set_new(m, "suspended_index", json_integer((json_int_t)fsm_applying(f)));
    json_object_set_new(m, "reason", json_string(reason));
    if (!strcmp(json_string_value(json_object_get(m, "status")), "open")) {
        json_object_set_new(m, "status", json_string("suspended"));
        return emit(f, txn, "suspended", m, time_ms);
    }
    return 0;
}

int quotes_trader_suspend(struct fsm *f, MDB_txn *txn, const char *fixture, uint64_t time_ms)
{
    json_t *m = quotes_market_get(f, txn, fixture);
    int rv = 0;
    if (m && strcmp(json_string_value(json_object_get(m, "status")), "closed") != 0 &&
        (rv = suspend(f, txn, m, "trader", time_ms)) == 0)
        rv = market_put(f, txn, m, time_ms);
    json_decref(m);
    return rv;
}

/* A new market: pending, no round, no live state yet. */
static json_t *pending_market(struct fsm *f, const char *fixture)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:n, s:n}", "fixture", fixture, "sport",
                     fsm_sport(f), "status", "pending", "version", 0, "suspended_index", 0,
                     "signatures", 0, "round", "live");
}

int quotes_on_agreed(struct fsm *f, MDB_txn *txn, const struct feed_obs *o, uint64_t time_ms)
{
    const char *fixture = feed_obs_fixture(o);
    json_t *m = quotes_market_get(f, txn, fixture);
    int rv = 0;
    if (o->kind == FEED_FIXTURE) {
        if (m || !fsm_sport(f) || strcmp(fsm_sport(f), feed_sport_name(o->u.fixture.sport)))
            goto out;
        m = pending_market(f, fixture);
        rv = market_put(f, txn, m, time_ms);
        goto out;
    }
    if (o->kind == FEED_RESULT) {
        /* A result finishes the fixture and rates the teams whether or not it has markets
         * (a fixture agreed before markets existed, or created by an operator). */
        if (m && strcmp(json_string_value(json_object_get(m, "status")), "closed") != 0) {
            json_object_set_new(m, "status", json_string("closed"));
            json_object_set_new(m, "reason", json_string(o->u.result.status == FEED_FINAL
                                                             ? "result"
                                                             : "void"));
            if ((rv = emit(f, txn, "closed", m, time_ms)) ||
                (rv = market_put(f, txn, m, time_ms)))
                goto out;
        }
        rv = set_fixture_status(f, txn, fixture,
                                o->u.result.status == FEED_FINAL ? "finished" : "cancelled",
                                time_ms);
        /* Its first BET_SETTLE_CHUNK bets are settled in the same transaction, the rest by
         * the leader's CMD_BET_SETTLE_MORE (consensus/bets_settle.c). */
        if (rv == 0)
            rv = bets_on_result(f, txn, fixture, o->u.result.status != FEED_FINAL,
                                (int)o->u.result.home, (int)o->u.result.away, time_ms);
        if (rv == 0 && o->u.result.status == FEED_FINAL) {
            uint64_t n = fsm_meta_get(f, txn, RESULTS_N_KEY) + 1;
            uint8_t k[8];
            store_be64_put(k, n);
            MDB_val kv = {8, k}, v = {strlen(fixture), (void *)fixture};
            if ((rv = mdb_put(txn, DB(f)->results_order, &kv, &v, 0)) == 0)
                rv = fsm_meta_put(f, txn, RESULTS_N_KEY, n);
        }
        goto out;
    }
    /* A market snapshot changes no market state: it is read at pricing time (the newest one). */
    if (o->kind == FEED_ODDS || !m ||
        !strcmp(json_string_value(json_object_get(m, "status")), "closed"))
        goto out;
    /* An event. */
    const struct feed_event *e = &o->u.event;
    json_t *live = live_state(f, txn, fixture, e->seq, time_ms, json_object_get(m, "live"));
    json_object_set_new(m, "live", live);
    const char *type = feed_event_type_name(e->type);
    if (e->type == FEED_KICK_OFF || e->type == FEED_PERIOD_START) {
        if (!json_is_integer(json_object_get(m, "epoch")))
            json_object_set_new(m, "epoch", json_integer((json_int_t)fsm_meta_get(f, txn,
                                                                               RESULTS_N_KEY)));
        rv = set_fixture_status(f, txn, fixture, "live", time_ms);
    }
    if (rv == 0 && dangerous(type, live))
        rv = suspend(f, txn, m, json_is_true(json_object_get(live, "ended")) ? "game_over" : type,
                     time_ms);
    if (rv == 0) /* next goal bets settle at the goal (consensus/bets_markets.c) */
        rv = bets_on_event(f, txn, fixture, time_ms);
    if (rv == 0)
        rv = market_put(f, txn, m, time_ms);
out:
    json_decref(m);
    return rv;
}

/* A fixture agreed before markets existed (a database from an older version) gets its market
 * at its first round: pending, with the live state of the events agreed so far; NULL if the
 * fixture is not agreed or already over. Written through the same transaction, so every node
 * does the same. */
static json_t *late_market(struct fsm *f, MDB_txn *txn, const char *fixture, uint64_t time_ms)
{
    char subject[FEED_SUBJECT_MAX];
    snprintf(subject, sizeof subject, "fixture/%s", fixture);
    json_t *rec = obs_agreed_get(f, txn, subject), *fx = fixture_get(f, txn, fixture);
    const char *st = json_string_value(json_object_get(fx, "status"));
    json_t *m = NULL;
    if (rec && st && strcmp(st, "finished") != 0 && strcmp(st, "cancelled") != 0 &&
        fsm_sport(f)) {
        m = pending_market(f, fixture);
        json_t *live = live_state(f, txn, fixture, 0, time_ms, NULL);
        if (json_integer_value(json_object_get(live, "period")) >= 1)
            json_object_set_new(m, "epoch",
                                json_integer((json_int_t)fsm_meta_get(f, txn, RESULTS_N_KEY)));
        json_object_set_new(m, "live", live);
        if (market_put(f, txn, m, time_ms) != 0) {
            json_decref(m);
            m = NULL;
        }
    }
    json_decref(rec);
    json_decref(fx);
    return m;
}

json_t *quotes_unmarketed(struct fsm *f, MDB_txn *txn, unsigned limit)
{
    json_t *ids = json_array();
    MDB_cursor *cur;
    if (!fsm_sport(f) || mdb_cursor_open(txn, obs_agreed_fixtures_dbi(f), &cur) != 0)
        return ids;
    MDB_val k, v;
    for (int rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rv == 0 && json_array_size(ids) < limit;
         rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char id[FEED_ID_MAX + 1];
        if (k.mv_size > FEED_ID_MAX)
            continue;
        memcpy(id, k.mv_data, k.mv_size);
        id[k.mv_size] = 0;
        MDB_val mk = {k.mv_size, k.mv_data}, mv;
        if (mdb_get(txn, DB(f)->markets, &mk, &mv) == 0)
            continue;
        json_t *fx = fixture_get(f, txn, id);
        const char *st = json_string_value(json_object_get(fx, "status"));
        const char *sp = json_string_value(json_object_get(fx, "sport"));
        if (st && sp && !strcmp(sp, fsm_sport(f)) && strcmp(st, "finished") != 0 &&
            strcmp(st, "cancelled") != 0)
            json_array_append_new(ids, json_string(id));
        json_decref(fx);
    }
    mdb_cursor_close(cur);
    return ids;
}

/* ---- commands -------------------------------------------------------------------------- */

static json_t *parse_body(const struct cmd *c, const char **fixture, struct fsm_result *res,
                          const char *title)
{
    json_t *body = json_loadb(c->payload, c->payload_len, 0, NULL);
    *fixture = json_string_value(json_object_get(body, "fixture"));
    if (!*fixture || !fixture_id_valid(*fixture, strlen(*fixture))) {
        fsm_result_problem(res, 422, title, "need {fixture: a fixture id, ...}");
        json_decref(body);
        return NULL;
    }
    return body;
}

/* The market of @fixture, or NULL with a 404 / 409 result. */
static json_t *open_market(struct fsm *f, MDB_txn *txn, const char *fixture,
                           struct fsm_result *res)
{
    json_t *m = quotes_market_get(f, txn, fixture);
    if (!m) {
        fsm_result_problem(res, 404, "No market", "fixture '%s' has no markets", fixture);
        return NULL;
    }
    if (!strcmp(json_string_value(json_object_get(m, "status")), "closed")) {
        fsm_result_problem(res, 409, "Market closed", "the markets of '%s' are closed",
                           fixture);
        json_decref(m);
        return NULL;
    }
    return m;
}

static int apply_round(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                        struct fsm_result *res)
{
    const char *fixture;
    json_t *body = parse_body(c, &fixture, res, "Invalid quote round");
    if (!body)
        return 0;
    json_t *m = quotes_market_get(f, txn, fixture), *fx = NULL;
    int rv = 0;
    if (!m)
        m = late_market(f, txn, fixture, c->time_ms);
    json_decref(m);
    if (!(m = open_market(f, txn, fixture, res)))
        goto out;
    json_t *live = json_object_get(m, "live");
    if (json_is_true(json_object_get(live, "ended"))) {
        fsm_result_problem(res, 409, "Game over", "the final whistle went in '%s'; its markets "
                                                  "wait for the result", fixture);
        goto out;
    }
    if (trader_suspended(f, txn, fixture)) {
        fsm_result_problem(res, 409, "Suspended by trader",
                           "a trader suspended the markets of '%s'; a round waits for the "
                           "reopening", fixture);
        goto out;
    }
    fx = fixture_get(f, txn, fixture);
    int64_t kickoff = 0;
    const char *ko = json_string_value(json_object_get(fx, "kickoff"));
    if (!fx || !ko || fixture_parse_time(ko, &kickoff) != 0) {
        fsm_result_problem(res, 404, "No fixture", "fixture '%s' is not known", fixture);
        goto out;
    }
    bool started = json_integer_value(json_object_get(live, "period")) >= 1;
    long long period = json_integer_value(json_object_get(live, "period"));
    bool in_play = json_is_true(json_object_get(live, "in_play"));
    const char *sport = fsm_sport(f) ? fsm_sport(f) : "";
    bool basketball = !strcmp(sport, "basketball");
    long long half = 1, minute_x10 = 0;
    if (started && strcmp(sport, "tennis") != 0) {
        /* The clock: the last agreed event's, run on by the leader-stamped time since. */
        long long at = json_integer_value(json_object_get(live, "at_ms"));
        long long base = 10 * (json_integer_value(json_object_get(live, "minute")) +
                               json_integer_value(json_object_get(live, "stoppage")));
        long long run = in_play && (long long)c->time_ms > at ? ((long long)c->time_ms - at) / 6000
                                                              : 0;
        minute_x10 = base + run;
        if (basketball) { /* four quarters of 12 minutes; t = minute / 48 stays below 1 */
            if (minute_x10 > period * 120)
                minute_x10 = period * 120;
            if (minute_x10 > 479)
                minute_x10 = 479;
        } else {
            half = period >= 2 ? 2 : (in_play ? 1 : 2); /* half-time: the second half is next */
            if (half == 1 && minute_x10 > 500)
                minute_x10 = 500;
            if (half == 2 && minute_x10 < 450)
                minute_x10 = 450;
            if (minute_x10 > 1000)
                minute_x10 = 1000;
        }
    }
    json_int_t epoch = started && json_is_integer(json_object_get(m, "epoch"))
                           ? json_integer_value(json_object_get(m, "epoch"))
                           : (json_int_t)fsm_meta_get(f, txn, RESULTS_N_KEY);
    json_t *inputs = json_pack("{s:s, s:s, s:O, s:O, s:O, s:I, s:I, s:s, s:I, s:I}", "fixture",
                               fixture, "sport", sport, "home", json_object_get(fx, "home"),
                               "away", json_object_get(fx, "away"), "competition",
                               json_object_get(fx, "competition"), "kickoff",
                               (json_int_t)kickoff, "day", (json_int_t)(kickoff / 86400), "phase",
                               started ? "live" : "pre", "epoch", epoch, "seq",
                               (json_int_t)json_integer_value(json_object_get(live, "seq")));
    /* The sport's own live inputs, copied from the live state (0 where it has none). */
    static const char *const tennis[] = {"sets_a",       "sets_b",       "games_a",
                                         "games_b",      "prev_games_a", "prev_games_b",
                                         "points_a",     "points_b",     "server_a",     NULL};
    static const char *const basket[] = {"home_points", "away_points", NULL};
    static const char *const football[] = {"home_goals", "away_goals", "home_reds",
                                           "away_reds", NULL};
    const char *const *keys = !strcmp(sport, "tennis") ? tennis : basketball ? basket : football;
    for (size_t k = 0; keys[k]; k++)
        json_object_set_new(inputs, keys[k],
                            json_integer(json_integer_value(json_object_get(live, keys[k]))));
    if (keys == tennis) {
        json_object_set_new(inputs, "best_of", json_integer(3));
        if (!started)
            json_object_set_new(inputs, "server_a", json_integer(1));
    } else {
        json_object_set_new(inputs, "minute_x10", json_integer((json_int_t)minute_x10));
        if (keys == football)
            json_object_set_new(inputs, "half", json_integer((json_int_t)half));
    }
    json_t *trader = trader_round_inputs(f, txn, fixture); /* issue 17: priced on every node */
    if (trader)
        json_object_set_new(inputs, "trader", trader);
    int governor_bp = governor_margin_bp(f, txn); /* issue 17: the TRJ governor, every market */
    if (governor_bp)
        json_object_set_new(inputs, "governor_bp", json_integer(governor_bp));
    json_t *market = started ? NULL : obs_market_round_inputs(f, txn, fixture); /* issue 17 */
    if (market)
        json_object_set_new(inputs, "market", market);
    json_object_set_new(m, "round",
                        json_pack("{s:I, s:O}", "index", (json_int_t)fsm_applying(f), "inputs",
                                  inputs));
    if ((rv = market_put(f, txn, m, c->time_ms)) == 0) {
        json_t *r = json_pack("{s:s, s:I, s:o}", "fixture", fixture, "index",
                              (json_int_t)fsm_applying(f), "inputs", inputs);
        fsm_result_set(res, 201, json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS));
        json_decref(r);
    } else {
        json_decref(inputs);
    }
out:
    json_decref(fx);
    json_decref(m);
    json_decref(body);
    return rv;
}

static int apply_published(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                        struct fsm_result *res)
{
    const char *fixture;
    json_t *body = parse_body(c, &fixture, res, "Invalid quote");
    if (!body)
        return 0;
    json_t *ji = json_object_get(body, "index"), *sigs = json_object_get(body, "signatures");
    const char *text = json_string_value(json_object_get(body, "prices"));
    json_t *m = NULL, *prices = NULL;
    char *canon = NULL;
    int rv = 0;
    if (!json_is_integer(ji) || json_integer_value(ji) <= 0 || !text ||
        strlen(text) > QUOTE_PRICES_MAX || !json_is_array(sigs)) {
        fsm_result_problem(res, 422, "Invalid quote",
                           "need {fixture, index, prices (JSON text), signatures: [{node, "
                           "signature}]}");
        goto out;
    }
    uint64_t index = (uint64_t)json_integer_value(ji);
    prices = json_loads(text, 0, NULL);
    canon = prices ? json_dumps(prices, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!json_is_object(prices) || !canon || strcmp(canon, text) != 0) {
        fsm_result_problem(res, 422, "Invalid quote",
                           "prices: not a JSON object in canonical form (compact, keys sorted)");
        goto out;
    }
    if (!(m = open_market(f, txn, fixture, res)))
        goto out;
    json_t *round = json_object_get(m, "round");
    uint64_t cur = (uint64_t)json_integer_value(json_object_get(round, "index"));
    uint64_t susp = (uint64_t)json_integer_value(json_object_get(m, "suspended_index"));
    if (cur != index) {
        fsm_result_problem(res, 409, "Stale quote",
                           "round %llu of '%s' is not the current one (%llu)",
                           (unsigned long long)index, fixture, (unsigned long long)cur);
        goto out;
    }
    /* A round publishes once. The same votes can be proposed twice (the leader re-proposes
     * after a proposal timed out but still commits; a new leader gets the resent votes before
     * it applied the first); a second apply would add a version with the same prices and a
     * second "published" stream event. The leader takes 409 as "done". */
    if (index == (uint64_t)json_integer_value(json_object_get(m, "index"))) {
        fsm_result_problem(res, 409, "Stale quote", "round %llu of '%s' is already published",
                           (unsigned long long)index, fixture);
        goto out;
    }
    if (index <= susp) {
        fsm_result_problem(res, 409, "Stale quote",
                           "round %llu of '%s' was computed before the suspension at %llu",
                           (unsigned long long)index, fixture, (unsigned long long)susp);
        goto out;
    }
    uint8_t digest[32];
    quote_digest(fsm_cluster(f), fixture, index, text, digest);
    char detail[200];
    if (obs_check_signatures(f, txn, sigs, digest, detail, sizeof detail) != 0) {
        fsm_result_problem(res, 422, "Invalid quote", "%s", detail);
        goto out;
    }
    uint64_t version = fsm_meta_get(f, txn, QUOTE_VERSION_KEY) + 1;
    char ts[32];
    fsm_format_time(c->time_ms, ts);
    json_t *inputs = json_object_get(round, "inputs");
    json_t *q = json_pack("{s:I, s:s, s:O, s:I, s:I, s:O, s:O, s:O, s:s, s:O, s:s}", "version",
                          (json_int_t)version, "fixture", fixture, "sport",
                          json_object_get(m, "sport"), "index", (json_int_t)index, "entry",
                          (json_int_t)fsm_applying(f), "phase", json_object_get(inputs, "phase"),
                          "inputs", inputs, "prices", prices, "prices_text", text, "signatures",
                          sigs, "published_at", ts);
    uint8_t k[8];
    store_be64_put(k, version);
    if ((rv = store_put_json(txn, DB(f)->quotes, k, 8, q, NULL)) == 0 &&
        (rv = fsm_meta_put(f, txn, QUOTE_VERSION_KEY, version)) == 0) {
        json_object_set_new(m, "status", json_string("open"));
        json_object_del(m, "reason");
        json_object_set_new(m, "version", json_integer((json_int_t)version));
        json_object_set_new(m, "index", json_integer((json_int_t)index));
        json_object_set(m, "phase", json_object_get(inputs, "phase"));
        json_object_set_new(m, "published_at", json_string(ts));
        json_object_set_new(m, "signatures", json_integer((json_int_t)json_array_size(sigs)));
        json_object_set(m, "prices", prices);
        if ((rv = emit(f, txn, "published", m, c->time_ms)) == 0 &&
            (rv = market_put(f, txn, m, c->time_ms)) == 0) {
            json_t *r = json_pack("{s:I, s:s, s:I, s:s, s:O}", "version", (json_int_t)version,
                                  "fixture", fixture, "index", (json_int_t)index, "status",
                                  "open", "phase", json_object_get(inputs, "phase"));
            fsm_result_set(res, 201, json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS));
            json_decref(r);
        }
    }
    json_decref(q);
out:
    free(canon);
    json_decref(prices);
    json_decref(m);
    json_decref(body);
    return rv;
}

static int apply_suspend(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                        struct fsm_result *res)
{
    const char *fixture;
    json_t *body = parse_body(c, &fixture, res, "Invalid suspension");
    if (!body)
        return 0;
    const char *reason = json_string_value(json_object_get(body, "reason"));
    json_t *m = NULL;
    int rv = 0;
    if (!reason || !*reason || strlen(reason) > 64) {
        fsm_result_problem(res, 422, "Invalid suspension", "need {fixture, reason (1-64 bytes)}");
        goto out;
    }
    if (!(m = open_market(f, txn, fixture, res)))
        goto out;
    if ((rv = suspend(f, txn, m, reason, c->time_ms)) == 0 &&
        (rv = market_put(f, txn, m, c->time_ms)) == 0) {
        json_t *r = json_pack("{s:s, s:O, s:I}", "fixture", fixture, "status",
                              json_object_get(m, "status"), "suspended_index",
                              (json_int_t)fsm_applying(f));
        fsm_result_set(res, 200, json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS));
        json_decref(r);
    }
out:
    json_decref(m);
    json_decref(body);
    return rv;
}

/* ---- queries --------------------------------------------------------------------------- */

json_t *quotes_market_list(struct fsm *f, MDB_txn *txn, const struct market_filter *flt)
{
    json_t *items = json_array();
    json_t *next = json_null();
    unsigned limit = flt->limit ? flt->limit : 100;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, DB(f)->markets, &cur) != 0)
        return json_pack("{s:o, s:o}", "items", items, "next", next);
    MDB_val k = {0, NULL}, v;
    int op = MDB_FIRST;
    if (flt->after && *flt->after) {
        k.mv_size = strlen(flt->after);
        k.mv_data = (void *)flt->after;
        op = MDB_SET_RANGE;
    }
    for (int rv = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op); rv == 0;
         rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (op == MDB_SET_RANGE && k.mv_size == strlen(flt->after) &&
            !memcmp(k.mv_data, flt->after, k.mv_size))
            continue;
        json_t *m = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        const char *st = json_string_value(json_object_get(m, "status"));
        const char *ph = json_string_value(json_object_get(m, "phase"));
        if ((flt->status && (!st || strcmp(st, flt->status))) ||
            (flt->phase && (!ph || strcmp(ph, flt->phase)))) {
            json_decref(m);
            continue;
        }
        if (json_array_size(items) == limit) {
            json_decref(m);
            json_decref(next);
            json_t *last = json_array_get(items, limit - 1);
            next = json_incref(json_object_get(last, "fixture"));
            break;
        }
        json_array_append_new(items, m);
    }
    mdb_cursor_close(cur);
    return json_pack("{s:o, s:o}", "items", items, "next", next);
}

json_t *quotes_events_after(struct fsm *f, MDB_txn *txn, uint64_t after, unsigned limit)
{
    json_t *arr = json_array();
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, DB(f)->quote_events, &cur) != 0)
        return arr;
    uint8_t kb[8];
    store_be64_put(kb, after + 1);
    MDB_val k = {8, kb}, v;
    for (int rv = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         rv == 0 && json_array_size(arr) < limit; rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        json_array_append_new(arr, json_loadb(v.mv_data, v.mv_size, 0, NULL));
    mdb_cursor_close(cur);
    return arr;
}

uint64_t quotes_last_event(struct fsm *f, MDB_txn *txn)
{
    return fsm_meta_get(f, txn, EVENT_SEQ_KEY);
}

uint64_t quotes_results_count(struct fsm *f, MDB_txn *txn)
{
    return fsm_meta_get(f, txn, RESULTS_N_KEY);
}

json_t *quotes_result_nth(struct fsm *f, MDB_txn *txn, uint64_t n)
{
    uint8_t k[8];
    store_be64_put(k, n);
    MDB_val kv = {8, k}, v;
    if (mdb_get(txn, DB(f)->results_order, &kv, &v) != 0 || v.mv_size > FEED_ID_MAX)
        return NULL;
    char id[FEED_ID_MAX + 1], subject[FEED_SUBJECT_MAX];
    memcpy(id, v.mv_data, v.mv_size);
    id[v.mv_size] = 0;
    snprintf(subject, sizeof subject, "result/%s", id);
    json_t *fx = fixture_get(f, txn, id), *rec = obs_agreed_get(f, txn, subject), *out = NULL;
    json_t *o = json_object_get(rec, "observation");
    int64_t ko = 0;
    const char *kos = json_string_value(json_object_get(fx, "kickoff"));
    if (fx && o && kos && fixture_parse_time(kos, &ko) == 0)
        out = json_pack("{s:s, s:O, s:O, s:I, s:O, s:O}", "fixture", id, "home",
                        json_object_get(fx, "home"), "away", json_object_get(fx, "away"),
                        "kickoff", (json_int_t)ko, "home_goals", json_object_get(o, "home"),
                        "away_goals", json_object_get(o, "away"));
    json_decref(fx);
    json_decref(rec);
    return out;
}

/* ---- the domain's commands ---- */

char *quotes_cmd_round(struct cmd *c, const char *fixture)
{
    return cmd_fill_new(c, CMD_QUOTE_ROUND, json_pack("{s:s}", "fixture", fixture));
}

char *quotes_cmd_published(struct cmd *c, const char *fixture, uint64_t index,
                           const char *prices, json_t *signatures)
{
    return cmd_fill_new(c, CMD_QUOTE_PUBLISHED,
                        json_pack("{s:s, s:I, s:s, s:o}", "fixture", fixture, "index",
                                  (json_int_t)index, "prices", prices, "signatures", signatures));
}

char *quotes_cmd_suspend(struct cmd *c, const char *fixture, const char *reason,
                         const char *subject, uint64_t node)
{
    return cmd_fill_new(c, CMD_MARKETS_SUSPEND,
                        json_pack("{s:s, s:s, s:s, s:I}", "fixture", fixture, "reason", reason,
                                  "subject", subject, "node", (json_int_t)node));
}

/* None is batchable: each records the index of the entry applying it. */
static const struct fsm_command COMMANDS[] = {
    {CMD_QUOTE_ROUND, "quote_round", false, apply_round, NULL},
    {CMD_QUOTE_PUBLISHED, "quote_published", false, apply_published, NULL},
    {CMD_MARKETS_SUSPEND, "markets_suspend", false, apply_suspend, NULL},
    {0, NULL, false, NULL, NULL},
};

static const char *const DBS[] = {"markets", "quotes", "quote_events", "results_order", NULL};
/* DB() reads the handles as a struct: one field per name, in the same order. */
_Static_assert(sizeof(struct quotes_dbs) == (sizeof DBS / sizeof *DBS - 1) * sizeof(MDB_dbi),
               "one handle per database name");

const struct fsm_domain quotes_domain = {"quotes", COMMANDS, DBS};
