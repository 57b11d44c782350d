/*
 * Unit tests for nquads' dataset storage and writer (the parser and the W3C suite are in
 * test_rdfc.c): the byte cap on a dataset's strings, reset and reuse, appending terms, quads
 * and whole datasets to a bounded buffer (all or nothing), serialize agreeing with write, the
 * length bound, the exported checks, and the unchecked add.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nquads.h"

static nquads_quad_t quad(const char *s, const char *p, const char *lit)
{
    nquads_quad_t q = {
        .s = {.kind = NQUADS_IRI, .value = s, .value_len = strlen(s)},
        .p = {.kind = NQUADS_IRI, .value = p, .value_len = strlen(p)},
        .o = {.kind = NQUADS_LITERAL, .value = lit, .value_len = strlen(lit)},
    };
    return q;
}

static void test_byte_cap(void **state)
{
    (void)state;
    nquads_dataset_t *ds = nquads_dataset_new_limit(16384);
    assert_non_null(ds);
    static char lit[3000];
    memset(lit, 'x', sizeof lit - 1);
    err_detail_t d;
    size_t added = 0;
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++) {
        char s[32];
        snprintf(s, sizeof s, "urn:s%d", i);
        nquads_quad_t q = quad(s, "urn:p", lit);
        rc = nquads_dataset_add(ds, &q, 0, &d);
        if (rc == 0)
            added++;
    }
    assert_int_equal(rc, ERR_LIMIT);
    assert_string_equal(d.field, "dataset");
    assert_non_null(strstr(d.message, "bytes"));
    assert_true(added >= 4 && added < 6); /* about 16 KiB of 3 KB literals */
    assert_int_equal(nquads_dataset_count(ds), added);
    /* the quads held are intact */
    const nquads_quad_t *q = nquads_dataset_quad(ds, added - 1);
    assert_int_equal(q->o.value_len, sizeof lit - 1);
    assert_memory_equal(q->o.value, lit, sizeof lit - 1);
    /* a reset gives the room back */
    nquads_dataset_reset(ds);
    assert_int_equal(nquads_dataset_count(ds), 0);
    for (size_t i = 0; i < added; i++) {
        char s[32];
        snprintf(s, sizeof s, "urn:t%zu", i);
        nquads_quad_t again = quad(s, "urn:p", lit);
        assert_int_equal(nquads_dataset_add(ds, &again, 0, &d), 0);
    }
    /* a parse that fills the dataset names the line of the first quad that did not fit */
    nquads_dataset_reset(ds);
    static char text[100 * 3100];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "<urn:s%d> <urn:p> \"%s\" .\n", i, lit);
    assert_int_equal(nquads_parse(ds, text, n, NULL, &d), ERR_LIMIT);
    char want[32];
    snprintf(want, sizeof want, "line %zu", nquads_dataset_count(ds) + 1);
    assert_string_equal(d.field, want);
    nquads_dataset_destroy(&ds);
    nquads_dataset_destroy(&ds); /* idempotent */
    assert_null(ds);
}

static void test_reset_reuse(void **state)
{
    (void)state;
    nquads_dataset_t *ds = nquads_dataset_new();
    err_detail_t d;
    const char *text =
        "<urn:a> <urn:b> \"1\" .\n<urn:a> <urn:b> \"2\" .\n<urn:a> <urn:b> \"1\" .\n";
    for (int round = 0; round < 3; round++) {
        assert_int_equal(nquads_parse(ds, text, strlen(text), NULL, &d), 0);
        assert_int_equal(nquads_dataset_count(ds), 2);
        assert_string_equal(nquads_dataset_quad(ds, 1)->o.value, "2");
        nquads_dataset_reset(ds);
        assert_int_equal(nquads_dataset_count(ds), 0);
        assert_null(nquads_dataset_quad(ds, 0));
    }
    /* a large index is given back on reset, and the dataset still works */
    for (int i = 0; i < 20000; i++) {
        char s[32];
        snprintf(s, sizeof s, "urn:s%d", i);
        nquads_quad_t q = quad(s, "urn:p", "v");
        assert_int_equal(nquads_dataset_add(ds, &q, 0, &d), 0);
    }
    nquads_dataset_reset(ds);
    nquads_quad_t q = quad("urn:s1", "urn:p", "v");
    assert_int_equal(nquads_dataset_add(ds, &q, 0, &d), 0);
    assert_int_equal(nquads_dataset_add(ds, &q, 0, &d), 0);
    assert_int_equal(nquads_dataset_count(ds), 1);
    nquads_dataset_destroy(&ds);
}

