#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

/* Bucket upper bounds (le). Kept short: a scrape is read by people too. */
static const double batch_request_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096};
static const double submit_item_bounds[] = {1, 10, 50, 100, 250, 500, 1000, 5000, 20000};
static const double seconds_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                        0.01,   0.025,   0.05,   0.1,   0.25,   1};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static void observe(metrics_hist_t *h, const double *bounds, size_t n, double v)
{
    size_t i = 0;
    while (i < n && v > bounds[i])
        i++;
    h->buckets[i]++; /* i == n: +Inf */
    h->count++;
    h->sum += v;
}

void metrics_observe_batch_requests(metrics_t *m, uint64_t n)
{
    observe(&m->batch_requests, batch_request_bounds, N_OF(batch_request_bounds), (double)n);
}

void metrics_observe_submit_items(metrics_t *m, uint64_t n)
{
    observe(&m->submit_items, submit_item_bounds, N_OF(submit_item_bounds), (double)n);
}

void metrics_observe_commit_seconds(metrics_t *m, double s)
{
    observe(&m->commit_seconds, seconds_bounds, N_OF(seconds_bounds), s);
}

void metrics_observe_batch_seconds(metrics_t *m, double s)
{
    observe(&m->batch_seconds, seconds_bounds, N_OF(seconds_bounds), s);
}

uint64_t metrics_error_count(const metrics_t *m)
{
    uint64_t n = 0;
    for (size_t i = 1; i < METRICS_CODES; i++)
        n += m->request_errors[i];
    for (size_t i = METRICS_ITEM_CONFLICT; i < METRICS_ITEM_RESULTS; i++)
        n += m->items[i];
    return n;
}

__attribute__((format(printf, 2, 3))) static int put(buf_t *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        return ERR_LIMIT;
    return buf_append(b, line, (size_t)n);
}

static int family(buf_t *b, const char *name, const char *type, const char *help)
{
    int rc = put(b, "# HELP %s %s\n", name, help);
    return rc ? rc : put(b, "# TYPE %s %s\n", name, type);
}

static int counter(buf_t *b, const char *name, const char *help, uint64_t v)
{
    int rc = family(b, name, "counter", help);
    return rc ? rc : put(b, "%s %" PRIu64 "\n", name, v);
}

static int gauge(buf_t *b, const char *name, const char *help, double v)
{
    int rc = family(b, name, "gauge", help);
    return rc ? rc : put(b, "%s %.17g\n", name, v);
}

static int hist(buf_t *b, const char *name, const char *help, const metrics_hist_t *h,
                const double *bounds, size_t n)
{
    int rc = family(b, name, "histogram", help);
    uint64_t cum = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        cum += h->buckets[i];
        rc = put(b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, bounds[i], cum);
    }
    if (rc == 0)
        rc = put(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum + h->buckets[n]);
    if (rc == 0)
        rc = put(b, "%s_sum %.17g\n", name, h->sum);
    if (rc == 0)
        rc = put(b, "%s_count %" PRIu64 "\n", name, h->count);
    return rc;
}

static const char *const item_names[METRICS_ITEM_RESULTS] = {"accepted", "duplicate",  "conflict",
                                                             "invalid",  "not_found",  "forbidden",
                                                             "other",    "uncommitted"};
static const char *const refusal_names[METRICS_REFUSED_KINDS] = {"handshake", "unauthenticated",
                                                                 "forbidden"};
static const char *const act_names[METRICS_ACTS] = {"framework_loaded",     "override",
                                                    "credential_issued",    "credential_revoked",
                                                    "credential_suspended", "credential_reinstated",
                                                    "evidence_retracted",   "keys_rotated",
                                                    "roster_imported",      "learner_erased",
                                                    "legal_hold",           "learner_reenrolled"};

