/* Unit tests for the national gambling-ban list file (node/banlist.c): the format, the name
 * normalisation (case, accents, hyphens, apostrophes, spaces), matching people and emails, the
 * reload when the file changes and the last good list kept when it breaks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/banlist.h"
#include "tests/unit/unit_util.h"

static char path[512];

static void write_file(const char *text)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
}

static int setup(void **state)
{
    char *dir = util_tmpdir();
    snprintf(path, sizeof path, "%s/ban.txt", dir);
    *state = dir;
    return 0;
}

static int teardown(void **state)
{
    util_rmdir(*state);
    return 0;
}

static void normalise(void **state)
{
    (void)state;
    char out[128];
    banlist_normalise_name("  De la  FONTAINE ", out, sizeof out);
    assert_string_equal(out, "de la fontaine");
    banlist_normalise_name("L\xe2\x80\x99H\xc3\x94PITAL-d'\xc3\x89tienne", out, sizeof out);
    assert_string_equal(out, "l hopital d etienne");
    banlist_normalise_name("C\xc5\x92UR Fran\xc3\xa7ois\tJ\xc3\xa9r\xc3\xb4me", out, sizeof out);
    assert_string_equal(out, "coeur francois jerome");
    banlist_normalise_name("", out, sizeof out);
    assert_string_equal(out, "");
}

static void people_and_emails(void **state)
{
    (void)state;
    write_file("# the stand-in\n\n"
               "person: DE LA FONTAINE|Jean Pierre|1970-01-02\n"
               "person: Lef\xc3\xa8vre|Zo\xc3\xa9|1988-07-14\n"
               "  email:  Someone@Example.ORG  \n");
    char err[300];
    struct banlist *b = banlist_open(path, err, sizeof err);
    assert_non_null(b);
    assert_int_equal(banlist_size(b), 3);
    /* As FranceConnect spells it: accents, case, hyphens. */
    assert_true(banlist_person(b, "de La Fontaine", "Jean-Pierre", "1970-01-02"));
    /* The first given name is enough when the other side lists fewer or more of them. */
    assert_true(banlist_person(b, "DE LA FONTAINE", "Jean", "1970-01-02"));
    assert_true(banlist_person(b, "LEFEVRE", "Zoe Marie", "1988-07-14"));
    /* Another birth date, family name or first given name: not the same person. */
    assert_false(banlist_person(b, "DE LA FONTAINE", "Jean Pierre", "1970-01-03"));
    assert_false(banlist_person(b, "FONTAINE", "Jean Pierre", "1970-01-02"));
    assert_false(banlist_person(b, "DE LA FONTAINE", "Pierre", "1970-01-02"));
    assert_false(banlist_person(b, NULL, "Jean", "1970-01-02"));
    assert_true(banlist_email(b, "someone@example.org"));
    assert_true(banlist_email(b, " SOMEONE@example.org"));
    assert_false(banlist_email(b, "someone.else@example.org"));
    assert_false(banlist_email(b, "not an address"));
    /* Unchanged: no reload. Changed: reloaded. */
    assert_int_equal(banlist_refresh(b, err, sizeof err), 0);
    write_file("email: other@example.org\n");
    assert_int_equal(banlist_refresh(b, err, sizeof err), 1);
    assert_int_equal(banlist_reloads(b), 1);
    assert_false(banlist_email(b, "someone@example.org"));
    assert_true(banlist_email(b, "other@example.org"));
    assert_false(banlist_person(b, "DE LA FONTAINE", "Jean", "1970-01-02"));
    /* Broken later: the last good list stays, the failure is counted once per version. */
    write_file("email: other@example.org\nperson: X|Y\n");
    assert_int_equal(banlist_refresh(b, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 2"));
    assert_int_equal(banlist_refresh(b, err, sizeof err), 0);
    assert_int_equal(banlist_reload_failures(b), 1);
    assert_true(banlist_email(b, "other@example.org"));
    /* Gone: one failure, then quiet; back: read again. */
    assert_int_equal(unlink(path), 0);
    assert_true(banlist_stale(b));
    assert_int_equal(banlist_refresh(b, err, sizeof err), -1);
    assert_false(banlist_stale(b));
    assert_int_equal(banlist_refresh(b, err, sizeof err), 0);
    assert_int_equal(banlist_reload_failures(b), 2);
    assert_true(banlist_email(b, "other@example.org"));
    write_file("email: back@example.org\n");
    assert_true(banlist_stale(b));
    /* The worker's way: load elsewhere, adopt on the owner's thread. */
    struct banlist *fresh = banlist_load(banlist_path(b), err, sizeof err);
    assert_true(banlist_ok(fresh));
    banlist_adopt(b, fresh);
    assert_false(banlist_stale(b));
    assert_true(banlist_email(b, "back@example.org"));
    assert_int_equal(banlist_reloads(b), 2);
    banlist_free(b);
}

static void refused(const char *text, const char *needle)
{
    write_file(text);
    char err[300] = "";
    struct banlist *b = banlist_open(path, err, sizeof err);
    if (b || !strstr(err, needle))
        fail_msg("'%s': expected a refusal naming \"%s\", got \"%s\"", text, needle, err);
}

static void bad_files(void **state)
{
    (void)state;
    refused("person: A|B|1990-13-01\n", "not a birth date");
    refused("person: A|B|1990-1-01\n", "line 1");
    refused("# ok\nperson: |B|1990-01-01\n", "line 2");
    refused("person: A|B|C|1990-01-01\n", "three fields");
    refused("email: nobody\n", "not an email address");
    refused("someone@example.org\n", "expected 'person:");
    char err[300];
    assert_null(banlist_open("/nonexistent/ban.txt", err, sizeof err));
    assert_non_null(strstr(err, "cannot read"));
    /* An empty list is a list. */
    write_file("# nobody yet\n");
    struct banlist *b = banlist_open(path, err, sizeof err);
    assert_non_null(b);
    assert_int_equal(banlist_size(b), 0);
    assert_false(banlist_email(b, "someone@example.org"));
    banlist_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalise),
        cmocka_unit_test_setup_teardown(people_and_emails, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
