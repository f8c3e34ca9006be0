/* The nemesis and the history shared by the system test's files (tests/system). */
#ifndef PARLAY_CHAOS_H
#define PARLAY_CHAOS_H

#include <jansson.h>
#include <stdbool.h>

#include "tests/integration/harness.h"

#define MAX_OPS 20000
#define ACC_HOST "10.82.0.1" /* the run's address the namespaced sport nodes reach it at */

extern struct h_cluster acc, sp;
extern bool sport_netns; /* each sport node in a network namespace of its own (partitions) */
/* The run has network, PID and mount namespaces of its own (tc on its loopback, tmpfs mounts
 * touch nothing else); tc netem / prio+u32 available in this kernel. */
extern bool own_netns, tc_netem, tc_cut;

enum op_kind {
    OP_DEPOSIT, OP_BET, OP_LEDGER_READ, OP_FAULT, OP_REGISTER, OP_WITHDRAW, OP_CASHOUT, OP_KINDS
};

/* One history entry: an operation and its answer (status 0 or 503: indefinite). */
struct op {
    double t;
    enum op_kind kind;
    int player, node;
    char key[48];
    long status;
    char id[64];   /* the bet's, deposit's, withdrawal's or player's id when acknowledged */
    char note[96]; /* the refusal code, the fault, ... */
    json_int_t amount;
    bool confirmed; /* deposits: the payment confirmed at the stand-in */
    bool indefinite; /* answered 503 or not at all, resolved at the end (status: the outcome) */
    char body[768]; /* bets, cash-outs: the body, sent again with the key to resolve an
                       indefinite one; registrations: the email */
};
extern struct op hist[MAX_OPS];
extern int nhist;

struct op *record(enum op_kind kind, int player, int node, const char *key);
void print_op(const struct op *o);
/* Fail with the history window around entry @at (-1: the last entries). */
void anomaly(int at, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the nemesis (chaos_nemesis.c) ---- */
enum fault {
    F_KILL_SPORT_LEADER, F_KILL_SPORT_FOLLOWER, F_KILL_ACC_LEADER, F_KILL_ACC_FOLLOWER,
    F_KILL_TWO_SPORT, F_PAUSE_SPORT_LEADER, F_PAUSE_ACC_LEADER, F_PART_ISOLATE_LEADER,
    F_PART_MAJORITY, F_PART_BRIDGE, F_DISK_FULL, F_ROLLING_RESTART, F_NETEM, F_CUT_SPORT_LEADER,
    F_COUNT
};
extern const char *const fault_name[F_COUNT];
extern int faults_by_kind[F_COUNT];
extern int nheals; /* faults not yet undone */
/* Inject one fault of @kind (recorded in the history), its undoing scheduled. */
void fault(int kind);
/* Undo the faults that are due (all of them with @all); returns how many. */
int heal_due(bool all);

/* The full disk: sport node DISK_NODE's data on a tmpfs of its own (call before its first
 * start; disk_dir stays "" when that cannot be done); disk_stops: how often it stopped. */
#define DISK_NODE (sp.n - 1)
extern char disk_dir[300];
extern int disk_stops;
void disk_mount(void);

#endif
