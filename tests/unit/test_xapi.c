/*
 * Unit tests for xapi: real-looking xAPI statements (an LMS quiz, a simulation with a raw
 * score, a voiding statement, statements from a CASE-aligned item bank) mapped by a mapping
 * file into evidence, retractions, or "not mapped" with the reason and the JSON path.
 * Expected instants are computed by hand (2026-11-20T10:15:00Z = 1795169700000 ms).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "xapi.h"

#define T_1015Z 1795169700000LL

static const char *MAPPING =
    "{\"verbs\": {\"http://adlnet.gov/expapi/verbs/passed\": {},"
    "            \"http://adlnet.gov/expapi/verbs/failed\": {},"
    "            \"http://adlnet.gov/expapi/verbs/scored\": {},"
    "            \"http://adlnet.gov/expapi/verbs/completed\": {},"
    "            \"http://adlnet.gov/expapi/verbs/mastered\": {\"score\": 1}},"
    " \"activities\": {"
    "   \"https://lms.school.example/quiz/77\": \"frac.equivalent\","
    "   \"https://lms.school.example/course/fractions\": \"frac.all\","
    "   \"https://sims.example.org/pizza\": \"frac.add-like\","
    "   \"https://case.example.org/ims/case/v1p0/CFItems/c1000000-0000-4000-8000-000000000002\":"
    "     \"c1000000-0000-4000-8000-000000000002\"},"
    " \"learners\": {"
    "   \"lookup\": {\"mailto:dan.o@parents.example\": \"s-1004\","
    "              \"E9AB820DD0BB2C826ACDAF1F8CA18C346C4B3D14\": \"s-1003\","
    "              \"https://lms.other.example|77\": \"s-1077\"},"
    "   \"account\": [{\"homePage\": \"https://lms.school.example\", \"use\": \"name\"},"
    "                 {\"homePage\": \"https://sims.example.org\", \"use\": \"name\", "
    "\"prefix\": \"sim-\"}],"
    "   \"mbox\": \"local_part\", \"mbox_domains\": [\"School.Example\"],"
    "   \"openid\": \"as_is\"},"
    " \"source\": \"lrs-east\"}";

static xapi_map_t *map_of(const char *text)
{
    xapi_map_t *m = NULL;
    err_detail_t d;
    int rc = xapi_map_parse(text, strlen(text), &m, &d);
    if (rc != 0)
        fail_msg("mapping refused: %s %s: %s", err_str(rc), d.field, d.message);
    return m;
}

/* Maps one statement (JSON text); the caller frees *js after using the item's pointers. */
static xapi_verdict_t map_text(const xapi_map_t *m, const char *text, xapi_item_t *it, json_t **js)
{
    json_error_t e;
    *js = json_loads(text, 0, &e);
    if (*js == NULL)
        fail_msg("bad test statement: %s: %s", e.text, text);
    return xapi_map_statement(m, *js, it);
}

/* A statement from the school's LMS: account actor, quiz object, given verb and result. */
static char *quiz(const char *id, const char *verb, const char *result)
{
    char *s = malloc(2048);
    assert_non_null(s);
    snprintf(s, 2048,
             "{\"id\": \"%s\", \"actor\": {\"objectType\": \"Agent\", \"name\": \"Ann\", "
             "\"account\": {\"homePage\": \"https://lms.school.example\", \"name\": \"s-1001\"}},"
             " \"verb\": {\"id\": \"http://adlnet.gov/expapi/verbs/%s\", \"display\": {\"en-US\": "
             "\"%s\"}},"
             " \"object\": {\"objectType\": \"Activity\", \"id\": "
             "\"https://lms.school.example/quiz/77\", \"definition\": {\"name\": {\"en-US\": "
             "\"Equivalent fractions quiz\"}}},"
             " %s%s\"timestamp\": \"2026-11-20T10:15:00+00:00\", \"stored\": "
             "\"2026-11-20T10:15:02.114Z\", \"version\": \"1.0.3\"}",
             id, verb, verb, result ? result : "", result ? ", " : "");
    return s;
}

static void expect_evidence(const xapi_map_t *m, const char *text, const char *competency,
                            const char *learner, double score, xapi_outcome_t outcome)
{
    xapi_item_t it;
    json_t *js = NULL;
    if (map_text(m, text, &it, &js) != XAPI_EVIDENCE)
        fail_msg("not evidence: %s %s: %s\n%s", xapi_reason_name(it.reason), it.path, it.message,
                 text);
    assert_string_equal(it.competency_id, competency);
    assert_string_equal(it.learner_id, learner);
    assert_float_equal(it.score, score, 1e-12);
    assert_int_equal(it.outcome, outcome);
    assert_string_equal(it.evidence_id, it.statement_id);
    assert_string_equal(it.source, "lrs-east");
    json_decref(js);
}

static void expect_unmapped(const xapi_map_t *m, const char *text, xapi_reason_t reason,
                            const char *path, const char *message)
{
    xapi_item_t it;
    json_t *js = NULL;
    xapi_verdict_t v = map_text(m, text, &it, &js);
    if (v != XAPI_UNMAPPED || it.reason != reason || strcmp(it.path, path) != 0 ||
        strstr(it.message, message) == NULL)
        fail_msg("got verdict %d %s \"%s\" \"%s\"; want %s \"%s\" \"%s\"\n%s", (int)v,
                 xapi_reason_name(it.reason), it.path, it.message, xapi_reason_name(reason), path,
                 message, text);
    json_decref(js);
}

/* ---- score paths ------------------------------------------------------------------------ */

