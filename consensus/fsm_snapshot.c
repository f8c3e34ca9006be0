/* Snapshots of the LMDB state machine.
 *
 * The happy path: when raft decides to take a snapshot it calls fsm_snapshot_raft on the loop.
 * The first call commits the open batch, notes last_applied (C) and starts a compacting copy of
 * the environment (mdb_env_copyfd2 with MDB_CP_COMPACT) on a libuv worker thread, then answers
 * RAFT_BUSY so raft carries on. From then on every applied command is also kept in memory (the
 * tail). Raft asks again after later applies; once the copy is ready, the snapshot at raft's
 * current index J is the copy (which holds at least everything up to C) followed by the tail
 * (the commands C+1..J). Nothing heavy ever runs on the loop and the snapshot is exact: restoring
 * it installs the copy and re-applies the tail, and the exactly-once check skips whatever part
 * of the tail the copy already had (the copy may have caught a few later commits).
 *
 * Restore (fsm_restore_raft, on the loop) keeps the local database when it is already at or
 * past the snapshot's last index (as on every restart, when raft_uv hands back our own last
 * snapshot); otherwise it writes the image next to the live file, swaps it in with rename(2),
 * reopens the environment and applies the tail.
 *
 * Failure modes: the copy failing (disk full) makes that attempt fail and raft tries again
 * later; a restore that cannot write the image returns RAFT_IOERR and raft keeps the old state.
 * A copy still running at close or at a restore is waited for and thrown away.
 *
 * Buffer layout (little-endian): "PRLYSNAP" u32 version u32 0 u64 image_len u64 copy_index
 * u64 tail_count, image padded to 8, then per tail entry u64 index u64 len bytes padded to 8.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consensus/fsm_internal.h"
#include "common/log.h"

#define SNAP_MAGIC "PRLYSNAP"
#define SNAP_HEADER 40

struct copy_job {
    uv_work_t work;
    MDB_env *env;
    void *buf; /* header + image */
    size_t len;
    int rv;
    bool orphaned, finished;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct fsm *f;
};

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Copy the environment, compacted, into one raft_malloc'd buffer with room for the header. */
static int copy_env(MDB_env *env, void **out, size_t *out_len)
{
    int fd = memfd_create("parlay-snapshot", MFD_CLOEXEC);
    if (fd < 0)
        return errno;
    int rv = mdb_env_copyfd2(env, fd, MDB_CP_COMPACT);
    if (rv != 0) {
        close(fd);
        return rv;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rv = errno;
        close(fd);
        return rv;
    }
    size_t img = (size_t)st.st_size;
    uint8_t *buf = raft_malloc(SNAP_HEADER + pad8(img));
    if (!buf) {
        close(fd);
        return ENOMEM;
    }
    memset(buf, 0, SNAP_HEADER + pad8(img));
    size_t off = 0;
    while (off < img) {
        ssize_t n = pread(fd, buf + SNAP_HEADER + off, img - off, (off_t)off);
        if (n <= 0) {
            rv = n < 0 ? errno : EIO;
            close(fd);
            raft_free(buf);
            return rv;
        }
        off += (size_t)n;
    }
    close(fd);
    memcpy(buf, SNAP_MAGIC, 8);
    buf[8] = 1;
    put64(buf + 16, img);
    *out = buf;
    *out_len = SNAP_HEADER + pad8(img);
    return 0;
}

static void copy_work(uv_work_t *w)
{
    struct copy_job *job = w->data;
    job->rv = copy_env(job->env, &job->buf, &job->len);
    pthread_mutex_lock(&job->mu);
    job->finished = true;
    pthread_cond_signal(&job->cv);
    pthread_mutex_unlock(&job->mu);
}

static void job_free(struct copy_job *job)
{
    if (job->buf)
        raft_free(job->buf);
    pthread_mutex_destroy(&job->mu);
    pthread_cond_destroy(&job->cv);
    free(job);
}

static void copy_done(uv_work_t *w, int status)
{
    struct copy_job *job = w->data;
    if (job->orphaned) {
        job_free(job);
        return;
    }
    struct fsm *f = job->f;
    f->copy_rv = status != 0 ? EIO : job->rv;
    f->copy_buf = job->buf;
    f->copy_len = job->len;
    job->buf = NULL;
    f->copy_state = 2;
    job_free(job);
    f->work.data = NULL;
}

