/*
 * bench_next: Next and Explain through the real daemon on a framework the size of a real
 * standards map, and what the review sweep does to ingestion.
 *
 * The framework is generated deterministically: 480 competencies in 12 layers of 40 (about a
 * K-8 mathematics standards map), 757 prerequisite edges ("all"), each competency of layers
 * 1..11 requiring 1 to 3 of the layers before; rules cycle through latest, average,
 * decaying_average, n_mastery and bkt; review_after P30D. --learners learners (default 20)
 * each get 3 items on every competency of the first --layers layers (default 6) in layer
 * order, scores 0.5..1.0 (a realistic frontier: most of those mastered, some not, the next
 * layers unlocked or locked). Then one client asks Next (a random learner) and Explain (a
 * random learner and competency with evidence) --requests times each, one at a time.
 *
 * --sweep N: then the sweep's effect on acks. N learners each master one competency with
 * review_after P1D from evidence 10 days old (N due reviews), with the sweep off; the daemon
 * restarts with the sweep off and --clients closed-loop clients submit evidence for --seconds
 * (ack p50/p99 baseline); it restarts again with the sweep's defaults (review_sweep_ms 250,
 * review_sweep_max 64) and the same load runs while the sweep publishes review_due events from
 * the backlog; then off and on once more (alternating, against warm-up bias).
 * Prints requests/s and latency percentiles; asserts nothing.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>

#include "bench_util.h"

#define COMPS  480
#define LAYERS 12
#define EDGES  757

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* The framework document; *edges receives the number of prerequisite edges. */
static char *make_framework(int *edges)
{
    static const char *const rules[] = {
        "{\"method\":\"latest\",\"threshold\":0.8}",
        "{\"method\":\"average\",\"threshold\":0.75,\"min_evidence\":2}",
        "{\"method\":\"decaying_average\",\"weight\":0.65,\"threshold\":0.8}",
        "{\"method\":\"n_mastery\",\"n\":2,\"threshold\":0.8}",
        "{\"method\":\"bkt\",\"p_forget\":0.02,\"threshold\":0.9}"};
    int per = COMPS / LAYERS;
    int need[COMPS] = {0};
    int n_edges = 0;
    for (int i = per; i < COMPS; i++)
        need[i] = 1, n_edges++;
    while (n_edges < EDGES) { /* the rest spread over random competencies, at most 3 each */
        int i = per + (int)(rnd() % (uint64_t)(COMPS - per));
        if (need[i] < 3 && need[i] < i / per * per) {
            need[i]++;
            n_edges++;
        }
    }
    size_t cap = 1 << 20, len = 0;
    char *doc = malloc(cap);
    len += (size_t)snprintf(doc + len, cap - len,
                            "{\"id\":\"urn:bench:standards\",\"title\":\"Generated standards map\","
                            "\"review_after\":\"P30D\",\"competencies\":[");
    for (int i = 0; i < COMPS; i++) {
        len += (size_t)snprintf(doc + len, cap - len,
                                "%s{\"id\":\"s.%03d\",\"title\":\"Standard %d\",\"rule\":%s",
                                i ? "," : "", i, i, rules[i % 5]);
        if (need[i] > 0) {
            int layer = i / per, chosen[3], k = 0;
            len += (size_t)snprintf(doc + len, cap - len, ",\"requires\":{\"all\":[");
            while (k < need[i]) {
                /* mostly the layer just before, sometimes further back */
                int from = rnd() % 4 ? (layer - 1) * per : 0;
                int p = from + (int)(rnd() % (uint64_t)(layer * per - from));
                bool dup = false;
                for (int j = 0; j < k; j++)
                    dup = dup || chosen[j] == p;
                if (dup)
                    continue;
                chosen[k] = p;
                len += (size_t)snprintf(doc + len, cap - len, "%s\"s.%03d\"", k ? "," : "", p);
                k++;
            }
            len += (size_t)snprintf(doc + len, cap - len, "]}");
        }
        len += (size_t)snprintf(doc + len, cap - len, "}");
    }
    snprintf(doc + len, cap - len, "]}");
    *edges = n_edges;
    return doc;
}

