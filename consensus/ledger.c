/* The ledger's rules (see ledger.h for the story). Every function works on copies and writes the
 * records back only when the whole change is allowed. */
#include "consensus/ledger.h"

const char *ledger_code_name(enum ledger_code c)
{
    switch (c) {
    case LEDGER_OK:
        return "ok";
    case LEDGER_E_AMOUNT:
        return "amount_invalid";
    case LEDGER_E_SAME_ACCOUNT:
        return "accounts_must_differ";
    case LEDGER_E_INSUFFICIENT:
        return "insufficient_funds";
    case LEDGER_E_OVERFLOW:
        return "overflow";
    case LEDGER_E_POSTED:
        return "hold_already_posted";
    case LEDGER_E_VOIDED:
        return "hold_already_voided";
    case LEDGER_E_EXPIRED:
        return "hold_expired";
    case LEDGER_E_POST_EXCEEDS:
        return "post_exceeds_hold";
    case LEDGER_E_NOT_DUE:
        return "hold_not_expired";
    }
    return "unknown";
}

int64_t ledger_balance(const struct ledger_account *a)
{
    return a->credits_posted - a->debits_posted;
}

int64_t ledger_available(const struct ledger_account *a)
{
    return a->credits_posted - a->debits_posted - a->debits_pending;
}

static bool add_ok(int64_t *x, int64_t d)
{
    return !__builtin_add_overflow(*x, d, x);
}

/* The debit side may take @amount more (pending or posted) without overdrawing. */
static bool covered(const struct ledger_account *dr, int64_t amount)
{
    if (!(dr->flags & LEDGER_NO_OVERDRAFT))
        return true;
    int64_t used;
    if (__builtin_add_overflow(dr->debits_pending, dr->debits_posted, &used) ||
        __builtin_add_overflow(used, amount, &used))
        return false;
    return used <= dr->credits_posted;
}

static enum ledger_code check_pair(const struct ledger_account *dr,
                                   const struct ledger_account *cr, int64_t amount)
{
    if (amount <= 0 || amount > LEDGER_AMOUNT_MAX)
        return LEDGER_E_AMOUNT;
    if (dr == cr)
        return LEDGER_E_SAME_ACCOUNT;
    return covered(dr, amount) ? LEDGER_OK : LEDGER_E_INSUFFICIENT;
}

/* Change the counters of both sides by the given deltas, all or nothing. */
static enum ledger_code shift(struct ledger_account *dr, struct ledger_account *cr,
                              int64_t pending, int64_t posted)
{
    struct ledger_account d = *dr, c = *cr;
    if (!add_ok(&d.debits_pending, pending) || !add_ok(&d.debits_posted, posted) ||
        !add_ok(&c.credits_pending, pending) || !add_ok(&c.credits_posted, posted))
        return LEDGER_E_OVERFLOW;
    *dr = d;
    *cr = c;
    return LEDGER_OK;
}

enum ledger_code ledger_move(struct ledger_account *dr, struct ledger_account *cr, int64_t amount)
{
    enum ledger_code rc = check_pair(dr, cr, amount);
    return rc != LEDGER_OK ? rc : shift(dr, cr, 0, amount);
}

enum ledger_code ledger_hold(struct ledger_account *dr, struct ledger_account *cr, int64_t amount,
                             uint64_t now_ms, uint64_t timeout_ms, struct ledger_hold *h)
{
    enum ledger_code rc = check_pair(dr, cr, amount);
    if (rc != LEDGER_OK)
        return rc;
    uint64_t expires = 0;
    if (timeout_ms && __builtin_add_overflow(now_ms, timeout_ms, &expires))
        return LEDGER_E_OVERFLOW;
    if ((rc = shift(dr, cr, amount, 0)) != LEDGER_OK)
        return rc;
    *h = (struct ledger_hold){.amount = amount, .expires_ms = expires, .status = LEDGER_PENDING};
    return LEDGER_OK;
}

enum ledger_code ledger_hold_state(const struct ledger_hold *h)
{
    switch (h->status) {
    case LEDGER_PENDING:
        return LEDGER_OK;
    case LEDGER_POSTED:
        return LEDGER_E_POSTED;
    case LEDGER_VOIDED:
        return LEDGER_E_VOIDED;
    case LEDGER_EXPIRED:
        return LEDGER_E_EXPIRED;
    }
    return LEDGER_E_VOIDED;
}

static bool past_due(const struct ledger_hold *h, uint64_t now_ms)
{
    return h->expires_ms && now_ms >= h->expires_ms;
}

/* Release the reservation and move @posted of it (0 <= posted <= h->amount). */
static enum ledger_code resolve(struct ledger_account *dr, struct ledger_account *cr,
                                struct ledger_hold *h, int64_t posted,
                                enum ledger_pending_status to)
{
    enum ledger_code rc = shift(dr, cr, -h->amount, posted);
    if (rc != LEDGER_OK)
        return rc;
    h->posted = posted;
    h->status = to;
    return LEDGER_OK;
}

enum ledger_code ledger_post(struct ledger_account *dr, struct ledger_account *cr,
                             struct ledger_hold *h, int64_t amount, uint64_t now_ms)
{
    enum ledger_code rc = ledger_hold_state(h);
    if (rc != LEDGER_OK)
        return rc;
    if (past_due(h, now_ms))
        return LEDGER_E_EXPIRED;
    if (amount <= 0)
        return LEDGER_E_AMOUNT;
    if (amount > h->amount)
        return LEDGER_E_POST_EXCEEDS;
    return resolve(dr, cr, h, amount, LEDGER_POSTED);
}

enum ledger_code ledger_void(struct ledger_account *dr, struct ledger_account *cr,
                             struct ledger_hold *h)
{
    enum ledger_code rc = ledger_hold_state(h);
    return rc != LEDGER_OK ? rc : resolve(dr, cr, h, 0, LEDGER_VOIDED);
}

enum ledger_code ledger_expire(struct ledger_account *dr, struct ledger_account *cr,
                               struct ledger_hold *h, uint64_t now_ms)
{
    enum ledger_code rc = ledger_hold_state(h);
    if (rc != LEDGER_OK)
        return rc;
    if (!past_due(h, now_ms))
        return LEDGER_E_NOT_DUE;
    return resolve(dr, cr, h, 0, LEDGER_EXPIRED);
}

void ledger_sum_account(struct ledger_sum *s, const struct ledger_account *a)
{
    s->debits_pending += a->debits_pending;
    s->debits_posted += a->debits_posted;
    s->credits_pending += a->credits_pending;
    s->credits_posted += a->credits_posted;
    s->accounts++;
    if ((a->flags & LEDGER_NO_OVERDRAFT) && ledger_available(a) < 0)
        s->negative++;
}

bool ledger_sum_ok(const struct ledger_sum *s)
{
    return s->debits_posted == s->credits_posted && s->debits_pending == s->credits_pending &&
           s->negative == 0;
}
