/* The transaction journal, and its local-file implementation.
 *
 * The manager writes a record before every broadcast (new transaction, fee bump, re-send), so
 * that after a crash or a leader change every transaction that may be in some node's pool is
 * known, with its nonce and raw bytes. The interface (oracle_journal) lets the cluster keep
 * the same records in its Raft log instead of a file.
 *
 * File format: one JSON object per line, appended and fsync'd; a record is rewritten by
 * appending a newer line with the same id, and the last line per id wins when reading. A torn
 * last line (crash during a write) is ignored. */
#include "oracle/oracle.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char* oracle_tx_state_name(int state)
{
    static const char* names[] = {"new", "sent", "mined", "confirmed", "failed", "superseded"};
    return (state >= 0 && state <= ORACLE_TX_SUPERSEDED) ? names[state] : "unknown";
}

void oracle_tx_record_free(oracle_tx_record* r)
{
    free(r->data_hex);
    free(r->raw_hex);
    r->data_hex = r->raw_hex = NULL;
}

void oracle_tx_records_free(oracle_tx_record* recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        oracle_tx_record_free(&recs[i]);
    free(recs);
}

int oracle_tx_record_copy(oracle_tx_record* dst, const oracle_tx_record* src)
{
    *dst = *src;
    dst->data_hex = src->data_hex ? strdup(src->data_hex) : NULL;
    dst->raw_hex = src->raw_hex ? strdup(src->raw_hex) : NULL;
    if ((src->data_hex && !dst->data_hex) || (src->raw_hex && !dst->raw_hex)) {
        oracle_tx_record_free(dst);
        return ETH_ENOMEM;
    }
    return ETH_OK;
}

static json_t* hexj(const uint8_t* p, size_t n)
{
    char s[2 * 32 + 3];
    eth_hex_write(p, n, s);
    return json_string(s);
}

static json_t* record_to_json(const oracle_tx_record* r)
{
    json_t* att = json_array();
    for (size_t i = 0; i < r->nattempts; i++)
        json_array_append_new(att, hexj(r->attempts[i], 32));
    return json_pack(
        "{sI si sI si si sI sI sI sI sI sI so so ss* ss* so si sI so sI si sI sI ss si}", "id",
        (json_int_t)r->id, "kind", r->kind, "match_id", (json_int_t)r->match_id, "state", r->state,
        "type", r->type, "chain_id", (json_int_t)r->chain_id, "nonce", (json_int_t)r->nonce,
        "gas_limit", (json_int_t)r->gas_limit, "max_fee", (json_int_t)r->max_fee, "tip",
        (json_int_t)r->tip, "value", (json_int_t)r->value, "to",
        r->has_to ? hexj(r->to, 20) : json_null(), "from", hexj(r->from, 20), "data", r->data_hex,
        "raw", r->raw_hex, "attempts", att, "mined_attempt", r->mined_attempt, "block_number",
        (json_int_t)r->block_number, "block_hash", hexj(r->block_hash, 32), "gas_used",
        (json_int_t)r->gas_used, "receipt_status", r->receipt_status, "sent_block",
        (json_int_t)r->sent_block, "sent_unix", (json_int_t)r->sent_unix, "last_error",
        r->last_error, "noop", r->noop);
}

static uint64_t ju(json_t* o, const char* k)
{
    return (uint64_t)json_integer_value(json_object_get(o, k));
}

