/* The agreed-quote benchmark client (tests/bench/run.sh, section "quotes"). Two modes:
 *
 *   quote_latency latency --sim URL --sim URL --sim URL --quotes URL --seconds S
 *                         [--warmup-ms MS] [--tail-ms MS] [--label TEXT] [--prefix P]
 *                         [--split-label TEXT]
 *
 *     Reads the three simulators' GET /v1/stream ("live" events) and a follower's
 *     GET /v1/stream/quotes at once (libcurl multi, one thread). The emission time of live event
 *     (F, S) is the earliest of its arrivals from the three simulators (they run the same
 *     scenario from the same start); its latency is the arrival of the first "published" quote
 *     of F with event_seq >= S minus that. Live events that arrive in the first --warmup-ms
 *     (default 1000: the simulators replay what they already published to a new stream) are not
 *     counted, nor events emitted in the last --tail-ms (default 3000) of the run that have no
 *     quote yet; with --prefix, only fixtures whose id starts with P are counted. SIGUSR1 ends
 *     the window at once (bets_bench: when a settlement is over); SIGUSR2 splits it: events
 *     emitted after it are reported apart, under --split-label (bets_bench: the bets settled,
 *     their holds being paid). Prints p50, p99, max, count; exits 1 when no sample was taken.
 *
 *   quote_latency capacity --quotes URL --games N --cadence C --seconds S
 *                          [--live-timeout S] [--settle S] [--pid LABEL=PID]...
 *
 *     Reads a follower's quote stream until each of the N games has a published quote that
 *     knows of its kick-off (event_seq >= 2), then for S seconds counts publications, each
 *     game's re-quote gaps (from its previous publication; the end of the window closes an
 *     open gap) and the CPU time (utime + stime of /proc/PID/stat) of each --pid. Exits 1 when
 *     the games do not all go live within --live-timeout (default 120 s) or nothing is
 *     published in the window.
 *
 * Any stream that fails or ends is an error (exit 1), as is SIGINT/SIGTERM (exit 130).
 */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_STREAMS 8
