/* Test support for kyc: stand-in providers, a scripted browser, a webhook receiver. */
#include "kyc/tests/standin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void dump_log(const char* path)
{
    FILE* f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f))
        fprintf(stderr, "  | %s", line);
    fclose(f);
}

int standin_start(standin* s, const char* script, const char* const* extra)
{
    memset(s, 0, sizeof *s);
    s->pid = -1;
    const char* node = getenv("PARLAY_NODE");
    if (!node || !*node)
        node = "node";
    snprintf(s->log, sizeof s->log, "/tmp/parlay-kyc-standin-%d-%ld.log", (int)getpid(),
             (long)now_ms());
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    const char* argv[24] = {node, script, "--port", "0", NULL};
    size_t n = 4;
    for (size_t i = 0; extra && extra[i] && n < 22; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int lf = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(pfd[1], 1);
        if (lf >= 0)
            dup2(lf, 2);
        close(pfd[0]);
        close(pfd[1]);
        execvp(node, (char* const*)argv);
        _exit(127);
    }
    close(pfd[1]);
    s->pid = pid;
    s->out_fd = pfd[0];
    /* Wait for "READY <url>\n" with a deadline: the program prints it once it listens. */
    char buf[512];
    size_t len = 0;
    int64_t deadline = now_ms() + 60000;
    while (now_ms() < deadline) {
        struct pollfd p = {.fd = s->out_fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(deadline - now_ms()));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t got = read(s->out_fd, buf + len, sizeof buf - 1 - len);
        if (got <= 0)
            break; /* exited */
        len += (size_t)got;
        buf[len] = '\0';
        char* nl = strchr(buf, '\n');
        if (nl && strncmp(buf, "READY ", 6) == 0) {
            *nl = '\0';
            snprintf(s->url, sizeof s->url, "%.255s", buf + 6);
            return 0;
        }
        if (nl || len == sizeof buf - 1)
            break;
    }
    fprintf(stderr, "stand-in %s did not become ready; its log:\n", script);
    dump_log(s->log);
    standin_stop(s);
    return -1;
}

void standin_stop(standin* s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        int64_t deadline = now_ms() + 10000;
        int st;
        while (waitpid(s->pid, &st, WNOHANG) == 0) {
            if (now_ms() > deadline) {
                kill(s->pid, SIGKILL);
                waitpid(s->pid, &st, 0);
                break;
            }
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
        }
        s->pid = -1;
    }
    if (s->out_fd > 0)
        close(s->out_fd);
    s->out_fd = -1;
    if (s->log[0])
        unlink(s->log);
}

static size_t discard(char* p, size_t size, size_t n, void* ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

int browser_login(const char* authorize_url,
                  const char* identity,
                  bool deny,
                  const char* redirect_prefix,
                  char** query,
                  long* status)
{
    *query = NULL;
    *status = 0;
    CURL* c = curl_easy_init();
    if (!c)
        return -1;
    curl_easy_setopt(c, CURLOPT_COOKIEFILE, ""); /* cookie engine on, per host and path */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    char* url = strdup(authorize_url);
    int rc = -1;
    for (int hop = 0; hop < 10 && url; hop++) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        if (curl_easy_perform(c) != CURLE_OK)
            break;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        char* next = NULL;
        curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &next);
        if (*status < 300 || *status >= 400 || !next)
            break;
        free(url);
        if (strncmp(next, redirect_prefix, strlen(redirect_prefix)) == 0) {
            const char* q = strchr(next, '?');
            *query = strdup(q ? q + 1 : "");
            url = NULL;
            rc = 0;
            break;
        }
        /* The stand-in's headless login: say who logs in. */
        if (strstr(next, "/interaction/")) {
            size_t n = strlen(next) + strlen(identity) + 32;
            url = malloc(n);
            if (url)
                snprintf(url, n, "%s%cidentity=%s%s", next, strchr(next, '?') ? '&' : '?', identity,
                         deny ? "&deny=1" : "");
        } else {
            url = strdup(next);
        }
    }
    free(url);
    curl_easy_cleanup(c);
    return rc;
}

