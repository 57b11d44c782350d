/*
 * Unit tests for engine (with catalog and graph), on a real store in a temporary directory and
 * a small framework written here:
 *
 *   a            (no requires)          b requires all [a]        c requires all [b]
 *   e            (no requires)          d requires at least 1 of [a, e]
 *   p            rule: children [a, e] (roll-up)
 *
 * Every rule is the default "latest >= 0.8". The changes each engine call returns are captured
 * as events (the wrappers below).
 * Also catalog_load: the current revision of every stored framework, in load order.
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

#include "catalog.h"
#include "engine.h"
#include "graph.h"
#include "identity.h"
#include "store.h"
#include "vault.h"

static const char fw_rev1[] =
    "{\"id\": \"fw\", \"title\": \"Test framework\", \"version\": \"1\", \"competencies\": [\n"
    "  {\"id\": \"a\", \"title\": \"A\"},\n"
    "  {\"id\": \"b\", \"title\": \"B\", \"requires\": {\"all\": [\"a\"]}},\n"
    "  {\"id\": \"c\", \"title\": \"C\", \"requires\": {\"all\": [\"b\"]}},\n"
    "  {\"id\": \"e\", \"title\": \"E\"},\n"
    "  {\"id\": \"d\", \"title\": \"D\", \"requires\": {\"at_least\": 1, \"of\": [\"a\", "
    "\"e\"]}},\n"
    "  {\"id\": \"p\", \"title\": \"P\", \"rule\": {\"method\": \"children\", \"of\": [\"a\", "
    "\"e\"]}}\n"
    "]}\n";

/* Revision 2: a gains a prerequisite (z, new); c loses its prerequisite; f is new and
 * requires at least 1 of [a, z]. */
static const char fw_rev2[] =
    "{\"id\": \"fw\", \"title\": \"Test framework\", \"version\": \"2\", \"competencies\": [\n"
    "  {\"id\": \"z\", \"title\": \"Z\"},\n"
    "  {\"id\": \"a\", \"title\": \"A\", \"requires\": {\"all\": [\"z\"]}},\n"
    "  {\"id\": \"b\", \"title\": \"B\", \"requires\": {\"all\": [\"a\"]}},\n"
    "  {\"id\": \"c\", \"title\": \"C\"},\n"
    "  {\"id\": \"e\", \"title\": \"E\"},\n"
    "  {\"id\": \"d\", \"title\": \"D\", \"requires\": {\"at_least\": 1, \"of\": [\"a\", "
    "\"e\"]}},\n"
    "  {\"id\": \"p\", \"title\": \"P\", \"rule\": {\"method\": \"children\", \"of\": [\"a\", "
    "\"e\"]}},\n"
    "  {\"id\": \"f\", \"title\": \"F\", \"requires\": {\"at_least\": 1, \"of\": [\"a\", \"z\"]}}\n"
    "]}\n";

/* A second framework that shares competency a, with a stricter rule. */
static const char fw_other[] =
    "{\"id\": \"strict\", \"title\": \"Strict\", \"competencies\": [\n"
    "  {\"id\": \"a\", \"title\": \"A\", \"rule\": {\"method\": \"latest\", \"threshold\": 0.95}}\n"
    "]}\n";

/* ---- captured events ----------------------------------------------------------------------- */

#define MAX_EVENTS 64

typedef struct captured {
    engine_change_kind_t kind;
    char learner[32], framework[32], competency[32], evidence[32];
    double score;
    bool mastered;
    uint32_t revision;
    char reason[64], actor[32];
} captured_t;

typedef struct fixture {
    char dir[64];
    store_t *st;
    vault_t *vault;
    catalog_t *cat;
    engine_t *eng;
    store_txn_t *txn;
    captured_t ev[MAX_EVENTS];
    size_t n_ev;
    engine_changes_t changes;
    int fail_emit; /* nonzero: the change list has no room, so the engine fails (ERR_NOMEM) */
} fixture_t;

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "(null)");
}

