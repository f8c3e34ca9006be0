/* Accounts, identity: FranceConnect links and sign-ins, document-check sessions and their
 * webhooks' decisions, operators' KYC decisions, and the KYC history they write. The same
 * rules as consensus/accounts.c (see its opening comment and accounts.h): validate everything,
 * then write; a refusal leaves nothing behind; the leader's time only. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "consensus/accounts_internal.h"
#include "consensus/cmdtable.h"

/* ---- KYC status history ---- */

static void kyc_history(json_t *p, const char *ts, const char *source, const char *status,
                        const char *detail)
{
    json_t *h = json_object_get(p, "kyc_history");
    if (!json_is_array(h)) {
        h = json_array();
        json_object_set_new(p, "kyc_history", h);
    }
    json_t *e = json_pack("{s:s, s:s, s:s}", "at", ts, "source", source, "status", status);
    if (detail)
        json_object_set_new(e, "detail", json_string(detail));
    json_array_append_new(h, e);
}

/* ---- FranceConnect ---- */

json_t *accounts_fc_login_get(struct fsm *f, MDB_txn *txn, const char *state)
{
    return store_get_json(txn, DB(f)->fc_logins, state, strlen(state));
}

static bool token_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 22 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return false;
    return true;
}

static bool fc_start_valid(json_t *b)
{
    bool signin = json_is_true(json_object_get(b, "signin"));
    return token_ok(store_str(b, "state")) && token_ok(store_str(b, "nonce")) &&
           store_str(b, "authorize_url") && !(signin && store_str(b, "player_id"));
}

static int fc_start(struct acc_op *op)
{
    const char *state = store_str(op->body, "state");
    bool signin = json_is_true(json_object_get(op->body, "signin"));
    if (!signin && !(op->p = acc_need_player(op->f, op->txn, op->id, op->res)))
        return 0;
    json_t *old = accounts_fc_login_get(op->f, op->txn, state);
    if (old) {
        json_decref(old);
        fsm_result_problem(op->res, 409, "Login exists", "this state is already used");
        return 0;
    }
    json_t *l = json_pack("{s:s, s:s, s:s, s:b}", "player_id", signin ? "" : op->id, "nonce",
                          store_str(op->body, "nonce"), "created_at", op->ts, "used", 0);
    if (signin)
        json_object_set_new(l, "signin", json_true());
    int rv = store_put_json(op->txn, DB(op->f)->fc_logins, state, strlen(state), l, NULL);
    json_decref(l);
    if (rv == 0)
        store_result_json(op->res, 201, json_pack("{s:s}", "authorize_url",
                                                  store_str(op->body, "authorize_url")));
    return rv;
}

static int put_identity(MDB_txn *txn, MDB_dbi dbi, const char *prefix, const char *key,
                        const char *val)
{
    char k[512];
    snprintf(k, sizeof k, "%s%s", prefix, key);
    return store_put_str(txn, dbi, k, val);
}

static json_t *get_identity(MDB_txn *txn, MDB_dbi dbi, const char *prefix, const char *key)
{
    char k[512];
    snprintf(k, sizeof k, "%s%s", prefix, key);
    MDB_val kv = {strlen(k), k}, v;
    if (mdb_get(txn, dbi, &kv, &v) != 0)
        return NULL;
    return json_stringn(v.mv_data, v.mv_size);
}

static bool fc_link_valid(json_t *b)
{
    const char *idkey = store_str(b, "idkey");
    json_t *ident = json_object_get(b, "identity");
    const char *iss = store_str(ident, "issuer"), *sub = store_str(ident, "sub");
    return token_ok(store_str(b, "state")) && idkey && hex_is(idkey, 64) &&
           json_is_object(ident) && iss && sub && *sub && strlen(iss) + strlen(sub) <= 400 &&
           json_is_boolean(json_object_get(b, "adult"));
}

/* The identity's owners as recorded: by identity key and by provider subject. */
struct fc_owners {
    json_t *by_key, *by_sub;
    char subkey[420];
};

/* A verified identity: on the player, and both owner records. */
static int fc_link_record(struct acc_op *op, json_t *ident, const char *idkey,
                          const struct fc_owners *own)
{
    const char *id = op->id;
    json_t *rec = json_deep_copy(ident);
    json_object_set_new(rec, "idkey", json_string(idkey));
    json_object_set_new(rec, "verified_at", json_string(op->ts));
    json_object_set_new(rec, "method", json_string("franceconnect"));
    json_object_set_new(op->p, "identity", rec);
    json_object_set_new(op->p, "kyc_status", json_string("verified"));
    kyc_history(op->p, op->ts, "franceconnect", "verified", NULL);
    acc_bump_version(op->p);
    const char *family = store_str(ident, "family_name");
    json_t *result = json_pack("{s:s, s:s, s:s, s:s}", "player_id", id, "kyc_status",
                               "verified", "family_name", family ? family : "", "verified_at",
                               op->ts);
    int rv = put_identity(op->txn, DB(op->f)->identities, "key:", idkey, id);
    if (rv == 0)
        rv = put_identity(op->txn, DB(op->f)->identities, "sub:", own->subkey, id);
    if (rv != 0) {
        json_decref(result);
        return rv;
    }
    return acc_save_player(op, 201, result);
}

