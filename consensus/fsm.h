/* The replicated state machine over LMDB.
 *
 * The happy path: raft hands a committed entry to fsmApply (through the raft_fsm glue); the
 * entry's index is raft->last_applied + 1. If the index is at or below the stored last_applied
 * the entry was already applied (a replay after a restart or a snapshot) and is skipped.
 * Otherwise the command is decoded, checked against its idempotency key, run by its domain
 * function inside a nested transaction, and its result, idempotency record and the new
 * last_applied are written in the same LMDB write transaction. That transaction stays open
 * while raft applies the rest of the batch and is committed once per loop iteration
 * (fsm_flush), so a burst of entries costs one LMDB commit. An entry may also be a batch of
 * commands (CMD_BATCH, built by the replica from the proposals of one loop iteration): its
 * commands are applied in order in that same transaction, each checked against its own
 * idempotency key and with its own result, and last_applied still counts Raft entries.
 *
 * Durability: the Raft log (and raft_uv's snapshots) are the durable record; LMDB pays no fsync
 * of its own. It runs with MDB_NOSYNC: a process crash loses nothing (the kernel's page cache
 * holds every write) and a clean close syncs. A database left unclean by a machine crash (told
 * by the kernel boot id in a marker file) is thrown away at the next open and rebuilt from the
 * Raft snapshot and log, so a torn file is never used. Replays are skipped by the exactly-once
 * check. Where no boot id can be read, LMDB falls back to MDB_NOMETASYNC (one sync per batch).
 *
 * Failure modes: a domain refusal (fixture exists, bad transition) is a result, never an error
 * return. A command that cannot be decoded is also a result (every node refuses it the same
 * way). Only a local failure (LMDB map full, I/O error) returns non-zero, which stops this
 * node's raft from applying until an operator fixes the cause; the space quota checked before
 * proposing (fsm_space_ok) keeps map-full from happening in practice.
 */
#ifndef PARLAY_FSM_H
#define PARLAY_FSM_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct raft;
struct raft_fsm;
struct fsm;

/* A command's outcome: an HTTP-like status and a JSON body (object). */
struct fsm_result {
    int status;
    char *body; /* malloc'd, NUL-terminated JSON */
};

/* Called after every applied command on the node that applies it. @res is only valid during
 * the call (copy what you keep). A batch entry (CMD_BATCH) calls it once per command in it, in
 * order, all with the entry's @index. */
typedef void (*fsm_result_hook)(void *ctx, uint64_t index, const struct fsm_result *res);

/* The same with the command's position in its entry: 0 for a plain entry, 0..n-1 for the
 * commands of a batch, or FSM_POS_ENTRY when the entry as a whole was refused (it or one of
 * its commands could not be decoded: nothing of it was applied, and @res is the result of
 * every command it carried). Used by the replica to answer each proposal of a batch. */
#define FSM_POS_ENTRY UINT32_MAX
typedef void (*fsm_entry_hook)(void *ctx, uint64_t index, uint32_t pos,
                               const struct fsm_result *res);

/* Called after every applied command with its type (0 if it could not be decoded), on every
 * node, inside the batch's write transaction: do not read the database from here (defer with
 * fsm_defer). @res is only valid during the call. For a batch entry: once per command in it,
 * with that command's type and result (once with type 0 if the batch was refused). */
typedef void (*fsm_apply_listener)(void *ctx, uint64_t index, unsigned type,
                                   const struct fsm_result *res);

struct fsm_options {
    const char *dir;       /* LMDB environment directory (created if missing) */
    size_t map_size;       /* bytes; the LMDB map */
    size_t quota;          /* bytes of used pages above which new writes are refused */
    const char *sport;     /* "football" for a sport cluster, NULL for accounts */
    const char *cluster;   /* the cluster's name, in the message agreed observations sign
                              (NULL: "") */
    uv_loop_t *loop;       /* flush once per loop iteration; NULL: caller flushes */
    unsigned writeback_ms; /* start the kernel's writeback of LMDB's dirty pages this often
                              (a thread of the fsm's own; only with MDB_NOSYNC); 0: never,
                              the kernel's own flusher decides */
};

