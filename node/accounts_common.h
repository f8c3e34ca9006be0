/* The accounts role's HTTP handlers, split by concern over several files (one header for what
 * they share): node/routes_accounts.c routes and starts them; node/accounts_common.c holds
 * the shared pieces (answers, idempotency keys, fingerprints, request fields, the Argon2id
 * worker jobs); node/routes_signin.c registration, sign-in, sessions and sign-out;
 * node/routes_password.c a player's password change;
 * node/routes_tokens.c access tokens and the signing keys; node/routes_totp.c the TOTP second
 * factor; node/routes_franceconnect.c FranceConnect; node/routes_documents.c the
 * document-check provider; node/routes_operator.c the operator's reads and KYC decisions. */
#ifndef PARLAY_ACCOUNTS_COMMON_H
#define PARLAY_ACCOUNTS_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus/accounts.h"
#include "kyc/kyc.h"
#include "node/node.h"
#include "node/pay.h"
#include "node/write.h"

#define ACCESS_TTL_S 900
#define MAX_HASHING 16
/* Registrations (anonymous: anyone can start one) may hold at most this many of the
 * MAX_HASHING password-hashing slots on a node, and one address at most
 * MAX_REGISTERING_PER_ADDRESS of those, so that a flood of registrations leaves the rest to
 * registered players signing in. */
#define MAX_REGISTERING 4
#define MAX_REGISTERING_PER_ADDRESS 2
#define AUDIENCE "parlay"

struct accounts {
    struct node *node;
    kyc_pwlist *pwlist;
    unsigned hashing;
    char registering[MAX_REGISTERING][48]; /* the address of each registration hashing now,
                                              "" for a free place */
    uv_timer_t key_timer;
    bool key_proposing;
    char issuer[128];
    kyc_fc *fc; /* NULL when FranceConnect is not configured */
    kyc_doc_provider *doc; /* NULL when no document-check provider is configured */
    struct pay_provider *pay; /* NULL when no payment provider is configured */
    struct banlist *ban;      /* the national gambling-ban list, NULL when not configured */
    bool wallet_closing;      /* leader: a wallet_close in flight */
    uint64_t wallet_close_ms; /* leader: when to look for provisional accounts to close next */
    uint64_t ban_gen;         /* leader: the ban list's reload count at the last sweep */
    bool ban_loading;         /* the ban list file is being read again on a worker thread */
    bool ban_sweeping;        /* leader: a sweep of the wallet profiles is under way */
    char ban_after[ACCOUNTS_ID_CHARS + 1]; /* leader: the sweep goes on after this player */
    uint64_t ban_sweep_ms;    /* leader: the next sweep even if the list did not change */
    bool wallet_expiring;     /* leader: a hold_expire in flight */
    bool wallet_sending;      /* leader: a payout being sent or recorded */
    uint64_t wallet_retry_ms; /* leader: do not send payouts again before this */
};


/* ---- accounts_common.c ---- */

void acc_hex(const uint8_t *in, size_t n, char *out);
/* SHA-256 of @a (and "\n" @b when @b is not NULL), as lower-case hex. */
void acc_sha256_hex(const char *a, const char *b, char out[65]);
/* The request's headers as NUL-terminated name/value pairs for the kyc verifiers (@n of them),
 * in one allocation: free() releases the array and its strings. */
kyc_header* acc_headers(struct http_req* r, size_t* n);
int acc_random_hex(size_t bytes, char *out);
int64_t acc_now_s(void);
/* Answer with a result's status and body, copying a 429's retry_after into Retry-After. */
void acc_relay(struct http_req *r, int status, const char *body, const char *retry_after,
               bool replayed);
/* A write_done_cb that relays the result as it is. */
void acc_relay_done(struct http_req *r, void *ctx, int status, const char *body,
                    const char *ra, bool replayed);
/* Propose @payload (stolen) as @type through the write path (node/write.c). */
void acc_propose(struct http_req *r, uint16_t type, json_t *payload, const char *idem,
                 const uint8_t fp[32], write_done_cb done, void *ctx);
