/*
 * Unit tests for graph: a valid framework compiles to the right indexes, edges, reverse edges
 * and topological order; every refusal names the field and the ids; a 10 000 competency chain
 * loads; the example framework in schemas/examples parses, and its example evidence, applied
 * in order with the unlock rules of DESIGN.md, masters what the example promises.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "graph.h"
#include "mastery.h"

/* Every competency after everything it requires and all its children; each exactly once. */
static void check_topo(const graph_t *g)
{
    uint32_t n = graph_count(g);
    const uint32_t *order = graph_topo_order(g);
    uint32_t *pos = calloc(n ? n : 1, sizeof *pos);
    assert_non_null(pos);
    for (uint32_t i = 0; i < n; i++) {
        assert_true(order[i] < n);
        assert_int_equal(pos[order[i]], 0);
        pos[order[i]] = i + 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        const graph_comp_t *c = graph_comp(g, i);
        for (uint32_t j = 0; j < c->n_requires; j++)
            assert_true(pos[c->requires[j]] < pos[i]);
        for (uint32_t j = 0; j < c->n_children; j++)
            assert_true(pos[c->children[j]] < pos[i]);
    }
    free(pos);
}

static uint32_t find(const graph_t *g, const char *id)
{
    uint32_t index = UINT32_MAX;
    assert_int_equal(graph_find(g, id, &index), 0);
    assert_string_equal(graph_comp(g, index)->id, id);
    return index;
}

static const char design_example[] =
    "{\n"
    "  \"id\": \"urn:example:math:fractions-g5\",\n"
    "  \"title\": \"Grade 5 fractions\",\n"
    "  \"version\": \"2026.1\",\n"
    "  \"competencies\": [\n"
    "    {\"id\": \"frac.equivalent\", \"title\": \"Recognize equivalent fractions\",\n"
    "     \"rule\": {\"method\": \"decaying_average\", \"weight\": 0.65, \"threshold\": 0.8,\n"
    "              \"min_evidence\": 2}},\n"
    "    {\"id\": \"frac.add-like\", \"title\": \"Add fractions with like denominators\",\n"
    "     \"source_uri\": \"http://corestandards.org/Math/Content/4/NF/B/3/a\",\n"
    "     \"requires\": {\"all\": [\"frac.equivalent\"]},\n"
    "     \"rule\": {\"method\": \"latest\", \"threshold\": 0.8},\n"
    "     \"achievement\": {\"name\": \"Adding fractions\", \"description\": \"...\",\n"
    "                     \"criteria\": \"Latest score 80% or better.\"}},\n"
    "    {\"id\": \"frac.review\", \"title\": \"Fractions review\",\n"
    "     \"description\": \"Mixed review.\",\n"
    "     \"requires\": {\"at_least\": 1, \"of\": [\"frac.add-like\", \"frac.equivalent\"]},\n"
    "     \"rule\": {\"method\": \"bkt\", \"p_init\": 0.3, \"p_transit\": 0.1, \"p_guess\": 0.25,\n"
    "              \"p_slip\": 0.05}},\n"
    "    {\"id\": \"frac.all\", \"title\": \"Fractions strand\",\n"
    "     \"rule\": {\"method\": \"children\", \"of\": [\"frac.add-like\", \"frac.review\"]}},\n"
    "    {\"id\": \"frac.extra\", \"title\": \"No rule, no requires\"}\n"
    "  ]\n"
    "}\n";

static void test_valid_example(void **state)
{
    (void)state;
    graph_t *g = NULL;
    err_detail_t d;
    assert_int_equal(graph_parse(design_example, strlen(design_example), &g, &d), 0);
    assert_non_null(g);
    assert_string_equal(graph_id(g), "urn:example:math:fractions-g5");
    assert_string_equal(graph_title(g), "Grade 5 fractions");
    assert_string_equal(graph_version(g), "2026.1");
    assert_int_equal(graph_count(g), 5);
    assert_true(json_is_object(graph_document(g)));

    uint32_t eq = find(g, "frac.equivalent"), add = find(g, "frac.add-like");
    uint32_t rev = find(g, "frac.review"), all = find(g, "frac.all"), extra = find(g, "frac.extra");
    assert_int_equal(eq, 0);
    assert_int_equal(add, 1);
    assert_int_equal(rev, 2);
    assert_int_equal(all, 3);
    assert_int_equal(extra, 4);
    uint32_t idx = 77;
    assert_int_equal(graph_find(g, "frac.nope", &idx), ERR_NOT_FOUND);
    assert_int_equal(graph_find(g, "frac.equivalen", &idx), ERR_NOT_FOUND);
    assert_int_equal(graph_find(g, NULL, &idx), ERR_NOT_FOUND);
    assert_int_equal(idx, 77);
    assert_null(graph_comp(g, 5));

    const graph_comp_t *c = graph_comp(g, eq);
    assert_string_equal(c->title, "Recognize equivalent fractions");
    assert_string_equal(c->description, "");
    assert_string_equal(c->source_uri, "");
    assert_int_equal(c->rule.method, RULE_DECAYING_AVERAGE);
    assert_true(c->rule.weight == 0.65 && c->rule.threshold == 0.8);
    assert_int_equal(c->rule.min_evidence, 2);
    assert_int_equal(c->requires_kind, REQUIRES_NONE);
    assert_int_equal(c->n_requires, 0);
    assert_int_equal(c->n_dependents, 2); /* add-like and review, in index order */
    assert_int_equal(c->dependents[0], add);
    assert_int_equal(c->dependents[1], rev);
    assert_int_equal(c->n_parents, 0);
    assert_null(c->achievement);

    c = graph_comp(g, add);
    assert_string_equal(c->source_uri, "http://corestandards.org/Math/Content/4/NF/B/3/a");
    assert_int_equal(c->requires_kind, REQUIRES_ALL);
    assert_int_equal(c->requires_k, 1);
    assert_int_equal(c->n_requires, 1);
    assert_int_equal(c->requires[0], eq);
    assert_int_equal(c->rule.method, RULE_LATEST);
    assert_int_equal(c->n_dependents, 1);
    assert_int_equal(c->dependents[0], rev);
    assert_int_equal(c->n_parents, 1);
    assert_int_equal(c->parents[0], all);
    assert_non_null(c->achievement);
    assert_string_equal(json_string_value(json_object_get(c->achievement, "name")),
                        "Adding fractions");

    c = graph_comp(g, rev);
    assert_string_equal(c->description, "Mixed review.");
    assert_int_equal(c->requires_kind, REQUIRES_AT_LEAST);
    assert_int_equal(c->requires_k, 1);
    assert_int_equal(c->n_requires, 2);
    assert_int_equal(c->requires[0], add); /* list order kept */
    assert_int_equal(c->requires[1], eq);
    assert_int_equal(c->rule.method, RULE_BKT);
    assert_true(c->rule.p_init == 0.3 && c->rule.p_transit == 0.1);
    assert_true(c->rule.p_guess == 0.25 && c->rule.p_slip == 0.05);
    assert_true(c->rule.threshold == 0.95); /* bkt default */
    assert_true(c->rule.correct_at == 0.5);
    assert_int_equal(c->n_parents, 1);
    assert_int_equal(c->parents[0], all);

    c = graph_comp(g, all);
    assert_int_equal(c->rule.method, RULE_CHILDREN);
    assert_int_equal(c->rule.children_k, 0);
    assert_int_equal(c->n_children, 2);
    assert_int_equal(c->children[0], add);
    assert_int_equal(c->children[1], rev);
    assert_int_equal(c->requires_kind, REQUIRES_NONE);
    assert_int_equal(c->n_dependents + c->n_parents, 0);

    c = graph_comp(g, extra); /* the default rule */
    assert_int_equal(c->rule.method, GRAPH_DEFAULT_METHOD);
    assert_int_equal(c->rule.method, RULE_LATEST);
    assert_true(c->rule.threshold == 0.8);
    assert_int_equal(c->rule.min_evidence, 1);

    /* Kahn, FIFO seeded in document order: equivalent and extra are ready first; then
     * add-like (its one requirement done), review, and the roll-up last. */
    const uint32_t *order = graph_topo_order(g);
    const uint32_t want[] = {eq, extra, add, rev, all};
    for (uint32_t i = 0; i < 5; i++)
        assert_int_equal(order[i], want[i]);
    check_topo(g);

    graph_destroy(&g);
    assert_null(g);
    graph_destroy(&g); /* idempotent */
    graph_destroy(NULL);
}