#define MAX_PIDS 16
#define ID_MAX 64

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char* fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("quote_latency: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void* xrealloc(void* p, size_t n)
{
    void* q = realloc(p, n ? n : 1);
    if (!q)
        die("out of memory");
    return q;
}

/* ---- fixtures ----------------------------------------------------------------------------- */

struct pub
{
    double t;
    uint64_t event_seq;
};

struct fx
{
    char id[ID_MAX + 1];
    /* latency: emission (earliest arrival) and arrival count per seq, 0 = not seen */
    double *emit, *last;
    unsigned char* arrivals;
    size_t ncap;
    /* publications */
    struct pub* pubs;
    size_t npubs, pcap;
    /* capacity */
    double live_t;  /* first publication with event_seq >= 2 */
    double prev_t;  /* last publication inside the window */
    double max_gap; /* ms, inside the window */
    unsigned gaps, gaps_ok, gaps_closed;
    double gap_sum; /* of the gaps between two publications inside the window */
};

static struct fx** fx_tab; /* open addressing */
static size_t fx_cap, fx_n;
static struct fx** fx_list;

static uint64_t hash(const char* s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static struct fx* fx_get(const char* id, bool create)
{
    if (strlen(id) > ID_MAX)
        return NULL;
    if (fx_n * 2 >= fx_cap) {
        size_t nc = fx_cap ? fx_cap * 2 : 1024;
        struct fx** nt = calloc(nc, sizeof *nt);
        if (!nt)
            die("out of memory");
        for (size_t i = 0; i < fx_cap; i++)
            if (fx_tab[i]) {
                size_t j = hash(fx_tab[i]->id) & (nc - 1);
                while (nt[j])
                    j = (j + 1) & (nc - 1);
                nt[j] = fx_tab[i];
            }
        free(fx_tab);
        fx_tab = nt;
        fx_cap = nc;
        fx_list = xrealloc(fx_list, nc * sizeof *fx_list);
    }
    size_t j = hash(id) & (fx_cap - 1);
    while (fx_tab[j]) {
        if (!strcmp(fx_tab[j]->id, id))
            return fx_tab[j];
        j = (j + 1) & (fx_cap - 1);
    }
    if (!create)
        return NULL;
    struct fx* f = calloc(1, sizeof *f);
    if (!f)
        die("out of memory");
    snprintf(f->id, sizeof f->id, "%s", id);
    fx_tab[j] = f;
    fx_list[fx_n++] = f;
    return f;
}

/* ---- streams ------------------------------------------------------------------------------ */

enum skind { S_SIM, S_QUOTES };

struct stream
{
    enum skind kind;
    char url[512];
    CURL* h;
    char* buf;
    size_t len, cap;
    double opened;
    unsigned long events;
};

static struct stream streams[MAX_STREAMS];
static int nstreams;
static volatile sig_atomic_t interrupted, window_over, split_now;
static double t_split; /* when SIGUSR2 came (ms, now_ms clock); 0: never */

/* What the modes do with an event. */
static void (*on_event)(struct stream* s, const char* type, const char* data, double t);

static void parse_block(struct stream* s, char* blk, double t)
{
    char type[32] = "message";
    char* data = NULL;
    size_t dlen = 0;
    for (char *line = blk, *nl; line && *line; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = 0;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r')
            line[--l] = 0;
        if (line[0] == ':' || !l)
            continue;
        char* v = strchr(line, ':');
        const char* val = "";
        if (v) {
            *v++ = 0;
            if (*v == ' ')
                v++;
            val = v;
        }
        if (!strcmp(line, "event")) {
            snprintf(type, sizeof type, "%s", val);
        } else if (!strcmp(line, "data")) {
            size_t vl = strlen(val);
            data = xrealloc(data, dlen + vl + 2);
            if (dlen)
                data[dlen++] = '\n';
            memcpy(data + dlen, val, vl + 1);
            dlen += vl;
        }
    }
    if (data) {
        s->events++;
        on_event(s, type, data, t);
    }
    free(data);
}

static size_t on_write(char* ptr, size_t size, size_t nmemb, void* arg)
{
    struct stream* s = arg;
    size_t n = size * nmemb;
    double t = now_ms();
    if (s->len + n + 1 > s->cap) {
        while (s->len + n + 1 > s->cap)
            s->cap = s->cap ? s->cap * 2 : 65536;
        s->buf = xrealloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, ptr, n);
    s->len += n;
    s->buf[s->len] = 0;
    /* Complete events end with a blank line. */
    size_t start = 0;
    for (;;) {
        char *p = s->buf + start, *end = strstr(p, "\n\n");
        char* end2 = strstr(p, "\r\n\r\n");
        size_t skip = 2;
        if (end2 && (!end || end2 < end)) {
            end = end2;
            skip = 4;
        }
        if (!end)
            break;
        *end = 0;
        parse_block(s, p, t);
        start = (size_t)(end - s->buf) + skip;
    }
    memmove(s->buf, s->buf + start, s->len - start + 1);
    s->len -= start;
    return n;
}

static CURLM* multi;

static void stream_add(enum skind kind, const char* url)
{
    if (nstreams == MAX_STREAMS)
        die("too many streams");
    struct stream* s = &streams[nstreams++];
    s->kind = kind;
    snprintf(s->url, sizeof s->url, "%s", url);
    s->h = curl_easy_init();
    curl_easy_setopt(s->h, CURLOPT_URL, s->url);
    curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
    curl_easy_setopt(s->h, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(s->h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(s->h, CURLOPT_TCP_NODELAY, 1L);
    s->opened = now_ms();
    curl_multi_add_handle(multi, s->h);
}

/* Runs the streams until @until (ms, monotonic) or until @done() says so. */
static void pump(double until, bool (*done)(void))
{
    while (!interrupted) {
        double t = now_ms();
        if (split_now && !t_split)
            t_split = t;
        if (t >= until || window_over || (done && done()))
            return;
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg* m;
        int left;
        while ((m = curl_multi_info_read(multi, &left)))
            if (m->msg == CURLMSG_DONE) {
                struct stream* s = NULL;
                curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char**)&s);
                die("stream %s ended after %lu events: %s", s ? s->url : "?", s ? s->events : 0,
                    curl_easy_strerror(m->data.result));
            }
        int wait = (int)(until - now_ms());
        if (wait > 100)
            wait = 100;
        if (wait < 0)
            wait = 0;
        curl_multi_poll(multi, NULL, 0, wait, NULL);
    }
    fprintf(stderr, "quote_latency: interrupted\n");
    exit(130);
}

static json_t* parse_json(const char* data)
{
    json_t* j = json_loads(data, 0, NULL);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- latency ------------------------------------------------------------------------------ */

static double warmup_ms = 1000, tail_ms = 3000, t_start;
static const char* only_prefix = "";
static unsigned long replayed, sim_live, quote_published, quote_suspended, quote_closed, bad;

static void lat_event(struct stream* s, const char* type, const char* data, double t)
{
    if (s->kind == S_SIM) {
        if (strcmp(type, "live") != 0)
            return;
        json_t* j = parse_json(data);
        const char* id = json_string_value(json_object_get(j, "fixture"));
        json_int_t seq = json_integer_value(json_object_get(j, "seq"));
        if (id && strncmp(id, only_prefix, strlen(only_prefix)) != 0) {
            json_decref(j);
            return;
        }
        struct fx* f = id ? fx_get(id, true) : NULL;
        if (!f || seq <= 0 || seq > 1000000) {
            bad++;
        } else if (t - s->opened < warmup_ms) {
            replayed++;
        } else {
            sim_live++;
            if ((size_t)seq >= f->ncap) {
                size_t nc = f->ncap ? f->ncap : 64;
                while (nc <= (size_t)seq)
                    nc *= 2;
                f->emit = xrealloc(f->emit, nc * sizeof *f->emit);
                f->last = xrealloc(f->last, nc * sizeof *f->last);
                f->arrivals = xrealloc(f->arrivals, nc);
                for (size_t k = f->ncap; k < nc; k++)
                    f->emit[k] = f->last[k] = 0, f->arrivals[k] = 0;
                f->ncap = nc;
            }
            if (!f->emit[seq] || t < f->emit[seq])
                f->emit[seq] = t;
            if (t > f->last[seq])
                f->last[seq] = t;
            f->arrivals[seq]++;
        }
        json_decref(j);
        return;
    }
    if (!strcmp(type, "suspended"))
        quote_suspended++;
    else if (!strcmp(type, "closed"))
        quote_closed++;
    if (strcmp(type, "published") != 0)
        return;
    json_t* j = parse_json(data);
    const char* id = json_string_value(json_object_get(j, "fixture"));
    json_t* es = json_object_get(j, "event_seq");
    struct fx* f = id ? fx_get(id, true) : NULL;
    if (!f || (es && !json_is_integer(es))) {
        bad++;
    } else {
        quote_published++;
        if (f->npubs == f->pcap) {
            f->pcap = f->pcap ? f->pcap * 2 : 16;
            f->pubs = xrealloc(f->pubs, f->pcap * sizeof *f->pubs);
        }
        f->pubs[f->npubs++] = (struct pub){t, (uint64_t)json_integer_value(es)};
    }
    json_decref(j);
}

static int cmp_double(const void* a, const void* b)
{
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

static double pct(const double* v, size_t n, double p)
{
    size_t k = (size_t)ceil(p * (double)n);
    return v[k ? k - 1 : 0];
}

/* The report of the live events emitted in [@lo, @hi) (ms); @whole: the run's only window (no
 * sample at all is then an error). */
static int window_report(const char* label, double lo, double hi, double t_end, bool whole)
{
    double slow_ms = getenv("QUOTE_LATENCY_SLOW_MS") ? atof(getenv("QUOTE_LATENCY_SLOW_MS")) : 0;
    double *lat = NULL, *spread = NULL;
    size_t n = 0, ns = 0, cap = 0, unquoted = 0, pending = 0, negative = 0, partial = 0;
    double worst = -1;
    char worst_id[ID_MAX + 1] = "";
    uint64_t worst_seq = 0;
    for (size_t i = 0; i < fx_n; i++) {
        struct fx* f = fx_list[i];
        for (size_t seq = 1; seq < f->ncap; seq++) {
            if (!f->emit[seq] || f->emit[seq] < lo || f->emit[seq] >= hi)
                continue;
            if (n == cap || ns == cap) { /* ns counts unquoted events too: it can pass n */
                cap = cap ? cap * 2 : 1024;
                lat = xrealloc(lat, cap * sizeof *lat);
                spread = xrealloc(spread, cap * sizeof *spread);
            }
            if (f->arrivals[seq] >= 3)
                spread[ns++] = f->last[seq] - f->emit[seq];
            else
                partial++;
            double got = 0;
            for (size_t k = 0; k < f->npubs; k++)
                if (f->pubs[k].event_seq >= seq) {
                    got = f->pubs[k].t;
                    break;
                }
            if (!got) {
                if (f->emit[seq] > t_end - tail_ms)
                    pending++;
                else
                    unquoted++;
                continue;
            }
            double l = got - f->emit[seq];
            if (l < 0) {
                negative++; /* the quote came first: bench client scheduling; counted as 0 */
                l = 0;
            }
            if (slow_ms > 0 && l > slow_ms) { /* QUOTE_LATENCY_SLOW_MS: each slow sample */
                struct timespec rt;
                clock_gettime(CLOCK_REALTIME, &rt);
                double wall = (double)rt.tv_sec + rt.tv_nsec / 1e9 - (now_ms() - f->emit[seq]) / 1e3;
                printf("  slow: %s seq %zu emitted %.3f (unix s), quoted after %.1f ms\n", f->id,
                       seq, wall, l);
            }
            if (l > worst) {
                worst = l;
                snprintf(worst_id, sizeof worst_id, "%s", f->id);
                worst_seq = seq;
            }
            lat[n++] = l;
        }
    }
    if (n == 0 && !whole) {
        printf("%-34s        0 (no live event emitted in this window)\n", label);
        free(lat);
        free(spread);
        return 0;
    }
    if (n == 0)
        die("no samples: %lu live events from the simulators (%lu replayed, ignored), %lu quotes "
            "published on %s, %zu events never quoted; is the cluster quoting? (see the node "
            "logs)",
            sim_live, replayed, quote_published, streams[nstreams - 1].url, unquoted);
    qsort(lat, n, sizeof *lat, cmp_double);
    qsort(spread, ns, sizeof *spread, cmp_double);
    double sum = 0;
    size_t over50 = 0;
    for (size_t i = 0; i < n; i++) {
        sum += lat[i];
        over50 += lat[i] > 50;
    }
    printf("%-34s %8zu %9.1f %9.1f %9.1f %9.1f\n", label, n, pct(lat, n, 0.5), pct(lat, n, 0.99),
           lat[n - 1], sum / (double)n);
    printf(
        "  %zu of %zu samples above 50 ms; slowest: %s seq %llu; %zu events never quoted, "
        "%zu still pending at the end (emitted in the last %.0f ms)\n",
        over50, n, worst_id, (unsigned long long)worst_seq, unquoted, pending, tail_ms);
    printf(
        "  stream: %lu published, %lu suspended, %lu closed; simulators' spread (last - "
        "first arrival of an event): p50 %.2f ms, p99 %.2f ms%s\n",
        quote_published, quote_suspended, quote_closed, ns ? pct(spread, ns, 0.5) : 0,
        ns ? pct(spread, ns, 0.99) : 0, partial ? " (some events seen by fewer than 3)" : "");
    if (negative || bad)
        printf(
            "  note: %zu quotes arrived before the client saw the event (counted as 0 ms), "
            "%lu unreadable events\n",
            negative, bad);
    printf(
        "BENCH quotes_latency samples=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f mean_ms=%.2f "
        "unquoted=%zu\n",
        n, pct(lat, n, 0.5), pct(lat, n, 0.99), lat[n - 1], sum / (double)n, unquoted);
    free(lat);
    free(spread);
    return unquoted > n / 10 ? 1 : 0;
}

static int run_latency(double seconds, const char* label, const char* split_label)
{
    on_event = lat_event;
    t_start = now_ms();
    double t_end = t_start + seconds * 1000;
    pump(t_end, NULL);
    if (window_over)
        t_end = now_ms();
    for (int i = 0; i < nstreams; i++)
        if (!streams[i].events && streams[i].kind == S_SIM)
            die("no event at all from %s", streams[i].url);
    if (!t_split)
        return window_report(label, -INFINITY, INFINITY, t_end, true);
    int rc = window_report(label, -INFINITY, t_split, t_end, false);
    return rc | window_report(split_label ? split_label : "after SIGUSR2", t_split, INFINITY,
                              t_end, false);
}

/* ---- capacity ----------------------------------------------------------------------------- */

static unsigned games, live_games;
static double cadence_s, settle_s = -1, win_start, win_end;
static unsigned long win_pubs, pre_pubs;

static void cap_event(struct stream* s, const char* type, const char* data, double t)
{
    (void)s;
    if (!strcmp(type, "suspended"))
        quote_suspended++;
    else if (!strcmp(type, "closed"))
        quote_closed++;
    if (strcmp(type, "published") != 0)
        return;
    json_t* j = parse_json(data);
    const char* id = json_string_value(json_object_get(j, "fixture"));
    uint64_t es = (uint64_t)json_integer_value(json_object_get(j, "event_seq"));
    struct fx* f = id ? fx_get(id, true) : NULL;
    if (!f) {
        bad++;
        json_decref(j);
        return;
    }
    quote_published++;
    if (!f->live_t && es >= 2) {
        f->live_t = t;
        live_games++;
    }
    if (win_start && t >= win_start && t < win_end) {
        win_pubs++;
        double from = f->prev_t ? f->prev_t : win_start;
        if (f->prev_t || f->live_t < win_start) {
            double g = t - from;
            f->gaps++;
            f->gaps_ok += g <= (cadence_s + 2) * 1000;
            if (f->prev_t) {
                f->gaps_closed++;
                f->gap_sum += g;
            }
            if (g > f->max_gap)
                f->max_gap = g;
        }
        f->prev_t = t;
    } else if (!win_start) {
        pre_pubs++;
    }
    json_decref(j);
}

static bool all_live(void)
{
    return live_games >= games;
}

struct pidcpu
{
    char label[32];
    int pid;
    double t0, t1; /* seconds of CPU */
};

static double proc_cpu(int pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE* fp = fopen(path, "r");
    if (!fp)
        die("cannot read %s (did the process exit?)", path);
    size_t l = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[l] = 0;
    char* p = strrchr(buf, ')'); /* comm may contain spaces */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        die("cannot parse %s", path);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int run_capacity(double seconds, double live_timeout, struct pidcpu* pids, int npids)
{
    on_event = cap_event;
    double t0 = now_ms();
    pump(t0 + live_timeout * 1000, all_live);
    if (!all_live())
        die("only %u of %u games had a live quote (event_seq >= 2) on %s after %.0f s "
            "(%lu publications seen)",
            live_games, games, streams[0].url, live_timeout, quote_published);
    double t_live = now_ms();
    double first_live = 0;
    for (size_t i = 0; i < fx_n; i++)
        if (fx_list[i]->live_t && (!first_live || fx_list[i]->live_t < first_live))
            first_live = fx_list[i]->live_t;
    /* Let the kick-off burst settle (its rounds all started together) before measuring. */
    pump(now_ms() + settle_s * 1000, NULL);
    for (int i = 0; i < npids; i++)
        pids[i].t0 = proc_cpu(pids[i].pid);
    win_start = now_ms();
    win_end = win_start + seconds * 1000;
    pump(win_end, NULL);
    for (int i = 0; i < npids; i++)
        pids[i].t1 = proc_cpu(pids[i].pid);
    /* Close the open gaps at the end of the window. */
    unsigned counted = 0, never = 0;
    size_t tot_gaps = 0, tot_ok = 0;
    double max_gap = 0, gsum = 0;
    size_t gcount = 0;
    double* gmax = xrealloc(NULL, (fx_n ? fx_n : 1) * sizeof *gmax);
    size_t ng = 0;
    for (size_t i = 0; i < fx_n; i++) {
        struct fx* f = fx_list[i];
        if (!f->live_t)
            continue;
        counted++;
        if (!f->prev_t)
            never++;
        double open = win_end - (f->prev_t ? f->prev_t : win_start);
        if (open > (cadence_s + 2) * 1000) { /* a gap that did not close in time */
            f->gaps++;
            if (open > f->max_gap)
                f->max_gap = open;
        }
        if (f->gaps) {
            gsum += f->gap_sum;
            gcount += f->gaps_closed;
        }
        tot_gaps += f->gaps;
        tot_ok += f->gaps_ok;
        if (f->max_gap > max_gap)
            max_gap = f->max_gap;
        gmax[ng++] = f->max_gap;
    }
    qsort(gmax, ng, sizeof *gmax, cmp_double);
    if (!win_pubs)
        die("no publication at all on %s during the %.0f s window", streams[0].url, seconds);
    double rate = (double)win_pubs / seconds;
    double want = (double)games / cadence_s;
    printf(
        "  %u games live (first and last live quote %.1f and %.1f s after the client "
        "connected); %.0f s to settle, then a %.0f s window:\n",
        counted, (first_live - t0) / 1e3, (t_live - t0) / 1e3, settle_s, seconds);
    printf(
        "  %.1f publications/s (%.0f%% of the %.1f/s that %u games at a %.0f s cadence "
        "need) = %.0f games at the one-minute cadence\n",
        rate, 100 * rate / want, want, games, cadence_s, rate * 60);
    printf(
        "  mean re-quote interval %.2f s (the cadence counts from a publication, so a game's "
        "period is the cadence plus its round's own latency)\n",
        gcount ? gsum / (double)gcount / 1e3 : 0);
    printf(
        "  re-quote gaps: %zu of %zu (%.1f%%) within cadence + 2 s = %.0f s; per-game max "
        "gap p50 %.1f s, p99 %.1f s, max %.1f s; %u games never re-quoted in the window\n",
        tot_ok, tot_gaps, tot_gaps ? 100.0 * (double)tot_ok / (double)tot_gaps : 0, cadence_s + 2,
        pct(gmax, ng, 0.5) / 1e3, pct(gmax, ng, 0.99) / 1e3, max_gap / 1e3, never);
    printf("  CPU over the window (%% of one core):");
    double total = 0;
    for (int i = 0; i < npids; i++) {
        double c = 100 * (pids[i].t1 - pids[i].t0) / seconds;
        total += c;
        printf(" %s %.0f%%", pids[i].label, c);
    }
    printf("; total %.0f%% of %ld cores\n", total, sysconf(_SC_NPROCESSORS_ONLN));
    printf(
        "BENCH quotes_capacity games=%u cadence_s=%.0f pubs_per_s=%.2f one_minute_games=%.0f "
        "gaps_ok_pct=%.1f max_gap_s=%.1f\n",
        games, cadence_s, rate, rate * 60, tot_gaps ? 100.0 * (double)tot_ok / (double)tot_gaps : 0,
        max_gap / 1e3);
    free(gmax);
    return 0;
}

/* ---- main --------------------------------------------------------------------------------- */

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        window_over = 1;
    else if (sig == SIGUSR2)
        split_now = 1;
    else
        interrupted = 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: quote_latency latency --sim URL --sim URL --sim URL --quotes URL --seconds S\n"
            "                     [--warmup-ms MS] [--tail-ms MS] [--label TEXT] [--prefix P]\n"
            "                     [--split-label TEXT]\n"
            "       quote_latency capacity --quotes URL --games N --cadence C --seconds S\n"
            "                     [--live-timeout S] [--settle S] [--pid LABEL=PID]...\n");
    exit(2);
}

int main(int argc, char** argv)
{
    if (argc < 2)
        usage();
    const char* mode = argv[1];
    bool lat = !strcmp(mode, "latency"), capm = !strcmp(mode, "capacity");
    if (!lat && !capm)
        usage();
    static const struct option opts[] = {
        {"sim", required_argument, 0, 's'},          {"quotes", required_argument, 0, 'q'},
        {"seconds", required_argument, 0, 'S'},      {"warmup-ms", required_argument, 0, 'w'},
        {"tail-ms", required_argument, 0, 't'},      {"label", required_argument, 0, 'l'},
        {"games", required_argument, 0, 'g'},        {"cadence", required_argument, 0, 'c'},
        {"live-timeout", required_argument, 0, 'L'}, {"pid", required_argument, 0, 'p'},
        {"settle", required_argument, 0, 'W'},       {"prefix", required_argument, 0, 'P'},
        {"split-label", required_argument, 0, 'X'},  {0, 0, 0, 0}};
    const char *sims[3] = {0}, *quotes = NULL, *label = "latency", *split_label = NULL;
    int nsims = 0, npids = 0;
    double seconds = 0, live_timeout = 120;
    struct pidcpu pids[MAX_PIDS];
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (nsims == 3)
                usage();
            sims[nsims++] = optarg;
            break;
        case 'q':
            quotes = optarg;
            break;
        case 'S':
            seconds = atof(optarg);
            break;
        case 'w':
            warmup_ms = atof(optarg);
            break;
        case 't':
            tail_ms = atof(optarg);
            break;
        case 'l':
            label = optarg;
            break;
        case 'g':
            games = (unsigned)atoi(optarg);
            break;
        case 'c':
            cadence_s = atof(optarg);
            break;
        case 'L':
            live_timeout = atof(optarg);
            break;
        case 'W':
            settle_s = atof(optarg);
            break;
        case 'P':
            only_prefix = optarg;
            break;
        case 'X':
            split_label = optarg;
            break;
        case 'p': {
            char* eq = strchr(optarg, '=');
            if (!eq || npids == MAX_PIDS)
                usage();
            snprintf(pids[npids].label, sizeof pids[npids].label, "%.*s", (int)(eq - optarg),
                     optarg);
            pids[npids++].pid = !strcmp(eq + 1, "self") ? (int)getpid() : atoi(eq + 1);
            break;
        }
        default:
            usage();
        }
    }
    if (!quotes || seconds <= 0 || (lat && nsims != 3) || (capm && (!games || cadence_s <= 0)))
        usage();
    if (settle_s < 0)
        settle_s = 2 * cadence_s;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGUSR1, on_signal);
    signal(SIGUSR2, on_signal);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    multi = curl_multi_init();
    for (int i = 0; i < nsims; i++) {
        char url[512];
        snprintf(url, sizeof url, "%s/v1/stream", sims[i]);
        stream_add(S_SIM, url);
    }
    char qurl[512];
    snprintf(qurl, sizeof qurl, "%s/v1/stream/quotes", quotes);
    stream_add(S_QUOTES, qurl);
    int rc = lat ? run_latency(seconds, label, split_label) : run_capacity(seconds, live_timeout, pids, npids);
    fflush(stdout);
    /* The streams never end by themselves: leave without tearing them down one by one. */
    return rc;
}
