/*
 * Unit tests for overlay, the write-behind buffer: a model-based randomized run (puts and
 * deletes over a small key space with shared prefixes, nested marks kept or rolled back,
 * settles whose record is replayed into a second overlay, removes) checked after every step
 * against a plain array model (gets, ordered walks from random keys, the last node, counts and
 * count deltas over a model base, the record's entries); and focused tests: the rollback of a
 * created node, borrowed values across later puts, every rule of the record's validation, the
 * bytes coming back to the baseline, LMDB's key order, and a failure of each allocation a
 * change makes leaving everything as it was (overlay.c is compiled in with failing malloc).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <assert.h>

#include "err.h"
#include "overlay.h"

/*
 * Allocation failures on demand: overlay.c is compiled into this program with its malloc,
 * calloc and realloc routed through these (so the library's copy is not linked). fail_in
 * counts the allocations left before one fails; -1: none fails.
 */
static long fail_in = -1;

static bool alloc_fails(void)
{
    if (fail_in < 0)
        return false;
    if (fail_in-- > 0)
        return false;
    return true; /* fail_in is now -1: only this one fails */
}

static void *t_malloc(size_t n)
{
    return alloc_fails() ? NULL : malloc(n);
}

static void *t_calloc(size_t n, size_t size)
{
    return alloc_fails() ? NULL : calloc(n, size);
}

static void *t_realloc(void *p, size_t n)
{
    return alloc_fails() ? NULL : realloc(p, n);
}

#define malloc  t_malloc
#define calloc  t_calloc
#define realloc t_realloc
#include "overlay.c"
#undef malloc
#undef calloc
#undef realloc

enum {
    NDB = 3,
    KEY_MAX = 40, /* the longest generated key */
    VAL_MAX = 300,
    DEPTH_MAX = 8, /* nested marks */
};

/* ---- helpers ---------------------------------------------------------------------------------
 */

