/*
 * jcs: the JSON Canonicalization Scheme (RFC 8785).
 *
 * Turns a jansson value into the one byte sequence RFC 8785 defines for it: no whitespace,
 * object members sorted by the UTF-16 code units of their names, strings with the minimal
 * escapes, numbers written the way ECMAScript's Number.prototype.toString writes them. The
 * signatures of eddsa-jcs-2022 proofs are computed over these bytes, so every byte matters.
 *
 * This is the one RFC 8785 number formatter and JSON writer of the tree: jsonld writes its
 * @json literals (and checks numbers) with it, so two formatters cannot disagree on a double
 * and change a signature.
 *
 * Pure: no I/O, no global state; safe to call from several threads at once on different
 * (or read-only shared) values.
 */
#ifndef MASTERY_JCS_H
#define MASTERY_JCS_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

/* Longest text jcs_format_number() writes, including the NUL ("-2.2250738585072014e-308"). */
#define JCS_NUMBER_MAX 32

/* Deepest nesting of arrays and objects the serialiser accepts. */
#define JCS_MAX_DEPTH 256

/* Largest canonical output jcs_serialize() produces (16 MiB). */
#define JCS_MAX_OUTPUT (16u * 1024u * 1024u)

/*
 * Serialises v canonically.
 * @param[in]  v   the value (any JSON type). Borrowed; not modified. Strings must be valid
 *                 UTF-8 (jansson guarantees it unless built with the _nocheck functions).
 *                 Integers (JSON_INTEGER) beyond +-2^53 are rounded to the nearest double,
 *                 as ECMAScript would.
 * @param[out] out the canonical bytes, NUL-terminated (the NUL is not counted in *len; the
 *                 bytes may contain NUL only inside escapes, so never raw). Caller owns the
 *                 result; free with free(). Untouched on failure.
 * @param[out] len the number of canonical bytes.
 * @param[out] d   optional detail (may be NULL).
 * @return 0; ERR_INVALID (a NaN or infinite number; field names where), ERR_LIMIT (nesting
 *         deeper than JCS_MAX_DEPTH or output beyond JCS_MAX_OUTPUT), ERR_NOMEM.
 */
int jcs_serialize(const json_t *v, char **out, size_t *len, err_detail_t *d);

/*
 * Appends the canonical form of v to b (for callers that reuse one buffer on a hot path).
 * @param[in]     v the value. Borrowed.
 * @param[in,out] b an initialised buffer; its max bounds the output. On failure b may hold a
 *                  partial serialisation after its previous contents: reset it before reuse.
 * @param[out]    d optional detail.
 * @return as jcs_serialize(); ERR_LIMIT also when b's max is reached.
 */
int jcs_serialize_buf(const json_t *v, buf_t *b, err_detail_t *d);

/*
 * As jcs_serialize_buf(), with a tighter bound on nesting: a value nested deeper than
 * max_depth levels (the top level is 0; values above JCS_MAX_DEPTH are lowered to it) fails
 * with ERR_LIMIT. For callers whose documents have a lower bound of their own (jsonld writes
 * @json literals with JSONLD_MAX_DEPTH).
 */
int jcs_serialize_buf_depth(const json_t *v, buf_t *b, int max_depth, err_detail_t *d);

/*
 * Compares two member names the way RFC 8785 sorts them: by their UTF-16 code units (which is
 * also how JavaScript compares strings). a and b are UTF-8 (alen and blen bytes; NUL bytes
 * allowed); the result is negative, 0 or positive like strcmp().
 */
int jcs_name_cmp(const char *a, size_t alen, const char *b, size_t blen);

/*
 * Writes a double the way ECMAScript's Number.prototype.toString does (ECMA-262 7.1.12.1):
 * the shortest digit string that reads back as the same double, in plain notation for
 * 1e-7 < |v| < 1e21 and as d.ddde+N / d.ddde-N otherwise; -0 is "0".
 * @param[in]  v   the number.
 * @param[out] out at least JCS_NUMBER_MAX bytes; receives NUL-terminated text.
 * @return the length of the text (> 0); ERR_INVALID for NaN and the infinities.
 */
int jcs_format_number(double v, char out[JCS_NUMBER_MAX]);

/*
 * Parses JSON text the way JCS needs it: any JSON value at the top level, duplicate member
 * names rejected, invalid UTF-8 and lone surrogates rejected, "\u0000" allowed in strings,
 * and every number read as an IEEE 754 double (so integers beyond 2^53 lose precision exactly
 * as in ECMAScript, which is what RFC 8785 specifies). Numbers too large for a double are
 * rejected, and so are member names containing "\u0000" (jansson cannot hold them).
 * @param[in]  text the JSON text (need not be NUL-terminated). Borrowed.
 * @param[in]  len  its length in bytes.
 * @param[out] out  the value. Caller owns the result; free with json_decref().
 * @param[out] d    optional detail: field "json", message with line, column and reason.
 * @return 0; ERR_INVALID (malformed; detail says where), ERR_NOMEM.
 */
int jcs_parse(const char *text, size_t len, json_t **out, err_detail_t *d);

#endif