static void test_scores(void **state)
{
    (void)state;
    xapi_map_t *m = map_of(MAPPING);
    char *s;
    /* scaled wins over raw and success */
    s = quiz("6690e6c9-3ef0-4ed3-8b37-7f3964730bee", "passed",
             "\"result\": {\"score\": {\"scaled\": 0.85, \"raw\": 17, \"min\": 0, \"max\": 20}, "
             "\"success\": true, \"completion\": true, \"duration\": \"PT4M12S\"}");
    expect_evidence(m, s, "frac.equivalent", "s-1001", 0.85, XAPI_OUTCOME_PASSED);
    free(s);
    /* raw within min..max: (7 - 2) / (12 - 2) */
    s = quiz("a1b2c3d4-0000-4000-8000-000000000002", "scored",
             "\"result\": {\"score\": {\"raw\": 7, \"min\": 2, \"max\": 12}}");
    expect_evidence(m, s, "frac.equivalent", "s-1001", 0.5, XAPI_OUTCOME_NONE);
    free(s);
    /* raw without min and max is not a score: success decides */
    s = quiz("a1b2c3d4-0000-4000-8000-000000000003", "failed",
             "\"result\": {\"score\": {\"raw\": 3}, \"success\": false}");
    expect_evidence(m, s, "frac.equivalent", "s-1001", 0.0, XAPI_OUTCOME_FAILED);
    free(s);
    s = quiz("a1b2c3d4-0000-4000-8000-000000000004", "completed",
             "\"result\": {\"success\": true}");
    expect_evidence(m, s, "frac.equivalent", "s-1001", 1.0, XAPI_OUTCOME_PASSED);
    free(s);
    /* the verb's default score: "mastered" without a result */
    s = quiz("a1b2c3d4-0000-4000-8000-000000000005", "mastered", NULL);
    expect_evidence(m, s, "frac.equivalent", "s-1001", 1.0, XAPI_OUTCOME_NONE);
    free(s);
    /* nothing to score */
    s = quiz("a1b2c3d4-0000-4000-8000-000000000006", "completed",
             "\"result\": {\"completion\": true}");
    expect_unmapped(m, s, XAPI_NO_SCORE, "result", "no result.score.scaled");
    free(s);
    s = quiz("a1b2c3d4-0000-4000-8000-000000000007", "completed", NULL);
    expect_unmapped(m, s, XAPI_NO_SCORE, "result", "success");
    free(s);

    /* a negative scaled score is clipped to 0 with a warning */
    xapi_item_t it;
    json_t *js = NULL;
    s = quiz("a1b2c3d4-0000-4000-8000-000000000008", "scored",
             "\"result\": {\"score\": {\"scaled\": -0.25}}");
    assert_int_equal(map_text(m, s, &it, &js), XAPI_EVIDENCE);
    assert_float_equal(it.score, 0.0, 0);
    assert_string_equal(it.warning, "result.score.scaled -0.25 is negative: counted as 0");
    json_decref(js);
    free(s);

    /* out of range: malformed, with the path */
    s = quiz("a1b2c3d4-0000-4000-8000-000000000009", "scored",
             "\"result\": {\"score\": {\"scaled\": 1.5}}");
    expect_unmapped(m, s, XAPI_MALFORMED, "result.score.scaled", "scaled 1.5 is outside -1..1");
    free(s);
    s = quiz("a1b2c3d4-0000-4000-8000-00000000000a", "scored",
             "\"result\": {\"score\": {\"raw\": 12, \"min\": 0, \"max\": 10}}");
    expect_unmapped(m, s, XAPI_MALFORMED, "result.score.raw", "raw 12 is outside 0..10");
    free(s);
    s = quiz("a1b2c3d4-0000-4000-8000-00000000000b", "scored",
             "\"result\": {\"score\": {\"raw\": 5, \"min\": 10, \"max\": 10}}");
    expect_unmapped(m, s, XAPI_MALFORMED, "result.score.max", "max 10 is not above min 10");
    free(s);
    s = quiz("a1b2c3d4-0000-4000-8000-00000000000c", "scored",
             "\"result\": {\"score\": {\"scaled\": \"0.9\"}}");
    expect_unmapped(m, s, XAPI_MALFORMED, "result.score.scaled", "scaled must be a number");
    free(s);
    s = quiz("a1b2c3d4-0000-4000-8000-00000000000d", "passed",
             "\"result\": {\"success\": \"yes\"}");
    expect_unmapped(m, s, XAPI_MALFORMED, "result.success", "true or false");
    free(s);
    xapi_map_destroy(&m);
    assert_null(m);
}

/* ---- learners --------------------------------------------------------------------------- */

static char *with_actor(const char *actor)
{
    char *s = malloc(2048);
    assert_non_null(s);
    snprintf(s, 2048,
             "{\"id\": \"0b6b9e0e-7c1e-4d8c-9a43-2a2f4bb1d5a1\", \"actor\": %s,"
             " \"verb\": {\"id\": \"http://adlnet.gov/expapi/verbs/passed\"},"
             " \"object\": {\"id\": \"https://sims.example.org/pizza\"},"
             " \"result\": {\"score\": {\"scaled\": 0.9}, \"success\": true},"
             " \"timestamp\": \"2026-11-20T10:15:00Z\"}",
             actor);
    return s;
}

static void learner_is(const xapi_map_t *m, const char *actor, const char *learner)
{
    char *s = with_actor(actor);
    expect_evidence(m, s, "frac.add-like", learner, 0.9, XAPI_OUTCOME_PASSED);
    free(s);
}

static void learner_fails(const xapi_map_t *m, const char *actor, xapi_reason_t reason,
                          const char *path, const char *message)
{
    char *s = with_actor(actor);
    expect_unmapped(m, s, reason, path, message);
    free(s);
}

