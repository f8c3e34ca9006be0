/* parlayd: one node of one Parlay cluster.
 *
 *   parlayd --config FILE
 *
 * Start-up: load and check the configuration (refusing to start with a message that names the
 * bad key or path), create the data directory, load or generate the node's signing key, open
 * the LMDB state machine, start raft (bootstrapping the initial members on first start; a node
 * with no initial members waits to be added), then serve HTTP. SIGINT / SIGTERM stop cleanly. */
#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "node/auth.h"
#include "node/forward.h"
#include "node/key.h"
#include "common/log.h"
#include "common/tls.h"
#include "node/node.h"
#include "common/version.h"

static void on_closed(void *arg)
{
    struct node *n = arg;
    LOG_INFO("event=stopped");
    uv_stop(n->loop);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct node *n = s->data;
    if (n->stopping)
        return;
    n->stopping = true;
    LOG_INFO("event=stopping signal=%d", signum);
    http_stop(n);
    forward_close(n->fwd);
    accounts_stop(n);
    stream_stop(n);
    quote_stop(n);
    oracle_stop(n);
    agree_stop(n);
    auth_stop(n);
    governor_stop(n); /* before bets_hold_stop, whose client carries its reading */
    bets_hold_stop(n);
    uv_signal_stop(&n->sigint);
    uv_signal_stop(&n->sigterm);
    if (n->tls) {
        uv_close((uv_handle_t *)&n->sighup, NULL);
        uv_close((uv_handle_t *)&n->tls_check, NULL);
    }
    uv_close((uv_handle_t *)&n->sigint, NULL);
    uv_close((uv_handle_t *)&n->sigterm, NULL);
    replica_close(n->replica, on_closed, n);
}

/* Member certificates: re-read when a file changes (checked every second) or on SIGHUP. A
 * failed reload (a rotation half done) keeps the current certificate and is retried. */
static void tls_reload(struct node *n, bool force)
{
    char err[512];
    int rv = tls_files_reload(n->tls, force, err, sizeof err);
    if (rv >= 0 && n->tls_http) { /* the HTTPS context, for new connections */
        rv = tls_files_reload(n->tls_http, rv > 0, err, sizeof err) < 0 ? -1 : rv;
        n->accept_ctx.ssl_ctx = tls_files_ctx(n->tls_http);
    }
    if (rv > 0)
        LOG_INFO("event=tls_reloaded cert=%s", tls_files_cert(n->tls));
    else if (rv < 0)
        LOG_WARN("event=tls_reload_failed reason=\"%s\" (the current certificate stays)", err);
}

static void on_tls_check(uv_timer_t *t) { tls_reload(t->data, false); }

static void on_sighup(uv_signal_t *s, int signum)
{
    (void)signum;
    tls_reload(s->data, true);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: parlayd --config FILE | --version | --help\n"
               "  Runs one node of a Parlay cluster. See README.md for the configuration keys.\n");
}

