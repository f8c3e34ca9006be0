/* kyc: password rules and storage.
 *
 * Rules (ASVS 5.0 V6.2): 8 to 128 characters, counted as UTF-8 code points of the password
 * exactly as received; no composition rules; refused when on the shipped list of the most
 * common / breached passwords (compared ignoring ASCII case, so "Password1" is as refused as
 * "password1").
 *
 * Storage: Argon2id in the PHC string format, parameters from OWASP's cheat sheet (t=2,
 * m=19 MiB, p=1), 16-byte salt from the CSPRNG, 32-byte hash. The string carries its own
 * parameters, so they can be raised later: kyc_password_needs_rehash says when a login should
 * store a new hash. Hashing costs ~19 MiB and tens of milliseconds: the node calls it on a
 * worker thread, and before proposing the Raft command (apply has no randomness). */
#include "kyc/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

const kyc_argon2_params kyc_argon2_default = {.t_cost = 2, .m_cost = 19456, .parallelism = 1};

struct kyc_pwlist
{
    char** words; /* lowercased, sorted */
    size_t n;
};

static void lower(char* s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            s[i] = (char)(s[i] + 32);
}

static int cmp_words(const void* a, const void* b)
{
    return strcmp(*(char* const*)a, *(char* const*)b);
}

void kyc_pwlist_free(kyc_pwlist* l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->words[i]);
    free(l->words);
    free(l);
}

int kyc_pwlist_load(const char* path, kyc_pwlist** out, kyc_err* err)
{
    *out = NULL;
    FILE* f = fopen(path, "r");
    if (!f)
        return kyc_fail(err, KYC_E_IO, "cannot open password list %.200s", path);
    kyc_pwlist* l = calloc(1, sizeof *l);
    size_t cap = 0;
    char* line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int rc = l ? KYC_OK : KYC_E_NOMEM;
    while (rc == KYC_OK && (len = getline(&line, &lcap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        if (l->n == cap) {
            cap = cap ? 2 * cap : 4096;
            char** nw = realloc(l->words, cap * sizeof *nw);
            if (!nw) {
                rc = KYC_E_NOMEM;
                break;
            }
            l->words = nw;
        }
        lower(line, (size_t)len);
        if (!(l->words[l->n] = strdup(line)))
            rc = KYC_E_NOMEM;
        else
            l->n++;
    }
    free(line);
    fclose(f);
    if (rc) {
        kyc_pwlist_free(l);
        return kyc_fail(err, rc, "out of memory loading %.200s", path);
    }
    if (l->n == 0) {
        kyc_pwlist_free(l);
        return kyc_fail(err, KYC_E_IO, "password list %.200s is empty", path);
    }
    qsort(l->words, l->n, sizeof *l->words, cmp_words);
    *out = l;
    return KYC_OK;
}

size_t kyc_pwlist_size(const kyc_pwlist* l)
{
    return l ? l->n : 0;
}

bool kyc_pwlist_contains(const kyc_pwlist* l, const char* pw, size_t len)
{
    if (!l || len > 4 * KYC_PW_MAX_CHARS)
        return false;
    char buf[4 * KYC_PW_MAX_CHARS + 1];
    memcpy(buf, pw, len);
    buf[len] = '\0';
    if (strlen(buf) != len)
        return false; /* embedded NUL: cannot be on a text list */
    lower(buf, len);
    const char* key = buf;
    bool hit = bsearch(&key, l->words, l->n, sizeof *l->words, cmp_words) != NULL;
    OPENSSL_cleanse(buf, len);
    return hit;
}

static size_t utf8_chars(const char* s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

int kyc_password_policy(const char* pw, size_t len, const kyc_pwlist* list, kyc_err* err)
{
    if (!pw)
        return kyc_fail(err, KYC_E_INVAL, "no password");
    size_t n = utf8_chars(pw, len);
    if (n < KYC_PW_MIN_CHARS || n > KYC_PW_MAX_CHARS)
        return kyc_fail(err, KYC_E_PW_LENGTH, "password has %zu characters; %d to %d allowed", n,
                        KYC_PW_MIN_CHARS, KYC_PW_MAX_CHARS);
    if (kyc_pwlist_contains(list, pw, len))
        return kyc_fail(err, KYC_E_PW_BREACHED,
                        "password is on the list of common or breached passwords");
    return KYC_OK;
}

int kyc_password_hash(const char* pw,
                      size_t len,
                      const kyc_argon2_params* params,
                      char out[KYC_PW_HASH_MAX],
                      kyc_err* err)
{
    const kyc_argon2_params* p = params ? params : &kyc_argon2_default;
    uint8_t salt[16];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return kyc_fail(err, KYC_E_RANDOM, "RAND_bytes failed");
    if (argon2_encodedlen(p->t_cost, p->m_cost, p->parallelism, sizeof salt, 32, Argon2_id) >
        KYC_PW_HASH_MAX)
        return kyc_fail(err, KYC_E_INVAL, "argon2 encoding longer than KYC_PW_HASH_MAX");
    int rc = argon2id_hash_encoded(p->t_cost, p->m_cost, p->parallelism, pw, len, salt, sizeof salt,
                                   32, out, KYC_PW_HASH_MAX);
    if (rc != ARGON2_OK)
        return kyc_fail(err, rc == ARGON2_MEMORY_ALLOCATION_ERROR ? KYC_E_NOMEM : KYC_E_PW_HASH,
                        "argon2id: %s", argon2_error_message(rc));
    return KYC_OK;
}

int kyc_password_verify(const char* encoded, const char* pw, size_t len, kyc_err* err)
{
    if (!encoded || strncmp(encoded, "$argon2id$", 10) != 0)
        return kyc_fail(err, KYC_E_PW_HASH, "stored hash is not argon2id");
    int rc = argon2id_verify(encoded, pw, len);
    if (rc == ARGON2_OK)
        return KYC_OK;
    if (rc == ARGON2_VERIFY_MISMATCH)
        return kyc_fail(err, KYC_E_PW_MISMATCH, "password does not match");
    return kyc_fail(err, rc == ARGON2_MEMORY_ALLOCATION_ERROR ? KYC_E_NOMEM : KYC_E_PW_HASH,
                    "argon2id verify: %s", argon2_error_message(rc));
}

bool kyc_password_needs_rehash(const char* encoded, const kyc_argon2_params* params)
{
    const kyc_argon2_params* p = params ? params : &kyc_argon2_default;
    unsigned v, m, t, par;
    if (!encoded || sscanf(encoded, "$argon2id$v=%u$m=%u,t=%u,p=%u$", &v, &m, &t, &par) != 4)
        return true;
    return v != ARGON2_VERSION_13 || m < p->m_cost || t < p->t_cost || par < p->parallelism;
}
