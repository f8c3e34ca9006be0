#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#ifndef PARLAYD
#define PARLAYD "build/parlayd-san"
#endif

static int h_nib(char c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

size_t h_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    if (n > cap) { /* a test's own bug: stop it loudly */
        fprintf(stderr, "h_unhex: %zu bytes do not fit in %zu\n", n, cap);
        abort();
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(h_nib(hex[2 * i]) << 4 | h_nib(hex[2 * i + 1]));
    return n;
}

void h_start_accounts(struct h_cluster *c, const char *extra_config)
{
    h_cluster_init(c, 3);
    c->role = "accounts";
    c->extra_config = extra_config;
    h_cluster_write_configs(c);
    h_accounts_ready(c);
}

void h_accounts_ready(struct h_cluster *c)
{
    h_start_cluster(c);
    /* The leader makes the cluster's first signing key; wait until every node has it. */
    for (int i = 0; i < c->n; i++) {
        double deadline = h_now() + 30;
        size_t keys = 0;
        while (keys == 0 && h_now() < deadline) {
            struct h_resp r = h_http(c, i, "GET", "/.well-known/jwks.json", NULL, NULL, false);
            keys = json_array_size(json_object_get(r.json, "keys"));
            h_resp_free(&r);
            if (!keys)
                h_sleep_ms(20);
        }
        if (keys != 1)
            fail_msg("node %d has %zu signing keys, not 1, after 30 s", c->nodes[i].id, keys);
    }
}

double h_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void h_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Whether @port on 127.0.0.1 can be bound now (then released). */
static bool port_bindable(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A port that is free now and that the kernel will not hand out on its own meanwhile.
 * A port the kernel picks for bind(0) comes from the ephemeral range, the same range every
 * outgoing connection takes its local port from: between this pick and the node's listen, a
 * connection (the test's own curl, another node's client) could take it, and the node then
 * fails to start ("raft start:" with no message, or its HTTP listener refused). So the ports
 * come from below (or above) /proc/sys/net/ipv4/ip_local_port_range, where only an explicit
 * bind lands; a per-process cursor that starts at a pid-dependent place keeps two programs
 * and two calls of one program apart. */
static int free_port(void)
{
    static int lo, hi, next;
    if (!lo) {
        int elo = 32768, ehi = 60999;
        FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
        if (f) {
            if (fscanf(f, "%d %d", &elo, &ehi) != 2)
                elo = 32768, ehi = 60999;
            fclose(f);
        }
        if (elo > 12000) {
            lo = 10000, hi = elo - 1;
        } else if (ehi < 63000) {
            lo = ehi + 1, hi = 65535;
        } else {
            fprintf(stderr, "free_port: the ephemeral range %d-%d leaves no room\n", elo, ehi);
            exit(2);
        }
        next = lo + (int)((unsigned)getpid() * 7919u % (unsigned)(hi - lo + 1));
    }
    for (int tries = 0; tries <= hi - lo; tries++) {
        int p = next;
        next = next >= hi ? lo : next + 1;
        if (port_bindable(p))
            return p;
    }
    fprintf(stderr, "free_port: no free port in %d-%d\n", lo, hi);
    exit(2);
}

static void node_paths(struct h_cluster *c, struct h_node *nd)
{
    snprintf(nd->raft_host, sizeof nd->raft_host, "127.0.0.1");
    snprintf(nd->http_host, sizeof nd->http_host, "127.0.0.1");
    snprintf(nd->config, sizeof nd->config, "%s/node%d.json", c->root, nd->id);
    snprintf(nd->dir, sizeof nd->dir, "%s/data%d", c->root, nd->id);
    snprintf(nd->log, sizeof nd->log, "%s/node%d.log", c->root, nd->id);
    nd->raft_port = free_port();
    nd->http_port = free_port();
    while (nd->http_port == nd->raft_port)
        nd->http_port = free_port();
}

/* What each live cluster has running. A failed assertion leaves a test function without
 * reaching h_cluster_destroy: whatever is still registered is killed and removed when the
 * program exits. */
#define H_MAX_CLUSTERS 8
struct live {
    bool active;
    char root[256];
    pid_t pids[H_MAX_NODES];
    char netns[H_MAX_NODES][32];
};
static struct live lives[H_MAX_CLUSTERS];

static void live_cleanup(struct live *l)
{
    if (!l->active)
        return;
    l->active = false;
    for (int i = 0; i < H_MAX_NODES; i++) {
        if (l->pids[i] > 0) {
            kill(l->pids[i], SIGCONT);
            kill(l->pids[i], SIGKILL);
            waitpid(l->pids[i], NULL, 0);
        }
        if (l->netns[i][0]) {
            char cmd[128];
            snprintf(cmd, sizeof cmd, "ip netns del %s >/dev/null 2>&1", l->netns[i]);
            if (system(cmd) != 0)
                fprintf(stderr, "could not delete namespace %s\n", l->netns[i]);
        }
    }
    if (l->root[0] && !getenv("PARLAY_KEEP_TEST_DIRS")) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", l->root);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", l->root);
    }
    memset(l, 0, sizeof *l);
}

