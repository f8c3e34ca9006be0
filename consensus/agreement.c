/* The agreement engine: outbox, tally, dissent, stall alert and round scheduler. The story of
 * its happy path and its failure modes is told in agreement.h. */
#include "consensus/agreement.h"

#include <secp256k1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/observations.h"

#define AGR_DEFAULT_CAP 65536
#define AGR_ASK_AFTER_MS 1000

struct out_entry {
    struct agr_entry e;
    uint64_t id;
    unsigned gen;      /* bumped when the text is replaced */
    bool inflight, done;
    uint64_t acked_leader, acked_term; /* accepted by this leader in this term */
    uint64_t put_ms;
    struct out_entry *next;
};

struct vote {
    uint64_t node;
    char sig[AGR_SIG_HEX];
    struct vote *next;
};

struct variant {
    char *text;
    struct vote *votes;
    struct variant *next;
};

/* A subject on the leader: the texts its voters sent in its current round. */
struct subject {
    struct agr_link link; /* link.name: the subject */
    uint64_t round;
    struct variant *variants;
    bool proposing;
    bool done;              /* the round is over: agreed (@agreed) or ended as stale */
    char *agreed;           /* the agreed text */
    uint64_t first_ms;      /* the first vote of the round */
    uint64_t done_ms;
    unsigned flags;         /* the user's (agr_flag) */
    bool alerted;
    uint64_t flagged[AGR_MAX_NODES / 64]; /* dissent already counted for these nodes */
};

struct agr {
    struct agr_env env;
    struct agr_options opt;
    struct out_entry *outbox; /* oldest first */
    uint64_t next_id;
    struct agr_link *subjects; /* struct subject */
    struct agr_link *slots;    /* struct agr_slot */
    struct agr_stats stats;
};

static uint64_t now(struct agr *a)
{
    return a->env.now_ms(a->env.arg);
}

static void report(struct agr *a, enum agr_event ev, const char *subject, uint64_t round,
                   uint64_t node, const char *text)
{
    if (a->env.event)
        a->env.event(a->env.arg, ev, subject, round, node, text);
}

struct agr *agr_new(const struct agr_env *env, const struct agr_options *opt)
{
    struct agr *a = calloc(1, sizeof *a);
    a->env = *env;
    if (opt)
        a->opt = *opt;
    if (!a->opt.outbox_cap)
        a->opt.outbox_cap = AGR_DEFAULT_CAP;
    return a;
}

struct agr_stats *agr_stats(struct agr *a)
{
    unsigned n = 0;
    for (struct out_entry *o = a->outbox; o; o = o->next)
        n++;
    a->stats.outbox = n;
    n = 0;
    for (struct subject *s = (struct subject *)a->subjects; s;
         s = (struct subject *)s->link.next)
        n += !s->done;
    a->stats.pending = n;
    return &a->stats;
}

bool agr_verify(const char *pk_hex, const char *sig_hex, const uint8_t digest[32])
{
    const secp256k1_context *ctx = secp256k1_context_static; /* parsing and verifying only */
    uint8_t pkraw[33], sigraw[64];
    secp256k1_pubkey pub;
    secp256k1_ecdsa_signature sig;
    return pk_hex && sig_hex && obs_hex_decode(pk_hex, pkraw, sizeof pkraw) == 33 &&
           strlen(sig_hex) == 128 && obs_hex_decode(sig_hex, sigraw, sizeof sigraw) == 64 &&
           secp256k1_ec_pubkey_parse(ctx, &pub, pkraw, 33) &&
           secp256k1_ecdsa_signature_parse_compact(ctx, &sig, sigraw) &&
           secp256k1_ecdsa_verify(ctx, &sig, digest, &pub);
}

/* ---- named lists ------------------------------------------------------------------------ */

/* The entry named @name in @head's list, or (if @size) a new one of @size bytes at its head. */
static void *link_find(struct agr_link **head, const char *name, size_t size)
{
    for (struct agr_link *l = *head; l; l = l->next)
        if (!strcmp(l->name, name))
            return l;
    if (!size)
        return NULL;
    struct agr_link *l = calloc(1, size);
    snprintf(l->name, sizeof l->name, "%s", name);
    l->next = *head;
    *head = l;
    return l;
}

static void link_remove(struct agr_link **head, struct agr_link *x)
{
    for (struct agr_link **pl = head; *pl; pl = &(*pl)->next)
        if (*pl == x) {
            *pl = x->next;
            return;
        }
}

