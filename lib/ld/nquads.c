/*
 * nquads: RDF terms, quads, datasets, and N-Quads text I/O. See nquads.h.
 */
#include "nquads.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* ---------------------------------------------------------------------------------------- */
/* Dataset storage: strings in a capped arena, the quad array, and a hash set for dedup.     */

struct nquads_dataset {
    nquads_quad_t *quads;
    size_t count, cap;
    arena_t *strings; /* every string of every quad, packed */
    size_t max_bytes;
    uint32_t *slots; /* open addressing: quad index + 1, 0 = empty */
    uint64_t *slot_hash;
    size_t nslots; /* power of two, or 0 */
};

#define CHUNK_MIN 8192u

/* Past this many slots a reset frees the index instead of clearing it. */
#define RESET_KEEP_SLOTS (1u << 14)

nquads_dataset_t *nquads_dataset_new_limit(size_t max_bytes)
{
    nquads_dataset_t *ds = calloc(1, sizeof *ds);
    if (ds == NULL)
        return NULL;
    ds->max_bytes = max_bytes ? max_bytes : NQUADS_DEFAULT_MAX_BYTES;
    ds->strings = arena_new_limit(CHUNK_MIN, ds->max_bytes);
    if (ds->strings == NULL) {
        free(ds);
        return NULL;
    }
    return ds;
}

nquads_dataset_t *nquads_dataset_new(void)
{
    return nquads_dataset_new_limit(0);
}

void nquads_dataset_destroy(nquads_dataset_t **ds)
{
    if (ds == NULL || *ds == NULL)
        return;
    nquads_dataset_t *d = *ds;
    arena_destroy(&d->strings);
    free(d->quads);
    free(d->slots);
    free(d->slot_hash);
    free(d);
    *ds = NULL;
}

void nquads_dataset_reset(nquads_dataset_t *ds)
{
    arena_reset(ds->strings);
    ds->count = 0;
    if (ds->nslots > RESET_KEEP_SLOTS) {
        /* One large document must not pin its index and quad array for good. */
        free(ds->slots);
        free(ds->slot_hash);
        free(ds->quads);
        ds->slots = NULL;
        ds->slot_hash = NULL;
        ds->quads = NULL;
        ds->nslots = ds->cap = 0;
    } else if (ds->slots != NULL) {
        memset(ds->slots, 0, ds->nslots * sizeof *ds->slots);
    }
}

size_t nquads_dataset_count(const nquads_dataset_t *ds)
{
    return ds->count;
}

const nquads_quad_t *nquads_dataset_quad(const nquads_dataset_t *ds, size_t i)
{
    return i < ds->count ? &ds->quads[i] : NULL;
}

/*
 * A fast non-cryptographic hash (8 bytes per step) for the dedup set. The last partial word
 * is read as one overlapping 8-byte load when the string is that long, or assembled in a
 * register: a byte-wise copy to the stack followed by a word load stalls store forwarding,
 * once per string, and that was most of this function's time.
 */
static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t n = len;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    if (n > 0 && len >= 8)
        memcpy(&w, p + n - 8, 8);
    else
        for (size_t i = 0; i < n; i++)
            w |= (uint64_t)p[i] << (8 * i);
    h = (h ^ w ^ ((uint64_t)len << 56)) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 32);
}

static uint64_t term_hash(uint64_t h, const nquads_term_t *t)
{
    /* The kind and which parts a literal has go into the seed: no pass of their own. */
    uint64_t tag = (uint64_t)t->kind | (t->datatype ? 0x100u : 0) | (t->lang ? 0x10000u : 0);
    h = fnv(h ^ (tag * 0xff51afd7ed558ccdull), t->value, t->value_len);
    if (t->datatype)
        h = fnv(h, t->datatype, t->datatype_len);
    if (t->lang)
        h = fnv(h, t->lang, t->lang_len);
    return h;
}

static uint64_t quad_hash(const nquads_quad_t *q)
{
    uint64_t h = 14695981039346656037ull;
    h = term_hash(h, &q->s);
    h = term_hash(h, &q->p);
    h = term_hash(h, &q->o);
    return term_hash(h, &q->g);
}

static bool str_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static bool term_eq(const nquads_term_t *a, const nquads_term_t *b)
{
    if (a->kind != b->kind || !str_eq(a->value, a->value_len, b->value, b->value_len))
        return false;
    if (a->kind != NQUADS_LITERAL)
        return true;
    if ((a->datatype == NULL) != (b->datatype == NULL) || (a->lang == NULL) != (b->lang == NULL))
        return false;
    if (a->datatype && !str_eq(a->datatype, a->datatype_len, b->datatype, b->datatype_len))
        return false;
    if (a->lang && !str_eq(a->lang, a->lang_len, b->lang, b->lang_len))
        return false;
    return true;
}

