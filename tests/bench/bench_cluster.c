/*
 * bench_cluster: what cluster mode's NATS side costs (daemon/cluster.h), alone, no LMDB: how
 * many one-item messages per second cluster_publish gets acknowledged by JetStream (calls of
 * 1 message: a tool's lone item, each waiting for its ack; and calls of 100 and 1000: the
 * server's batches), and how many per second come back through cluster_take and are
 * acknowledged by cluster_done. Payloads are 200 bytes (about a packed ClusterItem). Prints
 * each run and the median of the runs.
 *
 *   build/bin/bench_cluster [-n N] [-r RUNS] [-R REPLICAS] [-p PARTITIONS] [URLS]
 *
 * Without URLS it starts a nats-server (-js, a temporary store) on a free loopback port; with
 * URLS (comma-separated, e.g. a 3-node cluster for -R 3) it uses those. Each run uses a stream
 * of its own (prefix benchN), left in place.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "conf.h"
#include "err.h"

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

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Starts nats-server -js on a free loopback port; returns its pid, the URL in url. */
static pid_t start_nats(char *dir, char *url, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    close(fd);
    int port = ntohs(sa.sin_port);
    if (mkdtemp(dir) == NULL)
        return -1;
    char ports[16];
    snprintf(ports, sizeof ports, "%d", port);
    snprintf(url, cap, "nats://127.0.0.1:%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execlp("nats-server", "nats-server", "-a", "127.0.0.1", "-p", ports, "-js", "-sd", dir,
               (char *)NULL);
        execl("/usr/sbin/nats-server", "nats-server", "-a", "127.0.0.1", "-p", ports, "-js", "-sd",
              dir, (char *)NULL);
        _exit(127);
    }
    sa.sin_port = htons((uint16_t)port);
    for (int i = 0; i < 500; i++) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        close(fd);
        if (ok)
            return pid;
        usleep(20000);
    }
    return -1;
}

int main(int argc, char **argv)
{
    long n = 10000, runs = 5, replicas = 1, partitions = 12;
    const char *urls = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "-n") == 0)
            n = strtol(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "-r") == 0)
            runs = strtol(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "-R") == 0)
            replicas = strtol(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "-p") == 0)
            partitions = strtol(argv[++i], NULL, 10);
        else
            urls = argv[i];
    }
    if (n < 1 || runs < 1 || runs > 50 || replicas < 1 || partitions < 1 || partitions > 1024) {
        fprintf(stderr, "usage: bench_cluster [-n N] [-r RUNS] [-R REPLICAS] [-p PARTS] [URLS]\n");
        return 2;
    }
    char dir[] = "/tmp/bench-cluster-XXXXXX", url[128];
    pid_t pid = -1;
    if (urls == NULL) {
        pid = start_nats(dir, url, sizeof url);
        if (pid < 0) {
            fprintf(stderr, "bench_cluster: cannot start nats-server\n");
            return 1;
        }
        urls = url;
    }
    cluster_pub_t *pubs = calloc((size_t)n, sizeof *pubs);
    char(*ids)[32] = calloc((size_t)n, sizeof *ids);
    cluster_entry_t *got = calloc(4096, sizeof *got);
    uint8_t payload[200];
    memset(payload, 'x', sizeof payload);
    static const long batches[] = {1, 100, 1000};
    enum { NB = sizeof batches / sizeof batches[0] };
    double rate[NB + 1][50];
    printf("bench_cluster: %ld one-item messages of %zu bytes, R%ld, %ld partitions, %s\n", n,
           sizeof payload, replicas, partitions, urls);
    for (long r = 0; r < runs; r++) {
        conf_t conf;
        conf_defaults(&conf);
        snprintf(conf.cluster_nats, sizeof conf.cluster_nats, "%s", urls);
        snprintf(conf.cluster_prefix, sizeof conf.cluster_prefix, "bench%ld-%ld", (long)getpid(),
                 r);
        conf.cluster_replicas = (uint64_t)replicas;
        conf.cluster_partitions = (uint64_t)partitions;
        cluster_t *c = NULL;
        err_detail_t d;
        int rc = cluster_new(&conf, "tcp://127.0.0.1:1", &c, &d);
        if (rc != 0) {
            fprintf(stderr, "cluster_new: %s %s: %s\n", err_str(rc), d.field, d.message);
            return 1;
        }
        long total = 0;
        for (int b = 0; b < NB; b++) {
            for (long i = 0; i < n; i++) {
                snprintf(ids[i], sizeof ids[i], "r%ld-b%d-%ld", r, b, i);
                pubs[i] = (cluster_pub_t){.partition = (uint32_t)(i % partitions),
                                          .msg_id = ids[i],
                                          .data = payload,
                                          .len = sizeof payload};
            }
            double t0 = now_s();
            for (long i = 0; i < n; i += batches[b]) {
                size_t k = (size_t)(n - i < batches[b] ? n - i : batches[b]);
                cluster_publish(c, pubs + i, k, 10000);
            }
            double dt = now_s() - t0;
            for (long i = 0; i < n; i++)
                if (pubs[i].status != 0) {
                    fprintf(stderr, "bench_cluster: message %ld: %s\n", i, err_str(pubs[i].status));
                    return 1;
                }
            rate[b][r] = (double)n / dt;
            total += n;
        }
        /* consume everything: answer the claims from 1, take and acknowledge */
        long msgs = 0;
        double t0 = 0;
        for (double end = now_s() + 120; msgs < total && now_s() < end;) {
            struct pollfd pfd = {.fd = cluster_fd(c), .events = POLLIN};
            poll(&pfd, 1, 100);
            size_t k = cluster_take(c, got, 4096, 1 << 20);
            for (size_t i = 0; i < k; i++) {
                if (got[i].kind == CLUSTER_CLAIM) {
                    cluster_start(c, got[i].partition, got[i].epoch, 1);
                } else {
                    if (msgs++ == 0)
                        t0 = now_s();
                }
            }
            cluster_done(c, got, k, true);
        }
        rate[NB][r] = msgs > 1 ? (double)(msgs - 1) / (now_s() - t0) : 0;
        printf("run %ld: publish msgs/s: calls of 1: %.0f, of 100: %.0f, of 1000: %.0f; "
               "take+ack msgs/s: %.0f (%ld of %ld)\n",
               r + 1, rate[0][r], rate[1][r], rate[2][r], rate[NB][r], msgs, total);
        cluster_destroy(&c);
    }
    for (int b = 0; b <= NB; b++)
        qsort(rate[b], (size_t)runs, sizeof rate[b][0], cmp_double);
    printf("median of %ld: publish msgs/s: calls of 1: %.0f, of 100: %.0f, of 1000: %.0f; "
           "take+ack msgs/s: %.0f\n",
           runs, rate[0][runs / 2], rate[1][runs / 2], rate[2][runs / 2], rate[NB][runs / 2]);
    free(pubs);
    free(ids);
    free(got);
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    return 0;
}
