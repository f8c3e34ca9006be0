/* The accounts cluster over HTTP: players, sign-in, sessions and the token-signing keys.
 *
 *   POST   /v1/players                {email, password}          register
 *   POST   /v1/sessions               {email, password}          sign in
 *   POST   /v1/sessions/refresh       {refresh_token}            rotate the refresh token
 *   DELETE /v1/sessions/current       (access token)             sign out
 *   DELETE /v1/sessions               (access token)             sign out everywhere
 *   GET    /v1/players/me             (access token)             the player
 *   POST   /v1/players/me/totp        (access token)             enrol a TOTP second factor
 *   POST   /v1/players/me/totp/confirm {code} (access token)     confirm it: recovery codes
 *   GET    /.well-known/jwks.json                                the public signing keys
 *   POST   /v1/players/me/franceconnect (access token)           start a FranceConnect link
 *   POST   /v1/sessions/franceconnect                            sign in with FranceConnect
 *   GET    /v1/kyc/franceconnect/callback?code&state&iss         finish either (any node)
 *   POST   /v1/players/me/kyc/document (access token)            start a document check
 *   POST   /v1/kyc/webhooks/{provider} (the provider, signed)       its decision
 *   POST   /admin/v1/signing-keys     (admin)                    rotate the signing key
 *   GET    /admin/v1/players[?email=] | /admin/v1/players/{id}  (admin) see players
 *   POST   /admin/v1/players/{id}/kyc {status, reason} (admin)  an operator's KYC decision
 *   POST   /internal/v1/propose       (admin; node to node)      propose a prepared command
 *
 * The happy path of a write: parse and validate on the node that took the request; do the slow
 * or random part there (Argon2id on a libuv worker thread, ids and refresh tokens from the
 * CSPRNG); then propose the prepared command. On the leader it is proposed directly; a follower
 * posts it to the leader's /internal/v1/propose (with the cluster's admin token), so the
 * password never leaves the node that received it and the leader does not redo the hash.
 * Tokens are built after the command is applied: the refresh token's plaintext is known only
 * to the node that generated it, and only its SHA-256 is replicated.
 *
 * Idempotency: keys are namespaced by caller (the email's digest for register and sign-in, the
 * session family for refresh, the player for sign-out) and the fingerprint covers what the
 * caller asked, not the prepared command (whose salt and tokens are new on every try), so a
 * retry with the same key gets the first answer. Tokens are handed out once: a replayed
 * sign-in or refresh is answered 409, because their plaintext is not kept anywhere.
 *
 * Failure modes: no leader / leader unreachable: 503 + Retry-After; leadership lost in flight:
 * 503 "Outcome unknown" (retry with the same key); too many hashes in flight: 503. */
#include <cjose/cjose.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/accounts.h"
#include "kyc/kyc.h"
#include "node/forward.h"
#include "node/auth.h"
#include "node/log.h"
#include "node/query.h"
#include "node/routes.h"

#define ACCESS_TTL_S 900
#define MAX_HASHING 16
#define AUDIENCE "parlay"

struct accounts {
    struct node *node;
    kyc_pwlist *pwlist;
    unsigned hashing;
    uv_timer_t key_timer;
    bool key_proposing;
    char issuer[128];
    kyc_fc *fc; /* NULL when FranceConnect is not configured */
    kyc_doc_provider *doc; /* NULL when no document-check provider is configured */
};

/* ---- small helpers ---- */

static void hex(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
    out[2 * n] = 0;
}

static void sha256_hex(const char *a, const char *b, char out[65])
{
    uint8_t md[32];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, a, strlen(a));
    if (b) {
        EVP_DigestUpdate(ctx, "\n", 1);
        EVP_DigestUpdate(ctx, b, strlen(b));
    }
    EVP_DigestFinal_ex(ctx, md, NULL);
    EVP_MD_CTX_free(ctx);
    hex(md, 32, out);
}

static int random_hex(size_t bytes, char *out)
{
    uint8_t b[32];
    if (bytes > sizeof b || RAND_bytes(b, (int)bytes) != 1)
        return -1;
    hex(b, bytes, out);
    return 0;
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

/* A problem+json text (malloc'd). */
static char *problem_text(int status, const char *title, const char *detail)
{
    json_t *o = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title", title,
                          "status", status, "detail", detail);
    char *t = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return t;
}

/* Answer with a result's status and body, copying a 429's retry_after into Retry-After. */
static void relay(struct http_req *r, int status, const char *body, const char *retry_after,
                  bool replayed)
{
    char ra[32] = "";
    if (retry_after && retry_after[0])
        snprintf(ra, sizeof ra, "%s", retry_after);
    else if (status == 401 || status == 429 || status == 503) {
        json_t *o = json_loads(body, 0, NULL);
        json_int_t s = json_integer_value(json_object_get(o, "retry_after"));
        json_decref(o);
        if (s > 0 || status != 401)
            snprintf(ra, sizeof ra, "%lld", (long long)(s > 0 ? s : 1));
    }
    if (ra[0])
        http_header(r, "retry-after", ra);
    if (replayed)
        http_header(r, "idempotent-replayed", "true");
    http_reply(r, status, status >= 400 ? "application/problem+json" : "application/json", body,
               strlen(body));
}

/* ---- proposing a prepared command ---- */

typedef void (*acc_done)(struct http_req *r, void *ctx, int status, const char *body,
                         const char *retry_after, bool replayed);

struct prop {
    struct http_req *r;
    acc_done done;
    void *ctx;
    uint16_t type;
    char *payload;
    char idem[256];
    uint8_t fp[32];
};

static void prop_free(struct prop *p)
{
    free(p->payload);
    free(p);
}

static void done_problem(struct prop *p, int status, const char *title, const char *detail,
                         const char *retry_after)
{
    char *t = problem_text(status, title, detail);
    p->done(p->r, p->ctx, status, t, retry_after, false);
    free(t);
    prop_free(p);
}

static void on_forwarded(struct http_req *r, long status, const char *body, size_t len,
                         const char *retry_after, bool replayed);

/* Forwarded requests keep their struct prop here while the leader answers. */
struct fwd_wait {
    struct http_req *r;
    struct prop *p;
    struct fwd_wait *next;
};
static struct fwd_wait *waits;

static void forward_prop(struct prop *p)
{
    struct node *n = p->r->node;
    char addr[64];
    uint64_t leader = replica_leader(n->replica, addr, sizeof addr);
    if (p->r->forwarded || leader == 0 || leader == n->cfg.node_id || !addr[0]) {
        done_problem(p, 503, "No leader",
                     "the cluster has no leader at the moment (election in progress or no "
                     "quorum); retry shortly with the same Idempotency-Key",
                     "1");
        return;
    }
    char fph[65];
    hex(p->fp, 32, fph);
    json_t *body = json_pack("{s:i, s:s, s:s, s:s}", "type", p->type, "payload", p->payload,
                             "idem", p->idem, "fp", fph);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct fwd_wait *w = malloc(sizeof *w);
    w->r = p->r;
    w->p = p;
    w->next = waits;
    waits = w;
    n->metrics.forwarded++;
    forward_post(n->fwd, p->r, addr, "/internal/v1/propose", p->idem, text, on_forwarded);
    free(text);
}

static void on_forwarded(struct http_req *r, long status, const char *body, size_t len,
                         const char *retry_after, bool replayed)
{
    (void)len;
    struct prop *p = NULL;
    for (struct fwd_wait **pw = &waits; *pw; pw = &(*pw)->next)
        if ((*pw)->r == r) {
            struct fwd_wait *w = *pw;
            p = w->p;
            *pw = w->next;
            free(w);
            break;
        }
    if (!p)
        return;
    if (status == 0)
        done_problem(p, 503, "Leader unreachable", "the leader could not be reached; retry "
                                                   "shortly with the same Idempotency-Key",
                     "1");
    else if (status < 0) {
        r->node->metrics.outcome_unknown++;
        done_problem(p, 503, "Outcome unknown",
                     "the leader did not answer; the request may or may not have been applied: "
                     "retry with the same Idempotency-Key",
                     "1");
    } else {
        p->done(r, p->ctx, (int)status, body, retry_after, replayed);
        prop_free(p);
    }
}

static void on_proposed(void *arg, int outcome, const struct fsm_result *res)
{
    struct prop *p = arg;
    if (outcome == REPLICA_OK) {
        p->done(p->r, p->ctx, res->status, res->body ? res->body : "{}", NULL, false);
        prop_free(p);
    } else if (outcome == REPLICA_NOTLEADER) {
        forward_prop(p);
    } else if (outcome == REPLICA_UNKNOWN) {
        p->r->node->metrics.outcome_unknown++;
        done_problem(p, 503, "Outcome unknown",
                     "leadership changed while the request was in flight; it may or may not "
                     "have been applied: retry with the same Idempotency-Key",
                     "1");
    } else {
        done_problem(p, 503, "Not applied", "the request could not be replicated", "1");
    }
}

/* Propose @payload (stolen) as @type with idempotency key @idem and fingerprint @fp, here if
 * this node leads, else through the leader; @done gets the command's result. */
