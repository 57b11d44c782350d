/*
 * Unit tests for casepkg: the four OpenSALT packages in tests/vectors/case/ and the
 * packages in tests/data/case/ (a precedes chain, a precedes cycle, a cycle over precedes and
 * isChildOf, a package without CFDocument, a real export's quirks) become framework documents
 * that graph_parse accepts, with the edges, rules, metadata, warnings and summary the CASE
 * package implies; every refusal names the ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casepkg.h"
#include "err.h"
#include "graph.h"

#define CHAIN(n) "c1000000-0000-4000-8000-00000000000" #n
#define STRAND   CHAIN(1)
#define COUNT    CHAIN(2)
#define ADD      CHAIN(3)
#define SUB      CHAIN(4)
#define PLACE    CHAIN(5)

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static char *vector(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/case/%s", MASTERY_VECTORS, name);
    return read_file(path, len);
}

static char *fixture(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/case/%s", MASTERY_SOURCE_DIR, name);
    return read_file(path, len);
}

/* Converts text with opts, expects success, and checks that graph_parse accepts the result. */
static casepkg_t *convert_ok(const char *text, size_t len, const casepkg_opts_t *opts, graph_t **g)
{
    casepkg_t *p = NULL;
    err_detail_t d;
    int rc = casepkg_convert(text, len, opts, &p, &d);
    if (rc != 0)
        fail_msg("refused: %s %s: %s", err_str(rc), d.field, d.message);
    const char *doc = casepkg_framework_text(p);
    rc = graph_parse(doc, strlen(doc), g, &d);
    if (rc != 0)
        fail_msg("graph_parse refused the output: %s: %s", d.field, d.message);
    return p;
}

static casepkg_t *convert_file(const char *name, bool is_vector, const casepkg_opts_t *opts,
                               graph_t **g)
{
    size_t len = 0;
    char *text = is_vector ? vector(name, &len) : fixture(name, &len);
    casepkg_t *p = convert_ok(text, len, opts, g);
    free(text);
    return p;
}

static void refused_file(const char *name, const casepkg_opts_t *opts, int code, const char *field,
                         const char *message)
{
    size_t len = 0;
    char *text = fixture(name, &len);
    casepkg_t *p = (casepkg_t *)&len; /* must be reset to NULL */
    err_detail_t d;
    int rc = casepkg_convert(text, len, opts, &p, &d);
    free(text);
    if (rc != code || strcmp(d.field, field) != 0 || strstr(d.message, message) == NULL)
        fail_msg("%s: got %s \"%s\" \"%s\"; want %s \"%s\" \"%s\"", name, err_str(rc), d.field,
                 d.message, err_str(code), field, message);
    assert_null(p);
}

static void refused_text(const char *text, const casepkg_opts_t *opts, int code, const char *field,
                         const char *message)
{
    casepkg_t *p = NULL;
    err_detail_t d;
    int rc = casepkg_convert(text, strlen(text), opts, &p, &d);
    if (rc != code || strcmp(d.field, field) != 0 || strstr(d.message, message) == NULL)
        fail_msg("%s\n got %s \"%s\" \"%s\"; want %s \"%s\" \"%s\"", text, err_str(rc), d.field,
                 d.message, err_str(code), field, message);
    assert_null(p);
}

static const graph_comp_t *comp(const graph_t *g, const char *id)
{
    uint32_t i = 0;
    if (graph_find(g, id, &i) != 0)
        fail_msg("no competency %s", id);
    return graph_comp(g, i);
}

static const char *id_at(const graph_t *g, uint32_t index)
{
    return graph_comp(g, index)->id;
}

static bool has_warning(const casepkg_t *p, const char *a, const char *b)
{
    for (size_t i = 0; i < casepkg_warning_count(p); i++) {
        const char *w = casepkg_warning(p, i);
        if (strstr(w, a) && (b == NULL || strstr(w, b)))
            return true;
    }
    return false;
}

static const json_t *case_meta(const graph_comp_t *c)
{
    assert_non_null(c->metadata);
    const json_t *m = json_object_get(c->metadata, "case");
    assert_true(json_is_object(m));
    return m;
}

static const char *meta_str(const graph_comp_t *c, const char *key)
{
    return json_string_value(json_object_get(case_meta(c), key));
}

/* ---- the OpenSALT vectors --------------------------------------------------------------- */

