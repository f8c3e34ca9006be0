# node/: parlayd (the node daemon) and parlayctl (the operator CLI).
NODE_SRCS := node/config.c node/log.c node/http.c node/forward.c node/metrics.c node/key.c \
	node/routes.c node/routes_fixtures.c node/routes_admin.c
CORE_SRCS := $(CONSENSUS_SRCS) $(NODE_SRCS)

BINS += build/parlayd build/parlayctl

build/parlayd: $(patsubst %.c,$(BUILD)/obj/%.o,$(CORE_SRCS) node/main.c)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

build/parlayctl: $(patsubst %.c,$(BUILD)/obj/%.o,node/parlayctl.c $(ORACLE_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
