/*
 * bench_ingest: durable evidence ingestion through the real daemon.
 *
 * Starts masteryd (or uses --endpoint), loads the example fractions framework, then runs
 * CLIENTS libmasteryclient clients, each in its own thread with its own window of requests in
 * flight (sent once, never resent), over LEARNERS random learners:
 *   closed loop (default): each client keeps --window requests in flight, as fast as acks come;
 *   open loop (--rate R):   the clients together offer R evidence/s on a fixed schedule, and
 *                           latency is measured from the scheduled send time (no coordinated
 *                           omission); the window has no limit.
 * A live subscription (mc_sub, no gap-fill: PUB as it comes) listens for "unlocked/" events;
 * each event names the evidence that caused it, whose id carries its send time, giving
 * evidence-to-unlock-event latency.
 * Prints durable evidence/s, ack latency p50/p99, unlock latency p50/p99, daemon peak RSS.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>

#include "bench_util.h"

static const char *const comps[] = {
    "frac.equivalent",      "frac.compare",        "frac.common-denominator",
    "frac.add-like",        "frac.subtract-like",  "frac.add-unlike",
    "frac.subtract-unlike", "frac.mixed-numbers",  "frac.word-problems-add",
    "frac.as-division",     "frac.multiply-whole", "frac.multiply-fractions",
    "frac.scaling",         "frac.divide-unit",
};
#define N_COMPS (sizeof comps / sizeof comps[0])

typedef struct opts {
    int clients, window, batch, seconds;
    long learners;
    double rate;
    const char *endpoint, *events, *conf;
    const char *framework;  /* framework file (default: the fractions example) */
    const char *competency; /* one competency for every item (default: the fractions ones) */
} opts_t;

/* The send (or scheduled) times of the requests in flight, oldest first: the window hands
 * replies back in send order, so the oldest stamp is the next reply's. */
typedef struct stamps {
    uint64_t *v;
    size_t cap, head, n;
} stamps_t;

typedef struct client {
    pthread_t thread;
    int no;
    const opts_t *o;
    const char *endpoint;
    uint64_t acked, sent_items, errors;
    uint64_t *lat; /* ack latencies, ns */
    size_t n_lat, cap_lat;
    stamps_t stamps;
    struct scratch *scratch;
} client_t;

static volatile int stop_sending;
static unsigned run_nonce;

static void lat_add(uint64_t **a, size_t *n, size_t *cap, uint64_t v)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 65536;
        *a = realloc(*a, *cap * sizeof **a);
    }
    (*a)[(*n)++] = v;
}

static void stamps_push(stamps_t *s, uint64_t stamp)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        uint64_t *v = malloc(cap * sizeof *v);
        for (size_t i = 0; i < s->n; i++)
            v[i] = s->v[(s->head + i) % s->cap];
        free(s->v);
        s->v = v;
        s->cap = cap;
        s->head = 0;
    }
    s->v[(s->head + s->n++) % s->cap] = stamp;
}

