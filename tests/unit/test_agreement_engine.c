/* The agreement engine (consensus/agreement.h) driven by fake network and Raft sides: a
 * clock, a leader and term, a voter set, members' keys, and recorders for what it sends,
 * proposes and reports. No process, no loop.
 *
 *   tally      quorum on identical texts (majority of the CURRENT voters), none on split
 *              texts, duplicates count once, a changed vote replaces, non-members and bad
 *              signatures refused, a failed proposal retried, a late vote compared, an
 *              agreement proposed by an earlier leader found in the state
 *   dissent    flagged once per subject and node, after the agreement
 *   rounds     a newer round drops the old round's votes; its votes are stale; the answer
 *              about the old round's proposal publishes nothing
 *   outbox     resend after a leader change, a term change and a refused send; settled and
 *              done entries dropped; newer rounds and corrections replace; the bound drops
 *              the oldest and counts it
 *   alert      a stalled subject is reported once; a user's flag is raised once
 *   scheduler  due slots start rounds, a round in flight past its timeout is given up */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "consensus/agreement.h"
#include "tests/unit/unit_util.h"

#define MAXREC 32

struct sent {
    char subject[AGR_SUBJECT_MAX];
    uint64_t round;
    char text[64];
    struct agr_ticket t;
};

struct proposal {
    char subject[AGR_SUBJECT_MAX];
    uint64_t round;
    char text[64];
    json_t *sigs;
};

struct fake {
    uint64_t now, leader, term;
    bool leading, send_fails, propose_fails;
    uint64_t voters[8];
    unsigned nvoters;
    char settled[4][AGR_SUBJECT_MAX];
    const char *stored_subject, *stored_text; /* agreed in the "replicated state" */
    struct sent sent[MAXREC];
    unsigned nsent;
    struct proposal props[MAXREC];
    unsigned nprops;
    unsigned events[AGR_EV_GIVEN_UP + 1];
    uint64_t last_dissenter;
    struct agr *a;
};

static uint8_t SK[8][32]; /* member i signs with SK[i] (members 1..5; 9 is nobody) */

static uint64_t f_now(void *arg)
{
    return ((struct fake *)arg)->now;
}

static uint64_t f_leader(void *arg, uint64_t *term)
{
    struct fake *f = arg;
    *term = f->term;
    return f->leader;
}

static bool f_is_leader(void *arg)
{
    return ((struct fake *)arg)->leading;
}

static unsigned f_voters(void *arg, uint64_t id, bool *is_voter)
{
    struct fake *f = arg;
    *is_voter = false;
    for (unsigned i = 0; i < f->nvoters; i++)
        *is_voter |= f->voters[i] == id;
    return f->nvoters;
}

static bool f_member_key(void *arg, uint64_t node, char pk[67])
{
    (void)arg;
    if (node < 1 || node > 5)
        return false;
    util_pub_hex(SK[node], pk);
    return true;
}

static void f_digest(void *arg, const char *subject, uint64_t round, const char *text,
                     uint8_t out[32])
{
    (void)arg;
    char msg[256];
    int n = snprintf(msg, sizeof msg, "test-v1%c%s%c%llu%c%s", 0, subject, 0,
                     (unsigned long long)round, 0, text);
    EVP_Digest(msg, (size_t)n, out, NULL, EVP_sha256(), NULL);
}

static int f_send(void *arg, const struct agr_entry *e, const struct agr_ticket *t)
{
    struct fake *f = arg;
    if (f->send_fails)
        return -1;
    assert_true(f->nsent < MAXREC);
    struct sent *s = &f->sent[f->nsent++];
    snprintf(s->subject, sizeof s->subject, "%s", e->subject);
    snprintf(s->text, sizeof s->text, "%s", e->text);
    s->round = e->round;
    s->t = *t;
    return 0;
}

static bool f_settled(void *arg, const char *subject, uint64_t round, const char *text,
                      bool delivered)
{
    (void)round;
    (void)text;
    (void)delivered;
    struct fake *f = arg;
    for (int i = 0; i < 4; i++)
        if (!strcmp(f->settled[i], subject))
            return true;
    return false;
}

