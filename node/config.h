/* parlayd's configuration: one JSON file per node (see cluster-config/ and the README's
 * configuration reference). Unknown keys, missing keys and bad values refuse the start with a
 * message that names the key. */
#ifndef PARLAY_CONFIG_H
#define PARLAY_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/seal.h"
#include "consensus/replica.h"

#define CONFIG_MAX_MEMBERS 16

struct config {
    uint64_t node_id;
    char cluster[64];
    char role[64];  /* "accounts" or "sport:<name>" */
    char sport[48]; /* the <name> of a sport role, "" for accounts */
    char raft_address[64];
    char http_address[64];
    char data_dir[PATH_MAX - 64];
    struct replica_member initial[CONFIG_MAX_MEMBERS];
    unsigned n_initial;
    char admin_token_file[PATH_MAX];
    char admin_token[256]; /* read from admin_token_file */
    char tls_ca_file[PATH_MAX];   /* member TLS (all three or none): the deployment's CA, */
    char tls_cert_file[PATH_MAX]; /* this node's certificate (naming cluster and node id) */
    char tls_key_file[PATH_MAX];  /* and its key (private); re-read on change or SIGHUP */
    char cluster_secret_file[PATH_MAX];
    unsigned char cluster_secret[32]; /* read from cluster_secret_file (64 hex digits): the
                                         members' shared secret for node-to-node calls; never
                                         the admin token, never logged */
    unsigned snapshot_threshold;   /* default 1024 */
    unsigned snapshot_threshold_max; /* default 16384: the threshold grows with the state */
    unsigned lmdb_writeback_ms;      /* default 1000; 0: the kernel's flusher alone */
    unsigned snapshot_trailing;    /* default 2048 */
    unsigned election_timeout_ms;  /* default 1000 */
    unsigned heartbeat_timeout_ms; /* default 20 (see README: raft 0.22.1 probe mode) */
    unsigned forward_timeout_ms;   /* default 5000 */
    unsigned max_inflight_entries; /* default 1024: entries in flight to each follower */
    unsigned idempotency_ttl_s;    /* default 86400: how long a replayed key gets its answer */
    size_t max_body_bytes;         /* default 65536 */
    unsigned session_lifetime_s;   /* accounts: a session's absolute lifetime, default 12 h */
    unsigned session_idle_s;       /* accounts: a session unused (not refreshed) this long
                                      ends, default 1800 */
    unsigned session_max_per_player; /* accounts: open sessions per player (the oldest ends
                                        beyond), default 10 */
    size_t map_size_mb;            /* default 1024 */
    size_t space_quota_mb;         /* default 80% of map_size_mb */
    char password_list[512];       /* accounts: breached-password list, default
                                      kyc/data/common-passwords.txt */
    char franceconnect[2048];      /* accounts: {issuer, client_id, client_secret, redirect_uri,
                                      post_logout_redirect_uri?, allow_http?, timeout_ms?} as
                                      JSON text, "" when not configured */
    char document_check[4096];     /* accounts: the document-check provider (kyc_doc_provider
                                      settings) as JSON text, "" when not configured */
    char payments[4096];           /* accounts: the payment provider (pay_provider_new settings,
                                      node/pay.h) as JSON text, "" when not configured; checked
                                      at load (its key files read, then forgotten) */
    char secrets_key_file[PATH_MAX]; /* accounts (required there): the keyring that seals
                                      secrets at rest (common/seal.h) */
    struct seal_keyring secrets;   /* read from secrets_key_file; never logged */
    char ban_list_file[512];       /* accounts: the national gambling-ban list (node/banlist.h),
                                      "" = none */
    char oracle[2048];             /* sport: results to the chain (node/oracle.c: rpc,
                                      api_key_file, chain_id, contract, sender_key_file,
                                      confirmations, ...) as JSON text, "" = not published */
    char accounts_jwks_url[512];   /* sport: the accounts cluster's JWKS URL, "" = none */
    char admin_token_scopes[160]; /* the scopes the bootstrap admin token holds, comma-
                                     separated; "" = every scope */
    char accounts_urls[1024];      /* sport: accounts nodes' base URLs, comma-separated, for
                                      bet holds (node/bets_hold.c); "" = no holds placed */
    char accounts_issuer[128];     /* sport: iss of access tokens, default
                                      urn:parlay:accounts:accounts */
    unsigned accounts_jwks_refresh_s;       /* sport: periodic refetch, default 300 */
    unsigned accounts_revocations_poll_ms;  /* sport: how often revoked sessions are fetched,
                                               default 1000 */
    unsigned accounts_jwks_min_interval_ms; /* sport: least time between fetches caused by an
                                               unknown kid, default 5000 */
    char feed_url[512];            /* sport: the provider this node reads, "" = none */
    char feed_adapter[8];          /* "sse" (default) or "rest" */
    unsigned feed_poll_ms;         /* REST adapter: pause between polls, default 1000 */
    char ratings_history[512];     /* sport: football-data CSV directory for the ratings fit,
                                      "" = agreed results only (the same on every node) */
    char margins[2048];            /* sport: margins per market and phase as JSON text
                                      (quote_price.h), "" = the models' defaults */
    char governor[512];            /* sport: the return-to-player governor's settings as JSON text
                                      ("" = off; node/governor.c) */
    unsigned quote_prematch_s;     /* pre-match re-quote interval, default 300 */
    unsigned quote_live_busy_s;    /* live re-quote while busy, default 60 */
    unsigned quote_live_idle_s;    /* live re-quote while nothing happens, default 300 */
    unsigned quote_busy_window_s;  /* "busy": an agreed event within this, default 300 */
    unsigned quote_hold_s;         /* an unagreed dangerous observation holds re-quotes at most
                                      this long, default 120 */
    unsigned quote_round_timeout_ms; /* a round without a quorum is given up, default 10000 */
    unsigned agreement_alert_s;    /* an observation pending longer raises the alert, 30 */
    unsigned stream_max_clients;   /* quote-stream clients per node, default 1000 (503 above) */
    unsigned stream_max_per_address; /* quote-stream clients per peer address, default 32 (429) */
    unsigned bet_delay_pre_ms;     /* sport: acceptance delay of pre-match bets, default 0 */
    unsigned bet_delay_live_ms;    /* sport: acceptance delay of live bets (football 5000) */
    int test_fault_prices;         /* tests only: this node prices wrong (+10 milli-odds) */
    int test_clock;                /* tests only: POST /admin/v1/test/clock may shift the time
                                      this node stamps as leader (never set in production) */
    int log_level;                 /* "debug" | "info" (default) | "warn" | "error" */
};

/* Load and check @path. On failure returns -1 and writes a message naming the key or path. */
int config_load(struct config *c, const char *path, char *err, size_t n);

/* The first bytes of the file named by key @key (@path) into @buf, trailing white space cut;
 * with @private, refused when group or others may read it. -1 with a message naming the key.
 * (The admin token, the members' secret, the payment provider's keys.) */
int config_read_key_file(const char *key, const char *path, bool private, char *buf, size_t cap,
                         char *err, size_t en);

/* Check an "ip:port" address (IPv4 dotted quad, as raft_uv_tcp requires). */
int config_addr_ok(const char *addr);

#endif
