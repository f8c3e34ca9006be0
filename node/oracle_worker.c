/* The oracle's worker thread (one per sport node with the "oracle" key, active on the leader
 * only: blocking JSON-RPC never runs on the loop) and its bridge to the loop: the worker asks,
 * the loop proposes or reads, the worker waits for the answer. See node/oracle.c's opening
 * comment for the whole story. */
#include "node/oracle_internal.h"

/* ---- the bridge: the worker asks, the loop does ------------------------------------------- */

static void bcall_release(struct oracle_node *o, struct bcall *c)
{
    pthread_mutex_lock(&o->mu);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&o->mu);
    if (last) {
        free(c->in);
        free(c->out);
        free(c);
    }
}

static void bcall_finish(struct oracle_node *o, struct bcall *c, int rc, char *out)
{
    pthread_mutex_lock(&o->mu);
    c->rc = rc;
    c->out = out;
    c->done = true;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    bcall_release(o, c);
}

struct bprop {
    struct oracle_node *o;
    struct bcall *c;
};

static void on_bridge_proposed(void *arg, int outcome, const struct fsm_result *res)
{
    struct bprop *bp = arg;
    bool ok = outcome == REPLICA_OK && res && res->status < 300 && res->body;
    if (!ok)
        LOG_DEBUG("event=oracle_journal_refused outcome=%d status=%d", outcome,
                  res ? res->status : 0);
    bcall_finish(bp->o, bp->c, ok ? 0 : -1, ok ? strdup(res->body) : NULL);
    free(bp);
}

static void run_call(struct node *n, struct bcall *c)
{
    struct oracle_node *o = O(n);
    if (c->op == B_LIST || c->op == B_PENDING) {
        MDB_txn *txn;
        if (fsm_read_begin(n->fsm, &txn) != 0) {
            bcall_finish(o, c, -1, NULL);
            return;
        }
        json_t *a = c->op == B_LIST ? oracle_state_journal(n->fsm, txn)
                                    : oracle_state_results(n->fsm, txn, 0);
        fsm_read_end(txn);
        char *t = json_dumps(a, JSON_COMPACT);
        json_decref(a);
        bcall_finish(o, c, t ? 0 : -1, t);
        return;
    }
    if (!replica_is_leader(n->replica)) {
        bcall_finish(o, c, -1, NULL);
        return;
    }
    struct cmd cmd;
    char *payload;
    if (c->op == B_PUT) {
        payload = oracle_cmd_tx(&cmd, c->in);
    } else {
        json_t *b = json_loads(c->in, 0, NULL);
        payload = b ? oracle_cmd_done(&cmd, b) : NULL;
    }
    if (!payload) {
        bcall_finish(o, c, -1, NULL);
        return;
    }
    struct bprop *bp = malloc(sizeof *bp);
    *bp = (struct bprop){o, c};
    if (replica_propose(n->replica, &cmd, on_bridge_proposed, bp) != 0) {
        free(bp);
        bcall_finish(o, c, -1, NULL);
    }
    free(payload);
}

void oracle_on_async(uv_async_t *h)
{
    struct node *n = h->data;
    struct oracle_node *o = O(n);
    for (;;) {
        pthread_mutex_lock(&o->mu);
        struct bcall *c = o->calls;
        if (c) {
            o->calls = c->next;
            if (!o->calls)
                o->calls_tail = &o->calls;
        }
        pthread_mutex_unlock(&o->mu);
        if (!c)
            break;
        if (n->stopping)
            bcall_finish(o, c, -1, NULL);
        else
            run_call(n, c);
    }
}

/* The worker: ask the loop for @op and wait for the answer (*@out malloc'd). */
static int bridge(struct oracle_node *o, int op, const char *in, char **out)
{
    struct bcall *c = calloc(1, sizeof *c);
    c->op = op;
    c->in = in ? strdup(in) : NULL;
    c->refs = 2;
    pthread_mutex_lock(&o->mu);
    if (o->stop) {
        pthread_mutex_unlock(&o->mu);
        free(c->in);
        free(c);
        return -1;
    }
    *o->calls_tail = c;
    o->calls_tail = &c->next;
    pthread_mutex_unlock(&o->mu);
    uv_async_send(&o->async);
    pthread_mutex_lock(&o->mu);
    while (!c->done && !o->stop)
        pthread_cond_wait(&o->cv, &o->mu);
    int rc = c->done ? c->rc : -1;
    if (out)
        *out = c->done && c->out ? strdup(c->out) : NULL;
    pthread_mutex_unlock(&o->mu);
    bcall_release(o, c);
    return rc;
}

