/*
 * Unit tests for jsonseq: JSON lines, JSON arrays and xAPI StatementResults split into the
 * same items whether the input comes whole or a byte at a time; strings that contain
 * brackets, commas and escaped quotes; byte order marks; line numbers; over-long items;
 * broken arrays; a StatementResult's "more" link.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonseq.h"

/* What a whole run produced: "ITEM@line:text", "SKIPPED@line:why", "BROKEN@line:why", joined
 * by "|". */
typedef struct run {
    char out[4096];
    size_t used;
} run_t;

static void add(run_t *r, const char *kind, uint64_t line, const char *text, size_t len)
{
    int n = snprintf(r->out + r->used, sizeof r->out - r->used, "%s%s@%llu:%.*s",
                     r->used ? "|" : "", kind, (unsigned long long)line, (int)len, text);
    assert_true(n > 0 && (size_t)n < sizeof r->out - r->used);
    r->used += (size_t)n;
}

static void drain(jsonseq_t *p, run_t *r)
{
    for (;;) {
        const char *item = NULL, *why = NULL;
        size_t len = 0;
        uint64_t line = 0;
        int rc = jsonseq_next(p, &item, &len, &line, &why);
        if (rc == JSONSEQ_NEED)
            return;
        if (rc == JSONSEQ_ITEM)
            add(r, "ITEM", line, item, len);
        else
            add(r, rc == JSONSEQ_SKIPPED ? "SKIPPED" : "BROKEN", line, why, strlen(why));
    }
}

/* Splits text fed in pieces of `step` bytes (0: whole), then ended. */
static void split(const char *text, size_t len, size_t step, run_t *r, jsonseq_t **keep)
{
    memset(r, 0, sizeof *r);
    jsonseq_t *p = jsonseq_new();
    assert_non_null(p);
    if (step == 0)
        step = len ? len : 1;
    for (size_t i = 0; i < len; i += step) {
        size_t n = len - i < step ? len - i : step;
        assert_int_equal(jsonseq_feed(p, text + i, n), 0);
        drain(p, r);
    }
    jsonseq_end(p);
    drain(p, r);
    if (keep)
        *keep = p;
    else
        jsonseq_destroy(&p);
}

/* The same result whole, a byte at a time and in 7-byte pieces. */
static void expect(const char *text, const char *want)
{
    run_t r;
    static const size_t steps[] = {0, 1, 7};
    for (size_t k = 0; k < 3; k++) {
        split(text, strlen(text), steps[k], &r, NULL);
        if (strcmp(r.out, want) != 0)
            fail_msg("step %zu:\n got  %s\n want %s", steps[k], r.out, want);
    }
}

static void test_lines(void **state)
{
    (void)state;
    expect("{\"a\": 1}\n\n  {\"b\": [1,\n2]}  \r\n{\"c\": \"x\"}",
           "ITEM@1:{\"a\": 1}|ITEM@3:{\"b\": [1,|ITEM@4:2]}|ITEM@5:{\"c\": \"x\"}");
    expect("", "");
    expect("\n \n\t\n", "");
    /* an object that is not a StatementResult is a line like any other */
    expect("{\"statement\": [1]}\n{\"id\": 2}\n", "ITEM@1:{\"statement\": [1]}|ITEM@2:{\"id\": 2}");
    /* a byte order mark, split or not */
    expect("\xEF\xBB\xBF{\"id\": 1}\n", "ITEM@1:{\"id\": 1}");
    /* only as the very first bytes: later it is part of the text */
    expect(" \xEF\xBB\xBF[1]\n", "ITEM@1:\xEF\xBB\xBF[1]");
    jsonseq_t *p = NULL;
    run_t r;
    split("{\"id\": 1}\n", 10, 0, &r, &p);
    assert_true(jsonseq_is_lines(p));
    assert_string_equal(jsonseq_more(p), "");
    jsonseq_destroy(&p);
    assert_null(p);
}

