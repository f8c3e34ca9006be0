#include "node/config.h"
#include "consensus/operators.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hex.h"
#include "common/log.h"
#include "node/pay.h"

int config_addr_ok(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon - addr >= 16)
        return 0;
    char host[16];
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    struct in_addr ia;
    if (inet_pton(AF_INET, host, &ia) != 1)
        return 0;
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    return colon[1] && *end == 0 && errno == 0 && port > 0 && port < 65536;
}

/* An optional object kept as its compact JSON text in @out (@n bytes, "" when absent). */
static int get_object(json_t *root, const char *key, char *out, size_t n, const char *what,
                      char *err, size_t en)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return 0;
    char *t = json_is_object(v) ? json_dumps(v, JSON_COMPACT) : NULL;
    if (!t || strlen(t) >= n) {
        snprintf(err, en, "key '%s' must be %s of at most %zu bytes", key, what, n - 1);
        free(t);
        return -1;
    }
    strcpy(out, t);
    free(t);
    return 0;
}

static int get_str(json_t *root, const char *key, char *out, size_t n, int required,
                   const char *def, char *err, size_t en)
{
    json_t *v = json_object_get(root, key);
    if (!v) {
        if (required) {
            snprintf(err, en, "missing key '%s'", key);
            return -1;
        }
        snprintf(out, n, "%s", def ? def : "");
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= n) {
        snprintf(err, en, "key '%s' must be a non-empty string of at most %zu characters", key,
                 n - 1);
        return -1;
    }
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int get_uint(json_t *root, const char *key, unsigned long long def,
                    unsigned long long min, unsigned long long max, unsigned long long *out,
                    char *err, size_t en)
{
    json_t *v = json_object_get(root, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min ||
        (unsigned long long)json_integer_value(v) > max) {
        snprintf(err, en, "key '%s' must be an integer from %llu to %llu", key, min, max);
        return -1;
    }
    *out = (unsigned long long)json_integer_value(v);
    return 0;
}

static int check_addr(const char *key, const char *v, char *err, size_t en)
{
    if (!config_addr_ok(v)) {
        snprintf(err, en, "key '%s': '%s' is not an IPv4 address with a port (e.g. 127.0.0.1:7001)",
                 key, v);
        return -1;
    }
    return 0;
}

static int load_members(struct config *c, json_t *arr, char *err, size_t en)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > CONFIG_MAX_MEMBERS) {
        snprintf(err, en, "key 'initial_members' must be an array of at most %d members",
                 CONFIG_MAX_MEMBERS);
        return -1;
    }
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m)
    {
        struct replica_member *rm = &c->initial[i];
        char key[64];
        snprintf(key, sizeof key, "initial_members[%zu]", i);
        const char *k;
        json_t *v;
        if (!json_is_object(m)) {
            snprintf(err, en, "key '%s' must be an object", key);
            return -1;
        }
        json_object_foreach(m, k, v)
        {
            if (strcmp(k, "id") && strcmp(k, "raft_address") && strcmp(k, "http_address")) {
                snprintf(err, en, "unknown key '%s.%s'", key, k);
                return -1;
            }
        }
        unsigned long long id;
        char e2[200];
        if (!json_object_get(m, "id") ||
            get_uint(m, "id", 0, 1, UINT32_MAX, &id, e2, sizeof e2) != 0) {
            snprintf(err, en, "key '%s.id' must be a positive integer", key);
            return -1;
        }
        rm->id = id;
        if (get_str(m, "raft_address", rm->raft_address, sizeof rm->raft_address, 1, NULL, e2,
                    sizeof e2) ||
            !config_addr_ok(rm->raft_address)) {
            snprintf(err, en, "key '%s.raft_address' must be an IPv4 address with a port", key);
            return -1;
        }
        if (get_str(m, "http_address", rm->http_address, sizeof rm->http_address, 1, NULL, e2,
                    sizeof e2) ||
            !config_addr_ok(rm->http_address)) {
            snprintf(err, en, "key '%s.http_address' must be an IPv4 address with a port", key);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (c->initial[j].id == rm->id) {
                snprintf(err, en, "key '%s.id': id %llu appears twice", key, id);
                return -1;
            }
    }
    c->n_initial = (unsigned)json_array_size(arr);
    int self = 0;
    for (unsigned j = 0; j < c->n_initial; j++)
        if (c->initial[j].id == c->node_id) {
            self = 1;
            if (strcmp(c->initial[j].raft_address, c->raft_address)) {
                snprintf(err, en, "key 'initial_members': this node's raft_address differs "
                                  "from key 'raft_address'");
                return -1;
            }
        }
    if (c->n_initial && !self) {
        snprintf(err, en, "key 'initial_members' must include this node (id %llu) or be empty",
                 (unsigned long long)c->node_id);
        return -1;
    }
    return 0;
}

