/* The node's secp256k1 signing key: generated on first start into <data_dir>/node.key (hex,
 * mode 0600), refused later if the file is readable by others. */
#ifndef PARLAY_KEY_H
#define PARLAY_KEY_H

#include <stddef.h>

/* Load or create the key; writes the compressed public key as hex into @pub_hex (67 bytes). */
int key_load_or_create(const char *data_dir, char pub_hex[67], char *err, size_t n);

/* Read the secret key written by key_load_or_create (32 bytes); 0 or -1. */
int key_load_secret(const char *data_dir, unsigned char sk[32]);

#endif
