# consensus/: command encoding, the command table, the LMDB state machine, snapshots, the Raft
# replica, the agreement engine, the ledger's rules.
CONSENSUS_SRCS := $(COMMON_SRCS) consensus/cmdtable.c consensus/store.c consensus/idempotency.c \
	consensus/codec.c consensus/fsm.c consensus/fsm_snapshot.c \
	consensus/fixtures.c consensus/accounts.c consensus/accounts_kyc.c consensus/accounts_password.c consensus/members.c consensus/replica.c \
	consensus/transport.c consensus/transport_check.c consensus/transport_terms.c \
	consensus/observations.c consensus/quotes.c consensus/agreement.c consensus/ledger.c consensus/wallet.c consensus/wallet_holds.c \
	consensus/wallet_payments.c consensus/wallet_check.c consensus/wallet_protect.c consensus/bets.c consensus/bets_place.c consensus/bets_settle.c consensus/bets_resettle.c consensus/bets_markets.c consensus/bets_query.c consensus/bets_cashout.c consensus/trader.c consensus/wallet_resettle.c consensus/wallet_window.c consensus/oracle_state.c consensus/operators.c consensus/scopes.c feed/obs.c feed/json.c \
	$(filter-out common/file.c oracle/oracle_cli.c,$(ORACLE_SRCS))
