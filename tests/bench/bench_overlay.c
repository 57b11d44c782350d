/*
 * bench_overlay: the write-behind buffer's operations (overlay.h), in process, at a given
 * number of nodes, 40-byte keys (a shared 8-byte prefix, then random hex: inserted in random
 * order) and 100-byte values. Each figure is the median of RUNS runs, in ns per operation:
 *
 *   put      a new key, all N in one transaction (undo log growing to N entries)
 *   replace  a put over an existing key (settled), in random order
 *   encode   overlay_record_size + overlay_record_encode of the N-entry record, per entry
 *   apply    overlay_record_apply of that record into a fresh overlay, per entry
 *   get-hit  overlay_get of a present key, random order
 *   get-miss overlay_get of an absent key (same shape), random order
 *   seek+20  overlay_seek to a present key and 20 overlay_next
 *
 * and the bytes overlay_bytes counts per node (settled).
 *
 *     bench_overlay [RUNS [N...]]    defaults 5 runs at 10000 and 1000000 nodes
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "overlay.h"
#include "bench_util.h"

enum { KLEN = 40, VLEN = 100, WALK = 20, MAX_RUNS = 64 };

enum { OP_PUT, OP_REPLACE, OP_ENCODE, OP_APPLY, OP_HIT, OP_MISS, OP_SEEK, OP_N };
static const char *const op_names[OP_N] = {"put",     "replace",  "encode", "apply",
                                           "get-hit", "get-miss", "seek+20"};

/* CPU time, not wall time: the benchmark machine is shared, and a descheduled process would
 * count its wait as the overlay's. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* n keys of KLEN bytes: "learner/" and 32 random hex digits. */
static uint8_t *make_keys(size_t n, uint64_t seed)
{
    uint8_t *keys = malloc(n * KLEN);
    if (keys == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char text[KLEN + 1];
        uint64_t a = splitmix(&seed), b = splitmix(&seed);
        snprintf(text, sizeof text, "learner/%016llx%016llx", (unsigned long long)a,
                 (unsigned long long)b);
        memcpy(keys + i * KLEN, text, KLEN);
    }
    return keys;
}

/* A random permutation of 0..n-1. */
static size_t *make_order(size_t n, uint64_t seed)
{
    size_t *order = malloc(n * sizeof *order);
    if (order == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = splitmix(&seed) % i, t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    return order;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_overlay: %s\n", what);
    exit(1);
}

/* One run at n nodes: ns per operation into ns[OP_N]; bytes per node into *per_node. */
static void run(size_t n, uint64_t seed, double *ns, double *per_node)
{
    uint8_t *keys = make_keys(n, seed), *absent = make_keys(n, seed ^ 0x5555);
    size_t *order = make_order(n, seed + 1);
    uint8_t val[VLEN];
    memset(val, 'v', sizeof val);
    overlay_t *ov = overlay_new(4, NULL, NULL), *replay = overlay_new(4, NULL, NULL);
    if (keys == NULL || absent == NULL || order == NULL || ov == NULL || replay == NULL)
        die("out of memory");

    uint64_t t = now_ns();
    for (size_t i = 0; i < n; i++)
        if (overlay_put(ov, 1, keys + i * KLEN, KLEN, val, VLEN) != 0)
            die("put");
    ns[OP_PUT] = (double)(now_ns() - t) / (double)n;

    t = now_ns();
    size_t len = overlay_record_size(ov);
    uint8_t *rec = malloc(len);
    if (rec == NULL)
        die("out of memory");
    overlay_record_encode(ov, rec);
    ns[OP_ENCODE] = (double)(now_ns() - t) / (double)n;
    overlay_settle(ov);
    *per_node = (double)overlay_bytes(ov) / (double)n;

    t = now_ns();
    if (overlay_record_apply(replay, rec, len) != 0)
        die("apply");
    ns[OP_APPLY] = (double)(now_ns() - t) / (double)n;
    if (overlay_nodes(replay) != n)
        die("apply: node count");

    const void *v;
    size_t vlen;
    size_t found = 0;
    t = now_ns();
    for (size_t i = 0; i < n; i++)
        found += overlay_get(ov, 1, keys + order[i] * KLEN, KLEN, &v, &vlen) == OV_VALUE;
    ns[OP_HIT] = (double)(now_ns() - t) / (double)n;
    if (found != n)
        die("get: a key is missing");

    t = now_ns();
    for (size_t i = 0; i < n; i++)
        found += overlay_get(ov, 1, absent + order[i] * KLEN, KLEN, &v, &vlen) != OV_ABSENT;
    ns[OP_MISS] = (double)(now_ns() - t) / (double)n;
    if (found != n)
        die("get: an absent key was found");

    size_t seeks = n < 200000 ? n : 200000, walked = 0;
    t = now_ns();
    for (size_t i = 0; i < seeks; i++) {
        const ov_node_t *node = overlay_seek(ov, 1, keys + order[i] * KLEN, KLEN);
        for (int k = 0; k < WALK && node; k++, walked++)
            node = overlay_next(node);
    }
    ns[OP_SEEK] = (double)(now_ns() - t) / (double)seeks;
    if (walked == 0)
        die("seek: nothing walked");

    /* Replacing settled values in transactions of 1000, settled as the store would. */
    t = now_ns();
    for (size_t i = 0; i < n; i++) {
        if (overlay_put(ov, 1, keys + order[i] * KLEN, KLEN, val, VLEN - 1) != 0)
            die("replace");
        if (i % 1000 == 999)
            overlay_settle(ov);
    }
    overlay_settle(ov);
    ns[OP_REPLACE] = (double)(now_ns() - t) / (double)n;

    free(rec);
    free(keys);
    free(absent);
    free(order);
    overlay_free(&ov);
    overlay_free(&replay);
}

static void bench(size_t n, int runs)
{
    double ns[OP_N][MAX_RUNS], bytes[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        double one[OP_N];
        run(n, 1000 + (uint64_t)r, one, &bytes[r]);
        for (int op = 0; op < OP_N; op++)
            ns[op][r] = one[op];
    }
    printf("%8zu nodes:", n);
    for (int op = 0; op < OP_N; op++)
        printf("  %s %.0f", op_names[op], bench_median(ns[op], runs));
    printf("  ns/op;  %.0f bytes/node\n", bench_median(bytes, runs));
}

int main(int argc, char **argv)
{
    long runs = argc > 1 ? strtol(argv[1], NULL, 10) : 5;
    if (runs < 1 || runs > MAX_RUNS)
        die("RUNS: 1..64");
    printf("bench_overlay: %d-byte keys, %d-byte values, medians of %ld runs\n", KLEN, VLEN, runs);
    for (int i = 2; i < argc; i++) {
        size_t n = strtoul(argv[i], NULL, 10);
        if (n == 0)
            die("N: a number of nodes");
        bench(n, (int)runs);
    }
    if (argc <= 2) {
        bench(10000, (int)runs);
        bench(1000000, (int)runs);
    }
    return 0;
}
