/* Raft wire messages, read whole and checked; see transport_check.h.
 *
 * A message is read in three parts: the 16-byte preamble (type and header length, checked
 * against the type before anything is allocated for the header), the header (checked before
 * anything is allocated for the payload, which it sizes), then the payload. Only when all of it
 * is here are the contents that live in the payload checked (configurations in change entries)
 * and the committed log compared, so the check runs as close as possible to raft's own. */
#include "consensus/transport_check.h"

#include <raft.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PREAMBLE 16
#define CONF_MAX (64u << 10) /* an encoded configuration: 16 members take well under 2 KiB */
#define CONF_MAX_SERVERS 256
#define ENTRY_HEADER 16
#define AE_FIXED 40 /* term, prev index, prev term, commit, entry count */
#define IS_FIXED 40 /* term, last index, last term, conf index, conf length */

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The header lengths raft writes for @type: [lo, hi] (a newer field may be absent). */
static bool header_len_ok(uint16_t type, uint64_t len, const struct frame_limits *lim)
{
    switch (type) {
    case RAFT_APPEND_ENTRIES:
        return len >= AE_FIXED && len <= AE_FIXED + 8 + (uint64_t)ENTRY_HEADER * lim->max_entries;
    case RAFT_INSTALL_SNAPSHOT: return len >= IS_FIXED + 8 && len <= IS_FIXED + 16 + CONF_MAX;
    case RAFT_APPEND_ENTRIES_RESULT: return len == 24 || len == 32;
    case RAFT_REQUEST_VOTE: return len == 32 || len == 40;
    case RAFT_REQUEST_VOTE_RESULT: return len == 16 || len == 24;
    case RAFT_TIMEOUT_NOW: return len == 24;
    default: return false;
    }
}

/* An encoded raft configuration: u8 format 1, u64 count, count x (u64 id, address, NUL,
 * u8 role); every read within @len, ids non-zero and distinct, roles known. */
static bool conf_ok(const uint8_t *p, uint64_t len)
{
    if (len < 9 || len > CONF_MAX || p[0] != 1)
        return false;
    uint64_t n = get64(p + 1), off = 9;
    if (n == 0 || n > CONF_MAX_SERVERS)
        return false;
    uint64_t ids[CONF_MAX_SERVERS];
    for (uint64_t i = 0; i < n; i++) {
        if (len - off < 8 + 2 + 1)
            return false;
        ids[i] = get64(p + off);
        off += 8;
        if (ids[i] == 0)
            return false;
        for (uint64_t j = 0; j < i; j++)
            if (ids[j] == ids[i])
                return false;
        const uint8_t *nul = memchr(p + off, 0, len - off);
        if (!nul || nul == p + off)
            return false;
        off = (uint64_t)(nul - p) + 1;
        if (off >= len)
            return false;
        uint8_t role = p[off++];
        if (role != RAFT_STANDBY && role != RAFT_VOTER && role != RAFT_SPARE)
            return false;
    }
    return true;
}

/* AppendEntries header: the entries' count, types, terms and sizes; returns the payload size or
 * -1 (with *@why). */
static int64_t append_header_check(const uint8_t *h, size_t len, const struct frame_limits *lim,
                                   const char **why)
{
    uint64_t n = get64(h + 32);
    if (n > lim->max_entries) {
        *why = "too many entries";
        return -1;
    }
    if (len < AE_FIXED + ENTRY_HEADER * n || len > AE_FIXED + 8 + ENTRY_HEADER * n) {
        *why = "header length does not match the entry count";
        return -1;
    }
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *e = h + AE_FIXED + ENTRY_HEADER * i;
        uint8_t type = e[8];
        uint32_t size = get32(e + 12);
        if (type != RAFT_COMMAND && type != RAFT_BARRIER && type != RAFT_CHANGE) {
            *why = "unknown entry type";
            return -1;
        }
        if (get64(e) == 0 || e[9] || e[10] || e[11]) {
            *why = "bad entry header";
            return -1;
        }
        /* raft steps over each entry's padding when it slices the payload: an unpadded entry
         * before the last would make it read past the message. */
        if (size < 8 || size > lim->max_entry_bytes || (i + 1 < n && size % 8)) {
            *why = "bad entry size";
            return -1;
        }
        total += size;
    }
    if (total > lim->max_entries_bytes) {
        *why = "entries too large";
        return -1;
    }
    return (int64_t)total;
}

