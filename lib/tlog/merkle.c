#include "merkle.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Entries up to this size are hashed from a stack copy with the one-shot SHA256(); larger ones
 * stream through an EVP context (never allocated on the common path). */
#define LEAF_STACK 1024

void tlog_leaf_hash(const void *entry, size_t len, tlog_hash_t *out)
{
    if (len < LEAF_STACK) {
        uint8_t tmp[LEAF_STACK];
        tmp[0] = 0x00;
        if (len > 0)
            memcpy(tmp + 1, entry, len);
        SHA256(tmp, len + 1, out->b);
        return;
    }
    static const uint8_t zero = 0x00;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned n = 0;
    if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(c, &zero, 1) != 1 || EVP_DigestUpdate(c, entry, len) != 1 ||
        EVP_DigestFinal_ex(c, out->b, &n) != 1)
        memset(out->b, 0, sizeof out->b); /* only out of memory; a zero hash verifies nothing */
    EVP_MD_CTX_free(c);
}

void tlog_node_hash(const tlog_hash_t *l, const tlog_hash_t *r, tlog_hash_t *out)
{
    uint8_t tmp[1 + 2 * TLOG_HASH_SIZE];
    tmp[0] = 0x01;
    memcpy(tmp + 1, l->b, TLOG_HASH_SIZE);
    memcpy(tmp + 1 + TLOG_HASH_SIZE, r->b, TLOG_HASH_SIZE);
    SHA256(tmp, sizeof tmp, out->b);
}

void tlog_empty_root(tlog_hash_t *out)
{
    SHA256((const uint8_t *)"", 0, out->b);
}

static bool hash_eq(const tlog_hash_t *a, const tlog_hash_t *b)
{
    return memcmp(a->b, b->b, TLOG_HASH_SIZE) == 0;
}

void tlog_frontier_init(tlog_frontier_t *f)
{
    memset(f, 0, sizeof *f);
}

int tlog_frontier_load(tlog_frontier_t *f, uint64_t size, tlog_read_fn read, void *ctx)
{
    tlog_frontier_init(f);
    for (unsigned l = 0; l < 64; l++) {
        if (!(size >> l & 1))
            continue;
        int rc = read(ctx, l, (size >> l) - 1, &f->node[l]);
        if (rc != 0) {
            tlog_frontier_init(f);
            return rc;
        }
    }
    f->size = size;
    return 0;
}

int tlog_frontier_append(tlog_frontier_t *f, const tlog_hash_t *leaf, tlog_write_fn write,
                         void *ctx)
{
    if (f->size == UINT64_MAX)
        return ERR_LIMIT;
    tlog_hash_t h = *leaf;
    int rc = write(ctx, 0, f->size, &h);
    if (rc != 0)
        return rc;
    unsigned l = 0;
    /* Every set low bit of size is a complete subtree the new leaf's subtree pairs with. */
    while (f->size >> l & 1) {
        tlog_node_hash(&f->node[l], &h, &h);
        rc = write(ctx, l + 1, f->size >> (l + 1), &h);
        if (rc != 0)
            return rc;
        l++;
    }
    f->node[l] = h;
    f->size++;
    return 0;
}

void tlog_frontier_root(const tlog_frontier_t *f, tlog_hash_t *root)
{
    if (f->size == 0) {
        tlog_empty_root(root);
        return;
    }
    bool have = false;
    /* Fold from the smallest (rightmost) subtree towards the largest. */
    for (unsigned l = 0; l < 64; l++) {
        if (!(f->size >> l & 1))
            continue;
        if (!have) {
            *root = f->node[l];
            have = true;
        } else {
            tlog_node_hash(&f->node[l], root, root);
        }
    }
}

/*
 * MTH(D[lo:hi]) for a range that RFC 9162's recursion produces (lo is a multiple of a power of
 * two >= hi - lo): the complete subtrees of hi - lo's bits, largest first, folded from the
 * right. popcount(hi - lo) reads.
 */