static void acc_propose(struct http_req *r, uint16_t type, json_t *payload, const char *idem,
                        const uint8_t fp[32], acc_done done, void *ctx)
{
    struct node *n = r->node;
    struct prop *p = calloc(1, sizeof *p);
    p->r = r;
    p->done = done;
    p->ctx = ctx;
    p->type = type;
    p->payload = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(payload);
    snprintf(p->idem, sizeof p->idem, "%s", idem);
    memcpy(p->fp, fp, 32);
    if (!replica_is_leader(n->replica)) {
        forward_prop(p);
        return;
    }
    struct fsm_result prev = {0, NULL};
    uint8_t pfp[32];
    if (fsm_idem_get(n->fsm, p->idem, strlen(p->idem), pfp, &prev) == 1) {
        n->metrics.idem_replays++;
        if (memcmp(pfp, p->fp, 32) != 0) {
            fsm_result_clear(&prev);
            done_problem(p, 422, "Idempotency key reused",
                         "this Idempotency-Key was already used for a different request", NULL);
            return;
        }
        p->done(r, p->ctx, prev.status, prev.body, NULL, true);
        fsm_result_clear(&prev);
        prop_free(p);
        return;
    }
    if (!fsm_space_ok(n->fsm)) {
        n->metrics.quota_refusals++;
        done_problem(p, 507, "Cluster read-only",
                     "the space quota is exhausted; the cluster accepts reads only", NULL);
        return;
    }
    struct cmd c = {.type = type,
                    .idem = p->idem,
                    .idem_len = strlen(p->idem),
                    .payload = p->payload,
                    .payload_len = strlen(p->payload)};
    memcpy(c.fingerprint, p->fp, 32);
    n->metrics.proposals++;
    int rv = replica_propose(n->replica, &c, on_proposed, p);
    if (rv != REPLICA_OK)
        on_proposed(p, rv, NULL);
}

/* The client's Idempotency-Key, namespaced: "@ns:@key". Answers 428/400 and returns false
 * when it is missing or malformed. */
static bool idem_key(struct http_req *r, const char *ns, char out[256])
{
    char key[240];
    if (!http_header_get(r, "idempotency-key", key, sizeof key)) {
        http_problem(r, 428, "Idempotency-Key required",
                     "every write needs an Idempotency-Key header (1 to 200 visible ASCII "
                     "characters) so that a retry cannot apply it twice");
        return false;
    }
    size_t n = strlen(key);
    bool ok = n >= 1 && n <= 200;
    for (size_t i = 0; ok && i < n; i++)
        ok = key[i] >= 0x21 && key[i] <= 0x7e;
    if (!ok) {
        http_problem(r, 400, "Bad Idempotency-Key",
                     "the Idempotency-Key must be 1 to 200 visible ASCII characters");
        return false;
    }
    snprintf(out, 256, "%s:%s", ns, key);
    return true;
}

/* The Idempotency-Key of a signed-in player's write, in that player's namespace. */
static bool player_idem_key(struct http_req *r, const char *player, char out[256])
{
    char ns[64];
    snprintf(ns, sizeof ns, "player:%s", player);
    return idem_key(r, ns, out);
}

static void fingerprint(const char *what, const char *subject, uint8_t fp[32])
{
    char h[65];
    sha256_hex(what, subject, h);
    for (int i = 0; i < 32; i++)
        sscanf(h + 2 * i, "%2hhx", &fp[i]);
}

/* ---- request bodies ---- */

/* Checks that @body has the string fields @names (NULL-terminated), optionally those in @opt
 * (may be NULL), and nothing else. */
static bool fields_opt(struct http_req *r, json_t *body, const char *const *names,
                       const char *const *opt)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        bool known = false;
        for (const char *const *k = names; *k; k++)
            known = known || !strcmp(*k, key);
        for (const char *const *k = opt; k && *k; k++)
            known = known || !strcmp(*k, key);
        if (!known) {
            http_problem(r, 400, "Unknown field", "unknown field '%s'", key);
            return false;
        }
        if (!json_is_string(v)) {
            http_problem(r, 422, "Wrong type", "field '%s' must be a string", key);
            return false;
        }
    }
    for (const char *const *k = names; *k; k++)
        if (!json_object_get(body, *k)) {
            http_problem(r, 422, "Missing field", "field '%s' is required", *k);
            return false;
        }
    return true;
}

static bool fields(struct http_req *r, json_t *body, const char *const *names)
{
    return fields_opt(r, body, names, NULL);
}

static bool email_field(struct http_req *r, json_t *body, char out[ACCOUNTS_EMAIL_MAX + 1])
{
    if (accounts_email_normalise(json_string_value(json_object_get(body, "email")), out,
                                 ACCOUNTS_EMAIL_MAX + 1) == 0)
        return true;
    http_problem(r, 422, "Invalid email",
                 "field 'email' must be an address such as name@example.fr (at most %d "
                 "characters)",
                 ACCOUNTS_EMAIL_MAX);
    return false;
}

/* ---- access tokens ---- */

/* The newest signing key (private JWK text, malloc'd) and its kid; NULL if none yet. */
static char *current_key(struct node *n, char kid[80])
{
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return NULL;
    json_t *keys = accounts_signing_keys(n->fsm, txn);
    fsm_read_end(txn);
    json_t *k = json_array_get(keys, json_array_size(keys) - 1);
    char *out = NULL;
    if (k) {
        snprintf(kid, 80, "%s", json_string_value(json_object_get(k, "kid")));
        out = json_dumps(json_object_get(k, "jwk"), JSON_COMPACT);
    }
    json_decref(keys);
    return out;
}

static json_t *public_jwks(struct node *n)
{
    MDB_txn *txn;
    json_t *out = json_array();
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return json_pack("{s:o}", "keys", out);
    json_t *keys = accounts_signing_keys(n->fsm, txn);
    fsm_read_end(txn);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        json_t *jwk = json_deep_copy(json_object_get(k, "jwk"));
        json_object_del(jwk, "d");
        json_object_set_new(jwk, "use", json_string("sig"));
        json_object_set_new(jwk, "alg", json_string("ES256"));
        json_array_append_new(out, jwk);
    }
    json_decref(keys);
    return json_pack("{s:o}", "keys", out);
}

/* An ES256 access token for @player in session @sid (malloc'd), or NULL. */
static char *access_token(struct node *n, const char *player, const char *sid)
{
    char kid[80];
    char *jwk_text = current_key(n, kid);
    if (!jwk_text)
        return NULL;
    cjose_err cerr;
    char *out = NULL;
    int64_t now = now_s();
    json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", n->accounts->issuer,
                               "aud", AUDIENCE, "sub", player, "sid", sid, "iat",
                               (json_int_t)now, "exp", (json_int_t)(now + ACCESS_TTL_S));
    char *ctext = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    cjose_jwk_t *jwk = cjose_jwk_import(jwk_text, strlen(jwk_text), &cerr);
    cjose_header_t *hdr = cjose_header_new(&cerr);
    cjose_jws_t *jws = NULL;
    const char *compact;
    if (jwk && hdr && cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &cerr) &&
        cjose_header_set(hdr, CJOSE_HDR_KID, kid, &cerr) &&
        cjose_header_set(hdr, "typ", "at+jwt", &cerr) &&
        (jws = cjose_jws_sign(jwk, hdr, (const uint8_t *)ctext, strlen(ctext), &cerr)) &&
        cjose_jws_export(jws, &compact, &cerr))
        out = strdup(compact);
    else
        LOG_ERROR("event=token_sign_failed err=\"%s\"", cerr.message);
    if (out && kyc_es256_flip_s(out, true, NULL) != KYC_OK) { /* verifiers take low-s only */
        free(out);
        out = NULL;
    }
    cjose_jws_release(jws);
    cjose_header_release(hdr);
    cjose_jwk_release(jwk);
    free(ctext);
    free(jwk_text);
    return out;
}

/* Verify the bearer access token; on failure answer 401 and return NULL. Also refuses a token
 * whose session was revoked (this cluster can tell; other clusters wait for its expiry). */
static json_t *authenticate(struct http_req *r)
{
    struct node *n = r->node;
    json_t *jwks = public_jwks(n);
    json_t *claims = auth_verify_bearer(r, jwks, n->accounts->issuer, NULL);
    json_decref(jwks);
    if (!claims)
        return NULL;
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *sid = json_string_value(json_object_get(claims, "sid"));
    MDB_txn *txn;
    json_t *s = NULL;
    if (sid && accounts_family_valid(sid) && fsm_read_begin(n->fsm, &txn) == 0) {
        s = accounts_session_get(n->fsm, txn, sid);
        fsm_read_end(txn);
    }
    if (sub && !s && !r->forwarded && !replica_is_leader(n->replica)) {
        /* A session created a moment ago may not be applied here yet: the leader knows. */
        json_decref(claims);
        http_forward_to_leader(r);
        return NULL;
    }
    if (!sub || !s || strcmp(json_string_value(json_object_get(s, "player_id")), sub) != 0 ||
        json_is_true(json_object_get(s, "revoked"))) {
        json_decref(s);
        json_decref(claims);
        http_header(r, "www-authenticate", "Bearer error=\"invalid_token\"");
        http_problem(r, 401, "Session ended",
                     "the session of this access token was signed out or is not known here");
        return NULL;
    }
    json_decref(s);
    return claims;
}

