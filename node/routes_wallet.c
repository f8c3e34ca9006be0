/* The wallet over HTTP (accounts cluster): what players, the payment provider, sport clusters
 * and operators ask of the ledger in consensus/wallet.c.
 *
 *   GET    /v1/wallet                              (player) balance, available, held, limits ...
 *   GET    /v1/wallet/transactions[?before=&limit=] (player) the statement, newest first
 *   POST   /v1/wallet/limits  {deposit_7d?, stake_7d?, auto_withdraw?}  (player, Idempotency-Key)
 *   POST   /v1/wallet/self-exclusion {hours}       (player, Idempotency-Key)
 *   POST   /v1/wallet/deposits {amount}            (player, Idempotency-Key) -> hosted page URL
 *   GET    /v1/wallet/deposits/{id}                (player)
 *   POST   /v1/wallet/withdrawals {amount}         (player, Idempotency-Key)
 *   GET    /v1/wallet/withdrawals/{id}             (player)
 *   POST   /v1/wallet/webhooks/{provider}          (the payment provider, signed)
 *   POST   /internal/v1/holds {hold_id, player_id, amount, timeout_ms}   (a sport cluster, signed)
 *   POST   /internal/v1/holds/{id}/post {stake, payout} | /internal/v1/holds/{id}/void
 *   POST   /internal/v1/holds/{id}/resettle {generation, stake, payout, reason} (a corrected
 *          result: correcting transfers, consensus/wallet_resettle.c)
 *   GET    /internal/v1/holds/{id}
 *   POST   /internal/v1/hold-batches {items: [{op: place|post|void, hold_id, ...}]} (signed):
 *                                               many of the above in one command, an answer each
 *   GET    /internal/v1/holds?after=&limit=    (a sport cluster, signed) its holds with their
 *                                               transfers, in id order (the bets audit)
 *   GET    /admin/v1/ledger/check | /admin/v1/ledger/trj[?year=]          (admin)
 *   GET    /internal/v1/trj[?year=]                (a sport cluster, signed) the same TRJ, for
 *                                               its return-to-player governor (issue 17)
 *   POST   /admin/v1/ledger/corrections {id, debit, credit, amount, corrects, reason} (admin)
 *   GET    /admin/v1/wallets/{player}              (admin) the wallet and its statement
 *   POST   /admin/v1/wallets/{player}/block {blocked, reason}           (admin)
 *   GET|POST /admin/v1/sport-clusters {name, keys[]}                    (admin)
 *
 * Happy path of a deposit: the node that takes it derives the deposit id from the player and
 * the Idempotency-Key (so a retry is the same deposit), commits deposit_open (limits checked in
 * apply), opens the payment at the provider on a worker thread with the deposit id as both
 * reference and the provider's idempotency key, commits deposit_link and answers the hosted
 * page's URL. The provider's webhook may arrive at any node: verified there (kyc_webhook via
 * node/pay.c), it becomes one pay_event command, applied once per event and once per deposit.
 *
 * Leader-driven work (a timer on every node, acting only on the leader): holds past their
 * deadline are expired by a hold_expire command stamped with the leader's time; withdrawals held
 * but not yet sent go to the provider (idempotent by withdrawal id, retried until it answers)
 * and withdraw_sent records the payout id. A new leader simply carries on from the state.
 *
 * Sport clusters authenticate as their members: each request is signed with a member's node
 * key over wallet_request_digest; the key must be one an operator registered for that cluster
 * (POST /admin/v1/sport-clusters). Never the admin token, never a player's token.
 *
 * Failure modes: every refusal is problem+json with a stable `code` (consensus/wallet.h); the
 * provider unreachable while opening a deposit: 502 with Retry-After (the deposit stays open,
 * a retry with the same key reuses it); no leader: 503 (node/write.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/hex.h"
#include "common/log.h"
#include "consensus/agreement.h"
#include "consensus/replica.h"
#include "consensus/wallet.h"
#include "node/accounts_common.h"
#include "node/banlist.h"
#include "node/http_guard.h"
#include "node/metrics.h"
#include "node/pay.h"
#include "node/query.h"
#include "node/routes.h"

#define SPORT_SKEW_S 30
#define WALLET_CLOSE_CHECK_MS 600000 /* the walk for provisional accounts due: a 2-month rule */
#define BAN_SWEEP_MS 60000 /* the ban-list sweep also runs this often when the list is unchanged */
#define BAN_SWEEP_PAGE 500 /* players checked per timer tick (200 ms) during a sweep */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A read of the replicated state, or NULL once 503 is answered. */
static MDB_txn *read_begin(struct http_req *r)
{
    MDB_txn *txn;
    return routes_read_begin(r, &txn) ? txn : NULL;
}

/* An id derived from the player and their Idempotency-Key: a retry names the same object. */
static void derived_id(const char *prefix, const char *player, const char *idem, char out[64])
{
    char h[65];
    acc_sha256_hex(player, idem, h);
    snprintf(out, 64, "%s_%.32s", prefix, h);
}

/* A positive amount of cents from the body's @key (answers 422). */
static bool amount_field(struct http_req *r, json_t *body, const char *key, int64_t min,
                         int64_t *out)
{
    json_t *v = json_object_get(body, key);
    if (!json_is_integer(v) || json_integer_value(v) < min ||
        json_integer_value(v) > 1000000000000LL) {
        http_problem(r, 422, "Invalid amount",
                     "%s must be an integer number of euro cents from %lld", key,
                     (long long)min);
        return false;
    }
    *out = (int64_t)json_integer_value(v);
    return true;
}

/* Where the provider sends its webhooks: the configured public base (the edge) or this node. */
static void webhook_url(struct node *n, char *out, size_t cap)
{
    const char *base = pay_provider_webhook_url(n->accounts->pay);
    if (base[0])
        snprintf(out, cap, "%s/v1/wallet/webhooks/%s", base, pay_provider_name(n->accounts->pay));
    else
        snprintf(out, cap, "%s://%s/v1/wallet/webhooks/%s", node_scheme(n), n->cfg.http_address,
                 pay_provider_name(n->accounts->pay));
}

