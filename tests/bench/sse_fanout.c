/* The quote-stream fan-out benchmark client (tests/bench/run.sh, section "fanout").
 *
 *   sse_fanout --port P [--host 127.0.0.1] [--levels 1000,5000,10000,20000] [--seconds S]
 *              [--hold-s S] [--ready-file FILE]
 *
 * Holds N server-sent-event subscribers on ONE node's GET /v1/stream/quotes (one thread, epoll,
 * non-blocking sockets; the source addresses rotate over 127.0.0.1-127.0.0.8 so that 20,000
 * connections do not run out of ephemeral ports). For each level it opens subscribers until N
 * are streaming (each has read the stream's banner), then for --seconds (default 10) records,
 * for every event id published meanwhile, when the first and the last of the N subscribers
 * read it: the spread. Prints per level the events seen, the spread's p50, p99 and max, and
 * the events that did not reach all N within 5 s (incomplete). The levels add subscribers to
 * those already open. After the last level, with --hold-s, it writes "holding" to
 * --ready-file and measures once more for that long (run.sh runs the write benchmark then).
 * Exits 1 when a level cannot be reached (refused streams, errors) or no event was seen.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS_TRACKED 100000
#define INCOMPLETE_AFTER_MS 5000.0
#define BANNER ": parlay quote stream"

struct sub {
    int fd;
    bool streaming; /* the banner was read */
    bool dead;
    char line[40];
    uint8_t ll;
    bool skip;      /* the current line is not an id line */
    char head[512]; /* the first bytes (status line, headers, banner) */
    uint16_t hl;
};

struct ev {
    double first, last;
    unsigned count;
    bool done; /* reported (complete or incomplete) */
};

static struct sub *subs;
static int nsubs, streaming, dead;
static int ep;
static const char *host = "127.0.0.1";
static int port;
static struct ev *evs; /* by event id - base */
static long long base = -1;
static int target; /* subscribers that must receive an event in the current window */
static bool measuring;
static double *spreads;
static size_t nspreads, incomplete;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *msg)
{
    fprintf(stderr, "sse_fanout: error: %s\n", msg);
    exit(1);
}

static void open_one(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        perror("socket");
        die("cannot open a socket (raise ulimit -n)");
    }
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(nsubs % 8));
    if (!strcmp(host, "127.0.0.1"))
        (void)bind(fd, (struct sockaddr *)&src, sizeof src);
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &dst.sin_addr);
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS) {
        perror("connect");
        die("connect failed");
    }
    struct sub *s = &subs[nsubs];
    memset(s, 0, sizeof *s);
    s->fd = fd;
    struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)nsubs};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    nsubs++;
}

static void record(long long id, double t)
{
    if (!measuring)
        return;
    if (base < 0)
        base = id;
    long long k = id - base;
    if (k < 0 || k >= MAX_EVENTS_TRACKED)
        return; /* an event from before the window (catch-up) or far beyond */
    struct ev *e = &evs[k];
    if (e->done)
        return;
    if (!e->count)
        e->first = t;
    e->last = t;
    if (++e->count >= (unsigned)target) {
        e->done = true;
        spreads[nspreads++] = e->last - e->first;
    }
}

static void lost(struct sub *s, const char *why)
{
    if (s->dead)
        return;
    s->dead = true;
    dead++;
    if (s->streaming)
        streaming--;
    epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    if (dead <= 3)
        fprintf(stderr, "sse_fanout: a subscriber ended: %s\n", why);
}

static void on_bytes(struct sub *s, const char *p, size_t n, double t)
{
    if (!s->streaming) {
        size_t c = n < sizeof s->head - 1 - s->hl ? n : sizeof s->head - 1 - s->hl;
        memcpy(s->head + s->hl, p, c);
        s->hl = (uint16_t)(s->hl + c);
        s->head[s->hl] = 0;
        if (strncmp(s->head, "HTTP/1.1 200", s->hl < 12 ? s->hl : 12) != 0) {
            fprintf(stderr, "sse_fanout: refused: %.200s\n", s->head);
            lost(s, "not 200");
            return;
        }
        char *b = strstr(s->head, BANNER);
        if (!b)
            return;
        s->streaming = true;
        streaming++;
        /* Parse what followed the banner in this read. */
        size_t after = (size_t)(b - s->head) + strlen(BANNER), start = s->hl - c;
        if (after >= start + n)
            return;
        size_t skip = after > start ? after - start : 0;
        p += skip;
        n -= skip;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '\n') {
            if (!s->skip && s->ll > 4 && !memcmp(s->line, "id: ", 4)) {
                s->line[s->ll] = 0;
                record(atoll(s->line + 4), t);
            }
            s->ll = 0;
            s->skip = false;
        } else if (!s->skip) {
            if (s->ll < sizeof s->line - 1)
                s->line[s->ll++] = ch;
            if ((s->ll <= 4 && ch != "id: "[s->ll - 1]) || s->ll >= sizeof s->line - 1)
                s->skip = true;
        }
    }
}

static const char REQ[] = "GET /v1/stream/quotes HTTP/1.1\r\nHost: bench\r\n"
                          "Accept: text/event-stream\r\n\r\n";

