/*
 * overlay: the write-behind buffer (overlay.h). One skip list per database (p = 1/4), an undo
 * log of every change since mark 0, and the write-ahead record codec.
 *
 * A node holds its key inline (after its level pointers) and its value in a separate
 * allocation, so a put swaps the value pointer and keeps the old one in the undo log: that is
 * what keeps borrowed values valid until the change is settled or rolled back.
 *
 * Point lookups (overlay_get, and finding the node a change touches) go through a hash index
 * of every node (open addressing, linear probing, at most half full): a read of the store's
 * deferred databases asks the overlay first on every get, and a skip list's descent through a
 * large overlay was the daemon's hottest function (about 7% of its time under load).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "overlay.h"

enum {
    OV_MAX_LEVEL = 20, /* 4^20 nodes before the top level saturates */
    OV_MAX_KEY = 511,  /* the record's klen range (LMDB's default key limit) */
    OV_MAX_DB = 64,
    OV_HDR = 8,              /* db u8 | flags u8 | klen u16 | vlen u32 */
    OV_MALLOC_OVERHEAD = 16, /* what malloc adds to each block, roughly (glibc: 8-16) */
    OV_UNDO_MIN = 16,        /* first capacity of the undo log, in entries */
    OV_UNDO_KEEP = 1024,     /* a larger undo log is freed when it empties */
};

/* node flags */
#define OV_IN_BASE 1u /* base_has said yes when the node was made */
#define OV_LOGGED  2u /* an undo entry since mark 0 names this node (the record's dedupe) */
/* record entry flags */
#define OV_REC_TOMB 1u

struct ov_node {
    uint8_t *val;  /* owned, at least 1 byte allocated; NULL: a tombstone */
    uint32_t vlen; /* 0 for a tombstone */
    uint16_t klen;
    uint8_t db;
    uint8_t level; /* 1..OV_MAX_LEVEL: the entries of next[] */
    uint8_t flags;
    uint32_t hash;     /* of (db, key): the index's */
    ov_node_t *next[]; /* next[0] is the following node; the key follows next[level - 1] */
};

typedef struct ov_undo {
    ov_node_t *node;
    uint8_t *old; /* the value before the change (owned here until settle); NULL: tombstone */
    uint32_t oldlen;
    bool created; /* the change made the node: rollback unlinks and frees it */
    bool first;   /* the first entry for node since mark 0 (the one the record emits) */
} ov_undo_t;

typedef struct ov_db {
    ov_node_t *head[OV_MAX_LEVEL];
    int level;     /* the highest level in use (head[level..] are NULL) */
    int64_t delta; /* overlay_count_delta */
} ov_db_t;

struct overlay {
    ov_base_has_fn base_has;
    void *ctx;
    uint64_t rng;
    size_t bytes;
    size_t nodes;
    uint64_t gen; /* overlay_generation: bumped by every link and unlink */
    ov_undo_t *undo;
    size_t nundo, undo_cap;
    ov_node_t **slots; /* the hash index: slot_cap (a power of 2, or 0) slots, NULL = empty */
    size_t slot_cap, slot_used;
    unsigned ndb;
    ov_db_t db[];
};

/* ---- helpers ---------------------------------------------------------------------------------
 */

static void free_node(overlay_t *ov, ov_node_t *n);

static const uint8_t *node_key(const ov_node_t *n)
{
    return (const uint8_t *)&n->next[n->level];
}

static size_t node_size(unsigned level, size_t klen)
{
    return sizeof(ov_node_t) + level * sizeof(ov_node_t *) + klen;
}

static size_t val_size(size_t len)
{
    return (len ? len : 1) + OV_MALLOC_OVERHEAD;
}

/* LMDB's default order: bytewise over the shorter length, then the shorter first. */
static int key_cmp(const ov_node_t *n, const void *key, size_t klen)
{
    size_t min = n->klen < klen ? n->klen : klen;
    int c = min ? memcmp(node_key(n), key, min) : 0;
    if (c != 0)
        return c;
    return n->klen < klen ? -1 : n->klen > klen;
}

/* ---- the hash index --------------------------------------------------------------------------
 */

/* A 32-bit hash of (db, key): 8 bytes at a time, multiply and fold (keys are mostly hash
 * material already; this only has to spread them). */
