/* The one write path: every change a client asks of a node goes through here.
 *
 * The happy path. A handler parses and validates the request, does the slow or random part
 * where it was received (Argon2id, ids, tokens), and hands the prepared command (type,
 * payload, the namespaced Idempotency-Key, the fingerprint of what the client asked) to
 * write_submit together with how to render the result. On the leader: the idempotency record
 * is looked up (same key and fingerprint: the recorded answer again, marked replayed; same key,
 * other request: 422), the space quota is checked (507 while the cluster is read-only), the
 * command is proposed and, once a quorum committed and this node applied it, its result goes
 * to the renderer. On a follower the prepared command is posted to the leader's
 * POST /internal/v1/propose, which does the same and answers with the result; the follower
 * renders that answer. The command is never prepared twice, so a password is hashed on the
 * node that received it and a token's plaintext never leaves that node.
 *
 * Node to node. The forwarded body is {type, payload, idem, fp}. The follower signs it with
 * the members' shared secret: parlay-signature = HMAC-SHA256(secret, "parlay-propose-v1\n"
 * cluster "\n" timestamp "\n" body) and parlay-timestamp = its clock in unix seconds. The
 * leader recomputes the MAC over the exact bytes it received and compares in constant time,
 * refuses a timestamp more than WRITE_WINDOW_S away from its own clock (a captured request
 * cannot be replayed later; within the window the idempotency record answers a replay), and
 * accepts only the command types followers prepare (the whitelist below). The admin token
 * opens nothing here: operators act through their own admin routes, each audited.
 *
 * Failure modes. No leader known (election, no quorum) or the request already came from
 * another node: 503 "No leader" + Retry-After; nothing was sent. The leader could not be
 * reached and curl proves that no byte of the request left this node: 503 "Leader
 * unreachable", not applied. Anything else where no answer came back (the leader died, the
 * connection broke, a timeout, leadership lost while the entry was in flight): 503 "Outcome
 * unknown": it may or may not have been applied, the client retries with the same key and
 * the idempotency record tells. A bad signature: 401; a type followers never prepare: 403.
 */
#include "node/write.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/operators.h"
#include "node/forward.h"
#include "common/log.h"
#include "node/routes.h"

#define WRITE_WINDOW_S 30
#define WRITE_MAC_TAG "parlay-propose-v1"

/* The command types a follower prepares and the leader commits for it. Never the leader's own
 * (signing keys, agreed observations and quotes, membership, expiry) nor an operator's. */
static const uint16_t follower_types[] = {
    CMD_FIXTURE_CREATE, CMD_FIXTURE_UPDATE, CMD_MEMBER_KEY,
    CMD_PLAYER_REGISTER, CMD_LOGIN_FAILED, CMD_SESSION_CREATE, CMD_SESSION_REFRESH,
    CMD_SESSION_REVOKE, CMD_SESSION_REVOKE_ALL, CMD_TOTP_ENROL, CMD_TOTP_CONFIRM,
    CMD_FC_START, CMD_FC_LINK, CMD_DOC_SESSION, CMD_DOC_EVENT,
    CMD_WALLET_LIMITS, CMD_WALLET_EXCLUDE, CMD_DEPOSIT_OPEN, CMD_DEPOSIT_LINK, CMD_PAY_EVENT,
    CMD_WITHDRAW_OPEN, CMD_HOLD_PLACE, CMD_HOLD_POST, CMD_HOLD_VOID, CMD_WALLET_BAN, CMD_HOLD_BATCH,
    CMD_BET_PLACE, CMD_BET_CASHOUT, CMD_PASSWORD_CHANGE,
};

static bool follower_type(json_int_t type)
{
    for (size_t i = 0; i < sizeof follower_types / sizeof follower_types[0]; i++)
        if (type == follower_types[i])
            return true;
    return false;
}

/* A follower type, or an admin's command (CMD_ADMIN) wrapping one: the follower that
 * authenticated the admin vouches for the identity, as it does for a player's. */
static bool forwardable(json_int_t type, const char *payload, size_t len)
{
    if (follower_type(type))
        return true;
    unsigned inner = type == CMD_ADMIN ? operators_admin_type(payload, len) : 0;
    return inner && inner != CMD_ADMIN && follower_type(inner);
}

struct write {
    struct http_req *r;
    write_done_cb done;
    void *ctx;
    uint16_t type;
    char *payload;
    size_t len;
    char idem[256];
    uint8_t fp[32];
    struct write *next; /* the hold-batch queue (below) */
    bool counted;       /* its payload counts in hold_q.bytes */
};

