/* Unit tests for the ledger's rules (consensus/ledger.c): moves, holds and their single
 * resolution, refusals that change nothing, and the zero-sum invariant under a long random run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/ledger.h"

static struct ledger_account player(int64_t credited)
{
    return (struct ledger_account){.credits_posted = credited, .flags = LEDGER_NO_OVERDRAFT};
}

/* A refused call leaves both accounts (and the hold, when given) byte for byte as they were. */
#define ASSERT_REFUSED(call, code, a, b)                                                          \
    do {                                                                                          \
        struct ledger_account sa = (a), sb = (b);                                                 \
        assert_int_equal((call), (code));                                                         \
        assert_memory_equal(&sa, &(a), sizeof sa);                                                \
        assert_memory_equal(&sb, &(b), sizeof sb);                                                \
    } while (0)

static void move_and_refusals(void **state)
{
    (void)state;
    struct ledger_account p = player(1000), house = {0};
    assert_int_equal(ledger_move(&p, &house, 400), LEDGER_OK);
    assert_int_equal(ledger_balance(&p), 600);
    assert_int_equal(ledger_balance(&house), 400);
    ASSERT_REFUSED(ledger_move(&p, &house, 601), LEDGER_E_INSUFFICIENT, p, house);
    ASSERT_REFUSED(ledger_move(&p, &house, 0), LEDGER_E_AMOUNT, p, house);
    ASSERT_REFUSED(ledger_move(&p, &house, -5), LEDGER_E_AMOUNT, p, house);
    ASSERT_REFUSED(ledger_move(&p, &house, LEDGER_AMOUNT_MAX + 1), LEDGER_E_AMOUNT, p, house);
    ASSERT_REFUSED(ledger_move(&p, &p, 1), LEDGER_E_SAME_ACCOUNT, p, house);
    /* A system account without the flag may go below zero (it is where money comes from). */
    struct ledger_account provider = {0};
    assert_int_equal(ledger_move(&provider, &p, 50), LEDGER_OK);
    assert_int_equal(ledger_balance(&provider), -50);
    assert_int_equal(ledger_balance(&p), 650);
    /* Counters that would overflow are refused, not wrapped. */
    struct ledger_account full = {.credits_posted = INT64_MAX - 10};
    ASSERT_REFUSED(ledger_move(&provider, &full, 11), LEDGER_E_OVERFLOW, provider, full);
    assert_string_equal(ledger_code_name(LEDGER_E_INSUFFICIENT), "insufficient_funds");
}

static void holds_reserve_available(void **state)
{
    (void)state;
    struct ledger_account p = player(1000), held = {0};
    struct ledger_hold h1, h2, h3;
    assert_int_equal(ledger_hold(&p, &held, 700, 1000, 0, &h1), LEDGER_OK);
    assert_int_equal(ledger_available(&p), 300);
    assert_int_equal(ledger_balance(&p), 1000); /* nothing posted yet */
    /* The same cents cannot be held twice. */
    ASSERT_REFUSED(ledger_hold(&p, &held, 301, 1000, 0, &h2), LEDGER_E_INSUFFICIENT, p, held);
    ASSERT_REFUSED(ledger_move(&p, &held, 301), LEDGER_E_INSUFFICIENT, p, held);
    assert_int_equal(ledger_hold(&p, &held, 300, 1000, 0, &h2), LEDGER_OK);
    assert_int_equal(ledger_available(&p), 0);
    /* Void gives it all back; a second void answers what happened. */
    assert_int_equal(ledger_void(&p, &held, &h1), LEDGER_OK);
    assert_int_equal(ledger_available(&p), 700);
    struct ledger_hold before = h1;
    ASSERT_REFUSED(ledger_void(&p, &held, &h1), LEDGER_E_VOIDED, p, held);
    ASSERT_REFUSED(ledger_post(&p, &held, &h1, 10, 1000), LEDGER_E_VOIDED, p, held);
    assert_memory_equal(&before, &h1, sizeof h1);
    assert_int_equal(ledger_hold(&p, &held, 700, 1000, 0, &h3), LEDGER_OK);
    assert_int_equal(ledger_void(&p, &held, &h3), LEDGER_OK);
    assert_int_equal(ledger_void(&p, &held, &h2), LEDGER_OK);
    assert_int_equal(p.debits_pending, 0);
    assert_int_equal(held.credits_pending, 0);
}

static void post_all_or_part_once(void **state)
{
    (void)state;
    struct ledger_account p = player(1000), house = {0};
    struct ledger_hold h;
    assert_int_equal(ledger_hold(&p, &house, 500, 0, 0, &h), LEDGER_OK);
    ASSERT_REFUSED(ledger_post(&p, &house, &h, 501, 0), LEDGER_E_POST_EXCEEDS, p, house);
    ASSERT_REFUSED(ledger_post(&p, &house, &h, 0, 0), LEDGER_E_AMOUNT, p, house);
    assert_int_equal(ledger_post(&p, &house, &h, 200, 0), LEDGER_OK); /* partial: 300 back */
    assert_int_equal(h.status, LEDGER_POSTED);
    assert_int_equal(h.posted, 200);
    assert_int_equal(ledger_balance(&p), 800);
    assert_int_equal(ledger_available(&p), 800);
    assert_int_equal(ledger_balance(&house), 200);
    assert_int_equal(house.credits_pending, 0);
    ASSERT_REFUSED(ledger_post(&p, &house, &h, 200, 0), LEDGER_E_POSTED, p, house);
    ASSERT_REFUSED(ledger_void(&p, &house, &h), LEDGER_E_POSTED, p, house);
    ASSERT_REFUSED(ledger_expire(&p, &house, &h, UINT64_MAX), LEDGER_E_POSTED, p, house);
}

