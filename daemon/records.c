#include "records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"
#include "mastery/v1/mastery.pb-c.h"

#define KIND_EVIDENCE 'E'
#define KIND_PROFILE  'P'
#define KIND_STATE    'S'
#define KIND_DID      'D'
#define KIND_KEY      'K'
#define KIND_OVERRIDE 'O'
#define KIND_REVIEW   'R'
#define KIND_HOLD     'H' /* a legal hold: since(i64) + the reason's box */
#define KIND_ERASED   'X' /* the tombstone: erased_at(i64) */

#define ID_DOMAIN_EVIDENCE 'e' /* vault_index_hash domain of evidence ids */

void records_learner_init(records_learner_t *l, const char *id)
{
    l->id = id;
    store_hash_id(id, l->hash);
    l->unlocked = false;
}

void records_learner_init_hash(records_learner_t *l, const uint8_t hash[STORE_HASH_LEN])
{
    l->id = NULL;
    memcpy(l->hash, hash, STORE_HASH_LEN);
    l->unlocked = false;
}

void records_learner_forget(records_learner_t *l)
{
    OPENSSL_cleanse(l->secret, sizeof l->secret);
    l->unlocked = false;
}

/* ---- frameworks ---------------------------------------------------------------------------- */

static void key_framework(store_key_t *k, const char *framework_id, uint32_t rev)
{
    store_key_reset(k);
    store_key_hash(k, framework_id);
    store_key_u32(k, rev);
}

/* [int64 loaded_at][document] */
static int framework_decode(const store_val_t *v, int64_t *loaded_at, const char **doc, size_t *len)
{
    if (v->len < 8)
        return ERR_INTERNAL;
    memcpy(loaded_at, v->data, 8);
    *doc = (const char *)v->data + 8;
    *len = v->len - 8;
    return 0;
}

int records_framework_put(store_txn_t *txn, const char *framework_id, uint32_t rev,
                          int64_t loaded_at, const char *doc, size_t len)
{
    store_key_t k;
    key_framework(&k, framework_id, rev);
    uint8_t *rec = malloc(8 + len);
    if (rec == NULL)
        return ERR_NOMEM;
    memcpy(rec, &loaded_at, 8);
    memcpy(rec + 8, doc, len);
    int rc = store_put(txn, STORE_DB_FRAMEWORKS, &k, rec, 8 + len, 0);
    free(rec);
    return rc;
}

int records_framework_get(store_txn_t *txn, const char *framework_id, uint32_t rev,
                          int64_t *loaded_at, const char **doc, size_t *len)
{
    store_key_t k;
    store_val_t v;
    key_framework(&k, framework_id, rev);
    int rc = store_get(txn, STORE_DB_FRAMEWORKS, &k, &v);
    return rc ? rc : framework_decode(&v, loaded_at, doc, len);
}

int records_framework_iter_open(store_txn_t *txn, records_framework_iter_t *it)
{
    return store_iter_open(txn, STORE_DB_FRAMEWORKS, NULL, NULL, &it->it);
}

int records_framework_iter_next(records_framework_iter_t *it, records_framework_t *out)
{
    store_val_t k, v;
    int rc = store_iter_next(&it->it, &k, &v);
    if (rc != 0)
        return rc;
    if (k.len != STORE_HASH_LEN + 4)
        return ERR_INTERNAL;
    memcpy(out->hash, k.data, STORE_HASH_LEN);
    out->revision = store_read_u32((const uint8_t *)k.data + STORE_HASH_LEN);
    return framework_decode(&v, &out->loaded_at, &out->doc, &out->len);
}

void records_framework_iter_close(records_framework_iter_t *it)
{
    store_iter_close(&it->it);
}

/* ---- evidence ------------------------------------------------------------------------------ */

/* Stored in front of the caller's blob in every evidence record. */
typedef struct evidence_header {
    double score;
    double weight;
    int64_t observed_at;
    uint8_t outcome;
    uint8_t flags;
    uint8_t log_ref[6]; /* log index + 1, 48-bit little-endian; 0: before the log (format < 4) */
} evidence_header_t;

_Static_assert(sizeof(evidence_header_t) == 32, "evidence header is a stored format");
_Static_assert(sizeof(records_state_t) == 48, "state record is a stored format");

#define EVIDENCE_RETRACTED 1u /* evidence_header_t.flags */
#define EVIDENCE_SHREDDED  2u /* retention removed its id, narrative and url */

/* The id index value: H(learner) H(comp) observed_at(be64^), the record key without its kind
 * byte and id. */
#define INDEX_LEN (2 * STORE_HASH_LEN + 8)

static void key_learner_kind(store_key_t *k, const uint8_t *learner_hash, uint8_t kind)
{
    store_key_reset(k);
    store_key_bytes(k, learner_hash, STORE_HASH_LEN);
    store_key_byte(k, kind);
}

/* ---- sealing (vault.h): the learner's secret and their boxes -------------------------------- */

int records_erased_get(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN], int64_t *at)
{
    store_key_t k;
    store_val_t v;
    key_learner_kind(&k, learner_hash, KIND_ERASED);
    int rc = store_get(txn, STORE_DB_LEARNERS, &k, &v);
    if (rc != 0)
        return rc;
    if (v.len != 8)
        return ERR_INTERNAL;
    memcpy(at, v.data, 8);
    return 0;
}

int records_erased_del(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN])
{
    store_key_t k;
    key_learner_kind(&k, learner_hash, KIND_ERASED);
    return store_del(txn, STORE_DB_LEARNERS, &k);
}

int records_learner_unlock(store_txn_t *txn, records_learner_t *l, bool create)
{
    if (l->unlocked)
        return 0;
    vault_t *v = store_vault(txn);
    if (v == NULL)
        return ERR_UNAVAILABLE;
    store_key_t k;
    store_val_t val;
    key_learner_kind(&k, l->hash, KIND_KEY);
    int rc = store_get(txn, STORE_DB_LEARNERS, &k, &val);
    if (rc == 0) {
        rc = vault_unwrap(v, l->hash, STORE_HASH_LEN, val.data, val.len, l->secret, NULL, NULL);
        l->unlocked = rc == 0;
        return rc;
    }
    if (rc != ERR_NOT_FOUND)
        return rc;
    int64_t at;
    if ((rc = records_erased_get(txn, l->hash, &at)) != ERR_NOT_FOUND)
        return rc == 0 ? ERR_GONE : rc;
    if (!create)
        return ERR_NOT_FOUND;
    uint8_t wrapped[VAULT_WRAPPED_LEN];
    if ((rc = vault_new_secret(l->secret)) != 0 ||
        (rc = vault_wrap(v, l->hash, STORE_HASH_LEN, l->secret, wrapped)) != 0 ||
        (rc = store_put(txn, STORE_DB_LEARNERS, &k, wrapped, sizeof wrapped, 0)) != 0) {
        records_learner_forget(l);
        return rc;
    }
    l->unlocked = true;
    return 0;
}

/* A box's associated data: its database and its record's key, so it opens only there. */
static size_t box_aad(uint8_t aad[1 + STORE_KEY_MAX], store_db_t db, const void *key, size_t len)
{
    aad[0] = (uint8_t)db;
    memcpy(aad + 1, key, len);
    return 1 + len;
}

/* Puts prefix (clear) then plain sealed under the learner's data key (made if need be). */
static int put_sealed(store_txn_t *txn, store_db_t db, const store_key_t *k, records_learner_t *l,
                      const void *prefix, size_t prefix_len, const void *plain, size_t len,
                      unsigned flags)
{
    vault_t *v = store_vault(txn);
    if (v == NULL)
        return ERR_UNAVAILABLE;
    int rc = records_learner_unlock(txn, l, true);
    if (rc != 0)
        return rc;
    size_t n = prefix_len + vault_box_len(v, len);
    uint8_t stackbuf[2048];
    uint8_t *buf = n <= sizeof stackbuf ? stackbuf : malloc(n);
    if (buf == NULL)
        return ERR_NOMEM;
    if (prefix_len > 0)
        memcpy(buf, prefix, prefix_len);
    uint8_t aad[1 + STORE_KEY_MAX];
    size_t al = box_aad(aad, db, k->b, k->len);
    rc = vault_seal(v, RECORDS_DATA_KEY(l), aad, al, plain, len, buf + prefix_len);
    if (rc == 0)
        rc = store_put(txn, db, k, buf, n, flags);
    if (buf != stackbuf)
        free(buf);
    return rc;
}

/* Opens a box of the record (db, key) into the transaction's scratch, NUL-terminated after
 * *out_len bytes; *out borrowed. Errors as records_learner_unlock (without create), or
 * ERR_DATA_LOSS (does not open), ERR_NOMEM (scratch budget). */
static int open_box(store_txn_t *txn, records_learner_t *l, store_db_t db, const void *key,
                    size_t key_len, const void *box, size_t len, const char **out, size_t *out_len)
{
    vault_t *v = store_vault(txn);
    if (v == NULL)
        return ERR_UNAVAILABLE;
    if (key_len > STORE_KEY_MAX)
        return ERR_INTERNAL;
    int rc = records_learner_unlock(txn, l, false);
    if (rc != 0)
        return rc;
    char *buf = store_txn_scratch(txn, len + 1);
    if (buf == NULL)
        return ERR_NOMEM;
    uint8_t aad[1 + STORE_KEY_MAX];
    size_t al = box_aad(aad, db, key, key_len);
    if ((rc = vault_unseal(v, RECORDS_DATA_KEY(l), aad, al, box, len, (uint8_t *)buf, out_len)) !=
        0)
        return rc;
    buf[*out_len] = '\0';
    *out = buf;
    return 0;
}

/* An evidence id in its source's scope: H(source) then the id's keyed hash (the index key is
 * not in data.mdb, so the file alone cannot confirm a guessed id). */
static int key_scoped_id(store_txn_t *txn, store_key_t *k, const char *source,
                         const char *evidence_id)
{
    vault_t *v = store_vault(txn);
    uint8_t h[VAULT_INDEX_HASH_LEN];
    if (v == NULL)
        return ERR_UNAVAILABLE;
    int rc = vault_index_hash(v, ID_DOMAIN_EVIDENCE, evidence_id, strlen(evidence_id), h);
    if (rc != 0)
        return rc;
    store_key_hash(k, source);
    store_key_bytes(k, h, sizeof h);
    return 0;
}

static int key_evidence_id(store_txn_t *txn, store_key_t *k, const char *source,
                           const char *evidence_id)
{
    store_key_reset(k);
    return key_scoped_id(txn, k, source, evidence_id);
}

static int evidence_decode(const store_val_t *v, records_evidence_t *out)
{
    evidence_header_t h;
    if (v->len < sizeof h)
        return ERR_INTERNAL;
    memcpy(&h, v->data, sizeof h);
    out->score = h.score;
    out->weight = h.weight;
    out->observed_at = h.observed_at;
    out->outcome = h.outcome;
    out->retracted = (h.flags & EVIDENCE_RETRACTED) != 0;
    out->shredded = (h.flags & EVIDENCE_SHREDDED) != 0;
    uint64_t ref = 0;
    for (int i = 5; i >= 0; i--)
        ref = ref << 8 | h.log_ref[i];
    out->logged = ref != 0;
    out->log_index = ref ? ref - 1 : 0;
    out->blob = (const uint8_t *)v->data + sizeof h;
    out->blob_len = v->len - sizeof h;
    out->pos = NULL;
    out->pos_len = 0;
    out->rkey = NULL;
    out->rkey_len = 0;
    return 0;
}

int records_evidence_open(store_txn_t *txn, const records_evidence_t *rec, const void **plain,
                          size_t *len)
{
    if (rec->rkey == NULL || rec->rkey_len < STORE_HASH_LEN)
        return ERR_INTERNAL;
    records_learner_t l;
    records_learner_init_hash(&l, rec->rkey);
    const char *out;
    int rc = open_box(txn, &l, STORE_DB_LEARNERS, rec->rkey, rec->rkey_len, rec->blob,
                      rec->blob_len, &out, len);
    records_learner_forget(&l);
    if (rc == 0)
        *plain = out;
    return rc;
}

int records_evidence_put(store_txn_t *txn, records_learner_t *l, const char *competency_id,
                         const char *source, const char *evidence_id, const records_evidence_t *ev)
{
    uint8_t comp_hash[STORE_HASH_LEN];
    store_key_t k, idkey;
    store_hash_id(competency_id, comp_hash);
    key_learner_kind(&k, l->hash, KIND_EVIDENCE);
    store_key_bytes(&k, comp_hash, STORE_HASH_LEN);
    store_key_i64(&k, ev->observed_at);
    uint8_t index[INDEX_LEN];
    memcpy(index, l->hash, STORE_HASH_LEN);
    memcpy(index + STORE_HASH_LEN, k.b + STORE_HASH_LEN + 1, STORE_HASH_LEN + 8);
    int rc = key_scoped_id(txn, &k, source, evidence_id);
    if (rc != 0)
        return rc;

    evidence_header_t h = {
        ev->score, ev->weight, ev->observed_at, ev->outcome, ev->shredded ? EVIDENCE_SHREDDED : 0,
        {0}};
    if (ev->logged) {
        if (ev->log_index >= (UINT64_C(1) << 48) - 1)
            return store_txn_fail(txn, ERR_LIMIT);
        for (uint64_t ref = ev->log_index + 1, i = 0; i < 6; i++, ref >>= 8)
            h.log_ref[i] = (uint8_t)ref;
    }
    if ((rc = put_sealed(txn, STORE_DB_LEARNERS, &k, l, &h, sizeof h, ev->blob, ev->blob_len, 0)) !=
        0)
        return rc;
    if ((rc = key_evidence_id(txn, &idkey, source, evidence_id)) != 0)
        return rc;
    return store_put(txn, STORE_DB_EVIDENCE_ID, &idkey, index, sizeof index, 0);
}

