/* The command table (consensus/cmdtable.h): every command type has one row with a unique
 * number and name, codec.c's names and batchable answers come from it, unknown types are
 * refused; and a database written with the named databases of the layout before the table
 * (struct fsm listing every domain's) still opens, with its data, under the same names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <lmdb.h>
#include <raft.h>

#include "consensus/accounts.h"
#include "consensus/cmdtable.h"
#include "consensus/fixtures.h"
#include "consensus/fsm.h"
#include "consensus/idempotency.h"
#include "consensus/members.h"
#include "tests/unit/unit_util.h"

/* Type numbers, names and batchability as they were before the table: they are in Raft logs
 * and snapshots on disk, so none may change. */
static const struct
{
    unsigned type;
    const char* name;
    int batchable;
} WIRE[] = {
    {1, "fixture_create", 1},    {2, "fixture_update", 1},      {3, "member_set", 1},
    {4, "player_register", 1},   {5, "login_failed", 1},        {6, "session_create", 1},
    {7, "session_refresh", 1},   {8, "session_revoke", 1},      {9, "session_revoke_all", 1},
    {10, "signing_key_add", 1},  {11, "totp_enrol", 1},         {12, "totp_confirm", 1},
    {13, "fc_start", 1},         {14, "fc_link", 1},            {15, "doc_session", 1},
    {16, "doc_event", 1},        {17, "kyc_override", 1},       {18, "idem_expire", 1},
    {19, "member_key", 1},       {20, "observation_agreed", 0}, {21, "quote_round", 0},
    {22, "quote_published", 0},  {23, "markets_suspend", 0},
    /* Added since the table (wallet.c). */
    {24, "wallet_limits", 1},    {25, "wallet_exclude", 1},     {26, "wallet_block", 1},
    {27, "deposit_open", 1},     {28, "deposit_link", 1},       {29, "pay_event", 1},
    {30, "withdraw_open", 1},    {31, "withdraw_sent", 1},      {32, "hold_place", 1},
    {33, "hold_post", 1},        {34, "hold_void", 1},          {35, "hold_expire", 1},
    {36, "wallet_correct", 1},   {37, "wallet_cluster", 1},
    /* wallet.c: the ban list's verdict, provisional accounts closed. */
    {38, "wallet_ban", 1},       {39, "wallet_close", 1},
    /* oracle_state.c (43 is reserved). */
    {40, "oracle_signed", 1},    {41, "oracle_tx", 1},          {42, "oracle_done", 1},
    /* bets.c */
    {44, "bet_place", 1},        {45, "bet_limits", 1},         {46, "bet_hold_done", 1},
    {47, "bet_paid", 1},         {48, "bet_decide", 1},         {49, "bet_hold_voided", 1},
    {50, "bet_switch", 1},       {51, "bet_void", 1},
    {52, "secrets_reseal", 1},
    /* operators.c */
    {53, "operator_add", 1},     {54, "operator_set", 1},       {55, "mtoken_set", 1},
    {56, "admin", 1},
    /* bets_settle.c */
    {57, "bet_settle_more", 1},
    {60, "hold_batch", 0},
    {61, "bet_holds_done", 1},
    /* bets_resettle.c, wallet_resettle.c (58-64 are other branches' or the batch's) */
    {65, "bet_resettle", 1},     {66, "hold_resettle", 1},      {67, "bet_postponed", 1},
    {68, "bet_abandoned", 1},
    /* bets_cashout.c */
    {70, "bet_cashout_set", 1},  {71, "bet_cashout", 1},
    {72, "trader_set", 1},
    /* accounts_password.c (101 is reserved) */
    {100, "password_change", 1},
};
#define N_WIRE (sizeof WIRE / sizeof *WIRE)

/* The named databases of the layout before the table, in its order. */
static const char* const OLD_DBS[] = {
    "meta",           "fixtures",        "idem",         "idem_exp",       "members",
    "players",        "player_email",    "login_failures", "sessions",     "player_sessions",
    "signing_keys",   "totp",            "fc_logins",    "identities",     "doc_events",
    "member_keys",    "agreed_fixtures", "agreed_events", "agreed_results", "markets",
    "quotes",         "quote_events",    "results_order",
};
#define N_OLD_DBS (sizeof OLD_DBS / sizeof *OLD_DBS)

