/*
 * masteryctl evidence import, and the batches in flight it shares with `xapi import|follow`.
 *
 * A batch is a SubmitEvidence request of up to --batch items, sent through a libmasteryclient
 * window of --window requests (each resent by request id at its deadline). Lines that cannot
 * be sent become notes of the batch they fell in, so every report comes out in input order:
 * the notes and the daemon's verdicts merged by line number.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "masteryctl.h"

#define MAX_LINE_BYTES      (1u << 20)  /* one evidence line */
#define MAX_ITEM_BYTES      (64u << 10) /* one packed evidence item */
#define MAX_NOTES_PER_BATCH 4096        /* local failures held for ordered reporting */

/* A failure found before sending: reported in line order with the daemon's verdicts. */
typedef struct note {
    uint64_t line;
    err_detail_t d;
} note_t;

struct batch {
    uint64_t *lines; /* the line number of each item */
    size_t n_items, cap;
    note_t *notes;
    size_t n_notes, cap_notes;
};

/* ---- batches -------------------------------------------------------------------------------- */

batch_t *batch_new(size_t cap)
{
    batch_t *b = xcalloc(1, sizeof *b);
    b->lines = xcalloc(cap, sizeof *b->lines);
    b->cap = cap;
    return b;
}

static void batch_free(batch_t *b)
{
    if (b == NULL)
        return;
    free(b->lines);
    free(b->notes);
    free(b);
}

void batch_add(batch_t *b, uint64_t line)
{
    if (b->n_items < b->cap)
        b->lines[b->n_items++] = line;
}

void batch_note(batch_t *b, uint64_t line, const err_detail_t *d)
{
    if (b->n_notes == b->cap_notes) {
        b->cap_notes = b->cap_notes ? b->cap_notes * 2 : 8;
        note_t *n = realloc(b->notes, b->cap_notes * sizeof *n);
        if (n == NULL) {
            fprintf(stderr, "%s: out of memory\n", progname);
            exit(CTL_ERR_REPLY);
        }
        b->notes = n;
    }
    b->notes[b->n_notes++] = (note_t){line, *d};
}

/* ---- reports -------------------------------------------------------------------------------- */

static const char *unit_of(const importer_t *imp)
{
    return imp->unit ? imp->unit : "line";
}

static void import_report(importer_t *imp, uint64_t line, const char *code, const char *field,
                          const char *message)
{
    const char *unit = unit_of(imp);
    progress_clear(&imp->progress);
    if (imp->ctl->json) {
        emit_json(json_pack("{s:I,s:s,s:o,s:o}", unit, (json_int_t)line, "code", code, "field",
                            jstr(field), "message", jstr(message)));
    } else if (field && field[0]) {
        fprintf(stderr, "%s %" PRIu64 ": %s %s: %s\n", unit, line, code, field, message);
    } else {
        fprintf(stderr, "%s %" PRIu64 ": %s: %s\n", unit, line, code, message);
    }
}

/* Counts and reports one sent item's verdict. */
static void import_item_status(importer_t *imp, uint64_t line, const Mastery__V1__Status *st)
{
    int code = status_code(st);
    if (code == 0)
        imp->accepted++;
    else if (code == MASTERY__V1__STATUS_CODE__STATUS_DUPLICATE)
        imp->duplicates++;
    else {
        imp->rejected++;
        import_report(imp, line, mc_status_name(code), st->field, st->message);
    }
}

/* A batch refused as a whole (too many items, not allowed, ...): one report for its lines. */
static void import_batch_refused(importer_t *imp, const batch_t *b, const Mastery__V1__Reply *rep)
{
    bool has = status_code(rep->status) != 0;
    const char *code = has ? mc_status_name((int)rep->status->code) : "INTERNAL";
    const char *field = has ? rep->status->field : "";
    const char *message = has ? rep->status->message : "unexpected reply to submit_evidence";
    uint64_t first = b->lines[0], last = b->lines[b->n_items - 1];
    progress_clear(&imp->progress);
    const char *unit = unit_of(imp);
    char last_key[32];
    snprintf(last_key, sizeof last_key, "last_%s", unit);
    imp->rejected += b->n_items;
    if (imp->ctl->json)
        emit_json(json_pack("{s:I,s:I,s:I,s:s,s:o,s:o}", unit, (json_int_t)first, last_key,
                            (json_int_t)last, "items", (json_int_t)b->n_items, "code", code,
                            "field", jstr(field), "message", jstr(message)));
    else
        fprintf(stderr, "%ss %" PRIu64 "-%" PRIu64 " (%zu items): %s%s%s: %s\n", unit, first, last,
                b->n_items, code, field[0] ? " " : "", field, message);
}

