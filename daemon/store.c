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
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "crc32c.h"
#include "log.h"
#include "overlay.h"

/* Write-behind (store.h): the overlay, the wal's extent, and the running sweep. */
typedef struct store_wb {
    overlay_t *ov;                  /* NULL: writes go straight to LMDB */
    MDB_txn *base_txn;              /* where overlay's base_has looks: the writing txn */
    uint64_t budget;                /* store_write_behind's */
    uint64_t wal_first, wal_next;   /* the wal's records are [wal_first, wal_next) */
    uint64_t wal_cum, wal_cum_gone; /* record bytes appended and deleted, since open */
    int64_t wal_oldest_ms;          /* when the oldest record was appended (0: none) */
    bool sweeping;
    uint64_t sweep_end;       /* the sweep covers records < sweep_end */
    uint64_t sweep_cum;       /* wal_cum when it began */
    int64_t sweep_started_ms; /* when it began */
    unsigned sweep_db;        /* where its next step starts: database and key */
    uint8_t sweep_key[STORE_KEY_MAX];
    size_t sweep_klen;
    uint64_t sweeps, steps, written, replayed_records, replayed_changes;
    double replay_ms;
} store_wb_t;

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
    unsigned txns_open;     /* top-level transactions open: a sweep step needs none */
    store_wb_t wb;          /* write-behind (below) */
};

struct store_txn {
    store_t *st;
    MDB_txn *txn;
    int ret;           /* sticky error */
    store_txn_t *root; /* a child's top-level transaction; NULL for a top-level one */
    arena_t *scratch;  /* a top-level transaction's opened boxes (store_txn_scratch) */
    size_t ov_mark;    /* the overlay's undo depth when this transaction began */
    bool write;
};

static const char *const store_db_names[STORE_DB_COUNT] = {
    "meta",   "frameworks", "learners", "evidence_ids", "events", "credentials", "cred_index",
    "status", "log",        "log_tree", "reviews",      "groups", "risk",        "wal",
};

/* The format that brought each database: an existing file of an older format lacks it, and
 * store_open creates it (empty) instead of calling the file damaged. */
static const uint32_t store_db_since_table[STORE_DB_COUNT] = {
    [STORE_DB_LOG] = STORE_FORMAT_LOG,         [STORE_DB_LOG_TREE] = STORE_FORMAT_LOG,
    [STORE_DB_REVIEWS] = STORE_FORMAT_REVIEWS, [STORE_DB_GROUPS] = STORE_FORMAT_GROUPS,
    [STORE_DB_RISK] = STORE_FORMAT_GROUPS,     [STORE_DB_WAL] = STORE_FORMAT_WAL,
};

static uint32_t store_db_since(int db)
{
    return store_db_since_table[db] ? store_db_since_table[db] : STORE_FORMAT_PLAIN;
}

/* The databases every evidence item rewrites at random places: written behind (store.h). */
static const bool store_db_deferred[STORE_DB_COUNT] = {
    [STORE_DB_LEARNERS] = true,
    [STORE_DB_EVIDENCE_ID] = true,
    [STORE_DB_REVIEWS] = true,
    [STORE_DB_RISK] = true,
};