static int f_propose(void *arg, const char *subject, uint64_t round, const char *text,
                     json_t *sigs)
{
    struct fake *f = arg;
    if (f->propose_fails) {
        json_decref(sigs);
        return -1;
    }
    assert_true(f->nprops < MAXREC);
    struct proposal *p = &f->props[f->nprops++];
    snprintf(p->subject, sizeof p->subject, "%s", subject);
    snprintf(p->text, sizeof p->text, "%s", text);
    p->round = round;
    p->sigs = sigs;
    return 0;
}

static char *f_agreed(void *arg, const char *subject)
{
    struct fake *f = arg;
    return f->stored_subject && !strcmp(f->stored_subject, subject) ? strdup(f->stored_text)
                                                                    : NULL;
}

static void f_event(void *arg, enum agr_event ev, const char *subject, uint64_t round,
                    uint64_t node, const char *text)
{
    (void)subject;
    (void)round;
    (void)text;
    struct fake *f = arg;
    f->events[ev]++;
    if (ev == AGR_EV_DISSENT)
        f->last_dissenter = node;
}

static struct fake *fake_new(const struct agr_options *opt)
{
    struct fake *f = calloc(1, sizeof *f);
    f->now = 1000;
    f->leader = 1;
    f->term = 1;
    f->leading = true;
    f->nvoters = 3;
    for (unsigned i = 0; i < 3; i++)
        f->voters[i] = i + 1;
    struct agr_env env = {.arg = f,
                          .now_ms = f_now,
                          .leader = f_leader,
                          .is_leader = f_is_leader,
                          .voters = f_voters,
                          .member_key = f_member_key,
                          .digest = f_digest,
                          .send = f_send,
                          .settled = f_settled,
                          .propose = f_propose,
                          .agreed = f_agreed,
                          .event = f_event};
    f->a = agr_new(&env, opt);
    return f;
}

static void fake_free(struct fake *f)
{
    for (unsigned i = 0; i < f->nprops; i++)
        json_decref(f->props[i].sigs);
    agr_free(f->a);
    free(f);
}

/* Member @node's vote for @text, signed with @key's secret. */
static enum agr_vote_result vote_as(struct fake *f, uint64_t node, int key, const char *subject,
                                    uint64_t round, const char *text)
{
    uint8_t d[32];
    char sig[129];
    f_digest(f, subject, round, text, d);
    util_sign_hex(SK[key], d, sig);
    return agr_vote(f->a, node, subject, round, text, sig);
}

static enum agr_vote_result vote(struct fake *f, uint64_t node, const char *subject,
                                 uint64_t round, const char *text)
{
    return vote_as(f, node, (int)node, subject, round, text);
}

/* The nodes whose signatures proposal @i carries, as a bit set. */
static unsigned signers(struct fake *f, unsigned i)
{
    unsigned bits = 0;
    size_t k;
    json_t *s;
    json_array_foreach(f->props[i].sigs, k, s)
        bits |= 1u << json_integer_value(json_object_get(s, "node"));
    return bits;
}

/* How many voters the leader's status lists for @subject (all texts). */
static size_t pending_voters(struct fake *f, const char *subject, size_t *texts)
{
    json_t *p = agr_pending_json(f->a, "text");
    json_t *vs = json_object_get(p, subject);
    size_t n = 0, k;
    json_t *v;
    json_array_foreach(vs, k, v) n += json_array_size(json_object_get(v, "nodes"));
    if (texts)
        *texts = json_array_size(vs);
    json_decref(p);
    return n;
}

/* ---- the tally ------------------------------------------------------------------------- */

static void quorum_on_identical_texts(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    assert_false(agr_tallying(f->a, "s/"));
    assert_int_equal(vote(f, 1, "s/1", 0, "A"), AGR_COUNTED);
    assert_int_equal(f->nprops, 0);
    /* Tallied from the first vote until agreed (bets_hold keeps its chunks small meanwhile). */
    assert_true(agr_tallying(f->a, "s/"));
    assert_false(agr_tallying(f->a, "event/"));
    assert_int_equal(vote(f, 2, "s/1", 0, "A"), AGR_COUNTED);
    assert_int_equal(f->nprops, 1);
    assert_string_equal(f->props[0].text, "A");
    assert_int_equal(signers(f, 0), (1u << 1) | (1u << 2));
    assert_int_equal(agr_stats(f->a)->proposed, 1);
    /* While it is being proposed, a third vote does not propose it again. */
    assert_int_equal(vote(f, 3, "s/1", 0, "A"), AGR_COUNTED);
    assert_int_equal(f->nprops, 1);
    assert_true(agr_tallying(f->a, "s/")); /* proposed, not committed yet */
    agr_proposed(f->a, "s/1", 0, true, false, "A");
    assert_false(agr_tallying(f->a, "s/"));
    assert_int_equal(f->events[AGR_EV_AGREED], 1);
    assert_int_equal(agr_stats(f->a)->agreed, 1);
    assert_int_equal(agr_stats(f->a)->pending, 0);
    assert_int_equal(f->events[AGR_EV_DISSENT], 0);
    fake_free(f);
}