static void test_append(void **state)
{
    (void)state;
    nquads_quad_t q = quad("urn:s", "urn:p", "a\"b\n");
    q.o.lang = "en";
    q.o.lang_len = 2;
    q.g = (nquads_term_t){.kind = NQUADS_BNODE, .value = "g1", .value_len = 2};
    const char *line = "<urn:s> <urn:p> \"a\\\"b\\n\"@en _:g1 .\n";
    buf_t b;
    buf_init(&b, 1024);
    assert_int_equal(nquads_term_append(&b, &q.o), 0);
    assert_string_equal(b.data, "\"a\\\"b\\n\"@en");
    buf_reset(&b);
    assert_int_equal(nquads_quad_append(&b, &q), 0);
    assert_string_equal(b.data, line);
    assert_int_equal(b.len, nquads_quad_write(&q, NULL, 0));
    buf_free(&b);
    /* too small: refused, and nothing of it stays */
    buf_init(&b, strlen(line) + 4);
    assert_int_equal(buf_append_str(&b, "12345"), 0);
    assert_int_equal(nquads_quad_append(&b, &q), ERR_LIMIT);
    assert_string_equal(b.data, "12345");
    assert_int_equal(nquads_term_append(&b, &q.s), 0);
    assert_string_equal(b.data, "12345<urn:s>");
    buf_free(&b);
}

static void test_dataset_write(void **state)
{
    (void)state;
    const char *text = "<urn:a> <urn:b> \"x\\u0001y\"^^<urn:t> .\n"
                       "_:n <urn:b> <urn:c> <urn:g> .\n"
                       "<urn:a> <urn:b> \"z\"^^<http://www.w3.org/2001/XMLSchema#string> .\n";
    const char *want = "<urn:a> <urn:b> \"x\\u0001y\"^^<urn:t> .\n"
                       "_:n <urn:b> <urn:c> <urn:g> .\n"
                       "<urn:a> <urn:b> \"z\" .\n";
    nquads_dataset_t *ds = nquads_dataset_new();
    err_detail_t d;
    assert_int_equal(nquads_parse(ds, text, strlen(text), NULL, &d), 0);
    buf_t b;
    buf_init(&b, 4096);
    assert_int_equal(buf_append_str(&b, "# head\n"), 0);
    assert_int_equal(nquads_dataset_write(ds, &b), 0);
    assert_string_equal(b.data + 7, want);
    buf_free(&b);
    /* all or nothing */
    buf_init(&b, strlen(want) - 1);
    assert_int_equal(nquads_dataset_write(ds, &b), ERR_LIMIT);
    assert_int_equal(b.len, 0);
    buf_free(&b);
    char *out;
    size_t len;
    assert_int_equal(nquads_dataset_serialize(ds, &out, &len), 0);
    assert_string_equal(out, want);
    assert_int_equal(len, strlen(want));
    free(out);
    /* an empty dataset writes nothing */
    nquads_dataset_reset(ds);
    assert_int_equal(nquads_dataset_serialize(ds, &out, &len), 0);
    assert_string_equal(out, "");
    assert_int_equal(len, 0);
    free(out);
    nquads_dataset_destroy(&ds);
}