/* ---- worker-thread jobs (Argon2id) ---- */

struct job {
    uv_work_t work;
    struct http_req *r;
    char email[ACCOUNTS_EMAIL_MAX + 1];
    char idem[256];
    char *password;
    size_t pwlen;
    char hash[KYC_PW_HASH_MAX]; /* register: out; sign-in: in */
    char player_id[ACCOUNTS_ID_CHARS + 1];
    int rv;
    kyc_err err;
    bool verify;
    char totp[16];      /* sign-in: the one-time code given, if any */
    char recovery[32];  /* sign-in: the recovery code given, if any */
};

/* A hash of a password nobody has, so that an unknown email costs the same as a wrong
 * password. */
static char dummy_hash[KYC_PW_HASH_MAX];

static void job_work(uv_work_t *w)
{
    struct job *j = w->data;
    if (j->verify)
        j->rv = kyc_password_verify(j->hash[0] ? j->hash : dummy_hash, j->password, j->pwlen,
                                    &j->err);
    else
        j->rv = kyc_password_hash(j->password, j->pwlen, NULL, j->hash, &j->err);
}

static void job_free(struct job *j)
{
    OPENSSL_cleanse(j->password, j->pwlen);
    free(j->password);
    free(j);
}

static bool job_queue(struct http_req *r, struct job *j, uv_after_work_cb after)
{
    struct accounts *a = r->node->accounts;
    if (a->hashing >= MAX_HASHING) {
        job_free(j);
        http_header(r, "retry-after", "1");
        http_problem(r, 503, "Busy", "too many password checks in progress; retry shortly");
        return false;
    }
    a->hashing++;
    j->work.data = j;
    uv_queue_work(r->node->loop, &j->work, job_work, after);
    return true;
}

static struct job *job_new(struct http_req *r, json_t *body, const char *email, const char *idem)
{
    struct job *j = calloc(1, sizeof *j);
    const char *pw = json_string_value(json_object_get(body, "password"));
    j->r = r;
    j->pwlen = strlen(pw);
    j->password = malloc(j->pwlen + 1);
    memcpy(j->password, pw, j->pwlen + 1);
    snprintf(j->email, sizeof j->email, "%s", email);
    snprintf(j->idem, sizeof j->idem, "%s", idem);
    return j;
}

/* The caller namespace for anonymous writes: a digest of the normalised email. */
static void email_ns(const char *what, const char *email, char *out, size_t n)
{
    char h[65];
    sha256_hex(email, NULL, h);
    snprintf(out, n, "%s:%.16s", what, h);
}

/* ---- register ---- */

static void register_done(struct http_req *r, void *ctx, int status, const char *body,
                          const char *ra, bool replayed)
{
    (void)ctx;
    relay(r, status, body, ra, replayed);
}

static void register_hashed(uv_work_t *w, int status)
{
    struct job *j = w->data;
    struct http_req *r = j->r;
    r->node->accounts->hashing--;
    if (status != 0 || j->rv != KYC_OK) {
        http_problem(r, 500, "Hashing failed", "%s", status ? "cancelled" : j->err.msg);
        job_free(j);
        return;
    }
    uint8_t fp[32];
    fingerprint("register", j->email, fp);
    acc_propose(r, CMD_PLAYER_REGISTER,
                json_pack("{s:s, s:s, s:s}", "id", j->player_id, "email", j->email,
                          "password_hash", j->hash),
                j->idem, fp, register_done, NULL);
    job_free(j);
}

static void do_register(struct http_req *r)
{
    static const char *const names[] = {"email", "password", NULL};
    struct node *n = r->node;
    json_t *body = routes_body(r);
    if (!body)
        return;
    char email[ACCOUNTS_EMAIL_MAX + 1], ns[64], idem[256];
    if (!fields(r, body, names) || !email_field(r, body, email))
        goto out;
    const char *pw = json_string_value(json_object_get(body, "password"));
    kyc_err err = {0};
    if (kyc_password_policy(pw, strlen(pw), n->accounts->pwlist, &err) != KYC_OK) {
        http_problem(r, 422, err.code == KYC_E_PW_BREACHED ? "Password breached"
                                                           : "Invalid password",
                     "field 'password': %s", err.msg);
        goto out;
    }
    email_ns("register", email, ns, sizeof ns);
    if (!idem_key(r, ns, idem))
        goto out;
    /* Answer a replay from the local record before paying for a hash. */
    struct fsm_result prev = {0, NULL};
    uint8_t fp[32], pfp[32];
    fingerprint("register", email, fp);
    if (fsm_idem_get(n->fsm, idem, strlen(idem), pfp, &prev) == 1) {
        n->metrics.idem_replays++;
        if (memcmp(fp, pfp, 32) != 0)
            http_problem(r, 422, "Idempotency key reused",
                         "this Idempotency-Key was already used for a different request");
        else
            relay(r, prev.status, prev.body, NULL, true);
        fsm_result_clear(&prev);
        goto out;
    }
    MDB_txn *txn;
    json_t *taken = NULL;
    if (fsm_read_begin(n->fsm, &txn) == 0) {
        taken = accounts_player_by_email(n->fsm, txn, email);
        fsm_read_end(txn);
    }
    if (taken) {
        json_decref(taken);
        http_problem(r, 409, "Email taken", "an account already uses %s", email);
        goto out;
    }
    struct job *j = job_new(r, body, email, idem);
    memcpy(j->player_id, "p_", 2);
    if (random_hex(16, j->player_id + 2) != 0) {
        job_free(j);
        http_problem(r, 500, "No randomness", "the CSPRNG failed");
        goto out;
    }
    job_queue(r, j, register_hashed);
out:
    json_decref(body);
}

/* ---- sessions: tokens handed out after a create or a refresh ---- */

struct issue {
    struct http_req *r;
    char refresh[ACCOUNTS_FAMILY_CHARS + 1 + KYC_TOKEN_CHARS + 1];
    char hash[65];
    char *logout_url; /* FranceConnect sign-in: the provider's end-session URL, or NULL */
};

/* A new refresh token for @family: "<family>.<43 base64url chars>" and its hash. */
static int refresh_new(const char *family, char *token, size_t n, char hash[65])
{
    char secret[KYC_TOKEN_CHARS + 1];
    kyc_err err;
    if (kyc_random_token(secret, &err) != KYC_OK)
        return -1;
    snprintf(token, n, "%s.%s", family, secret);
    sha256_hex(token, NULL, hash);
    return 0;
}

/* After a session create or refresh: hand out the tokens, unless the result is a replay of an
 * earlier request with the same key (its tokens were handed out then and are not kept). */
static void tokens_done(struct http_req *r, void *ctx, int status, const char *body,
                        const char *ra, bool replayed)
{
    struct issue *is = ctx;
    json_t *res = status == 200 || status == 201 ? json_loads(body, 0, NULL) : NULL;
    if (!res) {
        relay(r, status, body, ra, replayed);
        goto out;
    }
    const char *check = json_string_value(json_object_get(res, "token_check"));
    if (replayed || !check || strncmp(check, is->hash, 16) != 0) {
        http_problem(r, 409, "Tokens already issued",
                     "this Idempotency-Key was already used and its tokens were handed out with "
                     "the first answer (they are not kept); send the request again with a new "
                     "Idempotency-Key");
        goto out;
    }
    const char *player = json_string_value(json_object_get(res, "player_id"));
    const char *sid = json_string_value(json_object_get(res, "session_id"));
    char *at = access_token(r->node, player, sid);
    if (!at) {
        http_header(r, "retry-after", "1");
        http_problem(r, 503, "No signing key",
                     "this node has no token-signing key yet; retry shortly");
        goto out;
    }
    http_header(r, "cache-control", "no-store");
    json_t *reply = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "player_id", player, "session_id",
                              sid, "access_token", at, "token_type", "Bearer", "expires_in",
                              ACCESS_TTL_S, "refresh_token", is->refresh);
    if (is->logout_url)
        json_object_set_new(reply, "franceconnect_logout_url", json_string(is->logout_url));
    http_reply_json(r, status, reply);
    free(at);
out:
    json_decref(res);
    OPENSSL_cleanse(is->refresh, sizeof is->refresh);
    free(is->logout_url);
    free(is);
}

/* ---- sign in ---- */

static void signin_failed_done(struct http_req *r, void *ctx, int status, const char *body,
                               const char *ra, bool replayed)
{
    (void)ctx;
    relay(r, status, body, ra, replayed);
}

/* The player's TOTP record as this node knows it (NULL: none). */
static json_t *totp_record(struct node *n, const char *player_id)
{
    MDB_txn *txn;
    json_t *t = NULL;
    if (fsm_read_begin(n->fsm, &txn) == 0) {
        t = accounts_totp_get(n->fsm, txn, player_id);
        fsm_read_end(txn);
    }
    return t;
}

/* Checks the code against the secret in @t from the last used step on: the matched step in
 * *step. */
