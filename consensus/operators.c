/* Named operators, machine tokens and the audit trail (see operators.h). */
#include "consensus/operators.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/accounts.h"
#include "consensus/cmdtable.h"
#include "consensus/store.h"

const struct fsm_domain operators_domain;

enum { DB_OPERATORS, DB_OPERATOR_EMAILS, DB_MTOKENS, DB_AUDIT };

#define AUDIT_SEQ_KEY "audit_seq"

static MDB_dbi db(struct fsm *f, int which)
{
    return fsm_domain_dbis(f, &operators_domain)[which];
}

bool operator_scopes_valid(const json_t *scopes)
{
    if (!json_is_array(scopes) || json_array_size(scopes) == 0 || json_array_size(scopes) > 16)
        return false;
    for (size_t i = 0; i < json_array_size(scopes); i++) {
        const char *s = json_string_value(json_array_get(scopes, i));
        if (!operator_scope_known(s))
            return false;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(s, json_string_value(json_array_get(scopes, j))))
                return false;
    }
    return true;
}

static bool id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > OPERATOR_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

static json_t *record_get(struct fsm *f, MDB_txn *txn, int which, const char *id)
{
    if (!id_ok(id))
        return NULL;
    return store_get_json(txn, db(f, which), id, strlen(id));
}

json_t *operator_get(struct fsm *f, MDB_txn *txn, const char *id)
{
    return record_get(f, txn, DB_OPERATORS, id);
}

/* A change to one record of @which: the payload (NULL: refused, answered in @res), its "id"
 * and the record stored under it (NULL when none). */
static json_t *change_begin(struct fsm *f, MDB_txn *txn, const struct cmd *c, int which,
                            struct fsm_result *res, const char **id, json_t **rec)
{
    json_t *p = store_payload(c, true, res);
    *id = p ? store_str(p, "id") : NULL;
    *rec = p ? record_get(f, txn, which, *id) : NULL;
    return p;
}

static void no_such(struct fsm_result *res, const char *title, const char *what, const char *id)
{
    fsm_result_problem(res, 404, title, "%s '%s' does not exist", what, id ? id : "");
}

json_t *operator_by_email(struct fsm *f, MDB_txn *txn, const char *email)
{
    MDB_val k = {strlen(email), (void *)email}, v;
    if (!email[0] || mdb_get(txn, db(f, DB_OPERATOR_EMAILS), &k, &v) != 0 || v.mv_size > 64)
        return NULL;
    char id[65];
    memcpy(id, v.mv_data, v.mv_size);
    id[v.mv_size] = 0;
    return operator_get(f, txn, id);
}

static json_t *list_db(MDB_txn *txn, MDB_dbi dbi, const char *const *drop)
{
    json_t *arr = store_list_json(txn, dbi), *o;
    size_t i;
    json_array_foreach(arr, i, o)
    {
        for (const char *const *d = drop; *d; d++)
            json_object_del(o, *d);
    }
    return arr;
}

json_t *operator_list(struct fsm *f, MDB_txn *txn)
{
    static const char *const drop[] = {"password_hash", "totp_secret", "totp_step", NULL};
    return list_db(txn, db(f, DB_OPERATORS), drop);
}

json_t *mtoken_get(struct fsm *f, MDB_txn *txn, const char *id)
{
    return record_get(f, txn, DB_MTOKENS, id);
}

json_t *mtoken_list(struct fsm *f, MDB_txn *txn)
{
    static const char *const drop[] = {"hash", NULL};
    return list_db(txn, db(f, DB_MTOKENS), drop);
}

json_t *audit_list(struct fsm *f, MDB_txn *txn, uint64_t since, unsigned limit)
{
    uint8_t k8[8];
    store_be64_put(k8, since);
    return store_page_json(txn, db(f, DB_AUDIT), k8, 8, limit);
}

/* Field names that may carry a secret or something derived from one. */
static const char *const secret_words[] = {"secret", "hash",    "password", "token",
                                           "jwk",    "uri",     "recovery", "private",
                                           "key",    "nonce",   "state",    "signature",
                                           NULL};

/* The letters the secret words start with. */
static const bool secret_first[256] = {['s'] = true, ['h'] = true, ['p'] = true, ['t'] = true,
                                       ['j'] = true, ['u'] = true, ['r'] = true, ['k'] = true,
                                       ['n'] = true};

