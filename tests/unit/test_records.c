/*
 * Unit tests for records, on a real LMDB store in a temporary directory: every layout round
 * trips; evidence iterates oldest first per competency (negative times too) and is found
 * through the id index; retraction marks the record once; learner_seek walks learners by hash
 * and tells a profile-less learner apart; credentials keep their eight strings; and a stored
 * value of the wrong shape is ERR_INTERNAL, never a crash or a misread. Stored bytes are also
 * checked against the layouts records.h documents, so a change of format cannot pass silently.
 * Format 7 (issue 16): a learner's ids and texts are sealed (a grep of data.mdb finds none),
 * erasure leaves nothing of theirs but a tombstone and shredded events, and a format 6 store
 * built by hand is sealed in place by records_upgrade with every record reading back the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>
#include <sys/stat.h>

#include "identity.h"
#include "mastery/v1/mastery.pb-c.h"
#include "records.h"
#include "store.h"
#include "vault.h"

typedef struct fixture {
    char dir[64];
    store_t *st;
    vault_t *vault;
    store_txn_t *txn;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_records.XXXXXX");
    err_detail_t d;
    if (mkdtemp(f->dir) == NULL || store_open(f->dir, 8u << 20, 64u << 20, &f->st, &d) != 0 ||
        identity_vault(f->st, f->dir, true, 0, &f->vault, &d) != 0 ||
        store_txn_begin(f->st, true, &f->txn) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    store_txn_abort(&f->txn);
    store_close(&f->st);
    vault_destroy(&f->vault);
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/store.key", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void test_framework_revisions(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(records_framework_put(f->txn, "fw", 1, 100, "{\"v\":1}", 7), 0);
    assert_int_equal(records_framework_put(f->txn, "fw", 2, 200, "{\"v\":2}", 7), 0);
    assert_int_equal(records_framework_put(f->txn, "other", 1, 150, "{}", 2), 0);
    int64_t at;
    const char *doc;
    size_t len;
    assert_int_equal(records_framework_get(f->txn, "fw", 2, &at, &doc, &len), 0);
    assert_int_equal(at, 200);
    assert_int_equal(len, 7);
    assert_memory_equal(doc, "{\"v\":2}", 7);
    assert_int_equal(records_framework_get(f->txn, "fw", 3, &at, &doc, &len), ERR_NOT_FOUND);

    /* By framework hash, then revision in numeric order. */
    records_framework_iter_t it;
    records_framework_t r;
    uint8_t fw_hash[STORE_HASH_LEN];
    store_hash_id("fw", fw_hash);
    assert_int_equal(records_framework_iter_open(f->txn, &it), 0);
    int n = 0, fw_seen = 0;
    uint32_t last_rev = 0;
    while (records_framework_iter_next(&it, &r) == 0) {
        n++;
        if (memcmp(r.hash, fw_hash, STORE_HASH_LEN) == 0) {
            assert_true(r.revision > last_rev);
            last_rev = r.revision;
            fw_seen++;
        }
    }
    records_framework_iter_close(&it);
    assert_int_equal(n, 3);
    assert_int_equal(fw_seen, 2);
}

static void put_evidence(fixture_t *f, const char *learner, const char *comp, const char *id,
                         double score, int64_t at)
{
    records_learner_t l;
    records_learner_init(&l, learner);
    records_evidence_t ev = {
        .score = score, .weight = 1.0, .observed_at = at, .blob = id, .blob_len = strlen(id)};
    assert_int_equal(records_evidence_put(f->txn, &l, comp, "quiz", id, &ev), 0);
    assert_int_equal(records_profile_ensure(f->txn, &l), 0);
}

/* The record's item, opened from its box, is want. */
static void assert_item(store_txn_t *txn, const records_evidence_t *r, const char *want)
{
    const void *plain;
    size_t len;
    assert_int_equal(records_evidence_open(txn, r, &plain, &len), 0);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(plain, want, len);
}

/* The record's item, opened from its box, is the len bytes at want. */
static void assert_item_bytes(store_txn_t *txn, const records_evidence_t *r, const void *want,
                              size_t len)
{
    const void *plain;
    size_t n;
    assert_int_equal(records_evidence_open(txn, r, &plain, &n), 0);
    assert_int_equal(n, len);
    assert_memory_equal(plain, want, len);
}

/* The evidence id index key as records lays it out: H(source), then the id's keyed hash
 * (vault_index_hash, domain 'e'). */
static void key_evidence_id(vault_t *v, store_key_t *k, const char *source, const char *id)
{
    uint8_t x[VAULT_INDEX_HASH_LEN];
    assert_int_equal(vault_index_hash(v, 'e', id, strlen(id), x), 0);
    store_key_reset(k);
    store_key_hash(k, source);
    store_key_bytes(k, x, sizeof x);
}

static void test_evidence(void **state)
{
    fixture_t *f = *state;
    put_evidence(f, "ann", "c1", "e3", 0.3, 3000);
    put_evidence(f, "ann", "c1", "e1", 0.1, -5000); /* before 1970 sorts first */
    put_evidence(f, "ann", "c1", "e2", 0.2, 2000);
    put_evidence(f, "ann", "c2", "e4", 0.4, 1000);
    put_evidence(f, "bob", "c1", "e5", 0.5, 1000);
    assert_int_equal(records_evidence_count(f->txn), 5);

    records_evidence_t r;
    assert_int_equal(records_evidence_find(f->txn, "quiz", "e2", &r), 0);
    assert_true(r.score == 0.2);
    assert_int_equal(r.observed_at, 2000);
    assert_false(r.retracted);
    assert_int_equal(r.blob_len, 2 + VAULT_BOX_OVERHEAD); /* sealed */
    assert_item(f->txn, &r, "e2");
    assert_int_equal(records_evidence_find(f->txn, "quiz", "nope", &r), ERR_NOT_FOUND);

    /* One competency, oldest first. */
    records_learner_t ann;
    records_learner_init(&ann, "ann");
    uint8_t c1[STORE_HASH_LEN];
    store_hash_id("c1", c1);
    records_evidence_iter_t it;
    const char *want[] = {"e1", "e2", "e3"};
    int n = 0;
    assert_int_equal(records_evidence_iter_open(f->txn, ann.hash, c1, &it), 0);
    while (records_evidence_iter_next(&it, &r) == 0) {
        assert_true(n < 3);
        assert_item(f->txn, &r, want[n]);
        n++;
    }
    records_evidence_iter_close(&it);
    assert_int_equal(n, 3);
    /* Every competency of the learner: 4 items, none of bob's. */
    n = 0;
    assert_int_equal(records_evidence_iter_open(f->txn, ann.hash, NULL, &it), 0);
    while (records_evidence_iter_next(&it, &r) == 0)
        n++;
    records_evidence_iter_close(&it);
    assert_int_equal(n, 4);

    /* The competencies ann has evidence on: c1 and c2, each once, in hash order. */
    uint8_t c2[STORE_HASH_LEN], got[STORE_HASH_LEN], from[STORE_HASH_LEN];
    store_hash_id("c2", c2);
    const uint8_t *lo = memcmp(c1, c2, STORE_HASH_LEN) < 0 ? c1 : c2;
    const uint8_t *hi = lo == c1 ? c2 : c1;
    assert_int_equal(records_evidence_next_competency(f->txn, ann.hash, NULL, got), 0);
    assert_memory_equal(got, lo, STORE_HASH_LEN);
    memcpy(from, lo, STORE_HASH_LEN);
    from[STORE_HASH_LEN - 1]++; /* just past lo (its last byte is not 0xff here: checked) */
    assert_true(lo[STORE_HASH_LEN - 1] != 0xff);
    assert_int_equal(records_evidence_next_competency(f->txn, ann.hash, from, got), 0);
    assert_memory_equal(got, hi, STORE_HASH_LEN);
    memcpy(from, hi, STORE_HASH_LEN);
    from[STORE_HASH_LEN - 1]++;
    assert_true(hi[STORE_HASH_LEN - 1] != 0xff);
    assert_int_equal(records_evidence_next_competency(f->txn, ann.hash, from, got), ERR_NOT_FOUND);
    records_learner_t nobody;
    records_learner_init(&nobody, "nobody");
    assert_int_equal(records_evidence_next_competency(f->txn, nobody.hash, NULL, got),
                     ERR_NOT_FOUND);

    /* Resuming at an item's pos (a page token) gives it and those after it, in order. */
    uint8_t pos[RECORDS_EVIDENCE_POS_MAX];
    size_t pos_len = 0;
    assert_int_equal(records_evidence_iter_open(f->txn, ann.hash, c1, &it), 0);
    assert_int_equal(records_evidence_iter_next(&it, &r), 0);
    assert_int_equal(records_evidence_iter_next(&it, &r), 0); /* e2: the next page starts here */
    assert_non_null(r.pos);
    memcpy(pos, r.pos, r.pos_len);
    pos_len = r.pos_len;
    records_evidence_iter_close(&it);
    n = 1;
    assert_int_equal(records_evidence_iter_open_at(f->txn, ann.hash, c1, pos, pos_len, &it), 0);
    while (records_evidence_iter_next(&it, &r) == 0) {
        assert_true(n < 3);
        assert_item(f->txn, &r, want[n]);
        n++;
    }
    records_evidence_iter_close(&it);
    assert_int_equal(n, 3);
    /* Any bytes: the walk stays within the learner (never bob's e5), and a token past the end
     * gives nothing. */
    const uint8_t junk[3][4] = {{0, 0, 0, 0}, {0x80, 1, 2, 3}, {0xff, 0xff, 0xff, 0xff}};
    for (int j = 0; j < 3; j++) {
        assert_int_equal(records_evidence_iter_open_at(f->txn, ann.hash, NULL, junk[j], 4, &it), 0);
        while (records_evidence_iter_next(&it, &r) == 0) {
            const void *plain;
            size_t len;
            assert_int_equal(records_evidence_open(f->txn, &r, &plain, &len), 0);
            assert_false(len == 2 && memcmp(plain, "e5", 2) == 0);
        }
        records_evidence_iter_close(&it);
    }
    assert_int_equal(records_evidence_iter_open_at(f->txn, ann.hash, NULL, junk[2], 4, &it), 0);
    assert_int_equal(records_evidence_iter_next(&it, &r), ERR_NOT_FOUND);
    records_evidence_iter_close(&it);
    assert_int_equal(records_evidence_iter_open_at(f->txn, ann.hash, NULL, pos,
                                                   RECORDS_EVIDENCE_POS_MAX + 1, &it),
                     ERR_INVALID);

    /* Retraction: once, kept, and reported. */
    bool already = true;
    assert_int_equal(records_evidence_retract(f->txn, "quiz", "e2", &already), 0);
    assert_false(already);
    assert_int_equal(records_evidence_retract(f->txn, "quiz", "e2", &already), 0);
    assert_true(already);
    assert_int_equal(records_evidence_find(f->txn, "quiz", "e2", &r), 0);
    assert_true(r.retracted);
    assert_true(r.score == 0.2);
    assert_int_equal(records_evidence_retract(f->txn, "quiz", "nope", &already), ERR_NOT_FOUND);
}

