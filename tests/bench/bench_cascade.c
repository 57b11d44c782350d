/*
 * bench_cascade: unlock propagation on a generated 10 000-competency DAG.
 *
 * Competency i (> 0) requires i-1 and, for every fifth, also a random earlier one: a DAG whose
 * longest path is the whole framework. A learner has prior evidence on every competency but
 * the first (all recorded while locked); one evidence on the first then masters it, which
 * unlocks the next, whose prior evidence masters it, and so on down the whole chain: 10 000
 * unlocks and masteries in one transaction. Timed in-process on a real LMDB store: the engine
 * (apply, with the journal storing every unlock and mastery as an event, as the handler does)
 * and the synced commit separately, median of several learners. Also the framework's
 * parse + validation time.
 *
 *   bench_cascade [N [RUNS [WRITE_BEHIND_BYTES]]]
 * WRITE_BEHIND_BYTES > 0 puts the store in write-behind (store.h), as the daemon runs by
 * default: the learners' records go to the overlay and the commit appends one write-ahead
 * record; the write-back runs between runs, untimed, as the daemon's sweep does between batches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "engine.h"
#include "graph.h"
#include "identity.h"
#include "journal.h"
#include "store.h"
#include "vault.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static char *make_framework(int n)
{
    size_t cap = (size_t)n * 128 + 256, len = 0;
    char *s = malloc(cap);
    len += (size_t)snprintf(s + len, cap - len,
                            "{\"id\":\"urn:bench:dag\",\"title\":\"DAG\",\"version\":\"1\","
                            "\"competencies\":[");
    srand(42);
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(s + len, cap - len, "%s{\"id\":\"c%d\",\"title\":\"C%d\"",
                                i ? "," : "", i, i);
        if (i > 0 && i % 5 == 0 && i > 2)
            len += (size_t)snprintf(s + len, cap - len, ",\"requires\":{\"all\":[\"c%d\",\"c%d\"]}",
                                    i - 1, rand() % (i - 1));
        else if (i > 0)
            len += (size_t)snprintf(s + len, cap - len, ",\"requires\":{\"all\":[\"c%d\"]}", i - 1);
        len += (size_t)snprintf(s + len, cap - len,
                                ",\"rule\":{\"method\":\"latest\",\"threshold\":0.5}}");
    }
    snprintf(s + len, cap - len, "]}");
    return s;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    unsigned long long wb = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
    char *doc = make_framework(n);
    err_detail_t d;
    graph_t *g = NULL;
    uint64_t t0 = now_ns();
    if (graph_parse(doc, strlen(doc), &g, &d) != 0) {
        fprintf(stderr, "bench_cascade: %s: %s\n", d.field, d.message);
        return 1;
    }
    double parse_ms = (double)(now_ns() - t0) / 1e6;
    char dir[] = "/tmp/masteryd-cascade-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    store_t *st = NULL;
    vault_t *vault = NULL; /* learners' fields sealed, as the daemon stores them */
    if (store_open(dir, 1ull << 30, 1ull << 34, &st, &d) != 0 ||
        identity_vault(st, dir, true, 0, &vault, &d) != 0) {
        fprintf(stderr, "bench_cascade: %s\n", d.message);
        return 1;
    }
    if (wb > 0 && store_write_behind(st, wb) != 0) {
        fprintf(stderr, "bench_cascade: write-behind cannot start\n");
        return 1;
    }
    journal_t *journal = journal_new();
    store_txn_t *jt;
    if (journal == NULL || store_txn_begin(st, false, &jt) != 0 || journal_open(journal, jt) != 0) {
        fprintf(stderr, "bench_cascade: no journal\n");
        return 1;
    }
    store_txn_abort(&jt);
    catalog_t *cat = catalog_new();
    catalog_put(cat, &g, 1, 0);
    engine_t *eng = engine_new(cat);
    engine_changes_t changes = {0};
    uint64_t *apply = calloc((size_t)reps, sizeof *apply), *commit = calloc((size_t)reps, 8);
    uint64_t cascade_events = 0;
    char id[64], learner[32], comp[32];
    for (int r = 0; r < reps; r++) {
        snprintf(learner, sizeof learner, "learner-%d", r);
        store_txn_t *txn;
        store_txn_begin(st, true, &txn);
        engine_set_now(eng, 1);
        for (int i = 1; i < n; i++) {
            snprintf(id, sizeof id, "prior-%d-%d", r, i);
            snprintf(comp, sizeof comp, "c%d", i);
            engine_evidence_t ev = {id,           learner,  comp,   0.9,   1.0,
                                    OUTCOME_NONE, 1000 + i, "quiz", false, 0};
            engine_evidence_add(eng, txn, &ev, "x", 1, &changes);
            engine_changes_reset(&changes);
        }
        if (store_txn_commit(&txn) != 0) {
            fprintf(stderr, "bench_cascade: prior evidence not committed\n");
            return 1;
        }
        if (store_flush_all(st) != 0) { /* the daemon's sweep, between batches */
            fprintf(stderr, "bench_cascade: write-back failed\n");
            return 1;
        }
        store_txn_begin(st, true, &txn);
        snprintf(id, sizeof id, "trigger-%d", r);
        engine_evidence_t ev = {id, learner, "c0", 0.9, 1.0, OUTCOME_NONE, 1000, "quiz", false, 0};
        journal_batch_begin(journal, 1000);
        uint64_t a = now_ns();
        int rc = engine_evidence_add(eng, txn, &ev, "x", 1, &changes);
        /* Every change stored as an event, as handler.c: apply_changes does. */
        for (size_t i = 0; rc == 0 && i < changes.n; i++) {
            const engine_change_t *c = &changes.v[i];
            journal_event_t je = {
                .kind = c->kind == CHANGE_MASTERED ? JOURNAL_MASTERED : JOURNAL_UNLOCKED,
                .learner_id = changes.learner_id,
                .framework_id = graph_id(c->fw->graph),
                .competency_id = graph_comp(c->fw->graph, c->competency)->id,
                .evidence_id = changes.evidence_id,
                .evidence_source = changes.evidence_source,
                .score = c->score,
            };
            rc = journal_append(journal, txn, &je);
        }
        uint64_t b = now_ns();
        rc = rc ? rc : store_txn_commit(&txn);
        uint64_t c = now_ns();
        if (rc != 0) {
            fprintf(stderr, "bench_cascade: %s\n", err_str(rc));
            return 1;
        }
        journal_batch_end(journal, true);
        apply[r] = b - a;
        commit[r] = c - b;
        cascade_events = changes.n;
        engine_changes_reset(&changes);
    }
    qsort(apply, (size_t)reps, 8, cmp_u64);
    qsort(commit, (size_t)reps, 8, cmp_u64);
    printf("bench_cascade: %d competencies, chain of %d, %d runs, write-behind %s\n", n, n, reps,
           wb ? "on" : "off");
    printf("  framework parse+validate  %.2f ms\n", parse_ms);
    printf("  one evidence -> %llu events (unlocks + masteries)\n",
           (unsigned long long)cascade_events);
    printf("  apply (engine + events)   median %.2f ms  (%.2f us per competency)\n",
           (double)apply[reps / 2] / 1e6, (double)apply[reps / 2] / 1e3 / n);
    printf("  synced commit             median %.2f ms\n", (double)commit[reps / 2] / 1e6);
    printf("  total                     median %.2f ms\n",
           (double)(apply[reps / 2] + commit[reps / 2]) / 1e6);
    engine_changes_free(&changes);
    engine_destroy(&eng);
    journal_destroy(&journal);
    catalog_destroy(&cat);
    store_close(&st);
    vault_destroy(&vault);
    free(apply);
    free(commit);
    free(doc);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