static int j_put(void *ctx, oracle_tx_record *r)
{
    struct oracle_node *o = ctx;
    char *t = oracle_tx_record_to_text(r), *out = NULL;
    int rc = t ? bridge(o, B_PUT, t, &out) : -1;
    free(t);
    json_t *a = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    uint64_t id = (uint64_t)json_integer_value(json_object_get(a, "id"));
    json_decref(a);
    if (rc != 0 || !id)
        return ETH_EJOURNAL;
    r->id = id;
    return ETH_OK;
}

static int j_list(void *ctx, oracle_tx_record **out, size_t *n)
{
    struct oracle_node *o = ctx;
    char *t = NULL;
    *out = NULL;
    *n = 0;
    if (bridge(o, B_LIST, NULL, &t) != 0 || !t) {
        free(t);
        return ETH_EJOURNAL;
    }
    json_t *a = json_loads(t, 0, NULL);
    free(t);
    size_t cnt = json_array_size(a), k = 0;
    oracle_tx_record *recs = calloc(cnt ? cnt : 1, sizeof *recs);
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        char *et = json_dumps(e, JSON_COMPACT);
        if (et && oracle_tx_record_from_text(et, strlen(et), 0, &recs[k]) == ETH_OK)
            k++;
        free(et);
    }
    json_decref(a);
    *out = recs;
    *n = k;
    return ETH_OK;
}

static void j_close(void *ctx)
{
    (void)ctx;
}

/* ---- the worker ------------------------------------------------------------------------------ */

static void set_error(struct oracle_node *o, const char *what, int rc, const eth_error *err)
{
    pthread_mutex_lock(&o->mu);
    snprintf(o->last_error, sizeof o->last_error, "%.60s: %.60s%s%.256s", what, eth_strerror(rc),
             err && err->message[0] ? ": " : "", err ? err->message : "");
    pthread_mutex_unlock(&o->mu);
}

static int done(struct oracle_node *o, json_t *b)
{
    char *t = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    int rc = t ? bridge(o, B_DONE, t, NULL) : -1;
    free(t);
    return rc;
}

static void refresh_signers(struct oracle_node *o, eth_rpc *rpc)
{
    uint8_t(*s)[20] = NULL;
    size_t ns = 0;
    unsigned th = 0;
    eth_error err = {0};
    int rc = oracle_read_signers(rpc, o->contract, &s, &ns, &th, &err);
    if (rc != ETH_OK) {
        o->rpc_errors++;
        set_error(o, "reading the contract's signers", rc, &err);
        return;
    }
    pthread_mutex_lock(&o->mu);
    o->nsigners = ns > 32 ? 32 : ns;
    memcpy(o->signers, s, o->nsigners * 20);
    o->threshold = th;
    o->signers_known = true;
    /* The voters' addresses come from the loop; compare the two sets. */
    bool differ = o->nvoters != o->nsigners;
    for (size_t i = 0; i < o->nvoters && !differ; i++)
        differ = !is_signer(o, o->voters[i]);
    bool was = o->out_of_sync;
    o->out_of_sync = o->nvoters > 0 && differ;
    pthread_mutex_unlock(&o->mu);
    if (o->out_of_sync && !was)
        LOG_WARN("event=oracle_signers_out_of_sync signers=%zu threshold=%u voters=%zu "
                 "why=\"the contract's signer set differs from the cluster's voters: "
                 "parlayctl oracle sync-signers\"",
                 ns, th, o->nvoters);
    else if (!o->out_of_sync && was)
        LOG_INFO("event=oracle_signers_in_sync signers=%zu threshold=%u", ns, th);
    free(s);
}

/* The contract's configVersion (bumped by every setSigners); 0 if it cannot be read. */
static uint64_t config_version(struct oracle_node *o, eth_rpc *rpc)
{
    uint8_t sel[4];
    eth_abi_selector("configVersion()", sel);
    eth_buf out;
    eth_buf_init(&out);
    eth_error err = {0};
    uint64_t v = 0;
    if (eth_rpc_call_contract(rpc, o->contract, sel, 4, &out, &err) == ETH_OK && out.len >= 32)
        v = eth_abi_read_u64(out.p);
    eth_buf_free(&out);
    return v;
}