/* After the login checks: spend the state, then refuse a minor, an identity in use or another
 * identity, else link. */
static int fc_link_decide(struct acc_op *op, json_t *login, const struct fc_owners *own)
{
    const char *id = op->id, *state = store_str(op->body, "state"),
               *idkey = store_str(op->body, "idkey");
    /* From here on the state is spent, whatever the verdict. */
    json_object_set_new(login, "used", json_true());
    int rv = store_put_json(op->txn, DB(op->f)->fc_logins, state, strlen(state), login, NULL);
    if (rv != 0)
        return rv;
    bool minor = !json_is_true(json_object_get(op->body, "adult"));
    if (minor || (own->by_key && !strcmp(json_string_value(own->by_key), "minor"))) {
        if ((rv = put_identity(op->txn, DB(op->f)->identities, "key:", idkey, "minor")) == 0)
            fsm_result_problem(op->res, 403, "Under 18",
                               "betting is for adults only: this identity is refused for good");
        return rv;
    }
    if ((own->by_key && strcmp(json_string_value(own->by_key), id) != 0) ||
        (own->by_sub && strcmp(json_string_value(own->by_sub), id) != 0)) {
        fsm_result_problem(op->res, 409, "Identity in use",
                           "this identity already holds an account; one person, one account");
        return 0;
    }
    json_t *have = json_object_get(op->p, "identity");
    if (have && strcmp(store_str(have, "idkey") ? store_str(have, "idkey") : "", idkey) != 0) {
        fsm_result_problem(op->res, 409, "Another identity",
                           "this account is already verified with another identity");
        return 0;
    }
    return fc_link_record(op, json_object_get(op->body, "identity"), idkey, own);
}

/* The login must be this player's unused link (not a sign-in); then the player must exist. */
static int fc_link_login(struct acc_op *op, json_t *login)
{
    const char *id = op->id;
    if (!login || json_is_true(json_object_get(login, "signin")) ||
        strcmp(store_str(login, "player_id"), id ? id : "") != 0) {
        fsm_result_problem(op->res, 400, "Unknown state", "this sign-in was not started here");
        return 0;
    }
    if (json_is_true(json_object_get(login, "used"))) {
        fsm_result_problem(op->res, 409, "State already used",
                           "this sign-in was already completed");
        return 0;
    }
    if (!(op->p = acc_need_player(op->f, op->txn, id, op->res)))
        return 0;
    json_t *ident = json_object_get(op->body, "identity");
    struct fc_owners own;
    snprintf(own.subkey, sizeof own.subkey, "%s %s", store_str(ident, "issuer"),
             store_str(ident, "sub"));
    own.by_key = get_identity(op->txn, DB(op->f)->identities, "key:",
                              store_str(op->body, "idkey"));
    own.by_sub = get_identity(op->txn, DB(op->f)->identities, "sub:", own.subkey);
    int rv = fc_link_decide(op, login, &own);
    json_decref(own.by_key);
    json_decref(own.by_sub);
    return rv;
}

static int fc_link(struct acc_op *op)
{
    json_t *login = accounts_fc_login_get(op->f, op->txn, store_str(op->body, "state"));
    int rv = fc_link_login(op, login);
    json_decref(login);
    return rv;
}

json_t *accounts_identity_player(struct fsm *f, MDB_txn *txn, const char *issuer,
                                 const char *sub)
{
    char subkey[420];
    snprintf(subkey, sizeof subkey, "%s %s", issuer, sub);
    return get_identity(txn, DB(f)->identities, "sub:", subkey);
}

/* A FranceConnect sign-in: the login must be an unused sign-in and the subject linked to @id.
 * Spends the state. Returns an LMDB error or 0 (res set on a refusal). */
int fc_signin_spend(struct fsm *f, MDB_txn *txn, const char *id, const char *state,
                           const char *subkey, struct fsm_result *res)
{
    json_t *login = token_ok(state) ? accounts_fc_login_get(f, txn, state) : NULL;
    json_t *owner = subkey ? get_identity(txn, DB(f)->identities, "sub:", subkey) : NULL;
    int rv = 0;
    if (!login || !json_is_true(json_object_get(login, "signin")))
        fsm_result_problem(res, 400, "Unknown state", "this sign-in was not started here");
    else if (json_is_true(json_object_get(login, "used")))
        fsm_result_problem(res, 409, "State already used", "this sign-in was already completed");
    else if (!owner || strcmp(json_string_value(owner), id) != 0)
        fsm_result_problem(res, 404, "No linked account",
                           "no account is linked to this FranceConnect identity");
    else {
        json_object_set_new(login, "used", json_true());
        rv = store_put_json(txn, DB(f)->fc_logins, state, strlen(state), login, NULL);
    }
    json_decref(owner);
    json_decref(login);
    return rv;
}

/* ---- document checks ---- */

