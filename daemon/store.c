#include "store.h"

#include "arena.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "crc32c.h"
#include "log.h"

struct store {
    MDB_env *env;
    MDB_dbi dbi[STORE_DB_COUNT];
    uint64_t map_size;
    uint64_t map_size_max;
    uint32_t format;        /* STORE_FORMAT_* of the values (current once migrated) */
    uint32_t format_opened; /* the file's format when opened */
    uint64_t damaged;       /* damaged records met since open */
    char last_damage[96];   /* "learners key 3fa1...": the most recent one */
    store_origin_t origin;  /* what data.mdb was before this open */
    struct vault *vault;    /* borrowed (store_set_vault) */
};

struct store_txn {
    store_t *st;
    MDB_txn *txn;
    int ret;           /* sticky error */
    store_txn_t *root; /* a child's top-level transaction; NULL for a top-level one */
    arena_t *scratch;  /* a top-level transaction's opened boxes (store_txn_scratch) */
};

static const char *const store_db_names[STORE_DB_COUNT] = {
    "meta",   "frameworks", "learners", "evidence_ids", "events", "credentials", "cred_index",
    "status", "log",        "log_tree", "reviews",      "groups", "risk",
};

/* The format that brought each database: an existing file of an older format lacks it, and
 * store_open creates it (empty) instead of calling the file damaged. */
static const uint32_t store_db_since_table[STORE_DB_COUNT] = {
    [STORE_DB_LOG] = STORE_FORMAT_LOG,         [STORE_DB_LOG_TREE] = STORE_FORMAT_LOG,
    [STORE_DB_REVIEWS] = STORE_FORMAT_REVIEWS, [STORE_DB_GROUPS] = STORE_FORMAT_GROUPS,
    [STORE_DB_RISK] = STORE_FORMAT_GROUPS,
};

static uint32_t store_db_since(int db)
{
    return store_db_since_table[db] ? store_db_since_table[db] : STORE_FORMAT_PLAIN;
}

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

/* ---- checksums -------------------------------------------------------------------------------
 * Every value is stored as its bytes followed by a little-endian CRC-32C of (database number,
 * key, value): a flipped bit in the key or the value, or a value under the wrong key or in the
 * wrong database, fails the check on read. LMDB has no page checksums. */

