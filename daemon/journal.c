#include "journal.h"

#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#include <openssl/crypto.h>

#include "entropy.h"
#include "logentry.h"
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
    uint64_t batch_from;    /* committed_seq when the batch began */
    queued_event_t *q;
    size_t n, cap;
    int64_t keep_ms;     /* retention by age; 0: none */
    uint64_t keep_count; /* retention by count; 0: none */
    translog_t *log;     /* borrowed; NULL: no transparency log */
    bool leaf_set;       /* the last append's leaf index, for journal_last_leaf */
    uint64_t leaf;
    /* The last learner's commitment key: a batch names the same learner many times. Only
     * valid within one transaction (a rolled-back one may have created it). */
    bool key_cached;
    records_learner_t learner;    /* unlocked when key_cached: seals the event, keys commit */
    logentry_committer_t *commit; /* keyed with the learner's commitment key when key_cached */
    uint8_t learner_commitment[32];
    /* An operation's events share its trigger: the last evidence id's commitment. */
    char evidence_id[257];
    uint8_t evidence_commitment[32];
    buf_t entry; /* scratch */
};

journal_t *journal_new(void)
{
    journal_t *j = calloc(1, sizeof(journal_t));
    if (j != NULL && logentry_committer_new(&j->commit) != 0) {
        free(j);
        return NULL;
    }
    if (j != NULL)
        buf_init(&j->entry, 4 * 65536);
    return j;
}

void journal_set_log(journal_t *j, translog_t *log)
{
    j->log = log;
}

bool journal_last_leaf(const journal_t *j, uint64_t *index)
{
    if (j->leaf_set)
        *index = j->leaf;
    return j->leaf_set;
}

static void forget_key(journal_t *j)
{
    if (j->key_cached)
        records_learner_forget(&j->learner);
    j->key_cached = false;
    j->evidence_id[0] = '\0';
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
    forget_key(*jp);
    logentry_committer_free(&(*jp)->commit);
    buf_free(&(*jp)->entry);
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
        records_event_t ev;
        if ((rc = records_event_first(txn, &ev)) != 0)
            break;
        uint64_t first = ev.seq;
        if (first >= last)
            break; /* the newest stays: numbering continues from it */
        bool out = j->keep_count && last - first + 1 > j->keep_count;
        if (!out && j->keep_ms > 0)
            out = ev.at < j->now - j->keep_ms;
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
    forget_key(j);
    j->leaf_set = false;
    j->batch_from = j->committed_seq;
    if (j->log)
        translog_batch_begin(j->log);
    j->now = now_ms;
    j->seq = j->committed_seq;
}

static int queue_checkpoint(journal_t *j);

void journal_batch_end(journal_t *j, bool committed)
{
    forget_key(j);
    if (j->log)
        translog_batch_end(j->log, committed);
    if (committed) {
        j->committed_seq = j->seq;
        if (j->log && translog_checkpoint_is_new(j->log))
            (void)queue_checkpoint(j); /* out of memory: subscribers miss one checkpoint */
        return;
    }
    drop_from(j, 0);
    j->seq = j->committed_seq;
}

void journal_mark(const journal_t *j, journal_mark_t *m)
{
    m->queued = j->n;
    m->seq = j->seq;
    if (j->log)
        translog_mark(j->log, &m->log);
}

void journal_rollback(journal_t *j, const journal_mark_t *m)
{
    drop_from(j, m->queued);
    j->seq = m->seq;
    j->leaf_set = false;
    forget_key(j); /* the key may have been created in the aborted transaction */
    if (j->log)
        translog_rollback(j->log, &m->log);
}

int journal_seal(journal_t *j, store_txn_t *txn, keys_t *key)
{
    return j->log ? translog_seal(j->log, txn, key) : 0;
}

uint64_t journal_batch_events(const journal_t *j)
{
    return j->committed_seq - j->batch_from;
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
    case JOURNAL_EVIDENCE_ACCEPTED:
        return "evidence_accepted";
    case JOURNAL_KEYS_ROTATED:
        return "keys_rotated";
    case JOURNAL_AT_RISK:
        return "at_risk";
    case JOURNAL_REVIEW_DUE:
        return "review_due";
    case JOURNAL_REVIEW_FAILED:
        return "review_failed";
    case JOURNAL_LEARNER_ERASED:
        return "learner_erased";
    case JOURNAL_LEGAL_HOLD:
        return "legal_hold";
    case JOURNAL_LEARNER_REENROLLED:
        return "learner_reenrolled";
    case JOURNAL_FRAMEWORK_LOADED:
        break;
    }
    return "framework_loaded";
}

/* protobuf-c's setters take char *; the event only reads them while packing. */
#define S(x) ((char *)(x))

/* ---- the log entry of an event ------------------------------------------------------------ */