static uint64_t stamps_pop(stamps_t *s)
{
    uint64_t stamp = s->v[s->head];
    s->head = (s->head + 1) % s->cap;
    s->n--;
    return stamp;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Most items per request: masteryd's max_batch_items default (daemon/conf.c). */
#define MAX_BATCH 1000

/* One request's items, reused: MAX_BATCH of them are too big for a thread's stack. */
typedef struct scratch {
    Mastery__V1__Evidence items[MAX_BATCH], *ptrs[MAX_BATCH];
    char ids[MAX_BATCH][96], learners[MAX_BATCH][32];
} scratch_t;

/* Sends one request of o->batch items, stamped with its send (or scheduled) time. */
static void send_request(client_t *c, mc_window_t *w, uint64_t *rng, uint64_t stamp, uint64_t seq)
{
    scratch_t *sc = c->scratch;
    Mastery__V1__Evidence *items = sc->items, **ptrs = sc->ptrs;
    char(*ids)[96] = sc->ids, (*learners)[32] = sc->learners;
    int b = c->o->batch;
    for (int j = 0; j < b; j++) {
        mastery__v1__evidence__init(&items[j]);
        snprintf(ids[j], sizeof ids[j], "b-%u-%d-%" PRIu64 "-%d-%" PRIu64, run_nonce, c->no, seq, j,
                 stamp);
        snprintf(learners[j], sizeof learners[j], "L%ld",
                 (long)(xorshift(rng) % (uint64_t)c->o->learners));
        items[j].evidence_id = ids[j];
        items[j].learner_id = learners[j];
        items[j].competency_id =
            c->o->competency ? (char *)c->o->competency : (char *)comps[xorshift(rng) % N_COMPS];
        items[j].score = 0.55 + (double)(xorshift(rng) % 450) / 1000.0;
        items[j].source = "bench";
        ptrs[j] = &items[j];
    }
    Mastery__V1__SubmitEvidence sub = MASTERY__V1__SUBMIT_EVIDENCE__INIT;
    sub.items = ptrs;
    sub.n_items = (size_t)b;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE;
    req.submit_evidence = &sub;
    err_detail_t d;
    stamps_push(&c->stamps, stamp);
    if (mc_window_send(w, &req, 1, NULL, &d) != 0) {
        fprintf(stderr, "bench_ingest: %s\n", d.message);
        exit(1);
    }
    c->sent_items += (uint64_t)b;
}

/* Receives at most one reply (waiting up to timeout_ms) and takes what is answered; returns
 * how many replies were taken. */
static size_t recv_reply(client_t *c, mc_window_t *w, int timeout_ms)
{
    err_detail_t d;
    if (mc_window_wait(w, timeout_ms, NULL, &d) != 0)
        c->errors++;
    uint64_t now = bench_now_ns();
    size_t n = 0;
    void *tag;
    Mastery__V1__Reply *rep;
    while (mc_window_take(w, &tag, &rep)) {
        uint64_t stamp = stamps_pop(&c->stamps);
        if (rep->result_case == MASTERY__V1__REPLY__RESULT_EVIDENCE_RESULTS)
            c->acked += rep->evidence_results->accepted;
        else
            c->errors++;
        lat_add(&c->lat, &c->n_lat, &c->cap_lat, now - stamp);
        mc_reply_free(rep);
        n++;
    }
    return n;
}

static void *client_main(void *arg)
{
    client_t *c = arg;
    mc_client_t *mc = bench_connect(c->endpoint, NULL);
    mc_window_t *w = NULL;
    if ((c->scratch = malloc(sizeof *c->scratch)) == NULL)
        exit(1);
    /* Closed loop: the window is the limit. Open loop: none, requests go out on schedule. */
    if (mc_window_new(mc, c->o->rate <= 0 ? (size_t)c->o->window : SIZE_MAX, &w) != 0)
        exit(1);
    uint64_t rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)c->no << 32) ^ run_nonce;
    uint64_t seq = 0;
    if (c->o->rate <= 0) {
        while (!stop_sending) {
            while (mc_window_count(w) < (size_t)c->o->window)
                send_request(c, w, &rng, bench_now_ns(), seq++);
            recv_reply(c, w, 100);
        }
    } else {
        double per_client = c->o->rate / c->o->clients / c->o->batch; /* requests/s */
        uint64_t interval = (uint64_t)(1e9 / per_client);
        uint64_t next = bench_now_ns() + interval * (uint64_t)c->no / (uint64_t)c->o->clients;
        while (!stop_sending) {
            uint64_t now = bench_now_ns();
            if (now >= next) {
                send_request(c, w, &rng, next, seq++);
                next += interval;
                continue;
            }
            /* zmq_poll has millisecond resolution: under a millisecond, sleep instead of
             * spinning (8 spinning clients would starve the daemon of both cores). With
             * nothing in flight the window does not wait, so sleep then too. */
            uint64_t wait = next - now;
            if (wait < 1000000) {
                while (mc_window_count(w) > 0 && recv_reply(c, w, 0) > 0)
                    ;
                usleep((useconds_t)(wait / 1000));
            } else if (mc_window_count(w) > 0) {
                recv_reply(c, w, (int)(wait / 1000000));
            } else {
                usleep((useconds_t)(wait / 1000));
            }
        }
    }
    uint64_t deadline = bench_now_ns() + 10000000000ull;
    while (mc_window_count(w) > 0 && bench_now_ns() < deadline)
        recv_reply(c, w, 100);
    mc_window_destroy(&w);
    mc_client_destroy(&mc);
    free(c->stamps.v);
    free(c->scratch);
    return NULL;
}