static uint64_t rnd_next(uint64_t *s)
{
    /* splitmix64: independent of the overlay's own generator */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rnd(uint64_t *s, unsigned n)
{
    return (unsigned)(rnd_next(s) % n);
}

/* LMDB's default order, written independently of overlay.c. */
static int lmdb_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    for (size_t i = 0; i < alen && i < blen; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return alen < blen ? -1 : alen > blen;
}

/* ---- the model ---------------------------------------------------------------------------------
 */

enum { M_ABSENT, M_VALUE, M_TOMB };

typedef struct mval {
    uint8_t state;
    uint16_t len;
    uint8_t bytes[VAL_MAX];
} mval_t;

/* What the overlay should hold for one key of one database, and whether a change since the
 * last settle touched it (the record's entries). A state is NDB x nkeys cells (keys sorted). */
typedef struct mcell {
    mval_t v;
    bool changed;
} mcell_t;

/* The cell of (db, i) in state st of world w. */
#define CELL(st, db, i) ((st)[(size_t)(db)*w->nkeys + (i)])

typedef struct world {
    size_t nkeys;
    size_t state_size;
    uint8_t keys[2000][KEY_MAX];
    size_t klen[2000];
    bool base[NDB][2000]; /* what LMDB holds, for base_has */
    unsigned base_calls;
    mcell_t *cur;
    mcell_t *settled;         /* the state at mark 0 */
    mcell_t *snap[DEPTH_MAX]; /* the state at each open nested mark */
    size_t marks[DEPTH_MAX];
    int depth;
} world_t;

static long key_index(const world_t *w, const void *key, size_t klen)
{
    for (size_t i = 0; i < w->nkeys; i++)
        if (w->klen[i] == klen && memcmp(w->keys[i], key, klen) == 0)
            return (long)i;
    return -1;
}

static bool base_has(void *ctx, unsigned db, const void *key, size_t klen)
{
    world_t *w = ctx;
    w->base_calls++;
    long i = key_index(w, key, klen);
    assert_true(i >= 0);
    return w->base[db][i];
}

/* A random key: short ones over a tiny alphabet share prefixes; some are long. */
static size_t random_key(uint64_t *s, uint8_t *k)
{
    static const uint8_t alphabet[] = {0x00, 0x01, 'a', 'b', 0xfe, 0xff};
    size_t len = rnd(s, 10) == 0 ? 1 + rnd(s, KEY_MAX) : 1 + rnd(s, 5);
    for (size_t i = 0; i < len; i++)
        k[i] = alphabet[rnd(s, sizeof alphabet)];
    return len;
}

static void world_init(world_t *w, uint64_t *s, size_t nkeys)
{
    memset(w, 0, sizeof *w);
    assert_true(nkeys <= sizeof w->klen / sizeof w->klen[0]);
    /* Draw distinct keys, then insertion-sort them into LMDB's order. */
    while (w->nkeys < nkeys) {
        uint8_t k[KEY_MAX];
        size_t len = random_key(s, k);
        if (key_index(w, k, len) >= 0)
            continue;
        size_t i = w->nkeys++;
        while (i > 0 && lmdb_cmp(w->keys[i - 1], w->klen[i - 1], k, len) > 0) {
            memcpy(w->keys[i], w->keys[i - 1], KEY_MAX);
            w->klen[i] = w->klen[i - 1];
            i--;
        }
        memcpy(w->keys[i], k, len);
        w->klen[i] = len;
    }
    for (unsigned db = 0; db < NDB; db++)
        for (size_t i = 0; i < nkeys; i++)
            w->base[db][i] = rnd(s, 2);
    w->state_size = NDB * nkeys * sizeof(mcell_t);
    w->cur = calloc(1, w->state_size);
    w->settled = calloc(1, w->state_size);
    assert_non_null(w->cur);
    assert_non_null(w->settled);
}

static void world_free(world_t *w)
{
    free(w->cur);
    free(w->settled);
    for (int i = 0; i < w->depth; i++)
        free(w->snap[i]);
}

/* ---- checks -------------------------------------------------------------------------------------
 */

static void check_node(const ov_node_t *n, const uint8_t *key, size_t klen, const mval_t *m)
{
    assert_non_null(n);
    size_t nk, nv;
    const void *k = overlay_node_key(n, &nk);
    const void *v = overlay_node_val(n, &nv);
    assert_int_equal(nk, klen);
    assert_memory_equal(k, key, klen);
    if (m->state == M_TOMB) {
        assert_null(v);
    } else {
        assert_int_equal(m->state, M_VALUE);
        assert_non_null(v);
        assert_int_equal(nv, m->len);
        if (nv)
            assert_memory_equal(v, m->bytes, nv);
    }
}

/* Everything observable about ov equals the model. */
static void check_all(const world_t *w, const overlay_t *ov, uint64_t *s)
{
    size_t nodes = 0;
    for (unsigned db = 0; db < NDB; db++) {
        int64_t delta = 0;
        long last = -1;
        for (size_t i = 0; i < w->nkeys; i++) {
            const mval_t *m = &CELL(w->cur, db, i).v;
            const void *val = NULL;
            size_t len = 0;
            ov_found_t f = overlay_get(ov, db, w->keys[i], w->klen[i], &val, &len);
            if (m->state == M_ABSENT) {
                assert_int_equal(f, OV_ABSENT);
                continue;
            }
            nodes++;
            last = (long)i;
            if (m->state == M_TOMB) {
                assert_int_equal(f, OV_TOMBSTONE);
                delta -= w->base[db][i];
            } else {
                assert_int_equal(f, OV_VALUE);
                assert_non_null(val);
                assert_int_equal(len, m->len);
                if (len)
                    assert_memory_equal(val, m->bytes, len);
                delta += !w->base[db][i];
            }
        }
        assert_int_equal(overlay_count_delta(ov, db), delta);
        ov_node_t *l = overlay_last(ov, db);
        if (last < 0)
            assert_null(l);
        else
            check_node(l, w->keys[last], w->klen[last], &CELL(w->cur, db, last).v);

        /* A walk from a key in the set, a key maybe not in it, or the start. */
        uint8_t start[KEY_MAX];
        size_t slen;
        unsigned how = rnd(s, 10);
        if (how < 5) {
            size_t i = rnd(s, (unsigned)w->nkeys);
            slen = w->klen[i];
            memcpy(start, w->keys[i], slen);
        } else if (how < 9) {
            slen = random_key(s, start);
        } else {
            slen = 0;
        }
        size_t i = 0;
        while (i < w->nkeys && lmdb_cmp(w->keys[i], w->klen[i], start, slen) < 0)
            i++;
        ov_node_t *n = overlay_seek(ov, db, start, slen);
        for (; i < w->nkeys; i++) {
            const mval_t *m = &CELL(w->cur, db, i).v;
            if (m->state == M_ABSENT)
                continue;
            check_node(n, w->keys[i], w->klen[i], m);
            n = overlay_next(n);
        }
        assert_null(n);
    }
    assert_int_equal(overlay_nodes(ov), nodes);
    assert_int_equal(overlay_dirty(ov), overlay_mark(ov) > 0);
}

/* Two overlays hold the same nodes, values and tombstones in the same order. */
static void check_same(const overlay_t *a, const overlay_t *b)
{
    assert_int_equal(overlay_nodes(a), overlay_nodes(b));
    for (unsigned db = 0; db < NDB; db++) {
        assert_int_equal(overlay_count_delta(a, db), overlay_count_delta(b, db));
        const ov_node_t *x = overlay_seek(a, db, NULL, 0), *y = overlay_seek(b, db, NULL, 0);
        for (; x != NULL && y != NULL; x = overlay_next(x), y = overlay_next(y)) {
            size_t xk, yk, xv, yv;
            const void *xkey = overlay_node_key(x, &xk), *ykey = overlay_node_key(y, &yk);
            const void *xval = overlay_node_val(x, &xv), *yval = overlay_node_val(y, &yv);
            assert_int_equal(xk, yk);
            assert_memory_equal(xkey, ykey, xk);
            assert_int_equal(xval == NULL, yval == NULL);
            assert_int_equal(xv, yv);
            if (xv)
                assert_memory_equal(xval, yval, xv);
        }
        assert_null(x);
        assert_null(y);
    }
}

/* The record holds each key changed since the last settle once, with the model's value. */
static void check_record(const world_t *w, const uint8_t *rec, size_t len)
{
    bool seen[NDB][2000];
    memset(seen, 0, sizeof seen);
    size_t off = 0;
    while (off < len) {
        assert_true(len - off >= 8);
        const uint8_t *p = rec + off;
        unsigned db = p[0];
        size_t klen = (size_t)p[2] | (size_t)p[3] << 8;
        size_t vlen = (size_t)p[4] | (size_t)p[5] << 8 | (size_t)p[6] << 16 | (size_t)p[7] << 24;
        assert_true(db < NDB);
        assert_true(off + 8 + klen + vlen <= len);
        long i = key_index(w, p + 8, klen);
        assert_true(i >= 0);
        assert_false(seen[db][i]);
        seen[db][i] = true;
        assert_true(CELL(w->cur, db, i).changed);
        const mval_t *m = &CELL(w->cur, db, i).v;
        if (m->state == M_TOMB) {
            assert_int_equal(p[1], 1);
            assert_int_equal(vlen, 0);
        } else {
            assert_int_equal(m->state, M_VALUE);
            assert_int_equal(p[1], 0);
            assert_int_equal(vlen, m->len);
            if (vlen)
                assert_memory_equal(p + 8 + klen, m->bytes, vlen);
        }
        off += 8 + klen + vlen;
    }
    for (unsigned db = 0; db < NDB; db++)
        for (size_t i = 0; i < w->nkeys; i++)
            assert_int_equal(seen[db][i], CELL(w->cur, db, i).changed);
}

/* ---- the randomized run ------------------------------------------------------------------------
 */

static mcell_t *snapshot(const world_t *w)
{
    mcell_t *c = malloc(w->state_size);
    assert_non_null(c);
    memcpy(c, w->cur, w->state_size);
    return c;
}

static void do_change(world_t *w, overlay_t *ov, uint64_t *s, bool del)
{
    unsigned db = rnd(s, NDB);
    size_t i = rnd(s, (unsigned)w->nkeys);
    mval_t *m = &CELL(w->cur, db, i).v;
    unsigned calls = w->base_calls;
    bool was_absent = m->state == M_ABSENT;
    if (del) {
        assert_int_equal(overlay_del(ov, db, w->keys[i], w->klen[i]), 0);
        m->state = M_TOMB;
        m->len = 0;
    } else {
        uint8_t val[VAL_MAX];
        size_t len = rnd(s, 8) == 0 ? rnd(s, VAL_MAX + 1) : rnd(s, 12);
        for (size_t k = 0; k < len; k++)
            val[k] = (uint8_t)rnd_next(s);
        /* An empty value comes as NULL, 0 or as a pointer with length 0. */
        const void *p = len || rnd(s, 2) ? val : NULL;
        assert_int_equal(overlay_put(ov, db, w->keys[i], w->klen[i], p, len), 0);
        m->state = M_VALUE;
        m->len = (uint16_t)len;
        memcpy(m->bytes, val, len);
    }
    CELL(w->cur, db, i).changed = true;
    /* base_has is asked exactly when the key gets a node. */
    assert_int_equal(w->base_calls - calls, was_absent ? 1 : 0);
}

/* Settles ov (every open mark kept), replays its record into replica, and compares them. */
static void do_settle(world_t *w, overlay_t *ov, overlay_t *replica)
{
    for (int d = 0; d < w->depth; d++)
        free(w->snap[d]);
    w->depth = 0;
    size_t len = overlay_record_size(ov);
    uint8_t *rec = malloc(len ? len : 1);
    assert_non_null(rec);
    overlay_record_encode(ov, rec);
    check_record(w, rec, len);
    overlay_settle(ov);
    assert_false(overlay_dirty(ov));
    assert_int_equal(overlay_record_size(ov), 0);
    if (len > 0)
        assert_int_equal(overlay_record_apply(replica, rec, len), 0);
    else
        assert_int_equal(overlay_record_apply(replica, rec, len), ERR_DATA_LOSS);
    free(rec);
    for (size_t c = 0; c < NDB * w->nkeys; c++)
        w->cur[c].changed = false;
    memcpy(w->settled, w->cur, w->state_size);
    check_same(ov, replica);
}

static void run_model(uint64_t seed, size_t nkeys, int steps)
{
    uint64_t s = seed;
    world_t *w = malloc(sizeof *w);
    assert_non_null(w);
    world_init(w, &s, nkeys);
    overlay_t *ov = overlay_new(NDB, base_has, w);
    overlay_t *replica = overlay_new(NDB, base_has, w);
    assert_non_null(ov);
    assert_non_null(replica);
    for (int step = 0; step < steps; step++) {
        unsigned op = rnd(&s, 100);
        if (op < 40) {
            do_change(w, ov, &s, false);
        } else if (op < 60) {
            do_change(w, ov, &s, true);
        } else if (op < 68) { /* a nested transaction begins */
            if (w->depth < DEPTH_MAX) {
                w->marks[w->depth] = overlay_mark(ov);
                w->snap[w->depth++] = snapshot(w);
            }
        } else if (op < 75) { /* the innermost one aborts */
            if (w->depth > 0) {
                mcell_t *snap = w->snap[--w->depth];
                overlay_rollback(ov, w->marks[w->depth]);
                assert_int_equal(overlay_mark(ov), w->marks[w->depth]);
                memcpy(w->cur, snap, w->state_size);
                free(snap);
            }
        } else if (op < 82) { /* the innermost one commits into its parent */
            if (w->depth > 0)
                free(w->snap[--w->depth]);
        } else if (op < 85) { /* the top-level transaction aborts */
            for (int d = 0; d < w->depth; d++)
                free(w->snap[d]);
            w->depth = 0;
            overlay_rollback(ov, 0);
            memcpy(w->cur, w->settled, w->state_size);
        } else if (op < 93) {
            do_settle(w, ov, replica);
        } else {                       /* the sweep: LMDB now holds what the node said */
            do_settle(w, ov, replica); /* the sweep runs between transactions */
            unsigned db = rnd(&s, NDB);
            size_t i = rnd(&s, (unsigned)w->nkeys);
            mval_t *m = &CELL(w->cur, db, i).v;
            if (m->state != M_ABSENT)
                w->base[db][i] = m->state == M_VALUE;
            m->state = M_ABSENT;
            memcpy(w->settled, w->cur, w->state_size);
            overlay_remove(ov, db, w->keys[i], w->klen[i]);
            overlay_remove(replica, db, w->keys[i], w->klen[i]);
            check_same(ov, replica);
        }
        check_all(w, ov, &s);
    }
    do_settle(w, ov, replica);
    check_all(w, replica, &s);
    overlay_free(&ov);
    overlay_free(&replica);
    assert_null(ov);
    world_free(w);
    free(w);
}

static void test_model_small_keyspace(void **state)
{
    (void)state;
    /* 40 keys: most operations hit an existing node. */
    run_model(1, 40, 6000);
    run_model(2, 40, 6000);
    run_model(3, 12, 3000);
}

static void test_model_large_keyspace(void **state)
{
    (void)state;
    /* 1500 keys: tall lists, mostly new nodes, long walks. */
    run_model(42, 1500, 4000);
}

/* ---- focused tests ------------------------------------------------------------------------------
 */

static const void *get(const overlay_t *ov, unsigned db, const char *key, size_t *len)
{
    const void *val = NULL;
    ov_found_t f = overlay_get(ov, db, key, strlen(key), &val, len);
    return f == OV_VALUE ? val : NULL;
}

static void put(overlay_t *ov, unsigned db, const char *key, const char *val)
{
    assert_int_equal(overlay_put(ov, db, key, strlen(key), val, strlen(val)), 0);
}

static void test_rollback_created(void **state)
{
    (void)state;
    overlay_t *ov = overlay_new(2, NULL, NULL);
    assert_non_null(ov);
    put(ov, 0, "k1", "one");
    overlay_settle(ov);
    size_t bytes = overlay_bytes(ov);
    size_t mark = overlay_mark(ov);
    assert_int_equal(mark, 0);
    put(ov, 0, "k2", "two");
    put(ov, 0, "k2", "two again");
    assert_int_equal(overlay_del(ov, 1, "k3", 2), 0);
    size_t inner = overlay_mark(ov);
    put(ov, 0, "k1", "changed");
    assert_int_equal(overlay_nodes(ov), 3);
    assert_int_equal(overlay_count_delta(ov, 0), 2);
    assert_int_equal(overlay_count_delta(ov, 1), 0); /* a tombstone of a key the base lacks */
    overlay_rollback(ov, inner);
    size_t len;
    assert_memory_equal(get(ov, 0, "k1", &len), "one", 3);
    overlay_rollback(ov, mark);
    const void *val;
    assert_int_equal(overlay_get(ov, 0, "k2", 2, &val, &len), OV_ABSENT);
    assert_int_equal(overlay_get(ov, 1, "k3", 2, &val, &len), OV_ABSENT);
    assert_null(overlay_seek(ov, 1, NULL, 0));
    assert_null(overlay_last(ov, 1));
    assert_int_equal(overlay_nodes(ov), 1);
    assert_int_equal(overlay_count_delta(ov, 0), 1);
    assert_int_equal(overlay_bytes(ov), bytes);
    assert_false(overlay_dirty(ov));
    assert_int_equal(overlay_record_size(ov), 0);
    overlay_free(&ov);
}

static void test_borrowed_values(void **state)
{
    (void)state;
    overlay_t *ov = overlay_new(1, NULL, NULL);
    assert_non_null(ov);
    put(ov, 0, "k", "first");
    overlay_settle(ov);
    size_t len;
    const char *v1 = get(ov, 0, "k", &len);
    assert_non_null(v1);
    put(ov, 0, "k", "second");
    const char *v2 = get(ov, 0, "k", &len);
    size_t inner = overlay_mark(ov);
    put(ov, 0, "k", "third");
    assert_int_equal(overlay_del(ov, 0, "k", 1), 0);
    /* Every value handed out since the settle is still readable (ASan checks the reads). */
    assert_memory_equal(v1, "first", 5);
    assert_memory_equal(v2, "second", 6);
    overlay_rollback(ov, inner);
    assert_memory_equal(v1, "first", 5);
    const char *back = get(ov, 0, "k", &len);
    assert_int_equal(len, 6);
    assert_memory_equal(back, "second", 6);
    assert_memory_equal(v2, "second", 6);
    overlay_settle(ov);
    assert_memory_equal(get(ov, 0, "k", &len), "second", 6);
    /* After a settle the record is empty; the next change records the key once again. */
    assert_int_equal(overlay_record_size(ov), 0);
    put(ov, 0, "k", "x");
    put(ov, 0, "k", "yz");
    assert_int_equal(overlay_record_size(ov), 8 + 1 + 2);
    overlay_free(&ov);
    overlay_free(&ov); /* a no-op on NULL */
}

/* A record of entries (db, flags, key, value) in the layout of overlay.h. */
static size_t rec_add(uint8_t *out, unsigned db, unsigned flags, const char *key, size_t klen,
                      const char *val, size_t vlen)
{
    out[0] = (uint8_t)db;
    out[1] = (uint8_t)flags;
    out[2] = (uint8_t)klen;
    out[3] = (uint8_t)(klen >> 8);
    out[4] = (uint8_t)vlen;
    out[5] = (uint8_t)(vlen >> 8);
    out[6] = (uint8_t)(vlen >> 16);
    out[7] = (uint8_t)(vlen >> 24);
    memcpy(out + 8, key, klen);
    memcpy(out + 8 + klen, val, vlen);
    return 8 + klen + vlen;
}

static void test_record_apply_rejects(void **state)
{
    (void)state;
    overlay_t *ov = overlay_new(2, NULL, NULL);
    assert_non_null(ov);
    put(ov, 0, "held", "before");
    assert_int_equal(overlay_del(ov, 1, "gone", 4), 0);
    overlay_settle(ov);
    size_t bytes = overlay_bytes(ov), nodes = overlay_nodes(ov);

    static char big[600];
    memset(big, 'k', sizeof big);
    /* Each record: a valid first entry, then a second that breaks one rule. */
    struct {
        const char *why;
        unsigned db, flags;
        size_t klen, vlen, cut, extra;
    } bad[] = {
        {"db >= ndb", 2, 0, 3, 2, 0, 0},
        {"db 255", 255, 0, 3, 2, 0, 0},
        {"flag bit 1", 0, 2, 3, 2, 0, 0},
        {"flag bit 7", 0, 0x80, 3, 0, 0, 0},
        {"tombstone with a value", 0, 1, 3, 1, 0, 0},
        {"klen 0", 0, 0, 0, 2, 0, 0},
        {"klen 512", 0, 0, 512, 2, 0, 0},
        {"value past the end", 0, 0, 3, 2, 1, 0},
        {"key past the end", 0, 0, 3, 0, 1, 0},
        {"a trailing byte", 0, 0, 3, 2, 0, 1},
        {"a trailing partial header", 0, 0, 3, 2, 0, 7},
    };
    static uint8_t rec[2048];
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        memset(rec, 0, sizeof rec);
        size_t len = rec_add(rec, 0, 0, "new", 3, "value", 5);
        len += rec_add(rec + len, bad[t].db, bad[t].flags, big, bad[t].klen, "vv", bad[t].vlen);
        len = len - bad[t].cut + bad[t].extra;
        print_message("%s\n", bad[t].why);
        assert_int_equal(overlay_record_apply(ov, rec, len), ERR_DATA_LOSS);
        assert_int_equal(overlay_bytes(ov), bytes);
        assert_int_equal(overlay_nodes(ov), nodes);
        size_t vlen;
        assert_null(get(ov, 0, "new", &vlen));
        assert_memory_equal(get(ov, 0, "held", &vlen), "before", 6);
    }
    /* No entry at all; a header alone; vlen near 4 GiB. */
    assert_int_equal(overlay_record_apply(ov, rec, 0), ERR_DATA_LOSS);
    assert_int_equal(overlay_record_apply(ov, rec, 5), ERR_DATA_LOSS);
    size_t len = rec_add(rec, 0, 0, "k", 1, "", 0);
    rec[7] = 0xff;
    assert_int_equal(overlay_record_apply(ov, rec, len), ERR_DATA_LOSS);
    assert_int_equal(overlay_nodes(ov), nodes);

    /* The rules' edges pass: klen 511, an empty value, a tombstone, the last db, a key twice
     * (the later entry wins). */
    len = rec_add(rec, 0, 0, big, 511, "", 0);
    len += rec_add(rec + len, 1, 1, "gone", 4, "", 0);
    len += rec_add(rec + len, 1, 0, "held", 4, "v1", 2);
    len += rec_add(rec + len, 0, 1, "held", 4, "", 0);
    len += rec_add(rec + len, 1, 0, "held", 4, "v2", 2);
    assert_int_equal(overlay_record_apply(ov, rec, len), 0);
    const void *val;
    size_t vlen;
    assert_int_equal(overlay_get(ov, 0, big, 511, &val, &vlen), OV_VALUE);
    assert_int_equal(vlen, 0);
    assert_int_equal(overlay_get(ov, 0, "held", 4, &val, &vlen), OV_TOMBSTONE);
    assert_int_equal(overlay_get(ov, 1, "gone", 4, &val, &vlen), OV_TOMBSTONE);
    assert_memory_equal(get(ov, 1, "held", &vlen), "v2", 2);
    assert_int_equal(overlay_nodes(ov), 4);
    assert_false(overlay_dirty(ov));
    overlay_free(&ov);
}