static int64_t snapshot_header_check(const uint8_t *h, size_t len,
                                     const struct frame_limits *lim, const char **why)
{
    uint64_t conf_len = get64(h + 32);
    if (conf_len > CONF_MAX || len < IS_FIXED + conf_len + 8 || len > IS_FIXED + conf_len + 16) {
        *why = "header length does not match the configuration";
        return -1;
    }
    if (!conf_ok(h + IS_FIXED, conf_len)) {
        *why = "bad configuration";
        return -1;
    }
    uint64_t data = get64(h + IS_FIXED + conf_len);
    if (data == 0 || data > lim->max_snapshot_bytes) {
        *why = "bad snapshot size";
        return -1;
    }
    return (int64_t)data;
}

/* Change entries hold configurations; everything must agree with what this node committed. */
static bool append_payload_check(const uint8_t *h, const uint8_t *payload,
                                 const struct frame_limits *lim, const char **why)
{
    uint64_t n = get64(h + 32), off = 0;
    uint64_t prev = get64(h + 8), prev_term = get64(h + 16);
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *e = h + AE_FIXED + ENTRY_HEADER * i;
        uint32_t size = get32(e + 12);
        if (e[8] == RAFT_CHANGE && !conf_ok(payload + off, size)) {
            *why = "bad configuration entry";
            return false;
        }
        off += size;
    }
    if (!lim->committed_term)
        return true;
    uint64_t t = prev ? lim->committed_term(lim->arg, prev) : 0;
    if (t && t != prev_term) {
        *why = "previous entry conflicts with a committed entry";
        return false;
    }
    for (uint64_t i = 0; i < n; i++) {
        t = lim->committed_term(lim->arg, prev + 1 + i);
        if (t && t != get64(h + AE_FIXED + ENTRY_HEADER * i)) {
            *why = "entry conflicts with a committed entry";
            return false;
        }
    }
    return true;
}

void frame_reader_clear(struct frame_reader *r)
{
    free(r->msg);
    memset(r, 0, sizeof *r);
}

/* Grow the message buffer to hold @want bytes. */
static int frame_grow(struct frame_reader *r, size_t want, const char **why)
{
    uint8_t *m = realloc(r->msg, want);
    if (!m) {
        *why = "out of memory";
        return -1;
    }
    r->msg = m;
    r->want = want;
    return 0;
}

enum { PART_PREAMBLE, PART_HEADER, PART_PAYLOAD };

/* The preamble sizes the header; the header sizes the payload. */
static int frame_part_done(struct frame_reader *r, const struct frame_limits *lim,
                           const char **why)
{
    /* raft reads the type from the preamble's low 16 bits (the others are kept for a version) */
    uint16_t type = (uint16_t)get64(r->msg);
    if (r->part == PART_PREAMBLE) {
        uint64_t hl = get64(r->msg + 8);
        if (!header_len_ok(type, hl, lim)) {
            *why = type >= RAFT_APPEND_ENTRIES && type <= RAFT_TIMEOUT_NOW
                       ? "bad header length"
                       : "unknown message type";
            return -1;
        }
        r->hdr_len = (size_t)hl;
        r->part = PART_HEADER;
        return frame_grow(r, PREAMBLE + r->hdr_len, why);
    }
    int64_t payload = 0;
    if (type == RAFT_APPEND_ENTRIES)
        payload = append_header_check(r->msg + PREAMBLE, r->hdr_len, lim, why);
    else if (type == RAFT_INSTALL_SNAPSHOT)
        payload = snapshot_header_check(r->msg + PREAMBLE, r->hdr_len, lim, why);
    if (payload < 0)
        return -1;
    r->part = PART_PAYLOAD;
    return frame_grow(r, PREAMBLE + r->hdr_len + (size_t)payload, why);
}

int frame_feed(struct frame_reader *r, const struct frame_limits *lim, const uint8_t **in,
               size_t *len, uint8_t **msg, size_t *msg_len, const char **why)
{
    *msg = NULL;
    *msg_len = 0;
    if (!r->msg && frame_grow(r, PREAMBLE, why) != 0)
        return -1;
    for (;;) {
        size_t take = r->want - r->have < *len ? r->want - r->have : *len;
        memcpy(r->msg + r->have, *in, take);
        r->have += take;
        *in += take;
        *len -= take;
        if (r->have < r->want)
            return 0;
        if (r->part != PART_PAYLOAD) {
            if (frame_part_done(r, lim, why) != 0)
                return -1;
            if (r->have < r->want)
                continue;
        }
        break; /* the whole message is here (a message may have no payload) */
    }
    if ((uint16_t)get64(r->msg) == RAFT_APPEND_ENTRIES &&
        !append_payload_check(r->msg + PREAMBLE, r->msg + PREAMBLE + r->hdr_len, lim, why))
        return -1;
    *msg = r->msg;
    *msg_len = r->have;
    r->msg = NULL;
    frame_reader_clear(r);
    return 0;
}