int fsm_open(struct fsm **out, const struct fsm_options *opts, char *err, size_t errlen);
void fsm_close(struct fsm *f);

/* The raft glue (FSM version 3). @r is needed for the index of the entry being applied. */
struct raft_fsm *fsm_raft_fsm(struct fsm *f);
void fsm_attach_raft(struct fsm *f, struct raft *r);
void fsm_set_result_hook(struct fsm *f, fsm_result_hook hook, void *ctx);
void fsm_set_entry_hook(struct fsm *f, fsm_entry_hook hook, void *ctx);
void fsm_set_apply_listener(struct fsm *f, fsm_apply_listener cb, void *ctx);

/* Apply the command in @buf as entry @index. Returns 0 (also for refusals), or a negative
 * LMDB / errno code on a local failure. A batch (CMD_BATCH) is checked whole first (any fault
 * refuses all of it), then its commands run in order in the same write transaction, each with
 * its own idempotency check and result; last_applied counts the entry once. */
int fsm_apply(struct fsm *f, uint64_t index, const void *buf, size_t len);

/* Commit the open write transaction, if any, then run the deferred callbacks. */
int fsm_flush(struct fsm *f);

/* Run @cb once the state applied so far is committed to LMDB (immediately after the next
 * flush). Used to answer a client only once its write is in the database. */
void fsm_defer(struct fsm *f, void (*cb)(void *arg), void *arg);

uint64_t fsm_last_applied(struct fsm *f);
const char *fsm_sport(struct fsm *f);

/* Read-only access for queries: flushes first, so a read sees everything applied. */
int fsm_read_begin(struct fsm *f, MDB_txn **txn);
void fsm_read_end(MDB_txn *txn);

/* Space accounting for the quota: used bytes, map size, quota. */
void fsm_space(struct fsm *f, size_t *used, size_t *map_size, size_t *quota);
bool fsm_space_ok(struct fsm *f);
uint64_t fsm_apply_errors(struct fsm *f);
uint64_t fsm_snapshots_taken(struct fsm *f);
/* Passes of the writeback thread so far (0 without one). */
uint64_t fsm_writeback_passes(struct fsm *f);

/* Idempotency: look up a stored result for (@principal, @key). Returns 1 and fills @res (body
 * malloc'd) and @fingerprint if found, 0 if not, negative on error. */
int fsm_idem_get(struct fsm *f, const char *key, size_t key_len, uint8_t fingerprint[32],
                 struct fsm_result *res);

/* The time (ms) of the oldest idempotency record: 0 and @time_ms set, or MDB_NOTFOUND. */
int fsm_idem_oldest(struct fsm *f, uint64_t *time_ms);

/* Snapshots (fsm_snapshot.c). fsm_snapshot_dump/restore work without raft, for tests. */
int fsm_snapshot_now(struct fsm *f, void **buf, size_t *len); /* synchronous, for tests */
int fsm_restore_buf(struct fsm *f, const void *buf, size_t len);
uint64_t fsm_snapshot_index_of(const void *buf, size_t len);
/* Drop a snapshot copy in progress or ready (after an operator's snapshot-now completed). */
void fsm_snapshot_cancel(struct fsm *f);

/* Any domain's database by its name (tests and tools; a domain uses fsm_domain_dbis). An
 * unknown name gives the state machine's own "meta". */
MDB_dbi fsm_dbi(struct fsm *f, const char *name);

void fsm_result_set(struct fsm_result *res, int status, char *body);
void fsm_result_problem(struct fsm_result *res, int status, const char *title, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
void fsm_result_clear(struct fsm_result *res);
/* RFC 3339 UTC, seconds: "2026-11-28T15:00:00Z". */
void fsm_format_time(uint64_t time_ms, char out[32]);

#endif
