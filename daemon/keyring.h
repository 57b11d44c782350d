/*
 * keyring: the issuer's signing keys on disk, as the daemon uses them.
 *
 * A directory (mode 0700) holds one PKCS#8 PEM file per key (mode 0600; keys_load refuses
 * anything readable by others) and `keyring.json`, the list of keys with their algorithm,
 * creation time and which are current (one Ed25519 key signs Data Integrity proofs and EdDSA
 * JWTs, one RSA key RS256 JWTs). On first start an Ed25519 and an RSA-2048 key are generated.
 * Rotation adds a new current pair; old keys stay, so their public halves stay published and
 * badges signed with them keep verifying, and (under a did:key issuer, where each key is its
 * own DID) a retired key still signs the status lists of the badges that name it, nothing else.
 * Private bytes stay inside the keys module; this module handles keys_t handles and file names
 * only, and never logs key material.
 */
#ifndef MASTERY_KEYRING_H
#define MASTERY_KEYRING_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "keys.h"

typedef struct keyring keyring_t;

typedef struct keyring_entry {
    keys_t *key; /* owned by the keyring */
    keys_alg_t alg;
    char id[KEYS_ID_MAX]; /* RFC 7638 thumbprint */
    int64_t created_at;   /* Unix ms */
    bool current;
} keyring_entry_t;

/*
 * Opens the keyring in dir, creating the directory and a first key pair if there is none.
 * now_ms stamps generated keys. Caller owns *out; keyring_destroy(). Returns 0,
 * ERR_FORBIDDEN (a key file or the directory is open to others: the message says which),
 * ERR_INVALID (a malformed keyring.json or key file), ERR_UNAVAILABLE (I/O).
 */
int keyring_open(const char *dir, int64_t now_ms, keyring_t **out, err_detail_t *detail);

/* Whether dir holds a keyring (its keyring.json), without opening it. */
bool keyring_present(const char *dir);

/* Frees every key (private bytes wiped by keys_destroy) and sets *kr to NULL. */
void keyring_destroy(keyring_t **kr);

/* The current key of an algorithm; borrowed, valid until rotation or destroy. */
keyring_entry_t *keyring_current(keyring_t *kr, keys_alg_t alg);

/* A key by id, or NULL. Borrowed as above. */
keyring_entry_t *keyring_find(keyring_t *kr, const char *id);

/* Every key, oldest first. */
uint32_t keyring_count(const keyring_t *kr);
keyring_entry_t *keyring_at(keyring_t *kr, uint32_t i);

/* Generates a new current Ed25519 and RSA pair; the old ones stay. Returns 0 or an error
 * (then the keyring is unchanged). */
int keyring_rotate(keyring_t *kr, int64_t now_ms, err_detail_t *detail);

#endif
