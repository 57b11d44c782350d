/* Unit tests for auth: Z85, the clients file, key files. (The ZAP handler is exercised against
 * the real daemon in tests/integration/test_auth.py.) */
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

#include "auth.h"

/* ZeroMQ RFC 32 (Z85): the 8 bytes 86 4F D2 6F B5 59 F7 5B are "HelloWorld". */
static void test_z85_rfc_vector(void **state)
{
    (void)state;
    static const uint8_t hello[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    uint8_t key[AUTH_KEY_LEN];
    for (int i = 0; i < 4; i++)
        memcpy(key + 8 * i, hello, 8);
    char z85[AUTH_Z85_LEN + 1];
    curvekey_z85_encode(key, z85);
    assert_string_equal(z85, "HelloWorldHelloWorldHelloWorldHelloWorld");
    uint8_t back[AUTH_KEY_LEN];
    assert_int_equal(curvekey_z85_decode(z85, AUTH_Z85_LEN, back), 0);
    assert_memory_equal(back, key, AUTH_KEY_LEN);
}

static void test_z85_rejects(void **state)
{
    (void)state;
    uint8_t key[AUTH_KEY_LEN];
    /* wrong length, a character outside the alphabet, a group above 2^32-1 ("%nSc1") */
    assert_int_equal(curvekey_z85_decode("HelloWorld", 10, key), ERR_INVALID);
    assert_int_equal(curvekey_z85_decode("HelloWorldHelloWorldHelloWorldHelloWor\"d", 40, key),
                     ERR_INVALID);
    assert_int_equal(curvekey_z85_decode("#####HelloWorldHelloWorldHelloWorldHello", 40, key),
                     ERR_INVALID);
    assert_int_equal(curvekey_z85_decode("%nSc0HelloWorldHelloWorldHelloWorldHello", 40, key), 0);
    assert_int_equal(key[0], 0xff);
    assert_int_equal(key[3], 0xff);
}

/* Two fixed keys: 32 bytes of 0x01 and of 0x02, in Z85. */
static void fixed_keys(char a[AUTH_Z85_LEN + 1], char b[AUTH_Z85_LEN + 1])
{
    uint8_t k[AUTH_KEY_LEN];
    memset(k, 1, sizeof k);
    curvekey_z85_encode(k, a);
    memset(k, 2, sizeof k);
    curvekey_z85_encode(k, b);
}

static int parse(const char *text, auth_clients_t **out, err_detail_t *d)
{
    return auth_clients_parse(text, strlen(text), "clients", out, d);
}

static void test_clients_parse(void **state)
{
    (void)state;
    char a[AUTH_Z85_LEN + 1], b[AUTH_Z85_LEN + 1], text[1024];
    fixed_keys(a, b);
    snprintf(text, sizeof text,
             "# the school's clients\n"
             "\n"
             "%s   quizapp   tool  fractions,geometry   # two frameworks\n"
             "  %s\tms-lee teacher\r\n",
             b, a);
    auth_clients_t *c = NULL;
    err_detail_t d;
    assert_int_equal(parse(text, &c, &d), 0);
    assert_int_equal(auth_clients_count(c), 2);
    uint8_t k[AUTH_KEY_LEN];
    memset(k, 2, sizeof k);
    const auth_client_t *tool = auth_clients_find(c, k);
    assert_non_null(tool);
    assert_string_equal(tool->name, "quizapp");
    assert_int_equal(tool->role, AUTH_ROLE_TOOL);
    assert_int_equal(tool->line, 3);
    assert_int_equal(tool->n_frameworks, 2);
    assert_string_equal(tool->frameworks[1], "geometry");
    assert_true(auth_client_in_scope(tool, "fractions"));
    assert_false(auth_client_in_scope(tool, "fraction"));
    memset(k, 1, sizeof k);
    const auth_client_t *teacher = auth_clients_find(c, k);
    assert_non_null(teacher);
    assert_string_equal(teacher->name, "ms-lee");
    assert_int_equal(teacher->role, AUTH_ROLE_TEACHER);
    assert_false(auth_client_in_scope(teacher, "fractions")); /* only tools submit */
    memset(k, 3, sizeof k);
    assert_null(auth_clients_find(c, k));
    auth_clients_destroy(&c);
    assert_null(c);

    /* `*` is every framework; an empty file lists nobody */
    snprintf(text, sizeof text, "%s t tool *\n", a);
    assert_int_equal(parse(text, &c, &d), 0);
    assert_true(auth_client_in_scope(auth_clients_at(c, 0), "anything"));
    auth_clients_destroy(&c);
    /* A teacher scoped to classes; a teacher without them reads every learner. */
    snprintf(text, sizeof text, "%s t teacher class=7A,7B\n%s u teacher\n", a, b);
    assert_int_equal(parse(text, &c, &d), 0);
    const auth_client_t *t = auth_clients_find(c, auth_clients_at(c, 0)->key);
    for (size_t i = 0; i < 2; i++) {
        const auth_client_t *x = auth_clients_at(c, i);
        if (strcmp(x->name, "t") == 0) {
            assert_true(auth_client_class_scoped(x));
            assert_int_equal(x->n_groups, 2);
            assert_string_equal(x->groups[1], "7B");
        } else {
            assert_false(auth_client_class_scoped(x));
        }
    }
    assert_non_null(t);
    auth_clients_destroy(&c);
    assert_int_equal(parse("# nobody yet\n", &c, &d), 0);
    assert_int_equal(auth_clients_count(c), 0);
    auth_clients_destroy(&c);
}

/* Each bad line: the error names the line and what is wrong. */
static void test_clients_errors(void **state)
{
    (void)state;
    char a[AUTH_Z85_LEN + 1], b[AUTH_Z85_LEN + 1], text[1024];
    fixed_keys(a, b);
    struct {
        const char *fmt; /* %s: key a */
        const char *field;
        const char *needle;
    } cases[] = {
        {"%s quizapp tool\n", "clients:1", "a tool needs the frameworks"},
        {"# ok\n%s ms-lee teacher fractions\n", "clients:2", "only tools have frameworks"},
        {"%s ms-lee principal\n", "clients:1", "'principal' is not one of"},
        {"%s ms lee teacher\n", "clients:1", "role"},
        {"%s ms/lee teacher\n", "clients:1", "name: character 3"},
        {"%s\n", "clients:1", "expected: PUBLIC_KEY NAME ROLE"},
        {"#%s x teacher\n", "clients:1", "got 41"},
        {"%.39s x teacher\n", "clients:1", "got 39"},
        {"%s t tool a,,b\n", "clients:1", "id 2 is empty"},
        {"%s t tool *,a\n", "clients:1", "not allowed"},
        {"%s t tool a b\n", "clients:1", "unexpected text"},
        {"%s x admin\n%s y auditor\n", "clients:2", "listed twice (lines 1 and 2)"},
        {"%s t teacher class=\n", "clients:1", "give the class ids"},
        {"%s t teacher class=7A,,7B\n", "clients:1", "class: id 2 is empty"},
        {"%s t auditor class=7A\n", "clients:1", "only tools have frameworks"},
        {"%s t teacher class=7A x\n", "clients:1", "unexpected text"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(text, sizeof text, cases[i].fmt, a, a); /* the table's own formats */
#pragma GCC diagnostic pop
        auth_clients_t *c = (auth_clients_t *)1;
        err_detail_t d;
        assert_int_equal(parse(text, &c, &d), ERR_INVALID);
        assert_null(c);
        assert_string_equal(d.field, cases[i].field);
        if (strstr(d.message, cases[i].needle) == NULL)
            fail_msg("case %zu: '%s' does not contain '%s'", i, d.message, cases[i].needle);
    }
    /* a NUL byte inside the text */
    char nul[] = "# x\0y\n";
    auth_clients_t *c = NULL;
    err_detail_t d;
    assert_int_equal(auth_clients_parse(nul, sizeof nul - 1, "f", &c, &d), ERR_INVALID);
    assert_string_equal(d.field, "f:1");
}

static void test_key_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/test-auth-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], pub_path[300];
    snprintf(path, sizeof path, "%s/client.key", dir);
    snprintf(pub_path, sizeof pub_path, "%s.pub", path);
    char pub[AUTH_Z85_LEN + 1], derived[AUTH_Z85_LEN + 1];
    err_detail_t d;
    assert_int_equal(curvekey_pair_create(path, pub, &d), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(pub_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    /* never overwritten */
    assert_int_equal(curvekey_pair_create(path, NULL, &d), ERR_CONFLICT);

    uint8_t secret[AUTH_KEY_LEN], public_key[AUTH_KEY_LEN], from_pub[AUTH_KEY_LEN];
    assert_int_equal(curvekey_secret_read(path, secret, derived, &d), 0);
    assert_string_equal(derived, pub);
    assert_int_equal(curvekey_public_read(pub_path, from_pub, &d), 0);
    assert_int_equal(curvekey_z85_decode(pub, AUTH_Z85_LEN, public_key), 0);
    assert_memory_equal(from_pub, public_key, AUTH_KEY_LEN);

    /* readable by the group or others: refused, naming the mode */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(curvekey_secret_read(path, secret, NULL, &d), ERR_FORBIDDEN);
    assert_non_null(strstr(d.message, "640"));
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(curvekey_secret_read(path, secret, NULL, &d), ERR_FORBIDDEN);
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(curvekey_secret_read(path, secret, NULL, &d), 0);

    /* the clients file: writable by others is refused */
    char clients[256];
    snprintf(clients, sizeof clients, "%s/clients", dir);
    FILE *f = fopen(clients, "w");
    assert_non_null(f);
    fprintf(f, "%s quiz tool *\n", pub);
    fclose(f);
    assert_int_equal(chmod(clients, 0666), 0);
    auth_clients_t *c = NULL;
    assert_int_equal(auth_clients_load(clients, &c, &d), ERR_FORBIDDEN);
    assert_int_equal(chmod(clients, 0644), 0);
    assert_int_equal(auth_clients_load(clients, &c, &d), 0);
    assert_non_null(auth_clients_find(c, public_key));
    auth_clients_destroy(&c);
    assert_int_equal(auth_clients_load("/nonexistent/clients", &c, &d), ERR_NOT_FOUND);

    unlink(clients);
    unlink(path);
    unlink(pub_path);
    rmdir(dir);
}

static void test_roles_format(void **state)
{
    (void)state;
    char buf[64];
    auth_roles_format(AUTH_ROLE_TEACHER | AUTH_ROLE_AUDITOR, buf, sizeof buf);
    assert_string_equal(buf, "teacher, auditor");
    auth_roles_format(AUTH_ROLES_ALL, buf, 12);
    assert_string_equal(buf, "tool"); /* truncated to whole names */
    assert_string_equal(auth_role_name(AUTH_ROLE_ADMIN), "admin");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_z85_rfc_vector), cmocka_unit_test(test_z85_rejects),
        cmocka_unit_test(test_clients_parse),  cmocka_unit_test(test_clients_errors),
        cmocka_unit_test(test_key_files),      cmocka_unit_test(test_roles_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
