/* The terms of this node's Raft log; see transport_terms.h.
 *
 * raft calls the io methods with the io pointer only (io->data is raft's), so the watcher of an
 * io is found in a short list of watchers. Every method passes straight through; the record is
 * updated only when the method accepted the request. An entry the record does not know (before
 * the loaded log, after a failure to grow the list) has term 0: the check then leaves it to
 * raft, which is where it was before this existed. */
#include "consensus/transport_terms.h"

#include <stdlib.h>

struct term_run {
    uint64_t start, term;
};

struct log_terms {
    struct raft_io *io;
    struct log_terms *next;
    int (*load)(struct raft_io *, raft_term *, raft_id *, struct raft_snapshot **,
                raft_index *, struct raft_entry **, size_t *);
    int (*append)(struct raft_io *, struct raft_io_append *, const struct raft_entry[],
                  unsigned, raft_io_append_cb);
    int (*truncate)(struct raft_io *, raft_index);
    int (*snapshot_put)(struct raft_io *, unsigned, struct raft_io_snapshot_put *,
                        const struct raft_snapshot *, raft_io_snapshot_put_cb);
    struct term_run *runs;
    size_t n, cap;
    uint64_t last; /* index of the last entry */
};

static struct log_terms *watchers;

static struct log_terms *of(struct raft_io *io)
{
    struct log_terms *lt = watchers;
    while (lt && lt->io != io)
        lt = lt->next;
    return lt;
}

/* Forget entries from @index on. */
static void cut(struct log_terms *lt, uint64_t index)
{
    while (lt->n && lt->runs[lt->n - 1].start >= index)
        lt->n--;
    if (lt->last >= index)
        lt->last = index ? index - 1 : 0;
}

/* The entry at @index (replacing it and anything after it) has @term. */
static void note(struct log_terms *lt, uint64_t index, uint64_t term)
{
    cut(lt, index);
    if (lt->n && lt->last + 1 != index)
        lt->n = 0; /* a gap: what came before no longer joins up */
    lt->last = index;
    if (lt->n && lt->runs[lt->n - 1].term == term)
        return;
    if (lt->n == lt->cap) {
        size_t cap = lt->cap ? 2 * lt->cap : 16;
        struct term_run *r = realloc(lt->runs, cap * sizeof *r);
        if (!r) {
            lt->n = 0; /* forget rather than misremember */
            return;
        }
        lt->runs = r;
        lt->cap = cap;
    }
    lt->runs[lt->n++] = (struct term_run){index, term};
}

static int w_load(struct raft_io *io, raft_term *term, raft_id *voted_for,
                  struct raft_snapshot **snapshot, raft_index *start_index,
                  struct raft_entry **entries, size_t *n_entries)
{
    struct log_terms *lt = of(io);
    int rv = lt->load(io, term, voted_for, snapshot, start_index, entries, n_entries);
    if (rv != 0)
        return rv;
    lt->n = 0;
    lt->last = 0;
    if (*snapshot)
        note(lt, (*snapshot)->index, (*snapshot)->term);
    for (size_t i = 0; i < *n_entries; i++)
        note(lt, *start_index + i, (*entries)[i].term);
    return 0;
}

static int w_append(struct raft_io *io, struct raft_io_append *req,
                    const struct raft_entry entries[], unsigned n, raft_io_append_cb cb)
{
    struct log_terms *lt = of(io);
    uint64_t first = lt->last + 1;
    int rv = lt->append(io, req, entries, n, cb);
    if (rv == 0)
        for (unsigned i = 0; i < n; i++)
            note(lt, first + i, entries[i].term);
    return rv;
}

static int w_truncate(struct raft_io *io, raft_index index)
{
    struct log_terms *lt = of(io);
    int rv = lt->truncate(io, index);
    if (rv == 0)
        cut(lt, index);
    return rv;
}

static int w_snapshot_put(struct raft_io *io, unsigned trailing, struct raft_io_snapshot_put *req,
                          const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    struct log_terms *lt = of(io);
    int rv = lt->snapshot_put(io, trailing, req, snapshot, cb);
    if (rv == 0 && trailing == 0) { /* an installed snapshot: the log starts after it */
        lt->n = 0;
        lt->last = 0;
        note(lt, snapshot->index, snapshot->term);
    }
    return rv;
}

int log_terms_watch(struct log_terms **out, struct raft_io *io)
{
    struct log_terms *lt = calloc(1, sizeof *lt);
    if (!lt)
        return RAFT_NOMEM;
    lt->io = io;
    lt->load = io->load;
    lt->append = io->append;
    lt->truncate = io->truncate;
    lt->snapshot_put = io->snapshot_put;
    io->load = w_load;
    io->append = w_append;
    io->truncate = w_truncate;
    io->snapshot_put = w_snapshot_put;
    lt->next = watchers;
    watchers = lt;
    *out = lt;
    return 0;
}

uint64_t log_terms_get(const struct log_terms *lt, uint64_t index)
{
    if (!lt || index == 0 || index > lt->last)
        return 0;
    size_t lo = 0, hi = lt->n; /* the last run starting at or before index */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (lt->runs[mid].start <= index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lt->runs[lo - 1].term : 0;
}

void log_terms_free(struct log_terms *lt)
{
    if (!lt)
        return;
    struct log_terms **pp = &watchers;
    while (*pp && *pp != lt)
        pp = &(*pp)->next;
    if (*pp)
        *pp = lt->next;
    free(lt->runs);
    free(lt);
}
