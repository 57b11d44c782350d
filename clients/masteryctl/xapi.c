/*
 * masteryctl xapi import|follow: xAPI statements become evidence through a mapping file
 * (clients/XAPI.md, lib/import/xapi.c); voiding statements retract. Statements are split from
 * the input as they arrive (jsonseq), mapped here, and sent in batches through the importer's
 * window (import.c); a partial batch waits at most XAPI_FLUSH_MS, so `follow` is a live bridge.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "jsonseq.h"
#include "masteryctl.h"
#include "xapi.h"

#define XAPI_READ_CHUNK    (256u << 10)
#define XAPI_FLUSH_MS      200 /* a partial batch waits at most this long */
#define XAPI_SHOWN_PER_WHY 5   /* unmapped statements listed per reason (malformed: all) */

/* Reads once from the input into the splitter; at the end, tells it. Returns 0 or -1 (printed). */
static int xinput_fill(int fd, bool *eof, jsonseq_t *seq, char *chunk, const char *path)
{
    for (;;) {
        ssize_t n = read(fd, chunk, XAPI_READ_CHUNK);
        if (n < 0 && errno == EINTR) {
            if (!g_stop)
                continue;
            n = 0; /* interrupted (follow): the input ends here */
        }
        if (n < 0) {
            fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
            return -1;
        }
        if (n == 0) {
            *eof = true;
            jsonseq_end(seq);
            return 0;
        }
        if (jsonseq_feed(seq, chunk, (size_t)n) != 0) {
            fprintf(stderr, "%s: out of memory\n", progname);
            exit(CTL_ERR_REPLY);
        }
        return 0;
    }
}

typedef struct xrun {
    importer_t imp; /* the batches in flight and the evidence counters */
    xapi_map_t *map;
    int fd;
    bool eof;
    jsonseq_t *seq; /* splits the input into statements */
    char *chunk;    /* XAPI_READ_CHUNK bytes for read() */
    const char *path;
    /* the batch being filled */
    Mastery__V1__Evidence *items;
    Mastery__V1__Evidence **ptrs;
    uint64_t *index;
    size_t n, bytes;
    int64_t first_ms;
    /* counters */
    uint64_t statements, evidence, retractions, retracted, retract_missing, retract_failed;
    uint64_t why[XAPI_REASON_COUNT], shown[XAPI_REASON_COUNT], warnings, case_uris;
    bool fatal;
} xrun_t;

static void xrun_report(xrun_t *x, uint64_t index, uint64_t line, const char *id, const char *code,
                        const char *field, const char *message)
{
    if (x->imp.ctl->json) {
        json_t *o = json_pack("{s:I,s:o,s:s,s:o,s:o}", "statement", (json_int_t)index, "id",
                              id ? jstr(id) : json_null(), "code", code, "field", jstr(field),
                              "message", jstr(message));
        if (jsonseq_is_lines(x->seq))
            json_object_set_new(o, "line", json_integer((json_int_t)line));
        emit_json(o);
        return;
    }
    progress_clear(&x->imp.progress);
    char where[48] = "", ident[XAPI_ID_MAX + 16] = "";
    if (jsonseq_is_lines(x->seq))
        snprintf(where, sizeof where, " (line %" PRIu64 ")", line);
    if (id)
        snprintf(ident, sizeof ident, " [id %s]", id);
    fprintf(stderr, "statement %" PRIu64 "%s: %s%s%s: %s%s\n", index, where, code,
            field && field[0] ? " " : "", field ? field : "", message, ident);
}

static void xrun_clear_items(xrun_t *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->items[i].evidence_id);
        free(x->items[i].learner_id);
        free(x->items[i].competency_id);
        x->items[i] = (Mastery__V1__Evidence)MASTERY__V1__EVIDENCE__INIT;
    }
    x->n = 0;
    x->bytes = 0;
}

