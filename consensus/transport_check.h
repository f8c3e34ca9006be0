/* Checking raft's wire messages before raft sees them.
 *
 * raft_uv (0.22.1) trusts what arrives on a Raft connection: an entry of unknown type makes it
 * free the entries array and then read it, a header announcing 2^32 entries makes it allocate
 * that many, a batch whose previous entry conflicts with a committed one stops the node, and
 * fixed-size headers are read whatever length the preamble announced. The relay in
 * transport.c therefore reads every message whole through a frame reader and passes it on only
 * when it is well formed:
 *
 *   preamble   u64 type (1..6), u64 header length (one of the sizes raft writes
 *              for that type)
 *   header     AppendEntries: term, prev index, prev term, commit, u64 n, n x (u64 term,
 *              u8 type, 3 unused, u32 length); InstallSnapshot: term, last index, last term,
 *              conf index, u64 conf length, configuration, u64 data length; others fixed
 *   payload    AppendEntries: the entries' data (each padded to 8 but the last);
 *              InstallSnapshot: the snapshot's data
 *
 * Checked: known message type; header length matching its type; entry count, each entry's size
 * and the total bounded (frame_limits); entry types command, barrier or change; entry terms and
 * data lengths consistent; configurations (in change entries and snapshots) decodable; and no
 * AppendEntries that contradicts an entry this node has committed (frame_limits.committed_term).
 * All integers little endian, as raft writes them. */
#ifndef PARLAY_TRANSPORT_CHECK_H
#define PARLAY_TRANSPORT_CHECK_H

#include <stddef.h>
#include <stdint.h>

struct frame_limits {
    unsigned max_entries;        /* entries in one AppendEntries */
    uint64_t max_entry_bytes;    /* one entry's data */
    uint64_t max_entries_bytes;  /* all entries of one AppendEntries */
    uint64_t max_snapshot_bytes; /* an InstallSnapshot's data */
    /* The term of the entry at @index if this node has committed it, else 0 (NULL: no check). */
    uint64_t (*committed_term)(void *arg, uint64_t index);
    void *arg;
};

/* One direction of one connection: the message being read. */
struct frame_reader {
    uint8_t *msg;   /* preamble, header, payload */
    size_t have;    /* bytes of msg read */
    size_t want;    /* bytes msg will hold once the current part is complete */
    size_t hdr_len;
    int part; /* preamble, header or payload */
};

/* Take bytes from *@in (advancing it and *@len). When a whole message has been read and checked,
 * *@msg receives it (malloc'd, the caller's) and *@msg_len its length; call again while *@len
 * is not 0. Returns 0, or -1 with *@why naming what is wrong (the connection must close). */
int frame_feed(struct frame_reader *r, const struct frame_limits *lim, const uint8_t **in,
               size_t *len, uint8_t **msg, size_t *msg_len, const char **why);
void frame_reader_clear(struct frame_reader *r);

#endif
