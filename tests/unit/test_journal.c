/*
 * Unit tests for journal, on a real LMDB store: seq numbering continues across batches and
 * reopenings, a rolled-back request gives its numbers back, an uncommitted batch restarts from
 * the last durable seq, topics name kind and subject, and what is queued is what is stored
 * (decoded back as mastery.v1.Event).
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

#include "identity.h"
#include "journal.h"
#include "records.h"
#include "vault.h"
#include "store.h"
#include "translog.h"
#include "wire.h"

typedef struct fixture {
    char dir[64];
    store_t *st;
    vault_t *vault;
    journal_t *j;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_journal.XXXXXX");
    err_detail_t d;
    if (mkdtemp(f->dir) == NULL || store_open(f->dir, 8u << 20, 64u << 20, &f->st, &d) != 0 ||
        identity_vault(f->st, f->dir, true, 0, &f->vault, &d) != 0)
        return -1;
    f->j = journal_new();
    store_txn_t *txn;
    if (f->j == NULL || store_txn_begin(f->st, false, &txn) != 0)
        return -1;
    int rc = journal_open(f->j, txn);
    store_txn_abort(&txn);
    *state = f;
    return rc;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    journal_destroy(&f->j);
    assert_null(f->j);
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

static journal_event_t unlocked(const char *learner, const char *comp)
{
    return (journal_event_t){.kind = JOURNAL_UNLOCKED,
                             .learner_id = learner,
                             .framework_id = "fw",
                             .competency_id = comp,
                             .evidence_id = "ev-1"};
}

/* One batch of n unlock events; commits when commit is true. */
static void batch(fixture_t *f, int n, bool commit)
{
    store_txn_t *txn;
    assert_int_equal(store_txn_begin(f->st, true, &txn), 0);
    journal_batch_begin(f->j, 1234);
    for (int i = 0; i < n; i++) {
        journal_event_t ev = unlocked("ann", "c");
        assert_int_equal(journal_append(f->j, txn, &ev), 0);
    }
    if (commit)
        assert_int_equal(store_txn_commit(&txn), 0);
    else
        store_txn_abort(&txn);
    journal_batch_end(f->j, commit);
}

static void test_numbering(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(journal_last_seq(f->j), 0);
    batch(f, 3, true);
    assert_int_equal(journal_last_seq(f->j), 3);
    assert_int_equal(journal_queued(f->j), 3);
    batch(f, 2, false); /* never durable: numbering restarts at 4 */
    assert_int_equal(journal_last_seq(f->j), 3);
    assert_int_equal(journal_queued(f->j), 0);
    batch(f, 1, true);
    assert_int_equal(journal_last_seq(f->j), 4);

    /* A new journal over the same store continues where the log ends. */
    journal_t *again = journal_new();
    store_txn_t *txn;
    assert_int_equal(store_txn_begin(f->st, false, &txn), 0);
    assert_int_equal(journal_open(again, txn), 0);
    store_txn_abort(&txn);
    assert_int_equal(journal_last_seq(again), 4);
    journal_destroy(&again);
}

static void test_rollback(void **state)
{
    fixture_t *f = *state;
    store_txn_t *txn, *child;
    assert_int_equal(store_txn_begin(f->st, true, &txn), 0);
    journal_batch_begin(f->j, 1);
    journal_event_t a = unlocked("ann", "a"), b = unlocked("bob", "b");
    assert_int_equal(journal_append(f->j, txn, &a), 0);
    journal_mark_t m;
    journal_mark(f->j, &m);
    assert_int_equal(store_txn_begin_child(txn, &child), 0);
    assert_int_equal(journal_append(f->j, child, &b), 0);
    assert_int_equal(journal_append(f->j, child, &b), 0);
    store_txn_abort(&child);
    journal_rollback(f->j, &m);
    assert_int_equal(journal_queued(f->j), 1);
    assert_int_equal(journal_append(f->j, txn, &b), 0); /* gets seq 2 again: no gap */
    assert_int_equal(store_txn_commit(&txn), 0);
    journal_batch_end(f->j, true);
    assert_int_equal(journal_last_seq(f->j), 2);

    /* Stored and queued agree, and the log has no gap. */
    assert_int_equal(store_txn_begin(f->st, false, &txn), 0);
    records_event_iter_t it;
    records_event_t ev;
    uint64_t want = 1;
    assert_int_equal(records_event_iter_open(txn, 1, &it), 0);
    while (records_event_iter_next(&it, &ev) == 0) {
        const void *data = ev.data;
        size_t len = ev.len;
        assert_false(ev.shredded);
        assert_int_equal(ev.seq, want);
        const char *topic;
        size_t topic_len;
        const uint8_t *qdata;
        size_t qlen;
        journal_queued_get(f->j, (size_t)(want - 1), &topic, &topic_len, &qdata, &qlen);
        assert_int_equal(qlen, len);
        assert_memory_equal(qdata, data, len);
        want++;
    }
    records_event_iter_close(&it);
    store_txn_abort(&txn);
    assert_int_equal(want, 3);
}

