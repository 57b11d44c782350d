/*
 * Unit tests for vault (issue 16), on real files in a temporary directory: store.key is made
 * 0600 and reopened to the same keys; a file open to others is refused, and every malformed
 * field is named; a learner's secret wraps and unwraps only for that learner, undamaged, and
 * under an epoch the file still holds; rotation keeps old epochs opening until they are
 * forgotten; boxes open only with their key and associated data, and plain boxes (sealing off)
 * open too; index hashes are fixed per vault and differ between vaults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault.h"

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_vault.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, VAULT_FILE);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    unlink(f->path);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
    unlink(tmp);
    rmdir(f->dir);
    free(f);
    return 0;
}

static vault_t *open_or_fail(const fixture_t *f, bool create, bool seal, int64_t now)
{
    vault_t *v = NULL;
    err_detail_t d;
    err_clear(&d);
    int rc = vault_open(f->dir, create, seal, now, &v, &d);
    if (rc != 0)
        fail_msg("vault_open: %s: %s: %s", err_str(rc), d.field, d.message);
    assert_non_null(v);
    return v;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, mode), 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static const uint8_t LEARNER_A[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t LEARNER_B[16] = {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

static void test_create_and_reopen(void **state)
{
    fixture_t *f = *state;
    vault_t *v = NULL;
    err_detail_t d;
    assert_int_equal(vault_open(f->dir, false, true, 1000, &v, &d), ERR_NOT_FOUND);
    assert_null(v);
    struct stat st;
    assert_int_not_equal(stat(f->path, &st), 0); /* !create makes nothing */

    v = open_or_fail(f, true, true, 1000);
    assert_int_equal(stat(f->path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(vault_sealing(v));
    assert_int_equal(vault_epoch(v), 1);
    assert_int_equal(vault_oldest_epoch(v), 1);
    uint8_t fp1[VAULT_INDEX_HASH_LEN], fp2[VAULT_INDEX_HASH_LEN], x1[VAULT_INDEX_HASH_LEN],
        x2[VAULT_INDEX_HASH_LEN];
    assert_int_equal(vault_fingerprint(v, fp1), 0);
    assert_int_equal(vault_index_hash(v, 'e', "ev-1", 4, x1), 0);
    uint8_t secret[VAULT_SECRET_LEN], back[VAULT_SECRET_LEN], wrapped[VAULT_WRAPPED_LEN];
    assert_int_equal(vault_new_secret(secret), 0);
    assert_int_equal(vault_wrap(v, LEARNER_A, sizeof LEARNER_A, secret, wrapped), 0);
    vault_destroy(&v);
    assert_null(v);

    /* Reopened (create or not): the same keys, so the same fingerprint, hashes, secrets. */
    for (int create = 0; create <= 1; create++) {
        v = open_or_fail(f, create, false, 5000);
        assert_false(vault_sealing(v));
        assert_int_equal(vault_fingerprint(v, fp2), 0);
        assert_memory_equal(fp1, fp2, sizeof fp1);
        assert_int_equal(vault_index_hash(v, 'e', "ev-1", 4, x2), 0);
        assert_memory_equal(x1, x2, sizeof x1);
        uint32_t epoch = 0;
        assert_int_equal(
            vault_unwrap(v, LEARNER_A, sizeof LEARNER_A, wrapped, sizeof wrapped, back, &epoch, &d),
            0);
        assert_int_equal(epoch, 1);
        assert_memory_equal(back, secret, sizeof secret);
        vault_destroy(&v);
    }
    /* The file holds keys as hex, never the learner's secret. */
    FILE *fp = fopen(f->path, "r");
    assert_non_null(fp);
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = 0;
    assert_non_null(strstr(text, "\"masteryd-store-key/1\""));
    assert_null(memmem(text, n, secret, 8));
}

static void test_refuses_open_mode(void **state)
{
    fixture_t *f = *state;
    vault_t *v = open_or_fail(f, true, true, 1);
    vault_destroy(&v);
    err_detail_t d;
    for (mode_t mode = 0640; mode <= 0644; mode += 4) {
        assert_int_equal(chmod(f->path, mode), 0);
        err_clear(&d);
        assert_int_equal(vault_open(f->dir, false, true, 1, &v, &d), ERR_FORBIDDEN);
        assert_null(v);
        assert_string_equal(d.field, "store.key");
        assert_non_null(strstr(d.message, "chmod 600"));
        /* create does not overwrite a file it refuses */
        assert_int_equal(vault_open(f->dir, true, true, 1, &v, &d), ERR_FORBIDDEN);
    }
    assert_int_equal(chmod(f->path, 0600), 0);
    v = open_or_fail(f, false, true, 1);
    vault_destroy(&v);
    /* not a regular file */
    unlink(f->path);
    assert_int_equal(mkdir(f->path, 0700), 0);
    assert_int_equal(vault_open(f->dir, false, true, 1, &v, &d), ERR_INVALID);
    assert_int_equal(rmdir(f->path), 0);
}

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static void test_malformed(void **state)
{
    fixture_t *f = *state;
    static const struct {
        const char *text, *field;
    } cases[] = {
        {"", "store.key"},
        {"{\"format\":", "store.key"},
        {"[1,2]", "store.key.format"},
        {"{\"format\":\"masteryd-store-key/2\",\"index_key\":\"" KEY_A "\",\"epochs\":[]}",
         "store.key.format"},
        {"{\"format\":\"masteryd-store-key/1\",\"index_key\":\"" KEY_A "\",\"format\":\"x\"}",
         "store.key"}, /* duplicate member */
        {"{\"format\":\"masteryd-store-key/1\",\"epochs\":[]}", "store.key.index_key"},
        {"{\"format\":\"masteryd-store-key/1\",\"index_key\":\"00\",\"epochs\":[]}",
         "store.key.index_key"},
        {"{\"format\":\"masteryd-store-key/1\",\"index_key\":\"" KEY_B "\"}", "store.key.epochs"},
        {"{\"format\":\"masteryd-store-key/1\",\"index_key\":\"" KEY_A "\",\"epochs\":[]}",
         "store.key.epochs"},
        {"{\"format\":\"masteryd-store-key/1\",\"index_key\":\"" KEY_A
         "\",\"epochs\":[{\"epoch\":0,\"created_ms\":1,\"key\":\"" KEY_B "\"}]}",
         "store.key.epochs[].epoch"},
        {"{\"format\":\"masteryd-store-key/1\",\"index_key\":\"" KEY_A
         "\",\"epochs\":[{\"epoch\":2,\"created_ms\":1,\"key\":\"" KEY_B
         "\"},{\"epoch\":2,\"created_ms\":1,\"key\":\"" KEY_B "\"}]}",
         "store.key.epochs[].epoch"},
        {"{\"format\":\"masteryd-store-key/1\",\"index_key\":\"" KEY_A
         "\",\"epochs\":[{\"epoch\":\"1\",\"created_ms\":1,\"key\":\"" KEY_B "\"}]}",
         "store.key.epochs[].epoch"},
        {"{\"format\":\"masteryd-store-key/1\",\"index_key\":\"" KEY_A
         "\",\"epochs\":[{\"epoch\":1,\"created_ms\":-1,\"key\":\"" KEY_B "\"}]}",
         "store.key.epochs[].created_ms"},
        {"{\"format\":\"masteryd-store-key/1\",\"index_key\":\"" KEY_A
         "\",\"epochs\":[{\"epoch\":1,\"created_ms\":1,\"key\":\"" KEY_B "0\"}]}",
         "store.key.epochs[].key"},
        {"{\"format\":\"masteryd-store-key/1\",\"index_key\":\"" KEY_A
         "\",\"epochs\":[{\"epoch\":1,\"created_ms\":1,\"key\":\"FFEEDDCCBBAA99887766554433221100"
         "FFEEDDCCBBAA99887766554433221100\"}]}",
         "store.key.epochs[].key"}, /* lowercase only */
        {"{\"format\":\"masteryd-store-key/1\",\"index_key\":\"" KEY_A "\",\"epochs\":[7]}",
         "store.key.epochs[].epoch"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vault_t *v = NULL;
        err_detail_t d;
        err_clear(&d);
        int rc = vault_parse(cases[i].text, strlen(cases[i].text), &v, &d);
        if (rc != ERR_INVALID || strcmp(d.field, cases[i].field) != 0)
            fail_msg("case %zu: %s, field %s (want %s)", i, err_str(rc), d.field, cases[i].field);
        assert_null(v);
        /* the same through the file, which a malformed text never gets past */
        write_file(f->path, cases[i].text, 0600);
        err_clear(&d);
        assert_int_equal(vault_open(f->dir, true, true, 1, &v, &d), ERR_INVALID);
        assert_string_equal(d.field, cases[i].field);
        assert_null(v);
    }
    /* too many epochs: VAULT_EPOCHS_MAX + 1 */
    char *big = malloc(VAULT_FILE_MAX);
    assert_non_null(big);
    size_t n = (size_t)snprintf(big, VAULT_FILE_MAX,
                                "{\"format\":\"masteryd-store-key/1\",\"index_key\":\"" KEY_A
                                "\",\"epochs\":[");
    for (int e = 1; e <= VAULT_EPOCHS_MAX + 1; e++)
        n += (size_t)snprintf(big + n, VAULT_FILE_MAX - n,
                              "%s{\"epoch\":%d,\"created_ms\":1,\"key\":\"" KEY_B "\"}",
                              e > 1 ? "," : "", e);
    n += (size_t)snprintf(big + n, VAULT_FILE_MAX - n, "]}");
    vault_t *v = NULL;
    err_detail_t d;
    assert_int_equal(vault_parse(big, n, &v, &d), ERR_INVALID);
    assert_string_equal(d.field, "store.key.epochs");
    /* the largest file read: one byte more is refused before parsing */
    memset(big, ' ', VAULT_FILE_MAX - 1);
    big[VAULT_FILE_MAX - 1] = 0;
    write_file(f->path, big, 0600);
    FILE *fp = fopen(f->path, "a");
    assert_non_null(fp);
    fputs("  ", fp);
    fclose(fp);
    assert_int_equal(vault_open(f->dir, false, true, 1, &v, &d), ERR_INVALID);
    assert_null(v);
    free(big);

    /* A well-formed file parses, with the keys it says. */
    const char *good = "{\"format\":\"masteryd-store-key/1\",\"index_key\":\"" KEY_A
                       "\",\"epochs\":[{\"epoch\":3,\"created_ms\":10,\"key\":\"" KEY_B
                       "\"},{\"epoch\":9,\"created_ms\":20,\"key\":\"" KEY_A "\"}]}";
    assert_int_equal(vault_parse(good, strlen(good), &v, &d), 0);
    assert_int_equal(vault_epoch(v), 9);
    assert_int_equal(vault_oldest_epoch(v), 3);
    assert_true(vault_sealing(v));
    vault_destroy(&v);
}

static void test_wrap_unwrap(void **state)
{
    fixture_t *f = *state;
    vault_t *v = open_or_fail(f, true, true, 1);
    uint8_t secret[VAULT_SECRET_LEN], other[VAULT_SECRET_LEN], back[VAULT_SECRET_LEN];
    uint8_t w1[VAULT_WRAPPED_LEN], w2[VAULT_WRAPPED_LEN], bad[VAULT_WRAPPED_LEN];
    assert_int_equal(vault_new_secret(secret), 0);
    assert_int_equal(vault_new_secret(other), 0);
    assert_memory_not_equal(secret, other, sizeof secret);
    assert_int_equal(vault_wrap(v, LEARNER_A, 16, secret, w1), 0);
    assert_int_equal(vault_wrap(v, LEARNER_A, 16, secret, w2), 0);
    assert_memory_not_equal(w1, w2, sizeof w1); /* a fresh nonce each time */
    assert_null(memmem(w1, sizeof w1, secret, 8));
    err_detail_t d;
    uint32_t epoch = 0;
    assert_int_equal(vault_unwrap(v, LEARNER_A, 16, w1, sizeof w1, back, &epoch, &d), 0);
    assert_memory_equal(back, secret, sizeof secret);
    assert_int_equal(epoch, 1);
    assert_int_equal(vault_unwrap(v, LEARNER_A, 16, w2, sizeof w2, back, NULL, &d), 0);
    assert_memory_equal(back, secret, sizeof secret);

    /* another learner's hash: bound to the learner */
    assert_int_equal(vault_unwrap(v, LEARNER_B, 16, w1, sizeof w1, back, NULL, &d), ERR_DATA_LOSS);
    assert_int_equal(vault_unwrap(v, LEARNER_A, 15, w1, sizeof w1, back, NULL, &d), ERR_DATA_LOSS);
    /* any flipped byte after the epoch: damaged */
    for (size_t i = 4; i < sizeof w1; i++) {
        memcpy(bad, w1, sizeof bad);
        bad[i] ^= 0x01;
        assert_int_equal(vault_unwrap(v, LEARNER_A, 16, bad, sizeof bad, back, NULL, &d),
                         ERR_DATA_LOSS);
    }
    /* the wrong length */
    assert_int_equal(vault_unwrap(v, LEARNER_A, 16, w1, sizeof w1 - 1, back, NULL, &d),
                     ERR_DATA_LOSS);
    /* an epoch the file does not hold: unavailable, naming it */
    memcpy(bad, w1, sizeof bad);
    bad[0] = 99;
    err_clear(&d);
    assert_int_equal(vault_unwrap(v, LEARNER_A, 16, bad, sizeof bad, back, &epoch, &d),
                     ERR_UNAVAILABLE);
    assert_int_equal(epoch, 99);
    assert_non_null(strstr(d.message, "epoch 99"));
    vault_destroy(&v);

    /* another store.key (its own epoch 1): the secret does not open */
    unlink(f->path);
    v = open_or_fail(f, true, true, 1);
    assert_int_equal(vault_unwrap(v, LEARNER_A, 16, w1, sizeof w1, back, NULL, &d), ERR_DATA_LOSS);
    vault_destroy(&v);
}

static void test_rotate_and_forget(void **state)
{
    fixture_t *f = *state;
    vault_t *v = open_or_fail(f, true, true, 1000);
    uint8_t s1[VAULT_SECRET_LEN], s2[VAULT_SECRET_LEN], back[VAULT_SECRET_LEN];
    uint8_t w1[VAULT_WRAPPED_LEN], w2[VAULT_WRAPPED_LEN];
    err_detail_t d;
    uint32_t epoch = 0, forgotten = 99;
    assert_int_equal(vault_new_secret(s1), 0);
    assert_int_equal(vault_new_secret(s2), 0);
    assert_int_equal(vault_wrap(v, LEARNER_A, 16, s1, w1), 0);
    assert_int_equal(vault_rotate(v, f->dir, 2000, &d), 0);
    assert_int_equal(vault_epoch(v), 2);
    assert_int_equal(vault_oldest_epoch(v), 1);
    assert_int_equal(vault_wrap(v, LEARNER_B, 16, s2, w2), 0);
    assert_memory_equal(w2, "\x02\0\0\0", 4);
    /* both epochs open, in this vault and in the file it rewrote */
    for (int reopen = 0; reopen <= 1; reopen++) {
        if (reopen) {
            vault_destroy(&v);
            v = open_or_fail(f, false, true, 3000);
            struct stat st;
            assert_int_equal(stat(f->path, &st), 0);
            assert_int_equal(st.st_mode & 0777, 0600);
        }
        assert_int_equal(vault_unwrap(v, LEARNER_A, 16, w1, sizeof w1, back, &epoch, &d), 0);
        assert_int_equal(epoch, 1);
        assert_memory_equal(back, s1, sizeof s1);
        assert_int_equal(vault_unwrap(v, LEARNER_B, 16, w2, sizeof w2, back, &epoch, &d), 0);
        assert_int_equal(epoch, 2);
        assert_memory_equal(back, s2, sizeof s2);
    }
    /* nothing older than 500: nothing forgotten */
    assert_int_equal(vault_forget_epochs(v, f->dir, 500, &forgotten, &d), 0);
    assert_int_equal(forgotten, 0);
    /* epochs made before 1500: epoch 1 goes; what was wrapped under it no longer opens */
    assert_int_equal(vault_forget_epochs(v, f->dir, 1500, &forgotten, &d), 0);
    assert_int_equal(forgotten, 1);
    assert_int_equal(vault_oldest_epoch(v), 2);
    for (int reopen = 0; reopen <= 1; reopen++) {
        if (reopen) {
            vault_destroy(&v);
            v = open_or_fail(f, false, true, 3000);
        }
        assert_int_equal(vault_unwrap(v, LEARNER_A, 16, w1, sizeof w1, back, &epoch, &d),
                         ERR_UNAVAILABLE);
        assert_int_equal(epoch, 1);
        assert_int_equal(vault_unwrap(v, LEARNER_B, 16, w2, sizeof w2, back, NULL, &d), 0);
    }
    /* the current epoch is never forgotten, however old */
    assert_int_equal(vault_forget_epochs(v, f->dir, INT64_MAX, &forgotten, &d), 0);
    assert_int_equal(forgotten, 0);
    assert_int_equal(vault_epoch(v), 2);
    assert_int_equal(vault_unwrap(v, LEARNER_B, 16, w2, sizeof w2, back, NULL, &d), 0);
    /* the index key survives rotation: the same fingerprint */
    uint8_t fp1[VAULT_INDEX_HASH_LEN], fp2[VAULT_INDEX_HASH_LEN];
    assert_int_equal(vault_fingerprint(v, fp1), 0);
    assert_int_equal(vault_rotate(v, f->dir, 4000, &d), 0);
    assert_int_equal(vault_fingerprint(v, fp2), 0);
    assert_memory_equal(fp1, fp2, sizeof fp1);
    vault_destroy(&v);
}

static void test_seal_unseal(void **state)
{
    fixture_t *f = *state;
    vault_t *v = open_or_fail(f, true, true, 1);
    uint8_t key[VAULT_KEY_LEN], key2[VAULT_KEY_LEN], secret[VAULT_SECRET_LEN];
    assert_int_equal(vault_new_secret(secret), 0);
    memcpy(key, secret, sizeof key);
    memcpy(key2, secret + VAULT_KEY_LEN, sizeof key2);
    const char plain[] = "narrative: a learner's own words";
    size_t len = sizeof plain - 1;
    assert_int_equal(vault_box_len(v, len), len + VAULT_BOX_OVERHEAD);
    uint8_t box[128], box2[128], out[128];
    size_t out_len = 0;
    assert_int_equal(vault_seal(v, key, "aad-1", 5, plain, len, box), 0);
    assert_int_equal(box[0], 1);
    assert_null(memmem(box, len + VAULT_BOX_OVERHEAD, "narrative", 9));
    assert_int_equal(vault_unseal(v, key, "aad-1", 5, box, len + VAULT_BOX_OVERHEAD, out, &out_len),
                     0);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, plain, len);
    /* a fresh nonce: the same field seals differently */
    assert_int_equal(vault_seal(v, key, "aad-1", 5, plain, len, box2), 0);
    assert_memory_not_equal(box, box2, len + VAULT_BOX_OVERHEAD);
    /* another place (AAD), another key, a flipped byte, a cut box: none opens */
    size_t n = len + VAULT_BOX_OVERHEAD;
    assert_int_equal(vault_unseal(v, key, "aad-2", 5, box, n, out, &out_len), ERR_DATA_LOSS);
    assert_int_equal(vault_unseal(v, key, "aad-1", 4, box, n, out, &out_len), ERR_DATA_LOSS);
    assert_int_equal(vault_unseal(v, key, NULL, 0, box, n, out, &out_len), ERR_DATA_LOSS);
    assert_int_equal(vault_unseal(v, key2, "aad-1", 5, box, n, out, &out_len), ERR_DATA_LOSS);
    for (size_t i = 1; i < n; i++) {
        memcpy(box2, box, n);
        box2[i] ^= 0x80;
        assert_int_equal(vault_unseal(v, key, "aad-1", 5, box2, n, out, &out_len), ERR_DATA_LOSS);
    }
    assert_int_equal(vault_unseal(v, key, "aad-1", 5, box, n - 1, out, &out_len), ERR_DATA_LOSS);
    assert_int_equal(vault_unseal(v, key, "aad-1", 5, box, VAULT_BOX_OVERHEAD - 1, out, &out_len),
                     ERR_DATA_LOSS);
    assert_int_equal(vault_unseal(v, key, "aad-1", 5, box, 0, out, &out_len), ERR_DATA_LOSS);
    box2[0] = 7; /* neither kind of box */
    assert_int_equal(vault_unseal(v, key, "aad-1", 5, box2, n, out, &out_len), ERR_DATA_LOSS);
    /* an empty field seals and opens */
    assert_int_equal(vault_seal(v, key, "a", 1, "", 0, box), 0);
    out_len = 99;
    assert_int_equal(vault_unseal(v, key, "a", 1, box, VAULT_BOX_OVERHEAD, out, &out_len), 0);
    assert_int_equal(out_len, 0);
    vault_destroy(&v);

    /* Sealing off (benchmarks): a plain box [0][bytes]; either vault opens it. */
    vault_t *plainv = open_or_fail(f, false, false, 1);
    assert_false(vault_sealing(plainv));
    assert_int_equal(vault_box_len(plainv, len), len + 1);
    assert_int_equal(vault_seal(plainv, key, "aad-1", 5, plain, len, box), 0);
    assert_int_equal(box[0], 0);
    assert_memory_equal(box + 1, plain, len);
    assert_int_equal(vault_unseal(plainv, key, "aad-1", 5, box, len + 1, out, &out_len), 0);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, plain, len);
    v = open_or_fail(f, false, true, 1);
    assert_int_equal(vault_unseal(v, key, "x", 1, box, len + 1, out, &out_len), 0);
    assert_memory_equal(out, plain, len);
    /* and a sealed box still opens with sealing off */
    assert_int_equal(vault_seal(v, key, "aad-1", 5, plain, len, box), 0);
    assert_int_equal(vault_unseal(plainv, key, "aad-1", 5, box, n, out, &out_len), 0);
    assert_memory_equal(out, plain, len);
    vault_destroy(&v);
    vault_destroy(&plainv);
}

