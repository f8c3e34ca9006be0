/* Access-token verification shared by every role, and the sport role's cached copy of the
 * accounts cluster's JWKS (see auth.h).
 *
 *   GET /v1/me   (sport role) the bearer token's player id and session id
 *
 * A sport node never asks the accounts cluster about a token: it verifies the signature,
 * issuer, audience and expiry against the last JWKS it fetched. The fetch runs on a libuv
 * worker thread (a blocking libcurl call there, never on the loop). A request whose token names
 * a kid the cached set does not have waits for one refetch (at most one per
 * accounts_jwks_min_interval_ms, shared by every such request), then is verified again.
 *
 * Revoked sessions: the node polls the accounts cluster's revocation log (GET
 * /v1/sessions/revocations?since=, every accounts_revocations_poll_ms, on a worker thread,
 * moving to the next of accounts_urls after a failure) and refuses a token whose session is in
 * it with 401 session_revoked. So a signed-out token stops working here within about one poll
 * interval; while the accounts cluster cannot be reached, revocations made meanwhile take
 * effect when it answers again, and a token lives at most until its expiry (15 minutes). */
#include "node/auth.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kyc/kyc.h"
#include "common/curl_uv.h"
#include "common/log.h"
#include "node/http_guard.h"

#define JWKS_MAX_BYTES (1u << 20)
#define PARKED_MAX 4096

struct parked {
    struct http_req *r;
    struct parked *next;
};

struct fetch {
    uv_work_t work;
    struct auth *a;
    char url[512];
    struct cu_body body; /* at most JWKS_MAX_BYTES */
    long status;
    char err[CURL_ERROR_SIZE];
};

struct auth {
    struct node *n;
    uv_timer_t timer;
    json_t *jwks;           /* the last good key set, NULL until one was loaded */
    bool inflight, stopping, timer_closed;
    /* Revoked sessions (GET /v1/sessions/revocations on the accounts cluster, polled every
     * accounts_revocations_poll_ms): session id -> the leader time it was revoked. */
    uv_timer_t rtimer;
    bool rinflight, rtimer_closed, rloaded;
    json_t *revoked;
    int64_t rsince;         /* ask from this leader time on */
    unsigned rfailures, rnext; /* consecutive failures; the accounts URL to ask next */
    char rbase[16][256];    /* accounts nodes' base URLs */
    unsigned n_rbase;
    uint64_t last_start_ms; /* when the last fetch started (monotonic) */
    unsigned failures;      /* consecutive failed fetches (retry back-off) */
    struct parked *parked;
    size_t n_parked;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

json_t *auth_verify_bearer(struct http_req *r, const json_t *jwks, const char *issuer,
                           bool *unknown_kid)
{
    return auth_verify_bearer_aud(r, jwks, issuer, AUTH_AUDIENCE, AUTH_MAX_LIFETIME_S,
                                  unknown_kid);
}

/* Tokens whose signature verified, with what they were verified against: a player sends the
 * same token with every request until it expires (15 minutes), and the ES256 check (with the
 * key's import) was the costliest step of placing a bet. A token is taken from here only when
 * its exact text, the key set object (held here, so its address cannot be reused), the issuer,
 * audience and lifetime bound are the same; its times are checked again against now, and
 * revocation (the caller's) on every request as before. One table per thread. */
#define VERIFIED_SLOTS 256
static _Thread_local struct verified {
    char *token;
    json_t *jwks, *claims;
    char issuer[256], audience[64];
    int64_t max_lifetime;
} verified[VERIFIED_SLOTS];

static struct verified *verified_slot(const char *token)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *p = token; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return &verified[h % VERIFIED_SLOTS];
}