/* The record key of a stored evidence id, through the id index. */
static int evidence_locate(store_txn_t *txn, const char *source, const char *evidence_id,
                           store_key_t *rk)
{
    store_key_t k;
    store_val_t v;
    int rc = key_evidence_id(txn, &k, source, evidence_id);
    if (rc == 0)
        rc = store_get(txn, STORE_DB_EVIDENCE_ID, &k, &v);
    if (rc != 0)
        return rc;
    if (v.len != INDEX_LEN)
        return ERR_INTERNAL;
    key_learner_kind(rk, v.data, KIND_EVIDENCE);
    store_key_bytes(rk, (const uint8_t *)v.data + STORE_HASH_LEN, STORE_HASH_LEN + 8);
    return key_scoped_id(txn, rk, source, evidence_id);
}

/* The stored record of an evidence id: its key and value (borrowed). */
static int evidence_get(store_txn_t *txn, const char *source, const char *evidence_id,
                        store_key_t *k, store_val_t *v)
{
    int rc = evidence_locate(txn, source, evidence_id, k);
    if (rc != 0)
        return rc;
    rc = store_get(txn, STORE_DB_LEARNERS, k, v);
    return rc == ERR_NOT_FOUND ? ERR_INTERNAL : rc; /* index without record: damage */
}

int records_evidence_find(store_txn_t *txn, const char *source, const char *evidence_id,
                          records_evidence_t *out)
{
    store_key_t k;
    store_val_t v;
    int rc = evidence_get(txn, source, evidence_id, &k, &v);
    if (rc == 0)
        rc = evidence_decode(&v, out);
    if (rc != 0)
        return rc;
    uint8_t *key = store_txn_scratch(txn, k.len); /* the box's associated data, kept */
    if (key == NULL)
        return ERR_NOMEM;
    memcpy(key, k.b, k.len);
    out->rkey = key;
    out->rkey_len = k.len;
    return 0;
}

int records_evidence_retract(store_txn_t *txn, const char *source, const char *evidence_id,
                             bool *already)
{
    store_key_t k;
    store_val_t v;
    *already = false;
    int rc = evidence_get(txn, source, evidence_id, &k, &v);
    if (rc != 0)
        return rc;
    evidence_header_t h;
    if (v.len < sizeof h)
        return ERR_INTERNAL;
    memcpy(&h, v.data, sizeof h);
    if (h.flags & EVIDENCE_RETRACTED) {
        *already = true;
        return 0;
    }
    /* Copy out before writing: v points into LMDB and a put may move it. */
    uint8_t *rec = malloc(v.len);
    if (rec == NULL)
        return ERR_NOMEM;
    size_t len = v.len;
    memcpy(rec, v.data, len);
    h.flags |= EVIDENCE_RETRACTED;
    memcpy(rec, &h, sizeof h);
    rc = store_put(txn, STORE_DB_LEARNERS, &k, rec, len, 0);
    free(rec);
    return rc;
}

uint64_t records_evidence_count(store_txn_t *txn)
{
    return store_count(txn, STORE_DB_EVIDENCE_ID);
}

bool records_cursor_next(uint8_t cursor[STORE_HASH_LEN])
{
    for (int i = STORE_HASH_LEN - 1; i >= 0; i--)
        if (++cursor[i] != 0)
            return true;
    return false;
}

int records_learner_next(store_txn_t *txn, uint8_t cursor[STORE_HASH_LEN])
{
    store_key_t start;
    store_iter_t it;
    store_val_t k;
    store_key_reset(&start);
    store_key_bytes(&start, cursor, STORE_HASH_LEN);
    int rc = store_iter_open(txn, STORE_DB_LEARNERS, NULL, &start, &it);
    if (rc != 0)
        return rc;
    rc = store_iter_next_key(&it, &k); /* the key only: a damaged value is the next get's */
    if (rc == 0 && k.len < STORE_HASH_LEN)
        rc = ERR_INTERNAL;
    if (rc == 0)
        memcpy(cursor, k.data, STORE_HASH_LEN);
    store_iter_close(&it);
    return rc;
}

uint64_t records_learner_count(store_txn_t *txn)
{
    uint8_t cursor[STORE_HASH_LEN] = {0};
    char id[STORE_KEY_MAX + 1];
    uint64_t n = 0;
    while (records_learner_seek(txn, cursor, id) == 0) {
        if (id[0] != '\0')
            n++;
        if (!records_cursor_next(cursor))
            break;
    }
    return n;
}

uint64_t records_credential_count(store_txn_t *txn)
{
    return store_count(txn, STORE_DB_CREDENTIALS);
}

int records_evidence_iter_open(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                               const uint8_t *comp_hash, records_evidence_iter_t *it)
{
    store_key_t prefix;
    key_learner_kind(&prefix, learner_hash, KIND_EVIDENCE);
    if (comp_hash)
        store_key_bytes(&prefix, comp_hash, STORE_HASH_LEN);
    return store_iter_open(txn, STORE_DB_LEARNERS, &prefix, NULL, &it->it);
}

int records_evidence_iter_open_at(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                                  const uint8_t *comp_hash, const uint8_t *pos, size_t pos_len,
                                  records_evidence_iter_t *it)
{
    if (pos_len > RECORDS_EVIDENCE_POS_MAX)
        return ERR_INVALID;
    store_key_t prefix, start;
    key_learner_kind(&prefix, learner_hash, KIND_EVIDENCE);
    start = prefix;
    store_key_bytes(&start, pos, pos_len);
    if (comp_hash)
        store_key_bytes(&prefix, comp_hash, STORE_HASH_LEN);
    return store_iter_open(txn, STORE_DB_LEARNERS, &prefix, &start, &it->it);
}

int records_evidence_iter_next(records_evidence_iter_t *it, records_evidence_t *out)
{
    store_val_t k, v;
    int rc = store_iter_next(&it->it, &k, &v);
    if (rc == 0 && (rc = evidence_decode(&v, out)) == 0) {
        out->pos = (const uint8_t *)k.data + STORE_HASH_LEN + 1; /* after learner and kind */
        out->pos_len = k.len - STORE_HASH_LEN - 1;
        out->rkey = k.data;
        out->rkey_len = k.len;
    }
    return rc;
}

void records_evidence_iter_close(records_evidence_iter_t *it)
{
    store_iter_close(&it->it);
}

int records_evidence_next_competency(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                                     const uint8_t *from, uint8_t out[STORE_HASH_LEN])
{
    store_key_t prefix, start;
    store_iter_t it;
    store_val_t k, v;
    key_learner_kind(&prefix, learner_hash, KIND_EVIDENCE);
    start = prefix;
    if (from)
        store_key_bytes(&start, from, STORE_HASH_LEN);
    int rc = store_iter_open(txn, STORE_DB_LEARNERS, &prefix, &start, &it);
    if (rc != 0)
        return rc;
    rc = store_iter_next(&it, &k, &v);
    if (rc == 0 && k.len < prefix.len + STORE_HASH_LEN)
        rc = ERR_INTERNAL;
    if (rc == 0)
        memcpy(out, (const uint8_t *)k.data + prefix.len, STORE_HASH_LEN);
    store_iter_close(&it);
    return rc;
}

/* ---- learners: profile, DID ---------------------------------------------------------------- */

int records_profile_ensure(store_txn_t *txn, records_learner_t *l)
{
    store_key_t k;
    store_val_t v;
    key_learner_kind(&k, l->hash, KIND_PROFILE);
    int rc = store_get(txn, STORE_DB_LEARNERS, &k, &v);
    if (rc == ERR_NOT_FOUND)
        rc = put_sealed(txn, STORE_DB_LEARNERS, &k, l, NULL, 0, l->id, strlen(l->id), 0);
    return rc;
}

int records_learner_seek(store_txn_t *txn, uint8_t cursor[STORE_HASH_LEN],
                         char id[STORE_KEY_MAX + 1])
{
    store_key_t pk;
    store_val_t v;
    int rc = records_learner_next(txn, cursor);
    if (rc != 0)
        return rc;
    key_learner_kind(&pk, cursor, KIND_PROFILE);
    rc = store_get(txn, STORE_DB_LEARNERS, &pk, &v);
    id[0] = '\0';
    if (rc == ERR_NOT_FOUND) /* records but no profile (e.g. only a registered DID) */
        return 0;
    if (rc != 0)
        return rc;
    records_learner_t l;
    records_learner_init_hash(&l, cursor);
    const char *plain;
    size_t len;
    rc = open_box(txn, &l, STORE_DB_LEARNERS, pk.b, pk.len, v.data, v.len, &plain, &len);
    records_learner_forget(&l);
    if (rc == ERR_NOT_FOUND || rc == ERR_GONE) /* no key: nothing of theirs can be read */
        return 0;
    if (rc != 0)
        return rc;
    if (len > STORE_KEY_MAX)
        return ERR_INTERNAL;
    memcpy(id, plain, len + 1);
    return 0;
}

int records_did_get(store_txn_t *txn, records_learner_t *l, char *did, size_t cap)
{
    store_key_t k;
    store_val_t v;
    key_learner_kind(&k, l->hash, KIND_DID);
    int rc = store_get(txn, STORE_DB_LEARNERS, &k, &v);
    const char *plain;
    size_t len;
    if (rc == 0)
        rc = open_box(txn, l, STORE_DB_LEARNERS, k.b, k.len, v.data, v.len, &plain, &len);
    if (rc != 0)
        return rc;
    if (len >= cap)
        return ERR_INTERNAL;
    memcpy(did, plain, len + 1);
    return 0;
}

int records_did_put(store_txn_t *txn, records_learner_t *l, const char *did)
{
    store_key_t k;
    key_learner_kind(&k, l->hash, KIND_DID);
    return put_sealed(txn, STORE_DB_LEARNERS, &k, l, NULL, 0, did, strlen(did), 0);
}

int records_profile_exists(store_txn_t *txn, const records_learner_t *l)
{
    store_key_t k;
    store_val_t v;
    key_learner_kind(&k, l->hash, KIND_PROFILE);
    return store_get(txn, STORE_DB_LEARNERS, &k, &v);
}

/* ---- overrides ----------------------------------------------------------------------------- */

static void key_override(store_key_t *k, const uint8_t *learner_hash, const uint8_t *fw_hash,
                         const uint8_t *comp_hash)
{
    key_learner_kind(k, learner_hash, KIND_OVERRIDE);
    store_key_bytes(k, fw_hash, STORE_HASH_LEN);
    store_key_bytes(k, comp_hash, STORE_HASH_LEN);
}

#define OVERRIDE_TEXT_MAX 8192 /* actor and reason together, as the handler bounds them */

/* The record: at(i64) granted(u8), then the box of actor NUL reason NUL. */
int records_override_put(store_txn_t *txn, records_learner_t *l,
                         const uint8_t fw_hash[STORE_HASH_LEN],
                         const uint8_t comp_hash[STORE_HASH_LEN], const records_override_t *o)
{
    size_t al = strlen(o->actor), rl = strlen(o->reason);
    if (al + rl > OVERRIDE_TEXT_MAX)
        return ERR_INVALID;
    uint8_t head[9], text[OVERRIDE_TEXT_MAX + 2];
    memcpy(head, &o->at, 8);
    head[8] = o->granted;
    memcpy(text, o->actor, al + 1);
    memcpy(text + al + 1, o->reason, rl + 1);
    store_key_t k;
    key_override(&k, l->hash, fw_hash, comp_hash);
    return put_sealed(txn, STORE_DB_LEARNERS, &k, l, head, sizeof head, text, al + rl + 2, 0);
}

int records_override_get(store_txn_t *txn, records_learner_t *l,
                         const uint8_t fw_hash[STORE_HASH_LEN],
                         const uint8_t comp_hash[STORE_HASH_LEN], records_override_t *out)
{
    store_key_t k;
    store_val_t v;
    key_override(&k, l->hash, fw_hash, comp_hash);
    int rc = store_get(txn, STORE_DB_LEARNERS, &k, &v);
    if (rc != 0)
        return rc;
    if (v.len < 9)
        return ERR_INTERNAL;
    const char *p = v.data, *text;
    size_t len;
    memcpy(&out->at, p, 8);
    out->granted = p[8] != 0;
    if ((rc = open_box(txn, l, STORE_DB_LEARNERS, k.b, k.len, p + 9, v.len - 9, &text, &len)) != 0)
        return rc;
    /* two NUL-terminated strings, the last NUL the text's end */
    const char *end = text + len;
    const char *nul = len >= 2 && end[-1] == '\0' ? memchr(text, '\0', len) : NULL;
    if (nul == NULL || nul + 1 >= end)
        return ERR_INTERNAL;
    out->actor = text;
    out->reason = nul + 1;
    return 0;
}

