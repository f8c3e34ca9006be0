/* Test support: a local anvil on a free loopback port, started and stopped by the test. */
#ifndef PARLAY_ORACLE_TEST_ANVIL_H
#define PARLAY_ORACLE_TEST_ANVIL_H

#include "oracle/oracle.h"

#include <sys/types.h>

typedef struct anvil
{
    pid_t pid;
    int port;
    char url[64];
    char dir[64]; /* scratch directory (log, state, journals) */
    char log[128];
} anvil;

/* anvil's default dev account 0 (funded); tests use it as the sender, never as a node key. */
#define ANVIL_KEY0 "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

/* Starts anvil with extra arguments (NULL-terminated, may be NULL) and waits until it answers
 * eth_chainId (gives up after 60 s or when the process exits). Returns 0 on success. */
int anvil_start(anvil* a, const char* const* extra);
/* Starts again on the same port with the same scratch directory. */
int anvil_restart(anvil* a, const char* const* extra);
void anvil_stop(anvil* a);    /* SIGTERM, then wait */
void anvil_cleanup(anvil* a); /* removes the scratch directory */
/* A raw call; returns the result JSON text (malloc'd) or NULL. */
char* anvil_rpc(const anvil* a, const char* method, const char* params);
/* Mines n blocks. */
int anvil_mine(const anvil* a, unsigned n);
/* Deterministic test node key i (keccak256("parlay test node <i>")). */
void test_node_key(int i, eth_key* k);

#endif
