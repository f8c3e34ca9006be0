/* libcurl's multi interface on a libuv loop, for every HTTP client that must not block the
 * loop: the feed's provider adapters and a node's forwarding to its leader.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION: one uv_poll_t per socket)
 * and when to call it back (CURLMOPT_TIMERFUNCTION: one uv_timer_t); we report readiness with
 * curl_multi_socket_action() and collect finished transfers with curl_multi_info_read(). */
#ifndef PARLAY_CURL_UV_H
#define PARLAY_CURL_UV_H

#include <curl/curl.h>
#include <stdbool.h>
#include <uv.h>

struct cu_xfer {
    CURL *easy;
    /* The transfer finished (removed from the multi already); @rc is curl's verdict, or
     * CURLE_ABORTED_BY_CALLBACK when cu_close ended it unfinished. */
    void (*done)(struct cu_xfer *x, CURLcode rc);
    struct cu_xfer *prev, *next; /* the multi's transfers in flight (cu_multi.xfers) */
};

struct cu_sock;

struct cu_multi {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    struct cu_sock *socks; /* every poll handle we opened, to close stragglers */
    struct cu_xfer *xfers; /* every transfer added and not yet finished or removed */
    int open_handles;      /* uv handles not yet closed */
    bool closing;
    void (*closed)(struct cu_multi *m);
};

/* 0, or a negative error (out of memory). */
int cu_init(struct cu_multi *m, uv_loop_t *loop);
void cu_add(struct cu_multi *m, struct cu_xfer *x);
/* Abandons a transfer (no done callback). Never call from inside a curl callback. */
void cu_remove(struct cu_multi *m, struct cu_xfer *x);
/* A transfer still in flight is removed and ended with its done callback
 * (CURLE_ABORTED_BY_CALLBACK), so that its owner frees it; @closed runs once all handles are
 * closed. */
void cu_close(struct cu_multi *m, void (*closed)(struct cu_multi *m));

/* A response body as it arrives (CURLOPT_WRITEFUNCTION cu_body_write, CURLOPT_WRITEDATA the
 * cu_body): @p is NUL-terminated once a byte came (NULL before), and holds at most @max - 1
 * bytes (0: no bound); a larger body aborts the transfer with @overflow set. */
struct cu_body {
    char *p;
    size_t len, cap, max;
    bool overflow;
};
size_t cu_body_write(char *ptr, size_t size, size_t nmemb, void *arg);
/* Frees the bytes; the body is empty again (its @max kept). */
void cu_body_free(struct cu_body *b);

/* A header line @line (@n bytes, as CURLOPT_HEADERFUNCTION gets it) that is "@name: value"
 * (@name without the colon, any case): its trimmed value into @out (@cap bytes with the NUL)
 * and true; false for another header or a value that does not fit (@out untouched). */
bool cu_header_value(const char *line, size_t n, const char *name, char *out, size_t cap);

#endif
