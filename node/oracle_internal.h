/* What node/oracle.c (signing, the leader's tally and proposals, the loop's timer, routes,
 * start and stop) and node/oracle_worker.c (the worker thread and its bridge to the loop) share:
 * the node's oracle state. See node/oracle.c's opening comment for the whole story. */
#ifndef PARLAY_ORACLE_INTERNAL_H
#define PARLAY_ORACLE_INTERNAL_H

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <secp256k1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "consensus/agreement.h"
#include "consensus/members.h"
#include "consensus/observations.h"
#include "consensus/oracle_state.h"
#include "feed/feed.h"
#include "node/agree_env.h"
#include "node/config.h"
#include "node/key.h"
#include "node/node.h"
#include "node/routes.h"
#include "oracle/oracle.h"

#define O_TICK_MS 50
#define O_TEXT_MAX 32
#define O_SIG_TTL_MS 600000

enum { B_PUT, B_LIST, B_PENDING, B_DONE };

struct bcall {
    int op;
    char *in, *out;
    int rc;
    bool done;
    int refs; /* the worker's and the loop's */
    struct bcall *next;
};

struct oracle_node {
    struct node *node;
    /* settings */
    char rpc_url[512];
    char api_key[256];
    uint64_t chain_id;
    uint8_t contract[20];
    char contract_hex[43];
    eth_key sender;
    unsigned confirmations, poll_ms, signers_refresh_ms;
    uint64_t max_fee_cap, balance_floor;
    /* signing (every node) */
    secp256k1_context *ctx;
    unsigned char sk[32];
    uint8_t address[20];
    struct agr *agr;
    uv_timer_t timer;
    bool scanned;
    /* the worker and its bridge to the loop */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* the worker waits for work or a bridge answer */
    bool stop, leader, wake;
    uv_async_t async;
    struct bcall *calls, **calls_tail;
    /* shared under mu: the contract's signers (worker) and the cluster's voters (loop) */
    uint8_t signers[32][20];
    size_t nsigners;
    unsigned threshold;
    bool signers_known;
    uint8_t voters[AGR_MAX_NODES][20];
    size_t nvoters;
    bool out_of_sync, balance_low, chain_ok;
    uint64_t balance_wei;
    char last_error[600];
    /* counters */
    uint64_t sigs_put, proposals, proposals_refused, submissions, confirmed, already, failed,
        rpc_errors, short_of_signers;
};

static inline struct oracle_node *O(struct node *n)
{
    return n->oracle;
}

static inline uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Whether @a is one of the contract's signers as last read (the caller holds mu where it
 * matters). */
static inline bool is_signer(struct oracle_node *o, const uint8_t a[20])
{
    for (size_t i = 0; i < o->nsigners; i++)
        if (!memcmp(o->signers[i], a, 20))
            return true;
    return false;
}

/* node/oracle_worker.c */
void oracle_on_async(uv_async_t *h);  /* the loop runs the worker's bridge calls */
void *oracle_worker(void *arg);        /* the worker thread (arg: the struct oracle_node) */

#endif