/* Sends the batch being filled (waiting for room in the window first). */
static int xrun_send(xrun_t *x)
{
    importer_t *imp = &x->imp;
    if (x->n == 0)
        return 0;
    for (;;) {
        importer_reap(imp);
        if (mc_window_count(imp->win) < imp->window)
            break;
        int rc = importer_wait(imp);
        if (rc != 0)
            return rc;
    }
    batch_t *b = batch_new(x->n);
    for (size_t i = 0; i < x->n; i++) {
        batch_add(b, x->index[i]);
        x->ptrs[i] = &x->items[i];
    }
    Mastery__V1__SubmitEvidence sub = MASTERY__V1__SUBMIT_EVIDENCE__INIT;
    sub.n_items = x->n;
    sub.items = x->ptrs;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE;
    req.submit_evidence = &sub;
    int rc = importer_send(imp, &req, b);
    xrun_clear_items(x);
    return rc;
}

/* Sends what is pending and waits until every batch is answered and reported. */
static int xrun_drain(xrun_t *x)
{
    int rc = xrun_send(x);
    while (rc == 0 && mc_window_count(x->imp.win) > 0) {
        importer_reap(&x->imp);
        if (mc_window_count(x->imp.win) > 0)
            rc = importer_wait(&x->imp);
    }
    importer_reap(&x->imp);
    return rc;
}

/* A voiding statement: everything before it is stored first, then the retraction. */
static int xrun_retract(xrun_t *x, const xapi_item_t *it, uint64_t index, uint64_t line)
{
    x->retractions++;
    int rc = xrun_drain(x);
    if (rc != 0)
        return rc;
    char reason[XAPI_ID_MAX + 64];
    snprintf(reason, sizeof reason, "voided by xAPI statement %s", it->statement_id);
    Mastery__V1__RetractEvidence op = MASTERY__V1__RETRACT_EVIDENCE__INIT;
    op.evidence_id = (char *)it->evidence_id;
    op.reason = reason;
    op.source = (char *)it->source; /* the scope its evidence was stored in */
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_RETRACT_EVIDENCE;
    req.retract_evidence = &op;
    Mastery__V1__Reply *rep = NULL;
    /* Safe to resend: retracting twice is answered OK ("already retracted"). */
    rc = rpc(x->imp.ctl, &req, CALL_ATTEMPTS, &rep);
    if (rc != 0)
        return rc;
    int code = status_code(rep->status);
    if (code == 0) {
        x->retracted++;
    } else {
        if (code == MASTERY__V1__STATUS_CODE__STATUS_NOT_FOUND)
            x->retract_missing++; /* voids a statement that never became evidence */
        else
            x->retract_failed++;
        xrun_report(x, index, line, it->statement_id, mc_status_name(code), rep->status->field,
                    rep->status->message);
    }
    mc_reply_free(rep);
    return 0;
}

static int xrun_statement(xrun_t *x, const char *text, size_t n, uint64_t line)
{
    uint64_t index = x->statements++;
    json_error_t je;
    json_t *js = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
    xapi_item_t it;
    if (js == NULL) {
        x->why[XAPI_MALFORMED]++;
        char msg[256];
        snprintf(msg, sizeof msg, "not JSON: %s (column %d)", je.text, je.column);
        xrun_report(x, index, line, NULL, "malformed", "", msg);
        return 0;
    }
    int rc = 0;
    switch (xapi_map_statement(x->map, js, &it)) {
    case XAPI_EVIDENCE: {
        Mastery__V1__Evidence *ev = &x->items[x->n];
        ev->evidence_id = xstrdup(it.evidence_id);
        ev->learner_id = xstrdup(it.learner_id);
        ev->competency_id = xstrdup(it.competency_id);
        ev->source = (char *)it.source;
        ev->score = it.score;
        ev->outcome = (Mastery__V1__Outcome)it.outcome;
        ev->observed_at_ms = it.observed_at_ms;
        ev->observed_at_set = true; /* a statement at the epoch is at the epoch */
        if (x->n == 0)
            x->first_ms = now_ms();
        x->index[x->n++] = index;
        x->bytes += mastery__v1__evidence__get_packed_size(ev) + 8;
        x->evidence++;
        if (it.warning[0]) {
            x->warnings++;
            if (x->warnings <= XAPI_SHOWN_PER_WHY * 4)
                xrun_report(x, index, line, it.statement_id, "warning", "", it.warning);
        }
        if (x->n == x->imp.batch_size || x->bytes >= MAX_BATCH_BYTES)
            rc = xrun_send(x);
        break;
    }
    case XAPI_RETRACTION:
        rc = xrun_retract(x, &it, index, line);
        break;
    case XAPI_UNMAPPED:
        x->why[it.reason]++;
        if (it.reason == XAPI_MALFORMED || x->shown[it.reason]++ < XAPI_SHOWN_PER_WHY)
            xrun_report(x, index, line, it.statement_id, xapi_reason_name(it.reason), it.path,
                        it.message);
        break;
    }
    json_decref(js);
    return rc;
}

