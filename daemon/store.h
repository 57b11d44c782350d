/*
 * store: the LMDB environment, its named databases, key encodings, and transactions whose
 * error is sticky (Knot DNS style): the first failure is kept in the transaction, later calls
 * become no-ops returning it, and store_txn_commit() reports it instead of committing. Call
 * sites stay flat; nothing is half-written.
 *
 * The only module that includes lmdb.h; LMDB's codes are translated here:
 *   MDB_NOTFOUND            -> ERR_NOT_FOUND (not sticky: a miss is not a failure)
 *   MDB_MAP_FULL            -> ERR_RETRY     (abort, store_grow(), run the batch again)
 *   ENOSPC, EIO, EDQUOT ... -> ERR_UNAVAILABLE (the disk; retry later)
 *   anything else           -> ERR_INTERNAL
 *
 * Durability: the environment uses LMDB's default, fully synced mode; a write transaction is
 * durable when store_txn_commit() returns 0, and only then may anything be acknowledged.
 * Threads: one write transaction at a time, from the thread that opened the store.
 */
#ifndef MASTERY_STORE_H
#define MASTERY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The named databases. Their keys and values are laid out by records.h, the one module that
 * builds keys; nothing else in the daemon names a database. */
typedef enum store_db {
    STORE_DB_META = 0,
    STORE_DB_FRAMEWORKS,
    STORE_DB_LEARNERS,
    STORE_DB_EVIDENCE_ID,
    STORE_DB_EVENTS,
    STORE_DB_CREDENTIALS,
    STORE_DB_CRED_INDEX,
    STORE_DB_STATUS,
    STORE_DB_LOG,      /* from format 4 */
    STORE_DB_LOG_TREE, /* from format 4 */
    STORE_DB_REVIEWS,  /* format 5: review due moments in time order (records.h) */
    STORE_DB_GROUPS,   /* format 6: classes, their learners and teachers */
    STORE_DB_RISK,     /* format 6: each learner's at-risk state per framework */
    STORE_DB_WAL,      /* format 8: write-ahead records of the deferred databases (below) */
    STORE_DB_COUNT
} store_db_t;

#define STORE_HASH_LEN 16 /* bytes of SHA-256 used for ids inside keys */
#define STORE_TRAILER  4  /* bytes after every stored value: its CRC-32C (store.c) */

/* The file's format, kept in the meta database under "format" (u32 little-endian):
 *   1  (no "format" record) values without a checksum; migrated to 2 at open
 *   2  every value ends with a CRC-32C of (database number, key, value)
 *   3  evidence ids scoped to their source (records.h); records_upgrade() migrates 2 -> 3
 *   4  the transparency log (databases log and log_tree) and per-learner commitment keys
 *      (the log starts after the events already stored)
 *   5  the reviews database (review due moments, issue 15)
 *   6  the groups and risk databases (classes, at-risk states)
 *   7  learners' personal fields sealed under per-learner data keys (vault.h); evidence ids in
 *      keys replaced by keyed hashes; events with a clear header and a sealed body
 *   8  the wal database (write-behind: changes to the deferred databases committed as
 *      write-ahead records, written to their databases later by a sweep)
 * store_open() brings a file to format 2 itself; the layouts above it are records.c's:
 * records_upgrade() runs the steps from 3 on in one transaction. A database introduced by a
 * format (store_db_since in store.c) is created, empty, when an older file is opened, in the
 * transaction that opens it. */
#define STORE_FORMAT_PLAIN      1u
#define STORE_FORMAT_CHECKSUMS  2u
#define STORE_FORMAT_SCOPED_IDS 3u
#define STORE_FORMAT_LOG        4u
#define STORE_FORMAT_REVIEWS    5u
#define STORE_FORMAT_GROUPS     6u
#define STORE_FORMAT_SEALED     7u
#define STORE_FORMAT_WAL        8u
#define STORE_FORMAT_CURRENT    STORE_FORMAT_WAL
#define STORE_KEY_MAX           511 /* LMDB's default maximum key size */

typedef struct store store_t;
typedef struct store_txn store_txn_t;

/* A borrowed byte range. From store_get/iterators: valid until the next write in the same
 * transaction or the end of the transaction (LMDB's rule). */
typedef struct store_val {
    const void *data;
    size_t len;
} store_val_t;