static void tail_clear(struct fsm *f)
{
    while (f->tail) {
        struct fsm_tail *t = f->tail;
        f->tail = t->next;
        free(t);
    }
    f->tail_end = &f->tail;
    f->tail_bytes = 0;
}

/* Forget a running or finished copy (waiting for a running one so the env can change). */
static void copy_abandon(struct fsm *f)
{
    struct copy_job *job = f->work.data;
    if (f->copy_state == 1 && job) {
        pthread_mutex_lock(&job->mu);
        while (!job->finished)
            pthread_cond_wait(&job->cv, &job->mu);
        pthread_mutex_unlock(&job->mu);
        job->orphaned = true; /* copy_done frees it */
        f->work.data = NULL;
    }
    if (f->copy_buf) {
        raft_free(f->copy_buf);
        f->copy_buf = NULL;
    }
    f->copy_state = 0;
    tail_clear(f);
}

void fsm_snapshot_close(struct fsm *f)
{
    copy_abandon(f);
}

void fsm_snapshot_cancel(struct fsm *f)
{
    copy_abandon(f);
}

/* A ready copy that raft has not asked for keeps the tail growing: past this, drop it and let
 * the next request start afresh. */
#define TAIL_MAX_BYTES (64u << 20)

void fsm_snapshot_record(struct fsm *f, uint64_t index, const void *buf, size_t len)
{
    if (f->copy_state == 0)
        return;
    if (f->tail_bytes > TAIL_MAX_BYTES) {
        LOG_WARN("event=snapshot_copy_dropped reason=\"tail too long\"");
        copy_abandon(f);
        return;
    }
    struct fsm_tail *t = malloc(sizeof *t + len);
    if (!t) {
        /* Without this entry the snapshot would be wrong: drop the copy, raft retries. */
        copy_abandon(f);
        return;
    }
    t->index = index;
    t->len = len;
    t->next = NULL;
    memcpy(t->buf, buf, len);
    *f->tail_end = t;
    f->tail_end = &t->next;
    f->tail_bytes += 16 + pad8(len);
}

static int start_copy(struct fsm *f)
{
    struct copy_job *job = calloc(1, sizeof *job);
    if (!job)
        return RAFT_NOMEM;
    pthread_mutex_init(&job->mu, NULL);
    pthread_cond_init(&job->cv, NULL);
    job->env = f->env;
    job->f = f;
    job->work.data = job;
    f->work.data = job;
    f->copy_index = f->last_applied;
    f->copy_state = 1;
    int rv = uv_queue_work(f->loop, &job->work, copy_work, copy_done);
    if (rv != 0) {
        f->copy_state = 0;
        f->work.data = NULL;
        job_free(job);
        return RAFT_IOERR;
    }
    return 0;
}

/* Turn a ready copy plus the tail into raft buffers. */
static int assemble(struct fsm *f, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    uint8_t *hdr = f->copy_buf;
    uint64_t count = 0;
    for (struct fsm_tail *t = f->tail; t; t = t->next)
        count++;
    put64(hdr + 24, f->copy_index);
    put64(hdr + 32, count);
    struct raft_buffer *arr = raft_malloc(2 * sizeof *arr);
    uint8_t *tail = raft_malloc(f->tail_bytes ? f->tail_bytes : 8);
    if (!arr || !tail) {
        raft_free(arr);
        raft_free(tail);
        return RAFT_NOMEM;
    }
    memset(tail, 0, f->tail_bytes ? f->tail_bytes : 8);
    size_t off = 0;
    for (struct fsm_tail *t = f->tail; t; t = t->next) {
        put64(tail + off, t->index);
        put64(tail + off + 8, t->len);
        memcpy(tail + off + 16, t->buf, t->len);
        off += 16 + pad8(t->len);
    }
    arr[0].base = f->copy_buf;
    arr[0].len = f->copy_len;
    arr[1].base = tail;
    arr[1].len = off;
    *bufs = arr;
    *n_bufs = off ? 2 : 1;
    if (!off)
        raft_free(tail);
    f->copy_buf = NULL;
    f->copy_state = 0;
    tail_clear(f);
    return 0;
}

