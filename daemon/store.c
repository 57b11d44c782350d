#include "store.h"

#include <errno.h>
#include <lmdb.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct store {
    MDB_env *env;
    MDB_dbi dbi[STORE_DB_COUNT];
    uint64_t map_size;
    uint64_t map_size_max;
};

struct store_txn {
    store_t *st;
    MDB_txn *txn;
    int ret; /* sticky error */
};

static const char *const store_db_names[STORE_DB_COUNT] = {
    "meta",   "frameworks",  "learners",   "evidence_ids",
    "events", "credentials", "cred_index", "status",
};

/* The one place LMDB's codes become ours. */
static int store_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return ERR_NOT_FOUND;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
        return ERR_RETRY;
    case ENOSPC:
    case EIO:
    case EDQUOT:
    case EROFS:
    case ENOMEM:
        return ERR_UNAVAILABLE;
    default:
        return ERR_INTERNAL;
    }
}

void store_key_reset(store_key_t *k)
{
    k->len = 0;
    k->overflow = false;
}

void store_key_bytes(store_key_t *k, const void *p, size_t n)
{
    if (k->overflow || n > sizeof k->b - k->len) {
        k->overflow = true;
        return;
    }
    memcpy(k->b + k->len, p, n);
    k->len += n;
}

void store_hash_id(const char *id, uint8_t out[STORE_HASH_LEN])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)id, strlen(id), md);
    memcpy(out, md, STORE_HASH_LEN);
}

void store_key_hash(store_key_t *k, const char *id)
{
    uint8_t h[STORE_HASH_LEN];
    store_hash_id(id, h);
    store_key_bytes(k, h, STORE_HASH_LEN);
}

void store_key_byte(store_key_t *k, uint8_t b)
{
    store_key_bytes(k, &b, 1);
}

void store_key_u32(store_key_t *k, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    store_key_bytes(k, b, sizeof b);
}

void store_key_u64(store_key_t *k, uint64_t v)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
    store_key_bytes(k, b, sizeof b);
}

void store_key_i64(store_key_t *k, int64_t v)
{
    store_key_u64(k, (uint64_t)v ^ (1ull << 63));
}

uint64_t store_read_u64(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
}

uint32_t store_read_u32(const void *p)
{
    const uint8_t *b = p;
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

int store_open(const char *dir, uint64_t map_size, uint64_t map_size_max, store_t **out,
               err_detail_t *d)
{
    store_t *st = calloc(1, sizeof *st);
    MDB_txn *txn = NULL;
    int rc;
    if (st == NULL)
        return err_set(d, ERR_NOMEM, "store", "out of memory");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = err_set(d, ERR_UNAVAILABLE, "data_dir", "cannot create %s: %s", dir, strerror(errno));
        goto fail;
    }
    st->map_size = map_size;
    st->map_size_max = map_size_max < map_size ? map_size : map_size_max;
    if ((rc = mdb_env_create(&st->env)) != 0 ||
        (rc = mdb_env_set_maxdbs(st->env, STORE_DB_COUNT + 4)) != 0 ||
        (rc = mdb_env_set_mapsize(st->env, (size_t)map_size)) != 0) {
        rc = err_set(d, store_err(rc), "store", "lmdb: %s", mdb_strerror(rc));
        goto fail;
    }
    /* Default flags: fully synced commits. MDB_NOTLS: read transactions are not tied to a
     * thread (the daemon is single-threaded; this just avoids a TLS slot per reader). */
    if ((rc = mdb_env_open(st->env, dir, MDB_NOTLS, 0600)) != 0) {
        rc = err_set(d, store_err(rc), "data_dir", "cannot open LMDB environment in %s: %s", dir,
                     mdb_strerror(rc));
        goto fail;
    }
    int dead = 0;
    mdb_reader_check(st->env, &dead); /* slots of readers killed without cleanup */
    MDB_envinfo info;
    mdb_env_info(st->env, &info);
    if (info.me_mapsize > st->map_size)
        st->map_size = info.me_mapsize;
    if (st->map_size_max < st->map_size)
        st->map_size_max = st->map_size;
    if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0) {
        rc = err_set(d, store_err(rc), "store", "lmdb: %s", mdb_strerror(rc));
        goto fail;
    }
    for (int i = 0; i < STORE_DB_COUNT; i++) {
        if ((rc = mdb_dbi_open(txn, store_db_names[i], MDB_CREATE, &st->dbi[i])) != 0) {
            rc = err_set(d, store_err(rc), "store", "lmdb: cannot open database %s: %s",
                         store_db_names[i], mdb_strerror(rc));
            goto fail;
        }
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        txn = NULL;
        rc = err_set(d, store_err(rc), "store", "lmdb: %s", mdb_strerror(rc));
        goto fail;
    }
    *out = st;
    return 0;
