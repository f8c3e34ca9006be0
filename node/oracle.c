/* Results to the chain (DESIGN.md "Results to the chain"; issue 13). The third user of the
 * agreement engine (consensus/agreement.h): its subjects are fixtures (round 0), its texts
 * "final H-A" or "void 0-0", its signatures the nodes' secp256k1 signatures over the
 * MatchOracle contract's EIP-712 digest of the result (oracle_result_digest).
 *
 * Every node. Once an agreed result is applied and committed locally (CMD_OBSERVATION_AGREED
 * of kind "result"), the node signs the contract's digest of THAT result with its node key
 * and puts it in the engine's outbox, which sends it to the leader's
 * POST /internal/v1/oracle-signatures until the result's signatures are committed (a new
 * leader or term gets it again). A node never signs a result its own state machine has not
 * agreed: it signs nothing else. At start it signs every agreed result with no oracle record.
 *
 * Leader. The engine checks each signature (member, registered key) and tallies identical
 * texts; at a quorum the proposal keeps the signatures whose signer (the address of the
 * member's key) is a registered signer of the contract (read from the chain by the worker,
 * again when the contract's configVersion moves and every signers_refresh_ms), and with the contract's threshold of them proposes
 * CMD_ORACLE_SIGNED (the state machine checks every signature again). Fewer: it waits (more
 * signatures may come) and raises the signer alert.
 *
 * The worker (one thread per node, active on the leader only: blocking JSON-RPC never runs
 * on the loop) owns the transaction manager (oracle/txm.c) whose journal is the replicated
 * one: put() proposes CMD_ORACLE_TX and waits for it to be committed and applied before the
 * manager broadcasts; list() reads the records back. It asks the loop for both through a
 * queue and a uv_async (the loop proposes; raft is never called from the worker). Each round:
 * follow every open transaction (oracle_txm_poll: re-broadcast, fee bumps, reorgs), then for
 * every result not final: submit it (the submitter reads the contract first: already there ->
 * CMD_ORACLE_DONE "already"), or record the outcome of its transaction (confirmed, failed) with
 * CMD_ORACLE_DONE. A new leader builds a new manager from the replicated journal and carries on.
 * The endpoint being down only delays: every failure leaves the state as it was, for the next
 * round.
 *
 * Configuration (key "oracle" of a sport node, oracle_start): rpc (http:// or https://),
 * api_key_file (0600, appended to the URL path, never logged), chain_id, contract,
 * sender_key_file (0600, pays gas; the same file on every node of the cluster, so that a new
 * leader continues the old one's nonces), confirmations (default 1), max_fee_gwei (cap, 0 none),
 * balance_floor_wei (alert under it, default 10^17), poll_ms (default 200), signers_refresh_ms
 * (default 2000).
 */
#include "node/oracle_internal.h"

/* ---- texts ------------------------------------------------------------------------------ */

static void result_text(const char *status, unsigned home, unsigned away, char out[O_TEXT_MAX])
{
    snprintf(out, O_TEXT_MAX, "%s %u-%u", status, home, away);
}

static bool parse_text(const char *text, char status[8], unsigned *home, unsigned *away)
{
    char st[8];
    int used = 0;
    if (!text || sscanf(text, "%5s %u-%u%n", st, home, away, &used) != 3 ||
        (size_t)used != strlen(text) || !oracle_status_code(st) || *home > 65535 ||
        *away > 65535 || (!strcmp(st, "void") && (*home || *away)))
        return false;
    strcpy(status, st);
    return true;
}

static bool text_result(struct node *n, const char *fixture, const char *text, oracle_result *r)
{
    char st[8];
    unsigned h, a;
    if (!parse_text(text, st, &h, &a))
        return false;
    *r = (oracle_result){.match_id = oracle_match_id(n->cfg.cluster, fixture),
                         .status = (uint8_t)oracle_status_code(st),
                         .home = (uint16_t)h,
                         .away = (uint16_t)a};
    return true;
}

/* ---- signing (every node) ----------------------------------------------------------------- */