/* The signed-in player's body of a write (player id and Idempotency-Key into @player and
 * @idem), or NULL once the refusal is answered. */
static json_t *player_body(struct http_req *r, char player[ACCOUNTS_ID_CHARS + 1],
                           char idem[256])
{
    return acc_player_job(r, player, idem) ? routes_body(r) : NULL;
}

/* The signed-in player's claims and a read of the state, or NULL once the refusal or 503 is
 * answered (the claims are then released). */
static MDB_txn *player_read(struct http_req *r, json_t **claims)
{
    *claims = acc_authenticate(r);
    if (!*claims)
        return NULL;
    MDB_txn *txn = read_begin(r);
    if (!txn)
        json_decref(*claims);
    return txn;
}

/* ---- players ---- */

static void serve_wallet(struct http_req *r)
{
    json_t *claims;
    MDB_txn *txn = player_read(r, &claims);
    if (!txn)
        return;
    json_t *v =
        wallet_view(r->node->fsm, txn, json_string_value(json_object_get(claims, "sub")), now_ms());
    fsm_read_end(txn);
    http_reply_json(r, 200, v);
    json_decref(claims);
}

static void serve_transactions(struct http_req *r)
{
    json_t *claims = acc_authenticate(r);
    if (!claims)
        return;
    char buf[32], acct[64];
    uint64_t before = 0, limit = 50;
    int got = query_param(r, "before", buf, sizeof buf);
    if (got < 0) {
        json_decref(claims);
        return;
    }
    if (got &&
        (sscanf(buf, "%" SCNu64, &before) != 1 || before == 0)) {
        http_problem(r, 400, "Invalid parameter", "before must be a positive position");
        json_decref(claims);
        return;
    }
    if ((got = query_param(r, "limit", buf, sizeof buf)) < 0) {
        json_decref(claims);
        return;
    }
    if (got &&
        (sscanf(buf, "%" SCNu64, &limit) != 1 || limit < 1 || limit > 500)) {
        http_problem(r, 400, "Invalid parameter", "limit must be 1 to 500");
        json_decref(claims);
        return;
    }
    snprintf(acct, sizeof acct, "player:%s", json_string_value(json_object_get(claims, "sub")));
    json_decref(claims);
    MDB_txn *txn = read_begin(r);
    if (txn) {
        json_t *s = wallet_statement(r->node->fsm, txn, acct, before, (unsigned)limit);
        fsm_read_end(txn);
        http_reply_json(r, 200, s);
    }
}

/* GET /v1/wallet/{deposits|withdrawals}/{id}: the player's own. */
static void serve_own(struct http_req *r, const char *id, bool deposit)
{
    json_t *claims;
    MDB_txn *txn = player_read(r, &claims);
    if (!txn)
        return;
    json_t *o = !wallet_id_valid(id) ? NULL
                : deposit            ? wallet_deposit_get(r->node->fsm, txn, id)
                                     : wallet_withdrawal_get(r->node->fsm, txn, id);
    fsm_read_end(txn);
    const char *who = json_string_value(json_object_get(o, "player"));
    if (!o || !who || strcmp(who, json_string_value(json_object_get(claims, "sub"))))
        http_problem(r, 404, deposit ? "No such deposit" : "No such withdrawal",
                     "you have no %s '%s'", deposit ? "deposit" : "withdrawal", id);
    else
        http_reply_json(r, 200, json_incref(o));
    json_decref(o);
    json_decref(claims);
}

static void do_limits(struct http_req *r)
{
    char player[ACCOUNTS_ID_CHARS + 1], idem[256];
    json_t *body = player_body(r, player, idem);
    if (!body)
        return;
    static const char *const names[] = {"deposit_7d", "stake_7d", "auto_withdraw"};
    int64_t v[3] = {-1, -1, -1};
    const char *k;
    json_t *x;
    json_object_foreach(body, k, x)
    {
        bool known = false;
        for (int i = 0; i < 3; i++)
            if (!strcmp(k, names[i])) {
                known = true;
                if (!amount_field(r, body, k, 0, &v[i])) {
                    json_decref(body);
                    return;
                }
            }
        if (!known) {
            http_problem(r, 422, "Unknown field",
                         "'%s' is not a limit (deposit_7d, stake_7d, auto_withdraw)", k);
            json_decref(body);
            return;
        }
    }
    json_decref(body);
    char subj[128];
    snprintf(subj, sizeof subj, "%s %lld %lld %lld", player, (long long)v[0], (long long)v[1],
             (long long)v[2]);
    acc_submit(r, CMD_WALLET_LIMITS, wallet_cmd_limits(player, v[0], v[1], v[2]), idem,
               "wallet-limits", subj);
}

static void do_exclude(struct http_req *r)
{
    char player[ACCOUNTS_ID_CHARS + 1], idem[256];
    json_t *body = player_body(r, player, idem);
    if (!body)
        return;
    json_t *h = json_object_get(body, "hours");
    if (json_object_size(body) != 1 || !json_is_integer(h)) {
        http_problem(r, 422, "Invalid exclusion",
                     "give {\"hours\": N} with N from 24 (a day) to 8784 (12 months)");
        json_decref(body);
        return;
    }
    int64_t hours = (int64_t)json_integer_value(h);
    json_decref(body);
    char subj[96];
    snprintf(subj, sizeof subj, "%s %lld", player, (long long)hours);
    acc_submit(r, CMD_WALLET_EXCLUDE, wallet_cmd_exclude(player, hours), idem, "wallet-exclude",
               subj);
}

/* A deposit in three steps (see the top of the file). */
struct deposit {
    uv_work_t work;
    struct http_req *r;
    char player[ACCOUNTS_ID_CHARS + 1];
    char idem[256];
    char id[64];
    int64_t amount;
    char callback[256];
    char *payment_id, *url;
    char err[256];
    int rv;
};

static void deposit_free(struct deposit *d)
{
    free(d->payment_id);
    free(d->url);
    free(d);
}

