/*
 * engine: the model in motion. Records evidence, evaluates mastery rules, unlocks and masters
 * competencies (the cascade), applies overrides, re-evaluates learners when a framework gets a
 * new revision. Everything happens inside the caller's write transaction: the engine never
 * commits, so a request's effects (records, states, events) become durable together or not
 * at all.
 *
 * Calls: store (records), catalog/graph (the frameworks), mastery (rules). Events leave
 * through the emit callback the caller provides (the handler numbers, stores and queues them).
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

/* A learner's state on one competency of one framework (stored as is: 48 bytes). */
typedef struct comp_state {
    uint8_t status; /* comp_status_t */
    uint8_t flags;
    uint16_t reserved;
    uint32_t evidence_count;
    double score;
    int64_t unlocked_at;
    int64_t mastered_at;
    int64_t override_at;
    int64_t updated_at;
} comp_state_t;

typedef enum engine_event_kind {
    EVENT_UNLOCKED,
    EVENT_MASTERED,
    EVENT_OVERRIDE,
    EVENT_FRAMEWORK_LOADED,
    EVENT_RETRACTED,
    EVENT_CREDENTIAL_ISSUED, /* emitted by the handler (badges), not the engine */
    EVENT_CREDENTIAL_STATUS,
} engine_event_kind_t;

/* An event as the engine reports it; strings borrowed for the duration of the callback. */
typedef struct engine_event {
    engine_event_kind_t kind;
    const char *learner_id;
    const char *framework_id;
    const char *competency_id;
    const char *evidence_id; /* the trigger, or "" */
    double score;
    bool mastered; /* override: grant or withdraw */
    const char *reason, *actor;
    uint32_t revision;
    const char *version;
    uint32_t competency_count;
    const char *credential_id; /* credential events */
    const char *achievement_name;
    const char *purpose; /* credential status: "revocation" / "suspension" */
    bool set;
} engine_event_t;

typedef int (*engine_emit_fn)(void *ctx, const engine_event_t *ev);

/* One evidence item, validated by the caller. Strings borrowed for the call. */
typedef struct engine_evidence {
    const char *evidence_id;
    const char *learner_id;
    const char *competency_id;
    double score;
    double weight;
    sample_outcome_t outcome;
    int64_t observed_at;
} engine_evidence_t;

typedef struct engine engine_t;

/* Returns a new engine over cat (borrowed; must outlive the engine), or NULL. */
engine_t *engine_new(catalog_t *cat, engine_emit_fn emit, void *emit_ctx);
void engine_destroy(engine_t **eng);

/* Sets "now" (Unix ms) for the records and events of the current batch. */
void engine_set_now(engine_t *eng, int64_t now_ms);

/* Whether any loaded framework contains this competency. */
bool engine_competency_known(const engine_t *eng, const char *competency_id);

/*
 * Finds a stored evidence item by id. Returns 0 with *blob (the caller's serialized item, as
 * given to engine_evidence_add) borrowed until the next write, ERR_NOT_FOUND, or a store error.
 */
int engine_evidence_find(engine_t *eng, store_txn_t *txn, const char *evidence_id,
                         store_val_t *blob);

/*
 * Records ev (whose id must not be stored yet: check with engine_evidence_find) with the
 * caller's serialized copy blob, then evaluates the competency in every framework that has it
 * and runs the cascade. Returns 0 or a store error (the transaction is then unusable).
 */
int engine_evidence_add(engine_t *eng, store_txn_t *txn, const engine_evidence_t *ev,
                        const void *blob, size_t blob_len);

/*
 * Retracts a stored evidence item (an xAPI voiding statement, a tool's correction), whose
 * learner and competency the caller read from it (engine_evidence_find): the record
 * is kept and marked, every rule stops counting it, and the competency is re-evaluated in every
 * framework that has it (scores and rule_met change; a mastery already earned stays: mastery is
 * sticky, and a teacher override can withdraw it). Sets *already when it was retracted before
 * (nothing changes then). Returns 0, ERR_NOT_FOUND (detail names the field) or a store error.
 */
int engine_evidence_retract(engine_t *eng, store_txn_t *txn, const char *evidence_id,
                            const char *learner_id, const char *competency_id, const char *reason,
                            bool *already, err_detail_t *detail);

/* Whether a stored record (as iterated or found) is retracted. */
bool engine_record_retracted(const store_val_t *record);

/*
 * Re-evaluates every learner with evidence on any competency of framework fw (just installed
 * in the catalog as a new revision): unlocks what the new graph unlocks, masters what the new
 * rules master, never takes a mastery back. Emits events as usual.
 */
int engine_framework_reevaluate(engine_t *eng, store_txn_t *txn, const catalog_fw_t *fw);

/*
 * Applies a teacher override. Returns 0, ERR_NOT_FOUND (framework or competency; field named
 * in detail) or a store error. *out receives the resulting state.
 */
int engine_override(engine_t *eng, store_txn_t *txn, const char *learner_id,
                    const char *framework_id, const char *competency_id, bool grant,
                    const char *reason, const char *actor, comp_state_t *out, err_detail_t *detail);

/* The learner's state on competency index ci of fw (stored, or the default). */
int engine_state_get(engine_t *eng, store_txn_t *txn, const char *learner_id,
                     const catalog_fw_t *fw, uint32_t ci, comp_state_t *out);

/* Evidence records: the caller's blob inside a stored value (header skipped). */
int engine_record_blob(const store_val_t *record, store_val_t *blob);

#endif
