/*
 * isotime: RFC 3339 timestamps <-> Unix milliseconds. Pure: no I/O, no allocation, and no
 * dependence on the TZ environment or the C library's time zone tables (civil-date arithmetic
 * only, the proleptic Gregorian calendar, as timegm() would do it).
 *
 * Accepted input (RFC 3339 section 5.6, the ISO 8601 profile used on the internet):
 *
 *     YYYY-MM-DD('T'|'t')hh:mm:ss[.f{1,9}]('Z'|'z'|('+'|'-')hh:mm)
 *
 * with every field its exact number of digits, the day valid for its month and year (Feb 29
 * only in leap years), hh 00..23, mm 00..59, ss 00..60 (a leap second counts as the next
 * second, as POSIX time does), an offset of at most 23:59. Fractional digits beyond
 * milliseconds are truncated towards the past (".9999" is 999 ms). Anything else, including
 * leading or trailing spaces, is refused.
 */
#ifndef MASTERY_ISOTIME_H
#define MASTERY_ISOTIME_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Buffer size that holds any formatted timestamp with its NUL ("9999-12-31T23:59:59.999Z"). */
#define ISOTIME_BUFSZ 32

/* The range that formats: 0000-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z, in Unix ms. */
#define ISOTIME_MIN_MS (-62167219200000LL)
#define ISOTIME_MAX_MS (253402300799999LL)

/*
 * Parses an RFC 3339 date-time.
 * @param[in]  s       the text, len bytes; need not be NUL-terminated. Borrowed for the call.
 * @param[in]  len     its length in bytes.
 * @param[out] out_ms  on success, the instant as milliseconds since 1970-01-01T00:00:00Z.
 * @param[out] detail  on failure, what is wrong and where (may be NULL); field "observed_at".
 * @return 0, or ERR_INVALID when s is not a valid timestamp or the instant (after applying
 *         the offset) lies outside ISOTIME_MIN_MS..ISOTIME_MAX_MS. *out_ms is untouched then.
 */
int isotime_parse(const char *s, size_t len, int64_t *out_ms, err_detail_t *detail);

/*
 * Formats ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC, always three fractional digits).
 * @param[in]  ms   Unix milliseconds, ISOTIME_MIN_MS..ISOTIME_MAX_MS.
 * @param[out] buf  receives the NUL-terminated text; size bytes (ISOTIME_BUFSZ is enough).
 * @return 0; ERR_INVALID when ms is out of range; ERR_LIMIT when buf is too small (then buf
 *         holds "" if size > 0).
 */
int isotime_format_ms(int64_t ms, char *buf, size_t size);

/*
 * Formats ms as "YYYY-MM-DDTHH:MM:SSZ": whole seconds, the milliseconds dropped (floor, so
 * the result never lies after the instant). Parameters and errors as isotime_format_ms().
 */
int isotime_format_s(int64_t ms, char *buf, size_t size);

#endif
