/* Cash-out on a sport node (issue 12): the offer is read from this node's applied state, the
 * accept travels the one write path as CMD_BET_CASHOUT and is decided in the state machine
 * (consensus/bets_cashout.c).
 *
 *   GET  /v1/bets/{id}/cashout           the offer (any node; no Idempotency-Key needed)
 *   POST /v1/bets/{id}/cashout           with no body (or {}): the offer, as GET
 *   POST /v1/bets/{id}/cashout {offer, amount, versions}  with an Idempotency-Key: accept it
 *   GET|POST /admin/v1/bets/cashout      (admin; POST with an Idempotency-Key, on the leader)
 *                                        the switch and settings {enabled?, margin_bp?,
 *                                        validity_ms?}
 *
 * Happy path: the offer {bet_id, offer, amount, versions, expires_ms, expires_at, fair_value,
 * margin_bp, legs} carries "offer" = "o<expires_ms>.<tag>", the tag an HMAC-SHA256 (members'
 * secret, first 16 bytes) over the bet, the player, the amount, the versions and the expiry
 * (this node's clock + the replicated validity_ms), so any node of the cluster can take the
 * accept back and no player can stretch an expiry or change an amount; the state machine checks
 * the expiry against the leader-stamped time of the command, and the amount and versions
 * against its own state at that index.
 *
 * Failure modes: an offer this cluster did not make or that was altered: 422 invalid_offer; a
 * malformed body: 422 invalid_cashout; everything else is the state machine's refusal
 * (no_bet, bet_not_open, cashout_off, cashout_expired, market_suspended, betting_closed,
 * cashout_unavailable, price_changed), relayed as it is. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/bets.h"
#include "consensus/fsm.h"
#include "node/accounts_common.h"
#include "node/auth.h"
#include "node/http_guard.h"
#include "node/routes.h"
#include "node/write.h"

#define TAG_BYTES 16

static uint64_t wall_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* The offer token "o<expires_ms>.<hex tag>" for these terms (@versions borrowed). */
static bool offer_token(struct node *n, const char *bet_id, const char *player, uint64_t amount,
                        json_t *versions, uint64_t expires_ms, char out[96])
{
    char *vs = json_dumps(versions, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!vs)
        return false;
    size_t need = strlen(bet_id) + strlen(player) + strlen(vs) + 96;
    char *msg = malloc(need);
    if (!msg) {
        free(vs);
        return false;
    }
    int len = snprintf(msg, need, "parlay-cashout-v1\n%s\n%s\n%llu\n%s\n%llu", bet_id, player,
                       (unsigned long long)amount, vs, (unsigned long long)expires_ms);
    free(vs);
    uint8_t mac[32];
    unsigned mlen = sizeof mac;
    HMAC(EVP_sha256(), n->cfg.cluster_secret, sizeof n->cfg.cluster_secret, (uint8_t *)msg,
         (size_t)len, mac, &mlen);
    free(msg);
    int o = snprintf(out, 96, "o%llu.", (unsigned long long)expires_ms);
    for (int i = 0; i < TAG_BYTES; i++)
        o += snprintf(out + o, 96 - (size_t)o, "%02x", mac[i]);
    return true;
}

