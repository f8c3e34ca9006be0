/* The medium and low findings of the security review (issue 16), each against real parlayd
 * processes, most over raw sockets so that nothing between the test and the node tidies the
 * request up:
 *   - request framing: a Content-Length over max_body_bytes gets 413 before the body is sent;
 *     a chunked body is cut as it crosses the limit; 30 connections each sending 8 MB leave
 *     the node's peak RSS bounded; Content-Length with Transfer-Encoding, or two different
 *     Content-Lengths, get 400 and the smuggled request after them never runs;
 *     a Content-Type that is not UTF-8 gets its 415 and the node stays up;
 *   - query parameters too long for the node's buffers are refused naming the parameter,
 *     never dropped (which widened the query); fixture ids '.' and '..' are refused;
 *     a Last-Event-ID beyond the largest id is refused instead of wrapping to a full replay;
 *   - the quote stream: 1,000 clients that connect and disconnect leave no stream client and
 *     no socket behind within a second; the per-address and per-node caps refuse the next one;
 *   - access tokens: exp = 2^63 - 1 signed by a key in the set, and the high-s twin of a valid
 *     signature, are refused with 401 by an accounts node and a sport node, which stay up. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <cmocka.h>

#include "kyc/kyc.h"
#include "tests/integration/harness.h"
#include "tests/integration/tokens.h"

#define ISSUER "urn:parlay:accounts:accounts"
#define PW "a long and private phrase"

/* ---- raw HTTP/1.1 over a socket ---- */

/* A connection to 127.0.0.1:@port from source address @src (NULL: any). */
static int raw_connect(int port, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (src) {
        struct sockaddr_in a = {.sin_family = AF_INET};
        inet_pton(AF_INET, src, &a.sin_addr);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Sends what the peer takes; the count sent (the peer may close first). */
static size_t raw_send(int fd, const char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    return off;
}

/* Reads into @out (NUL-terminated) until the peer closes, @stop appears, or @ms pass.
 * Returns true if the peer closed. */
static bool raw_read(int fd, char *out, size_t n, const char *stop, int ms)
{
    size_t len = 0;
    out[0] = 0;
    double deadline = h_now() + ms / 1000.0;
    while (h_now() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        char tmp[4096];
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r <= 0)
            return true;
        size_t k = len + (size_t)r < n - 1 ? (size_t)r : n - 1 - len;
        memcpy(out + len, tmp, k);
        len += k;
        out[len] = 0;
        if (stop && strstr(out, stop))
            return false;
    }
    return false;
}

static long status_of(const char *resp)
{
    long st = 0;
    return sscanf(resp, "HTTP/1.%*d %ld", &st) == 1 ? st : 0;
}

static int count_of(const char *hay, const char *needle)
{
    int k = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        k++;
    return k;
}

/* One request on a fresh connection (Connection: close); the whole answer into @out. */
static long raw_get(int port, const char *path, const char *extra_headers, char *out, size_t n)
{
    int fd = raw_connect(port, NULL);
    char req[4096];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n", path,
             extra_headers ? extra_headers : "");
    raw_send(fd, req, strlen(req));
    raw_read(fd, out, n, NULL, 10000);
    close(fd);
    return status_of(out);
}

/* The answer's body (after the blank line), or "". */
static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

/* ---- the node's process ---- */

static long proc_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    size_t fl = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && line[fl] == ':')
            kb = strtol(line + fl + 1, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* The process's open sockets. */
static int proc_sockets(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    int k = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char fp[400], target[128];
        snprintf(fp, sizeof fp, "%s/%s", path, e->d_name);
        ssize_t n = readlink(fp, target, sizeof target - 1);
        if (n > 0) {
            target[n] = 0;
            k += !strncmp(target, "socket:", 7);
        }
    }
    if (d)
        closedir(d);
    return k;
}

static long stream_clients(int port)
{
    static char buf[1 << 17];
    if (raw_get(port, "/metrics", NULL, buf, sizeof buf) != 200)
        return -1;
    const char *p = strstr(buf, "\nparlay_stream_clients ");
    return p ? strtol(p + 23, NULL, 10) : -1;
}