/* Parses a framework whose competencies array holds comps; expects a refusal. */
static void refused(const char *comps, int code, const char *field, const char *message)
{
    char doc[4096];
    int n = snprintf(doc, sizeof doc,
                     "{\"id\": \"urn:t\", \"title\": \"T\", \"competencies\": [%s]}", comps);
    assert_true(n > 0 && (size_t)n < sizeof doc);
    graph_t *g = (graph_t *)&n; /* must be reset to NULL */
    err_detail_t d;
    int rc = graph_parse(doc, (size_t)n, &g, &d);
    if (rc != code || strcmp(d.field, field) != 0 || strstr(d.message, message) == NULL)
        fail_msg("%s\n  got %s field \"%s\" message \"%s\"\n  want %s field \"%s\" message \"%s\"",
                 comps, err_str(rc), d.field, d.message, err_str(code), field, message);
    assert_null(g);
    assert_int_equal(d.code, code);
}

static void refused_doc(const char *doc, int code, const char *field, const char *message)
{
    graph_t *g = NULL;
    err_detail_t d;
    int rc = graph_parse(doc, strlen(doc), &g, &d);
    if (rc != code || strcmp(d.field, field) != 0 || strstr(d.message, message) == NULL)
        fail_msg("%s\n  got %s field \"%s\" message \"%s\"\n  want %s field \"%s\" message \"%s\"",
                 doc, err_str(rc), d.field, d.message, err_str(code), field, message);
    assert_null(g);
}

static void test_refuse_malformed(void **state)
{
    (void)state;
    refused_doc("{\"id\": \"x\", ", ERR_INVALID, "", "malformed JSON at line 1, column");
    refused_doc("{\n  \"id\": \"x\",\n  \"title\": oops\n}", ERR_INVALID, "",
                "malformed JSON at line 3, column");
    refused_doc("", ERR_INVALID, "", "malformed JSON");
    refused_doc("{\"id\": \"x\"} trailing", ERR_INVALID, "", "malformed JSON");
    refused_doc("{\"id\": \"x\", \"id\": \"y\"}", ERR_INVALID, "", "duplicate");
    refused_doc("{\"id\": \"a\\u0000b\"}", ERR_INVALID, "", "malformed JSON");
    refused_doc("{\"id\": \"\xff\xfe\", \"title\": \"T\", \"competencies\": []}", ERR_INVALID, "",
                "malformed JSON");
    refused_doc("[1, 2]", ERR_INVALID, "", "must be a JSON object");
    /* not NUL-terminated: len is honoured */
    graph_t *g = NULL;
    const char ok[] = "{\"id\": \"u\", \"title\": \"T\", \"competencies\": []}XXXX";
    assert_int_equal(graph_parse(ok, sizeof ok - 5, &g, NULL), 0);
    assert_int_equal(graph_count(g), 0);
    graph_destroy(&g);
    assert_int_equal(graph_parse(ok, sizeof ok - 1, &g, NULL), ERR_INVALID);
}

