/* Agreed observations: the first user of the agreement engine (consensus/agreement.h;
 * DESIGN.md, "Agreement").
 *
 * Node side. A sport node with a `feed_url` reads its provider on its loop (feed_open). Every
 * observation is encoded (feed_encode), signed with the node's secp256k1 key (ECDSA, low-s,
 * over obs_digest: SHA-256 of "parlay-observation-v1" NUL cluster NUL subject NUL bytes) and
 * put in the engine's outbox, which sends {node_id, subject, bytes, signature} to the leader's
 * POST /internal/v1/observations. An entry stays in the outbox until the agreed record for
 * its subject appears in the local state machine (bytes that differ from it are still
 * delivered once, so that the leader flags the dissent); it is sent again whenever the leader
 * (or its term) changes or the last send was not accepted. The node also makes sure its public
 * key is in the replicated state (CMD_MEMBER_KEY through POST /internal/v1/member-key, admin
 * token), with its proof: a signature by the key itself (consensus/observations.h).
 *
 * Leader side. The handler parses and checks a message (the engine checks the sender's
 * membership and signature, this file that the bytes are an observation about the subject)
 * and the engine counts it: once the voters of the current configuration that sent identical
 * bytes are a majority, CMD_OBSERVATION_AGREED is proposed with those bytes and the quorum's
 * signatures. A node whose bytes differ from the agreed ones is a dissenter
 * (parlay_observation_dissent_total, a log line, the admin status). The first report of a
 * dangerous live event not yet agreed is announced to whoever subscribed (n->on_dangerous:
 * the quotes, which suspend the game's markets).
 */
#include <jansson.h>
#include <secp256k1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/agreement.h"
#include "consensus/members.h"
#include "consensus/observations.h"
#include "feed/feed.h"
#include "node/agree_env.h"
#include "node/forward.h"
#include "node/key.h"
#include "common/log.h"
#include "node/node.h"
#include "node/routes.h"

#define AGREE_TICK_MS 200
#define AGREE_DANGEROUS 1u    /* the engine's flag for a dangerous event */

_Static_assert(FEED_SUBJECT_MAX <= AGR_SUBJECT_MAX, "an observation subject is an engine subject");

struct agree {
    struct node *node;
    secp256k1_context *ctx;
    unsigned char sk[32];
    struct feed_provider *feed;
    uv_timer_t timer;
    struct agr *agr;
    bool key_inflight;
    uint64_t key_retry_ms;             /* after a refusal, not before this (loop clock) */
    char key_body[512], key_idem[200]; /* this node's proven key registration */
};

static struct agree *A(struct node *n)
{
    return n->agree;
}

/* ---- the engine's callbacks ------------------------------------------------------------- */

static void obs_digest_hex(void *arg, const char *subject, uint64_t round, const char *hex,
                           uint8_t out[32])
{
    (void)round;
    struct node *n = arg;
    uint8_t bytes[FEED_ENCODED_MAX];
    int len = obs_hex_decode(hex, bytes, sizeof bytes);
    obs_digest(n->cfg.cluster, subject, bytes, len > 0 ? (size_t)len : 0, out);
}

static char *agreed_bytes(void *arg, const char *subject)
{
    struct node *n = arg;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return NULL;
    json_t *rec = obs_agreed_get(n->fsm, txn, subject);
    fsm_read_end(txn);
    const char *hex = json_string_value(json_object_get(rec, "bytes"));
    char *out = hex ? strdup(hex) : NULL;
    json_decref(rec);
    return out;
}

/* Done once the agreed record is here; bytes that differ from it are still sent once, so
 * that the leader hears (and flags) the dissent. */
static bool settled(void *arg, const char *subject, uint64_t round, const char *hex,
                    bool delivered)
{
    (void)round;
    char *agreed = agreed_bytes(arg, subject);
    bool done = agreed && (delivered || !strcmp(agreed, hex));
    free(agreed);
    return done;
}

