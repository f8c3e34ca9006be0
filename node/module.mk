# node/: parlayd (the node daemon) and parlayctl (the operator CLI).
NODE_SRCS := node/config.c node/http.c node/http_guard.c node/query.c node/forward.c node/metrics.c node/key.c \
	node/routes.c node/write.c node/routes_fixtures.c node/routes_bets.c node/routes_cashout.c node/routes_trader.c node/bets_hold.c node/routes_admin.c node/routes_accounts.c node/accounts_common.c node/routes_signin.c node/routes_password.c \
	node/routes_tokens.c node/routes_secrets.c node/routes_totp.c node/routes_franceconnect.c node/routes_documents.c \
	node/routes_operator.c node/operators.c node/routes_wallet.c node/banlist.c node/pay.c node/auth.c \
	node/http_tls.c node/agree.c node/agree_env.c node/quote.c node/oracle.c node/oracle_worker.c node/quote_price.c node/stream.c feed/provider.c \
	$(MODELS_SRCS) feed/rest.c feed/sse.c feed/sse_parse.c
CORE_SRCS := $(CONSENSUS_SRCS) $(NODE_SRCS)

BINS += build/parlayd build/parlayctl

# The accounts routes use kyc/ (cjose, libargon2); kyc/module.mk is read after this file, hence
# the second expansion of its object list.
.SECONDEXPANSION:
build/parlayd: $(patsubst %.c,$(BUILD)/obj/%.o,$(CORE_SRCS) node/main.c) $$(KYC_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(KYC_LIBS) $(PKG_LIBS)

build/parlayctl: $(patsubst %.c,$(BUILD)/obj/%.o,node/parlayctl.c node/parlayctl_accounts.c node/parlayctl_sport.c node/parlayctl_certs.c common/tls.c common/certs.c $(ORACLE_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
