/* Command encoding; see codec.h for the layout. */
#include "consensus/codec.h"

#include "consensus/cmdtable.h"

#include <jansson.h>
#include <stdlib.h>
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

char *cmd_fill(struct cmd *c, uint16_t type, json_t *payload)
{
    char *text = payload ? json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    *c = (struct cmd){.type = type, .payload = text, .payload_len = text ? strlen(text) : 0};
    return text;
}

char *cmd_fill_new(struct cmd *c, uint16_t type, json_t *payload)
{
    char *text = cmd_fill(c, type, payload);
    json_decref(payload);
    return text;
}

const char *cmd_type_name(unsigned type)
{
    if (type == CMD_BATCH)
        return "batch";
    const struct fsm_command *row = cmdtable_find(type);
    return row ? row->name : "unknown";
}

static int type_known(unsigned type)
{
    return type == CMD_BATCH || cmdtable_find(type) != NULL;
}

size_t cmd_encoded_size(const struct cmd *c)
{
    return pad8(CMD_HEADER_SIZE + c->idem_len + c->payload_len);
}

int cmd_encode(const struct cmd *c, void *buf, size_t size)
{
    if (c->idem_len > CMD_IDEM_MAX || c->payload_len > CMD_PAYLOAD_MAX)
        return CMD_ELENGTH;
    if (!type_known(c->type))
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
    if (!type_known(type))
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
    c->parsed = NULL;
    return CMD_OK;
}

/* ---- batches ------------------------------------------------------------------------------ */

int cmd_batchable(unsigned type)
{
    /* The table says so row by row: a new command type travels alone unless its row says
     * that its apply does not depend on its entry's index. */
    const struct fsm_command *row = cmdtable_find(type);
    return row && row->batchable;
}

size_t cmd_batch_item_size(const struct cmd *c)
{
    return CMD_BATCH_ITEM_HEADER + cmd_encoded_size(c);
}

int cmd_batch_put_item(void *at, size_t room, const struct cmd *c)
{
    size_t size = cmd_encoded_size(c);
    if (room < CMD_BATCH_ITEM_HEADER || room - CMD_BATCH_ITEM_HEADER < size)
        return CMD_ESHORT;
    if (!cmd_batchable(c->type))
        return CMD_ETYPE;
    uint8_t *p = at;
    put32(p, (uint32_t)size);
    put32(p + 4, 0);
    return cmd_encode(c, p + CMD_BATCH_ITEM_HEADER, size);
}

void cmd_batch_put_header(void *payload, unsigned count)
{
    uint8_t *p = payload;
    put32(p, count);
    put32(p + 4, 0);
}

int cmd_batch_encode(const struct cmd *subs, unsigned n, uint64_t time_ms, void **out,
                     size_t *out_len)
{
    if (n == 0 || n > CMD_BATCH_MAX)
        return CMD_ELENGTH;
    size_t plen = CMD_BATCH_HEADER;
    for (unsigned i = 0; i < n; i++) {
        if (subs[i].idem_len > CMD_IDEM_MAX || subs[i].payload_len > CMD_PAYLOAD_MAX)
            return CMD_ELENGTH;
        plen += cmd_batch_item_size(&subs[i]);
        if (plen > CMD_BATCH_BYTES)
            return CMD_ELENGTH;
    }
    uint8_t *payload = malloc(plen);
    if (!payload)
        return CMD_ENOMEM;
    cmd_batch_put_header(payload, n);
    size_t off = CMD_BATCH_HEADER;
    int rv = CMD_OK;
    for (unsigned i = 0; i < n && rv == CMD_OK; i++) {
        rv = cmd_batch_put_item(payload + off, plen - off, &subs[i]);
        off += cmd_batch_item_size(&subs[i]);
    }
    struct cmd b = {.type = CMD_BATCH, .time_ms = time_ms, .payload = (const char *)payload,
                    .payload_len = plen};
    size_t size = cmd_encoded_size(&b);
    void *buf = rv == CMD_OK ? malloc(size) : NULL;
    if (rv == CMD_OK && !buf)
        rv = CMD_ENOMEM;
    if (rv == CMD_OK)
        rv = cmd_encode(&b, buf, size);
    free(payload);
    if (rv != CMD_OK) {
        free(buf);
        return rv;
    }
    *out = buf;
    *out_len = size;
    return CMD_OK;
}

int cmd_batch_next(const struct cmd *batch, size_t *off, struct cmd *sub)
{
    const uint8_t *p = (const uint8_t *)batch->payload;
    size_t len = batch->payload_len, o = *off ? *off : CMD_BATCH_HEADER;
    if (o > len || len - o < CMD_BATCH_ITEM_HEADER)
        return CMD_ESHORT;
    uint32_t l = get32(p + o);
    if (get32(p + o + 4) != 0)
        return CMD_EPAD;
    o += CMD_BATCH_ITEM_HEADER;
    if (l > len - o)
        return CMD_ESHORT;
    int rv = cmd_decode(p + o, l, sub);
    if (rv != CMD_OK)
        return rv;
    if (!cmd_batchable(sub->type))
        return CMD_ETYPE;
    *off = o + l;
    return CMD_OK;
}

int cmd_batch_check(const struct cmd *batch, unsigned *count)
{
    if (batch->type != CMD_BATCH)
        return CMD_ETYPE;
    if (batch->idem_len != 0)
        return CMD_ELENGTH;
    for (int i = 0; i < 32; i++)
        if (batch->fingerprint[i] != 0)
            return CMD_EPAD;
    const uint8_t *p = (const uint8_t *)batch->payload;
    if (batch->payload_len < CMD_BATCH_HEADER)
        return CMD_ESHORT;
    uint32_t n = get32(p);
    if (get32(p + 4) != 0)
        return CMD_EPAD;
    if (n == 0 || n > CMD_BATCH_MAX)
        return CMD_ELENGTH;
    size_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct cmd sub;
        int rv = cmd_batch_next(batch, &off, &sub);
        if (rv != CMD_OK)
            return rv;
    }
    if (off != batch->payload_len)
        return CMD_ELENGTH; /* bytes after the last item */
    *count = n;
    return CMD_OK;
}
