/* The hold saga's first half (issue 12): on the sport cluster's leader, every bet committed
 * "pending_hold" gets its stake held in the accounts cluster (POST /internal/v1/holds, hold id =
 * the bet id, signed with this member's node key over wallet_request_digest; an operator
 * registers the sport cluster's keys there), and the answer is committed as CMD_BET_HOLD_DONE:
 * 201 (or hold_exists: the same hold placed before) -> accepted; any other 4xx with a wallet
 * problem code -> rejected with that code. No answer, 5xx, 429, a refused signature or an
 * unregistered cluster (problems without a code: the operator has not registered us yet):
 * retried at the next tick on the next URL of accounts_urls; the hold is idempotent by its id, so
 * a new leader simply carries on from the replicated pending bets. Transfers run on the loop's
 * curl multi (common/curl_uv.c); nothing blocks the loop.
 *
 * Settled bets (bets_unpaid) move their money the same way: a lost or won bet's hold is posted
 * with the stake and its return as payout (POST /internal/v1/holds/{id}/post), a void or pushed
 * one voided (.../void); the answer (or the wallet's "already posted/voided": the first
 * resolution) is committed as CMD_BET_PAID. Every call is idempotent by the bet id, so either
 * cluster's leader may change at any point.
 *
 * Live bets (and any bet placed with an acceptance delay) wait "pending": once the hold is held
 * and the delay is over by this leader's clock, the leader proposes CMD_BET_DECIDE (stamped with
 * its time; the state machine checks the delay again and decides). A bet rejected there has its
 * hold voided (POST /internal/v1/holds/{id}/void; "already voided" counts as done) and the void
 * is committed as CMD_BET_HOLD_VOIDED.
 *
 * In batches (the normal path): each round takes up to BATCH_ITEMS of those bets (pending
 * holds, unpaid settled bets and holds to void, taken in turn so that none starves, within
 * BATCH_BYTES of body) and sends them as ONE signed call, POST /internal/v1/hold-batches
 * (one accounts command, CMD_HOLD_BATCH, an answer per item with the single call's rules);
 * the answers that settle something are committed as ONE CMD_BET_HOLDS_DONE; an item whose
 * answer asks for a retry (5xx, 429, no code) is simply left for the next round, and a batch
 * without an answer is sent again (idempotent by hold id) to the next accounts URL. An
 * accounts cluster without the batch route (404 without results: an older version) gets the
 * single calls above for BATCH_OFF_MS, and so does one whose max_body_bytes is below
 * BATCH_BYTES (413). Exactly once holds as before: every item is
 * idempotent on both sides and the state says what is left.
 *
 * A bet settled again after a corrected result (generation >= 1, consensus/bets_resettle.c)
 * is paid by POST /internal/v1/holds/{id}/resettle {generation, stake, payout, reason}: the
 * wallet resolves a pending hold or corrects a resolved one (idempotent by the bet id and the
 * generation) and CMD_BET_PAID {how: "resettle", generation} records it; an answer for an older
 * generation is refused by apply and the bet simply stays to be paid. Postponed fixtures 48 h
 * past their original kick-off by this leader's stamped time get CMD_BET_POSTPONED (looked
 * for once a minute at most; apply checks the time again). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <secp256k1.h>

#include "common/curl_uv.h"
#include "common/log.h"
#include "consensus/agreement.h"
#include "consensus/bets.h"
#include "consensus/replica.h"
#include "consensus/wallet.h"
#include "node/agree_env.h"
#include "node/http_guard.h"
#include "node/key.h"
#include "node/node.h"

#define TICK_MS 200
#define BATCH 64           /* bets per kind and round with single calls */
#define BATCH_ITEMS 256    /* hold operations in one batch call */
#define BATCH_BYTES 49152  /* the batch call's body at most (accounts max_body_bytes: 64 KiB) */
#define BATCH_OFF_MS 60000 /* single calls this long after a 404 to the batch route */
#define POSTPONED_LOOK_MS 60000 /* how often the leader looks for postponed fixtures due */
#define SETTLE_INFLIGHT 1 /* settlement chunks in flight (3 starved quote rounds: README) */
#define SETTLE_CHUNK_BUSY 250 /* bets in a chunk proposed while a quote round is in flight */
/* A pause between chunks, per bet of the last one (50 ms after 1,000, 12 ms after 250): the
 * apply costs about 16 us a bet on each of three nodes sharing the machine, and back to back
 * the settlement kept the two cores busy (bets_bench settle 100000, quotes of the other games
 * until settled: p50 79-85 ms, p99 122-131 ms, settled in 5.6 s). With 25 us: p99 92-123 ms
 * in 5.8-6.8 s; with 50 us: README "Benchmark". */
#define SETTLE_PACE_US 50
#define PAY_WAIT_MS 2000 /* while settling, payouts wait, but a batch goes at least this often */
#define HOLD_TIMEOUT_MS ((long long)WALLET_HOLD_TIMEOUT_MAX_MS) /* the longest the wallet allows
                                                          (30 days): until settlement */
