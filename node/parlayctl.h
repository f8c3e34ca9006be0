/* What parlayctl's files share: the options, the HTTP call to a node and its refusals, the
 * exit codes, a few printers, and the commands each file serves (node/parlayctl.c: the
 * cluster, fixtures, usage and main; node/parlayctl_accounts.c: bets, liability, the audits,
 * operators and tokens, the ledger, secrets, wallets, players; node/parlayctl_sport.c: quotes,
 * events and the oracle). */
#ifndef PARLAY_PARLAYCTL_H
#define PARLAY_PARLAYCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3, EXIT_TIMEOUT = 4 };

struct parlayctl_opt {
    char url[512];
    char token[4096];
    const char *ca_file; /* --ca-file / $PARLAY_CA_FILE: trust this CA for https:// nodes */
    bool json;
    long timeout_s;
};
extern struct parlayctl_opt opt;

/* Print a message and exit with @code. */
void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* One request to the node at opt.url: the HTTP status (0 unreachable) and the JSON answer. */
long request(const char *method, const char *path, json_t *body, const char *idem, json_t **out);
/* Print the node's refusal and exit 1 (3 when unreachable). */
void refused(long status, json_t *body) __attribute__((noreturn));
/* request() that exits on a refusal; @body is stolen. */
json_t *call(const char *method, const char *path, json_t *body, const char *idem);
void print_json(json_t *o);
const char *s_of(json_t *o, const char *k);
long long i_of(json_t *o, const char *k);
/* A fresh Idempotency-Key "ctl-<hex>". */
void gen_key(char *out, size_t n);
/* @fmt (one %s) with @id URL-escaped into @path. */
void id_path(char *path, size_t n, const char *fmt, const char *id);
/* With --json: print @out and return false; else true (the caller prints its own lines). */
bool human(json_t *out);
/* Drop @out and return @code: the end of a command. */
int done(json_t *out, int code);
/* "--name value" pairs from argv[@from] on: @values[i] for @names[i] (NULL-terminated), left
 * as they are when absent; anything else (or a name without its value) exits with @usage. */
void opt_pairs(int argc, char **argv, int from, const char *usage, const char *const *names,
               const char **values);
void sleep_ms(long ms);
double now_s(void);

int cmd_audit(int argc, char **argv);
int cmd_audit_log(int argc, char **argv);
int cmd_bets(int argc, char **argv);
int cmd_certs(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_ledger(int argc, char **argv);
int cmd_liability(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_operators(int argc, char **argv);
int cmd_oracle(int argc, char **argv);
int cmd_players(int argc, char **argv);
int cmd_quotes(int argc, char **argv);
int cmd_secrets(int argc, char **argv);
int cmd_tokens(int argc, char **argv);
int cmd_trader(int argc, char **argv);
int cmd_governor(int argc, char **argv);
int cmd_wallet(int argc, char **argv);

#endif
