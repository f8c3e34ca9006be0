# tests/bench: benchmark programs (run by `make bench`, never by `make test`).
build/bench/h2o_hello: $(BUILD)/obj/tests/bench/h2o_hello.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
BENCH_BINS += build/bench/h2o_hello

# The agreed-quote benchmark client (run.sh, section "quotes"; `make bench-quotes` runs only that).
build/bench/quote_latency: $(BUILD)/obj/tests/bench/quote_latency.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
BENCH_BINS += build/bench/quote_latency

# The cost of pricing one football round (node/quote_price.c; README "Trader controls").
QUOTE_PRICE_BENCH_OBJS := $(BUILD)/obj/tests/bench/quote_price_bench.o $(BUILD)/obj/node/quote_price.o \
	$(BUILD)/obj/node/quote_trader.o $(patsubst %.c,$(BUILD)/obj/%.o,$(CONSENSUS_SRCS)) $(MODELS_OBJS)
build/bench/quote_price: $(QUOTE_PRICE_BENCH_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lm
BENCH_BINS += build/bench/quote_price

.PHONY: bench-quotes
bench-quotes: deps
	@$(MAKE) --no-print-directory all build/bench/quote_latency
	@BENCH_ONLY=quotes bash tests/bench/run.sh

# Holds placed and resolved on a three-node accounts cluster (run.sh, section "holds").
build/bench/holds_bench: $(BUILD)/obj/tests/bench/holds_bench.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
BENCH_BINS += build/bench/holds_bench

.PHONY: bench-holds
bench-holds: deps
	@$(MAKE) --no-print-directory all build/bench/holds_bench
	@BENCH_ONLY=holds bash tests/bench/run.sh

# Results to the chain: agreed result -> confirmed transaction on anvil (`make bench-oracle-latency`;
# README "Benchmark"). The integration harness is compiled again to start the release parlayd.
$(BUILD)/obj/tests/bench/harness_release.o: tests/integration/harness.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -DPARLAYD='"build/parlayd"' -MMD -MP -c $< -o $@
build/bench/oracle_latency: $(BUILD)/obj/tests/bench/oracle_latency.o $(BUILD)/obj/tests/bench/harness_release.o \
		$(patsubst %.c,$(BUILD)/obj/%.o,tests/feedsim/simproc.c oracle/tests/anvil.c $(FEED_SRCS) $(ORACLE_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
BENCH_BINS += build/bench/oracle_latency

.PHONY: bench-oracle-latency
bench-oracle-latency: build/bench/oracle_latency build/parlayd build/parlay-feedsim $(ORACLE_ARTEFACTS)
	FEEDSIM=build/parlay-feedsim build/bench/oracle_latency $(BENCH_RESULTS)

# Bets placed, accepted and settled on a football cluster and an accounts cluster, beside the
# raw committed-write rate (`make bench-bets`; README "Benchmark"). Release parlayd.
build/bench/bets_bench: $(BUILD)/obj/tests/bench/bets_bench.o $(BUILD)/obj/tests/bench/harness_release.o \
		$(patsubst %.c,$(BUILD)/obj/%.o,tests/integration/tokens.c tests/feedsim/simproc.c $(FEED_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lcjose -lcmocka -lpthread
BENCH_BINS += build/bench/bets_bench

.PHONY: bench-bets
bench-bets: build/bench/bets_bench build/parlayd build/parlayctl build/parlay-feedsim
	FEEDSIM=build/parlay-feedsim build/bench/bets_bench $(BENCH_SECONDS)

# The settlement of BETS (default 100,000) bets on one fixture while 20 other games are live
# (their agreed-quote latency timed meanwhile by quote_latency; README "Benchmark").
.PHONY: bench-settle
bench-settle: build/bench/bets_bench build/bench/quote_latency build/parlayd build/parlay-feedsim
	FEEDSIM=build/parlay-feedsim build/bench/bets_bench settle $(or $(BETS),100000)

# Settlement chunks' apply time, in-process on a release state machine (README "Benchmark").
build/bench/settle_bench: $(BUILD)/obj/tests/bench/settle_bench.o \
		$(patsubst %.c,$(BUILD)/obj/%.o,$(CONSENSUS_SRCS) tests/unit/unit_util.c)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
BENCH_BINS += build/bench/settle_bench

# Hold batches' apply time per item, in-process on a release state machine (README "Benchmark").
build/bench/wallet_bench: $(BUILD)/obj/tests/bench/wallet_bench.o \
		$(patsubst %.c,$(BUILD)/obj/%.o,$(CONSENSUS_SRCS) tests/unit/unit_util.c)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
BENCH_BINS += build/bench/wallet_bench

# The quote stream's fan-out to many subscribers on one node (run.sh, section "fanout";
# `make bench-fanout` runs only that).
build/bench/sse_fanout: $(BUILD)/obj/tests/bench/sse_fanout.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^
BENCH_BINS += build/bench/sse_fanout

.PHONY: bench-fanout
bench-fanout: build/bench/sse_fanout build/parlayd build/parlay-feedsim
	@BENCH_ONLY=fanout bash tests/bench/run.sh

# The return-to-player governor's season (issue 17): a calendar year of bets priced by models/
# through consensus/governor_rule.c, TRJ by month with and without it (README, "Return-to-player
# governor"). A simulation, not a timing: `build/bench/governor_season [--seed N]`.
build/bench/governor_season: $(BUILD)/obj/tests/bench/governor_season.o $(BUILD)/obj/consensus/governor_rule.o $(MODELS_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(MODELS_LIBS)
BENCH_BINS += build/bench/governor_season