#define URLS_MAX 8
#define RESP_MAX 65536
#define AUDIT_RESP_MAX (8 << 20)

struct bets_hold {
    struct node *n;
    uv_timer_t timer;
    struct cu_multi cu;
    secp256k1_context *ctx;
    unsigned char sk[32];
    char urls[URLS_MAX][256];
    unsigned n_urls, url_i;
    unsigned busy; /* transfers and proposals in flight */
    unsigned proposing; /* proposals in flight (their callbacks may come after stop) */
    unsigned settling;  /* chunked commands in flight (apart from the hold batches) */
    unsigned postponing; /* CMD_BET_POSTPONED in flight */
    uint64_t postponed_ms; /* when postponed fixtures were last looked at (leader time) */
    bool stopping;
    int closing;   /* handles still to close */
    uint64_t single_until; /* wall ms: use single calls until then (no batch route) */
    uint64_t paid_ms;      /* monotonic ms: when the last payout batch went (PAY_WAIT_MS) */
};

/* An audit in progress (GET /admin/v1/bets/audit): pages of this cluster's holds from the
 * accounts cluster, then the comparison with every bet (bets_audit_compare). */
struct audit {
    struct http_req *r;
    json_t *holds; /* id -> hold */
    char after[BET_ID_MAX * 4];
    unsigned failures;
    unsigned url_i; /* the accounts URL of the page in flight */
    bool again;     /* the second reading (after differences in the first) */
};

struct call {
    struct cu_xfer x;
    struct bets_hold *h;
    char bet[BET_ID_MAX];
    const char *how; /* NULL: placing the hold; "post" | "void" | "resettle": settling it */
    long long generation; /* "resettle": the bet's settlement generation */
    bool reject_void; /* voiding the hold of a bet rejected after its delay */
    struct audit *audit; /* a page of holds for an audit */
    json_t *meta;        /* a batch: per item {bet, kind: place|settle|void, how?} */
    accounts_get_cb get_cb; /* another module's signed GET (bets_hold_accounts_get) */
    void *get_arg;
    unsigned url_i;      /* the accounts URL it went to */
    char *body;
    struct curl_slist *hdrs;
    struct cu_body resp;
};

static void try_free(struct bets_hold *h)
{
    if (!h->stopping || h->closing > 0 || h->proposing > 0)
        return;
    secp256k1_context_destroy(h->ctx);
    free(h);
}

static void on_tick(uv_timer_t *t);

/* A batch is over (nothing in flight): look again at once rather than at the next tick, so
 * that a queue of bets drains at the pace of the accounts cluster. */
static void kick_if_idle(struct bets_hold *h)
{
    if (h->busy == 0 && !h->stopping && !h->n->stopping)
        uv_timer_start(&h->timer, on_tick, 1, TICK_MS);
}

/* Propose @c (its payload @text, freed here; NULL proposes nothing) with @cb, counting it in
 * @count and h->proposing until @cb runs. */
static void propose(struct bets_hold *h, struct cmd *c, char *text, replica_result_cb cb,
                    unsigned *count)
{
    if (text && replica_propose(h->n->replica, c, cb, h) == REPLICA_OK) {
        (*count)++;
        h->proposing++;
    }
    free(text);
}

static void done_proposed(void *arg, int outcome, const struct fsm_result *res)
{
    struct bets_hold *h = arg;
    h->busy--;
    h->proposing--;
    if (outcome == REPLICA_OK)
        LOG_INFO("event=bet_hold_done status=%d", res ? res->status : 0);
    kick_if_idle(h);
    try_free(h);
}

static uint64_t mono_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

struct chunk_prop {
    struct bets_hold *h;
    uint64_t t0;    /* monotonic ms when it was proposed */
    unsigned limit; /* bets it may settle */
};

static void settle_proposed(void *arg, int outcome, const struct fsm_result *res)
{
    struct chunk_prop *p = arg;
    struct bets_hold *h = p->h;
    /* From the proposal to its result on this node: the chunk's commit and apply, and the
     * wait behind the chunks proposed before it (the benchmark reads it to size
     * BET_SETTLE_CHUNK and SETTLE_INFLIGHT). */
    if (outcome == REPLICA_OK && res)
        LOG_INFO("event=bet_settle_chunk ms=%llu limit=%u result=%s",
                 (unsigned long long)(mono_ms() - p->t0), p->limit, res->body ? res->body : "");
    /* The next chunk after a pause of SETTLE_PACE_US a bet of this one (50 ms after 1,000). */
    uint64_t gap = (uint64_t)SETTLE_PACE_US * p->limit / 1000;
    free(p);
    h->settling--;
    h->proposing--;
    if (!h->stopping && !h->n->stopping)
        uv_timer_start(&h->timer, on_tick, gap ? gap : 1, TICK_MS);
    try_free(h);
}

