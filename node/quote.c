/* Agreed quotes: rounds, votes, publication (DESIGN.md "Agreement" 2; issue 6). The second
 * user of the agreement engine (consensus/agreement.h): its subjects are fixtures, its rounds
 * the log indexes of CMD_QUOTE_ROUND, its texts the canonical price texts.
 *
 * Leader. The engine's scheduler keeps a slot per fixture with a market and decides when a
 * round is due: at once when the fixture is agreed, when an event of it is agreed, when a
 * result changes the ratings (every pre-match fixture), and after each publication at the
 * cadence (pre-match every quote_prematch_s; live every quote_live_busy_s while an event was
 * agreed within quote_busy_window_s, else every quote_live_idle_s). A due round is not started
 * while a dangerous observation of the fixture is reported and not agreed (agree.c raises
 * n->on_dangerous; this file suspends the markets and holds the fixture), for at most
 * quote_hold_s. A round is the entry CMD_QUOTE_ROUND; the state machine captures its inputs.
 *
 * Every node (the leader too), once the round is applied and committed locally, prices the
 * inputs (quote_price.c), signs quote_digest and puts {fixture, index, prices, signature} in
 * the engine's outbox, which sends it to the leader's POST /internal/v1/quote-votes; a vote is
 * sent again to a new leader or term until the round is published, superseded or a minute old.
 *
 * The engine checks each vote on the leader (member, registered key, signature), groups
 * identical prices of the fixture's current round (a newer round drops the older one's votes)
 * and proposes CMD_QUOTE_PUBLISHED with the first group that holds a majority of the voters. A
 * node whose prices differ from the published ones dissents: counted
 * (parlay_quote_dissent_total{node}), logged and shown in the admin status. A round without a
 * quorum within quote_round_timeout_ms is given up and the next one is due at once.
 */
#include <jansson.h>
#include <secp256k1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/agreement.h"
#include "consensus/members.h"
#include "consensus/observations.h"
#include "consensus/quotes.h"
#include "feed/feed.h"
#include "node/agree_env.h"
#include "node/key.h"
#include "common/log.h"
#include "node/node.h"
#include "node/query.h"
#include "node/quote_price.h"
#include "node/routes.h"

#define Q_TICK_MS 100
#define Q_VOTE_TTL_MS 60000
#define Q_RETAIN_MS 15000 /* a published round is kept a little for late votes (their dissent) */
#define Q_ROUNDS_PER_TICK 1000
/* Until players and teams are rated in tennis and basketball (only football fits ratings):
 * both tennis players win this share of their service points (the tour average), and a
 * basketball game is a home advantage of 2.5 points (sd 12) and 165 points in all (sd 14),
 * EuroLeague-like. */
#define TENNIS_SERVE_WIN 0.64
#define BB_HOME_ADVANTAGE 2.5
#define BB_MARGIN_SD 12.0
#define BB_TOTAL 165.0
#define BB_TOTAL_SD 14.0

_Static_assert(FEED_ID_MAX + 1 <= AGR_SUBJECT_MAX, "a fixture id is an engine subject");

enum { PHASE_PRE = 0, PHASE_LIVE = 1 }; /* struct agr_slot.phase */

/* A dangerous event reported and not agreed yet: its fixture gets no new round meanwhile. */
struct qhold {
    char subject[FEED_SUBJECT_MAX];
    char fixture[FEED_ID_MAX + 1];
    uint64_t since_ms;
    struct qhold *next;
};

/* A round proposed right behind the agreement of a live event (on_event_proposed): when the
 * event applies, the round in flight is not stale (it comes after the event in the log). */
struct qpre {
    char subject[FEED_SUBJECT_MAX];
    uint64_t since_ms;
    struct qpre *next;
};

struct quoter {
    struct node *node;
    secp256k1_context *ctx;
    unsigned char sk[32];
    struct ratings *ratings;
    model_quote_cfg cfg;
    uv_timer_t timer;
    struct agr *agr;
    struct qhold *holds;
    struct qpre *pre;
    uint64_t sched_term; /* the term the schedule was built for; 0: not leader */
    uv_timer_t soon;     /* runs want_kick / want_nudge on a clean stack (see kick) */
    bool want_kick, want_nudge, nudging;
    uint64_t rounds_proposed, computed, compute_errors, published, stale, rounds_given_up,
        suspensions, rounds_behind_event;
    double compute_us_total;
};

