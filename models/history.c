/*
 * history.c -- reader for football-data.co.uk CSV files (past results for fits and evaluation).
 *
 * The header row names the columns; only the columns present are used, so any league and
 * any season works. A bookmaker is any prefix X for which XH, XD and XA all exist (B365,
 * BW, PS, BbAv, BbMx, PSC, ...). Rows may carry trailing commas, files may end with empty
 * lines or use CRLF; rows without teams, a date or full-time goals are skipped and counted.
 */
#include "models/history.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLS 256

static int days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int fd_parse_date(const char* s, int* season)
{
    int d, m, y, n = 0;
    if (sscanf(s, "%d/%d/%d%n", &d, &m, &y, &n) != 3 || s[n] != '\0')
        return -1;
    const char* yy = strrchr(s, '/') + 1;
    if (strlen(yy) == 2)
        y += (y < 50) ? 2000 : 1900;
    /* Days count from 1970: an earlier date would be negative and 31/12/1969 would read as
     * -1, "malformed" (found by tests/fuzz, fuzz_history); fd_parse skipped them anyway. */
    if (d < 1 || d > 31 || m < 1 || m > 12 || y < 1970 || y > 2200)
        return -1;
    if (season)
        *season = m >= 7 ? y : y - 1;
    return days_from_civil(y, m, d);
}

