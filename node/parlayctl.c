/* parlayctl: the operator's CLI. It talks to any node's admin API over HTTP.
 *
 *   parlayctl [--url URL] [--token-file FILE] [--json] [--timeout SECONDS] COMMAND ...
 *
 * Exit codes scripts can trust: 0 success, 1 the node refused (4xx/5xx, message printed),
 * 2 bad usage, 3 the node is unreachable, 4 timed out waiting (add). */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/version.h"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3, EXIT_TIMEOUT = 4 };

/* `parlayctl oracle ...` is served by the oracle library when it is linked in. */
extern int oracle_cli_main(int argc, char **argv) __attribute__((weak));
extern void oracle_cli_usage(FILE *f) __attribute__((weak));

static struct {
    char url[512];
    char token[4096];
    bool json;
    long timeout_s;
} opt = {.timeout_s = 120};

struct buf {
    char *p;
    size_t n;
};

static size_t on_data(char *p, size_t s, size_t n, void *arg)
{
    struct buf *b = arg;
    char *np = realloc(b->p, b->n + s * n + 1);
    if (!np)
        return 0;
    b->p = np;
    memcpy(b->p + b->n, p, s * n);
    b->n += s * n;
    b->p[b->n] = 0;
    return s * n;
}

static void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "parlayctl: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(code);
}

/* Make a request; returns the HTTP status and the parsed JSON body (or NULL). Exits with
 * EXIT_UNREACHABLE if the node cannot be reached. */
static long request(const char *method, const char *path, json_t *body, const char *idem,
                    json_t **out)
{
    CURL *c = curl_easy_init();
    char url[1200], auth[4200];
    struct buf b = {NULL, 0};
    struct curl_slist *h = NULL;
    snprintf(url, sizeof url, "%s%s", opt.url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", opt.token);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    if (idem) {
        char line[300];
        snprintf(line, sizeof line, "Idempotency-Key: %s", idem);
        h = curl_slist_append(h, line);
    }
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (text)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, opt.timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(text);
    if (rc != CURLE_OK) {
        free(b.p);
        die(EXIT_UNREACHABLE, "cannot reach %s: %s", opt.url, curl_easy_strerror(rc));
    }
    *out = b.p ? json_loads(b.p, 0, NULL) : NULL;
    free(b.p);
    return status;
}

/* Print a refusal (problem+json) and exit 1. */
static void refused(long status, json_t *body)
{
    if (opt.json && body) {
        char *t = json_dumps(body, JSON_INDENT(2));
        fprintf(stderr, "%s\n", t);
        free(t);
    } else {
        const char *title = json_string_value(json_object_get(body, "title"));
        const char *detail = json_string_value(json_object_get(body, "detail"));
        fprintf(stderr, "parlayctl: refused (HTTP %ld): %s%s%s\n", status,
                title ? title : "error", detail ? ": " : "", detail ? detail : "");
    }
    json_decref(body);
    exit(EXIT_REFUSED);
}

static json_t *call(const char *method, const char *path, json_t *body, const char *idem)
{
    json_t *out;
    long st = request(method, path, body, idem, &out);
    json_decref(body);
    if (st >= 400 || st < 200)
        refused(st, out);
    return out;
}

static void print_json(json_t *o)
{
    char *t = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    printf("%s\n", t);
    free(t);
}

static const char *s_of(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "-";
}

static long long i_of(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void print_members(json_t *st)
{
    json_t *leader = json_object_get(st, "leader");
    long long lid = json_is_object(leader) ? i_of(leader, "id") : 0;
    printf("%-4s %-8s %-22s %-22s %-7s %6s %6s\n", "ID", "ROLE", "RAFT", "HTTP", "LEADER", "MATCH",
           "LAG");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(st, "members"), i, m)
    {
        char match[24] = "-", lag[24] = "-";
        if (json_object_get(m, "match_index")) {
            snprintf(match, sizeof match, "%lld", i_of(m, "match_index"));
            snprintf(lag, sizeof lag, "%lld", i_of(m, "lag"));
        }
        printf("%-4lld %-8s %-22s %-22s %-7s %6s %6s\n", i_of(m, "id"), s_of(m, "role"),
               s_of(m, "raft_address"), s_of(m, "http_address"),
               i_of(m, "id") == lid ? "*" : "", match, lag);
    }
}

static int cmd_status(int argc, char **argv, bool members_only)
{
    (void)argv;
    if (argc != 1)
        die(EXIT_USAGE, "usage: parlayctl %s", members_only ? "members" : "status");
    json_t *st;
    long code = request("GET", "/admin/v1/cluster", NULL, NULL, &st);
    if (code == 503) {
        /* No leader (election, lost quorum): show what this node itself knows. */
        json_decref(st);
        st = call("GET", "/admin/v1/node", NULL, NULL);
        fprintf(stderr, "parlayctl: the cluster has no leader now; showing node %lld's own view\n",
                i_of(st, "id"));
    } else if (code < 200 || code >= 300) {
        refused(code, st);
    }
    if (opt.json) {
        print_json(members_only ? json_object_get(st, "members") : st);
    } else {
        if (!members_only) {
            json_t *leader = json_object_get(st, "leader");
            printf("cluster   %s (%s)\n", s_of(st, "cluster"), s_of(st, "role"));
            printf("leader    %lld at %s\n", json_is_object(leader) ? i_of(leader, "id") : 0,
                   json_is_object(leader) ? s_of(leader, "http_address") : "-");
            printf("term      %lld\ncommit    %lld\napplied   %lld (on the leader)\n",
                   i_of(st, "term"), i_of(st, "commit_index"), i_of(st, "last_applied"));
            printf("snapshots %lld\n", i_of(st, "snapshots"));
            /* Dissent as the leader counted it (sport clusters): observations, then prices;
             * and the agreement alert (observations pending past agreement_alert_s). */
            static const char *const what[2][2] = {{"observations", "dissent   "},
                                                   {"quotes", "prices    "}};
            for (int w = 0; w < 2; w++) {
                json_t *d = json_object_get(json_object_get(st, what[w][0]), "dissent");
                if (!json_is_object(d))
                    continue;
                printf("%s", what[w][1]);
                const char *k;
                json_t *v;
                if (json_object_size(d) == 0)
                    printf("none");
                json_object_foreach(d, k, v) printf("node %s: %lld  ", k,
                                                    (long long)json_integer_value(v));
                printf("\n");
            }
            json_t *obs = json_object_get(st, "observations");
            if (json_is_object(obs) && i_of(obs, "stalled") > 0)
                printf("ALERT     %lld observation(s) waiting for agreement (see "
                       "observations.pending)\n",
                       i_of(obs, "stalled"));
            printf("\n");
        }
        print_members(st);
    }
    json_decref(st);
    return EXIT_OK;
}

static long parse_id(const char *s)
{
    char *e;
    long v = strtol(s, &e, 10);
    if (!*s || *e || v <= 0)
        die(EXIT_USAGE, "'%s' is not a node id (a positive integer)", s);
    return v;
}

static json_t *find_member(json_t *st, long id)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(st, "members"), i, m) if (i_of(m, "id") == id) return m;
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void assign(long id, const char *role)
{
    char path[64];
    snprintf(path, sizeof path, "/admin/v1/members/%ld/role", id);
    json_decref(call("PUT", path, json_pack("{s:s}", "role", role), NULL));
}

/* add ID RAFT_ADDRESS HTTP_ADDRESS: spare -> standby -> caught up -> voter. */
static int cmd_add(int argc, char **argv)
{
    if (argc != 4)
        die(EXIT_USAGE, "usage: parlayctl add ID RAFT_ADDRESS HTTP_ADDRESS");
    long id = parse_id(argv[1]);
    double deadline = now_s() + (double)opt.timeout_s;
    json_decref(call("POST", "/admin/v1/members",
                     json_pack("{s:i, s:s, s:s}", "id", (int)id, "raft_address", argv[2],
                               "http_address", argv[3]),
                     NULL));
    if (!opt.json)
        fprintf(stderr, "added %ld as spare; replicating to it as standby...\n", id);
    assign(id, "standby");
    /* Wait until it has caught up with the leader's log. */
    for (;;) {
        json_t *st = call("GET", "/admin/v1/cluster", NULL, NULL);
        json_t *m = find_member(st, id);
        long long lag = m && json_object_get(m, "lag") ? i_of(m, "lag") : -1;
        long long match = m ? i_of(m, "match_index") : 0;
        json_decref(st);
        if (m && lag >= 0 && lag <= 8 && match > 0)
            break;
        if (now_s() > deadline)
            die(EXIT_TIMEOUT, "node %ld did not catch up within %lds (lag %lld); it stays a "
                              "standby: check that it runs and can reach the leader",
                id, opt.timeout_s, lag);
        sleep_ms(200);
    }
    assign(id, "voter");
    json_t *st = call("GET", "/admin/v1/cluster", NULL, NULL);
    if (opt.json)
        print_json(st);
    else {
        printf("node %ld is a voter\n\n", id);
        print_members(st);
    }
    json_decref(st);
    return EXIT_OK;
}

static int cmd_assign(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "voter") && strcmp(argv[2], "standby") &&
                      strcmp(argv[2], "spare")))
        die(EXIT_USAGE, "usage: parlayctl assign ID voter|standby|spare");
    assign(parse_id(argv[1]), argv[2]);
    if (!opt.json)
        printf("node %s is now %s\n", argv[1], argv[2]);
    return EXIT_OK;
}