/* A key under construction: fixed buffer, appends are bounds-checked (overflow is sticky). */
typedef struct store_key {
    uint8_t b[STORE_KEY_MAX];
    size_t len;
    bool overflow;
} store_key_t;

void store_key_reset(store_key_t *k);
/* The STORE_HASH_LEN-byte hash of an id, to compute once and append many times. */
void store_hash_id(const char *id, uint8_t out[STORE_HASH_LEN]);
/* Appends the STORE_HASH_LEN-byte hash of an id: fixed width, so ids of any length fit. */
void store_key_hash(store_key_t *k, const char *id);
void store_key_bytes(store_key_t *k, const void *p, size_t n);
void store_key_byte(store_key_t *k, uint8_t b);
void store_key_u32(store_key_t *k, uint32_t v); /* big-endian: sorts numerically */
void store_key_u64(store_key_t *k, uint64_t v);
void store_key_i64(store_key_t *k, int64_t v); /* sign bit flipped, big-endian */
uint64_t store_read_u64(const void *p);        /* reads a store_key_u64 encoding */
uint32_t store_read_u32(const void *p);

/*
 * Opens (creating if needed, mode 0700) the environment in dir, clears stale reader slots
 * left by killed processes, and opens every named database. A new file gets every database
 * and the current format; an existing one must have them all (a file whose databases are gone,
 * e.g. after a damaged LMDB meta page, is refused rather than silently started empty), and an
 * older format is migrated in one transaction before anything else reads it. Before LMDB maps
 * data.mdb, its two meta pages are read and checked (store_meta_check: LMDB's magic and
 * version, a sane page size, and a file at least as long as the last committed page), so a
 * truncated or damaged file is refused with a message naming it instead of crashing the
 * process on first access (SIGBUS). map_size is the initial map size (raised to the file's
 * size if that is larger); the map doubles up to map_size_max. Caller owns *out; close with
 * store_close(). Returns 0 or ERR_UNAVAILABLE (the disk, or a damaged data.mdb: the message
 * says which)/ERR_DATA_LOSS/ERR_INTERNAL.
 */
int store_open(const char *dir, uint64_t map_size, uint64_t map_size_max, store_t **out,
               err_detail_t *detail);

/*
 * The check store_open makes before LMDB maps data.mdb, on its first bytes (head: len bytes;
 * STORE_META_HEAD covers both meta pages at the largest page size) and its size: LMDB's magic
 * and version on both meta pages, a power-of-two page size of 512..64 KiB, the same on both,
 * and a file at least as long as the newer meta page's last page. Pure (no I/O): the fuzz
 * target feeds it arbitrary bytes. Returns 0 or ERR_UNAVAILABLE with a message naming path.
 */
#define STORE_META_PSIZE_MAX 65536u
#define STORE_META_HEAD      (2 * STORE_META_PSIZE_MAX)
int store_meta_check(const uint8_t *head, size_t len, uint64_t file_size, const char *path,
                     err_detail_t *detail);

/* What data.mdb was before store_open: the caller decides whether a new store is welcome
 * (one beside existing issuer keys is not). */
typedef enum store_origin {
    STORE_EXISTED = 0,    /* a committed environment */
    STORE_NEW,            /* no data.mdb: created now */
    STORE_WAS_EMPTY_FILE, /* a 0-byte data.mdb (truncated?), initialised now */
} store_origin_t;

store_origin_t store_origin(const store_t *st);

/* Closes the environment and sets *st to NULL. No transaction may be open. */
void store_close(store_t **st);

/* Doubles the map size (call with no transaction open). ERR_LIMIT at map_size_max. */
int store_grow(store_t *st);

/* Map size and bytes in use (last page used * page size). */
void store_usage(store_t *st, uint64_t *map_size, uint64_t *used);

/* Reader slots in use (LMDB's me_numreaders: the high-water mark of slots taken). */
uint64_t store_readers(store_t *st);

/*
 * Begins a transaction (write or read-only). Caller owns *out: finish it with
 * store_txn_commit() or store_txn_abort(), which free it and set *out to NULL.
 */
int store_txn_begin(store_t *st, bool write, store_txn_t **out);

/*
 * Begins a transaction nested in a write transaction: its writes become part of the parent
 * when committed, and vanish when aborted, so one request of a group commit can fail without
 * leaving half its writes behind. Finish it before using the parent again.
 */