static bool secret_name(const char *k)
{
    for (const char *const *w = secret_words; *w; w++)
        if (strstr(k, *w) && strcmp(k, "kid") != 0)
            return true;
    return false;
}

json_t *audit_redact(const json_t *payload)
{
    if (json_is_object(payload)) {
        json_t *o = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)payload, k, v)
        {
            if (secret_name(k))
                json_object_set_new(o, k, json_string("[redacted]"));
            else
                json_object_set_new(o, k, audit_redact(v));
        }
        return o;
    }
    if (json_is_array(payload)) {
        json_t *a = json_array();
        for (size_t i = 0; i < json_array_size(payload); i++)
            json_array_append_new(a, audit_redact(json_array_get(payload, i)));
        return a;
    }
    return json_deep_copy(payload);
}

/* ---- 53 operator_add {id, name, email, password_hash, scopes[]} ---- */

static int apply_operator_add(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                              struct fsm_result *res)
{
    json_t *p = store_payload(c, true, res);
    if (!p)
        return 0;
    int rv = 0;
    const char *id = store_str(p, "id"), *name = store_str_max(p, "name", OPERATOR_NAME_MAX);
    const char *email = store_str_max(p, "email", OPERATOR_EMAIL_MAX);
    const char *hash = store_str_max(p, "password_hash", 159);
    json_t *scopes = json_object_get(p, "scopes");
    if (!id_ok(id) || !name || !email || !strchr(email, '@') || !hash ||
        strncmp(hash, "$argon2id$", 10) != 0 || !operator_scopes_valid(scopes) ||
        json_object_size(p) != 5) {
        fsm_result_problem(res, 422, "Invalid operator",
                           "an operator needs id, name, email, an argon2id password_hash and "
                           "known scopes, and nothing else");
        goto out;
    }
    MDB_val k = {strlen(email), (void *)email}, v;
    if (mdb_get(txn, db(f, DB_OPERATOR_EMAILS), &k, &v) == 0) {
        fsm_result_problem(res, 409, "Operator exists",
                           "an operator with e-mail '%s' already exists", email);
        goto out;
    }
    json_t *old = operator_get(f, txn, id);
    if (old) {
        json_decref(old);
        fsm_result_problem(res, 409, "Operator exists", "operator '%s' already exists", id);
        goto out;
    }
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:O, s:b, s:b, s:I, s:I}", "id", id, "name",
                            name, "email", email, "password_hash", hash, "scopes", scopes,
                            "disabled", 0, "totp_confirmed", 0, "totp_step", (json_int_t)0,
                            "created_ms", (json_int_t)c->time_ms);
    if ((rv = store_put_json(txn, db(f, DB_OPERATORS), id, strlen(id), rec, NULL)) == 0 &&
        (rv = store_put_str(txn, db(f, DB_OPERATOR_EMAILS), email, id)) == 0) {
        json_object_del(rec, "password_hash");
        store_result_json(res, 201, json_incref(rec));
    }
    json_decref(rec);
out:
    json_decref(p);
    return rv;
}

/* ---- 54 operator_set {id, disabled?, scopes?, totp_secret?, totp_confirmed?, totp_step?} ---- */

