/* Private to the state machine's files (fsm.c, fsm_snapshot.c and the domain files). */
#ifndef PARLAY_FSM_INTERNAL_H
#define PARLAY_FSM_INTERNAL_H

#include <limits.h>
#include <raft.h>

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
    MDB_dbi meta, fixtures, idem, idem_exp, members;
    MDB_dbi players, player_email, login_failures, sessions, player_sessions, signing_keys,
        totp, fc_logins, identities, doc_events;
    MDB_dbi member_keys, agreed_fixtures, agreed_events, agreed_results;
    MDB_dbi markets, quotes, quote_events, results_order;
    uint64_t applying;      /* index of the entry being applied (0 outside apply) */
    fsm_apply_listener listener;
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
};

int fsm_txn_begin_write(struct fsm *f);
int fsm_reopen_env(struct fsm *f);
void fsm_snapshot_record(struct fsm *f, uint64_t index, const void *buf, size_t len);
void fsm_snapshot_close(struct fsm *f);
int fsm_snapshot_raft(struct raft_fsm *rf, struct raft_buffer *bufs[], unsigned *n_bufs);
int fsm_snapshot_finalize(struct raft_fsm *rf, struct raft_buffer *bufs[], unsigned *n_bufs);
int fsm_restore_raft(struct raft_fsm *rf, struct raft_buffer *buf);

/* Domain appliers: write into @txn (a nested transaction), fill @res; return 0 or an LMDB
 * error (local failure). A refusal is a 4xx result with return 0. */
int fixtures_apply_create(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                          struct fsm_result *res);
int fixtures_apply_update(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                          struct fsm_result *res);
int members_apply_set(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res);
/* observations.c */
int obs_apply_member_key(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                         struct fsm_result *res);
int obs_apply_agreed(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res);
/* quotes.c */
int quotes_apply_round(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res);
int quotes_apply_published(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                           struct fsm_result *res);
int quotes_apply_suspend(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                         struct fsm_result *res);
/* An observation was just agreed (called by obs_apply_agreed in the same transaction). */
struct feed_obs;
int quotes_on_agreed(struct fsm *f, MDB_txn *txn, const struct feed_obs *o, uint64_t time_ms);
/* accounts.c */
int accounts_apply_register(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                            struct fsm_result *res);
int accounts_apply_login_failed(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                                struct fsm_result *res);
int accounts_apply_session_create(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                                  struct fsm_result *res);
int accounts_apply_session_refresh(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                                   struct fsm_result *res);
int accounts_apply_session_revoke(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                                  struct fsm_result *res);
int accounts_apply_session_revoke_all(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                                      struct fsm_result *res);
int accounts_apply_signing_key_add(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                                   struct fsm_result *res);
int accounts_apply_totp_enrol(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                              struct fsm_result *res);
int accounts_apply_totp_confirm(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                                struct fsm_result *res);
int accounts_apply_fc_start(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                            struct fsm_result *res);
int accounts_apply_fc_link(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                           struct fsm_result *res);
int accounts_apply_doc_session(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                               struct fsm_result *res);
int accounts_apply_doc_event(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                             struct fsm_result *res);
int accounts_apply_kyc_override(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                                struct fsm_result *res);

void fsm_format_time(uint64_t time_ms, char out[32]);

#endif