static void test_vector_smartlevel(void **state)
{
    (void)state;
    graph_t *g = NULL;
    casepkg_t *p = convert_file("SmartLevelFramework.json", true, NULL, &g);
    assert_string_equal(graph_id(g), "d0000000-0000-0000-0000-000000000000");
    assert_string_equal(graph_title(g), "SmartLevel Test");
    assert_string_equal(graph_version(g), "2017-09-22T23:13:54+00:00"); /* lastChangeDateTime */
    assert_int_equal(graph_count(g), 14);
    /* item 1 rolls up items 3..12 in package order (no sequence numbers), item 2 rolls up 13, 14 */
    const graph_comp_t *one = comp(g, "00000000-0000-0000-0000-000000000001");
    assert_int_equal(one->rule.method, RULE_CHILDREN);
    assert_int_equal(one->n_children, 10);
    for (uint32_t k = 0; k < 10; k++) {
        char want[40];
        snprintf(want, sizeof want, "00000000-0000-0000-0000-0000000000%02u", k + 3);
        assert_string_equal(id_at(g, one->children[k]), want);
    }
    const graph_comp_t *two = comp(g, "00000000-0000-0000-0000-000000000002");
    assert_int_equal(two->n_children, 2);
    assert_string_equal(id_at(g, two->children[0]), "00000000-0000-0000-0000-000000000013");
    /* leaves: the default rule, the CASE uri kept for the badge alignment */
    const graph_comp_t *leaf = comp(g, "00000000-0000-0000-0000-000000000003");
    assert_int_equal(leaf->rule.method, RULE_LATEST);
    assert_int_equal(leaf->n_parents, 1);
    assert_string_equal(leaf->title, "Item 1.1");
    assert_string_equal(leaf->description, "Item 1.1");
    assert_string_equal(
        leaf->source_uri,
        "https://server/ims/case/v1p0/CFItems/00000000-0000-0000-0000-000000000003");
    assert_string_equal(meta_str(leaf, "uri"), leaf->source_uri);
    assert_string_equal(meta_str(leaf, "alignment_target_type"), "CFItem");
    assert_string_equal(meta_str(leaf, "identifier"), leaf->id);
    assert_int_equal(one->n_requires, 0);
    assert_non_null(strstr(casepkg_summary(p), "14 items (2 top-level), 2 parents with 12 "
                                               "children, 0 gates"));
    assert_non_null(strstr(casepkg_summary(p), "kept 0"));
    assert_int_equal(casepkg_warning_count(p), 0);
    graph_destroy(&g);
    casepkg_destroy(&p);
    assert_null(p);
}

static void test_vector_sequence_numbers(void **state)
{
    (void)state;
    graph_t *g = NULL;
    casepkg_t *p = convert_file("SequenceNumberFramework.json", true, NULL, &g);
    assert_int_equal(graph_count(g), 2);
    const graph_comp_t *c = comp(g, "e144c2e6-c0ea-11e7-95f7-5d664f4d8844");
    assert_string_equal(c->title, "SNT.1 First Added Item"); /* humanCodingScheme + statement */
    assert_string_equal(meta_str(c, "humanCodingScheme"), "SNT.1");
    assert_int_equal(c->n_parents, 0); /* a child of the document: top-level */
    assert_non_null(strstr(casepkg_summary(p), "2 items (2 top-level)"));
    graph_destroy(&g);
    casepkg_destroy(&p);
}

static void test_vector_utf8_and_empty(void **state)
{
    (void)state;
    graph_t *g = NULL;
    casepkg_t *p = convert_file("Utf8TestFramework.json", true, NULL, &g);
    assert_string_equal(graph_title(g), "UTF8 \xF0\x9D\x91\x91 Test");
    assert_string_equal(comp(g, "00000000-0000-0000-0000-000000000001")->title,
                        "Item \xF0\x9D\x91\x91 1");
    graph_destroy(&g);
    casepkg_destroy(&p);

    p = convert_file("EmptyExternalFramework.json", true, NULL, &g);
    assert_int_equal(graph_count(g), 0);
    assert_string_equal(graph_title(g), "Test Framework External Empty");
    assert_non_null(strstr(casepkg_summary(p), "0 items"));
    graph_destroy(&g);
    casepkg_destroy(&p);

    /* --id replaces the framework id */
    casepkg_opts_t o = {.framework_id = "urn:school:empty"};
    p = convert_file("EmptyExternalFramework.json", true, &o, &g);
    assert_string_equal(graph_id(g), "urn:school:empty");
    graph_destroy(&g);
    casepkg_destroy(&p);
}

/* ---- our packages ----------------------------------------------------------------------- */