static void sign_record(struct node *n, json_t *agreed)
{
    struct oracle_node *o = O(n);
    json_t *ob = json_object_get(agreed, "observation");
    const char *fixture = json_string_value(json_object_get(ob, "fixture"));
    const char *st = json_string_value(json_object_get(ob, "status"));
    if (!fixture || !oracle_status_code(st))
        return;
    char text[O_TEXT_MAX];
    result_text(st, (unsigned)json_integer_value(json_object_get(ob, "home")),
                (unsigned)json_integer_value(json_object_get(ob, "away")), text);
    oracle_result r;
    uint8_t digest[32];
    char sig[AGR_SIG_HEX];
    if (!text_result(n, fixture, text, &r))
        return;
    oracle_result_digest(o->chain_id, o->contract, &r, digest);
    if (agree_sign(o->ctx, o->sk, digest, sig) && agr_outbox_put(o->agr, fixture, 0, text, sig) == 0) {
        o->sigs_put++;
        LOG_DEBUG("event=oracle_signed fixture=%s result=\"%s\"", fixture, text);
    }
}

/* Sign every agreed result that has no oracle record yet (at start, and for a result whose
 * signatures were lost with a leader). */
static void scan(struct node *n)
{
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return;
    json_t *all = obs_agreed_results(n->fsm, txn);
    size_t i;
    json_t *rec;
    json_array_foreach(all, i, rec)
    {
        const char *fx = json_string_value(
            json_object_get(json_object_get(rec, "observation"), "fixture"));
        json_t *orec = fx ? oracle_state_get(n->fsm, txn, fx) : NULL;
        if (fx && !orec)
            sign_record(n, rec);
        json_decref(orec);
    }
    json_decref(all);
    fsm_read_end(txn);
    agr_outbox_pump(O(n)->agr);
}

static void sign_deferred(void *arg)
{
    char **p = arg;
    char *fixture = p[0];
    struct node *n = (struct node *)p[1];
    free(p);
    if (n->stopping || !O(n)) {
        free(fixture);
        return;
    }
    char subject[FEED_SUBJECT_MAX];
    snprintf(subject, sizeof subject, "result/%s", fixture);
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) == 0) {
        json_t *rec = obs_agreed_get(n->fsm, txn, subject);
        fsm_read_end(txn);
        if (rec)
            sign_record(n, rec);
        json_decref(rec);
        agr_outbox_pump(O(n)->agr);
    }
    free(fixture);
}

