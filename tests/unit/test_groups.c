/*
 * Unit tests for groups: a class's membership replaced on import, the scope check, the
 * at-risk rules at a chosen clock (idle needs days to pass), and the report on a small graph
 * whose every number is worked out by hand below. A real store in a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "catalog.h"
#include "engine.h"
#include "graph.h"
#include "groups.h"
#include "identity.h"
#include "records.h"
#include "store.h"
#include "vault.h"

#define DAY 86400000LL

/* a -> b -> c, a -> d; e alone. */
static const char FW[] = "{\"id\":\"fw\",\"title\":\"t\",\"version\":\"1\",\"competencies\":["
                         "{\"id\":\"a\",\"title\":\"A\"},"
                         "{\"id\":\"b\",\"title\":\"B\",\"requires\":{\"all\":[\"a\"]}},"
                         "{\"id\":\"c\",\"title\":\"C\",\"requires\":{\"all\":[\"b\"]}},"
                         "{\"id\":\"d\",\"title\":\"D\",\"requires\":{\"all\":[\"a\"]}},"
                         "{\"id\":\"e\",\"title\":\"E\"}]}";

typedef struct fixture {
    char dir[64];
    store_t *st;
    vault_t *vault;
    store_txn_t *txn;
    catalog_t *cat;
    const catalog_fw_t *fw;
    arena_t *arena;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    err_detail_t d;
    graph_t *g = NULL;
    snprintf(f->dir, sizeof f->dir, "/tmp/masteryd-groups-XXXXXX");
    if (mkdtemp(f->dir) == NULL || store_open(f->dir, 8u << 20, 64u << 20, &f->st, &d) != 0 ||
        identity_vault(f->st, f->dir, true, 0, &f->vault, &d) != 0 ||
        store_txn_begin(f->st, true, &f->txn) != 0 || (f->cat = catalog_new()) == NULL ||
        graph_parse(FW, strlen(FW), &g, &d) != 0 || catalog_put(f->cat, &g, 1, 0) != 0 ||
        (f->arena = arena_new(4096)) == NULL)
        return -1;
    f->fw = catalog_find(f->cat, "fw");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    store_txn_abort(&f->txn);
    store_close(&f->st);
    vault_destroy(&f->vault);
    catalog_destroy(&f->cat);
    arena_destroy(&f->arena);
    char p[128];
    snprintf(p, sizeof p, "%s/data.mdb", f->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/store.key", f->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", f->dir);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void import(fixture_t *f, const char *id, char **learners, size_t n, bool deleted,
                   groups_import_result_t *r)
{
    memset(r, 0, sizeof *r);
    groups_class_t c = {id, "Title", learners, n, NULL, 0, deleted};
    assert_int_equal(groups_import(f->txn, &c, r), 0);
}

static void test_import_replaces_membership(void **state)
{
    fixture_t *f = *state;
    groups_import_result_t r;
    char *v1[] = {"s1", "s2", "s3"}, *v2[] = {"s3", "s4", "s1"};
    import(f, "7A", v1, 3, false, &r);
    assert_int_equal(r.created, 1);
    assert_int_equal(r.added, 3);
    import(f, "7A", v1, 3, false, &r); /* again: nothing */
    assert_int_equal(r.unchanged, 1);
    assert_int_equal(r.added + r.removed + r.updated, 0);
    import(f, "7A", v2, 3, false, &r);
    assert_int_equal(r.updated, 1);
    assert_int_equal(r.added, 1);
    assert_int_equal(r.removed, 1);
    const char *scope[] = {"7B", "7A"};
    assert_int_equal(groups_any_has_learner(f->txn, scope, 2, "s4"), 0);
    assert_int_equal(groups_any_has_learner(f->txn, scope, 2, "s2"), ERR_NOT_FOUND);
    assert_int_equal(groups_any_has_learner(f->txn, scope, 1, "s4"), ERR_NOT_FOUND);
    import(f, "7A", NULL, 0, true, &r);
    assert_int_equal(r.deleted, 1);
    assert_int_equal(r.removed, 3);
    assert_int_equal(groups_any_has_learner(f->txn, scope, 2, "s4"), ERR_NOT_FOUND);
    import(f, "7A", NULL, 0, true, &r); /* deleting what is gone: nothing */
    assert_int_equal(r.deleted, 0);
}

static void put_state(fixture_t *f, const char *learner, const char *comp, uint8_t status,
                      uint32_t count, double score, int64_t at)
{
    uint8_t lh[STORE_HASH_LEN];
    uint32_t ci;
    store_hash_id(learner, lh);
    assert_int_equal(graph_find(f->fw->graph, comp, &ci), 0);
    records_state_t st = {
        .status = status, .evidence_count = count, .score = score, .updated_at = at};
    assert_int_equal(records_state_put(f->txn, lh, f->fw->hash, f->fw->comp_hash[ci], &st), 0);
}

static void test_risk_rules_at_a_clock(void **state)
{
    fixture_t *f = *state;
    groups_risk_conf_t conf = {3, 14};
    records_learner_t l;
    records_learner_init(&l, "s1");
    groups_risk_change_t c;
    int64_t t0 = 1700000000000LL;
    put_state(f, "s1", "a", STATUS_UNLOCKED, 2, 0.4, t0);
    assert_int_equal(groups_risk_evaluate(f->txn, &conf, f->fw, &l, t0 + 13 * DAY, &c), 0);
    assert_false(c.entered);
    assert_int_equal(c.flags, 0);
    assert_int_equal(groups_risk_evaluate(f->txn, &conf, f->fw, &l, t0 + 14 * DAY, &c), 0);
    assert_true(c.entered);
    assert_int_equal(c.flags, RISK_IDLE);
    assert_int_equal(groups_risk_evaluate(f->txn, &conf, f->fw, &l, t0 + 15 * DAY, &c), 0);
    assert_false(c.entered); /* once per entry */
    /* Evidence arrives: idle clears; a third item on a makes it stuck: a new entry. */
    put_state(f, "s1", "a", STATUS_UNLOCKED, 3, 0.4, t0 + 16 * DAY);
    assert_int_equal(groups_risk_on_evidence(f->txn, &conf, f->fw, &l, 0, t0 + 16 * DAY, &c), 0);
    assert_false(c.entered); /* it never left: idle became stuck */
    assert_int_equal(c.flags, RISK_STUCK);
    assert_int_equal(c.competency, 0);
    assert_int_equal(c.count, 3);
    /* Mastered: no rule holds, the record goes. */
    put_state(f, "s1", "a", STATUS_MASTERED, 4, 0.9, t0 + 17 * DAY);
    assert_int_equal(groups_risk_on_evidence(f->txn, &conf, f->fw, &l, 0, t0 + 17 * DAY, &c), 0);
    assert_int_equal(c.flags, 0);
    records_risk_t r;
    assert_int_equal(records_risk_get(f->txn, l.hash, f->fw->hash, &r), ERR_NOT_FOUND);
    /* Stuck again, on e this time: a new entry. */
    put_state(f, "s1", "e", STATUS_UNLOCKED, 5, 0.1, t0 + 18 * DAY);
    assert_int_equal(groups_risk_on_evidence(f->txn, &conf, f->fw, &l, 4, t0 + 18 * DAY, &c), 0);
    assert_true(c.entered);
    assert_int_equal(c.competency, 4);
    conf.idle_days = 0; /* rule off */
    assert_int_equal(groups_risk_evaluate(f->txn, &conf, f->fw, &l, t0 + 400 * DAY, &c), 0);
    assert_int_equal(c.flags, RISK_STUCK);
}

static void test_report_by_hand(void **state)
{
    fixture_t *f = *state;
    char *learners[] = {"p", "q", "r", "s"};
    groups_import_result_t ir;
    import(f, "G", learners, 4, false, &ir);
    int64_t now = 1700000000000LL;
    /* p: a mastered (0.9), b unlocked (0.5, 1 item): b blocks p (c is locked).
     * q: a unlocked (0.4, 5 items): stuck; a blocks q (b, c, d locked).
     * r: a, b, d mastered, c unlocked 0.7: nothing locked, nothing blocked; idle 20 days.
     * s: nothing: no_evidence; a (default unlocked) blocks s. */
    put_state(f, "p", "a", STATUS_MASTERED, 1, 0.9, now - DAY);
    put_state(f, "p", "b", STATUS_UNLOCKED, 1, 0.5, now - DAY);
    put_state(f, "p", "d", STATUS_UNLOCKED, 0, 0, now - DAY);
    put_state(f, "q", "a", STATUS_UNLOCKED, 5, 0.4, now - DAY);
    put_state(f, "r", "a", STATUS_MASTERED, 1, 1.0, now - 20 * DAY);
    put_state(f, "r", "b", STATUS_MASTERED, 1, 0.8, now - 20 * DAY);
    put_state(f, "r", "d", STATUS_MASTERED, 1, 0.85, now - 20 * DAY);
    put_state(f, "r", "c", STATUS_UNLOCKED, 1, 0.7, now - 20 * DAY);
    groups_risk_conf_t conf = {5, 14};
    groups_report_t rep;
    assert_int_equal(groups_report(f->txn, f->arena, f->fw, "G", &conf, now, 1 << 20, &rep), 0);
    assert_int_equal(rep.n_learners, 4);
    assert_int_equal(rep.n_rows, 4);
    const groups_comp_summary_t *a = &rep.comps[0], *b = &rep.comps[1], *c = &rep.comps[2],
                                *d = &rep.comps[3], *e = &rep.comps[4];
    assert_int_equal(a->mastered, 2);
    assert_int_equal(a->unlocked, 2); /* q, and s by default */
    assert_int_equal(a->scored, 3);
    assert_true(a->median > 0.8999 && a->median < 0.9001); /* 0.4, 0.9, 1.0 */
    assert_int_equal(a->blocked, 2);                       /* q, s */
    assert_int_equal(b->locked, 2);
    assert_int_equal(b->unlocked, 1);
    assert_int_equal(b->mastered, 1);
    assert_int_equal(b->blocked, 1); /* p */
    assert_int_equal(c->locked, 3);
    assert_int_equal(c->blocked, 0);
    assert_int_equal(d->unlocked, 1);
    assert_int_equal(d->blocked, 0); /* d has no dependents */
    assert_int_equal(e->unlocked, 4);
    assert_int_equal(e->scored, 0);
    assert_int_equal(rep.n_blocking, 2);
    assert_int_equal(rep.blocking[0], 0); /* a: 2 */
    assert_int_equal(rep.blocking[1], 1); /* b: 1 */
    for (size_t i = 0; i < rep.n_rows; i++) {
        const groups_row_t *row = &rep.rows[i];
        if (strcmp(row->learner_id, "q") == 0) {
            assert_int_equal(row->risk, RISK_STUCK);
            assert_int_equal(row->stuck, 0);
        } else if (strcmp(row->learner_id, "r") == 0) {
            assert_int_equal(row->risk, RISK_IDLE);
            assert_int_equal(row->mastered, 3);
        } else if (strcmp(row->learner_id, "s") == 0) {
            assert_int_equal(row->risk, RISK_NO_EVIDENCE);
            assert_int_equal(row->status[1], STATUS_LOCKED);
        } else {
            assert_int_equal(row->risk, 0);
            assert_true(row->score[1] > 0.4999 && row->score[1] < 0.5001);
        }
    }
    /* Without cells: only the three at risk, and no per-competency arrays. */
    assert_int_equal(groups_report(f->txn, f->arena, f->fw, "G", &conf, now, 0, &rep), 0);
    assert_int_equal(rep.n_rows, 3);
    assert_null(rep.rows[0].status);
    assert_int_equal(groups_report(f->txn, f->arena, f->fw, "none", &conf, now, 0, &rep),
                     ERR_NOT_FOUND);
    /* Cells over their budget: refused, not built. */
    assert_int_equal(
        groups_report(f->txn, f->arena, f->fw, "G", &conf, now, 3 * (5 * 9 + 64), &rep), ERR_LIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_import_replaces_membership, setup, teardown),
        cmocka_unit_test_setup_teardown(test_risk_rules_at_a_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_by_hand, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