static void test_precedes_chain(void **state)
{
    (void)state;
    graph_t *g = NULL;
    casepkg_t *p = convert_file("precedes-chain.json", false, NULL, &g);
    assert_string_equal(graph_id(g), "d1000000-0000-4000-8000-000000000001");
    assert_string_equal(graph_version(g), "1.2"); /* CFDocument.version wins */
    assert_int_equal(graph_count(g), 5);
    /* count -> place -> add -> sub, and place -> sub */
    const graph_comp_t *place = comp(g, PLACE), *add = comp(g, ADD), *sub = comp(g, SUB);
    assert_int_equal(comp(g, COUNT)->n_requires, 0);
    assert_int_equal(place->requires_kind, REQUIRES_ALL);
    assert_int_equal(place->n_requires, 1);
    assert_string_equal(id_at(g, place->requires[0]), COUNT);
    assert_int_equal(add->n_requires, 1);
    assert_string_equal(id_at(g, add->requires[0]), PLACE);
    assert_int_equal(sub->n_requires, 2);
    assert_string_equal(id_at(g, sub->requires[0]), ADD);
    assert_string_equal(id_at(g, sub->requires[1]), PLACE);
    /* the strand rolls its standards up in sequenceNumber order, not package order */
    const graph_comp_t *strand = comp(g, STRAND);
    assert_int_equal(strand->rule.method, RULE_CHILDREN);
    assert_int_equal(strand->n_children, 4);
    assert_string_equal(id_at(g, strand->children[0]), COUNT);
    assert_string_equal(id_at(g, strand->children[1]), PLACE);
    assert_string_equal(id_at(g, strand->children[2]), ADD);
    assert_string_equal(id_at(g, strand->children[3]), SUB);
    /* titles: coding scheme + abbreviated statement, else the full statement */
    assert_string_equal(comp(g, COUNT)->title, "NBT.1 Count to 120");
    assert_string_equal(comp(g, COUNT)->description,
                        "Count to 120, starting at any number less than 120.");
    assert_string_equal(add->title, "NBT.4 Add within 100, using concrete models or drawings and "
                                    "strategies based on place value.");
    assert_string_equal(meta_str(strand, "CFItemType"), "Domain");
    /* exactMatchOf to outside items: kept as external references; isRelatedTo on both ends */
    const json_t *as = json_object_get(case_meta(comp(g, COUNT)), "associations");
    assert_int_equal(json_array_size(as), 1);
    const json_t *a = json_array_get(as, 0);
    assert_string_equal(json_string_value(json_object_get(a, "type")), "exactMatchOf");
    assert_string_equal(json_string_value(json_object_get(a, "role")), "origin");
    assert_true(json_is_true(json_object_get(a, "external")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(a, "other"), "identifier")),
        "e9000000-0000-4000-8000-000000000001");
    as = json_object_get(case_meta(sub), "associations");
    assert_int_equal(json_array_size(as), 1);
    a = json_array_get(as, 0);
    assert_string_equal(json_string_value(json_object_get(a, "type")), "isRelatedTo");
    assert_string_equal(json_string_value(json_object_get(a, "role")), "destination");
    assert_null(json_object_get(a, "external"));
    assert_non_null(strstr(casepkg_summary(p), "5 items (1 top-level), 1 parents with 4 "
                                               "children, 4 gates (precedes); kept 2 "
                                               "exactMatchOf, 1 isRelatedTo (2 external "
                                               "references); ignored 0"));
    assert_true(has_warning(p, "lies outside the package", "e9000000-0000-4000-8000-000000000001"));
    assert_true(has_warning(p, "lies outside the package", "e9000000-0000-4000-8000-000000000002"));
    assert_int_equal(casepkg_warning_count(p), 2);
    graph_destroy(&g);
    casepkg_destroy(&p);
}

static void test_gate_none(void **state)
{
    (void)state;
    casepkg_opts_t o = {.gate = "none"};
    graph_t *g = NULL;
    casepkg_t *p = convert_file("precedes-chain.json", false, &o, &g);
    for (uint32_t i = 0; i < graph_count(g); i++)
        assert_int_equal(graph_comp(g, i)->n_requires, 0);
    /* precedes is kept as metadata instead: sub is the destination of two */
    const json_t *as = json_object_get(case_meta(comp(g, SUB)), "associations");
    size_t preceded = 0;
    for (size_t i = 0; i < json_array_size(as); i++)
        preceded += strcmp(json_string_value(json_object_get(json_array_get(as, i), "type")),
                           "precedes") == 0;
    assert_int_equal(preceded, 2);
    assert_non_null(strstr(casepkg_summary(p), "0 gates (precedes); kept 2 exactMatchOf, 4 "
                                               "precedes, 1 isRelatedTo"));
    graph_destroy(&g);
    casepkg_destroy(&p);

    /* a cycle is only a cycle when precedes gates */
    p = convert_file("precedes-cycle.json", false, &o, &g);
    assert_int_equal(graph_count(g), 4);
    graph_destroy(&g);
    casepkg_destroy(&p);
}

