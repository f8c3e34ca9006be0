/* The Raft replica; see replica.h.
 *
 * Proposals: replica_propose encodes the command at once and adds it to the open batch of this
 * loop iteration; a uv_check handle (right after the poll phase, where requests arrive) and a
 * uv_prepare handle (before the loop next blocks, for proposals made elsewhere) hand the batch
 * to raft_apply as ONE log entry: a CMD_BATCH of the commands (codec.h), or the command itself
 * when it is alone. raft 0.22's legacy raft_apply takes one buffer per entry, so without this
 * every proposal was its own entry with its own AppendEntries round to each follower. A batch
 * is also handed over when it reaches CMD_BATCH_MAX commands or CMD_BATCH_BYTES, and before
 * anything else is asked of raft (a command that may not be batched, a barrier, a membership
 * change, a transfer), so entries keep the order of the calls that made them.
 *
 * Raft fires the apply callback on the proposing leader only, and may fire it after later
 * entries were applied, so a command's result does not travel through raft's result pointer:
 * the state machine's entry hook gives (index, position in the entry, result) and the pending
 * entry found by index copies each result to its proposal. When raft reports success the
 * answers are deferred until the LMDB batch holding the entry is committed (fsm_defer), so a
 * client never sees an acknowledgement for state that is not in the database. A leadership
 * loss fails pending entries with RAFT_LEADERSHIPLOST: the entry may still commit, so that
 * outcome is "unknown" for every proposal in it. A batch raft refuses when it is handed over
 * (this node stopped leading during the iteration) was never proposed: "not leader".
 *
 * Transport: transport.c in place of raft_uv_tcp. The replica answers its two questions: may a
 * node connect (a member of the current configuration, voter, standby or spare; anyone with
 * the secret while this node has no configuration yet, i.e. waits to be added: the leader
 * adding it must get through), and which term has a committed entry (transport_terms.h).
 *
 * Membership: the leader records every initial member's HTTP address in the replicated member
 * table (so that followers can forward writes to it) from a periodic tick.
 */
#include "consensus/replica.h"

#include <errno.h>
#include <raft/uv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/members.h"
#include "consensus/transport.h"
#include "consensus/transport_terms.h"
#include "common/log.h"

#define BUCKETS 1024

/* One proposal: the caller's callback and, once applied, its command's result. */
struct waiter {
    replica_result_cb cb;
    void *arg;
    struct fsm_result res;
    bool have_result;
    int outcome;
};

/* One raft entry in flight: a plain command (n == 1) or a batch. */
struct proposal {
    struct raft_apply req;
    struct replica *rp;
    struct proposal *next; /* bucket chain */
    unsigned n;
    struct waiter w[];
};

struct change {
    union {
        struct raft_change change;
        struct raft_barrier barrier;
        struct raft_transfer transfer;
    };
    struct replica *rp;
    replica_done_cb cb;
    void *arg;
};

struct replica {
    int64_t clock_offset_ms; /* tests only (replica_set_clock_offset); 0 in production */
    uv_loop_t *loop;
    struct raft raft;
    struct raft_io io;
    struct raft_uv_transport transport;
    struct log_terms *terms;
    struct fsm *fsm;
    uint64_t id;
    struct replica_member *initial;
    unsigned n_initial;
    struct proposal *pending[BUCKETS];
    uv_timer_t tick;
    bool members_proposing;
    uint64_t idem_ttl_ms, idem_next_sweep;
    bool idem_sweeping;
    unsigned snapshot_threshold, snapshot_threshold_max;
    unsigned snapshot_threshold_now; /* what raft has now (snapshot_scale) */
    /* snapshot-now */
    replica_done_cb snap_cb;
    void *snap_arg;
    uint64_t snap_target;
    int snap_rounds;
    void (*close_cb)(void *);
    void *close_arg;
    uint64_t leader_cache_id, leader_cache_until;
    char leader_cache_http[64];
    /* The open batch: payload (CMD_BATCH_HEADER, then items) and one waiter per item. */
    uint8_t *batch;
    size_t batch_len;
    unsigned batch_n;
    struct waiter batch_w[CMD_BATCH_MAX];
    uv_check_t check;
    uv_prepare_t prepare;
    bool armed, closing;
    int handles_open;
};