static void deposit_linked(struct http_req *r, void *ctx, int status, const char *body,
                           const char *ra, bool replayed)
{
    struct deposit *d = ctx;
    (void)replayed;
    if (status == 200)
        http_reply_json(r, 201,
                        json_pack("{s:s, s:I, s:s, s:s, s:s}", "deposit_id", d->id, "amount",
                                  (json_int_t)d->amount, "status", "open", "payment_id",
                                  d->payment_id, "url", d->url));
    else
        acc_relay(r, status, body, ra, false);
    deposit_free(d);
}

static void deposit_work(uv_work_t *w)
{
    struct deposit *d = w->data;
    d->rv = pay_payment_create(d->r->node->accounts->pay, d->amount, d->id, d->callback, NULL,
                               d->id, 10000, &d->payment_id, &d->url, d->err, sizeof d->err);
}

static void deposit_opened_at_provider(uv_work_t *w, int status)
{
    struct deposit *d = w->data;
    struct http_req *r = d->r;
    if (status != 0 || d->rv != 0) {
        LOG_WARN("event=deposit_provider_failed deposit=%s err=\"%s\"", d->id,
                 status ? "cancelled" : d->err);
        http_header(r, "retry-after", "5");
        http_problem(r, 502, "Payment provider unavailable",
                     "the deposit %s is open but the provider did not answer (%s); retry with "
                     "the same Idempotency-Key",
                     d->id, status ? "cancelled" : d->err);
        deposit_free(d);
        return;
    }
    char idem[300];
    snprintf(idem, sizeof idem, "deposit-link:%s", d->id);
    acc_submit_then(r, CMD_DEPOSIT_LINK, wallet_cmd_deposit_link(d->id, d->payment_id, d->url),
                    idem, "deposit-link", d->payment_id, deposit_linked, d);
}

static void deposit_opened(struct http_req *r, void *ctx, int status, const char *body,
                           const char *ra, bool replayed)
{
    struct deposit *d = ctx;
    (void)replayed;
    bool again = false;
    if (status == 409) { /* the same deposit opened by an earlier try: carry on with it */
        json_t *j = json_loads(body, 0, NULL);
        const char *code = json_string_value(json_object_get(j, "code"));
        again = code && !strcmp(code, "deposit_exists");
        json_decref(j);
    }
    if (status != 201 && !again) {
        acc_relay(r, status, body, ra, false);
        deposit_free(d);
        return;
    }
    acc_work(r, &d->work, d, deposit_work, deposit_opened_at_provider);
}

/* A deposit's or withdrawal's request: payments configured, the signed-in player (into
 * @player, @idem) and a body of {amount} alone (into @amount); false once refused. */
static bool payment_request(struct http_req *r, const char *refusal,
                            char player[ACCOUNTS_ID_CHARS + 1], char idem[256], int64_t *amount)
{
    if (!r->node->accounts->pay) {
        http_problem(r, 404, "Payments not configured", "this cluster has no 'payments' provider");
        return false;
    }
    json_t *body = player_body(r, player, idem);
    bool ok = body && json_object_size(body) == 1 && amount_field(r, body, "amount", 1, amount);
    if (body && json_object_size(body) != 1)
        http_problem(r, 422, refusal, "give {\"amount\": cents} and nothing else");
    json_decref(body);
    return ok;
}

static void do_deposit(struct http_req *r)
{
    struct deposit *d = calloc(1, sizeof *d);
    if (!payment_request(r, "Invalid deposit", d->player, d->idem, &d->amount)) {
        free(d);
        return;
    }
    d->r = r;
    derived_id("dep", d->player, d->idem, d->id);
    webhook_url(r->node, d->callback, sizeof d->callback);
    char subj[96];
    snprintf(subj, sizeof subj, "%s %lld", d->player, (long long)d->amount);
    acc_submit_then(r, CMD_DEPOSIT_OPEN, wallet_cmd_deposit_open(d->player, d->id, d->amount),
                    d->idem, "deposit", subj, deposit_opened, d);
}

static void do_withdraw(struct http_req *r)
{
    char player[ACCOUNTS_ID_CHARS + 1], idem[256], id[64];
    int64_t amount;
    if (!payment_request(r, "Invalid withdrawal", player, idem, &amount))
        return;
    derived_id("wd", player, idem, id);
    char subj[96];
    snprintf(subj, sizeof subj, "%s %lld", player, (long long)amount);
    acc_submit(r, CMD_WITHDRAW_OPEN, wallet_cmd_withdraw_open(player, id, amount), idem,
               "withdrawal", subj);
}

/* POST /v1/wallet/webhooks/{provider}: verified on this node (signature over the raw bytes
 * first, then freshness), then one pay_event command. */
static void do_webhook(struct http_req *r, const char *name)
{
    struct pay_provider *p = r->node->accounts->pay;
    if (!p || strcmp(name, pay_provider_name(p))) {
        http_problem(r, 404, "Unknown provider", "no payment provider named '%s'", name);
        return;
    }
    h2o_req_t *req = r->req;
    size_t n;
    kyc_header* hs = acc_headers(r, &n);
    struct pay_event ev;
    char err[256] = "";
    int st = pay_webhook_read(p, hs, n, req->entity.base ? req->entity.base : "", req->entity.len,
                              acc_now_s(), &ev, err, sizeof err);
    free(hs);
    if (st != 0) {
        LOG_WARN("event=pay_webhook_refused status=%d err=\"%s\"", st, err);
        http_problem(r, st, "Webhook refused", "%s", err);
        return;
    }
    char idem[300], both[300];
    snprintf(idem, sizeof idem, "pay:%s:%s", name, ev.event_id);
    snprintf(both, sizeof both, "%s %s", name, ev.event_id);
    acc_submit(r, CMD_PAY_EVENT,
               wallet_cmd_pay_event(name, ev.event_id, pay_event_kind_name(ev.kind), ev.object_id,
                                    ev.reference, ev.amount, ev.account),
               idem, "pay-event", both);
}

/* ---- sport clusters ---- */

/* The calling sport cluster (into @cluster) if the request is signed by a registered member's
 * key within SPORT_SKEW_S of our clock; otherwise answers 401/403 and returns false. */