static struct quoter *Q(struct node *n)
{
    return n->quoter;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- holds (leader) -------------------------------------------------------------------- */

static void hold_drop(struct quoter *q, const char *subject)
{
    for (struct qhold **ph = &q->holds; *ph;) {
        struct qhold *h = *ph;
        if (!subject || !strcmp(h->subject, subject)) {
            *ph = h->next;
            free(h);
            continue;
        }
        ph = &h->next;
    }
}

/* Is a dangerous event of @fixture waiting for agreement (for less than quote_hold_s), other
 * than @except (NULL: any)? */
static bool held_but(struct node *n, const char *fixture, const char *except)
{
    struct quoter *q = Q(n);
    uint64_t now = now_ms();
    bool yes = false;
    for (struct qhold **ph = &q->holds; *ph;) {
        struct qhold *h = *ph;
        if (now - h->since_ms >= (uint64_t)n->cfg.quote_hold_s * 1000) {
            *ph = h->next; /* held long enough */
            free(h);
            continue;
        }
        yes |= !strcmp(h->fixture, fixture) && (!except || strcmp(h->subject, except) != 0);
        ph = &h->next;
    }
    return yes;
}

static bool held(struct node *n, const char *fixture)
{
    return held_but(n, fixture, NULL);
}

/* Forget the round proposed behind @subject (NULL: every one); true if there was one. Those
 * older than a minute go too (their event was never applied: a lost proposal). */
static bool pre_take(struct quoter *q, const char *subject)
{
    uint64_t now = now_ms();
    bool found = false;
    for (struct qpre **pp = &q->pre; *pp;) {
        struct qpre *p = *pp;
        bool match = !subject || !strcmp(p->subject, subject);
        if (match || now - p->since_ms > 60000) {
            found |= match && subject;
            *pp = p->next;
            free(p);
            continue;
        }
        pp = &p->next;
    }
    return found;
}

/* ---- the schedule (leader) ------------------------------------------------------------- */

static void sched_clear(struct quoter *q)
{
    agr_sched_clear(q->agr);
    agr_reset(q->agr);
    pre_take(q, NULL);
}

/* The next round after a publication (or a give-up) of @s. */
static void sched_next(struct node *n, struct agr_slot *s)
{
    uint64_t now = now_ms();
    const struct config *c = &n->cfg;
    unsigned every = s->phase != PHASE_LIVE ? c->quote_prematch_s
                     : s->activity_ms && now - s->activity_ms < c->quote_busy_window_s * 1000ull
                         ? c->quote_live_busy_s
                         : c->quote_live_idle_s;
    agr_sched_next(Q(n)->agr, s, every * 1000ull);
}

/* (Re)build the schedule from the markets: every market not closed is due now. */
static void sched_build(struct node *n)
{
    struct quoter *q = Q(n);
    sched_clear(q);
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return;
    struct market_filter flt = {.limit = 1000};
    char after[FEED_ID_MAX + 1] = "";
    uint64_t now = now_ms();
    for (;;) {
        flt.after = after;
        json_t *page = quotes_market_list(n->fsm, txn, &flt);
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(page, "items"), i, m)
        {
            const char *st = json_string_value(json_object_get(m, "status"));
            if (st && strcmp(st, "closed") != 0) {
                struct agr_slot *s = agr_sched_find(
                    q->agr, json_string_value(json_object_get(m, "fixture")), true);
                json_t *live = json_object_get(m, "live");
                s->phase = json_integer_value(json_object_get(live, "period")) >= 1 ? PHASE_LIVE
                                                                                     : PHASE_PRE;
                s->activity_ms = now;
                s->due_ms = now;
            }
        }
        const char *next = json_string_value(json_object_get(page, "next"));
        if (next)
            snprintf(after, sizeof after, "%s", next);
        json_decref(page);
        if (!next)
            break;
    }
    /* Fixtures agreed before markets existed: their first round creates the market. */
    json_t *late = quotes_unmarketed(n->fsm, txn, 100000);
    size_t i;
    json_t *id;
    json_array_foreach(late, i, id)
    {
        struct agr_slot *s = agr_sched_find(q->agr, json_string_value(id), true);
        s->due_ms = now;
        s->activity_ms = now;
    }
    json_decref(late);
    fsm_read_end(txn);
}

/* ---- rounds (leader) ------------------------------------------------------------------- */

struct round_ctx {
    struct node *node;
    char fixture[FEED_ID_MAX + 1];
    uint64_t index; /* a publication: the round it publishes */
    char *prices;   /* a publication: the prices it publishes */
};

static void on_round_proposed(void *arg, int outcome, const struct fsm_result *res)
{
    struct round_ctx *rc = arg;
    struct node *n = rc->node;
    if (!n->stopping && Q(n) && Q(n)->sched_term) {
        struct agr *agr = Q(n)->agr;
        struct agr_slot *s = agr_sched_find(agr, rc->fixture, false);
        if (s && outcome == REPLICA_OK && res && res->status == 201 && res->body) {
            json_t *b = json_loads(res->body, 0, NULL);
            /* The fixture's current round now: the older rounds' votes no longer count. */
            agr_sched_round(agr, s, (uint64_t)json_integer_value(json_object_get(b, "index")));
            json_decref(b);
        }
        if (s && (outcome != REPLICA_OK || !res || res->status != 201)) {
            if (outcome == REPLICA_OK && res && (res->status == 409 || res->status == 404))
                agr_sched_remove(agr, rc->fixture); /* closed, over, or no market */
            else
                agr_sched_next(agr, s, 1000);
        }
    }
    free(rc);
}

static bool round_propose(struct node *n, struct agr_slot *s)
{
    struct cmd c;
    char *body = quotes_cmd_round(&c, s->link.name);
    struct round_ctx *rc = calloc(1, sizeof *rc);
    rc->node = n;
    snprintf(rc->fixture, sizeof rc->fixture, "%.*s", FEED_ID_MAX, s->link.name);
    int rv = replica_propose(n->replica, &c, on_round_proposed, rc);
    free(body);
    if (rv != 0) {
        free(rc);
        return false;
    }
    LOG_DEBUG("event=quote_round fixture=%s", s->link.name);
    Q(n)->rounds_proposed++;
    return true;
}

/* The scheduler's: start a round of @s unless a dangerous report holds its fixture. */
static bool propose_round(void *arg, struct agr_slot *s)
{
    struct node *n = arg;
    if (held(n, s->link.name))
        return false;
    return round_propose(n, s);
}

