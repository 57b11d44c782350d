/*
 * bench_seal: the cost of sealing learners' records (issue 16), in-process through the records
 * API on a real LMDB store (synced commits), each figure the median of several runs:
 *
 *   - evidence put (the item sealed under the learner's key, its id a keyed hash, the profile
 *     ensured) with sealing on and off (vault seal flag: a plain box), same store, same items;
 *   - unlock: a learner's secret unwrapped from store.key's epoch key (us per learner);
 *   - box open: one evidence item opened (records_evidence_open, us per item);
 *   - erase: records_learner_erase + commit of a learner with 10, 100, 1000 items;
 *   - migration: records_upgrade of a format 6 store (built by hand, ids and texts in clear)
 *     to format 7, in records per second.
 *
 *     bench_seal [LEARNERS [ITEMS [RUNS]]]    defaults 2000 learners x 10 items, 5 runs
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "identity.h"
#include "mastery/v1/mastery.pb-c.h"
#include "records.h"
#include "store.h"
#include "vault.h"
#include "bench_util.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_seal: %s: %s\n", what, err_str(rc));
    exit(1);
}

typedef struct bench {
    char dir[64];
    store_t *st;
    vault_t *vault;
} bench_t;

static void bench_open(bench_t *b, bool seal)
{
    snprintf(b->dir, sizeof b->dir, "/tmp/bench_seal.XXXXXX");
    err_detail_t d;
    if (mkdtemp(b->dir) == NULL)
        die("mkdtemp", ERR_UNAVAILABLE);
    int rc = store_open(b->dir, 1ull << 30, 1ull << 34, &b->st, &d);
    if (rc == 0)
        rc = identity_vault(b->st, b->dir, seal, 0, &b->vault, &d);
    if (rc != 0) {
        fprintf(stderr, "bench_seal: %s: %s\n", d.field, d.message);
        exit(1);
    }
}

static void bench_close(bench_t *b)
{
    store_close(&b->st);
    vault_destroy(&b->vault);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", b->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_seal: cannot remove %s\n", b->dir);
}

/* A packed item as a tool sends it: ids, a short narrative and a url. */
static size_t pack_item(const char *learner, const char *id, const char *comp, int64_t at,
                        uint8_t *buf)
{
    Mastery__V1__Evidence ev = MASTERY__V1__EVIDENCE__INIT;
    ev.evidence_id = (char *)id;
    ev.learner_id = (char *)learner;
    ev.competency_id = (char *)comp;
    ev.source = "quiz";
    ev.score = 0.8;
    ev.observed_at_ms = at;
    ev.narrative = "Explained equivalent fractions with a number line, then a drawing.";
    ev.url = "https://portfolio.example/work/8d1f2c";
    return mastery__v1__evidence__pack(&ev, buf);
}

/* Puts items items for each of learners learners (learner index from first), one commit per
 * learner batch of 100 learners; returns the seconds spent, and the CPU seconds in *cpu (may be
 * NULL): the commits' fsyncs dominate the first on a slow disk, the second is the sealing. */
static double put_learners(bench_t *b, int first, int learners, int items, const char *tag,
                           double *cpu)
{
    char learner[64], id[64], comp[16];
    uint8_t buf[512];
    uint64_t t0 = now_ns(), c0 = cpu_ns();
    for (int i = 0; i < learners;) {
        store_txn_t *txn;
        int rc = store_txn_begin(b->st, true, &txn);
        if (rc != 0)
            die("begin", rc);
        for (int n = 0; n < 100 && i < learners; n++, i++) {
            snprintf(learner, sizeof learner, "learner-%s-%d@school.example", tag, first + i);
            records_learner_t l;
            records_learner_init(&l, learner);
            for (int j = 0; j < items && rc == 0; j++) {
                snprintf(id, sizeof id, "stmt-%s-%d-%d", tag, first + i, j);
                snprintf(comp, sizeof comp, "c%d", j % 40);
                records_evidence_t ev = {.score = 0.8, .weight = 1, .observed_at = 1000 + j};
                ev.blob = buf;
                ev.blob_len = pack_item(learner, id, comp, 1000 + j, buf);
                rc = records_evidence_put(txn, &l, comp, "quiz", id, &ev);
            }
            if (rc == 0)
                rc = records_profile_ensure(txn, &l);
            records_learner_forget(&l);
            if (rc != 0)
                die("evidence put", rc);
        }
        if ((rc = store_txn_commit(&txn)) != 0)
            die("commit", rc);
    }
    if (cpu != NULL)
        *cpu = (double)(cpu_ns() - c0) / 1e9;
    return (double)(now_ns() - t0) / 1e9;
}