static void test_learners(void **state)
{
    (void)state;
    xapi_map_t *m = map_of(MAPPING);
    /* account: the name as-is for the LMS, with a prefix for the simulation */
    learner_is(
        m, "{\"account\": {\"homePage\": \"https://lms.school.example\", \"name\": \"s-1001\"}}",
        "s-1001");
    learner_is(m, "{\"account\": {\"homePage\": \"https://sims.example.org\", \"name\": \"4411\"}}",
               "sim-4411");
    /* the lookup table first, even for an account */
    learner_is(m, "{\"account\": {\"homePage\": \"https://lms.other.example\", \"name\": \"77\"}}",
               "s-1077");
    learner_fails(
        m, "{\"account\": {\"homePage\": \"https://lms.other.example\", \"name\": \"78\"}}",
        XAPI_NO_LEARNER, "actor.account", "no learner for account 78 of https://lms.other.example");
    /* mbox: local part for the school's domain (any case), lookup for the others */
    learner_is(m, "{\"mbox\": \"mailto:ann.smith@school.EXAMPLE\"}", "ann.smith");
    learner_is(m, "{\"mbox\": \"mailto:dan.o@parents.example\"}", "s-1004");
    learner_fails(m, "{\"mbox\": \"mailto:eve@elsewhere.example\"}", XAPI_NO_LEARNER, "actor.mbox",
                  "(domain not in mbox_domains)");
    learner_fails(m, "{\"mbox\": \"ann@school.example\"}", XAPI_MALFORMED, "actor.mbox", "mailto:");
    /* mbox_sha1sum: lookup only, any case (sha1 of mailto:cara@school.example) */
    learner_is(m, "{\"mbox_sha1sum\": \"e9ab820dd0bb2c826acdaf1f8ca18c346c4b3d14\"}", "s-1003");
    learner_fails(m, "{\"mbox_sha1sum\": \"0000820dd0bb2c826acdaf1f8ca18c346c4b3d14\"}",
                  XAPI_NO_LEARNER, "actor.mbox_sha1sum", "in the lookup table");
    learner_fails(m, "{\"mbox_sha1sum\": \"xyz\"}", XAPI_MALFORMED, "actor.mbox_sha1sum",
                  "40 hex digits");
    /* openid as-is */
    learner_is(m, "{\"openid\": \"https://id.school.example/ann\"}",
               "https://id.school.example/ann");
    /* groups and anonymous actors identify nobody */
    learner_fails(m,
                  "{\"objectType\": \"Group\", \"member\": [{\"mbox\": "
                  "\"mailto:ann@school.example\"}]}",
                  XAPI_NO_LEARNER, "actor.objectType", "Group");
    learner_fails(m, "{\"name\": \"Ann\"}", XAPI_NO_LEARNER, "actor", "no mbox");
    learner_fails(m, "\"ann\"", XAPI_MALFORMED, "actor", "actor must be an object");
    learner_fails(m, "{\"account\": {\"homePage\": \"https://lms.school.example\"}}",
                  XAPI_MALFORMED, "actor.account", "homePage and name");
    xapi_map_destroy(&m);

    /* defaults: any account name as-is; mbox and openid through the lookup table only */
    m = map_of("{\"activities\": {\"https://sims.example.org/pizza\": \"frac.add-like\"}, "
               "\"source\": \"lrs-east\"}");
    learner_is(m, "{\"account\": {\"homePage\": \"https://anything.example\", \"name\": \"u9\"}}",
               "u9");
    learner_fails(m, "{\"mbox\": \"mailto:ann@school.example\"}", XAPI_NO_LEARNER, "actor.mbox",
                  "in the lookup table");
    learner_fails(m, "{\"openid\": \"https://id.school.example/ann\"}", XAPI_NO_LEARNER,
                  "actor.openid", "in the lookup table");
    xapi_map_destroy(&m);
}

/* ---- competencies ----------------------------------------------------------------------- */

static char *with_object_context(const char *object, const char *context)
{
    char *s = malloc(4096);
    assert_non_null(s);
    snprintf(s, 4096,
             "{\"id\": \"9d0c1f7e-25a4-4b8e-8f2a-0c7d5f0e1a77\", \"actor\": {\"account\": "
             "{\"homePage\": \"https://lms.school.example\", \"name\": \"s-1002\"}},"
             " \"verb\": {\"id\": \"http://adlnet.gov/expapi/verbs/scored\"},"
             " \"object\": %s, %s%s \"result\": {\"score\": {\"scaled\": 0.75}},"
             " \"timestamp\": \"2026-11-20T11:15:00.250+01:00\"}",
             object, context ? context : "", context ? "," : "");
    return s;
}

