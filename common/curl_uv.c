/* libcurl's multi interface driven by a libuv loop.
 *
 * The happy path: cu_add() hands an easy handle to the multi; curl calls on_socket() for each
 * socket it wants watched (we open a uv_poll_t and keep it in the socket's curl slot) and
 * on_timeout() when it wants to be called back (one uv_timer_t). Readiness and timer expiry
 * go back to curl through curl_multi_socket_action(); check_done() then reads finished
 * transfers and calls their done callbacks, which may add new transfers.
 *
 * Closing: transfers still in flight are removed and ended through their done callbacks
 * (their owners free them), then curl_multi_cleanup() tells us to forget its sockets (CURL_POLL_REMOVE), we close
 * the polls it forgot and any it did not, then the timer; `closed` runs when the last uv
 * handle's close callback has run, so the owner can free the memory the handles live in.
 */
#include "common/curl_uv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cu_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct cu_multi *m;
    struct cu_sock *next;
    bool closing;
};

static void handle_closed(struct cu_multi *m)
{
    if (--m->open_handles == 0 && m->closing && m->closed)
        m->closed(m);
}

static void on_timer_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void on_poll_closed(uv_handle_t *h)
{
    struct cu_sock *s = h->data;
    struct cu_multi *m = s->m;
    for (struct cu_sock **pp = &m->socks; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    free(s);
    handle_closed(m);
}

static void sock_close(struct cu_sock *s)
{
    if (s->closing)
        return;
    s->closing = true;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_poll_closed);
}

static void xfer_unlink(struct cu_multi *m, struct cu_xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else if (m->xfers == x)
        m->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
}

static void check_done(struct cu_multi *m)
{
    CURLMsg *msg;
    int left;
    while (!m->closing && (msg = curl_multi_info_read(m->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        struct cu_xfer *x = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(m->multi, easy);
        xfer_unlink(m, x);
        x->done(x, rc);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct cu_sock *s = h->data;
    struct cu_multi *m = s->m;
    int flags = 0, running;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(m->multi, s->fd, flags, &running);
    check_done(m);
}

static int on_socket(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp)
{
    (void)easy;
    struct cu_multi *m = userp;
    struct cu_sock *s = socketp;
    if (action == CURL_POLL_REMOVE) {
        if (s) {
            if (!m->closing)
                curl_multi_assign(m->multi, fd, NULL);
            sock_close(s);
        }
        return 0;
    }
    if (m->closing)
        return 0;
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return -1;
        s->fd = fd;
        s->m = m;
        if (uv_poll_init_socket(m->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        s->next = m->socks;
        m->socks = s;
        m->open_handles++;
        curl_multi_assign(m->multi, fd, s);
    }
    int ev = 0;
    if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
        ev |= UV_READABLE;
    if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    struct cu_multi *m = t->data;
    int running;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(m);
}

static int on_timeout(CURLM *multi, long ms, void *userp)
{
    (void)multi;
    struct cu_multi *m = userp;
    if (m->closing)
        return 0;
    if (ms < 0)
        uv_timer_stop(&m->timer);
    else /* 0 means "now": one loop turn later, so that we never call curl re-entrantly */
        uv_timer_start(&m->timer, on_timer, ms == 0 ? 1 : (uint64_t)ms, 0);
    return 0;
}

int cu_init(struct cu_multi *m, uv_loop_t *loop)
{
    m->loop = loop;
    m->multi = curl_multi_init();
    if (!m->multi)
        return -1; /* out of memory */
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timeout);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
    uv_timer_init(loop, &m->timer);
    m->timer.data = m;
    m->open_handles = 1;
    return 0;
}

void cu_add(struct cu_multi *m, struct cu_xfer *x)
{
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    x->prev = NULL;
    x->next = m->xfers;
    if (m->xfers)
        m->xfers->prev = x;
    m->xfers = x;
    curl_multi_add_handle(m->multi, x->easy);
}

void cu_remove(struct cu_multi *m, struct cu_xfer *x)
{
    curl_multi_remove_handle(m->multi, x->easy);
    xfer_unlink(m, x);
}

void cu_close(struct cu_multi *m, void (*closed)(struct cu_multi *m))
{
    m->closed = closed;
    m->closing = true;
    /* curl_multi_cleanup leaves attached easy handles to their owners: end them first. */
    while (m->xfers) {
        struct cu_xfer *x = m->xfers;
        cu_remove(m, x);
        x->done(x, CURLE_ABORTED_BY_CALLBACK);
    }
    curl_multi_cleanup(m->multi);
    m->multi = NULL;
    for (struct cu_sock *s = m->socks; s; s = s->next)
        sock_close(s);
    uv_timer_stop(&m->timer);
    uv_close((uv_handle_t *)&m->timer, on_timer_closed);
}

size_t cu_body_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct cu_body *b = arg;
    size_t n = size * nmemb;
    if (b->max && b->len + n + 1 > b->max) {
        b->overflow = true;
        return 0; /* aborts the transfer */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 4096) + n;
        char *np = realloc(b->p, cap);
        if (!np)
            return 0;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, ptr, n);
    b->len += n;
    b->p[b->len] = 0;
    return n;
}

void cu_body_free(struct cu_body *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

bool cu_header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return false;
    const char *v = line + nl + 1;
    size_t vl = n - nl - 1;
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
    if (vl >= cap)
        return false;
    memcpy(out, v, vl);
    out[vl] = 0;
    return true;
}