/* Flow control for hold batches (CMD_HOLD_BATCH, each alone in its Raft entry, up to
 * WALLET_HOLD_BATCH_MAX items). Many sport leaders sending batches at once made many such
 * entries commit together, and the leader applied them all in one go: 64 clients with
 * batches of 32 stalled its loop past the election timeout ("No leader" for every client).
 * So at most HOLD_INFLIGHT_BYTES of hold-batch payload are proposed and not yet answered at a
 * time (always at least one batch); the others wait here, in arrival order, on the leader.
 * Per process: a parlayd runs one node. */
#define HOLD_INFLIGHT_BYTES (24 * 1024)
static struct {
    struct write *head, *tail;
    size_t bytes;
} hold_q;

static void write_free(struct write *w)
{
    free(w->payload);
    free(w);
}

void write_relay(struct http_req *r, int status, const char *body, const char *retry_after,
                 bool replayed)
{
    if (retry_after && retry_after[0])
        http_header(r, "retry-after", retry_after);
    if (replayed)
        http_header(r, "idempotent-replayed", "true");
    http_reply(r, status, status >= 400 ? "application/problem+json" : "application/json", body,
               strlen(body));
}

static void answer(struct write *w, int status, const char *body, const char *retry_after,
                   bool replayed)
{
    if (w->done)
        w->done(w->r, w->ctx, status, body, retry_after, replayed);
    else
        write_relay(w->r, status, body, retry_after, replayed);
    write_free(w);
}

/* Answer @w with a problem+json of our own. */
static void answer_problem(struct write *w, int status, const char *title, const char *retry,
                           const char *detail)
{
    struct fsm_result res = {0, NULL};
    fsm_result_problem(&res, status, title, "%s", detail);
    answer(w, status, res.body, retry, false);
    fsm_result_clear(&res);
}

static void outcome_unknown(struct write *w, const char *why)
{
    char detail[256];
    snprintf(detail, sizeof detail,
             "%s; it may or may not have been applied: retry with the same Idempotency-Key",
             why);
    w->r->node->metrics.outcome_unknown++;
    answer_problem(w, 503, "Outcome unknown", "1", detail);
}

bool write_idem_key(struct http_req *r, const char *ns, char out[256])
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

/* ---- on a follower: send the prepared command to the leader ---- */

static void mac(const struct node *n, const char *ts, const char *body, size_t len,
                uint8_t out[32])
{
    size_t tl = strlen(WRITE_MAC_TAG), cl = strlen(n->cfg.cluster), sl = strlen(ts);
    size_t total = tl + 1 + cl + 1 + sl + 1 + len;
    unsigned char *msg = malloc(total);
    unsigned char *p = msg;
    memcpy(p, WRITE_MAC_TAG "\n", tl + 1), p += tl + 1;
    memcpy(p, n->cfg.cluster, cl), p += cl;
    *p++ = '\n';
    memcpy(p, ts, sl), p += sl;
    *p++ = '\n';
    memcpy(p, body, len);
    unsigned int ol = 32;
    HMAC(EVP_sha256(), n->cfg.cluster_secret, sizeof n->cfg.cluster_secret, msg, total, out,
         &ol);
    free(msg);
}

static void hex32(const uint8_t in[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
}

void write_sign(const struct node *n, const char *body, size_t len, long long now,
                char ts_line[64], char sig_line[96])
{
    char ts[32], h[65];
    uint8_t m[32];
    snprintf(ts, sizeof ts, "%lld", now);
    mac(n, ts, body, len, m);
    hex32(m, h);
    snprintf(ts_line, 64, "parlay-timestamp: %s", ts);
    snprintf(sig_line, 96, "parlay-signature: %s", h);
}

static void on_forwarded(void *arg, long status, const char *body, size_t len,
                         const char *retry_after, bool replayed)
{
    (void)len;
    struct write *w = arg;
    if (status == 0)
        answer_problem(w, 503, "Leader unreachable", "1",
                       "the leader could not be reached and nothing was sent; retry shortly "
                       "with the same Idempotency-Key");
    else if (status < 0)
        outcome_unknown(w, "the leader did not answer");
    else
        answer(w, (int)status, body, retry_after, replayed);
}

static void forward(struct write *w)
{
    struct node *n = w->r->node;
    char addr[64];
    uint64_t leader = replica_leader(n->replica, addr, sizeof addr);
    if (w->r->forwarded || leader == 0 || leader == n->cfg.node_id || !addr[0]) {
        answer_problem(w, 503, "No leader", "1",
                       "the cluster has no leader at the moment (election in progress or no "
                       "quorum); retry shortly with the same Idempotency-Key");
        return;
    }
    if (!forwardable(w->type, w->payload, w->len)) {
        /* The leader's own or an operator's command: leadership moved while it was proposed. */
        answer_problem(w, 503, "No leader", "1",
                       "leadership is moving; retry shortly with the same Idempotency-Key");
        return;
    }
    char fph[65];
    hex32(w->fp, fph);
    json_t *body = json_pack("{s:i, s:s%, s:s, s:s}", "type", w->type, "payload", w->payload,
                             w->len, "idem", w->idem, "fp", fph);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        answer_problem(w, 500, "Not applied", NULL, "the command could not be encoded");
        return;
    }
    char ts_line[64], sig_line[96], idem_line[300];
    write_sign(n, text, strlen(text), (long long)time(NULL), ts_line, sig_line);
    snprintf(idem_line, sizeof idem_line, "idempotency-key: %s", w->idem);
    const char *headers[] = {"content-type: application/json", idem_line, ts_line, sig_line,
                             NULL};
    n->metrics.forwarded++;
    forward_post(n->fwd, addr, "/internal/v1/propose", headers, text, on_forwarded, w);
    free(text);
}