static void test_competency_lookup(void **state)
{
    (void)state;
    xapi_map_t *m = map_of(MAPPING);
    char *s;
    /* an unmapped question, inside a mapped quiz (parent) */
    s = with_object_context("{\"id\": \"https://lms.school.example/quiz/77/q3\"}",
                            "\"context\": {\"contextActivities\": {\"parent\": [{\"id\": "
                            "\"https://lms.school.example/quiz/77\"}], \"grouping\": [{\"id\": "
                            "\"https://lms.school.example/course/fractions\"}]}}");
    expect_evidence(m, s, "frac.equivalent", "s-1002", 0.75, XAPI_OUTCOME_NONE);
    free(s);
    /* grouping, when the parent is not mapped */
    s = with_object_context("{\"id\": \"https://lms.school.example/quiz/78/q1\"}",
                            "\"context\": {\"contextActivities\": {\"parent\": [{\"id\": "
                            "\"https://lms.school.example/quiz/78\"}], \"grouping\": [{\"id\": "
                            "\"https://lms.school.example/course/fractions\"}]}}");
    expect_evidence(m, s, "frac.all", "s-1002", 0.75, XAPI_OUTCOME_NONE);
    free(s);
    /* other, given as a single object (xAPI 1.0.0): a CASE item URI */
    s = with_object_context("{\"id\": \"https://bank.example.org/items/5531\"}",
                            "\"context\": {\"contextActivities\": {\"other\": {\"id\": "
                            "\"https://case.example.org/ims/case/v1p0/CFItems/"
                            "c1000000-0000-4000-8000-000000000002\"}}}");
    expect_evidence(m, s, "c1000000-0000-4000-8000-000000000002", "s-1002", 0.75,
                    XAPI_OUTCOME_NONE);
    free(s);
    /* the instant: 11:15:00.250+01:00 is 10:15:00.250Z */
    xapi_item_t it;
    json_t *js = NULL;
    s = with_object_context("{\"id\": \"https://lms.school.example/quiz/77\"}", NULL);
    assert_int_equal(map_text(m, s, &it, &js), XAPI_EVIDENCE);
    assert_int_equal(it.observed_at_ms, T_1015Z + 250);
    assert_string_equal(it.warning, "");
    json_decref(js);
    free(s);
    /* nothing mapped */
    s = with_object_context("{\"id\": \"https://lms.school.example/quiz/99\"}",
                            "\"context\": {\"contextActivities\": {\"parent\": []}}");
    expect_unmapped(m, s, XAPI_NO_COMPETENCY, "object.id",
                    "no competency for activity https://lms.school.example/quiz/99");
    free(s);
    /* structure of contextActivities */
    s = with_object_context("{\"id\": \"https://lms.school.example/quiz/77\"}",
                            "\"context\": {\"contextActivities\": {\"parent\": \"quiz\"}}");
    expect_unmapped(m, s, XAPI_MALFORMED, "context.contextActivities.parent",
                    "must be an array of activities");
    free(s);
    s = with_object_context("{\"id\": \"https://lms.school.example/quiz/77\"}",
                            "\"context\": {\"contextActivities\": {\"grouping\": [{\"id\": "
                            "\"https://x\"}, {\"name\": 1}]}}");
    expect_unmapped(m, s, XAPI_MALFORMED, "context.contextActivities.grouping[1].id",
                    "an activity needs an id");
    free(s);
    s = with_object_context("{\"objectType\": \"Activity\"}", NULL);
    expect_unmapped(m, s, XAPI_MALFORMED, "object.id", "an activity needs an id");
    free(s);
    /* an Agent as object is not an activity: only the context can map it */
    s = with_object_context("{\"objectType\": \"Agent\", \"mbox\": \"mailto:t@school.example\"}",
                            "\"context\": {\"contextActivities\": {\"parent\": [{\"id\": "
                            "\"https://lms.school.example/quiz/77\"}]}}");
    expect_evidence(m, s, "frac.equivalent", "s-1002", 0.75, XAPI_OUTCOME_NONE);
    free(s);
    xapi_map_destroy(&m);

    /* look_in restricted to the object: the parent no longer counts */
    m = map_of("{\"activities\": {\"https://lms.school.example/quiz/77\": \"frac.equivalent\"}, "
               "\"look_in\": [\"object\"], \"source\": \"lrs-east\"}");
    s = with_object_context("{\"id\": \"https://lms.school.example/quiz/77/q3\"}",
                            "\"context\": {\"contextActivities\": {\"parent\": [{\"id\": "
                            "\"https://lms.school.example/quiz/77\"}]}}");
    expect_unmapped(m, s, XAPI_NO_COMPETENCY, "object.id", "quiz/77/q3");
    free(s);
    /* CASE item URIs added from a framework: the file's own entries win */
    const char *existing = NULL;
    assert_int_equal(
        xapi_map_add_activity(m, "https://lms.school.example/quiz/77/q3", "frac.q3", &existing), 0);
    assert_int_equal(
        xapi_map_add_activity(m, "https://lms.school.example/quiz/77", "other", &existing),
        ERR_DUPLICATE);
    assert_string_equal(existing, "frac.equivalent");
    assert_int_equal(xapi_map_add_activity(m, "", "x", NULL), ERR_INVALID);
    assert_int_equal(xapi_map_activity_count(m), 2);
    s = with_object_context("{\"id\": \"https://lms.school.example/quiz/77/q3\"}", NULL);
    expect_evidence(m, s, "frac.q3", "s-1002", 0.75, XAPI_OUTCOME_NONE);
    free(s);
    xapi_map_destroy(&m);
}

/* ---- voiding, verbs, times, malformed --------------------------------------------------- */