static void test_rule_options(void **state)
{
    (void)state;
    const char *rules[] = {"*=decaying_average:0.7", STRAND "=average:0.6", ADD "=bkt"};
    casepkg_opts_t o = {.rules = rules, .n_rules = 3};
    graph_t *g = NULL;
    casepkg_t *p = convert_file("precedes-chain.json", false, &o, &g);
    const graph_comp_t *count = comp(g, COUNT), *strand = comp(g, STRAND), *add = comp(g, ADD);
    assert_int_equal(count->rule.method, RULE_DECAYING_AVERAGE);
    assert_float_equal(count->rule.threshold, 0.7, 1e-12);
    assert_int_equal(add->rule.method, RULE_BKT); /* its own rule beats "*" */
    assert_int_equal(strand->rule.method, RULE_AVERAGE);
    assert_float_equal(strand->rule.threshold, 0.6, 1e-12);
    assert_int_equal(strand->n_children, 0);
    /* the composition is not a roll-up any more, but it is not lost */
    const json_t *kids = json_object_get(case_meta(strand), "children");
    assert_int_equal(json_array_size(kids), 4);
    assert_string_equal(json_string_value(json_array_get(kids, 0)), COUNT);
    graph_destroy(&g);
    casepkg_destroy(&p);

    /* "*" leaves parents alone */
    const char *star[] = {"*=highest"};
    o = (casepkg_opts_t){.rules = star, .n_rules = 1};
    p = convert_file("precedes-chain.json", false, &o, &g);
    assert_int_equal(comp(g, STRAND)->rule.method, RULE_CHILDREN);
    assert_int_equal(comp(g, SUB)->rule.method, RULE_HIGHEST);
    graph_destroy(&g);
    casepkg_destroy(&p);

    const char *leaf_children[] = {COUNT "=children"};
    o = (casepkg_opts_t){.rules = leaf_children, .n_rules = 1};
    refused_file("precedes-chain.json", &o, ERR_INVALID, "rules[0]",
                 COUNT " has no children: it cannot use the children rule");
    const char *unknown_item[] = {"*=latest", "nope=latest"};
    o = (casepkg_opts_t){.rules = unknown_item, .n_rules = 2};
    refused_file("precedes-chain.json", &o, ERR_INVALID, "rules[1]", "no item nope in the package");
    const char *bad_method[] = {"*=median"};
    o = (casepkg_opts_t){.rules = bad_method, .n_rules = 1};
    refused_file("precedes-chain.json", &o, ERR_INVALID, "rules[0]", "unknown method 'median'");
    const char *bad_threshold[] = {"*=latest:1.5"};
    o = (casepkg_opts_t){.rules = bad_threshold, .n_rules = 1};
    refused_file("precedes-chain.json", &o, ERR_INVALID, "rules[0]",
                 "threshold '1.5' is not a number in 0..1");
    const char *twice[] = {ADD "=latest", ADD "=highest"};
    o = (casepkg_opts_t){.rules = twice, .n_rules = 2};
    refused_file("precedes-chain.json", &o, ERR_INVALID, "rules[1]", "a second rule for");
    const char *no_eq[] = {"latest"};
    o = (casepkg_opts_t){.rules = no_eq, .n_rules = 1};
    refused_file("precedes-chain.json", &o, ERR_INVALID, "rules[0]", "is not ITEM_ID=METHOD");
    o = (casepkg_opts_t){.gate = "strict"};
    refused_file("precedes-chain.json", &o, ERR_INVALID, "gate", "is not precedes or none");
}

