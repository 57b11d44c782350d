#include "handler.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <time.h>

#include <openssl/sha.h>

#include "advice.h"
#include "arena.h"
#include "backup.h"
#include "badges.h"
#include "casepkg.h"
#include "catalog.h"
#include "cluster.h"
#include "codec.h"
#include "entropy.h"
#include "isotime.h"
#include "engine.h"
#include "graph.h"
#include "groups.h"
#include "journal.h"
#include "log.h"
#include "records.h"
#include "logentry.h"
#include "note.h"
#include "proof.h"
#include "translog.h"
#include "vault.h"

#define ID_MAX        256
#define SOURCE_MAX    256
#define URL_MAX       2048
#define NARRATIVE_MAX 8192
#define REASON_MAX    2048

typedef Mastery__V1__Reply reply_t;

struct handler {
    store_t *store;
    const conf_t *conf;
    handler_stats_t *stats;
    catalog_t *cat;
    engine_t *engine;
    journal_t *journal;
    translog_t *log;          /* the transparency log; NULL when transparency_log = 0 */
    engine_changes_t changes; /* what the engine did in the current operation */
    advice_t advice;          /* Next's ranking, reused */
    badges_t *badges;         /* borrowed; NULL: credentials disabled */
    arena_t *arena;           /* reply building; reset per request */
    int64_t now;
    bool catalog_dirty;
    /* The batch's acts, logged (and counted) once it commits: entries of [act byte][line]\0.
     * Bounded: past NOTES_MAX, acts are counted in notes_dropped and logged as a number. */
    buf_t notes;
    uint64_t notes_dropped;
    uint64_t batch_items[METRICS_ITEM_RESULTS]; /* evidence results, counted on commit */
    const char *who;                            /* the current request's client, for the log */
    int64_t forbidden_window;                   /* FORBIDDEN lines: at most FORBIDDEN_LOGGED */
    uint64_t forbidden_logged;                  /* a minute, then a count */
    int64_t sweep_next;                         /* when the at-risk sweep runs next (Unix ms) */
    int64_t retention_next;                     /* when the retention sweep runs next */
    bool rekey_pending;                         /* re-keying may be due (records_rekey_t) */
    int64_t rekey_next;                         /* after a failed step: not before */
    uint8_t retention_cursor[STORE_HASH_LEN];   /* the learner hash it resumes at */
    uint8_t sweep_cursor[STORE_HASH_LEN];       /* the learner hash it resumes at */
};

#define NOTES_MAX        (1024 * 1024)
#define FORBIDDEN_LOGGED 20

/* ---- the operator's log -------------------------------------------------------------------- */

/* An id or name as it may appear in a log line: printable ASCII, at most 64 bytes, so a client
 * cannot forge lines or flood one. Never used for learner ids (see learner_ref) or free text. */
static const char *clean(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; s && *s && n + 1 < cap && n < 64; s++)
        out[n++] = (*s >= 0x21 && *s < 0x7f) ? *s : '?';
    out[n] = '\0';
    return n ? out : "-";
}

/* The learner as log lines name it: a keyed hash (logref.h), never the id. */
static const char *learner_ref(const handler_t *h, const char *id, char out[LOGREF_LEN])
{
    if (!h->stats->logref_set)
        return "L-?";
    logref_make(h->stats->logref_key, id, out);
    return out;
}

/* Queues one act for the log; it is written when (and only if) the batch commits. */
__attribute__((format(printf, 3, 4))) static void note(handler_t *h, metrics_act_t act,
                                                       const char *fmt, ...)
{
    char line[768];
    line[0] = (char)('a' + act);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + 1, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (buf_append(&h->notes, line, strlen(line) + 1) != 0)
        h->notes_dropped++;
}

/* FORBIDDEN is logged when it happens (it changes nothing), at most FORBIDDEN_LOGGED lines a
 * minute; the rest are counted and their number logged when the minute is over. */
static bool forbidden_log_ok(handler_t *h)
{
    if (h->now - h->forbidden_window >= 60000) {
        if (h->forbidden_logged > FORBIDDEN_LOGGED)
            log_info("FORBIDDEN: %llu more refusals in the last minute (not logged one by one)",
                     (unsigned long long)(h->forbidden_logged - FORBIDDEN_LOGGED));
        h->forbidden_window = h->now;
        h->forbidden_logged = 0;
    }
    return ++h->forbidden_logged <= FORBIDDEN_LOGGED;
}

/* ---- the engine's changes, as events and badges -------------------------------------------- */

/* A mastery of a competency with an achievement issues its badge in the same transaction,
 * and the badge's event follows the mastery's. */
static int issue_badge(handler_t *h, store_txn_t *txn, const engine_change_t *mastered)
{
    bool issued;
    badges_info_t info;
    err_detail_t d;
    const char *learner = h->changes.learner_id;
    int rc = badges_on_mastered(h->badges, txn, mastered->fw, mastered->competency, learner, h->now,
                                &issued, &info, &d);
    if (rc != 0 || !issued)
        return rc;
    journal_event_t ev = {
        .kind = JOURNAL_CREDENTIAL_ISSUED,
        .learner_id = learner,
        .framework_id = graph_id(mastered->fw->graph),
        .competency_id = graph_comp(mastered->fw->graph, mastered->competency)->id,
        .credential_id = info.id,
        .achievement_name = info.name,
    };
    char lref[LOGREF_LEN], f[80], c[80];
    note(h, METRICS_ACT_CREDENTIAL_ISSUED, "credential issued: %s to learner %s for %s %s", info.id,
         learner_ref(h, learner, lref), clean(ev.framework_id, f, sizeof f),
         clean(ev.competency_id, c, sizeof c));
    return journal_append(h->journal, txn, &ev);
}

/*
 * Turns what the engine returned into the journal's events, in the order it happened, and
 * issues the badge of every mastery right after its event. Then empties the list. A failure
 * here follows writes: the caller must not commit the transaction.
 */
static int apply_changes(handler_t *h, store_txn_t *txn)
{
    const engine_changes_t *op = &h->changes;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < op->n; i++) {
        const engine_change_t *c = &op->v[i];
        journal_event_t ev = {
            .learner_id = op->learner_id,
            .framework_id = c->fw ? graph_id(c->fw->graph) : "",
            .competency_id =
                c->fw ? graph_comp(c->fw->graph, c->competency)->id : op->competency_id,
            .evidence_id = op->evidence_id,
            .evidence_source = op->evidence_source,
            .score = c->score,
        };
        switch (c->kind) {
        case CHANGE_UNLOCKED:
            ev.kind = JOURNAL_UNLOCKED;
            break;
        case CHANGE_MASTERED:
            ev.kind = JOURNAL_MASTERED;
            break;
        case CHANGE_OVERRIDE:
            ev.kind = JOURNAL_OVERRIDE;
            ev.flag = op->granted;
            ev.reason = op->reason;
            ev.actor = op->actor;
            break;
        case CHANGE_RETRACTED:
            ev.kind = JOURNAL_EVIDENCE_RETRACTED;
            ev.reason = op->reason;
            break;
        case CHANGE_REVIEW_FAILED:
            ev.kind = JOURNAL_REVIEW_FAILED;
            ev.failures = (uint32_t)c->score;
            break;
        }
        if (c->kind == CHANGE_OVERRIDE || c->kind == CHANGE_RETRACTED) {
            char lref[LOGREF_LEN], f[80], cp[80], a[80];
            if (c->kind == CHANGE_OVERRIDE)
                note(h, METRICS_ACT_OVERRIDE, "override: %s %s %s for learner %s by %s",
                     op->granted ? "granted" : "withdrew", clean(ev.framework_id, f, sizeof f),
                     clean(ev.competency_id, cp, sizeof cp), learner_ref(h, op->learner_id, lref),
                     clean(op->actor, a, sizeof a));
            else
                note(h, METRICS_ACT_EVIDENCE_RETRACTED,
                     "evidence retracted: learner %s, %s %s, by %s",
                     learner_ref(h, op->learner_id, lref), clean(ev.framework_id, f, sizeof f),
                     clean(ev.competency_id, cp, sizeof cp), clean(h->who, a, sizeof a));
        }
        rc = journal_append(h->journal, txn, &ev);
        if (rc == 0 && c->kind == CHANGE_MASTERED && h->badges)
            rc = issue_badge(h, txn, c);
    }
    engine_changes_reset(&h->changes);
    return rc;
}

int handler_review_sweep(handler_t *h, store_txn_t *txn, size_t max, size_t *published)
{
    size_t looked = 0;
    *published = 0;
    /* In a child transaction with a journal mark: a failure here never takes the requests of
     * the batch it rides in with it. */
    store_txn_t *child;
    int rc = store_txn_begin_child(txn, &child);
    if (rc != 0)
        return rc;
    journal_mark_t mark;
    journal_mark(h->journal, &mark);
    while (looked < max) {
        engine_review_due_t due;
        if ((rc = engine_review_due_next(h->engine, child, h->now, &looked, &due)) != 0)
            break;
        journal_event_t ev = {
            .kind = JOURNAL_REVIEW_DUE,
            .learner_id = due.learner_id,
            .framework_id = graph_id(due.fw->graph),
            .competency_id = graph_comp(due.fw->graph, due.ci)->id,
            .due_at = due.due_at,
        };
        if ((rc = journal_append(h->journal, child, &ev)) != 0)
            break;
        (*published)++;
    }
    if (rc == ERR_NOT_FOUND)
        rc = 0;
    if (rc == 0 && (rc = store_txn_error(child)) == 0 && (rc = store_txn_commit(&child)) == 0)
        return 0;
    store_txn_abort(&child);
    journal_rollback(h->journal, &mark);
    *published = 0;
    return rc;
}

size_t handler_event_count(const handler_t *h)
{
    return journal_queued(h->journal);
}

void handler_event_get(const handler_t *h, size_t i, const char **topic, size_t *topic_len,
                       const uint8_t **data, size_t *len)
{
    journal_queued_get(h->journal, i, topic, topic_len, data, len);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static int handler_load(handler_t *h, err_detail_t *d)
{
    store_txn_t *txn;
    int rc = store_txn_begin(h->store, false, &txn);
    if (rc != 0)
        return err_set(d, rc, "store", "cannot begin a read transaction");
    rc = catalog_load(h->cat, txn, d);
    if (rc == 0 && (rc = journal_open(h->journal, txn)) != 0)
        rc = err_set(d, rc, "events", "cannot read the last event");
    store_txn_abort(&txn);
    h->catalog_dirty = false;
    return rc;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sets the journal's retention and catches up with it before serving, in transactions of
 * bounded size (appends then prune 2 events each, enough to keep up). */
static int retention_start(handler_t *h, err_detail_t *d)
{
    journal_set_retention(h->journal, (int64_t)h->conf->events_keep_days * 86400000,
                          h->conf->events_keep_count);
    size_t deleted = 0;
    do {
        store_txn_t *txn = NULL;
        int rc = store_txn_begin(h->store, true, &txn);
        journal_batch_begin(h->journal, wall_ms());
        if (rc == 0 && (rc = journal_prune(h->journal, txn, 10000, &deleted)) != 0)
            store_txn_fail(txn, rc);
        if (txn != NULL)
            rc = store_txn_commit(&txn);
        journal_batch_end(h->journal, rc == 0);
        if (rc != 0)
            return err_set(d, rc, "events", "cannot apply events retention: %s", err_str(rc));
    } while (deleted == 10000);
    return 0;
}

/* The origin a new log gets when log_origin is not set: under a did:web issuer its host,
 * else the issuer's first did:key (stable: the origin is stored and never derived again). */
static void default_origin(const handler_t *h, char *out, size_t cap)
{
    const char *did = h->badges ? badges_issuer_did(h->badges) : "";
    if (strncmp(did, "did:web:", 8) == 0) {
        size_t n = strcspn(did + 8, ":%");
        snprintf(out, cap, "%.*s/masteryd", (int)n, did + 8);
    } else if (strncmp(did, "did:key:", 8) == 0)
        snprintf(out, cap, "masteryd/%.24s", did + 8);
    else
        snprintf(out, cap, "masteryd/local");
}

/* Opens the transparency log and attaches it to the journal, fixing its origin on the first
 * start: a log is known to auditors by its origin, so a different log_origin later is refused. */
static int log_start(handler_t *h, err_detail_t *d)
{
    if (!h->conf->transparency_log) {
        log_warnx("transparency_log = 0: events are NOT logged (benchmarks only; what commits "
                  "now is missing from the log for good)");
        return 0;
    }
    store_txn_t *txn;
    int rc = store_txn_begin(h->store, true, &txn);
    if (rc != 0)
        return err_set(d, rc, "store", "cannot begin a write transaction");
    char origin[TLOG_NAME_MAX + 1];
    const char *want = h->conf->log_origin;
    rc = records_log_origin_get(txn, origin, sizeof origin);
    if (rc == 0 && want[0] != '\0' && strcmp(want, origin) != 0) {
        store_txn_abort(&txn);
        return err_set(
            d, ERR_INVALID, "log_origin",
            "the transparency log's origin is '%s' since it began; auditors follow it "
            "by that name, so it cannot become '%s' (remove log_origin or set it to '%s')",
            origin, want, origin);
    }
    if (rc == ERR_NOT_FOUND) {
        size_t n = strlen(want);
        if (n >= sizeof origin) {
            store_txn_abort(&txn);
            return err_set(d, ERR_INVALID, "log_origin", "%zu bytes; at most %d", n, TLOG_NAME_MAX);
        }
        if (n > 0)
            memcpy(origin, want, n + 1);
        else
            default_origin(h, origin, sizeof origin);
        rc = 0;
    }
    if (rc == 0 && (rc = translog_open(&h->log, txn, origin, d)) == 0 &&
        (rc = records_log_origin_put(txn, origin)) == 0)
        rc = store_txn_commit(&txn);
    store_txn_abort(&txn);
    if (rc != 0) {
        translog_destroy(&h->log);
        return d->field[0] ? rc : err_set(d, rc, "log", "cannot open the transparency log");
    }
    journal_set_log(h->journal, h->log);
    log_info("transparency log %s: %llu entries", origin,
             (unsigned long long)translog_size(h->log));
    return 0;
}

int handler_new(store_t *st, const conf_t *conf, handler_stats_t *stats, badges_t *badges,
                handler_t **out, err_detail_t *d)
{
    handler_t *h = calloc(1, sizeof *h);
    if (h == NULL)
        return err_set(d, ERR_NOMEM, "handler", "out of memory");
    h->store = st;
    h->badges = badges;
    h->conf = conf;
    h->rekey_pending = true; /* a re-keying the last run did not finish resumes */
    h->stats = stats;
    h->cat = catalog_new();
    buf_init(&h->notes, NOTES_MAX);
    h->arena = arena_new(64 * 1024);
    h->journal = journal_new();
    if (h->cat)
        h->engine = engine_new(h->cat);
    int rc;
    if (h->cat == NULL || h->arena == NULL || h->engine == NULL || h->journal == NULL) {
        rc = err_set(d, ERR_NOMEM, "handler", "out of memory");
        goto fail;
    }
    if ((rc = handler_load(h, d)) != 0 || (rc = retention_start(h, d)) != 0 ||
        (rc = log_start(h, d)) != 0)
        goto fail;
    *out = h;
    return 0;
fail:
    handler_destroy(&h);
    return rc;
}

void handler_destroy(handler_t **hp)
{
    if (hp == NULL || *hp == NULL)
        return;
    handler_t *h = *hp;
    journal_destroy(&h->journal);
    translog_destroy(&h->log);
    buf_free(&h->notes);
    engine_changes_free(&h->changes);
    advice_free(&h->advice);
    engine_destroy(&h->engine);
    catalog_destroy(&h->cat);
    arena_destroy(&h->arena);
    free(h);
    *hp = NULL;
}

void handler_batch_begin(handler_t *h, int64_t now_ms)
{
    h->now = now_ms;
    journal_batch_begin(h->journal, now_ms);
    engine_set_now(h->engine, now_ms);
    buf_reset(&h->notes);
    h->notes_dropped = 0;
    memset(h->batch_items, 0, sizeof h->batch_items);
}

/* The batch committed: its acts happened, so they are logged and counted now. */
static void log_acts(handler_t *h)
{
    metrics_t *m = &h->stats->m;
    for (size_t off = 0; off < h->notes.len;) {
        const char *e = h->notes.data + off;
        size_t n = strlen(e);
        unsigned act = (unsigned)(e[0] - 'a');
        if (act < METRICS_ACTS)
            m->acts[act]++;
        log_info("%s", e + 1);
        off += n + 1;
    }
    if (h->notes_dropped)
        log_info("%llu more acts in this batch (not logged one by one; see the event log)",
                 (unsigned long long)h->notes_dropped);
    m->events += journal_batch_events(h->journal);
    for (size_t i = 0; i < METRICS_ITEM_RESULTS; i++)
        m->items[i] += h->batch_items[i];
}

int handler_batch_seal(handler_t *h, store_txn_t *txn)
{
    keys_t *key = h->badges ? badges_log_key(h->badges) : NULL;
    return journal_seal(h->journal, txn, key);
}

int handler_batch_end(handler_t *h, bool committed, err_detail_t *d)
{
    journal_batch_end(h->journal, committed);
    if (committed) {
        log_acts(h);
        return 0;
    }
    for (size_t i = 0; i < METRICS_ITEM_RESULTS; i++)
        h->stats->m.items[METRICS_ITEM_UNCOMMITTED] += h->batch_items[i];
    return handler_load(h, d); /* memory must not run ahead of the store */
}

/* ---- validation helpers -------------------------------------------------------------------- */

/* An id: 1..ID_MAX bytes, no control characters (UTF-8 validity is checked by wire). */
static int check_id(const char *s, const char *field, err_detail_t *d)
{
    size_t n = strlen(s);
    if (n == 0)
        return err_set(d, ERR_INVALID, field, "must not be empty");
    if (n > ID_MAX)
        return err_set(d, ERR_INVALID, field, "is %zu bytes; at most %d", n, ID_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return err_set(d, ERR_INVALID, field, "contains a control character at byte %zu", i);
    return 0;
}

static int check_text(const char *s, size_t max, const char *field, err_detail_t *d)
{
    size_t n = strlen(s);
    if (n > max)
        return err_set(d, ERR_INVALID, field, "is %zu bytes; at most %zu", n, max);
    return 0;
}

/* ---- reply helpers ------------------------------------------------------------------------- */

/*
 * The one check every request that reads or acts on one learner makes (handler rule: call it
 * before reading anything of the learner): a class-scoped teacher (`class=...` in the clients
 * file) may reach only the learners of its classes. FORBIDDEN (field named) otherwise, the
 * same whether the learner exists or not, so the answer tells nothing about other classes.
 * Everyone else (and development mode) passes.
 */
/* An erased learner (issue 16): GONE, naming the field, for every request that names them. A
 * credential whose learner was erased reads back with the id "". */
static int not_erased(store_txn_t *txn, const char *learner_id, const char *field, err_detail_t *d)
{
    int64_t at = 0;
    int rc = ERR_NOT_FOUND;
    if (learner_id[0] != '\0') {
        uint8_t lh[STORE_HASH_LEN];
        store_hash_id(learner_id, lh);
        rc = records_erased_get(txn, lh, &at);
    } else {
        rc = 0;
    }
    if (rc == ERR_NOT_FOUND)
        return 0;
    if (rc != 0)
        return rc;
    char when[40] = "at an earlier time";
    if (at > 0)
        isotime_format_s(at, when, sizeof when);
    return err_set(d, ERR_GONE, field,
                   "the learner was erased (%s): nothing of theirs is kept; ReenrolLearner "
                   "makes the id usable again, as a new learner",
                   when);
}

static int may_read_learner(handler_t *h, store_txn_t *txn, const handler_client_t *who,
                            const char *learner_id, const char *field, err_detail_t *d)
{
    int gone = not_erased(txn, learner_id, field, d);
    if (gone != 0)
        return gone;
    if (!who->authenticated || !auth_client_class_scoped(who->client))
        return 0;
    int rc = groups_any_has_learner(txn, who->client->groups, who->client->n_groups, learner_id);
    if (rc != ERR_NOT_FOUND)
        return rc;
    h->stats->m.refusals[METRICS_REFUSED_FORBIDDEN]++;
    char w[80];
    if (forbidden_log_ok(h))
        log_info("FORBIDDEN: %s: a learner outside its classes", clean(h->who, w, sizeof w));
    return err_set(d, ERR_FORBIDDEN, field, "%s may read only the learners of its classes",
                   who->name);
}

/* A request a class-scoped teacher may not make at all (it would show other learners). */
static int not_class_scoped(handler_t *h, const handler_client_t *who, const char *what,
                            err_detail_t *d)
{
    if (!who->authenticated || !auth_client_class_scoped(who->client))
        return 0;
    h->stats->m.refusals[METRICS_REFUSED_FORBIDDEN]++;
    char w[80];
    if (forbidden_log_ok(h))
        log_info("FORBIDDEN: %s: %s (class-scoped teacher)", clean(h->who, w, sizeof w), what);
    return err_set(d, ERR_FORBIDDEN, "op",
                   "%s is scoped to its classes and may not call %s: it names other learners",
                   who->name, what);
}

static int reply_pack(reply_t *rep, const char *request_id, const err_detail_t *d, uint8_t **out,
                      size_t *len)
{
    Mastery__V1__Status status = MASTERY__V1__STATUS__INIT;
    rep->request_id = (char *)request_id;
    status.code = wire_status_code(d->code);
    status.message = (char *)d->message;
    status.field = (char *)d->field;
    rep->status = &status;
    if (d->code != 0)
        rep->result_case = MASTERY__V1__REPLY__RESULT__NOT_SET;
    return wire_pack(&rep->base, out, len);
}

int handler_error_reply(const char *request_id, int code, const char *field, const char *message,
                        uint8_t **out, size_t *len)
{
    reply_t rep = MASTERY__V1__REPLY__INIT;
    err_detail_t d;
    err_set(&d, code, field, "%s", message);
    return reply_pack(&rep, request_id ? request_id : "", &d, out, len);
}

static Mastery__V1__FrameworkInfo *fw_info(handler_t *h, const catalog_fw_t *fw)
{
    Mastery__V1__FrameworkInfo *i = arena_alloc(h->arena, sizeof *i);
    if (i == NULL)
        return NULL;
    mastery__v1__framework_info__init(i);
    i->framework_id = (char *)graph_id(fw->graph);
    i->title = (char *)graph_title(fw->graph);
    i->version = (char *)graph_version(fw->graph);
    i->revision = fw->revision;
    i->competency_count = graph_count(fw->graph);
    i->loaded_at_ms = fw->loaded_at;
    return i;
}

/* ---- operations ---------------------------------------------------------------------------- */

typedef int (*op_fn)(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                     const handler_client_t *who, reply_t *rep, err_detail_t *d);

/*
 * Loads a framework document: parse and validate, then a new revision (or none, when it is
 * identical to the current one), the framework_loaded event, and the re-evaluation of every
 * learner. *info receives the revision's description.
 */
static int framework_load(handler_t *h, store_txn_t *txn, const char *json, size_t len,
                          Mastery__V1__FrameworkInfo **info, err_detail_t *d)
{
    graph_t *g = NULL;
    int rc = graph_parse(json, len, &g, d);
    if (rc != 0) {
        if (d->field[0] == '\0') /* the document as a whole (malformed JSON) */
            snprintf(d->field, sizeof d->field, "put_framework.json");
        return rc;
    }
    /* Identical to the current revision: idempotent, no new revision. */
    uint32_t revision = 1;
    const catalog_fw_t *cur = catalog_find(h->cat, graph_id(g));
    if (cur != NULL) {
        int64_t at;
        const char *doc;
        size_t doc_len;
        if ((rc = records_framework_get(txn, graph_id(g), cur->revision, &at, &doc, &doc_len)) !=
            0) {
            graph_destroy(&g);
            return err_set(d, rc == ERR_NOT_FOUND ? ERR_INTERNAL : rc, "framework",
                           "cannot read the current revision");
        }
        if (doc_len == len && memcmp(doc, json, len) == 0) {
            graph_destroy(&g);
            *info = fw_info(h, cur);
            return *info ? 0 : ERR_NOMEM;
        }
        revision = cur->revision + 1;
    }
    if ((rc = records_framework_put(txn, graph_id(g), revision, h->now, json, len)) != 0) {
        graph_destroy(&g);
        return rc;
    }
    h->catalog_dirty = true;      /* from here on, a failure must rebuild the catalog */
    const char *id = graph_id(g); /* the graph moves into the catalog, the string with it */
    if ((rc = catalog_put(h->cat, &g, revision, h->now)) != 0) {
        graph_destroy(&g);
        return rc;
    }
    const catalog_fw_t *fw = catalog_find(h->cat, id);
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)json, len, digest);
    journal_event_t ev = {
        .kind = JOURNAL_FRAMEWORK_LOADED,
        .digest = digest,
        .framework_id = graph_id(fw->graph),
        .revision = revision,
        .version = graph_version(fw->graph),
        .competency_count = graph_count(fw->graph),
    };
    if ((rc = journal_append(h->journal, txn, &ev)) != 0)
        return rc;
    char f[80], v[80], w[80];
    note(h, METRICS_ACT_FRAMEWORK_LOADED,
         "framework loaded: %s revision %u (version %s, %u competencies) by %s",
         clean(ev.framework_id, f, sizeof f), revision, clean(ev.version, v, sizeof v),
         (unsigned)ev.competency_count, clean(h->who, w, sizeof w));
    {
        /* Every learner again, one at a time: a new revision may unlock or master more, and a
         * new framework counts the evidence already stored on its competencies, exactly as if
         * that evidence had come after it (state never depends on load order). */
        engine_reeval_t r = {0};
        while ((rc = engine_framework_reevaluate_next(h->engine, txn, fw, &r, &h->changes)) == 0)
            if ((rc = apply_changes(h, txn)) != 0)
                return rc;
        if (rc != ERR_NOT_FOUND)
            return rc;
    }
    *info = fw_info(h, fw);
    return *info ? 0 : ERR_NOMEM;
}

static int op_put_framework(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                            const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)who;
    const char *json = req->put_framework->json;
    int rc = framework_load(h, txn, json, strlen(json), &rep->framework_info, d);
    if (rc == 0)
        rep->result_case = MASTERY__V1__REPLY__RESULT_FRAMEWORK_INFO;
    return rc;
}

