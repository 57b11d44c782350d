/*
 * handler: one function per request type, dispatched from a table that also says whether the
 * operation writes and which role may call it. Validation (every field, with its name) happens
 * here, before the engine touches the store.
 *
 * A batch (group commit) is driven by the server:
 *   handler_batch_begin(h, now)
 *   handler_apply(...) for each request       -> a packed Reply per request (not yet sent)
 *   store_txn_commit(txn)
 *   handler_batch_end(h, txn_ok)              -> on success the batch's events are ready to
 *                                                publish; on failure they are dropped and the
 *                                                in-memory catalog is rebuilt from the store
 * Each write request runs in a nested transaction, so a request that fails leaves nothing
 * behind while the rest of its batch commits.
 */
#ifndef MASTERY_HANDLER_H
#define MASTERY_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "badges.h"
#include "conf.h"
#include "err.h"
#include "logref.h"
#include "metrics.h"
#include "store.h"
#include "wire.h"

typedef struct handler handler_t;

/*
 * Who sent a request. In development mode (not authenticated) every operation is allowed; an
 * authenticated client may call the operations its role is listed for in the request table
 * (FORBIDDEN otherwise), and a tool may submit evidence only for competencies whose every
 * framework is in its scope (FORBIDDEN per item, nothing of that item written).
 */
typedef struct handler_client {
    const char *name; /* recorded as the source / actor when authenticated; "" in dev mode */
    bool authenticated;
    const auth_client_t *client; /* role and scope; NULL unless authenticated. Borrowed for
                                    the call */
} handler_client_t;

/* Daemon-wide counters the handler reports in Health and Metrics; main owns it, the server
 * and the handler count into it (one thread). */
typedef struct handler_stats {
    uint64_t requests;
    uint64_t commits;
    int64_t started_at;
    bool dev_mode;
    char events_endpoint[1024]; /* as bound (server_events_endpoint), reported in Health */
    /* Log lines name a learner by logref_make(logref_key, id); without a key (unit tests)
     * they name no learner at all. */
    bool logref_set;
    uint8_t logref_key[LOGREF_KEY_LEN];
    metrics_t m;
} handler_stats_t;

/*
 * Creates a handler over st and badges (borrowed; outlive the handler; badges may be NULL:
 * credential operations then answer UNAVAILABLE) and loads the frameworks.
 * Caller owns *out; free with handler_destroy(). Returns 0 or an error with detail.
 */
int handler_new(store_t *st, const conf_t *conf, handler_stats_t *stats, badges_t *badges,
                handler_t **out, err_detail_t *detail);
void handler_destroy(handler_t **h);

/* Whether the request's operation writes (needs a write transaction). */
bool handler_request_writes(const wire_request_t *req);

/* Whether a client (secure mode; borrowed) may receive published events: exactly when it may
 * call ReadEvents, so the request table decides both (teachers, admins, auditors; not tools,
 * whose scope names frameworks while events carry learners). */
bool handler_may_subscribe(const auth_client_t *client);

void handler_batch_begin(handler_t *h, int64_t now_ms);

/*
 * Applies one request inside the batch transaction and packs its reply into *reply (caller
 * owns; free()). Returns 0 — the reply may still carry an error status for the client — or a
 * store error when the batch transaction itself failed (ERR_RETRY: map full, grow and rerun;
 * others: the batch cannot commit).
 */
int handler_apply(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                  const handler_client_t *who, uint8_t **reply, size_t *len);

/* Just before a write batch commits: signs the transparency log's checkpoint if the batch
 * grew it (in txn). Returns 0 or an error (txn then failed: the batch must not commit). */
int handler_batch_seal(handler_t *h, store_txn_t *txn);

/* Ends the batch: committed says whether store_txn_commit() returned 0. On success the
 * batch's state-changing acts (framework loads, overrides, credentials issued, revoked,
 * suspended or reinstated, retractions) are logged at info level, one line each, and counted;
 * on failure they are dropped, since none of them happened. */
int handler_batch_end(handler_t *h, bool committed, err_detail_t *detail);

/*
 * The review sweep (issue 15): publishes review_due for due moments up to the batch's now,
 * looking at no more than max index entries, so one sweep's work is bounded. Runs in a child
 * of txn, inside a batch (handler_batch_begin .. handler_batch_end): the server adds it to a
 * write batch that is committing anyway (no commit of its own), or runs it alone when no write
 * batch came for review_sweep_ms. *published: how many events. Returns 0, or an error after
 * which nothing of the sweep is in txn or the journal (the batch may still commit).
 */
