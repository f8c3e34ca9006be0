/* Counting signed votes: what agreed observations (agree.c) and agreed quotes (quote.c) share.
 *
 * A tally holds, for one subject (an observation, a quote round), the distinct texts voters
 * sent and who sent each, with their signatures. A member's later vote for another text
 * replaces its earlier one (a provider correcting itself). The leader asks for the first text
 * a majority of the current voters sent (tally_quorum) and, once one is agreed, for the votes
 * that differ from it (tally_each_dissent). tally_check_sender verifies that a vote comes from
 * a member with a registered key whose signature covers the message. */
#ifndef PARLAY_TALLY_H
#define PARLAY_TALLY_H

#include <jansson.h>
#include <secp256k1.h>
#include <stdbool.h>
#include <stdint.h>

struct node;

struct tally_vote {
    uint64_t node;
    char sig[129]; /* compact r||s, hex */
    struct tally_vote *next;
};

struct tally_variant {
    char *text;
    struct tally_vote *votes;
    struct tally_variant *next;
};

struct tally {
    struct tally_variant *variants;
};

/* Record @node's vote for @text with @sig (128 hex digits). */
void tally_add(struct tally *t, uint64_t node, const char *text, const char *sig);
/* The first text voted by a majority of the current voters, with their signatures as a new
 * JSON array [{node, signature}] in @sigs; NULL (and no array) if none has a majority. */
const char *tally_quorum(const struct tally *t, struct node *n, json_t **sigs);
/* @fn for every vote whose text is not @agreed. */
void tally_each_dissent(const struct tally *t, const char *agreed,
                        void (*fn)(void *arg, uint64_t node, const char *text), void *arg);
/* The voters that sent each text: [{<text_key>: text, nodes: [ids]}] (a new array). */
json_t *tally_json(const struct tally *t, const char *text_key);
void tally_clear(struct tally *t);

/* The number of voters in the current configuration; *@is_voter: whether @id is one. */
unsigned tally_voters(struct node *n, uint64_t id, bool *is_voter);

enum { TALLY_OK = 0, TALLY_NOT_MEMBER = -1, TALLY_BAD_SIGNATURE = -2 };
/* Is @node a member with a registered key, and does @sig (64 bytes) verify over @digest? */
int tally_check_sender(struct node *n, secp256k1_context *ctx, uint64_t node,
                       const uint8_t digest[32], const uint8_t sig[64]);

#endif
