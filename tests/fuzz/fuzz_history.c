/* Fuzz target: the football-data CSV reader (models/history.c), which reads files an operator
 * downloads from outside. Whatever it accepts must be consistent: every match names two
 * different known teams, goals and dates are not negative, bookmaker odds are 0 (missing) or
 * finite and positive; a second file appended to the same table keeps that true; fd_free
 * releases everything (the sanitizers check). fd_parse_date is also fed each input's first
 * line on its own. */
#include <math.h>
#include <string.h>

#include "models/history.h"
#include "tests/fuzz/fuzz.h"

static void check(const fd_data *d)
{
    FUZZ_CHECK(d->n <= d->cap, "n %zu over cap %zu", d->n, d->cap);
    FUZZ_CHECK(d->nbooks >= 0 && d->nbooks <= FD_MAX_BOOKS, "nbooks %d", d->nbooks);
    for (size_t i = 0; i < d->n; i++) {
        const fd_match *m = &d->m[i];
        FUZZ_CHECK(m->home >= 0 && m->home < d->nteams && m->away >= 0 && m->away < d->nteams,
                   "match %zu: teams %d, %d of %d", i, m->home, m->away, d->nteams);
        FUZZ_CHECK(m->home != m->away, "match %zu: a team against itself", i);
        FUZZ_CHECK(m->hg >= 0 && m->ag >= 0 && m->day >= 0, "match %zu: goals or day", i);
        FUZZ_CHECK(memchr(m->div, 0, sizeof m->div), "match %zu: division not terminated", i);
        for (int b = 0; b < FD_MAX_BOOKS; b++)
            for (int k = 0; k < 3; k++)
                FUZZ_CHECK(m->odds[b][k] == 0 || (isfinite(m->odds[b][k]) && m->odds[b][k] > 0),
                           "match %zu: odds %g", i, m->odds[b][k]);
    }
    for (int t = 0; t < d->nteams; t++)
        FUZZ_CHECK(memchr(d->teams[t], 0, FD_NAME), "team %d not terminated", t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fd_data d;
    memset(&d, 0, sizeof d);
    /* The CSV text as a caller holds it: exactly @size bytes, no terminator. */
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    if (fd_parse(&d, buf, size) == 0)
        check(&d);
    size_t before = d.n;
    if (fd_parse(&d, buf, size) == 0) { /* the same file again: appended */
        check(&d);
        FUZZ_CHECK(d.n >= before, "rows lost on append");
    }
    fd_free(&d);
    free(buf);

    const uint8_t *line;
    struct fuzz_in in = {data, size};
    size_t n = fuzz_part(&in, '\n', &line);
    if (n < 64) {
        char *s = fuzz_strndup(line, n);
        int season = 0;
        int day = fd_parse_date(s, &season);
        FUZZ_CHECK(day >= -1, "day %d for %s", day, s);
        free(s);
    }
    return 0;
}