static Mastery__V1__Reply *call_ok(mc_client_t *c, Mastery__V1__Request *req,
                                   Mastery__V1__Reply__ResultCase want, const char *what)
{
    Mastery__V1__Reply *rep = bench_call(c, req);
    if (rep == NULL || (rep->status && rep->status->code != 0) || rep->result_case != want) {
        fprintf(stderr, "bench_next: %s failed: %s\n", what,
                rep && rep->status ? rep->status->message : "no reply");
        exit(1);
    }
    return rep;
}

static void load_framework(mc_client_t *c, const char *doc)
{
    Mastery__V1__PutFramework put = MASTERY__V1__PUT_FRAMEWORK__INIT;
    put.json = (char *)doc;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_PUT_FRAMEWORK;
    req.put_framework = &put;
    mc_reply_free(call_ok(c, &req, MASTERY__V1__REPLY__RESULT_FRAMEWORK_INFO, "put_framework"));
}

/* Submits items[0..n) in requests of up to 500. */
static void submit_all(mc_client_t *c, Mastery__V1__Evidence *items, size_t n)
{
    Mastery__V1__Evidence *ptrs[500];
    for (size_t at = 0; at < n; at += 500) {
        size_t k = n - at < 500 ? n - at : 500;
        for (size_t j = 0; j < k; j++)
            ptrs[j] = &items[at + j];
        Mastery__V1__SubmitEvidence sub = MASTERY__V1__SUBMIT_EVIDENCE__INIT;
        sub.items = ptrs;
        sub.n_items = k;
        Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
        req.op_case = MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE;
        req.submit_evidence = &sub;
        mc_reply_free(
            call_ok(c, &req, MASTERY__V1__REPLY__RESULT_EVIDENCE_RESULTS, "submit_evidence"));
    }
}

/* The daemon's CPU time so far (user + system), in seconds: per request it says what a
 * request costs the daemon whatever else runs on the machine (latency percentiles do not). */
