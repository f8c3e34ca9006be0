/* The operator's side of the accounts (admin token): see players, record a KYC decision.
 * Each decision is made on the leader and logged. */
#include <cjose/cjose.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/accounts_common.h"
#include "node/auth.h"
#include "common/log.h"
#include "node/query.h"
#include "node/routes.h"

void acc_serve_players_admin(struct http_req *r)
{
    char email[ACCOUNTS_EMAIL_MAX + 2], norm[ACCOUNTS_EMAIL_MAX + 1];
    MDB_txn *txn;
    if (fsm_read_begin(r->node->fsm, &txn) != 0) {
        http_problem(r, 500, "Storage error", "the state machine could not be read");
        return;
    }
    json_t *out;
    char kyc[24], after[ACCOUNTS_ID_CHARS + 2], limit_s[8];
    struct query_want w[] = {{"email", email, sizeof email, 0}, {"kyc", kyc, sizeof kyc, 0},
                             {"after", after, sizeof after, 0}, {"limit", limit_s, sizeof limit_s, 0}};
    if (query_params(r, w, 4) < 0) { /* too long: 400, never a wider query */
        fsm_read_end(txn);
        return;
    }
    int got_email = w[0].got;
    long limit = 50;
    if (w[3].got) {
        char *e;
        limit = strtol(limit_s, &e, 10);
        if (*e || limit < 1 || limit > 500) {
            fsm_read_end(txn);
            http_problem(r, 400, "Bad query parameter", "'limit' must be an integer from 1 to 500");
            return;
        }
    }
    if (w[1].got && (got_email || !(accounts_kyc_status_valid(kyc) || !strcmp(kyc, "none")))) {
        fsm_read_end(txn);
        http_problem(r, 400, "Bad query parameter",
                     got_email ? "give 'email' or 'kyc', not both"
                               : "'kyc' must be one of verified, declined, retry, manual_review, "
                                 "pending, none");
        return;
    }
    if ((w[2].got || w[3].got) && !w[1].got) {
        fsm_read_end(txn);
        http_problem(r, 400, "Bad query parameter", "'after' and 'limit' page the 'kyc' queue only");
        return;
    }
    if (w[1].got) { /* the KYC review queue */
        char next[ACCOUNTS_ID_CHARS + 2];
        json_t *items = accounts_players_by_kyc(r->node->fsm, txn, kyc, w[2].got ? after : NULL,
                                                (unsigned)limit, next, sizeof next);
        out = json_pack("{s:o, s:s?}", "items", items, "next", next[0] ? next : NULL);
        if (!next[0])
            json_object_set_new(out, "next", json_null());
    } else if (got_email) {
        json_t *p = accounts_email_normalise(email, norm, sizeof norm) == 0
                        ? accounts_player_by_email(r->node->fsm, txn, norm)
                        : NULL;
        if (p)
            json_object_del(p, "password_hash");
        out = json_pack("{s:o}", "items", p ? json_pack("[o]", p) : json_array());
    } else {
        out = json_pack("{s:i}", "count", accounts_player_count(r->node->fsm, txn));
    }
    fsm_read_end(txn);
    http_reply_json(r, 200, out);
}

/* ---- operator ---- */

void acc_serve_player_admin(struct http_req *r)
{
    char id[ACCOUNTS_ID_CHARS + 2];
    size_t plen = r->req->query_at != SIZE_MAX ? r->req->query_at : r->req->path.len;
    size_t pre = strlen("/admin/v1/players/");
    snprintf(id, sizeof id, "%.*s", (int)(plen - pre), r->req->path.base + pre);
    MDB_txn *txn;
    json_t *p = NULL;
    if (accounts_player_id_valid(id) && fsm_read_begin(r->node->fsm, &txn) == 0) {
        p = accounts_player_get(r->node->fsm, txn, id);
        fsm_read_end(txn);
    }
    if (!p) {
        http_problem(r, 404, "No such player", "player '%s' does not exist", id);
        return;
    }
    json_object_del(p, "password_hash");
    http_reply_json(r, 200, p);
}

/* POST /admin/v1/players/{id}/kyc {status, reason}: an operator's decision, kept with its
 * reason in the player's history. */
/* The decision's JSON body with exactly the fields @names, or NULL (answered). */
static json_t *decision_body(struct http_req *r, const char *const *names)
{
    json_t *body = routes_body(r);
    if (body && !acc_fields(r, body, names)) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* What every operator decision on a player checks after its own fields: a reason of 3 to 500
 * characters, a player id, the Idempotency-Key, this node leading; false when answered. */
static bool decision_ok(struct http_req *r, const char *reason, const char *id, char idem[256])
{
    if (!reason || strlen(reason) < 3 || strlen(reason) > 500) {
        http_problem(r, 422, "Invalid reason", "field 'reason' must be 3 to 500 characters");
        return false;
    }
    if (!accounts_player_id_valid(id)) {
        http_problem(r, 404, "No such player", "player '%s' does not exist", id);
        return false;
    }
    return acc_idem_key(r, "admin", idem) && acc_on_leader(r);
}

void acc_do_kyc_override(struct http_req *r, const char *id)
{
    static const char *const names[] = {"status", "reason", NULL};
    json_t *body = decision_body(r, names);
    if (!body)
        return;
    char idem[256];
    const char *status = json_string_value(json_object_get(body, "status"));
    const char *reason = json_string_value(json_object_get(body, "reason"));
    if (!accounts_kyc_status_valid(status)) {
        http_problem(r, 422, "Invalid status",
                     "field 'status' must be verified, declined, retry, manual_review or "
                     "pending");
        goto out;
    }
    if (!decision_ok(r, reason, id, idem))
        goto out;
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    char what[64];
    snprintf(what, sizeof what, "kyc-override %s", id);
    LOG_INFO("event=admin_kyc_decision player=%s status=%s", id, status);
    acc_submit(r, CMD_KYC_OVERRIDE,
               json_pack("{s:s, s:s, s:s}", "player_id", id, "status", status, "reason", reason),
               idem, what, text);
    free(text);
out:
    json_decref(body);
}


/* POST /admin/v1/players/{id}/signout {reason}: an operator ends every session of a player
 * (CMD_SESSION_REVOKE_ALL with the reason kept on each session and in the audit trail); sport
 * nodes refuse the player's tokens once they have polled the revocation log. */
void acc_do_admin_signout(struct http_req *r, const char *id)
{
    static const char *const names[] = {"reason", NULL};
    json_t *body = decision_body(r, names);
    if (!body)
        return;
    char idem[256];
    const char *reason = json_string_value(json_object_get(body, "reason"));
    if (!decision_ok(r, reason, id, idem))
        goto out;
    char what[64];
    snprintf(what, sizeof what, "signout %s", id);
    char why[560];
    snprintf(why, sizeof why, "ended by an operator: %s", reason);
    LOG_INFO("event=admin_player_signout player=%s", id);
    acc_submit(r, CMD_SESSION_REVOKE_ALL, json_pack("{s:s, s:s}", "player_id", id, "reason", why),
               idem, what, reason);
out:
    json_decref(body);
}