static int totp_check(json_t *t, const char *code, int64_t *step, kyc_err *err)
{
    uint8_t key[64];
    int kl = kyc_base32_decode(json_string_value(json_object_get(t, "secret")), key, sizeof key);
    if (kl <= 0) {
        snprintf(err->msg, sizeof err->msg, "stored secret unreadable");
        return KYC_E_INVAL;
    }
    *step = json_integer_value(json_object_get(t, "last_step"));
    int rv = kyc_totp_verify(key, (size_t)kl, code, now_s(), 1, step, err);
    OPENSSL_cleanse(key, sizeof key);
    return rv;
}

/* After the password matched: 0 = go on (the second factor, if the account has one, is in
 * @payload as totp_step or recovery_hash), 1 = a second factor is needed and none was given,
 * -1 = the one given is wrong (counted as a failed sign-in). Apply checks single use again. */
static int second_factor(struct node *n, struct job *j, json_t *payload)
{
    json_t *t = totp_record(n, j->player_id);
    int out = 0;
    if (!t || !json_is_true(json_object_get(t, "confirmed"))) {
        json_decref(t);
        return 0;
    }
    kyc_err err = {0};
    if (j->totp[0]) {
        int64_t step;
        if (totp_check(t, j->totp, &step, &err) == KYC_OK)
            json_object_set_new(payload, "totp_step", json_integer((json_int_t)step));
        else
            out = -1;
    } else if (j->recovery[0]) {
        char h[65];
        if (kyc_recovery_hash(j->recovery, h, &err) == KYC_OK)
            json_object_set_new(payload, "recovery_hash", json_string(h));
        else
            out = -1;
    } else {
        out = 1;
    }
    json_decref(t);
    return out;
}

static void signin_checked(uv_work_t *w, int status)
{
    struct job *j = w->data;
    struct http_req *r = j->r;
    r->node->accounts->hashing--;
    uint8_t fp[32];
    fingerprint("signin", j->email, fp);
    if (status != 0 || (j->rv != KYC_OK && j->rv != KYC_E_PW_MISMATCH)) {
        http_problem(r, 500, "Password check failed", "%s", status ? "cancelled" : j->err.msg);
    } else if (!j->player_id[0]) {
        http_problem(r, 401, "Sign-in failed", "the email or the password is wrong");
    } else if (j->rv == KYC_E_PW_MISMATCH) {
        acc_propose(r, CMD_LOGIN_FAILED, json_pack("{s:s}", "player_id", j->player_id), j->idem,
                    fp, signin_failed_done, NULL);
    } else {
        json_t *payload = json_pack("{s:s}", "player_id", j->player_id);
        int sf = second_factor(r->node, j, payload);
        if (sf < 0) {
            json_decref(payload);
            acc_propose(r, CMD_LOGIN_FAILED, json_pack("{s:s}", "player_id", j->player_id),
                        j->idem, fp, signin_failed_done, NULL);
            job_free(j);
            return;
        }
        if (sf > 0) {
            json_decref(payload);
            http_problem(r, 401, "Second factor required",
                         "this account has a one-time-code second factor: send 'totp' (the "
                         "6-digit code) or 'recovery_code' with the email and password");
            job_free(j);
            return;
        }
        struct issue *is = calloc(1, sizeof *is);
        char family[ACCOUNTS_FAMILY_CHARS + 1];
        if (random_hex(16, family) != 0 ||
            refresh_new(family, is->refresh, sizeof is->refresh, is->hash) != 0) {
            free(is);
            http_problem(r, 500, "No randomness", "the CSPRNG failed");
        } else {
            json_object_set_new(payload, "family", json_string(family));
            json_object_set_new(payload, "refresh_hash", json_string(is->hash));
            acc_propose(r, CMD_SESSION_CREATE, payload, j->idem, fp, tokens_done, is);
            payload = NULL;
        }
        json_decref(payload);
    }
    job_free(j);
}