static void test_learner_seek_and_did(void **state)
{
    fixture_t *f = *state;
    put_evidence(f, "ann", "c1", "e1", 0.1, 1);
    put_evidence(f, "bob", "c1", "e2", 0.1, 1);
    records_learner_t dl, al;
    records_learner_init(&dl, "did-only");
    const uint8_t *dh = dl.hash;
    assert_int_equal(records_did_put(f->txn, &dl, "did:example:123"), 0);
    char did[64];
    assert_int_equal(records_did_get(f->txn, &dl, did, sizeof did), 0);
    assert_string_equal(did, "did:example:123");
    assert_int_equal(records_did_get(f->txn, &dl, did, 4), ERR_INTERNAL); /* does not fit */
    records_learner_init(&al, "ann");
    assert_int_equal(records_did_get(f->txn, &al, did, sizeof did), ERR_NOT_FOUND);

    /* Three learners by hash; the DID-only one has no profile. */
    uint8_t cursor[STORE_HASH_LEN] = {0};
    char id[STORE_KEY_MAX + 1];
    int named = 0, unnamed = 0;
    for (;;) {
        int rc = records_learner_seek(f->txn, cursor, id);
        if (rc == ERR_NOT_FOUND)
            break;
        assert_int_equal(rc, 0);
        if (id[0])
            named++, assert_true(strcmp(id, "ann") == 0 || strcmp(id, "bob") == 0);
        else
            unnamed++, assert_memory_equal(cursor, dh, STORE_HASH_LEN);
        int i = STORE_HASH_LEN - 1; /* the next hash */
        while (i >= 0 && ++cursor[i] == 0)
            i--;
        if (i < 0)
            break;
    }
    assert_int_equal(named, 2);
    assert_int_equal(unnamed, 1);
}

static void test_state(void **state)
{
    fixture_t *f = *state;
    uint8_t l[STORE_HASH_LEN], fw[STORE_HASH_LEN], c[STORE_HASH_LEN];
    store_hash_id("ann", l);
    store_hash_id("fw", fw);
    store_hash_id("c", c);
    records_state_t st = {.status = 2,
                          .flags = 5,
                          .evidence_count = 7,
                          .score = 0.75,
                          .unlocked_at = 10,
                          .mastered_at = 20,
                          .override_at = 30,
                          .updated_at = 40};
    records_state_t got;
    assert_int_equal(records_state_get(f->txn, l, fw, c, &got), ERR_NOT_FOUND);
    assert_int_equal(records_state_put(f->txn, l, fw, c, &st), 0);
    assert_int_equal(records_state_get(f->txn, l, fw, c, &got), 0);
    assert_memory_equal(&got, &st, sizeof st);
}

static void test_events(void **state)
{
    fixture_t *f = *state;
    uint64_t seq = 99;
    assert_int_equal(records_event_last(f->txn, &seq), ERR_NOT_FOUND);
    for (uint64_t s = 1; s <= 300; s++) /* no learner named: stored in clear */
        assert_int_equal(records_event_append(f->txn, s, NULL, 13, (int64_t)s * 10, &s, sizeof s),
                         0);
    assert_int_equal(records_event_last(f->txn, &seq), 0);
    assert_int_equal(seq, 300);
    records_event_iter_t it;
    records_event_t ev;
    uint64_t want = 256; /* past one byte: big-endian keys sort numerically */
    assert_int_equal(records_event_iter_open(f->txn, 256, &it), 0);
    while (records_event_iter_next(&it, &ev) == 0) {
        assert_int_equal(ev.seq, want);
        assert_false(ev.shredded);
        assert_int_equal(ev.kind, 13);
        assert_int_equal(ev.at, (int64_t)want * 10);
        assert_int_equal(ev.len, 8);
        assert_memory_equal(ev.data, &want, 8);
        want++;
    }
    records_event_iter_close(&it);
    assert_int_equal(want, 301);
}

static void test_credentials(void **state)
{
    fixture_t *f = *state;
    /* The learner is stored as their hash and read back from their profile. */
    records_learner_t ann;
    records_learner_init(&ann, "ann");
    assert_int_equal(records_profile_ensure(f->txn, &ann), 0);
    records_credential_t c = {
        .issued_at = 1,
        .changed_at = 2,
        .status_index = 42,
        .revision = 3,
        .state = 1,
        .flags = RECORDS_CRED_SUSPENDABLE,
        .s = {"urn:uuid:1", "ann", "fw", "c", "Name", "", "{\"json\":1}", "a.b.c"},
    };
    for (int i = 0; i < RECORDS_CRED_STRINGS; i++)
        c.len[i] = strlen(c.s[i]);
    assert_int_equal(records_credential_put(f->txn, &c), 0);
    records_credential_t g;
    assert_int_equal(records_credential_get(f->txn, "urn:uuid:1", &g), 0);
    assert_int_equal(g.issued_at, 1);
    assert_int_equal(g.changed_at, 2);
    assert_int_equal(g.status_index, 42);
    assert_int_equal(g.revision, 3);
    assert_int_equal(g.state, 1);
    assert_int_equal(g.flags, RECORDS_CRED_SUSPENDABLE);
    for (int i = 0; i < RECORDS_CRED_STRINGS; i++) {
        assert_string_equal(g.s[i], c.s[i]);
        assert_int_equal(g.len[i], c.len[i]);
    }
    assert_int_equal(g.status_list, 1); /* 0 (as older records store it) reads as list 1 */
    c.status_list = 7;
    c.s[RECORDS_CRED_ID] = "urn:uuid:7";
    c.len[RECORDS_CRED_ID] = strlen(c.s[RECORDS_CRED_ID]);
    assert_int_equal(records_credential_put(f->txn, &c), 0);
    assert_int_equal(records_credential_get(f->txn, "urn:uuid:7", &g), 0);
    assert_int_equal(g.status_list, 7);
    assert_int_equal(records_credential_get(f->txn, "urn:uuid:2", &g), ERR_NOT_FOUND);

    /* The once-only index, and listing by learner. */
    uint8_t l[STORE_HASH_LEN], fw[STORE_HASH_LEN], comp[STORE_HASH_LEN];
    store_hash_id("ann", l);
    store_hash_id("fw", fw);
    store_hash_id("c", comp);
    records_cred_key_t k = {l, fw, comp, 3};
    char id[64];
    assert_int_equal(records_cred_index_get(f->txn, &k, id, sizeof id), ERR_NOT_FOUND);
    assert_int_equal(records_cred_index_put(f->txn, &k, "urn:uuid:1"), 0);
    assert_int_equal(records_cred_index_get(f->txn, &k, id, sizeof id), 0);
    assert_string_equal(id, "urn:uuid:1");
    records_cred_key_t k4 = {l, fw, comp, 4};
    assert_int_equal(records_cred_index_put(f->txn, &k4, "urn:uuid:3"), 0);
    records_cred_iter_t it;
    assert_int_equal(records_cred_iter_open(f->txn, l, &it), 0);
    assert_int_equal(records_cred_iter_next(&it, id, sizeof id), 0);
    assert_string_equal(id, "urn:uuid:1"); /* revision 3 before 4 */
    assert_int_equal(records_cred_iter_next(&it, id, sizeof id), 0);
    assert_string_equal(id, "urn:uuid:3");
    assert_int_equal(records_cred_iter_next(&it, id, sizeof id), ERR_NOT_FOUND);
    records_cred_iter_close(&it);
}

