/* Bets: reads (a bet, a player's, a fixture's, liability, queues) and the audit's
 * comparison. See bets.h. */
#include "consensus/bets.h"
#include "consensus/bets_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/quotes.h"
#include "consensus/store.h"

/* ---- queries ------------------------------------------------------------------------- */

json_t *bets_get(struct fsm *f, MDB_txn *txn, const char *id)
{
    return store_get_json(txn, bets_db(f)->bets, id, strlen(id));
}

static bool open_status(const char *st)
{
    return !strcmp(st, "pending_hold") || !strcmp(st, "pending") || !strcmp(st, "accepted");
}

json_t *bets_list_player(struct fsm *f,
                         MDB_txn *txn,
                         const char *player,
                         const char *status,
                         uint64_t before,
                         unsigned limit)
{
    json_t *items = json_array();
    json_t *next = json_null();
    size_t pl = strlen(player);
    if (pl > PLAYER_MAX)
        return json_pack("{s:o, s:o}", "items", items, "next", next);
    char k[PLAYER_MAX + 9];
    memcpy(k, player, pl + 1);
    store_be64_put((uint8_t *)k + pl + 1, before ? before : UINT64_MAX);
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, bets_db(f)->player, &cur))
        return json_pack("{s:o, s:o}", "items", items, "next", next);
    MDB_val kv = {pl + 9, k}, v;
    /* The first key at or after the cursor, then backwards (newest first). */
    int r = mdb_cursor_get(cur, &kv, &v, MDB_SET_RANGE);
    r = r == 0 ? mdb_cursor_get(cur, &kv, &v, MDB_PREV) : mdb_cursor_get(cur, &kv, &v, MDB_LAST);
    uint64_t last = 0;
    for (; r == 0; r = mdb_cursor_get(cur, &kv, &v, MDB_PREV)) {
        if (kv.mv_size != pl + 9 || memcmp(kv.mv_data, player, pl + 1) != 0)
            break;
        uint64_t seq = store_be64_get((const uint8_t *)kv.mv_data + pl + 1);
        if (before && seq >= before)
            continue;
        if (json_array_size(items) == limit) {
            next = json_integer((json_int_t)last);
            break;
        }
        char id[BET_ID_MAX];
        snprintf(id, sizeof id, "%.*s", (int)v.mv_size, (const char *)v.mv_data);
        json_t *b = bets_get(f, txn, id);
        if (!b)
            continue;
        const char *st = store_str(b, "status") ?: "";
        bool open = open_status(st);
        if (status &&
            ((!strcmp(status, "open") && !open) || (!strcmp(status, "settled") && open))) {
            json_decref(b);
            continue;
        }
        json_array_append_new(items, b);
        last = seq;
    }
    mdb_cursor_close(cur);
    return json_pack("{s:o, s:o}", "items", items, "next", next);
}

json_t *bets_liability(struct fsm *f, MDB_txn *txn, const char *fixture)
{
    struct bet_limits l;
    bets_limits_get(f, txn, &l);
    char fk[KEY_MAX];
    bets_fixture_key(fk, fixture);
    json_t *outs = json_array();
    char pre[KEY_MAX];
    int pl = snprintf(pre, sizeof pre, "o|%s|", fixture);
    MDB_cursor *cur;
    if (pl > 0 && pl < (int)sizeof pre && mdb_cursor_open(txn, bets_db(f)->exposure, &cur) == 0) {
        MDB_val k = {(size_t)pl, pre}, v;
        for (int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
             r == 0 && k.mv_size >= (size_t)pl && !memcmp(k.mv_data, pre, (size_t)pl);
             r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            /* "o|fixture|market|line|outcome" */
            char key[KEY_MAX];
            snprintf(key, sizeof key, "%.*s", (int)(k.mv_size - (size_t)pl),
                     (const char *)k.mv_data + pl);
            char *line = strchr(key, '|'), *outcome = line ? strchr(line + 1, '|') : NULL;
            if (!outcome)
                continue;
            *line++ = 0;
            *outcome++ = 0;
            json_t *e = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "market", key, "outcome", outcome,
                                  "exposure", json_integer_value(json_object_get(e, "amount")),
                                  "cap", (json_int_t)l.outcome_cap);
            if (*line)
                json_object_set_new(o, "line", json_string(line));
            json_array_append_new(outs, o);
            json_decref(e);
        }
        mdb_cursor_close(cur);
    }
    return json_pack("{s:s, s:I, s:I, s:o}", "fixture", fixture, "exposure",
                     (json_int_t)bets_exposure(f, txn, fk), "cap", (json_int_t)l.fixture_cap,
                     "outcomes", outs);
}