static int send_obs(void *arg, const struct agr_entry *e, const struct agr_ticket *t)
{
    struct node *n = arg;
    json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "node_id", (json_int_t)n->cfg.node_id,
                          "subject", e->subject, "bytes", e->text, "signature", e->sig);
    return agree_env_send(n, A(n)->agr, "/internal/v1/observations", o, t);
}

struct prop_ctx {
    struct node *node;
    char subject[FEED_SUBJECT_MAX];
};

static void on_proposed(void *arg, int outcome, const struct fsm_result *res)
{
    struct prop_ctx *pc = arg;
    struct node *n = pc->node;
    if (!n->stopping && A(n)) {
        bool ok = outcome == REPLICA_OK && res && res->status < 300;
        json_t *b = ok ? json_loads(res->body, 0, NULL) : NULL;
        const char *hex = json_string_value(json_object_get(b, "bytes"));
        agr_proposed(A(n)->agr, pc->subject, 0, ok && hex, false, hex);
        json_decref(b);
    }
    free(pc);
}

static int propose(void *arg, const char *subject, uint64_t round, const char *hex, json_t *sigs)
{
    (void)round;
    struct node *n = arg;
    struct cmd c;
    char *text = obs_cmd_agreed(&c, subject, hex, sigs);
    struct prop_ctx *pc = calloc(1, sizeof *pc);
    pc->node = n;
    snprintf(pc->subject, sizeof pc->subject, "%s", subject);
    int rv = replica_propose(n->replica, &c, on_proposed, pc);
    free(text);
    if (rv != 0) {
        free(pc);
        return -1;
    }
    LOG_DEBUG("event=observation_propose subject=%s", subject);
    uint8_t bytes[FEED_ENCODED_MAX];
    int len = n->on_event_proposed ? obs_hex_decode(hex, bytes, sizeof bytes) : -1;
    struct feed_obs o;
    struct feed_error fe = {0};
    if (len > 0 && feed_decode(bytes, (size_t)len, &o, &fe) == 0 && o.kind == FEED_EVENT)
        n->on_event_proposed(n, o.u.event.fixture, subject);
    return 0;
}

static void on_event(void *arg, enum agr_event ev, const char *subject, uint64_t round,
                     uint64_t node, const char *text)
{
    (void)round;
    struct node *n = arg;
    if (ev == AGR_EV_DISSENT)
        LOG_WARN("event=observation_dissent node=%llu subject=%s bytes=%s",
                 (unsigned long long)node, subject, text);
    else if (ev == AGR_EV_AGREED)
        LOG_INFO("event=observation_agreed subject=%s", subject);
    else if (ev == AGR_EV_STALLED)
        LOG_ERROR("event=agreement_stalled subject=%s variants=%llu waited_s=%u", subject,
                  (unsigned long long)node, n->cfg.agreement_alert_s);
}

/* ---- node side -------------------------------------------------------------------------- */

static bool key_registered(struct node *n)
{
    MDB_txn *txn;
    char pk[67];
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return false;
    int rv = obs_member_key(n->fsm, txn, n->cfg.node_id, pk);
    fsm_read_end(txn);
    return rv == 0 && !strcmp(pk, n->public_key);
}

static void on_key_sent(void *arg, long status, const char *body, size_t len)
{
    (void)len;
    struct node *n = arg;
    if (n->stopping || !A(n))
        return;
    A(n)->key_inflight = false;
    if (status == 403) {
        /* Another key is registered for this id (this node lost its key): only the old key
         * can sign the change. The operator removes the member and adds it under a new id
         * (README, "Agreed observations"); until then ask again now and then. */
        A(n)->key_retry_ms = uv_now(n->loop) + 10000;
        LOG_ERROR("event=member_key_refused status=%ld body=%.200s", status, body);
    } else if (status != 200 && status != 201) {
        LOG_DEBUG("event=member_key_send status=%ld body=%.200s", status, body);
    }
}

static void pump(struct node *n)
{
    struct agree *a = A(n);
    char addr[64];
    uint64_t leader = replica_leader(n->replica, addr, sizeof addr);
    if (leader != 0 && addr[0] && !a->key_inflight && uv_now(n->loop) >= a->key_retry_ms &&
        !key_registered(n)) {
        a->key_inflight = true;
        forward_send(n->fwd, addr, "/internal/v1/member-key", a->key_idem, a->key_body,
                     on_key_sent, n);
    }
    agr_outbox_pump(a->agr);
}