/* n->on_event_proposed: the agreement of live event @subject of @fixture was just proposed.
 * Its round is proposed behind it now rather than once it is applied: each step of a round is
 * a commit, and under load (a settlement's chunks in the log) each commit waited tens of ms,
 * so the event's apply, then the round's commit, were two of the four waits between a goal
 * and its new prices (bets_bench settle, README). The round comes after the event in the log,
 * so it captures it; other dangerous reports of the game still hold it. */
static void on_event_proposed(struct node *n, const char *fixture, const char *subject)
{
    struct quoter *q = Q(n);
    if (!q || !q->sched_term || !replica_is_leader(n->replica))
        return;
    struct agr_slot *s = agr_sched_find(q->agr, fixture, false);
    if (!s || held_but(n, fixture, subject) || !round_propose(n, s))
        return; /* no market yet, or held: the event's apply makes the round due, as before */
    s->started_ms = now_ms();
    struct qpre *p = calloc(1, sizeof *p);
    if (p) {
        snprintf(p->subject, sizeof p->subject, "%s", subject);
        p->since_ms = s->started_ms;
        p->next = q->pre;
        q->pre = p;
    }
    q->rounds_behind_event++;
}

static void on_published(void *arg, int outcome, const struct fsm_result *res)
{
    struct round_ctx *rc = arg;
    struct node *n = rc->node;
    struct quoter *q = n->stopping ? NULL : Q(n);
    if (q && q->sched_term) {
        json_t *b = res && res->body ? json_loads(res->body, 0, NULL) : NULL;
        struct agr_slot *s = agr_sched_find(q->agr, rc->fixture, false);
        bool applied = outcome == REPLICA_OK && res;
        bool ok = applied && res->status == 201, stale = applied && res->status == 409;
        agr_proposed(q->agr, rc->fixture, rc->index, ok, stale, rc->prices);
        if (ok) {
            LOG_DEBUG("event=quote_published fixture=%s round=%llu", rc->fixture,
                      (unsigned long long)rc->index);
            q->published++;
        }
        if (stale)
            q->stale++;
        /* Only the fixture's current round moves its schedule: the answer about an older
         * round (superseded while its publication was in flight) changes nothing, or every
         * stale answer would start yet another round and make the current one stale too. */
        bool current = s && s->round == rc->index;
        if (current && ok) {
            const char *ph = json_string_value(json_object_get(b, "phase"));
            s->phase = ph && !strcmp(ph, "live") ? PHASE_LIVE : PHASE_PRE;
            sched_next(n, s);
        } else if (current && stale) {
            agr_sched_next(q->agr, s, 0); /* stale (a suspension came after it): a new round */
        }
        json_decref(b);
    }
    free(rc->prices);
    free(rc);
}

/* The engine's: a quorum of votes agrees on @prices for round @index of @fixture. */
static int publish(void *arg, const char *fixture, uint64_t index, const char *prices,
                   json_t *sigs)
{
    struct node *n = arg;
    struct cmd c;
    char *text = quotes_cmd_published(&c, fixture, index, prices, sigs);
    struct round_ctx *rc = calloc(1, sizeof *rc);
    rc->node = n;
    snprintf(rc->fixture, sizeof rc->fixture, "%s", fixture);
    rc->index = index;
    rc->prices = strdup(prices);
    int rv = replica_propose(n->replica, &c, on_published, rc);
    free(text);
    if (rv != 0) {
        free(rc->prices);
        free(rc);
        return -1;
    }
    return 0;
}

static void leader_tick(struct node *n)
{
    struct quoter *q = Q(n);
    uint64_t term = raft_current_term(replica_raft(n->replica));
    if (!replica_is_leader(n->replica)) {
        if (q->sched_term) {
            sched_clear(q);
            q->sched_term = 0;
        }
        return;
    }
    if (q->sched_term != term) {
        sched_build(n);
        q->sched_term = term;
    }
    agr_sched_due(q->agr, Q_ROUNDS_PER_TICK, n->cfg.quote_round_timeout_ms,
                  &q->rounds_given_up, propose_round, n);
    agr_tick(q->agr); /* a publication that failed is retried; old rounds are forgotten */
}

/* ---- promptness (leader) ---------------------------------------------------------------- *
 * raft tells followers the commit index with the next AppendEntries, which is the next
 * heartbeat when nothing else is proposed: a round or a publication would wait up to
 * heartbeat_timeout_ms before followers apply it. A barrier appends an (empty) entry at once,
 * and its AppendEntries carries the new commit index: one barrier in flight at a time (nudge).
 * An agreed event makes its game's round due at once (kick). Both are asked for from places
 * where raft must not be called: the state machine's deferred callbacks can run inside
 * raft_apply (raft takes a snapshot there, which flushes), and a barrier's answer arrives the
 * same way. They run from a zero-delay timer instead. */
static void on_soon(uv_timer_t *t);

static void soon(struct node *n)
{
    struct quoter *q = Q(n);
    if (!n->stopping && !uv_is_active((uv_handle_t *)&q->soon))
        uv_timer_start(&q->soon, on_soon, 0, 0);
}

static void on_nudged(void *arg, int outcome, const char *detail)
{
    (void)outcome;
    (void)detail;
    struct node *n = arg;
    if (n->stopping || !Q(n))
        return;
    Q(n)->nudging = false;
    if (Q(n)->want_nudge)
        soon(n);
}

static void on_soon(uv_timer_t *t)
{
    struct node *n = t->data;
    struct quoter *q = Q(n);
    if (n->stopping || !q)
        return;
    if (q->want_kick) { /* an agreed event made its game's round due now */
        q->want_kick = false;
        leader_tick(n);
    }
    if (q->want_nudge && !q->nudging && replica_is_leader(n->replica)) {
        q->want_nudge = false;
        q->nudging = true;
        replica_barrier(n->replica, on_nudged, n); /* a failure calls on_nudged at once */
    }
}