static void lives_cleanup(void)
{
    for (int k = 0; k < H_MAX_CLUSTERS; k++)
        live_cleanup(&lives[k]);
}

/* The registry entry of @c (by its root directory), or NULL. */
static struct live *live_of(struct h_cluster *c)
{
    for (int k = 0; k < H_MAX_CLUSTERS; k++)
        if (lives[k].active && !strcmp(lives[k].root, c->root))
            return &lives[k];
    return NULL;
}

void h_cluster_init(struct h_cluster *c, int n)
{
    static bool registered;
    if (!registered) {
        atexit(lives_cleanup);
        registered = true;
    }
    memset(c, 0, sizeof *c);
    /* PARLAY_IT_DIR: where the clusters' roots go (default /tmp), e.g. apart from other runs */
    const char *base = getenv("PARLAY_IT_DIR");
    snprintf(c->root, sizeof c->root, "%s/parlay-it-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(c->root)) {
        perror("mkdtemp");
        exit(2);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (int k = 0; k < H_MAX_CLUSTERS; k++)
        if (!lives[k].active) {
            lives[k].active = true;
            snprintf(lives[k].root, sizeof lives[k].root, "%s", c->root);
            break;
        }
    snprintf(c->token, sizeof c->token, "it-token-%08x%08x", (unsigned)rand(), (unsigned)getpid());
    snprintf(c->token_file, sizeof c->token_file, "%s/admin.token", c->root);
    FILE *f = fopen(c->token_file, "w");
    fprintf(f, "%s\n", c->token);
    fclose(f);
    chmod(c->token_file, 0600);
    snprintf(c->secret_file, sizeof c->secret_file, "%s/cluster.secret", c->root);
    f = fopen(c->secret_file, "w");
    for (int k = 0; k < 32; k++)
        fprintf(f, "%02x", (unsigned)(rand() & 0xff));
    fprintf(f, "\n");
    fclose(f);
    chmod(c->secret_file, 0600);
    c->snapshot_threshold = 1024;
    c->snapshot_trailing = 2048;
    /* The tests' 100 keeps many idle clusters cheap; a benchmark sets the deployment's 20. */
    const char *hb = getenv("PARLAY_IT_HEARTBEAT_MS");
    c->heartbeat_ms = hb && atoi(hb) >= 10 ? (unsigned)atoi(hb) : 100;
    c->max_body_bytes = 65536;
    c->map_size_mb = 64;
    c->n = n;
    for (int i = 0; i < n; i++) {
        c->nodes[i].id = i + 1;
        c->nodes[i].initial = true;
        node_paths(c, &c->nodes[i]);
    }
    h_cluster_write_configs(c);
}

int h_cluster_add_spare(struct h_cluster *c)
{
    int i = c->n++;
    c->nodes[i].id = i + 1;
    c->nodes[i].initial = false;
    node_paths(c, &c->nodes[i]);
    h_cluster_write_configs(c);
    return i;
}

void h_cluster_write_configs(struct h_cluster *c)
{
    json_t *members = json_array();
    for (int i = 0; i < c->n; i++) {
        if (!c->nodes[i].initial)
            continue;
        char ra[64], ha[64];
        snprintf(ra, sizeof ra, "%s:%d", c->nodes[i].raft_host, c->nodes[i].raft_port);
        snprintf(ha, sizeof ha, "%s:%d", c->nodes[i].http_host, c->nodes[i].http_port);
        json_array_append_new(members, json_pack("{s:i, s:s, s:s}", "id", c->nodes[i].id,
                                                 "raft_address", ra, "http_address", ha));
    }
    for (int i = 0; i < c->n; i++) {
        struct h_node *nd = &c->nodes[i];
        char ra[64], ha[64];
        snprintf(ra, sizeof ra, "%s:%d", nd->raft_host, nd->raft_port);
        snprintf(ha, sizeof ha, "%s:%d", nd->http_host, nd->http_port);
        json_t *cfg = json_pack(
            "{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s}",
            "node_id", nd->id, "cluster", c->role ? c->role : "football", "role",
            c->role ? c->role : "sport:football", "raft_address",
            ra, "http_address", ha, "data_dir", nd->dir, "admin_token_file", c->token_file,
            "snapshot_threshold", c->snapshot_threshold, "snapshot_trailing",
            c->snapshot_trailing, "election_timeout_ms", 1000, "heartbeat_timeout_ms",
            c->heartbeat_ms,
            "max_body_bytes", c->max_body_bytes, "map_size_mb", c->map_size_mb,
            "forward_timeout_ms", 5000, "log_level", "info");
        json_object_set_new(cfg, "cluster_secret_file", json_string(c->secret_file));
        /* A test that lowers the threshold wants snapshots that often, whatever the state's
         * size (the threshold grows with it otherwise: replica.c snapshot_scale). */
        if (c->snapshot_threshold < 1024)
            json_object_set_new(cfg, "snapshot_threshold_max",
                                json_integer(c->snapshot_threshold));
        if (c->role && !strcmp(c->role, "accounts")) {
            if (!c->keyring_file[0])
                snprintf(c->keyring_file, sizeof c->keyring_file, "%s/secrets.keys", c->root);
            if (access(c->keyring_file, F_OK) != 0) {
                FILE *kf = fopen(c->keyring_file, "w");
                fprintf(kf, "it1 ");
                for (int k = 0; k < 32; k++)
                    fprintf(kf, "%02x", (unsigned)(rand() & 0xff));
                fprintf(kf, "\n");
                fclose(kf);
                chmod(c->keyring_file, 0600);
            }
            json_object_set_new(cfg, "secrets_key_file", json_string(c->keyring_file));
        }
        if (c->space_quota_mb)
            json_object_set_new(cfg, "space_quota_mb", json_integer(c->space_quota_mb));
        if (c->extra_config) {
            json_t *extra = json_loads(c->extra_config, 0, NULL);
            json_object_update(cfg, extra);
            json_decref(extra);
        }
        if (c->node_extra[i][0]) {
            json_t *extra = json_loads(c->node_extra[i], 0, NULL);
            json_object_update(cfg, extra);
            json_decref(extra);
        }
        if (nd->initial)
            json_object_set(cfg, "initial_members", members);
        json_dump_file(cfg, nd->config, JSON_INDENT(2));
        json_decref(cfg);
    }
    json_decref(members);
}

void h_node_start(struct h_cluster *c, int i)
{
    struct h_node *nd = &c->nodes[i];
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(nd->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0", 1);
        setenv("LSAN_OPTIONS", "suppressions=tests/integration/lsan.supp:print_suppressions=0", 1);
        if (nd->netns[0])
            execl("/usr/sbin/ip", "ip", "netns", "exec", nd->netns, PARLAYD, "--config", nd->config,
                  (char *)NULL);
        else
            execl(PARLAYD, PARLAYD, "--config", nd->config, (char *)NULL);
        perror("exec parlayd");
        _exit(127);
    }
    nd->pid = pid;
    struct live *l = live_of(c);
    if (l)
        l->pids[i] = pid;
}

void h_cluster_start_all(struct h_cluster *c)
{
    for (int i = 0; i < c->n; i++)
        if (!c->nodes[i].pid)
            h_node_start(c, i);
}

void h_node_signal(struct h_cluster *c, int i, int sig)
{
    if (c->nodes[i].pid)
        kill(c->nodes[i].pid, sig);
}

void h_node_kill(struct h_cluster *c, int i)
{
    struct h_node *nd = &c->nodes[i];
    if (!nd->pid)
        return;
    kill(nd->pid, SIGCONT);
    kill(nd->pid, SIGKILL);
    waitpid(nd->pid, NULL, 0);
    nd->pid = 0;
    struct live *l = live_of(c);
    if (l)
        l->pids[i] = 0;
}

/* Print what the sanitizers said in node @i's log (at most a few lines of each report). */
static void print_sanitizer_report(struct h_cluster *c, int i)
{
    FILE *f = fopen(c->nodes[i].log, "r");
    if (!f)
        return;
    char line[4096];
    int left = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "Sanitizer") || strstr(line, "runtime error"))
            left = 40;
        if (left > 0) {
            fprintf(stderr, "  node %d: %s", c->nodes[i].id, line);
            left--;
        }
    }
    fclose(f);
}