/* Gives every competency of a framework document an achievement (a badge), from its own
 * title and description, unless it has one. */
static int add_badges(json_t *doc)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "competencies"), i, c)
    {
        if (json_object_get(c, "achievement"))
            continue;
        const char *title = json_string_value(json_object_get(c, "title"));
        const char *desc = json_string_value(json_object_get(c, "description"));
        json_t *a = json_pack("{s:s, s:s}", "name", title ? title : "", "description",
                              desc && desc[0] ? desc
                              : title         ? title
                                              : "");
        if (a == NULL || json_object_set_new(c, "achievement", a) != 0)
            return ERR_NOMEM;
    }
    return 0;
}

static int op_import_case(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                          const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)who;
    const Mastery__V1__ImportCase *op = req->import_case;
    casepkg_opts_t opts = {op->framework_id, op->gate, (const char *const *)op->rules, op->n_rules};
    casepkg_t *pkg = NULL;
    char *text = NULL;
    json_t *doc = NULL;
    int rc = casepkg_convert(op->package_json, strlen(op->package_json), &opts, &pkg, d);
    if (rc != 0) {
        char field[sizeof d->field];
        memcpy(field, d->field, sizeof field);
        snprintf(d->field, sizeof d->field, "import_case%s%.100s", field[0] ? "." : "", field);
        return rc;
    }
    const char *json = casepkg_framework_text(pkg);
    if (op->badges) {
        doc = json_deep_copy(casepkg_framework(pkg));
        if (doc == NULL || (rc = add_badges(doc)) != 0 ||
            (text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
            rc = ERR_NOMEM;
            goto out;
        }
        json = text;
    }
    Mastery__V1__ImportCaseResult *out = arena_alloc(h->arena, sizeof *out);
    size_t n = casepkg_warning_count(pkg);
    if (out == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    mastery__v1__import_case_result__init(out);
    if ((rc = framework_load(h, txn, json, strlen(json), &out->info, d)) != 0)
        goto out;
    out->summary = arena_strdup(h->arena, casepkg_summary(pkg));
    out->warnings = arena_alloc(h->arena, (n ? n : 1) * sizeof *out->warnings);
    if (out->summary == NULL || out->warnings == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if ((out->warnings[out->n_warnings++] = arena_strdup(h->arena, casepkg_warning(pkg, i))) ==
            NULL) {
            rc = ERR_NOMEM;
            goto out;
        }
    rep->result_case = MASTERY__V1__REPLY__RESULT_IMPORT_CASE;
    rep->import_case = out;
out:
    free(text);
    json_decref(doc);
    casepkg_destroy(&pkg);
    return rc;
}

static int op_get_framework(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                            const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)who;
    const Mastery__V1__GetFramework *op = req->get_framework;
    const catalog_fw_t *fw = catalog_find(h->cat, op->framework_id);
    if (fw == NULL)
        return err_set(d, ERR_NOT_FOUND, "get_framework.framework_id", "no framework '%s'",
                       op->framework_id);
    uint32_t revision = op->revision ? op->revision : fw->revision;
    int64_t at;
    const char *doc;
    size_t doc_len;
    int rc = records_framework_get(txn, op->framework_id, revision, &at, &doc, &doc_len);
    if (rc == ERR_NOT_FOUND)
        return err_set(d, ERR_NOT_FOUND, "get_framework.revision",
                       "framework '%s' has no revision %u (current: %u)", op->framework_id,
                       revision, fw->revision);
    if (rc != 0)
        return rc;
    Mastery__V1__FrameworkDoc *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__framework_doc__init(out);
    out->info = fw_info(h, fw);
    out->json = arena_strndup(h->arena, doc, doc_len);
    if (out->info == NULL || out->json == NULL)
        return ERR_NOMEM;
    out->info->revision = revision;
    out->info->loaded_at_ms = at;
    rep->result_case = MASTERY__V1__REPLY__RESULT_FRAMEWORK;
    rep->framework = out;
    return 0;
}

static int op_list_frameworks(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                              const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)txn, (void)req, (void)who, (void)d;
    Mastery__V1__FrameworkList *out = arena_alloc(h->arena, sizeof *out);
    uint32_t n = catalog_count(h->cat);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__framework_list__init(out);
    out->frameworks = arena_alloc(h->arena, (n ? n : 1) * sizeof *out->frameworks);
    if (out->frameworks == NULL)
        return ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++)
        if ((out->frameworks[i] = fw_info(h, catalog_at(h->cat, i))) == NULL)
            return ERR_NOMEM;
    out->n_frameworks = n;
    rep->result_case = MASTERY__V1__REPLY__RESULT_FRAMEWORK_LIST;
    rep->framework_list = out;
    return 0;
}

/* Whether a stored item equals a resubmission (observed_at compared only when the client
 * set it: a retry of an item the daemon timestamped gets "now" again). */
static bool evidence_same(const Mastery__V1__Evidence *a, const Mastery__V1__Evidence *b,
                          bool compare_time)
{
    /* a stored item retention shredded (no evidence id kept) has lost its url and narrative:
     * a tool resending it is still sending the same item */
    bool shredded = a->evidence_id[0] == '\0';
    return strcmp(a->learner_id, b->learner_id) == 0 &&
           strcmp(a->competency_id, b->competency_id) == 0 && a->score == b->score &&
           a->outcome == b->outcome && a->weight == b->weight &&
           strcmp(a->source, b->source) == 0 &&
           (shredded || (strcmp(a->url, b->url) == 0 && strcmp(a->narrative, b->narrative) == 0)) &&
           (!compare_time || a->observed_at_ms == b->observed_at_ms);
}

static int validate_item(handler_t *h, Mastery__V1__Evidence *ev, size_t i, err_detail_t *d)
{
    char field[64];
    int rc;
#define FIELD(name) (snprintf(field, sizeof field, "items[%zu]." name, i), field)
    if ((rc = check_id(ev->evidence_id, FIELD("evidence_id"), d)) != 0 ||
        (rc = check_id(ev->learner_id, FIELD("learner_id"), d)) != 0 ||
        (rc = check_id(ev->competency_id, FIELD("competency_id"), d)) != 0 ||
        (rc = check_text(ev->source, SOURCE_MAX, FIELD("source"), d)) != 0 ||
        (rc = check_text(ev->url, URL_MAX, FIELD("url"), d)) != 0 ||
        (rc = check_text(ev->narrative, NARRATIVE_MAX, FIELD("narrative"), d)) != 0)
        return rc;
    if (!isfinite(ev->score) || ev->score < 0.0 || ev->score > 1.0)
        return err_set(d, ERR_INVALID, FIELD("score"), "%g is not a number in 0..1", ev->score);
    /* An unset weight is 0 on the wire and means 1; a weight the client says it gives must
     * be one (the average rule divides by the sum of weights). */
    if (ev->weight_set && !(ev->weight > 0.0))
        return err_set(d, ERR_INVALID, FIELD("weight"),
                       "%g is not a weight: it must be > 0 (leave it unset for the default 1)",
                       ev->weight);
    if (!isfinite(ev->weight) || ev->weight < 0.0 || ev->weight > 1e6)
        return err_set(d, ERR_INVALID, FIELD("weight"), "%g is not a weight in 0..1e6", ev->weight);
    if (ev->outcome != MASTERY__V1__OUTCOME__OUTCOME_UNSPECIFIED &&
        ev->outcome != MASTERY__V1__OUTCOME__OUTCOME_PASSED &&
        ev->outcome != MASTERY__V1__OUTCOME__OUTCOME_FAILED)
        return err_set(d, ERR_INVALID, FIELD("outcome"), "unknown outcome %d", ev->outcome);
    if (ev->observed_at_ms < 0)
        return err_set(d, ERR_INVALID, FIELD("observed_at_ms"), "is before 1970");
    if (ev->observed_at_ms > h->now + (int64_t)h->conf->future_skew_ms)
        return err_set(d, ERR_INVALID, FIELD("observed_at_ms"),
                       "lies %lld ms in the future; at most %llu allowed",
                       (long long)(ev->observed_at_ms - h->now),
                       (unsigned long long)h->conf->future_skew_ms);
    if (!engine_competency_known(h->engine, ev->competency_id))
        return err_set(d, ERR_NOT_FOUND, FIELD("competency_id"),
                       "no loaded framework has competency '%s'", ev->competency_id);
#undef FIELD
    return 0;
}

/* A tool's scope: evidence counts for every framework containing its competency, so each of
 * them must be one the tool may submit for. */
static int check_scope(handler_t *h, const Mastery__V1__Evidence *ev, size_t i,
                       const handler_client_t *who, err_detail_t *d)
{
    if (!who->authenticated)
        return 0;
    uint32_t ci;
    for (uint32_t f = 0; f < catalog_count(h->cat); f++) {
        const graph_t *g = catalog_at(h->cat, f)->graph;
        if (graph_find(g, ev->competency_id, &ci) != 0 ||
            (who->client != NULL && auth_client_in_scope(who->client, graph_id(g))))
            continue;
        char field[64];
        snprintf(field, sizeof field, "items[%zu].competency_id", i);
        return err_set(d, ERR_FORBIDDEN, field,
                       "'%s' is in framework '%s', outside the frameworks %s may submit for",
                       ev->competency_id, graph_id(g), who->name);
    }
    return 0;
}

/* The at_risk event of a learner who entered the state in fw. */
static int risk_event(handler_t *h, store_txn_t *txn, const char *learner_id,
                      const catalog_fw_t *fw, const groups_risk_change_t *c)
{
    if (!c->entered)
        return 0;
    bool stuck = c->flags & RISK_STUCK;
    journal_event_t ev = {
        .kind = JOURNAL_AT_RISK,
        .learner_id = learner_id,
        .framework_id = graph_id(fw->graph),
        .competency_id = stuck ? graph_comp(fw->graph, c->competency)->id : "",
        .reason = stuck ? "stuck" : "idle",
        .count = stuck ? c->count : 0,
        .at = c->last_activity,
    };
    return journal_append(h->journal, txn, &ev);
}

/* The at-risk rules after an item on competency_id (groups.h), in every framework with it. */
static int risk_on_evidence(handler_t *h, store_txn_t *txn, const char *learner_id,
                            const char *competency_id)
{
    groups_risk_conf_t rc_conf = {(uint32_t)h->conf->risk_stuck_items,
                                  (uint32_t)h->conf->risk_idle_days};
    records_learner_t l;
    records_learner_init(&l, learner_id);
    for (uint32_t f = 0; f < catalog_count(h->cat); f++) {
        const catalog_fw_t *fw = catalog_at(h->cat, f);
        uint32_t ci;
        if (graph_find(fw->graph, competency_id, &ci) != 0)
            continue;
        groups_risk_change_t c;
        int rc = groups_risk_on_evidence(txn, &rc_conf, fw, &l, ci, h->now, &c);
        if (rc == 0)
            rc = risk_event(h, txn, learner_id, fw, &c);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int submit_one(handler_t *h, store_txn_t *txn, Mastery__V1__Evidence *ev, size_t i,
                      const handler_client_t *who, err_detail_t *d)
{
    int rc = validate_item(h, ev, i, d);
    if (rc == 0)
        rc = check_scope(h, ev, i, who, d);
    if (rc == 0) { /* before any write: an erased learner's item fails alone */
        char field[48];
        snprintf(field, sizeof field, "items[%zu].learner_id", i);
        rc = not_erased(txn, ev->learner_id, field, d);
    }
    if (rc != 0)
        return rc;
    /* 0 without the flag is "now" (clients before observed_at_set); with it, the epoch. */
    bool client_time = ev->observed_at_set || ev->observed_at_ms != 0;
    ev->retracted = false; /* the daemon's to set, in listings */
    if (!client_time)
        ev->observed_at_ms = h->now;
    /* Stored times are always resolved, so the flags are not stored: the blob of an item is
     * the same whichever client version sent it (listings set observed_at_set). */
    ev->observed_at_set = false;
    ev->weight_set = false;
    store_val_t stored;
    rc = engine_evidence_find(h->engine, txn, ev->source, ev->evidence_id, &stored);
    if (rc == 0) {
        Mastery__V1__Evidence *old = mastery__v1__evidence__unpack(NULL, stored.len, stored.data);
        if (old == NULL)
            return ERR_INTERNAL;
        bool same = evidence_same(old, ev, client_time);
        mastery__v1__evidence__free_unpacked(old, NULL);
        char field[64];
        snprintf(field, sizeof field, "items[%zu].evidence_id", i);
        return same ? err_set(d, ERR_DUPLICATE, field, "already recorded")
                    : err_set(d, ERR_CONFLICT, field,
                              "evidence id '%s' is already recorded with other content",
                              ev->evidence_id);
    }
    if (rc != ERR_NOT_FOUND)
        return rc;
    uint8_t buf[sizeof(Mastery__V1__Evidence) + ID_MAX * 3 + SOURCE_MAX + URL_MAX + NARRATIVE_MAX +
                128];
    size_t blob_len = mastery__v1__evidence__get_packed_size(ev);
    if (blob_len > sizeof buf)
        return ERR_INTERNAL;
    mastery__v1__evidence__pack(ev, buf);
    engine_evidence_t e = {
        .source = ev->source,
        .evidence_id = ev->evidence_id,
        .learner_id = ev->learner_id,
        .competency_id = ev->competency_id,
        .score = ev->score,
        .weight = ev->weight > 0 ? ev->weight : 1.0,
        .outcome = ev->outcome == MASTERY__V1__OUTCOME__OUTCOME_PASSED   ? OUTCOME_PASS
                   : ev->outcome == MASTERY__V1__OUTCOME__OUTCOME_FAILED ? OUTCOME_FAIL
                                                                         : OUTCOME_NONE,
        .observed_at = ev->observed_at_ms,
    };
    /* Past validation: a failure now may follow some writes, so it must fail the batch
     * (nothing of it commits) rather than the item. The item's own event comes first: the
     * record keeps its leaf in the transparency log, and badges name that leaf. */
    journal_event_t accepted = {
        .kind = JOURNAL_EVIDENCE_ACCEPTED,
        .learner_id = ev->learner_id,
        .competency_id = ev->competency_id,
        .evidence_id = ev->evidence_id,
        .evidence_source = e.source ? e.source : "",
        .score = ev->score,
        .weight = e.weight,
        .outcome = (uint8_t)ev->outcome,
        .observed_at_ms = ev->observed_at_ms,
        .narrative = ev->narrative,
        .url = ev->url,
    };
    if ((rc = journal_append(h->journal, txn, &accepted)) != 0)
        return store_txn_fail(txn, rc);
    e.logged = journal_last_leaf(h->journal, &e.log_index);
    rc = engine_evidence_add(h->engine, txn, &e, buf, blob_len, &h->changes);
    if (rc == 0)
        rc = apply_changes(h, txn);
    if (rc == 0)
        rc = risk_on_evidence(h, txn, ev->learner_id, ev->competency_id);
    return rc == 0 ? 0 : store_txn_fail(txn, rc);
}

static int op_submit_evidence(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                              const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    const Mastery__V1__SubmitEvidence *op = req->submit_evidence;
    if (op->n_items == 0)
        return err_set(d, ERR_INVALID, "submit_evidence.items", "at least one item is needed");
    if (op->n_items > h->conf->max_batch_items)
        return err_set(d, ERR_INVALID, "submit_evidence.items",
                       "%zu items; at most %llu per request", op->n_items,
                       (unsigned long long)h->conf->max_batch_items);
    Mastery__V1__EvidenceResults *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__evidence_results__init(out);
    out->items = arena_alloc(h->arena, op->n_items * sizeof *out->items);
    Mastery__V1__ItemStatus *items = arena_alloc(h->arena, op->n_items * sizeof *items);
    Mastery__V1__Status *statuses = arena_alloc(h->arena, op->n_items * sizeof *statuses);
    if (out->items == NULL || items == NULL || statuses == NULL)
        return ERR_NOMEM;
    metrics_observe_submit_items(&h->stats->m, op->n_items);
    size_t forbidden = 0;
    err_detail_t first_forbidden;
    for (size_t i = 0; i < op->n_items; i++) {
        Mastery__V1__Evidence *ev = op->items[i];
        err_detail_t item;
        err_clear(&item);
        /* Items are validated before anything is written; a failure after the first write
         * poisons the whole batch transaction (see submit_one), so no child transaction is
         * needed per item: nested transactions cost a dirty-page merge each. */
        char *claimed = ev->source;
        if (who->authenticated)
            ev->source = (char *)who->name; /* the authenticated name, not the claim */
        int rc = submit_one(h, txn, ev, i, who, &item);
        ev->source = claimed; /* the request's allocator frees its own strings only */
        if (store_txn_error(txn) != 0)
            return store_txn_error(txn);
        if (rc == 0) {
            out->accepted++;
            h->batch_items[METRICS_ITEM_ACCEPTED]++;
        } else {
            if (rc == ERR_DUPLICATE)
                out->duplicates++;
            else
                out->rejected++;
            if (item.code == 0)
                err_set(&item, rc, "items", "%s", err_str(rc));
            metrics_item_t r = rc == ERR_DUPLICATE   ? METRICS_ITEM_DUPLICATE
                               : rc == ERR_CONFLICT  ? METRICS_ITEM_CONFLICT
                               : rc == ERR_INVALID   ? METRICS_ITEM_INVALID
                               : rc == ERR_NOT_FOUND ? METRICS_ITEM_NOT_FOUND
                               : rc == ERR_FORBIDDEN ? METRICS_ITEM_FORBIDDEN
                                                     : METRICS_ITEM_OTHER;
            h->batch_items[r]++;
            if (rc == ERR_FORBIDDEN && forbidden++ == 0)
                memcpy(&first_forbidden, &item, sizeof item);
        }
        mastery__v1__item_status__init(&items[i]);
        mastery__v1__status__init(&statuses[i]);
        items[i].evidence_id = ev->evidence_id;
        statuses[i].code = wire_status_code(item.code);
        statuses[i].message = arena_strdup(h->arena, item.message);
        statuses[i].field = arena_strdup(h->arena, item.field);
        if (statuses[i].message == NULL || statuses[i].field == NULL)
            return ERR_NOMEM;
        items[i].status = &statuses[i];
        out->items[i] = &items[i];
    }
    out->n_items = op->n_items;
    if (forbidden > 0) {
        h->stats->m.refusals[METRICS_REFUSED_FORBIDDEN]++;
        char w[80], f[80];
        if (forbidden_log_ok(h))
            log_info("FORBIDDEN: %s submit_evidence: %zu of %zu items outside its scope (first: "
                     "%s)",
                     clean(h->who, w, sizeof w), forbidden, op->n_items,
                     clean(first_forbidden.field, f, sizeof f));
    }
    rep->result_case = MASTERY__V1__REPLY__RESULT_EVIDENCE_RESULTS;
    rep->evidence_results = out;
    return 0;
}

static int op_retract_evidence(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                               const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)rep;
    const Mastery__V1__RetractEvidence *op = req->retract_evidence;
    int rc;
    if ((rc = check_id(op->evidence_id, "retract_evidence.evidence_id", d)) != 0 ||
        (rc = check_text(op->reason, REASON_MAX, "retract_evidence.reason", d)) != 0)
        return rc;
    if (op->reason[0] == '\0')
        return err_set(d, ERR_INVALID, "retract_evidence.reason", "a retraction must say why");
    if ((rc = check_text(op->source, SOURCE_MAX, "retract_evidence.source", d)) != 0)
        return rc;
    /* Evidence ids are scoped to their source. A tool's scope is its own name: it can neither
     * retract nor learn of another tool's items. Others name the source (development mode:
     * the source the item claimed). */
    const char *source = op->source;
    if (who->authenticated && who->client && who->client->role == AUTH_ROLE_TOOL) {
        if (source[0] != '\0' && strcmp(source, who->name) != 0) {
            char w[80];
            h->stats->m.refusals[METRICS_REFUSED_FORBIDDEN]++;
            if (forbidden_log_ok(h))
                log_info("FORBIDDEN: %s retract_evidence: in another source's scope",
                         clean(h->who, w, sizeof w));
            return err_set(d, ERR_FORBIDDEN, "retract_evidence.source",
                           "a tool retracts only its own evidence (source '%s')", who->name);
        }
        source = who->name;
    }
    store_val_t blob;
    rc = engine_evidence_find(h->engine, txn, source, op->evidence_id, &blob);
    if (rc == ERR_NOT_FOUND)
        return err_set(d, ERR_NOT_FOUND, "retract_evidence.evidence_id",
                       "no evidence with id '%s' from source '%s' (ids are scoped to their "
                       "source: set retract_evidence.source)",
                       op->evidence_id, source);
    if (rc != 0)
        return rc;
    Mastery__V1__Evidence *ev = mastery__v1__evidence__unpack(NULL, blob.len, blob.data);
    if (ev == NULL)
        return ERR_INTERNAL;
    /* A class-scoped teacher hears FORBIDDEN for another class's item, as for a missing one
     * of its own it would hear NOT_FOUND: the id alone tells it no more than that. */
    if ((rc = may_read_learner(h, txn, who, ev->learner_id, "retract_evidence.evidence_id", d)) !=
        0) {
        mastery__v1__evidence__free_unpacked(ev, NULL);
        return rc;
    }
    bool already;
    rc = engine_evidence_retract(h->engine, txn, source, op->evidence_id, ev->learner_id,
                                 ev->competency_id, op->reason, &already, &h->changes, d);
    if (rc == 0)
        rc = apply_changes(h, txn);
    mastery__v1__evidence__free_unpacked(ev, NULL);
    if (rc == 0 && already)
        err_set(d, ERR_OK, "", "evidence '%s' was already retracted", op->evidence_id);
    return rc;
}

static Mastery__V1__CompetencyState *state_msg(handler_t *h, const char *comp_id,
                                               const comp_state_t *st)
{
    Mastery__V1__CompetencyState *c = arena_alloc(h->arena, sizeof *c);
    if (c == NULL)
        return NULL;
    mastery__v1__competency_state__init(c);
    c->competency_id = (char *)comp_id;
    c->status = (Mastery__V1__CompetencyStatus)st->status;
    c->score = st->score;
    c->evidence_count = st->evidence_count;
    c->unlocked_at_ms = st->unlocked_at;
    c->mastered_at_ms = st->mastered_at;
    c->overridden = (st->flags & STATE_OVERRIDDEN) != 0;
    c->rule_met = (st->flags & STATE_RULE_MET) != 0;
    return c;
}

static int op_get_learner(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                          const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    const Mastery__V1__GetLearner *op = req->get_learner;
    int rc = check_id(op->learner_id, "get_learner.learner_id", d);
    if (rc == 0)
        rc = may_read_learner(h, txn, who, op->learner_id, "get_learner.learner_id", d);
    if (rc != 0)
        return rc;
    const catalog_fw_t *only = NULL;
    if (op->framework_id[0] != '\0' && (only = catalog_find(h->cat, op->framework_id)) == NULL)
        return err_set(d, ERR_NOT_FOUND, "get_learner.framework_id", "no framework '%s'",
                       op->framework_id);
    uint32_t nfw = only ? 1 : catalog_count(h->cat);
    Mastery__V1__LearnerState *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__learner_state__init(out);
    out->learner_id = op->learner_id;
    out->frameworks = arena_alloc(h->arena, (nfw ? nfw : 1) * sizeof *out->frameworks);
    if (out->frameworks == NULL)
        return ERR_NOMEM;
    for (uint32_t f = 0; f < nfw; f++) {
        const catalog_fw_t *fw = only ? only : catalog_at(h->cat, f);
        uint32_t n = graph_count(fw->graph);
        Mastery__V1__FrameworkState *fs = arena_alloc(h->arena, sizeof *fs);
        if (fs == NULL)
            return ERR_NOMEM;
        mastery__v1__framework_state__init(fs);
        fs->framework_id = (char *)graph_id(fw->graph);
        fs->revision = fw->revision;
        fs->competencies = arena_alloc(h->arena, (n ? n : 1) * sizeof *fs->competencies);
        if (fs->competencies == NULL)
            return ERR_NOMEM;
        for (uint32_t ci = 0; ci < n; ci++) {
            comp_state_t st;
            if ((rc = engine_state_get(h->engine, txn, op->learner_id, fw, ci, &st)) != 0)
                return rc;
            fs->competencies[ci] = state_msg(h, graph_comp(fw->graph, ci)->id, &st);
            if (fs->competencies[ci] == NULL)
                return ERR_NOMEM;
        }
        fs->n_competencies = n;
        out->frameworks[f] = fs;
    }
    out->n_frameworks = nfw;
    rep->result_case = MASTERY__V1__REPLY__RESULT_LEARNER;
    rep->learner = out;
    return 0;
}

static int op_override(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                       const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    const Mastery__V1__Override *op = req->override;
    int rc;
    if ((rc = check_id(op->learner_id, "override.learner_id", d)) != 0 ||
        (rc = check_id(op->framework_id, "override.framework_id", d)) != 0 ||
        (rc = check_id(op->competency_id, "override.competency_id", d)) != 0 ||
        (rc = check_text(op->reason, REASON_MAX, "override.reason", d)) != 0 ||
        (rc = check_text(op->actor, ID_MAX, "override.actor", d)) != 0)
        return rc;
    if (op->reason[0] == '\0')
        return err_set(d, ERR_INVALID, "override.reason", "an override must say why");
    if ((rc = may_read_learner(h, txn, who, op->learner_id, "override.learner_id", d)) != 0)
        return rc;
    const char *actor = who->authenticated ? who->name : op->actor[0] ? op->actor : "unknown";
    comp_state_t st;
    rc = engine_override(h->engine, txn, op->learner_id, op->framework_id, op->competency_id,
                         op->mastered, op->reason, actor, &st, &h->changes, d);
    if (rc == 0)
        rc = apply_changes(h, txn);
    if (rc != 0)
        return rc;
    rep->result_case = MASTERY__V1__REPLY__RESULT_COMPETENCY;
    rep->competency = state_msg(h, op->competency_id, &st);
    return rep->competency ? 0 : ERR_NOMEM;
}

/* Unpacked stored messages live in the reply arena: no per-message free. */
static void *arena_pb_alloc(void *opaque, size_t size)
{
    return arena_alloc(opaque, size);
}

static void arena_pb_free(void *opaque, void *p)
{
    (void)opaque, (void)p;
}

/* A stored event whose learner was erased: its seq, time and kind, nothing else. */
static Mastery__V1__Event *shredded_event(handler_t *h, const records_event_t *ev)
{
    Mastery__V1__Event *e = arena_alloc(h->arena, sizeof *e);
    Mastery__V1__EventShredded *sh = arena_alloc(h->arena, sizeof *sh);
    if (e == NULL || sh == NULL)
        return NULL;
    mastery__v1__event__init(e);
    mastery__v1__event_shredded__init(sh);
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&mastery__v1__event__descriptor, ev->kind);
    sh->kind = (char *)(f != NULL ? f->name : "unknown");
    e->seq = ev->seq;
    e->at_ms = ev->at;
    e->kind_case = MASTERY__V1__EVENT__KIND_SHREDDED;
    e->shredded = sh;
    return e;
}

