#include "catalog.h"

#include <stdlib.h>
#include <string.h>

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
    fw->comp_hash = NULL;
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
    if (fw->comp_hash == NULL)
        return ERR_NOMEM;
    fw->graph = g;
    fw->revision = revision;
    fw->loaded_at = loaded_at;
    store_hash_id(graph_id(g), fw->hash);
    for (uint32_t i = 0; i < n; i++)
        store_hash_id(graph_comp(g, i)->id, fw->comp_hash[i]);
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

int catalog_record_parse(const store_val_t *val, int64_t *loaded_at, const char **doc,
                         size_t *doc_len)
{
    if (val->len < 8)
        return ERR_INTERNAL;
    memcpy(loaded_at, val->data, 8);
    *doc = (const char *)val->data + 8;
    *doc_len = val->len - 8;
    return 0;
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
    store_iter_t it;
    store_val_t k, v;
    int rc = store_iter_open(txn, STORE_DB_FRAMEWORKS, NULL, NULL, &it);
    if (rc != 0)
        return rc;
    /* Keys are H(id) rev: the last key of each hash run is the current revision. */
    uint8_t prev_hash[STORE_HASH_LEN];
    bool have_prev = false;
    uint32_t prev_rev = 0;
    int64_t prev_at = 0, prev_first = 0; /* loaded_at: current and first revision */
    int64_t *first = NULL;               /* per framework, to restore the load order */
    const char *prev_doc = NULL;
    size_t prev_len = 0;
    for (;;) {
        rc = store_iter_next(&it, &k, &v);
        bool end = rc == ERR_NOT_FOUND;
        if (rc != 0 && !end)
            break;
        rc = 0;
        bool new_run = end || !have_prev || memcmp(k.data, prev_hash, STORE_HASH_LEN) != 0;
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
        if (k.len != STORE_HASH_LEN + 4 ||
            catalog_record_parse(&v, &prev_at, &prev_doc, &prev_len) != 0) {
            rc = err_set(d, ERR_INTERNAL, "frameworks", "malformed framework record");
            break;
        }
        if (new_run)
            prev_first = prev_at; /* keys sort by revision: the run starts at the first */
        memcpy(prev_hash, k.data, STORE_HASH_LEN);
        prev_rev = store_read_u32((const uint8_t *)k.data + STORE_HASH_LEN);
        have_prev = true;
    }
    store_iter_close(&it);
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