/* Reports a finished batch (rep NULL: nothing was sent): its notes and its items' verdicts
 * merged in line order. */
static void import_finish_batch(importer_t *imp, const batch_t *b, const Mastery__V1__Reply *rep)
{
    const Mastery__V1__EvidenceResults *er =
        rep && rep->result_case == MASTERY__V1__REPLY__RESULT_EVIDENCE_RESULTS
            ? rep->evidence_results
            : NULL;
    size_t n_items = b->n_items;
    if (rep != NULL && (status_code(rep->status) != 0 || er == NULL)) {
        import_batch_refused(imp, b, rep);
        n_items = 0; /* only the notes remain to report */
    }
    static const Mastery__V1__Status missing = {
        PROTOBUF_C_MESSAGE_INIT(&mastery__v1__status__descriptor),
        MASTERY__V1__STATUS_CODE__STATUS_INTERNAL, (char *)"the reply has no status for this item",
        (char *)""};
    size_t ni = 0, nn = 0;
    while (ni < n_items || nn < b->n_notes) {
        if (nn < b->n_notes && (ni == n_items || b->notes[nn].line < b->lines[ni])) {
            const note_t *n = &b->notes[nn++];
            imp->rejected++;
            import_report(imp, n->line, err_str(n->d.code), n->d.field, n->d.message);
            continue;
        }
        const Mastery__V1__Status *st = &missing;
        if (ni < er->n_items)
            st = er->items[ni]->status; /* NULL (absent) means OK */
        import_item_status(imp, b->lines[ni++], st);
    }
}

/* ---- the window ----------------------------------------------------------------------------- */

int importer_start(importer_t *imp)
{
    int rc = ctl_connect(imp->ctl);
    if (rc != 0)
        return rc;
    if (mc_window_new(imp->ctl->mc, imp->window, &imp->win) != 0) {
        fprintf(stderr, "%s: out of memory\n", progname);
        return CTL_ERR_REPLY;
    }
    return 0;
}

void importer_stop(importer_t *imp)
{
    void *tag;
    while (imp->win != NULL && mc_window_cancel(imp->win, &tag))
        batch_free(tag);
    mc_window_destroy(&imp->win);
}

int importer_send(importer_t *imp, Mastery__V1__Request *req, batch_t *b)
{
    size_t before = mc_window_count(imp->win);
    err_detail_t d;
    int rc = mc_window_send(imp->win, req, CALL_ATTEMPTS, b, &d);
    if (mc_window_count(imp->win) == before)
        batch_free(b); /* not taken: nothing will hand it back */
    return rc == 0 ? 0 : ctl_failed(&d, rc);
}

int importer_wait(importer_t *imp)
{
    void *expired = NULL;
    err_detail_t d;
    int rc = mc_window_wait(imp->win, -1, &expired, &d);
    if (rc == 0 || rc == MC_ERR_INTERRUPTED)
        return 0; /* interrupted: what is in flight is still waited for */
    if (rc == MC_ERR_NO_REPLY && expired != NULL) {
        const batch_t *b = expired;
        progress_clear(&imp->progress);
        fprintf(stderr, "%s: %ss %" PRIu64 "..%" PRIu64 " unconfirmed\n", progname, unit_of(imp),
                b->lines[0], b->lines[b->n_items - 1]);
    }
    return ctl_failed(&d, rc);
}

void importer_reap(importer_t *imp)
{
    void *tag;
    Mastery__V1__Reply *rep;
    while (mc_window_take(imp->win, &tag, &rep)) {
        import_finish_batch(imp, tag, rep);
        mc_reply_free(rep);
        batch_free(tag);
    }
}

/* ---- evidence import --------------------------------------------------------------------------
 */