static int op_read_events(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                          const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    const Mastery__V1__ReadEvents *op = req->read_events;
    int scoped = not_class_scoped(h, who, "read_events", d);
    if (scoped != 0)
        return scoped;
    uint64_t limit = op->limit && op->limit < h->conf->page_size ? op->limit : h->conf->page_size;
    Mastery__V1__EventPage *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__event_page__init(out);
    out->events = arena_alloc(h->arena, limit * sizeof *out->events);
    if (out->events == NULL)
        return ERR_NOMEM;
    ProtobufCAllocator alloc = {arena_pb_alloc, arena_pb_free, h->arena};
    records_event_iter_t it;
    records_event_t ev;
    uint64_t first = 0, next = op->from_seq ? op->from_seq : 1;
    int rc = records_event_first(txn, &ev);
    if (rc == 0)
        first = ev.seq;
    if (rc != 0 && rc != ERR_NOT_FOUND)
        return rc;
    if (rc == 0 && op->from_seq == 0)
        next = first;
    /* Retention dropped what came before first: a reader that asks for it missed events and
     * must know, not get a page that silently starts later. */
    if (rc == 0 && op->from_seq != 0 && op->from_seq < first)
        return err_set(d, ERR_NOT_FOUND, "read_events.from_seq",
                       "events before seq %llu are no longer kept (events_keep_days, "
                       "events_keep_count): read from %llu; current state is in GetLearner",
                       (unsigned long long)first, (unsigned long long)first);
    rc = records_event_iter_open(txn, next, &it);
    if (rc != 0)
        return rc;
    size_t bytes = 0; /* a page holds at least one event, then stops at page_bytes */
    while (out->n_events < limit && (rc = records_event_iter_next(&it, &ev)) == 0) {
        if (out->n_events > 0 && bytes + ev.len > h->conf->page_bytes)
            break;
        bytes += ev.len;
        Mastery__V1__Event *e = ev.shredded ? shredded_event(h, &ev)
                                            : mastery__v1__event__unpack(&alloc, ev.len, ev.data);
        if (e == NULL) {
            rc = ERR_INTERNAL;
            break;
        }
        out->events[out->n_events++] = e;
        next = e->seq + 1;
    }
    records_event_iter_close(&it);
    if (rc != 0 && rc != ERR_NOT_FOUND)
        return rc;
    out->next_seq = next;
    out->last_seq = journal_last_seq(h->journal);
    out->first_seq = first;
    rep->result_case = MASTERY__V1__REPLY__RESULT_EVENTS;
    rep->events = out;
    return 0;
}

static int op_list_evidence(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                            const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    const Mastery__V1__ListEvidence *op = req->list_evidence;
    int rc = check_id(op->learner_id, "list_evidence.learner_id", d);
    if (rc == 0)
        rc = may_read_learner(h, txn, who, op->learner_id, "list_evidence.learner_id", d);
    if (rc != 0)
        return rc;
    if (op->competency_id[0] &&
        (rc = check_id(op->competency_id, "list_evidence.competency_id", d)) != 0)
        return rc;
    uint64_t limit = op->limit && op->limit < h->conf->page_size ? op->limit : h->conf->page_size;
    Mastery__V1__EvidenceList *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__evidence_list__init(out);
    out->items = arena_alloc(h->arena, limit * sizeof *out->items);
    if (out->items == NULL)
        return ERR_NOMEM;
    ProtobufCAllocator alloc = {arena_pb_alloc, arena_pb_free, h->arena};
    records_learner_t l;
    uint8_t comp_hash[STORE_HASH_LEN];
    records_learner_init(&l, op->learner_id);
    if (op->competency_id[0])
        store_hash_id(op->competency_id, comp_hash);
    /* The page token is the hex of the next record's place in the learner's walk. */
    uint8_t pos[RECORDS_EVIDENCE_POS_MAX];
    size_t pos_len = 0;
    if (codec_hex_decode(op->page_token, strlen(op->page_token), pos, sizeof pos, &pos_len) != 0)
        return err_set(d, ERR_INVALID, "list_evidence.page_token",
                       "is not a next_page_token this daemon gave");
    records_evidence_iter_t it;
    records_evidence_t r;
    if ((rc = records_evidence_iter_open_at(txn, l.hash, op->competency_id[0] ? comp_hash : NULL,
                                            pos, pos_len, &it)) != 0)
        return rc;
    size_t bytes = 0; /* a page holds at least one item, then stops at page_bytes */
    while ((rc = records_evidence_iter_next(&it, &r)) == 0) {
        if (out->n_items == limit ||
            (out->n_items > 0 && bytes + r.blob_len > h->conf->page_bytes)) {
            out->truncated = true;
            size_t cap = 2 * r.pos_len + 1, n;
            out->next_page_token = arena_alloc(h->arena, cap);
            if (out->next_page_token == NULL ||
                codec_hex_encode(r.pos, r.pos_len, out->next_page_token, cap, &n) != 0)
                rc = ERR_NOMEM;
            break;
        }
        bytes += r.blob_len;
        const void *plain;
        size_t plain_len;
        if ((rc = records_evidence_open(txn, &r, &plain, &plain_len)) != 0)
            break;
        Mastery__V1__Evidence *e = mastery__v1__evidence__unpack(&alloc, plain_len, plain);
        if (e == NULL) {
            rc = ERR_INTERNAL;
            break;
        }
        e->retracted = r.retracted;
        e->observed_at_set = true; /* stored times are resolved: 0 is the epoch */
        out->items[out->n_items++] = e;
    }
    records_evidence_iter_close(&it);
    if (rc != 0 && rc != ERR_NOT_FOUND)
        return rc;
    rep->result_case = MASTERY__V1__REPLY__RESULT_EVIDENCE;
    rep->evidence = out;
    return 0;
}

static int op_health(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                     const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)req, (void)who, (void)d;
    Mastery__V1__HealthInfo *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__health_info__init(out);
    out->version = (char *)MASTERY_VERSION;
    out->uptime_ms = h->now - h->stats->started_at;
    out->evidence_count = records_evidence_count(txn);
    out->last_seq = journal_last_seq(h->journal);
    out->framework_count = catalog_count(h->cat);
    store_usage(h->store, &out->map_size, &out->map_used);
    out->requests = h->stats->requests;
    out->commits = h->stats->commits;
    out->dev_mode = h->stats->dev_mode;
    out->learner_count = records_learner_count(txn);
    out->credential_count = records_credential_count(txn);
    out->error_count = metrics_error_count(&h->stats->m);
    out->events_endpoint = h->stats->events_endpoint;
    rep->result_case = MASTERY__V1__REPLY__RESULT_HEALTH;
    rep->health = out;
    return 0;
}

static const char *const *op_names(size_t *n);

static const char *code_name(int code)
{
    return code <= MASTERY__V1__STATUS_CODE__STATUS_INTERNAL
               ? wire_status_name((Mastery__V1__StatusCode)code)
               : NULL;
}

static int op_metrics(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                      const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)req, (void)who, (void)d;
    metrics_gauges_t g = {
        .readers = store_readers(h->store),
        .learners = records_learner_count(txn),
        .credentials = records_credential_count(txn),
        .evidence = records_evidence_count(txn),
        .frameworks = catalog_count(h->cat),
        .last_seq = journal_last_seq(h->journal),
        .reviews_pending = engine_reviews_pending(h->engine, txn),
        .uptime_seconds = (double)(h->now - h->stats->started_at) / 1000.0,
        .dev_mode = h->stats->dev_mode,
    };
    store_usage(h->store, &g.map_size, &g.map_used);
    store_wb_stats_t wb;
    store_wb_stats(h->store, &wb);
    g.wb_held_bytes = wb.held_bytes;
    g.wb_budget = wb.budget;
    g.wb_wal_bytes = wb.wal_bytes;
    g.wb_written = wb.written;
    g.wb_oldest_age_seconds = (double)wb.oldest_age_ms / 1000.0;
    uint64_t *applied = NULL;
    if (h->stats->m.cluster.on) {
        uint32_t n = h->stats->m.cluster.partitions;
        applied = arena_alloc(h->arena, (n ? n : 1) * sizeof *applied);
        if (applied == NULL)
            return ERR_NOMEM;
        for (uint32_t p = 0; p < n; p++)
            if (records_stream_applied_get(txn, p, &applied[p]) != 0)
                applied[p] = 0;
        if (records_stream_applied_get(txn, HANDLER_PARTITION_ALL, &g.cluster_fw_applied) != 0)
            g.cluster_fw_applied = 0;
        g.cluster_applied = applied;
    }
    size_t n_ops;
    const char *const *names = op_names(&n_ops);
    buf_t b;
    buf_init(&b, 256 * 1024);
    int rc = metrics_render(&h->stats->m, &g, names, n_ops, code_name, &b);
    Mastery__V1__MetricsText *out = rc == 0 ? arena_alloc(h->arena, sizeof *out) : NULL;
    if (out != NULL) {
        mastery__v1__metrics_text__init(out);
        out->text = arena_strndup(h->arena, b.data ? b.data : "", b.len);
    }
    buf_free(&b);
    if (out == NULL || out->text == NULL)
        return rc ? rc : ERR_NOMEM;
    rep->result_case = MASTERY__V1__REPLY__RESULT_METRICS;
    rep->metrics = out;
    return 0;
}

/* ---- credentials --------------------------------------------------------------------------- */

static Mastery__V1__CredentialInfo *cred_info_msg(handler_t *h, const badges_info_t *i)
{
    Mastery__V1__CredentialInfo *m = arena_alloc(h->arena, sizeof *m);
    if (m == NULL)
        return NULL;
    mastery__v1__credential_info__init(m);
    m->credential_id = arena_strdup(h->arena, i->id);
    m->learner_id = arena_strdup(h->arena, i->learner_id);
    m->framework_id = arena_strdup(h->arena, i->framework_id);
    m->competency_id = arena_strdup(h->arena, i->competency_id);
    m->achievement_name = arena_strdup(h->arena, i->name);
    m->reason = arena_strdup(h->arena, i->reason);
    m->revision = i->revision;
    m->issued_at_ms = i->issued_at;
    m->state = (Mastery__V1__CredentialState)i->state;
    m->status_index = i->status_index;
    m->status_list = i->status_list;
    if (!m->credential_id || !m->learner_id || !m->framework_id || !m->competency_id ||
        !m->achievement_name || !m->reason)
        return NULL;
    return m;
}

static int need_badges(handler_t *h, err_detail_t *d)
{
    return h->badges ? 0 : err_set(d, ERR_UNAVAILABLE, "credentials", "credentials are off");
}

static int op_list_credentials(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                               const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    const Mastery__V1__ListCredentials *op = req->list_credentials;
    int rc;
    if ((rc = need_badges(h, d)) != 0 ||
        (rc = check_id(op->learner_id, "list_credentials.learner_id", d)) != 0 ||
        (rc = may_read_learner(h, txn, who, op->learner_id, "list_credentials.learner_id", d)) != 0)
        return rc;
    Mastery__V1__CredentialList *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__credential_list__init(out);
    badges_iter_t it;
    badges_info_t info;
    size_t cap = 0;
    if ((rc = badges_iter_open(h->badges, txn, op->learner_id, &it)) != 0)
        return rc;
    while ((rc = badges_iter_next(&it, &info)) == 0) {
        if (out->n_credentials == cap) {
            cap = cap ? cap * 2 : 16;
            Mastery__V1__CredentialInfo **grown = arena_alloc(h->arena, cap * sizeof *grown);
            if (grown == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            if (out->n_credentials)
                memcpy(grown, out->credentials, out->n_credentials * sizeof *grown);
            out->credentials = grown;
        }
        if ((out->credentials[out->n_credentials] = cred_info_msg(h, &info)) == NULL) {
            rc = ERR_NOMEM;
            break;
        }
        out->n_credentials++;
    }
    badges_iter_close(&it);
    if (rc != ERR_NOT_FOUND)
        return rc;
    rep->result_case = MASTERY__V1__REPLY__RESULT_CREDENTIAL_LIST;
    rep->credential_list = out;
    return 0;
}

static int op_get_credential(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                             const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    const Mastery__V1__GetCredential *op = req->get_credential;
    int rc;
    if ((rc = need_badges(h, d)) != 0 ||
        (rc = check_id(op->credential_id, "get_credential.credential_id", d)) != 0)
        return rc;
    if (op->format != MASTERY__V1__CREDENTIAL_FORMAT__FORMAT_JSON &&
        op->format != MASTERY__V1__CREDENTIAL_FORMAT__FORMAT_JWT)
        return err_set(d, ERR_INVALID, "get_credential.format", "unknown format %d",
                       (int)op->format);
    badges_info_t info;
    const char *json, *jwt;
    size_t json_len, jwt_len;
    rc = badges_get(h->badges, txn, op->credential_id, &info, &json, &json_len, &jwt, &jwt_len);
    if (rc == ERR_NOT_FOUND)
        return err_set(d, ERR_NOT_FOUND, "get_credential.credential_id", "no credential '%s'",
                       op->credential_id);
    if (rc != 0 || (rc = may_read_learner(h, txn, who, info.learner_id,
                                          "get_credential.credential_id", d)) != 0)
        return rc;
    Mastery__V1__CredentialDoc *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__credential_doc__init(out);
    out->info = cred_info_msg(h, &info);
    bool as_jwt = op->format == MASTERY__V1__CREDENTIAL_FORMAT__FORMAT_JWT;
    out->document =
        as_jwt ? arena_strndup(h->arena, jwt, jwt_len) : arena_strndup(h->arena, json, json_len);
    if (out->info == NULL || out->document == NULL)
        return ERR_NOMEM;
    rep->result_case = MASTERY__V1__REPLY__RESULT_CREDENTIAL;
    rep->credential = out;
    return 0;
}

static int op_issue_transcript(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                               const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)who;
    const Mastery__V1__IssueTranscript *op = req->issue_transcript;
    int rc;
    if ((rc = need_badges(h, d)) != 0 ||
        (rc = check_id(op->learner_id, "issue_transcript.learner_id", d)) != 0 ||
        (rc = not_erased(txn, op->learner_id, "issue_transcript.learner_id", d)) != 0 ||
        (op->framework_id[0] != '\0' &&
         (rc = check_id(op->framework_id, "issue_transcript.framework_id", d)) != 0))
        return rc;
    badges_transcript_t t;
    if ((rc = badges_transcript(h->badges, txn, h->cat, op->learner_id, op->framework_id, h->now,
                                &t, d)) != 0)
        return rc;
    Mastery__V1__TranscriptDoc *out = arena_alloc(h->arena, sizeof *out);
    if (out != NULL) {
        mastery__v1__transcript_doc__init(out);
        out->id = arena_strndup(h->arena, t.id, strlen(t.id));
        out->document = arena_strndup(h->arena, t.json, t.len);
        out->credentials = t.credentials;
        out->associations = t.associations;
    }
    free(t.json);
    if (out == NULL || out->id == NULL || out->document == NULL)
        return ERR_NOMEM;
    rep->result_case = MASTERY__V1__REPLY__RESULT_TRANSCRIPT;
    rep->transcript = out;
    return 0;
}

