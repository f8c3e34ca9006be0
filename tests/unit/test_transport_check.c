/* The Raft transport's checks (transport_check.h, transport_terms.h): well-formed messages pass
 * unchanged however the bytes are split; every malformed one is refused with its reason; the
 * log's terms follow load, append, truncate and an installed snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/transport_check.h"
#include "consensus/transport_terms.h"

struct msg {
    uint8_t b[2048];
    size_t n;
};

static void put64(struct msg *m, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        m->b[m->n++] = (uint8_t)v;
}

static void put(struct msg *m, const void *p, size_t n)
{
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

static void entry(struct msg *m, uint64_t term, uint8_t type, uint32_t len)
{
    put64(m, term);
    put64(m, (uint64_t)type | (uint64_t)len << 32);
}

/* AppendEntries: term 5 from prev (@prev, term 4), @n entries of the given types, sizes and
 * terms, the payload zeros except configurations from @conf. */
static struct msg append(uint64_t prev, uint64_t prev_term, unsigned n, const uint8_t *types,
                         const uint32_t *sizes, const uint64_t *terms, const struct msg *conf)
{
    struct msg m = {.n = 0};
    put64(&m, 1);
    put64(&m, 48 + 16 * n);
    put64(&m, 5);
    put64(&m, prev);
    put64(&m, prev_term);
    put64(&m, prev);
    put64(&m, n);
    for (unsigned i = 0; i < n; i++)
        entry(&m, terms ? terms[i] : 5, types[i], sizes[i]);
    put64(&m, 0);
    for (unsigned i = 0; i < n; i++) {
        if (conf && types[i] == 3)
            put(&m, conf->b, sizes[i]);
        else
            for (uint32_t k = 0; k < sizes[i]; k++)
                m.b[m.n++] = 0;
    }
    return m;
}

/* A configuration of @n voters 1..n ("127.0.0.1:900k"), padded to 8. */
static struct msg configuration(unsigned n)
{
    struct msg c = {.n = 0};
    c.b[c.n++] = 1;
    put64(&c, n);
    for (unsigned i = 1; i <= n; i++) {
        put64(&c, i);
        char a[16] = "127.0.0.1:9000";
        a[13] = (char)('0' + i);
        put(&c, a, strlen(a) + 1);
        c.b[c.n++] = 1;
    }
    while (c.n % 8)
        c.b[c.n++] = 0;
    return c;
}

static uint64_t committed[16]; /* term of each committed index, 0: not committed */

static uint64_t committed_term(void *arg, uint64_t index)
{
    (void)arg;
    return index < 16 ? committed[index] : 0;
}

static const struct frame_limits LIMITS = {.max_entries = 8,
                                           .max_entry_bytes = 256,
                                           .max_entries_bytes = 512,
                                           .max_snapshot_bytes = 1024,
                                           .committed_term = committed_term};

/* Feed @m in pieces of @step bytes; returns the reason of a refusal or NULL, and checks that
 * an accepted message comes out whole and unchanged. */
static const char *feed(const struct msg *m, size_t step)
{
    struct frame_reader r = {0};
    const uint8_t *p = m->b;
    size_t left = m->n, out = 0;
    const char *why = NULL;
    while (left) {
        size_t len = left < step ? left : step;
        left -= len;
        while (len) {
            uint8_t *msg;
            size_t msg_len;
            if (frame_feed(&r, &LIMITS, &p, &len, &msg, &msg_len, &why) != 0) {
                frame_reader_clear(&r);
                return why;
            }
            if (msg) {
                assert_int_equal(msg_len, m->n);
                assert_memory_equal(msg, m->b, m->n);
                free(msg);
                out++;
            }
        }
    }
    frame_reader_clear(&r);
    assert_int_equal(out, 1);
    return NULL;
}

