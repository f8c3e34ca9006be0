/* A deployment's CA and member certificates; see certs.h.
 *
 * Happy path: a fresh EC P-256 key, an X509 with a random 128-bit serial, the extensions,
 * signed with SHA-256 by the CA (or itself), then key and certificate written through a
 * temporary file and a rename. Failure modes: an unreadable CA file or key, a CA key that does
 * not match its certificate, an unwritable directory, a host list that does not parse: -1 with
 * a message, and nothing replaced. */
#include "common/certs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tls.h"

static int fail(char *err, size_t n, const char *what)
{
    unsigned long e = ERR_get_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    snprintf(err, n, "%s%s%s", what, r ? ": " : "", r ? r : "");
    ERR_clear_error();
    return -1;
}

static EVP_PKEY *new_key(void) { return EVP_EC_gen("P-256"); }

static int add_ext(X509 *issuer, X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ex)
        return -1;
    int ok = X509_add_ext(x, ex, -1);
    X509_EXTENSION_free(ex);
    return ok ? 0 : -1;
}

/* Write @len bytes through @path.tmp and a rename; @mode for the new file. */
static int write_atomic(const char *path, const char *data, size_t len, mode_t mode, char *err,
                        size_t n)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        snprintf(err, n, "%s: path too long", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, n, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    fchmod(fd, mode);
    size_t off = 0;
    while (off < len) {
        ssize_t k = write(fd, data + off, len - off);
        if (k <= 0) {
            snprintf(err, n, "%s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)k;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int write_pem(const char *path, EVP_PKEY *key, X509 *cert, char *err, size_t n)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b || (key && !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) ||
        (cert && !PEM_write_bio_X509(b, cert))) {
        BIO_free(b);
        return fail(err, n, "PEM encoding");
    }
    char *data;
    long len = BIO_get_mem_data(b, &data);
    int rv = write_atomic(path, data, (size_t)len, key ? 0600 : 0644, err, n);
    BIO_free(b);
    return rv;
}

static X509 *new_cert(EVP_PKEY *key, const char *cn, const char *org, long nb, long na)
{
    X509 *x = X509_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    ASN1_INTEGER *sn = NULL;
    if (!x || RAND_bytes(serial, sizeof serial) != 1)
        goto bad;
    serial[0] &= 0x7f; /* positive */
    serial[0] |= 0x01; /* and 16 bytes long */
    if (!(bn = BN_bin2bn(serial, sizeof serial, NULL)) || !(sn = BN_to_ASN1_INTEGER(bn, NULL)) ||
        !X509_set_serialNumber(x, sn) || !X509_set_version(x, 2) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), nb) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), na) || !X509_set_pubkey(x, key))
        goto bad;
    X509_NAME *name = X509_get_subject_name(x);
    if ((org && !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                            (const unsigned char *)org, -1, -1, 0)) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                    -1, 0))
        goto bad;
    BN_free(bn);
    ASN1_INTEGER_free(sn);
    return x;
bad:
    BN_free(bn);
    ASN1_INTEGER_free(sn);
    X509_free(x);
    return NULL;
}

int certs_ca_init(const char *cert_path, const char *key_path, const char *name, long days,
                  char *err, size_t n)
{
    if (access(cert_path, F_OK) == 0 || access(key_path, F_OK) == 0) {
        snprintf(err, n, "%s or %s exists: a CA is made once (issue with it, or remove it first)",
                 cert_path, key_path);
        return -1;
    }
    EVP_PKEY *key = new_key();
    X509 *x = key ? new_cert(key, name, NULL, 0, days * 86400) : NULL;
    int rv = -1;
    if (!x) {
        fail(err, n, "CA key or certificate");
        goto out;
    }
    X509_set_issuer_name(x, X509_get_subject_name(x));
    if (add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        add_ext(x, x, NID_subject_key_identifier, "hash") || !X509_sign(x, key, EVP_sha256())) {
        fail(err, n, "signing the CA certificate");
        goto out;
    }
    rv = write_pem(key_path, key, NULL, err, n);
    if (rv == 0)
        rv = write_pem(cert_path, NULL, x, err, n);
out:
    X509_free(x);
    EVP_PKEY_free(key);
    return rv;
}

