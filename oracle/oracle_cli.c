/* `parlayctl oracle ...`: the operator's view of the oracle contract.
 *
 *   deploy   --signers A,B,C --threshold K      deploy MatchOracle, print its address
 *   signers  [--set A,B,C --threshold K]       show (or replace) the signer set
 *   submit   --match ID (--score H-A | --void) --sig FILE...
 *                                              send a result signed by the nodes
 *   sign     --node-key FILE --match ID (--score H-A | --void)
 *                                              a node's signature over a result (hex)
 *   result   MATCH                             read a match's result from the contract
 *   status                                     journal: pending and confirmed transactions
 *   address  --key FILE                        the address of a key file
 *   keygen   FILE                              write a fresh key file (mode 0600)
 *
 * Common options (also from --config FILE, a JSON object with the same names without dashes
 * and '-' spelled '_'): --rpc URL, --api-key-file FILE, --key FILE (the sender key, separate
 * from node keys), --contract ADDR, --journal FILE, --chain-id N, --confirmations N,
 * --timeout SECONDS, --finality safe|finalized, --no-wait, --legacy, --artefacts DIR.
 *
 * Every failure prints one line naming what failed and why (node down, revert reason,
 * insufficient funds) and exits 1; a usage error exits 2. Keys are never printed. */
#include "oracle/oracle.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cli
{
    const char *rpc, *api_key_file, *key, *contract, *journal, *artefacts, *node_key, *finality;
    const char *signers, *set, *score, *match;
    const char* sigs[64];
    size_t nsigs;
    unsigned threshold, confirmations;
    uint64_t chain_id;
    long timeout_s;
    int is_void, no_wait, legacy;
    const char* pos[4];
    size_t npos;
    json_t* config; /* keeps the config file's strings alive */
    char api_key[256];
} cli;

static void print_usage(FILE* f)
{
    fprintf(f,
            "usage: parlayctl oracle <command> [options]\n"
            "  deploy   --signers A,B,C --threshold K\n"
            "  signers  [--set A,B,C --threshold K]\n"
            "  submit   --match ID (--score H-A | --void) --sig FILE [--sig FILE ...]\n"
            "  sign     --node-key FILE --match ID (--score H-A | --void)\n"
            "  result   MATCH\n"
            "  status\n"
            "  address  --key FILE\n"
            "  keygen   FILE\n"
            "options: --config FILE --rpc URL --api-key-file FILE --key FILE --contract ADDR\n"
            "         --journal FILE --chain-id N --confirmations N --timeout SECONDS\n"
            "         --finality safe|finalized --no-wait --legacy --artefacts DIR\n"
            "  help, --help (with any command): this text\n");
}

static int usage(const char* why)
{
    if (why)
        fprintf(stderr, "parlayctl oracle: %s\n", why);
    print_usage(stderr);
    return 2;
}

void oracle_cli_usage(FILE* f)
{
    print_usage(f);
}

static int fail(int rc, const eth_error* err, const char* what)
{
    const char* msg = err && err->message[0] ? err->message : "";
    if (rc == ETH_EREVERT && err && err->reason[0])
        fprintf(stderr, "error: %s: contract reverted: %s\n", what, err->reason);
    else if (msg[0])
        fprintf(stderr, "error: %s: %s: %s\n", what, eth_strerror(rc), msg);
    else
        fprintf(stderr, "error: %s: %s\n", what, eth_strerror(rc));
    return 1;
}

