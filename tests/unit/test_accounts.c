/* The accounts commands on the LMDB state machine without raft: registration, the sign-in
 * back-off (counted in replicated state, timed by the leader's stamp in each command), refresh
 * rotation with reuse detection, sign out everywhere, signing keys. Refusals change nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <raft.h>

#include "consensus/accounts.h"
#include "consensus/fsm.h"
#include "tests/unit/unit_util.h"

#define P1 "p_00000000000000000000000000000001"
#define P2 "p_00000000000000000000000000000002"
#define F1 "f0000000000000000000000000000001"
#define F2 "f0000000000000000000000000000002"
#define HASH "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
#define H(c) "\"" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c "\""

struct ctx
{
    char* dir;
    struct fsm* f;
    struct util_result r;
    uint64_t index;
};

static int setup(void** state)
{
    struct ctx* c = calloc(1, sizeof *c);
    c->dir = util_tmpdir();
    c->f = util_fsm_open(c->dir);
    util_capture_results(c->f, &c->r);
    *state = c;
    return 0;
}

static int teardown(void** state)
{
    struct ctx* c = *state;
    fsm_close(c->f);
    util_rmdir(c->dir);
    free(c);
    return 0;
}

/* Apply the next command; its leader time is 1700000000 s + index seconds. */
static int apply(struct ctx* c, uint16_t type, const char* payload)
{
    return util_apply(c->f, &c->r, ++c->index, type, NULL, 0, payload);
}

/* Apply at a given index (to move the leader's clock on). */
static int apply_at(struct ctx* c, uint64_t index, uint16_t type, const char* payload)
{
    c->index = index;
    return util_apply(c->f, &c->r, index, type, NULL, 0, payload);
}

static json_t* result(struct ctx* c)
{
    json_t* j = json_loads(c->r.body, 0, NULL);
    assert_non_null(j);
    return j;
}

static unsigned players(struct ctx* c)
{
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    unsigned n = accounts_player_count(c->f, txn);
    fsm_read_end(txn);
    return n;
}

static json_t* session(struct ctx* c, const char* fam)
{
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t* s = accounts_session_get(c->f, txn, fam);
    fsm_read_end(txn);
    return s;
}

static const char* reg(const char* id, const char* email)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "{\"id\":\"%s\",\"email\":\"%s\",\"password_hash\":\"%s\"}", id,
             email, HASH);
    return buf;
}

static void register_and_refusals(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P1, "alice@example.fr")), 201);
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P2, "alice@example.fr")), 409);
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P1, "other@example.fr")), 409);
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P2, "Not@Normalised.fr")), 422);
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg("p_xyz", "x@example.fr")), 422);
    assert_int_equal(
        apply(c, CMD_PLAYER_REGISTER,
              "{\"id\":\"" P2 "\",\"email\":\"b@example.fr\",\"password_hash\":\"plain\"}"),
        422);
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, "not json"), 400);
    assert_int_equal(players(c), 1);
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t* p = accounts_player_by_email(c->f, txn, "alice@example.fr");
    fsm_read_end(txn);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "id")), P1);
    json_decref(p);
}

static void email_normalisation(void** state)
{
    (void)state;
    char out[300];
    assert_int_equal(accounts_email_normalise("  Bob@Example.FR ", out, sizeof out), 0);
    assert_string_equal(out, "bob@example.fr");
    assert_int_equal(accounts_email_normalise("bob@localhost", out, sizeof out), -1);
    assert_int_equal(accounts_email_normalise("a@b@c.fr", out, sizeof out), -1);
    assert_int_equal(accounts_email_normalise("@example.fr", out, sizeof out), -1);
    assert_int_equal(accounts_email_normalise("a b@example.fr", out, sizeof out), -1);
    assert_int_equal(accounts_email_normalise("a@example.", out, sizeof out), -1);
}

static void backoff_schedule(void** state)
{
    (void)state;
    assert_int_equal(accounts_lock_ms(4), 0);
    assert_int_equal(accounts_lock_ms(5), 15000);
    assert_int_equal(accounts_lock_ms(6), 30000);
    assert_int_equal(accounts_lock_ms(10), 480000);
    assert_int_equal(accounts_lock_ms(11), 900000);
    assert_int_equal(accounts_lock_ms(1000), 900000);
}

#define FAILED "{\"player_id\":\"" P1 "\"}"
#define CREATE(fam, h) "{\"player_id\":\"" P1 "\",\"family\":\"" fam "\",\"refresh_hash\":" h "}"

static void failures_lock_and_reset(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P1, "alice@example.fr")), 201);
    for (int i = 1; i <= 4; i++)
        assert_int_equal(apply(c, CMD_LOGIN_FAILED, FAILED), 401);
    /* The fifth failure (index 6, time t0+6 s) locks for 15 s: until index 21. */
    assert_int_equal(apply(c, CMD_LOGIN_FAILED, FAILED), 401);
    json_t* j = result(c);
    assert_int_equal(json_integer_value(json_object_get(j, "failures")), 5);
    assert_int_equal(json_integer_value(json_object_get(j, "retry_after")), 15);
    json_decref(j);
    /* Locked: a failure is not counted, a success is refused, both 429 with the wait. */
    assert_int_equal(apply(c, CMD_LOGIN_FAILED, FAILED), 429);
    j = result(c);
    assert_int_equal(json_integer_value(json_object_get(j, "retry_after")), 14);
    json_decref(j);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, CREATE(F1, H("a"))), 429);
    assert_null(session(c, F1));
    /* After the lock the next failure counts (6) and locks twice as long. */
    assert_int_equal(apply_at(c, 21, CMD_LOGIN_FAILED, FAILED), 401);
    j = result(c);
    assert_int_equal(json_integer_value(json_object_get(j, "failures")), 6);
    assert_int_equal(json_integer_value(json_object_get(j, "retry_after")), 30);
    json_decref(j);
    assert_int_equal(apply_at(c, 50, CMD_SESSION_CREATE, CREATE(F1, H("a"))), 429);
    /* A success after the lock resets the count. */
    assert_int_equal(apply_at(c, 51, CMD_SESSION_CREATE, CREATE(F1, H("a"))), 201);
    MDB_txn* txn;
    unsigned n;
    uint64_t until;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    accounts_failures(c->f, txn, P1, &n, &until);
    fsm_read_end(txn);
    assert_int_equal(n, 0);
    assert_int_equal(until, 0);
    assert_int_equal(apply(c, CMD_LOGIN_FAILED, "{\"player_id\":\"" P2 "\"}"), 404);
}

