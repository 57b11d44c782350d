/*
 * engine: the model in motion. Records evidence, evaluates mastery rules, unlocks and masters
 * competencies (the cascade), applies overrides, re-evaluates learners when a framework gets a
 * new revision. Everything happens inside the caller's write transaction: the engine never
 * commits, so a request's effects (records, states, events) become durable together or not
 * at all.
 *
 * Calls: records (the stored layout), catalog/graph (the frameworks), mastery (rules). It calls
 * nothing above it: every operation *returns* its changes (state transitions, in the order
 * they happened) in a caller-owned engine_changes_t, and the caller turns them into events and
 * badges (handler.c: apply_changes).
 *
 * State semantics (DESIGN.md section 3):
 *   LOCKED -> UNLOCKED when the competency's `requires` is met (none: unlocked from the start);
 *   UNLOCKED -> MASTERED when its rule is met; evidence recorded while locked counts the moment
 *   it unlocks; a mastery cascades to dependents and to parents (children roll-up) in the same
 *   transaction. Mastery is sticky: later low scores change the reported score, never the
 *   status. An override grants (MASTERED) or withdraws (back to UNLOCKED) and is audited by its
 *   event; after a withdrawal only evidence observed later can master it again.
 */
#ifndef MASTERY_ENGINE_H
#define MASTERY_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "err.h"
#include "mastery.h"
#include "records.h"
#include "store.h"

typedef enum comp_status {
    STATUS_LOCKED = 0,
    STATUS_UNLOCKED = 1,
    STATUS_MASTERED = 2,
} comp_status_t;

/* Flags of a state record. STATE_WITHDRAWN: after a withdrawal, only evidence observed at or
 * after override_at counts. */
#define STATE_OVERRIDDEN 1u /* the status was last set by an override */
#define STATE_WITHDRAWN  2u /* a withdrawal (see above) */
#define STATE_RULE_MET   4u /* the rule is met by the evidence right now */

/* A learner's state on one competency of one framework (records.h owns the stored layout). */
typedef records_state_t comp_state_t;

/* What happened, in order. Every change names the learner, and (but for a retraction) the
 * framework and competency whose state moved. */
typedef enum engine_change_kind {
    CHANGE_UNLOCKED,      /* LOCKED -> UNLOCKED */
    CHANGE_MASTERED,      /* -> MASTERED, by the rule, a cascade, or a granting override */
    CHANGE_OVERRIDE,      /* a teacher's decision (recorded before the mastery it may cause) */
    CHANGE_RETRACTED,     /* an evidence item stopped counting (framework and competency index
                             unset: it counts for every framework with the competency) */
    CHANGE_REVIEW_FAILED, /* ENGINE_REVIEW_FAIL_K items below the threshold since the review
                             fell due (once per period; score: how many). Still mastered */
} engine_change_kind_t;

/* One change: a competency's state moved (24 bytes: a cascade over a 10 000-competency chain
 * writes 20 000 of them). The competency is fw's index; its id is graph_comp(fw->graph,
 * competency)->id. A CHANGE_RETRACTED names no framework (fw NULL): the item stops counting
 * for every framework with the operation's competency. */
typedef struct engine_change {
    engine_change_kind_t kind;
    uint32_t competency;    /* index in fw */
    const catalog_fw_t *fw; /* NULL for CHANGE_RETRACTED */
    double score;           /* the competency's score after the change */
} engine_change_t;

/*
 * What one engine call did: the operation (one learner, one trigger) and its changes in the
 * order they happened. Caller-owned and reused: zero-initialise it once; every engine call
 * replaces its content; engine_changes_free() releases it. Strings are borrowed: learner_id,
 * evidence_id, competency_id, reason and actor from the call's arguments (re-evaluation: its
 * cursor), valid until the caller's next engine call.
 *
 * max_bytes bounds the array (0: ENGINE_CHANGES_BYTES_MAX); a call whose changes would exceed
 * it fails with ERR_NOMEM and the caller must drop its transaction. Valid graphs stay far below
 * the default: one item changes at most two states per competency of the frameworks that
 * contain it.
 */
#define ENGINE_CHANGES_BYTES_MAX (64u << 20)

typedef struct engine_changes {
    const char *learner_id;
    const char *evidence_id;     /* the item that triggered the changes, or "" */
    const char *evidence_source; /* and its source (the id's scope), or "" */
    const char *competency_id;   /* the item's or the override's competency; "" on re-evaluation */
    const char *reason;          /* override, retraction; else NULL */
    const char *actor;           /* override; else NULL */
    bool granted;                /* override: grant (true) or withdraw */
    engine_change_t *v;
    size_t n, cap;
    size_t max_bytes;
} engine_changes_t;

void engine_changes_reset(engine_changes_t *c);
void engine_changes_free(engine_changes_t *c);

/* One evidence item, validated by the caller. Strings borrowed for the call. */
typedef struct engine_evidence {
    const char *evidence_id;
    const char *learner_id;
    const char *competency_id;
    double score;
    double weight;
    sample_outcome_t outcome;
    int64_t observed_at;
    const char *source; /* the evidence id's scope; NULL is the empty source */
    bool logged;        /* log_index is its evidence_accepted entry in the transparency log */
    uint64_t log_index;
} engine_evidence_t;

