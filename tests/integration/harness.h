/* Integration-test harness: real parlayd processes on 127.0.0.1 with their own data
 * directories, spoken to over real HTTP. Every wait is a condition polled with a deadline. */
#ifndef PARLAY_HARNESS_H
#define PARLAY_HARNESS_H

#include <jansson.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#define H_MAX_NODES 6

struct h_node {
    int id;
    char raft_host[32], http_host[32]; /* 127.0.0.1, or addresses inside a network namespace */
    char netns[32];                    /* "" when the node runs in the test's own namespace */
    int raft_port, http_port;
    char config[512];
    char dir[512];
    char log[512];
    pid_t pid;
    bool initial;
};

struct h_cluster {
    char root[256];
    char token_file[512];
    char secret_file[512]; /* the members' shared secret (cluster_secret_file) */
    char keyring_file[512]; /* accounts: the keyring for secrets at rest (secrets_key_file),
                               written with one key "it1" by h_cluster_write_configs unless
                               the test wrote it first */
    char token[64];
    int n;
    struct h_node nodes[H_MAX_NODES];
    unsigned snapshot_threshold, snapshot_trailing;
    unsigned heartbeat_ms; /* heartbeat_timeout_ms: 100, or PARLAY_IT_HEARTBEAT_MS (>= 10) */
    unsigned max_body_bytes;
    unsigned space_quota_mb, map_size_mb;
    const char *role; /* NULL: "sport:football" in cluster "football"; "accounts": the accounts
                         role in cluster "accounts". Call h_cluster_write_configs after setting. */
    const char *extra_config; /* a JSON object merged into every node's config, or NULL */
    char node_extra[H_MAX_NODES][1536]; /* per node: a JSON object merged after extra_config,
                                          "" for none */
    int net_id; /* netns mode: a per-run number in the addresses and names */
    int stop_failures;       /* nodes that did not exit 0 on SIGTERM (h_node_stop) */
    char stop_failure[700];  /* the last of them */
};

struct h_resp {
    long status; /* 0: could not connect / no answer */
    json_t *json;
    char content_type[128];
    char retry_after[32];
    char replayed[16];
    char www_authenticate[128];
};

/* Create @n initial members (ids 1..n) in a fresh temporary root; nothing is started. */
void h_cluster_init(struct h_cluster *c, int n);
/* The same, but each node in its own network namespace, joined to every other node by its own
 * veth link (and to the test by one more), so that links can be cut one by one. Needs root;
 * returns false (nothing created) where network namespaces cannot be made. */
bool h_cluster_init_netns(struct h_cluster *c, int n);
/* Cut (or restore) the link between nodes @i and @j, both directions. */
void h_link(struct h_cluster *c, int i, int j, bool up);

/* netns mode: a route from every node to @addr, an address of the test's own namespace (a
 * service the test runs there), over the node's link to the test (never cut by h_link). */
void h_netns_route(struct h_cluster *c, const char *addr);

/* Add a node that is not an initial member (waits to be added); returns its index. */
int h_cluster_add_spare(struct h_cluster *c);
/* Write every node's config (call after changing options). */
void h_cluster_write_configs(struct h_cluster *c);
void h_cluster_start_all(struct h_cluster *c);
void h_cluster_stop_all(struct h_cluster *c);
/* Stop every node with SIGTERM, remove the root directory, then fail the test if any node
 * stopped during the test or here did not exit 0 (leak report, sanitizer error, hang). */
void h_cluster_destroy(struct h_cluster *c);

void h_node_start(struct h_cluster *c, int i);
void h_node_signal(struct h_cluster *c, int i, int sig);
/* SIGKILL and reap. */
void h_node_kill(struct h_cluster *c, int i);
/* SIGTERM and reap (SIGKILL after 20 s); returns the wait status. A node that does not exit 0
 * is reported with its sanitizer output and counted in stop_failures. */
int h_node_stop(struct h_cluster *c, int i);

/* HTTP to node @i. @body may be NULL. @idem: Idempotency-Key or NULL. @admin: send the token. */
struct h_resp h_http(struct h_cluster *c, int i, const char *method, const char *path,
                     const char *body, const char *idem, bool admin);
struct h_resp h_http_raw(int port, const char *method, const char *path, const char *body,
                         const char *const *headers, long timeout_ms);
struct h_resp h_http_host(const char *host, int port, const char *method, const char *path,
                          const char *body, const char *const *headers, long timeout_ms);
/* The same with any bearer token (a player's access token), or none. */
struct h_resp h_http_bearer(struct h_cluster *c, int i, const char *method, const char *path,
                            const char *body, const char *idem, const char *bearer);
