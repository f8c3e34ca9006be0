/* Trader controls on a sport node (issue 17; consensus/trader.h has the command and bounds).
 *
 *   POST /admin/v1/fixtures/{id}/trader {market?, margin_shift_bp?, lean?: {outcome, bp},
 *        suspended?, max_stake?, reason}  (admin scope "bets", Idempotency-Key; on the leader,
 *        a follower sends the operator to it) -> 200 {settings..., change} through the write
 *        path as CMD_TRADER_SET (wrapped in CMD_ADMIN: the audit trail has who and when).
 *        With market and any of line_move, lean, max_stake, suspended it is one market's
 *        change instead: CMD_TRADER_MARKET_SET (consensus/trader_market.h) -> 200 {fixture,
 *        market, settings, change}.
 *   GET  /admin/v1/fixtures/{id}/trader  (admin "bets", any node) the settings and the history
 *        of changes, with the per-market ones under "markets" ({markets: {name: settings},
 *        changes, history}); a fixture no trader touched answers the neutral settings.
 *
 * Happy path: the body is checked here with the state machine's own checker (trader_check),
 * so a change out of bounds is refused with its stable code before it reaches the log; apply
 * checks again (and that the fixture exists: 404 no_fixture). Failure modes: no Idempotency-
 * Key (428), not JSON (400), out of bounds (422 with code), not the leader (forwarded as the
 * other admin writes are). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/trader.h"
#include "consensus/trader_market.h"
#include "node/accounts_common.h"
#include "node/http_guard.h"
#include "node/node.h"
#include "node/routes.h"
#include "node/write.h"

static void show(struct http_req *r, const char *fixture)
{
    MDB_txn *txn;
    if (!routes_read_begin(r, &txn))
        return;
    json_t *t = trader_get(r->node->fsm, txn, fixture);
    json_t *pm = trader_market_get(r->node->fsm, txn, fixture);
    fsm_read_end(txn);
    if (!t)
        t = json_pack("{s:s, s:i, s:{}, s:n, s:b, s:i, s:i, s:[]}", "fixture", fixture,
                      "margin_shift_bp", 0, "market_shift_bp", "lean", "suspended", 0,
                      "max_stake", 0, "changes", 0, "history");
    if (!pm)
        pm = json_pack("{s:{}, s:i, s:[]}", "markets", "changes", 0, "history");
    json_object_del(pm, "fixture");
    json_object_set_new(t, "markets", pm);
    http_reply_json(r, 200, t);
}

static void set(struct http_req *r, const char *fixture)
{
    if (!acc_on_leader(r))
        return;
    char idem[256];
    if (!acc_idem_key(r, "admin", idem))
        return;
    json_t *b = routes_body(r);
    if (!b)
        return;
    struct fsm_result chk = {0, NULL};
    if (!json_is_object(b) || json_object_get(b, "fixture") || json_object_get(b, "by")) {
        http_guard_problem(r, 422, "Invalid trader setting", "invalid_trader",
                           "need an object {market?, margin_shift_bp?, line_move?, lean?, "
                           "suspended?, max_stake?, reason} (the fixture is in the path)");
        json_decref(b);
        return;
    }
    bool per_market = trader_market_is_change(b);
    if ((per_market ? trader_market_check(b, &chk) : trader_check(b, &chk)) != 0) {
        json_t *p = chk.body ? json_loads(chk.body, 0, NULL) : NULL;
        http_guard_problem(r, 422, "Invalid trader setting",
                           json_string_value(json_object_get(p, "code")) ?: "invalid_trader",
                           "%s", json_string_value(json_object_get(p, "detail")) ?: "");
        json_decref(p);
        fsm_result_clear(&chk);
        json_decref(b);
        return;
    }
    char by[200];
    routes_actor(r, by, sizeof by);
    struct cmd c;
    char *text = per_market ? trader_market_cmd_set(&c, fixture, b, by)
                            : trader_cmd_set(&c, fixture, b, by);
    char *canon = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(b);
    char subj[1400];
    snprintf(subj, sizeof subj, "%s %s", fixture, canon ? canon : "");
    uint8_t fp[32];
    acc_fingerprint("trader-set", subj, fp);
    if (text)
        write_submit(r, per_market ? CMD_TRADER_MARKET_SET : CMD_TRADER_SET, text, strlen(text),
                     idem, fp, acc_relay_done, NULL);
    else
        http_problem(r, 500, "Out of memory", "the trader setting could not be prepared");
    free(text);
    free(canon);
}

int routes_trader(struct http_req *r, const char *method, const char *path)
{
    if (strncmp(path, "/admin/v1/fixtures/", 19) != 0)
        return -1;
    const char *id = path + 19, *slash = strchr(id, '/');
    if (!slash || slash == id || strcmp(slash, "/trader") != 0 || slash - id >= 128)
        return -1;
    char fx[130];
    snprintf(fx, sizeof fx, "%.*s", (int)(slash - id), id);
    if (!routes_require_scope(r, "bets"))
        return 0;
    if (!strcmp(method, "GET"))
        show(r, fx);
    else if (routes_method(r, method, "POST", "use POST to change the settings, GET to read"))
        set(r, fx);
    return 0;
}
