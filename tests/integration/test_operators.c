/* Named operators (issue 16): a three-node accounts cluster and a two-node football cluster
 * reading its JWKS. The bootstrap admin token creates an operator; the operator enrols TOTP,
 * signs in, acts within its scopes on both clusters (the football nodes verify its token
 * offline) and is refused 403 insufficient_scope outside them; a player's token is refused on
 * admin routes and the operator's token is not a player's; a machine token acts within its
 * scopes until revoked; a disabled operator is refused on every accounts node and cannot sign
 * in; every write appears in the audit trail of every node of its cluster with the right
 * identity, and no secret appears in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "kyc/kyc.h"
#include "tests/integration/harness.h"
#include "tests/integration/tokens.h"

#define PW "a long and private phrase"
#define OP_PW "operators keep this one secret"

static struct h_resp call(struct h_cluster *c, int i, const char *method, const char *path,
                          const char *body, const char *idem, const char *bearer)
{
    struct h_resp r = h_http_bearer(c, i, method, path, body, idem, bearer);
    if (getenv("PARLAY_TEST_VERBOSE")) {
        char *t = r.json ? json_dumps(r.json, JSON_COMPACT) : NULL;
        fprintf(stderr, "%s %s on node %d: %ld %s\n", method, path, i + 1, r.status,
                t ? t : "");
        free(t);
    }
    return r;
}

static long status_of(struct h_cluster *c, int i, const char *method, const char *path,
                      const char *body, const char *idem, const char *bearer)
{
    struct h_resp r = call(c, i, method, path, body, idem, bearer);
    long st = r.status;
    h_resp_free(&r);
    return st;
}

/* A 403 must be insufficient_scope naming @scope. */
static void assert_refused_scope(struct h_cluster *c, int i, const char *method,
                                 const char *path, const char *body, const char *idem,
                                 const char *bearer, const char *scope)
{
    struct h_resp r = call(c, i, method, path, body, idem, bearer);
    assert_int_equal(r.status, 403);
    assert_string_equal(json_string_value(json_object_get(r.json, "code")),
                        "insufficient_scope");
    assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), scope));
    h_resp_free(&r);
}

static void totp_code(const char *secret, int64_t t, char out[8])
{
    uint8_t key[64];
    int n = kyc_base32_decode(secret, key, sizeof key);
    assert_true(n > 0);
    uint32_t code;
    assert_int_equal(kyc_totp_code(key, (size_t)n, KYC_TOTP_SHA1, t, 30, 6, &code, NULL), KYC_OK);
    snprintf(out, 8, "%06u", code);
}

/* Waits until node @i of @c answers @want to @method @path with @bearer (deadline 30 s). */
static void wait_status(struct h_cluster *c, int i, const char *method, const char *path,
                        const char *bearer, long want)
{
    double deadline = h_now() + 30;
    long st;
    while ((st = status_of(c, i, method, path, NULL, NULL, bearer)) != want && h_now() < deadline)
        h_sleep_ms(50);
    assert_int_equal(st, want);
}

/* The audit trail of node @i once it holds at least @n records (deadline 30 s). */
static json_t *audit_of(struct h_cluster *c, int i, size_t n)
{
    double deadline = h_now() + 30;
    for (;;) {
        struct h_resp r = call(c, i, "GET", "/admin/v1/audit?limit=1000", NULL, NULL, c->token);
        assert_int_equal(r.status, 200);
        json_t *items = json_incref(json_object_get(r.json, "items"));
        h_resp_free(&r);
        if (json_array_size(items) >= n || h_now() > deadline)
            return items;
        json_decref(items);
        h_sleep_ms(50);
    }
}

/* The first record of @items for @command by @kind/@id, or NULL. */
static json_t *find(json_t *items, const char *command, const char *kind, const char *id,
                    const char *field, const char *value)
{
    size_t k;
    json_t *it;
    json_array_foreach(items, k, it)
    {
        json_t *a = json_object_get(it, "actor");
        if (strcmp(json_string_value(json_object_get(it, "command")), command) != 0 ||
            strcmp(json_string_value(json_object_get(a, "kind")), kind) != 0 ||
            strcmp(json_string_value(json_object_get(a, "id")), id) != 0)
            continue;
        if (field) {
            json_t *v = json_object_get(json_object_get(it, "fields"), field);
            char *t = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
            bool same = t && !strcmp(t, value);
            free(t);
            if (!same)
                continue;
        }
        return it;
    }
    return NULL;
}

