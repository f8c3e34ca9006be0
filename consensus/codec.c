/* Command encoding; see codec.h for the layout. */
#include "consensus/codec.h"

#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

const char *cmd_strerror(int rv)
{
    switch (rv) {
    case CMD_OK: return "ok";
    case CMD_ESHORT: return "truncated command";
    case CMD_EMAGIC: return "not a Parlay command (bad magic)";
    case CMD_EVERSION: return "unknown command version";
    case CMD_ETYPE: return "unknown command type";
    case CMD_ELENGTH: return "inconsistent command lengths";
    case CMD_EPAD: return "non-zero reserved or padding bytes";
    case CMD_ENOMEM: return "out of memory";
    default: return "unknown codec error";
    }
}

const char *cmd_type_name(unsigned type)
{
    switch (type) {
    case CMD_FIXTURE_CREATE: return "fixture_create";
    case CMD_FIXTURE_UPDATE: return "fixture_update";
    case CMD_MEMBER_SET: return "member_set";
    case CMD_PLAYER_REGISTER: return "player_register";
    case CMD_LOGIN_FAILED: return "login_failed";
    case CMD_SESSION_CREATE: return "session_create";
    case CMD_SESSION_REFRESH: return "session_refresh";
    case CMD_SESSION_REVOKE: return "session_revoke";
    case CMD_SESSION_REVOKE_ALL: return "session_revoke_all";
    case CMD_SIGNING_KEY_ADD: return "signing_key_add";
    case CMD_TOTP_ENROL: return "totp_enrol";
    case CMD_TOTP_CONFIRM: return "totp_confirm";
    case CMD_FC_START: return "fc_start";
    case CMD_FC_LINK: return "fc_link";
    case CMD_DOC_SESSION: return "doc_session";
    case CMD_DOC_EVENT: return "doc_event";
    case CMD_KYC_OVERRIDE: return "kyc_override";
    case CMD_IDEM_EXPIRE: return "idem_expire";
    case CMD_MEMBER_KEY: return "member_key";
    case CMD_OBSERVATION_AGREED: return "observation_agreed";
    case CMD_QUOTE_ROUND: return "quote_round";
    case CMD_QUOTE_PUBLISHED: return "quote_published";
    case CMD_MARKETS_SUSPEND: return "markets_suspend";
    default: return "unknown";
    }
}

size_t cmd_encoded_size(const struct cmd *c)
{
    return pad8(CMD_HEADER_SIZE + c->idem_len + c->payload_len);
}

int cmd_encode(const struct cmd *c, void *buf, size_t size)
{
    if (c->idem_len > CMD_IDEM_MAX || c->payload_len > CMD_PAYLOAD_MAX)
        return CMD_ELENGTH;
    if (c->type == 0 || c->type > CMD_TYPE_MAX)
        return CMD_ETYPE;
    size_t len = CMD_HEADER_SIZE + c->idem_len + c->payload_len;
    if (size < pad8(len))
        return CMD_ESHORT;
    uint8_t *p = buf;
    memset(p, 0, pad8(len));
    put32(p, CMD_MAGIC);
    put16(p + 4, CMD_VERSION);
    put16(p + 6, c->type);
    put32(p + 8, (uint32_t)len);
    put16(p + 12, (uint16_t)c->idem_len);
    put64(p + 16, c->time_ms);
    memcpy(p + 24, c->fingerprint, 32);
    put32(p + 56, (uint32_t)c->payload_len);
    if (c->idem_len)
        memcpy(p + CMD_HEADER_SIZE, c->idem, c->idem_len);
    if (c->payload_len)
        memcpy(p + CMD_HEADER_SIZE + c->idem_len, c->payload, c->payload_len);
    return CMD_OK;
}

int cmd_decode(const void *buf, size_t size, struct cmd *c)
{
    const uint8_t *p = buf;
    if (size < CMD_HEADER_SIZE)
        return CMD_ESHORT;
    if (get32(p) != CMD_MAGIC)
        return CMD_EMAGIC;
    if (get16(p + 4) != CMD_VERSION)
        return CMD_EVERSION;
    uint16_t type = get16(p + 6);
    if (type == 0 || type > CMD_TYPE_MAX)
        return CMD_ETYPE;
    uint32_t len = get32(p + 8);
    uint16_t idem_len = get16(p + 12);
    uint32_t payload_len = get32(p + 56);
    if (get16(p + 14) != 0 || get32(p + 60) != 0)
        return CMD_EPAD;
    if (idem_len > CMD_IDEM_MAX || payload_len > CMD_PAYLOAD_MAX ||
        (uint64_t)CMD_HEADER_SIZE + idem_len + payload_len != len)
        return CMD_ELENGTH;
    if (len > size)
        return CMD_ESHORT;
    /* The buffer is the padded size; anything after the real length must be zero padding. */
    if (size - len >= 8 || (size % 8) != 0)
        return CMD_ELENGTH;
    for (size_t i = len; i < size; i++)
        if (p[i] != 0)
            return CMD_EPAD;
    c->type = type;
    c->time_ms = get64(p + 16);
    memcpy(c->fingerprint, p + 24, 32);
    c->idem_len = idem_len;
    c->idem = idem_len ? (const char *)p + CMD_HEADER_SIZE : NULL;
    c->payload_len = payload_len;
    c->payload = (const char *)p + CMD_HEADER_SIZE + idem_len;
    return CMD_OK;
}