static bool alive(struct h_cluster *c, int i)
{
    struct h_resp r = h_http(c, i, "GET", "/healthz", NULL, NULL, false);
    long st = r.status;
    h_resp_free(&r);
    return st == 200;
}

/* ---- framing ---- */

static char fixture_req[2048];

/* A complete fixture-create request for @id with @framing headers (they end the head). */
static const char *create_request(const char *token, const char *id, const char *framing)
{
    snprintf(fixture_req, sizeof fixture_req,
             "POST /admin/v1/fixtures HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Idempotency-Key: key-%s\r\nContent-Type: application/json\r\n%s\r\n",
             token, id, framing);
    return fixture_req;
}

/* The smuggled tail: a complete, valid request creating fixture @id. */
static const char *tail_request(const char *token, const char *id, char *out, size_t n)
{
    const char *body = h_fixture_body(id);
    char framing[64];
    snprintf(framing, sizeof framing, "Content-Length: %zu\r\n", strlen(body));
    snprintf(out, n, "%s%s", create_request(token, id, framing), body);
    return out;
}

static bool fixture_exists(struct h_cluster *c, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/fixtures/%s?consistency=linearizable", id);
    struct h_resp r = h_http(c, 0, "GET", path, NULL, NULL, false);
    long st = r.status;
    h_resp_free(&r);
    assert_true(st == 200 || st == 404);
    return st == 200;
}

/* One football node, with @extra config (NULL: none); its HTTP port. */
static int start_one(struct h_cluster *c, const char *extra)
{
    h_cluster_init(c, 1);
    c->extra_config = extra;
    h_cluster_write_configs(c);
    h_start_cluster(c);
    return c->nodes[0].http_port;
}

