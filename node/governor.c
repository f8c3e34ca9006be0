/* The return-to-player governor on a sport node (issue 17; the rule is
 * consensus/governor_rule.c, the command and its state consensus/governor.c).
 *
 * Happy path: every `period_ms`, the leader asks the accounts cluster for the licence's TRJ of
 * the year its clock is in (GET /internal/v1/trj?year=, signed as this member like the hold
 * calls, node/bets_hold.c, which also moves to the next accounts URL after a failure), runs the
 * rule on the reading with the replicated adjustment and window, and when the rule moves the
 * adjustment proposes CMD_GOVERNOR_ADJUST wrapped in CMD_ADMIN (actor "governor", so the audit
 * trail shows it beside the traders' changes). Apply reruns the rule, so the adjustment every
 * node prices with is derived from the log alone. node/quote.c re-prices every fixture at once
 * when it moves.
 *
 * Failure modes: the accounts cluster unreachable or refusing (a sport cluster not registered
 * there answers 403): nothing is proposed, the last look says why, the next period tries again;
 * a follower does nothing; leadership lost mid-proposal: the next leader looks again at its own
 * next period. Turning the governor off stops the looks, not the adjustment: an operator puts it
 * back to 0 with POST /admin/v1/governor/reset {reason} (CMD_GOVERNOR_RESET, audited).
 *
 *   GET  /admin/v1/governor        (admin "bets", any node) {enabled, config, state (with its
 *                                   history), look (this node's last look, leader only)}
 *   POST /admin/v1/governor/reset  {reason} (admin "bets", Idempotency-Key, on the leader)
 *   /metrics: parlay_governor_enabled, _margin_bp, _changes_total (every node), and
 *             parlay_governor_projected_trj_bp (the leader's last look)
 *
 * Configuration ("governor", an object; every member optional): enabled (false), target_bp
 * (8400), band_bp (50), step_bp (25), max_bp (1000), min_stakes (cents, 1000000), period_ms
 * (3600000, at least 100): the season simulation's settings (tests/bench/governor_season.c),
 * looking hourly; the window's min_stakes paces the moves (about daily at its volume). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "consensus/governor.h"
#include "consensus/operators.h"
#include "node/http_guard.h"
#include "node/node.h"
#include "node/routes.h"

struct governor {
    struct node *n;
    uv_timer_t timer;
    bool enabled;
    uint64_t period_ms;
    gov_cfg cfg;
    bool busy;      /* a reading or a proposal in flight */
    bool timer_open;
    bool stopping;
    json_t *look;   /* the leader's last look: {at, year, status, reading?, rule?, proposed?} */
};

static void look_set(struct governor *g, json_t *look)
{
    json_decref(g->look);
    g->look = look;
}

/* Once stopped, the last of the timer and the call in flight frees it. */
static bool stopped(struct governor *g)
{
    if (!g->stopping)
        return false;
    if (!g->busy && !g->timer_open)
        free(g);
    return true;
}

static void proposed(void *arg, int outcome, const struct fsm_result *res)
{
    struct governor *g = arg;
    g->busy = false;
    if (stopped(g))
        return;
    json_object_set_new(g->look, "proposal_status", json_integer(res ? res->status : 0));
    LOG_INFO("event=governor_adjust outcome=%d status=%d body=%s", outcome,
             res ? res->status : 0, res && res->body ? res->body : "");
}

/* CMD_GOVERNOR_ADJUST for @year's reading, wrapped in CMD_ADMIN (the audit trail). */
static bool propose(struct governor *g, int year, int64_t stakes, int64_t payouts)
{
    struct cmd inner, c = {.type = CMD_ADMIN};
    char *text = governor_cmd_adjust(&inner, year, stakes, payouts, &g->cfg), id[48];
    snprintf(id, sizeof id, "node-%llu", (unsigned long long)g->n->cfg.node_id);
    static const char route[] = "/admin/v1/governor";
    size_t len = 0;
    char *wrapped = text ? operators_admin_wrap("governor", id, "POST", 4, route,
                                                sizeof route - 1, CMD_GOVERNOR_ADJUST, text,
                                                strlen(text), &len)
                         : NULL;
    free(text);
    if (!wrapped)
        return false;
    c.payload = wrapped;
    c.payload_len = len;
    bool ok = replica_propose(g->n->replica, &c, proposed, g) == REPLICA_OK;
    free(wrapped);
    return ok;
}

