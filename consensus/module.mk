# consensus/: command encoding, the LMDB state machine, snapshots, the Raft replica.
CONSENSUS_SRCS := $(COMMON_SRCS) consensus/cmdtable.c consensus/store.c consensus/idempotency.c \
	consensus/codec.c consensus/fsm.c consensus/fsm_snapshot.c \
	consensus/fixtures.c consensus/accounts.c consensus/members.c consensus/replica.c \
	consensus/observations.c consensus/quotes.c feed/obs.c feed/json.c