static void chunk_propose(struct bets_hold *h, enum bets_chunked kind, const char *fixture,
                          unsigned limit)
{
    struct cmd cm;
    struct chunk_prop *p = malloc(sizeof *p);
    char *text = !p                    ? NULL
                 : kind == BETS_SETTLING ? bets_cmd_settle_more(&cm, fixture, limit)
                                         : bets_cmd_chunk_more(&cm, kind, fixture);
    if (text) {
        *p = (struct chunk_prop){h, mono_ms(), limit};
        if (replica_propose(h->n->replica, &cm, settle_proposed, p) == REPLICA_OK) {
            h->settling++;
            h->proposing++;
            p = NULL;
        }
    }
    free(p);
    free(text);
}

/* The next chunks of every fixture being settled (CMD_BET_SETTLE_MORE), apart from the hold
 * batches. One at a time: with three in flight, the other games' quote rounds waited behind
 * the chunks (bets_bench settle 20000: quote p99 8 s during settlement, against 1.8 s with
 * one, for about the same settlement time), so a quote never waits behind more than one chunk.
 *
 * And a small one while a quote round is in flight, or a live event is being agreed (the
 * round follows it): each step of a round (the event's agreement, the round, the publication)
 * is a commit that waits behind whatever chunk is being applied on each node, 16 us a bet.
 * The games' first events (kick-off) were the slowest quotes of a settlement (150-200 ms):
 * no round is in flight for a game that is not live yet, so their agreement went behind
 * chunks of 1,000. Waiting for the rounds instead (at most 50 ms a
 * chunk, the code before this) left settlement most of its time waiting, with quotes at p50
 * 164-174 ms during a 100,000-bet settlement; a chunk of SETTLE_CHUNK_BUSY proposed at once
 * keeps settlement going and each wait short (README, "Benchmark"). Corrections and
 * abandonments (bets_resettle.c, bets_markets.c) go one round at a time, when nothing is in
 * flight. Returns whether a settlement is going on (payouts wait for it: on_tick). */
static bool settle_next(struct bets_hold *h)
{
    struct node *n = h->n;
    MDB_txn *txn;
    if (h->settling >= SETTLE_INFLIGHT)
        return true;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return false;
    json_t *jobs[BETS_CHUNKED_KINDS];
    for (int k = 0; k < BETS_CHUNKED_KINDS; k++)
        jobs[k] = bets_chunked(n->fsm, txn, (enum bets_chunked)k, 4);
    fsm_read_end(txn);
    bool idle = h->settling == 0;
    json_t *settling = jobs[BETS_SETTLING];
    size_t nj = json_array_size(settling);
    /* Otherwise the most: 500 instead was no better for quotes and settled in 10.7 s. */
    unsigned limit =
        nj && (quote_busy(n) || agree_event_tallying(n)) ? SETTLE_CHUNK_BUSY : BET_SETTLE_CHUNK;
    for (size_t r = 0; nj && r < SETTLE_INFLIGHT && h->settling < SETTLE_INFLIGHT; r++)
        chunk_propose(h, BETS_SETTLING, json_string_value(json_array_get(settling, r % nj)),
                      limit);
    for (int k = 0; k < BETS_CHUNKED_KINDS; k++) {
        size_t i;
        json_t *id;
        if (k != BETS_SETTLING && idle)
            json_array_foreach(jobs[k], i, id)
                chunk_propose(h, (enum bets_chunked)k, json_string_value(id), BET_SETTLE_CHUNK);
        json_decref(jobs[k]);
    }
    return nj > 0;
}

static void postponed_proposed(void *arg, int outcome, const struct fsm_result *res)
{
    struct bets_hold *h = arg;
    if (outcome == REPLICA_OK)
        LOG_INFO("event=bet_postponed_void status=%d", res ? res->status : 0);
    h->postponing--;
    h->proposing--;
    try_free(h);
}

/* Postponed fixtures 48 h past their original kick-off by this leader's time (the time it
 * stamps, which apply checks again): CMD_BET_POSTPONED voids their bets. Looked at once every
 * POSTPONED_LOOK_MS (the look reads every fixture: once a second it was 17% of the sport
 * leader's CPU under bets_bench, whose raw-write runs create thousands of fixtures; voiding a
 * minute past the 48 h does not matter); one proposal per fixture at a time. */
static void postponed_next(struct bets_hold *h)
{
    struct node *n = h->n;
    uint64_t now = replica_now_ms(n->replica);
    if (h->postponing || now < h->postponed_ms + POSTPONED_LOOK_MS)
        return;
    h->postponed_ms = now;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return;
    json_t *due = bets_postponed_due(n->fsm, txn, now, 8);
    fsm_read_end(txn);
    size_t i;
    json_t *id;
    json_array_foreach(due, i, id)
    {
        struct cmd cm;
        char *text = bets_cmd_postponed(&cm, json_string_value(id));
        propose(h, &cm, text, postponed_proposed, &h->postponing);
    }
    json_decref(due);
}

static void propose_done(struct bets_hold *h, const char *bet, bool accepted, const char *code,
                         const char *detail)
{
    struct cmd c;
    char *text = bets_cmd_hold_done(&c, bet, accepted, code, detail);
    propose(h, &c, text, done_proposed, &h->busy);
}

static void call_free(struct call *c)
{
    json_decref(c->meta);
    curl_easy_cleanup(c->x.easy);
    curl_slist_free_all(c->hdrs);
    free(c->body);
    cu_body_free(&c->resp);
    free(c);
}

