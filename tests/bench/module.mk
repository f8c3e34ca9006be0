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