int store_txn_begin_child(store_txn_t *parent, store_txn_t **out);

/*
 * n bytes that live as long as the top-level transaction (a child's go to its root): where
 * records puts the fields it opens from their sealed boxes, so they are borrowed like any
 * value. At most STORE_SCRATCH_MAX bytes per transaction; NULL past that or out of memory.
 * Not aligned.
 */
#define STORE_SCRATCH_MAX (64u << 20)
void *store_txn_scratch(store_txn_t *txn, size_t n);

/* The vault records seals and opens learners' fields with (vault.h), set once after
 * store_open (borrowed: it outlives the store); NULL when none was set (tools that read only
 * what is not sealed). */
struct vault;
void store_set_vault(store_t *st, struct vault *v);
struct vault *store_vault(const store_txn_t *txn);

/*
 * Replaces dir/data.mdb by a compacting copy of itself (live pages only: LMDB never
 * overwrites a freed page, so this is what removes the old bytes of rewritten records, e.g.
 * the clear values an upgrade sealed), then reopens it into *st (the vault carried over). No
 * transaction may be open. A crash before the rename leaves the old file (and a stray
 * data.mdb.compact, removed next time); after it, the copy, which is complete and synced.
 * Returns 0 or an error; *st is open again in either case unless reopening failed.
 */
int store_compact(store_t **st, const char *dir, err_detail_t *detail);

/* Commits unless an error is sticky (then aborts). Returns 0 (durable) or the error. */
int store_txn_commit(store_txn_t **txn);

/* Aborts (a no-op for NULL). */
void store_txn_abort(store_txn_t **txn);

/* The sticky error, or 0. */
int store_txn_error(const store_txn_t *txn);

/* Makes err (< 0) the sticky error unless one is set: for a caller whose own failure after
 * some writes means the transaction must not commit. Returns the sticky error. */
int store_txn_fail(store_txn_t *txn, int err);

/* Gets a value: 0, ERR_NOT_FOUND, ERR_DATA_LOSS (sticky: its checksum does not match; logged
 * and named by store_damage()), or the sticky error. *val is borrowed (see store_val_t). */
int store_get(store_txn_t *txn, store_db_t db, const store_key_t *key, store_val_t *val);

/* Puts a value (with its checksum trailer, added here). flags: STORE_APPEND (key sorts after
 * every existing key). val must not point into the store (a borrowed value): copy it first, as
 * the put may move the page it is on. Returns 0 or the (now sticky) error. */
#define STORE_APPEND 1u
int store_put(store_txn_t *txn, store_db_t db, const store_key_t *key, const void *val, size_t len,
              unsigned flags);

/* Deletes a key; deleting a missing key is not an error. */
int store_del(store_txn_t *txn, store_db_t db, const store_key_t *key);

/* The last key/value of a database: 0 or ERR_NOT_FOUND (empty). */
int store_last(store_txn_t *txn, store_db_t db, store_val_t *key, store_val_t *val);

/*
 * Iteration over every key that starts with prefix (len 0: the whole database), in key
 * order, optionally starting at a key >= start (NULL: at the prefix). The iterator lives on
 * the caller's stack; close it before the transaction ends.
 */
typedef struct store_iter {
    void *cursor; /* MDB_cursor, owned */
    store_txn_t *txn;
    store_db_t db;
    store_key_t prefix;
    store_key_t start;
    bool started;
    /* A deferred database with an overlay: the base's pairs and the overlay's merged. */
    bool merged;
    bool base_have, base_done;      /* base_key/val: the base's next pair, not yet returned */
    store_val_t base_key, base_val; /* raw (trailer included) */
    void *ov_next;                  /* the overlay's next node (ov_node_t), or NULL */
    uint64_t ov_gen;                /* overlay_generation when ov_next was found */
    store_key_t last;               /* the last key returned (len 0: none yet) */
} store_iter_t;

int store_iter_open(store_txn_t *txn, store_db_t db, const store_key_t *prefix,
                    const store_key_t *start, store_iter_t *it);
/* 0 and the next pair, ERR_NOT_FOUND at the end, or the sticky error. */
int store_iter_next(store_iter_t *it, store_val_t *key, store_val_t *val);
/* As store_iter_next, for a caller that needs only the key: the value is not checked. */
int store_iter_next_key(store_iter_t *it, store_val_t *key);
void store_iter_close(store_iter_t *it);