static int cmd_remove(int argc, char **argv)
{
    if (argc != 2)
        die(EXIT_USAGE, "usage: parlayctl remove ID");
    char path[64];
    snprintf(path, sizeof path, "/admin/v1/members/%ld", parse_id(argv[1]));
    json_decref(call("DELETE", path, NULL, NULL));
    if (!opt.json)
        printf("node %s removed\n", argv[1]);
    return EXIT_OK;
}

static int cmd_transfer(int argc, char **argv)
{
    if (argc > 2)
        die(EXIT_USAGE, "usage: parlayctl transfer [ID]");
    json_t *body = argc == 2 ? json_pack("{s:i}", "to", (int)parse_id(argv[1])) : NULL;
    json_t *st = call("POST", "/admin/v1/leadership", body, NULL);
    json_t *leader = json_object_get(st, "leader");
    if (opt.json)
        print_json(st);
    else
        printf("leader is now %lld\n", json_is_object(leader) ? i_of(leader, "id") : 0);
    json_decref(st);
    return EXIT_OK;
}

static int cmd_snapshot(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        die(EXIT_USAGE, "usage: parlayctl snapshot");
    json_t *st = call("POST", "/admin/v1/snapshot", NULL, NULL);
    if (opt.json)
        print_json(st);
    else
        printf("snapshot taken on node %lld at index %lld (snapshots: %lld)\n", i_of(st, "id"),
               i_of(st, "last_applied"), i_of(st, "snapshots"));
    json_decref(st);
    return EXIT_OK;
}

static void print_fixture_row(json_t *f)
{
    printf("%-20s %-10s %-22s %-20s %-20s %s\n", s_of(f, "id"), s_of(f, "status"),
           s_of(f, "kickoff"), s_of(f, "home"), s_of(f, "away"), s_of(f, "competition"));
}

static void gen_key(char *out, size_t n)
{
    unsigned char r[12];
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(r, 1, sizeof r, f) != sizeof r)
        die(EXIT_USAGE, "no randomness for an idempotency key");
    fclose(f);
    size_t o = (size_t)snprintf(out, n, "ctl-");
    for (size_t i = 0; i < sizeof r && o + 2 < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%02x", r[i]);
}

static int cmd_fixtures(int argc, char **argv)
{
    const char *usage =
        "usage: parlayctl fixtures list [--sport S] [--competition C] [--status S] [--limit N] "
        "[--after ID]\n"
        "       parlayctl fixtures get ID\n"
        "       parlayctl fixtures create --id ID --sport S --competition C --home H --away A "
        "--kickoff TIME [--key IDEMPOTENCY_KEY]\n"
        "       parlayctl fixtures status ID STATUS [--key IDEMPOTENCY_KEY]";
    if (argc < 2)
        die(EXIT_USAGE, "%s", usage);
    const char *sub = argv[1];
    if (!strcmp(sub, "list")) {
        char path[1024] = "/v1/fixtures";
        char sep = '?';
        for (int i = 2; i < argc; i += 2) {
            if (i + 1 >= argc || strncmp(argv[i], "--", 2))
                die(EXIT_USAGE, "%s", usage);
            char *esc = curl_easy_escape(NULL, argv[i + 1], 0);
            size_t l = strlen(path);
            snprintf(path + l, sizeof path - l, "%c%s=%s", sep, argv[i] + 2, esc);
            curl_free(esc);
            sep = '&';
        }
        json_t *out = call("GET", path, NULL, NULL);
        if (opt.json)
            print_json(out);
        else {
            printf("%-20s %-10s %-22s %-20s %-20s %s\n", "ID", "STATUS", "KICKOFF", "HOME",
                   "AWAY", "COMPETITION");
            size_t i;
            json_t *f;
            json_array_foreach(json_object_get(out, "items"), i, f) print_fixture_row(f);
            if (json_is_string(json_object_get(out, "next")))
                printf("(more: --after %s)\n", s_of(out, "next"));
        }
        json_decref(out);
        return EXIT_OK;
    }
    if (!strcmp(sub, "get") && argc == 3) {
        char path[256];
        char *esc = curl_easy_escape(NULL, argv[2], 0);
        snprintf(path, sizeof path, "/v1/fixtures/%s", esc);
        curl_free(esc);
        json_t *out = call("GET", path, NULL, NULL);
        print_json(out);
        json_decref(out);
        return EXIT_OK;
    }
    char key[128] = "";
    if (!strcmp(sub, "create")) {
        json_t *body = json_object();
        for (int i = 2; i < argc; i += 2) {
            if (i + 1 >= argc || strncmp(argv[i], "--", 2))
                die(EXIT_USAGE, "%s", usage);
            if (!strcmp(argv[i], "--key"))
                snprintf(key, sizeof key, "%s", argv[i + 1]);
            else
                json_object_set_new(body, argv[i] + 2, json_string(argv[i + 1]));
        }
        if (!key[0])
            gen_key(key, sizeof key);
        json_t *out = call("POST", "/admin/v1/fixtures", body, key);
        if (opt.json)
            print_json(out);
        else
            printf("created %s (idempotency key %s)\n", s_of(out, "id"), key);
        json_decref(out);
        return EXIT_OK;
    }
    if (!strcmp(sub, "status") && (argc == 4 || argc == 6)) {
        if (argc == 6) {
            if (strcmp(argv[4], "--key"))
                die(EXIT_USAGE, "%s", usage);
            snprintf(key, sizeof key, "%s", argv[5]);
        } else {
            gen_key(key, sizeof key);
        }
        char path[256];
        char *esc = curl_easy_escape(NULL, argv[2], 0);
        snprintf(path, sizeof path, "/admin/v1/fixtures/%s", esc);
        curl_free(esc);
        json_t *out = call("PATCH", path, json_pack("{s:s}", "status", argv[3]), key);
        if (opt.json)
            print_json(out);
        else
            printf("%s is now %s (version %lld)\n", s_of(out, "id"), s_of(out, "status"),
                   i_of(out, "version"));
        json_decref(out);
        return EXIT_OK;
    }
    die(EXIT_USAGE, "%s", usage);
}

/* Sport cluster: bets of a player or a fixture, a fixture's liability, the betting switches
 * and the audit against the accounts cluster's holds and transfers. */
static void print_bet_row(json_t *b)
{
    json_t *leg = json_array_get(json_object_get(b, "legs"), 0);
    printf("%-14s %-10s %-9s %-12s %8lld %8lld  %s %s%s%s/%s%s\n", json_string_value(json_object_get(b, "id")),
           json_string_value(json_object_get(b, "status")),
           json_string_value(json_object_get(b, "result")) ?: "-",
           json_string_value(json_object_get(b, "reject_code")) ?: "-", i_of(b, "stake"),
           i_of(b, "payout"), json_string_value(json_object_get(leg, "fixture")) ?: "?",
           json_string_value(json_object_get(leg, "market")) ?: "?",
           json_object_get(leg, "line") ? "/" : "",
           json_string_value(json_object_get(leg, "line")) ?: "",
           json_string_value(json_object_get(leg, "outcome")) ?: "?",
           json_array_size(json_object_get(b, "legs")) > 1 ? " (+ more legs)" : "");
}

static int cmd_bets(int argc, char **argv)
{
    const char *usage = "usage: parlayctl bets player PLAYER_ID [--limit N]\n"
                        "       parlayctl bets fixture FIXTURE_ID [--limit N]\n"
                        "       parlayctl bets switches\n"
                        "       parlayctl bets switch all|live|FIXTURE_ID on|off [--key KEY]\n"
                        "       parlayctl bets void BET_ID --reason TEXT [--key KEY]";
    if ((argc == 5 || argc == 7) && !strcmp(argv[1], "void") && !strcmp(argv[3], "--reason")) {
        const char *key = NULL;
        char kbuf[96];
        if (argc == 7) {
            if (strcmp(argv[5], "--key"))
                die(EXIT_USAGE, "%s", usage);
            key = argv[6];
        } else {
            snprintf(kbuf, sizeof kbuf, "void-%.60s", argv[2]);
            key = kbuf;
        }
        char *esc = curl_easy_escape(NULL, argv[2], 0);
        char path[600];
        snprintf(path, sizeof path, "/admin/v1/bets/%s/void", esc);
        curl_free(esc);
        json_t *out = call("POST", path, json_pack("{s:s}", "reason", argv[4]), key);
        if (opt.json)
            print_json(out);
        else
            printf("bet %s: %s (%s), return %lld\n", json_string_value(json_object_get(out, "id")),
                   json_string_value(json_object_get(out, "status")),
                   json_string_value(json_object_get(out, "result")) ?: "-", i_of(out, "return"));
        json_decref(out);
        return EXIT_OK;
    }
    if (argc == 2 && !strcmp(argv[1], "switches")) {
        json_t *out = call("GET", "/admin/v1/bets/switches", NULL, NULL);
        print_json(out);
        json_decref(out);
        return EXIT_OK;
    }
    if ((argc == 4 || argc == 6) && !strcmp(argv[1], "switch") &&
        (!strcmp(argv[3], "on") || !strcmp(argv[3], "off"))) {
        const char *key = NULL;
        char kbuf[64];
        if (argc == 6) {
            if (strcmp(argv[4], "--key"))
                die(EXIT_USAGE, "%s", usage);
            key = argv[5];
        } else {
            snprintf(kbuf, sizeof kbuf, "switch-%lld-%d", (long long)time(NULL), (int)getpid());
            key = kbuf;
        }
        bool scoped = !strcmp(argv[2], "all") || !strcmp(argv[2], "live");
        json_t *body = json_pack("{s:s, s:b}", "scope", scoped ? argv[2] : "fixture", "open",
                                 !strcmp(argv[3], "on"));
        if (!scoped)
            json_object_set_new(body, "fixture", json_string(argv[2]));
        json_t *out = call("POST", "/admin/v1/bets/switches", body, key);
        print_json(out);
        json_decref(out);
        return EXIT_OK;
    }
    if ((argc == 3 || argc == 5) && (!strcmp(argv[1], "player") || !strcmp(argv[1], "fixture"))) {
        long limit = 100;
        if (argc == 5) {
            if (strcmp(argv[3], "--limit") || (limit = atol(argv[4])) < 1)
                die(EXIT_USAGE, "%s", usage);
        }
        char *esc = curl_easy_escape(NULL, argv[2], 0);
        char path[600];
        snprintf(path, sizeof path, "/admin/v1/bets?%s=%s&limit=%ld", argv[1], esc, limit);
        curl_free(esc);
        json_t *out = call("GET", path, NULL, NULL);
        if (opt.json) {
            print_json(out);
        } else {
            printf("%-14s %-10s %-9s %-12s %8s %8s  %s\n", "BET", "STATUS", "RESULT", "REJECTED",
                   "STAKE", "PAYOUT", "LEG");
            size_t k;
            json_t *b;
            json_array_foreach(json_object_get(out, "items"), k, b) print_bet_row(b);
        }
        json_decref(out);
        return EXIT_OK;
    }
    die(EXIT_USAGE, "%s", usage);
    return EXIT_USAGE;
}

