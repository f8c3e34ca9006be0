/* A deployment's certificate authority and its member certificates, made with OpenSSL's API
 * (parlayctl certs; the TLS tests make foreign, expired and non-member certificates with it).
 *
 * Keys are EC P-256. The CA is self-signed (CA:TRUE, pathlen 0, keyCertSign). A member's
 * certificate names "urn:parlay:member:<cluster>:<id>" (common/tls.h) and the hosts it serves
 * HTTPS on (IP addresses and DNS names as subject alternative names), for both TLS server and
 * client use. Files are written to a temporary name and renamed, keys with mode 0600, so that a
 * node re-reading them sees the old file or the new one, never half of one. */
#ifndef PARLAY_CERTS_H
#define PARLAY_CERTS_H

#include <stddef.h>
#include <stdint.h>

/* A new CA key and self-signed certificate named @name, valid @days; refuses to replace an
 * existing file. 0, or -1 with a message. */
int certs_ca_init(const char *cert_path, const char *key_path, const char *name, long days,
                  char *err, size_t n);

struct certs_request {
    const char *ca_cert, *ca_key;   /* the issuing CA */
    const char *cluster;            /* with node_id: the member it names */
    uint64_t node_id;               /* 0: no member name (the edge's server certificate) */
    const char *hosts;              /* comma-separated IP addresses / DNS names, or NULL */
    long not_before_s, not_after_s; /* validity, in seconds from now (tests: both < 0) */
    const char *cert_out, *key_out; /* written (replaced) atomically */
};

int certs_issue(const struct certs_request *r, char *err, size_t n);

#endif
