/* The ledger's rules, pure: no I/O, no LMDB, no clock (DESIGN.md "Money"; research note
 * wallet-bets.md §1, TigerBeetle's model).
 *
 * The wallet domain (accounts cluster) keeps accounts and immutable transfers in its databases.
 * For each command it loads the accounts a transfer names (and the pending transfer it resolves),
 * asks these functions what the transfer does to them, and stores the changed records in the same
 * write transaction as the transfer itself. The functions here decide; they never half-apply: on
 * any refusal the records passed in are left exactly as they were.
 *
 * Happy paths:
 *   - a single-phase transfer moves @amount from the debit account to the credit account
 *     (debits_posted of one, credits_posted of the other);
 *   - a pending transfer (a hold) reserves @amount: debits_pending / credits_pending grow, and the
 *     debit account's available balance shrinks at once, so no two holds can spend the same cents;
 *   - a pending transfer is resolved exactly once: posted (all of it or a part; the rest returns),
 *     voided (all returns) or expired (the leader proposes expiry with its stamped time; every
 *     node reaches the same answer because the time travels in the command).
 *
 * Failure modes, each a stable code (ledger_code_name) that the API shows to clients:
 *   amount not positive or over LEDGER_AMOUNT_MAX, debit = credit, insufficient funds (an account
 *   flagged LEDGER_NO_OVERDRAFT never has debits_pending + debits_posted above credits_posted),
 *   a counter that would overflow, a resolve of something that is not pending any more (already
 *   posted / voided / expired: the caller answers what happened the first time), a post larger
 *   than the hold, an expiry before the hold's deadline.
 *
 * Invariants the wallet's check verifies with ledger_sum_*: over all accounts, posted debits equal
 * posted credits and pending debits equal pending credits (the sum of balances is zero), and each
 * account's counters equal the sums of the transfers that name it. */
#ifndef PARLAY_LEDGER_H
#define PARLAY_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

/* One transfer at most 10^12 cents (10 billion euros): far above any real movement, far below
 * what could overflow a sum of many of them in an int64. */
#define LEDGER_AMOUNT_MAX 1000000000000LL

enum ledger_account_flags {
    LEDGER_NO_OVERDRAFT = 1, /* debits (pending and posted) never exceed posted credits */
};

struct ledger_account {
    int64_t debits_pending, debits_posted;
    int64_t credits_pending, credits_posted;
    uint32_t flags;
};

enum ledger_pending_status {
    LEDGER_PENDING = 1,
    LEDGER_POSTED = 2,
    LEDGER_VOIDED = 3,
    LEDGER_EXPIRED = 4,
};

/* What a hold (pending transfer) is, and what became of it. */
struct ledger_hold {
    int64_t amount;      /* reserved */
    int64_t posted;      /* once posted: the part that moved (0..amount) */
    uint64_t expires_ms; /* 0: never */
    enum ledger_pending_status status;
};

enum ledger_code {
    LEDGER_OK = 0,
    LEDGER_E_AMOUNT,        /* amount_invalid */
    LEDGER_E_SAME_ACCOUNT,  /* accounts_must_differ */
    LEDGER_E_INSUFFICIENT,  /* insufficient_funds */
    LEDGER_E_OVERFLOW,      /* overflow */
    LEDGER_E_POSTED,        /* hold_already_posted */
    LEDGER_E_VOIDED,        /* hold_already_voided */
    LEDGER_E_EXPIRED,       /* hold_expired */
    LEDGER_E_POST_EXCEEDS,  /* post_exceeds_hold */
    LEDGER_E_NOT_DUE,       /* hold_not_expired */
};

const char *ledger_code_name(enum ledger_code c);

/* Posted balance (credits - debits) and what can still be spent (less pending debits). */
int64_t ledger_balance(const struct ledger_account *a);
int64_t ledger_available(const struct ledger_account *a);

/* A single-phase transfer of @amount from @dr to @cr (distinct records of distinct accounts). */
enum ledger_code ledger_move(struct ledger_account *dr, struct ledger_account *cr, int64_t amount);

/* Reserve @amount from @dr toward @cr; on success fills @h (expires at @now_ms + @timeout_ms, or
 * never when @timeout_ms is 0). */
enum ledger_code ledger_hold(struct ledger_account *dr, struct ledger_account *cr, int64_t amount,
                             uint64_t now_ms, uint64_t timeout_ms, struct ledger_hold *h);

/* Resolve @h (reserved from @dr toward @cr). Post moves @amount (0 < amount <= h->amount; the rest
 * returns to @dr); void returns all of it; expire does what void does but only at or after
 * h->expires_ms. A hold past its deadline can no longer be posted (LEDGER_E_EXPIRED) even before
 * the expiry command arrives. */
enum ledger_code ledger_post(struct ledger_account *dr, struct ledger_account *cr,
                             struct ledger_hold *h, int64_t amount, uint64_t now_ms);
enum ledger_code ledger_void(struct ledger_account *dr, struct ledger_account *cr,
                             struct ledger_hold *h);
enum ledger_code ledger_expire(struct ledger_account *dr, struct ledger_account *cr,
                               struct ledger_hold *h, uint64_t now_ms);

/* The refusal a second resolve of @h gets (what happened the first time), LEDGER_OK if pending. */
enum ledger_code ledger_hold_state(const struct ledger_hold *h);

/* Sums for the check: add every account (ledger_sum_account), then ledger_sum_ok. */
struct ledger_sum {
    __int128 debits_pending, debits_posted, credits_pending, credits_posted;
    uint64_t accounts, negative; /* accounts flagged NO_OVERDRAFT found overdrawn */
};
void ledger_sum_account(struct ledger_sum *s, const struct ledger_account *a);
/* Zero-sum holds (posted debits = posted credits, pending likewise) and nobody is overdrawn. */
bool ledger_sum_ok(const struct ledger_sum *s);

#endif