/* Databases added since (a domain's new ones are created when an old database is opened). */
static const char* const ADDED_DBS[] = {
    "wallet_accounts", "wallet_transfers", "wallet_statement",   "wallet_holds",
    "wallet_expiry",   "wallet_profiles",  "wallet_deposits",    "wallet_withdrawals",
    "wallet_events",   "wallet_clusters",  "wallet_stakes_7d",
    "bets",            "bet_exposure",     "bet_player",         "bet_fixture",
    "bet_pending",     "bet_config",       "bet_unpaid",         "bet_delayed",
    "bet_void",        "bet_events",
    "session_revocations",
    "oracle_results",  "oracle_txs",       "oracle_matches",
    "operators",       "operator_emails",  "machine_tokens",   "audit",
    "trader",
    "agreed_odds", /* observations.c: agreed market snapshots (issue 17) */
};
#define N_ADDED_DBS (sizeof ADDED_DBS / sizeof *ADDED_DBS)

static void test_every_type_one_row(void** state)
{
    (void)state;
    unsigned rows = 0;
    for (const struct fsm_domain* const* d = fsm_domains; *d; d++) {
        assert_non_null((*d)->name);
        for (const struct fsm_command* c = (*d)->commands; c->type; c++) {
            rows++;
            assert_non_null(c->name);
            assert_true(c->name[0] != 0);
            assert_non_null(c->apply);
            assert_true(c->type != CMD_BATCH);
            /* Unique: the lookup finds this very row, and no other row has its name. */
            assert_ptr_equal(cmdtable_find(c->type), c);
            for (const struct fsm_domain* const* e = fsm_domains; *e; e++)
                for (const struct fsm_command* o = (*e)->commands; o->type; o++)
                    if (o != c) {
                        assert_int_not_equal(o->type, c->type);
                        assert_string_not_equal(o->name, c->name);
                    }
            /* codec.c answers from the table. */
            assert_string_equal(cmd_type_name(c->type), c->name);
            assert_int_equal(cmd_batchable(c->type), c->batchable);
        }
    }
    assert_int_equal(rows, N_WIRE);
    assert_int_equal(CMD_TYPE_MAX, WIRE[N_WIRE - 1].type);
}

static void test_wire_numbers_unchanged(void** state)
{
    (void)state;
    for (size_t i = 0; i < N_WIRE; i++) {
        const struct fsm_command* c = cmdtable_find(WIRE[i].type);
        assert_non_null(c);
        assert_string_equal(c->name, WIRE[i].name);
        assert_int_equal(c->batchable, WIRE[i].batchable);
    }
    assert_string_equal(cmd_type_name(CMD_BATCH), "batch");
    assert_false(cmd_batchable(CMD_BATCH));
}

static void test_unknown_type_refused(void** state)
{
    (void)state;
    const unsigned unknown[] = {0, CMD_TYPE_MAX + 1, CMD_BATCH - 1, 0xffff};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        unsigned t = unknown[i];
        assert_null(cmdtable_find(t));
        assert_string_equal(cmd_type_name(t), "unknown");
        assert_false(cmd_batchable(t));
        uint8_t buf[128];
        struct cmd c = {.type = (uint16_t)t, .payload = "{}", .payload_len = 2};
        assert_int_equal(cmd_encode(&c, buf, sizeof buf), CMD_ETYPE);
        /* Encoded by hand (a known type, then renumbered): decode refuses it too. */
        c.type = CMD_FIXTURE_CREATE;
        assert_int_equal(cmd_encode(&c, buf, sizeof buf), CMD_OK);
        buf[6] = (uint8_t)t;
        buf[7] = (uint8_t)(t >> 8);
        struct cmd out;
        assert_int_equal(cmd_decode(buf, cmd_encoded_size(&c), &out), CMD_ETYPE);
    }
}

static void test_database_names_unique(void** state)
{
    (void)state;
    unsigned n = 0;
    for (const struct fsm_domain* const* d = fsm_domains; *d; d++)
        for (const char* const* name = (*d)->dbs; *name; name++) {
            n++;
            assert_string_not_equal(*name, "meta");
            for (const struct fsm_domain* const* e = fsm_domains; *e; e++)
                for (const char* const* o = (*e)->dbs; *o; o++)
                    if (o != name)
                        assert_string_not_equal(*o, *name);
        }
    assert_int_equal(n + 1, N_OLD_DBS + N_ADDED_DBS); /* + meta */
    assert_true(n + 1 <= FSM_DBIS_MAX);
}

