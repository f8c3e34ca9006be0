/* The operators domain on the LMDB state machine without raft: operators (unique e-mail, known
 * scopes, single-use TOTP steps, confirmation only after enrolment), machine tokens (create
 * once, revoke), and CMD_ADMIN: the wrapped command applies and its audit record is appended in
 * the same transaction, refusals recorded as refused, secrets never in the record, no nesting. */
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

#include "consensus/fsm.h"
#include "consensus/operators.h"
#include "tests/unit/unit_util.h"

#define HASH "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA"
#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct ctx {
    char *dir;
    struct fsm *f;
    struct util_result r;
    uint64_t index;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    c->dir = util_tmpdir();
    c->f = util_fsm_open(c->dir);
    util_capture_results(c->f, &c->r);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    fsm_close(c->f);
    util_rmdir(c->dir);
    free(c);
    return 0;
}

static int ap(struct ctx *c, uint16_t type, const char *payload)
{
    return util_apply_at(c->f, &c->r, ++c->index, type, NULL, 0, payload, 1000000);
}

static json_t *audit(struct ctx *c)
{
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *a = audit_list(c->f, txn, 1, 100);
    fsm_read_end(txn);
    return a;
}

static const char *ADD =
    "{\"id\":\"op-1\",\"name\":\"Olga\",\"email\":\"olga@example.fr\",\"password_hash\":\"" HASH
    "\",\"scopes\":[\"kyc\",\"audit:read\"]}";