int fsm_snapshot_raft(struct raft_fsm *rf, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct fsm *f = rf->data;
    fsm_flush(f);
    if (!f->loop) {
        /* No loop (unit tests under raft_fixture): copy synchronously. */
        int rv = copy_env(f->env, &f->copy_buf, &f->copy_len);
        if (rv != 0)
            return RAFT_IOERR;
        f->copy_index = f->last_applied;
        return assemble(f, bufs, n_bufs);
    }
    switch (f->copy_state) {
    case 0:
        if (start_copy(f) != 0)
            return RAFT_IOERR;
        LOG_INFO("event=snapshot_copy_start index=%llu", (unsigned long long)f->copy_index);
        return RAFT_BUSY;
    case 1:
        return RAFT_BUSY;
    default:
        if (f->copy_rv != 0) {
            LOG_WARN("event=snapshot_copy_failed err=\"%s\"", mdb_strerror(f->copy_rv));
            copy_abandon(f);
            return RAFT_IOERR;
        }
        LOG_INFO("event=snapshot_ready copy_index=%llu index=%llu bytes=%zu",
                 (unsigned long long)f->copy_index, (unsigned long long)f->last_applied,
                 f->copy_len + f->tail_bytes);
        return assemble(f, bufs, n_bufs);
    }
}

int fsm_snapshot_finalize(struct raft_fsm *rf, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct fsm *f = rf->data;
    f->snapshots_taken++;
    for (unsigned i = 0; i < *n_bufs; i++)
        raft_free((*bufs)[i].base);
    raft_free(*bufs);
    *bufs = NULL;
    *n_bufs = 0;
    return 0;
}

/* Parse a snapshot buffer; returns 0 and the image and tail bounds, or -1. */
static int parse(const uint8_t *p, size_t len, size_t *img_len, uint64_t *copy_index,
                 uint64_t *count, uint64_t *last)
{
    if (len < SNAP_HEADER || memcmp(p, SNAP_MAGIC, 8) != 0 || p[8] != 1)
        return -1;
    *img_len = get64(p + 16);
    *copy_index = get64(p + 24);
    *count = get64(p + 32);
    if (*img_len > len - SNAP_HEADER || pad8(*img_len) > len - SNAP_HEADER)
        return -1;
    size_t off = SNAP_HEADER + pad8(*img_len);
    *last = *copy_index;
    for (uint64_t i = 0; i < *count; i++) {
        if (len - off < 16)
            return -1;
        uint64_t idx = get64(p + off), l = get64(p + off + 8);
        if (l > len - off - 16 || pad8(l) > len - off - 16)
            return -1;
        if (idx > *last)
            *last = idx;
        off += 16 + pad8(l);
    }
    return 0;
}

uint64_t fsm_snapshot_index_of(const void *buf, size_t len)
{
    size_t img;
    uint64_t ci, n, last;
    return parse(buf, len, &img, &ci, &n, &last) == 0 ? last : 0;
}

static int write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            int e = errno;
            close(fd);
            return e;
        }
        p += n;
        len -= (size_t)n;
    }
    int rv = fsync(fd) != 0 ? errno : 0;
    close(fd);
    return rv;
}

/* Check a received image before it replaces the live database: it must open as an LMDB
 * environment, hold our databases, every record must be reachable, and it must say which
 * entry it was copied at. A garbled image is refused here instead of failing the reopen
 * after the swap (which lost the local state and aborted the process). This checks structure
 * only: the format carries no checksum of the records themselves. */
