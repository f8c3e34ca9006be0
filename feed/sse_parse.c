/* The text/event-stream framing (WHATWG HTML, "server-sent events"), on its own so that it
 * can be fed any chunking of a stream and tested byte by byte.
 *
 * Lines end with LF, CRLF or CR (a CRLF split across two chunks is one line end); a leading
 * UTF-8 BOM is skipped; lines starting with ':' are comments (heartbeats). "data" lines
 * accumulate, joined with LF; "event" names the event; "id" sets the last-event-id buffer,
 * which persists from event to event, unless its value contains NUL. A blank line
 * dispatches: the callback gets the event name, the data (NULL if there was no data line)
 * and the id buffer. Unknown fields, and "retry", are ignored.
 *
 * Limits, so that a hostile stream cannot grow memory without bound: a line of at most
 * FEED_SSE_LINE_MAX bytes and event data of at most 4 lines' worth; past them, FEED_ESSE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed/internal.h"

int feed_sse_init(struct feed_sse *s, feed_sse_cb cb, void *arg)
{
    memset(s, 0, sizeof *s);
    s->line = malloc(FEED_SSE_LINE_MAX);
    if (!s->line)
        return FEED_ENOMEM;
    s->cb = cb;
    s->arg = arg;
    return 0;
}

void feed_sse_free(struct feed_sse *s)
{
    free(s->line);
    free(s->data);
    s->line = s->data = NULL;
}

/* A new connection: a new stream, but the id buffer is kept (it is what we resume from). */
void feed_sse_restart(struct feed_sse *s)
{
    s->llen = s->dlen = 0;
    s->after_cr = s->has_data = false;
    s->event[0] = 0;
    s->bom_checked = 0;
    s->err = 0;
    s->msg[0] = 0;
}

static int fail(struct feed_sse *s, int code, const char *msg)
{
    s->err = code;
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    return code;
}

static int data_append(struct feed_sse *s, const char *v, size_t n)
{
    if (s->dlen + n + 2 > 4 * FEED_SSE_LINE_MAX)
        return fail(s, FEED_ESSE, "event data above 256 KiB");
    if (s->dlen + n + 2 > s->dcap) {
        size_t cap = (s->dlen + n + 2) * 2;
        char *nd = realloc(s->data, cap);
        if (!nd)
            return fail(s, FEED_ENOMEM, "out of memory");
        s->data = nd;
        s->dcap = cap;
    }
    memcpy(s->data + s->dlen, v, n);
    s->dlen += n;
    s->data[s->dlen++] = '\n';
    s->data[s->dlen] = 0;
    s->has_data = true;
    return 0;
}

static int dispatch(struct feed_sse *s)
{
    int rc = 0;
    if (s->has_data) {
        s->data[--s->dlen] = 0; /* the LF after the last data line is not data */
        rc = s->cb(s->arg, s->event, s->data, s->dlen, s->id);
    } else {
        rc = s->cb(s->arg, s->event, NULL, 0, s->id);
    }
    s->event[0] = 0;
    s->dlen = 0;
    s->has_data = false;
    if (rc && !s->err)
        s->err = rc;
    return rc;
}

static int line(struct feed_sse *s, const char *l, size_t n)
{
    if (n == 0)
        return dispatch(s);
    if (l[0] == ':')
        return 0;
    const char *colon = memchr(l, ':', n);
    size_t fl = colon ? (size_t)(colon - l) : n;
    const char *v = colon ? colon + 1 : l + n;
    size_t vl = colon ? n - fl - 1 : 0;
    if (vl && *v == ' ')
        v++, vl--;
    if (fl == 4 && !memcmp(l, "data", 4))
        return data_append(s, v, vl);
    if (fl == 5 && !memcmp(l, "event", 5)) {
        if (vl >= sizeof s->event)
            return fail(s, FEED_ESSE, "event name longer than 31 bytes");
        memcpy(s->event, v, vl);
        s->event[vl] = 0;
    } else if (fl == 2 && !memcmp(l, "id", 2) && !memchr(v, 0, vl)) {
        if (vl >= sizeof s->id)
            return fail(s, FEED_ESSE, "event id longer than 63 bytes");
        memcpy(s->id, v, vl);
        s->id[vl] = 0;
    }
    return 0;
}

int feed_sse_feed(struct feed_sse *s, const char *buf, size_t n)
{
    if (s->err)
        return s->err;
    size_t i = 0;
    /* A BOM may only open the stream; it may arrive split across chunks. */
    static const char bom[] = "\xef\xbb\xbf";
    while (s->bom_checked < 3 && i < n) {
        if (buf[i] != bom[s->bom_checked]) {
            if (s->bom_checked) /* a partial BOM was text after all */
                return fail(s, FEED_ESSE, "stream starts with a broken byte-order mark");
            s->bom_checked = 3;
            break;
        }
        s->bom_checked++;
        i++;
    }
    for (; i < n; i++) {
        char c = buf[i];
        if (c == '\n' && s->after_cr) {
            s->after_cr = false;
            continue;
        }
        s->after_cr = c == '\r';
        if (c == '\n' || c == '\r') {
            s->line[s->llen] = 0;
            size_t len = s->llen;
            s->llen = 0;
            int rc = line(s, s->line, len);
            if (rc)
                return rc;
            continue;
        }
        if (s->llen + 1 >= FEED_SSE_LINE_MAX)
            return fail(s, FEED_ESSE, "line longer than 64 KiB");
        s->line[s->llen++] = c;
    }
    return 0;
}
