/* advice: the Next ranking (advice.h). */
#include "advice.h"

#include <stdlib.h>
#include <string.h>

#include "graph.h"

void advice_free(advice_t *a)
{
    free(a->steps);
    free(a->locked);
    free(a->states);
    free(a->due);
    memset(a, 0, sizeof *a);
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 64;
    void *p = realloc(*v, c * size);
    if (p == NULL)
        return ERR_NOMEM;
    *v = p;
    *cap = c;
    return 0;
}

#define CMP(a, b)                                                                                  \
    do {                                                                                           \
        if ((a) != (b))                                                                            \
            return (a) < (b) ? -1 : 1;                                                             \
    } while (0)

static int cmp_step(const void *pa, const void *pb)
{
    const advice_step_t *a = pa, *b = pb;
    CMP(!a->review, !b->review); /* reviews first */
    if (a->review) {
        CMP(!a->t.review_failed, !b->t.review_failed);
        CMP(a->t.review_due_at, b->t.review_due_at);
    } else {
        CMP(a->t.distance.items_at_one, b->t.distance.items_at_one);
        const graph_comp_t *ca = graph_comp(a->fw->graph, a->ci);
        const graph_comp_t *cb = graph_comp(b->fw->graph, b->ci);
        CMP(cb->unlocks_transitive, ca->unlocks_transitive);
        CMP(cb->unlocks_direct, ca->unlocks_direct);
        CMP(b->t.result.score, a->t.result.score);
    }
    CMP(a->fw_pos, b->fw_pos);
    CMP(a->ci, b->ci);
    return 0;
}

static int cmp_locked(const void *pa, const void *pb)
{
    const advice_locked_t *a = pa, *b = pb;
    CMP(a->missing, b->missing);
    const graph_comp_t *ca = graph_comp(a->fw->graph, a->ci);
    const graph_comp_t *cb = graph_comp(b->fw->graph, b->ci);
    CMP(cb->unlocks_transitive, ca->unlocks_transitive);
    CMP(a->fw_pos, b->fw_pos);
    CMP(a->ci, b->ci);
    return 0;
}

/*
 * Puts the k smallest of base[0..n) (by cmp) sorted in base[0..k), in place: the answer needs
 * the first few (10 steps, 5 locked) of hundreds, so insertion into a short sorted prefix
 * beats sorting everything. Returns how many are sorted in front (min(n, k)). tmp: size bytes.
 */
static size_t top_k(void *base, size_t n, size_t size, size_t k,
                    int (*cmp)(const void *, const void *), void *tmp)
{
    char *b = base;
    size_t m = 0; /* b[0..m) sorted */
    if (k == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char *x = b + i * size;
        if (m == k && cmp(x, b + (m - 1) * size) >= 0)
            continue;
        memcpy(tmp, x, size);
        size_t j = m < k ? m : k - 1; /* where the last kept one goes (or is dropped) */
        if (m < k && i != m)
            memcpy(x, b + m * size, size); /* keep b[m]'s old element at i: it is unseen */
        while (j > 0 && cmp(tmp, b + (j - 1) * size) < 0) {
            memcpy(b + j * size, b + (j - 1) * size, size);
            j--;
        }
        memcpy(b + j * size, tmp, size);
        if (m < k)
            m++;
    }
    return m;
}

int advice_next(engine_t *e, store_txn_t *txn, const char *learner_id,
                const catalog_fw_t *const *fws, size_t nfw, int64_t now_ms, size_t max_steps,
                size_t max_locked, advice_t *out)
{
    out->n_steps = out->n_locked = 0;
    out->mastered = out->total = out->reviews_due = 0;
    int rc;
    for (size_t f = 0; f < nfw; f++) {
        const catalog_fw_t *fw = fws[f];
        uint32_t n = graph_count(fw->graph);
        out->total += n;
        if (n > out->states_cap) {
            comp_state_t *s = realloc(out->states, n * sizeof *s);
            if (s != NULL)
                out->states = s;
            int64_t *d = realloc(out->due, n * sizeof *d);
            if (d != NULL)
                out->due = d;
            if (s == NULL || d == NULL)
                return ERR_NOMEM;
            out->states_cap = n;
        }
        if ((rc = engine_states_load(e, txn, learner_id, fw, out->states, out->due)) != 0)
            return rc;
        for (uint32_t ci = 0; ci < n; ci++) {
            const graph_comp_t *c = graph_comp(fw->graph, ci);
            engine_trace_t t;
            if ((rc = engine_trace_next(e, txn, learner_id, fw, ci, out->states, out->due, now_ms,
                                        &t)) != 0)
                return rc;
            if (t.state.status == STATUS_LOCKED) {
                if ((rc = grow((void **)&out->locked, &out->locked_cap, out->n_locked,
                               sizeof *out->locked)) != 0)
                    return rc;
                uint32_t need =
                    c->requires_k > t.requires_mastered ? c->requires_k - t.requires_mastered : 0;
                out->locked[out->n_locked++] =
                    (advice_locked_t){.fw = fw, .fw_pos = (uint32_t)f, .ci = ci, .missing = need};
                continue;
            }
            if (t.state.status == STATUS_MASTERED)
                out->mastered++;
            bool review = t.state.status == STATUS_MASTERED && t.review_due;
            bool learn = t.state.status == STATUS_UNLOCKED && c->rule.method != RULE_CHILDREN;
            if (!review && !learn)
                continue;
            out->reviews_due += review;
            if ((rc = grow((void **)&out->steps, &out->steps_cap, out->n_steps,
                           sizeof *out->steps)) != 0)
                return rc;
            out->steps[out->n_steps++] = (advice_step_t){
                .fw = fw, .fw_pos = (uint32_t)f, .ci = ci, .review = review, .t = t};
        }
    }
    advice_step_t ts;
    advice_locked_t tl;
    out->n_steps = top_k(out->steps, out->n_steps, sizeof *out->steps, max_steps, cmp_step, &ts);
    out->n_locked =
        top_k(out->locked, out->n_locked, sizeof *out->locked, max_locked, cmp_locked, &tl);
    return 0;
}
