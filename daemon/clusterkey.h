/*
 * clusterkey: the key every node of a cluster seals what it sends through NATS with
 * (KEY_DIR/cluster.key), so no learner id, narrative or score is readable in the JetStream
 * stream's files, in its replicas, or on the wire between nodes. AES-256-GCM; the additional
 * data binds a box to where it travels (its partition's subject, or the route and token of a
 * forwarded read or answer), so a box moved elsewhere fails to open.
 *
 * Box layout: version (1) | nonce (12, random) | ciphertext | tag (16).
 * The file holds 64 hex digits and a newline, mode 0600. The first node to start creates it;
 * the other nodes use the same key_dir contents (copied, or shared), as for the issuer keys.
 * Used by the server's one thread only.
 */
#ifndef MASTERY_CLUSTERKEY_H
#define MASTERY_CLUSTERKEY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define CLUSTERKEY_FILE     "cluster.key"
#define CLUSTERKEY_OVERHEAD 29 /* version, nonce, tag */

typedef struct clusterkey clusterkey_t;

/*
 * Reads KEY_DIR/cluster.key, creating it (atomically: a node starting at the same moment reads
 * the one that won) when missing. Caller owns *out. Errors: ERR_FORBIDDEN (others may read the
 * file), ERR_INVALID (not 64 hex digits), ERR_UNAVAILABLE (I/O, errno text), ERR_NOMEM.
 */
int clusterkey_open(const char *key_dir, clusterkey_t **out, err_detail_t *detail);
void clusterkey_destroy(clusterkey_t **k);

/* Seals len bytes under aad into *box (caller owns; len + CLUSTERKEY_OVERHEAD bytes, *box_len).
 * Returns 0, ERR_NOMEM or ERR_INTERNAL. */
int clusterkey_seal(clusterkey_t *k, const char *aad, const uint8_t *plain, size_t len,
                    uint8_t **box, size_t *box_len);

/* Opens a box sealed under aad into *plain (caller owns; *len). Returns 0, ERR_DATA_LOSS (not a
 * box, damaged, moved, or sealed under another cluster.key) or ERR_NOMEM. */
int clusterkey_open_box(clusterkey_t *k, const char *aad, const uint8_t *box, size_t box_len,
                        uint8_t **plain, size_t *len);

#endif
