/* What the accounts handlers share: small helpers, answers, proposing a prepared command
 * through the write path, idempotency keys and fingerprints, request fields, and the worker
 * jobs (Argon2id) that keep slow work off the loop. */
#include <cjose/cjose.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/accounts_common.h"
#include "node/auth.h"
#include "node/banlist.h"
#include "node/http_guard.h"
#include "consensus/wallet.h"
#include "common/log.h"
#include "node/routes.h"

/* ---- small helpers ---- */

void acc_hex(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
    out[2 * n] = 0;
}

void acc_sha256_hex(const char *a, const char *b, char out[65])
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
    acc_hex(md, 32, out);
}

int acc_random_hex(size_t bytes, char *out)
{
    uint8_t b[32];
    if (bytes > sizeof b || RAND_bytes(b, (int)bytes) != 1)
        return -1;
    acc_hex(b, bytes, out);
    return 0;
}

int64_t acc_now_s(void)
{
    return (int64_t)time(NULL);
}

/* Answer with a result's status and body, copying a 429's retry_after into Retry-After. */
void acc_relay(struct http_req *r, int status, const char *body, const char *retry_after,
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
    write_relay(r, status, body, ra, replayed);
}

/* ---- proposing a prepared command ---- */

typedef write_done_cb acc_done;

/* Propose @payload (stolen) as @type through the write path (node/write.c). */
void acc_propose(struct http_req *r, uint16_t type, json_t *payload, const char *idem,
                        const uint8_t fp[32], acc_done done, void *ctx)
{
    char *text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(payload);
    write_submit(r, type, text, strlen(text), idem, fp, done, ctx);
    free(text);
}

/* An operator's write is proposed by the leader itself: a follower sends the operator's own
 * request on (the leader checks the admin token again) instead of a prepared command, which
 * the leader would refuse from a follower. True if this node may go on. */
bool acc_on_leader(struct http_req *r)
{
    if (replica_is_leader(r->node->replica))
        return true;
    http_forward_to_leader(r);
    return false;
}

bool acc_idem_key(struct http_req *r, const char *ns, char out[256])
{
    return write_idem_key(r, ns, out);
}

/* The Idempotency-Key of a signed-in player's write, in that player's namespace. */
bool acc_player_idem_key(struct http_req *r, const char *player, char out[256])
{
    char ns[64];
    snprintf(ns, sizeof ns, "player:%s", player);
    return acc_idem_key(r, ns, out);
}

void acc_fingerprint(const char *what, const char *subject, uint8_t fp[32])
{
    char h[65];
    acc_sha256_hex(what, subject, h);
    for (int i = 0; i < 32; i++)
        sscanf(h + 2 * i, "%2hhx", &fp[i]);
}

void acc_submit_then(struct http_req *r, uint16_t type, json_t *payload, const char *idem,
                     const char *what, const char *subject, write_done_cb done, void *ctx)
{
    uint8_t fp[32];
    acc_fingerprint(what, subject, fp);
    acc_propose(r, type, payload, idem, fp, done, ctx);
}

void acc_session_limits(struct node *n, json_t *payload)
{
    const struct config *c = &n->cfg;
    json_object_set_new(payload, "lifetime_ms",
                        json_integer((json_int_t)c->session_lifetime_s * 1000));
    json_object_set_new(payload, "idle_ms", json_integer((json_int_t)c->session_idle_s * 1000));
    json_object_set_new(payload, "max_sessions", json_integer(c->session_max_per_player));
}

void acc_submit(struct http_req *r, uint16_t type, json_t *payload, const char *idem,
                const char *what, const char *subject)
{
    acc_submit_then(r, type, payload, idem, what, subject, acc_relay_done, NULL);
}

bool acc_refuse_locked(struct http_req *r, uint64_t until_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (until_ms <= now_ms)
        return false;
    char ra[32];
    snprintf(ra, sizeof ra, "%llu", (unsigned long long)((until_ms - now_ms + 999) / 1000));
    http_header(r, "retry-after", ra);
    http_guard_problem(r, 429, "Too many failed sign-ins", "too_many_failures",
                       "too many failed sign-ins for this account; try again in %s seconds", ra);
    return true;
}

/* ---- request bodies ---- */

/* Checks that @body has the string fields @names (NULL-terminated), optionally those in @opt
 * (may be NULL), and nothing else. */