static void test_bytes_baseline(void **state)
{
    (void)state;
    overlay_t *ov = overlay_new(4, NULL, NULL);
    assert_non_null(ov);
    size_t base = overlay_bytes(ov);
    assert_true(base > 0);
    char key[32], val[128];
    memset(val, 'v', sizeof val);
    /* A transaction large enough to grow the undo log past what is kept. */
    size_t payload = 0;
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "key-%07d", (i * 7919) % 3000);
        size_t vlen = (size_t)(i % 100);
        assert_int_equal(overlay_put(ov, (unsigned)i % 4, key, (size_t)n, val, vlen), 0);
        payload += (size_t)n + vlen;
    }
    /* Everything is counted: keys, current and kept values, undo entries. */
    assert_true(overlay_bytes(ov) > base + payload);
    overlay_rollback(ov, 0);
    assert_int_equal(overlay_nodes(ov), 0);
    assert_int_equal(overlay_bytes(ov), base);

    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "key-%07d", i % 3000);
        if (i % 5 == 0)
            assert_int_equal(overlay_del(ov, (unsigned)i % 4, key, (size_t)n), 0);
        else
            assert_int_equal(overlay_put(ov, (unsigned)i % 4, key, (size_t)n, val, 100), 0);
    }
    size_t before_settle = overlay_bytes(ov);
    overlay_settle(ov);
    assert_true(overlay_bytes(ov) < before_settle); /* the kept values and the log are gone */
    for (unsigned db = 0; db < 4; db++)
        while (overlay_seek(ov, db, NULL, 0) != NULL) {
            size_t klen;
            const void *k = overlay_node_key(overlay_seek(ov, db, NULL, 0), &klen);
            memcpy(key, k, klen);
            overlay_remove(ov, db, key, klen);
        }
    assert_int_equal(overlay_nodes(ov), 0);
    assert_int_equal(overlay_bytes(ov), base);
    overlay_remove(ov, 0, "absent", 6); /* a no-op */
    assert_int_equal(overlay_bytes(ov), base);
    overlay_free(&ov);
}