static void on_tick(uv_timer_t *t)
{
    struct node *n = t->data;
    if (n->stopping)
        return;
    pump(n);
    /* A proposal that failed while this node stayed leader is retried here (the senders
     * will not resend to the same leader and term), and the stall alert raised. */
    agr_tick(A(n)->agr);
}

static void on_obs(void *arg, const struct feed_obs *obs)
{
    struct node *n = arg;
    struct agree *a = A(n);
    uint8_t bytes[FEED_ENCODED_MAX];
    struct feed_error fe = {0};
    int len = feed_encode(obs, bytes, sizeof bytes, &fe);
    char subject[FEED_SUBJECT_MAX];
    if (len <= 0 || feed_obs_subject(obs, subject, sizeof subject) < 0) {
        LOG_WARN("event=observation_unencodable err=\"%s\"", fe.msg);
        return;
    }
    uint8_t digest[32];
    char hex[2 * FEED_ENCODED_MAX + 1], sig[AGR_SIG_HEX];
    obs_digest(n->cfg.cluster, subject, bytes, (size_t)len, digest);
    if (!agree_sign(a->ctx, a->sk, digest, sig))
        return;
    obs_hex_encode(bytes, (size_t)len, hex);
    agr_outbox_put(a->agr, subject, 0, hex, sig); /* a provider's correction replaces it */
    LOG_DEBUG("event=observation subject=%s", subject);
    pump(n);
}

static void on_feed_error(void *arg, const struct feed_error *err)
{
    (void)arg;
    LOG_DEBUG("event=feed_error code=%d err=\"%s\"", err->code, err->msg);
}

/* ---- leader side ------------------------------------------------------------------------ */

static bool dangerous_event(enum feed_event_type t)
{
    return t == FEED_GOAL || t == FEED_OWN_GOAL || t == FEED_PENALTY_AWARDED ||
           t == FEED_PENALTY_SCORED || t == FEED_PENALTY_MISSED || t == FEED_RED_CARD;
}

static void do_observation(struct http_req *r)
{
    struct node *n = r->node;
    struct agree *a = A(n);
    json_t *body = routes_body(r);
    if (!body)
        return;
    json_t *jid = json_object_get(body, "node_id");
    const char *subject = json_string_value(json_object_get(body, "subject"));
    const char *hex = json_string_value(json_object_get(body, "bytes"));
    const char *sighex = json_string_value(json_object_get(body, "signature"));
    uint8_t bytes[FEED_ENCODED_MAX], sigraw[64];
    int blen = hex ? obs_hex_decode(hex, bytes, sizeof bytes) : -1;
    if (!json_is_integer(jid) || json_integer_value(jid) <= 0 || !subject ||
        strlen(subject) >= FEED_SUBJECT_MAX || blen <= 0 || !sighex || strlen(sighex) != 128 ||
        obs_hex_decode(sighex, sigraw, 64) != 64) {
        agr_stats(a->agr)->refused++;
        http_problem(r, 422, "Invalid observation",
                     "need {node_id, subject, bytes (hex), signature (128 hex digits)}");
        goto out;
    }
    uint64_t node = (uint64_t)json_integer_value(jid);
    if (!replica_is_leader(n->replica)) {
        http_header(r, "retry-after", "1");
        http_problem(r, 421, "Not the leader", "observations go to the leader");
        goto out;
    }
    enum agr_vote_result check = agr_check(a->agr, node, subject, 0, hex, sighex);
    if (check == AGR_NOT_MEMBER) {
        http_problem(r, 403, "Not a member", "node %llu is not a member with a registered key",
                     (unsigned long long)node);
        goto out;
    }
    if (check != AGR_COUNTED) {
        LOG_WARN("event=observation_forged node=%llu subject=%s", (unsigned long long)node,
                 subject);
        http_problem(r, 403, "Bad signature",
                     "the signature does not verify with node %llu's registered key",
                     (unsigned long long)node);
        goto out;
    }
    struct feed_obs o;
    struct feed_error fe = {0};
    char subj[FEED_SUBJECT_MAX];
    if (feed_decode(bytes, (size_t)blen, &o, &fe) != 0 ||
        feed_obs_subject(&o, subj, sizeof subj) < 0 || strcmp(subj, subject) != 0) {
        agr_stats(a->agr)->refused++;
        http_problem(r, 422, "Invalid observation", "the bytes are not an observation about "
                                                    "'%s'", subject);
        goto out;
    }
    bool is_agreed = agr_count(a->agr, node, subject, 0, hex, sighex) == AGR_LATE;
    /* Suspending is always safe: the first member to report a dangerous event is enough. */
    if (!is_agreed && o.kind == FEED_EVENT && dangerous_event(o.u.event.type) &&
        agr_flag(a->agr, subject, AGREE_DANGEROUS) && n->on_dangerous)
        n->on_dangerous(n, o.u.event.fixture, feed_event_type_name(o.u.event.type), subject,
                        node);
    http_reply_json(r, 202, json_pack("{s:s, s:b}", "subject", subject, "agreed", is_agreed));
out:
    json_decref(body);
}