int handler_review_sweep(handler_t *h, store_txn_t *txn, size_t max, size_t *published);

/* Events of the last committed batch, in seq order: topic and packed Event, borrowed until
 * the next handler_batch_begin(). */
size_t handler_event_count(const handler_t *h);
void handler_event_get(const handler_t *h, size_t i, const char **topic, size_t *topic_len,
                       const uint8_t **data, size_t *len);

/*
 * The idle at-risk sweep (groups.h): handler_sweep_due() says whether risk_sweep_seconds have
 * passed since the last one (and starts the next period); handler_sweep() then evaluates the
 * at-risk rules for the next risk_sweep_learners learners (resuming where the last sweep
 * stopped, wrapping at the end) and journals an at_risk event for each that entered the state.
 * The caller runs it like a batch: handler_batch_begin, handler_sweep in a write transaction,
 * commit, handler_batch_end, publish the events. Returns 0 or a store error (the transaction
 * must not commit; the same learners are looked at next time).
 */
bool handler_sweep_due(handler_t *h, int64_t now);
int handler_sweep(handler_t *h, store_txn_t *txn, uint64_t *learners, uint64_t *entered);

/*
 * The retention sweep (issue 16), run like handler_sweep: every retention_sweep_seconds, over
 * retention_sweep_learners learners, shredding the payload (evidence id, narrative, url) of
 * items observed more than retention_days ago, except a held learner's. Scores stay, so no
 * state changes. *shredded: items shredded.
 */
bool handler_retention_due(handler_t *h, int64_t now);
int handler_retention_sweep(handler_t *h, store_txn_t *txn, uint64_t *learners, uint64_t *shredded);

/*
 * Re-keying after an erasure (records_rekey_t): while handler_rekey_pending(), the server calls
 * handler_rekey_step() between batches; each step is its own write transaction(s): it starts
 * a rotation (a new store key epoch, written to store.key first), rewraps a bounded number of
 * learners, or, when all are done, destroys the older epochs and ends (or starts the next one).
 * A crash anywhere resumes from the stored state. Returns 0 or an error (retried later).
 */
bool handler_rekey_pending(const handler_t *h);
int handler_rekey_step(handler_t *h, store_t *st, int64_t now, err_detail_t *d);

/* A packed error Reply for a request that never reached a handler. Caller owns *reply. */
int handler_error_reply(const char *request_id, int code, const char *field, const char *message,
                        uint8_t **reply, size_t *len);

/* ---- cluster mode (cluster.h) ---------------------------------------------------------------
 * A node in cluster mode does not apply a tool's evidence or a framework where it arrives: it
 * validates and authorizes the request (handler_intake), the server publishes what is valid to
 * the JetStream stream and answers with handler_intake_reply once the stream acknowledged it.
 * The node that holds the learner's partition (every node, for a framework) applies it later,
 * in a group commit, with handler_stream_apply.
 */

#define HANDLER_PARTITION_ALL UINT32_MAX /* = CLUSTER_FW: frameworks, applied by every node */

/* How a request travels in cluster mode. */
typedef enum handler_route {
    HANDLER_ROUTE_LOCAL,         /* answered by the node it reaches (health, metrics, events,
                                    credentials by id, group reports: that node's share) */
    HANDLER_ROUTE_EVIDENCE,      /* SubmitEvidence: each item on its learner's partition */
    HANDLER_ROUTE_ALL,           /* PutFramework, ImportCase, ImportRoster: every node applies
                                    it; the client hears the node it reached */
    HANDLER_ROUTE_LEARNER_WRITE, /* Override, RetractEvidence, RegisterLearnerDid, EraseLearner,
                                    SetLegalHold, ReenrolLearner: on the learner's partition;
                                    the holder's answer goes back to the intake node */
    HANDLER_ROUTE_LEARNER_READ,  /* GetLearner, ListEvidence, ListCredentials of a learner,
                                    IssueTranscript, Next, Explain: answered by the holder
                                    (forwarded there when it is another node) */
} handler_route_t;

/* The route of req and, for the learner routes, its learner id (borrowed from req; may be ""
 * when the client left it out). */
handler_route_t handler_request_route(const wire_request_t *req, const char **learner_id);

