/*
 * cluster: the NATS JetStream side of cluster mode (cluster.h). The only file that includes
 * nats.h; every natsStatus is translated to an ERR_* here.
 *
 * Threads and locks. c->mu guards the partitions' state (held, epoch, renewal time, fetcher),
 * the queue and the counters. The lease thread alone changes held/lease_rev and does the KV
 * I/O with c->mu released; the fetch threads do their fetches with it released and take it
 * to push; the server thread takes it in take/start/done/rewind. c->pub_mu guards the one
 * publish call's ack map against libnats' callback thread. Lock order: mu, never both.
 *
 * Fetchers. A claim's fetcher is a thread that (re)creates the partition's durable consumer
 * and fetches from it. A stopped fetcher finishes its fetch in flight (at most fetch_wait_ms)
 * and exits; it is joined by the next fetcher of its partition before that one touches the
 * consumer (so no stale pull request can take a message of the new consumer), or by
 * cluster_destroy. A fetcher checks that its consumer delivers each message once, in order
 * (consumer sequence 1, 2, 3 ... and delivered once); anything else rewinds the partition.
 */
#include "cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define MAX_SERVERS 64
#define MSG_ID_MAX  512
#define ACK_WAIT_MS 30000
#define RETRY_MS    1000 /* a failed consumer creation is tried again after this */
#define NS_PER_MS   ((int64_t)1000000)

typedef struct qent qent_t;
typedef struct fetcher fetcher_t;

/* A queued entry: a CLAIM, or a fetched message whose payload and reply subject (for the ack)
 * follow the struct, copied, so no natsMsg outlives its fetch. */
struct qent {
    qent_t *next;
    cluster_entry_kind_t kind;
    uint32_t partition;
    uint64_t epoch;
    uint64_t seq;
    uint64_t token; /* CLUSTER_REPLY */
    size_t len;
    char *reply; /* into data[], after the payload (CLUSTER_REQUEST: where to answer) */
    uint8_t data[];
};

struct fetcher {
    cluster_t *c;
    uint32_t partition;
    uint64_t epoch;
    uint64_t start_seq;
    atomic_bool stop;
    pthread_t thread;
    fetcher_t *prev; /* the partition's previous fetcher, stopped: joined and freed by this one */
};

typedef struct part {
    uint32_t id;              /* partition number, or CLUSTER_FW */
    bool held;                /* lease held (CLUSTER_FW: always) */
    bool takeover;            /* held though another node is preferred */
    uint64_t lease_rev;       /* the lease's KV revision after our last write */
    int64_t renewed_ms;       /* monotonic time of the last successful create/renewal */
    uint64_t epoch;           /* the current claim; 0: none (released, or a rewind waits) */
    bool started;             /* cluster_start answered the current claim */
    int64_t reclaim_ms;       /* > 0: claim again at this monotonic time (a delayed rewind) */
    fetcher_t *fetcher;       /* the newest fetcher, running or stopped; NULL: none yet */
    char owner[CONF_STR_MAX]; /* cluster_owner_endpoint's cache (server thread only) */
    int owner_status;
    uint32_t owner_node;
    int64_t owner_ms;
} part_t;

/* One lease renewal in flight (the lease thread's; the ack callback fills it). */
typedef struct renewal {
    natsMsg *msg; /* NULL once answered (or never sent) */
    uint32_t partition;
    int status; /* 1 waiting, 0 renewed, ERR_CONFLICT refused, ERR_UNAVAILABLE */
    uint64_t rev;
} renewal_t;

/* One publish call's map from the natsMsg we created to its slot in pubs[]. */
typedef struct pub_slot {
    natsMsg *msg; /* NULL: empty; PUB_GONE: a tombstone */
    size_t index;
} pub_slot_t;

#define PUB_GONE ((natsMsg *)(uintptr_t)1)

struct cluster {
    char prefix[CONF_STR_MAX];
    char bucket[CONF_STR_MAX + 16];
    char endpoint[CONF_STR_MAX];
    char lease_value[CONF_STR_MAX + 32]; /* "<node> <endpoint>" */
    uint32_t node, nodes, partitions;
    int64_t lease_ms, fetch, fetch_wait_ms;
    int64_t started_ms; /* monotonic time of cluster_new */
    uint64_t queue_budget;

    natsOptions *opts;
    natsConnection *nc;
    jsCtx *js;   /* stream, consumers, fetches, async publish (with the ack handler) */
    jsCtx *kvjs; /* the lease bucket, with a wait shorter than a lease */
    kvStore *kv;
    int efd;
    bool fd_armed; /* under mu: efd was written since cluster_take last read it */

    pthread_mutex_t mu;
    pthread_cond_t space; /* the queue shrank, or a fetcher must stop */
    pthread_cond_t tick;  /* wakes the lease thread (a delayed claim, or stopping) */
    part_t *parts;        /* partitions entries, then CLUSTER_FW's */
    qent_t *head, *tail;
    uint64_t epoch_seq;
    bool stopping;
    atomic_bool halt; /* stopping, readable without c->mu: the lease thread's loops end early */
    bool lease_thread_ok;
    pthread_t lease_thread;
    cluster_stats_t st; /* counters; held/held_mask/queue_bytes/connected computed on read */
    atomic_bool connected;
    bool closed; /* libnats ran our closed callback: no callback of ours runs any more */
    pthread_cond_t closed_cv;

    natsSubscription *route_sub; /* "<prefix>.node.<node>.>": forwarded reads and answers */
    pthread_mutex_t renew_mu;    /* renewals[0..nrenew) against the kvjs ack callback */
    renewal_t *renewals;         /* one per partition */
    size_t nrenew, renew_hint;
    int64_t kv_wait_ms;

    pthread_mutex_t pub_mu;
    pub_slot_t *pub_map;
    size_t pub_cap; /* a power of two; 0: no call in progress */
    cluster_pub_t *pubs;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void deadline_ts(struct timespec *ts, int64_t at_ms)
{
    ts->tv_sec = at_ms / 1000;
    ts->tv_nsec = (at_ms % 1000) * 1000000;
}

static part_t *part_of(cluster_t *c, uint32_t p)
{
    if (p == CLUSTER_FW)
        return &c->parts[c->partitions];
    return p < c->partitions ? &c->parts[p] : NULL;
}

static uint32_t preferred(const cluster_t *c, uint32_t p)
{
    return p % c->nodes;
}

/* A partition's name in a log line: its number, or "fw". buf: 12 bytes. */
static const char *pname(uint32_t p, char *buf)
{
    if (p == CLUSTER_FW)
        return "fw";
    snprintf(buf, 12, "%" PRIu32, p);
    return buf;
}

/* The last libnats error as text, for a log line or a detail. */
static const char *nats_text(natsStatus s)
{
    const char *t = nats_GetLastError(NULL);
    return t != NULL && *t ? t : natsStatus_GetText(s);
}

uint32_t cluster_partition(const char *learner_id, uint32_t partitions)
{
    static const char label[] = "masteryd-partition"; /* sizeof includes the one NUL byte */
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    /* a wrong partition would send a learner's evidence to the wrong shard: never guess */
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, label, sizeof label) != 1 ||
        EVP_DigestUpdate(ctx, learner_id, strlen(learner_id)) != 1 ||
        EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < 8)
        fatalx("cluster: SHA-256 failed (out of memory?)");
    EVP_MD_CTX_free(ctx);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | md[i];
    return partitions ? (uint32_t)(v % partitions) : 0;
}

/* ---- the queue (c->mu held) ---- */

