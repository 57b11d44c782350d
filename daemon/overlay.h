/*
 * overlay: the write-behind buffer of the store's deferred databases (store.c, "Write-behind"
 * in ARCHITECTURE.md). Per database, an ordered map (LMDB's order: bytewise, a prefix before
 * its extensions) from key to the bytes store.c would put in LMDB (checksum trailer included)
 * or to a tombstone (the key is deleted, whatever LMDB holds). It has:
 *   - an undo log, so a write transaction, and any transaction nested in it, can be rolled
 *     back to where it began (overlay_mark / overlay_rollback / overlay_settle);
 *   - the codec of the write-ahead record: the changes a committing transaction made, in the
 *     bytes store.c appends to its wal database in that same LMDB transaction
 *     (overlay_record_size / overlay_record_encode), and the replay of such a record at open
 *     (overlay_record_apply, which validates all of it before applying any of it);
 *   - ordered walks (overlay_seek / overlay_next) for store.c's merged iterators and for the
 *     write-behind sweep, which removes what it has written to LMDB (overlay_remove).
 *
 * Memory: keys and values are copied in and owned by the overlay; overlay_bytes() counts every
 * byte it holds (nodes, keys, values, values kept for undo, the undo log), and that is what the
 * store's budget (write_behind_bytes) bounds.
 *
 * Lifetimes: a value returned by overlay_get or a node's accessors stays valid until the
 * change that replaced it is settled or rolled back (so, for store.c, until the end of the
 * transaction that read it), or, for an unchanged node, until it is removed. A node pointer
 * stays valid until that node is removed (overlay_remove, or a rollback of the change that
 * created it). Not thread-safe: the store's writer thread owns it.
 *
 * Errors: ERR_NOMEM (nothing changed), ERR_DATA_LOSS (a malformed record: nothing applied).
 */
#ifndef MASTERY_OVERLAY_H
#define MASTERY_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct overlay overlay_t;
typedef struct ov_node ov_node_t;

/*
 * Whether LMDB (the base under the overlay) holds key in db: asked once, when a key first gets
 * a node, so overlay_count_delta() can say how the overlay changes each database's count.
 * Returns true or false; must not fail (on an error, say false).
 */
typedef bool (*ov_base_has_fn)(void *ctx, unsigned db, const void *key, size_t klen);

/* An empty overlay for databases 0..ndb-1 (ndb <= 64). base_has may be NULL (counts then
 * assume every key is new). NULL when out of memory. */
overlay_t *overlay_new(unsigned ndb, ov_base_has_fn base_has, void *ctx);

/* Frees everything and sets *ov to NULL (a no-op for NULL). */
void overlay_free(overlay_t **ov);

/* Bytes held, nodes held (tombstones included). */
size_t overlay_bytes(const overlay_t *ov);
size_t overlay_nodes(const overlay_t *ov);

/* The number of keys db has in overlay + base minus the number in base: live nodes whose key
 * the base lacks, minus tombstones of keys the base has. */
int64_t overlay_count_delta(const overlay_t *ov, unsigned db);

/* ---- reads ------------------------------------------------------------------------------------
 */

typedef enum ov_found {
    OV_ABSENT = 0, /* no node: ask the base */
    OV_VALUE,      /* *val, *len: the value (borrowed, see Lifetimes) */
    OV_TOMBSTONE,  /* deleted: the base's value, if any, is hidden */
} ov_found_t;

ov_found_t overlay_get(const overlay_t *ov, unsigned db, const void *key, size_t klen,
                       const void **val, size_t *len);

/* The first node of db whose key is >= key (klen 0: the first of db), or NULL. */
ov_node_t *overlay_seek(const overlay_t *ov, unsigned db, const void *key, size_t klen);
/* The node after n in its database, or NULL. */
ov_node_t *overlay_next(const ov_node_t *n);
/* A number that changes whenever a node is linked or unlinked (a value changing in place
 * leaves it): a walk that holds a node pointer re-seeks from its last key when it changed, so
 * it sees nodes made ahead of it and never follows a freed one. */
uint64_t overlay_generation(const overlay_t *ov);
/* The last node of db, or NULL. */
ov_node_t *overlay_last(const overlay_t *ov, unsigned db);
const void *overlay_node_key(const ov_node_t *n, size_t *klen);
/* The value, or NULL for a tombstone. */
const void *overlay_node_val(const ov_node_t *n, size_t *vlen);

/* ---- changes ----------------------------------------------------------------------------------
 */

/* Sets key to val (len bytes; val == NULL with len 0 is an empty value) in db, recording the
 * old state in the undo log. 0 or ERR_NOMEM (nothing changed). */
int overlay_put(overlay_t *ov, unsigned db, const void *key, size_t klen, const void *val,
                size_t len);

/* Makes key a tombstone in db (recorded in the undo log). 0 or ERR_NOMEM. */
int overlay_del(overlay_t *ov, unsigned db, const void *key, size_t klen);

/* The undo log's depth: where a transaction begins. */
size_t overlay_mark(const overlay_t *ov);

/* Undoes every change recorded after mark, newest first: values, tombstones and nodes come back
 * exactly as they were at the mark (nodes created since are freed). */
void overlay_rollback(overlay_t *ov, size_t mark);

/* Whether any change is recorded since mark 0 (a top-level transaction changed something). */
bool overlay_dirty(const overlay_t *ov);

/*
 * The write-ahead record of the changes recorded since mark 0: each key changed, once, with its
 * value now (or tombstone), in any order. Layout, per entry, little-endian:
 *   db u8 | flags u8 (1: tombstone; other bits 0) | klen u16 (1..511) | vlen u32 | key | value
 * (a tombstone has vlen 0). overlay_record_size() is the exact size encode writes.
 */
size_t overlay_record_size(const overlay_t *ov);
void overlay_record_encode(const overlay_t *ov, uint8_t *out);

/* Makes the changes since mark 0 permanent: the undo log is emptied and the values it kept
 * are freed. Call after the LMDB commit that made the record durable succeeded. */
void overlay_settle(overlay_t *ov);

/*
 * Applies a write-ahead record (as encoded above) as settled changes: the replay at open. The
 * whole record is checked first (every db < ndb, flags, klen 1..511, lengths inside the record,
 * nothing after the last entry, at least one entry): ERR_DATA_LOSS and nothing applied if it
 * is malformed. The undo log must be empty. 0, ERR_DATA_LOSS or ERR_NOMEM (then the overlay
 * may hold part of the record: the caller discards it).
 */
int overlay_record_apply(overlay_t *ov, const uint8_t *rec, size_t len);

/* Removes db's node for key, undo-less (the sweep, after LMDB has the value): the undo log must
 * be empty. A missing key is a no-op. */
void overlay_remove(overlay_t *ov, unsigned db, const void *key, size_t klen);

/* Removes, undo-less, count nodes of db in key order from the first whose key is >= key (fewer
 * if the database ends first): the sweep's write-back of a run, in one descent. */
void overlay_remove_run(overlay_t *ov, unsigned db, const void *key, size_t klen, size_t count);

#endif
