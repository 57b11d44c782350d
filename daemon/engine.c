#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "graph.h"

struct engine {
    catalog_t *cat;
    int64_t now;
    mastery_sample_t *samples; /* reused across evaluations */
    size_t samples_cap;
    uint32_t *work; /* cascade worklist */
    size_t work_len, work_cap;
    uint64_t state_writes;      /* state records written (masteryd --check counts them) */
    engine_trace_item_t *trace; /* engine_trace's items, reused */
    size_t trace_cap;
    mastery_step_t *steps; /* engine_trace's steps, reused */
    size_t steps_cap;
};

engine_t *engine_new(catalog_t *cat)
{
    engine_t *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->cat = cat;
    return e;
}

void engine_destroy(engine_t **ep)
{
    if (ep == NULL || *ep == NULL)
        return;
    free((*ep)->samples);
    free((*ep)->work);
    free((*ep)->trace);
    free((*ep)->steps);
    free(*ep);
    *ep = NULL;
}

void engine_set_now(engine_t *e, int64_t now_ms)
{
    e->now = now_ms;
}

bool engine_competency_known(const engine_t *e, const char *competency_id)
{
    uint32_t ci;
    for (uint32_t i = 0; i < catalog_count(e->cat); i++)
        if (graph_find(catalog_at(e->cat, i)->graph, competency_id, &ci) == 0)
            return true;
    return false;
}

_Static_assert(sizeof(engine_change_t) <= 24, "keep a change small: cascades write many");

/* ---- changes ------------------------------------------------------------------------------- */

void engine_changes_reset(engine_changes_t *c)
{
    c->n = 0;
}

void engine_changes_free(engine_changes_t *c)
{
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
}

/* Starts an operation's list: empty, naming the learner and what triggered it. */
static void changes_begin(engine_changes_t *c, const char *learner_id, const char *evidence_id,
                          const char *competency_id)
{
    c->n = 0;
    c->learner_id = learner_id;
    c->evidence_id = evidence_id ? evidence_id : "";
    c->evidence_source = "";
    c->competency_id = competency_id ? competency_id : "";
    c->reason = c->actor = NULL;
    c->granted = false;
}

