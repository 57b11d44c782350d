/*
 * jsonld: JSON-LD 1.1 expansion + toRdf for the Open Badges 3.0 context set (see jsonld.h).
 *
 * Expansion and deserialization run as one pass: instead of building the expanded document and
 * its node map, each node is expanded and its statements are added at once to an RDF dataset
 * (nquads.h), which is a set, so the result is the same set of quads; blank node labels only
 * need to be consistent. The dataset is what canonicalization reads (jsonld_to_dataset());
 * the N-Quads text of jsonld_to_rdf() is written from it.
 *
 * Memory comes from the base layer: two capped arenas (contexts, and the current document),
 * the dataset's own capped arena, and bounded buffers; @json literals are written by jcs.h,
 * so there is one RFC 8785 number formatter.
 *
 * Active contexts are interned: every active context is derived from its parent by one local
 * context (a context URL, a type-scoped or a property-scoped context) and cached on the parent
 * under that local context, so a document walks pointers after the first one. A term is looked
 * up by its id in the closed set of terms the known contexts define (jsonld_universe): an
 * active context is an array indexed by term id.
 */
#include "jsonld.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "jcs.h"
#include "jsonld_contexts.h"

#define RDF_TYPE    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
#define RDF_FIRST   "http://www.w3.org/1999/02/22-rdf-syntax-ns#first"
#define RDF_REST    "http://www.w3.org/1999/02/22-rdf-syntax-ns#rest"
#define RDF_NIL     "http://www.w3.org/1999/02/22-rdf-syntax-ns#nil"
#define RDF_JSON    "http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON"
#define XSD_STRING  "http://www.w3.org/2001/XMLSchema#string"
#define XSD_BOOLEAN "http://www.w3.org/2001/XMLSchema#boolean"
#define XSD_INTEGER "http://www.w3.org/2001/XMLSchema#integer"
#define XSD_DOUBLE  "http://www.w3.org/2001/XMLSchema#double"

#define MAX_CONTEXTS    2048 /* interned active contexts per processor */
#define ARENA_CHUNK     16384
#define CTX_ARENA_MAX   (32u << 20)
#define DOC_ARENA_MAX   (64u << 20)
#define MAX_LOCAL_TERMS 512 /* terms in one local context (static tables) */
/* The dataset's strings are at most the size of their text (JSONLD_MAX_OUTPUT); twice that
 * leaves room for the arena's slack at chunk ends. */
#define DATASET_MAX (2u * JSONLD_MAX_OUTPUT)

/* s1 then s2 as one NUL-terminated string in a (packed: text needs no alignment). */
static char *concat(arena_t *a, const char *s1, size_t n1, const char *s2, size_t n2)
{
    if (n1 > SIZE_MAX / 2 || n2 > SIZE_MAX / 2)
        return NULL;
    char *p = arena_alloc_packed(a, n1 + n2 + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s1, n1);
    if (n2)
        memcpy(p + n1, s2, n2);
    p[n1 + n2] = '\0';
    return p;
}

/* ------------------------------------------------------------------------------------------ */
/* Keywords.                                                                                  */

enum {
    KW_NONE_ = 0,
    KW_ID,
    KW_TYPE,
    KW_VALUE,
    KW_LANGUAGE,
    KW_LIST,
    KW_SET,
    KW_GRAPH,
    KW_CONTEXT,
    KW_JSON,
    KW_VOCAB,
    KW_NONE,
    KW_OTHER, /* a keyword this subset does not implement */
};

static const struct {
    const char *name;
    int kw;
} keywords[] = {
    {"@id", KW_ID},
    {"@type", KW_TYPE},
    {"@value", KW_VALUE},
    {"@language", KW_LANGUAGE},
    {"@list", KW_LIST},
    {"@set", KW_SET},
    {"@graph", KW_GRAPH},
    {"@context", KW_CONTEXT},
    {"@json", KW_JSON},
    {"@vocab", KW_VOCAB},
    {"@none", KW_NONE},
    {"@base", KW_OTHER},
    {"@container", KW_OTHER},
    {"@default", KW_OTHER},
    {"@direction", KW_OTHER},
    {"@embed", KW_OTHER},
    {"@explicit", KW_OTHER},
    {"@import", KW_OTHER},
    {"@included", KW_OTHER},
    {"@index", KW_OTHER},
    {"@nest", KW_OTHER},
    {"@omitDefault", KW_OTHER},
    {"@prefix", KW_OTHER},
    {"@preserve", KW_OTHER},
    {"@propagate", KW_OTHER},
    {"@protected", KW_OTHER},
    {"@requireAll", KW_OTHER},
    {"@reverse", KW_OTHER},
    {"@version", KW_OTHER},
};

static int kw_lookup(const char *s, size_t n)
{
    if (n < 2 || s[0] != '@')
        return 0;
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strlen(keywords[i].name) == n && memcmp(keywords[i].name, s, n) == 0)
            return keywords[i].kw;
    return 0;
}

static const char *kw_name(int kw)
{
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (keywords[i].kw == kw)
            return keywords[i].name;
    return "@?";
}

