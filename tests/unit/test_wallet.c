/* Unit tests for the wallet domain (consensus/wallet.c) on a real LMDB state machine: each
 * command applied as Raft would apply it, at a chosen leader time; after every scenario the
 * ledger check must pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "consensus/fsm.h"
#include "consensus/accounts.h"
#include "consensus/bets.h"
#include "consensus/wallet.h"
#include "tests/unit/unit_util.h"

#define P1 "p_00000000000000000000000000000001"
#define P2 "p_00000000000000000000000000000002"
#define HOUR (3600ull * 1000)
#define T0 1800000000000ull /* the leader's clock at the start of each scenario */

struct w {
    char *dir;
    struct fsm *f;
    struct util_result r;
    uint64_t index, now;
};

static int setup(void **state)
{
    struct w *w = calloc(1, sizeof *w);
    w->dir = util_tmpdir();
    w->f = util_fsm_open(w->dir);
    util_capture_results(w->f, &w->r);
    w->now = T0;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct w *w = *state;
    fsm_close(w->f);
    util_rmdir(w->dir);
    free(w);
    return 0;
}

/* Apply @payload (stolen) as @type at the current time; the status. */
static int run(struct w *w, uint16_t type, json_t *payload)
{
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    int st = util_apply_at(w->f, &w->r, ++w->index, type, NULL, 0, text, w->now);
    free(text);
    return st;
}

static const char *code(struct w *w)
{
    static char c[64];
    json_t *j = json_loads(w->r.body, 0, NULL);
    snprintf(c, sizeof c, "%s", json_string_value(json_object_get(j, "code")));
    json_decref(j);
    return c;
}

static int64_t field(struct w *w, const char *key)
{
    json_t *j = json_loads(w->r.body, 0, NULL);
    int64_t v = json_integer_value(json_object_get(j, key));
    json_decref(j);
    return v;
}

static bool flag(struct w *w, const char *key)
{
    json_t *j = json_loads(w->r.body, 0, NULL);
    bool v = json_is_true(json_object_get(j, key));
    json_decref(j);
    return v;
}

static json_t *view(struct w *w, const char *player)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(w->f, &txn), 0);
    json_t *v = wallet_view(w->f, txn, player, w->now);
    fsm_read_end(txn);
    return v;
}

static int64_t vint(struct w *w, const char *player, const char *key)
{
    json_t *v = view(w, player);
    int64_t x = json_integer_value(json_object_get(v, key));
    json_decref(v);
    return x;
}

static void check_ok(struct w *w)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(w->f, &txn), 0);
    json_t *c = wallet_check(w->f, txn);
    fsm_read_end(txn);
    if (!json_is_true(json_object_get(c, "ok"))) {
        char *t = json_dumps(c, JSON_INDENT(1));
        print_error("%s\n", t);
        free(t);
    }
    assert_true(json_is_true(json_object_get(c, "ok")));
    json_decref(c);
}

static void player(struct w *w, const char *id, const char *email)
{
    char p[300];
    snprintf(p, sizeof p,
             "{\"id\":\"%s\",\"email\":\"%s\",\"password_hash\":\"$argon2id$v=19$m=8,t=1,p=1$"
             "c2FsdHNhbHQ$aGFzaA\"}",
             id, email);
    assert_int_equal(util_apply_at(w->f, &w->r, ++w->index, CMD_PLAYER_REGISTER, NULL, 0, p, w->now),
                     201);
}

static void verify(struct w *w, const char *id)
{
    char p[200];
    snprintf(p, sizeof p, "{\"player_id\":\"%s\",\"status\":\"verified\",\"reason\":\"test\"}", id);
    assert_int_equal(util_apply_at(w->f, &w->r, ++w->index, CMD_KYC_OVERRIDE, NULL, 0, p, w->now),
                     200);
}

static void cluster(struct w *w)
{
    json_t *keys = json_pack("[s]", "02a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90");
    assert_int_equal(run(w, CMD_WALLET_CLUSTER, wallet_cmd_cluster("football", keys)), 200);
}

/* Open, link and pay a deposit of @amount for @p. */
static void deposit(struct w *w, const char *p, const char *id, int64_t amount)
{
    assert_int_equal(run(w, CMD_DEPOSIT_OPEN, wallet_cmd_deposit_open(p, id, amount)), 201);
    char pay[64], ev[64];
    snprintf(pay, sizeof pay, "pay_%s", id);
    snprintf(ev, sizeof ev, "evt_%s", id);
    assert_int_equal(
        run(w, CMD_DEPOSIT_LINK, wallet_cmd_deposit_link(id, pay, "http://pay.example/x")), 200);
    assert_int_equal(run(w, CMD_PAY_EVENT,
                         wallet_cmd_pay_event("standin", ev, "payment_succeeded", pay, id, amount,
                                              "acct_1")),
                     200);
}

static void funded(struct w *w, int64_t amount)
{
    player(w, P1, "one@example.com");
    cluster(w);
    assert_int_equal(run(w, CMD_WALLET_LIMITS, wallet_cmd_limits(P1, 100000, 50000, -1)), 200);
    deposit(w, P1, "d1", amount);
}

/* Open sessions of player @id (not revoked), and entries in the revocation log. */
static void sessions_state(struct w *w, const char *fam, bool *revoked, size_t *logged)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(w->f, &txn), 0);
    json_t *s = accounts_session_get(w->f, txn, fam);
    json_t *log = accounts_revocations(w->f, txn, 0, 100);
    fsm_read_end(txn);
    assert_non_null(s);
    *revoked = json_is_true(json_object_get(s, "revoked"));
    *logged = json_array_size(json_object_get(log, "items"));
    json_decref(s);
    json_decref(log);
}

static void session(struct w *w, const char *fam, const char *pid)
{
    char p[300];
    snprintf(p, sizeof p,
             "{\"player_id\":\"%s\",\"family\":\"%s\",\"refresh_hash\":"
             "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
             pid, fam);
    assert_int_equal(util_apply_at(w->f, &w->r, ++w->index, CMD_SESSION_CREATE, NULL, 0, p, w->now),
                     201);
}

/* A blocked or banned player is signed out everywhere, in the same command (ASVS 7.4.2);
 * unblocking signs nobody out. */
