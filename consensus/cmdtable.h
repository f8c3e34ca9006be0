/* The command table: every command type the state machine knows, grouped by domain.
 *
 * How a command travels: a handler in node/ checks a request, builds the command's payload with
 * its domain's builder (fixtures_cmd_create, accounts_cmd_register, ...), and proposes
 * {type, idempotency key, fingerprint, payload} (codec.h encodes it; the replica may pack
 * several into one CMD_BATCH entry when every one is batchable). Raft commits the entry on a
 * quorum; on every node fsm_apply decodes it, checks its idempotency key, finds the type's row
 * here and runs the row's apply function inside the entry's LMDB write transaction. The apply
 * function parses the payload again (a command that slipped past the handler is refused the same
 * way everywhere), checks everything, and only then writes; its result (status + JSON body) is
 * stored with the idempotency key and handed back to whoever proposed it.
 *
 * How to add a command type:
 *   1. take the next free number in codec.h's enum cmd_type (numbers are in Raft logs and
 *      snapshots on disk: never reuse or renumber one);
 *   2. add one row to its domain's command list ({type, name, batchable, apply}) next to the
 *      apply function, and a builder for its payload in the same file. Batchable means the
 *      apply does not read fsm_applying (the entry's index), since a batch's commands share
 *      one index; when unsure, say no;
 *   3. if the domain needs a new database, add its name to the domain's list (and a handle to
 *      its struct of handles, in the same order): it is created at the next open.
 * A new domain is one struct fsm_domain and one line in cmdtable.c's list. codec.c (names,
 * batchable) and fsm.c (dispatch, opening databases) only walk this table.
 *
 * Rules for apply functions: deterministic (no clock, no randomness, no I/O: c->time_ms is the
 * leader's stamp), a refusal is a 4xx result with return 0, only a local LMDB failure returns
 * non-zero (it stops raft on this node). A domain reaches its databases through
 * fsm_domain_dbis and another domain's records through that domain's functions, never its
 * databases.
 */
#ifndef PARLAY_CMDTABLE_H
#define PARLAY_CMDTABLE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "consensus/codec.h"
#include "consensus/fsm.h"

typedef int (*fsm_apply_fn)(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                            struct fsm_result *res);

struct fsm_command {
    uint16_t type;     /* enum cmd_type */
    const char *name;  /* in logs and cmd_type_name */
    bool batchable;    /* may share a Raft entry with others (see above) */
    fsm_apply_fn apply;
    const void *ctx;   /* the domain's own, for an apply shared by several rows: it finds its
                          row with cmdtable_find(c->type) */
};

struct fsm_domain {
    const char *name;
    const struct fsm_command *commands; /* ends with a row of type 0 */
    /* The domain's named LMDB databases, NULL-terminated. The names are on disk (in every
     * database and snapshot): never rename one. Their handles, in this order, are
     * fsm_domain_dbis(f, domain)[0..]. */
    const char *const *dbs;
};

/* Every domain, NULL-terminated (cmdtable.c). */
extern const struct fsm_domain *const fsm_domains[];
#define FSM_DOMAINS_MAX 16
#define FSM_DBIS_MAX 126 /* with "meta", under the environment's maxdbs (FSM_MAXDBS) */
#define FSM_MAXDBS 128

/* The row of @type, or NULL if no domain has it (CMD_BATCH is not in the table). */
const struct fsm_command *cmdtable_find(unsigned type);

/* ---- what a domain may use of the state machine (fsm.c) ---- */

/* The handles of @d's databases, in the order of d->dbs. */
const MDB_dbi *fsm_domain_dbis(struct fsm *f, const struct fsm_domain *d);
/* The index of the entry being applied (0 outside apply). */
uint64_t fsm_applying(struct fsm *f);
/* The cluster's name from fsm_options ("" if none). */
const char *fsm_cluster(struct fsm *f);
/* A counter in the state machine's own "meta" database (0 if never set). */
uint64_t fsm_meta_get(struct fsm *f, MDB_txn *txn, const char *key);
/* A command that runs another (CMD_ADMIN) reports the wrapped type: the apply listener sees
 * it instead of the wrapper's. */
void fsm_report_type(struct fsm *f, unsigned type);
int fsm_meta_put(struct fsm *f, MDB_txn *txn, const char *key, uint64_t value);

#endif
