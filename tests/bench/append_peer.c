/*
 * append_peer: the append-only limit that masteryd's ingestion is measured against (issue 12).
 *
 * A server that speaks just enough of masteryd's wire protocol for bench_ingest: a ZeroMQ
 * ROUTER takes [routing id][""][Request] (proto/mastery/v1), decodes it with the same
 * protobuf-c code as the daemon, and answers [routing id][""][Reply] with the request's id.
 * SubmitEvidence items are appended, each as its packed protobuf bytes, to one LMDB database
 * under sequential u64 keys (MDB_APPEND: no B-tree search, pages filled to the brim), in group
 * commits: up to --max-group waiting requests (masteryd's max_group default), one write
 * transaction, fully synced by default like the daemon's store, then every reply. That is the
 * least a durable ingester on this stack can do: no validation, no idempotency index, no rules,
 * no learner state, no events. Health and PutFramework are answered OK (so bench_ingest runs
 * unchanged); anything else is refused. A PUB socket is bound so bench_ingest can subscribe;
 * nothing is ever published on it.
 *
 *   append_peer [--endpoint EP] [--events EP] [--data DIR] [--max-group N] [--map-size BYTES]
 *               [--nosync]
 *
 * Prints "requests on EP", "events on EP" and "ready" on stderr, as masteryd does; SIGTERM or
 * SIGINT stop it, printing what it stored. Without --data it works in a temporary directory
 * that it removes at exit.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "mastery/v1/mastery.pb-c.h"

#define MAX_RID 256

/* One request of the group being collected: who sent it, and what. */
typedef struct pending {
    uint8_t rid[MAX_RID];
    size_t rid_len;
    Mastery__V1__Request *req; /* NULL: undecodable, answered INVALID */
} pending_t;

static volatile sig_atomic_t stop;
static uint64_t n_requests, n_items, n_commits, last_key;
static char events_bound[256];

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

_Noreturn static void die_mdb(const char *what, int rc)
{
    fprintf(stderr, "append_peer: %s: %s\n", what, mdb_strerror(rc));
    exit(1);
}

/* Receives one [rid][""][payload] message without waiting; 0 when there was none. Malformed
 * envelopes (no delimiter, extra frames) are answered INVALID like undecodable payloads. */
static int receive_one(void *router, pending_t *p)
{
    zmq_msg_t m[3];
    int kept = 0, more = 1, extra = 0;
    while (more) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, router, kept == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&f);
            for (int i = 0; i < kept; i++)
                zmq_msg_close(&m[i]);
            return 0;
        }
        more = zmq_msg_more(&f);
        if (kept < 3) {
            zmq_msg_init(&m[kept]);
            zmq_msg_move(&m[kept++], &f);
        } else
            extra = 1;
        zmq_msg_close(&f);
    }
    p->rid_len = zmq_msg_size(&m[0]) < MAX_RID ? zmq_msg_size(&m[0]) : MAX_RID;
    memcpy(p->rid, zmq_msg_data(&m[0]), p->rid_len);
    p->req = NULL;
    if (kept == 3 && !extra && zmq_msg_size(&m[1]) == 0)
        p->req = mastery__v1__request__unpack(NULL, zmq_msg_size(&m[2]), zmq_msg_data(&m[2]));
    for (int i = 0; i < kept; i++)
        zmq_msg_close(&m[i]);
    return 1;
}

/* Appends every item of one SubmitEvidence to the open write transaction, each packed straight
 * into the page LMDB reserves for it. */
static void append_items(MDB_txn *txn, MDB_dbi dbi, const Mastery__V1__SubmitEvidence *sub)
{
    for (size_t i = 0; i < sub->n_items; i++) {
        uint64_t key = last_key + 1;
        MDB_val k = {sizeof key, &key};
        MDB_val v = {mastery__v1__evidence__get_packed_size(sub->items[i]), NULL};
        int rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND | MDB_RESERVE);
        if (rc != 0)
            die_mdb("mdb_put (a bigger --map-size?)", rc);
        mastery__v1__evidence__pack(sub->items[i], v.mv_data);
        last_key = key;
        n_items++;
    }
}

