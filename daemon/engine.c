#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "graph.h"

struct engine {
    catalog_t *cat;
    engine_emit_fn emit;
    void *emit_ctx;
    int64_t now;
    mastery_sample_t *samples; /* reused across evaluations */
    size_t samples_cap;
    uint32_t *work; /* cascade worklist */
    size_t work_len, work_cap;
};

/* Stored in front of the caller's blob in every evidence record: what the rules read, so
 * evaluating a competency never has to decode the full item. */
typedef struct ev_header {
    double score;
    double weight;
    int64_t observed_at;
    uint8_t outcome;
    uint8_t flags;
    uint8_t reserved[6];
} ev_header_t;

_Static_assert(sizeof(ev_header_t) == 32, "evidence header is a stored format");

#define EV_RETRACTED 1u /* ev_header_t.flags: excluded from every rule */
_Static_assert(sizeof(comp_state_t) == 48, "state record is a stored format");

engine_t *engine_new(catalog_t *cat, engine_emit_fn emit, void *emit_ctx)
{
    engine_t *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->cat = cat;
    e->emit = emit;
    e->emit_ctx = emit_ctx;
    return e;
}

void engine_destroy(engine_t **ep)
{
    if (ep == NULL || *ep == NULL)
        return;
    free((*ep)->samples);
    free((*ep)->work);
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

/* ---- keys ---------------------------------------------------------------------------------- */

/* A learner id with its key hash, computed once per request. */
typedef struct learner {
    const char *id;
    uint8_t hash[STORE_HASH_LEN];
} learner_t;

static void learner_init(learner_t *l, const char *id)
{
    l->id = id;
    store_hash_id(id, l->hash);
}

static void key_state(store_key_t *k, const learner_t *l, const catalog_fw_t *fw, uint32_t ci)
{
    store_key_reset(k);
    store_key_bytes(k, l->hash, STORE_HASH_LEN);
    store_key_byte(k, 'S');
    store_key_bytes(k, fw->hash, STORE_HASH_LEN);
    store_key_bytes(k, fw->comp_hash[ci], STORE_HASH_LEN);
}

static void key_evidence_prefix(store_key_t *k, const learner_t *l, const uint8_t *comp_hash)
{
    store_key_reset(k);
    store_key_bytes(k, l->hash, STORE_HASH_LEN);
    store_key_byte(k, 'E');
    store_key_bytes(k, comp_hash, STORE_HASH_LEN);
}

static void key_profile(store_key_t *k, const uint8_t *learner_hash)
{
    store_key_reset(k);
    store_key_bytes(k, learner_hash, STORE_HASH_LEN);
    store_key_byte(k, 'P');
}

/* ---- state --------------------------------------------------------------------------------- */

static void state_default(const graph_comp_t *c, comp_state_t *st)
{
    memset(st, 0, sizeof *st);
    st->status = c->requires_kind == REQUIRES_NONE ? STATUS_UNLOCKED : STATUS_LOCKED;
}

static int state_get(store_txn_t *txn, const learner_t *l, const catalog_fw_t *fw, uint32_t ci,
                     comp_state_t *st)
{
    store_key_t k;
    store_val_t v;
    key_state(&k, l, fw, ci);
    int rc = store_get(txn, STORE_DB_LEARNERS, &k, &v);
    if (rc == ERR_NOT_FOUND) {
        state_default(graph_comp(fw->graph, ci), st);
        return 0;
    }
    if (rc != 0)
        return rc;
    if (v.len != sizeof *st)
        return ERR_INTERNAL;
    memcpy(st, v.data, sizeof *st);
    return 0;
}

int engine_state_get(engine_t *e, store_txn_t *txn, const char *learner_id, const catalog_fw_t *fw,
                     uint32_t ci, comp_state_t *out)
{
    (void)e;
    learner_t l;
    learner_init(&l, learner_id);
    return state_get(txn, &l, fw, ci, out);
}

static int state_put(store_txn_t *txn, const learner_t *l, const catalog_fw_t *fw, uint32_t ci,
                     const comp_state_t *st)
{
    store_key_t k;
    key_state(&k, l, fw, ci);
    return store_put(txn, STORE_DB_LEARNERS, &k, st, sizeof *st, 0);
}

/* The profile record maps a learner hash back to the id (re-evaluation walks them). It sits
 * beside the learner's other records, so writing it costs no extra page. */
static int profile_ensure(store_txn_t *txn, const learner_t *l)
{
    store_key_t k;
    store_val_t v;
    key_profile(&k, l->hash);
    int rc = store_get(txn, STORE_DB_LEARNERS, &k, &v);
    if (rc == ERR_NOT_FOUND)
        rc = store_put(txn, STORE_DB_LEARNERS, &k, l->id, strlen(l->id), 0);
    return rc;
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

static int evaluate(engine_t *e, store_txn_t *txn, const learner_t *learner, const catalog_fw_t *fw,
                    uint32_t ci, const comp_state_t *st, mastery_result_t *res)
{
    const graph_comp_t *c = graph_comp(fw->graph, ci);
    memset(res, 0, sizeof *res);
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
    store_key_t prefix;
    key_evidence_prefix(&prefix, learner, fw->comp_hash[ci]);
    store_iter_t it;
    store_val_t k, v;
    size_t n = 0;
    if ((rc = store_iter_open(txn, STORE_DB_LEARNERS, &prefix, NULL, &it)) != 0)
        return rc;
    while ((rc = store_iter_next(&it, &k, &v)) == 0) {
        ev_header_t h;
        if (v.len < sizeof h) {
            rc = ERR_INTERNAL;
            break;
        }
        memcpy(&h, v.data, sizeof h);
        if (h.flags & EV_RETRACTED)
            continue;
        if ((st->flags & STATE_WITHDRAWN) && h.observed_at < st->override_at)
            continue;
        if ((rc = samples_reserve(e, n + 1)) != 0)
            break;
        e->samples[n++] = (mastery_sample_t){h.score, h.weight, (sample_outcome_t)h.outcome};
    }
    store_iter_close(&it);
    if (rc != ERR_NOT_FOUND)
        return rc;
    return mastery_eval(&c->rule, e->samples, n, res);
}

static int requires_met(store_txn_t *txn, const learner_t *learner, const catalog_fw_t *fw,
                        const graph_comp_t *c, bool *met)
{
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
    return 0;
}

static int emit_state(engine_t *e, engine_event_kind_t kind, const learner_t *learner,
                      const catalog_fw_t *fw, const graph_comp_t *c, const char *trigger,
                      double score)
{
    engine_event_t ev = {
        .kind = kind,
        .learner_id = learner->id,
        .framework_id = graph_id(fw->graph),
        .competency_id = c->id,
        .evidence_id = trigger ? trigger : "",
        .score = score,
        .revision = fw->revision,
    };
    return e->emit(e->emit_ctx, &ev);
}

/*
 * Brings one competency's state up to date: rule value, unlock, mastery. Sets *mastered when
 * this call made it MASTERED (the caller cascades). Writes only when something changed.
 */
static int process(engine_t *e, store_txn_t *txn, const learner_t *learner, const catalog_fw_t *fw,
                   uint32_t ci, const char *trigger, bool *mastered)
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
            if ((rc = emit_state(e, EVENT_UNLOCKED, learner, fw, c, trigger, st.score)) != 0)
                return rc;
        }
    }
    if (st.status == STATUS_UNLOCKED && res.met) {
        st.status = STATUS_MASTERED;
        st.mastered_at = e->now;
        st.flags &= (uint8_t) ~(STATE_OVERRIDDEN | STATE_WITHDRAWN);
        *mastered = true;
        if ((rc = emit_state(e, EVENT_MASTERED, learner, fw, c, trigger, st.score)) != 0)
            return rc;
    }
    if (memcmp(&st, &before, sizeof st) == 0)
        return 0;
    st.updated_at = e->now;
    return state_put(txn, learner, fw, ci, &st);
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
                   uint32_t from, const char *trigger)
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
                if ((rc = process(e, txn, learner, fw, next[i], trigger, &mastered)) != 0)
                    return rc;
                if (mastered && (rc = work_push(e, next[i])) != 0)
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- evidence ------------------------------------------------------------------------------ */

