# feed/: the sports-data feed library (observations, canonical encoding, REST and SSE
# adapters over libcurl on a libuv loop), the feed simulator, and their tests.
#
#   make test-feed    build and run the feed tests (unit + simulator integration)
FEED_SRCS := feed/obs.c feed/json.c feed/curl_uv.c feed/provider.c feed/rest.c feed/sse.c \
	feed/sse_parse.c
FEEDSIM_SRCS := feed/sim/scenario.c feed/sim/http.c feed/sim/publish.c feed/sim/admin.c \
	feed/sim/main.c

BINS += build/parlay-feedsim build/parlay-feedcat

build/parlay-feedsim: $(patsubst %.c,$(BUILD)/obj/%.o,$(FEEDSIM_SRCS) $(FEED_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

# parlay-feedcat URL: prints what a node would read from a provider (JSON + canonical hex).
build/parlay-feedcat: $(patsubst %.c,$(BUILD)/obj/%.o,feed/tools/feedcat.c $(FEED_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

# The simulator the tests start: the sanitizer build, so that its bugs fail the tests too.
build/parlay-feedsim-san: $(patsubst %.c,$(BUILD)/san/%.o,$(FEEDSIM_SRCS) $(FEED_SRCS))
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS)

FEED_TESTS := $(BUILD)/tests/test_feed_codec $(BUILD)/tests/test_feed_sse \
	$(BUILD)/tests/test_feed_sim

$(BUILD)/tests/test_feed_codec: $(patsubst %.c,$(BUILD)/san/%.o,feed/tests/test_feed_codec.c $(FEED_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

$(BUILD)/tests/test_feed_sse: $(patsubst %.c,$(BUILD)/san/%.o,feed/tests/test_feed_sse.c $(FEED_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

$(BUILD)/tests/test_feed_sim: $(patsubst %.c,$(BUILD)/san/%.o,feed/tests/test_feed_sim.c feed/tests/simproc.c $(FEED_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

TESTS += $(FEED_TESTS)
TEST_DEPS += build/parlay-feedsim-san

.PHONY: test-feed
test-feed: $(FEED_TESTS) build/parlay-feedsim-san build/parlay-feedsim
	@bash tests/run-tests.sh $(FEED_TESTS)

# On demand, not a test: publication-to-delivery latency of both adapters (feed/bench).
build/bench/feed_latency: $(patsubst %.c,$(BUILD)/obj/%.o,feed/bench/feed_latency.c feed/tests/simproc.c $(FEED_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

.PHONY: bench-feed
bench-feed: build/bench/feed_latency build/parlay-feedsim
	build/bench/feed_latency feed/scenarios/busy-afternoon.json 1000
