# tests/bench: benchmark programs (run by `make bench`, never by `make test`).
build/bench/h2o_hello: $(BUILD)/obj/tests/bench/h2o_hello.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
BENCH_BINS += build/bench/h2o_hello