static void test_topics_and_content(void **state)
{
    fixture_t *f = *state;
    store_txn_t *txn;
    assert_int_equal(store_txn_begin(f->st, true, &txn), 0);
    journal_batch_begin(f->j, 777);
    journal_event_t fl = {.kind = JOURNAL_FRAMEWORK_LOADED,
                          .framework_id = "fractions",
                          .revision = 2,
                          .version = "v2",
                          .competency_count = 17};
    journal_event_t cs = {.kind = JOURNAL_CREDENTIAL_STATUS,
                          .learner_id = "ann",
                          .credential_id = "urn:uuid:1",
                          .purpose = "revocation",
                          .flag = true,
                          .reason = "error"};
    journal_event_t ov = {.kind = JOURNAL_OVERRIDE,
                          .learner_id = "bob",
                          .framework_id = "fw",
                          .competency_id = "c",
                          .flag = true,
                          .reason = "oral exam",
                          .actor = "ms.lee"};
    assert_int_equal(journal_append(f->j, txn, &fl), 0);
    assert_int_equal(journal_append(f->j, txn, &cs), 0);
    assert_int_equal(journal_append(f->j, txn, &ov), 0);
    assert_int_equal(store_txn_commit(&txn), 0);
    journal_batch_end(f->j, true);

    const char *want_topic[] = {"framework_loaded/fractions/", "credential_status/ann/",
                                "override/bob/"};
    for (size_t i = 0; i < 3; i++) {
        const char *topic;
        size_t topic_len;
        const uint8_t *data;
        size_t len;
        journal_queued_get(f->j, i, &topic, &topic_len, &data, &len);
        assert_int_equal(topic_len, strlen(want_topic[i]));
        assert_memory_equal(topic, want_topic[i], topic_len);
        Mastery__V1__Event *e = mastery__v1__event__unpack(NULL, len, data);
        assert_non_null(e);
        assert_int_equal(e->seq, i + 1);
        assert_int_equal(e->at_ms, 777);
        if (i == 0) {
            assert_int_equal(e->kind_case, MASTERY__V1__EVENT__KIND_FRAMEWORK_LOADED);
            assert_string_equal(e->framework_loaded->version, "v2");
            assert_int_equal(e->framework_loaded->revision, 2);
            assert_int_equal(e->framework_loaded->competency_count, 17);
        } else if (i == 1) {
            assert_int_equal(e->kind_case, MASTERY__V1__EVENT__KIND_CREDENTIAL_STATUS);
            assert_true(e->credential_status->set);
            assert_string_equal(e->credential_status->purpose, "revocation");
            assert_string_equal(e->credential_status->reason, "error");
        } else {
            assert_int_equal(e->kind_case, MASTERY__V1__EVENT__KIND_OVERRIDE);
            assert_true(e->override->mastered);
            assert_string_equal(e->override->actor, "ms.lee");
        }
        mastery__v1__event__free_unpacked(e, NULL);
    }
}

