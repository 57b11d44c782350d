#include "translog.h"

#include <stdlib.h>
#include <string.h>

#include "note.h"
#include "records.h"

#define CHECKPOINT_MAX 1024 /* origin (255) + size + root + one signature line */

struct translog {
    char origin[TLOG_NAME_MAX + 1];
    uint64_t base;
    tlog_frontier_t tree;      /* the tree as appended so far (in the open batch) */
    tlog_frontier_t committed; /* the tree at the start of the batch */
    buf_t checkpoint;          /* the newest signed note */
    uint64_t checkpoint_size;
    buf_t committed_checkpoint; /* ... as of the start of the batch */
    uint64_t committed_checkpoint_size;
    bool sealed; /* this batch signed a new one */
    bool published;
};

/* ---- stored hashes: level 0 is the entry's leaf hash; levels >= 1 are stored ----------- */

static int read_hash(void *ctx, unsigned level, uint64_t index, tlog_hash_t *out)
{
    store_txn_t *txn = ctx;
    if (level > 0)
        return records_log_hash_get(txn, level, index, out->b);
    const void *e;
    size_t len;
    int rc = records_log_entry_get(txn, index, &e, &len);
    if (rc != 0)
        return rc == ERR_NOT_FOUND ? ERR_INTERNAL : rc; /* inside the tree: must exist */
    tlog_leaf_hash(e, len, out);
    return 0;
}

static int write_hash(void *ctx, unsigned level, uint64_t index, const tlog_hash_t *h)
{
    return level == 0 ? 0 : records_log_hash_put(ctx, level, index, h->b);
}

static bool origin_ok(const char *o)
{
    size_t n = strlen(o);
    if (n == 0 || n > TLOG_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)o[i];
        if (c <= ' ' || c == '+' || c == 0x7f) /* a note key name has no spaces or '+' */
            return false;
    }
    return true;
}

int translog_open(translog_t **out, store_txn_t *txn, const char *origin, err_detail_t *d)
{
    if (!origin_ok(origin))
        return err_set(d, ERR_INVALID, "log_origin",
                       "'%s' is not a log origin: 1..255 bytes, no spaces, '+' or control "
                       "characters (e.g. example.edu/masteryd)",
                       origin);
    translog_t *t = calloc(1, sizeof *t);
    if (t == NULL)
        return err_set(d, ERR_NOMEM, "log", "out of memory");
    strcpy(t->origin, origin);
    buf_init(&t->checkpoint, CHECKPOINT_MAX);
    buf_init(&t->committed_checkpoint, CHECKPOINT_MAX);
    uint64_t size = 0;
    int rc = records_log_base_get(txn, &t->base);
    if (rc == ERR_NOT_FOUND) {
        t->base = 1; /* a store made with the log */
        rc = 0;
    }
    if (rc == 0)
        rc = records_log_size(txn, &size);
    if (rc == 0)
        rc = tlog_frontier_load(&t->tree, size, read_hash, txn);
    const char *note;
    size_t len;
    if (rc == 0 && (rc = records_log_checkpoint_get(txn, &note, &len)) == 0) {
        tlog_checkpoint_t cp;
        err_detail_t ignored;
        size_t text_len = len;
        const char *blank = NULL;
        for (size_t i = 0; i + 1 < len; i++)
            if (note[i] == '\n' && note[i + 1] == '\n') {
                blank = note + i + 1;
                break;
            }
        if (blank != NULL)
            text_len = (size_t)(blank - note);
        if (blank == NULL || tlog_checkpoint_parse(note, text_len, &cp, &ignored) != 0 ||
            buf_append(&t->checkpoint, note, len) != 0)
            rc = ERR_INTERNAL;
        else
            t->checkpoint_size = cp.size;
    } else if (rc == ERR_NOT_FOUND)
        rc = 0;
    if (rc != 0) {
        translog_destroy(&t);
        return err_set(d, rc, "log", "cannot read the transparency log: %s", err_str(rc));
    }
    t->committed = t->tree;
    *out = t;
    return 0;
}

void translog_destroy(translog_t **tp)
{
    if (tp == NULL || *tp == NULL)
        return;
    buf_free(&(*tp)->checkpoint);
    buf_free(&(*tp)->committed_checkpoint);
    free(*tp);
    *tp = NULL;
}

const char *translog_origin(const translog_t *t)
{
    return t->origin;
}

uint64_t translog_base(const translog_t *t)
{
    return t->base;
}

uint64_t translog_size(const translog_t *t)
{
    return t->tree.size;
}

void translog_batch_begin(translog_t *t)
{
    t->committed = t->tree;
    t->sealed = false;
}

int translog_append(translog_t *t, store_txn_t *txn, const void *entry, size_t len, uint64_t *index)
{
    tlog_hash_t leaf;
    tlog_leaf_hash(entry, len, &leaf);
    uint64_t i = t->tree.size;
    int rc = records_log_entry_put(txn, i, entry, len);
    if (rc == 0)
        rc = tlog_frontier_append(&t->tree, &leaf, write_hash, txn);
    if (rc != 0)
        return store_txn_fail(txn, rc);
    *index = i;
    return 0;
}

