/* Counting signed votes. See tally.h. */
#include "node/tally.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/members.h"
#include "consensus/observations.h"
#include "node/node.h"

void tally_add(struct tally *t, uint64_t node, const char *text, const char *sig)
{
    struct tally_variant *v = NULL;
    bool seen = false;
    for (struct tally_variant *x = t->variants; x; x = x->next) {
        bool same = !strcmp(x->text, text);
        if (same)
            v = x;
        for (struct tally_vote *w = x->votes; w; w = w->next)
            if (w->node == node && !same)
                w->node = 0; /* it changed its mind: the earlier vote no longer counts */
            else if (w->node == node)
                seen = true;
    }
    if (seen)
        return;
    if (!v) {
        v = calloc(1, sizeof *v);
        v->text = strdup(text);
        v->next = t->variants;
        t->variants = v;
    }
    struct tally_vote *w = calloc(1, sizeof *w);
    w->node = node;
    snprintf(w->sig, sizeof w->sig, "%s", sig);
    w->next = v->votes;
    v->votes = w;
}

unsigned tally_voters(struct node *n, uint64_t id, bool *is_voter)
{
    struct raft *r = replica_raft(n->replica);
    unsigned v = 0;
    *is_voter = false;
    for (unsigned i = 0; i < r->configuration.n; i++)
        if (r->configuration.servers[i].role == RAFT_VOTER) {
            v++;
            if (r->configuration.servers[i].id == id)
                *is_voter = true;
        }
    return v;
}

const char *tally_quorum(const struct tally *t, struct node *n, json_t **sigs)
{
    bool dummy;
    unsigned quorum = tally_voters(n, 0, &dummy) / 2 + 1;
    for (struct tally_variant *v = t->variants; v; v = v->next) {
        unsigned count = 0;
        json_t *arr = json_array();
        for (struct tally_vote *w = v->votes; w; w = w->next) {
            bool is_voter;
            tally_voters(n, w->node, &is_voter);
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

void tally_each_dissent(const struct tally *t, const char *agreed,
                        void (*fn)(void *arg, uint64_t node, const char *text), void *arg)
{
    for (struct tally_variant *v = t->variants; v; v = v->next)
        if (strcmp(v->text, agreed) != 0)
            for (struct tally_vote *w = v->votes; w; w = w->next)
                if (w->node)
                    fn(arg, w->node, v->text);
}

json_t *tally_json(const struct tally *t, const char *text_key)
{
    json_t *vs = json_array();
    for (struct tally_variant *v = t->variants; v; v = v->next) {
        json_t *nodes = json_array();
        for (struct tally_vote *w = v->votes; w; w = w->next)
            if (w->node)
                json_array_append_new(nodes, json_integer((json_int_t)w->node));
        json_array_append_new(vs, json_pack("{s:s, s:o}", text_key, v->text, "nodes", nodes));
    }
    return vs;
}

void tally_clear(struct tally *t)
{
    for (struct tally_variant *v = t->variants, *vn; v; v = vn) {
        vn = v->next;
        for (struct tally_vote *w = v->votes, *wn; w; w = wn) {
            wn = w->next;
            free(w);
        }
        free(v->text);
        free(v);
    }
    t->variants = NULL;
}

int tally_check_sender(struct node *n, secp256k1_context *ctx, uint64_t node,
                       const uint8_t digest[32], const uint8_t sig[64])
{
    char pk[67];
    uint8_t pkraw[33];
    MDB_txn *txn;
    int krv = -1;
    if (fsm_read_begin(n->fsm, &txn) == 0) {
        krv = obs_member_key(n->fsm, txn, node, pk);
        json_t *m = krv == 0 ? member_get(n->fsm, txn, node) : NULL;
        if (!m)
            krv = -1;
        json_decref(m);
        fsm_read_end(txn);
    }
    if (krv != 0)
        return TALLY_NOT_MEMBER;
    secp256k1_pubkey pub;
    secp256k1_ecdsa_signature s;
    obs_hex_decode(pk, pkraw, sizeof pkraw);
    if (!secp256k1_ec_pubkey_parse(ctx, &pub, pkraw, 33) ||
        !secp256k1_ecdsa_signature_parse_compact(ctx, &s, sig) ||
        !secp256k1_ecdsa_verify(ctx, &s, digest, &pub))
        return TALLY_BAD_SIGNATURE;
    return TALLY_OK;
}
