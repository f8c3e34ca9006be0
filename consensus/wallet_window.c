/* Wallets: the 7-day rolling stake window, one player's stakes as records of their own (database
 * wallet_stakes_7d) with a running sum, so that placing a hold costs the same whatever the
 * player staked this week (it was a JSON array in the profile, parsed and rewritten per hold).
 *
 * Keys (a player id never holds a NUL, so one player's keys never interleave with another's):
 *   player "\0"                       the running sum: the amounts of every entry below (be64)
 *   player "\0" be64(at_ms) hold_id   one stake that counts: its amount (be64)
 * A stake counts while at_ms + WALLET_WINDOW_MS > now (as before: exact to the millisecond, a
 * limit is refused at the same moment). Entries are dropped from the oldest when the player
 * places again (O(1) amortized a hold) and read-only readers subtract the ones already past.
 * A hold voided or expired takes its entry out (a bet that never stood does not count); a post
 * leaves it. */
#include <stdio.h>
#include <string.h>

#include "consensus/wallet_internal.h"

#define WKEY_MAX (ACCT_MAX + 9 + TID_MAX)

/* player "\0" (the sum's key); with @id, then be64(@at) and @id. */
static size_t window_key(const char *player, uint64_t at, const char *id, uint8_t *key)
{
    size_t n = strlen(player), m = id ? strlen(id) : 0;
    if (n >= ACCT_MAX || m >= TID_MAX)
        return 0;
    memcpy(key, player, n);
    key[n] = 0;
    if (!id)
        return n + 1;
    store_be64_put(key + n + 1, at);
    memcpy(key + n + 9, id, m);
    return n + 9 + m;
}

/* Walk @player's entries from the oldest: *@sum is the running sum, *@past the amounts of those
 * no longer counting at @now; with @drop, those are deleted as they are passed. */
static int window_walk(MDB_txn *txn, MDB_dbi dbi, const char *player, uint64_t now, bool drop,
                       int64_t *sum, int64_t *past)
{
    uint8_t key[WKEY_MAX];
    size_t klen = window_key(player, 0, NULL, key);
    *sum = *past = 0;
    if (!klen)
        return 0;
    MDB_cursor *cur;
    int rv = mdb_cursor_open(txn, dbi, &cur);
    if (rv)
        return rv;
    MDB_val k = {klen, key}, v;
    int r = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    if (r == 0 && v.mv_size == 8) {
        *sum = (int64_t)store_be64_get(v.mv_data);
        for (r = mdb_cursor_get(cur, &k, &v, MDB_NEXT); r == 0 && rv == 0;
             r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            if (k.mv_size < klen + 8 || memcmp(k.mv_data, key, klen) ||
                store_be64_get((const uint8_t *)k.mv_data + klen) + WALLET_WINDOW_MS > now)
                break;
            *past += (int64_t)store_be64_get(v.mv_data);
            if (drop)
                rv = mdb_cursor_del(cur, 0);
        }
    }
    mdb_cursor_close(cur);
    return rv ? rv : (r == 0 || r == MDB_NOTFOUND ? 0 : r);
}

static int sum_put(MDB_txn *txn, MDB_dbi dbi, const char *player, int64_t sum)
{
    uint8_t key[WKEY_MAX], val[8];
    MDB_val k = {window_key(player, 0, NULL, key), key}, v = {8, val};
    store_be64_put(val, (uint64_t)sum);
    return mdb_put(txn, dbi, &k, &v, 0);
}

int64_t stakes_used(struct fsm *f, MDB_txn *txn, const char *player, uint64_t now)
{
    int64_t sum, past;
    if (window_walk(txn, DB(f)->stakes, player, now, false, &sum, &past))
        return 0;
    return sum - past;
}

int stakes_add(struct wop *op, const char *player, const char *hid, int64_t amount)
{
    MDB_dbi dbi = DB(op->f)->stakes;
    int64_t sum, past;
    int rv = window_walk(op->txn, dbi, player, op->now, true, &sum, &past);
    uint8_t key[WKEY_MAX], val[8];
    MDB_val k = {window_key(player, op->now, hid, key), key}, v = {8, val};
    store_be64_put(val, (uint64_t)amount);
    if (rv == 0 && k.mv_size)
        rv = mdb_put(op->txn, dbi, &k, &v, 0);
    if (rv == 0)
        rv = sum_put(op->txn, dbi, player, sum - past + amount);
    return rv;
}

int stakes_remove(struct wop *op, json_t *hold)
{
    MDB_dbi dbi = DB(op->f)->stakes;
    const char *player = store_str(hold, "player"), *hid = store_str(hold, "id");
    if (!player || !hid)
        return 0;
    uint8_t key[WKEY_MAX];
    MDB_val k = {window_key(player, (uint64_t)jint(hold, "placed_ms"), hid, key), key}, v;
    if (!k.mv_size || mdb_get(op->txn, dbi, &k, &v) != 0) /* dropped already: 7 days old */
        return 0;
    int64_t amount = (int64_t)store_be64_get(v.mv_data);
    int rv = mdb_del(op->txn, dbi, &k, NULL);
    MDB_val sk = {window_key(player, 0, NULL, key), key}, sv;
    int64_t sum = 0;
    if (rv == 0 && mdb_get(op->txn, dbi, &sk, &sv) == 0 && sv.mv_size == 8)
        sum = (int64_t)store_be64_get(sv.mv_data);
    if (rv == 0)
        rv = sum_put(op->txn, dbi, player, sum - amount);
    return rv;
}