/* "IP:a,DNS:b,URI:c" for the subject alternative name. */
static int san_of(const struct certs_request *r, char *out, size_t cap, char *err, size_t n)
{
    size_t len = 0;
    out[0] = 0;
    if (r->node_id)
        len += (size_t)snprintf(out + len, cap - len, "URI:%s%s:%llu", TLS_MEMBER_PREFIX,
                                r->cluster, (unsigned long long)r->node_id);
    char hosts[1024];
    snprintf(hosts, sizeof hosts, "%s", r->hosts ? r->hosts : "");
    for (char *save = NULL, *h = strtok_r(hosts, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
        while (*h == ' ')
            h++;
        if (!*h)
            continue;
        unsigned char buf[16];
        bool ip = inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
        for (const char *p = h; !ip && *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '.')) {
                snprintf(err, n, "host '%s' is neither an IP address nor a DNS name", h);
                return -1;
            }
        len += (size_t)snprintf(out + len, cap - len, "%s%s:%s", len ? "," : "",
                                ip ? "IP" : "DNS", h);
    }
    if (len >= cap) {
        snprintf(err, n, "too many hosts");
        return -1;
    }
    return 0;
}

int certs_issue(const struct certs_request *r, char *err, size_t n)
{
    EVP_PKEY *ca_key = NULL, *key = NULL;
    X509 *ca = NULL, *x = NULL;
    int rv = -1;
    char cn[160], san[2048];
    if (r->node_id && (!r->cluster || !r->cluster[0] || strchr(r->cluster, ','))) {
        snprintf(err, n, "a member certificate needs a cluster name (without ',')");
        return -1;
    }
    if (san_of(r, san, sizeof san, err, n) != 0)
        return -1;
    if (!san[0]) {
        snprintf(err, n, "a certificate needs a node id or at least one host");
        return -1;
    }
    FILE *f = fopen(r->ca_cert, "r");
    if (f) {
        ca = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (!ca) {
        snprintf(err, n, "CA certificate %s: %s", r->ca_cert, f ? "not PEM" : strerror(errno));
        goto out;
    }
    f = fopen(r->ca_key, "r");
    if (f) {
        ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (!ca_key || X509_check_private_key(ca, ca_key) != 1) {
        ERR_clear_error();
        snprintf(err, n, "CA key %s: %s", r->ca_key,
                 !f ? strerror(errno) : ca_key ? "does not belong to the CA" : "not PEM");
        goto out;
    }
    if (r->node_id)
        snprintf(cn, sizeof cn, "node %llu of %s", (unsigned long long)r->node_id, r->cluster);
    else
        snprintf(cn, sizeof cn, "%s", r->hosts);
    if (!(key = new_key()) ||
        !(x = new_cert(key, cn, r->node_id ? r->cluster : NULL, r->not_before_s, r->not_after_s))) {
        fail(err, n, "key or certificate");
        goto out;
    }
    X509_set_issuer_name(x, X509_get_subject_name(ca));
    if (add_ext(ca, x, NID_basic_constraints, "critical,CA:FALSE") ||
        add_ext(ca, x, NID_key_usage, "critical,digitalSignature") ||
        add_ext(ca, x, NID_ext_key_usage, "serverAuth,clientAuth") ||
        add_ext(ca, x, NID_authority_key_identifier, "keyid") ||
        add_ext(ca, x, NID_subject_alt_name, san) || !X509_sign(x, ca_key, EVP_sha256())) {
        fail(err, n, "signing the certificate");
        goto out;
    }
    rv = write_pem(r->key_out, key, NULL, err, n);
    if (rv == 0)
        rv = write_pem(r->cert_out, NULL, x, err, n);
out:
    X509_free(x);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return rv;
}
