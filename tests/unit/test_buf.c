/*
 * Unit tests for buf: appends up to the maximum and not one byte past it, the trailing NUL,
 * reuse after a reset, detaching, decimal numbers, truncation, and a maximum of SIZE_MAX.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

static void test_append_and_limit(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 8);
    assert_null(b.data);
    assert_int_equal(buf_append_str(&b, "abc"), 0);
    assert_int_equal(buf_append(&b, "de", 2), 0);
    assert_int_equal(buf_append_byte(&b, 'f'), 0);
    assert_int_equal(b.len, 6);
    assert_string_equal(b.data, "abcdef");
    /* Past the maximum: refused, and the buffer is unchanged. */
    assert_int_equal(buf_append(&b, "xyz", 3), ERR_LIMIT);
    assert_int_equal(b.len, 6);
    assert_string_equal(b.data, "abcdef");
    assert_int_equal(buf_append(&b, "gh", 2), 0);
    assert_int_equal(buf_append_byte(&b, 'i'), ERR_LIMIT);
    assert_int_equal(buf_reserve(&b, 1), ERR_LIMIT);
    assert_int_equal(buf_reserve(&b, SIZE_MAX), ERR_LIMIT);
    assert_string_equal(b.data, "abcdefgh");
    assert_true(b.cap <= 9); /* never allocates past max + the NUL */
    assert_int_equal(buf_append(&b, NULL, 0), 0);
    buf_free(&b);
    buf_free(&b); /* twice is fine */
    assert_null(b.data);
}

static void test_reset_detach(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_append_str(&b, "0123456789"), 0);
    assert_int_equal(b.len, 10000);
    size_t cap = b.cap;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(b.cap, cap); /* the allocation is kept */
    assert_int_equal(buf_append_str(&b, "again"), 0);
    char *out;
    size_t len;
    assert_int_equal(buf_detach(&b, &out, &len), 0);
    assert_string_equal(out, "again");
    assert_int_equal(len, 5);
    assert_null(b.data);
    free(out);
    /* Detaching an empty buffer gives an empty string. */
    assert_int_equal(buf_detach(&b, &out, &len), 0);
    assert_string_equal(out, "");
    assert_int_equal(len, 0);
    free(out);
    /* Reserving allocates; the contents (none) are still a NUL-terminated string. */
    assert_int_equal(buf_reserve(&b, 100), 0);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_detach(&b, &out, &len), 0);
    assert_string_equal(out, "");
    free(out);
    buf_init(&b, 0);
    assert_int_equal(buf_reserve(&b, 0), 0);
    assert_int_equal(buf_detach(&b, &out, &len), 0);
    assert_string_equal(out, "");
    free(out);
    buf_free_secure(&b);
}

static void test_uint_and_truncate(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 64);
    assert_int_equal(buf_append_uint(&b, 0), 0);
    assert_int_equal(buf_append_byte(&b, ' '), 0);
    assert_int_equal(buf_append_uint(&b, 1234567890), 0);
    assert_int_equal(buf_append_byte(&b, ' '), 0);
    assert_int_equal(buf_append_uint(&b, UINT64_MAX), 0);
    assert_string_equal(b.data, "0 1234567890 18446744073709551615");
    size_t mark = b.len;
    assert_int_equal(buf_append_str(&b, " tail"), 0);
    buf_truncate(&b, mark);
    assert_int_equal(b.len, mark);
    assert_string_equal(b.data, "0 1234567890 18446744073709551615");
    buf_truncate(&b, mark + 10); /* longer than the contents: nothing changes */
    assert_int_equal(b.len, mark);
    buf_truncate(&b, 1);
    assert_string_equal(b.data, "0");
    buf_free(&b);
    /* A number that does not fit is refused whole. */
    buf_init(&b, 3);
    assert_int_equal(buf_append_uint(&b, 12), 0);
    assert_int_equal(buf_append_uint(&b, 34), ERR_LIMIT);
    assert_string_equal(b.data, "12");
    buf_free(&b);
}

static void test_unbounded_max(void **state)
{
    (void)state;
    /* SIZE_MAX is lowered so that max + 1 (the NUL) cannot wrap to a zero-byte allocation. */
    buf_t b;
    buf_init(&b, SIZE_MAX);
    assert_int_equal(b.max, SIZE_MAX - 1);
    assert_int_equal(buf_append_str(&b, "fine"), 0);
    assert_string_equal(b.data, "fine");
    assert_int_equal(buf_reserve(&b, SIZE_MAX - 1), ERR_LIMIT);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_limit),
        cmocka_unit_test(test_reset_detach),
        cmocka_unit_test(test_uint_and_truncate),
        cmocka_unit_test(test_unbounded_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
