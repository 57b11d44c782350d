#include "jcs.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One object member while its object is being written; the scratch array holds them. */
typedef struct member {
    const char *key;
    size_t key_len;
    const json_t *value;
} member_t;

typedef struct jcs_ctx {
    buf_t *out;
    member_t *members; /* a stack: each object pushes its members, sorts them, pops them */
    size_t n, cap;
    int max_depth;
    err_detail_t *d;
} jcs_ctx_t;

/* ---- numbers ------------------------------------------------------------------------------ */

/* Writes |v| with p significant digits; fills digits (no dot) and the decimal exponent. */
static int sci_digits(double v, int p, char *tmp, size_t tmp_cap, char digits[20], int *k, int *e10)
{
    int n = snprintf(tmp, tmp_cap, "%.*e", p - 1, v);
    if (n <= 0 || (size_t)n >= tmp_cap)
        return -1;
    int nd = 0;
    const char *c = tmp;
    for (; *c != 'e'; c++) {
        if (*c >= '0' && *c <= '9')
            digits[nd++] = *c;
    }
    c++;
    int sign = 1;
    if (*c == '-' || *c == '+')
        sign = *c++ == '-' ? -1 : 1;
    int e = 0;
    for (; *c >= '0' && *c <= '9'; c++)
        e = e * 10 + (*c - '0');
    *k = nd;
    *e10 = sign * e;
    return 0;
}

/* Reads back digits * 10^(e10 - k + 1) and says whether it is exactly v. */
static int digits_roundtrip(double v, const char *digits, int k, int e10)
{
    char tmp[48];
    int n = snprintf(tmp, sizeof tmp, "%.*se%d", k, digits, e10 - k + 1);
    if (n <= 0 || (size_t)n >= sizeof tmp)
        return 0;
    return strtod(tmp, NULL) == v;
}

/* Adds one unit in the last place of the digit string (carrying; 999 becomes 100, e10+1). */
static void digits_increment(char *digits, int *k, int *e10)
{
    int i = *k - 1;
    while (i >= 0 && digits[i] == '9')
        digits[i--] = '0';
    if (i >= 0) {
        digits[i]++;
        return;
    }
    digits[0] = '1';
    for (int j = 1; j < *k; j++)
        digits[j] = '0';
    (*e10)++;
}

/*
 * The shortest digit string s (k digits, decimal exponent e10 of the first digit) that reads
 * back as v > 0, finite; among equally short ones the closest to v (printf rounds correctly).
 */
static void shortest_digits(double v, char digits[20], int *k, int *e10)
{
    char tmp[48];
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    /* At a power of two the gap below v is half the gap above, so the nearest p-digit number
     * can miss while the next one up still reads back: search upwards, trying both. */
    int pow2 = (bits & 0xfffffffffffffull) == 0 && (bits >> 52 & 0x7ff) > 1;
    if (pow2) {
        for (int p = 1; p <= 17; p++) {
            sci_digits(v, p, tmp, sizeof tmp, digits, k, e10);
            if (digits_roundtrip(v, digits, *k, *e10))
                return;
            char up[20];
            int uk = *k, ue = *e10;
            memcpy(up, digits, sizeof up);
            digits_increment(up, &uk, &ue);
            if (digits_roundtrip(v, up, uk, ue)) {
                memcpy(digits, up, sizeof up);
                *k = uk;
                *e10 = ue;
                return;
            }
        }
    }
    /* Fast path for normal numbers. Every decimal of at most 15 significant digits survives
     * the trip through a double and back to 15 digits (DBL_DIG), so if the nearest 15-digit
     * decimal reads back as v, the shortest form is that decimal without its trailing zeros
     * (any shorter form, padded with zeros, would be that same 15-digit decimal). Otherwise
     * the answer has 16 or 17 digits, and away from powers of two the nearest one of a length
     * is the only candidate of that length. */
    if ((bits >> 52 & 0x7ff) != 0) {
        for (int p = 15; p <= 16; p++) {
            sci_digits(v, p, tmp, sizeof tmp, digits, k, e10);
            if (strtod(tmp, NULL) == v)
                return;
        }
        sci_digits(v, 17, tmp, sizeof tmp, digits, k, e10);
        return;
    }
    /* Subnormals have fewer digits of precision: "p digits read back" is still monotone in p
     * (the gaps are symmetric), so binary search; 17 always works. */
    int lo = 1, hi = 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        sci_digits(v, mid, tmp, sizeof tmp, digits, k, e10);
        if (digits_roundtrip(v, digits, *k, *e10))
            hi = mid;
        else
            lo = mid + 1;
    }
    sci_digits(v, lo, tmp, sizeof tmp, digits, k, e10);
}