static uint32_t record_crc(store_db_t db, const void *key, size_t klen, const void *val,
                           size_t vlen)
{
    uint8_t tag = (uint8_t)db;
    uint32_t c = crc32c_extend(0, &tag, 1);
    c = crc32c_extend(c, key, klen);
    return crc32c_extend(c, val, vlen);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* How a damaged record is named in logs and replies: the database and the key in hex, except
 * evidence_ids, whose keys are a tool's own ids (free text): named by their hash instead. */
static void damage_name(store_db_t db, const MDB_val *k, char *out, size_t cap)
{
    uint8_t h[SHA256_DIGEST_LENGTH]; /* SHA256() writes all 32 bytes */
    const uint8_t *p = k->mv_data;
    size_t n = k->mv_size;
    const char *how = "key";
    if (db == STORE_DB_EVIDENCE_ID) {
        SHA256(k->mv_data, k->mv_size, h);
        p = h;
        n = 8;
        how = "key hash";
    } else if (n > 32) {
        n = 32; /* enough to find it with mdb_dump */
    }
    char hex[65];
    size_t hex_len;
    if (codec_hex_encode(p, n, hex, sizeof hex, &hex_len) != 0)
        hex[0] = '\0';
    snprintf(out, cap, "%s %s %s%s", store_db_names[db], how, hex,
             n < k->mv_size && db != STORE_DB_EVIDENCE_ID ? "..." : "");
}

/* Checks and strips the trailer of a value read from db. ERR_DATA_LOSS (sticky) on mismatch. */
static int record_open(store_txn_t *t, store_db_t db, const MDB_val *k, MDB_val *v)
{
    if (t->st->format < STORE_FORMAT_CHECKSUMS)
        return 0; /* a store being migrated: values have no trailer yet */
    if (v->mv_size >= STORE_TRAILER) {
        size_t n = v->mv_size - STORE_TRAILER;
        const uint8_t *p = v->mv_data;
        if (get_le32(p + n) == record_crc(db, k->mv_data, k->mv_size, p, n)) {
            v->mv_size = n;
            return 0;
        }
    }
    store_t *st = t->st;
    st->damaged++;
    damage_name(db, k, st->last_damage, sizeof st->last_damage);
    log_warnx("damaged record in %s (checksum mismatch): not served", st->last_damage);
    if (t->ret == 0)
        t->ret = ERR_DATA_LOSS;
    return ERR_DATA_LOSS;
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

/*
 * LMDB's meta pages, as liblmdb 0.9 lays them out on a 64-bit host (mdb.c: MDB_page header of
 * 16 bytes, then MDB_meta: magic u32, version u32, address, mapsize, two MDB_db of 48 bytes
 * whose first md_pad is the page size, last_pg, txnid). LMDB trusts them and maps the file:
 * a data.mdb shorter than its last page, or with a page size of 0, kills the process (SIGBUS,
 * SIGFPE) instead of returning an error, so store_open reads them first.
 */
#define LMDB_PAGEHDR      16
#define LMDB_P_META       0x08
#define LMDB_MAGIC        0xBEEFC0DEu
#define LMDB_VERSION      1u
#define LMDB_META_MAGIC   (LMDB_PAGEHDR + 0)
#define LMDB_META_VERSION (LMDB_PAGEHDR + 4)
#define LMDB_META_PSIZE   (LMDB_PAGEHDR + 24)          /* mm_dbs[FREE_DBI].md_pad */
#define LMDB_META_LAST_PG (LMDB_PAGEHDR + 24 + 2 * 48) /* after the two MDB_db */
#define LMDB_META_TXNID   (LMDB_META_LAST_PG + 8)
#define LMDB_META_END     (LMDB_META_TXNID + 8)

_Static_assert(sizeof(size_t) == 8, "the meta page offsets are those of a 64-bit LMDB");

typedef struct lmdb_meta {
    uint32_t psize;
    uint64_t last_pg, txnid;
} lmdb_meta_t;

static int meta_parse(const uint8_t *buf, size_t len, uint64_t at, const char *path, lmdb_meta_t *m,
                      err_detail_t *d)
{
    uint16_t flags;
    uint32_t magic, version;
    if (at > len || len - at < LMDB_META_END)
        return err_set(d, ERR_UNAVAILABLE, "data_dir",
                       "%s is damaged: its meta page at byte %llu cannot be read (truncated?). "
                       "Restore it from a backup (README: Backup and restore)",
                       path, (unsigned long long)at);
    const uint8_t *b = buf + at;
    memcpy(&flags, b + 10, 2);
    memcpy(&magic, b + LMDB_META_MAGIC, 4);
    memcpy(&version, b + LMDB_META_VERSION, 4);
    memcpy(&m->psize, b + LMDB_META_PSIZE, 4);
    memcpy(&m->last_pg, b + LMDB_META_LAST_PG, 8);
    memcpy(&m->txnid, b + LMDB_META_TXNID, 8);
    if (!(flags & LMDB_P_META) || magic != LMDB_MAGIC || version != LMDB_VERSION ||
        m->psize < 512 || m->psize > STORE_META_PSIZE_MAX || (m->psize & (m->psize - 1)) != 0)
        return err_set(d, ERR_UNAVAILABLE, "data_dir",
                       "%s is not an LMDB file of this version or its meta page at byte %llu is "
                       "damaged. Restore it from a backup (README: Backup and restore)",
                       path, (unsigned long long)at);
    return 0;
}

int store_meta_check(const uint8_t *head, size_t len, uint64_t file_size, const char *path,
                     err_detail_t *d)
{
    lmdb_meta_t m[2];
    int rc;
    if ((rc = meta_parse(head, len, 0, path, &m[0], d)) != 0 ||
        (rc = meta_parse(head, len, m[0].psize, path, &m[1], d)) != 0)
        return rc;
    const lmdb_meta_t *cur = m[1].txnid > m[0].txnid ? &m[1] : &m[0];
    if (m[1].psize != m[0].psize || cur->last_pg < 1 || cur->last_pg > (UINT64_MAX >> 17))
        return err_set(d, ERR_UNAVAILABLE, "data_dir",
                       "%s is damaged: its meta pages disagree. Restore it from a backup "
                       "(README: Backup and restore)",
                       path);
    uint64_t need = (cur->last_pg + 1) * (uint64_t)m[0].psize;
    if (file_size < need)
        return err_set(d, ERR_UNAVAILABLE, "data_dir",
                       "%s is truncated: %llu bytes, but its last committed page ends at byte "
                       "%llu. Restore it from a backup (README: Backup and restore)",
                       path, (unsigned long long)file_size, (unsigned long long)need);
    return 0;
}

/* Checks data.mdb's meta pages against its size before LMDB maps it; sets *origin. */
static int precheck(const char *dir, store_origin_t *origin, err_detail_t *d)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            return err_set(d, ERR_UNAVAILABLE, "data_dir", "cannot open %s: %s", path,
                           strerror(errno));
        *origin = STORE_NEW;
        return 0;
    }
    int rc = 0;
    uint8_t *head = NULL;
    if (fstat(fd, &st) != 0) {
        rc = err_set(d, ERR_UNAVAILABLE, "data_dir", "cannot stat %s: %s", path, strerror(errno));
    } else if (st.st_size == 0) {
        *origin = STORE_WAS_EMPTY_FILE; /* LMDB would start it afresh: the caller decides */
    } else if ((head = malloc(STORE_META_HEAD)) == NULL) {
        rc = err_set(d, ERR_NOMEM, "store", "out of memory");
    } else {
        ssize_t n = pread(fd, head, STORE_META_HEAD, 0);
        if (n < 0)
            rc = err_set(d, ERR_UNAVAILABLE, "data_dir", "cannot read %s: %s", path,
                         strerror(errno));
        else if ((rc = store_meta_check(head, (size_t)n, (uint64_t)st.st_size, path, d)) == 0)
            *origin = STORE_EXISTED;
    }
    free(head);
    close(fd);
    return rc;
}