static void test_refusals(void **state)
{
    (void)state;
    /* the cycle P1 -> P2 -> P3 -> P1 (P0 leads into it), named from its first item */
    refused_file("precedes-cycle.json", NULL, ERR_CONFLICT, "CFAssociations",
                 "precedes cycle: c2000000-0000-4000-8000-000000000001 -> "
                 "c2000000-0000-4000-8000-000000000002 -> c2000000-0000-4000-8000-000000000003 -> "
                 "c2000000-0000-4000-8000-000000000001");
    refused_file("mixed-cycle.json", NULL, ERR_CONFLICT, "competencies",
                 "precedes and isChildOf together form a cycle: "
                 "c3000000-0000-4000-8000-000000000000");
    refused_file("no-document.json", NULL, ERR_INVALID, "CFDocument", "no CFDocument");

    refused_text("{\"CFDocument\": ", NULL, ERR_INVALID, "", "malformed JSON at line 1");
    refused_text("[1]", NULL, ERR_INVALID, "", "must be a JSON object");
    refused_text("{\"CFDocument\": {\"title\": \"T\"}}", NULL, ERR_INVALID, "CFDocument.identifier",
                 "CFDocument has no identifier");
    refused_text("{\"CFDocument\": {\"identifier\": \"d\"}, \"CFItems\": [{\"identifier\": \"a\"}, "
                 "{\"identifier\": \"b\"}, {\"identifier\": \"a\"}]}",
                 NULL, ERR_CONFLICT, "CFItems[2].identifier",
                 "two items with identifier a (CFItems[0] and CFItems[2])");
    refused_text("{\"CFDocument\": {\"identifier\": \"d\"}, \"CFItems\": [{\"uri\": \"x:y\"}]}",
                 NULL, ERR_INVALID, "CFItems[0].identifier", "CFItems[0] has no identifier");
    refused_text("{\"CFDocument\": {\"identifier\": \"d\"}, \"CFItems\": [{\"identifier\": "
                 "\"a\\tb\"}]}",
                 NULL, ERR_INVALID, "CFItems[0].identifier", "control character");
    refused_text("{\"CFDocument\": {\"identifier\": \"d\"}, \"CFItems\": {}}", NULL, ERR_INVALID,
                 "CFItems", "must be an array");
    refused_text("{\"CFDocument\": {\"identifier\": \"d\"}, \"CFItems\": [{\"identifier\": \"a\"}],"
                 "\"CFAssociations\": [{\"associationType\": \"isChildOf\", \"originNodeURI\": "
                 "{\"identifier\": \"a\"}, \"destinationNodeURI\": {\"identifier\": \"a\"}}]}",
                 NULL, ERR_CONFLICT, "CFAssociations", "cycle: a isChildOf itself");
    refused_text("{\"CFDocument\": {\"identifier\": \"d\"}, \"CFItems\": [{\"identifier\": \"a\"}],"
                 "\"CFAssociations\": [{\"associationType\": \"precedes\", \"originNodeURI\": "
                 "{\"identifier\": \"a\"}, \"destinationNodeURI\": {\"identifier\": \"a\"}}]}",
                 NULL, ERR_CONFLICT, "CFAssociations", "precedes cycle: a -> a");
}

static void test_quirks(void **state)
{
    (void)state;
    graph_t *g = NULL;
    casepkg_t *p = convert_file("quirks.json", false, NULL, &g);
    assert_int_equal(graph_count(g), 3);
    assert_string_equal(graph_version(g), "2019-05-02T10:11:12");
    /* sequenceNumber "1" and "2" as strings still order the children */
    const graph_comp_t *w1 = comp(g, "ELA.W.1");
    assert_int_equal(w1->n_children, 2);
    assert_string_equal(id_at(g, w1->children[0]), "ELA.W.1.b");
    assert_string_equal(id_at(g, w1->children[1]), "ELA.W.1.a");
    /* the precedes inside the package gates; the one from outside is only a reference */
    const graph_comp_t *w1b = comp(g, "ELA.W.1.b");
    assert_int_equal(w1b->n_requires, 1);
    assert_string_equal(id_at(g, w1b->requires[0]), "ELA.W.1.a");
    assert_int_equal(w1->n_requires, 0);
    const json_t *as = json_object_get(case_meta(w1), "associations");
    assert_int_equal(json_array_size(as), 2);
    for (size_t i = 0; i < 2; i++)
        assert_true(json_is_true(json_object_get(json_array_get(as, i), "external")));
    /* the misspelt field is not read: the statement alone is the title */
    assert_string_equal(comp(g, "ELA.W.1.a")->title, "Introduce the topic or text.");

    assert_true(has_warning(p, "item ELA.W.1: identifier is not a UUID", NULL));
    assert_true(has_warning(p,
                            "item ELA.W.1: lastChangeDateTime '2019-05-02T10:11:12' has no "
                            "time zone: read as UTC",
                            NULL));
    assert_true(has_warning(p,
                            "item ELA.W.1.b: lastChangeDateTime '2019-05-02 10:11:12' is not "
                            "an RFC 3339 date-time",
                            NULL));
    assert_true(has_warning(p,
                            "CFDocument d5000000-0000-4000-8000-000000000001: "
                            "lastChangeDateTime",
                            "no time zone"));
    assert_true(has_warning(p, "sequenceNumber \"2\" is a string: read as 2", NULL));
    assert_true(has_warning(p, "CFItem field 'humanCodingSchema' (in 1, first item ELA.W.1.a)",
                            "did you mean 'humanCodingScheme'?"));
    assert_true(
        has_warning(p, "isChildOf destination ELA.W lies outside the package", "(no edge)"));
    assert_true(has_warning(p, "precedes origin ELA.K.W.1 lies outside the package", "(no edge)"));
    assert_true(has_warning(p, "exactMatchOf destination ccss-w-3-1-b lies outside", NULL));
    assert_non_null(strstr(casepkg_summary(p),
                           "3 items (0 top-level), 1 parents with 2 children, "
                           "1 gates (precedes); kept 1 isChildOf, 1 exactMatchOf, "
                           "1 precedes (3 external references)"));
    graph_destroy(&g);
    casepkg_destroy(&p);
}