static void worker_wake(struct oracle_node *o)
{
    pthread_mutex_lock(&o->mu);
    o->wake = true;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

void oracle_applied(struct node *n, uint64_t index, unsigned type, const struct fsm_result *res)
{
    (void)index;
    struct oracle_node *o = O(n);
    if (!o || !res || !res->body || res->status != 201)
        return;
    if (type == CMD_OBSERVATION_AGREED) {
        json_t *b = json_loads(res->body, 0, NULL);
        const char *kind = json_string_value(json_object_get(b, "kind"));
        const char *fx = json_string_value(
            json_object_get(json_object_get(b, "observation"), "fixture"));
        if (kind && fx && !strcmp(kind, "result")) {
            char **p = malloc(2 * sizeof *p);
            p[0] = strdup(fx);
            p[1] = (char *)n;
            fsm_defer(n->fsm, sign_deferred, p); /* once committed locally */
        }
        json_decref(b);
    } else if (type == CMD_ORACLE_SIGNED) {
        json_t *b = json_loads(res->body, 0, NULL);
        const char *fx = json_string_value(json_object_get(b, "fixture"));
        if (fx)
            agr_outbox_done(o->agr, fx, UINT64_MAX);
        json_decref(b);
        worker_wake(o);
    } else if (type == CMD_ORACLE_TX) {
        worker_wake(o);
    }
}

/* ---- the engine's callbacks ----------------------------------------------------------------- */

static void env_digest(void *arg, const char *fixture, uint64_t round, const char *text,
                       uint8_t out[32])
{
    (void)round;
    struct node *n = arg;
    oracle_result r;
    if (!text_result(n, fixture, text, &r)) {
        memset(out, 0xff, 32); /* nothing verifies over it */
        return;
    }
    oracle_result_digest(O(n)->chain_id, O(n)->contract, &r, out);
}

static int env_send(void *arg, const struct agr_entry *e, const struct agr_ticket *t)
{
    struct node *n = arg;
    json_t *b = json_pack("{s:I, s:s, s:s, s:s}", "node_id", (json_int_t)n->cfg.node_id,
                          "fixture", e->subject, "result", e->text, "signature", e->sig);
    return agree_env_send(n, O(n)->agr, "/internal/v1/oracle-signatures", b, t);
}

static bool has_record(struct node *n, const char *fixture)
{
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return false;
    json_t *r = oracle_state_get(n->fsm, txn, fixture);
    fsm_read_end(txn);
    json_decref(r);
    return r != NULL;
}

static bool env_settled(void *arg, const char *fixture, uint64_t round, const char *text,
                        bool delivered)
{
    (void)round;
    (void)text;
    (void)delivered;
    return has_record(arg, fixture);
}

static char *env_agreed(void *arg, const char *fixture)
{
    struct node *n = arg;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return NULL;
    json_t *r = oracle_state_get(n->fsm, txn, fixture);
    fsm_read_end(txn);
    char *t = NULL;
    if (r) {
        char text[O_TEXT_MAX];
        result_text(json_string_value(json_object_get(r, "status")),
                    (unsigned)json_integer_value(json_object_get(r, "home")),
                    (unsigned)json_integer_value(json_object_get(r, "away")), text);
        t = strdup(text);
    }
    json_decref(r);
    return t;
}

struct prop {
    struct node *node;
    char fixture[FEED_ID_MAX + 1];
    char text[O_TEXT_MAX];
};

static void on_signed(void *arg, int outcome, const struct fsm_result *res)
{
    struct prop *p = arg;
    struct node *n = p->node;
    if (!n->stopping && O(n)) {
        bool ok = outcome == REPLICA_OK && res && res->status < 300;
        bool refused = outcome == REPLICA_OK && res && res->status >= 400;
        if (ok)
            LOG_INFO("event=oracle_signatures_committed fixture=%s result=\"%s\"", p->fixture,
                     p->text);
        if (refused) {
            O(n)->proposals_refused++;
            LOG_WARN("event=oracle_signatures_refused fixture=%s status=%d body=%.300s",
                     p->fixture, res->status, res->body ? res->body : "");
        }
        agr_proposed(O(n)->agr, p->fixture, 0, ok, refused, p->text);
    }
    free(p);
}

/* The leader: a quorum sent identical texts. Keep the contract's signers' signatures (with
 * the v the contract wants) and propose them if they reach its threshold. */
static int env_propose(void *arg, const char *fixture, uint64_t round, const char *text,
                       json_t *sigs)
{
    (void)round;
    struct node *n = arg;
    struct oracle_node *o = O(n);
    oracle_result r;
    uint8_t digest[32];
    if (!text_result(n, fixture, text, &r)) {
        json_decref(sigs);
        return -1;
    }
    oracle_result_digest(o->chain_id, o->contract, &r, digest);
    json_t *kept = json_array();
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0) {
        json_decref(sigs);
        json_decref(kept);
        return -1;
    }
    pthread_mutex_lock(&o->mu);
    bool known = o->signers_known;
    unsigned threshold = o->threshold;
    size_t i;
    json_t *s;
    json_array_foreach(sigs, i, s)
    {
        uint64_t node = (uint64_t)json_integer_value(json_object_get(s, "node"));
        const char *sh = json_string_value(json_object_get(s, "signature"));
        char pk[67];
        uint8_t raw[65], ser[33], xy[65], want[20], got[20];
        if (!sh || obs_hex_decode(sh, raw, 64) != 64 || obs_member_key(n->fsm, txn, node, pk) != 0 ||
            obs_hex_decode(pk, ser, 33) != 33)
            continue;
        secp256k1_pubkey pub;
        size_t l = sizeof xy;
        if (!secp256k1_ec_pubkey_parse(o->ctx, &pub, ser, 33) ||
            !secp256k1_ec_pubkey_serialize(o->ctx, xy, &l, &pub, SECP256K1_EC_UNCOMPRESSED))
            continue;
        eth_address_from_pubkey(xy + 1, want);
        if (!is_signer(o, want))
            continue;
        bool found = false;
        for (uint8_t v = 27; v <= 28 && !found; v++) {
            raw[64] = v;
            found = eth_recover(digest, raw, got) == ETH_OK && !memcmp(got, want, 20);
        }
        if (!found)
            continue;
        char full[131];
        obs_hex_encode(raw, 65, full);
        json_array_append_new(kept, json_pack("{s:I, s:s}", "node", (json_int_t)node,
                                              "signature", full));
    }
    pthread_mutex_unlock(&o->mu);
    fsm_read_end(txn);
    json_decref(sigs);
    if (!known || json_array_size(kept) < threshold) {
        if (known)
            o->short_of_signers++;
        LOG_DEBUG("event=oracle_short_of_signers fixture=%s have=%zu threshold=%u known=%d",
                  fixture, json_array_size(kept), threshold, known);
        json_decref(kept);
        return -1; /* tried again at the next tick, perhaps with more signatures */
    }
    char st[8], ch[43];
    unsigned h, a;
    parse_text(text, st, &h, &a);
    eth_address_checksum(o->contract, ch);
    struct cmd c;
    char *payload = oracle_cmd_signed(&c, fixture, r.match_id, st, h, a, o->chain_id, ch, kept);
    struct prop *p = calloc(1, sizeof *p);
    p->node = n;
    snprintf(p->fixture, sizeof p->fixture, "%s", fixture);
    snprintf(p->text, sizeof p->text, "%s", text);
    int rv = replica_propose(n->replica, &c, on_signed, p);
    free(payload);
    if (rv != 0) {
        free(p);
        return -1;
    }
    o->proposals++;
    return 0;
}