static void framing_and_bodies(void **state)
{
    (void)state;
    struct h_cluster c;
    int port = start_one(&c, NULL);
    static char resp[1 << 16];

    /* A Content-Length over the limit: 413 on the headers alone, in problem+json. */
    int fd = raw_connect(port, NULL);
    const char *head = create_request(c.token, "big1", "Content-Length: 8000000\r\n");
    raw_send(fd, head, strlen(head));
    raw_read(fd, resp, sizeof resp, "}", 5000);
    close(fd);
    assert_int_equal(status_of(resp), 413);
    assert_non_null(strstr(resp, "application/problem+json"));
    assert_non_null(strstr(body_of(resp), "\"body_too_large\""));
    assert_non_null(strstr(body_of(resp), "limit of 65536 bytes"));

    /* A chunked body is cut as it crosses the limit: the node answers and closes long before
     * 1 MiB has been sent. */
    fd = raw_connect(port, NULL);
    head = create_request(c.token, "big2", "Transfer-Encoding: chunked\r\n");
    raw_send(fd, head, strlen(head));
    static char chunk[16384 + 16];
    int hl = snprintf(chunk, sizeof chunk, "%x\r\n", 16384);
    memset(chunk + hl, 'x', 16384);
    memcpy(chunk + hl + 16384, "\r\n", 2);
    size_t sent = 0;
    for (int k = 0; k < 64; k++) {
        size_t w = raw_send(fd, chunk, (size_t)hl + 16384 + 2);
        sent += w;
        if (w < (size_t)hl + 16384 + 2)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5) > 0)
            break; /* answered */
    }
    bool closed = raw_read(fd, resp, sizeof resp, NULL, 5000);
    close(fd);
    long st = status_of(resp);
    assert_true(st == 413 || st == 400);
    assert_true(closed);
    assert_non_null(strstr(resp, "application/problem+json"));
    assert_true(sent < (1u << 20));

    /* 30 connections each sending 8 MB (15 with Content-Length, 15 chunked), interleaved:
     * the node's peak RSS stays bounded (unbounded, it buffered every body: 575 MB). */
    enum { CONNS = 30, EACH = 8 * 1000 * 1000 };
    int fds[CONNS];
    size_t done[CONNS] = {0};
    bool dead[CONNS] = {false};
    for (int k = 0; k < CONNS; k++) {
        fds[k] = raw_connect(port, NULL);
        fcntl(fds[k], F_SETFL, O_NONBLOCK);
        char framing[64];
        snprintf(framing, sizeof framing, k % 2 ? "Transfer-Encoding: chunked\r\n"
                                                : "Content-Length: %d\r\n", EACH);
        char id[16];
        snprintf(id, sizeof id, "flood%d", k);
        head = create_request(c.token, id, framing);
        raw_send(fds[k], head, strlen(head));
    }
    static char block[65536 + 16];
    int bl = snprintf(block, sizeof block, "%x\r\n", 65536);
    memset(block + bl, 'y', 65536);
    memcpy(block + bl + 65536, "\r\n", 2);
    double deadline = h_now() + 60;
    for (bool more = true; more && h_now() < deadline;) {
        more = false;
        for (int k = 0; k < CONNS; k++) {
            if (dead[k] || done[k] >= EACH)
                continue;
            more = true;
            const char *p = k % 2 ? block : block + bl;
            size_t len = k % 2 ? (size_t)bl + 65536 + 2 : 65536;
            ssize_t w = send(fds[k], p, len, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                dead[k] = true;
            else if (w > 0)
                done[k] += (size_t)w;
        }
        h_sleep_ms(1);
    }
    long hwm = proc_kb(c.nodes[0].pid, "VmHWM");
    for (int k = 0; k < CONNS; k++)
        close(fds[k]);
    fprintf(stderr, "peak RSS after the flood: %ld kB\n", hwm);
    assert_true(hwm > 0 && hwm < 200 * 1024);
    assert_true(alive(&c, 0));

    /* Content-Length with Transfer-Encoding (the tail after the empty chunked body), and two
     * Content-Lengths that disagree (the tail after the first one's two bytes): 400, the
     * connection closed, one answer, the smuggled request never runs. */
    static const struct {
        const char *id, *framing, *body, *tail_id;
    } smuggles[] = {
        {"front1", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n", "smug1"},
        {"front2", "Content-Length: 2\r\nContent-Length: 900\r\n", "{}", "smug2"},
    };
    char tail[2048], req[4096];
    for (size_t k = 0; k < 2; k++) {
        tail_request(c.token, smuggles[k].tail_id, tail, sizeof tail);
        snprintf(req, sizeof req, "%s%s%s",
                 create_request(c.token, smuggles[k].id, smuggles[k].framing), smuggles[k].body,
                 tail);
        fd = raw_connect(port, NULL);
        raw_send(fd, req, strlen(req));
        closed = raw_read(fd, resp, sizeof resp, NULL, 5000);
        close(fd);
        assert_int_equal(status_of(resp), 400);
        assert_true(closed);
        assert_int_equal(count_of(resp, "HTTP/1.1 "), 1);
        assert_non_null(strstr(body_of(resp), "\"ambiguous_framing\""));
        assert_false(fixture_exists(&c, smuggles[k].tail_id));
    }
    /* A well-framed pipelined pair still runs both. */
    char first[2048];
    tail_request(c.token, "pipe1", first, sizeof first);
    tail_request(c.token, "pipe2", tail, sizeof tail);
    snprintf(req, sizeof req, "%s%s", first, tail);
    fd = raw_connect(port, NULL);
    raw_send(fd, req, strlen(req));
    raw_read(fd, resp, sizeof resp, NULL, 3000);
    close(fd);
    assert_int_equal(count_of(resp, "HTTP/1.1 201"), 2);
    assert_true(fixture_exists(&c, "pipe1") && fixture_exists(&c, "pipe2"));

    /* A Content-Type that is not UTF-8: the 415 quotes it, cleaned ('?'), and the node stays
     * up (the answer's JSON could not be made and the node crashed; found by tests/fuzz). */
    const char *body = h_fixture_body("utf1");
    snprintf(req, sizeof req,
             "POST /admin/v1/fixtures HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Idempotency-Key: key-utf1\r\nContent-Type: text/\xde\xff\xfe\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             c.token, strlen(body), body);
    fd = raw_connect(port, NULL);
    raw_send(fd, req, strlen(req));
    raw_read(fd, resp, sizeof resp, "}", 5000);
    close(fd);
    assert_int_equal(status_of(resp), 415);
    assert_non_null(strstr(resp, "application/problem+json"));
    assert_non_null(strstr(body_of(resp), "not text/???"));
    assert_true(alive(&c, 0));
    assert_false(fixture_exists(&c, "utf1"));
    h_cluster_destroy(&c);
}

/* ---- queries, ids, stream positions ---- */

/* GET @path: the status; with @code, the problem's code must be it and its detail must name
 * @param. */
static long query_case(int port, const char *path, const char *code, const char *param)
{
    static char resp[1 << 16];
    long st = raw_get(port, path, NULL, resp, sizeof resp);
    if (code) {
        char want[96];
        snprintf(want, sizeof want, "\"code\":\"%s\"", code);
        if (!strstr(body_of(resp), want))
            fprintf(stderr, "%s: %s\n", path, resp);
        assert_non_null(strstr(body_of(resp), want));
        snprintf(want, sizeof want, "'%s'", param);
        assert_non_null(strstr(body_of(resp), want));
    }
    return st;
}

static void queries_ids_positions(void **state)
{
    (void)state;
    struct h_cluster c;
    int port = start_one(&c, NULL);
    assert_int_equal(h_write_until_answer(&c, 0, "POST", "/admin/v1/fixtures",
                                          h_fixture_body("q1"), "q1", NULL),
                     201);
    char pad[300], path[512];
    memset(pad, '0', sizeof pad - 1);
    pad[sizeof pad - 1] = 0;
    const char *TL = "query_parameter_too_long";
    /* status=scheduled followed by 40 spaces (49 characters): every fixture came back. */
    assert_int_equal(query_case(port, "/v1/fixtures?status=scheduled" "++++++++++++++++++++"
                                      "++++++++++++++++++++",
                                TL, "status"),
                     400);
    static const char *const fixture_params[] = {"sport", "competition", "status", "after",
                                                 "from", "to", "consistency"};
    for (size_t k = 0; k < sizeof fixture_params / sizeof *fixture_params; k++) {
        snprintf(path, sizeof path, "/v1/fixtures?%s=x%s", fixture_params[k], pad);
        assert_int_equal(query_case(port, path, TL, fixture_params[k]), 400);
    }
    /* A limit with many leading zeros: refused, not taken as the default. */
    snprintf(path, sizeof path, "/v1/fixtures?limit=%.40s1", pad);
    assert_int_equal(query_case(port, path, TL, "limit"), 400);
    assert_int_equal(query_case(port, "/v1/fixtures?limit=0001", NULL, NULL), 200);
    static const char *const market_params[] = {"status", "phase", "after", "limit", "sport"};
    for (size_t k = 0; k < sizeof market_params / sizeof *market_params; k++) {
        snprintf(path, sizeof path, "/v1/markets?%s=%.100s", market_params[k], pad);
        assert_int_equal(query_case(port, path, TL, market_params[k]), 400);
    }
    static const char *const stream_params[] = {"fixture", "sport", "after"};
    for (size_t k = 0; k < sizeof stream_params / sizeof *stream_params; k++) {
        snprintf(path, sizeof path, "/v1/stream/quotes?%s=%.100s", stream_params[k], pad);
        assert_int_equal(query_case(port, path, TL, stream_params[k]), 400);
    }

    /* Ids '.' and '..' (and any id not starting with a letter or digit). */
    static char resp[1 << 16];
    assert_int_equal(raw_get(port, "/v1/fixtures/..", NULL, resp, sizeof resp), 400);
    assert_int_equal(raw_get(port, "/v1/fixtures/.", NULL, resp, sizeof resp), 400);
    static const char *const bad_ids[] = {".", "..", ".hidden", "-x"};
    for (size_t k = 0; k < sizeof bad_ids / sizeof *bad_ids; k++) {
        char body[512], key[32];
        snprintf(body, sizeof body, "%s", h_fixture_body("PLACEHOLDER"));
        char *at = strstr(body, "PLACEHOLDER");
        char rest[512];
        snprintf(rest, sizeof rest, "%s", at + 11);
        snprintf(at, sizeof body - (size_t)(at - body), "%s%s", bad_ids[k], rest);
        snprintf(key, sizeof key, "bad-id-%zu", k);
        struct h_resp r = h_http(&c, 0, "POST", "/admin/v1/fixtures", body, key, true);
        assert_int_equal(r.status, 422);
        assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), "'id'"));
        h_resp_free(&r);
    }

    /* Stream positions beyond the largest id: refused, not wrapped to a full replay. */
    static const char *const far[] = {"18446744073709551615", "18446744073709551616",
                                      "9223372036854775808", "99999999999999999999999999999999"};
    for (size_t k = 0; k < sizeof far / sizeof *far; k++) {
        char hdr[128];
        snprintf(hdr, sizeof hdr, "Last-Event-ID: %s\r\n", far[k]);
        assert_int_equal(raw_get(port, "/v1/stream/quotes", hdr, resp, sizeof resp), 400);
        assert_non_null(strstr(body_of(resp), "\"last_event_id_out_of_range\""));
        snprintf(path, sizeof path, "/v1/stream/quotes?after=%s", far[k]);
        assert_int_equal(raw_get(port, path, NULL, resp, sizeof resp), 400);
    }
    assert_int_equal(raw_get(port, "/v1/stream/quotes", "Last-Event-ID: x1\r\n", resp,
                             sizeof resp),
                     422);
    h_cluster_destroy(&c);
}