static void on_reading(void *arg, long status, json_t *body)
{
    struct governor *g = arg;
    g->busy = false;
    if (stopped(g))
        return;
    struct node *n = g->n;
    json_t *look = g->look;
    json_object_set_new(look, "status", json_integer(status));
    json_t *st = json_object_get(body, "stakes"), *po = json_object_get(body, "payouts");
    int year = (int)json_integer_value(json_object_get(look, "year"));
    if (status != 200 || !json_is_integer(st) || !json_is_integer(po) ||
        json_integer_value(json_object_get(body, "year")) != year) {
        json_object_set_new(look, "error", json_string(json_string_value(json_object_get(
                                               body, "detail")) ?: "no TRJ reading"));
        LOG_WARN("event=governor_no_reading status=%ld", status);
        return;
    }
    int64_t stakes = json_integer_value(st), payouts = json_integer_value(po);
    json_object_set_new(look, "reading", json_pack("{s:I, s:I}", "stakes", (json_int_t)stakes,
                                                   "payouts", (json_int_t)payouts));
    if (!replica_is_leader(n->replica))
        return;
    MDB_txn *txn;
    gov_in in;
    gov_out out;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return;
    int rv = governor_inputs(n->fsm, txn, year, stakes, payouts, replica_now_ms(n->replica),
                             &in);
    fsm_read_end(txn);
    if (rv != 0 || in.current_bp > g->cfg.max_bp || gov_next(&g->cfg, &in, &out) != 0) {
        json_object_set_new(look, "error", json_string("the year turned, or the adjustment "
                                                       "in force is above max_bp"));
        if (rv == 0 && in.current_bp > g->cfg.max_bp) /* apply brings it down step by step */
            g->busy = propose(g, year, stakes, payouts);
        return;
    }
    json_object_set_new(look, "rule",
                        json_pack("{s:i, s:i, s:s, s:i, s:i, s:i, s:i}", "current_bp",
                                  in.current_bp, "next_bp", out.next_bp, "why",
                                  gov_why_name(out.why), "ytd_bp", out.ytd_bp, "recent_bp",
                                  out.recent_bp, "projected_bp", out.projected_bp, "needed_bp",
                                  out.needed_bp));
    if (out.next_bp != in.current_bp) {
        g->busy = propose(g, year, stakes, payouts);
        json_object_set_new(look, "proposed", json_boolean(g->busy));
    }
}

static void on_tick(uv_timer_t *t)
{
    struct governor *g = t->data;
    struct node *n = g->n;
    if (g->busy || n->stopping || !replica_is_leader(n->replica))
        return;
    uint64_t now = replica_now_ms(n->replica);
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char at[32], query[32];
    fsm_format_time(now, at);
    snprintf(query, sizeof query, "?year=%d", tm.tm_year + 1900);
    look_set(g, json_pack("{s:s, s:i}", "at", at, "year", tm.tm_year + 1900));
    g->busy = bets_hold_accounts_get(n, "/internal/v1/trj", query, on_reading, g) == 0;
    if (!g->busy)
        json_object_set_new(g->look, "error", json_string("no accounts_urls to read from"));
}

/* ---- configuration ---------------------------------------------------------------------- */

static int parse_cfg(struct governor *g, const char *text, char *err, size_t errlen)
{
    g->cfg = (gov_cfg){.target_bp = 8400, .band_bp = 50, .step_bp = 25, .max_bp = 1000,
                       .min_stakes = 1000000};
    g->period_ms = 3600000;
    if (!text[0])
        return 0;
    json_t *o = json_loads(text, 0, NULL);
    static const char *const keys[] = {"enabled", "target_bp", "band_bp",   "step_bp",
                                       "max_bp",  "min_stakes", "period_ms", NULL};
    int64_t *vals[] = {NULL, NULL, NULL, NULL, NULL, &g->cfg.min_stakes, NULL};
    int64_t ints[7] = {0, g->cfg.target_bp, g->cfg.band_bp, g->cfg.step_bp, g->cfg.max_bp, 0,
                       (int64_t)g->period_ms};
    const char *k;
    json_t *v;
    int rv = 0;
    json_object_foreach(o, k, v)
    {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k))
            i++;
        if (!keys[i] || (i == 0 ? !json_is_boolean(v)
                                : !json_is_integer(v) || json_integer_value(v) < 0 ||
                                      json_integer_value(v) > (i == 5 || i == 6 ? INT64_MAX
                                                                                : 100000))) {
            snprintf(err, errlen, "key 'governor': member '%s': enabled is true or false; "
                     "target_bp, band_bp, step_bp, max_bp, min_stakes, period_ms are integers "
                     ">= 0; there are no other members", k);
            rv = -1;
            break;
        }
        if (i == 0)
            g->enabled = json_is_true(v);
        else if (vals[i])
            *vals[i] = json_integer_value(v);
        else
            ints[i] = json_integer_value(v);
    }
    json_decref(o);
    if (rv)
        return rv;
    g->cfg.target_bp = (int)ints[1];
    g->cfg.band_bp = (int)ints[2];
    g->cfg.step_bp = (int)ints[3];
    g->cfg.max_bp = (int)ints[4];
    g->period_ms = (uint64_t)ints[6];
    if (gov_cfg_check(&g->cfg) != 0 ||
        ints[6] < 100 || ints[6] > 366LL * 86400000) {
        snprintf(err, errlen, "key 'governor': target_bp %d..%d, band_bp 0..1000, step_bp 1..%d, "
                 "max_bp 0..%d, min_stakes >= 0, period_ms 100..31622400000", GOV_TARGET_MIN_BP,
                 GOV_TARGET_MAX_BP, GOV_STEP_MAX_BP, GOV_MAX_BP);
        return -1;
    }
    return 0;
}

