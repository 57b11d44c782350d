/*
 * text: the UTF-8 checks the log's text formats share (signed notes, checkpoints, log entry
 * strings). Strict RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
 *
 * Pure; thread-safe.
 */
#ifndef MASTERY_TLOG_TEXT_H
#define MASTERY_TLOG_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Decodes the code point starting at s[*pos] (len bytes in all) and advances *pos past it.
 * @return the code point, or -1 for an invalid or truncated sequence (*pos unchanged).
 */
int32_t tlog_utf8_next(const char *s, size_t len, size_t *pos);

/* Whether s (len bytes) is valid UTF-8 (U+0000 allowed: callers refuse controls themselves). */
bool tlog_utf8_valid(const char *s, size_t len);

/* Whether c is a Unicode space (Go's unicode.IsSpace: ASCII blanks, U+0085, U+00A0, Zs, U+2028,
 * U+2029), which signed-note key names must not contain. */
bool tlog_is_space(int32_t c);

#endif