/* The oldest and newest stored seq (0, 0 when empty), read back from the store. */
static void stored_range(fixture_t *f, uint64_t *first, uint64_t *last)
{
    store_txn_t *txn;
    records_event_t ev;
    *first = *last = 0;
    assert_int_equal(store_txn_begin(f->st, false, &txn), 0);
    if (records_event_first(txn, &ev) == 0) {
        *first = ev.seq;
        assert_int_equal(records_event_last(txn, last), 0);
    }
    store_txn_abort(&txn);
}

/* n events stamped at now, committed. */
static void batch_at(fixture_t *f, int n, int64_t now)
{
    store_txn_t *txn;
    assert_int_equal(store_txn_begin(f->st, true, &txn), 0);
    journal_batch_begin(f->j, now);
    for (int i = 0; i < n; i++) {
        journal_event_t ev = unlocked("ann", "c");
        assert_int_equal(journal_append(f->j, txn, &ev), 0);
    }
    assert_int_equal(store_txn_commit(&txn), 0);
    journal_batch_end(f->j, true);
}

/* Retention by count: the log keeps the newest keep_count; appends prune as they go. */
static void test_retention_count(void **state)
{
    fixture_t *f = *state;
    uint64_t first, last;
    batch_at(f, 50, 1000); /* no retention yet: all 50 stay */
    stored_range(f, &first, &last);
    assert_true(first == 1 && last == 50);
    journal_set_retention(f->j, 0, 10);
    batch_at(f, 5, 2000); /* each append prunes 2: 55 stored - 10 pruned */
    stored_range(f, &first, &last);
    assert_true(first == 11 && last == 55);
    /* Catching up (as at start) stops at the window. */
    store_txn_t *txn;
    size_t deleted;
    assert_int_equal(store_txn_begin(f->st, true, &txn), 0);
    journal_batch_begin(f->j, 3000);
    assert_int_equal(journal_prune(f->j, txn, 1000, &deleted), 0);
    assert_int_equal(deleted, 35);
    assert_int_equal(store_txn_commit(&txn), 0);
    journal_batch_end(f->j, true);
    stored_range(f, &first, &last);
    assert_true(first == 46 && last == 55);
    batch_at(f, 100, 4000); /* steady state: the log never exceeds the window */
    stored_range(f, &first, &last);
    assert_true(first == 146 && last == 155);
}

/* Retention by age, against the batch's time; the newest event always stays, so numbering
 * continues across a reopening even when everything else aged out. */
static void test_retention_age(void **state)
{
    fixture_t *f = *state;
    uint64_t first, last;
    batch_at(f, 3, 1000);
    batch_at(f, 3, 5000);
    journal_set_retention(f->j, 2000, 0);
    store_txn_t *txn;
    size_t deleted;
    assert_int_equal(store_txn_begin(f->st, true, &txn), 0);
    journal_batch_begin(f->j, 6000); /* older than 4000: the first 3 */
    assert_int_equal(journal_prune(f->j, txn, 1000, &deleted), 0);
    assert_int_equal(deleted, 3);
    assert_int_equal(store_txn_commit(&txn), 0);
    journal_batch_end(f->j, true);
    stored_range(f, &first, &last);
    assert_true(first == 4 && last == 6);
    assert_int_equal(store_txn_begin(f->st, true, &txn), 0);
    journal_batch_begin(f->j, 100000); /* everything is old: all but the newest go */
    assert_int_equal(journal_prune(f->j, txn, 1000, &deleted), 0);
    assert_int_equal(deleted, 2);
    assert_int_equal(store_txn_commit(&txn), 0);
    journal_batch_end(f->j, true);
    stored_range(f, &first, &last);
    assert_true(first == 6 && last == 6);
    journal_t *again = journal_new();
    assert_int_equal(store_txn_begin(f->st, false, &txn), 0);
    assert_int_equal(journal_open(again, txn), 0);
    store_txn_abort(&txn);
    assert_int_equal(journal_last_seq(again), 6);
    journal_destroy(&again);
}

/* With the transparency log attached: each event is a leaf; a rolled-back request and a
 * failed batch take their leaves back; the root is the tree of the entries that committed;
 * learners get a commitment key on their first event, and the checkpoint is signed. */
