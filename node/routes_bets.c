/* Bets on a sport node (issue 12, first slice): the player's token is verified offline
 * (node/auth.c), the bet goes through the one write path (node/write.c) as CMD_BET_PLACE and
 * every check happens in the state machine at the committing index (consensus/bets.c).
 *
 *   POST /v1/bets        {stake, policy, tolerance?, legs: [{fixture, market, line?, outcome,
 *                         price, version}]} with Authorization: Bearer <access token> and an
 *                         Idempotency-Key (per player: the same key on any node places one bet)
 *                         -> 201 the bet ("pending_hold") or the state machine's problem+json
 *   GET  /v1/bets        the player's bets, newest first; ?status=open|settled, ?limit=1..100,
 *                         ?before=<next of the previous page>
 *   GET  /v1/bets/{id}   one of the player's bets (another player's is 404)
 *   GET  /v1/stream/bets server-sent events of the player's own bets (node/stream.c): every
 *                         status change (placed, held, accepted, rejected, hold_voided,
 *                         settled, paid) with the bet record; Last-Event-ID / ?after= resume
 *   GET|POST /admin/v1/bets/limits  (admin token; POST with an Idempotency-Key, proposed by the
 *                         leader) the betting limits: {min_stake?, max_stake?, max_payout?,
 *                         outcome_cap?, fixture_cap?, live?}
 *   GET|POST /admin/v1/bets/switches  (admin; POST on the leader with an Idempotency-Key)
 *                         {scope: all|live|fixture, fixture?, open: bool}: betting switches;
 *                         a bet refused by one: 409 betting_closed
 *   GET  /admin/v1/bets?player=ID|fixture=ID[&limit=]  (admin) a player's or a fixture's bets
 *   GET  /admin/v1/fixtures/{id}/liability  (admin) exposure per market/line/outcome and total
 *   POST /admin/v1/bets/{id}/void {reason}  (admin, Idempotency-Key; leader) voids an accepted
 *                         bet with a kept reason (CMD_BET_VOID): settled void, its hold voided
 *   POST /admin/v1/fixtures/{id}/resettle {home, away, reason}  (admin, Idempotency-Key;
 *                         leader) corrects a finished fixture's result and re-settles its bets
 *                         (CMD_BET_RESETTLE; the holds are corrected by the saga); GET: the
 *                         corrections so far
 *   POST /admin/v1/fixtures/{id}/abandon {reason}  (admin, Idempotency-Key; leader) a live
 *                         fixture abandoned: decided markets stand, the rest void
 *                         (CMD_BET_ABANDONED)
 *   GET  /admin/v1/bets/audit  (admin) reconciles every bet with the accounts cluster's holds
 *                         and transfers (node/bets_hold.c, bets_audit_compare): {ok, bets,
 *                         holds, in_progress, difference_count, differences[]}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/bets.h"
#include "node/accounts_common.h"
#include "node/auth.h"
#include "node/http_guard.h"
#include "node/query.h"
#include "node/routes.h"
#include "node/write.h"

static void place(struct http_req *r)
{
    json_t *claims = auth_player(r);
    if (!claims)
        return;
    const char *player = json_string_value(json_object_get(claims, "sub"));
    char idem[256];
    json_t *body = NULL;
    if (!player) {
        http_problem(r, 401, "Unauthorized", "the access token names no player");
        goto out;
    }
    if (!acc_player_idem_key(r, player, idem) || !(body = routes_body(r)))
        goto out;
    static const char *const known[] = {"stake", "policy", "tolerance", "legs"};
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof *known; i++)
            ok = ok || !strcmp(k, known[i]);
        if (!ok) {
            http_problem(r, 422, "Invalid bet",
                         "unknown field '%s' (stake, policy, tolerance, legs)", k);
            goto out;
        }
    }
    json_t *stake = json_object_get(body, "stake"), *tol = json_object_get(body, "tolerance");
    const char *policy = json_string_value(json_object_get(body, "policy"));
    json_t *legs = json_object_get(body, "legs");
    if (!json_is_integer(stake) || json_integer_value(stake) <= 0) {
        http_problem(r, 422, "Invalid bet", "stake: a positive integer of cents");
        goto out;
    }
    if (!policy) {
        http_problem(r, 422, "Invalid bet", "policy: one of exact, better, any_within");
        goto out;
    }
    if (tol && (!json_is_integer(tol) || json_integer_value(tol) < 0)) {
        http_problem(r, 422, "Invalid bet", "tolerance: a non-negative integer of milli-odds");
        goto out;
    }
    if (!json_is_array(legs)) {
        http_problem(r, 422, "Invalid bet", "legs: an array of 1 to %d legs", BET_LEGS_MAX);
        goto out;
    }
    struct cmd c;
    char *text = bets_cmd_place_delayed(&c, player, (uint64_t)json_integer_value(stake), policy,
                                        tol ? (uint64_t)json_integer_value(tol) : 0, legs,
                                        r->node->cfg.node_id, r->node->cfg.bet_delay_pre_ms,
                                        r->node->cfg.bet_delay_live_ms);
    char *canon = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text || !canon) {
        free(text);
        free(canon);
        http_problem(r, 500, "Out of memory", "the bet could not be prepared");
        goto out;
    }
    uint8_t fp[32];
    /* The fingerprint is over the request itself (not the node that took it). */
    acc_fingerprint("bet", canon, fp);
    write_submit(r, CMD_BET_PLACE, text, strlen(text), idem, fp, acc_relay_done, NULL);
    free(text);
    free(canon);