static void poll_once(int timeout_ms)
{
    static struct epoll_event es[1024];
    static char buf[65536];
    int k = epoll_wait(ep, es, 1024, timeout_ms);
    for (int i = 0; i < k; i++) {
        struct sub *s = &subs[es[i].data.u32];
        if (s->dead)
            continue;
        if (es[i].events & EPOLLOUT) {
            int err = 0;
            socklen_t l = sizeof err;
            getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l);
            if (err) {
                lost(s, strerror(err));
                continue;
            }
            if (write(s->fd, REQ, sizeof REQ - 1) != (ssize_t)(sizeof REQ - 1)) {
                lost(s, "request not sent");
                continue;
            }
            struct epoll_event e = {.events = EPOLLIN, .data.u32 = es[i].data.u32};
            epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &e);
            continue;
        }
        for (;;) {
            ssize_t r = read(s->fd, buf, sizeof buf);
            if (r > 0) {
                on_bytes(s, buf, (size_t)r, now_ms());
                if (s->dead || (size_t)r < sizeof buf)
                    break;
                continue;
            }
            if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            lost(s, r == 0 ? "closed by the node" : strerror(errno));
            break;
        }
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Measure for @secs with @n subscribers; prints one row labelled @label. */
static bool measure(int n, double secs, const char *label)
{
    memset(evs, 0, sizeof *evs * MAX_EVENTS_TRACKED);
    base = -1;
    nspreads = incomplete = 0;
    target = n;
    measuring = true;
    double end = now_ms() + secs * 1e3;
    while (now_ms() < end)
        poll_once(50);
    /* Let the last events finish reaching everyone (up to INCOMPLETE_AFTER_MS). */
    double grace = now_ms() + INCOMPLETE_AFTER_MS;
    for (;;) {
        bool open = false;
        for (long long k = 0; base >= 0 && k < MAX_EVENTS_TRACKED && evs[k].count; k++)
            open = open || !evs[k].done;
        if (!open || now_ms() > grace)
            break;
        poll_once(50);
    }
    measuring = false;
    for (long long k = 0; base >= 0 && k < MAX_EVENTS_TRACKED && evs[k].count; k++)
        incomplete += !evs[k].done;
    qsort(spreads, nspreads, sizeof *spreads, cmp_d);
    double p50 = nspreads ? spreads[(nspreads - 1) / 2] : 0;
    double p99 = nspreads ? spreads[(size_t)((double)(nspreads - 1) * 0.99 + 0.5)] : 0;
    double mx = nspreads ? spreads[nspreads - 1] : 0;
    printf("%-28s %8d %8zu %10.1f %10.1f %10.1f %10zu\n", label, n, nspreads, p50, p99, mx,
           incomplete);
    fflush(stdout);
    return nspreads > 0;
}

static void reach(int n)
{
    double deadline = now_ms() + 120e3;
    while (streaming < n) {
        /* Open in bursts of 500 pending at most, so that the node's accept queue keeps up. */
        while (nsubs < n + dead && nsubs - streaming - dead < 500)
            open_one();
        poll_once(20);
        if (dead > 0)
            die("a subscriber was refused or lost while opening (stream caps? fd limits?)");
        if (now_ms() > deadline)
            die("the level was not reached within 120 s");
    }
}

int main(int argc, char **argv)
{
    const char *levels = "1000,5000,10000,20000", *ready_file = NULL;
    double secs = 10, hold = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            die("usage: sse_fanout --port P [--host H] [--levels N,N..] [--seconds S] "
                "[--hold-s S] [--ready-file FILE]");
        if (!strcmp(argv[i], "--port"))
            port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--host"))
            host = argv[++i];
        else if (!strcmp(argv[i], "--levels"))
            levels = argv[++i];
        else if (!strcmp(argv[i], "--seconds"))
            secs = atof(argv[++i]);
        else if (!strcmp(argv[i], "--hold-s"))
            hold = atof(argv[++i]);
        else if (!strcmp(argv[i], "--ready-file"))
            ready_file = argv[++i];
        else
            die("unknown option");
    }
    if (port <= 0)
        die("--port is required");
    int max = 0;
    for (const char *p = levels; *p;) {
        int v = atoi(p);
        max = v > max ? v : max;
        p = strchr(p, ',') ? strchr(p, ',') + 1 : "";
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)max + 64)
        die("the open-file limit is below the largest level (ulimit -n)");
    subs = calloc((size_t)max + 1024, sizeof *subs);
    evs = calloc(MAX_EVENTS_TRACKED, sizeof *evs);
    spreads = calloc(MAX_EVENTS_TRACKED, sizeof *spreads);
    if (!subs || !evs || !spreads)
        die("out of memory");
    ep = epoll_create1(0);
    printf("%-28s %8s %8s %10s %10s %10s %10s\n", "run", "subs", "events", "p50 ms", "p99 ms",
           "max ms", "incomplete");
    bool ok = true;
    for (const char *p = levels; *p;) {
        int n = atoi(p);
        p = strchr(p, ',') ? strchr(p, ',') + 1 : "";
        reach(n);
        char label[64];
        snprintf(label, sizeof label, "fan-out, %d subscribers", n);
        ok = measure(n, secs, label) && ok;
        if (dead)
            die("subscribers were lost during the measurement");
    }
    if (hold > 0) {
        if (ready_file) {
            FILE *f = fopen(ready_file, "w");
            if (f) {
                fputs("holding\n", f);
                fclose(f);
            }
        }
        ok = measure(streaming, hold, "fan-out during writes") && ok;
        if (dead)
            die("subscribers were lost during the writes");
    }
    return ok ? 0 : 1;
}
