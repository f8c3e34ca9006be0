/* parlayctl: agreed quotes and events, and the oracle (sport clusters). See node/parlayctl.h. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node/parlayctl.h"

/* `parlayctl oracle ...` is served by the oracle library when it is linked in. */
extern int oracle_cli_main(int argc, char **argv) __attribute__((weak));
extern void oracle_cli_usage(FILE *f) __attribute__((weak));

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

int cmd_quotes(int argc, char **argv)
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
int cmd_events(int argc, char **argv)
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
int cmd_oracle(int argc, char **argv)
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


/* Trader controls (issue 17): parlayctl trader set FIXTURE [--market M] [--margin-bp N]
 * [--line N] [--lean OUTCOME:BP] [--suspend|--reopen] [--max-stake CENTS] --reason TEXT
 * [--key KEY]; parlayctl trader show FIXTURE. With --market, --line, --lean, --suspend,
 * --reopen and --max-stake are that market's (one change; --margin-bp with --market is the
 * market's margin, its own change). The bounds are the node's (422 with a code, printed). */
static void print_trader_markets(json_t *pm)
{
    const char *mk;
    json_t *s;
    json_object_foreach(json_object_get(pm, "markets"), mk, s)
    {
        json_t *lean = json_object_get(s, "lean");
        printf("  market %-16s line %+.2f, lean %s%s%lld bp, %s, max stake %lld\n", mk,
               (double)i_of(s, "line_move_q") / 4.0,
               json_is_object(lean) ? s_of(lean, "outcome") : "none",
               json_is_object(lean) ? " +" : " ", json_is_object(lean) ? i_of(lean, "bp") : 0,
               json_is_true(json_object_get(s, "suspended")) ? "SUSPENDED" : "open",
               i_of(s, "max_stake"));
    }
}

static void print_trader(json_t *t)
{
    json_t *lean = json_object_get(t, "lean");
    printf("fixture %s: margin %+lld bp, lean %s%s%lld bp, %s, max stake %s%lld, %lld changes\n",
           s_of(t, "fixture") ?: "?", i_of(t, "margin_shift_bp"),
           json_is_object(lean) ? s_of(lean, "outcome") : "none",
           json_is_object(lean) ? " +" : " ", json_is_object(lean) ? i_of(lean, "bp") : 0,
           json_is_true(json_object_get(t, "suspended")) ? "SUSPENDED" : "open",
           i_of(t, "max_stake") ? "" : "(none) ", i_of(t, "max_stake"), i_of(t, "changes"));
    const char *mk;
    json_t *v;
    json_object_foreach(json_object_get(t, "market_shift_bp"), mk, v)
        printf("  market %-16s margin %+lld bp\n", mk, (long long)json_integer_value(v));
    print_trader_markets(json_object_get(t, "markets"));
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(t, "history"), i, h)
    {
        char *set = json_dumps(json_object_get(h, "set"), JSON_COMPACT | JSON_SORT_KEYS);
        printf("  #%lld %s entry %lld by %s: %s (%s)\n", i_of(h, "n"), s_of(h, "at") ?: "?",
               i_of(h, "entry"), s_of(h, "by") ?: "?", set ? set : "", s_of(h, "reason") ?: "");
        free(set);
    }
}

int cmd_trader(int argc, char **argv)
{
    const char *usage =
        "usage: parlayctl trader set FIXTURE [--market M] [--margin-bp N] [--line N]\n"
        "                            [--lean OUTCOME:BP]\n"
        "                            [--suspend|--reopen] [--max-stake CENTS] --reason TEXT "
        "[--key KEY]\n"
        "       parlayctl trader show FIXTURE";
    if (argc < 3)
        die(EXIT_USAGE, "%s", usage);
    char path[600];
    id_path(path, sizeof path, "/admin/v1/fixtures/%s/trader", argv[2]);
    if (argc == 3 && !strcmp(argv[1], "show")) {
        json_t *out = call("GET", path, NULL, NULL);
        if (human(out))
            print_trader(out);
        return done(out, EXIT_OK);
    }
    if (strcmp(argv[1], "set") != 0)
        die(EXIT_USAGE, "%s", usage);
    json_t *b = json_object();
    char key[128] = "";
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(a, "--suspend") || !strcmp(a, "--reopen")) {
            json_object_set_new(b, "suspended", json_boolean(!strcmp(a, "--suspend")));
            continue;
        }
        if (!v)
            die(EXIT_USAGE, "%s needs a value\n%s", a, usage);
        i++;
        if (!strcmp(a, "--market")) {
            json_object_set_new(b, "market", json_string(v));
        } else if (!strcmp(a, "--reason")) {
            json_object_set_new(b, "reason", json_string(v));
        } else if (!strcmp(a, "--key")) {
            snprintf(key, sizeof key, "%s", v);
        } else if (!strcmp(a, "--margin-bp") || !strcmp(a, "--max-stake")) {
            long long n = strtoll(v, &end, 10);
            if (!*v || *end)
                die(EXIT_USAGE, "%s: an integer, not '%s'", a, v);
            json_object_set_new(b, !strcmp(a, "--margin-bp") ? "margin_shift_bp" : "max_stake",
                                json_integer(n));
        } else if (!strcmp(a, "--line")) {
            double g = strtod(v, &end);
            if (!*v || *end)
                die(EXIT_USAGE, "--line: goals, games or points (the market's unit, e.g. 1 or "
                                "-0.25), not '%s'", v);
            json_object_set_new(b, "line_move", json_real(g));
        } else if (!strcmp(a, "--lean")) {
            const char *colon = strchr(v, ':');
            long long n = colon ? strtoll(colon + 1, &end, 10) : 0;
            if (!colon || colon == v || !colon[1] || *end)
                die(EXIT_USAGE, "--lean: OUTCOME:BP (home|draw|away, or the market's side, 0 to "
                                "500), not '%s'", v);
            json_object_set_new(b, "lean", json_pack("{s:s%, s:I}", "outcome", v,
                                                     (size_t)(colon - v), "bp", n));
        } else {
            die(EXIT_USAGE, "unknown option '%s'\n%s", a, usage);
        }
    }
    if (!key[0])
        gen_key(key, sizeof key); /* a fresh change; --key makes a retry idempotent */
    json_t *out = call("POST", path, b, key);
    if (human(out)) {
        if (json_object_get(out, "settings")) { /* one market's change */
            json_t *pm = json_pack("{s:{s:O}}", "markets", s_of(out, "market") ?: "?",
                                   json_object_get(out, "settings"));
            printf("fixture %s:\n", s_of(out, "fixture") ?: "?");
            print_trader_markets(pm);
            json_decref(pm);
        } else {
            print_trader(out);
        }
    }
    return done(out, EXIT_OK);
}