/* "@" followed by one or more ASCII letters: reserved for future keywords, ignored by JSON-LD. */
static int has_keyword_form(const char *s, size_t n)
{
    if (n < 2 || s[0] != '@')
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            return 0;
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Active contexts.                                                                           */

enum { T_NONE = 0, T_ID, T_VOCAB, T_JSON, T_IRI };

typedef struct tdef {
    const char *iri; /* expanded IRI or keyword name; NULL: the term maps to null */
    size_t iri_len;
    int kw;           /* keyword code when iri is a keyword */
    int tkind;        /* T_* */
    const char *tiri; /* type IRI when tkind is T_IRI */
    size_t tiri_len;
    unsigned container;
    const jsonld_ctxdef_t *scoped;
    int scoped_null;
    int prot, prefix;
    int nq_ok; /* iri is an absolute IRI that N-Quads can write: no need to check it again */
} tdef_t;

typedef struct actx actx_t;

typedef struct kid {
    const jsonld_ctxdef_t *local; /* NULL: the null context */
    unsigned flags;
    actx_t *child;
    struct kid *next;
} kid_t;

enum { DF_OVERRIDE = 1, DF_NOPROPAGATE = 2 };

struct actx {
    const tdef_t **terms; /* jsonld_universe_n entries */
    const char *vocab;
    size_t vocab_len;
    const actx_t *previous;
    int nprotected;
    kid_t *kids;
};

/* An IRI expansion result. */
enum { R_IRI = 1, R_BNODE, R_KEYWORD, R_NULL, R_IGNORED, R_RELATIVE };

typedef struct iri {
    int kind;
    int kw;
    const char *s;
    size_t len;
    const tdef_t *def; /* the term definition it came from, if any */
} iri_t;

/* ------------------------------------------------------------------------------------------ */
/* Processor state.                                                                           */

typedef struct pathseg {
    const char *key; /* NULL: array index */
    size_t keylen;
    size_t idx;
} pathseg_t;

/* A blank node label of the document and the label it was given ("b3"). */
typedef struct bnent {
    uint64_t hash;
    const char *label;
    size_t len;
    const char *ours;
    size_t ours_len;
} bnent_t;

#define USLOTS 2048 /* term index slots; at least twice the number of known terms */

typedef struct uslot {
    int16_t tid; /* -1: empty */
    uint16_t len;
    uint32_t hash;
} uslot_t;

struct jsonld {
    uslot_t uslots[USLOTS]; /* term name -> term id */
    size_t max_term_len;
    struct tcache {
        const char *ptr;
        size_t len;
        unsigned gen;
        int tid;
    } tcache[256]; /* term ids of the strings of the current document, by address */
    unsigned gen;
    arena_t *ca; /* active contexts and term definitions */
    size_t nctx;
    actx_t *root;
    arena_t *da;          /* per document */
    nquads_dataset_t *ds; /* the document's quads */
    size_t text_len;      /* bytes of their N-Quads text, or an upper bound (!text_exact) */
    int text_exact;
    buf_t out;  /* that text, when asked for */
    buf_t json; /* scratch for @json literals */
    bnent_t *bns;
    size_t nbns, bcap;
    unsigned nbn; /* blank nodes issued */
    pathseg_t path[JSONLD_MAX_DEPTH + 8];
    size_t depth;
    err_detail_t *d;
    jsonld_term_info_t info;
};

/* Terms are the dataset's: strings borrowed until the quad is added (the dataset copies). */
typedef nquads_term_t term_t;

#define IRI_TERM(lit) ((term_t){.kind = NQUADS_IRI, .value = (lit), .value_len = sizeof(lit) - 1})

static const term_t DEFAULT_GRAPH = {.kind = NQUADS_NONE, .value = ""};

/*
 * A word-at-a-time hash (the byte-at-a-time FNV loop was the hottest spot of emit()). The
 * last partial word is one overlapping load, or built in a register: copying it byte by byte
 * to the stack and loading it as a word stalled store forwarding on every call.
 */
static uint64_t hash64(const char *s, size_t n)
{
    size_t len = n;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n, w;
    while (n >= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    w = 0;
    if (n > 0 && len >= 8)
        memcpy(&w, s + n - 8, 8);
    else
        for (size_t i = 0; i < n; i++)
            w |= (uint64_t)(unsigned char)s[i] << (8 * i);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return h;
}

/* Records an error naming the current JSON path. Returns code. */
static int fail(jsonld_t *st, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(jsonld_t *st, int code, const char *fmt, ...)
{
    char path[256];
    size_t n = 0;
    path[0] = '\0';
    for (size_t i = 0; i < st->depth && n < sizeof path - 1; i++) {
        const pathseg_t *p = &st->path[i];
        int w;
        if (p->key != NULL) {
            int kl = p->keylen > 100 ? 100 : (int)p->keylen;
            w = snprintf(path + n, sizeof path - n, "%s%.*s", n ? "." : "", kl, p->key);
        } else {
            w = snprintf(path + n, sizeof path - n, "[%zu]", p->idx);
        }
        if (w < 0)
            break;
        n += (size_t)w;
        if (n >= sizeof path)
            n = sizeof path - 1;
    }
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n == 0)
        return err_set(st->d, code, "", "%s", msg);
    return err_set(st->d, code, path, "%s: %s", path, msg);
}

static int push_key(jsonld_t *st, const char *key, size_t len)
{
    if (st->depth >= JSONLD_MAX_DEPTH)
        return fail(st, ERR_LIMIT, "nesting deeper than %d", JSONLD_MAX_DEPTH);
    st->path[st->depth].key = key;
    st->path[st->depth].keylen = len;
    st->path[st->depth].idx = 0;
    st->depth++;
    return 0;
}

static int push_idx(jsonld_t *st, size_t idx)
{
    if (st->depth >= JSONLD_MAX_DEPTH)
        return fail(st, ERR_LIMIT, "nesting deeper than %d", JSONLD_MAX_DEPTH);
    st->path[st->depth].key = NULL;
    st->path[st->depth].keylen = 0;
    st->path[st->depth].idx = idx;
    st->depth++;
    return 0;
}

static void pop(jsonld_t *st)
{
    st->depth--;
}

/* A failed arena allocation: the arena's cap (ERR_LIMIT) or out of memory. */
static int oom(jsonld_t *st, const arena_t *a, const char *what)
{
    if (arena_error(a) == ERR_LIMIT)
        return fail(st, ERR_LIMIT, "working memory limit (%zu bytes) reached %s", arena_size(a),
                    what[0] ? what : "converting the document");
    return fail(st, ERR_NOMEM, "out of memory%s%s", what[0] ? " " : "", what);
}

/* ------------------------------------------------------------------------------------------ */
/* IRIs.                                                                                      */

/* Has the form of an absolute IRI: a scheme, then ":". */
static int is_absolute_iri(const char *s, size_t n)
{
    if (n < 2 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (c == ':')
            return 1;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.'))
            return 0;
    }
    return 0;
}

static int is_gen_delim(char c)
{
    return c == ':' || c == '/' || c == '?' || c == '#' || c == '[' || c == ']' || c == '@';
}

static const char *memchr_c(const char *s, size_t n, char c)
{
    return n ? memchr(s, c, n) : NULL;
}

static int term_id_slow(const jsonld_t *st, const char *s, size_t n)
{
    if (n > st->max_term_len)
        return -1;
    uint64_t h = hash64(s, n);
    size_t i = (size_t)h & (USLOTS - 1);
    for (;;) {
        const uslot_t *u = &st->uslots[i];
        if (u->tid < 0)
            return -1;
        if (u->len == n && u->hash == (uint32_t)h && memcmp(jsonld_universe[u->tid], s, n) == 0)
            return u->tid;
        i = (i + 1) & (USLOTS - 1);
    }
}

/*
 * The term id of s[0..n). Strings of the document (jansson's) and of the tables do not move
 * during a call, so ids are cached by address and length for the current call (st->gen).
 */
static int term_id(const jsonld_t *st_c, const char *s, size_t n)
{
    jsonld_t *st = (jsonld_t *)st_c;
    if (n > st->max_term_len)
        return -1;
    struct tcache *c = &st->tcache[((uintptr_t)s >> 3 ^ n) & 255];
    if (c->gen == st->gen && c->ptr == s && c->len == n)
        return c->tid;
    c->tid = term_id_slow(st, s, n);
    c->ptr = s;
    c->len = n;
    c->gen = st->gen;
    return c->tid;
}

static const tdef_t *ctx_lookup(const jsonld_t *st, const actx_t *ctx, const char *s, size_t n)
{
    int tid = term_id(st, s, n);
    return tid < 0 ? NULL : ctx->terms[tid];
}

static int create_term(jsonld_t *st, actx_t *ctx, const jsonld_ctxdef_t *local, size_t i,
                       unsigned char *defined, int override);

static long local_find(const jsonld_ctxdef_t *local, const char *s, size_t n)
{
    size_t lo = 0, hi = local->nterms;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *t = local->terms[mid].term;
        size_t tl = strlen(t);
        int c = memcmp(t, s, tl < n ? tl : n);
        if (c == 0)
            c = (tl > n) - (tl < n);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/*
 * IRI expansion (JSON-LD 1.1 section 5.2). local/defined are given during context processing.
 * Concatenated IRIs are allocated in arena a. Relative IRIs cannot be resolved (there is no
 * base): they come back as R_RELATIVE for the caller to refuse.
 */
static int iri_expand(jsonld_t *st, actx_t *ctx, arena_t *a, const char *v, size_t n, int vocab,
                      const jsonld_ctxdef_t *local, unsigned char *defined, iri_t *r)
{
    int rc;
    memset(r, 0, sizeof *r);
    r->s = v;
    r->len = n;
    int kw = kw_lookup(v, n);
    if (kw) {
        r->kind = R_KEYWORD;
        r->kw = kw;
        return 0;
    }
    if (has_keyword_form(v, n)) {
        r->kind = R_IGNORED;
        return 0;
    }
    if (local != NULL) {
        long j = local_find(local, v, n);
        if (j >= 0 && defined[j] != 2 && (rc = create_term(st, ctx, local, (size_t)j, defined, 0)))
            return rc;
    }
    const tdef_t *def = ctx_lookup(st, ctx, v, n);
    if (def != NULL && def->kw) {
        r->kind = R_KEYWORD;
        r->kw = def->kw;
        r->s = def->iri;
        r->len = def->iri_len;
        return 0;
    }
    if (vocab && def != NULL) {
        if (def->iri == NULL) {
            r->kind = R_NULL;
            return 0;
        }
        r->s = def->iri;
        r->def = def;
        r->len = def->iri_len;
        r->kind = (def->iri_len >= 2 && def->iri[0] == '_' && def->iri[1] == ':') ? R_BNODE : R_IRI;
        return 0;
    }
    const char *colon = memchr_c(v, n, ':');
    if (colon != NULL && colon > v) {
        size_t plen = (size_t)(colon - v);
        const char *suffix = colon + 1;
        size_t slen = n - plen - 1;
        if (plen == 1 && v[0] == '_') {
            r->kind = R_BNODE;
            return 0;
        }
        if (slen >= 2 && suffix[0] == '/' && suffix[1] == '/') {
            r->kind = R_IRI;
            return 0;
        }
        if (local != NULL) {
            long j = local_find(local, v, plen);
            if (j >= 0 && defined[j] != 2 &&
                (rc = create_term(st, ctx, local, (size_t)j, defined, 0)))
                return rc;
        }
        const tdef_t *pdef = ctx_lookup(st, ctx, v, plen);
        if (pdef != NULL && pdef->iri != NULL && pdef->prefix) {
            char *s = concat(a, pdef->iri, pdef->iri_len, suffix, slen);
            if (s == NULL)
                return oom(st, a, "expanding an IRI");
            r->s = s;
            r->len = pdef->iri_len + slen;
            r->kind = R_IRI;
            return 0;
        }
        if (is_absolute_iri(v, n)) {
            r->kind = R_IRI;
            return 0;
        }
    }
    if (vocab && ctx->vocab != NULL) {
        char *s = concat(a, ctx->vocab, ctx->vocab_len, v, n);
        if (s == NULL)
            return oom(st, a, "expanding an IRI");
        r->s = s;
        r->len = ctx->vocab_len + n;
        r->kind = R_IRI;
        return 0;
    }
    r->kind = R_RELATIVE;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Context processing (JSON-LD 1.1 section 4.1), over the static tables.                       */

static actx_t *actx_new(jsonld_t *st, const actx_t *from)
{
    actx_t *c = arena_alloc_uninit(st->ca, sizeof *c);
    if (c == NULL)
        return NULL;
    c->terms = arena_alloc_uninit(st->ca, jsonld_universe_n * sizeof c->terms[0]);
    if (c->terms == NULL)
        return NULL;
    if (from != NULL) {
        memcpy(c->terms, from->terms, jsonld_universe_n * sizeof c->terms[0]);
        c->vocab = from->vocab;
        c->vocab_len = from->vocab_len;
        c->previous = from->previous;
        c->nprotected = from->nprotected;
    } else {
        memset(c->terms, 0, jsonld_universe_n * sizeof c->terms[0]);
        c->vocab = NULL;
        c->vocab_len = 0;
        c->previous = NULL;
        c->nprotected = 0;
    }
    c->kids = NULL;
    return c;
}

static int same_def(const tdef_t *a, const tdef_t *b)
{
    if ((a->iri == NULL) != (b->iri == NULL))
        return 0;
    if (a->iri != NULL && (a->iri_len != b->iri_len || memcmp(a->iri, b->iri, a->iri_len) != 0))
        return 0;
    if (a->kw != b->kw || a->tkind != b->tkind || a->container != b->container ||
        a->scoped != b->scoped || a->scoped_null != b->scoped_null || a->prefix != b->prefix)
        return 0;
    if (a->tkind == T_IRI &&
        (a->tiri_len != b->tiri_len || memcmp(a->tiri, b->tiri, a->tiri_len) != 0))
        return 0;
    return 1;
}

/* Create Term Definition (JSON-LD 1.1 section 4.2) for local->terms[i]. */
static int create_term(jsonld_t *st, actx_t *ctx, const jsonld_ctxdef_t *local, size_t i,
                       unsigned char *defined, int override)
{
    const jsonld_rawterm_t *raw = &local->terms[i];
    if (defined[i] == 2)
        return 0;
    if (defined[i] == 1)
        return fail(st, ERR_INVALID, "cyclic IRI mapping for term %s", raw->term);
    defined[i] = 1;
    size_t tlen = strlen(raw->term);
    if (kw_lookup(raw->term, tlen))
        return fail(st, ERR_INVALID, "keyword redefinition: %s", raw->term);
    const tdef_t *prev = ctx->terms[raw->tid];
    ctx->terms[raw->tid] = NULL;
    if (prev != NULL && prev->prot)
        ctx->nprotected--;

    tdef_t *def = arena_alloc(st->ca, sizeof *def); /* zeroed */
    if (def == NULL)
        return oom(st, st->ca, "processing contexts");
    def->prot = raw->protected_ >= 0 ? raw->protected_ : local->protected_;
    int rc;
    iri_t r;
    if (raw->type != NULL) {
        if ((rc = iri_expand(st, ctx, st->ca, raw->type, strlen(raw->type), 1, local, defined, &r)))
            return rc;
        if (r.kind == R_KEYWORD && r.kw == KW_ID)
            def->tkind = T_ID;
        else if (r.kind == R_KEYWORD && r.kw == KW_VOCAB)
            def->tkind = T_VOCAB;
        else if (r.kind == R_KEYWORD && r.kw == KW_JSON)
            def->tkind = T_JSON;
        else if (r.kind == R_KEYWORD && r.kw == KW_NONE)
            def->tkind = T_NONE;
        else if (r.kind == R_IRI) {
            def->tkind = T_IRI;
            def->tiri = r.s;
            def->tiri_len = r.len;
        } else
            return fail(st, ERR_INVALID, "invalid type mapping for term %s", raw->term);
    }
    const char *colon = strchr(raw->term, ':');
    int has_colon = colon != NULL && colon != raw->term && colon[1] != '\0';
    int has_slash = strchr(raw->term, '/') != NULL;
    if (raw->id != NULL && strcmp(raw->id, raw->term) != 0) {
        size_t idlen = strlen(raw->id);
        if (!kw_lookup(raw->id, idlen) && has_keyword_form(raw->id, idlen)) {
            defined[i] = 2; /* ignored, as JSON-LD does */
            return 0;
        }
        if ((rc = iri_expand(st, ctx, st->ca, raw->id, idlen, 1, local, defined, &r)))
            return rc;
        if (r.kind == R_KEYWORD) {
            if (r.kw == KW_CONTEXT)
                return fail(st, ERR_INVALID, "invalid keyword alias for term %s", raw->term);
            def->kw = r.kw;
            def->iri = kw_name(r.kw);
            def->iri_len = strlen(def->iri);
        } else if (r.kind == R_IRI || r.kind == R_BNODE) {
            def->iri = r.s;
            def->iri_len = r.len;
        } else {
            return fail(st, ERR_INVALID, "invalid IRI mapping for term %s", raw->term);
        }
        if (has_colon || has_slash) {
            defined[i] = 2;
            iri_t self;
            if ((rc = iri_expand(st, ctx, st->ca, raw->term, tlen, 1, local, defined, &self)))
                return rc;
            if (self.len != def->iri_len || memcmp(self.s, def->iri, self.len) != 0)
                return fail(st, ERR_INVALID, "invalid IRI mapping for term %s", raw->term);
        }
        if (!has_colon && !has_slash && raw->simple && def->iri != NULL && !def->kw &&
            (is_gen_delim(def->iri[def->iri_len - 1]) || r.kind == R_BNODE))
            def->prefix = 1;
    } else if (has_colon) {
        if ((rc = iri_expand(st, ctx, st->ca, raw->term, tlen, 1, local, defined, &r)))
            return rc;
        if (r.kind != R_IRI && r.kind != R_BNODE)
            return fail(st, ERR_INVALID, "invalid IRI mapping for term %s", raw->term);
        def->iri = r.s;
        def->iri_len = r.len;
    } else if (has_slash) {
        return fail(st, ERR_INVALID, "relative IRI term %s", raw->term);
    } else if (ctx->vocab != NULL) {
        def->iri = concat(st->ca, ctx->vocab, ctx->vocab_len, raw->term, tlen);
        if (def->iri == NULL)
            return oom(st, st->ca, "processing contexts");
        def->iri_len = ctx->vocab_len + tlen;
    } else {
        return fail(st, ERR_INVALID, "invalid IRI mapping for term %s", raw->term);
    }
    def->container = raw->container;
    def->scoped = raw->context;
    def->scoped_null = raw->context_null;

    if (!override && prev != NULL && prev->prot) {
        if (!same_def(def, prev))
            return fail(st, ERR_INVALID, "protected term redefinition: %s", raw->term);
        def = (tdef_t *)prev;
    }
    if (def->iri != NULL && !def->kw && !def->nq_ok && nquads_iri_valid(def->iri, def->iri_len))
        def->nq_ok = 1;
    ctx->terms[raw->tid] = def;
    if (def->prot)
        ctx->nprotected++;
    defined[i] = 2;
    return 0;
}

/*
 * Returns (in *out) the active context derived from parent by the local context `local` (NULL:
 * the null context), cached on parent.
 */
static int derive(jsonld_t *st, const actx_t *parent_c, const jsonld_ctxdef_t *local,
                  unsigned flags, const actx_t **out)
{
    actx_t *parent = (actx_t *)parent_c;
    for (kid_t *k = parent->kids; k != NULL; k = k->next) {
        if (k->local == local && k->flags == flags) {
            *out = k->child;
            return 0;
        }
    }
    if (st->nctx >= MAX_CONTEXTS)
        return fail(st, ERR_LIMIT, "more than %d distinct active contexts", MAX_CONTEXTS);
    int override = (flags & DF_OVERRIDE) != 0;
    actx_t *c;
    if (local == NULL) {
        if (!override && parent->nprotected > 0)
            return fail(st, ERR_INVALID, "invalid context nullification (protected terms)");
        c = actx_new(st, NULL);
        if (c == NULL)
            return oom(st, st->ca, "processing contexts");
        if (flags & DF_NOPROPAGATE)
            c->previous = parent->previous ? parent->previous : parent;
    } else {
        c = actx_new(st, parent);
        if (c == NULL)
            return oom(st, st->ca, "processing contexts");
        if ((flags & DF_NOPROPAGATE) && c->previous == NULL)
            c->previous = parent;
        if (local->has_vocab) {
            if (local->vocab == NULL) {
                c->vocab = NULL;
                c->vocab_len = 0;
            } else {
                iri_t r;
                int rc = iri_expand(st, c, st->ca, local->vocab, strlen(local->vocab), 1, NULL,
                                    NULL, &r);
                if (rc)
                    return rc;
                if (r.kind != R_IRI && r.kind != R_BNODE)
                    return fail(st, ERR_INVALID, "invalid @vocab mapping %s", local->vocab);
                c->vocab = r.s;
                c->vocab_len = r.len;
            }
        }
        unsigned char defined[MAX_LOCAL_TERMS];
        if (local->nterms > MAX_LOCAL_TERMS)
            return fail(st, ERR_INTERNAL, "context table too large");
        memset(defined, 0, local->nterms);
        for (size_t i = 0; i < local->nterms; i++) {
            int rc = create_term(st, c, local, i, defined, override);
            if (rc)
                return rc;
        }
    }
    kid_t *k = arena_alloc_uninit(st->ca, sizeof *k);
    if (k == NULL)
        return oom(st, st->ca, "processing contexts");
    k->local = local;
    k->flags = flags;
    k->child = c;
    k->next = parent->kids;
    parent->kids = k;
    st->nctx++;
    *out = c;
    return 0;
}

/* Processes an @context value (URL strings, null, or an array of them). */
static int apply_context(jsonld_t *st, const actx_t *ctx, const json_t *v, const actx_t **out)
{
    int rc;
    if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            if (json_is_array(item))
                return fail(st, ERR_INVALID, "invalid @context: nested array");
            if ((rc = push_idx(st, i)) || (rc = apply_context(st, ctx, item, &ctx)))
                return rc;
            pop(st);
        }
        *out = ctx;
        return 0;
    }
    if (json_is_null(v))
        return derive(st, ctx, NULL, 0, out);
    if (json_is_string(v)) {
        const char *url = json_string_value(v);
        size_t n = json_string_length(v);
        const jsonld_ctxdef_t *def = jsonld_ctxdef_find(url, n);
        if (def == NULL)
            return fail(st, ERR_INVALID, "unknown context URL %.*s (contexts are never fetched)",
                        n > 200 ? 200 : (int)n, url);
        return derive(st, ctx, def, 0, out);
    }
    if (json_is_object(v))
        return fail(st, ERR_INVALID,
                    "inline context definitions are not supported; use the "
                    "known context URLs");
    return fail(st, ERR_INVALID, "invalid @context value");
}

/* ------------------------------------------------------------------------------------------ */
/* Output: quads, into the dataset (a set: duplicates are dropped there).                      */

/*
 * The bytes of the N-Quads text of the dataset so far, exactly: measured once, when the
 * running upper bound first passes JSONLD_MAX_OUTPUT (for the usual document it never does,
 * and no line is measured at all).
 */
static size_t text_exact(jsonld_t *st)
{
    if (!st->text_exact) {
        st->text_len = 0;
        for (size_t i = 0; i < nquads_dataset_count(st->ds); i++)
            st->text_len += nquads_quad_write(nquads_dataset_quad(st->ds, i), NULL, 0);
        st->text_exact = 1;
    }
    return st->text_len;
}

/*
 * Adds one quad (g of kind NQUADS_NONE: the default graph). Keeps count of the bytes of the
 * N-Quads text, so the document is refused past JSONLD_MAX_OUTPUT bytes whether or not its
 * text is ever written.
 */
static int emit(jsonld_t *st, term_t s, term_t p, term_t o, term_t g)
{
    nquads_quad_t q = {s, p, o, g};
    err_detail_t d;
    size_t before = nquads_dataset_count(st->ds);
    /* node_term(), literal_term() and new_bnode() checked every string of it */
    int rc = nquads_dataset_add_trusted(st->ds, &q, JSONLD_MAX_QUADS, &d);
    if (rc == 0 && nquads_dataset_count(st->ds) > before) {
        size_t n = st->text_exact ? nquads_quad_write(&q, NULL, 0) : nquads_quad_bound(&q);
        if (n > JSONLD_MAX_OUTPUT - st->text_len) {
            /* over by the bound: measure the text (this quad included) and decide on that */
            if (st->text_exact || text_exact(st) > JSONLD_MAX_OUTPUT)
                rc = ERR_LIMIT;
        } else {
            st->text_len += n;
        }
    }
    switch (rc) {
    case 0:
        return 0;
    case ERR_LIMIT:
        return fail(st, rc, "output larger than %u quads or %u bytes", JSONLD_MAX_QUADS,
                    JSONLD_MAX_OUTPUT);
    default:
        return fail(st, rc, "out of memory writing quads");
    }
}

static int new_bnode(jsonld_t *st, term_t *out)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "b%u", st->nbn++);
    char *s = concat(st->da, tmp, (size_t)n, NULL, 0);
    if (s == NULL)
        return oom(st, st->da, "");
    *out = (term_t){.kind = NQUADS_BNODE, .value = s, .value_len = (size_t)n};
    return 0;
}

