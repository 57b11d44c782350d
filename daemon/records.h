/*
 * records: every key and record format masteryd stores in LMDB, with its encoding and
 * decoding. The one module that builds keys (store_key_*) and lays out values; everything
 * else asks it by meaning ("the state of learner L on competency C of framework F").
 * tests/tools/layering.py refuses store_key_* anywhere else in the daemon.
 *
 * H(x) is store_hash_id(x): the first 16 bytes of SHA-256(x), fixed width so ids of up to 256
 * bytes fit LMDB's 511-byte key limit and prefix scans work. Integers in keys are big-endian
 * (they sort numerically); observed_at in keys has its sign bit flipped (sorts as signed).
 * Integers inside values are little-endian, as the structs below lay them out (x86-64 and
 * aarch64; a big-endian host would need a migration).
 *
 *   database      key                                              value
 *   frameworks    H(framework) rev(be32)                           loaded_at(i64) document
 *   learners      H(learner) 'E' H(comp) observed_at(be64^)        evidence header (32) + the
 *                 H(source) X(evidence id)                         box of the packed
 *                                                                  mastery.v1.Evidence
 *                 H(learner) 'P'                                   box(the learner id)
 *                 H(learner) 'S' H(framework) H(comp)              records_state_t (48)
 *                 H(learner) 'D'                                   box(the learner's DID)
 *                 H(learner) 'K'                                   the learner's secret (data
 *                                                                  key, commitment key) wrapped
 *                                                                  by the vault (88)
 *                 H(learner) 'O' H(framework) H(comp)              the last override: at(i64)
 *                                                                  granted(u8) box(actor NUL
 *                                                                  reason NUL)
 *                 H(learner) 'R' H(framework) H(comp)              records_review_t (16): the
 *                                                                  current review period
 *                 H(learner) 'H'                                   a legal hold: since(i64)
 *                                                                  box(reason)
 *                 H(learner) 'X'                                   the tombstone of an erased
 *                                                                  learner: erased_at(i64)
 *   evidence_ids  H(source) X(evidence id)                         H(learner) H(comp)
 *                                                                  observed_at(be64^): where
 *                                                                  the record is
 *   events        seq(be64)                                        flags(u8) kind(u8) at(i64),
 *                                                                  then the packed
 *                                                                  mastery.v1.Event, or (flag
 *                                                                  1) H(learner) and its box
 *   credentials   credential id (urn:uuid:...)                     credential header (32) +
 *                                                                  8 strings (see below)
 *   cred_index    H(learner) H(framework) rev(be32) H(comp)        credential id
 *   status        'L' list(be32)                                   status list n: header (16:
 *                                                                  flags, entries, created_at)
 *                                                                  issuer DID NUL base URL NUL
 *                 'B' list(be32) 'U' | 'R' | 'S'                   its bitstrings: indexes in
 *                                                                  use, revoked, suspended
 *                 'U' | 'R' | 'S'                                  the one list of stores made
 *                                                                  before lists rolled over;
 *                                                                  moved to list 1 at start
 *   log           index(be64)                                      a log entry (lib/tlog
 *                                                                  logentry encoding)
 *   log_tree      'B'                                              leaf 0's event seq (be64)
 *                 'C'                                              the latest signed checkpoint
 *                 'O'                                              the log's origin
 *                 'H' level(u8) index(be64)                        a complete subtree's hash
 *   reviews       due_at(be64^) H(learner) H(framework) H(comp)    framework id NUL competency
 *   (format 5)                                                     id NUL box(learner id): a
 *                                                                  due moment not yet published
 *   meta          "identity"                                       records_identity_t: the
 *                                                                  issuer keys the store was
 *                                                                  made with (see below)
 *                 "vault"                                          the fingerprint (16) of the
 *                                                                  store.key it is sealed under
 *   groups        'G' H(group)                                     the group (class) record:
 *                                                                  id NUL title NUL
 *                 'M' H(group) H(learner)                          a learner of the group:
 *                                                                  box(id)
 *                 'T' H(group) H(teacher)                          a teacher of the group: id
 *                                                                  (staff ids stay in clear)
 *   risk          H(learner) H(framework)                          records_risk_t (32): the
 *                                                                  learner's at-risk state
 *
 * box(x) is x sealed under the learner's data key (vault.h: AES-256-GCM, the database and
 * record key as associated data); X(id) is the vault's keyed hash of an outside id, so keys
 * carry no id a copy of data.mdb could read or confirm by guessing. What stays in clear, by
 * design: framework, competency, source (tool) and credential ids, staff ids (class teachers,
 * override actors in log entries), scores and times. In credentials, the learner string holds
 * the hex of H(learner) and the reason string its box.
 *
 * One learner's records share a key prefix, so a batch dirties about one leaf page per learner
 * rather than one per record kind. An absent state record means the default (unlocked when
 * the competency has no prerequisites, else locked); states are written only when they change.
 *
 * Borrowed values (store_val_t, const char * into a record) follow LMDB's rule: valid until
 * the next write in the same transaction or its end. Every function returns 0, ERR_NOT_FOUND
 * where it says so, ERR_INTERNAL for a stored value of the wrong shape (damage, named nowhere
 * else), or the transaction's sticky error.
 */
