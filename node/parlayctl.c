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

#include "common/curl_uv.h"
#include "common/version.h"
#include "node/parlayctl.h"


/* `parlayctl oracle ...` is served by the oracle library when it is linked in. */
extern int oracle_cli_main(int argc, char **argv) __attribute__((weak));
extern void oracle_cli_usage(FILE *f) __attribute__((weak));

struct parlayctl_opt opt = {.timeout_s = 120};

void die(int code, const char *fmt, ...)
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
long request(const char *method, const char *path, json_t *body, const char *idem,
                    json_t **out)
{
    CURL *c = curl_easy_init();
    char url[1200], auth[4200];
    struct cu_body b = {0};
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
    if (opt.ca_file) /* nodes with member TLS: their deployment's CA */
        curl_easy_setopt(c, CURLOPT_CAINFO, opt.ca_file);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (text)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, cu_body_write);
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
        cu_body_free(&b);
        die(EXIT_UNREACHABLE, "cannot reach %s: %s", opt.url, curl_easy_strerror(rc));
    }
    *out = b.p ? json_loads(b.p, 0, NULL) : NULL;
    cu_body_free(&b);
    return status;
}

/* Print a refusal (problem+json) and exit 1. */
void refused(long status, json_t *body)
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

json_t *call(const char *method, const char *path, json_t *body, const char *idem)
{
    json_t *out;
    long st = request(method, path, body, idem, &out);
    json_decref(body);
    if (st >= 400 || st < 200)
        refused(st, out);
    return out;
}

void print_json(json_t *o)
{
    char *t = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    printf("%s\n", t);
    free(t);
}

const char *s_of(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "-";
}

long long i_of(json_t *o, const char *k)
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

void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

double now_s(void)
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

/* add [--standby] ID RAFT_ADDRESS HTTP_ADDRESS: spare -> standby -> caught up -> voter; with
 * --standby it stops once caught up: a read replica for a match day (it serves reads and the
 * streams, forwards writes, never votes), taken out with `remove ID` afterwards. */
static int cmd_add(int argc, char **argv)
{
    bool standby = argc > 1 && !strcmp(argv[1], "--standby");
    if (standby) {
        argc--;
        argv++;
    }
    if (argc != 4)
        die(EXIT_USAGE, "usage: parlayctl add [--standby] ID RAFT_ADDRESS HTTP_ADDRESS");
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
    if (!standby)
        assign(id, "voter");
    json_t *st = call("GET", "/admin/v1/cluster", NULL, NULL);
    if (opt.json)
        print_json(st);
    else {
        printf("node %ld is a %s\n\n", id, standby ? "standby (caught up; it never votes)"
                                                    : "voter");
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

void gen_key(char *out, size_t n)
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

void id_path(char *path, size_t n, const char *fmt, const char *id)
{
    char *esc = curl_easy_escape(NULL, id, 0);
    snprintf(path, n, fmt, esc ? esc : "");
    curl_free(esc);
}

bool human(json_t *out)
{
    if (opt.json)
        print_json(out);
    return !opt.json;
}

int done(json_t *out, int code)
{
    json_decref(out);
    return code;
}

void opt_pairs(int argc, char **argv, int from, const char *usage, const char *const *names,
               const char **values)
{
    for (int i = from; i < argc; i += 2) {
        size_t k = 0;
        while (names[k] && strcmp(argv[i], names[k]))
            k++;
        if (i + 1 >= argc || !names[k])
            die(EXIT_USAGE, "%s", usage);
        values[k] = argv[i + 1];
    }
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

static void usage(FILE *f)
{
    fprintf(f,
            "usage: parlayctl [--url URL] [--token-file FILE] [--json] [--timeout SECONDS] "
            "COMMAND\n\n"
            "  --url         a node's HTTP address (default $PARLAY_URL or http://127.0.0.1:8101)\n"
            "  --token-file  file holding the admin token, an operator's token (parlayctl login)\n"
            "                or a machine token (default $PARLAY_TOKEN_FILE)\n"
            "  --ca-file     the CA to trust for https:// nodes (default $PARLAY_CA_FILE)\n\n"
            "commands:\n"
            "  status                          cluster, leader, term, indexes, members\n"
            "  members                         members with role, match index and lag\n"
            "  add ID RAFT_ADDR HTTP_ADDR      add a node; waits until it caught up and votes\n"
            "  add --standby ID RAFT HTTP      the same, but it stays a standby (read replica)\n"
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
            "  bets resettle FIXTURE --home H --away A --reason TEXT\n"
            "                                  sport cluster: correct a result, re-settle its bets\n"
            "  bets abandon FIXTURE --reason TEXT  sport cluster: a live fixture abandoned\n"
            "  bets cashout | bets cashout-switch on|off   sport cluster: the cash-out switch\n"
            "                                  sport cluster: the betting switches\n"
            "  trader set FIXTURE [--market M] [--margin-bp N] [--lean OUTCOME:BP]\n"
            "    [--suspend|--reopen] [--max-stake CENTS] --reason TEXT | trader show FIXTURE\n"
            "                                  sport cluster: trader controls and their history\n"
            "  governor status | governor reset --reason TEXT\n"
            "                                  sport cluster: the return-to-player governor\n"
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
            "                                  the cluster's audit trail of admin actions\n"
            "  certs ca-init|issue|rotate      the deployment's CA and member certificates\n"
            "                                  (local files; see parlayctl certs)\n\n"
            "exit codes: 0 ok, 1 refused by the node, 2 usage, 3 unreachable, 4 timed out\n");
}

int main(int argc, char **argv)
{
    const char *env_url = getenv("PARLAY_URL"), *token_file = getenv("PARLAY_TOKEN_FILE");
    snprintf(opt.url, sizeof opt.url, "%s", env_url ? env_url : "http://127.0.0.1:8101");
    opt.ca_file = getenv("PARLAY_CA_FILE") && *getenv("PARLAY_CA_FILE") ? getenv("PARLAY_CA_FILE")
                                                                        : NULL;
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
        else if (i + 1 < argc && !strcmp(argv[i], "--ca-file"))
            opt.ca_file = argv[++i];
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
    if (!strcmp(cmd, "trader"))
        return cmd_trader(rest, rv);
    if (!strcmp(cmd, "governor"))
        return cmd_governor(rest, rv);
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
    if (!strcmp(cmd, "certs"))
        return cmd_certs(rest, rv);
    fprintf(stderr, "parlayctl: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