static void bench_ingest(int learners, int items, int runs)
{
    double on[16], off[16], con[16], coff[16], n = (double)learners * items;
    for (int r = 0; r < runs; r++) {
        for (int k = 0; k <= 1; k++) {
            bool seal = (r + k) % 2; /* alternate which goes first */
            bench_t b;
            double cpu;
            bench_open(&b, seal);
            double s = put_learners(&b, 0, learners, items, "i", &cpu);
            (seal ? on : off)[r] = n / s;
            (seal ? con : coff)[r] = cpu * 1e6 / n;
            bench_close(&b);
        }
    }
    double mon = bench_median(on, runs), moff = bench_median(off, runs);
    printf("evidence put (%d learners x %d items, synced commit per 100 learners)\n", learners,
           items);
    printf("  sealing off               median %.0f items/s, %.2f us CPU per item\n", moff,
           bench_median(coff, runs));
    printf("  sealing on                median %.0f items/s, %.2f us CPU per item  (%.1f%% of "
           "off's rate)\n",
           mon, bench_median(con, runs), 100.0 * mon / moff);
}

static void bench_read(int learners, int items, int runs)
{
    bench_t b;
    bench_open(&b, true);
    put_learners(&b, 0, learners, items, "r", NULL);
    double unlock[16], open[16];
    char learner[64];
    for (int r = 0; r < runs; r++) {
        store_txn_t *txn;
        int rc = store_txn_begin(b.st, false, &txn);
        if (rc != 0)
            die("begin", rc);
        /* unlock: every learner's secret unwrapped once */
        uint64_t t0 = now_ns();
        for (int i = 0; i < learners; i++) {
            snprintf(learner, sizeof learner, "learner-r-%d@school.example", i);
            records_learner_t l;
            records_learner_init(&l, learner);
            if ((rc = records_learner_unlock(txn, &l, false)) != 0)
                die("unlock", rc);
            records_learner_forget(&l);
        }
        unlock[r] = (double)(now_ns() - t0) / 1e3 / learners;
        store_txn_abort(&txn);
        /* box open: each item of the first 200 learners (unlock included, once per item, as
         * records_evidence_open does) */
        if ((rc = store_txn_begin(b.st, false, &txn)) != 0)
            die("begin", rc);
        uint64_t opened = 0, t1 = now_ns();
        for (int i = 0; i < learners && i < 200; i++) {
            snprintf(learner, sizeof learner, "learner-r-%d@school.example", i);
            records_learner_t l;
            records_learner_init(&l, learner);
            records_evidence_iter_t it;
            records_evidence_t ev;
            const void *plain;
            size_t len;
            if ((rc = records_evidence_iter_open(txn, l.hash, NULL, &it)) != 0)
                die("iter", rc);
            while (records_evidence_iter_next(&it, &ev) == 0) {
                if ((rc = records_evidence_open(txn, &ev, &plain, &len)) != 0)
                    die("open", rc);
                opened++;
            }
            records_evidence_iter_close(&it);
        }
        open[r] = (double)(now_ns() - t1) / 1e3 / (double)opened;
        store_txn_abort(&txn);
    }
    /* the cipher alone: one 200-byte item sealed (fresh nonce) and opened, and one index hash */
    uint8_t key[VAULT_KEY_LEN] = {1}, item[200] = {2}, box[200 + VAULT_BOX_OVERHEAD], out[256];
    double seal_us[16], unseal_us[16], hash_us[16], rand_us[16];
    for (int r = 0; r < runs; r++) {
        size_t out_len;
        uint64_t t0 = now_ns();
        for (int i = 0; i < 100000; i++)
            vault_seal(b.vault, key, "aad", 3, item, sizeof item, box);
        uint64_t t1 = now_ns();
        for (int i = 0; i < 100000; i++)
            if (vault_unseal(b.vault, key, "aad", 3, box, sizeof box, out, &out_len) != 0)
                die("unseal", ERR_INTERNAL);
        uint64_t t2 = now_ns();
        for (int i = 0; i < 100000; i++)
            vault_index_hash(b.vault, 'e', item, 36, out);
        uint64_t t3 = now_ns();
        for (int i = 0; i < 100000; i++) /* a box's nonce: what sealing adds to opening */
            if (RAND_bytes(out, 12) != 1)
                die("RAND_bytes", ERR_INTERNAL);
        rand_us[r] = (double)(now_ns() - t3) / 1e3 / 100000;
        seal_us[r] = (double)(t1 - t0) / 1e3 / 100000;
        unseal_us[r] = (double)(t2 - t1) / 1e3 / 100000;
        hash_us[r] = (double)(t3 - t2) / 1e3 / 100000;
    }
    printf("reading (%d learners)\n", learners);
    printf("  unlock                    median %.2f us per learner\n", bench_median(unlock, runs));
    printf("  box open (with unlock)    median %.2f us per item\n", bench_median(open, runs));
    printf("  vault_seal, 200 bytes     median %.2f us\n", bench_median(seal_us, runs));
    printf("  vault_unseal, 200 bytes   median %.2f us\n", bench_median(unseal_us, runs));
    printf("  vault_index_hash          median %.2f us\n", bench_median(hash_us, runs));
    printf("  RAND_bytes, 12 bytes      median %.2f us\n", bench_median(rand_us, runs));
    bench_close(&b);
}

