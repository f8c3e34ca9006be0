/* Operators: who may use an admin route (routes_require_scope), the operators' own routes on
 * the accounts cluster (creation, TOTP enrolment, sign-in, machine tokens) and the audit trail
 * (GET /admin/v1/audit, both cluster kinds). The records and their rules are in
 * consensus/operators.c. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "consensus/operators.h"
#include "node/accounts_common.h"
#include "node/auth.h"
#include "node/http_guard.h"
#include "node/operators.h"
#include "node/query.h"
#include "node/routes.h"

#define MTOKEN_PREFIX "pmt_"
#define MTOKEN_MAX_S (366 * 86400)

static void set_actor(struct http_req *r, const char *kind, const char *id, const char *scopes)
{
    snprintf(r->actor_kind, sizeof r->actor_kind, "%s", kind);
    snprintf(r->actor_id, sizeof r->actor_id, "%s", id);
    snprintf(r->actor_scopes, sizeof r->actor_scopes, "%s", scopes);
}

/* Is @scope one of the space-separated @list? */
static bool scope_in(const char *list, const char *scope)
{
    size_t n = strlen(scope);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !strncmp(p, scope, n))
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

static void scopes_text(const json_t *arr, char *out, size_t n)
{
    out[0] = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s%s", i ? " " : "", json_string_value(json_array_get(arr, i)));
    }
}

static void refuse_scope(struct http_req *r, const char *scope)
{
    char v[128];
    snprintf(v, sizeof v, "Bearer error=\"insufficient_scope\", scope=\"%s\"", scope);
    http_header(r, "www-authenticate", v);
    http_guard_problem(r, 403, "Insufficient scope", "insufficient_scope",
                       "this endpoint needs the scope '%s', which these credentials do not hold",
                       scope);
}

static void refuse_token(struct http_req *r, const char *title, const char *detail)
{
    http_header(r, "www-authenticate", "Bearer realm=\"parlay-admin\", error=\"invalid_token\"");
    http_problem(r, 401, title, "%s", detail);
}

/* A machine token "pmt_<id>.<secret>" (accounts cluster: only its SHA-256 is replicated). */
static bool machine_token(struct http_req *r, const char *tok, const char *scope)
{
    struct node *n = r->node;
    if (!n->accounts) {
        refuse_token(r, "Invalid token",
                     "machine tokens are checked by the accounts cluster only; on this node use "
                     "an operator's access token");
        return false;
    }
    char id[OPERATOR_ID_MAX + 1];
    const char *dot = strchr(tok + 4, '.');
    if (!dot || (size_t)(dot - tok - 4) > OPERATOR_ID_MAX) {
        refuse_token(r, "Invalid token", "this is not a machine token");
        return false;
    }
    snprintf(id, sizeof id, "%.*s", (int)(dot - tok - 4), tok + 4);
    MDB_txn *txn;
    json_t *rec = NULL;
    if (fsm_read_begin(n->fsm, &txn) == 0) {
        rec = mtoken_get(n->fsm, txn, id);
        fsm_read_end(txn);
    }
    char h[65];
    acc_sha256_hex(tok, NULL, h);
    const char *want = rec ? json_string_value(json_object_get(rec, "hash")) : NULL;
    bool ok = want && strlen(want) == 64 && CRYPTO_memcmp(want, h, 64) == 0;
    if (!ok || json_is_true(json_object_get(rec, "revoked")) ||
        (uint64_t)json_integer_value(json_object_get(rec, "expires_ms")) <=
            (uint64_t)acc_now_s() * 1000u) {
        json_decref(rec);
        refuse_token(r, "Invalid token",
                     ok ? "this machine token was revoked or has expired"
                        : "this machine token is not known");
        return false;
    }
    char sc[160];
    scopes_text(json_object_get(rec, "scopes"), sc, sizeof sc);
    json_decref(rec);
    char who[96];
    snprintf(who, sizeof who, "%s", id);
    set_actor(r, "machine", who, sc);
    if (!scope_in(sc, scope)) {
        refuse_scope(r, scope);
        return false;
    }
    return true;
}