static int op_set_credential_status(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                                    const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)who;
    const Mastery__V1__SetCredentialStatus *op = req->set_credential_status;
    int rc;
    if ((rc = need_badges(h, d)) != 0 ||
        (rc = check_id(op->credential_id, "set_credential_status.credential_id", d)) != 0 ||
        (rc = check_text(op->reason, REASON_MAX, "set_credential_status.reason", d)) != 0)
        return rc;
    if (op->set && op->reason[0] == '\0')
        return err_set(d, ERR_INVALID, "set_credential_status.reason",
                       "revoking or suspending must say why");
    bool changed;
    badges_info_t info;
    if ((rc = badges_set_status(h->badges, txn, op->credential_id, op->purpose, op->set, op->reason,
                                h->now, &changed, &info, d)) != 0)
        return rc;
    if (changed) {
        journal_event_t ev = {
            .kind = JOURNAL_CREDENTIAL_STATUS,
            .learner_id = info.learner_id,
            .credential_id = info.id,
            .purpose = op->purpose,
            .flag = op->set,
            .reason = op->reason,
        };
        /* The event is built from copies: the store may move info's strings on write. */
        char lid[ID_MAX + 1], cid[ID_MAX + 1];
        snprintf(lid, sizeof lid, "%s", info.learner_id);
        snprintf(cid, sizeof cid, "%s", info.id);
        ev.learner_id = lid;
        ev.credential_id = cid;
        if ((rc = journal_append(h->journal, txn, &ev)) != 0)
            return rc;
        bool suspension = strcmp(op->purpose, "suspension") == 0;
        metrics_act_t act = !op->set     ? METRICS_ACT_CREDENTIAL_REINSTATED
                            : suspension ? METRICS_ACT_CREDENTIAL_SUSPENDED
                                         : METRICS_ACT_CREDENTIAL_REVOKED;
        const char *what = !op->set ? "unsuspended" : suspension ? "suspended" : "revoked";
        char lref[LOGREF_LEN], w[80];
        note(h, act, "credential %s: %s of learner %s by %s", what, cid, learner_ref(h, lid, lref),
             clean(h->who, w, sizeof w));
        if ((rc = badges_get(h->badges, txn, cid, &info, NULL, NULL, NULL, NULL)) != 0)
            return rc;
    } else {
        err_set(d, ERR_OK, "", "no change: the credential already had that status");
    }
    rep->result_case = MASTERY__V1__REPLY__RESULT_CREDENTIAL_INFO;
    rep->credential_info = cred_info_msg(h, &info);
    return rep->credential_info ? 0 : ERR_NOMEM;
}

static int op_export_status_list(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                                 const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)who;
    const Mastery__V1__ExportStatusList *op = req->export_status_list;
    int rc = need_badges(h, d);
    badges_list_doc_t doc;
    if (rc != 0 ||
        (rc = badges_status_list(h->badges, txn, op->purpose, op->list, h->now, &doc, d)) != 0)
        return rc;
    Mastery__V1__StatusListDoc *out = arena_alloc(h->arena, sizeof *out);
    if (out != NULL) {
        mastery__v1__status_list_doc__init(out);
        out->purpose = op->purpose;
        out->json = arena_strndup(h->arena, doc.json, doc.len);
        out->list = doc.list;
        out->lists = doc.lists;
        out->url = arena_strndup(h->arena, doc.url, strlen(doc.url));
        out->issuer = arena_strndup(h->arena, doc.issuer, strlen(doc.issuer));
    }
    free(doc.json);
    if (out == NULL || out->json == NULL || out->url == NULL || out->issuer == NULL)
        return ERR_NOMEM;
    rep->result_case = MASTERY__V1__REPLY__RESULT_STATUS_LIST;
    rep->status_list = out;
    return 0;
}

static const char *json_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int verifier_keys(handler_t *h, char ***out, size_t *n);

static int issuer_reply(handler_t *h, reply_t *rep, err_detail_t *d)
{
    json_t *info = NULL;
    int rc = badges_issuer_info(h->badges, &info, d);
    if (rc != 0)
        return rc;
    Mastery__V1__IssuerInfo *out = arena_alloc(h->arena, sizeof *out);
    json_t *keys = json_object_get(info, "keys");
    size_t n = json_array_size(keys);
    if (out == NULL)
        goto nomem;
    mastery__v1__issuer_info__init(out);
    out->did = arena_strdup(h->arena, json_str(info, "did"));
    out->name = arena_strdup(h->arena, json_str(info, "name"));
    out->url = arena_strdup(h->arena, json_str(info, "url"));
    out->email = arena_strdup(h->arena, json_str(info, "email"));
    out->image = arena_strdup(h->arena, json_str(info, "image"));
    out->keys = arena_alloc(h->arena, (n ? n : 1) * sizeof *out->keys);
    if (!out->did || !out->name || !out->url || !out->email || !out->image || !out->keys)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        json_t *k = json_array_get(keys, i);
        Mastery__V1__IssuerKey *m = arena_alloc(h->arena, sizeof *m);
        if (m == NULL)
            goto nomem;
        mastery__v1__issuer_key__init(m);
        m->key_id = arena_strdup(h->arena, json_str(k, "id"));
        m->type = arena_strdup(h->arena, json_str(k, "type"));
        m->verification_method = arena_strdup(h->arena, json_str(k, "verification_method"));
        m->current = json_is_true(json_object_get(k, "current"));
        m->created_at_ms = (int64_t)json_integer_value(json_object_get(k, "created_ms"));
        if (!m->key_id || !m->type || !m->verification_method)
            goto nomem;
        out->keys[out->n_keys++] = m;
    }
    json_t *doc = json_object_get(info, "did_document");
    char *text = json_is_object(doc) ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    out->did_document = arena_strdup(h->arena, text ? text : "");
    free(text);
    if (out->did_document == NULL)
        goto nomem;
    json_decref(info);
    if (h->log != NULL) {
        out->log_origin = (char *)translog_origin(h->log);
        int rc2 = verifier_keys(h, &out->log_verifier_keys, &out->n_log_verifier_keys);
        if (rc2 != 0)
            return rc2;
    }
    rep->result_case = MASTERY__V1__REPLY__RESULT_ISSUER;
    rep->issuer = out;
    return 0;
nomem:
    json_decref(info);
    return ERR_NOMEM;
}

static int op_get_issuer(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                         const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)txn, (void)req, (void)who;
    int rc = need_badges(h, d);
    return rc ? rc : issuer_reply(h, rep, d);
}

static int op_rotate_keys(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                          const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)req, (void)who;
    int rc = need_badges(h, d);
    if (rc == 0)
        rc = badges_rotate(h->badges, h->now, d);
    char vm[256] = "";
    if (rc == 0 && keys_vm_id(badges_log_key(h->badges), vm, sizeof vm) == 0) {
        journal_event_t ev = {.kind = JOURNAL_KEYS_ROTATED, .key_id = vm};
        if ((rc = journal_append(h->journal, txn, &ev)) != 0)
            return rc; /* the batch fails; the new key files stay (the next start uses them) */
    }
    if (rc == 0) { /* the key files are written at once, outside the batch: logged now */
        char w[80];
        h->stats->m.acts[METRICS_ACT_KEYS_ROTATED]++;
        log_info("issuer keys rotated by %s; new badges are signed by the new key of %s",
                 clean(h->who, w, sizeof w), badges_issuer_did(h->badges));
    }
    return rc ? rc : issuer_reply(h, rep, d);
}

/* Runs on the loop thread inside the batch; the copy reads its own snapshot (store_copy). */
static int op_backup(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                     const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)txn, (void)who;
    const Mastery__V1__Backup *op = req->backup;
    backup_report_t r;
    int rc = backup_run(h->store, h->conf, op->dir, h->now, &r, d);
    if (rc != 0)
        return rc;
    Mastery__V1__BackupResult *out = arena_alloc(h->arena, sizeof *out);
    char **files = arena_alloc(h->arena, (r.n_files ? r.n_files : 1) * sizeof *files);
    if (out == NULL || files == NULL)
        return ERR_NOMEM;
    mastery__v1__backup_result__init(out);
    out->dir = op->dir;
    out->data_bytes = r.data_bytes;
    out->files = files;
    for (uint32_t i = 0; i < r.n_files; i++)
        if ((files[out->n_files++] = arena_strndup(h->arena, r.files[i], strlen(r.files[i]))) ==
            NULL)
            return ERR_NOMEM;
    rep->result_case = MASTERY__V1__REPLY__RESULT_BACKUP;
    rep->backup = out;
    return 0;
}

static int op_register_learner_did(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                                   const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)rep;
    const Mastery__V1__RegisterLearnerDid *op = req->register_learner_did;
    int rc;
    if ((rc = need_badges(h, d)) != 0 ||
        (rc = check_id(op->learner_id, "register_learner_did.learner_id", d)) != 0 ||
        (rc = may_read_learner(h, txn, who, op->learner_id, "register_learner_did.learner_id",
                               d)) != 0)
        return rc;
    return badges_register_did(h->badges, txn, op->learner_id, op->did, d);
}

/* ---- erasure, legal hold, re-enrolment (issue 16) ------------------------------------------ */

#define ERASE_TEXT_MAX 1024 /* bytes of reason and request_ref */

static void hex_of(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The learner's credentials: revoked (revoke) or kept valid, and their stored copies emptied
 * either way (the learner holds their own). Counts into *revoked and *kept. */
static int erase_credentials(handler_t *h, store_txn_t *txn, const char *learner_id, bool revoke,
                             uint64_t *revoked, uint64_t *kept, err_detail_t *d)
{
    badges_iter_t it;
    badges_info_t info;
    char(*ids)[CRED_URN_UUID_MAX] = NULL;
    size_t n = 0, cap = 0;
    /* ids first: revocation writes under the walk's cursor */
    int rc = badges_iter_open(h->badges, txn, learner_id, &it);
    while (rc == 0 && (rc = badges_iter_next(&it, &info)) == 0) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            void *grown = realloc(ids, cap * sizeof *ids);
            if (grown == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            ids = grown;
        }
        snprintf(ids[n++], sizeof ids[0], "%s", info.id);
    }
    badges_iter_close(&it);
    if (rc == ERR_NOT_FOUND)
        rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool changed = false;
        if (revoke && (rc = badges_set_status(h->badges, txn, ids[i], "revocation", true,
                                              "learner erased", h->now, &changed, &info, d)) != 0)
            break;
        if (changed) {
            journal_event_t ev = {.kind = JOURNAL_CREDENTIAL_STATUS,
                                  .learner_id = info.learner_id,
                                  .framework_id = info.framework_id,
                                  .competency_id = info.competency_id,
                                  .credential_id = info.id,
                                  .purpose = "revocation",
                                  .flag = true,
                                  .reason = "learner erased"};
            if ((rc = journal_append(h->journal, txn, &ev)) != 0)
                break;
        }
        *(revoke ? revoked : kept) += 1;
        rc = records_credential_shred(txn, ids[i]);
    }
    free(ids);
    return rc;
}

static int op_erase_learner(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                            const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)who;
    const Mastery__V1__EraseLearner *op = req->erase_learner;
    int rc;
    if ((rc = check_id(op->learner_id, "erase_learner.learner_id", d)) != 0 ||
        (rc = check_text(op->reason, ERASE_TEXT_MAX, "erase_learner.reason", d)) != 0 ||
        (rc = check_text(op->request_ref, ERASE_TEXT_MAX, "erase_learner.request_ref", d)) != 0)
        return rc;
    Mastery__V1__ErasureReceipt *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__erasure_receipt__init(out);
    rep->result_case = MASTERY__V1__REPLY__RESULT_ERASURE;
    rep->erasure = out;
    records_learner_t l;
    records_learner_init(&l, op->learner_id);
    int64_t at, since;
    if ((rc = records_erased_get(txn, l.hash, &at)) == 0) {
        out->already_erased = true; /* idempotent: the first receipt stands */
        out->erased_at_ms = at;
        return 0;
    }
    if (rc != ERR_NOT_FOUND)
        return rc;
    const char *hold_reason;
    rc = records_hold_get(txn, &l, &since, &hold_reason);
    records_learner_forget(&l);
    if (rc == 0) {
        char when[40];
        isotime_format_s(since, when, sizeof when);
        return err_set(d, ERR_CONFLICT, "erase_learner.learner_id",
                       "the learner is under a legal hold since %s: lift it first "
                       "(SetLegalHold with hold false)",
                       when);
    }
    if (rc != ERR_NOT_FOUND)
        return rc;
    /* The receipt's commitment: the district, knowing the id, can recompute it; nobody else
     * can invert it (the salt is random). */
    uint8_t salt[32], digest[32];
    char salt_hex[65], commitment[65], leaf_hex[65] = "";
    if (entropy_fill(salt, sizeof salt) != 0)
        return ERR_UNAVAILABLE;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned dlen = 0;
    int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, salt, sizeof salt) == 1 &&
             EVP_DigestUpdate(md, op->learner_id, strlen(op->learner_id)) == 1 &&
             EVP_DigestFinal_ex(md, digest, &dlen) == 1;
    EVP_MD_CTX_free(md);
    if (!ok)
        return ERR_INTERNAL;
    hex_of(salt, sizeof salt, salt_hex);
    hex_of(digest, sizeof digest, commitment);

    uint64_t revoked = 0, kept = 0, evidence = 0, records = 0, leaf = 0;
    if (h->badges != NULL && (rc = erase_credentials(h, txn, op->learner_id, op->revoke_credentials,
                                                     &revoked, &kept, d)) != 0)
        return rc;
    journal_event_t ev = {.kind = JOURNAL_LEARNER_ERASED,
                          .learner_id = op->learner_id, /* committed in the log entry only */
                          .commitment = commitment,
                          .digest = digest,
                          .count = (uint32_t)revoked};
    if ((rc = journal_append(h->journal, txn, &ev)) != 0)
        return rc;
    bool logged = journal_last_leaf(h->journal, &leaf);
    if (logged) {
        const void *entry;
        size_t len;
        tlog_hash_t lh;
        if ((rc = translog_entry(txn, leaf, &entry, &len, &lh)) != 0)
            return rc;
        hex_of(lh.b, sizeof lh.b, leaf_hex);
    }
    journal_forget_learner(h->journal); /* nothing is sealed again under the key */
    records_learner_init(&l, op->learner_id);
    if ((rc = records_learner_erase(txn, &l, h->now, &evidence, &records)) != 0)
        return rc;
    char lref[LOGREF_LEN], w[80];
    note(h, METRICS_ACT_LEARNER_ERASED,
         "learner %s erased by %s: %llu evidence items, %llu records, %llu credentials revoked, "
         "%llu kept%s; re-keying follows",
         learner_ref(h, op->learner_id, lref), clean(h->who, w, sizeof w),
         (unsigned long long)evidence, (unsigned long long)records, (unsigned long long)revoked,
         (unsigned long long)kept, logged ? "; in the log" : "");
    out->erased_at_ms = h->now;
    out->log_index = leaf;
    out->evidence_erased = (uint32_t)evidence;
    out->records_erased = (uint32_t)records;
    out->credentials_revoked = (uint32_t)revoked;
    out->credentials_kept = (uint32_t)kept;
    /* The erased secret may survive in free pages of data.mdb: every other learner is
     * rewrapped under a new epoch and the old epoch key destroyed (handler_rekey_step). */
    if ((rc = records_rekey_request(txn)) != 0)
        return rc;
    h->rekey_pending = true;
    if (h->badges != NULL) {
        badges_receipt_t r = {commitment,
                              salt_hex,
                              op->request_ref,
                              op->reason,
                              h->now,
                              evidence,
                              records,
                              revoked,
                              kept,
                              logged ? translog_origin(h->log) : NULL,
                              leaf,
                              leaf_hex};
        char *json = NULL;
        size_t len = 0;
        if ((rc = badges_erasure_receipt(h->badges, &r, &json, &len, d)) != 0)
            return rc;
        out->receipt_json = arena_strndup(h->arena, json, len);
        free(json);
        if (out->receipt_json == NULL)
            return ERR_NOMEM;
    }
    return 0;
}

static int op_set_legal_hold(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                             const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    const Mastery__V1__SetLegalHold *op = req->set_legal_hold;
    int rc;
    if ((rc = check_id(op->learner_id, "set_legal_hold.learner_id", d)) != 0 ||
        (rc = check_text(op->reason, ERASE_TEXT_MAX, "set_legal_hold.reason", d)) != 0 ||
        (rc = may_read_learner(h, txn, who, op->learner_id, "set_legal_hold.learner_id", d)) != 0)
        return rc;
    Mastery__V1__LegalHoldResult *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__legal_hold_result__init(out);
    rep->result_case = MASTERY__V1__REPLY__RESULT_LEGAL_HOLD;
    rep->legal_hold = out;
    records_learner_t l;
    records_learner_init(&l, op->learner_id);
    int64_t since = 0;
    const char *reason;
    rc = records_hold_get(txn, &l, &since, &reason);
    if (rc != 0 && rc != ERR_NOT_FOUND) {
        records_learner_forget(&l);
        return rc;
    }
    bool held = rc == 0;
    out->hold = op->hold;
    out->since_ms = op->hold ? (held ? since : h->now) : 0;
    if (held == op->hold) {
        records_learner_forget(&l);
        return 0;
    }
    rc = records_hold_put(txn, &l, h->now, op->hold ? op->reason : NULL);
    records_learner_forget(&l);
    if (rc != 0)
        return rc;
    out->changed = true;
    char lref[LOGREF_LEN], w[80];
    note(h, METRICS_ACT_LEGAL_HOLD, "legal hold %s for learner %s by %s",
         op->hold ? "placed" : "lifted", learner_ref(h, op->learner_id, lref),
         clean(h->who, w, sizeof w));
    journal_event_t ev = {.kind = JOURNAL_LEGAL_HOLD,
                          .learner_id = op->learner_id,
                          .flag = op->hold,
                          .reason = op->reason};
    return journal_append(h->journal, txn, &ev);
}

static int op_reenrol_learner(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                              const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)who;
    const Mastery__V1__ReenrolLearner *op = req->reenrol_learner;
    int rc = check_id(op->learner_id, "reenrol_learner.learner_id", d);
    if (rc != 0)
        return rc;
    Mastery__V1__ReenrolResult *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__reenrol_result__init(out);
    rep->result_case = MASTERY__V1__REPLY__RESULT_REENROL;
    rep->reenrol = out;
    uint8_t lh[STORE_HASH_LEN];
    int64_t at;
    store_hash_id(op->learner_id, lh);
    if ((rc = records_erased_get(txn, lh, &at)) == ERR_NOT_FOUND)
        return 0;
    if (rc != 0 || (rc = records_erased_del(txn, lh)) != 0)
        return rc;
    out->was_erased = true;
    char lref[LOGREF_LEN], w[80];
    note(h, METRICS_ACT_LEARNER_REENROLLED, "learner %s re-enrolled by %s",
         learner_ref(h, op->learner_id, lref), clean(h->who, w, sizeof w));
    journal_event_t ev = {.kind = JOURNAL_LEARNER_REENROLLED, .learner_id = op->learner_id};
    return journal_append(h->journal, txn, &ev);
}

/* ---- the transparency log ------------------------------------------------------------------ */

#define LOG_TILE_BYTES (1024 * 1024) /* an entry bundle of 256 entries fits many times */

/* The newest checkpoint: what every log read answers within. UNAVAILABLE without a log. */
static int need_checkpoint(handler_t *h, const char **note, size_t *len, uint64_t *size,
                           err_detail_t *d)
{
    if (h->log == NULL)
        return err_set(d, ERR_UNAVAILABLE, "transparency_log",
                       "the transparency log is off (transparency_log = 0)");
    *note = translog_checkpoint(h->log, len, size);
    if (*note == NULL)
        return err_set(d, ERR_NOT_FOUND, "checkpoint",
                       "no checkpoint yet: the log is empty or has no signing key");
    return 0;
}

static ProtobufCBinaryData bytes_dup(handler_t *h, const void *p, size_t n)
{
    ProtobufCBinaryData b = {0, arena_alloc_uninit(h->arena, n ? n : 1)};
    if (b.data != NULL) {
        memcpy(b.data, p, n);
        b.len = n;
    }
    return b;
}

/* The note verifier keys of every Ed25519 key of the issuer, oldest first. */
static int verifier_keys(handler_t *h, char ***out, size_t *n)
{
    *n = 0;
    size_t count = 0;
    while (h->badges && badges_ed25519_key(h->badges, (uint32_t)count) != NULL)
        count++;
    *out = arena_alloc(h->arena, (count ? count : 1) * sizeof **out);
    if (*out == NULL)
        return ERR_NOMEM;
    buf_t b;
    buf_init(&b, 1024);
    for (size_t i = 0; i < count; i++) {
        buf_reset(&b);
        int rc = translog_verifier_key(h->log, badges_ed25519_key(h->badges, (uint32_t)i), &b);
        if (rc == 0 && ((*out)[i] = arena_strndup(h->arena, b.data, b.len)) == NULL)
            rc = ERR_NOMEM;
        if (rc != 0) {
            buf_free(&b);
            return rc;
        }
        (*n)++;
    }
    buf_free(&b);
    return 0;
}

static int op_get_checkpoint(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                             const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)req, (void)who;
    const char *note;
    size_t len;
    uint64_t size;
    tlog_hash_t root;
    int rc;
    if ((rc = need_checkpoint(h, &note, &len, &size, d)) != 0 ||
        (rc = translog_root(txn, size, &root)) != 0)
        return rc;
    Mastery__V1__Checkpoint *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__checkpoint__init(out);
    out->note = arena_strndup(h->arena, note, len);
    out->origin = (char *)translog_origin(h->log);
    out->size = size;
    out->root = bytes_dup(h, root.b, sizeof root.b);
    out->base_seq = translog_base(h->log);
    if (out->note == NULL || out->root.data == NULL ||
        (rc = verifier_keys(h, &out->verifier_keys, &out->n_verifier_keys)) != 0)
        return rc ? rc : ERR_NOMEM;
    rep->result_case = MASTERY__V1__REPLY__RESULT_CHECKPOINT;
    rep->checkpoint = out;
    return 0;
}

static int op_get_log_entry(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                            const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)who;
    const char *note;
    size_t len, elen;
    uint64_t size, index = req->get_log_entry->index;
    int rc = need_checkpoint(h, &note, &len, &size, d);
    if (rc != 0)
        return rc;
    if (index >= size)
        return err_set(d, ERR_NOT_FOUND, "get_log_entry.index",
                       "no entry %llu: the newest checkpoint has %llu", (unsigned long long)index,
                       (unsigned long long)size);
    const void *entry;
    tlog_hash_t leaf;
    if ((rc = translog_entry(txn, index, &entry, &elen, &leaf)) != 0)
        return rc == ERR_NOT_FOUND ? ERR_INTERNAL : rc;
    Mastery__V1__LogEntry *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__log_entry__init(out);
    out->index = index;
    out->entry = bytes_dup(h, entry, elen);
    out->leaf_hash = bytes_dup(h, leaf.b, sizeof leaf.b);
    logentry_t le;
    json_t *j = NULL;
    err_detail_t ignored;
    if (logentry_decode(out->entry.data, out->entry.len, &le, &ignored) != 0 ||
        logentry_to_json(&le, &j) != 0)
        return ERR_INTERNAL; /* the daemon wrote it: damage */
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    out->json = text ? arena_strndup(h->arena, text, strlen(text)) : NULL;
    free(text);
    if (out->entry.data == NULL || out->leaf_hash.data == NULL || out->json == NULL)
        return ERR_NOMEM;
    rep->result_case = MASTERY__V1__REPLY__RESULT_LOG_ENTRY;
    rep->log_entry = out;
    return 0;
}