static void bench_erase(int runs)
{
    static const int sizes[] = {10, 100, 1000};
    printf("erase (records_learner_erase + synced commit; 1000 other learners x 10 items)\n");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        double lat[16];
        for (int r = 0; r < runs; r++) {
            bench_t b;
            bench_open(&b, true);
            put_learners(&b, 0, 1000, 10, "o", NULL);
            char tag[16];
            snprintf(tag, sizeof tag, "e%d", r);
            put_learners(&b, 0, 1, sizes[s], tag, NULL);
            char learner[64];
            snprintf(learner, sizeof learner, "learner-%s-0@school.example", tag);
            records_learner_t l;
            records_learner_init(&l, learner);
            store_txn_t *txn;
            uint64_t evidence = 0, records = 0;
            uint64_t t0 = now_ns();
            int rc = store_txn_begin(b.st, true, &txn);
            if (rc == 0)
                rc = records_learner_unlock(txn, &l, false);
            if (rc == 0)
                rc = records_learner_erase(txn, &l, 1, &evidence, &records);
            if (rc == 0)
                rc = store_txn_commit(&txn);
            else
                store_txn_abort(&txn);
            if (rc != 0 || evidence != (uint64_t)sizes[s])
                die("erase", rc ? rc : ERR_INTERNAL);
            lat[r] = (double)(now_ns() - t0) / 1e6;
            bench_close(&b);
        }
        printf("  %4d items                 median %.2f ms\n", sizes[s], bench_median(lat, runs));
    }
}

/* Re-keying after an erasure: a new epoch, every learner's secret rewrapped in transactions
 * of 2000 (as handler_rekey_step does), the old epoch forgotten. */
static void bench_rekey(int learners, int runs)
{
    double secs[16];
    for (int r = 0; r < runs; r++) {
        bench_t b;
        bench_open(&b, true);
        put_learners(&b, 0, learners, 1, "k", NULL);
        err_detail_t d;
        uint64_t t0 = now_ns(), total = 0;
        int rc = vault_rotate(b.vault, b.dir, 1, &d);
        records_rekey_t k;
        memset(&k, 0, sizeof k);
        k.target = vault_epoch(b.vault);
        bool finished = false;
        while (rc == 0 && !finished) {
            store_txn_t *txn;
            uint64_t n = 0;
            if ((rc = store_txn_begin(b.st, true, &txn)) != 0)
                break;
            rc = records_rewrap(txn, &k, 2000, &n, &finished);
            if (rc == 0)
                rc = store_txn_commit(&txn);
            else
                store_txn_abort(&txn);
            total += n;
        }
        uint32_t forgotten;
        if (rc == 0)
            rc = vault_forget_epochs(b.vault, b.dir, INT64_MAX, &forgotten, &d);
        if (rc != 0 || total != (uint64_t)learners)
            die("rekey", rc ? rc : ERR_INTERNAL);
        secs[r] = (double)(now_ns() - t0) / 1e9;
        bench_close(&b);
    }
    double m = bench_median(secs, runs);
    printf("re-keying (%d learners, 2000 per synced commit)\n", learners);
    printf("  rotate, rewrap, forget    median %.3f s, %.0f learners/s\n", m, learners / m);
}

/* A format 6 learner by hand: the raw commitment key, the profile (the raw id), items under
 * H(L) 'E' H(comp) t H(source) id with their id index entries, and one bare event each. */
