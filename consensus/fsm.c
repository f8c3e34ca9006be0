/* The replicated state machine over LMDB: see fsm.h for the story. */
#include "consensus/fsm_internal.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "consensus/store.h"
#include "common/log.h"

static const char LAST_APPLIED_KEY[] = "last_applied";

static void on_idle_closed(uv_handle_t *h);

void fsm_format_time(uint64_t time_ms, char out[32])
{
    /* An apply stamps many records with the same time (a settlement chunk: three a bet), so
     * the last second's text is kept (per thread: tests run state machines on threads). */
    static _Thread_local time_t last = -1;
    static _Thread_local char text[32];
    time_t t = (time_t)(time_ms / 1000);
    if (t != last) {
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
        last = t;
    }
    memcpy(out, text, sizeof text);
}

void fsm_result_set(struct fsm_result *res, int status, char *body)
{
    free(res->body);
    res->status = status;
    res->body = body;
}

void fsm_result_clear(struct fsm_result *res)
{
    free(res->body);
    res->body = NULL;
    res->status = 0;
}

void fsm_result_problem(struct fsm_result *res, int status, const char *title, const char *fmt,
                        ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    json_t *o = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title", title,
                          "status", status, "detail", detail);
    fsm_result_set(res, status, json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS));
    json_decref(o);
}

uint64_t fsm_meta_get(struct fsm *f, MDB_txn *txn, const char *key)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    if (mdb_get(txn, f->meta, &k, &v) != 0 || v.mv_size != 8)
        return 0;
    return store_be64_get(v.mv_data);
}

int fsm_meta_put(struct fsm *f, MDB_txn *txn, const char *key, uint64_t value)
{
    uint8_t b[8];
    store_be64_put(b, value);
    MDB_val k = {strlen(key), (void *)key}, v = {8, b};
    return mdb_put(txn, f->meta, &k, &v, 0);
}

static int read_last_applied(struct fsm *f, MDB_txn *txn, uint64_t *out)
{
    MDB_val k = {sizeof LAST_APPLIED_KEY - 1, (void *)LAST_APPLIED_KEY}, v;
    int rv = mdb_get(txn, f->meta, &k, &v);
    if (rv == MDB_NOTFOUND) {
        *out = 0;
        return 0;
    }
    if (rv != 0)
        return rv;
    if (v.mv_size != 8)
        return MDB_CORRUPTED;
    *out = store_be64_get(v.mv_data);
    return 0;
}

/* The state machine's own "meta", then each domain's databases in the table's order. */
static int open_dbis(struct fsm *f)
{
    MDB_txn *txn;
    int rv = mdb_txn_begin(f->env, NULL, 0, &txn);
    if (rv != 0)
        return rv;
    unsigned n = 0;
    rv = mdb_dbi_open(txn, "meta", MDB_CREATE, &f->meta);
    for (unsigned d = 0; rv == 0 && fsm_domains[d]; d++) {
        assert(d < FSM_DOMAINS_MAX);
        f->dbi_base[d] = n;
        for (const char *const *name = fsm_domains[d]->dbs; rv == 0 && *name; name++) {
            assert(n < FSM_DBIS_MAX);
            rv = mdb_dbi_open(txn, *name, MDB_CREATE, &f->dbis[n++]);
        }
    }
    if (rv == 0)
        rv = read_last_applied(f, txn, &f->last_applied);
    if (rv != 0) {
        mdb_txn_abort(txn);
        return rv;
    }
    return mdb_txn_commit(txn);
}

const MDB_dbi *fsm_domain_dbis(struct fsm *f, const struct fsm_domain *d)
{
    unsigned i = 0;
    while (fsm_domains[i] && fsm_domains[i] != d)
        i++;
    assert(fsm_domains[i]); /* a domain missing from cmdtable.c's list */
    return &f->dbis[f->dbi_base[i]];
}