static void env_event(void *arg, enum agr_event ev, const char *fixture, uint64_t round,
                      uint64_t node, const char *text)
{
    (void)arg;
    (void)round;
    if (ev == AGR_EV_DISSENT)
        LOG_WARN("event=oracle_dissent node=%llu fixture=%s result=\"%s\"",
                 (unsigned long long)node, fixture, text ? text : "");
    else if (ev == AGR_EV_STALLED)
        LOG_WARN("event=oracle_signatures_stalled fixture=%s", fixture);
}

/* ---- the leader's endpoint ----------------------------------------------------------------- */

static void do_signature(struct http_req *r)
{
    struct node *n = r->node;
    struct oracle_node *o = O(n);
    json_t *body = routes_body(r);
    if (!body)
        return;
    json_t *jid = json_object_get(body, "node_id");
    const char *fixture = json_string_value(json_object_get(body, "fixture"));
    const char *text = json_string_value(json_object_get(body, "result"));
    const char *sighex = json_string_value(json_object_get(body, "signature"));
    uint8_t raw[64];
    char st[8];
    unsigned h, a;
    if (!json_is_integer(jid) || json_integer_value(jid) <= 0 || !fixture || !*fixture ||
        strlen(fixture) > FEED_ID_MAX || !parse_text(text, st, &h, &a) || !sighex ||
        strlen(sighex) != 128 || obs_hex_decode(sighex, raw, 64) != 64) {
        agr_stats(o->agr)->refused++;
        http_problem(r, 422, "Invalid oracle signature",
                     "need {node_id, fixture, result (\"final H-A\" or \"void 0-0\"), signature "
                     "(128 hex digits)}");
        goto out;
    }
    if (!replica_is_leader(n->replica)) {
        http_header(r, "retry-after", "1");
        http_problem(r, 421, "Not the leader", "oracle signatures go to the leader");
        goto out;
    }
    uint64_t node = (uint64_t)json_integer_value(jid);
    enum agr_vote_result v = agr_vote(o->agr, node, fixture, 0, text, sighex);
    if (v == AGR_NOT_MEMBER) {
        http_problem(r, 403, "Not a member", "node %llu is not a member with a registered key",
                     (unsigned long long)node);
        goto out;
    }
    if (v == AGR_BAD_SIGNATURE) {
        LOG_WARN("event=oracle_signature_forged node=%llu fixture=%s", (unsigned long long)node,
                 fixture);
        http_problem(r, 403, "Bad signature",
                     "the signature does not verify with node %llu's registered key over the "
                     "contract's digest of this result",
                     (unsigned long long)node);
        goto out;
    }
    http_reply_json(r, 202, json_pack("{s:s, s:b}", "fixture", fixture, "signed",
                                      agr_is_done(o->agr, fixture, 0)));
out:
    json_decref(body);
}

/* ---- the loop's timer ------------------------------------------------------------------------ */