typedef struct handler_intake_pub {
    uint32_t partition; /* the learner's (cluster_partition), or HANDLER_PARTITION_ALL */
    char msg_id[65];    /* the stream's de-duplication key: hex SHA-256(source NUL evidence id);
                           a framework request's is random */
    uint8_t *data;      /* packed ClusterItem, owned by the intake */
    size_t len;
    size_t item; /* which of the request's items */
    int status;  /* set by the caller from cluster_publish: 0, ERR_DUPLICATE, other */
} handler_intake_pub_t;

typedef struct handler_intake {
    handler_intake_pub_t *pubs; /* what to publish, in the request's order */
    size_t n_pubs;
    bool waits;            /* not evidence: the client hears the application's answer (pubs[0]) */
    size_t n_items;        /* evidence: the request's items */
    err_detail_t *details; /* evidence: each item's refusal (code 0: valid), owned */
} handler_intake_t;

/*
 * Takes in a request of the EVIDENCE, ALL or LEARNER_WRITE routes at node (this node's index)
 * at time now, without a transaction: its role is checked, and evidence items are validated as
 * handler_apply would (fields, scope, a known competency); a learner write must name its
 * learner. Items whose learner
 * was erased are refused later, by the owning node. Returns 0 with either *reply set (the
 * whole request was refused: answer it; caller owns) or in->pubs to publish (n_pubs may be 0
 * when every item was refused: still answer with handler_intake_reply); or ERR_NOMEM. Free
 * *in with handler_intake_free() in every case.
 */
int handler_intake(handler_t *h, const wire_request_t *req, const handler_client_t *who,
                   uint32_t partitions, uint32_t node, int64_t now, handler_intake_t *in,
                   uint8_t **reply, size_t *len);

/* The EvidenceResults reply of an evidence intake once each pub's status is set: OK (stored in
 * the stream), DUPLICATE, or UNAVAILABLE (not acknowledged: the tool retries). Caller owns
 * *reply. Returns 0 or ERR_NOMEM. */
int handler_intake_reply(handler_t *h, const wire_request_t *req, handler_intake_t *in,
                         uint8_t **reply, size_t *len);
void handler_intake_free(handler_intake_t *in);

typedef enum handler_stream_result {
    HANDLER_STREAM_APPLIED, /* applied; the partition's sequence advanced to it */
    HANDLER_STREAM_SKIPPED, /* applied before (seq <= the stored one), or a duplicate item */
    HANDLER_STREAM_REFUSED, /* refused for good (logged): the sequence advanced past it */
    HANDLER_STREAM_LATER,   /* not yet: its competency's framework has not arrived here.
                               Nothing was written: rewind the partition and retry */
} handler_stream_result_t;

/* The last sequence of partition this store applied (0: none), in a read transaction of its
 * own. Returns 0 or a store error. */
int handler_stream_applied(handler_t *h, uint32_t partition, uint64_t *seq);

/*
 * Applies stream message seq of partition (a packed ClusterItem) inside the batch transaction
 * (between handler_batch_begin and handler_batch_end), decided at the time the intake node
 * received it, and records seq as the partition's applied sequence in the same transaction.
 * decide: never HANDLER_STREAM_LATER (an item whose framework is still unknown is refused).
 * A request message's reply (as handler_apply's) goes to *reply (caller owns; NULL for
 * evidence), for the client waiting at node *reply_node, the one that took it in. Returns 0 (see
 * *res) or a store error, after which the batch must not commit.
 */
int handler_stream_apply(handler_t *h, store_txn_t *txn, uint32_t partition, uint64_t seq,
                         const uint8_t *data, size_t len, bool decide, handler_stream_result_t *res,
                         uint8_t **reply, size_t *reply_len, uint32_t *reply_node);

/* A LEARNER_READ request (or any request, for a waiting client) packed as a ClusterItem with
 * its client's role and scope, taken in at node at time now. Caller owns *data. Returns 0 or
 * ERR_NOMEM. */
int handler_forward_pack(const wire_request_t *req, const handler_client_t *who, uint32_t node,
                         int64_t now, uint8_t **data, size_t *len);

/* Answers a forwarded read (handler_forward_pack's bytes) as its client's request, inside a
 * batch (read transaction). *reply: the packed Reply (caller owns), an INVALID one when the
 * bytes are not a forwarded read. Returns 0 or a store error. */
int handler_apply_forwarded(handler_t *h, store_txn_t *txn, const uint8_t *data, size_t len,
                            uint8_t **reply, size_t *reply_len);

#endif