/* The learner's secret (made on their first event): its data key seals the stored event, its
 * commitment key names them in log entries. ERR_GONE for an erased learner. */
static int learner_key(journal_t *j, store_txn_t *txn, const char *learner_id)
{
    uint8_t h[STORE_HASH_LEN];
    store_hash_id(learner_id, h);
    if (j->key_cached && memcmp(h, j->learner.hash, sizeof h) == 0) {
        j->learner.id = learner_id;
        return 0;
    }
    forget_key(j);
    records_learner_init(&j->learner, learner_id);
    int rc = records_learner_unlock(txn, &j->learner, true);
    if (rc == 0)
        rc = logentry_committer_key(j->commit, RECORDS_COMMIT_KEY(&j->learner));
    if (rc == 0)
        rc = logentry_committer_commit(j->commit, LOGENTRY_LEARNER, learner_id, strlen(learner_id),
                                       j->learner_commitment);
    if (rc != 0) {
        records_learner_forget(&j->learner);
        return rc;
    }
    j->key_cached = true;
    return 0;
}

void journal_forget_learner(journal_t *j)
{
    forget_key(j);
}

static const logentry_kind_t entry_kind[] = {
    [JOURNAL_UNLOCKED] = LOGENTRY_UNLOCKED,
    [JOURNAL_MASTERED] = LOGENTRY_MASTERED,
    [JOURNAL_OVERRIDE] = LOGENTRY_OVERRIDE,
    [JOURNAL_FRAMEWORK_LOADED] = LOGENTRY_FRAMEWORK_LOADED,
    [JOURNAL_EVIDENCE_RETRACTED] = LOGENTRY_EVIDENCE_RETRACTED,
    [JOURNAL_CREDENTIAL_ISSUED] = LOGENTRY_CREDENTIAL_ISSUED,
    [JOURNAL_CREDENTIAL_STATUS] = LOGENTRY_CREDENTIAL_STATUS,
    [JOURNAL_EVIDENCE_ACCEPTED] = LOGENTRY_EVIDENCE_ACCEPTED,
    [JOURNAL_KEYS_ROTATED] = LOGENTRY_KEYS_ROTATED,
    [JOURNAL_AT_RISK] = LOGENTRY_AT_RISK,
    [JOURNAL_REVIEW_DUE] = LOGENTRY_REVIEW_DUE,
    [JOURNAL_REVIEW_FAILED] = LOGENTRY_REVIEW_FAILED,
    [JOURNAL_LEARNER_ERASED] = LOGENTRY_LEARNER_ERASED,
    [JOURNAL_LEGAL_HOLD] = LOGENTRY_LEGAL_HOLD,
    [JOURNAL_LEARNER_REENROLLED] = LOGENTRY_LEARNER_REENROLLED,
};

static bool has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* Public strings go in as they are; the learner, evidence ids and free text only as
 * commitments under the learner's key (doc/log-format.md). */
