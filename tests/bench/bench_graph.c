/*
 * Benchmark: graph_parse on generated frameworks (10 000 and 100 000 competencies, each with
 * a rule and up to three prerequisites among the earlier ones, plus a children roll-up every
 * 50) and graph_find on every id. Prints medians of several runs; asserts nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static char *make_doc(uint32_t n, size_t *len)
{
    size_t cap = 256 + (size_t)n * 256;
    char *doc = malloc(cap);
    if (doc == NULL)
        return NULL;
    size_t at = (size_t)snprintf(doc, cap,
                                 "{\"id\": \"urn:bench\", \"title\": \"Bench\", "
                                 "\"competencies\": [");
    uint32_t seed = 12345;
    for (uint32_t i = 0; i < n; i++) {
        at += (size_t)snprintf(doc + at, cap - at,
                               "%s{\"id\": \"urn:comp:%08u\", \"title\": \"Competency %u\"",
                               i ? "," : "", i, i);
        if (i % 50 == 49) {
            at += (size_t)snprintf(doc + at, cap - at,
                                   ", \"rule\": {\"method\": \"children\", \"of\": "
                                   "[\"urn:comp:%08u\", \"urn:comp:%08u\"]}}",
                                   i - 1, i - 2);
            continue;
        }
        if (i >= 3) {
            uint32_t r[3];
            for (int k = 0; k < 3; k++) {
                seed = seed * 1103515245u + 12345u;
                r[k] = (seed >> 8) % i;
            }
            if (r[1] == r[0])
                r[1] = (r[0] + 1) % i;
            if (r[2] == r[0] || r[2] == r[1])
                r[2] = i - 1 != r[0] && i - 1 != r[1]   ? i - 1
                       : i - 2 != r[0] && i - 2 != r[1] ? i - 2
                                                        : i - 3;
            at += (size_t)snprintf(doc + at, cap - at,
                                   ", \"requires\": {\"at_least\": 2, \"of\": [\"urn:comp:%08u\", "
                                   "\"urn:comp:%08u\", \"urn:comp:%08u\"]}",
                                   r[0], r[1], r[2]);
        }
        at += (size_t)snprintf(doc + at, cap - at,
                               ", \"rule\": {\"method\": \"decaying_average\", \"weight\": 0.65, "
                               "\"threshold\": 0.8, \"min_evidence\": 2}}");
    }
    at += (size_t)snprintf(doc + at, cap - at, "]}");
    *len = at;
    return doc;
}

static void bench(uint32_t n, int runs)
{
    size_t len;
    char *doc = make_doc(n, &len);
    if (doc == NULL)
        return;
    double parse[32], find[32], load[32];
    for (int r = 0; r < runs; r++) {
        json_error_t jerr;
        double l0 = now_ms();
        json_t *j = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr);
        load[r] = now_ms() - l0;
        json_decref(j);
    }
    for (int r = 0; r < runs; r++) {
        graph_t *g = NULL;
        err_detail_t d;
        double t0 = now_ms();
        if (graph_parse(doc, len, &g, &d) != 0) {
            printf("refused: %s: %s\n", d.field, d.message);
            free(doc);
            return;
        }
        double t1 = now_ms();
        char id[32];
        uint32_t idx, hits = 0;
        for (uint32_t i = 0; i < n; i++) {
            snprintf(id, sizeof id, "urn:comp:%08u", i);
            hits += graph_find(g, id, &idx) == 0 && idx == i;
        }
        double t2 = now_ms();
        if (hits != n)
            printf("find mismatch\n");
        parse[r] = t1 - t0;
        find[r] = (t2 - t1) * 1e6 / n; /* ns per find, including snprintf */
        graph_destroy(&g);
    }
    qsort(parse, (size_t)runs, sizeof parse[0], cmp_double);
    qsort(find, (size_t)runs, sizeof find[0], cmp_double);
    qsort(load, (size_t)runs, sizeof load[0], cmp_double);
    printf("graph_parse %6u competencies (%.1f MB): median %.2f ms over %d runs (json_loadb "
           "alone %.2f ms); graph_find %.0f ns\n",
           n, (double)len / 1e6, parse[runs / 2], runs, load[runs / 2], find[runs / 2]);
    free(doc);
}

int main(void)
{
    bench(10000, 11);
    bench(100000, 5);
    return 0;
}
