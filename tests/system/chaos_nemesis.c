/* The system test's nemesis (issue 15): kill -9 and restart, SIGSTOP/SIGCONT, partitions of
 * the sport cluster (each node in a network namespace of its own), a full disk, a clean rolling
 * restart, and, where the kernel has them, tc netem and a one-way cut. Each fault and what undoes
 * it is recorded in the history. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/system/chaos.h"

static void sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("chaos: `%s` exited %d", cmd, rc);
}

const char *const fault_name[F_COUNT] = {
    "kill-sport-leader", "kill-sport-follower", "kill-accounts-leader",
    "kill-accounts-follower", "kill-two-sport", "pause-sport-leader", "pause-accounts-leader",
    "partition-isolated-leader", "partition-majority-minority", "partition-bridge", "disk-full",
    "rolling-restart",
    "netem-delay-loss", "cut-sport-leader-inbound"};
int faults_by_kind[F_COUNT];
bool own_netns, tc_netem, tc_cut;

/* What undoes a fault, and when. */
enum heal { H_RESTART, H_CONT, H_NETEM_OFF, H_LINKS_UP, H_DISK_FREE, H_ROLL };
struct pending {
    enum heal how;
    struct h_cluster *c;
    int i;
    double at, since; /* H_ROLL: when node i was restarted */
};
static struct pending heals[8];
int nheals;

static void heal_later(enum heal how, struct h_cluster *c, int i, double at)
{
    heals[nheals++] = (struct pending){how, c, i, at, h_now()};
}

/* Partitions of the sport cluster (each node in its own network namespace, one link per pair):
 * the links cut now, restored together by H_LINKS_UP. */
static bool link_cut[H_MAX_NODES][H_MAX_NODES];

/* Cut every link between a node of @a and a node of @b (bit masks of node indexes). */
static void cut_between(unsigned a, unsigned b)
{
    for (int i = 0; i < sp.n; i++)
        for (int j = 0; j < sp.n; j++)
            if ((a >> i & 1) && (b >> j & 1) && i != j && !link_cut[i][j]) {
                h_link(&sp, i, j, false);
                link_cut[i][j] = link_cut[j][i] = true;
            }
}

static void links_up(void)
{
    for (int i = 0; i < sp.n; i++)
        for (int j = i + 1; j < sp.n; j++)
            if (link_cut[i][j]) {
                h_link(&sp, i, j, true);
                link_cut[i][j] = link_cut[j][i] = false;
            }
}

static void mask_text(unsigned m, char *out, size_t n)
{
    size_t at = 0;
    out[0] = 0;
    for (int i = 0; i < sp.n && at + 4 < n; i++)
        if (m >> i & 1)
            at += (size_t)snprintf(out + at, n - at, "%s%d", at ? "," : "", i + 1);
}

/* Partition faults: isolated leader; majority / minority (the leader and, on 5 nodes, one
 * more on the minority side; on 3 a follower alone); a bridge (two halves that cannot see
 * each other, one node that sees both). Returns false when it cannot be done. */
static bool partition(int kind, int leader, char *note, size_t n)
{
    if (!sport_netns)
        return false;
    unsigned all = (1u << sp.n) - 1, a, b;
    int other = (leader + 1 + rand() % (sp.n - 1)) % sp.n;
    if (kind == F_PART_ISOLATE_LEADER) {
        a = 1u << leader;
        b = all & ~a;
        cut_between(a, b);
    } else if (kind == F_PART_MAJORITY) {
        a = sp.n >= 5 ? (1u << leader) | (1u << other) : 1u << other;
        b = all & ~a;
        cut_between(a, b);
    } else {
        /* The bridge is a follower; the leader's half has it and half of the rest. */
        int bridge = other;
        a = 1u << leader;
        b = 0;
        for (int k = 1; k < sp.n; k++) {
            int i = (leader + k) % sp.n;
            if (i == bridge)
                continue;
            if (__builtin_popcount(a) < (sp.n - 1) / 2)
                a |= 1u << i;
            else
                b |= 1u << i;
        }
        cut_between(a, b);
        char ta[16], tb[16];
        mask_text(a, ta, sizeof ta);
        mask_text(b, tb, sizeof tb);
        snprintf(note, n, "sport {%s} | {%s} cut, node %d bridges", ta, tb, bridge + 1);
        return true;
    }
    char ta[16], tb[16];
    mask_text(a, ta, sizeof ta);
    mask_text(b, tb, sizeof tb);
    snprintf(note, n, "sport {%s} | {%s}", ta, tb);
    return true;
}