#define REFRESH(fam, old, new) \
    "{\"family\":\"" fam "\",\"presented_hash\":" old ",\"new_hash\":" new "}"

static void refresh_rotation_and_reuse(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P1, "alice@example.fr")), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, CREATE(F1, H("a"))), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, CREATE(F1, H("b"))), 409); /* exists */
    assert_int_equal(apply(c, CMD_SESSION_REFRESH, REFRESH(F1, H("a"), H("b"))), 200);
    json_t* j = result(c);
    assert_string_equal(json_string_value(json_object_get(j, "token_check")), "bbbbbbbbbbbbbbbb");
    json_decref(j);
    assert_int_equal(apply(c, CMD_SESSION_REFRESH, REFRESH(F1, H("b"), H("c"))), 200);
    /* An unknown token changes nothing. */
    assert_int_equal(apply(c, CMD_SESSION_REFRESH, REFRESH(F1, H("9"), H("d"))), 401);
    json_t* s = session(c, F1);
    assert_false(json_is_true(json_object_get(s, "revoked")));
    json_decref(s);
    /* The first token again: reuse, the whole family is revoked. */
    assert_int_equal(apply(c, CMD_SESSION_REFRESH, REFRESH(F1, H("a"), H("d"))), 401);
    s = session(c, F1);
    assert_true(json_is_true(json_object_get(s, "revoked")));
    json_decref(s);
    /* Even the current token is refused now. */
    assert_int_equal(apply(c, CMD_SESSION_REFRESH, REFRESH(F1, H("c"), H("e"))), 401);
    assert_int_equal(apply(c, CMD_SESSION_REFRESH, REFRESH(F2, H("c"), H("e"))), 401);
}

#define F3 "f0000000000000000000000000000003"
#define LIMITED(fam, h, extra) \
    "{\"player_id\":\"" P1 "\",\"family\":\"" fam "\",\"refresh_hash\":" h "," extra "}"

/* A session unused for its idle_ms ends at the next refresh; one refreshed in time goes on
 * (the leader's clock moves one second an index). Its absolute lifetime is lifetime_ms. */
static void session_idle_and_lifetime(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P1, "alice@example.fr")), 201);
    assert_int_equal(apply_at(c, 10, CMD_SESSION_CREATE,
                              LIMITED(F1, H("a"), "\"idle_ms\":5000,\"lifetime_ms\":20000")),
                     201);
    json_t* j = result(c);
    assert_int_equal(json_integer_value(json_object_get(j, "expires_at_ms")),
                     (1700000000LL + 10) * 1000 + 20000);
    json_decref(j);
    assert_int_equal(apply_at(c, 14, CMD_SESSION_REFRESH, REFRESH(F1, H("a"), H("b"))), 200);
    assert_int_equal(apply_at(c, 18, CMD_SESSION_REFRESH, REFRESH(F1, H("b"), H("c"))), 200);
    /* Five seconds without use: ended, and the refusal changes nothing. */
    assert_int_equal(apply_at(c, 23, CMD_SESSION_REFRESH, REFRESH(F1, H("c"), H("d"))), 401);
    assert_non_null(strstr(c->r.body, "Session idle"));
    assert_int_equal(apply_at(c, 24, CMD_SESSION_REFRESH, REFRESH(F1, H("c"), H("d"))), 401);
    /* Used every 4 s, a session still ends at its lifetime. */
    assert_int_equal(apply_at(c, 40, CMD_SESSION_CREATE,
                              LIMITED(F2, H("e"), "\"idle_ms\":5000,\"lifetime_ms\":10000")),
                     201);
    assert_int_equal(apply_at(c, 44, CMD_SESSION_REFRESH, REFRESH(F2, H("e"), H("f"))), 200);
    assert_int_equal(apply_at(c, 48, CMD_SESSION_REFRESH, REFRESH(F2, H("f"), H("1"))), 200);
    assert_int_equal(apply_at(c, 50, CMD_SESSION_REFRESH, REFRESH(F2, H("1"), H("2"))), 401);
    assert_non_null(strstr(c->r.body, "Session expired"));
    /* Limits out of range are refused. */
    assert_int_equal(apply(c, CMD_SESSION_CREATE, LIMITED(F3, H("3"), "\"idle_ms\":0")), 422);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, LIMITED(F3, H("3"), "\"max_sessions\":\"2\"")),
                     422);
}

/* With max_sessions 2, a third sign-in ends the oldest open session (revoked, in the
 * revocation log) and leaves the others. */