/* ---- on the leader: replay, quota, propose ---- */

static void propose(struct write *w);

/* @w's hold batch is answered: its bytes leave the window and the waiting batches that now
 * fit are proposed. */
static void hold_q_release(struct write *w)
{
    if (!w->counted)
        return;
    w->counted = false;
    hold_q.bytes -= w->len;
    while (hold_q.head && (hold_q.bytes == 0 || hold_q.bytes + hold_q.head->len <=
                                                   HOLD_INFLIGHT_BYTES)) {
        struct write *next = hold_q.head;
        hold_q.head = next->next;
        if (!hold_q.head)
            hold_q.tail = NULL;
        next->next = NULL;
        propose(next);
    }
}

static void on_proposed(void *arg, int outcome, const struct fsm_result *res)
{
    struct write *w = arg;
    hold_q_release(w);
    if (outcome == REPLICA_OK)
        answer(w, res->status, res->body ? res->body : "{}", NULL, false);
    else if (outcome == REPLICA_NOTLEADER)
        forward(w);
    else if (outcome == REPLICA_UNKNOWN)
        outcome_unknown(w, "leadership changed while the request was in flight");
    else if (outcome == REPLICA_BUSY)
        answer_problem(w, 409, "Busy", "1", "another change is in progress; retry shortly");
    else
        answer_problem(w, 503, "Not applied", "1", "the request could not be replicated");
}

char *write_admin_wrap(struct http_req *r, uint16_t type, const char *payload, size_t len)
{
    if (!r->actor_kind[0] || type == CMD_ADMIN || !r->req)
        return NULL;
    /* An admin's command: applied with its audit record (consensus/operators.c). */
    size_t n;
    return operators_admin_wrap(r->actor_kind, r->actor_id, r->req->method.base,
                                r->req->method.len, r->req->path_normalized.base,
                                r->req->path_normalized.len, type, payload, len, &n);
}

void write_submit(struct http_req *r, uint16_t type, const char *payload, size_t len,
                  const char *idem, const uint8_t fp[32], write_done_cb done, void *ctx)
{
    struct node *n = r->node;
    struct write *w = calloc(1, sizeof *w);
    w->r = r;
    w->done = done;
    w->ctx = ctx;
    w->type = type;
    char *wrapped = write_admin_wrap(r, type, payload, len);
    if (wrapped) {
        w->type = CMD_ADMIN;
        payload = wrapped;
        len = strlen(wrapped);
    }
    w->payload = malloc(len + 1);
    memcpy(w->payload, payload, len);
    w->payload[len] = 0;
    w->len = len;
    free(wrapped);
    snprintf(w->idem, sizeof w->idem, "%s", idem);
    memcpy(w->fp, fp, 32);
    snprintf(r->idem_key, sizeof r->idem_key, "%s", w->idem);
    memcpy(r->fingerprint, fp, 32);
    if (!replica_is_leader(n->replica)) {
        forward(w);
        return;
    }
    struct fsm_result prev = {0, NULL};
    uint8_t pfp[32];
    if (fsm_idem_get(n->fsm, w->idem, strlen(w->idem), pfp, &prev) == 1) {
        n->metrics.idem_replays++;
        if (CRYPTO_memcmp(pfp, w->fp, 32) != 0)
            answer_problem(w, 422, "Idempotency key reused", NULL,
                           "this Idempotency-Key was already used for a different request");
        else
            answer(w, prev.status, prev.body, NULL, true);
        fsm_result_clear(&prev);
        return;
    }
    if (!fsm_space_ok(n->fsm)) {
        size_t used, map, quota;
        fsm_space(n->fsm, &used, &map, &quota);
        n->metrics.quota_refusals++;
        char detail[256];
        snprintf(detail, sizeof detail,
                 "the space quota is exhausted (%zu of %zu bytes used); the cluster accepts "
                 "reads only until space is freed or the map is grown",
                 used, quota);
        answer_problem(w, 507, "Cluster read-only", NULL, detail);
        return;
    }
    propose(w);
}