static void nudge(struct node *n)
{
    Q(n)->want_nudge = true;
    soon(n);
}

static void kick(struct node *n)
{
    Q(n)->want_kick = true;
    soon(n);
}

struct compute_item {
    struct node *node;
    char *body; /* the round's result: {fixture, index, inputs} */
};

static void compute(void *arg)
{
    struct compute_item *ci = arg;
    struct node *n = ci->node;
    struct quoter *q = n->stopping ? NULL : Q(n);
    json_t *b = q ? json_loads(ci->body, 0, NULL) : NULL;
    const char *fixture = json_string_value(json_object_get(b, "fixture"));
    uint64_t index = (uint64_t)json_integer_value(json_object_get(b, "index"));
    json_t *in = json_object_get(b, "inputs");
    MDB_txn *txn;
    if (!q || !fixture || !index || !json_is_object(in) || fsm_read_begin(n->fsm, &txn) != 0)
        goto out;
    json_t *m = quotes_market_get(n->fsm, txn, fixture);
    uint64_t cur = (uint64_t)json_integer_value(json_object_get(json_object_get(m, "round"),
                                                                "index"));
    json_decref(m);
    if (cur != index) { /* superseded already (a node catching up): nobody needs this vote */
        fsm_read_end(txn);
        goto out;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char err[200] = "";
    int rc = 0;
    char *text = NULL;
    if (!strcmp(n->cfg.sport, "football")) {
        double lambda, mu, rho;
        rc = ratings_rates(q->ratings, n->fsm, txn,
                           (uint64_t)json_integer_value(json_object_get(in, "epoch")),
                           (int)json_integer_value(json_object_get(in, "day")),
                           json_string_value(json_object_get(in, "home")),
                           json_string_value(json_object_get(in, "away")), &lambda, &mu, &rho);
        if (rc == 0)
            text = quote_price_football(in, lambda, mu, rho, &q->cfg, n->cfg.test_fault_prices,
                                        err, sizeof err);
    } else if (!strcmp(n->cfg.sport, "tennis")) {
        text = quote_price_tennis(in, TENNIS_SERVE_WIN, TENNIS_SERVE_WIN, &q->cfg,
                                  n->cfg.test_fault_prices, err, sizeof err);
    } else {
        model_bb_state pre = {.margin_mean = BB_HOME_ADVANTAGE,
                              .margin_sd = BB_MARGIN_SD,
                              .total_mean = BB_TOTAL,
                              .total_sd = BB_TOTAL_SD};
        text = quote_price_basketball(in, &pre, &q->cfg, n->cfg.test_fault_prices, err,
                                      sizeof err);
    }
    fsm_read_end(txn);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!text) {
        q->compute_errors++;
        LOG_WARN("event=quote_compute_failed fixture=%s round=%llu err=\"%s\"", fixture,
                 (unsigned long long)index, rc ? model_strerror(rc) : err);
        goto out;
    }
    q->computed++;
    LOG_DEBUG("event=quote_computed fixture=%s round=%llu", fixture, (unsigned long long)index);
    q->compute_us_total += (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
                           (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
    uint8_t digest[32];
    char sig[AGR_SIG_HEX];
    quote_digest(n->cfg.cluster, fixture, index, text, digest);
    /* The vote replaces the fixture's vote for an older round in the outbox. */
    if (agree_sign(q->ctx, q->sk, digest, sig))
        agr_outbox_put(q->agr, fixture, index, text, sig);
    free(text);
    agr_outbox_pump(q->agr);
out:
    json_decref(b);
    free(ci->body);
    free(ci);
}

static void on_applied(void *ctx, uint64_t index, unsigned type, const struct fsm_result *res)
{
    (void)index;
    struct node *n = ctx;
    struct quoter *q = Q(n);
    oracle_applied(n, index, type, res); /* the listener's other user (oracle.c) */
    if (type == CMD_OBSERVATION_AGREED || type == CMD_QUOTE_PUBLISHED ||
        type == CMD_MARKETS_SUSPEND || (type >= CMD_BET_PLACE && type <= CMD_TYPE_MAX))
        stream_kick(n); /* the quote stream and the bet stream (bets.c's events) */
    if (!q || !res || !res->body)
        return;
    if ((type == CMD_QUOTE_ROUND || type == CMD_QUOTE_PUBLISHED) && res->status == 201 &&
        q->sched_term)
        nudge(n); /* followers vote / stream it without waiting for a heartbeat */
    if (type == CMD_QUOTE_ROUND && res->status == 201) {
        struct compute_item *ci = malloc(sizeof *ci);
        ci->node = n;
        ci->body = strdup(res->body);
        fsm_defer(n->fsm, compute, ci); /* once the round is committed locally */
        return;
    }
    if ((type == CMD_TRADER_SET || type == CMD_TRADER_MARKET_SET) && res->status == 200 &&
        q->sched_term) {
        /* A trader's change (issue 17): the fixture is priced again at once with it. */
        json_t *b = json_loads(res->body, 0, NULL);
        const char *fixture = json_string_value(json_object_get(b, "fixture"));
        if (fixture) {
            struct agr_slot *s = agr_sched_find(q->agr, fixture, true);
            s->due_ms = now_ms();
            s->started_ms = 0; /* a round in flight was captured before the change */
            kick(n);
        }
        json_decref(b);
        return;
    }
    if ((type == CMD_GOVERNOR_ADJUST || type == CMD_GOVERNOR_RESET) && res->status == 200 &&
        q->sched_term && strstr(res->body, "\"change\":{")) {
        /* The TRJ governor moved the adjustment (issue 17): every fixture is priced again. */
        for (struct agr_slot *s = agr_sched_first(q->agr); s; s = agr_sched_after(s)) {
            s->due_ms = now_ms();
            s->started_ms = 0;
        }
        kick(n);
        return;
    }
    if (type == CMD_QUOTE_PUBLISHED && res->status == 201) {
        json_t *b = json_loads(res->body, 0, NULL);
        const char *fixture = json_string_value(json_object_get(b, "fixture"));
        if (fixture)
            agr_outbox_done(q->agr, fixture,
                            (uint64_t)json_integer_value(json_object_get(b, "index")));
        json_decref(b);
        return;
    }
    if (type != CMD_OBSERVATION_AGREED || res->status != 201)
        return;
    json_t *b = json_loads(res->body, 0, NULL);
    const char *kind = json_string_value(json_object_get(b, "kind"));
    json_t *o = json_object_get(b, "observation");
    const char *fixture = json_string_value(json_object_get(o, "fixture"));
    if (!fixture)
        fixture = json_string_value(json_object_get(o, "id"));
    if (kind && fixture && !strcmp(kind, "result"))
        agr_outbox_done(q->agr, fixture, UINT64_MAX); /* the markets are closed */
    const char *subject = json_string_value(json_object_get(b, "subject"));
    if (subject)
        hold_drop(q, subject); /* agreed: it holds its game no longer */
    if (!q->sched_term) {
        json_decref(b);
        return;
    }
    if (kind && fixture && !strcmp(kind, "fixture")) {
        struct agr_slot *s = agr_sched_find(q->agr, fixture, true);
        s->due_ms = now_ms();
        kick(n);
    } else if (kind && fixture && !strcmp(kind, "event")) {
        struct agr_slot *s = agr_sched_find(q->agr, fixture, true);
        s->phase = PHASE_LIVE;
        s->activity_ms = now_ms();
        if (!subject || !pre_take(q, subject)) {
            s->due_ms = s->activity_ms;
            s->started_ms = 0; /* a round in flight is stale now */
            kick(n);
        } /* else its round was proposed behind it (on_event_proposed): in flight, fresh */
    } else if (kind && fixture && !strcmp(kind, "odds")) {
        /* A newer agreed market snapshot (issue 17): pre-match prices blend it at once. */
        struct agr_slot *s = agr_sched_find(q->agr, fixture, true);
        if (s->phase != PHASE_LIVE) {
            s->due_ms = now_ms();
            s->started_ms = 0; /* a round in flight was captured without it */
            kick(n);
        }
    } else if (kind && fixture && !strcmp(kind, "result")) {
        agr_sched_remove(q->agr, fixture);
        /* New ratings: every pre-match price is due again. */
        for (struct agr_slot *s = agr_sched_first(q->agr); s; s = agr_sched_after(s))
            if (s->phase != PHASE_LIVE && !s->started_ms)
                s->due_ms = now_ms();
    }
    json_decref(b);
}

/* ---- the engine's callbacks -------------------------------------------------------------- */

static uint64_t env_now(void *arg)
{
    (void)arg;
    return now_ms();
}

static void vote_digest(void *arg, const char *fixture, uint64_t index, const char *prices,
                        uint8_t out[32])
{
    struct node *n = arg;
    quote_digest(n->cfg.cluster, fixture, index, prices, out);
}

static int send_vote(void *arg, const struct agr_entry *e, const struct agr_ticket *t)
{
    struct node *n = arg;
    json_t *o = json_pack("{s:I, s:s, s:I, s:s, s:s}", "node_id", (json_int_t)n->cfg.node_id,
                          "fixture", e->subject, "index", (json_int_t)e->round, "prices",
                          e->text, "signature", e->sig);
    return agree_env_send(n, Q(n)->agr, "/internal/v1/quote-votes", o, t);
}

static void on_event(void *arg, enum agr_event ev, const char *fixture, uint64_t index,
                     uint64_t node, const char *text)
{
    (void)arg;
    (void)text;
    if (ev == AGR_EV_DISSENT)
        LOG_WARN("event=quote_dissent node=%llu fixture=%s round=%llu why=\"prices differ from "
                 "the published ones\"",
                 (unsigned long long)node, fixture, (unsigned long long)index);
    else if (ev == AGR_EV_GIVEN_UP)
        LOG_WARN("event=quote_round_given_up fixture=%s", fixture);
}

static void on_tick(uv_timer_t *t)
{
    struct node *n = t->data;
    if (n->stopping)
        return;
    agr_outbox_pump(Q(n)->agr);
    leader_tick(n);
}

/* ---- the leader's vote endpoint -------------------------------------------------------- */

static void do_vote(struct http_req *r)
{
    struct node *n = r->node;
    struct quoter *q = Q(n);
    json_t *body = routes_body(r);
    if (!body)
        return;
    json_t *jid = json_object_get(body, "node_id"), *ji = json_object_get(body, "index");
    const char *fixture = json_string_value(json_object_get(body, "fixture"));
    const char *text = json_string_value(json_object_get(body, "prices"));
    const char *sighex = json_string_value(json_object_get(body, "signature"));
    uint8_t sigraw[64];
    if (!json_is_integer(jid) || json_integer_value(jid) <= 0 || !json_is_integer(ji) ||
        json_integer_value(ji) <= 0 || !fixture || strlen(fixture) > FEED_ID_MAX || !text ||
        strlen(text) > QUOTE_PRICES_MAX || !sighex || strlen(sighex) != 128 ||
        obs_hex_decode(sighex, sigraw, 64) != 64) {
        agr_stats(q->agr)->refused++;
        http_problem(r, 422, "Invalid vote",
                     "need {node_id, fixture, index, prices (JSON text), signature (128 hex "
                     "digits)}");
        goto out;
    }
    uint64_t node = (uint64_t)json_integer_value(jid), index = (uint64_t)json_integer_value(ji);
    if (!replica_is_leader(n->replica)) {
        http_header(r, "retry-after", "1");
        http_problem(r, 421, "Not the leader", "votes go to the leader");
        goto out;
    }
    enum agr_vote_result v = agr_vote(q->agr, node, fixture, index, text, sighex);
    if (v == AGR_NOT_MEMBER) {
        http_problem(r, 403, "Not a member", "node %llu is not a member with a registered key",
                     (unsigned long long)node);
        goto out;
    }
    if (v == AGR_BAD_SIGNATURE) {
        LOG_WARN("event=quote_vote_forged node=%llu fixture=%s round=%llu",
                 (unsigned long long)node, fixture, (unsigned long long)index);
        http_problem(r, 403, "Bad signature",
                     "the signature does not verify with node %llu's registered key",
                     (unsigned long long)node);
        goto out;
    }
    http_reply_json(r, 202, json_pack("{s:s, s:I, s:b}", "fixture", fixture, "index",
                                      (json_int_t)index, "published",
                                      agr_is_done(q->agr, fixture, index)));
out:
    json_decref(body);
}

static void on_suspended(void *arg, int outcome, const struct fsm_result *res)
{
    (void)arg;
    if (outcome != REPLICA_OK || !res || res->status >= 300)
        LOG_DEBUG("event=markets_suspend_failed outcome=%d status=%d", outcome,
                  res ? res->status : 0);
}

/* n->on_dangerous (raised by agree.c on the leader): a member reported a dangerous event that
 * is not agreed yet. Its game's markets are suspended at once (always safe), and no round
 * starts for it until the event is agreed (at most quote_hold_s). */
static void on_dangerous(struct node *n, const char *fixture, const char *reason,
                         const char *subject, uint64_t reporter)
{
    struct quoter *q = Q(n);
    if (!q || !replica_is_leader(n->replica))
        return;
    struct qhold *h = calloc(1, sizeof *h);
    snprintf(h->subject, sizeof h->subject, "%s", subject);
    snprintf(h->fixture, sizeof h->fixture, "%s", fixture);
    h->since_ms = now_ms();
    h->next = q->holds;
    q->holds = h;
    MDB_txn *txn;
    json_t *m = NULL;
    if (fsm_read_begin(n->fsm, &txn) == 0) {
        m = quotes_market_get(n->fsm, txn, fixture);
        fsm_read_end(txn);
    }
    const char *st = json_string_value(json_object_get(m, "status"));
    bool act = st && strcmp(st, "closed") != 0;
    json_decref(m);
    if (!act)
        return;
    struct cmd c;
    char *text = quotes_cmd_suspend(&c, fixture, reason, subject, reporter);
    if (replica_propose(n->replica, &c, on_suspended, NULL) == 0) {
        q->suspensions++;
        LOG_INFO("event=markets_suspend fixture=%s reason=%s subject=%s node=%llu", fixture,
                 reason, subject, (unsigned long long)reporter);
    }
    free(text);
    struct agr_slot *s = agr_sched_find(q->agr, fixture, false);
    if (s)
        s->started_ms = 0; /* a round in flight is stale: its prices do not know of this */
}

/* ---- reads ----------------------------------------------------------------------------- */

static json_t *market_view(json_t *m)
{
    json_object_del(m, "round");
    json_object_del(m, "suspended_index");
    return m;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!*s || strlen(s) > 19)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

static void serve_quote(struct http_req *r, const char *vs, bool attestation)
{
    struct node *n = r->node;
    uint64_t version;
    if (!parse_u64(vs, &version) || version == 0) {
        http_problem(r, 422, "Invalid version", "a quote version is a positive integer, not "
                                                "'%s'", vs);
        return;
    }
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0) {
        http_problem(r, 500, "Read failed", "the state machine could not be read");
        return;
    }
    json_t *qr = quotes_get(n->fsm, txn, version);
    if (qr && attestation) {
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(qr, "signatures"), i, s)
        {
            char pk[67];
            if (obs_member_key(n->fsm, txn,
                               (uint64_t)json_integer_value(json_object_get(s, "node")),
                               pk) == 0)
                json_object_set_new(s, "public_key", json_string(pk));
        }
        uint8_t digest[32];
        char dh[65];
        quote_digest(n->cfg.cluster, json_string_value(json_object_get(qr, "fixture")),
                     (uint64_t)json_integer_value(json_object_get(qr, "index")),
                     json_string_value(json_object_get(qr, "prices_text")), digest);
        obs_hex_encode(digest, 32, dh);
        json_object_set_new(qr, "cluster", json_string(n->cfg.cluster));
        json_object_set_new(qr, "digest", json_string(dh));
        json_object_set_new(qr, "signed_message",
                            json_string("SHA-256 of \"parlay-quote-v1\" NUL cluster NUL fixture "
                                        "NUL index (decimal) NUL prices_text; secp256k1 ECDSA, "
                                        "compact r||s, low-s"));
    } else if (qr) {
        json_object_del(qr, "prices_text");
        json_object_set_new(qr, "signatures",
                            json_integer((json_int_t)json_array_size(
                                json_object_get(qr, "signatures"))));
    }
    fsm_read_end(txn);
    if (!qr) {
        http_problem(r, 404, "No such quote", "no quote has version %llu",
                     (unsigned long long)version);
        return;
    }
    http_reply_json(r, 200, qr);
}