static bool quad_eq(const nquads_quad_t *a, const nquads_quad_t *b)
{
    return term_eq(&a->s, &b->s) && term_eq(&a->p, &b->p) && term_eq(&a->o, &b->o) &&
           term_eq(&a->g, &b->g);
}

/* Grows the hash set to hold at least 2 * (count + 1) slots. */
static int set_grow(nquads_dataset_t *ds)
{
    size_t n = ds->nslots ? ds->nslots * 2 : 64;
    uint32_t *slots = calloc(n, sizeof *slots);
    uint64_t *hashes = calloc(n, sizeof *hashes);
    if (slots == NULL || hashes == NULL) {
        free(slots);
        free(hashes);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < ds->nslots; i++) {
        if (ds->slots[i] == 0)
            continue;
        size_t j = (size_t)ds->slot_hash[i] & (n - 1);
        while (slots[j] != 0)
            j = (j + 1) & (n - 1);
        slots[j] = ds->slots[i];
        hashes[j] = ds->slot_hash[i];
    }
    free(ds->slots);
    free(ds->slot_hash);
    ds->slots = slots;
    ds->slot_hash = hashes;
    ds->nslots = n;
    return 0;
}

static const char *copy_str(nquads_dataset_t *ds, const char *s, size_t len)
{
    char *p = len < SIZE_MAX ? arena_alloc_packed(ds->strings, len + 1) : NULL;
    if (p == NULL)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* Copies src's strings into the dataset; 0 or -1 (arena_error() says why). */
static int copy_term(nquads_dataset_t *ds, nquads_term_t *dst, const nquads_term_t *src)
{
    *dst = *src;
    if (src->kind == NQUADS_NONE) {
        dst->value = "";
        dst->value_len = 0;
        dst->datatype = dst->lang = NULL;
        dst->datatype_len = dst->lang_len = 0;
        return 0;
    }
    if ((dst->value = copy_str(ds, src->value, src->value_len)) == NULL)
        return -1;
    if (src->kind != NQUADS_LITERAL) {
        dst->datatype = dst->lang = NULL;
        dst->datatype_len = dst->lang_len = 0;
        return 0;
    }
    if (src->datatype && (dst->datatype = copy_str(ds, src->datatype, src->datatype_len)) == NULL)
        return -1;
    if (src->lang && (dst->lang = copy_str(ds, src->lang, src->lang_len)) == NULL)
        return -1;
    return 0;
}

/* Drops an xsd:string datatype and the implied rdf:langString of a tagged literal. */
static void normalize_term(nquads_term_t *t)
{
    if (t->kind != NQUADS_LITERAL) {
        t->datatype = t->lang = NULL;
        t->datatype_len = t->lang_len = 0;
        return;
    }
    if (t->lang != NULL) {
        t->datatype = NULL;
        t->datatype_len = 0;
    } else if (t->datatype != NULL && str_eq(t->datatype, t->datatype_len, NQUADS_XSD_STRING,
                                             sizeof NQUADS_XSD_STRING - 1)) {
        t->datatype = NULL;
        t->datatype_len = 0;
    }
}

/* Adds without validating: the parser, jsonld and nquads_dataset_add() checked the terms. */
int nquads_dataset_add_trusted(nquads_dataset_t *ds, const nquads_quad_t *in, size_t max_quads,
                               err_detail_t *detail)
{
    nquads_quad_t q = *in;
    normalize_term(&q.s);
    normalize_term(&q.p);
    normalize_term(&q.o);
    normalize_term(&q.g);
    if (max_quads == 0)
        max_quads = NQUADS_DEFAULT_MAX_QUADS;
    if ((ds->count + 1) * 2 > ds->nslots) {
        int rc = set_grow(ds);
        if (rc != 0)
            return err_set(detail, rc, "dataset", "out of memory");
    }
    uint64_t h = quad_hash(&q);
    size_t mask = ds->nslots - 1, j = (size_t)h & mask;
    while (ds->slots[j] != 0) {
        if (ds->slot_hash[j] == h && quad_eq(&ds->quads[ds->slots[j] - 1], &q))
            return 0; /* already present: a dataset is a set */
        j = (j + 1) & mask;
    }
    if (ds->count >= max_quads || ds->count >= UINT32_MAX - 1)
        return err_set(detail, ERR_LIMIT, "dataset", "more than %zu quads", max_quads);
    if (ds->count == ds->cap) {
        size_t cap = ds->cap ? ds->cap * 2 : 64;
        nquads_quad_t *grown = realloc(ds->quads, cap * sizeof *grown);
        if (grown == NULL)
            return err_set(detail, ERR_NOMEM, "dataset", "out of memory");
        ds->quads = grown;
        ds->cap = cap;
    }
    nquads_quad_t *dst = &ds->quads[ds->count];
    if (copy_term(ds, &dst->s, &q.s) != 0 || copy_term(ds, &dst->p, &q.p) != 0 ||
        copy_term(ds, &dst->o, &q.o) != 0 || copy_term(ds, &dst->g, &q.g) != 0) {
        if (arena_error(ds->strings) == ERR_LIMIT)
            return err_set(detail, ERR_LIMIT, "dataset", "more than %zu bytes of strings",
                           ds->max_bytes);
        return err_set(detail, ERR_NOMEM, "dataset", "out of memory");
    }
    ds->slots[j] = (uint32_t)(ds->count + 1);
    ds->slot_hash[j] = h;
    ds->count++;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Character classes.                                                                       */

/* Decodes one UTF-8 sequence at s (n bytes available); returns its length, 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1Fu;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0Fu;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07u;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static bool is_pn_chars_base(uint32_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= 0xC0 && c <= 0xD6) ||
           (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x2FF) || (c >= 0x370 && c <= 0x37D) ||
           (c >= 0x37F && c <= 0x1FFF) || (c >= 0x200C && c <= 0x200D) ||
           (c >= 0x2070 && c <= 0x218F) || (c >= 0x2C00 && c <= 0x2FEF) ||
           (c >= 0x3001 && c <= 0xD7FF) || (c >= 0xF900 && c <= 0xFDCF) ||
           (c >= 0xFDF0 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0xEFFFF);
}

static bool is_pn_chars_u(uint32_t c)
{
    return is_pn_chars_base(c) || c == '_' || c == ':';
}

static bool is_pn_chars(uint32_t c)
{
    return is_pn_chars_u(c) || c == '-' || (c >= '0' && c <= '9') || c == 0xB7 ||
           (c >= 0x300 && c <= 0x36F) || (c >= 0x203F && c <= 0x2040);
}

/* Characters IRIREF excludes: controls and space, and <>"{}|^`\ . */
static bool iri_forbidden(uint32_t c)
{
    return c <= 0x20 || c == '<' || c == '>' || c == '"' || c == '{' || c == '}' || c == '|' ||
           c == '^' || c == '`' || c == '\\';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* An absolute IRI starts with a scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":". */
static bool has_scheme(const char *s, size_t len)
{
    if (len == 0 || !is_alpha((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ':')
            return true;
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
            return false;
    }
    return false;
}

/* ASCII bytes that stand for themselves inside an IRIREF (not <>"{}|^`\\, controls, space). */
static const uint64_t iri_plain_lo = 0xaffffffa00000000ull, iri_plain_hi = 0x47fffffeafffffffull;

static bool iri_plain(unsigned char c)
{
    return c < 64 ? (iri_plain_lo >> c) & 1 : c < 128 && ((iri_plain_hi >> (c - 64)) & 1);
}

/*
 * Every add checks its strings (jsonld builds quads from a caller's tree), so these run over
 * every byte of every quad: ASCII goes by table, eight bytes at a time where it can.
 */
bool nquads_iri_valid(const char *s, size_t len)
{
    if (!has_scheme(s, len))
        return false;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        if (c < 0x80) {
            if (!iri_plain(c) && c != 0x7F) /* DEL is allowed, but not "plain" to the parser */
                return false;
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = utf8_decode(u + i, len - i, &cp);
        if (n == 0) /* no code point from U+0080 up is forbidden */
            return false;
        i += n;
    }
    return true;
}

bool nquads_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint64_t w;
        if (len - i >= 8 && (memcpy(&w, u + i, 8), (w & 0x8080808080808080ull) == 0)) {
            i += 8;
            continue;
        }
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = utf8_decode(u + i, len - i, &cp);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

static bool valid_bnode_label(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len == 0 || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_decode(u + i, len - i, &cp);
        if (n == 0)
            return false;
        bool ok = i == 0 ? (is_pn_chars_u(cp) || (cp >= '0' && cp <= '9'))
                         : (is_pn_chars(cp) || cp == '.');
        if (!ok)
            return false;
        i += n;
    }
    return true;
}

static bool valid_lang(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && is_alpha((unsigned char)s[i]))
        i++;
    if (i == 0)
        return false;
    while (i < len) {
        if (s[i] != '-')
            return false;
        size_t start = ++i;
        while (i < len && (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i])))
            i++;
        if (i == start)
            return false;
    }
    return true;
}