static void test_voiding_and_verbs(void **state)
{
    (void)state;
    xapi_map_t *m = map_of(MAPPING);
    xapi_item_t it;
    json_t *js = NULL;
    const char *voiding =
        "{\"id\": \"f4e1f0c2-8d1c-4b55-9a53-7d0b8e1e2c10\", \"actor\": {\"mbox\": "
        "\"mailto:teacher@school.example\"}, \"verb\": {\"id\": "
        "\"http://adlnet.gov/expapi/verbs/voided\", \"display\": {\"en-US\": \"voided\"}}, "
        "\"object\": {\"objectType\": \"StatementRef\", \"id\": "
        "\"6690e6c9-3ef0-4ed3-8b37-7f3964730bee\"}, \"timestamp\": \"2026-11-21T08:00:00Z\"}";
    assert_int_equal(map_text(m, voiding, &it, &js), XAPI_RETRACTION);
    assert_string_equal(it.evidence_id, "6690e6c9-3ef0-4ed3-8b37-7f3964730bee");
    assert_string_equal(it.statement_id, "f4e1f0c2-8d1c-4b55-9a53-7d0b8e1e2c10");
    assert_int_equal(it.reason, XAPI_OK);
    json_decref(js);
    expect_unmapped(m,
                    "{\"id\": \"v2\", \"actor\": {}, \"verb\": {\"id\": "
                    "\"http://adlnet.gov/expapi/verbs/voided\"}, \"object\": {\"id\": "
                    "\"https://lms.school.example/quiz/77\"}}",
                    XAPI_MALFORMED, "object.objectType", "StatementRef");
    expect_unmapped(
        m,
        "{\"id\": \"v3\", \"verb\": {\"id\": \"http://adlnet.gov/expapi/verbs/voided\"},"
        " \"object\": {\"objectType\": \"StatementRef\"}}",
        XAPI_MALFORMED, "object.id", "the id of the voided statement");

    char *s = quiz("b0000000-0000-4000-8000-000000000001", "experienced", NULL);
    expect_unmapped(m, s, XAPI_VERB_NOT_MAPPED, "verb.id",
                    "verb http://adlnet.gov/expapi/verbs/experienced is not mapped");
    free(s);
    xapi_map_destroy(&m);

    /* the default verbs: the five ADL ones, without default scores */
    m = map_of("{\"activities\": {\"https://lms.school.example/quiz/77\": \"frac.equivalent\"}}");
    static const char *const five[] = {"passed", "failed", "scored", "completed", "mastered"};
    for (size_t i = 0; i < 5; i++) {
        s = quiz("b0000000-0000-4000-8000-000000000002", five[i],
                 "\"result\": {\"score\": {\"scaled\": 0.5}}");
        assert_int_equal(map_text(m, s, &it, &js), XAPI_EVIDENCE);
        assert_string_equal(it.source, "xapi");
        json_decref(js);
        free(s);
    }
    s = quiz("b0000000-0000-4000-8000-000000000003", "mastered", NULL);
    expect_unmapped(m, s, XAPI_NO_SCORE, "result", "success");
    free(s);
    s = quiz("b0000000-0000-4000-8000-000000000004", "attempted", NULL);
    expect_unmapped(m, s, XAPI_VERB_NOT_MAPPED, "verb.id", "attempted");
    free(s);
    xapi_map_destroy(&m);
}

static void test_times_and_malformed(void **state)
{
    (void)state;
    xapi_map_t *m = map_of(MAPPING);
    xapi_item_t it;
    json_t *js = NULL;
    const char *base =
        "{\"id\": \"c0000000-0000-4000-8000-000000000001\", \"actor\": {\"account\": "
        "{\"homePage\": \"https://lms.school.example\", \"name\": \"s-1001\"}}, "
        "\"verb\": {\"id\": \"http://adlnet.gov/expapi/verbs/passed\"}, \"object\": "
        "{\"id\": \"https://lms.school.example/quiz/77\"}, \"result\": "
        "{\"success\": true}";
    char s[1024];
    /* no timestamp: the LRS's stored time */
    snprintf(s, sizeof s, "%s, \"stored\": \"2026-11-20T10:15:00Z\"}", base);
    assert_int_equal(map_text(m, s, &it, &js), XAPI_EVIDENCE);
    assert_int_equal(it.observed_at_ms, T_1015Z);
    json_decref(js);
    /* no time zone: UTC, with a warning */
    snprintf(s, sizeof s, "%s, \"timestamp\": \"2026-11-20T10:15:00\"}", base);
    assert_int_equal(map_text(m, s, &it, &js), XAPI_EVIDENCE);
    assert_int_equal(it.observed_at_ms, T_1015Z);
    assert_string_equal(it.warning,
                        "timestamp '2026-11-20T10:15:00' has no time zone: read as UTC");
    json_decref(js);
    snprintf(s, sizeof s, "%s}", base);
    expect_unmapped(m, s, XAPI_MALFORMED, "timestamp", "no timestamp (and no stored time)");
    snprintf(s, sizeof s, "%s, \"timestamp\": \"yesterday\"}", base);
    expect_unmapped(m, s, XAPI_MALFORMED, "timestamp", "'yesterday' is not an RFC 3339");
    snprintf(s, sizeof s, "%s, \"timestamp\": 1795169700}", base);
    expect_unmapped(m, s, XAPI_MALFORMED, "timestamp", "must be an RFC 3339 string");

    expect_unmapped(m, "[1, 2]", XAPI_MALFORMED, "", "must be a JSON object");
    expect_unmapped(m, "{\"verb\": {\"id\": \"http://adlnet.gov/expapi/verbs/passed\"}}",
                    XAPI_MALFORMED, "id", "no statement id");
    expect_unmapped(m, "{\"id\": \"\", \"verb\": {}}", XAPI_MALFORMED, "id", "1..256 bytes");
    expect_unmapped(m, "{\"id\": \"x\", \"verb\": \"passed\"}", XAPI_MALFORMED, "verb.id",
                    "no verb id");
    expect_unmapped(
        m,
        "{\"id\": \"x\", \"verb\": {\"id\": \"http://adlnet.gov/expapi/verbs/passed\"}, "
        "\"object\": 7}",
        XAPI_MALFORMED, "object", "object must be an object");
    /* a malformed statement is malformed before it is unmapped */
    expect_unmapped(
        m,
        "{\"id\": \"x\", \"actor\": {\"name\": \"nobody\"}, \"verb\": {\"id\": "
        "\"http://adlnet.gov/expapi/verbs/passed\"}, \"object\": {\"id\": \"https://u\"},"
        " \"context\": [], \"timestamp\": \"2026-11-20T10:15:00Z\"}",
        XAPI_MALFORMED, "context", "context must be an object");
    assert_string_equal(xapi_reason_name(XAPI_NO_LEARNER), "no_learner");
    assert_string_equal(xapi_reason_name(XAPI_MALFORMED), "malformed");
    assert_string_equal(xapi_reason_name(XAPI_VERB_NOT_MAPPED), "verb_not_mapped");
    xapi_map_destroy(&m);
}

