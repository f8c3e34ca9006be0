/* kyc unit tests with known answers: TOTP (RFC 6238 Appendix B), base32 (RFC 4648), birth
 * dates and the 18+ rule (presumed dates, 29 February), name normalisation and the identity
 * key, the password rules, Argon2id, recovery codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kyc/kyc.h"

/* ---- TOTP ---- */

static const int64_t rfc_times[] = {59,         1111111109, 1111111111,
                                    1234567890, 2000000000, 20000000000LL};

static void check_vectors(kyc_totp_alg alg, const char* key, const uint32_t* want)
{
    for (size_t i = 0; i < 6; i++) {
        uint32_t code = 0;
        kyc_err err;
        assert_int_equal(
            kyc_totp_code((const uint8_t*)key, strlen(key), alg, rfc_times[i], 30, 8, &code, &err),
            KYC_OK);
        assert_int_equal(code, want[i]);
    }
}

static void test_totp_rfc6238_vectors(void** state)
{
    (void)state;
    static const uint32_t sha1[] = {94287082, 7081804, 14050471, 89005924, 69279037, 65353130};
    static const uint32_t sha256[] = {46119246, 68084774, 67062674, 91819424, 90698825, 77737706};
    static const uint32_t sha512[] = {90693936, 25091201, 99943326, 93441116, 38618901, 47863826};
    check_vectors(KYC_TOTP_SHA1, "12345678901234567890", sha1);
    check_vectors(KYC_TOTP_SHA256, "12345678901234567890123456789012", sha256);
    check_vectors(KYC_TOTP_SHA512,
                  "1234567890123456789012345678901234567890123456789012345678901234", sha512);
}

static void test_totp_verify_window_and_single_use(void** state)
{
    (void)state;
    const uint8_t* key = (const uint8_t*)"12345678901234567890";
    kyc_err err;
    /* RFC 6238 at T=59 with 6 digits: 287082 (the last six of 94287082). */
    int64_t last = -1;
    assert_int_equal(kyc_totp_verify(key, 20, "287082", 59, 1, &last, &err), KYC_OK);
    assert_int_equal(last, 1);
    /* The same code again: refused as reused, whatever the window. */
    assert_int_equal(kyc_totp_verify(key, 20, "287082", 59, 1, &last, &err), KYC_E_TOTP_REUSED);
    /* One step of drift is accepted with window 1, not with window 0. */
    int64_t l2 = -1;
    assert_int_equal(kyc_totp_verify(key, 20, "287082", 59 + 30, 0, &l2, &err),
                     KYC_E_TOTP_MISMATCH);
    assert_int_equal(kyc_totp_verify(key, 20, "287082", 59 + 30, 1, &l2, &err), KYC_OK);
    /* Format. */
    assert_int_equal(kyc_totp_verify(key, 20, "28708", 59, 1, &l2, &err), KYC_E_TOTP_FORMAT);
    assert_int_equal(kyc_totp_verify(key, 20, "28708a", 59, 1, &l2, &err), KYC_E_TOTP_FORMAT);
    assert_int_equal(kyc_totp_verify(key, 20, "000000", 59, 1, &l2, &err), KYC_E_TOTP_MISMATCH);
}

static void test_base32_rfc4648(void** state)
{
    (void)state;
    static const char* in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char* out[] = {"", "MY", "MZXQ", "MZXW6", "MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI"};
    for (size_t i = 0; i < 7; i++) {
        char b[32];
        uint8_t d[32];
        assert_int_equal(kyc_base32_encode((const uint8_t*)in[i], strlen(in[i]), b, sizeof b),
                         (int)strlen(out[i]));
        assert_string_equal(b, out[i]);
        assert_int_equal(kyc_base32_decode(out[i], d, sizeof d), (int)strlen(in[i]));
        assert_memory_equal(d, in[i], strlen(in[i]));
    }
    uint8_t d[8];
    assert_int_equal(kyc_base32_decode("mzxw 6ytb oi==", d, sizeof d), 6);
    assert_true(kyc_base32_decode("MZ1W", d, sizeof d) < 0);
}

