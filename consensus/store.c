/* Storage and payload helpers; see store.h. */
#include "consensus/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

void store_be64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

uint64_t store_be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

json_t *store_get_json(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen)
{
    MDB_val k = {klen, (void *)key}, v;
    if (mdb_get(txn, dbi, &k, &v) != 0)
        return NULL;
    return json_loadb(v.mv_data, v.mv_size, 0, NULL);
}

int store_put_json(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, json_t *val,
                   char **text_out)
{
    char *text = json_dumps(val, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return MDB_PANIC;
    MDB_val k = {klen, (void *)key}, v = {strlen(text), text};
    int rv = mdb_put(txn, dbi, &k, &v, 0);
    if (text_out && rv == 0)
        *text_out = text;
    else
        free(text);
    return rv;
}

size_t store_json_str(char *out, const char *s, size_t n)
{
    static const char hexd[] = "0123456789ABCDEF"; /* jansson's \u00XX is upper case */
    size_t m = 0;
    out[m++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *sh = ch == '\b'   ? "\\b"
                         : ch == '\f' ? "\\f"
                         : ch == '\n' ? "\\n"
                         : ch == '\r' ? "\\r"
                         : ch == '\t' ? "\\t"
                                      : NULL;
        if (ch == '"' || ch == '\\') {
            out[m++] = '\\';
            out[m++] = (char)ch;
        } else if (sh) {
            memcpy(out + m, sh, 2);
            m += 2;
        } else if (ch < 0x20) {
            memcpy(out + m, "\\u00", 4);
            out[m + 4] = hexd[ch >> 4];
            out[m + 5] = hexd[ch & 15];
            m += 6;
        } else {
            out[m++] = (char)ch;
        }
    }
    out[m++] = '"';
    return m;
}

json_t *store_page_json(MDB_txn *txn, MDB_dbi dbi, const void *from, size_t from_len,
                        size_t limit)
{
    json_t *arr = json_array();
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, dbi, &cur) != 0)
        return arr;
    MDB_val k = {from_len, (void *)from}, v;
    for (int rv = mdb_cursor_get(cur, &k, &v, from ? MDB_SET_RANGE : MDB_FIRST);
         rv == 0 && json_array_size(arr) < limit; rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        json_t *o = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        if (o)
            json_array_append_new(arr, o);
    }
    mdb_cursor_close(cur);
    return arr;
}

json_t *store_list_json(MDB_txn *txn, MDB_dbi dbi)
{
    return store_page_json(txn, dbi, NULL, 0, SIZE_MAX);
}

void store_each_after(MDB_txn *txn, MDB_dbi dbi, const char *after,
                      bool (*visit)(void *ctx, MDB_val *k, json_t *v), void *ctx)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, dbi, &cur))
        return;
    size_t alen = after ? strlen(after) : 0;
    MDB_val k = {alen, (void *)after}, v;
    int r = mdb_cursor_get(cur, &k, &v, alen ? MDB_SET_RANGE : MDB_FIRST);
    if (r == 0 && alen && k.mv_size == alen && !memcmp(k.mv_data, after, alen))
        r = mdb_cursor_get(cur, &k, &v, MDB_NEXT); /* strictly after */
    for (bool go = true; r == 0 && go; r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        json_t *j = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        go = visit(ctx, &k, j);
        json_decref(j);
    }
    mdb_cursor_close(cur);
}

int store_put_str(MDB_txn *txn, MDB_dbi dbi, const char *key, const char *val)
{
    MDB_val k = {strlen(key), (void *)key}, v = {strlen(val), (void *)val};
    return mdb_put(txn, dbi, &k, &v, 0);
}

json_t *store_payload(const struct cmd *c, bool object, struct fsm_result *res)
{
    json_t *body = c->parsed ? json_incref(c->parsed)
                             : json_loadb(c->payload, c->payload_len, 0, NULL);
    if (body && (!object || json_is_object(body)))
        return body;
    json_decref(body);
    fsm_result_problem(res, 400, "Malformed command", "the command's payload is not %s",
                       object ? "a JSON object" : "JSON");
    return NULL;
}

const char *store_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *store_str_max(json_t *o, const char *key, size_t max)
{
    const char *s = store_str(o, key);
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= max ? s : NULL;
}

bool store_u64(json_t *o, const char *key, uint64_t min, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) < min)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

void store_result_json(struct fsm_result *res, int status, json_t *body)
{
    fsm_result_set(res, status, json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS));
    json_decref(body);
}

int store_problem(struct fsm_result *res, int status, const char *title, const char *code,
                  const char *fmt, ...)
{
    char detail[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    store_result_json(res, status,
                      json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank", "title",
                                title, "status", status, "detail", detail, "code", code));
    return 0;
}
