/*
 * Unit tests for merkle: every transparency-dev/merkle vector (happy paths verify, every
 * mangled proof is refused); trees of 1..600 leaves built by appending, against a naive
 * recursive MTH; every generated proof verifies, a flipped bit does not, and proofs read
 * O(log n) stored hashes; tile paths and entry bundles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec.h"
#include "merkle.h"

/* ---- the vectors ---- */

/*
 * Decodes a base64 hash of a vector. Leaf and proof hashes that are not 32 bytes cannot be a
 * tlog_hash_t: the parsers in front of the verifier (tlog_proof_parse, the checkpoint parser)
 * refuse them, so such a vector counts as refused. Roots of another length (the `additional`
 * cases' "don't care" strings) are only ever compared with each other: they are mapped to
 * SHA-256("not a hash" || bytes), equal exactly when the strings are.
 */
static int vec_hash(const json_t *v, bool root, tlog_hash_t *out)
{
    const char *s = json_string_value(v);
    assert_non_null(s);
    uint8_t raw[256];
    size_t n = 0;
    assert_int_equal(codec_base64_decode(s, strlen(s), raw, sizeof raw, &n), 0);
    if (n == TLOG_HASH_SIZE) {
        memcpy(out->b, raw, n);
        return 0;
    }
    if (!root)
        return -1;
    uint8_t tmp[256 + 10];
    memcpy(tmp, "not a hash", 10);
    memcpy(tmp + 10, raw, n);
    SHA256(tmp, n + 10, out->b);
    return 0;
}

static int vec_proof(const json_t *arr, tlog_hash_t *proof, size_t *n)
{
    *n = 0;
    if (json_is_null(arr))
        return 0;
    size_t i;
    json_t *h;
    json_array_foreach(arr, i, h)
    {
        if (i >= TLOG_MAX_PROOF)
            return -1;
        if (vec_hash(h, false, &proof[i]) != 0)
            return -1;
        *n = i + 1;
    }
    return 0;
}

/* The vectors' integers, some of them 2^64 - 1 (jansson reads them as reals: exact below 2^53,
 * which every happy path is; the mangled huge ones only need to stay huge). */
static uint64_t vec_uint(const json_t *j, const char *key)
{
    double v = json_number_value(json_object_get(j, key));
    if (v >= 18446744073709551615.0)
        return UINT64_MAX;
    assert_true(v >= 0);
    return (uint64_t)v;
}

typedef struct vec_count {
    int happy, refused;
} vec_count_t;

static void check_inclusion(const char *path, json_t *j, vec_count_t *c)
{
    bool want_err = json_is_true(json_object_get(j, "wantErr"));
    uint64_t idx = vec_uint(j, "leafIdx");
    uint64_t size = vec_uint(j, "treeSize");
    tlog_hash_t root, leaf, proof[TLOG_MAX_PROOF];
    size_t n;
    int rc = -1;
    if (vec_hash(json_object_get(j, "root"), true, &root) == 0 &&
        vec_hash(json_object_get(j, "leafHash"), false, &leaf) == 0 &&
        vec_proof(json_object_get(j, "proof"), proof, &n) == 0)
        rc = tlog_verify_inclusion(idx, size, &leaf, proof, n, &root);
    if (want_err && rc == 0)
        fail_msg("%s: a mangled inclusion proof verified", path);
    if (!want_err && rc != 0)
        fail_msg("%s: a good inclusion proof was refused (%d)", path, rc);
    if (want_err)
        c->refused++;
    else
        c->happy++;
}