static void test_refuse_framework_fields(void **state)
{
    (void)state;
    refused_doc("{\"title\": \"T\", \"competencies\": []}", ERR_INVALID, "id",
                "missing framework id");
    refused_doc("{\"id\": 5, \"title\": \"T\", \"competencies\": []}", ERR_INVALID, "id",
                "framework id must be a string");
    refused_doc("{\"id\": \"\", \"title\": \"T\", \"competencies\": []}", ERR_INVALID, "id",
                "framework id is empty");
    refused_doc("{\"id\": \"u\", \"competencies\": []}", ERR_INVALID, "title", "u: missing title");
    refused_doc("{\"id\": \"u\", \"title\": \"\", \"competencies\": []}", ERR_INVALID, "title",
                "u: title must not be empty");
    refused_doc("{\"id\": \"u\", \"title\": \"T\"}", ERR_INVALID, "competencies",
                "missing competencies");
    refused_doc("{\"id\": \"u\", \"title\": \"T\", \"competencies\": {}}", ERR_INVALID,
                "competencies", "competencies must be an array");
    refused_doc("{\"id\": \"u\", \"title\": \"T\", \"version\": 2, \"competencies\": []}",
                ERR_INVALID, "version", "u: version must be a string");
    refused_doc("{\"id\": \"u\", \"title\": \"T\", \"authors\": [], \"competencies\": []}",
                ERR_INVALID, "authors", "unknown key 'authors' in framework");
}

static void test_refuse_ids(void **state)
{
    (void)state;
    refused("{\"title\": \"A\"}", ERR_INVALID, "competencies[0].id", "missing competency id");
    refused("{\"id\": \"a\", \"title\": \"A\"}, {\"id\": \"\", \"title\": \"B\"}", ERR_INVALID,
            "competencies[1].id", "competency id is empty");
    refused("{\"id\": [\"a\"], \"title\": \"A\"}", ERR_INVALID, "competencies[0].id",
            "competency id must be a string");
    refused("{\"id\": \"a\\u0001b\", \"title\": \"A\"}", ERR_INVALID, "competencies[0].id",
            "control character");
    refused("\"a\"", ERR_INVALID, "competencies[0]", "competency must be an object");

    /* 256 bytes is the limit (counted in bytes: "é" is two) */
    char comps[1024], id[GRAPH_ID_MAX + 2];
    memset(id, 'x', GRAPH_ID_MAX);
    id[GRAPH_ID_MAX] = '\0';
    snprintf(comps, sizeof comps, "{\"id\": \"%s\", \"title\": \"A\"}", id);
    char doc[2048];
    int n = snprintf(doc, sizeof doc, "{\"id\": \"u\", \"title\": \"T\", \"competencies\": [%s]}",
                     comps);
    graph_t *g = NULL;
    assert_int_equal(graph_parse(doc, (size_t)n, &g, NULL), 0);
    graph_destroy(&g);
    memcpy(id + GRAPH_ID_MAX - 1, "\xc3\xa9", 3); /* 255 + 2 = 257 bytes */
    snprintf(comps, sizeof comps, "{\"id\": \"%s\", \"title\": \"A\"}", id);
    refused(comps, ERR_INVALID, "competencies[0].id", "competency id is 257 bytes; at most 256");

    refused("{\"id\": \"a\", \"title\": \"A\"}, {\"id\": \"b\", \"title\": \"B\"}, "
            "{\"id\": \"a\", \"title\": \"C\"}",
            ERR_CONFLICT, "competencies[2].id", "duplicate id a (first at competencies[0])");
}

static void test_refuse_dangling(void **state)
{
    (void)state;
    refused("{\"id\": \"frac.a\", \"title\": \"A\"}, "
            "{\"id\": \"frac.b\", \"title\": \"B\", "
            "\"requires\": {\"at_least\": 1, \"of\": [\"frac.a\", \"frac.nope\"]}}",
            ERR_INVALID, "competencies[1].requires.of[1]",
            "frac.b: unknown competency 'frac.nope'");
    refused("{\"id\": \"a\", \"title\": \"A\", \"requires\": {\"all\": [\"zz\"]}}", ERR_INVALID,
            "competencies[0].requires.all[0]", "a: unknown competency 'zz'");
    refused("{\"id\": \"a\", \"title\": \"A\"}, {\"id\": \"s\", \"title\": \"S\", "
            "\"rule\": {\"method\": \"children\", \"of\": [\"a\", \"b\"]}}",
            ERR_INVALID, "competencies[1].rule.of[1]", "s: unknown competency 'b'");
    refused("{\"id\": \"a\", \"title\": \"A\"}, {\"id\": \"b\", \"title\": \"B\", "
            "\"requires\": {\"all\": [\"a\", \"a\"]}}",
            ERR_INVALID, "competencies[1].requires.all[1]", "b: 'a' is listed twice");
    refused("{\"id\": \"a\", \"title\": \"A\", \"requires\": {\"all\": [3]}}", ERR_INVALID,
            "competencies[0].requires.all[0]", "must be a competency id");
}

static void test_refuse_requires(void **state)
{
    (void)state;
    const char *ab = "{\"id\": \"a\", \"title\": \"A\"}, {\"id\": \"b\", \"title\": \"B\"}, ";
    char comps[1024];
    snprintf(comps, sizeof comps,
             "%s{\"id\": \"c\", \"title\": \"C\", "
             "\"requires\": {\"at_least\": 3, \"of\": [\"a\", \"b\"]}}",
             ab);
    refused(comps, ERR_INVALID, "competencies[2].requires.at_least", "c: 3 is out of range 1..2");
    snprintf(comps, sizeof comps,
             "%s{\"id\": \"c\", \"title\": \"C\", "
             "\"requires\": {\"at_least\": 0, \"of\": [\"a\", \"b\"]}}",
             ab);
    refused(comps, ERR_INVALID, "competencies[2].requires.at_least", "c: 0 is out of range 1..2");
    snprintf(comps, sizeof comps,
             "%s{\"id\": \"c\", \"title\": \"C\", "
             "\"requires\": {\"at_least\": 1.5, \"of\": [\"a\", \"b\"]}}",
             ab);
    refused(comps, ERR_INVALID, "competencies[2].requires.at_least", "must be an integer");
    snprintf(comps, sizeof comps,
             "%s{\"id\": \"c\", \"title\": \"C\", \"requires\": {\"of\": [\"a\", \"b\"]}}", ab);
    refused(comps, ERR_INVALID, "competencies[2].requires.at_least", "needs \"at_least\"");
    snprintf(comps, sizeof comps,
             "%s{\"id\": \"c\", \"title\": \"C\", "
             "\"requires\": {\"all\": [\"a\"], \"at_least\": 1}}",
             ab);
    refused(comps, ERR_INVALID, "competencies[2].requires.at_least",
            "unexpected key 'at_least' in requires");
    snprintf(comps, sizeof comps,
             "%s{\"id\": \"c\", \"title\": \"C\", \"requires\": {\"any\": [\"a\"]}}", ab);
    refused(comps, ERR_INVALID, "competencies[2].requires.any", "unexpected key 'any'");
    snprintf(comps, sizeof comps, "%s{\"id\": \"c\", \"title\": \"C\", \"requires\": {}}", ab);
    refused(comps, ERR_INVALID, "competencies[2].requires", "must have \"all\" or \"of\"");
    snprintf(comps, sizeof comps, "%s{\"id\": \"c\", \"title\": \"C\", \"requires\": [\"a\"]}", ab);
    refused(comps, ERR_INVALID, "competencies[2].requires", "requires must be {\"all\"");
    snprintf(comps, sizeof comps,
             "%s{\"id\": \"c\", \"title\": \"C\", \"requires\": {\"all\": []}}", ab);
    refused(comps, ERR_INVALID, "competencies[2].requires.all", "at least one");
}