/* ---- reviews ------------------------------------------------------------------------------- */

_Static_assert(sizeof(records_review_t) == 16, "review record is a stored format");

static void key_review(store_key_t *k, const uint8_t *learner_hash, const uint8_t *fw_hash,
                       const uint8_t *comp_hash)
{
    key_learner_kind(k, learner_hash, KIND_REVIEW);
    store_key_bytes(k, fw_hash, STORE_HASH_LEN);
    store_key_bytes(k, comp_hash, STORE_HASH_LEN);
}

static void key_review_due(store_key_t *k, int64_t due_at, const uint8_t *learner_hash,
                           const uint8_t *fw_hash, const uint8_t *comp_hash)
{
    store_key_reset(k);
    store_key_i64(k, due_at);
    store_key_bytes(k, learner_hash, STORE_HASH_LEN);
    store_key_bytes(k, fw_hash, STORE_HASH_LEN);
    store_key_bytes(k, comp_hash, STORE_HASH_LEN);
}

#define REVIEW_KEY_LEN (8 + 3 * STORE_HASH_LEN)

int records_review_get(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                       const uint8_t fw_hash[STORE_HASH_LEN],
                       const uint8_t comp_hash[STORE_HASH_LEN], records_review_t *out)
{
    store_key_t k;
    store_val_t v;
    key_review(&k, learner_hash, fw_hash, comp_hash);
    int rc = store_get(txn, STORE_DB_LEARNERS, &k, &v);
    if (rc != 0)
        return rc;
    if (v.len != sizeof *out)
        return ERR_INTERNAL;
    memcpy(out, v.data, sizeof *out);
    return 0;
}

int records_review_put(store_txn_t *txn, records_learner_t *l, const char *framework_id,
                       const uint8_t fw_hash[STORE_HASH_LEN], const char *competency_id,
                       const uint8_t comp_hash[STORE_HASH_LEN], const records_review_t *old,
                       const records_review_t *rec)
{
    store_key_t k;
    int rc;
    bool indexed_before = old != NULL && !(old->flags & RECORDS_REVIEW_PUBLISHED);
    bool indexed_after = !(rec->flags & RECORDS_REVIEW_PUBLISHED);
    if (indexed_before && (!indexed_after || old->due_at != rec->due_at)) {
        key_review_due(&k, old->due_at, l->hash, fw_hash, comp_hash);
        if ((rc = store_del(txn, STORE_DB_REVIEWS, &k)) != 0 && rc != ERR_NOT_FOUND)
            return rc;
    }
    if (indexed_after && (!indexed_before || old->due_at != rec->due_at)) {
        /* framework id NUL competency id NUL, then the learner id's box */
        size_t a = strlen(l->id), b = strlen(framework_id), c = strlen(competency_id);
        char v[2 * (STORE_KEY_MAX + 1)];
        if (a > STORE_KEY_MAX || b > STORE_KEY_MAX || c > STORE_KEY_MAX)
            return ERR_INVALID;
        memcpy(v, framework_id, b + 1);
        memcpy(v + b + 1, competency_id, c + 1);
        key_review_due(&k, rec->due_at, l->hash, fw_hash, comp_hash);
        if ((rc = put_sealed(txn, STORE_DB_REVIEWS, &k, l, v, b + c + 2, l->id, a, 0)) != 0)
            return rc;
    }
    key_review(&k, l->hash, fw_hash, comp_hash);
    return store_put(txn, STORE_DB_LEARNERS, &k, rec, sizeof *rec, 0);
}

/* A learner's per-competency records of one kind in one framework, H(learner) kind
 * H(framework) H(comp) -> a fixed-size value: the walk the state and review iterators share. */
static int comp_records_open(store_txn_t *txn, const uint8_t *learner_hash, uint8_t kind,
                             const uint8_t *fw_hash, store_iter_t *it)
{
    store_key_t prefix;
    key_learner_kind(&prefix, learner_hash, kind);
    store_key_bytes(&prefix, fw_hash, STORE_HASH_LEN);
    return store_iter_open(txn, STORE_DB_LEARNERS, &prefix, NULL, it);
}

static int comp_records_next(store_iter_t *it, const uint8_t **comp_hash, void *out, size_t size)
{
    store_val_t k, v;
    int rc = store_iter_next(it, &k, &v);
    if (rc != 0)
        return rc;
    if (k.len != 3 * STORE_HASH_LEN + 1 || v.len != size)
        return ERR_INTERNAL;
    *comp_hash = (const uint8_t *)k.data + 2 * STORE_HASH_LEN + 1;
    memcpy(out, v.data, size);
    return 0;
}

int records_review_iter_open(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                             const uint8_t fw_hash[STORE_HASH_LEN], records_review_iter_t *it)
{
    return comp_records_open(txn, learner_hash, KIND_REVIEW, fw_hash, &it->it);
}

int records_review_iter_next(records_review_iter_t *it, const uint8_t **comp_hash,
                             records_review_t *out)
{
    return comp_records_next(&it->it, comp_hash, out, sizeof *out);
}

void records_review_iter_close(records_review_iter_t *it)
{
    store_iter_close(&it->it);
}