static void check_consistency(const char *path, json_t *j, vec_count_t *c)
{
    bool want_err = json_is_true(json_object_get(j, "wantErr"));
    uint64_t s1 = vec_uint(j, "size1");
    uint64_t s2 = vec_uint(j, "size2");
    tlog_hash_t r1, r2, proof[TLOG_MAX_PROOF];
    size_t n;
    int rc = -1;
    if (vec_hash(json_object_get(j, "root1"), true, &r1) == 0 &&
        vec_hash(json_object_get(j, "root2"), true, &r2) == 0 &&
        vec_proof(json_object_get(j, "proof"), proof, &n) == 0)
        rc = tlog_verify_consistency(s1, s2, &r1, &r2, proof, n);
    if (want_err && rc == 0)
        fail_msg("%s: a mangled consistency proof verified", path);
    if (!want_err && rc != 0)
        fail_msg("%s: a good consistency proof was refused (%d)", path, rc);
    if (want_err)
        c->refused++;
    else
        c->happy++;
}

static void walk(const char *dir, bool inclusion, vec_count_t *c)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            walk(path, inclusion, c);
            continue;
        }
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        json_error_t je;
        json_t *j = json_load_file(path, JSON_DECODE_INT_AS_REAL, &je);
        if (j == NULL)
            fail_msg("%s: %s", path, je.text);
        if (inclusion)
            check_inclusion(path, j, c);
        else
            check_consistency(path, j, c);
        json_decref(j);
    }
    closedir(d);
}

static void test_vectors_inclusion(void **state)
{
    (void)state;
    vec_count_t c = {0, 0};
    walk(MASTERY_VECTORS "/merkle/inclusion", true, &c);
    /* The folder as copied: 6 happy paths, 92 mangled proofs. */
    assert_int_equal(c.happy, 6);
    assert_int_equal(c.refused, 92);
}

static void test_vectors_consistency(void **state)
{
    (void)state;
    vec_count_t c = {0, 0};
    walk(MASTERY_VECTORS "/merkle/consistency", false, &c);
    assert_int_equal(c.happy, 6);
    assert_int_equal(c.refused, 92);
}

/* ---- an in-memory store of complete subtrees ---- */

#define MAXLEAVES 4096

typedef struct mem {
    tlog_hash_t *lvl[64];
    uint8_t *have[64];
    uint64_t reads, writes;
} mem_t;

static void mem_init(mem_t *m)
{
    memset(m, 0, sizeof *m);
    for (unsigned l = 0; l < 13; l++) {
        m->lvl[l] = calloc((MAXLEAVES >> l) + 1, sizeof(tlog_hash_t));
        m->have[l] = calloc((MAXLEAVES >> l) + 1, 1);
        assert_non_null(m->lvl[l]);
        assert_non_null(m->have[l]);
    }
}

static void mem_free(mem_t *m)
{
    for (unsigned l = 0; l < 64; l++) {
        free(m->lvl[l]);
        free(m->have[l]);
    }
}

static int mem_read(void *ctx, unsigned level, uint64_t index, tlog_hash_t *out)
{
    mem_t *m = ctx;
    m->reads++;
    if (level >= 13 || index > (uint64_t)(MAXLEAVES >> level) || !m->have[level][index])
        return ERR_NOT_FOUND;
    *out = m->lvl[level][index];
    return 0;
}

static int mem_write(void *ctx, unsigned level, uint64_t index, const tlog_hash_t *h)
{
    mem_t *m = ctx;
    m->writes++;
    assert_true(level < 13 && index <= (uint64_t)(MAXLEAVES >> level));
    /* A stored hash is never rewritten with another value. */
    if (m->have[level][index])
        assert_memory_equal(m->lvl[level][index].b, h->b, TLOG_HASH_SIZE);
    m->lvl[level][index] = *h;
    m->have[level][index] = 1;
    return 0;
}

static int fail_write(void *ctx, unsigned level, uint64_t index, const tlog_hash_t *h)
{
    (void)ctx, (void)h;
    return level == 1 && index == 1 ? ERR_UNAVAILABLE : 0;
}