static int record_from_json(json_t* o, oracle_tx_record* r)
{
    memset(r, 0, sizeof *r);
    r->id = ju(o, "id");
    r->kind = (int)ju(o, "kind");
    r->match_id = ju(o, "match_id");
    r->state = (int)ju(o, "state");
    r->type = (int)ju(o, "type");
    r->chain_id = ju(o, "chain_id");
    r->nonce = ju(o, "nonce");
    r->gas_limit = ju(o, "gas_limit");
    r->max_fee = ju(o, "max_fee");
    r->tip = ju(o, "tip");
    r->value = ju(o, "value");
    const char* to = json_string_value(json_object_get(o, "to"));
    r->has_to = to && eth_hex_decode(to, r->to, 20) == ETH_OK;
    (void)eth_hex_decode(json_string_value(json_object_get(o, "from")), r->from, 20);
    const char* d = json_string_value(json_object_get(o, "data"));
    const char* raw = json_string_value(json_object_get(o, "raw"));
    r->data_hex = d ? strdup(d) : NULL;
    r->raw_hex = raw ? strdup(raw) : NULL;
    json_t* att = json_object_get(o, "attempts");
    for (size_t i = 0; i < json_array_size(att) && i < ORACLE_MAX_ATTEMPTS; i++)
        if (eth_hex_decode(json_string_value(json_array_get(att, i)), r->attempts[i], 32) == ETH_OK)
            r->nattempts = i + 1;
    r->mined_attempt = (int)json_integer_value(json_object_get(o, "mined_attempt"));
    r->block_number = ju(o, "block_number");
    (void)eth_hex_decode(json_string_value(json_object_get(o, "block_hash")), r->block_hash, 32);
    r->gas_used = ju(o, "gas_used");
    r->receipt_status = (int)ju(o, "receipt_status");
    r->sent_block = ju(o, "sent_block");
    r->sent_unix = (int64_t)ju(o, "sent_unix");
    const char* le = json_string_value(json_object_get(o, "last_error"));
    snprintf(r->last_error, sizeof r->last_error, "%s", le ? le : "");
    r->noop = (int)ju(o, "noop");
    if (r->id == 0 || (d && !r->data_hex) || (raw && !r->raw_hex)) {
        oracle_tx_record_free(r);
        return ETH_EINVAL;
    }
    return ETH_OK;
}

char* oracle_tx_record_to_text(const oracle_tx_record* r)
{
    json_t* o = record_to_json(r);
    char* t = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return t;
}

int oracle_tx_record_from_text(const char* text, size_t n, int allow_new, oracle_tx_record* r)
{
    json_t* o = json_loadb(text, n, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return ETH_EINVAL;
    }
    int rc;
    if (allow_new && ju(o, "id") == 0) {
        json_object_set_new(o, "id", json_integer(1));
        rc = record_from_json(o, r);
        if (rc == ETH_OK)
            r->id = 0;
    } else {
        rc = record_from_json(o, r);
    }
    json_decref(o);
    return rc;
}

/* ------------------------------------------------------------------ file journal */

typedef struct file_journal
{
    char* path;
    int fd;
    uint64_t next_id;
} file_journal;

static int fj_read_all(file_journal* fj, oracle_tx_record** out, size_t* n, size_t* lines)
{
    *out = NULL;
    *n = 0;
    if (lines)
        *lines = 0;
    FILE* f = fopen(fj->path, "r");
    if (!f)
        return errno == ENOENT ? ETH_OK : ETH_EJOURNAL;
    oracle_tx_record* recs = NULL;
    size_t count = 0, cap = 0;
    char* line = NULL;
    size_t lcap = 0;
    int rc = ETH_OK;
    while (getline(&line, &lcap, f) > 0) {
        if (lines)
            (*lines)++;
        json_t* o = json_loads(line, 0, NULL);
        oracle_tx_record r;
        if (!o || record_from_json(o, &r) != ETH_OK) {
            json_decref(o);
            continue; /* a torn line from a crash mid-write */
        }
        json_decref(o);
        size_t i;
        for (i = 0; i < count && recs[i].id != r.id; i++) {
        }
        if (i < count) {
            oracle_tx_record_free(&recs[i]);
            recs[i] = r;
            continue;
        }
        if (count == cap) {
            cap = cap ? 2 * cap : 16;
            oracle_tx_record* nr = realloc(recs, cap * sizeof *recs);
            if (!nr) {
                oracle_tx_record_free(&r);
                rc = ETH_ENOMEM;
                break;
            }
            recs = nr;
        }
        recs[count++] = r;
    }
    free(line);
    fclose(f);
    if (rc != ETH_OK) {
        oracle_tx_records_free(recs, count);
        return rc;
    }
    *out = recs;
    *n = count;
    return ETH_OK;
}