const char *replica_outcome_name(int outcome)
{
    switch (outcome) {
    case REPLICA_OK: return "ok";
    case REPLICA_NOTLEADER: return "not leader";
    case REPLICA_UNKNOWN: return "outcome unknown (leadership lost)";
    case REPLICA_BUSY: return "busy";
    default: return "failed";
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t replica_now_ms(struct replica *rp)
{
    return (uint64_t)((int64_t)now_ms() + rp->clock_offset_ms);
}

void replica_set_clock_offset(struct replica *rp, int64_t offset_ms)
{
    rp->clock_offset_ms = offset_ms;
}

static void pending_remove(struct replica *rp, struct proposal *p)
{
    struct proposal **pp = &rp->pending[p->req.index % BUCKETS];
    for (; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

static void on_result(void *ctx, uint64_t index, uint32_t pos, const struct fsm_result *res)
{
    struct replica *rp = ctx;
    for (struct proposal *p = rp->pending[index % BUCKETS]; p; p = p->next)
        if (p->req.index == index) {
            for (unsigned i = 0; i < p->n; i++) {
                if (pos != FSM_POS_ENTRY && pos != i)
                    continue;
                struct waiter *w = &p->w[i];
                fsm_result_clear(&w->res);
                w->res.status = res->status;
                w->res.body = res->body ? strdup(res->body) : NULL;
                w->have_result = true;
            }
            return;
        }
}

static void proposal_deliver(void *arg)
{
    struct proposal *p = arg;
    for (unsigned i = 0; i < p->n; i++) {
        struct waiter *w = &p->w[i];
        w->cb(w->arg, w->outcome, w->outcome == REPLICA_OK ? &w->res : NULL);
        fsm_result_clear(&w->res);
    }
    free(p);
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    (void)result;
    struct proposal *p = req->data;
    struct replica *rp = p->rp;
    pending_remove(rp, p);
    for (unsigned i = 0; i < p->n; i++) {
        struct waiter *w = &p->w[i];
        if (status == 0 && w->have_result)
            w->outcome = REPLICA_OK;
        else if (status == 0 || status == RAFT_LEADERSHIPLOST)
            w->outcome = REPLICA_UNKNOWN;
        else
            w->outcome = status == RAFT_NOTLEADER ? REPLICA_NOTLEADER : REPLICA_FAILED;
    }
    if (status != 0)
        LOG_WARN("event=proposal_failed index=%llu commands=%u err=\"%s\"",
                 (unsigned long long)req->index, p->n, raft_strerror(status));
    fsm_defer(rp->fsm, proposal_deliver, p);
}

/* Answer every proposal of the open batch with @outcome (later, from the loop: never inside
 * the caller's replica_propose) and empty the batch. */
static void batch_fail(struct replica *rp, int outcome)
{
    unsigned n = rp->batch_n;
    rp->batch_n = 0;
    rp->batch_len = 0;
    if (n == 0)
        return;
    struct proposal *p = malloc(sizeof *p + n * sizeof *p->w);
    if (!p) {
        for (unsigned i = 0; i < n; i++) /* out of memory: answer now rather than never */
            rp->batch_w[i].cb(rp->batch_w[i].arg, outcome, NULL);
        return;
    }
    p->rp = rp;
    p->n = n;
    memcpy(p->w, rp->batch_w, n * sizeof *p->w);
    for (unsigned i = 0; i < n; i++)
        p->w[i].outcome = outcome;
    fsm_defer(rp->fsm, proposal_deliver, p);
}

static void batch_disarm(struct replica *rp)
{
    if (rp->armed) {
        uv_check_stop(&rp->check);
        uv_prepare_stop(&rp->prepare);
        rp->armed = false;
    }
}

/* Hand the open batch to raft as one entry (the command itself when it is alone). */
static void batch_flush(struct replica *rp)
{
    batch_disarm(rp);
    unsigned n = rp->batch_n;
    if (n == 0)
        return;
    struct raft_buffer buf = {NULL, 0};
    if (n == 1) {
        buf.len = rp->batch_len - CMD_BATCH_HEADER - CMD_BATCH_ITEM_HEADER;
        if ((buf.base = raft_malloc(buf.len)))
            memcpy(buf.base, rp->batch + CMD_BATCH_HEADER + CMD_BATCH_ITEM_HEADER, buf.len);
    } else {
        cmd_batch_put_header(rp->batch, n);
        struct cmd b = {.type = CMD_BATCH, .time_ms = replica_now_ms(rp),
                        .payload = (const char *)rp->batch, .payload_len = rp->batch_len};
        buf.len = cmd_encoded_size(&b);
        if ((buf.base = raft_malloc(buf.len)) && cmd_encode(&b, buf.base, buf.len) != CMD_OK) {
            raft_free(buf.base);
            buf.base = NULL;
        }
    }
    struct proposal *p = buf.base ? malloc(sizeof *p + n * sizeof *p->w) : NULL;
    if (!p) {
        raft_free(buf.base);
        batch_fail(rp, REPLICA_FAILED);
        return;
    }
    p->rp = rp;
    p->n = n;
    memcpy(p->w, rp->batch_w, n * sizeof *p->w);
    p->req.data = p;
    rp->batch_n = 0;
    rp->batch_len = 0;
    int rv = raft_apply(&rp->raft, &p->req, &buf, 1, apply_cb);
    if (rv != 0) {
        /* Nothing was proposed (this node stopped leading during the iteration, or raft is
         * closing): every proposal of the batch gets that answer, from the loop. */
        raft_free(buf.base);
        int outcome = rv == RAFT_NOTLEADER ? REPLICA_NOTLEADER : REPLICA_FAILED;
        for (unsigned i = 0; i < n; i++)
            p->w[i].outcome = outcome;
        fsm_defer(rp->fsm, proposal_deliver, p);
        return;
    }
    p->next = rp->pending[p->req.index % BUCKETS];
    rp->pending[p->req.index % BUCKETS] = p;
}

static void on_check(uv_check_t *h)
{
    batch_flush(h->data);
}

static void on_prepare(uv_prepare_t *h)
{
    batch_flush(h->data);
}

/* A command that may not share an entry (codec.h, cmd_batchable) or is too big for a batch:
 * its own entry, proposed now (after the open batch, to keep the order of the calls). */
static int propose_plain(struct replica *rp, struct cmd *c, replica_result_cb cb, void *arg)
{
    batch_flush(rp);
    if (raft_state(&rp->raft) != RAFT_LEADER)
        return REPLICA_NOTLEADER;
    size_t size = cmd_encoded_size(c);
    struct raft_buffer buf = {raft_malloc(size), size};
    struct proposal *p = calloc(1, sizeof *p + sizeof *p->w);
    if (!buf.base || !p) {
        raft_free(buf.base);
        free(p);
        return REPLICA_FAILED;
    }
    if (cmd_encode(c, buf.base, size) != CMD_OK) {
        raft_free(buf.base);
        free(p);
        return REPLICA_FAILED;
    }
    p->rp = rp;
    p->n = 1;
    p->w[0].cb = cb;
    p->w[0].arg = arg;
    p->req.data = p;
    int rv = raft_apply(&rp->raft, &p->req, &buf, 1, apply_cb);
    if (rv != 0) {
        raft_free(buf.base);
        free(p);
        return rv == RAFT_NOTLEADER ? REPLICA_NOTLEADER : REPLICA_FAILED;
    }
    p->next = rp->pending[p->req.index % BUCKETS];
    rp->pending[p->req.index % BUCKETS] = p;
    return REPLICA_OK;
}

int replica_propose(struct replica *rp, struct cmd *c, replica_result_cb cb, void *arg)
{
    if (rp->closing)
        return REPLICA_FAILED;
    if (raft_state(&rp->raft) != RAFT_LEADER)
        return REPLICA_NOTLEADER;
    c->time_ms = replica_now_ms(rp);
    if (c->idem_len > CMD_IDEM_MAX || c->payload_len > CMD_PAYLOAD_MAX)
        return REPLICA_FAILED;
    size_t item = cmd_batch_item_size(c);
    if (!cmd_batchable(c->type) || !rp->batch || item > CMD_BATCH_BYTES - CMD_BATCH_HEADER)
        return propose_plain(rp, c, cb, arg);
    if (rp->batch_n == CMD_BATCH_MAX || rp->batch_len + item > CMD_BATCH_BYTES)
        batch_flush(rp);
    if (rp->batch_n == 0)
        rp->batch_len = CMD_BATCH_HEADER;
    if (cmd_batch_put_item(rp->batch + rp->batch_len, CMD_BATCH_BYTES - rp->batch_len, c) !=
        CMD_OK) {
        if (rp->batch_n == 0)
            rp->batch_len = 0;
        return REPLICA_FAILED;
    }
    rp->batch_len += item;
    rp->batch_w[rp->batch_n++] = (struct waiter){.cb = cb, .arg = arg};
    if (!rp->armed) {
        uv_check_start(&rp->check, on_check);
        uv_prepare_start(&rp->prepare, on_prepare);
        rp->armed = true;
    }
    return REPLICA_OK;
}

static int outcome_of(int status)
{
    if (status == 0)
        return REPLICA_OK;
    if (status == RAFT_LEADERSHIPLOST)
        return REPLICA_UNKNOWN;
    if (status == RAFT_NOTLEADER)
        return REPLICA_NOTLEADER;
    return REPLICA_FAILED;
}

static void change_deliver(void *arg)
{
    struct change *ch = arg;
    int status = ch->change.status;
    ch->cb(ch->arg, outcome_of(status), status ? raft_strerror(status) : NULL);
    free(ch);
}

static void change_cb(struct raft_change *req, int status)
{
    struct change *ch = req->data;
    ch->change.status = status;
    fsm_defer(ch->rp->fsm, change_deliver, ch);
}

static void barrier_cb(struct raft_barrier *req, int status)
{
    struct change *ch = req->data;
    ch->change.status = status;
    fsm_defer(ch->rp->fsm, change_deliver, ch);
}

static struct change *change_new(struct replica *rp, replica_done_cb cb, void *arg)
{
    struct change *ch = calloc(1, sizeof *ch);
    if (ch) {
        ch->rp = rp;
        ch->cb = cb;
        ch->arg = arg;
        ch->change.data = ch;
    }
    return ch;
}

/* Map a synchronous raft error to (outcome, detail) and call back at once. */
static int change_start_failed(struct change *ch, int rv)
{
    int outcome = rv == RAFT_NOTLEADER ? REPLICA_NOTLEADER
                  : rv == RAFT_CANTCHANGE ? REPLICA_BUSY
                                          : REPLICA_FAILED;
    char detail[160];
    snprintf(detail, sizeof detail, "%s", raft_strerror(rv));
    ch->cb(ch->arg, outcome, detail);
    free(ch);
    return outcome;
}

int replica_barrier(struct replica *rp, replica_done_cb cb, void *arg)
{
    batch_flush(rp); /* the proposals made before this go first */
    struct change *ch = change_new(rp, cb, arg);
    if (!ch)
        return REPLICA_FAILED;
    ch->barrier.data = ch;
    int rv = raft_barrier(&rp->raft, &ch->barrier, barrier_cb);
    return rv ? change_start_failed(ch, rv) : REPLICA_OK;
}

int replica_add(struct replica *rp, uint64_t id, const char *raft_address, replica_done_cb cb,
                void *arg)
{
    batch_flush(rp); /* the proposals made before this go first */
    struct change *ch = change_new(rp, cb, arg);
    if (!ch)
        return REPLICA_FAILED;
    int rv = raft_add(&rp->raft, &ch->change, id, raft_address, change_cb);
    return rv ? change_start_failed(ch, rv) : REPLICA_OK;
}

int replica_assign(struct replica *rp, uint64_t id, int role, replica_done_cb cb, void *arg)
{
    batch_flush(rp); /* the proposals made before this go first */
    struct change *ch = change_new(rp, cb, arg);
    if (!ch)
        return REPLICA_FAILED;
    int rv = raft_assign(&rp->raft, &ch->change, id, role, change_cb);
    return rv ? change_start_failed(ch, rv) : REPLICA_OK;
}

int replica_remove(struct replica *rp, uint64_t id, replica_done_cb cb, void *arg)
{
    batch_flush(rp); /* the proposals made before this go first */
    struct change *ch = change_new(rp, cb, arg);
    if (!ch)
        return REPLICA_FAILED;
    int rv = raft_remove(&rp->raft, &ch->change, id, change_cb);
    return rv ? change_start_failed(ch, rv) : REPLICA_OK;
}

static void transfer_cb(struct raft_transfer *req)
{
    struct change *ch = req->data;
    raft_id leader;
    const char *addr;
    raft_leader(&ch->rp->raft, &leader, &addr);
    ch->change.status = leader != ch->rp->id && leader != 0 ? 0 : RAFT_NOCONNECTION;
    fsm_defer(ch->rp->fsm, change_deliver, ch);
}

int replica_transfer(struct replica *rp, uint64_t id, replica_done_cb cb, void *arg)
{
    batch_flush(rp); /* the proposals made before this go first */
    struct change *ch = change_new(rp, cb, arg);
    if (!ch)
        return REPLICA_FAILED;
    ch->transfer.data = ch;
    int rv = raft_transfer(&rp->raft, &ch->transfer, id, transfer_cb);
    return rv ? change_start_failed(ch, rv) : REPLICA_OK;
}

/* Snapshot now: lower the threshold and push barriers through until a snapshot lands (the
 * state machine's copy runs off the loop, so raft needs a later apply to pick it up). */
static void snap_step(void *arg, int outcome, const char *detail);

static void snap_finish(struct replica *rp, int outcome, const char *detail)
{
    raft_set_snapshot_threshold(&rp->raft, rp->snapshot_threshold_now);
    fsm_snapshot_cancel(rp->fsm); /* a copy started by the last barrier is not wanted */
    replica_done_cb cb = rp->snap_cb;
    rp->snap_cb = NULL;
    cb(rp->snap_arg, outcome, detail);
}

static void snap_step(void *arg, int outcome, const char *detail)
{
    struct replica *rp = arg;
    if (outcome != REPLICA_OK) {
        snap_finish(rp, outcome, detail);
        return;
    }
    if (replica_snapshots_taken(rp) >= rp->snap_target) {
        snap_finish(rp, REPLICA_OK, NULL);
        return;
    }
    if (++rp->snap_rounds > 200) {
        snap_finish(rp, REPLICA_FAILED, "the snapshot did not complete");
        return;
    }
    replica_barrier(rp, snap_step, rp);
}

int replica_snapshot_now(struct replica *rp, replica_done_cb cb, void *arg)
{
    if (rp->snap_cb)
        return REPLICA_BUSY;
    if (raft_state(&rp->raft) != RAFT_LEADER)
        return REPLICA_NOTLEADER;
    rp->snap_cb = cb;
    rp->snap_arg = arg;
    rp->snap_rounds = 0;
    rp->snap_target = replica_snapshots_taken(rp) + 1;
    raft_set_snapshot_threshold(&rp->raft, 1);
    int rv = replica_barrier(rp, snap_step, rp);
    return rv == REPLICA_OK ? REPLICA_OK : REPLICA_FAILED;
}

uint64_t replica_raft_refusals(struct replica *rp)
{
    return transport_refusals(&rp->transport);
}

uint64_t replica_snapshots_taken(struct replica *rp)
{
    return fsm_snapshots_taken(rp->fsm);
}

struct raft *replica_raft(struct replica *rp)
{
    return &rp->raft;
}

struct fsm *replica_fsm(struct replica *rp)
{
    return rp->fsm;
}

bool replica_is_leader(struct replica *rp)
{
    return raft_state(&rp->raft) == RAFT_LEADER;
}

/* The leader's HTTP address, from the replicated member table. Cached per leader for a second:
 * a follower looks it up for every forwarded write, and a table read would commit the open
 * LMDB batch each time. */
uint64_t replica_leader(struct replica *rp, char *http_address, size_t n)
{
    raft_id id;
    const char *addr;
    raft_leader(&rp->raft, &id, &addr);
    if (http_address && n)
        http_address[0] = 0;
    if (id == 0 || !http_address)
        return id;
    uint64_t now = uv_now(rp->loop);
    if (id == rp->leader_cache_id && now < rp->leader_cache_until) {
        snprintf(http_address, n, "%s", rp->leader_cache_http);
        return id;
    }
    MDB_txn *txn;
    if (fsm_read_begin(rp->fsm, &txn) == 0) {
        json_t *m = member_get(rp->fsm, txn, id);
        if (m)
            snprintf(http_address, n, "%s",
                     json_string_value(json_object_get(m, "http_address")));
        json_decref(m);
        fsm_read_end(txn);
    }
    if (!http_address[0])
        for (unsigned i = 0; i < rp->n_initial; i++)
            if (rp->initial[i].id == id)
                snprintf(http_address, n, "%s", rp->initial[i].http_address);
    if (http_address[0]) {
        rp->leader_cache_id = id;
        rp->leader_cache_until = now + 1000;
        snprintf(rp->leader_cache_http, sizeof rp->leader_cache_http, "%s", http_address);
    }
    return id;
}

static void member_set_cb(void *arg, int outcome, const struct fsm_result *res)
{
    (void)res;
    struct replica *rp = arg;
    rp->members_proposing = false;
    if (outcome != REPLICA_OK)
        LOG_WARN("event=member_record_failed outcome=\"%s\"", replica_outcome_name(outcome));
}

/* The leader makes sure every initial member's addresses are in the replicated table. */
static void record_members(struct replica *rp)
{
    if (rp->members_proposing || raft_state(&rp->raft) != RAFT_LEADER)
        return;
    MDB_txn *txn;
    if (fsm_read_begin(rp->fsm, &txn) != 0)
        return;
    const struct replica_member *missing = NULL;
    for (unsigned i = 0; i < rp->n_initial && !missing; i++) {
        json_t *m = member_get(rp->fsm, txn, rp->initial[i].id);
        if (!m)
            missing = &rp->initial[i];
        json_decref(m);
    }
    fsm_read_end(txn);
    if (!missing)
        return;
    json_t *o = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)missing->id, "raft_address",
                          missing->raft_address, "http_address", missing->http_address);
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    struct cmd c = {.type = CMD_MEMBER_SET, .payload = text, .payload_len = strlen(text)};
    if (replica_propose(rp, &c, member_set_cb, rp) == REPLICA_OK)
        rp->members_proposing = true;
    free(text);
}

static void idem_swept(void *arg, int outcome, const struct fsm_result *res)
{
    struct replica *rp = arg;
    rp->idem_sweeping = false;
    if (outcome == REPLICA_OK)
        LOG_INFO("event=idempotency_sweep result=%s", res && res->body ? res->body : "{}");
}

/* The leader forgets idempotency records older than the TTL: the cut-off travels in the
 * command, so every node deletes exactly the same records. Checked every minute (or every
 * TTL, if shorter); nothing is proposed while nothing is old enough. */
static void sweep_idempotency(struct replica *rp)
{
    uint64_t now = uv_now(rp->loop);
    if (!rp->idem_ttl_ms || rp->idem_sweeping || now < rp->idem_next_sweep ||
        raft_state(&rp->raft) != RAFT_LEADER)
        return;
    rp->idem_next_sweep = now + (rp->idem_ttl_ms < 60000 ? rp->idem_ttl_ms : 60000);
    uint64_t oldest, cutoff = now_ms() - rp->idem_ttl_ms;
    if (fsm_idem_oldest(rp->fsm, &oldest) != 0 || oldest >= cutoff)
        return;
    char text[64];
    snprintf(text, sizeof text, "{\"before_ms\":%llu}", (unsigned long long)cutoff);
    struct cmd c = {.type = CMD_IDEM_EXPIRE, .payload = text, .payload_len = strlen(text)};
    if (replica_propose(rp, &c, idem_swept, rp) == REPLICA_OK)
        rp->idem_sweeping = true;
}

/* A snapshot copies the whole LMDB file (fsm_snapshot.c). With a fixed threshold of 1024 and
 * the 290 MB left by 100,000 bets, each node copied 290 MB every 20-30 s (2-6 s a copy, the
 * three nodes within a second of each other): most of a settlement ran beside a copy, and the
 * quotes of live games paid for it (bets_bench settle, README). So the threshold grows with the
 * state, one entry per SNAP_BYTES_PER_ENTRY up to snapshot_threshold_max (16,384 by default:
 * reached at 256 MB; at 290 MB a copy then costs each entry 18 KiB instead of 280), and each
 * node's is staggered (node 2 +25%, node 3 +50%, node 4 +75%, node 5 as node 1) so that the
 * members do not all copy at the same index. It never goes below the configured threshold: a
 * small state snapshots as configured (the tests' 16). Raft keeps the entries since the last
 * snapshot in memory: at about 3 KB an entry under the bets workload, some 90 MB at the cap. */
#define SNAP_BYTES_PER_ENTRY (16 << 10)

unsigned replica_snapshot_threshold(unsigned base, unsigned max, uint64_t used, uint64_t id)
{
    if (max <= base)
        return base;
    uint64_t want = used / SNAP_BYTES_PER_ENTRY;
    if (want > max)
        want = max;
    if (want <= base)
        return base;
    return (unsigned)(want + want * ((id - 1) % 4) / 4);
}

static void snapshot_scale(struct replica *rp)
{
    if (rp->snap_cb)
        return; /* a snapshot-now holds the threshold at 1 */
    size_t used, map_size, quota;
    fsm_space(rp->fsm, &used, &map_size, &quota);
    unsigned want = replica_snapshot_threshold(rp->snapshot_threshold,
                                               rp->snapshot_threshold_max, used, rp->id);
    if (want != rp->snapshot_threshold_now) {
        rp->snapshot_threshold_now = want;
        raft_set_snapshot_threshold(&rp->raft, want);
    }
}

static void on_tick(uv_timer_t *t)
{
    struct replica *rp = t->data;
    sweep_idempotency(rp);
    record_members(rp);
    snapshot_scale(rp);
}

static bool peer_is_member(void *arg, uint64_t id)
{
    struct replica *rp = arg;
    const struct raft_configuration *conf = &rp->raft.configuration;
    if (conf->n == 0)
        return true; /* not bootstrapped and not yet added: the leader adding us connects */
    for (unsigned i = 0; i < conf->n; i++)
        if (conf->servers[i].id == id)
            return true;
    return false;
}

static uint64_t committed_term(void *arg, uint64_t index)
{
    struct replica *rp = arg;
    return index <= raft_commit_index(&rp->raft) ? log_terms_get(rp->terms, index) : 0;
}

/* What an inbound Raft message may be. A leader sends a lagging follower every entry it still
 * holds (up to about threshold + trailing, more while a snapshot is being taken) in one
 * AppendEntries; one entry is at most one command or batch (codec.h). The byte caps bound what
 * raft allocates for one message without refusing a real catch-up (a refused message is sent
 * again and again): entries are counted, not sized, before a snapshot compacts them. */
static struct frame_limits frame_limits_of(struct replica *rp, const struct replica_options *o)
{
    uint64_t most = o->snapshot_threshold_max > o->snapshot_threshold
                        ? (uint64_t)o->snapshot_threshold_max * 7 / 4 /* the stagger */
                        : o->snapshot_threshold;
    uint64_t entries = 16 * (most + o->snapshot_trailing +
                             (o->max_inflight_entries ? o->max_inflight_entries : 32)) +
                       4096;
    return (struct frame_limits){
        .max_entries = entries > (1u << 22) ? 1u << 22 : (unsigned)entries,
        .max_entry_bytes = 2 * (uint64_t)CMD_BATCH_BYTES + 65536,
        .max_entries_bytes = 4ull << 30,
        .max_snapshot_bytes = o->max_snapshot_bytes ? o->max_snapshot_bytes : 1ull << 30,
        .committed_term = committed_term,
        .arg = rp};
}

int replica_start(struct replica **out, const struct replica_options *o, char *err, size_t n)
{
    struct replica *rp = calloc(1, sizeof *rp);
    int rv;
    if (!rp)
        return -ENOMEM;
    rp->loop = o->loop;
    rp->fsm = o->fsm;
    rp->id = o->id;
    rp->snapshot_threshold = rp->snapshot_threshold_now = o->snapshot_threshold;
    rp->snapshot_threshold_max = o->snapshot_threshold_max;
    rp->idem_ttl_ms = o->idem_ttl_ms;
    rp->batch = malloc(CMD_BATCH_BYTES); /* without it, every command goes alone */
    rp->n_initial = o->n_initial;
    if (o->n_initial) {
        rp->initial = calloc(o->n_initial, sizeof *rp->initial);
        memcpy(rp->initial, o->initial, o->n_initial * sizeof *rp->initial);
    }
    rp->io.version = 2;
    struct transport_options to = {.loop = o->loop,
                                   .cluster = o->cluster,
                                   .secret = o->secret,
                                   .is_member = peer_is_member,
                                   .tls = o->tls,
                                   .arg = rp,
                                   .limits = frame_limits_of(rp, o)};
    if (!o->secret) {
        snprintf(err, n, "raft transport: no cluster secret");
        rv = RAFT_INVALID;
        goto fail;
    }
    if ((rv = transport_init(&rp->transport, &to)) != 0) {
        snprintf(err, n, "raft transport: %s", raft_strerror(rv));
        goto fail;
    }
    if ((rv = raft_uv_init(&rp->io, o->loop, o->dir, &rp->transport)) != 0) {
        snprintf(err, n, "raft io in %s: %s", o->dir, rp->io.errmsg);
        goto fail;
    }
    if ((rv = log_terms_watch(&rp->terms, &rp->io)) != 0) {
        snprintf(err, n, "raft io: %s", raft_strerror(rv));
        goto fail;
    }
    fsm_attach_raft(o->fsm, &rp->raft);
    fsm_set_entry_hook(o->fsm, on_result, rp);
    if ((rv = raft_init(&rp->raft, &rp->io, fsm_raft_fsm(o->fsm), o->id, o->raft_address)) !=
        0) {
        snprintf(err, n, "raft init: %s", raft_errmsg(&rp->raft));
        goto fail;
    }
    if (o->n_initial) {
        struct raft_configuration conf;
        raft_configuration_init(&conf);
        for (unsigned i = 0; i < o->n_initial; i++)
            raft_configuration_add(&conf, o->initial[i].id, o->initial[i].raft_address,
                                   RAFT_VOTER);
        rv = raft_bootstrap(&rp->raft, &conf);
        raft_configuration_close(&conf);
        if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
            snprintf(err, n, "raft bootstrap: %s", raft_errmsg(&rp->raft));
            goto fail;
        }
        if (rv == 0)
            LOG_INFO("event=bootstrapped members=%u", o->n_initial);
    }
    raft_set_election_timeout(&rp->raft, o->election_timeout_ms);
    raft_set_heartbeat_timeout(&rp->raft, o->heartbeat_timeout_ms);
    raft_set_snapshot_threshold(&rp->raft, o->snapshot_threshold);
    raft_set_snapshot_trailing(&rp->raft, o->snapshot_trailing);
    raft_set_pre_vote(&rp->raft, true);
    /* raft's default (32 entries in flight per follower) caps a pipelined leader at about 32
     * entries per follower disk write; with many concurrent clients that is the bottleneck. */
    raft_set_max_inflight_entries(&rp->raft, o->max_inflight_entries ? o->max_inflight_entries : 32);
    raft_set_max_catch_up_rounds(&rp->raft, 100);
    raft_set_max_catch_up_round_duration(&rp->raft, 50 * 1000);
    if ((rv = raft_start(&rp->raft)) != 0) {
        snprintf(err, n, "raft start: %s", raft_errmsg(&rp->raft));
        goto fail;
    }
    uv_timer_init(o->loop, &rp->tick);
    rp->tick.data = rp;
    uv_timer_start(&rp->tick, on_tick, 100, 100);
    uv_check_init(o->loop, &rp->check);
    rp->check.data = rp;
    uv_prepare_init(o->loop, &rp->prepare);
    rp->prepare.data = rp;
    rp->handles_open = 3;
    *out = rp;
    return 0;
fail:
    free(rp->batch);
    free(rp->initial);
    free(rp);
    return rv ? -rv : -1;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct replica *rp = h->data;
    if (--rp->handles_open > 0)
        return;
    if (rp->close_cb)
        rp->close_cb(rp->close_arg);
    free(rp->batch);
    free(rp->initial);
    free(rp);
}

static void on_raft_closed(struct raft *r)
{
    struct replica *rp = (struct replica *)((char *)r - offsetof(struct replica, raft));
    raft_uv_close(&rp->io);
    log_terms_free(rp->terms);
    transport_free(&rp->transport);
    fsm_flush(rp->fsm);
    uv_close((uv_handle_t *)&rp->tick, on_handle_closed);
    uv_close((uv_handle_t *)&rp->check, on_handle_closed);
    uv_close((uv_handle_t *)&rp->prepare, on_handle_closed);
}

void replica_close(struct replica *rp, void (*cb)(void *arg), void *arg)
{
    rp->close_cb = cb;
    rp->close_arg = arg;
    rp->closing = true;
    batch_disarm(rp);
    batch_fail(rp, REPLICA_FAILED); /* never handed to raft: nothing was committed */
    uv_timer_stop(&rp->tick);
    raft_close(&rp->raft, on_raft_closed);
}