static void audit_page_done(struct bets_hold *h, struct audit *a, long status, json_t *body);
static void batch_done(struct bets_hold *h, struct call *c, long status, json_t *body, int rc);

/* A call to the current accounts URL failed: move to the next one, once per failing URL (a
 * batch of calls that all failed on it moves once, not once per call: with a multiple of the
 * URL count of failures it used to come back to the same dead node every time). */
static void next_url(struct bets_hold *h, const struct call *c)
{
    if (c->url_i == h->url_i)
        h->url_i = (h->url_i + 1) % h->n_urls;
}

static void call_done(struct cu_xfer *x, CURLcode rc)
{
    struct call *c = (struct call *)x;
    struct bets_hold *h = c->h;
    if (!c->audit && !c->get_cb)
        h->busy--;
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    json_t *body = c->resp.p ? json_loads(c->resp.p, 0, NULL) : NULL;
    const char *code = json_string_value(json_object_get(body, "code"));
    const char *detail = json_string_value(json_object_get(body, "detail"));
    if (c->get_cb) {
        if (status != 200)
            next_url(h, c);
        c->get_cb(c->get_arg, h->stopping ? 0 : status, body);
    } else if (c->audit) {
        audit_page_done(h, c->audit, status, body);
    } else if (h->stopping || rc == CURLE_ABORTED_BY_CALLBACK) {
        /* nothing: the next leader carries on */
    } else if (c->meta) {
        batch_done(h, c, status, body, (int)rc);
    } else if (c->reject_void) {
        if ((status >= 200 && status < 300) ||
            (status == 409 && code && !strcmp(code, "hold_already_voided"))) {
            struct cmd cm;
            char *text = bets_cmd_hold_voided(&cm, c->bet);
            propose(h, &cm, text, done_proposed, &h->busy);
        } else {
            LOG_WARN("event=bet_void_retry bet=%s status=%ld code=%s curl=%d", c->bet, status,
                     code ? code : "", (int)rc);
            next_url(h, c);
        }
    } else if (c->how) {
        /* Settling: done, or done before (the wallet answers the first resolution again). */
        if ((status >= 200 && status < 300) ||
            (status == 409 && code &&
             (!strcmp(code, "hold_already_posted") || !strcmp(code, "hold_already_voided")))) {
            struct cmd cm;
            char *text = !strcmp(c->how, "resettle")
                             ? bets_cmd_paid_resettle(&cm, c->bet, c->generation)
                             : bets_cmd_paid(&cm, c->bet, c->how);
            propose(h, &cm, text, done_proposed, &h->busy);
        } else {
            LOG_WARN("event=bet_settle_retry bet=%s how=%s status=%ld code=%s curl=%d", c->bet,
                     c->how, status, code ? code : "", (int)rc);
            next_url(h, c);
        }
    } else if (status == 200 || status == 201 || (status == 409 && code &&
                                                  !strcmp(code, "hold_exists"))) {
        propose_done(h, c->bet, true, NULL, NULL);
    } else if (status >= 400 && status < 500 && status != 408 && status != 429 && code) {
        /* The wallet's refusal (limits_required, insufficient_funds, ...): the caller checks
         * (signature, unknown cluster) answer without a code and are retried. */
        propose_done(h, c->bet, false, code, detail);
    } else {
        LOG_WARN("event=bet_hold_retry bet=%s status=%ld curl=%d url=%s", c->bet, status,
                 (int)rc, h->urls[c->url_i]);
        next_url(h, c); /* try another accounts node next time */
    }
    json_decref(body);
    bool audit = c->audit != NULL || c->get_cb != NULL;
    call_free(c);
    if (!audit)
        kick_if_idle(h);
}

enum hold_op { OP_PLACE, OP_SETTLE, OP_VOID };

static bool send_signed(struct bets_hold *h, struct call *c, const char *method,
                        const char *path, const char *query);