/* The naive MTH straight from RFC 9162 2.1.1. */
static void naive_mth(const tlog_hash_t *leaves, uint64_t n, tlog_hash_t *out)
{
    if (n == 0) {
        tlog_empty_root(out);
        return;
    }
    if (n == 1) {
        *out = leaves[0];
        return;
    }
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    tlog_hash_t l, r;
    naive_mth(leaves, k, &l);
    naive_mth(leaves + k, n - k, &r);
    tlog_node_hash(&l, &r, out);
}

static void make_leaves(tlog_hash_t *leaves, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char entry[32];
        int len = snprintf(entry, sizeof entry, "entry %zu", i);
        tlog_leaf_hash(entry, (size_t)len, &leaves[i]);
    }
}

static void test_known_hashes(void **state)
{
    (void)state;
    tlog_hash_t h;
    char hex[65];
    tlog_empty_root(&h);
    codec_hex_encode(h.b, 32, hex, sizeof hex, NULL);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* RFC 6962's test tree: the hash of the empty leaf. */
    tlog_leaf_hash(NULL, 0, &h);
    codec_hex_encode(h.b, 32, hex, sizeof hex, NULL);
    assert_string_equal(hex, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    /* A leaf above the stack copy's size hashes the same as SHA-256(0x00 || entry). */
    static uint8_t big[5000], pre[5001];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    pre[0] = 0;
    memcpy(pre + 1, big, sizeof big);
    uint8_t want[32];
    SHA256(pre, sizeof pre, want);
    tlog_leaf_hash(big, sizeof big, &h);
    assert_memory_equal(h.b, want, 32);
}

static void flip(tlog_hash_t *h, unsigned bit)
{
    h->b[bit / 8 % TLOG_HASH_SIZE] ^= (uint8_t)(1u << bit % 8);
}

static void test_trees_and_inclusion(void **state)
{
    (void)state;
    enum { N = 600 };
    static tlog_hash_t leaves[N];
    make_leaves(leaves, N);
    mem_t m;
    mem_init(&m);
    tlog_frontier_t f;
    tlog_frontier_init(&f);
    uint64_t proofs = 0;
    for (uint64_t size = 1; size <= N; size++) {
        uint64_t w0 = m.writes;
        assert_int_equal(tlog_frontier_append(&f, &leaves[size - 1], mem_write, &m), 0);
        assert_int_equal(f.size, size);
        /* One leaf plus one write per completed parent: the trailing ones of size - 1. */
        assert_int_equal(m.writes - w0, 1 + (uint64_t)__builtin_ctzll(size));
        tlog_hash_t want, got, stored;
        naive_mth(leaves, size, &want);
        tlog_frontier_root(&f, &got);
        assert_memory_equal(got.b, want.b, 32);
        m.reads = 0;
        assert_int_equal(tlog_tree_hash(size, mem_read, &m, &stored), 0);
        assert_memory_equal(stored.b, want.b, 32);
        assert_int_equal(m.reads, (uint64_t)__builtin_popcountll(size));
        tlog_frontier_t g;
        assert_int_equal(tlog_frontier_load(&g, size, mem_read, &m), 0);
        tlog_frontier_root(&g, &got);
        assert_memory_equal(got.b, want.b, 32);

        /* Every index for small trees, a spread of them above. */
        uint64_t step = size <= 70 ? 1 : size / 23 + 1;
        for (uint64_t i = 0; i < size;
             i = (i + step < size || i == size - 1) ? i + step : size - 1) {
            tlog_hash_t proof[TLOG_MAX_PROOF];
            size_t n;
            m.reads = 0;
            assert_int_equal(tlog_prove_inclusion(i, size, mem_read, &m, proof, &n), 0);
            assert_true(m.reads <= 2 * 64);
            assert_true(m.reads <= 2 * (64 - (uint64_t)__builtin_clzll(size)) + 1);
            assert_int_equal(tlog_verify_inclusion(i, size, &leaves[i], proof, n, &want), 0);
            proofs++;
            /* Any flipped bit, in the leaf, the root or any proof hash, is refused. */
            tlog_hash_t bad = leaves[i];
            flip(&bad, (unsigned)(i * 13 + size));
            assert_int_equal(tlog_verify_inclusion(i, size, &bad, proof, n, &want), ERR_INVALID);
            bad = want;
            flip(&bad, (unsigned)(i * 5));
            assert_int_equal(tlog_verify_inclusion(i, size, &leaves[i], proof, n, &bad),
                             ERR_INVALID);
            for (size_t k = 0; k < n; k++) {
                tlog_hash_t save = proof[k];
                flip(&proof[k], (unsigned)(k * 31 + i));
                assert_int_equal(tlog_verify_inclusion(i, size, &leaves[i], proof, n, &want),
                                 ERR_INVALID);
                proof[k] = save;
            }
            /* The neighbour's index, or a proof one hash short or long, is refused. */
            if ((i ^ 1) < size)
                assert_int_equal(tlog_verify_inclusion(i ^ 1, size, &leaves[i], proof, n, &want),
                                 ERR_INVALID);
            proof[n] = leaves[0];
            assert_int_equal(tlog_verify_inclusion(i, size, &leaves[i], proof, n + 1, &want),
                             ERR_INVALID);
            if (n > 0)
                assert_int_equal(tlog_verify_inclusion(i, size, &leaves[i], proof, n - 1, &want),
                                 ERR_INVALID);
        }
    }
    assert_true(proofs > 5000);
    assert_int_equal(tlog_prove_inclusion(N, N, mem_read, &m, NULL, &(size_t){0}), ERR_INVALID);
    /* A failed write leaves the frontier as it was. */
    tlog_frontier_t g = f;
    tlog_frontier_init(&g);
    tlog_hash_t leaf = leaves[0];
    for (int k = 0; k < 3; k++)
        assert_int_equal(tlog_frontier_append(&g, &leaf, fail_write, NULL), 0);
    tlog_frontier_t before = g;
    assert_int_equal(tlog_frontier_append(&g, &leaf, fail_write, NULL), ERR_UNAVAILABLE);
    assert_memory_equal(&g, &before, sizeof g);
    /* A missing stored hash is the read callback's error. */
    mem_t empty;
    mem_init(&empty);
    tlog_hash_t r;
    assert_int_equal(tlog_tree_hash(5, mem_read, &empty, &r), ERR_NOT_FOUND);
    assert_int_equal(tlog_frontier_load(&g, 5, mem_read, &empty), ERR_NOT_FOUND);
    assert_int_equal(g.size, 0);
    mem_free(&empty);
    mem_free(&m);
}

static void test_consistency(void **state)
{
    (void)state;
    enum { N = 600 };
    static tlog_hash_t leaves[N], roots[N + 1];
    make_leaves(leaves, N);
    mem_t m;
    mem_init(&m);
    tlog_frontier_t f;
    tlog_frontier_init(&f);
    for (uint64_t s = 1; s <= N; s++) {
        assert_int_equal(tlog_frontier_append(&f, &leaves[s - 1], mem_write, &m), 0);
        tlog_frontier_root(&f, &roots[s]);
    }
    uint64_t checked = 0;
    for (uint64_t s2 = 1; s2 <= N; s2++) {
        for (uint64_t s1 = 1; s1 <= s2; s1++) {
            /* All pairs up to 130, a spread above. */
            if (s2 > 130 && (s1 * 7 + s2) % 41 != 0 && s1 != s2 && s1 != 1 && s1 != s2 - 1)
                continue;
            tlog_hash_t proof[TLOG_MAX_PROOF];
            size_t n;
            m.reads = 0;
            assert_int_equal(tlog_prove_consistency(s1, s2, mem_read, &m, proof, &n), 0);
            assert_true(m.reads <= 2 * 64);
            assert_true(m.reads <= 2 * (64 - (uint64_t)__builtin_clzll(s2)) + 1);
            assert_int_equal(tlog_verify_consistency(s1, s2, &roots[s1], &roots[s2], proof, n), 0);
            checked++;
            if (s1 == s2) {
                assert_int_equal(n, 0);
                continue;
            }
            for (size_t k = 0; k < n; k++) {
                tlog_hash_t save = proof[k];
                flip(&proof[k], (unsigned)(k * 29 + s1));
                assert_int_equal(tlog_verify_consistency(s1, s2, &roots[s1], &roots[s2], proof, n),
                                 ERR_INVALID);
                proof[k] = save;
            }
            tlog_hash_t bad = roots[s1];
            flip(&bad, (unsigned)s2);
            assert_int_equal(tlog_verify_consistency(s1, s2, &bad, &roots[s2], proof, n),
                             ERR_INVALID);
            bad = roots[s2];
            flip(&bad, (unsigned)s1);
            assert_int_equal(tlog_verify_consistency(s1, s2, &roots[s1], &bad, proof, n),
                             ERR_INVALID);
            assert_int_equal(tlog_verify_consistency(s1, s2, &roots[s1], &roots[s2], proof, n - 1),
                             ERR_INVALID);
            /* A proof for other sizes does not carry over. */
            if (s2 < N)
                assert_int_equal(
                    tlog_verify_consistency(s1, s2 + 1, &roots[s1], &roots[s2 + 1], proof, n),
                    ERR_INVALID);
        }
    }
    assert_true(checked > 9000);
    tlog_hash_t proof[TLOG_MAX_PROOF];
    size_t n;
    assert_int_equal(tlog_prove_consistency(0, 5, mem_read, &m, proof, &n), ERR_INVALID);
    assert_int_equal(tlog_prove_consistency(6, 5, mem_read, &m, proof, &n), ERR_INVALID);
    mem_free(&m);
}

/* A big sparse tree: the stored hashes a proof asks for are computed on demand from a formula,
 * so the read count of proofs in trees near 2^63 leaves shows the O(log n) bound. */
static int formula_read(void *ctx, unsigned level, uint64_t index, tlog_hash_t *out)
{
    uint64_t *reads = ctx;
    (*reads)++;
    memset(out->b, 0, sizeof out->b);
    memcpy(out->b, &index, sizeof index);
    out->b[31] = (uint8_t)level;
    return 0;
}

static void test_big_tree_read_bound(void **state)
{
    (void)state;
    const uint64_t sizes[] = {(UINT64_C(1) << 62) + 7, UINT64_C(1) << 63,
                              (UINT64_C(1) << 63) + 12345, UINT64_MAX - 1, UINT64_MAX};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint64_t size = sizes[s], reads = 0;
        tlog_hash_t proof[TLOG_MAX_PROOF];
        size_t n;
        const uint64_t idx[] = {0, size / 3, size - 2, size - 1};
        for (size_t i = 0; i < 4; i++) {
            reads = 0;
            assert_int_equal(tlog_prove_inclusion(idx[i], size, formula_read, &reads, proof, &n),
                             0);
            assert_true(reads <= 2 * 64);
            assert_true(n <= TLOG_MAX_PROOF);
            reads = 0;
            int rc = tlog_prove_consistency(idx[i] + 1, size, formula_read, &reads, proof, &n);
            /* Above 2^63 leaves a consistency proof may need one hash more than the array. */
            assert_true(rc == 0 || (rc == ERR_LIMIT && size > (UINT64_C(1) << 63)));
            assert_true(reads <= 2 * 64 + 1);
            assert_true(n <= TLOG_MAX_PROOF);
        }
    }
}