typedef struct line_reader {
    importer_t imp;
    FILE *in;
    const char *path;
    char *buf; /* MAX_LINE_BYTES + 2 */
    uint64_t line;
    bool eof;
    uint64_t records;
} line_reader_t;

/*
 * Reads the next line into lr->buf (NUL-terminated, without the newline or a CR before it).
 * Returns 1 with *len set, 0 at end of input, or -1 for a line over MAX_LINE_BYTES (skipped).
 */
static int import_read_line(line_reader_t *lr, size_t *len)
{
    if (fgets(lr->buf, MAX_LINE_BYTES + 2, lr->in) == NULL)
        return 0;
    lr->line++;
    size_t n = strlen(lr->buf);
    bool newline = n > 0 && lr->buf[n - 1] == '\n';
    if (!newline && n > MAX_LINE_BYTES) {
        int ch;
        while ((ch = getc(lr->in)) != EOF && ch != '\n')
            ;
        return -1;
    }
    if (newline)
        lr->buf[--n] = '\0';
    if (n > 0 && lr->buf[n - 1] == '\r')
        lr->buf[--n] = '\0';
    *len = n;
    return 1;
}

static bool is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t')
            return false;
    return true;
}

/* Parses one line into *ev; on failure fills *d and returns nonzero. */
static int import_parse_line(line_reader_t *lr, size_t len, Mastery__V1__Evidence *ev,
                             err_detail_t *d)
{
    const char *s = lr->buf;
    if (lr->line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3; /* a UTF-8 byte order mark */
        len -= 3;
    }
    json_error_t jerr;
    json_t *obj = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
    if (obj == NULL)
        return err_set(d, ERR_INVALID, "json", "%s at column %d", jerr.text, jerr.column);
    int rc = evidence_from_json(obj, ev, d);
    json_decref(obj);
    return rc;
}

/*
 * Reads the next line into *ev. Returns 1 when ev holds an item (its packed size in *size),
 * 0 at the end of the input, -1 when the line was blank or failed (then it is a note of b).
 */
static int import_one_line(line_reader_t *lr, batch_t *b, Mastery__V1__Evidence *ev, size_t *size)
{
    size_t len = 0;
    int r = import_read_line(lr, &len);
    if (r == 0)
        return 0;
    if (r > 0 && is_blank(lr->buf))
        return -1;
    lr->records++;
    err_detail_t d;
    err_clear(&d);
    *ev = (Mastery__V1__Evidence)MASTERY__V1__EVIDENCE__INIT;
    if (r < 0) {
        err_set(&d, ERR_INVALID, "", "line longer than %u bytes", MAX_LINE_BYTES);
    } else if (import_parse_line(lr, len, ev, &d) == 0) {
        *size = mastery__v1__evidence__get_packed_size(ev);
        if (*size <= MAX_ITEM_BYTES)
            return 1;
        err_set(&d, ERR_INVALID, "", "an item of %zu bytes; at most %u", *size, MAX_ITEM_BYTES);
    }
    evidence_clear(ev);
    batch_note(b, lr->line, &d);
    return -1;
}

/*
 * Reads up to batch_size items (and about MAX_BATCH_BYTES, under the daemon's default 1 MiB
 * max_frame) into a batch and sends it (or, when every line became a note, queues it for its
 * reports). Returns 0, CTL_USAGE on a read error, or what sending returns.
 */