static bool name_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static bool doc_session_valid(json_t *b)
{
    return name_ok(store_str(b, "provider"), 64) && name_ok(store_str(b, "session_id"), 128) &&
           store_str(b, "url");
}

static int doc_session(struct acc_op *op)
{
    const char *prov = store_str(op->body, "provider"), *sid = store_str(op->body, "session_id");
    const char *st = store_str(op->p, "kyc_status");
    if (st && (!strcmp(st, "verified") || !strcmp(st, "declined"))) {
        fsm_result_problem(op->res, 409, "KYC decided", "this player's identity check is %s", st);
        return 0;
    }
    json_object_set_new(op->p, "kyc_status", json_string("pending"));
    kyc_history(op->p, op->ts, prov, "pending", sid);
    return acc_save_player(op, 201, json_pack("{s:s, s:s, s:s}", "provider", prov, "session_id", sid,
                                          "url", store_str(op->body, "url")));
}

static bool doc_event_valid(json_t *b)
{
    static const char *const statuses[] = {"pending", "approved", "declined", "retry",
                                           "manual_review", NULL};
    const char *status = store_str(b, "status");
    bool known = false;
    for (const char *const *s = statuses; status && *s; s++)
        known = known || !strcmp(*s, status);
    return name_ok(store_str(b, "provider"), 64) && name_ok(store_str(b, "event_id"), 128) &&
           known;
}

static int doc_event(struct acc_op *op)
{
    const char *prov = store_str(op->body, "provider"), *ev = store_str(op->body, "event_id"),
               *status = store_str(op->body, "status");
    char k[256];
    snprintf(k, sizeof k, "%s %s", prov, ev);
    json_t *seen = store_get_json(op->txn, DB(op->f)->doc_events, k, strlen(k));
    if (seen) {
        json_object_set_new(seen, "duplicate", json_true());
        store_result_json(op->res, 200, seen); /* processed once: a replay changes nothing */
        return 0;
    }
    op->id = store_str(op->body, "reference");
    if (!(op->p = acc_need_player(op->f, op->txn, op->id, op->res)))
        return 0;
    const char *now = store_str(op->p, "kyc_status");
    const char *next = !strcmp(status, "approved") ? "verified" : status;
    /* Decisions are final: verified and declined are not undone by a later event. */
    bool final = now && (!strcmp(now, "verified") || !strcmp(now, "declined"));
    json_t *result = json_pack("{s:s, s:s, s:b}", "player_id", op->id, "kyc_status",
                               final ? now : next, "duplicate", 0);
    if (!final)
        json_object_set_new(op->p, "kyc_status", json_string(next));
    kyc_history(op->p, op->ts, prov, status, ev);
    json_t *rec = json_pack("{s:s, s:s, s:s}", "player_id", op->id, "status", status, "at",
                            op->ts);
    int rv = store_put_json(op->txn, DB(op->f)->doc_events, k, strlen(k), rec, NULL);
    json_decref(rec);
    if (rv != 0) {
        json_decref(result);
        return rv;
    }
    return acc_save_player(op, 200, result);
}

/* ---- operator decisions ---- */

bool accounts_kyc_status_valid(const char *status)
{
    static const char *const ok[] = {"verified", "declined", "retry", "manual_review", "pending",
                                     NULL};
    for (const char *const *k = ok; status && *k; k++)
        if (!strcmp(*k, status))
            return true;
    return false;
}

static bool kyc_override_valid(json_t *b)
{
    const char *reason = store_str(b, "reason");
    return accounts_kyc_status_valid(store_str(b, "status")) && reason && strlen(reason) >= 3 &&
           strlen(reason) <= 500;
}

static int kyc_override(struct acc_op *op)
{
    const char *status = store_str(op->body, "status"), *reason = store_str(op->body, "reason");
    json_object_set_new(op->p, "kyc_status", json_string(status));
    kyc_history(op->p, op->ts, "operator", status, reason);
    acc_bump_version(op->p);
    return acc_save_player(op, 200, json_pack("{s:s, s:s, s:s}", "player_id", op->id, "kyc_status",
                                          status, "reason", reason));
}

const struct acc_shape acc_shape_fc_start = {
    fc_start_valid, "Invalid login",
    "the command needs state, nonce, URL and a player (to link) or signin: true", false,
    fc_start};

const struct acc_shape acc_shape_fc_link = {
    fc_link_valid, "Invalid link",
    "the command needs state, identity (issuer, sub), idkey and adult", false, fc_link};

const struct acc_shape acc_shape_doc_session = {doc_session_valid, "Invalid session",
                                             "the command needs provider, session_id and url",
                                             true, doc_session};

const struct acc_shape acc_shape_doc_event = {
    doc_event_valid, "Invalid event",
    "the command needs provider, event_id and a mapped status", false, doc_event};

const struct acc_shape acc_shape_kyc_override = {
    kyc_override_valid, "Invalid decision",
    "a status (verified, declined, retry, manual_review, pending) and a reason of 3 to 500 "
    "characters are required",
    true, kyc_override};