/* The return-to-player governor (issue 17): parlayctl governor status | governor reset
 * --reason TEXT [--key KEY]. */
static void print_governor(json_t *o)
{
    json_t *cfg = json_object_get(o, "config"), *st = json_object_get(o, "state");
    json_t *look = json_object_get(o, "look"), *rule = json_object_get(look, "rule");
    if (cfg)
        printf("governor %s: target %.2f %% (band %lld bp), step %lld bp, max %lld bp, every "
               "%lld ms, min stakes %lld cents\n",
               json_is_true(json_object_get(o, "enabled")) ? "on" : "off",
               (double)i_of(cfg, "target_bp") / 100.0, i_of(cfg, "band_bp"),
               i_of(cfg, "step_bp"), i_of(cfg, "max_bp"), i_of(cfg, "period_ms"),
               i_of(cfg, "min_stakes"));
    if (!st)
        st = o; /* a reset's answer: the state itself */
    printf("adjustment in force: %+lld bp (%lld changes)\n", i_of(st, "margin_bp"),
           i_of(st, "changes"));
    if (rule)
        printf("last look %s: TRJ %.2f %% so far, %.2f %% since the last move, projected "
               "%.2f %%: %s (next %+lld bp)\n",
               s_of(look, "at") ?: "?", (double)i_of(rule, "ytd_bp") / 100.0,
               (double)i_of(rule, "recent_bp") / 100.0,
               (double)i_of(rule, "projected_bp") / 100.0, s_of(rule, "why") ?: "?",
               i_of(rule, "next_bp"));
    else if (look)
        printf("last look %s: %s\n", s_of(look, "at") ?: "?", s_of(look, "error") ?: "pending");
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(st, "history"), i, h)
        printf("  #%lld %s entry %lld: %+lld -> %+lld bp, %s (projected %.2f %%)%s%s\n",
               i_of(h, "n"), s_of(h, "at") ?: "?", i_of(h, "entry"), i_of(h, "from"),
               i_of(h, "to"), s_of(h, "why") ?: "?", (double)i_of(h, "projected_bp") / 100.0,
               s_of(h, "reason") ? ": " : "", s_of(h, "reason") ?: "");
}

int cmd_governor(int argc, char **argv)
{
    const char *usage = "usage: parlayctl governor status\n"
                        "       parlayctl governor reset --reason TEXT [--key KEY]";
    json_t *out;
    if (argc == 2 && !strcmp(argv[1], "status")) {
        out = call("GET", "/admin/v1/governor", NULL, NULL);
    } else if (argc >= 2 && !strcmp(argv[1], "reset")) {
        static const char *const names[] = {"--reason", "--key", NULL};
        const char *v[2] = {NULL, NULL};
        opt_pairs(argc, argv, 2, usage, names, v);
        if (!v[0])
            die(EXIT_USAGE, "%s", usage);
        char key[128];
        if (v[1])
            snprintf(key, sizeof key, "%s", v[1]);
        else
            gen_key(key, sizeof key);
        out = call("POST", "/admin/v1/governor/reset", json_pack("{s:s}", "reason", v[0]), key);
    } else {
        die(EXIT_USAGE, "%s", usage);
    }
    if (human(out))
        print_governor(out);
    return done(out, EXIT_OK);
}