/* Makes the fd readable; once until cluster_take resets it (one write, not one per message). */
static void signal_fd(cluster_t *c)
{
    if (c->fd_armed)
        return;
    uint64_t one = 1;
    if (write(c->efd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_warn("cluster: eventfd");
    c->fd_armed = true;
}

static void queue_push(cluster_t *c, qent_t *e)
{
    e->next = NULL;
    if (c->tail)
        c->tail->next = e;
    else
        c->head = e;
    c->tail = e;
    if (e->kind != CLUSTER_CLAIM)
        c->st.queue_bytes += e->len;
    signal_fd(c);
}

/* Unlinks e (whose predecessor is prev, NULL at the head) and returns the next entry. */
static qent_t *queue_unlink(cluster_t *c, qent_t *prev, qent_t *e)
{
    qent_t *next = e->next;
    if (prev)
        prev->next = next;
    else
        c->head = next;
    if (c->tail == e)
        c->tail = prev;
    if (e->kind != CLUSTER_CLAIM) {
        c->st.queue_bytes -= e->len;
        pthread_cond_broadcast(&c->space);
    }
    return next;
}

/* Drops every queued entry of partition p (its messages are redelivered to the next claim). */
static void queue_drop(cluster_t *c, uint32_t p)
{
    qent_t *prev = NULL, *e = c->head;
    while (e) {
        if (e->partition == p) {
            qent_t *next = queue_unlink(c, prev, e);
            free(e);
            e = next;
        } else {
            prev = e;
            e = e->next;
        }
    }
}

/* A new claim of p: a new epoch, and a CLAIM entry for the server. */
static void claim_locked(cluster_t *c, part_t *p)
{
    qent_t *e = calloc(1, sizeof *e);
    p->epoch = ++c->epoch_seq;
    p->started = false;
    p->reclaim_ms = 0;
    c->st.claims++;
    if (e == NULL) {
        /* the lease thread tries again shortly; the lease is kept */
        p->epoch = 0;
        p->reclaim_ms = now_ms() + RETRY_MS;
        return;
    }
    e->kind = CLUSTER_CLAIM;
    e->partition = p->id;
    e->epoch = p->epoch;
    queue_push(c, e);
}

static void fetcher_stop(cluster_t *c, part_t *p)
{
    if (p->fetcher)
        atomic_store(&p->fetcher->stop, true);
    pthread_cond_broadcast(&c->space);
}

/* Ends the current claim of p: its fetcher stops, its queued entries go. */
static void unclaim_locked(cluster_t *c, part_t *p)
{
    fetcher_stop(c, p);
    queue_drop(c, p->id);
    p->epoch = 0;
    p->started = false;
}

static void rewind_locked(cluster_t *c, part_t *p, uint64_t epoch, int64_t delay_ms)
{
    if (!p->held || epoch == 0 || p->epoch != epoch)
        return;
    unclaim_locked(c, p);
    if (delay_ms <= 0) {
        claim_locked(c, p);
    } else {
        p->reclaim_ms = now_ms() + delay_ms;
        pthread_cond_signal(&c->tick);
    }
}

/* The lease of p is no longer ours (lost, or handed back). */
static void release_locked(cluster_t *c, part_t *p)
{
    unclaim_locked(c, p);
    p->held = false;
    p->takeover = false;
    p->reclaim_ms = 0;
    c->st.releases++;
}

/* ---- fetch threads ---- */

static bool fetcher_sleep(fetcher_t *f, int64_t ms)
{
    for (int64_t t = 0; t < ms && !atomic_load(&f->stop); t += 50)
        usleep(50 * 1000);
    return !atomic_load(&f->stop);
}

/* Deletes and re-creates the partition's durable consumer at f->start_seq and binds a pull
 * subscription to it. */
static natsStatus consumer_open(fetcher_t *f, natsSubscription **sub)
{
    cluster_t *c = f->c;
    char durable[CONF_STR_MAX + 32], subject[CONF_STR_MAX + 32];
    if (f->partition == CLUSTER_FW) {
        snprintf(durable, sizeof durable, "%s-fw-%u", c->prefix, c->node);
        snprintf(subject, sizeof subject, "%s.fw", c->prefix);
    } else {
        snprintf(durable, sizeof durable, "%s-p%u", c->prefix, f->partition);
        snprintf(subject, sizeof subject, "%s.ev.%u", c->prefix, f->partition);
    }
    jsErrCode jerr = 0;
    natsStatus s = js_DeleteConsumer(c->js, c->prefix, durable, NULL, &jerr);
    if (s != NATS_OK && s != NATS_NOT_FOUND && jerr != JSConsumerNotFoundErr)
        return s;
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = durable;
    cc.DeliverPolicy = js_DeliverByStartSequence;
    cc.OptStartSeq = f->start_seq ? f->start_seq : 1;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = (int64_t)ACK_WAIT_MS * NS_PER_MS;
    cc.FilterSubject = subject;
    cc.MaxAckPending = 4 * c->fetch;
    jsConsumerInfo *ci = NULL;
    s = js_AddConsumer(&ci, c->js, c->prefix, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (s != NATS_OK)
        return s;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = c->prefix;
    so.Consumer = durable; /* bound: unsubscribing never deletes the consumer */
    return js_PullSubscribe(sub, c->js, subject, durable, NULL, &so, &jerr);
}

/* Queues one fetched message if its claim is still current. Returns false when the consumer
 * broke its order (the partition is rewound) or the fetcher must stop. */
static bool fetcher_push(fetcher_t *f, natsMsg *m, uint64_t *want_cseq)
{
    cluster_t *c = f->c;
    char nb[12];
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, m) != NATS_OK) {
        log_warnx("cluster: partition %s: a message without JetStream metadata",
                  pname(f->partition, nb));
        return true; /* not one of the stream's: nothing to apply or ack */
    }
    uint64_t sseq = meta->Sequence.Stream, cseq = meta->Sequence.Consumer;
    uint64_t delivered = meta->NumDelivered;
    jsMsgMetaData_Destroy(meta);
    int len = natsMsg_GetDataLength(m);
    const char *reply = natsMsg_GetReply(m);
    size_t rlen = reply ? strlen(reply) : 0;
    qent_t *e = NULL;
    bool in_order = cseq == *want_cseq && delivered == 1;
    if (in_order) {
        e = malloc(sizeof *e + (size_t)len + rlen + 1);
        if (e) {
            e->kind = CLUSTER_MSG;
            e->partition = f->partition;
            e->epoch = f->epoch;
            e->seq = sseq;
            e->len = (size_t)len;
            memcpy(e->data, natsMsg_GetData(m), (size_t)len);
            e->reply = (char *)e->data + len;
            memcpy(e->reply, reply ? reply : "", rlen + 1);
        }
    }
    pthread_mutex_lock(&c->mu);
    part_t *p = part_of(c, f->partition);
    bool current = !atomic_load(&f->stop) && p->epoch == f->epoch;
    if (current && e) {
        queue_push(c, e);
        c->st.fetched++;
        (*want_cseq)++;
        e = NULL;
    } else if (current) {
        /* out of order (a stale pull took one of ours, or a redelivery), or no memory: start
         * over from the store's sequence rather than apply with a gap */
        log_warnx("cluster: partition %s: %s at stream sequence %" PRIu64 " (delivery %" PRIu64
                  ", consumer sequence %" PRIu64 ", expected %" PRIu64 "); claiming it again",
                  pname(f->partition, nb), in_order ? "out of memory" : "out-of-order delivery",
                  sseq, delivered, cseq, *want_cseq);
        rewind_locked(c, p, f->epoch, RETRY_MS);
        current = false;
    }
    pthread_mutex_unlock(&c->mu);
    free(e);
    return current;
}

static void *fetcher_main(void *arg)
{
    fetcher_t *f = arg;
    cluster_t *c = f->c;
    char nb[12];
    if (f->prev) {
        pthread_join(f->prev->thread, NULL);
        free(f->prev);
        f->prev = NULL;
    }
    natsSubscription *sub = NULL;
    while (!atomic_load(&f->stop)) {
        natsStatus s = consumer_open(f, &sub);
        if (s == NATS_OK)
            break;
        log_warnx("cluster: partition %s: cannot create its consumer: %s", pname(f->partition, nb),
                  nats_text(s));
        sub = NULL;
        fetcher_sleep(f, RETRY_MS);
    }
    uint64_t want_cseq = 1;
    while (!atomic_load(&f->stop)) {
        pthread_mutex_lock(&c->mu);
        while (c->st.queue_bytes >= c->queue_budget && !atomic_load(&f->stop))
            pthread_cond_wait(&c->space, &c->mu);
        pthread_mutex_unlock(&c->mu);
        if (atomic_load(&f->stop))
            break;
        natsMsgList list = {0};
        jsErrCode jerr = 0;
        natsStatus s = natsSubscription_Fetch(&list, sub, (int)c->fetch, c->fetch_wait_ms, &jerr);
        bool go = true;
        for (int i = 0; i < list.Count && go; i++)
            go = fetcher_push(f, list.Msgs[i], &want_cseq);
        natsMsgList_Destroy(&list);
        if (!go)
            break;
        if (s != NATS_OK && s != NATS_TIMEOUT) {
            if (jerr == JSConsumerNotFoundErr) {
                /* deleted under us (another node claimed it): the lease thread decides */
                log_warnx("cluster: partition %s: its consumer is gone", pname(f->partition, nb));
                pthread_mutex_lock(&c->mu);
                rewind_locked(c, part_of(c, f->partition), f->epoch, RETRY_MS);
                pthread_mutex_unlock(&c->mu);
                break;
            }
            log_debug("cluster: partition %s: fetch: %s", pname(f->partition, nb), nats_text(s));
            fetcher_sleep(f, c->fetch_wait_ms);
        }
    }
    if (sub) {
        natsSubscription_Unsubscribe(sub);
        natsSubscription_Destroy(sub);
    }
    nats_ReleaseThreadMemory();
    return NULL;
}

void cluster_start(cluster_t *c, uint32_t partition, uint64_t epoch, uint64_t next_seq)
{
    char nb[12];
    pthread_mutex_lock(&c->mu);
    part_t *p = part_of(c, partition);
    if (p == NULL || !p->held || p->epoch != epoch || epoch == 0 || p->started || c->stopping)
        goto out;
    fetcher_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        goto retry;
    f->c = c;
    f->partition = partition;
    f->epoch = epoch;
    f->start_seq = next_seq ? next_seq : 1;
    atomic_init(&f->stop, false);
    f->prev = p->fetcher;
    if (pthread_create(&f->thread, NULL, fetcher_main, f) != 0) {
        free(f);
        goto retry;
    }
    p->fetcher = f;
    p->started = true;
    goto out;
retry:
    log_warnx("cluster: partition %s: cannot start fetching; claiming it again",
              pname(partition, nb));
    rewind_locked(c, p, epoch, RETRY_MS);
out:
    pthread_mutex_unlock(&c->mu);
}

/* ---- leases ---- */

static void key_of(char *buf, size_t cap, uint32_t p)
{
    snprintf(buf, cap, "p.%" PRIu32, p);
}

/* Whether node n's heartbeat is in the bucket: 1 yes, 0 no, -1 unknown (no answer). */
static int heartbeat_seen(cluster_t *c, uint32_t n, int8_t *cache)
{
    if (cache[n] != 2)
        return cache[n];
    char key[32];
    snprintf(key, sizeof key, "n.%" PRIu32, n);
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, c->kv, key);
    kvEntry_Destroy(e);
    cache[n] = s == NATS_OK ? 1 : s == NATS_NOT_FOUND ? 0 : -1;
    return cache[n];
}