static double daemon_cpu_s(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command may hold spaces */
    unsigned long ut = 0, st = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void report(const char *name, uint64_t *lat, size_t n, double secs)
{
    double p50 = bench_pct_ms(lat, n, 50), p90 = bench_pct_ms(lat, n, 90),
           p99 = bench_pct_ms(lat, n, 99), max = bench_pct_ms(lat, n, 100);
    printf("%-8s %6zu requests  %8.0f/s  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms\n",
           name, n, (double)n / secs, p50, p90, p99, max);
}

/* ---- the sweep's effect on acks ----------------------------------------------------------- */

typedef struct loader {
    pthread_t t;
    const char *endpoint;
    int no, seconds;
    uint64_t *lat;
    size_t n;
} loader_t;

static void *loader_main(void *arg)
{
    loader_t *l = arg;
    mc_client_t *mc = bench_connect(l->endpoint, NULL);
    mc_window_t *w;
    if (mc_window_new(mc, 8, &w) != 0)
        exit(1);
    size_t cap = 1 << 20;
    l->lat = malloc(cap * sizeof *l->lat);
    uint64_t stamps[8], seq = 0;
    size_t head = 0, inflight = 0;
    uint64_t end = bench_now_ns() + (uint64_t)l->seconds * 1000000000ull;
    static unsigned nonce;
    if (nonce == 0)
        nonce = (unsigned)time(NULL);
    while (bench_now_ns() < end || inflight > 0) {
        while (inflight < 8 && bench_now_ns() < end) {
            char id[64], learner[32];
            snprintf(id, sizeof id, "ld-%u-%d-%" PRIu64, nonce, l->no, seq);
            snprintf(learner, sizeof learner, "ld%d-%" PRIu64, l->no, seq % 5000);
            Mastery__V1__Evidence ev = MASTERY__V1__EVIDENCE__INIT, *p = &ev;
            ev.evidence_id = id;
            ev.learner_id = learner;
            ev.competency_id = "load.c";
            ev.score = 0.5;
            ev.source = "bench";
            Mastery__V1__SubmitEvidence sub = MASTERY__V1__SUBMIT_EVIDENCE__INIT;
            sub.items = &p;
            sub.n_items = 1;
            Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
            req.op_case = MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE;
            req.submit_evidence = &sub;
            err_detail_t d;
            stamps[(head + inflight) % 8] = bench_now_ns();
            if (mc_window_send(w, &req, 1, NULL, &d) != 0)
                exit(1);
            inflight++;
            seq++;
        }
        err_detail_t d;
        mc_window_wait(w, 100, NULL, &d);
        void *tag;
        Mastery__V1__Reply *rep;
        while (mc_window_take(w, &tag, &rep)) {
            if (l->n < cap)
                l->lat[l->n++] = bench_now_ns() - stamps[head];
            head = (head + 1) % 8;
            inflight--;
            mc_reply_free(rep);
        }
    }
    mc_window_destroy(&w);
    mc_client_destroy(&mc);
    return NULL;
}

static void ack_phase(const char *name, const char *endpoint, int clients, int seconds)
{
    loader_t ls[16];
    for (int i = 0; i < clients; i++) {
        ls[i] = (loader_t){.endpoint = endpoint, .no = i, .seconds = seconds};
        pthread_create(&ls[i].t, NULL, loader_main, &ls[i]);
    }
    size_t total = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(ls[i].t, NULL);
        total += ls[i].n;
    }
    uint64_t *all = malloc((total ? total : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < clients; i++) {
        memcpy(all + k, ls[i].lat, ls[i].n * sizeof *all);
        k += ls[i].n;
        free(ls[i].lat);
    }
    report(name, all, total, seconds);
    free(all);
}

static uint64_t review_due_events(mc_client_t *c)
{
    mc_events_t *r;
    err_detail_t d;
    uint64_t n = 0;
    if (mc_events_open(c, 0, false, &r, &d) != 0)
        return 0;
    const Mastery__V1__Event *ev;
    while (mc_events_next(r, &ev, &d) == MC_EVENTS_EVENT)
        n += ev->kind_case == MASTERY__V1__EVENT__KIND_REVIEW_DUE;
    mc_events_destroy(&r);
    return n;
}

static void sweep_bench(long learners, int clients, int seconds)
{
    char conf[2][300];
    const char *text[2] = {"review_sweep_ms = 0\n",
                           "# the defaults: review_sweep_ms 250, max 64\n"};
    for (int i = 0; i < 2; i++) {
        snprintf(conf[i], sizeof conf[i], "/tmp/bench_next_%d_%d.conf", (int)getpid(), i);
        FILE *f = fopen(conf[i], "w");
        fputs(text[i], f);
        fclose(f);
    }
    bench_daemon_t d;
    if (bench_daemon_start_conf(&d, conf[0]) != 0) {
        fprintf(stderr, "bench_next: daemon did not start\n");
        exit(1);
    }
    mc_client_t *c = bench_connect(d.endpoint, NULL);
    load_framework(c, "{\"id\":\"urn:bench:reviews\",\"title\":\"Reviews\",\"competencies\":["
                      "{\"id\":\"rev.c\",\"title\":\"Reviewed\",\"review_after\":\"P1D\"},"
                      "{\"id\":\"load.c\",\"title\":\"Load\"}]}");
    Mastery__V1__Evidence *items = calloc((size_t)learners, sizeof *items);
    char(*ids)[32] = calloc((size_t)learners, sizeof *ids);
    int64_t old = (int64_t)time(NULL) * 1000 - 10 * 86400000LL;
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < learners; i++) {
        mastery__v1__evidence__init(&items[i]);
        snprintf(ids[i], sizeof ids[i], "r%ld", i);
        items[i].evidence_id = ids[i];
        items[i].learner_id = ids[i];
        items[i].competency_id = "rev.c";
        items[i].score = 0.9;
        items[i].observed_at_ms = old + i;
        items[i].observed_at_set = true;
        items[i].source = "bench";
    }
    submit_all(c, items, (size_t)learners);
    printf("%ld mastered competencies with a review due, stored in %.1f s\n", learners,
           (double)(bench_now_ns() - t0) / 1e9);
    mc_client_destroy(&c);
    free(items);
    free(ids);
    char data[300];
    snprintf(data, sizeof data, "%s", d.dir);
    kill(d.pid, SIGTERM);
    waitpid(d.pid, NULL, 0);
    /* the same data directory, four times more: sweep off, on, off, on (alternating, so the
     * page cache warming up favours neither) */
    for (int round = 0; round < 4; round++) {
        int phase = round % 2;
        bench_daemon_t e = d;
        pid_t pid;
        int pipefd[2];
        if (pipe(pipefd) != 0)
            exit(1);
        if ((pid = fork()) == 0) {
            dup2(pipefd[1], 2);
            close(pipefd[0]);
            char dd[320];
            snprintf(dd, sizeof dd, "%s/data", data);
            execl(MASTERY_BIN_DIR "/masteryd", "masteryd", "-d", "-c", conf[phase], "--data", dd,
                  "--listen", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*", (char *)NULL);
            _exit(127);
        }
        close(pipefd[1]);
        FILE *f = fdopen(pipefd[0], "r");
        char line[1024];
        while (fgets(line, sizeof line, f)) {
            char *p;
            if ((p = strstr(line, "requests on ")))
                sscanf(p + 12, "%255s", e.endpoint);
            if (strstr(line, "ready"))
                break;
        }
        if (fork() == 0) {
            while (fgets(line, sizeof line, f))
                ;
            _exit(0);
        }
        fclose(f);
        e.pid = pid;
        uint64_t s0 = bench_now_ns();
        ack_phase(phase ? "ack+sweep" : "ack", e.endpoint, clients, seconds);
        mc_client_t *q = bench_connect(e.endpoint, NULL);
        uint64_t due = review_due_events(q);
        printf("         review_due events in the log: %" PRIu64 " (after %.1f s%s)\n", due,
               (double)(bench_now_ns() - s0) / 1e9, phase ? "" : " (sweep off)");
        mc_client_destroy(&q);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    bench_daemon_stop(&d);
    unlink(conf[0]);
    unlink(conf[1]);
}

int main(int argc, char **argv)
{
    long learners = 20, sweep = 0;
    int layers = 6, requests = 2000, clients = 4, seconds = 10;
    static const struct option lo[] = {{"learners", required_argument, NULL, 'l'},
                                       {"layers", required_argument, NULL, 'L'},
                                       {"requests", required_argument, NULL, 'n'},
                                       {"sweep", required_argument, NULL, 'S'},
                                       {"clients", required_argument, NULL, 'c'},
                                       {"seconds", required_argument, NULL, 's'},
                                       {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'l':
            learners = atol(optarg);
            break;
        case 'L':
            layers = atoi(optarg);
            break;
        case 'n':
            requests = atoi(optarg);
            break;
        case 'S':
            sweep = atol(optarg);
            break;
        case 'c':
            clients = atoi(optarg);
            break;
        case 's':
            seconds = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: bench_next [--learners N] [--layers K] [--requests N] "
                            "[--sweep N [--clients C] [--seconds S]]\n");
            return 2;
        }
    }
    if (clients < 1 || clients > 16 || layers < 1 || layers > LAYERS || learners < 1) {
        fprintf(stderr, "bench_next: --clients 1..16, --layers 1..12, --learners >= 1\n");
        return 2;
    }
    int edges;
    char *doc = make_framework(&edges);
    bench_daemon_t d;
    if (bench_daemon_start(&d) != 0) {
        fprintf(stderr, "bench_next: daemon did not start\n");
        return 1;
    }
    mc_client_t *c = bench_connect(d.endpoint, NULL);
    load_framework(c, doc);
    int per = COMPS / LAYERS, ncomp = layers * per;
    size_t n = (size_t)learners * (size_t)ncomp * 3;
    Mastery__V1__Evidence *items = calloc(n, sizeof *items);
    char(*ids)[48] = calloc(n, sizeof *ids);
    char(*lids)[24] = calloc((size_t)learners, sizeof *lids);
    char(*cids)[16] = calloc(COMPS, sizeof *cids);
    for (int i = 0; i < COMPS; i++)
        snprintf(cids[i], sizeof cids[i], "s.%03d", i);
    size_t k = 0;
    int64_t t = (int64_t)time(NULL) * 1000 - 86400000LL;
    for (long l = 0; l < learners; l++) {
        snprintf(lids[l], sizeof lids[l], "L%ld", l);
        for (int i = 0; i < ncomp; i++)
            for (int j = 0; j < 3; j++, k++) {
                mastery__v1__evidence__init(&items[k]);
                snprintf(ids[k], sizeof ids[k], "n-%ld-%d-%d", l, i, j);
                items[k].evidence_id = ids[k];
                items[k].learner_id = lids[l];
                items[k].competency_id = cids[i];
                items[k].score = 0.5 + (double)(rnd() % 501) / 1000.0;
                items[k].observed_at_ms = t + (int64_t)k;
                items[k].observed_at_set = true;
                items[k].source = "bench";
            }
    }
    uint64_t t0 = bench_now_ns();
    submit_all(c, items, n);
    printf("framework: %d competencies, %d prerequisite edges, %d layers; %ld learners with "
           "%zu evidence items (stored in %.1f s)\n",
           COMPS, edges, LAYERS, learners, n, (double)(bench_now_ns() - t0) / 1e9);
    uint64_t *lat = malloc((size_t)requests * sizeof *lat);
    size_t steps = 0, items_seen = 0;
    for (int round = 0; round < 2; round++) {
        uint64_t start = bench_now_ns();
        double cpu0 = daemon_cpu_s(d.pid);
        for (int i = 0; i < requests; i++) {
            Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
            Mastery__V1__Next nx = MASTERY__V1__NEXT__INIT;
            Mastery__V1__Explain ex = MASTERY__V1__EXPLAIN__INIT;
            const char *learner = lids[rnd() % (uint64_t)learners];
            if (round == 0) {
                nx.learner_id = (char *)learner;
                req.op_case = MASTERY__V1__REQUEST__OP_NEXT;
                req.next = &nx;
            } else {
                ex.learner_id = (char *)learner;
                ex.competency_id = cids[rnd() % (uint64_t)ncomp];
                req.op_case = MASTERY__V1__REQUEST__OP_EXPLAIN;
                req.explain = &ex;
            }
            uint64_t s0 = bench_now_ns();
            Mastery__V1__Reply *rep = call_ok(c, &req,
                                              round ? MASTERY__V1__REPLY__RESULT_EXPLANATION
                                                    : MASTERY__V1__REPLY__RESULT_NEXT_STEPS,
                                              round ? "explain" : "next");
            lat[i] = bench_now_ns() - s0;
            if (round == 0)
                steps += rep->next_steps->n_steps;
            else
                items_seen += rep->explanation->n_items;
            mc_reply_free(rep);
        }
        report(round ? "explain" : "next", lat, (size_t)requests,
               (double)(bench_now_ns() - start) / 1e9);
        printf("         daemon CPU %.3f ms a request\n",
               (daemon_cpu_s(d.pid) - cpu0) * 1000.0 / requests);
    }
    printf("         (next: %.1f steps a reply; explain: %.1f items a reply)\n",
           (double)steps / requests, (double)items_seen / requests);
    mc_client_destroy(&c);
    bench_daemon_stop(&d);
    free(lat);
    free(items);
    free(ids);
    free(lids);
    free(cids);
    free(doc);
    if (sweep > 0)
        sweep_bench(sweep, clients, seconds);
    return 0;
}
