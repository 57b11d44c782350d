/* Unit tests for err: names and detail formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "err.h"

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(err_str(ERR_OK), "OK");
    assert_string_equal(err_str(ERR_INVALID), "INVALID");
    assert_string_equal(err_str(ERR_UNAVAILABLE), "UNAVAILABLE");
    assert_string_equal(err_str(12345), "UNKNOWN");
}

static void test_detail_truncates(void **state)
{
    (void)state;
    err_detail_t d;
    char longer[2000];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(err_set(&d, ERR_INVALID, "items[3].score", "score %s", longer), ERR_INVALID);
    assert_int_equal(d.code, ERR_INVALID);
    assert_string_equal(d.field, "items[3].score");
    assert_int_equal(strlen(d.message), sizeof d.message - 1);
    err_clear(&d);
    assert_int_equal(d.code, ERR_OK);
    assert_string_equal(d.field, "");
    assert_int_equal(err_set(NULL, ERR_NOT_FOUND, "x", "y"), ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_detail_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
