/* parlayctl: bets, liability and the audits (sport clusters); operators, tokens, the audit
 * trail, the ledger, secrets, wallets and players (accounts cluster). See node/parlayctl.h. */
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

/* The key of "... [--key KEY]" with --key at argv[@at]: KEY, or @fallback without it. */
static const char *opt_key(int argc, char **argv, int at, const char *usage,
                           const char *fallback)
{
    if (argc <= at)
        return fallback;
    if (strcmp(argv[at], "--key"))
        die(EXIT_USAGE, "%s", usage);
    return argv[at + 1];
}

int cmd_bets(int argc, char **argv)
{
    const char *usage = "usage: parlayctl bets player PLAYER_ID [--limit N]\n"
                        "       parlayctl bets fixture FIXTURE_ID [--limit N]\n"
                        "       parlayctl bets switches\n"
                        "       parlayctl bets switch all|live|FIXTURE_ID on|off [--key KEY]\n"
                        "       parlayctl bets void BET_ID --reason TEXT [--key KEY]\n"
                        "       parlayctl bets resettle FIXTURE_ID --home H --away A --reason "
                        "TEXT [--key KEY]\n"
                        "       parlayctl bets abandon FIXTURE_ID --reason TEXT [--key KEY]\n"
                        "       parlayctl bets cashout\n"
                        "       parlayctl bets cashout-switch on|off [--key KEY]";
    if ((argc == 5 || argc == 7) && !strcmp(argv[1], "abandon") &&
        !strcmp(argv[3], "--reason") && (argc == 5 || !strcmp(argv[5], "--key"))) {
        char kbuf[96];
        snprintf(kbuf, sizeof kbuf, "abandon-%.60s", argv[2]);
        char *esc = curl_easy_escape(NULL, argv[2], 0);
        char path[600];
        snprintf(path, sizeof path, "/admin/v1/fixtures/%s/abandon", esc);
        curl_free(esc);
        json_t *out = call("POST", path, json_pack("{s:s}", "reason", argv[4]),
                           argc == 7 ? argv[6] : kbuf);
        json_t *ab = json_object_get(out, "abandoned");
        if (opt.json)
            print_json(out);
        else
            printf("fixture %s: abandoned at %lld-%lld, %lld bets settled\n",
                   json_string_value(json_object_get(out, "fixture")), i_of(ab, "home"),
                   i_of(ab, "away"), i_of(out, "settled"));
        json_decref(out);
        return EXIT_OK;
    }
    if ((argc == 9 || argc == 11) && !strcmp(argv[1], "resettle") &&
        !strcmp(argv[3], "--home") && !strcmp(argv[5], "--away") &&
        !strcmp(argv[7], "--reason") && (argc == 9 || !strcmp(argv[9], "--key"))) {
        char kbuf[160];
        snprintf(kbuf, sizeof kbuf, "resettle-%.60s-%s-%s-%lld", argv[2], argv[4], argv[6],
                 (long long)time(NULL));
        char *end1, *end2;
        long h = strtol(argv[4], &end1, 10), a = strtol(argv[6], &end2, 10);
        if (*end1 || *end2 || h < 0 || a < 0)
            die(EXIT_USAGE, "%s", usage);
        char *esc = curl_easy_escape(NULL, argv[2], 0);
        char path[600];
        snprintf(path, sizeof path, "/admin/v1/fixtures/%s/resettle", esc);
        curl_free(esc);
        json_t *out = call("POST", path,
                           json_pack("{s:i, s:i, s:s}", "home", (int)h, "away", (int)a, "reason",
                                     argv[8]),
                           argc == 11 ? argv[10] : kbuf);
        if (opt.json)
            print_json(out);
        else
            printf("fixture %s: result corrected to %lld-%lld (generation %lld), %lld of %lld "
                   "bets re-settled\n",
                   json_string_value(json_object_get(out, "fixture")), i_of(out, "home"),
                   i_of(out, "away"), i_of(out, "generation"), i_of(out, "resettled"),
                   i_of(out, "bets"));
        json_decref(out);
        return EXIT_OK;
    }
    if ((argc == 5 || argc == 7) && !strcmp(argv[1], "void") && !strcmp(argv[3], "--reason")) {
        char kbuf[96];
        snprintf(kbuf, sizeof kbuf, "void-%.60s", argv[2]);
        const char *key = opt_key(argc, argv, 5, usage, kbuf);
        char path[600];
        id_path(path, sizeof path, "/admin/v1/bets/%s/void", argv[2]);
        json_t *out = call("POST", path, json_pack("{s:s}", "reason", argv[4]), key);
        if (human(out))
            printf("bet %s: %s (%s), return %lld\n", json_string_value(json_object_get(out, "id")),
                   json_string_value(json_object_get(out, "status")),
                   json_string_value(json_object_get(out, "result")) ?: "-", i_of(out, "return"));
        return done(out, EXIT_OK);
    }
    if (argc == 2 && !strcmp(argv[1], "cashout")) {
        json_t *out = call("GET", "/admin/v1/bets/cashout", NULL, NULL);
        print_json(out);
        json_decref(out);
        return EXIT_OK;
    }
    if ((argc == 3 || argc == 5) && !strcmp(argv[1], "cashout-switch") &&
        (!strcmp(argv[2], "on") || !strcmp(argv[2], "off"))) {
        char kbuf[64];
        snprintf(kbuf, sizeof kbuf, "cashout-%lld-%d", (long long)time(NULL), (int)getpid());
        if (argc == 5 && strcmp(argv[3], "--key"))
            die(EXIT_USAGE, "%s", usage);
        json_t *out = call("POST", "/admin/v1/bets/cashout",
                           json_pack("{s:b}", "enabled", !strcmp(argv[2], "on")),
                           argc == 5 ? argv[4] : kbuf);
        print_json(out);
        json_decref(out);
        return EXIT_OK;
    }
    if (argc == 2 && !strcmp(argv[1], "switches")) {
        json_t *out = call("GET", "/admin/v1/bets/switches", NULL, NULL);
        print_json(out);
        return done(out, EXIT_OK);
    }
    if ((argc == 4 || argc == 6) && !strcmp(argv[1], "switch") &&
        (!strcmp(argv[3], "on") || !strcmp(argv[3], "off"))) {
        char kbuf[64];
        snprintf(kbuf, sizeof kbuf, "switch-%lld-%d", (long long)time(NULL), (int)getpid());
        const char *key = opt_key(argc, argv, 4, usage, kbuf);
        bool scoped = !strcmp(argv[2], "all") || !strcmp(argv[2], "live");
        json_t *body = json_pack("{s:s, s:b}", "scope", scoped ? argv[2] : "fixture", "open",
                                 !strcmp(argv[3], "on"));
        if (!scoped)
            json_object_set_new(body, "fixture", json_string(argv[2]));
        json_t *out = call("POST", "/admin/v1/bets/switches", body, key);
        print_json(out);
        return done(out, EXIT_OK);
    }
    if ((argc == 3 || argc == 5) && (!strcmp(argv[1], "player") || !strcmp(argv[1], "fixture"))) {
        long limit = 100;
        if (argc == 5) {
            if (strcmp(argv[3], "--limit") || (limit = atol(argv[4])) < 1)
                die(EXIT_USAGE, "%s", usage);
        }
        char fmt[64], path[600];
        snprintf(fmt, sizeof fmt, "/admin/v1/bets?%s=%%s&limit=%ld", argv[1], limit);
        id_path(path, sizeof path, fmt, argv[2]);
        json_t *out = call("GET", path, NULL, NULL);
        if (human(out)) {
            printf("%-14s %-10s %-9s %-12s %8s %8s  %s\n", "BET", "STATUS", "RESULT", "REJECTED",
                   "STAKE", "PAYOUT", "LEG");
            size_t k;
            json_t *b;
            json_array_foreach(json_object_get(out, "items"), k, b) print_bet_row(b);
        }
        return done(out, EXIT_OK);
    }
    die(EXIT_USAGE, "%s", usage);
    return EXIT_USAGE;
}