static int range_hash(uint64_t lo, uint64_t hi, tlog_read_fn read, void *ctx, tlog_hash_t *out)
{
    uint64_t n = hi - lo;
    bool have = false;
    for (unsigned l = 0; l < 64; l++) {
        if (!(n >> l & 1))
            continue;
        /* The subtree of 2^l leaves for bit l ends where the smaller ones start. */
        uint64_t end = hi - (n & ((UINT64_C(1) << l) - 1));
        tlog_hash_t h;
        int rc = read(ctx, l, (end >> l) - 1, &h);
        if (rc != 0)
            return rc;
        if (!have) {
            *out = h;
            have = true;
        } else {
            tlog_node_hash(&h, out, out);
        }
    }
    return 0;
}

int tlog_tree_hash(uint64_t size, tlog_read_fn read, void *ctx, tlog_hash_t *root)
{
    if (size == 0) {
        tlog_empty_root(root);
        return 0;
    }
    return range_hash(0, size, read, ctx, root);
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;
    while (k < n - k) /* k * 2 < n without overflow near 2^64 */
        k <<= 1;
    return k;
}

int tlog_prove_inclusion(uint64_t index, uint64_t size, tlog_read_fn read, void *ctx,
                         tlog_hash_t proof[TLOG_MAX_PROOF], size_t *n)
{
    *n = 0;
    if (index >= size)
        return ERR_INVALID;
    /* Walk down from the root; each step's sibling goes in front of the deeper ones, so the
     * proof is collected from the top and reversed at the end. */
    tlog_hash_t tmp[TLOG_MAX_PROOF];
    size_t k = 0;
    uint64_t lo = 0, hi = size;
    while (hi - lo > 1) {
        uint64_t mid = lo + split_point(hi - lo);
        int rc;
        if (index < mid) {
            rc = range_hash(mid, hi, read, ctx, &tmp[k]);
            hi = mid;
        } else {
            rc = range_hash(lo, mid, read, ctx, &tmp[k]);
            lo = mid;
        }
        if (rc != 0)
            return rc;
        k++;
    }
    for (size_t i = 0; i < k; i++)
        proof[i] = tmp[k - 1 - i];
    *n = k;
    return 0;
}

int tlog_prove_consistency(uint64_t size1, uint64_t size2, tlog_read_fn read, void *ctx,
                           tlog_hash_t proof[TLOG_MAX_PROOF], size_t *n)
{
    *n = 0;
    if (size1 == 0 || size1 > size2)
        return ERR_INVALID;
    if (size1 == size2)
        return 0;
    /* SUBPROOF(m, D[lo:hi], b), unrolled: collected top-down, reversed at the end. */
    tlog_hash_t tmp[TLOG_MAX_PROOF + 1];
    size_t k = 0;
    uint64_t lo = 0, hi = size2, m = size1;
    bool whole = true; /* b: the subtree is the old tree itself */
    int rc;
    for (;;) {
        uint64_t len = hi - lo;
        if (m == len) {
            if (!whole) {
                rc = range_hash(lo, hi, read, ctx, &tmp[k]);
                if (rc != 0)
                    return rc;
                k++;
            }
            break;
        }
        uint64_t half = split_point(len);
        if (m <= half) {
            rc = range_hash(lo + half, hi, read, ctx, &tmp[k]);
            hi = lo + half;
        } else {
            rc = range_hash(lo, lo + half, read, ctx, &tmp[k]);
            lo += half;
            m -= half;
            whole = false;
        }
        if (rc != 0)
            return rc;
        k++;
    }
    if (k > TLOG_MAX_PROOF)
        return ERR_LIMIT; /* ceil(log2(size2)) + 1 hashes: only above 2^63 leaves */
    for (size_t i = 0; i < k; i++)
        proof[i] = tmp[k - 1 - i];
    *n = k;
    return 0;
}