typedef struct engine engine_t;

/* Returns a new engine over cat (borrowed; must outlive the engine), or NULL. */
engine_t *engine_new(catalog_t *cat);
void engine_destroy(engine_t **eng);

/* Sets "now" (Unix ms) for the records and events of the current batch. */
void engine_set_now(engine_t *eng, int64_t now_ms);

/* Whether any loaded framework contains this competency. */
bool engine_competency_known(const engine_t *eng, const char *competency_id);

/*
 * Finds a stored evidence item by id. Returns 0 with *blob (the caller's serialized item, as
 * given to engine_evidence_add) borrowed until the next write, ERR_NOT_FOUND, or a store error.
 */
int engine_evidence_find(engine_t *eng, store_txn_t *txn, const char *source,
                         const char *evidence_id, store_val_t *blob);

/*
 * Records ev (whose id must not be stored yet: check with engine_evidence_find) with the
 * caller's serialized copy blob, then evaluates the competency in every framework that has it
 * and runs the cascade; *out receives what changed. Returns 0 or an error (store, or
 * ERR_NOMEM: the transaction must then not commit).
 */
int engine_evidence_add(engine_t *eng, store_txn_t *txn, const engine_evidence_t *ev,
                        const void *blob, size_t blob_len, engine_changes_t *out);

/*
 * Retracts a stored evidence item (an xAPI voiding statement, a tool's correction), whose
 * learner and competency the caller read from it (engine_evidence_find): the record
 * is kept and marked, every rule stops counting it, and the competency is re-evaluated in every
 * framework that has it (scores and rule_met change; a mastery already earned stays: mastery is
 * sticky, and a teacher override can withdraw it). Sets *already when it was retracted before
 * (nothing changes then). Returns 0, ERR_NOT_FOUND (detail names the field) or a store error.
 */
int engine_evidence_retract(engine_t *eng, store_txn_t *txn, const char *source,
                            const char *evidence_id, const char *learner_id,
                            const char *competency_id, const char *reason, bool *already,
                            engine_changes_t *out, err_detail_t *detail);

/*
 * Re-evaluation of every learner after framework fw was loaded (a first revision or a new one,
 * just installed in the catalog): unlocks what the new graph unlocks, masters what the new rules
 * master (counting evidence stored before the framework existed), never takes a mastery back.
 * For a first revision only learners with evidence on its competencies are walked (the others
 * keep every default). One learner per call, so the caller handles each learner's changes before
 * the next and memory stays bounded by one learner's:
 *
 *     engine_reeval_t r = {0};
 *     while ((rc = engine_framework_reevaluate_next(eng, txn, fw, &r, &changes)) == 0)
 *         ... handle changes, engine_changes_reset(&changes) ...
 *     rc == ERR_NOT_FOUND: every learner is done
 *
 * The cursor holds the current learner's id: the changes' learner_id points into it.
 */
typedef struct engine_reeval {
    uint8_t cursor[STORE_HASH_LEN]; /* the next learner hash to look at */
    bool done;
    char learner_id[STORE_KEY_MAX + 1];
} engine_reeval_t;

int engine_framework_reevaluate_next(engine_t *eng, store_txn_t *txn, const catalog_fw_t *fw,
                                     engine_reeval_t *r, engine_changes_t *out);
/* ERR_DATA_LOSS from it leaves the cursor past the damaged learner: a caller that tolerates
 * damage (masteryd --check) may go on with the next call. */

/* State records written by this engine since it was made: a re-evaluation of a consistent
 * store writes none, so masteryd --check counts them as disagreements. */
uint64_t engine_state_writes(const engine_t *eng);

/*
 * Applies a teacher override. Returns 0, ERR_NOT_FOUND (framework or competency; field named
 * in detail) or a store error. *out receives the resulting state.
 */
int engine_override(engine_t *eng, store_txn_t *txn, const char *learner_id,
                    const char *framework_id, const char *competency_id, bool grant,
                    const char *reason, const char *actor, comp_state_t *out,
                    engine_changes_t *changes, err_detail_t *detail);

/*
 * Reviews (issue 15): a MASTERED competency with review_after_ms > 0 is *due for review* from
 * due_at = (observed_at of its last counted item at or above the threshold, mastery_sample_fresh;
 * none: mastered_at) + review_after_ms, until a fresh such item arrives (due_at then moves past
 * it). Items below the threshold observed at or after due_at are failed reviews;
 * ENGINE_REVIEW_FAIL_K or more make review_failed. Nothing is revoked: the status stays
 * MASTERED and its badge valid. Deterministic from the evidence, the state and the clock.
 */
#define ENGINE_REVIEW_FAIL_K 2

/* One evidence item as the rule saw it (engine_trace). Borrowed pointers: valid until the next
 * write in the transaction, or its end, and until the next engine_trace. */