static void operator_rules(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(ap(c, CMD_OPERATOR_ADD, ADD), 201);
    assert_null(strstr(c->r.body, "argon2id"));
    /* Same e-mail or id: 409. Unknown scope, extra field, weak hash: 422. */
    assert_int_equal(ap(c, CMD_OPERATOR_ADD, ADD), 409);
    assert_int_equal(ap(c, CMD_OPERATOR_ADD,
                        "{\"id\":\"op-2\",\"name\":\"X\",\"email\":\"x@example.fr\","
                        "\"password_hash\":\"" HASH "\",\"scopes\":[\"root\"]}"),
                     422);
    assert_int_equal(ap(c, CMD_OPERATOR_ADD,
                        "{\"id\":\"op-2\",\"name\":\"X\",\"email\":\"x@example.fr\","
                        "\"password_hash\":\"plain\",\"scopes\":[\"kyc\"]}"),
                     422);
    assert_int_equal(ap(c, CMD_OPERATOR_ADD,
                        "{\"id\":\"op-2\",\"name\":\"X\",\"email\":\"x@example.fr\","
                        "\"password_hash\":\"" HASH "\",\"scopes\":[\"kyc\",\"kyc\"]}"),
                     422);
    /* Confirming before enrolling: 409; enrol, confirm at step 5; steps only move forward. */
    assert_int_equal(ap(c, CMD_OPERATOR_SET,
                        "{\"id\":\"op-1\",\"totp_confirmed\":true,\"totp_step\":5}"),
                     409);
    assert_int_equal(ap(c, CMD_OPERATOR_SET, "{\"id\":\"op-1\",\"totp_secret\":\"sealed\"}"),
                     200);
    assert_null(strstr(c->r.body, "sealed"));
    assert_int_equal(ap(c, CMD_OPERATOR_SET,
                        "{\"id\":\"op-1\",\"totp_confirmed\":true,\"totp_step\":5}"),
                     200);
    assert_int_equal(ap(c, CMD_OPERATOR_SET, "{\"id\":\"op-1\",\"totp_step\":5}"), 409);
    assert_int_equal(ap(c, CMD_OPERATOR_SET, "{\"id\":\"op-1\",\"totp_step\":6}"), 200);
    /* A confirmed factor is not replaced. */
    assert_int_equal(ap(c, CMD_OPERATOR_SET, "{\"id\":\"op-1\",\"totp_secret\":\"other\"}"),
                     409);
    assert_int_equal(ap(c, CMD_OPERATOR_SET, "{\"id\":\"op-1\",\"role\":\"god\"}"), 422);
    assert_int_equal(ap(c, CMD_OPERATOR_SET, "{\"id\":\"op-9\",\"disabled\":true}"), 404);
    /* Failures: the fifth in a row locks out; a sign-in (a step) resets the count. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(ap(c, CMD_OPERATOR_SET, "{\"id\":\"op-1\",\"failed\":true}"), 200);
    assert_int_equal(ap(c, CMD_OPERATOR_SET, "{\"id\":\"op-1\",\"totp_step\":7}"), 200);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ap(c, CMD_OPERATOR_SET, "{\"id\":\"op-1\",\"failed\":true}"), 200);
    assert_null(strstr(c->r.body, "locked_until_ms"));
    assert_int_equal(ap(c, CMD_OPERATOR_SET, "{\"id\":\"op-1\",\"failed\":true}"), 200);
    assert_non_null(strstr(c->r.body, "\"locked_until_ms\":1900000"));
    assert_int_equal(ap(c, CMD_OPERATOR_SET, "{\"id\":\"op-1\",\"failed\":false}"), 422);
    assert_int_equal(ap(c, CMD_OPERATOR_SET, "{\"id\":\"op-1\",\"disabled\":true}"), 200);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *op = operator_by_email(c->f, txn, "olga@example.fr");
    json_t *list = operator_list(c->f, txn);
    fsm_read_end(txn);
    assert_true(json_is_true(json_object_get(op, "disabled")));
    assert_int_equal(json_integer_value(json_object_get(op, "totp_step")), 7);
    char *t = json_dumps(list, JSON_COMPACT);
    assert_null(strstr(t, "argon2id"));
    assert_null(strstr(t, "sealed"));
    free(t);
    json_decref(list);
    json_decref(op);
}

static void machine_token_rules(void **state)
{
    struct ctx *c = *state;
    const char *mk = "{\"id\":\"mt-1\",\"name\":\"bot\",\"scopes\":[\"kyc\"],\"expires_ms\":"
                     "2000000,\"hash\":\"" H64 "\",\"created_by\":\"operator:op-1\"}";
    assert_int_equal(ap(c, CMD_MTOKEN_SET, mk), 201);
    assert_null(strstr(c->r.body, H64));
    assert_int_equal(ap(c, CMD_MTOKEN_SET, mk), 409);
    /* Already expired at the leader's time, or a short hash: 422. */
    assert_int_equal(ap(c, CMD_MTOKEN_SET,
                        "{\"id\":\"mt-2\",\"name\":\"bot\",\"scopes\":[\"kyc\"],\"expires_ms\":"
                        "999999,\"hash\":\"" H64 "\",\"created_by\":\"x\"}"),
                     422);
    assert_int_equal(ap(c, CMD_MTOKEN_SET,
                        "{\"id\":\"mt-2\",\"name\":\"bot\",\"scopes\":[\"kyc\"],\"expires_ms\":"
                        "2000000,\"hash\":\"abc\",\"created_by\":\"x\"}"),
                     422);
    assert_int_equal(ap(c, CMD_MTOKEN_SET, "{\"id\":\"mt-9\",\"revoked\":true}"), 404);
    assert_int_equal(ap(c, CMD_MTOKEN_SET, "{\"id\":\"mt-1\",\"revoked\":true}"), 200);
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *m = mtoken_get(c->f, txn, "mt-1");
    fsm_read_end(txn);
    assert_true(json_is_true(json_object_get(m, "revoked")));
    assert_string_equal(json_string_value(json_object_get(m, "hash")), H64);
    json_decref(m);
}