static int bns_grow(jsonld_t *st)
{
    size_t ncap = st->bcap ? st->bcap * 2 : 64;
    bnent_t *n = calloc(ncap, sizeof *n);
    if (n == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < st->bcap; i++) {
        if (st->bns[i].label == NULL)
            continue;
        size_t j = (size_t)st->bns[i].hash & (ncap - 1);
        while (n[j].label != NULL)
            j = (j + 1) & (ncap - 1);
        n[j] = st->bns[i];
    }
    free(st->bns);
    st->bns = n;
    st->bcap = ncap;
    return 0;
}

/* The term for an expanded IRI or blank node identifier. */
static int node_term(jsonld_t *st, const iri_t *r, term_t *out)
{
    if (r->kind == R_BNODE) {
        uint64_t h = hash64(r->s, r->len);
        /* every new label yields a quad, so the quad limit bounds them; this only backs it */
        if (st->nbns > JSONLD_MAX_QUADS)
            return fail(st, ERR_LIMIT, "more than %d blank node labels", JSONLD_MAX_QUADS);
        if ((st->nbns + 1) * 2 > st->bcap && bns_grow(st))
            return fail(st, ERR_NOMEM, "out of memory");
        size_t j = (size_t)h & (st->bcap - 1);
        while (st->bns[j].label != NULL) {
            if (st->bns[j].hash == h && st->bns[j].len == r->len &&
                memcmp(st->bns[j].label, r->s, r->len) == 0) {
                *out = (term_t){.kind = NQUADS_BNODE,
                                .value = st->bns[j].ours,
                                .value_len = st->bns[j].ours_len};
                return 0;
            }
            j = (j + 1) & (st->bcap - 1);
        }
        int rc = new_bnode(st, out);
        if (rc != 0)
            return rc;
        st->bns[j].hash = h;
        st->bns[j].label = r->s;
        st->bns[j].len = r->len;
        st->bns[j].ours = out->value;
        st->bns[j].ours_len = out->value_len;
        st->nbns++;
        return 0;
    }
    if (r->kind == R_IRI && r->def != NULL && r->def->nq_ok && r->s == r->def->iri) {
        *out = (term_t){.kind = NQUADS_IRI, .value = r->s, .value_len = r->len};
        return 0;
    }
    if (r->kind != R_IRI)
        return fail(st, ERR_INVALID, "%.*s is not an absolute IRI (relative IRIs are refused)",
                    r->len > 200 ? 200 : (int)r->len, r->s);
    if (!nquads_iri_valid(r->s, r->len))
        return fail(st, ERR_INVALID, "%.*s is not a valid IRI", r->len > 200 ? 200 : (int)r->len,
                    r->s);
    *out = (term_t){.kind = NQUADS_IRI, .value = r->s, .value_len = r->len};
    return 0;
}

