#include "journal.h"

#include <stdio.h>
#include <stdlib.h>

#include "records.h"
#include "wire.h"

#define TOPIC_MAX (2 * 256 + 32) /* kind, an id of at most 256 bytes, slashes */

/* An event committed (or about to be) in this batch, waiting to be published. */
typedef struct queued_event {
    char topic[TOPIC_MAX];
    size_t topic_len;
    uint8_t *data;
    size_t len;
} queued_event_t;

struct journal {
    int64_t now;
    uint64_t seq;           /* last seq written (in this batch) */
    uint64_t committed_seq; /* last seq durable */
    queued_event_t *q;
    size_t n, cap;
    int64_t keep_ms;     /* retention by age; 0: none */
    uint64_t keep_count; /* retention by count; 0: none */
};

journal_t *journal_new(void)
{
    return calloc(1, sizeof(journal_t));
}

static void drop_from(journal_t *j, size_t from)
{
    for (size_t i = from; i < j->n; i++)
        free(j->q[i].data);
    j->n = from;
}

void journal_destroy(journal_t **jp)
{
    if (jp == NULL || *jp == NULL)
        return;
    drop_from(*jp, 0);
    free((*jp)->q);
    free(*jp);
    *jp = NULL;
}

void journal_set_retention(journal_t *j, int64_t keep_ms, uint64_t keep_count)
{
    j->keep_ms = keep_ms;
    j->keep_count = keep_count;
}