static json_t *verified_get(const char *token, const json_t *jwks, const kyc_jwt_expect *ex)
{
    struct verified *v = verified_slot(token);
    if (!v->token || v->jwks != jwks || strcmp(v->token, token) != 0 ||
        strcmp(v->issuer, ex->issuer) != 0 || strcmp(v->audience, ex->audience) != 0 ||
        v->max_lifetime != ex->max_lifetime)
        return NULL;
    json_int_t exp = json_integer_value(json_object_get(v->claims, "exp"));
    json_int_t iat = json_integer_value(json_object_get(v->claims, "iat"));
    if (ex->now >= kyc_time_add(exp, ex->skew) || iat > kyc_time_add(ex->now, ex->skew))
        return NULL; /* verified again: kyc_jwt_verify says why */
    return json_deep_copy(v->claims);
}

static void verified_put(const char *token, const json_t *jwks, const kyc_jwt_expect *ex,
                         json_t *claims)
{
    struct verified *v = verified_slot(token);
    if (strlen(ex->issuer) >= sizeof v->issuer || strlen(ex->audience) >= sizeof v->audience ||
        !json_is_integer(json_object_get(claims, "exp")) ||
        !json_is_integer(json_object_get(claims, "iat")))
        return;
    char *t = strdup(token);
    json_t *c = json_deep_copy(claims);
    if (!t || !c) {
        free(t);
        json_decref(c);
        return;
    }
    free(v->token);
    json_decref(v->jwks);
    json_decref(v->claims);
    v->token = t;
    v->jwks = json_incref((json_t *)jwks);
    v->claims = c;
    snprintf(v->issuer, sizeof v->issuer, "%s", ex->issuer);
    snprintf(v->audience, sizeof v->audience, "%s", ex->audience);
    v->max_lifetime = ex->max_lifetime;
}

json_t *auth_verify_bearer_aud(struct http_req *r, const json_t *jwks, const char *issuer,
                               const char *audience, int64_t max_lifetime, bool *unknown_kid)
{
    char auth[4096];
    if (!http_header_get(r, "authorization", auth, sizeof auth) ||
        strncasecmp(auth, "Bearer ", 7) != 0) {
        /* RFC 6750 3.1: no error code when the request carries no credentials. */
        http_header(r, "www-authenticate", "Bearer realm=\"parlay\"");
        http_problem(r, 401, "Unauthorized",
                     "this endpoint needs an access token: Authorization: Bearer <token>");
        return NULL;
    }
    json_t *claims = NULL;
    kyc_jwt_expect ex = {.issuer = issuer,
                         .audience = audience,
                         .now = (int64_t)time(NULL),
                         .skew = 5,
                         .require_exp_iat = true,
                         .max_lifetime = max_lifetime,
                         .es256_low_s = true};
    kyc_err err = {0};
    int rv = KYC_OK;
    if (!(claims = verified_get(auth + 7, jwks, &ex))) {
        rv = kyc_jwt_verify(auth + 7, jwks, &ex, &claims, &err);
        if (rv == KYC_OK)
            verified_put(auth + 7, jwks, &ex, claims);
    }
    if (rv == KYC_OK && !json_is_string(json_object_get(claims, "sub"))) {
        json_decref(claims);
        claims = NULL;
        rv = KYC_E_JWT_SUB;
        snprintf(err.msg, sizeof err.msg, "the access token has no sub");
    }
    if (rv == KYC_OK)
        return claims;
    if (rv == KYC_E_JWT_KEY && unknown_kid) {
        *unknown_kid = true;
        return NULL;
    }
    http_header(r, "www-authenticate", "Bearer realm=\"parlay\", error=\"invalid_token\"");
    http_problem(r, 401, rv == KYC_E_JWT_EXPIRED ? "Access token expired" : "Invalid access token",
                 "%s", err.msg);
    return NULL;
}

/* ---- the sport role's JWKS cache ---- */