/* ---- the quote stream ---- */

/* Opens a stream from @src and waits for its 200 and first bytes; the socket. */
static int open_stream(int port, const char *src, long *status)
{
    int fd = raw_connect(port, src);
    const char *req = "GET /v1/stream/quotes HTTP/1.1\r\nHost: x\r\n\r\n";
    raw_send(fd, req, strlen(req));
    char resp[4096];
    raw_read(fd, resp, sizeof resp, "\r\n\r\n", 5000);
    *status = status_of(resp);
    if (*status == 200 && !strstr(resp, "parlay quote stream"))
        raw_read(fd, resp, sizeof resp, "parlay quote stream", 5000);
    return fd;
}

/* The node may open one keep-alive connection to its own HTTP port meanwhile (its member-key
 * registration and votes go through the leader's HTTP API, here itself): two sockets. */
#define SELF_SOCKETS 2

static void streams_closed_and_capped(void **state)
{
    (void)state;
    struct h_cluster c;
    int port = start_one(&c, "{\"stream_max_clients\": 40}");
    pid_t pid = c.nodes[0].pid;
    assert_int_equal(stream_clients(port), 0);
    int fds_before = proc_sockets(pid);

    /* 1,000 clients in batches of 20 (each batch from its own address), each closed once its
     * stream has started. */
    for (int b = 0; b < 50; b++) {
        char src[32];
        snprintf(src, sizeof src, "127.0.%d.%d", 1 + b / 200, 2 + b % 200);
        int fds[20];
        for (int k = 0; k < 20; k++) {
            long st;
            fds[k] = open_stream(port, src, &st);
            assert_int_equal(st, 200);
        }
        for (int k = 0; k < 20; k++)
            close(fds[k]);
    }
    double t0 = h_now();
    long left = -1;
    int fds_now = 0;
    while (h_now() < t0 + 1.0) {
        left = stream_clients(port);
        fds_now = proc_sockets(pid);
        if (left == 0 && fds_now <= fds_before + SELF_SOCKETS)
            break;
        h_sleep_ms(20);
    }
    fprintf(stderr, "after 1,000 streams: %ld clients, %d sockets (%d before), %.0f ms\n", left,
            fds_now, fds_before, (h_now() - t0) * 1000);
    assert_int_equal(left, 0);
    assert_true(fds_now <= fds_before + SELF_SOCKETS);

    /* Per address: the 33rd stream from one address gets 429; another address still gets
     * one. Per node (stream_max_clients 40 here): the 41st gets 503. */
    int held[40], nheld = 0;
    long st;
    for (int k = 0; k < 32; k++) {
        held[nheld++] = open_stream(port, "127.0.9.1", &st);
        assert_int_equal(st, 200);
    }
    static char resp[8192];
    int fd = raw_connect(port, "127.0.9.1");
    const char *req = "GET /v1/stream/quotes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    raw_send(fd, req, strlen(req));
    raw_read(fd, resp, sizeof resp, NULL, 5000);
    close(fd);
    assert_int_equal(status_of(resp), 429);
    assert_non_null(strstr(body_of(resp), "\"stream_per_address_limit\""));
    for (int k = 0; k < 8; k++) {
        char src[32];
        snprintf(src, sizeof src, "127.0.9.%d", 2 + k);
        held[nheld++] = open_stream(port, src, &st);
        assert_int_equal(st, 200);
    }
    fd = raw_connect(port, "127.0.9.20");
    raw_send(fd, req, strlen(req));
    raw_read(fd, resp, sizeof resp, NULL, 5000);
    close(fd);
    assert_int_equal(status_of(resp), 503);
    assert_non_null(strstr(body_of(resp), "\"stream_capacity\""));
    assert_non_null(strstr(resp, "retry-after: 1"));
    for (int k = 0; k < nheld; k++)
        close(held[k]);
    t0 = h_now();
    while ((left = stream_clients(port)) != 0 && h_now() < t0 + 1.0)
        h_sleep_ms(20);
    assert_int_equal(left, 0);
    assert_true(alive(&c, 0));
    h_cluster_destroy(&c);
}