#ifndef MASTERY_RECORDS_H
#define MASTERY_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"
#include "vault.h"

/* A learner id with its key hash, computed once and used for every key of that learner, and
 * once unlocked (records_learner_unlock) the learner's secret: their data key (sealing their
 * fields) and their log commitment key. Wipe with records_learner_forget. */
typedef struct records_learner {
    const char *id; /* borrowed; NULL when known by hash only */
    uint8_t hash[STORE_HASH_LEN];
    bool unlocked;
    uint8_t secret[VAULT_SECRET_LEN]; /* data key, then commitment key */
} records_learner_t;

#define RECORDS_DATA_KEY(l)   ((l)->secret)
#define RECORDS_COMMIT_KEY(l) ((l)->secret + VAULT_KEY_LEN)

void records_learner_init(records_learner_t *l, const char *id);
/* A learner known by hash only (a key walk): id NULL. */
void records_learner_init_hash(records_learner_t *l, const uint8_t hash[STORE_HASH_LEN]);
/* Wipes the secret. */
void records_learner_forget(records_learner_t *l);

/*
 * Loads the learner's secret (learners: H(learner) 'K', wrapped by the vault). With create,
 * a learner without one gets a fresh secret, stored in txn. Returns 0; ERR_NOT_FOUND (none,
 * and !create); ERR_GONE (erased: a tombstone, and no secret: create refuses too);
 * ERR_UNAVAILABLE (no vault, or its epoch key is gone); ERR_DATA_LOSS (it does not open).
 */
int records_learner_unlock(store_txn_t *txn, records_learner_t *l, bool create);

/* ---- erasure, legal hold (issue 16) --------------------------------------------------------- */

/* The learner's tombstone: when they were erased. 0 and *at, or ERR_NOT_FOUND. */
int records_erased_get(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN], int64_t *at);
/* Removes the tombstone (re-enrolment). */
int records_erased_del(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN]);

/*
 * Erases every record of the learner in txn: the learners database's records under their hash
 * (evidence, profile, states, DID, overrides, reviews, hold, and the secret itself), their
 * evidence id index entries, review index entries, at-risk records, class memberships and
 * credential index entries, and writes the tombstone (at). Credentials (records) stay: the
 * caller revokes or keeps them; their stored copies are emptied by records_credential_shred.
 * Counts into *evidence and *records. The learner must be unlocked (to find the evidence
 * ids' index entries).
 */
int records_learner_erase(store_txn_t *txn, records_learner_t *l, int64_t at, uint64_t *evidence,
                          uint64_t *records);

/* The legal hold: since (Unix ms) and the reason (sealed; borrowed). 0, ERR_NOT_FOUND. */
int records_hold_get(store_txn_t *txn, records_learner_t *l, int64_t *since, const char **reason);
/* Places (reason non-NULL) or lifts (NULL) the hold. */
int records_hold_put(store_txn_t *txn, records_learner_t *l, int64_t since, const char *reason);

/*
 * Re-keying: LMDB never overwrites a freed page in place, so an erased learner's wrapped secret
 * may survive in free pages of data.mdb until they are reused. Wrapping every other learner's
 * secret under a new epoch and destroying the old epoch key (vault_forget_epochs) makes such
 * remnants useless. The state (meta "rekey") lives in the store so a restart resumes it:
 * target 0 means a rotation is to start; otherwise learners before cursor are wrapped under
 * target. again: an erasure happened meanwhile (it may have left a remnant under target), so
 * another rotation follows.
 */
typedef struct records_rekey {
    uint32_t target;
    uint8_t again;
    uint8_t reserved[3];
    uint8_t cursor[STORE_HASH_LEN];
} records_rekey_t;

int records_rekey_get(store_txn_t *txn, records_rekey_t *out);     /* 0, ERR_NOT_FOUND: none */
int records_rekey_put(store_txn_t *txn, const records_rekey_t *r); /* NULL: done, delete */
/* Called by an erasure: asks for a rotation (or another one after the one in progress). */
int records_rekey_request(store_txn_t *txn);
/* Rewraps up to max learners from r->cursor whose secret's epoch is below r->target, under
 * the vault's current epoch (which must be r->target); advances r->cursor (the caller stores
 * it). *finished: every learner is done. */
int records_rewrap(store_txn_t *txn, records_rekey_t *r, size_t max, uint64_t *rewrapped,
                   bool *finished);

/* Shreds an evidence record's payload (retention): the box is replaced by the reduced item
 * (no evidence id, narrative or url); the header (scores) stays. *done: whether it changed. */
