#include "node/key.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hex.h"

static int from_hex(const char *in, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(in + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return 0;
}

int key_load_or_create(const char *data_dir, char pub_hex[67], char *err, size_t n)
{
    char path[4200];
    unsigned char sk[32];
    snprintf(path, sizeof path, "%s/node.key", data_dir);
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    int rv = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct stat st;
        char hex[80] = {0};
        if (fstat(fd, &st) != 0 || (st.st_mode & 077)) {
            snprintf(err, n, "%s: key file must have mode 0600 (it is %03o)", path,
                     (unsigned)(st.st_mode & 0777));
            close(fd);
            goto out;
        }
        ssize_t got = read(fd, hex, sizeof hex - 1);
        close(fd);
        if (got < 64 || from_hex(hex, sk, 32) != 0 || !secp256k1_ec_seckey_verify(ctx, sk)) {
            snprintf(err, n, "%s: not a valid secp256k1 key (64 hex digits)", path);
            goto out;
        }
    } else if (errno == ENOENT) {
        do {
            if (RAND_bytes(sk, sizeof sk) != 1) {
                snprintf(err, n, "no randomness for the node key");
                goto out;
            }
        } while (!secp256k1_ec_seckey_verify(ctx, sk));
        char hex[66];
        hex_encode(sk, 32, hex);
        hex[64] = '\n';
        char tmp[4300];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, hex, 65) != 65 || fsync(fd) != 0) {
            snprintf(err, n, "%s: %s", tmp, strerror(errno));
            if (fd >= 0)
                close(fd);
            goto out;
        }
        close(fd);
        if (rename(tmp, path) != 0) {
            snprintf(err, n, "%s: %s", path, strerror(errno));
            goto out;
        }
        OPENSSL_cleanse(hex, sizeof hex);
    } else {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        goto out;
    }
    secp256k1_pubkey pk;
    unsigned char ser[33];
    size_t sl = sizeof ser;
    if (!secp256k1_ec_pubkey_create(ctx, &pk, sk) ||
        !secp256k1_ec_pubkey_serialize(ctx, ser, &sl, &pk, SECP256K1_EC_COMPRESSED)) {
        snprintf(err, n, "%s: cannot derive the public key", path);
        goto out;
    }
    hex_encode(ser, 33, pub_hex);
    rv = 0;
out:
    OPENSSL_cleanse(sk, sizeof sk);
    secp256k1_context_destroy(ctx);
    return rv;
}

int key_load_secret(const char *data_dir, unsigned char sk[32])
{
    char path[4200], hex[80] = {0};
    snprintf(path, sizeof path, "%s/node.key", data_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t got = read(fd, hex, sizeof hex - 1);
    close(fd);
    int rv = got >= 64 && from_hex(hex, sk, 32) == 0 ? 0 : -1;
    OPENSSL_cleanse(hex, sizeof hex);
    return rv;
}