store_origin_t store_origin(const store_t *st)
{
    return st->origin;
}

static const char FORMAT_KEY[] = "format";

/* Reads the format record (itself checksummed from format 2 on). */
static int format_read(store_t *st, MDB_txn *txn, uint32_t *format, err_detail_t *d)
{
    MDB_val k = {sizeof FORMAT_KEY - 1, (void *)FORMAT_KEY}, v;
    int rc = mdb_get(txn, st->dbi[STORE_DB_META], &k, &v);
    if (rc == MDB_NOTFOUND) {
        *format = STORE_FORMAT_PLAIN;
        return 0;
    }
    if (rc != 0)
        return err_set(d, store_err(rc), "store", "lmdb: %s", mdb_strerror(rc));
    const uint8_t *p = v.mv_data;
    if (v.mv_size != 4 + STORE_TRAILER ||
        get_le32(p + 4) != record_crc(STORE_DB_META, k.mv_data, k.mv_size, p, 4))
        return err_set(d, ERR_DATA_LOSS, "data_dir",
                       "the store's format record is damaged; restore data.mdb from a backup");
    *format = get_le32(p);
    if (*format > STORE_FORMAT_CURRENT)
        return err_set(d, ERR_INVALID, "data_dir",
                       "data.mdb has format %u; this masteryd knows up to %u: run a newer "
                       "masteryd (downgrades are not supported)",
                       *format, STORE_FORMAT_CURRENT);
    return 0;
}