typedef struct engine_trace_item {
    const void *blob; /* the caller's serialized item, sealed: records_evidence_open with rkey */
    size_t blob_len;
    const uint8_t *rkey; /* the record's key (borrowed, like blob) */
    size_t rkey_len;
    int64_t observed_at;
    mastery_sample_t sample;
    bool retracted;
    bool counted;        /* false: retracted, or observed before a withdrawal */
    bool fresh;          /* counted and at/above the threshold (mastery_sample_fresh) */
    mastery_step_t step; /* counted items only: the rule's step (mastery_eval_steps) */
} engine_trace_item_t;

/*
 * What decides a learner's state on one competency, computed by the code path that decides
 * mastery (the same evidence walk and mastery_eval_steps), plus what Next needs.
 *   state        the stored state (or the default)
 *   result       the rule over the counted items now (children: mastered children)
 *   requires_met whether its requires is met now; requires_mastered: how many are mastered
 *   distance     mastery_distance (evidence rules; not meaningful for children)
 *   review_*     see above; review_due_at 0 when the competency has no review period or is
 *                not mastered
 *   items        every stored item in rule order (observed_at, id), when asked for
 */
typedef struct engine_trace {
    comp_state_t state;
    mastery_result_t result;
    bool requires_met;
    uint32_t requires_mastered;
    mastery_distance_t distance;
    int64_t last_fresh_at; /* observed_at of the last counted item at/above threshold; 0 none */
    int64_t review_due_at;
    bool review_due;
    uint32_t review_failures;
    bool review_failed;
    engine_trace_item_t *items; /* engine-owned, n_items of them (want_items) */
    size_t n_items;
} engine_trace_t;

/*
 * Fills *out for the learner on competency ci of fw as of now_ms (review due or not). Reads
 * only. want_items: also every item (Explain); otherwise items is NULL. Returns 0, ERR_NOMEM or
 * a store error (ERR_DATA_LOSS for a damaged record).
 */
int engine_trace(engine_t *eng, store_txn_t *txn, const char *learner_id, const catalog_fw_t *fw,
                 uint32_t ci, int64_t now_ms, bool want_items, engine_trace_t *out);

/*
 * What Next needs of competency ci, cheaper than engine_trace: the caller passes the learner's
 * states of the whole framework (engine_states_load), requires come from them; a LOCKED one
 * is not evaluated; an UNLOCKED one is (result, distance); a MASTERED one with review_after
 * takes its review record's due moment from due[] (what engine_trace would compute; items are
 * walked only when it is due, for the failures, or when it has no record). Fills *out as
 * engine_trace without items.
 */
int engine_trace_next(engine_t *eng, store_txn_t *txn, const char *learner_id,
                      const catalog_fw_t *fw, uint32_t ci, const comp_state_t *states,
                      const int64_t *due, int64_t now_ms, engine_trace_t *out);

/* Every state of the learner in fw into states[0..graph_count) (stored, or the default), and
 * every review record's due moment into due[0..graph_count) (ENGINE_NO_REVIEW: none), in two
 * cursor walks. Returns 0 or a store error. */
#define ENGINE_NO_REVIEW INT64_MIN
int engine_states_load(engine_t *eng, store_txn_t *txn, const char *learner_id,
                       const catalog_fw_t *fw, comp_state_t *states, int64_t *due);

/* Whether the learner has a profile (evidence or an override was ever recorded): 0,
 * ERR_NOT_FOUND, or a store error. */
int engine_learner_known(engine_t *eng, store_txn_t *txn, const char *learner_id);

/* The last override of the learner on ci of fw (who, when, why; strings borrowed as records
 * says): 0, ERR_NOT_FOUND (none, or made before overrides were recorded), or a store error. */
int engine_override_get(engine_t *eng, store_txn_t *txn, const char *learner_id,
                        const catalog_fw_t *fw, uint32_t ci, records_override_t *out);

/*
 * The review sweep's step: the earliest due moment (<= now_ms) whose review_due event has not
 * gone out. Marks it published (the record keeps the flag; the index entry goes) and fills
 * *out; index entries that no longer mean anything (the framework or its review_after gone)
 * are dropped on the way, and each one counts in *looked (the caller's work bound). Returns 0,
 * ERR_NOT_FOUND (nothing more is due), or a store error.
 */
typedef struct engine_review_due {
    char learner_id[STORE_KEY_MAX + 1];
    const catalog_fw_t *fw; /* borrowed from the catalog */
    uint32_t ci;
    int64_t due_at;
} engine_review_due_t;

int engine_review_due_next(engine_t *eng, store_txn_t *txn, int64_t now_ms, size_t *looked,
                           engine_review_due_t *out);

/* Review periods whose review_due has not gone out yet (due or not), for metrics. */
uint64_t engine_reviews_pending(engine_t *eng, store_txn_t *txn);

/* The learner's state on competency index ci of fw (stored, or the default). */
int engine_state_get(engine_t *eng, store_txn_t *txn, const char *learner_id,
                     const catalog_fw_t *fw, uint32_t ci, comp_state_t *out);

#endif