static void on_renew_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    cluster_t *c = closure;
    pthread_mutex_lock(&c->renew_mu);
    /* acks come back mostly in order: look from the last one found */
    for (size_t k = 0; k < c->nrenew; k++) {
        size_t i = (c->renew_hint + k) % c->nrenew;
        renewal_t *r = &c->renewals[i];
        if (r->msg != msg)
            continue;
        if (pa != NULL && pae == NULL) {
            r->status = 0;
            r->rev = pa->Sequence;
        } else {
            r->status = pae != NULL && pae->ErrCode == JSStreamWrongLastSequenceErr
                            ? ERR_CONFLICT
                            : ERR_UNAVAILABLE;
        }
        r->msg = NULL;
        c->renew_hint = i + 1;
        break;
    }
    pthread_mutex_unlock(&c->renew_mu);
    natsMsg_Destroy(msg);
}

/* Renews every held lease at once: each a publish to the key's subject expecting the lease's
 * last revision (what kvStore_Update does, one round trip for all instead of one each). A
 * refused renewal, or none for a whole lease, loses the partition. */
static void lease_renew(cluster_t *c)
{
    int64_t t0 = now_ms(); /* the bucket stored a renewal after this: its lease runs from here */
    bool up = atomic_load(&c->connected);
    char subject[CONF_STR_MAX + 64];
    size_t n = 0;
    pthread_mutex_lock(&c->renew_mu);
    c->nrenew = 0;
    c->renew_hint = 0;
    pthread_mutex_unlock(&c->renew_mu);
    for (uint32_t i = 0; i < c->partitions && up; i++) {
        part_t *p = &c->parts[i];
        if (!p->held)
            continue;
        natsMsg *m = NULL;
        snprintf(subject, sizeof subject, "$KV.%s.p.%" PRIu32, c->bucket, i);
        natsStatus s =
            natsMsg_Create(&m, subject, NULL, c->lease_value, (int)strlen(c->lease_value));
        pthread_mutex_lock(&c->renew_mu);
        c->renewals[n] = (renewal_t){.msg = s == NATS_OK ? m : NULL,
                                     .partition = i,
                                     .status = s == NATS_OK ? 1 : ERR_UNAVAILABLE};
        c->nrenew = ++n;
        pthread_mutex_unlock(&c->renew_mu);
        if (s != NATS_OK)
            continue;
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.ExpectLastSubjectSeq = p->lease_rev;
        natsMsg *owned = m; /* the library takes it (and NULLs owned) on success */
        s = js_PublishMsgAsync(c->kvjs, &owned, &po);
        if (s != NATS_OK) {
            pthread_mutex_lock(&c->renew_mu);
            c->renewals[n - 1].msg = NULL;
            c->renewals[n - 1].status = ERR_UNAVAILABLE;
            pthread_mutex_unlock(&c->renew_mu);
            natsMsg_Destroy(owned);
        }
    }
    if (n) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = c->kv_wait_ms;
        if (js_PublishAsyncComplete(c->kvjs, &po) != NATS_OK) {
            natsMsgList pending = {0};
            if (js_PublishAsyncGetPendingList(&pending, c->kvjs) == NATS_OK)
                natsMsgList_Destroy(&pending);
        }
    }
    pthread_mutex_lock(&c->renew_mu);
    c->nrenew = 0; /* a late ack finds nothing */
    pthread_mutex_unlock(&c->renew_mu);
    int64_t t = now_ms();
    pthread_mutex_lock(&c->mu);
    bool renewed = false;
    for (size_t k = 0; k < n; k++) {
        renewal_t *r = &c->renewals[k];
        part_t *p = &c->parts[r->partition];
        if (!p->held)
            continue;
        if (r->status == 0) {
            p->lease_rev = r->rev;
            p->renewed_ms = t0;
            renewed = true;
        } else if (r->status == ERR_CONFLICT || t - p->renewed_ms >= c->lease_ms) {
            log_warnx("cluster: partition %" PRIu32 ": lease lost (%s, %" PRId64
                      " ms after its last renewal); stopped applying it",
                      r->partition,
                      r->status == ERR_CONFLICT ? "the bucket has a newer revision" : "no answer",
                      t - p->renewed_ms);
            release_locked(c, p);
        }
    }
    /* disconnected: nothing was sent; only the leases' age counts */
    for (uint32_t i = 0; i < c->partitions && !up; i++) {
        part_t *p = &c->parts[i];
        if (p->held && t - p->renewed_ms >= c->lease_ms) {
            log_warnx("cluster: partition %" PRIu32 ": lease lost (disconnected); stopped "
                      "applying it",
                      i);
            release_locked(c, p);
        }
    }
    if (renewed && c->head)
        signal_fd(c); /* entries the fence held back may be taken again */
    pthread_mutex_unlock(&c->mu);
}