out:
    json_decref(body);
    json_decref(claims);
}

static void get_one(struct http_req *r, const char *id)
{
    json_t *claims = auth_player(r);
    if (!claims)
        return;
    const char *player = json_string_value(json_object_get(claims, "sub"));
    MDB_txn *txn;
    if (fsm_read_begin(r->node->fsm, &txn) != 0) {
        json_decref(claims);
        http_problem(r, 503, "Unavailable", "the state could not be read");
        return;
    }
    json_t *b = bets_get(r->node->fsm, txn, id);
    fsm_read_end(txn);
    const char *owner = b ? json_string_value(json_object_get(b, "player_id")) : NULL;
    if (!b || !player || !owner || strcmp(owner, player) != 0) {
        json_decref(b);
        http_problem(r, 404, "Not found", "no bet '%s' of yours", id);
    } else {
        http_reply_json(r, 200, b);
    }
    json_decref(claims);
}

static void list(struct http_req *r)
{
    json_t *claims = auth_player(r);
    if (!claims)
        return;
    const char *player = json_string_value(json_object_get(claims, "sub"));
    char status[16] = "", limit_s[8] = "", before_s[24] = "";
    struct query_want w[] = {{"status", status, sizeof status, 0},
                             {"limit", limit_s, sizeof limit_s, 0},
                             {"before", before_s, sizeof before_s, 0}};
    if (query_params(r, w, 3) < 0)
        goto out;
    if (w[0].got && strcmp(status, "open") && strcmp(status, "settled")) {
        http_problem(r, 400, "Bad query", "status: open or settled, not '%s'", status);
        goto out;
    }
    char *end;
    unsigned long limit = w[1].got ? strtoul(limit_s, &end, 10) : 50;
    if (w[1].got && (*end || limit < 1 || limit > 100)) {
        http_problem(r, 400, "Bad query", "limit: an integer from 1 to 100");
        goto out;
    }
    unsigned long long before = w[2].got ? strtoull(before_s, &end, 10) : 0;
    if (w[2].got && (*end || before == 0)) {
        http_problem(r, 400, "Bad query", "before: the 'next' of a previous page");
        goto out;
    }
    MDB_txn *txn;
    if (!player || fsm_read_begin(r->node->fsm, &txn) != 0) {
        http_problem(r, 503, "Unavailable", "the state could not be read");
        goto out;
    }
    json_t *page = bets_list_player(r->node->fsm, txn, player, w[0].got ? status : NULL,
                                    before, (unsigned)limit);
    fsm_read_end(txn);
    http_reply_json(r, 200, page);
out:
    json_decref(claims);
}