static int check_term(const nquads_term_t *t, const char *name, int allowed, err_detail_t *d)
{
    if (t->kind < NQUADS_NONE || t->kind > NQUADS_LITERAL || !(allowed & (1 << t->kind)))
        return err_set(d, ERR_INVALID, name, "term kind %d not allowed here", (int)t->kind);
    if (t->kind == NQUADS_NONE)
        return 0;
    if (t->value == NULL && t->value_len != 0)
        return err_set(d, ERR_INVALID, name, "NULL value");
    switch (t->kind) {
    case NQUADS_IRI:
        if (!nquads_iri_valid(t->value, t->value_len))
            return err_set(d, ERR_INVALID, name, "not an absolute IRI (or invalid characters)");
        break;
    case NQUADS_BNODE:
        if (!valid_bnode_label(t->value, t->value_len))
            return err_set(d, ERR_INVALID, name, "invalid blank node label");
        break;
    case NQUADS_LITERAL:
        if (!nquads_utf8_valid(t->value, t->value_len))
            return err_set(d, ERR_INVALID, name, "lexical form is not valid UTF-8");
        if (t->datatype && !nquads_iri_valid(t->datatype, t->datatype_len))
            return err_set(d, ERR_INVALID, name, "datatype is not an absolute IRI");
        if (t->lang && !valid_lang(t->lang, t->lang_len))
            return err_set(d, ERR_INVALID, name, "invalid language tag");
        break;
    default:
        break;
    }
    return 0;
}

