/* The national gambling-ban list from a file: see banlist.h for the format and the matching.
 * Entries are kept sorted (people by "family|birth date", emails by address) and looked up by
 * binary search, so that a list of the real register's size costs a few comparisons. */
#include "node/banlist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "consensus/accounts.h"

#define NAME_MAX_CHARS 200

struct person {
    char *key;   /* normalised family "|" YYYY-MM-DD */
    char *given; /* normalised given names */
};

struct list {
    struct person *people;
    size_t npeople;
    char **emails;
    size_t nemails;
};

struct banlist {
    char path[512];
    struct stat st; /* of the file the list was read from (or last failed to be read from; zero
                       when it was missing) */
    bool failed;    /* a load that did not give a list */
    struct list l;
    uint64_t reloads, failures;
};

/* ---- normalisation ---- */

static void put(char *out, size_t n, size_t *o, const char *s)
{
    for (; *s && *o + 1 < n; s++)
        out[(*o)++] = *s;
}

/* The ASCII for a two-byte UTF-8 letter c3 xx (Latin-1), NULL for a separator. */
static const char *latin1(unsigned char x)
{
    static const char *const t[64] = {
        "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
        "d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
        "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
        "d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "y"};
    return x >= 0x80 && x <= 0xbf ? t[x - 0x80] : NULL;
}

void banlist_normalise_name(const char *in, char *out, size_t n)
{
    size_t o = 0;
    bool space = true; /* drop leading separators */
    const unsigned char *s = (const unsigned char *)(in ? in : "");
    while (*s && o + 1 < n) {
        const char *rep = NULL;
        char one[2] = {0, 0};
        bool sep = false;
        if (*s == 0xc3 && s[1]) {
            rep = latin1(s[1]);
            sep = rep == NULL;
            s += 2;
        } else if (*s == 0xc5 && (s[1] == 0x92 || s[1] == 0x93)) {
            rep = "oe";
            s += 2;
        } else if (*s == 0xc5 && s[1] == 0xb8) {
            rep = "y";
            s += 2;
        } else if (*s == 0xe2 && s[1] == 0x80 && (s[2] == 0x98 || s[2] == 0x99)) {
            sep = true; /* typographic apostrophes */
            s += 3;
        } else if (*s == ' ' || *s == '\t' || *s == '-' || *s == '\'' || *s == '.' ||
                   *s == ',') {
            sep = true;
            s++;
        } else {
            one[0] = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
            rep = one;
            s++;
        }
        if (sep) {
            if (!space)
                put(out, n, &o, " ");
            space = true;
        } else {
            put(out, n, &o, rep);
            space = false;
        }
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = 0;
}

static bool date_valid(const char *d)
{
    if (strlen(d) != 10 || d[4] != '-' || d[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (d[i] < '0' || d[i] > '9'))
            return false;
    int m = (d[5] - '0') * 10 + (d[6] - '0'), day = (d[8] - '0') * 10 + (d[9] - '0');
    return m >= 1 && m <= 12 && day >= 1 && day <= 31;
}

/* ---- the list ---- */

static void list_clear(struct list *l)
{
    for (size_t i = 0; i < l->npeople; i++) {
        free(l->people[i].key);
        free(l->people[i].given);
    }
    for (size_t i = 0; i < l->nemails; i++)
        free(l->emails[i]);
    free(l->people);
    free(l->emails);
    memset(l, 0, sizeof *l);
}

static int person_cmp(const void *a, const void *b)
{
    return strcmp(((const struct person *)a)->key, ((const struct person *)b)->key);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    size_t k = 0;
    while (s[k] == ' ' || s[k] == '\t')
        k++;
    memmove(s, s + k, n - k + 1);
}

/* One line into @l; false with the reason in @why. */
static bool parse_line(struct list *l, char *line, char *why, size_t wn)
{
    if (!strncmp(line, "email:", 6)) {
        char *e = line + 6, norm[ACCOUNTS_EMAIL_MAX + 1];
        trim(e);
        if (accounts_email_normalise(e, norm, sizeof norm) != 0) {
            snprintf(why, wn, "'%s' is not an email address", e);
            return false;
        }
        l->emails = realloc(l->emails, (l->nemails + 1) * sizeof *l->emails);
        l->emails[l->nemails++] = strdup(norm);
        return true;
    }
    if (strncmp(line, "person:", 7)) {
        snprintf(why, wn, "expected 'person: FAMILY|Given names|YYYY-MM-DD' or 'email: ADDRESS'");
        return false;
    }
    char *f = line + 7, *g = strchr(f, '|'), *d = g ? strchr(g + 1, '|') : NULL;
    if (!g || !d || strchr(d + 1, '|')) {
        snprintf(why, wn, "a person is FAMILY|Given names|YYYY-MM-DD (three fields)");
        return false;
    }
    *g++ = 0;
    *d++ = 0;
    trim(f);
    trim(g);
    trim(d);
    char fam[NAME_MAX_CHARS], giv[NAME_MAX_CHARS];
    banlist_normalise_name(f, fam, sizeof fam);
    banlist_normalise_name(g, giv, sizeof giv);
    if (!fam[0] || !giv[0] || strlen(f) >= NAME_MAX_CHARS || strlen(g) >= NAME_MAX_CHARS) {
        snprintf(why, wn, "the family name and the given names must be 1 to %d characters",
                 NAME_MAX_CHARS - 1);
        return false;
    }
    if (!date_valid(d)) {
        snprintf(why, wn, "'%s' is not a birth date YYYY-MM-DD", d);
        return false;
    }
    char key[NAME_MAX_CHARS + 16];
    snprintf(key, sizeof key, "%s|%s", fam, d);
    l->people = realloc(l->people, (l->npeople + 1) * sizeof *l->people);
    l->people[l->npeople++] = (struct person){strdup(key), strdup(giv)};
    return true;
}

static int list_read(const char *path, struct list *l, struct stat *st, char *err, size_t en)
{
    memset(l, 0, sizeof *l);
    memset(st, 0, sizeof *st);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, en, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), st) != 0) {
        snprintf(err, en, "cannot stat %s: %s", path, strerror(errno));
        fclose(f);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    unsigned no = 0;
    int rv = 0;
    while (getline(&line, &cap, f) >= 0) {
        no++;
        trim(line);
        if (!line[0] || line[0] == '#')
            continue;
        char why[300];
        if (!parse_line(l, line, why, sizeof why)) {
            snprintf(err, en, "%s line %u: %s", path, no, why);
            rv = -1;
            break;
        }
    }
    free(line);
    fclose(f);
    if (rv) {
        list_clear(l);
        return rv;
    }
    if (l->npeople)
        qsort(l->people, l->npeople, sizeof *l->people, person_cmp);
    if (l->nemails)
        qsort(l->emails, l->nemails, sizeof *l->emails, str_cmp);
    return 0;
}

struct banlist *banlist_load(const char *path, char *err, size_t errlen)
{
    struct banlist *b = calloc(1, sizeof *b);
    if (strlen(path) >= sizeof b->path) {
        snprintf(err, errlen, "the path is longer than %zu characters", sizeof b->path - 1);
        b->failed = true;
        return b;
    }
    strcpy(b->path, path);
    b->failed = list_read(path, &b->l, &b->st, err, errlen) != 0;
    return b;
}

bool banlist_ok(const struct banlist *b)
{
    return b && !b->failed;
}

struct banlist *banlist_open(const char *path, char *err, size_t errlen)
{
    struct banlist *b = banlist_load(path, err, errlen);
    if (b->failed) {
        banlist_free(b);
        return NULL;
    }
    return b;
}

void banlist_free(struct banlist *b)
{
    if (!b)
        return;
    list_clear(&b->l);
    free(b);
}

const char *banlist_path(const struct banlist *b)
{
    return b->path;
}

bool banlist_stale(struct banlist *b)
{
    struct stat st;
    if (stat(b->path, &st) != 0)
        return b->st.st_ino != 0 || b->st.st_size != 0; /* gone: stale until that is recorded */
    return st.st_ino != b->st.st_ino || st.st_size != b->st.st_size ||
           st.st_mtim.tv_sec != b->st.st_mtim.tv_sec ||
           st.st_mtim.tv_nsec != b->st.st_mtim.tv_nsec;
}

void banlist_adopt(struct banlist *b, struct banlist *fresh)
{
    b->st = fresh->st; /* a failed version is not read again until it changes */
    if (fresh->failed) {
        b->failures++;
    } else {
        list_clear(&b->l);
        b->l = fresh->l;
        memset(&fresh->l, 0, sizeof fresh->l);
        b->reloads++;
    }
    banlist_free(fresh);
}

int banlist_refresh(struct banlist *b, char *err, size_t errlen)
{
    if (!banlist_stale(b))
        return 0;
    struct banlist *fresh = banlist_load(b->path, err, errlen);
    bool ok = !fresh->failed;
    banlist_adopt(b, fresh);
    return ok ? 1 : -1;
}

static const char *first_word(const char *s, size_t *len)
{
    const char *sp = strchr(s, ' ');
    *len = sp ? (size_t)(sp - s) : strlen(s);
    return s;
}

bool banlist_person(struct banlist *b, const char *family, const char *given,
                    const char *birthdate)
{
    if (!b || !family || !given || !birthdate || !b->l.npeople)
        return false;
    char fam[NAME_MAX_CHARS], giv[NAME_MAX_CHARS], key[NAME_MAX_CHARS + 16];
    banlist_normalise_name(family, fam, sizeof fam);
    banlist_normalise_name(given, giv, sizeof giv);
    snprintf(key, sizeof key, "%s|%.10s", fam, birthdate);
    /* The first entry with this key, then every one after it with the same key. */
    size_t lo = 0, hi = b->l.npeople;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(b->l.people[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t gl;
    first_word(giv, &gl);
    for (size_t i = lo; i < b->l.npeople && !strcmp(b->l.people[i].key, key); i++) {
        const char *g = b->l.people[i].given;
        size_t ll;
        first_word(g, &ll);
        if (!strcmp(g, giv) || (gl && ll == gl && !strncmp(g, giv, gl)))
            return true;
    }
    return false;
}

bool banlist_email(struct banlist *b, const char *email)
{
    char norm[ACCOUNTS_EMAIL_MAX + 1];
    if (!b || !email || !b->l.nemails || accounts_email_normalise(email, norm, sizeof norm) != 0)
        return false;
    const char *k = norm;
    return bsearch(&k, b->l.emails, b->l.nemails, sizeof *b->l.emails, str_cmp) != NULL;
}

size_t banlist_size(const struct banlist *b)
{
    return b ? b->l.npeople + b->l.nemails : 0;
}

uint64_t banlist_reloads(const struct banlist *b)
{
    return b ? b->reloads : 0;
}

uint64_t banlist_reload_failures(const struct banlist *b)
{
    return b ? b->failures : 0;
}