static int format_write(store_t *st, MDB_txn *txn, uint32_t format)
{
    MDB_val k = {sizeof FORMAT_KEY - 1, (void *)FORMAT_KEY}, v = {4 + STORE_TRAILER, NULL};
    int rc = mdb_put(txn, st->dbi[STORE_DB_META], &k, &v, MDB_RESERVE);
    if (rc != 0)
        return rc;
    uint8_t *p = v.mv_data, fb[4];
    put_le32(fb, format);
    memcpy(p, fb, 4);
    put_le32(p + 4, record_crc(STORE_DB_META, k.mv_data, k.mv_size, fb, 4));
    return 0;
}

/* Format 1 -> 2: appends the checksum trailer to every value of every database, in the
 * transaction that opens the store (all or nothing; a kill mid-way leaves format 1). */
static int migrate_checksums(store_t *st, MDB_txn *txn, uint64_t *count)
{
    uint8_t stack[1024];
    for (int db = 0; db < STORE_DB_COUNT; db++) {
        MDB_cursor *c;
        int rc = mdb_cursor_open(txn, st->dbi[db], &c);
        if (rc != 0)
            return rc;
        MDB_val k, v;
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            /* Copy out: the put below may move both. */
            size_t klen = k.mv_size, vlen = v.mv_size;
            uint8_t *buf = klen + vlen + STORE_TRAILER <= sizeof stack
                               ? stack
                               : malloc(klen + vlen + STORE_TRAILER);
            if (buf == NULL) {
                rc = ENOMEM;
                break;
            }
            memcpy(buf, k.mv_data, klen);
            memcpy(buf + klen, v.mv_data, vlen);
            put_le32(buf + klen + vlen, record_crc((store_db_t)db, buf, klen, buf + klen, vlen));
            MDB_val nk = {klen, buf}, nv = {vlen + STORE_TRAILER, buf + klen};
            rc = mdb_cursor_put(c, &nk, &nv, MDB_CURRENT);
            if (buf != stack)
                free(buf);
            if (rc != 0)
                break;
            (*count)++;
        }
        mdb_cursor_close(c);
        if (rc != MDB_NOTFOUND)
            return rc;
    }
    return 0;
}

static int format_settle(store_t *st, MDB_txn *txn, bool fresh, err_detail_t *d)
{
    if (fresh) {
        st->format = st->format_opened = STORE_FORMAT_CURRENT;
        int rc = format_write(st, txn, STORE_FORMAT_CURRENT);
        return rc ? err_set(d, store_err(rc), "store", "lmdb: %s", mdb_strerror(rc)) : 0;
    }
    int rc = format_read(st, txn, &st->format, d);
    st->format_opened = st->format;
    if (rc != 0 || st->format >= STORE_FORMAT_CHECKSUMS)
        return rc;
    uint64_t n = 0;
    if ((rc = migrate_checksums(st, txn, &n)) != 0 ||
        (rc = format_write(st, txn, STORE_FORMAT_CHECKSUMS)) != 0)
        return err_set(d, store_err(rc), "store", "migrating data.mdb to format %u: lmdb: %s",
                       STORE_FORMAT_CHECKSUMS, mdb_strerror(rc));
    log_info("data.mdb migrated from format %u to %u (%llu records checksummed)", st->format,
             STORE_FORMAT_CHECKSUMS, (unsigned long long)n);
    st->format = STORE_FORMAT_CHECKSUMS;
    return 0;
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
    if ((rc = precheck(dir, &st->origin, d)) != 0)
        goto fail;
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
    /* A file that never committed is new; any other must already have every database. */
    bool fresh = info.me_last_txnid == 0;
    uint32_t file_format = STORE_FORMAT_CURRENT;
    for (int i = 0; i < STORE_DB_COUNT; i++) {
        /* The meta database comes first: its format says which databases the file predates. */
        bool create = fresh || store_db_since(i) > file_format;
        rc = mdb_dbi_open(txn, store_db_names[i], create ? MDB_CREATE : 0, &st->dbi[i]);
        if (rc == 0 && i == STORE_DB_META && !fresh &&
            (rc = format_read(st, txn, &file_format, d)) != 0)
            goto fail;
        if (rc == MDB_NOTFOUND) {
            rc = err_set(d, ERR_DATA_LOSS, "data_dir",
                         "%s/data.mdb has committed transactions (last %zu) but no '%s' "
                         "database: it is damaged or not a masteryd store; restore it from a "
                         "backup (nothing was changed)",
                         dir, (size_t)info.me_last_txnid, store_db_names[i]);
            goto fail;
        }
        if (rc != 0) {
            rc = err_set(d, store_err(rc), "store", "lmdb: cannot open database %s: %s",
                         store_db_names[i], mdb_strerror(rc));
            goto fail;
        }
    }
    if ((rc = format_settle(st, txn, fresh, d)) != 0)
        goto fail;
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
    store_txn_t *t = calloc(1, sizeof *t);
    if (t == NULL)
        return ERR_NOMEM;
    t->st = st;
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
    store_txn_t *t = calloc(1, sizeof *t);
    if (t == NULL)
        return ERR_NOMEM;
    t->st = parent->st;
    t->root = parent->root != NULL ? parent->root : parent;
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
    arena_destroy(&t->scratch);
    free(t);
    *tp = NULL;
    return rc;
}

