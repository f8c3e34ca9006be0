/* Fuzz target: the command codec and the state machine's apply on random commands.
 *
 * The happy path for one input: an empty state machine (one scratch LMDB environment per
 * process, emptied before each input; the same options as the unit tests: a football cluster
 * with an empty cluster name), then each line
 * of the input applied as the next Raft entry, and the invariants checked after each:
 *   - fsm_apply returns 0 (a refusal is a result, never an error that would stop Raft);
 *   - a plain entry gets exactly one result, with a status in 200..599 and a JSON object body;
 *     a refusal (4xx/5xx) is problem+json with a "title" and a "detail";
 *   - a refused plain command changed nothing (every domain database but the idempotency
 *     records is byte for byte as before);
 *   - applying the same entry again at the same index changes nothing (exactly once);
 *   - the wallet's check passes (zero sum, counters equal their transfers, no player
 *     overdrawn, every hold resolved at most once).
 *
 * Input format (text, so that seeds are readable and the fuzzer's JSON mutations count):
 *   "<type> <json>"         a command of that type with that payload
 *   "<type>/<idem> <json>"  the same with an idempotency key
 *   "*<type> <json>"        consecutive '*' lines travel as one CMD_BATCH entry
 *   "@<ms>" / "+<ms>"       set / advance the leader's stamped time
 * An input that starts with the codec's magic "PRLY" is applied as one raw entry instead (the
 * decoder and the batch checks see arbitrary bytes), after cmd_decode and cmd_batch_check. */
#include <ftw.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "consensus/cmdtable.h"
#include "consensus/codec.h"
#include "consensus/fsm.h"
#include "consensus/fsm_internal.h"
#include "consensus/wallet.h"
#include "tests/fuzz/fuzz.h"

#define MAX_LINES 96
#define MAX_BATCH 16

struct results {
    unsigned calls;
    int status;
    char body[1024];
    bool body_ok;
};

static void on_result(void *ctx, uint64_t index, const struct fsm_result *res)
{
    (void)index;
    struct results *r = ctx;
    r->calls++;
    r->status = res->status;
    snprintf(r->body, sizeof r->body, "%s", res->body ? res->body : "");
    json_t *j = res->body ? json_loads(res->body, 0, NULL) : NULL;
    r->body_ok = json_is_object(j);
    if (r->body_ok && res->status >= 400)
        r->body_ok = json_is_string(json_object_get(j, "title")) &&
                     json_is_string(json_object_get(j, "detail"));
    json_decref(j);
}

/* Refusals that are themselves recorded, by design: a failed sign-in counts towards the
 * lock-out; a refresh token presented twice revokes its whole session family; a
 * FranceConnect login state is spent by its first use, whatever the verdict (no replay). */
static bool refusal_records(unsigned type, const char *body)
{
    return type == CMD_LOGIN_FAILED || type == CMD_FC_LINK ||
           (type == CMD_SESSION_REFRESH && strstr(body, "\"title\":\"Refresh token reused\""));
}

/* FNV-1a over every key and value of the domain databases (with or without the idempotency
 * records), in key order. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t state_digest(struct fsm *f, bool with_idem, const char *skip)
{
    MDB_txn *txn;
    FUZZ_CHECK(fsm_read_begin(f, &txn) == 0, "read transaction");
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned d = 0; fsm_domains[d]; d++)
        for (unsigned i = 0; fsm_domains[d]->dbs[i]; i++) {
            const char *name = fsm_domains[d]->dbs[i];
            if ((!with_idem && (!strcmp(name, "idem") || !strcmp(name, "idem_exp"))) ||
                (skip && !strcmp(name, skip)))
                continue;
            h = fnv(h, name, strlen(name) + 1);
            MDB_cursor *cur;
            FUZZ_CHECK(mdb_cursor_open(txn, fsm_dbi(f, name), &cur) == 0, "cursor %s", name);
            MDB_val k, v;
            for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
                 rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
                h = fnv(h, &k.mv_size, sizeof k.mv_size);
                h = fnv(h, k.mv_data, k.mv_size);
                h = fnv(h, &v.mv_size, sizeof v.mv_size);
                h = fnv(h, v.mv_data, v.mv_size);
            }
            mdb_cursor_close(cur);
        }
    fsm_read_end(txn);
    return h;
}

/* The digest of an empty state (every database empty). */
static uint64_t empty_digest(void)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned d = 0; fsm_domains[d]; d++)
        for (unsigned i = 0; fsm_domains[d]->dbs[i]; i++)
            h = fnv(h, fsm_domains[d]->dbs[i], strlen(fsm_domains[d]->dbs[i]) + 1);
    return h;
}

