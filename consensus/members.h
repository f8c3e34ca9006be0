/* Cluster members' addresses, replicated: raft's configuration holds only ids and Raft
 * addresses, while forwarding a write needs the leader's HTTP address. A MEMBER_SET command
 * records {id, raft_address, http_address} for a member; the leader writes the initial members
 * from its configuration and `parlayctl add` writes the new one before raft_add. */
#ifndef PARLAY_MEMBERS_H
#define PARLAY_MEMBERS_H

#include <jansson.h>
#include <lmdb.h>
#include <stdint.h>

struct fsm;

/* {"id": n, "raft_address": "...", "http_address": "..."} or NULL. */
json_t *member_get(struct fsm *f, MDB_txn *txn, uint64_t id);
json_t *member_list(struct fsm *f, MDB_txn *txn);
int member_check(json_t *body, char *detail, size_t n);
/* CMD_MEMBER_SET (see cmd_fill). */
struct cmd;
char *members_cmd_set(struct cmd *c, uint64_t id, const char *raft_address,
                      const char *http_address);

#endif