/*
 * A literal term. lex, dt and lang are borrowed (they must live until the quad is added);
 * the language tag is lowercased into the document arena, as canonical N-Quads writes it.
 */
static int literal_term(jsonld_t *st, const char *lex, size_t n, const char *dt, size_t dtlen,
                        const char *lang, size_t langlen, term_t *out)
{
    int typed = lang == NULL && dt != NULL &&
                !(dtlen == strlen(XSD_STRING) && memcmp(dt, XSD_STRING, dtlen) == 0);
    if (typed && !nquads_iri_valid(dt, dtlen))
        return fail(st, ERR_INVALID, "datatype %.*s is not a valid IRI",
                    dtlen > 200 ? 200 : (int)dtlen, dt);
    if (n > JSONLD_MAX_OUTPUT / 6)
        return fail(st, ERR_LIMIT, "literal too large");
    if (!nquads_utf8_valid(lex, n)) /* jansson's strings are, unless built with _nocheck */
        return fail(st, ERR_INVALID, "string is not valid UTF-8");
    *out = (term_t){.kind = NQUADS_LITERAL, .value = lex, .value_len = n};
    if (lang != NULL) {
        char *l = concat(st->da, lang, langlen, NULL, 0);
        if (l == NULL)
            return oom(st, st->da, "");
        for (size_t i = 0; i < langlen; i++)
            if (l[i] >= 'A' && l[i] <= 'Z')
                l[i] = (char)(l[i] - 'A' + 'a');
        out->lang = l;
        out->lang_len = langlen;
    } else if (typed) {
        out->datatype = dt;
        out->datatype_len = dtlen;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Numbers and canonical JSON.                                                                */

/* XSD canonical double as JSON-LD toRdf writes it (1.5E0, 1.0E21, -3.25E-7). */
static size_t fmt_double(double v, char *outb, size_t cap)
{
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%.15e", v);
    char *e = strchr(tmp, 'e');
    if (e == NULL)
        return (size_t)snprintf(outb, cap, "%s", tmp);
    char *m_end = e;
    while (m_end - tmp >= 3 && m_end[-1] == '0' && m_end[-2] != '.')
        m_end--;
    long ex = strtol(e + 1, NULL, 10);
    int w = snprintf(outb, cap, "%.*sE%ld", (int)(m_end - tmp), tmp, ex);
    return w < 0 ? 0 : (size_t)w;
}

/* The rdf:JSON literal of a JSON value: its RFC 8785 form, written by jcs.h. */
static int json_literal(jsonld_t *st, const json_t *v, term_t *out)
{
    buf_reset(&st->json);
    int rc = jcs_serialize_buf_depth(v, &st->json, JSONLD_MAX_DEPTH, NULL);
    if (rc != 0)
        return fail(st, rc, "cannot write the JSON literal");
    /* a list keeps its items until its end, so the text must outlive the scratch buffer */
    char *lex = concat(st->da, st->json.data, st->json.len, NULL, 0);
    if (lex == NULL)
        return oom(st, st->da, "");
    return literal_term(st, lex, st->json.len, RDF_JSON, strlen(RDF_JSON), NULL, 0, out);
}

/* ------------------------------------------------------------------------------------------ */
/* Expansion + toRdf.                                                                         */

typedef struct sink {
    int list; /* 1: collect objects (a list); 0: write (s, p, o, g) */
    term_t s, p, g;
    term_t *items;
    size_t n, cap;
    size_t count;
} sink_t;

static int sink_put(jsonld_t *st, sink_t *k, term_t o)
{
    k->count++;
    if (!k->list)
        return emit(st, k->s, k->p, o, k->g);
    if (k->n == k->cap) {
        size_t ncap = k->cap ? k->cap * 2 : 8;
        if (ncap > JSONLD_MAX_QUADS)
            return fail(st, ERR_LIMIT, "list longer than %d items", JSONLD_MAX_QUADS);
        term_t *items = arena_alloc_uninit(st->da, ncap * sizeof *items);
        if (items == NULL)
            return oom(st, st->da, "");
        if (k->n)
            memcpy(items, k->items, k->n * sizeof *items);
        k->items = items;
        k->cap = ncap;
    }
    k->items[k->n++] = o;
    return 0;
}

/* Writes the rdf:first/rest chain of a list; *head is its first node (or rdf:nil). */
static int emit_list(jsonld_t *st, const sink_t *k, term_t g, term_t *head)
{
    term_t nil = IRI_TERM(RDF_NIL), first = IRI_TERM(RDF_FIRST), rest = IRI_TERM(RDF_REST);
    if (k->n == 0) {
        *head = nil;
        return 0;
    }
    term_t cur, next;
    int rc = new_bnode(st, &cur);
    if (rc)
        return rc;
    *head = cur;
    for (size_t i = 0; i < k->n; i++) {
        if ((rc = emit(st, cur, first, k->items[i], g)))
            return rc;
        if (i + 1 < k->n) {
            if ((rc = new_bnode(st, &next)))
                return rc;
        } else {
            next = nil;
        }
        if ((rc = emit(st, cur, rest, next, g)))
            return rc;
        cur = next;
    }
    return 0;
}

static int key_expand(jsonld_t *st, const actx_t *ctx, const char *k, size_t n, iri_t *r)
{
    return iri_expand(st, (actx_t *)ctx, st->da, k, n, 1, NULL, NULL, r);
}

static int valid_language(const char *s, size_t n)
{
    size_t i = 0, seg = 0;
    int first = 1;
    if (n == 0)
        return 0;
    for (; i <= n; i++) {
        if (i == n || s[i] == '-') {
            if (seg == 0 || seg > 8)
                return 0;
            seg = 0;
            first = 0;
            continue;
        }
        char c = s[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        int digit = c >= '0' && c <= '9';
        if (!(alpha || (digit && !first)))
            return 0;
        seg++;
    }
    return 1;
}

/* The literal for a JSON scalar (toRdf, "object to RDF conversion"). */
static int scalar_literal(jsonld_t *st, const json_t *v, const char *dt, size_t dtlen,
                          const char *lang, size_t langlen, term_t *out)
{
    char num[48];
    if (json_is_string(v))
        return literal_term(st, json_string_value(v), json_string_length(v), dt, dtlen, lang,
                            langlen, out);
    if (json_is_boolean(v)) {
        const char *lex = json_is_true(v) ? "true" : "false";
        if (dt == NULL) {
            dt = XSD_BOOLEAN;
            dtlen = strlen(XSD_BOOLEAN);
        }
        return literal_term(st, lex, strlen(lex), dt, dtlen, NULL, 0, out);
    }
    if (json_is_number(v)) {
        double d = json_number_value(v);
        int dt_double =
            dt != NULL && dtlen == strlen(XSD_DOUBLE) && memcmp(dt, XSD_DOUBLE, dtlen) == 0;
        size_t n;
        if (!isfinite(d))
            return fail(st, ERR_INVALID, "number is not finite");
        if (d != floor(d) && fabs(d) < 1e-6) {
            /* JavaScript writes it without a "." (1e-7), and jsonld.js then treats it as an
             * integer ("0"): implementations disagree, so a signature would not verify. */
            int m = jcs_format_number(d, num);
            if (m > 0 && memchr(num, '.', (size_t)m) == NULL)
                return fail(st, ERR_INVALID,
                            "number %.*s is converted differently by JSON-LD processors; "
                            "write it as a string or with more digits",
                            m, num);
        }
        if (dt_double || fabs(d) >= 1e21 || d != floor(d)) {
            n = fmt_double(d, num, sizeof num);
            if (dt == NULL) {
                dt = XSD_DOUBLE;
                dtlen = strlen(XSD_DOUBLE);
            }
        } else {
            int w = d == 0 ? snprintf(num, sizeof num, "0") : snprintf(num, sizeof num, "%.0f", d);
            n = w < 0 ? 0 : (size_t)w;
            if (dt == NULL) {
                dt = XSD_INTEGER;
                dtlen = strlen(XSD_INTEGER);
            }
        }
        char *lex = concat(st->da, num, n, NULL, 0); /* the quad is added after we return */
        if (lex == NULL)
            return oom(st, st->da, "");
        return literal_term(st, lex, n, dt, dtlen, NULL, 0, out);
    }
    return fail(st, ERR_INVALID, "not a scalar value");
}

enum { O_NODE, O_VALUE, O_LIST, O_SET };

static int process_node(jsonld_t *st, const actx_t *ctx, const json_t *obj, term_t g, int is_top,
                        term_t *subj);
static int expand_value(jsonld_t *st, const actx_t *ctx, const tdef_t *ap, const json_t *v,
                        sink_t *k);

#define FOREACH_KEY(obj, it, key, klen, val)                                                       \
    for (void *it = json_object_iter((json_t *)(obj));                                             \
         it != NULL && ((key = json_object_iter_key(it)), (klen = json_object_iter_key_len(it)),   \
                        (val = json_object_iter_value(it)), (void)val, 1);                         \
         it = json_object_iter_next((json_t *)(obj), it))

/*
 * Expansion steps 7-9 for a map: revert a non-propagated context, apply the property-scoped
 * context of the active property, then an embedded @context; and classify the map.
 */
static int prepare(jsonld_t *st, const actx_t *ctx, const tdef_t *ap, const json_t *obj,
                   const actx_t **out, int *kind)
{
    const char *key;
    size_t klen;
    const json_t *val;
    iri_t r;
    int rc;
    if (ctx->previous != NULL) {
        int has_value = 0, only_id = 0;
        size_t n = json_object_size(obj);
        FOREACH_KEY(obj, it, key, klen, val)
        {
            if ((rc = key_expand(st, ctx, key, klen, &r)))
                return rc;
            if (r.kind == R_KEYWORD && r.kw == KW_VALUE)
                has_value = 1;
            if (n == 1 && r.kind == R_KEYWORD && r.kw == KW_ID)
                only_id = 1;
        }
        if (!has_value && !only_id)
            ctx = ctx->previous;
    }
    if (ap != NULL && (ap->scoped != NULL || ap->scoped_null) &&
        (rc = derive(st, ctx, ap->scoped_null ? NULL : ap->scoped, DF_OVERRIDE, &ctx)))
        return rc;
    const json_t *c = json_object_get(obj, "@context");
    if (c != NULL) {
        if ((rc = push_key(st, "@context", 8)) || (rc = apply_context(st, ctx, c, &ctx)))
            return rc;
        pop(st);
    }
    *kind = O_NODE;
    FOREACH_KEY(obj, it, key, klen, val)
    {
        if ((rc = key_expand(st, ctx, key, klen, &r)))
            return rc;
        if (r.kind == R_KEYWORD && r.kw == KW_VALUE)
            *kind = O_VALUE;
        else if (r.kind == R_KEYWORD && r.kw == KW_LIST && *kind == O_NODE)
            *kind = O_LIST;
        else if (r.kind == R_KEYWORD && r.kw == KW_SET && *kind == O_NODE)
            *kind = O_SET;
    }
    *out = ctx;
    return 0;
}

static int value_object(jsonld_t *st, const actx_t *ctx, const json_t *obj, sink_t *k)
{
    const char *key;
    size_t klen;
    const json_t *val, *value = NULL, *type = NULL, *lang = NULL;
    iri_t r;
    int rc;
    FOREACH_KEY(obj, it, key, klen, val)
    {
        if ((rc = push_key(st, key, klen)) || (rc = key_expand(st, ctx, key, klen, &r)))
            return rc;
        if (r.kind == R_KEYWORD && r.kw == KW_CONTEXT) {
            pop(st);
            continue;
        }
        const json_t **slot = NULL;
        if (r.kind == R_KEYWORD && r.kw == KW_VALUE)
            slot = &value;
        else if (r.kind == R_KEYWORD && r.kw == KW_TYPE)
            slot = &type;
        else if (r.kind == R_KEYWORD && r.kw == KW_LANGUAGE)
            slot = &lang;
        if (slot == NULL)
            return fail(st, ERR_INVALID, "not allowed in a value object (it would be dropped)");
        if (*slot != NULL)
            return fail(st, ERR_INVALID, "colliding keywords");
        *slot = val;
        pop(st);
    }
    if (type != NULL && lang != NULL)
        return fail(st, ERR_INVALID, "a value object cannot have both @type and @language");
    const char *dt = NULL;
    size_t dtlen = 0;
    term_t o;
    if (type != NULL) {
        if (!json_is_string(type))
            return fail(st, ERR_INVALID, "invalid typed value: @type must be a string");
        if ((rc = iri_expand(st, (actx_t *)ctx, st->da, json_string_value(type),
                             json_string_length(type), 1, NULL, NULL, &r)))
            return rc;
        if (r.kind == R_KEYWORD && r.kw == KW_JSON) {
            if (json_is_null(value))
                return fail(st, ERR_INVALID, "null @value would be dropped");
            if ((rc = json_literal(st, value, &o)))
                return rc;
            return sink_put(st, k, o);
        }
        if (r.kind != R_IRI)
            return fail(st, ERR_INVALID, "invalid typed value: type %s is not an absolute IRI",
                        json_string_value(type));
        dt = r.s;
        dtlen = r.len;
    }
    if (value == NULL || json_is_null(value))
        return fail(st, ERR_INVALID, "null @value would be dropped");
    if (json_is_object(value) || json_is_array(value))
        return fail(st, ERR_INVALID, "invalid value object value");
    const char *ls = NULL;
    size_t ll = 0;
    if (lang != NULL) {
        if (!json_is_string(lang) ||
            !valid_language(json_string_value(lang), json_string_length(lang)))
            return fail(st, ERR_INVALID, "invalid @language value");
        if (!json_is_string(value))
            return fail(st, ERR_INVALID, "invalid language-tagged value (not a string)");
        ls = json_string_value(lang);
        ll = json_string_length(lang);
    }
    if ((rc = scalar_literal(st, value, dt, dtlen, ls, ll, &o)))
        return rc;
    return sink_put(st, k, o);
}

static int expand_scalar(jsonld_t *st, const actx_t *ctx, const tdef_t *ap, const json_t *v,
                         sink_t *k)
{
    int rc;
    term_t o;
    if (json_is_null(v))
        return fail(st, ERR_INVALID, "null value would be dropped");
    if (ap != NULL && (ap->scoped != NULL || ap->scoped_null) &&
        (rc = derive(st, ctx, ap->scoped_null ? NULL : ap->scoped, DF_OVERRIDE, &ctx)))
        return rc;
    if (json_is_string(v) && ap != NULL && (ap->tkind == T_ID || ap->tkind == T_VOCAB)) {
        iri_t r;
        if ((rc = iri_expand(st, (actx_t *)ctx, st->da, json_string_value(v), json_string_length(v),
                             ap->tkind == T_VOCAB, NULL, NULL, &r)))
            return rc;
        if (r.kind == R_KEYWORD)
            return fail(st, ERR_INVALID, "keyword %s is not an IRI", json_string_value(v));
        if (r.kind == R_NULL || r.kind == R_IGNORED)
            return fail(st, ERR_INVALID, "%s would be dropped", json_string_value(v));
        if ((rc = node_term(st, &r, &o)))
            return rc;
        return sink_put(st, k, o);
    }
    const char *dt = NULL;
    size_t dtlen = 0;
    if (ap != NULL && ap->tkind == T_IRI) {
        dt = ap->tiri;
        dtlen = ap->tiri_len;
    }
    if ((rc = scalar_literal(st, v, dt, dtlen, NULL, 0, &o)))
        return rc;
    return sink_put(st, k, o);
}

/* Only keyword `kw` (and @context) may appear in a list or set object. */
static int only_keyword(jsonld_t *st, const actx_t *ctx, const json_t *obj, int kw,
                        const json_t **value)
{
    const char *key;
    size_t klen;
    const json_t *val;
    iri_t r;
    int rc;
    *value = NULL;
    FOREACH_KEY(obj, it, key, klen, val)
    {
        if ((rc = key_expand(st, ctx, key, klen, &r)))
            return rc;
        if (r.kind == R_KEYWORD && r.kw == KW_CONTEXT)
            continue;
        if (r.kind == R_KEYWORD && r.kw == kw && *value == NULL) {
            *value = val;
            continue;
        }
        if ((rc = push_key(st, key, klen)))
            return rc;
        return fail(st, ERR_INVALID, "not allowed beside %s (it would be dropped)", kw_name(kw));
    }
    return 0;
}

static int expand_map(jsonld_t *st, const actx_t *ctx, const tdef_t *ap, const json_t *obj,
                      sink_t *k)
{
    int kind, rc;
    const json_t *inner;
    if ((rc = prepare(st, ctx, ap, obj, &ctx, &kind)))
        return rc;
    switch (kind) {
    case O_VALUE:
        return value_object(st, ctx, obj, k);
    case O_LIST: {
        if (k->list)
            return fail(st, ERR_INVALID, "lists of lists are not supported");
        if ((rc = only_keyword(st, ctx, obj, KW_LIST, &inner)))
            return rc;
        sink_t sub = {1, {0}, {0}, k->g, NULL, 0, 0, 0};
        term_t head;
        if ((rc = push_key(st, "@list", 5)) || (rc = expand_value(st, ctx, ap, inner, &sub)))
            return rc;
        pop(st);
        if ((rc = emit_list(st, &sub, k->g, &head)))
            return rc;
        return sink_put(st, k, head);
    }
    case O_SET:
        if ((rc = only_keyword(st, ctx, obj, KW_SET, &inner)) || (rc = push_key(st, "@set", 4)) ||
            (rc = expand_value(st, ctx, ap, inner, k)))
            return rc;
        pop(st);
        return 0;
    default: {
        term_t s;
        if ((rc = process_node(st, ctx, obj, k->g, 0, &s)))
            return rc;
        return sink_put(st, k, s);
    }
    }
}

static int expand_value(jsonld_t *st, const actx_t *ctx, const tdef_t *ap, const json_t *v,
                        sink_t *k)
{
    int rc;
    if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            if ((rc = push_idx(st, i)))
                return rc;
            if (json_is_array(item) && ap != NULL && (ap->container & JSONLD_C_LIST))
                return fail(st, ERR_INVALID, "lists of lists are not supported");
            if ((rc = expand_value(st, ctx, ap, item, k)))
                return rc;
            pop(st);
        }
        return 0;
    }
    if (json_is_object(v))
        return expand_map(st, ctx, ap, v, k);
    return expand_scalar(st, ctx, ap, v, k);
}

/* Items of a graph (the @graph keyword, or a @graph container): node objects only. */
static int graph_item(jsonld_t *st, const actx_t *ctx, const tdef_t *ap, const json_t *item,
                      term_t g, size_t *count)
{
    int rc, kind;
    if (json_is_array(item)) {
        size_t i;
        const json_t *x;
        json_array_foreach(item, i, x)
        {
            if ((rc = push_idx(st, i)) || (rc = graph_item(st, ctx, ap, x, g, count)))
                return rc;
            pop(st);
        }
        return 0;
    }
    if (!json_is_object(item))
        return fail(st, ERR_INVALID, "%s in a graph would be dropped (not a node object)",
                    json_is_null(item) ? "null" : "a value");
    if ((rc = prepare(st, ctx, ap, item, &ctx, &kind)))
        return rc;
    if (kind != O_NODE)
        return fail(st, ERR_INVALID, "a free-floating %s would be dropped",
                    kind == O_VALUE  ? "value"
                    : kind == O_LIST ? "list"
                                     : "set");
    term_t s;
    (*count)++;
    return process_node(st, ctx, item, g, 1, &s);
}

static int language_map(jsonld_t *st, const actx_t *ctx, const json_t *map, term_t s, term_t p,
                        term_t g, size_t *count)
{
    const char *key;
    size_t klen;
    const json_t *val;
    int rc;
    iri_t r;
    FOREACH_KEY(map, it, key, klen, val)
    {
        if ((rc = push_key(st, key, klen)) || (rc = key_expand(st, ctx, key, klen, &r)))
            return rc;
        if (r.kind == R_KEYWORD && r.kw == KW_NONE)
            return fail(st, ERR_INVALID, "@none in a language map is not supported");
        if (!valid_language(key, klen))
            return fail(st, ERR_INVALID, "invalid language tag");
        size_t n = json_is_array(val) ? json_array_size(val) : 1;
        for (size_t i = 0; i < n; i++) {
            const json_t *x = json_is_array(val) ? json_array_get(val, i) : val;
            if (!json_is_string(x))
                return fail(st, ERR_INVALID, "language map values must be strings");
            term_t o;
            if ((rc = literal_term(st, json_string_value(x), json_string_length(x), NULL, 0, key,
                                   klen, &o)) ||
                (rc = emit(st, s, p, o, g)))
                return rc;
            (*count)++;
        }
        pop(st);
    }
    return 0;
}

/* Values of a @graph container: each (nested arrays flattened) is a graph of its own. */
static int graph_values(jsonld_t *st, const actx_t *ctx, const tdef_t *pdef, term_t s, term_t p,
                        const json_t *v, term_t g, size_t *count)
{
    int rc;
    if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            if ((rc = push_idx(st, i)) || (rc = graph_values(st, ctx, pdef, s, p, item, g, count)))
                return rc;
            pop(st);
        }
        return 0;
    }
    term_t gn;
    size_t c = 0;
    if ((rc = new_bnode(st, &gn)) || (rc = emit(st, s, p, gn, g)) ||
        (rc = graph_item(st, ctx, pdef, v, gn, &c)))
        return rc;
    (*count)++;
    return 0;
}