int records_review_delete(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                          const uint8_t fw_hash[STORE_HASH_LEN],
                          const uint8_t comp_hash[STORE_HASH_LEN], const records_review_t *old)
{
    store_key_t k;
    int rc;
    if (!(old->flags & RECORDS_REVIEW_PUBLISHED)) {
        key_review_due(&k, old->due_at, learner_hash, fw_hash, comp_hash);
        if ((rc = store_del(txn, STORE_DB_REVIEWS, &k)) != 0 && rc != ERR_NOT_FOUND)
            return rc;
    }
    key_review(&k, learner_hash, fw_hash, comp_hash);
    rc = store_del(txn, STORE_DB_LEARNERS, &k);
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

int records_review_first_due(store_txn_t *txn, int64_t now, records_review_due_t *out)
{
    store_iter_t it;
    store_val_t k, v;
    int rc = store_iter_open(txn, STORE_DB_REVIEWS, NULL, NULL, &it);
    if (rc != 0)
        return rc;
    rc = store_iter_next(&it, &k, &v);
    store_iter_close(&it);
    if (rc != 0)
        return rc;
    const uint8_t *p = k.data;
    if (k.len != REVIEW_KEY_LEN)
        return ERR_INTERNAL;
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | p[i];
    out->due_at = (int64_t)(u ^ (1ull << 63));
    if (out->due_at > now)
        return ERR_NOT_FOUND;
    memcpy(out->learner_hash, p + 8, STORE_HASH_LEN);
    memcpy(out->fw_hash, p + 8 + STORE_HASH_LEN, STORE_HASH_LEN);
    memcpy(out->comp_hash, p + 8 + 2 * STORE_HASH_LEN, STORE_HASH_LEN);
    /* two NUL-terminated strings, then the learner id's box */
    const char *s = v.data, *end = s + v.len;
    const char *n1 = memchr(s, '\0', v.len);
    const char *n2 = n1 && n1 + 1 < end ? memchr(n1 + 1, '\0', (size_t)(end - n1 - 1)) : NULL;
    if (n2 == NULL)
        return ERR_INTERNAL;
    out->framework_id = s;
    out->competency_id = n1 + 1;
    records_learner_t l;
    records_learner_init_hash(&l, out->learner_hash);
    size_t len;
    int orc = open_box(txn, &l, STORE_DB_REVIEWS, k.data, k.len, n2 + 1, (size_t)(end - n2 - 1),
                       &out->learner_id, &len);
    records_learner_forget(&l);
    return orc;
}

int records_review_index_delete(store_txn_t *txn, const records_review_due_t *e)
{
    store_key_t k;
    key_review_due(&k, e->due_at, e->learner_hash, e->fw_hash, e->comp_hash);
    int rc = store_del(txn, STORE_DB_REVIEWS, &k);
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

uint64_t records_review_pending(store_txn_t *txn)
{
    return store_count(txn, STORE_DB_REVIEWS);
}

/* ---- state --------------------------------------------------------------------------------- */

static void key_state(store_key_t *k, const uint8_t *learner_hash, const uint8_t *fw_hash,
                      const uint8_t *comp_hash)
{
    key_learner_kind(k, learner_hash, KIND_STATE);
    store_key_bytes(k, fw_hash, STORE_HASH_LEN);
    store_key_bytes(k, comp_hash, STORE_HASH_LEN);
}

int records_state_iter_open(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                            const uint8_t fw_hash[STORE_HASH_LEN], records_state_iter_t *it)
{
    return comp_records_open(txn, learner_hash, KIND_STATE, fw_hash, &it->it);
}

int records_state_iter_next(records_state_iter_t *it, const uint8_t **comp_hash,
                            records_state_t *out)
{
    return comp_records_next(&it->it, comp_hash, out, sizeof *out);
}

void records_state_iter_close(records_state_iter_t *it)
{
    store_iter_close(&it->it);
}

int records_state_get(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                      const uint8_t fw_hash[STORE_HASH_LEN],
                      const uint8_t comp_hash[STORE_HASH_LEN], records_state_t *out)
{
    store_key_t k;
    store_val_t v;
    key_state(&k, learner_hash, fw_hash, comp_hash);
    int rc = store_get(txn, STORE_DB_LEARNERS, &k, &v);
    if (rc != 0)
        return rc;
    if (v.len != sizeof *out)
        return ERR_INTERNAL;
    memcpy(out, v.data, sizeof *out);
    return 0;
}

int records_state_put(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                      const uint8_t fw_hash[STORE_HASH_LEN],
                      const uint8_t comp_hash[STORE_HASH_LEN], const records_state_t *st)
{
    store_key_t k;
    key_state(&k, learner_hash, fw_hash, comp_hash);
    return store_put(txn, STORE_DB_LEARNERS, &k, st, sizeof *st, 0);
}

/* ---- groups -------------------------------------------------------------------------------- */

#define GROUP_RECORD 'G'

static void key_group(store_key_t *k, const uint8_t *group_hash)
{
    store_key_reset(k);
    store_key_byte(k, GROUP_RECORD);
    store_key_bytes(k, group_hash, STORE_HASH_LEN);
}

static void key_member(store_key_t *k, const uint8_t *group_hash, char kind,
                       const uint8_t *member_hash)
{
    store_key_reset(k);
    store_key_byte(k, (uint8_t)kind);
    store_key_bytes(k, group_hash, STORE_HASH_LEN);
    if (member_hash)
        store_key_bytes(k, member_hash, STORE_HASH_LEN);
}

int records_group_put(store_txn_t *txn, const char *group_id, const char *title)
{
    size_t il = strlen(group_id), tl = strlen(title);
    if (il > RECORDS_GROUP_ID_MAX || tl > RECORDS_GROUP_TITLE_MAX)
        return ERR_INVALID;
    char v[RECORDS_GROUP_ID_MAX + RECORDS_GROUP_TITLE_MAX + 2];
    memcpy(v, group_id, il + 1);
    memcpy(v + il + 1, title, tl + 1);
    uint8_t h[STORE_HASH_LEN];
    store_hash_id(group_id, h);
    store_key_t k;
    key_group(&k, h);
    return store_put(txn, STORE_DB_GROUPS, &k, v, il + tl + 2, 0);
}

/* A group record: id NUL title NUL. */
static int group_decode(const store_val_t *v, const char **id, const char **title)
{
    const char *p = v->data;
    const char *nul = v->len ? memchr(p, '\0', v->len) : NULL;
    if (nul == NULL || v->len < 2 || p[v->len - 1] != '\0')
        return ERR_INTERNAL;
    *id = p;
    *title = nul + 1;
    return 0;
}

int records_group_get(store_txn_t *txn, const char *group_id, char *title, size_t cap)
{
    uint8_t h[STORE_HASH_LEN];
    store_hash_id(group_id, h);
    store_key_t k;
    store_val_t v;
    key_group(&k, h);
    int rc = store_get(txn, STORE_DB_GROUPS, &k, &v);
    const char *id, *t;
    if (rc == 0)
        rc = group_decode(&v, &id, &t);
    if (rc == 0 && title != NULL && cap > 0)
        snprintf(title, cap, "%s", t);
    return rc;
}

static int members_del_all(store_txn_t *txn, const uint8_t *group_hash, char kind,
                           uint64_t *members)
{
    for (;;) { /* one at a time: a delete under an open cursor would move it */
        store_key_t prefix;
        store_iter_t it;
        store_val_t k;
        key_member(&prefix, group_hash, kind, NULL);
        int rc = store_iter_open(txn, STORE_DB_GROUPS, &prefix, NULL, &it);
        if (rc != 0)
            return rc;
        rc = store_iter_next_key(&it, &k);
        store_key_t del;
        if (rc == 0) {
            store_key_reset(&del);
            store_key_bytes(&del, k.data, k.len);
        }
        store_iter_close(&it);
        if (rc == ERR_NOT_FOUND)
            return 0;
        if (rc != 0 || (rc = store_del(txn, STORE_DB_GROUPS, &del)) != 0)
            return rc;
        (*members)++;
    }
}

int records_group_del(store_txn_t *txn, const char *group_id, uint64_t *members)
{
    uint8_t h[STORE_HASH_LEN];
    store_hash_id(group_id, h);
    store_key_t k;
    key_group(&k, h);
    *members = 0;
    int rc = store_del(txn, STORE_DB_GROUPS, &k);
    if (rc == 0)
        rc = members_del_all(txn, h, RECORDS_MEMBER_LEARNER, members);
    if (rc == 0)
        rc = members_del_all(txn, h, RECORDS_MEMBER_TEACHER, members);
    return rc;
}

int records_group_iter_open(store_txn_t *txn, records_group_iter_t *it)
{
    store_key_t prefix;
    store_key_reset(&prefix);
    store_key_byte(&prefix, GROUP_RECORD);
    return store_iter_open(txn, STORE_DB_GROUPS, &prefix, NULL, &it->it);
}

int records_group_iter_next(records_group_iter_t *it, const char **id, const char **title)
{
    store_val_t k, v;
    int rc = store_iter_next(&it->it, &k, &v);
    return rc != 0 ? rc : group_decode(&v, id, title);
}

void records_group_iter_close(records_group_iter_t *it)
{
    store_iter_close(&it->it);
}

int records_member_put(store_txn_t *txn, const uint8_t group_hash[STORE_HASH_LEN], char kind,
                       const char *member_id, bool *changed)
{
    records_learner_t l;
    records_learner_init(&l, member_id);
    store_key_t k;
    store_val_t v;
    key_member(&k, group_hash, kind, l.hash);
    int rc = store_get(txn, STORE_DB_GROUPS, &k, &v);
    *changed = rc == ERR_NOT_FOUND;
    if (rc == ERR_NOT_FOUND && kind == RECORDS_MEMBER_LEARNER) /* a learner's id is sealed */
        rc = put_sealed(txn, STORE_DB_GROUPS, &k, &l, NULL, 0, member_id, strlen(member_id), 0);
    else if (rc == ERR_NOT_FOUND) /* staff ids stay in clear (ARCHITECTURE.md) */
        rc = store_put(txn, STORE_DB_GROUPS, &k, member_id, strlen(member_id), 0);
    records_learner_forget(&l);
    return rc;
}

int records_member_del(store_txn_t *txn, const uint8_t group_hash[STORE_HASH_LEN], char kind,
                       const uint8_t member_hash[STORE_HASH_LEN])
{
    store_key_t k;
    key_member(&k, group_hash, kind, member_hash);
    return store_del(txn, STORE_DB_GROUPS, &k);
}

int records_member_has(store_txn_t *txn, const uint8_t group_hash[STORE_HASH_LEN], char kind,
                       const uint8_t member_hash[STORE_HASH_LEN])
{
    store_key_t k;
    store_val_t v;
    key_member(&k, group_hash, kind, member_hash);
    return store_get(txn, STORE_DB_GROUPS, &k, &v);
}

int records_member_iter_open(store_txn_t *txn, const uint8_t group_hash[STORE_HASH_LEN], char kind,
                             records_member_iter_t *it)
{
    store_key_t prefix;
    key_member(&prefix, group_hash, kind, NULL);
    return store_iter_open(txn, STORE_DB_GROUPS, &prefix, NULL, &it->it);
}

int records_member_iter_next(records_member_iter_t *it, const uint8_t **hash, const char **id,
                             size_t *id_len)
{
    store_val_t k, v;
    int rc = store_iter_next(&it->it, &k, &v);
    if (rc != 0)
        return rc;
    if (k.len != 1 + 2 * STORE_HASH_LEN || v.len == 0)
        return ERR_INTERNAL;
    *hash = (const uint8_t *)k.data + 1 + STORE_HASH_LEN;
    if (((const uint8_t *)k.data)[0] != RECORDS_MEMBER_LEARNER) {
        *id = v.data;
        *id_len = v.len;
    } else {
        records_learner_t l;
        records_learner_init_hash(&l, *hash);
        rc = open_box(it->it.txn, &l, STORE_DB_GROUPS, k.data, k.len, v.data, v.len, id, id_len);
        records_learner_forget(&l);
        if (rc != 0)
            return rc;
    }
    return *id_len == 0 || *id_len > RECORDS_GROUP_ID_MAX ? ERR_INTERNAL : 0;
}

void records_member_iter_close(records_member_iter_t *it)
{
    store_iter_close(&it->it);
}

/* ---- risk ---------------------------------------------------------------------------------- */

_Static_assert(sizeof(records_risk_t) == 32, "risk record is a stored format");

static void key_risk(store_key_t *k, const uint8_t *learner_hash, const uint8_t *fw_hash)
{
    store_key_reset(k);
    store_key_bytes(k, learner_hash, STORE_HASH_LEN);
    store_key_bytes(k, fw_hash, STORE_HASH_LEN);
}

int records_risk_get(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                     const uint8_t fw_hash[STORE_HASH_LEN], records_risk_t *out)
{
    store_key_t k;
    store_val_t v;
    key_risk(&k, learner_hash, fw_hash);
    int rc = store_get(txn, STORE_DB_RISK, &k, &v);
    if (rc != 0)
        return rc;
    if (v.len != sizeof *out)
        return ERR_INTERNAL;
    memcpy(out, v.data, sizeof *out);
    return 0;
}

int records_risk_put(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                     const uint8_t fw_hash[STORE_HASH_LEN], const records_risk_t *r)
{
    store_key_t k;
    key_risk(&k, learner_hash, fw_hash);
    if (r->flags == 0)
        return store_del(txn, STORE_DB_RISK, &k);
    return store_put(txn, STORE_DB_RISK, &k, r, sizeof *r, 0);
}

/* ---- events -------------------------------------------------------------------------------- */

/* An event record: flags(u8) kind(u8) at(i64), then the packed Event, or (EVENT_SEALED) the
 * learner's hash and the packed Event's box under their data key. */
#define EVENT_SEALED 1u
#define EVENT_HEAD   10
#define EVENT_BUF    4096

int records_event_append(store_txn_t *txn, uint64_t seq, records_learner_t *l, uint32_t kind,
                         int64_t at, const void *data, size_t len)
{
    store_key_t k;
    store_key_reset(&k);
    store_key_u64(&k, seq);
    uint8_t head[EVENT_HEAD + STORE_HASH_LEN];
    head[0] = l != NULL ? EVENT_SEALED : 0;
    head[1] = (uint8_t)kind;
    memcpy(head + 2, &at, 8);
    if (l != NULL) {
        memcpy(head + EVENT_HEAD, l->hash, STORE_HASH_LEN);
        return put_sealed(txn, STORE_DB_EVENTS, &k, l, head, sizeof head, data, len, STORE_APPEND);
    }
    uint8_t stackbuf[EVENT_BUF];
    uint8_t *buf = EVENT_HEAD + len <= sizeof stackbuf ? stackbuf : malloc(EVENT_HEAD + len);
    if (buf == NULL)
        return ERR_NOMEM;
    memcpy(buf, head, EVENT_HEAD);
    memcpy(buf + EVENT_HEAD, data, len);
    int rc = store_put(txn, STORE_DB_EVENTS, &k, buf, EVENT_HEAD + len, STORE_APPEND);
    if (buf != stackbuf)
        free(buf);
    return rc;
}

static int event_decode(store_txn_t *txn, const store_val_t *k, const store_val_t *v,
                        records_event_t *out)
{
    const uint8_t *p = v->data;
    if (k->len != 8 || v->len < EVENT_HEAD)
        return ERR_INTERNAL;
    out->seq = store_read_u64(k->data);
    out->shredded = false;
    out->kind = p[1];
    memcpy(&out->at, p + 2, 8);
    if (!(p[0] & EVENT_SEALED)) {
        out->data = p + EVENT_HEAD;
        out->len = v->len - EVENT_HEAD;
        return 0;
    }
    if (v->len < EVENT_HEAD + STORE_HASH_LEN)
        return ERR_INTERNAL;
    records_learner_t l;
    records_learner_init_hash(&l, p + EVENT_HEAD);
    const char *plain;
    size_t len;
    int rc = open_box(txn, &l, STORE_DB_EVENTS, k->data, k->len, p + EVENT_HEAD + STORE_HASH_LEN,
                      v->len - EVENT_HEAD - STORE_HASH_LEN, &plain, &len);
    records_learner_forget(&l);
    /* No key (erased), or a key that does not open it (erased, then re-enrolled under a new
     * key; damage would have failed the record's checksum first): the content is gone. */
    if (rc == ERR_NOT_FOUND || rc == ERR_GONE || rc == ERR_DATA_LOSS) {
        out->shredded = true;
        out->data = NULL;
        out->len = 0;
        return 0;
    }
    if (rc != 0)
        return rc;
    out->data = plain;
    out->len = len;
    return 0;
}

int records_event_last(store_txn_t *txn, uint64_t *seq)
{
    store_val_t k;
    int rc = store_last(txn, STORE_DB_EVENTS, &k, NULL);
    if (rc != 0)
        return rc;
    if (k.len != 8)
        return ERR_INTERNAL;
    *seq = store_read_u64(k.data);
    return 0;
}

int records_event_first(store_txn_t *txn, records_event_t *out)
{
    records_event_iter_t it;
    int rc = records_event_iter_open(txn, 0, &it);
    if (rc != 0)
        return rc;
    rc = records_event_iter_next(&it, out);
    records_event_iter_close(&it);
    return rc;
}

int records_event_delete(store_txn_t *txn, uint64_t seq)
{
    store_key_t k;
    store_key_reset(&k);
    store_key_u64(&k, seq);
    return store_del(txn, STORE_DB_EVENTS, &k);
}

int records_event_iter_open(store_txn_t *txn, uint64_t from, records_event_iter_t *it)
{
    store_key_t start;
    store_key_reset(&start);
    store_key_u64(&start, from);
    return store_iter_open(txn, STORE_DB_EVENTS, NULL, &start, &it->it);
}

int records_event_iter_next(records_event_iter_t *it, records_event_t *out)
{
    store_val_t k, v;
    int rc = store_iter_next(&it->it, &k, &v);
    return rc != 0 ? rc : event_decode(it->it.txn, &k, &v, out);
}

void records_event_iter_close(records_event_iter_t *it)
{
    store_iter_close(&it->it);
}

/* ---- credentials --------------------------------------------------------------------------- */

typedef struct credential_header {
    int64_t issued_at;
    int64_t changed_at;
    uint32_t index;
    uint32_t revision;
    uint8_t state;
    uint8_t flags;
    uint8_t reserved[2];
    uint32_t list; /* 0 in records written before lists rolled over: list 1 */
} credential_header_t;

_Static_assert(sizeof(credential_header_t) == 32, "credential header is a stored format");

static void key_credential(store_key_t *k, const char *id)
{
    store_key_reset(k);
    store_key_bytes(k, id, strlen(id));
}

static void hex16(const uint8_t *h, char out[2 * STORE_HASH_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < STORE_HASH_LEN; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[2 * STORE_HASH_LEN] = '\0';
}

static int unhex16(const char *s, size_t len, uint8_t out[STORE_HASH_LEN])
{
    if (len != 2 * STORE_HASH_LEN)
        return ERR_INTERNAL;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return ERR_INTERNAL;
        out[i / 2] = (uint8_t)(i % 2 == 0 ? v << 4 : out[i / 2] | v);
    }
    return 0;
}

/* The record: the header, then eight strings [u32 len with NUL][bytes][NUL]. The learner string
 * holds the learner's hash (hex), the reason string the reason's box (bytes, not text). */
int records_credential_put(store_txn_t *txn, const records_credential_t *c)
{
    credential_header_t h = {c->issued_at, c->changed_at, c->status_index, c->revision, c->state,
                             c->flags,     {0},           c->status_list};
    records_learner_t l;
    if (c->s[RECORDS_CRED_LEARNER][0] != '\0')
        records_learner_init(&l, c->s[RECORDS_CRED_LEARNER]);
    else /* read back from an erased learner's record: keep whose it was */
        records_learner_init_hash(&l, c->learner_hash);
    char lhex[2 * STORE_HASH_LEN + 1];
    hex16(l.hash, lhex);
    store_key_t k;
    key_credential(&k, c->s[RECORDS_CRED_ID]);
    /* The reason's box; an erased learner's (no key) keeps none. */
    vault_t *v = store_vault(txn);
    if (v == NULL)
        return ERR_UNAVAILABLE;
    size_t rlen = c->len[RECORDS_CRED_REASON], blen = 0;
    uint8_t *box = NULL;
    int rc = rlen > 0 ? records_learner_unlock(txn, &l, c->s[RECORDS_CRED_LEARNER][0] != '\0')
                      : ERR_NOT_FOUND;
    if (rc == 0) {
        uint8_t aad[1 + STORE_KEY_MAX];
        size_t al = box_aad(aad, STORE_DB_CREDENTIALS, k.b, k.len);
        blen = vault_box_len(v, rlen);
        if ((box = malloc(blen)) == NULL)
            rc = ERR_NOMEM;
        else
            rc = vault_seal(v, RECORDS_DATA_KEY(&l), aad, al, c->s[RECORDS_CRED_REASON], rlen, box);
    } else if (rc == ERR_NOT_FOUND || rc == ERR_GONE) {
        rc = 0;
    }
    records_learner_forget(&l);
    const char *s[RECORDS_CRED_STRINGS];
    size_t len[RECORDS_CRED_STRINGS];
    for (int i = 0; i < RECORDS_CRED_STRINGS; i++) {
        s[i] = c->s[i];
        len[i] = c->len[i];
    }
    s[RECORDS_CRED_LEARNER] = lhex;
    len[RECORDS_CRED_LEARNER] = 2 * STORE_HASH_LEN;
    s[RECORDS_CRED_REASON] = box != NULL ? (const char *)box : "";
    len[RECORDS_CRED_REASON] = box != NULL ? blen : 0;
    size_t n = sizeof h;
    for (int i = 0; i < RECORDS_CRED_STRINGS; i++)
        n += 4 + len[i] + 1;
    uint8_t *rec = rc == 0 ? malloc(n) : NULL, *p = rec;
    if (rc == 0 && rec == NULL)
        rc = ERR_NOMEM;
    if (rc == 0) {
        memcpy(p, &h, sizeof h);
        p += sizeof h;
        for (int i = 0; i < RECORDS_CRED_STRINGS; i++) {
            uint32_t sl = (uint32_t)len[i] + 1;
            memcpy(p, &sl, 4);
            if (len[i] > 0)
                memcpy(p + 4, s[i], len[i]);
            p[4 + len[i]] = '\0';
            p += 4 + sl;
        }
        rc = store_put(txn, STORE_DB_CREDENTIALS, &k, rec, n, 0);
    }
    free(rec);
    free(box);
    return rc;
}

int records_credential_get(store_txn_t *txn, const char *id, records_credential_t *out)
{
    store_key_t k;
    store_val_t v;
    key_credential(&k, id);
    int rc = store_get(txn, STORE_DB_CREDENTIALS, &k, &v);
    if (rc != 0)
        return rc;
    credential_header_t h;
    const uint8_t *p = v.data, *end = p + v.len;
    if (v.len < sizeof h)
        return ERR_INTERNAL;
    memcpy(&h, p, sizeof h);
    p += sizeof h;
    for (int i = 0; i < RECORDS_CRED_STRINGS; i++) {
        uint32_t l;
        if (end - p < 4)
            return ERR_INTERNAL;
        memcpy(&l, p, 4);
        if (l == 0 || (size_t)(end - p - 4) < l || p[4 + l - 1] != '\0')
            return ERR_INTERNAL;
        out->s[i] = (const char *)p + 4;
        out->len[i] = l - 1;
        p += 4 + l;
    }
    if ((rc = unhex16(out->s[RECORDS_CRED_LEARNER], out->len[RECORDS_CRED_LEARNER],
                      out->learner_hash)) != 0)
        return rc;
    /* The learner's id from their profile, the reason from its box: "" once erased. */
    records_learner_t l;
    records_learner_init_hash(&l, out->learner_hash);
    const char *text = "", *reason_box = out->s[RECORDS_CRED_REASON];
    size_t tlen = 0, blen = out->len[RECORDS_CRED_REASON];
    out->s[RECORDS_CRED_LEARNER] = "";
    out->len[RECORDS_CRED_LEARNER] = 0;
    out->s[RECORDS_CRED_REASON] = "";
    out->len[RECORDS_CRED_REASON] = 0;
    store_key_t pk;
    store_val_t pv;
    key_learner_kind(&pk, l.hash, KIND_PROFILE);
    rc = store_get(txn, STORE_DB_LEARNERS, &pk, &pv);
    if (rc == 0)
        rc = open_box(txn, &l, STORE_DB_LEARNERS, pk.b, pk.len, pv.data, pv.len, &text, &tlen);
    if (rc == 0) {
        out->s[RECORDS_CRED_LEARNER] = text;
        out->len[RECORDS_CRED_LEARNER] = tlen;
    }
    if (rc == 0 && blen > 0)
        rc = open_box(txn, &l, STORE_DB_CREDENTIALS, k.b, k.len, reason_box, blen, &text, &tlen);
    if (rc == 0 && blen > 0) {
        out->s[RECORDS_CRED_REASON] = text;
        out->len[RECORDS_CRED_REASON] = tlen;
    }
    records_learner_forget(&l);
    if (rc != 0 && rc != ERR_NOT_FOUND && rc != ERR_GONE && rc != ERR_DATA_LOSS)
        return rc;
    out->issued_at = h.issued_at;
    out->changed_at = h.changed_at;
    out->status_index = h.index;
    out->revision = h.revision;
    out->state = h.state;
    out->flags = h.flags;
    out->status_list = h.list ? h.list : 1;
    return 0;
}

int records_credential_shred(store_txn_t *txn, const char *id)
{
    records_credential_t c;
    int rc = records_credential_get(txn, id, &c);
    if (rc != 0)
        return rc;
    /* put copies every string before writing, so c may borrow from the old record */
    c.s[RECORDS_CRED_LEARNER] = ""; /* keeps c.learner_hash */
    c.len[RECORDS_CRED_LEARNER] = 0;
    c.s[RECORDS_CRED_REASON] = c.s[RECORDS_CRED_JSON] = c.s[RECORDS_CRED_JWT] = "";
    c.len[RECORDS_CRED_REASON] = c.len[RECORDS_CRED_JSON] = c.len[RECORDS_CRED_JWT] = 0;
    return records_credential_put(txn, &c);
}

static void key_cred_index(store_key_t *k, const records_cred_key_t *c)
{
    store_key_reset(k);
    store_key_bytes(k, c->learner_hash, STORE_HASH_LEN);
    store_key_bytes(k, c->fw_hash, STORE_HASH_LEN);
    store_key_u32(k, c->revision);
    store_key_bytes(k, c->comp_hash, STORE_HASH_LEN);
}

static int copy_id(const store_val_t *v, char *id, size_t cap)
{
    if (v->len >= cap)
        return ERR_INTERNAL;
    memcpy(id, v->data, v->len);
    id[v->len] = '\0';
    return 0;
}

int records_cred_index_get(store_txn_t *txn, const records_cred_key_t *c, char *id, size_t cap)
{
    store_key_t k;
    store_val_t v;
    key_cred_index(&k, c);
    int rc = store_get(txn, STORE_DB_CRED_INDEX, &k, &v);
    return rc ? rc : copy_id(&v, id, cap);
}

int records_cred_index_put(store_txn_t *txn, const records_cred_key_t *c, const char *id)
{
    store_key_t k;
    key_cred_index(&k, c);
    return store_put(txn, STORE_DB_CRED_INDEX, &k, id, strlen(id), 0);
}

int records_cred_iter_open(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                           records_cred_iter_t *it)
{
    store_key_t prefix;
    store_key_reset(&prefix);
    store_key_bytes(&prefix, learner_hash, STORE_HASH_LEN);
    return store_iter_open(txn, STORE_DB_CRED_INDEX, &prefix, NULL, &it->it);
}

int records_cred_iter_next(records_cred_iter_t *it, char *id, size_t cap)
{
    store_val_t k, v;
    int rc = store_iter_next(&it->it, &k, &v);
    return rc ? rc : copy_id(&v, id, cap);
}

void records_cred_iter_close(records_cred_iter_t *it)
{
    store_iter_close(&it->it);
}

/* ---- status lists -------------------------------------------------------------------------- */

typedef struct slist_header {
    uint32_t flags;
    uint32_t entries;
    int64_t created_at;
} slist_header_t;

_Static_assert(sizeof(slist_header_t) == 16, "status list header is a stored format");

static void key_slist(store_key_t *k, uint32_t n)
{
    store_key_reset(k);
    store_key_byte(k, 'L');
    store_key_u32(k, n);
}

int records_slist_put(store_txn_t *txn, uint32_t n, const records_slist_t *l)
{
    slist_header_t h = {l->flags, l->entries, l->created_at};
    size_t dl = strlen(l->did), bl = strlen(l->base), len = sizeof h + dl + 1 + bl + 1;
    uint8_t *rec = malloc(len);
    if (rec == NULL)
        return ERR_NOMEM;
    memcpy(rec, &h, sizeof h);
    memcpy(rec + sizeof h, l->did, dl + 1);
    memcpy(rec + sizeof h + dl + 1, l->base, bl + 1);
    store_key_t k;
    key_slist(&k, n);
    int rc = store_put(txn, STORE_DB_STATUS, &k, rec, len, 0);
    free(rec);
    return rc;
}

int records_slist_get(store_txn_t *txn, uint32_t n, records_slist_t *out)
{
    store_key_t k;
    store_val_t v;
    key_slist(&k, n);
    int rc = store_get(txn, STORE_DB_STATUS, &k, &v);
    if (rc != 0)
        return rc;
    slist_header_t h;
    const char *p = (const char *)v.data + sizeof h, *end = (const char *)v.data + v.len;
    if (v.len < sizeof h + 2 || end[-1] != '\0')
        return ERR_INTERNAL;
    const char *nul = memchr(p, '\0', (size_t)(end - p));
    if (nul == NULL || nul + 1 >= end)
        return ERR_INTERNAL;
    memcpy(&h, v.data, sizeof h);
    out->flags = h.flags;
    out->entries = h.entries;
    out->created_at = h.created_at;
    out->did = p;
    out->base = nul + 1;
    return 0;
}

int records_slist_last(store_txn_t *txn, uint32_t *n)
{
    store_key_t prefix;
    store_key_reset(&prefix);
    store_key_byte(&prefix, 'L');
    store_iter_t it;
    store_val_t k, v;
    int rc = store_iter_open(txn, STORE_DB_STATUS, &prefix, NULL, &it);
    if (rc != 0)
        return rc;
    /* Lists are few (one per status_list_size badges, or per key rotation under did:key). */
    bool any = false;
    while ((rc = store_iter_next(&it, &k, &v)) == 0) {
        if (k.len != 5) {
            rc = ERR_INTERNAL;
            break;
        }
        *n = store_read_u32((const uint8_t *)k.data + 1);
        any = true;
    }
    store_iter_close(&it);
    if (rc != ERR_NOT_FOUND)
        return rc;
    return any ? 0 : ERR_NOT_FOUND;
}

static void key_slist_bits(store_key_t *k, uint32_t n, char which)
{
    store_key_reset(k);
    store_key_byte(k, 'B');
    store_key_u32(k, n);
    store_key_byte(k, (uint8_t)which);
}

int records_slist_bits_get(store_txn_t *txn, uint32_t n, char which, store_val_t *bits)
{
    store_key_t k;
    key_slist_bits(&k, n, which);
    return store_get(txn, STORE_DB_STATUS, &k, bits);
}

int records_slist_bits_put(store_txn_t *txn, uint32_t n, char which, const void *bits, size_t len)
{
    store_key_t k;
    key_slist_bits(&k, n, which);
    return store_put(txn, STORE_DB_STATUS, &k, bits, len, 0);
}

int records_bits_get(store_txn_t *txn, char which, store_val_t *bits)
{
    store_key_t k;
    store_key_reset(&k);
    store_key_byte(&k, (uint8_t)which);
    return store_get(txn, STORE_DB_STATUS, &k, bits);
}

int records_bits_del(store_txn_t *txn, char which)
{
    store_key_t k;
    store_key_reset(&k);
    store_key_byte(&k, (uint8_t)which);
    return store_del(txn, STORE_DB_STATUS, &k);
}

/* ---- store identity ------------------------------------------------------------------------ */

/* meta "vault": the fingerprint of the store.key the file was sealed under. */
static void key_vault_id(store_key_t *k)
{
    store_key_reset(k);
    store_key_bytes(k, "vault", 5);
}

int records_vault_id_get(store_txn_t *txn, uint8_t id[RECORDS_VAULT_ID_LEN])
{
    store_key_t k;
    store_val_t v;
    key_vault_id(&k);
    int rc = store_get(txn, STORE_DB_META, &k, &v);
    if (rc == 0 && v.len != RECORDS_VAULT_ID_LEN)
        rc = ERR_INTERNAL;
    if (rc == 0)
        memcpy(id, v.data, RECORDS_VAULT_ID_LEN);
    return rc;
}

int records_vault_id_put(store_txn_t *txn, const uint8_t id[RECORDS_VAULT_ID_LEN])
{
    store_key_t k;
    key_vault_id(&k);
    return store_put(txn, STORE_DB_META, &k, id, RECORDS_VAULT_ID_LEN, 0);
}

static void key_identity(store_key_t *k)
{
    store_key_reset(k);
    store_key_bytes(k, "identity", 8);
}

bool records_store_empty(store_txn_t *txn)
{
    return store_count(txn, STORE_DB_FRAMEWORKS) == 0 && store_count(txn, STORE_DB_LEARNERS) == 0 &&
           store_count(txn, STORE_DB_EVENTS) == 0 && store_count(txn, STORE_DB_CREDENTIALS) == 0;
}

int records_identity_get(store_txn_t *txn, records_identity_t *out)
{
    store_key_t k;
    store_val_t v;
    key_identity(&k);
    int rc = store_get(txn, STORE_DB_META, &k, &v);
    if (rc != 0)
        return rc;
    if (v.len != sizeof *out)
        return ERR_INTERNAL;
    memcpy(out, v.data, sizeof *out);
    if (memchr(out->ed25519, '\0', sizeof out->ed25519) == NULL ||
        memchr(out->rsa, '\0', sizeof out->rsa) == NULL)
        return ERR_INTERNAL;
    return 0;
}

int records_identity_put(store_txn_t *txn, const records_identity_t *id)
{
    store_key_t k;
    key_identity(&k);
    return store_put(txn, STORE_DB_META, &k, id, sizeof *id, 0);
}

/* ---- cluster mode: the stream sequence applied per partition -------------------------------- */

static void key_stream_applied(store_key_t *k, uint32_t partition)
{
    store_key_reset(k);
    store_key_bytes(k, "stream-applied", 14);
    store_key_u32(k, partition);
}

int records_stream_applied_get(store_txn_t *txn, uint32_t partition, uint64_t *seq)
{
    store_key_t k;
    store_val_t v;
    key_stream_applied(&k, partition);
    int rc = store_get(txn, STORE_DB_META, &k, &v);
    *seq = 0;
    if (rc == ERR_NOT_FOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (v.len != 8)
        return ERR_DATA_LOSS;
    for (int i = 0; i < 8; i++)
        *seq = *seq << 8 | ((const uint8_t *)v.data)[i];
    return 0;
}

int records_stream_applied_put(store_txn_t *txn, uint32_t partition, uint64_t seq)
{
    store_key_t k;
    uint8_t b[8];
    key_stream_applied(&k, partition);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(seq >> (56 - 8 * i));
    return store_put(txn, STORE_DB_META, &k, b, sizeof b, 0);
}

/* ---- the transparency log ------------------------------------------------------------------ */

#define LOG_TREE_BASE       'B'
#define LOG_TREE_CHECKPOINT 'C'
#define LOG_TREE_HASH       'H'
#define LOG_TREE_ORIGIN     'O'

static void key_log_tree(store_key_t *k, uint8_t kind)
{
    store_key_reset(k);
    store_key_byte(k, kind);
}

int records_log_base_get(store_txn_t *txn, uint64_t *base)
{
    store_key_t k;
    store_val_t v;
    key_log_tree(&k, LOG_TREE_BASE);
    int rc = store_get(txn, STORE_DB_LOG_TREE, &k, &v);
    if (rc != 0)
        return rc;
    if (v.len != 8)
        return ERR_INTERNAL;
    *base = store_read_u64(v.data);
    return 0;
}

int records_log_base_put(store_txn_t *txn, uint64_t base)
{
    store_key_t k, v;
    key_log_tree(&k, LOG_TREE_BASE);
    store_key_reset(&v);
    store_key_u64(&v, base);
    return store_put(txn, STORE_DB_LOG_TREE, &k, v.b, v.len, 0);
}

int records_log_entry_put(store_txn_t *txn, uint64_t index, const void *entry, size_t len)
{
    store_key_t k;
    store_key_reset(&k);
    store_key_u64(&k, index);
    return store_put(txn, STORE_DB_LOG, &k, entry, len, STORE_APPEND);
}

int records_log_entry_get(store_txn_t *txn, uint64_t index, const void **entry, size_t *len)
{
    store_key_t k;
    store_val_t v;
    store_key_reset(&k);
    store_key_u64(&k, index);
    int rc = store_get(txn, STORE_DB_LOG, &k, &v);
    if (rc != 0)
        return rc;
    *entry = v.data;
    *len = v.len;
    return 0;
}

int records_log_size(store_txn_t *txn, uint64_t *size)
{
    store_val_t k;
    int rc = store_last(txn, STORE_DB_LOG, &k, NULL);
    if (rc == ERR_NOT_FOUND) {
        *size = 0;
        return 0;
    }
    if (rc != 0)
        return rc;
    if (k.len != 8)
        return ERR_INTERNAL;
    *size = store_read_u64(k.data) + 1;
    return 0;
}

static void key_log_hash(store_key_t *k, unsigned level, uint64_t index)
{
    key_log_tree(k, LOG_TREE_HASH);
    store_key_byte(k, (uint8_t)level);
    store_key_u64(k, index);
}

int records_log_hash_put(store_txn_t *txn, unsigned level, uint64_t index,
                         const uint8_t hash[RECORDS_LOG_HASH_LEN])
{
    store_key_t k;
    key_log_hash(&k, level, index);
    return store_put(txn, STORE_DB_LOG_TREE, &k, hash, RECORDS_LOG_HASH_LEN, 0);
}

int records_log_hash_get(store_txn_t *txn, unsigned level, uint64_t index,
                         uint8_t hash[RECORDS_LOG_HASH_LEN])
{
    store_key_t k;
    store_val_t v;
    key_log_hash(&k, level, index);
    int rc = store_get(txn, STORE_DB_LOG_TREE, &k, &v);
    if (rc != 0)
        return rc;
    if (v.len != RECORDS_LOG_HASH_LEN)
        return ERR_INTERNAL;
    memcpy(hash, v.data, RECORDS_LOG_HASH_LEN);
    return 0;
}

int records_log_origin_get(store_txn_t *txn, char *origin, size_t cap)
{
    store_key_t k;
    store_val_t v;
    key_log_tree(&k, LOG_TREE_ORIGIN);
    int rc = store_get(txn, STORE_DB_LOG_TREE, &k, &v);
    if (rc != 0)
        return rc;
    if (v.len == 0 || v.len >= cap || memchr(v.data, '\0', v.len) != NULL)
        return ERR_INTERNAL;
    memcpy(origin, v.data, v.len);
    origin[v.len] = '\0';
    return 0;
}

int records_log_origin_put(store_txn_t *txn, const char *origin)
{
    store_key_t k;
    key_log_tree(&k, LOG_TREE_ORIGIN);
    return store_put(txn, STORE_DB_LOG_TREE, &k, origin, strlen(origin), 0);
}

int records_log_checkpoint_put(store_txn_t *txn, const char *note, size_t len)
{
    store_key_t k;
    key_log_tree(&k, LOG_TREE_CHECKPOINT);
    return store_put(txn, STORE_DB_LOG_TREE, &k, note, len, 0);
}

int records_log_checkpoint_get(store_txn_t *txn, const char **note, size_t *len)
{
    store_key_t k;
    store_val_t v;
    key_log_tree(&k, LOG_TREE_CHECKPOINT);
    int rc = store_get(txn, STORE_DB_LOG_TREE, &k, &v);
    if (rc != 0)
        return rc;
    *note = v.data;
    *len = v.len;
    return 0;
}

/* ---- copies of records, for code that rewrites what it walks ------------------------------- */

typedef struct kv {
    uint8_t *key, *val;
    size_t klen, vlen;
} kv_t;

static void kv_free(kv_t *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i].key);
    free(items);
}

/* Copies up to max records of db under prefix (NULL: all), from start (NULL: the first), into
 * *items (caller frees with kv_free). *n: how many. A walk copies first and writes after: a put
 * under an open cursor reshapes the tree it walks. */
static int kv_collect(store_txn_t *txn, store_db_t db, const store_key_t *prefix,
                      const store_key_t *start, size_t max, bool keys_only, kv_t **items, size_t *n)
{
    store_iter_t it;
    store_val_t k, v = {NULL, 0};
    size_t cap = 0;
    *items = NULL;
    *n = 0;
    int rc = store_iter_open(txn, db, prefix, start, &it);
    while (rc == 0 && *n < max &&
           (rc = keys_only ? store_iter_next_key(&it, &k) : store_iter_next(&it, &k, &v)) == 0) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            kv_t *grown = realloc(*items, cap * sizeof *grown);
            if (grown == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            *items = grown;
        }
        kv_t *e = &(*items)[*n];
        size_t vlen = keys_only ? 0 : v.len;
        if ((e->key = malloc(k.len + vlen + 1)) == NULL) {
            rc = ERR_NOMEM;
            break;
        }
        e->val = e->key + k.len;
        memcpy(e->key, k.data, e->klen = k.len);
        if (vlen > 0)
            memcpy(e->val, v.data, vlen);
        e->vlen = vlen;
        (*n)++;
    }
    store_iter_close(&it);
    if (rc == ERR_NOT_FOUND || (rc == 0 && *n == max))
        rc = 0;
    if (rc != 0) {
        kv_free(*items, *n);
        *items = NULL;
        *n = 0;
    }
    return rc;
}