int nquads_dataset_add(nquads_dataset_t *ds, const nquads_quad_t *q, size_t max_quads,
                       err_detail_t *detail)
{
    const int resource = (1 << NQUADS_IRI) | (1 << NQUADS_BNODE);
    int rc;
    if ((rc = check_term(&q->s, "subject", resource, detail)) != 0 ||
        (rc = check_term(&q->p, "predicate", 1 << NQUADS_IRI, detail)) != 0 ||
        (rc = check_term(&q->o, "object", resource | (1 << NQUADS_LITERAL), detail)) != 0 ||
        (rc = check_term(&q->g, "graph", resource | (1 << NQUADS_NONE), detail)) != 0)
        return rc;
    return nquads_dataset_add_trusted(ds, q, max_quads, detail);
}

/* ---------------------------------------------------------------------------------------- */
/* Parser.                                                                                  */

typedef struct parser {
    const unsigned char *s;
    size_t len, pos;
    size_t line, line_start; /* current line number (from 1) and the offset it starts at */
    char *buf;               /* decoded strings of the current statement */
    size_t buf_len;
    err_detail_t *detail;
} parser_t;

/* Records ERR_INVALID at byte offset at (on the current line) with a message. */
static int perr(parser_t *p, size_t at, const char *msg)
{
    size_t col = 1;
    for (size_t i = p->line_start; i < at && i < p->len; i++)
        if ((p->s[i] & 0xC0) != 0x80)
            col++;
    char field[64];
    snprintf(field, sizeof field, "line %zu col %zu", p->line, col);
    return err_set(p->detail, ERR_INVALID, field, "%s", msg);
}

static void skip_ws(parser_t *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
        p->pos++;
}

