# feed/: the sports-data feed library (observations, canonical encoding, REST and SSE
# adapters over libcurl on a libuv loop). Its simulator, tests and tools live in
# tests/feedsim/, tests/feed/ and tools/ (tests/feedsim/module.mk).
FEED_SRCS := $(COMMON_SRCS) feed/obs.c feed/json.c feed/provider.c feed/rest.c feed/sse.c \
	feed/sse_parse.c