static bool sport_caller(struct http_req *r, const char *method, const char *path,
                         char cluster[40])
{
    char ts[24], sig[160];
    if (!http_header_get(r, "parlay-cluster", cluster, 40) ||
        !http_header_get(r, "parlay-timestamp", ts, sizeof ts) ||
        !http_header_get(r, "parlay-signature", sig, sizeof sig)) {
        http_problem(r, 401, "Sport cluster signature required",
                     "sign the request with a member's key (parlay-cluster, parlay-timestamp, "
                     "parlay-signature)");
        return false;
    }
    char *end;
    long long t = strtoll(ts, &end, 10);
    long long now = (long long)acc_now_s();
    if (*end || end == ts || t < now - SPORT_SKEW_S || t > now + SPORT_SKEW_S) {
        http_problem(r, 401, "Stale signature", "parlay-timestamp %s is not within %d s of %lld",
                     ts, SPORT_SKEW_S, now);
        return false;
    }
    MDB_txn *txn = read_begin(r);
    if (!txn)
        return false;
    json_t *c = wallet_cluster_get(r->node->fsm, txn, cluster);
    fsm_read_end(txn);
    if (!c) {
        http_problem(r, 403, "Unknown sport cluster",
                     "sport cluster '%s' is not registered here", cluster);
        return false;
    }
    uint8_t digest[32];
    h2o_req_t *req = r->req;
    wallet_request_digest(cluster, ts, method, path, req->entity.base ? req->entity.base : "",
                          req->entity.len, digest);
    bool ok = false;
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(c, "keys"), i, k) ok =
        ok || agr_verify(json_string_value(k), sig, digest);
    json_decref(c);
    if (!ok)
        http_problem(r, 403, "Bad signature",
                     "the signature matches no registered key of sport cluster '%s'", cluster);
    return ok;
}

/* A signed sport cluster's POST body (the caller into @cluster), or NULL once refused. */
static json_t *sport_body(struct http_req *r, const char *path, char cluster[40])
{
    return sport_caller(r, "POST", path, cluster) ? routes_body(r) : NULL;
}

static void do_hold_place(struct http_req *r, const char *path)
{
    char cluster[40];
    json_t *b = sport_body(r, path, cluster);
    if (!b)
        return;
    const char *hid = json_string_value(json_object_get(b, "hold_id")),
               *pid = json_string_value(json_object_get(b, "player_id"));
    int64_t amount, timeout;
    if (!wallet_id_valid(hid) || !accounts_player_id_valid(pid)) {
        http_problem(r, 422, "Invalid hold", "hold_id (1 to 80 of A-Z a-z 0-9 _ - . :) and "
                                             "player_id are required");
    } else if (amount_field(r, b, "amount", 1, &amount) &&
               amount_field(r, b, "timeout_ms", 1000, &timeout)) {
        char idem[300], subj[300];
        /* The key names every field: the same hold with other fields reaches apply, which
         * answers hold_exists (a key reused with another request would be a 422). */
        snprintf(idem, sizeof idem, "hold:%s:%s:%s:%lld:%lld", cluster, hid, pid,
                 (long long)amount, (long long)timeout);
        snprintf(subj, sizeof subj, "%s %s %s %lld %lld", cluster, hid, pid, (long long)amount,
                 (long long)timeout);
        acc_submit(r, CMD_HOLD_PLACE,
                   wallet_cmd_hold_place(hid, pid, cluster, amount, (uint64_t)timeout), idem,
                   "hold-place", subj);
    }
    json_decref(b);
}

static void do_hold_resolve(struct http_req *r, const char *path, const char *hid, bool post)
{
    char cluster[40];
    if (!sport_caller(r, "POST", path, cluster))
        return;
    json_t *b = post ? routes_body(r) : NULL;
    if (post && !b)
        return;
    int64_t stake = 0, payout = 0;
    if (post && (!amount_field(r, b, "stake", 1, &stake) ||
                 !amount_field(r, b, "payout", 0, &payout))) {
        json_decref(b);
        return;
    }
    json_decref(b);
    /* The same resolve again gets the first answer from the hold itself (apply), so the key
     * only spares a second Raft entry within the idempotency window. */
    char idem[300], subj[300];
    snprintf(idem, sizeof idem, "hold-%s:%s:%s:%lld:%lld", post ? "post" : "void", cluster, hid,
             (long long)stake, (long long)payout);
    snprintf(subj, sizeof subj, "%s %s", cluster, hid);
    acc_submit(r, post ? CMD_HOLD_POST : CMD_HOLD_VOID,
               post ? wallet_cmd_hold_post(hid, cluster, stake, payout)
                    : wallet_cmd_hold_void(hid, cluster),
               idem, post ? "hold-post" : "hold-void", subj);
}

/* POST /internal/v1/holds/{id}/resettle {generation, stake, payout, reason} (a sport cluster,
 * signed): the bet was settled again after a corrected result (consensus/wallet_resettle.c). */
static void do_hold_resettle(struct http_req *r, const char *path, const char *hid)
{
    char cluster[40];
    json_t *b = sport_body(r, path, cluster);
    if (!b)
        return;
    int64_t gen, stake, payout;
    const char *reason = json_string_value(json_object_get(b, "reason"));
    if (!reason || !reason[0] || strlen(reason) > 500) {
        http_problem(r, 422, "Invalid re-settlement", "reason: a text of 1 to 500 bytes");
    } else if (amount_field(r, b, "generation", 1, &gen) &&
               amount_field(r, b, "stake", 0, &stake) &&
               amount_field(r, b, "payout", 0, &payout)) {
        char idem[300], subj[300];
        snprintf(idem, sizeof idem, "hold-resettle:%s:%s:%lld:%lld:%lld", cluster, hid,
                 (long long)gen, (long long)stake, (long long)payout);
        snprintf(subj, sizeof subj, "%s %s %lld", cluster, hid, (long long)gen);
        acc_submit(r, CMD_HOLD_RESETTLE,
                   wallet_cmd_hold_resettle(hid, cluster, gen, stake, payout, reason), idem,
                   "hold-resettle", subj);
    }
    json_decref(b);
}