int engine_record_blob(const store_val_t *record, store_val_t *blob)
{
    if (record->len < sizeof(ev_header_t))
        return ERR_INTERNAL;
    blob->data = (const uint8_t *)record->data + sizeof(ev_header_t);
    blob->len = record->len - sizeof(ev_header_t);
    return 0;
}

/* Finds the record key of a stored evidence id through the id index. */
static int evidence_locate(store_txn_t *txn, const char *evidence_id, store_key_t *rk)
{
    store_key_t k;
    store_val_t v;
    store_key_reset(&k);
    store_key_bytes(&k, evidence_id, strlen(evidence_id));
    int rc = store_get(txn, STORE_DB_EVIDENCE_ID, &k, &v);
    if (rc != 0)
        return rc;
    if (v.len != 2 * STORE_HASH_LEN + 8)
        return ERR_INTERNAL;
    /* The index value is the record key without its 'E' and id. */
    store_key_reset(rk);
    store_key_bytes(rk, v.data, STORE_HASH_LEN);
    store_key_byte(rk, 'E');
    store_key_bytes(rk, (const uint8_t *)v.data + STORE_HASH_LEN, STORE_HASH_LEN + 8);
    store_key_bytes(rk, evidence_id, strlen(evidence_id));
    return 0;
}

int engine_evidence_find(engine_t *e, store_txn_t *txn, const char *evidence_id, store_val_t *blob)
{
    (void)e;
    store_key_t k;
    store_val_t v;
    int rc = evidence_locate(txn, evidence_id, &k);
    if (rc != 0)
        return rc;
    if ((rc = store_get(txn, STORE_DB_LEARNERS, &k, &v)) != 0)
        return rc == ERR_NOT_FOUND ? ERR_INTERNAL : rc; /* index without record: corrupt */
    return engine_record_blob(&v, blob);
}