/* Hands back the partitions held for a node whose heartbeat is back. */
static void lease_give_back(cluster_t *c, int8_t *hb)
{
    for (uint32_t i = 0; i < c->partitions && !atomic_load(&c->halt); i++) {
        part_t *p = &c->parts[i];
        if (!p->held || preferred(c, i) == c->node || heartbeat_seen(c, preferred(c, i), hb) != 1)
            continue;
        pthread_mutex_lock(&c->mu);
        release_locked(c, p);
        pthread_mutex_unlock(&c->mu);
        char key[32];
        key_of(key, sizeof key, i);
        natsStatus s = kvStore_Delete(c->kv, key);
        log_info("cluster: partition %" PRIu32 " handed back to node %" PRIu32 "%s%s", i,
                 preferred(c, i),
                 s == NATS_OK ? "" : "; lease not deleted: ", s == NATS_OK ? "" : nats_text(s));
    }
}

/* Claims the free partitions this node prefers, and those of dead nodes. */
static void lease_claim(cluster_t *c, int8_t *hb)
{
    uint32_t claimed = 0;
    for (uint32_t i = 0; i < c->partitions && !atomic_load(&c->halt); i++) {
        part_t *p = &c->parts[i];
        if (p->held)
            continue;
        char key[32];
        key_of(key, sizeof key, i);
        bool mine = preferred(c, i) == c->node;
        if (!mine) {
            /* a heartbeat missing in the first lease after our start may be a node that
             * starts with us: taking its partitions would only hand them back */
            if (now_ms() - c->started_ms < c->lease_ms)
                continue;
            /* only a lease that lapsed, of a node whose heartbeat lapsed too: it died. The
             * heartbeat first: one read per node, so live nodes' partitions cost nothing */
            if (heartbeat_seen(c, preferred(c, i), hb) != 0)
                continue;
            kvEntry *e = NULL;
            natsStatus s = kvStore_Get(&e, c->kv, key);
            kvEntry_Destroy(e);
            if (s != NATS_NOT_FOUND)
                continue;
        }
        uint64_t rev = 0;
        int64_t t = now_ms(); /* the lease runs from before the request, as a renewal's */
        natsStatus s = kvStore_CreateString(&rev, c->kv, key, c->lease_value);
        if (s != NATS_OK)
            continue; /* someone holds it (a takeover being handed back), or no answer */
        pthread_mutex_lock(&c->mu);
        p->held = true;
        p->takeover = !mine;
        p->lease_rev = rev;
        p->renewed_ms = t;
        claim_locked(c, p);
        if (!mine)
            c->st.takeovers++;
        pthread_mutex_unlock(&c->mu);
        if (mine)
            claimed++;
        else
            log_info("cluster: took over partition %" PRIu32 " of node %" PRIu32
                     " (its lease and heartbeat lapsed)",
                     i, preferred(c, i));
    }
    if (claimed)
        log_info("cluster: claimed %" PRIu32 " partition(s)", claimed);
}

static void lease_tick(cluster_t *c)
{
    char key[32];
    snprintf(key, sizeof key, "n.%" PRIu32, c->node);
    uint64_t rev = 0;
    natsStatus s = kvStore_PutString(&rev, c->kv, key, c->endpoint);
    if (s != NATS_OK)
        log_debug("cluster: heartbeat: %s", nats_text(s));
    int8_t hb[64];
    memset(hb, 2, sizeof hb); /* 2: not read yet this tick */
    lease_renew(c);
    if (!atomic_load(&c->connected))
        return;
    lease_give_back(c, hb);
    lease_claim(c, hb);
}

static void *lease_main(void *arg)
{
    cluster_t *c = arg;
    int64_t period = c->lease_ms / 3, next = 0;
    pthread_mutex_lock(&c->mu);
    while (!c->stopping) {
        int64_t t = now_ms();
        if (t >= next) {
            pthread_mutex_unlock(&c->mu);
            lease_tick(c);
            pthread_mutex_lock(&c->mu);
            next = t + period;
            continue;
        }
        /* delayed claims (rewinds) that are due */
        int64_t wake = next;
        for (uint32_t i = 0; i <= c->partitions; i++) {
            part_t *p = &c->parts[i];
            if (!p->reclaim_ms)
                continue;
            if (!p->held)
                p->reclaim_ms = 0;
            else if (p->reclaim_ms <= t)
                claim_locked(c, p);
            else if (p->reclaim_ms < wake)
                wake = p->reclaim_ms;
        }
        struct timespec ts;
        deadline_ts(&ts, wake);
        pthread_cond_timedwait(&c->tick, &c->mu, &ts);
    }
    pthread_mutex_unlock(&c->mu);
    nats_ReleaseThreadMemory();
    return NULL;
}

/* ---- connection ---- */

static void on_disconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    cluster_t *c = closure;
    atomic_store(&c->connected, false);
    if (!atomic_load(&c->halt))
        log_warnx("cluster: connection to NATS lost; reconnecting");
}

/* libnats runs the connection's callbacks on a thread of its own, after natsConnection_Close
 * returned: cluster_destroy waits for this last one before it frees c. */
static void on_closed(natsConnection *nc, void *closure)
{
    (void)nc;
    cluster_t *c = closure;
    pthread_mutex_lock(&c->mu);
    c->closed = true;
    pthread_cond_broadcast(&c->closed_cv);
    pthread_mutex_unlock(&c->mu);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
    cluster_t *c = closure;
    char url[256] = "";
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    atomic_store(&c->connected, true);
    log_info("cluster: connection to NATS back (%s)", url);
}

static void on_pub_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    cluster_t *c = closure;
    pthread_mutex_lock(&c->pub_mu);
    if (c->pub_cap) {
        size_t mask = c->pub_cap - 1;
        for (size_t h = ((uintptr_t)msg >> 4) * 0x9E3779B97F4A7C15ull & mask;
             c->pub_map[h].msg != NULL; h = (h + 1) & mask) {
            if (c->pub_map[h].msg != msg)
                continue;
            cluster_pub_t *pub = &c->pubs[c->pub_map[h].index];
            if (pa != NULL && pae == NULL) {
                pub->status = pa->Duplicate ? ERR_DUPLICATE : 0;
                pub->seq = pa->Sequence;
            } else if (pae != NULL) {
                log_debug("cluster: publish refused: %s",
                          pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
            }
            c->pub_map[h].msg = PUB_GONE;
            break;
        }
    }
    pthread_mutex_unlock(&c->pub_mu);
    natsMsg_Destroy(msg);
}

/* Splits "url1,url2" into servers[], in place in buf. Returns the count, 0 if none. */
static int split_servers(char *buf, const char **servers)
{
    int n = 0;
    for (char *tok = buf; tok && n < MAX_SERVERS;) {
        char *comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        while (*tok == ' ' || *tok == '\t')
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*tok)
            servers[n++] = tok;
        tok = comma ? comma + 1 : NULL;
    }
    return n;
}