static uint64_t put_format6(store_txn_t *txn, int i, int items, uint64_t *seq)
{
    char learner[64], id[64], comp[16];
    uint8_t lh[STORE_HASH_LEN], ch[STORE_HASH_LEN], buf[600];
    snprintf(learner, sizeof learner, "learner-m-%d@school.example", i);
    store_hash_id(learner, lh);
    store_key_t k;
    uint64_t n = 0;
    store_key_reset(&k);
    store_key_bytes(&k, lh, STORE_HASH_LEN);
    store_key_byte(&k, 'K');
    memset(buf, i & 0xff, 32);
    n += store_put(txn, STORE_DB_LEARNERS, &k, buf, 32, 0) == 0;
    k.len = STORE_HASH_LEN;
    store_key_byte(&k, 'P');
    n += store_put(txn, STORE_DB_LEARNERS, &k, learner, strlen(learner), 0) == 0;
    for (int j = 0; j < items; j++) {
        snprintf(id, sizeof id, "stmt-m-%d-%d", i, j);
        snprintf(comp, sizeof comp, "c%d", j % 40);
        store_hash_id(comp, ch);
        int64_t at = 1000 + j;
        double score = 0.8, weight = 1;
        memset(buf, 0, 32);
        memcpy(buf, &score, 8);
        memcpy(buf + 8, &weight, 8);
        memcpy(buf + 16, &at, 8);
        size_t len = 32 + pack_item(learner, id, comp, at, buf + 32);
        store_key_reset(&k);
        store_key_bytes(&k, lh, STORE_HASH_LEN);
        store_key_byte(&k, 'E');
        store_key_bytes(&k, ch, STORE_HASH_LEN);
        store_key_i64(&k, at);
        store_key_hash(&k, "quiz");
        store_key_bytes(&k, id, strlen(id));
        n += store_put(txn, STORE_DB_LEARNERS, &k, buf, len, 0) == 0;
        uint8_t idx[2 * STORE_HASH_LEN + 8];
        memcpy(idx, lh, STORE_HASH_LEN);
        memcpy(idx + STORE_HASH_LEN, k.b + STORE_HASH_LEN + 1, STORE_HASH_LEN + 8);
        store_key_reset(&k);
        store_key_hash(&k, "quiz");
        store_key_bytes(&k, id, strlen(id));
        n += store_put(txn, STORE_DB_EVIDENCE_ID, &k, idx, sizeof idx, 0) == 0;
    }
    Mastery__V1__Event e = MASTERY__V1__EVENT__INIT;
    Mastery__V1__Unlocked u = MASTERY__V1__UNLOCKED__INIT;
    u.learner_id = learner;
    u.framework_id = "fw";
    u.competency_id = "c0";
    e.seq = *seq;
    e.at_ms = (int64_t)*seq;
    e.kind_case = MASTERY__V1__EVENT__KIND_UNLOCKED;
    e.unlocked = &u;
    size_t len = mastery__v1__event__pack(&e, buf);
    store_key_reset(&k);
    store_key_u64(&k, (*seq)++);
    n += store_put(txn, STORE_DB_EVENTS, &k, buf, len, 0) == 0;
    return n;
}

static void bench_migrate(int learners, int items, int runs)
{
    double rate[16], secs[16];
    uint64_t total = 0;
    for (int r = 0; r < runs; r++) {
        bench_t b;
        bench_open(&b, true);
        store_txn_t *txn;
        uint64_t seq = 1;
        total = 0;
        int rc = store_txn_begin(b.st, true, &txn);
        for (int i = 0; rc == 0 && i < learners; i++)
            total += put_format6(txn, i, items, &seq);
        if (rc == 0)
            rc = store_format_set(txn, STORE_FORMAT_GROUPS);
        if (rc == 0)
            rc = store_txn_commit(&txn);
        if (rc != 0)
            die("format 6 store", rc);
        err_detail_t d;
        uint64_t t0 = now_ns();
        if ((rc = records_upgrade(b.st, &d)) != 0) {
            fprintf(stderr, "bench_seal: %s\n", d.message);
            exit(1);
        }
        secs[r] = (double)(now_ns() - t0) / 1e9;
        rate[r] = (double)total / secs[r];
        bench_close(&b);
    }
    printf("migration 6 -> 7 (%d learners, %llu records: keys, profiles, items, id index, "
           "events)\n",
           learners, (unsigned long long)total);
    printf("  records_upgrade           median %.2f s, %.0f records/s\n", bench_median(secs, runs),
           bench_median(rate, runs));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int learners = argc > 1 ? atoi(argv[1]) : 2000;
    int items = argc > 2 ? atoi(argv[2]) : 10;
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    if (learners < 1 || items < 1 || runs < 1 || runs > 16) {
        fprintf(stderr, "usage: bench_seal [LEARNERS [ITEMS [RUNS (1-16)]]]\n");
        return 2;
    }
    printf("bench_seal: %d learners x %d items, %d runs (medians)\n", learners, items, runs);
    bench_ingest(learners, items, runs);
    bench_read(learners, items, runs);
    bench_erase(runs);
    bench_rekey(learners * 5, runs);
    bench_migrate(learners, items, runs);
    return 0;
}