/* ---- the outbox ------------------------------------------------------------------------- */

static void out_free(struct out_entry *o)
{
    free(o->e.text);
    free(o);
}

int agr_outbox_put(struct agr *a, const char *subject, uint64_t round, const char *text,
                   const char *sig)
{
    struct out_entry *o = NULL;
    unsigned n = 0;
    for (struct out_entry *x = a->outbox; x; x = x->next, n++)
        if (!strcmp(x->e.subject, subject))
            o = x;
    if (o && round < o->e.round)
        return 1; /* older than what is held: nobody needs it */
    if (!o) {
        if (n >= a->opt.outbox_cap) {
            /* Full: the oldest entry makes room (agreement.h says why oldest-first). */
            struct out_entry *old = a->outbox;
            a->outbox = old->next;
            out_free(old);
            a->stats.outbox_dropped++;
        }
        o = calloc(1, sizeof *o);
        snprintf(o->e.subject, sizeof o->e.subject, "%s", subject);
        o->id = ++a->next_id;
        struct out_entry **tail = &a->outbox;
        while (*tail)
            tail = &(*tail)->next;
        *tail = o;
    }
    free(o->e.text);
    o->e.text = strdup(text);
    o->e.round = round;
    snprintf(o->e.sig, sizeof o->e.sig, "%s", sig);
    o->gen++;
    o->acked_leader = o->acked_term = 0;
    o->done = false;
    o->put_ms = now(a);
    return 0;
}

void agr_outbox_done(struct agr *a, const char *subject, uint64_t round)
{
    for (struct out_entry *o = a->outbox; o; o = o->next)
        if (o->e.round <= round && !strcmp(o->e.subject, subject))
            o->done = true;
}

/* Send @o unless it is in flight or the current leader accepted it in this term. */
static void out_send(struct agr *a, struct out_entry *o, uint64_t leader, uint64_t term)
{
    if (leader == 0 || o->inflight || (o->acked_leader == leader && o->acked_term == term))
        return;
    struct agr_ticket t = {o->id, o->gen, leader, term};
    o->inflight = true;
    if (a->env.send(a->env.arg, &o->e, &t) != 0)
        o->inflight = false;
}

void agr_outbox_pump(struct agr *a)
{
    uint64_t term = 0, leader = a->env.leader(a->env.arg, &term), t = now(a);
    for (struct out_entry **po = &a->outbox; *po;) {
        struct out_entry *o = *po;
        bool expired = a->opt.outbox_ttl_ms && t - o->put_ms > a->opt.outbox_ttl_ms;
        if (!o->inflight && (o->done || expired ||
                             (a->env.settled && a->env.settled(a->env.arg, o->e.subject,
                                                               o->e.round, o->e.text,
                                                               o->acked_leader != 0)))) {
            *po = o->next;
            out_free(o);
            continue;
        }
        po = &o->next;
        out_send(a, o, leader, term);
    }
}

void agr_outbox_sent(struct agr *a, const struct agr_ticket *t, bool accepted)
{
    for (struct out_entry *o = a->outbox; o; o = o->next)
        if (o->id == t->id) {
            o->inflight = false;
            if (accepted && o->gen == t->gen) {
                o->acked_leader = t->leader;
                o->acked_term = t->term;
            } else if (o->gen != t->gen) {
                /* Replaced while in flight: the new text goes at once. */
                uint64_t term = 0, leader = a->env.leader(a->env.arg, &term);
                out_send(a, o, leader, term);
            }
            return;
        }
}

/* ---- the tally -------------------------------------------------------------------------- */

static void variants_clear(struct subject *s)
{
    for (struct variant *v = s->variants, *vn; v; v = vn) {
        vn = v->next;
        for (struct vote *w = v->votes, *wn; w; w = wn) {
            wn = w->next;
            free(w);
        }
        free(v->text);
        free(v);
    }
    s->variants = NULL;
}

static void subject_free(struct agr *a, struct subject *s)
{
    link_remove(&a->subjects, &s->link);
    variants_clear(s);
    free(s->agreed);
    free(s);
}

/* A new round of @s: what the old one collected no longer counts. */
static void subject_restart(struct agr *a, struct subject *s, uint64_t round)
{
    variants_clear(s);
    free(s->agreed);
    s->agreed = NULL;
    s->round = round;
    s->proposing = s->done = s->alerted = false;
    s->flags = 0;
    memset(s->flagged, 0, sizeof s->flagged);
    s->first_ms = now(a);
}