/* POST /internal/v1/hold-batches {items: [{op: place|post|void, hold_id, ...}]}: many hold
 * operations in one command (CMD_HOLD_BATCH), each with the single call's rules and its own
 * answer in "results" (a refused item does not refuse the others). The key is the digest of
 * the items: the same batch again within the window answers the first result without a new
 * entry, and otherwise apply answers each item as the first time (idempotent by hold id). */
static void do_hold_batch(struct http_req *r, const char *path)
{
    char cluster[40];
    json_t *b = sport_body(r, path, cluster);
    if (!b)
        return;
    json_t *items = json_object_get(b, "items");
    const char *key;
    json_t *v;
    bool extra = false;
    json_object_foreach(b, key, v) extra = extra || strcmp(key, "items");
    if (extra || !json_is_array(items) || json_array_size(items) < 1 ||
        json_array_size(items) > WALLET_HOLD_BATCH_MAX) {
        http_guard_problem(r, 422, "Invalid hold batch", "invalid_batch",
                           "the body is {items: [...]}, 1 to %d hold operations {op: "
                           "place|post|void, hold_id, ...}",
                           WALLET_HOLD_BATCH_MAX);
        json_decref(b);
        return;
    }
    char *text = json_dumps(items, JSON_COMPACT | JSON_SORT_KEYS);
    char digest[65], idem[300];
    acc_sha256_hex(cluster, text, digest);
    free(text);
    snprintf(idem, sizeof idem, "hold-batch:%s:%s", cluster, digest);
    acc_submit(r, CMD_HOLD_BATCH, wallet_cmd_hold_batch(cluster, items), idem, "hold-batch",
               digest);
    json_decref(b);
}

static void serve_hold(struct http_req *r, const char *path, const char *hid)
{
    char cluster[40];
    if (!sport_caller(r, "GET", path, cluster))
        return;
    MDB_txn *txn = read_begin(r);
    if (!txn)
        return;
    json_t *h = wallet_id_valid(hid) ? wallet_hold_get(r->node->fsm, txn, hid) : NULL;
    fsm_read_end(txn);
    const char *c = json_string_value(json_object_get(h, "cluster"));
    if (!h || !c || strcmp(c, cluster))
        http_problem(r, 404, "No such hold", "cluster '%s' has no hold '%s'", cluster, hid);
    else
        http_reply_json(r, 200, json_incref(h));
    json_decref(h);
}

/* GET /internal/v1/holds?after=&limit=[&consistency=linearizable] (signed by a sport
 * cluster, checked before the read: routes_wallet): its holds, for its audit. Linearizable,
 * the leader answers after a barrier, so a hold posted or voided before the call is seen so
 * (a follower a moment behind would show it pending). */
static void serve_holds(struct http_req *r)
{
    char cluster[40], after[128] = "", lim[8] = "";
    http_header_get(r, "parlay-cluster", cluster, sizeof cluster);
    struct query_want w[] = {{"after", after, sizeof after, 0}, {"limit", lim, sizeof lim, 0}};
    if (query_params(r, w, 2) < 0)
        return;
    char *end;
    unsigned long limit = w[1].got ? strtoul(lim, &end, 10) : 500;
    if (w[1].got && (*end || limit < 1 || limit > 1000)) {
        http_problem(r, 400, "Bad query", "limit: an integer from 1 to 1000");
        return;
    }
    MDB_txn *txn = read_begin(r);
    if (!txn)
        return;
    json_t *page = wallet_holds_page(r->node->fsm, txn, cluster, after, (unsigned)limit);
    fsm_read_end(txn);
    http_reply_json(r, 200, page);
}

/* ---- operators ---- */

static json_t* read_check(struct http_req* r, MDB_txn* txn, const void* arg)
{
    (void)arg;
    json_t* c = wallet_check(r->node->fsm, txn);
    json_object_set_new(c, "node", json_integer((json_int_t)r->node->cfg.node_id));
    return c;
}

static void serve_check(struct http_req *r)
{
    routes_reply_read(r, read_check, NULL);
}

static json_t* read_trj(struct http_req* r, MDB_txn* txn, const void* arg)
{
    return wallet_trj(r->node->fsm, txn, *(const int*)arg);
}

static json_t* read_clusters(struct http_req* r, MDB_txn* txn, const void* arg)
{
    (void)arg;
    return json_pack("{s:o}", "clusters", wallet_clusters(r->node->fsm, txn));
}

/* GET /admin/v1/ledger/trj[?year=] (an operator) and GET /internal/v1/trj[?year=] (a sport
 * cluster, signed: its return-to-player governor, consensus/governor.h). The year by default is
 * this node's current UTC year. */
static void serve_trj(struct http_req *r, const char *internal_path)
{
    char buf[16], cluster[40];
    if (internal_path && !sport_caller(r, "GET", internal_path, cluster))
        return;
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    int year = tm.tm_year + 1900;
    if (http_query_get(r, "year", buf, sizeof buf) &&
        (sscanf(buf, "%d", &year) != 1 || year < 2000 || year > 9999)) {
        http_problem(r, 400, "Invalid parameter", "year must be 2000 to 9999");
        return;
    }
    routes_reply_read(r, read_trj, &year);
}

static void serve_wallet_admin(struct http_req *r, const char *player)
{
    MDB_txn *txn = read_begin(r);
    if (!txn)
        return;
    json_t *p = accounts_player_id_valid(player) ? accounts_player_get(r->node->fsm, txn, player)
                                                 : NULL;
    if (!p) {
        fsm_read_end(txn);
        http_problem(r, 404, "No such player", "player '%s' does not exist", player);
        return;
    }
    json_decref(p);
    char acct[160];
    snprintf(acct, sizeof acct, "player:%s", player);
    json_t *v = wallet_view(r->node->fsm, txn, player, now_ms());
    json_object_set_new(v, "statement", wallet_statement(r->node->fsm, txn, acct, 0, 500));
    fsm_read_end(txn);
    http_reply_json(r, 200, v);
}