static void key_from(store_key_t *k, const uint8_t *bytes, size_t len)
{
    store_key_reset(k);
    store_key_bytes(k, bytes, len);
}

/* Deletes every record of db under prefix; *n counts them. */
static int del_prefix(store_txn_t *txn, store_db_t db, const store_key_t *prefix, uint64_t *n)
{
    for (;;) {
        kv_t *items;
        size_t m;
        int rc = kv_collect(txn, db, prefix, NULL, 1024, true, &items, &m);
        for (size_t i = 0; rc == 0 && i < m; i++) {
            store_key_t k;
            key_from(&k, items[i].key, items[i].klen);
            rc = store_del(txn, db, &k);
        }
        kv_free(items, m);
        if (rc != 0)
            return rc;
        *n += m;
        if (m < 1024)
            return 0;
    }
}

/* ---- erasure, legal hold, retention -------------------------------------------------------- */

#define EVIDENCE_KEY_FIXED (STORE_HASH_LEN + 1 + STORE_HASH_LEN + 8) /* learner 'E' comp time */

int records_learner_erase(store_txn_t *txn, records_learner_t *l, int64_t at, uint64_t *evidence,
                          uint64_t *records)
{
    store_key_t prefix, k;
    kv_t *items;
    size_t n;
    *evidence = *records = 0;
    /* the evidence ids' index entries: each record key ends with H(source) X(id), their key */
    key_learner_kind(&prefix, l->hash, KIND_EVIDENCE);
    int rc = kv_collect(txn, STORE_DB_LEARNERS, &prefix, NULL, SIZE_MAX, true, &items, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (items[i].klen <= EVIDENCE_KEY_FIXED) {
            rc = ERR_INTERNAL;
            break;
        }
        key_from(&k, items[i].key + EVIDENCE_KEY_FIXED, items[i].klen - EVIDENCE_KEY_FIXED);
        rc = store_del(txn, STORE_DB_EVIDENCE_ID, &k);
    }
    kv_free(items, n);
    *evidence = n;
    /* the review index entries of periods not yet published */
    key_learner_kind(&prefix, l->hash, KIND_REVIEW);
    if (rc == 0)
        rc = kv_collect(txn, STORE_DB_LEARNERS, &prefix, NULL, SIZE_MAX, false, &items, &n);
    else
        items = NULL, n = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        records_review_t r;
        if (items[i].klen != 1 + 3 * STORE_HASH_LEN || items[i].vlen != sizeof r) {
            rc = ERR_INTERNAL;
            break;
        }
        memcpy(&r, items[i].val, sizeof r);
        if (!(r.flags & RECORDS_REVIEW_PUBLISHED)) {
            key_review_due(&k, r.due_at, l->hash, items[i].key + 1 + STORE_HASH_LEN,
                           items[i].key + 1 + 2 * STORE_HASH_LEN);
            rc = store_del(txn, STORE_DB_REVIEWS, &k);
        }
    }
    kv_free(items, n);
    /* class memberships: one key per group */
    store_key_reset(&prefix);
    store_key_byte(&prefix, GROUP_RECORD);
    if (rc == 0)
        rc = kv_collect(txn, STORE_DB_GROUPS, &prefix, NULL, SIZE_MAX, true, &items, &n);
    else
        items = NULL, n = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        store_val_t v;
        key_member(&k, items[i].key + 1, RECORDS_MEMBER_LEARNER, l->hash);
        if ((rc = store_get(txn, STORE_DB_GROUPS, &k, &v)) == 0) {
            rc = store_del(txn, STORE_DB_GROUPS, &k);
            (*records)++;
        } else if (rc == ERR_NOT_FOUND) {
            rc = 0;
        }
    }
    kv_free(items, n);
    /* everything under the learner's hash: evidence, profile, states, DID, overrides, reviews,
     * hold, and the secret; their at-risk records and credential index entries */
    store_key_reset(&prefix);
    store_key_bytes(&prefix, l->hash, STORE_HASH_LEN);
    if (rc == 0)
        rc = del_prefix(txn, STORE_DB_LEARNERS, &prefix, records);
    if (rc == 0)
        rc = del_prefix(txn, STORE_DB_RISK, &prefix, records);
    if (rc == 0)
        rc = del_prefix(txn, STORE_DB_CRED_INDEX, &prefix, records);
    *records += *evidence; /* their index entries */
    key_learner_kind(&k, l->hash, KIND_ERASED);
    if (rc == 0)
        rc = store_put(txn, STORE_DB_LEARNERS, &k, &at, sizeof at, 0);
    records_learner_forget(l);
    return rc;
}