/* One property of a node: writes its statements; *count += the number of values. */
static int property(jsonld_t *st, const actx_t *ctx, const tdef_t *pdef, term_t s, term_t p,
                    const json_t *v, term_t g, size_t *count)
{
    int rc;
    if (json_is_null(v))
        return fail(st, ERR_INVALID, "null value would be dropped");
    if (pdef != NULL && pdef->tkind == T_JSON) {
        term_t o;
        if ((rc = json_literal(st, v, &o)) || (rc = emit(st, s, p, o, g)))
            return rc;
        (*count)++;
        return 0;
    }
    if (pdef != NULL && (pdef->container & JSONLD_C_LANGUAGE) && json_is_object(v))
        return language_map(st, ctx, v, s, p, g, count);
    if (pdef != NULL && (pdef->container & JSONLD_C_GRAPH))
        return graph_values(st, ctx, pdef, s, p, v, g, count);
    if (pdef != NULL && (pdef->container & JSONLD_C_LIST)) {
        int is_list_object = 0;
        if (json_is_object(v)) {
            const char *key;
            size_t klen;
            const json_t *val;
            iri_t r;
            FOREACH_KEY(v, it, key, klen, val)
            {
                if ((rc = key_expand(st, ctx, key, klen, &r)))
                    return rc;
                if (r.kind == R_KEYWORD && r.kw == KW_LIST)
                    is_list_object = 1;
            }
        }
        if (!is_list_object) {
            sink_t sub = {1, {0}, {0}, g, NULL, 0, 0, 0};
            term_t head;
            if ((rc = expand_value(st, ctx, pdef, v, &sub)) ||
                (rc = emit_list(st, &sub, g, &head)) || (rc = emit(st, s, p, head, g)))
                return rc;
            (*count)++;
            return 0;
        }
    }
    sink_t k = {0, s, p, g, NULL, 0, 0, 0};
    if ((rc = expand_value(st, ctx, pdef, v, &k)))
        return rc;
    *count += k.count;
    return 0;
}

