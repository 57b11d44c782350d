/*
 * Unit tests for proof: tlog-proof texts for a signed tree of 300 entries, formatted, parsed
 * back and verified; every way one can be wrong (the entry, the origin, the key, a hash, the
 * index, the text) refused with a detail naming it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "proof.h"

#define N 300

static tlog_hash_t store[10][N + 1];
static tlog_hash_t leaves[N];

static int rd(void *ctx, unsigned level, uint64_t index, tlog_hash_t *out)
{
    (void)ctx;
    if (level >= 10 || index > N)
        return ERR_NOT_FOUND;
    *out = store[level][index];
    return 0;
}

static int wr(void *ctx, unsigned level, uint64_t index, const tlog_hash_t *h)
{
    (void)ctx;
    assert_true(level < 10 && index <= N);
    store[level][index] = *h;
    return 0;
}

static const char *origin = "school.example/masteryd";
static keys_t *key;
static tlog_verifier_t verifier;
static buf_t note;

/* Builds the tree and a signed checkpoint of it, as the daemon would. */
static int setup(void **state)
{
    (void)state;
    tlog_frontier_t f;
    tlog_frontier_init(&f);
    for (int i = 0; i < N; i++) {
        char e[32];
        int n = snprintf(e, sizeof e, "entry %d", i);
        tlog_leaf_hash(e, (size_t)n, &leaves[i]);
        if (tlog_frontier_append(&f, &leaves[i], wr, NULL) != 0)
            return -1;
    }
    tlog_hash_t root;
    tlog_frontier_root(&f, &root);
    err_detail_t d;
    if (keys_generate(KEYS_ED25519, &key, &d) != 0)
        return -1;
    uint8_t pub[32], sig[64];
    keys_public_raw(key, pub);
    buf_init(&note, 4096);
    tlog_checkpoint_format(&note, origin, N, &root);
    size_t sl;
    if (keys_sign(key, (uint8_t *)note.data, note.len, sig, sizeof sig, &sl, &d) != 0)
        return -1;
    buf_append_byte(&note, '\n');
    tlog_note_signature_line(&note, origin, tlog_key_hash(origin, pub), sig);
    memset(&verifier, 0, sizeof verifier);
    strcpy(verifier.name, origin);
    memcpy(verifier.pub, pub, 32);
    verifier.key_hash = tlog_key_hash(origin, pub);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    keys_destroy(&key);
    buf_free(&note);
    return 0;
}