static json_t *limits_read(struct fsm *f, MDB_txn *txn)
{
    struct bet_limits l;
    bets_limits_get(f, txn, &l);
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:b}", "min_stake", (json_int_t)l.min_stake,
                     "max_stake", (json_int_t)l.max_stake, "max_payout",
                     (json_int_t)l.max_payout, "outcome_cap", (json_int_t)l.outcome_cap,
                     "fixture_cap", (json_int_t)l.fixture_cap, "live", l.live);
}

static void limits_post(struct http_req *r, json_t *b, const char *idem)
{
    struct cmd c;
    char *text = bets_cmd_limits(&c, b);
    routes_submit_body(r, CMD_BET_LIMITS, text, b, "bet-limits", idem, "limits");
}

static void switches_post(struct http_req *r, json_t *b, const char *idem)
{
    const char *scope = json_string_value(json_object_get(b, "scope"));
    const char *fixture = json_string_value(json_object_get(b, "fixture"));
    json_t *open = json_object_get(b, "open");
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v)
    {
        if (strcmp(k, "scope") && strcmp(k, "fixture") && strcmp(k, "open")) {
            http_problem(r, 422, "Invalid switch", "unknown field '%s' (scope, fixture, open)", k);
            json_decref(b);
            return;
        }
    }
    if (!scope || !json_is_boolean(open) ||
        (strcmp(scope, "all") && strcmp(scope, "live") && strcmp(scope, "fixture")) ||
        (!strcmp(scope, "fixture") != (fixture != NULL))) {
        http_problem(r, 422, "Invalid switch",
                     "need {scope: all|live|fixture, fixture (with scope fixture only), open: "
                     "true|false}");
        json_decref(b);
        return;
    }
    struct cmd c;
    char *text = bets_cmd_switch(&c, scope, fixture, json_is_true(open));
    routes_submit_body(r, CMD_BET_SWITCH, text, b, "bet-switch", idem, "switch");
}

/* GET /admin/v1/bets?player=ID | ?fixture=ID [&limit=1..1000] */
static void admin_list(struct http_req *r)
{
    if (!routes_require_scope(r, "bets"))
        return;
    char player[130] = "", fixture[130] = "", lim[8] = "";
    struct query_want w[] = {{"player", player, sizeof player, 0},
                             {"fixture", fixture, sizeof fixture, 0},
                             {"limit", lim, sizeof lim, 0}};
    if (query_params(r, w, 3) < 0)
        return;
    if (w[0].got == w[1].got || (w[0].got && !player[0]) || (w[1].got && !fixture[0])) {
        http_problem(r, 400, "Bad query", "give exactly one of player=ID or fixture=ID");
        return;
    }
    char *end;
    unsigned long limit = w[2].got ? strtoul(lim, &end, 10) : 100;
    if (w[2].got && (*end || limit < 1 || limit > 1000)) {
        http_problem(r, 400, "Bad query", "limit: an integer from 1 to 1000");
        return;
    }
    MDB_txn *txn;
    if (!routes_read_begin(r, &txn))
        return;
    json_t *out;
    if (w[0].got) {
        out = bets_list_player(r->node->fsm, txn, player, NULL, 0, (unsigned)limit);
    } else {
        out = json_pack("{s:o}", "items",
                        bets_list_fixture(r->node->fsm, txn, fixture, (unsigned)limit));
    }
    fsm_read_end(txn);
    http_reply_json(r, 200, out);
}

/* An operator's POST {reason} on bet or fixture @id (scope "bets", Idempotency-Key, on the
 * leader): the body checked (a non-empty reason of at most 500 bytes), then @type built by
 * @build proposed; a bad body is 422 @title with @code (NULL: none). */