static void update_voters(struct node *n)
{
    struct oracle_node *o = O(n);
    struct raft *r = replica_raft(n->replica);
    uint8_t addrs[AGR_MAX_NODES][20];
    size_t k = 0, voters = 0;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return;
    for (unsigned i = 0; i < r->configuration.n && k < AGR_MAX_NODES; i++) {
        if (r->configuration.servers[i].role != RAFT_VOTER)
            continue;
        voters++;
        char pk[67];
        uint8_t ser[33], xy[65];
        size_t l = sizeof xy;
        secp256k1_pubkey pub;
        if (obs_member_key(n->fsm, txn, r->configuration.servers[i].id, pk) == 0 &&
            obs_hex_decode(pk, ser, 33) == 33 && secp256k1_ec_pubkey_parse(o->ctx, &pub, ser, 33) &&
            secp256k1_ec_pubkey_serialize(o->ctx, xy, &l, &pub, SECP256K1_EC_UNCOMPRESSED))
            eth_address_from_pubkey(xy + 1, addrs[k++]);
    }
    fsm_read_end(txn);
    if (k < voters) /* a voter's key is not registered yet: compare once it is */
        return;
    pthread_mutex_lock(&o->mu);
    memcpy(o->voters, addrs, k * 20);
    o->nvoters = k;
    pthread_mutex_unlock(&o->mu);
}

static void on_tick(uv_timer_t *t)
{
    struct node *n = t->data;
    struct oracle_node *o = O(n);
    if (n->stopping || !o)
        return;
    bool leader = replica_is_leader(n->replica);
    pthread_mutex_lock(&o->mu);
    bool changed = leader != o->leader;
    o->leader = leader;
    if (changed)
        o->wake = true, pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    static unsigned ticks;
    if (leader && (changed || ++ticks % 20 == 0 || !o->nvoters))
        update_voters(n);
    char la[64];
    if (!o->scanned && fsm_last_applied(n->fsm) > 0 && replica_leader(n->replica, la, sizeof la)) {
        o->scanned = true;
        scan(n);
    }
    agr_outbox_pump(o->agr);
    if (leader)
        agr_tick(o->agr);
    else if (changed)
        agr_reset(o->agr);
}

/* ---- routes, status, metrics ------------------------------------------------------------------ */

json_t *oracle_view(struct node *n, MDB_txn *txn, const char *fixture)
{
    if (!O(n))
        return NULL;
    json_t *r = oracle_state_get(n->fsm, txn, fixture);
    if (!r) {
        char ch[43];
        eth_address_checksum(O(n)->contract, ch);
        return json_pack("{s:s, s:I, s:s, s:I}", "state", "pending", "match_id",
                         (json_int_t)oracle_match_id(n->cfg.cluster, fixture), "contract", ch,
                         "chain_id", (json_int_t)O(n)->chain_id);
    }
    json_object_del(r, "signatures_raw");
    return r;
}

static json_t *addr_list(const uint8_t (*a)[20], size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char h[43];
        eth_address_checksum(a[i], h);
        json_array_append_new(arr, json_string(h));
    }
    return arr;
}

/* The most recent ORACLE_STATUS_RECENT results (newest change first) for the console's table:
 * fixture, state, score, transaction hash and block when known, reason of a failure. */
#define ORACLE_STATUS_RECENT 50
static int by_updated_desc(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "updated_at"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "updated_at"));
    return strcmp(y ? y : "", x ? x : "");
}

static json_t *recent_results(json_t *all)
{
    size_t n = json_array_size(all), i;
    json_t **v = n ? malloc(n * sizeof *v) : NULL, *out = json_array(), *o;
    if (n && !v)
        return out;
    json_array_foreach(all, i, o) v[i] = o;
    if (n)
        qsort(v, n, sizeof *v, by_updated_desc);
    static const char *const keep[] = {"fixture", "state", "status", "home", "away",
                                       "tx_hash", "block", "reason", "updated_at", NULL};
    for (i = 0; i < n && i < ORACLE_STATUS_RECENT; i++) {
        json_t *r = json_object();
        for (const char *const *k = keep; *k; k++)
            if (json_object_get(v[i], *k))
                json_object_set(r, *k, json_object_get(v[i], *k));
        json_array_append_new(out, r);
    }
    free(v);
    return out;
}

