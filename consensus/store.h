/* Storage and payload helpers shared by the state machine's domains.
 *
 * Keys that must sort by number are u64 big-endian. Records are compact JSON with sorted keys,
 * so that every node writes the same bytes. Payloads are JSON objects; the field readers below
 * return NULL / false for a missing field of the wrong type, and each apply function turns that
 * into its own precise refusal.
 */
#ifndef PARLAY_STORE_H
#define PARLAY_STORE_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/codec.h"
#include "consensus/fsm.h"

void store_be64_put(uint8_t out[8], uint64_t v);
uint64_t store_be64_get(const uint8_t *p);

/* The JSON record at @key, or NULL (absent or unreadable). */
json_t *store_get_json(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen);
/* Write @val at @key. With @text_out, the record's text is handed over (malloc'd) on success. */
int store_put_json(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, json_t *val,
                   char **text_out);
/* The records of @dbi that read as JSON, in key order, as an array: from the key @from on
 * (NULL: the first), at most @limit of them. */
json_t *store_page_json(MDB_txn *txn, MDB_dbi dbi, const void *from, size_t from_len,
                        size_t limit);
/* Every record of @dbi that reads as JSON (store_page_json from the first, no limit). */
json_t *store_list_json(MDB_txn *txn, MDB_dbi dbi);
/* @visit(@ctx, key, record) for each record of @dbi in key order, from the first key strictly
 * after the text @after (NULL or "": from the first), until @visit returns false; the record
 * is NULL when it does not read as JSON, and is released after the call. */
void store_each_after(MDB_txn *txn, MDB_dbi dbi, const char *after,
                      bool (*visit)(void *ctx, MDB_val *k, json_t *v), void *ctx);
/* @s (@n bytes) as a JSON string at @out (room for 6 * @n + 2 bytes), escaped exactly as
 * store_put_json (json_dumps) escapes it; returns the bytes written. For records written as
 * text without building them: a bet's event (bets.c), an audit record (operators.c). */
size_t store_json_str(char *out, const char *s, size_t n);
/* A text value at a text key. */
int store_put_str(MDB_txn *txn, MDB_dbi dbi, const char *key, const char *val);

/* The command's payload as JSON, or NULL with a 400 result ("Malformed command": "the
 * command's payload is not JSON", or "... not a JSON object" when @object). */
json_t *store_payload(const struct cmd *c, bool object, struct fsm_result *res);
/* The string field @key of @o, or NULL. */
const char *store_str(json_t *o, const char *key);
/* The string field @key if it has 1 to @max bytes, else NULL. */
const char *store_str_max(json_t *o, const char *key, size_t max);
/* The integer field @key if it is at least @min (0 or 1), into @out. */
bool store_u64(json_t *o, const char *key, uint64_t min, uint64_t *out);

/* A result with the JSON @body (stolen) as its text. */
void store_result_json(struct fsm_result *res, int status, json_t *body);
/* A problem+json result {type, title, status, detail (@fmt), code}: a domain's refusal with its
 * stable code. Returns 0 (what apply returns after a refusal). */
int store_problem(struct fsm_result *res, int status, const char *title, const char *code,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
