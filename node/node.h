/* One parlayd process: its configuration, the replica, the HTTP server and the shared pieces
 * the route handlers use. */
#ifndef PARLAY_NODE_H
#define PARLAY_NODE_H

#include <h2o.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "consensus/fsm.h"
#include "consensus/replica.h"
#include "node/config.h"
#include "node/metrics.h"

struct forwarder;
struct accounts;
struct auth;
struct agree;
struct quoter;
struct oracle_node;
struct stream;

/* One accepted HTTP connection (http.c on_accept; http_tls.c fills member). */
struct http_conn {
    uv_tcp_t tcp; /* first: h2o closes the socket through it */
    struct node *n;
    void *sock;      /* the h2o_socket_t made on it */
    uint64_t member; /* TLS: the member its client certificate names, 0 none */
    struct http_conn *prev, *next;
};

struct node {
    struct config cfg;
    uv_loop_t *loop;
    struct fsm *fsm;
    struct replica *replica;
    struct forwarder *fwd;
    struct accounts *accounts; /* role "accounts" only */
    struct auth *auth;         /* sport role with accounts_jwks_url: the JWKS cache */
    struct bets_hold *bets_hold; /* sport role with accounts_urls: the hold saga's driver */
    struct agree *agree;       /* sport role: agreed observations (agree.c) */
    struct quoter *quoter;     /* football: quote rounds, votes, publication (quote.c) */
    struct oracle_node *oracle; /* sport role with "oracle": results to the chain (oracle.c) */
    struct governor *governor; /* sport role: the return-to-player governor (governor.c) */
    struct stream *stream;     /* the quote stream's clients (stream.c) */
    struct stream *bet_stream; /* sport role: the players' bet stream (stream.c) */
    /* Raised by agree.c on the leader when a member first reports a dangerous live event
     * (goal, red card, penalty) that is not agreed yet; quote.c subscribes (it suspends the
     * game's markets and starts no round for it until the event is agreed). */
    void (*on_dangerous)(struct node *n, const char *fixture, const char *reason,
                         const char *subject, uint64_t reporter);
    /* Raised by agree.c on the leader right after it proposed the agreement of a live event of
     * @fixture (observation @subject); quote.c proposes the game's round behind it, so that
     * the round is in the same commit instead of waiting for the event's apply. */
    void (*on_event_proposed)(struct node *n, const char *fixture, const char *subject);
    struct metrics metrics;
    char public_key[67]; /* compressed secp256k1 public key, hex */
    h2o_globalconf_t h2o_config;
    h2o_context_t h2o_ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t listener;
    uv_signal_t sigint, sigterm;
    struct tls_files *tls;   /* member certificates, NULL when not configured */
    uv_signal_t sighup;      /* with tls: reload the certificate files now */
    uv_timer_t tls_check;    /* with tls: reload them when they change */
    struct tls_files *tls_http; /* with tls: the HTTPS server's context (client certificate
                                   optional, checked when presented; node/http_tls.c) */
    struct http_conn *conns; /* open HTTP connections (http_tls.c: who presented what) */
    bool stopping;
};

/* A request in flight. The h2o request may go away (client disconnect) before we answer:
 * then req is NULL and the answer is dropped. Freed when both sides are done with it. */
struct http_req {
    h2o_req_t *req;
    struct node *node;
    int refs;
    uint64_t start_ns;
    int route;
    bool forwarded;        /* arrived from another node */
    char idem_key[256];    /* namespaced idempotency key, "" if none */
    uint8_t fingerprint[32];
    /* Who passed routes_require_scope: kind "operator", "machine" or "bootstrap" ("" for
     * none) and the operator's or machine token's id; their writes are audited (CMD_ADMIN). */
    char actor_kind[16];
    char actor_id[96];
    char actor_scopes[160]; /* space-separated */
};

/* Replies. Each ends the request and drops the handler's reference. */
void http_reply(struct http_req *r, int status, const char *content_type, const char *body,
                size_t len);