static void put_text(MDB_txn* txn, MDB_dbi dbi, const void* k, size_t kl, const char* v)
{
    MDB_val key = {kl, (void*)k}, val = {strlen(v), (void*)v};
    assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
}

/* Write a database the way the layout before the table did: its 23 named databases opened
 * in its order, a fixture, a member, a player and last_applied. */
static void write_old_layout(const char* dir)
{
    MDB_env* env;
    MDB_txn* txn;
    MDB_dbi dbi[N_OLD_DBS];
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_mapsize(env, 64u << 20), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_NOTLS, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    for (size_t i = 0; i < N_OLD_DBS; i++)
        assert_int_equal(mdb_dbi_open(txn, OLD_DBS[i], MDB_CREATE, &dbi[i]), 0);
    put_text(txn, dbi[1], "old-1", 5,
             "{\"away\":\"B\",\"competition\":\"L1\",\"created_at\":\"2026-01-01T00:00:00Z\","
             "\"home\":\"A\",\"id\":\"old-1\",\"kickoff\":\"2026-11-28T15:00:00Z\","
             "\"sport\":\"football\",\"status\":\"scheduled\",\"updated_at\":"
             "\"2026-01-01T00:00:00Z\",\"version\":1}");
    const uint8_t member_key[8] = {0, 0, 0, 0, 0, 0, 0, 2};
    put_text(txn, dbi[4], member_key, 8,
             "{\"http_address\":\"127.0.0.1:8102\",\"id\":2,\"raft_address\":\"127.0.0.1:7102\"}");
    const char* pid = "p_0123456789abcdef0123456789abcdef";
    put_text(txn, dbi[5], pid, strlen(pid),
             "{\"created_at\":\"2026-01-01T00:00:00Z\",\"email\":\"old@example.org\",\"id\":"
             "\"p_0123456789abcdef0123456789abcdef\",\"password_hash\":\"$argon2id$x\","
             "\"version\":1}");
    put_text(txn, dbi[6], "old@example.org", 15, pid);
    const uint8_t seven[8] = {0, 0, 0, 0, 0, 0, 0, 7};
    put_text(txn, dbi[0], "last_applied", 12, "");
    MDB_val k = {12, "last_applied"}, v = {8, (void*)seven};
    assert_int_equal(mdb_put(txn, dbi[0], &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* The named databases of @f's environment (the main database's keys), checked against the
 * old list and the ones added since: the same names, no other. */
static void assert_same_names(struct fsm* f)
{
    MDB_txn* txn;
    MDB_cursor* cur;
    MDB_dbi main_db;
    assert_int_equal(fsm_read_begin(f, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &main_db), 0);
    assert_int_equal(mdb_cursor_open(txn, main_db, &cur), 0);
    MDB_val k, v;
    unsigned n = 0;
    for (int rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rv == 0;
         rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        int known = 0;
        for (size_t i = 0; i < N_OLD_DBS; i++)
            known |= k.mv_size == strlen(OLD_DBS[i]) && !memcmp(k.mv_data, OLD_DBS[i], k.mv_size);
        for (size_t i = 0; i < N_ADDED_DBS; i++)
            known |= k.mv_size == strlen(ADDED_DBS[i]) &&
                     !memcmp(k.mv_data, ADDED_DBS[i], k.mv_size);
        if (!known)
            fail_msg("a database the old layout did not have: %.*s", (int)k.mv_size,
                     (char*)k.mv_data);
        n++;
    }
    mdb_cursor_close(cur);
    fsm_read_end(txn);
    assert_int_equal(n, N_OLD_DBS + N_ADDED_DBS);
}

static void assert_old_data(struct fsm* f)
{
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(f, &txn), 0);
    json_t* fx = fixture_get(f, txn, "old-1");
    assert_non_null(fx);
    assert_string_equal(json_string_value(json_object_get(fx, "home")), "A");
    json_t* m = member_get(f, txn, 2);
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "http_address")), "127.0.0.1:8102");
    json_t* p = accounts_player_by_email(f, txn, "old@example.org");
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "id")),
                        "p_0123456789abcdef0123456789abcdef");
    json_decref(fx);
    json_decref(m);
    json_decref(p);
    fsm_read_end(txn);
}