/* The member proves the key itself (consensus/observations.h): checked here against this
 * node's state so that a refusal costs no log entry, and again by apply. */
static void do_member_key(struct http_req *r)
{
    struct node *n = r->node;
    json_t *body = routes_body(r);
    if (!body)
        return;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0) {
        json_decref(body);
        http_problem(r, 500, "Read failed", "the state machine could not be read");
        return;
    }
    const char *title;
    char detail[256];
    int status = obs_member_key_check(n->fsm, txn, body, &title, detail, sizeof detail);
    fsm_read_end(txn);
    if (status != 0) {
        json_decref(body);
        http_problem(r, status, title, "%s", detail);
        return;
    }
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(body);
    struct cmd c = {.type = CMD_MEMBER_KEY, .payload = text, .payload_len = strlen(text)};
    http_write(r, &c, "member-key");
    free(text);
}

/* ---- reads ------------------------------------------------------------------------------ */

static void add_keys(struct node *n, MDB_txn *txn, json_t *rec)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(rec, "signatures"), i, s)
    {
        char pk[67];
        if (obs_member_key(n->fsm, txn, (uint64_t)json_integer_value(json_object_get(s, "node")),
                           pk) == 0)
            json_object_set_new(s, "public_key", json_string(pk));
    }
}

static void serve_agreed(struct http_req *r, const char *subject, bool attestation)
{
    struct node *n = r->node;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0) {
        http_problem(r, 500, "Read failed", "the state machine could not be read");
        return;
    }
    json_t *rec = obs_agreed_get(n->fsm, txn, subject);
    if (rec && !strncmp(subject, "result/", 7)) {
        json_t *ov = oracle_view(n, txn, subject + 7);
        if (ov)
            json_object_set_new(rec, "oracle", ov);
    }
    if (rec && attestation) {
        add_keys(n, txn, rec);
        uint8_t bytes[FEED_ENCODED_MAX], digest[32];
        char dh[65];
        int bl = obs_hex_decode(json_string_value(json_object_get(rec, "bytes")), bytes,
                                sizeof bytes);
        obs_digest(n->cfg.cluster, subject, bytes, bl > 0 ? (size_t)bl : 0, digest);
        obs_hex_encode(digest, 32, dh);
        json_object_set_new(rec, "cluster", json_string(n->cfg.cluster));
        json_object_set_new(rec, "digest", json_string(dh));
        json_object_set_new(
            rec, "signed_message",
            json_string("SHA-256 of \"parlay-observation-v1\" NUL cluster NUL subject NUL bytes; "
                        "secp256k1 ECDSA, compact r||s, low-s"));
    }
    fsm_read_end(txn);
    if (!rec) {
        http_problem(r, 404, "Not agreed", "no quorum has agreed on '%s' yet", subject);
        return;
    }
    http_reply_json(r, 200, rec);
}

