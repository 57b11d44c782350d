#include "groups.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "graph.h"

#define DAY_MS 86400000LL

/* ---- import ------------------------------------------------------------------------------ */

static int hash_cmp(const void *a, const void *b)
{
    return memcmp(a, b, STORE_HASH_LEN);
}

/* Replaces the members of one kind with ids[0..n); counts into *added, *removed. */
static int members_replace(store_txn_t *txn, const uint8_t *group_hash, char kind, char *const *ids,
                           size_t n, uint32_t *added, uint32_t *removed)
{
    uint8_t(*want)[STORE_HASH_LEN] = malloc((n ? n : 1) * STORE_HASH_LEN);
    uint8_t(*gone)[STORE_HASH_LEN] = NULL;
    size_t n_gone = 0, cap_gone = 0;
    if (want == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        store_hash_id(ids[i], want[i]);
    qsort(want, n, STORE_HASH_LEN, hash_cmp);
    records_member_iter_t it;
    const uint8_t *h;
    const char *id;
    size_t id_len;
    int rc = records_member_iter_open(txn, group_hash, kind, &it);
    while (rc == 0 && (rc = records_member_iter_next(&it, &h, &id, &id_len)) == 0) {
        if (n > 0 && bsearch(h, want, n, STORE_HASH_LEN, hash_cmp) != NULL)
            continue;
        if (n_gone == cap_gone) {
            size_t cap = cap_gone ? 2 * cap_gone : 64;
            void *g = realloc(gone, cap * STORE_HASH_LEN);
            if (g == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            gone = g;
            cap_gone = cap;
        }
        memcpy(gone[n_gone++], h, STORE_HASH_LEN);
    }
    records_member_iter_close(&it);
    if (rc == ERR_NOT_FOUND)
        rc = 0;
    /* Deleted after the walk: a delete under an open cursor would move it. */
    for (size_t i = 0; rc == 0 && i < n_gone; i++)
        if ((rc = records_member_del(txn, group_hash, kind, gone[i])) == 0)
            (*removed)++;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool changed;
        if ((rc = records_member_put(txn, group_hash, kind, ids[i], &changed)) == 0 && changed)
            (*added)++;
    }
    free(want);
    free(gone);
    return rc;
}

int groups_import(store_txn_t *txn, const groups_class_t *c, groups_import_result_t *r)
{
    char title[RECORDS_GROUP_TITLE_MAX + 1];
    int rc = records_group_get(txn, c->id, title, sizeof title);
    if (rc != 0 && rc != ERR_NOT_FOUND)
        return rc;
    bool existed = rc == 0;
    if (c->deleted) {
        uint64_t members = 0;
        if (!existed)
            return 0; /* deleting what is not there: nothing to do */
        if ((rc = records_group_del(txn, c->id, &members)) != 0)
            return rc;
        r->deleted++;
        r->removed += (uint32_t)members;
        return 0;
    }
    bool changed = false;
    if (!existed || strcmp(title, c->title) != 0) {
        if ((rc = records_group_put(txn, c->id, c->title)) != 0)
            return rc;
        changed = true;
    }
    uint8_t gh[STORE_HASH_LEN];
    store_hash_id(c->id, gh);
    uint32_t added = 0, removed = 0;
    if ((rc = members_replace(txn, gh, RECORDS_MEMBER_LEARNER, c->learners, c->n_learners, &added,
                              &removed)) != 0 ||
        (rc = members_replace(txn, gh, RECORDS_MEMBER_TEACHER, c->teachers, c->n_teachers, &added,
                              &removed)) != 0)
        return rc;
    r->added += added;
    r->removed += removed;
    if (!existed)
        r->created++;
    else if (changed || added || removed)
        r->updated++;
    else
        r->unchanged++;
    return 0;
}

int groups_any_has_learner(store_txn_t *txn, const char *const *groups, size_t n,
                           const char *learner_id)
{
    uint8_t lh[STORE_HASH_LEN], gh[STORE_HASH_LEN];
    store_hash_id(learner_id, lh);
    for (size_t i = 0; i < n; i++) {
        store_hash_id(groups[i], gh);
        int rc = records_member_has(txn, gh, RECORDS_MEMBER_LEARNER, lh);
        if (rc != ERR_NOT_FOUND)
            return rc;
    }
    return ERR_NOT_FOUND;
}

bool groups_listed(const char *const *groups, size_t n, const char *group_id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(groups[i], group_id) == 0)
            return true;
    return false;
}

