/*
 * curvekey: CURVE key files, shared by the daemon (its own key pair) and every client (its key
 * and the server's public key). A secret key file holds one Z85 key and a newline, mode 0600;
 * its public half sits beside it as PATH.pub (0644). Secret bytes are wiped with
 * OPENSSL_cleanse on every path out, and are never part of an error message.
 */
#ifndef MASTERY_CURVEKEY_H
#define MASTERY_CURVEKEY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define CURVEKEY_LEN     32 /* a CURVE key, binary */
#define CURVEKEY_Z85_LEN 40 /* a CURVE key in Z85 text (without the NUL) */

/*
 * Z85 text <-> 32-byte key. curvekey_z85_decode accepts exactly CURVEKEY_Z85_LEN characters of the
 * Z85 alphabet. Returns 0 or ERR_INVALID.
 */
int curvekey_z85_decode(const char *z85, size_t len, uint8_t key[CURVEKEY_LEN]);
void curvekey_z85_encode(const uint8_t key[CURVEKEY_LEN], char z85[CURVEKEY_Z85_LEN + 1]);

/*
 * Generates a CURVE key pair and writes the secret key to path (Z85 and a newline; created
 * with O_EXCL, mode 0600, fsync'ed) and the public key to path + ".pub" (mode 0644).
 * Refuses to overwrite either.
 * @param[out] public_z85 the new public key (may be NULL).
 * @return 0; ERR_CONFLICT (a file exists); ERR_UNAVAILABLE (cannot write: errno text);
 *         ERR_INTERNAL (no CURVE support in libzmq).
 */
int curvekey_pair_create(const char *path, char public_z85[CURVEKEY_Z85_LEN + 1],
                         err_detail_t *detail);

/*
 * Reads a secret key file: a regular file, readable by its owner only (no group or other
 * permission bits: ERR_FORBIDDEN otherwise, naming the mode), holding one Z85 key.
 * @param[out] secret     the key bytes; the caller wipes them with OPENSSL_cleanse after use.
 * @param[out] public_z85 the matching public key (may be NULL).
 * @return 0; ERR_NOT_FOUND (no such file); ERR_FORBIDDEN; ERR_INVALID (not one Z85 key);
 *         ERR_UNAVAILABLE (other read errors).
 */
int curvekey_secret_read(const char *path, uint8_t secret[CURVEKEY_LEN],
                         char public_z85[CURVEKEY_Z85_LEN + 1], err_detail_t *detail);

/* Reads a public key file (one Z85 key; any mode). Returns 0, ERR_NOT_FOUND or ERR_INVALID. */
int curvekey_public_read(const char *path, uint8_t key[CURVEKEY_LEN], err_detail_t *detail);

#endif