static int64_t xrun_next_deadline(const xrun_t *x)
{
    int64_t first = mc_window_deadline(x->imp.win);
    if (x->n > 0 && x->first_ms + XAPI_FLUSH_MS < first)
        first = x->first_ms + XAPI_FLUSH_MS;
    return first;
}

static int xrun_loop(xrun_t *x)
{
    for (;;) {
        const char *s = NULL, *why = NULL;
        size_t n = 0;
        uint64_t line = 0;
        int r;
        while ((r = jsonseq_next(x->seq, &s, &n, &line, &why)) == JSONSEQ_ITEM) {
            int rc = xrun_statement(x, s, n, line);
            if (rc != 0)
                return rc;
        }
        if (r == JSONSEQ_SKIPPED) { /* an over-long line: one malformed statement, go on */
            x->why[XAPI_MALFORMED]++;
            xrun_report(x, x->statements++, line, NULL, "malformed", "", why);
            continue;
        }
        if (r == JSONSEQ_BROKEN) {
            x->why[XAPI_MALFORMED]++;
            xrun_report(x, x->statements, line, NULL, "malformed", "", why);
            x->fatal = true;
            return 0;
        }
        importer_reap(&x->imp);
        progress_update(&x->imp.progress,
                        x->statements - x->evidence + x->imp.accepted + x->imp.duplicates +
                            x->imp.rejected,
                        x->statements, "statement");
        if (x->eof || g_stop)
            return 0;
        if (x->n > 0 && now_ms() >= x->first_ms + XAPI_FLUSH_MS) {
            int rc = xrun_send(x);
            if (rc != 0)
                return rc;
        }
        int64_t deadline = xrun_next_deadline(x);
        int64_t wait = deadline == INT64_MAX ? 1000 : deadline - now_ms();
        size_t in_flight = mc_window_count(x->imp.win);
        zmq_pollitem_t items[2] = {{NULL, x->fd, ZMQ_POLLIN, 0},
                                   {mc_client_socket(x->imp.ctl->mc), 0, ZMQ_POLLIN, 0}};
        int got = zmq_poll(items, in_flight > 0 ? 2 : 1, wait > 0 ? (long)wait : 0);
        if (got < 0 && zmq_errno() != EINTR) {
            fprintf(stderr, "%s: poll: %s\n", progname, zmq_strerror(zmq_errno()));
            return CTL_ERR_REPLY;
        }
        if (got > 0 && (items[0].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) &&
            xinput_fill(x->fd, &x->eof, x->seq, x->chunk, x->path) != 0)
            return CTL_USAGE;
        if (in_flight > 0 &&
            ((got > 0 && (items[1].revents & ZMQ_POLLIN)) || now_ms() >= deadline)) {
            int rc = importer_wait(&x->imp);
            if (rc != 0)
                return rc;
        }
    }
}

