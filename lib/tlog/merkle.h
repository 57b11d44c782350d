/*
 * merkle: the RFC 9162 (section 2) Merkle tree of the transparency log, stored as complete
 * subtrees, and the C2SP tlog-tiles naming of those stored hashes.
 *
 * Hashing: leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right), the empty
 * tree's hash is SHA-256(""). A tree of n leaves is split at k, the largest power of two below
 * n: MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n])).
 *
 * Storage is the caller's (the daemon keeps it in LMDB, the monitor reads tile files): this
 * module only asks for and hands out "stored hashes". Node (level, index) is the root of the
 * COMPLETE subtree over leaves [index << level, (index + 1) << level); level 0 holds the leaf
 * hashes. Only complete subtrees are ever written or read, so a stored hash never changes once
 * written: appending costs one leaf write plus one write per subtree it completes (amortised
 * 2), and every root or proof reads O(log n) stored hashes (at most 2 * 64).
 *
 * Pure: no I/O, no allocation, no global state; thread-safe. The callbacks run on the
 * caller's thread, in the order documented.
 */
#ifndef MASTERY_TLOG_MERKLE_H
#define MASTERY_TLOG_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define TLOG_HASH_SIZE 32
/* Hashes in any inclusion proof, and in any consistency proof to a tree of at most 2^63
 * leaves (consistency proofs have up to ceil(log2(size2)) + 1). */
#define TLOG_MAX_PROOF 64

typedef struct tlog_hash {
    uint8_t b[TLOG_HASH_SIZE];
} tlog_hash_t;

/* SHA-256(0x00 || entry). entry may be NULL when len is 0. */
void tlog_leaf_hash(const void *entry, size_t len, tlog_hash_t *out);

/* SHA-256(0x01 || l || r). out may alias l or r. */
void tlog_node_hash(const tlog_hash_t *l, const tlog_hash_t *r, tlog_hash_t *out);

/* SHA-256(""): the root of the empty tree. */
void tlog_empty_root(tlog_hash_t *out);

/*
 * The caller's store of hashes. read: fill *out with the stored hash (level, index); return 0
 * or a negative ERR_* (ERR_NOT_FOUND when missing), which the calling function returns as it
 * is. write: store h at (level, index); same return convention. ctx is passed through.
 */
typedef int (*tlog_read_fn)(void *ctx, unsigned level, uint64_t index, tlog_hash_t *out);
typedef int (*tlog_write_fn)(void *ctx, unsigned level, uint64_t index, const tlog_hash_t *h);

/*
 * The right edge of a tree of `size` leaves: node[l] is the root of the complete subtree of
 * 2^l leaves for every bit l set in size (the subtree ending where the next smaller one
 * starts). Entries for bits not set are unspecified. A plain struct (2 KiB): keep one per log
 * to append without reading anything back.
 */
typedef struct tlog_frontier {
    uint64_t size;
    tlog_hash_t node[64];
} tlog_frontier_t;

/* Makes *f the empty tree. */
void tlog_frontier_init(tlog_frontier_t *f);

/*
 * Loads the right edge of a tree of size leaves from the store: popcount(size) reads, node
 * (l, (size >> l) - 1) for every bit l set.
 * @return 0, or the read callback's error (then *f is the empty tree).
 */
int tlog_frontier_load(tlog_frontier_t *f, uint64_t size, tlog_read_fn read, void *ctx);

/*
 * Appends one leaf hash: write(0, size, leaf), then write(l, i, h) for every parent it
 * completes, in increasing level; then size + 1.
 * @return 0; ERR_LIMIT (the tree holds 2^64 - 1 leaves); the write callback's error (then *f
 *         is unchanged; hashes already written are complete subtrees of the next tree and
 *         are written again, the same, by the retried append).
 */
int tlog_frontier_append(tlog_frontier_t *f, const tlog_hash_t *leaf, tlog_write_fn write,
                         void *ctx);

/* The Merkle tree hash of the tree *f describes (SHA-256("") when empty). No callbacks. */
void tlog_frontier_root(const tlog_frontier_t *f, tlog_hash_t *root);