static int proof_hashes(handler_t *h, const tlog_hash_t *proof, size_t n, ProtobufCBinaryData **out)
{
    *out = arena_alloc(h->arena, (n ? n : 1) * sizeof **out);
    if (*out == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (((*out)[i] = bytes_dup(h, proof[i].b, sizeof proof[i].b)).data == NULL)
            return ERR_NOMEM;
    return 0;
}

static int op_prove_log(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                        const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)who;
    const Mastery__V1__ProveLog *op = req->prove_log;
    const char *note;
    size_t len, n = 0;
    uint64_t cp_size;
    int rc = need_checkpoint(h, &note, &len, &cp_size, d);
    if (rc != 0)
        return rc;
    uint64_t size = op->size ? op->size : cp_size;
    if (size > cp_size)
        return err_set(d, ERR_NOT_FOUND, "prove_log.size",
                       "%llu is beyond the newest checkpoint (%llu)", (unsigned long long)size,
                       (unsigned long long)cp_size);
    tlog_hash_t proof[TLOG_MAX_PROOF], root, root1;
    Mastery__V1__LogProof *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__log_proof__init(out);
    out->size = size;
    if (op->size1 != 0) {
        if (op->size1 > size)
            return err_set(d, ERR_INVALID, "prove_log.size1", "%llu is larger than size %llu",
                           (unsigned long long)op->size1, (unsigned long long)size);
        if ((rc = translog_prove_consistency(txn, op->size1, size, proof, &n)) != 0 ||
            (rc = translog_root(txn, op->size1, &root1)) != 0)
            return rc;
        out->size1 = op->size1;
        if ((out->root1 = bytes_dup(h, root1.b, sizeof root1.b)).data == NULL)
            return ERR_NOMEM;
    } else {
        if (op->index >= size)
            return err_set(d, ERR_NOT_FOUND, "prove_log.index", "no entry %llu in a tree of %llu",
                           (unsigned long long)op->index, (unsigned long long)size);
        if ((rc = translog_prove_inclusion(txn, op->index, size, proof, &n)) != 0)
            return rc;
        out->index = op->index;
        if (size == cp_size) {
            buf_t b;
            buf_init(&b, 64 * 1024);
            rc = tlog_proof_format(&b, op->index, NULL, 0, proof, n, note, len);
            out->tlog_proof = rc == 0 ? arena_strndup(h->arena, b.data, b.len) : NULL;
            buf_free(&b);
            if (out->tlog_proof == NULL)
                return rc ? rc : ERR_NOMEM;
        }
    }
    if ((rc = translog_root(txn, size, &root)) != 0 ||
        (rc = proof_hashes(h, proof, n, &out->hashes)) != 0)
        return rc;
    out->n_hashes = n;
    if ((out->root = bytes_dup(h, root.b, sizeof root.b)).data == NULL)
        return ERR_NOMEM;
    rep->result_case = MASTERY__V1__REPLY__RESULT_LOG_PROOF;
    rep->log_proof = out;
    return 0;
}

static int op_get_log_tile(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                           const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)who;
    const Mastery__V1__GetLogTile *op = req->get_log_tile;
    const char *note;
    size_t len;
    uint64_t size;
    int rc = need_checkpoint(h, &note, &len, &size, d);
    if (rc != 0)
        return rc;
    if (op->level < -1 || op->level > 7)
        return err_set(d, ERR_INVALID, "get_log_tile.level", "%d is not -1 (entries) .. 7",
                       (int)op->level);
    if (op->width < 1 || op->width > 256)
        return err_set(d, ERR_INVALID, "get_log_tile.width", "%u is not 1..256",
                       (unsigned)op->width);
    Mastery__V1__LogTile *out = arena_alloc(h->arena, sizeof *out);
    char path[TLOG_TILE_PATH_MAX];
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__log_tile__init(out);
    buf_t b;
    buf_init(&b, LOG_TILE_BYTES);
    rc = translog_tile(txn, size, op->level, op->index, op->width, &b);
    if (rc == ERR_INVALID) {
        buf_free(&b);
        return err_set(d, ERR_NOT_FOUND, "get_log_tile.index",
                       "tile %d/%llu of width %u is not complete in the newest checkpoint (%llu)",
                       (int)op->level, (unsigned long long)op->index, (unsigned)op->width,
                       (unsigned long long)size);
    }
    if (rc == 0 && (rc = tlog_tile_path(path, sizeof path, op->level, op->index, op->width)) == 0) {
        out->data = bytes_dup(h, b.data, b.len);
        out->path = arena_strndup(h->arena, path, strlen(path));
        if (out->data.data == NULL || out->path == NULL)
            rc = ERR_NOMEM;
    }
    buf_free(&b);
    if (rc == ERR_LIMIT)
        return err_set(d, ERR_LIMIT, "get_log_tile.width",
                       "the tile exceeds %d bytes: ask a "
                       "narrower one",
                       LOG_TILE_BYTES);
    if (rc != 0)
        return rc;
    rep->result_case = MASTERY__V1__REPLY__RESULT_LOG_TILE;
    rep->log_tile = out;
    return 0;
}

/* The proof bundle of a credential (mastery-verify --log-proof): its evidence's log entries
 * with their inclusion proofs against the newest checkpoint. */
static int op_get_credential_proof(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                                   const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)who;
    const char *id = req->get_credential_proof->credential_id, *note, *json, *jwt;
    size_t len, json_len, jwt_len;
    uint64_t size;
    int rc;
    if ((rc = need_badges(h, d)) != 0 ||
        (rc = check_id(id, "get_credential_proof.credential_id", d)) != 0 ||
        (rc = need_checkpoint(h, &note, &len, &size, d)) != 0)
        return rc;
    badges_info_t info;
    rc = badges_get(h->badges, txn, id, &info, &json, &json_len, &jwt, &jwt_len);
    if (rc == ERR_NOT_FOUND)
        return err_set(d, ERR_NOT_FOUND, "get_credential_proof.credential_id", "no credential '%s'",
                       id);
    if (rc != 0 ||
        (rc = not_erased(txn, info.learner_id, "get_credential_proof.credential_id", d)) != 0)
        return rc;
    json_t *cred = json_loadb(json, json_len, 0, NULL);
    json_t *bundle = json_object(), *entries = json_array(), *log = json_object();
    buf_t vk, pf;
    buf_init(&vk, 1024);
    buf_init(&pf, 64 * 1024);
    rc = cred && bundle && entries && log ? 0 : ERR_NOMEM;
    if (rc == 0)
        rc = translog_verifier_key(h->log, badges_log_key(h->badges), &vk);
    json_t *evs = json_object_get(cred, "evidence");
    for (size_t i = 0; rc == 0 && i < json_array_size(evs); i++) {
        const char *ref = json_string_value(json_object_get(json_array_get(evs, i), "id"));
        unsigned long long index;
        int used = 0;
        if (ref == NULL || sscanf(ref, "urn:tlog:%llu:%*64[0-9a-f]%n", &index, &used) != 1 ||
            ref[used] != '\0')
            continue; /* evidence from before the log */
        const void *entry;
        size_t elen, n;
        tlog_hash_t leaf, proof[TLOG_MAX_PROOF];
        if (index >= size) {
            rc = ERR_INTERNAL;
            break;
        }
        buf_reset(&pf);
        if ((rc = translog_entry(txn, index, &entry, &elen, &leaf)) != 0 ||
            (rc = translog_prove_inclusion(txn, index, size, proof, &n)) != 0 ||
            (rc = tlog_proof_format(&pf, index, NULL, 0, proof, n, note, len)) != 0)
            break;
        size_t cap = CODEC_BASE64_ENCODED_MAX(elen), b64_len;
        char *b64 = malloc(cap);
        if (b64 == NULL || (rc = codec_base64_encode(entry, elen, b64, cap, &b64_len)) != 0) {
            free(b64);
            rc = rc ? rc : ERR_NOMEM;
            break;
        }
        json_t *e = json_pack("{s:I, s:s#, s:s#}", "index", (json_int_t)index, "entry", b64,
                              (int)b64_len, "proof", pf.data, (int)pf.len);
        free(b64);
        if (e == NULL || json_array_append_new(entries, e) != 0)
            rc = ERR_NOMEM;
    }
    char *text = NULL;
    if (rc == 0) {
        json_object_set_new(log, "origin", json_string(translog_origin(h->log)));
        json_object_set_new(log, "verifier_key", json_stringn(vk.data, vk.len));
        json_object_set_new(bundle, "type", json_string("MasterydLogProof"));
        json_object_set_new(bundle, "version", json_integer(1));
        json_object_set(bundle, "credential", cred);
        json_object_set(bundle, "log", log);
        json_object_set(bundle, "entries", entries);
        text = json_dumps(bundle, JSON_INDENT(2));
        rc = text ? 0 : ERR_NOMEM;
    }
    json_decref(cred);
    json_decref(bundle);
    json_decref(entries);
    json_decref(log);
    buf_free(&vk);
    buf_free(&pf);
    if (rc != 0)
        return rc == ERR_NOT_FOUND ? ERR_INTERNAL : rc;
    Mastery__V1__CredentialProof *out = arena_alloc(h->arena, sizeof *out);
    if (out != NULL) {
        mastery__v1__credential_proof__init(out);
        out->bundle = arena_strndup(h->arena, text, strlen(text));
    }
    free(text);
    if (out == NULL || out->bundle == NULL)
        return ERR_NOMEM;
    rep->result_case = MASTERY__V1__REPLY__RESULT_CREDENTIAL_PROOF;
    rep->credential_proof = out;
    return 0;
}

/* ---- groups (classes) ---------------------------------------------------------------------- */

#define ROSTER_CLASSES_MAX 10000  /* classes per ImportRoster */
#define ROSTER_MEMBERS_MAX 100000 /* members (learners + teachers) per ImportRoster */

static int check_group_id(const char *s, const char *field, err_detail_t *d)
{
    int rc = check_id(s, field, d);
    if (rc == 0 && strlen(s) > RECORDS_GROUP_ID_MAX)
        rc = err_set(d, ERR_INVALID, field, "is longer than %d bytes", RECORDS_GROUP_ID_MAX);
    return rc;
}