/* ---- the mapping file ------------------------------------------------------------------- */

static void map_refused(const char *text, const char *field, const char *message)
{
    xapi_map_t *m = (xapi_map_t *)&text;
    err_detail_t d;
    int rc = xapi_map_parse(text, strlen(text), &m, &d);
    if (rc != ERR_INVALID || strcmp(d.field, field) != 0 || strstr(d.message, message) == NULL)
        fail_msg("%s\n got %s \"%s\" \"%s\"; want \"%s\" \"%s\"", text, err_str(rc), d.field,
                 d.message, field, message);
    assert_null(m);
}

static void test_mapping_file(void **state)
{
    (void)state;
    map_refused("{\"verb\": []}", "verb", "unknown key 'verb'");
    map_refused("{\"learners\": {\"mbox\": \"local\"}}", "learners.mbox", "local_part");
    map_refused("{\"learners\": {\"emails\": {}}}", "learners.emails", "unknown key");
    map_refused("{\"verbs\": [\"http://adlnet.gov/expapi/verbs/voided\"]}", "verbs",
                "voiding statements always retract");
    map_refused("{\"verbs\": {\"http://x/v\": {\"score\": 2}}}", "verbs.http://x/v",
                "score must be a number in 0..1");
    map_refused("{\"verbs\": [3]}", "verbs", "verbs[0] must be a verb IRI");
    map_refused("{\"activities\": {\"https://a\": 5}}", "activities.https://a", "competency id");
    map_refused("{\"look_in\": [\"object\", \"children\"]}", "look_in",
                "look_in[1] is not object, parent, grouping or other");
    map_refused("{\"look_in\": [\"object\", \"object\"]}", "look_in", "object listed twice");
    map_refused("{\"learners\": {\"account\": [{\"use\": \"name\"}]}}", "learners.account[0]",
                "homePage");
    map_refused("{\"learners\": {\"lookup\": {\"mailto:a@b\": \"\"}}}", "learners.lookup",
                "'mailto:a@b' must map to a learner id");
    map_refused("{\"source\": \"\"}", "source", "non-empty");
    map_refused("{\"frameworks\": \"all\"}", "frameworks", "array");
    map_refused("{\"verbs\": ", "", "malformed JSON at line 1");
    map_refused("[]", "", "must be a JSON object");

    xapi_map_t *m = map_of("{\"frameworks\": [\"*\"]}");
    assert_string_equal(json_string_value(json_array_get(xapi_map_frameworks(m), 0)), "*");
    assert_int_equal(xapi_map_activity_count(m), 0);
    xapi_map_destroy(&m);
    m = map_of("{}");
    assert_null(xapi_map_frameworks(m));
    xapi_map_destroy(&m);
}