/* Packs and sends one reply; a peer that is gone loses it, as with masteryd. */
static void send_reply(void *router, const pending_t *p, Mastery__V1__Reply *rep)
{
    size_t len = mastery__v1__reply__get_packed_size(rep);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL) {
        fprintf(stderr, "append_peer: out of memory\n");
        exit(1);
    }
    mastery__v1__reply__pack(rep, buf);
    if (zmq_send(router, p->rid, p->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
        zmq_send(router, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(router, buf, len, ZMQ_DONTWAIT);
    }
    free(buf);
}

/* The reply masteryd gives a request: for SubmitEvidence, OK per item, all accepted. */
static void answer(void *router, const pending_t *p, int64_t started_ms)
{
    Mastery__V1__Status ok = MASTERY__V1__STATUS__INIT;
    Mastery__V1__Reply rep = MASTERY__V1__REPLY__INIT;
    Mastery__V1__EvidenceResults res = MASTERY__V1__EVIDENCE_RESULTS__INIT;
    Mastery__V1__FrameworkInfo fw = MASTERY__V1__FRAMEWORK_INFO__INIT;
    Mastery__V1__HealthInfo health = MASTERY__V1__HEALTH_INFO__INIT;
    Mastery__V1__ItemStatus *items = NULL, **item_ptrs = NULL;
    rep.status = &ok;
    if (p->req == NULL) {
        ok.code = MASTERY__V1__STATUS_CODE__STATUS_INVALID;
        ok.message = "not an [\"\"][Request] message";
        send_reply(router, p, &rep);
        return;
    }
    rep.request_id = p->req->request_id;
    switch (p->req->op_case) {
    case MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE: {
        size_t n = p->req->submit_evidence->n_items;
        items = calloc(n ? n : 1, sizeof *items);
        item_ptrs = calloc(n ? n : 1, sizeof *item_ptrs);
        if (items == NULL || item_ptrs == NULL) {
            fprintf(stderr, "append_peer: out of memory\n");
            exit(1);
        }
        for (size_t i = 0; i < n; i++) {
            mastery__v1__item_status__init(&items[i]);
            items[i].evidence_id = p->req->submit_evidence->items[i]->evidence_id;
            items[i].status = &ok; /* code OK, empty message and field, as the daemon sends */
            item_ptrs[i] = &items[i];
        }
        res.items = item_ptrs;
        res.n_items = n;
        res.accepted = (uint32_t)n;
        rep.result_case = MASTERY__V1__REPLY__RESULT_EVIDENCE_RESULTS;
        rep.evidence_results = &res;
        break;
    }
    case MASTERY__V1__REQUEST__OP_PUT_FRAMEWORK: /* accepted and forgotten: no rules here */
        fw.framework_id = "append-peer";
        fw.revision = 1;
        fw.loaded_at_ms = now_ms();
        rep.result_case = MASTERY__V1__REPLY__RESULT_FRAMEWORK_INFO;
        rep.framework_info = &fw;
        break;
    case MASTERY__V1__REQUEST__OP_HEALTH:
        health.version = "append_peer";
        health.uptime_ms = now_ms() - started_ms;
        health.evidence_count = n_items;
        health.requests = n_requests;
        health.commits = n_commits;
        health.dev_mode = 1;
        health.events_endpoint = events_bound;
        rep.result_case = MASTERY__V1__REPLY__RESULT_HEALTH;
        rep.health = &health;
        break;
    default:
        ok.code = MASTERY__V1__STATUS_CODE__STATUS_INVALID;
        ok.message = "append_peer answers SubmitEvidence, PutFramework and Health only";
        break;
    }
    send_reply(router, p, &rep);
    free(items);
    free(item_ptrs);
}

static void *bind_or_die(void *ctx, int type, const char *ep, char *bound, size_t cap)
{
    void *s = zmq_socket(ctx, type);
    size_t len = cap;
    if (s == NULL || zmq_bind(s, ep) != 0 || zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, bound, &len)) {
        fprintf(stderr, "append_peer: cannot bind %s: %s\n", ep, zmq_strerror(zmq_errno()));
        exit(1);
    }
    return s;
}