static int cmd_liability(int argc, char **argv)
{
    if (argc != 2)
        die(EXIT_USAGE, "usage: parlayctl liability FIXTURE_ID");
    char *esc = curl_easy_escape(NULL, argv[1], 0);
    char path[600];
    snprintf(path, sizeof path, "/admin/v1/fixtures/%s/liability", esc);
    curl_free(esc);
    json_t *out = call("GET", path, NULL, NULL);
    if (opt.json) {
        print_json(out);
    } else {
        printf("fixture %s: liability %lld of cap %lld (cents)\n",
               json_string_value(json_object_get(out, "fixture")), i_of(out, "exposure"),
               i_of(out, "cap"));
        size_t k;
        json_t *o;
        json_array_foreach(json_object_get(out, "outcomes"), k, o) printf(
            "  %-16s %-8s %-12s %10lld of %lld\n", json_string_value(json_object_get(o, "market")),
            json_string_value(json_object_get(o, "line")) ?: "-",
            json_string_value(json_object_get(o, "outcome")), i_of(o, "exposure"),
            i_of(o, "cap"));
    }
    json_decref(out);
    return EXIT_OK;
}

static int cmd_audit(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        die(EXIT_USAGE, "usage: parlayctl audit");
    json_t *out = call("GET", "/admin/v1/bets/audit", NULL, NULL);
    bool ok = json_is_true(json_object_get(out, "ok"));
    if (opt.json) {
        print_json(out);
    } else {
        printf("audit %s on node %lld: %lld bets, %lld holds, %lld in progress, %lld "
               "differences\n",
               ok ? "OK" : "FAILED", i_of(out, "node"), i_of(out, "bets"), i_of(out, "holds"),
               i_of(out, "in_progress"), i_of(out, "difference_count"));
        size_t k;
        json_t *d;
        json_array_foreach(json_object_get(out, "differences"), k, d) printf(
            "  %s %s: %s\n", json_string_value(json_object_get(d, "bet_id")),
            json_string_value(json_object_get(d, "problem")),
            json_string_value(json_object_get(d, "detail")));
    }
    json_decref(out);
    return ok ? EXIT_OK : EXIT_REFUSED;
}

/* ---- operators, sign-in, machine tokens, the audit trail (issue 16) ---- */

/* A password from --password-file FILE, else the first line of standard input (never argv). */
static void read_password(const char *file, char *out, size_t n)
{
    FILE *f = file ? fopen(file, "r") : stdin;
    if (!f)
        die(EXIT_USAGE, "--password-file %s: %s", file, strerror(errno));
    if (!fgets(out, (int)n, f))
        out[0] = 0;
    if (file)
        fclose(f);
    out[strcspn(out, "\r\n")] = 0;
    if (!out[0])
        die(EXIT_USAGE, "no password given (--password-file FILE or a line on standard input)");
}

/* "a,b,c" as a JSON array. */
static json_t *scope_list(const char *csv)
{
    json_t *a = json_array();
    char buf[512];
    snprintf(buf, sizeof buf, "%s", csv);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(a, json_string(t));
    return a;
}

static void fresh_key(const char *what, char *out, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, n, "%s-%lld-%ld-%d", what, (long long)ts.tv_sec, ts.tv_nsec, (int)getpid());
}

static int cmd_operators(int argc, char **argv)
{
    const char *usage = "usage: parlayctl operators list\n"
                        "       parlayctl operators add NAME EMAIL --scopes S1,S2 "
                        "[--password-file FILE]\n"
                        "       parlayctl operators disable ID\n"
                        "       parlayctl operators totp EMAIL [--password-file FILE]\n"
                        "       parlayctl operators totp-confirm EMAIL CODE [--password-file FILE]";
    if (argc < 2)
        die(EXIT_USAGE, "%s", usage);
    const char *pwfile = NULL;
    if (argc >= 4 && !strcmp(argv[argc - 2], "--password-file")) {
        pwfile = argv[argc - 1];
        argc -= 2;
    }
    char key[200], pw[512], path[256];
    json_t *out = NULL;
    if (!strcmp(argv[1], "list") && argc == 2) {
        out = call("GET", "/admin/v1/operators", NULL, NULL);
        if (!opt.json) {
            size_t k;
            json_t *o;
            json_array_foreach(json_object_get(out, "items"), k, o)
            {
                char *sc = json_dumps(json_object_get(o, "scopes"), JSON_COMPACT);
                printf("%-22s %-24s %-30s %s%s%s\n", json_string_value(json_object_get(o, "id")),
                       json_string_value(json_object_get(o, "name")),
                       json_string_value(json_object_get(o, "email")), sc ? sc : "",
                       json_is_true(json_object_get(o, "totp_confirmed")) ? "" : " (no 2FA yet)",
                       json_is_true(json_object_get(o, "disabled")) ? " DISABLED" : "");
                free(sc);
            }
        }
    } else if (!strcmp(argv[1], "add") && argc == 6 && !strcmp(argv[4], "--scopes")) {
        read_password(pwfile, pw, sizeof pw);
        snprintf(key, sizeof key, "operator-add-%.150s", argv[3]);
        out = call("POST", "/admin/v1/operators",
                   json_pack("{s:s, s:s, s:s, s:o}", "name", argv[2], "email", argv[3],
                             "password", pw, "scopes", scope_list(argv[5])),
                   key);
        if (!opt.json)
            printf("operator %s created; next: parlayctl operators totp %s\n",
                   json_string_value(json_object_get(out, "id")), argv[3]);
    } else if (!strcmp(argv[1], "disable") && argc == 3) {
        snprintf(key, sizeof key, "operator-disable-%.150s", argv[2]);
        snprintf(path, sizeof path, "/admin/v1/operators/%.200s/disable", argv[2]);
        out = call("POST", path, NULL, key);
        if (!opt.json)
            printf("operator %s disabled\n", argv[2]);
    } else if (!strcmp(argv[1], "totp") && argc == 3) {
        read_password(pwfile, pw, sizeof pw);
        out = call("POST", "/v1/operators/totp",
                   json_pack("{s:s, s:s}", "email", argv[2], "password", pw), NULL);
        if (!opt.json)
            printf("secret %s\nuri    %s\nthen: parlayctl operators totp-confirm %s CODE\n",
                   json_string_value(json_object_get(out, "secret")),
                   json_string_value(json_object_get(out, "otpauth_uri")), argv[2]);
    } else if (!strcmp(argv[1], "totp-confirm") && argc == 4) {
        read_password(pwfile, pw, sizeof pw);
        out = call("POST", "/v1/operators/totp/confirm",
                   json_pack("{s:s, s:s, s:s}", "email", argv[2], "password", pw, "code", argv[3]),
                   NULL);
        if (!opt.json)
            printf("second factor confirmed; sign in with parlayctl login\n");
    } else {
        die(EXIT_USAGE, "%s", usage);
    }
    if (opt.json)
        print_json(out);
    json_decref(out);
    return EXIT_OK;
}

/* parlayctl login EMAIL --totp CODE --out FILE [--password-file FILE]: the operator's access
 * token into FILE (mode 0600), for later commands' --token-file. */
