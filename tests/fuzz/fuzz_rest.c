/* Fuzz target: a page of the feed's REST poller (feed/rest.c) as feed_rest_page_read reads it.
 *
 * Input: an optional first line naming the page ("fixtures", "results", "odds", or
 * "events ID" for the events of fixture ID), then the body. Without such a line the whole
 * input is the body, read as each of the four pages (events for fixture "F1").
 * Invariants on every read:
 *   - a refusal carries a FEED_E* code and a sentence, and hands back no observation;
 *   - an accepted page holds observations of the page's kind, each valid; the events of an
 *     events page are all of its fixture with seq increasing;
 *   - each observation's canonical encoding and JSON read back to the same observation, and
 *     the page rebuilt from them (the observations' JSON under the page's key) reads back to
 *     the same observations (an accepted page round-trips). */
#include <string.h>

#include "feed/internal.h"
#include "tests/fuzz/fuzz.h"

static const char *const keys[] = {NULL, "fixtures", "events", "results", "odds"};

static void check_obs(const struct feed_obs *o, enum feed_kind kind)
{
    struct feed_error e;
    struct feed_obs back;
    FUZZ_CHECK(o->kind == kind, "kind %d on a %s page", o->kind, keys[kind]);
    FUZZ_CHECK(feed_obs_validate(o, &e) == 0, "accepted observation does not validate: %s",
               e.msg);
    uint8_t enc[FEED_ENCODED_MAX];
    int n = feed_encode(o, enc, sizeof enc, &e);
    FUZZ_CHECK(n > 0, "accepted observation does not encode: %s", e.msg);
    FUZZ_CHECK(feed_decode(enc, (size_t)n, &back, &e) == 0 && feed_obs_equal(o, &back),
               "encoding round trip");
}

static void check_page(enum feed_kind kind, const char *fixture, const uint8_t *p, size_t n)
{
    struct feed_obs *obs = (struct feed_obs *)&obs; /* must be overwritten */
    size_t count = 12345;
    struct feed_error e;
    int rc = feed_rest_page_read(p, n, kind, fixture, &obs, &count, &e);
    if (rc) {
        FUZZ_CHECK(rc < 0 && e.code == rc && e.msg[0] && memchr(e.msg, 0, sizeof e.msg),
                   "a refusal (%d) without its code and sentence", rc);
        FUZZ_CHECK(!obs && count == 0, "a refused page hands back observations");
        return;
    }
    FUZZ_CHECK(obs != NULL, "an accepted page without its array");
    json_t *arr = json_array();
    for (size_t i = 0; i < count; i++) {
        check_obs(&obs[i], kind);
        if (kind == FEED_EVENT) {
            FUZZ_CHECK(!strcmp(obs[i].u.event.fixture, fixture), "event of fixture %s on %s's page",
                       obs[i].u.event.fixture, fixture);
            FUZZ_CHECK(i == 0 || obs[i].u.event.seq > obs[i - 1].u.event.seq,
                       "seq not increasing at %zu", i);
        }
        json_t *j = feed_obs_to_json(&obs[i]);
        FUZZ_CHECK(j, "to_json");
        json_array_append_new(arr, j);
    }
    json_t *page = json_pack("{s:o}", keys[kind], arr);
    if (kind == FEED_EVENT)
        json_object_set_new(page, "fixture", json_string(fixture));
    char *text = json_dumps(page, JSON_COMPACT);
    FUZZ_CHECK(text, "page dump");
    json_decref(page);
    struct feed_obs *again = NULL;
    size_t count2 = 0;
    FUZZ_CHECK(feed_rest_page_read(text, strlen(text), kind, fixture, &again, &count2, &e) == 0,
               "own page refused: %s (%s)", e.msg, text);
    FUZZ_CHECK(count2 == count, "page round trip: %zu then %zu observations", count, count2);
    for (size_t i = 0; i < count; i++)
        FUZZ_CHECK(feed_obs_equal(&obs[i], &again[i]), "page round trip differs at %zu", i);
    free(text);
    free(again);
    free(obs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    const uint8_t *line;
    size_t n = fuzz_part(&in, '\n', &line);
    char *first = fuzz_strndup(line, n);
    enum feed_kind kind = 0;
    const char *fixture = "F1";
    for (int k = FEED_FIXTURE; k <= FEED_ODDS; k++)
        if (!strcmp(first, keys[k]))
            kind = (enum feed_kind)k;
    if (!strncmp(first, "events ", 7) && strlen(first) <= 7 + FEED_ID_MAX) {
        kind = FEED_EVENT;
        fixture = first + 7;
    }
    if (kind) {
        check_page(kind, fixture, in.p, in.n);
    } else {
        for (int k = FEED_FIXTURE; k <= FEED_ODDS; k++)
            check_page((enum feed_kind)k, "F1", data, size);
    }
    free(first);
    return 0;
}