static void list_markets(struct http_req *r)
{
    struct node *n = r->node;
    char status[16] = "", phase[8] = "", after[FEED_ID_MAX + 2] = "", lim[12] = "";
    struct market_filter flt = {.limit = 100};
    char sport[48];
    struct query_want q[] = {{"status", status, sizeof status, 0},
                             {"phase", phase, sizeof phase, 0},
                             {"after", after, sizeof after, 0},
                             {"limit", lim, sizeof lim, 0},
                             {"sport", sport, sizeof sport, 0}};
    if (query_params(r, q, sizeof q / sizeof *q) < 0)
        return;
    if (q[0].got) {
        if (strcmp(status, "pending") && strcmp(status, "open") && strcmp(status, "suspended") &&
            strcmp(status, "closed")) {
            http_problem(r, 422, "Invalid filter",
                         "status must be pending, open, suspended or closed");
            return;
        }
        flt.status = status;
    }
    if (q[1].got) {
        if (strcmp(phase, "pre") && strcmp(phase, "live")) {
            http_problem(r, 422, "Invalid filter", "phase must be pre or live");
            return;
        }
        flt.phase = phase;
    }
    if (q[2].got)
        flt.after = after;
    if (q[3].got) {
        uint64_t l;
        if (!parse_u64(lim, &l) || l < 1 || l > 1000) {
            http_problem(r, 422, "Invalid limit", "limit must be an integer from 1 to 1000");
            return;
        }
        flt.limit = (unsigned)l;
    }
    if (q[4].got && strcmp(sport, n->cfg.sport) != 0) {
        http_problem(r, 404, "Other sport", "this cluster quotes %s, not '%s'", n->cfg.sport,
                     sport);
        return;
    }
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0) {
        http_problem(r, 500, "Read failed", "the state machine could not be read");
        return;
    }
    json_t *page = quotes_market_list(n->fsm, txn, &flt);
    fsm_read_end(txn);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(page, "items"), i, m) market_view(m);
    http_reply_json(r, 200, page);
}

