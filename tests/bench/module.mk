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