static void no_quorum_on_split_texts(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    vote(f, 1, "s/1", 0, "A");
    vote(f, 2, "s/1", 0, "B");
    vote(f, 3, "s/1", 0, "C");
    agr_tick(f->a);
    assert_int_equal(f->nprops, 0);
    size_t texts;
    assert_int_equal(pending_voters(f, "s/1", &texts), 3);
    assert_int_equal(texts, 3);
    fake_free(f);
}

/* The quorum is a majority of the voters of the configuration as it is now. */
static void quorum_of_current_voters(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    f->voters[2] = 4; /* voters 1, 2, 4; member 3 is not one */
    vote(f, 1, "s/1", 0, "A");
    vote(f, 3, "s/1", 0, "A");
    assert_int_equal(f->nprops, 0);
    f->voters[1] = 3; /* voters 1, 3, 4 */
    agr_tick(f->a);
    assert_int_equal(f->nprops, 1);
    assert_int_equal(signers(f, 0), (1u << 1) | (1u << 3));
    /* Five voters need three. */
    struct fake *g = fake_new(NULL);
    g->nvoters = 5;
    g->voters[3] = 4;
    g->voters[4] = 5;
    vote(g, 1, "s/1", 0, "A");
    vote(g, 2, "s/1", 0, "A");
    assert_int_equal(g->nprops, 0);
    vote(g, 5, "s/1", 0, "A");
    assert_int_equal(g->nprops, 1);
    fake_free(g);
    fake_free(f);
}

static void duplicates_count_once(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    assert_int_equal(vote(f, 1, "s/1", 0, "A"), AGR_COUNTED);
    assert_int_equal(vote(f, 1, "s/1", 0, "A"), AGR_COUNTED);
    assert_int_equal(f->nprops, 0);
    assert_int_equal(pending_voters(f, "s/1", NULL), 1);
    fake_free(f);
}

static void changed_vote_replaces(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    vote(f, 1, "s/1", 0, "A");
    vote(f, 1, "s/1", 0, "B");  /* 1 corrects itself */
    vote(f, 2, "s/1", 0, "A");  /* A has only 2's vote now */
    assert_int_equal(f->nprops, 0);
    assert_int_equal(pending_voters(f, "s/1", NULL), 2);
    vote(f, 3, "s/1", 0, "B");
    assert_int_equal(f->nprops, 1);
    assert_string_equal(f->props[0].text, "B");
    assert_int_equal(signers(f, 0), (1u << 1) | (1u << 3));
    fake_free(f);
}

static void not_a_member_refused(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    assert_int_equal(vote_as(f, 9, 1, "s/1", 0, "A"), AGR_NOT_MEMBER);
    assert_int_equal(agr_stats(f->a)->refused, 1);
    assert_int_equal(agr_stats(f->a)->received, 0);
    assert_int_equal(pending_voters(f, "s/1", NULL), 0);
    fake_free(f);
}

static void bad_signature_refused(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    vote(f, 1, "s/1", 0, "A");
    /* 2's name with 3's key; then 2's key over another text than the one sent. */
    assert_int_equal(vote_as(f, 2, 3, "s/1", 0, "A"), AGR_BAD_SIGNATURE);
    uint8_t d[32];
    char sig[129];
    f_digest(f, "s/1", 0, "B", d);
    util_sign_hex(SK[2], d, sig);
    assert_int_equal(agr_vote(f->a, 2, "s/1", 0, "A", sig), AGR_BAD_SIGNATURE);
    assert_int_equal(agr_vote(f->a, 2, "s/1", 0, "A", "00"), AGR_BAD_SIGNATURE);
    assert_int_equal(f->nprops, 0);
    assert_int_equal(pending_voters(f, "s/1", NULL), 1);
    assert_int_equal(agr_stats(f->a)->refused, 3);
    fake_free(f);
}