void store_txn_abort(store_txn_t **tp)
{
    if (tp == NULL || *tp == NULL)
        return;
    mdb_txn_abort((*tp)->txn);
    arena_destroy(&(*tp)->scratch);
    free(*tp);
    *tp = NULL;
}

void *store_txn_scratch(store_txn_t *t, size_t n)
{
    store_txn_t *r = t->root != NULL ? t->root : t;
    if (r->scratch == NULL && (r->scratch = arena_new_limit(16384, STORE_SCRATCH_MAX)) == NULL)
        return NULL;
    return arena_alloc_packed(r->scratch, n);
}

void store_set_vault(store_t *st, struct vault *v)
{
    st->vault = v;
}

struct vault *store_vault(const store_txn_t *t)
{
    return t->st->vault;
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
    if ((rc = record_open(t, db, &k, &v)) != 0)
        return rc;
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
    MDB_val k = {key->len, (void *)key->b}, v = {len + STORE_TRAILER, NULL};
    /* MDB_RESERVE: LMDB hands out the value's space; the bytes and trailer are written in
     * place, with no copy through a staging buffer. */
    int rc = mdb_put(t->txn, t->st->dbi[db], &k, &v,
                     MDB_RESERVE | ((flags & STORE_APPEND) ? MDB_APPEND : 0));
    if (rc != 0)
        return store_fail(t, rc);
    uint8_t *out = v.mv_data;
    if (len)
        memcpy(out, val, len);
    put_le32(out + len, record_crc(db, key->b, key->len, val, len));
    return 0;
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
    if ((rc = record_open(t, db, &k, &v)) != 0)
        return rc;
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
    it->db = db;
    if (prefix)
        it->prefix = *prefix;
    if (start)
        it->start = *start;
    /* No start, or one that sorts before the prefix: begin at the prefix. */
    if (prefix && (start == NULL || store_key_cmp(start, prefix) < 0))
        it->start = *prefix;
    return 0;
}

static int iter_step(store_iter_t *it, MDB_val *k, MDB_val *v);

int store_iter_next(store_iter_t *it, store_val_t *key, store_val_t *val)
{
    MDB_val k, v;
    int rc = iter_step(it, &k, &v);
    if (rc == 0)
        rc = record_open(it->txn, it->db, &k, &v);
    if (rc != 0)
        return rc;
    key->data = k.mv_data;
    key->len = k.mv_size;
    val->data = v.mv_data;
    val->len = v.mv_size;
    return 0;
}

int store_iter_next_key(store_iter_t *it, store_val_t *key)
{
    MDB_val k, v;
    int rc = iter_step(it, &k, &v);
    if (rc != 0)
        return rc;
    key->data = k.mv_data;
    key->len = k.mv_size;
    return 0;
}

