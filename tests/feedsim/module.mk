# The feed simulator (a provider that replays scenarios and can be told to lie), the feed
# library's tests, parlay-feedcat (prints what a node would read from a provider) and the feed
# latency benchmark. The library itself is feed/ (feed/module.mk).
#
#   make test-feed    build and run the feed tests (unit + simulator integration)
FEEDSIM_SRCS := tests/feedsim/scenario.c tests/feedsim/http.c tests/feedsim/publish.c tests/feedsim/admin.c \
	tests/feedsim/main.c

BINS += build/parlay-feedsim build/parlay-feedcat

build/parlay-feedsim: $(patsubst %.c,$(BUILD)/obj/%.o,$(FEEDSIM_SRCS) $(FEED_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

# parlay-feedcat URL: prints what a node would read from a provider (JSON + canonical hex).
build/parlay-feedcat: $(patsubst %.c,$(BUILD)/obj/%.o,tools/feedcat.c $(FEED_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

# The simulator the tests start: the sanitizer build, so that its bugs fail the tests too.
build/parlay-feedsim-san: $(patsubst %.c,$(BUILD)/san/%.o,$(FEEDSIM_SRCS) $(FEED_SRCS))
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS)

FEED_TESTS := $(BUILD)/tests/test_feed_codec $(BUILD)/tests/test_feed_sse \
	$(BUILD)/tests/test_feed_sim

$(BUILD)/tests/test_feed_codec: $(patsubst %.c,$(BUILD)/san/%.o,tests/feed/test_feed_codec.c $(FEED_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

$(BUILD)/tests/test_feed_sse: $(patsubst %.c,$(BUILD)/san/%.o,tests/feed/test_feed_sse.c $(FEED_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

$(BUILD)/tests/test_feed_sim: $(patsubst %.c,$(BUILD)/san/%.o,tests/feed/test_feed_sim.c tests/feedsim/simproc.c $(FEED_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

TESTS += $(FEED_TESTS)
TEST_DEPS += build/parlay-feedsim-san

.PHONY: test-feed
test-feed: $(FEED_TESTS) build/parlay-feedsim-san build/parlay-feedsim
	@bash tests/run-tests.sh $(FEED_TESTS)

# On demand, not a test: publication-to-delivery latency of both adapters (tests/bench).
build/bench/feed_latency: $(patsubst %.c,$(BUILD)/obj/%.o,tests/bench/feed_latency.c tests/feedsim/simproc.c $(FEED_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

.PHONY: bench-feed
bench-feed: build/bench/feed_latency build/parlay-feedsim
	build/bench/feed_latency tests/feedsim/scenarios/busy-afternoon.json 1000
