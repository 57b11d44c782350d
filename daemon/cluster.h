/*
 * cluster: masteryd shards on a NATS JetStream cluster (issue 17). The only module that
 * includes nats.h. Off (never created) when conf->cluster_nats is empty.
 *
 * The stream. One JetStream stream, conf->cluster_prefix (default "masteryd"), file storage,
 * conf->cluster_replicas copies, retention by limits (kept, so a shard can be rebuilt from it),
 * de-duplication window conf->cluster_dedup_seconds, subjects
 *   <prefix>.ev.<p>   evidence items of partition p (0 <= p < cluster_partitions), one per msg
 *   <prefix>.fw       framework requests (PutFramework, ImportCase), which every node applies
 * A message's Nats-Msg-Id is the caller's msg_id (the server makes it from source and evidence
 * id), so a tool's retry within the window is stored once and answered "duplicate".
 *
 * Partitions. A learner's partition is cluster_partition(): SHA-256 of a fixed label and the
 * id, so every node (and a test) computes it alike without any key. Partitions are owned by
 * leases in the KV bucket <prefix>-leases (TTL cluster_lease_ms, history 1):
 *   key "p.<p>"    value: the owner's node index and endpoint, renewed every lease/3 with a
 *                  revision-checked update (a node that missed its renewal has lost it);
 *   key "n.<i>"    value: node i's endpoint, its heartbeat, put every lease/3.
 * Partition p's preferred node is p % cluster_nodes. A node takes the preferred ones it can
 * create; it takes another node's partition only when that node's heartbeat and the lease are
 * both gone (expired: the node died) and it has itself run for a lease (a node starting with
 * it has had time to put its heartbeat), and gives it back (deletes the lease) once the preferred
 * node's heartbeat is seen again. A node that fails to renew a lease stops applying that
 * partition at once (fencing: nothing is applied after lease_ms - margin from the last
 * successful renewal).
 *
 * Consumption. For each partition it holds, the node runs a durable pull consumer
 * "<prefix>-p<p>" (filter <prefix>.ev.<p>, explicit ack) created at claim time to start at the
 * sequence after the last one this node's store applied: the server learns that sequence from
 * its store and answers a CLAIM entry with cluster_start(). Frameworks: every node has its own
 * durable consumer "<prefix>-fw-<node>" on <prefix>.fw, claimed the same way at start
 * (partition CLUSTER_FW). Messages are acknowledged only after the transaction that applied
 * them (and recorded their sequence) committed: cluster_done(). A failed or refused
 * application rewinds the partition (cluster_rewind), which claims it again from the store's
 * sequence: messages are applied in stream order, none twice, none skipped.
 *
 * Threads: cluster_new starts a lease thread and one fetch thread per held partition; all
 * other calls are made by the server's one thread. Fetched messages wait in a queue bounded
 * in bytes (cluster_queue_bytes); the fetch threads wait while it is full.
 */
#ifndef MASTERY_CLUSTER_H
#define MASTERY_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "err.h"

#define CLUSTER_FW UINT32_MAX /* the frameworks' "partition": every node consumes it */

typedef struct cluster cluster_t;

/* A learner's partition: SHA-256("masteryd-partition\0" || learner_id) read as a big-endian
 * 64-bit number from its first 8 bytes, modulo partitions (> 0). Pure; any thread. */
uint32_t cluster_partition(const char *learner_id, uint32_t partitions);

/*
 * Connects to conf->cluster_nats (comma-separated URLs; reconnects forever), creates the
 * stream and the lease bucket if they do not exist (and checks that existing ones have the
 * configured subjects and replicas, and the bucket the configured TTL: ERR_CONFLICT naming
 * "cluster_partitions", "cluster_replicas" or "cluster_lease_ms" otherwise), starts the lease
 * thread, and queues a CLAIM for CLUSTER_FW.
 * endpoint: this node's request endpoint as bound, published in its heartbeat (copied).
 * Caller owns *out. Errors: ERR_UNAVAILABLE (no NATS server answered, or JetStream kept
 * refusing the stream and bucket requests, within conf->cluster_connect_ms), ERR_CONFLICT,
 * ERR_INVALID (a setting), ERR_NOMEM, with detail.
 */
