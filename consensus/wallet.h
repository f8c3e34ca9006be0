/* Wallets: the accounts cluster's double-entry ledger (DESIGN.md "Money"; research note
 * wallet-bets.md §1 and §5). The rules of a single movement are consensus/ledger.c's; this domain
 * keeps the accounts and the immutable transfers in LMDB, and holds the French player-protection
 * rules, so that no path can move money around them.
 *
 * Accounts (integer euro cents; balance = credits posted - debits posted):
 *   player:<id>        a player's cash; never overdrawn, holds included (LEDGER_NO_OVERDRAFT)
 *   debt:<id>          what a player owes after a refund or chargeback larger than what was left;
 *                      while it is below zero the player cannot deposit-and-play: deposits repay
 *                      it first and holds are refused (debt_outstanding)
 *   sys:clearing       the payment provider (deposits come from it, paid withdrawals go to it)
 *   sys:payouts        withdrawals held, then in flight to the provider
 *   sys:stakes:<c>     stakes held for sport cluster <c> (bets' holds credit it)
 *   sys:house          the operator (posted stakes in, payouts out)
 *   sys:returns_due    balances of closed provisional accounts that had no payment account to
 *                      go back to (an operator pays them out by correction)
 * Over all accounts the balances sum to zero.
 *
 * Happy paths:
 *   - deposit: a player opens a deposit (limits checked, the amount counts in the 7-day window at
 *     once); the node opens a payment at the provider with the deposit id as reference and records
 *     its hosted page (link); the provider's signed webhook "payment succeeded" (any node) moves
 *     the amount sys:clearing -> player:<id> (and repays a debt first), once per deposit.
 *   - withdrawal (identity-verified players, to the payment account recorded at deposit): the
 *     amount is held at once player -> sys:payouts; the leader sends the payout (idempotent by the
 *     withdrawal id, retried until the provider takes it: withdraw_sent); "paid" posts the hold and
 *     moves it on to sys:clearing, "failed" voids it (the money returns).
 *   - bet holds (sport clusters): place (id = the bet id, player -> sys:stakes:<c>, with a
 *     timeout), then exactly one of post (the stake part to the house, the rest returns, and the
 *     payout house -> player in the same command), void, or expiry (the leader proposes
 *     hold_expire; its stamped time decides which holds are due, so every node agrees).
 *   - corrections: an operator's transfer naming the transfer it corrects, with a reason.
 *   - re-settlement (wallet_resettle.c): a bet settled again after a corrected result; the
 *     hold's money is corrected to the new amounts by correcting transfers (the debt account
 *     takes what the player no longer has), once per generation.
 *
 * Player protection (checked in apply, at the leader's stamped time):
 *   - limits: deposit_7d and stake_7d (rolling 7 days) and auto_withdraw. A deposit needs a deposit
 *     limit set, a hold a stake limit (limits_required). Lowering (or a first value) applies at
 *     once; raising applies 48 h later (a pending raise; a lower value meanwhile cancels it).
 *   - self-exclusion from 24 h to 12 months, immediate, never shortened: no deposit, no hold.
 *   - an operator's block (a reason kept): no deposit, no hold, no withdrawal.
 *   - provisional accounts: deposits and bets before identity verification, no withdrawal
 *     (not_verified); one month after registration an unverified account is deactivated (no
 *     deposit, no hold: account_deactivated); two months after registration the leader's
 *     wallet_close (stamped with its time, like hold expiry) closes it (account_closed, for
 *     good) and returns its available balance: as a withdrawal "close:<player>:<n>" to the
 *     payment account of its deposits (the leader sends it like any other), or, when it never
 *     had one, to sys:returns_due. Holds still pending are left to resolve; what they return
 *     later goes back at the next sweep.
 *   - automatic withdrawal: when a credit (a deposit, a bet's payout) leaves a verified
 *     player's available balance above their auto_withdraw threshold, the same command holds
 *     the excess as withdrawal "auto:<player>:<n>" to their payment account (not when blocked or
 *     without a payment account); the leader sends it like any other.
 *   - the national gambling-ban list (node/banlist.h): the node that finds a player listed
 *     commits wallet_ban; deposits and holds are then refused (banned). Withdrawals stay open.
 *   - TRJ: posted stakes and payouts per calendar year (UTC) are counted for the licence.
 *
 * Failure modes, each a problem+json with a stable `code`: insufficient_funds, deposit_limit,
 * stake_limit, limits_required, self_excluded, account_blocked, account_deactivated,
 * account_closed, banned,
 * debt_outstanding, not_verified, no_payment_account, hold_exists (same id, other fields),
 * hold_already_posted / hold_already_voided / hold_expired (a second, different resolve; the same
 * resolve again answers the first result), post_exceeds_hold, unknown_cluster, no_such_player,
 * no_such_hold, amount_invalid, invalid_limits, invalid_exclusion, deposit_state,
 * withdrawal_state, amount_mismatch, no_such_transfer.
 *
 * Records (JSON, sorted keys):
 *   wallet_accounts    account id -> {id, kind, dp, dpo, cp, cpo, flags, seq}
 *   wallet_transfers   transfer id -> {id, kind, debit, credit, amount, ref, at_ms, at, ...}
 *                      (a hold: pending: true; a resolution: resolves, released; a correction:
 *                      corrects, reason) - never changed once written
 *   wallet_statement   account id NUL u64be seq -> transfer id
 *   wallet_holds       hold id -> {id, kind, player, cluster, debit, credit, amount, status,
 *                      posted, payout, expires_ms, placed_ms, result}
 *   wallet_expiry      u64be expires_ms ++ hold id -> "" (pending holds with a deadline)
 *   wallet_profiles    player id -> {limits, pending, excluded_until_ms, blocked, banned,
 *                      closed, account,
 *                      window: {deposits: [{id, at_ms, amount}]}}
 *   wallet_stakes_7d   player NUL -> u64be sum; player NUL u64be at_ms ++ hold id -> u64be
 *                      amount: the stakes of the 7-day window (wallet_window.c)
 *   wallet_deposits    deposit id -> {id, player, amount, status, payment_id, url, opened_ms}
 *   wallet_withdrawals withdrawal id -> {id, player, amount, status, account, payout_id}
 *   wallet_events      provider NUL event id -> {kind, at_ms}: each webhook event once
 *   wallet_clusters    sport cluster name -> {name, keys: [secp256k1 public keys, hex]}
 */