/* An operator's write: on the leader (a follower sends the request itself there). */
static void admin_write(struct http_req *r, uint16_t type, json_t *payload, const char *what,
                        const char *subject)
{
    char idem[256];
    if (!acc_idem_key(r, "admin", idem)) {
        json_decref(payload);
        return;
    }
    char *text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
    char subj[1200];
    snprintf(subj, sizeof subj, "%s %s", subject, text);
    free(text);
    LOG_INFO("event=operator_%s subject=%s", what, subject);
    acc_submit(r, type, payload, idem, what, subj);
}

/* An operator's body, on the leader (a follower sends the request itself there), or NULL once
 * answered. */
static json_t *admin_body(struct http_req *r)
{
    return acc_on_leader(r) ? routes_body(r) : NULL;
}

static void do_correction(struct http_req *r)
{
    json_t *b = admin_body(r);
    if (!b)
        return;
    json_t *amt = json_object_get(b, "amount");
    const char *f[] = {"id", "debit", "credit", "corrects", "reason"};
    for (int i = 0; i < 5; i++)
        if (!json_is_string(json_object_get(b, f[i]))) {
            http_problem(r, 422, "Invalid correction", "%s is required (a string)", f[i]);
            json_decref(b);
            return;
        }
    if (!json_is_integer(amt)) {
        http_problem(r, 422, "Invalid correction", "amount is required (cents)");
        json_decref(b);
        return;
    }
    json_t *cmd = wallet_cmd_correct(
        json_string_value(json_object_get(b, "id")), json_string_value(json_object_get(b, "debit")),
        json_string_value(json_object_get(b, "credit")), (int64_t)json_integer_value(amt),
        json_string_value(json_object_get(b, "corrects")),
        json_string_value(json_object_get(b, "reason")));
    json_decref(b);
    admin_write(r, CMD_WALLET_CORRECT, cmd, "correction", "ledger");
}

static void do_block(struct http_req *r, const char *player)
{
    json_t *b = admin_body(r);
    if (!b)
        return;
    json_t *bl = json_object_get(b, "blocked");
    const char *reason = json_string_value(json_object_get(b, "reason"));
    if (!json_is_boolean(bl) || !reason) {
        http_problem(r, 422, "Invalid decision", "blocked (true/false) and a reason are required");
        json_decref(b);
        return;
    }
    json_t *cmd = wallet_cmd_block(player, json_is_true(bl), reason);
    json_decref(b);
    admin_write(r, CMD_WALLET_BLOCK, cmd, "wallet_block", player);
}

static void do_cluster(struct http_req *r)
{
    json_t *b = admin_body(r);
    if (!b)
        return;
    const char *name = json_string_value(json_object_get(b, "name"));
    json_t *keys = json_object_get(b, "keys");
    if (!name || !json_is_array(keys)) {
        http_problem(r, 422, "Invalid sport cluster", "name and keys (an array) are required");
        json_decref(b);
        return;
    }
    json_t *cmd = wallet_cmd_cluster(name, json_incref(keys));
    char subj[64];
    snprintf(subj, sizeof subj, "%.40s", name);
    json_decref(b);
    admin_write(r, CMD_WALLET_CLUSTER, cmd, "sport_cluster", subj);
}

/* ---- routing ---- */

int routes_wallet(struct http_req *r, const char *method, const char *path)
{
    if (!r->node->accounts)
        return -1;
    char seg[128];
    if (!strcmp(path, "/v1/wallet")) {
        if (routes_method(r, method, "GET", "use GET"))
            routes_read(r, serve_wallet);
    } else if (!strcmp(path, "/v1/wallet/transactions")) {
        if (routes_method(r, method, "GET", "use GET"))
            routes_read(r, serve_transactions);
    } else if (!strcmp(path, "/v1/wallet/limits")) {
        if (routes_method(r, method, "POST", "use POST to set limits"))
            do_limits(r);
    } else if (!strcmp(path, "/v1/wallet/self-exclusion")) {
        if (routes_method(r, method, "POST", "use POST to exclude yourself"))
            do_exclude(r);
    } else if (!strcmp(path, "/v1/wallet/deposits")) {
        if (routes_method(r, method, "POST", "use POST to deposit"))
            do_deposit(r);
    } else if (!strcmp(path, "/v1/wallet/withdrawals")) {
        if (routes_method(r, method, "POST", "use POST to withdraw"))
            do_withdraw(r);
    } else if (routes_match1(path, "/v1/wallet/deposits", seg, sizeof seg)) {
        if (routes_method(r, method, "GET", "use GET"))
            serve_own(r, seg, true);
    } else if (routes_match1(path, "/v1/wallet/withdrawals", seg, sizeof seg)) {
        if (routes_method(r, method, "GET", "use GET"))
            serve_own(r, seg, false);
    } else if (routes_match1(path, "/v1/wallet/webhooks", seg, sizeof seg)) {
        if (routes_method(r, method, "POST", "use POST"))
            do_webhook(r, seg);
    } else if (!strcmp(path, "/internal/v1/hold-batches")) {
        if (routes_method(r, method, "POST", "use POST"))
            do_hold_batch(r, path);
    } else if (!strcmp(path, "/internal/v1/holds")) {
        char cluster[40];
        if (!strcmp(method, "GET")) {
            if (sport_caller(r, "GET", path, cluster)) /* signed first, then read */
                routes_read(r, serve_holds);
        } else if (routes_method(r, method, "POST", "use POST to place a hold, GET to list")) {
            do_hold_place(r, path);
        }
    } else if (!strncmp(path, "/internal/v1/holds/", 19) && path[19]) {
        const char *id = path + 19, *slash = strchr(id, '/');
        snprintf(seg, sizeof seg, "%.*s", (int)(slash ? slash - id : (long)strlen(id)), id);
        if (!slash) {
            if (routes_method(r, method, "GET", "use GET"))
                serve_hold(r, path, seg);
        } else if (!strcmp(slash, "/post") || !strcmp(slash, "/void")) {
            if (routes_method(r, method, "POST", "use POST"))
                do_hold_resolve(r, path, seg, !strcmp(slash, "/post"));
        } else if (!strcmp(slash, "/resettle")) {
            if (routes_method(r, method, "POST", "use POST"))
                do_hold_resettle(r, path, seg);
        } else {
            return -1;
        }
    } else if (!strcmp(path, "/admin/v1/ledger/check")) {
        if (routes_require_scope(r, "wallet") && routes_method(r, method, "GET", "use GET"))
            routes_read(r, serve_check);
    } else if (!strcmp(path, "/admin/v1/ledger/trj")) {
        if (routes_require_scope(r, "wallet") && routes_method(r, method, "GET", "use GET"))
            serve_trj(r, NULL);
    } else if (!strcmp(path, "/internal/v1/trj")) {
        if (routes_method(r, method, "GET", "use GET"))
            serve_trj(r, path);
    } else if (!strcmp(path, "/admin/v1/ledger/corrections")) {
        if (routes_require_scope(r, "wallet") && routes_method(r, method, "POST", "use POST"))
            do_correction(r);
    } else if (!strcmp(path, "/admin/v1/sport-clusters")) {
        if (!routes_require_scope(r, "cluster"))
            return 0;
        if (!strcmp(method, "GET"))
            routes_reply_read(r, read_clusters, NULL);
        else if (routes_method(r, method, "POST", "use GET to list, POST to register"))
            do_cluster(r);
    } else if (!strncmp(path, "/admin/v1/wallets/", 18) && path[18]) {
        const char *id = path + 18, *slash = strchr(id, '/');
        snprintf(seg, sizeof seg, "%.*s", (int)(slash ? slash - id : (long)strlen(id)), id);
        if (!routes_require_scope(r, "wallet"))
            return 0;
        if (!slash) {
            if (routes_method(r, method, "GET", "use GET"))
                serve_wallet_admin(r, seg);
        } else if (!strcmp(slash, "/block")) {
            if (routes_method(r, method, "POST", "use POST"))
                do_block(r, seg);
        } else {
            return -1;
        }
    } else {
        return -1;
    }
    return 0;
}