/* ---- access tokens ---- */

/* A key set the test holds, served over HTTP by a plain static server (python3's http.server)
 * on a port of its own: a sport node pointed at it (accounts_jwks_url) accepts tokens the test
 * signs, which the accounts cluster itself never would (its keys are its own, and no client can
 * add one: see test_writepath). */
struct jwks_server {
    pid_t pid;
    int port;
    char dir[64];
};

static cjose_jwk_t *serve_test_key(struct jwks_server *js, const char *kid)
{
    cjose_err err;
    cjose_jwk_t *k = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
    assert_non_null(k);
    assert_true(cjose_jwk_set_kid(k, kid, strlen(kid), &err));
    char *pub = cjose_jwk_to_json(k, false, &err);
    assert_non_null(pub);
    snprintf(js->dir, sizeof js->dir, "/tmp/parlay-jwks-XXXXXX");
    assert_non_null(mkdtemp(js->dir));
    char path[128];
    snprintf(path, sizeof path, "%s/jwks.json", js->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"keys\":[%s]}\n", pub);
    fclose(f);
    free(pub);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    js->port = ntohs(sa.sin_port);
    close(fd);
    char port[16];
    snprintf(port, sizeof port, "%d", js->port);
    js->pid = fork();
    if (js->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("python3", "python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory",
               js->dir, port, (char *)NULL);
        _exit(127);
    }
    assert_true(js->pid > 0);
    double deadline = h_now() + 15;
    long st = 0;
    while (h_now() < deadline) {
        struct h_resp r = h_http_raw(js->port, "GET", "/jwks.json", NULL, NULL, 2000);
        st = r.status;
        h_resp_free(&r);
        if (st == 200)
            break;
        h_sleep_ms(50);
    }
    assert_int_equal(st, 200);
    return k;
}