static void test_arrays(void **state)
{
    (void)state;
    expect("[ {\"a\": \"x]}\\\",[\"}, 2 ,\n\"s,t\" , [1, [2]], {} ]",
           "ITEM@1:{\"a\": \"x]}\\\",[\"}|ITEM@1:2|ITEM@2:\"s,t\"|ITEM@2:[1, [2]]|ITEM@2:{}");
    expect("\xEF\xBB\xBF\n[\n{\"id\": 1},\n{\"id\": 2}\n]\n\n",
           "ITEM@3:{\"id\": 1}|ITEM@4:{\"id\": 2}");
    expect("[]", "");
    expect("[ ]  \n", "");
    /* an empty element is still an item: the caller finds it is not JSON */
    expect("[1,,2]", "ITEM@1:1|ITEM@1:|ITEM@1:2");
    jsonseq_t *p = NULL;
    run_t r;
    split("[1]", 3, 0, &r, &p);
    assert_false(jsonseq_is_lines(p));
    jsonseq_destroy(&p);
}

static void test_statement_result(void **state)
{
    (void)state;
    const char *sr = "{\n  \"statements\": [\n    {\"id\": \"a\"},\n    {\"id\": \"b\"}\n  ],\n"
                     "  \"more\": \"/xapi/statements?more=7\"\n}\n";
    expect(sr, "ITEM@3:{\"id\": \"a\"}|ITEM@4:{\"id\": \"b\"}");
    jsonseq_t *p = NULL;
    run_t r;
    split(sr, strlen(sr), 3, &r, &p);
    assert_string_equal(jsonseq_more(p), "/xapi/statements?more=7");
    jsonseq_destroy(&p);
    expect("{\"statements\":[{\"id\":\"a\"}],\"more\":\"\"}", "ITEM@1:{\"id\":\"a\"}");
    expect("{\"statements\": []}", "");
    expect("{\"statements\": [{\"id\": 1}]",
           "ITEM@1:{\"id\": 1}|BROKEN@1:the StatementResult object is not closed with }");
    expect("{\"statements\": [], \"more\": }",
           "BROKEN@1:the StatementResult does not end as a JSON object");
    expect("{\"statements\": [] } x", "BROKEN@1:the StatementResult does not end as a JSON object");
}

static void test_broken(void **state)
{
    (void)state;
    expect("[{\"id\": 1}, {\"id\": 2",
           "ITEM@1:{\"id\": 1}|BROKEN@1:the array is not closed with ]");
    expect("[1] [2]", "ITEM@1:1|BROKEN@1:text after the closing ] of the array");
    expect("[\"unterminated]", "BROKEN@1:the array is not closed with ]");
    /* after BROKEN nothing more comes out */
    jsonseq_t *p = NULL;
    run_t r;
    split("[1] x", 5, 0, &r, &p);
    assert_int_equal(jsonseq_feed(p, "[2]\n", 4), 0);
    const char *item, *why;
    size_t len;
    uint64_t line;
    assert_int_equal(jsonseq_next(p, &item, &len, &line, &why), JSONSEQ_NEED);
    jsonseq_destroy(&p);
}

static void test_limits(void **state)
{
    (void)state;
    /* a line over the limit is skipped and reported once; the next line still comes */
    size_t big = JSONSEQ_ITEM_MAX + 100;
    char *text = malloc(big + 64);
    assert_non_null(text);
    memcpy(text, "{\"id\": 0}\n", 10);
    memset(text + 10, 'x', big);
    memcpy(text + 10 + big, "\n{\"id\": 2}\n", 12);
    run_t r;
    split(text, strlen(text), 65536, &r, NULL);
    assert_string_equal(r.out,
                        "ITEM@1:{\"id\": 0}|SKIPPED@2:a line longer than 1 MiB|ITEM@3:{\"id\": "
                        "2}");
    split(text, strlen(text), 0, &r, NULL); /* fed whole: found at the newline */
    assert_string_equal(r.out,
                        "ITEM@1:{\"id\": 0}|SKIPPED@2:a line longer than 1 MiB|ITEM@3:{\"id\": "
                        "2}");
    /* an array element over the limit breaks the array */
    text[0] = '[';
    text[1] = '"';
    memset(text + 2, 'y', big);
    memcpy(text + 2 + big, "\"]", 3);
    split(text, strlen(text), 65536, &r, NULL);
    assert_string_equal(r.out, "BROKEN@1:an array element longer than 1 MiB");
    free(text);
    jsonseq_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_statement_result),
        cmocka_unit_test(test_broken),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