static void test_totp_uri(void** state)
{
    (void)state;
    char* uri = NULL;
    kyc_err err;
    assert_int_equal(kyc_totp_uri((const uint8_t*)"12345678901234567890", 20, "Parlay",
                                  "ana@example.test", &uri, &err),
                     KYC_OK);
    assert_string_equal(uri,
                        "otpauth://totp/Parlay:ana%40example.test?secret="
                        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Parlay&algorithm=SHA1&digits=6"
                        "&period=30");
    free(uri);
    assert_int_equal(kyc_totp_uri((const uint8_t*)"k", 1, "Par:lay", "a", &uri, &err), KYC_E_INVAL);
    uint8_t s1[KYC_TOTP_SECRET_BYTES], s2[KYC_TOTP_SECRET_BYTES];
    assert_int_equal(kyc_totp_secret_new(s1, &err), KYC_OK);
    assert_int_equal(kyc_totp_secret_new(s2, &err), KYC_OK);
    assert_memory_not_equal(s1, s2, sizeof s1);
}

static void test_recovery_codes(void** state)
{
    (void)state;
    char c[KYC_RECOVERY_CHARS + 1], h1[65], h2[65], h3[65];
    kyc_err err;
    assert_int_equal(kyc_recovery_code_new(c, &err), KYC_OK);
    assert_int_equal(strlen(c), 29);
    for (int i = 0; i < 29; i++)
        assert_true((i % 5 == 4) ? c[i] == '-' : ((c[i] >= 'A' && c[i] <= 'Z') || (c[i] >= '2' && c[i] <= '7')));
    /* 120 random bits: two codes differ. */
    char c2[KYC_RECOVERY_CHARS + 1];
    assert_int_equal(kyc_recovery_code_new(c2, &err), KYC_OK);
    assert_string_not_equal(c, c2);
    assert_int_equal(kyc_recovery_hash(c, h1, &err), KYC_OK);
    /* Typed without dashes, in lower case: the same hash. */
    char typed[32];
    size_t n = 0;
    for (const char* p = c; *p; p++)
        if (*p != '-')
            typed[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    typed[n] = '\0';
    assert_int_equal(kyc_recovery_hash(typed, h2, &err), KYC_OK);
    assert_string_equal(h1, h2);
    /* SHA-256("ABCD") */
    assert_int_equal(kyc_recovery_hash("ab-cd", h3, &err), KYC_OK);
    assert_string_equal(h3, "e12e115acf4552b2568b55e93cbd39394c4ef81c82447fafc997882a02d23677");
}

/* ---- birth dates and age ---- */

static int age(const char* bd, int y, int m, int d)
{
    int a = -99;
    kyc_err err;
    int rc = kyc_age_on(bd, y, m, d, &a, &err);
    return rc ? rc * 1000 : a;
}

static void test_birthdate_parse(void** state)
{
    (void)state;
    kyc_birthdate b;
    kyc_err err;
    assert_int_equal(kyc_birthdate_parse("1990-05-17", &b, &err), KYC_OK);
    assert_false(b.presumed);
    assert_int_equal(b.l_month * 100 + b.l_day, 517);
    assert_int_equal(kyc_birthdate_parse("1990-00-00", &b, &err), KYC_OK);
    assert_true(b.presumed);
    assert_int_equal(b.l_year * 10000 + b.l_month * 100 + b.l_day, 19901231);
    assert_int_equal(kyc_birthdate_parse("1990-02-00", &b, &err), KYC_OK);
    assert_int_equal(b.l_month * 100 + b.l_day, 228);
    assert_int_equal(kyc_birthdate_parse("1992-02-00", &b, &err), KYC_OK);
    assert_int_equal(b.l_month * 100 + b.l_day, 229); /* leap year */
    assert_int_equal(kyc_birthdate_parse("2000-02-29", &b, &err), KYC_OK);
    static const char* bad[] = {"1990-00-05", "1990-13-01", "1990-02-30", "1900-02-29",
                                "1990-5-17",  "90-05-17",   "1990/05/17", "1990-05-17x",
                                "",           "1700-01-01", "1990-04-31", "abcd-01-01"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(kyc_birthdate_parse(bad[i], &b, &err), KYC_E_BIRTHDATE);
        assert_int_equal(err.code, KYC_E_BIRTHDATE);
    }
}

static void test_age_rules(void** state)
{
    (void)state;
    assert_int_equal(age("2000-05-17", 2018, 5, 16), 17);
    assert_int_equal(age("2000-05-17", 2018, 5, 17), 18);
    /* Presumed day: the last day of the month. */
    assert_int_equal(age("2000-05-00", 2018, 5, 30), 17);
    assert_int_equal(age("2000-05-00", 2018, 5, 31), 18);
    /* Presumed month and day: 31 December. */
    assert_int_equal(age("2000-00-00", 2018, 12, 30), 17);
    assert_int_equal(age("2000-00-00", 2018, 12, 31), 18);
    assert_int_equal(age("2000-00-00", 2019, 1, 1), 18);
    /* Presumed February of a leap year: the 29th. */
    assert_int_equal(age("2000-02-00", 2018, 2, 28), 17);
    assert_int_equal(age("2000-02-00", 2018, 3, 1), 18);
    /* Born 29 February: 18 on 1 March of a common year, on the 29th in a leap year. */
    assert_int_equal(age("2000-02-29", 2018, 2, 28), 17);
    assert_int_equal(age("2000-02-29", 2018, 3, 1), 18);
    assert_int_equal(age("1998-02-29", 2016, 2, 29), KYC_E_BIRTHDATE * 1000); /* no such day */
    assert_int_equal(age("1996-02-29", 2014, 2, 28), 17);
    assert_int_equal(age("1996-02-29", 2016, 2, 29), 20);
    assert_int_equal(age("2000-05-17", 2018, 2, 30), KYC_E_INVAL * 1000);
}

static void test_check_adult_unix_time(void** state)
{
    (void)state;
    kyc_err err;
    /* 2018-05-17T00:00:00Z = 1526515200. */
    assert_int_equal(kyc_check_adult("2000-05-17", 1526515200, &err), KYC_OK);
    assert_int_equal(kyc_check_adult("2000-05-17", 1526515200 - 1, &err), KYC_E_MINOR);
    assert_non_null(strstr(err.msg, "17"));
    /* 2018-12-31T00:00:00Z = 1546214400: a presumed 2000-00-00 turns 18 then. */
    assert_int_equal(kyc_check_adult("2000-00-00", 1546214400 - 1, &err), KYC_E_MINOR);
    assert_int_equal(kyc_check_adult("2000-00-00", 1546214400, &err), KYC_OK);
    assert_int_equal(kyc_check_adult("2000-13-00", 1546214400, &err), KYC_E_BIRTHDATE);
}

/* ---- names and identity key ---- */

static void norm_is(const char* in, const char* want)
{
    char out[128];
    kyc_err err;
    assert_int_equal(kyc_normalise_name(in, out, sizeof out, &err), KYC_OK);
    assert_string_equal(out, want);
}

static void test_normalise_names(void** state)
{
    (void)state;
    norm_is("Angéla", "ANGELA");
    norm_is("  jean-françois  ", "JEAN FRANCOIS");
    norm_is("D'Œillet", "D OEILLET");
    norm_is(
        "d\xe2\x80\x99"
        "artagnan",
        "D ARTAGNAN"); /* typographic apostrophe */
    norm_is("ÆLIS ÿves  Müller", "AELIS YVES MULLER");
    norm_is("Ñúñez--García", "NUNEZ GARCIA");
    char small[4];
    kyc_err err;
    assert_int_equal(kyc_normalise_name("Dubois", small, sizeof small, &err), KYC_E_IDENTITY);
}

static kyc_identity ident(const char* given,
                          const char* family,
                          const char* bd,
                          const char* place,
                          const char* country)
{
    kyc_identity id;
    memset(&id, 0, sizeof id);
    snprintf(id.given_names, sizeof id.given_names, "%s", given);
    snprintf(id.family_name, sizeof id.family_name, "%s", family);
    snprintf(id.birthdate, sizeof id.birthdate, "%s", bd);
    snprintf(id.birthplace, sizeof id.birthplace, "%s", place);
    snprintf(id.birthcountry, sizeof id.birthcountry, "%s", country);
    return id;
}

static void key_of(const kyc_identity* id, char* out)
{
    kyc_err err;
    assert_int_equal(kyc_identity_key(id, out, &err), KYC_OK);
    assert_int_equal(strlen(out), KYC_IDKEY_CHARS);
}

static void test_identity_key(void** state)
{
    (void)state;
    char a[65], b[65], c[65];
    kyc_identity x = ident("Angela Claire Louise", "DUBOIS", "1962-08-24", "75107", "99100");
    kyc_identity y = ident("angéla", "Dubois ", "1962-08-24", "75107", "99100");
    key_of(&x, a);
    key_of(&y, b);
    assert_string_equal(a, b); /* same person, written differently */
    static const kyc_identity others[] = {
        {.given_names = "Angela",
         .family_name = "DUBOIS",
         .birthdate = "1962-08-25",
         .birthplace = "75107",
         .birthcountry = "99100"},
        {.given_names = "Angela",
         .family_name = "DUBOIS",
         .birthdate = "1962-08-24",
         .birthplace = "75108",
         .birthcountry = "99100"},
        {.given_names = "Angele",
         .family_name = "DUBOIS",
         .birthdate = "1962-08-24",
         .birthplace = "75107",
         .birthcountry = "99100"},
        {.given_names = "Angela",
         .family_name = "DUBOS",
         .birthdate = "1962-08-24",
         .birthplace = "75107",
         .birthcountry = "99100"},
    };
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        key_of(&others[i], c);
        assert_string_not_equal(a, c);
    }
    kyc_identity empty = ident("", "DUBOIS", "1962-08-24", "", "99100");
    kyc_err err;
    assert_int_equal(kyc_identity_key(&empty, c, &err), KYC_E_IDENTITY);
}

