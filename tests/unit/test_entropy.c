/*
 * Unit tests for entropy: UUIDs have the version-4 and RFC 4122 variant bits and the 8-4-4-4-12
 * lower-case hex form; fills of any size succeed and do not repeat.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "entropy.h"

static void test_uuid4_form(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        char u[37], v[37];
        assert_int_equal(entropy_uuid4(u), 0);
        assert_int_equal(entropy_uuid4(v), 0);
        assert_int_equal(strlen(u), 36);
        assert_string_not_equal(u, v);
        for (int j = 0; j < 36; j++) {
            if (j == 8 || j == 13 || j == 18 || j == 23)
                assert_int_equal(u[j], '-');
            else
                assert_non_null(strchr("0123456789abcdef", u[j]));
        }
        assert_int_equal(u[14], '4');           /* version 4 */
        assert_non_null(strchr("89ab", u[19])); /* variant 10xx */
    }
}

static void test_fill(void **state)
{
    (void)state;
    uint8_t a[4096], b[4096], zero[4096] = {0};
    assert_int_equal(entropy_fill(a, sizeof a), 0);
    assert_int_equal(entropy_fill(b, sizeof b), 0);
    assert_memory_not_equal(a, b, sizeof a);
    assert_memory_not_equal(a, zero, sizeof a);
    assert_int_equal(entropy_fill(a, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid4_form),
        cmocka_unit_test(test_fill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
