#include "catalog.h"

#include <stdlib.h>
#include <string.h>

#include "records.h"

struct catalog {
    catalog_fw_t *fws;
    uint32_t count, cap;
};

catalog_t *catalog_new(void)
{
    return calloc(1, sizeof(catalog_t));
}

static void fw_free(catalog_fw_t *fw)
{
    graph_destroy(&fw->graph);
    free(fw->comp_hash);
    free(fw->comp_hash_sorted);
    free(fw->comp_by_hash);
    fw->comp_by_hash = NULL;
    fw->comp_hash = NULL;
    fw->comp_hash_sorted = NULL;
}

static int hash_cmp(const void *a, const void *b)
{
    return memcmp(a, b, STORE_HASH_LEN);
}

bool catalog_fw_has_hash(const catalog_fw_t *fw, const uint8_t hash[STORE_HASH_LEN])
{
    return bsearch(hash, fw->comp_hash_sorted, graph_count(fw->graph), STORE_HASH_LEN, hash_cmp) !=
           NULL;
}

int catalog_fw_find_hash(const catalog_fw_t *fw, const uint8_t hash[STORE_HASH_LEN], uint32_t *ci)
{
    const uint8_t(*p)[STORE_HASH_LEN] =
        bsearch(hash, fw->comp_hash_sorted, graph_count(fw->graph), STORE_HASH_LEN, hash_cmp);
    if (p == NULL)
        return ERR_NOT_FOUND;
    *ci = fw->comp_by_hash[p - fw->comp_hash_sorted];
    return 0;
}

static void catalog_clear(catalog_t *cat)
{
    for (uint32_t i = 0; i < cat->count; i++)
        fw_free(&cat->fws[i]);
    cat->count = 0;
}

/* Hashes are computed once per load: the engine builds keys with them on every item. */
static int fw_init(catalog_fw_t *fw, graph_t *g, uint32_t revision, int64_t loaded_at)
{
    uint32_t n = graph_count(g);
    fw->comp_hash = malloc((n ? n : 1) * sizeof *fw->comp_hash);
    fw->comp_hash_sorted = malloc((n ? n : 1) * sizeof *fw->comp_hash_sorted);
    fw->comp_by_hash = malloc((n ? n : 1) * sizeof *fw->comp_by_hash);
    if (fw->comp_hash == NULL || fw->comp_hash_sorted == NULL || fw->comp_by_hash == NULL) {
        free(fw->comp_hash);
        free(fw->comp_hash_sorted);
        free(fw->comp_by_hash);
        return ERR_NOMEM;
    }
    fw->graph = g;
    fw->revision = revision;
    fw->loaded_at = loaded_at;
    store_hash_id(graph_id(g), fw->hash);
    for (uint32_t i = 0; i < n; i++)
        store_hash_id(graph_comp(g, i)->id, fw->comp_hash[i]);
    memcpy(fw->comp_hash_sorted, fw->comp_hash, n * sizeof *fw->comp_hash);
    qsort(fw->comp_hash_sorted, n, STORE_HASH_LEN, hash_cmp);
    for (uint32_t i = 0; i < n; i++) { /* ids are unique, so are their hashes (else: SHA-256) */
        const uint8_t(*p)[STORE_HASH_LEN] =
            bsearch(fw->comp_hash[i], fw->comp_hash_sorted, n, STORE_HASH_LEN, hash_cmp);
        fw->comp_by_hash[p - fw->comp_hash_sorted] = i;
    }
    return 0;
}

void catalog_destroy(catalog_t **cp)
{
    if (cp == NULL || *cp == NULL)
        return;
    catalog_clear(*cp);
    free((*cp)->fws);
    free(*cp);
    *cp = NULL;
}