/* ---- passwords ---- */

static void test_password_policy(void** state)
{
    (void)state;
    kyc_pwlist* l = NULL;
    kyc_err err;
    assert_int_equal(kyc_pwlist_load("kyc/data/common-passwords.txt", &l, &err), KYC_OK);
    assert_true(kyc_pwlist_size(l) >= 3000);
    /* Comment lines are not entries. */
    assert_false(kyc_pwlist_contains(l, "#!comment:", 10));
#define POL(s) kyc_password_policy(s, strlen(s), l, &err)
    assert_int_equal(POL("1234567"), KYC_E_PW_LENGTH);
    assert_int_equal(POL("password"), KYC_E_PW_BREACHED);
    assert_int_equal(POL("PassWord1"), KYC_E_PW_BREACHED); /* case ignored */
    assert_int_equal(POL("12345678"), KYC_E_PW_BREACHED);
    assert_int_equal(POL("iloveyou"), KYC_E_PW_BREACHED);
    assert_int_equal(POL("correct horse battery staple"), KYC_OK);
    assert_int_equal(POL("ab cd ef"), KYC_OK); /* no composition rules */
    /* 8 characters of two bytes each: 16 bytes, 8 characters. */
    assert_int_equal(POL("éééééééé"), KYC_OK);
    assert_int_equal(POL("ééééééé"), KYC_E_PW_LENGTH);
    char big[200];
    memset(big, 'x', 129);
    big[129] = '\0';
    assert_int_equal(kyc_password_policy(big, 128, l, &err), KYC_OK);
    assert_int_equal(kyc_password_policy(big, 129, l, &err), KYC_E_PW_LENGTH);
    assert_int_equal(kyc_password_policy("abcdefghij", 10, NULL, &err), KYC_OK);
#undef POL
    kyc_pwlist_free(l);
    assert_int_equal(kyc_pwlist_load("kyc/data/no-such-file", &l, &err), KYC_E_IO);
}