/* ---- at risk ----------------------------------------------------------------------------- */

static bool comp_index(const catalog_fw_t *fw, const uint8_t *hash, uint32_t *ci)
{
    uint32_t n = graph_count(fw->graph);
    for (uint32_t i = 0; i < n; i++)
        if (memcmp(fw->comp_hash[i], hash, STORE_HASH_LEN) == 0) {
            *ci = i;
            return true;
        }
    return false;
}

static bool is_stuck(const groups_risk_conf_t *conf, const records_state_t *st)
{
    return st->status == STATUS_UNLOCKED && st->evidence_count >= conf->stuck_items;
}

/* One walk over the learner's states in fw: the first stuck competency, the newest change. */
static int scan_states(store_txn_t *txn, const groups_risk_conf_t *conf, const catalog_fw_t *fw,
                       const records_learner_t *l, bool *stuck, uint32_t *ci, uint32_t *count,
                       int64_t *last)
{
    records_state_iter_t it;
    records_state_t st;
    const uint8_t *ch;
    *stuck = false;
    *last = 0;
    int rc = records_state_iter_open(txn, l->hash, fw->hash, &it);
    while (rc == 0 && (rc = records_state_iter_next(&it, &ch, &st)) == 0) {
        if (st.updated_at > *last)
            *last = st.updated_at;
        if (!*stuck && is_stuck(conf, &st) && comp_index(fw, ch, ci)) {
            *stuck = true;
            *count = st.evidence_count;
        }
    }
    records_state_iter_close(&it);
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

/* Stores next when it differs from old, and says whether the learner entered the state. */
static int risk_settle(store_txn_t *txn, const catalog_fw_t *fw, const records_learner_t *l,
                       const records_risk_t *old, records_risk_t *next, int64_t now,
                       groups_risk_change_t *out)
{
    if (next->flags == 0)
        memset(next, 0, sizeof *next);
    else if (old->flags == 0)
        next->since = now;
    out->entered = old->flags == 0 && next->flags != 0;
    out->flags = next->flags;
    out->count = next->count;
    if (next->flags & RISK_STUCK)
        comp_index(fw, next->comp_hash, &out->competency);
    if (memcmp(old, next, sizeof *old) == 0)
        return 0;
    return records_risk_put(txn, l->hash, fw->hash, next);
}

static int risk_get(store_txn_t *txn, const catalog_fw_t *fw, const records_learner_t *l,
                    records_risk_t *r)
{
    int rc = records_risk_get(txn, l->hash, fw->hash, r);
    if (rc == ERR_NOT_FOUND) {
        memset(r, 0, sizeof *r);
        return 0;
    }
    return rc;
}

int groups_risk_on_evidence(store_txn_t *txn, const groups_risk_conf_t *conf,
                            const catalog_fw_t *fw, const records_learner_t *l, uint32_t ci,
                            int64_t now, groups_risk_change_t *out)
{
    memset(out, 0, sizeof *out);
    out->last_activity = now;
    records_state_t st;
    records_risk_t old, next;
    int rc = records_state_get(txn, l->hash, fw->hash, fw->comp_hash[ci], &st);
    if (rc == ERR_NOT_FOUND) {
        memset(&st, 0, sizeof st);
        rc = 0;
    }
    if (rc != 0 || (rc = risk_get(txn, fw, l, &old)) != 0)
        return rc;
    next = old;
    next.flags &= ~RISK_IDLE; /* evidence just came */
    bool was_this =
        (old.flags & RISK_STUCK) && memcmp(old.comp_hash, fw->comp_hash[ci], STORE_HASH_LEN) == 0;
    if (is_stuck(conf, &st)) {
        if (!(old.flags & RISK_STUCK)) {
            next.flags |= RISK_STUCK;
            memcpy(next.comp_hash, fw->comp_hash[ci], STORE_HASH_LEN);
            next.count = st.evidence_count;
        }
    } else if (was_this) {
        /* The competency it was stuck on moved on: is it stuck on another one? */
        bool stuck;
        uint32_t other = 0, count = 0;
        int64_t last;
        if ((rc = scan_states(txn, conf, fw, l, &stuck, &other, &count, &last)) != 0)
            return rc;
        if (stuck) {
            memcpy(next.comp_hash, fw->comp_hash[other], STORE_HASH_LEN);
            next.count = count;
        } else {
            next.flags &= ~RISK_STUCK;
            memset(next.comp_hash, 0, STORE_HASH_LEN);
            next.count = 0;
        }
    }
    return risk_settle(txn, fw, l, &old, &next, now, out);
}

int groups_risk_evaluate(store_txn_t *txn, const groups_risk_conf_t *conf, const catalog_fw_t *fw,
                         const records_learner_t *l, int64_t now, groups_risk_change_t *out)
{
    memset(out, 0, sizeof *out);
    records_risk_t old, next;
    bool stuck;
    uint32_t ci = 0, count = 0;
    int64_t last;
    int rc = risk_get(txn, fw, l, &old);
    if (rc == 0)
        rc = scan_states(txn, conf, fw, l, &stuck, &ci, &count, &last);
    if (rc != 0)
        return rc;
    memset(&next, 0, sizeof next);
    next.since = old.since;
    if (stuck) {
        next.flags |= RISK_STUCK;
        memcpy(next.comp_hash, fw->comp_hash[ci], STORE_HASH_LEN);
        next.count = count;
        /* Still stuck on the one already recorded: keep its record, so nothing is rewritten. */
        if ((old.flags & RISK_STUCK) && memcmp(old.comp_hash, next.comp_hash, STORE_HASH_LEN) == 0)
            next.count = old.count;
    }
    if (conf->idle_days > 0 && last > 0 && now - last >= (int64_t)conf->idle_days * DAY_MS)
        next.flags |= RISK_IDLE;
    out->last_activity = last;
    return risk_settle(txn, fw, l, &old, &next, now, out);
}

/* ---- the report -------------------------------------------------------------------------- */

typedef struct hash_ix {
    uint8_t hash[STORE_HASH_LEN];
    uint32_t ci;
} hash_ix_t;

/* A growable array of one competency's scores (for its median). */
typedef struct scores {
    float *v;
    uint32_t n, cap;
} scores_t;

static int scores_add(scores_t *s, double x)
{
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? 2 * s->cap : 16;
        float *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return ERR_NOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (float)x;
    return 0;
}

static int float_cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static double median(scores_t *s)
{
    if (s->n == 0)
        return 0;
    qsort(s->v, s->n, sizeof *s->v, float_cmp);
    return s->n % 2 ? s->v[s->n / 2] : ((double)s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

/* The report's per-framework tables: hash -> index in hash order, and for each competency the
 * set of its transitive dependents (through `requires`), as bit words. */
typedef struct shape {
    uint32_t n, words;
    hash_ix_t *by_hash;
    uint64_t *desc; /* n x words */
    uint8_t *dflt;  /* the default status of each competency (no state record) */
} shape_t;

static int ix_cmp(const void *a, const void *b)
{
    return memcmp(((const hash_ix_t *)a)->hash, ((const hash_ix_t *)b)->hash, STORE_HASH_LEN);
}

static int shape_build(const catalog_fw_t *fw, shape_t *s)
{
    const graph_t *g = fw->graph;
    s->n = graph_count(g);
    s->words = (s->n + 63) / 64;
    s->by_hash = calloc(s->n ? s->n : 1, sizeof *s->by_hash);
    s->desc = calloc((size_t)(s->n ? s->n : 1) * (s->words ? s->words : 1), sizeof *s->desc);
    s->dflt = calloc(s->n ? s->n : 1, 1);
    if (s->by_hash == NULL || s->desc == NULL || s->dflt == NULL)
        return ERR_NOMEM;
    for (uint32_t i = 0; i < s->n; i++) {
        memcpy(s->by_hash[i].hash, fw->comp_hash[i], STORE_HASH_LEN);
        s->by_hash[i].ci = i;
        const graph_comp_t *c = graph_comp(g, i);
        s->dflt[i] = c->requires_kind == REQUIRES_NONE ? STATUS_UNLOCKED : STATUS_LOCKED;
    }
    qsort(s->by_hash, s->n, sizeof *s->by_hash, ix_cmp);
    /* Reverse topological order: a competency's dependents are done before it. */
    const uint32_t *topo = graph_topo_order(g);
    for (uint32_t k = s->n; k-- > 0;) {
        uint32_t c = topo[k];
        uint64_t *dc = s->desc + (size_t)c * s->words;
        const graph_comp_t *gc = graph_comp(g, c);
        for (uint32_t j = 0; j < gc->n_dependents; j++) {
            uint32_t d = gc->dependents[j];
            const uint64_t *dd = s->desc + (size_t)d * s->words;
            dc[d / 64] |= 1ull << (d % 64);
            for (uint32_t w = 0; w < s->words; w++)
                dc[w] |= dd[w];
        }
    }
    return 0;
}

/* Sorts (count << 32 | ~index) keys: most first, then the lower index. */
static int u64_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x < y) - (x > y);
}

static void shape_free(shape_t *s)
{
    free(s->by_hash);
    free(s->desc);
    free(s->dflt);
}

int groups_report(store_txn_t *txn, arena_t *arena, const catalog_fw_t *fw, const char *group_id,
                  const groups_risk_conf_t *conf, int64_t now, size_t cells_budget,
                  groups_report_t *out)
{
    bool cells = cells_budget > 0;
    memset(out, 0, sizeof *out);
    int rc = records_group_get(txn, group_id, NULL, 0);
    if (rc != 0)
        return rc;
    shape_t sh = {0};
    scores_t *sc = NULL;
    uint8_t *status = NULL;
    double *score = NULL;
    uint32_t *count = NULL;
    uint8_t *due = NULL; /* mastered and due for review (issue 15 item 3) */
    uint64_t *locked = NULL;
    uint64_t *blocked = NULL;
    groups_row_t *rows = NULL;
    size_t n_rows = 0, cap_rows = 0;
    if ((rc = shape_build(fw, &sh)) != 0)
        goto out;
    uint32_t n = sh.n;
    sc = calloc(n ? n : 1, sizeof *sc);
    status = malloc(n ? n : 1);
    score = malloc((n ? n : 1) * sizeof *score);
    count = malloc((n ? n : 1) * sizeof *count);
    due = malloc(n ? n : 1);
    locked = malloc((sh.words ? sh.words : 1) * sizeof *locked);
    blocked = calloc(n ? n : 1, sizeof *blocked);
    out->comps = arena_alloc(arena, (n ? n : 1) * sizeof *out->comps);
    if (sc == NULL || status == NULL || score == NULL || count == NULL || due == NULL ||
        locked == NULL || blocked == NULL || out->comps == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    out->n_comps = n;
    uint8_t gh[STORE_HASH_LEN];
    store_hash_id(group_id, gh);
    records_member_iter_t mit;
    const uint8_t *lh;
    const char *lid;
    size_t lid_len;
    if ((rc = records_member_iter_open(txn, gh, RECORDS_MEMBER_LEARNER, &mit)) != 0)
        goto out;
    while ((rc = records_member_iter_next(&mit, &lh, &lid, &lid_len)) == 0) {
        /* The learner's states, merged with the competencies in hash order. */
        memcpy(status, sh.dflt, n);
        memset(score, 0, n * sizeof *score);
        memset(count, 0, n * sizeof *count);
        int64_t last = 0;
        uint32_t evidence = 0;
        records_state_iter_t sit;
        records_state_t st;
        const uint8_t *ch;
        uint32_t pos = 0;
        if ((rc = records_state_iter_open(txn, lh, fw->hash, &sit)) != 0)
            break;
        while ((rc = records_state_iter_next(&sit, &ch, &st)) == 0) {
            while (pos < n && memcmp(sh.by_hash[pos].hash, ch, STORE_HASH_LEN) < 0)
                pos++;
            if (pos == n || memcmp(sh.by_hash[pos].hash, ch, STORE_HASH_LEN) != 0)
                continue; /* a competency of an older revision */
            uint32_t ci = sh.by_hash[pos].ci;
            status[ci] = st.status;
            score[ci] = st.score;
            count[ci] = st.evidence_count;
            evidence += st.evidence_count;
            if (st.updated_at > last)
                last = st.updated_at;
        }
        records_state_iter_close(&sit);
        if (rc != ERR_NOT_FOUND)
            break;
        /* Its review records, in the same competency-hash order: due once due_at has passed. */
        memset(due, 0, n);
        records_review_iter_t rit;
        records_review_t rv;
        pos = 0;
        if ((rc = records_review_iter_open(txn, lh, fw->hash, &rit)) != 0)
            break;
        while ((rc = records_review_iter_next(&rit, &ch, &rv)) == 0) {
            while (pos < n && memcmp(sh.by_hash[pos].hash, ch, STORE_HASH_LEN) < 0)
                pos++;
            if (pos < n && memcmp(sh.by_hash[pos].hash, ch, STORE_HASH_LEN) == 0)
                due[sh.by_hash[pos].ci] = rv.due_at <= now;
        }
        records_review_iter_close(&rit);
        if (rc != ERR_NOT_FOUND)
            break;
        rc = 0;
        memset(locked, 0, sh.words * sizeof *locked);
        uint32_t mastered = 0, stuck_total = 0, stuck = 0, stuck_count = 0;
        for (uint32_t ci = 0; ci < n; ci++) {
            groups_comp_summary_t *cs = &out->comps[ci];
            switch (status[ci]) {
            case STATUS_LOCKED:
                cs->locked++;
                locked[ci / 64] |= 1ull << (ci % 64);
                break;
            case STATUS_MASTERED:
                cs->mastered++;
                mastered++;
                cs->review_due += due[ci];
                break;
            default:
                cs->unlocked++;
                if (count[ci] >= conf->stuck_items && stuck_total++ == 0) {
                    stuck = ci;
                    stuck_count = count[ci];
                }
                break;
            }
            if (count[ci] > 0 && (rc = scores_add(&sc[ci], score[ci])) != 0)
                break;
        }
        if (rc != 0)
            break;
        /* Blocked by C: C unlocked-not-mastered and a transitive prerequisite of a locked one. */
        for (uint32_t ci = 0; ci < n; ci++) {
            if (status[ci] != STATUS_UNLOCKED)
                continue;
            const uint64_t *d = sh.desc + (size_t)ci * sh.words;
            for (uint32_t w = 0; w < sh.words; w++)
                if (d[w] & locked[w]) {
                    blocked[ci]++;
                    break;
                }
        }
        uint32_t risk = 0;
        if (stuck_total)
            risk |= RISK_STUCK;
        if (evidence == 0 && last == 0)
            risk |= RISK_NO_EVIDENCE;
        else if (conf->idle_days > 0 && now - last >= (int64_t)conf->idle_days * DAY_MS)
            risk |= RISK_IDLE;
        out->n_learners++;
        if (!cells && risk == 0)
            continue;
        if (cells && (uint64_t)(n_rows + 1) * ((uint64_t)n * 9 + 64) > cells_budget) {
            rc = ERR_LIMIT;
            break;
        }
        if (n_rows == cap_rows) {
            size_t cap = cap_rows ? 2 * cap_rows : 64;
            groups_row_t *r = realloc(rows, cap * sizeof *r);
            if (r == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            rows = r;
            cap_rows = cap;
        }
        groups_row_t *row = &rows[n_rows++];
        memset(row, 0, sizeof *row);
        row->learner_id = arena_strndup(arena, lid, lid_len);
        row->mastered = mastered;
        row->evidence = evidence;
        row->last_activity = last;
        row->risk = risk;
        row->stuck = stuck;
        row->stuck_count = stuck_count;
        row->stuck_total = stuck_total;
        if (cells) {
            row->status = arena_alloc_uninit(arena, n ? n : 1);
            row->score = arena_alloc_uninit(arena, (n ? n : 1) * sizeof *row->score);
            if (row->status != NULL && row->score != NULL) {
                memcpy(row->status, status, n);
                memcpy(row->score, score, n * sizeof *score);
            }
        }
        if (row->learner_id == NULL || (cells && (row->status == NULL || row->score == NULL))) {
            rc = ERR_NOMEM;
            break;
        }
    }
    records_member_iter_close(&mit);
    if (rc == ERR_NOT_FOUND)
        rc = 0;
    if (rc != 0)
        goto out;
    for (uint32_t ci = 0; ci < n; ci++) {
        out->comps[ci].scored = sc[ci].n;
        out->comps[ci].median = median(&sc[ci]);
        out->comps[ci].blocked = (uint32_t)blocked[ci];
    }
    /* The most blocking, most first (ties: graph order). */
    size_t nb = 0;
    for (uint32_t ci = 0; ci < n; ci++)
        if (blocked[ci] > 0)
            blocked[nb++] = (uint64_t)blocked[ci] << 32 | (uint32_t)~ci;
    qsort(blocked, nb, sizeof *blocked, u64_desc);
    for (size_t k = 0; k < nb && k < GROUPS_BLOCKING_MAX; k++)
        out->blocking[out->n_blocking++] = ~(uint32_t)blocked[k];
    out->rows = arena_alloc_uninit(arena, (n_rows ? n_rows : 1) * sizeof *out->rows);
    if (out->rows == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    if (n_rows)
        memcpy(out->rows, rows, n_rows * sizeof *rows);
    out->n_rows = n_rows;
out:
    if (sc)
        for (uint32_t ci = 0; ci < sh.n; ci++)
            free(sc[ci].v);
    free(sc);
    free(status);
    free(score);
    free(count);
    free(due);
    free(locked);
    free(blocked);
    free(rows);
    shape_free(&sh);
    return rc;
}