static void test_bound(void **state)
{
    (void)state;
    static const char lex[] = "plain\n\x01\"\\\x7f\x00end";
    nquads_quad_t q = quad("urn:s", "urn:p", "");
    q.o.value = lex;
    q.o.value_len = sizeof lex - 1;
    q.o.datatype = "urn:t";
    q.o.datatype_len = 5;
    size_t n = nquads_quad_write(&q, NULL, 0);
    assert_true(nquads_quad_bound(&q) >= n);
    q.o.datatype = NULL;
    q.o.datatype_len = 0;
    q.o.lang = "en";
    q.o.lang_len = 2;
    q.g = (nquads_term_t){.kind = NQUADS_IRI, .value = "urn:g", .value_len = 5};
    assert_true(nquads_quad_bound(&q) >= nquads_quad_write(&q, NULL, 0));
    /* a literal of only escapes reaches the bound's factor of 6 */
    static const char ctl[] = "\x01\x02\x03\x04";
    q.o = (nquads_term_t){.kind = NQUADS_LITERAL, .value = ctl, .value_len = 4};
    assert_true(nquads_quad_bound(&q) >= nquads_quad_write(&q, NULL, 0));
    /* absurd lengths saturate instead of wrapping */
    q.o.value_len = SIZE_MAX / 2;
    assert_int_equal(nquads_quad_bound(&q), SIZE_MAX);
}

static void test_checks(void **state)
{
    (void)state;
    assert_true(nquads_iri_valid("urn:x", 5));
    assert_true(nquads_iri_valid("http://example.org/a?b#c", 24));
    assert_true(nquads_iri_valid("http://\xc3\xa9.example/\x7f", 19)); /* UTF-8, DEL */
    assert_false(nquads_iri_valid("", 0));
    assert_false(nquads_iri_valid("relative/path", 13));
    assert_false(nquads_iri_valid("1x:y", 4));
    assert_false(nquads_iri_valid("urn:a b", 7));
    assert_false(nquads_iri_valid("urn:a\0b", 7));
    static const char *const bad[] = {"urn:<", "urn:>", "urn:\"", "urn:{", "urn:}",
                                      "urn:|", "urn:^", "urn:`",  "urn:\\"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(nquads_iri_valid(bad[i], strlen(bad[i])));
    assert_false(nquads_iri_valid("urn:\xff", 5));         /* not UTF-8 */
    assert_false(nquads_iri_valid("urn:\xed\xa0\x80", 7)); /* a surrogate */
    assert_true(nquads_utf8_valid("", 0));
    assert_true(nquads_utf8_valid("a\0b", 3));
    assert_true(nquads_utf8_valid("0123456789abcdef\xf0\x9f\x98\x80xyz", 23));
    assert_false(nquads_utf8_valid("0123456789abcdef\xc0\x80", 18)); /* overlong */
    assert_false(nquads_utf8_valid("abcdefgh\xe2\x82", 10));         /* truncated */
}

static void test_add_trusted(void **state)
{
    (void)state;
    nquads_dataset_t *ds = nquads_dataset_new();
    err_detail_t d;
    nquads_quad_t q = quad("urn:s", "urn:p", "v");
    q.o.datatype = NQUADS_XSD_STRING;
    q.o.datatype_len = strlen(NQUADS_XSD_STRING);
    assert_int_equal(nquads_dataset_add_trusted(ds, &q, 0, &d), 0);
    /* the same quad without the datatype is already there: xsd:string is dropped */
    nquads_quad_t plain = quad("urn:s", "urn:p", "v");
    assert_int_equal(nquads_dataset_add(ds, &plain, 0, &d), 0);
    assert_int_equal(nquads_dataset_count(ds), 1);
    assert_null(nquads_dataset_quad(ds, 0)->o.datatype);
    /* limits apply as to the checked add */
    nquads_quad_t other = quad("urn:s", "urn:p", "w");
    assert_int_equal(nquads_dataset_add_trusted(ds, &other, 1, &d), ERR_LIMIT);
    assert_int_equal(nquads_dataset_add_trusted(ds, &other, 2, &d), 0);
    assert_int_equal(nquads_dataset_count(ds), 2);
    nquads_dataset_destroy(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_byte_cap),    cmocka_unit_test(test_reset_reuse),
        cmocka_unit_test(test_append),      cmocka_unit_test(test_dataset_write),
        cmocka_unit_test(test_bound),       cmocka_unit_test(test_checks),
        cmocka_unit_test(test_add_trusted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