bool engine_record_retracted(const store_val_t *record)
{
    ev_header_t h;
    if (record->len < sizeof h)
        return false;
    memcpy(&h, record->data, sizeof h);
    return (h.flags & EV_RETRACTED) != 0;
}

int engine_evidence_add(engine_t *e, store_txn_t *txn, const engine_evidence_t *ev,
                        const void *blob, size_t blob_len)
{
    learner_t l;
    uint8_t comp_hash[STORE_HASH_LEN];
    store_key_t k, idx;
    int rc;
    learner_init(&l, ev->learner_id);
    store_hash_id(ev->competency_id, comp_hash);
    key_evidence_prefix(&k, &l, comp_hash);
    store_key_i64(&k, ev->observed_at);
    /* The id index points at the record: H(learner) H(comp) observed_at. */
    store_key_reset(&idx);
    store_key_bytes(&idx, l.hash, STORE_HASH_LEN);
    store_key_bytes(&idx, k.b + STORE_HASH_LEN + 1, STORE_HASH_LEN + 8);
    store_key_bytes(&k, ev->evidence_id, strlen(ev->evidence_id));

    size_t len = sizeof(ev_header_t) + blob_len;
    uint8_t stackbuf[2048];
    uint8_t *rec = len <= sizeof stackbuf ? stackbuf : malloc(len);
    if (rec == NULL)
        return ERR_NOMEM;
    ev_header_t h = {ev->score, ev->weight, ev->observed_at, (uint8_t)ev->outcome, 0, {0}};
    memcpy(rec, &h, sizeof h);
    memcpy(rec + sizeof h, blob, blob_len);
    rc = store_put(txn, STORE_DB_LEARNERS, &k, rec, len, 0);
    if (rec != stackbuf)
        free(rec);
    if (rc != 0)
        return rc;
    store_key_t idkey;
    store_key_reset(&idkey);
    store_key_bytes(&idkey, ev->evidence_id, strlen(ev->evidence_id));
    if ((rc = store_put(txn, STORE_DB_EVIDENCE_ID, &idkey, idx.b, idx.len, 0)) != 0 ||
        (rc = profile_ensure(txn, &l)) != 0)
        return rc;
    for (uint32_t i = 0; i < catalog_count(e->cat); i++) {
        const catalog_fw_t *fw = catalog_at(e->cat, i);
        uint32_t ci;
        bool mastered;
        if (graph_find(fw->graph, ev->competency_id, &ci) != 0)
            continue;
        if ((rc = process(e, txn, &l, fw, ci, ev->evidence_id, &mastered)) != 0)
            return rc;
        if (mastered && (rc = cascade(e, txn, &l, fw, ci, ev->evidence_id)) != 0)
            return rc;
    }
    return 0;
}