/* Adds the CASE item URIs (source_uri) of the frameworks the mapping lists. */
static int xrun_case_uris(xrun_t *x)
{
    const json_t *fws = xapi_map_frameworks(x->map);
    if (fws == NULL || json_array_size(fws) == 0)
        return 0;
    ctl_t *ctl = x->imp.ctl;
    json_t *ids = json_array();
    bool all = false;
    size_t i;
    json_t *e;
    json_array_foreach(fws, i, e) all |= strcmp(json_string_value(e), "*") == 0;
    int rc = 0;
    if (all) {
        Mastery__V1__ListFrameworks list = MASTERY__V1__LIST_FRAMEWORKS__INIT;
        Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
        req.op_case = MASTERY__V1__REQUEST__OP_LIST_FRAMEWORKS;
        req.list_frameworks = &list;
        Mastery__V1__Reply *rep = NULL;
        if ((rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_FRAMEWORK_LIST, &rep)))
            goto out;
        for (i = 0; i < rep->framework_list->n_frameworks; i++)
            json_array_append_new(ids, jstr(rep->framework_list->frameworks[i]->framework_id));
        mc_reply_free(rep);
    } else {
        json_array_extend(ids, (json_t *)fws);
    }
    json_array_foreach(ids, i, e)
    {
        Mastery__V1__GetFramework get = MASTERY__V1__GET_FRAMEWORK__INIT;
        get.framework_id = (char *)json_string_value(e);
        Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
        req.op_case = MASTERY__V1__REQUEST__OP_GET_FRAMEWORK;
        req.get_framework = &get;
        Mastery__V1__Reply *rep = NULL;
        if ((rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_FRAMEWORK, &rep)))
            goto out;
        json_t *doc = json_loads(rep->framework->json, 0, NULL);
        size_t k;
        json_t *c;
        json_array_foreach(json_object_get(doc, "competencies"), k, c)
        {
            const char *uri = json_string_value(json_object_get(c, "source_uri"));
            const char *id = json_string_value(json_object_get(c, "id"));
            const char *existing = NULL;
            if (uri == NULL || id == NULL)
                continue;
            int r = xapi_map_add_activity(x->map, uri, id, &existing);
            if (r == 0)
                x->case_uris++;
            else if (r == ERR_DUPLICATE && strcmp(existing, id) != 0 && !ctl->json)
                fprintf(stderr, "%s: %s is %s's source_uri too; it stays mapped to %s\n", progname,
                        uri, id, existing);
        }
        json_decref(doc);
        mc_reply_free(rep);
    }
out:
    json_decref(ids);
    return rc;
}

static void xrun_summary(const xrun_t *x, double seconds)
{
    const importer_t *imp = &x->imp;
    double rate = seconds > 0 ? (double)x->statements / seconds : 0;
    if (x->imp.ctl->json) {
        json_t *why = json_object();
        for (int r = XAPI_VERB_NOT_MAPPED; r < XAPI_REASON_COUNT; r++)
            json_object_set_new(why, xapi_reason_name((xapi_reason_t)r),
                                json_integer((json_int_t)x->why[r]));
        json_t *o = json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:f,s:f}", "statements",
            (json_int_t)x->statements, "evidence", (json_int_t)x->evidence, "accepted",
            (json_int_t)imp->accepted, "duplicates", (json_int_t)imp->duplicates, "rejected",
            (json_int_t)imp->rejected, "retractions", (json_int_t)x->retractions, "retracted",
            (json_int_t)x->retracted, "retract_not_found", (json_int_t)x->retract_missing,
            "retract_failed", (json_int_t)x->retract_failed, "not_mapped", why, "warnings",
            (json_int_t)x->warnings, "case_uris", (json_int_t)x->case_uris, "seconds", seconds,
            "statements_per_s", rate);
        if (o != NULL && jsonseq_more(x->seq)[0])
            json_object_set_new(o, "more", jstr(jsonseq_more(x->seq)));
        emit_json(o);
        return;
    }
    printf("%" PRIu64 " statements in %.2f s (%.0f/s): %" PRIu64 " evidence (%" PRIu64
           " accepted, %" PRIu64 " duplicates, %" PRIu64 " rejected), %" PRIu64
           " retractions (%" PRIu64 " done, %" PRIu64 " not found, %" PRIu64
           " failed); not mapped:",
           x->statements, seconds, rate, x->evidence, imp->accepted, imp->duplicates, imp->rejected,
           x->retractions, x->retracted, x->retract_missing, x->retract_failed);
    for (int r = XAPI_VERB_NOT_MAPPED; r < XAPI_REASON_COUNT; r++)
        printf("%s %" PRIu64 " %s", r == XAPI_VERB_NOT_MAPPED ? "" : ",", x->why[r],
               xapi_reason_name((xapi_reason_t)r));
    printf("; %" PRIu64 " warnings\n", x->warnings);
    if (x->warnings > XAPI_SHOWN_PER_WHY * 4) /* so the listed ones and these add up */
        fprintf(stderr, "(%" PRIu64 " more warnings not listed)\n",
                x->warnings - XAPI_SHOWN_PER_WHY * 4);
    if (jsonseq_more(x->seq)[0])
        fprintf(stderr, "(the LRS has more statements: %s)\n", jsonseq_more(x->seq));
    for (int r = XAPI_VERB_NOT_MAPPED; r < XAPI_REASON_COUNT; r++)
        if (r != XAPI_MALFORMED && x->why[r] > XAPI_SHOWN_PER_WHY)
            fprintf(stderr, "(%" PRIu64 " more %s statements not listed)\n",
                    x->why[r] - XAPI_SHOWN_PER_WHY, xapi_reason_name((xapi_reason_t)r));
}