int records_hold_get(store_txn_t *txn, records_learner_t *l, int64_t *since, const char **reason)
{
    store_key_t k;
    store_val_t v;
    key_learner_kind(&k, l->hash, KIND_HOLD);
    int rc = store_get(txn, STORE_DB_LEARNERS, &k, &v);
    if (rc != 0)
        return rc;
    if (v.len < 8)
        return ERR_INTERNAL;
    memcpy(since, v.data, 8);
    size_t len;
    return open_box(txn, l, STORE_DB_LEARNERS, k.b, k.len, (const uint8_t *)v.data + 8, v.len - 8,
                    reason, &len);
}

int records_hold_put(store_txn_t *txn, records_learner_t *l, int64_t since, const char *reason)
{
    store_key_t k;
    key_learner_kind(&k, l->hash, KIND_HOLD);
    if (reason == NULL)
        return store_del(txn, STORE_DB_LEARNERS, &k);
    return put_sealed(txn, STORE_DB_LEARNERS, &k, l, &since, sizeof since, reason, strlen(reason),
                      0);
}

int records_evidence_shred(store_txn_t *txn, records_learner_t *l, const uint8_t *pos,
                           size_t pos_len, bool *done)
{
    *done = false;
    if (pos_len > RECORDS_EVIDENCE_POS_MAX)
        return ERR_INVALID;
    store_key_t k;
    store_val_t v;
    key_learner_kind(&k, l->hash, KIND_EVIDENCE);
    store_key_bytes(&k, pos, pos_len);
    int rc = store_get(txn, STORE_DB_LEARNERS, &k, &v);
    records_evidence_t rec;
    if (rc == 0)
        rc = evidence_decode(&v, &rec);
    if (rc != 0 || rec.shredded)
        return rc;
    rec.rkey = k.b;
    rec.rkey_len = k.len;
    evidence_header_t h;
    memcpy(&h, v.data, sizeof h);
    const void *plain;
    size_t len;
    if ((rc = records_evidence_open(txn, &rec, &plain, &len)) != 0)
        return rc;
    Mastery__V1__Evidence *ev = mastery__v1__evidence__unpack(NULL, len, plain);
    if (ev == NULL)
        return ERR_INTERNAL;
    /* protobuf-c frees what it unpacked: point the dropped fields at static "" and back */
    char *id = ev->evidence_id, *url = ev->url, *narrative = ev->narrative;
    ev->evidence_id = ev->url = ev->narrative = (char *)"";
    size_t plen = mastery__v1__evidence__get_packed_size(ev);
    uint8_t *packed = malloc(plen ? plen : 1);
    if (packed != NULL)
        mastery__v1__evidence__pack(ev, packed);
    ev->evidence_id = id;
    ev->url = url;
    ev->narrative = narrative;
    mastery__v1__evidence__free_unpacked(ev, NULL);
    if (packed == NULL)
        return ERR_NOMEM;
    h.flags |= EVIDENCE_SHREDDED;
    rc = put_sealed(txn, STORE_DB_LEARNERS, &k, l, &h, sizeof h, packed, plen, 0);
    free(packed);
    *done = rc == 0;
    return rc;
}

