# tests/system: Jepsen-style runs, a money workload under a nemesis with a history checker
# (issue 15). `make test` runs the short one (CHAOS_SECONDS, default 60); `make chaos
# SECONDS=600` the long one.
build/tests/test_chaos: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/tokens.c tests/system/test_chaos.c tests/system/chaos_nemesis.c tests/feedsim/simproc.c $(FEED_SRCS)) $$(KYC_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(KYC_LIBS) $(PKG_LIBS) -lcmocka
TESTS += build/tests/test_chaos

SECONDS ?= 600
.PHONY: chaos
chaos: build/tests/test_chaos build/parlayd-san build/parlayctl build/parlay-feedsim-san
	CHAOS_SECONDS=$(SECONDS) build/tests/test_chaos
