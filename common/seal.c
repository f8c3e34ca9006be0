/* Secrets at rest: AES-256-GCM sealing under a keyring (see seal.h for the formats). */
#include "common/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hex.h"

#define PREFIX "sealed:v1:"
#define NONCE 12
#define TAG 16

static bool id_ok(const char *s, size_t n)
{
    if (n < 1 || n > SEAL_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

static int parse_line(struct seal_keyring *kr, char *line, const char *path, int no, char *err,
                      size_t en)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = 0;
    char *id = strtok(line, " \t\r\n");
    if (!id)
        return 0;
    char *hex = strtok(NULL, " \t\r\n");
    char *extra = hex ? strtok(NULL, " \t\r\n") : NULL;
    if (!hex || extra || !id_ok(id, strlen(id)) || !hex_is(hex, 64)) {
        snprintf(err, en, "%s: line %d: expected \"ID HEX\" (ID 1 to %d characters a-z 0-9 -, "
                          "HEX 64 lower-case hex digits)",
                 path, no, SEAL_ID_MAX);
        return -1;
    }
    for (int i = 0; i < kr->n; i++)
        if (!strcmp(kr->keys[i].id, id)) {
            snprintf(err, en, "%s: line %d: key id '%s' is listed twice", path, no, id);
            return -1;
        }
    if (kr->n == SEAL_MAX_KEYS) {
        snprintf(err, en, "%s: line %d: at most %d keys", path, no, SEAL_MAX_KEYS);
        return -1;
    }
    snprintf(kr->keys[kr->n].id, sizeof kr->keys[kr->n].id, "%s", id);
    hex_decode(hex, kr->keys[kr->n].key, 32);
    kr->n++;
    return 0;
}

int seal_keyring_load(struct seal_keyring *kr, const char *path, char *err, size_t en)
{
    memset(kr, 0, sizeof *kr);
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, en, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || (st.st_mode & 077)) {
        snprintf(err, en, "%s must not be readable by group or others (chmod 600)", path);
        fclose(f);
        return -1;
    }
    char line[256];
    int no = 0, rv = 0;
    while (rv == 0 && fgets(line, sizeof line, f)) {
        no++;
        rv = parse_line(kr, line, path, no, err, en);
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(f);
    if (rv == 0 && kr->n == 0) {
        snprintf(err, en, "%s holds no key (one line \"ID HEX\" per key, the first seals)", path);
        rv = -1;
    }
    if (rv != 0)
        seal_keyring_clear(kr);
    return rv;
}

void seal_keyring_clear(struct seal_keyring *kr)
{
    OPENSSL_cleanse(kr, sizeof *kr);
    kr->n = 0;
}

/* One AES-256-GCM pass: @enc 1 seals @in into @out (+ tag written to @tag), 0 opens it (checks
 * @tag). Returns the output length or -1. */
static int gcm(int enc, const uint8_t key[32], const uint8_t nonce[NONCE], const char *aad,
               const uint8_t *in, int len, uint8_t *out, uint8_t tag[TAG])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, m = 0, ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) &&
                           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) &&
                           EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) &&
                           EVP_CipherUpdate(c, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) &&
                           EVP_CipherUpdate(c, out, &n, in, len);
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, tag);
    ok = ok && EVP_CipherFinal_ex(c, out + n, &m);
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, tag);
    EVP_CIPHER_CTX_free(c);
    return ok ? n + m : -1;
}

char *seal_text(const struct seal_keyring *kr, const char *aad, const char *plain)
{
    if (!kr || kr->n == 0)
        return NULL;
    size_t pl = strlen(plain);
    if (pl > 1 << 20)
        return NULL;
    size_t raw_len = NONCE + pl + TAG;
    uint8_t *raw = malloc(raw_len);
    char *out = malloc(strlen(PREFIX) + SEAL_ID_MAX + 2 + 4 * ((raw_len + 2) / 3) + 1);
    if (!raw || !out || RAND_bytes(raw, NONCE) != 1 ||
        gcm(1, kr->keys[0].key, raw, aad, (const uint8_t *)plain, (int)pl, raw + NONCE,
            raw + NONCE + pl) != (int)pl) {
        free(raw);
        free(out);
        return NULL;
    }
    int w = sprintf(out, PREFIX "%s:", kr->keys[0].id);
    EVP_EncodeBlock((unsigned char *)out + w, raw, (int)raw_len);
    free(raw);
    return out;
}

bool seal_is_sealed(const char *s)
{
    return s && !strncmp(s, PREFIX, strlen(PREFIX));
}

void seal_key_id(const char *s, char id[SEAL_ID_MAX + 1])
{
    id[0] = 0;
    if (!seal_is_sealed(s))
        return;
    const char *p = s + strlen(PREFIX), *colon = strchr(p, ':');
    if (colon && id_ok(p, (size_t)(colon - p)))
        snprintf(id, SEAL_ID_MAX + 1, "%.*s", (int)(colon - p), p);
}

int seal_open(const struct seal_keyring *kr, const char *aad, const char *s, char **plain,
              char *err, size_t en)
{
    *plain = NULL;
    char id[SEAL_ID_MAX + 1];
    seal_key_id(s, id);
    if (!id[0]) {
        snprintf(err, en, "not sealed text");
        return -1;
    }
    const uint8_t *key = NULL;
    for (int i = 0; kr && i < kr->n && !key; i++)
        if (!strcmp(kr->keys[i].id, id))
            key = kr->keys[i].key;
    if (!key) {
        snprintf(err, en, "sealed with key '%s', which the keyring does not hold", id);
        return -1;
    }
    const char *b64 = s + strlen(PREFIX) + strlen(id) + 1;
    size_t bl = strlen(b64);
    if (bl % 4 || bl < 4 * ((NONCE + TAG + 2) / 3) || bl > (1 << 22)) {
        snprintf(err, en, "sealed text malformed");
        return -1;
    }
    uint8_t *raw = malloc(bl / 4 * 3);
    int rl = raw ? EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)bl) : -1;
    /* EVP_DecodeBlock counts the padding's zero bytes: take them off. */
    if (rl > 0 && b64[bl - 1] == '=')
        rl -= b64[bl - 2] == '=' ? 2 : 1;
    int ctl = rl - NONCE - TAG;
    char *out = ctl >= 0 ? malloc((size_t)ctl + 1) : NULL;
    if (!out || gcm(0, key, raw, aad, raw + NONCE, ctl, (uint8_t *)out, raw + NONCE + ctl) !=
                    ctl) {
        snprintf(err, en, out ? "sealed text does not open (wrong key or context, or altered)"
                              : "sealed text malformed");
        if (out)
            OPENSSL_cleanse(out, (size_t)ctl + 1);
        free(out);
        free(raw);
        return -1;
    }
    out[ctl] = 0;
    free(raw);
    if (memchr(out, 0, (size_t)ctl)) {
        seal_free(out);
        snprintf(err, en, "sealed text holds a NUL byte");
        return -1;
    }
    *plain = out;
    return 0;
}

char *seal_reveal(const struct seal_keyring *kr, const char *aad, const char *s, char *err,
                  size_t en)
{
    if (!s) {
        snprintf(err, en, "no value");
        return NULL;
    }
    if (!seal_is_sealed(s)) {
        char *c = strdup(s);
        if (!c)
            snprintf(err, en, "out of memory");
        return c;
    }
    char *p;
    return seal_open(kr, aad, s, &p, err, en) == 0 ? p : NULL;
}

void seal_free(char *plain)
{
    if (plain) {
        OPENSSL_cleanse(plain, strlen(plain));
        free(plain);
    }
}