static void make_proof(uint64_t idx, buf_t *out, const uint8_t *extra, size_t extra_len)
{
    tlog_hash_t h[TLOG_MAX_PROOF];
    size_t n;
    assert_int_equal(tlog_prove_inclusion(idx, N, rd, NULL, h, &n), 0);
    buf_init(out, 1 << 16);
    assert_int_equal(tlog_proof_format(out, idx, extra, extra_len, h, n, note.data, note.len), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    for (uint64_t idx = 0; idx < N; idx += 13) {
        buf_t b;
        make_proof(idx, &b, NULL, 0);
        assert_true(strncmp(b.data, "c2sp.org/tlog-proof@v1\nindex ", 29) == 0);
        tlog_proof_t p;
        tlog_checkpoint_t cp;
        err_detail_t d;
        assert_int_equal(
            tlog_proof_verify(b.data, b.len, origin, &verifier, 1, &leaves[idx], &p, &cp, &d), 0);
        assert_int_equal(p.index, idx);
        assert_false(p.has_extra);
        assert_int_equal(cp.size, N);
        assert_int_equal(p.checkpoint_len, note.len);
        assert_memory_equal(p.checkpoint, note.data, note.len);
        /* Re-formatting what was parsed gives the same text. */
        buf_t again;
        buf_init(&again, 1 << 16);
        assert_int_equal(tlog_proof_format(&again, p.index, NULL, 0, p.hashes, p.n, p.checkpoint,
                                           p.checkpoint_len),
                         0);
        assert_int_equal(again.len, b.len);
        assert_memory_equal(again.data, b.data, b.len);
        buf_free(&again);
        /* Another entry's leaf is not at this index. */
        assert_int_equal(tlog_proof_verify(b.data, b.len, origin, &verifier, 1,
                                           &leaves[(idx + 1) % N], &p, &cp, &d),
                         ERR_INVALID);
        assert_string_equal(d.field, "proof.inclusion");
        buf_free(&b);
    }
    /* With extra data. */
    buf_t b;
    const uint8_t extra[] = "age-v1.2.1-darwin-arm64.tar.gz";
    make_proof(7, &b, extra, sizeof extra - 1);
    assert_non_null(strstr(b.data, "\nextra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6\nindex 7\n"));
    tlog_proof_t p;
    err_detail_t d;
    assert_int_equal(tlog_proof_parse(b.data, b.len, &p, &d), 0);
    assert_true(p.has_extra);
    assert_int_equal(p.extra_len, sizeof extra - 1);
    assert_memory_equal(p.extra, extra, p.extra_len);
    buf_free(&b);
}

static void test_refusals(void **state)
{
    (void)state;
    buf_t b;
    make_proof(42, &b, NULL, 0);
    tlog_proof_t p;
    tlog_checkpoint_t cp;
    err_detail_t d;
    /* Another origin. */
    assert_int_equal(tlog_proof_verify(b.data, b.len, "other.example/log", &verifier, 1,
                                       &leaves[42], &p, &cp, &d),
                     ERR_INVALID);
    assert_string_equal(d.field, "proof.origin");
    /* Another key: the checkpoint has no known signature. */
    keys_t *k2 = NULL;
    keys_generate(KEYS_ED25519, &k2, &d);
    tlog_verifier_t v2 = verifier;
    keys_public_raw(k2, v2.pub);
    v2.key_hash = tlog_key_hash(origin, v2.pub);
    assert_int_equal(tlog_proof_verify(b.data, b.len, origin, &v2, 1, &leaves[42], &p, &cp, &d),
                     ERR_INVALID);
    assert_string_equal(d.field, "proof.checkpoint");
    keys_destroy(&k2);
    /* A changed character anywhere in the hashes or the checkpoint is refused. */
    const char *first_hash = strstr(b.data, "index 42\n") + 9;
    for (size_t at = (size_t)(first_hash - b.data); at < b.len; at++) {
        char save = b.data[at];
        if (save == '\n' || save == '=')
            continue;
        b.data[at] = save == 'A' ? 'B' : 'A';
        if (tlog_proof_verify(b.data, b.len, origin, &verifier, 1, &leaves[42], &p, &cp, &d) == 0)
            fail_msg("byte %zu changed was accepted", at);
        b.data[at] = save;
    }
    /* Another index. */
    char *s = malloc(b.len + 8);
    const char *ix = strstr(b.data, "index 42");
    size_t pre = (size_t)(ix - b.data);
    memcpy(s, b.data, pre);
    int w = sprintf(s + pre, "index 43");
    memcpy(s + pre + (size_t)w, ix + 8, b.len - pre - 8);
    assert_int_equal(tlog_proof_verify(s, b.len, origin, &verifier, 1, &leaves[42], &p, &cp, &d),
                     ERR_INVALID);
    assert_string_equal(d.field, "proof.inclusion");
    /* An index outside the tree. */
    memcpy(s, b.data, pre);
    w = sprintf(s + pre, "index 300");
    memcpy(s + pre + (size_t)w, ix + 8, b.len - pre - 8);
    assert_int_equal(
        tlog_proof_verify(s, b.len + 1, origin, &verifier, 1, &leaves[42], &p, &cp, &d),
        ERR_INVALID);
    assert_string_equal(d.field, "proof.index");
    free(s);
    buf_free(&b);

    struct {
        const char *text, *field;
    } bad[] = {
        {"", "proof"},
        {"c2sp.org/tlog-proof@v2\nindex 1\n\ncp\n", "proof"},
        {"c2sp.org/tlog-proof@v1\n", "proof.index"},
        {"c2sp.org/tlog-proof@v1\nindex \n\ncp\n", "proof.index"},
        {"c2sp.org/tlog-proof@v1\nindex 01\n\ncp\n", "proof.index"},
        {"c2sp.org/tlog-proof@v1\nindex -1\n\ncp\n", "proof.index"},
        {"c2sp.org/tlog-proof@v1\nindex 18446744073709551616\n\ncp\n", "proof.index"},
        {"c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\ncp\n", "proof.extra"},
        {"c2sp.org/tlog-proof@v1\nextra AA==\nextra AA==\nindex 1\n\ncp\n", "proof.index"},
        {"c2sp.org/tlog-proof@v1\nindex 1\nZG9uJ3QgY2FyZSAy\n\ncp\n", "proof.hash"},
        {"c2sp.org/tlog-proof@v1\nindex 1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\ncp\n",
         "proof.hash"},
        {"c2sp.org/tlog-proof@v1\nindex 1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
         "proof"},
        {"c2sp.org/tlog-proof@v1\nindex 1\n\n", "proof.checkpoint"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err_clear(&d);
        if (tlog_proof_parse(bad[i].text, strlen(bad[i].text), &p, &d) != ERR_INVALID)
            fail_msg("bad proof %zu accepted", i);
        assert_string_equal(d.field, bad[i].field);
    }
    /* Index 0 is written "0"; 65 hashes are too many. */
    assert_int_equal(tlog_proof_parse("c2sp.org/tlog-proof@v1\nindex 0\n\ncp\n", 34, &p, &d), 0);
    buf_init(&b, 1 << 16);
    buf_append_str(&b, "c2sp.org/tlog-proof@v1\nindex 0\n");
    for (int i = 0; i < 65; i++)
        buf_append_str(&b, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
    buf_append_str(&b, "\ncp\n");
    assert_int_equal(tlog_proof_parse(b.data, b.len, &p, &d), ERR_INVALID);
    assert_string_equal(d.field, "proof.hash");
    buf_free(&b);
    /* Formatting refuses what parsing would refuse. */
    tlog_hash_t h[TLOG_MAX_PROOF + 1];
    memset(h, 0, sizeof h);
    buf_init(&b, 1 << 16);
    assert_int_equal(tlog_proof_format(&b, 1, NULL, 0, h, 65, "cp\n", 3), ERR_INVALID);
    uint8_t big[TLOG_PROOF_EXTRA_MAX + 1] = {0};
    assert_int_equal(tlog_proof_format(&b, 1, big, sizeof big, h, 1, "cp\n", 3), ERR_INVALID);
    assert_int_equal(tlog_proof_format(&b, 1, NULL, 0, h, 1, "", 0), ERR_INVALID);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