static void admin_wraps_and_audits(void **state)
{
    struct ctx *c = *state;
    char p[1024];
    snprintf(p, sizeof p,
             "{\"actor\":{\"kind\":\"bootstrap\",\"id\":\"bootstrap admin token\"},"
             "\"method\":\"POST\",\"route\":\"/admin/v1/operators\",\"type\":%d,\"payload\":%s}",
             CMD_OPERATOR_ADD, ADD);
    assert_int_equal(ap(c, CMD_ADMIN, p), 201);
    /* The same again: the wrapped command is refused (409), and that is recorded too. */
    assert_int_equal(ap(c, CMD_ADMIN, p), 409);
    /* Nesting, an unknown type, no actor: refused, nothing recorded. */
    snprintf(p, sizeof p,
             "{\"actor\":{\"kind\":\"operator\",\"id\":\"op-1\"},\"method\":\"POST\","
             "\"route\":\"/x\",\"type\":%d,\"payload\":{}}",
             CMD_ADMIN);
    assert_int_equal(ap(c, CMD_ADMIN, p), 422);
    assert_int_equal(ap(c, CMD_ADMIN,
                        "{\"actor\":{\"kind\":\"operator\",\"id\":\"op-1\"},\"method\":\"POST\","
                        "\"route\":\"/x\",\"type\":999,\"payload\":{}}"),
                     422);
    assert_int_equal(ap(c, CMD_ADMIN,
                        "{\"method\":\"POST\",\"route\":\"/x\",\"type\":53,\"payload\":{}}"),
                     422);
    /* A command that may not share a Raft entry cannot ride in one (the admin command is
     * batchable): a quote round wrapped is refused. */
    snprintf(p, sizeof p,
             "{\"actor\":{\"kind\":\"operator\",\"id\":\"op-1\"},\"method\":\"POST\","
             "\"route\":\"/x\",\"type\":%d,\"payload\":{\"fixture\":\"f1\"}}",
             CMD_QUOTE_ROUND);
    assert_int_equal(ap(c, CMD_ADMIN, p), 422);
    json_t *a = audit(c);
    assert_int_equal(json_array_size(a), 2);
    json_t *r1 = json_array_get(a, 0), *r2 = json_array_get(a, 1);
    assert_int_equal(json_integer_value(json_object_get(r1, "seq")), 1);
    assert_int_equal(json_integer_value(json_object_get(r2, "seq")), 2);
    assert_string_equal(json_string_value(json_object_get(r1, "outcome")), "applied");
    assert_string_equal(json_string_value(json_object_get(r2, "outcome")), "refused");
    assert_int_equal(json_integer_value(json_object_get(r2, "status")), 409);
    assert_string_equal(json_string_value(json_object_get(r1, "command")), "operator_add");
    assert_int_equal(json_integer_value(json_object_get(r1, "time_ms")), 1000000);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r1, "actor"), "kind")), "bootstrap");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r1, "fields"), "email")),
        "olga@example.fr");
    char *t = json_dumps(a, JSON_COMPACT);
    assert_null(strstr(t, "argon2id"));
    free(t);
    /* since/limit page through it. */
    MDB_txn *txn;
    assert_int_equal(fsm_read_begin(c->f, &txn), 0);
    json_t *page = audit_list(c->f, txn, 2, 10);
    fsm_read_end(txn);
    assert_int_equal(json_array_size(page), 1);
    json_decref(page);
    json_decref(a);
}

/* The form the node writes (operators_admin_wrap): the same rules and the same record as the
 * JSON form; a payload without any secret word is recorded as it is, one with a secret is
 * redacted; a broken header is refused and records nothing. */