static void test_lmdb_order(void **state)
{
    (void)state;
    overlay_t *ov = overlay_new(1, NULL, NULL);
    assert_non_null(ov);
    /* Inserted shuffled; LMDB's order puts a prefix before its extensions and compares bytes
     * unsigned. */
    static const struct {
        const char *k;
        size_t len;
    } sorted[] = {{"\x00", 1}, {"\x00\x00", 2}, {"a", 1},       {"a\x00", 2}, {"a\x00\x00", 3},
                  {"ab", 2},   {"abc", 3},      {"b", 1},       {"\x7f", 1},  {"\x80", 1},
                  {"\xff", 1}, {"\xff\x00", 2}, {"\xff\xff", 2}};
    size_t n = sizeof sorted / sizeof sorted[0];
    for (size_t i = 0; i < n; i++) {
        size_t j = (i * 5) % n; /* 5 and 13 are coprime: every key once */
        assert_int_equal(overlay_put(ov, 0, sorted[j].k, sorted[j].len, "v", 1), 0);
    }
    const ov_node_t *node = overlay_seek(ov, 0, NULL, 0);
    for (size_t i = 0; i < n; i++, node = overlay_next(node)) {
        assert_non_null(node);
        size_t klen;
        const void *k = overlay_node_key(node, &klen);
        assert_int_equal(klen, sorted[i].len);
        assert_memory_equal(k, sorted[i].k, klen);
    }
    assert_null(node);
    size_t klen;
    /* seek lands on the first key >= the one asked, present or not */
    assert_memory_equal(overlay_node_key(overlay_seek(ov, 0, "a\x00\x01", 3), &klen), "ab", 2);
    assert_memory_equal(overlay_node_key(overlay_seek(ov, 0, "c", 1), &klen), "\x7f", 1);
    assert_null(overlay_seek(ov, 0, "\xff\xff\x00", 3));
    assert_memory_equal(overlay_node_key(overlay_last(ov, 0), &klen), "\xff\xff", 2);
    overlay_free(&ov);
}