static void block_and_ban_end_sessions(void **state)
{
    struct w *w = *state;
    funded(w, 1000);
    const char *f1 = "f0000000000000000000000000000001", *f2 = "f0000000000000000000000000000002";
    session(w, f1, P1);
    bool revoked;
    size_t logged;
    sessions_state(w, f1, &revoked, &logged);
    assert_false(revoked);
    assert_int_equal(logged, 0);
    assert_int_equal(run(w, CMD_WALLET_BLOCK, wallet_cmd_block(P1, true, "problem gambling")), 200);
    sessions_state(w, f1, &revoked, &logged);
    assert_true(revoked);
    assert_int_equal(logged, 1);
    assert_int_equal(run(w, CMD_WALLET_BLOCK, wallet_cmd_block(P1, false, "reviewed")), 200);
    session(w, f2, P1);
    sessions_state(w, f2, &revoked, &logged);
    assert_false(revoked);
    assert_int_equal(logged, 1);
    assert_int_equal(run(w, CMD_WALLET_BAN, wallet_cmd_ban(P1, true, "ban_list")), 200);
    sessions_state(w, f2, &revoked, &logged);
    assert_true(revoked);
    assert_int_equal(logged, 2);
    check_ok(w);
}

/* A deposit credits once: limits first, duplicate and replayed events, a failed payment. */
static void deposits(void **state)
{
    struct w *w = *state;
    player(w, P1, "one@example.com");
    assert_int_equal(run(w, CMD_DEPOSIT_OPEN, wallet_cmd_deposit_open(P1, "d0", 1000)), 403);
    assert_string_equal(code(w), "limits_required");
    assert_int_equal(run(w, CMD_WALLET_LIMITS, wallet_cmd_limits(P1, 5000, -1, -1)), 200);
    deposit(w, P1, "d1", 3000);
    assert_int_equal(vint(w, P1, "balance"), 3000);
    /* The same event again, and the same payment under a new event id: credited once. */
    assert_int_equal(run(w, CMD_PAY_EVENT,
                         wallet_cmd_pay_event("standin", "evt_d1", "payment_succeeded", "pay_d1",
                                              "d1", 3000, NULL)),
                     200);
    assert_int_equal(run(w, CMD_PAY_EVENT,
                         wallet_cmd_pay_event("standin", "evt_again", "payment_succeeded",
                                              "pay_d1", "d1", 3000, NULL)),
                     200);
    assert_int_equal(vint(w, P1, "balance"), 3000);
    /* Over the 7-day deposit limit: refused, nothing recorded. */
    assert_int_equal(run(w, CMD_DEPOSIT_OPEN, wallet_cmd_deposit_open(P1, "d2", 2001)), 403);
    assert_string_equal(code(w), "deposit_limit");
    /* A failed payment frees its share of the window. */
    assert_int_equal(run(w, CMD_DEPOSIT_OPEN, wallet_cmd_deposit_open(P1, "d3", 2000)), 201);
    assert_int_equal(run(w, CMD_PAY_EVENT,
                         wallet_cmd_pay_event("standin", "evt_f", "payment_failed", "pay_d3", "d3",
                                              2000, NULL)),
                     200);
    assert_int_equal(run(w, CMD_DEPOSIT_OPEN, wallet_cmd_deposit_open(P1, "d4", 2000)), 201);
    /* A payment that does not match the deposit's amount is refused. */
    assert_int_equal(run(w, CMD_PAY_EVENT,
                         wallet_cmd_pay_event("standin", "evt_m", "payment_succeeded", "pay_d4",
                                              "d4", 1999, NULL)),
                     422);
    assert_string_equal(code(w), "amount_mismatch");
    /* A week later the window is empty again. */
    w->now += 7 * 24 * HOUR + 1;
    assert_int_equal(run(w, CMD_DEPOSIT_OPEN, wallet_cmd_deposit_open(P1, "d5", 5000)), 201);
    assert_int_equal(vint(w, P1, "balance"), 3000);
    check_ok(w);
}

/* Holds: place within the balance, post (part, with payout), void, expiry, each exactly once. */
static void holds(void **state)
{
    struct w *w = *state;
    funded(w, 10000);
    json_t *h = wallet_cmd_hold_place("bet1", P1, "football", 4000, 60000);
    assert_int_equal(run(w, CMD_HOLD_PLACE, h), 201);
    assert_int_equal(vint(w, P1, "available"), 6000);
    assert_int_equal(vint(w, P1, "held"), 4000);
    /* The same place again answers the first result; other fields are a conflict. */
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("bet1", P1, "football", 4000,
                                                                   60000)),
                     201);
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("bet1", P1, "football", 4001,
                                                                   60000)),
                     409);
    assert_string_equal(code(w), "hold_exists");
    assert_int_equal(vint(w, P1, "held"), 4000);
    /* No overdraft, holds included; an unknown cluster is refused. */
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("bet2", P1, "football", 6001,
                                                                   60000)),
                     409);
    assert_string_equal(code(w), "insufficient_funds");
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("bet2", P1, "tennis", 100,
                                                                   60000)),
                     403);
    assert_string_equal(code(w), "unknown_cluster");
    /* Post 3000 of the 4000 (1000 returns) with a payout of 7500. */
    assert_int_equal(run(w, CMD_HOLD_POST, wallet_cmd_hold_post("bet1", "football", 3000, 7500)),
                     200);
    assert_int_equal(vint(w, P1, "balance"), 10000 - 3000 + 7500);
    assert_int_equal(vint(w, P1, "held"), 0);
    /* A second, identical post answers the first result; anything else says what happened. */
    assert_int_equal(run(w, CMD_HOLD_POST, wallet_cmd_hold_post("bet1", "football", 3000, 7500)),
                     200);
    assert_int_equal(field(w, "payout"), 7500);
    assert_int_equal(run(w, CMD_HOLD_VOID, wallet_cmd_hold_void("bet1", "football")), 409);
    assert_string_equal(code(w), "hold_already_posted");
    assert_int_equal(vint(w, P1, "balance"), 14500);
    /* Void returns everything; expiry happens only once the leader's time passes the deadline. */
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("bet3", P1, "football", 500,
                                                                   60000)),
                     201);
    assert_int_equal(run(w, CMD_HOLD_VOID, wallet_cmd_hold_void("bet3", "football")), 200);
    assert_int_equal(run(w, CMD_HOLD_POST, wallet_cmd_hold_post("bet3", "football", 500, 0)), 409);
    assert_string_equal(code(w), "hold_already_voided");
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("bet4", P1, "football", 700,
                                                                   60000)),
                     201);
    assert_int_equal(run(w, CMD_HOLD_EXPIRE, wallet_cmd_hold_expire()), 200);
    assert_int_equal(field(w, "expired"), 0);
    w->now += 60000;
    assert_int_equal(run(w, CMD_HOLD_POST, wallet_cmd_hold_post("bet4", "football", 700, 0)), 409);
    assert_string_equal(code(w), "hold_expired");
    assert_int_equal(run(w, CMD_HOLD_EXPIRE, wallet_cmd_hold_expire()), 200);
    assert_int_equal(field(w, "expired"), 1);
    assert_int_equal(run(w, CMD_HOLD_EXPIRE, wallet_cmd_hold_expire()), 200);
    assert_int_equal(field(w, "expired"), 0);
    assert_int_equal(vint(w, P1, "balance"), 14500);
    assert_int_equal(vint(w, P1, "available"), 14500);
    check_ok(w);
    /* TRJ counts posted stakes and payouts. */
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(w->f, &txn), 0);
    json_t *t = wallet_trj(w->f, txn, 2027);
    fsm_read_end(txn);
    assert_int_equal(json_integer_value(json_object_get(t, "stakes")), 3000);
    assert_int_equal(json_integer_value(json_object_get(t, "payouts")), 7500);
    assert_true(json_is_true(json_object_get(t, "over_cap")));
    json_decref(t);
}