static void session_bound_per_player(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P1, "alice@example.fr")), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, LIMITED(F1, H("a"), "\"max_sessions\":2")), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, LIMITED(F2, H("b"), "\"max_sessions\":2")), 201);
    json_t* s = session(c, F1);
    assert_false(json_is_true(json_object_get(s, "revoked")));
    json_decref(s);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, LIMITED(F3, H("c"), "\"max_sessions\":2")), 201);
    s = session(c, F1);
    assert_true(json_is_true(json_object_get(s, "revoked")));
    assert_string_equal(json_string_value(json_object_get(s, "revoked_reason")), "session limit");
    json_decref(s);
    s = session(c, F2);
    assert_false(json_is_true(json_object_get(s, "revoked")));
    json_decref(s);
    assert_int_equal(apply(c, CMD_SESSION_REFRESH, REFRESH(F1, H("a"), H("d"))), 401);
    assert_int_equal(apply(c, CMD_SESSION_REFRESH, REFRESH(F2, H("b"), H("e"))), 200);
    assert_int_equal(apply(c, CMD_SESSION_REFRESH, REFRESH(F3, H("c"), H("f"))), 200);
}

/* Sign-ins within one second: the oldest is the first by the leader's milliseconds, whatever
 * the session ids (created_at has whole seconds; F2 < F3 < F1 below). */
static void session_bound_within_one_second(void** state)
{
    struct ctx* c = *state;
    const uint64_t t = 1700000100000ull;
    assert_int_equal(util_apply_at(c->f, &c->r, 1, CMD_PLAYER_REGISTER, NULL, 0,
                                   reg(P1, "alice@example.fr"), t),
                     201);
    assert_int_equal(util_apply_at(c->f, &c->r, 2, CMD_SESSION_CREATE, NULL, 0,
                                   LIMITED(F3, H("a"), "\"max_sessions\":2"), t + 100),
                     201);
    assert_int_equal(util_apply_at(c->f, &c->r, 3, CMD_SESSION_CREATE, NULL, 0,
                                   LIMITED(F2, H("b"), "\"max_sessions\":2"), t + 400),
                     201);
    assert_int_equal(util_apply_at(c->f, &c->r, 4, CMD_SESSION_CREATE, NULL, 0,
                                   LIMITED(F1, H("c"), "\"max_sessions\":2"), t + 700),
                     201);
    json_t* s = session(c, F3);
    assert_true(json_is_true(json_object_get(s, "revoked")));
    assert_int_equal(json_integer_value(json_object_get(s, "created_at_ms")), (json_int_t)(t + 100));
    json_decref(s);
    s = session(c, F2);
    assert_false(json_is_true(json_object_get(s, "revoked")));
    json_decref(s);
    s = session(c, F1);
    assert_false(json_is_true(json_object_get(s, "revoked")));
    json_decref(s);
}

static void signout_everywhere(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P1, "alice@example.fr")), 201);
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P2, "bob@example.fr")), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, CREATE(F1, H("a"))), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, CREATE(F2, H("b"))), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE,
                           "{\"player_id\":\"" P2 "\",\"family\":\"f0000000000000000000000000000003"
                           "\",\"refresh_hash\":" H("c") "}"),
                     201);
    /* Bob cannot sign Alice's session out. */
    assert_int_equal(apply(c, CMD_SESSION_REVOKE, "{\"player_id\":\"" P2 "\",\"family\":\"" F1 "\"}"),
                     404);
    assert_int_equal(apply(c, CMD_SESSION_REVOKE_ALL, "{\"player_id\":\"" P1 "\"}"), 200);
    json_t* j = result(c);
    assert_int_equal(json_integer_value(json_object_get(j, "revoked")), 2);
    json_decref(j);
    json_t* s = session(c, "f0000000000000000000000000000003");
    assert_false(json_is_true(json_object_get(s, "revoked")));
    json_decref(s);
    assert_int_equal(apply(c, CMD_SESSION_REFRESH, REFRESH(F2, H("b"), H("d"))), 401);
    assert_int_equal(apply(c, CMD_SESSION_REVOKE_ALL, "{\"player_id\":\"" P1 "\"}"), 200);
    j = result(c);
    assert_int_equal(json_integer_value(json_object_get(j, "revoked")), 0);
    json_decref(j);
}

static size_t revocations(struct ctx* c, int64_t since_ms, size_t limit, json_t** out)
{
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t* j = accounts_revocations(c->f, txn, since_ms, limit);
    fsm_read_end(txn);
    size_t n = json_array_size(json_object_get(j, "items"));
    if (out)
        *out = j;
    else
        json_decref(j);
    return n;
}

/* Every revocation (sign-out, sign-out everywhere, refresh reuse) is logged with the leader's
 * time for sport nodes to poll, oldest first, and forgotten after the retention. */