int journal_prune(journal_t *j, store_txn_t *txn, size_t max, size_t *deleted)
{
    *deleted = 0;
    if (j->keep_ms <= 0 && j->keep_count == 0)
        return 0;
    uint64_t last = 0;
    int rc = records_event_last(txn, &last);
    while (rc == 0 && *deleted < max) {
        uint64_t first;
        const void *data;
        size_t len;
        if ((rc = records_event_first(txn, &first, &data, &len)) != 0)
            break;
        if (first >= last)
            break; /* the newest stays: numbering continues from it */
        bool out = j->keep_count && last - first + 1 > j->keep_count;
        if (!out && j->keep_ms > 0) {
            Mastery__V1__Event *e = mastery__v1__event__unpack(NULL, len, data);
            if (e == NULL)
                return ERR_INTERNAL;
            out = e->at_ms < j->now - j->keep_ms;
            mastery__v1__event__free_unpacked(e, NULL);
        }
        if (!out)
            break;
        if ((rc = records_event_delete(txn, first)) == 0)
            (*deleted)++;
    }
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

int journal_open(journal_t *j, store_txn_t *txn)
{
    uint64_t seq = 0;
    int rc = records_event_last(txn, &seq);
    if (rc != 0 && rc != ERR_NOT_FOUND)
        return rc;
    j->seq = j->committed_seq = rc == 0 ? seq : 0;
    return 0;
}

void journal_batch_begin(journal_t *j, int64_t now_ms)
{
    drop_from(j, 0);
    j->now = now_ms;
    j->seq = j->committed_seq;
}

void journal_batch_end(journal_t *j, bool committed)
{
    if (committed) {
        j->committed_seq = j->seq;
        return;
    }
    drop_from(j, 0);
    j->seq = j->committed_seq;
}

journal_mark_t journal_mark(const journal_t *j)
{
    return (journal_mark_t){j->n, j->seq};
}

void journal_rollback(journal_t *j, journal_mark_t m)
{
    drop_from(j, m.queued);
    j->seq = m.seq;
}

uint64_t journal_last_seq(const journal_t *j)
{
    return j->seq;
}

size_t journal_queued(const journal_t *j)
{
    return j->n;
}

void journal_queued_get(const journal_t *j, size_t i, const char **topic, size_t *topic_len,
                        const uint8_t **data, size_t *len)
{
    *topic = j->q[i].topic;
    *topic_len = j->q[i].topic_len;
    *data = j->q[i].data;
    *len = j->q[i].len;
}

static const char *kind_name(journal_kind_t k)
{
    switch (k) {
    case JOURNAL_UNLOCKED:
        return "unlocked";
    case JOURNAL_MASTERED:
        return "mastered";
    case JOURNAL_OVERRIDE:
        return "override";
    case JOURNAL_EVIDENCE_RETRACTED:
        return "evidence_retracted";
    case JOURNAL_CREDENTIAL_ISSUED:
        return "credential_issued";
    case JOURNAL_CREDENTIAL_STATUS:
        return "credential_status";
    case JOURNAL_REVIEW_DUE:
        return "review_due";
    case JOURNAL_REVIEW_FAILED:
        return "review_failed";
    case JOURNAL_FRAMEWORK_LOADED:
        break;
    }
    return "framework_loaded";
}

/* protobuf-c's setters take char *; the event only reads them while packing. */
#define S(x) ((char *)(x))

int journal_append(journal_t *j, store_txn_t *txn, const journal_event_t *ev)
{
    Mastery__V1__Event e = MASTERY__V1__EVENT__INIT;
    Mastery__V1__Unlocked u = MASTERY__V1__UNLOCKED__INIT;
    Mastery__V1__Mastered m = MASTERY__V1__MASTERED__INIT;
    Mastery__V1__OverrideApplied o = MASTERY__V1__OVERRIDE_APPLIED__INIT;
    Mastery__V1__FrameworkLoaded f = MASTERY__V1__FRAMEWORK_LOADED__INIT;
    Mastery__V1__EvidenceRetracted r = MASTERY__V1__EVIDENCE_RETRACTED__INIT;
    Mastery__V1__CredentialIssued ci = MASTERY__V1__CREDENTIAL_ISSUED__INIT;
    Mastery__V1__CredentialStatusChanged cs = MASTERY__V1__CREDENTIAL_STATUS_CHANGED__INIT;
    Mastery__V1__ReviewDue rd = MASTERY__V1__REVIEW_DUE__INIT;
    Mastery__V1__ReviewFailed rf = MASTERY__V1__REVIEW_FAILED__INIT;
    e.seq = j->seq + 1;
    e.at_ms = j->now;
    const char *subject = ev->learner_id;
    switch (ev->kind) {
    case JOURNAL_UNLOCKED:
        u.learner_id = S(ev->learner_id);
        u.framework_id = S(ev->framework_id);
        u.competency_id = S(ev->competency_id);
        u.evidence_id = S(ev->evidence_id);
        u.evidence_source = S(ev->evidence_source);
        e.kind_case = MASTERY__V1__EVENT__KIND_UNLOCKED;
        e.unlocked = &u;
        break;
    case JOURNAL_MASTERED:
        m.learner_id = S(ev->learner_id);
        m.framework_id = S(ev->framework_id);
        m.competency_id = S(ev->competency_id);
        m.evidence_id = S(ev->evidence_id);
        m.evidence_source = S(ev->evidence_source);
        m.score = ev->score;
        e.kind_case = MASTERY__V1__EVENT__KIND_MASTERED;
        e.mastered = &m;
        break;
    case JOURNAL_OVERRIDE:
        o.learner_id = S(ev->learner_id);
        o.framework_id = S(ev->framework_id);
        o.competency_id = S(ev->competency_id);
        o.mastered = ev->flag;
        o.reason = S(ev->reason);
        o.actor = S(ev->actor);
        e.kind_case = MASTERY__V1__EVENT__KIND_OVERRIDE;
        e.override = &o;
        break;
    case JOURNAL_FRAMEWORK_LOADED:
        f.framework_id = S(ev->framework_id);
        f.revision = ev->revision;
        f.version = S(ev->version);
        f.competency_count = ev->competency_count;
        e.kind_case = MASTERY__V1__EVENT__KIND_FRAMEWORK_LOADED;
        e.framework_loaded = &f;
        subject = ev->framework_id;
        break;
    case JOURNAL_EVIDENCE_RETRACTED:
        r.learner_id = S(ev->learner_id);
        r.competency_id = S(ev->competency_id);
        r.evidence_id = S(ev->evidence_id);
        r.source = S(ev->evidence_source);
        r.reason = S(ev->reason);
        e.kind_case = MASTERY__V1__EVENT__KIND_EVIDENCE_RETRACTED;
        e.evidence_retracted = &r;
        break;
    case JOURNAL_CREDENTIAL_ISSUED:
        ci.credential_id = S(ev->credential_id);
        ci.learner_id = S(ev->learner_id);
        ci.framework_id = S(ev->framework_id);
        ci.competency_id = S(ev->competency_id);
        ci.achievement_name = S(ev->achievement_name);
        e.kind_case = MASTERY__V1__EVENT__KIND_CREDENTIAL_ISSUED;
        e.credential_issued = &ci;
        break;
    case JOURNAL_CREDENTIAL_STATUS:
        cs.credential_id = S(ev->credential_id);
        cs.learner_id = S(ev->learner_id);
        cs.purpose = S(ev->purpose);
        cs.set = ev->flag;
        cs.reason = S(ev->reason);
        e.kind_case = MASTERY__V1__EVENT__KIND_CREDENTIAL_STATUS;
        e.credential_status = &cs;
        break;
    case JOURNAL_REVIEW_DUE:
        rd.learner_id = S(ev->learner_id);
        rd.framework_id = S(ev->framework_id);
        rd.competency_id = S(ev->competency_id);
        rd.due_at_ms = ev->due_at;
        e.kind_case = MASTERY__V1__EVENT__KIND_REVIEW_DUE;
        e.review_due = &rd;
        break;
    case JOURNAL_REVIEW_FAILED:
        rf.learner_id = S(ev->learner_id);
        rf.framework_id = S(ev->framework_id);
        rf.competency_id = S(ev->competency_id);
        rf.failures = ev->failures;
        rf.evidence_id = S(ev->evidence_id);
        rf.evidence_source = S(ev->evidence_source);
        e.kind_case = MASTERY__V1__EVENT__KIND_REVIEW_FAILED;
        e.review_failed = &rf;
        break;
    }
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 64;
        queued_event_t *grown = realloc(j->q, cap * sizeof *grown);
        if (grown == NULL)
            return ERR_NOMEM;
        j->q = grown;
        j->cap = cap;
    }
    queued_event_t *q = &j->q[j->n];
    int rc = wire_pack(&e.base, &q->data, &q->len);
    if (rc != 0)
        return rc;
    int n = snprintf(q->topic, sizeof q->topic, "%s/%s/", kind_name(ev->kind), subject);
    q->topic_len = n < 0 ? 0 : (size_t)n >= sizeof q->topic ? sizeof q->topic - 1 : (size_t)n;
    size_t pruned;
    if ((rc = records_event_append(txn, e.seq, q->data, q->len)) != 0 ||
        (rc = journal_prune(j, txn, 2, &pruned)) != 0) {
        free(q->data);
        return store_txn_fail(txn, rc); /* the event may be stored: the batch must not commit */
    }
    j->n++;
    j->seq = e.seq;
    return 0;
}