static bool deferred(const store_t *st, store_db_t db)
{
    return st->wb.ov != NULL && store_db_deferred[db];
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* ---- write-behind ---------------------------------------------------------------------------- */

/* overlay's question when a key first gets a node: does LMDB hold it? (the writing txn) */
static bool base_has(void *ctx, unsigned db, const void *key, size_t klen)
{
    store_t *st = ctx;
    MDB_val k = {klen, (void *)key}, v;
    return st->wb.base_txn != NULL && mdb_get(st->wb.base_txn, st->dbi[db], &k, &v) == 0;
}

/* Whether a sweep has anything left to do: nodes to write, wal records to delete. */
static bool wb_pending(const store_wb_t *wb)
{
    return wb->ov != NULL &&
           (overlay_nodes(wb->ov) > 0 || wb->wal_first < wb->wal_next || wb->sweeping);
}

static int wb_start(store_t *st)
{
    if (st->wb.ov == NULL && (st->wb.ov = overlay_new(STORE_DB_COUNT, base_has, st)) == NULL)
        return ERR_NOMEM;
    return 0;
}

/* Records left in the wal (a crash, or a store another process left with records) go back into
 * an overlay, in order, before anything reads: every opener sees the committed data. */
static int wal_replay(store_t *st, const char *dir, err_detail_t *d)
{
    store_wb_t *wb = &st->wb;
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return err_set(d, store_err(rc), "store", "lmdb: %s", mdb_strerror(rc));
    if ((rc = mdb_cursor_open(txn, st->dbi[STORE_DB_WAL], &c)) != 0) {
        rc = err_set(d, store_err(rc), "store", "lmdb: %s", mdb_strerror(rc));
        goto out;
    }
    double t0 = (double)mono_ms();
    store_txn_t view = {.st = st, .txn = txn}; /* for record_open's checks */
    MDB_val k, v;
    int mrc;
    for (mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t seq = k.mv_size == 8 ? store_read_u64(k.mv_data) : UINT64_MAX;
        bool first = wb->replayed_records == 0;
        if (seq == UINT64_MAX || (!first && seq != wb->wal_next) ||
            record_open(&view, STORE_DB_WAL, &k, &v) != 0) {
            rc = err_set(d, ERR_DATA_LOSS, "data_dir",
                         "%s/data.mdb: write-ahead record %llu is damaged or out of order; "
                         "restore data.mdb from a backup (README: Backup and restore)",
                         dir, (unsigned long long)seq);
            goto out;
        }
        if ((rc = wb_start(st)) != 0) {
            rc = err_set(d, rc, "store", "out of memory replaying the write-ahead records");
            goto out;
        }
        wb->base_txn = txn;
        if ((rc = overlay_record_apply(wb->ov, v.mv_data, v.mv_size)) != 0) {
            rc = err_set(d, rc, "data_dir",
                         rc == ERR_DATA_LOSS
                             ? "%s/data.mdb: write-ahead record %llu is malformed; restore "
                               "data.mdb from a backup (README: Backup and restore)"
                             : "%s/data.mdb: out of memory replaying write-ahead record %llu",
                         dir, (unsigned long long)seq);
            goto out;
        }
        if (first)
            wb->wal_first = seq;
        wb->wal_next = seq + 1;
        wb->wal_cum += v.mv_size + STORE_TRAILER;
        wb->replayed_records++;
    }
    if (mrc != MDB_NOTFOUND) {
        rc = err_set(d, store_err(mrc), "store", "lmdb: %s", mdb_strerror(mrc));
        goto out;
    }
    rc = 0;
    if (wb->replayed_records > 0) {
        wb->wal_oldest_ms = mono_ms();
        wb->replayed_changes = overlay_nodes(wb->ov);
        wb->replay_ms = (double)mono_ms() - t0;
        log_info("write-behind: %llu write-ahead records replayed (%llu changes pending, %llu "
                 "bytes) in %.0f ms",
                 (unsigned long long)wb->replayed_records, (unsigned long long)wb->replayed_changes,
                 (unsigned long long)wb->wal_cum, wb->replay_ms);
    }
out:
    wb->base_txn = NULL;
    if (c)
        mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return rc;
}

int store_write_behind(store_t *st, uint64_t budget)
{
    if (st->txns_open)
        return ERR_INTERNAL;
    st->wb.budget = budget;
    if (budget > 0)
        return wb_start(st);
    int rc = store_flush_all(st);
    if (rc == 0)
        overlay_free(&st->wb.ov); /* empty: writes go straight to LMDB again */
    return rc;
}

void store_wb_stats(const store_t *st, store_wb_stats_t *o)
{
    const store_wb_t *wb = &st->wb;
    memset(o, 0, sizeof *o);
    o->on = wb->ov != NULL;
    o->pending = wb_pending(wb);
    o->budget = wb->budget;
    o->held_bytes = wb->ov ? overlay_bytes(wb->ov) : 0;
    o->nodes = wb->ov ? overlay_nodes(wb->ov) : 0;
    o->wal_records = wb->wal_next - wb->wal_first;
    o->wal_bytes = wb->wal_cum - wb->wal_cum_gone;
    o->oldest_age_ms = o->wal_records ? mono_ms() - wb->wal_oldest_ms : 0;
    o->sweeping = wb->sweeping;
    o->sweeps = wb->sweeps;
    o->steps = wb->steps;
    o->written = wb->written;
    o->replayed_records = wb->replayed_records;
    o->replayed_changes = wb->replayed_changes;
    o->replay_ms = wb->replay_ms;
}

/* Writes one deferred database's overlay from (key, klen) on into txn, until *bytes reaches
 * max_bytes; *count: the nodes written; *next: where it stopped (NULL: the database's end). */
static int sweep_db(store_t *st, MDB_txn *txn, unsigned db, const uint8_t *key, size_t klen,
                    size_t max_bytes, size_t *bytes, size_t *count, const ov_node_t **next)
{
    const ov_node_t *n = overlay_seek(st->wb.ov, db, key, klen);
    for (; n != NULL && (*bytes < max_bytes || *count == 0); n = overlay_next(n)) {
        size_t kl, vl;
        const void *kp = overlay_node_key(n, &kl), *vp = overlay_node_val(n, &vl);
        MDB_val k = {kl, (void *)kp}, v = {vl, (void *)vp};
        int rc = vp ? mdb_put(txn, st->dbi[db], &k, &v, 0) : mdb_del(txn, st->dbi[db], &k, NULL);
        if (rc != 0 && !(vp == NULL && rc == MDB_NOTFOUND))
            return rc;
        *bytes += kl + vl + 64;
        (*count)++;
    }
    *next = n;
    return 0;
}

int store_flush_step(store_t *st, size_t max_bytes, bool *done)
{
    store_wb_t *wb = &st->wb;
    *done = false;
    if (st->txns_open)
        return ERR_INTERNAL;
    if (wb->ov == NULL) {
        *done = true;
        return 0;
    }
    if (!wb->sweeping) {
        wb->sweeping = true;
        wb->sweep_end = wb->wal_next;
        wb->sweep_cum = wb->wal_cum;
        wb->sweep_started_ms = mono_ms();
        wb->sweep_db = 0;
        wb->sweep_klen = 0;
    }
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0)
        return store_err(rc);
    /* From where the last step stopped, database by database, until max_bytes. */
    size_t bytes = 0, counts[STORE_DB_COUNT] = {0};
    unsigned db = wb->sweep_db;
    const ov_node_t *next = NULL;
    for (; db < STORE_DB_COUNT; db++) {
        if (!store_db_deferred[db])
            continue;
        const uint8_t *from = db == wb->sweep_db ? wb->sweep_key : NULL;
        size_t from_len = db == wb->sweep_db ? wb->sweep_klen : 0;
        if ((rc = sweep_db(st, txn, db, from, from_len, max_bytes, &bytes, &counts[db], &next)))
            goto fail;
        if (next != NULL)
            break; /* max_bytes reached inside db */
    }
    bool at_end = db >= STORE_DB_COUNT;
    if (at_end) {
        /* Every record before the sweep began is covered now (store.h): delete them. */
        MDB_cursor *c;
        if ((rc = mdb_cursor_open(txn, st->dbi[STORE_DB_WAL], &c)) != 0)
            goto fail;
        MDB_val k, v;
        while ((rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0 && k.mv_size == 8 &&
               store_read_u64(k.mv_data) < wb->sweep_end)
            if ((rc = mdb_cursor_del(c, 0)) != 0)
                break;
        mdb_cursor_close(c);
        if (rc != 0 && rc != MDB_NOTFOUND)
            goto fail;
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return store_err(rc);
    /* Durable: what was written leaves the overlay. */
    size_t written = 0;
    for (unsigned i = wb->sweep_db; i < STORE_DB_COUNT && i <= db; i++) {
        if (counts[i] == 0)
            continue;
        bool first = i == wb->sweep_db;
        overlay_remove_run(wb->ov, i, first ? wb->sweep_key : NULL, first ? wb->sweep_klen : 0,
                           counts[i]);
        written += counts[i];
    }
    wb->steps++;
    wb->written += written;
    if (at_end) {
        wb->sweeping = false;
        wb->sweeps++;
        wb->wal_first = wb->sweep_end;
        wb->wal_cum_gone = wb->sweep_cum;
        wb->wal_oldest_ms = wb->wal_first < wb->wal_next ? wb->sweep_started_ms : 0;
        *done = true;
    } else {
        size_t kl;
        const void *kp = overlay_node_key(next, &kl);
        memcpy(wb->sweep_key, kp, kl);
        wb->sweep_klen = kl;
        wb->sweep_db = db;
    }
    return 0;
fail:
    mdb_txn_abort(txn);
    return store_err(rc);
}

int store_flush_all(store_t *st)
{
    while (wb_pending(&st->wb)) {
        bool done;
        int rc = store_flush_step(st, 8u << 20, &done);
        if (rc == ERR_RETRY && (rc = store_grow(st)) == 0)
            continue;
        if (rc != 0)
            return rc;
    }
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
    txn = NULL;
    if ((rc = wal_replay(st, dir, d)) != 0)
        goto fail;
    *out = st;
    return 0;
fail:
    if (txn)
        mdb_txn_abort(txn);
    overlay_free(&st->wb.ov);
    if (st->env)
        mdb_env_close(st->env);
    free(st);
    return rc;
}

void store_close(store_t **stp)
{
    if (stp == NULL || *stp == NULL)
        return;
    overlay_free(&(*stp)->wb.ov); /* what it held is in the wal: the next open replays it */
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
    t->write = write;
    int rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc != 0) {
        free(t);
        return store_err(rc);
    }
    /* A write transaction begins with nothing unsettled in the overlay (mark 0). */
    t->ov_mark = st->wb.ov ? overlay_mark(st->wb.ov) : 0;
    st->txns_open++;
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
    t->write = true;
    int rc = mdb_txn_begin(parent->st->env, parent->txn, 0, &t->txn);
    if (rc != 0) {
        free(t);
        return store_fail(parent, rc);
    }
    t->ov_mark = t->st->wb.ov ? overlay_mark(t->st->wb.ov) : 0;
    *out = t;
    return 0;
}

/* The write-ahead record of a committing top-level transaction's overlay changes, appended to
 * the wal database in that transaction (store.h). *len: its size. */
static int wal_append(store_txn_t *t, size_t *len)
{
    store_t *st = t->st;
    size_t n = overlay_record_size(st->wb.ov);
    uint8_t kb[8];
    for (int i = 7; i >= 0; i--)
        kb[7 - i] = (uint8_t)(st->wb.wal_next >> (8 * i));
    MDB_val k = {sizeof kb, kb}, v = {n + STORE_TRAILER, NULL};
    int rc = mdb_put(t->txn, st->dbi[STORE_DB_WAL], &k, &v, MDB_RESERVE | MDB_APPEND);
    if (rc != 0)
        return store_fail(t, rc);
    uint8_t *p = v.mv_data;
    overlay_record_encode(st->wb.ov, p);
    put_le32(p + n, record_crc(STORE_DB_WAL, kb, sizeof kb, p, n));
    *len = n + STORE_TRAILER;
    return 0;
}

/* After a top-level commit that appended a record: the overlay's changes are durable. */
static void wal_appended(store_t *st, size_t len)
{
    store_wb_t *wb = &st->wb;
    overlay_settle(wb->ov);
    if (wb->wal_first == wb->wal_next)
        wb->wal_oldest_ms = mono_ms();
    wb->wal_next++;
    wb->wal_cum += len;
}

/* Ends a transaction's part of the overlay: kept (a child's changes belong to its parent now)
 * or rolled back to where it began. */
static void txn_end(store_txn_t *t, bool keep)
{
    store_t *st = t->st;
    if (st->wb.ov != NULL && t->write && !keep)
        overlay_rollback(st->wb.ov, t->ov_mark);
    if (t->root == NULL)
        st->txns_open--;
    arena_destroy(&t->scratch);
    free(t);
}

int store_txn_commit(store_txn_t **tp)
{
    store_txn_t *t = *tp;
    store_t *st = t->st;
    int rc = t->ret;
    size_t wal_len = 0;
    bool top = t->root == NULL;
    if (rc == 0 && top && t->write && st->wb.ov != NULL && overlay_dirty(st->wb.ov))
        rc = wal_append(t, &wal_len);
    if (rc != 0)
        mdb_txn_abort(t->txn);
    else
        rc = store_err(mdb_txn_commit(t->txn));
    if (rc == 0 && wal_len > 0)
        wal_appended(st, wal_len);
    txn_end(t, rc == 0);
    *tp = NULL;
    return rc;
}

void store_txn_abort(store_txn_t **tp)
{
    if (tp == NULL || *tp == NULL)
        return;
    mdb_txn_abort((*tp)->txn);
    txn_end(*tp, false);
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
    int rc;
    const void *ovp;
    size_t ovn;
    ov_found_t f = deferred(t->st, db)
                       ? overlay_get(t->st->wb.ov, (unsigned)db, key->b, key->len, &ovp, &ovn)
                       : OV_ABSENT;
    if (f == OV_TOMBSTONE)
        return ERR_NOT_FOUND;
    if (f == OV_VALUE) {
        v.mv_data = (void *)ovp;
        v.mv_size = ovn;
        rc = 0;
    } else {
        rc = mdb_get(t->txn, t->st->dbi[db], &k, &v);
    }
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

/* A deferred database's put: the value and its trailer, as LMDB would hold them, into the
 * overlay (base_has looks in this transaction). */
static int overlay_write(store_txn_t *t, store_db_t db, const store_key_t *key, const void *val,
                         size_t len)
{
    if (!t->write)
        return t->ret = ERR_INTERNAL;
    uint8_t stack[1024],
        *buf = len + STORE_TRAILER <= sizeof stack ? stack : malloc(len + STORE_TRAILER);
    if (buf == NULL)
        return store_txn_fail(t, ERR_NOMEM);
    if (len)
        memcpy(buf, val, len);
    put_le32(buf + len, record_crc(db, key->b, key->len, val, len));
    t->st->wb.base_txn = t->txn;
    int rc = overlay_put(t->st->wb.ov, (unsigned)db, key->b, key->len, buf, len + STORE_TRAILER);
    if (buf != stack)
        free(buf);
    return rc == 0 ? 0 : store_txn_fail(t, rc);
}

int store_put(store_txn_t *t, store_db_t db, const store_key_t *key, const void *val, size_t len,
              unsigned flags)
{
    if (t->ret != 0)
        return t->ret;
    if (key->overflow)
        return t->ret = ERR_INTERNAL;
    if (deferred(t->st, db))
        return overlay_write(t, db, key, val, len);
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
    if (deferred(t->st, db)) {
        if (!t->write)
            return t->ret = ERR_INTERNAL;
        t->st->wb.base_txn = t->txn;
        int orc = overlay_del(t->st->wb.ov, (unsigned)db, key->b, key->len);
        return orc == 0 ? 0 : store_txn_fail(t, orc);
    }
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
    if (deferred(t->st, db))
        return t->ret = ERR_INTERNAL; /* store.h: not for deferred databases */
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
    it->merged = deferred(t->st, db);
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

static bool under_prefix(const store_iter_t *it, const void *k, size_t klen)
{
    return klen >= it->prefix.len && memcmp(k, it->prefix.b, it->prefix.len) == 0;
}

/* LMDB's order on raw byte ranges. */
static int bytes_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c != 0 ? c : (alen > blen) - (alen < blen);
}

/* A copy of the key just returned: where a re-seek starts (the node holding it may go). */
static void iter_remember(store_iter_t *it, const MDB_val *k)
{
    memcpy(it->last.b, k->mv_data, k->mv_size);
    it->last.len = k->mv_size;
}

/* The merged walk of a deferred database: the base's pairs and the overlay's, in key order; an
 * overlay node replaces the base's pair of the same key, and a tombstone hides it. */
static int iter_step_merged(store_iter_t *it, MDB_val *out_k, MDB_val *out_v)
{
    store_txn_t *t = it->txn;
    overlay_t *ov = t->st->wb.ov;
    if (!it->started) {
        it->started = true;
        it->ov_next = overlay_seek(ov, (unsigned)it->db, it->start.b, it->start.len);
        it->ov_gen = overlay_generation(ov);
    } else if (overlay_generation(ov) != it->ov_gen) {
        /* Nodes were made or removed since ov_next was found (the caller wrote while walking):
         * find the first node after the last key again, as an LMDB cursor would see it. */
        const store_key_t *from = it->last.len ? &it->last : &it->start;
        const ov_node_t *n = overlay_seek(ov, (unsigned)it->db, from->b, from->len);
        size_t kl;
        const void *kp = n ? overlay_node_key(n, &kl) : NULL;
        if (n && it->last.len && bytes_cmp(kp, kl, it->last.b, it->last.len) == 0)
            n = overlay_next(n);
        it->ov_next = (void *)n;
        it->ov_gen = overlay_generation(ov);
    }
    for (;;) {
        if (!it->base_have && !it->base_done) {
            MDB_val k = {it->start.len, it->start.b}, v;
            int rc;
            if (it->base_key.data == NULL)
                rc = it->start.len ? mdb_cursor_get(it->cursor, &k, &v, MDB_SET_RANGE)
                                   : mdb_cursor_get(it->cursor, &k, &v, MDB_FIRST);
            else
                rc = mdb_cursor_get(it->cursor, &k, &v, MDB_NEXT);
            if (rc != 0 && rc != MDB_NOTFOUND)
                return store_fail(t, rc);
            if (rc == MDB_NOTFOUND || !under_prefix(it, k.mv_data, k.mv_size)) {
                it->base_done = true;
            } else {
                it->base_have = true;
                it->base_key = (store_val_t){k.mv_data, k.mv_size};
                it->base_val = (store_val_t){v.mv_data, v.mv_size};
            }
        }
        const ov_node_t *n = it->ov_next;
        size_t nk_len = 0, nv_len = 0;
        const void *nk = n ? overlay_node_key(n, &nk_len) : NULL;
        if (n && !under_prefix(it, nk, nk_len))
            n = NULL, it->ov_next = NULL;
        if (!it->base_have && n == NULL)
            return ERR_NOT_FOUND;
        int c = n == NULL        ? -1
                : !it->base_have ? 1
                                 : bytes_cmp(it->base_key.data, it->base_key.len, nk, nk_len);
        if (c < 0) {
            it->base_have = false;
            *out_k = (MDB_val){it->base_key.len, (void *)it->base_key.data};
            *out_v = (MDB_val){it->base_val.len, (void *)it->base_val.data};
            iter_remember(it, out_k);
            return 0;
        }
        if (c == 0)
            it->base_have = false; /* the overlay's node replaces (or hides) it */
        it->ov_next = overlay_next(n);
        const void *nv = overlay_node_val(n, &nv_len);
        if (nv == NULL)
            continue; /* a tombstone */
        *out_k = (MDB_val){nk_len, (void *)nk};
        *out_v = (MDB_val){nv_len, (void *)nv};
        iter_remember(it, out_k);
        return 0;
    }
}

/* The next pair under the prefix, unchecked. */
static int iter_step(store_iter_t *it, MDB_val *out_k, MDB_val *out_v)
{
    store_txn_t *t = it->txn;
    if (t == NULL)
        return ERR_NOT_FOUND;
    if (t->ret != 0)
        return t->ret;
    if (it->merged)
        return iter_step_merged(it, out_k, out_v);
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
    if (!deferred(t->st, db))
        return s.ms_entries;
    int64_t n = (int64_t)s.ms_entries + overlay_count_delta(t->st->wb.ov, (unsigned)db);
    return n > 0 ? (uint64_t)n : 0;
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
    uint64_t map = st->map_size, max = st->map_size_max, bytes = 0, budget = st->wb.budget;
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
    if (orc == 0 && budget > 0)
        orc = store_write_behind(*stp, budget);
    return rc != 0 ? rc : orc;
}
