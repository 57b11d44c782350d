/*
 * keys: the one module that touches private key bytes (OpenSSL 3 EVP).
 *
 * A keys_t holds one key pair (or a public key alone): Ed25519 for Data Integrity proofs and
 * VC-JWT "EdDSA", or RSA (2048 bits and up) for VC-JWT "RS256". It generates keys, writes
 * private keys as unencrypted PKCS#8 PEM files of mode 0600 and refuses to read ones others
 * can read, signs and verifies, and exports public forms (raw bytes, multibase, JWK, did:key,
 * a key id). Private bytes never leave this module; transient copies are wiped with
 * OPENSSL_cleanse. OpenSSL's error queue is translated here into ERR_* codes and cleared.
 *
 * Thread safety: functions taking a const keys_t * may run concurrently. keys_sign() and
 * keys_verify() reuse an OpenSSL context cached in the keys_t (saves allocations on the hot
 * path), so they must not run concurrently on the same keys_t: give each thread its own
 * keys_dup().
 *
 * The type is keys_t, not key_t: <sys/types.h> already defines key_t (System V IPC keys).
 */
#ifndef MASTERY_KEYS_H
#define MASTERY_KEYS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct keys keys_t;

typedef enum keys_alg {
    KEYS_ED25519 = 1,
    KEYS_RSA = 2, /* RSASSA-PKCS1-v1_5 with SHA-256 (JWS RS256); generated at 2048 bits */
} keys_alg_t;

#define KEYS_ED25519_PUBLIC_LEN 32
#define KEYS_ED25519_SEED_LEN   32
#define KEYS_ED25519_SIG_LEN    64
#define KEYS_SIG_MAX            1024 /* RSA-8192; enough for any key keys_load() accepts */
#define KEYS_RSA_MIN_BITS       2048
#define KEYS_RSA_MAX_BITS       8192
#define KEYS_DID_MAX            128 /* "did:key:z6Mk" + 44 more characters, with room */
#define KEYS_VM_ID_MAX          256 /* did:key:z6Mk...#z6Mk... */
#define KEYS_ID_MAX             48  /* 43 base64url characters and the NUL */
#define KEYS_FILE_MAX           65536

/* keys_save() flags. */
#define KEYS_SAVE_REPLACE 1 /* replace an existing file atomically instead of failing */

/*
 * Generates a new key pair from the OpenSSL CSPRNG.
 * @param[in]  alg KEYS_ED25519 or KEYS_RSA (2048 bits).
 * @param[out] out the key pair. Caller owns the result; free with keys_destroy().
 * @return 0; ERR_INVALID (unknown alg); ERR_INTERNAL (OpenSSL failed; detail says why).
 */
int keys_generate(keys_alg_t alg, keys_t **out, err_detail_t *d);

/*
 * Writes the private key to path as unencrypted PKCS#8 PEM, mode 0600: the text goes to a new
 * temporary file beside path (open O_CREAT|O_EXCL, 0600), is fsync'ed, then moved into place
 * and the directory fsync'ed, so a crash leaves either no file or the whole key.
 * @param[in] k     a key pair with its private key. Borrowed.
 * @param[in] path  the file to create. Borrowed.
 * @param[in] flags 0: fail with ERR_CONFLICT if path exists (a signing key is never
 *                  overwritten by accident); KEYS_SAVE_REPLACE: replace it atomically.
 * @return 0; ERR_INVALID (k holds no private key); ERR_CONFLICT (path exists);
 *         ERR_UNAVAILABLE (an I/O error: directory missing, disk full; detail has errno text);
 *         ERR_INTERNAL (OpenSSL failed).
 */
int keys_save(const keys_t *k, const char *path, int flags, err_detail_t *d);

/*
 * Reads a PEM private key (PKCS#8 or traditional, unencrypted; Ed25519 or RSA of
 * KEYS_RSA_MIN_BITS..KEYS_RSA_MAX_BITS bits) from path.
 * @param[in]  path the file. Borrowed. Symbolic links are not followed.
 * @param[out] out  the key pair. Caller owns the result; free with keys_destroy().
 * @return 0; ERR_FORBIDDEN (the file is readable or writable by group or others: fix with
 *         chmod 600); ERR_NOT_FOUND (no such file); ERR_INVALID (a symbolic link, not a
 *         regular file, not a PEM
 *         private key, encrypted, or an unsupported key type or size); ERR_LIMIT (larger than
 *         KEYS_FILE_MAX); ERR_UNAVAILABLE (another I/O error).
 */
int keys_load(const char *path, keys_t **out, err_detail_t *d);

/*
 * Makes an Ed25519 key pair from its 32-byte seed (RFC 8032 private key).
 * @param[in] seed 32 bytes. Borrowed; the caller wipes its copy.
 * @param[out] out Caller owns the result; free with keys_destroy().
 * @return 0; ERR_INTERNAL.
 */
int keys_from_seed(const uint8_t seed[KEYS_ED25519_SEED_LEN], keys_t **out, err_detail_t *d);

/*
 * Makes an Ed25519 key pair from a Multikey secretKeyMultibase (or the vectors'
 * privateKeyMultibase): 'z' + base58btc(0x80 0x26 (multicodec ed25519-priv) + 32-byte seed).
 * @param[in] text NUL-terminated. Borrowed.
 * @return 0; ERR_INVALID (not multibase, wrong multicodec prefix or length); ERR_INTERNAL.
 */