int records_evidence_shred(store_txn_t *txn, records_learner_t *l, const uint8_t *pos,
                           size_t pos_len, bool *done);

/* ---- frameworks ---------------------------------------------------------------------------- */

/* Stores revision rev of a framework document (text as loaded; need not be NUL-terminated). */
int records_framework_put(store_txn_t *txn, const char *framework_id, uint32_t rev,
                          int64_t loaded_at, const char *doc, size_t len);

/* One stored revision: ERR_NOT_FOUND when there is none. *doc is borrowed. */
int records_framework_get(store_txn_t *txn, const char *framework_id, uint32_t rev,
                          int64_t *loaded_at, const char **doc, size_t *len);

/* Every stored revision in key order (by framework hash, then revision). */
typedef struct records_framework_iter {
    store_iter_t it;
} records_framework_iter_t;

typedef struct records_framework {
    uint8_t hash[STORE_HASH_LEN]; /* H(framework id) */
    uint32_t revision;
    int64_t loaded_at;
    const char *doc; /* borrowed; not NUL-terminated */
    size_t len;
} records_framework_t;

int records_framework_iter_open(store_txn_t *txn, records_framework_iter_t *it);
/* 0 and the next revision, ERR_NOT_FOUND at the end, ERR_INTERNAL for a malformed record. */
int records_framework_iter_next(records_framework_iter_t *it, records_framework_t *out);
void records_framework_iter_close(records_framework_iter_t *it);

/* ---- evidence ------------------------------------------------------------------------------ */

/* An evidence record: what the rules read (the header, so evaluating a competency never
 * decodes or opens the full item) and the caller's packed mastery.v1.Evidence, sealed under the
 * learner's data key (records_evidence_open gives it back). */
typedef struct records_evidence {
    double score;
    double weight;
    int64_t observed_at;
    uint8_t outcome;    /* sample_outcome_t */
    bool retracted;     /* excluded from every rule; kept for the audit trail */
    bool logged;        /* accepted with the transparency log on (format 4): log_index is set */
    bool shredded;      /* retention removed its evidence id, narrative and url */
    uint64_t log_index; /* its evidence_accepted entry's leaf index (< 2^48) */
    /* put: the packed item (plain). Read: the sealed box as stored, borrowed. */
    const void *blob;
    size_t blob_len;
    /* Set by records_evidence_iter_next (NULL otherwise): the record's place in the walk, to
     * resume at with records_evidence_iter_open_at. Borrowed, like blob. */
    const uint8_t *pos;
    size_t pos_len;
    const uint8_t *rkey; /* read: the record's key (the box's associated data); borrowed */
    size_t rkey_len;
} records_evidence_t;

/*
 * Evidence ids are scoped to their source (the authenticated tool, or the claimed source in
 * development mode): (source, id) is the identity, so two tools may use the same id and
 * neither learns of the other's.
 *
 * Stores a new evidence record for (learner, competency) and its id index entry. The id must
 * not be stored yet for this source (records_evidence_find). ev->retracted is ignored.
 */
int records_evidence_put(store_txn_t *txn, records_learner_t *l, const char *competency_id,
                         const char *source, const char *evidence_id, const records_evidence_t *ev);

/* The packed item of a record read by find or a walk, opened with its learner's data key into
 * the transaction's scratch (borrowed like a value). 0; ERR_GONE / ERR_NOT_FOUND (the learner's
 * key is gone: erased); ERR_DATA_LOSS (the box does not open). */
int records_evidence_open(store_txn_t *txn, const records_evidence_t *rec, const void **plain,
                          size_t *len);

/* The record of (source, evidence id), through the id index: 0, ERR_NOT_FOUND, or
 * ERR_INTERNAL when the index points at no record. Blob borrowed. */
int records_evidence_find(store_txn_t *txn, const char *source, const char *evidence_id,
                          records_evidence_t *out);

/* Marks (source, evidence id) retracted. *already is set when it was (nothing written then).
 * ERR_NOT_FOUND when no such id is stored for that source. */
int records_evidence_retract(store_txn_t *txn, const char *source, const char *evidence_id,
                             bool *already);

/* Number of evidence items stored (O(1)). */
uint64_t records_evidence_count(store_txn_t *txn);

/* Number of learners with a profile: one seek per learner (O(learners x log n); about 0.1 s
 * per 100 000 learners), for Health and Metrics, which are asked for rarely. 0 on error. */
uint64_t records_learner_count(store_txn_t *txn);

/* Number of credentials stored, revoked ones included (O(1)). */
uint64_t records_credential_count(store_txn_t *txn);

/* A learner's evidence, on one competency or all, in (competency hash, observed_at, id)
 * order: the rules see a competency's items oldest first. */
typedef struct records_evidence_iter {
    store_iter_t it;
} records_evidence_iter_t;