static void failed_proposal_retried(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    f->propose_fails = true;
    vote(f, 1, "s/1", 0, "A");
    vote(f, 2, "s/1", 0, "A");
    assert_int_equal(f->nprops, 0);
    f->propose_fails = false;
    f->leading = false;
    agr_tick(f->a); /* not the leader: nothing */
    assert_int_equal(f->nprops, 0);
    f->leading = true;
    agr_tick(f->a);
    assert_int_equal(f->nprops, 1);
    /* The proposal failed (no commit): proposed again at the next tick. */
    agr_proposed(f->a, "s/1", 0, false, false, NULL);
    agr_tick(f->a);
    assert_int_equal(f->nprops, 2);
    fake_free(f);
}

/* ---- dissent ---------------------------------------------------------------------------- */

static void dissent_flagged_once(void **state)
{
    (void)state;
    struct agr_options opt = {.retain_ms = 60000};
    struct fake *f = fake_new(&opt);
    vote(f, 1, "s/1", 0, "A");
    vote(f, 3, "s/1", 0, "B");
    vote(f, 2, "s/1", 0, "A");
    assert_int_equal(f->events[AGR_EV_DISSENT], 0); /* nothing agreed yet */
    agr_proposed(f->a, "s/1", 0, true, false, "A");
    assert_int_equal(f->events[AGR_EV_DISSENT], 1);
    assert_int_equal(f->last_dissenter, 3);
    assert_int_equal(agr_stats(f->a)->dissent[3], 1);
    /* 3 again (a resend) and with yet another text: still one for this subject. */
    assert_int_equal(vote(f, 3, "s/1", 0, "B"), AGR_LATE);
    assert_int_equal(vote(f, 3, "s/1", 0, "C"), AGR_LATE);
    assert_int_equal(agr_stats(f->a)->dissent[3], 1);
    /* A late vote that agrees is no dissent; another subject counts again. */
    assert_int_equal(vote(f, 2, "s/1", 0, "A"), AGR_LATE);
    assert_int_equal(agr_stats(f->a)->dissent[2], 0);
    vote(f, 1, "s/2", 0, "A");
    vote(f, 2, "s/2", 0, "A");
    vote(f, 3, "s/2", 0, "B");
    agr_proposed(f->a, "s/2", 0, true, false, "A");
    assert_int_equal(agr_stats(f->a)->dissent[3], 2);
    json_t *d = agr_dissent_json(f->a);
    assert_int_equal(json_integer_value(json_object_get(d, "3")), 2);
    json_decref(d);
    fake_free(f);
}

/* A leader that did not see the agreement compares a late vote with the stored record. */
static void late_vote_compared_with_stored(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    f->stored_subject = "s/9";
    f->stored_text = "A";
    assert_int_equal(vote(f, 2, "s/9", 0, "B"), AGR_LATE);
    assert_int_equal(agr_stats(f->a)->dissent[2], 1);
    assert_int_equal(f->nprops, 0);
    assert_int_equal(vote(f, 1, "s/9", 0, "A"), AGR_LATE);
    assert_int_equal(agr_stats(f->a)->dissent[1], 0);
    assert_int_equal(agr_stats(f->a)->pending, 0);
    fake_free(f);
}

/* Agreed through an earlier leader's proposal: the tick finds the record in the state (for a
 * subject waiting over a second) and ends the subject there, flagging the dissenter. */
static void agreement_found_in_state(void **state)
{
    (void)state;
    struct agr_options opt = {.alert_ms = 5000};
    struct fake *f = fake_new(&opt);
    vote(f, 1, "s/8", 0, "A");
    vote(f, 2, "s/8", 0, "B");
    f->stored_subject = "s/8";
    f->stored_text = "A";
    agr_tick(f->a);
    assert_int_equal(agr_stats(f->a)->pending, 1); /* too young to ask */
    f->now += 1000;
    agr_tick(f->a);
    assert_int_equal(agr_stats(f->a)->pending, 0);
    assert_int_equal(agr_stats(f->a)->dissent[2], 1);
    assert_int_equal(f->nprops, 0);
    f->now += 5000;
    assert_int_equal(agr_stalled(f->a), 0);
    fake_free(f);
}