static int log_event(journal_t *j, store_txn_t *txn, uint64_t seq, const journal_event_t *ev)
{
    logentry_t le;
    memset(&le, 0, sizeof le);
    le.kind = entry_kind[ev->kind];
    le.seq = seq;
    le.at_ms = j->now;
    int rc;
#define STR(tag, f, v)                                                                             \
    do {                                                                                           \
        if (has(v)) {                                                                              \
            le.present |= 1u << (tag);                                                             \
            le.f = (v);                                                                            \
            le.f##_len = strlen(v);                                                                \
        }                                                                                          \
    } while (0)
#define COMMIT(tag, f, v)                                                                          \
    do {                                                                                           \
        if (has(v)) {                                                                              \
            le.present |= 1u << (tag);                                                             \
            if ((rc = logentry_committer_commit(j->commit, (tag), (v), strlen(v), le.f)) != 0)     \
                return rc;                                                                         \
        }                                                                                          \
    } while (0)
    if (has(ev->learner_id)) {
        if ((rc = learner_key(j, txn, ev->learner_id)) != 0)
            return rc;
        le.present |= 1u << LOGENTRY_LEARNER;
        memcpy(le.learner, j->learner_commitment, sizeof le.learner);
        if (has(ev->evidence_id) && strcmp(ev->evidence_id, j->evidence_id) == 0) {
            le.present |= 1u << LOGENTRY_EVIDENCE;
            memcpy(le.evidence, j->evidence_commitment, sizeof le.evidence);
        } else {
            COMMIT(LOGENTRY_EVIDENCE, evidence, ev->evidence_id);
            if (has(ev->evidence_id) && strlen(ev->evidence_id) < sizeof j->evidence_id) {
                strcpy(j->evidence_id, ev->evidence_id);
                memcpy(j->evidence_commitment, le.evidence, sizeof le.evidence);
            }
        }
        COMMIT(LOGENTRY_NARRATIVE, narrative, ev->narrative);
        COMMIT(LOGENTRY_URL, url, ev->url);
        COMMIT(LOGENTRY_REASON, reason, ev->reason);
    }
    if (ev->kind != JOURNAL_KEYS_ROTATED) /* its subject is the issuer */
        STR(LOGENTRY_FRAMEWORK, framework, ev->framework_id);
    STR(LOGENTRY_COMPETENCY, competency, ev->competency_id);
    if (has(ev->evidence_id))
        STR(LOGENTRY_SOURCE, source, ev->evidence_source);
    STR(LOGENTRY_ACTOR, actor, ev->actor);
    STR(LOGENTRY_VERSION_TAG, version, ev->version);
    STR(LOGENTRY_CREDENTIAL, credential, ev->credential_id);
    STR(LOGENTRY_PURPOSE, purpose, ev->purpose);
    STR(LOGENTRY_KEY, key, ev->key_id);
#undef STR
#undef COMMIT
    switch (ev->kind) {
    case JOURNAL_EVIDENCE_ACCEPTED:
        le.present |= 1u << LOGENTRY_SCORE | 1u << LOGENTRY_WEIGHT | 1u << LOGENTRY_OUTCOME |
                      1u << LOGENTRY_OBSERVED_AT;
        le.score = ev->score;
        le.weight = ev->weight;
        le.outcome = ev->outcome;
        le.observed_at = ev->observed_at_ms;
        break;
    case JOURNAL_MASTERED:
        le.present |= 1u << LOGENTRY_SCORE;
        le.score = ev->score;
        break;
    case JOURNAL_OVERRIDE:
    case JOURNAL_CREDENTIAL_STATUS:
    case JOURNAL_LEGAL_HOLD:
        le.present |= 1u << LOGENTRY_FLAG;
        le.flag = ev->flag;
        break;
    case JOURNAL_LEARNER_ERASED: /* credentials revoked; the receipt's commitment: digest */
        le.present |= 1u << LOGENTRY_COUNT;
        le.count = ev->count;
        break;
    case JOURNAL_REVIEW_DUE: /* since when the review is due */
        le.present |= 1u << LOGENTRY_OBSERVED_AT;
        le.observed_at = ev->due_at;
        break;
    case JOURNAL_REVIEW_FAILED: /* how many failed reviews */
        le.present |= 1u << LOGENTRY_COUNT;
        le.count = ev->failures;
        break;
    case JOURNAL_AT_RISK: /* reason is the rule's name; count and at as the event has them */
        le.present |= 1u << LOGENTRY_COUNT | 1u << LOGENTRY_OBSERVED_AT;
        le.count = ev->count;
        le.observed_at = ev->at;
        break;
    case JOURNAL_FRAMEWORK_LOADED:
        le.present |= 1u << LOGENTRY_REVISION | 1u << LOGENTRY_COUNT;
        le.revision = ev->revision;
        le.count = ev->competency_count;
        break;
    default:
        break;
    }
    if (ev->digest != NULL) {
        le.present |= 1u << LOGENTRY_DIGEST;
        memcpy(le.digest, ev->digest, sizeof le.digest);
    }
    buf_reset(&j->entry);
    if ((rc = logentry_encode(&j->entry, &le)) != 0)
        return rc;
    if ((rc = translog_append(j->log, txn, j->entry.data, j->entry.len, &j->leaf)) != 0)
        return rc;
    j->leaf_set = true;
    return 0;
}

/* A slot at the end of the publication queue (filled by the caller, then j->n++). */
static queued_event_t *queue_slot(journal_t *j)
{
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 64;
        queued_event_t *grown = realloc(j->q, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        j->q = grown;
        j->cap = cap;
    }
    return &j->q[j->n];
}