/* ---- upgrades ------------------------------------------------------------------------------ */

/* Format 2 -> 3 for one learner: each evidence record's key gains H(source) before the id, and
 * its id index entry moves from the bare id to H(source) id. The records are copied out first
 * (the puts reshape the tree the cursor walks). */
static int scope_learner(store_txn_t *txn, const uint8_t hash[STORE_HASH_LEN], uint64_t *moved)
{
    store_key_t prefix;
    store_iter_t it;
    store_val_t k, v;
    key_learner_kind(&prefix, hash, KIND_EVIDENCE);
    kv_t *items = NULL;
    size_t n = 0, cap = 0;
    int rc = store_iter_open(txn, STORE_DB_LEARNERS, &prefix, NULL, &it);
    while (rc == 0 && (rc = store_iter_next(&it, &k, &v)) == 0) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            kv_t *grown = realloc(items, cap * sizeof *grown);
            if (grown == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            items = grown;
        }
        kv_t *e = &items[n];
        e->key = malloc(k.len + v.len);
        if (e->key == NULL) {
            rc = ERR_NOMEM;
            break;
        }
        e->val = e->key + k.len;
        memcpy(e->key, k.data, e->klen = k.len);
        memcpy(e->val, v.data, e->vlen = v.len);
        n++;
    }
    store_iter_close(&it);
    if (rc == ERR_NOT_FOUND)
        rc = 0;
    const size_t fixed = STORE_HASH_LEN + 1 + STORE_HASH_LEN + 8; /* learner 'E' comp time */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        kv_t *e = &items[i];
        if (e->klen <= fixed || e->vlen < sizeof(evidence_header_t)) {
            rc = ERR_INTERNAL;
            break;
        }
        Mastery__V1__Evidence *ev = mastery__v1__evidence__unpack(
            NULL, e->vlen - sizeof(evidence_header_t), e->val + sizeof(evidence_header_t));
        if (ev == NULL) {
            rc = ERR_INTERNAL;
            break;
        }
        const char *id = (const char *)e->key + fixed;
        size_t id_len = e->klen - fixed;
        store_key_t old_rec, new_rec, old_idx, new_idx;
        store_key_reset(&old_rec);
        store_key_bytes(&old_rec, e->key, e->klen);
        store_key_reset(&new_rec);
        store_key_bytes(&new_rec, e->key, fixed);
        store_key_hash(&new_rec, ev->source);
        store_key_bytes(&new_rec, id, id_len);
        store_key_reset(&old_idx);
        store_key_bytes(&old_idx, id, id_len);
        store_key_reset(&new_idx);
        store_key_hash(&new_idx, ev->source);
        store_key_bytes(&new_idx, id, id_len);
        mastery__v1__evidence__free_unpacked(ev, NULL);
        uint8_t index[INDEX_LEN];
        memcpy(index, hash, STORE_HASH_LEN);
        memcpy(index + STORE_HASH_LEN, e->key + STORE_HASH_LEN + 1, STORE_HASH_LEN + 8);
        if ((rc = store_del(txn, STORE_DB_LEARNERS, &old_rec)) != 0 ||
            (rc = store_put(txn, STORE_DB_LEARNERS, &new_rec, e->val, e->vlen, 0)) != 0 ||
            (rc = store_del(txn, STORE_DB_EVIDENCE_ID, &old_idx)) != 0 ||
            (rc = store_put(txn, STORE_DB_EVIDENCE_ID, &new_idx, index, sizeof index, 0)) != 0)
            break;
        (*moved)++;
    }
    for (size_t i = 0; i < n; i++)
        free(items[i].key);
    free(items);
    return rc;
}

/* 2 -> 3: every learner's evidence ids scoped to their source, learner by learner. Sets
 * *learners and *moved; returns 0 or an error (the caller's transaction must then abort). */
static int upgrade_scoped_ids(store_txn_t *txn, uint64_t *learners, uint64_t *moved)
{
    uint8_t cursor[STORE_HASH_LEN] = {0};
    int rc;
    do {
        if ((rc = records_learner_next(txn, cursor)) != 0 ||
            (rc = scope_learner(txn, cursor, moved)) != 0)
            break;
        (*learners)++;
        rc = ERR_NOT_FOUND; /* the last hash: the walk is done */
    } while (records_cursor_next(cursor));
    if (rc == ERR_NOT_FOUND)
        rc = store_format_set(txn, STORE_FORMAT_SCOPED_IDS);
    return rc;
}

/* 3 -> 4: the log databases exist (store_open made them); the log starts with the next
 * event, so its leaf 0 is event last + 1. Learners get their commitment keys lazily. */
static int upgrade_log(store_txn_t *txn, uint64_t *base)
{
    uint64_t last = 0;
    int rc = records_event_last(txn, &last);
    if (rc == ERR_NOT_FOUND)
        rc = 0;
    *base = last + 1;
    if (rc == 0)
        rc = records_log_base_put(txn, *base);
    if (rc == 0)
        rc = store_format_set(txn, STORE_FORMAT_LOG);
    return rc;
}

/* ---- 6 -> 7: sealing ---------------------------------------------------------------------- */

/* One learner's records: the commitment key becomes the second half of a wrapped secret (log
 * entries already committed under it stay linkable to them until erasure); the profile, DID
 * and overrides are sealed; each evidence record moves to its keyed-hash key with its item
 * sealed, and its id index entry with it. */
static int seal_learner(store_txn_t *txn, const uint8_t hash[STORE_HASH_LEN], uint64_t *sealed)
{
    store_key_t prefix, k, idx;
    kv_t *items;
    size_t n;
    store_key_reset(&prefix);
    store_key_bytes(&prefix, hash, STORE_HASH_LEN);
    int rc = kv_collect(txn, STORE_DB_LEARNERS, &prefix, NULL, SIZE_MAX, false, &items, &n);
    if (rc != 0)
        return rc;
    records_learner_t l;
    records_learner_init_hash(&l, hash);
    vault_t *v = store_vault(txn);
    uint8_t wrapped[VAULT_WRAPPED_LEN];
    rc = v != NULL ? vault_new_secret(l.secret) : ERR_UNAVAILABLE;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (items[i].klen == STORE_HASH_LEN + 1 && items[i].key[STORE_HASH_LEN] == KIND_KEY) {
            if (items[i].vlen != VAULT_KEY_LEN)
                rc = ERR_INTERNAL;
            else
                memcpy(RECORDS_COMMIT_KEY(&l), items[i].val, VAULT_KEY_LEN);
        }
    key_learner_kind(&k, hash, KIND_KEY);
    if (rc == 0)
        rc = vault_wrap(v, hash, STORE_HASH_LEN, l.secret, wrapped);
    if (rc == 0)
        rc = store_put(txn, STORE_DB_LEARNERS, &k, wrapped, sizeof wrapped, 0);
    l.unlocked = rc == 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        kv_t *e = &items[i];
        if (e->klen <= STORE_HASH_LEN)
            continue;
        key_from(&k, e->key, e->klen);
        switch (e->key[STORE_HASH_LEN]) {
        case KIND_PROFILE:
        case KIND_DID:
            rc = put_sealed(txn, STORE_DB_LEARNERS, &k, &l, NULL, 0, e->val, e->vlen, 0);
            break;
        case KIND_OVERRIDE:
            rc = e->vlen < 9 ? ERR_INTERNAL
                             : put_sealed(txn, STORE_DB_LEARNERS, &k, &l, e->val, 9, e->val + 9,
                                          e->vlen - 9, 0);
            break;
        case KIND_EVIDENCE: {
            /* learner 'E' comp time H(source) id -> ... H(source) X(id) */
            size_t head = EVIDENCE_KEY_FIXED + STORE_HASH_LEN;
            uint8_t x[VAULT_INDEX_HASH_LEN], index[INDEX_LEN];
            if (e->klen <= head || e->vlen < sizeof(evidence_header_t)) {
                rc = ERR_INTERNAL;
                break;
            }
            const char *id = (const char *)e->key + head;
            size_t id_len = e->klen - head;
            if ((rc = vault_index_hash(v, ID_DOMAIN_EVIDENCE, id, id_len, x)) != 0)
                break;
            store_key_t nk;
            key_from(&nk, e->key, head);
            store_key_bytes(&nk, x, sizeof x);
            memcpy(index, hash, STORE_HASH_LEN);
            memcpy(index + STORE_HASH_LEN, e->key + STORE_HASH_LEN + 1, STORE_HASH_LEN + 8);
            if ((rc = store_del(txn, STORE_DB_LEARNERS, &k)) != 0 ||
                (rc = put_sealed(txn, STORE_DB_LEARNERS, &nk, &l, e->val, sizeof(evidence_header_t),
                                 e->val + sizeof(evidence_header_t),
                                 e->vlen - sizeof(evidence_header_t), 0)) != 0)
                break;
            key_from(&idx, e->key + EVIDENCE_KEY_FIXED, e->klen - EVIDENCE_KEY_FIXED);
            if ((rc = store_del(txn, STORE_DB_EVIDENCE_ID, &idx)) != 0)
                break;
            key_from(&idx, e->key + EVIDENCE_KEY_FIXED, STORE_HASH_LEN);
            store_key_bytes(&idx, x, sizeof x);
            rc = store_put(txn, STORE_DB_EVIDENCE_ID, &idx, index, sizeof index, 0);
            break;
        }
        default:
            continue;
        }
        (*sealed)++;
    }
    records_learner_forget(&l);
    kv_free(items, n);
    return rc;
}

/* The learner of a stored event (format 6: the packed Event alone), or NULL. */
static const char *event_learner(const Mastery__V1__Event *e)
{
    switch (e->kind_case) {
    case MASTERY__V1__EVENT__KIND_UNLOCKED:
        return e->unlocked->learner_id;
    case MASTERY__V1__EVENT__KIND_MASTERED:
        return e->mastered->learner_id;
    case MASTERY__V1__EVENT__KIND_OVERRIDE:
        return e->override->learner_id;
    case MASTERY__V1__EVENT__KIND_EVIDENCE_RETRACTED:
        return e->evidence_retracted->learner_id;
    case MASTERY__V1__EVENT__KIND_CREDENTIAL_ISSUED:
        return e->credential_issued->learner_id;
    case MASTERY__V1__EVENT__KIND_CREDENTIAL_STATUS:
        return e->credential_status->learner_id;
    case MASTERY__V1__EVENT__KIND_EVIDENCE_ACCEPTED:
        return e->evidence_accepted->learner_id;
    case MASTERY__V1__EVENT__KIND_AT_RISK:
        return e->at_risk->learner_id;
    case MASTERY__V1__EVENT__KIND_REVIEW_DUE:
        return e->review_due->learner_id;
    case MASTERY__V1__EVENT__KIND_REVIEW_FAILED:
        return e->review_failed->learner_id;
    default:
        return NULL;
    }
}