static bool name_ok(const char *s)
{
    if (*s == '\0' || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

static int connect_nats(cluster_t *c, const conf_t *conf, err_detail_t *detail)
{
    char buf[CONF_STR_MAX], name[64];
    const char *servers[MAX_SERVERS];
    snprintf(buf, sizeof buf, "%s", conf->cluster_nats);
    int n = split_servers(buf, servers);
    if (n == 0)
        return err_set(detail, ERR_INVALID, "cluster_nats", "no NATS server URL");
    snprintf(name, sizeof name, "masteryd-%" PRIu32, c->node);
    int64_t budget = (int64_t)conf->cluster_connect_ms;
    natsStatus s = natsOptions_Create(&c->opts);
    if (s == NATS_OK)
        s = natsOptions_SetServers(c->opts, servers, n);
    if (s == NATS_OK)
        s = natsOptions_SetName(c->opts, name);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(c->opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(c->opts, 250);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(c->opts, budget < 2000 ? budget : 2000);
    if (s == NATS_OK)
        s = natsOptions_SetPingInterval(c->opts, 2000);
    if (s == NATS_OK)
        s = natsOptions_SetMaxPingsOut(c->opts, 2);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(c->opts, on_disconnected, c);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(c->opts, on_reconnected, c);
    if (s == NATS_OK)
        s = natsOptions_SetClosedCB(c->opts, on_closed, c);
    /* libnats' flusher otherwise waits 1 ms to batch: a one-item publish took 1 ms (1 000/s)
     * instead of ~0.13 ms; batches of 1 000 cost the same either way (bench_cluster) */
    if (s == NATS_OK)
        s = natsOptions_SetSendAsap(c->opts, true);
    if (s != NATS_OK)
        return err_set(detail, s == NATS_NO_MEMORY ? ERR_NOMEM : ERR_INVALID, "cluster_nats",
                       "NATS options: %s", nats_text(s));
    int64_t deadline = now_ms() + budget;
    for (;;) {
        s = natsConnection_Connect(&c->nc, c->opts);
        if (s == NATS_OK)
            break;
        if (s == NATS_NO_MEMORY)
            return err_set(detail, ERR_NOMEM, "cluster_nats", "out of memory");
        if (now_ms() >= deadline)
            return err_set(detail, ERR_UNAVAILABLE, "cluster_nats",
                           "no NATS server answered in %" PRIu64 " ms: %s",
                           conf->cluster_connect_ms, nats_text(s));
        usleep(100 * 1000);
    }
    atomic_store(&c->connected, true);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = on_pub_ack;
    jo.PublishAsync.AckHandlerClosure = c;
    s = natsConnection_JetStream(&c->js, c->nc, &jo);
    if (s == NATS_OK) {
        jsOptions_Init(&jo);
        jo.Wait = c->kv_wait_ms;
        jo.PublishAsync.AckHandler = on_renew_ack;
        jo.PublishAsync.AckHandlerClosure = c;
        s = natsConnection_JetStream(&c->kvjs, c->nc, &jo);
    }
    if (s != NATS_OK)
        return err_set(detail, ERR_NOMEM, "cluster_nats", "JetStream context: %s", nats_text(s));
    return 0;
}

/* Creates the stream, or checks that the one there has our subjects and replicas. */
static int ensure_stream(cluster_t *c, const conf_t *conf, err_detail_t *detail)
{
    size_t n = (size_t)c->partitions + 1, width = strlen(c->prefix) + 16;
    char *names = malloc(n * width);
    const char **subjects = malloc(n * sizeof *subjects);
    jsStreamInfo *si = NULL;
    int rc = 0;
    if (names == NULL || subjects == NULL) {
        rc = err_set(detail, ERR_NOMEM, "cluster_partitions", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char *s = names + i * width;
        if (i < c->partitions)
            snprintf(s, width, "%s.ev.%zu", c->prefix, i);
        else
            snprintf(s, width, "%s.fw", c->prefix);
        subjects[i] = s;
    }
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, c->js, c->prefix, NULL, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        jsStreamConfig sc;
        jsStreamConfig_Init(&sc);
        sc.Name = c->prefix;
        sc.Subjects = subjects;
        sc.SubjectsLen = (int)n;
        sc.Retention = js_LimitsPolicy;
        sc.Storage = js_FileStorage;
        sc.Replicas = (int64_t)conf->cluster_replicas;
        sc.Duplicates = (int64_t)conf->cluster_dedup_seconds * 1000 * NS_PER_MS;
        jsStreamInfo_Destroy(si);
        si = NULL;
        s = js_AddStream(&si, c->js, &sc, NULL, &jerr);
        if (s != NATS_OK && jerr == JSStreamNameExistErr) /* another node was first */
            s = js_GetStreamInfo(&si, c->js, c->prefix, NULL, &jerr);
        else if (s == NATS_OK)
            log_info("cluster: created stream %s (%" PRIu32 " partitions, %" PRIu64 " replicas)",
                     c->prefix, c->partitions, conf->cluster_replicas);
    }
    if (s != NATS_OK || si == NULL || si->Config == NULL) {
        rc = err_set(detail, ERR_UNAVAILABLE, "cluster_nats", "stream %s: %s", c->prefix,
                     nats_text(s));
        goto out;
    }
    bool same = si->Config->SubjectsLen == (int)n;
    for (size_t i = 0; same && i < n; i++) {
        bool found = false;
        for (int j = 0; !found && j < si->Config->SubjectsLen; j++)
            found = strcmp(si->Config->Subjects[j], subjects[i]) == 0;
        same = found;
    }
    if (!same)
        rc = err_set(detail, ERR_CONFLICT, "cluster_partitions",
                     "stream %s has %d subjects, not the %zu of %" PRIu32 " partitions", c->prefix,
                     si->Config->SubjectsLen, n, c->partitions);
    else if (si->Config->Replicas != (int64_t)conf->cluster_replicas)
        rc = err_set(detail, ERR_CONFLICT, "cluster_replicas",
                     "stream %s has %" PRId64 " replicas, the setting says %" PRIu64, c->prefix,
                     si->Config->Replicas, conf->cluster_replicas);
out:
    jsStreamInfo_Destroy(si);
    free(subjects);
    free(names);
    return rc;
}

static int ensure_bucket(cluster_t *c, const conf_t *conf, err_detail_t *detail)
{
    natsStatus s = js_KeyValue(&c->kv, c->kvjs, c->bucket);
    if (s == NATS_NOT_FOUND) {
        kvConfig kc;
        kvConfig_Init(&kc);
        kc.Bucket = c->bucket;
        kc.History = 1;
        kc.TTL = c->lease_ms * NS_PER_MS; /* nanoseconds (jsStreamConfig.MaxAge) */
        kc.Replicas = (int)conf->cluster_replicas;
        kc.StorageType = js_FileStorage;
        s = js_CreateKeyValue(&c->kv, c->kvjs, &kc);
    }
    if (s != NATS_OK)
        return err_set(detail, ERR_UNAVAILABLE, "cluster_nats", "lease bucket %s: %s", c->bucket,
                       nats_text(s));
    kvStatus *ks = NULL;
    s = kvStore_Status(&ks, c->kv);
    if (s != NATS_OK)
        return err_set(detail, ERR_UNAVAILABLE, "cluster_nats", "lease bucket %s: %s", c->bucket,
                       nats_text(s));
    int64_t replicas = kvStatus_Replicas(ks), ttl = kvStatus_TTL(ks);
    kvStatus_Destroy(ks);
    if (replicas != (int64_t)conf->cluster_replicas)
        return err_set(detail, ERR_CONFLICT, "cluster_replicas",
                       "lease bucket %s has %" PRId64 " replicas, the setting says %" PRIu64,
                       c->bucket, replicas, conf->cluster_replicas);
    if (ttl != c->lease_ms * NS_PER_MS)
        return err_set(detail, ERR_CONFLICT, "cluster_lease_ms",
                       "lease bucket %s keeps keys %" PRId64 " ms, the setting says %" PRId64,
                       c->bucket, ttl / NS_PER_MS, c->lease_ms);
    return 0;
}

/* ---- routing: forwarded reads, answers (core NATS, no stream) ---- */

/* A message on "<prefix>.node.<node>.req" (a read to answer) or ".rep.<token>" (an answer for
 * a client waiting here), queued for the server. Over the queue's budget it is dropped: the
 * asking node times its client out, and the client retries. Runs on a libnats thread. */
static void on_route_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    (void)nc, (void)sub;
    cluster_t *c = closure;
    const char *subj = natsMsg_GetSubject(m), *reply = natsMsg_GetReply(m);
    size_t plen = strlen(c->prefix);
    char mine[64];
    int ml = snprintf(mine, sizeof mine, ".node.%" PRIu32 ".", c->node);
    const char *tail =
        subj && strncmp(subj, c->prefix, plen) == 0 && strncmp(subj + plen, mine, (size_t)ml) == 0
            ? subj + plen + ml
            : "";
    cluster_entry_kind_t kind = 0;
    uint64_t token = 0;
    char *end = NULL;
    if (strcmp(tail, "req") == 0 && reply != NULL && reply[0] != '\0')
        kind = CLUSTER_REQUEST;
    else if (strncmp(tail, "rep.", 4) == 0) {
        errno = 0;
        token = strtoull(tail + 4, &end, 10);
        if (errno == 0 && end != tail + 4 && *end == '\0')
            kind = CLUSTER_REPLY;
    }
    int len = natsMsg_GetDataLength(m);
    size_t rlen = kind == CLUSTER_REQUEST ? strlen(reply) : 0;
    qent_t *e = kind && len >= 0 ? malloc(sizeof *e + (size_t)len + rlen + 1) : NULL;
    if (e != NULL) {
        e->kind = kind;
        e->partition = CLUSTER_FW;
        e->epoch = 0;
        e->seq = 0;
        e->token = token;
        e->len = (size_t)len;
        memcpy(e->data, natsMsg_GetData(m), (size_t)len);
        e->reply = (char *)e->data + len;
        memcpy(e->reply, kind == CLUSTER_REQUEST ? reply : "", rlen + 1);
        pthread_mutex_lock(&c->mu);
        if (!c->stopping && c->st.queue_bytes + e->len <= c->queue_budget) {
            queue_push(c, e);
            e = NULL;
        } else
            c->st.route_dropped++;
        pthread_mutex_unlock(&c->mu);
    }
    free(e);
    natsMsg_Destroy(m);
}

static int route_subscribe(cluster_t *c, err_detail_t *detail)
{
    char subj[CONF_STR_MAX + 32];
    snprintf(subj, sizeof subj, "%s.node.%" PRIu32 ".>", c->prefix, c->node);
    natsStatus s = natsConnection_Subscribe(&c->route_sub, c->nc, subj, on_route_msg, c);
    if (s != NATS_OK)
        return err_set(detail, ERR_UNAVAILABLE, "cluster_nats", "cannot subscribe to %s: %s", subj,
                       nats_text(s));
    return 0;
}

bool cluster_holds(cluster_t *c, uint32_t partition)
{
    pthread_mutex_lock(&c->mu);
    part_t *p = part_of(c, partition);
    bool held = p != NULL && p->held && p->epoch != 0 && p->started;
    pthread_mutex_unlock(&c->mu);
    return held;
}

int cluster_forward(cluster_t *c, uint32_t partition, uint64_t token, const uint8_t *data,
                    size_t len)
{
    char owner[CONF_STR_MAX];
    if (partition >= c->partitions || len > INT32_MAX)
        return ERR_INVALID;
    int rc = cluster_owner_endpoint(c, partition, owner, sizeof owner);
    if (rc != 0)
        return rc;
    part_t *p = &c->parts[partition];
    char subj[CONF_STR_MAX + 32], reply[CONF_STR_MAX + 64];
    snprintf(subj, sizeof subj, "%s.node.%" PRIu32 ".req", c->prefix, p->owner_node);
    snprintf(reply, sizeof reply, "%s.node.%" PRIu32 ".rep.%" PRIu64, c->prefix, c->node, token);
    natsStatus s = natsConnection_PublishRequest(c->nc, subj, reply, data, (int)len);
    return s == NATS_OK ? 0 : ERR_UNAVAILABLE;
}

void cluster_answer(cluster_t *c, const cluster_entry_t *request, const uint8_t *data, size_t len)
{
    const qent_t *e = request->msg;
    if (e == NULL || request->kind != CLUSTER_REQUEST || len > INT32_MAX)
        return;
    if (natsConnection_Publish(c->nc, e->reply, data, (int)len) != NATS_OK)
        log_debug("cluster: an answer to a forwarded read was not sent");
}

int cluster_notify(cluster_t *c, uint32_t node, uint64_t token, const uint8_t *data, size_t len)
{
    char subj[CONF_STR_MAX + 64];
    if (len > INT32_MAX)
        return ERR_INVALID;
    snprintf(subj, sizeof subj, "%s.node.%" PRIu32 ".rep.%" PRIu64, c->prefix, node, token);
    return natsConnection_Publish(c->nc, subj, data, (int)len) == NATS_OK ? 0 : ERR_UNAVAILABLE;
}

int cluster_new(const conf_t *conf, const char *endpoint, cluster_t **out, err_detail_t *detail)
{
    *out = NULL;
    if (!name_ok(conf->cluster_prefix))
        return err_set(detail, ERR_INVALID, "cluster_prefix",
                       "1..64 letters, digits, '-' or '_' (a stream and bucket name)");
    if (conf->cluster_node >= conf->cluster_nodes)
        return err_set(detail, ERR_INVALID, "cluster_node",
                       "%" PRIu64 " is not below cluster_nodes (%" PRIu64 ")", conf->cluster_node,
                       conf->cluster_nodes);
    if (conf->cluster_partitions < 1 || conf->cluster_partitions > 1024)
        return err_set(detail, ERR_INVALID, "cluster_partitions", "1..1024");
    if (conf->cluster_lease_ms < 300)
        return err_set(detail, ERR_INVALID, "cluster_lease_ms", "at least 300 ms");
    if (endpoint == NULL || strlen(endpoint) >= CONF_STR_MAX)
        return err_set(detail, ERR_INVALID, "listen", "no endpoint, or a too long one");
    cluster_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return err_set(detail, ERR_NOMEM, "cluster", "out of memory");
    c->efd = -1;
    snprintf(c->prefix, sizeof c->prefix, "%s", conf->cluster_prefix);
    snprintf(c->bucket, sizeof c->bucket, "%s-leases", conf->cluster_prefix);
    snprintf(c->endpoint, sizeof c->endpoint, "%s", endpoint);
    c->node = (uint32_t)conf->cluster_node;
    c->nodes = (uint32_t)conf->cluster_nodes;
    c->partitions = (uint32_t)conf->cluster_partitions;
    snprintf(c->lease_value, sizeof c->lease_value, "%" PRIu32 " %s", c->node, endpoint);
    c->lease_ms = (int64_t)conf->cluster_lease_ms;
    c->started_ms = now_ms();
    c->kv_wait_ms = c->lease_ms / 2 < 250 ? 250 : c->lease_ms / 2;
    c->fetch = (int64_t)conf->cluster_fetch;
    /* a stopped fetcher ends within one fetch: keep that well inside a lease period */
    c->fetch_wait_ms = c->lease_ms / 5 < 500 ? c->lease_ms / 5 : 500;
    c->queue_budget = conf->cluster_queue_bytes;
    atomic_init(&c->connected, false);
    atomic_init(&c->halt, false);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->pub_mu, NULL);
    pthread_mutex_init(&c->renew_mu, NULL);
    pthread_cond_init(&c->space, &ca);
    pthread_cond_init(&c->tick, &ca);
    pthread_cond_init(&c->closed_cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = 0;
    c->parts = calloc((size_t)c->partitions + 1, sizeof *c->parts);
    c->renewals = calloc(c->partitions, sizeof *c->renewals);
    c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c->parts == NULL || c->renewals == NULL || c->efd < 0) {
        rc = err_set(detail, ERR_NOMEM, "cluster", "out of memory or file descriptors");
        goto fail;
    }
    for (uint32_t i = 0; i <= c->partitions; i++)
        c->parts[i].id = i < c->partitions ? i : CLUSTER_FW;
    c->st.partitions = c->partitions;
    if ((rc = connect_nats(c, conf, detail)) != 0)
        goto fail;
    /* a JetStream cluster electing leaders (a node restarting) answers "temporarily
     * unavailable" for a few seconds: keep asking within cluster_connect_ms */
    for (int64_t end = c->started_ms + (int64_t)conf->cluster_connect_ms;;) {
        rc = ensure_stream(c, conf, detail);
        if (rc == 0) {
            kvStore_Destroy(c->kv);
            c->kv = NULL;
            rc = ensure_bucket(c, conf, detail);
        }
        if (rc != ERR_UNAVAILABLE || now_ms() >= end)
            break;
        usleep(250 * 1000);
    }
    if (rc != 0)
        goto fail;
    if ((rc = route_subscribe(c, detail)) != 0)
        goto fail;
    pthread_mutex_lock(&c->mu);
    part_t *fw = part_of(c, CLUSTER_FW);
    fw->held = true;
    claim_locked(c, fw);
    pthread_mutex_unlock(&c->mu);
    if (pthread_create(&c->lease_thread, NULL, lease_main, c) != 0) {
        rc = err_set(detail, ERR_NOMEM, "cluster", "cannot start the lease thread");
        goto fail;
    }
    c->lease_thread_ok = true;
    log_info("cluster: node %" PRIu32 " of %" PRIu32 " on stream %s (%" PRIu32 " partitions)",
             c->node, c->nodes, c->prefix, c->partitions);
    *out = c;
    return 0;
fail:
    cluster_destroy(&c);
    return rc;
}

void cluster_destroy(cluster_t **cp)
{
    cluster_t *c = cp ? *cp : NULL;
    if (c == NULL)
        return;
    *cp = NULL;
    if (c->route_sub) {
        natsSubscription_Unsubscribe(c->route_sub);
        natsSubscription_Destroy(c->route_sub);
        c->route_sub = NULL;
    }
    if (c->parts) {
        pthread_mutex_lock(&c->mu);
        c->stopping = true;
        atomic_store(&c->halt, true);
        pthread_cond_broadcast(&c->tick);
        for (uint32_t i = 0; i <= c->partitions; i++)
            fetcher_stop(c, &c->parts[i]);
        pthread_mutex_unlock(&c->mu);
        if (c->lease_thread_ok)
            pthread_join(c->lease_thread, NULL);
        for (uint32_t i = 0; i <= c->partitions; i++) {
            part_t *p = &c->parts[i];
            if (p->fetcher) {
                pthread_join(p->fetcher->thread, NULL);
                free(p->fetcher);
            }
            /* hand the leases back now rather than let other nodes wait a whole lease */
            if (p->held && p->id != CLUSTER_FW && c->kv) {
                char key[32];
                key_of(key, sizeof key, i);
                kvStore_Delete(c->kv, key);
            }
        }
        if (c->kv) {
            char key[32];
            snprintf(key, sizeof key, "n.%" PRIu32, c->node);
            kvStore_Delete(c->kv, key);
        }
    }
    for (qent_t *e = c->head, *next; e; e = next) {
        next = e->next;
        free(e);
    }
    kvStore_Destroy(c->kv);
    jsCtx_Destroy(c->kvjs);
    jsCtx_Destroy(c->js);
    if (c->nc) {
        atomic_store(&c->halt, true);
        /* the acks cluster_done wrote are buffered: send them before closing */
        if (atomic_load(&c->connected))
            natsConnection_FlushTimeout(c->nc, 1000);
        natsConnection_Close(c->nc);
        pthread_mutex_lock(&c->mu);
        struct timespec ts;
        deadline_ts(&ts, now_ms() + 10000); /* bounded, should libnats never call back */
        while (!c->closed && pthread_cond_timedwait(&c->closed_cv, &c->mu, &ts) == 0)
            ;
        pthread_mutex_unlock(&c->mu);
        natsConnection_Destroy(c->nc);
    }
    natsOptions_Destroy(c->opts);
    if (c->efd >= 0)
        close(c->efd);
    pthread_cond_destroy(&c->space);
    pthread_cond_destroy(&c->tick);
    pthread_cond_destroy(&c->closed_cv);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->pub_mu);
    pthread_mutex_destroy(&c->renew_mu);
    free(c->renewals);
    free(c->pub_map);
    free(c->parts);
    free(c);
}