/* Splits one line in place into fields; handles double-quoted fields without escapes. */
static int split(char* line, char** f, int max)
{
    int n = 0;
    char* p = line;
    while (n < max) {
        if (*p == '"') {
            char* e = strchr(p + 1, '"');
            if (!e)
                break;
            *e = '\0';
            f[n++] = p + 1;
            p = e + 1;
            if (*p == ',')
                p++;
            else
                break;
            continue;
        }
        f[n++] = p;
        char* c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static void trim(char* s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t k = 0;
    while (s[k] && isspace((unsigned char)s[k]))
        k++;
    if (k)
        memmove(s, s + k, n - k + 1);
}

static int find_col(char** hdr, int n, const char* name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(hdr[i], name) == 0)
            return i;
    return -1;
}

static int team_id(fd_data* d, const char* name)
{
    for (int i = 0; i < d->nteams; i++)
        if (strcmp(d->teams[i], name) == 0)
            return i;
    if (d->nteams % 64 == 0) {
        void* t = realloc(d->teams, sizeof *d->teams * (d->nteams + 64));
        if (!t)
            return -1;
        d->teams = t;
    }
    snprintf(d->teams[d->nteams], FD_NAME, "%s", name);
    return d->nteams++;
}

static int book_id(fd_data* d, const char* prefix)
{
    for (int i = 0; i < d->nbooks; i++)
        if (strcmp(d->books[i], prefix) == 0)
            return i;
    if (d->nbooks == FD_MAX_BOOKS)
        return -1;
    snprintf(d->books[d->nbooks], sizeof d->books[0], "%s", prefix);
    return d->nbooks++;
}

static int int_field(char** f, int nf, int col)
{
    if (col < 0 || col >= nf || !*f[col])
        return -1;
    char* e;
    long v = strtol(f[col], &e, 10);
    if (*e || v < 0 || v > 1000)
        return -1;
    return (int)v;
}

static double odds_field(char** f, int nf, int col)
{
    if (col < 0 || col >= nf || !*f[col])
        return 0;
    char* e;
    double v = strtod(f[col], &e);
    return (*e || !(v > 1.0 && v < 10000.0)) ? 0 : v;
}

int fd_parse(fd_data* d, const char* buf, size_t len)
{
    char* text = malloc(len + 1);
    if (!text)
        return MODEL_ENOMEM;
    memcpy(text, buf, len);
    text[len] = '\0';
    char *hdr[MAX_COLS], *f[MAX_COLS], *save = NULL;
    char* line = strtok_r(text, "\n", &save);
    int nh = 0, rc = MODEL_OK;
    if (!line) {
        free(text);
        return MODEL_EINVAL;
    }
    /* A UTF-8 byte order mark: all three bytes, so that a first line of just "\xEF\xBB"
     * does not send the reader past its end (found by tests/fuzz, fuzz_history). */
    if ((unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB &&
        (unsigned char)line[2] == 0xBF)
        line += 3;
    nh = split(line, hdr, MAX_COLS);
    for (int i = 0; i < nh; i++)
        trim(hdr[i]);
    int c_div = find_col(hdr, nh, "Div"), c_date = find_col(hdr, nh, "Date");
    if (c_div < 0) /* the "extra leagues" files: Country,League,Season,Date,Time,Home,Away,HG,AG */
        c_div = find_col(hdr, nh, "League");
    int c_home = find_col(hdr, nh, "HomeTeam"), c_away = find_col(hdr, nh, "AwayTeam");
    if (c_home < 0)
        c_home = find_col(hdr, nh, "Home");
    if (c_away < 0)
        c_away = find_col(hdr, nh, "Away");
    int c_hg = find_col(hdr, nh, "FTHG"), c_ag = find_col(hdr, nh, "FTAG");
    if (c_hg < 0)
        c_hg = find_col(hdr, nh, "HG");
    if (c_ag < 0)
        c_ag = find_col(hdr, nh, "AG");
    int c_season = find_col(hdr, nh, "Season"); /* "2012" or "2012/2013" where present */
    int c_hs = find_col(hdr, nh, "HS"), c_as = find_col(hdr, nh, "AS");
    int c_hst = find_col(hdr, nh, "HST"), c_ast = find_col(hdr, nh, "AST");
    if (c_date < 0 || c_home < 0 || c_away < 0 || c_hg < 0 || c_ag < 0) {
        free(text);
        return MODEL_EINVAL;
    }
    /* Bookmakers: prefixes with H, D and A columns. */
    int bk[FD_MAX_BOOKS][3], bid[FD_MAX_BOOKS], nb = 0;
    for (int i = 0; i < nh && nb < FD_MAX_BOOKS; i++) {
        size_t n = strlen(hdr[i]);
        if (n < 2 || n > 15 || hdr[i][n - 1] != 'H')
            continue;
        char pre[16], name[17];
        memcpy(pre, hdr[i], n - 1);
        pre[n - 1] = '\0';
        snprintf(name, sizeof name, "%sD", pre);
        int cd = find_col(hdr, nh, name);
        snprintf(name, sizeof name, "%sA", pre);
        int ca = find_col(hdr, nh, name);
        if (cd < 0 || ca < 0)
            continue;
        int id = book_id(d, pre);
        if (id < 0)
            break;
        bk[nb][0] = i;
        bk[nb][1] = cd;
        bk[nb][2] = ca;
        bid[nb++] = id;
    }
    while ((line = strtok_r(NULL, "\n", &save))) {
        int nf = split(line, f, MAX_COLS);
        for (int i = 0; i < nf; i++)
            trim(f[i]);
        int season;
        int blank = 1;
        for (int i = 0; i < nf && blank; i++)
            blank = !*f[i];
        if (blank) /* empty line or a row of bare commas at the end of a file */
            continue;
        if (nf <= c_ag || nf <= c_date || nf <= c_home || nf <= c_away || !*f[c_home] ||
            !*f[c_away]) {
            d->skipped++;
            continue;
        }
        int day = fd_parse_date(f[c_date], &season);
        int hg = int_field(f, nf, c_hg), ag = int_field(f, nf, c_ag);
        if (day < 0 || hg < 0 || ag < 0 || strcmp(f[c_home], f[c_away]) == 0) {
            d->skipped++;
            continue;
        }
        if (d->n == d->cap) {
            size_t cap = d->cap ? 2 * d->cap : 1024;
            void* p = realloc(d->m, sizeof *d->m * cap);
            if (!p) {
                rc = MODEL_ENOMEM;
                break;
            }
            d->m = p;
            d->cap = cap;
        }
        fd_match* m = &d->m[d->n];
        memset(m, 0, sizeof *m);
        snprintf(m->div, sizeof m->div, "%s", (c_div >= 0 && c_div < nf) ? f[c_div] : "?");
        m->day = day;
        m->season = season;
        if (c_season >= 0 && c_season < nf && strlen(f[c_season]) >= 4 &&
            isdigit((unsigned char)f[c_season][0])) {
            int y = atoi(f[c_season]);
            if (y > 1800 && y < 2200)
                m->season = y; /* calendar-year leagues say which season a game is in */
        }
        m->home = team_id(d, f[c_home]);
        m->away = team_id(d, f[c_away]);
        if (m->home < 0 || m->away < 0) {
            rc = MODEL_ENOMEM;
            break;
        }
        m->hg = hg;
        m->ag = ag;
        m->hs = int_field(f, nf, c_hs);
        m->as = int_field(f, nf, c_as);
        m->hst = int_field(f, nf, c_hst);
        m->ast = int_field(f, nf, c_ast);
        for (int b = 0; b < nb; b++)
            for (int k = 0; k < 3; k++)
                m->odds[bid[b]][k] = odds_field(f, nf, bk[b][k]);
        m->order = d->n;
        d->n++;
    }
    free(text);
    return rc;
}

void fd_free(fd_data* d)
{
    free(d->m);
    free(d->teams);
    memset(d, 0, sizeof *d);
}