int h_node_stop(struct h_cluster *c, int i)
{
    struct h_node *nd = &c->nodes[i];
    int status = 0;
    if (!nd->pid)
        return 0;
    kill(nd->pid, SIGCONT);
    kill(nd->pid, SIGTERM);
    double deadline = h_now() + 20;
    bool hung = false;
    for (;;) {
        pid_t p = waitpid(nd->pid, &status, WNOHANG);
        if (p == nd->pid)
            break;
        if (h_now() > deadline) {
            kill(nd->pid, SIGKILL);
            waitpid(nd->pid, &status, 0);
            hung = true;
            break;
        }
        h_sleep_ms(20);
    }
    nd->pid = 0;
    struct live *l = live_of(c);
    if (l)
        l->pids[i] = 0;
    if (hung || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* A clean stop exits 0: anything else (a leak report, a sanitizer error, a crash, a
         * hang) fails the test at h_cluster_destroy. */
        c->stop_failures++;
        snprintf(c->stop_failure, sizeof c->stop_failure,
                 "node %d did not stop cleanly on SIGTERM (%s %d); log %s", nd->id,
                 hung ? "hung, killed" : WIFEXITED(status) ? "exit" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), nd->log);
        fprintf(stderr, "%s\n", c->stop_failure);
        print_sanitizer_report(c, i);
    }
    return status;
}