int cluster_fd(const cluster_t *c)
{
    return c->efd;
}

/* ---- intake ---- */

static void pub_map_put(cluster_t *c, natsMsg *m, size_t index)
{
    size_t mask = c->pub_cap - 1, h = ((uintptr_t)m >> 4) * 0x9E3779B97F4A7C15ull & mask;
    while (c->pub_map[h].msg != NULL)
        h = (h + 1) & mask;
    c->pub_map[h].msg = m;
    c->pub_map[h].index = index;
}

static void pub_map_forget(cluster_t *c, natsMsg *m)
{
    size_t mask = c->pub_cap - 1, h = ((uintptr_t)m >> 4) * 0x9E3779B97F4A7C15ull & mask;
    for (; c->pub_map[h].msg != NULL; h = (h + 1) & mask)
        if (c->pub_map[h].msg == m) {
            c->pub_map[h].msg = PUB_GONE;
            return;
        }
}

static void pub_tally(cluster_t *c, cluster_pub_t *pubs, size_t n)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n; i++) {
        if (pubs[i].status == 0 || pubs[i].status == ERR_DUPLICATE)
            c->st.published++;
        if (pubs[i].status == ERR_DUPLICATE)
            c->st.publish_dups++;
        if (pubs[i].status == ERR_UNAVAILABLE)
            c->st.publish_failed++;
    }
    pthread_mutex_unlock(&c->mu);
}

