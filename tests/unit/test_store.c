/*
 * Unit tests for store, against real LMDB environments in a temporary directory: put/get/del,
 * prefix iteration (order, bounds, start key), store_last, the key encodings (u32/u64/i64 sort
 * order, the fixed hash width), the sticky transaction error, nested transactions, and map
 * growth (ERR_RETRY, store_grow, redo; ERR_LIMIT at the maximum; data survives a reopen).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "identity.h"
#include "records.h"
#include "store.h"
#include "vault.h"

#define MIB (1024ull * 1024ull)

static char tmpdir[] = "/tmp/test_store.XXXXXX";
static int env_seq;

static void rm_env(const char *dir)
{
    char path[700];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/store.key", dir);
    unlink(path);
    rmdir(dir);
}

/* A fresh environment directory (not yet created: store_open creates it). */
static void new_dir(char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/env%d", tmpdir, env_seq++);
}

static store_t *open_store(const char *dir, uint64_t map, uint64_t max)
{
    store_t *st = NULL;
    err_detail_t d;
    err_clear(&d);
    int rc = store_open(dir, map, max, &st, &d);
    if (rc != 0)
        fail_msg("store_open(%s): %s: %s: %s", dir, err_str(rc), d.field, d.message);
    assert_non_null(st);
    return st;
}

static void key_str(store_key_t *k, const char *s)
{
    store_key_reset(k);
    store_key_bytes(k, s, strlen(s));
}

static int put_str(store_txn_t *t, store_db_t db, const char *key, const char *val)
{
    store_key_t k;
    key_str(&k, key);
    return store_put(t, db, &k, val, strlen(val), 0);
}