static int apply_operator_set(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                              struct fsm_result *res)
{
    const char *id;
    json_t *rec, *p = change_begin(f, txn, c, DB_OPERATORS, res, &id, &rec);
    if (!p)
        return 0;
    int rv = 0;
    if (!rec) {
        no_such(res, "No such operator", "operator", id);
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(p, k, v)
    {
        bool ok = !strcmp(k, "id") ||
                  (!strcmp(k, "disabled") && json_is_boolean(v)) ||
                  (!strcmp(k, "scopes") && operator_scopes_valid(v)) ||
                  (!strcmp(k, "totp_secret") && json_is_string(v) &&
                   json_string_length(v) > 0 && json_string_length(v) < 512) ||
                  (!strcmp(k, "totp_confirmed") && json_is_boolean(v)) ||
                  (!strcmp(k, "totp_step") && json_is_integer(v) && json_integer_value(v) > 0) ||
                  (!strcmp(k, "failed") && json_is_true(v) && json_object_size(p) == 2);
        if (!ok) {
            fsm_result_problem(res, 422, "Invalid operator change", "field '%s' is not valid", k);
            goto out;
        }
    }
    json_t *step = json_object_get(p, "totp_step");
    if (step && json_integer_value(step) <= json_integer_value(json_object_get(rec, "totp_step"))) {
        fsm_result_problem(res, 409, "Code already used",
                           "this one-time code (or an earlier one) was already used");
        goto out;
    }
    if (json_object_get(p, "totp_secret") && json_is_true(json_object_get(rec, "totp_confirmed"))) {
        fsm_result_problem(res, 409, "Second factor already confirmed",
                           "operator '%s' already has a confirmed second factor", id);
        goto out;
    }
    if (json_is_true(json_object_get(p, "totp_confirmed")) &&
        !json_object_get(rec, "totp_secret")) {
        fsm_result_problem(res, 409, "No enrolment", "operator '%s' has not enrolled", id);
        goto out;
    }
    if (json_object_get(p, "failed")) {
        /* A failed sign-in: OPERATOR_MAX_FAILURES in a row lock the operator out. */
        json_int_t n = json_integer_value(json_object_get(rec, "failures")) + 1;
        if (n >= OPERATOR_MAX_FAILURES) {
            json_object_set_new(rec, "locked_until_ms",
                                json_integer((json_int_t)(c->time_ms + OPERATOR_LOCK_MS)));
            n = 0;
        }
        json_object_set_new(rec, "failures", json_integer(n));
        json_object_del(p, "failed");
    } else if (step) {
        json_object_set_new(rec, "failures", json_integer(0)); /* signed in */
    }
    bool disabling = json_is_true(json_object_get(p, "disabled")) &&
                     !json_is_true(json_object_get(rec, "disabled"));
    json_object_update(rec, p);
    if (disabling)
        json_object_set_new(rec, "disabled_ms", json_integer((json_int_t)c->time_ms));
    char sid[OPERATOR_ID_MAX + 16];
    snprintf(sid, sizeof sid, "operator:%s", id);
    /* Sport nodes poll the revocation log: the operator's tokens stop there within seconds. */
    if (disabling && (rv = accounts_revocation_add(f, txn, sid, c->time_ms)) != 0)
        goto out;
    if ((rv = store_put_json(txn, db(f, DB_OPERATORS), id, strlen(id), rec, NULL)) == 0) {
        json_object_del(rec, "password_hash");
        json_object_del(rec, "totp_step");
        json_object_del(rec, "totp_secret");
        store_result_json(res, 200, json_incref(rec));
    }
out:
    json_decref(rec);
    json_decref(p);
    return rv;
}

/* ---- 55 mtoken_set: create {id, name, scopes, expires_ms, hash, created_by} or revoke
 * {id, revoked: true} ---- */

static int apply_mtoken_set(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                            struct fsm_result *res)
{
    const char *id;
    json_t *rec, *p = change_begin(f, txn, c, DB_MTOKENS, res, &id, &rec);
    if (!p)
        return 0;
    int rv = 0;
    if (json_object_size(p) == 2 && json_is_true(json_object_get(p, "revoked"))) {
        if (!rec) {
            no_such(res, "No such token", "machine token", id);
            goto out;
        }
        json_object_set_new(rec, "revoked", json_true());
        json_object_set_new(rec, "revoked_ms", json_integer((json_int_t)c->time_ms));
    } else {
        const char *name = store_str_max(p, "name", OPERATOR_NAME_MAX);
        const char *hash = store_str_max(p, "hash", 64);
        const char *by = store_str_max(p, "created_by", 80);
        uint64_t exp;
        if (!id_ok(id) || !name || !hash || strlen(hash) != 64 || !by ||
            !operator_scopes_valid(json_object_get(p, "scopes")) ||
            !store_u64(p, "expires_ms", 1, &exp) || exp <= c->time_ms ||
            json_object_size(p) != 6) {
            fsm_result_problem(res, 422, "Invalid machine token",
                               "a machine token needs id, name, scopes, a future expires_ms, "
                               "a SHA-256 hash and created_by, and nothing else");
            goto out;
        }
        if (rec) {
            fsm_result_problem(res, 409, "Token exists", "machine token '%s' already exists",
                               id);
            goto out;
        }
        rec = json_deep_copy(p);
        json_object_set_new(rec, "revoked", json_false());
        json_object_set_new(rec, "created_ms", json_integer((json_int_t)c->time_ms));
    }
    if ((rv = store_put_json(txn, db(f, DB_MTOKENS), id, strlen(id), rec, NULL)) == 0) {
        json_t *out = json_deep_copy(rec);
        json_object_del(out, "hash");
        store_result_json(res, json_object_get(p, "hash") ? 201 : 200, out);
    }
out:
    json_decref(rec);
    json_decref(p);
    return rv;
}

/* ---- 56 admin: the wrapped command runs, then its audit record is appended in the same
 * transaction ----
 *
 * Two forms of payload are applied alike. The node writes the text form (operators_admin_wrap):
 * "@admin1;" TYPE ";" then four netstrings LEN ":" BYTES (actor kind, actor id, method, route,
 * printable ASCII without '"' or '\'), then the wrapped command's payload verbatim, so that
 * wrapping parses and writes no JSON. Log entries written before it carry the JSON form
 * {actor{kind, id}, method, route, type, payload}. The wrapped payload is parsed once, here,
 * and handed to the wrapped apply (cmd.parsed). The record's "fields" are that payload with
 * every secret-named field redacted (audit_redact); when the payload's text holds none of the
 * secret words and no escape, nothing can be redacted and its text is the fields as they are.
 * The record is written as text, with its keys in the order store_put_json sorts them. */

#define ADMIN_TEXT_TAG "@admin1;"

struct admin_hdr {
    const char *kind, *id, *method, *route;
    size_t kind_len, id_len, method_len, route_len;
    uint64_t type;
};

/* Bytes the text form carries as they are; anything else travels as %XX. */
static bool admin_plain(unsigned char ch)
{
    return ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\';
}

static size_t admin_put(char *out, const char *s, size_t n)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (admin_plain(ch))
            out[m++] = (char)ch;
        else {
            out[m++] = '%';
            out[m++] = hexd[ch >> 4];
            out[m++] = hexd[ch & 15];
        }
    }
    return m;
}

