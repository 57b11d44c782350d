/*
 * groups: classes (groups of learners, with their teachers), the teacher's view of a class
 * (GroupReport) and the at-risk rules.
 *
 * Groups come from a roster (OneRoster CSV, parsed by the client with lib/import/oneroster):
 * groups_import() replaces one class's membership with the one given, so a re-import of the
 * same roster changes nothing and an enrollment that is gone is removed. Only ids are stored,
 * never names or e-mail addresses.
 *
 * At-risk rules, per learner and framework (documented for operators in masteryd.8):
 *   stuck  the learner has risk_stuck_items or more evidence items on a competency that is
 *          unlocked and not mastered;
 *   idle   the learner's newest state change by evidence in the framework (the state records'
 *          updated_at) is risk_idle_days or more old;
 *   (report only) no_evidence: a learner of the group with no evidence in the framework.
 * A learner *enters* the state when no rule held and one does now: groups_risk_* report it
 * once (the caller journals an at_risk event), and the risk record keeps it until no rule
 * holds. Evaluated on evidence (stuck, and idle clears) and by a bounded sweep (idle).
 *
 * Calls: records, catalog, graph. Everything happens in the caller's transaction.
 */
#ifndef MASTERY_GROUPS_H
#define MASTERY_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "catalog.h"
#include "err.h"
#include "records.h"
#include "store.h"

#define RISK_STUCK 1u
#define RISK_IDLE  2u

#define GROUPS_BLOCKING_MAX 10 /* competencies a report names as blocking the most */

/* One class as imported. Strings borrowed for the call. */
typedef struct groups_class {
    const char *id;
    const char *title;
    char *const *learners; /* learner ids */
    size_t n_learners;
    char *const *teachers; /* teacher ids */
    size_t n_teachers;
    bool deleted; /* remove the class and its members */
} groups_class_t;

typedef struct groups_import_result {
    uint32_t created, updated, deleted, unchanged;
    uint32_t added, removed; /* members */
} groups_import_result_t;

/*
 * Applies one class (see above) and counts what changed into *r. Ids are the caller's to
 * validate (1..RECORDS_GROUP_ID_MAX bytes). Returns 0 or a store error.
 */
int groups_import(store_txn_t *txn, const groups_class_t *c, groups_import_result_t *r);

/* Whether learner_id is a learner of any of the n groups: 0 (yes), ERR_NOT_FOUND (no), or a
 * store error. */
int groups_any_has_learner(store_txn_t *txn, const char *const *groups, size_t n,
                           const char *learner_id);

/* Whether group_id is one of the n groups (exact bytes). */
bool groups_listed(const char *const *groups, size_t n, const char *group_id);

/* ---- at risk ----------------------------------------------------------------------------- */

typedef struct groups_risk_conf {
    uint32_t stuck_items;
    uint32_t idle_days; /* 0: the idle rule is off */
} groups_risk_conf_t;

/* What one evaluation found. */
typedef struct groups_risk_change {
    bool entered;        /* no rule held before, one does now: publish at_risk */
    uint32_t flags;      /* RISK_* now */
    uint32_t competency; /* RISK_STUCK: the competency (fw index) */
    uint32_t count;      /* RISK_STUCK: its evidence items */
    int64_t last_activity;
} groups_risk_change_t;

/*
 * After evidence on competency ci of fw for learner l (its states already updated): clears
 * idle, sets or clears stuck (a stuck competency that is no longer stuck makes the learner's
 * other competencies in fw be looked at), writes the risk record when it changed.
 */
int groups_risk_on_evidence(store_txn_t *txn, const groups_risk_conf_t *conf,
                            const catalog_fw_t *fw, const records_learner_t *l, uint32_t ci,
                            int64_t now, groups_risk_change_t *out);

/*
 * Evaluates both rules for learner l in fw from its state records (the sweep), writes the
 * risk record when it changed.
 */
int groups_risk_evaluate(store_txn_t *txn, const groups_risk_conf_t *conf, const catalog_fw_t *fw,
                         const records_learner_t *l, int64_t now, groups_risk_change_t *out);

/* ---- the report -------------------------------------------------------------------------- */

typedef struct groups_comp_summary {
    uint32_t locked, unlocked, mastered, review_due, scored, blocked;
    double median;
} groups_comp_summary_t;

typedef struct groups_row {
    const char *learner_id; /* in the arena */
    uint8_t *status;        /* per competency (comp_status_t), with cells; else NULL */
    double *score;          /* per competency, with cells; else NULL */
    uint32_t mastered;
    uint32_t evidence; /* items over the framework's competencies */
    int64_t last_activity;
    uint32_t risk;        /* RISK_* that hold; RISK_NO_EVIDENCE below */
    uint32_t stuck;       /* RISK_STUCK: the first stuck competency */
    uint32_t stuck_count; /* and its items */
    uint32_t stuck_total; /* stuck competencies */
} groups_row_t;

#define RISK_NO_EVIDENCE 4u /* report only: no evidence in the framework at all */

typedef struct groups_report {
    uint32_t n_comps;
    groups_comp_summary_t *comps; /* graph order */
    uint32_t blocking[GROUPS_BLOCKING_MAX];
    size_t n_blocking;
    groups_row_t *rows; /* with cells: every learner; else the at-risk ones; by learner hash */
    size_t n_rows;
    size_t n_learners;
} groups_report_t;

/*
 * The report of group_id over fw at now, in one pass over the group's learners (member-hash
 * order, which is the learners' key order) and their state records. cells_budget: 0 for no
 * per-learner cells; else the cells' bytes (9 per competency and learner, with some overhead)
 * may not exceed it, checked as the rows grow, so an oversized request stops early. Everything
 * it returns lives in arena (valid until its reset). Returns 0, ERR_NOT_FOUND (no such group),
 * ERR_LIMIT (cells over the budget), ERR_NOMEM, or a store error.
 */
int groups_report(store_txn_t *txn, arena_t *arena, const catalog_fw_t *fw, const char *group_id,
                  const groups_risk_conf_t *conf, int64_t now, size_t cells_budget,
                  groups_report_t *out);

#endif