void h_cluster_stop_all(struct h_cluster *c)
{
    for (int i = 0; i < c->n; i++)
        h_node_stop(c, i);
}

static void netns_teardown(struct h_cluster *c);

void h_cluster_destroy(struct h_cluster *c)
{
    /* Every node still running is stopped the way an operator stops it (SIGTERM), with leak
     * detection on: a node that does not exit 0 fails the test, after the clean-up. */
    for (int i = 0; i < c->n; i++)
        h_node_stop(c, i);
    netns_teardown(c);
    struct live *l = live_of(c);
    if (l)
        memset(l, 0, sizeof *l);
    if (!getenv("PARLAY_KEEP_TEST_DIRS")) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->root);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", c->root);
    } else {
        fprintf(stderr, "kept %s\n", c->root);
    }
    if (c->stop_failures)
        fail_msg("%d node(s) did not stop cleanly; the last: %s", c->stop_failures,
                 c->stop_failure);
}

struct sink {
    char *p;
    size_t n;
};

static size_t on_data(char *p, size_t s, size_t n, void *arg)
{
    struct sink *b = arg;
    char *np = realloc(b->p, b->n + s * n + 1);
    memcpy(np + b->n, p, s * n);
    b->p = np;
    b->n += s * n;
    b->p[b->n] = 0;
    return s * n;
}

static void hv(const char *line, size_t n, const char *name, char *out, size_t on)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl))
        return;
    const char *v = line + nl;
    size_t vl = n - nl;
    while (vl && *v == ' ')
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
        vl--;
    if (vl < on) {
        memcpy(out, v, vl);
        out[vl] = 0;
    }
}

static size_t on_header(char *p, size_t s, size_t n, void *arg)
{
    struct h_resp *r = arg;
    hv(p, s * n, "content-type:", r->content_type, sizeof r->content_type);
    hv(p, s * n, "retry-after:", r->retry_after, sizeof r->retry_after);
    hv(p, s * n, "idempotent-replayed:", r->replayed, sizeof r->replayed);
    hv(p, s * n, "www-authenticate:", r->www_authenticate, sizeof r->www_authenticate);
    return s * n;
}

char h_tls_ca[512];

struct h_resp h_http_raw(int port, const char *method, const char *path, const char *body,
                         const char *const *headers, long timeout_ms)
{
    return h_http_host("127.0.0.1", port, method, path, body, headers, timeout_ms);
}

struct h_resp h_http_host(const char *host, int port, const char *method, const char *path,
                          const char *body, const char *const *headers, long timeout_ms)
{
    struct h_resp r;
    memset(&r, 0, sizeof r);
    CURL *e = curl_easy_init();
    char url[1024];
    snprintf(url, sizeof url, "%s://%s:%d%s", h_tls_ca[0] ? "https" : "http", host, port, path);
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    if (h_tls_ca[0]) /* nodes with member TLS serve HTTPS; the client shows no certificate */
        curl_easy_setopt(e, CURLOPT_CAINFO, h_tls_ca);
    for (const char *const *p = headers; p && *p; p++)
        h = curl_slist_append(h, *p);
    struct sink s = {NULL, 0};
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
    if (s.p)
        r.json = json_loads(s.p, 0, NULL);
    free(s.p);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return r;
}