/* comp_hash NULL: every competency of the learner. */
int records_evidence_iter_open(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                               const uint8_t *comp_hash, records_evidence_iter_t *it);
/* The same walk, from the record at pos (a records_evidence_t.pos of an earlier walk, as the
 * next page's token), or from the first one after it when it is gone. Any bytes are safe: the
 * walk never leaves the learner (and competency). ERR_INVALID when pos_len exceeds
 * RECORDS_EVIDENCE_POS_MAX. */
#define RECORDS_EVIDENCE_POS_MAX (STORE_KEY_MAX - STORE_HASH_LEN - 1)
int records_evidence_iter_open_at(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                                  const uint8_t *comp_hash, const uint8_t *pos, size_t pos_len,
                                  records_evidence_iter_t *it);
/* 0 and the next record, ERR_NOT_FOUND at the end, ERR_INTERNAL for a malformed record. */
int records_evidence_iter_next(records_evidence_iter_t *it, records_evidence_t *out);
void records_evidence_iter_close(records_evidence_iter_t *it);

/*
 * The competencies a learner has evidence on, in hash order, one seek each: sets out to the
 * first competency hash >= from (from NULL: the first of all) with any evidence record of the
 * learner. 0, ERR_NOT_FOUND when there is none, or a store error.
 */
int records_evidence_next_competency(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                                     const uint8_t *from, uint8_t out[STORE_HASH_LEN]);

/* ---- learners: profile, DID ---------------------------------------------------------------- */

/* Writes the profile (hash -> id) unless present: re-evaluation walks learners by hash. */
int records_profile_ensure(store_txn_t *txn, records_learner_t *l);

/* A walk over learners in hash order (sweeps, upgrades): records_learner_next moves cursor to
 * the first learner hash >= cursor with any record (ERR_NOT_FOUND: none is left);
 * records_cursor_next steps past it, false when it was the last possible hash. */
int records_learner_next(store_txn_t *txn, uint8_t cursor[STORE_HASH_LEN]);
bool records_cursor_next(uint8_t cursor[STORE_HASH_LEN]);

/*
 * Finds the first learner hash >= *cursor that has any record, and its profile. Returns 0 with
 * *cursor set to it and id (NUL-terminated, at most STORE_KEY_MAX bytes) filled, or id[0] = 0
 * when that learner has records but no profile (only a registered DID); ERR_NOT_FOUND when no
 * learner follows. id must hold STORE_KEY_MAX + 1 bytes.
 */
int records_learner_seek(store_txn_t *txn, uint8_t cursor[STORE_HASH_LEN],
                         char id[STORE_KEY_MAX + 1]);
/* (ERR_DATA_LOSS when the profile is damaged: *cursor is set to the learner even then.) */

/* The learner's registered DID into did (cap bytes with the NUL): ERR_NOT_FOUND when none,
 * ERR_INTERNAL when the stored one does not fit. */
int records_did_get(store_txn_t *txn, records_learner_t *l, char *did, size_t cap);
int records_did_put(store_txn_t *txn, records_learner_t *l, const char *did);

/* Whether the learner has a profile (any evidence or override ever recorded): 0, ERR_NOT_FOUND,
 * or a store error. */
int records_profile_exists(store_txn_t *txn, const records_learner_t *l);

/* ---- overrides ----------------------------------------------------------------------------- */

/* The last override of (learner, framework, competency): who, when, why (Explain). Strings are
 * borrowed (into the record) as every borrowed value. Overrides made before this record existed
 * have none: ERR_NOT_FOUND (their event still says who and why). */
typedef struct records_override {
    int64_t at;
    bool granted;
    const char *actor;
    const char *reason;
} records_override_t;

int records_override_put(store_txn_t *txn, records_learner_t *l,
                         const uint8_t fw_hash[STORE_HASH_LEN],
                         const uint8_t comp_hash[STORE_HASH_LEN], const records_override_t *o);
int records_override_get(store_txn_t *txn, records_learner_t *l,
                         const uint8_t fw_hash[STORE_HASH_LEN],
                         const uint8_t comp_hash[STORE_HASH_LEN], records_override_t *out);

/* ---- reviews (issue 15) -------------------------------------------------------------------- */

/*
 * A mastered competency with review_after has one review record: the due moment of its current
 * period and whether its review_due / review_failed events went out. The reviews database
 * indexes the due moments not yet published, in time order, so the sweep reads only what fell
 * due: an index entry exists exactly while its record exists without RECORDS_REVIEW_PUBLISHED.
 */
#define RECORDS_REVIEW_PUBLISHED 1u /* review_due went out for this period */
#define RECORDS_REVIEW_FAILED    2u /* review_failed went out for this period */

typedef struct records_review {
    int64_t due_at;
    uint8_t flags;
    uint8_t reserved[7];
} records_review_t;

int records_review_get(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                       const uint8_t fw_hash[STORE_HASH_LEN],
                       const uint8_t comp_hash[STORE_HASH_LEN], records_review_t *out);

