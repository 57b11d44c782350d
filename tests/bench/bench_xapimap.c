/*
 * bench_xapimap: the client side of `masteryctl xapi import` alone, without a daemon: parse
 * (jansson) and map (xapi_map_statement) N generated LMS-like statements, and the same for N
 * evidence lines (jansson only), so the xAPI path's own cost can be read beside the daemon's
 * ingestion rate that tests/bench/bench_xapi.sh measures. Prints the median of 5 runs.
 *
 *     bench_xapimap [N]      (default 100000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xapi.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char MAPPING[] =
    "{\"activities\": {\"https://quiz.example.org/q/equivalent\": \"frac.equivalent\","
    " \"https://quiz.example.org/q/compare\": \"frac.compare\","
    " \"https://quiz.example.org/q/add-like\": \"frac.add-like\"},"
    " \"learners\": {\"account\": [{\"homePage\": \"https://lms.example.org\", \"use\": "
    "\"name\"}]}, \"source\": \"bench\"}";

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    if (n <= 0)
        n = 100000;
    static const char *const comps[] = {"equivalent", "compare", "add-like"};
    char **st = calloc((size_t)n, sizeof *st), **ev = calloc((size_t)n, sizeof *ev);
    xapi_map_t *map = NULL;
    if (st == NULL || ev == NULL || xapi_map_parse(MAPPING, sizeof MAPPING - 1, &map, NULL) != 0)
        return 1;
    srand(42);
    for (long i = 0; i < n; i++) {
        char buf[1024];
        int learner = rand() % 2000;
        const char *c = comps[rand() % 3];
        double scaled = (double)(rand() % 1000) / 1000.0;
        snprintf(buf, sizeof buf,
                 "{\"id\": \"00000001-%04lx-4%03lx-8000-%012lx\", \"actor\": {\"objectType\": "
                 "\"Agent\", \"name\": \"s-%04d\", \"account\": {\"homePage\": "
                 "\"https://lms.example.org\", \"name\": \"s-%04d\"}}, \"verb\": {\"id\": "
                 "\"http://adlnet.gov/expapi/verbs/scored\", \"display\": {\"en-US\": "
                 "\"scored\"}}, \"object\": {\"objectType\": \"Activity\", \"id\": "
                 "\"https://quiz.example.org/q/%s\", \"definition\": {\"name\": {\"en-US\": "
                 "\"Quiz %s\"}}}, \"result\": {\"score\": {\"scaled\": %.3f, \"raw\": %.2f, "
                 "\"min\": 0, \"max\": 10}, \"success\": %s, \"completion\": true}, "
                 "\"context\": {\"platform\": \"bench\", \"contextActivities\": {\"grouping\": "
                 "[{\"id\": \"https://quiz.example.org/course/fractions\"}]}}, \"timestamp\": "
                 "\"2026-11-20T10:%02ld:%02ldZ\", \"version\": \"1.0.3\"}",
                 (i >> 16) & 0xffff, i & 0xfff, i, learner, learner, c, c, scaled, scaled * 10,
                 scaled >= 0.8 ? "true" : "false", i / 60 % 60, i % 60);
        st[i] = strdup(buf);
        snprintf(buf, sizeof buf,
                 "{\"id\": \"ev-%ld\", \"learner\": \"s-%04d\", \"competency\": \"frac.%s\", "
                 "\"score\": %.3f, \"outcome\": \"%s\", \"observed_at\": "
                 "\"2026-11-20T10:%02ld:%02ldZ\", \"source\": \"bench\"}",
                 i, learner, c, scaled, scaled >= 0.8 ? "passed" : "failed", i / 60 % 60, i % 60);
        ev[i] = strdup(buf);
    }
    double xr[5], er[5];
    long mapped = 0;
    for (int run = 0; run < 5; run++) {
        double t0 = now_s();
        mapped = 0;
        for (long i = 0; i < n; i++) {
            json_t *js = json_loads(st[i], JSON_REJECT_DUPLICATES, NULL);
            xapi_item_t it;
            mapped += js != NULL && xapi_map_statement(map, js, &it) == XAPI_EVIDENCE;
            json_decref(js);
        }
        xr[run] = (double)n / (now_s() - t0);
        t0 = now_s();
        for (long i = 0; i < n; i++)
            json_decref(json_loads(ev[i], JSON_REJECT_DUPLICATES, NULL));
        er[run] = (double)n / (now_s() - t0);
    }
    qsort(xr, 5, sizeof xr[0], cmp_double);
    qsort(er, 5, sizeof er[0], cmp_double);
    printf("%ld statements (%ld mapped to evidence): parse+map %.0f statements/s; evidence "
           "lines parse %.0f lines/s (medians of 5)\n",
           n, mapped, xr[2], er[2]);
    for (long i = 0; i < n; i++) {
        free(st[i]);
        free(ev[i]);
    }
    free(st);
    free(ev);
    xapi_map_destroy(&map);
    return 0;
}