static int parse_u64(const char* s, uint64_t* out)
{
    char* end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

static const char* cfg_str(cli* c, const char* name)
{
    return json_string_value(json_object_get(c->config, name));
}

static int load_config(cli* c, const char* path)
{
    json_error_t je;
    c->config = json_load_file(path, 0, &je);
    if (!json_is_object(c->config)) {
        fprintf(stderr, "error: config %s: %s (line %d)\n", path, je.text, je.line);
        return -1;
    }
#define TAKE(field, name) \
    if (!c->field)        \
        c->field = cfg_str(c, name);
    TAKE(rpc, "rpc")
    TAKE(api_key_file, "api_key_file")
    TAKE(key, "key")
    TAKE(contract, "contract")
    TAKE(journal, "journal")
    TAKE(artefacts, "artefacts")
    TAKE(finality, "finality")
#undef TAKE
    json_t* v;
    if (!c->chain_id && json_is_integer(v = json_object_get(c->config, "chain_id")))
        c->chain_id = (uint64_t)json_integer_value(v);
    if (!c->confirmations && json_is_integer(v = json_object_get(c->config, "confirmations")))
        c->confirmations = (unsigned)json_integer_value(v);
    const char* inline_key = cfg_str(c, "api_key");
    if (inline_key && !c->api_key_file)
        snprintf(c->api_key, sizeof c->api_key, "%s", inline_key);
    return 0;
}

static int parse_args(cli* c, int argc, char** argv)
{
    const char* config = NULL;
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        if (a[0] != '-' || a[1] != '-') {
            if (c->npos == sizeof c->pos / sizeof *c->pos)
                return usage("too many arguments");
            c->pos[c->npos++] = a;
            continue;
        }
        if (!strcmp(a, "--void")) {
            c->is_void = 1;
            continue;
        }
        if (!strcmp(a, "--no-wait")) {
            c->no_wait = 1;
            continue;
        }
        if (!strcmp(a, "--legacy")) {
            c->legacy = 1;
            continue;
        }
        if (!strcmp(a, "--help"))
            return usage(NULL);
        if (i + 1 >= argc) {
            fprintf(stderr, "parlayctl oracle: %s needs a value\n", a);
            return 2;
        }
        const char* v = argv[++i];
        uint64_t n;
        if (!strcmp(a, "--config"))
            config = v;
        else if (!strcmp(a, "--rpc"))
            c->rpc = v;
        else if (!strcmp(a, "--api-key-file"))
            c->api_key_file = v;
        else if (!strcmp(a, "--key"))
            c->key = v;
        else if (!strcmp(a, "--node-key"))
            c->node_key = v;
        else if (!strcmp(a, "--contract"))
            c->contract = v;
        else if (!strcmp(a, "--journal"))
            c->journal = v;
        else if (!strcmp(a, "--artefacts"))
            c->artefacts = v;
        else if (!strcmp(a, "--finality") && (!strcmp(v, "safe") || !strcmp(v, "finalized")))
            c->finality = v;
        else if (!strcmp(a, "--signers"))
            c->signers = v;
        else if (!strcmp(a, "--set"))
            c->set = v;
        else if (!strcmp(a, "--score"))
            c->score = v;
        else if (!strcmp(a, "--match"))
            c->match = v;
        else if (!strcmp(a, "--sig")) {
            if (c->nsigs == sizeof c->sigs / sizeof *c->sigs)
                return usage("too many --sig");
            c->sigs[c->nsigs++] = v;
        } else if (!strcmp(a, "--threshold") && parse_u64(v, &n) == 0 && n > 0 && n < 256)
            c->threshold = (unsigned)n;
        else if (!strcmp(a, "--chain-id") && parse_u64(v, &n) == 0)
            c->chain_id = n;
        else if (!strcmp(a, "--confirmations") && parse_u64(v, &n) == 0 && n < 10000)
            c->confirmations = (unsigned)n;
        else if (!strcmp(a, "--timeout") && parse_u64(v, &n) == 0 && n < 86400)
            c->timeout_s = (long)n;
        else {
            fprintf(stderr, "parlayctl oracle: bad option %s %s\n", a, v);
            return 2;
        }
    }
    if (config && load_config(c, config) != 0)
        return 1;
    if (!c->rpc)
        c->rpc = "http://127.0.0.1:8545";
    if (!c->journal)
        c->journal = "oracle-journal.jsonl";
    if (!c->timeout_s)
        c->timeout_s = 120;
    if (c->api_key_file) {
        FILE* f = fopen(c->api_key_file, "r");
        if (!f || !fgets(c->api_key, sizeof c->api_key, f)) {
            fprintf(stderr, "error: cannot read API key file %s\n", c->api_key_file);
            if (f)
                fclose(f);
            return 1;
        }
        fclose(f);
        c->api_key[strcspn(c->api_key, "\r\n \t")] = 0;
    }
    return 0;
}