/*
 * Writes rec for (learner, framework, competency) and keeps the index true: the entry of old
 * (NULL: there was no record) goes, and rec's is added unless rec is PUBLISHED. The ids are
 * stored in the index entry (the sweep's event names them).
 */
int records_review_put(store_txn_t *txn, records_learner_t *l, const char *framework_id,
                       const uint8_t fw_hash[STORE_HASH_LEN], const char *competency_id,
                       const uint8_t comp_hash[STORE_HASH_LEN], const records_review_t *old,
                       const records_review_t *rec);

/* Deletes the record (old, as read) and its index entry. */
int records_review_delete(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                          const uint8_t fw_hash[STORE_HASH_LEN],
                          const uint8_t comp_hash[STORE_HASH_LEN], const records_review_t *old);

/* A learner's review records in one framework, in competency hash order (one cursor walk). */
typedef struct records_review_iter {
    store_iter_t it;
} records_review_iter_t;

int records_review_iter_open(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                             const uint8_t fw_hash[STORE_HASH_LEN], records_review_iter_t *it);
/* 0 with the competency hash (borrowed) and the record, ERR_NOT_FOUND at the end,
 * ERR_INTERNAL for a malformed record. */
int records_review_iter_next(records_review_iter_t *it, const uint8_t **comp_hash,
                             records_review_t *out);
void records_review_iter_close(records_review_iter_t *it);

/* An index entry. Strings borrowed like every value. */
typedef struct records_review_due {
    int64_t due_at;
    uint8_t learner_hash[STORE_HASH_LEN], fw_hash[STORE_HASH_LEN], comp_hash[STORE_HASH_LEN];
    const char *learner_id, *framework_id, *competency_id;
} records_review_due_t;

/* The earliest index entry, when its due_at <= now: 0, or ERR_NOT_FOUND (nothing due). One
 * seek. */
int records_review_first_due(store_txn_t *txn, int64_t now, records_review_due_t *out);

/* Deletes one index entry (a stale one, or one whose event went out). */
int records_review_index_delete(store_txn_t *txn, const records_review_due_t *e);

/* Index entries in all (O(1)). */
uint64_t records_review_pending(store_txn_t *txn);

/* ---- state --------------------------------------------------------------------------------- */

/* A learner's state on one competency of one framework, stored as is (48 bytes). Status values
 * and flags are the engine's (engine.h). */
typedef struct records_state {
    uint8_t status;
    uint8_t flags;
    uint16_t reserved;
    uint32_t evidence_count;
    double score;
    int64_t unlocked_at;
    int64_t mastered_at;
    int64_t override_at;
    int64_t updated_at;
} records_state_t;

/* A learner's stored states in one framework, in competency hash order (one cursor walk:
 * Next and GroupReport read a whole framework's states at once; the default state has no
 * record: the caller fills in what the walk skips). */
typedef struct records_state_iter {
    store_iter_t it;
} records_state_iter_t;

int records_state_iter_open(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                            const uint8_t fw_hash[STORE_HASH_LEN], records_state_iter_t *it);
/* 0 with the competency hash (borrowed) and the state, ERR_NOT_FOUND at the end,
 * ERR_INTERNAL for a malformed record. */
int records_state_iter_next(records_state_iter_t *it, const uint8_t **comp_hash,
                            records_state_t *out);
void records_state_iter_close(records_state_iter_t *it);

/* ERR_NOT_FOUND: no record (the caller applies the default). */
int records_state_get(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                      const uint8_t fw_hash[STORE_HASH_LEN],
                      const uint8_t comp_hash[STORE_HASH_LEN], records_state_t *out);
int records_state_put(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                      const uint8_t fw_hash[STORE_HASH_LEN],
                      const uint8_t comp_hash[STORE_HASH_LEN], const records_state_t *st);

/* ---- groups (classes from a roster) -------------------------------------------------------- */

/* Group ids, titles and member ids are at most RECORDS_GROUP_ID_MAX bytes (a title:
 * RECORDS_GROUP_TITLE_MAX). A member kind: a learner or a teacher of the group. */
#define RECORDS_GROUP_ID_MAX    256
#define RECORDS_GROUP_TITLE_MAX 512
#define RECORDS_MEMBER_LEARNER  'M'
#define RECORDS_MEMBER_TEACHER  'T'

/* Stores (or replaces) the group record. */
int records_group_put(store_txn_t *txn, const char *group_id, const char *title);
/* The group's title (copied into title, cap bytes): 0 or ERR_NOT_FOUND. */
int records_group_get(store_txn_t *txn, const char *group_id, char *title, size_t cap);
/* Deletes the group record and every member of both kinds; *members: how many. */
int records_group_del(store_txn_t *txn, const char *group_id, uint64_t *members);

/* Every group in key order (by H(group)): 0 with id and title (borrowed, NUL-terminated),
 * ERR_NOT_FOUND at the end. */