struct h_resp h_http(struct h_cluster *c, int i, const char *method, const char *path,
                     const char *body, const char *idem, bool admin)
{
    return h_http_bearer(c, i, method, path, body, idem, admin ? c->token : NULL);
}

struct h_resp h_http_bearer(struct h_cluster *c, int i, const char *method, const char *path,
                            const char *body, const char *idem, const char *bearer)
{
    char auth[2100], key[300];
    const char *hdrs[4];
    int k = 0;
    if (bearer) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        hdrs[k++] = auth;
    }
    if (idem) {
        snprintf(key, sizeof key, "Idempotency-Key: %s", idem);
        hdrs[k++] = key;
    }
    if (body)
        hdrs[k++] = "Content-Type: application/json";
    hdrs[k] = NULL;
    return h_http_host(c->nodes[i].http_host, c->nodes[i].http_port, method, path, body, hdrs,
                       15000);
}

void h_resp_free(struct h_resp *r)
{
    json_decref(r->json);
    r->json = NULL;
}

json_t *h_status(struct h_cluster *c, int i)
{
    if (!c->nodes[i].pid)
        return NULL;
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
    const char *hdrs[] = {auth, NULL};
    struct h_resp r = h_http_host(c->nodes[i].http_host, c->nodes[i].http_port, "GET",
                                  "/admin/v1/node", NULL, hdrs, 2000);
    if (r.status != 200) {
        h_resp_free(&r);
        return NULL;
    }
    return r.json;
}

int h_wait_leader(struct h_cluster *c, int ms)
{
    double deadline = h_now() + ms / 1000.0;
    do {
        for (int i = 0; i < c->n; i++) {
            json_t *st = h_status(c, i);
            const char *state = st ? json_string_value(json_object_get(st, "state")) : NULL;
            bool leader = state && !strcmp(state, "leader");
            json_decref(st);
            if (leader)
                return i;
        }
        h_sleep_ms(50);
    } while (h_now() < deadline);
    return -1;
}

bool h_wait_applied(struct h_cluster *c, unsigned long long index, int ms)
{
    double deadline = h_now() + ms / 1000.0;
    do {
        bool all = true;
        for (int i = 0; i < c->n && all; i++) {
            if (!c->nodes[i].pid)
                continue;
            json_t *st = h_status(c, i);
            all = st && (unsigned long long)json_integer_value(json_object_get(st, "last_applied")) >=
                            index;
            json_decref(st);
        }
        if (all)
            return true;
        h_sleep_ms(50);
    } while (h_now() < deadline);
    return false;
}

bool h_wait_ready(struct h_cluster *c, int i, int ms)
{
    double deadline = h_now() + ms / 1000.0;
    do {
        struct h_resp r = h_http_host(c->nodes[i].http_host, c->nodes[i].http_port, "GET",
                                      "/readyz", NULL, NULL, 1000);
        h_resp_free(&r);
        if (r.status == 200)
            return true;
        h_sleep_ms(50);
    } while (h_now() < deadline);
    return false;
}

int h_parlayctl(struct h_cluster *c, int i, const char *args, char *out, size_t n)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "build/parlayctl --url %s:%d --token-file %s %s 2>&1",
             c->nodes[i].http_host, c->nodes[i].http_port, c->token_file, args);
    FILE *p = popen(cmd, "r");
    size_t got = p ? fread(out, 1, n - 1, p) : 0;
    out[got] = 0;
    int st = p ? pclose(p) : -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *h_str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

json_int_t h_num(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

const char *h_dump(json_t *o)
{
    static char buf[4096];
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    snprintf(buf, sizeof buf, "%s", t ? t : "(no body)");
    free(t);
    return buf;
}

double h_overround_1x2(json_t *market)
{
    json_t *x = json_object_get(json_object_get(market, "prices"), "1x2");
    double s = 0;
    static const char *const o[] = {"home", "draw", "away"};
    for (int k = 0; k < 3; k++)
        s += h_num(x, o[k]) > 0 ? 1000.0 / (double)h_num(x, o[k]) : 10.0;
    return s;
}

void h_metrics(struct h_cluster *c, int i, char *out, size_t n)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "curl -s http://%s:%d/metrics", c->nodes[i].http_host,
             c->nodes[i].http_port);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, n - 1, p);
    out[got] = 0;
    pclose(p);
}