static void expiry_by_stamped_time(void **state)
{
    (void)state;
    struct ledger_account p = player(100), held = {0};
    struct ledger_hold h;
    assert_int_equal(ledger_hold(&p, &held, 100, 5000, 60000, &h), LEDGER_OK);
    assert_int_equal(h.expires_ms, 65000);
    ASSERT_REFUSED(ledger_expire(&p, &held, &h, 64999), LEDGER_E_NOT_DUE, p, held);
    /* Past its deadline a hold cannot be posted, even before the expiry command. */
    ASSERT_REFUSED(ledger_post(&p, &held, &h, 100, 65000), LEDGER_E_EXPIRED, p, held);
    assert_int_equal(ledger_post(&p, &held, &h, 100, 64999) == LEDGER_OK, 1);
    struct ledger_hold h2;
    assert_int_equal(ledger_move(&held, &p, 100), LEDGER_OK); /* give it back for the next hold */
    assert_int_equal(ledger_hold(&p, &held, 100, 5000, 60000, &h2), LEDGER_OK);
    assert_int_equal(ledger_expire(&p, &held, &h2, 65000), LEDGER_OK);
    assert_int_equal(h2.status, LEDGER_EXPIRED);
    assert_int_equal(ledger_available(&p), 100);
    ASSERT_REFUSED(ledger_void(&p, &held, &h2), LEDGER_E_EXPIRED, p, held);
    /* A deadline that would overflow is refused. */
    struct ledger_hold h3;
    ASSERT_REFUSED(ledger_hold(&p, &held, 1, UINT64_MAX - 1, 2, &h3), LEDGER_E_OVERFLOW, p, held);
}

/* Many random operations over a few players and system accounts: the zero-sum invariant and "no
 * player overdrawn" hold after every step; a corrupted counter is caught by the check. */
static void zero_sum_under_random_operations(void **state)
{
    (void)state;
    enum { PLAYERS = 5, SYSTEM = 3, N = PLAYERS + SYSTEM, HOLDS = 64 };
    struct ledger_account acct[N] = {0};
    for (int i = 0; i < PLAYERS; i++)
        acct[i].flags = LEDGER_NO_OVERDRAFT;
    struct {
        struct ledger_hold h;
        int dr, cr;
        bool used;
    } holds[HOLDS] = {0};
    unsigned seed = 12345, ok = 0, refused = 0;
    for (int step = 0; step < 20000; step++) {
        int op = rand_r(&seed) % 5, a = rand_r(&seed) % N, b = rand_r(&seed) % N;
        int64_t amount = rand_r(&seed) % 2000 - 100;
        uint64_t now = (uint64_t)step * 10;
        int k = rand_r(&seed) % HOLDS;
        enum ledger_code rc;
        if (op == 0)
            rc = ledger_move(&acct[PLAYERS + a % SYSTEM], &acct[b], amount); /* deposits */
        else if (op == 1)
            rc = ledger_move(&acct[a], &acct[b], amount);
        else if (op == 2 && !holds[k].used) {
            rc = ledger_hold(&acct[a], &acct[b], amount, now, 500, &holds[k].h);
            if (rc == LEDGER_OK)
                holds[k].used = true, holds[k].dr = a, holds[k].cr = b;
        } else if (holds[k].used) {
            struct ledger_account *dr = &acct[holds[k].dr], *cr = &acct[holds[k].cr];
            rc = op == 3 ? ledger_post(dr, cr, &holds[k].h, amount, now)
                 : op == 4 ? ledger_void(dr, cr, &holds[k].h)
                           : ledger_expire(dr, cr, &holds[k].h, now);
            if (holds[k].h.status != LEDGER_PENDING)
                holds[k].used = false;
        } else
            continue;
        rc == LEDGER_OK ? ok++ : refused++;
        struct ledger_sum s = {0};
        for (int i = 0; i < N; i++)
            ledger_sum_account(&s, &acct[i]);
        assert_true(ledger_sum_ok(&s));
        for (int i = 0; i < PLAYERS; i++)
            assert_true(ledger_available(&acct[i]) >= 0);
    }
    assert_true(ok > 1000 && refused > 1000); /* both paths were exercised */
    acct[0].credits_posted += 1;
    struct ledger_sum s = {0};
    for (int i = 0; i < N; i++)
        ledger_sum_account(&s, &acct[i]);
    assert_false(ledger_sum_ok(&s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(move_and_refusals),
        cmocka_unit_test(holds_reserve_available),
        cmocka_unit_test(post_all_or_part_once),
        cmocka_unit_test(expiry_by_stamped_time),
        cmocka_unit_test(zero_sum_under_random_operations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