/* "A,B,C" -> addresses */
static int parse_addresses(const char* list, uint8_t (*out)[20], size_t max, size_t* n)
{
    char *copy = strdup(list), *save = NULL;
    *n = 0;
    int rc = copy ? 0 : -1;
    for (char* t = copy ? strtok_r(copy, ",", &save) : NULL; t && rc == 0;
         t = strtok_r(NULL, ",", &save)) {
        if (*n == max || eth_address_parse(t, out[*n]) != ETH_OK) {
            fprintf(stderr, "error: not an address: %s\n", t);
            rc = -1;
        } else {
            (*n)++;
        }
    }
    free(copy);
    return rc == 0 && *n ? 0 : -1;
}

static int parse_outcome(const cli* c, oracle_result* r)
{
    memset(r, 0, sizeof *r);
    if (!c->match || parse_u64(c->match, &r->match_id) != 0)
        return usage("--match ID is required");
    if (c->is_void == !!c->score)
        return usage("give exactly one of --score H-A and --void");
    if (c->is_void) {
        r->status = ORACLE_STATUS_VOID;
        return 0;
    }
    unsigned h, a;
    char extra;
    if (sscanf(c->score, "%u-%u%c", &h, &a, &extra) != 2 || h > 65535 || a > 65535)
        return usage("--score must look like 2-1");
    r->status = ORACLE_STATUS_FINAL;
    r->home = (uint16_t)h;
    r->away = (uint16_t)a;
    return 0;
}

static eth_rpc* open_rpc(const cli* c)
{
    eth_rpc_config cfg = {.url = c->rpc, .api_key = c->api_key[0] ? c->api_key : NULL};
    eth_rpc* rpc = eth_rpc_new(&cfg);
    if (!rpc)
        fprintf(stderr, "error: bad RPC URL\n");
    return rpc;
}

static int need_contract(const cli* c, uint8_t addr[20])
{
    if (!c->contract || eth_address_parse(c->contract, addr) != ETH_OK) {
        fprintf(stderr, "error: --contract ADDR is required (0x followed by 40 hex digits)\n");
        return -1;
    }
    return 0;
}

/* What a command that sends needs: sender key, journal, manager. */
typedef struct sender
{
    eth_rpc* rpc;
    eth_key key;
    oracle_journal journal;
    oracle_txm* txm;
    oracle_artefact art;
} sender;

static int open_sender(const cli* c, sender* s)
{
    memset(s, 0, sizeof *s);
    eth_error err = {0};
    if (!c->key) {
        fprintf(stderr, "error: --key FILE (the sender key) is required\n");
        return -1;
    }
    int rc = eth_key_load_file(&s->key, c->key, &err);
    if (rc != ETH_OK)
        return fail(rc, &err, "sender key"), -1;
    if (oracle_artefact_load(&s->art, c->artefacts, &err) != ETH_OK)
        s->art.abi_json = NULL; /* only needed to name revert reasons and to deploy */
    rc = oracle_journal_file_open(&s->journal, c->journal, &err);
    if (rc != ETH_OK)
        return fail(rc, &err, "journal"), -1;
    s->rpc = open_rpc(c);
    oracle_txm_config cfg = {.chain_id = c->chain_id,
                             .confirmations = c->confirmations,
                             .finality_tag = c->finality,
                             .force_legacy = c->legacy,
                             .abi_json = s->art.abi_json};
    s->txm = s->rpc ? oracle_txm_new(s->rpc, &s->key, &s->journal, &cfg) : NULL;
    if (!s->txm) {
        fprintf(stderr, "error: cannot start the transaction manager\n");
        return -1;
    }
    return 0;
}

static void close_sender(sender* s)
{
    oracle_txm_free(s->txm);
    if (s->journal.ctx)
        oracle_journal_close(&s->journal);
    eth_rpc_free(s->rpc);
    oracle_artefact_free(&s->art);
    eth_key_wipe(&s->key);
}