/* CMD_HOLD_BATCH: each item with the single command's rules and its own result, a refused
 * item refusing nothing else; the same batch again changes nothing; another state machine
 * given the same entries holds the same ledger. */
static json_t *batch_items(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

static int run_batch(struct w *w, const char *items_json)
{
    json_t *items = batch_items(items_json);
    int st = run(w, CMD_HOLD_BATCH, wallet_cmd_hold_batch("football", items));
    json_decref(items);
    return st;
}

/* "201,409:insufficient_funds,..." from the last batch result. */
static void batch_statuses(struct w *w, char *out, size_t len)
{
    json_t *r = json_loads(w->r.body, 0, NULL), *it;
    assert_non_null(r);
    size_t i, used = 0;
    out[0] = 0;
    json_array_foreach(json_object_get(r, "results"), i, it)
    {
        const char *c = json_string_value(json_object_get(json_object_get(it, "body"), "code"));
        used += (size_t)snprintf(out + used, len - used, "%s%lld%s%s", i ? "," : "",
                                 (long long)json_integer_value(json_object_get(it, "status")),
                                 c ? ":" : "", c ? c : "");
    }
    json_decref(r);
}

/* The ledger as every node must hold it: both players' views and the check. */
static char *ledger_dump(struct w *w)
{
    json_t *all = json_pack("[o, o]", view(w, P1), view(w, P2));
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(w->f, &txn), 0);
    json_array_append_new(all, wallet_check(w->f, txn));
    json_array_append_new(all, wallet_holds_page(w->f, txn, "football", NULL, 100));
    fsm_read_end(txn);
    char *t = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(all);
    return t;
}

static void hold_batches(void **state)
{
    struct w *w = *state;
    funded(w, 10000);
    player(w, P2, "two@example.com"); /* no limits set: limits_required */
    static const char b1[] =
        "[{\"op\":\"place\",\"hold_id\":\"h1\",\"player_id\":\"" P1 "\",\"amount\":4000,"
        "\"timeout_ms\":60000},"
        "{\"op\":\"place\",\"hold_id\":\"h2\",\"player_id\":\"" P1 "\",\"amount\":9000,"
        "\"timeout_ms\":60000},"
        "{\"op\":\"place\",\"hold_id\":\"h3\",\"player_id\":\"" P2 "\",\"amount\":100,"
        "\"timeout_ms\":60000},"
        "{\"op\":\"place\",\"hold_id\":\"h4\",\"player_id\":\"" P1 "\",\"amount\":1000,"
        "\"timeout_ms\":60000},"
        "{\"op\":\"post\",\"hold_id\":\"h1\",\"stake\":4000,\"payout\":8000},"
        "{\"op\":\"void\",\"hold_id\":\"h9\"},"
        "{\"op\":\"bogus\",\"hold_id\":\"h5\"},"
        "{\"op\":\"place\",\"hold_id\":\"h1\",\"player_id\":\"" P1 "\",\"amount\":4001,"
        "\"timeout_ms\":60000},"
        "{\"op\":\"void\",\"hold_id\":\"h4\"}]";
    assert_int_equal(run_batch(w, b1), 200);
    char st[1024];
    batch_statuses(w, st, sizeof st);
    /* h2 asks for more than is left after h1 (available 6000: no overdraft, holds included). */
    assert_string_equal(st, "201,409:insufficient_funds,403:limits_required,201,200,"
                            "404:no_such_hold,422:invalid_batch_item,409:hold_exists,200");
    assert_int_equal(vint(w, P1, "balance"), 10000 - 4000 + 8000);
    assert_int_equal(vint(w, P1, "held"), 0);
    assert_int_equal(vint(w, P2, "balance"), 0);
    check_ok(w);
    /* A batch whose items are all decided (h1 placed and posted, h3 without limits, h4
     * voided), sent twice: the same answers both times and nothing moves. (h2 is left out:
     * a refused hold may fit later, as with the single call.) */
    static const char b2[] =
        "[{\"op\":\"place\",\"hold_id\":\"h1\",\"player_id\":\"" P1 "\",\"amount\":4000,"
        "\"timeout_ms\":60000},"
        "{\"op\":\"place\",\"hold_id\":\"h3\",\"player_id\":\"" P2 "\",\"amount\":100,"
        "\"timeout_ms\":60000},"
        "{\"op\":\"post\",\"hold_id\":\"h1\",\"stake\":4000,\"payout\":8000},"
        "{\"op\":\"void\",\"hold_id\":\"h4\"},"
        "{\"op\":\"post\",\"hold_id\":\"h4\",\"stake\":1000,\"payout\":0}]";
    char *before = ledger_dump(w);
    assert_int_equal(run_batch(w, b2), 200);
    batch_statuses(w, st, sizeof st);
    assert_string_equal(st, "201,403:limits_required,200,200,409:hold_already_voided");
    char first[1024];
    snprintf(first, sizeof first, "%s", st);
    assert_int_equal(run_batch(w, b2), 200);
    batch_statuses(w, st, sizeof st);
    assert_string_equal(st, first);
    char *after = ledger_dump(w);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* The batch's shape; an unknown cluster refuses the whole batch. */
    assert_int_equal(run(w, CMD_HOLD_BATCH, json_pack("{s:s, s:[]}", "cluster", "football",
                                                      "items")),
                     422);
    assert_string_equal(code(w), "invalid_batch");
    json_t *items = batch_items(b2);
    assert_int_equal(run(w, CMD_HOLD_BATCH, wallet_cmd_hold_batch("tennis", items)), 403);
    assert_string_equal(code(w), "unknown_cluster");
    json_t *many = json_array();
    for (int i = 0; i <= WALLET_HOLD_BATCH_MAX; i++)
        json_array_append(many, json_array_get(items, 0));
    assert_int_equal(run(w, CMD_HOLD_BATCH, wallet_cmd_hold_batch("football", many)), 422);
    json_decref(many);
    json_decref(items);
    check_ok(w);
}