/* Moves the changes of the last engine call into the captured events. */
static void capture(fixture_t *f)
{
    const engine_changes_t *op = &f->changes;
    for (size_t i = 0; i < op->n; i++) {
        const engine_change_t *ch = &op->v[i];
        assert_true(f->n_ev < MAX_EVENTS);
        captured_t *c = &f->ev[f->n_ev++];
        memset(c, 0, sizeof *c);
        c->kind = ch->kind;
        copy(c->learner, sizeof c->learner, op->learner_id);
        copy(c->framework, sizeof c->framework, ch->fw ? graph_id(ch->fw->graph) : "");
        copy(c->competency, sizeof c->competency,
             ch->fw ? graph_comp(ch->fw->graph, ch->competency)->id : op->competency_id);
        copy(c->evidence, sizeof c->evidence, op->evidence_id);
        c->score = ch->score;
        c->mastered = ch->kind == CHANGE_OVERRIDE && op->granted;
        c->revision = ch->fw ? ch->fw->revision : 0;
        if (ch->kind == CHANGE_OVERRIDE) {
            copy(c->reason, sizeof c->reason, op->reason);
            copy(c->actor, sizeof c->actor, op->actor);
        }
    }
    engine_changes_reset(&f->changes);
}

/* The engine's operations, capturing what each returns. */
static int evidence_add(fixture_t *f, const engine_evidence_t *ev, const void *blob, size_t len)
{
    f->changes.max_bytes = f->fail_emit ? 1 : 0;
    int rc = engine_evidence_add(f->eng, f->txn, ev, blob, len, &f->changes);
    capture(f);
    return rc;
}

static int override(fixture_t *f, const char *learner, const char *fw, const char *comp, bool grant,
                    const char *reason, const char *actor, comp_state_t *out, err_detail_t *d)
{
    f->changes.max_bytes = f->fail_emit ? 1 : 0;
    int rc = engine_override(f->eng, f->txn, learner, fw, comp, grant, reason, actor, out,
                             &f->changes, d);
    capture(f);
    return rc;
}

static int reevaluate(fixture_t *f, const catalog_fw_t *fw)
{
    engine_reeval_t r = {0};
    int rc;
    while ((rc = engine_framework_reevaluate_next(f->eng, f->txn, fw, &r, &f->changes)) == 0)
        capture(f);
    capture(f);
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

/* "M:a U:b ..." for the captured events (U unlocked, M mastered, O+/O- override). */
static const char *event_string(const fixture_t *f, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < f->n_ev; i++) {
        const captured_t *c = &f->ev[i];
        const char *k = c->kind == CHANGE_UNLOCKED   ? "U"
                        : c->kind == CHANGE_MASTERED ? "M"
                        : c->kind == CHANGE_OVERRIDE ? (c->mastered ? "O+" : "O-")
                                                     : "?";
        int n = snprintf(out + used, cap - used, "%s%s:%s", used ? " " : "", k, c->competency);
        assert_true(n > 0 && (size_t)n < cap - used);
        used += (size_t)n;
    }
    return out;
}

#define EXPECT_EVENTS(f, want)                                                                     \
    do {                                                                                           \
        char got_[512];                                                                            \
        assert_string_equal(event_string((f), got_, sizeof got_), (want));                         \
    } while (0)