static struct subject *subject_find(struct agr *a, const char *name, bool create)
{
    struct subject *s = link_find(&a->subjects, name, 0);
    if (s || !create)
        return s;
    s = link_find(&a->subjects, name, sizeof *s);
    s->first_ms = now(a);
    return s;
}

static void flag_dissent(struct agr *a, struct subject *s, uint64_t node, const char *text)
{
    if (node == 0 || node > AGR_MAX_NODES)
        return;
    uint64_t bit = 1ull << ((node - 1) % 64);
    if (s->flagged[(node - 1) / 64] & bit)
        return;
    s->flagged[(node - 1) / 64] |= bit;
    a->stats.dissent[node]++;
    report(a, AGR_EV_DISSENT, s->link.name, s->round, node, text);
}

static void flag_all(struct agr *a, struct subject *s)
{
    for (struct variant *v = s->variants; v; v = v->next)
        if (strcmp(v->text, s->agreed) != 0)
            for (struct vote *w = v->votes; w; w = w->next)
                flag_dissent(a, s, w->node, v->text);
}

/* Record @node's vote for @text. A member's vote for another text replaces its earlier one. */
static void tally_add(struct subject *s, uint64_t node, const char *text, const char *sig)
{
    struct variant *v = NULL;
    for (struct variant *x = s->variants; x; x = x->next) {
        bool same = !strcmp(x->text, text);
        if (same)
            v = x;
        for (struct vote **pw = &x->votes; *pw;) {
            struct vote *w = *pw;
            if (w->node == node && same)
                return; /* the same vote again counts once */
            if (w->node == node) {
                *pw = w->next;
                free(w);
                continue;
            }
            pw = &w->next;
        }
    }
    if (!v) {
        v = calloc(1, sizeof *v);
        v->text = strdup(text);
        v->next = s->variants;
        s->variants = v;
    }
    struct vote *w = calloc(1, sizeof *w);
    w->node = node;
    snprintf(w->sig, sizeof w->sig, "%s", sig);
    w->next = v->votes;
    v->votes = w;
}

/* The first text a majority of the current voters sent, with their signatures in @sigs. */
static const char *tally_quorum(struct agr *a, struct subject *s, json_t **sigs)
{
    bool dummy;
    unsigned quorum = a->env.voters(a->env.arg, 0, &dummy) / 2 + 1;
    for (struct variant *v = s->variants; v; v = v->next) {
        unsigned count = 0;
        json_t *arr = json_array();
        for (struct vote *w = v->votes; w; w = w->next) {
            bool is_voter;
            a->env.voters(a->env.arg, w->node, &is_voter);
            if (!is_voter)
                continue;
            count++;
            json_array_append_new(arr, json_pack("{s:I, s:s}", "node", (json_int_t)w->node,
                                                 "signature", w->sig));
        }
        if (count >= quorum) {
            *sigs = arr;
            return v->text;
        }
        json_decref(arr);
    }
    return NULL;
}

static void maybe_propose(struct agr *a, struct subject *s)
{
    if (s->proposing || s->done || !a->env.is_leader(a->env.arg))
        return;
    json_t *sigs;
    const char *text = tally_quorum(a, s, &sigs);
    if (!text)
        return;
    /* propose may answer at once (agr_proposed): the subject must be ready for it. */
    s->proposing = true;
    a->stats.proposed++;
    if (a->env.propose(a->env.arg, s->link.name, s->round, text, sigs) != 0) {
        s->proposing = false;
        a->stats.proposed--;
    }
}

enum agr_vote_result agr_check(struct agr *a, uint64_t node, const char *subject,
                               uint64_t round, const char *text, const char *sig)
{
    char pk[67];
    uint8_t digest[32];
    if (!a->env.member_key(a->env.arg, node, pk)) {
        a->stats.refused++;
        return AGR_NOT_MEMBER;
    }
    a->env.digest(a->env.arg, subject, round, text, digest);
    if (!agr_verify(pk, sig, digest)) {
        a->stats.refused++;
        return AGR_BAD_SIGNATURE;
    }
    return AGR_COUNTED;
}