/* Two state machines given the same entries (single and batched holds mixed) agree. */
static void hold_batches_replayed(void **state)
{
    struct w *w = *state;
    char *dir2 = util_tmpdir();
    struct w w2 = {.dir = dir2, .f = util_fsm_open(dir2), .now = T0};
    util_capture_results(w2.f, &w2.r);
    struct w *both[2] = {w, &w2};
    for (int k = 0; k < 2; k++) {
        struct w *x = both[k];
        funded(x, 50000);
        player(x, P2, "two@example.com");
        assert_int_equal(run(x, CMD_WALLET_LIMITS, wallet_cmd_limits(P2, 100000, 100000, -1)),
                         200);
        deposit(x, P2, "d2", 3000);
        unsigned seed = 11;
        for (int round = 0; round < 20; round++) {
            json_t *items = json_array();
            for (int i = 0; i < 12; i++) {
                seed = seed * 1103515245u + 12345u;
                char id[16];
                snprintf(id, sizeof id, "q%u", (seed >> 9) % 40);
                unsigned r = (seed >> 4) % 10;
                const char *p = (seed >> 20) & 1 ? P1 : P2;
                if (r < 5)
                    json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:I, s:I}", "op",
                                                           "place", "hold_id", id, "player_id", p,
                                                           "amount", (json_int_t)(1 + (seed >> 6) % 2000),
                                                           "timeout_ms", (json_int_t)30000));
                else if (r < 8)
                    json_array_append_new(items, json_pack("{s:s, s:s, s:I, s:I}", "op", "post",
                                                           "hold_id", id, "stake",
                                                           (json_int_t)(1 + (seed >> 7) % 300),
                                                           "payout", (json_int_t)((seed >> 5) % 900)));
                else
                    json_array_append_new(items, json_pack("{s:s, s:s}", "op", "void", "hold_id",
                                                           id));
            }
            x->now += 7000;
            assert_int_equal(run(x, CMD_HOLD_BATCH, wallet_cmd_hold_batch("football", items)), 200);
            json_decref(items);
            if (round % 5 == 4)
                assert_int_equal(run(x, CMD_HOLD_EXPIRE, wallet_cmd_hold_expire()), 200);
        }
        check_ok(x);
    }
    char *a = ledger_dump(w), *b = ledger_dump(&w2);
    assert_string_equal(a, b);
    free(a);
    free(b);
    fsm_close(w2.f);
    util_rmdir(dir2);
}

/* Limits: lower at once, raise after 48 hours; stake limit over 7 days; self-exclusion. */
static void protection(void **state)
{
    struct w *w = *state;
    funded(w, 20000);
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b1", P1, "football", 50001,
                                                                   60000)),
                     403);
    assert_string_equal(code(w), "stake_limit");
    /* Lower: immediate. */
    assert_int_equal(run(w, CMD_WALLET_LIMITS, wallet_cmd_limits(P1, -1, 1000, -1)), 200);
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b1", P1, "football", 1001,
                                                                   60000)),
                     403);
    assert_string_equal(code(w), "stake_limit");
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b1", P1, "football", 1000,
                                                                   60000)),
                     201);
    /* Raise: pending for 48 hours. */
    assert_int_equal(run(w, CMD_WALLET_LIMITS, wallet_cmd_limits(P1, -1, 5000, -1)), 200);
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b2", P1, "football", 100,
                                                                   60000)),
                     403);
    assert_string_equal(code(w), "stake_limit");
    w->now += 48 * HOUR - 1;
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b2", P1, "football", 100,
                                                                   60000)),
                     403);
    w->now += 1;
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b2", P1, "football", 100,
                                                                   60000)),
                     201);
    /* Self-exclusion: immediate, never shortened, blocks deposits and holds. */
    assert_int_equal(run(w, CMD_WALLET_EXCLUDE, wallet_cmd_exclude(P1, 23)), 422);
    assert_string_equal(code(w), "invalid_exclusion");
    assert_int_equal(run(w, CMD_WALLET_EXCLUDE, wallet_cmd_exclude(P1, 48)), 200);
    assert_int_equal(run(w, CMD_WALLET_EXCLUDE, wallet_cmd_exclude(P1, 24)), 200);
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b3", P1, "football", 100,
                                                                   60000)),
                     403);
    assert_string_equal(code(w), "self_excluded");
    assert_int_equal(run(w, CMD_DEPOSIT_OPEN, wallet_cmd_deposit_open(P1, "d9", 100)), 403);
    assert_string_equal(code(w), "self_excluded");
    w->now += 48 * HOUR;
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b3", P1, "football", 100,
                                                                   60000)),
                     201);
    /* An operator's block stops play; a month unverified deactivates the account. */
    assert_int_equal(run(w, CMD_WALLET_BLOCK, wallet_cmd_block(P1, true, "problem gambling")), 200);
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b4", P1, "football", 100,
                                                                   60000)),
                     403);
    assert_string_equal(code(w), "account_blocked");
    assert_int_equal(run(w, CMD_WALLET_BLOCK, wallet_cmd_block(P1, false, "reviewed")), 200);
    w->now = T0 + 30 * 24 * HOUR;
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b4", P1, "football", 100,
                                                                   60000)),
                     403);
    assert_string_equal(code(w), "account_deactivated");
    verify(w, P1);
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b4", P1, "football", 100,
                                                                   60000)),
                     201);
    check_ok(w);
}

/* What the 7-day stake window of @player has used, as the wallet view shows it. */
static int64_t stakes_used(struct w *w, const char *player)
{
    json_t *v = view(w, player);
    int64_t x = json_integer_value(json_object_get(json_object_get(v, "window_used"), "stakes"));
    json_decref(v);
    return x;
}

static int place(struct w *w, const char *id, int64_t amount, int64_t timeout_ms)
{
    return run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place(id, P1, "football", amount, timeout_ms));
}

/* The rolling stake window (its own records and running sum): voided and expired holds leave it,
 * posted ones stay; a stake counts until exactly 7 days after it was placed; the limit is reached
 * exactly at its value; an entry already dropped is not taken out twice. */