static void test_tile_paths(void **state)
{
    (void)state;
    char p[TLOG_TILE_PATH_MAX];
    assert_int_equal(tlog_tile_path(p, sizeof p, 0, 1234067, 256), 0);
    assert_string_equal(p, "tile/0/x001/x234/067");
    assert_int_equal(tlog_tile_path(p, sizeof p, 1, 0, 17), 0);
    assert_string_equal(p, "tile/1/000.p/17");
    assert_int_equal(tlog_tile_path(p, sizeof p, -1, 273, 112), 0);
    assert_string_equal(p, "tile/entries/273.p/112");
    assert_int_equal(tlog_tile_path(p, sizeof p, 2, 1000, 256), 0);
    assert_string_equal(p, "tile/2/x001/000");
    assert_int_equal(tlog_tile_path(p, sizeof p, -1, UINT64_MAX, 255), 0);
    assert_string_equal(p, "tile/entries/x018/x446/x744/x073/x709/x551/615.p/255");
    assert_int_equal(tlog_tile_path(p, sizeof p, 0, 5, 0), ERR_INVALID);
    assert_int_equal(tlog_tile_path(p, sizeof p, 0, 5, 257), ERR_INVALID);
    assert_int_equal(tlog_tile_path(p, sizeof p, 8, 5, 1), ERR_INVALID);
    assert_int_equal(tlog_tile_path(p, sizeof p, -2, 5, 1), ERR_INVALID);
    assert_int_equal(tlog_tile_path(p, 10, 0, 5, 1), ERR_LIMIT);
    assert_int_equal(tlog_tile_path(p, 11, 0, 1, 256), 0); /* "tile/0/001" and the NUL */
    assert_string_equal(p, "tile/0/001");
}