int main(int argc, char **argv)
{
    const char *cfg_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            cfg_path = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            printf("parlayd %s\n", PARLAY_VERSION_LINE);
            return 0;
        } else {
            fprintf(stderr, "parlayd: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!cfg_path) {
        usage(stderr);
        return 2;
    }
    static struct node node;
    struct node *n = &node;
    char err[512];
    if (config_load(&n->cfg, cfg_path, err, sizeof err) != 0) {
        fprintf(stderr, "parlayd: %s: %s\n", cfg_path, err);
        return 1;
    }
    log_init(n->cfg.node_id, n->cfg.log_level);
    /* LMDB allocates a 2.5 MiB dirty-page list for every nested write transaction (one per
     * applied command). Served from mmap, each would cost page faults and an munmap; kept on
     * the heap and not trimmed, the same block is reused. */
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (key_load_or_create(n->cfg.data_dir, n->public_key, err, sizeof err) != 0) {
        fprintf(stderr, "parlayd: %s\n", err);
        return 1;
    }
    n->loop = uv_default_loop();
    char dir[16384];
    snprintf(dir, sizeof dir, "%.*s/fsm", (int)sizeof n->cfg.data_dir, n->cfg.data_dir);
    struct fsm_options fo = {.dir = dir,
                             .map_size = n->cfg.map_size_mb << 20,
                             .quota = n->cfg.space_quota_mb << 20,
                             .sport = n->cfg.sport[0] ? n->cfg.sport : NULL,
                             .cluster = n->cfg.cluster,
                             .loop = n->loop,
                             .writeback_ms = n->cfg.lmdb_writeback_ms};
    if (fsm_open(&n->fsm, &fo, err, sizeof err) != 0) {
        fprintf(stderr, "parlayd: key 'data_dir': %s\n", err);
        return 1;
    }
    snprintf(dir, sizeof dir, "%.*s/raft", (int)sizeof n->cfg.data_dir, n->cfg.data_dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "parlayd: key 'data_dir': %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (n->cfg.tls_cert_file[0] &&
        tls_files_open(&n->tls, n->cfg.tls_ca_file, n->cfg.tls_cert_file, n->cfg.tls_key_file,
                       true, err, sizeof err) != 0) {
        fprintf(stderr, "parlayd: keys 'tls_ca_file', 'tls_cert_file', 'tls_key_file': %s\n",
                err);
        return 1;
    }
    struct replica_options ro = {.loop = n->loop,
                                 .tls = n->tls,
                                 .id = n->cfg.node_id,
                                 .raft_address = n->cfg.raft_address,
                                 .http_address = n->cfg.http_address,
                                 .dir = dir,
                                 .fsm = n->fsm,
                                 .initial = n->cfg.initial,
                                 .n_initial = n->cfg.n_initial,
                                 .election_timeout_ms = n->cfg.election_timeout_ms,
                                 .heartbeat_timeout_ms = n->cfg.heartbeat_timeout_ms,
                                 .snapshot_threshold = n->cfg.snapshot_threshold,
                                 .snapshot_threshold_max = n->cfg.snapshot_threshold_max,
                                 .snapshot_trailing = n->cfg.snapshot_trailing,
                                 .max_inflight_entries = n->cfg.max_inflight_entries,
                                 .idem_ttl_ms = (uint64_t)n->cfg.idempotency_ttl_s * 1000,
                                 .cluster = n->cfg.cluster,
                                 .secret = n->cfg.cluster_secret,
                                 .max_snapshot_bytes = (uint64_t)n->cfg.map_size_mb << 20};
    if (replica_start(&n->replica, &ro, err, sizeof err) != 0) {
        fprintf(stderr, "parlayd: %s\n", err);
        return 1;
    }
    n->fwd = forward_new(n);
    if (!n->cfg.sport[0] && accounts_start(n, err, sizeof err) != 0) {
        fprintf(stderr, "parlayd: %s\n", err);
        return 1;
    }
    if (auth_start(n, err, sizeof err) != 0 || bets_hold_start(n, err, sizeof err) != 0) {
        fprintf(stderr, "parlayd: %s\n", err);
        return 1;
    }
    if (agree_start(n, err, sizeof err) != 0 || quote_start(n, err, sizeof err) != 0 ||
        oracle_start(n, err, sizeof err) != 0 || governor_start(n, err, sizeof err) != 0 ||
        stream_start(n) != 0) {
        fprintf(stderr, "parlayd: %s\n", err);
        return 1;
    }
    if (http_start(n, err, sizeof err) != 0) {
        fprintf(stderr, "parlayd: %s\n", err);
        return 1;
    }
    uv_signal_init(n->loop, &n->sigint);
    uv_signal_init(n->loop, &n->sigterm);
    n->sigint.data = n->sigterm.data = n;
    uv_signal_start(&n->sigint, on_signal, SIGINT);
    uv_signal_start(&n->sigterm, on_signal, SIGTERM);
    if (n->tls) {
        uv_signal_init(n->loop, &n->sighup);
        uv_timer_init(n->loop, &n->tls_check);
        n->sighup.data = n->tls_check.data = n;
        uv_signal_start(&n->sighup, on_sighup, SIGHUP);
        uv_timer_start(&n->tls_check, on_tls_check, 1000, 1000);
    }
    LOG_INFO("event=started cluster=%s role=%s raft=%s http=%s members=%u applied=%llu",
             n->cfg.cluster, n->cfg.role, n->cfg.raft_address, n->cfg.http_address,
             n->cfg.n_initial, (unsigned long long)fsm_last_applied(n->fsm));
    uv_run(n->loop, UV_RUN_DEFAULT);
    fsm_close(n->fsm);
    tls_files_free(n->tls_http);
    tls_files_free(n->tls);
    curl_global_cleanup();
    return 0;
}