static void revocation_log(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P1, "alice@example.fr")), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, CREATE(F1, H("a"))), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, CREATE(F2, H("b"))), 201);
    assert_int_equal(revocations(c, 0, 100, NULL), 0);
    assert_int_equal(apply(c, CMD_SESSION_REVOKE, "{\"player_id\":\"" P1 "\",\"family\":\"" F1 "\"}"),
                     200);
    uint64_t first = c->index;
    /* Signing out twice logs it once. */
    assert_int_equal(apply(c, CMD_SESSION_REVOKE, "{\"player_id\":\"" P1 "\",\"family\":\"" F1 "\"}"),
                     200);
    /* Reuse of a rotated refresh token revokes the family. */
    assert_int_equal(apply(c, CMD_SESSION_REFRESH, REFRESH(F2, H("b"), H("c"))), 200);
    assert_int_equal(apply(c, CMD_SESSION_REFRESH, REFRESH(F2, H("b"), H("d"))), 401);
    json_t* j;
    assert_int_equal(revocations(c, 0, 100, &j), 2);
    json_t* items = json_object_get(j, "items");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "session_id")), F1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "session_id")), F2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "player_id")), P1);
    int64_t at0 = json_integer_value(json_object_get(json_array_get(items, 0), "at_ms"));
    int64_t at1 = json_integer_value(json_object_get(json_array_get(items, 1), "at_ms"));
    assert_int_equal(at0, (1700000000LL + (int64_t)first) * 1000);
    assert_true(at1 > at0);
    json_decref(j);
    /* Paging: since the second one's time; a limit says there is more. */
    assert_int_equal(revocations(c, at1, 100, NULL), 1);
    assert_int_equal(revocations(c, 0, 1, &j), 1);
    assert_true(json_is_true(json_object_get(j, "more")));
    json_decref(j);
    /* Past the retention, the next revocation forgets the old ones. */
    assert_int_equal(apply(c, CMD_SESSION_CREATE, "{\"player_id\":\"" P1 "\",\"family\":\""
                                                  "f0000000000000000000000000000003\","
                                                  "\"refresh_hash\":" H("e") "}"),
                     201);
    assert_int_equal(apply_at(c, c->index + ACCOUNTS_REVOCATION_KEEP_S + 10, CMD_SESSION_REVOKE_ALL,
                              "{\"player_id\":\"" P1 "\"}"),
                     200);
    assert_int_equal(revocations(c, 0, 100, &j), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "session_id")),
        "f0000000000000000000000000000003");
    json_decref(j);
}

static const char* key(const char* kid, bool if_none)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"kid\":\"%s\",%s\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"%s\","
             "\"d\":\"dd\",\"x\":\"xx\",\"y\":\"yy\"}}",
             kid, if_none ? "\"if_none\":true," : "", kid);
    return buf;
}

static void signing_keys_rotate(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(apply(c, CMD_SIGNING_KEY_ADD, key("k1", true)), 201);
    assert_int_equal(apply(c, CMD_SIGNING_KEY_ADD, key("k9", true)), 409);
    assert_int_equal(apply(c, CMD_SIGNING_KEY_ADD, key("k1", false)), 409);
    assert_int_equal(apply(c, CMD_SIGNING_KEY_ADD, "{\"kid\":\"k2\",\"jwk\":{\"kty\":\"RSA\"}}"),
                     422);
    assert_int_equal(apply(c, CMD_SIGNING_KEY_ADD, key("k2", false)), 201);
    assert_int_equal(apply(c, CMD_SIGNING_KEY_ADD, key("k3", false)), 201);
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t* keys = accounts_signing_keys(c->f, txn);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(keys), 2); /* the current one and the one before */
    assert_string_equal(json_string_value(json_object_get(json_array_get(keys, 0), "kid")), "k2");
    assert_string_equal(json_string_value(json_object_get(json_array_get(keys, 1), "kid")), "k3");
    json_decref(keys);
}

/* Every stored secret as "table/id/field=value" lines, in order. */
static char* secrets_text(struct ctx* c)
{
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t* all = accounts_secrets(c->f, txn);
    fsm_read_end(txn);
    static char buf[2048];
    buf[0] = 0;
    size_t i;
    json_t* it;
    json_array_foreach(all, i, it)
    {
        char line[300];
        snprintf(line, sizeof line, "%s/%s/%s=%s\n", json_string_value(json_object_get(it, "table")),
                 json_string_value(json_object_get(it, "id")),
                 json_string_value(json_object_get(it, "field")),
                 json_string_value(json_object_get(it, "value")));
        strcat(buf, line);
    }
    json_decref(all);
    return buf;
}

#define ITEM(table, id, field, old, new)                                                        \
    "{\"table\":\"" table "\",\"id\":\"" id "\",\"field\":\"" field "\",\"old\":\"" old      \
    "\",\"new\":\"" new "\"}"

static void secrets_reseal_compare_and_swap(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P1, "alice@example.fr")), 201);
    assert_int_equal(apply(c, CMD_SIGNING_KEY_ADD, key("k1", false)), 201);
    assert_int_equal(apply(c, CMD_TOTP_ENROL,
                           "{\"player_id\":\"" P1 "\",\"secret\":\"sealed:v1:a:SSSSSSSS\","
                           "\"uri\":\"sealed:v1:a:UUUU\"}"),
                     201);
    assert_string_equal(secrets_text(c), "signing_key/k1/d=dd\n"
                                         "totp/" P1 "/secret=sealed:v1:a:SSSSSSSS\n"
                                         "totp/" P1 "/uri=sealed:v1:a:UUUU\n");
    /* Refused shapes change nothing. */
    static const char* const bad[] = {
        "{}",
        "{\"items\":[]}",
        "{\"items\":[" ITEM("players", P1, "secret", "x", "sealed:v1:b:Q") "]}",
        "{\"items\":[" ITEM("totp", P1, "last_step", "x", "sealed:v1:b:Q") "]}",
        "{\"items\":[" ITEM("signing_key", "k1", "x", "dd", "sealed:v1:b:Q") "]}",
        "{\"items\":[" ITEM("totp", P1, "secret", "sealed:v1:a:SSSSSSSS", "in clear") "]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(apply(c, CMD_SECRETS_RESEAL, bad[i]), 422);
    /* Only values that still hold what the node read are replaced. */
    assert_int_equal(
        apply(c, CMD_SECRETS_RESEAL,
              "{\"items\":[" ITEM("signing_key", "k1", "d", "dd", "sealed:v1:b:DD") ","
              ITEM("totp", P1, "secret", "sealed:v1:a:SSSSSSSS", "sealed:v1:b:SS") ","
              ITEM("totp", P1, "uri", "sealed:v1:a:STALE", "sealed:v1:b:UU") ","
              ITEM("totp", P2, "uri", "x", "sealed:v1:b:UU") ","
              ITEM("signing_key", "k9", "d", "dd", "sealed:v1:b:DD") "]}"),
        200);
    json_t* j = result(c);
    assert_int_equal(json_integer_value(json_object_get(j, "resealed")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "skipped")), 3);
    json_decref(j);
    assert_string_equal(secrets_text(c), "signing_key/k1/d=sealed:v1:b:DD\n"
                                         "totp/" P1 "/secret=sealed:v1:b:SS\n"
                                         "totp/" P1 "/uri=sealed:v1:a:UUUU\n");
    /* The key's public part is untouched. */
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t* keys = accounts_signing_keys(c->f, txn);
    fsm_read_end(txn);
    json_t* jwk = json_object_get(json_array_get(keys, 0), "jwk");
    assert_string_equal(json_string_value(json_object_get(jwk, "x")), "xx");
    assert_string_equal(json_string_value(json_object_get(jwk, "kid")), "k1");
    json_decref(keys);
}

