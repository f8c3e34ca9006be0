/* Private to the state machine's core (fsm.c, fsm_snapshot.c, idempotency.c). The domain files
 * see only cmdtable.h: their databases are theirs (struct fsm holds the handles in one array,
 * one slice per domain, reached with fsm_domain_dbis). */
#ifndef PARLAY_FSM_INTERNAL_H
#define PARLAY_FSM_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <raft.h>

#include "consensus/cmdtable.h"
#include "consensus/codec.h"
#include "consensus/fsm.h"

struct fsm_deferred {
    void (*cb)(void *arg);
    void *arg;
    struct fsm_deferred *next;
};

/* An applied command kept while a snapshot copy is running (see fsm_snapshot.c). */
struct fsm_tail {
    uint64_t index;
    size_t len;
    struct fsm_tail *next;
    uint8_t buf[];
};

struct fsm {
    char dir[PATH_MAX];
    char sport[64];
    char cluster[64];
    size_t map_size;
    size_t quota;
    MDB_env *env;
    MDB_dbi meta;                        /* the state machine's own: last_applied, counters */
    MDB_dbi dbis[FSM_DBIS_MAX];          /* every domain's, in the table's order */
    unsigned dbi_base[FSM_DOMAINS_MAX];  /* where each domain's slice of dbis starts */
    uint64_t applying;      /* index of the entry being applied (0 outside apply) */
    fsm_apply_listener listener;
    unsigned reported_type; /* set by fsm_report_type during a command's apply, else 0 */
    void *listener_ctx;
    MDB_txn *wtxn;          /* open write transaction of the current batch, or NULL */
    uint64_t last_applied;  /* including the open batch */
    bool nosync;            /* MDB_NOSYNC + crash marker (see fsm.c) */
    char boot_id[64];
    uint64_t apply_errors;
    uint64_t snapshots_taken;
    struct raft *raft;
    struct raft_fsm rfsm;
    fsm_result_hook hook;
    void *hook_ctx;
    fsm_entry_hook entry_hook;
    void *entry_hook_ctx;
    uv_loop_t *loop;
    uv_idle_t idle;
    bool idle_active;
    struct fsm_deferred *deferred, **deferred_tail;

    /* Snapshot copy (fsm_snapshot.c). */
    uv_work_t work;
    int copy_state;          /* 0 idle, 1 running, 2 ready */
    int copy_rv;
    uint64_t copy_index;     /* last_applied when the copy started: a lower bound */
    void *copy_buf;          /* header + compacted LMDB image (raft_malloc) */
    size_t copy_len;
    struct fsm_tail *tail, **tail_end;
    struct fsm_tail *batch, **batch_end; /* entries in the open write transaction */
    size_t tail_bytes;
    bool closing;

    /* LMDB writeback (fsm.c): with MDB_NOSYNC the data file's dirty pages are handed to the
     * kernel's writeback every writeback_ms by a thread of the fsm's own, so that they never
     * pile up into a burst of gigabytes that stalls Raft's synchronous log writes. wb_mu also
     * guards f->env against a restore's reopen while the thread uses its file. */
    unsigned writeback_ms;   /* 0: no thread */
    pthread_mutex_t wb_mu;
    pthread_cond_t wb_cv;
    pthread_t wb_thread;
    bool wb_started, wb_stop;
    uint64_t wb_passes;      /* under wb_mu */
    int wb_errno;            /* the last failure's, 0 after a success (logged once a kind) */
};

int fsm_txn_begin_write(struct fsm *f);
int fsm_reopen_env(struct fsm *f);
void fsm_snapshot_record(struct fsm *f, uint64_t index, const void *buf, size_t len);
void fsm_snapshot_close(struct fsm *f);
int fsm_snapshot_raft(struct raft_fsm *rf, struct raft_buffer *bufs[], unsigned *n_bufs);
int fsm_snapshot_finalize(struct raft_fsm *rf, struct raft_buffer *bufs[], unsigned *n_bufs);
int fsm_restore_raft(struct raft_fsm *rf, struct raft_buffer *buf);

/* Idempotency records (idempotency.c). idem_lookup: 1 and @res, @fingerprint filled if found,
 * 0 if not, negative on error. idem_oldest: 0 and @time_ms, or MDB_NOTFOUND. */
int idem_put(struct fsm *f, MDB_txn *txn, const struct cmd *c, const struct fsm_result *res);
int idem_lookup(struct fsm *f, MDB_txn *txn, const char *key, size_t key_len,
                uint8_t fingerprint[32], struct fsm_result *res);
int idem_oldest(struct fsm *f, MDB_txn *txn, uint64_t *time_ms);

#endif