int cluster_publish(cluster_t *c, cluster_pub_t *pubs, size_t n, int64_t timeout_ms)
{
    for (size_t i = 0; i < n; i++) {
        pubs[i].status = ERR_UNAVAILABLE;
        pubs[i].seq = 0;
    }
    if (n == 0)
        return 0;
    if (!atomic_load(&c->connected) || natsConnection_Status(c->nc) != NATS_CONN_STATUS_CONNECTED) {
        pub_tally(c, pubs, n);
        return ERR_UNAVAILABLE;
    }
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    pub_slot_t *map = calloc(cap, sizeof *map);
    if (map == NULL) {
        pub_tally(c, pubs, n);
        return ERR_UNAVAILABLE;
    }
    pthread_mutex_lock(&c->pub_mu);
    free(c->pub_map);
    c->pub_map = map;
    c->pub_cap = cap;
    c->pubs = pubs;
    pthread_mutex_unlock(&c->pub_mu);

    int64_t deadline = now_ms() + timeout_ms;
    char subject[CONF_STR_MAX + 32];
    for (size_t i = 0; i < n; i++) {
        cluster_pub_t *pub = &pubs[i];
        size_t idlen = pub->msg_id ? strnlen(pub->msg_id, MSG_ID_MAX + 1) : 0;
        if (idlen == 0 || idlen > MSG_ID_MAX || pub->len > INT32_MAX ||
            (pub->partition >= c->partitions && pub->partition != CLUSTER_FW)) {
            pub->status = ERR_INVALID;
            continue;
        }
        if (pub->partition == CLUSTER_FW)
            snprintf(subject, sizeof subject, "%s.fw", c->prefix);
        else
            snprintf(subject, sizeof subject, "%s.ev.%" PRIu32, c->prefix, pub->partition);
        natsMsg *m = NULL;
        natsStatus s = natsMsg_Create(&m, subject, NULL, (const char *)pub->data, (int)pub->len);
        if (s == NATS_OK)
            s = natsMsgHeader_Set(m, "Nats-Msg-Id", pub->msg_id);
        if (s != NATS_OK) {
            natsMsg_Destroy(m);
            continue;
        }
        pthread_mutex_lock(&c->pub_mu);
        pub_map_put(c, m, i);
        pthread_mutex_unlock(&c->pub_mu);
        natsMsg *owned = m; /* the library takes it (and NULLs owned) on success */
        s = js_PublishMsgAsync(c->js, &owned, NULL);
        if (s != NATS_OK) {
            pthread_mutex_lock(&c->pub_mu);
            pub_map_forget(c, m);
            pthread_mutex_unlock(&c->pub_mu);
            natsMsg_Destroy(owned);
            log_debug("cluster: publish: %s", nats_text(s));
        }
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    int64_t left = deadline - now_ms();
    po.MaxWait = left > 1 ? left : 1;
    natsStatus s = js_PublishAsyncComplete(c->js, &po);
    if (s != NATS_OK) {
        /* the unanswered ones stay ERR_UNAVAILABLE; take them back so no late ack lands in the
         * next call's map */
        natsMsgList pending = {0};
        if (js_PublishAsyncGetPendingList(&pending, c->js) == NATS_OK)
            natsMsgList_Destroy(&pending);
    }
    pthread_mutex_lock(&c->pub_mu);
    c->pub_cap = 0;
    c->pubs = NULL;
    free(c->pub_map);
    c->pub_map = NULL;
    pthread_mutex_unlock(&c->pub_mu);
    pub_tally(c, pubs, n);
    return 0;
}

/* ---- application ---- */

size_t cluster_take(cluster_t *c, cluster_entry_t *out, size_t max, size_t max_bytes)
{
    size_t n = 0, bytes = 0;
    int64_t t = now_ms(), fence = c->lease_ms - c->lease_ms / 3;
    pthread_mutex_lock(&c->mu);
    if (c->fd_armed) {
        uint64_t drain;
        if (read(c->efd, &drain, sizeof drain) < 0 && errno != EAGAIN)
            log_warn("cluster: eventfd");
        c->fd_armed = false;
    }
    qent_t *prev = NULL, *e = c->head;
    while (e && n < max) {
        if (e->kind == CLUSTER_REQUEST || e->kind == CLUSTER_REPLY) {
            if (n > 0 && bytes + e->len > max_bytes)
                break;
            cluster_entry_t *o = &out[n++];
            *o = (cluster_entry_t){.kind = e->kind,
                                   .partition = e->partition,
                                   .data = e->data,
                                   .len = e->len,
                                   .token = e->token,
                                   .reply_to = e->reply,
                                   .msg = e};
            bytes += e->len;
            e = queue_unlink(c, prev, e);
            continue;
        }
        part_t *p = part_of(c, e->partition);
        if (p == NULL || !p->held || p->epoch != e->epoch) {
            qent_t *next = queue_unlink(c, prev, e);
            free(e);
            e = next;
            continue;
        }
        if (e->kind == CLUSTER_MSG && p->id != CLUSTER_FW && t - p->renewed_ms > fence) {
            /* not renewed lately: maybe no longer ours; the next renewal signals the fd */
            prev = e;
            e = e->next;
            continue;
        }
        if (e->kind == CLUSTER_MSG && n > 0 && bytes + e->len > max_bytes)
            break;
        cluster_entry_t *o = &out[n++];
        o->kind = e->kind;
        o->partition = e->partition;
        o->epoch = e->epoch;
        o->seq = e->seq;
        o->data = e->kind == CLUSTER_MSG ? e->data : NULL;
        o->len = e->kind == CLUSTER_MSG ? e->len : 0;
        o->msg = NULL;
        qent_t *next = queue_unlink(c, prev, e);
        if (e->kind == CLUSTER_MSG) {
            bytes += e->len;
            o->msg = e;
        } else {
            free(e);
        }
        e = next;
    }
    /* more than this call could take is waiting: stay readable (entries the fence holds
     * back are signalled by the next renewal) */
    if (e)
        signal_fd(c);
    pthread_mutex_unlock(&c->mu);
    return n;
}

void cluster_done(cluster_t *c, cluster_entry_t *entries, size_t n, bool committed)
{
    uint64_t acked = 0;
    for (size_t i = 0; i < n; i++) {
        qent_t *e = entries[i].msg;
        if (e != NULL && (entries[i].kind == CLUSTER_REQUEST || entries[i].kind == CLUSTER_REPLY)) {
            free(e);
            entries[i].msg = NULL;
            entries[i].data = NULL;
            continue;
        }
        if (entries[i].kind != CLUSTER_MSG || e == NULL)
            continue;
        if (committed) {
            /* an ack is one small publish to the message's reply subject ("+ACK"); the
             * connection writes it in the background */
            if (e->reply[0] && natsConnection_PublishString(c->nc, e->reply, "+ACK") == NATS_OK)
                acked++;
        } else {
            pthread_mutex_lock(&c->mu);
            part_t *p = part_of(c, e->partition);
            if (p)
                rewind_locked(c, p, e->epoch, 0);
            pthread_mutex_unlock(&c->mu);
        }
        free(e);
        entries[i].msg = NULL;
        entries[i].data = NULL;
    }
    if (acked) {
        pthread_mutex_lock(&c->mu);
        c->st.acked += acked;
        pthread_mutex_unlock(&c->mu);
    }
}

void cluster_rewind(cluster_t *c, uint32_t partition, uint64_t epoch, int64_t delay_ms)
{
    pthread_mutex_lock(&c->mu);
    part_t *p = part_of(c, partition);
    if (p)
        rewind_locked(c, p, epoch, delay_ms);
    pthread_mutex_unlock(&c->mu);
}

/* ---- observation ---- */

void cluster_get_stats(cluster_t *c, cluster_stats_t *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    out->held = 0;
    memset(out->held_mask, 0, sizeof out->held_mask);
    for (uint32_t i = 0; i < c->partitions; i++)
        if (c->parts[i].held) {
            out->held++;
            out->held_mask[i / 64] |= 1ull << (i % 64);
        }
    pthread_mutex_unlock(&c->mu);
    out->connected = atomic_load(&c->connected);
}

int cluster_owner_endpoint(cluster_t *c, uint32_t partition, char *buf, size_t cap)
{
    if (partition >= c->partitions)
        return ERR_INVALID;
    part_t *p = &c->parts[partition];
    int64_t t = now_ms();
    if (p->owner_ms == 0 || t - p->owner_ms >= c->lease_ms / 3) {
        char key[32];
        key_of(key, sizeof key, partition);
        kvEntry *e = NULL;
        natsStatus s = kvStore_Get(&e, c->kv, key);
        if (s == NATS_OK) {
            const char *v = kvEntry_ValueString(e), *sp = v ? strchr(v, ' ') : NULL;
            char *end = NULL;
            unsigned long node = v ? strtoul(v, &end, 10) : 0;
            if (sp && sp[1] && end == sp && node < c->nodes) {
                snprintf(p->owner, sizeof p->owner, "%s", sp + 1);
                p->owner_node = (uint32_t)node;
                p->owner_status = 0;
            } else {
                p->owner_status = ERR_NOT_FOUND; /* not a lease this code wrote */
            }
        } else {
            p->owner_status = s == NATS_NOT_FOUND ? ERR_NOT_FOUND : ERR_UNAVAILABLE;
        }
        kvEntry_Destroy(e);
        p->owner_ms = t;
    }
    if (p->owner_status != 0)
        return p->owner_status;
    if (strlen(p->owner) >= cap)
        return ERR_LIMIT;
    memcpy(buf, p->owner, strlen(p->owner) + 1);
    return 0;
}