static void test_lenient_details(void **state)
{
    (void)state;
    /* an endpoint found by uri only, a repeated edge, an unknown type near precedes, an
     * association with no usable end, an item with nothing but its identifier */
    const char *pkg =
        "{\"CFDocument\": {\"identifier\": \"d\", \"uri\": \"https://x/d\", \"title\": \"D\"},"
        " \"CFItems\": [{\"identifier\": \"a\", \"uri\": \"https://x/a\", \"fullStatement\": "
        "\"A\"}, {\"identifier\": \"b\", \"uri\": \"https://x/b\", \"fullStatement\": \"B\"},"
        " {\"identifier\": \"c\", \"statusStartDate\": \"2019-05-02\", \"statusEndDate\": null,"
        " \"lastChangeDateTime\": \"2019-05-02T10:11:12.5-05:00\"}],"
        " \"CFAssociations\": ["
        "{\"associationType\": \"precedes\", \"originNodeURI\": {\"identifier\": \"old-a\", "
        "\"uri\": \"https://x/a\"}, \"destinationNodeURI\": {\"identifier\": \"b\"}},"
        "{\"associationType\": \"precedes\", \"originNodeURI\": {\"identifier\": \"a\"}, "
        "\"destinationNodeURI\": {\"identifier\": \"b\"}},"
        "{\"associationType\": \"preceeds\", \"originNodeURI\": {\"identifier\": \"b\"}, "
        "\"destinationNodeURI\": {\"identifier\": \"c\"}},"
        "{\"associationType\": \"isPeerOf\", \"originNodeURI\": {\"identifier\": \"x1\"}, "
        "\"destinationNodeURI\": {\"identifier\": \"x2\"}},"
        "{\"associationType\": \"isChildOf\", \"originNodeURI\": {}, "
        "\"destinationNodeURI\": {\"identifier\": \"a\"}},"
        "{\"associationType\": \"isChildOf\", \"originNodeURI\": {\"uri\": \"https://x/b\"}, "
        "\"destinationNodeURI\": {\"uri\": \"https://x/d\"}},"
        "{\"associationType\": \"exemplar\", \"sequenceNumber\": \"first\", \"originNodeURI\": "
        "{\"identifier\": \"c\"}, \"destinationNodeURI\": {\"identifier\": \"a\"}}]}";
    graph_t *g = NULL;
    casepkg_t *p = convert_ok(pkg, strlen(pkg), NULL, &g);
    const graph_comp_t *b = comp(g, "b");
    assert_int_equal(b->n_requires, 1);
    assert_string_equal(id_at(g, b->requires[0]), "a");
    assert_int_equal(comp(g, "c")->n_requires, 0); /* "preceeds" does not gate */
    assert_string_equal(comp(g, "c")->title, "c");
    assert_true(has_warning(p, "origin found by uri only (identifier old-a", NULL));
    assert_true(has_warning(p, "a precedes b repeated: counted once", NULL));
    assert_true(has_warning(p, "associationType 'preceeds'", "did you mean 'precedes'?"));
    assert_true(has_warning(p, "isPeerOf with neither end an item of the package: ignored", NULL));
    assert_true(has_warning(p, "originNodeURI has no identifier or uri: ignored", NULL));
    assert_true(has_warning(p, "sequenceNumber is not an integer: ignored", NULL));
    assert_true(has_warning(p, "item c: no uri", NULL));
    assert_true(has_warning(p, "item c: no humanCodingScheme or statement", NULL));
    assert_false(has_warning(p, "item c: status", NULL)); /* a date, and null, are allowed */
    assert_false(has_warning(p, "item c: lastChangeDateTime", NULL));
    assert_non_null(strstr(casepkg_summary(p), "(1 top-level)")); /* b, found by uri */
    assert_non_null(strstr(casepkg_summary(p), "kept 1 exemplar, 1 preceeds"));
    assert_non_null(strstr(casepkg_summary(p), "ignored 2"));
    graph_destroy(&g);
    casepkg_destroy(&p);
}