static bool at_eol(const parser_t *p)
{
    return p->pos >= p->len || p->s[p->pos] == '\n' || p->s[p->pos] == '\r';
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads \uXXXX or \UXXXXXXXX at p->pos (pointing at the backslash) into *cp. */
static int read_uchar(parser_t *p, uint32_t *cp)
{
    size_t start = p->pos;
    size_t n = p->s[p->pos + 1] == 'u' ? 4 : 8;
    if (p->len - p->pos < 2 + n)
        return perr(p, start, "truncated \\u escape");
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int h = hexval(p->s[p->pos + 2 + i]);
        if (h < 0)
            return perr(p, start, "\\u or \\U escape needs hexadecimal digits");
        v = (v << 4) | (uint32_t)h;
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return perr(p, start, "escape is not a Unicode scalar value");
    p->pos += 2 + n;
    *cp = v;
    return 0;
}

/* Copies one raw UTF-8 character from the input to the buffer, validating it. */
static int copy_raw(parser_t *p, uint32_t *cp)
{
    size_t n = utf8_decode(p->s + p->pos, p->len - p->pos, cp);
    if (n == 0)
        return perr(p, p->pos, "invalid UTF-8");
    memcpy(p->buf + p->buf_len, p->s + p->pos, n);
    p->buf_len += n;
    p->pos += n;
    return 0;
}

/* Copies the run of plain ASCII bytes at the cursor in one go (the common case). */
static void copy_run(parser_t *p, bool literal)
{
    size_t i = p->pos;
    if (literal) {
        while (i < p->len) {
            unsigned char c = p->s[i];
            if (c >= 0x80 || c == '"' || c == '\\' || c == '\n' || c == '\r')
                break;
            i++;
        }
    } else {
        while (i < p->len && iri_plain(p->s[i]))
            i++;
    }
    memcpy(p->buf + p->buf_len, p->s + p->pos, i - p->pos);
    p->buf_len += i - p->pos;
    p->pos = i;
}

/* Parses IRIREF at '<'; the decoded IRI is at *off, *len in p->buf. */
static int parse_iri(parser_t *p, size_t *off, size_t *len)
{
    size_t start = p->pos;
    p->pos++; /* '<' */
    *off = p->buf_len;
    for (;;) {
        copy_run(p, false);
        if (p->pos >= p->len || p->s[p->pos] == '\n' || p->s[p->pos] == '\r')
            return perr(p, start, "unterminated IRI (missing '>')");
        unsigned char c = p->s[p->pos];
        if (c == '>') {
            p->pos++;
            break;
        }
        uint32_t cp;
        int rc;
        if (c == '\\') {
            if (p->pos + 1 >= p->len || (p->s[p->pos + 1] != 'u' && p->s[p->pos + 1] != 'U'))
                return perr(p, p->pos, "only \\u and \\U escapes are allowed in an IRI");
            size_t at = p->pos;
            if ((rc = read_uchar(p, &cp)) != 0)
                return rc;
            if (iri_forbidden(cp))
                return perr(p, at, "escape encodes a character not allowed in an IRI");
            p->buf_len += utf8_encode(cp, p->buf + p->buf_len);
        } else {
            size_t at = p->pos;
            if ((rc = copy_raw(p, &cp)) != 0)
                return rc;
            if (iri_forbidden(cp))
                return perr(p, at, "character not allowed in an IRI");
        }
    }
    *len = p->buf_len - *off;
    if (!has_scheme(p->buf + *off, *len))
        return perr(p, start, "IRI is not absolute (no scheme)");
    return 0;
}

/* Parses BLANK_NODE_LABEL at '_'; the label (without _:) is at *off, *len in p->buf. */
static int parse_bnode(parser_t *p, size_t *off, size_t *len)
{
    size_t start = p->pos;
    if (p->pos + 1 >= p->len || p->s[p->pos + 1] != ':')
        return perr(p, start, "expected '_:' for a blank node");
    p->pos += 2;
    *off = p->buf_len;
    size_t last_good = p->pos, buf_good = p->buf_len; /* after the last non-'.' character */
    bool first = true;
    while (p->pos < p->len) {
        uint32_t cp;
        size_t n = utf8_decode(p->s + p->pos, p->len - p->pos, &cp);
        if (n == 0)
            return perr(p, p->pos, "invalid UTF-8");
        bool ok = first ? (is_pn_chars_u(cp) || (cp >= '0' && cp <= '9'))
                        : (is_pn_chars(cp) || cp == '.');
        if (!ok)
            break;
        memcpy(p->buf + p->buf_len, p->s + p->pos, n);
        p->buf_len += n;
        p->pos += n;
        if (cp != '.') {
            last_good = p->pos;
            buf_good = p->buf_len;
        }
        first = false;
    }
    if (first)
        return perr(p, start, "empty or invalid blank node label");
    p->pos = last_good; /* a trailing '.' ends the statement, not the label */
    p->buf_len = buf_good;
    *len = p->buf_len - *off;
    return 0;
}

/* Parses a literal at '"': lexical form, datatype, lang at offs[0..2], lens[0..2] in p->buf. */
static int parse_literal(parser_t *p, size_t offs[3], size_t lens[3], bool *has_dt, bool *has_lang)
{
    size_t start = p->pos;
    p->pos++;
    offs[0] = p->buf_len;
    for (;;) {
        copy_run(p, true);
        if (p->pos >= p->len || p->s[p->pos] == '\n' || p->s[p->pos] == '\r')
            return perr(p, start, "unterminated string literal");
        unsigned char c = p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        uint32_t cp;
        int rc;
        if (c == '\\') {
            unsigned char e = p->pos + 1 < p->len ? p->s[p->pos + 1] : 0;
            char out = 0;
            switch (e) {
            case 't':
                out = '\t';
                break;
            case 'b':
                out = '\b';
                break;
            case 'n':
                out = '\n';
                break;
            case 'r':
                out = '\r';
                break;
            case 'f':
                out = '\f';
                break;
            case '"':
                out = '"';
                break;
            case '\'':
                out = '\'';
                break;
            case '\\':
                out = '\\';
                break;
            case 'u':
            case 'U':
                if ((rc = read_uchar(p, &cp)) != 0)
                    return rc;
                p->buf_len += utf8_encode(cp, p->buf + p->buf_len);
                continue;
            default:
                return perr(p, p->pos, "unknown escape in string literal");
            }
            p->buf[p->buf_len++] = out;
            p->pos += 2;
        } else if ((rc = copy_raw(p, &cp)) != 0) {
            return rc;
        }
    }
    lens[0] = p->buf_len - offs[0];
    *has_dt = *has_lang = false;
    if (p->pos < p->len && p->s[p->pos] == '@') {
        size_t at = p->pos++;
        offs[2] = p->buf_len;
        size_t i = p->pos;
        while (i < p->len && is_alpha(p->s[i]))
            i++;
        if (i == p->pos)
            return perr(p, at, "empty language tag");
        while (i < p->len && p->s[i] == '-') {
            size_t sub = ++i;
            while (i < p->len && (is_alpha(p->s[i]) || is_digit(p->s[i])))
                i++;
            if (i == sub)
                return perr(p, at, "empty language subtag");
        }
        memcpy(p->buf + p->buf_len, p->s + p->pos, i - p->pos);
        p->buf_len += i - p->pos;
        lens[2] = i - p->pos;
        p->pos = i;
        *has_lang = true;
    } else if (p->pos + 1 < p->len && p->s[p->pos] == '^' && p->s[p->pos + 1] == '^') {
        p->pos += 2;
        if (p->pos >= p->len || p->s[p->pos] != '<')
            return perr(p, p->pos, "expected '<' (datatype IRI) after '^^'");
        int rc = parse_iri(p, &offs[1], &lens[1]);
        if (rc != 0)
            return rc;
        *has_dt = true;
    } else if (p->pos < p->len && p->s[p->pos] == '^') {
        return perr(p, p->pos, "expected '^^' before a datatype IRI");
    }
    return 0;
}

typedef struct pterm {
    nquads_kind_t kind;
    size_t off[3], len[3];
    bool has_dt, has_lang;
} pterm_t;

/* Parses one term at the cursor; allowed is a bitmask of kinds; what names it in errors. */
static int parse_term(parser_t *p, pterm_t *t, int allowed, const char *what)
{
    char msg[96];
    unsigned char c = p->pos < p->len ? p->s[p->pos] : 0;
    memset(t, 0, sizeof *t);
    if (c == '<' && (allowed & (1 << NQUADS_IRI))) {
        t->kind = NQUADS_IRI;
        return parse_iri(p, &t->off[0], &t->len[0]);
    }
    if (c == '_' && (allowed & (1 << NQUADS_BNODE))) {
        t->kind = NQUADS_BNODE;
        return parse_bnode(p, &t->off[0], &t->len[0]);
    }
    if (c == '"' && (allowed & (1 << NQUADS_LITERAL))) {
        t->kind = NQUADS_LITERAL;
        return parse_literal(p, t->off, t->len, &t->has_dt, &t->has_lang);
    }
    snprintf(msg, sizeof msg, "expected %s", what);
    return perr(p, p->pos, msg);
}

static void pterm_resolve(const parser_t *p, const pterm_t *src, nquads_term_t *dst)
{
    memset(dst, 0, sizeof *dst);
    dst->kind = src->kind;
    if (src->kind == NQUADS_NONE) {
        dst->value = "";
        return;
    }
    dst->value = p->buf + src->off[0];
    dst->value_len = src->len[0];
    if (src->has_dt) {
        dst->datatype = p->buf + src->off[1];
        dst->datatype_len = src->len[1];
    }
    if (src->has_lang) {
        dst->lang = p->buf + src->off[2];
        dst->lang_len = src->len[2];
    }
}

/* Consumes one line ending (CR, LF or CRLF) and starts the next line. */
static void next_line(parser_t *p)
{
    if (p->s[p->pos] == '\r') {
        p->pos++;
        if (p->pos < p->len && p->s[p->pos] == '\n')
            p->pos++;
    } else {
        p->pos++;
    }
    p->line++;
    p->line_start = p->pos;
}

static void skip_comment(parser_t *p)
{
    while (p->pos < p->len && p->s[p->pos] != '\n' && p->s[p->pos] != '\r')
        p->pos++;
}

int nquads_parse(nquads_dataset_t *ds, const char *text, size_t len, const nquads_limits_t *limits,
                 err_detail_t *detail)
{
    size_t max_input = limits && limits->max_input ? limits->max_input : NQUADS_DEFAULT_MAX_INPUT;
    size_t max_quads = limits && limits->max_quads ? limits->max_quads : NQUADS_DEFAULT_MAX_QUADS;
    if (len > max_input)
        return err_set(detail, ERR_LIMIT, "input", "N-Quads text of %zu bytes exceeds %zu", len,
                       max_input);
    if (text == NULL && len != 0)
        return err_set(detail, ERR_INVALID, "input", "NULL text");
    int rc = 0;
    parser_t p = {.s = (const unsigned char *)text, .len = len, .line = 1, .detail = detail};
    /* Decoded text never outgrows its source, so one buffer of the input's size suffices. */
    p.buf = malloc(len + 8);
    if (p.buf == NULL)
        return err_set(detail, ERR_NOMEM, "input", "out of memory");
    const int resource = (1 << NQUADS_IRI) | (1 << NQUADS_BNODE);
    while (p.pos < p.len) {
        skip_ws(&p);
        if (p.pos < p.len && p.s[p.pos] == '#')
            skip_comment(&p);
        if (at_eol(&p)) {
            if (p.pos >= p.len)
                break;
            next_line(&p);
            continue;
        }
        pterm_t t[4];
        p.buf_len = 0;
        if ((rc = parse_term(&p, &t[0], resource, "a subject (IRI or blank node)")) != 0)
            goto out;
        skip_ws(&p);
        if ((rc = parse_term(&p, &t[1], 1 << NQUADS_IRI, "a predicate (IRI)")) != 0)
            goto out;
        skip_ws(&p);
        if ((rc = parse_term(&p, &t[2], resource | (1 << NQUADS_LITERAL),
                             "an object (IRI, blank node or literal)")) != 0)
            goto out;
        skip_ws(&p);
        memset(&t[3], 0, sizeof t[3]);
        if (p.pos < p.len && (p.s[p.pos] == '<' || p.s[p.pos] == '_')) {
            if ((rc = parse_term(&p, &t[3], resource, "a graph name")) != 0)
                goto out;
            skip_ws(&p);
        }
        if (p.pos >= p.len || p.s[p.pos] != '.') {
            rc = perr(&p, p.pos, "expected '.' to end the statement");
            goto out;
        }
        p.pos++;
        skip_ws(&p);
        if (p.pos < p.len && p.s[p.pos] == '#')
            skip_comment(&p);
        if (!at_eol(&p)) {
            rc = perr(&p, p.pos, "expected the end of the line after '.'");
            goto out;
        }
        nquads_quad_t q;
        pterm_resolve(&p, &t[0], &q.s);
        pterm_resolve(&p, &t[1], &q.p);
        pterm_resolve(&p, &t[2], &q.o);
        pterm_resolve(&p, &t[3], &q.g);
        if ((rc = nquads_dataset_add_trusted(ds, &q, max_quads, detail)) != 0) {
            if (detail != NULL)
                snprintf(detail->field, sizeof detail->field, "line %zu", p.line);
            goto out;
        }
    }
out:
    free(p.buf);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Writer.                                                                                  */

typedef struct out {
    char *dst;
    size_t cap, len;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->dst + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void put_escaped(out_t *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0; /* start of the pending unescaped run */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F)
            continue;
        put(o, s + run, i - run);
        run = i + 1;
        char e[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"':
            e[1] = '"';
            break;
        case '\\':
            e[1] = '\\';
            break;
        case '\n':
            e[1] = 'n';
            break;
        case '\r':
            e[1] = 'r';
            break;
        case '\t':
            e[1] = 't';
            break;
        case '\b':
            e[1] = 'b';
            break;
        case '\f':
            e[1] = 'f';
            break;
        default:
            e[1] = 'u';
            e[2] = '0';
            e[3] = '0';
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            elen = 6;
            break;
        }
        put(o, e, elen);
    }
    put(o, s + run, n - run);
}

static void put_term(out_t *o, const nquads_term_t *t)
{
    switch (t->kind) {
    case NQUADS_IRI:
        put(o, "<", 1);
        put(o, t->value, t->value_len);
        put(o, ">", 1);
        break;
    case NQUADS_BNODE:
        put(o, "_:", 2);
        put(o, t->value, t->value_len);
        break;
    case NQUADS_LITERAL:
        put(o, "\"", 1);
        put_escaped(o, t->value, t->value_len);
        put(o, "\"", 1);
        if (t->lang != NULL) {
            put(o, "@", 1);
            put(o, t->lang, t->lang_len);
        } else if (t->datatype != NULL && !str_eq(t->datatype, t->datatype_len, NQUADS_XSD_STRING,
                                                  sizeof NQUADS_XSD_STRING - 1)) {
            put(o, "^^<", 3);
            put(o, t->datatype, t->datatype_len);
            put(o, ">", 1);
        }
        break;
    default:
        break;
    }
}

static void put_quad(out_t *o, const nquads_quad_t *q)
{
    put_term(o, &q->s);
    put(o, " ", 1);
    put_term(o, &q->p);
    put(o, " ", 1);
    put_term(o, &q->o);
    if (q->g.kind != NQUADS_NONE) {
        put(o, " ", 1);
        put_term(o, &q->g);
    }
    put(o, " .\n", 3);
}

size_t nquads_term_write(const nquads_term_t *t, char *dst, size_t cap)
{
    out_t o = {dst, dst ? cap : 0, 0};
    put_term(&o, t);
    return o.len;
}

size_t nquads_quad_write(const nquads_quad_t *q, char *dst, size_t cap)
{
    out_t o = {dst, dst ? cap : 0, 0};
    put_quad(&o, q);
    return o.len;
}

/* a + b, or SIZE_MAX when it would wrap (a bound that no buffer can reserve). */
static size_t sat_add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* An upper bound of a term's written length: a literal byte takes at most 6 ("\u0001"). */
static size_t term_bound(const nquads_term_t *t)
{
    size_t v = t->kind == NQUADS_LITERAL
                   ? (t->value_len > SIZE_MAX / 6 ? SIZE_MAX : t->value_len * 6)
                   : t->value_len;
    return sat_add(sat_add(v, t->datatype_len), sat_add(t->lang_len, 8));
}

size_t nquads_quad_bound(const nquads_quad_t *q)
{
    return sat_add(sat_add(term_bound(&q->s), term_bound(&q->p)),
                   sat_add(term_bound(&q->o), term_bound(&q->g)));
}

/*
 * Writes a quad (or one term: q NULL) at the end of b. Reserving the bound first lets the
 * writer copy without a check per token, which is what rdfc's term cache and jsonld's text
 * output need; only near b's max is the exact length measured first.
 */
static int append(buf_t *b, const nquads_quad_t *q, const nquads_term_t *t)
{
    size_t bound = q == NULL ? term_bound(t) : nquads_quad_bound(q);
    int rc = buf_reserve(b, bound);
    if (rc == ERR_LIMIT)
        rc = buf_reserve(b,
                         q == NULL ? nquads_term_write(t, NULL, 0) : nquads_quad_write(q, NULL, 0));
    if (rc != 0)
        return rc;
    out_t o = {b->data + b->len, b->cap - b->len - 1, 0};
    if (q == NULL)
        put_term(&o, t);
    else
        put_quad(&o, q);
    b->len += o.len;
    b->data[b->len] = '\0';
    return 0;
}

int nquads_term_append(buf_t *b, const nquads_term_t *t)
{
    return append(b, NULL, t);
}

int nquads_quad_append(buf_t *b, const nquads_quad_t *q)
{
    return append(b, q, NULL);
}

int nquads_dataset_write(const nquads_dataset_t *ds, buf_t *b)
{
    size_t start = b->len;
    int rc = 0;
    for (size_t i = 0; i < ds->count && rc == 0; i++)
        rc = append(b, &ds->quads[i], NULL);
    if (rc != 0)
        buf_truncate(b, start);
    return rc;
}

int nquads_dataset_serialize(const nquads_dataset_t *ds, char **out, size_t *out_len)
{
    /* Measured first, so the text is allocated once, at its exact size. */
    size_t total = 0;
    for (size_t i = 0; i < ds->count; i++)
        total += nquads_quad_write(&ds->quads[i], NULL, 0);
    char *text = total < SIZE_MAX ? malloc(total + 1) : NULL;
    if (text == NULL)
        return ERR_NOMEM;
    size_t at = 0;
    for (size_t i = 0; i < ds->count; i++)
        at += nquads_quad_write(&ds->quads[i], text + at, total - at);
    text[at] = '\0';
    *out = text;
    *out_len = at;
    return 0;
}