static void test_refuse_rules(void **state)
{
    (void)state;
    refused("{\"id\": \"a\", \"title\": \"A\", \"rule\": {\"method\": \"median\"}}", ERR_INVALID,
            "competencies[0].rule.method", "a: unknown rule method 'median'");
    refused("{\"id\": \"a\", \"title\": \"A\", \"rule\": {\"threshold\": 0.5}}", ERR_INVALID,
            "competencies[0].rule.method", "a: missing rule method");
    refused("{\"id\": \"a\", \"title\": \"A\", \"rule\": \"latest\"}", ERR_INVALID,
            "competencies[0].rule", "rule must be an object");
    refused("{\"id\": \"a\", \"title\": \"A\", "
            "\"rule\": {\"method\": \"latest\", \"threshold\": 1.5}}",
            ERR_INVALID, "competencies[0].rule.threshold", "a: 1.5 is out of range [0, 1]");
    refused("{\"id\": \"a\", \"title\": \"A\", "
            "\"rule\": {\"method\": \"highest\", \"threshold\": -0.1}}",
            ERR_INVALID, "competencies[0].rule.threshold", "-0.1 is out of range [0, 1]");
    refused("{\"id\": \"a\", \"title\": \"A\", "
            "\"rule\": {\"method\": \"latest\", \"threshold\": \"0.8\"}}",
            ERR_INVALID, "competencies[0].rule.threshold", "must be a number");
    refused("{\"id\": \"a\", \"title\": \"A\", "
            "\"rule\": {\"method\": \"decaying_average\", \"weight\": 1.2}}",
            ERR_INVALID, "competencies[0].rule.weight", "1.2 is out of range [0, 1]");
    refused("{\"id\": \"a\", \"title\": \"A\", \"rule\": {\"method\": \"n_mastery\", \"n\": 0}}",
            ERR_INVALID, "competencies[0].rule.n", "0 is out of range 1..1000");
    refused("{\"id\": \"a\", \"title\": \"A\", \"rule\": {\"method\": \"n_mastery\", \"n\": 2.5}}",
            ERR_INVALID, "competencies[0].rule.n", "must be an integer");
    refused("{\"id\": \"a\", \"title\": \"A\", "
            "\"rule\": {\"method\": \"average\", \"min_evidence\": -1}}",
            ERR_INVALID, "competencies[0].rule.min_evidence", "-1 is out of range 0..1000");
    refused("{\"id\": \"a\", \"title\": \"A\", \"rule\": {\"method\": \"bkt\", \"p_guess\": 0}}",
            ERR_INVALID, "competencies[0].rule.p_guess", "0 is out of range (0, 1)");
    refused("{\"id\": \"a\", \"title\": \"A\", \"rule\": {\"method\": \"bkt\", \"p_slip\": 1}}",
            ERR_INVALID, "competencies[0].rule.p_slip", "1 is out of range (0, 1)");
    refused("{\"id\": \"a\", \"title\": \"A\", "
            "\"rule\": {\"method\": \"bkt\", \"p_guess\": 0.6, \"p_slip\": 0.5}}",
            ERR_INVALID, "competencies[0].rule.p_slip", "p_guess + p_slip must be below 1");
    refused("{\"id\": \"a\", \"title\": \"A\", "
            "\"rule\": {\"method\": \"latest\", \"weight\": 0.5}}",
            ERR_INVALID, "competencies[0].rule.weight",
            "a: key 'weight' does not apply to method latest");
    refused("{\"id\": \"a\", \"title\": \"A\", "
            "\"rule\": {\"method\": \"decaying_average\", \"wieght\": 0.5}}",
            ERR_INVALID, "competencies[0].rule.wieght", "a: unknown key 'wieght' in rule");
    /* children */
    refused("{\"id\": \"a\", \"title\": \"A\", \"rule\": {\"method\": \"children\"}}", ERR_INVALID,
            "competencies[0].rule.of", "must list its children");
    refused("{\"id\": \"a\", \"title\": \"A\", \"rule\": {\"method\": \"children\", \"of\": []}}",
            ERR_INVALID, "competencies[0].rule.of", "at least one");
    refused("{\"id\": \"a\", \"title\": \"A\"}, {\"id\": \"s\", \"title\": \"S\", "
            "\"rule\": {\"method\": \"children\", \"of\": [\"a\"], \"at_least\": 0}}",
            ERR_INVALID, "competencies[1].rule.at_least", "s: 0 is out of range 1..1");
    refused("{\"id\": \"a\", \"title\": \"A\"}, {\"id\": \"s\", \"title\": \"S\", "
            "\"rule\": {\"method\": \"children\", \"of\": [\"a\"], \"at_least\": 2}}",
            ERR_INVALID, "competencies[1].rule.at_least", "s: 2 is out of range 1..1");
    refused("{\"id\": \"a\", \"title\": \"A\"}, {\"id\": \"s\", \"title\": \"S\", "
            "\"rule\": {\"method\": \"children\", \"of\": [\"a\"], \"threshold\": 0.5}}",
            ERR_INVALID, "competencies[1].rule.threshold", "does not apply to method children");
    refused("{\"id\": \"a\", \"title\": \"A\", \"rule\": {\"method\": \"latest\", \"of\": []}}",
            ERR_INVALID, "competencies[0].rule.of", "does not apply to method latest");
}