typedef struct records_group_iter {
    store_iter_t it;
} records_group_iter_t;

int records_group_iter_open(store_txn_t *txn, records_group_iter_t *it);
int records_group_iter_next(records_group_iter_t *it, const char **id, const char **title);
void records_group_iter_close(records_group_iter_t *it);

/* Adds (idempotent) or removes a member of kind RECORDS_MEMBER_*. *changed: whether it did. */
int records_member_put(store_txn_t *txn, const uint8_t group_hash[STORE_HASH_LEN], char kind,
                       const char *member_id, bool *changed);
int records_member_del(store_txn_t *txn, const uint8_t group_hash[STORE_HASH_LEN], char kind,
                       const uint8_t member_hash[STORE_HASH_LEN]);
/* Whether the member is in the group: 0, ERR_NOT_FOUND, or a store error. */
int records_member_has(store_txn_t *txn, const uint8_t group_hash[STORE_HASH_LEN], char kind,
                       const uint8_t member_hash[STORE_HASH_LEN]);

/* A group's members of one kind, in member-hash order: 0 with the hash (borrowed, from the key)
 * and id (borrowed, not NUL-terminated: id_len bytes), ERR_NOT_FOUND at the end. */
typedef struct records_member_iter {
    store_iter_t it;
} records_member_iter_t;

int records_member_iter_open(store_txn_t *txn, const uint8_t group_hash[STORE_HASH_LEN], char kind,
                             records_member_iter_t *it);
int records_member_iter_next(records_member_iter_t *it, const uint8_t **hash, const char **id,
                             size_t *id_len);
void records_member_iter_close(records_member_iter_t *it);

/* ---- risk ---------------------------------------------------------------------------------- */

/* A learner's at-risk state in one framework (32 bytes, stored as is; written only when it
 * changes). flags: the rules that hold (groups.h: RISK_*); since: when the learner entered
 * the state (Unix ms, 0 when flags is 0); comp_hash: the competency a "stuck" rule names. */
typedef struct records_risk {
    uint32_t flags;
    uint32_t count; /* the evidence count on comp_hash when it was found stuck */
    int64_t since;
    uint8_t comp_hash[STORE_HASH_LEN];
} records_risk_t;

/* ERR_NOT_FOUND: no record (not at risk). */
int records_risk_get(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                     const uint8_t fw_hash[STORE_HASH_LEN], records_risk_t *out);
/* Stores r, or deletes the record when r->flags is 0. */
int records_risk_put(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                     const uint8_t fw_hash[STORE_HASH_LEN], const records_risk_t *r);

/* ---- events -------------------------------------------------------------------------------- */

/* Appends event seq (greater than every stored one; the journal numbers them): the packed
 * Event, sealed under the learner's data key when it names one (l non-NULL, unlocked or
 * unlockable with create), with its kind (the Event's oneof case) and time in clear. */
int records_event_append(store_txn_t *txn, uint64_t seq, records_learner_t *l, uint32_t kind,
                         int64_t at, const void *data, size_t len);

/* A stored event as read back: the packed Event (opened; borrowed), or, when it named a
 * learner since erased, shredded with only its kind and time. */
typedef struct records_event {
    uint64_t seq;
    bool shredded;
    uint32_t kind; /* the Event's oneof case number */
    int64_t at;
    const void *data;
    size_t len;
} records_event_t;

/* The last stored seq: 0 and *seq, or ERR_NOT_FOUND for an empty log. */
int records_event_last(store_txn_t *txn, uint64_t *seq);

/* The oldest stored event: 0 with its seq and packed bytes (borrowed), ERR_NOT_FOUND for an
 * empty log. */
int records_event_first(store_txn_t *txn, records_event_t *out);

/* Deletes event seq (retention drops the oldest); a missing one is not an error. */
int records_event_delete(store_txn_t *txn, uint64_t seq);

typedef struct records_event_iter {
    store_iter_t it;
} records_event_iter_t;

/* Events from seq `from` on, in order. */
int records_event_iter_open(store_txn_t *txn, uint64_t from, records_event_iter_t *it);
/* 0 with the next event (borrowed), ERR_NOT_FOUND at the end, ERR_DATA_LOSS for a box that
 * does not open. */
int records_event_iter_next(records_event_iter_t *it, records_event_t *out);
void records_event_iter_close(records_event_iter_t *it);

/* ---- credentials --------------------------------------------------------------------------- */

/*
 * A credential record: a 32-byte header (issued_at, changed_at, status index, revision, state,
 * flags) and eight strings, each stored as [u32 length with its NUL][bytes][NUL] so readers
 * use them in place.
 */
enum {
    RECORDS_CRED_ID,
    RECORDS_CRED_LEARNER,
    RECORDS_CRED_FRAMEWORK,
    RECORDS_CRED_COMPETENCY,
    RECORDS_CRED_NAME,   /* the achievement's name */
    RECORDS_CRED_REASON, /* why revoked or suspended; "" */
    RECORDS_CRED_JSON,   /* the signed credential */
    RECORDS_CRED_JWT,    /* the VC-JWT */
    RECORDS_CRED_STRINGS
};

