# tests/fuzz: libFuzzer targets for every parser that takes outside bytes (see tests/fuzz/fuzz.h).
#
#   make fuzz SECONDS=N   build each target with clang (-fsanitize=fuzzer,address,undefined) and
#                         run it N seconds (default 60) on its committed corpus, one after the
#                         other; new inputs go to build/fuzz/work/<target>, crashes to
#                         build/fuzz/crashes/ (tests/fuzz/run.sh)
#   make fuzz-build       only build them (build/fuzz/fuzz_<target>)
#
# `make test` does not need clang: build/tests/fuzz_<target> is the same target linked with gcc
# and the project's sanitizers against tests/fuzz/replay.c, which replays the committed corpus
# tests/fuzz/corpus/<target>/ once (a regression test per target).
#
#   apply    the command codec and the state machine's apply (consensus/), invariants after each
#   http     query parameters (node/query.c, http.c), request bodies (routes_body), the framing
#            guard (node/http_guard.c)
#   feed     the feed's observation JSON (feed/json.c, obs.c) and SSE framing (feed/sse_parse.c)
#   oracle   revert data and ABI (oracle/abi.c), hex, the journal's records, RLP encodings
#   history  the football-data CSV reader (models/history.c)
#   kyc      JWT / JWKS / ID tokens (kyc/jwt.c), signed webhooks (kyc/webhook.c), document-check
#            and payment provider webhooks as the node reads them (node/pay.c)
#   rpc      the Ethereum node's JSON-RPC answers (oracle/rpc.c, eth_rpc_answer_read)
#   pay      the payment provider's answers to the create calls (node/pay.c,
#            pay_create_answer_read)
#   rest     the feed's REST pages (feed/rest.c, feed_rest_page_read)

FUZZ_TARGETS := apply http feed oracle history kyc rpc pay rest
FUZZ_CC ?= clang
FUZZ_CFLAGS := -g -O1 -std=c11 -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_SAN := -fsanitize=address,undefined
SECONDS ?= 60

FUZZ_SRCS_apply := $(CONSENSUS_SRCS)
FUZZ_LIBS_apply := $(PKG_LIBS)
FUZZ_SRCS_http := $(filter-out node/main.c,$(CORE_SRCS)) $(KYC_SRCS)
FUZZ_LIBS_http := $(KYC_LIBS) $(PKG_LIBS)
FUZZ_SRCS_feed := $(FEED_SRCS)
FUZZ_LIBS_feed := $(PKG_LIBS)
FUZZ_SRCS_oracle := $(filter-out oracle/oracle_cli.c,$(ORACLE_SRCS))
FUZZ_LIBS_oracle := $(PKG_LIBS)
FUZZ_SRCS_history := $(MODELS_SRCS)
FUZZ_LIBS_history := $(MODELS_LIBS)
FUZZ_SRCS_kyc := $(KYC_SRCS) node/pay.c node/config.c consensus/scopes.c $(COMMON_SRCS)
FUZZ_LIBS_kyc := $(KYC_LIBS) $(PKG_LIBS)
FUZZ_SRCS_rpc := $(FUZZ_SRCS_oracle)
FUZZ_LIBS_rpc := $(PKG_LIBS)
FUZZ_SRCS_pay := $(FUZZ_SRCS_kyc)
FUZZ_LIBS_pay := $(FUZZ_LIBS_kyc)
FUZZ_SRCS_rest := $(FEED_SRCS)
FUZZ_LIBS_rest := $(PKG_LIBS)

# clang objects (coverage + sanitizers) apart from gcc's.
$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(PKG_CFLAGS) $(KYC_CFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SAN) -MMD -MP \
	    -fsanitize=fuzzer-no-link -c $< -o $@

# The replay objects name their target.
$(BUILD)/san/tests/fuzz/replay_%.o: tests/fuzz/replay.c tests/fuzz/fuzz.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -DFUZZ_NAME='"$*"' -c $< -o $@

define FUZZ_TARGET_RULES
$(BUILD)/fuzz/fuzz_$(1): $(BUILD)/fuzz/obj/tests/fuzz/fuzz_$(1).o \
        $$(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$$(sort $$(FUZZ_SRCS_$(1))))
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $$@ $$^ $$(FUZZ_LIBS_$(1))

$(BUILD)/tests/fuzz_$(1): $(BUILD)/san/tests/fuzz/fuzz_$(1).o $(BUILD)/san/tests/fuzz/replay_$(1).o \
        $$(patsubst %.c,$(BUILD)/san/%.o,$$(sort $$(FUZZ_SRCS_$(1))))
	@mkdir -p $$(dir $$@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $$@ $$^ $$(FUZZ_LIBS_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_TARGET_RULES,$(t))))

FUZZ_REPLAYS := $(patsubst %,$(BUILD)/tests/fuzz_%,$(FUZZ_TARGETS))
TESTS += $(FUZZ_REPLAYS)

.PHONY: fuzz fuzz-build test-fuzz
fuzz-build: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))
fuzz: fuzz-build
	@bash tests/fuzz/run.sh $(SECONDS) $(FUZZ_TARGETS)
test-fuzz: $(FUZZ_REPLAYS)
	@bash tests/run-tests.sh $(FUZZ_REPLAYS)

# Seeds for the apply target from the unit tests' own command sequences (tests/fuzz/seedgen.c):
# each unit test linked with fsm_apply wrapped, run once; the files land in
# build/fuzz/seeds/apply (copy the ones worth keeping into tests/fuzz/corpus/apply).
FUZZ_SEED_TESTS := fsm accounts observations quotes wallet bets oracle_state operators
$(BUILD)/fuzz/seedgen/test_%: $(BUILD)/san/tests/unit/test_%.o $(BUILD)/san/tests/fuzz/seedgen.o $(UNIT_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -Wl,--wrap=fsm_apply -o $@ $^ $(PKG_LIBS) -lcmocka

.PHONY: fuzz-seeds
fuzz-seeds: $(patsubst %,$(BUILD)/fuzz/seedgen/test_%,$(FUZZ_SEED_TESTS))
	@rm -rf $(BUILD)/fuzz/seeds/apply && mkdir -p $(BUILD)/fuzz/seeds/apply
	@for t in $(FUZZ_SEED_TESTS); do \
	    PARLAY_FUZZ_SEEDS=$(BUILD)/fuzz/seeds/apply PARLAY_FUZZ_SEED_PREFIX=$$t \
	        $(BUILD)/fuzz/seedgen/test_$$t >/dev/null 2>&1 || echo "seedgen: test_$$t failed"; \
	done; ls $(BUILD)/fuzz/seeds/apply | wc -l