static void stake_window(void **state)
{
    struct w *w = *state;
    const int64_t long_ms = 8 * 24 * (int64_t)HOUR, week = 7 * 24 * (int64_t)HOUR;
    funded(w, 100000); /* stake limit 50000 */
    assert_int_equal(place(w, "s1", 3000, long_ms), 201);
    w->now = T0 + HOUR;
    assert_int_equal(place(w, "s2", 2000, long_ms), 201);
    assert_int_equal(stakes_used(w, P1), 5000);
    assert_int_equal(run(w, CMD_HOLD_VOID, wallet_cmd_hold_void("s2", "football")), 200);
    assert_int_equal(stakes_used(w, P1), 3000);
    /* Voided twice: answered as the first time, taken out once. */
    assert_int_equal(run(w, CMD_HOLD_VOID, wallet_cmd_hold_void("s2", "football")), 200);
    assert_int_equal(stakes_used(w, P1), 3000);
    w->now = T0 + 2 * HOUR;
    assert_int_equal(place(w, "s3", 40000, long_ms), 201);
    assert_int_equal(run(w, CMD_HOLD_POST, wallet_cmd_hold_post("s1", "football", 3000, 0)), 200);
    assert_int_equal(stakes_used(w, P1), 43000);
    w->now = T0 + 3 * HOUR;
    assert_int_equal(place(w, "s4", 5000, 1000), 201);
    assert_int_equal(stakes_used(w, P1), 48000);
    w->now += 1000;
    assert_int_equal(run(w, CMD_HOLD_EXPIRE, wallet_cmd_hold_expire()), 200);
    assert_int_equal(field(w, "expired"), 1);
    assert_int_equal(stakes_used(w, P1), 43000);
    /* One millisecond before s1 is a week old: the limit is reached exactly, not passed. */
    w->now = T0 + week - 1;
    assert_int_equal(stakes_used(w, P1), 43000);
    assert_int_equal(place(w, "s5", 7001, long_ms), 403);
    assert_string_equal(code(w), "stake_limit");
    assert_int_equal(place(w, "s5", 7000, long_ms), 201);
    assert_int_equal(stakes_used(w, P1), 50000);
    assert_int_equal(place(w, "s6", 1, long_ms), 403);
    assert_string_equal(code(w), "stake_limit");
    /* At exactly a week s1 no longer counts (seen read-only first, then by the place). */
    w->now = T0 + week;
    assert_int_equal(stakes_used(w, P1), 47000);
    assert_int_equal(place(w, "s6", 3001, long_ms), 403);
    assert_int_equal(place(w, "s6", 3000, long_ms), 201);
    assert_int_equal(place(w, "s7", 1, long_ms), 403);
    /* s3 (40000) leaves a week after it was placed; its void later takes nothing out again. */
    w->now = T0 + 2 * HOUR + week;
    assert_int_equal(stakes_used(w, P1), 10000);
    assert_int_equal(place(w, "s7", 100, long_ms), 201);
    assert_int_equal(run(w, CMD_HOLD_VOID, wallet_cmd_hold_void("s3", "football")), 200);
    assert_int_equal(stakes_used(w, P1), 10100);
    assert_int_equal(place(w, "s8", 39900, long_ms), 201);
    assert_int_equal(place(w, "s9", 1, long_ms), 403);
    /* Two weeks on, nothing counts. */
    w->now = T0 + 3 * week;
    assert_int_equal(stakes_used(w, P1), 0);
    check_ok(w);
}

/* Withdrawals: verified players only, held at once, posted on "paid", returned on "failed". */
static void withdrawals(void **state)
{
    struct w *w = *state;
    funded(w, 10000);
    assert_int_equal(run(w, CMD_WITHDRAW_OPEN, wallet_cmd_withdraw_open(P1, "w1", 4000)), 403);
    assert_string_equal(code(w), "not_verified");
    verify(w, P1);
    assert_int_equal(run(w, CMD_WITHDRAW_OPEN, wallet_cmd_withdraw_open(P1, "w1", 10001)), 409);
    assert_string_equal(code(w), "insufficient_funds");
    assert_int_equal(run(w, CMD_WITHDRAW_OPEN, wallet_cmd_withdraw_open(P1, "w1", 4000)), 201);
    assert_int_equal(vint(w, P1, "available"), 6000);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(w->f, &txn), 0);
    json_t *todo = wallet_withdrawals_to_send(w->f, txn, 10);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(todo), 1);
    json_decref(todo);
    assert_int_equal(run(w, CMD_WITHDRAW_SENT, wallet_cmd_withdraw_sent("w1", "po_1")), 200);
    assert_int_equal(run(w, CMD_PAY_EVENT,
                         wallet_cmd_pay_event("standin", "e1", "payout_paid", "po_1", "w1", 4000,
                                              NULL)),
                     200);
    assert_int_equal(vint(w, P1, "balance"), 6000);
    assert_int_equal(vint(w, P1, "held"), 0);
    /* A failed payout returns the money; a "paid" after that needs an operator. */
    assert_int_equal(run(w, CMD_WITHDRAW_OPEN, wallet_cmd_withdraw_open(P1, "w2", 1000)), 201);
    assert_int_equal(run(w, CMD_PAY_EVENT,
                         wallet_cmd_pay_event("standin", "e2", "payout_failed", "po_2", "w2", 1000,
                                              NULL)),
                     200);
    assert_int_equal(vint(w, P1, "balance"), 6000);
    assert_int_equal(run(w, CMD_PAY_EVENT,
                         wallet_cmd_pay_event("standin", "e3", "payout_paid", "po_2", "w2", 1000,
                                              NULL)),
                     409);
    assert_string_equal(code(w), "withdrawal_state");
    check_ok(w);
}

/* A chargeback beyond what is left goes to a debt account, which blocks play until a deposit
 * settles it; a correction names what it corrects. */