int h_log_count(struct h_cluster *c, int i, const char *needle)
{
    FILE *f = fopen(c->nodes[i].log, "r");
    if (!f)
        return 0;
    char line[4096];
    int count = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle))
            count++;
    fclose(f);
    return count;
}

/* ---- network namespaces --------------------------------------------------------------------
 *
 * Node i (1-based k = i + 1) lives in namespace "plN-k" (N: the run's net id). Its Raft address
 * is 10.80.N.k on its loopback, reachable by each peer j through a veth pair that joins the two
 * namespaces directly (a route per peer), so cutting one pair partitions exactly those two nodes
 * both ways. Its HTTP address 10.81.N.k... is on a further veth to the test's namespace, which
 * stays up so that the test can always talk to every node; peers reach a node's HTTP address
 * through their direct link too (forwarding to the leader follows Raft's connectivity). */

static int sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[600];
    snprintf(full, sizeof full, "%s >/dev/null 2>&1", cmd);
    return system(full);
}

static void pair_name(struct h_cluster *c, int a, int b, int side, char out[32])
{
    snprintf(out, 32, "p%d%c%d%d", c->net_id % 1000, side ? 'b' : 'a', a + 1, b + 1);
}

static void pair_routes(struct h_cluster *c, int i, int j)
{
    char dev[32];
    int lo = i < j ? i : j, hi = i < j ? j : i;
    pair_name(c, lo, hi, i == lo ? 0 : 1, dev);
    sh("ip -n %s route replace 10.80.%d.%d/32 dev %s", c->nodes[i].netns, c->net_id, j + 1, dev);
    sh("ip -n %s route replace %s/32 dev %s", c->nodes[i].netns, c->nodes[j].http_host, dev);
}

void h_link(struct h_cluster *c, int i, int j, bool up)
{
    char a[32], b[32];
    int lo = i < j ? i : j, hi = i < j ? j : i;
    pair_name(c, lo, hi, 0, a);
    pair_name(c, lo, hi, 1, b);
    sh("ip -n %s link set %s %s", c->nodes[lo].netns, a, up ? "up" : "down");
    sh("ip -n %s link set %s %s", c->nodes[hi].netns, b, up ? "up" : "down");
    if (up) { /* routes over a link that went down are gone: put them back */
        pair_routes(c, lo, hi);
        pair_routes(c, hi, lo);
    }
}

void h_netns_route(struct h_cluster *c, const char *addr)
{
    for (int i = 0; i < c->n; i++)
        if (c->nodes[i].netns[0])
            sh("ip -n %s route replace %s/32 via 10.81.%d.%d", c->nodes[i].netns, addr, c->net_id,
               4 * i + 1);
}

static void netns_teardown(struct h_cluster *c)
{
    for (int i = 0; i < c->n; i++)
        if (c->nodes[i].netns[0]) {
            sh("ip netns del %s", c->nodes[i].netns);
            c->nodes[i].netns[0] = 0;
        }
}

bool h_cluster_init_netns(struct h_cluster *c, int n)
{
    if (geteuid() != 0)
        return false;
    h_cluster_init(c, n);
    c->net_id = 1 + (int)(getpid() % 200);
    for (int i = 0; i < n; i++) {
        struct h_node *nd = &c->nodes[i];
        snprintf(nd->netns, sizeof nd->netns, "pl%d-%d", c->net_id, i + 1);
        struct live *l = live_of(c);
        if (l)
            snprintf(l->netns[i], sizeof l->netns[i], "%s", nd->netns);
        sh("ip netns del %s", nd->netns); /* a leftover of an earlier run */
        if (sh("ip netns add %s", nd->netns) != 0) {
            netns_teardown(c);
            h_cluster_destroy(c);
            return false;
        }
        sh("ip -n %s link set lo up", nd->netns);
        sh("ip -n %s addr add 10.80.%d.%d/32 dev lo", nd->netns, c->net_id, i + 1);
        snprintf(nd->raft_host, sizeof nd->raft_host, "10.80.%d.%d", c->net_id, i + 1);
        snprintf(nd->http_host, sizeof nd->http_host, "10.81.%d.%d", c->net_id, 4 * i + 2);
        nd->raft_port = 7000;
        nd->http_port = 8000;
        /* The link to the test's namespace: 10.81.N.(4i+1) here, 10.81.N.(4i+2) there. */
        char host_if[32], node_if[32];
        snprintf(host_if, sizeof host_if, "p%dh%d", c->net_id % 1000, i + 1);
        snprintf(node_if, sizeof node_if, "p%dn%d", c->net_id % 1000, i + 1);
        sh("ip link del %s", host_if);
        sh("ip link add %s type veth peer name %s netns %s", host_if, node_if, nd->netns);
        sh("ip addr add 10.81.%d.%d/30 dev %s", c->net_id, 4 * i + 1, host_if);
        sh("ip link set %s up", host_if);
        sh("ip -n %s addr add %s/30 dev %s", nd->netns, nd->http_host, node_if);
        sh("ip -n %s link set %s up", nd->netns, node_if);
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            char a[32], b[32];
            pair_name(c, i, j, 0, a);
            pair_name(c, i, j, 1, b);
            sh("ip -n %s link add %s type veth peer name %s netns %s", c->nodes[i].netns, a, b,
               c->nodes[j].netns);
            sh("ip -n %s link set %s up", c->nodes[i].netns, a);
            sh("ip -n %s link set %s up", c->nodes[j].netns, b);
            pair_routes(c, i, j);
            pair_routes(c, j, i);
        }
    h_cluster_write_configs(c);
    return true;
}