static void print_record(const oracle_tx_record* r)
{
    static const char* kinds[] = {"other", "deploy", "submit", "signers"};
    char h[67] = "-";
    if (r->nattempts)
        eth_hex_write(r->attempts[r->mined_attempt >= 0 ? r->mined_attempt : (int)r->nattempts - 1],
                      32, h);
    printf("tx %" PRIu64 " %-7s", r->id, r->kind >= 0 && r->kind <= 3 ? kinds[r->kind] : "?");
    if (r->kind == ORACLE_KIND_SUBMIT)
        printf(" match=%" PRIu64, r->match_id);
    printf(" state=%s nonce=%" PRIu64 " attempts=%zu hash=%s", oracle_tx_state_name(r->state),
           r->nonce, r->nattempts, h);
    if (r->state >= ORACLE_TX_MINED && r->state != ORACLE_TX_SUPERSEDED)
        printf(" block=%" PRIu64 " gas=%" PRIu64, r->block_number, r->gas_used);
    if (r->last_error[0])
        printf(" last_error=\"%s\"", r->last_error);
    printf("\n");
}

static int finish(const cli* c, sender* s, uint64_t id, const char* what)
{
    eth_error err = {0};
    oracle_tx_record r;
    if (oracle_txm_get(s->txm, id, &r) == ETH_OK) {
        print_record(&r);
        oracle_tx_record_free(&r);
    }
    if (c->no_wait)
        return 0;
    int rc = oracle_txm_wait(s->txm, id, c->timeout_s * 1000, 1000, &err);
    if (oracle_txm_get(s->txm, id, &r) == ETH_OK) {
        print_record(&r);
        oracle_tx_record_free(&r);
    }
    return rc == ETH_OK ? 0 : fail(rc, &err, what);
}

static int cmd_deploy(const cli* c)
{
    uint8_t signers[64][20];
    size_t n;
    if (!c->signers || parse_addresses(c->signers, signers, 64, &n) != 0 || !c->threshold)
        return usage("deploy needs --signers A,B,C and --threshold K");
    sender s;
    if (open_sender(c, &s) != 0) {
        close_sender(&s);
        return 1;
    }
    eth_error err = {0};
    int ret;
    if (!s.art.bytecode.len) {
        ret = fail(oracle_artefact_load(&s.art, c->artefacts, &err), &err, "contract artefacts");
    } else {
        uint64_t id = 0;
        uint8_t addr[20];
        int rc = oracle_deploy(s.txm, &s.art, (const uint8_t(*)[20])signers, n, c->threshold, &id,
                               addr, &err);
        if (rc != ETH_OK && !id) {
            ret = fail(rc, &err, "deploy");
        } else {
            char a[43];
            eth_address_checksum(addr, a);
            printf("contract %s\n", a);
            ret = rc != ETH_OK ? fail(rc, &err, "deploy (kept in the journal)")
                               : finish(c, &s, id, "deploy");
        }
    }
    close_sender(&s);
    return ret;
}

static int cmd_signers(const cli* c)
{
    uint8_t contract[20];
    if (need_contract(c, contract) != 0)
        return 1;
    eth_error err = {0};
    if (c->set) {
        uint8_t signers[64][20];
        size_t n;
        if (parse_addresses(c->set, signers, 64, &n) != 0 || !c->threshold)
            return usage("signers --set needs A,B,C and --threshold K");
        sender s;
        int ret = 1;
        if (open_sender(c, &s) == 0) {
            uint64_t id = 0;
            int rc = oracle_set_signers(s.txm, contract, (const uint8_t(*)[20])signers, n,
                                        c->threshold, &id, &err);
            ret =
                rc == ETH_OK ? finish(c, &s, id, "signers --set") : fail(rc, &err, "signers --set");
        }
        close_sender(&s);
        return ret;
    }
    eth_rpc* rpc = open_rpc(c);
    if (!rpc)
        return 1;
    uint8_t(*signers)[20] = NULL;
    size_t n;
    unsigned threshold;
    int rc = oracle_read_signers(rpc, contract, &signers, &n, &threshold, &err);
    eth_rpc_free(rpc);
    if (rc != ETH_OK)
        return fail(rc, &err, "signers");
    printf("threshold %u of %zu\n", threshold, n);
    for (size_t i = 0; i < n; i++) {
        char a[43];
        eth_address_checksum(signers[i], a);
        printf("signer %zu %s\n", i + 1, a);
    }
    free(signers);
    return 0;
}