/* ---- the leader's work ---- */

struct payout_job {
    uv_work_t work;
    struct accounts *a;
    char id[WALLET_ID_MAX + 1];
    char account[160];
    int64_t amount;
    char callback[256];
    char *payout_id;
    char err[256];
    int rv;
};

static void expire_done(void *arg, int outcome, const struct fsm_result *res)
{
    struct accounts *a = arg;
    a->wallet_expiring = false;
    if (outcome == REPLICA_OK && res->status == 200)
        LOG_INFO("event=holds_expired %s", res->body);
}

static void close_done(void *arg, int outcome, const struct fsm_result *res)
{
    struct accounts *a = arg;
    a->wallet_closing = false;
    if (outcome == REPLICA_OK && res->status == 200)
        LOG_INFO("event=provisional_accounts_closed %s", res->body);
}

static void sent_done(void *arg, int outcome, const struct fsm_result *res)
{
    struct accounts *a = arg;
    a->wallet_sending = false;
    if (outcome != REPLICA_OK || res->status != 200)
        LOG_WARN("event=withdraw_sent_failed outcome=%d status=%d", outcome, res ? res->status : 0);
}

static void payout_work(uv_work_t *w)
{
    struct payout_job *j = w->data;
    j->rv = pay_payout_create(j->a->pay, j->amount, j->account, j->id, j->callback, j->id, 10000,
                              &j->payout_id, j->err, sizeof j->err);
}

static void payout_after(uv_work_t *w, int status)
{
    struct payout_job *j = w->data;
    struct accounts *a = j->a;
    struct node *n = a->node;
    if (status || j->rv || n->stopping || !replica_is_leader(n->replica)) {
        if (status || j->rv)
            LOG_WARN("event=payout_send_failed withdrawal=%s err=\"%s\"", j->id,
                     status ? "cancelled" : j->err);
        a->wallet_sending = false;
        a->wallet_retry_ms = replica_now_ms(n->replica) + 2000;
    } else {
        json_t *p = wallet_cmd_withdraw_sent(j->id, j->payout_id);
        char *text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(p);
        struct cmd c = {.type = CMD_WITHDRAW_SENT, .payload = text, .payload_len = strlen(text)};
        if (replica_propose(n->replica, &c, sent_done, a) != REPLICA_OK)
            a->wallet_sending = false;
        free(text);
    }
    free(j->payout_id);
    free(j);
}

static void ban_swept(void *arg, int outcome, const struct fsm_result *res)
{
    (void)arg;
    if (outcome == REPLICA_OK && res->status == 200)
        LOG_INFO("event=ban_list_applied %s", res->body);
    else
        LOG_WARN("event=ban_list_apply_failed outcome=%d", outcome);
}

/* The leader's ban-list sweep: whenever the list changed (and every BAN_SWEEP_MS besides, for
 * identities verified meanwhile), every player with a wallet profile is checked against it,
 * BAN_SWEEP_PAGE players per timer tick so that the loop never stalls on a big cluster: newly
 * listed ones are banned in the wallet (not only at their next sign-in: a session already open
 * must not go on betting), and those the list no longer names have the list's ban lifted.
 * Another source's ban is left alone. A list that changes mid-sweep restarts it. */