static int change_push(engine_changes_t *c, const engine_change_t *ch)
{
    if (c->n == c->cap) {
        size_t max = (c->max_bytes ? c->max_bytes : ENGINE_CHANGES_BYTES_MAX) / sizeof *c->v;
        size_t cap = c->cap ? c->cap * 2 : 16;
        if (cap > max)
            cap = max;
        if (cap <= c->n)
            return ERR_NOMEM; /* over the list's byte budget */
        engine_change_t *v = realloc(c->v, cap * sizeof *v);
        if (v == NULL)
            return ERR_NOMEM;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = *ch;
    return 0;
}

/* A learner id with its key hash, computed once per request. */
typedef records_learner_t learner_t;

/* ---- state --------------------------------------------------------------------------------- */

static void state_default(const graph_comp_t *c, comp_state_t *st)
{
    memset(st, 0, sizeof *st);
    st->status = c->requires_kind == REQUIRES_NONE ? STATUS_UNLOCKED : STATUS_LOCKED;
}

static int state_get(store_txn_t *txn, const learner_t *l, const catalog_fw_t *fw, uint32_t ci,
                     comp_state_t *st)
{
    int rc = records_state_get(txn, l->hash, fw->hash, fw->comp_hash[ci], st);
    if (rc == ERR_NOT_FOUND) {
        state_default(graph_comp(fw->graph, ci), st);
        return 0;
    }
    return rc;
}

int engine_state_get(engine_t *e, store_txn_t *txn, const char *learner_id, const catalog_fw_t *fw,
                     uint32_t ci, comp_state_t *out)
{
    (void)e;
    learner_t l;
    records_learner_init(&l, learner_id);
    return state_get(txn, &l, fw, ci, out);
}

static int state_put(engine_t *e, store_txn_t *txn, const learner_t *l, const catalog_fw_t *fw,
                     uint32_t ci, const comp_state_t *st)
{
    e->state_writes++;
    return records_state_put(txn, l->hash, fw->hash, fw->comp_hash[ci], st);
}

/* ---- rules --------------------------------------------------------------------------------- */

static int samples_reserve(engine_t *e, size_t n)
{
    if (n <= e->samples_cap)
        return 0;
    size_t cap = e->samples_cap ? e->samples_cap * 2 : 64;
    while (cap < n)
        cap *= 2;
    mastery_sample_t *s = realloc(e->samples, cap * sizeof *s);
    if (s == NULL)
        return ERR_NOMEM;
    e->samples = s;
    e->samples_cap = cap;
    return 0;
}

static int trace_reserve(engine_t *e, size_t n)
{
    if (n <= e->trace_cap)
        return 0;
    size_t cap = e->trace_cap ? e->trace_cap * 2 : 64;
    while (cap < n)
        cap *= 2;
    engine_trace_item_t *t = realloc(e->trace, cap * sizeof *t);
    if (t == NULL)
        return ERR_NOMEM;
    e->trace = t;
    e->trace_cap = cap;
    return 0;
}

static int steps_reserve(engine_t *e, size_t n)
{
    if (n <= e->steps_cap)
        return 0;
    size_t cap = e->steps_cap ? e->steps_cap * 2 : 64;
    while (cap < n)
        cap *= 2;
    mastery_step_t *t = realloc(e->steps, cap * sizeof *t);
    if (t == NULL)
        return ERR_NOMEM;
    e->steps = t;
    e->steps_cap = cap;
    return 0;
}

/*
 * The rule over the learner's evidence on ci: the one evaluation that decides mastery (process,
 * overrides) and explains it (engine_trace). Loads the counted items into e->samples[0..*n);
 * with items, also records every stored item into e->trace[0..*n_items) and, with steps, each
 * counted item's step.
 */
static int evaluate_full(engine_t *e, store_txn_t *txn, const learner_t *learner,
                         const catalog_fw_t *fw, uint32_t ci, const comp_state_t *st,
                         mastery_result_t *res, size_t *n_out, bool items, bool steps,
                         size_t *n_items)
{
    const graph_comp_t *c = graph_comp(fw->graph, ci);
    memset(res, 0, sizeof *res);
    *n_out = 0;
    if (n_items)
        *n_items = 0;
    int rc;
    if (c->rule.method == RULE_CHILDREN) {
        uint32_t mastered = 0;
        for (uint32_t i = 0; i < c->n_children; i++) {
            comp_state_t cs;
            if ((rc = state_get(txn, learner, fw, c->children[i], &cs)) != 0)
                return rc;
            mastered += cs.status == STATUS_MASTERED;
        }
        uint32_t need = c->rule.children_k ? c->rule.children_k : c->n_children;
        res->count = mastered;
        res->score = c->n_children ? (double)mastered / c->n_children : 0.0;
        res->met = mastered >= need;
        return 0;
    }
    records_evidence_iter_t it;
    records_evidence_t r;
    size_t n = 0, all = 0;
    if ((rc = records_evidence_iter_open(txn, learner->hash, fw->comp_hash[ci], &it)) != 0)
        return rc;
    while ((rc = records_evidence_iter_next(&it, &r)) == 0) {
        bool counted =
            !r.retracted && !((st->flags & STATE_WITHDRAWN) && r.observed_at < st->override_at);
        mastery_sample_t smp = {r.score, r.weight, (sample_outcome_t)r.outcome};
        if (items) {
            if ((rc = trace_reserve(e, all + 1)) != 0)
                break;
            e->trace[all++] = (engine_trace_item_t){.blob = r.blob,
                                                    .blob_len = r.blob_len,
                                                    .rkey = r.rkey,
                                                    .rkey_len = r.rkey_len,
                                                    .observed_at = r.observed_at,
                                                    .sample = smp,
                                                    .retracted = r.retracted,
                                                    .counted = counted};
        }
        if (!counted)
            continue;
        if ((rc = samples_reserve(e, n + 1)) != 0)
            break;
        e->samples[n++] = smp;
    }
    records_evidence_iter_close(&it);
    if (rc != ERR_NOT_FOUND)
        return rc;
    *n_out = n;
    if (n_items)
        *n_items = all;
    if (!steps)
        return mastery_eval(&c->rule, e->samples, n, res);
    if ((rc = steps_reserve(e, n ? n : 1)) != 0)
        return rc;
    if ((rc = mastery_eval_steps(&c->rule, e->samples, n, res, e->steps)) != 0)
        return rc;
    for (size_t i = 0, k = 0; i < all; i++)
        if (e->trace[i].counted)
            e->trace[i].step = e->steps[k++];
    return 0;
}

static int evaluate(engine_t *e, store_txn_t *txn, const learner_t *learner, const catalog_fw_t *fw,
                    uint32_t ci, const comp_state_t *st, mastery_result_t *res)
{
    size_t n;
    return evaluate_full(e, txn, learner, fw, ci, st, res, &n, false, false, NULL);
}

static int requires_count(store_txn_t *txn, const learner_t *learner, const catalog_fw_t *fw,
                          const graph_comp_t *c, bool *met, uint32_t *count)
{
    *count = 0;
    if (c->requires_kind == REQUIRES_NONE) {
        *met = true;
        return 0;
    }
    uint32_t mastered = 0;
    for (uint32_t i = 0; i < c->n_requires; i++) {
        comp_state_t rs;
        int rc = state_get(txn, learner, fw, c->requires[i], &rs);
        if (rc != 0)
            return rc;
        mastered += rs.status == STATUS_MASTERED;
    }
    *met = mastered >= c->requires_k;
    *count = mastered;
    return 0;
}

static int requires_met(store_txn_t *txn, const learner_t *learner, const catalog_fw_t *fw,
                        const graph_comp_t *c, bool *met)
{
    uint32_t count;
    return requires_count(txn, learner, fw, c, met, &count);
}

static int record_change(engine_changes_t *out, engine_change_kind_t kind, const catalog_fw_t *fw,
                         uint32_t ci, double score)
{
    engine_change_t ch = {.kind = kind, .competency = ci, .fw = fw, .score = score};
    return change_push(out, &ch);
}

static int review_update(engine_t *e, store_txn_t *txn, const learner_t *learner,
                         const catalog_fw_t *fw, uint32_t ci, const comp_state_t *st,
                         engine_changes_t *out);

/*
 * Brings one competency's state up to date: rule value, unlock, mastery. Sets *mastered when
 * this call made it MASTERED (the caller cascades). Writes only when something changed.
 */
static int process(engine_t *e, store_txn_t *txn, const learner_t *learner, const catalog_fw_t *fw,
                   uint32_t ci, bool *mastered, engine_changes_t *out)
{
    const graph_comp_t *c = graph_comp(fw->graph, ci);
    comp_state_t st, before;
    mastery_result_t res;
    int rc;
    *mastered = false;
    if ((rc = state_get(txn, learner, fw, ci, &st)) != 0)
        return rc;
    before = st;
    if ((rc = evaluate(e, txn, learner, fw, ci, &st, &res)) != 0)
        return rc;
    st.score = res.score;
    st.evidence_count = c->rule.method == RULE_CHILDREN ? st.evidence_count : res.count;
    st.flags = (uint8_t)(res.met ? st.flags | STATE_RULE_MET : st.flags & ~STATE_RULE_MET);
    if (st.status == STATUS_LOCKED) {
        bool met;
        if ((rc = requires_met(txn, learner, fw, c, &met)) != 0)
            return rc;
        if (met) {
            st.status = STATUS_UNLOCKED;
            st.unlocked_at = e->now;
            if ((rc = record_change(out, CHANGE_UNLOCKED, fw, ci, st.score)) != 0)
                return rc;
        }
    }
    if (st.status == STATUS_UNLOCKED && res.met) {
        st.status = STATUS_MASTERED;
        st.mastered_at = e->now;
        st.flags &= (uint8_t) ~(STATE_OVERRIDDEN | STATE_WITHDRAWN);
        *mastered = true;
        if ((rc = record_change(out, CHANGE_MASTERED, fw, ci, st.score)) != 0)
            return rc;
    }
    if ((rc = review_update(e, txn, learner, fw, ci, &st, out)) != 0)
        return rc;
    if (memcmp(&st, &before, sizeof st) == 0)
        return 0;
    st.updated_at = e->now;
    return state_put(e, txn, learner, fw, ci, &st);
}

static int work_push(engine_t *e, uint32_t ci)
{
    if (e->work_len == e->work_cap) {
        size_t cap = e->work_cap ? e->work_cap * 2 : 64;
        uint32_t *w = realloc(e->work, cap * sizeof *w);
        if (w == NULL)
            return ERR_NOMEM;
        e->work = w;
        e->work_cap = cap;
    }
    e->work[e->work_len++] = ci;
    return 0;
}

/* Everything that may change because competency `from` was just mastered, transitively. */
static int cascade(engine_t *e, store_txn_t *txn, const learner_t *learner, const catalog_fw_t *fw,
                   uint32_t from, engine_changes_t *out)
{
    int rc;
    e->work_len = 0;
    if ((rc = work_push(e, from)) != 0)
        return rc;
    while (e->work_len > 0) {
        const graph_comp_t *x = graph_comp(fw->graph, e->work[--e->work_len]);
        for (int pass = 0; pass < 2; pass++) {
            const uint32_t *next = pass == 0 ? x->dependents : x->parents;
            uint32_t n = pass == 0 ? x->n_dependents : x->n_parents;
            for (uint32_t i = 0; i < n; i++) {
                bool mastered;
                if ((rc = process(e, txn, learner, fw, next[i], &mastered, out)) != 0)
                    return rc;
                if (mastered && (rc = work_push(e, next[i])) != 0)
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- evidence ------------------------------------------------------------------------------ */

int engine_evidence_find(engine_t *e, store_txn_t *txn, const char *source, const char *evidence_id,
                         store_val_t *blob)
{
    (void)e;
    records_evidence_t r;
    int rc = records_evidence_find(txn, source, evidence_id, &r);
    if (rc == 0)
        rc = records_evidence_open(txn, &r, &blob->data, &blob->len);
    return rc;
}

/* Evaluates competency_id in every framework that has it, cascading from new masteries. */
static int process_everywhere(engine_t *e, store_txn_t *txn, const learner_t *l,
                              const char *competency_id, engine_changes_t *out)
{
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < catalog_count(e->cat); i++) {
        const catalog_fw_t *fw = catalog_at(e->cat, i);
        uint32_t ci;
        bool mastered;
        if (graph_find(fw->graph, competency_id, &ci) != 0)
            continue;
        rc = process(e, txn, l, fw, ci, &mastered, out);
        if (rc == 0 && mastered)
            rc = cascade(e, txn, l, fw, ci, out);
    }
    return rc;
}

int engine_evidence_add(engine_t *e, store_txn_t *txn, const engine_evidence_t *ev,
                        const void *blob, size_t blob_len, engine_changes_t *out)
{
    learner_t l;
    records_learner_init(&l, ev->learner_id);
    const char *source = ev->source ? ev->source : "";
    changes_begin(out, ev->learner_id, ev->evidence_id, ev->competency_id);
    out->evidence_source = source;
    records_evidence_t r = {
        .score = ev->score,
        .weight = ev->weight,
        .observed_at = ev->observed_at,
        .outcome = (uint8_t)ev->outcome,
        .logged = ev->logged,
        .log_index = ev->log_index,
        .blob = blob,
        .blob_len = blob_len,
    };
    int rc;
    if ((rc = records_evidence_put(txn, &l, ev->competency_id, source, ev->evidence_id, &r)) != 0 ||
        (rc = records_profile_ensure(txn, &l)) != 0)
        return rc;
    return process_everywhere(e, txn, &l, ev->competency_id, out);
}

int engine_evidence_retract(engine_t *e, store_txn_t *txn, const char *source,
                            const char *evidence_id, const char *learner_id,
                            const char *competency_id, const char *reason, bool *already,
                            engine_changes_t *out, err_detail_t *d)
{
    changes_begin(out, learner_id, evidence_id, competency_id);
    out->evidence_source = source;
    out->reason = reason;
    int rc = records_evidence_retract(txn, source, evidence_id, already);
    if (rc == ERR_NOT_FOUND)
        return err_set(d, ERR_NOT_FOUND, "retract_evidence.evidence_id",
                       "no evidence with id '%s' from source '%s'", evidence_id, source);
    if (rc != 0 || *already)
        return rc;
    engine_change_t ch = {.kind = CHANGE_RETRACTED};
    if ((rc = change_push(out, &ch)) != 0)
        return rc;
    learner_t l;
    records_learner_init(&l, learner_id);
    return process_everywhere(e, txn, &l, competency_id, out);
}

/* ---- framework revisions ------------------------------------------------------------------- */

/* The smallest hash greater than h (big-endian increment); false when h is all ones. */
static bool hash_next(uint8_t h[STORE_HASH_LEN])
{
    for (int i = STORE_HASH_LEN - 1; i >= 0; i--)
        if (++h[i] != 0)
            return true;
    return false;
}

/* Whether the learner has evidence on any competency of fw: one seek per competency the
 * learner has evidence on, stopping at the first that fw has. */
static int has_evidence_in(store_txn_t *txn, const uint8_t learner_hash[STORE_HASH_LEN],
                           const catalog_fw_t *fw, bool *any)
{
    uint8_t comp[STORE_HASH_LEN];
    const uint8_t *from = NULL;
    *any = false;
    for (;;) {
        int rc = records_evidence_next_competency(txn, learner_hash, from, comp);
        if (rc == ERR_NOT_FOUND)
            return 0;
        if (rc != 0)
            return rc;
        if (catalog_fw_has_hash(fw, comp)) {
            *any = true;
            return 0;
        }
        if (!hash_next(comp))
            return 0;
        from = comp;
    }
}

uint64_t engine_state_writes(const engine_t *e)
{
    return e->state_writes;
}

int engine_framework_reevaluate_next(engine_t *e, store_txn_t *txn, const catalog_fw_t *fw,
                                     engine_reeval_t *r, engine_changes_t *out)
{
    const graph_t *g = fw->graph;
    const uint32_t *order = graph_topo_order(g);
    changes_begin(out, "", "", "");
    /* One seek per learner: the next learner hash, its profile, then the framework in
     * topological order (prerequisites and children settle before what depends on them, so
     * one pass reaches the fixed point). Learners with records but no profile (only a
     * registered DID) have no evidence and no state: skipped. */
    for (;;) {
        if (r->done)
            return ERR_NOT_FOUND;
        int rc = records_learner_seek(txn, r->cursor, r->learner_id);
        if (rc == ERR_NOT_FOUND)
            r->done = true;
        if (rc == ERR_DATA_LOSS) /* the cursor names the learner: the next call goes past it */
            r->done = !hash_next(r->cursor);
        if (rc != 0)
            return rc;
        learner_t l = {.id = r->learner_id};
        memcpy(l.hash, r->cursor, STORE_HASH_LEN);
        changes_begin(out, r->learner_id, "", "");
        r->done = !hash_next(r->cursor);
        if (r->learner_id[0] == '\0')
            continue;
        if (fw->revision == 1) {
            /* A new framework has no states and no overrides yet: a learner without evidence
             * on any of its competencies keeps every default, so only the others are walked. */
            bool any;
            if ((rc = has_evidence_in(txn, l.hash, fw, &any)) != 0)
                return rc;
            if (!any)
                continue;
        }
        for (uint32_t j = 0; j < graph_count(g); j++) {
            bool mastered;
            if ((rc = process(e, txn, &l, fw, order[j], &mastered, out)) != 0)
                return rc;
        }
        return 0;
    }
}

/* ---- overrides ----------------------------------------------------------------------------- */

int engine_override(engine_t *e, store_txn_t *txn, const char *learner_id, const char *framework_id,
                    const char *competency_id, bool grant, const char *reason, const char *actor,
                    comp_state_t *out, engine_changes_t *changes, err_detail_t *d)
{
    changes_begin(changes, learner_id, "", competency_id);
    changes->reason = reason;
    changes->actor = actor;
    changes->granted = grant;
    const catalog_fw_t *fw = catalog_find(e->cat, framework_id);
    if (fw == NULL)
        return err_set(d, ERR_NOT_FOUND, "override.framework_id", "no framework '%s'",
                       framework_id);
    uint32_t ci;
    if (graph_find(fw->graph, competency_id, &ci) != 0)
        return err_set(d, ERR_NOT_FOUND, "override.competency_id",
                       "framework '%s' has no competency '%s'", framework_id, competency_id);
    const graph_comp_t *c = graph_comp(fw->graph, ci);
    learner_t l;
    records_learner_init(&l, learner_id);
    comp_state_t st;
    int rc;
    if ((rc = state_get(txn, &l, fw, ci, &st)) != 0)
        return rc;
    engine_change_t ch = {.kind = CHANGE_OVERRIDE, .competency = ci, .fw = fw, .score = st.score};
    if ((rc = change_push(changes, &ch)) != 0)
        return rc;
    bool newly_mastered = false;
    st.override_at = e->now;
    if (grant) {
        if (st.status != STATUS_MASTERED) {
            newly_mastered = true;
            if (st.unlocked_at == 0)
                st.unlocked_at = e->now;
            st.status = STATUS_MASTERED;
            st.mastered_at = e->now;
        }
        st.flags = (uint8_t)((st.flags & STATE_RULE_MET) | STATE_OVERRIDDEN);
    } else {
        bool met;
        if ((rc = requires_met(txn, &l, fw, c, &met)) != 0)
            return rc;
        st.status = met ? STATUS_UNLOCKED : STATUS_LOCKED;
        st.mastered_at = 0;
        st.flags = STATE_OVERRIDDEN | STATE_WITHDRAWN;
        mastery_result_t res;
        if ((rc = evaluate(e, txn, &l, fw, ci, &st, &res)) != 0)
            return rc;
        st.score = res.score;
        if (res.met)
            st.flags |= STATE_RULE_MET;
    }
    st.updated_at = e->now;
    records_override_t o = {.at = e->now, .granted = grant, .actor = actor, .reason = reason};
    if ((rc = state_put(e, txn, &l, fw, ci, &st)) != 0 ||
        (rc = records_override_put(txn, &l, fw->hash, fw->comp_hash[ci], &o)) != 0 ||
        (rc = records_profile_ensure(txn, &l)) != 0 ||
        (rc = review_update(e, txn, &l, fw, ci, &st, changes)) != 0)
        return rc;
    if (newly_mastered) {
        if ((rc = record_change(changes, CHANGE_MASTERED, fw, ci, st.score)) != 0 ||
            (rc = cascade(e, txn, &l, fw, ci, changes)) != 0)
            return rc;
    }
    *out = st;
    return 0;
}

/* ---- traces (Next, Explain) ---------------------------------------------------------------- */

int engine_trace(engine_t *e, store_txn_t *txn, const char *learner_id, const catalog_fw_t *fw,
                 uint32_t ci, int64_t now_ms, bool want_items, engine_trace_t *out)
{
    const graph_comp_t *c = graph_comp(fw->graph, ci);
    learner_t l;
    records_learner_init(&l, learner_id);
    memset(out, 0, sizeof *out);
    out->distance.min_score = -1.0;
    out->distance.items_at_one = MASTERY_DISTANCE_FAR;
    int rc;
    if ((rc = state_get(txn, &l, fw, ci, &out->state)) != 0 ||
        (rc = requires_count(txn, &l, fw, c, &out->requires_met, &out->requires_mastered)) != 0)
        return rc;
    size_t n, all;
    bool evidence_rule = c->rule.method != RULE_CHILDREN;
    if ((rc = evaluate_full(e, txn, &l, fw, ci, &out->state, &out->result, &n, evidence_rule,
                            want_items, &all)) != 0)
        return rc;
    if (evidence_rule) {
        if ((rc = samples_reserve(e, n + MASTERY_DISTANCE_MAX_ITEMS)) != 0)
            return rc;
        if ((rc = mastery_distance(&c->rule, e->samples, n, e->samples_cap, &out->distance)) != 0)
            return rc;
        for (size_t i = 0; i < all; i++) {
            engine_trace_item_t *t = &e->trace[i];
            t->fresh = t->counted && mastery_sample_fresh(&c->rule, &t->sample);
            if (t->fresh && t->observed_at >= out->last_fresh_at)
                out->last_fresh_at = t->observed_at;
        }
    }
    if (out->state.status == STATUS_MASTERED && c->review_after_ms > 0) {
        int64_t anchor = out->last_fresh_at ? out->last_fresh_at : out->state.mastered_at;
        out->review_due_at = anchor + c->review_after_ms;
        out->review_due = now_ms >= out->review_due_at;
        for (size_t i = 0; out->review_due && i < all; i++)
            if (e->trace[i].counted && !e->trace[i].fresh &&
                e->trace[i].observed_at >= out->review_due_at)
                out->review_failures++;
        out->review_failed = out->review_failures >= ENGINE_REVIEW_FAIL_K;
    }
    if (want_items && evidence_rule) {
        out->items = e->trace;
        out->n_items = all;
    }
    return 0;
}

int engine_learner_known(engine_t *e, store_txn_t *txn, const char *learner_id)
{
    (void)e;
    learner_t l;
    records_learner_init(&l, learner_id);
    return records_profile_exists(txn, &l);
}

int engine_override_get(engine_t *e, store_txn_t *txn, const char *learner_id,
                        const catalog_fw_t *fw, uint32_t ci, records_override_t *out)
{
    (void)e;
    learner_t l;
    records_learner_init(&l, learner_id);
    int rc = records_override_get(txn, &l, fw->hash, fw->comp_hash[ci], out);
    records_learner_forget(&l);
    return rc;
}

/* ---- reviews (engine.h) -------------------------------------------------------------------- */

/*
 * Keeps the learner's review record of ci true after its state moved (or not): a MASTERED
 * competency with review_after has a record holding the due moment (from the evidence, as
 * engine_trace computes it); a fresh item starts a new period (a new due moment, flags clear);
 * the K-th failed item of a period records CHANGE_REVIEW_FAILED once. Anything else has none.
 * Writes only when something changed (masteryd --check counts the writes, like states').
 */
static int review_update(engine_t *e, store_txn_t *txn, const learner_t *learner,
                         const catalog_fw_t *fw, uint32_t ci, const comp_state_t *st,
                         engine_changes_t *out)
{
    const graph_comp_t *c = graph_comp(fw->graph, ci);
    records_review_t old, rec;
    int rc = records_review_get(txn, learner->hash, fw->hash, fw->comp_hash[ci], &old);
    if (rc != 0 && rc != ERR_NOT_FOUND)
        return rc;
    bool had = rc == 0;
    if (c->review_after_ms <= 0 || st->status != STATUS_MASTERED) {
        if (!had)
            return 0;
        e->state_writes++;
        return records_review_delete(txn, learner->hash, fw->hash, fw->comp_hash[ci], &old);
    }
    int64_t last_fresh = 0;
    size_t all = 0, n;
    mastery_result_t res;
    if (c->rule.method != RULE_CHILDREN &&
        (rc = evaluate_full(e, txn, learner, fw, ci, st, &res, &n, true, false, &all)) != 0)
        return rc;
    for (size_t i = 0; i < all; i++) {
        engine_trace_item_t *t = &e->trace[i];
        t->fresh = t->counted && mastery_sample_fresh(&c->rule, &t->sample);
        if (t->fresh && t->observed_at > last_fresh)
            last_fresh = t->observed_at;
    }
    int64_t due_at = (last_fresh ? last_fresh : st->mastered_at) + c->review_after_ms;
    uint32_t failures = 0;
    for (size_t i = 0; i < all; i++)
        if (e->trace[i].counted && !e->trace[i].fresh && e->trace[i].observed_at >= due_at)
            failures++;
    if (had && old.due_at == due_at)
        rec = old;
    else
        rec = (records_review_t){.due_at = due_at};
    if (failures >= ENGINE_REVIEW_FAIL_K && !(rec.flags & RECORDS_REVIEW_FAILED)) {
        rec.flags |= RECORDS_REVIEW_FAILED;
        if ((rc = record_change(out, CHANGE_REVIEW_FAILED, fw, ci, (double)failures)) != 0)
            return rc;
    }
    if (had && memcmp(&rec, &old, sizeof rec) == 0)
        return 0;
    e->state_writes++;
    learner_t key = *learner; /* the put may unlock it */
    rc = records_review_put(txn, &key, graph_id(fw->graph), fw->hash, c->id, fw->comp_hash[ci],
                            had ? &old : NULL, &rec);
    records_learner_forget(&key);
    return rc;
}

int engine_review_due_next(engine_t *e, store_txn_t *txn, int64_t now_ms, size_t *looked,
                           engine_review_due_t *out)
{
    for (;;) {
        records_review_due_t d;
        int rc = records_review_first_due(txn, now_ms, &d);
        if (rc != 0)
            return rc;
        (*looked)++;
        const catalog_fw_t *fw = catalog_find(e->cat, d.framework_id);
        uint32_t ci = 0;
        records_review_t rec;
        bool valid = fw != NULL && graph_find(fw->graph, d.competency_id, &ci) == 0 &&
                     graph_comp(fw->graph, ci)->review_after_ms > 0 &&
                     memcmp(fw->comp_hash[ci], d.comp_hash, STORE_HASH_LEN) == 0;
        if (valid) {
            rc = records_review_get(txn, d.learner_hash, fw->hash, fw->comp_hash[ci], &rec);
            if (rc != 0 && rc != ERR_NOT_FOUND)
                return rc;
            valid = rc == 0 && rec.due_at == d.due_at && !(rec.flags & RECORDS_REVIEW_PUBLISHED);
        }
        if (!valid) { /* stale: nothing to say; the next one may be */
            if ((rc = records_review_index_delete(txn, &d)) != 0)
                return rc;
            continue;
        }
        /* d's strings are borrowed from the index: copied before the writes below */
        snprintf(out->learner_id, sizeof out->learner_id, "%s", d.learner_id);
        out->fw = fw;
        out->ci = ci;
        out->due_at = d.due_at;
        learner_t l = {.id = out->learner_id};
        memcpy(l.hash, d.learner_hash, STORE_HASH_LEN);
        records_review_t pub = rec;
        pub.flags |= RECORDS_REVIEW_PUBLISHED;
        return records_review_put(txn, &l, graph_id(fw->graph), fw->hash,
                                  graph_comp(fw->graph, ci)->id, fw->comp_hash[ci], &rec, &pub);
    }
}

uint64_t engine_reviews_pending(engine_t *e, store_txn_t *txn)
{
    (void)e;
    return records_review_pending(txn);
}

int engine_states_load(engine_t *e, store_txn_t *txn, const char *learner_id,
                       const catalog_fw_t *fw, comp_state_t *states, int64_t *due)
{
    (void)e;
    uint32_t n = graph_count(fw->graph);
    for (uint32_t i = 0; i < n; i++)
        state_default(graph_comp(fw->graph, i), &states[i]);
    learner_t l;
    records_learner_init(&l, learner_id);
    records_state_iter_t it;
    int rc = records_state_iter_open(txn, l.hash, fw->hash, &it);
    if (rc != 0)
        return rc;
    const uint8_t *ch;
    comp_state_t st;
    while ((rc = records_state_iter_next(&it, &ch, &st)) == 0) {
        uint32_t ci;
        if (catalog_fw_find_hash(fw, ch, &ci) == 0)
            states[ci] = st; /* a competency an older revision had is not ours to show */
    }
    records_state_iter_close(&it);
    if (rc != ERR_NOT_FOUND)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        due[i] = ENGINE_NO_REVIEW;
    records_review_iter_t ri;
    records_review_t rec;
    if ((rc = records_review_iter_open(txn, l.hash, fw->hash, &ri)) != 0)
        return rc;
    while ((rc = records_review_iter_next(&ri, &ch, &rec)) == 0) {
        uint32_t ci;
        if (catalog_fw_find_hash(fw, ch, &ci) == 0)
            due[ci] = rec.due_at;
    }
    records_review_iter_close(&ri);
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

int engine_trace_next(engine_t *e, store_txn_t *txn, const char *learner_id, const catalog_fw_t *fw,
                      uint32_t ci, const comp_state_t *states, const int64_t *due, int64_t now_ms,
                      engine_trace_t *out)
{
    const graph_comp_t *c = graph_comp(fw->graph, ci);
    memset(out, 0, sizeof *out);
    out->distance.min_score = -1.0;
    out->distance.items_at_one = MASTERY_DISTANCE_FAR;
    out->state = states[ci];
    out->requires_met = c->requires_kind == REQUIRES_NONE;
    for (uint32_t i = 0; i < c->n_requires; i++)
        out->requires_mastered += states[c->requires[i]].status == STATUS_MASTERED;
    if (c->requires_kind != REQUIRES_NONE)
        out->requires_met = out->requires_mastered >= c->requires_k;
    out->result.score = out->state.score;
    if (out->state.status == STATUS_LOCKED)
        return 0;
    learner_t l;
    records_learner_init(&l, learner_id);
    int rc;
    if (out->state.status == STATUS_UNLOCKED) {
        if (c->rule.method == RULE_CHILDREN) {
            uint32_t m = 0;
            for (uint32_t i = 0; i < c->n_children; i++)
                m += states[c->children[i]].status == STATUS_MASTERED;
            out->result.count = m;
            out->result.score = c->n_children ? (double)m / c->n_children : 0.0;
            return 0;
        }
        size_t n;
        if ((rc = evaluate_full(e, txn, &l, fw, ci, &out->state, &out->result, &n, false, false,
                                NULL)) != 0 ||
            (rc = samples_reserve(e, n + MASTERY_DISTANCE_MAX_ITEMS)) != 0)
            return rc;
        return mastery_distance(&c->rule, e->samples, n, e->samples_cap, &out->distance);
    }
    if (c->review_after_ms <= 0)
        return 0;
    if (due[ci] == ENGINE_NO_REVIEW) /* no record (never re-evaluated since): compute it */
        return engine_trace(e, txn, learner_id, fw, ci, now_ms, false, out);
    out->review_due_at = due[ci];
    out->review_due = now_ms >= due[ci];
    if (!out->review_due)
        return 0;
    /* due: the failures since, from the items (the review record says only whether the
     * review_failed event went out) */
    return engine_trace(e, txn, learner_id, fw, ci, now_ms, false, out);
}