static void expect_get(store_txn_t *t, store_db_t db, const char *key, const char *val)
{
    store_key_t k;
    store_val_t v;
    key_str(&k, key);
    int rc = store_get(t, db, &k, &v);
    if (val == NULL) {
        assert_int_equal(rc, ERR_NOT_FOUND);
        return;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(v.len, strlen(val));
    assert_memory_equal(v.data, val, v.len);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char dir[300];
    for (int i = 0; i < env_seq; i++) {
        snprintf(dir, sizeof dir, "%s/env%d", tmpdir, i);
        rm_env(dir);
    }
    return rmdir(tmpdir);
}

static void test_open_put_get_del(void **state)
{
    (void)state;
    char dir[600];
    new_dir(dir, sizeof dir);
    store_t *st = open_store(dir, 4 * MIB, 16 * MIB);
    assert_int_equal(access(dir, F_OK), 0);
    store_txn_t *t = NULL;
    assert_int_equal(store_txn_begin(st, true, &t), 0);
    assert_non_null(t);
    assert_int_equal(put_str(t, STORE_DB_META, "alpha", "1"), 0);
    assert_int_equal(put_str(t, STORE_DB_META, "beta", "22"), 0);
    assert_int_equal(put_str(t, STORE_DB_EVENTS, "alpha", "other db"), 0);
    expect_get(t, STORE_DB_META, "alpha", "1");
    assert_int_equal(put_str(t, STORE_DB_META, "alpha", "overwritten"), 0);
    expect_get(t, STORE_DB_META, "alpha", "overwritten");
    expect_get(t, STORE_DB_META, "gamma", NULL);
    /* A miss is not sticky. */
    assert_int_equal(store_txn_error(t), 0);
    /* Empty values are values. */
    assert_int_equal(put_str(t, STORE_DB_META, "empty", ""), 0);
    expect_get(t, STORE_DB_META, "empty", "");
    assert_int_equal(store_count(t, STORE_DB_META), 4); /* and "format" */
    assert_int_equal(store_count(t, STORE_DB_EVENTS), 1);
    assert_int_equal(store_count(t, STORE_DB_LEARNERS), 0);
    assert_int_equal(store_txn_commit(&t), 0);
    assert_null(t);

    /* A read transaction sees the committed data; each database is its own key space. */
    assert_int_equal(store_txn_begin(st, false, &t), 0);
    expect_get(t, STORE_DB_META, "alpha", "overwritten");
    expect_get(t, STORE_DB_EVENTS, "alpha", "other db");
    expect_get(t, STORE_DB_LEARNERS, "alpha", NULL);
    store_txn_abort(&t);
    assert_null(t);
    store_txn_abort(&t); /* NULL: no-op */

    /* Delete: present and missing keys. */
    assert_int_equal(store_txn_begin(st, true, &t), 0);
    store_key_t k;
    key_str(&k, "beta");
    assert_int_equal(store_del(t, STORE_DB_META, &k), 0);
    assert_int_equal(store_del(t, STORE_DB_META, &k), 0);
    key_str(&k, "never-there");
    assert_int_equal(store_del(t, STORE_DB_META, &k), 0);
    assert_int_equal(store_txn_error(t), 0);
    expect_get(t, STORE_DB_META, "beta", NULL);
    assert_int_equal(store_count(t, STORE_DB_META), 3);
    assert_int_equal(store_txn_commit(&t), 0);

    /* An aborted write leaves nothing behind. */
    assert_int_equal(store_txn_begin(st, true, &t), 0);
    assert_int_equal(put_str(t, STORE_DB_META, "ghost", "boo"), 0);
    store_txn_abort(&t);
    assert_int_equal(store_txn_begin(st, false, &t), 0);
    expect_get(t, STORE_DB_META, "ghost", NULL);
    expect_get(t, STORE_DB_META, "beta", NULL);
    store_txn_abort(&t);

    uint64_t map = 0, used = 0;
    store_usage(st, &map, &used);
    assert_int_equal(map, 4 * MIB);
    assert_true(used > 0 && used <= map);
    store_close(&st);
    assert_null(st);
    store_close(&st); /* idempotent */

    /* Reopening finds everything committed. */
    st = open_store(dir, 4 * MIB, 16 * MIB);
    assert_int_equal(store_txn_begin(st, false, &t), 0);
    expect_get(t, STORE_DB_META, "alpha", "overwritten");
    expect_get(t, STORE_DB_META, "empty", "");
    assert_int_equal(store_count(t, STORE_DB_META), 3);
    store_txn_abort(&t);
    store_close(&st);
}

static void test_open_failure(void **state)
{
    (void)state;
    store_t *st = NULL;
    err_detail_t d;
    char dir[700];
    /* The parent does not exist: the directory cannot be created. */
    snprintf(dir, sizeof dir, "%s/no/such/parent", tmpdir);
    err_clear(&d);
    assert_int_equal(store_open(dir, MIB, MIB, &st, &d), ERR_UNAVAILABLE);
    assert_null(st);
    assert_string_equal(d.field, "data_dir");
    assert_non_null(strstr(d.message, dir));
}

/* Iterates db from prefix/start; writes "k1,k2,..." to out. */
static void collect(store_txn_t *t, store_db_t db, const store_key_t *prefix,
                    const store_key_t *start, char *out, size_t cap)
{
    store_iter_t it;
    store_val_t k, v;
    size_t used = 0;
    out[0] = '\0';
    assert_int_equal(store_iter_open(t, db, prefix, start, &it), 0);
    int rc;
    while ((rc = store_iter_next(&it, &k, &v)) == 0) {
        int n = snprintf(out + used, cap - used, "%s%.*s=%.*s", used ? "," : "", (int)k.len,
                         (const char *)k.data, (int)v.len, (const char *)v.data);
        assert_true(n > 0 && (size_t)n < cap - used);
        used += (size_t)n;
    }
    assert_int_equal(rc, ERR_NOT_FOUND);
    /* After the end it stays at the end. */
    assert_int_equal(store_iter_next(&it, &k, &v), ERR_NOT_FOUND);
    store_iter_close(&it);
    assert_int_equal(store_iter_next(&it, &k, &v), ERR_NOT_FOUND);
}

static void test_iteration(void **state)
{
    (void)state;
    char dir[600];
    new_dir(dir, sizeof dir);
    store_t *st = open_store(dir, 4 * MIB, 4 * MIB);
    store_txn_t *t = NULL;
    assert_int_equal(store_txn_begin(st, true, &t), 0);
    /* Inserted out of order. */
    static const char *const keys[] = {"b/2", "a/9", "b/1", "b/10", "c/0", "b",
                                       "b/",  "ba",  "a",   "b/3",  "bz",  "b0"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(put_str(t, STORE_DB_LEARNERS, keys[i], keys[i]), 0);

    char out[1024];
    store_key_t prefix, start;
    /* Whole database, bytewise order. */
    collect(t, STORE_DB_LEARNERS, NULL, NULL, out, sizeof out);
    assert_string_equal(out, "a=a,a/9=a/9,b=b,b/=b/,b/1=b/1,b/10=b/10,b/2=b/2,b/3=b/3,b0=b0,"
                             "ba=ba,bz=bz,c/0=c/0");
    /* Only keys with the prefix, starting at the prefix. */
    key_str(&prefix, "b/");
    collect(t, STORE_DB_LEARNERS, &prefix, NULL, out, sizeof out);
    assert_string_equal(out, "b/=b/,b/1=b/1,b/10=b/10,b/2=b/2,b/3=b/3");
    /* A start key inside the prefix: keys >= start only. */
    key_str(&start, "b/10");
    collect(t, STORE_DB_LEARNERS, &prefix, &start, out, sizeof out);
    assert_string_equal(out, "b/10=b/10,b/2=b/2,b/3=b/3");
    key_str(&start, "b/11"); /* not a key: the next one */
    collect(t, STORE_DB_LEARNERS, &prefix, &start, out, sizeof out);
    assert_string_equal(out, "b/2=b/2,b/3=b/3");
    key_str(&start, "b/4"); /* past the prefix's last key */
    collect(t, STORE_DB_LEARNERS, &prefix, &start, out, sizeof out);
    assert_string_equal(out, "");
    /* A start key before the prefix: the prefix's keys, all of them. */
    key_str(&start, "a/0");
    collect(t, STORE_DB_LEARNERS, &prefix, &start, out, sizeof out);
    assert_string_equal(out, "b/=b/,b/1=b/1,b/10=b/10,b/2=b/2,b/3=b/3");
    key_str(&start, "b");
    collect(t, STORE_DB_LEARNERS, &prefix, &start, out, sizeof out);
    assert_string_equal(out, "b/=b/,b/1=b/1,b/10=b/10,b/2=b/2,b/3=b/3");
    /* A start key past everything with the prefix, sorting after it. */
    key_str(&start, "c");
    collect(t, STORE_DB_LEARNERS, &prefix, &start, out, sizeof out);
    assert_string_equal(out, "");
    /* A start key without a prefix. */
    key_str(&start, "bz");
    collect(t, STORE_DB_LEARNERS, NULL, &start, out, sizeof out);
    assert_string_equal(out, "bz=bz,c/0=c/0");
    /* A prefix nothing has, before, between and after existing keys. */
    key_str(&prefix, "0");
    collect(t, STORE_DB_LEARNERS, &prefix, NULL, out, sizeof out);
    assert_string_equal(out, "");
    key_str(&prefix, "b/4");
    collect(t, STORE_DB_LEARNERS, &prefix, NULL, out, sizeof out);
    assert_string_equal(out, "");
    key_str(&prefix, "zz");
    collect(t, STORE_DB_LEARNERS, &prefix, NULL, out, sizeof out);
    assert_string_equal(out, "");
    /* An empty prefix is the whole database. */
    store_key_reset(&prefix);
    collect(t, STORE_DB_LEARNERS, &prefix, NULL, out, sizeof out);
    assert_non_null(strstr(out, "a=a,") == out ? out : NULL);
    /* An empty database. */
    collect(t, STORE_DB_EVENTS, NULL, NULL, out, sizeof out);
    assert_string_equal(out, "");

    /* store_last: the greatest key; NOT_FOUND on an empty database (not sticky). */
    store_val_t k, v;
    assert_int_equal(store_last(t, STORE_DB_LEARNERS, &k, &v), 0);
    assert_int_equal(k.len, 3);
    assert_memory_equal(k.data, "c/0", 3);
    assert_memory_equal(v.data, "c/0", 3);
    assert_int_equal(store_last(t, STORE_DB_LEARNERS, &k, NULL), 0);
    assert_int_equal(store_last(t, STORE_DB_EVENTS, &k, &v), ERR_NOT_FOUND);
    assert_int_equal(store_txn_error(t), 0);
    assert_int_equal(store_txn_commit(&t), 0);

    /* The same from a read-only transaction. */
    assert_int_equal(store_txn_begin(st, false, &t), 0);
    key_str(&prefix, "b/");
    collect(t, STORE_DB_LEARNERS, &prefix, NULL, out, sizeof out);
    assert_string_equal(out, "b/=b/,b/1=b/1,b/10=b/10,b/2=b/2,b/3=b/3");
    assert_int_equal(store_last(t, STORE_DB_LEARNERS, &k, &v), 0);
    assert_memory_equal(k.data, "c/0", 3);
    store_txn_abort(&t);
    store_close(&st);
}

static int cmp_keys(const store_key_t *a, const store_key_t *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->b, b->b, n);
    if (c != 0)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

static void test_key_encodings(void **state)
{
    (void)state;
    store_key_t a, b;
    /* u32: big-endian bytes. */
    store_key_reset(&a);
    store_key_u32(&a, 0x01020304u);
    assert_int_equal(a.len, 4);
    assert_memory_equal(a.b, "\x01\x02\x03\x04", 4);
    assert_int_equal(store_read_u32(a.b), 0x01020304u);
    /* u64: big-endian bytes, read back. */
    store_key_reset(&a);
    store_key_u64(&a, 0x0102030405060708ull);
    assert_int_equal(a.len, 8);
    assert_memory_equal(a.b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_int_equal(store_read_u64(a.b), 0x0102030405060708ull);

    /* Sort order equals numeric order, for every pair of a list of values. */
    static const uint32_t u32s[] = {0,     1,           255,         256,         65535,
                                    65536, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu};
    for (size_t i = 0; i < sizeof u32s / sizeof u32s[0]; i++)
        for (size_t j = 0; j < sizeof u32s / sizeof u32s[0]; j++) {
            store_key_reset(&a);
            store_key_reset(&b);
            store_key_u32(&a, u32s[i]);
            store_key_u32(&b, u32s[j]);
            int c = cmp_keys(&a, &b);
            assert_int_equal(c < 0, i < j);
            assert_int_equal(c == 0, i == j);
        }
    static const uint64_t u64s[] = {
        0, 1, 255, 256, 1ull << 32, (1ull << 32) + 1, 1ull << 63, UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof u64s / sizeof u64s[0]; i++)
        for (size_t j = 0; j < sizeof u64s / sizeof u64s[0]; j++) {
            store_key_reset(&a);
            store_key_reset(&b);
            store_key_u64(&a, u64s[i]);
            store_key_u64(&b, u64s[j]);
            int c = cmp_keys(&a, &b);
            assert_int_equal(c < 0, i < j);
            assert_int_equal(c == 0, i == j);
            assert_int_equal(store_read_u64(a.b), u64s[i]);
        }
    static const int64_t i64s[] = {
        INT64_MIN, INT64_MIN + 1, -(1ll << 40), -256,          -2,       -1, 0, 1,
        2,         255,           1ll << 40,    INT64_MAX - 1, INT64_MAX};
    for (size_t i = 0; i < sizeof i64s / sizeof i64s[0]; i++)
        for (size_t j = 0; j < sizeof i64s / sizeof i64s[0]; j++) {
            store_key_reset(&a);
            store_key_reset(&b);
            store_key_i64(&a, i64s[i]);
            store_key_i64(&b, i64s[j]);
            assert_int_equal(a.len, 8);
            int c = cmp_keys(&a, &b);
            assert_int_equal(c < 0, i < j);
            assert_int_equal(c == 0, i == j);
        }
    /* i64: the sign bit flipped. */
    store_key_reset(&a);
    store_key_i64(&a, -1);
    assert_memory_equal(a.b, "\x7f\xff\xff\xff\xff\xff\xff\xff", 8);
    store_key_reset(&a);
    store_key_i64(&a, 0);
    assert_memory_equal(a.b, "\x80\x00\x00\x00\x00\x00\x00\x00", 8);

    /* Hash: the first 16 bytes of SHA-256, whatever the id's length. */
    store_key_reset(&a);
    store_key_hash(&a, "abc");
    assert_int_equal(a.len, STORE_HASH_LEN);
    /* SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 ... (FIPS 180-2) */
    assert_memory_equal(a.b, "\xba\x78\x16\xbf\x8f\x01\xcf\xea\x41\x41\x40\xde\x5d\xae\x22\x23",
                        STORE_HASH_LEN);
    store_key_reset(&b);
    store_key_hash(&b, "");
    assert_int_equal(b.len, STORE_HASH_LEN);
    /* SHA-256("") = e3b0c442 98fc1c14 9afbf4c8 996fb924 ... */
    assert_memory_equal(b.b, "\xe3\xb0\xc4\x42\x98\xfc\x1c\x14\x9a\xfb\xf4\xc8\x99\x6f\xb9\x24",
                        STORE_HASH_LEN);
    char longid[400];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    store_key_reset(&b);
    store_key_byte(&b, 'S');
    store_key_hash(&b, longid);
    store_key_hash(&b, "abc");
    assert_int_equal(b.len, 1 + 2 * STORE_HASH_LEN);
    assert_memory_equal(b.b + 1 + STORE_HASH_LEN, a.b, STORE_HASH_LEN);
    assert_false(b.overflow);

    /* Overflow is sticky: appends stop, the key is marked. */
    store_key_reset(&a);
    char chunk[200];
    memset(chunk, 'k', sizeof chunk);
    store_key_bytes(&a, chunk, sizeof chunk);
    store_key_bytes(&a, chunk, sizeof chunk);
    assert_false(a.overflow);
    assert_int_equal(a.len, 400);
    store_key_bytes(&a, chunk, STORE_KEY_MAX - 400); /* exactly full */
    assert_false(a.overflow);
    assert_int_equal(a.len, STORE_KEY_MAX);
    store_key_byte(&a, 'x');
    assert_true(a.overflow);
    assert_int_equal(a.len, STORE_KEY_MAX);
    store_key_reset(&a);
    store_key_bytes(&a, chunk, 100);
    store_key_u64(&a, 1);
    assert_false(a.overflow);
    assert_int_equal(a.len, 108);
}

/* After a failure every call returns it, and commit aborts. */
static void test_sticky_error(void **state)
{
    (void)state;
    char dir[600];
    new_dir(dir, sizeof dir);
    store_t *st = open_store(dir, 4 * MIB, 4 * MIB);
    store_txn_t *t = NULL;
    store_key_t k;
    store_val_t v, kv;
    assert_int_equal(store_txn_begin(st, true, &t), 0);
    assert_int_equal(put_str(t, STORE_DB_EVENTS, "kept", "x"), 0);
    assert_int_equal(store_txn_commit(&t), 0);

    assert_int_equal(store_txn_begin(st, true, &t), 0);
    assert_int_equal(put_str(t, STORE_DB_EVENTS, "m", "before the failure"), 0);
    /* STORE_APPEND with a key that sorts before an existing one: LMDB refuses. */
    key_str(&k, "a");
    int err = store_put(t, STORE_DB_EVENTS, &k, "x", 1, STORE_APPEND);
    assert_true(err < 0);
    assert_int_equal(store_txn_error(t), err);
    /* Every later call returns the same error and does nothing. */
    assert_int_equal(put_str(t, STORE_DB_EVENTS, "z", "after"), err);
    key_str(&k, "kept");
    assert_int_equal(store_get(t, STORE_DB_EVENTS, &k, &v), err);
    assert_int_equal(store_del(t, STORE_DB_EVENTS, &k), err);
    assert_int_equal(store_last(t, STORE_DB_EVENTS, &kv, &v), err);
    store_iter_t it;
    assert_int_equal(store_iter_open(t, STORE_DB_EVENTS, NULL, NULL, &it), err);
    assert_int_equal(store_iter_next(&it, &kv, &v), ERR_NOT_FOUND); /* never opened */
    store_iter_close(&it);
    store_txn_t *child = NULL;
    assert_int_equal(store_txn_begin_child(t, &child), err);
    assert_null(child);
    assert_int_equal(store_txn_error(t), err);
    /* Commit reports the error and writes nothing. */
    assert_int_equal(store_txn_commit(&t), err);
    assert_null(t);
    assert_int_equal(store_txn_begin(st, false, &t), 0);
    expect_get(t, STORE_DB_EVENTS, "kept", "x");
    expect_get(t, STORE_DB_EVENTS, "m", NULL);
    expect_get(t, STORE_DB_EVENTS, "z", NULL);
    store_txn_abort(&t);

    /* An iterator opened before the failure reports it too. */
    assert_int_equal(store_txn_begin(st, true, &t), 0);
    assert_int_equal(store_iter_open(t, STORE_DB_EVENTS, NULL, NULL, &it), 0);
    key_str(&k, "a");
    err = store_put(t, STORE_DB_EVENTS, &k, "x", 1, STORE_APPEND);
    assert_true(err < 0);
    assert_int_equal(store_iter_next(&it, &kv, &v), err);
    store_iter_close(&it);
    store_txn_abort(&t);

    /* A key that overflowed is a programmer error: INTERNAL, sticky, and nothing is touched
     * (not even the truncated key it holds). */
    char big[STORE_KEY_MAX];
    memset(big, 'k', sizeof big);
    assert_int_equal(store_txn_begin(st, true, &t), 0);
    store_key_reset(&k);
    store_key_bytes(&k, "kept", 4);
    store_key_bytes(&k, big, sizeof big);
    assert_true(k.overflow);
    assert_int_equal(store_get(t, STORE_DB_EVENTS, &k, &v), ERR_INTERNAL);
    assert_int_equal(store_txn_error(t), ERR_INTERNAL);
    assert_int_equal(store_txn_commit(&t), ERR_INTERNAL);

    static const int ops[] = {0, 1};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        assert_int_equal(store_txn_begin(st, true, &t), 0);
        int rc = ops[i] == 0 ? store_put(t, STORE_DB_EVENTS, &k, "y", 1, 0)
                             : store_del(t, STORE_DB_EVENTS, &k);
        assert_int_equal(rc, ERR_INTERNAL);
        assert_int_equal(store_txn_error(t), ERR_INTERNAL);
        assert_int_equal(store_txn_commit(&t), ERR_INTERNAL);
    }
    assert_int_equal(store_txn_begin(st, false, &t), 0);
    expect_get(t, STORE_DB_EVENTS, "kept", "x");
    assert_int_equal(store_count(t, STORE_DB_EVENTS), 1);
    store_txn_abort(&t);
    store_close(&st);
}

static void test_child_transactions(void **state)
{
    (void)state;
    char dir[600];
    new_dir(dir, sizeof dir);
    store_t *st = open_store(dir, 4 * MIB, 4 * MIB);
    store_txn_t *t = NULL, *child = NULL;
    assert_int_equal(store_txn_begin(st, true, &t), 0);
    assert_int_equal(put_str(t, STORE_DB_META, "parent", "p"), 0);

    /* Commit merges into the parent. */
    assert_int_equal(store_txn_begin_child(t, &child), 0);
    assert_non_null(child);
    expect_get(child, STORE_DB_META, "parent", "p"); /* sees the parent's writes */
    assert_int_equal(put_str(child, STORE_DB_META, "child1", "c1"), 0);
    assert_int_equal(put_str(child, STORE_DB_META, "parent", "changed by child"), 0);
    assert_int_equal(store_txn_commit(&child), 0);
    assert_null(child);
    expect_get(t, STORE_DB_META, "child1", "c1");
    expect_get(t, STORE_DB_META, "parent", "changed by child");

    /* Abort discards. */
    assert_int_equal(store_txn_begin_child(t, &child), 0);
    assert_int_equal(put_str(child, STORE_DB_META, "child2", "c2"), 0);
    store_key_t k;
    key_str(&k, "child1");
    assert_int_equal(store_del(child, STORE_DB_META, &k), 0);
    store_txn_abort(&child);
    assert_null(child);
    expect_get(t, STORE_DB_META, "child2", NULL);
    expect_get(t, STORE_DB_META, "child1", "c1");

    /* A child that fails: its commit reports the error and discards its writes; the parent
     * is unharmed and carries on (one request of a group commit failing alone). */
    assert_int_equal(store_txn_begin_child(t, &child), 0);
    assert_int_equal(put_str(child, STORE_DB_META, "zzz", "last"), 0);
    assert_int_equal(put_str(child, STORE_DB_META, "child3", "c3"), 0);
    key_str(&k, "aaa");
    int err = store_put(child, STORE_DB_META, &k, "x", 1, STORE_APPEND);
    assert_true(err < 0);
    assert_int_equal(store_txn_commit(&child), err);
    assert_null(child);
    assert_int_equal(store_txn_error(t), 0);
    expect_get(t, STORE_DB_META, "child3", NULL);
    expect_get(t, STORE_DB_META, "zzz", NULL);
    assert_int_equal(put_str(t, STORE_DB_META, "parent2", "p2"), 0);
    assert_int_equal(store_txn_commit(&t), 0);

    assert_int_equal(store_txn_begin(st, false, &t), 0);
    expect_get(t, STORE_DB_META, "parent", "changed by child");
    expect_get(t, STORE_DB_META, "child1", "c1");
    expect_get(t, STORE_DB_META, "parent2", "p2");
    expect_get(t, STORE_DB_META, "child2", NULL);
    expect_get(t, STORE_DB_META, "child3", NULL);
    assert_int_equal(store_count(t, STORE_DB_META), 4); /* and "format" */
    store_txn_abort(&t);

    /* Aborting the parent discards a committed child too. */
    assert_int_equal(store_txn_begin(st, true, &t), 0);
    assert_int_equal(store_txn_begin_child(t, &child), 0);
    assert_int_equal(put_str(child, STORE_DB_META, "orphan", "o"), 0);
    assert_int_equal(store_txn_commit(&child), 0);
    store_txn_abort(&t);
    assert_int_equal(store_txn_begin(st, false, &t), 0);
    expect_get(t, STORE_DB_META, "orphan", NULL);
    store_txn_abort(&t);
    store_close(&st);
}

#define VAL_LEN 4000
#define BATCH   64 /* about 256 KiB per batch */

/* Writes one batch of values with keys batch:i; returns 0 or the first error. */
static int write_batch(store_t *st, uint32_t batch, const uint8_t *val)
{
    store_txn_t *t = NULL;
    int rc = store_txn_begin(st, true, &t);
    if (rc != 0)
        return rc;
    for (uint32_t i = 0; i < BATCH; i++) {
        store_key_t k;
        store_key_reset(&k);
        store_key_u32(&k, batch);
        store_key_u32(&k, i);
        if ((rc = store_put(t, STORE_DB_EVENTS, &k, val, VAL_LEN, STORE_APPEND)) != 0) {
            assert_int_equal(store_txn_error(t), rc);
            /* Sticky: the commit reports it too. */
            assert_int_equal(store_txn_commit(&t), rc);
            return rc;
        }
    }
    return store_txn_commit(&t);
}

static void test_map_growth(void **state)
{
    (void)state;
    char dir[600];
    new_dir(dir, sizeof dir);
    store_t *st = open_store(dir, MIB, 64 * MIB);
    uint8_t *val = malloc(VAL_LEN);
    assert_non_null(val);
    memset(val, 0x5a, VAL_LEN);
    uint64_t map, used;
    store_usage(st, &map, &used);
    assert_int_equal(map, MIB);

    uint32_t batches = 0;
    int retries = 0, rc;
    for (;;) {
        rc = write_batch(st, batches, val);
        if (rc == 0) {
            batches++;
            continue;
        }
        assert_int_equal(rc, ERR_RETRY);
        retries++;
        uint64_t before;
        store_usage(st, &before, &used);
        rc = store_grow(st);
        if (rc == ERR_LIMIT)
            break;
        assert_int_equal(rc, 0);
        store_usage(st, &map, &used);
        assert_int_equal(map, 2 * before); /* doubles */
        /* Redo the same batch: it fits now. */
        assert_int_equal(write_batch(st, batches, val), 0);
        batches++;
    }
    store_usage(st, &map, &used);
    assert_int_equal(map, 64 * MIB);
    assert_true(used <= map);
    assert_int_equal(retries, 7); /* 1 -> 2 -> ... -> 64 MiB, then the limit */
    assert_int_equal(store_grow(st), ERR_LIMIT);
    /* Nearly the whole maximum was filled. */
    assert_true((uint64_t)batches * BATCH * VAL_LEN > 48 * MIB);
    store_close(&st);

    /* Everything committed survives a reopen (with a smaller configured map: the file's size
     * wins), and every value is intact. */
    st = open_store(dir, MIB, 64 * MIB);
    store_usage(st, &map, &used);
    assert_true(map >= used);
    store_txn_t *t = NULL;
    assert_int_equal(store_txn_begin(st, false, &t), 0);
    assert_int_equal(store_count(t, STORE_DB_EVENTS), (uint64_t)batches * BATCH);
    store_iter_t it;
    store_val_t k, v;
    assert_int_equal(store_iter_open(t, STORE_DB_EVENTS, NULL, NULL, &it), 0);
    uint64_t n = 0;
    while ((rc = store_iter_next(&it, &k, &v)) == 0) {
        assert_int_equal(k.len, 8);
        assert_int_equal(store_read_u32(k.data), n / BATCH);
        assert_int_equal(store_read_u32((const uint8_t *)k.data + 4), n % BATCH);
        assert_int_equal(v.len, VAL_LEN);
        assert_memory_equal(v.data, val, VAL_LEN);
        n++;
    }
    assert_int_equal(rc, ERR_NOT_FOUND);
    assert_int_equal(n, (uint64_t)batches * BATCH);
    store_iter_close(&it);
    store_val_t lk;
    assert_int_equal(store_last(t, STORE_DB_EVENTS, &lk, &v), 0);
    assert_int_equal(store_read_u32(lk.data), batches - 1);
    store_txn_abort(&t);
    store_close(&st);
    free(val);
}

/* Flips one bit of the first occurrence of marker in dir/data.mdb. */
static void flip_in_file(const char *dir, const char *marker)
{
    char path[700];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    char *at = memmem(buf, (size_t)size, marker, strlen(marker));
    assert_non_null(at);
    fseek(f, at - buf + 3, SEEK_SET);
    fputc(buf[at - buf + 3] ^ 0x04, f);
    fclose(f);
    free(buf);
}

static void test_damage_detected(void **state)
{
    (void)state;
    char dir[600];
    new_dir(dir, sizeof dir);
    store_t *st = open_store(dir, 1 << 20, 1 << 20);
    store_txn_t *t;
    assert_int_equal(store_txn_begin(st, true, &t), 0);
    assert_int_equal(put_str(t, STORE_DB_LEARNERS, "k1", "VALUE-ONE-FOR-FLIPPING"), 0);
    assert_int_equal(put_str(t, STORE_DB_LEARNERS, "k2", "value two stays good"), 0);
    assert_int_equal(put_str(t, STORE_DB_EVIDENCE_ID, "KEY-OF-A-TOOL", "x"), 0);
    assert_int_equal(store_txn_commit(&t), 0);
    store_close(&st);
    flip_in_file(dir, "VALUE-ONE-FOR-FLIPPING");
    flip_in_file(dir, "KEY-OF-A-TOOL"); /* a key: its value no longer matches it */

    st = open_store(dir, 1 << 20, 1 << 20);
    uint64_t records, damaged;
    assert_int_equal(store_verify_all(st, &records, &damaged), 0);
    assert_int_equal(records, 4); /* and "format" */
    assert_int_equal(damaged, 2);
    assert_int_equal(store_txn_begin(st, false, &t), 0);
    store_key_t k;
    store_val_t v;
    key_str(&k, "k1");
    assert_int_equal(store_get(t, STORE_DB_LEARNERS, &k, &v), ERR_DATA_LOSS);
    const char *name;
    assert_true(store_damage(st, &name) >= 3);
    assert_string_equal(name, "learners key 6b31"); /* "k1" in hex, never the value */
    store_txn_abort(&t);
    /* The good record next to it reads, also through an iterator that stops at the bad one. */
    assert_int_equal(store_txn_begin(st, false, &t), 0);
    expect_get(t, STORE_DB_LEARNERS, "k2", "value two stays good");
    store_iter_t it;
    store_val_t ik, iv;
    assert_int_equal(store_iter_open(t, STORE_DB_LEARNERS, NULL, NULL, &it), 0);
    assert_int_equal(store_iter_next(&it, &ik, &iv), ERR_DATA_LOSS);
    store_iter_close(&it);
    store_txn_abort(&t);
    store_close(&st);
    rm_env(dir);
}

/* A store written before checksums (format 1: no "format" record, bare values) is migrated at
 * open: every value readable, the format record written, and nothing lost. */
static void test_migrate_plain(void **state)
{
    (void)state;
    char dir[600];
    new_dir(dir, sizeof dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    static const char *const names[] = {"meta",   "frameworks",  "learners",   "evidence_ids",
                                        "events", "credentials", "cred_index", "status"};
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 12), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(mdb_dbi_open(txn, names[i], MDB_CREATE, &dbi), 0);
        if (i == STORE_DB_LEARNERS) {
            char key[16], val[600];
            for (int n = 0; n < 3000; n++) { /* several pages, one value on an overflow page */
                snprintf(key, sizeof key, "k%05d", n);
                memset(val, 'a' + n % 26, sizeof val);
                MDB_val mk = {strlen(key), key}, mv = {n == 7 ? sizeof val : (size_t)(n % 40), val};
                assert_int_equal(mdb_put(txn, dbi, &mk, &mv, 0), 0);
            }
        }
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    store_t *st = open_store(dir, 1 << 24, 1 << 24);
    assert_int_equal(store_format_opened(st), STORE_FORMAT_PLAIN);
    store_txn_t *t;
    assert_int_equal(store_txn_begin(st, false, &t), 0);
    store_iter_t it;
    store_val_t k, v;
    int n = 0, rc;
    assert_int_equal(store_iter_open(t, STORE_DB_LEARNERS, NULL, NULL, &it), 0);
    while ((rc = store_iter_next(&it, &k, &v)) == 0) {
        size_t want = n == 7 ? 600 : (size_t)(n % 40);
        assert_int_equal(v.len, want);
        for (size_t i = 0; i < v.len; i++)
            assert_int_equal(((const char *)v.data)[i], 'a' + n % 26);
        n++;
    }
    assert_int_equal(rc, ERR_NOT_FOUND);
    assert_int_equal(n, 3000);
    store_iter_close(&it);
    store_txn_abort(&t);
    store_close(&st);
    /* Reopened: already current, and every record checks. */
    st = open_store(dir, 1 << 24, 1 << 24);
    assert_int_equal(store_format_opened(st), STORE_FORMAT_CHECKSUMS); /* 3 is records_upgrade's */
    uint64_t records, damaged;
    assert_int_equal(store_verify_all(st, &records, &damaged), 0);
    assert_int_equal(records, 3001);
    assert_int_equal(damaged, 0);
    store_close(&st);
    rm_env(dir);
}

/* A file with committed transactions but without masteryd's databases (what a damaged meta
 * page looks like to LMDB) is refused, not started empty. */
static void test_missing_databases_refused(void **state)
{
    (void)state;
    char dir[600];
    new_dir(dir, sizeof dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    MDB_val mk = {3, "abc"}, mv = {3, "xyz"};
    assert_int_equal(mdb_put(txn, dbi, &mk, &mv, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    store_t *st = NULL;
    err_detail_t d;
    err_clear(&d);
    assert_int_equal(store_open(dir, 1 << 20, 1 << 20, &st, &d), ERR_DATA_LOSS);
    assert_null(st);
    assert_string_equal(d.field, "data_dir");
    assert_non_null(strstr(d.message, "restore it from a backup"));
    rm_env(dir);
}

/* Drops database `name` from the environment in dir (raw LMDB): a store as an older masteryd
 * made it, before that database existed. */
static void drop_db(const char *dir, const char *name)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, name, 0, &dbi), 0);
    assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* A format 3 store (what masteryd made before issue 15: no "reviews" database) gets the
 * database at open and format 5 from records_upgrade, every record kept; a format 5 file
 * without it is damage, refused. */
static void test_upgrade_format3_adds_reviews(void **state)
{
    (void)state;
    char dir[600];
    new_dir(dir, sizeof dir);
    store_t *st = open_store(dir, 1 << 24, 1 << 24);
    store_txn_t *t;
    assert_int_equal(store_txn_begin(st, true, &t), 0);
    /* 500 learners' state records (H(learner) 'S' H(fw) H(comp)): records the upgrade to
     * format 7 keeps as they are, beside the secret it gives each learner */
    for (int i = 0; i < 500; i++) {
        char id[16];
        snprintf(id, sizeof id, "k%04d", i);
        store_key_t k;
        store_key_reset(&k);
        store_key_hash(&k, id);
        store_key_byte(&k, 'S');
        store_key_hash(&k, "fw");
        store_key_hash(&k, "c");
        records_state_t s = {.status = 1, .evidence_count = (uint32_t)i};
        assert_int_equal(store_put(t, STORE_DB_LEARNERS, &k, &s, sizeof s, 0), 0);
    }
    assert_int_equal(store_format_set(t, STORE_FORMAT_SCOPED_IDS), 0);
    assert_int_equal(store_txn_commit(&t), 0);
    store_close(&st);
    drop_db(dir, "reviews");

    st = open_store(dir, 1 << 24, 1 << 24); /* the database is created empty at open */
    assert_int_equal(store_format_opened(st), STORE_FORMAT_SCOPED_IDS);
    assert_int_equal(store_format(st), STORE_FORMAT_SCOPED_IDS);
    err_detail_t ud;
    vault_t *vault = NULL; /* format 7 seals under store.key, beside data.mdb here */
    assert_int_equal(identity_vault(st, dir, true, 0, &vault, &ud), 0);
    assert_int_equal(records_upgrade(st, &ud), 0); /* and the file says current (5 and up) */
    assert_int_equal(store_format(st), STORE_FORMAT_CURRENT);
    assert_int_equal(store_txn_begin(st, true, &t), 0);
    assert_int_equal(store_count(t, STORE_DB_LEARNERS), 500 + 500); /* states and secrets */
    uint8_t lh[STORE_HASH_LEN], fh[STORE_HASH_LEN], ch[STORE_HASH_LEN];
    store_hash_id("k0499", lh);
    store_hash_id("fw", fh);
    store_hash_id("c", ch);
    records_state_t back;
    assert_int_equal(records_state_get(t, lh, fh, ch, &back), 0);
    assert_int_equal(back.evidence_count, 499);
    assert_int_equal(store_count(t, STORE_DB_REVIEWS), 0);
    assert_int_equal(put_str(t, STORE_DB_REVIEWS, "due", "x"), 0);
    assert_int_equal(store_txn_commit(&t), 0);
    store_close(&st);
    vault_destroy(&vault);
    st = open_store(dir, 1 << 24, 1 << 24); /* current now: nothing more to do */
    assert_int_equal(store_format_opened(st), STORE_FORMAT_CURRENT);
    uint64_t records, damaged;
    assert_int_equal(store_verify_all(st, &records, &damaged), 0);
    assert_int_equal(damaged, 0);
    store_close(&st);

    drop_db(dir, "reviews"); /* format 5 and up say it must be there */
    store_t *bad = NULL;
    err_detail_t d;
    err_clear(&d);
    assert_int_equal(store_open(dir, 1 << 24, 1 << 24, &bad, &d), ERR_DATA_LOSS);
    assert_null(bad);
    assert_non_null(strstr(d.message, "'reviews'"));
    rm_env(dir);
}

/* ---- write-behind (store.h): a randomized comparison with a model --------------------------
 * Random puts and deletes in two deferred databases, in top-level and nested transactions that
 * commit or abort, with sweep steps of random sizes, reopens (the overlay is dropped: the wal
 * is replayed) and full flushes in between; after every step, every key's get, prefix walks
 * with and without start keys, and the counts must equal the model's. */
#define WB_KEYS 96
#define WB_DBS  2

typedef struct wb_model {
    char val[WB_DBS][WB_KEYS][24]; /* "" = absent */
} wb_model_t;

static const store_db_t wb_db[WB_DBS] = {STORE_DB_LEARNERS, STORE_DB_EVIDENCE_ID};
static uint64_t wb_rng = 88172645463325252ull;

static uint64_t wb_next(void)
{
    wb_rng ^= wb_rng << 13;
    wb_rng ^= wb_rng >> 7;
    wb_rng ^= wb_rng << 17;
    return wb_rng;
}

/* Keys of varied lengths sharing prefixes: "k", "k3", "k37", ... (a prefix before its
 * extensions, as LMDB orders them). */
static void wb_key(int i, char *out)
{
    snprintf(out, 16, "k%d", i / 2);
    if (i % 2)
        strcat(out, "x");
}

static int wb_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void wb_check(store_t *st, const wb_model_t *m)
{
    store_txn_t *t = NULL;
    assert_int_equal(store_txn_begin(st, false, &t), 0);
    for (int d = 0; d < WB_DBS; d++) {
        uint64_t live = 0;
        for (int i = 0; i < WB_KEYS; i++) {
            char k[16];
            wb_key(i, k);
            expect_get(t, wb_db[d], k, m->val[d][i][0] ? m->val[d][i] : NULL);
            live += m->val[d][i][0] != 0;
        }
        assert_int_equal(store_count(t, wb_db[d]), live);
        /* Walks: the whole database, and a random prefix from a random start. */
        for (int w = 0; w < 3; w++) {
            char pfx[16] = "", from[16] = "";
            if (w > 0)
                snprintf(pfx, sizeof pfx, "k%d", (int)(wb_next() % 12));
            if (w == 2)
                wb_key((int)(wb_next() % WB_KEYS), from);
            const char *want[WB_KEYS];
            char keys[WB_KEYS][16];
            size_t n = 0;
            for (int i = 0; i < WB_KEYS; i++) {
                wb_key(i, keys[i]);
                if (m->val[d][i][0] && strncmp(keys[i], pfx, strlen(pfx)) == 0 &&
                    strcmp(keys[i], from) >= 0)
                    want[n++] = keys[i];
            }
            qsort(want, n, sizeof want[0], wb_cmp);
            store_key_t p, sk;
            key_str(&p, pfx);
            key_str(&sk, from);
            store_iter_t it;
            assert_int_equal(store_iter_open(t, wb_db[d], &p, from[0] ? &sk : NULL, &it), 0);
            store_val_t kv, vv;
            size_t got = 0;
            while (store_iter_next(&it, &kv, &vv) == 0) {
                assert_true(got < n);
                assert_int_equal(kv.len, strlen(want[got]));
                assert_memory_equal(kv.data, want[got], kv.len);
                int i = 0;
                while (i < WB_KEYS && strcmp(keys[i], want[got]) != 0)
                    i++;
                assert_int_equal(vv.len, strlen(m->val[d][i]));
                assert_memory_equal(vv.data, m->val[d][i], vv.len);
                got++;
            }
            store_iter_close(&it);
            assert_int_equal(got, n);
        }
    }
    assert_int_equal(store_txn_error(t), 0);
    store_txn_abort(&t);
}

/* Random changes to t and m; a child transaction now and then (recursively, once). */
static void wb_changes(store_txn_t *t, wb_model_t *m, int depth)
{
    int n = 1 + (int)(wb_next() % 12);
    for (int c = 0; c < n; c++) {
        int d = (int)(wb_next() % WB_DBS), i = (int)(wb_next() % WB_KEYS);
        char k[16];
        wb_key(i, k);
        store_key_t key;
        key_str(&key, k);
        uint64_t r = wb_next() % 10;
        if (r < 3) {
            assert_int_equal(store_del(t, wb_db[d], &key), 0);
            m->val[d][i][0] = '\0';
        } else if (r < 9 || depth > 0) {
            snprintf(m->val[d][i], sizeof m->val[d][i], "v%llu",
                     (unsigned long long)(wb_next() % 100000));
            assert_int_equal(store_put(t, wb_db[d], &key, m->val[d][i], strlen(m->val[d][i]), 0),
                             0);
        } else {
            wb_model_t saved = *m;
            store_txn_t *child = NULL;
            assert_int_equal(store_txn_begin_child(t, &child), 0);
            wb_changes(child, m, depth + 1);
            if (wb_next() % 2) {
                assert_int_equal(store_txn_commit(&child), 0);
            } else {
                store_txn_abort(&child);
                *m = saved;
            }
        }
    }
}

static void test_write_behind_model(void **state)
{
    (void)state;
    char dir[600];
    new_dir(dir, sizeof dir);
    store_t *st = open_store(dir, 16 * MIB, 64 * MIB);
    assert_int_equal(store_write_behind(st, 1 * MIB), 0);
    wb_model_t *m = calloc(1, sizeof *m);
    assert_non_null(m);
    uint64_t reopens = 0, sweeps = 0;
    for (int step = 0; step < 1500; step++) {
        uint64_t r = wb_next() % 100;
        if (r < 60) {
            wb_model_t saved = *m;
            store_txn_t *t = NULL;
            assert_int_equal(store_txn_begin(st, true, &t), 0);
            wb_changes(t, m, 0);
            if (wb_next() % 5) {
                assert_int_equal(store_txn_commit(&t), 0);
            } else {
                store_txn_abort(&t);
                *m = saved;
            }
        } else if (r < 90) {
            bool done = false;
            assert_int_equal(store_flush_step(st, (size_t)(wb_next() % 2000), &done), 0);
            sweeps += done;
        } else if (r < 97) {
            store_close(&st); /* what the overlay held is in the wal only */
            st = open_store(dir, 16 * MIB, 64 * MIB);
            reopens++;
            if (wb_next() % 2)
                assert_int_equal(store_write_behind(st, 1 * MIB), 0);
            /* else: read and written through the replayed overlay, never swept */
        } else {
            assert_int_equal(store_flush_all(st), 0);
            store_wb_stats_t w;
            store_wb_stats(st, &w);
            assert_int_equal(w.nodes, 0);
            assert_int_equal(w.wal_records, 0);
        }
        wb_check(st, m);
    }
    assert_true(reopens > 50 && sweeps > 50);
    /* Written back and reopened without write-behind: LMDB alone holds the model. */
    assert_int_equal(store_write_behind(st, 1 * MIB), 0);
    assert_int_equal(store_flush_all(st), 0);
    store_close(&st);
    st = open_store(dir, 16 * MIB, 64 * MIB);
    store_wb_stats_t w;
    store_wb_stats(st, &w);
    assert_false(w.on);
    assert_int_equal(w.replayed_records, 0);
    wb_check(st, m);
    uint64_t records, damaged;
    assert_int_equal(store_verify_all(st, &records, &damaged), 0);
    assert_int_equal(damaged, 0);
    store_close(&st);
    free(m);
    rm_env(dir);
}

/* A walk sees what its own transaction writes while it walks, as an LMDB cursor does: keys put
 * or deleted ahead of it, in the overlay or over the base, and nodes a child's abort removed. */
static void test_write_behind_walk_sees_writes(void **state)
{
    (void)state;
    char dir[600];
    new_dir(dir, sizeof dir);
    store_t *st = open_store(dir, 16 * MIB, 64 * MIB);
    assert_int_equal(store_write_behind(st, 1 * MIB), 0);
    wb_model_t *m = calloc(1, sizeof *m);
    assert_non_null(m);
    for (int round = 0; round < 200; round++) {
        store_txn_t *t = NULL;
        assert_int_equal(store_txn_begin(st, true, &t), 0);
        wb_changes(t, m, 1); /* some keys in the overlay, uncommitted */
        store_key_t p;
        key_str(&p, "k");
        store_iter_t it;
        assert_int_equal(store_iter_open(t, STORE_DB_LEARNERS, &p, NULL, &it), 0);
        char last[16] = "";
        store_val_t kv, vv;
        for (;;) {
            /* Expected: the model's first live key after last. */
            const char *want = NULL;
            char keys[WB_KEYS][16];
            int wi = -1;
            for (int i = 0; i < WB_KEYS; i++) {
                wb_key(i, keys[i]);
                if (m->val[0][i][0] && strcmp(keys[i], last) > 0 &&
                    (want == NULL || strcmp(keys[i], want) < 0))
                    want = keys[i], wi = i;
            }
            int rc = store_iter_next(&it, &kv, &vv);
            if (want == NULL) {
                assert_int_equal(rc, ERR_NOT_FOUND);
                break;
            }
            assert_int_equal(rc, 0);
            assert_int_equal(kv.len, strlen(want));
            assert_memory_equal(kv.data, want, kv.len);
            assert_int_equal(vv.len, strlen(m->val[0][wi]));
            assert_memory_equal(vv.data, m->val[0][wi], vv.len);
            memcpy(last, want, strlen(want) + 1);
            /* Write while walking: put or delete anywhere, or a child that aborts. */
            int i = (int)(wb_next() % WB_KEYS);
            char k[16];
            wb_key(i, k);
            store_key_t key;
            key_str(&key, k);
            uint64_t r = wb_next() % 4;
            if (r == 0) {
                assert_int_equal(store_del(t, STORE_DB_LEARNERS, &key), 0);
                m->val[0][i][0] = '\0';
            } else if (r < 3) {
                snprintf(m->val[0][i], sizeof m->val[0][i], "w%d", round);
                assert_int_equal(
                    store_put(t, STORE_DB_LEARNERS, &key, m->val[0][i], strlen(m->val[0][i]), 0),
                    0);
            } else {
                store_txn_t *child = NULL;
                assert_int_equal(store_txn_begin_child(t, &child), 0);
                assert_int_equal(store_put(child, STORE_DB_LEARNERS, &key, "gone", 4, 0), 0);
                store_txn_abort(&child);
            }
        }
        store_iter_close(&it);
        assert_int_equal(store_txn_commit(&t), 0);
        if (round % 10 == 9) {
            bool done;
            assert_int_equal(store_flush_step(st, 300, &done), 0);
        }
    }
    wb_check(st, m);
    store_close(&st);
    free(m);
    rm_env(dir);
}

/* A damaged write-ahead record refuses the open, naming it, instead of serving less. */
static void test_write_behind_damaged_record(void **state)
{
    (void)state;
    char dir[600];
    new_dir(dir, sizeof dir);
    store_t *st = open_store(dir, 4 * MIB, 4 * MIB);
    assert_int_equal(store_write_behind(st, 1 * MIB), 0);
    store_txn_t *t = NULL;
    assert_int_equal(store_txn_begin(st, true, &t), 0);
    assert_int_equal(put_str(t, STORE_DB_LEARNERS, "learner-key", "a value to find"), 0);
    assert_int_equal(store_txn_commit(&t), 0);
    store_close(&st);
    /* Flip a byte of the record's value in the file (it is the only place it is). */
    char path[700];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    char *buf = malloc((size_t)len);
    fseek(f, 0, SEEK_SET);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    char *hit = memmem(buf, (size_t)len, "a value to find", 15);
    assert_non_null(hit);
    fseek(f, hit - buf, SEEK_SET);
    fputc('A', f);
    fclose(f);
    free(buf);
    store_t *bad = NULL;
    err_detail_t d;
    err_clear(&d);
    assert_int_equal(store_open(dir, 4 * MIB, 4 * MIB, &bad, &d), ERR_DATA_LOSS);
    assert_null(bad);
    assert_non_null(strstr(d.message, "write-ahead record 0"));
    rm_env(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_put_get_del),
        cmocka_unit_test(test_open_failure),
        cmocka_unit_test(test_iteration),
        cmocka_unit_test(test_key_encodings),
        cmocka_unit_test(test_sticky_error),
        cmocka_unit_test(test_child_transactions),
        cmocka_unit_test(test_map_growth),
        cmocka_unit_test(test_damage_detected),
        cmocka_unit_test(test_migrate_plain),
        cmocka_unit_test(test_missing_databases_refused),
        cmocka_unit_test(test_upgrade_format3_adds_reviews),
        cmocka_unit_test(test_write_behind_model),
        cmocka_unit_test(test_write_behind_walk_sees_writes),
        cmocka_unit_test(test_write_behind_damaged_record),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