static int write_u64(uint64_t u, char *out)
{
    char rev[24];
    int n = 0;
    do {
        rev[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    for (int i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    out[n] = '\0';
    return n;
}

int jcs_format_number(double v, char out[JCS_NUMBER_MAX])
{
    if (!isfinite(v))
        return ERR_INVALID;
    if (v == 0) {
        out[0] = '0';
        out[1] = '\0';
        return 1;
    }
    char *o = out;
    if (v < 0) {
        *o++ = '-';
        v = -v;
    }
    /* Integers below 2^53 are their own shortest form. */
    if (v < 9007199254740992.0 && v == floor(v))
        return (int)(o - out) + write_u64((uint64_t)v, o);

    char digits[20];
    int k, e10;
    shortest_digits(v, digits, &k, &e10);
    while (k > 1 && digits[k - 1] == '0')
        k--;
    int n = e10 + 1; /* ECMA-262: value = 0.digits * 10^n */
    if (k <= n && n <= 21) {
        memcpy(o, digits, (size_t)k);
        o += k;
        for (int i = 0; i < n - k; i++)
            *o++ = '0';
    } else if (0 < n && n <= 21) {
        memcpy(o, digits, (size_t)n);
        o += n;
        *o++ = '.';
        memcpy(o, digits + n, (size_t)(k - n));
        o += k - n;
    } else if (-6 < n && n <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -n; i++)
            *o++ = '0';
        memcpy(o, digits, (size_t)k);
        o += k;
    } else {
        *o++ = digits[0];
        if (k > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)(k - 1));
            o += k - 1;
        }
        *o++ = 'e';
        int e = n - 1;
        *o++ = e < 0 ? '-' : '+';
        o += write_u64((uint64_t)(e < 0 ? -e : e), o);
    }
    *o = '\0';
    return (int)(o - out);
}

/* ---- strings ------------------------------------------------------------------------------ */

/* For each byte: 0 copy as is; 'u' write \u00xx; otherwise the letter after the backslash. */
static const char escape_of[256] = {
    ['\b'] = 'b',  ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r', ['"'] = '"',
    ['\\'] = '\\', [0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u',
    [0x05] = 'u',  [0x06] = 'u', [0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u', [0x0f] = 'u',
    [0x10] = 'u',  [0x11] = 'u', [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u',
    [0x16] = 'u',  [0x17] = 'u', [0x18] = 'u', [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u',
    [0x1c] = 'u',  [0x1d] = 'u', [0x1e] = 'u', [0x1f] = 'u',
};

static int write_string(buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    /* Room for the common case (nothing to escape) in one reservation. */
    int rc = buf_reserve(b, len + 2);
    if (rc != 0)
        return rc;
    b->data[b->len++] = '"';
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char e = escape_of[c];
        if (e == 0)
            continue;
        if ((rc = buf_append(b, s + run, i - run)) != 0)
            return rc;
        run = i + 1;
        char esc[6] = {'\\', e, '0', '0', hex[c >> 4], hex[c & 15]};
        if ((rc = buf_append(b, esc, e == 'u' ? 6 : 2)) != 0)
            return rc;
    }
    if ((rc = buf_append(b, s + run, len - run)) != 0)
        return rc;
    return buf_append_byte(b, '"');
}

/* ---- objects ------------------------------------------------------------------------------ */

/*
 * Orders names by UTF-16 code units. UTF-8 byte order is code point order, which differs from
 * UTF-16 order only between a supplementary character (UTF-16 surrogates D800-DFFF, UTF-8 lead
 * byte F0-F4) and a BMP character from U+E000 up (UTF-8 lead byte EE or EF). At the first
 * differing byte both strings are at the same place in the same kind of sequence, so looking
 * at those two bytes is enough.
 */
int jcs_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] == y[i])
            continue;
        unsigned cx = x[i], cy = y[i];
        if (cx >= 0xf0 && (cy == 0xee || cy == 0xef))
            return -1;
        if (cy >= 0xf0 && (cx == 0xee || cx == 0xef))
            return 1;
        return cx < cy ? -1 : 1;
    }
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int member_cmp(const void *pa, const void *pb)
{
    const member_t *a = pa, *b = pb;
    return jcs_name_cmp(a->key, a->key_len, b->key, b->key_len);
}

static int write_value(jcs_ctx_t *c, const json_t *v, int depth);