fail:
    if (txn)
        mdb_txn_abort(txn);
    if (st->env)
        mdb_env_close(st->env);
    free(st);
    return rc;
}

void store_close(store_t **stp)
{
    if (stp == NULL || *stp == NULL)
        return;
    mdb_env_close((*stp)->env);
    free(*stp);
    *stp = NULL;
}

int store_grow(store_t *st)
{
    if (st->map_size >= st->map_size_max)
        return ERR_LIMIT;
    uint64_t next = st->map_size * 2;
    if (next > st->map_size_max)
        next = st->map_size_max;
    int rc = mdb_env_set_mapsize(st->env, (size_t)next);
    if (rc != 0)
        return store_err(rc);
    st->map_size = next;
    return 0;
}

void store_usage(store_t *st, uint64_t *map_size, uint64_t *used)
{
    MDB_envinfo info;
    MDB_stat stat;
    mdb_env_info(st->env, &info);
    mdb_env_stat(st->env, &stat);
    *map_size = info.me_mapsize;
    *used = ((uint64_t)info.me_last_pgno + 1) * stat.ms_psize;
}

uint64_t store_readers(store_t *st)
{
    MDB_envinfo info;
    mdb_env_info(st->env, &info);
    return info.me_numreaders;
}

int store_txn_begin(store_t *st, bool write, store_txn_t **out)
{
    store_txn_t *t = malloc(sizeof *t);
    if (t == NULL)
        return ERR_NOMEM;
    t->st = st;
    t->ret = 0;
    int rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc != 0) {
        free(t);
        return store_err(rc);
    }
    *out = t;
    return 0;
}

/* Records the first failure; returns the sticky error. */
static int store_fail(store_txn_t *t, int mdb_rc)
{
    if (t->ret == 0)
        t->ret = store_err(mdb_rc);
    return t->ret;
}

int store_txn_begin_child(store_txn_t *parent, store_txn_t **out)
{
    if (parent->ret != 0)
        return parent->ret;
    store_txn_t *t = malloc(sizeof *t);
    if (t == NULL)
        return ERR_NOMEM;
    t->st = parent->st;
    t->ret = 0;
    int rc = mdb_txn_begin(parent->st->env, parent->txn, 0, &t->txn);
    if (rc != 0) {
        free(t);
        return store_fail(parent, rc);
    }
    *out = t;
    return 0;
}

int store_txn_commit(store_txn_t **tp)
{
    store_txn_t *t = *tp;
    int rc = t->ret;
    if (rc != 0)
        mdb_txn_abort(t->txn);
    else
        rc = store_err(mdb_txn_commit(t->txn));
    free(t);
    *tp = NULL;
    return rc;
}

void store_txn_abort(store_txn_t **tp)
{
    if (tp == NULL || *tp == NULL)
        return;
    mdb_txn_abort((*tp)->txn);
    free(*tp);
    *tp = NULL;
}

int store_txn_error(const store_txn_t *t)
{
    return t->ret;
}

int store_txn_fail(store_txn_t *t, int err)
{
    if (t->ret == 0)
        t->ret = err < 0 ? err : ERR_INTERNAL;
    return t->ret;
}

int store_get(store_txn_t *t, store_db_t db, const store_key_t *key, store_val_t *val)
{
    if (t->ret != 0)
        return t->ret;
    if (key->overflow)
        return t->ret = ERR_INTERNAL;
    MDB_val k = {key->len, (void *)key->b}, v;
    int rc = mdb_get(t->txn, t->st->dbi[db], &k, &v);
    if (rc == MDB_NOTFOUND)
        return ERR_NOT_FOUND;
    if (rc != 0)
        return store_fail(t, rc);
    val->data = v.mv_data;
    val->len = v.mv_size;
    return 0;
}

