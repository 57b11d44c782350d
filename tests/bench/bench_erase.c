/*
 * bench_erase: learner erasure (issue 16) through the real daemon.
 *
 * Starts masteryd (with --conf, if given), loads the example fractions framework, then:
 *   1. ingests LEARNERS x ITEMS evidence items (batches of --batch, --window requests in
 *      flight), timing it: ingestion throughput before;
 *   2. erases ERASE of those learners one at a time (EraseLearner, each sent once), timing
 *      each: erase latency p50/p99/max and learners erased per second;
 *   3. ingests the same shape again for as many new learners: ingestion throughput after
 *      (the store now holds the erased learners' tombstones and the erasure log entries).
 * Prints the numbers; asserts nothing (tests/bench/ab compares two builds or settings).
 */
#include <getopt.h>
#include <inttypes.h>

#include "bench_util.h"

static const char *const comps[] = {
    "frac.equivalent",      "frac.compare",        "frac.common-denominator",
    "frac.add-like",        "frac.subtract-like",  "frac.add-unlike",
    "frac.subtract-unlike", "frac.mixed-numbers",  "frac.word-problems-add",
    "frac.as-division",     "frac.multiply-whole", "frac.multiply-fractions",
    "frac.scaling",         "frac.divide-unit",
};
#define N_COMPS   (sizeof comps / sizeof comps[0])
#define MAX_BATCH 1000

typedef struct opts {
    long learners, items, erase;
    int batch, window;
    const char *conf;
} opts_t;

static unsigned run_nonce;

/* Sends items for learners "<prefix><0..n-1>", items each, round-robin over competencies,
 * with a narrative and url (the fields erasure seals and shreds). Returns evidence/s, or -1
 * when a request failed. */
static double ingest(mc_client_t *mc, const opts_t *o, const char *prefix, long n, uint64_t *acked)
{
    mc_window_t *w = NULL;
    if (mc_window_new(mc, (size_t)o->window, &w) != 0)
        return -1;
    long total = n * o->items, next = 0;
    uint64_t errors = 0;
    *acked = 0;
    static Mastery__V1__Evidence items[MAX_BATCH];
    static Mastery__V1__Evidence *ptrs[MAX_BATCH];
    static char ids[MAX_BATCH][64], learners[MAX_BATCH][48], narratives[MAX_BATCH][96];
    uint64_t t0 = bench_now_ns();
    while (next < total || mc_window_count(w) > 0) {
        while (next < total && mc_window_count(w) < (size_t)o->window) {
            int b = 0;
            for (; b < o->batch && next < total; b++, next++) {
                long learner = next % n, k = next / n;
                Mastery__V1__Evidence *e = &items[b];
                mastery__v1__evidence__init(e);
                snprintf(ids[b], sizeof ids[b], "x-%u-%s-%ld-%ld", run_nonce, prefix, learner, k);
                snprintf(learners[b], sizeof learners[b], "%s%ld", prefix, learner);
                snprintf(narratives[b], sizeof narratives[b],
                         "item %ld of learner %s%ld: worked it through", k, prefix, learner);
                e->evidence_id = ids[b];
                e->learner_id = learners[b];
                e->competency_id = (char *)comps[(size_t)k % N_COMPS];
                e->score = 0.55 + (double)((next * 7919) % 450) / 1000.0;
                e->source = "bench";
                e->narrative = narratives[b];
                e->url = "https://lms.example.edu/bench/submission";
                ptrs[b] = e;
            }
            Mastery__V1__SubmitEvidence sub = MASTERY__V1__SUBMIT_EVIDENCE__INIT;
            sub.items = ptrs;
            sub.n_items = (size_t)b;
            Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
            req.op_case = MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE;
            req.submit_evidence = &sub;
            err_detail_t d;
            if (mc_window_send(w, &req, 1, NULL, &d) != 0) {
                fprintf(stderr, "bench_erase: %s\n", d.message);
                mc_window_destroy(&w);
                return -1;
            }
        }
        err_detail_t d;
        if (mc_window_wait(w, 1000, NULL, &d) != 0)
            errors++;
        void *tag;
        Mastery__V1__Reply *rep;
        while (mc_window_take(w, &tag, &rep)) {
            if (rep->result_case == MASTERY__V1__REPLY__RESULT_EVIDENCE_RESULTS)
                *acked += rep->evidence_results->accepted;
            else
                errors++;
            mc_reply_free(rep);
        }
    }
    double s = (double)(bench_now_ns() - t0) / 1e9;
    mc_window_destroy(&w);
    if (errors > 0) {
        fprintf(stderr, "bench_erase: %" PRIu64 " ingestion requests failed\n", errors);
        return -1;
    }
    return (double)*acked / s;
}

