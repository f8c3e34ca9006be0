/* The agreement engine: signed texts that a quorum of voters must send identically before the
 * leader commits them (DESIGN.md, "Agreement"). One engine, three users: agreed observations
 * (node/agree.c), quote votes (node/quote.c) and the oracle's result signatures
 * (node/oracle.c). It knows nothing of HTTP or Raft: the network and Raft sides are callbacks (struct agr_env), so
 * unit tests drive it without processes (tests/unit/test_agreement_engine.c).
 *
 * The happy path. A node computes or reads a text about a subject (an observation's bytes, a
 * round's prices), signs the user's digest of it and puts it in its outbox (agr_outbox_put).
 * The outbox sends it to the current leader (env.send); the user calls agr_outbox_sent with
 * the answer. On the leader, the user's handler parses the message and calls agr_vote: the
 * sender must be a member with a registered key (env.member_key) whose signature verifies
 * over the digest (env.digest), and its text joins the subject's tally. As soon as the voters
 * of the CURRENT configuration (env.voters) that sent one identical text are a majority, the
 * engine proposes it with their signatures (env.propose); the user calls agr_proposed with the
 * outcome. Committed: the subject is agreed, every voter whose text differs is a dissenter
 * (counted once per subject and node, reported through env.event), and the entry is retired
 * (at once, or after retain_ms for late votes). Every node's outbox drops an entry once the
 * user says the subject is settled (env.settled: committed locally) or it is superseded.
 *
 * Rounds. A subject may be voted on in numbered rounds (a quote round is the log index of its
 * CMD_QUOTE_ROUND; observations use round 0). A vote for a newer round supersedes the tally:
 * the older round's votes are dropped and it is never proposed again (an answer about a
 * proposal of the old round changes nothing); a vote for an older round is refused as stale.
 * The outbox likewise replaces an entry by a newer round or corrected bytes of the same round.
 * The round scheduler (agr_sched_*) keeps, per subject, when the next round is due, the round
 * in flight and the current round, for a leader that starts rounds (quotes).
 *
 * Failure modes.
 * * The leader changes, or its term does: every outbox entry not yet settled is sent again to
 *   the new leader (an entry remembers the leader and term that accepted it), so a new leader
 *   hears everything still pending (its tally starts empty).
 * * A send is refused or fails: the entry is sent again at the next pump (agr_outbox_pump,
 *   run by the user's timer).
 * * The outbox is full (outbox_cap): the OLDEST entry is dropped to make room, and counted
 *   (agr_stats.outbox_dropped). The newest texts matter more (live events, the current round),
 *   and a dropped observation can still be agreed from the other nodes' votes.
 * * A proposal fails (no leader any more, a full queue): the subject stays in the tally and is
 *   proposed again at the next agr_tick while this node leads. A proposal whose command the
 *   state machine refuses as stale ends the round without publication. A subject agreed
 *   through another leader's proposal is found by agr_tick, which asks env.agreed about the
 *   subjects waiting for over a second.
 * * A sender that is not a member, or whose signature does not verify: refused (AGR_NOT_MEMBER,
 *   AGR_BAD_SIGNATURE), counted, nothing changes. The same vote twice counts once; a member that
 *   sends another text for the same round changes its vote (a provider correcting itself).
 * * No text reaches a quorum for alert_ms: the subject is stalled; agr_tick reports it once
 *   (AGR_EV_STALLED) and counts it, and agr_stalled says how many are stalled now.
 *
 * The engine never calls Raft or the network itself. Proposals (env.propose) are made only from
 * agr_vote (an HTTP handler) and agr_tick (a timer), never from what the state machine's
 * callbacks may call (agr_proposed, agr_agreed, agr_supersede, agr_outbox_* and agr_sched_*
 * propose nothing): raft must not be re-entered from inside its apply.
 */
#ifndef PARLAY_AGREEMENT_H
#define PARLAY_AGREEMENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGR_MAX_NODES 64
#define AGR_SUBJECT_MAX 96
#define AGR_SIG_HEX 129 /* compact r||s as hex, with the NUL */

struct agr;

/* An outbox entry as the user's send callback sees it. */
struct agr_entry {
    char subject[AGR_SUBJECT_MAX];
    uint64_t round;
    char *text;
    char sig[AGR_SIG_HEX];
};

/* What a send's completion must give back (copy it into the send's context). */
struct agr_ticket {
    uint64_t id;
    unsigned gen;
    uint64_t leader, term;
};

enum agr_event {
    AGR_EV_DISSENT, /* @node sent @text, which differs from the agreed one */
    AGR_EV_STALLED, /* @subject waits for agreement past alert_ms; @node: how many texts */
    AGR_EV_AGREED,  /* @subject (@round) was committed with @text */
    AGR_EV_GIVEN_UP, /* the scheduler gave up @subject's round @round (no quorum in time) */
};

