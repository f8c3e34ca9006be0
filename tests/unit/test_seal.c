/* common/seal.c: secrets sealed at rest. Round trips, every way a sealed value must refuse to
 * open (other context, altered byte, unknown key, truncation), rotation through the keyring
 * and the keyring file's refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/seal.h"

#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "2222222222222222222222222222222222222222222222222222222222222222"

static char dir[] = "/tmp/parlay-seal-XXXXXX";

static const char *write_ring(const char *name, const char *text, mode_t mode)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
    return path;
}

static void load(struct seal_keyring *kr, const char *text)
{
    char err[512];
    int rv = seal_keyring_load(kr, write_ring("ring", text, 0600), err, sizeof err);
    if (rv != 0)
        fail_msg("keyring refused: %s", err);
}

static void round_trip_and_refusals(void **state)
{
    (void)state;
    struct seal_keyring kr;
    load(&kr, "# current first\nk1 " K1 "\n");
    const char *secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    char *s = seal_text(&kr, "totp-secret:p1", secret);
    assert_non_null(s);
    assert_true(seal_is_sealed(s));
    assert_null(strstr(s, secret));
    char id[SEAL_ID_MAX + 1];
    seal_key_id(s, id);
    assert_string_equal(id, "k1");
    char *p = NULL, err[160];
    assert_int_equal(seal_open(&kr, "totp-secret:p1", s, &p, err, sizeof err), 0);
    assert_string_equal(p, secret);
    seal_free(p);
    /* Two seals of the same text differ (fresh nonce). */
    char *s2 = seal_text(&kr, "totp-secret:p1", secret);
    assert_string_not_equal(s, s2);
    free(s2);
    /* Another record's context does not open it. */
    assert_int_equal(seal_open(&kr, "totp-secret:p2", s, &p, err, sizeof err), -1);
    assert_null(p);
    assert_non_null(strstr(err, "does not open"));
    /* Every altered character of the payload is caught. */
    size_t start = strlen("sealed:v1:k1:");
    for (size_t i = start; i < strlen(s) && s[i] != '='; i++) {
        char *t = strdup(s);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        assert_int_equal(seal_open(&kr, "totp-secret:p1", t, &p, err, sizeof err), -1);
        free(t);
    }
    /* Truncated, not sealed, unknown key. */
    char *t = strdup(s);
    t[strlen(t) - 8] = 0;
    assert_int_equal(seal_open(&kr, "totp-secret:p1", t, &p, err, sizeof err), -1);
    free(t);
    assert_int_equal(seal_open(&kr, "x", secret, &p, err, sizeof err), -1);
    assert_string_equal(err, "not sealed text");
    struct seal_keyring other;
    load(&other, "k2 " K2 "\n");
    assert_int_equal(seal_open(&other, "totp-secret:p1", s, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "'k1'"));
    /* A clear value (stored before sealing) is revealed as it is. */
    p = seal_reveal(&kr, "x", "clear", err, sizeof err);
    assert_string_equal(p, "clear");
    seal_free(p);
    /* The empty string seals and opens. */
    char *e = seal_text(&kr, "a", "");
    assert_int_equal(seal_open(&kr, "a", e, &p, err, sizeof err), 0);
    assert_string_equal(p, "");
    seal_free(p);
    free(e);
    free(s);
    /* No keyring: nothing is sealed. */
    struct seal_keyring none = {0};
    assert_null(seal_text(&none, "a", "b"));
}

static void rotation(void **state)
{
    (void)state;
    struct seal_keyring old, both, fresh;
    load(&old, "k1 " K1 "\n");
    char *s = seal_text(&old, "signing-key:abc", "d-scalar");
    load(&both, "k2 " K2 "\nk1 " K1 "\n");
    char err[160];
    char *p = seal_reveal(&both, "signing-key:abc", s, err, sizeof err);
    assert_string_equal(p, "d-scalar");
    char *s2 = seal_text(&both, "signing-key:abc", p);
    seal_free(p);
    char id[SEAL_ID_MAX + 1];
    seal_key_id(s2, id);
    assert_string_equal(id, "k2");
    load(&fresh, "k2 " K2 "\n");
    assert_null(seal_reveal(&fresh, "signing-key:abc", s, err, sizeof err));
    p = seal_reveal(&fresh, "signing-key:abc", s2, err, sizeof err);
    assert_string_equal(p, "d-scalar");
    seal_free(p);
    free(s);
    free(s2);
    seal_keyring_clear(&both);
    assert_int_equal(both.n, 0);
}

static void keyring_file_refusals(void **state)
{
    (void)state;
    struct seal_keyring kr;
    char err[512];
    static const struct {
        const char *text, *want;
        mode_t mode;
    } bad[] = {
        {"k1 " K1 "\n", "chmod 600", 0644},
        {"", "holds no key", 0600},
        {"# only a comment\n\n", "holds no key", 0600},
        {"k1\n", "line 1", 0600},
        {"k1 " K1 " extra\n", "line 1", 0600},
        {"K1 " K1 "\n", "line 1", 0600},
        {"k1 " K1 "\nk2 1234\n", "line 2", 0600},
        {"k1 " K1 "\nk1 " K2 "\n", "listed twice", 0600},
        {"seventeen-chars-x " K1 "\n", "line 1", 0600},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *path = write_ring("bad", bad[i].text, bad[i].mode);
        assert_int_equal(seal_keyring_load(&kr, path, err, sizeof err), -1);
        if (!strstr(err, bad[i].want))
            fail_msg("case %zu: '%s' does not say '%s'", i, err, bad[i].want);
        assert_int_equal(kr.n, 0);
    }
    assert_int_equal(seal_keyring_load(&kr, "/nonexistent/ring", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/ring"));
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_and_refusals),
        cmocka_unit_test(rotation),
        cmocka_unit_test(keyring_file_refusals),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        rv = rv ? rv : 1;
    return rv;
}
