/*
 * Shared by the benchmarks: start a real masteryd on ephemeral loopback ports in a temporary
 * directory, talk to it (libmasteryclient), read its peak RSS, and summarize latencies.
 * Header-only (static).
 */
#ifndef MASTERY_BENCH_UTIL_H
#define MASTERY_BENCH_UTIL_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "masteryclient.h"

/* Benchmarks never resend: a reply this late is an error, not a retry. */
#define BENCH_TIMEOUT_MS 600000

typedef struct bench_daemon {
    pid_t pid;
    char dir[256];
    char endpoint[256];
    char events[256];
} bench_daemon_t;

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Starts build/bin/masteryd (with config file conf, or NULL); returns 0 when it logged
 * "ready". */
static inline int bench_daemon_start_conf(bench_daemon_t *d, const char *conf)
{
    snprintf(d->dir, sizeof d->dir, "/tmp/masteryd-bench-XXXXXX");
    if (mkdtemp(d->dir) == NULL)
        return -1;
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return -1;
    d->pid = fork();
    if (d->pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        char data[300];
        snprintf(data, sizeof data, "%s/data", d->dir);
        if (conf)
            execl(MASTERY_BIN_DIR "/masteryd", "masteryd", "-d", "-c", conf, "--data", data,
                  "--listen", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*", (char *)NULL);
        else
            execl(MASTERY_BIN_DIR "/masteryd", "masteryd", "-d", "--data", data, "--listen",
                  "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*", (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    FILE *f = fdopen(pipefd[0], "r");
    char line[1024];
    int ready = 0;
    while (fgets(line, sizeof line, f)) {
        char *p;
        if ((p = strstr(line, "requests on ")))
            sscanf(p + 12, "%255s", d->endpoint);
        if ((p = strstr(line, "events on ")))
            sscanf(p + 10, "%255s", d->events);
        if (strstr(line, "ready")) {
            ready = 1;
            break;
        }
    }
    /* Keep draining the daemon's log in a child so it never blocks on the pipe. */
    if (fork() == 0) {
        while (fgets(line, sizeof line, f))
            ;
        _exit(0);
    }
    fclose(f);
    return ready ? 0 : -1;
}

static inline int bench_daemon_start(bench_daemon_t *d)
{
    return bench_daemon_start_conf(d, NULL);
}

/* Peak resident set of the daemon, in KiB (VmHWM). */
static inline long bench_daemon_peak_rss_kb(const bench_daemon_t *d)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)d->pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static inline void bench_daemon_stop(bench_daemon_t *d)
{
    kill(d->pid, SIGTERM);
    waitpid(d->pid, NULL, 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", d->dir);
}

/*
 * A client of the daemon at endpoint (events: its event endpoint, or NULL), with unbounded
 * queues (a benchmark must never block on a high-water mark) and no resends. Exits on failure.
 */
static inline mc_client_t *bench_connect(const char *endpoint, const char *events)
{
    mc_options_t opt = {.endpoint = endpoint,
                        .events_endpoint = events,
                        .timeout_ms = BENCH_TIMEOUT_MS,
                        .queue_limit = MC_QUEUE_UNLIMITED};
    mc_client_t *c = NULL;
    err_detail_t d;
    if (mc_client_new(&opt, &c, &d) != 0) {
        fprintf(stderr, "bench: %s\n", d.message);
        exit(1);
    }
    return c;
}

/* Sends a request once and waits for its reply. Caller frees the reply (mc_reply_free); NULL
 * when none came. */
static inline Mastery__V1__Reply *bench_call(mc_client_t *c, Mastery__V1__Request *req)
{
    Mastery__V1__Reply *rep = NULL;
    err_detail_t d;
    return mc_call(c, req, 1, &rep, &d) == 0 ? rep : NULL;
}

static inline char *bench_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

static inline int bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of n > 0 samples, sorted in place. */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return v[n / 2];
}

/* Percentile (0..100) of n samples, sorted in place. */
static inline double bench_pct_ms(uint64_t *ns, size_t n, double pct)
{
    if (n == 0)
        return 0.0;
    qsort(ns, n, sizeof *ns, bench_cmp_u64);
    size_t i = (size_t)(pct / 100.0 * (double)(n - 1));
    return (double)ns[i] / 1e6;
}

#endif