static int read_sig_file(const char* path, uint8_t sig[65])
{
    FILE* f = fopen(path, "r");
    char text[200] = "";
    if (!f || !fgets(text, sizeof text, f)) {
        fprintf(stderr, "error: cannot read signature file %s\n", path);
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    text[strcspn(text, "\r\n \t")] = 0;
    if (eth_hex_decode(text, sig, 65) != ETH_OK) {
        fprintf(stderr, "error: %s: expected a 65-byte signature in hex (r || s || v)\n", path);
        return -1;
    }
    return 0;
}

static int cmd_submit(const cli* c)
{
    oracle_result r;
    uint8_t contract[20];
    int u = parse_outcome(c, &r);
    if (u)
        return u;
    if (!c->nsigs)
        return usage("submit needs --sig FILE for each node signature");
    if (need_contract(c, contract) != 0)
        return 1;
    uint8_t sigs[64][65];
    for (size_t i = 0; i < c->nsigs; i++)
        if (read_sig_file(c->sigs[i], sigs[i]) != 0)
            return 1;
    sender s;
    int ret = 1;
    if (open_sender(c, &s) == 0) {
        eth_error err = {0};
        uint64_t id = 0;
        int rc = oracle_submit_result(s.txm, contract, &r, (const uint8_t(*)[65])sigs, c->nsigs,
                                      &id, &err);
        if (rc == ETH_EALREADY) {
            printf("already reported: %s\n", err.message);
            ret = 0;
        } else if (rc != ETH_OK && id) {
            ret = fail(rc, &err, "submit (the transaction stays in the journal)");
        } else {
            ret = rc == ETH_OK ? finish(c, &s, id, "submit") : fail(rc, &err, "submit");
        }
    }
    close_sender(&s);
    return ret;
}

static int cmd_sign(const cli* c)
{
    oracle_result r;
    uint8_t contract[20];
    int u = parse_outcome(c, &r);
    if (u)
        return u;
    if (!c->node_key)
        return usage("sign needs --node-key FILE");
    if (need_contract(c, contract) != 0)
        return 1;
    uint64_t chain = c->chain_id;
    eth_error err = {0};
    if (!chain) {
        eth_rpc* rpc = open_rpc(c);
        int rc = rpc ? eth_rpc_chain_id(rpc, &chain, &err) : ETH_ENOMEM;
        eth_rpc_free(rpc);
        if (rc != ETH_OK)
            return fail(rc, &err, "sign (chain id; or give --chain-id)");
    }
    eth_key k;
    int rc = eth_key_load_file(&k, c->node_key, &err);
    if (rc != ETH_OK)
        return fail(rc, &err, "node key");
    uint8_t sig[65];
    rc = oracle_sign_result(&k, chain, contract, &r, sig);
    eth_key_wipe(&k);
    if (rc != ETH_OK)
        return fail(rc, NULL, "sign");
    char hex[133];
    eth_hex_write(sig, 65, hex);
    printf("%s\n", hex);
    return 0;
}

static int cmd_result(const cli* c)
{
    uint8_t contract[20];
    uint64_t match;
    if (c->npos < 2 || parse_u64(c->pos[1], &match) != 0)
        return usage("result needs a MATCH id");
    if (need_contract(c, contract) != 0)
        return 1;
    eth_rpc* rpc = open_rpc(c);
    if (!rpc)
        return 1;
    eth_error err = {0};
    oracle_result r;
    int present = 0;
    int rc = oracle_read_result(rpc, contract, match, &r, &present, &err);
    eth_rpc_free(rpc);
    if (rc != ETH_OK)
        return fail(rc, &err, "result");
    if (!present)
        printf("match %" PRIu64 ": no result\n", match);
    else if (r.status == ORACLE_STATUS_VOID)
        printf("match %" PRIu64 ": void\n", match);
    else
        printf("match %" PRIu64 ": %u-%u\n", match, r.home, r.away);
    return 0;
}

static int cmd_status(const cli* c)
{
    eth_error err = {0};
    if (c->key) {
        /* With the sender key we can also move things along: one round of follow-up. */
        sender s;
        int ret = 0;
        if (open_sender(c, &s) == 0) {
            int rc = oracle_txm_poll(s.txm, &err);
            if (rc != ETH_OK)
                fprintf(stderr, "warning: could not follow up: %s: %s\n", eth_strerror(rc),
                        err.message);
        } else {
            ret = 1;
        }
        close_sender(&s);
        if (ret)
            return ret;
    }
    oracle_journal j;
    int rc = oracle_journal_file_open(&j, c->journal, &err);
    if (rc != ETH_OK)
        return fail(rc, &err, "journal");
    oracle_tx_record* recs;
    size_t n;
    rc = j.list(j.ctx, &recs, &n);
    oracle_journal_close(&j);
    if (rc != ETH_OK)
        return fail(rc, NULL, "journal");
    size_t open = 0;
    for (size_t i = 0; i < n; i++) {
        print_record(&recs[i]);
        open += recs[i].state <= ORACLE_TX_MINED;
    }
    printf("%zu transaction(s), %zu pending\n", n, open);
    oracle_tx_records_free(recs, n);
    return 0;
}

static int cmd_address(const cli* c)
{
    const char* path = c->key ? c->key : c->node_key;
    if (!path)
        return usage("address needs --key FILE");
    eth_key k;
    eth_error err = {0};
    int rc = eth_key_load_file(&k, path, &err);
    if (rc != ETH_OK)
        return fail(rc, &err, "key");
    char a[43];
    eth_address_checksum(k.address, a);
    eth_key_wipe(&k);
    printf("%s\n", a);
    return 0;
}

static int cmd_keygen(const cli* c)
{
    if (c->npos < 2)
        return usage("keygen needs a FILE");
    eth_key k;
    if (eth_key_generate_file(&k, c->pos[1]) != ETH_OK) {
        fprintf(stderr, "error: cannot create %s (it must not exist yet): %s\n", c->pos[1],
                strerror(errno));
        return 1;
    }
    char a[43];
    eth_address_checksum(k.address, a);
    eth_key_wipe(&k);
    printf("%s\n", a);
    return 0;
}

int oracle_cli_main(int argc, char** argv)
{
    cli c;
    memset(&c, 0, sizeof c);
    /* Help is an answer, not an error: exit 0 (also for `oracle COMMAND --help`). */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ||
            (i == 1 && !strcmp(argv[i], "help"))) {
            print_usage(stdout);
            return 0;
        }
    int rc = parse_args(&c, argc, argv);
    if (rc != 0) {
        json_decref(c.config);
        return rc;
    }
    const char* cmd = c.npos ? c.pos[0] : NULL;
    if (!cmd)
        rc = usage("missing command");
    else if (!strcmp(cmd, "deploy"))
        rc = cmd_deploy(&c);
    else if (!strcmp(cmd, "signers"))
        rc = cmd_signers(&c);
    else if (!strcmp(cmd, "submit"))
        rc = cmd_submit(&c);
    else if (!strcmp(cmd, "sign"))
        rc = cmd_sign(&c);
    else if (!strcmp(cmd, "result"))
        rc = cmd_result(&c);
    else if (!strcmp(cmd, "status"))
        rc = cmd_status(&c);
    else if (!strcmp(cmd, "address"))
        rc = cmd_address(&c);
    else if (!strcmp(cmd, "keygen"))
        rc = cmd_keygen(&c);
    else
        rc = usage("unknown command");
    memset(c.api_key, 0, sizeof c.api_key);
    json_decref(c.config);
    return rc;
}
