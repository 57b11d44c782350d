/*
 * metrics: the daemon's counters and histograms, and their Prometheus text rendering
 * (exposition format 0.0.4), answered to the Metrics request (`masteryctl metrics`).
 *
 * Everything runs on the loop thread, so counters are plain integers: an increment is one add,
 * cheap enough for the per-item path. Histograms have fixed bucket bounds; an observation is a
 * scan over at most a dozen bounds. Nothing here allocates, so metrics never grow.
 *
 * Who counts what: server (batches, their sizes, commit latency and failures, handshake and
 * unauthenticated refusals), handler (requests by operation, error replies, evidence items by
 * result, FORBIDDEN, the committed acts: events, credentials). Gauges read from the store are
 * passed to metrics_render() by the caller.
 */
#ifndef MASTERY_METRICS_H
#define MASTERY_METRICS_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

#define METRICS_OPS      64 /* request operations (the handler's table, by index) */
#define METRICS_HIST_MAX 16
#define METRICS_CODES    16 /* status codes (wire_status_code values) */

typedef struct metrics_hist {
    uint64_t buckets[METRICS_HIST_MAX + 1]; /* per bound (not cumulative); last: +Inf */
    uint64_t count;
    double sum;
} metrics_hist_t;

/* Evidence item results: what the reply said about each item. */
typedef enum {
    METRICS_ITEM_ACCEPTED,
    METRICS_ITEM_DUPLICATE,
    METRICS_ITEM_CONFLICT,
    METRICS_ITEM_INVALID,   /* a field refused (named in the reply) */
    METRICS_ITEM_NOT_FOUND, /* unknown competency */
    METRICS_ITEM_FORBIDDEN, /* outside the tool's scope */
    METRICS_ITEM_OTHER,
    METRICS_ITEM_UNCOMMITTED, /* answered, but its batch failed to commit */
    METRICS_ITEM_RESULTS
} metrics_item_t;

typedef enum {
    METRICS_REFUSED_HANDSHAKE,       /* ZAP: key not listed */
    METRICS_REFUSED_UNAUTHENTICATED, /* a request from a key removed since it connected */
    METRICS_REFUSED_FORBIDDEN,       /* role or scope */
    METRICS_REFUSED_KINDS
} metrics_refusal_t;

typedef enum {
    METRICS_ACT_FRAMEWORK_LOADED,
    METRICS_ACT_OVERRIDE,
    METRICS_ACT_CREDENTIAL_ISSUED,
    METRICS_ACT_CREDENTIAL_REVOKED,
    METRICS_ACT_CREDENTIAL_SUSPENDED,
    METRICS_ACT_CREDENTIAL_REINSTATED, /* revocation or suspension lifted */
    METRICS_ACT_EVIDENCE_RETRACTED,
    METRICS_ACT_KEYS_ROTATED,
    METRICS_ACT_ROSTER_IMPORTED,
    METRICS_ACT_LEARNER_ERASED, /* issue 16 */
    METRICS_ACT_LEGAL_HOLD,     /* placed or lifted */
    METRICS_ACT_LEARNER_REENROLLED,
    METRICS_ACTS
} metrics_act_t;

typedef struct metrics {
    uint64_t requests[METRICS_OPS];         /* by operation */
    uint64_t request_errors[METRICS_CODES]; /* replies whose status is not OK, by code */
    uint64_t items[METRICS_ITEM_RESULTS];
    uint64_t refusals[METRICS_REFUSED_KINDS];
    uint64_t acts[METRICS_ACTS];
    uint64_t events;               /* events committed (and published) */
    uint64_t batches;              /* batches applied (read or write) */
    uint64_t commits;              /* write transactions committed */
    uint64_t commit_failures;      /* batches whose transaction failed: every request UNAVAILABLE */
    uint64_t map_grown;            /* MDB_MAP_FULL: map doubled, batch rerun */
    metrics_hist_t batch_requests; /* requests per batch */
    metrics_hist_t submit_items;   /* evidence items per SubmitEvidence */
    metrics_hist_t commit_seconds; /* store_txn_commit duration (fsync included) */
    metrics_hist_t batch_seconds;  /* a batch from its first apply to its last reply */
    struct {                       /* cluster mode (cluster.h); the server copies them in */
        bool on;
        bool connected;
        uint32_t partitions;
        uint64_t held_mask[16]; /* bit p: this node holds partition p */
        uint64_t published, publish_dups, publish_failed, fetched, acked, claims, takeovers,
            releases, queue_bytes;
        uint64_t applied, skipped, refused, later; /* stream messages by handler_stream_result */
    } cluster;
} metrics_t;

/* Gauges the renderer cannot see: read by the caller inside a read transaction. */
typedef struct metrics_gauges {
    uint64_t map_size, map_used; /* bytes */
    uint64_t readers;            /* LMDB reader slots in use */
    uint64_t learners, credentials, evidence, frameworks, last_seq;
    uint64_t reviews_pending; /* review periods whose review_due has not gone out */
    double uptime_seconds;
    int dev_mode;
    /* write-behind (store.h): held in memory, its budget, write-ahead records not yet swept */
    uint64_t wb_held_bytes, wb_budget, wb_wal_bytes, wb_written;
    double wb_oldest_age_seconds;
    /* cluster mode: the stream sequence applied per partition (NULL when off) and of the
     * frameworks' subject */
    const uint64_t *cluster_applied;
    uint64_t cluster_fw_applied;
} metrics_gauges_t;

/* Observations. */
void metrics_observe_batch_requests(metrics_t *m, uint64_t n);
void metrics_observe_submit_items(metrics_t *m, uint64_t n);
void metrics_observe_commit_seconds(metrics_t *m, double s);
void metrics_observe_batch_seconds(metrics_t *m, double s);

/* Sum of request_errors and of refused items (Health.error_count). */
uint64_t metrics_error_count(const metrics_t *m);

/*
 * Appends the text exposition to out. op_names[i] names requests[i] (n_ops entries, at most
 * METRICS_OPS; borrowed); code_name(c) names status code c. Returns 0 or buf's ERR_LIMIT /
 * ERR_NOMEM (out then holds a prefix; the caller discards it).
 */
int metrics_render(const metrics_t *m, const metrics_gauges_t *g, const char *const *op_names,
                   size_t n_ops, const char *(*code_name)(int code), buf_t *out);

#endif
