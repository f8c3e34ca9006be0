# Parlay: one plain Makefile. Each directory adds its sources, programs and tests in its own
# module.mk (included below) so that the pieces can grow independently.
#
#   make run    install what is missing, build, start the local deployment (and the edge + site)
#   make web    build the site (web/dist) with Vite
#   make test   install what is missing, build, run every test (exit non-zero on failure)
#   make bench  run the benchmarks under tests/bench
#   make fmt    clang-format every C file
#   make clean  remove build outputs

CC      ?= gcc
BUILD   := build
PKGS    := raft libuv lmdb libh2o jansson libcurl libsecp256k1 openssl nettle gsl
RAFT_MIN := 0.17.1

# -D_GNU_SOURCE: POSIX + Linux extras; H2O_USE_LIBUV: h2o built on libuv (libh2o-dev).
CPPFLAGS += -D_GNU_SOURCE -DH2O_USE_LIBUV=1 -I.
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Werror -fno-fast-math
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread

# Filled in by the module.mk files:
#   BINS       programs built for use (linked from $(BUILD)/obj)
#   TESTS      unit/integration test programs (linked from $(BUILD)/san, with sanitizers)
#   TEST_DEPS  other things `make test` needs built first (programs the tests start)
BINS :=
TESTS :=
TEST_DEPS :=

.PHONY: all deps check-raft run test bench fmt clean web test-web
all: check-raft build-all

include common/module.mk
include models/module.mk
include oracle/module.mk
include consensus/module.mk
include node/module.mk
include kyc/module.mk
include feed/module.mk
include tests/feedsim/module.mk
include tests/module.mk
include tests/integration/module.mk
include tests/system/module.mk
include tests/bench/module.mk
include tests/fuzz/module.mk

.PHONY: build-all
build-all: $(BINS)

deps:
	@bash tests/install-deps.sh

check-raft:
	@pkg-config --atleast-version=$(RAFT_MIN) raft || { \
	  echo "error: canonical raft >= $(RAFT_MIN) is required (found: $$(pkg-config --modversion raft 2>/dev/null || echo none))."; \
	  echo "       bookworm's main suite has 0.15 (unsafe); run 'make deps' to install libraft-dev from bookworm-backports."; \
	  exit 1; }

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(SANFLAGS) -MMD -MP -c $< -o $@

# The site: type-checked, then built by Vite into web/dist (served by the edge). Its npm
# packages (web/package-lock.json) are installed by `make deps`.
WEB_SRC := $(shell find web/src -type f 2>/dev/null) web/index.html web/console.html \
           web/vite.config.ts web/tsconfig.json web/package-lock.json
web: web/dist/index.html
web/dist/index.html: $(WEB_SRC)
	@[ -d web/node_modules ] || { echo "error: web/node_modules is missing; run 'make deps'"; exit 1; }
	cd web && npx tsc --noEmit -p . && npx vite build --logLevel warn

run: deps
	@$(MAKE) --no-print-directory all web
	@bash cluster-config/local/run.sh

test: deps
	@$(MAKE) --no-print-directory all web
	@$(MAKE) --no-print-directory $(TESTS) $(TEST_DEPS)
	@bash tests/run-tests.sh $(TESTS) tests/web/run.sh

# The web part alone (Vitest, then Playwright against a deployment of its own).
test-web: deps
	@$(MAKE) --no-print-directory all web
	@bash tests/run-tests.sh tests/web/run.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@bash tests/bench/run.sh

fmt:
	@find common node consensus models oracle kyc feed tools tests -name '*.[ch]' -print0 | xargs -0 -r clang-format -i

clean:
	rm -rf $(BUILD) web/dist

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