static void well_formed_messages_pass_whole_however_split(void **state)
{
    (void)state;
    memset(committed, 0, sizeof committed);
    struct msg conf = configuration(3);
    uint8_t types[] = {1, 2, 3};
    uint32_t sizes[] = {24, 8, (uint32_t)conf.n};
    struct msg m = append(3, 4, 3, types, sizes, NULL, &conf);
    for (size_t step = 1; step <= m.n; step = step * 2 + 1)
        assert_null(feed(&m, step));

    struct msg heartbeat = append(3, 4, 0, NULL, NULL, NULL, NULL);
    assert_null(feed(&heartbeat, 1));
    struct msg vote = {.n = 0};
    put64(&vote, 3);
    put64(&vote, 40);
    for (int i = 0; i < 5; i++)
        put64(&vote, 1);
    assert_null(feed(&vote, 7));

    struct msg snap = {.n = 0};
    put64(&snap, 5);
    put64(&snap, 40 + conf.n + 16);
    for (int i = 0; i < 4; i++)
        put64(&snap, 9);
    put64(&snap, conf.n);
    put(&snap, conf.b, conf.n);
    put64(&snap, 100);
    put64(&snap, 0);
    for (int i = 0; i < 100; i++)
        snap.b[snap.n++] = (uint8_t)i;
    assert_null(feed(&snap, 5));
}

static void malformed_messages_are_refused(void **state)
{
    (void)state;
    memset(committed, 0, sizeof committed);
    uint8_t t1[] = {1}, t7[] = {7};
    uint32_t s24[] = {24};

    struct msg m = append(3, 4, 1, t7, s24, NULL, NULL);
    assert_string_equal(feed(&m, 64), "unknown entry type");

    m = append(3, 4, 0, NULL, NULL, NULL, NULL);
    memcpy(m.b + 16 + 32, "\0\0\0\0\1\0\0\0", 8); /* 2^32 entries */
    assert_string_equal(feed(&m, 64), "too many entries");

    uint8_t t11[] = {1, 1};
    uint32_t unpadded[] = {13, 16};
    m = append(3, 4, 2, t11, unpadded, NULL, NULL);
    assert_string_equal(feed(&m, 64), "bad entry size");

    uint32_t big[] = {300};
    m = append(3, 4, 1, t1, big, NULL, NULL);
    assert_string_equal(feed(&m, 64), "bad entry size");

    struct msg bad_conf = configuration(2);
    bad_conf.b[9 + 8 + 15] = 9; /* the first member's role: no such role */
    uint8_t t3[] = {3};
    uint32_t cs[] = {(uint32_t)bad_conf.n};
    m = append(3, 4, 1, t3, cs, NULL, &bad_conf);
    assert_string_equal(feed(&m, 64), "bad configuration entry");

    struct msg other = {.n = 0};
    put64(&other, 9);
    put64(&other, 24);
    assert_string_equal(feed(&other, 64), "unknown message type");

    struct msg short_vote = {.n = 0};
    put64(&short_vote, 3);
    put64(&short_vote, 8); /* raft would read 32 bytes from it */
    assert_string_equal(feed(&short_vote, 64), "bad header length");

    struct msg empty_snap = {.n = 0};
    struct msg conf = configuration(1);
    put64(&empty_snap, 5);
    put64(&empty_snap, 40 + conf.n + 8);
    for (int i = 0; i < 4; i++)
        put64(&empty_snap, 9);
    put64(&empty_snap, conf.n);
    put(&empty_snap, conf.b, conf.n);
    put64(&empty_snap, 0);
    assert_string_equal(feed(&empty_snap, 64), "bad snapshot size");
}

static void nothing_may_contradict_the_committed_log(void **state)
{
    (void)state;
    memset(committed, 0, sizeof committed);
    for (int i = 1; i <= 6; i++)
        committed[i] = i <= 3 ? 2 : 4; /* 1-3 in term 2, 4-6 in term 4 */
    uint8_t types[] = {1, 1};
    uint32_t sizes[] = {16, 16};

    uint64_t same[] = {4, 4};
    struct msg m = append(4, 4, 2, types, sizes, same, NULL); /* entries 5 and 6 again */
    assert_null(feed(&m, 64));
    uint64_t past[] = {4, 5};
    m = append(5, 4, 2, types, sizes, past, NULL); /* 6 again, then 7: new */
    assert_null(feed(&m, 64));

    m = append(4, 3, 2, types, sizes, same, NULL);
    assert_string_equal(feed(&m, 64), "previous entry conflicts with a committed entry");
    uint64_t other[] = {4, 5};
    m = append(4, 4, 2, types, sizes, other, NULL);
    assert_string_equal(feed(&m, 64), "entry conflicts with a committed entry");
}

