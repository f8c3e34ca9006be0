/* Secrets at rest: values sealed with AES-256-GCM under a keyring read from a file, so that what
 * the replicated state holds (LMDB, the Raft log, snapshots, idempotency records) is ciphertext.
 *
 * Keyring file (mode 0600): one key per line, "ID HEX", ID 1 to 16 characters [a-z0-9-], HEX 64
 * lower-case hex digits (32 bytes); '#' starts a comment; blank lines are ignored. The FIRST key
 * seals; every key listed opens. Rotation: put a new key first, keep the old ones below it until
 * every sealed value has been sealed again under the new one (the accounts nodes' reseal), then
 * drop them.
 *
 * Sealed text: "sealed:v1:ID:BASE64", BASE64 (standard alphabet, padded) of nonce (12 random
 * bytes) || ciphertext || tag (16 bytes). The additional data is the caller's context string
 * (what the value is and whose: "totp-secret:<player>"), so a sealed value moved to another
 * record does not open there. */
#ifndef PARLAY_SEAL_H
#define PARLAY_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEAL_MAX_KEYS 8
#define SEAL_ID_MAX 16

struct seal_keyring {
    int n; /* 0: no keyring */
    struct {
        char id[SEAL_ID_MAX + 1];
        uint8_t key[32];
    } keys[SEAL_MAX_KEYS];
};

/* Reads the keyring at @path into @kr; on error a message naming the file and line in @err.
 * Refuses a file readable by group or others, no key, a bad line, a repeated id. */
int seal_keyring_load(struct seal_keyring *kr, const char *path, char *err, size_t en);

/* Wipes the keys. */
void seal_keyring_clear(struct seal_keyring *kr);

/* @plain sealed under the keyring's first key with context @aad: malloc'd text, or NULL (no
 * keyring, or the cipher failed). */
char *seal_text(const struct seal_keyring *kr, const char *aad, const char *plain);

/* Whether @s has the sealed form's prefix. */
bool seal_is_sealed(const char *s);

/* The key id @s was sealed with into @id, or "" when @s is not sealed text. */
void seal_key_id(const char *s, char id[SEAL_ID_MAX + 1]);

/* Opens @s (sealed with context @aad) into a malloc'd NUL-terminated string in *@plain.
 * Returns 0, or -1 with a reason in @err: not sealed text, unknown key id, malformed, or the tag
 * does not match (wrong key, wrong context, tampered). The caller wipes and frees *@plain. */
int seal_open(const struct seal_keyring *kr, const char *aad, const char *s, char **plain,
              char *err, size_t en);

/* The value of a stored field that may be sealed: opened when sealed, a copy when not (values
 * stored before sealing was configured). NULL with @err on failure. */
char *seal_reveal(const struct seal_keyring *kr, const char *aad, const char *s, char *err,
                  size_t en);

/* Wipes and frees a revealed string. */
void seal_free(char *plain);

#endif