json_t *bets_fixture_ids(struct fsm *f, MDB_txn *txn, const char *fixture, uint64_t after,
                         unsigned limit, uint64_t *last)
{
    json_t *ids = json_array();
    size_t fl = strlen(fixture);
    MDB_cursor *cur;
    if (last)
        *last = after;
    if (fl > FIXTURE_MAX || mdb_cursor_open(txn, bets_db(f)->fixture, &cur))
        return ids;
    char k[FIXTURE_MAX + 9];
    memcpy(k, fixture, fl + 1);
    store_be64_put((uint8_t *)k + fl + 1, after + 1);
    MDB_val kv = {fl + 9, k}, v;
    for (int r = mdb_cursor_get(cur, &kv, &v, MDB_SET_RANGE);
         r == 0 && kv.mv_size == fl + 9 && !memcmp(kv.mv_data, fixture, fl + 1) &&
         json_array_size(ids) < limit;
         r = mdb_cursor_get(cur, &kv, &v, MDB_NEXT)) {
        json_array_append_new(ids, json_stringn(v.mv_data, v.mv_size));
        if (last)
            *last = store_be64_get((const uint8_t *)kv.mv_data + fl + 1);
    }
    mdb_cursor_close(cur);
    return ids;
}

json_t *bets_list_fixture(struct fsm *f, MDB_txn *txn, const char *fixture, unsigned limit)
{
    json_t *items = json_array(), *ids = bets_fixture_ids(f, txn, fixture, 0, limit, NULL);
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id)
    {
        json_t *b = bets_get(f, txn, json_string_value(id));
        if (b)
            json_array_append_new(items, b);
    }
    json_decref(ids);
    return items;
}

struct page {
    json_t *out;
    unsigned limit;
};

static bool add_record(void *ctx, MDB_val *k, json_t *v)
{
    (void)k;
    struct page *p = ctx;
    if (json_array_size(p->out) >= p->limit)
        return false;
    if (v)
        json_array_append(p->out, v);
    return json_array_size(p->out) < p->limit;
}

json_t *bets_scan(struct fsm *f, MDB_txn *txn, const char *after, unsigned limit)
{
    struct page p = {json_array(), limit};
    store_each_after(txn, bets_db(f)->bets, after, add_record, &p);
    return p.out;
}

/* The ids in a queue keyed by seq, oldest first. */
static json_t *ids_of(MDB_txn *txn, MDB_dbi dbi, unsigned limit)
{
    json_t *out = json_array();
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, dbi, &cur))
        return out;
    MDB_val k, v;
    int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (r == 0 && json_array_size(out) < limit) {
        json_array_append_new(out, json_stringn(v.mv_data, v.mv_size));
        r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return out;
}

json_t *bets_unpaid(struct fsm *f, MDB_txn *txn, unsigned limit)
{
    return ids_of(txn, bets_db(f)->unpaid, limit);
}

json_t *bets_pending_holds(struct fsm *f, MDB_txn *txn, unsigned limit)
{
    return ids_of(txn, bets_db(f)->pending, limit);
}

json_t *bets_delayed(struct fsm *f, MDB_txn *txn, unsigned limit)
{
    return ids_of(txn, bets_db(f)->delayed, limit);
}

json_t *bets_voids(struct fsm *f, MDB_txn *txn, unsigned limit)
{
    return ids_of(txn, bets_db(f)->voids, limit);
}

/* ---- audit --------------------------------------------------------------------------- */