/* Place @b's hold, resolve it as the settlement says, or void it (a rejected bet's). */
static void place_hold(struct bets_hold *h, json_t *b, enum hold_op op)
{
    char path[128];
    const char *id = json_string_value(json_object_get(b, "id"));
    json_t *o;
    const char *how = NULL;
    if (op == OP_VOID) {
        snprintf(path, sizeof path, "/internal/v1/holds/%s/void", id);
        o = NULL;
    } else if (op == OP_SETTLE) {
        uint64_t payout;
        how = bets_settle_how(b, &payout);
        snprintf(path, sizeof path, "/internal/v1/holds/%s/%s", id, how);
        o = !strcmp(how, "post") ? json_pack("{s:O, s:I}", "stake", json_object_get(b, "stake"),
                                             "payout", (json_int_t)payout)
                                 : NULL;
        if (!strcmp(how, "resettle")) {
            /* The fixture's result was corrected (bets_resettle.c): the wallet corrects the
             * hold's money to this generation's amounts (idempotent by bet id + generation). */
            long long gen = (long long)json_integer_value(json_object_get(b, "generation"));
            const char *r = json_string_value(json_object_get(b, "result")) ?: "";
            bool back = !strcmp(r, "void") || !strcmp(r, "push");
            char reason[96];
            snprintf(reason, sizeof reason, "bet %s re-settled (generation %lld): result corrected",
                     id, gen);
            o = json_pack("{s:I, s:I, s:I, s:s}", "generation", (json_int_t)gen, "stake",
                          back ? (json_int_t)0 : json_integer_value(json_object_get(b, "stake")),
                          "payout", (json_int_t)payout, "reason", reason);
        }
    } else {
        snprintf(path, sizeof path, "/internal/v1/holds");
        o = json_pack("{s:O, s:O, s:O, s:I}", "hold_id", json_object_get(b, "id"), "player_id",
                      json_object_get(b, "player_id"), "amount", json_object_get(b, "stake"),
                      "timeout_ms", (json_int_t)HOLD_TIMEOUT_MS);
    }
    struct call *c = calloc(1, sizeof *c);
    c->h = h;
    c->how = how;
    c->generation = (long long)json_integer_value(json_object_get(b, "generation"));
    c->reject_void = op == OP_VOID;
    snprintf(c->bet, sizeof c->bet, "%s", id);
    c->body = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : strdup("");
    json_decref(o);
    send_signed(h, c, "POST", path, "");
}

static uint64_t wall_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* The answers of a batch call: one CMD_BET_HOLDS_DONE with every item that is settled (held or
 * refused, paid, voided); the others are left for the next round. */
static void batch_done(struct bets_hold *h, struct call *c, long status, json_t *body, int rc)
{
    json_t *results = json_object_get(body, "results");
    size_t n = json_array_size(c->meta);
    if ((status == 404 || status == 413) && !results) {
        /* No batch route (an older accounts cluster), or a body over its max_body_bytes. */
        LOG_WARN("event=bet_batch_unsupported status=%ld url=%s: single calls for %d s", status,
                 h->urls[c->url_i], BATCH_OFF_MS / 1000);
        h->single_until = wall_ms() + BATCH_OFF_MS;
        return;
    }
    if (status != 200 || !json_is_array(results) || json_array_size(results) != n) {
        LOG_WARN("event=bet_batch_retry items=%zu status=%ld curl=%d url=%s", n, status, rc,
                 h->urls[c->url_i]);
        next_url(h, c);
        return;
    }
    json_t *done = json_array(), *m;
    size_t i, retry = 0;
    json_array_foreach(c->meta, i, m)
    {
        json_t *r = json_array_get(results, i), *rb = json_object_get(r, "body");
        long st = (long)json_integer_value(json_object_get(r, "status"));
        const char *kind = json_string_value(json_object_get(m, "kind")),
                   *bet = json_string_value(json_object_get(m, "bet")),
                   *code = json_string_value(json_object_get(rb, "code")),
                   *detail = json_string_value(json_object_get(rb, "detail"));
        bool ok = st >= 200 && st < 300;
        json_t *it = NULL;
        if (!strcmp(kind, "place")) {
            if (ok || (st == 409 && code && !strcmp(code, "hold_exists")))
                it = json_pack("{s:s, s:s, s:b}", "op", "hold", "bet_id", bet, "accepted", 1);
            else if (st >= 400 && st < 500 && st != 408 && st != 429 && code) {
                it = json_pack("{s:s, s:s, s:b, s:s}", "op", "hold", "bet_id", bet, "accepted", 0,
                               "code", code);
                if (detail && strlen(detail) <= 512)
                    json_object_set_new(it, "detail", json_string(detail));
            }
        } else if (!strcmp(kind, "settle")) {
            if (ok || (st == 409 && code &&
                       (!strcmp(code, "hold_already_posted") ||
                        !strcmp(code, "hold_already_voided"))))
                it = json_pack("{s:s, s:s, s:O}", "op", "paid", "bet_id", bet, "how",
                               json_object_get(m, "how"));
        } else if (ok || (st == 409 && code && !strcmp(code, "hold_already_voided"))) {
            it = json_pack("{s:s, s:s}", "op", "voided", "bet_id", bet);
        }
        if (it) {
            json_array_append_new(done, it);
        } else {
            retry++;
            LOG_WARN("event=bet_batch_item_retry bet=%s kind=%s status=%ld code=%s", bet, kind,
                     st, code ? code : "");
        }
    }
    if (json_array_size(done)) {
        struct cmd cm;
        char *text = bets_cmd_holds_done(&cm, done);
        propose(h, &cm, text, done_proposed, &h->busy);
    }
    if (retry)
        next_url(h, c);
    json_decref(done);
}

/* One batch call for the bets of @lists (pending holds, unpaid settled bets, holds to void:
 * bet records), taken in turn, at most BATCH_ITEMS and BATCH_BYTES. */