enum agr_vote_result agr_count(struct agr *a, uint64_t node, const char *subject,
                               uint64_t round, const char *text, const char *sig)
{
    struct subject *s = subject_find(a, subject, false);
    if (!s) {
        s = subject_find(a, subject, true);
        s->round = round;
        char *known = a->env.agreed ? a->env.agreed(a->env.arg, subject) : NULL;
        if (known) {
            s->agreed = known;
            s->done = true;
        }
    }
    if (round < s->round) {
        a->stats.stale++;
        return AGR_STALE;
    }
    if (round > s->round)
        subject_restart(a, s, round);
    a->stats.received++;
    tally_add(s, node, text, sig);
    if (!s->done) {
        maybe_propose(a, s);
        return AGR_COUNTED;
    }
    /* Over already: a late vote is compared with what was agreed. */
    if (s->agreed && strcmp(s->agreed, text) != 0)
        flag_dissent(a, s, node, text);
    if (!a->opt.retain_ms && !s->proposing)
        subject_free(a, s);
    return AGR_LATE;
}

enum agr_vote_result agr_vote(struct agr *a, uint64_t node, const char *subject, uint64_t round,
                              const char *text, const char *sig)
{
    enum agr_vote_result r = agr_check(a, node, subject, round, text, sig);
    return r != AGR_COUNTED ? r : agr_count(a, node, subject, round, text, sig);
}

/* @s is agreed with @text: dissenters are flagged, and it is retired (or kept for late
 * votes for retain_ms). */
static void finish(struct agr *a, struct subject *s, const char *text)
{
    s->done = true;
    s->done_ms = now(a);
    if (text && !s->agreed)
        s->agreed = strdup(text);
    if (!s->agreed)
        return;
    a->stats.agreed++;
    report(a, AGR_EV_AGREED, s->link.name, s->round, 0, s->agreed);
    flag_all(a, s);
    if (!a->opt.retain_ms)
        subject_free(a, s); /* a late vote is compared with the stored record (env.agreed) */
}

void agr_proposed(struct agr *a, const char *subject, uint64_t round, bool committed,
                  bool stale, const char *text)
{
    struct subject *s = subject_find(a, subject, false);
    if (!s || s->round != round)
        return; /* superseded meanwhile: the old round's answer changes nothing */
    s->proposing = false;
    if (stale) {
        s->done = true; /* the round ends without publication */
        s->done_ms = now(a);
    } else if (committed) {
        finish(a, s, text);
    } /* else failed: agr_tick proposes it again */
}

void agr_agreed(struct agr *a, const char *subject, const char *text)
{
    struct subject *s = subject_find(a, subject, false);
    if (s && !s->done && !s->proposing && text)
        finish(a, s, text);
}

void agr_supersede(struct agr *a, const char *subject, uint64_t round)
{
    struct subject *s = subject_find(a, subject, false);
    if (s && s->round < round)
        subject_restart(a, s, round);
}

bool agr_flag(struct agr *a, const char *subject, unsigned flag)
{
    struct subject *s = subject_find(a, subject, false);
    if (!s || s->done || (s->flags & flag))
        return false;
    s->flags |= flag;
    return true;
}

bool agr_is_done(struct agr *a, const char *subject, uint64_t round)
{
    struct subject *s = subject_find(a, subject, false);
    return s && s->round == round && s->done;
}

static bool stalled(struct agr *a, struct subject *s, uint64_t t)
{
    return a->opt.alert_ms && !s->done && t - s->first_ms >= a->opt.alert_ms;
}

void agr_tick(struct agr *a)
{
    if (!a->env.is_leader(a->env.arg))
        return;
    uint64_t t = now(a);
    for (struct subject *s = (struct subject *)a->subjects, *sn; s; s = sn) {
        sn = (struct subject *)s->link.next;
        if (s->proposing)
            continue;
        if ((s->done && t - s->done_ms > a->opt.retain_ms) ||
            (!s->done && a->opt.expire_ms && t - s->first_ms > a->opt.expire_ms)) {
            subject_free(a, s);
            continue;
        }
        /* Agreed through another leader's proposal (this one's tally missed it)? Asked only
         * of subjects waiting for over a second: a proposal of ours answers in milliseconds. */
        bool ask = !s->done && a->env.agreed && t - s->first_ms >= AGR_ASK_AFTER_MS;
        char *known = ask ? a->env.agreed(a->env.arg, s->link.name) : NULL;
        if (known) {
            finish(a, s, known);
            free(known);
            continue;
        }
        maybe_propose(a, s); /* a proposal that failed is retried */
        if (stalled(a, s, t) && !s->alerted) {
            s->alerted = true;
            a->stats.alerts++;
            unsigned variants = 0;
            for (struct variant *v = s->variants; v; v = v->next)
                variants++;
            report(a, AGR_EV_STALLED, s->link.name, s->round, variants, NULL);
        }
    }
}

