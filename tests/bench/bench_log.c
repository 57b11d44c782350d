/*
 * bench_log: the transparency log's own costs, in-process on a real LMDB store.
 *
 * Appends N entries (a typical evidence_accepted entry, ~170 bytes) through translog in
 * batches of 256 per synced commit, then measures: append (hashes and puts per entry, commit
 * excluded), the checkpoint (sign + store) per commit, inclusion and consistency proof
 * generation through the store, and their verification. Prints numbers; asserts nothing.
 *
 *     bench_log [N]      (default 200000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keys.h"
#include "logentry.h"
#include "merkle.h"
#include "store.h"
#include "translog.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int entry_of(uint64_t i, buf_t *out)
{
    logentry_t e;
    memset(&e, 0, sizeof e);
    e.kind = LOGENTRY_EVIDENCE_ACCEPTED;
    e.seq = i + 1;
    e.at_ms = 1764979200000 + (int64_t)i;
    e.present = 1u << LOGENTRY_LEARNER | 1u << LOGENTRY_COMPETENCY | 1u << LOGENTRY_SOURCE |
                1u << LOGENTRY_EVIDENCE | 1u << LOGENTRY_SCORE | 1u << LOGENTRY_WEIGHT |
                1u << LOGENTRY_OUTCOME | 1u << LOGENTRY_OBSERVED_AT;
    memset(e.learner, (int)(i & 0xff), sizeof e.learner);
    memset(e.evidence, (int)(i >> 8 & 0xff), sizeof e.evidence);
    e.competency = "frac.add-unlike";
    e.competency_len = strlen(e.competency);
    e.source = "quiz-engine";
    e.source_len = strlen(e.source);
    e.score = 0.8;
    e.weight = 1.0;
    e.observed_at = e.at_ms;
    buf_reset(out);
    return logentry_encode(out, &e);
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
    char dir[] = "/tmp/bench_log.XXXXXX";
    store_t *st;
    err_detail_t d;
    keys_t *key;
    translog_t *log;
    store_txn_t *txn;
    if (n < 2 || mkdtemp(dir) == NULL || store_open(dir, 4ull << 30, 8ull << 30, &st, &d) != 0 ||
        keys_generate(KEYS_ED25519, &key, &d) != 0 || store_txn_begin(st, true, &txn) != 0 ||
        translog_open(&log, txn, "bench.example/log", &d) != 0) {
        fprintf(stderr, "bench_log: setup failed\n");
        return 1;
    }
    store_txn_abort(&txn);
    buf_t entry;
    buf_init(&entry, 65536);
    size_t entry_bytes = 0;
    double t_append = 0, t_seal = 0, t_commit = 0;
    uint64_t commits = 0;
    for (uint64_t i = 0; i < n;) {
        if (store_txn_begin(st, true, &txn) != 0)
            return 1;
        translog_batch_begin(log);
        double a = now_s();
        for (int k = 0; k < 256 && i < n; k++, i++) {
            uint64_t index;
            if (entry_of(i, &entry) != 0 ||
                translog_append(log, txn, entry.data, entry.len, &index) != 0)
                return 1;
            entry_bytes = entry.len;
        }
        double b = now_s();
        if (translog_seal(log, txn, key) != 0)
            return 1;
        double c = now_s();
        int rc = store_txn_commit(&txn);
        double e = now_s();
        if (rc != 0) {
            fprintf(stderr, "bench_log: commit: %s\n", err_str(rc));
            return 1;
        }
        translog_batch_end(log, true);
        t_append += b - a;
        t_seal += c - b;
        t_commit += e - c;
        commits++;
    }
    printf("bench_log: %llu entries of %zu bytes, %llu synced commits of 256\n",
           (unsigned long long)n, entry_bytes, (unsigned long long)commits);
    printf("append: %.0f entries/s (%.2f us each; hashes and puts, commit excluded)\n",
           (double)n / t_append, t_append / (double)n * 1e6);
    printf("checkpoint (sign + store) per commit: %.1f us; synced commit: %.2f ms\n",
           t_seal / (double)commits * 1e6, t_commit / (double)commits * 1e3);
    uint64_t map, used;
    store_usage(st, &map, &used);
    printf("store: %.1f bytes per entry (entries, hashes, B-tree pages)\n",
           (double)used / (double)n);

    if (store_txn_begin(st, false, &txn) != 0)
        return 1;
    tlog_hash_t proof[TLOG_MAX_PROOF], root, root1, leaf;
    size_t np;
    if (translog_root(txn, n, &root) != 0)
        return 1;
    int reps = 20000;
    uint64_t seed = 88172645463325252ull;
    double a = now_s();
    for (int r = 0; r < reps; r++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        if (translog_prove_inclusion(txn, seed % n, n, proof, &np) != 0)
            return 1;
    }
    double b = now_s();
    printf("inclusion proof: %.0f proofs/s (%zu hashes at this size)\n", reps / (b - a), np);
    const void *e;
    size_t elen;
    uint64_t idx = n / 3;
    if (translog_entry(txn, idx, &e, &elen, &leaf) != 0 ||
        translog_prove_inclusion(txn, idx, n, proof, &np) != 0)
        return 1;
    a = now_s();
    for (int r = 0; r < reps; r++)
        if (tlog_verify_inclusion(idx, n, &leaf, proof, np, &root) != 0)
            return 1;
    b = now_s();
    printf("inclusion verify: %.0f/s\n", reps / (b - a));
    a = now_s();
    for (int r = 0; r < reps; r++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        if (translog_prove_consistency(txn, 1 + seed % (n - 1), n, proof, &np) != 0)
            return 1;
    }
    b = now_s();
    printf("consistency proof: %.0f proofs/s\n", reps / (b - a));
    if (translog_root(txn, n / 2, &root1) != 0 ||
        translog_prove_consistency(txn, n / 2, n, proof, &np) != 0)
        return 1;
    a = now_s();
    for (int r = 0; r < reps; r++)
        if (tlog_verify_consistency(n / 2, n, &root1, &root, proof, np) != 0)
            return 1;
    b = now_s();
    printf("consistency verify: %.0f/s\n", reps / (b - a));
    a = now_s();
    if (translog_root(txn, n, &root) != 0)
        return 1;
    b = now_s();
    printf("root from stored hashes: %.1f us\n", (b - a) * 1e6);
    store_txn_abort(&txn);
    buf_free(&entry);
    translog_destroy(&log);
    keys_destroy(&key);
    store_close(&st);
    char path[64];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}