static int cmd_login(int argc, char **argv)
{
    const char *usage = "usage: parlayctl login EMAIL --totp CODE --out FILE [--password-file FILE]";
    const char *code = NULL, *file = NULL, *pwfile = NULL;
    if (argc < 2)
        die(EXIT_USAGE, "%s", usage);
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            die(EXIT_USAGE, "%s", usage);
        if (!strcmp(argv[i], "--totp"))
            code = argv[i + 1];
        else if (!strcmp(argv[i], "--out"))
            file = argv[i + 1];
        else if (!strcmp(argv[i], "--password-file"))
            pwfile = argv[i + 1];
        else
            die(EXIT_USAGE, "%s", usage);
    }
    if (!code || !file)
        die(EXIT_USAGE, "%s", usage);
    char pw[512];
    read_password(pwfile, pw, sizeof pw);
    json_t *out = call("POST", "/v1/operators/sessions",
                       json_pack("{s:s, s:s, s:s}", "email", argv[1], "password", pw, "totp", code),
                       NULL);
    const char *tok = json_string_value(json_object_get(out, "access_token"));
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || !tok || fchmod(fd, 0600) != 0 ||
        write(fd, tok, strlen(tok)) != (ssize_t)strlen(tok) || write(fd, "\n", 1) != 1) {
        if (fd >= 0)
            close(fd);
        json_decref(out);
        die(EXIT_USAGE, "cannot write the token to %s: %s", file, strerror(errno));
    }
    close(fd);
    printf("signed in as %s (scopes: %s) for %lld s; token in %s\n",
           json_string_value(json_object_get(out, "operator_id")),
           json_string_value(json_object_get(out, "scope")),
           (long long)json_integer_value(json_object_get(out, "expires_in")), file);
    json_decref(out);
    return EXIT_OK;
}

static int cmd_tokens(int argc, char **argv)
{
    const char *usage = "usage: parlayctl tokens list\n"
                        "       parlayctl tokens create NAME --scopes S1,S2 --expires-in SECONDS\n"
                        "       parlayctl tokens revoke ID";
    char key[200], path[256];
    json_t *out = NULL;
    if (argc == 2 && !strcmp(argv[1], "list")) {
        out = call("GET", "/admin/v1/tokens", NULL, NULL);
        if (!opt.json) {
            size_t k;
            json_t *o;
            json_array_foreach(json_object_get(out, "items"), k, o)
            {
                char *sc = json_dumps(json_object_get(o, "scopes"), JSON_COMPACT);
                printf("%-20s %-24s %-30s expires_ms=%lld by %s%s\n",
                       json_string_value(json_object_get(o, "id")),
                       json_string_value(json_object_get(o, "name")), sc ? sc : "",
                       (long long)json_integer_value(json_object_get(o, "expires_ms")),
                       json_string_value(json_object_get(o, "created_by")),
                       json_is_true(json_object_get(o, "revoked")) ? " REVOKED" : "");
                free(sc);
            }
        }
    } else if (argc == 7 && !strcmp(argv[1], "create") && !strcmp(argv[3], "--scopes") &&
               !strcmp(argv[5], "--expires-in")) {
        fresh_key("token", key, sizeof key);
        out = call("POST", "/admin/v1/tokens",
                   json_pack("{s:s, s:o, s:I}", "name", argv[2], "scopes", scope_list(argv[4]),
                             "expires_in_s", (json_int_t)atoll(argv[6])),
                   key);
        if (!opt.json)
            printf("token %s (shown once, keep it secret):\n%s\n",
                   json_string_value(json_object_get(out, "id")),
                   json_string_value(json_object_get(out, "token")));
    } else if (argc == 3 && !strcmp(argv[1], "revoke")) {
        snprintf(key, sizeof key, "token-revoke-%.150s", argv[2]);
        snprintf(path, sizeof path, "/admin/v1/tokens/%.200s", argv[2]);
        out = call("DELETE", path, NULL, key);
        if (!opt.json)
            printf("token %s revoked\n", argv[2]);
    } else {
        die(EXIT_USAGE, "%s", usage);
    }
    if (opt.json)
        print_json(out);
    json_decref(out);
    return EXIT_OK;
}

/* parlayctl audit-log [--since N] [--limit N]: the cluster's audit trail of admin actions. */
static int cmd_audit_log(int argc, char **argv)
{
    long long since = 1, limit = 100;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            die(EXIT_USAGE, "usage: parlayctl audit-log [--since N] [--limit N]");
        if (!strcmp(argv[i], "--since"))
            since = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--limit"))
            limit = atoll(argv[i + 1]);
        else
            die(EXIT_USAGE, "usage: parlayctl audit-log [--since N] [--limit N]");
    }
    char path[128];
    snprintf(path, sizeof path, "/admin/v1/audit?since=%lld&limit=%lld", since, limit);
    json_t *out = call("GET", path, NULL, NULL);
    if (opt.json) {
        print_json(out);
    } else {
        size_t k;
        json_t *o;
        json_array_foreach(json_object_get(out, "items"), k, o)
        {
            json_t *a = json_object_get(o, "actor");
            char *f = json_dumps(json_object_get(o, "fields"), JSON_COMPACT | JSON_SORT_KEYS);
            printf("%6lld %s %-9s %-22s %-6s %-40s %-16s %s %s\n",
                   (long long)json_integer_value(json_object_get(o, "seq")),
                   json_string_value(json_object_get(o, "time")),
                   json_string_value(json_object_get(a, "kind")),
                   json_string_value(json_object_get(a, "id")),
                   json_string_value(json_object_get(o, "method")),
                   json_string_value(json_object_get(o, "route")),
                   json_string_value(json_object_get(o, "command")),
                   json_string_value(json_object_get(o, "outcome")), f ? f : "");
            free(f);
        }
    }
    json_decref(out);
    return EXIT_OK;
}

/* Accounts cluster: the ledger's check and TRJ, a player's wallet, operators' corrections and
 * blocks, the sport clusters allowed to place holds. */
static int cmd_ledger(int argc, char **argv)
{
    const char *usage = "usage: parlayctl ledger check\n"
                        "       parlayctl ledger trj [YEAR]\n"
                        "       parlayctl ledger correct ID DEBIT CREDIT CENTS --corrects "
                        "TRANSFER --reason TEXT [--key IDEMPOTENCY_KEY]";
    if (argc < 2)
        die(EXIT_USAGE, "%s", usage);
    if (!strcmp(argv[1], "check") && argc == 2) {
        json_t *out = call("GET", "/admin/v1/ledger/check", NULL, NULL);
        bool ok = json_is_true(json_object_get(out, "ok"));
        if (opt.json) {
            print_json(out);
        } else {
            json_t *sums = json_object_get(out, "sums");
            printf("ledger %s on node %lld: %lld accounts, %lld transfers, %lld holds (%lld "
                   "pending); posted %lld = %lld, pending %lld = %lld\n",
                   ok ? "OK" : "BROKEN", i_of(out, "node"), i_of(out, "accounts"),
                   i_of(out, "transfers"), i_of(out, "holds"), i_of(out, "pending_holds"),
                   i_of(sums, "debits_posted"), i_of(sums, "credits_posted"),
                   i_of(sums, "debits_pending"), i_of(sums, "credits_pending"));
            size_t k;
            json_t *p;
            json_array_foreach(json_object_get(out, "problems"), k, p) printf(
                "  problem: %s\n", json_string_value(p));
        }
        json_decref(out);
        return ok ? EXIT_OK : EXIT_REFUSED;
    }
    if (!strcmp(argv[1], "trj") && argc <= 3) {
        char path[128] = "/admin/v1/ledger/trj";
        if (argc == 3)
            snprintf(path, sizeof path, "/admin/v1/ledger/trj?year=%d", atoi(argv[2]));
        json_t *out = call("GET", path, NULL, NULL);
        if (opt.json)
            print_json(out);
        else
            printf("TRJ %lld: stakes %lld cents, payouts %lld cents, ratio %.4f (cap %.2f)%s\n",
                   i_of(out, "year"), i_of(out, "stakes"), i_of(out, "payouts"),
                   json_real_value(json_object_get(out, "trj")),
                   json_real_value(json_object_get(out, "cap")),
                   json_is_true(json_object_get(out, "over_cap")) ? "  OVER THE CAP" : "");
        json_decref(out);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "correct") && argc >= 10) {
        const char *corrects = NULL, *reason = NULL;
        char key[128] = "";
        for (int i = 6; i < argc; i += 2) {
            if (i + 1 >= argc)
                die(EXIT_USAGE, "%s", usage);
            if (!strcmp(argv[i], "--corrects"))
                corrects = argv[i + 1];
            else if (!strcmp(argv[i], "--reason"))
                reason = argv[i + 1];
            else if (!strcmp(argv[i], "--key"))
                snprintf(key, sizeof key, "%s", argv[i + 1]);
            else
                die(EXIT_USAGE, "%s", usage);
        }
        char *end;
        long long cents = strtoll(argv[5], &end, 10);
        if (!corrects || !reason || *end || cents <= 0)
            die(EXIT_USAGE, "%s", usage);
        if (!key[0])
            gen_key(key, sizeof key);
        json_t *out = call("POST", "/admin/v1/ledger/corrections",
                           json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "id", argv[2], "debit",
                                     argv[3], "credit", argv[4], "amount", (json_int_t)cents,
                                     "corrects", corrects, "reason", reason),
                           key);
        print_json(out);
        json_decref(out);
        return EXIT_OK;
    }
    die(EXIT_USAGE, "%s", usage);
}

/* Accounts cluster: secrets at rest (node/routes_secrets.c). "reseal" calls until nothing
 * sealed under an older key (or clear) remains. */
