# tests/integration: real parlayd processes (the sanitizer build) on loopback.
build/parlayd-san: $(patsubst %.c,$(BUILD)/san/%.o,$(CORE_SRCS) node/main.c)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS)

build/tests/test_cluster: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/test_cluster.c)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

build/tests/test_partition: $(patsubst %.c,$(BUILD)/san/%.o,tests/integration/harness.c tests/integration/test_partition.c)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

TESTS += build/tests/test_cluster build/tests/test_partition
TEST_DEPS += build/parlayd-san build/parlayctl

.PHONY: test-integration
test-integration: build/tests/test_cluster build/tests/test_partition build/parlayd-san build/parlayctl
	@bash tests/run-tests.sh build/tests/test_cluster build/tests/test_partition