#define F3 "f0000000000000000000000000000003"
#define F4 "f0000000000000000000000000000004"
#define F5 "f0000000000000000000000000000005"
#define SF(fam, extra) \
    "{\"player_id\":\"" P1 "\",\"family\":\"" fam "\",\"refresh_hash\":" H("a") extra "}"

static void totp_single_use(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P1, "alice@example.fr")), 201);
    const char* enrol = "{\"player_id\":\"" P1 "\",\"secret\":\"JBSWY3DPEHPK3PXPJBSWY3DP\","
                        "\"uri\":\"otpauth://totp/Parlay:alice\"}";
    assert_int_equal(apply(c, CMD_TOTP_CONFIRM,
                           "{\"player_id\":\"" P1 "\",\"step\":100,\"recovery_hashes\":[" H("e")
                           "]}"),
                     409); /* not enrolled yet */
    assert_int_equal(apply(c, CMD_TOTP_ENROL, enrol), 201);
    /* Enrolled but not confirmed: sign-in needs no second factor yet. */
    assert_int_equal(apply(c, CMD_SESSION_CREATE, SF(F1, "")), 201);
    assert_int_equal(apply(c, CMD_TOTP_CONFIRM,
                           "{\"player_id\":\"" P1 "\",\"step\":100,\"recovery_hashes\":[" H("e")
                           "," H("f") "]}"),
                     200);
    assert_int_equal(apply(c, CMD_TOTP_ENROL, enrol), 409);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, SF(F2, "")), 401);
    assert_null(session(c, F2));
    assert_int_equal(apply(c, CMD_SESSION_CREATE, SF(F2, ",\"totp_step\":100")), 401);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, SF(F2, ",\"totp_step\":101")), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, SF(F3, ",\"totp_step\":101")), 401);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, SF(F3, ",\"recovery_hash\":" H("f"))), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, SF(F4, ",\"recovery_hash\":" H("f"))), 401);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, SF(F4, ",\"recovery_hash\":" H("9"))), 401);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, SF(F5, ",\"recovery_hash\":" H("e"))), 201);
    assert_null(session(c, F4));
}

#define ST1 "state0000000000000000000000000000000000001"
#define ST2 "state0000000000000000000000000000000000002"
#define ST3 "state0000000000000000000000000000000000003"
#define ST4 "state0000000000000000000000000000000000004"
#define KEY64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define KEYM "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static const char* fc_start(const char* player, const char* st)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"player_id\":\"%s\",\"state\":\"%s\",\"nonce\":\"nonce000000000000000000000\","
             "\"authorize_url\":\"https://fc/authorize\"}",
             player, st);
    return buf;
}

static const char* fc_link(const char* player, const char* st, bool adult, const char* key,
                           const char* sub)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"player_id\":\"%s\",\"state\":\"%s\",\"adult\":%s,\"idkey\":\"%s\","
             "\"identity\":{\"issuer\":\"https://fc\",\"sub\":\"%s\",\"family_name\":\"DUBOIS\"}}",
             player, st, adult ? "true" : "false", key, sub);
    return buf;
}

static void franceconnect_rules(void** state)
{
    struct ctx* c = *state;
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P1, "alice@example.fr")), 201);
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P2, "bob@example.fr")), 201);
    /* A state that was never started, or started for someone else: refused. */
    assert_int_equal(apply(c, CMD_FC_LINK, fc_link(P1, ST1, true, KEY64, "s1")), 400);
    assert_int_equal(apply(c, CMD_FC_START, fc_start(P1, ST1)), 201);
    assert_int_equal(apply(c, CMD_FC_START, fc_start(P1, ST1)), 409);
    assert_int_equal(apply(c, CMD_FC_LINK, fc_link(P2, ST1, true, KEY64, "s1")), 400);
    assert_int_equal(apply(c, CMD_FC_LINK, fc_link(P1, ST1, true, KEY64, "s1")), 201);
    /* A replayed state is refused. */
    assert_int_equal(apply(c, CMD_FC_LINK, fc_link(P1, ST1, true, KEY64, "s1")), 409);
    /* The same person (identity key) or the same subject for another account: refused. */
    assert_int_equal(apply(c, CMD_FC_START, fc_start(P2, ST2)), 201);
    assert_int_equal(apply(c, CMD_FC_LINK, fc_link(P2, ST2, true, KEY64, "s2")), 409);
    assert_int_equal(apply(c, CMD_FC_START, fc_start(P2, ST3)), 201);
    assert_int_equal(apply(c, CMD_FC_LINK, fc_link(P2, ST3, true, KEYM, "s1")), 409);
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t* p = accounts_player_get(c->f, txn, P2);
    fsm_read_end(txn);
    assert_null(json_object_get(p, "identity"));
    json_decref(p);
    /* Under 18 is refused and remembered: the same person later is still refused. */
    assert_int_equal(apply(c, CMD_FC_START, fc_start(P2, ST4)), 201);
    assert_int_equal(apply(c, CMD_FC_LINK, fc_link(P2, ST4, false, KEYM, "s3")), 403);
    assert_int_equal(apply(c, CMD_FC_START, fc_start(P2, "state0000000000000000000000000000000000005")),
                     201);
    assert_int_equal(apply(c, CMD_FC_LINK, fc_link(P2, "state0000000000000000000000000000000000005",
                                                   true, KEYM, "s3")),
                     403);
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    p = accounts_player_get(c->f, txn, P1);
    fsm_read_end(txn);
    assert_string_equal(json_string_value(json_object_get(p, "kyc_status")), "verified");
    json_decref(p);

    /* Sign-in with FranceConnect: only for the linked subject's player, state spent once, no
     * password back-off (Alice is locked by failures, yet FranceConnect lets her in). */