/* ---- rounds ----------------------------------------------------------------------------- */

static void round_superseded_mid_vote(void **state)
{
    (void)state;
    struct agr_options opt = {.retain_ms = 15000};
    struct fake *f = fake_new(&opt);
    vote(f, 1, "fx", 5, "P5");
    /* Round 6 starts: round 5's vote is dropped, and its late votes are stale. */
    agr_supersede(f->a, "fx", 6);
    assert_int_equal(pending_voters(f, "fx", NULL), 0);
    assert_int_equal(vote(f, 2, "fx", 5, "P5"), AGR_STALE);
    assert_int_equal(f->nprops, 0);
    assert_int_equal(agr_stats(f->a)->stale, 1);
    /* Round 6 is proposed; a vote for round 7 supersedes it while in flight, and the answer
     * about round 6 publishes nothing. */
    vote(f, 1, "fx", 6, "P6");
    vote(f, 2, "fx", 6, "P6");
    assert_int_equal(f->nprops, 1);
    assert_int_equal(f->props[0].round, 6);
    vote(f, 3, "fx", 7, "P7");
    agr_proposed(f->a, "fx", 6, true, false, "P6");
    assert_int_equal(f->events[AGR_EV_AGREED], 0);
    assert_false(agr_is_done(f->a, "fx", 6));
    assert_false(agr_is_done(f->a, "fx", 7));
    vote(f, 1, "fx", 7, "P7");
    assert_int_equal(f->nprops, 2);
    assert_int_equal(f->props[1].round, 7);
    /* The state machine refuses round 7 as stale: over, without publication. */
    agr_proposed(f->a, "fx", 7, false, true, NULL);
    assert_true(agr_is_done(f->a, "fx", 7));
    assert_int_equal(f->events[AGR_EV_AGREED], 0);
    agr_tick(f->a);
    assert_int_equal(f->nprops, 2);
    fake_free(f);
}

/* ---- the outbox ------------------------------------------------------------------------- */

static void put(struct fake *f, const char *subject, uint64_t round, const char *text)
{
    assert_int_equal(agr_outbox_put(f->a, subject, round, text, "sig"), 0);
}

static void resend_after_leader_change(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    f->leader = 0;
    put(f, "s/1", 0, "A");
    agr_outbox_pump(f->a);
    assert_int_equal(f->nsent, 0); /* no leader known */
    f->leader = 2;
    agr_outbox_pump(f->a);
    assert_int_equal(f->nsent, 1);
    agr_outbox_pump(f->a);
    assert_int_equal(f->nsent, 1); /* in flight: not twice */
    agr_outbox_sent(f->a, &f->sent[0].t, true);
    agr_outbox_pump(f->a);
    assert_int_equal(f->nsent, 1); /* accepted by this leader in this term */
    f->leader = 3;
    agr_outbox_pump(f->a);
    assert_int_equal(f->nsent, 2);
    assert_int_equal(f->sent[1].t.leader, 3);
    assert_string_equal(f->sent[1].text, "A");
    fake_free(f);
}

static void resend_after_term_change(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    put(f, "s/1", 0, "A");
    agr_outbox_pump(f->a);
    agr_outbox_sent(f->a, &f->sent[0].t, true);
    agr_outbox_pump(f->a);
    assert_int_equal(f->nsent, 1);
    f->term = 2; /* the same leader, re-elected: its tally may be empty */
    agr_outbox_pump(f->a);
    assert_int_equal(f->nsent, 2);
    assert_int_equal(f->sent[1].t.term, 2);
    fake_free(f);
}

static void resend_after_refusal(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    put(f, "s/1", 0, "A");
    f->send_fails = true;
    agr_outbox_pump(f->a);
    assert_int_equal(f->nsent, 0);
    f->send_fails = false;
    agr_outbox_pump(f->a);
    assert_int_equal(f->nsent, 1);
    agr_outbox_sent(f->a, &f->sent[0].t, false); /* e.g. 421 from a follower */
    agr_outbox_pump(f->a);
    assert_int_equal(f->nsent, 2);
    fake_free(f);
}