/* Propose @w (leader, checks done), or queue it behind the hold batches in flight. */
static void propose(struct write *w)
{
    struct node *n = w->r->node;
    if (w->type == CMD_HOLD_BATCH) {
        if (hold_q.bytes > 0 && hold_q.bytes + w->len > HOLD_INFLIGHT_BYTES) {
            if (hold_q.tail)
                hold_q.tail->next = w;
            else
                hold_q.head = w;
            hold_q.tail = w;
            return;
        }
        hold_q.bytes += w->len;
        w->counted = true;
    }
    struct cmd c = {.type = w->type,
                    .idem = w->idem,
                    .idem_len = strlen(w->idem),
                    .payload = w->payload,
                    .payload_len = w->len};
    memcpy(c.fingerprint, w->fp, 32);
    n->metrics.proposals++;
    int rv = replica_propose(n->replica, &c, on_proposed, w);
    if (rv != REPLICA_OK)
        on_proposed(w, rv, NULL);
}

/* ---- POST /internal/v1/propose on the leader ---- */

static bool unhex32(const char *h, uint8_t out[32])
{
    if (!h || strlen(h) != 64)
        return false;
    for (int i = 0; i < 32; i++)
        if (sscanf(h + 2 * i, "%2hhx", &out[i]) != 1)
            return false;
    return true;
}

/* True if @r carries a valid member signature over its body, answering 401 if not. */
static bool member_signed(struct http_req *r)
{
    struct node *n = r->node;
    char ts[32], sig[80];
    uint8_t given[32], want[32];
    const h2o_iovec_t body = r->req ? r->req->entity : h2o_iovec_init(NULL, 0);
    if (!http_header_get(r, "parlay-timestamp", ts, sizeof ts) ||
        !http_header_get(r, "parlay-signature", sig, sizeof sig)) {
        http_header(r, "www-authenticate", "Parlay-HMAC");
        http_problem(r, 401, "Member signature required",
                     "this endpoint takes commands from members of this cluster only: "
                     "parlay-timestamp and parlay-signature are required");
        return false;
    }
    char *end;
    long long t = strtoll(ts, &end, 10);
    long long now = (long long)time(NULL);
    if (!ts[0] || *end || t < now - WRITE_WINDOW_S || t > now + WRITE_WINDOW_S) {
        http_problem(r, 401, "Stale member signature",
                     "parlay-timestamp must be within %d s of this node's clock",
                     WRITE_WINDOW_S);
        return false;
    }
    mac(n, ts, body.base ? body.base : "", body.len, want);
    bool ok = unhex32(sig, given);
    /* Always compare, so that the time taken does not tell a malformed MAC from a wrong one. */
    if (CRYPTO_memcmp(given, want, 32) != 0 || !ok) {
        LOG_WARN("event=internal_propose_refused reason=signature");
        http_problem(r, 401, "Bad member signature",
                     "parlay-signature does not match the request with this cluster's secret");
        return false;
    }
    return true;
}

static void do_internal_propose(struct http_req *r)
{
    if (!member_signed(r))
        return;
    json_t *body = routes_body(r);
    if (!body)
        return;
    json_int_t type = json_integer_value(json_object_get(body, "type"));
    json_t *pl = json_object_get(body, "payload");
    const char *idem = json_string_value(json_object_get(body, "idem"));
    uint8_t fp[32];
    bool ok = json_is_integer(json_object_get(body, "type")) && json_is_string(pl) && idem &&
              strlen(idem) > 0 && strlen(idem) < 250 &&
              unhex32(json_string_value(json_object_get(body, "fp")), fp);
    if (!ok) {
        http_problem(r, 422, "Invalid proposal",
                     "needs {type (a command followers prepare), payload (JSON text), idem, fp}");
    } else if (!forwardable(type, json_string_value(pl), json_string_length(pl))) {
        LOG_WARN("event=internal_propose_refused reason=type type=%lld", (long long)type);
        http_problem(r, 403, "Command not accepted",
                     "command type %lld is never prepared by a follower", (long long)type);
    } else {
        write_submit(r, (uint16_t)type, json_string_value(pl), json_string_length(pl), idem,
                     fp, NULL, NULL);
    }
    json_decref(body);
}

int routes_internal(struct http_req *r, const char *method, const char *path)
{
    if (strcmp(path, "/internal/v1/propose") != 0)
        return -1;
    if (routes_method(r, method, "POST", "use POST"))
        do_internal_propose(r);
    return 0;
}