static void fetch_work(uv_work_t *w)
{
    struct fetch *f = w->data;
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(f->err, sizeof f->err, "curl_easy_init failed");
        return;
    }
    curl_easy_setopt(h, CURLOPT_URL, f->url);
    node_curl_tls(f->a->n, h); /* https:// accounts nodes: the members' CA and certificate */
    f->body.max = JWKS_MAX_BYTES + 1; /* room for the NUL */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cu_body_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &f->body);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, f->err);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &f->status);
    else if (!f->err[0])
        snprintf(f->err, sizeof f->err, "%s", curl_easy_strerror(rc));
    curl_easy_cleanup(h);
}

static void serve_me(struct http_req *r, bool retried);
static void schedule(struct auth *a);
static void fetch_done(uv_work_t *w, int status);

/* Frees @a once it is stopping and nothing of it is in flight any more. */
static void maybe_free(struct auth *a)
{
    if (!a->stopping || !a->timer_closed || !a->rtimer_closed || a->inflight || a->rinflight)
        return;
    json_decref(a->jwks);
    json_decref(a->revoked);
    free(a);
}

/* ---- revoked sessions ---- */

static void rev_done(uv_work_t *w, int status);

static void rev_start(struct auth *a)
{
    if (!a->n_rbase || a->rinflight || a->stopping)
        return;
    struct fetch *f = calloc(1, sizeof *f);
    if (!f)
        return;
    f->a = a;
    f->work.data = f;
    snprintf(f->url, sizeof f->url, "%s/v1/sessions/revocations?since=%lld&limit=1000",
             a->rbase[a->rnext % a->n_rbase], (long long)a->rsince);
    a->rinflight = true;
    if (uv_queue_work(a->n->loop, &f->work, fetch_work, rev_done) != 0) {
        a->rinflight = false;
        free(f);
    }
}

static void on_rtimer(uv_timer_t *t)
{
    rev_start(t->data);
}

/* Takes a page of revocations in; false when it is not one. */
static bool rev_take(struct auth *a, const struct fetch *f, bool *more)
{
    json_t *j =
        f->status == 200 && f->body.p ? json_loadb(f->body.p, f->body.len, 0, NULL) : NULL;
    json_t *items = json_object_get(j, "items"), *it;
    if (!json_is_array(items)) {
        json_decref(j);
        return false;
    }
    size_t i;
    json_array_foreach(items, i, it)
    {
        const char *sid = json_string_value(json_object_get(it, "session_id"));
        json_int_t at = json_integer_value(json_object_get(it, "at_ms"));
        if (!sid || at <= 0)
            continue;
        json_object_set_new(a->revoked, sid, json_integer(at));
        if (at > a->rsince)
            a->rsince = at;
    }
    /* Forget what the accounts cluster forgets: no token of those sessions is alive. */
    json_int_t keep_ms = json_integer_value(json_object_get(j, "keep_s")) * 1000;
    if (keep_ms > 0) {
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(a->revoked, tmp, k, v) if (json_integer_value(v) <
                                                            a->rsince - keep_ms)
            json_object_del(a->revoked, k);
    }
    *more = json_is_true(json_object_get(j, "more"));
    json_decref(j);
    return true;
}

static void rev_done(uv_work_t *w, int status)
{
    struct fetch *f = w->data;
    struct auth *a = f->a;
    a->rinflight = false;
    bool more = false;
    int64_t before = a->rsince;
    if (a->stopping) {
        cu_body_free(&f->body);
        free(f);
        maybe_free(a);
        return;
    }
    if (status == 0 && !f->err[0] && rev_take(a, f, &more)) {
        if (!a->rloaded || a->rfailures)
            LOG_INFO("event=revocations_loaded url=%s revoked=%zu", f->url,
                     json_object_size(a->revoked));
        a->rloaded = true;
        a->rfailures = 0;
    } else {
        a->rfailures++;
        a->rnext++; /* the next accounts node */
        if (a->rfailures == 1 || a->rfailures % 30 == 0)
            LOG_WARN("event=revocations_fetch_failed url=%s http_status=%ld err=\"%s\" "
                     "failures=%u",
                     f->url, f->status, f->err[0] ? f->err : "not a revocation list",
                     a->rfailures);
    }
    cu_body_free(&f->body);
    free(f);
    /* A full page: ask again at once, unless it did not move on (a page of one instant). */
    bool again = more && a->rsince > before;
    uv_timer_start(&a->rtimer, on_rtimer, again ? 0 : a->n->cfg.accounts_revocations_poll_ms, 0);
}