char *operators_admin_wrap(const char *kind, const char *id, const char *method,
                           size_t method_len, const char *route, size_t route_len,
                           uint16_t type, const char *payload, size_t len, size_t *out_len)
{
    const char *f[4] = {kind, id, method, route};
    size_t fl[4] = {strlen(kind), strlen(id), method_len, route_len};
    size_t cap = sizeof ADMIN_TEXT_TAG + 8 + len;
    for (int i = 0; i < 4; i++)
        cap += 12 + 3 * fl[i];
    char *out = malloc(cap), enc[3 * 1024];
    if (!out)
        return NULL;
    size_t n = (size_t)snprintf(out, cap, ADMIN_TEXT_TAG "%u;", (unsigned)type);
    for (int i = 0; i < 4; i++) {
        /* Longer than any header field may be: left empty, so that the apply refuses it. */
        size_t el = fl[i] <= 1024 ? admin_put(enc, f[i], fl[i]) : 0;
        n += (size_t)snprintf(out + n, cap - n, "%zu:", el);
        memcpy(out + n, enc, el);
        n += el;
    }
    memcpy(out + n, payload, len);
    n += len;
    out[n] = 0;
    *out_len = n;
    return out;
}

/* One netstring of the text form: LEN ":" BYTES, 1..@max printable bytes. */
static bool admin_field(const char **p, const char *end, size_t max, const char **s, size_t *n)
{
    size_t v = 0, digits = 0;
    while (*p < end && **p >= '0' && **p <= '9' && digits < 5) {
        v = v * 10 + (size_t)(**p - '0');
        (*p)++;
        digits++;
    }
    if (!digits || *p >= end || **p != ':' || v < 1 || v > max || (size_t)(end - *p - 1) < v)
        return false;
    *s = ++(*p);
    *n = v;
    for (size_t i = 0; i < v; i++)
        if (!admin_plain((unsigned char)(*s)[i]))
            return false;
    *p += v;
    return true;
}