#ifndef PARLAY_WALLET_H
#define PARLAY_WALLET_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fsm;

#define WALLET_ID_MAX 80              /* transfer, hold, deposit, withdrawal ids: [A-Za-z0-9_.:-] */
#define WALLET_WINDOW_MS (7ull * 24 * 3600 * 1000)
#define WALLET_RAISE_DELAY_MS (48ull * 3600 * 1000)
#define WALLET_PROVISIONAL_MS (30ull * 24 * 3600 * 1000)
#define WALLET_CLOSE_MS (61ull * 24 * 3600 * 1000) /* two months after registration */
#define WALLET_CLOSE_BATCH 256         /* accounts closed by one wallet_close command */
#define WALLET_EXCLUDE_MIN_H 24
#define WALLET_EXCLUDE_MAX_H (366 * 24)
#define WALLET_HOLD_TIMEOUT_MAX_MS (30ull * 24 * 3600 * 1000)
#define WALLET_HOLD_BATCH_MAX 512      /* hold operations in one hold_batch command */
#define WALLET_EXPIRE_BATCH 256        /* holds expired by one hold_expire command */
#define WALLET_CLUSTER_KEYS_MAX 16
#define WALLET_TRJ_CAP_PERMILLE 850

bool wallet_id_valid(const char *id);
/* A sport cluster's name: 1 to 32 of [a-z0-9_-]. */
bool wallet_cluster_name_valid(const char *name);

/* What a sport cluster's member signs (secp256k1, compact, with its node key) to call the
 * wallet's hold API: SHA-256("parlay-wallet-v1" NUL cluster NUL timestamp NUL method NUL path NUL
 * body). Sent as headers parlay-cluster, parlay-timestamp (unix seconds) and parlay-signature
 * (128 hex); the accounts node accepts it within 30 s of its clock from a registered key. */
void wallet_request_digest(const char *cluster, const char *timestamp, const char *method,
                           const char *path, const void *body, size_t len, uint8_t out[32]);

/* ---- queries (read transaction from fsm_read_begin; JSON is the caller's) ---- */

/* The player's wallet at @now_ms: balance, available, held, withdrawable, debt, limits in force,
 * pending raises, exclusion, what the 7-day windows have used, the payment account. */
json_t *wallet_view(struct fsm *f, MDB_txn *txn, const char *player, uint64_t now_ms);
/* An account's transfers, newest first: up to @limit after position @before (0: from the
 * newest), {items, next} where next is the position to continue from (absent at the end). */
json_t *wallet_statement(struct fsm *f, MDB_txn *txn, const char *account, uint64_t before,
                         unsigned limit);
json_t *wallet_account_get(struct fsm *f, MDB_txn *txn, const char *account);
json_t *wallet_hold_get(struct fsm *f, MDB_txn *txn, const char *id);
/* A sport cluster's holds in id order after @after ("" or NULL: from the first), at most
 * @limit: {"items": [hold records, each with "transfers": the transfers that placed and
 * resolved it], "next": the last id when more may follow, else null}. For the bets audit. */
json_t *wallet_holds_page(struct fsm *f, MDB_txn *txn, const char *cluster, const char *after,
                          unsigned limit);