/* Cluster mode: which partitions this node holds, how far it applied each, the stream traffic. */
static int render_cluster(const metrics_t *m, const metrics_gauges_t *g, buf_t *b)
{
    int rc = family(b, "masteryd_cluster_partition_held", "gauge",
                    "1: this node holds the partition's lease and applies its evidence.");
    for (uint32_t p = 0; rc == 0 && p < m->cluster.partitions && p < 1024; p++)
        rc = put(b, "masteryd_cluster_partition_held{partition=\"%u\"} %d\n", (unsigned)p,
                 (int)(m->cluster.held_mask[p / 64] >> (p % 64) & 1));
    if (rc == 0)
        rc = family(b, "masteryd_cluster_applied_seq", "gauge",
                    "The last stream sequence this node's store applied, by partition (fw: the "
                    "frameworks).");
    for (uint32_t p = 0; rc == 0 && g->cluster_applied && p < m->cluster.partitions && p < 1024;
         p++)
        rc = put(b, "masteryd_cluster_applied_seq{partition=\"%u\"} %" PRIu64 "\n", (unsigned)p,
                 g->cluster_applied[p]);
    if (rc == 0)
        rc = put(b, "masteryd_cluster_applied_seq{partition=\"fw\"} %" PRIu64 "\n",
                 g->cluster_fw_applied);
    struct {
        const char *name, *help;
        uint64_t v;
    } c[] = {
        {"masteryd_cluster_published_total", "Items and frameworks the stream acknowledged.",
         m->cluster.published},
        {"masteryd_cluster_publish_duplicates_total",
         "Of them, found in the stream's de-duplication window.", m->cluster.publish_dups},
        {"masteryd_cluster_publish_failed_total",
         "Not acknowledged in time (answered UNAVAILABLE).", m->cluster.publish_failed},
        {"masteryd_cluster_fetched_total", "Stream messages fetched for application.",
         m->cluster.fetched},
        {"masteryd_cluster_acked_total", "Stream messages acknowledged after their commit.",
         m->cluster.acked},
        {"masteryd_cluster_claims_total", "Partitions claimed (after a start, takeover or rewind).",
         m->cluster.claims},
        {"masteryd_cluster_takeovers_total",
         "Claims of partitions another node prefers (it had died).", m->cluster.takeovers},
        {"masteryd_cluster_releases_total", "Leases given back or lost.", m->cluster.releases},
        {"masteryd_cluster_applied_total", "Stream messages applied.", m->cluster.applied},
        {"masteryd_cluster_skipped_total",
         "Stream messages applied before (redelivered) or duplicate items.", m->cluster.skipped},
        {"masteryd_cluster_refused_total",
         "Stream messages refused for good (logged: a conflicting resend, an erased learner).",
         m->cluster.refused},
        {"masteryd_cluster_later_total", "Applications put off until the item's framework arrived.",
         m->cluster.later},
    };
    for (size_t i = 0; rc == 0 && i < sizeof c / sizeof c[0]; i++)
        rc = counter(b, c[i].name, c[i].help, c[i].v);
    if (rc == 0)
        rc = gauge(b, "masteryd_cluster_queue_bytes",
                   "Fetched message bytes waiting to be applied.", (double)m->cluster.queue_bytes);
    if (rc == 0)
        rc = gauge(b, "masteryd_cluster_connected", "1: connected to a NATS server.",
                   (double)m->cluster.connected);
    return rc;
}

