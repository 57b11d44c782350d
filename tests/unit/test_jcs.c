/* Unit tests for jcs: RFC 8785 vectors byte for byte, the ES6 number file, and edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jcs.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            data = realloc(data, cap + 1);
            assert_non_null(data);
        }
        size_t got = fread(data + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    data[n] = '\0';
    *len = n;
    return data;
}

/* Canonicalises text and returns the result (caller frees). */
static char *canon(const char *text, size_t *len)
{
    json_t *v = NULL;
    err_detail_t d;
    assert_int_equal(jcs_parse(text, strlen(text), &v, &d), 0);
    char *out = NULL;
    assert_int_equal(jcs_serialize(v, &out, len, &d), 0);
    json_decref(v);
    return out;
}

static void check_vector(const char *name)
{
    char path[512];
    size_t in_len, want_len, got_len;
    snprintf(path, sizeof path, "%s/jcs/input/%s", MASTERY_VECTORS, name);
    char *in = slurp(path, &in_len);
    snprintf(path, sizeof path, "%s/jcs/output/%s", MASTERY_VECTORS, name);
    char *want = slurp(path, &want_len);
    json_t *v = NULL;
    err_detail_t d;
    assert_int_equal(jcs_parse(in, in_len, &v, &d), 0);
    char *got = NULL;
    assert_int_equal(jcs_serialize(v, &got, &got_len, &d), 0);
    if (got_len != want_len || memcmp(got, want, got_len) != 0)
        fail_msg("%s: got %s want %s", name, got, want);
    /* Canonical form is a fixed point. */
    json_t *again = NULL;
    assert_int_equal(jcs_parse(got, got_len, &again, &d), 0);
    char *got2 = NULL;
    size_t got2_len;
    assert_int_equal(jcs_serialize(again, &got2, &got2_len, &d), 0);
    assert_int_equal(got2_len, got_len);
    assert_memory_equal(got2, got, got_len);
    free(got2);
    json_decref(again);
    free(got);
    json_decref(v);
    free(want);
    free(in);
}

static void test_rfc8785_vectors(void **state)
{
    (void)state;
    const char *names[] = {"arrays.json",  "french.json", "structures.json",
                           "unicode.json", "values.json", "weird.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        check_vector(names[i]);
}

static void test_es6_numbers(void **state)
{
    (void)state;
    char path[512];
    size_t len;
    snprintf(path, sizeof path, "%s/jcs/es6-numbers-first10k.txt", MASTERY_VECTORS);
    char *text = slurp(path, &len);
    int lines = 0, failures = 0;
    for (char *line = text, *next; *line != '\0'; line = next) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        next = nl + 1;
        char *comma = strchr(line, ',');
        assert_non_null(comma);
        *comma = '\0';
        uint64_t bits = strtoull(line, NULL, 16);
        double v;
        memcpy(&v, &bits, sizeof v);
        char got[JCS_NUMBER_MAX];
        int n = jcs_format_number(v, got);
        if (n < 0 || strcmp(got, comma + 1) != 0) {
            if (failures++ < 10)
                print_error("%s: got %s want %s\n", line, n < 0 ? "(error)" : got, comma + 1);
        } else {
            assert_int_equal((size_t)n, strlen(got));
        }
        lines++;
    }
    free(text);
    assert_int_equal(lines, 10000);
    assert_int_equal(failures, 0);
}

static void check_number(double v, const char *want)
{
    char got[JCS_NUMBER_MAX];
    int n = jcs_format_number(v, got);
    assert_true(n > 0);
    assert_string_equal(got, want);
}