json_t *oracle_status(struct node *n)
{
    struct oracle_node *o = O(n);
    if (!o)
        return json_null();
    MDB_txn *txn;
    json_t *counts = NULL, *recent = NULL;
    if (fsm_read_begin(n->fsm, &txn) == 0) {
        counts = oracle_state_counts(n->fsm, txn);
        json_t *all = oracle_state_results(n->fsm, txn, 1);
        recent = recent_results(all);
        json_decref(all);
        fsm_read_end(txn);
    }
    char ch[43], sh[43], me[43];
    eth_address_checksum(o->contract, ch);
    eth_address_checksum(o->sender.address, sh);
    eth_address_checksum(o->address, me);
    pthread_mutex_lock(&o->mu);
    char balance[32];
    if (o->balance_wei == UINT64_MAX)
        snprintf(balance, sizeof balance, "over 18446744073709551615");
    else
        snprintf(balance, sizeof balance, "%" PRIu64, o->balance_wei);
    json_t *shared = json_array(), *only_c = json_array(), *only_v = json_array();
    for (size_t i = 0; i < o->nsigners; i++) {
        bool in = false;
        for (size_t k = 0; k < o->nvoters; k++)
            in |= !memcmp(o->voters[k], o->signers[i], 20);
        char h[43];
        eth_address_checksum(o->signers[i], h);
        json_array_append_new(in ? shared : only_c, json_string(h));
    }
    for (size_t k = 0; k < o->nvoters; k++)
        if (!is_signer(o, o->voters[k])) {
            char h[43];
            eth_address_checksum(o->voters[k], h);
            json_array_append_new(only_v, json_string(h));
        }
    json_t *s = json_pack(
        "{s:s, s:I, s:s, s:s, s:s, s:I, s:o, s:{s:b, s:o, s:i, s:o, s:o, s:o, s:o, s:b}, "
        "s:{s:s, s:b, s:I}, s:s, s:b, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
        "rpc", o->rpc_url, "chain_id", (json_int_t)o->chain_id, "contract", ch, "sender", sh,
        "node_address", me, "confirmations", (json_int_t)o->confirmations, "results",
        counts ? counts : json_object(), "signers", "known", o->signers_known, "contract",
        addr_list((const uint8_t(*)[20])o->signers, o->nsigners), "threshold", (int)o->threshold,
        "voters", addr_list((const uint8_t(*)[20])o->voters, o->nvoters), "shared", shared,
        "only_contract", only_c, "only_voters", only_v, "out_of_sync", o->out_of_sync,
        "balance", "wei", balance,
        "low", o->balance_low, "floor_wei", (json_int_t)o->balance_floor, "last_error",
        o->last_error, "leading", o->leader, "counters", "signatures_put",
        (json_int_t)o->sigs_put, "proposals", (json_int_t)o->proposals, "submissions",
        (json_int_t)o->submissions, "confirmed", (json_int_t)o->confirmed, "already",
        (json_int_t)o->already, "failed", (json_int_t)o->failed, "rpc_errors",
        (json_int_t)o->rpc_errors, "short_of_signers", (json_int_t)o->short_of_signers);
    pthread_mutex_unlock(&o->mu);
    json_object_set_new(s, "recent", recent ? recent : json_array());
    return s;
}

void oracle_metrics(struct node *n, char **buf, size_t *len, size_t *cap)
{
    struct oracle_node *o = O(n);
    if (!o)
        return;
    json_t *counts = NULL;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) == 0) {
        counts = oracle_state_counts(n->fsm, txn);
        fsm_read_end(txn);
    }
    metrics_printf(buf, len, cap, "# TYPE parlay_oracle_results gauge\n");
    const char *k;
    json_t *v;
    json_object_foreach(counts, k, v)
        metrics_printf(buf, len, cap, "parlay_oracle_results{state=\"%s\"} %lld\n", k,
                       (long long)json_integer_value(v));
    json_decref(counts);
    pthread_mutex_lock(&o->mu);
    const struct metric ms[] = {
        {"parlay_oracle_signatures_put_total", METRIC_COUNTER, o->sigs_put},
        {"parlay_oracle_proposals_total", METRIC_COUNTER, o->proposals},
        {"parlay_oracle_submissions_total", METRIC_COUNTER, o->submissions},
        {"parlay_oracle_confirmed_total", METRIC_COUNTER, o->confirmed},
        {"parlay_oracle_already_total", METRIC_COUNTER, o->already},
        {"parlay_oracle_failed_total", METRIC_COUNTER, o->failed},
        {"parlay_oracle_rpc_errors_total", METRIC_COUNTER, o->rpc_errors},
        {"parlay_oracle_short_of_signers_total", METRIC_COUNTER, o->short_of_signers},
        {"parlay_oracle_signers_out_of_sync", METRIC_GAUGE, o->out_of_sync},
        {"parlay_oracle_sender_balance_low", METRIC_GAUGE, o->balance_low},
        {"parlay_oracle_outbox", METRIC_GAUGE, agr_stats(o->agr)->outbox},
    };
    METRICS_PUT(buf, len, cap, ms);
    pthread_mutex_unlock(&o->mu);
}