static void do_signin(struct http_req *r)
{
    static const char *const names[] = {"email", "password", NULL};
    static const char *const opt[] = {"totp", "recovery_code", NULL};
    struct node *n = r->node;
    json_t *body = routes_body(r);
    if (!body)
        return;
    char email[ACCOUNTS_EMAIL_MAX + 1], ns[64], idem[256];
    if (!fields_opt(r, body, names, opt) || !email_field(r, body, email))
        goto out;
    const char *totp = json_string_value(json_object_get(body, "totp"));
    const char *recovery = json_string_value(json_object_get(body, "recovery_code"));
    if ((totp && strlen(totp) >= 16) || (recovery && strlen(recovery) >= 32)) {
        http_problem(r, 422, "Invalid second factor",
                     "'totp' is a 6-digit code, 'recovery_code' XXXX-XXXX-XXXX-XXXX");
        goto out;
    }
    const char *pw = json_string_value(json_object_get(body, "password"));
    size_t pwlen = strlen(pw);
    if (pwlen == 0 || pwlen > 4 * KYC_PW_MAX_CHARS) {
        http_problem(r, 422, "Invalid password", "field 'password' must be 1 to %d characters",
                     KYC_PW_MAX_CHARS);
        goto out;
    }
    email_ns("signin", email, ns, sizeof ns);
    if (!idem_key(r, ns, idem))
        goto out;
    MDB_txn *txn;
    json_t *player = NULL;
    unsigned failures = 0;
    uint64_t until = 0;
    if (fsm_read_begin(n->fsm, &txn) != 0) {
        http_problem(r, 500, "Storage error", "the state machine could not be read");
        goto out;
    }
    player = accounts_player_by_email(n->fsm, txn, email);
    if (player)
        accounts_failures(n->fsm, txn,
                          json_string_value(json_object_get(player, "id")), &failures, &until);
    fsm_read_end(txn);
    char kid[80];
    char *key = current_key(n, kid);
    bool have_key = key != NULL;
    if (key) {
        OPENSSL_cleanse(key, strlen(key));
        free(key);
    }
    bool factor_known = true;
    if (player && (totp || recovery)) {
        json_t *t = totp_record(n, json_string_value(json_object_get(player, "id")));
        factor_known = t && json_is_true(json_object_get(t, "confirmed"));
        json_decref(t);
    }
    if ((!player || !have_key || !factor_known) && !replica_is_leader(n->replica) &&
        !r->forwarded) {
        /* Maybe registered (or the second factor confirmed) a moment ago and not applied here
         * yet, or the cluster's first signing key has not reached this node: the leader
         * knows. */
        json_decref(player);
        http_forward_to_leader(r);
        goto out;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (until > now_ms) {
        char ra[32];
        snprintf(ra, sizeof ra, "%llu", (unsigned long long)((until - now_ms + 999) / 1000));
        http_header(r, "retry-after", ra);
        http_problem(r, 429, "Too many failed sign-ins",
                     "too many failed sign-ins for this account; try again in %s seconds", ra);
        json_decref(player);
        goto out;
    }
    struct job *j = job_new(r, body, email, idem);
    j->verify = true;
    if (totp)
        snprintf(j->totp, sizeof j->totp, "%s", totp);
    if (recovery)
        snprintf(j->recovery, sizeof j->recovery, "%s", recovery);
    if (player) {
        snprintf(j->player_id, sizeof j->player_id, "%s",
                 json_string_value(json_object_get(player, "id")));
        snprintf(j->hash, sizeof j->hash, "%s",
                 json_string_value(json_object_get(player, "password_hash")));
        json_decref(player);
    }
    job_queue(r, j, signin_checked);
out:
    json_decref(body);
}

/* ---- refresh ---- */

static void do_refresh(struct http_req *r)
{
    static const char *const names[] = {"refresh_token", NULL};
    json_t *body = routes_body(r);
    if (!body)
        return;
    if (!fields(r, body, names))
        goto out;
    const char *tok = json_string_value(json_object_get(body, "refresh_token"));
    char family[ACCOUNTS_FAMILY_CHARS + 1], ns[64], idem[256], given[65];
    if (strlen(tok) != ACCOUNTS_FAMILY_CHARS + 1 + KYC_TOKEN_CHARS ||
        tok[ACCOUNTS_FAMILY_CHARS] != '.') {
        http_problem(r, 422, "Invalid refresh token",
                     "field 'refresh_token' is not a refresh token issued by this cluster");
        goto out;
    }
    memcpy(family, tok, ACCOUNTS_FAMILY_CHARS);
    family[ACCOUNTS_FAMILY_CHARS] = 0;
    if (!accounts_family_valid(family)) {
        http_problem(r, 422, "Invalid refresh token",
                     "field 'refresh_token' is not a refresh token issued by this cluster");
        goto out;
    }
    snprintf(ns, sizeof ns, "refresh:%s", family);
    if (!idem_key(r, ns, idem))
        goto out;
    sha256_hex(tok, NULL, given);
    uint8_t fp[32];
    fingerprint("refresh", given, fp);
    struct issue *is = calloc(1, sizeof *is);
    if (refresh_new(family, is->refresh, sizeof is->refresh, is->hash) != 0) {
        free(is);
        http_problem(r, 500, "No randomness", "the CSPRNG failed");
        goto out;
    }
    acc_propose(r, CMD_SESSION_REFRESH,
                json_pack("{s:s, s:s, s:s}", "family", family, "presented_hash", given,
                          "new_hash", is->hash),
                idem, fp, tokens_done, is);
out:
    json_decref(body);
}

/* ---- sign out ---- */

static void relay_done(struct http_req *r, void *ctx, int status, const char *body,
                       const char *ra, bool replayed)
{
    (void)ctx;
    relay(r, status, body, ra, replayed);
}

static void do_signout(struct http_req *r, bool everywhere)
{
    json_t *claims = authenticate(r);
    if (!claims)
        return;
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *sid = json_string_value(json_object_get(claims, "sid"));
    char idem[256];
    if (player_idem_key(r, sub, idem)) {
        uint8_t fp[32];
        fingerprint(everywhere ? "signout-all" : "signout", everywhere ? sub : sid, fp);
        json_t *payload = everywhere ? json_pack("{s:s}", "player_id", sub)
                                     : json_pack("{s:s, s:s}", "player_id", sub, "family", sid);
        acc_propose(r, everywhere ? CMD_SESSION_REVOKE_ALL : CMD_SESSION_REVOKE, payload, idem,
                    fp, relay_done, NULL);
    }
    json_decref(claims);
}

/* ---- reads ---- */

static void serve_me(struct http_req *r)
{
    json_t *claims = authenticate(r);
    if (!claims)
        return;
    MDB_txn *txn;
    json_t *p = NULL;
    if (fsm_read_begin(r->node->fsm, &txn) == 0) {
        p = accounts_player_get(r->node->fsm, txn,
                                json_string_value(json_object_get(claims, "sub")));
        fsm_read_end(txn);
    }
    json_decref(claims);
    if (!p) {
        http_problem(r, 404, "No such player", "the player of this token is not known here");
        return;
    }
    json_object_del(p, "password_hash");
    http_reply_json(r, 200, p);
}

static void serve_jwks(struct http_req *r)
{
    http_header(r, "cache-control", "public, max-age=60");
    json_t *jwks = public_jwks(r->node);
    char *text = json_dumps(jwks, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(jwks);
    http_reply(r, 200, "application/jwk-set+json", text, strlen(text));
    free(text);
}

static void serve_players_admin(struct http_req *r)
{
    char email[ACCOUNTS_EMAIL_MAX + 2], norm[ACCOUNTS_EMAIL_MAX + 1];
    MDB_txn *txn;
    if (fsm_read_begin(r->node->fsm, &txn) != 0) {
        http_problem(r, 500, "Storage error", "the state machine could not be read");
        return;
    }
    json_t *out;
    int got_email = query_param(r, "email", email, sizeof email); /* too long: 400, not count */
    if (got_email < 0) {
        fsm_read_end(txn);
        return;
    }
    if (got_email) {
        json_t *p = accounts_email_normalise(email, norm, sizeof norm) == 0
                        ? accounts_player_by_email(r->node->fsm, txn, norm)
                        : NULL;
        if (p)
            json_object_del(p, "password_hash");
        out = json_pack("{s:o}", "items", p ? json_pack("[o]", p) : json_array());
    } else {
        out = json_pack("{s:i}", "count", accounts_player_count(r->node->fsm, txn));
    }
    fsm_read_end(txn);
    http_reply_json(r, 200, out);
}

/* ---- signing keys ---- */

/* A new P-256 key as {kid, jwk} (the private JWK), or NULL. */
static json_t *key_new(void)
{
    char kid[17];
    if (random_hex(8, kid) != 0)
        return NULL;
    cjose_err cerr;
    cjose_jwk_t *jwk = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &cerr);
    if (!jwk || !cjose_jwk_set_kid(jwk, kid, strlen(kid), &cerr)) {
        cjose_jwk_release(jwk);
        return NULL;
    }
    char *text = cjose_jwk_to_json(jwk, true, &cerr);
    cjose_jwk_release(jwk);
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    if (text)
        cjose_get_dealloc()(text);
    return j ? json_pack("{s:s, s:o}", "kid", kid, "jwk", j) : NULL;
}

static void do_rotate(struct http_req *r)
{
    char idem[256];
    if (!idem_key(r, "admin-keys", idem))
        return;
    json_t *k = key_new();
    if (!k) {
        http_problem(r, 500, "Key generation failed", "a new P-256 key could not be made");
        return;
    }
    uint8_t fp[32];
    fingerprint("rotate", "", fp);
    acc_propose(r, CMD_SIGNING_KEY_ADD, k, idem, fp, relay_done, NULL);
}

static void key_proposed(void *arg, int outcome, const struct fsm_result *res)
{
    struct accounts *a = arg;
    a->key_proposing = false;
    if (outcome == REPLICA_OK && res->status == 201)
        LOG_INFO("event=signing_key_created %s", res->body);
}

/* The leader makes the cluster's first signing key: generated here, carried in a command. */
static void on_key_timer(uv_timer_t *t)
{
    struct accounts *a = t->data;
    struct node *n = a->node;
    if (a->key_proposing || !replica_is_leader(n->replica))
        return;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return;
    json_t *keys = accounts_signing_keys(n->fsm, txn);
    fsm_read_end(txn);
    size_t have = json_array_size(keys);
    json_decref(keys);
    if (have)
        return;
    json_t *k = key_new();
    if (!k)
        return;
    json_object_set_new(k, "if_none", json_true());
    char *text = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(k);
    struct cmd c = {.type = CMD_SIGNING_KEY_ADD, .payload = text, .payload_len = strlen(text)};
    a->key_proposing = replica_propose(n->replica, &c, key_proposed, a) == REPLICA_OK;
    free(text);
}

/* ---- node to node ---- */

static void do_internal_propose(struct http_req *r)
{
    json_t *body = routes_body(r);
    if (!body)
        return;
    json_int_t type = json_integer_value(json_object_get(body, "type"));
    const char *payload = json_string_value(json_object_get(body, "payload"));
    const char *idem = json_string_value(json_object_get(body, "idem"));
    const char *fph = json_string_value(json_object_get(body, "fp"));
    uint8_t fp[32];
    bool ok = type >= CMD_PLAYER_REGISTER && type <= CMD_KYC_OVERRIDE && payload && idem &&
              strlen(idem) > 0 && strlen(idem) < 250 && fph && strlen(fph) == 64;
    for (int i = 0; ok && i < 32; i++)
        ok = sscanf(fph + 2 * i, "%2hhx", &fp[i]) == 1;
    json_t *p = ok ? json_loads(payload, 0, NULL) : NULL;
    if (!p) {
        http_problem(r, 422, "Invalid proposal",
                     "needs {type (an accounts command), payload (JSON text), idem, fp}");
    } else {
        acc_propose(r, (uint16_t)type, p, idem, fp, relay_done, NULL);
    }
    json_decref(body);
}

/* ---- TOTP second factor ---- */

static void do_totp_enrol(struct http_req *r)
{
    json_t *claims = authenticate(r);
    if (!claims)
        return;
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    char idem[256];
    if (!player_idem_key(r, sub, idem))
        goto out;
    uint8_t key[KYC_TOTP_SECRET_BYTES];
    char b32[64], *uri = NULL;
    kyc_err err = {0};
    MDB_txn *txn;
    json_t *p = NULL;
    if (fsm_read_begin(r->node->fsm, &txn) == 0) {
        p = accounts_player_get(r->node->fsm, txn, sub);
        fsm_read_end(txn);
    }
    const char *account = p ? json_string_value(json_object_get(p, "email")) : sub;
    if (kyc_totp_secret_new(key, &err) != KYC_OK ||
        kyc_base32_encode(key, sizeof key, b32, sizeof b32) < 0 ||
        kyc_totp_uri(key, sizeof key, "Parlay", account, &uri, &err) != KYC_OK) {
        http_problem(r, 500, "Enrolment failed", "%s", err.msg);
    } else {
        uint8_t fp[32];
        fingerprint("totp-enrol", sub, fp);
        acc_propose(r, CMD_TOTP_ENROL,
                    json_pack("{s:s, s:s, s:s}", "player_id", sub, "secret", b32, "uri", uri),
                    idem, fp, relay_done, NULL);
    }
    OPENSSL_cleanse(key, sizeof key);
    free(uri);
    json_decref(p);
out:
    json_decref(claims);
}

#define RECOVERY_CODES 10

struct recovery_issue {
    char codes[RECOVERY_CODES][KYC_RECOVERY_CHARS + 1];
    char first_hash[65];
};

static void confirm_done(struct http_req *r, void *ctx, int status, const char *body,
                         const char *ra, bool replayed)
{
    struct recovery_issue *ri = ctx;
    json_t *res = status == 200 ? json_loads(body, 0, NULL) : NULL;
    const char *check = json_string_value(json_object_get(res, "token_check"));
    if (!res) {
        relay(r, status, body, ra, replayed);
    } else if (replayed || !check || strncmp(check, ri->first_hash, 16) != 0) {
        http_problem(r, 409, "Recovery codes already issued",
                     "this Idempotency-Key was already used and the recovery codes were handed "
                     "out with the first answer");
    } else {
        json_t *codes = json_array();
        for (int i = 0; i < RECOVERY_CODES; i++)
            json_array_append_new(codes, json_string(ri->codes[i]));
        http_header(r, "cache-control", "no-store");
        http_reply_json(r, 200, json_pack("{s:b, s:o}", "confirmed", 1, "recovery_codes", codes));
    }
    json_decref(res);
    OPENSSL_cleanse(ri, sizeof *ri);
    free(ri);
}

static void do_totp_confirm(struct http_req *r)
{
    static const char *const names[] = {"code", NULL};
    json_t *claims = authenticate(r);
    if (!claims)
        return;
    json_t *body = routes_body(r), *t = NULL;
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    char idem[256];
    if (!body || !fields(r, body, names))
        goto out;
    if (!player_idem_key(r, sub, idem))
        goto out;
    t = totp_record(r->node, sub);
    if (!t && !replica_is_leader(r->node->replica) && !r->forwarded) {
        http_forward_to_leader(r); /* enrolled a moment ago, not applied here yet */
        goto out;
    }
    if (!t || json_is_true(json_object_get(t, "confirmed"))) {
        http_problem(r, 409, t ? "Second factor active" : "Not enrolled",
                     t ? "the second factor is already confirmed"
                       : "start with POST /v1/players/me/totp");
        goto out;
    }
    int64_t step;
    kyc_err err = {0};
    if (totp_check(t, json_string_value(json_object_get(body, "code")), &step, &err) !=
        KYC_OK) {
        http_problem(r, 422, "Code refused", "field 'code': %s", err.msg);
        goto out;
    }
    struct recovery_issue *ri = calloc(1, sizeof *ri);
    json_t *hashes = json_array();
    bool ok = true;
    for (int i = 0; i < RECOVERY_CODES && ok; i++) {
        char h[65];
        ok = kyc_recovery_code_new(ri->codes[i], &err) == KYC_OK &&
             kyc_recovery_hash(ri->codes[i], h, &err) == KYC_OK;
        json_array_append_new(hashes, json_string(h));
        if (i == 0)
            memcpy(ri->first_hash, h, sizeof h);
    }
    if (!ok) {
        json_decref(hashes);
        free(ri);
        http_problem(r, 500, "No randomness", "%s", err.msg);
        goto out;
    }
    uint8_t fp[32];
    fingerprint("totp-confirm", sub, fp);
    acc_propose(r, CMD_TOTP_CONFIRM,
                json_pack("{s:s, s:I, s:o}", "player_id", sub, "step", (json_int_t)step,
                          "recovery_hashes", hashes),
                idem, fp, confirm_done, ri);
out:
    json_decref(t);
    json_decref(body);
    json_decref(claims);
}

/* ---- FranceConnect ---- */

struct fc_job {
    uv_work_t work;
    struct http_req *r;
    bool callback;
    bool signin; /* a FranceConnect sign-in rather than a link */
    char player_id[ACCOUNTS_ID_CHARS + 1];
    char idem[256];
    kyc_fc_login login;
    char *url;   /* start: the authorize URL */
    char *query; /* callback: the raw query string */
    kyc_fc_result res;
    char idkey[KYC_IDKEY_CHARS + 1];
    bool adult;
    int rv;
    kyc_err err;
};

static void fc_job_free(struct fc_job *j)
{
    free(j->url);
    free(j->query);
    kyc_fc_result_clear(&j->res);
    OPENSSL_cleanse(&j->login, sizeof j->login);
    free(j);
}

static void fc_work(uv_work_t *w)
{
    struct fc_job *j = w->data;
    kyc_fc *fc = j->r->node->accounts->fc;
    if (!j->callback) {
        j->rv = kyc_fc_authorize(fc, &j->login, &j->url, &j->err);
        return;
    }
    int64_t now = now_s();
    j->rv = kyc_fc_callback(fc, &j->login, j->query, now, &j->res, &j->err);
    if (j->rv != KYC_OK)
        return;
    kyc_err aerr = {0};
    int age = kyc_check_adult(j->res.id.birthdate, now, &aerr);
    if (age != KYC_OK && age != KYC_E_MINOR) {
        j->rv = age;
        j->err = aerr;
        return;
    }
    j->adult = age == KYC_OK;
    j->rv = kyc_identity_key(&j->res.id, j->idkey, &j->err);
}

static bool fc_configured(struct http_req *r)
{
    if (r->node->accounts->fc)
        return true;
    http_problem(r, 404, "FranceConnect not configured",
                 "this cluster has no 'franceconnect' configuration");
    return false;
}

static void fc_started(uv_work_t *w, int status)
{
    struct fc_job *j = w->data;
    struct http_req *r = j->r;
    if (status != 0 || j->rv != KYC_OK) {
        http_header(r, "retry-after", "5");
        http_problem(r, 502, "FranceConnect unavailable", "%s",
                     status ? "cancelled" : j->err.msg);
    } else {
        uint8_t fp[32];
        json_t *payload = json_pack("{s:s, s:s, s:s}", "state", j->login.state, "nonce",
                                    j->login.nonce, "authorize_url", j->url);
        if (j->signin) {
            json_object_set_new(payload, "signin", json_true());
            snprintf(j->idem, sizeof j->idem, "fc-start:%s", j->login.state);
            fingerprint("fc-start", j->login.state, fp);
        } else {
            json_object_set_new(payload, "player_id", json_string(j->player_id));
            fingerprint("fc-start", j->player_id, fp);
        }
        acc_propose(r, CMD_FC_START, payload, j->idem, fp, relay_done, NULL);
    }
    fc_job_free(j);
}

static void do_fc_start(struct http_req *r)
{
    if (!fc_configured(r))
        return;
    json_t *claims = authenticate(r);
    if (!claims)
        return;
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    char idem[256];
    if (player_idem_key(r, sub, idem)) {
        struct fc_job *j = calloc(1, sizeof *j);
        j->r = r;
        snprintf(j->player_id, sizeof j->player_id, "%s", sub);
        snprintf(j->idem, sizeof j->idem, "%s", idem);
        j->work.data = j;
        uv_queue_work(r->node->loop, &j->work, fc_work, fc_started);
    }
    json_decref(claims);
}

/* The provider's end-session URL for this login (id_token_hint, a fresh state), or NULL. */
static char *fc_logout(struct node *n, struct fc_job *j)
{
    char st[KYC_TOKEN_CHARS + 1], *url = NULL;
    kyc_err err = {0};
    if (!j->res.id_token || kyc_random_token(st, &err) != KYC_OK ||
        kyc_fc_logout_url(n->accounts->fc, j->res.id_token, st, &url, &err) != KYC_OK) {
        LOG_WARN("event=fc_logout_url_failed err=\"%s\"", err.msg);
        return NULL;
    }
    return url;
}

/* A link's answer, with the provider's logout URL added to a success. */
static void link_done(struct http_req *r, void *ctx, int status, const char *body,
                      const char *ra, bool replayed)
{
    char *logout = ctx;
    json_t *res = status == 201 && logout && !replayed ? json_loads(body, 0, NULL) : NULL;
    if (res) {
        json_object_set_new(res, "franceconnect_logout_url", json_string(logout));
        http_reply_json(r, status, res);
    } else {
        relay(r, status, body, ra, replayed);
    }
    free(logout);
}

/* POST /v1/sessions/franceconnect: a sign-in for a player whose account is linked. Starting
 * is safe to repeat (each start is a new, independent state), so it needs no key. */
static void do_fc_signin_start(struct http_req *r)
{
    if (!fc_configured(r))
        return;
    struct fc_job *j = calloc(1, sizeof *j);
    j->r = r;
    j->signin = true;
    j->work.data = j;
    uv_queue_work(r->node->loop, &j->work, fc_work, fc_started);
}

/* After a verified FranceConnect sign-in: the linked player gets a session. */
static void fc_signin_finish(struct http_req *r, struct fc_job *j)
{
    kyc_identity *id = &j->res.id;
    MDB_txn *txn;
    json_t *owner = NULL;
    if (fsm_read_begin(r->node->fsm, &txn) == 0) {
        owner = accounts_identity_player(r->node->fsm, txn, id->issuer, id->sub);
        fsm_read_end(txn);
    }
    if (!owner) {
        http_problem(r, 404, "No linked account",
                     "no account is linked to this FranceConnect identity: register, sign in "
                     "and link it first (POST /v1/players/me/franceconnect)");
        return;
    }
    struct issue *is = calloc(1, sizeof *is);
    char family[ACCOUNTS_FAMILY_CHARS + 1], subkey[420];
    snprintf(subkey, sizeof subkey, "%s %s", id->issuer, id->sub);
    if (random_hex(16, family) != 0 ||
        refresh_new(family, is->refresh, sizeof is->refresh, is->hash) != 0) {
        free(is);
        json_decref(owner);
        http_problem(r, 500, "No randomness", "the CSPRNG failed");
        return;
    }
    is->logout_url = fc_logout(r->node, j);
    uint8_t fp[32];
    fingerprint("fc-signin", j->login.state, fp);
    acc_propose(r, CMD_SESSION_CREATE,
                json_pack("{s:O, s:s, s:s, s:s, s:s}", "player_id", owner, "family", family,
                          "refresh_hash", is->hash, "fc_state", j->login.state, "fc_subkey",
                          subkey),
                j->idem, fp, tokens_done, is);
    json_decref(owner);
}

static int fc_status(int code)
{
    switch (code) {
    case KYC_E_HTTP:
    case KYC_E_TIMEOUT:
    case KYC_E_HTTP_STATUS:
    case KYC_E_RESPONSE:
    case KYC_E_DISCOVERY: return 502;
    case KYC_E_PROVIDER: return 403;
    default: return 401;
    }
}

static void fc_called_back(uv_work_t *w, int status)
{
    struct fc_job *j = w->data;
    struct http_req *r = j->r;
    if (status != 0 || j->rv != KYC_OK) {
        int st = status ? 500 : fc_status(j->rv);
        http_problem(r, st, "FranceConnect sign-in refused", "%s: %s",
                     status ? "cancelled" : kyc_strerror(j->rv), status ? "" : j->err.msg);
    } else if (j->signin) {
        fc_signin_finish(r, j);
    } else {
        kyc_identity *id = &j->res.id;
        json_t *ident = json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "issuer", id->issuer, "sub", id->sub,
            "acr", id->acr, "given_names", id->given_names, "family_name", id->family_name,
            "birthdate", id->birthdate, "birthplace", id->birthplace, "birthcountry",
            id->birthcountry, "gender", id->gender);
        uint8_t fp[32];
        fingerprint("fc-link", j->login.state, fp);
        acc_propose(r, CMD_FC_LINK,
                    json_pack("{s:s, s:s, s:b, s:s, s:o}", "player_id", j->player_id, "state",
                              j->login.state, "adult", j->adult, "idkey", j->idkey, "identity",
                              ident),
                    j->idem, fp, link_done, fc_logout(r->node, j));
    }
    fc_job_free(j);
}