void translog_mark(const translog_t *t, translog_mark_t *m)
{
    m->frontier = t->tree;
}

void translog_rollback(translog_t *t, const translog_mark_t *m)
{
    t->tree = m->frontier;
}

int translog_seal(translog_t *t, store_txn_t *txn, keys_t *key)
{
    if (key == NULL || t->tree.size == t->committed.size)
        return 0;
    tlog_hash_t root;
    tlog_frontier_root(&t->tree, &root);
    buf_t body, note;
    buf_init(&body, CHECKPOINT_MAX);
    buf_init(&note, CHECKPOINT_MAX);
    int rc = tlog_checkpoint_format(&body, t->origin, t->tree.size, &root);
    if (rc == 0)
        rc = tlog_note_sign(&note, key, t->origin, body.data, body.len);
    if (rc == 0)
        rc = records_log_checkpoint_put(txn, note.data, note.len);
    if (rc == 0) {
        /* The one before is kept aside: a batch that fails to commit restores it. */
        buf_t old = t->checkpoint;
        t->committed_checkpoint_size = t->checkpoint_size;
        buf_free(&t->committed_checkpoint);
        t->committed_checkpoint = old;
        t->checkpoint = note;
        t->checkpoint_size = t->tree.size;
        t->sealed = true;
    } else {
        buf_free(&note);
    }
    buf_free(&body);
    return rc ? store_txn_fail(txn, rc) : 0;
}

void translog_batch_end(translog_t *t, bool committed)
{
    if (committed) {
        t->committed = t->tree;
        return;
    }
    t->tree = t->committed;
    if (t->sealed) {
        buf_reset(&t->checkpoint);
        (void)buf_append(&t->checkpoint, t->committed_checkpoint.data, t->committed_checkpoint.len);
        t->checkpoint_size = t->committed_checkpoint_size;
    }
    t->sealed = false;
}

const char *translog_checkpoint(const translog_t *t, size_t *len, uint64_t *size)
{
    *len = t->checkpoint.len;
    if (size)
        *size = t->checkpoint_size;
    return t->checkpoint.len ? t->checkpoint.data : NULL;
}

bool translog_checkpoint_is_new(const translog_t *t)
{
    return t->sealed;
}

int translog_verifier_key(const translog_t *t, const keys_t *key, buf_t *out)
{
    uint8_t pub[32];
    int rc = keys_public_raw(key, pub);
    return rc ? rc : tlog_verifier_format(out, t->origin, pub);
}

/* ---- reads --------------------------------------------------------------------------------- */

int translog_root(store_txn_t *txn, uint64_t size, tlog_hash_t *root)
{
    return tlog_tree_hash(size, read_hash, txn, root);
}

int translog_entry(store_txn_t *txn, uint64_t index, const void **entry, size_t *len,
                   tlog_hash_t *leaf)
{
    int rc = records_log_entry_get(txn, index, entry, len);
    if (rc == 0 && leaf != NULL)
        tlog_leaf_hash(*entry, *len, leaf);
    return rc;
}

int translog_prove_inclusion(store_txn_t *txn, uint64_t index, uint64_t size,
                             tlog_hash_t proof[TLOG_MAX_PROOF], size_t *n)
{
    return tlog_prove_inclusion(index, size, read_hash, txn, proof, n);
}

int translog_prove_consistency(store_txn_t *txn, uint64_t size1, uint64_t size2,
                               tlog_hash_t proof[TLOG_MAX_PROOF], size_t *n)
{
    return tlog_prove_consistency(size1, size2, read_hash, txn, proof, n);
}

int translog_tile(store_txn_t *txn, uint64_t size, int level, uint64_t index, unsigned width,
                  buf_t *out)
{
    if (width == 0 || width > 256 || level < -1 || level > 7 || index > (UINT64_MAX >> 16))
        return ERR_INVALID;
    unsigned mlevel = level < 0 ? 0 : 8u * (unsigned)level;
    uint64_t first = index * 256, end = first + width; /* node indexes at mlevel */
    if (mlevel >= 64 || end > (size >> mlevel))
        return ERR_INVALID; /* a node not complete within size */
    for (uint64_t i = first; i < end; i++) {
        int rc;
        if (level < 0) {
            const void *e;
            size_t len;
            if ((rc = records_log_entry_get(txn, i, &e, &len)) == 0)
                rc = tlog_bundle_append(out, e, len);
        } else {
            tlog_hash_t h;
            if ((rc = read_hash(txn, mlevel, i, &h)) == 0)
                rc = buf_append(out, h.b, sizeof h.b);
        }
        if (rc != 0)
            return rc == ERR_NOT_FOUND ? ERR_INTERNAL : rc;
    }
    return 0;
}
