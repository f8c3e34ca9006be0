/* Agreed observations: the node side and the leader side (DESIGN.md, "Agreement").
 *
 * Node side. A sport node with a `feed_url` reads its provider on its loop (feed_open). Every
 * observation is encoded (feed_encode), signed with the node's secp256k1 key (ECDSA, low-s,
 * over obs_digest: SHA-256 of "parlay-observation-v1" NUL cluster NUL subject NUL bytes) and
 * put in an outbox, which sends {node_id, subject, bytes, signature} to the leader's
 * POST /internal/v1/observations. An entry stays in the outbox until the agreed record for
 * its subject appears in the local state machine; it is sent again whenever the leader (or
 * its term) changes or the last send was not accepted, so a new leader hears everything
 * still pending. The node also makes sure its public key is in the replicated state
 * (CMD_MEMBER_KEY through POST /internal/v1/member-key, admin token).
 *
 * Leader side. Pending observations are kept in memory: subject -> distinct byte strings ->
 * the nodes that sent them, with their signatures. A sender must be a member with a
 * registered key, and its signature must verify. Once the voters (of the current
 * configuration) that sent identical bytes are a majority of the voters, the leader proposes
 * CMD_OBSERVATION_AGREED with those bytes and the quorum's signatures. A node whose bytes
 * differ from the agreed ones is a dissenter: counted per node
 * (parlay_observation_dissent_total), logged and shown in the admin status.
 */
#include <jansson.h>
#include <secp256k1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/members.h"
#include "consensus/observations.h"
#include "feed/feed.h"
#include "node/forward.h"
#include "node/key.h"
#include "node/log.h"
#include "node/node.h"
#include "node/routes.h"
#include "node/tally.h"

#define AGREE_MAX_NODES 64
#define AGREE_TICK_MS 200

struct out_item {
    char subject[FEED_SUBJECT_MAX];
    char hex[2 * FEED_ENCODED_MAX + 1];
    char sig[129];
    bool inflight;
    unsigned gen;                      /* bumped when a provider corrects the bytes */
    uint64_t acked_leader, acked_term; /* accepted by this leader in this term */
    struct out_item *next;
};

struct pending {
    char subject[FEED_SUBJECT_MAX];
    struct tally votes;                     /* the byte strings (hex) sent, and by whom */
    bool proposing;
    char *agreed_hex;                       /* once agreed (as seen by this leader) */
    uint64_t first_ms;                      /* when the first vote arrived (loop clock) */
    bool dangerous;                         /* an event that suspends markets */
    bool suspend_sent, alerted;
    uint64_t flagged[AGREE_MAX_NODES / 64]; /* dissent already counted for these nodes */
    struct pending *next;
};

struct agree {
    struct node *node;
    secp256k1_context *ctx;
    unsigned char sk[32];
    struct feed_provider *feed;
    uv_timer_t timer;
    struct out_item *outbox;
    bool key_inflight;
    struct pending *pending;
    uint64_t dissent[AGREE_MAX_NODES + 1];
    uint64_t received, refused, proposed, alerts;
};

static struct agree *A(struct node *n)
{
    return n->agree;
}

static void maybe_propose_all(struct node *n);
static unsigned stalled(struct node *n, bool raise);

/* ---- node side ------------------------------------------------------------------------ */

static bool agreed_same; /* set by agreed_locally: the agreed bytes are @hex */

static bool agreed_locally(struct node *n, const char *subject, const char *hex)
{
    agreed_same = false;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return false;
    json_t *rec = obs_agreed_get(n->fsm, txn, subject);
    fsm_read_end(txn);
    bool yes = rec != NULL;
    const char *ah = json_string_value(json_object_get(rec, "bytes"));
    agreed_same = ah && !strcmp(ah, hex);
    json_decref(rec);
    return yes;
}

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
    if (status != 200 && status != 201)
        LOG_DEBUG("event=member_key_send status=%ld body=%.200s", status, body);
}

struct send_ctx {
    struct node *node;
    struct out_item *item;
    uint64_t leader, term;
    unsigned gen;
};