static void test_number_layout(void **state)
{
    (void)state;
    check_number(-0.0, "0");
    check_number(1e21, "1e+21");
    check_number(1e20, "100000000000000000000");
    check_number(123456789012345680000.0, "123456789012345680000");
    check_number(1e-6, "0.000001");
    check_number(1e-7, "1e-7");
    check_number(1.5e-7, "1.5e-7");
    check_number(0.1, "0.1");
    check_number(-1.25, "-1.25");
    check_number(9007199254740993.0, "9007199254740992");
    check_number(1.7976931348623157e308, "1.7976931348623157e+308");
    check_number(5e-324, "5e-324");
    check_number(2.0, "2");
    char out[JCS_NUMBER_MAX];
    assert_int_equal(jcs_format_number(NAN, out), ERR_INVALID);
    assert_int_equal(jcs_format_number(INFINITY, out), ERR_INVALID);
    assert_int_equal(jcs_format_number(-INFINITY, out), ERR_INVALID);
}

static void test_utf16_order(void **state)
{
    (void)state;
    /* U+FFFD (EF BF BD) sorts after U+1F600 (F0 9F 98 80) in UTF-16 (D83D DE00 < FFFD),
     * although its UTF-8 bytes sort first; U+00E9 sorts before both. */
    size_t len;
    char *got = canon("{\"\\ufffd\":1,\"\\ud83d\\ude00\":2,\"\\u00e9\":3,\"z\":4,\"\":5}", &len);
    const char *want = "{\"\":5,\"z\":4,\"\xc3\xa9\":3,\"\xf0\x9f\x98\x80\":2,\"\xef\xbf\xbd\":1}";
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    free(got);
    /* A key that is a prefix of another sorts first. */
    got = canon("{\"ab\":1,\"a\":2}", &len);
    assert_string_equal(got, "{\"a\":2,\"ab\":1}");
    free(got);
}

static void test_string_escapes(void **state)
{
    (void)state;
    size_t len;
    char *got =
        canon("[\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f \\\"\\\\\\/\\u007f\\u2028\"]", &len);
    const char *want =
        "[\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f \\\"\\\\/\x7f\xe2\x80\xa8\"]";
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    free(got);
}

static void test_built_values(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:I,s:I,s:f,s:[b,n]}", "big", (json_int_t)9007199254740993LL, "neg",
                          (json_int_t)-42, "r", 100.0, "l", 1);
    assert_non_null(v);
    char *out = NULL;
    size_t len;
    err_detail_t d;
    assert_int_equal(jcs_serialize(v, &out, &len, &d), 0);
    assert_string_equal(out, "{\"big\":9007199254740992,\"l\":[true,null],\"neg\":-42,\"r\":100}");
    free(out);
    json_decref(v);

    /* jansson refuses NaN and infinities (json_real_set fails), so a tree never holds one;
     * jcs_format_number() rejects them (test_number_layout). */
    v = json_real(1.0);
    assert_int_equal(json_real_set(v, NAN), -1);
    json_decref(v);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"a\":1,\"a\":2}", /* duplicate name */
        "[\"\\ud800\"]",     /* lone surrogate */
        "[\"\xc3\x28\"]",    /* invalid UTF-8 */
        "[1e400]",           /* too large for a double */
        "[1,]",              /* trailing comma */
        "",                  /* empty */
        "[1] [2]",           /* trailing data */
        "{\"a\\u0000b\":1}", /* NUL in a member name */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *v = NULL;
        err_detail_t d;
        assert_int_equal(jcs_parse(bad[i], strlen(bad[i]), &v, &d), ERR_INVALID);
        assert_null(v);
        assert_string_equal(d.field, "json");
        assert_true(strlen(d.message) > 0);
    }
    /* Integers become doubles, exactly as ECMAScript reads them. */
    size_t len;
    char *got = canon("[9007199254740993, 1E2, -0, 0.0000001, 4.50]", &len);
    assert_string_equal(got, "[9007199254740992,100,0,1e-7,4.5]");
    free(got);
}