static void test_bits(void **state)
{
    fixture_t *f = *state;
    store_val_t v;
    records_slist_t l;
    uint32_t n = 0;
    assert_int_equal(records_slist_last(f->txn, &n), ERR_NOT_FOUND);
    assert_int_equal(records_slist_get(f->txn, 1, &l), ERR_NOT_FOUND);
    records_slist_t one = {0, 8, 42, "did:key:z6MkA", "https://s.example/st"};
    records_slist_t two = {RECORDS_SLIST_UNNUMBERED, 16, 43, "did:web:s.example", "https://x"};
    assert_int_equal(records_slist_put(f->txn, 1, &one), 0);
    assert_int_equal(records_slist_put(f->txn, 2, &two), 0);
    assert_int_equal(records_slist_last(f->txn, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(records_slist_get(f->txn, 1, &l), 0);
    assert_int_equal(l.entries, 8);
    assert_int_equal(l.created_at, 42);
    assert_string_equal(l.did, "did:key:z6MkA");
    assert_string_equal(l.base, "https://s.example/st");
    assert_int_equal(records_slist_get(f->txn, 2, &l), 0);
    assert_int_equal(l.flags, RECORDS_SLIST_UNNUMBERED);
    assert_string_equal(l.did, "did:web:s.example");
    /* Bitstrings per list and purpose; list records and bits do not confuse "last". */
    assert_int_equal(records_slist_bits_get(f->txn, 2, RECORDS_BITS_REVOKED, &v), ERR_NOT_FOUND);
    assert_int_equal(records_slist_bits_put(f->txn, 2, RECORDS_BITS_REVOKED, "\x01\x02", 2), 0);
    assert_int_equal(records_slist_bits_get(f->txn, 2, RECORDS_BITS_REVOKED, &v), 0);
    assert_int_equal(v.len, 2);
    assert_memory_equal(v.data, "\x01\x02", 2);
    assert_int_equal(records_slist_bits_get(f->txn, 1, RECORDS_BITS_REVOKED, &v), ERR_NOT_FOUND);
    assert_int_equal(records_slist_bits_get(f->txn, 2, RECORDS_BITS_USED, &v), ERR_NOT_FOUND);
    assert_int_equal(records_slist_last(f->txn, &n), 0);
    assert_int_equal(n, 2);
    /* The one list of older stores sits under 'U' / 'R' / 'S' alone. */
    store_key_t k;
    store_key_reset(&k);
    store_key_byte(&k, 'R');
    assert_int_equal(records_bits_get(f->txn, RECORDS_BITS_REVOKED, &v), ERR_NOT_FOUND);
    assert_int_equal(store_put(f->txn, STORE_DB_STATUS, &k, "\x07", 1, 0), 0);
    assert_int_equal(records_bits_get(f->txn, RECORDS_BITS_REVOKED, &v), 0);
    assert_int_equal(v.len, 1);
    assert_int_equal(records_bits_del(f->txn, RECORDS_BITS_REVOKED), 0);
    assert_int_equal(records_bits_get(f->txn, RECORDS_BITS_REVOKED, &v), ERR_NOT_FOUND);
}

static void test_identity(void **state)
{
    fixture_t *f = *state;
    records_identity_t id = {.created_at = 9}, got;
    assert_int_equal(records_identity_get(f->txn, &got), ERR_NOT_FOUND);
    snprintf(id.ed25519, sizeof id.ed25519, "ed-thumb");
    snprintf(id.rsa, sizeof id.rsa, "rsa-thumb");
    assert_int_equal(records_identity_put(f->txn, &id), 0);
    assert_int_equal(records_identity_get(f->txn, &got), 0);
    assert_int_equal(got.created_at, 9);
    assert_string_equal(got.ed25519, "ed-thumb");
    assert_string_equal(got.rsa, "rsa-thumb");
}

/* The layouts as records.h documents them, read with the store's own primitives. */
static void test_documented_layouts(void **state)
{
    fixture_t *f = *state;
    put_evidence(f, "ann", "c1", "e1", 0.5, 7);
    uint8_t lh[STORE_HASH_LEN], ch[STORE_HASH_LEN];
    store_hash_id("ann", lh);
    store_hash_id("c1", ch);
    store_key_t k;
    store_val_t v;
    /* learners: H(learner) 'E' H(comp) observed_at(be64, sign flipped) H(source) X(id), X the
     * vault's keyed hash */
    uint8_t x[VAULT_INDEX_HASH_LEN];
    assert_int_equal(vault_index_hash(f->vault, 'e', "e1", 2, x), 0);
    store_key_reset(&k);
    store_key_bytes(&k, lh, STORE_HASH_LEN);
    store_key_byte(&k, 'E');
    store_key_bytes(&k, ch, STORE_HASH_LEN);
    store_key_i64(&k, 7);
    store_key_hash(&k, "quiz");
    store_key_bytes(&k, x, sizeof x);
    assert_int_equal(store_get(f->txn, STORE_DB_LEARNERS, &k, &v), 0);
    /* the 32-byte header in clear, then the blob's box: [1][nonce 12][ciphertext][tag 16] */
    assert_int_equal(v.len, 32 + VAULT_BOX_OVERHEAD + 2);
    assert_int_equal(((const uint8_t *)v.data)[32], 1);
    double score;
    memcpy(&score, v.data, 8);
    assert_true(score == 0.5);
    store_key_t raw = k; /* the same key with the raw id: not there */
    raw.len -= sizeof x;
    store_key_bytes(&raw, "e1", 2);
    assert_int_equal(store_get(f->txn, STORE_DB_LEARNERS, &raw, &v), ERR_NOT_FOUND);
    /* learners: H(learner) 'P' -> the id's box */
    store_key_reset(&k);
    store_key_bytes(&k, lh, STORE_HASH_LEN);
    store_key_byte(&k, 'P');
    assert_int_equal(store_get(f->txn, STORE_DB_LEARNERS, &k, &v), 0);
    assert_int_equal(v.len, VAULT_BOX_OVERHEAD + 3);
    assert_null(memmem(v.data, v.len, "ann", 3));
    /* learners: H(learner) 'K' -> the learner's secret, wrapped: epoch(le32) nonce ct tag */
    store_key_reset(&k);
    store_key_bytes(&k, lh, STORE_HASH_LEN);
    store_key_byte(&k, 'K');
    assert_int_equal(store_get(f->txn, STORE_DB_LEARNERS, &k, &v), 0);
    assert_int_equal(v.len, VAULT_WRAPPED_LEN);
    assert_memory_equal(v.data, "\x01\0\0\0", 4); /* epoch 1 */
    /* evidence_ids: H(source) X(id) -> H(learner) H(comp) observed_at */
    key_evidence_id(f->vault, &k, "quiz", "e1");
    assert_int_equal(store_get(f->txn, STORE_DB_EVIDENCE_ID, &k, &v), 0);
    assert_int_equal(v.len, 2 * STORE_HASH_LEN + 8);
    assert_memory_equal(v.data, lh, STORE_HASH_LEN);
    assert_memory_equal((const uint8_t *)v.data + STORE_HASH_LEN, ch, STORE_HASH_LEN);
}

/* Damage: values of the wrong shape are ERR_INTERNAL. */
static void test_damage(void **state)
{
    fixture_t *f = *state;
    store_key_t k;
    /* a framework record shorter than its loaded_at */
    store_key_reset(&k);
    store_key_hash(&k, "fw");
    store_key_u32(&k, 1);
    assert_int_equal(store_put(f->txn, STORE_DB_FRAMEWORKS, &k, "abc", 3, 0), 0);
    int64_t at;
    const char *doc;
    size_t len;
    assert_int_equal(records_framework_get(f->txn, "fw", 1, &at, &doc, &len), ERR_INTERNAL);
    /* an id index entry pointing nowhere, and one of the wrong length */
    uint8_t idx[2 * STORE_HASH_LEN + 8] = {1};
    key_evidence_id(f->vault, &k, "quiz", "ghost"); /* ids are scoped: H(source) X(id) */
    assert_int_equal(store_put(f->txn, STORE_DB_EVIDENCE_ID, &k, idx, sizeof idx, 0), 0);
    records_evidence_t r;
    assert_int_equal(records_evidence_find(f->txn, "quiz", "ghost", &r), ERR_INTERNAL);
    key_evidence_id(f->vault, &k, "quiz", "short");
    assert_int_equal(store_put(f->txn, STORE_DB_EVIDENCE_ID, &k, idx, 7, 0), 0);
    assert_int_equal(records_evidence_find(f->txn, "quiz", "short", &r), ERR_INTERNAL);
    bool already;
    assert_int_equal(records_evidence_retract(f->txn, "quiz", "ghost", &already), ERR_INTERNAL);
    /* a state record of the wrong size */
    uint8_t l[STORE_HASH_LEN] = {2}, fw[STORE_HASH_LEN] = {3}, c[STORE_HASH_LEN] = {4};
    store_key_reset(&k);
    store_key_bytes(&k, l, STORE_HASH_LEN);
    store_key_byte(&k, 'S');
    store_key_bytes(&k, fw, STORE_HASH_LEN);
    store_key_bytes(&k, c, STORE_HASH_LEN);
    assert_int_equal(store_put(f->txn, STORE_DB_LEARNERS, &k, "x", 1, 0), 0);
    records_state_t st;
    assert_int_equal(records_state_get(f->txn, l, fw, c, &st), ERR_INTERNAL);
    /* a credential whose string runs past the end, and one without its NUL */
    store_key_reset(&k);
    store_key_bytes(&k, "urn:uuid:x", 10);
    uint8_t rec[32 + 4 + 2] = {0};
    uint32_t l9 = 9;
    memcpy(rec + 32, &l9, 4);
    assert_int_equal(store_put(f->txn, STORE_DB_CREDENTIALS, &k, rec, sizeof rec, 0), 0);
    records_credential_t cr;
    assert_int_equal(records_credential_get(f->txn, "urn:uuid:x", &cr), ERR_INTERNAL);
    uint32_t l2 = 2;
    memcpy(rec + 32, &l2, 4);
    rec[36] = 'a', rec[37] = 'b';
    assert_int_equal(store_put(f->txn, STORE_DB_CREDENTIALS, &k, rec, sizeof rec, 0), 0);
    assert_int_equal(records_credential_get(f->txn, "urn:uuid:x", &cr), ERR_INTERNAL);
    /* an event key that is not 8 bytes */
    store_key_reset(&k);
    store_key_bytes(&k, "\xff\xff\xff\xff\xff\xff\xff\xff\x01", 9);
    assert_int_equal(store_put(f->txn, STORE_DB_EVENTS, &k, "e", 1, 0), 0);
    uint64_t seq;
    assert_int_equal(records_event_last(f->txn, &seq), ERR_INTERNAL);
}

/* Format 2 -> 3: a store whose evidence ids were global is rewritten so that each item keeps
 * the source it was stored with; lookups by (source, id) find it, the bare keys are gone. */
static void put_old_evidence(store_txn_t *txn, const char *learner, const char *comp,
                             const char *id, const char *source, int64_t at)
{
    Mastery__V1__Evidence ev = MASTERY__V1__EVIDENCE__INIT;
    ev.evidence_id = (char *)id;
    ev.learner_id = (char *)learner;
    ev.competency_id = (char *)comp;
    ev.source = (char *)source;
    ev.score = 0.5;
    ev.observed_at_ms = at;
    uint8_t rec[32 + 256] = {0};
    double score = 0.5;
    memcpy(rec, &score, 8);
    memcpy(rec + 16, &at, 8);
    size_t blob = mastery__v1__evidence__pack(&ev, rec + 32);
    uint8_t lh[STORE_HASH_LEN], ch[STORE_HASH_LEN];
    store_hash_id(learner, lh);
    store_hash_id(comp, ch);
    store_key_t k;
    store_key_reset(&k); /* format 2: H(learner) 'E' H(comp) observed_at id */
    store_key_bytes(&k, lh, STORE_HASH_LEN);
    store_key_byte(&k, 'E');
    store_key_bytes(&k, ch, STORE_HASH_LEN);
    store_key_i64(&k, at);
    store_key_bytes(&k, id, strlen(id));
    assert_int_equal(store_put(txn, STORE_DB_LEARNERS, &k, rec, 32 + blob, 0), 0);
    uint8_t idx[2 * STORE_HASH_LEN + 8];
    memcpy(idx, lh, STORE_HASH_LEN);
    memcpy(idx + STORE_HASH_LEN, k.b + STORE_HASH_LEN + 1, STORE_HASH_LEN + 8);
    store_key_reset(&k); /* format 2: the bare id */
    store_key_bytes(&k, id, strlen(id));
    assert_int_equal(store_put(txn, STORE_DB_EVIDENCE_ID, &k, idx, sizeof idx, 0), 0);
}

static void test_upgrade_scopes_ids(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < 300; i++) { /* many learners, several items each */
        char learner[32], id[32];
        snprintf(learner, sizeof learner, "up-%d", i);
        for (int j = 0; j < 3; j++) {
            snprintf(id, sizeof id, "id-%d-%d", i, j);
            put_old_evidence(f->txn, learner, j ? "c1" : "c2", id, j == 2 ? "geo" : "quiz",
                             1000 + j);
        }
    }
    assert_int_equal(store_format_set(f->txn, STORE_FORMAT_CHECKSUMS), 0);
    assert_int_equal(store_txn_commit(&f->txn), 0);
    err_detail_t d;
    assert_int_equal(records_upgrade(f->st, &d), 0);
    assert_int_equal(store_format(f->st), STORE_FORMAT_CURRENT);
    assert_int_equal(records_upgrade(f->st, &d), 0); /* idempotent: a no-op now */
    assert_int_equal(store_txn_begin(f->st, true, &f->txn), 0);
    assert_int_equal(records_evidence_count(f->txn), 900);
    records_evidence_t r;
    assert_int_equal(records_evidence_find(f->txn, "quiz", "id-7-0", &r), 0);
    assert_int_equal(r.observed_at, 1000);
    assert_int_equal(records_evidence_find(f->txn, "geo", "id-7-2", &r), 0);
    assert_int_equal(r.observed_at, 1002);
    assert_int_equal(records_evidence_find(f->txn, "quiz", "id-7-2", &r), ERR_NOT_FOUND);
    assert_int_equal(records_evidence_find(f->txn, "", "id-7-0", &r), ERR_NOT_FOUND);
    store_key_t k;
    store_val_t v;
    store_key_reset(&k);
    store_key_bytes(&k, "id-7-0", 6);
    assert_int_equal(store_get(f->txn, STORE_DB_EVIDENCE_ID, &k, &v), ERR_NOT_FOUND);
    /* Every learner's items still iterate, three each. */
    records_learner_t l;
    records_learner_init(&l, "up-299");
    records_evidence_iter_t it;
    int n = 0;
    assert_int_equal(records_evidence_iter_open(f->txn, l.hash, NULL, &it), 0);
    while (records_evidence_iter_next(&it, &r) == 0)
        n++;
    records_evidence_iter_close(&it);
    assert_int_equal(n, 3);
}

/* An event as formats 1-6 stored it: the bare packed Event under seq(be64). learner NULL: a
 * framework_loaded event (names no learner); else an unlocked event of that learner. */
static void put_old_event(store_txn_t *txn, uint64_t seq, const char *learner)
{
    Mastery__V1__Event e = MASTERY__V1__EVENT__INIT;
    Mastery__V1__Unlocked u = MASTERY__V1__UNLOCKED__INIT;
    Mastery__V1__FrameworkLoaded fl = MASTERY__V1__FRAMEWORK_LOADED__INIT;
    e.seq = seq;
    e.at_ms = (int64_t)seq * 1000;
    if (learner != NULL) {
        u.learner_id = (char *)learner;
        u.framework_id = "fw";
        u.competency_id = "c1";
        e.kind_case = MASTERY__V1__EVENT__KIND_UNLOCKED;
        e.unlocked = &u;
    } else {
        fl.framework_id = "fw";
        fl.revision = 1;
        e.kind_case = MASTERY__V1__EVENT__KIND_FRAMEWORK_LOADED;
        e.framework_loaded = &fl;
    }
    uint8_t buf[512];
    size_t n = mastery__v1__event__get_packed_size(&e);
    assert_true(n <= sizeof buf);
    mastery__v1__event__pack(&e, buf);
    store_key_t k;
    store_key_reset(&k);
    store_key_u64(&k, seq);
    assert_int_equal(store_put(txn, STORE_DB_EVENTS, &k, buf, n, 0), 0);
}

/* Format 3 -> 4: the log begins after the events already stored; nothing else moves. */
static void test_upgrade_starts_the_log(void **state)
{
    fixture_t *f = *state;
    for (uint64_t seq = 1; seq <= 5; seq++)
        put_old_event(f->txn, seq, NULL);
    assert_int_equal(store_format_set(f->txn, STORE_FORMAT_SCOPED_IDS), 0);
    assert_int_equal(store_txn_commit(&f->txn), 0);
    err_detail_t d;
    assert_int_equal(records_upgrade(f->st, &d), 0);
    assert_int_equal(store_format(f->st), STORE_FORMAT_CURRENT);
    assert_int_equal(store_txn_begin(f->st, true, &f->txn), 0);
    uint64_t base = 0, size = 9;
    assert_int_equal(records_log_base_get(f->txn, &base), 0);
    assert_int_equal(base, 6);
    assert_int_equal(records_log_size(f->txn, &size), 0);
    assert_int_equal(size, 0);
    /* The log's records round-trip. */
    uint8_t h[RECORDS_LOG_HASH_LEN], back[RECORDS_LOG_HASH_LEN];
    memset(h, 0xab, sizeof h);
    assert_int_equal(records_log_entry_put(f->txn, 0, "entry0", 6), 0);
    assert_int_equal(records_log_entry_put(f->txn, 1, "entry1", 6), 0);
    assert_int_equal(records_log_hash_put(f->txn, 1, 0, h), 0);
    assert_int_equal(records_log_size(f->txn, &size), 0);
    assert_int_equal(size, 2);
    assert_int_equal(records_log_hash_get(f->txn, 1, 0, back), 0);
    assert_memory_equal(h, back, sizeof h);
    assert_int_equal(records_log_hash_get(f->txn, 2, 0, back), ERR_NOT_FOUND);
    const void *e;
    size_t len;
    assert_int_equal(records_log_entry_get(f->txn, 1, &e, &len), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(e, "entry1", 6);
    char origin[64];
    assert_int_equal(records_log_origin_get(f->txn, origin, sizeof origin), ERR_NOT_FOUND);
    assert_int_equal(records_log_origin_put(f->txn, "example.edu/masteryd"), 0);
    assert_int_equal(records_log_origin_get(f->txn, origin, sizeof origin), 0);
    assert_string_equal(origin, "example.edu/masteryd");
}

/* A store made before groups (the eight databases of formats 1-3, no "groups" or "risk"): the
 * new build opens it, creates both in the opening transaction, and the upgrade records format
 * 6; its old records stay and the new databases work. Reopening is a no-op. */
static void test_upgrade_old_layout_gets_groups(void **state)
{
    (void)state;
    char dir[] = "/tmp/masteryd-oldlayout-XXXXXX";
    assert_non_null(mkdtemp(dir));
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
        if (i == 4) { /* one event, format 1 (no checksum): a packed framework_loaded */
            uint8_t k[8] = {0, 0, 0, 0, 0, 0, 0, 1};
            static uint8_t evt[] = {0x08, 0x01, 0x6a, 0x04, 0x0a, 0x02, 'f', 'w'};
            MDB_val mk = {8, k}, mv = {sizeof evt, evt};
            assert_int_equal(mdb_put(txn, dbi, &mk, &mv, 0), 0);
        }
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    store_t *st = NULL;
    err_detail_t d;
    assert_int_equal(store_open(dir, 8u << 20, 64u << 20, &st, &d), 0);
    assert_int_equal(store_format_opened(st), STORE_FORMAT_PLAIN);
    vault_t *vault = NULL; /* format 7 seals under store.key (kept beside data.mdb here) */
    assert_int_equal(identity_vault(st, dir, true, 0, &vault, &d), 0);
    assert_int_equal(records_upgrade(st, &d), 0);
    assert_int_equal(store_format(st), STORE_FORMAT_CURRENT);
    store_txn_t *t;
    assert_int_equal(store_txn_begin(st, true, &t), 0);
    uint64_t seq;
    assert_int_equal(records_event_last(t, &seq), 0);
    assert_int_equal(seq, 1);
    records_event_t ev; /* given its clear header by the upgrade; names no learner */
    assert_int_equal(records_event_first(t, &ev), 0);
    assert_int_equal(ev.kind, MASTERY__V1__EVENT__KIND_FRAMEWORK_LOADED);
    assert_false(ev.shredded);
    assert_int_equal(ev.len, 8);
    assert_int_equal(records_group_put(t, "7A", "Math"), 0);
    uint8_t gh[STORE_HASH_LEN], lh[STORE_HASH_LEN];
    store_hash_id("7A", gh);
    store_hash_id("s-1", lh);
    bool changed;
    assert_int_equal(records_member_put(t, gh, RECORDS_MEMBER_LEARNER, "s-1", &changed), 0);
    assert_true(changed);
    records_risk_t r = {.flags = 1, .count = 5, .since = 42};
    assert_int_equal(records_risk_put(t, lh, gh, &r), 0);
    assert_int_equal(store_txn_commit(&t), 0);
    store_close(&st);

    assert_int_equal(store_open(dir, 8u << 20, 64u << 20, &st, &d), 0);
    assert_int_equal(store_format_opened(st), STORE_FORMAT_CURRENT);
    store_set_vault(st, vault);
    assert_int_equal(records_upgrade(st, &d), 0);
    assert_int_equal(store_txn_begin(st, false, &t), 0);
    char title[32];
    assert_int_equal(records_group_get(t, "7A", title, sizeof title), 0);
    assert_string_equal(title, "Math");
    assert_int_equal(records_member_has(t, gh, RECORDS_MEMBER_LEARNER, lh), 0);
    records_risk_t back;
    assert_int_equal(records_risk_get(t, lh, gh, &back), 0);
    assert_int_equal(back.count, 5);
    uint64_t members;
    store_txn_abort(&t);
    assert_int_equal(store_txn_begin(st, true, &t), 0);
    assert_int_equal(records_group_del(t, "7A", &members), 0);
    assert_int_equal(members, 1);
    assert_int_equal(records_member_has(t, gh, RECORDS_MEMBER_LEARNER, lh), ERR_NOT_FOUND);
    store_txn_abort(&t);
    store_close(&st);
    vault_destroy(&vault);
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/store.key", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
}

/* Review records and their index: an entry exactly while the record exists unpublished, moved
 * when the due moment moves, gone when published or deleted; the index reads in time order and
 * only what is due. Overrides keep who/when/why. */
static void test_reviews_and_overrides(void **state)
{
    fixture_t *f = *state;
    records_learner_t a, b;
    records_learner_init(&a, "learner-a");
    records_learner_init(&b, "learner-b");
    uint8_t fw[STORE_HASH_LEN], c1[STORE_HASH_LEN];
    store_hash_id("fw", fw);
    store_hash_id("c1", c1);
    records_review_t ra = {.due_at = 5000}, rb = {.due_at = 3000}, got;
    assert_int_equal(records_review_get(f->txn, a.hash, fw, c1, &got), ERR_NOT_FOUND);
    assert_int_equal(records_review_put(f->txn, &a, "fw", fw, "c1", c1, NULL, &ra), 0);
    assert_int_equal(records_review_put(f->txn, &b, "fw", fw, "c1", c1, NULL, &rb), 0);
    assert_int_equal(records_review_pending(f->txn), 2);
    records_review_due_t d;
    assert_int_equal(records_review_first_due(f->txn, 2999, &d), ERR_NOT_FOUND);
    assert_int_equal(records_review_first_due(f->txn, 3000, &d), 0); /* b: the earliest */
    assert_int_equal(d.due_at, 3000);
    assert_string_equal(d.learner_id, "learner-b");
    assert_string_equal(d.framework_id, "fw");
    assert_string_equal(d.competency_id, "c1");
    assert_memory_equal(d.learner_hash, b.hash, STORE_HASH_LEN);
    /* b's due moment moves (fresh evidence): the entry moves with it */
    records_review_t rb2 = {.due_at = 9000};
    assert_int_equal(records_review_put(f->txn, &b, "fw", fw, "c1", c1, &rb, &rb2), 0);
    assert_int_equal(records_review_pending(f->txn), 2);
    assert_int_equal(records_review_first_due(f->txn, 6000, &d), 0);
    assert_string_equal(d.learner_id, "learner-a");
    /* a published: the entry goes, the record stays flagged */
    records_review_t pub = ra;
    pub.flags |= RECORDS_REVIEW_PUBLISHED;
    assert_int_equal(records_review_put(f->txn, &a, "fw", fw, "c1", c1, &ra, &pub), 0);
    assert_int_equal(records_review_pending(f->txn), 1);
    assert_int_equal(records_review_first_due(f->txn, 6000, &d), ERR_NOT_FOUND);
    assert_int_equal(records_review_get(f->txn, a.hash, fw, c1, &got), 0);
    assert_true(got.due_at == 5000 && got.flags == RECORDS_REVIEW_PUBLISHED);
    /* the walk of a learner's records in a framework */
    records_review_iter_t it;
    const uint8_t *ch;
    assert_int_equal(records_review_iter_open(f->txn, b.hash, fw, &it), 0);
    assert_int_equal(records_review_iter_next(&it, &ch, &got), 0);
    assert_memory_equal(ch, c1, STORE_HASH_LEN);
    assert_true(got.due_at == 9000);
    assert_int_equal(records_review_iter_next(&it, &ch, &got), ERR_NOT_FOUND);
    records_review_iter_close(&it);
    /* deleted (no longer mastered): record and entry */
    assert_int_equal(records_review_delete(f->txn, b.hash, fw, c1, &rb2), 0);
    assert_int_equal(records_review_pending(f->txn), 0);
    assert_int_equal(records_review_get(f->txn, b.hash, fw, c1, &got), ERR_NOT_FOUND);

    records_override_t o = {.at = 77, .granted = true, .actor = "ms.lee", .reason = "oral exam"};
    records_override_t og;
    assert_int_equal(records_override_get(f->txn, &a, fw, c1, &og), ERR_NOT_FOUND);
    assert_int_equal(records_override_put(f->txn, &a, fw, c1, &o), 0);
    assert_int_equal(records_override_get(f->txn, &a, fw, c1, &og), 0);
    assert_true(og.at == 77 && og.granted);
    assert_string_equal(og.actor, "ms.lee");
    assert_string_equal(og.reason, "oral exam");
    assert_int_equal(records_profile_exists(f->txn, &a), ERR_NOT_FOUND);
}

/* ---- sealing and erasure (issue 16) ------------------------------------------------------- */

/* Everything one learner can have, each text naming tag so a grep of data.mdb finds it if it
 * is anywhere in clear. *seq: the next event seq (events are appended in order). */
typedef struct person {
    const char *id, *tag;
    char ev_id[3][64], narrative[64], url[64], did[64], override[64], hold[64], revoked[64],
        cred[64];
} person_t;

static void person_init(person_t *p, const char *id, const char *tag)
{
    p->id = id;
    p->tag = tag;
    for (int i = 0; i < 3; i++)
        snprintf(p->ev_id[i], sizeof p->ev_id[i], "%s-statement-%d", tag, i);
    snprintf(p->narrative, sizeof p->narrative, "%s wrote about fractions", tag);
    snprintf(p->url, sizeof p->url, "https://portfolio.example/%s", tag);
    snprintf(p->did, sizeof p->did, "did:example:%s-did", tag);
    snprintf(p->override, sizeof p->override, "%s passed an oral exam", tag);
    snprintf(p->hold, sizeof p->hold, "%s litigation hold", tag);
    snprintf(p->revoked, sizeof p->revoked, "%s revoked for cause", tag);
    /* a credential id is not personal (it is a key, in clear): no tag in it */
    snprintf(p->cred, sizeof p->cred, "urn:uuid:0000-%c", tag[0]);
}

/* A packed mastery.v1.Evidence of p's item i into buf (cap bytes); returns its length. */
static size_t pack_item(const person_t *p, int i, uint8_t *buf, size_t cap)
{
    Mastery__V1__Evidence ev = MASTERY__V1__EVIDENCE__INIT;
    ev.evidence_id = (char *)p->ev_id[i];
    ev.learner_id = (char *)p->id;
    ev.competency_id = i == 2 ? "c2" : "c1";
    ev.source = "quiz";
    ev.score = 0.9;
    ev.observed_at_ms = 1000 + i;
    ev.url = (char *)p->url;
    ev.narrative = (char *)p->narrative;
    size_t n = mastery__v1__evidence__get_packed_size(&ev);
    assert_true(n <= cap);
    return mastery__v1__evidence__pack(&ev, buf);
}

/* A packed unlocked event naming p. */
static size_t pack_event(const person_t *p, uint64_t seq, uint8_t *buf, size_t cap)
{
    Mastery__V1__Event e = MASTERY__V1__EVENT__INIT;
    Mastery__V1__Unlocked u = MASTERY__V1__UNLOCKED__INIT;
    u.learner_id = (char *)p->id;
    u.framework_id = "fw";
    u.competency_id = "c1";
    u.evidence_id = (char *)p->ev_id[0];
    e.seq = seq;
    e.at_ms = (int64_t)seq * 100;
    e.kind_case = MASTERY__V1__EVENT__KIND_UNLOCKED;
    e.unlocked = &u;
    assert_true(mastery__v1__event__get_packed_size(&e) <= cap);
    return mastery__v1__event__pack(&e, buf);
}

static void populate(store_txn_t *txn, const person_t *p, uint64_t *seq)
{
    records_learner_t l;
    records_learner_init(&l, p->id);
    uint8_t buf[1024];
    for (int i = 0; i < 3; i++) {
        records_evidence_t ev = {.score = 0.9, .weight = 1, .observed_at = 1000 + i};
        ev.blob = buf;
        ev.blob_len = pack_item(p, i, buf, sizeof buf);
        assert_int_equal(
            records_evidence_put(txn, &l, i == 2 ? "c2" : "c1", "quiz", p->ev_id[i], &ev), 0);
    }
    assert_int_equal(records_profile_ensure(txn, &l), 0);
    assert_int_equal(records_did_put(txn, &l, p->did), 0);
    uint8_t fw[STORE_HASH_LEN], c1[STORE_HASH_LEN], c2[STORE_HASH_LEN], g[STORE_HASH_LEN];
    store_hash_id("fw", fw);
    store_hash_id("c1", c1);
    store_hash_id("c2", c2);
    records_override_t o = {.at = 5, .granted = true, .actor = "ms.lee", .reason = p->override};
    assert_int_equal(records_override_put(txn, &l, fw, c1, &o), 0);
    records_state_t st = {.status = 3, .evidence_count = 2, .score = 0.9};
    assert_int_equal(records_state_put(txn, l.hash, fw, c1, &st), 0);
    records_review_t due = {.due_at = 9000},
                     pub = {.due_at = 8000, .flags = RECORDS_REVIEW_PUBLISHED};
    assert_int_equal(records_review_put(txn, &l, "fw", fw, "c1", c1, NULL, &due), 0);
    assert_int_equal(records_review_put(txn, &l, "fw", fw, "c2", c2, NULL, &pub), 0);
    assert_int_equal(records_group_put(txn, "7A", "Math"), 0);
    assert_int_equal(records_group_put(txn, "7B", "Art"), 0);
    bool changed;
    store_hash_id("7A", g);
    assert_int_equal(records_member_put(txn, g, RECORDS_MEMBER_LEARNER, p->id, &changed), 0);
    assert_int_equal(records_member_put(txn, g, RECORDS_MEMBER_TEACHER, "ms.lee", &changed), 0);
    records_risk_t r = {.flags = 1, .count = 3, .since = 7};
    assert_int_equal(records_risk_put(txn, l.hash, g, &r), 0);
    store_hash_id("7B", g);
    assert_int_equal(records_member_put(txn, g, RECORDS_MEMBER_LEARNER, p->id, &changed), 0);
    assert_int_equal(records_hold_put(txn, &l, 42, p->hold), 0);
    records_credential_t c = {
        .issued_at = 1,
        .changed_at = 2,
        .status_index = 3,
        .revision = 1,
        .state = 2,
        .s = {p->cred, p->id, "fw", "c1", "Fractions", p->revoked, "{\"proof\":1}", "h.p.s"},
    };
    for (int i = 0; i < RECORDS_CRED_STRINGS; i++)
        c.len[i] = strlen(c.s[i]);
    assert_int_equal(records_credential_put(txn, &c), 0);
    records_cred_key_t ck = {l.hash, fw, c1, 1};
    assert_int_equal(records_cred_index_put(txn, &ck, p->cred), 0);
    for (int i = 0; i < 2; i++, (*seq)++) {
        size_t n = pack_event(p, *seq, buf, sizeof buf);
        assert_int_equal(records_event_append(txn, *seq, &l, MASTERY__V1__EVENT__KIND_UNLOCKED,
                                              (int64_t)*seq * 100, buf, n),
                         0);
    }
    records_learner_forget(&l);
}

/* Everything populate stored reads back through the records API. */
static void check_person(store_txn_t *txn, const person_t *p)
{
    records_learner_t l;
    records_learner_init(&l, p->id);
    uint8_t want[1024];
    for (int i = 0; i < 3; i++) {
        records_evidence_t r;
        const void *plain;
        size_t len;
        assert_int_equal(records_evidence_find(txn, "quiz", p->ev_id[i], &r), 0);
        assert_memory_equal(r.rkey, l.hash, STORE_HASH_LEN);
        assert_true(r.score == 0.9 && r.observed_at == 1000 + i && !r.shredded);
        assert_int_equal(records_evidence_open(txn, &r, &plain, &len), 0);
        size_t n = pack_item(p, i, want, sizeof want);
        assert_int_equal(len, n);
        assert_memory_equal(plain, want, n);
    }
    uint8_t cursor[STORE_HASH_LEN];
    char id[STORE_KEY_MAX + 1], did[128];
    memcpy(cursor, l.hash, STORE_HASH_LEN);
    assert_int_equal(records_learner_seek(txn, cursor, id), 0);
    assert_memory_equal(cursor, l.hash, STORE_HASH_LEN);
    assert_string_equal(id, p->id);
    assert_int_equal(records_did_get(txn, &l, did, sizeof did), 0);
    assert_string_equal(did, p->did);
    uint8_t fw[STORE_HASH_LEN], c1[STORE_HASH_LEN], g[STORE_HASH_LEN];
    store_hash_id("fw", fw);
    store_hash_id("c1", c1);
    records_override_t o;
    assert_int_equal(records_override_get(txn, &l, fw, c1, &o), 0);
    assert_true(o.at == 5 && o.granted);
    assert_string_equal(o.actor, "ms.lee");
    assert_string_equal(o.reason, p->override);
    records_review_due_t d;
    bool found = false;
    store_iter_t it; /* the review index entry of p's unpublished period */
    store_val_t k, v;
    assert_int_equal(store_iter_open(txn, STORE_DB_REVIEWS, NULL, NULL, &it), 0);
    while (store_iter_next(&it, &k, &v) == 0)
        found |= memcmp((const uint8_t *)k.data + 8, l.hash, STORE_HASH_LEN) == 0;
    store_iter_close(&it);
    assert_true(found);
    if (records_review_first_due(txn, 9000, &d) == 0 &&
        memcmp(d.learner_hash, l.hash, STORE_HASH_LEN) == 0) {
        assert_string_equal(d.learner_id, p->id);
        assert_string_equal(d.framework_id, "fw");
        assert_string_equal(d.competency_id, "c1");
    }
    const char *names[] = {"7A", "7B"};
    for (int i = 0; i < 2; i++) {
        store_hash_id(names[i], g);
        assert_int_equal(records_member_has(txn, g, RECORDS_MEMBER_LEARNER, l.hash), 0);
        records_member_iter_t mi;
        const uint8_t *h;
        const char *mid;
        size_t mlen;
        bool seen = false;
        assert_int_equal(records_member_iter_open(txn, g, RECORDS_MEMBER_LEARNER, &mi), 0);
        while (records_member_iter_next(&mi, &h, &mid, &mlen) == 0)
            if (memcmp(h, l.hash, STORE_HASH_LEN) == 0)
                seen = mlen == strlen(p->id) && memcmp(mid, p->id, mlen) == 0;
        records_member_iter_close(&mi);
        assert_true(seen);
    }
    int64_t since;
    const char *reason;
    if (p->hold[0] != '\0') {
        assert_int_equal(records_hold_get(txn, &l, &since, &reason), 0);
        assert_int_equal(since, 42);
        assert_string_equal(reason, p->hold);
    }
    records_credential_t c;
    assert_int_equal(records_credential_get(txn, p->cred, &c), 0);
    assert_string_equal(c.s[RECORDS_CRED_LEARNER], p->id);
    assert_string_equal(c.s[RECORDS_CRED_REASON], p->revoked);
    assert_string_equal(c.s[RECORDS_CRED_JSON], "{\"proof\":1}");
    assert_memory_equal(c.learner_hash, l.hash, STORE_HASH_LEN);
    records_learner_forget(&l);
}

/* The whole of data.mdb; caller frees. */
static uint8_t *read_data_mdb(const char *dir, size_t *len)
{
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    assert_true(n > 0);
    rewind(fp);
    uint8_t *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* No id or text of p appears anywhere in the file. */
static void assert_absent(const uint8_t *file, size_t len, const person_t *p)
{
    const char *texts[] = {p->id,  p->ev_id[0], p->ev_id[1], p->ev_id[2], p->narrative, p->url,
                           p->did, p->override, p->hold,     p->revoked,  p->tag};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (memmem(file, len, texts[i], strlen(texts[i])) != NULL)
            fail_msg("\"%s\" is in data.mdb in clear", texts[i]);
}

static void test_sealed_at_rest(void **state)
{
    fixture_t *f = *state;
    person_t ann, bob;
    person_init(&ann, "ann.q7f3@school.example", "annsealtag");
    person_init(&bob, "bob.k9z2@school.example", "bobsealtag");
    uint64_t seq = 1;
    populate(f->txn, &ann, &seq);
    populate(f->txn, &bob, &seq);
    check_person(f->txn, &ann); /* within the writing transaction */
    check_person(f->txn, &bob);
    assert_int_equal(store_txn_commit(&f->txn), 0);

    size_t len;
    uint8_t *file = read_data_mdb(f->dir, &len);
    assert_absent(file, len, &ann);
    assert_absent(file, len, &bob);
    /* (what is in clear is what the rules and the audit need, e.g. the framework's id) */
    assert_non_null(memmem(file, len, "Fractions", 9));
    free(file);

    /* A new transaction (the secrets unwrapped again from the vault) reads it all back. */
    assert_int_equal(store_txn_begin(f->st, false, &f->txn), 0);
    check_person(f->txn, &ann);
    check_person(f->txn, &bob);
    records_event_iter_t it;
    records_event_t e;
    uint8_t want[1024];
    assert_int_equal(records_event_iter_open(f->txn, 0, &it), 0);
    for (uint64_t s = 1; s <= 4; s++) {
        assert_int_equal(records_event_iter_next(&it, &e), 0);
        assert_int_equal(e.seq, s);
        assert_false(e.shredded);
        assert_int_equal(e.kind, MASTERY__V1__EVENT__KIND_UNLOCKED);
        assert_int_equal(e.at, (int64_t)s * 100);
        size_t n = pack_event(s <= 2 ? &ann : &bob, s, want, sizeof want);
        assert_int_equal(e.len, n);
        assert_memory_equal(e.data, want, n);
    }
    assert_int_equal(records_event_iter_next(&it, &e), ERR_NOT_FOUND);
    records_event_iter_close(&it);

    /* Without the vault nothing sealed opens (a copy of data.mdb alone). */
    store_txn_abort(&f->txn);
    store_set_vault(f->st, NULL);
    assert_int_equal(store_txn_begin(f->st, false, &f->txn), 0);
    records_learner_t l;
    records_learner_init(&l, ann.id);
    char did[128];
    assert_int_equal(records_did_get(f->txn, &l, did, sizeof did), ERR_UNAVAILABLE);
    records_evidence_t r;
    assert_int_equal(records_evidence_find(f->txn, "quiz", ann.ev_id[0], &r), ERR_UNAVAILABLE);
    store_txn_abort(&f->txn);
    store_set_vault(f->st, f->vault);
}

/* Every key of every database, as (db, key, value) triples to check. */
typedef void (*visit_fn)(store_db_t db, const store_val_t *k, const store_val_t *v, void *ctx);

static void walk_all(store_txn_t *txn, visit_fn fn, void *ctx)
{
    for (int db = 0; db < STORE_DB_COUNT; db++) {
        store_iter_t it;
        store_val_t k, v;
        assert_int_equal(store_iter_open(txn, (store_db_t)db, NULL, NULL, &it), 0);
        while (store_iter_next(&it, &k, &v) == 0)
            fn((store_db_t)db, &k, &v, ctx);
        store_iter_close(&it);
    }
}

typedef struct erased_ctx {
    const uint8_t *hash;
    int tombstones, sealed_events;
} erased_ctx_t;

/* Nothing names the erased learner's hash but the tombstone and their events' headers (whose
 * boxes no key opens any more). */
static void visit_erased(store_db_t db, const store_val_t *k, const store_val_t *v, void *ctx)
{
    erased_ctx_t *c = ctx;
    const uint8_t *kb = k->data, *vb = v->data;
    switch (db) {
    case STORE_DB_LEARNERS:
        if (k->len >= STORE_HASH_LEN && memcmp(kb, c->hash, STORE_HASH_LEN) == 0) {
            assert_int_equal(k->len, STORE_HASH_LEN + 1);
            assert_int_equal(kb[STORE_HASH_LEN], 'X'); /* the tombstone, alone */
            c->tombstones++;
        }
        break;
    case STORE_DB_RISK:
    case STORE_DB_CRED_INDEX:
        assert_memory_not_equal(kb, c->hash, STORE_HASH_LEN);
        break;
    case STORE_DB_EVIDENCE_ID:
        assert_true(v->len >= STORE_HASH_LEN);
        assert_memory_not_equal(vb, c->hash, STORE_HASH_LEN);
        break;
    case STORE_DB_REVIEWS:
        assert_true(k->len >= 8 + STORE_HASH_LEN);
        assert_memory_not_equal(kb + 8, c->hash, STORE_HASH_LEN);
        break;
    case STORE_DB_GROUPS:
        if (k->len == 1 + 2 * STORE_HASH_LEN && kb[0] == 'M')
            assert_memory_not_equal(kb + 1 + STORE_HASH_LEN, c->hash, STORE_HASH_LEN);
        break;
    case STORE_DB_EVENTS:
        if (v->len >= 10 + STORE_HASH_LEN && (vb[0] & 1) &&
            memcmp(vb + 10, c->hash, STORE_HASH_LEN) == 0)
            c->sealed_events++;
        break;
    default:
        break;
    }
}

static void test_erase(void **state)
{
    fixture_t *f = *state;
    person_t ann, bob;
    person_init(&ann, "ann.q7f3@school.example", "annsealtag");
    person_init(&bob, "bob.k9z2@school.example", "bobsealtag");
    uint64_t seq = 1;
    populate(f->txn, &ann, &seq);
    populate(f->txn, &bob, &seq);
    assert_int_equal(records_event_append(f->txn, seq++, NULL, 13, 777, "plain", 5), 0);
    assert_int_equal(store_txn_commit(&f->txn), 0);
    assert_int_equal(store_txn_begin(f->st, true, &f->txn), 0);
    assert_int_equal(records_evidence_count(f->txn), 6);
    assert_int_equal(records_review_pending(f->txn), 2);

    records_learner_t l;
    records_learner_init(&l, ann.id);
    uint8_t hash[STORE_HASH_LEN];
    memcpy(hash, l.hash, sizeof hash);
    int64_t at;
    assert_int_equal(records_erased_get(f->txn, hash, &at), ERR_NOT_FOUND);
    /* erase needs the secret (the evidence ids' index entries are found through it) */
    assert_int_equal(records_learner_unlock(f->txn, &l, false), 0);
    uint64_t evidence = 0, records = 0;
    assert_int_equal(records_learner_erase(f->txn, &l, 123456, &evidence, &records), 0);
    assert_int_equal(evidence, 3);
    /* 3 evidence + P D K O S R R H under the hash, 2 memberships, 1 risk, 1 cred index, and
     * the 3 id index entries */
    assert_int_equal(records, 3 + 8 + 2 + 1 + 1 + 3);
    assert_false(l.unlocked); /* the secret is wiped from memory too */
    assert_int_equal(store_txn_commit(&f->txn), 0);

    assert_int_equal(store_txn_begin(f->st, true, &f->txn), 0);
    erased_ctx_t c = {.hash = hash};
    walk_all(f->txn, visit_erased, &c);
    assert_int_equal(c.tombstones, 1);
    assert_int_equal(c.sealed_events, 2);
    assert_int_equal(records_erased_get(f->txn, hash, &at), 0);
    assert_int_equal(at, 123456);
    assert_int_equal(records_evidence_count(f->txn), 3);
    assert_int_equal(records_review_pending(f->txn), 1);
    records_evidence_t r;
    assert_int_equal(records_evidence_find(f->txn, "quiz", ann.ev_id[0], &r), ERR_NOT_FOUND);
    records_learner_t again;
    records_learner_init(&again, ann.id);
    assert_int_equal(records_learner_unlock(f->txn, &again, false), ERR_GONE);
    assert_int_equal(records_learner_unlock(f->txn, &again, true), ERR_GONE); /* no new key */
    assert_false(again.unlocked);
    assert_int_equal(records_profile_exists(f->txn, &again), ERR_NOT_FOUND);
    char did[128];
    assert_int_equal(records_did_get(f->txn, &again, did, sizeof did), ERR_NOT_FOUND);
    /* new evidence under the erased learner is refused, and writes nothing */
    uint8_t buf[1024];
    records_evidence_t ev = {.score = 1, .weight = 1, .observed_at = 5};
    ev.blob = buf;
    ev.blob_len = pack_item(&ann, 0, buf, sizeof buf);
    assert_int_equal(records_evidence_put(f->txn, &again, "c1", "quiz", "late", &ev), ERR_GONE);
    assert_int_equal(records_evidence_count(f->txn), 3);

    /* The other learner is untouched. */
    check_person(f->txn, &bob);

    /* Their events: kind and time kept, the content shredded; bob's and the plain one open. */
    records_event_iter_t it;
    records_event_t e;
    assert_int_equal(records_event_iter_open(f->txn, 0, &it), 0);
    for (uint64_t s = 1; s <= 5; s++) {
        assert_int_equal(records_event_iter_next(&it, &e), 0);
        assert_int_equal(e.seq, s);
        if (s <= 2) {
            assert_true(e.shredded);
            assert_null(e.data);
            assert_int_equal(e.len, 0);
            assert_int_equal(e.kind, MASTERY__V1__EVENT__KIND_UNLOCKED);
            assert_int_equal(e.at, (int64_t)s * 100);
        } else if (s <= 4) {
            assert_false(e.shredded);
            assert_int_equal(e.len, pack_event(&bob, s, buf, sizeof buf));
            assert_memory_equal(e.data, buf, e.len);
        } else {
            assert_false(e.shredded);
            assert_int_equal(e.kind, 13);
            assert_int_equal(e.at, 777);
            assert_int_equal(e.len, 5);
            assert_memory_equal(e.data, "plain", 5);
        }
    }
    records_event_iter_close(&it);

    /* Their credential stays (the status list needs it): whose it was, by hash only, and the
     * reason gone with the key; shredding empties its copies. */
    records_credential_t cr;
    assert_int_equal(records_credential_get(f->txn, ann.cred, &cr), 0);
    assert_string_equal(cr.s[RECORDS_CRED_LEARNER], "");
    assert_string_equal(cr.s[RECORDS_CRED_REASON], "");
    assert_memory_equal(cr.learner_hash, hash, STORE_HASH_LEN);
    assert_int_equal(cr.status_index, 3);
    assert_int_equal(cr.state, 2);
    assert_string_equal(cr.s[RECORDS_CRED_JSON], "{\"proof\":1}");
    assert_int_equal(records_credential_shred(f->txn, ann.cred), 0);
    assert_int_equal(records_credential_get(f->txn, ann.cred, &cr), 0);
    assert_string_equal(cr.s[RECORDS_CRED_JSON], "");
    assert_string_equal(cr.s[RECORDS_CRED_JWT], "");
    assert_string_equal(cr.s[RECORDS_CRED_LEARNER], "");
    assert_string_equal(cr.s[RECORDS_CRED_COMPETENCY], "c1"); /* what the list needs stays */
    assert_memory_equal(cr.learner_hash, hash, STORE_HASH_LEN);
    assert_int_equal(cr.status_index, 3);

    /* Erasing twice is harmless: nothing left to count, the tombstone rewritten. */
    records_learner_t twice;
    records_learner_init(&twice, ann.id);
    assert_int_equal(records_learner_erase(f->txn, &twice, 999, &evidence, &records), 0);
    assert_int_equal(evidence, 0);
    assert_int_equal(records, 1); /* the old tombstone */

    /* Re-enrolment: the tombstone removed, the learner starts afresh under a new key, and
     * their old events stay shredded (the new key does not open them). */
    assert_int_equal(records_erased_del(f->txn, hash), 0);
    records_learner_t back;
    records_learner_init(&back, ann.id);
    assert_int_equal(records_learner_unlock(f->txn, &back, true), 0);
    assert_int_equal(records_evidence_put(f->txn, &back, "c1", "quiz", "late", &ev), 0);
    assert_int_equal(records_evidence_find(f->txn, "quiz", "late", &r), 0);
    assert_item_bytes(f->txn, &r, buf, ev.blob_len);
    assert_int_equal(records_event_first(f->txn, &e), 0);
    assert_true(e.shredded);
    records_learner_forget(&back);
}

static void test_hold_and_shred(void **state)
{
    fixture_t *f = *state;
    person_t ann;
    person_init(&ann, "ann.q7f3@school.example", "annsealtag");
    records_learner_t l;
    records_learner_init(&l, ann.id);
    int64_t since;
    const char *reason;
    assert_int_equal(records_hold_get(f->txn, &l, &since, &reason), ERR_NOT_FOUND);
    assert_int_equal(records_hold_put(f->txn, &l, 1234, "subpoena 12/2026"), 0);
    assert_int_equal(records_hold_get(f->txn, &l, &since, &reason), 0);
    assert_int_equal(since, 1234);
    assert_string_equal(reason, "subpoena 12/2026");
    assert_int_equal(records_hold_put(f->txn, &l, 2000, "renewed"), 0); /* replaced */
    assert_int_equal(records_hold_get(f->txn, &l, &since, &reason), 0);
    assert_int_equal(since, 2000);
    assert_string_equal(reason, "renewed");
    assert_int_equal(records_hold_put(f->txn, &l, 0, NULL), 0); /* lifted */
    assert_int_equal(records_hold_get(f->txn, &l, &since, &reason), ERR_NOT_FOUND);

    /* Retention shreds an item: its id, narrative and url go; the header (scores, time,
     * retraction, log reference) and the rest of the item stay. */
    uint8_t buf[1024];
    records_evidence_t ev = {.score = 0.75,
                             .weight = 2,
                             .observed_at = 1000,
                             .outcome = 1,
                             .logged = true,
                             .log_index = 41};
    ev.blob = buf;
    ev.blob_len = pack_item(&ann, 0, buf, sizeof buf);
    assert_int_equal(records_evidence_put(f->txn, &l, "c1", "quiz", ann.ev_id[0], &ev), 0);
    bool already;
    assert_int_equal(records_evidence_retract(f->txn, "quiz", ann.ev_id[0], &already), 0);
    records_evidence_t r;
    assert_int_equal(records_evidence_find(f->txn, "quiz", ann.ev_id[0], &r), 0);
    uint8_t pos[RECORDS_EVIDENCE_POS_MAX];
    size_t pos_len = r.rkey_len - STORE_HASH_LEN - 1;
    memcpy(pos, r.rkey + STORE_HASH_LEN + 1, pos_len);
    bool done = false;
    assert_int_equal(records_evidence_shred(f->txn, &l, pos, pos_len, &done), 0);
    assert_true(done);
    assert_int_equal(records_evidence_shred(f->txn, &l, pos, pos_len, &done), 0);
    assert_false(done); /* once */
    assert_int_equal(records_evidence_find(f->txn, "quiz", ann.ev_id[0], &r), 0);
    assert_true(r.shredded && r.retracted && r.logged);
    assert_true(r.score == 0.75 && r.weight == 2);
    assert_int_equal(r.observed_at, 1000);
    assert_int_equal(r.outcome, 1);
    assert_int_equal(r.log_index, 41);
    const void *plain;
    size_t len;
    assert_int_equal(records_evidence_open(f->txn, &r, &plain, &len), 0);
    Mastery__V1__Evidence *item = mastery__v1__evidence__unpack(NULL, len, plain);
    assert_non_null(item);
    assert_string_equal(item->evidence_id, "");
    assert_string_equal(item->narrative, "");
    assert_string_equal(item->url, "");
    assert_string_equal(item->learner_id, ann.id);
    assert_string_equal(item->competency_id, "c1");
    assert_true(item->score == 0.9);
    mastery__v1__evidence__free_unpacked(item, NULL);
    /* a position with no record: nothing done */
    pos[pos_len - 1] ^= 1;
    assert_int_equal(records_evidence_shred(f->txn, &l, pos, pos_len, &done), ERR_NOT_FOUND);
    assert_false(done);
    assert_int_equal(records_evidence_shred(f->txn, &l, pos, RECORDS_EVIDENCE_POS_MAX + 1, &done),
                     ERR_INVALID);
    assert_int_equal(store_txn_commit(&f->txn), 0);
    size_t flen;
    uint8_t *file = read_data_mdb(f->dir, &flen);
    assert_null(memmem(file, flen, "subpoena", 8));
    assert_null(memmem(file, flen, ann.narrative, strlen(ann.narrative)));
    free(file);
    records_learner_forget(&l);
}

/* ---- format 6 -> 7: sealing in place --------------------------------------------------------- */

static void put_raw(store_txn_t *txn, store_db_t db, const store_key_t *k, const void *v,
                    size_t len)
{
    assert_int_equal(store_put(txn, db, k, v, len, 0), 0);
}

/* p's records as format 6 stored them, by hand: every id and text in clear. commit_key NULL:
 * the learner never got one (format 4-6 made them lazily). */
static void put_format6(store_txn_t *txn, const person_t *p, const uint8_t *commit_key,
                        uint64_t *seq)
{
    uint8_t lh[STORE_HASH_LEN], fw[STORE_HASH_LEN], c1[STORE_HASH_LEN], g[STORE_HASH_LEN];
    store_hash_id(p->id, lh);
    store_hash_id("fw", fw);
    store_hash_id("c1", c1);
    store_key_t k;
    uint8_t buf[1024];
    if (commit_key != NULL) { /* H(L) 'K' -> the raw 32-byte commitment key */
        store_key_reset(&k);
        store_key_bytes(&k, lh, STORE_HASH_LEN);
        store_key_byte(&k, 'K');
        put_raw(txn, STORE_DB_LEARNERS, &k, commit_key, 32);
    }
    const char kinds[] = {'P', 'D'}; /* the profile: the raw id; the DID */
    const char *vals[] = {p->id, p->did};
    for (int i = 0; i < 2; i++) {
        store_key_reset(&k);
        store_key_bytes(&k, lh, STORE_HASH_LEN);
        store_key_byte(&k, (uint8_t)kinds[i]);
        put_raw(txn, STORE_DB_LEARNERS, &k, vals[i], strlen(vals[i]));
    }
    for (int i = 0; i < 3; i++) { /* H(L) 'E' H(comp) t H(source) id -> header + item */
        uint8_t ch[STORE_HASH_LEN];
        store_hash_id(i == 2 ? "c2" : "c1", ch);
        int64_t at = 1000 + i;
        double score = 0.9, weight = 1;
        memset(buf, 0, 32);
        memcpy(buf, &score, 8);
        memcpy(buf + 8, &weight, 8);
        memcpy(buf + 16, &at, 8);
        size_t n = pack_item(p, i, buf + 32, sizeof buf - 32);
        store_key_reset(&k);
        store_key_bytes(&k, lh, STORE_HASH_LEN);
        store_key_byte(&k, 'E');
        store_key_bytes(&k, ch, STORE_HASH_LEN);
        store_key_i64(&k, at);
        store_key_hash(&k, "quiz");
        store_key_bytes(&k, p->ev_id[i], strlen(p->ev_id[i]));
        put_raw(txn, STORE_DB_LEARNERS, &k, buf, 32 + n);
        uint8_t idx[2 * STORE_HASH_LEN + 8]; /* evidence_ids: H(source) id -> where */
        memcpy(idx, lh, STORE_HASH_LEN);
        memcpy(idx + STORE_HASH_LEN, k.b + STORE_HASH_LEN + 1, STORE_HASH_LEN + 8);
        store_key_reset(&k);
        store_key_hash(&k, "quiz");
        store_key_bytes(&k, p->ev_id[i], strlen(p->ev_id[i]));
        put_raw(txn, STORE_DB_EVIDENCE_ID, &k, idx, sizeof idx);
    }
    /* the override: at granted actor NUL reason NUL */
    int64_t oat = 5;
    size_t n = 0;
    memcpy(buf, &oat, 8);
    buf[8] = 1;
    n = 9;
    memcpy(buf + n, "ms.lee", 7);
    n += 7;
    memcpy(buf + n, p->override, strlen(p->override) + 1);
    n += strlen(p->override) + 1;
    store_key_reset(&k);
    store_key_bytes(&k, lh, STORE_HASH_LEN);
    store_key_byte(&k, 'O');
    store_key_bytes(&k, fw, STORE_HASH_LEN);
    store_key_bytes(&k, c1, STORE_HASH_LEN);
    put_raw(txn, STORE_DB_LEARNERS, &k, buf, n);
    /* a state, and a review period with its index entry: learner NUL fw NUL comp NUL */
    records_state_t st = {.status = 3, .evidence_count = 2, .score = 0.9};
    assert_int_equal(records_state_put(txn, lh, fw, c1, &st), 0);
    records_review_t due = {.due_at = 9000};
    store_key_reset(&k);
    store_key_bytes(&k, lh, STORE_HASH_LEN);
    store_key_byte(&k, 'R');
    store_key_bytes(&k, fw, STORE_HASH_LEN);
    store_key_bytes(&k, c1, STORE_HASH_LEN);
    put_raw(txn, STORE_DB_LEARNERS, &k, &due, sizeof due);
    store_key_reset(&k);
    store_key_i64(&k, 9000);
    store_key_bytes(&k, lh, STORE_HASH_LEN);
    store_key_bytes(&k, fw, STORE_HASH_LEN);
    store_key_bytes(&k, c1, STORE_HASH_LEN);
    n = (size_t)snprintf((char *)buf, sizeof buf, "%s%cfw%cc1%c", p->id, 0, 0, 0);
    put_raw(txn, STORE_DB_REVIEWS, &k, buf, n);
    /* classes: 'M' H(group) H(learner) -> the raw id */
    const char *groups[] = {"7A", "7B"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(records_group_put(txn, groups[i], "Math"), 0);
        store_hash_id(groups[i], g);
        store_key_reset(&k);
        store_key_byte(&k, 'M');
        store_key_bytes(&k, g, STORE_HASH_LEN);
        store_key_bytes(&k, lh, STORE_HASH_LEN);
        put_raw(txn, STORE_DB_GROUPS, &k, p->id, strlen(p->id));
    }
    /* events: the bare packed Event */
    for (int i = 0; i < 2; i++, (*seq)++) {
        n = pack_event(p, *seq, buf, sizeof buf);
        store_key_reset(&k);
        store_key_u64(&k, *seq);
        put_raw(txn, STORE_DB_EVENTS, &k, buf, n);
    }
    /* the credential: header, then 8 strings [u32 len+1][bytes][NUL], learner and reason raw */
    const char *s[RECORDS_CRED_STRINGS] = {p->cred,    p->id,           "fw",   "c1", "Fractions",
                                           p->revoked, "{\"proof\":1}", "h.p.s"};
    uint8_t head[32] = {0};
    int64_t issued = 1, changed = 2;
    uint32_t index = 3, rev = 1;
    memcpy(head, &issued, 8);
    memcpy(head + 8, &changed, 8);
    memcpy(head + 16, &index, 4);
    memcpy(head + 20, &rev, 4);
    head[24] = 2;
    memcpy(buf, head, 32);
    n = 32;
    for (int i = 0; i < RECORDS_CRED_STRINGS; i++) {
        uint32_t sl = (uint32_t)strlen(s[i]) + 1;
        memcpy(buf + n, &sl, 4);
        memcpy(buf + n + 4, s[i], sl);
        n += 4 + sl;
    }
    store_key_reset(&k);
    store_key_bytes(&k, p->cred, strlen(p->cred));
    put_raw(txn, STORE_DB_CREDENTIALS, &k, buf, n);
    records_cred_key_t ck = {lh, fw, c1, 1};
    assert_int_equal(records_cred_index_put(txn, &ck, p->cred), 0);
}

/* Neither the key nor the value of a record holds any of p's ids or texts. */
static void assert_clear_of(const store_val_t *k, const store_val_t *v, const person_t *p)
{
    const char *texts[] = {p->id,  p->ev_id[0], p->ev_id[1], p->ev_id[2], p->narrative,
                           p->url, p->did,      p->override, p->revoked};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        size_t n = strlen(texts[i]);
        if (memmem(k->data, k->len, texts[i], n) || memmem(v->data, v->len, texts[i], n))
            fail_msg("a live record holds \"%s\" in clear", texts[i]);
    }
}

static void test_upgrade_seals_format6(void **state)
{
    fixture_t *f = *state;
    person_t ann, bob;
    person_init(&ann, "ann.q7f3@school.example", "annsealtag");
    person_init(&bob, "bob.k9z2@school.example", "bobsealtag");
    ann.hold[0] = bob.hold[0] = '\0'; /* format 6 had no holds */
    uint8_t ann_commit[32];
    memset(ann_commit, 0xa1, sizeof ann_commit);
    uint64_t seq = 1;
    put_format6(f->txn, &ann, ann_commit, &seq);
    put_old_event(f->txn, seq++, NULL); /* names no learner */
    put_format6(f->txn, &bob, NULL, &seq);
    assert_int_equal(store_format_set(f->txn, STORE_FORMAT_GROUPS), 0);
    assert_int_equal(store_txn_commit(&f->txn), 0);
    size_t len;
    uint8_t *file = read_data_mdb(f->dir, &len); /* the test's own check: it is all in clear */
    assert_non_null(memmem(file, len, ann.narrative, strlen(ann.narrative)));
    assert_non_null(memmem(file, len, bob.id, strlen(bob.id)));
    free(file);

    err_detail_t d;
    assert_int_equal(records_upgrade(f->st, &d), 0);
    assert_int_equal(store_format(f->st), STORE_FORMAT_CURRENT);
    assert_int_equal(records_upgrade(f->st, &d), 0); /* a no-op now */

    assert_int_equal(store_txn_begin(f->st, false, &f->txn), 0);
    check_person(f->txn, &ann);
    check_person(f->txn, &bob);
    assert_int_equal(records_evidence_count(f->txn), 6);
    assert_int_equal(records_review_pending(f->txn), 2);
    /* the commitment key is the one the log already used; a learner without one got one */
    records_learner_t l;
    records_learner_init(&l, ann.id);
    assert_int_equal(records_learner_unlock(f->txn, &l, false), 0);
    assert_memory_equal(RECORDS_COMMIT_KEY(&l), ann_commit, sizeof ann_commit);
    records_learner_forget(&l);
    records_learner_init(&l, bob.id);
    assert_int_equal(records_learner_unlock(f->txn, &l, false), 0);
    records_learner_forget(&l);
    /* the evidence ids left the keys: the raw-id keys are gone */
    store_key_t k;
    store_val_t v;
    store_key_reset(&k);
    store_key_hash(&k, "quiz");
    store_key_bytes(&k, ann.ev_id[0], strlen(ann.ev_id[0]));
    assert_int_equal(store_get(f->txn, STORE_DB_EVIDENCE_ID, &k, &v), ERR_NOT_FOUND);
    /* every event has its header; those naming a learner open to the same bytes */
    records_event_iter_t it;
    records_event_t e;
    uint8_t want[1024];
    assert_int_equal(records_event_iter_open(f->txn, 0, &it), 0);
    for (uint64_t s = 1; s <= 5; s++) {
        assert_int_equal(records_event_iter_next(&it, &e), 0);
        assert_int_equal(e.seq, s);
        assert_false(e.shredded);
        if (s == 3) {
            assert_int_equal(e.kind, MASTERY__V1__EVENT__KIND_FRAMEWORK_LOADED);
            assert_int_equal(e.at, 3000);
            continue;
        }
        assert_int_equal(e.kind, MASTERY__V1__EVENT__KIND_UNLOCKED);
        assert_int_equal(e.at, (int64_t)s * 100);
        size_t n = pack_event(s < 3 ? &ann : &bob, s, want, sizeof want);
        assert_int_equal(e.len, n);
        assert_memory_equal(e.data, want, n);
    }
    assert_int_equal(records_event_iter_next(&it, &e), ERR_NOT_FOUND);
    records_event_iter_close(&it);
    store_txn_abort(&f->txn);

    /* Sealed in place: no live record holds an id or text in clear, in its key or value. */
    assert_int_equal(store_txn_begin(f->st, false, &f->txn), 0);
    const person_t *people[] = {&ann, &bob};
    for (int db = 0; db < STORE_DB_COUNT; db++) {
        store_iter_t si;
        store_val_t rk, rv;
        assert_int_equal(store_iter_open(f->txn, (store_db_t)db, NULL, NULL, &si), 0);
        while (store_iter_next(&si, &rk, &rv) == 0)
            for (int i = 0; i < 2; i++)
                assert_clear_of(&rk, &rv, people[i]);
        store_iter_close(&si);
    }
    store_txn_abort(&f->txn);
}

/*
 * The file as a whole, free pages included: a copy of data.mdb holds nothing the upgrade sealed
 * and nothing that opens what the erasure destroyed. LMDB does not scrub the pages a
 * transaction frees, so the daemon compacts the file after the upgrade (store_compact) and
 * re-keys after an erasure (every other learner rewrapped under a new epoch, the old epoch
 * destroyed): the erased learner's wrapped secret may still sit on a free page, but it no
 * longer opens with store.key.
 */
static void test_no_clear_on_free_pages(void **state)
{
    fixture_t *f = *state;
    person_t ann, bob;
    person_init(&ann, "ann.q7f3@school.example", "annsealtag");
    person_init(&bob, "bob.k9z2@school.example", "bobsealtag");
    uint8_t ann_commit[32];
    memset(ann_commit, 0xa1, sizeof ann_commit);
    uint64_t seq = 1;
    put_format6(f->txn, &ann, ann_commit, &seq);
    put_format6(f->txn, &bob, NULL, &seq);
    assert_int_equal(store_format_set(f->txn, STORE_FORMAT_GROUPS), 0);
    assert_int_equal(store_txn_commit(&f->txn), 0);
    err_detail_t d;
    assert_int_equal(records_upgrade(f->st, &d), 0);
    assert_int_equal(store_compact(&f->st, f->dir, &d), 0);
    size_t len;
    uint8_t *file = read_data_mdb(f->dir, &len);
    assert_absent(file, len, &ann);
    assert_absent(file, len, &bob);
    free(file);
    /* erase ann, keeping a copy of her wrapped secret as a free page might */
    assert_int_equal(store_txn_begin(f->st, true, &f->txn), 0);
    records_learner_t l;
    records_learner_init(&l, ann.id);
    store_key_t k;
    store_val_t v;
    store_key_reset(&k);
    store_key_bytes(&k, l.hash, STORE_HASH_LEN);
    store_key_byte(&k, 'K');
    assert_int_equal(store_get(f->txn, STORE_DB_LEARNERS, &k, &v), 0);
    uint8_t wrapped[VAULT_WRAPPED_LEN], secret[VAULT_SECRET_LEN];
    memcpy(wrapped, v.data, sizeof wrapped);
    uint64_t evidence, records;
    assert_int_equal(records_learner_erase(f->txn, &l, 1, &evidence, &records), 0);
    assert_int_equal(records_rekey_request(f->txn), 0);
    assert_int_equal(store_txn_commit(&f->txn), 0);
    assert_int_equal(
        vault_unwrap(f->vault, l.hash, STORE_HASH_LEN, wrapped, sizeof wrapped, secret, NULL, NULL),
        0); /* before re-keying, the remnant would still open */
    /* re-key as the daemon does (handler_rekey_step): new epoch, rewrap all, forget the old */
    assert_int_equal(vault_rotate(f->vault, f->dir, 2000, &d), 0);
    records_rekey_t r;
    assert_int_equal(store_txn_begin(f->st, true, &f->txn), 0);
    assert_int_equal(records_rekey_get(f->txn, &r), 0);
    memset(&r, 0, sizeof r);
    r.target = vault_epoch(f->vault);
    uint64_t rewrapped = 0;
    bool finished = false;
    assert_int_equal(records_rewrap(f->txn, &r, 1000, &rewrapped, &finished), 0);
    assert_true(finished);
    assert_int_equal(rewrapped, 1); /* bob; ann has no secret left */
    assert_int_equal(records_rekey_put(f->txn, NULL), 0);
    assert_int_equal(store_txn_commit(&f->txn), 0);
    uint32_t forgotten = 0;
    assert_int_equal(vault_forget_epochs(f->vault, f->dir, INT64_MAX, &forgotten, &d), 0);
    assert_int_equal(forgotten, 1);
    assert_int_equal(
        vault_unwrap(f->vault, l.hash, STORE_HASH_LEN, wrapped, sizeof wrapped, secret, NULL, NULL),
        ERR_UNAVAILABLE);
    /* bob reads as before, under the new epoch */
    assert_int_equal(store_txn_begin(f->st, true, &f->txn), 0);
    records_learner_t b;
    records_learner_init(&b, bob.id);
    assert_int_equal(records_learner_unlock(f->txn, &b, false), 0);
    records_learner_forget(&b);
}

/* A learner whose secret is wrapped under an epoch store.key no longer holds (forgotten after
 * rotation, or an old backup's) cannot be read: unavailable, not damaged, and not re-keyed. */
static void test_forgotten_epoch(void **state)
{
    fixture_t *f = *state;
    person_t ann, bob;
    person_init(&ann, "ann.q7f3@school.example", "annsealtag");
    person_init(&bob, "bob.k9z2@school.example", "bobsealtag");
    uint64_t seq = 1;
    populate(f->txn, &ann, &seq); /* epoch 1 (made at 0 by the fixture) */
    assert_int_equal(store_txn_commit(&f->txn), 0);
    err_detail_t d;
    assert_int_equal(vault_rotate(f->vault, f->dir, 1000, &d), 0);
    assert_int_equal(store_txn_begin(f->st, true, &f->txn), 0);
    populate(f->txn, &bob, &seq); /* epoch 2 */
    check_person(f->txn, &ann);   /* epoch 1 still opens */
    assert_int_equal(store_txn_commit(&f->txn), 0);
    uint32_t forgotten = 0;
    assert_int_equal(vault_forget_epochs(f->vault, f->dir, 500, &forgotten, &d), 0);
    assert_int_equal(forgotten, 1);

    assert_int_equal(store_txn_begin(f->st, true, &f->txn), 0);
    records_learner_t l;
    records_learner_init(&l, ann.id);
    assert_int_equal(records_learner_unlock(f->txn, &l, true), ERR_UNAVAILABLE);
    assert_false(l.unlocked);
    char did[128];
    assert_int_equal(records_did_get(f->txn, &l, did, sizeof did), ERR_UNAVAILABLE);
    records_evidence_t r;
    const void *plain;
    size_t len;
    assert_int_equal(records_evidence_find(f->txn, "quiz", ann.ev_id[0], &r), 0); /* header */
    assert_true(r.score == 0.9);
    assert_int_equal(records_evidence_open(f->txn, &r, &plain, &len), ERR_UNAVAILABLE);
    /* new records for ann are refused rather than sealed under a fresh secret */
    assert_int_equal(records_did_put(f->txn, &l, "did:example:new"), ERR_UNAVAILABLE);
    /* bob, wrapped under the current epoch, reads as before */
    records_learner_t bl;
    records_learner_init(&bl, bob.id);
    assert_int_equal(records_did_get(f->txn, &bl, did, sizeof did), 0);
    assert_string_equal(did, bob.did);
    assert_int_equal(records_evidence_find(f->txn, "quiz", bob.ev_id[2], &r), 0);
    assert_int_equal(records_evidence_open(f->txn, &r, &plain, &len), 0);
    /* a class listing meets ann's box and stops there with the error (rewrapping every
     * learner before forgetting an epoch is what keeps this from happening) */
    uint8_t g[STORE_HASH_LEN];
    store_hash_id("7A", g);
    records_member_iter_t mi;
    const uint8_t *h;
    const char *mid;
    size_t mlen;
    int rc, seen = 0;
    assert_int_equal(records_member_iter_open(f->txn, g, RECORDS_MEMBER_LEARNER, &mi), 0);
    while ((rc = records_member_iter_next(&mi, &h, &mid, &mlen)) == 0)
        seen++;
    records_member_iter_close(&mi);
    assert_int_equal(rc, ERR_UNAVAILABLE);
    assert_true(seen <= 1); /* bob only, when his hash sorts first */
    records_learner_forget(&bl);
    records_learner_forget(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_framework_revisions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_learner_seek_and_did, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_documented_layouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_starts_the_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_scopes_ids, setup, teardown),
        cmocka_unit_test(test_upgrade_old_layout_gets_groups),
        cmocka_unit_test_setup_teardown(test_reviews_and_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sealed_at_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_and_shred, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forgotten_epoch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_seals_format6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_clear_on_free_pages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
