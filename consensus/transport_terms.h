/* The terms of this node's Raft log, for the transport's check that an AppendEntries does not
 * contradict a committed entry (raft 0.22.1 stops the node, or frees the batch twice, when one
 * does). raft keeps its log private, so the terms are learnt by watching the raft_io calls
 * that shape the log: load (the snapshot and the entries on disk), append (new entries at the
 * end), truncate (a suffix dropped) and snapshot_put with no trailing entries (an installed
 * snapshot replaces the log). Terms change only at elections, so the record is a short list of
 * runs (first index, term). */
#ifndef PARLAY_TRANSPORT_TERMS_H
#define PARLAY_TRANSPORT_TERMS_H

#include <raft.h>
#include <stdint.h>

struct log_terms;

/* Start watching @io (after raft_uv_init, before raft_init). */
int log_terms_watch(struct log_terms **out, struct raft_io *io);
/* The term of the entry at @index, 0 if unknown. */
uint64_t log_terms_get(const struct log_terms *lt, uint64_t index);
/* Stop (after raft has closed @io). */
void log_terms_free(struct log_terms *lt);

#endif