int routes_quotes(struct http_req *r, const char *method, const char *path)
{
    struct node *n = r->node;
    if (!strcmp(path, "/internal/v1/quote-votes")) {
        r->route = ROUTE_OTHER;
        if (!Q(n))
            http_problem(r, 404, "Not found", "this node takes no votes");
        else if (routes_method(r, method, "POST", "use POST"))
            do_vote(r);
        return 0;
    }
    if (!n->cfg.sport[0])
        return -1;
    if (!strcmp(path, "/v1/markets")) {
        r->route = ROUTE_FIXTURES_READ;
        if (routes_method(r, method, "GET", "use GET"))
            list_markets(r);
        return 0;
    }
    if (!strcmp(path, "/v1/stream/quotes")) {
        r->route = ROUTE_OTHER;
        if (routes_method(r, method, "GET", "use GET"))
            stream_open(r);
        return 0;
    }
    if (!strncmp(path, "/v1/fixtures/", 13)) {
        const char *id = path + 13, *slash = strchr(id, '/');
        if (!slash || strcmp(slash, "/markets") != 0 || slash == id ||
            (size_t)(slash - id) > FEED_ID_MAX)
            return -1;
        r->route = ROUTE_FIXTURES_READ;
        if (!routes_method(r, method, "GET", "use GET"))
            return 0;
        char fid[FEED_ID_MAX + 1];
        snprintf(fid, sizeof fid, "%.*s", (int)(slash - id), id);
        MDB_txn *txn;
        if (fsm_read_begin(n->fsm, &txn) != 0) {
            http_problem(r, 500, "Read failed", "the state machine could not be read");
            return 0;
        }
        json_t *m = quotes_market_get(n->fsm, txn, fid);
        fsm_read_end(txn);
        if (!m)
            http_problem(r, 404, "No markets",
                         "fixture '%s' has no markets (markets open once a quorum of nodes "
                         "agree on the fixture)",
                         fid);
        else
            http_reply_json(r, 200, market_view(m));
        return 0;
    }
    if (!strncmp(path, "/v1/quotes/", 11)) {
        const char *v = path + 11, *slash = strchr(v, '/');
        r->route = ROUTE_FIXTURES_READ;
        if (!routes_method(r, method, "GET", "use GET"))
            return 0;
        char vs[24];
        if (!slash) {
            snprintf(vs, sizeof vs, "%.23s", v);
            serve_quote(r, vs, false);
        } else if (!strcmp(slash, "/attestation") && slash - v < 24) {
            snprintf(vs, sizeof vs, "%.*s", (int)(slash - v), v);
            serve_quote(r, vs, true);
        } else {
            http_problem(r, 404, "Not found", "no resource at %s", path);
        }
        return 0;
    }
    return -1;
}