/* An operator's access token: on the accounts cluster against its own keys and the operator's
 * current record (disabled: refused at once; scopes: the record's), elsewhere offline against
 * the JWKS (the token's own scope claim, until it expires). */
static bool operator_token(struct http_req *r, const char *scope)
{
    struct node *n = r->node;
    json_t *claims;
    if (n->accounts) {
        json_t *jwks = acc_public_jwks(n);
        claims = auth_verify_bearer_aud(r, jwks, n->accounts->issuer, AUTH_OPERATOR_AUDIENCE,
                                        AUTH_OPERATOR_TTL_S, NULL);
        json_decref(jwks);
    } else {
        claims = auth_operator(r);
    }
    if (!claims)
        return false;
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *sc = json_string_value(json_object_get(claims, "scope"));
    char scopes[160];
    snprintf(scopes, sizeof scopes, "%s", sc ? sc : "");
    if (n->accounts) {
        MDB_txn *txn;
        json_t *op = NULL;
        if (fsm_read_begin(n->fsm, &txn) == 0) {
            op = operator_get(n->fsm, txn, sub);
            fsm_read_end(txn);
        }
        if (!op || json_is_true(json_object_get(op, "disabled"))) {
            json_decref(op);
            json_decref(claims);
            refuse_token(r, "Operator disabled",
                         "the operator of this token is disabled or not known here");
            return false;
        }
        scopes_text(json_object_get(op, "scopes"), scopes, sizeof scopes);
        json_decref(op);
    }
    set_actor(r, "operator", sub, scopes);
    json_decref(claims);
    if (!scope_in(scopes, scope)) {
        refuse_scope(r, scope);
        return false;
    }
    return true;
}

bool routes_require_scope(struct http_req *r, const char *scope)
{
    char auth[4096];
    if (!http_header_get(r, "authorization", auth, sizeof auth) ||
        strncasecmp(auth, "Bearer ", 7) != 0) {
        http_header(r, "www-authenticate", "Bearer realm=\"parlay-admin\"");
        http_problem(r, 401, "Unauthorized",
                     "this endpoint needs an operator's access token, a machine token or the "
                     "admin token: Authorization: Bearer <token>");
        return false;
    }
    if (http_is_admin(r)) {
        /* The bootstrap token holds the scopes admin_token_scopes lists (all when empty). */
        char held[160], wrapped[sizeof r->node->cfg.admin_token_scopes + 2];
        const char *conf = r->node->cfg.admin_token_scopes;
        snprintf(wrapped, sizeof wrapped, ",%s,", conf);
        size_t hl = 0;
        held[0] = 0;
        for (const char *const *s = operator_scopes; *s; s++) {
            char one[40];
            size_t sl = strlen(*s);
            snprintf(one, sizeof one, ",%s,", *s);
            if ((!conf[0] || strstr(wrapped, one)) && hl + sl + 2 <= sizeof held) {
                if (hl)
                    held[hl++] = ' ';
                memcpy(held + hl, *s, sl + 1);
                hl += sl;
            }
        }
        set_actor(r, "bootstrap", "bootstrap admin token", held);
        if (!scope_in(held, scope)) {
            refuse_scope(r, scope);
            return false;
        }
        return true;
    }
    if (!strncmp(auth + 7, MTOKEN_PREFIX, 4))
        return machine_token(r, auth + 7, scope);
    return operator_token(r, scope);
}