static int cmd_secrets(int argc, char **argv)
{
    const char *usage = "usage: parlayctl secrets status|reseal";
    if (argc == 2 && !strcmp(argv[1], "status")) {
        json_t *out = call("GET", "/admin/v1/secrets", NULL, NULL);
        if (opt.json) {
            print_json(out);
        } else {
            printf("current key %s; %lld secrets stored, %lld clear, %lld unreadable\n",
                   s_of(out, "current_key"), i_of(out, "total"), i_of(out, "clear"),
                   i_of(out, "unreadable"));
            const char *k;
            json_t *v;
            json_object_foreach(json_object_get(out, "sealed_by_key"), k, v)
                printf("  sealed under %s: %lld\n", k, (long long)json_integer_value(v));
        }
        bool ok = i_of(out, "unreadable") == 0;
        json_decref(out);
        return ok ? EXIT_OK : EXIT_REFUSED;
    }
    if (argc == 2 && !strcmp(argv[1], "reseal")) {
        long long total = 0, remaining = 1, unreadable = 0;
        for (int round = 0; round < 100000 && remaining > 0; round++) {
            char key[128];
            gen_key(key, sizeof key);
            json_t *out = call("POST", "/admin/v1/secrets/reseal", NULL, key);
            total += i_of(out, "resealed");
            remaining = i_of(out, "remaining");
            unreadable = i_of(out, "unreadable");
            json_decref(out);
        }
        printf("resealed %lld secrets; %lld remaining, %lld unreadable with this keyring\n",
               total, remaining, unreadable);
        return remaining == 0 && unreadable == 0 ? EXIT_OK : EXIT_REFUSED;
    }
    die(EXIT_USAGE, "%s", usage);
}

static int cmd_wallet(int argc, char **argv)
{
    const char *usage = "usage: parlayctl wallet get PLAYER_ID\n"
                        "       parlayctl wallet block|unblock PLAYER_ID --reason TEXT\n"
                        "       parlayctl wallet clusters\n"
                        "       parlayctl wallet register-cluster NAME PUBLIC_KEY...";
    char path[256], key[128];
    if (argc == 3 && !strcmp(argv[1], "get")) {
        char *esc = curl_easy_escape(NULL, argv[2], 0);
        snprintf(path, sizeof path, "/admin/v1/wallets/%s", esc);
        curl_free(esc);
        json_t *out = call("GET", path, NULL, NULL);
        if (opt.json) {
            print_json(out);
        } else {
            printf("%s: balance %lld, available %lld, held %lld, withdrawable %lld, debt %lld "
                   "(cents)\n",
                   argv[2], i_of(out, "balance"), i_of(out, "available"), i_of(out, "held"),
                   i_of(out, "withdrawable"), i_of(out, "debt"));
            /* What stops play, if anything. */
            json_t *ban = json_object_get(out, "banned"), *closed = json_object_get(out, "closed"),
                   *blocked = json_object_get(out, "blocked");
            if (ban)
                printf("  banned (%s) since %s\n", s_of(ban, "source"), s_of(ban, "at"));
            if (closed)
                printf("  closed at %s, %lld cents returned to %s\n", s_of(closed, "at"),
                       i_of(closed, "returned"), s_of(closed, "to"));
            if (blocked)
                printf("  blocked: %s\n", s_of(blocked, "reason"));
            if (json_object_get(out, "excluded_until"))
                printf("  self-excluded until %s\n", s_of(out, "excluded_until"));
            size_t k;
            json_t *t;
            json_array_foreach(json_object_get(json_object_get(out, "statement"), "items"), k, t)
                printf("  %-5lld %-20s %-14s %+10lld  %s\n", i_of(t, "position"), s_of(t, "at"),
                       s_of(t, "kind"), i_of(t, "signed_amount"), s_of(t, "ref"));
        }
        json_decref(out);
        return EXIT_OK;
    }
    if (argc == 5 && (!strcmp(argv[1], "block") || !strcmp(argv[1], "unblock")) &&
        !strcmp(argv[3], "--reason")) {
        char *esc = curl_easy_escape(NULL, argv[2], 0);
        snprintf(path, sizeof path, "/admin/v1/wallets/%s/block", esc);
        curl_free(esc);
        gen_key(key, sizeof key);
        json_t *out = call("POST", path,
                           json_pack("{s:b, s:s}", "blocked", !strcmp(argv[1], "block"), "reason",
                                     argv[4]),
                           key);
        print_json(out);
        json_decref(out);
        return EXIT_OK;
    }
    if (argc == 2 && !strcmp(argv[1], "clusters")) {
        json_t *out = call("GET", "/admin/v1/sport-clusters", NULL, NULL);
        print_json(out);
        json_decref(out);
        return EXIT_OK;
    }
    if (argc >= 4 && !strcmp(argv[1], "register-cluster")) {
        json_t *keys = json_array();
        for (int i = 3; i < argc; i++)
            json_array_append_new(keys, json_string(argv[i]));
        gen_key(key, sizeof key);
        json_t *out = call("POST", "/admin/v1/sport-clusters",
                           json_pack("{s:s, s:o}", "name", argv[2], "keys", keys), key);
        if (opt.json)
            print_json(out);
        else
            printf("sport cluster %s registered with %zu member key(s)\n", s_of(out, "name"),
                   json_array_size(json_object_get(out, "keys")));
        json_decref(out);
        return EXIT_OK;
    }
    die(EXIT_USAGE, "%s", usage);
}

/* Accounts cluster: see a player, record an operator's KYC decision. */
static int cmd_players(int argc, char **argv)
{
    const char *usage =
        "usage: parlayctl players count\n"
        "       parlayctl players get ID|EMAIL\n"
        "       parlayctl players kyc ID verified|declined|retry|manual_review|pending "
        "--reason TEXT [--key IDEMPOTENCY_KEY]";
    if (argc < 2)
        die(EXIT_USAGE, "%s", usage);
    const char *sub = argv[1];
    char path[512];
    if (!strcmp(sub, "count") && argc == 2) {
        json_t *out = call("GET", "/admin/v1/players", NULL, NULL);
        if (opt.json)
            print_json(out);
        else
            printf("%lld players\n", i_of(out, "count"));
        json_decref(out);
        return EXIT_OK;
    }
    if (!strcmp(sub, "get") && argc == 3) {
        char *esc = curl_easy_escape(NULL, argv[2], 0);
        bool email = strchr(argv[2], '@') != NULL;
        snprintf(path, sizeof path, email ? "/admin/v1/players?email=%s" : "/admin/v1/players/%s",
                 esc);
        curl_free(esc);
        json_t *out = call("GET", path, NULL, NULL);
        json_t *p = email ? json_array_get(json_object_get(out, "items"), 0) : out;
        if (!p) {
            json_decref(out);
            die(EXIT_REFUSED, "no player with the email %s", argv[2]);
        }
        print_json(p);
        json_decref(out);
        return EXIT_OK;
    }
    if (!strcmp(sub, "kyc") && argc >= 6) {
        const char *reason = NULL;
        char key[128] = "";
        for (int i = 4; i < argc; i += 2) {
            if (i + 1 >= argc)
                die(EXIT_USAGE, "%s", usage);
            if (!strcmp(argv[i], "--reason"))
                reason = argv[i + 1];
            else if (!strcmp(argv[i], "--key"))
                snprintf(key, sizeof key, "%s", argv[i + 1]);
            else
                die(EXIT_USAGE, "%s", usage);
        }
        if (!reason)
            die(EXIT_USAGE, "%s", usage);
        if (!key[0])
            gen_key(key, sizeof key);
        char *esc = curl_easy_escape(NULL, argv[2], 0);
        snprintf(path, sizeof path, "/admin/v1/players/%s/kyc", esc);
        curl_free(esc);
        json_t *out = call("POST", path, json_pack("{s:s, s:s}", "status", argv[3], "reason",
                                                   reason),
                           key);
        if (opt.json)
            print_json(out);
        else
            printf("%s is now %s (reason kept: %s)\n", s_of(out, "player_id"),
                   s_of(out, "kyc_status"), s_of(out, "reason"));
        json_decref(out);
        return EXIT_OK;
    }
    die(EXIT_USAGE, "%s", usage);
}

/* ---- quotes and events: read-only views of the agreed markets and live events ----------
 *
 * Output is meant to be stable for scripts and tests (h_parlayctl): columns are separated by
 * spaces, every empty cell is "-", odds are decimal with two places rounded half up from the
 * node's integer milli-odds (2165 -> "2.17"), times are the node's RFC 3339 strings as given.
 *
 *   parlayctl quotes [--status S] [--phase pre|live]   every market, all pages:
 *     FIXTURE  STATUS  PHASE  VERSION  SCORE  1X2  SIGS  UPDATED
 *     BA-001   open    live   41       1-0    2.14/3.50/3.10  2  2026-11-25T00:57:39Z
 *   (VERSION "-" before the first agreed quote; SCORE "-" before kick-off; 1X2 is
 *   home/draw/away, "-" when the market or an outcome is not offered.)
 *   parlayctl quotes --fixture ID: the same row, a blank line, then the price list
 *     MARKET  LINE  OUTCOME  ODDS        markets and outcomes in byte order, lines in
 *     1x2     -     away     3.10        numeric order (-0.25 before 0.00); LINE "-" for a
 *     total_goals 2.5 over   1.98        market without lines; "prices: none agreed yet"
 *                                         for a pending market.
 *   parlayctl quotes --version N: "key value" lines (quote, fixture, phase, index, entry,
 *   published, cluster, digest, signers), a NODE PUBLIC_KEY table, a blank line, the price list.
 *   parlayctl events FIXTURE: SEQ MINUTE PERIOD TYPE TEAM SIGS AGREED_AT rows in seq order
 *   (MINUTE "45+2" with stoppage time), a blank line, then one of
 *     result: 4-2 (final), 2 signatures | result: void, 2 signatures | result: not agreed
 * With --json (before or after the command) each prints the node's JSON instead; `quotes`
 * merges the pages into {"items": [...], "next": null} and `events` adds "result" (null when
 * not agreed) to the node's {fixture, items}. */