static void test_bundles(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 1 << 20);
    static uint8_t big[65536];
    memset(big, 0xab, sizeof big);
    assert_int_equal(tlog_bundle_append(&b, "abc", 3), 0);
    assert_int_equal(tlog_bundle_append(&b, NULL, 0), 0);
    assert_int_equal(tlog_bundle_append(&b, big, 65535), 0);
    assert_int_equal(tlog_bundle_append(&b, big, 65536), ERR_INVALID);
    assert_int_equal(b.len, 2 + 3 + 2 + 2 + 65535);
    assert_memory_equal(b.data,
                        "\x00\x03"
                        "abc\x00\x00\xff\xff",
                        9);
    size_t pos = 0, n;
    const uint8_t *e;
    assert_int_equal(tlog_bundle_next((uint8_t *)b.data, b.len, &pos, &e, &n), 1);
    assert_int_equal(n, 3);
    assert_memory_equal(e, "abc", 3);
    assert_int_equal(tlog_bundle_next((uint8_t *)b.data, b.len, &pos, &e, &n), 1);
    assert_int_equal(n, 0);
    assert_int_equal(tlog_bundle_next((uint8_t *)b.data, b.len, &pos, &e, &n), 1);
    assert_int_equal(n, 65535);
    assert_int_equal(tlog_bundle_next((uint8_t *)b.data, b.len, &pos, &e, &n), 0);
    /* Every truncation that cuts an entry is refused. */
    for (size_t cut = 1; cut < 9; cut++) {
        pos = 0;
        int rc;
        while ((rc = tlog_bundle_next((uint8_t *)b.data, cut, &pos, &e, &n)) == 1)
            ;
        assert_int_equal(rc, cut == 5 || cut == 7 ? 0 : ERR_INVALID);
    }
    /* A full buffer leaves it unchanged. */
    buf_t small;
    buf_init(&small, 4);
    assert_int_equal(tlog_bundle_append(&small, "abcd", 4), ERR_LIMIT);
    assert_int_equal(small.len, 0);
    buf_free(&small);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_inclusion), cmocka_unit_test(test_vectors_consistency),
        cmocka_unit_test(test_known_hashes),      cmocka_unit_test(test_trees_and_inclusion),
        cmocka_unit_test(test_consistency),       cmocka_unit_test(test_big_tree_read_bound),
        cmocka_unit_test(test_tile_paths),        cmocka_unit_test(test_bundles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