static void chargeback_and_corrections(void **state)
{
    struct w *w = *state;
    funded(w, 5000);
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b1", P1, "football", 3000,
                                                                   60000)),
                     201);
    assert_int_equal(run(w, CMD_PAY_EVENT,
                         wallet_cmd_pay_event("standin", "cb1", "chargeback", "pay_d1", "d1", 5000,
                                              NULL)),
                     200);
    assert_int_equal(vint(w, P1, "available"), 0);
    assert_int_equal(vint(w, P1, "debt"), 3000);
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b2", P1, "football", 1, 60000)),
                     403);
    assert_string_equal(code(w), "debt_outstanding");
    deposit(w, P1, "d2", 4000);
    assert_int_equal(vint(w, P1, "debt"), 0);
    assert_int_equal(vint(w, P1, "available"), 1000);
    check_ok(w);
    /* A correction must name an existing transfer and keeps the player's no-overdraft rule. */
    assert_int_equal(run(w, CMD_WALLET_CORRECT,
                         wallet_cmd_correct("c1", "sys:house", "player:" P1, 250, "nope",
                                            "goodwill")),
                     404);
    assert_int_equal(run(w, CMD_WALLET_CORRECT,
                         wallet_cmd_correct("c1", "sys:house", "player:" P1, 250, "dep:d2",
                                            "goodwill")),
                     201);
    assert_int_equal(run(w, CMD_WALLET_CORRECT,
                         wallet_cmd_correct("c2", "player:" P1, "sys:house", 999999, "dep:d2",
                                            "take back")),
                     409);
    assert_string_equal(code(w), "insufficient_funds");
    check_ok(w);
}


/* A bet's hold settled again after a corrected result (wallet_resettle.c): a posted hold is
 * corrected by transfers that name what they correct, a player who already withdrew the
 * winnings goes into debt (never overdrawn) and a later credit repays it first; the same
 * generation answers the first result, an older one is refused; a pending hold is simply
 * resolved; the audit's reading of the transfers adds up to the last generation. */
static void resettle(void **state)
{
    struct w *w = *state;
    funded(w, 10000);
    verify(w, P1);
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("bet1", P1, "football", 1000,
                                                                   60000)),
                     201);
    assert_int_equal(run(w, CMD_HOLD_POST, wallet_cmd_hold_post("bet1", "football", 1000, 2140)),
                     200);
    assert_int_equal(vint(w, P1, "balance"), 11140);
    /* The winnings are withdrawn (held for the payout): 140 left available. */
    assert_int_equal(run(w, CMD_WITHDRAW_OPEN, wallet_cmd_withdraw_open(P1, "w1", 11000)), 201);
    assert_int_equal(vint(w, P1, "available"), 140);
    /* Corrected to lost: the 2140 paid comes back, 140 from the cash, 2000 as debt. */
    assert_int_equal(run(w, CMD_HOLD_RESETTLE,
                         wallet_cmd_hold_resettle("bet1", "football", 0, 1000, 0, "x")),
                     422);
    assert_int_equal(run(w, CMD_HOLD_RESETTLE,
                         wallet_cmd_hold_resettle("bet1", "football", 1, 1001, 0, "x")),
                     422);
    assert_int_equal(run(w, CMD_HOLD_RESETTLE,
                         wallet_cmd_hold_resettle("nope", "football", 1, 1000, 0, "x")),
                     404);
    assert_int_equal(run(w, CMD_HOLD_RESETTLE,
                         wallet_cmd_hold_resettle("bet1", "football", 1, 1000, 0, "VAR goal")),
                     200);
    assert_true(flag(w, "corrected"));
    assert_int_equal(vint(w, P1, "available"), 0);
    assert_int_equal(vint(w, P1, "debt"), 2000);
    assert_int_equal(vint(w, P1, "balance"), 11000);
    check_ok(w);
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("bet9", P1, "football", 1,
                                                                   60000)),
                     403);
    assert_string_equal(code(w), "debt_outstanding");
    /* Exactly once per generation. */
    assert_int_equal(run(w, CMD_HOLD_RESETTLE,
                         wallet_cmd_hold_resettle("bet1", "football", 1, 1000, 0, "VAR goal")),
                     200);
    assert_int_equal(field(w, "generation"), 1);
    assert_int_equal(vint(w, P1, "debt"), 2000);
    assert_int_equal(run(w, CMD_HOLD_RESETTLE,
                         wallet_cmd_hold_resettle("bet1", "football", 1, 1000, 50, "VAR goal")),
                     409);
    assert_string_equal(code(w), "resettle_conflict");
    /* Corrected back to won: the credit repays the debt first. */
    assert_int_equal(run(w, CMD_HOLD_RESETTLE,
                         wallet_cmd_hold_resettle("bet1", "football", 2, 1000, 2140, "reversed")),
                     200);
    assert_int_equal(vint(w, P1, "debt"), 0);
    assert_int_equal(vint(w, P1, "available"), 140);
    assert_int_equal(run(w, CMD_HOLD_RESETTLE,
                         wallet_cmd_hold_resettle("bet1", "football", 1, 1000, 0, "VAR goal")),
                     409);
    assert_string_equal(code(w), "resettle_superseded");
    /* A hold never resolved is resolved by its first re-settlement (void: 0 and 0). */
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("bet2", P1, "football", 100,
                                                                   60000)),
                     201);
    assert_int_equal(run(w, CMD_HOLD_RESETTLE,
                         wallet_cmd_hold_resettle("bet2", "football", 1, 0, 0, "void")),
                     200);
    assert_false(flag(w, "corrected"));
    assert_int_equal(vint(w, P1, "available"), 140);
    assert_int_equal(vint(w, P1, "held"), 11000); /* the withdrawal only */
    check_ok(w);
    /* The audit's view: bet1's transfers with their corrections amount to 1000 and 2140. */
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(w->f, &txn), 0);
    json_t *page = wallet_holds_page(w->f, txn, "football", "", 10);
    json_t *t = wallet_trj(w->f, txn, 2027);
    json_t *h1 = wallet_hold_get(w->f, txn, "bet1");
    fsm_read_end(txn);
    json_t *hold = json_array_get(json_object_get(page, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(hold, "id")), "bet1");
    int64_t st, po;
    bets_hold_effect(hold, &st, &po);
    assert_int_equal(st, 1000);
    assert_int_equal(po, 2140);
    /* place, post, stake, payout; r1: payout and its debt part; r2: payout, repay */
    assert_int_equal(json_array_size(json_object_get(hold, "transfers")), 8);
    assert_int_equal(json_integer_value(json_object_get(t, "stakes")), 1000);
    assert_int_equal(json_integer_value(json_object_get(t, "payouts")), 2140);
    assert_int_equal(json_integer_value(json_object_get(h1, "generation")), 2);
    json_decref(h1);
    json_decref(t);
    json_decref(page);
}