static void test_argon2id(void** state)
{
    (void)state;
    char h[KYC_PW_HASH_MAX], h2[KYC_PW_HASH_MAX];
    kyc_err err;
    const char* pw = "correct horse battery staple";
    assert_int_equal(kyc_password_hash(pw, strlen(pw), NULL, h, &err), KYC_OK);
    assert_memory_equal(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31);
    assert_int_equal(kyc_password_verify(h, pw, strlen(pw), &err), KYC_OK);
    assert_int_equal(kyc_password_verify(h, "correct horse battery stapl", 27, &err),
                     KYC_E_PW_MISMATCH);
    /* A fresh salt each time. */
    assert_int_equal(kyc_password_hash(pw, strlen(pw), NULL, h2, &err), KYC_OK);
    assert_string_not_equal(h, h2);
    assert_false(kyc_password_needs_rehash(h, NULL));
    kyc_argon2_params stronger = {.t_cost = 3, .m_cost = 19456, .parallelism = 1};
    assert_true(kyc_password_needs_rehash(h, &stronger));
    assert_true(kyc_password_needs_rehash("$2b$12$abcdefghijklmnopqrstuv", NULL));
    assert_int_equal(kyc_password_verify("$2b$12$abc", pw, strlen(pw), &err), KYC_E_PW_HASH);
    assert_int_equal(
        kyc_password_verify("$argon2id$v=19$m=19456,t=2,p=1$garbage", pw, strlen(pw), &err),
        KYC_E_PW_HASH);
    /* Known answer: the argon2 reference's argon2id test vector (password "password",
     * salt "somesalt", t=2, m=65536, p=1). */
    assert_int_equal(kyc_password_verify("$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ"
                                         "$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
                                         "password", 8, &err),
                     KYC_OK);
}