static void test_refuse_competency_fields(void **state)
{
    (void)state;
    refused("{\"id\": \"a\", \"title\": \"A\", \"colour\": \"red\"}", ERR_INVALID,
            "competencies[0].colour", "a: unknown key 'colour' in competency");
    refused("{\"id\": \"a\"}", ERR_INVALID, "competencies[0].title", "a: missing title");
    refused("{\"id\": \"a\", \"title\": 3}", ERR_INVALID, "competencies[0].title",
            "a: title must be a string");
    refused("{\"id\": \"a\", \"title\": \"A\", \"description\": false}", ERR_INVALID,
            "competencies[0].description", "a: description must be a string");
    refused("{\"id\": \"a\", \"title\": \"A\", \"source_uri\": \"http://x y\"}", ERR_INVALID,
            "competencies[0].source_uri", "space");
    refused("{\"id\": \"a\", \"title\": \"A\", \"achievement\": \"yes\"}", ERR_INVALID,
            "competencies[0].achievement", "a: achievement must be an object");
    refused("{\"id\": \"a\", \"title\": \"A\", \"achievement\": {\"name\": 5}}", ERR_INVALID,
            "competencies[0].achievement.name", "a: achievement name must be a string");

    /* achievement is free-form beyond name */
    const char *doc = "{\"id\": \"u\", \"title\": \"T\", \"competencies\": [{\"id\": \"a\", "
                      "\"title\": \"A\", \"achievement\": {\"image\": {\"id\": \"https://i\"}, "
                      "\"anything\": [1, 2]}}]}";
    graph_t *g = NULL;
    assert_int_equal(graph_parse(doc, strlen(doc), &g, NULL), 0);
    assert_non_null(graph_comp(g, 0)->achievement);
    assert_null(graph_comp(g, 0)->metadata);
    graph_destroy(&g);

    /* metadata is a free-form object, kept and not interpreted */
    refused("{\"id\": \"a\", \"title\": \"A\", \"metadata\": [1]}", ERR_INVALID,
            "competencies[0].metadata", "a: metadata must be an object");
    const char *meta = "{\"id\": \"u\", \"title\": \"T\", \"competencies\": [{\"id\": \"a\", "
                       "\"title\": \"A\", \"metadata\": {\"case\": {\"uri\": \"https://c/1\"}, "
                       "\"x\": null}}]}";
    assert_int_equal(graph_parse(meta, strlen(meta), &g, NULL), 0);
    const json_t *m = graph_comp(g, 0)->metadata;
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "case"), "uri")),
                        "https://c/1");
    graph_destroy(&g);
}

static void test_refuse_cycles(void **state)
{
    (void)state;
    /* x (outside the cycle) leads the walk into it; the message starts at frac.a, the cycle's
     * first competency in document order. */
    refused("{\"id\": \"x\", \"title\": \"X\", \"requires\": {\"all\": [\"frac.b\"]}}, "
            "{\"id\": \"frac.a\", \"title\": \"A\", \"requires\": {\"all\": [\"frac.b\"]}}, "
            "{\"id\": \"frac.b\", \"title\": \"B\", \"requires\": {\"all\": [\"frac.c\"]}}, "
            "{\"id\": \"frac.c\", \"title\": \"C\", "
            "\"requires\": {\"at_least\": 1, \"of\": [\"frac.a\", \"frac.b\"]}}",
            ERR_CONFLICT, "competencies", "cycle: frac.a -> frac.b -> frac.c -> frac.a");
    refused("{\"id\": \"ok\", \"title\": \"OK\"}, "
            "{\"id\": \"frac.a\", \"title\": \"A\", \"requires\": {\"all\": [\"ok\", \"frac.a\"]}}",
            ERR_CONFLICT, "competencies", "cycle: frac.a -> frac.a");
    /* through a children edge: the strand rolls up a, and a requires the strand */
    refused("{\"id\": \"a\", \"title\": \"A\", \"requires\": {\"all\": [\"strand\"]}}, "
            "{\"id\": \"strand\", \"title\": \"S\", "
            "\"rule\": {\"method\": \"children\", \"of\": [\"a\"]}}",
            ERR_CONFLICT, "competencies", "cycle: a -> strand -> a");
    /* a child rolling itself up */
    refused("{\"id\": \"s\", \"title\": \"S\", \"rule\": {\"method\": \"children\", \"of\": "
            "[\"s\"]}}",
            ERR_CONFLICT, "competencies", "cycle: s -> s");
}

/* Builds {"competencies": [c0 .. c(n-1)]} where c_i requires c_(i+1): document order is the
 * reverse of the topological order. */
static char *chain_doc(uint32_t n, size_t *len)
{
    size_t cap = 128 + (size_t)n * 96;
    char *doc = malloc(cap);
    assert_non_null(doc);
    size_t at = (size_t)snprintf(doc, cap,
                                 "{\"id\": \"urn:chain\", \"title\": \"Chain\", "
                                 "\"competencies\": [");
    for (uint32_t i = 0; i < n; i++) {
        int w;
        if (i + 1 < n)
            w = snprintf(
                doc + at, cap - at,
                "%s{\"id\": \"c%u\", \"title\": \"C\", \"requires\": {\"all\": [\"c%u\"]}}",
                i ? "," : "", i, i + 1);
        else
            w = snprintf(doc + at, cap - at, "%s{\"id\": \"c%u\", \"title\": \"C\"}", i ? "," : "",
                         i);
        assert_true(w > 0 && (size_t)w < cap - at);
        at += (size_t)w;
    }
    at += (size_t)snprintf(doc + at, cap - at, "]}");
    *len = at;
    return doc;
}