static void check_balance(struct oracle_node *o, eth_rpc *rpc)
{
    char params[80], addr[43], *res = NULL;
    eth_hex_write(o->sender.address, 20, addr);
    snprintf(params, sizeof params, "[\"%s\",\"latest\"]", addr);
    eth_error err = {0};
    if (eth_rpc_call(rpc, "eth_getBalance", params, &res, &err) != ETH_OK) {
        o->rpc_errors++;
        return;
    }
    json_t *j = json_loads(res, JSON_DECODE_ANY, NULL);
    free(res);
    const char *hex = json_string_value(j);
    uint64_t bal = 0;
    /* Above 2^64 wei (18.4 ETH) counts as plenty. */
    bool big = hex && strlen(hex) > 18;
    if (hex && !big)
        eth_hex_u64(hex, &bal);
    json_decref(j);
    if (big)
        bal = UINT64_MAX;
    pthread_mutex_lock(&o->mu);
    bool was = o->balance_low;
    o->balance_wei = bal;
    o->balance_low = bal < o->balance_floor;
    pthread_mutex_unlock(&o->mu);
    if (o->balance_low && !was)
        LOG_WARN("event=oracle_balance_low sender=%s balance_wei=%" PRIu64 " floor_wei=%" PRIu64,
                 addr, bal, o->balance_floor);
}

/* Submit one signed result (not on chain yet as far as we know). */
static void submit(struct oracle_node *o, oracle_txm *m, json_t *rec)
{
    const char *fixture = json_string_value(json_object_get(rec, "fixture"));
    oracle_result r = {
        .match_id = (uint64_t)json_integer_value(json_object_get(rec, "match_id")),
        .status = (uint8_t)oracle_status_code(
            json_string_value(json_object_get(rec, "status"))),
        .home = (uint16_t)json_integer_value(json_object_get(rec, "home")),
        .away = (uint16_t)json_integer_value(json_object_get(rec, "away"))};
    uint8_t sigs[32][65];
    size_t ns = 0;
    size_t i;
    json_t *s;
    pthread_mutex_lock(&o->mu);
    unsigned threshold = o->threshold;
    bool known = o->signers_known;
    json_array_foreach(json_object_get(rec, "signatures"), i, s)
    {
        uint8_t a[20];
        const char *ah = json_string_value(json_object_get(s, "address"));
        if (ns < 32 && ah && eth_address_parse(ah, a) == ETH_OK && is_signer(o, a) &&
            eth_hex_decode(json_string_value(json_object_get(s, "signature")), sigs[ns], 65) ==
                ETH_OK)
            ns++;
    }
    pthread_mutex_unlock(&o->mu);
    if (!known)
        return; /* the contract's signers are read first (the endpoint may be down) */
    if (ns < threshold) {
        o->short_of_signers++;
        LOG_WARN("event=oracle_short_of_signers fixture=%s shared=%zu threshold=%u "
                 "why=\"too few of its signers are signers of the contract\"",
                 fixture, ns, threshold);
        return;
    }
    uint64_t id = 0;
    eth_error err = {0};
    int rc = oracle_submit_result(m, o->contract, &r, (const uint8_t(*)[65])sigs, ns, &id, &err);
    if (rc == ETH_OK) {
        o->submissions++;
        LOG_INFO("event=oracle_submitted fixture=%s match_id=%" PRIu64 " tx=%" PRIu64, fixture,
                 r.match_id, id);
        return;
    }
    if (rc == ETH_EALREADY) {
        oracle_result got;
        int present = 0;
        json_t *b = json_pack("{s:s, s:s}", "fixture", fixture, "outcome", "already");
        if (oracle_read_result(oracle_txm_rpc(m), o->contract, r.match_id, &got, &present,
                               &err) == ETH_OK &&
            present) {
            json_object_set_new(b, "onchain",
                                json_pack("{s:s, s:i, s:i}", "status",
                                          got.status == ORACLE_STATUS_VOID ? "void" : "final",
                                          "home", (int)got.home, "away", (int)got.away));
            if (got.status != r.status || got.home != r.home || got.away != r.away)
                json_object_set_new(b, "reason",
                                    json_string("the contract holds another result for this "
                                                "match"));
        }
        if (done(o, b) == 0) {
            o->already++;
            LOG_INFO("event=oracle_already_on_chain fixture=%s", fixture);
        }
        return;
    }
    if (rc == ETH_EREVERT) {
        const char *why = err.reason[0] ? err.reason : err.message;
        /* A signer-set change can make today's signatures insufficient: wait for the set to
         * be refreshed rather than give up. */
        if (strstr(why, "UnknownSigner") || strstr(why, "NotEnoughSignatures")) {
            set_error(o, fixture, rc, &err);
            return;
        }
        if (done(o, json_pack("{s:s, s:s, s:s}", "fixture", fixture, "outcome", "failed",
                              "reason", why)) == 0) {
            o->failed++;
            LOG_WARN("event=oracle_failed fixture=%s reason=\"%s\"", fixture, why);
        }
        return;
    }
    o->rpc_errors++;
    set_error(o, "submit", rc, &err);
    LOG_DEBUG("event=oracle_submit_later fixture=%s err=\"%s: %s\"", fixture, eth_strerror(rc),
              err.message);
}