int catalog_put(catalog_t *cat, graph_t **g, uint32_t revision, int64_t loaded_at)
{
    catalog_fw_t fresh;
    if (fw_init(&fresh, *g, revision, loaded_at) != 0)
        return ERR_NOMEM;
    for (uint32_t i = 0; i < cat->count; i++) {
        if (strcmp(graph_id(cat->fws[i].graph), graph_id(*g)) == 0) {
            fw_free(&cat->fws[i]);
            cat->fws[i] = fresh;
            *g = NULL;
            return 0;
        }
    }
    if (cat->count == cat->cap) {
        uint32_t cap = cat->cap ? cat->cap * 2 : 8;
        catalog_fw_t *grown = realloc(cat->fws, cap * sizeof *grown);
        if (grown == NULL) {
            free(fresh.comp_hash);
            free(fresh.comp_hash_sorted);
            free(fresh.comp_by_hash);
            return ERR_NOMEM;
        }
        cat->fws = grown;
        cat->cap = cap;
    }
    cat->fws[cat->count++] = fresh;
    *g = NULL;
    return 0;
}

/* Puts cat->fws in the order of first[] (then id), as catalog_put would have built it. */
static void catalog_sort(catalog_t *cat, int64_t *first)
{
    for (uint32_t i = 1; i < cat->count; i++) {
        for (uint32_t j = i; j > 0; j--) {
            int64_t a = first[j - 1], b = first[j];
            if (a < b || (a == b && strcmp(graph_id(cat->fws[j - 1].graph),
                                           graph_id(cat->fws[j].graph)) <= 0))
                break;
            catalog_fw_t t = cat->fws[j];
            cat->fws[j] = cat->fws[j - 1];
            cat->fws[j - 1] = t;
            first[j] = a;
            first[j - 1] = b;
        }
    }
}

int catalog_load(catalog_t *cat, store_txn_t *txn, err_detail_t *d)
{
    catalog_clear(cat);
    records_framework_iter_t it;
    records_framework_t r;
    int rc = records_framework_iter_open(txn, &it);
    if (rc != 0)
        return rc;
    /* Revisions come by framework hash, then revision: the last of each run is current. */
    uint8_t prev_hash[STORE_HASH_LEN];
    bool have_prev = false;
    uint32_t prev_rev = 0;
    int64_t prev_at = 0, prev_first = 0; /* loaded_at: current and first revision */
    int64_t *first = NULL;               /* per framework, to restore the load order */
    const char *prev_doc = NULL;
    size_t prev_len = 0;
    for (;;) {
        rc = records_framework_iter_next(&it, &r);
        bool end = rc == ERR_NOT_FOUND;
        if (rc == ERR_INTERNAL)
            rc = err_set(d, ERR_INTERNAL, "frameworks", "malformed framework record");
        if (rc != 0 && !end)
            break;
        rc = 0;
        bool new_run = end || !have_prev || memcmp(r.hash, prev_hash, STORE_HASH_LEN) != 0;
        if (new_run && have_prev) {
            graph_t *g = NULL;
            err_detail_t pd;
            if (graph_parse(prev_doc, prev_len, &g, &pd) != 0) {
                rc = err_set(d, ERR_INTERNAL, "frameworks",
                             "stored framework revision %u no longer parses: %s: %s", prev_rev,
                             pd.field, pd.message);
                break;
            }
            int64_t *grown = realloc(first, (cat->count + 1) * sizeof *first);
            if (grown == NULL) {
                graph_destroy(&g);
                rc = ERR_NOMEM;
                break;
            }
            first = grown;
            first[cat->count] = prev_first;
            if ((rc = catalog_put(cat, &g, prev_rev, prev_at)) != 0) {
                graph_destroy(&g);
                break;
            }
        }
        if (end)
            break;
        if (new_run)
            prev_first = r.loaded_at; /* revisions sort in order: the run starts at the first */
        memcpy(prev_hash, r.hash, STORE_HASH_LEN);
        prev_rev = r.revision;
        prev_at = r.loaded_at;
        prev_doc = r.doc;
        prev_len = r.len;
        have_prev = true;
    }
    records_framework_iter_close(&it);
    if (rc == 0)
        catalog_sort(cat, first);
    free(first);
    return rc;
}

const catalog_fw_t *catalog_find(const catalog_t *cat, const char *id)
{
    for (uint32_t i = 0; i < cat->count; i++)
        if (strcmp(graph_id(cat->fws[i].graph), id) == 0)
            return &cat->fws[i];
    return NULL;
}

uint32_t catalog_count(const catalog_t *cat)
{
    return cat->count;
}

const catalog_fw_t *catalog_at(const catalog_t *cat, uint32_t i)
{
    return i < cat->count ? &cat->fws[i] : NULL;
}
