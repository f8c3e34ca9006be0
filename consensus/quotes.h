/* Markets and agreed quotes: the replicated side of live quoting (DESIGN.md "Agreement" 2 and
 * "Quotes, bets, results").
 *
 * One market record per fixture (db "markets", key: fixture id), created with the agreed
 * fixture:
 *   {fixture, sport, status, version, index, phase, published_at, signatures, prices,
 *    round: {index, inputs}, suspended_index, reason, epoch, live: {...}, updated_at}
 * status: "pending" (no agreed prices yet), "open", "suspended" (a dangerous event: it reopens
 * only with prices computed after it), "closed" (the result is agreed; final).
 *
 * CMD_QUOTE_ROUND {fixture}: the leader asks every node to price @fixture at this entry's index.
 *   Apply captures the inputs from the state at that index (result 201: {fixture, index,
 *   inputs}) and keeps them as the market's current round. Refused: no market (404), closed or
 *   a game whose final whistle went (409). A fixture agreed before markets existed (an older
 *   database) gets its pending market here, from the events agreed so far.
 * CMD_QUOTE_PUBLISHED {fixture, index, prices, signatures: [{node, signature}]}: a quorum's
 *   identical votes for the round at @index. Apply checks that @index is the market's current
 *   round, later than its last suspension, that @prices is canonical JSON text (an object; the
 *   compact, key-sorted dump of itself) and every signature (a distinct member's registered key
 *   over quote_digest); then assigns the next version, stores the quote (db "quotes", key:
 *   version) and opens the market. A refusal is 409 (stale or closed) or 422 (malformed).
 * CMD_MARKETS_SUSPEND {fixture, reason, subject?, node?}: a member told the leader of a
 *   dangerous event that is not agreed yet. An open market is suspended; in any state, no round
 *   at or before this index can open it any more.
 * Agreed observations drive markets too (quotes_on_agreed): a fixture creates its pending
 *   market; kick-off, a goal, an own goal, a penalty (awarded, scored, missed), a red card and
 *   the final whistle suspend; kick-off makes the fixture live; a result closes the market (if
 *   any), finishes the fixture from any status that is not final (void: cancels it; an agreed
 *   result is authoritative, so "scheduled" may go straight to "finished") and, when final,
 *   becomes the next rating input
 *   (db "results_order": n -> fixture id, meta "results_n"; the pre-match model fits on the
 *   first n agreed results).
 * Every publication, suspension and close appends a stream event (db "quote_events", key:
 *   seq from 1): {id, type: "published"|"suspended"|"closed", fixture, sport, status, version,
 *   entry (the log index that caused it), at, reason?}; the stream adds a publication's index,
 *   phase, event_seq, prices and signature count. Ids are the same on every node, so a stream
 *   resumes on any node.
 */
#ifndef PARLAY_QUOTES_H
#define PARLAY_QUOTES_H

#include <jansson.h>
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

struct fsm;

#define QUOTE_PRICES_MAX 16384 /* bytes of a prices text */

/* The message a node signs for its prices: SHA-256 over
 *   "parlay-quote-v1" NUL cluster NUL fixture NUL index (decimal) NUL prices. */
void quote_digest(const char *cluster, const char *fixture, uint64_t index, const char *prices,
                  uint8_t out[32]);

/* Queries (read transaction from fsm_read_begin). */
json_t *quotes_market_get(struct fsm *f, MDB_txn *txn, const char *fixture);
/* The same record, parsed once while its stored bytes stay the same and shared: the caller
 * gets a reference and must NOT modify it (copy what it keeps). For hot readers (a bet). */
json_t *quotes_market_shared(struct fsm *f, MDB_txn *txn, const char *fixture);
json_t *quotes_get(struct fsm *f, MDB_txn *txn, uint64_t version);

struct market_filter {
    const char *status;  /* NULL: any */
    const char *phase;   /* "pre" | "live" | NULL */
    const char *after;   /* paging: fixture ids strictly after this one */
    unsigned limit;
};
/* {"items": [market records], "next": cursor-or-null} */
json_t *quotes_market_list(struct fsm *f, MDB_txn *txn, const struct market_filter *flt);

/* Ids of agreed fixtures of the cluster's sport that are not over and have no market yet
 * (agreed before markets existed); a round for one creates its market. At most @limit. */
json_t *quotes_unmarketed(struct fsm *f, MDB_txn *txn, unsigned limit);

/* Stream events with id > @after, at most @limit, in order (a JSON array). */
json_t *quotes_events_after(struct fsm *f, MDB_txn *txn, uint64_t after, unsigned limit);
uint64_t quotes_last_event(struct fsm *f, MDB_txn *txn);

/* Rating inputs: the number of agreed final results, and the @n-th (from 1) as
 * {fixture, home, away, kickoff, home_goals, away_goals}, or NULL. */
uint64_t quotes_results_count(struct fsm *f, MDB_txn *txn);
json_t *quotes_result_nth(struct fsm *f, MDB_txn *txn, uint64_t n);

/* The payloads (see cmd_fill): CMD_QUOTE_ROUND {fixture}; CMD_QUOTE_PUBLISHED {fixture, index,
 * prices, signatures} (@signatures stolen); CMD_MARKETS_SUSPEND {fixture, reason, subject,
 * node}. */
struct cmd;
char *quotes_cmd_round(struct cmd *c, const char *fixture);
char *quotes_cmd_published(struct cmd *c, const char *fixture, uint64_t index,
                           const char *prices, json_t *signatures);
char *quotes_cmd_suspend(struct cmd *c, const char *fixture, const char *reason,
                         const char *subject, uint64_t node);

/* A trader suspended @fixture (consensus/trader.c): its markets, if any and not closed, are
 * suspended at this entry with reason "trader". */
int quotes_trader_suspend(struct fsm *f, MDB_txn *txn, const char *fixture, uint64_t time_ms);

/* An observation was just agreed (observations.c calls it in the same transaction). */
struct feed_obs;
int quotes_on_agreed(struct fsm *f, MDB_txn *txn, const struct feed_obs *o, uint64_t time_ms);

#endif
