/*
 * masteryctl health: the daemon's status. masteryctl metrics: its counters in the Prometheus
 * text format, for node_exporter's textfile collector.
 */
#include <inttypes.h>

#include "masteryctl.h"

static void print_bytes(const char *label, uint64_t used, uint64_t total)
{
    printf("%-12s %.1f MiB of %.1f MiB (%.0f%%)\n", label, (double)used / 1048576.0,
           (double)total / 1048576.0, total ? 100.0 * (double)used / (double)total : 0.0);
}

int cmd_health(ctl_t *ctl, const args_t *a)
{
    (void)a;
    Mastery__V1__Health health = MASTERY__V1__HEALTH__INIT;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_HEALTH;
    req.health = &health;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_HEALTH, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__HealthInfo *h = rep->health;
    if (ctl->json) {
        emit_json(
            json_pack("{s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:I,s:I,s:I,s:o}", "version",
                      jstr(h->version), "uptime_ms", (json_int_t)h->uptime_ms, "evidence_count",
                      (json_int_t)h->evidence_count, "last_seq", (json_int_t)h->last_seq,
                      "framework_count", (json_int_t)h->framework_count, "map_size",
                      (json_int_t)h->map_size, "map_used", (json_int_t)h->map_used, "requests",
                      (json_int_t)h->requests, "commits", (json_int_t)h->commits, "dev_mode",
                      (int)h->dev_mode, "learner_count", (json_int_t)h->learner_count,
                      "credential_count", (json_int_t)h->credential_count, "error_count",
                      (json_int_t)h->error_count, "events_endpoint", jstr(h->events_endpoint)));
    } else {
        int64_t up = h->uptime_ms / 1000;
        printf("%-12s %s\n", "version", h->version);
        printf("%-12s %" PRId64 "d %02" PRId64 ":%02" PRId64 ":%02" PRId64 "\n", "uptime",
               up / 86400, up / 3600 % 24, up / 60 % 60, up % 60);
        printf("%-12s %" PRIu64 "\n", "learners", h->learner_count);
        printf("%-12s %" PRIu64 "\n", "evidence", h->evidence_count);
        printf("%-12s %" PRIu64 "\n", "credentials", h->credential_count);
        printf("%-12s %" PRIu64 "\n", "last event", h->last_seq);
        printf("%-12s %" PRIu32 "\n", "frameworks", h->framework_count);
        print_bytes("storage", h->map_used, h->map_size);
        printf("%-12s %" PRIu64 "\n", "requests", h->requests);
        printf("%-12s %" PRIu64 "\n", "commits", h->commits);
        printf("%-12s %" PRIu64 "\n", "errors", h->error_count);
        printf("%-12s %s\n", "events on", h->events_endpoint);
        printf("%-12s %s\n", "mode", h->dev_mode ? "development (no authentication)" : "secure");
    }
    mc_reply_free(rep);
    return 0;
}

int cmd_metrics(ctl_t *ctl, const args_t *a)
{
    (void)a;
    Mastery__V1__Metrics metrics = MASTERY__V1__METRICS__INIT;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_METRICS;
    req.metrics = &metrics;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_METRICS, &rep);
    if (rc != 0)
        return rc;
    if (ctl->json)
        emit_json(json_pack("{s:o}", "text", jstr(rep->metrics->text)));
    else
        fputs(rep->metrics->text, stdout);
    mc_reply_free(rep);
    return 0;
}