static void admin_text_form(void **state)
{
    struct ctx *c = *state;
    static const char route[] = "/admin/v1/operators?x=\"q\"\\\n";
    size_t n;
    char *w = operators_admin_wrap("operator", "op-9", "POST", 4, route, sizeof route - 1,
                                   CMD_OPERATOR_ADD, ADD, strlen(ADD), &n);
    assert_int_equal(n, strlen(w));
    assert_int_equal(ap(c, CMD_ADMIN, w), 201);
    assert_int_equal(operators_admin_type(w, n), CMD_OPERATOR_ADD);
    free(w);
    const char *set = "{\"id\":\"op-1\",\"disabled\":true}";
    w = operators_admin_wrap("machine", "mt-1", "PATCH", 5, "/admin/v1/operators/op-1", 24,
                             CMD_OPERATOR_SET, set, strlen(set), &n);
    assert_int_equal(ap(c, CMD_ADMIN, w), 200);
    free(w);
    /* Nesting, a non-batchable type, a payload that is not an object, a cut header. */
    w = operators_admin_wrap("operator", "op-9", "POST", 4, "/x", 2, CMD_ADMIN, "{}", 2, &n);
    assert_int_equal(ap(c, CMD_ADMIN, w), 422);
    free(w);
    w = operators_admin_wrap("operator", "op-9", "POST", 4, "/x", 2, CMD_QUOTE_ROUND,
                             "{\"fixture\":\"f1\"}", 16, &n);
    assert_int_equal(ap(c, CMD_ADMIN, w), 422);
    free(w);
    w = operators_admin_wrap("operator", "op-9", "POST", 4, "/x", 2, CMD_OPERATOR_SET, "[1]", 3,
                             &n);
    assert_int_equal(ap(c, CMD_ADMIN, w), 422);
    w[12] = 0; /* inside the header */
    assert_int_equal(ap(c, CMD_ADMIN, w), 422);
    assert_int_equal(operators_admin_type(w, strlen(w)), 0);
    free(w);
    json_t *a = audit(c);
    assert_int_equal(json_array_size(a), 2);
    json_t *r1 = json_array_get(a, 0), *r2 = json_array_get(a, 1);
    assert_int_equal(json_integer_value(json_object_get(r1, "seq")), 1);
    assert_string_equal(json_string_value(json_object_get(r1, "command")), "operator_add");
    assert_string_equal(json_string_value(json_object_get(r1, "outcome")), "applied");
    assert_int_equal(json_integer_value(json_object_get(r1, "status")), 201);
    assert_string_equal(json_string_value(json_object_get(r1, "method")), "POST");
    /* Characters outside printable ASCII, quotes and backslashes travel as %XX. */
    assert_string_equal(json_string_value(json_object_get(r1, "route")),
                        "/admin/v1/operators?x=%22q%22%5C%0A");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r1, "actor"), "id")), "op-9");
    json_t *fields = json_object_get(r1, "fields");
    assert_string_equal(json_string_value(json_object_get(fields, "email")), "olga@example.fr");
    assert_string_equal(json_string_value(json_object_get(fields, "password_hash")),
                        "[redacted]");
    assert_int_equal(json_integer_value(json_object_get(r2, "seq")), 2);
    assert_string_equal(json_string_value(json_object_get(r2, "command")), "operator_set");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r2, "actor"), "kind")), "machine");
    assert_true(json_is_true(json_object_get(json_object_get(r2, "fields"), "disabled")));
    assert_int_equal(json_integer_value(json_object_get(r2, "time_ms")), 1000000);
    assert_non_null(json_string_value(json_object_get(r2, "time")));
    char *t = json_dumps(a, JSON_COMPACT);
    assert_null(strstr(t, "argon2id"));
    free(t);
    json_decref(a);
}

static void redact(void **state)
{
    (void)state;
    json_t *in = json_loads("{\"player_id\":\"p\",\"secret\":\"s\",\"password_hash\":\"h\","
                            "\"items\":[{\"refresh_hash\":\"x\",\"kid\":\"k\"}],\"jwk\":{}}",
                            0, NULL);
    json_t *out = audit_redact(in);
    char *t = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(t, "{\"items\":[{\"kid\":\"k\",\"refresh_hash\":\"[redacted]\"}],"
                           "\"jwk\":\"[redacted]\",\"password_hash\":\"[redacted]\","
                           "\"player_id\":\"p\",\"secret\":\"[redacted]\"}");
    free(t);
    json_decref(out);
    json_decref(in);
}

int main(void)
{
    util_log_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(operator_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(machine_token_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(admin_wraps_and_audits, setup, teardown),
        cmocka_unit_test_setup_teardown(admin_text_form, setup, teardown),
        cmocka_unit_test(redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