static void do_fc_callback(struct http_req *r)
{
    if (!fc_configured(r))
        return;
    char state[KYC_TOKEN_CHARS + 8];
    if (!http_query_get(r, "state", state, sizeof state) || strlen(state) != KYC_TOKEN_CHARS) {
        http_problem(r, 400, "Bad callback", "the callback needs the 'state' it was sent with");
        return;
    }
    MDB_txn *txn;
    json_t *login = NULL;
    if (fsm_read_begin(r->node->fsm, &txn) == 0) {
        login = accounts_fc_login_get(r->node->fsm, txn, state);
        fsm_read_end(txn);
    }
    if (!login && !replica_is_leader(r->node->replica) && !r->forwarded) {
        http_forward_to_leader(r); /* started a moment ago, not applied here yet */
        return;
    }
    if (!login || json_is_true(json_object_get(login, "used"))) {
        http_problem(r, login ? 409 : 400, login ? "State already used" : "Unknown state",
                     login ? "this sign-in was already completed; start again"
                           : "this sign-in was not started here");
        json_decref(login);
        return;
    }
    struct fc_job *j = calloc(1, sizeof *j);
    j->r = r;
    j->callback = true;
    j->signin = json_is_true(json_object_get(login, "signin"));
    snprintf(j->player_id, sizeof j->player_id, "%s",
             json_string_value(json_object_get(login, "player_id")));
    snprintf(j->login.state, sizeof j->login.state, "%s", state);
    snprintf(j->login.nonce, sizeof j->login.nonce, "%s",
             json_string_value(json_object_get(login, "nonce")));
    snprintf(j->idem, sizeof j->idem, "fc:%s", state);
    json_decref(login);
    h2o_req_t *req = r->req;
    j->query = strndup(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
    j->work.data = j;
    uv_queue_work(r->node->loop, &j->work, fc_work, fc_called_back);
}

/* ---- document-check provider ---- */

struct doc_job {
    uv_work_t work;
    struct http_req *r;
    char player_id[ACCOUNTS_ID_CHARS + 1];
    char idem[256];
    char callback[256];
    char *session_id, *url;
    int rv;
    kyc_err err;
};

static bool doc_configured(struct http_req *r)
{
    if (r->node->accounts->doc)
        return true;
    http_problem(r, 404, "Document checks not configured",
                 "this cluster has no 'document_check' provider");
    return false;
}

static void doc_work(uv_work_t *w)
{
    struct doc_job *j = w->data;
    j->rv = kyc_doc_session_start(j->r->node->accounts->doc, j->player_id, j->callback, 10000,
                                  &j->session_id, &j->url, &j->err);
}

static void doc_started(uv_work_t *w, int status)
{
    struct doc_job *j = w->data;
    struct http_req *r = j->r;
    if (status != 0 || j->rv != KYC_OK) {
        http_header(r, "retry-after", "5");
        http_problem(r, 502, "Document-check provider unavailable", "%s",
                     status ? "cancelled" : j->err.msg);
    } else {
        uint8_t fp[32];
        fingerprint("doc-session", j->player_id, fp);
        acc_propose(r, CMD_DOC_SESSION,
                    json_pack("{s:s, s:s, s:s, s:s}", "player_id", j->player_id, "provider",
                              kyc_doc_provider_name(r->node->accounts->doc), "session_id",
                              j->session_id, "url", j->url),
                    j->idem, fp, relay_done, NULL);
    }
    free(j->session_id);
    free(j->url);
    free(j);
}

/* POST /v1/players/me/kyc/document: a hosted session at the provider, whose webhooks come
 * back to this node's /v1/kyc/webhooks/<provider>. */
static void do_doc_start(struct http_req *r)
{
    if (!doc_configured(r))
        return;
    json_t *claims = authenticate(r);
    if (!claims)
        return;
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    char idem[256];
    if (player_idem_key(r, sub, idem)) {
        struct doc_job *j = calloc(1, sizeof *j);
        j->r = r;
        snprintf(j->player_id, sizeof j->player_id, "%s", sub);
        snprintf(j->idem, sizeof j->idem, "%s", idem);
        snprintf(j->callback, sizeof j->callback, "http://%s/v1/kyc/webhooks/%s",
                 r->node->cfg.http_address, kyc_doc_provider_name(r->node->accounts->doc));
        j->work.data = j;
        uv_queue_work(r->node->loop, &j->work, doc_work, doc_started);
    }
    json_decref(claims);
}

/* POST /v1/kyc/webhooks/<provider>: verified (signature over the raw body first, then
 * freshness) on this node, then recorded once per event id. */
static void do_doc_webhook(struct http_req *r, const char *name)
{
    if (!doc_configured(r))
        return;
    kyc_doc_provider *p = r->node->accounts->doc;
    if (strcmp(name, kyc_doc_provider_name(p)) != 0) {
        http_problem(r, 404, "Unknown provider", "no document-check provider named '%s'", name);
        return;
    }
    h2o_req_t *req = r->req;
    size_t n = req->headers.size;
    kyc_header *hs = calloc(n ? n : 1, sizeof *hs);
    char **bufs = calloc(n ? n : 1, sizeof *bufs);
    for (size_t i = 0; i < n; i++) {
        h2o_header_t *h = &req->headers.entries[i];
        bufs[i] = malloc(h->name->len + h->value.len + 2);
        memcpy(bufs[i], h->name->base, h->name->len);
        bufs[i][h->name->len] = 0;
        memcpy(bufs[i] + h->name->len + 1, h->value.base, h->value.len);
        bufs[i][h->name->len + 1 + h->value.len] = 0;
        hs[i].name = bufs[i];
        hs[i].value = bufs[i] + h->name->len + 1;
    }
    kyc_doc_event ev;
    kyc_err err = {0};
    int rv = kyc_doc_webhook_verify(p, hs, n, req->entity.base ? req->entity.base : "",
                                    req->entity.len, now_s(), &ev, &err);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(hs);
    if (rv != KYC_OK) {
        int st = rv == KYC_E_WH_SIGNATURE || rv == KYC_E_WH_STALE ? 401
                 : rv == KYC_E_WH_STATUS                          ? 422
                                                                  : 400;
        http_problem(r, st, "Webhook refused", "%s: %s", kyc_strerror(rv), err.msg);
        return;
    }
    char idem[256], both[300];
    snprintf(idem, sizeof idem, "doc:%s:%s", name, ev.event_id);
    snprintf(both, sizeof both, "%s %s", name, ev.event_id);
    uint8_t fp[32];
    fingerprint("doc-event", both, fp);
    acc_propose(r, CMD_DOC_EVENT,
                json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "provider", name, "event_id",
                          ev.event_id, "reference", ev.reference, "status",
                          kyc_doc_status_name(ev.status), "raw_status", ev.raw_status,
                          "timestamp", (json_int_t)ev.timestamp),
                idem, fp, relay_done, NULL);
}