static void test_more_paths(void **state)
{
    (void)state;
    /* mbox as the whole address, an openid found in the lookup table, lookup-only mbox */
    xapi_map_t *m =
        map_of("{\"activities\": {\"https://sims.example.org/pizza\": \"frac.add-like\"},"
               " \"source\": \"lrs-east\", \"learners\": {\"mbox\": \"address\","
               " \"openid\": \"lookup\", \"lookup\": {\"https://id.example/u1\": \"s-u1\"}}}");
    learner_is(m, "{\"mbox\": \"mailto:ann@school.example\"}", "ann@school.example");
    learner_is(m, "{\"openid\": \"https://id.example/u1\"}", "s-u1");
    learner_fails(m, "{\"openid\": \"\"}", XAPI_MALFORMED, "actor.openid", "must be a URI");
    xapi_map_destroy(&m);
    m = map_of("{\"activities\": {\"https://sims.example.org/pizza\": \"frac.add-like\"},"
               " \"learners\": {\"mbox\": \"lookup\"}}");
    learner_fails(m, "{\"mbox\": \"mailto:ann@school.example\"}", XAPI_NO_LEARNER, "actor.mbox",
                  "in the lookup table");
    xapi_map_destroy(&m);

    /* two warnings on one statement are both kept */
    m = map_of(MAPPING);
    xapi_item_t it;
    json_t *js = NULL;
    char *s = quiz("d0000000-0000-4000-8000-000000000001", "scored",
                   "\"result\": {\"score\": {\"scaled\": -1}}");
    char *t = strstr(s, "10:15:00+00:00");
    assert_non_null(t);
    memcpy(t, "10:15:00\"      ", 15); /* the timestamp loses its zone */
    assert_int_equal(map_text(m, s, &it, &js), XAPI_EVIDENCE);
    assert_string_equal(it.warning, "timestamp '2026-11-20T10:15:00' has no time zone: read as "
                                    "UTC; result.score.scaled -1 is negative: counted as 0");
    json_decref(js);
    free(s);
    /* structure of result and context */
    s = quiz("d0000000-0000-4000-8000-000000000002", "scored", "\"result\": [0.5]");
    expect_unmapped(m, s, XAPI_MALFORMED, "result", "result must be an object");
    free(s);
    s = quiz("d0000000-0000-4000-8000-000000000003", "scored", "\"result\": {\"score\": 0.5}");
    expect_unmapped(m, s, XAPI_MALFORMED, "result.score", "score must be an object");
    free(s);
    s = with_object_context("{\"id\": \"https://lms.school.example/quiz/77\"}",
                            "\"context\": {\"contextActivities\": []}");
    expect_unmapped(m, s, XAPI_MALFORMED, "context.contextActivities", "must be an object");
    free(s);
    xapi_map_destroy(&m);

    assert_string_equal(xapi_reason_name(XAPI_OK), "ok");
    assert_string_equal(xapi_reason_name(XAPI_NO_COMPETENCY), "no_competency");
    assert_string_equal(xapi_reason_name(XAPI_NO_SCORE), "no_score");
    assert_string_equal(xapi_reason_name(XAPI_REASON_COUNT), "unknown");

    map_refused("{\"verbs\": \"passed\"}", "verbs", "array of verb IRIs or an object");
    map_refused("{\"verbs\": {\"http://x/v\": {\"weight\": 1}}}", "verbs.http://x/v.weight",
                "unknown key");
    map_refused("{\"activities\": []}", "activities", "must be an object");
    map_refused("{\"look_in\": []}", "look_in", "must list some of");
    map_refused("{\"learners\": []}", "learners", "must be an object");
    map_refused("{\"learners\": {\"lookup\": []}}", "learners.lookup", "must be an object");
    map_refused("{\"learners\": {\"account\": {}}}", "learners.account", "must be an array");
    map_refused("{\"learners\": {\"account\": [{\"homePage\": \"*\", \"use\": \"mbox\"}]}}",
                "learners.account[0]", "use must be \"name\"");
    map_refused("{\"learners\": {\"account\": [{\"homePage\": \"*\", \"prefix\": 1}]}}",
                "learners.account[0]", "prefix must be a string");
    map_refused("{\"learners\": {\"account\": [{\"homePage\": \"*\", \"x\": 1}]}}",
                "learners.account[0].x", "unknown key");
    map_refused("{\"learners\": {\"mbox_domains\": \"school.example\"}}", "learners.mbox_domains",
                "must be an array");
    map_refused("{\"learners\": {\"mbox_domains\": [\"\"]}}", "learners.mbox_domains",
                "mbox_domains[0] must be a domain name");
    map_refused("{\"learners\": {\"openid\": \"url\"}}", "learners.openid",
                "\"lookup\" or \"as_is\"");
    map_refused("{\"frameworks\": [\"a\", 2]}", "frameworks", "frameworks[1] must be");
}

/* ---- issue 18: completion, success, category, the order of the verdicts ------------------ */

/* MAPPING with more keys ("\"incomplete\": \"failed\""); caller destroys it. */
static xapi_map_t *map_with(const char *extra)
{
    char text[4096];
    size_t n = strlen(MAPPING);
    assert_true(n + strlen(extra) + 3 < sizeof text);
    snprintf(text, sizeof text, "%.*s, %s}", (int)(n - 1), MAPPING, extra);
    return map_of(text);
}

static void test_completion_and_success(void **state)
{
    (void)state;
    xapi_map_t *m = map_of(MAPPING);
    char *s;
    /* a "completed" statement that says it is not completed: no evidence by default */
    s = quiz("c0000000-0000-4000-8000-000000000001", "completed",
             "\"result\": {\"completion\": false}");
    expect_unmapped(m, s, XAPI_NOT_COMPLETED, "result.completion", "not completed");
    free(s);
    /* ... whatever its score, success, or the verb's default score ("mastered": 1) */
    s = quiz(
        "c0000000-0000-4000-8000-000000000002", "mastered",
        "\"result\": {\"completion\": false, \"success\": true, \"score\": {\"scaled\": 0.9}}");
    expect_unmapped(m, s, XAPI_NOT_COMPLETED, "result.completion", "not completed");
    free(s);
    /* completion true changes nothing; a non-boolean completion is malformed */
    s = quiz("c0000000-0000-4000-8000-000000000003", "mastered",
             "\"result\": {\"completion\": true}");
    expect_evidence(m, s, "frac.equivalent", "s-1001", 1.0, XAPI_OUTCOME_NONE);
    free(s);
    s = quiz("c0000000-0000-4000-8000-000000000004", "completed",
             "\"result\": {\"completion\": \"no\"}");
    expect_unmapped(m, s, XAPI_MALFORMED, "result.completion", "true or false");
    free(s);
    /* success false: failed, score 0 (never the verb's default), or its own score */
    s = quiz("c0000000-0000-4000-8000-000000000005", "mastered",
             "\"result\": {\"success\": false}");
    expect_evidence(m, s, "frac.equivalent", "s-1001", 0.0, XAPI_OUTCOME_FAILED);
    free(s);
    s = quiz("c0000000-0000-4000-8000-000000000006", "scored",
             "\"result\": {\"success\": false, \"score\": {\"scaled\": 0.6}}");
    expect_evidence(m, s, "frac.equivalent", "s-1001", 0.6, XAPI_OUTCOME_FAILED);
    free(s);
    xapi_map_destroy(&m);

    /* "incomplete": "failed": failed evidence with score 0, whatever it carried */
    m = map_with("\"incomplete\": \"failed\"");
    s = quiz(
        "c0000000-0000-4000-8000-000000000007", "mastered",
        "\"result\": {\"completion\": false, \"success\": true, \"score\": {\"scaled\": 0.9}}");
    expect_evidence(m, s, "frac.equivalent", "s-1001", 0.0, XAPI_OUTCOME_FAILED);
    free(s);
    s = quiz("c0000000-0000-4000-8000-000000000008", "completed",
             "\"result\": {\"completion\": false}");
    expect_evidence(m, s, "frac.equivalent", "s-1001", 0.0, XAPI_OUTCOME_FAILED);
    free(s);
    xapi_map_destroy(&m);
    m = map_with("\"incomplete\": \"skip\"");
    xapi_map_destroy(&m);
    map_refused("{\"incomplete\": \"zero\"}", "incomplete", "\"skip\" or \"failed\"");
    map_refused("{\"incomplete\": false}", "incomplete", "\"skip\" or \"failed\"");
}