static uint32_t key_hash(unsigned db, const void *key, size_t klen)
{
    const uint8_t *p = key;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)db << 56) ^ klen;
    for (; klen >= 8; p += 8, klen -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, p, klen);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return (uint32_t)(h ^ (h >> 32));
}

static ov_node_t *idx_find(const overlay_t *ov, unsigned db, const void *key, size_t klen,
                           uint32_t h)
{
    if (ov->slot_cap == 0)
        return NULL;
    size_t mask = ov->slot_cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        ov_node_t *n = ov->slots[i];
        if (n == NULL)
            return NULL;
        if (n->hash == h && n->db == db && n->klen == klen && memcmp(node_key(n), key, klen) == 0)
            return n;
    }
}

static void idx_place(ov_node_t **slots, size_t cap, ov_node_t *n)
{
    size_t i = n->hash & (cap - 1);
    while (slots[i] != NULL)
        i = (i + 1) & (cap - 1);
    slots[i] = n;
}

/* Room for one more node (doubling at half full): called before a node is linked, so linking
 * cannot fail. 0 or ERR_NOMEM (nothing changed). */
static int idx_reserve(overlay_t *ov)
{
    if ((ov->slot_used + 1) * 2 <= ov->slot_cap)
        return 0;
    size_t cap = ov->slot_cap ? 2 * ov->slot_cap : 64;
    ov_node_t **slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < ov->slot_cap; i++)
        if (ov->slots[i] != NULL)
            idx_place(slots, cap, ov->slots[i]);
    if (ov->slot_cap)
        ov->bytes -= ov->slot_cap * sizeof *slots + OV_MALLOC_OVERHEAD;
    ov->bytes += cap * sizeof *slots + OV_MALLOC_OVERHEAD;
    free(ov->slots);
    ov->slots = slots;
    ov->slot_cap = cap;
    return 0;
}

/* Gives memory back as the sweep empties the overlay: freed when empty, halved at 1/8 full
 * (a failed allocation keeps the larger table). */
static void idx_shrink(overlay_t *ov)
{
    if (ov->slot_used == 0) {
        ov->bytes -= ov->slot_cap * sizeof *ov->slots + OV_MALLOC_OVERHEAD;
        free(ov->slots);
        ov->slots = NULL;
        ov->slot_cap = 0;
        return;
    }
    if (ov->slot_cap <= 64 || ov->slot_used * 8 > ov->slot_cap)
        return;
    size_t cap = ov->slot_cap / 2;
    ov_node_t **slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return;
    for (size_t i = 0; i < ov->slot_cap; i++)
        if (ov->slots[i] != NULL)
            idx_place(slots, cap, ov->slots[i]);
    ov->bytes -= (ov->slot_cap - cap) * sizeof *slots;
    free(ov->slots);
    ov->slots = slots;
    ov->slot_cap = cap;
}