/* ---- operator ---- */

static void serve_player_admin(struct http_req *r)
{
    char id[ACCOUNTS_ID_CHARS + 2];
    size_t plen = r->req->query_at != SIZE_MAX ? r->req->query_at : r->req->path.len;
    size_t pre = strlen("/admin/v1/players/");
    snprintf(id, sizeof id, "%.*s", (int)(plen - pre), r->req->path.base + pre);
    MDB_txn *txn;
    json_t *p = NULL;
    if (accounts_player_id_valid(id) && fsm_read_begin(r->node->fsm, &txn) == 0) {
        p = accounts_player_get(r->node->fsm, txn, id);
        fsm_read_end(txn);
    }
    if (!p) {
        http_problem(r, 404, "No such player", "player '%s' does not exist", id);
        return;
    }
    json_object_del(p, "password_hash");
    http_reply_json(r, 200, p);
}

/* POST /admin/v1/players/{id}/kyc {status, reason}: an operator's decision, kept with its
 * reason in the player's history. */
static void do_kyc_override(struct http_req *r, const char *id)
{
    static const char *const names[] = {"status", "reason", NULL};
    json_t *body = routes_body(r);
    if (!body)
        return;
    char idem[256];
    if (!fields(r, body, names))
        goto out;
    const char *status = json_string_value(json_object_get(body, "status"));
    const char *reason = json_string_value(json_object_get(body, "reason"));
    if (!accounts_kyc_status_valid(status)) {
        http_problem(r, 422, "Invalid status",
                     "field 'status' must be verified, declined, retry, manual_review or "
                     "pending");
        goto out;
    }
    if (strlen(reason) < 3 || strlen(reason) > 500) {
        http_problem(r, 422, "Invalid reason", "field 'reason' must be 3 to 500 characters");
        goto out;
    }
    if (!accounts_player_id_valid(id)) {
        http_problem(r, 404, "No such player", "player '%s' does not exist", id);
        goto out;
    }
    if (!idem_key(r, "admin", idem))
        goto out;
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    uint8_t fp[32];
    char what[64];
    snprintf(what, sizeof what, "kyc-override %s", id);
    fingerprint(what, text, fp);
    free(text);
    acc_propose(r, CMD_KYC_OVERRIDE,
                json_pack("{s:s, s:s, s:s}", "player_id", id, "status", status, "reason", reason),
                idem, fp, relay_done, NULL);
out:
    json_decref(body);
}