/* Everything observable about ov, serialized: the nodes of each db in order, the count
 * deltas, the node count, the mark, and the record of the open transaction. */
static size_t dump(const overlay_t *ov, unsigned ndb, uint8_t *out, size_t cap)
{
    size_t off = 0;
#define OUT(p, n)                                                                                  \
    do {                                                                                           \
        assert_true(off + (n) <= cap);                                                             \
        memcpy(out + off, (p), (n));                                                               \
        off += (n);                                                                                \
    } while (0)
    for (unsigned db = 0; db < ndb; db++) {
        int64_t delta = overlay_count_delta(ov, db);
        OUT(&delta, sizeof delta);
        for (const ov_node_t *n = overlay_seek(ov, db, NULL, 0); n; n = overlay_next(n)) {
            size_t klen, vlen;
            const void *key = overlay_node_key(n, &klen), *val = overlay_node_val(n, &vlen);
            uint8_t tomb = val == NULL;
            OUT(&klen, sizeof klen);
            OUT(key, klen);
            OUT(&tomb, 1);
            OUT(&vlen, sizeof vlen);
            if (vlen)
                OUT(val, vlen);
        }
    }
    size_t nodes = overlay_nodes(ov), mark = overlay_mark(ov), rlen = overlay_record_size(ov);
    OUT(&nodes, sizeof nodes);
    OUT(&mark, sizeof mark);
    assert_true(off + rlen <= cap);
    overlay_record_encode(ov, out + off);
    return off + rlen;
#undef OUT
}