typedef struct tval {
    const char *s;
    size_t n;
} tval_t;

static int tval_cmp(const void *a, const void *b)
{
    const tval_t *x = a, *y = b;
    return jcs_name_cmp(x->s, x->n, y->s, y->n); /* UTF-16 order, as JavaScript sorts */
}

/*
 * A node object (expansion steps 10-13 and the node's statements). ctx is the context after
 * prepare(). *subj receives the node's term. is_top: at the top of a graph, where a node that
 * yields no statement would be dropped.
 */
static int process_node(jsonld_t *st, const actx_t *ctx, const json_t *obj, term_t g, int is_top,
                        term_t *subj)
{
    const char *key;
    size_t klen;
    const json_t *val, *types = NULL, *idv = NULL;
    const char *tkey = NULL, *ikey = NULL;
    size_t tklen = 0, iklen = 0;
    iri_t r;
    int rc;
    const actx_t *tsctx = ctx;

    FOREACH_KEY(obj, it, key, klen, val)
    {
        if ((rc = key_expand(st, ctx, key, klen, &r)))
            return rc;
        if (r.kind != R_KEYWORD || (r.kw != KW_TYPE && r.kw != KW_ID))
            continue;
        if ((r.kw == KW_TYPE && types != NULL) || (r.kw == KW_ID && idv != NULL)) {
            if ((rc = push_key(st, key, klen)))
                return rc;
            return fail(st, ERR_INVALID, "colliding keywords (%s given twice)", kw_name(r.kw));
        }
        if (r.kw == KW_TYPE) {
            types = val;
            tkey = key;
            tklen = klen;
        } else {
            idv = val;
            ikey = key;
            iklen = klen;
        }
    }

    /* type-scoped contexts, in lexicographical order of the type terms */
    tval_t *tv = NULL;
    size_t ntv = 0;
    if (types != NULL) {
        if ((rc = push_key(st, tkey, tklen)))
            return rc;
        ntv = json_is_array(types) ? json_array_size(types) : 1;
        tv = arena_alloc_uninit(st->da, (ntv ? ntv : 1) * 2 * sizeof *tv);
        if (tv == NULL)
            return oom(st, st->da, "");
        for (size_t i = 0; i < ntv; i++) {
            const json_t *x = json_is_array(types) ? json_array_get(types, i) : types;
            if (!json_is_string(x))
                return fail(st, ERR_INVALID, "invalid type value (must be strings)");
            tv[i].s = json_string_value(x);
            tv[i].n = json_string_length(x);
        }
        tval_t *sorted = tv + ntv;
        memcpy(sorted, tv, ntv * sizeof *tv);
        if (ntv > 1)
            qsort(sorted, ntv, sizeof *sorted, tval_cmp);
        for (size_t i = 0; i < ntv; i++) {
            const tdef_t *d = ctx_lookup(st, tsctx, sorted[i].s, sorted[i].n);
            if (d != NULL && (d->scoped != NULL || d->scoped_null) &&
                (rc = derive(st, ctx, d->scoped_null ? NULL : d->scoped, DF_NOPROPAGATE, &ctx)))
                return rc;
        }
        pop(st);
    }

    /* subject */
    term_t s;
    if (idv != NULL) {
        if ((rc = push_key(st, ikey, iklen)))
            return rc;
        if (!json_is_string(idv))
            return fail(st, ERR_INVALID, "invalid @id value (must be a string)");
        if ((rc = iri_expand(st, (actx_t *)ctx, st->da, json_string_value(idv),
                             json_string_length(idv), 0, NULL, NULL, &r)))
            return rc;
        if (r.kind == R_KEYWORD || r.kind == R_IGNORED || r.kind == R_NULL)
            return fail(st, ERR_INVALID, "invalid @id value %s", json_string_value(idv));
        if ((rc = node_term(st, &r, &s)))
            return rc;
        pop(st);
    } else if ((rc = new_bnode(st, &s))) {
        return rc;
    }
    *subj = s;

    size_t produced = 0;
    if (types != NULL) {
        term_t rdftype = IRI_TERM(RDF_TYPE);
        if ((rc = push_key(st, tkey, tklen)))
            return rc;
        for (size_t i = 0; i < ntv; i++) {
            term_t o;
            if ((rc = iri_expand(st, (actx_t *)tsctx, st->da, tv[i].s, tv[i].n, 1, NULL, NULL, &r)))
                return rc;
            if (r.kind == R_RELATIVE)
                return fail(st, ERR_INVALID,
                            "type %.*s is not defined by the active context (and no @vocab)",
                            tv[i].n > 200 ? 200 : (int)tv[i].n, tv[i].s);
            if (r.kind != R_IRI && r.kind != R_BNODE)
                return fail(st, ERR_INVALID, "invalid type value %.*s",
                            tv[i].n > 200 ? 200 : (int)tv[i].n, tv[i].s);
            if ((rc = node_term(st, &r, &o)) || (rc = emit(st, s, rdftype, o, g)))
                return rc;
            produced++;
        }
        pop(st);
    }

    FOREACH_KEY(obj, it, key, klen, val)
    {
        if ((rc = push_key(st, key, klen)) || (rc = key_expand(st, ctx, key, klen, &r)))
            return rc;
        switch (r.kind) {
        case R_KEYWORD:
            if (r.kw == KW_ID || r.kw == KW_TYPE || r.kw == KW_CONTEXT)
                break;
            if (r.kw == KW_GRAPH) {
                if ((rc = graph_item(st, ctx, NULL, val, s, &produced)))
                    return rc;
                break;
            }
            return fail(st, ERR_INVALID, "keyword %s is not supported here", kw_name(r.kw));
        case R_IRI: {
            term_t p;
            const tdef_t *pdef = ctx_lookup(st, ctx, key, klen);
            if ((rc = node_term(st, &r, &p)) ||
                (rc = property(st, ctx, pdef, s, p, val, g, &produced)))
                return rc;
            break;
        }
        case R_BNODE:
            return fail(st, ERR_INVALID, "blank node predicates are not allowed");
        case R_NULL:
            return fail(st, ERR_INVALID, "term maps to null; its value would be dropped");
        case R_IGNORED:
            return fail(st, ERR_INVALID, "unknown keyword; it would be dropped");
        default:
            return fail(st, ERR_INVALID, "term not defined by the active context");
        }
        pop(st);
    }
    if (is_top && produced == 0)
        return fail(st, ERR_INVALID, "node has no properties; it would be dropped");
    return 0;
}

