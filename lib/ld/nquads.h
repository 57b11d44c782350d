/*
 * nquads: the RDF data model (terms, quads, a dataset) and N-Quads text I/O.
 *
 * The parser reads the W3C RDF 1.1 N-Quads grammar: IRIREF (with \u and \U escapes),
 * blank node labels (_:x, with the full PN_CHARS repertoire), string literals (ECHAR and UCHAR
 * escapes) with an optional @lang tag or ^^<datatype>, comments, blank lines, and either line
 * ending. Input must be UTF-8; anything else is refused. Errors name the place:
 * err_detail_t.field is "line 3 col 17" (line and column count from 1; the column counts
 * characters, not bytes).
 *
 * The writer produces canonical N-Quads as RDFC-1.0 requires: one space between terms,
 * " .\n" after each quad, IRIs written as they are (no escapes), xsd:string datatypes omitted,
 * and in literals only " \ LF CR (and BS, TAB, FF) as ECHAR escapes, the other control
 * characters (U+0000..U+001F, U+007F) as \u00XX with uppercase hex, everything else as UTF-8.
 *
 * A dataset is a set: adding a quad that is already present changes nothing. Strings are
 * stored with explicit lengths because a literal may contain U+0000; every stored string is
 * also NUL-terminated for convenience. A dataset's memory is bounded: at most max_quads quads
 * per add or parse, and its strings in an arena (arena.h) capped at a byte count chosen when
 * it is created; past either, adding fails with ERR_LIMIT.
 *
 * jsonld builds datasets directly (jsonld_to_dataset()), so canonicalization (rdfc.h) reads the
 * quads toRdf produced without a text round trip; the parser and writer serve test vectors,
 * N-Quads input and the text form of jsonld_to_rdf().
 *
 * Pure: no I/O. Not thread-safe per dataset (a dataset may be read from several threads once
 * nobody adds to it).
 */
#ifndef MASTERY_NQUADS_H
#define MASTERY_NQUADS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

#define NQUADS_XSD_STRING     "http://www.w3.org/2001/XMLSchema#string"
#define NQUADS_RDF_LANGSTRING "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

/* Defaults used when nquads_limits_t is NULL or a field is 0. */
#define NQUADS_DEFAULT_MAX_INPUT (16u * 1024u * 1024u) /* bytes of N-Quads text per parse */
#define NQUADS_DEFAULT_MAX_QUADS 200000u               /* quads in one dataset */
#define NQUADS_DEFAULT_MAX_BYTES (64u * 1024u * 1024u) /* bytes of strings in one dataset */

typedef enum nquads_kind {
    NQUADS_NONE = 0,    /* only for the graph name: the default graph */
    NQUADS_IRI = 1,     /* value is the IRI, without <> */
    NQUADS_BNODE = 2,   /* value is the label, without the _: prefix */
    NQUADS_LITERAL = 3, /* value is the lexical form (UTF-8, may contain U+0000) */
} nquads_kind_t;

/*
 * One RDF term. For a literal, datatype is NULL for a simple literal (xsd:string) and for a
 * language-tagged one (rdf:langString); lang is NULL unless the literal has a language tag.
 * The strings are borrowed from whoever made the term (the dataset: valid until
 * nquads_dataset_destroy()).
 */
typedef struct nquads_term {
    nquads_kind_t kind;
    const char *value;
    size_t value_len;
    const char *datatype; /* IRI without <>, or NULL */
    size_t datatype_len;
    const char *lang; /* the tag without '@', as written, or NULL */
    size_t lang_len;
} nquads_term_t;

/* One quad; g.kind == NQUADS_NONE means the default graph. */
typedef struct nquads_quad {
    nquads_term_t s, p, o, g;
} nquads_quad_t;

/* Bounds on one parse; a 0 field takes the default above. */
typedef struct nquads_limits {
    size_t max_input; /* bytes of text accepted by nquads_parse() */
    size_t max_quads; /* quads the dataset may hold after the parse */
} nquads_limits_t;

typedef struct nquads_dataset nquads_dataset_t;

/*
 * Creates an empty dataset whose strings may take NQUADS_DEFAULT_MAX_BYTES (enough for any
 * text of NQUADS_DEFAULT_MAX_INPUT bytes: a parsed string is never longer than its source).
 * Returns it, or NULL when out of memory.
 * Caller owns the result; free with nquads_dataset_destroy().
 */
nquads_dataset_t *nquads_dataset_new(void);

/*
 * Creates an empty dataset whose string storage (each string with its NUL, packed in chunks
 * of 8 KiB, slack included) may hold at most max_bytes (0: NQUADS_DEFAULT_MAX_BYTES; one
 * chunk is always allowed). Returns it, or NULL when out of memory.
 * Caller owns the result; free with nquads_dataset_destroy().
 */
nquads_dataset_t *nquads_dataset_new_limit(size_t max_bytes);

/*
 * Empties the dataset for reuse, keeping its allocations (but for a very large index, which
 * is freed). Every quad and string pointer obtained from it before becomes invalid.
 */
void nquads_dataset_reset(nquads_dataset_t *ds);

/* Frees the dataset and every string it holds, and sets *ds to NULL; NULL *ds is a no-op. */
void nquads_dataset_destroy(nquads_dataset_t **ds);

