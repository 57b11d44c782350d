/*
 * Unit tests for logref: the key file is created once (32 bytes, mode 0600) and read back
 * the same; a key others may read, or of the wrong size, is refused with the path named; the
 * reference is "L-" and 12 hex digits, the same for the same key and id, different for another
 * id or another key, and never contains the id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "logref.h"

static char dir[] = "/tmp/test_logref.XXXXXX";

static void path_of(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void test_create_then_read(void **state)
{
    (void)state;
    char path[128];
    path_of("k1", path, sizeof path);
    uint8_t a[LOGREF_KEY_LEN], b[LOGREF_KEY_LEN];
    err_detail_t d;
    assert_int_equal(logref_key_load(path, a, &d), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, LOGREF_KEY_LEN);
    assert_int_equal(logref_key_load(path, b, &d), 0);
    assert_memory_equal(a, b, sizeof a);
}

static void test_refused(void **state)
{
    (void)state;
    char path[128];
    uint8_t k[LOGREF_KEY_LEN];
    err_detail_t d;
    path_of("k2", path, sizeof path);
    assert_int_equal(logref_key_load(path, k, &d), 0);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(logref_key_load(path, k, &d), ERR_FORBIDDEN);
    assert_string_equal(d.field, path);
    assert_non_null(strstr(d.message, "0600"));
    path_of("short", path, sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("short", f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(logref_key_load(path, k, &d), ERR_INVALID);
    path_of("nodir/k", path, sizeof path);
    assert_int_equal(logref_key_load(path, k, &d), ERR_UNAVAILABLE);
}

static void test_reference(void **state)
{
    (void)state;
    uint8_t k1[LOGREF_KEY_LEN], k2[LOGREF_KEY_LEN];
    memset(k1, 1, sizeof k1);
    memset(k2, 2, sizeof k2);
    char a[LOGREF_LEN], b[LOGREF_LEN], c[LOGREF_LEN], e[LOGREF_LEN];
    logref_make(k1, "s-1001", a);
    logref_make(k1, "s-1001", b);
    logref_make(k1, "s-1002", c);
    logref_make(k2, "s-1001", e);
    assert_int_equal(strlen(a), LOGREF_LEN - 1);
    assert_memory_equal(a, "L-", 2);
    for (int i = 2; i < LOGREF_LEN - 1; i++)
        assert_non_null(strchr("0123456789abcdef", a[i]));
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, e);
    assert_null(strstr(a, "1001"));
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_then_read),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_reference),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