/* ---- scenario helpers shared by the test programs ---- */

char *h_fixture_body(const char *id)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"id\":\"%s\",\"sport\":\"football\",\"competition\":\"Ligue 1\",\"home\":\"Home "
             "%s\",\"away\":\"Away %s\",\"kickoff\":\"2026-12-05T20:00:00Z\"}",
             id, id, id);
    return buf;
}

static int alive_node(struct h_cluster *c, int hint)
{
    for (int k = 0; k < c->n; k++) {
        int i = (hint + k) % c->n;
        if (c->nodes[i].pid)
            return i;
    }
    return -1;
}

/* A client that retries with the same Idempotency-Key until it gets a definitive answer
 * (anything but "no answer" or 503), rotating over the live nodes. */
long h_write_until_answer(struct h_cluster *c, int hint, const char *method,
                               const char *path, const char *body, const char *key,
                               json_t **out)
{
    double deadline = h_now() + 40;
    for (int attempt = 0; h_now() < deadline; attempt++) {
        int i = alive_node(c, hint + attempt);
        struct h_resp r = h_http(c, i, method, path, body, key, true);
        if (r.status != 0 && r.status != 503) {
            if (out)
                *out = r.json;
            else
                h_resp_free(&r);
            return r.status;
        }
        h_resp_free(&r);
        h_sleep_ms(100);
    }
    return 0;
}

/* Wait until node @i serves fixture @id locally with @status and @version. */
bool h_wait_fixture(struct h_cluster *c, int i, const char *id, const char *status,
                         int version)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/fixtures/%s", id);
    double deadline = h_now() + H_WAIT_MS / 1000.0;
    do {
        struct h_resp r = h_http(c, i, "GET", path, NULL, NULL, false);
        bool ok = r.status == 200 &&
                  !strcmp(json_string_value(json_object_get(r.json, "status")), status) &&
                  json_integer_value(json_object_get(r.json, "version")) == version;
        h_resp_free(&r);
        if (ok)
            return true;
        h_sleep_ms(50);
    } while (h_now() < deadline);
    return false;
}

void h_start_cluster(struct h_cluster *c)
{
    h_cluster_start_all(c);
    if (h_wait_leader(c, H_WAIT_MS) < 0) {
        fprintf(stderr, "no leader within %d ms\n", H_WAIT_MS);
        abort();
    }
    for (int i = 0; i < c->n; i++)
        if (c->nodes[i].pid)
            if (!h_wait_ready(c, i, H_WAIT_MS)) {
                fprintf(stderr, "node %d not ready within %d ms\n", c->nodes[i].id, H_WAIT_MS);
                abort();
            }
}


/* ---- the payment provider's stand-in ---- */

static struct h_paystandin *paystandins[4];

static void paystandins_cleanup(void)
{
    for (size_t k = 0; k < sizeof paystandins / sizeof *paystandins; k++)
        if (paystandins[k])
            h_paystandin_stop(paystandins[k]);
}

static void write_private(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
        write(fd, "\n", 1) != 1)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    close(fd);
}