/* Appends "?k=v" or "&k=v" (v URL-escaped) to @path. */
static void path_add_query(char *path, size_t n, const char *k, const char *v)
{
    char *esc = curl_easy_escape(NULL, v, 0);
    size_t l = strlen(path);
    snprintf(path + l, n - l, "%c%s=%s", strchr(path, '?') ? '&' : '?', k, esc);
    curl_free(esc);
}

/* @fmt with one %s, filled with the URL-escaped @id. */
static void path_with_id(char *path, size_t n, const char *fmt, const char *id)
{
    char *esc = curl_easy_escape(NULL, id, 0);
    snprintf(path, n, fmt, esc);
    curl_free(esc);
}

/* Integer milli-odds as decimal odds with two places ("-" if not an integer). */
static const char *odds_text(json_t *milli, char *out, size_t n)
{
    if (!json_is_integer(milli) || json_integer_value(milli) <= 0) {
        snprintf(out, n, "-");
        return out;
    }
    long long cents = (json_integer_value(milli) + 5) / 10;
    snprintf(out, n, "%lld.%02lld", cents / 100, cents % 100);
    return out;
}

static void market_1x2(json_t *m, char *out, size_t n)
{
    json_t *x = json_object_get(json_object_get(m, "prices"), "1x2");
    char h[24], d[24], a[24];
    if (!json_is_object(x))
        snprintf(out, n, "-");
    else
        snprintf(out, n, "%s/%s/%s", odds_text(json_object_get(x, "home"), h, sizeof h),
                 odds_text(json_object_get(x, "draw"), d, sizeof d),
                 odds_text(json_object_get(x, "away"), a, sizeof a));
}

static void print_market_header(void)
{
    printf("%-20s %-9s %-5s %7s %-5s %-17s %4s %s\n", "FIXTURE", "STATUS", "PHASE", "VERSION",
           "SCORE", "1X2", "SIGS", "UPDATED");
}

static void print_market_row(json_t *m)
{
    json_t *live = json_object_get(m, "live");
    char version[24] = "-", score[48] = "-", x12[80];
    if (i_of(m, "version") > 0)
        snprintf(version, sizeof version, "%lld", i_of(m, "version"));
    /* Kicked off once the live state has a period (the same test the pricing uses). */
    if (json_is_object(live) && i_of(live, "period") >= 1)
        snprintf(score, sizeof score, "%lld-%lld", i_of(live, "home_goals"),
                 i_of(live, "away_goals"));
    market_1x2(m, x12, sizeof x12);
    printf("%-20s %-9s %-5s %7s %-5s %-17s %4lld %s\n", s_of(m, "fixture"), s_of(m, "status"),
           s_of(m, "phase"), version, score, x12, i_of(m, "signatures"), s_of(m, "updated_at"));
}

static int cmp_bytes(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_lines(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    double dx = strtod(x, NULL), dy = strtod(y, NULL);
    return dx < dy ? -1 : dx > dy ? 1 : strcmp(x, y);
}

/* The keys of object @o, sorted with @cmp; the caller frees the array. */
static const char **sorted_keys(json_t *o, int (*cmp)(const void *, const void *), size_t *n)
{
    *n = json_object_size(o);
    const char **keys = calloc(*n ? *n : 1, sizeof *keys);
    if (!keys)
        die(EXIT_REFUSED, "out of memory");
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) keys[i++] = k;
    qsort(keys, *n, sizeof *keys, cmp);
    return keys;
}

static void print_outcomes(const char *market, const char *line, json_t *outcomes)
{
    size_t n;
    const char **keys = sorted_keys(outcomes, cmp_bytes, &n);
    for (size_t i = 0; i < n; i++) {
        char odds[24];
        printf("%-15s %-7s %-10s %6s\n", market, line, keys[i],
               odds_text(json_object_get(outcomes, keys[i]), odds, sizeof odds));
    }
    free(keys);
}

/* prices: {market: {outcome: milli-odds}} or {market: {line: {outcome: milli-odds}}}. */
static void print_prices(json_t *prices)
{
    if (!json_is_object(prices) || json_object_size(prices) == 0) {
        printf("prices: none agreed yet\n");
        return;
    }
    printf("%-15s %-7s %-10s %6s\n", "MARKET", "LINE", "OUTCOME", "ODDS");
    size_t nm;
    const char **markets = sorted_keys(prices, cmp_bytes, &nm);
    for (size_t i = 0; i < nm; i++) {
        json_t *m = json_object_get(prices, markets[i]);
        json_t *outcomes = json_object();
        size_t nl;
        const char **lines = sorted_keys(m, cmp_lines, &nl);
        for (size_t j = 0; j < nl; j++) {
            json_t *v = json_object_get(m, lines[j]);
            if (json_is_object(v))
                print_outcomes(markets[i], lines[j], v);
            else
                json_object_set(outcomes, lines[j], v);
        }
        print_outcomes(markets[i], "-", outcomes);
        json_decref(outcomes);
        free(lines);
    }
    free(markets);
}

/* One agreed quote with what a third party needs to check it. */
static int quote_version(const char *vs)
{
    char *e;
    long long v = strtoll(vs, &e, 10);
    if (!*vs || *e || v <= 0)
        die(EXIT_USAGE, "--version takes a quote version (a positive integer), not '%s'", vs);
    char path[64];
    snprintf(path, sizeof path, "/v1/quotes/%lld/attestation", v);
    json_t *q = call("GET", path, NULL, NULL);
    if (opt.json) {
        print_json(q);
        json_decref(q);
        return EXIT_OK;
    }
    json_t *sigs = json_object_get(q, "signatures");
    printf("quote     %lld\nfixture   %s\nphase     %s\n", i_of(q, "version"), s_of(q, "fixture"),
           s_of(q, "phase"));
    printf("index     %lld (the round's inputs were captured at this log index)\n",
           i_of(q, "index"));
    printf("entry     %lld\npublished %s\ncluster   %s\ndigest    %s\nsigners   %zu\n\n",
           i_of(q, "entry"), s_of(q, "published_at"), s_of(q, "cluster"), s_of(q, "digest"),
           json_array_size(sigs));
    printf("%-5s %s\n", "NODE", "PUBLIC_KEY");
    size_t i;
    json_t *s;
    json_array_foreach(sigs, i, s) printf("%-5lld %s\n", i_of(s, "node"), s_of(s, "public_key"));
    printf("\n");
    print_prices(json_object_get(q, "prices"));
    json_decref(q);
    return EXIT_OK;
}

/* Every market matching the filters, following the node's `next` cursor. */
static int quotes_list(const char *status, const char *phase)
{
    json_t *all = json_array();
    char after[256] = ""; /* a fixture id (at most 64 bytes) */
    for (;;) {
        char path[1024] = "/v1/markets";
        if (status)
            path_add_query(path, sizeof path, "status", status);
        if (phase)
            path_add_query(path, sizeof path, "phase", phase);
        path_add_query(path, sizeof path, "limit", "1000");
        if (after[0])
            path_add_query(path, sizeof path, "after", after);
        json_t *page = call("GET", path, NULL, NULL);
        json_array_extend(all, json_object_get(page, "items"));
        const char *next = json_string_value(json_object_get(page, "next"));
        /* A cursor that does not move would loop for ever: stop there. */
        bool more = next && next[0] && strcmp(next, after) != 0;
        if (more)
            snprintf(after, sizeof after, "%s", next);
        json_decref(page);
        if (!more)
            break;
    }
    if (opt.json) {
        json_t *out = json_pack("{s:o, s:n}", "items", all, "next");
        print_json(out);
        json_decref(out);
        return EXIT_OK;
    }
    print_market_header();
    size_t i;
    json_t *m;
    json_array_foreach(all, i, m) print_market_row(m);
    json_decref(all);
    return EXIT_OK;
}

static int quotes_fixture(const char *fixture)
{
    char path[1024];
    path_with_id(path, sizeof path, "/v1/fixtures/%s/markets", fixture);
    json_t *m = call("GET", path, NULL, NULL);
    if (opt.json) {
        print_json(m);
    } else {
        print_market_header();
        print_market_row(m);
        printf("\n");
        print_prices(json_object_get(m, "prices"));
    }
    json_decref(m);
    return EXIT_OK;
}

static int cmd_quotes(int argc, char **argv)
{
    const char *usage =
        "usage: parlayctl quotes [--status pending|open|suspended|closed] "
        "[--phase pre|live] [--json]\n"
        "       parlayctl quotes --fixture ID [--json]\n"
        "       parlayctl quotes --version N [--json]";
    const char *status = NULL, *phase = NULL, *fixture = NULL, *version = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            opt.json = true;
        else if (i + 1 < argc && !strcmp(argv[i], "--status"))
            status = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--phase"))
            phase = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--fixture"))
            fixture = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--version"))
            version = argv[++i];
        else
            die(EXIT_USAGE, "%s", usage);
    }
    if (status && strcmp(status, "pending") && strcmp(status, "open") &&
        strcmp(status, "suspended") && strcmp(status, "closed"))
        die(EXIT_USAGE, "--status must be pending, open, suspended or closed\n%s", usage);
    if (phase && strcmp(phase, "pre") && strcmp(phase, "live"))
        die(EXIT_USAGE, "--phase must be pre or live\n%s", usage);
    /* --fixture and --version each name one thing: filters or the other would be ignored. */
    if ((fixture || version) && (status || phase || (fixture && version)))
        die(EXIT_USAGE, "%s", usage);
    if (version)
        return quote_version(version);
    if (fixture)
        return quotes_fixture(fixture);
    return quotes_list(status, phase);
}