int store_put(store_txn_t *t, store_db_t db, const store_key_t *key, const void *val, size_t len,
              unsigned flags)
{
    if (t->ret != 0)
        return t->ret;
    if (key->overflow)
        return t->ret = ERR_INTERNAL;
    MDB_val k = {key->len, (void *)key->b}, v = {len, (void *)val};
    int rc = mdb_put(t->txn, t->st->dbi[db], &k, &v, (flags & STORE_APPEND) ? MDB_APPEND : 0);
    return rc == 0 ? 0 : store_fail(t, rc);
}

int store_del(store_txn_t *t, store_db_t db, const store_key_t *key)
{
    if (t->ret != 0)
        return t->ret;
    if (key->overflow)
        return t->ret = ERR_INTERNAL;
    MDB_val k = {key->len, (void *)key->b};
    int rc = mdb_del(t->txn, t->st->dbi[db], &k, NULL);
    if (rc == 0 || rc == MDB_NOTFOUND)
        return 0;
    return store_fail(t, rc);
}

int store_last(store_txn_t *t, store_db_t db, store_val_t *key, store_val_t *val)
{
    if (t->ret != 0)
        return t->ret;
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, t->st->dbi[db], &c);
    if (rc != 0)
        return store_fail(t, rc);
    MDB_val k, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        return ERR_NOT_FOUND;
    if (rc != 0)
        return store_fail(t, rc);
    key->data = k.mv_data;
    key->len = k.mv_size;
    if (val) {
        val->data = v.mv_data;
        val->len = v.mv_size;
    }
    return 0;
}

/* LMDB's default order: bytewise, a prefix before its extensions. */
static int store_key_cmp(const store_key_t *a, const store_key_t *b)
{
    int c = memcmp(a->b, b->b, a->len < b->len ? a->len : b->len);
    if (c != 0)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

int store_iter_open(store_txn_t *t, store_db_t db, const store_key_t *prefix,
                    const store_key_t *start, store_iter_t *it)
{
    memset(it, 0, sizeof *it);
    if (t->ret != 0)
        return t->ret;
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, t->st->dbi[db], &c);
    if (rc != 0)
        return store_fail(t, rc);
    it->cursor = c;
    it->txn = t;
    if (prefix)
        it->prefix = *prefix;
    if (start)
        it->start = *start;
    /* No start, or one that sorts before the prefix: begin at the prefix. */
    if (prefix && (start == NULL || store_key_cmp(start, prefix) < 0))
        it->start = *prefix;
    return 0;
}

int store_iter_next(store_iter_t *it, store_val_t *key, store_val_t *val)
{
    store_txn_t *t = it->txn;
    if (t == NULL)
        return ERR_NOT_FOUND;
    if (t->ret != 0)
        return t->ret;
    MDB_val k = {it->start.len, it->start.b}, v;
    int rc;
    if (!it->started) {
        it->started = true;
        rc = it->start.len ? mdb_cursor_get(it->cursor, &k, &v, MDB_SET_RANGE)
                           : mdb_cursor_get(it->cursor, &k, &v, MDB_FIRST);
    } else {
        rc = mdb_cursor_get(it->cursor, &k, &v, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND)
        return ERR_NOT_FOUND;
    if (rc != 0)
        return store_fail(t, rc);
    if (k.mv_size < it->prefix.len || memcmp(k.mv_data, it->prefix.b, it->prefix.len) != 0)
        return ERR_NOT_FOUND;
    key->data = k.mv_data;
    key->len = k.mv_size;
    val->data = v.mv_data;
    val->len = v.mv_size;
    return 0;
}

void store_iter_close(store_iter_t *it)
{
    if (it->cursor)
        mdb_cursor_close(it->cursor);
    it->cursor = NULL;
    it->txn = NULL;
}

uint64_t store_count(store_txn_t *t, store_db_t db)
{
    MDB_stat s;
    if (mdb_stat(t->txn, t->st->dbi[db], &s) != 0)
        return 0;
    return s.ms_entries;
}