/*
 * Adds a copy of *q (the dataset copies every string; q stays the caller's). The quad is
 * checked: s must be an IRI or blank node, p an IRI, o any term, g none, an IRI or a blank
 * node; a literal whose datatype is xsd:string is stored with datatype NULL; a lang tag must
 * match [a-zA-Z]+(-[a-zA-Z0-9]+)*; every string must be valid UTF-8 (literals may hold U+0000).
 * A quad already present is not added again (returns 0).
 * @param[in] max_quads refuse with ERR_LIMIT when the dataset already holds this many distinct
 *            quads (0: NQUADS_DEFAULT_MAX_QUADS).
 * @return 0, ERR_INVALID (detail names the component), ERR_LIMIT (max_quads, or the strings
 *         would pass the dataset's byte cap; field "dataset") or ERR_NOMEM. On failure the
 *         dataset holds what it held before.
 */
int nquads_dataset_add(nquads_dataset_t *ds, const nquads_quad_t *q, size_t max_quads,
                       err_detail_t *detail);

/*
 * Like nquads_dataset_add(), without checking the terms: for a producer that already
 * guarantees each term is what nquads_dataset_add() accepts (jsonld checks each string once,
 * when it makes the term, with the two functions below; checking every quad again took a
 * fifth of toRdf). The xsd:string datatype is still dropped. A term that breaks the rules
 * makes a dataset whose canonical form no parser accepts.
 * @return 0, ERR_LIMIT or ERR_NOMEM, as nquads_dataset_add().
 */
int nquads_dataset_add_trusted(nquads_dataset_t *ds, const nquads_quad_t *q, size_t max_quads,
                               err_detail_t *detail);

/*
 * Whether s (len bytes) is an IRI a quad may hold: absolute (a scheme, then ':'), valid UTF-8,
 * and none of the characters IRIREF excludes (controls, space, <>"{}|^`\).
 */
bool nquads_iri_valid(const char *s, size_t len);

/* Whether s (len bytes) is valid UTF-8 (U+0000 allowed), as a lexical form must be. */
bool nquads_utf8_valid(const char *s, size_t len);

/* The number of distinct quads in the dataset. */
size_t nquads_dataset_count(const nquads_dataset_t *ds);

/*
 * The quad at index i (< count), in the order first added. Borrowed; the pointer and the
 * strings stay valid until nquads_dataset_destroy() (adding more quads may move the quad
 * array itself, so do not keep the quad pointer across nquads_dataset_add/parse).
 */
const nquads_quad_t *nquads_dataset_quad(const nquads_dataset_t *ds, size_t i);

/*
 * Parses N-Quads text (len bytes, need not be NUL-terminated) and adds every quad to ds.
 * @param[in] limits bounds (NULL: the defaults).
 * @return 0; ERR_INVALID with detail->field "line L col C" and a message naming what was
 *         expected; ERR_LIMIT when the text is longer than max_input (field "input") or the
 *         quads would exceed max_quads (field "line L", the line of the first quad too many);
 *         ERR_NOMEM.
 *         On failure ds keeps the quads of the lines before the bad one.
 */
int nquads_parse(nquads_dataset_t *ds, const char *text, size_t len, const nquads_limits_t *limits,
                 err_detail_t *detail);

/*
 * Writes the canonical N-Quads form of one term ("<iri>", "_:label", "\"lex\"@lang",
 * "\"lex\"^^<dt>") into dst: at most cap bytes, no NUL terminator added (dst may be NULL when
 * cap is 0). Returns the full length of the form, so a call with cap 0 measures it.
 * A NQUADS_NONE term writes nothing and returns 0.
 */
size_t nquads_term_write(const nquads_term_t *t, char *dst, size_t cap);

/*
 * Writes one quad as a canonical N-Quads line ("s p o [g] .\n") into dst, like
 * nquads_term_write(): at most cap bytes, returns the full length.
 */
size_t nquads_quad_write(const nquads_quad_t *q, char *dst, size_t cap);

/*
 * An upper bound of nquads_quad_write()'s length, in constant time (a literal's byte counts
 * as 6, its longest escape), for callers that keep a running bound and measure only near it.
 */
size_t nquads_quad_bound(const nquads_quad_t *q);

/*
 * Appends the canonical N-Quads form of one term (as nquads_term_write()) to b.
 * @param[in,out] b an initialised buffer; its max bounds the output.
 * @return 0; ERR_LIMIT (b's max) or ERR_NOMEM, and then b is as it was.
 */
int nquads_term_append(buf_t *b, const nquads_term_t *t);

/* Appends one quad as a canonical N-Quads line (as nquads_quad_write()) to b. As above. */
int nquads_quad_append(buf_t *b, const nquads_quad_t *q);

/*
 * Appends every quad of ds as canonical N-Quads lines, in the order the quads were first
 * added (not sorted; rdfc_canonicalize() produces the sorted canonical document).
 * @return 0; ERR_LIMIT (b's max) or ERR_NOMEM, and then b is as it was.
 */
int nquads_dataset_write(const nquads_dataset_t *ds, buf_t *b);

/*
 * Serializes the whole dataset as nquads_dataset_write() does, into a new buffer of exactly
 * the size needed.
 * @param[out] out a new NUL-terminated buffer: caller owns it, free with free().
 * @param[out] out_len its length without the NUL.
 * @return 0 or ERR_NOMEM.
 */
int nquads_dataset_serialize(const nquads_dataset_t *ds, char **out, size_t *out_len);

#endif