int routes_oracle(struct http_req *r, const char *method, const char *path)
{
    struct node *n = r->node;
    if (!strcmp(path, "/internal/v1/oracle-signatures")) {
        r->route = ROUTE_OTHER;
        if (!O(n))
            http_problem(r, 404, "Not found", "this node publishes no results to a chain");
        else if (routes_method(r, method, "POST", "use POST"))
            do_signature(r);
        return 0;
    }
    if (!strcmp(path, "/admin/v1/oracle")) {
        r->route = ROUTE_OTHER;
        if (!routes_require_scope(r, "oracle") || !routes_method(r, method, "GET", "use GET"))
            return 0;
        if (!O(n)) {
            http_problem(r, 404, "Oracle not configured",
                         "this node has no 'oracle' settings (a sport node publishes results "
                         "to the chain when it has them)");
            return 0;
        }
        /* The signer cache, the balance and the counters live on the leader: ask it. */
        char la[64];
        if (!replica_is_leader(n->replica) && !r->forwarded &&
            replica_leader(n->replica, la, sizeof la) && la[0]) {
            http_forward_to_leader(r);
            return 0;
        }
        http_reply_json(r, 200, oracle_status(n));
        return 0;
    }
    return -1;
}

/* ---- start, stop ----------------------------------------------------------------------------- */

static int fail(char *err, size_t n, const char *fmt, const char *a)
{
    snprintf(err, n, fmt, a);
    return -1;
}

/* The integer setting @key of the "oracle" object @c: @def when absent, else from @min to @max
 * (@range says which in the refusal); -1 with the refusal in @err. */
static int int_setting(json_t *c, const char *key, uint64_t def, json_int_t min, json_int_t max,
                       const char *range, uint64_t *out, char *err, size_t n)
{
    json_t *v = json_object_get(c, key);
    if (v && (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)) {
        snprintf(err, n, "key 'oracle.%s' must be %s", key, range);
        return -1;
    }
    *out = v ? (uint64_t)json_integer_value(v) : def;
    return 0;
}