int keys_from_secret_multibase(const char *text, keys_t **out, err_detail_t *d);

/* Makes a public-only Ed25519 key from its 32 raw bytes. Caller owns *out (keys_destroy()).
 * The bytes are not checked to be a curve point here; a bad point fails every verification.
 * @return 0; ERR_INTERNAL. */
int keys_from_public_raw(const uint8_t pub[KEYS_ED25519_PUBLIC_LEN], keys_t **out, err_detail_t *d);

/* Makes a public-only Ed25519 key from a Multikey publicKeyMultibase: 'z' + base58btc(0xed 0x01
 * + 32 bytes). Caller owns *out. @return 0; ERR_INVALID; ERR_INTERNAL. */
int keys_from_public_multibase(const char *text, keys_t **out, err_detail_t *d);

/*
 * Makes a public-only Ed25519 key from a did:key DID or verification method id
 * ("did:key:z6Mk..." or "did:key:z6Mk...#z6Mk..."; a fragment must repeat the key).
 * Caller owns *out. @return 0; ERR_INVALID (not an Ed25519 did:key); ERR_INTERNAL.
 */
int keys_from_did_key(const char *did, keys_t **out, err_detail_t *d);

/*
 * Makes a public-only key from a public JWK: {"kty":"OKP","crv":"Ed25519","x":...} or
 * {"kty":"RSA","n":...,"e":...}. Private members ("d", ...) are refused.
 * @param[in] jwk Borrowed. Caller owns *out.
 * @return 0; ERR_INVALID (field names the bad member); ERR_INTERNAL.
 */
int keys_from_jwk(const json_t *jwk, keys_t **out, err_detail_t *d);

/*
 * Another handle on the same key with its own signing context, for another thread.
 * Caller owns *out; free with keys_destroy(). @return 0; ERR_NOMEM.
 */
int keys_dup(const keys_t *k, keys_t **out);

/* Frees *kp (wiping what OpenSSL holds) and sets it to NULL. Safe with NULL or *kp NULL. */
void keys_destroy(keys_t **kp);

/* The key's algorithm. */
keys_alg_t keys_alg(const keys_t *k);

/* Whether k holds a private key (can sign). */
bool keys_has_private(const keys_t *k);

/* The largest signature k makes, in bytes (64 for Ed25519, the modulus size for RSA). */
size_t keys_sig_size(const keys_t *k);

/*
 * Signs msg: Ed25519 (RFC 8032, pure) or RSASSA-PKCS1-v1_5 with SHA-256.
 * @param[in]  k       a key pair. Borrowed; its cached context is used (see thread safety).
 * @param[in]  msg     the message. Borrowed.
 * @param[out] sig     receives the signature.
 * @param[in]  cap     size of sig (keys_sig_size(k) suffices).
 * @param[out] sig_len the signature length.
 * @return 0; ERR_INVALID (no private key); ERR_LIMIT (cap too small); ERR_INTERNAL.
 */
int keys_sign(keys_t *k, const uint8_t *msg, size_t msg_len, uint8_t *sig, size_t cap,
              size_t *sig_len, err_detail_t *d);

/*
 * Verifies sig over msg with k's public key.
 * @return 0 if the signature is valid; ERR_UNAUTHENTICATED if it is not (wrong key, altered
 *         message or signature, wrong length); ERR_INTERNAL.
 */
int keys_verify(keys_t *k, const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len,
                err_detail_t *d);

/* Copies the raw 32-byte Ed25519 public key. @return 0; ERR_INVALID (not Ed25519). */
int keys_public_raw(const keys_t *k, uint8_t out[KEYS_ED25519_PUBLIC_LEN]);

/* Writes the Multikey publicKeyMultibase ("z6Mk..."), NUL-terminated, into out of size cap.
 * @return 0; ERR_INVALID (not Ed25519); ERR_LIMIT (cap too small). */
int keys_public_multibase(const keys_t *k, char *out, size_t cap);

/*
 * The public key as a JWK object: {"kty":"OKP","crv":"Ed25519","x":...} or
 * {"kty":"RSA","n":...,"e":...} (base64url without padding).
 * @param[out] out Caller owns the result; free with json_decref().
 * @return 0; ERR_NOMEM; ERR_INTERNAL.
 */
int keys_jwk(const keys_t *k, json_t **out);

/* Writes the did:key DID ("did:key:z6Mk..."). @return 0; ERR_INVALID (not Ed25519);
 * ERR_LIMIT (cap too small; KEYS_DID_MAX suffices). */
int keys_did_key(const keys_t *k, char *out, size_t cap);

/* Writes the did:key verification method id ("did:key:z6Mk...#z6Mk..."). Errors as
 * keys_did_key(); KEYS_VM_ID_MAX suffices. */
int keys_vm_id(const keys_t *k, char *out, size_t cap);

/*
 * Writes the key id: the RFC 7638 JWK thumbprint (base64url of the SHA-256 of the canonical
 * public JWK), 43 characters, stable for a key whatever file or form it came from.
 * @return 0; ERR_LIMIT (cap too small; KEYS_ID_MAX suffices); ERR_INTERNAL.
 */
int keys_id(const keys_t *k, char *out, size_t cap);

#endif