/* MTH of the first size leaves, from popcount(size) stored hashes. @return 0; read's error. */
int tlog_tree_hash(uint64_t size, tlog_read_fn read, void *ctx, tlog_hash_t *root);

/*
 * The RFC 9162 2.1.3.1 inclusion proof of leaf index in the tree of size leaves, leaf's
 * sibling first. Reads at most 2 * 64 stored hashes (complete subtrees only).
 * @param[out] proof receives the hashes; *n their number (0 for a tree of one leaf).
 * @return 0; ERR_INVALID (index >= size); read's error.
 */
int tlog_prove_inclusion(uint64_t index, uint64_t size, tlog_read_fn read, void *ctx,
                         tlog_hash_t proof[TLOG_MAX_PROOF], size_t *n);

/*
 * The RFC 9162 2.1.4.1 consistency proof from the tree of size1 leaves to that of size2.
 * size1 == size2 gives an empty proof. Reads at most 2 * 64 stored hashes.
 * @return 0; ERR_INVALID (size1 == 0: a proof from the empty tree proves nothing; size1 >
 *         size2); ERR_LIMIT (the proof would need 65 hashes: size2 above 2^63); read's error.
 */
int tlog_prove_consistency(uint64_t size1, uint64_t size2, tlog_read_fn read, void *ctx,
                           tlog_hash_t proof[TLOG_MAX_PROOF], size_t *n);

/*
 * RFC 9162 2.1.3.2: whether proof (n hashes) shows leaf at index in the tree of size leaves
 * whose root is root. @return 0; ERR_INVALID for anything that does not verify (index >=
 * size, a proof too long or too short, a wrong hash).
 */
int tlog_verify_inclusion(uint64_t index, uint64_t size, const tlog_hash_t *leaf,
                          const tlog_hash_t *proof, size_t n, const tlog_hash_t *root);

/*
 * RFC 9162 2.1.4.2: whether proof (n hashes) shows the tree (size1, root1) is a prefix of the
 * tree (size2, root2). Equal sizes verify with an empty proof and equal roots; size1 == 0
 * never verifies (nothing to prove; a monitor trusting an empty tree checks the new tree
 * itself). @return 0; ERR_INVALID.
 */
int tlog_verify_consistency(uint64_t size1, uint64_t size2, const tlog_hash_t *root1,
                            const tlog_hash_t *root2, const tlog_hash_t *proof, size_t n);

/*
 * C2SP tlog-tiles (tile height 8). Tile (L, N) of width W (1..256) holds the stored hashes at
 * Merkle level 8 * L, indexes N * 256 .. N * 256 + W - 1; entry bundle N holds entries
 * N * 256 .. N * 256 + W - 1.
 */
#define TLOG_TILE_HEIGHT   8
#define TLOG_TILE_WIDTH    256
#define TLOG_TILE_PATH_MAX 64 /* "tile/entries/x001/.../x999/999.p/255": 7 groups, with room */

/*
 * Writes the tile's path relative to the log's prefix: "tile/L/<N>" (L 0..7: Merkle levels
 * up to 63), or "tile/entries/<N>" for level -1, with N in zero-padded 3-digit groups, all but
 * the last prefixed with 'x' ("x001/x234/067"), plus ".p/W" when W < 256. NUL-terminated.
 * @return 0; ERR_INVALID (level outside -1..7, width outside 1..256); ERR_LIMIT (cap too
 *         small; TLOG_TILE_PATH_MAX always suffices).
 */
int tlog_tile_path(char *out, size_t cap, int level, uint64_t index, unsigned width);

/*
 * Appends one entry to an entry bundle: big-endian uint16 length, then the bytes.
 * @return 0; ERR_INVALID (len > 65535); buf_append()'s ERR_LIMIT / ERR_NOMEM (b unchanged).
 */
int tlog_bundle_append(buf_t *b, const void *entry, size_t len);

/*
 * Iterates a bundle of len bytes. *pos starts at 0 and is advanced past each entry.
 * @param[out] entry borrowed from b; elen its length.
 * @return 1 with the next entry; 0 at the end; ERR_INVALID (truncated length or entry).
 */
int tlog_bundle_next(const uint8_t *b, size_t len, size_t *pos, const uint8_t **entry,
                     size_t *elen);

#endif
