/*
 * Unit tests for isotime. Expected instants were computed independently (Python's datetime
 * with explicit UTC offsets) and checked by hand for the simple ones (0, -1, leap days).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "isotime.h"

static int64_t parse_ok(const char *s)
{
    int64_t ms = 42;
    err_detail_t d;
    err_clear(&d);
    int rc = isotime_parse(s, strlen(s), &ms, &d);
    if (rc != 0)
        fail_msg("%s: %s", s, d.message);
    return ms;
}

static void assert_rejected(const char *s)
{
    int64_t ms = 42;
    err_detail_t d;
    err_clear(&d);
    if (isotime_parse(s, strlen(s), &ms, &d) != ERR_INVALID)
        fail_msg("accepted garbage: \"%s\"", s);
    assert_int_equal(ms, 42); /* untouched */
    assert_int_equal(d.code, ERR_INVALID);
    assert_string_equal(d.field, "observed_at");
    assert_true(strlen(d.message) > 0);
}

static void test_parse_utc(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("1970-01-01T00:00:01Z"), 1000);
    assert_int_equal(parse_ok("1970-01-02T00:00:00Z"), 86400000);
    assert_int_equal(parse_ok("2026-11-20T10:15:00Z"), 1795169700000LL);
    assert_int_equal(parse_ok("2026-11-20t10:15:00z"), 1795169700000LL);
    assert_int_equal(parse_ok("1969-12-31T23:59:59.999Z"), -1);
    assert_int_equal(parse_ok("1900-03-01T00:00:00Z"), -2203891200000LL);
    assert_int_equal(parse_ok("2100-02-28T23:59:59Z"), 4107542399000LL);
    assert_int_equal(parse_ok("0000-01-01T00:00:00Z"), ISOTIME_MIN_MS);
    assert_int_equal(parse_ok("9999-12-31T23:59:59.999Z"), ISOTIME_MAX_MS);
}

static void test_parse_leap_days_and_seconds(void **state)
{
    (void)state;
    /* 2000 is a leap year (divisible by 400); 2024 by 4. */
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z") + 86400000, parse_ok("2000-03-01T00:00:00Z"));
    assert_int_equal(parse_ok("2024-02-29T00:00:00Z") + 86400000, parse_ok("2024-03-01T00:00:00Z"));
    /* A leap second counts as the next second, as POSIX time does. */
    assert_int_equal(parse_ok("2016-12-31T23:59:60Z"), 1483228800000LL);
}

static void test_parse_offsets(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2000-02-29T12:00:00+01:00"), 951822000000LL);
    assert_int_equal(parse_ok("2024-03-10T04:05:06-05:30"), 1710063306000LL);
    assert_int_equal(parse_ok("2026-11-20T10:15:00+00:00"), parse_ok("2026-11-20T10:15:00Z"));
    assert_int_equal(parse_ok("2026-11-20T10:15:00-00:00"), parse_ok("2026-11-20T10:15:00Z"));
    /* Across midnight and the year boundary. */
    assert_int_equal(parse_ok("2026-12-31T23:30:00-01:00"), parse_ok("2027-01-01T00:30:00Z"));
    assert_int_equal(parse_ok("1970-01-01T00:00:00+23:59"), -(23 * 60 + 59) * 60000LL);
}

static void test_parse_fractions(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1970-01-01T00:00:00.5Z"), 500);
    assert_int_equal(parse_ok("1970-01-01T00:00:00.05Z"), 50);
    assert_int_equal(parse_ok("1970-01-01T00:00:00.123Z"), 123);
    assert_int_equal(parse_ok("1970-01-01T00:00:00.123456789Z"), 123);
    assert_int_equal(parse_ok("1970-01-01T00:00:00.9999Z"), 999); /* truncated, not rounded */
    assert_int_equal(parse_ok("1970-01-01T00:00:01.250+00:00"), 1250);
}

static void test_parse_rejects_garbage(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "2026",
        "2026-11-20",
        "2026-11-20T10:15:00",             /* no zone */
        "2026-11-20T10:15Z",               /* no seconds */
        "2026-11-20 10:15:00Z",            /* space instead of T */
        " 2026-11-20T10:15:00Z",           /* leading space */
        "2026-11-20T10:15:00Z ",           /* trailing space */
        "2026-11-20T10:15:00ZZ",           /* trailing garbage */
        "2026-1-20T10:15:00Z",             /* one-digit month */
        "2026-13-01T00:00:00Z",            /* month 13 */
        "2026-00-01T00:00:00Z",            /* month 0 */
        "2026-11-00T00:00:00Z",            /* day 0 */
        "2026-11-31T00:00:00Z",            /* November has 30 days */
        "2026-02-29T00:00:00Z",            /* not a leap year */
        "1900-02-29T00:00:00Z",            /* century, not a leap year */
        "2026-11-20T24:00:00Z",            /* hour 24 */
        "2026-11-20T10:60:00Z",            /* minute 60 */
        "2026-11-20T10:15:61Z",            /* second 61 */
        "2026-11-20T10:15:00.Z",           /* fraction without digits */
        "2026-11-20T10:15:00.1234567890Z", /* ten fractional digits */
        "2026-11-20T10:15:00+0100",        /* offset without colon */
        "2026-11-20T10:15:00+01",          /* offset without minutes */
        "2026-11-20T10:15:00+24:00",       /* offset hour 24 */
        "2026-11-20T10:15:00+01:60",       /* offset minute 60 */
        "2026-11-20T10:15:00UTC",
        "+2026-11-20T10:15:00Z",
        "-001-01-01T00:00:00Z",
        "2026/11/20T10:15:00Z",
        "0000-01-01T00:00:00+00:01", /* before year 0 once the offset applies */
        "9999-12-31T23:59:59-00:01", /* after year 9999 once the offset applies */
        "1795169700000",
        "not a time at all",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_rejected(bad[i]);
}