/* A clean rolling restart: node i stopped with SIGTERM (it must exit 0) and started again. */
static void roll_node(struct h_cluster *c, int i)
{
    struct op *o = record(OP_FAULT, -1, i, "rolling");
    int st = h_node_stop(c, i);
    h_node_start(c, i);
    snprintf(o->note, sizeof o->note, "SIGTERM %s node %d (%s %d), started again",
             c == &acc ? "accounts" : "sport", i + 1, WIFEXITED(st) ? "exit" : "signal",
             WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* A full disk: one sport node's data directory on a small tmpfs of its own (the run's mount
 * namespace is private), filled up by a file beside it and freed again. The node must refuse
 * writes or stop, never corrupt its state; freed, it catches up (restarted if it stopped). */
char disk_dir[300];
int disk_stops;

void disk_mount(void)
{
    if (!own_netns)
        return;
    char data[512];
    snprintf(disk_dir, sizeof disk_dir, "%s/disk", sp.root);
    snprintf(data, sizeof data, "%s/data", disk_dir);
    if (mkdir(disk_dir, 0700) != 0 || mount("tmpfs", disk_dir, "tmpfs", 0, "size=128m") != 0 ||
        mkdir(data, 0700) != 0) {
        fprintf(stderr, "chaos: no tmpfs for the full disk: %s\n", strerror(errno));
        disk_dir[0] = 0;
        return;
    }
    snprintf(sp.nodes[DISK_NODE].dir, sizeof sp.nodes[DISK_NODE].dir, "%s", data);
}

static void disk_fill(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "dd if=/dev/zero of=%s/filler bs=1M 2>/dev/null", disk_dir);
    (void)!system(cmd); /* it stops at "no space left" */
}

