/* Seeds for the apply target, taken from the unit tests: linked into a unit test program with
 * -Wl,--wrap=fsm_apply, it writes every entry the test applies, in the apply target's text
 * format (fuzz_apply.c), one file per state machine's run, into $PARLAY_FUZZ_SEEDS.
 * `make fuzz-seeds` builds the wrapped unit tests and runs them; tests/fuzz/run.sh is not
 * involved. Runs longer than SEED_MAX_LINES commands are dropped (seeds stay small). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/codec.h"
#include "consensus/fsm.h"

#define SEED_MAX_LINES 80

int __real_fsm_apply(struct fsm *f, uint64_t index, const void *buf, size_t len);

static struct {
    struct fsm *f;
    uint64_t last_index, last_time;
    char *text;
    size_t len, cap;
    unsigned lines, files;
    int bad;
} seed;

static void put(const char *p, size_t n)
{
    if (seed.len + n + 1 > seed.cap) {
        seed.cap = (seed.len + n + 1) * 2;
        seed.text = realloc(seed.text, seed.cap);
    }
    memcpy(seed.text + seed.len, p, n);
    seed.len += n;
}

static void seed_end(void)
{
    const char *dir = getenv("PARLAY_FUZZ_SEEDS");
    if (dir && seed.len && !seed.bad && seed.lines <= SEED_MAX_LINES) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s-%04u", dir,
                 getenv("PARLAY_FUZZ_SEED_PREFIX") ? getenv("PARLAY_FUZZ_SEED_PREFIX") : "seed",
                 seed.files++);
        FILE *out = fopen(path, "wb");
        if (out) {
            fwrite(seed.text, 1, seed.len, out);
            fclose(out);
        }
    }
    seed.len = 0;
    seed.lines = 0;
    seed.bad = 0;
    seed.last_time = 0;
}

static void put_cmd(const struct cmd *c, bool starred)
{
    char head[320];
    if (c->time_ms != seed.last_time) {
        int n = snprintf(head, sizeof head, "@%llu\n", (unsigned long long)c->time_ms);
        put(head, (size_t)n);
        seed.last_time = c->time_ms;
    }
    int n = snprintf(head, sizeof head, "%s%u", starred ? "*" : "", c->type);
    put(head, (size_t)n);
    if (c->idem_len) {
        put("/", 1);
        put(c->idem, c->idem_len);
        if (memchr(c->idem, ' ', c->idem_len) || memchr(c->idem, '\n', c->idem_len))
            seed.bad = 1;
    }
    put(" ", 1);
    put(c->payload, c->payload_len);
    put("\n", 1);
    if (memchr(c->payload, '\n', c->payload_len))
        seed.bad = 1;
    seed.lines++;
}

int __wrap_fsm_apply(struct fsm *f, uint64_t index, const void *buf, size_t len)
{
    if (f != seed.f || index <= seed.last_index) {
        seed_end();
        seed.f = f;
    }
    seed.last_index = index;
    struct cmd c;
    if (cmd_decode(buf, len, &c) == CMD_OK) {
        unsigned count;
        if (c.type != CMD_BATCH) {
            put_cmd(&c, false);
        } else if (cmd_batch_check(&c, &count) == CMD_OK) {
            size_t off = 0;
            struct cmd sub;
            for (unsigned i = 0; i < count && cmd_batch_next(&c, &off, &sub) == CMD_OK; i++)
                put_cmd(&sub, true);
        }
    }
    return __real_fsm_apply(f, index, buf, len);
}

__attribute__((destructor)) static void seed_flush(void)
{
    seed_end();
    free(seed.text);
}
