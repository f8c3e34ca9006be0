# consensus/: command encoding, the LMDB state machine, snapshots, the Raft replica.
CONSENSUS_SRCS := consensus/codec.c consensus/fsm.c consensus/fsm_snapshot.c \
	consensus/fixtures.c consensus/accounts.c consensus/members.c consensus/replica.c \
	consensus/transport.c consensus/transport_check.c consensus/transport_terms.c \
	consensus/observations.c consensus/quotes.c feed/obs.c feed/json.c
