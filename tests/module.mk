# tests: sources, programs and tests (see the root Makefile for the variables).
#
# Unit tests for consensus/ (cmocka, built with ASan+UBSan from $(BUILD)/san):
#   test_codec         command encoding round trips, refusals, a fixed-seed fuzz loop
#   test_fsm           apply results, exactly-once across restarts, idempotency, queries
#   test_snapshot      snapshot / restore between state machines, refusal of bad snapshots
#   test_accounts      players, sign-in back-off, refresh rotation and reuse, signing keys
#   test_observations  agreed observations (fixtures, events in order, results), duplicates,
#                      refusals, members' keys
#   test_quotes        markets and agreed quotes: rounds, publication and its refusals, agreed
#                      events and suspensions, results, determinism across two state machines
#   test_ledger        the ledger's rules: moves, holds resolved once, refusals, zero sum
#   test_bets          bets: placement checked at its index (market state, quote version, odds
#                      policy, stake/payout limits, liability caps, accumulators), the hold's
#                      outcome once, determinism across two state machines, the live acceptance
#                      delay's decision, operator voids, the audit's comparison, many bets'
#                      hold answers in one bet_holds_done (mixed, repeated, replayed)
#   test_wallet        the wallet domain: deposits, holds and their one resolution, limits,
#                      exclusion, withdrawals, chargebacks into debt, corrections, the check,
#                      hold batches (mixed results, a repeat moves nothing, replayed alike)
#   test_raft_fixture  3-server clusters on raft_fixture: replication, partitions, catch-up
#                      through a snapshot
#   test_agreement_engine  the agreement engine with fake network and Raft sides: quorum,
#                      dissent, rounds, resends, the outbox bound, the stall alert, the scheduler
#   test_cmdtable      the command table (unique types and names, codec agrees, unknown types
#                      refused) and a database of the layout before it still opening
#   test_transport_check  the Raft transport's message checks and its record of the log's terms
#   test_seal          secrets at rest (common/seal.c): round trips, refusals, rotation, keyring files
#   test_operators     operators, machine tokens and the audit trail's apply rules (consensus/operators.c)
#   test_certs         member certificates and TLS contexts (common/certs.c, common/tls.c): member
#                      names, refusals, reload and half-done rotations, validity
#
#   make test-unit     build and run them
UNIT_TEST_NAMES := codec fsm snapshot raft_fixture accounts observations quotes agreement_engine ledger wallet bets cmdtable transport_check seal oracle_state operators certs
UNIT_TESTS := $(patsubst %,$(BUILD)/tests/test_%,$(UNIT_TEST_NAMES))
UNIT_DEPS := $(patsubst %.c,$(BUILD)/san/%.o,$(CONSENSUS_SRCS) tests/unit/unit_util.c)

$(UNIT_TESTS): $(BUILD)/tests/test_%: $(BUILD)/san/tests/unit/test_%.o $(UNIT_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

TESTS += $(UNIT_TESTS)

.PHONY: test-unit
test-unit: $(UNIT_TESTS)
	@bash tests/run-tests.sh $(UNIT_TESTS)

# test_trader: trader controls (issue 17): bounds refused and changing nothing, the history,
# suspend and reopen, two state machines alike, and the pricing of node/quote_price.c with a
# margin shift, a lean and a market's shift (bit-identical on two calls).
$(BUILD)/tests/test_trader: $(BUILD)/san/tests/unit/test_trader.o $(BUILD)/san/node/quote_price.o $(BUILD)/san/node/quote_trader.o $(MODELS_SAN_OBJS) $(UNIT_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka -lm

TESTS += $(BUILD)/tests/test_trader

# test_governor: the return-to-player governor (issue 17): the rule's projection, dead band,
# gradual steps, relaxation and bounds; its commands (refusals change nothing, two state
# machines alike); its adjustment in node/quote_price.c.
$(BUILD)/tests/test_governor: $(BUILD)/san/tests/unit/test_governor.o $(BUILD)/san/node/quote_price.o $(BUILD)/san/node/quote_trader.o $(MODELS_SAN_OBJS) $(UNIT_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka -lm

TESTS += $(BUILD)/tests/test_governor

# test_banlist: the national gambling-ban list file (node/banlist.c): format, name
# normalisation, matching, reload on change, the last good list kept.
$(BUILD)/tests/test_banlist: $(BUILD)/san/tests/unit/test_banlist.o $(BUILD)/san/node/banlist.o $(UNIT_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

TESTS += $(BUILD)/tests/test_banlist

# test_pay: the payment provider client (node/pay.c) against the real payment stand-in
# (tests/standins/pay-standin.mjs, node's standard library only) and a local webhook listener.
#   make test-pay      build and run it
PAY_TEST_DEPS := $(patsubst %.c,$(BUILD)/san/%.o,tests/unit/test_pay.c node/pay.c node/config.c consensus/scopes.c \
                   $(COMMON_SRCS) kyc/tests/standin.c)
$(BUILD)/tests/test_pay: $(PAY_TEST_DEPS) $$(KYC_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(KYC_LIBS) $(PKG_LIBS) -lcmocka

TESTS += $(BUILD)/tests/test_pay

.PHONY: test-pay
test-pay: $(BUILD)/tests/test_pay
	@bash tests/run-tests.sh $(BUILD)/tests/test_pay