/* A record the manager calls superseded (its nonce was used and no receipt was found: under
 * load anvil advances the nonce before it serves the receipt) may still be ours: look at every
 * submit attempt's receipt once more. 1: ours is mined (its confirmation is recorded once deep
 * enough), 0: it is not, -1: the endpoint failed. */
static int ours_mined(struct oracle_node *o, oracle_txm *m, const oracle_tx_record *tr,
                      const char *fixture)
{
    eth_rpc *rpc = oracle_txm_rpc(m);
    size_t submits = tr->noop ? (size_t)tr->noop - 1 : tr->nattempts;
    eth_error err = {0};
    for (size_t i = 0; i < submits && i < tr->nattempts; i++) {
        eth_receipt rc;
        if (eth_rpc_receipt(rpc, tr->attempts[i], &rc, &err) != ETH_OK)
            return -1;
        if (!rc.found || rc.status != 1)
            continue;
        uint64_t head;
        if (eth_rpc_block_number(rpc, &head, &err) != ETH_OK)
            return -1;
        if (head + 1 < rc.block_number + o->confirmations)
            return 1; /* ours; not deep enough yet */
        char hh[67];
        eth_hex_write(tr->attempts[i], 32, hh);
        if (done(o, json_pack("{s:s, s:s, s:I, s:s, s:I, s:I}", "fixture", fixture, "outcome",
                              "confirmed", "tx_id", (json_int_t)tr->id, "tx_hash", hh, "block",
                              (json_int_t)rc.block_number, "gas_used",
                              (json_int_t)rc.gas_used)) == 0) {
            o->confirmed++;
            LOG_INFO("event=oracle_confirmed fixture=%s tx=%s block=%" PRIu64 " gas_used=%" PRIu64
                     " found=late_receipt",
                     fixture, hh, rc.block_number, rc.gas_used);
        }
        return 1;
    }
    return 0;
}

