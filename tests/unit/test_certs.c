/* Member certificates and TLS contexts (common/certs.c, common/tls.c): the member name a
 * certificate carries, what the issuer refuses, what opening and reloading the files refuse,
 * and an expired certificate failing verification against the CA. */
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/certs.h"
#include "common/tls.h"

static char dir[64];

static void setup_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/parlay-tls-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char ca[128], key[128], err[256];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(key, sizeof key, "%s/ca.key", dir);
    assert_int_equal(certs_ca_init(ca, key, "test CA", 30, err, sizeof err), 0);
}

static void cleanup_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static int issue(const char *name, const char *cluster, uint64_t id, const char *hosts, long nb,
                 long na, char *err, size_t n)
{
    char ca[128], ca_key[128], cert[128], key[128];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(ca_key, sizeof ca_key, "%s/ca.key", dir);
    snprintf(cert, sizeof cert, "%s/%s.pem", dir, name);
    snprintf(key, sizeof key, "%s/%s.key", dir, name);
    struct certs_request r = {.ca_cert = ca, .ca_key = ca_key, .cluster = cluster,
                              .node_id = id, .hosts = hosts, .not_before_s = nb,
                              .not_after_s = na, .cert_out = cert, .key_out = key};
    return certs_issue(&r, err, n);
}

static X509 *load(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s.pem", dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    return x;
}

static void member_names(void **state)
{
    (void)state;
    setup_dir();
    char err[256], cluster[64];
    uint64_t id = 0;
    assert_int_equal(issue("n7", "football", 7, "127.0.0.1,node7.example", -60, 3600, err,
                           sizeof err),
                     0);
    X509 *x = load("n7");
    assert_int_equal(tls_peer_member(x, cluster, sizeof cluster, &id), 0);
    assert_string_equal(cluster, "football");
    assert_int_equal(id, 7);
    X509_free(x);

    /* A cluster name with a colon: the id is what follows the last one. */
    assert_int_equal(issue("n3", "a:b", 3, NULL, -60, 3600, err, sizeof err), 0);
    x = load("n3");
    assert_int_equal(tls_peer_member(x, cluster, sizeof cluster, &id), 0);
    assert_string_equal(cluster, "a:b");
    assert_int_equal(id, 3);
    /* too small a buffer for the cluster: no member */
    assert_int_equal(tls_peer_member(x, cluster, 3, &id), -1);
    X509_free(x);

    /* A server certificate (the edge's) names no member. */
    assert_int_equal(issue("edge", NULL, 0, "localhost,127.0.0.1", -60, 3600, err, sizeof err),
                     0);
    x = load("edge");
    assert_int_equal(tls_peer_member(x, cluster, sizeof cluster, &id), -1);
    X509_free(x);
    assert_int_equal(tls_peer_member(NULL, cluster, sizeof cluster, &id), -1);
    cleanup_dir();
}

static void issuer_refusals(void **state)
{
    (void)state;
    setup_dir();
    char err[256], ca[128], key[128];
    assert_int_equal(issue("x", NULL, 4, NULL, 0, 3600, err, sizeof err), -1);
    assert_non_null(strstr(err, "cluster"));
    assert_int_equal(issue("x", NULL, 0, NULL, 0, 3600, err, sizeof err), -1);
    assert_int_equal(issue("x", NULL, 0, "bad host!", 0, 3600, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad host!"));
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(key, sizeof key, "%s/ca.key", dir);
    assert_int_equal(certs_ca_init(ca, key, "again", 30, err, sizeof err), -1); /* once */
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    cleanup_dir();
}

static void files_open_and_reload(void **state)
{
    (void)state;
    setup_dir();
    char err[256], ca[128], c1[128], k1[128], k2[128];
    assert_int_equal(issue("n1", "football", 1, "127.0.0.1", -60, 3600, err, sizeof err), 0);
    assert_int_equal(issue("n2", "football", 2, "127.0.0.1", -60, 3600, err, sizeof err), 0);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(c1, sizeof c1, "%s/n1.pem", dir);
    snprintf(k1, sizeof k1, "%s/n1.key", dir);
    snprintf(k2, sizeof k2, "%s/n2.key", dir);
    struct tls_files *t = NULL;
    /* another node's key */
    assert_int_equal(tls_files_open(&t, ca, c1, k2, true, err, sizeof err), -1);
    assert_non_null(strstr(err, k2)); /* "key file ...n2.key: key values mismatch" */
    assert_non_null(strstr(err, "mismatch"));
    /* a key others may read */
    chmod(k1, 0644);
    assert_int_equal(tls_files_open(&t, ca, c1, k1, true, err, sizeof err), -1);
    assert_non_null(strstr(err, "group or others"));
    chmod(k1, 0600);
    assert_int_equal(tls_files_open(&t, ca, c1, k1, true, err, sizeof err), 0);
    SSL_CTX *first = tls_files_ctx(t);
    assert_non_null(first);
    assert_int_equal(SSL_CTX_get_min_proto_version(first), TLS1_3_VERSION);
    assert_int_equal(tls_files_reload(t, false, err, sizeof err), 0); /* nothing changed */
    assert_ptr_equal(tls_files_ctx(t), first);

    /* Rotation: new key and certificate in place: a new context. */
    assert_int_equal(issue("n1", "football", 1, "127.0.0.1", -60, 7200, err, sizeof err), 0);
    assert_int_equal(tls_files_reload(t, false, err, sizeof err), 1);
    SSL_CTX *second = tls_files_ctx(t);
    assert_ptr_not_equal(second, first);

    /* Half a rotation (a key that does not match): refused, the context stays. */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp %s %s.new && mv %s.new %s", k2, k1, k1, k1);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(tls_files_reload(t, false, err, sizeof err), -1);
    assert_ptr_equal(tls_files_ctx(t), second);
    tls_files_free(t);
    cleanup_dir();
}

static int verify(const char *name)
{
    char ca[128];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    X509_STORE *store = X509_STORE_new();
    assert_int_equal(X509_STORE_load_file(store, ca), 1);
    X509 *x = load(name);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, x, NULL);
    int rv = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_free(x);
    X509_STORE_free(store);
    return rv;
}

static void validity_is_checked(void **state)
{
    (void)state;
    setup_dir();
    char err[256];
    assert_int_equal(issue("ok", "football", 1, NULL, -60, 3600, err, sizeof err), 0);
    assert_int_equal(issue("old", "football", 1, NULL, -7200, -3600, err, sizeof err), 0);
    assert_int_equal(issue("soon", "football", 1, NULL, 3600, 7200, err, sizeof err), 0);
    assert_int_equal(verify("ok"), X509_V_OK);
    assert_int_equal(verify("old"), X509_V_ERR_CERT_HAS_EXPIRED);
    assert_int_equal(verify("soon"), X509_V_ERR_CERT_NOT_YET_VALID);
    cleanup_dir();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(member_names),
        cmocka_unit_test(issuer_refusals),
        cmocka_unit_test(files_open_and_reload),
        cmocka_unit_test(validity_is_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