static void reason_write(struct http_req* r,
                         const char* method,
                         const char* id,
                         uint16_t type,
                         char* (*build)(struct cmd* c, const char* id, const char* reason),
                         const char* title,
                         const char* code,
                         const char* tag,
                         const char* what)
{
    char idem[256];
    json_t *b = routes_require_scope(r, "bets") ? routes_admin_write(r, method, "use POST", idem)
                                                : NULL;
    if (!b)
        return;
    const char *reason = json_string_value(json_object_get(b, "reason"));
    if (json_object_size(b) != 1 || !reason || !reason[0] || strlen(reason) > 500) {
        http_guard_problem(r, 422, title, code,
                           "need {reason}: a non-empty text of at most 500 bytes");
        json_decref(b);
        return;
    }
    struct cmd c;
    char* text = build(&c, id, reason);
    char subj[700];
    snprintf(subj, sizeof subj, "%s %s", id, reason);
    json_decref(b);
    routes_submit(r, type, text, tag, subj, idem, what);
}

/* POST /admin/v1/bets/{id}/void {reason} (admin, Idempotency-Key, proposed by the leader). */
static void void_bet(struct http_req* r, const char* method, const char* id)
{
    reason_write(r, method, id, CMD_BET_VOID, bets_cmd_void, "Invalid void", NULL, "bet-void",
                 "void");
}

/* POST /admin/v1/fixtures/{id}/resettle {home, away, reason} (admin, Idempotency-Key, on the
 * leader): the fixture's agreed result is corrected and its bets re-settled (CMD_BET_RESETTLE,
 * consensus/bets_resettle.c); GET: the corrections so far. */
static void resettle(struct http_req *r, const char *method, const char *fixture)
{
    if (!routes_require_scope(r, "bets"))
        return;
    if (!strcmp(method, "GET")) {
        MDB_txn *txn;
        if (!routes_read_begin(r, &txn))
            return;
        json_t *o = bets_resettles(r->node->fsm, txn, fixture);
        fsm_read_end(txn);
        if (!o)
            o = json_pack("{s:s, s:i, s:[]}", "fixture", fixture, "generation", 0, "history");
        http_reply_json(r, 200, o);
        return;
    }
    char idem[256];
    json_t *b =
        routes_admin_write(r, method, "use POST to correct the result, GET to read", idem);
    if (!b)
        return;
    json_t *h = json_object_get(b, "home"), *a = json_object_get(b, "away");
    const char *reason = json_string_value(json_object_get(b, "reason"));
    if (json_object_size(b) != 3 || !json_is_integer(h) || !json_is_integer(a) ||
        json_integer_value(h) < 0 || json_integer_value(h) > 99 || json_integer_value(a) < 0 ||
        json_integer_value(a) > 99 || !reason || !reason[0] || strlen(reason) > 500) {
        http_guard_problem(r, 422, "Invalid re-settlement", "invalid_resettle",
                           "need {home: 0..99, away: 0..99, reason: a non-empty text of at most "
                           "500 bytes}");
        json_decref(b);
        return;
    }
    struct cmd c;
    char *text = bets_cmd_resettle(&c, fixture, (int)json_integer_value(h),
                                   (int)json_integer_value(a), reason);
    char subj[700];
    snprintf(subj, sizeof subj, "%s %lld-%lld %s", fixture, (long long)json_integer_value(h),
             (long long)json_integer_value(a), reason);
    json_decref(b);
    routes_submit(r, CMD_BET_RESETTLE, text, "bet-resettle", subj, idem, "re-settlement");
}

/* POST /admin/v1/fixtures/{id}/abandon {reason} (admin, Idempotency-Key, on the leader): a
 * live fixture will not be finished: decided markets stand, the rest is void
 * (CMD_BET_ABANDONED, consensus/bets_markets.c). */
static void abandon(struct http_req *r, const char *method, const char *fixture)
{
    reason_write(r, method, fixture, CMD_BET_ABANDONED, bets_cmd_abandoned, "Invalid abandonment",
                 "invalid_abandon", "bet-abandon", "abandonment");
}