/* One round of the leader's work on the results not final yet. */
static void follow_results(struct oracle_node *o, oracle_txm *m)
{
    char *t = NULL;
    if (bridge(o, B_PENDING, NULL, &t) != 0 || !t) {
        free(t);
        return;
    }
    json_t *all = json_loads(t, 0, NULL);
    free(t);
    size_t i;
    json_t *rec;
    json_array_foreach(all, i, rec)
    {
        const char *fixture = json_string_value(json_object_get(rec, "fixture"));
        uint64_t tx = (uint64_t)json_integer_value(json_object_get(rec, "tx_id"));
        oracle_tx_record tr;
        if (!fixture)
            continue;
        if (!tx || oracle_txm_get(m, tx, &tr) != ETH_OK) {
            submit(o, m, rec);
            continue;
        }
        int st = tr.state;
        char hh[67] = "";
        if (tr.mined_attempt >= 0 && (size_t)tr.mined_attempt < tr.nattempts)
            eth_hex_write(tr.attempts[tr.mined_attempt], 32, hh);
        json_t *b = NULL;
        if (st == ORACLE_TX_CONFIRMED) {
            b = json_pack("{s:s, s:s, s:I, s:s, s:I, s:I}", "fixture", fixture, "outcome",
                          "confirmed", "tx_id", (json_int_t)tr.id, "tx_hash", hh, "block",
                          (json_int_t)tr.block_number, "gas_used", (json_int_t)tr.gas_used);
            if (done(o, b) == 0) {
                o->confirmed++;
                LOG_INFO("event=oracle_confirmed fixture=%s tx=%s block=%" PRIu64
                         " gas_used=%" PRIu64,
                         fixture, hh, tr.block_number, tr.gas_used);
            }
        } else if (st == ORACLE_TX_FAILED) {
            b = json_pack("{s:s, s:s, s:I, s:s, s:I, s:s}", "fixture", fixture, "outcome",
                          "failed", "tx_id", (json_int_t)tr.id, "tx_hash", hh, "block",
                          (json_int_t)tr.block_number, "reason", "the transaction reverted");
            if (done(o, b) == 0)
                o->failed++;
        } else if (st == ORACLE_TX_SUPERSEDED) {
            /* Ours after all? Else the contract read tells "already there" from "send again". */
            if (ours_mined(o, m, &tr, fixture) == 0)
                submit(o, m, rec);
        }
        oracle_tx_record_free(&tr);
    }
    json_decref(all);
}

void *oracle_worker(void *arg)
{
    struct oracle_node *o = arg;
    eth_rpc *rpc = eth_rpc_new(&(eth_rpc_config){.url = o->rpc_url,
                                                 .api_key = o->api_key[0] ? o->api_key : NULL,
                                                 .timeout_ms = 5000,
                                                 .max_attempts = 2,
                                                 .backoff_ms = 100,
                                                 .max_backoff_ms = 1000});
    oracle_journal j = {.ctx = o, .put = j_put, .list = j_list, .close = j_close};
    oracle_txm *m = NULL;
    uint64_t signers_at = 0, balance_at = 0, version = 0;
    for (;;) {
        pthread_mutex_lock(&o->mu);
        if (!o->wake && !o->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += (long)(o->poll_ms % 1000) * 1000000L;
            ts.tv_sec += o->poll_ms / 1000 + ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&o->cv, &o->mu, &ts);
        }
        o->wake = false;
        bool stop = o->stop, leader = o->leader;
        pthread_mutex_unlock(&o->mu);
        if (stop)
            break;
        if (!leader) {
            if (m) {
                LOG_INFO("event=oracle_worker_idle why=\"not the leader\"");
                oracle_txm_free(m);
                m = NULL;
            }
            continue;
        }
        uint64_t now = mono_ms();
        /* The signer set is re-read when the contract's configVersion moves (one cheap call a
         * round), and every signers_refresh_ms anyway (the voters may have changed). */
        uint64_t v = config_version(o, rpc);
        if (!signers_at || (v && v != version) || now - signers_at >= o->signers_refresh_ms) {
            refresh_signers(o, rpc);
            signers_at = now;
            version = v;
        }
        if (!balance_at || now - balance_at >= 10000) {
            check_balance(o, rpc);
            balance_at = now;
        }
        if (!m) {
            m = oracle_txm_new(rpc, &o->sender, &j,
                               &(oracle_txm_config){.chain_id = o->chain_id,
                                                    .confirmations = o->confirmations,
                                                    .stuck_seconds = 15,
                                                    .max_fee_cap = o->max_fee_cap});
            if (!m)
                continue;
            LOG_INFO("event=oracle_worker_leading");
        }
        eth_error err = {0};
        int rc = oracle_txm_poll(m, &err);
        if (rc != ETH_OK) {
            o->rpc_errors++;
            set_error(o, "following transactions", rc, &err);
            if (rc == ETH_EIO || rc == ETH_ETIMEOUT || rc == ETH_ERATELIMIT)
                continue; /* the endpoint is down: wait for it */
            if (rc == ETH_EJOURNAL) { /* leadership moved under us: start again from the log */
                oracle_txm_free(m);
                m = NULL;
                continue;
            }
        } else {
            pthread_mutex_lock(&o->mu);
            o->chain_ok = true;
            pthread_mutex_unlock(&o->mu);
        }
        follow_results(o, m);
    }
    oracle_txm_free(m);
    eth_rpc_free(rpc);
    return NULL;
}

