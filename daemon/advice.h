/*
 * advice: what a learner should work on next (the Next request), ranked. Reads only: the
 * engine's traces (engine_trace: the rule's own evaluation, distance to mastery, reviews) over
 * the catalog's compiled graphs (unlock counts precomputed per framework at load).
 *
 * The ranking, deterministic (README "Next steps" says the same to users):
 *   1. Reviews due (MASTERED, review_after passed without fresh evidence): failed reviews
 *      first, then the longest due (earliest review_due_at).
 *   2. Unlocked, not mastered, evidence rules (children roll-ups are mastered through their
 *      children, so they are not steps): fewest perfect items to mastery first (items_at_one;
 *      "more than 64" last), then most competencies unlocked transitively, then directly, then
 *      the higher score.
 *   Ties, and the locked list: framework load order, then document order.
 * Nearest locked: LOCKED competencies by fewest prerequisites still to master, then most
 * unlocked transitively.
 *
 * Cost: one state read per competency and prerequisite edge, one evidence walk per unlocked or
 * mastered competency, and the distance search for the unlocked ones (bench_next: a 480-
 * competency, 757-edge framework).
 */
#ifndef MASTERY_ADVICE_H
#define MASTERY_ADVICE_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "engine.h"
#include "store.h"

typedef struct advice_step {
    const catalog_fw_t *fw; /* borrowed from the catalog: valid until its next change */
    uint32_t fw_pos;        /* position in the frameworks looked at (load order) */
    uint32_t ci;
    bool review;      /* a review due; else a learning step */
    engine_trace_t t; /* items NULL */
} advice_step_t;

typedef struct advice_locked {
    const catalog_fw_t *fw;
    uint32_t fw_pos;
    uint32_t ci;
    uint32_t missing; /* prerequisites still to master */
} advice_locked_t;

/* Caller-owned, zero-initialised once, reused; advice_free() releases it. */
typedef struct advice {
    advice_step_t *steps; /* ranked */
    size_t n_steps, steps_cap;
    advice_locked_t *locked; /* ranked */
    size_t n_locked, locked_cap;
    uint32_t mastered, total, reviews_due;
    comp_state_t *states; /* scratch: one framework's states */
    int64_t *due;         /* and review due moments */
    size_t states_cap;
} advice_t;

/*
 * Ranks the learner's next steps over fws[0..nfw) (borrowed, in load order) as of now_ms into
 * *out (replacing its content): the first max_steps steps and max_locked locked competencies,
 * in rank order (the counts mastered, total and reviews_due cover everything). Returns 0,
 * ERR_NOMEM or a store error.
 */
int advice_next(engine_t *eng, store_txn_t *txn, const char *learner_id,
                const catalog_fw_t *const *fws, size_t nfw, int64_t now_ms, size_t max_steps,
                size_t max_locked, advice_t *out);

void advice_free(advice_t *a);

#endif
