/*
 * jsonld: JSON-LD 1.1 expansion and deserialization to RDF (toRdf), for the documents an Open
 * Badges 3.0 credential and its Data Integrity proof use. Pure: no I/O, no network.
 *
 * Contexts are never fetched. The known context URLs are compiled in (see jsonld_contexts.h):
 *   https://www.w3.org/ns/credentials/v2
 *   https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json
 *   https://purl.imsglobal.org/spec/ob/v3p0/extensions.json
 *   https://w3id.org/security/data-integrity/v2
 *   https://w3id.org/security/multikey/v1
 *   https://www.w3.org/ns/credentials/status/v1
 *   https://www.w3.org/ns/credentials/examples/v2   (W3C examples; the spec test vectors)
 *   https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json   (CLR 2.0 transcripts)
 *   https://w3id.org/citizenship/v4rc1              (W3C test vector "employ" only)
 * Any other context URL, and any inline context object, is ERR_INVALID naming it.
 *
 * Safe mode is always on: where JSON-LD would silently drop data, this module fails instead,
 * with an err_detail_t whose field is the JSON path ("credentialSubject.achievement.fooBar")
 * and whose message says what is wrong ("...: term not defined by the active context").
 * Refused: a key no context defines (and no @vocab covers), a relative IRI (there is no base),
 * null values, free-floating values, nodes that would produce no statement, lists of lists,
 * malformed language tags, blank-node predicates, and the keywords this subset does not
 * implement (@reverse, @nest, @included, @index, @direction, language maps with @none...).
 *
 * The output is an RDF dataset (nquads.h): duplicate quads removed, blank nodes labelled b0,
 * b1, ... in order of creation, language tags lowercased. jsonld_to_dataset() hands it over
 * as it is, for RDFC-1.0 canonicalization (eddsa-rdfc-2022) without a text round trip;
 * jsonld_to_rdf() writes it as N-Quads text: one quad per line ("<s> <p> <o> .\n" or with a
 * graph name), terms as canonical N-Quads (RDFC-1.0) writes them, in the order the quads were
 * produced (no particular order).
 *
 * Numbers follow JSON-LD toRdf on IEEE doubles (as a JavaScript processor sees them):
 * integral values below 1e21 are xsd:integer ("5"), others xsd:double ("5.5E0"). @json
 * literals are written in RFC 8785 (JCS) canonical form by jcs.h.
 *
 * Work is bounded: JSONLD_MAX_INPUT bytes of text, JSONLD_MAX_DEPTH levels of nesting (of
 * @json literals too), JSONLD_MAX_QUADS quads and JSONLD_MAX_OUTPUT bytes of output, counted
 * as N-Quads text whether or not the text is written (ERR_LIMIT beyond). Memory is bounded
 * with it: the processor's arenas, dataset and buffers are capped (arena.h, buf.h).
 *
 * A jsonld_t caches processed active contexts (per context URL list and per scoped-context
 * switch), so converting many documents that use the same contexts processes each context
 * once. It is not thread-safe: use one per thread.
 */
#ifndef MASTERY_JSONLD_H
#define MASTERY_JSONLD_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"
#include "nquads.h"

#define JSONLD_MAX_INPUT  (1u << 20)  /* bytes of JSON text */
#define JSONLD_MAX_DEPTH  64          /* nesting of JSON arrays and objects */
#define JSONLD_MAX_QUADS  100000      /* quads in one document's output */
#define JSONLD_MAX_OUTPUT (16u << 20) /* bytes of N-Quads output */

typedef struct jsonld jsonld_t;

/*
 * Creates a processor with an empty context cache.
 * @return the processor, or NULL if allocation failed.
 * Caller owns the result; free with jsonld_destroy().
 */
jsonld_t *jsonld_new(void);

/*
 * Frees a processor and everything it returned. Idempotent: sets *self_p to NULL; a NULL
 * self_p or *self_p does nothing.
 */
void jsonld_destroy(jsonld_t **self_p);

/*
 * Converts a JSON-LD document to N-Quads.
 * @param[in] self    the processor
 * @param[in] doc     the document (an object or an array of objects); borrowed, not modified
 * @param[out] nquads the N-Quads text, NUL-terminated (empty only on error). Borrowed; valid
 *                    until the next call on self or jsonld_destroy().
 * @param[out] len    its length in bytes (may be NULL)
 * @param[out] detail on failure, the JSON path and the reason (may be NULL)
 * @return 0; ERR_INVALID (not valid for this subset of JSON-LD, or data would be dropped);
 *         ERR_LIMIT (a bound above was reached); ERR_NOMEM.
 */
int jsonld_to_rdf(jsonld_t *self, const json_t *doc, const char **nquads, size_t *len,
                  err_detail_t *detail);

/*
 * Converts a JSON-LD document to an RDF dataset: the quads jsonld_to_rdf() would write, as
 * terms (strings with lengths), for rdfc_canonicalize().
 * @param[in]  self   the processor
 * @param[in]  doc    the document (an object or an array of objects); borrowed, not modified
 * @param[out] ds     the dataset; NULL on failure. Borrowed: owned by self, valid (and not
 *                    to be modified) until the next call on self or jsonld_destroy().
 * @param[out] detail on failure, the JSON path and the reason (may be NULL)
 * @return as jsonld_to_rdf().
 */
int jsonld_to_dataset(jsonld_t *self, const json_t *doc, const nquads_dataset_t **ds,
                      err_detail_t *detail);

/*
 * Same as jsonld_to_rdf() for JSON text (UTF-8, at most JSONLD_MAX_INPUT bytes). Duplicate
 * object keys are refused; every number is read as an IEEE double, as JavaScript reads it.
 * @param[in] json the text; borrowed, need not be NUL-terminated
 * @param[in] json_len its length in bytes
 * Other parameters, return values and lifetimes as jsonld_to_rdf(); ERR_INVALID also for
 * malformed JSON (detail names line and column).
 */
int jsonld_to_rdf_text(jsonld_t *self, const char *json, size_t json_len, const char **nquads,
                       size_t *len, err_detail_t *detail);

/* How a term is defined in an active context (see jsonld_term_info()). */
typedef struct jsonld_term_info {
    const char *iri;    /* the expanded IRI, or a keyword ("@id"); NULL if mapped to null */
    const char *type;   /* type mapping: "@id", "@vocab", "@json", an IRI; NULL if none */
    unsigned container; /* JSONLD_C_* bits from jsonld_contexts.h */
    int has_context;    /* 1 if the term has a scoped context (or "@context": null) */
    int is_protected;   /* 1 if the definition is protected */
} jsonld_term_info_t;

/*
 * Looks up a term in the active context obtained by processing the context URLs urls[0..n)
 * in order and then, if scope_type is not NULL, the type-scoped context of the term
 * scope_type (as for a node of that @type). For tests and diagnostics.
 * @param[out] info the definition; its strings are borrowed, valid until the next call on
 *                  self or jsonld_destroy()
 * @return 0; ERR_NOT_FOUND if the term is not defined; ERR_INVALID for an unknown URL, an
 *         undefined scope_type or a context processing error; ERR_NOMEM; ERR_LIMIT.
 */
int jsonld_term_info(jsonld_t *self, const char *const *urls, size_t n, const char *scope_type,
                     const char *term, jsonld_term_info_t *info, err_detail_t *detail);

#endif