/* The player's offer for bet @id, answered (200 with the token, or the state's refusal). */
static void offer(struct http_req *r, const char *player, const char *id)
{
    MDB_txn *txn;
    if (!routes_read_begin(r, &txn))
        return;
    int st = 0;
    json_t *o = bets_cashout_offer(r->node->fsm, txn, id, player, &st);
    fsm_read_end(txn);
    if (st == 200) {
        uint64_t exp =
            wall_ms() + (uint64_t)json_integer_value(json_object_get(o, "validity_ms"));
        char tok[96], ts[32];
        if (!offer_token(r->node, id, player,
                         (uint64_t)json_integer_value(json_object_get(o, "amount")),
                         json_object_get(o, "versions"), exp, tok)) {
            json_decref(o);
            http_problem(r, 500, "Out of memory", "the offer could not be prepared");
            return;
        }
        fsm_format_time(exp, ts);
        json_object_set_new(o, "offer", json_string(tok));
        json_object_set_new(o, "expires_ms", json_integer((json_int_t)exp));
        json_object_set_new(o, "expires_at", json_string(ts));
        http_reply_json(r, 200, o);
        return;
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    acc_relay(r, st, text ? text : "{}", NULL, false);
    free(text);
}

/* POST {offer, amount, versions}: check the token, then propose CMD_BET_CASHOUT. */
static void offer_accept(struct http_req *r, const char *player, const char *id, json_t *body)
{
    char idem[256];
    if (!acc_player_idem_key(r, player, idem))
        return;
    const char *tok = json_string_value(json_object_get(body, "offer"));
    json_t *amount = json_object_get(body, "amount"), *versions = json_object_get(body, "versions");
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (strcmp(k, "offer") && strcmp(k, "amount") && strcmp(k, "versions")) {
            http_guard_problem(r, 422, "Invalid cash-out", "invalid_cashout",
                               "unknown field '%s' (offer, amount, versions)", k);
            return;
        }
    }
    if (!tok || !json_is_integer(amount) || json_integer_value(amount) < 1 ||
        !json_is_array(versions) || json_array_size(versions) > BET_LEGS_MAX) {
        http_guard_problem(r, 422, "Invalid cash-out", "invalid_cashout",
                           "need {offer, amount, versions} as the offer gave them "
                           "(GET /v1/bets/%s/cashout)",
                           id);
        return;
    }
    char *end;
    unsigned long long exp = tok[0] == 'o' ? strtoull(tok + 1, &end, 10) : 0;
    char want[96];
    if (!exp || *end != '.' ||
        !offer_token(r->node, id, player, (uint64_t)json_integer_value(amount), versions,
                     (uint64_t)exp, want) ||
        strlen(tok) != strlen(want) || CRYPTO_memcmp(tok, want, strlen(want)) != 0) {
        http_guard_problem(r, 422, "Invalid offer", "invalid_offer",
                           "this offer was not made by this cluster for bet '%s' at that amount "
                           "and those versions: ask for a new one",
                           id);
        return;
    }
    struct cmd c;
    char *text = bets_cmd_cashout(&c, id, player, (uint64_t)json_integer_value(amount), versions,
                                  (uint64_t)exp);
    char subj[160];
    snprintf(subj, sizeof subj, "%s %s", id, tok);
    routes_submit(r, CMD_BET_CASHOUT, text, "bet-cashout", subj, idem, "cash-out");
}

static void player_cashout(struct http_req *r, const char *method, const char *id)
{
    if (strcmp(method, "GET") && strcmp(method, "POST")) {
        http_header(r, "allow", "GET, POST");
        http_problem(r, 405, "Method not allowed", "/v1/bets/{id}/cashout takes GET or POST");
        return;
    }
    json_t *claims = auth_player(r);
    if (!claims)
        return;
    const char *player = json_string_value(json_object_get(claims, "sub"));
    json_t *body = NULL;
    if (!player) {
        http_problem(r, 401, "Unauthorized", "the access token names no player");
    } else if (!strcmp(method, "GET") || !r->req->entity.base || r->req->entity.len == 0) {
        offer(r, player, id);
    } else if ((body = routes_body(r))) {
        if (json_object_size(body) == 0)
            offer(r, player, id);
        else
            offer_accept(r, player, id, body);
    }
    json_decref(body);
    json_decref(claims);
}

static json_t *settings_read(struct fsm *f, MDB_txn *txn)
{
    struct bet_cashout_cfg cfg;
    bets_cashout_cfg_get(f, txn, &cfg);
    return bets_cashout_cfg_json(&cfg);
}

static void settings_post(struct http_req *r, json_t *b, const char *idem)
{
    struct cmd c;
    char *text = bets_cmd_cashout_set(&c, b);
    routes_submit_body(r, CMD_BET_CASHOUT_SET, text, b, "bet-cashout-set", idem, "settings");
}

int routes_cashout(struct http_req *r, const char *method, const char *path)
{
    if (!strcmp(path, "/admin/v1/bets/cashout")) {
        routes_settings(r, method, "/admin/v1/bets/cashout", "bets", settings_read,
                        settings_post);
        return 0;
    }
    static const char pre[] = "/v1/bets/", suf[] = "/cashout";
    size_t n = strlen(path), pl = sizeof pre - 1, sl = sizeof suf - 1;
    if (n <= pl + sl || strncmp(path, pre, pl) || strcmp(path + n - sl, suf))
        return -1;
    size_t idl = n - pl - sl;
    if (idl >= BET_ID_MAX || memchr(path + pl, '/', idl))
        return -1;
    char id[BET_ID_MAX];
    snprintf(id, sizeof id, "%.*s", (int)idl, path + pl);
    player_cashout(r, method, id);
    return 0;
}
