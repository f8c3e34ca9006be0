/* Parlay's Raft transport: a struct raft_uv_transport (raft/uv.h) in place of raft_uv_tcp.
 *
 * Only members speak Raft. Every TCP connection starts with a mutual challenge-response: both
 * ends prove they hold the members' shared secret (HMAC-SHA256 over both fresh nonces, the
 * cluster name, both node ids and the connecting node's Raft address), and the accepting end
 * refuses a connecting node that is not in its current configuration (transport_guard).
 * Then raft gets one end of a socketpair and the transport relays between it and the TCP
 * socket: outbound bytes untouched, inbound bytes read whole message by message and checked
 * (transport_check.h) before raft sees them; anything wrong closes the connection, which raft
 * handles as a lost peer. Refusals are logged (event=raft_peer_refused) and counted.
 *
 * The relay owns the real socket, so TLS wraps it there without raft knowing: with member
 * certificates configured (tls), the challenge-response and the relay run inside TLS 1.3 and
 * the peer's certificate must name this cluster and the member it claims to be. */
#ifndef PARLAY_TRANSPORT_H
#define PARLAY_TRANSPORT_H

#include <raft.h>
#include <raft/uv.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/tls.h"
#include "consensus/transport_check.h"

#define TRANSPORT_SECRET_LEN 32

struct transport_options {
    uv_loop_t *loop;
    const char *cluster;                           /* bound into every proof */
    const unsigned char *secret;                   /* TRANSPORT_SECRET_LEN bytes */
    bool (*is_member)(void *arg, uint64_t id);     /* may @id connect to this node? */
    void *arg;                                     /* for is_member */
    struct frame_limits limits;                    /* what an inbound message may be */
    unsigned handshake_timeout_ms;                 /* 0: 5000 */
    struct tls_files *tls; /* NULL: the handshake in clear; else everything inside TLS 1.3 with
                              member certificates (the caller reloads it; new connections
                              take its current context) */
};

/* Set up @t (version, methods, state); raft_uv_init may then take it. */
int transport_init(struct raft_uv_transport *t, const struct transport_options *o);
/* Release @t's memory once raft has closed it. */
void transport_free(struct raft_uv_transport *t);
/* Connections refused so far (no or wrong proof, not a member, a malformed message). */
uint64_t transport_refusals(const struct raft_uv_transport *t);

#endif