static int image_check(struct fsm *f, const char *path, uint64_t *applied)
{
    static const char *const names[] = {"meta", "fixtures", "idem", "members"};
    MDB_env *env;
    MDB_txn *txn = NULL;
    int rv = mdb_env_create(&env);
    if (rv != 0)
        return rv;
    if ((rv = mdb_env_set_mapsize(env, f->map_size)) != 0 ||
        (rv = mdb_env_set_maxdbs(env, 16)) != 0 ||
        (rv = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS,
                           0600)) != 0 ||
        (rv = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0)
        goto out;
    for (size_t i = 0; i < sizeof names / sizeof *names && rv == 0; i++) {
        MDB_dbi dbi;
        MDB_cursor *cur;
        MDB_val k, v;
        if ((rv = mdb_dbi_open(txn, names[i], 0, &dbi)) != 0 ||
            (rv = mdb_cursor_open(txn, dbi, &cur)) != 0)
            break;
        for (rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rv == 0;
             rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            if (i == 0 && k.mv_size == 12 && !memcmp(k.mv_data, "last_applied", 12)) {
                if (v.mv_size != 8) {
                    rv = MDB_CORRUPTED;
                    break;
                }
                const uint8_t *b = v.mv_data;
                *applied = 0;
                for (int j = 0; j < 8; j++)
                    *applied = (*applied << 8) | b[j];
            }
        mdb_cursor_close(cur);
        if (rv == MDB_NOTFOUND)
            rv = 0;
    }
out:
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(env);
    return rv;
}

int fsm_restore_buf(struct fsm *f, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    size_t img;
    uint64_t copy_index, count, last;
    if (parse(p, len, &img, &copy_index, &count, &last) != 0) {
        LOG_ERROR("event=restore_failed reason=\"malformed snapshot\"");
        return RAFT_MALFORMED;
    }
    fsm_flush(f);
    if (f->last_applied >= last) {
        LOG_INFO("event=restore_skipped local=%llu snapshot=%llu",
                 (unsigned long long)f->last_applied, (unsigned long long)last);
        return 0;
    }
    copy_abandon(f);
    char tmp[PATH_MAX + 16], live[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s/restore.tmp", f->dir);
    snprintf(live, sizeof live, "%s/data.mdb", f->dir);
    int rv = write_file(tmp, p + SNAP_HEADER, img);
    if (rv != 0) {
        LOG_ERROR("event=restore_failed path=%s err=\"%s\"", tmp, strerror(rv));
        unlink(tmp);
        return RAFT_IOERR;
    }
    uint64_t img_applied = 0;
    rv = image_check(f, tmp, &img_applied);
    if (rv == 0 && (img_applied < copy_index || img_applied > last))
        rv = MDB_CORRUPTED;
    if (rv != 0) {
        /* Refused before the swap: the local database is untouched. */
        LOG_ERROR("event=restore_failed reason=\"bad image\" err=\"%s\" image_index=%llu "
                  "copy_index=%llu",
                  mdb_strerror(rv), (unsigned long long)img_applied,
                  (unsigned long long)copy_index);
        unlink(tmp);
        return RAFT_MALFORMED;
    }
    mdb_env_close(f->env);
    f->env = NULL;
    if (rename(tmp, live) != 0) {
        LOG_ERROR("event=restore_failed path=%s err=\"%s\"", live, strerror(errno));
        rv = RAFT_IOERR;
    }
    int orv = fsm_reopen_env(f);
    if (orv != 0) {
        LOG_ERROR("event=restore_reopen_failed err=\"%s\"", mdb_strerror(orv));
        abort(); /* no usable state machine: restart and replay */
    }
    if (rv != 0)
        return rv;
    size_t off = SNAP_HEADER + pad8(img);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t idx = get64(p + off), l = get64(p + off + 8);
        rv = fsm_apply(f, idx, p + off + 16, l);
        if (rv != 0)
            return rv;
        off += 16 + pad8(l);
    }
    fsm_flush(f);
    LOG_INFO("event=restored copy_index=%llu index=%llu", (unsigned long long)copy_index,
             (unsigned long long)f->last_applied);
    return 0;
}

int fsm_restore_raft(struct raft_fsm *rf, struct raft_buffer *buf)
{
    struct fsm *f = rf->data;
    int rv = fsm_restore_buf(f, buf->base, buf->len);
    if (rv == 0)
        raft_free(buf->base); /* ownership passed to us on success */
    return rv;
}

int fsm_snapshot_now(struct fsm *f, void **out, size_t *out_len)
{
    struct raft_buffer *bufs;
    unsigned n;
    uv_loop_t *loop = f->loop;
    f->loop = NULL; /* synchronous path */
    int rv = fsm_snapshot_raft(&f->rfsm, &bufs, &n);
    f->loop = loop;
    if (rv != 0)
        return rv;
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += bufs[i].len;
    uint8_t *p = malloc(total);
    size_t off = 0;
    for (unsigned i = 0; i < n && p; i++) {
        memcpy(p + off, bufs[i].base, bufs[i].len);
        off += bufs[i].len;
    }
    fsm_snapshot_finalize(&f->rfsm, &bufs, &n);
    if (!p)
        return RAFT_NOMEM;
    *out = p;
    *out_len = total;
    return 0;
}