static int import_fill_batch(line_reader_t *lr)
{
    importer_t *imp = &lr->imp;
    Mastery__V1__Evidence *items = xcalloc(imp->batch_size, sizeof *items);
    Mastery__V1__Evidence **ptrs = xcalloc(imp->batch_size, sizeof *ptrs);
    batch_t *b = batch_new(imp->batch_size);
    int rc = 0;
    size_t bytes = 0;
    while (b->n_items < imp->batch_size && bytes < MAX_BATCH_BYTES &&
           b->n_notes < MAX_NOTES_PER_BATCH) {
        Mastery__V1__Evidence *ev = &items[b->n_items];
        size_t size = 0;
        int r = import_one_line(lr, b, ev, &size);
        if (r == 0) {
            lr->eof = true;
            break;
        }
        if (r < 0)
            continue;
        bytes += size + 8; /* the item's tag and length */
        ptrs[b->n_items] = ev;
        batch_add(b, lr->line);
    }
    size_t n_items = b->n_items;
    if (ferror(lr->in)) {
        fprintf(stderr, "%s: %s: %s\n", progname, lr->path, strerror(errno));
        batch_free(b);
        rc = CTL_USAGE;
    } else if (n_items > 0) {
        Mastery__V1__SubmitEvidence sub = MASTERY__V1__SUBMIT_EVIDENCE__INIT;
        sub.n_items = n_items;
        sub.items = ptrs;
        Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
        req.op_case = MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE;
        req.submit_evidence = &sub;
        rc = importer_send(imp, &req, b);
    } else {
        rc = importer_send(imp, NULL, b); /* nothing to send; only notes to report */
    }
    for (size_t i = 0; i < n_items; i++)
        evidence_clear(&items[i]);
    free(items);
    free(ptrs);
    return rc;
}

static int import_run(line_reader_t *lr)
{
    importer_t *imp = &lr->imp;
    for (;;) {
        progress_update(&imp->progress, imp->accepted + imp->duplicates + imp->rejected,
                        lr->records, "line");
        while (!lr->eof && mc_window_count(imp->win) < imp->window) {
            int rc = import_fill_batch(lr);
            if (rc != 0)
                return rc;
        }
        importer_reap(imp);
        size_t count = mc_window_count(imp->win);
        if (count == 0 && lr->eof)
            return 0;
        if (count == imp->window || lr->eof) {
            int rc = importer_wait(imp);
            if (rc != 0)
                return rc;
        }
    }
}

static void import_summary(const line_reader_t *lr, double seconds)
{
    const importer_t *imp = &lr->imp;
    double rate = seconds > 0 ? (double)lr->records / seconds : 0;
    if (imp->ctl->json) {
        emit_json(json_pack("{s:I,s:I,s:I,s:I,s:f,s:f}", "lines", (json_int_t)lr->records,
                            "accepted", (json_int_t)imp->accepted, "duplicates",
                            (json_int_t)imp->duplicates, "rejected", (json_int_t)imp->rejected,
                            "seconds", seconds, "lines_per_s", rate));
        return;
    }
    printf("%" PRIu64 " lines in %.2f s (%.0f lines/s): %" PRIu64 " accepted, %" PRIu64
           " duplicates, %" PRIu64 " rejected\n",
           lr->records, seconds, rate, imp->accepted, imp->duplicates, imp->rejected);
}

int cmd_evidence_import(ctl_t *ctl, const args_t *a)
{
    uint64_t batch = DEFAULT_BATCH, window = DEFAULT_WINDOW;
    int rc = opt_u64(ctl, a, OPT_BATCH, 1, MAX_BATCH, &batch);
    if (rc == 0)
        rc = opt_u64(ctl, a, OPT_WINDOW, 1, MAX_WINDOW, &window);
    if (rc != 0)
        return rc;
    line_reader_t *lr = xcalloc(1, sizeof *lr);
    lr->imp.ctl = ctl;
    lr->imp.batch_size = batch;
    lr->imp.window = window;
    lr->path = a->pos[0];
    lr->in = strcmp(lr->path, "-") == 0 ? stdin : fopen(lr->path, "r");
    if (lr->in == NULL) {
        fprintf(stderr, "%s: %s: %s\n", progname, lr->path, strerror(errno));
        free(lr);
        return CTL_USAGE;
    }
    lr->buf = xcalloc(1, MAX_LINE_BYTES + 2);
    double t0 = mono_s();
    progress_start(&lr->imp.progress, ctl, fileno(lr->in));
    rc = importer_start(&lr->imp);
    if (rc == 0)
        rc = import_run(lr);
    progress_clear(&lr->imp.progress);
    if (rc == 0 || rc == CTL_UNREACHABLE)
        import_summary(lr, mono_s() - t0);
    if (rc == 0 && lr->imp.rejected > 0)
        rc = CTL_ERR_REPLY;
    importer_stop(&lr->imp);
    if (lr->in != stdin)
        fclose(lr->in);
    free(lr->buf);
    free(lr);
    return rc;
}
