#include "isotime.h"

#include <stdbool.h>
#include <stdio.h>

#define MS_PER_DAY 86400000LL

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse: a day count since 1970-01-01 to year, month (1..12), day (1..31). */
static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t days_in_month(int64_t y, int64_t m)
{
    static const int8_t days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* A cursor over the input; every reader checks bounds and records the first failure. */
typedef struct cursor {
    const char *s;
    size_t len, pos;
    err_detail_t *detail;
    int rc;
} cursor_t;

static void cursor_fail(cursor_t *c, const char *what)
{
    if (c->rc != 0)
        return;
    c->rc = err_set(c->detail, ERR_INVALID, "observed_at",
                    "not an RFC 3339 timestamp: %s at offset %zu (want YYYY-MM-DDThh:mm:ssZ)", what,
                    c->pos);
}

/* Reads exactly n decimal digits (n <= 9) as a number in lo..hi. */
static int64_t read_num(cursor_t *c, size_t n, int64_t lo, int64_t hi, const char *what)
{
    if (c->rc != 0)
        return 0;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (c->pos >= c->len || c->s[c->pos] < '0' || c->s[c->pos] > '9') {
            cursor_fail(c, what);
            return 0;
        }
        v = v * 10 + (c->s[c->pos++] - '0');
    }
    if (v < lo || v > hi) {
        c->pos -= n;
        cursor_fail(c, what);
        return 0;
    }
    return v;
}

/* Consumes one character that must be one of the set; returns it, or 0 on failure. */
static char read_char(cursor_t *c, const char *set, const char *what)
{
    if (c->rc != 0)
        return 0;
    if (c->pos < c->len) {
        for (const char *p = set; *p != '\0'; p++) {
            if (c->s[c->pos] == *p) {
                c->pos++;
                return *p;
            }
        }
    }
    cursor_fail(c, what);
    return 0;
}

/* Optional ".f{1,9}" (more digits are refused as garbage); returns milliseconds, truncated. */
static int64_t read_fraction(cursor_t *c)
{
    if (c->rc != 0 || c->pos >= c->len || c->s[c->pos] != '.')
        return 0;
    c->pos++;
    int64_t ms = 0;
    size_t digits = 0;
    while (c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
        if (digits < 3)
            ms = ms * 10 + (c->s[c->pos] - '0');
        digits++;
        c->pos++;
        if (digits > 9) {
            cursor_fail(c, "more than 9 fractional digits");
            return 0;
        }
    }
    if (digits == 0) {
        cursor_fail(c, "a fraction without digits");
        return 0;
    }
    for (; digits < 3; digits++)
        ms *= 10;
    return ms;
}

/* "Z", "z" or "+hh:mm" / "-hh:mm"; returns the offset east of UTC in minutes. */
static int64_t read_offset(cursor_t *c)
{
    char sign = read_char(c, "Zz+-", "a missing or bad time zone (want Z or +hh:mm)");
    if (sign == 'Z' || sign == 'z' || c->rc != 0)
        return 0;
    int64_t hh = read_num(c, 2, 0, 23, "a bad offset hour");
    read_char(c, ":", "a bad offset (want +hh:mm)");
    int64_t mm = read_num(c, 2, 0, 59, "a bad offset minute");
    int64_t off = hh * 60 + mm;
    return sign == '-' ? -off : off;
}

int isotime_parse(const char *s, size_t len, int64_t *out_ms, err_detail_t *detail)
{
    if (s == NULL)
        return err_set(detail, ERR_INVALID, "observed_at", "no timestamp");
    cursor_t c = {.s = s, .len = len, .pos = 0, .detail = detail, .rc = 0};
    int64_t year = read_num(&c, 4, 0, 9999, "a bad year");
    read_char(&c, "-", "a bad date separator");
    int64_t month = read_num(&c, 2, 1, 12, "a bad month");
    read_char(&c, "-", "a bad date separator");
    size_t day_pos = c.pos;
    int64_t day = read_num(&c, 2, 1, 31, "a bad day");
    if (c.rc == 0 && day > days_in_month(year, month)) {
        c.pos = day_pos;
        cursor_fail(&c, "a day past the end of its month");
    }
    read_char(&c, "Tt", "a missing 'T' between date and time");
    int64_t hour = read_num(&c, 2, 0, 23, "a bad hour");
    read_char(&c, ":", "a bad time separator");
    int64_t minute = read_num(&c, 2, 0, 59, "a bad minute");
    read_char(&c, ":", "a bad time separator");
    int64_t second = read_num(&c, 2, 0, 60, "a bad second");
    int64_t frac = read_fraction(&c);
    int64_t offset = read_offset(&c);
    if (c.rc == 0 && c.pos != c.len)
        cursor_fail(&c, "trailing characters");
    if (c.rc != 0)
        return c.rc;

    int64_t ms = days_from_civil(year, month, day) * MS_PER_DAY +
                 ((hour * 60 + minute - offset) * 60 + second) * 1000 + frac;
    if (ms < ISOTIME_MIN_MS || ms > ISOTIME_MAX_MS)
        return err_set(detail, ERR_INVALID, "observed_at",
                       "timestamp outside years 0000..9999 once its offset is applied");
    *out_ms = ms;
    return 0;
}

/* Splits ms into civil fields, flooring (so negative instants land on the right day). */
static int format_common(int64_t ms, char *buf, size_t size, bool with_ms)
{
    if (buf != NULL && size > 0)
        buf[0] = '\0';
    if (ms < ISOTIME_MIN_MS || ms > ISOTIME_MAX_MS)
        return ERR_INVALID;
    int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY;
    if (rem < 0) {
        rem += MS_PER_DAY;
        days--;
    }
    int64_t y, m, d;
    civil_from_days(days, &y, &m, &d);
    int hh = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60), ss = (int)(rem / 1000 % 60);
    int milli = (int)(rem % 1000);
    int n;
    if (with_ms)
        n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, (int)m, (int)d, hh,
                     mi, ss, milli);
    else
        n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, (int)m, (int)d, hh, mi,
                     ss);
    if (n < 0 || (size_t)n >= size) {
        if (buf != NULL && size > 0)
            buf[0] = '\0';
        return ERR_LIMIT;
    }
    return 0;
}

int isotime_format_ms(int64_t ms, char *buf, size_t size)
{
    return format_common(ms, buf, size, true);
}

int isotime_format_s(int64_t ms, char *buf, size_t size)
{
    return format_common(ms, buf, size, false);
}