static void install(fixture_t *f, const char *doc, uint32_t revision)
{
    graph_t *g = NULL;
    err_detail_t d;
    int rc = graph_parse(doc, strlen(doc), &g, &d);
    if (rc != 0)
        fail_msg("framework: %s: %s", d.field, d.message);
    assert_int_equal(catalog_put(f->cat, &g, revision, 1), 0);
    assert_null(g);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_engine.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    err_detail_t d;
    if (store_open(f->dir, 16u << 20, 64u << 20, &f->st, &d) != 0 ||
        identity_vault(f->st, f->dir, true, 0, &f->vault, &d) != 0)
        return -1;
    f->cat = catalog_new();
    f->eng = engine_new(f->cat);
    if (f->cat == NULL || f->eng == NULL)
        return -1;
    install(f, fw_rev1, 1);
    if (store_txn_begin(f->st, true, &f->txn) != 0)
        return -1;
    engine_set_now(f->eng, 1000000);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    store_txn_abort(&f->txn);
    engine_destroy(&f->eng);
    assert_null(f->eng);
    engine_changes_free(&f->changes);
    catalog_destroy(&f->cat);
    store_close(&f->st);
    vault_destroy(&f->vault);
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/store.key", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Commits the current transaction and starts the next (what the handler does per batch). */
static void next_txn(fixture_t *f)
{
    assert_int_equal(store_txn_commit(&f->txn), 0);
    assert_int_equal(store_txn_begin(f->st, true, &f->txn), 0);
}

static void add(fixture_t *f, const char *id, const char *learner, const char *comp, double score,
                int64_t observed_at)
{
    engine_evidence_t ev = {
        .evidence_id = id,
        .learner_id = learner,
        .competency_id = comp,
        .score = score,
        .weight = 1.0,
        .outcome = OUTCOME_NONE,
        .observed_at = observed_at,
    };
    char blob[64];
    int n = snprintf(blob, sizeof blob, "blob of %s", id);
    store_val_t found;
    assert_int_equal(engine_evidence_find(f->eng, f->txn, "", id, &found), ERR_NOT_FOUND);
    assert_int_equal(evidence_add(f, &ev, blob, (size_t)n), 0);
}

static comp_state_t state_of(fixture_t *f, const char *fw_id, const char *learner, const char *comp)
{
    const catalog_fw_t *fw = catalog_find(f->cat, fw_id);
    assert_non_null(fw);
    uint32_t ci;
    assert_int_equal(graph_find(fw->graph, comp, &ci), 0);
    comp_state_t st;
    assert_int_equal(engine_state_get(f->eng, f->txn, learner, fw, ci, &st), 0);
    return st;
}

static void expect_status(fixture_t *f, const char *learner, const char *comp, int status)
{
    comp_state_t st = state_of(f, "fw", learner, comp);
    if (st.status != status)
        fail_msg("%s/%s: status %d, expected %d", learner, comp, st.status, status);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_default_states(void **state)
{
    fixture_t *f = *state;
    /* Nothing stored yet: no requires = UNLOCKED, requires = LOCKED. */
    expect_status(f, "nobody", "a", STATUS_UNLOCKED);
    expect_status(f, "nobody", "e", STATUS_UNLOCKED);
    expect_status(f, "nobody", "p", STATUS_UNLOCKED);
    expect_status(f, "nobody", "b", STATUS_LOCKED);
    expect_status(f, "nobody", "c", STATUS_LOCKED);
    expect_status(f, "nobody", "d", STATUS_LOCKED);
    assert_true(engine_competency_known(f->eng, "a"));
    assert_true(engine_competency_known(f->eng, "p"));
    assert_false(engine_competency_known(f->eng, "zz"));
    assert_false(engine_competency_known(f->eng, ""));
}

static void test_locked_then_cascade(void **state)
{
    fixture_t *f = *state;
    /* Evidence on locked competencies: recorded, counted, but they stay LOCKED. */
    add(f, "ev-c1", "alice", "c", 0.9, 100);
    add(f, "ev-b1", "alice", "b", 0.85, 110);
    EXPECT_EVENTS(f, "");
    comp_state_t st = state_of(f, "fw", "alice", "c");
    assert_int_equal(st.status, STATUS_LOCKED);
    assert_int_equal(st.evidence_count, 1);
    assert_true(st.score == 0.9);
    assert_true(st.flags & STATE_RULE_MET);
    assert_int_equal(st.mastered_at, 0);
    expect_status(f, "alice", "b", STATUS_LOCKED);
    next_txn(f);

    /* Mastering a unlocks b; b's earlier evidence counts at once, so b is mastered, which
     * unlocks and masters c: the whole chain in one call. d (at least 1 of [a, e]) unlocks;
     * p (all of [a, e]) is not met yet. */
    engine_set_now(f->eng, 2000000);
    add(f, "ev-a1", "alice", "a", 0.8, 120); /* exactly at the threshold */
    EXPECT_EVENTS(f, "M:a U:b M:b U:d U:c M:c");
    for (size_t i = 0; i < f->n_ev; i++) {
        assert_string_equal(f->ev[i].learner, "alice");
        assert_string_equal(f->ev[i].framework, "fw");
        assert_string_equal(f->ev[i].evidence, "ev-a1"); /* the trigger */
        assert_int_equal(f->ev[i].revision, 1);
    }
    assert_true(f->ev[0].score == 0.8);
    assert_true(f->ev[2].score == 0.85); /* b's own score */
    assert_true(f->ev[5].score == 0.9);
    st = state_of(f, "fw", "alice", "c");
    assert_int_equal(st.status, STATUS_MASTERED);
    assert_int_equal(st.unlocked_at, 2000000);
    assert_int_equal(st.mastered_at, 2000000);
    assert_int_equal(st.updated_at, 2000000);
    st = state_of(f, "fw", "alice", "d");
    assert_int_equal(st.status, STATUS_UNLOCKED);
    assert_int_equal(st.evidence_count, 0);
    st = state_of(f, "fw", "alice", "p");
    assert_int_equal(st.status, STATUS_UNLOCKED);
    assert_true(st.score == 0.5); /* 1 of 2 children */
    assert_false(st.flags & STATE_RULE_MET);
    next_txn(f);

    /* e completes the roll-up: p is mastered in the same call; d was already unlocked. */
    f->n_ev = 0;
    add(f, "ev-e1", "alice", "e", 1.0, 130);
    EXPECT_EVENTS(f, "M:e M:p");
    st = state_of(f, "fw", "alice", "p");
    assert_int_equal(st.status, STATUS_MASTERED);
    assert_true(st.score == 1.0);
    expect_status(f, "alice", "d", STATUS_UNLOCKED);

    /* Mastery is sticky: a later low score changes the score, not the status. */
    f->n_ev = 0;
    add(f, "ev-a2", "alice", "a", 0.1, 200);
    EXPECT_EVENTS(f, "");
    st = state_of(f, "fw", "alice", "a");
    assert_int_equal(st.status, STATUS_MASTERED);
    assert_true(st.score == 0.1);
    assert_int_equal(st.evidence_count, 2);
    assert_false(st.flags & STATE_RULE_MET);
    assert_int_equal(st.mastered_at, 2000000);
    /* ...and nothing downstream is taken back. */
    expect_status(f, "alice", "b", STATUS_MASTERED);
    expect_status(f, "alice", "p", STATUS_MASTERED);
    /* An item observed earlier than the latest does not become "the latest". */
    add(f, "ev-a0", "alice", "a", 0.7, 50);
    st = state_of(f, "fw", "alice", "a");
    assert_true(st.score == 0.1);
    assert_int_equal(st.evidence_count, 3);
    /* Learners are independent. */
    expect_status(f, "bob", "b", STATUS_LOCKED);
    assert_int_equal(store_txn_commit(&f->txn), 0);

    /* Everything is in the store: a read transaction sees the same. */
    assert_int_equal(store_txn_begin(f->st, false, &f->txn), 0);
    expect_status(f, "alice", "c", STATUS_MASTERED);
    store_val_t blob;
    assert_int_equal(engine_evidence_find(f->eng, f->txn, "", "ev-c1", &blob), 0);
    assert_int_equal(blob.len, strlen("blob of ev-c1"));
    assert_memory_equal(blob.data, "blob of ev-c1", blob.len);
}

static void test_evidence_find(void **state)
{
    fixture_t *f = *state;
    store_val_t blob;
    assert_int_equal(engine_evidence_find(f->eng, f->txn, "", "x-1", &blob), ERR_NOT_FOUND);
    add(f, "x-1", "carl", "a", 0.3, -5000); /* before 1970: negative observed_at */
    add(f, "x-2", "carl", "a", 0.4, 7000);
    add(f, "x-3", "carl", "zz-unknown", 0.4, 7000); /* in no framework: just recorded */
    assert_int_equal(engine_evidence_find(f->eng, f->txn, "", "x-1", &blob), 0);
    assert_int_equal(blob.len, strlen("blob of x-1"));
    assert_memory_equal(blob.data, "blob of x-1", blob.len);
    assert_int_equal(engine_evidence_find(f->eng, f->txn, "", "x-3", &blob), 0);
    assert_memory_equal(blob.data, "blob of x-3", blob.len);
    assert_int_equal(engine_evidence_find(f->eng, f->txn, "", "x-", &blob), ERR_NOT_FOUND);
    assert_int_equal(engine_evidence_find(f->eng, f->txn, "", "x-1 ", &blob), ERR_NOT_FOUND);
    /* Sorted by observed_at, latest = x-2 even though x-1 has a negative time. */
    comp_state_t st = state_of(f, "fw", "carl", "a");
    assert_true(st.score == 0.4);
    assert_int_equal(st.evidence_count, 2);
    EXPECT_EVENTS(f, "");
    /* An empty blob is stored and found as empty. */
    engine_evidence_t ev = {"x-4", "carl", "e", 0.2, 1.0, OUTCOME_NONE, 9000, "", false, 0};
    assert_int_equal(evidence_add(f, &ev, "", 0), 0);
    assert_int_equal(engine_evidence_find(f->eng, f->txn, "", "x-4", &blob), 0);
    assert_int_equal(blob.len, 0);
    /* A large blob (beyond the engine's stack buffer). */
    char *big = malloc(10000);
    assert_non_null(big);
    memset(big, 'B', 10000);
    engine_evidence_t ev5 = {"x-5", "carl", "e", 0.2, 1.0, OUTCOME_NONE, 9001, "", false, 0};
    assert_int_equal(evidence_add(f, &ev5, big, 10000), 0);
    assert_int_equal(engine_evidence_find(f->eng, f->txn, "", "x-5", &blob), 0);
    assert_int_equal(blob.len, 10000);
    assert_memory_equal(blob.data, big, 10000);
    free(big);
}

static void test_override_grant(void **state)
{
    fixture_t *f = *state;
    /* bob has good evidence on c, locked behind b (locked behind a). */
    add(f, "bob-c", "bob", "c", 0.95, 10);
    EXPECT_EVENTS(f, "");
    next_txn(f);
    engine_set_now(f->eng, 3000000);
    comp_state_t out;
    err_detail_t d;
    assert_int_equal(override(f, "bob", "fw", "b", true, "passed the oral", "ms.smith", &out, &d),
                     0);
    /* The override is recorded first, then b's mastery and its cascade: c unlocks and its
     * earlier evidence masters it. a is not touched. */
    EXPECT_EVENTS(f, "O+:b M:b U:c M:c");
    assert_string_equal(f->ev[0].reason, "passed the oral");
    assert_string_equal(f->ev[0].actor, "ms.smith");
    assert_true(f->ev[0].mastered);
    assert_string_equal(f->ev[1].evidence, "");
    assert_int_equal(out.status, STATUS_MASTERED);
    assert_true(out.flags & STATE_OVERRIDDEN);
    assert_false(out.flags & STATE_WITHDRAWN);
    assert_int_equal(out.mastered_at, 3000000);
    assert_int_equal(out.override_at, 3000000);
    assert_int_equal(out.unlocked_at, 3000000);
    comp_state_t st = state_of(f, "fw", "bob", "b");
    assert_memory_equal(&st, &out, sizeof st);
    expect_status(f, "bob", "c", STATUS_MASTERED);
    expect_status(f, "bob", "a", STATUS_UNLOCKED);

    /* Granting again: audited again, nothing else changes. */
    f->n_ev = 0;
    assert_int_equal(override(f, "bob", "fw", "b", true, "again", "ms.smith", &out, &d), 0);
    EXPECT_EVENTS(f, "O+:b");
    assert_int_equal(out.mastered_at, 3000000);

    /* Unknown framework or competency: NOT_FOUND naming the field; nothing emitted. */
    f->n_ev = 0;
    err_clear(&d);
    assert_int_equal(override(f, "bob", "nope", "b", true, "r", "t", &out, &d), ERR_NOT_FOUND);
    assert_string_equal(d.field, "override.framework_id");
    assert_non_null(strstr(d.message, "nope"));
    assert_int_equal(override(f, "bob", "fw", "nope", true, "r", "t", &out, &d), ERR_NOT_FOUND);
    assert_string_equal(d.field, "override.competency_id");
    EXPECT_EVENTS(f, "");
    assert_int_equal(store_txn_error(f->txn), 0);
}

static void test_override_withdraw(void **state)
{
    fixture_t *f = *state;
    add(f, "cw-a1", "cora", "a", 0.9, 1000);
    add(f, "cw-b1", "cora", "b", 0.9, 1000);
    EXPECT_EVENTS(f, "M:a U:b U:d M:b U:c");
    next_txn(f);

    /* Withdraw a at t=5000: back to UNLOCKED (it has no prerequisite), its evidence up to
     * then no longer counts. Dependents keep what they earned. */
    f->n_ev = 0;
    engine_set_now(f->eng, 5000);
    comp_state_t out;
    err_detail_t d;
    assert_int_equal(override(f, "cora", "fw", "a", false, "copied answers", "mr.jones", &out, &d),
                     0);
    EXPECT_EVENTS(f, "O-:a");
    assert_false(f->ev[0].mastered);
    assert_int_equal(out.status, STATUS_UNLOCKED);
    assert_int_equal(out.flags & (STATE_OVERRIDDEN | STATE_WITHDRAWN),
                     STATE_OVERRIDDEN | STATE_WITHDRAWN);
    assert_false(out.flags & STATE_RULE_MET);
    assert_int_equal(out.mastered_at, 0);
    assert_true(out.score == 0.0);
    expect_status(f, "cora", "b", STATUS_MASTERED);
    next_txn(f);

    /* Evidence observed before the withdrawal does not re-master it, however good. */
    f->n_ev = 0;
    engine_set_now(f->eng, 6000);
    add(f, "cw-a2", "cora", "a", 1.0, 4000);
    add(f, "cw-a3", "cora", "a", 1.0, 4999); /* a millisecond before the withdrawal: old */
    EXPECT_EVENTS(f, "");
    comp_state_t st = state_of(f, "fw", "cora", "a");
    assert_int_equal(st.status, STATUS_UNLOCKED);
    assert_int_equal(st.evidence_count, 0);
    /* Evidence observed at or after it does: at the withdrawal's own millisecond too, since an
     * item sent right after the withdrawal is stamped with the same millisecond. */
    add(f, "cw-a4", "cora", "a", 0.85, 5000);
    EXPECT_EVENTS(f, "M:a");
    assert_string_equal(f->ev[0].evidence, "cw-a4");
    st = state_of(f, "fw", "cora", "a");
    assert_int_equal(st.status, STATUS_MASTERED);
    assert_int_equal(st.mastered_at, 6000);
    assert_false(st.flags & (STATE_OVERRIDDEN | STATE_WITHDRAWN));
    assert_true(st.score == 0.85);

    /* Withdrawing a competency whose prerequisite is not mastered makes it LOCKED. */
    f->n_ev = 0;
    engine_set_now(f->eng, 7000);
    assert_int_equal(override(f, "dora", "fw", "c", true, "r", "t", &out, &d), 0);
    EXPECT_EVENTS(f, "O+:c M:c");
    assert_int_equal(override(f, "dora", "fw", "c", false, "r", "t", &out, &d), 0);
    assert_int_equal(out.status, STATUS_LOCKED);
    expect_status(f, "dora", "c", STATUS_LOCKED);
}

static void test_reevaluate_new_revision(void **state)
{
    fixture_t *f = *state;
    /* alice masters a (and so b and d unlock); dan has only locked evidence on c; erin has a
     * weak score on a; fay has evidence on e only. */
    add(f, "r-a1", "alice", "a", 0.9, 10);
    add(f, "r-c1", "dan", "c", 0.9, 10);
    add(f, "r-a2", "erin", "a", 0.2, 10);
    add(f, "r-e1", "fay", "e", 0.3, 10);
    EXPECT_EVENTS(f, "M:a U:b U:d");
    next_txn(f);

    /* Revision 2: a now requires z (mastered by no one), c requires nothing, f is new and
     * needs one of [a, z]. */
    f->n_ev = 0;
    engine_set_now(f->eng, 9000000);
    install(f, fw_rev2, 2);
    const catalog_fw_t *fw = catalog_find(f->cat, "fw");
    assert_non_null(fw);
    assert_int_equal(fw->revision, 2);
    assert_int_equal(reevaluate(f, fw), 0);
    /* Learners in id order, competencies in topological order: alice's f unlocks (a is
     * mastered); dan's c unlocks and its evidence masters it at once. */
    EXPECT_EVENTS(f, "U:f U:c M:c");
    assert_string_equal(f->ev[0].learner, "alice");
    assert_string_equal(f->ev[1].learner, "dan");
    assert_string_equal(f->ev[2].learner, "dan");
    for (size_t i = 0; i < f->n_ev; i++) {
        assert_int_equal(f->ev[i].revision, 2);
        assert_string_equal(f->ev[i].evidence, ""); /* a reload, not an evidence item */
    }
    /* No mastery is taken back, though a's new prerequisite z is not mastered. */
    comp_state_t st = state_of(f, "fw", "alice", "a");
    assert_int_equal(st.status, STATUS_MASTERED);
    expect_status(f, "alice", "z", STATUS_UNLOCKED);
    expect_status(f, "alice", "d", STATUS_UNLOCKED);
    st = state_of(f, "fw", "dan", "c");
    assert_int_equal(st.status, STATUS_MASTERED);
    assert_int_equal(st.mastered_at, 9000000);
    expect_status(f, "erin", "f", STATUS_LOCKED);
    expect_status(f, "fay", "f", STATUS_LOCKED);
    expect_status(f, "fay", "d", STATUS_LOCKED);

    /* Running it again changes nothing and emits nothing. */
    f->n_ev = 0;
    assert_int_equal(reevaluate(f, fw), 0);
    EXPECT_EVENTS(f, "");

    /* The new graph is live for new evidence: z unlocks erin's a (which is already
     * unlocked from revision 1 and not met) and f. */
    add(f, "r-z1", "erin", "z", 0.9, 20);
    EXPECT_EVENTS(f, "M:z U:f");
    assert_int_equal(store_txn_commit(&f->txn), 0);
}

static void test_two_frameworks(void **state)
{
    fixture_t *f = *state;
    install(f, fw_other, 1);
    assert_int_equal(catalog_count(f->cat), 2);
    /* 0.9 masters a in fw (>= 0.8) but not in strict (>= 0.95): one record, two verdicts. */
    add(f, "t-a1", "gus", "a", 0.9, 10);
    EXPECT_EVENTS(f, "M:a U:b U:d");
    assert_int_equal(state_of(f, "strict", "gus", "a").status, STATUS_UNLOCKED);
    assert_true(state_of(f, "strict", "gus", "a").flags == 0);
    assert_int_equal(state_of(f, "fw", "gus", "a").status, STATUS_MASTERED);
    f->n_ev = 0;
    add(f, "t-a2", "gus", "a", 0.97, 20);
    EXPECT_EVENTS(f, "M:a");
    assert_string_equal(f->ev[0].framework, "strict");
}

static void test_emit_failure(void **state)
{
    fixture_t *f = *state;
    /* A change list out of room aborts the operation (the caller drops the batch). */
    f->fail_emit = ERR_NOMEM;
    engine_evidence_t ev = {"h-a1", "hal", "a", 0.9, 1.0, OUTCOME_NONE, 10, "", false, 0};
    assert_int_equal(evidence_add(f, &ev, "x", 1), ERR_NOMEM);
    comp_state_t out;
    assert_int_equal(override(f, "hal", "fw", "b", true, "r", "t", &out, NULL), ERR_NOMEM);
    f->fail_emit = 0;
}

/* Stores a framework record as the handler does: key H(id) rev(be32), value
 * [int64 loaded_at LE][document]. */
static void store_framework(fixture_t *f, const char *id, uint32_t rev, int64_t at,
                            const char *title)
{
    char doc[256];
    int n = snprintf(doc, sizeof doc,
                     "{\"id\": \"%s\", \"title\": \"%s\", \"version\": \"%u\", "
                     "\"competencies\": [{\"id\": \"%s.c\", \"title\": \"C\"}]}",
                     id, title, rev, id);
    assert_true(n > 0 && (size_t)n < sizeof doc);
    uint8_t rec[8 + sizeof doc];
    memcpy(rec, &at, 8);
    memcpy(rec + 8, doc, (size_t)n);
    store_key_t k;
    store_key_reset(&k);
    store_key_hash(&k, id);
    store_key_u32(&k, rev);
    assert_int_equal(store_put(f->txn, STORE_DB_FRAMEWORKS, &k, rec, 8 + (size_t)n, 0), 0);
}

static void test_catalog_load(void **state)
{
    fixture_t *f = *state;
    err_detail_t d;
    /* An empty store: an empty catalog (the fixture's framework is dropped). */
    assert_int_equal(catalog_load(f->cat, f->txn, &d), 0);
    assert_int_equal(catalog_count(f->cat), 0);
    assert_null(catalog_find(f->cat, "fw"));
    assert_null(catalog_at(f->cat, 0));

    /* Loaded in the order zeta (t=100), mid (150), alpha (200), zeta again (300). */
    store_framework(f, "zeta", 1, 100, "Zeta one");
    store_framework(f, "mid", 1, 150, "Mid");
    store_framework(f, "alpha", 1, 200, "Alpha");
    store_framework(f, "zeta", 2, 300, "Zeta two");
    assert_int_equal(catalog_load(f->cat, f->txn, &d), 0);
    assert_int_equal(catalog_count(f->cat), 3);
    /* The current revision of each. */
    const catalog_fw_t *z = catalog_find(f->cat, "zeta");
    assert_non_null(z);
    assert_int_equal(z->revision, 2);
    assert_int_equal(z->loaded_at, 300);
    assert_string_equal(graph_title(z->graph), "Zeta two");
    assert_string_equal(graph_version(z->graph), "2");
    assert_int_equal(catalog_find(f->cat, "alpha")->revision, 1);
    assert_int_equal(catalog_find(f->cat, "alpha")->loaded_at, 200);
    /* In load order (of each framework's first revision), as catalog_put keeps it in memory,
     * so listings look the same before and after a restart. */
    assert_string_equal(graph_id(catalog_at(f->cat, 0)->graph), "zeta");
    assert_string_equal(graph_id(catalog_at(f->cat, 1)->graph), "mid");
    assert_string_equal(graph_id(catalog_at(f->cat, 2)->graph), "alpha");
    assert_null(catalog_at(f->cat, 3));
    assert_true(engine_competency_known(f->eng, "mid.c"));
    assert_false(engine_competency_known(f->eng, "a"));

    /* The same order as building the catalog in memory. */
    catalog_t *mem = catalog_new();
    assert_non_null(mem);
    static const char *const order[] = {"zeta", "mid", "alpha", "zeta"};
    for (int i = 0; i < 4; i++) {
        char doc[256];
        snprintf(doc, sizeof doc, "{\"id\": \"%s\", \"title\": \"T\", \"competencies\": []}",
                 order[i]);
        graph_t *g = NULL;
        assert_int_equal(graph_parse(doc, strlen(doc), &g, &d), 0);
        assert_int_equal(catalog_put(mem, &g, i == 3 ? 2 : 1, 0), 0);
    }
    assert_int_equal(catalog_count(mem), 3);
    for (uint32_t i = 0; i < 3; i++)
        assert_string_equal(graph_id(catalog_at(mem, i)->graph),
                            graph_id(catalog_at(f->cat, i)->graph));
    catalog_destroy(&mem);
    assert_null(mem);

    /* A stored document that no longer parses: INTERNAL, named. */
    store_key_t k;
    store_key_reset(&k);
    store_key_hash(&k, "broken");
    store_key_u32(&k, 1);
    uint8_t rec[8 + 5] = {0};
    memcpy(rec + 8, "{nope", 5);
    assert_int_equal(store_put(f->txn, STORE_DB_FRAMEWORKS, &k, rec, sizeof rec, 0), 0);
    err_clear(&d);
    assert_int_equal(catalog_load(f->cat, f->txn, &d), ERR_INTERNAL);
    assert_string_equal(d.field, "frameworks");
    assert_non_null(strstr(d.message, "no longer parses"));
    /* A record too short to hold its header. */
    assert_int_equal(store_put(f->txn, STORE_DB_FRAMEWORKS, &k, rec, 4, 0), 0);
    assert_int_equal(catalog_load(f->cat, f->txn, &d), ERR_INTERNAL);
    assert_string_equal(d.field, "frameworks");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked_then_cascade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_override_grant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_override_withdraw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reevaluate_new_revision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_frameworks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emit_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catalog_load, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