/* Every event gets its clear header; those naming a learner are sealed. In chunks, so the
 * copies stay small whatever the log's length. */
static int seal_events(store_txn_t *txn, uint64_t *count)
{
    store_key_t start;
    store_key_reset(&start);
    store_key_u64(&start, 0);
    for (;;) {
        kv_t *items;
        size_t n;
        int rc = kv_collect(txn, STORE_DB_EVENTS, NULL, &start, 4096, false, &items, &n);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            Mastery__V1__Event *e = mastery__v1__event__unpack(NULL, items[i].vlen, items[i].val);
            if (e == NULL || items[i].klen != 8) {
                mastery__v1__event__free_unpacked(e, NULL);
                rc = ERR_INTERNAL;
                break;
            }
            const char *who = event_learner(e);
            records_learner_t l;
            store_key_t k;
            key_from(&k, items[i].key, 8);
            uint8_t head[EVENT_HEAD + STORE_HASH_LEN];
            head[0] = who != NULL && who[0] ? EVENT_SEALED : 0;
            head[1] = (uint8_t)e->kind_case;
            memcpy(head + 2, &e->at_ms, 8);
            if (head[0]) {
                records_learner_init(&l, who);
                memcpy(head + EVENT_HEAD, l.hash, STORE_HASH_LEN);
                rc = put_sealed(txn, STORE_DB_EVENTS, &k, &l, head, sizeof head, items[i].val,
                                items[i].vlen, 0);
                records_learner_forget(&l);
            } else {
                uint8_t *buf = malloc(EVENT_HEAD + items[i].vlen);
                rc = buf == NULL ? ERR_NOMEM : 0;
                if (rc == 0) {
                    memcpy(buf, head, EVENT_HEAD);
                    memcpy(buf + EVENT_HEAD, items[i].val, items[i].vlen);
                    rc = store_put(txn, STORE_DB_EVENTS, &k, buf, EVENT_HEAD + items[i].vlen, 0);
                    free(buf);
                }
            }
            mastery__v1__event__free_unpacked(e, NULL);
            (*count)++;
        }
        if (rc == 0 && n > 0) {
            key_from(&start, items[n - 1].key, items[n - 1].klen);
            store_key_reset(&start);
            store_key_u64(&start, store_read_u64(items[n - 1].key) + 1);
        }
        kv_free(items, n);
        if (rc != 0 || n < 4096)
            return rc;
    }
}

/* Review index entries: "learner NUL framework NUL competency NUL" -> the two ids and the
 * learner's box; class memberships: the learner id's box. */
static int seal_indexes(store_txn_t *txn, uint64_t *count)
{
    kv_t *items;
    size_t n;
    int rc = kv_collect(txn, STORE_DB_REVIEWS, NULL, NULL, SIZE_MAX, false, &items, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        kv_t *e = &items[i];
        const char *s = (const char *)e->val;
        const char *n1 = e->vlen ? memchr(s, '\0', e->vlen) : NULL;
        if (e->klen != REVIEW_KEY_LEN || n1 == NULL || e->vlen < 3 || s[e->vlen - 1] != '\0') {
            rc = ERR_INTERNAL;
            break;
        }
        records_learner_t l;
        store_key_t k;
        key_from(&k, e->key, e->klen);
        records_learner_init_hash(&l, e->key + 8);
        rc = put_sealed(txn, STORE_DB_REVIEWS, &k, &l, n1 + 1, e->vlen - (size_t)(n1 + 1 - s), s,
                        (size_t)(n1 - s), 0);
        records_learner_forget(&l);
        (*count)++;
    }
    kv_free(items, n);
    store_key_t prefix;
    store_key_reset(&prefix);
    store_key_byte(&prefix, RECORDS_MEMBER_LEARNER);
    if (rc == 0)
        rc = kv_collect(txn, STORE_DB_GROUPS, &prefix, NULL, SIZE_MAX, false, &items, &n);
    else
        items = NULL, n = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        kv_t *e = &items[i];
        if (e->klen != 1 + 2 * STORE_HASH_LEN) {
            rc = ERR_INTERNAL;
            break;
        }
        records_learner_t l;
        store_key_t k;
        key_from(&k, e->key, e->klen);
        records_learner_init_hash(&l, e->key + 1 + STORE_HASH_LEN);
        rc = put_sealed(txn, STORE_DB_GROUPS, &k, &l, NULL, 0, e->val, e->vlen, 0);
        records_learner_forget(&l);
        (*count)++;
    }
    kv_free(items, n);
    return rc;
}

/* Credentials: the learner id becomes the learner's hash, the reason its box. In chunks. */
static int seal_credentials(store_txn_t *txn, uint64_t *count)
{
    store_key_t start;
    store_key_reset(&start);
    for (;;) {
        kv_t *items;
        size_t n;
        int rc = kv_collect(txn, STORE_DB_CREDENTIALS, NULL, start.len ? &start : NULL, 1024, false,
                            &items, &n);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            kv_t *e = &items[i];
            records_credential_t c;
            credential_header_t h;
            const uint8_t *p = e->val, *end = p + e->vlen;
            if (e->vlen < sizeof h) {
                rc = ERR_INTERNAL;
                break;
            }
            memcpy(&h, p, sizeof h);
            p += sizeof h;
            for (int j = 0; rc == 0 && j < RECORDS_CRED_STRINGS; j++) {
                uint32_t sl;
                if (end - p < 4)
                    rc = ERR_INTERNAL;
                else
                    memcpy(&sl, p, 4);
                if (rc == 0 && (sl == 0 || (size_t)(end - p - 4) < sl || p[4 + sl - 1] != '\0'))
                    rc = ERR_INTERNAL;
                if (rc == 0) {
                    c.s[j] = (const char *)p + 4;
                    c.len[j] = sl - 1;
                    p += 4 + sl;
                }
            }
            if (rc != 0)
                break;
            c.issued_at = h.issued_at;
            c.changed_at = h.changed_at;
            c.status_index = h.index;
            c.revision = h.revision;
            c.state = h.state;
            c.flags = h.flags;
            c.status_list = h.list;
            memset(c.learner_hash, 0, sizeof c.learner_hash);
            rc = records_credential_put(txn, &c);
            (*count)++;
        }
        if (rc == 0 && n > 0) {
            key_from(&start, items[n - 1].key, items[n - 1].klen);
            store_key_byte(&start, 0); /* the first key after it */
        }
        kv_free(items, n);
        if (rc != 0 || n < 1024)
            return rc;
    }
}

static int upgrade_seal(store_txn_t *txn, uint64_t *learners, uint64_t *records)
{
    uint8_t cursor[STORE_HASH_LEN] = {0};
    int rc;
    do {
        if ((rc = records_learner_next(txn, cursor)) != 0 ||
            (rc = seal_learner(txn, cursor, records)) != 0)
            break;
        (*learners)++;
        rc = ERR_NOT_FOUND; /* the last hash: the walk is done */
    } while (records_cursor_next(cursor));
    if (rc == ERR_NOT_FOUND)
        rc = seal_indexes(txn, records);
    if (rc == 0)
        rc = seal_events(txn, records);
    if (rc == 0)
        rc = seal_credentials(txn, records);
    return rc;
}

int records_upgrade(store_t *st, err_detail_t *d)
{
    uint32_t from = store_format(st);
    if (from >= STORE_FORMAT_CURRENT)
        return 0;
    store_txn_t *txn;
    int rc = store_txn_begin(st, true, &txn);
    if (rc != 0)
        return err_set(d, rc, "store", "cannot begin the upgrade: %s", err_str(rc));
    /* Each step in this one transaction, in format order; a failure leaves the file as it was. */
    uint64_t learners = 0, moved = 0, base = 0, sealed_learners = 0, sealed = 0;
    if (from < STORE_FORMAT_SCOPED_IDS)
        rc = upgrade_scoped_ids(txn, &learners, &moved);
    if (rc == 0 && from < STORE_FORMAT_LOG)
        rc = upgrade_log(txn, &base);
    if (rc == 0 && from < STORE_FORMAT_SEALED)
        rc = upgrade_seal(txn, &sealed_learners, &sealed);
    /* -> 5: the reviews database, -> 6: the groups and risk databases (store_open created them,
     * empty, in the transaction that opened the file): an older file has no review_after and
     * no classes, so the empty databases are the whole migration */
    if (rc == 0)
        rc = store_format_set(txn, STORE_FORMAT_CURRENT);
    if (rc == 0)
        rc = store_txn_commit(&txn);
    else
        store_txn_abort(&txn);
    if (rc != 0)
        return err_set(d, rc, "store",
                       "upgrading data.mdb from format %u to %u failed: %s; nothing was changed",
                       from, STORE_FORMAT_CURRENT, err_str(rc));
    if (from < STORE_FORMAT_SCOPED_IDS)
        log_info("data.mdb upgraded to format %u: %llu evidence ids of %llu learners scoped to "
                 "their source",
                 STORE_FORMAT_SCOPED_IDS, (unsigned long long)moved, (unsigned long long)learners);
    if (from < STORE_FORMAT_LOG)
        log_info("data.mdb upgraded to format %u: the transparency log starts at event %llu",
                 STORE_FORMAT_LOG, (unsigned long long)base);
    if (from < STORE_FORMAT_SEALED)
        log_info("data.mdb upgraded to format %u: %llu records of %llu learners, their events "
                 "and credentials sealed under per-learner keys",
                 STORE_FORMAT_SEALED, (unsigned long long)sealed,
                 (unsigned long long)sealed_learners);
    log_info("data.mdb upgraded from format %u to %u", from, STORE_FORMAT_CURRENT);
    return 0;
}

/* ---- re-keying after erasure (issue 16) ---------------------------------------------------- */

static void key_rekey(store_key_t *k)
{
    store_key_reset(k);
    store_key_bytes(k, "rekey", 5);
}

int records_rekey_get(store_txn_t *txn, records_rekey_t *out)
{
    store_key_t k;
    store_val_t v;
    key_rekey(&k);
    int rc = store_get(txn, STORE_DB_META, &k, &v);
    if (rc == 0 && v.len != sizeof *out)
        rc = ERR_INTERNAL;
    if (rc == 0)
        memcpy(out, v.data, sizeof *out);
    return rc;
}

int records_rekey_put(store_txn_t *txn, const records_rekey_t *r)
{
    store_key_t k;
    key_rekey(&k);
    if (r == NULL)
        return store_del(txn, STORE_DB_META, &k);
    return store_put(txn, STORE_DB_META, &k, r, sizeof *r, 0);
}

int records_rekey_request(store_txn_t *txn)
{
    records_rekey_t r;
    int rc = records_rekey_get(txn, &r);
    if (rc == ERR_NOT_FOUND) {
        memset(&r, 0, sizeof r); /* target 0: a rotation is to start */
        return records_rekey_put(txn, &r);
    }
    if (rc != 0)
        return rc;
    if (r.target != 0 && !r.again) { /* one in progress may have rewrapped the key just erased */
        r.again = 1;
        return records_rekey_put(txn, &r);
    }
    return 0;
}

int records_rewrap(store_txn_t *txn, records_rekey_t *r, size_t max, uint64_t *rewrapped,
                   bool *finished)
{
    vault_t *v = store_vault(txn);
    *rewrapped = 0;
    *finished = false;
    if (v == NULL)
        return ERR_UNAVAILABLE;
    for (size_t n = 0; n < max; n++) {
        store_key_t k;
        store_val_t val;
        int rc = records_learner_next(txn, r->cursor);
        if (rc == ERR_NOT_FOUND) {
            *finished = true;
            return 0;
        }
        if (rc != 0)
            return rc;
        key_learner_kind(&k, r->cursor, KIND_KEY);
        rc = store_get(txn, STORE_DB_LEARNERS, &k, &val);
        if (rc == 0 && val.len == VAULT_WRAPPED_LEN) {
            const uint8_t *w = val.data;
            uint32_t epoch =
                (uint32_t)w[0] | (uint32_t)w[1] << 8 | (uint32_t)w[2] << 16 | (uint32_t)w[3] << 24;
            if (epoch < r->target) {
                uint8_t secret[VAULT_SECRET_LEN], wrapped[VAULT_WRAPPED_LEN];
                rc = vault_unwrap(v, r->cursor, STORE_HASH_LEN, val.data, val.len, secret, NULL,
                                  NULL);
                if (rc == 0)
                    rc = vault_wrap(v, r->cursor, STORE_HASH_LEN, secret, wrapped);
                OPENSSL_cleanse(secret, sizeof secret);
                if (rc == 0)
                    rc = store_put(txn, STORE_DB_LEARNERS, &k, wrapped, sizeof wrapped, 0);
                if (rc != 0)
                    return rc;
                (*rewrapped)++;
            }
        } else if (rc == 0) {
            return ERR_INTERNAL;
        } else if (rc != ERR_NOT_FOUND) {
            return rc;
        }
        if (!records_cursor_next(r->cursor)) {
            *finished = true;
            return 0;
        }
    }
    return 0;
}
