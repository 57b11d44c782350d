/* Unit tests for keyring: first start, reload, rotation, refusal of open permissions. */
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

#include "keyring.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/keyring-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    strcat(dir, "/keys");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strlen(dir) - 5), dir);
    return system(cmd);
}

static void test_first_start_reload_rotate(void **state)
{
    (void)state;
    keyring_t *kr = NULL;
    err_detail_t d;
    assert_int_equal(keyring_open(dir, 1000, &kr, &d), 0);
    assert_int_equal(keyring_count(kr), 2);
    keyring_entry_t *ed = keyring_current(kr, KEYS_ED25519), *rsa = keyring_current(kr, KEYS_RSA);
    assert_non_null(ed);
    assert_non_null(rsa);
    assert_true(keys_has_private(ed->key));
    char ed_id[KEYS_ID_MAX];
    strcpy(ed_id, ed->id);
    struct stat st;
    char path[256];
    snprintf(path, sizeof path, "%s/ed25519-1000.pem", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    keyring_destroy(&kr);
    assert_null(kr);

    /* Reopen: the same keys, not new ones. */
    assert_int_equal(keyring_open(dir, 2000, &kr, &d), 0);
    assert_int_equal(keyring_count(kr), 2);
    assert_string_equal(keyring_current(kr, KEYS_ED25519)->id, ed_id);

    /* Rotate: a new current pair; the old keys stay, not current. */
    assert_int_equal(keyring_rotate(kr, 3000, &d), 0);
    assert_int_equal(keyring_count(kr), 4);
    assert_string_not_equal(keyring_current(kr, KEYS_ED25519)->id, ed_id);
    keyring_entry_t *old = keyring_find(kr, ed_id);
    assert_non_null(old);
    assert_false(old->current);
    keyring_destroy(&kr);
    assert_int_equal(keyring_open(dir, 4000, &kr, &d), 0);
    assert_int_equal(keyring_count(kr), 4);
    assert_int_equal(keyring_current(kr, KEYS_ED25519)->created_at, 3000);
    keyring_destroy(&kr);
}

static void test_refuses_open_permissions(void **state)
{
    (void)state;
    keyring_t *kr = NULL;
    err_detail_t d;
    assert_int_equal(keyring_open(dir, 1000, &kr, &d), 0);
    keyring_destroy(&kr);
    char path[256];
    snprintf(path, sizeof path, "%s/ed25519-1000.pem", dir);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(keyring_open(dir, 1000, &kr, &d), ERR_FORBIDDEN);
    assert_null(kr);
    assert_non_null(strstr(d.message, "chmod"));
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(keyring_open(dir, 1000, &kr, &d), ERR_FORBIDDEN);
    assert_non_null(strstr(d.message, "chmod 700"));
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(keyring_open(dir, 1000, &kr, &d), 0);
    keyring_destroy(&kr);
}

static void test_malformed_registry(void **state)
{
    (void)state;
    keyring_t *kr = NULL;
    err_detail_t d;
    assert_int_equal(keyring_open(dir, 1000, &kr, &d), 0);
    keyring_destroy(&kr);
    char path[256];
    snprintf(path, sizeof path, "%s/keyring.json", dir);
    FILE *f = fopen(path, "w");
    fputs("[{\"alg\": \"Ed25519\", \"file\": \"../../etc/passwd\", \"created_ms\": 1, \"current\": "
          "true}]",
          f);
    fclose(f);
    assert_int_equal(keyring_open(dir, 1000, &kr, &d), ERR_INVALID);
    assert_null(kr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_start_reload_rotate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_open_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_registry, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