static void test_chain_10000(void **state)
{
    (void)state;
    const uint32_t n = 10000;
    size_t len;
    char *doc = chain_doc(n, &len);
    graph_t *g = NULL;
    err_detail_t d;
    assert_int_equal(graph_parse(doc, len, &g, &d), 0);
    assert_int_equal(graph_count(g), n);
    const uint32_t *order = graph_topo_order(g);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(order[i], n - 1 - i);
    check_topo(g);
    char id[16];
    for (uint32_t i = 0; i < n; i += 997) {
        snprintf(id, sizeof id, "c%u", i);
        assert_int_equal(find(g, id), i);
    }
    const graph_comp_t *c = graph_comp(g, 5000);
    assert_int_equal(c->n_dependents, 1);
    assert_int_equal(c->dependents[0], 4999);
    assert_int_equal(c->requires[0], 5001);
    graph_destroy(&g);

    /* close the chain into a cycle of 10 000: refused, the message cut short, not overflowed */
    char *tail = strstr(doc, "{\"id\": \"c9999\", \"title\": \"C\"}");
    assert_non_null(tail);
    const char closing[] =
        "{\"id\": \"c9999\", \"title\": \"C\", \"requires\": {\"all\": [\"c0\"]}}]}";
    size_t keep = (size_t)(tail - doc);
    char *cyc = malloc(keep + sizeof closing);
    assert_non_null(cyc);
    memcpy(cyc, doc, keep);
    memcpy(cyc + keep, closing, sizeof closing);
    assert_int_equal(graph_parse(cyc, keep + sizeof closing - 1, &g, &d), ERR_CONFLICT);
    assert_string_equal(d.field, "competencies");
    assert_true(strncmp(d.message, "cycle: c0 -> c1 -> c2 -> ", 25) == 0);
    assert_true(strlen(d.message) < sizeof d.message);
    assert_string_equal(d.message + strlen(d.message) - 3, "...");
    free(cyc);
    free(doc);
}

static void test_too_many(void **state)
{
    (void)state;
    const uint32_t n = GRAPH_MAX_COMPETENCIES + 1;
    size_t cap = 64 + (size_t)n * 40, at;
    char *doc = malloc(cap);
    assert_non_null(doc);
    at = (size_t)snprintf(doc, cap, "{\"id\": \"u\", \"title\": \"T\", \"competencies\": [");
    for (uint32_t i = 0; i < n; i++)
        at += (size_t)snprintf(doc + at, cap - at, "%s{\"id\": \"c%u\", \"title\": \"C\"}",
                               i ? "," : "", i);
    at += (size_t)snprintf(doc + at, cap - at, "]}");
    graph_t *g = NULL;
    err_detail_t d;
    assert_int_equal(graph_parse(doc, at, &g, &d), ERR_INVALID);
    assert_string_equal(d.field, "competencies");
    assert_string_equal(d.message, "100001 competencies; at most 100000");
    free(doc);
}

/* ---- the example framework and its evidence ---------------------------------------------- */

/* The checkout's path, from this file's (CMake compiles it by its absolute path): "" when
 * that cannot be worked out, and the tests that read files skip. */