int routes_agree(struct http_req *r, const char *method, const char *path)
{
    struct node *n = r->node;
    if (!strcmp(path, "/internal/v1/observations")) {
        r->route = ROUTE_OTHER;
        if (n->agree && routes_method(r, method, "POST", "use POST"))
            do_observation(r);
        else if (!n->agree)
            http_problem(r, 404, "Not found", "this node takes no observations");
        return 0;
    }
    if (!strcmp(path, "/internal/v1/member-key")) {
        r->route = ROUTE_OTHER;
        if (routes_require_scope(r, "cluster") && routes_method(r, method, "POST", "use POST"))
            do_member_key(r);
        return 0;
    }
    if (!strncmp(path, "/v1/fixtures/", 13)) {
        const char *id = path + 13, *slash = strchr(id, '/');
        if (!slash || slash == id || (size_t)(slash - id) > FEED_ID_MAX)
            return -1;
        char fid[FEED_ID_MAX + 1], subject[FEED_SUBJECT_MAX];
        snprintf(fid, sizeof fid, "%.*s", (int)(slash - id), id);
        if (!strcmp(slash, "/events")) {
            r->route = ROUTE_FIXTURES_READ;
            if (!routes_method(r, method, "GET", "use GET"))
                return 0;
            MDB_txn *txn;
            if (fsm_read_begin(n->fsm, &txn) != 0) {
                http_problem(r, 500, "Read failed", "the state machine could not be read");
                return 0;
            }
            json_t *items = obs_agreed_events(n->fsm, txn, fid);
            fsm_read_end(txn);
            http_reply_json(r, 200, json_pack("{s:s, s:o}", "fixture", fid, "items", items));
            return 0;
        }
        if (!strcmp(slash, "/result")) {
            r->route = ROUTE_FIXTURES_READ;
            if (routes_method(r, method, "GET", "use GET")) {
                snprintf(subject, sizeof subject, "result/%s", fid);
                serve_agreed(r, subject, true);
            }
            return 0;
        }
        return -1;
    }
    if (!strncmp(path, "/v1/observations/", 17)) {
        const char *s = path + 17;
        size_t l = strlen(s);
        static const char suffix[] = "/attestation";
        if (l <= sizeof suffix - 1 || strcmp(s + l - (sizeof suffix - 1), suffix) != 0 ||
            l - (sizeof suffix - 1) >= FEED_SUBJECT_MAX)
            return -1;
        r->route = ROUTE_FIXTURES_READ;
        if (routes_method(r, method, "GET", "use GET")) {
            char subject[FEED_SUBJECT_MAX];
            snprintf(subject, sizeof subject, "%.*s", (int)(l - (sizeof suffix - 1)), s);
            serve_agreed(r, subject, true);
        }
        return 0;
    }
    return -1;
}

/* ---- status, metrics, start, stop ------------------------------------------------------- */

bool agree_event_tallying(struct node *n)
{
    struct agree *a = n->stopping ? NULL : A(n);
    return a && a->agr && agr_tallying(a->agr, "event/");
}

void agree_metrics(struct node *n, char **buf, size_t *len, size_t *cap)
{
    struct agree *a = A(n);
    if (!a)
        return;
    const struct agr_stats *st = agr_stats(a->agr);
    const struct metric ms[] = {
        {"parlay_observations_received_total", METRIC_COUNTER, st->received},
        {"parlay_observations_refused_total", METRIC_COUNTER, st->refused},
        {"parlay_observations_proposed_total", METRIC_COUNTER, st->proposed},
        {"parlay_observation_outbox", METRIC_GAUGE, st->outbox},
        {"parlay_observation_outbox_dropped_total", METRIC_COUNTER, st->outbox_dropped},
        {"parlay_agreement_stalled", METRIC_GAUGE, agr_stalled(a->agr)},
        {"parlay_agreement_alerts_total", METRIC_COUNTER, st->alerts},
    };
    METRICS_PUT(buf, len, cap, ms);
    metrics_by_node(buf, len, cap, "parlay_observation_dissent_total", st->dissent,
                    AGR_MAX_NODES + 1);
}