int governor_start(struct node *n, char *err, size_t errlen)
{
    if (!n->cfg.sport[0])
        return 0;
    struct governor *g = calloc(1, sizeof *g);
    if (!g || parse_cfg(g, n->cfg.governor, err, errlen) != 0) {
        free(g);
        return -1;
    }
    g->n = n;
    n->governor = g;
    if (!g->enabled)
        return 0;
    if (!n->cfg.accounts_urls[0]) {
        snprintf(err, errlen, "key 'governor': enabled needs 'accounts_urls' (the TRJ is read "
                 "from the accounts cluster)");
        n->governor = NULL;
        free(g);
        return -1;
    }
    uv_timer_init(n->loop, &g->timer);
    g->timer.data = g;
    g->timer_open = true;
    uv_timer_start(&g->timer, on_tick, g->period_ms, g->period_ms);
    return 0;
}

static void timer_closed(uv_handle_t *h)
{
    struct governor *g = h->data;
    g->timer_open = false;
    stopped(g);
}

void governor_stop(struct node *n)
{
    struct governor *g = n->governor;
    if (!g)
        return;
    n->governor = NULL;
    g->stopping = true;
    json_decref(g->look);
    g->look = NULL;
    if (g->timer_open) {
        uv_timer_stop(&g->timer);
        uv_close((uv_handle_t *)&g->timer, timer_closed);
    } else {
        stopped(g);
    }
}

void governor_metrics(struct node *n, char **buf, size_t *len, size_t *cap)
{
    struct governor *g = n->governor;
    MDB_txn *txn;
    if (!g || fsm_read_begin(n->fsm, &txn) != 0)
        return;
    json_t *st = governor_get(n->fsm, txn);
    fsm_read_end(txn);
    json_t *rule = json_object_get(g->look, "rule");
    metrics_printf(buf, len, cap,
                   "# TYPE parlay_governor_enabled gauge\nparlay_governor_enabled %d\n"
                   "# TYPE parlay_governor_margin_bp gauge\nparlay_governor_margin_bp %lld\n"
                   "# TYPE parlay_governor_changes_total counter\n"
                   "parlay_governor_changes_total %lld\n",
                   g->enabled ? 1 : 0, (long long)json_integer_value(json_object_get(st, "margin_bp")),
                   (long long)json_integer_value(json_object_get(st, "changes")));
    if (rule)
        metrics_printf(buf, len, cap,
                       "# TYPE parlay_governor_projected_trj_bp gauge\n"
                       "parlay_governor_projected_trj_bp %lld\n",
                       (long long)json_integer_value(json_object_get(rule, "projected_bp")));
    json_decref(st);
}

/* ---- routes ------------------------------------------------------------------------------ */

static json_t *read_status(struct http_req *r, MDB_txn *txn, const void *arg)
{
    const struct governor *g = arg;
    json_t *cfg = governor_cfg_json(&g->cfg);
    json_object_set_new(cfg, "period_ms", json_integer((json_int_t)g->period_ms));
    return json_pack("{s:b, s:o, s:o, s:O?, s:I}", "enabled", g->enabled, "config", cfg,
                     "state", governor_get(r->node->fsm, txn), "look", g->look, "node",
                     (json_int_t)r->node->cfg.node_id);
}

static void reset(struct http_req *r)
{
    char idem[256];
    json_t *b = routes_admin_write(r, NULL, NULL, idem);
    if (!b)
        return;
    const char *reason = json_string_value(json_object_get(b, "reason"));
    if (!reason || json_object_size(b) != 1 || strlen(reason) < 3 || strlen(reason) > 500) {
        http_guard_problem(r, 422, "Invalid governor command", "invalid_governor_reset",
                           "need {reason: 3 to 500 bytes of text} and nothing else");
        json_decref(b);
        return;
    }
    char by[200];
    routes_actor(r, by, sizeof by);
    struct cmd c;
    routes_submit_body(r, CMD_GOVERNOR_RESET, governor_cmd_reset(&c, reason, by), b,
                       "governor-reset", idem, "governor reset");
}

int routes_governor(struct http_req *r, const char *method, const char *path)
{
    struct governor *g = r->node->governor;
    if (!g || strncmp(path, "/admin/v1/governor", 18) != 0)
        return -1;
    if (!strcmp(path + 18, "")) {
        if (routes_require_scope(r, "bets") && routes_method(r, method, "GET", "use GET"))
            routes_reply_read(r, read_status, g);
    } else if (!strcmp(path + 18, "/reset")) {
        if (routes_require_scope(r, "bets") &&
            routes_method(r, method, "POST", "use POST to put the adjustment back to 0"))
            reset(r);
    } else {
        return -1;
    }
    return 0;
}
