#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PARLAYD
#define PARLAYD "build/parlayd-san"
#endif

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

/* A port the kernel says is free now (bound then released). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
        perror("free_port");
        exit(2);
    }
    close(fd);
    return ntohs(a.sin_port);
}

static void node_paths(struct h_cluster *c, struct h_node *nd)
{
    snprintf(nd->config, sizeof nd->config, "%s/node%d.json", c->root, nd->id);
    snprintf(nd->dir, sizeof nd->dir, "%s/data%d", c->root, nd->id);
    snprintf(nd->log, sizeof nd->log, "%s/node%d.log", c->root, nd->id);
    nd->raft_port = free_port();
    nd->http_port = free_port();
    while (nd->http_port == nd->raft_port)
        nd->http_port = free_port();
}

void h_cluster_init(struct h_cluster *c, int n)
{
    memset(c, 0, sizeof *c);
    snprintf(c->root, sizeof c->root, "/tmp/parlay-it-XXXXXX");
    if (!mkdtemp(c->root)) {
        perror("mkdtemp");
        exit(2);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(c->token, sizeof c->token, "it-token-%08x%08x", (unsigned)rand(), (unsigned)getpid());
    snprintf(c->token_file, sizeof c->token_file, "%s/admin.token", c->root);
    FILE *f = fopen(c->token_file, "w");
    fprintf(f, "%s\n", c->token);
    fclose(f);
    chmod(c->token_file, 0600);
    c->snapshot_threshold = 1024;
    c->snapshot_trailing = 2048;
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
        snprintf(ra, sizeof ra, "127.0.0.1:%d", c->nodes[i].raft_port);
        snprintf(ha, sizeof ha, "127.0.0.1:%d", c->nodes[i].http_port);
        json_array_append_new(members, json_pack("{s:i, s:s, s:s}", "id", c->nodes[i].id,
                                                 "raft_address", ra, "http_address", ha));
    }
    for (int i = 0; i < c->n; i++) {
        struct h_node *nd = &c->nodes[i];
        char ra[64], ha[64];
        snprintf(ra, sizeof ra, "127.0.0.1:%d", nd->raft_port);
        snprintf(ha, sizeof ha, "127.0.0.1:%d", nd->http_port);
        json_t *cfg = json_pack(
            "{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s}",
            "node_id", nd->id, "cluster", "football", "role", "sport:football", "raft_address",
            ra, "http_address", ha, "data_dir", nd->dir, "admin_token_file", c->token_file,
            "snapshot_threshold", c->snapshot_threshold, "snapshot_trailing",
            c->snapshot_trailing, "election_timeout_ms", 1000, "heartbeat_timeout_ms", 100,
            "max_body_bytes", c->max_body_bytes, "map_size_mb", c->map_size_mb,
            "forward_timeout_ms", 5000, "log_level", "info");
        if (c->space_quota_mb)
            json_object_set_new(cfg, "space_quota_mb", json_integer(c->space_quota_mb));
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
        setenv("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0", 1);
        execl(PARLAYD, PARLAYD, "--config", nd->config, (char *)NULL);
        perror("exec parlayd");
        _exit(127);
    }
    nd->pid = pid;
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
    for (;;) {
        pid_t p = waitpid(nd->pid, &status, WNOHANG);
        if (p == nd->pid)
            break;
        if (h_now() > deadline) {
            kill(nd->pid, SIGKILL);
            waitpid(nd->pid, &status, 0);
            break;
        }
        h_sleep_ms(20);
    }
    nd->pid = 0;
    return status;
}

void h_cluster_stop_all(struct h_cluster *c)
{
    for (int i = 0; i < c->n; i++)
        h_node_stop(c, i);
}

void h_cluster_destroy(struct h_cluster *c)
{
    for (int i = 0; i < c->n; i++)
        h_node_kill(c, i);
    if (!getenv("PARLAY_KEEP_TEST_DIRS")) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->root);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", c->root);
    } else {
        fprintf(stderr, "kept %s\n", c->root);
    }
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
    return s * n;
}

struct h_resp h_http_raw(int port, const char *method, const char *path, const char *body,
                         const char *const *headers, long timeout_ms)
{
    struct h_resp r;
    memset(&r, 0, sizeof r);
    CURL *e = curl_easy_init();
    char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
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
    char auth[128], key[300];
    const char *hdrs[4];
    int k = 0;
    if (admin) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
        hdrs[k++] = auth;
    }
    if (idem) {
        snprintf(key, sizeof key, "Idempotency-Key: %s", idem);
        hdrs[k++] = key;
    }
    if (body)
        hdrs[k++] = "Content-Type: application/json";
    hdrs[k] = NULL;
    return h_http_raw(c->nodes[i].http_port, method, path, body, hdrs, 15000);
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
    struct h_resp r = h_http_raw(c->nodes[i].http_port, "GET", "/admin/v1/node", NULL, hdrs, 2000);
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
        struct h_resp r = h_http_raw(c->nodes[i].http_port, "GET", "/readyz", NULL, NULL, 1000);
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
    snprintf(cmd, sizeof cmd, "build/parlayctl --url 127.0.0.1:%d --token-file %s %s 2>&1",
             c->nodes[i].http_port, c->token_file, args);
    FILE *p = popen(cmd, "r");
    size_t got = p ? fread(out, 1, n - 1, p) : 0;
    out[got] = 0;
    int st = p ? pclose(p) : -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
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