#define RECORDS_CRED_SUSPENDABLE 1u /* flags: the credential carries a suspension entry */

typedef struct records_credential {
    int64_t issued_at;
    int64_t changed_at;
    uint32_t status_index;
    uint32_t revision;
    uint8_t state; /* badges_state_t */
    uint8_t flags;
    uint32_t status_list; /* the status list it is on (records written before lists rolled
                             over store 0 and read back as list 1, where they were moved) */
    uint8_t learner_hash[STORE_HASH_LEN]; /* get: whose it is (also when erased) */
    const char *s[RECORDS_CRED_STRINGS];  /* NUL-terminated; borrowed (from the store on get) */
    size_t len[RECORDS_CRED_STRINGS];     /* without the NUL */
} records_credential_t;

/* Stores (or replaces) the record under c->s[RECORDS_CRED_ID]; lengths from c->len. The
 * learner is stored as their hash and the reason sealed under their data key. */
int records_credential_put(store_txn_t *txn, const records_credential_t *c);
/* ERR_NOT_FOUND when there is no credential with that id. The learner id and the reason read
 * back as "" when the learner was erased (learner_hash still says whose it was). */
int records_credential_get(store_txn_t *txn, const char *id, records_credential_t *out);
/* Empties a credential's stored copies (JSON, JWT) and reason: erasure keeps only what the
 * status list needs. */
int records_credential_shred(store_txn_t *txn, const char *id);

/* The "never twice" index: the credential issued for (learner, framework revision,
 * competency). get: 0 with the id copied into id (cap bytes), or ERR_NOT_FOUND. */
typedef struct records_cred_key {
    const uint8_t *learner_hash, *fw_hash, *comp_hash; /* STORE_HASH_LEN bytes each */
    uint32_t revision;
} records_cred_key_t;

int records_cred_index_get(store_txn_t *txn, const records_cred_key_t *k, char *id, size_t cap);
int records_cred_index_put(store_txn_t *txn, const records_cred_key_t *k, const char *id);

/* A learner's credential ids, ordered by framework, revision, competency. */
typedef struct records_cred_iter {
    store_iter_t it;
} records_cred_iter_t;

int records_cred_iter_open(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                           records_cred_iter_t *it);
/* 0 with the next id copied into id (cap bytes), ERR_NOT_FOUND at the end, ERR_INTERNAL when
 * a stored id does not fit. */
int records_cred_iter_next(records_cred_iter_t *it, char *id, size_t cap);
void records_cred_iter_close(records_cred_iter_t *it);

/* ---- status lists -------------------------------------------------------------------------- */

#define RECORDS_BITS_USED      'U'
#define RECORDS_BITS_REVOKED   'R'
#define RECORDS_BITS_SUSPENDED 'S'

/*
 * A status list: numbered from 1, for good (a badge names its list's URL). Each list belongs
 * to one issuer DID, the one its badges name, and holds `entries` indexes; its URL is
 * <base>/<purpose>/<n>, or <base>/<purpose> for the one list of a store made before lists
 * rolled over (RECORDS_SLIST_UNNUMBERED), so that the badges already issued keep their URL.
 */
#define RECORDS_SLIST_UNNUMBERED 1u

typedef struct records_slist {
    uint32_t flags;
    uint32_t entries;   /* indexes handed out before the next list starts */
    int64_t created_at; /* Unix ms */
    const char *did;    /* NUL-terminated; borrowed (from the store on get) */
    const char *base;   /* the status base URL when the list started; borrowed */
} records_slist_t;

int records_slist_put(store_txn_t *txn, uint32_t n, const records_slist_t *l);
/* ERR_NOT_FOUND: no list n. */
int records_slist_get(store_txn_t *txn, uint32_t n, records_slist_t *out);
/* The highest list number: 0 and *n, or ERR_NOT_FOUND when there is no list yet. */
int records_slist_last(store_txn_t *txn, uint32_t *n);

/* List n's bitstring `which` (RECORDS_BITS_*). ERR_NOT_FOUND: never written (all zero).
 * *bits borrowed. */
int records_slist_bits_get(store_txn_t *txn, uint32_t n, char which, store_val_t *bits);
int records_slist_bits_put(store_txn_t *txn, uint32_t n, char which, const void *bits, size_t len);

/* The bitstrings of a store made before lists rolled over (migrated to list 1, then deleted):
 * get (ERR_NOT_FOUND: none) and delete. */
int records_bits_get(store_txn_t *txn, char which, store_val_t *bits);
int records_bits_del(store_txn_t *txn, char which);

/* ---- store identity ------------------------------------------------------------------------ */