/* Damaged records met since open, and the name of the last ("learners key 3fa1..."): the
 * database and key, never a value. name may be NULL. */
uint64_t store_damage(store_t *st, const char **name);

/* The format the file had when opened (STORE_FORMAT_*; a migrated file reports its old one). */
uint32_t store_format_opened(store_t *st);

/* The file's format now, and setting it inside a write transaction (for records_upgrade: the
 * format changes in the transaction that migrates the layout). */
uint32_t store_format(store_t *st);
int store_format_set(store_txn_t *txn, uint32_t format);

/*
 * Walks every record of every database and checks its checksum (masteryd --check). Counts
 * records and damaged ones; each damaged one is logged. Returns 0 or a store error (damage is
 * not an error here: it is counted).
 */
int store_verify_all(store_t *st, uint64_t *records, uint64_t *damaged);

/*
 * Writes a consistent, compacted copy of the environment to path (a new file, mode 0600,
 * fsynced), from a read snapshot: writers go on meanwhile, and it may be called while the
 * calling thread holds a write transaction (the copy sees the last commit). *bytes: its size.
 * Returns 0, ERR_UNAVAILABLE (path exists or cannot be written; the disk), ERR_INTERNAL.
 */
int store_copy(store_t *st, const char *path, uint64_t *bytes, err_detail_t *detail);

/* Counts entries in a database (O(1), from LMDB's stats and the overlay's tally). */
uint64_t store_count(store_txn_t *txn, store_db_t db);

/*
 * ---- Write-behind (ARCHITECTURE.md "Write-behind") ----------------------------------------------
 * The deferred databases (learners, evidence_ids, reviews, risk: the ones every evidence item
 * rewrites at random places) can be written behind. Their changes then go to an in-memory
 * overlay (overlay.h) that every read of this store consults first, and a committing write
 * transaction appends one write-ahead record of them to the wal database, sequentially, in the
 * same LMDB commit: committed still means durable, but a commit writes a few sequential pages
 * instead of one random page per learner. A sweep (store_flush_step) later writes the overlay to
 * the databases in key order, in steps, each its own synced transaction, and removes what it
 * wrote from the overlay; the step that completes a sweep also deletes the wal records the
 * sweep covered (every record committed before the sweep began: each key they changed was
 * either written by the sweep or changed again by a later record).
 *
 * store_open replays any wal records into an overlay (a crash, or a store another process left
 * with records), so every opener reads the same data; only an opener that calls
 * store_write_behind or store_flush_* writes it back. Rules: a sweep step needs no transaction
 * open; read transactions must not stay open across one (single-threaded callers: the daemon's
 * loop). store_last is not for deferred databases.
 */

/* Starts deferring writes with an overlay of up to budget bytes (the caller's sweep policy
 * keeps it there: store_wb_stats). budget 0: writes go straight to LMDB again once the overlay
 * (if any) has been flushed. No transaction may be open. 0 or ERR_NOMEM. */
int store_write_behind(store_t *st, uint64_t budget);

typedef struct store_wb_stats {
    bool on;                    /* an overlay exists: writes are deferred */
    bool pending;               /* something to write back: nodes, wal records or a sweep */
    uint64_t budget;            /* store_write_behind's */
    uint64_t held_bytes, nodes; /* the overlay's size */
    uint64_t wal_records, wal_bytes;
    int64_t oldest_age_ms; /* age of the oldest wal record (0: none) */
    bool sweeping;
    uint64_t sweeps, steps, written; /* completed sweeps, steps, changes written to LMDB */
    uint64_t replayed_records, replayed_changes; /* at open */
    double replay_ms;
} store_wb_stats_t;

void store_wb_stats(const store_t *st, store_wb_stats_t *out);

/*
 * One sweep step: starts a sweep if none is running, writes up to max_bytes of the overlay
 * (at least one change) to the databases in key order in one synced transaction, and, when the
 * sweep reaches the end, deletes the wal records it covered in that transaction. *done: the
 * sweep completed. Returns 0, ERR_RETRY (map full: store_grow, then call again) or an error
 * (nothing changed; the overlay keeps everything). No transaction may be open.
 */
int store_flush_step(store_t *st, size_t max_bytes, bool *done);

/* Sweeps until the overlay and the wal are empty (shutdown, tools). 0 or an error. */
int store_flush_all(store_t *st);

#endif