static void test_index_hash(void **state)
{
    fixture_t *f = *state;
    vault_t *v = open_or_fail(f, true, true, 1);
    uint8_t a[VAULT_INDEX_HASH_LEN], b[VAULT_INDEX_HASH_LEN], c[VAULT_INDEX_HASH_LEN];
    assert_int_equal(vault_index_hash(v, 'e', "statement-1", 11, a), 0);
    assert_int_equal(vault_index_hash(v, 'e', "statement-1", 11, b), 0);
    assert_memory_equal(a, b, sizeof a); /* deterministic */
    assert_int_equal(vault_index_hash(v, 'e', "statement-2", 11, c), 0);
    assert_memory_not_equal(a, c, sizeof a);
    assert_int_equal(vault_index_hash(v, 'f', "statement-1", 11, c), 0);
    assert_memory_not_equal(a, c, sizeof a); /* domains are apart */
    assert_int_equal(vault_index_hash(v, 'e', "statement-1", 10, c), 0);
    assert_memory_not_equal(a, c, sizeof a);
    assert_int_equal(vault_index_hash(v, 'e', "", 0, c), 0);
    vault_destroy(&v);
    /* another vault (another store.key): other hashes and fingerprint */
    unlink(f->path);
    v = open_or_fail(f, true, true, 1);
    assert_int_equal(vault_index_hash(v, 'e', "statement-1", 11, c), 0);
    assert_memory_not_equal(a, c, sizeof a);
    vault_destroy(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_open_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap_unwrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_and_forget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seal_unseal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_hash, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