/* ---- GET /admin/v1/audit?since=&limit= (both cluster kinds) ---- */

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s[0] || strlen(s) > 19)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static void serve_audit(struct http_req *r)
{
    char since_s[24], limit_s[24];
    struct query_want w[] = {{"since", since_s, sizeof since_s, 0},
                             {"limit", limit_s, sizeof limit_s, 0}};
    if (query_params(r, w, 2) < 0)
        return;
    uint64_t since = 1, limit = 100;
    if (w[0].got && !parse_u64(since_s, UINT64_MAX / 2, &since)) {
        http_problem(r, 400, "Bad query parameter", "'since' must be a record number");
        return;
    }
    if (w[1].got && (!parse_u64(limit_s, 1000, &limit) || limit == 0)) {
        http_problem(r, 400, "Bad query parameter", "'limit' must be 1 to 1000");
        return;
    }
    MDB_txn *txn;
    if (fsm_read_begin(r->node->fsm, &txn) != 0) {
        http_problem(r, 500, "Read failed", "the state could not be read");
        return;
    }
    json_t *items = audit_list(r->node->fsm, txn, since, (unsigned)limit);
    fsm_read_end(txn);
    json_t *last = json_array_get(items, json_array_size(items) - 1);
    json_int_t next = last ? json_integer_value(json_object_get(last, "seq")) + 1
                           : (json_int_t)since;
    http_reply_json(r, 200, json_pack("{s:o, s:I}", "items", items, "next", next));
}

/* ---- the accounts cluster's operator routes ---- */

struct opjob {
    struct job *j;
    int kind; /* OP_SIGNIN, OP_ENROL, OP_CONFIRM, OP_CREATE */
    char code[16];
    json_t *body; /* OP_CREATE: the request */
};

enum { OP_SIGNIN, OP_ENROL, OP_CONFIRM, OP_CREATE };

static void totp_aad(char out[128], const char *id)
{
    snprintf(out, 128, "operator-totp:%s", id);
}

/* The operator of @email (NULL if none). */
static json_t *op_by_email(struct node *n, const char *email)
{
    MDB_txn *txn;
    json_t *op = NULL;
    if (fsm_read_begin(n->fsm, &txn) == 0) {
        op = operator_by_email(n->fsm, txn, email);
        fsm_read_end(txn);
    }
    return op;
}

struct signin_ctx {
    char id[OPERATOR_ID_MAX + 1];
    char scopes[160];
    char secret[64]; /* enrolment: the clear secret, handed out once */
    char *uri;
};

static void signin_done(struct http_req *r, void *ctx, int status, const char *body,
                        const char *ra, bool replayed)
{
    struct signin_ctx *s = ctx;
    if (status != 200) {
        if (status == 409)
            http_guard_problem(r, 401, "Invalid one-time code", "totp_invalid",
                               "this one-time code was already used; wait for the next one");
        else
            acc_relay(r, status, body, ra, replayed);
    } else {
        int64_t now = acc_now_s();
        char sid[OPERATOR_ID_MAX + 16];
        snprintf(sid, sizeof sid, "operator:%s", s->id);
        char *tok = acc_sign_claims(
            r->node, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "iss",
                               r->node->accounts->issuer, "aud", AUTH_OPERATOR_AUDIENCE, "sub",
                               s->id, "sid", sid, "scope", s->scopes, "iat", (json_int_t)now,
                               "exp", (json_int_t)(now + AUTH_OPERATOR_TTL_S)));
        if (!tok) {
            http_problem(r, 503, "No signing key", "the cluster has no signing key yet");
        } else {
            http_header(r, "cache-control", "no-store");
            http_reply_json(r, 200,
                            json_pack("{s:s, s:s, s:i, s:s, s:s}", "access_token", tok,
                                      "token_type", "Bearer", "expires_in", AUTH_OPERATOR_TTL_S,
                                      "scope", s->scopes, "operator_id", s->id));
            free(tok);
        }
    }
    free(s);
}

static void enrol_done(struct http_req *r, void *ctx, int status, const char *body,
                       const char *ra, bool replayed)
{
    struct signin_ctx *s = ctx;
    if (status != 200 || replayed) {
        acc_relay(r, status, body, ra, replayed);
    } else {
        http_header(r, "cache-control", "no-store");
        http_reply_json(r, 201, json_pack("{s:s, s:s, s:s}", "operator_id", s->id, "secret",
                                          s->secret, "otpauth_uri", s->uri ? s->uri : ""));
    }
    OPENSSL_cleanse(s->secret, sizeof s->secret);
    free(s->uri);
    free(s);
}