/* True if this node leads; otherwise the operator's request goes to the leader as it is. */
bool acc_on_leader(struct http_req *r);
bool acc_idem_key(struct http_req *r, const char *ns, char out[256]);
/* The Idempotency-Key of a signed-in player's write, in that player's namespace. */
bool acc_player_idem_key(struct http_req *r, const char *player, char out[256]);
/* The signed-in player of @r (the access token's claims, NULL when answered 401) and, when
 * @idem is not NULL, their write's namespaced Idempotency-Key (NULL when answered 428/400). */
json_t *acc_player(struct http_req *r, char idem[256]);
/* The same for a job that needs only the player's id (into @player). */
bool acc_player_job(struct http_req *r, char player[ACCOUNTS_ID_CHARS + 1], char idem[256]);
void acc_fingerprint(const char *what, const char *subject, uint8_t fp[32]);
/* acc_propose of @payload (stolen) with the fingerprint of (@what, @subject), its result relayed
 * to the client as it is (acc_relay_done). */
void acc_submit(struct http_req *r, uint16_t type, json_t *payload, const char *idem,
                const char *what, const char *subject);
/* A session create's limits from the configuration (absolute lifetime, inactivity timeout,
 * open sessions per player), put in @payload so that every node applies the same ones. */
void acc_session_limits(struct node *n, json_t *payload);
/* The same with the result handed to @done (@ctx) instead of relayed. */
void acc_submit_then(struct http_req *r, uint16_t type, json_t *payload, const char *idem,
                     const char *what, const char *subject, write_done_cb done, void *ctx);
/* While the sign-in back-off locks a player until @until_ms (accounts_failures): answers 429
 * too_many_failures with Retry-After and returns true. */
bool acc_refuse_locked(struct http_req *r, uint64_t until_ms);
/* Checks that @body has the string fields @names (NULL-terminated), optionally those in @opt
 * (may be NULL), and nothing else. */
bool acc_fields_opt(struct http_req *r, json_t *body, const char *const *names,
                    const char *const *opt);
bool acc_fields(struct http_req *r, json_t *body, const char *const *names);
bool acc_email_field(struct http_req *r, json_t *body, char out[ACCOUNTS_EMAIL_MAX + 1]);
/* The caller namespace for anonymous writes: a digest of the normalised email. */
void acc_email_ns(const char *what, const char *email, char *out, size_t n);

/* The national gambling-ban list (node/banlist.h; the file is read again when it changed).
 * Is this email listed? */
bool acc_banned_email(struct node *n, const char *email);
/* Is this player listed: by their email, or by the identity verified on their record? */
bool acc_banned_player(struct node *n, json_t *player);
/* Is this person (a verified identity: family name, given names, YYYY-MM-DD) listed? */
bool acc_banned_person(struct node *n, const char *family, const char *given,
                       const char *birthdate);
/* Every node, from the accounts timer: when the list's file changed, read it again on a worker
 * thread and put it in force when read (a broken file keeps the last good list). */
void acc_ban_tick(struct accounts *a);
/* 403 problem+json with code `banned`. */
void acc_refuse_banned(struct http_req *r);
/* For an existing player found on the list: commit CMD_WALLET_BAN (deposits and holds are then
 * refused on every node), then answer 403 `banned`. */
void acc_ban_and_refuse(struct http_req *r, const char *player_id);

/* Argon2id on a libuv worker thread: hash a new password or verify one. */
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
    int reg_slot;       /* registration: its place in accounts.registering, -1 otherwise */
    char totp[16];      /* sign-in: the one-time code given, if any */
    char recovery[32];  /* sign-in: the recovery code given, if any */
    char *next;         /* password change: the new password, hashed once @password verifies */
    size_t nextlen;
    char next_hash[KYC_PW_HASH_MAX]; /* password change: out */
    void *ctx;          /* the caller's own (operators' routes; a password change: the
                           session id to keep, malloc'd) */
};

/* A hash of a password nobody has, so that an unknown email costs the same as a wrong
 * password. */
extern char acc_dummy_hash[KYC_PW_HASH_MAX];
struct job *acc_job_new(struct http_req *r, json_t *body, const char *email, const char *idem);
/* The same with the password given (acc_job_new takes the body's "password"). */
struct job *acc_job_new_pw(struct http_req *r, const char *pw, const char *email,
                           const char *idem);