int config_read_key_file(const char *key, const char *path, bool private, char *buf, size_t cap,
                         char *err, size_t en)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, en, "key '%s': %s: %s", key, path, strerror(errno));
        return -1;
    }
    struct stat st;
    ssize_t n = fstat(fd, &st) == 0 ? read(fd, buf, cap - 1) : -1;
    close(fd);
    if (private && n >= 0 && (st.st_mode & 077)) {
        snprintf(err, en, "key '%s': %s must not be readable by group or others (chmod 600)", key,
                 path);
        return -1;
    }
    if (n < 0)
        n = 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = 0;
    return 0;
}

static int read_token(struct config *c, char *err, size_t en)
{
    if (config_read_key_file("admin_token_file", c->admin_token_file, false, c->admin_token,
                      sizeof c->admin_token, err, en))
        return -1;
    if (strlen(c->admin_token) < 16) {
        snprintf(err, en, "key 'admin_token_file': %s must hold a token of at least 16 characters",
                 c->admin_token_file);
        return -1;
    }
    return 0;
}

/* The members' shared secret: 64 hex digits (32 bytes), in a file only the owner can read. */
static int read_secret(struct config *c, char *err, size_t en)
{
    char buf[80];
    if (config_read_key_file("cluster_secret_file", c->cluster_secret_file, true, buf, sizeof buf, err,
                      en))
        return -1;
    if (strlen(buf) != 64 || hex_decode(buf, c->cluster_secret, sizeof c->cluster_secret) != 32) {
        snprintf(err, en, "key 'cluster_secret_file': %s must hold 64 hex digits (32 bytes)",
                 c->cluster_secret_file);
        return -1;
    }
    return 0;
}