/* Whether the token's session was revoked (answered 401 session_revoked then). */
static bool session_revoked(struct http_req *r, struct auth *a, json_t *claims)
{
    const char *sid = json_string_value(json_object_get(claims, "sid"));
    if (!sid || !json_object_get(a->revoked, sid))
        return false;
    http_header(r, "www-authenticate", "Bearer realm=\"parlay\", error=\"invalid_token\"");
    http_guard_problem(r, 401, "Session revoked", "session_revoked",
                       "this access token's session was signed out or revoked; sign in again");
    return true;
}

/* The accounts nodes to ask: accounts_urls, else the node of accounts_jwks_url. */
static void rev_bases(struct auth *a)
{
    const struct config *c = &a->n->cfg;
    if (c->accounts_urls[0]) {
        char list[sizeof c->accounts_urls];
        snprintf(list, sizeof list, "%s", c->accounts_urls);
        for (char *save = NULL, *u = strtok_r(list, ",", &save); u && a->n_rbase < 16;
             u = strtok_r(NULL, ",", &save)) {
            while (*u == ' ')
                u++;
            size_t l = strlen(u);
            while (l && (u[l - 1] == '/' || u[l - 1] == ' '))
                u[--l] = 0;
            if (l && l < sizeof a->rbase[0])
                snprintf(a->rbase[a->n_rbase++], sizeof a->rbase[0], "%s", u);
        }
        return;
    }
    static const char suffix[] = "/.well-known/jwks.json";
    size_t l = strlen(c->accounts_jwks_url), sl = strlen(suffix);
    if (l > sl && l - sl < sizeof a->rbase[0] && !strcmp(c->accounts_jwks_url + l - sl, suffix))
        snprintf(a->rbase[a->n_rbase++], sizeof a->rbase[0], "%.*s", (int)(l - sl),
                 c->accounts_jwks_url);
    else
        LOG_WARN("event=revocations_off reason=\"accounts_jwks_url does not end in %s and "
                 "accounts_urls is not set: revoked sessions are refused only at expiry\"",
                 suffix);
}

static void fetch_start(struct auth *a)
{
    struct fetch *f = calloc(1, sizeof *f);
    if (!f)
        return;
    f->a = a;
    f->work.data = f;
    snprintf(f->url, sizeof f->url, "%s", a->n->cfg.accounts_jwks_url);
    a->inflight = true;
    a->last_start_ms = mono_ms();
    if (uv_queue_work(a->n->loop, &f->work, fetch_work, fetch_done) != 0) {
        a->inflight = false;
        free(f);
    }
}

/* A usable key set: {"keys": [...]} with at least one key. */
static json_t *parse_jwks(const struct fetch *f, char *why, size_t n)
{
    if (f->err[0] || f->status != 200) {
        snprintf(why, n, "%s", f->err[0] ? f->err : "unexpected HTTP status");
        return NULL;
    }
    json_t *j = f->body.p ? json_loadb(f->body.p, f->body.len, 0, NULL) : NULL;
    if (!j || !json_is_array(json_object_get(j, "keys")) ||
        json_array_size(json_object_get(j, "keys")) == 0) {
        snprintf(why, n, "not a JWK set with at least one key");
        json_decref(j);
        return NULL;
    }
    return j;
}