/* Removes n, shifting back the entries after it that probed past its slot (no tombstones). */
static void idx_remove(overlay_t *ov, const ov_node_t *n)
{
    size_t mask = ov->slot_cap - 1, i = n->hash & mask;
    while (ov->slots[i] != n)
        i = (i + 1) & mask;
    for (size_t j = (i + 1) & mask; ov->slots[j] != NULL; j = (j + 1) & mask) {
        size_t home = ov->slots[j]->hash & mask;
        /* slots[j] may move to i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            ov->slots[i] = ov->slots[j];
            i = j;
        }
    }
    ov->slots[i] = NULL;
    ov->slot_used--;
    idx_shrink(ov);
}

/* How the node moves its database's count (overlay_count_delta). */
static int contrib(const ov_node_t *n)
{
    bool in_base = n->flags & OV_IN_BASE;
    if (n->val != NULL)
        return in_base ? 0 : 1;
    return in_base ? -1 : 0;
}

/* xorshift64: the level of a new node, 1 + the number of trailing zero bit pairs (p = 1/4). */
static unsigned random_level(overlay_t *ov)
{
    uint64_t x = ov->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ov->rng = x;
    unsigned level = 1;
    while (level < OV_MAX_LEVEL && (x & 3) == 0) {
        level++;
        x >>= 2;
    }
    return level;
}

/*
 * The first node of d whose key is >= key. With upd, upd[i] is set to the level-i link that
 * leads to that node (the link a new node is spliced into, or an old one unlinked from), for
 * every level up to OV_MAX_LEVEL.
 */
static ov_node_t *find(const ov_db_t *d, const void *key, size_t klen, ov_node_t ***upd)
{
    ov_node_t *const *links = d->head;
    for (int lvl = d->level - 1; lvl >= 0; lvl--) {
        for (;;) {
            const ov_node_t *x = links[lvl];
            if (x == NULL)
                break;
            /* Fetch where the walk goes down, should x not be less than key, while x itself
             * is fetched: a large list is a cache miss per node (-25% per search at 1M). */
            if (lvl > 0 && links[lvl - 1] != x)
                __builtin_prefetch(links[lvl - 1]);
            if (key_cmp(x, key, klen) >= 0)
                break;
            links = x->next;
        }
        if (upd)
            upd[lvl] = (ov_node_t **)&links[lvl];
    }
    if (upd)
        for (int lvl = d->level; lvl < OV_MAX_LEVEL; lvl++)
            upd[lvl] = (ov_node_t **)&d->head[lvl];
    return links[0];
}

/* Takes n out of its list (upd: from find() for n's key) and frees it. */
static void unlink_free(overlay_t *ov, ov_node_t *n, ov_node_t ***upd)
{
    ov_db_t *d = &ov->db[n->db];
    for (unsigned i = 0; i < n->level; i++)
        *upd[i] = n->next[i];
    while (d->level > 0 && d->head[d->level - 1] == NULL)
        d->level--;
    idx_remove(ov, n);
    d->delta -= contrib(n);
    ov->nodes--;
    ov->gen++;
    free_node(ov, n);
}

static void free_val(overlay_t *ov, uint8_t *val, size_t len)
{
    if (val == NULL)
        return;
    ov->bytes -= val_size(len);
    free(val);
}

static void free_node(overlay_t *ov, ov_node_t *n)
{
    free_val(ov, n->val, n->vlen);
    ov->bytes -= node_size(n->level, n->klen) + OV_MALLOC_OVERHEAD;
    free(n);
}

/* A copy of val (NULL: a tombstone, *out = NULL). 0 or ERR_NOMEM. */
static int copy_val(overlay_t *ov, bool tomb, const void *val, size_t len, uint8_t **out)
{
    *out = NULL;
    if (tomb)
        return 0;
    uint8_t *v = malloc(len ? len : 1);
    if (v == NULL)
        return ERR_NOMEM;
    if (len)
        memcpy(v, val, len);
    ov->bytes += val_size(len);
    *out = v;
    return 0;
}

/* A node for key (hash: key_hash's), not yet linked (its value NULL), or NULL when out of
 * memory. */
static ov_node_t *new_node(overlay_t *ov, unsigned db, const void *key, size_t klen, uint32_t hash)
{
    unsigned level = random_level(ov);
    if (idx_reserve(ov) != 0)
        return NULL;
    ov_node_t *n = malloc(node_size(level, klen));
    if (n == NULL)
        return NULL;
    memset(n, 0, sizeof *n);
    n->hash = hash;
    n->klen = (uint16_t)klen;
    n->db = (uint8_t)db;
    n->level = (uint8_t)level;
    memcpy((uint8_t *)&n->next[level], key, klen);
    ov->bytes += node_size(level, klen) + OV_MALLOC_OVERHEAD;
    return n;
}

/* Splices n (its value NULL) in at the links find() gave and asks the base about its key. */
static void link_node(overlay_t *ov, ov_node_t *n, ov_node_t ***upd)
{
    ov_db_t *d = &ov->db[n->db];
    for (unsigned i = 0; i < n->level; i++) {
        n->next[i] = *upd[i];
        *upd[i] = n;
    }
    if ((int)n->level > d->level)
        d->level = n->level;
    idx_place(ov->slots, ov->slot_cap, n);
    ov->slot_used++;
    if (ov->base_has && ov->base_has(ov->ctx, n->db, node_key(n), n->klen))
        n->flags |= OV_IN_BASE;
    d->delta += contrib(n); /* as a tombstone, until swap_val gives it its value */
    ov->nodes++;
    ov->gen++;
}

/* Sets n's value to v (owned now; NULL: tombstone) and returns the old one to the caller. */
static uint8_t *swap_val(overlay_t *ov, ov_node_t *n, uint8_t *v, size_t len)
{
    ov_db_t *d = &ov->db[n->db];
    uint8_t *old = n->val;
    d->delta -= contrib(n);
    n->val = v;
    n->vlen = (uint32_t)len;
    d->delta += contrib(n);
    return old;
}

static int undo_reserve(overlay_t *ov)
{
    if (ov->nundo < ov->undo_cap)
        return 0;
    size_t cap = ov->undo_cap ? 2 * ov->undo_cap : OV_UNDO_MIN;
    ov_undo_t *u = realloc(ov->undo, cap * sizeof *u);
    if (u == NULL)
        return ERR_NOMEM;
    ov->bytes -= ov->undo_cap ? ov->undo_cap * sizeof *u + OV_MALLOC_OVERHEAD : 0;
    ov->bytes += cap * sizeof *u + OV_MALLOC_OVERHEAD;
    ov->undo = u;
    ov->undo_cap = cap;
    return 0;
}

/* An empty undo log that grew large gives its memory back (the budget counts capacity). */
static void undo_trim(overlay_t *ov)
{
    if (ov->nundo == 0 && ov->undo_cap > OV_UNDO_KEEP) {
        ov->bytes -= ov->undo_cap * sizeof *ov->undo + OV_MALLOC_OVERHEAD;
        free(ov->undo);
        ov->undo = NULL;
        ov->undo_cap = 0;
    }
}

/* ---- life -------------------------------------------------------------------------------------
 */

overlay_t *overlay_new(unsigned ndb, ov_base_has_fn base_has, void *ctx)
{
    assert(ndb <= OV_MAX_DB);
    size_t size = sizeof(overlay_t) + ndb * sizeof(ov_db_t);
    overlay_t *ov = calloc(1, size);
    if (ov == NULL)
        return NULL;
    ov->base_has = base_has;
    ov->ctx = ctx;
    ov->rng = 0x9e3779b97f4a7c15ull; /* fixed: the same changes build the same lists */
    ov->ndb = ndb;
    ov->bytes = size + OV_MALLOC_OVERHEAD;
    return ov;
}

void overlay_free(overlay_t **ovp)
{
    overlay_t *ov = ovp ? *ovp : NULL;
    if (ov == NULL)
        return;
    /* Undo entries own their old values; nodes created by a change are in the lists too. */
    for (size_t i = 0; i < ov->nundo; i++)
        free(ov->undo[i].old);
    free(ov->undo);
    free(ov->slots);
    for (unsigned db = 0; db < ov->ndb; db++) {
        ov_node_t *n = ov->db[db].head[0];
        while (n != NULL) {
            ov_node_t *next = n->next[0];
            free(n->val);
            free(n);
            n = next;
        }
    }
    free(ov);
    *ovp = NULL;
}

size_t overlay_bytes(const overlay_t *ov)
{
    return ov->bytes;
}

size_t overlay_nodes(const overlay_t *ov)
{
    return ov->nodes;
}

uint64_t overlay_generation(const overlay_t *ov)
{
    return ov->gen;
}

int64_t overlay_count_delta(const overlay_t *ov, unsigned db)
{
    assert(db < ov->ndb);
    return ov->db[db].delta;
}

/* ---- reads ------------------------------------------------------------------------------------
 */

ov_found_t overlay_get(const overlay_t *ov, unsigned db, const void *key, size_t klen,
                       const void **val, size_t *len)
{
    assert(db < ov->ndb);
    ov_node_t *n = idx_find(ov, db, key, klen, key_hash(db, key, klen));
    if (n == NULL)
        return OV_ABSENT;
    if (n->val == NULL)
        return OV_TOMBSTONE;
    *val = n->val;
    *len = n->vlen;
    return OV_VALUE;
}

ov_node_t *overlay_seek(const overlay_t *ov, unsigned db, const void *key, size_t klen)
{
    assert(db < ov->ndb);
    return find(&ov->db[db], key, klen, NULL);
}

ov_node_t *overlay_next(const ov_node_t *n)
{
    return n->next[0];
}

ov_node_t *overlay_last(const overlay_t *ov, unsigned db)
{
    assert(db < ov->ndb);
    const ov_db_t *d = &ov->db[db];
    ov_node_t *const *links = d->head;
    ov_node_t *last = NULL;
    for (int lvl = d->level - 1; lvl >= 0; lvl--)
        while (links[lvl] != NULL) {
            last = links[lvl];
            links = last->next;
        }
    return last;
}

const void *overlay_node_key(const ov_node_t *n, size_t *klen)
{
    *klen = n->klen;
    return node_key(n);
}

const void *overlay_node_val(const ov_node_t *n, size_t *vlen)
{
    *vlen = n->vlen;
    return n->val;
}

/* ---- changes ----------------------------------------------------------------------------------
 */

/* overlay_put (tomb false) and overlay_del (tomb true): everything that can fail is allocated
 * before anything is linked or swapped. */
static int change(overlay_t *ov, unsigned db, const void *key, size_t klen, bool tomb,
                  const void *val, size_t len)
{
    assert(db < ov->ndb);
    assert(klen >= 1 && klen <= OV_MAX_KEY);
    assert(len <= UINT32_MAX);
    ov_node_t **upd[OV_MAX_LEVEL];
    uint32_t hash = key_hash(db, key, klen);
    ov_node_t *n = idx_find(ov, db, key, klen, hash);
    bool created = n == NULL;
    if (created) /* the links a new node is spliced into */
        find(&ov->db[db], key, klen, upd);
    uint8_t *v;
    int rc = undo_reserve(ov);
    if (rc == 0)
        rc = copy_val(ov, tomb, val, len, &v);
    if (rc != 0)
        return rc;
    if (created) {
        n = new_node(ov, db, key, klen, hash);
        if (n == NULL) {
            free_val(ov, v, len);
            return ERR_NOMEM;
        }
        link_node(ov, n, upd);
    }
    ov_undo_t *u = &ov->undo[ov->nundo++];
    u->node = n;
    u->oldlen = n->vlen;
    u->old = swap_val(ov, n, v, len);
    u->created = created;
    u->first = !(n->flags & OV_LOGGED);
    n->flags |= OV_LOGGED;
    return 0;
}

int overlay_put(overlay_t *ov, unsigned db, const void *key, size_t klen, const void *val,
                size_t len)
{
    return change(ov, db, key, klen, false, val, len);
}

int overlay_del(overlay_t *ov, unsigned db, const void *key, size_t klen)
{
    return change(ov, db, key, klen, true, NULL, 0);
}

size_t overlay_mark(const overlay_t *ov)
{
    return ov->nundo;
}

void overlay_rollback(overlay_t *ov, size_t mark)
{
    assert(mark <= ov->nundo);
    while (ov->nundo > mark) {
        ov_undo_t *u = &ov->undo[--ov->nundo];
        ov_node_t *n = u->node;
        if (u->created) {
            /* Its old value is NULL (a new node starts as one); unlinking counts it out. */
            ov_node_t **upd[OV_MAX_LEVEL];
            find(&ov->db[n->db], node_key(n), n->klen, upd);
            unlink_free(ov, n, upd);
            continue;
        }
        size_t len = n->vlen;
        free_val(ov, swap_val(ov, n, u->old, u->oldlen), len);
        if (u->first)
            n->flags &= (uint8_t)~OV_LOGGED;
    }
    undo_trim(ov);
}

bool overlay_dirty(const overlay_t *ov)
{
    return ov->nundo > 0;
}

/* ---- the write-ahead record -------------------------------------------------------------------
 */

size_t overlay_record_size(const overlay_t *ov)
{
    size_t size = 0;
    for (size_t i = 0; i < ov->nundo; i++) {
        const ov_node_t *n = ov->undo[i].node;
        if (ov->undo[i].first)
            size += OV_HDR + n->klen + n->vlen;
    }
    return size;
}

static void put_le(uint8_t *p, uint32_t x, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static uint32_t get_le(const uint8_t *p, int bytes)
{
    uint32_t x = 0;
    for (int i = 0; i < bytes; i++)
        x |= (uint32_t)p[i] << (8 * i);
    return x;
}

void overlay_record_encode(const overlay_t *ov, uint8_t *out)
{
    for (size_t i = 0; i < ov->nundo; i++) {
        const ov_node_t *n = ov->undo[i].node;
        if (!ov->undo[i].first)
            continue;
        out[0] = n->db;
        out[1] = n->val == NULL ? OV_REC_TOMB : 0;
        put_le(out + 2, n->klen, 2);
        put_le(out + 4, n->vlen, 4);
        memcpy(out + OV_HDR, node_key(n), n->klen);
        if (n->vlen)
            memcpy(out + OV_HDR + n->klen, n->val, n->vlen);
        out += OV_HDR + n->klen + n->vlen;
    }
}

void overlay_settle(overlay_t *ov)
{
    for (size_t i = 0; i < ov->nundo; i++) {
        ov_undo_t *u = &ov->undo[i];
        free_val(ov, u->old, u->oldlen);
        u->node->flags &= (uint8_t)~OV_LOGGED;
    }
    ov->nundo = 0;
    undo_trim(ov);
}

/* One entry of a record, or ERR_DATA_LOSS. */
typedef struct ov_entry {
    unsigned db;
    bool tomb;
    const uint8_t *key, *val;
    size_t klen, vlen;
} ov_entry_t;

static int record_entry(const overlay_t *ov, const uint8_t *rec, size_t len, size_t *off,
                        ov_entry_t *e)
{
    if (len - *off < OV_HDR)
        return ERR_DATA_LOSS;
    const uint8_t *p = rec + *off;
    e->db = p[0];
    e->tomb = p[1] & OV_REC_TOMB;
    e->klen = get_le(p + 2, 2);
    e->vlen = get_le(p + 4, 4);
    if (e->db >= ov->ndb || (p[1] & ~OV_REC_TOMB) != 0 || e->klen < 1 || e->klen > OV_MAX_KEY ||
        (e->tomb && e->vlen != 0))
        return ERR_DATA_LOSS;
    size_t rest = len - *off - OV_HDR;
    if (e->klen > rest || e->vlen > rest - e->klen)
        return ERR_DATA_LOSS;
    e->key = p + OV_HDR;
    e->val = e->key + e->klen;
    *off += OV_HDR + e->klen + e->vlen;
    return 0;
}

int overlay_record_apply(overlay_t *ov, const uint8_t *rec, size_t len)
{
    assert(ov->nundo == 0);
    ov_entry_t e;
    size_t off = 0;
    if (len == 0)
        return ERR_DATA_LOSS;
    while (off < len)
        if (record_entry(ov, rec, len, &off, &e) != 0)
            return ERR_DATA_LOSS;
    for (off = 0; off < len;) {
        record_entry(ov, rec, len, &off, &e);
        ov_node_t **upd[OV_MAX_LEVEL];
        ov_node_t *n = find(&ov->db[e.db], e.key, e.klen, upd);
        uint8_t *v;
        if (copy_val(ov, e.tomb, e.val, e.vlen, &v) != 0)
            return ERR_NOMEM;
        if (n == NULL || key_cmp(n, e.key, e.klen) != 0) {
            n = new_node(ov, e.db, e.key, e.klen, key_hash(e.db, e.key, e.klen));
            if (n == NULL) {
                free_val(ov, v, e.vlen);
                return ERR_NOMEM;
            }
            link_node(ov, n, upd);
        }
        size_t oldlen = n->vlen;
        free_val(ov, swap_val(ov, n, v, e.vlen), oldlen);
    }
    return 0;
}

void overlay_remove_run(overlay_t *ov, unsigned db, const void *key, size_t klen, size_t count)
{
    assert(db < ov->ndb);
    assert(ov->nundo == 0);
    /* One descent: once n is unlinked, the links that led to it lead to the next node. */
    ov_node_t **upd[OV_MAX_LEVEL];
    ov_node_t *n = find(&ov->db[db], key, klen, upd);
    for (size_t i = 0; i < count && n != NULL; i++) {
        ov_node_t *next = n->next[0];
        unlink_free(ov, n, upd);
        n = next;
    }
}

void overlay_remove(overlay_t *ov, unsigned db, const void *key, size_t klen)
{
    assert(db < ov->ndb);
    assert(ov->nundo == 0);
    ov_node_t **upd[OV_MAX_LEVEL];
    ov_node_t *n = find(&ov->db[db], key, klen, upd);
    if (n != NULL && key_cmp(n, key, klen) == 0)
        unlink_free(ov, n, upd);
}