static int write_record(int fd, const oracle_tx_record* r)
{
    json_t* o = record_to_json(r);
    char* s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s)
        return ETH_ENOMEM;
    size_t len = strlen(s);
    s[len] = '\n'; /* replaces the terminator; we write exactly len + 1 bytes */
    ssize_t w = write(fd, s, len + 1);
    free(s);
    return w == (ssize_t)(len + 1) ? ETH_OK : ETH_EJOURNAL;
}

static int fj_put(void* ctx, oracle_tx_record* r)
{
    file_journal* fj = ctx;
    if (r->id == 0)
        r->id = fj->next_id++;
    int rc = write_record(fj->fd, r);
    if (rc == ETH_OK && fsync(fj->fd) != 0)
        rc = ETH_EJOURNAL;
    return rc;
}

/* Rewrites the file with one line per record (tmp file, fsync, rename), when old versions of
 * records make up most of it. A crash at any point leaves either the old or the new file. */
static int fj_compact(file_journal* fj, const oracle_tx_record* recs, size_t n)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", fj->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return ETH_EJOURNAL;
    int rc = ETH_OK;
    for (size_t i = 0; i < n && rc == ETH_OK; i++)
        rc = write_record(fd, &recs[i]);
    if (rc == ETH_OK && fsync(fd) != 0)
        rc = ETH_EJOURNAL;
    close(fd);
    if (rc == ETH_OK && rename(tmp, fj->path) != 0)
        rc = ETH_EJOURNAL;
    if (rc != ETH_OK) {
        unlink(tmp);
        return rc;
    }
    close(fj->fd);
    fj->fd = open(fj->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    return fj->fd >= 0 ? ETH_OK : ETH_EJOURNAL;
}

static int fj_list(void* ctx, oracle_tx_record** out, size_t* n)
{
    return fj_read_all(ctx, out, n, NULL);
}

static void fj_close(void* ctx)
{
    file_journal* fj = ctx;
    if (fj->fd >= 0)
        close(fj->fd);
    free(fj->path);
    free(fj);
}

int oracle_journal_file_open(oracle_journal* j, const char* path, eth_error* err)
{
    memset(j, 0, sizeof *j);
    file_journal* fj = calloc(1, sizeof *fj);
    if (!fj || !(fj->path = strdup(path))) {
        free(fj);
        return ETH_ENOMEM;
    }
    fj->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fj->fd < 0) {
        if (err)
            snprintf(err->message, sizeof err->message, "journal %.180s: %s", path,
                     strerror(errno));
        fj_close(fj);
        return ETH_EJOURNAL;
    }
    oracle_tx_record* recs;
    size_t n, lines;
    if (fj_read_all(fj, &recs, &n, &lines) != ETH_OK ||
        (lines > 64 && lines > 4 * n && fj_compact(fj, recs, n) != ETH_OK)) {
        oracle_tx_records_free(recs, n);
        fj_close(fj);
        return ETH_EJOURNAL;
    }
    fj->next_id = 1;
    for (size_t i = 0; i < n; i++)
        if (recs[i].id >= fj->next_id)
            fj->next_id = recs[i].id + 1;
    oracle_tx_records_free(recs, n);
    j->ctx = fj;
    j->put = fj_put;
    j->list = fj_list;
    j->close = fj_close;
    return ETH_OK;
}

void oracle_journal_close(oracle_journal* j)
{
    if (j->close && j->ctx)
        j->close(j->ctx);
    j->ctx = NULL;
}