/* ---- routing and life cycle ---- */

int routes_accounts(struct http_req *r, const char *method, const char *path)
{
    if (!r->node->accounts)
        return -1;
    r->route = ROUTE_ACCOUNTS;
    if (!strcmp(path, "/v1/players")) {
        if (routes_method(r, method, "POST", "use POST to register"))
            do_register(r);
    } else if (!strcmp(path, "/v1/players/me")) {
        if (routes_method(r, method, "GET", "use GET"))
            serve_me(r);
    } else if (!strcmp(path, "/v1/players/me/totp")) {
        if (routes_method(r, method, "POST", "use POST to enrol a one-time-code second factor"))
            do_totp_enrol(r);
    } else if (!strcmp(path, "/v1/players/me/totp/confirm")) {
        if (routes_method(r, method, "POST", "use POST"))
            do_totp_confirm(r);
    } else if (!strcmp(path, "/v1/players/me/franceconnect")) {
        if (routes_method(r, method, "POST", "use POST to start a FranceConnect verification"))
            do_fc_start(r);
    } else if (!strcmp(path, "/v1/kyc/franceconnect/callback")) {
        if (routes_method(r, method, "GET", "use GET (the provider redirects the browser here)"))
            do_fc_callback(r);
    } else if (!strcmp(path, "/v1/sessions")) {
        if (!strcmp(method, "DELETE"))
            do_signout(r, true);
        else if (routes_method(r, method, "POST", "use POST to sign in, DELETE to sign out "
                                                  "everywhere"))
            do_signin(r);
    } else if (!strcmp(path, "/v1/players/me/kyc/document")) {
        if (routes_method(r, method, "POST", "use POST to start a document check"))
            do_doc_start(r);
    } else if (!strncmp(path, "/v1/kyc/webhooks/", 17) && path[17] && !strchr(path + 17, '/')) {
        if (routes_method(r, method, "POST", "use POST"))
            do_doc_webhook(r, path + 17);
    } else if (!strcmp(path, "/v1/sessions/franceconnect")) {
        if (routes_method(r, method, "POST", "use POST to sign in with FranceConnect"))
            do_fc_signin_start(r);
    } else if (!strcmp(path, "/v1/sessions/refresh")) {
        if (routes_method(r, method, "POST", "use POST"))
            do_refresh(r);
    } else if (!strcmp(path, "/v1/sessions/current")) {
        if (routes_method(r, method, "DELETE", "use DELETE to sign out"))
            do_signout(r, false);
    } else if (!strcmp(path, "/.well-known/jwks.json")) {
        if (routes_method(r, method, "GET", "use GET"))
            serve_jwks(r);
    } else if (!strcmp(path, "/admin/v1/signing-keys")) {
        if (routes_require_admin(r) &&
            routes_method(r, method, "POST", "use POST to rotate the signing key"))
            do_rotate(r);
    } else if (!strcmp(path, "/admin/v1/players")) {
        if (routes_require_admin(r) && routes_method(r, method, "GET", "use GET"))
            routes_read(r, serve_players_admin);
    } else if (!strncmp(path, "/admin/v1/players/", 18) && path[18]) {
        const char *id = path + 18, *slash = strchr(id, '/');
        if (!routes_require_admin(r))
            return 0;
        if (!slash) {
            if (routes_method(r, method, "GET", "use GET"))
                routes_read(r, serve_player_admin);
        } else if (!strcmp(slash, "/kyc")) {
            char pid[ACCOUNTS_ID_CHARS + 2];
            snprintf(pid, sizeof pid, "%.*s", (int)(slash - id), id);
            if (routes_method(r, method, "POST", "use POST to record a KYC decision"))
                do_kyc_override(r, pid);
        } else {
            r->route = ROUTE_OTHER;
            return -1;
        }
    } else if (!strcmp(path, "/internal/v1/propose")) {
        if (routes_require_admin(r) && routes_method(r, method, "POST", "use POST"))
            do_internal_propose(r);
    } else {
        r->route = ROUTE_OTHER;
        return -1;
    }
    return 0;
}

int accounts_start(struct node *n, char *err, size_t errlen)
{
    struct accounts *a = calloc(1, sizeof *a);
    kyc_err kerr = {0};
    a->node = n;
    snprintf(a->issuer, sizeof a->issuer, "urn:parlay:accounts:%s", n->cfg.cluster);
    if (kyc_pwlist_load(n->cfg.password_list, &a->pwlist, &kerr) != KYC_OK) {
        snprintf(err, errlen, "key 'password_list': %s", kerr.msg);
        free(a);
        return -1;
    }
    if (kyc_password_hash("not a password anyone has", 25, NULL, dummy_hash, &kerr) != KYC_OK) {
        snprintf(err, errlen, "argon2id: %s", kerr.msg);
        kyc_pwlist_free(a->pwlist);
        free(a);
        return -1;
    }
    if (n->cfg.franceconnect[0]) {
        json_t *fc = json_loads(n->cfg.franceconnect, 0, NULL);
        kyc_fc_config fcc = {
            .issuer = json_string_value(json_object_get(fc, "issuer")),
            .client_id = json_string_value(json_object_get(fc, "client_id")),
            .client_secret = json_string_value(json_object_get(fc, "client_secret")),
            .redirect_uri = json_string_value(json_object_get(fc, "redirect_uri")),
            .post_logout_redirect_uri =
                json_string_value(json_object_get(fc, "post_logout_redirect_uri")),
            .timeout_ms = (long)json_integer_value(json_object_get(fc, "timeout_ms")),
            .allow_http = json_is_true(json_object_get(fc, "allow_http")),
        };
        int rv = kyc_fc_new(&fcc, &a->fc, &kerr);
        json_decref(fc);
        if (rv != KYC_OK) {
            snprintf(err, errlen, "key 'franceconnect': %s", kerr.msg);
            kyc_pwlist_free(a->pwlist);
            free(a);
            return -1;
        }
    }
    if (n->cfg.document_check[0]) {
        json_t *dc = json_loads(n->cfg.document_check, 0, NULL);
        int rv = kyc_doc_provider_new(dc, &a->doc, &kerr);
        json_decref(dc);
        if (rv != KYC_OK) {
            snprintf(err, errlen, "key 'document_check': %s", kerr.msg);
            kyc_fc_free(a->fc);
            kyc_pwlist_free(a->pwlist);
            free(a);
            return -1;
        }
    }
    uv_timer_init(n->loop, &a->key_timer);
    a->key_timer.data = a;
    uv_timer_start(&a->key_timer, on_key_timer, 200, 200);
    n->accounts = a;
    return 0;
}

void accounts_stop(struct node *n)
{
    if (!n->accounts)
        return;
    kyc_fc_free(n->accounts->fc);
    n->accounts->fc = NULL;
    kyc_doc_provider_free(n->accounts->doc);
    n->accounts->doc = NULL;
    uv_timer_stop(&n->accounts->key_timer);
    uv_close((uv_handle_t *)&n->accounts->key_timer, NULL);
}