/* The text form's header; *@inner / *@inner_len: the wrapped payload's text. */
static bool admin_parse_text(const struct cmd *c, struct admin_hdr *h, const char **inner,
                             size_t *inner_len)
{
    const char *p = c->payload, *end = c->payload + c->payload_len;
    size_t tag = sizeof ADMIN_TEXT_TAG - 1;
    if (c->payload_len < tag || memcmp(p, ADMIN_TEXT_TAG, tag) != 0)
        return false;
    p += tag;
    uint64_t t = 0;
    size_t digits = 0;
    while (p < end && *p >= '0' && *p <= '9' && digits < 6) {
        t = t * 10 + (uint64_t)(*p++ - '0');
        digits++;
    }
    if (!digits || p >= end || *p++ != ';')
        return false;
    h->type = t;
    if (!admin_field(&p, end, 32, &h->kind, &h->kind_len) ||
        !admin_field(&p, end, 160, &h->id, &h->id_len) ||
        !admin_field(&p, end, 16, &h->method, &h->method_len) ||
        !admin_field(&p, end, 512, &h->route, &h->route_len))
        return false;
    *inner = p;
    *inner_len = (size_t)(end - p);
    return true;
}

/* The JSON form's header (strings borrowed from @p) and its wrapped payload (borrowed). */
static json_t *admin_parse_json(json_t *p, struct admin_hdr *h)
{
    json_t *actor = json_object_get(p, "actor");
    json_t *inner = json_object_get(p, "payload");
    h->kind = store_str_max(actor, "kind", 32);
    h->id = store_str_max(actor, "id", 160);
    h->method = store_str_max(p, "method", 16);
    h->route = store_str_max(p, "route", 512);
    if (!json_is_object(actor) || !h->kind || !h->id || !h->method || !h->route ||
        !json_is_object(inner) || !store_u64(p, "type", 1, &h->type))
        return NULL;
    h->kind_len = strlen(h->kind);
    h->id_len = strlen(h->id);
    h->method_len = strlen(h->method);
    h->route_len = strlen(h->route);
    return inner;
}

/* The record's "fields": the wrapped payload's own text when nothing in it can be redacted,
 * else audit_redact's copy. Called before the wrapped apply, which may change @inner. */