int main(int argc, char **argv)
{
    const char *endpoint = "tcp://127.0.0.1:*", *events = "tcp://127.0.0.1:*", *data = NULL;
    size_t max_group = 256; /* masteryd's max_group default (daemon/conf.c) */
    size_t map_size = (size_t)8 << 30;
    unsigned env_flags = 0; /* fully synced commits, as masteryd's store */
    static const struct option lo[] = {{"endpoint", required_argument, NULL, 'e'},
                                       {"events", required_argument, NULL, 'E'},
                                       {"data", required_argument, NULL, 'd'},
                                       {"max-group", required_argument, NULL, 'g'},
                                       {"map-size", required_argument, NULL, 'm'},
                                       {"nosync", no_argument, NULL, 'n'},
                                       {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'e':
            endpoint = optarg;
            break;
        case 'E':
            events = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 'g':
            max_group = (size_t)strtoull(optarg, NULL, 10);
            break;
        case 'm':
            map_size = (size_t)strtoull(optarg, NULL, 10);
            break;
        case 'n':
            env_flags = MDB_NOSYNC; /* for measuring what the fsync costs, never the default */
            break;
        default:
            fprintf(stderr, "usage: append_peer [--endpoint EP] [--events EP] [--data DIR] "
                            "[--max-group N] [--map-size BYTES] [--nosync]\n");
            return 2;
        }
    }
    if (max_group < 1 || max_group > 65536) {
        fprintf(stderr, "append_peer: --max-group must be 1..65536\n");
        return 2;
    }
    char tmp[] = "/tmp/append-peer-XXXXXX";
    if (data == NULL && (data = mkdtemp(tmp)) == NULL) {
        fprintf(stderr, "append_peer: mkdtemp: %s\n", strerror(errno));
        return 1;
    }

    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    int rc;
    if ((rc = mdb_env_create(&env)) != 0 || (rc = mdb_env_set_mapsize(env, map_size)) != 0 ||
        (rc = mdb_env_open(env, data, env_flags | MDB_NOTLS, 0600)) != 0)
        die_mdb(data, rc);
    /* Resume after the last key of an existing directory; MDB_INTEGERKEY: native u64 keys. */
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, NULL, MDB_INTEGERKEY, &dbi)) != 0)
        die_mdb("open", rc);
    MDB_cursor *cur;
    MDB_val k, v;
    if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
        die_mdb("cursor", rc);
    if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0)
        memcpy(&last_key, k.mv_data, sizeof last_key);
    mdb_cursor_close(cur);
    if ((rc = mdb_txn_commit(txn)) != 0)
        die_mdb("commit", rc);

    /* The daemon's socket settings (daemon/server.c with conf.c's defaults). */
    void *ctx = zmq_ctx_new();
    char bound[256];
    void *router = bind_or_die(ctx, ZMQ_ROUTER, endpoint, bound, sizeof bound);
    void *pub = bind_or_die(ctx, ZMQ_PUB, events, events_bound, sizeof events_bound);
    int one = 1, linger = 1000, sndhwm = 1000, rcvhwm = 10000;
    int64_t maxmsg = 2 * 1048576;
    zmq_setsockopt(router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(router, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm);
    zmq_setsockopt(router, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);

    struct sigaction sa = {0};
    sa.sa_handler = on_signal; /* no SA_RESTART: zmq_poll returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    fprintf(stderr, "append_peer: requests on %s\nappend_peer: events on %s\nappend_peer: ready\n",
            bound, events_bound);

    pending_t *group = calloc(max_group, sizeof *group);
    if (group == NULL)
        return 1;
    int64_t started = now_ms();
    while (!stop) {
        zmq_pollitem_t item = {router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 1000) <= 0)
            continue; /* quiet, or a signal: check stop */
        /* Drain what waits, up to max_group requests, as masteryd's server_run does. */
        size_t n = 0;
        while (n < max_group && receive_one(router, &group[n]))
            n++;
        /* One synced write transaction for the group's evidence (none for a group without). */
        txn = NULL;
        for (size_t i = 0; i < n; i++) {
            const Mastery__V1__Request *r = group[i].req;
            if (r == NULL || r->op_case != MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE)
                continue;
            if (txn == NULL && (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
                die_mdb("mdb_txn_begin", rc);
            append_items(txn, dbi, r->submit_evidence);
        }
        if (txn) {
            if ((rc = mdb_txn_commit(txn)) != 0)
                die_mdb("mdb_txn_commit", rc);
            n_commits++;
        }
        /* Only now, durable, is each request answered. */
        for (size_t i = 0; i < n; i++) {
            n_requests++;
            answer(router, &group[i], started);
            mastery__v1__request__free_unpacked(group[i].req, NULL);
        }
    }
    fprintf(stderr,
            "append_peer: %" PRIu64 " requests, %" PRIu64 " items in %" PRIu64 " commits (%.1f "
            "requests per commit)\n",
            n_requests, n_items, n_commits,
            n_commits ? (double)n_requests / (double)n_commits : 0.0);
    free(group);
    zmq_close(router);
    zmq_close(pub);
    zmq_ctx_term(ctx);
    mdb_env_close(env);
    if (data == tmp) { /* our own directory: leave nothing behind */
        char path[sizeof tmp + 16];
        snprintf(path, sizeof path, "%s/data.mdb", tmp);
        unlink(path);
        snprintf(path, sizeof path, "%s/lock.mdb", tmp);
        unlink(path);
        rmdir(tmp);
    }
    return 0;
}