/* The network and Raft sides. Every callback may be called from any engine function. */
struct agr_env {
    void *arg;
    uint64_t (*now_ms)(void *arg);
    /* The leader's id (0: none known) and the current term. */
    uint64_t (*leader)(void *arg, uint64_t *term);
    bool (*is_leader)(void *arg);
    /* The number of voters in the current configuration; *@is_voter: whether @id is one. */
    unsigned (*voters)(void *arg, uint64_t id, bool *is_voter);
    /* @node's registered public key (66 hex digits) into @pk; false if it is not a member with
     * a registered key. */
    bool (*member_key)(void *arg, uint64_t node, char pk[67]);
    /* The 32-byte message a voter signs for @text about @subject in @round. */
    void (*digest)(void *arg, const char *subject, uint64_t round, const char *text,
                   uint8_t out[32]);
    /* Send @e to @leader; the user calls agr_outbox_sent(@t, accepted) when it is answered.
     * Returns 0, or -1 if it could not be sent (the entry is tried again later). */
    int (*send)(void *arg, const struct agr_entry *e, const struct agr_ticket *t);
    /* Is @subject (@round, @text) settled on this node (its agreement committed locally)?
     * @delivered: the leader accepted this text at least once. */
    bool (*settled)(void *arg, const char *subject, uint64_t round, const char *text,
                    bool delivered);
    /* Propose @text for @subject in @round with @sigs ([{node, signature}], stolen); the user
     * calls agr_proposed when the command's outcome is known. 0, or -1 if it could not be
     * proposed (tried again at the next agr_tick). */
    int (*propose)(void *arg, const char *subject, uint64_t round, const char *text,
                   json_t *sigs);
    /* The text already agreed for @subject in the replicated state (malloc'd), or NULL; may
     * be NULL itself. Lets a leader compare a late vote with what was agreed before it led. */
    char *(*agreed)(void *arg, const char *subject);
    /* Something worth reporting (may be NULL). */
    void (*event)(void *arg, enum agr_event ev, const char *subject, uint64_t round,
                  uint64_t node, const char *text);
};

struct agr_options {
    unsigned outbox_cap;  /* at most this many outbox entries (0: 65,536) */
    uint64_t outbox_ttl_ms; /* an entry is dropped this long after it was put (0: never) */
    uint64_t retain_ms;   /* an agreed subject stays this long for late votes (0: retired) */
    uint64_t expire_ms;   /* a subject without agreement is forgotten after this (0: never) */
    uint64_t alert_ms;    /* a subject without agreement this long is stalled (0: never) */
};

struct agr_stats {
    uint64_t received, refused, stale, proposed, agreed, alerts, outbox_dropped;
    unsigned outbox, pending;
    uint64_t dissent[AGR_MAX_NODES + 1];
};

struct agr *agr_new(const struct agr_env *env, const struct agr_options *opt);
void agr_free(struct agr *a);
/* The counters (the user adds its own refusals of malformed messages to .refused). */
struct agr_stats *agr_stats(struct agr *a);

/* ---- the outbox (every node) -------------------------------------------------------------- */

/* Put @text about @subject in @round, signed @sig (128 hex digits). It replaces an entry of
 * the subject with an older round or the same round (corrected bytes); an entry of an older
 * round than the one held is ignored (1). 0 when put. */
int agr_outbox_put(struct agr *a, const char *subject, uint64_t round, const char *text,
                   const char *sig);
/* Entries of @subject up to @round (UINT64_MAX: all) are done: dropped at the next pump. */
void agr_outbox_done(struct agr *a, const char *subject, uint64_t round);
/* Drop what is settled or done, send what the current leader has not accepted. */
void agr_outbox_pump(struct agr *a);
/* The answer to a send: @accepted if the leader took it. */
void agr_outbox_sent(struct agr *a, const struct agr_ticket *t, bool accepted);

/* ---- the tally (leader) ------------------------------------------------------------------- */

enum agr_vote_result {
    AGR_COUNTED = 0,        /* counted (also: the same vote again) */
    AGR_LATE = 1,           /* the subject is agreed already: compared (dissent), not counted */
    AGR_STALE = 2,          /* a vote for a round older than the subject's current one */
    AGR_NOT_MEMBER = -1,    /* not a member with a registered key */
    AGR_BAD_SIGNATURE = -2, /* the signature does not verify with its registered key */
};
/* Check and count @node's vote (@sig: 128 hex digits) for @text about @subject in @round,
 * and propose the subject if a text now has a quorum. */
