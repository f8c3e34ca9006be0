/* The node's Raft replica: canonical raft with raft_uv and Parlay's own transport (transport.h:
 * members only, every inbound message checked) on the node's libuv loop,
 * the LMDB state machine, and the requests the node makes of it (propose a command, barrier,
 * membership changes, leadership transfer, snapshot now).
 *
 * Outcomes of a proposal, as the HTTP layer must report them:
 *   REPLICA_OK        committed on a quorum, applied, and in LMDB; @res is the command's result
 *   REPLICA_NOTLEADER this node is not the leader (nothing was proposed)
 *   REPLICA_UNKNOWN   leadership was lost while the entry was in flight: it may or may not be
 *                     committed by the next leader (retry with the same idempotency key)
 *   REPLICA_FAILED    refused locally (disk error, shutting down): nothing was committed
 */
#ifndef PARLAY_REPLICA_H
#define PARLAY_REPLICA_H

#include <raft.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "consensus/codec.h"
#include "consensus/fsm.h"

enum { REPLICA_OK = 0, REPLICA_NOTLEADER, REPLICA_UNKNOWN, REPLICA_FAILED, REPLICA_BUSY };

struct replica_member {
    uint64_t id;
    char raft_address[64];
    char http_address[64];
};

struct replica_options {
    uv_loop_t *loop;
    uint64_t id;
    const char *raft_address;
    const char *http_address;
    const char *dir; /* raft_uv directory; must exist */
    struct fsm *fsm;
    const struct replica_member *initial;
    unsigned n_initial;
    unsigned election_timeout_ms, heartbeat_timeout_ms;
    unsigned snapshot_threshold, snapshot_trailing;
    /* The threshold grows with the state machine's size, one entry per SNAP_BYTES_PER_ENTRY
     * of LMDB, up to this (0: it stays at snapshot_threshold); staggered per node. */
    unsigned snapshot_threshold_max;
    unsigned max_inflight_entries;
    uint64_t idem_ttl_ms; /* idempotency records older than this are swept (0: never) */
    const char *cluster;          /* the cluster's name, bound into the Raft handshake */
    const unsigned char *secret;  /* the members' shared secret (32 bytes) */
    uint64_t max_snapshot_bytes;  /* the largest snapshot a peer may send (0: 1 GiB) */
    struct tls_files *tls;        /* member certificates (common/tls.h), NULL: Raft in clear */
};

struct replica;

int replica_start(struct replica **out, const struct replica_options *o, char *err, size_t n);
void replica_close(struct replica *rp, void (*cb)(void *arg), void *arg);

typedef void (*replica_result_cb)(void *arg, int outcome, const struct fsm_result *res);
typedef void (*replica_done_cb)(void *arg, int outcome, const char *detail);

/* Encode and propose @c (the leader's clock is stamped into it here). The command joins the
 * batch of this loop iteration, handed to raft as one entry before the loop next blocks (see
 * replica.c); @cb is never called from inside this function. A non-OK return means nothing was
 * proposed and @cb will not be called; after REPLICA_OK, @cb gets exactly one outcome (also
 * REPLICA_NOTLEADER if this node stopped leading before the batch was handed over). */
int replica_propose(struct replica *rp, struct cmd *c, replica_result_cb cb, void *arg);
int replica_barrier(struct replica *rp, replica_done_cb cb, void *arg);
int replica_add(struct replica *rp, uint64_t id, const char *raft_address, replica_done_cb cb,
                void *arg);
int replica_assign(struct replica *rp, uint64_t id, int role, replica_done_cb cb, void *arg);
int replica_remove(struct replica *rp, uint64_t id, replica_done_cb cb, void *arg);
int replica_transfer(struct replica *rp, uint64_t id, replica_done_cb cb, void *arg);
int replica_snapshot_now(struct replica *rp, replica_done_cb cb, void *arg);

struct raft *replica_raft(struct replica *rp);
struct fsm *replica_fsm(struct replica *rp);
bool replica_is_leader(struct replica *rp);
/* The time this replica stamps on the commands it proposes as leader (ms since the epoch):
 * the wall clock plus the test clock offset. Leader-side decisions that apply re-checks with
 * the stamp (hold expiry, closing accounts, postponed fixtures) read it too. */
uint64_t replica_now_ms(struct replica *rp);
/* Tests only: shift this replica's stamps by @offset_ms (node/routes_admin.c refuses it unless
 * the node's configuration sets "test_clock": true). */
void replica_set_clock_offset(struct replica *rp, int64_t offset_ms);
/* The leader's id (0 if unknown) and its HTTP address from the replicated member table. */
uint64_t replica_leader(struct replica *rp, char *http_address, size_t n);
uint64_t replica_snapshots_taken(struct replica *rp);
/* The snapshot threshold of node @id whose state machine uses @used bytes: one entry per
 * 16 KiB of state, between @base and @max, staggered by node (+25% per id, four steps) once
 * above @base (replica.c snapshot_scale). */
unsigned replica_snapshot_threshold(unsigned base, unsigned max, uint64_t used, uint64_t id);
/* Raft connections refused so far (no or wrong secret, not a member, a malformed message). */
uint64_t replica_raft_refusals(struct replica *rp);
const char *replica_outcome_name(int outcome);

#endif
