/*
 * Fuzz target: overlay_record_apply (the write-ahead record the store replays at open,
 * overlay.h) on arbitrary bytes, into a fresh overlay. A refusal must be ERR_DATA_LOSS and
 * leave the overlay empty. An accepted record must give: per database a strictly ascending
 * walk (LMDB's order) that overlay_last ends; for each key the value or tombstone of its last
 * entry; count deltas that agree with the walk and base_has; and, rebuilt by puts and deletes
 * in a second overlay, a record of its own that replays into a third equal to the first.
 * Removing every node brings the bytes back to the empty overlay's.
 *
 * Seeds (tests/fuzz/corpus/wal) are records written by overlay_record_encode:
 * tests/fuzz/gen_wal_corpus.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "overlay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
    NDB = 4,
    MAX_INPUT = 16384, /* records are a commit's changes; 9 bytes at least per entry */
    MAX_ENTRIES = MAX_INPUT / 9,
};

static void check(bool ok)
{
    if (!ok)
        abort();
}

/* The base holds keys whose first byte's low bit differs from the db's. */
static bool base_has(void *ctx, unsigned db, const void *key, size_t klen)
{
    (void)ctx;
    return klen > 0 && ((((const uint8_t *)key)[0] ^ db) & 1);
}

static int lmdb_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t min = alen < blen ? alen : blen;
    int c = min ? memcmp(a, b, min) : 0;
    return c ? c : (alen > blen) - (alen < blen);
}

typedef struct entry {
    unsigned db;
    bool tomb;
    const uint8_t *key, *val;
    size_t klen, vlen;
} entry_t;

/* The accepted record's entries, parsed here independently of overlay.c. */
static size_t parse(const uint8_t *rec, size_t len, entry_t *out, size_t cap)
{
    size_t n = 0, off = 0;
    while (off < len) {
        check(len - off >= 8 && n < cap);
        const uint8_t *p = rec + off;
        entry_t *e = &out[n++];
        e->db = p[0];
        e->tomb = p[1] == 1;
        e->klen = (size_t)p[2] | (size_t)p[3] << 8;
        e->vlen = (size_t)p[4] | (size_t)p[5] << 8 | (size_t)p[6] << 16 | (size_t)p[7] << 24;
        check(e->db < NDB && p[1] <= 1 && e->klen >= 1 && e->klen <= 511);
        check(!e->tomb || e->vlen == 0);
        check(e->klen + e->vlen <= len - off - 8);
        e->key = p + 8;
        e->val = e->key + e->klen;
        off += 8 + e->klen + e->vlen;
    }
    check(n > 0);
    return n;
}

/* Walks db: strictly ascending keys that end at overlay_last; returns the count delta. */
static int64_t check_walk(const overlay_t *ov, unsigned db, size_t *nodes)
{
    const ov_node_t *prev = NULL;
    int64_t delta = 0;
    for (const ov_node_t *n = overlay_seek(ov, db, NULL, 0); n; n = overlay_next(n)) {
        size_t klen, vlen, plen;
        const void *key = overlay_node_key(n, &klen);
        const void *val = overlay_node_val(n, &vlen);
        check(klen >= 1 && klen <= 511);
        if (prev) {
            const void *pkey = overlay_node_key(prev, &plen);
            check(lmdb_cmp(pkey, plen, key, klen) < 0);
        }
        check(val != NULL || vlen == 0);
        check(overlay_seek(ov, db, key, klen) == n);
        bool in_base = base_has(NULL, db, key, klen);
        delta += val ? !in_base : -(int64_t)in_base;
        prev = n;
        (*nodes)++;
    }
    check(overlay_last(ov, db) == prev);
    return delta;
}