enum agr_vote_result agr_vote(struct agr *a, uint64_t node, const char *subject, uint64_t round,
                              const char *text, const char *sig);
/* agr_vote in two steps, for a user that checks more in between: the membership and
 * signature checks (AGR_COUNTED when they pass; a refusal is counted), then the counting. */
enum agr_vote_result agr_check(struct agr *a, uint64_t node, const char *subject,
                               uint64_t round, const char *text, const char *sig);
enum agr_vote_result agr_count(struct agr *a, uint64_t node, const char *subject,
                               uint64_t round, const char *text, const char *sig);
/* The outcome of a proposal made through env.propose: @committed with @text (the agreed
 * text, which may differ from the one proposed if another was agreed before), @stale (the
 * state machine refused the round as superseded: it ends without publication), or neither
 * (failed: proposed again later). */
void agr_proposed(struct agr *a, const char *subject, uint64_t round, bool committed,
                  bool stale, const char *text);
/* @subject is agreed with @text (seen applied; a proposal in flight answers itself). agr_tick
 * also asks env.agreed about every pending subject, for agreements it did not propose. */
void agr_agreed(struct agr *a, const char *subject, const char *text);
/* Round @round of @subject starts: older rounds' votes are dropped. */
void agr_supersede(struct agr *a, const char *subject, uint64_t round);
/* Mark @subject (pending, not agreed) with the user's flag @flag (e.g. "dangerous"); true the
 * first time (so that the user acts once per subject). */
bool agr_flag(struct agr *a, const char *subject, unsigned flag);
/* Is round @round of @subject over on this leader (agreed, or ended as stale)? */
bool agr_is_done(struct agr *a, const char *subject, uint64_t round);
/* Retry failed proposals, forget old subjects, raise the stall alert (leader; a timer). */
void agr_tick(struct agr *a);
/* Forget every pending subject (this node stopped leading). */
void agr_reset(struct agr *a);
/* How many subjects are stalled now. */
unsigned agr_stalled(struct agr *a);
/* Whether the leader is tallying a subject starting with @prefix (a vote received, not agreed
 * yet): the node's settlement keeps its chunks small meanwhile (node/bets_hold.c). */
bool agr_tallying(struct agr *a, const char *prefix);
/* The leader's subjects with votes and no agreement: {subject: [{<text_key>: text, nodes}]}. */
json_t *agr_pending_json(struct agr *a, const char *text_key);
/* The dissent counters as {"node": count}. */
json_t *agr_dissent_json(struct agr *a);

/* ---- the round scheduler (leader) --------------------------------------------------------- */

/* A named list entry (the engine's lists of subjects and of slots start with one). */
struct agr_link {
    struct agr_link *next;
    char name[AGR_SUBJECT_MAX];
};

struct agr_slot {
    struct agr_link link; /* link.name: the subject */
    uint64_t due_ms;      /* the next round is due then */
    uint64_t started_ms;  /* a round in flight since then, 0: none */
    uint64_t round;       /* the subject's current round (0: none yet) */
    uint64_t activity_ms; /* the user's: when the subject last saw activity */
    int phase;            /* the user's: e.g. pre-match or live */
};

/* The slot of @subject (created if @create, due at once). */
struct agr_slot *agr_sched_find(struct agr *a, const char *subject, bool create);
void agr_sched_remove(struct agr *a, const char *subject);
void agr_sched_clear(struct agr *a);
unsigned agr_sched_count(struct agr *a);
/* The slots in no particular order: for (s = agr_sched_first(a); s; s = agr_sched_after(s)). */
struct agr_slot *agr_sched_first(struct agr *a);
struct agr_slot *agr_sched_after(struct agr_slot *s);
/* Round @round of @s has started (it is now the current one; older votes are dropped). */
void agr_sched_round(struct agr *a, struct agr_slot *s, uint64_t round);
/* The round in flight is over: the next one is due in @every_ms (0: at once). */
void agr_sched_next(struct agr *a, struct agr_slot *s, uint64_t every_ms);
/* @fn for each slot due now (no round in flight), at most @max; a round in flight longer than
 * @timeout_ms is given up first (counted in *@given_up). Returns how many @fn started (it
 * returns true when it started a round). */
unsigned agr_sched_due(struct agr *a, unsigned max, uint64_t timeout_ms, uint64_t *given_up,
                       bool (*fn)(void *arg, struct agr_slot *s), void *arg);

/* ---- signatures --------------------------------------------------------------------------- */

/* Does @sig_hex (128 hex digits, compact r||s) verify with @pk_hex (66) over @digest? */
bool agr_verify(const char *pk_hex, const char *sig_hex, const uint8_t digest[32]);

#endif
