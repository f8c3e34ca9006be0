/* `parlayctl oracle ...` end to end against anvil: the commands an operator runs, and the one
 * line of error each failure must give (node down, revert reason, insufficient funds, key
 * permissions). oracle_cli_main runs in-process; its stdout and stderr go to a file. */
#include "oracle/oracle.h"
#include "oracle/tests/anvil.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static anvil node;
static char out[16384];

/* Runs oracle_cli_main with a space-separated command line; its output lands in `out`. */
static int run(const char* fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char shown[2048];
    snprintf(shown, sizeof shown, "%s", line);
    char* argv[64];
    int argc = 0;
    argv[argc++] = "oracle";
    for (char *save, *t = strtok_r(line, " ", &save); t && argc < 63;
         t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    argv[argc] = NULL;

    char path[160];
    snprintf(path, sizeof path, "%s/cli.out", node.dir);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    int rc = oracle_cli_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    FILE* f = fopen(path, "r");
    size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[n] = 0;
    if (f)
        fclose(f);
    printf("$ parlayctl oracle %s\n%s", shown, out);
    return rc;
}

static void write_file(const char* path, const char* text, mode_t mode)
{
    FILE* f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_operator_walkthrough(void** state)
{
    (void)state;
    assert_int_equal(anvil_start(&node, NULL), 0);
    char d[64], rpc[128], key[128], journal[160], addrs[512] = "", contract[43];
    snprintf(d, sizeof d, "%s", node.dir);
    snprintf(rpc, sizeof rpc, "--rpc %s", node.url);
    snprintf(key, sizeof key, "%s/sender.key", d);
    snprintf(journal, sizeof journal, "%s/journal.jsonl", d);
    write_file(key, ANVIL_KEY0 "\n", 0644);

    /* node keys */
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(run("keygen %s/node%d.key", d, i), 0);
        out[strcspn(out, "\n")] = 0;
        strcat(addrs, i > 1 ? "," : "");
        strcat(addrs, out);
    }
    /* a sender key readable by others is refused */
    assert_int_equal(
        run("deploy %s --key %s --journal %s --signers %s --threshold 2", rpc, key, journal, addrs),
        1);
    assert_non_null(strstr(out, "permissions too open"));
    assert_null(strstr(out, ANVIL_KEY0 + 2));
    chmod(key, 0600);

    assert_int_equal(run("deploy %s --key %s --journal %s --signers %s --threshold 2 "
                         "--confirmations 1",
                         rpc, key, journal, addrs),
                     0);
    char* c = strstr(out, "contract 0x");
    assert_non_null(c);
    memcpy(contract, c + 9, 42);
    contract[42] = 0;
    assert_non_null(strstr(out, "state=confirmed"));

    assert_int_equal(run("signers %s --contract %s", rpc, contract), 0);
    assert_non_null(strstr(out, "threshold 2 of 3"));

    /* two nodes sign; one signature is refused by the contract with its reason */
    for (int i = 1; i <= 2; i++) {
        assert_int_equal(
            run("sign %s --contract %s --node-key %s/node%d.key --match 77 --score 2-2", rpc,
                contract, d, i),
            0);
        char sig[160];
        snprintf(sig, sizeof sig, "%s/sig%d", d, i);
        write_file(sig, out, 0600);
    }
    assert_int_equal(run("submit %s --key %s --journal %s --contract %s --match 77 --score 2-2 "
                         "--sig %s/sig1",
                         rpc, key, journal, contract, d),
                     1);
    assert_non_null(strstr(out, "contract reverted: NotEnoughSignatures(1, 2)"));

    assert_int_equal(run("submit %s --key %s --journal %s --contract %s --match 77 --score 2-2 "
                         "--sig %s/sig1 --sig %s/sig2 --confirmations 1",
                         rpc, key, journal, contract, d, d),
                     0);
    assert_non_null(strstr(out, "state=confirmed"));
    assert_int_equal(run("result 77 %s --contract %s", rpc, contract), 0);
    assert_non_null(strstr(out, "match 77: 2-2"));
    assert_int_equal(run("result 78 %s --contract %s", rpc, contract), 0);
    assert_non_null(strstr(out, "match 78: no result"));

    /* a second submission sends nothing */
    assert_int_equal(run("submit %s --key %s --journal %s --contract %s --match 77 --score 2-2 "
                         "--sig %s/sig1 --sig %s/sig2",
                         rpc, key, journal, contract, d, d),
                     0);
    assert_non_null(strstr(out, "already reported"));

    assert_int_equal(run("status --journal %s", journal), 0);
    assert_non_null(strstr(out, "2 transaction(s), 0 pending"));
    assert_non_null(strstr(out, "submit  match=77 state=confirmed"));

    /* a sender without funds: a clear error, the transaction kept for later */
    char poor[160];
    snprintf(poor, sizeof poor, "%s/poor.key", d);
    assert_int_equal(run("keygen %s", poor), 0);
    char sig3[160];
    snprintf(sig3, sizeof sig3, "%s/sig3", d);
    assert_int_equal(
        run("sign %s --contract %s --node-key %s/node1.key --match 79 --void", rpc, contract, d),
        0);
    char sig1v[160];
    snprintf(sig1v, sizeof sig1v, "%s/sig1v", d);
    write_file(sig1v, out, 0600);
    assert_int_equal(
        run("sign %s --contract %s --node-key %s/node3.key --match 79 --void", rpc, contract, d),
        0);
    write_file(sig3, out, 0600);
    assert_int_equal(run("submit %s --key %s --journal %s/poor.jsonl --contract %s --match 79 "
                         "--void --sig %s --sig %s",
                         rpc, poor, d, contract, sig1v, sig3),
                     1);
    assert_non_null(strstr(out, "insufficient funds"));

    /* the node is down: retries, then one clear line */
    anvil_stop(&node);
    assert_int_equal(run("result 77 %s --contract %s", rpc, contract), 1);
    assert_non_null(strstr(out, "cannot reach Ethereum node at http://127.0.0.1:"));
    assert_int_equal(run("bogus"), 2);
    anvil_cleanup(&node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_operator_walkthrough),
    };
    return cmocka_run_group_tests_name("parlayctl oracle", tests, NULL, NULL);
}