static void check_equal(const overlay_t *a, const overlay_t *b)
{
    check(overlay_nodes(a) == overlay_nodes(b));
    for (unsigned db = 0; db < NDB; db++) {
        const ov_node_t *x = overlay_seek(a, db, NULL, 0), *y = overlay_seek(b, db, NULL, 0);
        for (; x && y; x = overlay_next(x), y = overlay_next(y)) {
            size_t xk, yk, xv, yv;
            const void *xkey = overlay_node_key(x, &xk), *ykey = overlay_node_key(y, &yk);
            const void *xval = overlay_node_val(x, &xv), *yval = overlay_node_val(y, &yv);
            check(xk == yk && memcmp(xkey, ykey, xk) == 0);
            check((xval == NULL) == (yval == NULL) && xv == yv);
            check(xv == 0 || memcmp(xval, yval, xv) == 0);
        }
        check(x == NULL && y == NULL);
    }
}

/* Puts every node of ov into a fresh overlay; its record must replay into one equal to ov. */
static void check_reencode(const overlay_t *ov)
{
    overlay_t *copy = overlay_new(NDB, base_has, NULL);
    overlay_t *replay = overlay_new(NDB, base_has, NULL);
    check(copy && replay);
    size_t expect = 0;
    for (unsigned db = 0; db < NDB; db++)
        for (const ov_node_t *n = overlay_seek(ov, db, NULL, 0); n; n = overlay_next(n)) {
            size_t klen, vlen;
            const void *key = overlay_node_key(n, &klen);
            const void *val = overlay_node_val(n, &vlen);
            check((val ? overlay_put(copy, db, key, klen, val, vlen)
                       : overlay_del(copy, db, key, klen)) == 0);
            expect += 8 + klen + vlen;
        }
    size_t len = overlay_record_size(copy);
    check(len == expect);
    uint8_t *rec = malloc(len);
    check(rec != NULL);
    overlay_record_encode(copy, rec);
    check(overlay_record_apply(replay, rec, len) == 0);
    check_equal(ov, replay);
    overlay_settle(copy);
    check_equal(ov, copy);
    free(rec);
    overlay_free(&copy);
    overlay_free(&replay);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static entry_t entries[MAX_ENTRIES];
    if (size > MAX_INPUT)
        return 0;
    overlay_t *ov = overlay_new(NDB, base_has, NULL);
    check(ov != NULL);
    size_t empty = overlay_bytes(ov);
    int rc = overlay_record_apply(ov, data, size);
    if (rc != 0) {
        check(rc == ERR_DATA_LOSS);
        check(overlay_nodes(ov) == 0 && overlay_bytes(ov) == empty);
        overlay_free(&ov);
        return 0;
    }
    check(!overlay_dirty(ov) && overlay_record_size(ov) == 0);
    size_t n = parse(data, size, entries, sizeof entries / sizeof entries[0]);

    size_t nodes = 0;
    for (unsigned db = 0; db < NDB; db++)
        check(check_walk(ov, db, &nodes) == overlay_count_delta(ov, db));
    check(nodes == overlay_nodes(ov) && nodes <= n);

    /* Each key holds what its last entry says (entries are scanned newest first). */
    for (size_t i = n; i-- > 0;) {
        const entry_t *e = &entries[i];
        bool later = false;
        for (size_t j = i + 1; j < n && !later; j++)
            later = entries[j].db == e->db &&
                    lmdb_cmp(entries[j].key, entries[j].klen, e->key, e->klen) == 0;
        if (later)
            continue;
        const void *val;
        size_t vlen;
        ov_found_t f = overlay_get(ov, e->db, e->key, e->klen, &val, &vlen);
        if (e->tomb) {
            check(f == OV_TOMBSTONE);
        } else {
            check(f == OV_VALUE && vlen == e->vlen);
            check(vlen == 0 || memcmp(val, e->val, vlen) == 0);
        }
    }

    check_reencode(ov);

    /* The sweep: removing every node gives back every byte. */
    for (size_t i = 0; i < n; i++)
        overlay_remove(ov, entries[i].db, entries[i].key, entries[i].klen);
    check(overlay_nodes(ov) == 0 && overlay_bytes(ov) == empty);
    for (unsigned db = 0; db < NDB; db++)
        check(overlay_count_delta(ov, db) == 0 && overlay_last(ov, db) == NULL);
    overlay_free(&ov);
    return 0;
}
