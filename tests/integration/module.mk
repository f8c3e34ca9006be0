# tests/integration: real parlayd processes (the sanitizer build) on loopback.
build/parlayd-san: $(patsubst %.c,$(BUILD)/san/%.o,$(CORE_SRCS) node/main.c) $$(KYC_SAN_OBJS)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(KYC_LIBS) $(PKG_LIBS)

build/tests/test_cluster: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/test_cluster.c)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

build/tests/test_partition: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/test_partition.c)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

build/tests/test_accounts_it: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/test_accounts.c kyc/tests/standin.c) $$(KYC_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(KYC_LIBS) $(PKG_LIBS) -lcmocka

build/tests/test_auth_it: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/tokens.c tests/integration/test_auth.c)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(KYC_LIBS) $(PKG_LIBS) -lcmocka

build/tests/test_writepath: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/test_writepath.c)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

build/tests/test_agreement: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/test_agreement.c tests/feedsim/simproc.c $(FEED_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

build/tests/test_quotes_it: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/test_quotes.c tests/feedsim/simproc.c $(FEED_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

build/tests/test_raft_guard: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/test_raft_guard.c $(CONSENSUS_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

build/tests/test_hardening: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/tokens.c tests/integration/test_hardening.c) $$(KYC_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(KYC_LIBS) $(PKG_LIBS) -lcmocka

build/tests/test_bets_it: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/tokens.c tests/integration/test_bets_it.c tests/feedsim/simproc.c $(FEED_SRCS)) $$(KYC_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(KYC_LIBS) $(PKG_LIBS) -lcmocka

build/tests/test_cashout_it: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/tokens.c tests/integration/test_cashout_it.c tests/feedsim/simproc.c $(FEED_SRCS)) $$(KYC_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(KYC_LIBS) $(PKG_LIBS) -lcmocka

build/tests/test_wallet_it: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/test_wallet_it.c)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(KYC_LIBS) $(PKG_LIBS) -lcmocka

# Named operators, scopes, machine tokens and the audit trail (issue 16).
build/tests/test_operators_it: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/tokens.c tests/integration/test_operators.c) $$(KYC_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(KYC_LIBS) $(PKG_LIBS) -lcmocka

TESTS += build/tests/test_operators_it

# A player's password change (issue 16, ASVS 6.2.2 and 6.2.3).
build/tests/test_password_it: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/tokens.c tests/integration/test_password.c) $$(KYC_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(KYC_LIBS) $(PKG_LIBS) -lcmocka

TESTS += build/tests/test_password_it
TESTS += build/tests/test_cluster build/tests/test_partition build/tests/test_accounts_it \
         build/tests/test_wallet_it build/tests/test_bets_it build/tests/test_cashout_it \
         build/tests/test_auth_it build/tests/test_agreement build/tests/test_quotes_it \
         build/tests/test_writepath build/tests/test_raft_guard build/tests/test_hardening
TEST_DEPS += build/parlayd-san build/parlayctl

.PHONY: test-integration
test-integration: build/tests/test_cluster build/tests/test_partition build/tests/test_accounts_it \
                  build/tests/test_wallet_it build/tests/test_bets_it build/tests/test_cashout_it \
                  build/tests/test_auth_it build/tests/test_agreement build/tests/test_quotes_it \
                  build/tests/test_writepath build/tests/test_raft_guard build/tests/test_hardening \
                  build/tests/test_operators_it build/parlayd-san \
                  build/parlayctl build/parlay-feedsim-san
	@bash tests/run-tests.sh build/tests/test_cluster build/tests/test_partition \
	  build/tests/test_accounts_it build/tests/test_auth_it build/tests/test_agreement \
	  build/tests/test_quotes_it build/tests/test_writepath build/tests/test_raft_guard build/tests/test_hardening \
	  build/tests/test_bets_it build/tests/test_cashout_it build/tests/test_operators_it

# test_payments_it: accounts nodes started with the pay stand-in as their payment provider
# (key `payments`), and bad provider settings refused at start.
build/tests/test_payments_it: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/test_payments_it.c)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

TESTS += build/tests/test_payments_it

# Results to the chain (issue 13): anvil, the contract, three football nodes and simulators.
build/tests/test_oracle_it: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/test_oracle_it.c tests/feedsim/simproc.c oracle/tests/anvil.c $(FEED_SRCS) $(ORACLE_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
TESTS += build/tests/test_oracle_it
TEST_DEPS += $(ORACLE_ARTEFACTS)

# Raft over mutual TLS (issue 16): member certificates, strangers refused, rotation.
build/tests/test_tls: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/test_tls.c $(CONSENSUS_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
TESTS += build/tests/test_tls