void acc_job_free(struct job *j);
/* Queue @j (at most MAX_HASHING at once: 503 Busy beyond, and @j is freed); @after runs on
 * the loop with the result. */
bool acc_job_queue(struct http_req *r, struct job *j, uv_after_work_cb after);
/* A queued job's work is over (from its @after callback): its slots are free again. */
void acc_job_done(struct accounts *a, struct job *j);
/* The one way a handler starts work off the loop: @job's @work runs @fn on a worker thread,
 * then @after on the loop (w->data is @job). */
void acc_work(struct http_req *r, uv_work_t *work, void *job, uv_work_cb fn,
              uv_after_work_cb after);

/* ---- routes_tokens.c ---- */

char *acc_current_key(struct node *n, char kid[80]);
json_t *acc_public_jwks(struct node *n);
char *acc_access_token(struct node *n, const char *player, const char *sid);
/* @claims (stolen) as an ES256 JWT signed with the newest signing key (malloc'd), or NULL. */
char *acc_sign_claims(struct node *n, json_t *claims);
/* The verified claims of the request's bearer access token; answers 401 and returns NULL if
 * there is none or it does not verify. */
json_t *acc_authenticate(struct http_req *r);
void acc_serve_jwks(struct http_req *r);
void acc_serve_revocations(struct http_req *r);
void acc_do_rotate(struct http_req *r);
void acc_on_key_timer(uv_timer_t *t);

/* ---- routes_signin.c ---- */

/* A session's tokens to hand out once its command is applied. */
struct issue {
    struct http_req *r;
    char refresh[ACCOUNTS_FAMILY_CHARS + 1 + KYC_TOKEN_CHARS + 1];
    char hash[65];
    char *logout_url; /* FranceConnect sign-in: the provider's end-session URL, or NULL */
};
/* A new refresh token for @family: "<family>.<43 base64url chars>" and its hash. */
int acc_refresh_new(const char *family, char *token, size_t n, char hash[65]);
/* After a session create or refresh (@ctx: a struct issue): hand out the tokens, unless the
 * result is a replay of an earlier request with the same key (its tokens were handed out
 * then and are not kept). */
void acc_tokens_done(struct http_req *r, void *ctx, int status, const char *body,
                     const char *ra, bool replayed);
/* The second factor of a password check (@j's totp or recovery code) for a player who
 * confirmed one: 0 when none is needed or the code checks (its totp_step or recovery_hash
 * added to @payload), 1 when none was given, -1 when it is wrong. */
int acc_second_factor(struct node *n, struct job *j, json_t *payload);
void acc_do_register(struct http_req *r);
void acc_do_signin(struct http_req *r);
void acc_do_refresh(struct http_req *r);
void acc_do_signout(struct http_req *r, bool everywhere);
void acc_serve_me(struct http_req *r);

/* ---- routes_password.c ---- */

/* POST /v1/players/me/password: a signed-in player's new password. */
void acc_do_password(struct http_req *r);

/* ---- routes_totp.c ---- */

json_t *acc_totp_record(struct node *n, const char *player_id);
int acc_totp_check(json_t *t, const char *code, int64_t *step, kyc_err *err);
void acc_do_totp_enrol(struct http_req *r);
void acc_do_totp_confirm(struct http_req *r);

/* ---- routes_franceconnect.c ---- */

void acc_do_fc_start(struct http_req *r);
void acc_do_fc_signin_start(struct http_req *r);
void acc_do_fc_callback(struct http_req *r);

/* ---- routes_documents.c ---- */

void acc_do_doc_start(struct http_req *r);
void acc_do_doc_webhook(struct http_req *r, const char *name);

/* ---- routes_secrets.c ---- */

/* GET /admin/v1/secrets and POST /admin/v1/secrets/reseal; -1 for other paths. */
int routes_secrets(struct http_req *r, const char *method, const char *path);

/* ---- routes_wallet.c ---- */

/* The leader's wallet work (expiring holds, sending payouts), from the accounts timer. */
void wallet_on_timer(struct accounts *a);

/* ---- routes_operator.c ---- */

void acc_serve_players_admin(struct http_req *r);
void acc_serve_player_admin(struct http_req *r);
void acc_do_kyc_override(struct http_req *r, const char *id);
void acc_do_admin_signout(struct http_req *r, const char *id);

#endif