int tlog_verify_inclusion(uint64_t index, uint64_t size, const tlog_hash_t *leaf,
                          const tlog_hash_t *proof, size_t n, const tlog_hash_t *root)
{
    if (index >= size || n > TLOG_MAX_PROOF)
        return ERR_INVALID;
    uint64_t fn = index, sn = size - 1;
    tlog_hash_t r = *leaf;
    for (size_t i = 0; i < n; i++) {
        if (sn == 0)
            return ERR_INVALID;
        if ((fn & 1) || fn == sn) {
            tlog_node_hash(&proof[i], &r, &r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            tlog_node_hash(&r, &proof[i], &r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && hash_eq(&r, root) ? 0 : ERR_INVALID;
}

int tlog_verify_consistency(uint64_t size1, uint64_t size2, const tlog_hash_t *root1,
                            const tlog_hash_t *root2, const tlog_hash_t *proof, size_t n)
{
    if (size1 == 0 || size1 > size2 || n > TLOG_MAX_PROOF)
        return ERR_INVALID;
    if (size1 == size2)
        return n == 0 && hash_eq(root1, root2) ? 0 : ERR_INVALID;
    if (n == 0)
        return ERR_INVALID;
    /* When size1 is a power of two the old root is the proof's implicit first element. */
    bool implicit = (size1 & (size1 - 1)) == 0;
    size_t i = 0;
    const tlog_hash_t *first = implicit ? root1 : &proof[i++];
    uint64_t fn = size1 - 1, sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    tlog_hash_t fr = *first, sr = *first;
    for (; i < n; i++) {
        if (sn == 0)
            return ERR_INVALID;
        if ((fn & 1) || fn == sn) {
            tlog_node_hash(&proof[i], &fr, &fr);
            tlog_node_hash(&proof[i], &sr, &sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            tlog_node_hash(&sr, &proof[i], &sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && hash_eq(&fr, root1) && hash_eq(&sr, root2) ? 0 : ERR_INVALID;
}

int tlog_tile_path(char *out, size_t cap, int level, uint64_t index, unsigned width)
{
    if (level < -1 || level > 7 || width < 1 || width > TLOG_TILE_WIDTH)
        return ERR_INVALID;
    char p[TLOG_TILE_PATH_MAX];
    size_t len = 0;
    int w = level < 0 ? snprintf(p, sizeof p, "tile/entries/")
                      : snprintf(p, sizeof p, "tile/%d/", level);
    len = (size_t)w;
    /* 3-digit groups, most significant first; uint64 has at most 7 of them. */
    unsigned groups[7];
    int ng = 0;
    uint64_t v = index;
    do {
        groups[ng++] = (unsigned)(v % 1000);
        v /= 1000;
    } while (v > 0);
    for (int g = ng - 1; g >= 0; g--) {
        w = snprintf(p + len, sizeof p - len, g > 0 ? "x%03u/" : "%03u", groups[g]);
        len += (size_t)w;
    }
    if (width < TLOG_TILE_WIDTH) {
        w = snprintf(p + len, sizeof p - len, ".p/%u", width);
        len += (size_t)w;
    }
    if (len + 1 > cap)
        return ERR_LIMIT;
    memcpy(out, p, len + 1);
    return 0;
}

int tlog_bundle_append(buf_t *b, const void *entry, size_t len)
{
    if (len > 0xffff)
        return ERR_INVALID;
    size_t old = b->len;
    uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};
    int rc = buf_append(b, hdr, 2);
    if (rc == 0)
        rc = buf_append(b, entry, len);
    if (rc != 0)
        buf_truncate(b, old);
    return rc;
}

int tlog_bundle_next(const uint8_t *b, size_t len, size_t *pos, const uint8_t **entry, size_t *elen)
{
    if (*pos >= len)
        return 0;
    if (len - *pos < 2)
        return ERR_INVALID;
    size_t n = (size_t)b[*pos] << 8 | b[*pos + 1];
    if (len - *pos - 2 < n)
        return ERR_INVALID;
    *entry = b + *pos + 2;
    *elen = n;
    *pos += 2 + n;
    return 1;
}
