/*
 * translog: the transparency log of the journal's events (issue 13). Every stored event is a
 * leaf of an RFC 9162 Merkle tree, appended in the write transaction of the event itself:
 * its entry (lib/tlog/logentry.h: no raw learner id or free text, only HMAC commitments) is
 * stored under its leaf index, and each complete subtree it closes is stored once, so
 * appending costs O(1) amortized hashes and writes and a proof O(log n) reads (records:
 * databases log and log_tree). Leaf i is event seq base + i (base: 1, or the first event
 * after a store was upgraded to the log).
 *
 * Before a write transaction that grew the tree commits, translog_seal signs a C2SP
 * checkpoint (origin, size, root) as a signed note with the issuer's Ed25519 key and stores
 * it in the same transaction: a checkpoint never names a tree that did not commit, and
 * costs no fsync of its own. The key name of the note is the origin.
 *
 *     translog_open(&t, txn, origin)      at start, in a read transaction
 *     translog_batch_begin(t)             with each group commit
 *     translog_append(t, txn, entry)      per event (the journal calls it)
 *     translog_mark / translog_rollback   a request that failed takes its leaves back
 *     translog_seal(t, txn, key)          just before the commit
 *     translog_batch_end(t, committed)
 *
 * Reads (proofs, tiles, entries) take any transaction and the tree size to answer for.
 */
#ifndef MASTERY_TRANSLOG_H
#define MASTERY_TRANSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "keys.h"
#include "merkle.h"
#include "store.h"

typedef struct translog translog_t;

/* Opens the log of the store txn reads: base, size, the right edge of the tree and the last
 * checkpoint. origin names the log (checkpoints' first line and the note key name; at most
 * 255 bytes, no control characters). Caller owns *out (translog_destroy). Returns 0,
 * ERR_INVALID (origin), ERR_NOMEM or a store error (ERR_DATA_LOSS: a damaged hash). */
int translog_open(translog_t **out, store_txn_t *txn, const char *origin, err_detail_t *detail);
void translog_destroy(translog_t **t);

const char *translog_origin(const translog_t *t);
/* The event seq of leaf 0. */
uint64_t translog_base(const translog_t *t);
/* Leaves in the tree (appended in the open batch included). */
uint64_t translog_size(const translog_t *t);

void translog_batch_begin(translog_t *t);
/* Appends one entry (its bytes, as lib/tlog/logentry encodes them) as leaf translog_size():
 * stores it and the subtree hashes it completes. *index: its leaf index. Returns 0 or a store
 * error (the transaction is then failed: the batch must not commit). */
int translog_append(translog_t *t, store_txn_t *txn, const void *entry, size_t len,
                    uint64_t *index);

/* The tree before a request, to take it back when the request's nested transaction aborts. */
typedef struct translog_mark {
    tlog_frontier_t frontier;
} translog_mark_t;
void translog_mark(const translog_t *t, translog_mark_t *m);
void translog_rollback(translog_t *t, const translog_mark_t *m);

/*
 * When the tree grew in this batch: signs the checkpoint of its new size with key (Ed25519;
 * NULL: no checkpoint, the log still grows) at now_ms (not part of the note: C2SP checkpoints
 * carry no time) and stores it in txn. Returns 0, or a store/signing error (txn failed).
 */
int translog_seal(translog_t *t, store_txn_t *txn, keys_t *key);

/* Ends the batch: committed says whether the transaction holding it committed. */
void translog_batch_end(translog_t *t, bool committed);

/* The newest signed checkpoint committed (or sealed in the open batch), and whether the last
 * batch made a new one (to publish). NULL/0 when none was ever signed. Borrowed until the
 * next translog_seal. */
const char *translog_checkpoint(const translog_t *t, size_t *len, uint64_t *size);
bool translog_checkpoint_is_new(const translog_t *t);

/* The note verifier key string of key for this log ("origin+hash+base64"), into out. */
int translog_verifier_key(const translog_t *t, const keys_t *key, buf_t *out);

/* ---- reads: txn may be any transaction; size <= the tree size that txn sees ------------- */

/* Root of the tree of the first size leaves. */
int translog_root(store_txn_t *txn, uint64_t size, tlog_hash_t *root);
/* An entry (borrowed from txn, see records) and its leaf hash. ERR_NOT_FOUND beyond the tree. */
int translog_entry(store_txn_t *txn, uint64_t index, const void **entry, size_t *len,
                   tlog_hash_t *leaf);
int translog_prove_inclusion(store_txn_t *txn, uint64_t index, uint64_t size,
                             tlog_hash_t proof[TLOG_MAX_PROOF], size_t *n);
int translog_prove_consistency(store_txn_t *txn, uint64_t size1, uint64_t size2,
                               tlog_hash_t proof[TLOG_MAX_PROOF], size_t *n);
/* A tlog-tiles tile: level >= 0: the hashes of Merkle level 8*level, indexes index*256 ..
 * index*256 + width - 1, concatenated; level -1: the entry bundle of leaves index*256 ...
 * Every hash must be of a complete subtree within size. Appends to out. ERR_INVALID: a tile
 * outside the tree; ERR_LIMIT: out's budget. */
int translog_tile(store_txn_t *txn, uint64_t size, int level, uint64_t index, unsigned width,
                  buf_t *out);

#endif