#define SIGNIN_START(st)                                                                   \
    "{\"signin\":true,\"state\":\"" st "\",\"nonce\":\"nonce000000000000000000000\","   \
    "\"authorize_url\":\"https://fc/a\"}"
#define FCS(player, fam, st, sub)                                                         \
    "{\"player_id\":\"" player "\",\"family\":\"" fam "\",\"refresh_hash\":" H("a")      \
    ",\"fc_state\":\"" st "\",\"fc_subkey\":\"https://fc " sub "\"}"
#define SS1 "state0000000000000000000000000000000000011"
    for (int i = 0; i < 5; i++)
        assert_int_equal(apply(c, CMD_LOGIN_FAILED, "{\"player_id\":\"" P1 "\"}"), 401);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, FCS(P1, F1, SS1, "s1")), 400); /* not started */
    assert_int_equal(apply(c, CMD_FC_START, SIGNIN_START(SS1)), 201);
    assert_int_equal(apply(c, CMD_FC_LINK, fc_link(P1, SS1, true, KEY64, "s1")), 400);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, FCS(P2, F1, SS1, "s1")), 404);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, FCS(P1, F1, SS1, "s1")), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, FCS(P1, F2, SS1, "s1")), 409);
}

static const char* doc_event(const char* ev, const char* status)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"provider\":\"veriff-like\",\"event_id\":\"%s\",\"reference\":\"" P1
             "\",\"status\":\"%s\",\"raw_status\":\"x\",\"timestamp\":1}",
             ev, status);
    return buf;
}

static const char* player_field(struct ctx* c, const char* id, const char* field, char* out)
{
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t* p = accounts_player_get(c->f, txn, id);
    fsm_read_end(txn);
    json_t* v = json_object_get(p, field);
    if (json_is_string(v))
        strcpy(out, json_string_value(v));
    else
        sprintf(out, "%zu", json_array_size(v));
    json_decref(p);
    return out;
}

static void document_check_events(void** state)
{
    struct ctx* c = *state;
    char buf[64];
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P1, "alice@example.fr")), 201);
    assert_int_equal(apply(c, CMD_DOC_SESSION,
                           "{\"player_id\":\"" P1 "\",\"provider\":\"veriff-like\","
                           "\"session_id\":\"s-1\",\"url\":\"http://h/1\"}"),
                     201);
    assert_string_equal(player_field(c, P1, "kyc_status", buf), "pending");
    assert_int_equal(apply(c, CMD_DOC_EVENT, doc_event("e1", "manual_review")), 200);
    assert_string_equal(player_field(c, P1, "kyc_status", buf), "manual_review");
    /* The same event again: processed once. */
    assert_int_equal(apply(c, CMD_DOC_EVENT, doc_event("e1", "manual_review")), 200);
    assert_non_null(strstr(c->r.body, "\"duplicate\":true"));
    assert_string_equal(player_field(c, P1, "kyc_history", buf), "2");
    assert_int_equal(apply(c, CMD_DOC_EVENT, doc_event("e2", "approved")), 200);
    assert_string_equal(player_field(c, P1, "kyc_status", buf), "verified");
    /* A decision is final: a later event is kept in the history only. */
    assert_int_equal(apply(c, CMD_DOC_EVENT, doc_event("e3", "declined")), 200);
    assert_string_equal(player_field(c, P1, "kyc_status", buf), "verified");
    assert_string_equal(player_field(c, P1, "kyc_history", buf), "4");
    assert_int_equal(apply(c, CMD_DOC_EVENT, doc_event("e4", "bogus")), 422);
    assert_int_equal(apply(c, CMD_DOC_SESSION,
                           "{\"player_id\":\"" P1 "\",\"provider\":\"veriff-like\","
                           "\"session_id\":\"s-2\",\"url\":\"http://h/2\"}"),
                     409);
    /* An operator may undo a decision, with a reason that is kept. */
    assert_int_equal(apply(c, CMD_KYC_OVERRIDE,
                           "{\"player_id\":\"" P1 "\",\"status\":\"declined\",\"reason\":\"no\"}"),
                     422);
    assert_int_equal(apply(c, CMD_KYC_OVERRIDE,
                           "{\"player_id\":\"" P1 "\",\"status\":\"declined\",\"reason\":"
                           "\"forged document\"}"),
                     200);
    assert_string_equal(player_field(c, P1, "kyc_status", buf), "declined");
    assert_string_equal(player_field(c, P1, "kyc_history", buf), "5");
    assert_int_equal(apply(c, CMD_KYC_OVERRIDE,
                           "{\"player_id\":\"" P2 "\",\"status\":\"declined\",\"reason\":"
                           "\"forged document\"}"),
                     404);
}

