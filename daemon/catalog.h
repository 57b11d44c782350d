/*
 * catalog: the frameworks in memory, the current revision of each, compiled as graphs.
 *
 * The store is the truth; the catalog is a cache of it that the engine reads on every evidence
 * item. It changes only through catalog_put() (a framework load inside a write transaction);
 * if that transaction then fails to commit, the caller rebuilds the catalog from the store
 * with catalog_load(), so memory never runs ahead of what is durable.
 */
#ifndef MASTERY_CATALOG_H
#define MASTERY_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "graph.h"
#include "store.h"

typedef struct catalog catalog_t;

typedef struct catalog_fw {
    graph_t *graph;                              /* owned by the catalog */
    uint32_t revision;                           /* 1, 2, ... per framework id */
    int64_t loaded_at;                           /* Unix ms */
    uint8_t hash[STORE_HASH_LEN];                /* store_hash_id(framework id) */
    uint8_t (*comp_hash)[STORE_HASH_LEN];        /* per competency index: store_hash_id(id) */
    uint8_t (*comp_hash_sorted)[STORE_HASH_LEN]; /* the same hashes in byte order (bsearch) */
    uint32_t *comp_by_hash; /* the competency index of each comp_hash_sorted entry */
} catalog_fw_t;

/* Whether fw has a competency whose store_hash_id is hash (binary search). */
bool catalog_fw_has_hash(const catalog_fw_t *fw, const uint8_t hash[STORE_HASH_LEN]);

/* The index of fw's competency whose store_hash_id is hash: 0 and *ci, or ERR_NOT_FOUND
 * (binary search). */
int catalog_fw_find_hash(const catalog_fw_t *fw, const uint8_t hash[STORE_HASH_LEN], uint32_t *ci);

/* Returns a new, empty catalog (caller owns; catalog_destroy()), or NULL. */
catalog_t *catalog_new(void);
void catalog_destroy(catalog_t **cat);

/*
 * Replaces the catalog's content with the current revision of every framework in the store.
 * Returns 0, or an error (a stored document that no longer parses is ERR_INTERNAL, named).
 */
int catalog_load(catalog_t *cat, store_txn_t *txn, err_detail_t *detail);

/* Installs *g as framework revision `revision`, replacing an older one. Takes ownership of *g
 * and sets it to NULL. Returns 0 or ERR_NOMEM (then *g is still the caller's). */
int catalog_put(catalog_t *cat, graph_t **g, uint32_t revision, int64_t loaded_at);

/* The framework with this id, or NULL. Borrowed: valid until the next catalog_put/load. */
const catalog_fw_t *catalog_find(const catalog_t *cat, const char *framework_id);

/* Frameworks by position 0..catalog_count()-1, in load order. Borrowed as above. */
uint32_t catalog_count(const catalog_t *cat);
const catalog_fw_t *catalog_at(const catalog_t *cat, uint32_t i);

#endif
