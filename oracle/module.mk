# oracle: sources, programs and tests (see the root Makefile for the variables).
#
#   make test-oracle       build the contract and the oracle tests, run them (starts anvil)
#   make oracle-contracts  compile oracle/contracts/*.sol with the pinned solc-js
#   make bench-oracle      measure submitResult gas for 2-of-3, 3-of-5, 5-of-7 on anvil

ORACLE_SRCS := common/file.c common/hex.c oracle/eth_util.c oracle/keccak.c oracle/rlp.c oracle/abi.c oracle/keys.c \
               oracle/eip712.c oracle/tx.c oracle/contract.c oracle/rpc.c oracle/journal.c \
               oracle/txm.c oracle/submitter.c oracle/oracle_cli.c
ORACLE_OBJS := $(ORACLE_SRCS:%.c=$(BUILD)/obj/%.o)
ORACLE_SAN_OBJS := $(ORACLE_SRCS:%.c=$(BUILD)/san/%.o)

# Contract artefacts: bytecode (hex) and ABI (JSON), compiled by the solc-js pinned in
# tests/npm (installed by tests/install-deps.sh). Nothing here is hand-copied.
ORACLE_SOLCJS := tests/npm/node_modules/.bin/solcjs
ORACLE_ARTEFACTS := $(BUILD)/contracts/MatchOracle.bin $(BUILD)/contracts/MatchOracle.abi

$(ORACLE_ARTEFACTS) &: oracle/contracts/MatchOracle.sol tests/npm/package-lock.json
	@test -x $(ORACLE_SOLCJS) || { echo "error: $(ORACLE_SOLCJS) missing; run 'make deps'"; exit 1; }
	@mkdir -p $(BUILD)/contracts/solc
	$(ORACLE_SOLCJS) --bin --abi --optimize --optimize-runs 200 --base-path oracle/contracts \
	    -o $(BUILD)/contracts/solc oracle/contracts/MatchOracle.sol
	cp $(BUILD)/contracts/solc/MatchOracle_sol_MatchOracle.bin $(BUILD)/contracts/MatchOracle.bin
	cp $(BUILD)/contracts/solc/MatchOracle_sol_MatchOracle.abi $(BUILD)/contracts/MatchOracle.abi

.PHONY: oracle-contracts test-oracle bench-oracle
oracle-contracts: $(ORACLE_ARTEFACTS)

# A stand-alone driver for `oracle_cli_main` until parlayctl dispatches to it.
$(BUILD)/parlay-oracle: $(BUILD)/obj/oracle/tools/parlay_oracle.o $(ORACLE_OBJS)
	$(CC) -o $@ $^ $(PKG_LIBS)
BINS += $(BUILD)/parlay-oracle

ORACLE_TEST_SUPPORT := $(BUILD)/san/oracle/tests/anvil.o
ORACLE_TESTS := $(BUILD)/test-oracle-vectors $(BUILD)/test-oracle-rpc $(BUILD)/test-oracle-chain \
                $(BUILD)/test-oracle-cli

$(BUILD)/test-oracle-vectors: $(BUILD)/san/oracle/tests/test_vectors.o $(ORACLE_SAN_OBJS)
	$(CC) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/test-oracle-rpc: $(BUILD)/san/oracle/tests/test_rpc.o $(ORACLE_SAN_OBJS)
	$(CC) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/test-oracle-chain: $(BUILD)/san/oracle/tests/test_chain.o $(ORACLE_TEST_SUPPORT) $(ORACLE_SAN_OBJS)
	$(CC) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/test-oracle-cli: $(BUILD)/san/oracle/tests/test_cli.o $(ORACLE_TEST_SUPPORT) $(ORACLE_SAN_OBJS)
	$(CC) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

TESTS += $(ORACLE_TESTS)
TEST_DEPS += $(ORACLE_ARTEFACTS)

test-oracle: $(ORACLE_TESTS) $(ORACLE_ARTEFACTS)
	@bash tests/run-tests.sh $(ORACLE_TESTS)

# Gas figures for oracle/README.md (starts its own anvil).
$(BUILD)/bench/oracle-gas: $(BUILD)/obj/tests/bench/oracle_gas.o $(BUILD)/obj/oracle/tests/anvil.o $(ORACLE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(PKG_LIBS)
bench-oracle: $(BUILD)/bench/oracle-gas $(ORACLE_ARTEFACTS)
	$(BUILD)/bench/oracle-gas
