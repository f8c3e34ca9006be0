/* Keys, recoverable ECDSA signatures (libsecp256k1) and Ethereum addresses.
 *
 * One secp256k1 context is created on first use (pthread_once) and randomised against side
 * channels; libsecp256k1 contexts are safe to share between threads for signing once created.
 * Signatures are RFC 6979 deterministic and always low-s. Key files must be mode 0600 or
 * stricter: a key readable by other users is refused, never silently used. */
#include "oracle/oracle.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static secp256k1_context* ctx;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void ctx_create(void)
{
    ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    uint8_t seed[32];
    if (ctx && getrandom(seed, sizeof seed, 0) == (ssize_t)sizeof seed) {
        /* Blinding only: a context that could not be randomised still signs correctly. */
        int ok = secp256k1_context_randomize(ctx, seed);
        (void)ok;
    }
}

static secp256k1_context* secp(void)
{
    pthread_once(&ctx_once, ctx_create);
    return ctx;
}

void eth_address_from_pubkey(const uint8_t xy[64], uint8_t address[20])
{
    uint8_t h[32];
    eth_keccak256(xy, 64, h);
    memcpy(address, h + 12, 20);
}

int eth_key_from_secret(eth_key* k, const uint8_t secret[32])
{
    secp256k1_context* c = secp();
    secp256k1_pubkey pub;
    if (!c)
        return ETH_ENOMEM;
    if (!secp256k1_ec_seckey_verify(c, secret) || !secp256k1_ec_pubkey_create(c, &pub, secret))
        return ETH_EKEY;
    uint8_t ser[65];
    size_t len = sizeof ser;
    secp256k1_ec_pubkey_serialize(c, ser, &len, &pub, SECP256K1_EC_UNCOMPRESSED);
    memcpy(k->secret, secret, 32);
    eth_address_from_pubkey(ser + 1, k->address);
    return ETH_OK;
}

int eth_key_from_hex(eth_key* k, const char* hex)
{
    uint8_t s[32];
    if (eth_hex_decode(hex, s, 32) != ETH_OK)
        return ETH_EKEY;
    int rc = eth_key_from_secret(k, s);
    memset(s, 0, sizeof s);
    return rc;
}

void eth_key_wipe(eth_key* k)
{
    volatile uint8_t* p = (volatile uint8_t*)k;
    for (size_t i = 0; i < sizeof *k; i++)
        p[i] = 0;
}

static int key_error(eth_error* err, const char* path, const char* why)
{
    if (err) {
        memset(err, 0, sizeof *err);
        snprintf(err->message, sizeof err->message, "key file %.160s: %.80s", path, why);
    }
    return ETH_EKEY;
}

int eth_key_load_file(eth_key* k, const char* path, eth_error* err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return key_error(err, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return key_error(err, path, "not a regular file");
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return key_error(err, path, "permissions too open (must be 0600 or stricter)");
    }
    char text[160];
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return key_error(err, path, "empty or unreadable");
    text[n] = 0;
    char* s = text;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    char* e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = 0;
    int rc = eth_key_from_hex(k, s);
    memset(text, 0, sizeof text);
    if (rc != ETH_OK)
        return key_error(err, path, "not a valid secp256k1 secret key (64 hex digits)");
    return ETH_OK;
}

int eth_key_generate_file(eth_key* k, const char* path)
{
    uint8_t s[32];
    do {
        if (getrandom(s, sizeof s, 0) != (ssize_t)sizeof s)
            return ETH_EIO;
    } while (eth_key_from_secret(k, s) != ETH_OK);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        memset(s, 0, sizeof s);
        return ETH_EIO;
    }
    char hex[67];
    eth_hex_write(s, 32, hex);
    hex[66] = '\n';
    ssize_t w = write(fd, hex, 67);
    int rc = (w == 67 && fsync(fd) == 0) ? ETH_OK : ETH_EIO;
    close(fd);
    memset(hex, 0, sizeof hex);
    memset(s, 0, sizeof s);
    return rc;
}

int eth_sign_recoverable(const eth_key* k, const uint8_t digest[32], uint8_t rs[64], int* recid)
{
    secp256k1_context* c = secp();
    secp256k1_ecdsa_recoverable_signature sig;
    if (!c)
        return ETH_ENOMEM;
    if (!secp256k1_ecdsa_sign_recoverable(c, &sig, digest, k->secret, NULL, NULL))
        return ETH_EKEY;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(c, rs, recid, &sig);
    /* recid 2/3 need r >= n: astronomically rare; refuse rather than emit an odd v. */
    if (*recid > 1)
        return ETH_EKEY;
    return ETH_OK;
}

int eth_sign_digest(const eth_key* k, const uint8_t digest[32], uint8_t out[65])
{
    int recid;
    int rc = eth_sign_recoverable(k, digest, out, &recid);
    if (rc == ETH_OK)
        out[64] = (uint8_t)(27 + recid);
    return rc;
}

/* secp256k1n / 2, big-endian: the largest s EIP-2 allows. */
static const uint8_t half_order[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

int eth_sig_is_low_s(const uint8_t sig[65])
{
    return memcmp(sig + 32, half_order, 32) <= 0;
}

int eth_recover(const uint8_t digest[32], const uint8_t sig[65], uint8_t address[20])
{
    secp256k1_context* c = secp();
    int v = sig[64];
    if (v >= 27)
        v -= 27;
    if (!c)
        return ETH_ENOMEM;
    if (v < 0 || v > 1)
        return ETH_EINVAL;
    secp256k1_ecdsa_recoverable_signature rsig;
    secp256k1_pubkey pub;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(c, &rsig, sig, v) ||
        !secp256k1_ecdsa_recover(c, &pub, &rsig, digest))
        return ETH_EINVAL;
    uint8_t ser[65];
    size_t len = sizeof ser;
    secp256k1_ec_pubkey_serialize(c, ser, &len, &pub, SECP256K1_EC_UNCOMPRESSED);
    eth_address_from_pubkey(ser + 1, address);
    return ETH_OK;
}

void eth_address_checksum(const uint8_t address[20], char out[43])
{
    char lower[43];
    eth_hex_write(address, 20, lower);
    uint8_t h[32];
    eth_keccak256(lower + 2, 40, h);
    out[0] = '0';
    out[1] = 'x';
    for (int i = 0; i < 40; i++) {
        char c = lower[2 + i];
        int nib = (h[i / 2] >> (i % 2 ? 0 : 4)) & 15;
        out[2 + i] = (c >= 'a' && nib >= 8) ? (char)(c - 'a' + 'A') : c;
    }
    out[42] = 0;
}

int eth_address_parse(const char* s, uint8_t address[20])
{
    return eth_hex_decode(s, address, 20);
}

void eth_create_address(const uint8_t sender[20], uint64_t nonce, uint8_t out[20])
{
    eth_buf items, list;
    eth_buf_init(&items);
    eth_buf_init(&list);
    eth_rlp_bytes(&items, sender, 20);
    eth_rlp_u64(&items, nonce);
    eth_rlp_list(&list, items.p, items.len);
    uint8_t h[32] = {0};
    if (!list.oom)
        eth_keccak256(list.p, list.len, h);
    memcpy(out, h + 12, 20);
    eth_buf_free(&items);
    eth_buf_free(&list);
}