void http_reply_json(struct http_req *r, int status, json_t *body); /* steals @body */
void http_problem(struct http_req *r, int status, const char *title, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same with a stable machine-readable "code" member when @code is not NULL. */
void http_problemv(struct http_req *r, int status, const char *title, const char *code,
                   const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
/* Replaces, in place, every byte of @s that is not part of valid UTF-8 with '?': a detail that
 * quotes the client's bytes (a Content-Type, a parameter) must still encode as JSON (an
 * invalid one made the answer NULL and crashed the node; found by tests/fuzz, fuzz_http). */
void http_text_clean(char *s);
/* Add a response header before replying (name lower-case). */
void http_header(struct http_req *r, const char *name, const char *value);
/* The client's address (IPv4 or IPv6 text; "?" when unknown). */
void http_peer_address(struct http_req *r, char *out, size_t n);
/* With TLS: the member (node id, > 0) whose certificate the client presented on this
 * connection, else 0. Without TLS: 0. */
uint64_t http_peer_member(struct http_req *r);
/* Set up HTTPS (n->tls_http) when member TLS is configured; 0 or -1 with a message. */
int http_tls_start(struct node *n, char *err, size_t errlen);
/* Options for a libcurl handle that calls another node: with TLS, the CA, this node's
 * certificate and key, peer and host verification on. The scheme of node URLs ("https" with
 * TLS). */
void node_curl_tls(const struct node *n, void *curl_easy);
const char *node_scheme(const struct node *n);
void http_release(struct http_req *r);

/* Request accessors. */
bool http_header_get(struct http_req *r, const char *name, char *out, size_t n);
bool http_query_get(struct http_req *r, const char *key, char *out, size_t n);
bool http_is_admin(struct http_req *r); /* checks the bearer token (constant time) */

/* Writes: validate the Idempotency-Key, fingerprint the request (method, path, payload) and
 * hand @c to the write path (node/write.c), which answers. */
void http_write(struct http_req *r, struct cmd *c, const char *key_namespace);
/* Send this request to the leader and relay the answer (or answer 503 when there is none). */
void http_forward_to_leader(struct http_req *r);
/* Answer according to a replica outcome that is not REPLICA_OK. */
void http_reply_outcome(struct http_req *r, int outcome, const char *detail);

int http_start(struct node *n, char *err, size_t errlen);
void http_stop(struct node *n);

/* Route handlers (routes_*.c). Return 0 if handled, -1 if the path is not theirs. */
int routes_public(struct http_req *r, const char *method, const char *path);
int routes_fixtures(struct http_req *r, const char *method, const char *path);
int routes_admin(struct http_req *r, const char *method, const char *path);
int routes_accounts(struct http_req *r, const char *method, const char *path);
int routes_wallet(struct http_req *r, const char *method, const char *path);
int routes_auth(struct http_req *r, const char *method, const char *path);
int routes_bets(struct http_req *r, const char *method, const char *path);
/* /v1/bets/{id}/cashout and /admin/v1/bets/cashout (node/routes_cashout.c); -1: not its path. */
int routes_cashout(struct http_req *r, const char *method, const char *path);
/* GET|POST /admin/v1/fixtures/{id}/trader (node/routes_trader.c); -1: not its path. */
int routes_trader(struct http_req *r, const char *method, const char *path);
/* Sport role with accounts_urls: the leader places each pending bet's hold (node/bets_hold.c). */
int bets_hold_start(struct node *n, char *err, size_t errlen);
void bets_hold_stop(struct node *n);
/* GET /admin/v1/bets/audit: answers @r later; -1 when this node has no accounts_urls. */
int bets_audit(struct node *n, struct http_req *r);
/* A GET of @path@query on the accounts cluster, signed as this member like the hold calls (the
 * next accounts URL after a failure); @cb gets the status (0: no answer) and the parsed body
 * (borrowed, may be NULL), exactly once unless this returns -1 (no accounts_urls, stopping). */
typedef void (*accounts_get_cb)(void *arg, long status, json_t *body);
int bets_hold_accounts_get(struct node *n, const char *path, const char *query,
                           accounts_get_cb cb, void *arg);
/* The return-to-player governor (governor.c; sport role): the leader's TRJ look on a timer,
 * GET /admin/v1/governor and POST /admin/v1/governor/reset (-1: not its path). */
int governor_start(struct node *n, char *err, size_t errlen);
void governor_stop(struct node *n);
int routes_governor(struct http_req *r, const char *method, const char *path);
/* parlay_governor_*: on, the adjustment in force and its changes (every node, replicated), the
 * projected year TRJ of the leader's last look. */
void governor_metrics(struct node *n, char **buf, size_t *len, size_t *cap);
/* The accounts role (routes_accounts.c): breached-password list, signing-key timer. */
int accounts_start(struct node *n, char *err, size_t errlen);
void accounts_stop(struct node *n);

/* Agreed observations (agree.c): the feed, the outbox, the leader's pending votes. */
int agree_start(struct node *n, char *err, size_t errlen);
void agree_stop(struct node *n);
int routes_agree(struct http_req *r, const char *method, const char *path);
void agree_metrics(struct node *n, char **buf, size_t *len, size_t *cap);
/* On the leader: a live event's observation is being tallied (voted on, not agreed yet). */
bool agree_event_tallying(struct node *n);
json_t *agree_status(struct node *n);


/* Agreed quotes (quote.c) and their stream (stream.c). */
int quote_start(struct node *n, char *err, size_t errlen);
void quote_stop(struct node *n);
int routes_quotes(struct http_req *r, const char *method, const char *path);
void quote_metrics(struct node *n, char **buf, size_t *len, size_t *cap);
/* On the leader: a quote round is in flight (started, not yet published or given up) or a
 * dangerous event holds a fixture's rounds until it is agreed. The settlement's chunks are
 * small meanwhile (node/bets_hold.c), so that a live game's quote does not queue behind them. */
bool quote_busy(struct node *n);
/* node/routes_wallet.c: the TRJ and the ban list (accounts role; nothing elsewhere). */
void wallet_metrics(struct node *n, char **buf, size_t *len, size_t *cap);
json_t *quote_status(struct node *n);
int stream_start(struct node *n);
void stream_stop(struct node *n);
void stream_open(struct http_req *r);
void stream_open_bets(struct http_req *r); /* GET /v1/stream/bets (a player's own bets) */
void stream_kick(struct node *n);
void stream_metrics(struct node *n, char **buf, size_t *len, size_t *cap);

/* Results to the chain (oracle.c): signatures of agreed results, the leader's submitter. */
int oracle_start(struct node *n, char *err, size_t errlen);
void oracle_stop(struct node *n);
int routes_oracle(struct http_req *r, const char *method, const char *path);
void oracle_metrics(struct node *n, char **buf, size_t *len, size_t *cap);
json_t *oracle_status(struct node *n);
/* What the apply listener (quote.c) passes on. */
void oracle_applied(struct node *n, uint64_t index, unsigned type, const struct fsm_result *res);
/* The on-chain state of @fixture's result (GET /v1/fixtures/{id}/result), NULL if the node
 * has no oracle settings. */
json_t *oracle_view(struct node *n, MDB_txn *txn, const char *fixture);

/* Node status as JSON (routes_admin.c). */
json_t *node_status(struct node *n, bool with_progress);

#endif