json_t *wallet_deposit_get(struct fsm *f, MDB_txn *txn, const char *id);
json_t *wallet_withdrawal_get(struct fsm *f, MDB_txn *txn, const char *id);
json_t *wallet_cluster_get(struct fsm *f, MDB_txn *txn, const char *name);
json_t *wallet_clusters(struct fsm *f, MDB_txn *txn);
/* Withdrawals held but not yet taken by the provider (the leader sends them), oldest first. */
json_t *wallet_withdrawals_to_send(struct fsm *f, MDB_txn *txn, unsigned limit);
/* Whether a wallet_close at @now_ms would close an account (a provisional account two months
 * old with money available). Walks the player accounts: the leader asks every 10 minutes. */
bool wallet_close_due(struct fsm *f, MDB_txn *txn, uint64_t now_ms);
/* The players with a wallet profile (whoever can deposit or bet has one: limits come first)
 * in id order, from just after @after ("" or NULL: the first), up to @limit: [{player_id,
 * banned: the ban's source or null}]. The leader's ban-list sweep, a page at a time. */
json_t *wallet_profile_bans(struct fsm *f, MDB_txn *txn, const char *after, unsigned limit);
/* The earliest deadline of a pending hold (0: none). */
uint64_t wallet_next_expiry(struct fsm *f, MDB_txn *txn);
/* The invariants: {ok, accounts, transfers, holds, sums, problems[]} - the balances sum to zero,
 * every account's counters equal the sums of its transfers, no player account is overdrawn,
 * every hold is pending (with its deadline indexed) or resolved exactly once. */
json_t *wallet_check(struct fsm *f, MDB_txn *txn);
/* Return to player for calendar year @year: {year, stakes, payouts, trj, cap, over_cap}. */
json_t *wallet_trj(struct fsm *f, MDB_txn *txn, int year);

/* ---- payloads (json_t arguments are stolen) ---- */

/* Any of the three limits may be absent (json NULL or < 0 to leave it as it is). */
json_t *wallet_cmd_limits(const char *player, int64_t deposit_7d, int64_t stake_7d,
                          int64_t auto_withdraw);
json_t *wallet_cmd_exclude(const char *player, int64_t hours);
json_t *wallet_cmd_block(const char *player, bool blocked, const char *reason);
json_t *wallet_cmd_deposit_open(const char *player, const char *deposit_id, int64_t amount);
json_t *wallet_cmd_deposit_link(const char *deposit_id, const char *payment_id, const char *url);
/* A verified payment-provider event (@kind: payment_succeeded, payment_failed,
 * payment_refunded, chargeback, payout_paid, payout_failed). */
json_t *wallet_cmd_pay_event(const char *provider, const char *event_id, const char *kind,
                             const char *object_id, const char *reference, int64_t amount,
                             const char *account);
json_t *wallet_cmd_withdraw_open(const char *player, const char *withdrawal_id, int64_t amount);
json_t *wallet_cmd_withdraw_sent(const char *withdrawal_id, const char *payout_id);
json_t *wallet_cmd_hold_place(const char *hold_id, const char *player, const char *cluster,
                              int64_t amount, uint64_t timeout_ms);
json_t *wallet_cmd_hold_post(const char *hold_id, const char *cluster, int64_t stake,
                             int64_t payout);
json_t *wallet_cmd_hold_void(const char *hold_id, const char *cluster);
json_t *wallet_cmd_hold_expire(void);
/* CMD_HOLD_RESETTLE: a bet's hold settled again at @generation (>= 1) so that its money
 * amounts to @stake kept and @payout paid (wallet_resettle.c). */
json_t *wallet_cmd_hold_resettle(const char *hold_id, const char *cluster, int64_t generation,
                                 int64_t stake, int64_t payout, const char *reason);
/* CMD_HOLD_BATCH {cluster, items: [{op: "place", hold_id, player_id, amount, timeout_ms} |
 * {op: "post", hold_id, stake, payout} | {op: "void", hold_id}]} (1 to WALLET_HOLD_BATCH_MAX):
 * each item applied in order exactly as the single command of its op would be (its own result,
 * refusals included; a refused item does not refuse the others). 200 {cluster, results:
 * [{hold_id, status, body}]} in the items' order; 422 invalid_batch (no items, too many),
 * 403 unknown_cluster. @items is borrowed. */
json_t *wallet_cmd_hold_batch(const char *cluster, json_t *items);
/* The ban list's verdict on a player (@source: "ban_list"). */
json_t *wallet_cmd_ban(const char *player, bool banned, const char *source);
json_t *wallet_cmd_close(void);
json_t *wallet_cmd_correct(const char *id, const char *debit, const char *credit, int64_t amount,
                           const char *corrects, const char *reason);
json_t *wallet_cmd_cluster(const char *name, json_t *keys);

#endif