static json_t* read_liability(struct http_req* r, MDB_txn* txn, const void* fixture)
{
    return bets_liability(r->node->fsm, txn, fixture);
}

static void liability(struct http_req *r, const char *fixture)
{
    if (routes_require_scope(r, "bets"))
        routes_reply_read(r, read_liability, fixture);
}

int routes_bets(struct http_req *r, const char *method, const char *path)
{
    if (!r->node->cfg.sport[0])
        return -1;
    if (routes_cashout(r, method, path) == 0 || routes_trader(r, method, path) == 0 ||
        routes_governor(r, method, path) == 0)
        return 0;
    if (!strcmp(path, "/admin/v1/bets/audit")) {
        if (routes_require_scope(r, "bets") && routes_method(r, method, "GET", "use GET") &&
            bets_audit(r->node, r) != 0)
            http_guard_problem(r, 409, "No accounts cluster", "no_accounts_cluster",
                               "this node has no accounts_urls: nothing to reconcile with");
        return 0;
    }
    if (!strcmp(path, "/admin/v1/bets/switches")) {
        routes_settings(r, method, "/admin/v1/bets/switches", "bets", bets_switches,
                        switches_post);
        return 0;
    }
    if (!strcmp(path, "/admin/v1/bets")) {
        if (routes_method(r, method, "GET", "use GET"))
            admin_list(r);
        return 0;
    }
    if (!strncmp(path, "/admin/v1/bets/", 15)) {
        const char *id = path + 15, *slash = strchr(id, '/');
        if (slash && slash > id && !strcmp(slash, "/void") && slash - id < BET_ID_MAX) {
            char bid[BET_ID_MAX];
            snprintf(bid, sizeof bid, "%.*s", (int)(slash - id), id);
            void_bet(r, method, bid);
            return 0;
        }
    }
    if (!strncmp(path, "/admin/v1/fixtures/", 19)) {
        const char *id = path + 19, *slash = strchr(id, '/');
        if (slash && slash > id && !strcmp(slash, "/liability") && slash - id < 128) {
            char fx[130];
            snprintf(fx, sizeof fx, "%.*s", (int)(slash - id), id);
            if (routes_method(r, method, "GET", "use GET"))
                liability(r, fx);
            return 0;
        }
        if (slash && slash > id && !strcmp(slash, "/abandon") && slash - id < 128) {
            char fx[130];
            snprintf(fx, sizeof fx, "%.*s", (int)(slash - id), id);
            abandon(r, method, fx);
            return 0;
        }
        if (slash && slash > id && !strcmp(slash, "/resettle") && slash - id < 128) {
            char fx[130];
            snprintf(fx, sizeof fx, "%.*s", (int)(slash - id), id);
            resettle(r, method, fx);
            return 0;
        }
    }
    if (!strcmp(path, "/admin/v1/bets/limits")) {
        routes_settings(r, method, "/admin/v1/bets/limits", "bets", limits_read, limits_post);
        return 0;
    }
    if (!strcmp(path, "/v1/stream/bets")) {
        r->route = ROUTE_OTHER;
        if (routes_method(r, method, "GET", "use GET"))
            stream_open_bets(r);
        return 0;
    }
    char id[BET_ID_MAX];
    if (!strcmp(path, "/v1/bets")) {
        if (!strcmp(method, "POST"))
            place(r);
        else if (!strcmp(method, "GET"))
            list(r);
        else {
            http_header(r, "allow", "GET, POST");
            http_problem(r, 405, "Method not allowed", "/v1/bets takes GET or POST");
        }
        return 0;
    }
    if (routes_match1(path, "/v1/bets", id, sizeof id)) {
        if (strcmp(method, "GET") != 0) {
            http_header(r, "allow", "GET");
            http_problem(r, 405, "Method not allowed", "/v1/bets/{id} takes GET");
        } else {
            get_one(r, id);
        }
        return 0;
    }
    return -1;
}