static int write_object(jcs_ctx_t *c, const json_t *v, int depth)
{
    size_t count = json_object_size(v);
    size_t base = c->n;
    if (count > c->cap - c->n) {
        size_t cap = c->cap ? c->cap : 64;
        while (cap - c->n < count)
            cap *= 2;
        member_t *grown = realloc(c->members, cap * sizeof *grown);
        if (grown == NULL)
            return ERR_NOMEM;
        c->members = grown;
        c->cap = cap;
    }
    /* jansson's iterator takes a non-const object but does not modify it. */
    json_t *obj = (json_t *)(uintptr_t)v;
    for (void *it = json_object_iter(obj); it != NULL; it = json_object_iter_next(obj, it)) {
        member_t *m = &c->members[c->n++];
        m->key = json_object_iter_key(it);
        m->key_len = json_object_iter_key_len(it);
        m->value = json_object_iter_value(it);
    }
    count = c->n - base;
    if (count > 1)
        qsort(c->members + base, count, sizeof *c->members, member_cmp);
    int rc = buf_append_byte(c->out, '{');
    for (size_t i = 0; rc == 0 && i < count; i++) {
        /* Index, not pointer: nested objects may move the array. */
        const member_t m = c->members[base + i];
        if (i > 0 && (rc = buf_append_byte(c->out, ',')) != 0)
            break;
        if ((rc = write_string(c->out, m.key, m.key_len)) != 0)
            break;
        if ((rc = buf_append_byte(c->out, ':')) != 0)
            break;
        rc = write_value(c, m.value, depth + 1);
        if (rc == ERR_INVALID && c->d != NULL && c->d->field[0] == '\0')
            err_set(c->d, rc, "json", "member \"%.*s\": number is NaN or infinite",
                    (int)(m.key_len > 64 ? 64 : m.key_len), m.key);
    }
    if (rc == 0)
        rc = buf_append_byte(c->out, '}');
    c->n = base;
    return rc;
}

static int write_number(buf_t *b, double x)
{
    char tmp[JCS_NUMBER_MAX];
    int n = jcs_format_number(x, tmp);
    if (n < 0)
        return n;
    return buf_append(b, tmp, (size_t)n);
}

static int write_value(jcs_ctx_t *c, const json_t *v, int depth)
{
    if (depth > c->max_depth)
        return err_set(c->d, ERR_LIMIT, "json", "nesting deeper than %d levels", c->max_depth);
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return write_object(c, v, depth);
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        int rc = buf_append_byte(c->out, '[');
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (i > 0 && (rc = buf_append_byte(c->out, ',')) != 0)
                break;
            rc = write_value(c, json_array_get(v, i), depth + 1);
        }
        return rc == 0 ? buf_append_byte(c->out, ']') : rc;
    }
    case JSON_STRING:
        return write_string(c->out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        if (i >= -9007199254740992LL && i <= 9007199254740992LL) {
            char tmp[24];
            char *o = tmp;
            if (i < 0)
                *o++ = '-';
            o += write_u64((uint64_t)(i < 0 ? -i : i), o);
            return buf_append(c->out, tmp, (size_t)(o - tmp));
        }
        return write_number(c->out, (double)i);
    }
    case JSON_REAL:
        return write_number(c->out, json_real_value(v));
    case JSON_TRUE:
        return buf_append(c->out, "true", 4);
    case JSON_FALSE:
        return buf_append(c->out, "false", 5);
    case JSON_NULL:
        return buf_append(c->out, "null", 4);
    }
    return ERR_INTERNAL;
}

int jcs_serialize_buf_depth(const json_t *v, buf_t *b, int max_depth, err_detail_t *d)
{
    jcs_ctx_t c = {.out = b, .d = d};
    c.max_depth = max_depth < 0 ? 0 : max_depth > JCS_MAX_DEPTH ? JCS_MAX_DEPTH : max_depth;
    if (d != NULL)
        err_clear(d);
    int rc = write_value(&c, v, 0);
    free(c.members);
    if (rc == ERR_INVALID && d != NULL && d->code == 0)
        err_set(d, rc, "json", "number is NaN or infinite");
    else if (rc == ERR_LIMIT && d != NULL && d->code == 0)
        err_set(d, rc, "json", "canonical form longer than %zu bytes", b->max);
    else if (rc == ERR_NOMEM && d != NULL)
        err_set(d, rc, "json", "out of memory");
    return rc;
}

int jcs_serialize_buf(const json_t *v, buf_t *b, err_detail_t *d)
{
    return jcs_serialize_buf_depth(v, b, JCS_MAX_DEPTH, d);
}

int jcs_serialize(const json_t *v, char **out, size_t *len, err_detail_t *d)
{
    buf_t b;
    buf_init(&b, JCS_MAX_OUTPUT);
    int rc = jcs_serialize_buf(v, &b, d);
    if (rc == 0)
        rc = buf_detach(&b, out, len);
    buf_free(&b);
    return rc;
}

int jcs_parse(const char *text, size_t len, json_t **out, err_detail_t *d)
{
    json_error_t jerr;
    json_t *v = json_loadb(
        text, len,
        JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (v == NULL) {
        int code = json_error_code(&jerr) == json_error_out_of_memory ? ERR_NOMEM : ERR_INVALID;
        return err_set(d, code, "json", "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    }
    *out = v;
    return 0;
}