static void random_idem(const char *what, char out[256])
{
    char rnd[33];
    acc_random_hex(16, rnd);
    snprintf(out, 256, "operator:%s:%s", what, rnd);
}

/* The operator's TOTP record for acc_totp_check: {secret (opened), last_step}. */
static json_t *op_totp(struct node *n, json_t *op)
{
    const char *sealed = json_string_value(json_object_get(op, "totp_secret"));
    if (!sealed)
        return NULL;
    char aad[128], err[160];
    totp_aad(aad, json_string_value(json_object_get(op, "id")));
    char *p = seal_reveal(&n->cfg.secrets, aad, sealed, err, sizeof err);
    if (!p) {
        LOG_ERROR("event=secret_unreadable context=%s reason=\"%s\"", aad, err);
        return NULL;
    }
    json_t *t = json_pack("{s:s, s:O}", "secret", p, "last_step",
                          json_object_get(op, "totp_step"));
    seal_free(p);
    return t;
}


static void create_hashed(struct http_req *r, struct opjob *oj)
{
    struct job *j = oj->j;
    char id[OPERATOR_ID_MAX + 1], rnd[17];
    acc_random_hex(8, rnd);
    snprintf(id, sizeof id, "op-%s", rnd);
    char *text = json_dumps(oj->body, JSON_COMPACT | JSON_SORT_KEYS);
    acc_submit(r, CMD_OPERATOR_ADD,
               json_pack("{s:s, s:O, s:s, s:s, s:O}", "id", id, "name",
                         json_object_get(oj->body, "name"), "email", j->email, "password_hash",
                         j->hash, "scopes", json_object_get(oj->body, "scopes")),
               j->idem, "operator-create", text);
    free(text);
}

static void failed_done(struct http_req *r, void *ctx, int status, const char *body,
                        const char *ra, bool replayed)
{
    (void)status;
    (void)body;
    (void)ra;
    (void)replayed;
    if (ctx)
        http_guard_problem(r, 401, "Invalid one-time code", "totp_invalid",
                           "the one-time code is wrong or already used");
    else
        http_guard_problem(r, 401, "Sign-in failed", "invalid_credentials",
                           "the e-mail or the password is wrong");
}

/* A wrong password or code for operator @id: counted (OPERATOR_MAX_FAILURES lock it out),
 * then 401. */
static void op_failed(struct http_req *r, const char *id, bool code)
{
    char idem[256];
    random_idem("failed", idem);
    acc_submit_then(r, CMD_OPERATOR_SET, json_pack("{s:s, s:b}", "id", id, "failed", 1), idem,
                    "operator-failed", idem, failed_done, code ? (void *)1 : NULL);
}