static void diff(json_t *out, const char *bet, const char *problem, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void diff(json_t *out, const char *bet, const char *problem, const char *fmt, ...)
{
    char detail[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    json_array_append_new(
        out, json_pack("{s:s, s:s, s:s}", "bet_id", bet, "problem", problem, "detail", detail));
}

static json_int_t transfer_amount(json_t *hold, const char *suffix, bool *found)
{
    char want[160];
    snprintf(want, sizeof want, "hold:%s%s", store_str(hold, "id") ?: "", suffix);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(hold, "transfers"), i, t)
    {
        if (!strcmp(store_str(t, "id") ?: "", want)) {
            *found = true;
            return json_integer_value(json_object_get(t, "amount"));
        }
    }
    *found = false;
    return 0;
}

json_t *bets_audit_compare(json_t *bets, json_t *holds)
{
    json_t *out = json_array();
    json_t *seen = json_object();
    unsigned in_progress = 0;
    size_t i;
    json_t *b;
    json_array_foreach(bets, i, b)
    {
        const char *id = store_str(b, "id") ?: "";
        const char *st = store_str(b, "status") ?: "";
        const char *hf = store_str(b, "hold") ?: "";
        const char *paid = store_str(b, "paid");
        json_t *h = json_object_get(holds, id);
        if (h)
            json_object_set_new(seen, id, json_true());
        const char *hs = h ? store_str(h, "status") ?: "" : "absent";
        json_int_t stake = json_integer_value(json_object_get(b, "stake"));
        if (h && strcmp(store_str(h, "player") ?: "", store_str(b, "player_id") ?: "") != 0)
            diff(out, id, "player", "the hold is %s's, the bet %s's", store_str(h, "player"),
                 store_str(b, "player_id"));
        if (h && json_integer_value(json_object_get(h, "amount")) != stake)
            diff(out, id, "amount", "the hold is %lld cents, the stake %lld",
                 (long long)json_integer_value(json_object_get(h, "amount")), (long long)stake);
        bool held_open = !strcmp(st, "accepted") || (!strcmp(st, "pending") && !strcmp(hf, "held"));
        if (!strcmp(st, "pending_hold") || (!strcmp(st, "pending") && !strcmp(hf, "pending"))) {
            in_progress++;
            if (h && strcmp(hs, "pending") != 0)
                diff(out, id, "hold_status", "bet %s, hold %s", st, hs);
        } else if (held_open) {
            if (strcmp(hs, "pending") != 0)
                diff(out, id, "hold_status", "bet %s with its stake held, hold %s", st, hs);
        } else if (!strcmp(st, "rejected")) {
            if (!strcmp(hf, "voiding")) {
                in_progress++;
                if (strcmp(hs, "pending") != 0 && strcmp(hs, "voided") != 0)
                    diff(out, id, "hold_status", "rejected bet voiding its hold, hold %s", hs);
            } else if (!strcmp(hf, "voided")) {
                if (strcmp(hs, "voided") != 0)
                    diff(out, id, "hold_status", "rejected bet whose hold was voided, hold %s", hs);
            } else if (h && strcmp(hs, "voided") != 0 && strcmp(hs, "expired") != 0) {
                diff(out, id, "hold_outlives_bet", "rejected bet (%s), hold %s",
                     store_str(b, "reject_code") ?: "?", hs);
            }
        } else if (!strcmp(st, "settled")) {
            uint64_t ret;
            const char *how = bets_settle_how(b, &ret);
            if (!paid) {
                in_progress++;
                if (strcmp(hs, "pending") != 0 && strcmp(how, "resettle") != 0 &&
                    strcmp(hs, !strcmp(how, "post") ? "posted" : "voided"))
                    diff(out, id, "hold_status", "settled bet not paid yet, hold %s", hs);
            } else if (!strcmp(paid, "resettle")) {
                /* Re-settled (bets_resettle.c): the hold's transfers and their corrections
                 * must amount to the stake kept and the return of the last generation. */
                bool back = !strcmp(store_str(b, "result") ?: "", "void") ||
                            !strcmp(store_str(b, "result") ?: "", "push");
                int64_t ws = back ? 0 : stake, wp = back ? 0 : (int64_t)ret, hs_, hp;
                bets_hold_effect(h, &hs_, &hp);
                if (!h || hs_ != ws || hp != wp)
                    diff(out, id, "resettle_transfers",
                         "re-settled bet keeps %lld and pays %lld, the hold's transfers %lld "
                         "and %lld",
                         (long long)ws, (long long)wp, (long long)hs_, (long long)hp);
            } else if (!strcmp(paid, "void")) {
                bool f;
                transfer_amount(h, ":void", &f);
                if (strcmp(hs, "voided") != 0 || !f)
                    diff(out, id, "hold_status", "bet paid by void, hold %s%s", hs,
                         f ? "" : ", no void transfer");
            } else {
                bool fs, fp;
                json_int_t ts = transfer_amount(h, ":stake", &fs);
                json_int_t tp = transfer_amount(h, ":payout", &fp);
                if (strcmp(hs, "posted") != 0)
                    diff(out, id, "hold_status", "bet paid by post, hold %s", hs);
                else if (!fs || ts != stake)
                    diff(out, id, "stake_transfer", "stake %lld, stake transfer %s%lld",
                         (long long)stake, fs ? "" : "missing ", (long long)ts);
                else if ((ret > 0) != fp || (fp && (uint64_t)tp != ret))
                    diff(out, id, "payout_transfer", "return %llu, payout transfer %s%lld",
                         (unsigned long long)ret, fp ? "" : "missing ", (long long)tp);
            }
        } else {
            diff(out, id, "bet_status", "unknown bet status '%s'", st);
        }
    }
    const char *hid;
    json_t *h;
    json_object_foreach(holds, hid, h)
    {
        if (!json_object_get(seen, hid))
            diff(out, hid, "hold_without_bet", "hold %s of %lld cents (%s) has no bet", hid,
                 (long long)json_integer_value(json_object_get(h, "amount")),
                 store_str(h, "status") ?: "?");
    }
    json_decref(seen);
    return json_pack("{s:b, s:I, s:I, s:I, s:I, s:o}", "ok", json_array_size(out) == 0, "bets",
                     (json_int_t)json_array_size(bets), "holds",
                     (json_int_t)json_object_size(holds), "in_progress", (json_int_t)in_progress,
                     "difference_count", (json_int_t)json_array_size(out), "differences", out);
}
