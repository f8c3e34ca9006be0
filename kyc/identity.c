/* kyc: identity rules as pure functions: birth dates (with FranceConnect's presumed forms),
 * age on a date, name normalisation and the "same person" key.
 *
 * Presumed dates: civil registers record some people (often born abroad) with an unknown day
 * or month: FranceConnect gives YYYY-MM-00 or YYYY-00-00. The real date can be any day of
 * that month or year, so for the 18+ rule we count from the latest possible one: the last
 * day of the month, or 31 December. A player is never accepted before they can be 18. */
#include "kyc/internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

int kyc_birthdate_parse(const char* s, kyc_birthdate* out, kyc_err* err)
{
    memset(out, 0, sizeof *out);
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return kyc_fail(err, KYC_E_BIRTHDATE, "birth date \"%.16s\" is not YYYY-MM-DD",
                        s ? s : "(null)");
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return kyc_fail(err, KYC_E_BIRTHDATE, "birth date \"%.16s\" has a non-digit", s);
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1850)
        return kyc_fail(err, KYC_E_BIRTHDATE, "birth year %d implausible", y);
    if (m > 12)
        return kyc_fail(err, KYC_E_BIRTHDATE, "birth month %d out of range", m);
    if (m == 0 && d != 0)
        return kyc_fail(err, KYC_E_BIRTHDATE, "day given without a month in \"%s\"", s);
    if (m != 0 && d > days_in(y, m))
        return kyc_fail(err, KYC_E_BIRTHDATE, "day %d does not exist in %04d-%02d", d, y, m);
    out->year = y;
    out->month = m;
    out->day = d;
    out->presumed = m == 0 || d == 0;
    out->l_year = y;
    out->l_month = m ? m : 12;
    out->l_day = d ? d : days_in(y, out->l_month);
    return KYC_OK;
}

int kyc_age_on(const char* birthdate, int y, int m, int d, int* age, kyc_err* err)
{
    kyc_birthdate b;
    int rc = kyc_birthdate_parse(birthdate, &b, err);
    if (rc)
        return rc;
    if (m < 1 || m > 12 || d < 1 || d > days_in(y, m))
        return kyc_fail(err, KYC_E_INVAL, "date %04d-%02d-%02d does not exist", y, m, d);
    /* Comparing (month, day) pairs makes someone born on 29 February a year older on
     * 1 March of a common year, never on 28 February. */
    int a = y - b.l_year;
    if (m < b.l_month || (m == b.l_month && d < b.l_day))
        a--;
    *age = a;
    return KYC_OK;
}

int kyc_check_adult(const char* birthdate, int64_t now, kyc_err* err)
{
    time_t t = (time_t)now;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return kyc_fail(err, KYC_E_INVAL, "time %lld out of range", (long long)now);
    int age;
    int rc = kyc_age_on(birthdate, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, &age, err);
    if (rc)
        return rc;
    if (age < 18)
        return kyc_fail(err, KYC_E_MINOR, "born %s: %d on %04d-%02d-%02d (UTC), 18 required",
                        birthdate, age < 0 ? 0 : age, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return KYC_OK;
}

/* Folds one Latin-1-supplement letter (second byte after 0xC3) to ASCII, NULL if none. */
static const char* fold_c3(unsigned char c)
{
    static const char* const tab[64] = {
        "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I",  "I",
        "D", "N", "O", "O", "O", "O", "O",  " ", "O", "U", "U", "U", "U", "Y", "TH", "SS",
        "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I",  "I",
        "D", "N", "O", "O", "O", "O", "O",  " ", "O", "U", "U", "U", "U", "Y", "TH", "Y"};
    return c >= 0x80 && c <= 0xBF ? tab[c - 0x80] : NULL;
}

int kyc_normalise_name(const char* in, char* out, size_t outsz, kyc_err* err)
{
    if (!in || outsz == 0)
        return kyc_fail(err, KYC_E_INVAL, "normalise: no input or no room");
    size_t o = 0;
    bool space = true; /* drops leading separators and collapses runs */
    const unsigned char* p = (const unsigned char*)in;
    while (*p) {
        char tmp[4] = {0};
        const char* emit = tmp;
        size_t adv = 1;
        if (*p < 0x80) {
            if (*p >= 'a' && *p <= 'z')
                tmp[0] = (char)(*p - 32);
            else if ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
                tmp[0] = (char)*p;
            else /* hyphen, apostrophe, dot, comma, whitespace: a separator */
                tmp[0] = ' ';
        } else if (*p == 0xC3 && p[1]) {
            emit = fold_c3(p[1]);
            adv = 2;
            if (!emit)
                return kyc_fail(err, KYC_E_IDENTITY, "name is not valid UTF-8");
        } else if (*p == 0xC5 && (p[1] == 0x92 || p[1] == 0x93)) {
            emit = "OE"; /* Œ œ */
            adv = 2;
        } else if (*p == 0xC5 && p[1] == 0xB8) {
            emit = "Y"; /* Ÿ */
            adv = 2;
        } else if (*p == 0xE2 && p[1] == 0x80 && (p[2] == 0x99 || p[2] == 0x90 || p[2] == 0x91)) {
            emit = " "; /* typographic apostrophe, hyphens */
            adv = 3;
        } else {
            /* Other scripts are kept byte for byte. */
            tmp[0] = (char)*p;
        }
        for (const char* e = emit; *e; e++) {
            if (*e == ' ') {
                if (space)
                    continue;
                space = true;
            } else {
                space = false;
            }
            if (o + 1 >= outsz)
                return kyc_fail(err, KYC_E_IDENTITY, "normalised name longer than %zu", outsz - 1);
            out[o++] = *e;
        }
        p += adv;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    return KYC_OK;
}

int kyc_identity_key(const kyc_identity* id, char out[KYC_IDKEY_CHARS + 1], kyc_err* err)
{
    char fam[256], given[256];
    int rc;
    if ((rc = kyc_normalise_name(id->family_name, fam, sizeof fam, err)) ||
        (rc = kyc_normalise_name(id->given_names, given, sizeof given, err)))
        return rc;
    char* sp = strchr(given, ' ');
    if (sp)
        *sp = '\0'; /* the first given name: document checks often read only that one */
    if (!fam[0] || !given[0])
        return kyc_fail(err, KYC_E_IDENTITY, "identity key needs a family and a given name");
    kyc_birthdate bd;
    if ((rc = kyc_birthdate_parse(id->birthdate, &bd, err)))
        return rc;
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "parlay-identity-v1\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", fam,
                     given, id->birthdate, id->birthcountry, id->birthplace);
    if (n < 0 || (size_t)n >= sizeof buf)
        return kyc_fail(err, KYC_E_IDENTITY, "identity too long");
    uint8_t md[32];
    unsigned int mdlen = 0;
    if (!EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha256(), NULL))
        return kyc_fail(err, KYC_E_CRYPTO, "sha256 failed");
    kyc_hex(md, 32, out);
    return KYC_OK;
}
