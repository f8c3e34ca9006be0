/* The node's side of the agreement engine's callbacks. See agree_env.h. */
#include "node/agree_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/members.h"
#include "consensus/observations.h"
#include "node/forward.h"
#include "common/log.h"
#include "node/node.h"

static uint64_t env_now(void *arg)
{
    struct node *n = arg;
    return uv_now(n->loop);
}

static uint64_t env_leader(void *arg, uint64_t *term)
{
    struct node *n = arg;
    char addr[64];
    uint64_t id = replica_leader(n->replica, addr, sizeof addr);
    *term = raft_current_term(replica_raft(n->replica));
    return addr[0] ? id : 0;
}

static bool env_is_leader(void *arg)
{
    struct node *n = arg;
    return replica_is_leader(n->replica);
}

static unsigned env_voters(void *arg, uint64_t id, bool *is_voter)
{
    struct node *n = arg;
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

/* A member (in the member table) with a registered key. */
static bool env_member_key(void *arg, uint64_t node, char pk[67])
{
    struct node *n = arg;
    MDB_txn *txn;
    if (fsm_read_begin(n->fsm, &txn) != 0)
        return false;
    bool ok = obs_member_key(n->fsm, txn, node, pk) == 0;
    json_t *m = ok ? member_get(n->fsm, txn, node) : NULL;
    fsm_read_end(txn);
    json_decref(m);
    return m != NULL;
}

struct agr *agree_env_new(struct node *n, const struct agr_env *user,
                          const struct agr_options *opt)
{
    struct agr_env env = *user;
    env.arg = n;
    if (!env.now_ms)
        env.now_ms = env_now;
    env.leader = env_leader;
    env.is_leader = env_is_leader;
    env.voters = env_voters;
    env.member_key = env_member_key;
    return agr_new(&env, opt);
}

struct send_ctx {
    struct node *node;
    struct agr *engine;
    struct agr_ticket t;
    char path[64];
};

static void on_sent(void *arg, long status, const char *body, size_t len)
{
    (void)len;
    struct send_ctx *s = arg;
    bool ok = status == 200 || status == 202;
    if (!ok)
        LOG_DEBUG("event=agreement_send path=%s status=%ld body=%.200s", s->path, status, body);
    if (!s->node->stopping)
        agr_outbox_sent(s->engine, &s->t, ok);
    free(s);
}

int agree_env_send(struct node *n, struct agr *engine, const char *path, json_t *body,
                   const struct agr_ticket *t)
{
    char addr[64];
    replica_leader(n->replica, addr, sizeof addr);
    if (!addr[0]) {
        json_decref(body);
        return -1;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct send_ctx *s = calloc(1, sizeof *s);
    *s = (struct send_ctx){.node = n, .engine = engine, .t = *t};
    snprintf(s->path, sizeof s->path, "%s", path);
    forward_send(n->fwd, addr, path, NULL, text, on_sent, s);
    free(text);
    return 0;
}

bool agree_sign(secp256k1_context *ctx, const unsigned char sk[32], const uint8_t digest[32],
                char out[AGR_SIG_HEX])
{
    secp256k1_ecdsa_signature sig;
    uint8_t ser[64];
    if (!secp256k1_ecdsa_sign(ctx, &sig, digest, sk, NULL, NULL))
        return false;
    secp256k1_ecdsa_signature_serialize_compact(ctx, ser, &sig);
    obs_hex_encode(ser, 64, out);
    return true;
}