static void send_batch(struct bets_hold *h, json_t *lists[3])
{
    static const char *const kinds[3] = {"place", "settle", "void"};
    json_t *items = json_array(), *meta = json_array();
    size_t next[3] = {0, 0, 0}, bytes = 16;
    bool more = true, full = false;
    while (more && !full) {
        more = false;
        for (int k = 0; k < 3 && !full; k++) {
            json_t *b = json_array_get(lists[k], next[k]);
            if (!b)
                continue;
            json_t *id = json_object_get(b, "id"), *it, *mt;
            if (k == 0) {
                it = json_pack("{s:s, s:O, s:O, s:O, s:I}", "op", "place", "hold_id", id,
                               "player_id", json_object_get(b, "player_id"), "amount",
                               json_object_get(b, "stake"), "timeout_ms",
                               (json_int_t)HOLD_TIMEOUT_MS);
                mt = json_pack("{s:O, s:s}", "bet", id, "kind", kinds[k]);
            } else if (k == 1) {
                uint64_t payout;
                const char *how = bets_settle_how(b, &payout);
                if (strcmp(how, "post") && strcmp(how, "void")) { /* resettle: its own call */
                    next[k]++;
                    more = true;
                    continue;
                }
                it = !strcmp(how, "post")
                         ? json_pack("{s:s, s:O, s:O, s:I}", "op", "post", "hold_id", id, "stake",
                                     json_object_get(b, "stake"), "payout", (json_int_t)payout)
                         : json_pack("{s:s, s:O}", "op", "void", "hold_id", id);
                mt = json_pack("{s:O, s:s, s:s}", "bet", id, "kind", kinds[k], "how", how);
            } else {
                it = json_pack("{s:s, s:O}", "op", "void", "hold_id", id);
                mt = json_pack("{s:O, s:s}", "bet", id, "kind", kinds[k]);
            }
            char *t = json_dumps(it, JSON_COMPACT | JSON_SORT_KEYS);
            size_t l = t ? strlen(t) + 1 : BATCH_BYTES;
            free(t);
            if (bytes + l > BATCH_BYTES) {
                full = true;
                json_decref(it);
                json_decref(mt);
                break;
            }
            bytes += l;
            json_array_append_new(items, it);
            json_array_append_new(meta, mt);
            next[k]++;
            more = true;
            full = json_array_size(items) >= BATCH_ITEMS;
        }
    }
    if (!json_array_size(items)) {
        json_decref(items);
        json_decref(meta);
        return;
    }
    struct call *c = calloc(1, sizeof *c);
    c->h = h;
    c->meta = meta;
    json_t *o = json_pack("{s:o}", "items", items);
    c->body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    snprintf(c->bet, sizeof c->bet, "batch");
    send_signed(h, c, "POST", "/internal/v1/hold-batches", "");
}

/* Sign @c's request (@method @path, c->body) as this member and send it (@query after the
 * path, not signed); frees @c if it cannot. */
static bool send_signed(struct bets_hold *h, struct call *c, const char *method,
                        const char *path, const char *query)
{
    struct node *n = h->n;
    char ts[32], sig[AGR_SIG_HEX], line[200], url[600];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    uint8_t d[32];
    if (c->body)
        wallet_request_digest(n->cfg.cluster, ts, method, path, c->body, strlen(c->body), d);
    if (!c->body || !agree_sign(h->ctx, h->sk, d, sig) || !(c->x.easy = curl_easy_init())) {
        call_free(c);
        return false;
    }
    c->hdrs = curl_slist_append(NULL, "content-type: application/json");
    snprintf(line, sizeof line, "parlay-cluster: %s", n->cfg.cluster);
    c->hdrs = curl_slist_append(c->hdrs, line);
    snprintf(line, sizeof line, "parlay-timestamp: %s", ts);
    c->hdrs = curl_slist_append(c->hdrs, line);
    snprintf(line, sizeof line, "parlay-signature: %s", sig);
    c->hdrs = curl_slist_append(c->hdrs, line);
    c->url_i = h->url_i;
    if (c->audit)
        c->audit->url_i = h->url_i;
    snprintf(url, sizeof url, "%s%s%s", h->urls[h->url_i], path, query);
    CURL *e = c->x.easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    node_curl_tls(h->n, e); /* https:// accounts nodes: the members' CA and certificate */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs);
    if (!strcmp(method, "POST"))
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
    /* An audit page lists up to AUDIT_PAGE holds with their transfers (about 300 bytes a
     * hold, more once settled): far over a hold call's answer. +1: the NUL. */
    c->resp.max = (c->audit || c->meta ? AUDIT_RESP_MAX : RESP_MAX) + 1;
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, cu_body_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &c->resp);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    c->x.done = call_done;
    if (!c->audit && !c->get_cb)
        h->busy++;
    cu_add(&h->cu, &c->x);
    return true;
}

/* ---- the audit ------------------------------------------------------------------------ */

#define AUDIT_PAGE 500
#define AUDIT_TRIES 6