MDB_dbi fsm_dbi(struct fsm *f, const char *name)
{
    for (unsigned d = 0; fsm_domains[d]; d++) {
        const MDB_dbi *h = fsm_domain_dbis(f, fsm_domains[d]);
        for (unsigned i = 0; fsm_domains[d]->dbs[i]; i++)
            if (!strcmp(fsm_domains[d]->dbs[i], name))
                return h[i];
    }
    return f->meta;
}

uint64_t fsm_applying(struct fsm *f)
{
    return f->applying;
}

const char *fsm_cluster(struct fsm *f)
{
    return f->cluster;
}

static int reopen_env_locked(struct fsm *f);

/* Open (or reopen after a restore) the environment in f->dir; under wb_mu, so that the
 * writeback thread never uses a file being closed. */
int fsm_reopen_env(struct fsm *f)
{
    pthread_mutex_lock(&f->wb_mu);
    int rv = reopen_env_locked(f);
    pthread_mutex_unlock(&f->wb_mu);
    return rv;
}

static int reopen_env_locked(struct fsm *f)
{
    int rv;
    if (f->env) {
        mdb_env_close(f->env);
        f->env = NULL;
    }
    if ((rv = mdb_env_create(&f->env)) != 0)
        return rv;
    if ((rv = mdb_env_set_mapsize(f->env, f->map_size)) != 0 ||
        (rv = mdb_env_set_maxdbs(f->env, FSM_MAXDBS)) != 0 ||
        (rv = mdb_env_set_maxreaders(f->env, 126)) != 0 ||
        (rv = mdb_env_open(f->env, f->dir,
                           MDB_NOTLS | (f->nosync ? MDB_NOSYNC : MDB_NOMETASYNC), 0600)) != 0 ||
        (rv = open_dbis(f)) != 0) {
        mdb_env_close(f->env);
        f->env = NULL;
        return rv;
    }
    return 0;
}

/* LMDB writeback. With MDB_NOSYNC a commit only copies its pages into the kernel's page cache,
 * and the kernel writes them out when they are 30 s old or when a tenth of memory is dirty:
 * after 100,000 bets that was 1.8 GB written at once (2.6 million sectors in about a second),
 * and every Raft log write of the six nodes on that disk waited behind it (quotes 150-750 ms
 * instead of 25). This thread writes the data file's dirty pages out every writeback_ms, a
 * slice at a time: WB_SLICE bytes are handed to the disk and waited for before the next, so
 * that this node never has more than one slice queued ahead of Raft's synchronous log
 * writes, and at the idle I/O priority, so that the disk's scheduler serves those first.
 * Durability is unchanged (the crash marker and the Raft log decide it); the same writes are
 * only spread over time. */
#define WB_SLICE (4u << 20)

static void writeback_pass(struct fsm *f)
{
    for (off_t off = 0;; off += WB_SLICE) {
        pthread_mutex_lock(&f->wb_mu); /* a restore cannot close the file meanwhile */
        mdb_filehandle_t fd;
        struct stat st;
        int more = !f->wb_stop && f->env && mdb_env_get_fd(f->env, &fd) == 0 &&
                   fstat(fd, &st) == 0 && off < st.st_size;
        if (more &&
            sync_file_range(fd, off, WB_SLICE,
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                SYNC_FILE_RANGE_WAIT_AFTER) != 0) {
            if (errno != f->wb_errno) /* once per kind of failure, not every pass */
                LOG_WARN("event=lmdb_writeback_failed dir=%s err=\"%s\"", f->dir,
                         strerror(errno));
            f->wb_errno = errno;
            more = 0;
        } else if (more) {
            f->wb_errno = 0;
        }
        pthread_mutex_unlock(&f->wb_mu);
        if (!more)
            return;
    }
}

