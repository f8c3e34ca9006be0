# kyc: FranceConnect relying party, identity rules, passwords, TOTP, document-check webhooks
# (see kyc/README.md).
#
#   make test-kyc   build the kyc tests and run them (the end-to-end test starts the
#                   oidc-provider stand-in from tests/npm and the document-check stand-in)
#
# cjose and libargon2 are not in the root PKGS: their flags are added here, for kyc objects only.

KYC_SRCS := common/hex.c kyc/util.c kyc/jwt.c kyc/fc.c kyc/identity.c kyc/password.c kyc/totp.c \
            kyc/webhook.c
KYC_OBJS := $(KYC_SRCS:%.c=$(BUILD)/obj/%.o)
KYC_SAN_OBJS := $(KYC_SRCS:%.c=$(BUILD)/san/%.o)
KYC_CFLAGS := $(shell pkg-config --cflags cjose libargon2 2>/dev/null)
KYC_LIBS := $(shell pkg-config --libs cjose libargon2 2>/dev/null)

$(BUILD)/obj/kyc/%.o $(BUILD)/san/kyc/%.o: CPPFLAGS += $(KYC_CFLAGS)

KYC_TEST_NAMES := units jwt fc_flow docwebhook webhook
KYC_TESTS := $(patsubst %,$(BUILD)/tests/test_kyc_%,$(KYC_TEST_NAMES))
KYC_TEST_SUPPORT := $(BUILD)/san/kyc/tests/standin.o

$(KYC_TESTS): $(BUILD)/tests/test_kyc_%: $(BUILD)/san/kyc/tests/test_%.o $(KYC_TEST_SUPPORT) \
              $(KYC_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(KYC_LIBS) $(PKG_LIBS) -lcmocka

TESTS += $(KYC_TESTS)

.PHONY: test-kyc
test-kyc: $(KYC_TESTS)
	@bash tests/run-tests.sh $(KYC_TESTS)