/* The KYC review queue: players of one status in id order, paged with 'after', "none" for
 * players with no status yet, password hashes never returned. */
static void kyc_queue(void** state)
{
    struct ctx* c = *state;
    char id[40], email[64], next[40];
    for (int i = 1; i <= 7; i++) {
        snprintf(id, sizeof id, "p_%032d", i);
        snprintf(email, sizeof email, "p%d@example.fr", i);
        assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(id, email)), 201);
        if (i % 2) { /* 1, 3, 5, 7 to manual review */
            char body[256];
            snprintf(body, sizeof body,
                     "{\"player_id\":\"%s\",\"status\":\"manual_review\",\"reason\":\"blurred "
                     "photo\"}",
                     id);
            assert_int_equal(apply(c, CMD_KYC_OVERRIDE, body), 200);
        }
    }
    MDB_txn* txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t* all = accounts_players_by_kyc(c->f, txn, "manual_review", NULL, 10, next, sizeof next);
    assert_int_equal(json_array_size(all), 4);
    assert_string_equal(next, "");
    assert_null(json_object_get(json_array_get(all, 0), "password_hash"));
    json_t* page1 = accounts_players_by_kyc(c->f, txn, "manual_review", NULL, 3, next, sizeof next);
    assert_int_equal(json_array_size(page1), 3);
    assert_string_equal(next, "p_00000000000000000000000000000005");
    json_t* page2 = accounts_players_by_kyc(c->f, txn, "manual_review", next, 3, next, sizeof next);
    assert_int_equal(json_array_size(page2), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(page2, 0), "id")),
                        "p_00000000000000000000000000000007");
    assert_string_equal(next, "");
    json_t* none = accounts_players_by_kyc(c->f, txn, "none", NULL, 10, next, sizeof next);
    assert_int_equal(json_array_size(none), 3); /* 2, 4, 6 */
    json_t* verified = accounts_players_by_kyc(c->f, txn, "verified", NULL, 10, next, sizeof next);
    assert_int_equal(json_array_size(verified), 0);
    fsm_read_end(txn);
    json_decref(all);
    json_decref(page1);
    json_decref(page2);
    json_decref(none);
    json_decref(verified);
}

/* A password change (CMD_PASSWORD_CHANGE) replaces the hash only while it is still the one the
 * node checked, keeps the request's session and revokes the player's others (logged for sport
 * nodes); every refusal changes nothing. */
#define HASH2 "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdG5ld3NhbHQ$bmV3aGFzaG5ld2hhc2huZXdoYXNobmV3aGFzaG5ldw"
#define HASH3 "$argon2id$v=19$m=19456,t=2,p=1$dGhpcmRzYWx0dGhpcmQ$dGhpcmRoYXNodGhpcmRoYXNodGhpcmRoYXNodGhpcmQ"

static const char* change(const char* player, const char* fam, const char* old, const char* hash,
                          const char* extra)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"player_id\":\"%s\",\"session_id\":\"%s\",\"old_hash\":\"%s\","
             "\"password_hash\":\"%s\"%s}",
             player, fam, old, hash, extra);
    return buf;
}

static void assert_code(struct ctx* c, const char* code)
{
    json_t* j = result(c);
    assert_string_equal(json_string_value(json_object_get(j, "code")), code);
    json_decref(j);
}

static bool revoked(struct ctx* c, const char* fam)
{
    json_t* s = session(c, fam);
    assert_non_null(s);
    bool r = json_is_true(json_object_get(s, "revoked"));
    json_decref(s);
    return r;
}