static void test_log_follows_the_journal(void **state)
{
    fixture_t *f = *state;
    store_txn_t *txn, *child;
    translog_t *log;
    err_detail_t d;
    keys_t *key;
    assert_int_equal(keys_generate(KEYS_ED25519, &key, &d), 0);
    assert_int_equal(store_txn_begin(f->st, true, &txn), 0);
    assert_int_equal(translog_open(&log, txn, "bad origin", &d), ERR_INVALID);
    assert_int_equal(translog_open(&log, txn, "test.example/log", &d), 0);
    store_txn_abort(&txn);
    journal_set_log(f->j, log);

    journal_event_t a = unlocked("ann", "a"), b = unlocked("bob", "b");
    assert_int_equal(store_txn_begin(f->st, true, &txn), 0);
    journal_batch_begin(f->j, 1);
    assert_int_equal(journal_append(f->j, txn, &a), 0);
    uint64_t leaf = 99;
    assert_true(journal_last_leaf(f->j, &leaf));
    assert_int_equal(leaf, 0);
    journal_mark_t m;
    journal_mark(f->j, &m);
    assert_int_equal(store_txn_begin_child(txn, &child), 0);
    assert_int_equal(journal_append(f->j, child, &b), 0);
    assert_int_equal(translog_size(log), 2);
    store_txn_abort(&child);
    journal_rollback(f->j, &m);
    assert_int_equal(translog_size(log), 1);
    assert_int_equal(journal_append(f->j, txn, &b), 0); /* leaf 1 again */
    assert_int_equal(journal_seal(f->j, txn, key), 0);
    assert_int_equal(store_txn_commit(&txn), 0);
    journal_batch_end(f->j, true);
    size_t len;
    uint64_t size;
    assert_non_null(translog_checkpoint(log, &len, &size));
    assert_int_equal(size, 2);
    assert_true(translog_checkpoint_is_new(log));
    assert_int_equal(journal_queued(f->j), 3); /* two events and the checkpoint */

    /* A batch that does not commit leaves the tree and the checkpoint as they were. */
    assert_int_equal(store_txn_begin(f->st, true, &txn), 0);
    journal_batch_begin(f->j, 2);
    assert_int_equal(journal_append(f->j, txn, &a), 0);
    assert_int_equal(journal_seal(f->j, txn, key), 0);
    store_txn_abort(&txn);
    journal_batch_end(f->j, false);
    assert_int_equal(translog_size(log), 2);
    assert_non_null(translog_checkpoint(log, &len, &size));
    assert_int_equal(size, 2);

    /* What is stored: two entries whose tree is the checkpoint's, and a key per learner. */
    assert_int_equal(store_txn_begin(f->st, false, &txn), 0);
    tlog_hash_t leaves[2], root, want;
    for (uint64_t i = 0; i < 2; i++) {
        const void *e;
        size_t elen;
        assert_int_equal(translog_entry(txn, i, &e, &elen, &leaves[i]), 0);
    }
    tlog_node_hash(&leaves[0], &leaves[1], &want);
    assert_int_equal(translog_root(txn, 2, &root), 0);
    assert_memory_equal(root.b, want.b, sizeof want.b);
    const void *e;
    assert_int_equal(translog_entry(txn, 2, &e, &len, NULL), ERR_NOT_FOUND);
    records_learner_t ann, bob;
    records_learner_init(&ann, "ann");
    records_learner_init(&bob, "bob");
    assert_int_equal(records_learner_unlock(txn, &ann, false), 0);
    assert_int_equal(records_learner_unlock(txn, &bob, false), 0);
    assert_memory_not_equal(RECORDS_COMMIT_KEY(&ann), RECORDS_COMMIT_KEY(&bob), VAULT_KEY_LEN);
    assert_memory_not_equal(RECORDS_DATA_KEY(&ann), RECORDS_DATA_KEY(&bob), VAULT_KEY_LEN);
    records_learner_forget(&ann);
    records_learner_forget(&bob);
    store_txn_abort(&txn);
    journal_set_log(f->j, NULL);
    translog_destroy(&log);
    keys_destroy(&key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_numbering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_follows_the_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topics_and_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_age, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