static void test_depth_limit(void **state)
{
    (void)state;
    json_t *root = json_array(), *cur = root;
    for (int i = 0; i < JCS_MAX_DEPTH + 5; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    char *out = NULL;
    size_t len;
    err_detail_t d;
    assert_int_equal(jcs_serialize(root, &out, &len, &d), ERR_LIMIT);
    assert_null(out);
    json_decref(root);
}

static void test_buffer_limit(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:s}", "key", "a fairly long string value");
    buf_t b;
    buf_init(&b, 10);
    err_detail_t d;
    assert_int_equal(jcs_serialize_buf(v, &b, &d), ERR_LIMIT);
    buf_free(&b);
    buf_init(&b, 1024);
    assert_int_equal(jcs_serialize_buf(v, &b, &d), 0);
    assert_string_equal(b.data, "{\"key\":\"a fairly long string value\"}");
    buf_free(&b);
    json_decref(v);
}

/*
 * Powers of two: the gap below is half the gap above, so the nearest 16-digit decimal may not
 * read back while the next one up does. A formatter that only tries the nearest one at each
 * length writes 17 digits here (jsonld had such a copy); ECMAScript writes the shortest.
 */
static void test_powers_of_two(void **state)
{
    (void)state;
    check_number(ldexp(1.0, -1017), "7.120236347223045e-307");
    check_number(-ldexp(1.0, -1007), "-7.291122019556398e-304");
    check_number(ldexp(1.0, -957), "8.209073602596753e-289");
    check_number(ldexp(1.0, -808), "5.858190679279809e-244");
    /* every power of two reads back, and no shorter digit string would */
    for (int e = -1074; e <= 1023; e++) {
        char got[JCS_NUMBER_MAX];
        double v = ldexp(1.0, e);
        assert_true(jcs_format_number(v, got) > 0);
        assert_true(strtod(got, NULL) == v);
    }
}

static void test_depth_param(void **state)
{
    (void)state;
    json_t *v = json_loads("[[[1]]]", 0, NULL); /* the innermost value is at depth 3 */
    assert_non_null(v);
    buf_t b;
    buf_init(&b, 1024);
    err_detail_t d;
    assert_int_equal(jcs_serialize_buf_depth(v, &b, 3, &d), 0);
    assert_string_equal(b.data, "[[[1]]]");
    buf_reset(&b);
    assert_int_equal(jcs_serialize_buf_depth(v, &b, 2, &d), ERR_LIMIT);
    assert_non_null(strstr(d.message, "deeper than 2"));
    buf_reset(&b);
    /* above JCS_MAX_DEPTH is lowered to it */
    assert_int_equal(jcs_serialize_buf_depth(v, &b, 1 << 30, &d), 0);
    buf_free(&b);
    json_decref(v);
}

static void test_name_cmp(void **state)
{
    (void)state;
    assert_true(jcs_name_cmp("a", 1, "b", 1) < 0);
    assert_true(jcs_name_cmp("b", 1, "a", 1) > 0);
    assert_int_equal(jcs_name_cmp("ab", 2, "ab", 2), 0);
    assert_true(jcs_name_cmp("a", 1, "ab", 2) < 0);
    assert_true(jcs_name_cmp("", 0, "a", 1) < 0);
    /* U+1F600 (F0..) before U+FFFD (EF..) in UTF-16, after it in bytes */
    assert_true(jcs_name_cmp("\xf0\x9f\x98\x80", 4, "\xef\xbf\xbd", 3) < 0);
    assert_true(jcs_name_cmp("\xef\xbf\xbd", 3, "\xf0\x9f\x98\x80", 4) > 0);
    /* below U+E000 the byte order holds: U+D7FF (ED 9F BF) before U+10000 */
    assert_true(jcs_name_cmp("\xed\x9f\xbf", 3, "\xf0\x90\x80\x80", 4) < 0);
    /* NUL bytes are compared like any other */
    assert_true(jcs_name_cmp("a\0b", 3, "a\0c", 3) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8785_vectors), cmocka_unit_test(test_es6_numbers),
        cmocka_unit_test(test_number_layout),   cmocka_unit_test(test_utf16_order),
        cmocka_unit_test(test_string_escapes),  cmocka_unit_test(test_built_values),
        cmocka_unit_test(test_parse_rejects),   cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_buffer_limit),    cmocka_unit_test(test_powers_of_two),
        cmocka_unit_test(test_depth_param),     cmocka_unit_test(test_name_cmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