void agr_reset(struct agr *a)
{
    while (a->subjects)
        subject_free(a, (struct subject *)a->subjects);
}

unsigned agr_stalled(struct agr *a)
{
    uint64_t t = now(a);
    unsigned k = 0;
    for (struct subject *s = (struct subject *)a->subjects; s;
         s = (struct subject *)s->link.next)
        k += stalled(a, s, t);
    return k;
}

bool agr_tallying(struct agr *a, const char *prefix)
{
    size_t n = strlen(prefix);
    for (struct subject *s = (struct subject *)a->subjects; s;
         s = (struct subject *)s->link.next)
        if (!s->done && !strncmp(s->link.name, prefix, n))
            return true;
    return false;
}

json_t *agr_pending_json(struct agr *a, const char *text_key)
{
    json_t *pend = json_object();
    for (struct subject *s = (struct subject *)a->subjects; s;
         s = (struct subject *)s->link.next) {
        if (s->done)
            continue;
        json_t *vs = json_array();
        for (struct variant *v = s->variants; v; v = v->next) {
            json_t *nodes = json_array();
            for (struct vote *w = v->votes; w; w = w->next)
                json_array_append_new(nodes, json_integer((json_int_t)w->node));
            json_array_append_new(vs, json_pack("{s:s, s:o}", text_key, v->text, "nodes", nodes));
        }
        json_object_set_new(pend, s->link.name, vs);
    }
    return pend;
}

json_t *agr_dissent_json(struct agr *a)
{
    json_t *d = json_object();
    for (unsigned i = 1; i <= AGR_MAX_NODES; i++)
        if (a->stats.dissent[i]) {
            char k[24];
            snprintf(k, sizeof k, "%u", i);
            json_object_set_new(d, k, json_integer((json_int_t)a->stats.dissent[i]));
        }
    return d;
}

/* ---- the round scheduler ---------------------------------------------------------------- */

struct agr_slot *agr_sched_find(struct agr *a, const char *subject, bool create)
{
    struct agr_slot *s = link_find(&a->slots, subject, 0);
    if (s || !create)
        return s;
    s = link_find(&a->slots, subject, sizeof *s);
    s->due_ms = now(a);
    return s;
}

void agr_sched_remove(struct agr *a, const char *subject)
{
    struct agr_slot *s = link_find(&a->slots, subject, 0);
    if (s) {
        link_remove(&a->slots, &s->link);
        free(s);
    }
}

void agr_sched_clear(struct agr *a)
{
    while (a->slots) {
        struct agr_link *l = a->slots;
        a->slots = l->next;
        free(l);
    }
}

unsigned agr_sched_count(struct agr *a)
{
    unsigned n = 0;
    for (struct agr_link *l = a->slots; l; l = l->next)
        n++;
    return n;
}

struct agr_slot *agr_sched_first(struct agr *a)
{
    return (struct agr_slot *)a->slots;
}

struct agr_slot *agr_sched_after(struct agr_slot *s)
{
    return (struct agr_slot *)s->link.next;
}

void agr_sched_round(struct agr *a, struct agr_slot *s, uint64_t round)
{
    s->round = round;
    agr_supersede(a, s->link.name, round);
}

void agr_sched_next(struct agr *a, struct agr_slot *s, uint64_t every_ms)
{
    s->started_ms = 0;
    s->due_ms = now(a) + every_ms;
}

unsigned agr_sched_due(struct agr *a, unsigned max, uint64_t timeout_ms, uint64_t *given_up,
                       bool (*fn)(void *arg, struct agr_slot *s), void *arg)
{
    uint64_t t = now(a);
    unsigned started = 0;
    for (struct agr_slot *s = agr_sched_first(a), *sn; s && started < max; s = sn) {
        sn = agr_sched_after(s); /* @fn may remove @s */
        if (s->started_ms && t - s->started_ms > timeout_ms) {
            (*given_up)++;
            report(a, AGR_EV_GIVEN_UP, s->link.name, s->round, 0, NULL);
            s->started_ms = 0;
            s->due_ms = t;
        }
        if (s->started_ms || t < s->due_ms)
            continue;
        if (fn(arg, s)) {
            s->started_ms = t;
            started++;
        }
    }
    return started;
}

void agr_free(struct agr *a)
{
    if (!a)
        return;
    while (a->outbox) {
        struct out_entry *o = a->outbox;
        a->outbox = o->next;
        out_free(o);
    }
    agr_reset(a);
    agr_sched_clear(a);
    free(a);
}