static void ban_sweep(struct accounts *a, uint64_t now)
{
    struct node *n = a->node;
    if (!a->ban)
        return;
    uint64_t gen = banlist_reloads(a->ban) + 1;
    if (gen != a->ban_gen || (!a->ban_sweeping && now >= a->ban_sweep_ms)) {
        a->ban_gen = gen;
        a->ban_sweep_ms = now + BAN_SWEEP_MS;
        a->ban_sweeping = true;
        a->ban_after[0] = 0;
    }
    if (!a->ban_sweeping)
        return;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return;
    json_t *page = wallet_profile_bans(n->fsm, txn, a->ban_after, BAN_SWEEP_PAGE), *e,
           *todo = json_array();
    size_t i;
    json_array_foreach(page, i, e)
    {
        const char *pid = json_string_value(json_object_get(e, "player_id")),
                   *source = json_string_value(json_object_get(e, "banned"));
        json_t *p = accounts_player_get(n->fsm, txn, pid);
        bool listed = p && acc_banned_player(n, p);
        json_decref(p);
        if (listed && !source)
            json_array_append_new(todo, wallet_cmd_ban(pid, true, "ban_list"));
        else if (!listed && source && !strcmp(source, "ban_list"))
            json_array_append_new(todo, wallet_cmd_ban(pid, false, "ban_list"));
        snprintf(a->ban_after, sizeof a->ban_after, "%s", pid);
    }
    fsm_read_end(txn);
    if (json_array_size(page) < BAN_SWEEP_PAGE)
        a->ban_sweeping = false; /* done until the list changes or the period is over */
    json_decref(page);
    json_array_foreach(todo, i, e)
    {
        char *text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
        struct cmd c = {.type = CMD_WALLET_BAN, .payload = text, .payload_len = strlen(text)};
        if (replica_propose(n->replica, &c, ban_swept, a) != REPLICA_OK)
            a->ban_sweep_ms = now; /* not leading any more, or busy: the next sweep redoes it */
        free(text);
    }
    json_decref(todo);
}

void wallet_on_timer(struct accounts *a)
{
    struct node *n = a->node;
    if (n->stopping || !replica_is_leader(n->replica))
        return;
    ban_sweep(a, now_ms());
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return;
    /* The time this leader stamps (a test may shift it: replica_set_clock_offset). */
    uint64_t now = replica_now_ms(n->replica), due = wallet_next_expiry(n->fsm, txn);
    /* Provisional accounts two months old: looked for every 10 minutes (a walk of the player
     * accounts with money), closed by a command stamped with this leader's time. */
    bool close = false;
    if (!a->wallet_closing && now >= a->wallet_close_ms) {
        a->wallet_close_ms = now + WALLET_CLOSE_CHECK_MS;
        close = wallet_close_due(n->fsm, txn, now);
    }
    json_t *todo = a->pay && !a->wallet_sending && now >= a->wallet_retry_ms
                       ? wallet_withdrawals_to_send(n->fsm, txn, 1)
                       : NULL;
    fsm_read_end(txn);
    if (due && due <= now && !a->wallet_expiring) {
        static const char empty[] = "{}";
        struct cmd c = {.type = CMD_HOLD_EXPIRE, .payload = empty, .payload_len = 2};
        a->wallet_expiring = replica_propose(n->replica, &c, expire_done, a) == REPLICA_OK;
    }
    if (close) {
        static const char empty[] = "{}";
        struct cmd c = {.type = CMD_WALLET_CLOSE, .payload = empty, .payload_len = 2};
        a->wallet_closing = replica_propose(n->replica, &c, close_done, a) == REPLICA_OK;
    }
    json_t *w = json_array_get(todo, 0);
    if (w) {
        struct payout_job *j = calloc(1, sizeof *j);
        j->a = a;
        snprintf(j->id, sizeof j->id, "%s", json_string_value(json_object_get(w, "id")));
        snprintf(j->account, sizeof j->account, "%s",
                 json_string_value(json_object_get(w, "account")));
        j->amount = (int64_t)json_integer_value(json_object_get(w, "amount"));
        webhook_url(n, j->callback, sizeof j->callback);
        a->wallet_sending = true;
        j->work.data = j;
        uv_queue_work(n->loop, &j->work, payout_work, payout_after);
    }
    json_decref(todo);
}

/* The wallet's metrics (accounts role): the return to player of this calendar year and the
 * last (parlay_trj_*, with the 85 % cap and an over-the-cap gauge to alert on) and the ban
 * list's. */
void wallet_metrics(struct node *n, char **buf, size_t *len, size_t *cap)
{
    if (!n->accounts)
        return;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return;
    time_t t = (time_t)(now_ms() / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    json_t *years[2] = {wallet_trj(n->fsm, txn, tm.tm_year + 1900),
                        wallet_trj(n->fsm, txn, tm.tm_year + 1899)};
    fsm_read_end(txn);
    metrics_printf(buf, len, cap,
                   "# TYPE parlay_trj_cap_ratio gauge\nparlay_trj_cap_ratio %.3f\n"
                   "# TYPE parlay_trj_ratio gauge\n",
                   WALLET_TRJ_CAP_PERMILLE / 1000.0);
    static const char *const series[] = {"ratio", "stakes_cents", "payouts_cents", "over_cap"};
    for (int s = 0; s < 4; s++) {
        if (s > 0)
            metrics_printf(buf, len, cap, "# TYPE parlay_trj_%s gauge\n", series[s]);
        for (int y = 0; y < 2; y++) {
            json_t *j = years[y];
            int year = (int)json_integer_value(json_object_get(j, "year"));
            if (s == 0)
                metrics_printf(buf, len, cap, "parlay_trj_ratio{year=\"%d\"} %.6f\n", year,
                               json_real_value(json_object_get(j, "trj")));
            else if (s == 3)
                metrics_printf(buf, len, cap, "parlay_trj_over_cap{year=\"%d\"} %d\n", year,
                               json_is_true(json_object_get(j, "over_cap")) ? 1 : 0);
            else
                metrics_printf(buf, len, cap, "parlay_trj_%s{year=\"%d\"} %lld\n", series[s],
                               year,
                               (long long)json_integer_value(
                                   json_object_get(j, s == 1 ? "stakes" : "payouts")));
        }
    }
    json_decref(years[0]);
    json_decref(years[1]);
    struct banlist *b = n->accounts->ban;
    const struct metric ms[] = {
        {"parlay_ban_list_entries", METRIC_GAUGE, banlist_size(b)},
        {"parlay_ban_list_reloads_total", METRIC_COUNTER, banlist_reloads(b)},
        {"parlay_ban_list_reload_failures_total", METRIC_COUNTER, banlist_reload_failures(b)},
        {"parlay_ban_refusals_total", METRIC_COUNTER, n->metrics.ban_refusals},
    };
    METRICS_PUT(buf, len, cap, ms);
}