static void *writeback_main(void *arg)
{
    struct fsm *f = arg;
    /* ioprio_set(IOPRIO_WHO_PROCESS, this thread, IOPRIO_CLASS_IDLE): no glibc wrapper. */
    if (syscall(SYS_ioprio_set, 1, 0, 3 << 13) != 0)
        LOG_DEBUG("event=lmdb_writeback_ioprio err=\"%s\"", strerror(errno));
    pthread_mutex_lock(&f->wb_mu);
    while (!f->wb_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += f->writeback_ms / 1000;
        until.tv_nsec += (long)(f->writeback_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        while (!f->wb_stop && pthread_cond_timedwait(&f->wb_cv, &f->wb_mu, &until) != ETIMEDOUT)
            ;
        if (f->wb_stop)
            break;
        pthread_mutex_unlock(&f->wb_mu);
        writeback_pass(f);
        pthread_mutex_lock(&f->wb_mu);
        f->wb_passes++;
    }
    pthread_mutex_unlock(&f->wb_mu);
    return NULL;
}

static int writeback_start(struct fsm *f)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rv = pthread_cond_init(&f->wb_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rv != 0)
        return -rv;
    if ((rv = pthread_create(&f->wb_thread, NULL, writeback_main, f)) != 0) {
        pthread_cond_destroy(&f->wb_cv);
        return -rv;
    }
    f->wb_started = true;
    return 0;
}

static void writeback_stop(struct fsm *f)
{
    if (!f->wb_started)
        return;
    pthread_mutex_lock(&f->wb_mu);
    f->wb_stop = true;
    pthread_cond_signal(&f->wb_cv);
    pthread_mutex_unlock(&f->wb_mu);
    pthread_join(f->wb_thread, NULL);
    pthread_cond_destroy(&f->wb_cv);
    f->wb_started = false;
}

uint64_t fsm_writeback_passes(struct fsm *f)
{
    pthread_mutex_lock(&f->wb_mu);
    uint64_t n = f->wb_passes;
    pthread_mutex_unlock(&f->wb_mu);
    return n;
}

/* The crash marker: <dir>/state holds "boot=<kernel boot id> clean=<0|1>".
 *
 * With MDB_NOSYNC, LMDB never fsyncs: a process crash (kill -9) loses nothing, because the
 * kernel's page cache keeps every write; a machine crash may leave the file torn. So at open,
 * a database that was not closed cleanly during an earlier boot of the machine is thrown away
 * and rebuilt from the Raft snapshot and log, which raft_uv keeps durable. A clean close syncs
 * LMDB and marks the file clean. Without a readable boot id we keep LMDB's own syncing. */
static int read_boot_id(char out[64])
{
    FILE *fp = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!fp)
        return -1;
    int ok = fgets(out, 64, fp) != NULL;
    fclose(fp);
    if (!ok)
        return -1;
    out[strcspn(out, "\n")] = 0;
    return out[0] ? 0 : -1;
}

static void marker_write(struct fsm *f, int clean)
{
    char path[PATH_MAX + 16], tmp[PATH_MAX + 16], text[128];
    snprintf(path, sizeof path, "%s/state", f->dir);
    snprintf(tmp, sizeof tmp, "%s/state.tmp", f->dir);
    int n = snprintf(text, sizeof text, "boot=%s clean=%d\n", f->boot_id, clean);
    FILE *fp = fopen(tmp, "w");
    if (!fp || fwrite(text, 1, (size_t)n, fp) != (size_t)n || fflush(fp) != 0 ||
        fsync(fileno(fp)) != 0) {
        LOG_ERROR("event=marker_write_failed path=%s err=\"%s\"", tmp, strerror(errno));
        if (fp)
            fclose(fp);
        return;
    }
    fclose(fp);
    if (rename(tmp, path) != 0)
        LOG_ERROR("event=marker_write_failed path=%s err=\"%s\"", path, strerror(errno));
}

/* Returns 1 if the database must be rebuilt (machine crash since it was last written). */
static int marker_check(struct fsm *f)
{
    char path[PATH_MAX + 16], boot[64] = "", line[160];
    snprintf(path, sizeof path, "%s/state", f->dir);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    int clean = 1;
    if (!fgets(line, sizeof line, fp) || sscanf(line, "boot=%63s clean=%d", boot, &clean) != 2)
        clean = 0, boot[0] = 0; /* unreadable marker: trust nothing */
    fclose(fp);
    return !clean && strcmp(boot, f->boot_id) != 0;
}