static void op_checked(uv_work_t *w, int status)
{
    struct job *j = w->data;
    struct opjob *oj = j->ctx;
    struct http_req *r = j->r;
    struct node *n = r->node;
    acc_job_done(n->accounts, j);
    json_t *op = NULL, *t = NULL;
    if (status != 0) {
        http_problem(r, 503, "Cancelled", "the password check was cancelled");
        goto out;
    }
    if (oj->kind == OP_CREATE) {
        if (j->rv != KYC_OK)
            http_problem(r, 500, "Hashing failed", "%s", j->err.msg);
        else
            create_hashed(r, oj);
        goto out;
    }
    op = op_by_email(n, j->email);
    if (j->rv != KYC_OK || !op) {
        if (op)
            op_failed(r, json_string_value(json_object_get(op, "id")), false);
        else
            http_guard_problem(r, 401, "Sign-in failed", "invalid_credentials",
                               "the e-mail or the password is wrong");
        goto out;
    }
    const char *id = json_string_value(json_object_get(op, "id"));
    if (json_is_true(json_object_get(op, "disabled"))) {
        http_guard_problem(r, 403, "Operator disabled", "operator_disabled",
                           "operator '%s' is disabled", id);
        goto out;
    }
    bool confirmed = json_is_true(json_object_get(op, "totp_confirmed"));
    struct signin_ctx *s = calloc(1, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    scopes_text(json_object_get(op, "scopes"), s->scopes, sizeof s->scopes);
    char idem[256];
    if (oj->kind == OP_ENROL) {
        if (confirmed) {
            free(s);
            http_guard_problem(r, 409, "Second factor already confirmed", "totp_confirmed",
                               "operator '%s' already has a confirmed second factor", id);
            goto out;
        }
        uint8_t key[KYC_TOTP_SECRET_BYTES];
        kyc_err err = {0};
        char aad[128], *sealed = NULL;
        totp_aad(aad, id);
        if (kyc_totp_secret_new(key, &err) != KYC_OK ||
            kyc_base32_encode(key, sizeof key, s->secret, sizeof s->secret) < 0 ||
            kyc_totp_uri(key, sizeof key, "Parlay operators", j->email, &s->uri, &err) !=
                KYC_OK ||
            !(sealed = seal_text(&n->cfg.secrets, aad, s->secret))) {
            OPENSSL_cleanse(key, sizeof key);
            free(s->uri);
            free(s);
            http_problem(r, 500, "Enrolment failed", "the second factor could not be made");
            goto out;
        }
        OPENSSL_cleanse(key, sizeof key);
        random_idem("totp", idem);
        set_actor(r, "operator", id, s->scopes);
        acc_submit_then(r, CMD_OPERATOR_SET,
                        json_pack("{s:s, s:s}", "id", id, "totp_secret", sealed), idem,
                        "operator-totp", idem, enrol_done, s);
        free(sealed);
        goto out;
    }
    if (oj->kind == OP_SIGNIN && !confirmed) {
        free(s);
        http_guard_problem(r, 403, "Second factor required", "totp_required",
                           "operator '%s' must enrol and confirm a TOTP second factor first "
                           "(POST /v1/operators/totp, then /v1/operators/totp/confirm)", id);
        goto out;
    }
    t = op_totp(n, op);
    int64_t step = 0;
    kyc_err err = {0};
    if (!t || acc_totp_check(t, oj->code, &step, &err) != KYC_OK) {
        free(s);
        if (t)
            op_failed(r, id, true);
        else
            http_guard_problem(r, 401, "Invalid one-time code", "totp_invalid",
                               "no second factor is enrolled");
        goto out;
    }
    random_idem(oj->kind == OP_SIGNIN ? "signin" : "confirm", idem);
    set_actor(r, "operator", id, s->scopes);
    json_t *p = json_pack("{s:s, s:I}", "id", id, "totp_step", (json_int_t)step);
    if (oj->kind == OP_CONFIRM) {
        json_object_set_new(p, "totp_confirmed", json_true());
        acc_submit(r, CMD_OPERATOR_SET, p, idem, "operator-signin", idem);
        free(s);
    } else {
        acc_submit_then(r, CMD_OPERATOR_SET, p, idem, "operator-signin", idem, signin_done, s);
    }
out:
    json_decref(t);
    json_decref(op);
    json_decref(oj->body);
    acc_job_free(j);
    free(oj);
}

/* POST /v1/operators/sessions {email, password, totp}, /v1/operators/totp {email, password},
 * /v1/operators/totp/confirm {email, password, code}. */
static void op_password_route(struct http_req *r, int kind)
{
    static const char *const signin[] = {"email", "password", "totp", NULL};
    static const char *const enrol[] = {"email", "password", NULL};
    static const char *const confirm[] = {"email", "password", "code", NULL};
    if (!acc_on_leader(r))
        return;
    json_t *body = routes_body(r);
    if (!body)
        return;
    char email[ACCOUNTS_EMAIL_MAX + 1];
    if (!acc_fields(r, body, kind == OP_SIGNIN ? signin : kind == OP_ENROL ? enrol : confirm) ||
        !acc_email_field(r, body, email)) {
        json_decref(body);
        return;
    }
    const char *code = json_string_value(
        json_object_get(body, kind == OP_SIGNIN ? "totp" : "code"));
    if (code && (strlen(code) != 6 || strspn(code, "0123456789") != 6)) {
        json_decref(body);
        http_problem(r, 422, "Invalid one-time code", "the one-time code must be 6 digits");
        return;
    }
    json_t *op = op_by_email(r->node, email);
    json_int_t locked = json_integer_value(json_object_get(op, "locked_until_ms"));
    if (op && locked > (json_int_t)acc_now_s() * 1000) {
        char ra[24];
        snprintf(ra, sizeof ra, "%lld", (long long)(locked / 1000 - acc_now_s() + 1));
        http_header(r, "retry-after", ra);
        http_guard_problem(r, 429, "Too many failed sign-ins", "operator_locked",
                           "%d failed sign-ins in a row: this operator is locked out for %d "
                           "minutes",
                           OPERATOR_MAX_FAILURES, OPERATOR_LOCK_MS / 60000);
        json_decref(op);
        json_decref(body);
        return;
    }
    struct job *j = acc_job_new(r, body, email, "");
    j->verify = true;
    if (op)
        snprintf(j->hash, sizeof j->hash, "%s",
                 json_string_value(json_object_get(op, "password_hash")));
    json_decref(op);
    struct opjob *oj = calloc(1, sizeof *oj);
    oj->j = j;
    oj->kind = kind;
    snprintf(oj->code, sizeof oj->code, "%s", code ? code : "");
    json_decref(body);
    j->ctx = oj;
    if (!acc_job_queue(r, j, op_checked))
        free(oj);
}

/* POST /admin/v1/operators {name, email, password, scopes[]} (scope operators). */
static void op_create(struct http_req *r)
{
    static const char *const names[] = {"name", "email", "password", NULL};
    if (!acc_on_leader(r))
        return;
    json_t *body = routes_body(r);
    if (!body)
        return;
    char email[ACCOUNTS_EMAIL_MAX + 1], idem[256];
    json_t *scopes = json_incref(json_object_get(body, "scopes"));
    json_object_del(body, "scopes");
    kyc_err err = {0};
    const char *name = NULL, *pw = NULL;
    if (!operator_scopes_valid(scopes)) {
        http_problem(r, 422, "Invalid scopes",
                     "field 'scopes' must be a non-empty array of distinct scopes among cluster, "
                     "kyc, wallet, bets, oracle, audit:read, operators");
        goto fail;
    }
    if (!acc_fields(r, body, names) || !acc_email_field(r, body, email))
        goto fail;
    name = json_string_value(json_object_get(body, "name"));
    pw = json_string_value(json_object_get(body, "password"));
    if (!name[0] || strlen(name) > OPERATOR_NAME_MAX) {
        http_problem(r, 422, "Invalid name", "field 'name' must be 1 to %d bytes",
                     OPERATOR_NAME_MAX);
        goto fail;
    }
    if (kyc_password_policy(pw, strlen(pw), r->node->accounts->pwlist, &err) != KYC_OK) {
        http_problem(r, 422, "Weak password", "%s", err.msg);
        goto fail;
    }
    json_t *old = op_by_email(r->node, email);
    if (old) {
        json_decref(old);
        http_guard_problem(r, 409, "Operator exists", "operator_exists",
                           "an operator with e-mail '%s' already exists", email);
        goto fail;
    }
    if (!acc_idem_key(r, "admin", idem))
        goto fail;
    struct job *j = acc_job_new(r, body, email, idem);
    struct opjob *oj = calloc(1, sizeof *oj);
    oj->j = j;
    oj->kind = OP_CREATE;
    json_object_set(body, "scopes", scopes);
    json_object_del(body, "password");
    oj->body = body;
    json_decref(scopes);
    j->ctx = oj;
    if (!acc_job_queue(r, j, op_checked)) { /* hashes: j->verify is false */
        json_decref(oj->body);
        free(oj);
    }
    return;
fail:
    json_decref(scopes);
    json_decref(body);
}


/* GET /admin/v1/operators, GET /admin/v1/tokens */
static void serve_list(struct http_req *r, bool tokens)
{
    MDB_txn *txn;
    if (fsm_read_begin(r->node->fsm, &txn) != 0) {
        http_problem(r, 500, "Read failed", "the state could not be read");
        return;
    }
    json_t *items = tokens ? mtoken_list(r->node->fsm, txn) : operator_list(r->node->fsm, txn);
    fsm_read_end(txn);
    http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

static void serve_operators(struct http_req *r)
{
    serve_list(r, false);
}

static void serve_tokens(struct http_req *r)
{
    serve_list(r, true);
}

/* POST /admin/v1/operators/{id}/disable */
static void op_disable(struct http_req *r, const char *id)
{
    char idem[256];
    if (!acc_on_leader(r) || !acc_idem_key(r, "admin", idem))
        return;
    acc_submit(r, CMD_OPERATOR_SET, json_pack("{s:s, s:b}", "id", id, "disabled", 1), idem,
               "operator-disable", id);
}

struct mtoken_issue {
    char token[160];
};

static void mtoken_done(struct http_req *r, void *ctx, int status, const char *body,
                        const char *ra, bool replayed)
{
    struct mtoken_issue *t = ctx;
    json_t *res = status == 201 && !replayed ? json_loads(body, 0, NULL) : NULL;
    if (!res) {
        acc_relay(r, status, body, ra, replayed);
    } else {
        json_object_set_new(res, "token", json_string(t->token));
        http_header(r, "cache-control", "no-store");
        http_reply_json(r, 201, res);
    }
    OPENSSL_cleanse(t, sizeof *t);
    free(t);
}

/* POST /admin/v1/tokens {name, scopes[], expires_in_s}: the scopes a subset of the caller's. */
static void mtoken_create(struct http_req *r)
{
    static const char *const names[] = {"name", NULL};
    if (!acc_on_leader(r))
        return;
    json_t *body = routes_body(r);
    if (!body)
        return;
    char idem[256];
    json_t *scopes = json_incref(json_object_get(body, "scopes"));
    json_t *ttl = json_incref(json_object_get(body, "expires_in_s"));
    json_object_del(body, "scopes");
    json_object_del(body, "expires_in_s");
    if (!operator_scopes_valid(scopes)) {
        http_problem(r, 422, "Invalid scopes",
                     "field 'scopes' must be a non-empty array of distinct known scopes");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(scopes); i++) {
        const char *s = json_string_value(json_array_get(scopes, i));
        if (!scope_in(r->actor_scopes, s)) {
            http_guard_problem(r, 403, "Insufficient scope", "insufficient_scope",
                               "a machine token cannot hold the scope '%s', which its creator "
                               "does not hold", s);
            goto out;
        }
    }
    if (!json_is_integer(ttl) || json_integer_value(ttl) < 60 ||
        json_integer_value(ttl) > MTOKEN_MAX_S) {
        http_problem(r, 422, "Invalid expiry",
                     "field 'expires_in_s' must be an integer from 60 to %d", MTOKEN_MAX_S);
        goto out;
    }
    if (!acc_fields(r, body, names))
        goto out;
    const char *name = json_string_value(json_object_get(body, "name"));
    if (!name[0] || strlen(name) > OPERATOR_NAME_MAX) {
        http_problem(r, 422, "Invalid name", "field 'name' must be 1 to %d bytes",
                     OPERATOR_NAME_MAX);
        goto out;
    }
    if (!acc_idem_key(r, "admin", idem))
        goto out;
    char id[OPERATOR_ID_MAX + 1], rnd[17], secret[65], hash[65], by[128];
    acc_random_hex(8, rnd);
    snprintf(id, sizeof id, "mt-%s", rnd);
    acc_random_hex(32, secret);
    struct mtoken_issue *t = calloc(1, sizeof *t);
    snprintf(t->token, sizeof t->token, MTOKEN_PREFIX "%s.%s", id, secret);
    OPENSSL_cleanse(secret, sizeof secret);
    acc_sha256_hex(t->token, NULL, hash);
    snprintf(by, sizeof by, "%s:%s", r->actor_kind, r->actor_id);
    char what[128];
    snprintf(what, sizeof what, "mtoken %s %lld", name, (long long)json_integer_value(ttl));
    acc_submit_then(r, CMD_MTOKEN_SET,
                    json_pack("{s:s, s:s, s:O, s:I, s:s, s:s}", "id", id, "name", name,
                              "scopes", scopes, "expires_ms",
                              (json_int_t)((acc_now_s() + json_integer_value(ttl)) * 1000),
                              "hash", hash, "created_by", by),
                    idem, what, r->actor_id, mtoken_done, t);
out:
    json_decref(scopes);
    json_decref(ttl);
    json_decref(body);
}

/* DELETE /admin/v1/tokens/{id} */
static void mtoken_revoke(struct http_req *r, const char *id)
{
    char idem[256];
    if (!acc_on_leader(r) || !acc_idem_key(r, "admin", idem))
        return;
    acc_submit(r, CMD_MTOKEN_SET, json_pack("{s:s, s:b}", "id", id, "revoked", 1), idem,
               "mtoken-revoke", id);
}

int routes_operators(struct http_req *r, const char *method, const char *path)
{
    char seg[64];
    if (!strcmp(path, "/admin/v1/audit")) {
        if (routes_require_scope(r, "audit:read") && routes_method(r, method, "GET", "use GET"))
            routes_read(r, serve_audit);
        return 0;
    }
    if (!r->node->accounts)
        return -1;
    if (!strcmp(path, "/v1/operators/sessions")) {
        if (routes_method(r, method, "POST", "use POST to sign in"))
            op_password_route(r, OP_SIGNIN);
    } else if (!strcmp(path, "/v1/operators/totp")) {
        if (routes_method(r, method, "POST", "use POST to enrol a second factor"))
            op_password_route(r, OP_ENROL);
    } else if (!strcmp(path, "/v1/operators/totp/confirm")) {
        if (routes_method(r, method, "POST", "use POST"))
            op_password_route(r, OP_CONFIRM);
    } else if (!strcmp(path, "/admin/v1/operators")) {
        if (!routes_require_scope(r, "operators"))
            return 0;
        if (!strcmp(method, "POST"))
            op_create(r);
        else if (routes_method(r, method, "GET", "use GET to list, POST to create"))
            routes_read(r, serve_operators);
    } else if (!strncmp(path, "/admin/v1/operators/", 20) && strlen(path) > 28 &&
               !strcmp(path + strlen(path) - 8, "/disable") &&
               strlen(path) - 28 <= OPERATOR_ID_MAX) {
        char id[OPERATOR_ID_MAX + 1];
        snprintf(id, sizeof id, "%.*s", (int)(strlen(path) - 28), path + 20);
        if (routes_require_scope(r, "operators") &&
            routes_method(r, method, "POST", "use POST to disable the operator"))
            op_disable(r, id);
    } else if (!strcmp(path, "/admin/v1/tokens")) {
        if (!routes_require_scope(r, "operators"))
            return 0;
        if (!strcmp(method, "POST"))
            mtoken_create(r);
        else if (routes_method(r, method, "GET", "use GET to list, POST to create"))
            routes_read(r, serve_tokens);
    } else if (routes_match1(path, "/admin/v1/tokens", seg, sizeof seg)) {
        if (routes_require_scope(r, "operators") &&
            routes_method(r, method, "DELETE", "use DELETE to revoke the token"))
            mtoken_revoke(r, seg);
    } else {
        return -1;
    }
    return 0;
}
