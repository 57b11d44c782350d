/*
 * bench_replay: what a crash costs with write-behind (store.h): the time to replay write-ahead
 * records at open, and the time a sweep takes to write them back, per million changes.
 *
 *   bench_replay [CHANGES [PER_COMMIT [LEARNERS]]]   (defaults 1000000, 256, 100000)
 *
 * Commits CHANGES puts of evidence-shaped records (a 58-byte key under one of LEARNERS learner
 * hashes, a 180-byte value: the size of a sealed evidence item) into the learners database,
 * PER_COMMIT per synced transaction, with write-behind on and no sweep, as a daemon killed
 * before writing back leaves its store. Then: close, reopen (the replay, timed), and write
 * everything back (store_flush_all, timed). Prints changes/s for each and ms per million.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv)
{
    long changes = argc > 1 ? atol(argv[1]) : 1000000;
    long per_commit = argc > 2 ? atol(argv[2]) : 256;
    long learners = argc > 3 ? atol(argv[3]) : 100000;
    if (changes < 1 || per_commit < 1 || learners < 1) {
        fprintf(stderr, "usage: bench_replay [CHANGES [PER_COMMIT [LEARNERS]]]\n");
        return 2;
    }
    char dir[] = "/tmp/masteryd-replay-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    err_detail_t d;
    store_t *st = NULL;
    if (store_open(dir, 1ull << 30, 1ull << 36, &st, &d) != 0 ||
        store_write_behind(st, 1ull << 40) != 0) {
        fprintf(stderr, "bench_replay: %s\n", d.message);
        return 1;
    }
    uint8_t val[180];
    for (size_t i = 0; i < sizeof val; i++)
        val[i] = (uint8_t)next();
    double t0 = now_s();
    for (long done = 0; done < changes;) {
        store_txn_t *t;
        long start = done;
        if (store_txn_begin(st, true, &t) != 0)
            return 1;
        for (long i = 0; i < per_commit && done < changes; i++, done++) {
            store_key_t k;
            store_key_reset(&k);
            store_key_u64(&k, (uint64_t)(next() % (uint64_t)learners));
            store_key_u64(&k, 0);
            store_key_byte(&k, 'E');
            uint8_t rest[41];
            for (size_t j = 0; j < sizeof rest; j++)
                rest[j] = (uint8_t)next();
            store_key_bytes(&k, rest, sizeof rest);
            store_put(t, STORE_DB_LEARNERS, &k, val, sizeof val, 0);
        }
        int rc = store_txn_commit(&t);
        if (rc == ERR_RETRY && store_grow(st) == 0) {
            done = start; /* rolled back: the batch again, on a bigger map */
            continue;
        }
        if (rc != 0) {
            fprintf(stderr, "bench_replay: commit: %s\n", err_str(rc));
            return 1;
        }
    }
    double t1 = now_s();
    store_wb_stats_t w;
    store_wb_stats(st, &w);
    uint64_t wal_bytes = w.wal_bytes;
    store_close(&st); /* nothing written back: as after a SIGKILL */

    double t2 = now_s();
    if (store_open(dir, 1ull << 30, 1ull << 36, &st, &d) != 0) {
        fprintf(stderr, "bench_replay: reopen: %s\n", d.message);
        return 1;
    }
    double t3 = now_s();
    store_wb_stats(st, &w);
    size_t held = w.held_bytes;
    if (store_write_behind(st, 1ull << 40) != 0 || store_flush_all(st) != 0) {
        fprintf(stderr, "bench_replay: write-back failed\n");
        return 1;
    }
    double t4 = now_s();
    double m = (double)changes / 1e6;
    printf("bench_replay: %ld changes, %ld per commit, %ld learners\n", changes, per_commit,
           learners);
    printf("  committed        %.0f changes/s  (%.1f MB of write-ahead records)\n",
           (double)changes / (t1 - t0), (double)wal_bytes / 1e6);
    printf(
        "  replay at open   %.0f ms  %.0f ms per million changes  (%llu records, %.1f MB held)\n",
        (t3 - t2) * 1e3, (t3 - t2) * 1e3 / m, (unsigned long long)w.replayed_records,
        (double)held / 1e6);
    printf("  write back       %.0f ms  %.0f ms per million changes\n", (t4 - t3) * 1e3,
           (t4 - t3) * 1e3 / m);
    store_close(&st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