static void on_obs_sent(void *arg, long status, const char *body, size_t len)
{
    (void)len;
    struct send_ctx *s = arg;
    struct node *n = s->node;
    if (!n->stopping && A(n)) {
        for (struct out_item *it = A(n)->outbox; it; it = it->next)
            if (it == s->item) {
                it->inflight = false;
                if ((status == 202 || status == 200) && it->gen == s->gen) {
                    it->acked_leader = s->leader;
                    it->acked_term = s->term;
                } else {
                    LOG_DEBUG("event=observation_send subject=%s status=%ld body=%.200s",
                              it->subject, status, body);
                }
            }
    }
    free(s);
}

static void pump(struct node *n)
{
    struct agree *a = A(n);
    char addr[64];
    uint64_t leader = replica_leader(n->replica, addr, sizeof addr);
    if (leader == 0 || !addr[0])
        return;
    uint64_t term = raft_current_term(replica_raft(n->replica));
    if (!a->key_inflight && !key_registered(n)) {
        a->key_inflight = true;
        char body[160], idem[200];
        snprintf(body, sizeof body, "{\"id\":%llu,\"public_key\":\"%s\"}",
                 (unsigned long long)n->cfg.node_id, n->public_key);
        snprintf(idem, sizeof idem, "member-key-%llu-%s", (unsigned long long)n->cfg.node_id,
                 n->public_key);
        forward_send(n->fwd, addr, "/internal/v1/member-key", idem, body, on_key_sent, n);
    }
    for (struct out_item **pi = &a->outbox; *pi;) {
        struct out_item *it = *pi;
        /* Done once the agreed record is here; bytes that differ from it are still sent
         * once, so that the leader hears (and flags) the dissent. */
        if (!it->inflight && agreed_locally(n, it->subject, it->hex) &&
            (it->acked_leader != 0 || agreed_same)) {
            *pi = it->next;
            free(it);
            continue;
        }
        pi = &it->next;
        if (it->inflight || (it->acked_leader == leader && it->acked_term == term))
            continue;
        json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "node_id", (json_int_t)n->cfg.node_id,
                              "subject", it->subject, "bytes", it->hex, "signature", it->sig);
        char *text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        struct send_ctx *s = malloc(sizeof *s);
        *s = (struct send_ctx){n, it, leader, term, it->gen};
        it->inflight = true;
        forward_send(n->fwd, addr, "/internal/v1/observations", NULL, text, on_obs_sent, s);
        free(text);
    }
}

static void on_tick(uv_timer_t *t)
{
    struct node *n = t->data;
    if (n->stopping)
        return;
    pump(n);
    /* A proposal that failed while this node stayed leader is retried here: the senders
     * will not resend to the same leader and term. */
    if (replica_is_leader(n->replica)) {
        maybe_propose_all(n);
        stalled(n, true);
    }
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
    uint8_t digest[32], ser[64];
    obs_digest(n->cfg.cluster, subject, bytes, (size_t)len, digest);
    secp256k1_ecdsa_signature sig;
    if (!secp256k1_ecdsa_sign(a->ctx, &sig, digest, a->sk, NULL, NULL))
        return;
    secp256k1_ecdsa_signature_serialize_compact(a->ctx, ser, &sig);
    struct out_item *it = NULL;
    for (struct out_item *x = a->outbox; x; x = x->next)
        if (!strcmp(x->subject, subject))
            it = x; /* a provider's correction replaces what was pending */
    if (!it) {
        it = calloc(1, sizeof *it);
        snprintf(it->subject, sizeof it->subject, "%s", subject);
        struct out_item **tail = &a->outbox;
        while (*tail)
            tail = &(*tail)->next;
        *tail = it;
    }
    obs_hex_encode(bytes, (size_t)len, it->hex);
    obs_hex_encode(ser, 64, it->sig);
    it->acked_leader = it->acked_term = 0;
    it->gen++;
    LOG_DEBUG("event=observation subject=%s", subject);
    pump(n);
}

static void on_feed_error(void *arg, const struct feed_error *err)
{
    (void)arg;
    LOG_DEBUG("event=feed_error code=%d err=\"%s\"", err->code, err->msg);
}