static int xapi_run(ctl_t *ctl, const args_t *a, const char *path, bool follow)
{
    uint64_t batch = DEFAULT_BATCH, window = DEFAULT_WINDOW;
    int rc = opt_u64(ctl, a, OPT_BATCH, 1, MAX_BATCH, &batch);
    if (rc == 0)
        rc = opt_u64(ctl, a, OPT_WINDOW, 1, MAX_WINDOW, &window);
    if (rc != 0)
        return rc;
    char *mtext = NULL;
    size_t mlen = 0;
    if ((rc = read_file(a->val[OPT_MAPPING], MAX_FILE_BYTES, &mtext, &mlen)) != 0)
        return rc;
    xrun_t *x = xcalloc(1, sizeof *x);
    err_detail_t d;
    if (xapi_map_parse(mtext, mlen, &x->map, &d) != 0) {
        fprintf(stderr, "%s: %s: %s%s%s\n", progname, a->val[OPT_MAPPING], d.field,
                d.field[0] ? ": " : "", d.message);
        free(mtext);
        free(x);
        return CTL_USAGE;
    }
    free(mtext);
    x->path = path;
    x->fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (x->fd < 0) {
        fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
        xapi_map_destroy(&x->map);
        free(x);
        return CTL_USAGE;
    }
    x->seq = jsonseq_new();
    if (x->seq == NULL) {
        fprintf(stderr, "%s: out of memory\n", progname);
        exit(CTL_ERR_REPLY);
    }
    x->chunk = xcalloc(1, XAPI_READ_CHUNK);
    x->imp.ctl = ctl;
    x->imp.unit = "statement";
    x->imp.batch_size = batch;
    x->imp.window = window;
    x->items = xcalloc(batch, sizeof *x->items);
    x->ptrs = xcalloc(batch, sizeof *x->ptrs);
    x->index = xcalloc(batch, sizeof *x->index);
    for (size_t i = 0; i < batch; i++)
        x->items[i] = (Mastery__V1__Evidence)MASTERY__V1__EVIDENCE__INIT;
    if (follow)
        ctl_catch_signals(); /* poll and read return EINTR */
    double t0 = mono_s();
    if (!follow) /* a bridge runs for days: no progress line */
        progress_start(&x->imp.progress, ctl, x->fd);
    rc = importer_start(&x->imp);
    if (rc == 0)
        rc = xrun_case_uris(x);
    if (rc == 0)
        rc = xrun_loop(x);
    if (rc < 0)
        rc = 0; /* interrupted (follow): what was read is still sent and counted */
    if (rc == 0)
        rc = xrun_drain(x);
    progress_clear(&x->imp.progress);
    if (rc == 0 || rc == CTL_UNREACHABLE)
        xrun_summary(x, mono_s() - t0);
    if (rc == 0 && (x->why[XAPI_MALFORMED] > 0 || x->imp.rejected > 0 || x->retract_failed > 0))
        rc = CTL_ERR_REPLY;
    xrun_clear_items(x);
    importer_stop(&x->imp);
    if (x->fd > 0)
        close(x->fd);
    jsonseq_destroy(&x->seq);
    free(x->chunk);
    free(x->items);
    free(x->ptrs);
    free(x->index);
    xapi_map_destroy(&x->map);
    free(x);
    return rc;
}

int cmd_xapi_import(ctl_t *ctl, const args_t *a)
{
    return xapi_run(ctl, a, a->pos[0], false);
}

int cmd_xapi_follow(ctl_t *ctl, const args_t *a)
{
    return xapi_run(ctl, a, "-", true);
}