/* Many random operations: the check passes throughout and two state machines agree. */
static void random_run(void **state)
{
    struct w *w = *state;
    funded(w, 100000);
    player(w, P2, "two@example.com");
    assert_int_equal(run(w, CMD_WALLET_LIMITS, wallet_cmd_limits(P2, 100000, 100000, -1)), 200);
    deposit(w, P2, "d2", 50000);
    unsigned seed = 7;
    int placed = 0;
    for (int i = 0; i < 400; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = (seed >> 8) % 100;
        char id[32];
        const char *p = (seed >> 20) & 1 ? P1 : P2;
        w->now += 1000;
        if (r < 50 || placed == 0) {
            snprintf(id, sizeof id, "r%d", ++placed);
            run(w, CMD_HOLD_PLACE,
                wallet_cmd_hold_place(id, p, "football", 1 + (int64_t)((seed >> 4) % 3000), 20000));
        } else {
            snprintf(id, sizeof id, "r%d", 1 + (int)((seed >> 3) % (unsigned)placed));
            if (r < 75)
                run(w, CMD_HOLD_POST,
                    wallet_cmd_hold_post(id, "football", 1 + (int64_t)((seed >> 5) % 500),
                                         (int64_t)((seed >> 6) % 5000)));
            else if (r < 90)
                run(w, CMD_HOLD_VOID, wallet_cmd_hold_void(id, "football"));
            else
                run(w, CMD_HOLD_EXPIRE, wallet_cmd_hold_expire());
        }
    }
    check_ok(w);
    assert_true(vint(w, P1, "available") >= 0 && vint(w, P2, "available") >= 0);
}

/* The ban list's verdict (CMD_WALLET_BAN): deposits and holds refused with `banned` while it
 * stands, withdrawals still allowed (the money is the player's); lifted, play resumes. */
static void ban_list_verdict(void **state)
{
    struct w *w = *state;
    funded(w, 10000);
    assert_int_equal(run(w, CMD_WALLET_BAN, wallet_cmd_ban(P2, true, "ban_list")), 404);
    assert_string_equal(code(w), "no_such_player");
    assert_int_equal(run(w, CMD_WALLET_BAN, json_pack("{s:s, s:s}", "player_id", P1, "source",
                                                      "ban_list")),
                     422);
    assert_string_equal(code(w), "invalid_ban");
    assert_int_equal(run(w, CMD_WALLET_BAN, wallet_cmd_ban(P1, true, "ban_list")), 200);
    assert_true(flag(w, "changed"));
    assert_int_equal(run(w, CMD_WALLET_BAN, wallet_cmd_ban(P1, true, "ban_list")), 200);
    assert_false(flag(w, "changed"));
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b1", P1, "football", 100,
                                                                   60000)),
                     403);
    assert_string_equal(code(w), "banned");
    assert_int_equal(run(w, CMD_DEPOSIT_OPEN, wallet_cmd_deposit_open(P1, "d2", 100)), 403);
    assert_string_equal(code(w), "banned");
    json_t *v = view(w, P1);
    assert_non_null(json_object_get(v, "banned"));
    json_decref(v);
    verify(w, P1);
    assert_int_equal(run(w, CMD_WITHDRAW_OPEN, wallet_cmd_withdraw_open(P1, "w1", 4000)), 201);
    assert_int_equal(run(w, CMD_WALLET_BAN, wallet_cmd_ban(P1, false, "ban_list")), 200);
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b1", P1, "football", 100,
                                                                   60000)),
                     201);
    /* The leader's sweep reads the profiles a page at a time, with each one's ban source. */
    player(w, P2, "two@example.com");
    assert_int_equal(run(w, CMD_WALLET_LIMITS, wallet_cmd_limits(P2, 1000, -1, -1)), 200);
    assert_int_equal(run(w, CMD_WALLET_BAN, wallet_cmd_ban(P2, true, "ban_list")), 200);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(w->f, &txn), 0);
    json_t *p1 = wallet_profile_bans(w->f, txn, "", 1);
    json_t *p2 = wallet_profile_bans(w->f, txn, P1, 10);
    json_t *all = wallet_profile_bans(w->f, txn, NULL, 10);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(p1), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(p1, 0), "player_id")), P1);
    assert_true(json_is_null(json_object_get(json_array_get(p1, 0), "banned")));
    assert_int_equal(json_array_size(p2), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(p2, 0), "player_id")), P2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(p2, 0), "banned")),
                        "ban_list");
    assert_int_equal(json_array_size(all), 2);
    json_decref(p1);
    json_decref(p2);
    json_decref(all);
    check_ok(w);
}

static int64_t account_balance(struct w *w, const char *id)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(w->f, &txn), 0);
    json_t *a = wallet_account_get(w->f, txn, id);
    fsm_read_end(txn);
    int64_t b = a ? json_integer_value(json_object_get(a, "cpo")) -
                        json_integer_value(json_object_get(a, "dpo"))
                  : 0;
    json_decref(a);
    return b;
}

static bool close_due(struct w *w)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(w->f, &txn), 0);
    bool due = wallet_close_due(w->f, txn, w->now);
    fsm_read_end(txn);
    return due;
}

/* Provisional accounts: two months unverified, the leader's wallet_close (at its stamped time)
 * closes them and returns what is available: to the deposits' payment account as a withdrawal
 * the leader sends, or to sys:returns_due when there is none. Verified players are untouched;
 * money a pending hold returns later goes back at the next sweep. */
