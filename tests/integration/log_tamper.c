/*
 * log_tamper: what a dishonest operator with the data directory and the issuer's keys can do
 * to the transparency log, for test_log_audit.py to show it is caught. Never shipped.
 *
 *     log_tamper DATA_DIR KEY_DIR INDEX naive    rewrite entry INDEX's score (evidence_accepted)
 *                                                in place; hashes and checkpoint left alone
 *     log_tamper DATA_DIR KEY_DIR INDEX rebuild  the same, then recompute every stored hash and
 *                                                sign a new checkpoint with the issuer's key:
 *                                                a store consistent with itself
 *
 * The daemon must be stopped. Exit 0 when done, 1 on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyring.h"
#include "logentry.h"
#include "merkle.h"
#include "note.h"
#include "records.h"
#include "store.h"

static int fail(const char *what)
{
    fprintf(stderr, "log_tamper: %s\n", what);
    return 1;
}

static int write_hash(void *ctx, unsigned level, uint64_t index, const tlog_hash_t *h)
{
    return level == 0 ? 0 : records_log_hash_put(ctx, level, index, h->b);
}

int main(int argc, char **argv)
{
    if (argc != 5)
        return fail("usage: log_tamper DATA_DIR KEY_DIR INDEX naive|rebuild");
    uint64_t index = strtoull(argv[3], NULL, 10);
    bool rebuild = strcmp(argv[4], "rebuild") == 0;
    store_t *st;
    store_txn_t *txn;
    err_detail_t d;
    if (store_open(argv[1], 1u << 24, 1ull << 32, &st, &d) != 0 ||
        store_txn_begin(st, true, &txn) != 0)
        return fail("cannot open the store");
    const void *p;
    size_t len;
    logentry_t e;
    if (records_log_entry_get(txn, index, &p, &len) != 0)
        return fail("no such entry");
    uint8_t *copy = malloc(len);
    memcpy(copy, p, len);
    if (logentry_decode(copy, len, &e, &d) != 0 || e.kind != LOGENTRY_EVIDENCE_ACCEPTED)
        return fail("not an evidence_accepted entry");
    e.score = e.score > 0.5 ? 0.1 : 0.99; /* the rewrite: another score */
    buf_t b;
    buf_init(&b, 65536);
    if (logentry_encode(&b, &e) != 0)
        return fail("cannot encode");
    /* Entries are appended in key order by the daemon; the operator overwrites in place. */
    store_key_t k;
    store_key_reset(&k);
    store_key_u64(&k, index);
    if (store_put(txn, STORE_DB_LOG, &k, b.data, b.len, 0) != 0)
        return fail("cannot rewrite the entry");
    if (rebuild) {
        uint64_t size;
        char origin[TLOG_NAME_MAX + 1];
        tlog_frontier_t f;
        tlog_frontier_init(&f);
        if (records_log_size(txn, &size) != 0 ||
            records_log_origin_get(txn, origin, sizeof origin) != 0)
            return fail("no log");
        for (uint64_t i = 0; i < size; i++) {
            tlog_hash_t leaf;
            if (records_log_entry_get(txn, i, &p, &len) != 0)
                return fail("an entry is missing");
            tlog_leaf_hash(p, len, &leaf);
            if (tlog_frontier_append(&f, &leaf, write_hash, txn) != 0)
                return fail("cannot store a hash");
        }
        keyring_t *kr;
        if (keyring_open(argv[2], 0, &kr, &d) != 0)
            return fail("cannot open the issuer's keys");
        keyring_entry_t *ed = keyring_current(kr, KEYS_ED25519);
        tlog_hash_t root;
        uint8_t pub[32], sig[64];
        size_t sig_len;
        buf_t note;
        buf_init(&note, 4096);
        tlog_frontier_root(&f, &root);
        if (ed == NULL || tlog_checkpoint_format(&note, origin, size, &root) != 0 ||
            keys_public_raw(ed->key, pub) != 0 ||
            keys_sign(ed->key, (const uint8_t *)note.data, note.len, sig, sizeof sig, &sig_len,
                      &d) != 0 ||
            buf_append_byte(&note, '\n') != 0 ||
            tlog_note_signature_line(&note, origin, tlog_key_hash(origin, pub), sig) != 0 ||
            records_log_checkpoint_put(txn, note.data, note.len) != 0)
            return fail("cannot sign the forged checkpoint");
        buf_free(&note);
        keyring_destroy(&kr);
    }
    if (store_txn_commit(&txn) != 0)
        return fail("cannot commit");
    store_close(&st);
    buf_free(&b);
    free(copy);
    printf("entry %llu rewritten%s\n", (unsigned long long)index,
           rebuild ? "; hashes rebuilt and a checkpoint signed" : "");
    return 0;
}