static void test_errors_named(void** state)
{
    (void)state;
    assert_string_equal(kyc_strerror(KYC_OK), "ok");
    assert_string_equal(kyc_strerror(KYC_E_MINOR), "under 18");
    assert_string_equal(kyc_strerror(KYC_E_JWT_ALG), "jwt algorithm not allowed");
    assert_string_equal(kyc_strerror(12345), "unknown error");
    char t1[KYC_TOKEN_CHARS + 1], t2[KYC_TOKEN_CHARS + 1];
    kyc_err err;
    assert_int_equal(kyc_random_token(t1, &err), KYC_OK);
    assert_int_equal(kyc_random_token(t2, &err), KYC_OK);
    assert_int_equal(strlen(t1), 43);
    assert_string_not_equal(t1, t2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_totp_rfc6238_vectors),
        cmocka_unit_test(test_totp_verify_window_and_single_use),
        cmocka_unit_test(test_base32_rfc4648),
        cmocka_unit_test(test_totp_uri),
        cmocka_unit_test(test_recovery_codes),
        cmocka_unit_test(test_birthdate_parse),
        cmocka_unit_test(test_age_rules),
        cmocka_unit_test(test_check_adult_unix_time),
        cmocka_unit_test(test_normalise_names),
        cmocka_unit_test(test_identity_key),
        cmocka_unit_test(test_password_policy),
        cmocka_unit_test(test_argon2id),
        cmocka_unit_test(test_errors_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