/* ---- status, metrics, start, stop ------------------------------------------------------ */

void quote_metrics(struct node *n, char **buf, size_t *len, size_t *cap)
{
    struct quoter *q = Q(n);
    if (!q)
        return;
    const struct agr_stats *st = agr_stats(q->agr);
    const struct metric rounds[] = {
        {"parlay_quote_rounds_proposed_total", METRIC_COUNTER, q->rounds_proposed},
        /* of which proposed right behind a live event's agreement (on_event_proposed) */
        {"parlay_quote_rounds_behind_event_total", METRIC_COUNTER, q->rounds_behind_event},
        {"parlay_quote_rounds_computed_total", METRIC_COUNTER, q->computed},
        {"parlay_quote_compute_errors_total", METRIC_COUNTER, q->compute_errors},
    };
    const struct metric votes[] = {
        {"parlay_quote_votes_received_total", METRIC_COUNTER, st->received + st->stale},
        {"parlay_quote_votes_refused_total", METRIC_COUNTER, st->refused},
        {"parlay_quotes_published_total", METRIC_COUNTER, q->published},
        {"parlay_quotes_stale_total", METRIC_COUNTER, q->stale},
        {"parlay_quote_rounds_given_up_total", METRIC_COUNTER, q->rounds_given_up},
        {"parlay_markets_suspensions_proposed_total", METRIC_COUNTER, q->suspensions},
        {"parlay_quote_outbox", METRIC_GAUGE, st->outbox},
        {"parlay_quote_rounds_pending", METRIC_GAUGE, st->pending},
        {"parlay_quote_fixtures_scheduled", METRIC_GAUGE, agr_sched_count(q->agr)},
        {"parlay_ratings_fits_total", METRIC_COUNTER, ratings_fits(q->ratings)},
    };
    METRICS_PUT(buf, len, cap, rounds);
    metrics_printf(buf, len, cap,
                   "# TYPE parlay_quote_compute_seconds_total counter\n"
                   "parlay_quote_compute_seconds_total %.6f\n",
                   q->compute_us_total / 1e6);
    METRICS_PUT(buf, len, cap, votes);
    metrics_by_node(buf, len, cap, "parlay_quote_dissent_total", st->dissent, AGR_MAX_NODES + 1);
}