int cluster_new(const conf_t *conf, const char *endpoint, cluster_t **out, err_detail_t *detail);

/* Stops the threads (a fetch in flight is abandoned: its messages are redelivered to whoever
 * claims the partition next), releases held leases and the heartbeat (deletes them, so another
 * node can take them at once), flushes the acks written and closes the connection. Every
 * CLUSTER_MSG taken must have been handed to cluster_done() before. Sets *c NULL; NULL is
 * fine. */
void cluster_destroy(cluster_t **c);

/* A file descriptor that is readable while cluster_take() has something (an eventfd;
 * cluster_take() resets it). For the server's poll. */
int cluster_fd(const cluster_t *c);

/* ---- intake: the server publishes tools' items before it answers them ---- */

typedef struct cluster_pub {
    uint32_t partition;  /* in: 0..cluster_partitions-1, or CLUSTER_FW */
    const char *msg_id;  /* in: Nats-Msg-Id, 1..512 bytes, borrowed for the call */
    const uint8_t *data; /* in: the payload (a packed ClusterItem or Request); borrowed */
    size_t len;          /* in */
    int status;          /* out: 0 stored, ERR_DUPLICATE (the window had the msg_id: stored
                            before), ERR_UNAVAILABLE (no ack in time / no quorum), ERR_INVALID
                            (a caller's bug: no such partition, msg_id empty or too long) */
    uint64_t seq;        /* out: the stream sequence when status is 0 or ERR_DUPLICATE */
} cluster_pub_t;

/*
 * Publishes pubs[0..n) asynchronously and waits until JetStream acknowledged every one or
 * timeout_ms passed; fills each status and seq. Returns 0 when every item has its status
 * (some may be ERR_UNAVAILABLE), or ERR_UNAVAILABLE when the connection is down (every
 * status is ERR_UNAVAILABLE). An acknowledgement means the stream stored the message on a
 * quorum of its replicas.
 */
int cluster_publish(cluster_t *c, cluster_pub_t *pubs, size_t n, int64_t timeout_ms);

/* ---- application: what the server applies in its group commits ---- */

typedef enum cluster_entry_kind {
    CLUSTER_CLAIM = 1,   /* this node now holds the partition: answer with cluster_start() */
    CLUSTER_MSG = 2,     /* a message to apply, in stream order within its partition */
    CLUSTER_REQUEST = 3, /* a read another node forwarded here (cluster_forward): answer it with
                            cluster_answer() */
    CLUSTER_REPLY = 4,   /* the answer (a packed Reply) for the client this node's token waits
                            for: of a forwarded read, or of a learner write another node applied */
} cluster_entry_kind_t;

typedef struct cluster_entry {
    cluster_entry_kind_t kind;
    uint32_t partition;  /* or CLUSTER_FW */
    uint64_t epoch;      /* the claim it belongs to (cluster_start / cluster_rewind name it) */
    uint64_t seq;        /* CLUSTER_MSG: its stream sequence */
    const uint8_t *data; /* payload, owned by the cluster until cluster_done() */
    size_t len;
    uint64_t token;       /* CLUSTER_REPLY: the token of cluster_forward / cluster_notify */
    const char *reply_to; /* CLUSTER_REQUEST: the subject its answer goes to (the answer is
                             sealed for it: clusterkey.h) */
    void *msg;            /* private */
} cluster_entry_t;

/*
 * Takes up to max entries, whose payloads add up to at most max_bytes (at least one entry
 * is taken if any waits), in the order they came: within a partition, in stream order.
 * Entries of a partition no longer held, or of an older claim, are dropped here and never
 * returned. Returns how many were written to out. Every CLUSTER_MSG taken must be handed
 * back to cluster_done() exactly once, before cluster_destroy(). Fencing: messages of a
 * partition whose lease was last renewed more than lease_ms - lease_ms / 3 ago wait in the
 * queue (the next renewal makes the fd readable again; a lost lease drops them).
 */