/* Settled nodes in two dbs, and an open transaction of `changes` changes. */
static overlay_t *nomem_fixture(int changes)
{
    overlay_t *ov = overlay_new(2, NULL, NULL);
    assert_non_null(ov);
    put(ov, 0, "settled-a", "1");
    put(ov, 0, "settled-b", "2");
    assert_int_equal(overlay_del(ov, 1, "settled-gone", 12), 0);
    overlay_settle(ov);
    for (int i = 0; i < changes; i++)
        put(ov, i % 2 ? 1 : 0, i % 3 ? "settled-a" : "open", i % 2 ? "x" : "yy");
    return ov;
}

enum { OP_PUT_NEW, OP_PUT_OLD, OP_DEL_NEW, OP_DEL_OLD, OP_APPLY, OP_COUNT };

static int nomem_op(overlay_t *ov, int op)
{
    static const uint8_t rec[] = {0,   0, 3, 0, 2, 0, 0, 0, 'n', 'e', 'w', 'v',
                                  'v', 1, 1, 3, 0, 0, 0, 0, 0,   'd', 'e', 'l'};
    switch (op) {
    case OP_PUT_NEW:
        return overlay_put(ov, 0, "new-key", 7, "value", 5);
    case OP_PUT_OLD:
        return overlay_put(ov, 0, "settled-b", 9, "value", 5);
    case OP_DEL_NEW:
        return overlay_del(ov, 1, "new-key", 7);
    case OP_DEL_OLD:
        return overlay_del(ov, 0, "settled-a", 9);
    default:
        return overlay_record_apply(ov, rec, sizeof rec);
    }
}

