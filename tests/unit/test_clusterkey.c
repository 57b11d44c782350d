/*
 * clusterkey: the key a cluster's nodes seal what they send through NATS with. Created once
 * (mode 0600), read back the same by every node sharing key_dir; a box opens only under the
 * same key and at the place it was sealed for; a key file others may read, or one that is not
 * 64 hex digits, is refused by name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clusterkey.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test-clusterkey-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, CLUSTERKEY_FILE);
    unlink(path);
    rmdir(dir);
    return 0;
}

static void write_key(const char *text, mode_t mode)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, CLUSTERKEY_FILE);
    unlink(path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static void test_created_once_and_shared(void **state)
{
    (void)state;
    clusterkey_t *a = NULL, *b = NULL;
    err_detail_t d;
    assert_int_equal(clusterkey_open(dir, &a, &d), 0); /* creates it */
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, CLUSTERKEY_FILE);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65);
    assert_int_equal(clusterkey_open(dir, &b, &d), 0); /* another node: the same key */
    const uint8_t msg[] = "learner s-1001 scored 0.9";
    uint8_t *box = NULL, *plain = NULL;
    size_t box_len, len;
    assert_int_equal(clusterkey_seal(a, "masteryd.ev.3", msg, sizeof msg, &box, &box_len), 0);
    assert_int_equal(box_len, sizeof msg + CLUSTERKEY_OVERHEAD);
    assert_null(memmem(box, box_len, "s-1001", 6)); /* sealed, not encoded */
    assert_int_equal(clusterkey_open_box(b, "masteryd.ev.3", box, box_len, &plain, &len), 0);
    assert_int_equal(len, sizeof msg);
    assert_memory_equal(plain, msg, sizeof msg);
    free(plain);
    /* moved to another partition's subject, or changed by one bit: refused */
    assert_int_equal(clusterkey_open_box(b, "masteryd.ev.4", box, box_len, &plain, &len),
                     ERR_DATA_LOSS);
    box[box_len / 2] ^= 1;
    assert_int_equal(clusterkey_open_box(b, "masteryd.ev.3", box, box_len, &plain, &len),
                     ERR_DATA_LOSS);
    assert_int_equal(clusterkey_open_box(b, "masteryd.ev.3", box, 10, &plain, &len), ERR_DATA_LOSS);
    free(box);
    /* two seals of the same bytes differ (a fresh nonce each) */
    uint8_t *b1, *b2;
    size_t l1, l2;
    assert_int_equal(clusterkey_seal(a, "x", msg, sizeof msg, &b1, &l1), 0);
    assert_int_equal(clusterkey_seal(a, "x", msg, sizeof msg, &b2, &l2), 0);
    assert_memory_not_equal(b1, b2, l1);
    free(b1);
    free(b2);
    clusterkey_destroy(&a);
    clusterkey_destroy(&b);
    assert_null(a);
    clusterkey_destroy(&a); /* NULL is fine */
}

static void test_another_key_does_not_open(void **state)
{
    (void)state;
    clusterkey_t *a = NULL, *b = NULL;
    err_detail_t d;
    write_key("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0600);
    assert_int_equal(clusterkey_open(dir, &a, &d), 0);
    write_key("ff112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0600);
    assert_int_equal(clusterkey_open(dir, &b, &d), 0);
    uint8_t *box, *plain;
    size_t box_len, len;
    assert_int_equal(clusterkey_seal(a, "s", (const uint8_t *)"hi", 2, &box, &box_len), 0);
    assert_int_equal(clusterkey_open_box(b, "s", box, box_len, &plain, &len), ERR_DATA_LOSS);
    free(box);
    clusterkey_destroy(&a);
    clusterkey_destroy(&b);
}

static void test_bad_files_refused(void **state)
{
    (void)state;
    clusterkey_t *k = NULL;
    err_detail_t d;
    write_key("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0644);
    assert_int_equal(clusterkey_open(dir, &k, &d), ERR_FORBIDDEN);
    assert_non_null(strstr(d.field, CLUSTERKEY_FILE));
    assert_null(k);
    write_key("not a key\n", 0600);
    assert_int_equal(clusterkey_open(dir, &k, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "64 hex"));
    write_key("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeffaa\n", 0600);
    assert_int_equal(clusterkey_open(dir, &k, &d), ERR_INVALID);
    assert_int_equal(clusterkey_open("/nonexistent/dir", &k, &d), ERR_UNAVAILABLE);
    assert_null(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_created_once_and_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_another_key_does_not_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