/* ---- transport_terms: a raft_io whose methods only succeed ---- */

static struct raft_snapshot loaded_snapshot;
static struct raft_entry loaded[4];

static int io_load(struct raft_io *io, raft_term *term, raft_id *voted_for,
                   struct raft_snapshot **snapshot, raft_index *start_index,
                   struct raft_entry **entries, size_t *n_entries)
{
    (void)io;
    *term = 3;
    *voted_for = 1;
    loaded_snapshot.index = 10;
    loaded_snapshot.term = 2;
    *snapshot = &loaded_snapshot;
    *start_index = 9; /* one trailing entry before the snapshot */
    for (int i = 0; i < 4; i++)
        loaded[i].term = i < 2 ? 2 : 3; /* 9, 10 in term 2; 11, 12 in term 3 */
    *entries = loaded;
    *n_entries = 4;
    return 0;
}

static int io_append(struct raft_io *io, struct raft_io_append *req,
                     const struct raft_entry entries[], unsigned n, raft_io_append_cb cb)
{
    (void)io, (void)req, (void)entries, (void)n, (void)cb;
    return 0;
}

static int io_truncate(struct raft_io *io, raft_index index)
{
    (void)io, (void)index;
    return 0;
}

static int io_snapshot_put(struct raft_io *io, unsigned trailing, struct raft_io_snapshot_put *req,
                           const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    (void)io, (void)trailing, (void)req, (void)snapshot, (void)cb;
    return 0;
}

static void log_terms_follow_the_log(void **state)
{
    (void)state;
    struct raft_io io = {.load = io_load, .append = io_append, .truncate = io_truncate,
                         .snapshot_put = io_snapshot_put};
    struct log_terms *lt;
    assert_int_equal(log_terms_watch(&lt, &io), 0);
    raft_term term;
    raft_id vote;
    struct raft_snapshot *snap;
    raft_index start;
    struct raft_entry *entries;
    size_t n;
    assert_int_equal(io.load(&io, &term, &vote, &snap, &start, &entries, &n), 0);
    assert_int_equal(log_terms_get(lt, 8), 0);
    assert_int_equal(log_terms_get(lt, 9), 2);
    assert_int_equal(log_terms_get(lt, 10), 2);
    assert_int_equal(log_terms_get(lt, 12), 3);
    assert_int_equal(log_terms_get(lt, 13), 0);

    struct raft_entry more[2] = {{.term = 3}, {.term = 5}};
    assert_int_equal(io.append(&io, NULL, more, 2, NULL), 0); /* 13 in 3, 14 in 5 */
    assert_int_equal(log_terms_get(lt, 13), 3);
    assert_int_equal(log_terms_get(lt, 14), 5);

    assert_int_equal(io.truncate(&io, 12), 0); /* 12 on dropped */
    assert_int_equal(log_terms_get(lt, 12), 0);
    assert_int_equal(log_terms_get(lt, 11), 3);
    more[0].term = more[1].term = 6;
    assert_int_equal(io.append(&io, NULL, more, 2, NULL), 0); /* 12, 13 in 6 */
    assert_int_equal(log_terms_get(lt, 12), 6);
    assert_int_equal(log_terms_get(lt, 13), 6);
    assert_int_equal(log_terms_get(lt, 11), 3);

    struct raft_snapshot installed = {.index = 40, .term = 7};
    assert_int_equal(io.snapshot_put(&io, 0, NULL, &installed, NULL), 0);
    assert_int_equal(log_terms_get(lt, 13), 0);
    assert_int_equal(log_terms_get(lt, 40), 7);
    assert_int_equal(io.append(&io, NULL, more, 1, NULL), 0);
    assert_int_equal(log_terms_get(lt, 41), 6);
    log_terms_free(lt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(well_formed_messages_pass_whole_however_split),
        cmocka_unit_test(malformed_messages_are_refused),
        cmocka_unit_test(nothing_may_contradict_the_committed_log),
        cmocka_unit_test(log_terms_follow_the_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