static void test_more_leniency_and_options(void **state)
{
    (void)state;
    /* unknown keys at every level (with and without a near miss), odd associations, a uri
     * with a space, a repeated isChildOf, an explicit children rule for a parent */
    const char *pkg =
        "{\"CFDocument\": {\"identifier\": \"d\", \"title\": \"D\", \"titel\": \"x\", "
        "\"lastChangeDateTime\": 5},"
        " \"CFItems\": [{\"identifier\": \"p\", \"uri\": \"https://x/a b\", "
        "\"fullStatement\": \"P\", \"colour\": \"red\"},"
        " {\"identifier\": \"k\", \"fullStatement\": \"K\"}],"
        " \"CFAssociations\": [7, {\"identifier\": \"a1\"},"
        " {\"identifier\": \"a2\", \"associationType\": \"isChildOf\", \"sequenceNumbr\": 1, "
        "\"originNodeURI\": {\"identifier\": \"k\"}, \"destinationNodeURI\": {\"identifier\": "
        "\"p\"}},"
        " {\"identifier\": \"a3\", \"associationType\": \"isChildOf\", \"originNodeURI\": "
        "{\"identifier\": \"k\"}, \"destinationNodeURI\": {\"identifier\": \"p\"}},"
        " {\"identifier\": \"a4\", \"associationType\": \"isTranslationOf\", "
        "\"sequenceNumber\": 3, \"originNodeURI\": {\"identifier\": \"k\"}, "
        "\"destinationNodeURI\": {\"identifier\": \"p\"}}],"
        " \"CFRubric\": []}";
    const char *rules[] = {"p=children", "*=n_mastery:0.9"};
    casepkg_opts_t o = {.rules = rules, .n_rules = 2};
    graph_t *g = NULL;
    casepkg_t *p = convert_ok(pkg, strlen(pkg), &o, &g);
    const graph_comp_t *parent = comp(g, "p");
    assert_int_equal(parent->rule.method, RULE_CHILDREN);
    assert_int_equal(parent->n_children, 1);
    assert_string_equal(parent->source_uri, "");
    assert_int_equal(comp(g, "k")->rule.method, RULE_N_MASTERY);
    assert_float_equal(comp(g, "k")->rule.threshold, 0.9, 1e-12);
    const json_t *a = json_array_get(json_object_get(case_meta(comp(g, "k")), "associations"), 0);
    assert_int_equal(json_integer_value(json_object_get(a, "sequenceNumber")), 3);
    assert_true(has_warning(p, "CFDocument field 'titel'", "did you mean 'title'?"));
    assert_true(
        has_warning(p, "CFItem field 'colour' (in 1, first item p)", "CASE 1.0 field: ignored"));
    assert_true(
        has_warning(p, "CFAssociation field 'sequenceNumbr'", "did you mean 'sequenceNumber'?"));
    assert_true(has_warning(p, "package field 'CFRubric'", "did you mean 'CFRubrics'?"));
    assert_true(has_warning(p, "lastChangeDateTime is not a string: ignored", NULL));
    assert_true(has_warning(p, "item p: uri 'https://x/a b' has spaces", NULL));
    assert_true(has_warning(p, "CFAssociations[0]: not an object: ignored", NULL));
    assert_true(has_warning(p, "association a1: no associationType: ignored", NULL));
    assert_true(has_warning(p, "association a3: k isChildOf p repeated: counted once", NULL));
    assert_true(has_warning(p, "association a2: identifier is not a UUID", NULL));
    assert_true(has_warning(p, "'isTranslationOf' is not a CASE 1.0 type: kept as metadata", NULL));
    assert_non_null(strstr(casepkg_summary(p), "kept 1 isTranslationOf"));
    assert_non_null(strstr(casepkg_summary(p), "ignored 2"));
    graph_destroy(&g);
    casepkg_destroy(&p);

    /* no CFItems at all: an empty framework, with a warning; a long version is left out */
    char doc[600];
    char version[300];
    memset(version, 'v', 299);
    version[299] = '\0';
    snprintf(doc, sizeof doc, "{\"CFDocument\": {\"identifier\": \"d\", \"version\": \"%s\"}}",
             version);
    p = convert_ok(doc, strlen(doc), NULL, &g);
    assert_int_equal(graph_count(g), 0);
    assert_string_equal(graph_version(g), "");
    assert_true(has_warning(p, "the package has no CFItems", NULL));
    assert_true(has_warning(p, "version is longer than 256 bytes", NULL));
    graph_destroy(&g);
    casepkg_destroy(&p);

    const char *star_children[] = {"*=children"};
    o = (casepkg_opts_t){.rules = star_children, .n_rules = 1};
    refused_file("precedes-chain.json", &o, ERR_INVALID, "rules[0]", "*=children");
    const char *children_threshold[] = {STRAND "=children:0.5"};
    o = (casepkg_opts_t){.rules = children_threshold, .n_rules = 1};
    refused_file("precedes-chain.json", &o, ERR_INVALID, "rules[0]", "takes no threshold");
    refused_text("{\"CFDocument\": []}", NULL, ERR_INVALID, "CFDocument", "must be an object");
    refused_text("{\"CFDocument\": {\"identifier\": 5}}", NULL, ERR_INVALID,
                 "CFDocument.identifier", "must be a non-empty string");
    refused_text("{\"CFDocument\": {\"identifier\": \"d\"}, \"CFAssociations\": {}}", NULL,
                 ERR_INVALID, "CFAssociations", "must be an array");
}