int engine_evidence_retract(engine_t *e, store_txn_t *txn, const char *evidence_id,
                            const char *learner_id, const char *competency_id, const char *reason,
                            bool *already, err_detail_t *d)
{
    store_key_t k;
    store_val_t v;
    *already = false;
    int rc = evidence_locate(txn, evidence_id, &k);
    if (rc == ERR_NOT_FOUND)
        return err_set(d, ERR_NOT_FOUND, "retract_evidence.evidence_id", "no evidence with id '%s'",
                       evidence_id);
    if (rc != 0 || (rc = store_get(txn, STORE_DB_LEARNERS, &k, &v)) != 0)
        return rc == ERR_NOT_FOUND ? ERR_INTERNAL : rc;
    ev_header_t h;
    if (v.len < sizeof h)
        return ERR_INTERNAL;
    memcpy(&h, v.data, sizeof h);
    if (h.flags & EV_RETRACTED) {
        *already = true;
        return 0;
    }
    /* Copy out before writing: v points into LMDB and a put may move it. */
    uint8_t *rec = malloc(v.len);
    if (rec == NULL)
        return ERR_NOMEM;
    size_t len = v.len;
    memcpy(rec, v.data, len);
    h.flags |= EV_RETRACTED;
    memcpy(rec, &h, sizeof h);
    rc = store_put(txn, STORE_DB_LEARNERS, &k, rec, len, 0);
    free(rec);
    if (rc == 0) {
        engine_event_t ev = {
            .kind = EVENT_RETRACTED,
            .learner_id = learner_id,
            .competency_id = competency_id,
            .framework_id = "",
            .evidence_id = evidence_id,
            .reason = reason,
        };
        rc = e->emit(e->emit_ctx, &ev);
    }
    learner_t l;
    if (rc == 0)
        learner_init(&l, learner_id);
    for (uint32_t i = 0; rc == 0 && i < catalog_count(e->cat); i++) {
        const catalog_fw_t *fw = catalog_at(e->cat, i);
        uint32_t ci;
        bool mastered;
        if (graph_find(fw->graph, competency_id, &ci) != 0)
            continue;
        rc = process(e, txn, &l, fw, ci, evidence_id, &mastered);
        if (rc == 0 && mastered)
            rc = cascade(e, txn, &l, fw, ci, evidence_id);
    }
    return rc;
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

int engine_framework_reevaluate(engine_t *e, store_txn_t *txn, const catalog_fw_t *fw)
{
    const graph_t *g = fw->graph;
    const uint32_t *order = graph_topo_order(g);
    uint8_t cursor[STORE_HASH_LEN] = {0};
    char id[STORE_KEY_MAX + 1];
    int rc = 0;
    /* Every learner with records, one seek per learner: find the next learner hash, read its
     * profile, then process the framework in topological order (prerequisites and children
     * settle before what depends on them, so one pass reaches the fixed point). */
    for (;;) {
        store_key_t start, pk;
        store_iter_t it;
        store_val_t k, v;
        store_key_reset(&start);
        store_key_bytes(&start, cursor, STORE_HASH_LEN);
        if ((rc = store_iter_open(txn, STORE_DB_LEARNERS, NULL, &start, &it)) != 0)
            return rc;
        rc = store_iter_next(&it, &k, &v);
        if (rc == 0 && k.len >= STORE_HASH_LEN)
            memcpy(cursor, k.data, STORE_HASH_LEN);
        store_iter_close(&it);
        if (rc == ERR_NOT_FOUND)
            return 0;
        if (rc != 0)
            return rc;
        key_profile(&pk, cursor);
        rc = store_get(txn, STORE_DB_LEARNERS, &pk, &v);
        if (rc == ERR_NOT_FOUND) { /* no evidence, no state (e.g. only a registered DID) */
            if (!hash_next(cursor))
                return 0;
            continue;
        }
        if (rc != 0)
            return rc;
        if (v.len > STORE_KEY_MAX)
            return ERR_INTERNAL;
        memcpy(id, v.data, v.len);
        id[v.len] = '\0';
        learner_t l = {.id = id};
        memcpy(l.hash, cursor, STORE_HASH_LEN);
        for (uint32_t j = 0; j < graph_count(g); j++) {
            bool mastered;
            if ((rc = process(e, txn, &l, fw, order[j], "", &mastered)) != 0)
                return rc;
        }
        if (!hash_next(cursor))
            return 0;
    }
}

/* ---- overrides ----------------------------------------------------------------------------- */

int engine_override(engine_t *e, store_txn_t *txn, const char *learner_id, const char *framework_id,
                    const char *competency_id, bool grant, const char *reason, const char *actor,
                    comp_state_t *out, err_detail_t *d)
{
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
    learner_init(&l, learner_id);
    comp_state_t st;
    int rc;
    if ((rc = state_get(txn, &l, fw, ci, &st)) != 0)
        return rc;
    engine_event_t ev = {
        .kind = EVENT_OVERRIDE,
        .learner_id = learner_id,
        .framework_id = framework_id,
        .competency_id = competency_id,
        .evidence_id = "",
        .mastered = grant,
        .reason = reason,
        .actor = actor,
        .score = st.score,
        .revision = fw->revision,
    };
    if ((rc = e->emit(e->emit_ctx, &ev)) != 0)
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
    if ((rc = state_put(txn, &l, fw, ci, &st)) != 0 || (rc = profile_ensure(txn, &l)) != 0)
        return rc;
    if (newly_mastered) {
        if ((rc = emit_state(e, EVENT_MASTERED, &l, fw, c, "", st.score)) != 0 ||
            (rc = cascade(e, txn, &l, fw, ci, "")) != 0)
            return rc;
    }
    *out = st;
    return 0;
}