static void provisional_closure(void **state)
{
    struct w *w = *state;
    funded(w, 10000); /* P1: deposits from payment account acct_1 */
    player(w, P2, "two@example.com");
    assert_int_equal(run(w, CMD_WALLET_CORRECT,
                         wallet_cmd_correct("c1", "sys:house", "player:" P2, 500, "dep:d1",
                                            "goodwill credit, no deposit")),
                     201);
#define P3 "p_00000000000000000000000000000003"
    player(w, P3, "three@example.com");
    verify(w, P3);
    assert_int_equal(run(w, CMD_WALLET_LIMITS, wallet_cmd_limits(P3, 100000, 50000, -1)), 200);
    deposit(w, P3, "d3", 2000);
    w->now = T0 + 20 * 24 * HOUR;
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b1", P1, "football", 1000,
                                                                   30 * 24 * HOUR)),
                     201);
    /* Not yet two months: nothing is due, a close closes nothing. */
    w->now = T0 + 60 * 24 * HOUR;
    assert_false(close_due(w));
    assert_int_equal(run(w, CMD_WALLET_CLOSE, wallet_cmd_close()), 200);
    assert_int_equal(field(w, "closed"), 0);
    w->now = T0 + 61 * 24 * HOUR;
    assert_true(close_due(w));
    assert_int_equal(run(w, CMD_WALLET_CLOSE, wallet_cmd_close()), 200);
    assert_int_equal(field(w, "closed"), 2);
    assert_int_equal(field(w, "returned"), 9000 + 500);
    /* P1: 9000 held as a withdrawal to acct_1 (the bet's 1000 still held), sent by the
     * leader like any other; P2's 500 is in sys:returns_due. */
    assert_int_equal(vint(w, P1, "available"), 0);
    assert_int_equal(vint(w, P1, "held"), 10000);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(w->f, &txn), 0);
    json_t *todo = wallet_withdrawals_to_send(w->f, txn, 10);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(todo), 1);
    json_t *wd = json_array_get(todo, 0);
    assert_string_equal(json_string_value(json_object_get(wd, "account")), "acct_1");
    assert_int_equal(json_integer_value(json_object_get(wd, "amount")), 9000);
    char wid[100];
    snprintf(wid, sizeof wid, "%s", json_string_value(json_object_get(wd, "id")));
    json_decref(todo);
    assert_int_equal(strncmp(wid, "close:" P1 ":", 6 + 34 + 1), 0);
    assert_int_equal(account_balance(w, "sys:returns_due"), 500);
    assert_int_equal(vint(w, P2, "balance"), 0);
    assert_int_equal(vint(w, P3, "balance"), 2000);
    /* Closed for good: no deposit, no bet, even once verified. */
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b2", P1, "football", 100,
                                                                   60000)),
                     403);
    assert_string_equal(code(w), "account_closed");
    assert_int_equal(run(w, CMD_DEPOSIT_OPEN, wallet_cmd_deposit_open(P2, "d9", 100)), 403);
    assert_string_equal(code(w), "account_closed");
    assert_false(close_due(w));
    assert_int_equal(run(w, CMD_WALLET_CLOSE, wallet_cmd_close()), 200);
    assert_int_equal(field(w, "closed"), 0);
    /* The provider pays the closure's withdrawal out. */
    assert_int_equal(run(w, CMD_WITHDRAW_SENT, wallet_cmd_withdraw_sent(wid, "po_close")), 200);
    assert_int_equal(run(w, CMD_PAY_EVENT,
                         wallet_cmd_pay_event("standin", "evt_po_close", "payout_paid", "po_close",
                                              wid, 9000, NULL)),
                     200);
    assert_int_equal(vint(w, P1, "balance"), 1000);
    /* The bet is voided: its 1000 returns, and the next sweep sends it back too. */
    assert_int_equal(run(w, CMD_HOLD_VOID, wallet_cmd_hold_void("b1", "football")), 200);
    assert_true(close_due(w));
    assert_int_equal(run(w, CMD_WALLET_CLOSE, wallet_cmd_close()), 200);
    assert_int_equal(field(w, "closed"), 1);
    assert_int_equal(field(w, "returned"), 1000);
    assert_int_equal(vint(w, P1, "available"), 0);
    json_t *v = view(w, P1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "closed"), "returned")),
                     10000);
    json_decref(v);
    check_ok(w);
}

/* The automatic withdrawal: a credit that leaves a verified player's available balance above
 * their auto_withdraw threshold holds the excess as a withdrawal in the same command; not for
 * an unverified or blocked player, nor below the threshold. */
static void auto_withdraw(void **state)
{
    struct w *w = *state;
    player(w, P1, "one@example.com");
    cluster(w);
    verify(w, P1);
    assert_int_equal(run(w, CMD_WALLET_LIMITS, wallet_cmd_limits(P1, 100000, 50000, 5000)), 200);
    deposit(w, P1, "d1", 4000); /* below the threshold: nothing */
    assert_int_equal(vint(w, P1, "available"), 4000);
    assert_int_equal(vint(w, P1, "held"), 0);
    deposit(w, P1, "d2", 4000); /* 8000: the 3000 above 5000 go out */
    assert_int_equal(vint(w, P1, "balance"), 8000);
    assert_int_equal(vint(w, P1, "available"), 5000);
    assert_int_equal(vint(w, P1, "held"), 3000);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(w->f, &txn), 0);
    json_t *todo = wallet_withdrawals_to_send(w->f, txn, 10);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(todo), 1);
    json_t *wd = json_array_get(todo, 0);
    assert_int_equal(json_integer_value(json_object_get(wd, "amount")), 3000);
    assert_string_equal(json_string_value(json_object_get(wd, "reason")), "auto_withdraw");
    assert_string_equal(json_string_value(json_object_get(wd, "account")), "acct_1");
    json_decref(todo);
    /* A bet's payout over the threshold: the excess goes out in the post's own command. */
    assert_int_equal(run(w, CMD_HOLD_PLACE, wallet_cmd_hold_place("b1", P1, "football", 1000,
                                                                   60000)),
                     201);
    assert_int_equal(run(w, CMD_HOLD_POST, wallet_cmd_hold_post("b1", "football", 1000, 2500)),
                     200);
    assert_int_equal(vint(w, P1, "available"), 5000);
    assert_int_equal(vint(w, P1, "held"), 3000 + 1500);
    /* Blocked: no automatic withdrawal. */
    assert_int_equal(run(w, CMD_WALLET_BLOCK, wallet_cmd_block(P1, true, "under review")), 200);
    assert_int_equal(run(w, CMD_WALLET_BLOCK, wallet_cmd_block(P1, false, "reviewed")), 200);
    /* An unverified player with a threshold: nothing automatic. */
    player(w, P2, "two@example.com");
    assert_int_equal(run(w, CMD_WALLET_LIMITS, wallet_cmd_limits(P2, 100000, 50000, 100)), 200);
    deposit(w, P2, "d3", 4000);
    assert_int_equal(vint(w, P2, "available"), 4000);
    assert_int_equal(vint(w, P2, "held"), 0);
    check_ok(w);
}

int main(void)
{
    util_log_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(deposits, setup, teardown),
        cmocka_unit_test_setup_teardown(holds, setup, teardown),
        cmocka_unit_test_setup_teardown(hold_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(hold_batches_replayed, setup, teardown),
        cmocka_unit_test_setup_teardown(protection, setup, teardown),
        cmocka_unit_test_setup_teardown(stake_window, setup, teardown),
        cmocka_unit_test_setup_teardown(withdrawals, setup, teardown),
        cmocka_unit_test_setup_teardown(chargeback_and_corrections, setup, teardown),
        cmocka_unit_test_setup_teardown(random_run, setup, teardown),
        cmocka_unit_test_setup_teardown(ban_list_verdict, setup, teardown),
        cmocka_unit_test_setup_teardown(provisional_closure, setup, teardown),
        cmocka_unit_test_setup_teardown(auto_withdraw, setup, teardown),
        cmocka_unit_test_setup_teardown(resettle, setup, teardown),
        cmocka_unit_test_setup_teardown(block_and_ban_end_sessions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