int cmd_liability(int argc, char **argv)
{
    if (argc != 2)
        die(EXIT_USAGE, "usage: parlayctl liability FIXTURE_ID");
    char path[600];
    id_path(path, sizeof path, "/admin/v1/fixtures/%s/liability", argv[1]);
    json_t *out = call("GET", path, NULL, NULL);
    if (human(out)) {
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
    return done(out, EXIT_OK);
}

int cmd_audit(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        die(EXIT_USAGE, "usage: parlayctl audit");
    json_t *out = call("GET", "/admin/v1/bets/audit", NULL, NULL);
    bool ok = json_is_true(json_object_get(out, "ok"));
    if (human(out)) {
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
    return done(out, ok ? EXIT_OK : EXIT_REFUSED);
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

/* One line per item of @out, with the item's scopes as JSON. */
static void list_rows(json_t *out, void (*row)(json_t *o, const char *scopes))
{
    size_t k;
    json_t *o;
    json_array_foreach(json_object_get(out, "items"), k, o)
    {
        char *sc = json_dumps(json_object_get(o, "scopes"), JSON_COMPACT);
        row(o, sc ? sc : "");
        free(sc);
    }
}

static void operator_row(json_t *o, const char *sc)
{
    printf("%-22s %-24s %-30s %s%s%s\n", json_string_value(json_object_get(o, "id")),
           json_string_value(json_object_get(o, "name")),
           json_string_value(json_object_get(o, "email")), sc,
           json_is_true(json_object_get(o, "totp_confirmed")) ? "" : " (no 2FA yet)",
           json_is_true(json_object_get(o, "disabled")) ? " DISABLED" : "");
}

static void token_row(json_t *o, const char *sc)
{
    printf("%-20s %-24s %-30s expires_ms=%lld by %s%s\n",
           json_string_value(json_object_get(o, "id")),
           json_string_value(json_object_get(o, "name")), sc,
           (long long)json_integer_value(json_object_get(o, "expires_ms")),
           json_string_value(json_object_get(o, "created_by")),
           json_is_true(json_object_get(o, "revoked")) ? " REVOKED" : "");
}

int cmd_operators(int argc, char **argv)
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
        if (human(out))
            list_rows(out, operator_row);
    } else if (!strcmp(argv[1], "add") && argc == 6 && !strcmp(argv[4], "--scopes")) {
        read_password(pwfile, pw, sizeof pw);
        snprintf(key, sizeof key, "operator-add-%.150s", argv[3]);
        out = call("POST", "/admin/v1/operators",
                   json_pack("{s:s, s:s, s:s, s:o}", "name", argv[2], "email", argv[3],
                             "password", pw, "scopes", scope_list(argv[5])),
                   key);
        if (human(out))
            printf("operator %s created; next: parlayctl operators totp %s\n",
                   json_string_value(json_object_get(out, "id")), argv[3]);
    } else if (!strcmp(argv[1], "disable") && argc == 3) {
        snprintf(key, sizeof key, "operator-disable-%.150s", argv[2]);
        snprintf(path, sizeof path, "/admin/v1/operators/%.200s/disable", argv[2]);
        out = call("POST", path, NULL, key);
        if (human(out))
            printf("operator %s disabled\n", argv[2]);
    } else if (!strcmp(argv[1], "totp") && argc == 3) {
        read_password(pwfile, pw, sizeof pw);
        out = call("POST", "/v1/operators/totp",
                   json_pack("{s:s, s:s}", "email", argv[2], "password", pw), NULL);
        if (human(out))
            printf("secret %s\nuri    %s\nthen: parlayctl operators totp-confirm %s CODE\n",
                   json_string_value(json_object_get(out, "secret")),
                   json_string_value(json_object_get(out, "otpauth_uri")), argv[2]);
    } else if (!strcmp(argv[1], "totp-confirm") && argc == 4) {
        read_password(pwfile, pw, sizeof pw);
        out = call("POST", "/v1/operators/totp/confirm",
                   json_pack("{s:s, s:s, s:s}", "email", argv[2], "password", pw, "code", argv[3]),
                   NULL);
        if (human(out))
            printf("second factor confirmed; sign in with parlayctl login\n");
    } else {
        die(EXIT_USAGE, "%s", usage);
    }
    return done(out, EXIT_OK);
}

/* parlayctl login EMAIL --totp CODE --out FILE [--password-file FILE]: the operator's access
 * token into FILE (mode 0600), for later commands' --token-file. */
int cmd_login(int argc, char **argv)
{
    const char *usage = "usage: parlayctl login EMAIL --totp CODE --out FILE [--password-file FILE]";
    static const char *const names[] = {"--totp", "--out", "--password-file", NULL};
    const char *v[3] = {NULL, NULL, NULL}, *code, *file, *pwfile;
    if (argc < 2)
        die(EXIT_USAGE, "%s", usage);
    opt_pairs(argc, argv, 2, usage, names, v);
    code = v[0], file = v[1], pwfile = v[2];
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

int cmd_tokens(int argc, char **argv)
{
    const char *usage = "usage: parlayctl tokens list\n"
                        "       parlayctl tokens create NAME --scopes S1,S2 --expires-in SECONDS\n"
                        "       parlayctl tokens revoke ID";
    char key[200], path[256];
    json_t *out = NULL;
    if (argc == 2 && !strcmp(argv[1], "list")) {
        out = call("GET", "/admin/v1/tokens", NULL, NULL);
        if (human(out))
            list_rows(out, token_row);
    } else if (argc == 7 && !strcmp(argv[1], "create") && !strcmp(argv[3], "--scopes") &&
               !strcmp(argv[5], "--expires-in")) {
        fresh_key("token", key, sizeof key);
        out = call("POST", "/admin/v1/tokens",
                   json_pack("{s:s, s:o, s:I}", "name", argv[2], "scopes", scope_list(argv[4]),
                             "expires_in_s", (json_int_t)atoll(argv[6])),
                   key);
        if (human(out))
            printf("token %s (shown once, keep it secret):\n%s\n",
                   json_string_value(json_object_get(out, "id")),
                   json_string_value(json_object_get(out, "token")));
    } else if (argc == 3 && !strcmp(argv[1], "revoke")) {
        snprintf(key, sizeof key, "token-revoke-%.150s", argv[2]);
        snprintf(path, sizeof path, "/admin/v1/tokens/%.200s", argv[2]);
        out = call("DELETE", path, NULL, key);
        if (human(out))
            printf("token %s revoked\n", argv[2]);
    } else {
        die(EXIT_USAGE, "%s", usage);
    }
    return done(out, EXIT_OK);
}

/* parlayctl audit-log [--since N] [--limit N]: the cluster's audit trail of admin actions. */
int cmd_audit_log(int argc, char **argv)
{
    static const char *const names[] = {"--since", "--limit", NULL};
    const char *v[2] = {"1", "100"};
    opt_pairs(argc, argv, 1, "usage: parlayctl audit-log [--since N] [--limit N]", names, v);
    long long since = atoll(v[0]), limit = atoll(v[1]);
    char path[128];
    snprintf(path, sizeof path, "/admin/v1/audit?since=%lld&limit=%lld", since, limit);
    json_t *out = call("GET", path, NULL, NULL);
    if (human(out)) {
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
    return done(out, EXIT_OK);
}

/* Accounts cluster: the ledger's check and TRJ, a player's wallet, operators' corrections and
 * blocks, the sport clusters allowed to place holds. */
int cmd_ledger(int argc, char **argv)
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
        if (human(out)) {
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
        return done(out, ok ? EXIT_OK : EXIT_REFUSED);
    }
    if (!strcmp(argv[1], "trj") && argc <= 3) {
        char path[128] = "/admin/v1/ledger/trj";
        if (argc == 3)
            snprintf(path, sizeof path, "/admin/v1/ledger/trj?year=%d", atoi(argv[2]));
        json_t *out = call("GET", path, NULL, NULL);
        if (human(out))
            printf("TRJ %lld: stakes %lld cents, payouts %lld cents, ratio %.4f (cap %.2f)%s\n",
                   i_of(out, "year"), i_of(out, "stakes"), i_of(out, "payouts"),
                   json_real_value(json_object_get(out, "trj")),
                   json_real_value(json_object_get(out, "cap")),
                   json_is_true(json_object_get(out, "over_cap")) ? "  OVER THE CAP" : "");
        return done(out, EXIT_OK);
    }
    if (!strcmp(argv[1], "correct") && argc >= 10) {
        static const char *const names[] = {"--corrects", "--reason", "--key", NULL};
        const char *v[3] = {NULL, NULL, NULL}, *corrects, *reason;
        opt_pairs(argc, argv, 6, usage, names, v);
        corrects = v[0], reason = v[1];
        char key[128] = "";
        if (v[2])
            snprintf(key, sizeof key, "%s", v[2]);
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
        return done(out, EXIT_OK);
    }
    die(EXIT_USAGE, "%s", usage);
}

/* Accounts cluster: secrets at rest (node/routes_secrets.c). "reseal" calls until nothing
 * sealed under an older key (or clear) remains. */
int cmd_secrets(int argc, char **argv)
{
    const char *usage = "usage: parlayctl secrets status|reseal";
    if (argc == 2 && !strcmp(argv[1], "status")) {
        json_t *out = call("GET", "/admin/v1/secrets", NULL, NULL);
        if (human(out)) {
            printf("current key %s; %lld secrets stored, %lld clear, %lld unreadable\n",
                   s_of(out, "current_key"), i_of(out, "total"), i_of(out, "clear"),
                   i_of(out, "unreadable"));
            const char *k;
            json_t *v;
            json_object_foreach(json_object_get(out, "sealed_by_key"), k, v)
                printf("  sealed under %s: %lld\n", k, (long long)json_integer_value(v));
        }
        return done(out, i_of(out, "unreadable") == 0 ? EXIT_OK : EXIT_REFUSED);
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

int cmd_wallet(int argc, char **argv)
{
    const char *usage = "usage: parlayctl wallet get PLAYER_ID\n"
                        "       parlayctl wallet block|unblock PLAYER_ID --reason TEXT\n"
                        "       parlayctl wallet clusters\n"
                        "       parlayctl wallet register-cluster NAME PUBLIC_KEY...";
    char path[256], key[128];
    if (argc == 3 && !strcmp(argv[1], "get")) {
        id_path(path, sizeof path, "/admin/v1/wallets/%s", argv[2]);
        json_t *out = call("GET", path, NULL, NULL);
        if (human(out)) {
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
        return done(out, EXIT_OK);
    }
    if (argc == 5 && (!strcmp(argv[1], "block") || !strcmp(argv[1], "unblock")) &&
        !strcmp(argv[3], "--reason")) {
        id_path(path, sizeof path, "/admin/v1/wallets/%s/block", argv[2]);
        gen_key(key, sizeof key);
        json_t *out = call("POST", path,
                           json_pack("{s:b, s:s}", "blocked", !strcmp(argv[1], "block"), "reason",
                                     argv[4]),
                           key);
        print_json(out);
        return done(out, EXIT_OK);
    }
    if (argc == 2 && !strcmp(argv[1], "clusters")) {
        json_t *out = call("GET", "/admin/v1/sport-clusters", NULL, NULL);
        print_json(out);
        return done(out, EXIT_OK);
    }
    if (argc >= 4 && !strcmp(argv[1], "register-cluster")) {
        json_t *keys = json_array();
        for (int i = 3; i < argc; i++)
            json_array_append_new(keys, json_string(argv[i]));
        gen_key(key, sizeof key);
        json_t *out = call("POST", "/admin/v1/sport-clusters",
                           json_pack("{s:s, s:o}", "name", argv[2], "keys", keys), key);
        if (human(out))
            printf("sport cluster %s registered with %zu member key(s)\n", s_of(out, "name"),
                   json_array_size(json_object_get(out, "keys")));
        return done(out, EXIT_OK);
    }
    die(EXIT_USAGE, "%s", usage);
}

/* Accounts cluster: see a player, record an operator's KYC decision. */
int cmd_players(int argc, char **argv)
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
        if (human(out))
            printf("%lld players\n", i_of(out, "count"));
        return done(out, EXIT_OK);
    }
    if (!strcmp(sub, "get") && argc == 3) {
        bool email = strchr(argv[2], '@') != NULL;
        id_path(path, sizeof path, email ? "/admin/v1/players?email=%s" : "/admin/v1/players/%s",
                argv[2]);
        json_t *out = call("GET", path, NULL, NULL);
        json_t *p = email ? json_array_get(json_object_get(out, "items"), 0) : out;
        if (!p) {
            json_decref(out);
            die(EXIT_REFUSED, "no player with the email %s", argv[2]);
        }
        print_json(p);
        return done(out, EXIT_OK);
    }
    if (!strcmp(sub, "kyc") && argc >= 6) {
        static const char *const names[] = {"--reason", "--key", NULL};
        const char *v[2] = {NULL, NULL}, *reason;
        opt_pairs(argc, argv, 4, usage, names, v);
        reason = v[0];
        char key[128] = "";
        if (v[1])
            snprintf(key, sizeof key, "%s", v[1]);
        if (!reason)
            die(EXIT_USAGE, "%s", usage);
        if (!key[0])
            gen_key(key, sizeof key);
        id_path(path, sizeof path, "/admin/v1/players/%s/kyc", argv[2]);
        json_t *out = call("POST", path, json_pack("{s:s, s:s}", "status", argv[3], "reason",
                                                   reason),
                           key);
        if (human(out))
            printf("%s is now %s (reason kept: %s)\n", s_of(out, "player_id"),
                   s_of(out, "kyc_status"), s_of(out, "reason"));
        return done(out, EXIT_OK);
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