static void test_nomem_changes_nothing(void **state)
{
    (void)state;
    static uint8_t before[4096], after[4096], settled[4096];
    fail_in = 0;
    assert_null(overlay_new(2, NULL, NULL));
    /* 3 changes leave the undo log room for one more; 16 fill its first capacity (the change
     * must grow it). A record is applied to a settled overlay only. */
    static const int open_changes[] = {3, 16};
    for (int op = 0; op < OP_COUNT; op++)
        for (int c = 0; c < 2; c++) {
            int changes = op == OP_APPLY ? 0 : open_changes[c];
            long k = 0;
            for (;; k++) {
                overlay_t *ov = nomem_fixture(changes);
                size_t blen = dump(ov, 2, before, sizeof before);
                size_t bytes = overlay_bytes(ov);
                fail_in = k;
                int rc = nomem_op(ov, op);
                bool failed = fail_in < 0;
                fail_in = -1;
                if (!failed) {
                    assert_int_equal(rc, 0);
                    overlay_free(&ov);
                    break;
                }
                assert_int_equal(rc, ERR_NOMEM);
                if (op != OP_APPLY) {
                    /* Nothing changed (the undo log may have grown before the failure). */
                    assert_int_equal(dump(ov, 2, after, sizeof after), blen);
                    assert_memory_equal(after, before, blen);
                    assert_true(overlay_bytes(ov) >= bytes);
                    if (changes == 3)
                        assert_int_equal(overlay_bytes(ov), bytes);
                    /* and the transaction still rolls back to the settled state */
                    overlay_rollback(ov, 0);
                    overlay_t *fresh = nomem_fixture(0);
                    size_t slen = dump(fresh, 2, settled, sizeof settled);
                    assert_int_equal(dump(ov, 2, after, sizeof after), slen);
                    assert_memory_equal(after, settled, slen);
                    overlay_free(&fresh);
                }
                overlay_free(&ov); /* also after a partly applied record: no leak */
            }
            /* Each allocation the operation makes failed once: the undo log's growth, the
             * value, the node (a record: two nodes and a value). */
            bool value = op == OP_PUT_NEW || op == OP_PUT_OLD;
            bool node = op == OP_PUT_NEW || op == OP_DEL_NEW;
            long allocs = op == OP_APPLY ? 3 : (changes == 16) + value + node;
            assert_int_equal(k, allocs);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_small_keyspace), cmocka_unit_test(test_model_large_keyspace),
        cmocka_unit_test(test_rollback_created),     cmocka_unit_test(test_borrowed_values),
        cmocka_unit_test(test_record_apply_rejects), cmocka_unit_test(test_bytes_baseline),
        cmocka_unit_test(test_lmdb_order),           cmocka_unit_test(test_nomem_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