/*
 * The issuer identity the store was made with: the key ids (RFC 7638 thumbprints) of the first
 * Ed25519 and RSA keys, which never leave the keyring (rotation adds keys, never removes one).
 * Written once, when the store is new; checked at every start, so a store restored without
 * its keys, or keys beside another store, is refused instead of silently issuing as someone
 * else.
 */
#define RECORDS_KEY_ID_MAX 64

typedef struct records_identity {
    int64_t created_at;
    char ed25519[RECORDS_KEY_ID_MAX];
    char rsa[RECORDS_KEY_ID_MAX];
} records_identity_t;

/* The fingerprint of the vault (store.key) the file is sealed under (meta "vault"): 0 or
 * ERR_NOT_FOUND (never sealed: a new store, or one before format 7 opened without a vault). */
#define RECORDS_VAULT_ID_LEN 16
int records_vault_id_get(store_txn_t *txn, uint8_t id[RECORDS_VAULT_ID_LEN]);
int records_vault_id_put(store_txn_t *txn, const uint8_t id[RECORDS_VAULT_ID_LEN]);

/* Whether the store holds no framework, learner record, event or credential. */
bool records_store_empty(store_txn_t *txn);

/* ERR_NOT_FOUND: none recorded (a new store, or one made before identities were). */
int records_identity_get(store_txn_t *txn, records_identity_t *out);
int records_identity_put(store_txn_t *txn, const records_identity_t *id);

/* ---- the transparency log (format 4) ------------------------------------------------------- */

#define RECORDS_LOG_HASH_LEN 32

/* The learner's commitment key is the second half of their secret (RECORDS_COMMIT_KEY, after
 * records_learner_unlock): log entries name a learner and their free text only by HMACs under
 * it, so erasing the secret unlinks every entry. */

/* The event seq of leaf 0 (1 for a store made with the log; the first event after the
 * upgrade for an older one). ERR_NOT_FOUND before records_upgrade. */
int records_log_base_get(store_txn_t *txn, uint64_t *base);
int records_log_base_put(store_txn_t *txn, uint64_t base);

/* Leaf entries (log: index(be64) -> the entry bytes, lib/tlog/logentry.h), appended in index
 * order; *entry borrowed. records_log_size: the number of entries (0 when empty). */
int records_log_entry_put(store_txn_t *txn, uint64_t index, const void *entry, size_t len);
int records_log_entry_get(store_txn_t *txn, uint64_t index, const void **entry, size_t *len);
int records_log_size(store_txn_t *txn, uint64_t *size);

/* Complete-subtree hashes of levels >= 1 (log_tree: 'H' level(u8) index(be64) -> 32 bytes);
 * level 0 is the leaf hash of the entry, never stored twice. */
int records_log_hash_put(store_txn_t *txn, unsigned level, uint64_t index,
                         const uint8_t hash[RECORDS_LOG_HASH_LEN]);
int records_log_hash_get(store_txn_t *txn, unsigned level, uint64_t index,
                         uint8_t hash[RECORDS_LOG_HASH_LEN]);

/* The log's origin, fixed when the first checkpoint is signed (log_tree: 'O' -> the origin):
 * auditors follow a log by its origin, so it never changes. ERR_NOT_FOUND: not yet. */
int records_log_origin_get(store_txn_t *txn, char *origin, size_t cap);
int records_log_origin_put(store_txn_t *txn, const char *origin);

/* The latest signed checkpoint (log_tree: 'C' -> the signed note text); *note borrowed. */
int records_log_checkpoint_put(store_txn_t *txn, const char *note, size_t len);
int records_log_checkpoint_get(store_txn_t *txn, const char **note, size_t *len);

/* ---- upgrades ------------------------------------------------------------------------------ */

/*
 * Brings a store opened by store_open() (format 2 at least) to the layouts above, every step in
 * one transaction (all or nothing): 3, evidence ids scoped to their source (each item keeping
 * the source it was stored with); 4, the transparency log's base; 5 and 6, the reviews, groups
 * and risk databases (created empty by store_open); 7, every learner's secret wrapped by the
 * vault (set with store_set_vault first), their fields sealed, evidence ids in keys replaced by
 * keyed hashes, and every event given its clear header. A no-op on a current store. Call once after
 * store_open(),
 * before anything reads records. Returns 0 or an error with detail.
 */
int records_upgrade(store_t *st, err_detail_t *detail);

/*
 * Cluster mode (cluster.h): the last stream sequence this store applied of a partition
 * (CLUSTER_FW for the frameworks), written in the transaction that applied it, so a restart
 * resumes exactly after it. *seq is 0 when nothing of the partition was applied. Returns 0,
 * a store error, or ERR_DATA_LOSS (a damaged record).
 */
int records_stream_applied_get(store_txn_t *txn, uint32_t partition, uint64_t *seq);
int records_stream_applied_put(store_txn_t *txn, uint32_t partition, uint64_t seq);

#endif
