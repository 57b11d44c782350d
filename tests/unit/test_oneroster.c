/*
 * Unit tests for oneroster: RFC 4180 records (quotes, "" escapes, line breaks inside quotes,
 * CRLF, LF, a lone CR, no final line end, a byte order mark), columns found by name, the
 * lenient cases with their warnings, and the refusals with their place.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oneroster.h"

static oneroster_t *parse(const char *classes, const char *users, const char *enroll,
                          const char *idcol, int want_rc, const char *want_field)
{
    oneroster_input_t in = {classes, strlen(classes), users, users ? strlen(users) : 0,
                            enroll,  strlen(enroll),  idcol};
    oneroster_t *r = NULL;
    err_detail_t d;
    err_clear(&d);
    int rc = oneroster_parse(&in, &r, &d);
    assert_int_equal(rc, want_rc);
    if (want_rc != 0) {
        assert_null(r);
        if (want_field)
            assert_string_equal(d.field, want_field);
        return NULL;
    }
    return r;
}

static bool has_warning(const oneroster_t *r, const char *s)
{
    for (size_t i = 0; i < r->n_warnings; i++)
        if (strstr(r->warnings[i], s))
            return true;
    return false;
}

static void test_rfc4180_records(void **state)
{
    (void)state;
    const char *classes = "\xEF\xBB\xBFtitle,x,sourcedId\r\n"
                          "\"A, \"\"quoted\"\"\",1,c1\r\n"
                          "\"two\nlines\",2,c2\r"
                          "plain,3,c3"; /* no final line end */
    const char *enroll = "userSourcedId,classSourcedId,role\n"
                         "u2,c1,student\n"
                         "u1,c1,student\n"
                         "u1,c1,student\n" /* twice: once */
                         "t,c1,teacher\n"
                         "u3,c3,aide\n";
    oneroster_t *r = parse(classes, NULL, enroll, NULL, 0, NULL);
    assert_int_equal(r->n_classes, 3);
    assert_string_equal(r->classes[0].id, "c1");
    assert_string_equal(r->classes[0].title, "A, \"quoted\"");
    assert_string_equal(r->classes[1].title, "two\nlines");
    assert_string_equal(r->classes[2].title, "plain");
    assert_int_equal(r->classes[0].n_learners, 2);
    assert_string_equal(r->classes[0].learners[0], "u1"); /* sorted */
    assert_string_equal(r->classes[0].learners[1], "u2");
    assert_int_equal(r->classes[0].n_teachers, 1);
    assert_int_equal(r->other_roles, 1);
    assert_int_equal(r->n_warnings, 0);
    oneroster_destroy(&r);
    assert_null(r);
}

static void test_lenient_with_warnings(void **state)
{
    (void)state;
    const char *classes = "sourcedId,status,title\n"
                          "c1,active,One\n"
                          "\n"
                          "c1,active,Again\n"
                          ",active,No id\n"
                          "c2,tobedeleted,Gone\n"
                          "c3\n";
    const char *users = "sourcedId,status,identifier,givenName\n"
                        "u1,active,s-1,Ann\n"
                        "u2,tobedeleted,s-2,Bo\n"
                        "u3,active,,Cy\n";
    const char *enroll = "classSourcedId,userSourcedId,role,status\n"
                         "c1,u1,student,active\n"
                         "c1,u2,student,active\n"
                         "c9,u1,student,active\n"
                         "c2,u1,student,active\n"
                         "c1,u1,student,tobedeleted,extra\n";
    oneroster_t *r = parse(classes, users, enroll, "identifier", 0, NULL);
    assert_int_equal(r->n_classes, 3); /* c1, c2 (to delete), c3 */
    assert_string_equal(r->classes[0].title, "One");
    assert_true(r->classes[1].deleted);
    assert_string_equal(r->classes[2].title, "c3"); /* no title: the id */
    assert_int_equal(r->classes[0].n_learners, 1);
    assert_string_equal(r->classes[0].learners[0], "s-1");
    assert_true(has_warning(r, "class 'c1' is listed twice"));
    assert_true(has_warning(r, "classes.csv:5: no sourcedId"));
    assert_true(has_warning(r, "classes.csv:7: 1 fields where the header has 3"));
    assert_true(has_warning(r, "users.csv:4: no identifier"));
    assert_true(has_warning(r, "enrollments.csv:3: user 'u2' is not in users.csv"));
    assert_true(has_warning(r, "enrollments.csv:4: class 'c9' is not in classes.csv"));
    assert_true(has_warning(r, "enrollments.csv:6: 5 fields where the header has 4"));
    oneroster_destroy(&r);
}

static void test_refusals_name_the_place(void **state)
{
    (void)state;
    const char *ok_enroll = "classSourcedId,userSourcedId,role\n";
    parse("sourcedId\nc1\n\"open\n", NULL, ok_enroll, NULL, ERR_INVALID, "classes.csv:3");
    parse("sourcedId\nc\"1\n", NULL, ok_enroll, NULL, ERR_INVALID, "classes.csv:2");
    parse("sourcedId\n\"c1\"x\n", NULL, ok_enroll, NULL, ERR_INVALID, "classes.csv:2");
    parse("title\nc1\n", NULL, ok_enroll, NULL, ERR_INVALID, "classes.csv");
    parse("sourcedId\n", NULL, "classSourcedId,role\n", NULL, ERR_INVALID, "enrollments.csv");
    parse("sourcedId\n\xC3(\n", NULL, ok_enroll, NULL, ERR_INVALID, "classes.csv");
    parse("", NULL, ok_enroll, NULL, ERR_INVALID, "classes.csv");
    parse("sourcedId\n", NULL, ok_enroll, "identifier", ERR_INVALID, "users.csv");
    parse("sourcedId\n", "sourcedId,username\n", ok_enroll, "identifier", ERR_INVALID, "users.csv");
    char *big = malloc(ONEROSTER_FIELD_MAX + 32);
    strcpy(big, "sourcedId\n");
    memset(big + 10, 'x', ONEROSTER_FIELD_MAX + 1);
    big[10 + ONEROSTER_FIELD_MAX + 1] = '\0';
    parse(big, NULL, ok_enroll, NULL, ERR_LIMIT, "classes.csv:2");
    free(big);
    oneroster_input_t in = {"a\0b", 3, NULL, 0, ok_enroll, strlen(ok_enroll), NULL};
    oneroster_t *r = NULL;
    err_detail_t d;
    assert_int_equal(oneroster_parse(&in, &r, &d), ERR_INVALID);
    assert_null(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4180_records),
        cmocka_unit_test(test_lenient_with_warnings),
        cmocka_unit_test(test_refusals_name_the_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