static int top_item(jsonld_t *st, const json_t *item, int root)
{
    int rc, kind;
    const actx_t *ctx = st->root;
    term_t none = DEFAULT_GRAPH, s;
    if (json_is_array(item)) {
        size_t i;
        const json_t *x;
        json_array_foreach(item, i, x)
        {
            if ((rc = push_idx(st, i)) || (rc = top_item(st, x, 0)))
                return rc;
            pop(st);
        }
        return 0;
    }
    if (!json_is_object(item))
        return fail(st, ERR_INVALID, "a free-floating value would be dropped");
    if ((rc = prepare(st, ctx, NULL, item, &ctx, &kind)))
        return rc;
    if (kind != O_NODE)
        return fail(st, ERR_INVALID, "a free-floating %s would be dropped",
                    kind == O_VALUE  ? "value"
                    : kind == O_LIST ? "list"
                                     : "set");
    if (root) {
        /* {"@context": ..., "@graph": [...]}: the nodes of the default graph */
        const char *key;
        size_t klen;
        const json_t *val, *graph = NULL;
        int other = 0;
        iri_t r;
        FOREACH_KEY(item, it, key, klen, val)
        {
            if ((rc = key_expand(st, ctx, key, klen, &r)))
                return rc;
            if (r.kind == R_KEYWORD && r.kw == KW_CONTEXT)
                continue;
            if (r.kind == R_KEYWORD && r.kw == KW_GRAPH && graph == NULL) {
                graph = val;
                if ((rc = push_key(st, key, klen)))
                    return rc;
            } else
                other = 1;
        }
        if (graph != NULL && !other) {
            size_t c = 0;
            if ((rc = graph_item(st, ctx, NULL, graph, none, &c)))
                return rc;
            pop(st);
            return 0;
        }
        if (graph != NULL)
            pop(st);
    }
    return process_node(st, ctx, item, none, 1, &s);
}