static void wallet_ok(struct fsm *f, const char *after)
{
    MDB_txn *txn;
    FUZZ_CHECK(fsm_read_begin(f, &txn) == 0, "read transaction");
    json_t *c = wallet_check(f, txn);
    fsm_read_end(txn);
    bool ok = json_is_true(json_object_get(c, "ok"));
    if (!ok) {
        char *t = json_dumps(c, JSON_COMPACT);
        fprintf(stderr, "wallet check after %s: %s\n", after, t ? t : "?");
        free(t);
    }
    json_decref(c);
    FUZZ_CHECK(ok, "the wallet's check fails after %s", after);
}

struct run {
    struct fsm *f;
    struct results r;
    uint64_t index, now;
};

/* Applies @buf as the next entry, then checks everything; @plain: one command, not a batch. */
static void apply_entry(struct run *u, void *buf, size_t len, unsigned type, const char *what)
{
    bool plain = type != CMD_BATCH;
    /* An operator's command is audited whatever its outcome: a refusal adds its audit record. */
    const char *skip = type == CMD_ADMIN ? "audit" : NULL;
    uint64_t before = plain ? state_digest(u->f, false, skip) : 0;
    u->r.calls = 0;
    u->index++;
    int rv = fsm_apply(u->f, u->index, buf, len);
    FUZZ_CHECK(rv == 0, "fsm_apply returned %d for %s", rv, what);
    FUZZ_CHECK(fsm_flush(u->f) == 0, "flush");
    FUZZ_CHECK(u->r.calls >= 1, "no result for %s", what);
    if (plain) {
        FUZZ_CHECK(u->r.calls == 1, "%u results for one command (%s)", u->r.calls, what);
        FUZZ_CHECK(u->r.status >= 200 && u->r.status <= 599, "status %d for %s", u->r.status,
                   what);
        FUZZ_CHECK(u->r.body_ok, "result body of %s (status %d) is not a JSON object (with title "
                   "and detail when refused): %s", what, u->r.status, u->r.body);
        if (u->r.status >= 400 && !refusal_records(type, u->r.body))
            FUZZ_CHECK(state_digest(u->f, false, skip) == before,
                       "%s was refused (%d %s) but changed the state", what, u->r.status,
                       u->r.body);
    }
    /* The same entry again at the same index (a replay after a restart) changes nothing. */
    uint64_t all = state_digest(u->f, true, NULL);
    FUZZ_CHECK(fsm_apply(u->f, u->index, buf, len) == 0, "replayed apply");
    FUZZ_CHECK(fsm_flush(u->f) == 0, "flush");
    FUZZ_CHECK(state_digest(u->f, true, NULL) == all, "replaying %s at its index changed the state",
               what);
    FUZZ_CHECK(fsm_last_applied(u->f) == u->index, "last_applied %llu, expected %llu",
               (unsigned long long)fsm_last_applied(u->f), (unsigned long long)u->index);
    wallet_ok(u->f, what);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* One parsed line: a command. Returns false when the line is not one. */
static bool parse_line(const char *l, size_t n, struct cmd *c, bool *starred, uint64_t now)
{
    size_t i = 0;
    *starred = n && l[0] == '*';
    if (*starred)
        i++;
    unsigned type = 0;
    size_t digits = 0;
    while (i < n && l[i] >= '0' && l[i] <= '9' && digits < 5) {
        type = type * 10 + (unsigned)(l[i++] - '0');
        digits++;
    }
    if (!digits || type > 0xffff)
        return false;
    memset(c, 0, sizeof *c);
    c->type = (uint16_t)type;
    c->time_ms = now;
    if (i < n && l[i] == '/') {
        size_t s = ++i;
        while (i < n && l[i] != ' ')
            i++;
        c->idem = l + s;
        c->idem_len = i - s > CMD_IDEM_MAX ? CMD_IDEM_MAX : i - s;
        /* The fingerprint follows the key, as the write path's does the request. */
        for (size_t k = 0; k < c->idem_len; k++)
            c->fingerprint[k % 32] ^= (uint8_t)c->idem[k];
    }
    if (i < n && l[i] == ' ')
        i++;
    c->payload = l + i;
    c->payload_len = n - i;
    return true;
}

static void run_raw(struct run *u, const uint8_t *data, size_t size)
{
    struct cmd c;
    if (cmd_decode(data, size, &c) == CMD_OK && c.type == CMD_BATCH) {
        unsigned count = 0;
        if (cmd_batch_check(&c, &count) == CMD_OK)
            FUZZ_CHECK(count >= 1 && count <= CMD_BATCH_MAX, "batch of %u", count);
    }
    void *buf = malloc(size ? size : 1); /* aligned as Raft's buffers are */
    memcpy(buf, data, size);
    apply_entry(u, buf, size, CMD_BATCH, "a raw entry");
    free(buf);
}

static void flush_batch(struct run *u, struct cmd *subs, unsigned *n)
{
    if (!*n)
        return;
    void *buf = NULL;
    size_t len = 0;
    if (cmd_batch_encode(subs, *n, u->now, &buf, &len) == CMD_OK) {
        apply_entry(u, buf, len, CMD_BATCH, "a batch");
        free(buf);
    }
    *n = 0;
}

static void run_text(struct run *u, const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    struct cmd subs[MAX_BATCH];
    unsigned nsubs = 0, lines = 0;
    while (in.n && lines++ < MAX_LINES) {
        const uint8_t *lp;
        size_t n = fuzz_part(&in, '\n', &lp);
        const char *l = (const char *)lp;
        if (n && (l[0] == '@' || l[0] == '+')) {
            char num[24];
            size_t k = n - 1 < sizeof num - 1 ? n - 1 : sizeof num - 1;
            memcpy(num, l + 1, k);
            num[k] = 0;
            uint64_t v = strtoull(num, NULL, 10);
            u->now = l[0] == '@' ? v : u->now + v;
            continue;
        }
        struct cmd c;
        bool starred;
        if (!parse_line(l, n, &c, &starred, u->now))
            continue;
        if (starred) {
            subs[nsubs++] = c;
            if (nsubs == MAX_BATCH)
                flush_batch(u, subs, &nsubs);
            continue;
        }
        flush_batch(u, subs, &nsubs);
        if (c.payload_len > CMD_PAYLOAD_MAX)
            continue;
        size_t len = cmd_encoded_size(&c);
        void *buf = malloc(len);
        if (cmd_encode(&c, buf, len) != CMD_OK) { /* a type no domain declares */
            FUZZ_CHECK(!cmdtable_find(c.type), "type %u known but not encoded", c.type);
            free(buf);
            continue;
        }
        struct cmd back;
        FUZZ_CHECK(cmd_decode(buf, len, &back) == CMD_OK && back.type == c.type &&
                       back.payload_len == c.payload_len && back.idem_len == c.idem_len &&
                       back.time_ms == c.time_ms,
                   "an encoded command does not decode to itself");
        char what[64];
        snprintf(what, sizeof what, "command %u (%s) on line %u", c.type, cmd_type_name(c.type),
                 lines);
        apply_entry(u, buf, len, c.type, what);
        free(buf);
    }
    flush_batch(u, subs, &nsubs);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    log_init(0, getenv("PARLAY_TEST_LOG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR + 1);
    return 0;
}

/* One state machine per process, emptied between inputs (opening and closing an LMDB
 * environment with every domain's databases costs about 20 ms, which would be the whole
 * budget): every database, "meta" included, is dropped in one write transaction and the
 * in-memory last_applied (fsm_internal.h) reset, so that each input starts from the state of
 * a fresh open and its entries are numbered from 1, as its seed's were. */
static struct fsm *shared;
static char shared_dir[512];

static int rm_all(void)
{
    return nftw(shared_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void cleanup(void)
{
    if (shared)
        fsm_close(shared);
    shared = NULL;
    rm_all();
}

static struct fsm *fresh_fsm(void)
{
    if (!shared) {
        const char *base = getenv("TMPDIR");
        snprintf(shared_dir, sizeof shared_dir, "%s/parlay-fuzz-XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : base && *base ? base : "/tmp");
        FUZZ_CHECK(mkdtemp(shared_dir), "mkdtemp %s", shared_dir);
        struct fsm_options o = {.dir = shared_dir, .map_size = 256u << 20, .quota = 0,
                                .sport = "football", .loop = NULL};
        char err[256] = "";
        FUZZ_CHECK(fsm_open(&shared, &o, err, sizeof err) == 0, "fsm_open: %s", err);
        atexit(cleanup);
        return shared;
    }
    FUZZ_CHECK(fsm_flush(shared) == 0 && !shared->wtxn, "an open write transaction");
    MDB_txn *w;
    FUZZ_CHECK(mdb_txn_begin(shared->env, NULL, 0, &w) == 0, "write transaction");
    FUZZ_CHECK(mdb_drop(w, shared->meta, 0) == 0, "drop meta");
    for (unsigned d = 0; fsm_domains[d]; d++)
        for (unsigned i = 0; fsm_domains[d]->dbs[i]; i++)
            FUZZ_CHECK(mdb_drop(w, fsm_dbi(shared, fsm_domains[d]->dbs[i]), 0) == 0, "drop %s",
                       fsm_domains[d]->dbs[i]);
    FUZZ_CHECK(mdb_txn_commit(w) == 0, "commit");
    shared->last_applied = 0;
    return shared;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run u = {.now = 1800000000000ull};
    u.f = fresh_fsm();
    FUZZ_CHECK(state_digest(u.f, true, NULL) == empty_digest(), "the state was not emptied");
    fsm_set_result_hook(u.f, on_result, &u.r);
    if (size >= 4 && !memcmp(data, "PRLY", 4))
        run_raw(&u, data, size);
    else
        run_text(&u, data, size);
    return 0;
}