size_t cluster_take(cluster_t *c, cluster_entry_t *out, size_t max, size_t max_bytes);

/* The answer to a CLAIM: the store has applied partition's messages up to next_seq - 1; the
 * consumer starts at next_seq (1: from the beginning, a rebuild). Ignored if epoch is no
 * longer the partition's current claim. */
void cluster_start(cluster_t *c, uint32_t partition, uint64_t epoch, uint64_t next_seq);

/*
 * After the transaction that applied entries[0..n) ended: committed -> each CLUSTER_MSG is
 * acknowledged to JetStream; not committed -> each of their partitions is rewound (as
 * cluster_rewind). Entries of the other kinds are only freed (every taken entry comes back
 * here once). Payloads are freed either way; entries must not be used after.
 */
void cluster_done(cluster_t *c, cluster_entry_t *entries, size_t n, bool committed);

/* The server could not apply a message of partition's claim epoch yet (e.g. its framework has
 * not arrived): everything fetched for it is dropped and the partition claimed again (a new
 * CLAIM), after delay_ms. */
void cluster_rewind(cluster_t *c, uint32_t partition, uint64_t epoch, int64_t delay_ms);

/* ---- routing: requests about a learner another node holds ---- */

/* Whether this node holds partition's lease now (and may apply and answer for it). */
bool cluster_holds(cluster_t *c, uint32_t partition);

/*
 * Sends a request (a packed ClusterItem) to the node holding partition, over core NATS
 * ("<prefix>.node.<owner>.req", answered to "<prefix>.node.<this>.rep.<token>"): its answer
 * comes back here as a CLUSTER_REPLY entry with token, or never (the caller times it out).
 * Returns 0, ERR_NOT_FOUND (nobody holds the partition now), ERR_UNAVAILABLE.
 */
int cluster_forward(cluster_t *c, uint32_t partition, uint64_t token, const uint8_t *data,
                    size_t len);

/* Answers a CLUSTER_REQUEST entry (before handing it to cluster_done) with a packed Reply. */
void cluster_answer(cluster_t *c, const cluster_entry_t *request, const uint8_t *data, size_t len);

/* Sends node the answer (a packed Reply) its client waits for under token (the stream
 * sequence of a learner write this node applied). Returns 0 or ERR_UNAVAILABLE. */
int cluster_notify(cluster_t *c, uint32_t node, uint64_t token, const uint8_t *data, size_t len);

/* ---- observation (Metrics, Health, tests) ---- */

typedef struct cluster_stats {
    uint32_t partitions;     /* cluster_partitions */
    uint32_t held;           /* partitions this node holds now */
    uint64_t held_mask[16];  /* bit p: held (partitions up to 1024) */
    uint64_t published;      /* messages acknowledged by JetStream (intake), since start */
    uint64_t publish_dups;   /* of them, found in the de-duplication window */
    uint64_t publish_failed; /* not acknowledged in time */
    uint64_t fetched;        /* messages received from consumers */
    uint64_t acked;          /* acknowledged after commit */
    uint64_t claims;         /* partitions claimed (including rewinds) */
    uint64_t takeovers;      /* claims of partitions whose preferred node is another */
    uint64_t releases;       /* leases given up (handed back or lost) */
    uint64_t queue_bytes;    /* payload bytes waiting in the queue */
    uint64_t route_dropped;  /* forwarded reads and answers dropped over the queue's budget */
    bool connected;
} cluster_stats_t;

void cluster_get_stats(cluster_t *c, cluster_stats_t *out);

/* The endpoint of the node holding partition p's lease, as in its lease value, into buf
 * (cap bytes, NUL-terminated). Returns 0, ERR_NOT_FOUND (nobody holds it now),
 * ERR_UNAVAILABLE, ERR_LIMIT (cap too small) or ERR_INVALID (no such partition). Blocks for
 * one KV read (cached for lease_ms / 3). The server's thread only. */
int cluster_owner_endpoint(cluster_t *c, uint32_t partition, char *buf, size_t cap);

#endif