int oracle_start(struct node *n, char *err, size_t errlen)
{
    if (!n->cfg.oracle[0])
        return 0;
    if (!n->cfg.sport[0])
        return fail(err, errlen, "key 'oracle' is for sport nodes (results live there)%s", "");
    json_t *c = json_loads(n->cfg.oracle, 0, NULL);
    struct oracle_node *o = calloc(1, sizeof *o);
    o->node = n;
    int rv = -1;
    static const char *const known[] = {"rpc", "api_key_file", "chain_id", "contract",
                                        "sender_key_file", "confirmations", "max_fee_gwei",
                                        "balance_floor_wei", "poll_ms", "signers_refresh_ms",
                                        NULL};
    const char *k;
    json_t *v;
    json_object_foreach(c, k, v)
    {
        bool ok = false;
        for (const char *const *q = known; *q; q++)
            ok |= !strcmp(*q, k);
        if (!ok) {
            fail(err, errlen, "key 'oracle.%s' is unknown", k);
            goto out;
        }
    }
    const char *rpc = json_string_value(json_object_get(c, "rpc"));
    if (!rpc || (strncmp(rpc, "http://", 7) && strncmp(rpc, "https://", 8)) ||
        strlen(rpc) >= sizeof o->rpc_url) {
        fail(err, errlen, "key 'oracle.rpc' must be an http:// or https:// URL%s", "");
        goto out;
    }
    snprintf(o->rpc_url, sizeof o->rpc_url, "%s", rpc);
    const char *akf = json_string_value(json_object_get(c, "api_key_file"));
    if (akf && config_read_key_file("oracle.api_key_file", akf, true, o->api_key,
                                    sizeof o->api_key, err, errlen) != 0)
        goto out;
    json_t *ci = json_object_get(c, "chain_id");
    if (!json_is_integer(ci) || json_integer_value(ci) <= 0) {
        fail(err, errlen, "key 'oracle.chain_id' must be a positive integer%s", "");
        goto out;
    }
    o->chain_id = (uint64_t)json_integer_value(ci);
    const char *ca = json_string_value(json_object_get(c, "contract"));
    if (!ca || eth_address_parse(ca, o->contract) != ETH_OK) {
        fail(err, errlen, "key 'oracle.contract' must be a 20-byte hex address%s", "");
        goto out;
    }
    eth_address_checksum(o->contract, o->contract_hex);
    const char *skf = json_string_value(json_object_get(c, "sender_key_file"));
    eth_error ee = {0};
    if (!skf) {
        fail(err, errlen, "key 'oracle.sender_key_file' is required (the key that pays gas, "
                          "mode 0600)%s", "");
        goto out;
    }
    if (eth_key_load_file(&o->sender, skf, &ee) != ETH_OK) {
        snprintf(err, errlen, "key 'oracle.sender_key_file': %s", ee.message);
        goto out;
    }
    uint64_t confirmations, max_fee_gwei, poll_ms, refresh_ms;
    if (int_setting(c, "confirmations", 1, 1, 1000, "an integer 1..1000", &confirmations, err,
                    errlen) ||
        int_setting(c, "max_fee_gwei", 0, 0, 1000000, "an integer 0..1000000", &max_fee_gwei, err,
                    errlen) ||
        int_setting(c, "balance_floor_wei", 100000000000000000ull, 0, INT64_MAX,
                    "a non-negative integer", &o->balance_floor, err, errlen) ||
        int_setting(c, "poll_ms", 200, 10, 60000, "an integer 10..60000", &poll_ms, err, errlen) ||
        int_setting(c, "signers_refresh_ms", 2000, 100, INT64_MAX, "an integer >= 100",
                    &refresh_ms, err, errlen))
        goto out;
    o->confirmations = (unsigned)confirmations;
    o->max_fee_cap = max_fee_gwei * 1000000000ull;
    o->poll_ms = (unsigned)poll_ms;
    o->signers_refresh_ms = (unsigned)refresh_ms;
    if (key_load_secret(n->cfg.data_dir, o->sk) != 0) {
        fail(err, errlen, "key 'data_dir': cannot read node.key%s", "");
        goto out;
    }
    eth_key nk;
    eth_key_from_secret(&nk, o->sk);
    memcpy(o->address, nk.address, 20);
    eth_key_wipe(&nk);
    o->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    struct agr_env env = {.digest = env_digest, .send = env_send, .settled = env_settled,
                          .propose = env_propose, .agreed = env_agreed, .event = env_event};
    struct agr_options opt = {.outbox_ttl_ms = O_SIG_TTL_MS, .alert_ms = 30000};
    o->agr = agree_env_new(n, &env, &opt);
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    o->calls_tail = &o->calls;
    uv_async_init(n->loop, &o->async, oracle_on_async);
    o->async.data = n;
    uv_timer_init(n->loop, &o->timer);
    o->timer.data = n;
    n->oracle = o;
    if (pthread_create(&o->th, NULL, oracle_worker, o) != 0) {
        n->oracle = NULL;
        fail(err, errlen, "oracle: cannot start the worker thread%s", "");
        goto out;
    }
    uv_timer_start(&o->timer, on_tick, O_TICK_MS, O_TICK_MS);
    char me[43];
    eth_address_checksum(o->address, me);
    LOG_INFO("event=oracle_started chain_id=%" PRIu64 " contract=%s node_address=%s "
             "confirmations=%u",
             o->chain_id, o->contract_hex, me, o->confirmations);
    rv = 0;
out:
    json_decref(c);
    if (rv != 0 && !n->oracle)
        free(o); /* nothing started */
    return rv;
}

void oracle_stop(struct node *n)
{
    struct oracle_node *o = O(n);
    if (!o)
        return;
    uv_timer_stop(&o->timer);
    uv_close((uv_handle_t *)&o->timer, NULL);
    pthread_mutex_lock(&o->mu);
    o->stop = true;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    /* The worker may be inside a JSON-RPC call (bounded by its timeouts); it finishes on its
     * own. Calls still queued are answered "failed". */
    oracle_on_async(&o->async);
    pthread_join(o->th, NULL);
    uv_close((uv_handle_t *)&o->async, NULL);
}