static void test_category(void **state)
{
    (void)state;
    const char *ctx = "\"context\": {\"contextActivities\": {\"category\": [{\"id\": "
                      "\"https://lms.school.example/course/fractions\"}]}}";
    char *s = with_object_context("{\"id\": \"https://lms.school.example/quiz/77/q9\"}", ctx);
    /* not in the default look_in */
    xapi_map_t *m = map_of(MAPPING);
    expect_unmapped(m, s, XAPI_NO_COMPETENCY, "object.id", "no competency");
    xapi_map_destroy(&m);
    m = map_with("\"look_in\": [\"object\", \"parent\", \"category\"]");
    xapi_item_t it;
    json_t *js = NULL;
    assert_int_equal(map_text(m, s, &it, &js), XAPI_EVIDENCE);
    assert_string_equal(it.competency_id, "frac.all");
    json_decref(js);
    free(s);
    /* a category that is not a list of activities: malformed only when looked in */
    s = with_object_context("{\"id\": \"https://lms.school.example/quiz/77\"}",
                            "\"context\": {\"contextActivities\": {\"category\": 5}}");
    expect_unmapped(m, s, XAPI_MALFORMED, "context.contextActivities.category",
                    "must be an array of activities");
    xapi_map_destroy(&m);
    m = map_of(MAPPING);
    expect_evidence(m, s, "frac.equivalent", "s-1002", 0.75, XAPI_OUTCOME_NONE);
    xapi_map_destroy(&m);
    free(s);
    /* category alone; a single object (xAPI 1.0.0) works as for the others */
    m = map_with("\"look_in\": [\"category\"]");
    s = with_object_context("{\"id\": \"https://lms.school.example/quiz/77\"}",
                            "\"context\": {\"contextActivities\": {\"category\": {\"id\": "
                            "\"https://sims.example.org/pizza\"}}}");
    expect_evidence(m, s, "frac.add-like", "s-1002", 0.75, XAPI_OUTCOME_NONE);
    free(s);
    xapi_map_destroy(&m);
    map_refused("{\"look_in\": [\"category\", \"category\"]}", "look_in", "category listed twice");
}

/* A statement by account (homePage, name) on object, with result (JSON). */
static char *by(const char *home, const char *object, const char *result)
{
    char *s = malloc(2048);
    assert_non_null(s);
    snprintf(s, 2048,
             "{\"id\": \"0a000000-0000-4000-8000-000000000001\", \"actor\": {\"account\": "
             "{\"homePage\": \"%s\", \"name\": \"s-1005\"}},"
             " \"verb\": {\"id\": \"http://adlnet.gov/expapi/verbs/completed\"},"
             " \"object\": {\"id\": \"%s\"}, \"result\": %s,"
             " \"timestamp\": \"2026-11-20T10:15:00Z\"}",
             home, object, result);
    return s;
}

/* The documented order (xapi.h): each statement fails two checks; the earlier one is reported. */
static void test_verdict_order(void **state)
{
    (void)state;
    xapi_map_t *m = map_of(MAPPING);
    const char *lms = "https://lms.school.example", *nowhere = "https://nowhere.example";
    const char *quiz77 = "https://lms.school.example/quiz/77",
               *unmapped_iri = "https://x.example/1";
    char *s;
    /* an unmapped verb before a malformed result */
    s = quiz("0b000000-0000-4000-8000-000000000001", "experienced",
             "\"result\": {\"score\": {\"scaled\": 7}}");
    expect_unmapped(m, s, XAPI_VERB_NOT_MAPPED, "verb.id", "not mapped");
    free(s);
    /* a malformed result before an unknown learner */
    s = by(nowhere, quiz77, "{\"score\": {\"scaled\": 7}}");
    expect_unmapped(m, s, XAPI_MALFORMED, "result.score.scaled", "outside -1..1");
    free(s);
    /* an unknown learner before an unmapped activity */
    s = by(nowhere, unmapped_iri, "{\"completion\": false}");
    expect_unmapped(m, s, XAPI_NO_LEARNER, "actor.account", "no learner");
    free(s);
    /* an unmapped activity before an incomplete attempt */
    s = by(lms, unmapped_iri, "{\"completion\": false}");
    expect_unmapped(m, s, XAPI_NO_COMPETENCY, "object.id", "no competency");
    free(s);
    /* an incomplete attempt before a missing score */
    s = by(lms, quiz77, "{\"completion\": false}");
    expect_unmapped(m, s, XAPI_NOT_COMPLETED, "result.completion", "not completed");
    free(s);
    s = by(lms, quiz77, "{\"completion\": true}");
    expect_unmapped(m, s, XAPI_NO_SCORE, "result", "no result.score.scaled");
    free(s);
    xapi_map_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scores),
        cmocka_unit_test(test_learners),
        cmocka_unit_test(test_competency_lookup),
        cmocka_unit_test(test_voiding_and_verbs),
        cmocka_unit_test(test_times_and_malformed),
        cmocka_unit_test(test_mapping_file),
        cmocka_unit_test(test_more_paths),
        cmocka_unit_test(test_completion_and_success),
        cmocka_unit_test(test_category),
        cmocka_unit_test(test_verdict_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