int h_paystandin_start(struct h_paystandin *ps, const char *secret, const char *api_key)
{
    static bool registered;
    if (!registered) {
        atexit(paystandins_cleanup);
        registered = true;
    }
    memset(ps, 0, sizeof *ps);
    ps->pid = -1;
    ps->out_fd = -1;
    snprintf(ps->secret, sizeof ps->secret, "%s", secret ? secret : "pay-test-secret");
    snprintf(ps->api_key, sizeof ps->api_key, "%s", api_key ? api_key : "pay-test-key");
    const char *base = getenv("PARLAY_IT_DIR");
    snprintf(ps->dir, sizeof ps->dir, "%s/parlay-pay-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(ps->dir)) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(ps->secret_file, sizeof ps->secret_file, "%s/webhook.secret", ps->dir);
    snprintf(ps->api_key_file, sizeof ps->api_key_file, "%s/api.key", ps->dir);
    snprintf(ps->log, sizeof ps->log, "%s/standin.log", ps->dir);
    write_private(ps->secret_file, ps->secret);
    write_private(ps->api_key_file, ps->api_key);
    const char *node = getenv("PARLAY_NODE");
    if (!node || !*node)
        node = "node";
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int lf = open(ps->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(pfd[1], 1);
        if (lf >= 0)
            dup2(lf, 2);
        close(pfd[0]);
        close(pfd[1]);
        execlp(node, node, "tests/standins/pay-standin.mjs", "--port", "0", "--secret",
               ps->secret, "--api-key", ps->api_key, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    ps->pid = pid;
    ps->out_fd = pfd[0];
    for (size_t k = 0; k < sizeof paystandins / sizeof *paystandins; k++)
        if (!paystandins[k]) {
            paystandins[k] = ps;
            break;
        }
    /* "READY http://127.0.0.1:<port>\n", with a deadline. */
    char buf[256];
    size_t len = 0;
    double deadline = h_now() + 60;
    while (h_now() < deadline) {
        struct pollfd p = {.fd = ps->out_fd, .events = POLLIN};
        int r = poll(&p, 1, (int)((deadline - h_now()) * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t got = read(ps->out_fd, buf + len, sizeof buf - 1 - len);
        if (got <= 0)
            break;
        len += (size_t)got;
        buf[len] = 0;
        char *nl = strchr(buf, '\n');
        if (nl && !strncmp(buf, "READY ", 6)) {
            *nl = 0;
            snprintf(ps->url, sizeof ps->url, "%.127s", buf + 6);
            return 0;
        }
        if (nl || len == sizeof buf - 1)
            break;
    }
    fprintf(stderr, "the pay stand-in did not become ready; its log (%s):\n", ps->log);
    FILE *f = fopen(ps->log, "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        fprintf(stderr, "  | %s", line);
    if (f)
        fclose(f);
    h_paystandin_stop(ps);
    return -1;
}

void h_paystandin_stop(struct h_paystandin *ps)
{
    for (size_t k = 0; k < sizeof paystandins / sizeof *paystandins; k++)
        if (paystandins[k] == ps)
            paystandins[k] = NULL;
    if (ps->pid > 0) {
        kill(ps->pid, SIGTERM);
        double deadline = h_now() + 10;
        while (waitpid(ps->pid, NULL, WNOHANG) == 0) {
            if (h_now() > deadline) {
                kill(ps->pid, SIGKILL);
                waitpid(ps->pid, NULL, 0);
                break;
            }
            h_sleep_ms(20);
        }
        ps->pid = -1;
    }
    if (ps->out_fd >= 0)
        close(ps->out_fd);
    ps->out_fd = -1;
    if (ps->dir[0] && !getenv("PARLAY_KEEP_TEST_DIRS")) {
        unlink(ps->secret_file);
        unlink(ps->api_key_file);
        unlink(ps->log);
        rmdir(ps->dir);
    }
    ps->dir[0] = 0;
}

char *h_paystandin_config(const struct h_paystandin *ps, char *out, size_t cap)
{
    json_t *j = json_pack(
        "{s:{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:i, s:s}}}", "payments", "name",
        "standin", "api_url", ps->url, "api_key_file", ps->api_key_file, "currency", "EUR",
        "webhook", "secret_file", ps->secret_file, "signature_header", "x-pay-signature",
        "signature_prefix", "v1=", "signed_payload", "timestamp.body", "timestamp_header",
        "x-pay-timestamp", "max_age_s", 300, "event_id_field", "id");
    char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!t || strlen(t) >= cap)
        fail_msg("h_paystandin_config: %zu bytes do not fit in %zu", t ? strlen(t) : 0, cap);
    memcpy(out, t, strlen(t) + 1);
    free(t);
    return out;
}
