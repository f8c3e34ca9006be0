#include "tests/feedsim/simproc.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "feed/internal.h"

static struct simproc *running[16];

static const char *binary(void)
{
    const char *b = getenv("FEEDSIM");
    return b ? b : "build/parlay-feedsim-san";
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pause_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void die(struct simproc *p, const char *why)
{
    fprintf(stderr, "simproc: %s (log: %s/sim.log)\n", why, p->dir);
    if (p->pid > 0)
        kill(p->pid, SIGKILL);
    exit(2);
}

struct body {
    char *p;
    size_t len;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct body *b = arg;
    size_t n = size * nmemb;
    b->p = realloc(b->p, b->len + n + 1);
    memcpy(b->p + b->len, ptr, n);
    b->len += n;
    b->p[b->len] = 0;
    return n;
}

struct hdr {
    char *etag;
    size_t cap;
};

static size_t on_header(char *line, size_t size, size_t nmemb, void *arg)
{
    struct hdr *h = arg;
    size_t n = size * nmemb;
    if (h->etag)
        cu_header_value(line, n, "etag", h->etag, h->cap);
    return n;
}

static long http(const char *url, const char *body, const char *inm, struct body *out,
                 struct hdr *h)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hs = NULL;
    char line[300];
    if (inm) {
        snprintf(line, sizeof line, "If-None-Match: %s", inm);
        hs = curl_slist_append(hs, line);
    }
    if (body) {
        hs = curl_slist_append(hs, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
    return status;
}

void simproc_start(struct simproc *p, const char *scenario, const char *const *args)
{
    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "/tmp/parlay-feedsim-XXXXXX");
    if (!mkdtemp(p->dir))
        die(p, "mkdtemp");
    char port_file[256], log[256];
    snprintf(port_file, sizeof port_file, "%s/ports", p->dir);
    snprintf(log, sizeof log, "%s/sim.log", p->dir);
    const char *argv[48] = {binary(), "--scenario", scenario, "--listen", "127.0.0.1:0",
                            "--port-file", port_file, "--heartbeat-ms", "200"};
    int n = 9;
    for (int i = 0; args && args[i] && n < 46; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    p->pid = fork();
    for (int i = 0; i < 16; i++)
        if (!running[i]) {
            running[i] = p;
            break;
        }
    if (p->pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
        execv(argv[0], (char *const *)argv);
        perror("exec parlay-feedsim");
        _exit(127);
    }
    /* Ready = the port file exists and /healthz answers 200 on both ports. */
    double deadline = now_s() + 20;
    while (now_s() < deadline) {
        int status;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            die(p, "the simulator exited during start-up");
        }
        FILE *f = fopen(port_file, "r");
        if (f) {
            int ok = fscanf(f, "%d %d", &p->port, &p->admin_port) == 2;
            fclose(f);
            if (ok) {
                snprintf(p->url, sizeof p->url, "http://127.0.0.1:%d", p->port);
                char url[96];
                struct body b = {0};
                snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", p->admin_port);
                long st = http(url, NULL, NULL, &b, &(struct hdr){0});
                free(b.p);
                if (st == 200)
                    return;
            }
        }
        pause_ms(10);
    }
    die(p, "the simulator did not become ready within 20 s");
}

int simproc_run(const char *const *args, char *out, size_t cap)
{
    char log[] = "/tmp/parlay-feedsim-out-XXXXXX";
    int fd = mkstemp(log);
    const char *argv[32] = {binary()};
    int n = 1;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    double deadline = now_s() + 20;
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if (now_s() > deadline) { /* it should have refused at once */
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            status = -1;
            break;
        }
        pause_ms(5);
    }
    ssize_t got = pread(fd, out, cap - 1, 0);
    out[got > 0 ? got : 0] = 0;
    close(fd);
    unlink(log);
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void simproc_stop(struct simproc *p)
{
    for (int i = 0; i < 16; i++)
        if (running[i] == p)
            running[i] = NULL;
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGTERM);
    double deadline = now_s() + 10;
    int status;
    while (waitpid(p->pid, &status, WNOHANG) != p->pid) {
        if (now_s() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            break;
        }
        pause_ms(5);
    }
    p->pid = 0;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "simproc: could not remove %s\n", p->dir);
}

void simproc_stop_all(void)
{
    for (int i = 0; i < 16; i++)
        if (running[i])
            simproc_stop(running[i]);
}

json_t *simproc_admin(struct simproc *p, const char *path, const char *body)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", p->admin_port, path);
    struct body b = {0};
    long st = http(url, body, NULL, &b, &(struct hdr){0});
    json_t *j = st == 200 && b.p ? json_loads(b.p, 0, NULL) : NULL;
    if (st != 200)
        fprintf(stderr, "simproc: %s -> %ld %s\n", path, st, b.p ? b.p : "");
    free(b.p);
    return j;
}

long simproc_get(struct simproc *p, const char *path, const char *if_none_match, char *etag,
                 size_t etag_cap)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", p->url, path);
    struct body b = {0};
    struct hdr h = {etag, etag_cap};
    long st = http(url, NULL, if_none_match, &b, &h);
    free(b.p);
    return st;
}