bool quote_busy(struct node *n)
{
    struct quoter *q = n->stopping ? NULL : Q(n);
    if (!q || !q->sched_term)
        return false;
    if (q->holds)
        return true;
    for (struct agr_slot *s = agr_sched_first(q->agr); s; s = agr_sched_after(s))
        if (s->started_ms)
            return true;
    return false;
}

json_t *quote_status(struct node *n)
{
    struct quoter *q = Q(n);
    if (!q)
        return json_null();
    const struct agr_stats *st = agr_stats(q->agr);
    return json_pack("{s:o, s:i, s:i, s:i, s:I, s:I, s:I, s:b, s:i}", "dissent",
                     agr_dissent_json(q->agr), "outbox", (int)st->outbox, "rounds_pending",
                     (int)st->pending, "fixtures_scheduled", (int)agr_sched_count(q->agr),
                     "computed",
                     (json_int_t)q->computed, "published", (json_int_t)q->published,
                     "compute_errors", (json_int_t)q->compute_errors, "fault_prices",
                     n->cfg.test_fault_prices, "history_games",
                     (int)ratings_history_games(q->ratings));
}

int quote_start(struct node *n, char *err, size_t errlen)
{
    if (!n->cfg.sport[0])
        return 0; /* the accounts cluster quotes nothing */
    struct quoter *q = calloc(1, sizeof *q);
    q->node = n;
    if (quote_margins_parse(n->cfg.margins, &q->cfg, err, errlen) != 0) {
        free(q);
        return -1;
    }
    if (!(q->ratings = ratings_open(strcmp(n->cfg.sport, "football") ? "" : n->cfg.ratings_history,
                                    err, errlen))) {
        free(q);
        return -1;
    }
    if (key_load_secret(n->cfg.data_dir, q->sk) != 0) {
        snprintf(err, errlen, "key 'data_dir': cannot read node.key");
        ratings_close(q->ratings);
        free(q);
        return -1;
    }
    q->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    /* The schedule runs on the monotonic clock (the loop's is cached per iteration). */
    struct agr_env env = {.now_ms = env_now, .digest = vote_digest, .send = send_vote,
                          .propose = publish, .event = on_event};
    struct agr_options opt = {.outbox_ttl_ms = Q_VOTE_TTL_MS, .retain_ms = Q_RETAIN_MS,
                              .expire_ms = 2ull * n->cfg.quote_round_timeout_ms};
    q->agr = agree_env_new(n, &env, &opt);
    n->quoter = q;
    n->on_dangerous = on_dangerous;
    n->on_event_proposed = on_event_proposed;
    fsm_set_apply_listener(n->fsm, on_applied, n);
    uv_timer_init(n->loop, &q->timer);
    q->timer.data = n;
    uv_timer_init(n->loop, &q->soon);
    q->soon.data = n;
    uv_timer_start(&q->timer, on_tick, Q_TICK_MS, Q_TICK_MS);
    LOG_INFO("event=quoting history_games=%u fault_prices=%d", ratings_history_games(q->ratings),
             n->cfg.test_fault_prices);
    return 0;
}

void quote_stop(struct node *n)
{
    struct quoter *q = Q(n);
    if (!q)
        return;
    uv_timer_stop(&q->timer);
    uv_close((uv_handle_t *)&q->timer, NULL);
    uv_timer_stop(&q->soon);
    uv_close((uv_handle_t *)&q->soon, NULL);
    /* The rest is freed with the process (callbacks still in flight look at n->stopping). */
}