/* ------------------------------------------------------------------------------------------ */
/* Public API.                                                                                */

static int cache_reset(jsonld_t *self)
{
    arena_reset(self->ca);
    self->nctx = 0;
    self->root = actx_new(self, NULL);
    return self->root ? 0 : ERR_NOMEM;
}

jsonld_t *jsonld_new(void)
{
    jsonld_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        return NULL;
    if (jsonld_universe_n * 2 > USLOTS || jsonld_universe_n > INT16_MAX) {
        free(self);
        return NULL;
    }
    for (size_t i = 0; i < USLOTS; i++)
        self->uslots[i].tid = -1;
    for (size_t t = 0; t < jsonld_universe_n; t++) {
        size_t n = strlen(jsonld_universe[t]);
        if (n > self->max_term_len)
            self->max_term_len = n;
        uint64_t h = hash64(jsonld_universe[t], n);
        size_t i = (size_t)h & (USLOTS - 1);
        while (self->uslots[i].tid >= 0)
            i = (i + 1) & (USLOTS - 1);
        self->uslots[i].tid = (int16_t)t;
        self->uslots[i].len = (uint16_t)n;
        self->uslots[i].hash = (uint32_t)h;
    }
    buf_init(&self->out, JSONLD_MAX_OUTPUT);
    buf_init(&self->json, JSONLD_MAX_OUTPUT);
    self->ca = arena_new_limit(ARENA_CHUNK, CTX_ARENA_MAX);
    self->da = arena_new_limit(ARENA_CHUNK, DOC_ARENA_MAX);
    self->ds = nquads_dataset_new_limit(DATASET_MAX);
    if (self->ca == NULL || self->da == NULL || self->ds == NULL || cache_reset(self) != 0) {
        jsonld_destroy(&self);
        return NULL;
    }
    return self;
}

void jsonld_destroy(jsonld_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    jsonld_t *self = *self_p;
    arena_destroy(&self->ca);
    arena_destroy(&self->da);
    nquads_dataset_destroy(&self->ds);
    buf_free(&self->out);
    buf_free(&self->json);
    free(self->bns);
    free(self);
    *self_p = NULL;
}

static int begin(jsonld_t *self, err_detail_t *detail)
{
    self->d = detail;
    err_clear(detail);
    if (++self->gen == 0) {
        memset(self->tcache, 0, sizeof self->tcache);
        self->gen = 1;
    }
    self->depth = 0;
    buf_reset(&self->out);
    nquads_dataset_reset(self->ds);
    self->text_len = 0;
    self->text_exact = 0;
    if (self->bns != NULL)
        memset(self->bns, 0, self->bcap * sizeof *self->bns);
    self->nbns = 0;
    self->nbn = 0;
    arena_reset(self->da);
    if (self->nctx > MAX_CONTEXTS / 2 && cache_reset(self) != 0)
        return err_set(detail, ERR_NOMEM, "", "out of memory");
    return 0;
}

/* Expansion and toRdf of doc into self->ds. */
static int convert(jsonld_t *self, const json_t *doc, err_detail_t *detail)
{
    int rc = begin(self, detail);
    if (rc == 0 && doc == NULL)
        rc = err_set(detail, ERR_INVALID, "", "no document");
    if (rc == 0)
        rc = top_item(self, doc, 1);
    if (rc == 0 && nquads_dataset_count(self->ds) == 0)
        rc = err_set(detail, ERR_INVALID, "", "the document yields no RDF statements");
    return rc;
}

int jsonld_to_dataset(jsonld_t *self, const json_t *doc, const nquads_dataset_t **ds,
                      err_detail_t *detail)
{
    *ds = NULL;
    int rc = convert(self, doc, detail);
    if (rc == 0)
        *ds = self->ds;
    return rc;
}

int jsonld_to_rdf(jsonld_t *self, const json_t *doc, const char **nquads, size_t *len,
                  err_detail_t *detail)
{
    int rc = convert(self, doc, detail);
    if (rc == 0 && (rc = nquads_dataset_write(self->ds, &self->out)) != 0) {
        /* emit() counted the bytes, so only memory can fail here */
        if (rc == ERR_LIMIT)
            err_set(detail, rc, "", "output larger than %u bytes", JSONLD_MAX_OUTPUT);
        else
            err_set(detail, rc, "", "out of memory writing quads");
    }
    if (rc != 0 || self->out.data == NULL) {
        buf_reset(&self->out);
        *nquads = "";
        if (len)
            *len = 0;
        return rc;
    }
    *nquads = self->out.data;
    if (len)
        *len = self->out.len;
    return 0;
}

/* Nesting depth of JSON text (strings skipped), so the parser never recurses deeply. */
static size_t json_depth(const char *s, size_t n)
{
    size_t depth = 0, max = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                max = depth;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return max;
}

int jsonld_to_rdf_text(jsonld_t *self, const char *json, size_t json_len, const char **nquads,
                       size_t *len, err_detail_t *detail)
{
    *nquads = "";
    if (len)
        *len = 0;
    if (json_len > JSONLD_MAX_INPUT)
        return err_set(detail, ERR_LIMIT, "", "document larger than %u bytes", JSONLD_MAX_INPUT);
    if (json_depth(json, json_len) > JSONLD_MAX_DEPTH)
        return err_set(detail, ERR_LIMIT, "", "document nested deeper than %d levels",
                       JSONLD_MAX_DEPTH);
    json_error_t je;
    json_t *doc = json_loadb(json, json_len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
    if (doc == NULL)
        return err_set(detail, ERR_INVALID, "", "invalid JSON at line %d column %d: %s", je.line,
                       je.column, je.text);
    int rc = jsonld_to_rdf(self, doc, nquads, len, detail);
    json_decref(doc);
    return rc;
}

int jsonld_term_info(jsonld_t *self, const char *const *urls, size_t n, const char *scope_type,
                     const char *term, jsonld_term_info_t *info, err_detail_t *detail)
{
    int rc = begin(self, detail);
    const actx_t *ctx = self->root;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const jsonld_ctxdef_t *def = jsonld_ctxdef_find(urls[i], strlen(urls[i]));
        if (def == NULL)
            return err_set(detail, ERR_INVALID, "@context", "unknown context URL %s", urls[i]);
        rc = derive(self, ctx, def, 0, &ctx);
    }
    if (rc == 0 && scope_type != NULL) {
        const tdef_t *d = ctx_lookup(self, ctx, scope_type, strlen(scope_type));
        if (d == NULL || (d->scoped == NULL && !d->scoped_null))
            return err_set(detail, ERR_INVALID, "type", "%s has no type-scoped context",
                           scope_type);
        rc = derive(self, ctx, d->scoped_null ? NULL : d->scoped, DF_NOPROPAGATE, &ctx);
    }
    if (rc)
        return rc;
    const tdef_t *d = ctx_lookup(self, ctx, term, strlen(term));
    if (d == NULL)
        return err_set(detail, ERR_NOT_FOUND, term, "%s is not defined", term);
    memset(info, 0, sizeof *info);
    info->iri = d->iri;
    switch (d->tkind) {
    case T_ID:
        info->type = "@id";
        break;
    case T_VOCAB:
        info->type = "@vocab";
        break;
    case T_JSON:
        info->type = "@json";
        break;
    case T_IRI:
        info->type = d->tiri;
        break;
    default:
        info->type = NULL;
    }
    info->container = d->container;
    info->has_context = d->scoped != NULL || d->scoped_null;
    info->is_protected = d->prot;
    self->info = *info;
    return 0;
}
