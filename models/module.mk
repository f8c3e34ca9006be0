# models: sources, programs and tests (see the root Makefile for the variables).
#
# The pricing library (no main, no I/O; history.c parses past results from memory), the
# parlay-model tool (walk-forward evaluation), the unit tests and the benchmark.

MODELS_LIBS := $(shell pkg-config --libs gsl 2>/dev/null || echo -lgsl -lgslcblas) -lm

MODELS_SRCS := models/detmath.c models/margin.c models/metrics.c models/football_grid.c \
               models/football_markets.c models/football_quote.c models/football_fit.c \
               models/tennis.c models/basketball.c models/history.c models/blend.c
# The evaluation code: the walk-forward over the history (models/history.c reads the CSV text).
# Not part of the library, shared by tool and tests.
MODELS_TOOL_SRCS := models/tool/eval.c

MODELS_OBJS      := $(MODELS_SRCS:%.c=$(BUILD)/obj/%.o)
MODELS_SAN_OBJS  := $(MODELS_SRCS:%.c=$(BUILD)/san/%.o)
MODELS_TOOL_OBJS := $(MODELS_TOOL_SRCS:%.c=$(BUILD)/obj/%.o)
MODELS_TOOL_SAN  := $(MODELS_TOOL_SRCS:%.c=$(BUILD)/san/%.o)

MODELS_TESTS := $(BUILD)/tests/test_models $(BUILD)/tests/test_models_eval

BINS  += $(BUILD)/parlay-model $(BUILD)/bench_models
TESTS += $(MODELS_TESTS)

$(BUILD)/parlay-model: $(BUILD)/obj/models/tool/main.o $(BUILD)/obj/common/file.o $(MODELS_TOOL_OBJS) $(MODELS_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(MODELS_LIBS)

$(BUILD)/bench_models: $(BUILD)/obj/tests/bench/bench_models.o $(MODELS_TOOL_OBJS) $(MODELS_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(MODELS_LIBS)

$(BUILD)/tests/test_models: $(BUILD)/san/models/tests/test_models.o $(MODELS_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(MODELS_LIBS) -lcmocka

$(BUILD)/tests/test_models_eval: $(BUILD)/san/models/tests/test_models_eval.o $(MODELS_TOOL_SAN) $(MODELS_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(MODELS_LIBS) -lcmocka

.PHONY: test-models
test-models: $(MODELS_TESTS)
	@bash tests/run-tests.sh $(MODELS_TESTS)