int metrics_render(const metrics_t *m, const metrics_gauges_t *g, const char *const *op_names,
                   size_t n_ops, const char *(*code_name)(int code), buf_t *b)
{
    int rc = family(b, "masteryd_requests_total", "counter",
                    "Requests answered, by operation (refused ones included).");
    for (size_t i = 0; rc == 0 && i < n_ops && i < METRICS_OPS; i++)
        rc =
            put(b, "masteryd_requests_total{op=\"%s\"} %" PRIu64 "\n", op_names[i], m->requests[i]);
    if (rc == 0)
        rc = family(b, "masteryd_request_errors_total", "counter",
                    "Replies whose status is not OK, by status code.");
    for (int c = 1; rc == 0 && c < METRICS_CODES; c++)
        if (code_name(c) != NULL)
            rc = put(b, "masteryd_request_errors_total{code=\"%s\"} %" PRIu64 "\n", code_name(c),
                     m->request_errors[c]);
    if (rc == 0)
        rc = family(b, "masteryd_evidence_items_total", "counter",
                    "Evidence items answered, by result (uncommitted: the batch failed).");
    for (size_t i = 0; rc == 0 && i < METRICS_ITEM_RESULTS; i++)
        rc = put(b, "masteryd_evidence_items_total{result=\"%s\"} %" PRIu64 "\n", item_names[i],
                 m->items[i]);
    if (rc == 0)
        rc = family(b, "masteryd_auth_refusals_total", "counter",
                    "Refused handshakes, requests from removed keys, FORBIDDEN answers.");
    for (size_t i = 0; rc == 0 && i < METRICS_REFUSED_KINDS; i++)
        rc = put(b, "masteryd_auth_refusals_total{reason=\"%s\"} %" PRIu64 "\n", refusal_names[i],
                 m->refusals[i]);
    if (rc == 0)
        rc = family(b, "masteryd_acts_total", "counter",
                    "Committed state-changing acts (each also logged at info level).");
    for (size_t i = 0; rc == 0 && i < METRICS_ACTS; i++)
        rc = put(b, "masteryd_acts_total{act=\"%s\"} %" PRIu64 "\n", act_names[i], m->acts[i]);
    if (rc == 0)
        rc = counter(b, "masteryd_credentials_issued_total", "Badges issued since start.",
                     m->acts[METRICS_ACT_CREDENTIAL_ISSUED]);
    if (rc == 0)
        rc = counter(b, "masteryd_credentials_revoked_total", "Badges revoked since start.",
                     m->acts[METRICS_ACT_CREDENTIAL_REVOKED]);
    if (rc == 0)
        rc = counter(b, "masteryd_events_total", "Events committed and published since start.",
                     m->events);
    if (rc == 0)
        rc = counter(b, "masteryd_batches_total", "Batches (group commits and read batches).",
                     m->batches);
    if (rc == 0)
        rc = counter(b, "masteryd_commits_total", "Write transactions committed.", m->commits);
    if (rc == 0)
        rc = counter(b, "masteryd_commit_failures_total",
                     "Batches not committed (every request answered UNAVAILABLE).",
                     m->commit_failures);
    if (rc == 0)
        rc = counter(b, "masteryd_map_grown_total", "Times the LMDB map grew (MDB_MAP_FULL).",
                     m->map_grown);
    if (rc == 0)
        rc = hist(b, "masteryd_batch_requests", "Requests per batch.", &m->batch_requests,
                  batch_request_bounds, N_OF(batch_request_bounds));
    if (rc == 0)
        rc = hist(b, "masteryd_submit_items", "Evidence items per SubmitEvidence request.",
                  &m->submit_items, submit_item_bounds, N_OF(submit_item_bounds));
    if (rc == 0)
        rc = hist(b, "masteryd_commit_seconds", "LMDB commit time (fdatasync included).",
                  &m->commit_seconds, seconds_bounds, N_OF(seconds_bounds));
    if (rc == 0)
        rc = hist(b, "masteryd_batch_seconds", "A batch from its first request to its replies.",
                  &m->batch_seconds, seconds_bounds, N_OF(seconds_bounds));
    if (rc == 0)
        rc = gauge(b, "masteryd_map_size_bytes", "LMDB map size.", (double)g->map_size);
    if (rc == 0)
        rc = gauge(b, "masteryd_map_used_bytes", "LMDB map bytes in use.", (double)g->map_used);
    if (rc == 0)
        rc = gauge(b, "masteryd_readers", "LMDB reader slots in use.", (double)g->readers);
    if (rc == 0)
        rc = gauge(b, "masteryd_write_behind_bytes",
                   "Learner records changed in memory, not yet written to their databases.",
                   (double)g->wb_held_bytes);
    if (rc == 0)
        rc = gauge(b, "masteryd_write_behind_budget_bytes", "write_behind_bytes.",
                   (double)g->wb_budget);
    if (rc == 0)
        rc = gauge(b, "masteryd_write_ahead_bytes", "Write-ahead records a restart would replay.",
                   (double)g->wb_wal_bytes);
    if (rc == 0)
        rc = gauge(b, "masteryd_write_ahead_oldest_seconds",
                   "Age of the oldest write-ahead record.", g->wb_oldest_age_seconds);
    if (rc == 0)
        rc = counter(b, "masteryd_write_behind_written_total",
                     "Changes the write-behind sweep wrote to their databases.", g->wb_written);
    if (rc == 0)
        rc = gauge(b, "masteryd_learners", "Learners with records.", (double)g->learners);
    if (rc == 0)
        rc = gauge(b, "masteryd_credentials", "Badges stored (revoked ones included).",
                   (double)g->credentials);
    if (rc == 0)
        rc = gauge(b, "masteryd_evidence_items", "Evidence items stored.", (double)g->evidence);
    if (rc == 0)
        rc = gauge(b, "masteryd_frameworks", "Frameworks loaded.", (double)g->frameworks);
    if (rc == 0)
        rc = gauge(b, "masteryd_last_event_seq", "Sequence number of the last event.",
                   (double)g->last_seq);
    if (rc == 0)
        rc = gauge(b, "masteryd_reviews_pending",
                   "Review periods whose review_due event has not gone out (due or not yet).",
                   (double)g->reviews_pending);
    if (rc == 0)
        rc = gauge(b, "masteryd_uptime_seconds", "Seconds since start.", g->uptime_seconds);
    if (rc == 0)
        rc = gauge(b, "masteryd_dev_mode", "1: development mode (no authentication).",
                   (double)g->dev_mode);
    if (rc == 0 && m->cluster.on)
        rc = render_cluster(m, g, b);
    return rc;
}