static void audit_fetch(struct bets_hold *h, struct audit *a)
{
    struct call *c = calloc(1, sizeof *c);
    if (!c) {
        http_problem(a->r, 503, "Busy", "out of memory");
        json_decref(a->holds);
        free(a);
        return;
    }
    c->h = h;
    c->audit = a;
    c->body = strdup("");
    char query[BET_ID_MAX * 4 + 80];
    /* linearizable: the accounts leader answers, so a hold this cluster has posted or voided
     * is never listed as still pending by a lagging accounts node */
    snprintf(query, sizeof query, "?limit=%d&consistency=linearizable%s%s", AUDIT_PAGE,
             a->after[0] ? "&after=" : "", a->after);
    if (!send_signed(h, c, "GET", "/internal/v1/holds", query)) {
        http_problem(a->r, 503, "Unavailable", "the audit request could not be prepared");
        json_decref(a->holds);
        free(a);
    }
}

static void audit_page_done(struct bets_hold *h, struct audit *a, long status, json_t *body)
{
    if (h->stopping) {
        http_problem(a->r, 503, "Stopping", "this node is stopping");
        goto done;
    }
    if (status != 200 || !json_is_array(json_object_get(body, "items"))) {
        if (a->url_i == h->url_i)
            h->url_i = (h->url_i + 1) % h->n_urls;
        if (++a->failures < AUDIT_TRIES) {
            audit_fetch(h, a);
            return;
        }
        http_guard_problem(a->r, 502, "Accounts cluster unavailable", "accounts_unavailable",
                           "the accounts cluster did not list this cluster's holds (last "
                           "status %ld after %u tries)",
                           status, a->failures);
        goto done;
    }
    size_t i;
    json_t *hold;
    json_array_foreach(json_object_get(body, "items"), i, hold)
    {
        const char *id = json_string_value(json_object_get(hold, "id"));
        if (id)
            json_object_set(a->holds, id, hold);
    }
    const char *next = json_string_value(json_object_get(body, "next"));
    if (next) {
        snprintf(a->after, sizeof a->after, "%s", next);
        audit_fetch(h, a);
        return;
    }
    /* Every hold is in: compare with every bet as this node has applied them. */
    struct node *n = h->n;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0) {
        http_problem(a->r, 503, "Unavailable", "the state could not be read");
        goto done;
    }
    json_t *bets = json_array();
    char after[BET_ID_MAX] = "";
    for (;;) {
        json_t *page = bets_scan(n->fsm, txn, after, 1000);
        size_t cnt = json_array_size(page);
        if (cnt)
            snprintf(after, sizeof after, "%s",
                     json_string_value(json_object_get(json_array_get(page, cnt - 1), "id")));
        json_array_extend(bets, page);
        json_decref(page);
        if (cnt < 1000)
            break;
    }
    uint64_t applied = fsm_last_applied(n->fsm);
    fsm_read_end(txn);
    json_t *rep = bets_audit_compare(bets, a->holds);
    json_decref(bets);
    /* The holds come from one accounts node's local state, read before the bets: a bet
     * accepted meanwhile, or a hold that node has not applied yet, shows as a difference that
     * is gone a moment later (seen with thousands of bets in flight). Read both once more
     * before reporting differences; those that stay are reported. */
    if (!a->again && json_integer_value(json_object_get(rep, "difference_count")) > 0) {
        json_decref(rep);
        json_object_clear(a->holds);
        a->after[0] = 0;
        a->failures = 0;
        a->again = true;
        audit_fetch(h, a);
        return;
    }
    json_object_set_new(rep, "node", json_integer((json_int_t)n->cfg.node_id));
    json_object_set_new(rep, "applied_index", json_integer((json_int_t)applied));
    http_reply_json(a->r, 200, rep);
done:
    json_decref(a->holds);
    free(a);
}

int bets_audit(struct node *n, struct http_req *r)
{
    struct bets_hold *h = n->bets_hold;
    if (!h)
        return -1;
    struct audit *a = calloc(1, sizeof *a);
    if (!a) {
        http_problem(r, 503, "Busy", "out of memory");
        return 0;
    }
    a->r = r;
    a->holds = json_object();
    audit_fetch(h, a);
    return 0;
}

/* The bets named in @ids (released here) that exist, in the same order. */
static json_t *bets_named(struct node *n, MDB_txn *txn, json_t *ids)
{
    json_t *out = json_array(), *id;
    size_t i;
    json_array_foreach(ids, i, id)
    {
        json_t *b = bets_get(n->fsm, txn, json_string_value(id));
        if (b)
            json_array_append_new(out, b);
    }
    json_decref(ids);
    return out;
}

int bets_hold_accounts_get(struct node *n, const char *path, const char *query,
                           accounts_get_cb cb, void *arg)
{
    struct bets_hold *h = n->bets_hold;
    struct call *c = h && !h->stopping ? calloc(1, sizeof *c) : NULL;
    if (!c)
        return -1;
    c->h = h;
    c->get_cb = cb;
    c->get_arg = arg;
    c->body = strdup("");
    snprintf(c->bet, sizeof c->bet, "get");
    return send_signed(h, c, "GET", path, query ? query : "") ? 0 : -1;
}