long http_status_of(const char* url)
{
    CURL* c = curl_easy_init();
    if (!c)
        return -1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long st = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(c);
    return st;
}

/* ---- webhook receiver ---- */

static void serve_one(receiver* r, int cfd)
{
    char buf[65536];
    size_t len = 0;
    char* end = NULL;
    while (!end && len < sizeof buf - 1) {
        ssize_t got = read(cfd, buf + len, sizeof buf - 1 - len);
        if (got <= 0)
            return;
        len += (size_t)got;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end)
        return;
    size_t hlen = (size_t)(end - buf) + 4;
    size_t clen = 0;
    for (char* p = buf; p < end; p = strstr(p, "\r\n") + 2) {
        if (strncasecmp(p, "content-length:", 15) == 0)
            clen = strtoul(p + 15, NULL, 10);
        if (!strstr(p, "\r\n"))
            break;
    }
    if (clen > sizeof buf - 1 - hlen)
        return;
    while (len < hlen + clen) {
        ssize_t got = read(cfd, buf + len, hlen + clen - len);
        if (got <= 0)
            return;
        len += (size_t)got;
    }
    const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    ssize_t w = write(cfd, ok, sizeof ok - 1);
    (void)w;
    pthread_mutex_lock(&r->mu);
    if (r->n < RECV_MAX) {
        recv_req* q = &r->reqs[r->n];
        size_t hn = hlen < sizeof q->headers ? hlen : sizeof q->headers - 1;
        memcpy(q->headers, buf, hn);
        q->headers[hn] = '\0';
        q->body = malloc(clen + 1);
        if (q->body) {
            memcpy(q->body, buf + hlen, clen);
            q->body[clen] = '\0';
            q->len = clen;
            r->n++;
        }
    }
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

static void* receiver_main(void* arg)
{
    receiver* r = arg;
    for (;;) {
        int cfd = accept(r->fd, NULL, NULL);
        pthread_mutex_lock(&r->mu);
        bool stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (cfd < 0 || stop) {
            if (cfd >= 0)
                close(cfd);
            if (stop || errno != EINTR)
                return NULL;
            continue;
        }
        serve_one(r, cfd);
        close(cfd);
    }
}

int receiver_start(receiver* r)
{
    memset(r, 0, sizeof *r);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (r->fd < 0 || bind(r->fd, (struct sockaddr*)&sa, sizeof sa) != 0 || listen(r->fd, 16) != 0 ||
        getsockname(r->fd, (struct sockaddr*)&sa, &sl) != 0)
        return -1;
    r->port = ntohs(sa.sin_port);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cond, NULL);
    return pthread_create(&r->thread, NULL, receiver_main, r) == 0 ? 0 : -1;
}

size_t receiver_wait(receiver* r, size_t n)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 30;
    pthread_mutex_lock(&r->mu);
    while (r->n < n && pthread_cond_timedwait(&r->cond, &r->mu, &dl) == 0) {
    }
    size_t got = r->n;
    pthread_mutex_unlock(&r->mu);
    return got;
}

bool receiver_header(receiver* r, size_t i, const char* name, char* out, size_t outsz)
{
    size_t nl = strlen(name);
    for (char* p = strstr(r->reqs[i].headers, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        char* h = p + 2;
        if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            char* v = h + nl + 1;
            while (*v == ' ')
                v++;
            char* e = strstr(v, "\r\n");
            size_t n = e ? (size_t)(e - v) : strlen(v);
            if (n >= outsz)
                return false;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
    }
    return false;
}

void receiver_stop(receiver* r)
{
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_mutex_unlock(&r->mu);
    /* Wake accept() with a connection of our own. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0) {
        if (connect(fd, (struct sockaddr*)&sa, sizeof sa) != 0) {
        }
        close(fd);
    }
    pthread_join(r->thread, NULL);
    close(r->fd);
    for (size_t i = 0; i < r->n; i++)
        free(r->reqs[i].body);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cond);
}