static char *audit_fields(json_t *inner, const char *raw, size_t raw_len)
{
    /* One pass: at each letter that starts a secret word, compare the words it starts. */
    bool plain = raw != NULL;
    for (size_t i = 0; plain && i < raw_len; i++) {
        unsigned char ch = (unsigned char)raw[i];
        if (ch == '\\') {
            plain = false;
            continue;
        }
        if (!secret_first[ch])
            continue;
        for (const char *const *w = secret_words; plain && *w; w++) {
            size_t wl = strlen(*w);
            if ((unsigned char)(*w)[0] == ch && wl <= raw_len - i && !memcmp(raw + i, *w, wl))
                plain = false;
        }
    }
    if (plain) {
        char *t = malloc(raw_len + 1);
        if (t) {
            memcpy(t, raw, raw_len);
            t[raw_len] = 0;
        }
        return t;
    }
    json_t *red = audit_redact(inner);
    char *t = json_dumps(red, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(red);
    return t;
}

static size_t put_lit(char *out, const char *s)
{
    size_t n = strlen(s);
    memcpy(out, s, n);
    return n;
}

static size_t put_u64(char *out, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* The audit record, as store_put_json would write it (keys sorted), without building it. */
static int audit_append(struct fsm *f, MDB_txn *txn, const struct cmd *c,
                        const struct admin_hdr *h, const char *command, const char *fields,
                        int status)
{
    uint64_t seq = fsm_meta_get(f, txn, AUDIT_SEQ_KEY) + 1;
    char tb[32];
    fsm_format_time(c->time_ms, tb);
    size_t cap = 256 + strlen(command) + strlen(fields) + strlen(tb) +
                 6 * (h->kind_len + h->id_len + h->method_len + h->route_len);
    char *rec = malloc(cap);
    if (!rec)
        return ENOMEM;
    size_t n = put_lit(rec, "{\"actor\":{\"id\":");
    n += store_json_str(rec + n, h->id, h->id_len);
    n += put_lit(rec + n, ",\"kind\":");
    n += store_json_str(rec + n, h->kind, h->kind_len);
    n += put_lit(rec + n, "},\"command\":");
    n += store_json_str(rec + n, command, strlen(command));
    n += put_lit(rec + n, ",\"fields\":");
    n += put_lit(rec + n, fields);
    n += put_lit(rec + n, ",\"method\":");
    n += store_json_str(rec + n, h->method, h->method_len);
    n += put_lit(rec + n, status < 400 ? ",\"outcome\":\"applied\",\"route\":"
                                       : ",\"outcome\":\"refused\",\"route\":");
    n += store_json_str(rec + n, h->route, h->route_len);
    n += put_lit(rec + n, ",\"seq\":");
    n += put_u64(rec + n, seq);
    n += put_lit(rec + n, ",\"status\":");
    n += put_u64(rec + n, status > 0 ? (uint64_t)status : 0);
    n += put_lit(rec + n, ",\"time\":");
    n += store_json_str(rec + n, tb, strlen(tb));
    n += put_lit(rec + n, ",\"time_ms\":");
    n += put_u64(rec + n, c->time_ms);
    rec[n++] = '}';
    uint8_t k8[8];
    store_be64_put(k8, seq);
    MDB_val k = {8, k8}, v = {n, rec};
    int rv = mdb_put(txn, db(f, DB_AUDIT), &k, &v, 0);
    free(rec);
    return rv ? rv : fsm_meta_put(f, txn, AUDIT_SEQ_KEY, seq);
}

unsigned operators_admin_type(const char *payload, size_t len)
{
    struct admin_hdr h = {0};
    struct cmd c = {.type = CMD_ADMIN, .payload = payload, .payload_len = len};
    const char *raw;
    size_t raw_len;
    if (len && payload[0] == '@')
        return admin_parse_text(&c, &h, &raw, &raw_len) && h.type <= CMD_TYPE_MAX
                   ? (unsigned)h.type
                   : 0;
    json_t *p = json_loadb(payload, len, 0, NULL);
    unsigned t = admin_parse_json(p, &h) && h.type <= CMD_TYPE_MAX ? (unsigned)h.type : 0;
    json_decref(p);
    return t;
}

static int apply_admin(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    struct admin_hdr h = {0};
    json_t *wrapper = NULL, *inner = NULL;
    const char *raw = NULL;
    size_t raw_len = 0;
    char *text = NULL, *fields = NULL;
    int rv = 0;
    const struct fsm_command *row = NULL;
    if (c->payload_len && c->payload[0] == '@') {
        if (admin_parse_text(c, &h, &raw, &raw_len))
            inner = json_loadb(raw, raw_len, 0, NULL);
    } else if ((wrapper = store_payload(c, true, res)) != NULL) {
        inner = json_incref(admin_parse_json(wrapper, &h));
    } else {
        return 0;
    }
    if (!json_is_object(inner) || h.type == CMD_ADMIN || h.type > CMD_TYPE_MAX ||
        !(row = cmdtable_find((unsigned)h.type)) || !row->batchable) {
        /* The admin command is batchable (it shares a Raft entry with other writes, as the
         * command it wraps would), so what it wraps must be batchable too. */
        fsm_result_clear(res);
        fsm_result_problem(res, 422, "Invalid admin command",
                           "an admin command needs actor {kind, id}, method, route, a known "
                           "batchable type other than admin and an object payload");
        goto out;
    }
    if (!raw && (text = json_dumps(inner, JSON_COMPACT)) != NULL) {
        raw = text;
        raw_len = strlen(text);
    }
    if (!raw || !(fields = audit_fields(inner, wrapper ? NULL : raw, raw_len))) {
        rv = ENOMEM;
        goto out;
    }
    struct cmd sub = {.type = (uint16_t)h.type, .time_ms = c->time_ms, .payload = raw,
                      .payload_len = raw_len, .parsed = inner};
    rv = row->apply(f, txn, &sub, res);
    fsm_report_type(f, (unsigned)h.type);
    if (rv == 0)
        rv = audit_append(f, txn, c, &h, row->name, fields, res->status);
out:
    free(fields);
    free(text);
    json_decref(inner);
    json_decref(wrapper);
    return rv;
}

static const struct fsm_command COMMANDS[] = {
    {CMD_OPERATOR_ADD, "operator_add", true, apply_operator_add, NULL},
    {CMD_OPERATOR_SET, "operator_set", true, apply_operator_set, NULL},
    {CMD_MTOKEN_SET, "mtoken_set", true, apply_mtoken_set, NULL},
    {CMD_ADMIN, "admin", true, apply_admin, NULL},
    {0, NULL, false, NULL, NULL},
};

static const char *const DBS[] = {"operators", "operator_emails", "machine_tokens", "audit",
                                  NULL};

const struct fsm_domain operators_domain = {"operators", COMMANDS, DBS};