static void test_parse_honours_length(void **state)
{
    (void)state;
    /* Not NUL-terminated where it ends: only len bytes are read. */
    const char *s = "1970-01-01T00:00:01Zjunk";
    int64_t ms = 0;
    assert_int_equal(isotime_parse(s, 20, &ms, NULL), 0);
    assert_int_equal(ms, 1000);
    /* Cut short: refused, not read past. */
    assert_int_equal(isotime_parse(s, 19, &ms, NULL), ERR_INVALID);
    /* An embedded NUL is garbage. */
    assert_int_equal(isotime_parse("1970-01-01T00:00:01Z\0", 21, &ms, NULL), ERR_INVALID);
    assert_int_equal(isotime_parse(NULL, 0, &ms, NULL), ERR_INVALID);
}

static void test_error_names_the_position(void **state)
{
    (void)state;
    err_detail_t d;
    int64_t ms;
    assert_int_equal(isotime_parse("2026-11-31T00:00:00Z", 20, &ms, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "day past the end of its month"));
    assert_non_null(strstr(d.message, "offset 8"));
}

static void test_format(void **state)
{
    (void)state;
    char buf[ISOTIME_BUFSZ];
    assert_int_equal(isotime_format_ms(0, buf, sizeof buf), 0);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    assert_int_equal(isotime_format_ms(1795169700123LL, buf, sizeof buf), 0);
    assert_string_equal(buf, "2026-11-20T10:15:00.123Z");
    assert_int_equal(isotime_format_ms(-1, buf, sizeof buf), 0);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    assert_int_equal(isotime_format_ms(951782400000LL, buf, sizeof buf), 0);
    assert_string_equal(buf, "2000-02-29T00:00:00.000Z");
    assert_int_equal(isotime_format_ms(ISOTIME_MIN_MS, buf, sizeof buf), 0);
    assert_string_equal(buf, "0000-01-01T00:00:00.000Z");
    assert_int_equal(isotime_format_ms(ISOTIME_MAX_MS, buf, sizeof buf), 0);
    assert_string_equal(buf, "9999-12-31T23:59:59.999Z");

    assert_int_equal(isotime_format_s(1795169700999LL, buf, sizeof buf), 0);
    assert_string_equal(buf, "2026-11-20T10:15:00Z");
    assert_int_equal(isotime_format_s(-1, buf, sizeof buf), 0); /* floor, not towards zero */
    assert_string_equal(buf, "1969-12-31T23:59:59Z");
}

static void test_format_limits(void **state)
{
    (void)state;
    char buf[ISOTIME_BUFSZ];
    assert_int_equal(isotime_format_ms(ISOTIME_MAX_MS + 1, buf, sizeof buf), ERR_INVALID);
    assert_int_equal(isotime_format_ms(ISOTIME_MIN_MS - 1, buf, sizeof buf), ERR_INVALID);
    assert_int_equal(isotime_format_ms(INT64_MIN, buf, sizeof buf), ERR_INVALID);
    char small[24]; /* one short of the 24 characters plus NUL */
    assert_int_equal(isotime_format_ms(0, small, sizeof small), ERR_LIMIT);
    assert_string_equal(small, "");
    char exact[21];
    assert_int_equal(isotime_format_s(0, exact, sizeof exact), 0);
    assert_string_equal(exact, "1970-01-01T00:00:00Z");
}

static void test_round_trip(void **state)
{
    (void)state;
    /* Every 997th hour plus some odd milliseconds across 1900..2100: format then parse. */
    char buf[ISOTIME_BUFSZ];
    for (int64_t ms = -2208988800000LL; ms < 4102444800000LL; ms += 997LL * 3600000 + 4321) {
        assert_int_equal(isotime_format_ms(ms, buf, sizeof buf), 0);
        int64_t back = 0;
        assert_int_equal(isotime_parse(buf, strlen(buf), &back, NULL), 0);
        assert_int_equal(back, ms);
    }
}

static void test_no_timezone_dependence(void **state)
{
    (void)state;
    setenv("TZ", "America/St_Johns", 1);
    tzset();
    assert_int_equal(parse_ok("2026-07-01T12:00:00Z"), parse_ok("2026-07-01T08:00:00-04:00"));
    char buf[ISOTIME_BUFSZ];
    assert_int_equal(isotime_format_ms(0, buf, sizeof buf), 0);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    unsetenv("TZ");
    tzset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_utc),
        cmocka_unit_test(test_parse_leap_days_and_seconds),
        cmocka_unit_test(test_parse_offsets),
        cmocka_unit_test(test_parse_fractions),
        cmocka_unit_test(test_parse_rejects_garbage),
        cmocka_unit_test(test_parse_honours_length),
        cmocka_unit_test(test_error_names_the_position),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_limits),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_no_timezone_dependence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