static int check_data_dir(const char *dir, char *err, size_t en)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, en, "key 'data_dir': cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(err, en, "key 'data_dir': %s is not writable: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int config_load(struct config *c, const char *path, char *err, size_t en)
{
    static const char *const known[] = {
        "node_id", "cluster", "role", "raft_address", "http_address", "data_dir",
        "initial_members", "admin_token_file", "cluster_secret_file", "snapshot_threshold", "snapshot_threshold_max", "snapshot_trailing", "lmdb_writeback_ms",
        "election_timeout_ms", "heartbeat_timeout_ms", "forward_timeout_ms", "max_body_bytes",
        "map_size_mb", "space_quota_mb", "log_level", "max_inflight_entries", "idempotency_ttl_s", "password_list",
        "franceconnect", "document_check", "payments", "ban_list_file", "accounts_jwks_url", "accounts_issuer", "accounts_urls",
        "accounts_jwks_refresh_s", "accounts_jwks_min_interval_ms", "feed_url", "feed_adapter",
        "feed_poll_ms", "ratings_history", "margins", "quote_prematch_s", "quote_live_busy_s",
        "quote_live_idle_s", "quote_busy_window_s", "quote_hold_s", "quote_round_timeout_ms",
        "agreement_alert_s", "test_fault_prices", "stream_max_clients", "stream_max_per_address",
        "secrets_key_file", "accounts_revocations_poll_ms", "bet_delay_pre_ms", "bet_delay_live_ms",
        "oracle", "admin_token_scopes", "test_clock", "tls_ca_file", "tls_cert_file", "tls_key_file",
        "session_lifetime_s", "session_idle_s", "session_max_per_player", "governor", NULL};
    memset(c, 0, sizeof *c);
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, en, "%s: line %d: %s", path, je.line, je.text);
        return -1;
    }
    int rv = -1;
    const char *key;
    json_t *v;
    unsigned long long u;
    char level[16];
    if (!json_is_object(root)) {
        snprintf(err, en, "%s: the configuration must be a JSON object", path);
        goto out;
    }
    json_object_foreach(root, key, v)
    {
        int ok = 0;
        for (const char *const *k = known; *k; k++)
            ok |= !strcmp(*k, key);
        if (!ok) {
            snprintf(err, en, "unknown key '%s'", key);
            goto out;
        }
    }
    if (!json_object_get(root, "node_id")) {
        snprintf(err, en, "missing key 'node_id'");
        goto out;
    }
    if (get_uint(root, "node_id", 0, 1, UINT32_MAX, &u, err, en))
        goto out;
    c->node_id = u;
    if (get_str(root, "cluster", c->cluster, sizeof c->cluster, 1, NULL, err, en) ||
        get_str(root, "role", c->role, sizeof c->role, 1, NULL, err, en) ||
        get_str(root, "raft_address", c->raft_address, sizeof c->raft_address, 1, NULL, err,
                en) ||
        get_str(root, "http_address", c->http_address, sizeof c->http_address, 1, NULL, err,
                en) ||
        get_str(root, "data_dir", c->data_dir, sizeof c->data_dir, 1, NULL, err, en) ||
        get_str(root, "admin_token_file", c->admin_token_file, sizeof c->admin_token_file, 1,
                NULL, err, en) ||
        get_str(root, "cluster_secret_file", c->cluster_secret_file,
                sizeof c->cluster_secret_file, 1, NULL, err, en) ||
        get_str(root, "log_level", level, sizeof level, 0, "info", err, en) ||
        get_str(root, "password_list", c->password_list, sizeof c->password_list, 0,
                "kyc/data/common-passwords.txt", err, en) ||
        get_str(root, "ban_list_file", c->ban_list_file, sizeof c->ban_list_file, 0, "", err,
                en))
        goto out;
    /* Member TLS: the three files together (opened, and the key's mode checked, at start). */
    if (get_str(root, "tls_ca_file", c->tls_ca_file, sizeof c->tls_ca_file, 0, "", err, en) ||
        get_str(root, "tls_cert_file", c->tls_cert_file, sizeof c->tls_cert_file, 0, "", err,
                en) ||
        get_str(root, "tls_key_file", c->tls_key_file, sizeof c->tls_key_file, 0, "", err, en))
        goto out;
    if (!c->tls_ca_file[0] != !c->tls_cert_file[0] || !c->tls_ca_file[0] != !c->tls_key_file[0]) {
        snprintf(err, en, "keys 'tls_ca_file', 'tls_cert_file' and 'tls_key_file' go together "
                          "(all three for member TLS, or none)");
        goto out;
    }
    if (c->ban_list_file[0] && strcmp(c->role, "accounts") != 0) {
        snprintf(err, en, "key 'ban_list_file' is for accounts nodes (players sign in there)");
        goto out;
    }
    if (get_object(root, "franceconnect", c->franceconnect, sizeof c->franceconnect,
                   "an object {issuer, client_id, client_secret, redirect_uri, ...}", err, en) ||
        get_object(root, "oracle", c->oracle, sizeof c->oracle,
                   "an object {rpc, chain_id, contract, sender_key_file, ...}", err, en) ||
        get_object(root, "document_check", c->document_check, sizeof c->document_check,
                   "a provider object (kyc/README.md)", err, en))
        goto out;
    if (!strncmp(c->role, "sport:", 6) && c->role[6]) {
        snprintf(c->sport, sizeof c->sport, "%s", c->role + 6);
        for (char *p = c->sport; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9'))) {
                snprintf(err, en, "key 'role': sport name '%s' must be lower-case letters, "
                                  "digits or '_'", c->sport);
                goto out;
            }
    } else if (strcmp(c->role, "accounts") != 0) {
        snprintf(err, en, "key 'role' must be \"accounts\" or \"sport:<name>\", not \"%s\"",
                 c->role);
        goto out;
    }
    /* Secrets at rest: an accounts node keeps signing keys and second-factor secrets sealed. */
    if (get_str(root, "secrets_key_file", c->secrets_key_file, sizeof c->secrets_key_file, 0,
                "", err, en))
        goto out;
    if (!strcmp(c->role, "accounts") && !c->secrets_key_file[0]) {
        snprintf(err, en, "missing key 'secrets_key_file' (accounts nodes seal signing keys and "
                          "second-factor secrets with it: README, Secrets at rest)");
        goto out;
    }
    if (c->secrets_key_file[0] && strcmp(c->role, "accounts") != 0) {
        snprintf(err, en, "key 'secrets_key_file' is for accounts nodes (the secrets live there)");
        goto out;
    }
    if (c->secrets_key_file[0]) {
        char serr[PATH_MAX + 200];
        if (seal_keyring_load(&c->secrets, c->secrets_key_file, serr, sizeof serr) != 0) {
            snprintf(err, en, "key 'secrets_key_file': %s", serr);
            goto out;
        }
    }
    /* The payment provider (node/pay.h): kept as JSON text for the wallet routes, and made once
     * here so that a bad setting or key file refuses the start instead of the first deposit. */
    json_t *pay = json_object_get(root, "payments");
    if (pay) {
        char *t = json_is_object(pay) ? json_dumps(pay, JSON_COMPACT) : NULL;
        if (!t || strlen(t) >= sizeof c->payments) {
            snprintf(err, en, "key 'payments' must be a payment provider object (README) of at "
                              "most %zu bytes",
                     sizeof c->payments - 1);
            free(t);
            goto out;
        }
        strcpy(c->payments, t);
        free(t);
        if (strcmp(c->role, "accounts") != 0) {
            snprintf(err, en, "key 'payments' is for accounts nodes (wallets live there)");
            goto out;
        }
        struct pay_provider *pp = NULL;
        char perr[400];
        if (pay_provider_new(pay, &pp, perr, sizeof perr) != 0) {
            snprintf(err, en, "key 'payments': %s", perr);
            goto out;
        }
        pay_provider_free(pp);
    }
    if (check_addr("raft_address", c->raft_address, err, en) ||
        check_addr("http_address", c->http_address, err, en))
        goto out;
    if (!strcmp(level, "debug"))
        c->log_level = LOG_LEVEL_DEBUG;
    else if (!strcmp(level, "info"))
        c->log_level = LOG_LEVEL_INFO;
    else if (!strcmp(level, "warn"))
        c->log_level = LOG_LEVEL_WARN;
    else if (!strcmp(level, "error"))
        c->log_level = LOG_LEVEL_ERROR;
    else {
        snprintf(err, en, "key 'log_level' must be debug, info, warn or error");
        goto out;
    }
    if (get_uint(root, "snapshot_threshold", 1024, 1, 1u << 30, &u, err, en))
        goto out;
    c->snapshot_threshold = (unsigned)u;
    /* The threshold grows with the state (replica.c): at most this; default 16384 (or the
     * threshold, if higher). */
    if (get_uint(root, "snapshot_threshold_max",
                 c->snapshot_threshold > 16384 ? c->snapshot_threshold : 16384,
                 c->snapshot_threshold, 1u << 30, &u, err, en))
        goto out;
    c->snapshot_threshold_max = (unsigned)u;
    /* LMDB writeback (consensus/fsm.c): start the kernel's writeback of the state's dirty
     * pages this often; 0 leaves it to the kernel's own flusher. */
    if (get_uint(root, "lmdb_writeback_ms", 100, 0, 60000, &u, err, en))
        goto out;
    c->lmdb_writeback_ms = (unsigned)u;
    if (get_uint(root, "snapshot_trailing", 2048, 0, 1u << 30, &u, err, en))
        goto out;
    c->snapshot_trailing = (unsigned)u;
    if (get_uint(root, "election_timeout_ms", 1000, 50, 60000, &u, err, en))
        goto out;
    c->election_timeout_ms = (unsigned)u;
    if (get_uint(root, "heartbeat_timeout_ms", 20, 10, 30000, &u, err, en))
        goto out;
    c->heartbeat_timeout_ms = (unsigned)u;
    if (c->heartbeat_timeout_ms >= c->election_timeout_ms) {
        snprintf(err, en, "key 'heartbeat_timeout_ms' must be below 'election_timeout_ms'");
        goto out;
    }
    if (get_uint(root, "forward_timeout_ms", 5000, 100, 600000, &u, err, en))
        goto out;
    c->forward_timeout_ms = (unsigned)u;
    if (get_str(root, "accounts_jwks_url", c->accounts_jwks_url, sizeof c->accounts_jwks_url, 0,
                "", err, en) ||
        get_str(root, "accounts_issuer", c->accounts_issuer, sizeof c->accounts_issuer, 0,
                "urn:parlay:accounts:accounts", err, en))
        goto out;
    if (get_str(root, "accounts_urls", c->accounts_urls, sizeof c->accounts_urls, 0, "", err,
                en))
        goto out;
    if (get_str(root, "admin_token_scopes", c->admin_token_scopes,
                sizeof c->admin_token_scopes, 0, "", err, en))
        goto out;
    {
        char buf[sizeof c->admin_token_scopes];
        snprintf(buf, sizeof buf, "%s", c->admin_token_scopes);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
             t = strtok_r(NULL, ",", &save))
            if (!operator_scope_known(t)) {
                snprintf(err, en,
                         "key 'admin_token_scopes': '%s' is not a scope (cluster, kyc, wallet, "
                         "bets, oracle, audit:read, operators; comma-separated)",
                         t);
                goto out;
            }
    }
    if (c->accounts_urls[0] && strncmp(c->accounts_urls, "http://", 7) != 0 &&
        strncmp(c->accounts_urls, "https://", 8) != 0) {
        snprintf(err, en, "key 'accounts_urls' must be http:// or https:// base URLs, "
                          "comma-separated");
        goto out;
    }
    if (c->accounts_jwks_url[0] && strncmp(c->accounts_jwks_url, "http://", 7) != 0 &&
        strncmp(c->accounts_jwks_url, "https://", 8) != 0) {
        snprintf(err, en, "key 'accounts_jwks_url' must be an http:// or https:// URL");
        goto out;
    }
    if (c->accounts_jwks_url[0] && !strncmp(c->role, "accounts", 9)) {
        snprintf(err, en, "key 'accounts_jwks_url' is for sport nodes; an accounts node "
                          "verifies with its own keys");
        goto out;
    }
    if (get_uint(root, "accounts_jwks_refresh_s", 300, 1, 86400, &u, err, en))
        goto out;
    c->accounts_jwks_refresh_s = (unsigned)u;
    if (get_uint(root, "accounts_revocations_poll_ms", 1000, 100, 60000, &u, err, en))
        goto out;
    c->accounts_revocations_poll_ms = (unsigned)u;
    if (get_uint(root, "accounts_jwks_min_interval_ms", 5000, 0, 3600000, &u, err, en))
        goto out;
    c->accounts_jwks_min_interval_ms = (unsigned)u;
    if (get_uint(root, "max_inflight_entries", 1024, 1, 1 << 20, &u, err, en))
        goto out;
    c->max_inflight_entries = (unsigned)u;
    if (get_uint(root, "idempotency_ttl_s", 86400, 1, 365u * 86400, &u, err, en))
        goto out;
    c->idempotency_ttl_s = (unsigned)u;
    if (get_uint(root, "session_lifetime_s", 12 * 3600, 60, 30u * 86400, &u, err, en))
        goto out;
    c->session_lifetime_s = (unsigned)u;
    if (get_uint(root, "session_idle_s", 1800, 1, c->session_lifetime_s, &u, err, en))
        goto out;
    c->session_idle_s = (unsigned)u;
    if (get_uint(root, "session_max_per_player", 10, 1, 1000, &u, err, en))
        goto out;
    c->session_max_per_player = (unsigned)u;
    if (get_uint(root, "max_body_bytes", 65536, 256, 1 << 20, &u, err, en))
        goto out;
    c->max_body_bytes = u;
    if (get_uint(root, "map_size_mb", 1024, 1, 1 << 20, &u, err, en))
        goto out;
    c->map_size_mb = u;
    if (get_uint(root, "space_quota_mb", c->map_size_mb * 8 / 10 ? c->map_size_mb * 8 / 10 : 1,
                 1, c->map_size_mb, &u, err, en))
        goto out;
    c->space_quota_mb = u;
    if (get_str(root, "feed_url", c->feed_url, sizeof c->feed_url, 0, "", err, en) ||
        get_str(root, "feed_adapter", c->feed_adapter, sizeof c->feed_adapter, 0, "sse", err,
                en))
        goto out;
    if (c->feed_url[0] && strncmp(c->feed_url, "http://", 7) != 0 &&
        strncmp(c->feed_url, "https://", 8) != 0) {
        snprintf(err, en, "key 'feed_url' must be an http:// or https:// URL");
        goto out;
    }
    if (c->feed_url[0] && !c->sport[0]) {
        snprintf(err, en, "key 'feed_url' is for sport nodes");
        goto out;
    }
    if (strcmp(c->feed_adapter, "sse") != 0 && strcmp(c->feed_adapter, "rest") != 0) {
        snprintf(err, en, "key 'feed_adapter' must be \"sse\" or \"rest\"");
        goto out;
    }
    if (get_uint(root, "feed_poll_ms", 1000, 10, 3600000, &u, err, en))
        goto out;
    c->feed_poll_ms = (unsigned)u;
    if (get_str(root, "ratings_history", c->ratings_history, sizeof c->ratings_history, 0, "",
                err, en))
        goto out;
    json_t *mg = json_object_get(root, "margins");
    if (mg) {
        char *mt = json_is_object(mg) ? json_dumps(mg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (!mt || strlen(mt) >= sizeof c->margins) {
            snprintf(err, en, "key 'margins' must be an object of at most %zu bytes",
                     sizeof c->margins - 1);
            free(mt);
            goto out;
        }
        memcpy(c->margins, mt, strlen(mt) + 1);
        free(mt);
    }
    static const struct {
        const char *key;
        unsigned def, min, max;
        size_t off;
    } quote_keys[] = {
        {"quote_prematch_s", 300, 1, 86400, offsetof(struct config, quote_prematch_s)},
        {"quote_live_busy_s", 60, 1, 3600, offsetof(struct config, quote_live_busy_s)},
        {"quote_live_idle_s", 300, 1, 3600, offsetof(struct config, quote_live_idle_s)},
        {"quote_busy_window_s", 300, 1, 86400, offsetof(struct config, quote_busy_window_s)},
        {"quote_hold_s", 120, 1, 86400, offsetof(struct config, quote_hold_s)},
        {"quote_round_timeout_ms", 10000, 100, 600000,
         offsetof(struct config, quote_round_timeout_ms)},
        {"agreement_alert_s", 30, 1, 86400, offsetof(struct config, agreement_alert_s)},
        {"stream_max_clients", 1000, 1, 100000, offsetof(struct config, stream_max_clients)},
        {"stream_max_per_address", 32, 1, 100000,
         offsetof(struct config, stream_max_per_address)},
        {"bet_delay_pre_ms", 0, 0, 60000, offsetof(struct config, bet_delay_pre_ms)},
        {"bet_delay_live_ms", 5000, 0, 60000, offsetof(struct config, bet_delay_live_ms)},
    };
    for (size_t i = 0; i < sizeof quote_keys / sizeof *quote_keys; i++) {
        if (get_uint(root, quote_keys[i].key, quote_keys[i].def, quote_keys[i].min,
                     quote_keys[i].max, &u, err, en))
            goto out;
        *(unsigned *)((char *)c + quote_keys[i].off) = (unsigned)u;
    }
    /* The return-to-player governor's settings: checked by node/governor.c at start. */
    json_t *gv = json_object_get(root, "governor");
    char *gt = gv && json_is_object(gv) ? json_dumps(gv, JSON_COMPACT) : NULL;
    if (gv && (!gt || strlen(gt) >= sizeof c->governor)) {
        snprintf(err, en, "key 'governor' must be an object of at most %zu bytes",
                 sizeof c->governor - 1);
        free(gt);
        goto out;
    }
    snprintf(c->governor, sizeof c->governor, "%s", gt ? gt : "");
    free(gt);
    json_t *tf = json_object_get(root, "test_fault_prices");
    if (tf && !json_is_boolean(tf)) {
        snprintf(err, en, "key 'test_fault_prices' must be true or false");
        goto out;
    }
    c->test_fault_prices = json_is_true(tf);
    json_t *tc = json_object_get(root, "test_clock");
    if (tc && !json_is_boolean(tc)) {
        snprintf(err, en, "key 'test_clock' must be true or false");
        goto out;
    }
    c->test_clock = json_is_true(tc);
    if (load_members(c, json_object_get(root, "initial_members"), err, en) ||
        read_token(c, err, en) || read_secret(c, err, en) || check_data_dir(c->data_dir, err, en))
        goto out;
    rv = 0;
out:
    json_decref(root);
    return rv;
}