static void stop_jwks_server(struct jwks_server *js)
{
    kill(js->pid, SIGTERM);
    waitpid(js->pid, NULL, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", js->dir);
    assert_int_equal(system(cmd), 0);
}

/* A token over @claims signed by @k (ES256, low-s). */
static char *mint(cjose_jwk_t *k, const char *kid, const char *claims)
{
    char *out = tk_sign(k, kid, claims);
    assert_int_equal(kyc_es256_flip_s(out, true, NULL), KYC_OK);
    return out;
}

/* The status of @path on node 0 of @c with @token; the node must still be up after it. */
static long with_token(struct h_cluster *c, const char *path, const char *token)
{
    struct h_resp r = h_http_bearer(c, 0, "GET", path, NULL, NULL, token);
    long st = r.status;
    if (st == 401)
        assert_string_equal(r.content_type, "application/problem+json");
    h_resp_free(&r);
    assert_true(alive(c, 0));
    return st;
}

static void tokens_extreme_and_twins(void **state)
{
    (void)state;
    struct h_cluster a, s;
    char extra[512], player[64], token[2048], session[64];
    tk_start_clusters(&a, 1, &s, 1, 0, extra, sizeof extra);
    tk_sign_up(&a, 0, "eve@example.fr", PW, player, token, sizeof token, session);
    double deadline = h_now() + 30;
    long st;
    while ((st = with_token(&s, "/v1/me", token)) == 503 && h_now() < deadline)
        h_sleep_ms(20);
    assert_int_equal(st, 200);
    assert_int_equal(with_token(&a, "/v1/players/me", token), 200);

    /* The high-s twin of the same signature: refused on both clusters. */
    char twin[2048];
    snprintf(twin, sizeof twin, "%s", token);
    assert_int_equal(kyc_es256_flip_s(twin, false, NULL), KYC_OK);
    assert_int_equal(with_token(&s, "/v1/me", twin), 401);
    assert_int_equal(with_token(&a, "/v1/players/me", twin), 401);

    /* exp = 2^63 - 1 (and a huge real) signed by a key in the set: 401, the node stays up.
     * The key set is the test's own, served to a second sport node; the accounts role verifies
     * with the same code (node/auth.c over kyc/jwt.c, whose arithmetic kyc/tests/test_jwt.c
     * covers), and its own keys never sign such a token. */
    struct jwks_server js;
    cjose_jwk_t *k = serve_test_key(&js, "test-key-1");
    struct h_cluster s2;
    char extra2[256];
    snprintf(extra2, sizeof extra2,
             "{\"accounts_jwks_url\": \"http://127.0.0.1:%d/jwks.json\", "
             "\"accounts_jwks_min_interval_ms\": 0}",
             js.port);
    h_cluster_init(&s2, 1);
    s2.extra_config = extra2;
    h_cluster_write_configs(&s2);
    h_start_cluster(&s2);
    time_t now = time(NULL);
    char claims[512];
    /* The same key with a normal lifetime works: the refusals below are about exp alone. */
    snprintf(claims, sizeof claims,
             "{\"iss\":\"" ISSUER "\",\"aud\":\"parlay\",\"sub\":\"%s\",\"sid\":\"%s\","
             "\"iat\":%lld,\"exp\":%lld}",
             player, session, (long long)now, (long long)now + 600);
    char *t = mint(k, "test-key-1", claims);
    deadline = h_now() + 30;
    while ((st = with_token(&s2, "/v1/me", t)) == 503 && h_now() < deadline)
        h_sleep_ms(20);
    assert_int_equal(st, 200);
    free(t);
    static const char *const exps[] = {"9223372036854775807", "1e300"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(claims, sizeof claims,
                 "{\"iss\":\"" ISSUER "\",\"aud\":\"parlay\",\"sub\":\"%s\",\"sid\":\"%s\","
                 "\"iat\":%lld,\"exp\":%s}",
                 player, session, (long long)now, exps[i]);
        t = mint(k, "test-key-1", claims);
        assert_int_equal(with_token(&s2, "/v1/me", t), 401);
        free(t);
    }
    cjose_jwk_release(k);
    h_cluster_destroy(&s2);
    stop_jwks_server(&js);
    h_cluster_destroy(&s);
    h_cluster_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(framing_and_bodies),
        cmocka_unit_test(queries_ids_positions),
        cmocka_unit_test(streams_closed_and_capped),
        cmocka_unit_test(tokens_extreme_and_twins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