static void disk_free(char *note, size_t n)
{
    char f[400];
    snprintf(f, sizeof f, "%s/filler", disk_dir);
    unlink(f);
    /* A node that stopped on the full disk is started again. */
    struct h_node *nd = &sp.nodes[DISK_NODE];
    int st = 0;
    if (nd->pid > 0 && waitpid(nd->pid, &st, WNOHANG) == nd->pid) {
        nd->pid = 0;
        h_node_start(&sp, DISK_NODE);
        snprintf(note, n, "disk freed; sport node %d had stopped (%s %d), restarted",
                 DISK_NODE + 1, WIFEXITED(st) ? "exit" : "signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        disk_stops++;
    } else {
        snprintf(note, n, "disk freed; sport node %d still running", DISK_NODE + 1);
    }
}

void fault(int kind)
{
    struct op *o = record(OP_FAULT, -1, -1, fault_name[kind]);
    bool accounts = kind == F_KILL_ACC_LEADER || kind == F_KILL_ACC_FOLLOWER ||
                    kind == F_PAUSE_ACC_LEADER;
    struct h_cluster *c = accounts ? &acc : &sp;
    int leader = h_wait_leader(c, 5000);
    if (leader < 0) {
        snprintf(o->note, sizeof o->note, "skipped: no leader");
        return;
    }
    int follower = (leader + 1 + rand() % (c->n - 1)) % c->n;
    double back = h_now() + 1.0 + (rand() % 3000) / 1000.0;
    const char *cn = accounts ? "accounts" : "sport";
    o->node = leader;
    switch (kind) {
    case F_KILL_SPORT_LEADER:
    case F_KILL_ACC_LEADER:
    case F_KILL_SPORT_FOLLOWER:
    case F_KILL_ACC_FOLLOWER:
        o->node = kind == F_KILL_SPORT_FOLLOWER || kind == F_KILL_ACC_FOLLOWER ? follower : leader;
        h_node_kill(c, o->node);
        heal_later(H_RESTART, c, o->node, back);
        snprintf(o->note, sizeof o->note, "kill -9 %s node %d", cn, o->node + 1);
        break;
    case F_KILL_TWO_SPORT:
        h_node_kill(c, leader);
        h_node_kill(c, follower);
        heal_later(H_RESTART, c, leader, back);
        heal_later(H_RESTART, c, follower, back);
        snprintf(o->note, sizeof o->note, "kill -9 sport nodes %d and %d", leader + 1,
                 follower + 1);
        break;
    case F_PAUSE_SPORT_LEADER:
    case F_PAUSE_ACC_LEADER:
        h_node_signal(c, leader, SIGSTOP);
        heal_later(H_CONT, c, leader, back);
        snprintf(o->note, sizeof o->note, "SIGSTOP %s node %d", cn, leader + 1);
        break;
    case F_PART_ISOLATE_LEADER:
    case F_PART_MAJORITY:
    case F_PART_BRIDGE:
        if (!partition(kind, leader, o->note, sizeof o->note)) {
            snprintf(o->note, sizeof o->note, "skipped: nodes not in namespaces of their own");
            return;
        }
        heal_later(H_LINKS_UP, NULL, -1, back + 1);
        break;
    case F_ROLLING_RESTART: {
        /* The sport and the accounts clusters in turn. */
        struct h_cluster *rc = faults_by_kind[kind] % 2 ? &acc : &sp;
        snprintf(o->note, sizeof o->note, "rolling restart of %s: SIGTERM, start, ready, next",
                 rc == &acc ? "accounts" : "sport");
        roll_node(rc, 0);
        heal_later(H_ROLL, rc, 0, h_now() + 0.5);
        break;
    }
    case F_DISK_FULL:
        if (!disk_dir[0]) {
            snprintf(o->note, sizeof o->note, "skipped: no tmpfs");
            return;
        }
        disk_fill();
        o->node = DISK_NODE;
        snprintf(o->note, sizeof o->note, "sport node %d's disk full", DISK_NODE + 1);
        heal_later(H_DISK_FREE, &sp, DISK_NODE, back + 1);
        break;
    case F_NETEM:
        if (!own_netns) {
            snprintf(o->note, sizeof o->note, "skipped: no network namespace of our own");
            return;
        }
        sh("tc qdisc add dev lo root netem delay 20ms 10ms loss 3%%");
        heal_later(H_NETEM_OFF, NULL, -1, back + 2);
        snprintf(o->note, sizeof o->note, "netem on lo: delay 20ms +-10ms, loss 3%%");
        break;
    case F_CUT_SPORT_LEADER:
        if (!own_netns) {
            snprintf(o->note, sizeof o->note, "skipped: no network namespace of our own");
            return;
        }
        /* Every packet to the leader's Raft port dropped: its peers' messages never reach it
         * (it still reaches them): it cannot commit, they elect another leader. */
        sh("tc qdisc add dev lo root handle 1: prio && tc filter add dev lo parent 1: protocol "
           "ip prio 1 u32 match ip dport %d 0xffff action drop",
           sp.nodes[leader].raft_port);
        heal_later(H_NETEM_OFF, NULL, -1, back + 2);
        snprintf(o->note, sizeof o->note, "sport node %d's Raft port cut (inbound)", leader + 1);
        break;
    }
    faults_by_kind[kind]++;
}

/* The rolling restart goes on once the node restarted last is ready (the next one then);
 * returns true when the last one is ready. @block: wait for it. */
static bool roll_step(struct pending *p, bool block)
{
    for (;;) {
        if (!h_wait_ready(p->c, p->i, block ? H_WAIT_MS : 0)) {
            if (h_now() - p->since > H_WAIT_MS / 1000.0)
                anomaly(-1, "rolling restart: node %d not ready %d s after its restart",
                        p->i + 1, H_WAIT_MS / 1000);
            p->at = h_now() + 0.3;
            return false;
        }
        if (++p->i >= p->c->n)
            return true;
        roll_node(p->c, p->i);
        p->since = h_now();
        if (!block) {
            p->at = h_now() + 0.5;
            return false;
        }
    }
}

/* Undo the faults that are due (all of them with @all); returns how many. */
int heal_due(bool all)
{
    int healed = 0;
    for (int k = 0; k < nheals;) {
        struct pending *p = &heals[k];
        if (!all && h_now() < p->at) {
            k++;
            continue;
        }
        if (p->how == H_ROLL && !roll_step(p, all)) {
            k++;
            continue;
        }
        struct op *o = record(OP_FAULT, -1, p->i, "heal");
        const char *cn = p->c == &acc ? "accounts" : "sport";
        if (p->how == H_RESTART) {
            h_node_start(p->c, p->i);
            snprintf(o->note, sizeof o->note, "restart %s node %d", cn, p->i + 1);
        } else if (p->how == H_CONT) {
            h_node_signal(p->c, p->i, SIGCONT);
            snprintf(o->note, sizeof o->note, "SIGCONT %s node %d", cn, p->i + 1);
        } else if (p->how == H_ROLL) {
            snprintf(o->note, sizeof o->note, "rolling restart of %s done", cn);
        } else if (p->how == H_DISK_FREE) {
            disk_free(o->note, sizeof o->note);
        } else if (p->how == H_LINKS_UP) {
            links_up();
            snprintf(o->note, sizeof o->note, "every sport link restored");
        } else {
            sh("tc qdisc del dev lo root");
            snprintf(o->note, sizeof o->note, "lo qdisc removed");
        }
        *p = heals[--nheals];
        healed++;
    }
    return healed;
}