/* ---- leader side ---------------------------------------------------------------------- */

static void flag_dissent(struct node *n, struct pending *p, uint64_t node, const char *hex)
{
    if (node == 0 || node > AGREE_MAX_NODES)
        return;
    uint64_t bit = 1ull << ((node - 1) % 64);
    if (p->flagged[(node - 1) / 64] & bit)
        return;
    p->flagged[(node - 1) / 64] |= bit;
    A(n)->dissent[node]++;
    LOG_WARN("event=observation_dissent node=%llu subject=%s bytes=%s agreed=%s",
             (unsigned long long)node, p->subject, hex, p->agreed_hex ? p->agreed_hex : "");
}

struct dissent_ctx {
    struct node *n;
    struct pending *p;
};

static void dissent_one(void *arg, uint64_t node, const char *hex)
{
    struct dissent_ctx *d = arg;
    flag_dissent(d->n, d->p, node, hex);
}

static void flag_all(struct node *n, struct pending *p)
{
    struct dissent_ctx d = {n, p};
    tally_each_dissent(&p->votes, p->agreed_hex, dissent_one, &d);
}

static void pending_free(struct agree *a, struct pending *p)
{
    for (struct pending **pp = &a->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    tally_clear(&p->votes);
    free(p->agreed_hex);
    free(p);
}

struct prop_ctx {
    struct node *node;
    char subject[FEED_SUBJECT_MAX];
};

static struct pending *find_pending(struct agree *a, const char *subject, bool create)
{
    for (struct pending *p = a->pending; p; p = p->next)
        if (!strcmp(p->subject, subject))
            return p;
    if (!create)
        return NULL;
    struct pending *p = calloc(1, sizeof *p);
    snprintf(p->subject, sizeof p->subject, "%s", subject);
    p->first_ms = uv_now(a->node->loop);
    p->next = a->pending;
    a->pending = p;
    return p;
}

static void on_proposed(void *arg, int outcome, const struct fsm_result *res)
{
    struct prop_ctx *pc = arg;
    struct node *n = pc->node;
    if (!n->stopping && A(n)) {
        struct pending *p = find_pending(A(n), pc->subject, false);
        if (p) {
            p->proposing = false;
            if (outcome == REPLICA_OK && res && res->status < 300) {
                json_t *b = json_loads(res->body, 0, NULL);
                const char *hex = json_string_value(json_object_get(b, "bytes"));
                if (hex && !p->agreed_hex)
                    p->agreed_hex = strdup(hex);
                json_decref(b);
                if (p->agreed_hex) {
                    LOG_INFO("event=observation_agreed subject=%s", p->subject);
                    flag_all(n, p);
                    /* Done: a late sender is compared with the stored record. */
                    pending_free(A(n), p);
                }
            }
        }
    }
    free(pc);
}

static void maybe_propose(struct node *n, struct pending *p)
{
    if (p->proposing || p->agreed_hex)
        return;
    json_t *sigs;
    const char *hex = tally_quorum(&p->votes, n, &sigs);
    if (!hex)
        return;
    struct cmd c;
    char *text = obs_cmd_agreed(&c, p->subject, hex, sigs);
    struct prop_ctx *pc = calloc(1, sizeof *pc);
    pc->node = n;
    snprintf(pc->subject, sizeof pc->subject, "%s", p->subject);
    if (replica_propose(n->replica, &c, on_proposed, pc) == 0) {
        LOG_DEBUG("event=observation_propose subject=%s", p->subject);
        p->proposing = true;
        A(n)->proposed++;
    } else {
        free(pc);
    }
    free(text);
}

static void maybe_propose_all(struct node *n)
{
    for (struct pending *p = A(n)->pending; p; p = p->next)
        if (!p->proposing && !p->agreed_hex)
            maybe_propose(n, p);
}

static bool dangerous_event(enum feed_event_type t)
{
    return t == FEED_GOAL || t == FEED_OWN_GOAL || t == FEED_PENALTY_AWARDED ||
           t == FEED_PENALTY_SCORED || t == FEED_PENALTY_MISSED || t == FEED_RED_CARD;
}

void agree_note_agreed(struct node *n, const char *subject, const char *hex)
{
    struct agree *a = A(n);
    struct pending *p = a && subject && hex ? find_pending(a, subject, false) : NULL;
    if (p && !p->agreed_hex)
        p->agreed_hex = strdup(hex);
}

bool agree_holds(struct node *n, const char *fixture)
{
    struct agree *a = A(n);
    if (!a)
        return false;
    size_t fl = strlen(fixture);
    uint64_t now = uv_now(n->loop);
    for (struct pending *p = a->pending; p; p = p->next)
        if (p->dangerous && !p->agreed_hex && !strncmp(p->subject, "event/", 6) &&
            !strncmp(p->subject + 6, fixture, fl) && p->subject[6 + fl] == '/' &&
            now - p->first_ms < (uint64_t)n->cfg.quote_hold_s * 1000)
            return true;
    return false;
}

/* Observations that wait for agreement longer than agreement_alert_s: an operator must look
 * (providers disagree, or too few nodes read them). Counted once each, logged. */
static unsigned stalled(struct node *n, bool raise)
{
    struct agree *a = A(n);
    uint64_t now = uv_now(n->loop);
    unsigned k = 0;
    for (struct pending *p = a->pending; p; p = p->next)
        if (!p->agreed_hex && now - p->first_ms >= (uint64_t)n->cfg.agreement_alert_s * 1000) {
            k++;
            if (raise && !p->alerted) {
                p->alerted = true;
                a->alerts++;
                unsigned variants = 0;
                for (struct tally_variant *v = p->votes.variants; v; v = v->next)
                    variants++;
                LOG_ERROR("event=agreement_stalled subject=%s variants=%u waited_s=%llu",
                          p->subject, variants, (unsigned long long)((now - p->first_ms) / 1000));
            }
        }
    return k;
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
    uint8_t bytes[FEED_ENCODED_MAX], sigraw[64], digest[32];
    int blen = hex ? obs_hex_decode(hex, bytes, sizeof bytes) : -1;
    if (!json_is_integer(jid) || json_integer_value(jid) <= 0 || !subject || blen <= 0 ||
        !sighex || strlen(sighex) != 128 || obs_hex_decode(sighex, sigraw, 64) != 64) {
        a->refused++;
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
    obs_digest(n->cfg.cluster, subject, bytes, (size_t)blen, digest);
    int check = tally_check_sender(n, a->ctx, node, digest, sigraw);
    if (check == TALLY_NOT_MEMBER) {
        a->refused++;
        http_problem(r, 403, "Not a member", "node %llu is not a member with a registered key",
                     (unsigned long long)node);
        goto out;
    }
    if (check != TALLY_OK) {
        a->refused++;
        LOG_WARN("event=observation_forged node=%llu subject=%s", (unsigned long long)node,
                 subject);
        http_problem(r, 403, "Bad signature",
                     "the signature does not verify with node %llu's registered key",
                     (unsigned long long)node);
        goto out;
    }
    MDB_txn *txn;
    json_t *agreed = NULL;
    if (fsm_read_begin(n->fsm, &txn) == 0) {
        agreed = obs_agreed_get(n->fsm, txn, subject);
        fsm_read_end(txn);
    }
    struct feed_obs o;
    struct feed_error fe = {0};
    char subj[FEED_SUBJECT_MAX];
    if (feed_decode(bytes, (size_t)blen, &o, &fe) != 0 ||
        feed_obs_subject(&o, subj, sizeof subj) < 0 || strcmp(subj, subject) != 0) {
        a->refused++;
        json_decref(agreed);
        http_problem(r, 422, "Invalid observation", "the bytes are not an observation about "
                                                    "'%s'", subject);
        goto out;
    }
    a->received++;
    struct pending *p = find_pending(a, subject, true);
    if (agreed && !p->agreed_hex) {
        const char *ah = json_string_value(json_object_get(agreed, "bytes"));
        if (ah)
            p->agreed_hex = strdup(ah);
    }
    json_decref(agreed);
    tally_add(&p->votes, node, hex, sighex);
    bool is_agreed = p->agreed_hex != NULL;
    if (!is_agreed && o.kind == FEED_EVENT && dangerous_event(o.u.event.type)) {
        /* Suspending is always safe: the first member to report it is enough. */
        p->dangerous = true;
        if (!p->suspend_sent) {
            p->suspend_sent = true;
            quote_suspend(n, o.u.event.fixture, feed_event_type_name(o.u.event.type), subject,
                          node);
        }
    }
    if (is_agreed) {
        if (strcmp(p->agreed_hex, hex) != 0)
            flag_dissent(n, p, node, hex);
        if (!p->proposing)
            pending_free(a, p);
    } else {
        maybe_propose(n, p);
    }
    http_reply_json(r, 202, json_pack("{s:s, s:b}", "subject", subject, "agreed", is_agreed));
out:
    json_decref(body);
}

static void do_member_key(struct http_req *r)
{
    json_t *body = routes_body(r);
    if (!body)
        return;
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(body);
    struct cmd c = {.type = CMD_MEMBER_KEY, .payload = text, .payload_len = strlen(text)};
    http_write(r, &c, "member-key");
    free(text);
}

/* ---- reads ---------------------------------------------------------------------------- */

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
        if (routes_require_admin(r) && routes_method(r, method, "POST", "use POST"))
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

/* ---- status, metrics, start, stop ----------------------------------------------------- */

void agree_metrics(struct node *n, char **buf, size_t *len, size_t *cap)
{
    struct agree *a = A(n);
    if (!a)
        return;
    unsigned outbox = 0;
    for (struct out_item *it = a->outbox; it; it = it->next)
        outbox++;
    metrics_printf(buf, len, cap,
                   "# TYPE parlay_observations_received_total counter\n"
                   "parlay_observations_received_total %llu\n"
                   "# TYPE parlay_observations_refused_total counter\n"
                   "parlay_observations_refused_total %llu\n"
                   "# TYPE parlay_observations_proposed_total counter\n"
                   "parlay_observations_proposed_total %llu\n"
                   "# TYPE parlay_observation_outbox gauge\nparlay_observation_outbox %u\n"
                   "# TYPE parlay_agreement_stalled gauge\nparlay_agreement_stalled %u\n"
                   "# TYPE parlay_agreement_alerts_total counter\n"
                   "parlay_agreement_alerts_total %llu\n"
                   "# TYPE parlay_observation_dissent_total counter\n",
                   (unsigned long long)a->received, (unsigned long long)a->refused,
                   (unsigned long long)a->proposed, outbox, stalled(n, false),
                   (unsigned long long)a->alerts);
    for (unsigned i = 1; i <= AGREE_MAX_NODES; i++)
        if (a->dissent[i])
            metrics_printf(buf, len, cap, "parlay_observation_dissent_total{node=\"%u\"} %llu\n",
                           i, (unsigned long long)a->dissent[i]);
}

json_t *agree_status(struct node *n)
{
    struct agree *a = A(n);
    if (!a)
        return json_null();
    json_t *d = json_object();
    for (unsigned i = 1; i <= AGREE_MAX_NODES; i++)
        if (a->dissent[i]) {
            char k[24];
            snprintf(k, sizeof k, "%u", i);
            json_object_set_new(d, k, json_integer((json_int_t)a->dissent[i]));
        }
    unsigned outbox = 0;
    for (struct out_item *it = a->outbox; it; it = it->next)
        outbox++;
    /* The leader's subjects with votes and no agreement: {subject: [{bytes, nodes}]}. */
    json_t *pend = json_object();
    for (struct pending *p = a->pending; p; p = p->next) {
        if (p->agreed_hex)
            continue;
        json_t *vs = tally_json(&p->votes, "bytes");
        json_object_set_new(pend, p->subject, vs);
    }
    return json_pack("{s:b, s:i, s:o, s:o, s:i, s:I}", "feed", a->feed != NULL, "outbox",
                     outbox, "dissent", d, "pending", pend, "stalled", stalled(n, false),
                     "alerts", (json_int_t)a->alerts);
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
    n->agree = a;
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