static void fetch_done(uv_work_t *w, int status)
{
    struct fetch *f = w->data;
    struct auth *a = f->a;
    a->inflight = false;
    char why[CURL_ERROR_SIZE + 32] = "";
    json_t *j = status == 0 ? parse_jwks(f, why, sizeof why) : NULL;
    if (j) {
        json_decref(a->jwks);
        a->jwks = j;
        a->failures = 0;
        LOG_DEBUG("event=jwks_fetched url=%s keys=%zu", f->url,
                  json_array_size(json_object_get(j, "keys")));
    } else {
        a->failures++;
        LOG_WARN("event=jwks_fetch_failed url=%s http_status=%ld err=\"%s\" kept=%s", f->url,
                 f->status, why, a->jwks ? "last-good" : "none");
    }
    cu_body_free(&f->body);
    free(f);
    /* Requests that waited for this fetch: verify again, without another refetch. */
    struct parked *p = a->parked;
    a->parked = NULL;
    a->n_parked = 0;
    while (p) {
        struct parked *next = p->next;
        if (!p->r->req || a->stopping)
            http_release(p->r);
        else
            serve_me(p->r, true);
        free(p);
        p = next;
    }
    if (a->stopping) {
        maybe_free(a);
        return;
    }
    schedule(a);
}

static void on_timer(uv_timer_t *t)
{
    struct auth *a = t->data;
    if (!a->inflight)
        fetch_start(a);
}

/* The next periodic fetch: accounts_jwks_refresh_s after a good one; after failures 1 s,
 * 2 s, 4 s, ... capped at the refresh period. */
static void schedule(struct auth *a)
{
    uint64_t period = (uint64_t)a->n->cfg.accounts_jwks_refresh_s * 1000u, ms = period;
    if (a->failures) {
        unsigned sh = a->failures > 10 ? 10 : a->failures - 1;
        ms = 1000u << sh;
        if (ms > period)
            ms = period;
    }
    uv_timer_start(&a->timer, on_timer, ms, 0);
}

int auth_start(struct node *n, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    if (!n->cfg.sport[0] || !n->cfg.accounts_jwks_url[0])
        return 0;
    struct auth *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    a->n = n;
    uv_timer_init(n->loop, &a->timer);
    a->timer.data = a;
    uv_timer_init(n->loop, &a->rtimer);
    a->rtimer.data = a;
    a->revoked = json_object();
    n->auth = a;
    fetch_start(a);
    rev_bases(a);
    rev_start(a);
    return 0;
}

static void timer_closed(uv_handle_t *h)
{
    struct auth *a = h->data;
    if (h == (uv_handle_t *)&a->timer)
        a->timer_closed = true;
    else
        a->rtimer_closed = true;
    maybe_free(a);
}

void auth_stop(struct node *n)
{
    struct auth *a = n->auth;
    if (!a)
        return;
    n->auth = NULL;
    a->stopping = true;
    struct parked *p = a->parked;
    a->parked = NULL;
    while (p) {
        struct parked *next = p->next;
        if (p->r->req) {
            http_header(p->r, "retry-after", "1");
            http_problem(p->r, 503, "Shutting down", "this node is stopping");
        } else {
            http_release(p->r);
        }
        free(p);
        p = next;
    }
    uv_timer_stop(&a->timer);
    uv_timer_stop(&a->rtimer);
    uv_close((uv_handle_t *)&a->timer, timer_closed);
    uv_close((uv_handle_t *)&a->rtimer, timer_closed);
}

