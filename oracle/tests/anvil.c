/* Test support: starts the pinned anvil (tests/npm) on a free 127.0.0.1 port and waits for it
 * to answer, with a deadline rather than a fixed sleep. */
#include "oracle/tests/anvil.h"

#include <arpa/inet.h>
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

static const char* anvil_path(void)
{
    const char* env = getenv("PARLAY_ANVIL");
    if (env && *env)
        return env;
    static const char* candidates[] = {
        "tests/npm/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
        "tests/npm/node_modules/@foundry-rs/anvil-linux-arm64/bin/anvil",
        "tests/npm/node_modules/.bin/anvil"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++)
        if (access(candidates[i], X_OK) == 0)
            return candidates[i];
    return NULL;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr*)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr*)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int spawn(anvil* a, const char* const* extra)
{
    const char* bin = anvil_path();
    if (!bin) {
        fprintf(stderr, "anvil not found: run 'make deps' (tests/npm)\n");
        return -1;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", a->port);
    const char* argv[48] = {bin, "--host", "127.0.0.1", "--port", port, NULL};
    size_t n = 5;
    for (size_t i = 0; extra && extra[i] && n < 46; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(a->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(bin, (char* const*)argv);
        _exit(127);
    }
    a->pid = pid;
    snprintf(a->url, sizeof a->url, "http://127.0.0.1:%d", a->port);
    eth_rpc_config cfg = {.url = a->url, .timeout_ms = 1000, .max_attempts = 1};
    eth_rpc* rpc = eth_rpc_new(&cfg);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int ok = -1;
    for (;;) {
        uint64_t id;
        if (eth_rpc_chain_id(rpc, &id, NULL) == ETH_OK) {
            ok = 0;
            break;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            a->pid = 0;
            break; /* exited: port taken or bad arguments; see the log */
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 60)
            break;
        sleep_ms(50);
    }
    eth_rpc_free(rpc);
    if (ok != 0 && a->pid) {
        kill(a->pid, SIGKILL);
        waitpid(a->pid, NULL, 0);
        a->pid = 0;
    }
    return ok;
}

int anvil_start(anvil* a, const char* const* extra)
{
    memset(a, 0, sizeof *a);
    snprintf(a->dir, sizeof a->dir, "/tmp/parlay-anvil-XXXXXX");
    if (!mkdtemp(a->dir))
        return -1;
    snprintf(a->log, sizeof a->log, "%s/anvil.log", a->dir);
    for (int tries = 0; tries < 5; tries++) {
        a->port = free_port();
        if (a->port > 0 && spawn(a, extra) == 0)
            return 0;
    }
    fprintf(stderr, "anvil did not start; log in %s\n", a->log);
    return -1;
}

int anvil_restart(anvil* a, const char* const* extra)
{
    return spawn(a, extra);
}

void anvil_stop(anvil* a)
{
    if (a->pid <= 0)
        return;
    kill(a->pid, SIGTERM);
    int st;
    for (int i = 0; i < 200; i++) {
        if (waitpid(a->pid, &st, WNOHANG) == a->pid) {
            a->pid = 0;
            return;
        }
        sleep_ms(50);
    }
    kill(a->pid, SIGKILL);
    waitpid(a->pid, &st, 0);
    a->pid = 0;
}

void anvil_cleanup(anvil* a)
{
    anvil_stop(a);
    if (a->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", a->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", a->dir);
        a->dir[0] = 0;
    }
}

char* anvil_rpc(const anvil* a, const char* method, const char* params)
{
    eth_rpc_config cfg = {.url = a->url, .timeout_ms = 5000, .max_attempts = 1};
    eth_rpc* rpc = eth_rpc_new(&cfg);
    char* out = NULL;
    eth_error err;
    if (eth_rpc_call(rpc, method, params, &out, &err) != ETH_OK) {
        fprintf(stderr, "%s: %s\n", method, err.message);
        out = NULL;
    }
    eth_rpc_free(rpc);
    return out;
}

int anvil_mine(const anvil* a, unsigned n)
{
    char params[32];
    snprintf(params, sizeof params, "[\"0x%x\"]", n);
    char* r = anvil_rpc(a, "anvil_mine", params);
    free(r);
    return r ? 0 : -1;
}

void test_node_key(int i, eth_key* k)
{
    char seed[64];
    uint8_t s[32];
    snprintf(seed, sizeof seed, "parlay test node %d", i);
    eth_keccak256(seed, strlen(seed), s);
    if (eth_key_from_secret(k, s) != ETH_OK)
        abort();
}
