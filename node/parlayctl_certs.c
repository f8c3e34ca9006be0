/* parlayctl certs: the deployment's CA and the members' certificates, made locally with
 * OpenSSL's API (common/certs.h); nothing is sent to a node.
 *
 *   certs ca-init [--dir D] [--name NAME] [--days N]           D/ca.pem, D/ca.key (once)
 *   certs issue NODE --cluster C [--hosts H,..] [--dir D] [--days N] [--out BASE]
 *   certs rotate NODE --cluster C [--hosts H,..] [--dir D] [--days N]
 *
 * NODE is a node id (the certificate names the member "urn:parlay:member:C:ID") or a name
 * (a server certificate for the edge, no member name). issue refuses to replace a certificate;
 * rotate replaces one (a new key too), and the node picks it up within a second (or at once on
 * SIGHUP) for new connections. Failure modes: an existing CA, a missing CA, an unwritable
 * directory, bad arguments: exit 2 (usage) or 1 with the reason. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/certs.h"
#include "node/parlayctl.h"

static const char *const certs_usage =
    "usage: parlayctl certs ca-init [--dir D] [--name NAME] [--days N]\n"
    "       parlayctl certs issue|rotate NODE [--cluster C] [--hosts H,...] [--dir D] "
    "[--days N] [--out BASE]\n"
    "  D defaults to ./certs; NODE is a node id (needs --cluster) or a name (a server\n"
    "  certificate for the edge, needs --hosts); --out BASE writes BASE.pem and BASE.key\n"
    "  instead of D/node-NODE.pem (two clusters' node 1 in one directory)";

int cmd_certs(int argc, char **argv)
{
    if (argc < 2)
        die(EXIT_USAGE, "%s", certs_usage);
    const char *sub = argv[1], *dir = "certs", *name = "Parlay deployment CA", *cluster = NULL,
               *hosts = NULL, *node = NULL, *out = NULL;
    long days = -1;
    int i = 2;
    if (strcmp(sub, "ca-init") != 0) {
        if (argc < 3 || !strncmp(argv[2], "--", 2))
            die(EXIT_USAGE, "%s", certs_usage);
        node = argv[2];
        i = 3;
    }
    for (; i < argc; i++) {
        if (i + 1 >= argc)
            die(EXIT_USAGE, "%s", certs_usage);
        if (!strcmp(argv[i], "--dir"))
            dir = argv[++i];
        else if (!strcmp(argv[i], "--name"))
            name = argv[++i];
        else if (!strcmp(argv[i], "--cluster"))
            cluster = argv[++i];
        else if (!strcmp(argv[i], "--hosts"))
            hosts = argv[++i];
        else if (!strcmp(argv[i], "--out"))
            out = argv[++i];
        else if (!strcmp(argv[i], "--days")) {
            char *e;
            days = strtol(argv[++i], &e, 10);
            if (*e || days < 1 || days > 3650)
                die(EXIT_USAGE, "--days takes 1 to 3650");
        } else
            die(EXIT_USAGE, "%s", certs_usage);
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        die(EXIT_REFUSED, "%s: %s", dir, strerror(errno));
    char cert[1024], key[1024], ca[1024], ca_key[1024], err[512];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(ca_key, sizeof ca_key, "%s/ca.key", dir);
    if (!strcmp(sub, "ca-init")) {
        if (certs_ca_init(ca, ca_key, name, days > 0 ? days : 3650, err, sizeof err) != 0)
            die(EXIT_REFUSED, "%s", err);
        printf("CA %s (key %s)\n", ca, ca_key);
        return EXIT_OK;
    }
    bool rotate = !strcmp(sub, "rotate");
    if (!rotate && strcmp(sub, "issue"))
        die(EXIT_USAGE, "%s", certs_usage);
    char *end;
    unsigned long long id = strtoull(node, &end, 10);
    bool member = *node >= '1' && *node <= '9' && !*end && id <= UINT32_MAX;
    if (!member) {
        for (const char *p = node; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
                die(EXIT_USAGE, "NODE is a node id or a name of a-z, 0-9 and '-'");
        id = 0;
        if (!hosts)
            die(EXIT_USAGE, "a server certificate needs --hosts");
    } else if (!cluster)
        die(EXIT_USAGE, "a member certificate needs --cluster (the cluster it belongs to)");
    if (out) {
        snprintf(cert, sizeof cert, "%s.pem", out);
        snprintf(key, sizeof key, "%s.key", out);
    } else {
        snprintf(cert, sizeof cert, "%s/%s%s.pem", dir, member ? "node-" : "", node);
        snprintf(key, sizeof key, "%s/%s%s.key", dir, member ? "node-" : "", node);
    }
    if (!rotate && access(cert, F_OK) == 0)
        die(EXIT_REFUSED, "%s exists (use certs rotate to replace it)", cert);
    if (rotate && access(cert, F_OK) != 0)
        die(EXIT_REFUSED, "%s does not exist (use certs issue first)", cert);
    struct certs_request r = {.ca_cert = ca, .ca_key = ca_key, .cluster = cluster,
                              .node_id = id, .hosts = hosts, .not_before_s = -300,
                              .not_after_s = (days > 0 ? days : 397) * 86400L,
                              .cert_out = cert, .key_out = key};
    if (certs_issue(&r, err, sizeof err) != 0)
        die(EXIT_REFUSED, "%s", err);
    printf("%s %s (key %s)\n", rotate ? "rotated" : "issued", cert, key);
    return EXIT_OK;
}