static void operators_end_to_end(void **state)
{
    (void)state;
    struct h_cluster a, s;
    char extra[512];
    tk_start_clusters(&a, 3, &s, 2, 1, extra, sizeof extra);
    char player[64], ptoken[2048], session[64];
    tk_sign_up(&a, 0, "pia@example.fr", PW, player, ptoken, sizeof ptoken, session);

    /* No credentials: 401. The bootstrap admin token creates the operator. */
    assert_int_equal(status_of(&a, 0, "GET", "/admin/v1/operators", NULL, NULL, NULL), 401);
    const char *create = "{\"name\":\"Olga\",\"email\":\"olga@example.fr\",\"password\":\"" OP_PW
                         "\",\"scopes\":[\"kyc\",\"bets\",\"operators\",\"audit:read\"]}";
    struct h_resp r = call(&a, 1, "POST", "/admin/v1/operators", create, "op-1", a.token);
    assert_int_equal(r.status, 201);
    char opid[64];
    snprintf(opid, sizeof opid, "%s", json_string_value(json_object_get(r.json, "id")));
    assert_null(json_object_get(r.json, "password_hash"));
    h_resp_free(&r);
    /* The same e-mail again: 409, nothing created. */
    assert_int_equal(status_of(&a, 0, "POST", "/admin/v1/operators", create, "op-2", a.token),
                     409);

    /* No sign-in before a second factor; a wrong password is 401. */
    char body[512], code[8];
    assert_int_equal(status_of(&a, 2, "POST", "/v1/operators/sessions",
                               "{\"email\":\"olga@example.fr\",\"password\":\"" OP_PW
                               "\",\"totp\":\"000000\"}",
                               NULL, NULL),
                     403);
    assert_int_equal(status_of(&a, 2, "POST", "/v1/operators/totp",
                               "{\"email\":\"olga@example.fr\",\"password\":\"wrong password!\"}",
                               NULL, NULL),
                     401);
    r = call(&a, 2, "POST", "/v1/operators/totp",
             "{\"email\":\"olga@example.fr\",\"password\":\"" OP_PW "\"}", NULL, NULL);
    assert_int_equal(r.status, 201);
    char secret[64];
    snprintf(secret, sizeof secret, "%s", json_string_value(json_object_get(r.json, "secret")));
    h_resp_free(&r);
    int64_t now = (int64_t)time(NULL);
    totp_code(secret, now, code);
    snprintf(body, sizeof body,
             "{\"email\":\"olga@example.fr\",\"password\":\"" OP_PW "\",\"code\":\"%s\"}", code);
    assert_int_equal(status_of(&a, 0, "POST", "/v1/operators/totp/confirm", body, NULL, NULL),
                     200);
    /* Sign in with the next step's code (the confirmed one is used). */
    totp_code(secret, now + 30, code);
    snprintf(body, sizeof body,
             "{\"email\":\"olga@example.fr\",\"password\":\"" OP_PW "\",\"totp\":\"%s\"}", code);
    r = call(&a, 0, "POST", "/v1/operators/sessions", body, NULL, NULL);
    assert_int_equal(r.status, 200);
    char otoken[2048];
    snprintf(otoken, sizeof otoken, "%s",
             json_string_value(json_object_get(r.json, "access_token")));
    h_resp_free(&r);
    /* The same code again: refused (single use). */
    assert_int_equal(status_of(&a, 0, "POST", "/v1/operators/sessions", body, NULL, NULL), 401);

    /* Within scope on the accounts cluster, on every node. */
    for (int i = 0; i < 3; i++)
        wait_status(&a, i, "GET", "/admin/v1/players", otoken, 200);
    char path[256];
    snprintf(path, sizeof path, "/admin/v1/players/%s/kyc", player);
    r = call(&a, 2, "POST", path, "{\"status\":\"manual_review\",\"reason\":\"looked twice\"}",
             "kyc-1", otoken);
    assert_true(r.status >= 200 && r.status < 300);
    h_resp_free(&r);
    /* Outside scope: 403 naming it. */
    assert_refused_scope(&a, 0, "GET", "/admin/v1/cluster", NULL, NULL, otoken, "cluster");
    assert_refused_scope(&a, 1, "POST", "/admin/v1/signing-keys", "{}", "sk-1", otoken,
                         "cluster");
    assert_refused_scope(&a, 1, "GET", "/admin/v1/ledger/check", NULL, NULL, otoken, "wallet");
    /* A player's token never passes an admin check; an operator's is not a player's. */
    assert_int_equal(status_of(&a, 0, "GET", "/admin/v1/players", NULL, NULL, ptoken), 401);
    assert_int_equal(status_of(&a, 0, "GET", "/v1/players/me", NULL, NULL, otoken), 401);

    /* On the football cluster, verified offline against the JWKS. */
    for (int i = 0; i < 2; i++) {
        double deadline = h_now() + 30;
        long st;
        char id[32];
        snprintf(id, sizeof id, "OPS-%d", i + 1);
        char *fx = h_fixture_body(id);
        char key[32];
        snprintf(key, sizeof key, "fx-%d", i);
        while ((st = status_of(&s, i, "POST", "/admin/v1/fixtures", fx, key, otoken)) == 503 &&
               h_now() < deadline)
            h_sleep_ms(50);
        assert_true(st == 201 || st == 200);
        assert_refused_scope(&s, i, "GET", "/admin/v1/node", NULL, NULL, otoken, "cluster");
        assert_int_equal(status_of(&s, i, "GET", "/admin/v1/node", NULL, NULL, ptoken), 401);
        assert_int_equal(status_of(&s, i, "GET", "/v1/me", NULL, NULL, otoken), 401);
    }

    /* A machine token: a subset of the creator's scopes, shown once, revocable. */
    assert_refused_scope(&a, 0, "POST", "/admin/v1/tokens",
                         "{\"name\":\"too-wide\",\"scopes\":[\"cluster\"],\"expires_in_s\":600}",
                         "mt-0", otoken, "cluster");
    r = call(&a, 0, "POST", "/admin/v1/tokens",
             "{\"name\":\"kyc-bot\",\"scopes\":[\"kyc\"],\"expires_in_s\":600}", "mt-1", otoken);
    assert_int_equal(r.status, 201);
    char mtoken[256], mtid[64];
    snprintf(mtoken, sizeof mtoken, "%s", json_string_value(json_object_get(r.json, "token")));
    snprintf(mtid, sizeof mtid, "%s", json_string_value(json_object_get(r.json, "id")));
    assert_null(json_object_get(r.json, "hash"));
    h_resp_free(&r);
    for (int i = 0; i < 3; i++)
        wait_status(&a, i, "GET", "/admin/v1/players", mtoken, 200);
    assert_refused_scope(&a, 1, "GET", "/admin/v1/tokens", NULL, NULL, mtoken, "operators");
    assert_int_equal(status_of(&s, 0, "GET", "/admin/v1/node", NULL, NULL, mtoken), 401);
    snprintf(path, sizeof path, "/admin/v1/tokens/%s", mtid);
    assert_int_equal(status_of(&a, 2, "DELETE", path, NULL, "mt-rev", otoken), 200);
    for (int i = 0; i < 3; i++)
        wait_status(&a, i, "GET", "/admin/v1/players", mtoken, 401);

    /* Disabled: refused on every accounts node at once, on the sport nodes once they polled
     * the revocation log (a second by default), and no new sign-in. */
    for (int i = 0; i < 2; i++)
        assert_int_equal(status_of(&s, i, "GET", "/admin/v1/bets/switches", NULL, NULL, otoken),
                         200);
    snprintf(path, sizeof path, "/admin/v1/operators/%s/disable", opid);
    assert_int_equal(status_of(&a, 0, "POST", path, NULL, "dis-1", a.token), 200);
    double disabled_at = h_now();
    for (int i = 0; i < 3; i++)
        wait_status(&a, i, "GET", "/admin/v1/players", otoken, 401);
    for (int i = 0; i < 2; i++)
        wait_status(&s, i, "GET", "/admin/v1/bets/switches", otoken, 401);
    double took = h_now() - disabled_at;
    fprintf(stderr, "disabled operator refused on every node after %.2f s\n", took);
    assert_true(took < 10.0);
    totp_code(secret, (int64_t)time(NULL) + 60, code);
    snprintf(body, sizeof body,
             "{\"email\":\"olga@example.fr\",\"password\":\"" OP_PW "\",\"totp\":\"%s\"}", code);
    assert_int_equal(status_of(&a, 1, "POST", "/v1/operators/sessions", body, NULL, NULL), 403);

    /* The audit trail, the same on every node, with the right identities and no secret. */
    json_t *first = NULL;
    for (int i = 0; i < 3; i++) {
        /* operator_add, TOTP enrol, confirm, sign-in, kyc_override, token create, revoke,
         * disable: 8 (refusals decided before proposing leave no record). */
        json_t *items = audit_of(&a, i, 8);
        assert_int_equal(json_array_size(items), 8);
        assert_non_null(find(items, "operator_add", "bootstrap", "bootstrap admin token",
                             "email", "\"olga@example.fr\""));
        assert_non_null(find(items, "operator_set", "operator", opid, NULL, NULL));
        assert_non_null(find(items, "mtoken_set", "operator", opid, "revoked", "true"));
        assert_non_null(find(items, "mtoken_set", "operator", opid, "name", "\"kyc-bot\""));
        assert_non_null(find(items, "operator_set", "bootstrap", "bootstrap admin token",
                             "disabled", "true"));
        char pv[160];
        snprintf(pv, sizeof pv, "\"%s\"", player);
        json_t *k = find(items, "kyc_override", "operator", opid, "player_id", pv);
        assert_non_null(k);
        snprintf(pv, sizeof pv, "/admin/v1/players/%s/kyc", player);
        assert_string_equal(json_string_value(json_object_get(k, "route")), pv);
        assert_string_equal(json_string_value(json_object_get(k, "method")), "POST");
        assert_string_equal(json_string_value(json_object_get(k, "outcome")), "applied");
        char *text = json_dumps(items, JSON_COMPACT);
        assert_null(strstr(text, OP_PW));
        assert_null(strstr(text, "$argon2id"));
        assert_null(strstr(text, secret));
        assert_null(strstr(text, strchr(mtoken, '.') + 1));
        if (!first)
            first = json_incref(items);
        else
            assert_true(json_equal(first, items));
        free(text);
        json_decref(items);
    }
    json_decref(first);
    for (int i = 0; i < 2; i++) {
        /* The nodes' member-key registrations (bootstrap token) and the two fixtures. */
        json_t *items = audit_of(&s, i, 4);
        assert_non_null(find(items, "member_key", "bootstrap", "bootstrap admin token", NULL,
                             NULL));
        assert_non_null(find(items, "fixture_create", "operator", opid, "id", "\"OPS-1\""));
        assert_non_null(find(items, "fixture_create", "operator", opid, "id", "\"OPS-2\""));
        json_decref(items);
    }
    /* Only audit:read reads it. */
    assert_int_equal(status_of(&s, 0, "GET", "/admin/v1/audit", NULL, NULL, NULL), 401);

    /* parlayctl: operators add (bootstrap token), totp, totp-confirm, login into a 0600
     * file, then that file for tokens and audit-log. */
    char pwfile[] = "/tmp/parlay-op-pw-XXXXXX", tokfile[600], out[8192], args[1200];
    int fd = mkstemp(pwfile);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, OP_PW "\n", strlen(OP_PW) + 1), (ssize_t)strlen(OP_PW) + 1);
    close(fd);
    snprintf(tokfile, sizeof tokfile, "%s.token", pwfile);
    snprintf(args, sizeof args,
             "operators add Ines ines@example.fr --scopes audit:read,operators "
             "--password-file %s", pwfile);
    assert_int_equal(h_parlayctl(&a, 0, args, out, sizeof out), 0);
    snprintf(args, sizeof args, "operators totp ines@example.fr --password-file %s", pwfile);
    assert_int_equal(h_parlayctl(&a, 1, args, out, sizeof out), 0);
    char isecret[64] = "";
    assert_int_equal(sscanf(out, "secret %63s", isecret), 1);
    now = (int64_t)time(NULL);
    totp_code(isecret, now, code);
    snprintf(args, sizeof args, "operators totp-confirm ines@example.fr %s --password-file %s",
             code, pwfile);
    assert_int_equal(h_parlayctl(&a, 2, args, out, sizeof out), 0);
    totp_code(isecret, now + 30, code);
    snprintf(args, sizeof args, "login ines@example.fr --totp %s --out %s --password-file %s",
             code, tokfile, pwfile);
    assert_int_equal(h_parlayctl(&a, 0, args, out, sizeof out), 0);
    struct stat st;
    assert_int_equal(stat(tokfile, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(args, sizeof args, "--token-file %s tokens create audit-bot --scopes audit:read "
             "--expires-in 600", tokfile);
    assert_int_equal(h_parlayctl(&a, 1, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "pmt_"));
    snprintf(args, sizeof args, "--token-file %s tokens list", tokfile);
    double deadline = h_now() + 30; /* a follower lists what it has applied */
    for (;;) {
        assert_int_equal(h_parlayctl(&a, 1, args, out, sizeof out), 0);
        if (strstr(out, "audit-bot") || h_now() > deadline)
            break;
        h_sleep_ms(50);
    }
    assert_non_null(strstr(out, "audit-bot"));
    assert_null(strstr(out, "pmt_"));
    snprintf(args, sizeof args, "--token-file %s operators list", tokfile);
    assert_int_equal(h_parlayctl(&a, 2, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "DISABLED")); /* Olga */
    snprintf(args, sizeof args, "--token-file %s audit-log --limit 1000", tokfile);
    assert_int_equal(h_parlayctl(&a, 2, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "mtoken_set"));
    assert_non_null(strstr(out, "bootstrap admin token"));
    assert_null(strstr(out, OP_PW));
    /* Outside its scopes: exit 1. */
    snprintf(args, sizeof args, "--token-file %s players count", tokfile);
    assert_int_equal(h_parlayctl(&a, 0, args, out, sizeof out), 1);
    unlink(tokfile);
    unlink(pwfile);

    /* Five wrong passwords in a row lock the operator out: the right one then gets 429. */
    for (int k = 0; k < 5; k++)
        assert_int_equal(status_of(&a, k % 3, "POST", "/v1/operators/sessions",
                                   "{\"email\":\"ines@example.fr\",\"password\":\"not the "
                                   "right one\",\"totp\":\"123456\"}",
                                   NULL, NULL),
                         401);
    totp_code(isecret, (int64_t)time(NULL) + 60, code);
    snprintf(body, sizeof body,
             "{\"email\":\"ines@example.fr\",\"password\":\"" OP_PW "\",\"totp\":\"%s\"}",
             code);
    r = call(&a, 1, "POST", "/v1/operators/sessions", body, NULL, NULL);
    assert_int_equal(r.status, 429);
    assert_string_equal(json_string_value(json_object_get(r.json, "code")), "operator_locked");
    assert_true(atoi(r.retry_after) > 0);
    h_resp_free(&r);

    /* admin_token_scopes narrows the bootstrap token: accounts node 3 restarted with
     * "operators,audit:read" refuses it a kyc route (403 naming the scope) and still lets it
     * list operators. */
    assert_int_equal(h_node_stop(&a, 2), 0);
    snprintf(a.node_extra[2], sizeof a.node_extra[2],
             "{\"admin_token_scopes\": \"operators,audit:read\"}");
    h_cluster_write_configs(&a);
    h_node_start(&a, 2);
    assert_true(h_wait_ready(&a, 2, H_WAIT_MS));
    assert_refused_scope(&a, 2, "GET", "/admin/v1/players", NULL, NULL, a.token, "kyc");
    assert_int_equal(status_of(&a, 2, "GET", "/admin/v1/operators", NULL, NULL, a.token), 200);
    assert_int_equal(status_of(&a, 0, "GET", "/admin/v1/players", NULL, NULL, a.token), 200);

    h_cluster_destroy(&s);
    h_cluster_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(operators_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