static void test_old_layout_opens(void** state)
{
    (void)state;
    char* dir = util_tmpdir();
    write_old_layout(dir);
    struct fsm* f = util_fsm_open(dir);
    assert_int_equal(fsm_last_applied(f), 7);
    assert_old_data(f);
    assert_same_names(f);

    /* Commands still find their records under the old names. */
    struct util_result r;
    util_capture_results(f, &r);
    assert_int_equal(util_apply(f, &r, 8, CMD_FIXTURE_UPDATE, NULL, 0,
                                "{\"id\":\"old-1\",\"status\":\"live\"}"),
                     200);
    assert_int_equal(util_apply(f, &r, 9, CMD_PLAYER_REGISTER, NULL, 0,
                                "{\"id\":\"p_11111111111111111111111111111111\",\"email\":"
                                "\"old@example.org\",\"password_hash\":\"$argon2id$y\"}"),
                     409);
    assert_int_equal(fsm_flush(f), 0);
    assert_same_names(f);

    /* Its snapshot restores into a fresh state machine. */
    void* buf;
    size_t len;
    assert_int_equal(fsm_snapshot_now(f, &buf, &len), 0);
    char* dir2 = util_tmpdir();
    struct fsm* g = util_fsm_open(dir2);
    assert_int_equal(fsm_restore_buf(g, buf, len), 0);
    raft_free(buf);
    assert_int_equal(fsm_last_applied(g), 9);
    assert_old_data(g);
    assert_same_names(g);
    fsm_close(g);
    fsm_close(f);
    util_rmdir(dir2);
    util_rmdir(dir);
}

/* Apply a payload made by a domain's builder (@text, freed here) as a command of @type. */
static int apply_built(struct fsm* f, struct util_result* r, uint64_t index, uint16_t type,
                       char* text)
{
    assert_non_null(text);
    int status = util_apply(f, r, index, type, NULL, 0, text);
    free(text);
    return status;
}

static char* dump(json_t* payload)
{
    char* text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(payload);
    return text;
}

/* Each builder writes what its apply reads: the command goes through. */
static void test_builders_feed_their_apply(void** state)
{
    (void)state;
    char* dir = util_tmpdir();
    struct fsm* f = util_fsm_open(dir);
    struct util_result r;
    util_capture_results(f, &r);
    struct cmd c;
    char* text = members_cmd_set(&c, 4, "127.0.0.1:7104", "127.0.0.1:8104");
    assert_int_equal(c.type, CMD_MEMBER_SET);
    assert_int_equal(apply_built(f, &r, 1, c.type, text), 200);
    json_t* body = json_loads(util_fixture_json("b-1", "L1", "2026-11-28T15:00:00Z"), 0, NULL);
    char detail[256];
    assert_int_equal(fixture_check_create(body, "football", detail, sizeof detail), 0);
    text = fixtures_cmd_create(&c, body);
    json_decref(body);
    assert_int_equal(c.type, CMD_FIXTURE_CREATE);
    assert_int_equal(apply_built(f, &r, 2, c.type, text), 201);
    const char* pid = "p_00000000000000000000000000000001";
    assert_int_equal(apply_built(f, &r, 3, CMD_PLAYER_REGISTER,
                                 dump(accounts_cmd_register(pid, "b@example.org",
                                                            "$argon2id$v=19$x"))),
                     201);
    assert_int_equal(
        apply_built(f, &r, 4, CMD_LOGIN_FAILED, dump(accounts_cmd_login_failed(pid))), 401);
    assert_int_equal(apply_built(f, &r, 5, CMD_KYC_OVERRIDE,
                                 dump(accounts_cmd_kyc_override(pid, "manual_review", "checked"))),
                     200);
    assert_int_equal(apply_built(f, &r, 6, CMD_SESSION_REVOKE_ALL,
                                 dump(accounts_cmd_session_revoke(pid, NULL))),
                     200);
    text = idem_cmd_expire(&c, 1000);
    assert_int_equal(c.type, CMD_IDEM_EXPIRE);
    assert_int_equal(apply_built(f, &r, 7, c.type, text), 200);
    fsm_close(f);
    util_rmdir(dir);
}

int main(void)
{
    util_log_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_one_row),
        cmocka_unit_test(test_wire_numbers_unchanged),
        cmocka_unit_test(test_unknown_type_refused),
        cmocka_unit_test(test_database_names_unique),
        cmocka_unit_test(test_old_layout_opens),
        cmocka_unit_test(test_builders_feed_their_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