bool acc_fields_opt(struct http_req *r, json_t *body, const char *const *names,
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

bool acc_fields(struct http_req *r, json_t *body, const char *const *names)
{
    return acc_fields_opt(r, body, names, NULL);
}

bool acc_email_field(struct http_req *r, json_t *body, char out[ACCOUNTS_EMAIL_MAX + 1])
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

/* ---- worker-thread jobs (Argon2id) ---- */


char acc_dummy_hash[KYC_PW_HASH_MAX];

static void job_work(uv_work_t *w)
{
    struct job *j = w->data;
    if (j->verify) {
        j->rv = kyc_password_verify(j->hash[0] ? j->hash : acc_dummy_hash, j->password, j->pwlen,
                                    &j->err);
        if (j->rv == KYC_OK && j->next) /* a password change: the new one's hash */
            j->rv = kyc_password_hash(j->next, j->nextlen, NULL, j->next_hash, &j->err);
    } else
        j->rv = kyc_password_hash(j->password, j->pwlen, NULL, j->hash, &j->err);
}

void acc_job_free(struct job *j)
{
    OPENSSL_cleanse(j->password, j->pwlen);
    free(j->password);
    if (j->next) {
        OPENSSL_cleanse(j->next, j->nextlen);
        free(j->next);
    }
    free(j);
}

/* A place for a registration from @addr, or -1 when registrations are at their node-wide or
 * per-address bound (*@per_address tells which). */
static int registering_slot(struct accounts *a, const char *addr, bool *per_address)
{
    int free_slot = -1, same = 0;
    for (int i = 0; i < MAX_REGISTERING; i++) {
        if (!a->registering[i][0])
            free_slot = free_slot < 0 ? i : free_slot;
        else if (!strcmp(a->registering[i], addr))
            same++;
    }
    *per_address = same >= MAX_REGISTERING_PER_ADDRESS;
    return *per_address ? -1 : free_slot;
}

bool acc_job_queue(struct http_req *r, struct job *j, uv_after_work_cb after)
{
    struct accounts *a = r->node->accounts;
    j->reg_slot = -1;
    if (a->hashing >= MAX_HASHING) {
        acc_job_free(j);
        http_header(r, "retry-after", "1");
        http_problem(r, 503, "Busy", "too many password checks in progress; retry shortly");
        return false;
    }
    if (!j->verify) {
        char addr[48];
        bool per_address;
        http_peer_address(r, addr, sizeof addr);
        int slot = registering_slot(a, addr, &per_address);
        if (slot < 0) {
            acc_job_free(j);
            http_header(r, "retry-after", "1");
            if (per_address)
                http_problem(r, 429, "Too many registrations",
                             "at most %d registrations from one address at a time; retry shortly",
                             MAX_REGISTERING_PER_ADDRESS);
            else
                http_problem(r, 503, "Busy",
                             "too many registrations in progress on this node; retry shortly");
            return false;
        }
        snprintf(a->registering[slot], sizeof a->registering[slot], "%s", addr);
        j->reg_slot = slot;
    }
    a->hashing++;
    acc_work(r, &j->work, j, job_work, after);
    return true;
}

void acc_job_done(struct accounts *a, struct job *j)
{
    a->hashing--;
    if (j->reg_slot >= 0)
        a->registering[j->reg_slot][0] = 0;
    j->reg_slot = -1;
}

struct job *acc_job_new(struct http_req *r, json_t *body, const char *email, const char *idem)
{
    return acc_job_new_pw(r, json_string_value(json_object_get(body, "password")), email, idem);
}

struct job *acc_job_new_pw(struct http_req *r, const char *pw, const char *email,
                           const char *idem)
{
    struct job *j = calloc(1, sizeof *j);
    j->r = r;
    j->pwlen = strlen(pw);
    j->password = malloc(j->pwlen + 1);
    memcpy(j->password, pw, j->pwlen + 1);
    snprintf(j->email, sizeof j->email, "%s", email);
    snprintf(j->idem, sizeof j->idem, "%s", idem);
    return j;
}

/* The caller namespace for anonymous writes: a digest of the normalised email. */
void acc_email_ns(const char *what, const char *email, char *out, size_t n)
{
    char h[65];
    acc_sha256_hex(email, NULL, h);
    snprintf(out, n, "%s:%.16s", what, h);
}


void acc_relay_done(struct http_req *r, void *ctx, int status, const char *body, const char *ra,
                    bool replayed)
{
    (void)ctx;
    acc_relay(r, status, body, ra, replayed);
}

json_t *acc_player(struct http_req *r, char idem[256])
{
    json_t *claims = acc_authenticate(r);
    if (!claims || !idem)
        return claims;
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    if (acc_player_idem_key(r, sub, idem))
        return claims;
    json_decref(claims);
    return NULL;
}

bool acc_player_job(struct http_req *r, char player[ACCOUNTS_ID_CHARS + 1], char idem[256])
{
    json_t *claims = acc_player(r, idem);
    if (!claims)
        return false;
    snprintf(player, ACCOUNTS_ID_CHARS + 1, "%s",
             json_string_value(json_object_get(claims, "sub")));
    json_decref(claims);
    return true;
}

void acc_work(struct http_req *r, uv_work_t *work, void *job, uv_work_cb fn,
              uv_after_work_cb after)
{
    work->data = job;
    uv_queue_work(r->node->loop, work, fn, after);
}

/* ---- the national gambling-ban list ---- */

static struct banlist *ban_list(struct node *n)
{
    return n->accounts ? n->accounts->ban : NULL;
}

/* Reading the list again happens on a worker thread (a long list takes seconds); the lookups
 * keep using the list in force until it is swapped here, on the loop. */
struct ban_job {
    uv_work_t work;
    struct accounts *a;
    char path[512];
    struct banlist *fresh;
    char err[400];
};

static void ban_load_work(uv_work_t *w)
{
    struct ban_job *j = w->data;
    j->fresh = banlist_load(j->path, j->err, sizeof j->err);
}

static void ban_loaded(uv_work_t *w, int status)
{
    struct ban_job *j = w->data;
    struct accounts *a = j->a;
    a->ban_loading = false;
    if (status != 0 || a->node->stopping || !a->ban) {
        banlist_free(j->fresh);
    } else {
        if (!banlist_ok(j->fresh))
            LOG_ERROR("event=ban_list_reload_failed err=\"%s\" note=\"the last good list stays\"",
                      j->err);
        banlist_adopt(a->ban, j->fresh);
        if (banlist_ok(a->ban))
            LOG_INFO("event=ban_list_in_force entries=%zu reloads=%llu", banlist_size(a->ban),
                     (unsigned long long)banlist_reloads(a->ban));
    }
    free(j);
}

void acc_ban_tick(struct accounts *a)
{
    if (!a->ban || a->ban_loading || a->node->stopping || !banlist_stale(a->ban))
        return;
    struct ban_job *j = calloc(1, sizeof *j);
    j->a = a;
    snprintf(j->path, sizeof j->path, "%s", banlist_path(a->ban));
    j->work.data = j;
    a->ban_loading = true;
    if (uv_queue_work(a->node->loop, &j->work, ban_load_work, ban_loaded) != 0) {
        a->ban_loading = false;
        free(j);
    }
}

bool acc_banned_email(struct node *n, const char *email)
{
    struct banlist *b = ban_list(n);
    return b && banlist_email(b, email);
}

bool acc_banned_person(struct node *n, const char *family, const char *given,
                       const char *birthdate)
{
    struct banlist *b = ban_list(n);
    return b && banlist_person(b, family, given, birthdate);
}

bool acc_banned_player(struct node *n, json_t *player)
{
    json_t *id = json_object_get(player, "identity");
    const char *email = json_string_value(json_object_get(player, "email"));
    return (email && acc_banned_email(n, email)) ||
           (id && acc_banned_person(n, json_string_value(json_object_get(id, "family_name")),
                                    json_string_value(json_object_get(id, "given_names")),
                                    json_string_value(json_object_get(id, "birthdate"))));
}

void acc_refuse_banned(struct http_req *r)
{
    r->node->metrics.ban_refusals++;
    http_guard_problem(r, 403, "Banned from gambling", "banned",
                       "this person is on the national gambling-ban list: no account, no play");
}

static void ban_done(struct http_req *r, void *ctx, int status, const char *body,
                     const char *ra, bool replayed)
{
    (void)ctx;
    (void)body;
    (void)ra;
    (void)replayed;
    if (status >= 300)
        LOG_WARN("event=wallet_ban_not_committed status=%d", status);
    acc_refuse_banned(r);
}

void acc_ban_and_refuse(struct http_req *r, const char *player_id)
{
    char idem[64] = "ban:";
    uint8_t fp[32];
    if (acc_random_hex(16, idem + 4) != 0) {
        acc_refuse_banned(r);
        return;
    }
    acc_fingerprint("wallet_ban", player_id, fp);
    LOG_INFO("event=ban_list_match player=%s", player_id);
    acc_propose(r, CMD_WALLET_BAN, wallet_cmd_ban(player_id, true, "ban_list"), idem, fp,
                ban_done, NULL);
}

kyc_header* acc_headers(struct http_req* r, size_t* n)
{
    const h2o_headers_t* hd = &r->req->headers;
    size_t bytes = 0;
    for (size_t i = 0; i < hd->size; i++)
        bytes += hd->entries[i].name->len + hd->entries[i].value.len + 2;
    kyc_header* hs = malloc((hd->size ? hd->size : 1) * sizeof *hs + bytes);
    *n = 0;
    if (!hs)
        return NULL; /* out of memory: no headers, so the verifier refuses the request */
    char* p = (char*)(hs + (hd->size ? hd->size : 1));
    for (size_t i = 0; i < hd->size; i++) {
        const h2o_header_t* h = &hd->entries[i];
        hs[i].name = p;
        memcpy(p, h->name->base, h->name->len);
        p += h->name->len;
        *p++ = 0;
        hs[i].value = p;
        memcpy(p, h->value.base, h->value.len);
        p += h->value.len;
        *p++ = 0;
    }
    *n = hd->size;
    return hs;
}
