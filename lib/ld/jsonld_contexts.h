/*
 * jsonld_contexts: the JSON-LD contexts masteryd knows, as static tables (internal to jsonld).
 *
 * The tables are generated (tests/tools/gen_jsonld_contexts.py) from the published context
 * documents and hold each local context as written: term definitions with their @id, @type and
 * @container as given, and scoped contexts as pointers to further tables. jsonld.c runs the
 * JSON-LD 1.1 context processing algorithm over them; nothing here is processed or fetched.
 * Identical scoped contexts share one table, so "the same scoped context" is pointer equality.
 *
 * All data is static and immutable: every pointer is valid for the life of the process.
 */
#ifndef MASTERY_JSONLD_CONTEXTS_H
#define MASTERY_JSONLD_CONTEXTS_H

#include <stddef.h>
#include <stdint.h>

/* @container values, as a bit set. */
enum {
    JSONLD_C_SET = 1,
    JSONLD_C_LIST = 2,
    JSONLD_C_GRAPH = 4,
    JSONLD_C_LANGUAGE = 8,
};

typedef struct jsonld_ctxdef jsonld_ctxdef_t;

/* One term definition as written in a local context. */
typedef struct jsonld_rawterm {
    const char *term;               /* the term */
    unsigned tid;                   /* its index in jsonld_universe */
    const char *id;                 /* @id as written; NULL if not given */
    const char *type;               /* @type as written; NULL if not given */
    unsigned container;             /* JSONLD_C_* bits; 0 if not given */
    const jsonld_ctxdef_t *context; /* scoped @context; NULL if none (or null, see below) */
    signed char protected_;         /* @protected: 1, 0, or -1 when not given */
    unsigned char simple;           /* written as a plain string ("term": "iri") */
    unsigned char context_null;     /* written as "@context": null */
} jsonld_rawterm_t;

/* One local context (a context document's @context object, or a scoped context). */
struct jsonld_ctxdef {
    const char *url;               /* the document URL; NULL for a scoped context */
    const char *vocab;             /* @vocab as written (NULL: null or not given) */
    unsigned char has_vocab;       /* whether @vocab is present (it may be null) */
    unsigned char protected_;      /* "@protected": true */
    const jsonld_rawterm_t *terms; /* sorted by term, bytewise */
    size_t nterms;
};

/* Every term any known context defines, sorted bytewise; the index is the term id. */
extern const char *const jsonld_universe[];
extern const size_t jsonld_universe_n;

/* The context documents, addressable by URL. */
extern const jsonld_ctxdef_t *const jsonld_known_contexts[];
extern const size_t jsonld_known_contexts_n;

/* Returns the term id of s[0..len) or -1 if no known context defines such a term. */
int jsonld_universe_find(const char *s, size_t len);

/* Returns the context document with URL url[0..len), or NULL if it is not known. */
const jsonld_ctxdef_t *jsonld_ctxdef_find(const char *url, size_t len);

#endif