static int str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int op_import_roster(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                            const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    (void)who;
    const Mastery__V1__ImportRoster *op = req->import_roster;
    char field[96];
    int rc;
    if (op->n_classes > ROSTER_CLASSES_MAX)
        return err_set(d, ERR_INVALID, "import_roster.classes", "%zu classes; at most %d a request",
                       op->n_classes, ROSTER_CLASSES_MAX);
    /* Everything is validated before the first write: a bad request writes nothing. */
    size_t members = 0;
    for (size_t i = 0; i < op->n_classes; i++) {
        const Mastery__V1__RosterClass *c = op->classes[i];
        snprintf(field, sizeof field, "import_roster.classes[%zu].group_id", i);
        if ((rc = check_group_id(c->group_id, field, d)) != 0)
            return rc;
        snprintf(field, sizeof field, "import_roster.classes[%zu].title", i);
        if ((rc = check_text(c->title, RECORDS_GROUP_TITLE_MAX, field, d)) != 0)
            return rc;
        members += c->n_learner_ids + c->n_teacher_ids;
        for (size_t j = 0; j < c->n_learner_ids; j++) {
            snprintf(field, sizeof field, "import_roster.classes[%zu].learner_ids[%zu]", i, j);
            if ((rc = check_group_id(c->learner_ids[j], field, d)) != 0 ||
                (!c->deleted && (rc = not_erased(txn, c->learner_ids[j], field, d)) != 0))
                return rc;
        }
        for (size_t j = 0; j < c->n_teacher_ids; j++) {
            snprintf(field, sizeof field, "import_roster.classes[%zu].teacher_ids[%zu]", i, j);
            if ((rc = check_group_id(c->teacher_ids[j], field, d)) != 0)
                return rc;
        }
    }
    /* A class twice would be applied twice, the second undoing the first: refused. */
    const char **ids = arena_alloc(h->arena, (op->n_classes ? op->n_classes : 1) * sizeof *ids);
    if (ids == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < op->n_classes; i++)
        ids[i] = op->classes[i]->group_id;
    qsort(ids, op->n_classes, sizeof *ids, str_ptr_cmp);
    for (size_t i = 1; i < op->n_classes; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            return err_set(d, ERR_INVALID, "import_roster.classes", "class '%s' is listed twice",
                           ids[i]);
    if (members > ROSTER_MEMBERS_MAX)
        return err_set(d, ERR_INVALID, "import_roster.classes",
                       "%zu members; at most %d a request (send the classes in several)", members,
                       ROSTER_MEMBERS_MAX);
    groups_import_result_t r = {0};
    for (size_t i = 0; i < op->n_classes; i++) {
        const Mastery__V1__RosterClass *c = op->classes[i];
        groups_class_t gc = {
            .id = c->group_id,
            .title = c->title,
            .learners = c->learner_ids,
            .n_learners = c->n_learner_ids,
            .teachers = c->teacher_ids,
            .n_teachers = c->n_teacher_ids,
            .deleted = c->deleted,
        };
        if ((rc = groups_import(txn, &gc, &r)) != 0)
            return rc;
    }
    char w[80];
    note(h, METRICS_ACT_ROSTER_IMPORTED,
         "roster imported by %s: %u classes created, %u updated, %u deleted, %u unchanged; "
         "%u members added, %u removed",
         clean(h->who, w, sizeof w), r.created, r.updated, r.deleted, r.unchanged, r.added,
         r.removed);
    Mastery__V1__ImportRosterResult *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__import_roster_result__init(out);
    out->groups_created = r.created;
    out->groups_updated = r.updated;
    out->groups_deleted = r.deleted;
    out->groups_unchanged = r.unchanged;
    out->members_added = r.added;
    out->members_removed = r.removed;
    rep->result_case = MASTERY__V1__REPLY__RESULT_IMPORT_ROSTER;
    rep->import_roster = out;
    return 0;
}

/* A class-scoped teacher reaches only its own groups. */
static int may_read_group(handler_t *h, const handler_client_t *who, const char *group_id,
                          const char *field, err_detail_t *d)
{
    if (!who->authenticated || !auth_client_class_scoped(who->client) ||
        groups_listed(who->client->groups, who->client->n_groups, group_id))
        return 0;
    h->stats->m.refusals[METRICS_REFUSED_FORBIDDEN]++;
    char w[80];
    if (forbidden_log_ok(h))
        log_info("FORBIDDEN: %s: a group outside its classes", clean(h->who, w, sizeof w));
    return err_set(d, ERR_FORBIDDEN, field, "%s may read only its own classes", who->name);
}

/* The members of one kind as an arena array of strings; *n their count. */
static int member_ids(handler_t *h, store_txn_t *txn, const uint8_t *gh, char kind, bool want,
                      char ***ids, size_t *n)
{
    records_member_iter_t it;
    const uint8_t *mh;
    const char *id;
    size_t len, cap = 0;
    *n = 0;
    *ids = NULL;
    int rc = records_member_iter_open(txn, gh, kind, &it);
    while (rc == 0 && (rc = records_member_iter_next(&it, &mh, &id, &len)) == 0) {
        if (want) {
            if (*n == cap) {
                cap = cap ? 2 * cap : 64;
                char **grown = arena_alloc(h->arena, cap * sizeof *grown);
                if (grown == NULL) {
                    rc = ERR_NOMEM;
                    break;
                }
                if (*n)
                    memcpy(grown, *ids, *n * sizeof *grown);
                *ids = grown;
            }
            if (((*ids)[*n] = arena_strndup(h->arena, id, len)) == NULL) {
                rc = ERR_NOMEM;
                break;
            }
        }
        (*n)++;
    }
    records_member_iter_close(&it);
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

static Mastery__V1__GroupInfo *group_info(handler_t *h, store_txn_t *txn, const char *id,
                                          const char *title, bool members, int *rc)
{
    Mastery__V1__GroupInfo *g = arena_alloc(h->arena, sizeof *g);
    if (g == NULL) {
        *rc = ERR_NOMEM;
        return NULL;
    }
    mastery__v1__group_info__init(g);
    g->group_id = arena_strdup(h->arena, id);
    g->title = arena_strdup(h->arena, title);
    uint8_t gh[STORE_HASH_LEN];
    store_hash_id(id, gh);
    size_t nl, nt;
    if ((*rc = member_ids(h, txn, gh, RECORDS_MEMBER_LEARNER, members, &g->learner_ids, &nl)) !=
            0 ||
        (*rc = member_ids(h, txn, gh, RECORDS_MEMBER_TEACHER, members, &g->teacher_ids, &nt)) != 0)
        return NULL;
    g->learner_count = (uint32_t)nl;
    g->teacher_count = (uint32_t)nt;
    if (members) {
        g->n_learner_ids = nl;
        g->n_teacher_ids = nt;
    }
    if (g->group_id == NULL || g->title == NULL)
        *rc = ERR_NOMEM;
    return *rc == 0 ? g : NULL;
}

static int op_list_groups(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                          const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    const Mastery__V1__ListGroups *op = req->list_groups;
    Mastery__V1__GroupList *out = arena_alloc(h->arena, sizeof *out);
    int rc = 0;
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__group_list__init(out);
    rep->result_case = MASTERY__V1__REPLY__RESULT_GROUPS;
    rep->groups = out;
    if (op->group_id[0] != '\0') {
        char title[RECORDS_GROUP_TITLE_MAX + 1];
        if ((rc = check_group_id(op->group_id, "list_groups.group_id", d)) != 0 ||
            (rc = may_read_group(h, who, op->group_id, "list_groups.group_id", d)) != 0)
            return rc;
        rc = records_group_get(txn, op->group_id, title, sizeof title);
        if (rc == ERR_NOT_FOUND)
            return err_set(d, ERR_NOT_FOUND, "list_groups.group_id", "no group '%s'", op->group_id);
        out->groups = arena_alloc(h->arena, sizeof *out->groups);
        if (rc != 0 || out->groups == NULL)
            return rc ? rc : ERR_NOMEM;
        out->groups[0] = group_info(h, txn, op->group_id, title, true, &rc);
        out->n_groups = rc == 0;
        return rc;
    }
    records_group_iter_t it;
    const char *id, *title;
    size_t cap = 0;
    rc = records_group_iter_open(txn, &it);
    while (rc == 0 && (rc = records_group_iter_next(&it, &id, &title)) == 0) {
        if (who->authenticated && auth_client_class_scoped(who->client) &&
            !groups_listed(who->client->groups, who->client->n_groups, id))
            continue; /* a scoped teacher's list names only its classes */
        if (out->n_groups == cap) {
            cap = cap ? 2 * cap : 32;
            Mastery__V1__GroupInfo **grown = arena_alloc(h->arena, cap * sizeof *grown);
            if (grown == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            if (out->n_groups)
                memcpy(grown, out->groups, out->n_groups * sizeof *grown);
            out->groups = grown;
        }
        /* Copied before the member walks below reuse the transaction's cursor pages. */
        char gid[RECORDS_GROUP_ID_MAX + 1], gt[RECORDS_GROUP_TITLE_MAX + 1];
        snprintf(gid, sizeof gid, "%s", id);
        snprintf(gt, sizeof gt, "%s", title);
        if ((out->groups[out->n_groups] = group_info(h, txn, gid, gt, false, &rc)) == NULL)
            break;
        out->n_groups++;
    }
    records_group_iter_close(&it);
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

static const char *risk_reason(handler_t *h, const catalog_fw_t *fw, const groups_row_t *r,
                               unsigned bit, int64_t now)
{
    char buf[RECORDS_GROUP_ID_MAX + 96];
    if (bit == RISK_STUCK)
        snprintf(buf, sizeof buf, "stuck:%s (%u items%s)", graph_comp(fw->graph, r->stuck)->id,
                 r->stuck_count, r->stuck_total > 1 ? ", and more competencies" : "");
    else if (bit == RISK_IDLE)
        snprintf(buf, sizeof buf, "idle:%lld days",
                 (long long)((now - r->last_activity) / 86400000LL));
    else
        snprintf(buf, sizeof buf, "no_evidence");
    return arena_strdup(h->arena, buf);
}

static int op_group_report(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                           const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    const Mastery__V1__GroupReport *op = req->group_report;
    int rc;
    if ((rc = check_group_id(op->group_id, "group_report.group_id", d)) != 0 ||
        (rc = may_read_group(h, who, op->group_id, "group_report.group_id", d)) != 0)
        return rc;
    const catalog_fw_t *fw = NULL;
    if (op->framework_id[0] != '\0') {
        if ((fw = catalog_find(h->cat, op->framework_id)) == NULL)
            return err_set(d, ERR_NOT_FOUND, "group_report.framework_id", "no framework '%s'",
                           op->framework_id);
    } else if (catalog_count(h->cat) == 1) {
        fw = catalog_at(h->cat, 0);
    } else {
        return err_set(d, catalog_count(h->cat) ? ERR_INVALID : ERR_NOT_FOUND,
                       "group_report.framework_id",
                       catalog_count(h->cat) ? "%u frameworks are loaded: name one"
                                             : "no framework is loaded%.0u",
                       catalog_count(h->cat));
    }
    uint32_t n = graph_count(fw->graph);
    /* Cells are learners x competencies: bounded, so one reply stays within its budget. */
    groups_risk_conf_t conf = {(uint32_t)h->conf->risk_stuck_items,
                               (uint32_t)h->conf->risk_idle_days};
    groups_report_t r;
    rc = groups_report(txn, h->arena, fw, op->group_id, &conf, h->now,
                       op->cells ? h->conf->batch_reply_bytes : 0, &r);
    if (rc == ERR_NOT_FOUND)
        return err_set(d, ERR_NOT_FOUND, "group_report.group_id", "no group '%s'", op->group_id);
    if (rc == ERR_LIMIT)
        return err_set(d, ERR_LIMIT, "group_report.cells",
                       "the learners x %u competencies do not fit one reply (%llu bytes); ask "
                       "without cells",
                       n, (unsigned long long)h->conf->batch_reply_bytes);
    if (rc != 0)
        return rc;
    Mastery__V1__GroupReportResult *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__group_report_result__init(out);
    char title[RECORDS_GROUP_TITLE_MAX + 1];
    if ((rc = records_group_get(txn, op->group_id, title, sizeof title)) != 0)
        return rc;
    out->group_id = op->group_id;
    out->title = arena_strdup(h->arena, title);
    out->framework_id = (char *)graph_id(fw->graph);
    out->revision = fw->revision;
    out->learner_count = (uint32_t)r.n_learners;
    out->generated_at_ms = h->now;
    out->competencies = arena_alloc(h->arena, (n ? n : 1) * sizeof *out->competencies);
    out->blocking = arena_alloc(h->arena, (r.n_blocking ? r.n_blocking : 1) * sizeof(char *));
    out->at_risk = arena_alloc(h->arena, (r.n_rows ? r.n_rows : 1) * sizeof *out->at_risk);
    out->learners = arena_alloc(h->arena, (r.n_rows ? r.n_rows : 1) * sizeof *out->learners);
    if (out->title == NULL || out->competencies == NULL || out->blocking == NULL ||
        out->at_risk == NULL || out->learners == NULL)
        return ERR_NOMEM;
    for (uint32_t ci = 0; ci < n; ci++) {
        Mastery__V1__CompetencySummary *c = arena_alloc(h->arena, sizeof *c);
        if (c == NULL)
            return ERR_NOMEM;
        mastery__v1__competency_summary__init(c);
        const graph_comp_t *gc = graph_comp(fw->graph, ci);
        const groups_comp_summary_t *s = &r.comps[ci];
        c->competency_id = (char *)gc->id;
        c->title = (char *)gc->title;
        c->locked = s->locked;
        c->unlocked = s->unlocked;
        c->mastered = s->mastered;
        c->review_due = s->review_due;
        c->median_score = s->median;
        c->scored = s->scored;
        c->blocked = s->blocked;
        out->competencies[ci] = c;
    }
    out->n_competencies = n;
    for (size_t k = 0; k < r.n_blocking; k++)
        out->blocking[k] = (char *)graph_comp(fw->graph, r.blocking[k])->id;
    out->n_blocking = r.n_blocking;
    for (size_t i = 0; i < r.n_rows; i++) {
        const groups_row_t *row = &r.rows[i];
        if (row->risk) {
            Mastery__V1__AtRiskLearner *a = arena_alloc(h->arena, sizeof *a);
            char **reasons = arena_alloc(h->arena, 3 * sizeof *reasons);
            if (a == NULL || reasons == NULL)
                return ERR_NOMEM;
            mastery__v1__at_risk_learner__init(a);
            a->learner_id = (char *)row->learner_id;
            a->reasons = reasons;
            for (unsigned bit = 1; bit <= RISK_NO_EVIDENCE; bit <<= 1)
                if ((row->risk & bit) && (reasons[a->n_reasons++] =
                                              (char *)risk_reason(h, fw, row, bit, h->now)) == NULL)
                    return ERR_NOMEM;
            a->competency_id =
                row->risk & RISK_STUCK ? (char *)graph_comp(fw->graph, row->stuck)->id : "";
            a->last_activity_ms = row->last_activity;
            out->at_risk[out->n_at_risk++] = a;
        }
        if (!op->cells)
            continue;
        Mastery__V1__LearnerRow *l = arena_alloc(h->arena, sizeof *l);
        if (l == NULL)
            return ERR_NOMEM;
        mastery__v1__learner_row__init(l);
        l->learner_id = (char *)row->learner_id;
        l->status.data = row->status;
        l->status.len = n;
        l->score = row->score;
        l->n_score = n;
        l->mastered = row->mastered;
        l->evidence_count = row->evidence;
        l->last_activity_ms = row->last_activity;
        if (row->risk) {
            l->risk = out->at_risk[out->n_at_risk - 1]->reasons;
            l->n_risk = out->at_risk[out->n_at_risk - 1]->n_reasons;
        }
        out->learners[out->n_learners++] = l;
    }
    rep->result_case = MASTERY__V1__REPLY__RESULT_GROUP_REPORT;
    rep->group_report = out;
    return 0;
}

/* ---- the at-risk sweep ----------------------------------------------------------------------- */

bool handler_sweep_due(handler_t *h, int64_t now)
{
    if (h->conf->risk_sweep_seconds == 0 || now < h->sweep_next)
        return false;
    h->sweep_next = now + (int64_t)h->conf->risk_sweep_seconds * 1000;
    return true;
}

int handler_sweep(handler_t *h, store_txn_t *txn, uint64_t *learners, uint64_t *entered)
{
    groups_risk_conf_t conf = {(uint32_t)h->conf->risk_stuck_items,
                               (uint32_t)h->conf->risk_idle_days};
    char id[STORE_KEY_MAX + 1];
    *learners = *entered = 0;
    uint8_t cursor[STORE_HASH_LEN];
    memcpy(cursor, h->sweep_cursor, sizeof cursor);
    int rc = 0;
    while (*learners < h->conf->risk_sweep_learners) {
        rc = records_learner_seek(txn, cursor, id);
        if (rc == ERR_NOT_FOUND) { /* the end: the next sweep starts over */
            memset(cursor, 0, sizeof cursor);
            rc = 0;
            break;
        }
        if (rc != 0)
            break;
        if (id[0] != '\0') {
            records_learner_t l;
            records_learner_init(&l, id);
            for (uint32_t f = 0; rc == 0 && f < catalog_count(h->cat); f++) {
                const catalog_fw_t *fw = catalog_at(h->cat, f);
                groups_risk_change_t c;
                if ((rc = groups_risk_evaluate(txn, &conf, fw, &l, h->now, &c)) == 0 && c.entered) {
                    (*entered)++;
                    rc = risk_event(h, txn, id, fw, &c);
                }
            }
            if (rc != 0)
                break;
            (*learners)++;
        }
        if (!records_cursor_next(cursor)) { /* the last hash: the next sweep starts over */
            memset(cursor, 0, sizeof cursor);
            break;
        }
    }
    if (rc == 0) /* a failed sweep looks at the same learners next time */
        memcpy(h->sweep_cursor, cursor, sizeof cursor);
    return rc;
}

/* ---- re-keying after erasure (issue 16) ---------------------------------------------------- */

#define REKEY_LEARNERS 2000 /* learners rewrapped per transaction */

static void rekey_key_dir(const handler_t *h, char *out, size_t cap)
{
    if (h->conf->key_dir[0])
        snprintf(out, cap, "%s", h->conf->key_dir);
    else
        snprintf(out, cap, "%s/keys", h->conf->data_dir);
}

bool handler_rekey_pending(const handler_t *h)
{
    return h->rekey_pending;
}

static int rekey_step(handler_t *h, store_t *st, int64_t now, err_detail_t *d);

int handler_rekey_step(handler_t *h, store_t *st, int64_t now, err_detail_t *d)
{
    if (now < h->rekey_next)
        return 0;
    int rc = rekey_step(h, st, now, d);
    if (rc != 0 && rc != ERR_RETRY)
        h->rekey_next = now + 60000; /* a failing disk or store.key: retry in a minute */
    return rc;
}

static int rekey_step(handler_t *h, store_t *st, int64_t now, err_detail_t *d)
{
    store_txn_t *txn;
    records_rekey_t r;
    char key_dir[2 * CONF_STR_MAX];
    rekey_key_dir(h, key_dir, sizeof key_dir);
    int rc = store_txn_begin(st, true, &txn);
    if (rc != 0)
        return rc;
    vault_t *v = store_vault(txn);
    if ((rc = records_rekey_get(txn, &r)) == ERR_NOT_FOUND || v == NULL) {
        store_txn_abort(&txn);
        h->rekey_pending = false;
        return 0;
    }
    if (rc != 0) {
        store_txn_abort(&txn);
        return rc;
    }
    uint64_t rewrapped = 0;
    bool finished = false;
    if (r.target == 0 || r.target < vault_epoch(v)) {
        /* Start (or restart after a crash between rotation and record): a new epoch in
         * store.key first, so no record is ever wrapped under a key not yet on disk. */
        if (r.target == 0 && (rc = vault_rotate(v, key_dir, now, d)) != 0) {
            store_txn_abort(&txn);
            return rc;
        }
        memset(&r, 0, sizeof r);
        r.target = vault_epoch(v);
        log_info("re-keying: learners' secrets move to store key epoch %u (an erasure's "
                 "remnants in free pages become unreadable when it ends)",
                 r.target);
    } else {
        rc = records_rewrap(txn, &r, REKEY_LEARNERS, &rewrapped, &finished);
    }
    if (rc == 0)
        rc = records_rekey_put(txn, &r);
    if (rc == 0)
        rc = store_txn_commit(&txn);
    else
        store_txn_abort(&txn);
    if (rc != 0 || !finished)
        return rc;
    /* Every secret is under the current epoch (committed): the older keys can go. */
    uint32_t forgotten = 0;
    if ((rc = vault_forget_epochs(v, key_dir, INT64_MAX, &forgotten, d)) != 0)
        return rc;
    if ((rc = store_txn_begin(st, true, &txn)) != 0)
        return rc;
    bool again = r.again != 0;
    memset(&r, 0, sizeof r);
    rc = records_rekey_put(txn, again ? &r : NULL);
    if (rc == 0)
        rc = store_txn_commit(&txn);
    else
        store_txn_abort(&txn);
    if (rc == 0)
        log_info("re-keying done: %u older store key epoch%s destroyed%s", forgotten,
                 forgotten == 1 ? "" : "s",
                 again ? "; another follows (an erasure meanwhile)" : "");
    h->rekey_pending = again;
    return rc;
}

/* ---- the retention sweep (issue 16) --------------------------------------------------------- */

/* Whether any retention applies: the setting, or a framework's retention_days. */
static bool retention_set(const handler_t *h)
{
    if (h->conf->retention_days > 0)
        return true;
    for (uint32_t f = 0; f < catalog_count(h->cat); f++)
        if (graph_retention_days(catalog_at(h->cat, f)->graph) > 0)
            return true;
    return false;
}

bool handler_retention_due(handler_t *h, int64_t now)
{
    if (h->conf->retention_sweep_seconds == 0 || now < h->retention_next || !retention_set(h))
        return false;
    h->retention_next = now + (int64_t)h->conf->retention_sweep_seconds * 1000;
    return true;
}

/* A competency's cutoff: items observed before it lose their payload (INT64_MIN: never). */
typedef struct retention_cut {
    uint8_t comp_hash[STORE_HASH_LEN];
    int64_t cutoff;
} retention_cut_t;

typedef struct retention_plan {
    retention_cut_t *cuts; /* sorted by comp_hash */
    size_t n;
    int64_t global; /* competencies in no framework */
} retention_plan_t;

static int cut_cmp(const void *a, const void *b)
{
    return memcmp(((const retention_cut_t *)a)->comp_hash, ((const retention_cut_t *)b)->comp_hash,
                  STORE_HASH_LEN);
}

static int64_t cutoff_of(int64_t now, int64_t days)
{
    return days > 0 ? now - days * 86400000 : INT64_MIN; /* 0: kept forever */
}

/* Each competency keeps payloads for the longest period any of its frameworks names (a
 * framework's retention_days, else the setting): the earliest cutoff wins. */
static int retention_plan(const handler_t *h, retention_plan_t *p)
{
    size_t total = 0;
    for (uint32_t f = 0; f < catalog_count(h->cat); f++)
        total += graph_count(catalog_at(h->cat, f)->graph);
    p->global = cutoff_of(h->now, (int64_t)h->conf->retention_days);
    p->n = 0;
    p->cuts = total ? malloc(total * sizeof *p->cuts) : NULL;
    if (total && p->cuts == NULL)
        return ERR_NOMEM;
    for (uint32_t f = 0; f < catalog_count(h->cat); f++) {
        const catalog_fw_t *fw = catalog_at(h->cat, f);
        int64_t days = graph_retention_days(fw->graph);
        int64_t cut = days >= 0 ? cutoff_of(h->now, days) : p->global;
        for (uint32_t i = 0; i < graph_count(fw->graph); i++) {
            memcpy(p->cuts[p->n].comp_hash, fw->comp_hash[i], STORE_HASH_LEN);
            p->cuts[p->n++].cutoff = cut;
        }
    }
    if (p->n > 1) /* qsort(NULL, 0) is undefined: no frameworks, no cuts */
        qsort(p->cuts, p->n, sizeof *p->cuts, cut_cmp);
    size_t w = 0; /* one per competency: the earliest cutoff */
    for (size_t i = 0; i < p->n; i++) {
        if (w > 0 && memcmp(p->cuts[w - 1].comp_hash, p->cuts[i].comp_hash, STORE_HASH_LEN) == 0) {
            if (p->cuts[i].cutoff < p->cuts[w - 1].cutoff)
                p->cuts[w - 1].cutoff = p->cuts[i].cutoff;
        } else {
            p->cuts[w++] = p->cuts[i];
        }
    }
    p->n = w;
    return 0;
}

static int64_t plan_cutoff(const retention_plan_t *p, const uint8_t *comp_hash)
{
    retention_cut_t key;
    memcpy(key.comp_hash, comp_hash, STORE_HASH_LEN);
    const retention_cut_t *c = p->n ? bsearch(&key, p->cuts, p->n, sizeof *p->cuts, cut_cmp) : NULL;
    return c ? c->cutoff : p->global;
}

/* One learner's evidence observed before its competency's cutoff loses its payload
 * (positions first: the shredding writes under the walk's cursor). */
static int retention_learner(store_txn_t *txn, records_learner_t *l, const retention_plan_t *plan,
                             uint64_t *shredded)
{
    records_evidence_iter_t it;
    records_evidence_t r;
    uint8_t(*pos)[RECORDS_EVIDENCE_POS_MAX + 1] = NULL;
    size_t *len = NULL, n = 0, cap = 0;
    int rc = records_evidence_iter_open(txn, l->hash, NULL, &it);
    while (rc == 0 && (rc = records_evidence_iter_next(&it, &r)) == 0) {
        /* pos starts with the competency's hash (records.h: 'E' H(comp) observed_at ...) */
        if (r.shredded || r.observed_at >= plan_cutoff(plan, r.pos))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            void *p1 = realloc(pos, cap * sizeof *pos),
                 *p2 = p1 ? realloc(len, cap * sizeof *len) : NULL;
            if (p1 != NULL)
                pos = p1;
            if (p2 == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            len = p2;
        }
        memcpy(pos[n], r.pos, r.pos_len);
        len[n++] = r.pos_len;
    }
    records_evidence_iter_close(&it);
    if (rc == ERR_NOT_FOUND)
        rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool done;
        if ((rc = records_evidence_shred(txn, l, pos[i], len[i], &done)) == 0 && done)
            (*shredded)++;
    }
    free(pos);
    free(len);
    return rc;
}

int handler_retention_sweep(handler_t *h, store_txn_t *txn, uint64_t *learners, uint64_t *shredded)
{
    char id[STORE_KEY_MAX + 1];
    *learners = *shredded = 0;
    retention_plan_t plan;
    int rc = retention_plan(h, &plan);
    if (rc != 0)
        return rc;
    uint8_t cursor[STORE_HASH_LEN];
    memcpy(cursor, h->retention_cursor, sizeof cursor);
    while (*learners < h->conf->retention_sweep_learners) {
        rc = records_learner_seek(txn, cursor, id);
        if (rc == ERR_NOT_FOUND) {
            memset(cursor, 0, sizeof cursor);
            rc = 0;
            break;
        }
        if (rc != 0)
            break;
        if (id[0] != '\0') {
            records_learner_t l;
            int64_t since;
            const char *reason;
            records_learner_init(&l, id);
            rc = records_hold_get(txn, &l, &since, &reason); /* a hold keeps everything */
            if (rc == ERR_NOT_FOUND)
                rc = retention_learner(txn, &l, &plan, shredded);
            records_learner_forget(&l);
            if (rc != 0)
                break;
            (*learners)++;
        }
        if (!records_cursor_next(cursor)) {
            memset(cursor, 0, sizeof cursor);
            break;
        }
    }
    free(plan.cuts);
    if (rc == 0)
        memcpy(h->retention_cursor, cursor, sizeof cursor);
    return rc;
}

/*
 * The request table: operation, name, whether it writes, the roles that may call it, handler.
 *
 * Roles are checked before dispatch (development mode allows everything). A new operation
 * picks its roles by this rule:
 *   - framework reads, health and the issuer's public profile: every role (R_ANY);
 *   - learner data, evidence lists, the event log, credential reads and verification:
 *     teacher, admin, auditor (R_READ);
 *   - submitting evidence: tool (its framework scope is checked per item); retracting it: the
 *     tool that submitted it, teachers, admins;
 *   - overrides: teacher; a learner's DID: teacher, admin;
 *   - next steps and explanations: R_READ, and tools within their framework scope (without
 *     evidence ids, narratives or override reasons: may_read_learner);
 *   - frameworks (also CASE imports), keys, revoking/suspending credentials, backups, rosters:
 *     admin (R_ADMIN).
 * A teacher scoped to classes (`class=...`) passes the role check like any teacher; every
 * handler that names a learner then calls may_read_learner (groups: may_read_group), and
 * requests that would show other learners (ReadEvents) refuse it.
 */
#define R_TOOL    AUTH_ROLE_TOOL
#define R_TEACHER AUTH_ROLE_TEACHER
#define R_ADMIN   AUTH_ROLE_ADMIN
#define R_ANY     AUTH_ROLES_ALL
#define R_READ    (AUTH_ROLE_TEACHER | AUTH_ROLE_ADMIN | AUTH_ROLE_AUDITOR)

/* ---- next steps and explanations (issue 15) ------------------------------------------------ */

/* A formatted string in the reply arena (NULL when out of memory). */
__attribute__((format(printf, 2, 3))) static char *afmt(handler_t *h, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return arena_strdup(h->arena, tmp);
}

/*
 * Whether who may see this learner's details (evidence ids, narratives, override reasons): the
 * roles of get_learner (development mode: everyone), not a tool. Class scoping is
 * may_read_learner's, checked first by every request that names a learner.
 */
static bool may_see_details(const handler_t *h, const handler_client_t *who, const char *learner_id)
{
    (void)h, (void)learner_id;
    if (!who->authenticated)
        return true;
    return who->client != NULL && (who->client->role & R_READ) != 0;
}

/* Whether who may ask about framework fw at all: readers of the learner, or a tool whose
 * scope has the framework. */
static bool may_advise(const handler_t *h, const handler_client_t *who, const char *learner_id,
                       const catalog_fw_t *fw)
{
    if (may_see_details(h, who, learner_id))
        return true;
    return who->client != NULL && who->client->role == AUTH_ROLE_TOOL &&
           auth_client_in_scope(who->client, graph_id(fw->graph));
}

/* A tool asking outside its scope: FORBIDDEN naming the field, logged like submit's (at most
 * FORBIDDEN_LOGGED a minute, never the learner). */
static int scope_refused(handler_t *h, const handler_client_t *who, const char *op,
                         const char *field, const catalog_fw_t *fw, err_detail_t *d)
{
    h->stats->m.refusals[METRICS_REFUSED_FORBIDDEN]++;
    char w[80], f[80];
    if (forbidden_log_ok(h))
        log_info("FORBIDDEN: %s %s: framework %s outside its scope", clean(h->who, w, sizeof w), op,
                 clean(graph_id(fw->graph), f, sizeof f));
    return err_set(d, ERR_FORBIDDEN, field, "framework '%s' is not in %s's scope",
                   graph_id(fw->graph), who->name);
}

static int learner_known(handler_t *h, store_txn_t *txn, const char *learner_id, const char *field,
                         err_detail_t *d)
{
    int rc = engine_learner_known(h->engine, txn, learner_id);
    if (rc == ERR_NOT_FOUND)
        return err_set(d, ERR_NOT_FOUND, field,
                       "no such learner (nothing was ever recorded for this id)");
    return rc;
}

static const char *fmt_time(handler_t *h, int64_t ms)
{
    char b[40];
    if (isotime_format_s(ms, b, sizeof b) != 0)
        snprintf(b, sizeof b, "%lld ms", (long long)ms);
    return arena_strdup(h->arena, b);
}

/* "7 days", "36 hours", "90 minutes", "45 seconds": the largest unit that divides it. */
static const char *fmt_duration(handler_t *h, int64_t ms)
{
    static const struct {
        int64_t ms;
        const char *name;
    } units[] = {{86400000, "day"}, {3600000, "hour"}, {60000, "minute"}, {1000, "second"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ms % units[i].ms == 0 || i + 1 == sizeof units / sizeof units[0])
            return afmt(h, "%lld %s%s", (long long)(ms / units[i].ms), units[i].name,
                        ms / units[i].ms == 1 ? "" : "s");
    return "";
}

static char **step_reasons(handler_t *h, const advice_step_t *s, size_t *n)
{
    const graph_comp_t *c = graph_comp(s->fw->graph, s->ci);
    const engine_trace_t *t = &s->t;
    char **r = arena_alloc(h->arena, 6 * sizeof *r);
    size_t k = 0;
    if (r == NULL)
        return NULL;
    if (s->review) {
        r[k++] = afmt(h, "review due since %s (%s after the last item at or above %.2f)",
                      fmt_time(h, t->review_due_at), fmt_duration(h, c->review_after_ms),
                      c->rule.threshold);
        if (t->review_failures > 0)
            r[k++] = afmt(h, "%u item%s below the threshold since it became due%s",
                          t->review_failures, t->review_failures == 1 ? "" : "s",
                          t->review_failed ? ": review failed (still mastered; badge valid)" : "");
    } else {
        if (c->requires_kind == REQUIRES_NONE)
            r[k++] = afmt(h, "no prerequisites");
        else
            r[k++] = afmt(h, "prerequisites met (%u of %u mastered)", t->requires_mastered,
                          c->n_requires);
        if (t->distance.items_at_one == MASTERY_DISTANCE_FAR)
            r[k++] = afmt(h, "score %.3f of %.2f; more than %d perfect items from mastery",
                          t->result.score, c->rule.threshold, MASTERY_DISTANCE_MAX_ITEMS);
        else
            r[k++] = afmt(h, "score %.3f of %.2f; %u perfect item%s from mastery", t->result.score,
                          c->rule.threshold, t->distance.items_at_one,
                          t->distance.items_at_one == 1 ? "" : "s");
        if (t->distance.min_score >= 0)
            r[k++] =
                afmt(h, "one more item scoring %.3f or more masters it", t->distance.min_score);
        if (t->result.count < c->rule.min_evidence)
            r[k++] = afmt(h, "%u of min_evidence %u items so far", t->result.count,
                          c->rule.min_evidence);
    }
    if (c->unlocks_direct > 0 && graph_unlocks_known(s->fw->graph))
        r[k++] = afmt(h, "mastering it unlocks %u directly, %u in all downstream",
                      c->unlocks_direct, c->unlocks_transitive);
    else if (c->unlocks_direct > 0) /* a graph too large for transitive counts at load */
        r[k++] = afmt(h, "mastering it unlocks %u directly", c->unlocks_direct);
    for (size_t i = 0; i < k; i++)
        if (r[i] == NULL)
            return NULL;
    *n = k;
    return r;
}

#define NEXT_LIMIT_DEFAULT  10
#define NEXT_LOCKED_DEFAULT 5
#define NEXT_LIMIT_MAX      1000
#define NEXT_MISSING_MAX    16

static int op_next(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                   const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    const Mastery__V1__Next *op = req->next;
    int rc;
    if ((rc = check_id(op->learner_id, "next.learner_id", d)) != 0 ||
        (rc = may_read_learner(h, txn, who, op->learner_id, "next.learner_id", d)) != 0)
        return rc;
    if (op->limit > NEXT_LIMIT_MAX)
        return err_set(d, ERR_INVALID, "next.limit", "%u; at most %d", op->limit, NEXT_LIMIT_MAX);
    if (op->locked_limit > NEXT_LIMIT_MAX)
        return err_set(d, ERR_INVALID, "next.locked_limit", "%u; at most %d", op->locked_limit,
                       NEXT_LIMIT_MAX);
    uint32_t nfw = 0, count = catalog_count(h->cat);
    const catalog_fw_t **fws = arena_alloc(h->arena, (count ? count : 1) * sizeof *fws);
    if (fws == NULL)
        return ERR_NOMEM;
    if (op->framework_id[0] != '\0') {
        const catalog_fw_t *fw = catalog_find(h->cat, op->framework_id);
        if (fw == NULL)
            return err_set(d, ERR_NOT_FOUND, "next.framework_id", "no framework '%s'",
                           op->framework_id);
        if (!may_advise(h, who, op->learner_id, fw))
            return scope_refused(h, who, "next", "next.framework_id", fw, d);
        fws[nfw++] = fw;
    } else {
        for (uint32_t i = 0; i < count; i++)
            if (may_advise(h, who, op->learner_id, catalog_at(h->cat, i)))
                fws[nfw++] = catalog_at(h->cat, i);
    }
    if ((rc = learner_known(h, txn, op->learner_id, "next.learner_id", d)) != 0)
        return rc;
    size_t limit = op->limit ? op->limit : NEXT_LIMIT_DEFAULT;
    size_t llimit = op->locked_limit ? op->locked_limit : NEXT_LOCKED_DEFAULT;
    if ((rc = advice_next(h->engine, txn, op->learner_id, fws, nfw, h->now, limit, llimit,
                          &h->advice)) != 0)
        return rc;

    const advice_t *a = &h->advice;
    size_t ns = a->n_steps < limit ? a->n_steps : limit;
    size_t nl = a->n_locked < llimit ? a->n_locked : llimit;
    Mastery__V1__NextSteps *out = arena_alloc(h->arena, sizeof *out);
    if (out == NULL)
        return ERR_NOMEM;
    mastery__v1__next_steps__init(out);
    out->learner_id = op->learner_id;
    out->at_ms = h->now;
    out->mastered = a->mastered;
    out->total = a->total;
    out->reviews_due = a->reviews_due;
    out->steps = arena_alloc(h->arena, (ns ? ns : 1) * sizeof *out->steps);
    out->nearest_locked = arena_alloc(h->arena, (nl ? nl : 1) * sizeof *out->nearest_locked);
    if (out->steps == NULL || out->nearest_locked == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < ns; i++) {
        const advice_step_t *s = &a->steps[i];
        const graph_comp_t *c = graph_comp(s->fw->graph, s->ci);
        Mastery__V1__NextStep *m = arena_alloc(h->arena, sizeof *m);
        if (m == NULL)
            return ERR_NOMEM;
        mastery__v1__next_step__init(m);
        m->rank = (uint32_t)i + 1;
        m->kind =
            s->review ? MASTERY__V1__STEP_KIND__STEP_REVIEW : MASTERY__V1__STEP_KIND__STEP_LEARN;
        m->framework_id = (char *)graph_id(s->fw->graph);
        m->competency_id = (char *)c->id;
        m->title = (char *)c->title;
        m->score = s->t.result.score;
        m->threshold = c->rule.threshold;
        m->evidence_count = s->t.result.count;
        m->min_evidence = c->rule.min_evidence;
        m->min_next_score = s->t.distance.min_score;
        m->items_needed = s->t.distance.items_at_one;
        m->unlocks_direct = c->unlocks_direct;
        m->unlocks_transitive = c->unlocks_transitive;
        m->prerequisites_met = s->t.requires_mastered;
        m->review_due_at_ms = s->t.review_due_at;
        m->review_failures = s->t.review_failures;
        m->review_failed = s->t.review_failed;
        m->mastered_at_ms = s->t.state.mastered_at;
        if ((m->reasons = step_reasons(h, s, &m->n_reasons)) == NULL)
            return ERR_NOMEM;
        out->steps[i] = m;
    }
    out->n_steps = ns;
    for (size_t i = 0; i < nl; i++) {
        const advice_locked_t *l = &a->locked[i];
        const graph_comp_t *c = graph_comp(l->fw->graph, l->ci);
        Mastery__V1__LockedStep *m = arena_alloc(h->arena, sizeof *m);
        if (m == NULL)
            return ERR_NOMEM;
        mastery__v1__locked_step__init(m);
        m->framework_id = (char *)graph_id(l->fw->graph);
        m->competency_id = (char *)c->id;
        m->title = (char *)c->title;
        m->missing = l->missing;
        m->unlocks_direct = c->unlocks_direct;
        m->unlocks_transitive = c->unlocks_transitive;
        m->missing_ids =
            arena_alloc(h->arena, (c->n_requires ? c->n_requires : 1) * sizeof(char *));
        if (m->missing_ids == NULL)
            return ERR_NOMEM;
        for (uint32_t j = 0; j < c->n_requires && m->n_missing_ids < NEXT_MISSING_MAX; j++) {
            comp_state_t rs;
            if ((rc = engine_state_get(h->engine, txn, op->learner_id, l->fw, c->requires[j],
                                       &rs)) != 0)
                return rc;
            if (rs.status != STATUS_MASTERED)
                m->missing_ids[m->n_missing_ids++] =
                    (char *)graph_comp(l->fw->graph, c->requires[j])->id;
        }
        out->nearest_locked[i] = m;
    }
    out->n_nearest_locked = nl;
    rep->result_case = MASTERY__V1__REPLY__RESULT_NEXT_STEPS;
    rep->next_steps = out;
    return 0;
}

/* The shortest decimal that reads back as v (0.8, not 0.80000000000000004). */
static const char *num(char buf[32], double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* Every parameter of the rule in effect, defaults included, as JSON. */
static char *rule_json(handler_t *h, const graph_comp_t *c)
{
    const rule_t *r = &c->rule;
    const char *m = mastery_method_name(r->method);
    char a[32], b[32], e[32], f[32], g[32], k[32], l[32];
    switch (r->method) {
    case RULE_CHILDREN:
        return afmt(h, "{\"method\":\"%s\",\"at_least\":%u,\"of\":%u}", m,
                    r->children_k ? r->children_k : c->n_children, c->n_children);
    case RULE_WEIGHTED_AVERAGE:
    case RULE_DECAYING_AVERAGE:
        return afmt(h, "{\"method\":\"%s\",\"threshold\":%s,\"min_evidence\":%u,\"weight\":%s}", m,
                    num(a, r->threshold), r->min_evidence, num(b, r->weight));
    case RULE_N_MASTERY:
        return afmt(h, "{\"method\":\"%s\",\"threshold\":%s,\"min_evidence\":%u,\"n\":%u}", m,
                    num(a, r->threshold), r->min_evidence, r->n);
    case RULE_BKT:
        return afmt(h,
                    "{\"method\":\"%s\",\"threshold\":%s,\"min_evidence\":%u,\"p_init\":%s,"
                    "\"p_transit\":%s,\"p_guess\":%s,\"p_slip\":%s,\"p_forget\":%s,"
                    "\"correct_at\":%s}",
                    m, num(a, r->threshold), r->min_evidence, num(b, r->p_init),
                    num(e, r->p_transit), num(f, r->p_guess), num(g, r->p_slip),
                    num(k, r->p_forget), num(l, r->correct_at));
    default:
        return afmt(h, "{\"method\":\"%s\",\"threshold\":%s,\"min_evidence\":%u}", m,
                    num(a, r->threshold), r->min_evidence);
    }
}

static Mastery__V1__Prerequisite **prereq_list(handler_t *h, store_txn_t *txn,
                                               const char *learner_id, const catalog_fw_t *fw,
                                               const uint32_t *idx, uint32_t n, int *rc)
{
    Mastery__V1__Prerequisite **v = arena_alloc(h->arena, (n ? n : 1) * sizeof *v);
    *rc = v ? 0 : ERR_NOMEM;
    for (uint32_t i = 0; v && i < n; i++) {
        comp_state_t st;
        if ((*rc = engine_state_get(h->engine, txn, learner_id, fw, idx[i], &st)) != 0)
            return NULL;
        Mastery__V1__Prerequisite *p = arena_alloc(h->arena, sizeof *p);
        if (p == NULL) {
            *rc = ERR_NOMEM;
            return NULL;
        }
        mastery__v1__prerequisite__init(p);
        p->competency_id = (char *)graph_comp(fw->graph, idx[i])->id;
        p->status = (Mastery__V1__CompetencyStatus)st.status;
        p->score = st.score;
        v[i] = p;
    }
    return v;
}

static const char *explain_summary(handler_t *h, const graph_comp_t *c, const engine_trace_t *t)
{
    const comp_state_t *st = &t->state;
    if (st->status == STATUS_MASTERED) {
        if (t->review_failed)
            return afmt(h,
                        "mastered; review due since %s and failed %u times (still mastered, "
                        "badge valid)",
                        fmt_time(h, t->review_due_at), t->review_failures);
        if (t->review_due)
            return afmt(h, "mastered; review due since %s", fmt_time(h, t->review_due_at));
        if (st->flags & STATE_OVERRIDDEN)
            return afmt(h, "mastered by a teacher's override");
        return afmt(h, "mastered: the rule was met while it was unlocked");
    }
    if (st->status == STATUS_LOCKED)
        return afmt(h, "locked: %u of the %u prerequisites it needs are mastered",
                    t->requires_mastered, c->requires_k);
    if (c->rule.method == RULE_CHILDREN)
        return afmt(h, "unlocked: %u of the %u children it needs are mastered", t->result.count,
                    c->rule.children_k ? c->rule.children_k : c->n_children);
    if (st->flags & STATE_WITHDRAWN)
        return afmt(h,
                    "unlocked: mastery withdrawn by a teacher; only later evidence counts "
                    "(%u item%s since, score %.3f, threshold %.2f)",
                    t->result.count, t->result.count == 1 ? "" : "s", t->result.score,
                    c->rule.threshold);
    if (t->result.count < c->rule.min_evidence)
        return afmt(h, "unlocked: %u of the %u items min_evidence asks for", t->result.count,
                    c->rule.min_evidence);
    return afmt(h, "unlocked: score %.3f is below the threshold %.2f", t->result.score,
                c->rule.threshold);
}

static int op_explain(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                      const handler_client_t *who, reply_t *rep, err_detail_t *d)
{
    const Mastery__V1__Explain *op = req->explain;
    int rc;
    if ((rc = check_id(op->learner_id, "explain.learner_id", d)) != 0 ||
        (rc = check_id(op->competency_id, "explain.competency_id", d)) != 0 ||
        (rc = may_read_learner(h, txn, who, op->learner_id, "explain.learner_id", d)) != 0)
        return rc;
    const catalog_fw_t *fw = NULL;
    uint32_t ci = 0;
    if (op->framework_id[0] != '\0') {
        if ((fw = catalog_find(h->cat, op->framework_id)) == NULL)
            return err_set(d, ERR_NOT_FOUND, "explain.framework_id", "no framework '%s'",
                           op->framework_id);
        if (graph_find(fw->graph, op->competency_id, &ci) != 0)
            return err_set(d, ERR_NOT_FOUND, "explain.competency_id",
                           "framework '%s' has no competency '%s'", op->framework_id,
                           op->competency_id);
    } else {
        /* the first framework (load order) with it that the caller may ask about; else the
         * first with it, refused below */
        uint32_t first_ci = 0;
        const catalog_fw_t *first = NULL;
        for (uint32_t i = 0; fw == NULL && i < catalog_count(h->cat); i++) {
            const catalog_fw_t *f = catalog_at(h->cat, i);
            if (graph_find(f->graph, op->competency_id, &ci) != 0)
                continue;
            if (first == NULL) {
                first = f;
                first_ci = ci;
            }
            if (may_advise(h, who, op->learner_id, f))
                fw = f;
        }
        if (fw == NULL && first != NULL) {
            fw = first;
            ci = first_ci;
        }
        if (fw == NULL)
            return err_set(d, ERR_NOT_FOUND, "explain.competency_id",
                           "no framework has competency '%s'", op->competency_id);
    }
    if (!may_advise(h, who, op->learner_id, fw))
        return scope_refused(h, who, "explain", "explain.framework_id", fw, d);
    if ((rc = learner_known(h, txn, op->learner_id, "explain.learner_id", d)) != 0)
        return rc;
    bool reader = may_see_details(h, who, op->learner_id);
    const graph_comp_t *c = graph_comp(fw->graph, ci);
    engine_trace_t t;
    if ((rc = engine_trace(h->engine, txn, op->learner_id, fw, ci, h->now, true, &t)) != 0)
        return rc;
    ProtobufCAllocator alloc = {arena_pb_alloc, arena_pb_free, h->arena};

    Mastery__V1__Explanation *x = arena_alloc(h->arena, sizeof *x);
    if (x == NULL)
        return ERR_NOMEM;
    mastery__v1__explanation__init(x);
    x->learner_id = op->learner_id;
    x->framework_id = (char *)graph_id(fw->graph);
    x->revision = fw->revision;
    x->competency_id = (char *)c->id;
    x->title = (char *)c->title;
    x->method = (char *)mastery_method_name(c->rule.method);
    x->rule_json = rule_json(h, c);
    bool children = c->rule.method == RULE_CHILDREN;
    x->threshold = children ? 1.0 : c->rule.threshold;
    x->min_evidence = children ? 0 : c->rule.min_evidence;
    x->state = state_msg(h, c->id, &t.state);
    x->score = t.result.score;
    x->rule_met = t.result.met;
    x->counted = t.result.count;
    x->items_redacted = !reader;
    x->items = arena_alloc(h->arena, (t.n_items ? t.n_items : 1) * sizeof *x->items);
    if (x->rule_json == NULL || x->state == NULL || x->items == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < t.n_items; i++) {
        const engine_trace_item_t *it = &t.items[i];
        Mastery__V1__ExplainedItem *m = arena_alloc(h->arena, sizeof *m);
        if (m == NULL)
            return ERR_NOMEM;
        mastery__v1__explained_item__init(m);
        m->observed_at_ms = it->observed_at;
        m->score = it->sample.score;
        m->weight = it->sample.weight;
        m->outcome = (Mastery__V1__Outcome)it->sample.outcome;
        m->counted = it->counted;
        m->coefficient = m->contribution = m->score_after = m->p_before = m->p_posterior = NAN;
        if (it->counted) {
            m->coefficient = it->step.coefficient;
            m->contribution = it->step.coefficient * it->sample.score;
            m->score_after = it->step.score_after;
            m->p_before = it->step.p_before;
            m->p_posterior = it->step.p_posterior;
            m->correct = it->step.correct;
        }
        Mastery__V1__Evidence *ev = NULL;
        const void *plain;
        size_t plain_len;
        records_evidence_t sealed = {
            .blob = it->blob, .blob_len = it->blob_len, .rkey = it->rkey, .rkey_len = it->rkey_len};
        if (reader && records_evidence_open(txn, &sealed, &plain, &plain_len) == 0)
            ev = mastery__v1__evidence__unpack(&alloc, plain_len, plain);
        if (!it->counted)
            m->not_counted = it->retracted ? "retracted"
                                           : afmt(h, "observed before the withdrawal of %s",
                                                  fmt_time(h, t.state.override_at));
        if (m->not_counted == NULL)
            return ERR_NOMEM;
        if (reader && ev != NULL) {
            m->evidence_id = ev->evidence_id;
            m->source = ev->source;
            m->narrative = ev->narrative;
        }
        x->items[i] = m;
    }
    x->n_items = t.n_items;
    static const char *const kinds[] = {"none", "all", "at_least"};
    x->requires_kind = (char *)kinds[c->requires_kind];
    x->requires_k = c->requires_k;
    x->prerequisites = prereq_list(h, txn, op->learner_id, fw, c->requires, c->n_requires, &rc);
    if (rc != 0)
        return rc;
    x->n_prerequisites = c->n_requires;
    x->children = prereq_list(h, txn, op->learner_id, fw, c->children, c->n_children, &rc);
    if (rc != 0)
        return rc;
    x->n_children = c->n_children;
    x->overridden = (t.state.flags & STATE_OVERRIDDEN) != 0;
    x->withdrawn = (t.state.flags & STATE_WITHDRAWN) != 0;
    x->override_at_ms = t.state.override_at;
    records_override_t o;
    rc = engine_override_get(h->engine, txn, op->learner_id, fw, ci, &o);
    if (rc == 0) {
        x->override_at_ms = o.at;
        x->override_granted = o.granted;
        x->override_actor = (char *)o.actor;
        x->override_reason = reader ? (char *)o.reason : "";
    } else if (rc != ERR_NOT_FOUND) {
        return rc;
    }
    x->review_after_ms = c->review_after_ms;
    x->review_due_at_ms = t.review_due_at;
    x->review_due = t.review_due;
    x->review_failures = t.review_failures;
    x->review_failed = t.review_failed;
    x->last_fresh_at_ms = t.last_fresh_at;
    x->min_next_score = t.distance.min_score;
    x->items_needed = t.distance.items_at_one;
    if ((x->summary = (char *)explain_summary(h, c, &t)) == NULL)
        return ERR_NOMEM;
    rep->result_case = MASTERY__V1__REPLY__RESULT_EXPLANATION;
    rep->explanation = x;
    return 0;
}

typedef struct op_entry {
    Mastery__V1__Request__OpCase op;
    const char *name;
    bool writes;
    unsigned roles;
    op_fn fn;
} op_entry_t;

static const op_entry_t op_table[] = {
    {MASTERY__V1__REQUEST__OP_PUT_FRAMEWORK, "put_framework", true, R_ADMIN, op_put_framework},
    {MASTERY__V1__REQUEST__OP_GET_FRAMEWORK, "get_framework", false, R_ANY, op_get_framework},
    {MASTERY__V1__REQUEST__OP_LIST_FRAMEWORKS, "list_frameworks", false, R_ANY, op_list_frameworks},
    {MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE, "submit_evidence", true, R_TOOL, op_submit_evidence},
    {MASTERY__V1__REQUEST__OP_GET_LEARNER, "get_learner", false, R_READ, op_get_learner},
    {MASTERY__V1__REQUEST__OP_READ_EVENTS, "read_events", false, R_READ, op_read_events},
    {MASTERY__V1__REQUEST__OP_OVERRIDE, "override", true, R_TEACHER, op_override},
    {MASTERY__V1__REQUEST__OP_HEALTH, "health", false, R_ANY, op_health},
    {MASTERY__V1__REQUEST__OP_LIST_EVIDENCE, "list_evidence", false, R_READ, op_list_evidence},
    {MASTERY__V1__REQUEST__OP_RETRACT_EVIDENCE, "retract_evidence", true,
     R_TOOL | R_TEACHER | R_ADMIN, op_retract_evidence},
    {MASTERY__V1__REQUEST__OP_IMPORT_CASE, "import_case", true, R_ADMIN, op_import_case},
    {MASTERY__V1__REQUEST__OP_LIST_CREDENTIALS, "list_credentials", false, R_READ,
     op_list_credentials},
    {MASTERY__V1__REQUEST__OP_GET_CREDENTIAL, "get_credential", false, R_READ, op_get_credential},
    {MASTERY__V1__REQUEST__OP_SET_CREDENTIAL_STATUS, "set_credential_status", true, R_ADMIN,
     op_set_credential_status},
    {MASTERY__V1__REQUEST__OP_EXPORT_STATUS_LIST, "export_status_list", false, R_READ,
     op_export_status_list},
    {MASTERY__V1__REQUEST__OP_GET_ISSUER, "get_issuer", false, R_ANY, op_get_issuer},
    {MASTERY__V1__REQUEST__OP_ROTATE_KEYS, "rotate_keys", true, R_ADMIN, op_rotate_keys},
    {MASTERY__V1__REQUEST__OP_REGISTER_LEARNER_DID, "register_learner_did", true,
     R_TEACHER | R_ADMIN, op_register_learner_did},
    {MASTERY__V1__REQUEST__OP_ERASE_LEARNER, "erase_learner", true, R_ADMIN, op_erase_learner},
    {MASTERY__V1__REQUEST__OP_SET_LEGAL_HOLD, "set_legal_hold", true, R_ADMIN, op_set_legal_hold},
    {MASTERY__V1__REQUEST__OP_REENROL_LEARNER, "reenrol_learner", true, R_ADMIN,
     op_reenrol_learner},
    {MASTERY__V1__REQUEST__OP_BACKUP, "backup", false, R_ADMIN, op_backup},
    {MASTERY__V1__REQUEST__OP_METRICS, "metrics", false, R_ANY, op_metrics},
    {MASTERY__V1__REQUEST__OP_GET_CHECKPOINT, "get_checkpoint", false, R_ANY, op_get_checkpoint},
    {MASTERY__V1__REQUEST__OP_GET_LOG_ENTRY, "get_log_entry", false, R_ANY, op_get_log_entry},
    {MASTERY__V1__REQUEST__OP_PROVE_LOG, "prove_log", false, R_ANY, op_prove_log},
    {MASTERY__V1__REQUEST__OP_GET_LOG_TILE, "get_log_tile", false, R_ANY, op_get_log_tile},
    {MASTERY__V1__REQUEST__OP_GET_CREDENTIAL_PROOF, "get_credential_proof", false, R_READ,
     op_get_credential_proof},
    {MASTERY__V1__REQUEST__OP_ISSUE_TRANSCRIPT, "issue_transcript", false, R_READ,
     op_issue_transcript},
    {MASTERY__V1__REQUEST__OP_IMPORT_ROSTER, "import_roster", true, R_ADMIN, op_import_roster},
    {MASTERY__V1__REQUEST__OP_LIST_GROUPS, "list_groups", false, R_READ, op_list_groups},
    {MASTERY__V1__REQUEST__OP_GROUP_REPORT, "group_report", false, R_READ, op_group_report},
    /* Next steps and explanations: readers of learners, and a tool for the frameworks in its
     * scope (op_next/op_explain check the scope; may_read_learner is where a class-scoped
     * teacher role plugs in). */
    {MASTERY__V1__REQUEST__OP_NEXT, "next", false, R_READ | R_TOOL, op_next},
    {MASTERY__V1__REQUEST__OP_EXPLAIN, "explain", false, R_READ | R_TOOL, op_explain},
};

#define OP_COUNT (sizeof op_table / sizeof op_table[0])
_Static_assert(OP_COUNT <= METRICS_OPS, "metrics count requests per operation");

static const char *const *op_names(size_t *n)
{
    static const char *names[OP_COUNT];
    for (size_t i = 0; i < OP_COUNT; i++)
        names[i] = op_table[i].name;
    *n = OP_COUNT;
    return names;
}

/* Whether who may call e; FORBIDDEN naming the roles that may, otherwise. */
static int authorize(const op_entry_t *e, const handler_client_t *who, err_detail_t *d)
{
    if (!who->authenticated)
        return 0; /* development mode: loopback only, everything allowed */
    if (who->client != NULL && (e->roles & (unsigned)who->client->role))
        return 0;
    char allowed[64];
    auth_roles_format(e->roles, allowed, sizeof allowed);
    return err_set(d, ERR_FORBIDDEN, "op", "%s may not call %s (role %s; allowed: %s)", who->name,
                   e->name, who->client ? auth_role_name(who->client->role) : "none", allowed);
}

static const op_entry_t *op_find(Mastery__V1__Request__OpCase op)
{
    for (size_t i = 0; i < sizeof op_table / sizeof op_table[0]; i++)
        if (op_table[i].op == op)
            return &op_table[i];
    return NULL;
}

bool handler_request_writes(const wire_request_t *req)
{
    const op_entry_t *e = op_find(req->op_case);
    return e != NULL && e->writes;
}

bool handler_may_subscribe(const auth_client_t *client)
{
    const op_entry_t *e = op_find(MASTERY__V1__REQUEST__OP_READ_EVENTS);
    /* A class-scoped teacher may not call ReadEvents (events name every learner), so it
     * receives no published ones either. */
    return client != NULL && (e->roles & (unsigned)client->role) != 0 &&
           !auth_client_class_scoped(client);
}

int handler_apply(handler_t *h, store_txn_t *txn, const wire_request_t *req,
                  const handler_client_t *who, uint8_t **reply, size_t *len)
{
    reply_t rep = MASTERY__V1__REPLY__INIT;
    err_detail_t d;
    err_clear(&d);
    arena_reset(h->arena);
    h->stats->requests++;
    h->who = who->authenticated ? who->name : "dev-mode-client";
    const op_entry_t *e = op_find(req->op_case);
    int rc;
    if (e == NULL) {
        err_set(&d, ERR_INVALID, "op", "unknown operation %d", (int)req->op_case);
        h->stats->m.request_errors[wire_status_code(d.code)]++;
        return reply_pack(&rep, req->request_id, &d, reply, len);
    }
    h->stats->m.requests[e - op_table]++;
    if (authorize(e, who, &d) != 0) {
        h->stats->m.refusals[METRICS_REFUSED_FORBIDDEN]++;
        h->stats->m.request_errors[wire_status_code(d.code)]++;
        char w[80];
        if (forbidden_log_ok(h))
            log_info("FORBIDDEN: %s may not call %s (role %s)", clean(who->name, w, sizeof w),
                     e->name, who->client ? auth_role_name(who->client->role) : "none");
        return reply_pack(&rep, req->request_id, &d, reply, len);
    }
    if (!e->writes) {
        rc = e->fn(h, txn, req, who, &rep, &d);
    } else {
        /* Submit runs a child per item itself; everything else is one child per request. */
        store_txn_t *child = NULL;
        journal_mark_t mark;
        journal_mark(h->journal, &mark);
        size_t notes_mark = h->notes.len;
        if (e->op != MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE &&
            (rc = store_txn_begin_child(txn, &child)) != 0)
            return rc;
        h->catalog_dirty = false;
        rc = e->fn(h, child ? child : txn, req, who, &rep, &d);
        if (child) {
            int sticky = store_txn_error(child);
            if (rc == 0 && sticky == 0) {
                if ((rc = store_txn_commit(&child)) != 0)
                    return rc;
            } else {
                store_txn_abort(&child);
                journal_rollback(h->journal, &mark);
                buf_truncate(&h->notes, notes_mark); /* those acts did not happen */
                if (h->catalog_dirty) {
                    err_detail_t ld;
                    int lrc = catalog_load(h->cat, txn, &ld);
                    if (lrc != 0)
                        return lrc;
                }
                if (sticky != 0)
                    return sticky;
            }
        } else if (store_txn_error(txn) != 0) {
            return store_txn_error(txn);
        }
    }
    if (store_txn_error(txn) != 0)
        return store_txn_error(txn);
    if (rc != 0 && d.code == 0)
        err_set(&d, rc, e->name, "%s failed: %s", e->name, err_str(rc));
    if (d.code != 0)
        h->stats->m.request_errors[wire_status_code(d.code)]++;
    return reply_pack(&rep, req->request_id, &d, reply, len) == 0 ? 0 : ERR_NOMEM;
}

/* ---- cluster mode (cluster.h): intake and application ------------------------------------- */

handler_route_t handler_request_route(const wire_request_t *req, const char **learner_id)
{
    *learner_id = NULL;
    switch (req->op_case) {
    case MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE:
        return HANDLER_ROUTE_EVIDENCE;
    case MASTERY__V1__REQUEST__OP_PUT_FRAMEWORK:
    case MASTERY__V1__REQUEST__OP_IMPORT_CASE:
    case MASTERY__V1__REQUEST__OP_IMPORT_ROSTER:
        return HANDLER_ROUTE_ALL;
    case MASTERY__V1__REQUEST__OP_OVERRIDE:
        *learner_id = req->override->learner_id;
        return HANDLER_ROUTE_LEARNER_WRITE;
    case MASTERY__V1__REQUEST__OP_RETRACT_EVIDENCE:
        *learner_id = req->retract_evidence->learner_id;
        return HANDLER_ROUTE_LEARNER_WRITE;
    case MASTERY__V1__REQUEST__OP_REGISTER_LEARNER_DID:
        *learner_id = req->register_learner_did->learner_id;
        return HANDLER_ROUTE_LEARNER_WRITE;
    case MASTERY__V1__REQUEST__OP_ERASE_LEARNER:
        *learner_id = req->erase_learner->learner_id;
        return HANDLER_ROUTE_LEARNER_WRITE;
    case MASTERY__V1__REQUEST__OP_SET_LEGAL_HOLD:
        *learner_id = req->set_legal_hold->learner_id;
        return HANDLER_ROUTE_LEARNER_WRITE;
    case MASTERY__V1__REQUEST__OP_REENROL_LEARNER:
        *learner_id = req->reenrol_learner->learner_id;
        return HANDLER_ROUTE_LEARNER_WRITE;
    case MASTERY__V1__REQUEST__OP_GET_LEARNER:
        *learner_id = req->get_learner->learner_id;
        return HANDLER_ROUTE_LEARNER_READ;
    case MASTERY__V1__REQUEST__OP_LIST_EVIDENCE:
        *learner_id = req->list_evidence->learner_id;
        return HANDLER_ROUTE_LEARNER_READ;
    case MASTERY__V1__REQUEST__OP_LIST_CREDENTIALS:
        *learner_id = req->list_credentials->learner_id;
        return *learner_id[0] ? HANDLER_ROUTE_LEARNER_READ : HANDLER_ROUTE_LOCAL;
    case MASTERY__V1__REQUEST__OP_ISSUE_TRANSCRIPT:
        *learner_id = req->issue_transcript->learner_id;
        return HANDLER_ROUTE_LEARNER_READ;
    case MASTERY__V1__REQUEST__OP_NEXT:
        *learner_id = req->next->learner_id;
        return HANDLER_ROUTE_LEARNER_READ;
    case MASTERY__V1__REQUEST__OP_EXPLAIN:
        *learner_id = req->explain->learner_id;
        return HANDLER_ROUTE_LEARNER_READ;
    default:
        return HANDLER_ROUTE_LOCAL;
    }
}

void handler_intake_free(handler_intake_t *in)
{
    for (size_t i = 0; i < in->n_pubs; i++)
        free(in->pubs[i].data);
    free(in->pubs);
    free(in->details);
    memset(in, 0, sizeof *in);
}

/* The stream's de-duplication key of an item: its (source, evidence id), hashed so the header
 * carries 64 hex digits whatever bytes the ids hold. */
static void intake_msg_id(const char *source, const char *evidence_id, char out[65])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned len = 0;
    size_t n;
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, source, strlen(source) + 1) != 1 ||
        EVP_DigestUpdate(ctx, evidence_id, strlen(evidence_id)) != 1 ||
        EVP_DigestFinal_ex(ctx, md, &len) != 1)
        memset(md, 0, sizeof md);
    EVP_MD_CTX_free(ctx);
    codec_hex_encode(md, sizeof md, out, 65, &n);
}

/* The client a ClusterItem names, rebuilt at the node that applies its request: borrowed from
 * ci (and *tmp) for as long as they live. */
static void cluster_who(const Mastery__V1__ClusterItem *ci, auth_client_t *tmp,
                        handler_client_t *who)
{
    memset(tmp, 0, sizeof *tmp);
    snprintf(tmp->name, sizeof tmp->name, "%s", ci->actor);
    tmp->role = (auth_role_t)ci->role;
    tmp->all_frameworks = ci->all_frameworks;
    tmp->frameworks = (const char **)ci->frameworks;
    tmp->n_frameworks = ci->n_frameworks;
    tmp->groups = (const char **)ci->groups;
    tmp->n_groups = ci->n_groups;
    who->name = ci->actor;
    who->authenticated = ci->authenticated;
    who->client = ci->authenticated ? tmp : NULL;
}

/* A ClusterItem carrying req as who's, taken in at node at time now. */
static void cluster_item_of(Mastery__V1__ClusterItem *ci, const wire_request_t *req,
                            const handler_client_t *who, uint32_t node, int64_t now)
{
    mastery__v1__cluster_item__init(ci);
    ci->request = (Mastery__V1__Request *)req;
    ci->actor = (char *)(who->authenticated ? who->name : "");
    ci->authenticated = who->authenticated;
    ci->intake_node = node;
    ci->received_at_ms = now;
    if (who->client != NULL) {
        ci->role = (uint32_t)who->client->role;
        ci->all_frameworks = who->client->all_frameworks;
        ci->frameworks = (char **)who->client->frameworks;
        ci->n_frameworks = who->client->n_frameworks;
        ci->groups = (char **)who->client->groups;
        ci->n_groups = who->client->n_groups;
    }
}

int handler_forward_pack(const wire_request_t *req, const handler_client_t *who, uint32_t node,
                         int64_t now, uint8_t **data, size_t *len)
{
    Mastery__V1__ClusterItem ci;
    cluster_item_of(&ci, req, who, node, now);
    *len = mastery__v1__cluster_item__get_packed_size(&ci);
    *data = malloc(*len ? *len : 1);
    if (*data == NULL)
        return ERR_NOMEM;
    mastery__v1__cluster_item__pack(&ci, *data);
    return 0;
}

static int intake_pack(handler_intake_pub_t *pub, const Mastery__V1__ClusterItem *ci)
{
    pub->len = mastery__v1__cluster_item__get_packed_size(ci);
    pub->data = malloc(pub->len ? pub->len : 1);
    if (pub->data == NULL)
        return ERR_NOMEM;
    mastery__v1__cluster_item__pack(ci, pub->data);
    return 0;
}

int handler_intake(handler_t *h, const wire_request_t *req, const handler_client_t *who,
                   uint32_t partitions, uint32_t node, int64_t now, handler_intake_t *in,
                   uint8_t **reply, size_t *len)
{
    reply_t rep = MASTERY__V1__REPLY__INIT;
    err_detail_t d;
    err_clear(&d);
    memset(in, 0, sizeof *in);
    *reply = NULL;
    h->now = now;
    h->who = who->authenticated ? who->name : "dev-mode-client";
    const op_entry_t *e = op_find(req->op_case);
    const char *learner_id;
    handler_route_t route = handler_request_route(req, &learner_id);
    if (e == NULL || route == HANDLER_ROUTE_LOCAL || route == HANDLER_ROUTE_LEARNER_READ)
        return ERR_INTERNAL;
    h->stats->requests++;
    h->stats->m.requests[e - op_table]++;
    if (authorize(e, who, &d) != 0) {
        h->stats->m.refusals[METRICS_REFUSED_FORBIDDEN]++;
        h->stats->m.request_errors[wire_status_code(d.code)]++;
        return reply_pack(&rep, req->request_id, &d, reply, len);
    }
    Mastery__V1__ClusterItem ci;
    cluster_item_of(&ci, req, who, node, now);
    if (route != HANDLER_ROUTE_EVIDENCE) {
        /* Applied from the stream as the client's request, by every node (frameworks, rosters)
         * or by the learner's: the client hears that application's answer, which the server
         * waits for (the node that took it in applies frameworks too). */
        if (route == HANDLER_ROUTE_LEARNER_WRITE && learner_id[0] == '\0') {
            err_set(&d, ERR_INVALID,
                    req->op_case == MASTERY__V1__REQUEST__OP_RETRACT_EVIDENCE
                        ? "retract_evidence.learner_id"
                        : "learner_id",
                    "a cluster finds the node that holds a learner by the learner id: it is "
                    "needed");
            h->stats->m.request_errors[wire_status_code(d.code)]++;
            return reply_pack(&rep, req->request_id, &d, reply, len);
        }
        in->waits = true;
        in->pubs = calloc(1, sizeof *in->pubs);
        if (in->pubs == NULL)
            return ERR_NOMEM;
        in->pubs[0].partition = route == HANDLER_ROUTE_ALL
                                    ? HANDLER_PARTITION_ALL
                                    : cluster_partition(learner_id, partitions);
        uint8_t rnd[16];
        size_t n;
        if (entropy_fill(rnd, sizeof rnd) != 0 ||
            codec_hex_encode(rnd, sizeof rnd, in->pubs[0].msg_id, sizeof in->pubs[0].msg_id, &n) !=
                0)
            return ERR_INTERNAL;
        in->n_pubs = 1;
        return intake_pack(&in->pubs[0], &ci);
    }
    ci.request = NULL; /* each item goes alone, with no more of its client than its source */
    ci.frameworks = ci.groups = NULL;
    ci.n_frameworks = ci.n_groups = 0;
    const Mastery__V1__SubmitEvidence *op = req->submit_evidence;
    if (op->n_items == 0 || op->n_items > h->conf->max_batch_items) {
        if (op->n_items == 0)
            err_set(&d, ERR_INVALID, "submit_evidence.items", "at least one item is needed");
        else
            err_set(&d, ERR_INVALID, "submit_evidence.items", "%zu items; at most %llu per request",
                    op->n_items, (unsigned long long)h->conf->max_batch_items);
        h->stats->m.request_errors[wire_status_code(d.code)]++;
        return reply_pack(&rep, req->request_id, &d, reply, len);
    }
    metrics_observe_submit_items(&h->stats->m, op->n_items);
    in->n_items = op->n_items;
    in->details = calloc(op->n_items, sizeof *in->details);
    in->pubs = calloc(op->n_items, sizeof *in->pubs);
    if (in->details == NULL || in->pubs == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < op->n_items; i++) {
        Mastery__V1__Evidence *ev = op->items[i];
        char *claimed = ev->source;
        if (who->authenticated)
            ev->source = (char *)who->name; /* the authenticated name, not the claim */
        int rc = validate_item(h, ev, i, &in->details[i]);
        if (rc == 0)
            rc = check_scope(h, ev, i, who, &in->details[i]);
        if (rc == 0) {
            handler_intake_pub_t *pub = &in->pubs[in->n_pubs];
            pub->item = i;
            pub->partition = cluster_partition(ev->learner_id, partitions);
            intake_msg_id(ev->source, ev->evidence_id, pub->msg_id);
            ci.item = ev;
            ci.client_time = ev->observed_at_set || ev->observed_at_ms != 0;
            if ((rc = intake_pack(pub, &ci)) != 0) {
                ev->source = claimed;
                return rc;
            }
            in->n_pubs++;
        } else if (in->details[i].code == 0) {
            err_set(&in->details[i], rc, "items", "%s", err_str(rc));
        }
        ev->source = claimed; /* the request's allocator frees its own strings only */
    }
    return 0;
}

int handler_intake_reply(handler_t *h, const wire_request_t *req, handler_intake_t *in,
                         uint8_t **reply, size_t *len)
{
    reply_t rep = MASTERY__V1__REPLY__INIT;
    err_detail_t d;
    err_clear(&d);
    arena_reset(h->arena);
    for (size_t k = 0; k < in->n_pubs; k++) {
        err_detail_t *item = &in->details[in->pubs[k].item];
        char field[64];
        snprintf(field, sizeof field, "items[%zu].evidence_id", in->pubs[k].item);
        if (in->pubs[k].status == ERR_DUPLICATE)
            err_set(item, ERR_DUPLICATE, field, "already recorded");
        else if (in->pubs[k].status != 0)
            err_set(item, ERR_UNAVAILABLE, field,
                    "the cluster's stream did not acknowledge it in time (%s): send it again "
                    "(its id keeps it stored once)",
                    err_str(in->pubs[k].status));
    }
    Mastery__V1__EvidenceResults *out = arena_alloc(h->arena, sizeof *out);
    Mastery__V1__ItemStatus *items = arena_alloc(h->arena, in->n_items * sizeof *items);
    Mastery__V1__Status *statuses = arena_alloc(h->arena, in->n_items * sizeof *statuses);
    if (out == NULL || items == NULL || statuses == NULL)
        return ERR_NOMEM;
    mastery__v1__evidence_results__init(out);
    out->items = arena_alloc(h->arena, in->n_items * sizeof *out->items);
    if (out->items == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < in->n_items; i++) {
        const err_detail_t *item = &in->details[i];
        int code = item->code;
        if (code == 0)
            out->accepted++;
        else if (code == ERR_DUPLICATE)
            out->duplicates++;
        else
            out->rejected++;
        metrics_item_t r = code == 0               ? METRICS_ITEM_ACCEPTED
                           : code == ERR_DUPLICATE ? METRICS_ITEM_DUPLICATE
                           : code == ERR_INVALID   ? METRICS_ITEM_INVALID
                           : code == ERR_NOT_FOUND ? METRICS_ITEM_NOT_FOUND
                           : code == ERR_FORBIDDEN ? METRICS_ITEM_FORBIDDEN
                                                   : METRICS_ITEM_OTHER;
        h->stats->m.items[r]++;
        mastery__v1__item_status__init(&items[i]);
        mastery__v1__status__init(&statuses[i]);
        items[i].evidence_id = req->submit_evidence->items[i]->evidence_id;
        statuses[i].code = wire_status_code(code);
        statuses[i].message = (char *)item->message;
        statuses[i].field = (char *)item->field;
        items[i].status = &statuses[i];
        out->items[i] = &items[i];
    }
    out->n_items = in->n_items;
    rep.result_case = MASTERY__V1__REPLY__RESULT_EVIDENCE_RESULTS;
    rep.evidence_results = out;
    return reply_pack(&rep, req->request_id, &d, reply, len) == 0 ? 0 : ERR_NOMEM;
}

/* A ClusterItem from NATS (outside input: fuzz_clusteritem): the strict walk, then unpack;
 * NULL when it is not one. */
static Mastery__V1__ClusterItem *cluster_item_decode(handler_t *h, const uint8_t *data, size_t len)
{
    err_detail_t d;
    if (len > h->conf->max_frame ||
        wire_check(&mastery__v1__cluster_item__descriptor, data, len, &d) != 0)
        return NULL;
    return mastery__v1__cluster_item__unpack(NULL, len, data);
}

int handler_stream_applied(handler_t *h, uint32_t partition, uint64_t *seq)
{
    store_txn_t *txn;
    int rc = store_txn_begin(h->store, false, &txn);
    if (rc != 0)
        return rc;
    rc = records_stream_applied_get(txn, partition, seq);
    store_txn_abort(&txn);
    return rc;
}

int handler_stream_apply(handler_t *h, store_txn_t *txn, uint32_t partition, uint64_t seq,
                         const uint8_t *data, size_t len, bool decide, handler_stream_result_t *res,
                         uint8_t **reply, size_t *reply_len, uint32_t *reply_node)
{
    uint64_t applied;
    *reply = NULL;
    *reply_node = 0;
    *res = HANDLER_STREAM_APPLIED;
    int rc = records_stream_applied_get(txn, partition, &applied);
    if (rc != 0)
        return store_txn_fail(txn, rc);
    if (seq <= applied) { /* applied before its acknowledgement reached the stream */
        *res = HANDLER_STREAM_SKIPPED;
        return 0;
    }
    err_detail_t d;
    err_clear(&d);
    Mastery__V1__ClusterItem *ci = cluster_item_decode(h, data, len);
    const char *learner_id = NULL;
    handler_route_t route =
        ci && ci->request ? handler_request_route(ci->request, &learner_id) : HANDLER_ROUTE_LOCAL;
    bool evidence =
        ci != NULL && ci->item != NULL && ci->request == NULL && partition != HANDLER_PARTITION_ALL;
    bool request = ci != NULL && ci->item == NULL && ci->request != NULL &&
                   ((route == HANDLER_ROUTE_ALL && partition == HANDLER_PARTITION_ALL) ||
                    (route == HANDLER_ROUTE_LEARNER_WRITE && partition != HANDLER_PARTITION_ALL));
    if (!evidence && !request) {
        /* Not ours to interpret: recorded as seen, so it never stops the partition. */
        log_warnx("cluster: stream message %llu of partition %u is not a ClusterItem this node "
                  "can apply; skipped",
                  (unsigned long long)seq, (unsigned)partition);
        *res = HANDLER_STREAM_REFUSED;
        mastery__v1__cluster_item__free_unpacked(ci, NULL);
        rc = records_stream_applied_put(txn, partition, seq);
        return rc == 0 ? 0 : store_txn_fail(txn, rc);
    }
    /* Decided as at intake: the item's "now" is the time the intake node received it, so a
     * rebuild from the stream decides the same states. */
    int64_t batch_now = h->now;
    h->now = ci->received_at_ms;
    engine_set_now(h->engine, h->now);
    if (request) {
        auth_client_t tmp;
        handler_client_t who;
        cluster_who(ci, &tmp, &who);
        *reply_node = ci->intake_node;
        rc = handler_apply(h, txn, ci->request, &who, reply, reply_len);
    } else {
        Mastery__V1__Evidence *ev = ci->item;
        if (!ci->client_time) { /* the intake node's "now", resolved as submit_one would */
            ev->observed_at_ms = 0;
            ev->observed_at_set = false;
        }
        arena_reset(h->arena);
        handler_client_t who = {ev->source, false, NULL};
        h->who = "cluster";
        rc = submit_one(h, txn, ev, 0, &who, &d);
        if (rc == ERR_NOT_FOUND && !decide && store_txn_error(txn) == 0 &&
            strstr(d.field, "competency_id") != NULL) {
            *res = HANDLER_STREAM_LATER; /* its framework has not reached this node yet */
            rc = 0;
        } else if (rc != 0 && store_txn_error(txn) == 0) {
            /* Refused for good (a conflicting resend past the de-duplication window, an
             * erased learner): the intake node had answered OK, so it is counted and logged. */
            *res = rc == ERR_DUPLICATE ? HANDLER_STREAM_SKIPPED : HANDLER_STREAM_REFUSED;
            if (rc != ERR_DUPLICATE)
                log_info("cluster: stream message %llu of partition %u refused: %s (%s)",
                         (unsigned long long)seq, (unsigned)partition, err_str(rc), d.field);
            rc = 0;
        }
    }
    h->now = batch_now;
    engine_set_now(h->engine, h->now);
    mastery__v1__cluster_item__free_unpacked(ci, NULL);
    if (store_txn_error(txn) != 0 || rc != 0) {
        free(*reply);
        *reply = NULL;
    }
    if (store_txn_error(txn) != 0)
        return store_txn_error(txn);
    if (rc != 0)
        return store_txn_fail(txn, rc);
    if (*res == HANDLER_STREAM_LATER)
        return 0;
    rc = records_stream_applied_put(txn, partition, seq);
    return rc == 0 ? 0 : store_txn_fail(txn, rc);
}

int handler_apply_forwarded(handler_t *h, store_txn_t *txn, const uint8_t *data, size_t len,
                            uint8_t **reply, size_t *reply_len)
{
    *reply = NULL;
    Mastery__V1__ClusterItem *ci = cluster_item_decode(h, data, len);
    const char *learner_id;
    if (ci == NULL || ci->request == NULL ||
        handler_request_route(ci->request, &learner_id) != HANDLER_ROUTE_LEARNER_READ) {
        int rc = handler_error_reply(ci && ci->request ? ci->request->request_id : "", ERR_INVALID,
                                     "cluster", "not a forwarded read this node can answer", reply,
                                     reply_len);
        mastery__v1__cluster_item__free_unpacked(ci, NULL);
        return rc;
    }
    auth_client_t tmp;
    handler_client_t who;
    cluster_who(ci, &tmp, &who);
    int rc = handler_apply(h, txn, ci->request, &who, reply, reply_len);
    mastery__v1__cluster_item__free_unpacked(ci, NULL);
    return rc;
}