void h_resp_free(struct h_resp *r);

/* Index of the node that reports itself leader (and is alive), waiting up to @ms; -1 if none. */
int h_wait_leader(struct h_cluster *c, int ms);
/* Wait until every running node's last_applied >= @index. */
bool h_wait_applied(struct h_cluster *c, unsigned long long index, int ms);
/* The node's /admin/v1/node status (NULL if unreachable). */
json_t *h_status(struct h_cluster *c, int i);
bool h_wait_ready(struct h_cluster *c, int i, int ms);
/* Run `build/parlayctl` against node @i with @args; returns its exit code, output in @out. */
int h_parlayctl(struct h_cluster *c, int i, const char *args, char *out, size_t n);

/* When set (a CA file): every h_http* call speaks HTTPS and trusts that CA (member TLS). */
extern char h_tls_ca[512];

/* Scenario helpers. */
#define H_WAIT_MS 30000
/* A fixture-create body for @id (static buffer). */
char *h_fixture_body(const char *id);
/* A client that retries with the same Idempotency-Key until it gets a definitive answer
 * (anything but "no answer" or 503), rotating over the live nodes from @hint. Returns the
 * status (0: none within 40 s); the body in @out if given. */
long h_write_until_answer(struct h_cluster *c, int hint, const char *method, const char *path,
                          const char *body, const char *key, json_t **out);
/* Wait until node @i serves fixture @id locally with @status and @version. */
bool h_wait_fixture(struct h_cluster *c, int i, const char *id, const char *status,
                    int version);
/* Start every node that is not running; wait for a leader and every running node ready
 * (aborts the test program if that does not happen within H_WAIT_MS). */
void h_start_cluster(struct h_cluster *c);

/* Three nodes of the accounts role (@extra_config merged into each config, may be NULL),
 * started, with the leader's first signing key on every node. */
void h_start_accounts(struct h_cluster *c, const char *extra_config);
/* Start an accounts cluster already initialised and configured (h_cluster_write_configs) and
 * wait for its first signing key on every node. */
void h_accounts_ready(struct h_cluster *c);

/* The payment provider's stand-in (tests/standins/pay-standin.mjs under `node`, or
 * $PARLAY_NODE), on a free 127.0.0.1 port, with its webhook secret and API key also written to
 * owner-only files for the nodes' `payments` settings. Stopped (and its files removed) by
 * h_paystandin_stop, or when the test program exits. */
struct h_paystandin {
    pid_t pid;
    int out_fd;
    char url[128];         /* "http://127.0.0.1:<port>", what it printed after READY */
    char dir[256];         /* a temporary directory holding the files below and its log */
    char secret_file[320]; /* the webhook secret (payments.webhook.secret_file) */
    char api_key_file[320]; /* the API key (payments.api_key_file) */
    char log[320];
    char secret[128], api_key[128];
};
/* Start it and wait (at most 60 s) for READY; @secret / @api_key NULL: the stand-in's
 * defaults. Returns 0, or -1 with the reason and its log on stderr. */
int h_paystandin_start(struct h_paystandin *ps, const char *secret, const char *api_key);
void h_paystandin_stop(struct h_paystandin *ps);
/* Writes {"payments": {...}} for the stand-in into @out: a JSON object for h_start_accounts'
 * @extra_config, a cluster's extra_config or a node's node_extra (merge it with other keys
 * through jansson when a test needs more). Returns @out. */
char *h_paystandin_config(const struct h_paystandin *ps, char *out, size_t cap);

double h_now(void);
/* Lower-case hex to bytes (asserts it fits in @cap); returns the byte count. */
size_t h_unhex(const char *hex, uint8_t *out, size_t cap);
void h_sleep_ms(int ms);
/* JSON reading for assertions: the string field @k of @o ("" when absent), the integer field
 * (0 when absent), @o as compact text for a failure message (a static buffer). */
const char *h_str(json_t *o, const char *k);
json_int_t h_num(json_t *o, const char *k);
const char *h_dump(json_t *o);
/* The 1X2 overround of a market as GET /v1/fixtures/{id}/markets answers it: the sum of
 * 1000 / price over home, draw, away (10 for an outcome not offered). */
double h_overround_1x2(json_t *market);
/* Node @i's /metrics text into @out (@n bytes, truncated). */
void h_metrics(struct h_cluster *c, int i, char *out, size_t n);
/* Count occurrences of @needle in node @i's log. */
int h_log_count(struct h_cluster *c, int i, const char *needle);

#endif