int main(int argc, char **argv)
{
    opts_t o = {.learners = 200, .items = 20, .erase = 50, .batch = 100, .window = 4};
    static const struct option lo[] = {{"learners", required_argument, NULL, 'l'},
                                       {"items", required_argument, NULL, 'i'},
                                       {"erase", required_argument, NULL, 'k'},
                                       {"batch", required_argument, NULL, 'b'},
                                       {"window", required_argument, NULL, 'w'},
                                       {"conf", required_argument, NULL, 'C'},
                                       {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'l':
            o.learners = atol(optarg);
            break;
        case 'i':
            o.items = atol(optarg);
            break;
        case 'k':
            o.erase = atol(optarg);
            break;
        case 'b':
            o.batch = atoi(optarg);
            break;
        case 'w':
            o.window = atoi(optarg);
            break;
        case 'C':
            o.conf = optarg;
            break;
        default:
            fprintf(stderr, "usage: bench_erase [--learners N] [--items M] [--erase K] "
                            "[--batch B] [--window W] [--conf MASTERYD_CONF]\n");
            return 2;
        }
    }
    if (o.learners < 1 || o.items < 1 || o.erase < 1 || o.erase > o.learners || o.batch < 1 ||
        o.batch > MAX_BATCH || o.window < 1 || o.window > 64) {
        fprintf(stderr,
                "bench_erase: need 1 <= erase <= learners, items >= 1, batch 1..%d, "
                "window 1..64\n",
                MAX_BATCH);
        return 2;
    }
    run_nonce = (unsigned)getpid() ^ (unsigned)time(NULL);
    bench_daemon_t d = {0};
    if (bench_daemon_start_conf(&d, o.conf) != 0) {
        fprintf(stderr, "bench_erase: masteryd did not start\n");
        return 1;
    }
    mc_client_t *mc = bench_connect(d.endpoint, NULL);
    char *doc = bench_read_file(MASTERY_SOURCE_DIR "/schemas/examples/fractions.json", NULL);
    Mastery__V1__PutFramework put = MASTERY__V1__PUT_FRAMEWORK__INIT;
    put.json = doc;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_PUT_FRAMEWORK;
    req.put_framework = &put;
    Mastery__V1__Reply *rep = doc ? bench_call(mc, &req) : NULL;
    if (rep == NULL || rep->status->code != 0) {
        fprintf(stderr, "bench_erase: framework load failed\n");
        bench_daemon_stop(&d);
        return 1;
    }
    mc_reply_free(rep);
    free(doc);

    int rc = 0;
    uint64_t acked_before = 0, acked_after = 0;
    double before = ingest(mc, &o, "e", o.learners, &acked_before);
    uint64_t *lat = calloc((size_t)o.erase, sizeof *lat);
    uint64_t erased_records = 0, erased_evidence = 0;
    double erase_s = 0;
    if (before < 0) {
        rc = 1;
        goto out;
    }
    /* Erase every (learners / erase)-th learner, spread over the store. */
    long stride = o.learners / o.erase;
    uint64_t t0 = bench_now_ns();
    for (long k = 0; k < o.erase; k++) {
        char id[48];
        snprintf(id, sizeof id, "e%ld", k * stride);
        Mastery__V1__EraseLearner er = MASTERY__V1__ERASE_LEARNER__INIT;
        er.learner_id = id;
        er.reason = "bench";
        Mastery__V1__Request ereq = MASTERY__V1__REQUEST__INIT;
        ereq.op_case = MASTERY__V1__REQUEST__OP_ERASE_LEARNER;
        ereq.erase_learner = &er;
        uint64_t s = bench_now_ns();
        Mastery__V1__Reply *r = bench_call(mc, &ereq);
        lat[k] = bench_now_ns() - s;
        if (r == NULL || r->status == NULL || r->status->code != 0 ||
            r->result_case != MASTERY__V1__REPLY__RESULT_ERASURE) {
            fprintf(stderr, "bench_erase: EraseLearner %s failed: %s\n", id,
                    r && r->status && r->status->message ? r->status->message : "no reply");
            mc_reply_free(r);
            rc = 1;
            goto out;
        }
        erased_records += r->erasure->records_erased;
        erased_evidence += r->erasure->evidence_erased;
        mc_reply_free(r);
    }
    erase_s = (double)(bench_now_ns() - t0) / 1e9;
    double after = ingest(mc, &o, "n", o.learners, &acked_after);
    if (after < 0) {
        rc = 1;
        goto out;
    }
    printf("bench_erase: %ld learners x %ld items, batch %d, window %d, %ld erased\n", o.learners,
           o.items, o.batch, o.window, o.erase);
    printf("  ingest before      %.0f evidence/s (%" PRIu64 " acked)\n", before, acked_before);
    printf("  erase latency      p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
           bench_pct_ms(lat, (size_t)o.erase, 50), bench_pct_ms(lat, (size_t)o.erase, 99),
           bench_pct_ms(lat, (size_t)o.erase, 100));
    printf("  erase throughput   %.1f learners/s (%" PRIu64 " evidence, %" PRIu64
           " records erased)\n",
           (double)o.erase / erase_s, erased_evidence, erased_records);
    printf("  ingest after       %.0f evidence/s (%" PRIu64 " acked)\n", after, acked_after);
    printf("  daemon peak RSS    %ld KiB\n", bench_daemon_peak_rss_kb(&d));
out:
    free(lat);
    mc_client_destroy(&mc);
    bench_daemon_stop(&d);
    return rc;
}