static void print_event_row(json_t *e)
{
    json_t *o = json_object_get(e, "observation");
    char minute[48];
    if (i_of(o, "stoppage") > 0)
        snprintf(minute, sizeof minute, "%lld+%lld", i_of(o, "minute"), i_of(o, "stoppage"));
    else
        snprintf(minute, sizeof minute, "%lld", i_of(o, "minute"));
    printf("%5lld %-7s %6lld %-16s %-5s %4zu %s\n", i_of(o, "seq"), minute, i_of(o, "period"),
           s_of(o, "type"), s_of(o, "team"), json_array_size(json_object_get(e, "signatures")),
           s_of(e, "agreed_at"));
}

static void print_result(json_t *res)
{
    if (!res) {
        printf("result: not agreed\n");
        return;
    }
    json_t *o = json_object_get(res, "observation");
    size_t sigs = json_array_size(json_object_get(res, "signatures"));
    const char *status = s_of(o, "status");
    if (!strcmp(status, "final"))
        printf("result: %lld-%lld (final), %zu signatures\n", i_of(o, "home"), i_of(o, "away"),
               sigs);
    else
        printf("result: %s, %zu signatures\n", status, sigs);
}

/* The agreed live events of a fixture, then its agreed result. */
static int cmd_events(int argc, char **argv)
{
    const char *usage = "usage: parlayctl events FIXTURE [--json]";
    const char *fixture = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            opt.json = true;
        else if (!fixture && strncmp(argv[i], "--", 2))
            fixture = argv[i];
        else
            die(EXIT_USAGE, "%s", usage);
    }
    if (!fixture)
        die(EXIT_USAGE, "%s", usage);
    char path[1024];
    path_with_id(path, sizeof path, "/v1/fixtures/%s/events", fixture);
    json_t *evs = call("GET", path, NULL, NULL);
    path_with_id(path, sizeof path, "/v1/fixtures/%s/result", fixture);
    json_t *res;
    long st = request("GET", path, NULL, NULL, &res);
    if (st == 404) { /* no quorum has agreed on a result yet */
        json_decref(res);
        res = NULL;
    } else if (st < 200 || st >= 300) {
        json_decref(evs);
        refused(st, res);
    }
    if (opt.json) {
        json_object_set_new(evs, "result", res ? res : json_null());
        print_json(evs);
        json_decref(evs);
        return EXIT_OK;
    }
    printf("%5s %-7s %6s %-16s %-5s %4s %s\n", "SEQ", "MINUTE", "PERIOD", "TYPE", "TEAM", "SIGS",
           "AGREED_AT");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(evs, "items"), i, e) print_event_row(e);
    printf("\n");
    print_result(res);
    json_decref(res);
    json_decref(evs);
    return EXIT_OK;
}

/* ---- oracle: the cluster's side (the node's admin API), then the library's commands ---- */

static void oracle_usage(FILE *f)
{
    fprintf(f,
            "usage: parlayctl [--url URL] oracle COMMAND\n\n"
            "the cluster's results on chain (asks the node at --url):\n"
            "  status                 the submission queue by state, the sender, its balance,\n"
            "                         the signer alert, the last endpoint error\n"
            "  result FIXTURE         a fixture's result and its on-chain state (pending, signed,\n"
            "                         journaled, sent, mined, confirmed with the transaction,\n"
            "                         already, failed with the reason)\n"
            "  signers                the contract's signers and the cluster's voters side by side\n"
            "  sync-signers --key OWNER_KEY [--threshold K] [--journal FILE]\n"
            "                         make the contract's signers the cluster's voters (the\n"
            "                         owner's transaction, journaled in FILE, default\n"
            "                         oracle-owner-journal.jsonl; K defaults to a majority)\n\n"
            "the contract itself (with --contract, --config or --journal):\n");
    if (oracle_cli_usage)
        oracle_cli_usage(f);
}

static bool is_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static bool has_arg(int argc, char **argv, const char *a)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], a))
            return true;
    return false;
}

static json_t *oracle_state(void)
{
    json_t *out;
    long st = request("GET", "/admin/v1/oracle", NULL, NULL, &out);
    if (st == 404)
        die(EXIT_REFUSED, "%s has no oracle settings (key 'oracle' of a sport node)", opt.url);
    if (st != 200)
        refused(st, out);
    return out;
}

static void print_addresses(const char *label, json_t *arr)
{
    printf("%-16s", label);
    if (!json_array_size(arr))
        printf(" -");
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a)
        printf(" %s", json_string_value(a));
    printf("\n");
}

static int oracle_status_cmd(void)
{
    json_t *s = oracle_state();
    if (opt.json) {
        print_json(s);
        json_decref(s);
        return EXIT_OK;
    }
    json_t *res = json_object_get(s, "results"), *sg = json_object_get(s, "signers"),
           *bal = json_object_get(s, "balance");
    printf("chain %lld  contract %s  rpc %s  confirmations %lld\n", i_of(s, "chain_id"),
           s_of(s, "contract"), s_of(s, "rpc"), i_of(s, "confirmations"));
    printf("sender %s  balance %s wei%s\n", s_of(s, "sender"), s_of(bal, "wei"),
           json_is_true(json_object_get(bal, "low")) ? "  ALERT: below the floor" : "");
    printf("results:");
    const char *k;
    json_t *v;
    json_object_foreach(res, k, v)
        printf(" %s %lld", k, (long long)json_integer_value(v));
    printf("\n");
    printf("signers: threshold %lld%s\n", i_of(sg, "threshold"),
           json_is_true(json_object_get(sg, "out_of_sync"))
               ? "  ALERT: the contract's signers differ from the voters (oracle signers)"
               : "");
    const char *le = json_string_value(json_object_get(s, "last_error"));
    if (le && *le)
        printf("last error: %s\n", le);
    json_decref(s);
    return EXIT_OK;
}

static int oracle_signers_cmd(void)
{
    json_t *s = oracle_state();
    json_t *sg = json_object_get(s, "signers");
    if (opt.json) {
        print_json(sg);
        json_decref(s);
        return EXIT_OK;
    }
    if (!json_is_true(json_object_get(sg, "known")))
        printf("the contract's signers are not known yet (is this node the leader? is the "
               "endpoint up?)\n");
    print_addresses("contract", json_object_get(sg, "contract"));
    print_addresses("voters", json_object_get(sg, "voters"));
    print_addresses("shared", json_object_get(sg, "shared"));
    print_addresses("only contract", json_object_get(sg, "only_contract"));
    print_addresses("only voters", json_object_get(sg, "only_voters"));
    printf("threshold %lld: %s\n", i_of(sg, "threshold"),
           json_is_true(json_object_get(sg, "out_of_sync"))
               ? "OUT OF SYNC (parlayctl oracle sync-signers --key OWNER_KEY)"
               : "in sync");
    json_decref(s);
    return EXIT_OK;
}

static int oracle_result_cmd(const char *fixture)
{
    char path[300];
    path_with_id(path, sizeof path, "/v1/fixtures/%s/result", fixture);
    json_t *out;
    long st = request("GET", path, NULL, NULL, &out);
    if (st == 404) {
        json_decref(out);
        printf("%s: no agreed result yet\n", fixture);
        return EXIT_OK;
    }
    if (st != 200)
        refused(st, out);
    json_t *o = json_object_get(out, "oracle");
    if (opt.json) {
        print_json(o ? o : json_null());
        json_decref(out);
        return EXIT_OK;
    }
    json_t *ob = json_object_get(out, "observation");
    printf("%s: agreed %s %lld-%lld\n", fixture, s_of(ob, "status"), i_of(ob, "home"),
           i_of(ob, "away"));
    if (!o) {
        printf("on chain: not published by this cluster (no oracle settings)\n");
    } else {
        printf("on chain: %s  (match %lld, contract %s, chain %lld)\n", s_of(o, "state"),
               i_of(o, "match_id"), s_of(o, "contract"), i_of(o, "chain_id"));
        const char *tx = json_string_value(json_object_get(o, "tx_hash"));
        const char *why = json_string_value(json_object_get(o, "reason"));
        json_t *oc = json_object_get(o, "onchain");
        if (tx)
            printf("transaction %s", tx);
        if (tx && i_of(o, "block"))
            printf("  block %lld  gas %lld", i_of(o, "block"), i_of(o, "gas_used"));
        if (tx)
            printf("\n");
        if (oc)
            printf("the contract holds: %s %lld-%lld\n", s_of(oc, "status"), i_of(oc, "home"),
                   i_of(oc, "away"));
        if (why)
            printf("reason: %s\n", why);
        printf("signatures: %zu\n", json_array_size(json_object_get(o, "signatures")));
    }
    json_decref(out);
    return EXIT_OK;
}