typedef struct sub_state {
    mc_sub_t *sub; /* made by main, used only by this thread from pthread_create on */
    uint64_t *lat;
    size_t n_lat, cap_lat;
    volatile int stop;
} sub_state_t;

static void *sub_main(void *arg)
{
    sub_state_t *s = arg;
    while (!s->stop) {
        Mastery__V1__Event *e = NULL;
        err_detail_t d;
        if (mc_sub_recv(s->sub, 100, &e, &d) <= 0)
            continue;
        uint64_t now = bench_now_ns();
        if (e->kind_case == MASTERY__V1__EVENT__KIND_UNLOCKED) {
            const char *last = strrchr(e->unlocked->evidence_id, '-');
            if (last && strncmp(e->unlocked->evidence_id, "b-", 2) == 0)
                lat_add(&s->lat, &s->n_lat, &s->cap_lat, now - strtoull(last + 1, NULL, 10));
        }
        mc_event_free(e);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    opts_t o = {8, 64, 1, 5, 100000, 0, NULL, NULL, NULL, NULL, NULL};
    static const struct option lo[] = {
        {"clients", required_argument, NULL, 'c'},    {"window", required_argument, NULL, 'w'},
        {"batch", required_argument, NULL, 'b'},      {"seconds", required_argument, NULL, 's'},
        {"learners", required_argument, NULL, 'l'},   {"rate", required_argument, NULL, 'r'},
        {"endpoint", required_argument, NULL, 'e'},   {"events", required_argument, NULL, 'E'},
        {"conf", required_argument, NULL, 'C'},       {"framework", required_argument, NULL, 'F'},
        {"competency", required_argument, NULL, 'K'}, {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'c':
            o.clients = atoi(optarg);
            break;
        case 'w':
            o.window = atoi(optarg);
            break;
        case 'b':
            o.batch = atoi(optarg);
            break;
        case 's':
            o.seconds = atoi(optarg);
            break;
        case 'l':
            o.learners = atol(optarg);
            break;
        case 'r':
            o.rate = atof(optarg);
            break;
        case 'e':
            o.endpoint = optarg;
            break;
        case 'E':
            o.events = optarg;
            break;
        case 'C':
            o.conf = optarg;
            break;
        case 'F':
            o.framework = optarg;
            break;
        case 'K':
            o.competency = optarg;
            break;
        default:
            fprintf(stderr, "usage: bench_ingest [--clients N] [--window N] [--batch N] "
                            "[--seconds N] [--learners N] [--rate EVIDENCE_PER_S] "
                            "[--conf MASTERYD_CONF] [--framework FILE --competency ID]\n"
                            "       [--endpoint EP --events EP]\n");
            return 2;
        }
    }
    if (o.batch < 1 || o.batch > MAX_BATCH || o.clients < 1 || o.clients > 64) {
        fprintf(stderr, "bench_ingest: batch must be 1..%d and clients 1..64\n", MAX_BATCH);
        return 2;
    }
    run_nonce = (unsigned)getpid() ^ (unsigned)time(NULL);
    bench_daemon_t d = {0};
    if (o.endpoint == NULL) {
        if (bench_daemon_start_conf(&d, o.conf) != 0) {
            fprintf(stderr, "bench_ingest: masteryd did not start\n");
            return 1;
        }
        o.endpoint = d.endpoint;
        o.events = d.events;
    }
    /* Load the example framework. */
    mc_client_t *ctl = bench_connect(o.endpoint, o.events);
    char *doc = bench_read_file(
        o.framework ? o.framework : MASTERY_SOURCE_DIR "/schemas/examples/fractions.json", NULL);
    if (doc == NULL) {
        fprintf(stderr, "bench_ingest: cannot read the framework file\n");
        return 1;
    }
    Mastery__V1__PutFramework put = MASTERY__V1__PUT_FRAMEWORK__INIT;
    put.json = doc;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_PUT_FRAMEWORK;
    req.put_framework = &put;
    Mastery__V1__Reply *rep = bench_call(ctl, &req);
    if (rep == NULL || rep->status->code != 0) {
        fprintf(stderr, "bench_ingest: framework load failed\n");
        return 1;
    }
    mc_reply_free(rep);
    free(doc);

    sub_state_t sub = {0};
    err_detail_t why;
    if (mc_sub_new(ctl, "unlocked/", 0, &sub.sub, &why) != 0) {
        fprintf(stderr, "bench_ingest: %s\n", why.message);
        return 1;
    }
    pthread_t sub_thread;
    pthread_create(&sub_thread, NULL, sub_main, &sub);
    usleep(300000); /* PUB/SUB slow joiner */

    client_t *cl = calloc((size_t)o.clients, sizeof *cl);
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < o.clients; i++) {
        cl[i].no = i;
        cl[i].o = &o;
        cl[i].endpoint = o.endpoint;
        pthread_create(&cl[i].thread, NULL, client_main, &cl[i]);
    }
    sleep((unsigned)o.seconds);
    stop_sending = 1;
    uint64_t acked = 0, errors = 0;
    uint64_t *lat = NULL;
    size_t n_lat = 0, cap_lat = 0;
    for (int i = 0; i < o.clients; i++) {
        pthread_join(cl[i].thread, NULL);
        acked += cl[i].acked;
        errors += cl[i].errors;
        for (size_t k = 0; k < cl[i].n_lat; k++)
            lat_add(&lat, &n_lat, &cap_lat, cl[i].lat[k]);
        free(cl[i].lat);
    }
    double secs = (double)(bench_now_ns() - t0) / 1e9;
    usleep(500000);
    sub.stop = 1;
    pthread_join(sub_thread, NULL);
    mc_sub_destroy(&sub.sub);

    Mastery__V1__Health hq = MASTERY__V1__HEALTH__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_HEALTH;
    req.health = &hq;
    rep = bench_call(ctl, &req);
    printf("bench_ingest: %s, %d clients, batch %d, %ld learners, %.1f s\n",
           o.rate > 0 ? "open loop" : "closed loop", o.clients, o.batch, o.learners, secs);
    if (o.rate > 0)
        printf("  offered            %.0f evidence/s\n", o.rate);
    printf("  durable            %.0f evidence/s (%" PRIu64 " acked, %" PRIu64 " errors)\n",
           (double)acked / secs, acked, errors);
    printf("  ack latency        p50 %.3f ms  p99 %.3f ms  (%zu requests)\n",
           bench_pct_ms(lat, n_lat, 50), bench_pct_ms(lat, n_lat, 99), n_lat);
    printf("  evidence->unlock   p50 %.3f ms  p99 %.3f ms  (%zu unlock events)\n",
           bench_pct_ms(sub.lat, sub.n_lat, 50), bench_pct_ms(sub.lat, sub.n_lat, 99), sub.n_lat);
    if (rep && rep->health)
        printf("  commits            %" PRIu64 " (%.1f requests per commit)\n",
               rep->health->commits,
               rep->health->commits ? (double)n_lat / (double)rep->health->commits : 0.0);
    mc_reply_free(rep);
    if (d.pid > 0) {
        printf("  daemon peak RSS    %ld KiB\n", bench_daemon_peak_rss_kb(&d));
        bench_daemon_stop(&d);
    }
    free(lat);
    free(sub.lat);
    free(cl);
    mc_client_destroy(&ctl);
    return 0;
}