json_t *agree_status(struct node *n)
{
    struct agree *a = A(n);
    if (!a)
        return json_null();
    const struct agr_stats *st = agr_stats(a->agr);
    /* The leader's subjects with votes and no agreement: {subject: [{bytes, nodes}]}. */
    return json_pack("{s:b, s:i, s:o, s:o, s:i, s:I}", "feed", a->feed != NULL, "outbox",
                     (int)st->outbox, "dissent", agr_dissent_json(a->agr), "pending",
                     agr_pending_json(a->agr, "bytes"), "stalled", agr_stalled(a->agr),
                     "alerts", (json_int_t)st->alerts);
}

/* {id, public_key, proof}: the proof is this node's signature over the member-key digest, so
 * that nobody else (not even the admin token) can register a key in its name. */
static void key_registration(struct node *n)
{
    struct agree *a = A(n);
    uint8_t digest[32];
    char proof[AGR_SIG_HEX];
    obs_member_key_digest(OBS_KEY_PROOF, n->cfg.cluster, n->cfg.node_id, n->public_key, digest);
    agree_sign(a->ctx, a->sk, digest, proof);
    snprintf(a->key_body, sizeof a->key_body,
             "{\"id\":%llu,\"public_key\":\"%s\",\"proof\":\"%s\"}",
             (unsigned long long)n->cfg.node_id, n->public_key, proof);
    snprintf(a->key_idem, sizeof a->key_idem, "member-key-%llu-%s",
             (unsigned long long)n->cfg.node_id, n->public_key);
}

int agree_start(struct node *n, char *err, size_t errlen)
{
    if (!n->cfg.sport[0])
        return 0;
    struct agree *a = calloc(1, sizeof *a);
    a->node = n;
    a->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (key_load_secret(n->cfg.data_dir, a->sk) != 0) {
        snprintf(err, errlen, "key 'data_dir': cannot read node.key");
        secp256k1_context_destroy(a->ctx);
        free(a);
        return -1;
    }
    struct agr_env env = {.digest = obs_digest_hex, .send = send_obs, .settled = settled,
                          .propose = propose, .agreed = agreed_bytes, .event = on_event};
    /* An agreed subject is retired at once (retain_ms 0): a late vote is compared with the
     * stored record, so the leader's memory holds only what waits for agreement. */
    struct agr_options opt = {.alert_ms = (uint64_t)n->cfg.agreement_alert_s * 1000};
    a->agr = agree_env_new(n, &env, &opt);
    n->agree = a;
    key_registration(n);
    uv_timer_init(n->loop, &a->timer);
    a->timer.data = n;
    uv_timer_start(&a->timer, on_tick, AGREE_TICK_MS, AGREE_TICK_MS);
    if (n->cfg.feed_url[0]) {
        struct feed_config fc = {.adapter = !strcmp(n->cfg.feed_adapter, "rest") ? FEED_REST
                                                                                  : FEED_SSE,
                                 .url = n->cfg.feed_url,
                                 .poll_ms = n->cfg.feed_poll_ms,
                                 .on_obs = on_obs,
                                 .on_error = on_feed_error,
                                 .arg = n};
        int rv = feed_open(n->loop, &fc, &a->feed);
        if (rv != 0) {
            snprintf(err, errlen, "key 'feed_url': %s", feed_strerror(rv));
            return -1;
        }
        LOG_INFO("event=feed_opened url=%s adapter=%s", n->cfg.feed_url, n->cfg.feed_adapter);
    }
    return 0;
}

void agree_stop(struct node *n)
{
    struct agree *a = A(n);
    if (!a)
        return;
    if (a->feed)
        feed_close(a->feed, NULL, NULL);
    a->feed = NULL;
    uv_timer_stop(&a->timer);
    uv_close((uv_handle_t *)&a->timer, NULL);
    /* The rest is freed with the process (the loop still runs callbacks that look at
     * n->stopping until it ends). */
}
