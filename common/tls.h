/* Members' TLS: the deployment's CA, this node's certificate and key (three PEM files named in
 * the configuration), turned into an OpenSSL SSL_CTX and rebuilt when the files change.
 *
 * A member's certificate names its cluster and node id in a URI subject alternative name,
 * "urn:parlay:member:<cluster>:<node id>" (tls_member_uri, tls_peer_member). Contexts are TLS
 * 1.3 only, verify the peer against the CA (chain, validity period), and send no session
 * tickets. A reload that fails (a missing file, a key that does not match the certificate: the
 * middle of a rotation) keeps the previous context and is tried again at the next check. */
#ifndef PARLAY_TLS_H
#define PARLAY_TLS_H

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_MEMBER_PREFIX "urn:parlay:member:"

struct tls_files;

/* Load @ca, @cert and @key (the key must not be readable by group or others); with
 * @require_peer_cert a peer without a certificate is refused (members' Raft), else a
 * certificate is only checked when presented (an HTTPS server that also serves clients). */
int tls_files_open(struct tls_files **out, const char *ca, const char *cert, const char *key,
                   bool require_peer_cert, char *err, size_t n);
/* Rebuild the context if a file changed since the last successful load (@force: always).
 * 1: reloaded; 0: unchanged; -1: failed (message in @err), the previous context stays. */
int tls_files_reload(struct tls_files *t, bool force, char *err, size_t n);
/* The current context (owned by @t; SSL_new takes its own reference, so connections made
 * before a reload keep theirs). */
SSL_CTX *tls_files_ctx(struct tls_files *t);
const char *tls_files_ca(const struct tls_files *t);
const char *tls_files_cert(const struct tls_files *t);
const char *tls_files_key(const struct tls_files *t);
void tls_files_free(struct tls_files *t);
/* Call @hook on the current context now and on every context a reload builds (callbacks,
 * app data). */
void tls_files_on_build(struct tls_files *t, void (*hook)(SSL_CTX *ctx, void *arg), void *arg);

/* The member a certificate names: 0 with @cluster and @id set, -1 if it names none (or more
 * than one). */
int tls_peer_member(X509 *cert, char *cluster, size_t n, uint64_t *id);
/* Why the last TLS operation on @ssl failed, for a log line ("certificate has expired", ...);
 * clears OpenSSL's error queue. */
const char *tls_failure(SSL *ssl, char *buf, size_t n);

#endif
