/*
 * journal: the event log. Numbers events (seq: gap-free, from 1, across restarts), stores each
 * in the write transaction of the change it reports (records: events database), and queues
 * it for publication, which the server does only after that transaction committed.
 *
 *     journal_batch_begin(j, now)          a new group commit
 *     journal_append(j, txn, &ev) ...      numbered, stored, queued
 *     journal_mark / journal_rollback      a request that failed takes its events back
 *     journal_batch_end(j, committed)      committed: the queue is ready to publish;
 *                                          otherwise numbering restarts from the last durable
 *
 * Kinds review_due and review_failed name the learner like the others.
 * Topics are "<kind>/<subject>/" (subject: the learner, or the framework for
 * framework_loaded, or the issuer for keys_rotated), so a subscriber filters by kind, or by
 * kind and subject.
 *
 * With a transparency log attached (journal_set_log), every event is also a leaf of it: the
 * journal encodes the event's log entry (lib/tlog/logentry.h), naming the learner and any
 * free text only by HMAC-SHA256 commitments under the learner's own key (records: created
 * on the learner's first event), and translog appends it in the same transaction. After
 * the batch's last request, journal_seal signs the checkpoint; once committed, the
 * checkpoint is queued for publication on topic "checkpoint/" (an Event with seq 0).
 */
#ifndef MASTERY_JOURNAL_H
#define MASTERY_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keys.h"
#include "store.h"
#include "translog.h"

typedef enum journal_kind {
    JOURNAL_UNLOCKED,
    JOURNAL_MASTERED,
    JOURNAL_OVERRIDE,
    JOURNAL_FRAMEWORK_LOADED,
    JOURNAL_EVIDENCE_RETRACTED,
    JOURNAL_CREDENTIAL_ISSUED,
    JOURNAL_CREDENTIAL_STATUS,
    JOURNAL_EVIDENCE_ACCEPTED,
    JOURNAL_KEYS_ROTATED,
    JOURNAL_AT_RISK,        /* a learner entered the at-risk state (groups.h) */
    JOURNAL_REVIEW_DUE,     /* issue 15: the review sweep */
    JOURNAL_REVIEW_FAILED,  /* issue 15: failed reviews reached the limit */
    JOURNAL_LEARNER_ERASED, /* issue 16: stored unsealed, naming no one (commitment) */
    JOURNAL_LEGAL_HOLD,     /* flag: placed or lifted */
    JOURNAL_LEARNER_REENROLLED,
} journal_kind_t;

/* An event to append. Strings are borrowed for the call; the fields a kind does not use are
 * ignored (NULL is fine for them). */
typedef struct journal_event {
    journal_kind_t kind;
    const char *learner_id;
    const char *framework_id;
    const char *competency_id;
    const char *evidence_id;      /* unlocked, mastered, retracted: the trigger, or "" */
    const char *evidence_source;  /* and its source (ids are unique per source) */
    double score;                 /* mastered */
    bool flag;                    /* override: granted; credential_status: set */
    const char *reason, *actor;   /* override; retracted and credential_status: reason */
    uint32_t revision;            /* framework_loaded */
    const char *version;          /* framework_loaded */
    uint32_t competency_count;    /* framework_loaded */
    const char *credential_id;    /* credential events */
    const char *achievement_name; /* credential_issued */
    const char *purpose;          /* credential_status: "revocation" / "suspension" */
    /* evidence_accepted: the item as stored (evidence_id, evidence_source, score too) */
    double weight;
    uint8_t outcome; /* the wire's Outcome value */
    int64_t observed_at_ms;
    const char *narrative, *url; /* committed in the log entry, never copied into it */
    const char *key_id;          /* keys_rotated: the new verification method */
    const uint8_t *digest;       /* 32 bytes or NULL: SHA-256 of the framework document or of
                                    the signed credential, committed in the log entry */
    uint32_t count;              /* at_risk: evidence items on the stuck competency */
    int64_t at;                  /* at_risk: the learner's last activity (Unix ms) */
    int64_t due_at;              /* review_due */
    uint32_t failures;           /* review_failed */
    const char *commitment;      /* learner_erased: hex SHA-256(salt || learner id); the
                                    learner id itself is only committed in the log entry */
} journal_event_t;

typedef struct journal journal_t;

/* A new journal (caller owns; journal_destroy()), or NULL. */
journal_t *journal_new(void);
void journal_destroy(journal_t **j);

/*
 * Retention: events older than keep_ms (before the batch's now) or beyond the newest
 * keep_count leave the log (0: no bound). Set before the first batch. The newest stored event
 * always stays, since numbering continues from it across restarts.
 */
void journal_set_retention(journal_t *j, int64_t keep_ms, uint64_t keep_count);

/*
 * Deletes up to max events that fell out of the window, oldest first, in txn; *deleted tells
 * how many. journal_append calls it for 2 events each time, so the log shrinks at least as
 * fast as it grows; call it in a loop (write transactions) to catch up, e.g. at start.
 * Returns 0 or a store error (ERR_INTERNAL: an event that does not unpack).
 */
int journal_prune(journal_t *j, store_txn_t *txn, size_t max, size_t *deleted);

/* Reads the last stored seq, in a read transaction, before the first batch. Returns 0 or a
 * store error (ERR_INTERNAL for a malformed key). */
int journal_open(journal_t *j, store_txn_t *txn);

/* Attaches the transparency log (borrowed; outlives the journal): from now on every event is
 * a leaf of it. NULL detaches (the benchmark's "log off"). */
void journal_set_log(journal_t *j, translog_t *log);

/* Drops the cached learner secret: after an erasure in the same transaction, so nothing is
 * sealed again under the key just destroyed. */
void journal_forget_learner(journal_t *j);

/* The leaf index of the last event appended (when a log is attached): false otherwise. */
bool journal_last_leaf(const journal_t *j, uint64_t *index);

/* Signs the batch's checkpoint with key (see translog_seal) just before the commit. */
int journal_seal(journal_t *j, store_txn_t *txn, keys_t *key);

void journal_batch_begin(journal_t *j, int64_t now_ms);

/* Numbers, packs, stores (appending to the events database) and queues one event. Returns 0,
 * ERR_NOMEM, or a store error; on error nothing was queued. */
int journal_append(journal_t *j, store_txn_t *txn, const journal_event_t *ev);

/* Where the journal is, to take back a failed request's events. */
typedef struct journal_mark {
    size_t queued;
    uint64_t seq;
    translog_mark_t log;
} journal_mark_t;

void journal_mark(const journal_t *j, journal_mark_t *m);
/* Drops the events appended since m (their writes die with the caller's aborted child txn). */
void journal_rollback(journal_t *j, const journal_mark_t *m);

/* Ends the batch: committed says whether the transaction holding the events committed. */
void journal_batch_end(journal_t *j, bool committed);

/* Events the last committed batch stored (the queue also holds its checkpoint, if any). */
uint64_t journal_batch_events(const journal_t *j);

/* The last seq written (in the open batch, or durable between batches). */
uint64_t journal_last_seq(const journal_t *j);

/* The events queued by the last batch, in seq order: topic and packed mastery.v1.Event,
 * borrowed until the next journal_batch_begin(). */
size_t journal_queued(const journal_t *j);
void journal_queued_get(const journal_t *j, size_t i, const char **topic, size_t *topic_len,
                        const uint8_t **data, size_t *len);

#endif