/* The next pair under the prefix, unchecked. */
static int iter_step(store_iter_t *it, MDB_val *out_k, MDB_val *out_v)
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
    *out_k = k;
    *out_v = v;
    return 0;
}

void store_iter_close(store_iter_t *it)
{
    if (it->cursor)
        mdb_cursor_close(it->cursor);
    it->cursor = NULL;
    it->txn = NULL;
}

int store_copy(store_t *st, const char *path, uint64_t *bytes, err_detail_t *d)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(d, ERR_UNAVAILABLE, "backup.dir", "cannot create %s: %s", path,
                       strerror(errno));
    /* Compaction: a read transaction's snapshot, live pages only, so the copy is consistent
     * while writers go on, and takes no writer lock (the loop thread may hold one). */
    int rc = mdb_env_copyfd2(st->env, fd, MDB_CP_COMPACT);
    if (rc == 0 && fsync(fd) != 0)
        rc = errno;
    struct stat sb;
    *bytes = rc == 0 && fstat(fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    close(fd);
    if (rc != 0) {
        unlink(path);
        return err_set(d, store_err(rc), "backup", "cannot copy the store to %s: %s", path,
                       mdb_strerror(rc));
    }
    return 0;
}

uint64_t store_count(store_txn_t *t, store_db_t db)
{
    MDB_stat s;
    if (mdb_stat(t->txn, t->st->dbi[db], &s) != 0)
        return 0;
    return s.ms_entries;
}

uint64_t store_damage(store_t *st, const char **name)
{
    if (name)
        *name = st->last_damage;
    return st->damaged;
}

uint32_t store_format_opened(store_t *st)
{
    return st->format_opened;
}

uint32_t store_format(store_t *st)
{
    return st->format;
}

int store_format_set(store_txn_t *t, uint32_t format)
{
    if (t->ret != 0)
        return t->ret;
    int rc = format_write(t->st, t->txn, format);
    if (rc != 0)
        return store_fail(t, rc);
    t->st->format = format; /* the caller commits, or the process stops on failure */
    return 0;
}

int store_verify_all(store_t *st, uint64_t *records, uint64_t *damaged)
{
    *records = *damaged = 0;
    store_txn_t *t;
    int rc = store_txn_begin(st, false, &t);
    if (rc != 0)
        return rc;
    for (int db = 0; db < STORE_DB_COUNT && rc == 0; db++) {
        MDB_cursor *c;
        if ((rc = mdb_cursor_open(t->txn, st->dbi[db], &c)) != 0) {
            rc = store_err(rc);
            break;
        }
        MDB_val k, v;
        int mrc;
        for (mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0;
             mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            (*records)++;
            if (record_open(t, (store_db_t)db, &k, &v) != 0) {
                (*damaged)++;
                t->ret = 0; /* counted: keep walking */
            }
        }
        mdb_cursor_close(c);
        if (mrc != MDB_NOTFOUND)
            rc = store_err(mrc);
    }
    store_txn_abort(&t);
    return rc;
}

int store_compact(store_t **stp, const char *dir, err_detail_t *d)
{
    store_t *st = *stp;
    uint64_t map = st->map_size, max = st->map_size_max, bytes = 0;
    struct vault *vault = st->vault;
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof tmp, "%s/data.mdb.compact", dir);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(tmp); /* a copy left by a crash during an earlier compaction */
    int rc = store_copy(st, tmp, &bytes, d);
    if (rc != 0)
        return rc;
    store_close(stp);
    if (rename(tmp, path) != 0) {
        rc =
            err_set(d, ERR_UNAVAILABLE, "data_dir", "cannot replace %s: %s", path, strerror(errno));
        unlink(tmp);
    } else {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    int orc = store_open(dir, map, max, stp, d);
    if (orc == 0)
        store_set_vault(*stp, vault);
    return rc != 0 ? rc : orc;
}