static void on_tick(uv_timer_t *t)
{
    struct bets_hold *h = t->data;
    struct node *n = h->n;
    if (h->stopping || n->stopping || !replica_is_leader(n->replica))
        return;
    bool settling = settle_next(h);
    postponed_next(h);
    /* One batch at a time: its answers are committed before the next looks again. */
    if (h->busy)
        return;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return;
    uint64_t now_ms = wall_ms();
    bool batch = now_ms >= h->single_until;
    unsigned lim = batch ? BATCH_ITEMS : BATCH;
    json_t *bets = bets_named(n, txn, bets_pending_holds(n->fsm, txn, lim));
    /* While a settlement goes on, its payouts wait (a batch every PAY_WAIT_MS at most): paying
     * as it settled kept the machine's two cores busy with the accounts cluster's posts, and
     * the live games' quotes waited for CPU (bets_bench settle: p50 123-125 ms until settled,
     * 78-100 ms with payouts after). The money moves seconds later; nothing waits on it. */
    uint64_t mono = mono_ms();
    bool pay = !settling || mono - h->paid_ms >= PAY_WAIT_MS;
    json_t *settled = pay ? bets_named(n, txn, bets_unpaid(n->fsm, txn, lim)) : json_array();
    if (pay && json_array_size(settled))
        h->paid_ms = mono;
    json_t *voids = bets_named(n, txn, bets_voids(n->fsm, txn, lim));
    json_t *dids = bets_delayed(n->fsm, txn, BATCH), *decide = json_array();
    size_t i;
    json_t *id;
    json_array_foreach(dids, i, id)
    {
        json_t *b = bets_get(n->fsm, txn, json_string_value(id));
        if (b && !strcmp(json_string_value(json_object_get(b, "hold")) ?: "", "held") &&
            (uint64_t)json_integer_value(json_object_get(b, "decide_after_ms")) <= now_ms)
            json_array_append(decide, json_object_get(b, "id"));
        json_decref(b);
    }
    fsm_read_end(txn);
    json_t *b;
    if (batch) {
        /* A re-settled bet (generation >= 1) is paid by its own resettle call: the batch route
         * only places, posts and voids. */
        json_t *plain = json_array();
        json_array_foreach(settled, i, b)
        {
            uint64_t payout;
            if (!strcmp(bets_settle_how(b, &payout), "resettle"))
                place_hold(h, b, OP_SETTLE);
            else
                json_array_append(plain, b);
        }
        json_t *lists[3] = {bets, plain, voids};
        send_batch(h, lists);
        json_decref(plain);
    } else {
        json_array_foreach(bets, i, b) place_hold(h, b, OP_PLACE);
        json_array_foreach(settled, i, b) place_hold(h, b, OP_SETTLE);
        json_array_foreach(voids, i, b) place_hold(h, b, OP_VOID);
    }
    json_array_foreach(decide, i, id)
    {
        struct cmd cm;
        char *text = bets_cmd_decide(&cm, json_string_value(id));
        propose(h, &cm, text, done_proposed, &h->busy);
    }
    json_decref(voids);
    json_decref(decide);
    json_decref(dids);
    json_decref(bets);
    json_decref(settled);
}

int bets_hold_start(struct node *n, char *err, size_t errlen)
{
    if (!n->cfg.sport[0] || !n->cfg.accounts_urls[0])
        return 0;
    struct bets_hold *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h->n = n;
    char list[sizeof n->cfg.accounts_urls], *save = NULL;
    snprintf(list, sizeof list, "%s", n->cfg.accounts_urls);
    for (char *u = strtok_r(list, ", ", &save); u && h->n_urls < URLS_MAX;
         u = strtok_r(NULL, ", ", &save)) {
        size_t l = strlen(u);
        while (l && u[l - 1] == '/')
            u[--l] = 0;
        snprintf(h->urls[h->n_urls++], sizeof h->urls[0], "%s", u);
    }
    h->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!h->n_urls || !h->ctx || key_load_secret(n->cfg.data_dir, h->sk) != 0 ||
        cu_init(&h->cu, n->loop) != 0) {
        snprintf(err, errlen, "bet holds: %s",
                 h->n_urls ? "the node key or the HTTP client could not be set up"
                           : "key 'accounts_urls' names no URL");
        if (h->ctx)
            secp256k1_context_destroy(h->ctx);
        free(h);
        return -1;
    }
    uv_timer_init(n->loop, &h->timer);
    h->timer.data = h;
    uv_timer_start(&h->timer, on_tick, TICK_MS, TICK_MS);
    n->bets_hold = h;
    return 0;
}

static void maybe_free(struct bets_hold *h)
{
    h->closing--;
    try_free(h);
}

static void timer_closed(uv_handle_t *t)
{
    maybe_free(t->data);
}

static void cu_closed(struct cu_multi *m)
{
    maybe_free((struct bets_hold *)((char *)m - offsetof(struct bets_hold, cu)));
}

void bets_hold_stop(struct node *n)
{
    struct bets_hold *h = n->bets_hold;
    if (!h)
        return;
    n->bets_hold = NULL;
    h->stopping = true;
    h->closing = 2;
    uv_timer_stop(&h->timer);
    uv_close((uv_handle_t *)&h->timer, timer_closed);
    cu_close(&h->cu, cu_closed);
}