static void password_change(void** state)
{
    struct ctx* c = *state;
    char out[256];
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P1, "alice@example.fr")), 201);
    assert_int_equal(apply(c, CMD_PLAYER_REGISTER, reg(P2, "bob@example.fr")), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, CREATE(F1, H("a"))), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, CREATE(F2, H("b"))), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE, CREATE(F3, H("c"))), 201);
    assert_int_equal(apply(c, CMD_SESSION_CREATE,
                           "{\"player_id\":\"" P2 "\",\"family\":\"" F4 "\",\"refresh_hash\":" H("d")
                           "}"),
                     201);
    assert_int_equal(apply(c, CMD_SESSION_REVOKE, "{\"player_id\":\"" P1 "\",\"family\":\"" F3 "\"}"),
                     200);
    size_t logged = revocations(c, 0, 100, NULL);

    /* Refusals: an unknown player, malformed commands, another player's session, a session
     * ended, a hash that is no longer the one checked. */
    assert_int_equal(apply(c, CMD_PASSWORD_CHANGE,
                           change("p_00000000000000000000000000000009", F1, HASH, HASH2, "")),
                     404);
    assert_int_equal(apply(c, CMD_PASSWORD_CHANGE, change(P1, F1, HASH, "plain", "")), 422);
    assert_int_equal(apply(c, CMD_PASSWORD_CHANGE, change(P1, "f1", HASH, HASH2, "")), 422);
    assert_int_equal(apply(c, CMD_PASSWORD_CHANGE,
                           change(P1, F1, HASH, HASH2, ",\"totp_step\":5,\"recovery_hash\":" H("e"))),
                     422);
    assert_int_equal(apply(c, CMD_PASSWORD_CHANGE, "not json"), 400);
    assert_int_equal(apply(c, CMD_PASSWORD_CHANGE, change(P1, F4, HASH, HASH2, "")), 401);
    assert_code(c, "session_ended");
    assert_int_equal(apply(c, CMD_PASSWORD_CHANGE, change(P1, F3, HASH, HASH2, "")), 401);
    assert_code(c, "session_ended");
    assert_int_equal(apply(c, CMD_PASSWORD_CHANGE, change(P1, F1, HASH3, HASH2, "")), 409);
    assert_code(c, "password_changed");
    assert_string_equal(player_field(c, P1, "password_hash", out), HASH);
    assert_false(revoked(c, F1));
    assert_false(revoked(c, F2));
    assert_int_equal(revocations(c, 0, 100, NULL), logged);

    /* The change: the new hash stored, F1 (the request's) kept, F2 revoked and logged, Bob's
     * session untouched. */
    assert_int_equal(apply(c, CMD_LOGIN_FAILED, FAILED), 401);
    assert_int_equal(apply(c, CMD_PASSWORD_CHANGE, change(P1, F1, HASH, HASH2, "")), 200);
    json_t* j = result(c);
    assert_int_equal(json_integer_value(json_object_get(j, "sessions_revoked")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "session_id")), F1);
    json_decref(j);
    assert_string_equal(player_field(c, P1, "password_hash", out), HASH2);
    assert_false(revoked(c, F1));
    assert_true(revoked(c, F2));
    json_t* s = session(c, F2);
    assert_string_equal(json_string_value(json_object_get(s, "revoked_reason")), "password changed");
    json_decref(s);
    assert_false(revoked(c, F4));
    assert_int_equal(revocations(c, 0, 100, NULL), logged + 1);
    MDB_txn* txn;
    unsigned n;
    uint64_t until;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    accounts_failures(c->f, txn, P1, &n, &until);
    json_t* p = accounts_player_get(c->f, txn, P1);
    fsm_read_end(txn);
    assert_int_equal(n, 0); /* the current password was proven: the count starts again */
    assert_int_equal(json_integer_value(json_object_get(p, "version")), 2);
    assert_non_null(json_object_get(p, "password_changed_at"));
    json_decref(p);
    /* The same command again: its old hash is no longer current. */
    assert_int_equal(apply(c, CMD_PASSWORD_CHANGE, change(P1, F1, HASH, HASH2, "")), 409);

    /* Locked by the sign-in back-off: refused, nothing changes. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(apply(c, CMD_LOGIN_FAILED, FAILED), 401);
    assert_int_equal(apply(c, CMD_PASSWORD_CHANGE, change(P1, F1, HASH2, HASH3, "")), 429);
    assert_code(c, "too_many_failures");
    assert_string_equal(player_field(c, P1, "password_hash", out), HASH2);

    /* A confirmed second factor: the change needs an unused code. */
    c->index += 60; /* past the lock */
    assert_int_equal(apply(c, CMD_TOTP_ENROL,
                           "{\"player_id\":\"" P1 "\",\"secret\":\"JBSWY3DPEHPK3PXPJBSWY3DP\","
                           "\"uri\":\"otpauth://totp/Parlay:alice\"}"),
                     201);
    assert_int_equal(apply(c, CMD_TOTP_CONFIRM,
                           "{\"player_id\":\"" P1 "\",\"step\":100,\"recovery_hashes\":[" H("e")
                           "]}"),
                     200);
    assert_int_equal(apply(c, CMD_PASSWORD_CHANGE, change(P1, F1, HASH2, HASH3, "")), 401);
    assert_code(c, "second_factor_required");
    assert_int_equal(apply(c, CMD_PASSWORD_CHANGE,
                           change(P1, F1, HASH2, HASH3, ",\"totp_step\":100")),
                     401);
    assert_code(c, "invalid_second_factor");
    assert_int_equal(apply(c, CMD_PASSWORD_CHANGE,
                           change(P1, F1, HASH2, HASH3, ",\"recovery_hash\":" H("9"))),
                     401);
    assert_code(c, "invalid_second_factor");
    assert_string_equal(player_field(c, P1, "password_hash", out), HASH2);
    assert_int_equal(apply(c, CMD_PASSWORD_CHANGE,
                           change(P1, F1, HASH2, HASH3, ",\"totp_step\":101")),
                     200);
    assert_string_equal(player_field(c, P1, "password_hash", out), HASH3);
    /* The step is spent: a sign-in with it is refused. */
    assert_int_equal(apply(c, CMD_SESSION_CREATE, SF(F5, ",\"totp_step\":101")), 401);
}

int main(void)
{
    util_log_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(register_and_refusals, setup, teardown),
        cmocka_unit_test(email_normalisation),
        cmocka_unit_test(backoff_schedule),
        cmocka_unit_test_setup_teardown(failures_lock_and_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(refresh_rotation_and_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(session_idle_and_lifetime, setup, teardown),
        cmocka_unit_test_setup_teardown(session_bound_per_player, setup, teardown),
        cmocka_unit_test_setup_teardown(session_bound_within_one_second, setup, teardown),
        cmocka_unit_test_setup_teardown(signout_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(revocation_log, setup, teardown),
        cmocka_unit_test_setup_teardown(signing_keys_rotate, setup, teardown),
        cmocka_unit_test_setup_teardown(totp_single_use, setup, teardown),
        cmocka_unit_test_setup_teardown(secrets_reseal_compare_and_swap, setup, teardown),
        cmocka_unit_test_setup_teardown(franceconnect_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(document_check_events, setup, teardown),
        cmocka_unit_test_setup_teardown(kyc_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(password_change, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