static void wipe_database(struct fsm *f)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/data.mdb", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", f->dir);
    unlink(path);
}

static void on_idle(uv_idle_t *h)
{
    struct fsm *f = h->data;
    fsm_flush(f);
}

static void want_flush(struct fsm *f)
{
    if (f->loop && !f->idle_active) {
        uv_idle_start(&f->idle, on_idle);
        f->idle_active = true;
    }
}

static int raft_apply_glue(struct raft_fsm *rf, const struct raft_buffer *buf, void **result)
{
    struct fsm *f = rf->data;
    *result = NULL;
    /* During canonical raft's apply, the entry being applied is last_applied + 1. */
    return fsm_apply(f, f->raft->last_applied + 1, buf->base, buf->len);
}

int fsm_open(struct fsm **out, const struct fsm_options *opts, char *err, size_t errlen)
{
    struct fsm *f = calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    if (strlen(opts->dir) >= sizeof f->dir) {
        snprintf(err, errlen, "%s: path too long", opts->dir);
        free(f);
        return -ENAMETOOLONG;
    }
    strcpy(f->dir, opts->dir);
    if (opts->sport)
        snprintf(f->sport, sizeof f->sport, "%s", opts->sport);
    if (opts->cluster)
        snprintf(f->cluster, sizeof f->cluster, "%s", opts->cluster);
    f->map_size = opts->map_size;
    f->quota = opts->quota ? opts->quota : opts->map_size / 10 * 8;
    pthread_mutex_init(&f->wb_mu, NULL);
    f->deferred_tail = &f->deferred;
    f->tail_end = &f->tail;
    f->batch_end = &f->batch;
    if (mkdir(f->dir, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", f->dir, strerror(e));
        free(f);
        return -e;
    }
    f->nosync = read_boot_id(f->boot_id) == 0;
    if (f->nosync && marker_check(f)) {
        LOG_WARN("event=state_machine_rebuild dir=%s reason=\"the machine restarted without a "
                 "clean close; rebuilding from the Raft snapshot and log\"",
                 f->dir);
        wipe_database(f);
    }
    int rv = fsm_reopen_env(f);
    if (rv != 0) {
        snprintf(err, errlen, "%s: %s", f->dir, mdb_strerror(rv));
        free(f);
        return rv > 0 ? -rv : rv;
    }
    if (f->nosync)
        marker_write(f, 0);
    f->writeback_ms = f->nosync ? opts->writeback_ms : 0;
    if (f->writeback_ms && (rv = writeback_start(f)) != 0) {
        snprintf(err, errlen, "%s: the writeback thread: %s", f->dir, strerror(-rv));
        mdb_env_close(f->env);
        free(f);
        return rv;
    }
    f->loop = opts->loop;
    if (f->loop) {
        uv_idle_init(f->loop, &f->idle);
        f->idle.data = f;
    }
    f->rfsm.version = 3;
    f->rfsm.data = f;
    f->rfsm.apply = raft_apply_glue;
    f->rfsm.snapshot = fsm_snapshot_raft;
    f->rfsm.restore = fsm_restore_raft;
    f->rfsm.snapshot_finalize = fsm_snapshot_finalize;
    f->rfsm.snapshot_async = NULL;
    *out = f;
    return 0;
}

void fsm_close(struct fsm *f)
{
    if (!f)
        return;
    f->closing = true;
    writeback_stop(f);
    fsm_flush(f);
    fsm_snapshot_close(f);
    if (f->loop) {
        uv_idle_stop(&f->idle);
        uv_close((uv_handle_t *)&f->idle, on_idle_closed);
    }
    if (f->env && f->nosync && mdb_env_sync(f->env, 1) == 0)
        marker_write(f, 1);
    mdb_env_close(f->env);
    f->env = NULL;
    /* The idle handle's memory is inside f: free once libuv has closed it. */
    if (!f->loop)
        free(f);
}

static void on_idle_closed(uv_handle_t *h)
{
    free(h->data);
}

struct raft_fsm *fsm_raft_fsm(struct fsm *f)
{
    return &f->rfsm;
}

void fsm_attach_raft(struct fsm *f, struct raft *r)
{
    f->raft = r;
}

void fsm_set_result_hook(struct fsm *f, fsm_result_hook hook, void *ctx)
{
    f->hook = hook;
    f->hook_ctx = ctx;
}

void fsm_set_entry_hook(struct fsm *f, fsm_entry_hook hook, void *ctx)
{
    f->entry_hook = hook;
    f->entry_hook_ctx = ctx;
}

void fsm_report_type(struct fsm *f, unsigned type)
{
    f->reported_type = type;
}

void fsm_set_apply_listener(struct fsm *f, fsm_apply_listener cb, void *ctx)
{
    f->listener = cb;
    f->listener_ctx = ctx;
}

uint64_t fsm_last_applied(struct fsm *f)
{
    return f->last_applied;
}

const char *fsm_sport(struct fsm *f)
{
    return f->sport[0] ? f->sport : NULL;
}

uint64_t fsm_snapshots_taken(struct fsm *f)
{
    return f->snapshots_taken;
}

uint64_t fsm_apply_errors(struct fsm *f)
{
    return f->apply_errors;
}

int fsm_txn_begin_write(struct fsm *f)
{
    if (f->wtxn)
        return 0;
    return mdb_txn_begin(f->env, NULL, 0, &f->wtxn);
}

int fsm_idem_get(struct fsm *f, const char *key, size_t key_len, uint8_t fingerprint[32],
                 struct fsm_result *res)
{
    /* On the write path: look inside the open batch rather than committing it first. */
    if (f->wtxn)
        return idem_lookup(f, f->wtxn, key, key_len, fingerprint, res);
    MDB_txn *txn;
    int rv = fsm_read_begin(f, &txn);
    if (rv != 0)
        return -rv;
    rv = idem_lookup(f, txn, key, key_len, fingerprint, res);
    fsm_read_end(txn);
    return rv;
}

int fsm_idem_oldest(struct fsm *f, uint64_t *time_ms)
{
    MDB_txn *txn = f->wtxn;
    int rv = 0;
    if (!txn && (rv = mdb_txn_begin(f->env, NULL, MDB_RDONLY, &txn)) != 0)
        return rv;
    rv = idem_oldest(f, txn, time_ms);
    if (txn != f->wtxn)
        mdb_txn_abort(txn);
    return rv;
}

static int dispatch(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    const struct fsm_command *row = cmdtable_find(c->type);
    if (!row) {
        fsm_result_problem(res, 400, "Unknown command", "command type %u is not known", c->type);
        return 0;
    }
    return row->apply(f, txn, c, res);
}

/* Run one decoded command inside @txn. The domain functions check everything before they
 * write, so a refusal leaves nothing behind (no nested transaction: LMDB allocates a 2.5 MiB
 * dirty list for each one, which would dominate the cost of a command). */
static int run_command(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    if (c->idem_len) {
        uint8_t fp[32];
        int found = idem_lookup(f, txn, c->idem, c->idem_len, fp, res);
        if (found < 0)
            return -found;
        if (found) {
            if (memcmp(fp, c->fingerprint, 32) != 0)
                fsm_result_problem(res, 422, "Idempotency key reused",
                                   "this Idempotency-Key was already used for a different "
                                   "request");
            return 0;
        }
    }
    int rv = dispatch(f, txn, c, res);
    if (rv == 0 && c->idem_len)
        rv = idem_put(f, txn, c, res);
    return rv;
}

/* The results of one entry: one per command (a batch has several), or one for the whole entry
 * when it was refused (whole). */
struct entry_results {
    unsigned n;
    bool whole;
    struct fsm_result res[CMD_BATCH_MAX];
    unsigned type[CMD_BATCH_MAX];
};

static void entry_results_clear(struct entry_results *er)
{
    for (unsigned i = 0; i < er->n; i++)
        fsm_result_clear(&er->res[i]);
    er->n = 0;
    er->whole = false;
}

/* Everything one entry writes: its changes, their idempotency records, last_applied. A batch is
 * checked whole before any of it runs, so a malformed one is refused alike on every node and
 * leaves nothing behind but last_applied. On a local failure nothing is kept in @er (the caller
 * aborts the transaction, so the batch's earlier commands go too). */
static int apply_entry(struct fsm *f, uint64_t index, const void *buf, size_t len,
                       struct entry_results *er)
{
    MDB_txn *txn = f->wtxn;
    struct cmd c;
    unsigned count = 0;
    int rv = 0, drv = cmd_decode(buf, len, &c);
    bool batch = drv == CMD_OK && c.type == CMD_BATCH;
    if (batch)
        drv = cmd_batch_check(&c, &count);
    er->n = 0;
    er->whole = false;
    f->applying = index;
    if (drv != CMD_OK) {
        er->res[0] = (struct fsm_result){0, NULL};
        er->n = 1;
        er->whole = true;
        er->type[0] = 0;
        fsm_result_problem(&er->res[0], 400, "Undecodable command", "%s%s",
                           batch ? "batch: " : "", cmd_strerror(drv));
    } else if (!batch) {
        er->res[0] = (struct fsm_result){0, NULL};
        er->n = 1;
        er->type[0] = c.type;
        f->reported_type = 0;
        rv = run_command(f, txn, &c, &er->res[0]);
        if (f->reported_type) /* an admin's command: listeners see the wrapped type */
            er->type[0] = f->reported_type;
        f->reported_type = 0;
    } else {
        size_t off = 0;
        for (unsigned i = 0; i < count && rv == 0; i++) {
            struct cmd sub;
            if ((rv = cmd_batch_next(&c, &off, &sub)) != CMD_OK) {
                rv = MDB_CORRUPTED; /* cmd_batch_check passed: cannot happen */
                break;
            }
            er->res[i] = (struct fsm_result){0, NULL};
            er->n = i + 1;
            er->type[i] = sub.type;
            f->reported_type = 0;
            rv = run_command(f, txn, &sub, &er->res[i]);
            if (f->reported_type) /* batched admin commands too */
                er->type[i] = f->reported_type;
            f->reported_type = 0;
        }
    }
    f->applying = 0;
    if (rv == 0) {
        rv = fsm_meta_put(f, txn, LAST_APPLIED_KEY, index);
    }
    if (rv != 0)
        entry_results_clear(er);
    return rv;
}

static void batch_clear(struct fsm *f)
{
    while (f->batch) {
        struct fsm_tail *t = f->batch;
        f->batch = t->next;
        free(t);
    }
    f->batch_end = &f->batch;
}

/* Keep a copy of each entry of the open batch: if a later entry fails locally, the batch's
 * transaction is lost and these are applied again (see fsm_apply). */
static int batch_record(struct fsm *f, uint64_t index, const void *buf, size_t len)
{
    struct fsm_tail *t = malloc(sizeof *t + len);
    if (!t)
        return ENOMEM;
    t->index = index;
    t->len = len;
    t->next = NULL;
    if (len)
        memcpy(t->buf, buf, len);
    *f->batch_end = t;
    f->batch_end = &t->next;
    return 0;
}

/* After a local failure: redo the entries before the failing one in a fresh transaction and
 * commit them, since raft already counts them as applied and will not hand them over again. */
static void batch_redo(struct fsm *f)
{
    struct fsm_tail *list = f->batch;
    f->batch = NULL;
    f->batch_end = &f->batch;
    if (list && fsm_txn_begin_write(f) == 0) {
        struct entry_results results, *er = &results;
        for (struct fsm_tail *t = list; t; t = t->next) {
            int rv = apply_entry(f, t->index, t->buf, t->len, er);
            entry_results_clear(er);
            if (rv != 0) {
                LOG_ERROR("event=batch_redo_failed index=%llu err=\"%s\" action=abort",
                          (unsigned long long)t->index, mdb_strerror(rv));
                abort(); /* restart and replay from the Raft log */
            }
        }
    }
    while (list) {
        struct fsm_tail *t = list;
        list = t->next;
        free(t);
    }
    fsm_flush(f);
}

int fsm_apply(struct fsm *f, uint64_t index, const void *buf, size_t len)
{
    if (index <= f->last_applied)
        return 0; /* applied before: a replay after restart or snapshot */
    struct entry_results results, *er = &results; /* about 5 KiB; filled by apply_entry */
    int rv = fsm_txn_begin_write(f);
    if (rv == 0)
        rv = apply_entry(f, index, buf, len, er);
    if (rv == 0)
        rv = batch_record(f, index, buf, len);
    if (rv != 0) {
        entry_results_clear(er);
        goto fail;
    }
    f->last_applied = index;
    fsm_snapshot_record(f, index, buf, len);
    for (unsigned i = 0; i < er->n; i++) {
        const struct fsm_result *res = &er->res[i];
        if (f->hook)
            f->hook(f->hook_ctx, index, res);
        if (f->entry_hook)
            f->entry_hook(f->entry_hook_ctx, index, er->whole ? FSM_POS_ENTRY : i, res);
        if (f->listener)
            f->listener(f->listener_ctx, index, er->type[i], res);
    }
    entry_results_clear(er);
    want_flush(f);
    return 0;

fail:
    /* A local failure: nothing of this entry may stay, and raft does not advance past it. The
     * batch's transaction is aborted and the entries before this one are applied again and
     * committed (fsm_flush aborts the process if that commit fails). */
    f->apply_errors++;
    LOG_ERROR("event=apply_error index=%llu err=\"%s\"", (unsigned long long)index,
              mdb_strerror(rv));
    if (f->wtxn) {
        mdb_txn_abort(f->wtxn);
        f->wtxn = NULL;
    }
    batch_redo(f);
    return rv == MDB_MAP_FULL ? RAFT_NOSPACE : RAFT_IOERR;
}

int fsm_flush(struct fsm *f)
{
    if (f->idle_active) {
        uv_idle_stop(&f->idle);
        f->idle_active = false;
    }
    if (f->wtxn) {
        int rv = mdb_txn_commit(f->wtxn);
        f->wtxn = NULL;
        batch_clear(f);
        if (rv != 0) {
            /* The applied entries are in the Raft log; LMDB lost them. Stop the process so
             * that a restart replays them instead of serving a state that went backwards. */
            LOG_ERROR("event=lmdb_commit_failed err=\"%s\" action=abort", mdb_strerror(rv));
            abort();
        }
    }
    while (f->deferred) {
        struct fsm_deferred *d = f->deferred;
        f->deferred = d->next;
        if (!f->deferred)
            f->deferred_tail = &f->deferred;
        d->cb(d->arg);
        free(d);
    }
    return 0;
}

void fsm_defer(struct fsm *f, void (*cb)(void *arg), void *arg)
{
    struct fsm_deferred *d = malloc(sizeof *d);
    if (!d) {
        cb(arg);
        return;
    }
    d->cb = cb;
    d->arg = arg;
    d->next = NULL;
    *f->deferred_tail = d;
    f->deferred_tail = &d->next;
    if (f->loop)
        want_flush(f);
    else
        fsm_flush(f);
}

int fsm_read_begin(struct fsm *f, MDB_txn **txn)
{
    if (f->wtxn)
        fsm_flush(f);
    return mdb_txn_begin(f->env, NULL, MDB_RDONLY, txn);
}

void fsm_read_end(MDB_txn *txn)
{
    mdb_txn_abort(txn);
}

void fsm_space(struct fsm *f, size_t *used, size_t *map_size, size_t *quota)
{
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info(f->env, &info);
    mdb_env_stat(f->env, &st);
    *used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
    *map_size = info.me_mapsize;
    *quota = f->quota;
}

bool fsm_space_ok(struct fsm *f)
{
    size_t used, map, quota;
    fsm_space(f, &used, &map, &quota);
    return used < quota;
}
