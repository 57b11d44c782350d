/*
 * proof: C2SP tlog-proof (https://c2sp.org/tlog-proof), an offline proof that an entry is in
 * a log: the entry's index, its inclusion proof, and the signed checkpoint it leads to.
 *
 *   c2sp.org/tlog-proof@v1
 *   extra <base64>             (optional, opaque, unauthenticated)
 *   index <decimal, no leading zeros>
 *   <base64 hash>              (zero or more: the leaf's sibling first, up to the root's child)
 *   <empty line>
 *   <the signed checkpoint note, verbatim>
 *
 * Pure apart from lib/vc keys' short-lived public-key handles; thread-safe.
 */
#ifndef MASTERY_TLOG_PROOF_H
#define MASTERY_TLOG_PROOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "merkle.h"
#include "note.h"

#define TLOG_PROOF_HEADER    "c2sp.org/tlog-proof@v1"
#define TLOG_PROOF_EXTRA_MAX 1024

typedef struct tlog_proof {
    uint64_t index;
    uint8_t extra[TLOG_PROOF_EXTRA_MAX];
    size_t extra_len;
    bool has_extra;
    tlog_hash_t hashes[TLOG_MAX_PROOF];
    size_t n;
    const char *checkpoint; /* the signed note, borrowed from the parsed input */
    size_t checkpoint_len;
} tlog_proof_t;

/*
 * Appends a tlog-proof text. extra NULL: no extra line (else extra_len 0..TLOG_PROOF_EXTRA_MAX
 * bytes). signed_checkpoint (len bytes) is copied verbatim.
 * @return 0; ERR_INVALID (n > TLOG_MAX_PROOF, extra too long, an empty checkpoint); buf
 *         errors. On failure out is unchanged.
 */
int tlog_proof_format(buf_t *out, uint64_t index, const uint8_t *extra, size_t extra_len,
                      const tlog_hash_t *hashes, size_t n, const char *signed_checkpoint,
                      size_t len);

/*
 * Parses a tlog-proof text (len bytes). p->checkpoint points into s (borrowed). The
 * checkpoint is not opened here.
 * @return 0; ERR_INVALID with a detail (field "proof", "proof.extra", "proof.index",
 *         "proof.hash", "proof.checkpoint").
 */
int tlog_proof_parse(const char *s, size_t len, tlog_proof_t *p, err_detail_t *d);

/*
 * Parses s, opens its checkpoint with vs[0..nvs) (tlog_note_open), checks the checkpoint's
 * origin equals origin, and verifies the inclusion of leaf at p->index in the checkpoint's
 * tree. p and cp receive what was parsed (cp->extensions borrowed from s).
 * @return 0; ERR_INVALID with a detail naming what failed ("proof.checkpoint" for the
 *         signature, "proof.origin", "proof.inclusion"); ERR_INTERNAL.
 */
int tlog_proof_verify(const char *s, size_t len, const char *origin, const tlog_verifier_t *vs,
                      size_t nvs, const tlog_hash_t *leaf, tlog_proof_t *p, tlog_checkpoint_t *cp,
                      err_detail_t *d);

#endif
