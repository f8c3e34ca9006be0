/* Members' TLS contexts and identities; see tls.h.
 *
 * Happy path: tls_files_open stats the three files, builds a context (TLS 1.3 only, the CA as
 * the only trust anchor, this node's chain and key, peer verification on) and remembers the
 * files' change times; tls_files_reload compares them again and builds a fresh context when
 * one moved. Failure modes: a file missing or unreadable, a key readable by others, a key that
 * does not belong to the certificate: the open fails with a message naming the file; a reload
 * keeps the old context and says why. */
#include "common/tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct tls_files {
    char *ca, *cert, *key;
    bool require_peer_cert;
    struct timespec seen[3]; /* change times of ca, cert, key at the last good load */
    SSL_CTX *ctx;
    void (*hook)(SSL_CTX *ctx, void *arg);
    void *hook_arg;
};

static int stamp(const char *path, struct timespec *ts, bool private, char *err, size_t n)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (private && (st.st_mode & 077)) {
        snprintf(err, n, "%s: group or others may read it (chmod 600)", path);
        return -1;
    }
    *ts = st.st_mtim;
    return 0;
}

static void ssl_err(char *err, size_t n, const char *what, const char *path)
{
    unsigned long e = ERR_get_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    snprintf(err, n, "%s %s: %s", what, path, r ? r : "failed");
    ERR_clear_error();
}

static SSL_CTX *build(const struct tls_files *t, char *err, size_t n)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (!ctx) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    if (SSL_CTX_load_verify_locations(ctx, t->ca, NULL) != 1) {
        ssl_err(err, n, "CA file", t->ca);
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1) {
        ssl_err(err, n, "certificate file", t->cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1) {
        ssl_err(err, n, "key file", t->key);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(err, n, "key file %s does not belong to certificate %s", t->key, t->cert);
        goto fail;
    }
    SSL_CTX_set_verify(ctx,
                       SSL_VERIFY_PEER |
                           (t->require_peer_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       NULL);
    SSL_CTX_set_verify_depth(ctx, 4);
    /* Without a session id context a server that verifies clients refuses resumed sessions
     * with an error; there are none (no tickets, no cache), but set one anyway. */
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"parlay", 6);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

int tls_files_reload(struct tls_files *t, bool force, char *err, size_t n)
{
    struct timespec now[3];
    if (stamp(t->ca, &now[0], false, err, n) || stamp(t->cert, &now[1], false, err, n) ||
        stamp(t->key, &now[2], true, err, n))
        return -1;
    if (!force && t->ctx && !memcmp(now, t->seen, sizeof now))
        return 0;
    SSL_CTX *ctx = build(t, err, n);
    if (!ctx)
        return -1;
    if (t->hook)
        t->hook(ctx, t->hook_arg);
    SSL_CTX_free(t->ctx);
    t->ctx = ctx;
    memcpy(t->seen, now, sizeof now);
    return 1;
}

int tls_files_open(struct tls_files **out, const char *ca, const char *cert, const char *key,
                   bool require_peer_cert, char *err, size_t n)
{
    struct tls_files *t = calloc(1, sizeof *t);
    if (!t || !(t->ca = strdup(ca)) || !(t->cert = strdup(cert)) || !(t->key = strdup(key))) {
        tls_files_free(t);
        snprintf(err, n, "out of memory");
        return -1;
    }
    t->require_peer_cert = require_peer_cert;
    if (tls_files_reload(t, true, err, n) < 0) {
        tls_files_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

void tls_files_on_build(struct tls_files *t, void (*hook)(SSL_CTX *ctx, void *arg), void *arg)
{
    t->hook = hook;
    t->hook_arg = arg;
    hook(t->ctx, arg);
}

SSL_CTX *tls_files_ctx(struct tls_files *t) { return t->ctx; }
const char *tls_files_ca(const struct tls_files *t) { return t->ca; }
const char *tls_files_cert(const struct tls_files *t) { return t->cert; }
const char *tls_files_key(const struct tls_files *t) { return t->key; }

void tls_files_free(struct tls_files *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t->ca);
    free(t->cert);
    free(t->key);
    free(t);
}

int tls_peer_member(X509 *cert, char *cluster, size_t n, uint64_t *id)
{
    if (!cert)
        return -1;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int found = 0;
    const size_t pl = strlen(TLS_MEMBER_PREFIX);
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type != GEN_URI)
            continue;
        const char *s = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
        size_t len = (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier);
        if (len <= pl || strncmp(s, TLS_MEMBER_PREFIX, pl) != 0 || memchr(s, 0, len))
            continue;
        const char *rest = s + pl, *end = s + len, *colon = NULL;
        for (const char *p = rest; p < end; p++)
            if (*p == ':')
                colon = p;
        if (!colon || colon == rest || (size_t)(colon - rest) >= n || end - colon - 1 < 1 ||
            end - colon - 1 > 19) {
            found = -1;
            break;
        }
        uint64_t v = 0;
        for (const char *p = colon + 1; p < end; p++) {
            if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10) {
                found = -1;
                break;
            }
            v = v * 10 + (uint64_t)(*p - '0');
        }
        if (found < 0 || found == 1 || v == 0) { /* a second member name is ambiguous */
            found = -1;
            break;
        }
        memcpy(cluster, rest, (size_t)(colon - rest));
        cluster[colon - rest] = 0;
        *id = v;
        found = 1;
    }
    GENERAL_NAMES_free(names);
    return found == 1 ? 0 : -1;
}

const char *tls_failure(SSL *ssl, char *buf, size_t n)
{
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    unsigned long e = ERR_peek_last_error();
    if (vr != X509_V_OK)
        snprintf(buf, n, "%s", X509_verify_cert_error_string(vr));
    else if (e && ERR_reason_error_string(e))
        snprintf(buf, n, "%s", ERR_reason_error_string(e));
    else
        snprintf(buf, n, "connection closed during the TLS handshake");
    ERR_clear_error();
    return buf;
}