static void settled_and_done_dropped(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    put(f, "s/1", 0, "A");
    put(f, "fx", 3, "P3");
    snprintf(f->settled[0], sizeof f->settled[0], "s/1");
    agr_outbox_done(f->a, "fx", 2); /* an older round: not this one */
    agr_outbox_pump(f->a);
    assert_int_equal(f->nsent, 1);
    assert_string_equal(f->sent[0].subject, "fx");
    assert_int_equal(agr_stats(f->a)->outbox, 1);
    /* Done while in flight: dropped once the answer is in. */
    agr_outbox_done(f->a, "fx", 3);
    agr_outbox_pump(f->a);
    assert_int_equal(agr_stats(f->a)->outbox, 1);
    agr_outbox_sent(f->a, &f->sent[0].t, true);
    agr_outbox_pump(f->a);
    assert_int_equal(agr_stats(f->a)->outbox, 0);
    /* The answer about a dropped entry changes nothing. */
    agr_outbox_sent(f->a, &f->sent[0].t, true);
    fake_free(f);
}

static void newer_round_and_correction_replace(void **state)
{
    (void)state;
    struct agr_options opt = {.outbox_ttl_ms = 60000};
    struct fake *f = fake_new(&opt);
    put(f, "fx", 5, "P5");
    agr_outbox_pump(f->a);
    assert_int_equal(f->nsent, 1);
    /* Round 6 while round 5 is in flight: it goes as soon as round 5's answer is in. */
    put(f, "fx", 6, "P6");
    assert_int_equal(agr_outbox_put(f->a, "fx", 4, "P4", "sig"), 1); /* older: ignored */
    assert_int_equal(agr_stats(f->a)->outbox, 1);
    agr_outbox_sent(f->a, &f->sent[0].t, true);
    assert_int_equal(f->nsent, 2);
    assert_int_equal(f->sent[1].round, 6);
    agr_outbox_sent(f->a, &f->sent[1].t, true);
    /* A correction of the same round goes again to the same leader. */
    put(f, "fx", 6, "P6b");
    agr_outbox_pump(f->a);
    assert_int_equal(f->nsent, 3);
    assert_string_equal(f->sent[2].text, "P6b");
    agr_outbox_sent(f->a, &f->sent[2].t, true);
    /* The entry lives outbox_ttl_ms. */
    f->now += 60001;
    agr_outbox_pump(f->a);
    assert_int_equal(agr_stats(f->a)->outbox, 0);
    fake_free(f);
}

static void outbox_bounded(void **state)
{
    (void)state;
    struct agr_options opt = {.outbox_cap = 3};
    struct fake *f = fake_new(&opt);
    f->leader = 0;
    put(f, "s/1", 0, "A");
    put(f, "s/2", 0, "A");
    put(f, "s/3", 0, "A");
    put(f, "s/1", 0, "B"); /* a correction takes no room */
    assert_int_equal(agr_stats(f->a)->outbox_dropped, 0);
    put(f, "s/4", 0, "A");
    assert_int_equal(agr_stats(f->a)->outbox, 3);
    assert_int_equal(agr_stats(f->a)->outbox_dropped, 1);
    f->leader = 1;
    agr_outbox_pump(f->a);
    assert_int_equal(f->nsent, 3);
    assert_string_equal(f->sent[0].subject, "s/2"); /* the oldest, s/1, went */
    assert_string_equal(f->sent[1].subject, "s/3");
    assert_string_equal(f->sent[2].subject, "s/4");
    fake_free(f);
}

/* ---- the alert and the scheduler -------------------------------------------------------- */

static void stall_reported_once(void **state)
{
    (void)state;
    struct agr_options opt = {.alert_ms = 30000};
    struct fake *f = fake_new(&opt);
    vote(f, 1, "s/1", 0, "A");
    vote(f, 2, "s/1", 0, "B");
    f->now += 29999;
    agr_tick(f->a);
    assert_int_equal(agr_stalled(f->a), 0);
    assert_int_equal(f->events[AGR_EV_STALLED], 0);
    f->now += 1;
    assert_int_equal(agr_stalled(f->a), 1);
    agr_tick(f->a);
    agr_tick(f->a);
    assert_int_equal(f->events[AGR_EV_STALLED], 1);
    assert_int_equal(agr_stats(f->a)->alerts, 1);
    vote(f, 3, "s/1", 0, "A");
    agr_proposed(f->a, "s/1", 0, true, false, "A");
    assert_int_equal(agr_stalled(f->a), 0);
    fake_free(f);
}