static void test_warning_cap_and_lengths(void **state)
{
    (void)state;
    /* 300 items with non-UUID ids: 200 warnings kept, then one line counting the rest */
    size_t cap = 64 * 1024 + 300 * 64;
    char *pkg = malloc(cap);
    assert_non_null(pkg);
    size_t n = (size_t)snprintf(pkg, cap,
                                "{\"CFDocument\": {\"identifier\": \"d\", \"title\": "
                                "\"T\"}, \"CFItems\": [");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(pkg + n, cap - n,
                              "%s{\"identifier\": \"i%d\", \"uri\": \"https://x/%d\", "
                              "\"fullStatement\": \"S\"}",
                              i ? "," : "", i, i);
    n += (size_t)snprintf(pkg + n, cap - n, "]}");
    graph_t *g = NULL;
    casepkg_t *p = convert_ok(pkg, n, NULL, &g);
    assert_int_equal(graph_count(g), 300);
    assert_int_equal(casepkg_warning_count(p), CASEPKG_MAX_WARNINGS + 1);
    assert_string_equal(casepkg_warning(p, CASEPKG_MAX_WARNINGS), "... and 101 more warnings");
    assert_null(casepkg_warning(p, CASEPKG_MAX_WARNINGS + 1));
    assert_non_null(strstr(casepkg_summary(p), "301 warnings"));
    graph_destroy(&g);
    casepkg_destroy(&p);

    /* a title longer than the graph allows is cut on a character boundary */
    size_t big = GRAPH_TITLE_MAX + 100;
    n = (size_t)snprintf(pkg, cap,
                         "{\"CFDocument\": {\"identifier\": \"d\"}, \"CFItems\": "
                         "[{\"identifier\": \"a\", \"fullStatement\": \"");
    for (size_t i = 0; i < big / 2; i++)
        n += (size_t)snprintf(pkg + n, cap - n, "\xC3\xA9"); /* two-byte characters */
    n += (size_t)snprintf(pkg + n, cap - n, "x\"}]}");
    p = convert_ok(pkg, n, NULL, &g);
    const graph_comp_t *a = comp(g, "a");
    assert_true(strlen(a->title) <= GRAPH_TITLE_MAX);
    assert_true(strlen(a->title) >= GRAPH_TITLE_MAX - 1);
    assert_int_equal(strlen(a->title) % 2, 0);
    assert_int_equal(strlen(a->description), big / 2 * 2 + 1);
    assert_true(has_warning(p, "item a: title is", "cut to 4096"));
    assert_true(has_warning(p, "CFDocument d: no title", NULL));
    assert_string_equal(graph_title(g), "d");
    graph_destroy(&g);
    casepkg_destroy(&p);
    free(pkg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_smartlevel),
        cmocka_unit_test(test_vector_sequence_numbers),
        cmocka_unit_test(test_vector_utf8_and_empty),
        cmocka_unit_test(test_precedes_chain),
        cmocka_unit_test(test_gate_none),
        cmocka_unit_test(test_rule_options),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_quirks),
        cmocka_unit_test(test_lenient_details),
        cmocka_unit_test(test_more_leniency_and_options),
        cmocka_unit_test(test_warning_cap_and_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