static int oracle_sync_cmd(int argc, char **argv)
{
    const char *key = NULL, *threshold = NULL, *journal = "oracle-owner-journal.jsonl";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--key") && i + 1 < argc)
            key = argv[++i];
        else if (!strcmp(argv[i], "--journal") && i + 1 < argc)
            journal = argv[++i];
        else if (!strcmp(argv[i], "--threshold") && i + 1 < argc)
            threshold = argv[++i];
        else
            die(EXIT_USAGE, "usage: parlayctl oracle sync-signers --key OWNER_KEY [--threshold K] [--journal FILE]");
    }
    if (!key)
        die(EXIT_USAGE, "usage: parlayctl oracle sync-signers --key OWNER_KEY [--threshold K] [--journal FILE]");
    json_t *s = oracle_state();
    json_t *voters = json_object_get(json_object_get(s, "signers"), "voters");
    size_t n = json_array_size(voters);
    if (n == 0)
        die(EXIT_REFUSED, "the node knows no voter addresses yet (ask the leader)");
    char set[64 * 44] = "", th[24], chain[24];
    size_t i;
    json_t *a;
    json_array_foreach(voters, i, a)
    {
        if (i)
            strcat(set, ",");
        strncat(set, json_string_value(a), 42);
    }
    snprintf(th, sizeof th, "%s", threshold ? threshold : "");
    if (!threshold)
        snprintf(th, sizeof th, "%zu", n / 2 + 1);
    snprintf(chain, sizeof chain, "%lld", i_of(s, "chain_id"));
    char rpc[600], contract[64];
    snprintf(rpc, sizeof rpc, "%s", s_of(s, "rpc"));
    snprintf(contract, sizeof contract, "%s", s_of(s, "contract"));
    json_decref(s);
    printf("setting the contract's signers to the %zu voters, threshold %s\n", n, th);
    char *args[] = {"oracle", "signers", "--rpc", rpc, "--contract", contract, "--chain-id", chain,
                    "--key", (char *)key, "--set", set, "--threshold", th,
                    "--confirmations", "1", "--journal", (char *)journal, NULL};
    return oracle_cli_main((int)(sizeof args / sizeof *args) - 1, args);
}

/* `parlayctl oracle ...`: help, the cluster's commands, or the library's. */
static int cmd_oracle(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "help") || has_arg(argc, argv, "--help") ||
        has_arg(argc, argv, "-h")) {
        oracle_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    bool direct = has_arg(argc, argv, "--contract") || has_arg(argc, argv, "--config") ||
                  has_arg(argc, argv, "--journal") || has_arg(argc, argv, "--key");
    const char *c = argv[1];
    if (!strcmp(c, "sync-signers"))
        return oracle_sync_cmd(argc - 1, argv + 1);
    if (!direct && !strcmp(c, "status") && argc == 2)
        return oracle_status_cmd();
    if (!direct && !strcmp(c, "signers") && argc == 2)
        return oracle_signers_cmd();
    if (!strcmp(c, "result") && argc == 3 && (!direct || !is_digits(argv[2])))
        return oracle_result_cmd(argv[2]);
    if (!oracle_cli_main)
        die(EXIT_USAGE, "this parlayctl was built without oracle support");
    return oracle_cli_main(argc, argv);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: parlayctl [--url URL] [--token-file FILE] [--json] [--timeout SECONDS] "
            "COMMAND\n\n"
            "  --url         a node's HTTP address (default $PARLAY_URL or http://127.0.0.1:8101)\n"
            "  --token-file  file holding the admin token, an operator's token (parlayctl login)\n"
            "                or a machine token (default $PARLAY_TOKEN_FILE)\n\n"
            "commands:\n"
            "  status                          cluster, leader, term, indexes, members\n"
            "  members                         members with role, match index and lag\n"
            "  add ID RAFT_ADDR HTTP_ADDR      add a node; waits until it caught up and votes\n"
            "  assign ID voter|standby|spare   change a member's role\n"
            "  remove ID                       remove a member\n"
            "  transfer [ID]                   hand leadership to ID (or any voter)\n"
            "  snapshot                        take a snapshot on the leader now\n"
            "  fixtures list|get|create|status fixtures (games)\n"
            "  players count|get|kyc           accounts cluster: players, operator KYC decisions\n"
            "  wallet get|block|unblock|clusters|register-cluster\n"
            "                                  accounts cluster: a player's wallet, blocks, the\n"
            "                                  sport clusters allowed to place holds\n"
            "  secrets status|reseal           accounts cluster: secrets at rest, sealed again\n"
            "                                  under the keyring's first key after a rotation\n"
            "  ledger check|trj|correct        accounts cluster: the ledger's invariants, the\n"
            "                                  return to players, corrections with a reason\n"
            "  quotes [--status S] [--phase pre|live]\n"
            "                                  markets: status, score, 1X2 odds (all pages)\n"
            "  quotes --fixture ID             one market and its full price list\n"
            "  quotes --version N              one agreed quote: signers, public keys, digest\n"
            "  events FIXTURE                  agreed live events in order, then the result\n"
            "  bets player|fixture ID          sport cluster: a player's or a fixture's bets\n"
            "  bets switches | bets switch all|live|FIXTURE on|off\n"
            "  bets void BET --reason TEXT     sport cluster: void an accepted bet\n"
            "                                  sport cluster: the betting switches\n"
            "  liability FIXTURE               sport cluster: exposure per market and outcome\n"
            "  audit                           sport cluster: its bets against the accounts\n"
            "                                  cluster's holds and transfers (1 if different)\n"
            "  oracle ...                      the Ethereum oracle (see parlayctl oracle help)\n"
            "  operators list|add|disable|totp|totp-confirm\n"
            "                                  accounts cluster: named operators\n"
            "  login EMAIL --totp CODE --out FILE\n"
            "                                  an operator's token into FILE (0600)\n"
            "  tokens list|create|revoke       accounts cluster: scoped machine tokens\n"
            "  audit-log [--since N] [--limit N]\n"
            "                                  the cluster's audit trail of admin actions\n\n"
            "exit codes: 0 ok, 1 refused by the node, 2 usage, 3 unreachable, 4 timed out\n");
}

int main(int argc, char **argv)
{
    const char *env_url = getenv("PARLAY_URL"), *token_file = getenv("PARLAY_TOKEN_FILE");
    snprintf(opt.url, sizeof opt.url, "%s", env_url ? env_url : "http://127.0.0.1:8101");
    int i = 1;
    for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
        if (!strcmp(argv[i], "--json"))
            opt.json = true;
        else if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--version")) {
            printf("parlayctl %s\n", PARLAY_VERSION_LINE);
            return EXIT_OK;
        } else if (i + 1 < argc && !strcmp(argv[i], "--url"))
            snprintf(opt.url, sizeof opt.url, "%s", argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--token-file"))
            token_file = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--timeout")) {
            char *e;
            opt.timeout_s = strtol(argv[++i], &e, 10);
            if (*e || opt.timeout_s <= 0)
                die(EXIT_USAGE, "--timeout takes a positive number of seconds");
        } else {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strncmp(opt.url, "http://", 7) && strncmp(opt.url, "https://", 8)) {
        size_t l = strnlen(opt.url, sizeof opt.url - 8);
        memmove(opt.url + 7, opt.url, l);
        memcpy(opt.url, "http://", 7);
        opt.url[l + 7] = 0;
    }
    if (token_file) {
        FILE *f = fopen(token_file, "r");
        if (!f)
            die(EXIT_USAGE, "--token-file %s: %s", token_file, strerror(errno));
        if (!fgets(opt.token, sizeof opt.token, f))
            opt.token[0] = 0;
        fclose(f);
        opt.token[strcspn(opt.token, "\r\n")] = 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *cmd = argv[i];
    int rest = argc - i;
    char **rv = argv + i;
    if (!strcmp(cmd, "status"))
        return cmd_status(rest, rv, false);
    if (!strcmp(cmd, "members"))
        return cmd_status(rest, rv, true);
    if (!strcmp(cmd, "add"))
        return cmd_add(rest, rv);
    if (!strcmp(cmd, "assign"))
        return cmd_assign(rest, rv);
    if (!strcmp(cmd, "remove"))
        return cmd_remove(rest, rv);
    if (!strcmp(cmd, "transfer"))
        return cmd_transfer(rest, rv);
    if (!strcmp(cmd, "snapshot"))
        return cmd_snapshot(rest, rv);
    if (!strcmp(cmd, "fixtures"))
        return cmd_fixtures(rest, rv);
    if (!strcmp(cmd, "players"))
        return cmd_players(rest, rv);
    if (!strcmp(cmd, "wallet"))
        return cmd_wallet(rest, rv);
    if (!strcmp(cmd, "ledger"))
        return cmd_ledger(rest, rv);
    if (!strcmp(cmd, "secrets"))
        return cmd_secrets(rest, rv);
    if (!strcmp(cmd, "bets"))
        return cmd_bets(rest, rv);
    if (!strcmp(cmd, "liability"))
        return cmd_liability(rest, rv);
    if (!strcmp(cmd, "audit"))
        return cmd_audit(rest, rv);
    if (!strcmp(cmd, "audit-log"))
        return cmd_audit_log(rest, rv);
    if (!strcmp(cmd, "operators"))
        return cmd_operators(rest, rv);
    if (!strcmp(cmd, "login"))
        return cmd_login(rest, rv);
    if (!strcmp(cmd, "tokens"))
        return cmd_tokens(rest, rv);
    if (!strcmp(cmd, "quotes"))
        return cmd_quotes(rest, rv);
    if (!strcmp(cmd, "events"))
        return cmd_events(rest, rv);
    if (!strcmp(cmd, "oracle"))
        return cmd_oracle(rest, rv);
    fprintf(stderr, "parlayctl: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