static int queue_checkpoint(journal_t *j)
{
    Mastery__V1__Event e = MASTERY__V1__EVENT__INIT;
    Mastery__V1__LogCheckpoint c = MASTERY__V1__LOG_CHECKPOINT__INIT;
    size_t len;
    uint64_t size;
    const char *note = translog_checkpoint(j->log, &len, &size);
    queued_event_t *q = queue_slot(j);
    if (note == NULL || q == NULL)
        return ERR_NOMEM;
    char *text = malloc(len + 1);
    if (text == NULL)
        return ERR_NOMEM;
    memcpy(text, note, len);
    text[len] = '\0';
    c.note = text;
    c.size = size;
    c.origin = (char *)translog_origin(j->log);
    e.at_ms = j->now;
    e.kind_case = MASTERY__V1__EVENT__KIND_CHECKPOINT;
    e.checkpoint = &c;
    int rc = wire_pack(&e.base, &q->data, &q->len);
    free(text);
    if (rc != 0)
        return rc;
    q->topic_len = (size_t)snprintf(q->topic, sizeof q->topic, "checkpoint/");
    j->n++;
    return 0;
}

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
    Mastery__V1__EvidenceAccepted ea = MASTERY__V1__EVIDENCE_ACCEPTED__INIT;
    Mastery__V1__KeysRotated kr = MASTERY__V1__KEYS_ROTATED__INIT;
    Mastery__V1__AtRisk ar = MASTERY__V1__AT_RISK__INIT;
    Mastery__V1__ReviewDue rd = MASTERY__V1__REVIEW_DUE__INIT;
    Mastery__V1__ReviewFailed rf = MASTERY__V1__REVIEW_FAILED__INIT;
    Mastery__V1__LearnerErased le = MASTERY__V1__LEARNER_ERASED__INIT;
    Mastery__V1__LegalHoldChanged lh = MASTERY__V1__LEGAL_HOLD_CHANGED__INIT;
    Mastery__V1__LearnerReenrolled lr = MASTERY__V1__LEARNER_REENROLLED__INIT;
    e.seq = j->seq + 1;
    j->leaf_set = false;
    int rc;
    /* The log entry first: evidence_accepted carries its leaf index. A failure from here on
     * may follow writes, so it fails the transaction. */
    if (j->log && (rc = log_event(j, txn, e.seq, ev)) != 0)
        return store_txn_fail(txn, rc);
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
    case JOURNAL_EVIDENCE_ACCEPTED:
        ea.learner_id = S(ev->learner_id);
        ea.competency_id = S(ev->competency_id);
        ea.evidence_id = S(ev->evidence_id);
        ea.source = S(ev->evidence_source);
        ea.score = ev->score;
        ea.observed_at_ms = ev->observed_at_ms;
        ea.log_index = j->leaf_set ? j->leaf : 0;
        e.kind_case = MASTERY__V1__EVENT__KIND_EVIDENCE_ACCEPTED;
        e.evidence_accepted = &ea;
        break;
    case JOURNAL_KEYS_ROTATED:
        kr.key_id = S(ev->key_id);
        e.kind_case = MASTERY__V1__EVENT__KIND_KEYS_ROTATED;
        e.keys_rotated = &kr;
        subject = "issuer";
        break;
    case JOURNAL_AT_RISK:
        ar.learner_id = S(ev->learner_id);
        ar.framework_id = S(ev->framework_id);
        ar.reason = S(ev->reason);
        ar.competency_id = S(ev->competency_id ? ev->competency_id : "");
        ar.evidence_count = ev->count;
        ar.last_activity_ms = ev->at;
        e.kind_case = MASTERY__V1__EVENT__KIND_AT_RISK;
        e.at_risk = &ar;
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
    case JOURNAL_LEARNER_ERASED:
        le.learner_commitment = S(ev->commitment);
        le.log_index = j->leaf_set ? j->leaf : 0;
        le.credentials_revoked = ev->count;
        e.kind_case = MASTERY__V1__EVENT__KIND_LEARNER_ERASED;
        e.learner_erased = &le;
        subject = ev->commitment;
        break;
    case JOURNAL_LEGAL_HOLD:
        lh.learner_id = S(ev->learner_id);
        lh.hold = ev->flag;
        e.kind_case = MASTERY__V1__EVENT__KIND_LEGAL_HOLD;
        e.legal_hold = &lh;
        break;
    case JOURNAL_LEARNER_REENROLLED:
        lr.learner_id = S(ev->learner_id);
        e.kind_case = MASTERY__V1__EVENT__KIND_LEARNER_REENROLLED;
        e.learner_reenrolled = &lr;
        break;
    }
    queued_event_t *q = queue_slot(j);
    if (q == NULL)
        return store_txn_fail(txn, ERR_NOMEM);
    if ((rc = wire_pack(&e.base, &q->data, &q->len)) != 0)
        return store_txn_fail(txn, rc);
    int n = snprintf(q->topic, sizeof q->topic, "%s/%s/", kind_name(ev->kind), subject);
    q->topic_len = n < 0 ? 0 : (size_t)n >= sizeof q->topic ? sizeof q->topic - 1 : (size_t)n;
    size_t pruned;
    /* the erasure's own event names no one: stored in clear, it outlives the key */
    bool named = has(ev->learner_id) && ev->kind != JOURNAL_LEARNER_ERASED;
    if ((named && (rc = learner_key(j, txn, ev->learner_id)) != 0) ||
        (rc = records_event_append(txn, e.seq, named ? &j->learner : NULL, e.kind_case, e.at_ms,
                                   q->data, q->len)) != 0 ||
        (rc = journal_prune(j, txn, 2, &pruned)) != 0) {
        free(q->data);
        return store_txn_fail(txn, rc); /* the event may be stored: the batch must not commit */
    }
    j->n++;
    j->seq = e.seq;
    return 0;
}