/* A user's flag is raised once per pending subject (agree.c suspends a game's markets once per
 * dangerous report), and not for an agreed subject. */
static void flagged_once(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    assert_false(agr_flag(f->a, "event/FX/3", 1)); /* no votes: nothing pending */
    vote(f, 1, "event/FX/3", 0, "goal");
    assert_true(agr_flag(f->a, "event/FX/3", 1));
    assert_false(agr_flag(f->a, "event/FX/3", 1));
    assert_true(agr_flag(f->a, "event/FX/3", 2)); /* another flag */
    vote(f, 1, "event/FX/4", 0, "goal");
    agr_agreed(f->a, "event/FX/4", "goal");
    assert_false(agr_flag(f->a, "event/FX/4", 1));
    fake_free(f);
}

static bool start_round(void *arg, struct agr_slot *s)
{
    struct fake *f = arg;
    f->nsent++; /* counts the rounds started */
    return strcmp(s->link.name, "held") != 0;
}

static void scheduler(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    uint64_t given_up = 0;
    struct agr_slot *a = agr_sched_find(f->a, "a", true);
    agr_sched_find(f->a, "held", true);
    assert_int_equal(agr_sched_count(f->a), 2);
    assert_int_equal(agr_sched_due(f->a, 10, 5000, &given_up, start_round, f), 1);
    assert_int_equal(f->nsent, 2); /* both asked, "held" did not start */
    assert_true(a->started_ms != 0);
    f->nsent = 0;
    agr_sched_due(f->a, 10, 5000, &given_up, start_round, f);
    assert_int_equal(f->nsent, 1); /* "a" is in flight */
    /* Round 8 of "a" starts: older votes go. */
    vote(f, 1, "a", 7, "x");
    agr_sched_round(f->a, a, 8);
    assert_int_equal(a->round, 8);
    assert_int_equal(vote(f, 2, "a", 7, "x"), AGR_STALE);
    /* Published: due again in 60 s. */
    agr_sched_next(f->a, a, 60000);
    f->nsent = 0;
    f->now += 59999;
    agr_sched_due(f->a, 10, 5000, &given_up, start_round, f);
    assert_int_equal(f->nsent, 1);
    f->now += 1;
    f->nsent = 0;
    agr_sched_due(f->a, 10, 5000, &given_up, start_round, f);
    assert_int_equal(f->nsent, 2);
    /* In flight past the timeout: given up and started again at once. */
    f->now += 5001;
    f->nsent = 0;
    agr_sched_due(f->a, 10, 5000, &given_up, start_round, f);
    assert_int_equal(given_up, 1);
    assert_int_equal(f->events[AGR_EV_GIVEN_UP], 1);
    assert_int_equal(f->nsent, 2);
    agr_sched_remove(f->a, "held");
    assert_int_equal(agr_sched_count(f->a), 1);
    agr_sched_clear(f->a);
    assert_null(agr_sched_first(f->a));
    fake_free(f);
}

int main(void)
{
    util_log_init();
    for (int i = 1; i < 8; i++)
        SK[i][31] = (uint8_t)i;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quorum_on_identical_texts),
        cmocka_unit_test(no_quorum_on_split_texts),
        cmocka_unit_test(quorum_of_current_voters),
        cmocka_unit_test(duplicates_count_once),
        cmocka_unit_test(changed_vote_replaces),
        cmocka_unit_test(not_a_member_refused),
        cmocka_unit_test(bad_signature_refused),
        cmocka_unit_test(failed_proposal_retried),
        cmocka_unit_test(dissent_flagged_once),
        cmocka_unit_test(late_vote_compared_with_stored),
        cmocka_unit_test(agreement_found_in_state),
        cmocka_unit_test(round_superseded_mid_vote),
        cmocka_unit_test(resend_after_leader_change),
        cmocka_unit_test(resend_after_term_change),
        cmocka_unit_test(resend_after_refusal),
        cmocka_unit_test(settled_and_done_dropped),
        cmocka_unit_test(newer_round_and_correction_replace),
        cmocka_unit_test(outbox_bounded),
        cmocka_unit_test(stall_reported_once),
        cmocka_unit_test(flagged_once),
        cmocka_unit_test(scheduler),
    };
    return cmocka_run_group_tests_name("agreement engine", tests, NULL, NULL);
}