static const char *checkout(char *buf, size_t size)
{
    const char *file = __FILE__;
    const char *tail = strstr(file, "tests/unit/test_graph.c");
    if (tail == NULL || file[0] != '/')
        return NULL;
    snprintf(buf, size, "%.*s", (int)(tail - file), file);
    return buf;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static char *read_example(const char *name, size_t *len)
{
    char root[2048], path[4096];
    if (checkout(root, sizeof root) == NULL)
        return NULL;
    snprintf(path, sizeof path, "%sschemas/examples/%s", root, name);
    return read_file(path, len);
}

/* The fuzz seed corpus doubles as a list of verdicts: valid-* load, invalid-* are refused. */
static void test_corpus_verdicts(void **state)
{
    (void)state;
    char root[2048], dir[3072];
    if (checkout(root, sizeof root) == NULL)
        skip();
    snprintf(dir, sizeof dir, "%stests/fuzz/corpus/framework", root);
    DIR *dp = opendir(dir);
    if (dp == NULL)
        skip();
    int valid = 0, invalid = 0;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        bool want_ok = strncmp(e->d_name, "valid-", 6) == 0;
        if (!want_ok && strncmp(e->d_name, "invalid-", 8) != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len = 0; /* gcc -O3 cannot see read_file() set it whenever it returns non-NULL */
        char *doc = read_file(path, &len);
        assert_non_null(doc);
        graph_t *g = NULL;
        err_detail_t d;
        int rc = graph_parse(doc, len, &g, &d);
        if (want_ok && rc != 0)
            fail_msg("%s refused: %s: %s", e->d_name, d.field, d.message);
        if (!want_ok && rc == 0)
            fail_msg("%s accepted", e->d_name);
        want_ok ? valid++ : invalid++;
        graph_destroy(&g);
        free(doc);
    }
    closedir(dp);
    assert_true(valid >= 3 && invalid >= 5);
}

static void test_example_fractions(void **state)
{
    (void)state;
    size_t len;
    char *doc = read_example("fractions.json", &len);
    if (doc == NULL)
        skip();
    graph_t *g = NULL;
    err_detail_t d;
    if (graph_parse(doc, len, &g, &d) != 0)
        fail_msg("fractions.json: %s: %s", d.field, d.message);
    assert_true(graph_count(g) >= 12);
    check_topo(g);
    /* every method is used, and both kinds of requires */
    bool used[RULE_CHILDREN + 1] = {false};
    bool all = false, at_least = false;
    int achievements = 0, uris = 0;
    for (uint32_t i = 0; i < graph_count(g); i++) {
        const graph_comp_t *c = graph_comp(g, i);
        used[c->rule.method] = true;
        all |= c->requires_kind == REQUIRES_ALL;
        at_least |= c->requires_kind == REQUIRES_AT_LEAST;
        achievements += c->achievement != NULL;
        uris += c->source_uri[0] != '\0';
    }
    for (int m = 0; m <= RULE_CHILDREN; m++)
        assert_true(used[m]);
    assert_true(all && at_least);
    assert_true(achievements >= 4 && uris >= 8);
    uint32_t strand = find(g, "frac.strand-multiply-divide");
    assert_int_equal(graph_comp(g, strand)->rule.children_k, 3);
    assert_int_equal(graph_comp(g, strand)->n_children, 5);
    graph_destroy(&g);
    free(doc);
}

#define SIM_LEARNERS 3
#define SIM_COMPS    32
#define SIM_SAMPLES  16

typedef struct sim {
    const graph_t *g;
    mastery_sample_t samples[SIM_LEARNERS][SIM_COMPS][SIM_SAMPLES];
    size_t n[SIM_LEARNERS][SIM_COMPS];
    int mastered_at[SIM_LEARNERS][SIM_COMPS]; /* evidence line, 0 = not mastered */
} sim_t;

static bool sim_unlocked(const sim_t *s, int l, const graph_comp_t *c)
{
    uint32_t done = 0;
    for (uint32_t j = 0; j < c->n_requires; j++)
        done += s->mastered_at[l][c->requires[j]] != 0;
    return c->requires_kind == REQUIRES_NONE || done >= c->requires_k;
}

/* After each evidence line: walk the topological order once, so a mastery unlocks and
 * masters what follows it in the same step (prior work counts; mastery is sticky). */
static void sim_cascade(sim_t *s, int l, int line)
{
    const uint32_t *order = graph_topo_order(s->g);
    for (uint32_t t = 0; t < graph_count(s->g); t++) {
        uint32_t i = order[t];
        const graph_comp_t *c = graph_comp(s->g, i);
        if (s->mastered_at[l][i] || !sim_unlocked(s, l, c))
            continue;
        bool met;
        if (c->rule.method == RULE_CHILDREN) {
            uint32_t done = 0;
            for (uint32_t j = 0; j < c->n_children; j++)
                done += s->mastered_at[l][c->children[j]] != 0;
            met = done >= (c->rule.children_k ? c->rule.children_k : c->n_children);
        } else {
            mastery_result_t r;
            assert_int_equal(mastery_eval(&c->rule, s->samples[l][i], s->n[l][i], &r), 0);
            met = r.met;
        }
        if (met)
            s->mastered_at[l][i] = line;
    }
}

static void test_example_evidence(void **state)
{
    (void)state;
    size_t len, elen;
    char *doc = read_example("fractions.json", &len);
    char *ev = read_example("fractions-evidence.jsonl", &elen);
    if (doc == NULL || ev == NULL)
        skip();
    graph_t *g = NULL;
    assert_int_equal(graph_parse(doc, len, &g, NULL), 0);
    assert_true(graph_count(g) <= SIM_COMPS);
    sim_t *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->g = g;
    const char *learners[SIM_LEARNERS] = {"s-1001", "s-1002", "s-1003"};

    int line = 0;
    char prev_at[32] = "";
    for (char *p = ev, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        assert_non_null(nl);
        line++;
        json_error_t jerr;
        json_t *e = json_loadb(p, (size_t)(nl - p), 0, &jerr);
        if (e == NULL)
            fail_msg("evidence line %d: %s", line, jerr.text);
        const char *learner = json_string_value(json_object_get(e, "learner"));
        const char *comp = json_string_value(json_object_get(e, "competency"));
        const char *at = json_string_value(json_object_get(e, "observed_at"));
        assert_non_null(json_string_value(json_object_get(e, "id")));
        assert_non_null(json_string_value(json_object_get(e, "source")));
        assert_non_null(at);
        assert_true(strcmp(prev_at, at) < 0); /* in evidence order */
        snprintf(prev_at, sizeof prev_at, "%s", at);
        int l = 0;
        while (l < SIM_LEARNERS && strcmp(learners[l], learner) != 0)
            l++;
        assert_true(l < SIM_LEARNERS);
        uint32_t ci = find(g, comp);
        assert_true(s->n[l][ci] < SIM_SAMPLES);
        mastery_sample_t *smp = &s->samples[l][ci][s->n[l][ci]++];
        smp->score = json_number_value(json_object_get(e, "score"));
        json_t *w = json_object_get(e, "weight");
        smp->weight = w ? json_number_value(w) : 1.0;
        const char *outcome = json_string_value(json_object_get(e, "outcome"));
        smp->outcome = outcome == NULL                  ? OUTCOME_NONE
                       : strcmp(outcome, "passed") == 0 ? OUTCOME_PASS
                                                        : OUTCOME_FAIL;
        json_decref(e);
        sim_cascade(s, l, line);
    }
    assert_true(line >= 36);

    static const char *const mastered[SIM_LEARNERS][12] = {
        {"frac.equivalent", "frac.add-like", "frac.subtract-like", "frac.common-denominator",
         "frac.add-unlike", "frac.subtract-unlike", "frac.mixed-numbers", "frac.word-problems-add",
         "frac.strand-add-subtract", "frac.as-division", "frac.multiply-whole", NULL},
        {"frac.equivalent", "frac.compare", "frac.add-like", "frac.as-division",
         "frac.multiply-whole", NULL},
        {"frac.equivalent", "frac.add-like", NULL},
    };
    for (int l = 0; l < SIM_LEARNERS; l++) {
        int want = 0;
        for (int k = 0; mastered[l][k]; k++, want++)
            if (!s->mastered_at[l][find(g, mastered[l][k])])
                fail_msg("%s should have mastered %s", learners[l], mastered[l][k]);
        int got = 0;
        for (uint32_t i = 0; i < graph_count(g); i++)
            got += s->mastered_at[l][i] != 0;
        if (got != want)
            fail_msg("%s mastered %d competencies, expected %d", learners[l], got, want);
    }
    /* s-1003 worked ahead on add-like while it was locked: that work counts the moment
     * equivalent is mastered, in the same step */
    uint32_t eq = find(g, "frac.equivalent"), add = find(g, "frac.add-like");
    assert_int_equal(s->mastered_at[2][add], s->mastered_at[2][eq]);
    /* s-1001's strand badge comes with the last word problem */
    assert_int_equal(s->mastered_at[0][find(g, "frac.strand-add-subtract")],
                     s->mastered_at[0][find(g, "frac.word-problems-add")]);

    free(s);
    graph_destroy(&g);
    free(ev);
    free(doc);
}

static graph_t *parse_ok(const char *json)
{
    graph_t *g = NULL;
    err_detail_t d;
    int rc = graph_parse(json, strlen(json), &g, &d);
    if (rc != 0)
        fail_msg("graph_parse: %s: %s: %s", err_str(rc), d.field, d.message);
    return g;
}

static void expect_refused(const char *json, const char *field)
{
    graph_t *g = NULL;
    err_detail_t d;
    assert_int_equal(graph_parse(json, strlen(json), &g, &d), ERR_INVALID);
    assert_null(g);
    assert_string_equal(d.field, field);
}

/* review_after: ISO 8601 durations of W/D/H/M/S, inherited from the framework, "P0D" off;
 * p_forget for bkt in [0,1). */
static void test_review_after_and_p_forget(void **state)
{
    (void)state;
    graph_t *g = parse_ok(
        "{\"id\":\"f\",\"title\":\"F\",\"review_after\":\"P2W\",\"competencies\":["
        "{\"id\":\"a\",\"title\":\"A\"},"
        "{\"id\":\"b\",\"title\":\"B\",\"review_after\":\"P1DT12H30M15S\"},"
        "{\"id\":\"c\",\"title\":\"C\",\"review_after\":\"P0D\"},"
        "{\"id\":\"d\",\"title\":\"D\",\"rule\":{\"method\":\"bkt\",\"p_forget\":0.25}}]}");
    assert_true(graph_review_after(g) == 14 * 86400000LL);
    assert_true(graph_comp(g, 0)->review_after_ms == 14 * 86400000LL);
    assert_true(graph_comp(g, 1)->review_after_ms ==
                86400000LL + 12 * 3600000LL + 30 * 60000LL + 15000LL);
    assert_true(graph_comp(g, 2)->review_after_ms == 0);
    assert_true(graph_comp(g, 3)->rule.p_forget == 0.25);
    assert_true(graph_comp(g, 0)->rule.p_forget == 0.0);
    graph_destroy(&g);
    static const char *const bad[] = {
        "\"P\"",   "\"PT\"",     "\"P1Y\"",  "\"P1M\"", "\"1D\"",   "\"P1.5D\"",       "\"PT1D\"",
        "\"P1H\"", "\"P3661D\"", "\"P-1D\"", "30",      "\"P1DT\"", "\"P1234567890D\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char doc[256];
        snprintf(doc, sizeof doc,
                 "{\"id\":\"f\",\"title\":\"F\",\"competencies\":[{\"id\":\"a\",\"title\":\"A\","
                 "\"review_after\":%s}]}",
                 bad[i]);
        expect_refused(doc, "competencies[0].review_after");
    }
    expect_refused("{\"id\":\"f\",\"title\":\"F\",\"review_after\":\"P1Y\",\"competencies\":[]}",
                   "review_after");
    expect_refused("{\"id\":\"f\",\"title\":\"F\",\"competencies\":[{\"id\":\"a\",\"title\":\"A\","
                   "\"rule\":{\"method\":\"bkt\",\"p_forget\":1}}]}",
                   "competencies[0].rule.p_forget");
    expect_refused("{\"id\":\"f\",\"title\":\"F\",\"competencies\":[{\"id\":\"a\",\"title\":\"A\","
                   "\"rule\":{\"method\":\"average\",\"p_forget\":0.1}}]}",
                   "competencies[0].rule.p_forget");
}

/* Unlock counts (direct: dependents; transitive: reachable along them) and layers (the longest
 * requires/children chain below), on a diamond with a tail and a roll-up. */
static void test_unlocks_and_layers(void **state)
{
    (void)state;
    graph_t *g = parse_ok(
        "{\"id\":\"f\",\"title\":\"F\",\"competencies\":["
        "{\"id\":\"a\",\"title\":\"A\"},"
        "{\"id\":\"b\",\"title\":\"B\",\"requires\":{\"all\":[\"a\"]}},"
        "{\"id\":\"c\",\"title\":\"C\",\"requires\":{\"all\":[\"a\"]}},"
        "{\"id\":\"d\",\"title\":\"D\",\"requires\":{\"at_least\":1,\"of\":[\"b\",\"c\"]}},"
        "{\"id\":\"e\",\"title\":\"E\",\"requires\":{\"all\":[\"d\"]}},"
        "{\"id\":\"r\",\"title\":\"R\",\"rule\":{\"method\":\"children\",\"of\":[\"a\",\"e\"]}}]}");
    assert_true(graph_unlocks_known(g));
    static const uint32_t direct[] = {2, 1, 1, 1, 0, 0}, trans[] = {4, 2, 2, 1, 0, 0},
                          layer[] = {0, 1, 1, 2, 3, 4};
    for (uint32_t i = 0; i < 6; i++) {
        assert_int_equal(graph_comp(g, i)->unlocks_direct, direct[i]);
        assert_int_equal(graph_comp(g, i)->unlocks_transitive, trans[i]);
        assert_int_equal(graph_comp(g, i)->layer, layer[i]);
    }
    graph_destroy(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_example),
        cmocka_unit_test(test_refuse_malformed),
        cmocka_unit_test(test_refuse_framework_fields),
        cmocka_unit_test(test_refuse_ids),
        cmocka_unit_test(test_refuse_dangling),
        cmocka_unit_test(test_refuse_requires),
        cmocka_unit_test(test_refuse_rules),
        cmocka_unit_test(test_refuse_competency_fields),
        cmocka_unit_test(test_refuse_cycles),
        cmocka_unit_test(test_chain_10000),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_example_fractions),
        cmocka_unit_test(test_example_evidence),
        cmocka_unit_test(test_corpus_verdicts),
        cmocka_unit_test(test_review_after_and_p_forget),
        cmocka_unit_test(test_unlocks_and_layers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