static void serve_me(struct http_req *r, bool retried)
{
    struct node *n = r->node;
    struct auth *a = n->auth;
    if (!a) {
        http_problem(r, 404, "Not found",
                     "this node verifies no access tokens: 'accounts_jwks_url' is not configured");
        return;
    }
    if (!a->jwks) {
        http_header(r, "retry-after", "1");
        http_problem(r, 503, "Keys not loaded",
                     "the accounts cluster's signing keys (%s) could not be loaded yet",
                     n->cfg.accounts_jwks_url);
        if (!a->inflight && mono_ms() - a->last_start_ms >= n->cfg.accounts_jwks_min_interval_ms)
            fetch_start(a);
        return;
    }
    bool unknown = false;
    json_t *claims = auth_verify_bearer(r, a->jwks, n->cfg.accounts_issuer,
                                        retried ? NULL : &unknown);
    if (!claims && unknown) {
        bool may = mono_ms() - a->last_start_ms >= n->cfg.accounts_jwks_min_interval_ms;
        if ((a->inflight || may) && a->n_parked < PARKED_MAX) {
            struct parked *p = malloc(sizeof *p);
            if (p) {
                p->r = r;
                p->next = a->parked;
                a->parked = p;
                a->n_parked++;
                if (!a->inflight)
                    fetch_start(a);
                return;
            }
        }
        /* Refetched a moment ago: answer from the set we have. */
        auth_verify_bearer(r, a->jwks, n->cfg.accounts_issuer, NULL);
        return;
    }
    if (!claims)
        return;
    if (session_revoked(r, a, claims)) {
        json_decref(claims);
        return;
    }
    json_t *sid = json_object_get(claims, "sid");
    http_reply_json(r, 200,
                    json_pack("{s:O, s:O, s:O}", "player_id", json_object_get(claims, "sub"),
                              "session_id", sid ? sid : json_null(), "expires_at",
                              json_object_get(claims, "exp")));
    json_decref(claims);
}

/* A bearer token for @audience checked against the accounts cluster's keys: its claims, or
 * NULL (answered: 401, a revoked session or a disabled operator, or 503 while the keys are
 * not loaded, which starts a fetch). */
static json_t *verify_against(struct http_req *r, struct auth *a, const char *audience,
                              int64_t max_lifetime)
{
    struct node *n = r->node;
    bool unknown = false;
    json_t *claims = a->jwks ? auth_verify_bearer_aud(r, a->jwks, n->cfg.accounts_issuer,
                                                      audience, max_lifetime, &unknown)
                             : NULL;
    if (claims && session_revoked(r, a, claims)) { /* revoked, or a disabled operator */
        json_decref(claims);
        return NULL;
    }
    if (claims)
        return claims;
    if (!a->jwks || unknown) {
        if (!a->inflight && mono_ms() - a->last_start_ms >= n->cfg.accounts_jwks_min_interval_ms)
            fetch_start(a);
        http_header(r, "retry-after", "1");
        http_problem(r, 503, "Keys not loaded",
                     "the accounts cluster's signing key for this token is not loaded yet");
    }
    return NULL;
}

json_t *auth_player(struct http_req *r)
{
    struct node *n = r->node;
    struct auth *a = n->auth;
    if (!a) {
        http_problem(r, 404, "Not found",
                     "this node verifies no access tokens: 'accounts_jwks_url' is not configured");
        return NULL;
    }
    return verify_against(r, a, AUTH_AUDIENCE, AUTH_MAX_LIFETIME_S);
}

json_t *auth_operator(struct http_req *r)
{
    struct node *n = r->node;
    struct auth *a = n->auth;
    if (!a) {
        http_header(r, "www-authenticate", "Bearer realm=\"parlay-admin\"");
        http_problem(r, 401, "Unauthorized",
                     "this node verifies no operator tokens ('accounts_jwks_url' is not "
                     "configured): use the admin token");
        return NULL;
    }
    return verify_against(r, a, AUTH_OPERATOR_AUDIENCE, AUTH_OPERATOR_TTL_S);
}

int routes_auth(struct http_req *r, const char *method, const char *path)
{
    if (!r->node->cfg.sport[0] || strcmp(path, "/v1/me") != 0)
        return -1;
    if (strcmp(method, "GET") != 0) {
        http_header(r, "allow", "GET");
        http_problem(r, 405, "Method not allowed", "/v1/me takes GET");
        return 0;
    }
    serve_me(r, false);
    return 0;
}
