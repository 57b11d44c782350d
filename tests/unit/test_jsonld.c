/*
 * Unit tests for jsonld: the context tables against the published context documents, toRdf
 * against the W3C vc-di-eddsa canonical forms, safe-mode refusals, a full Open Badges 3.0
 * credential, canonical literals (numbers, escapes, @json via the RFC 8785 vectors), limits,
 * and the dataset handed to RDFC-1.0 without text (the same quads as the text; canonical
 * forms equal to the vc-di-eddsa vectors byte for byte).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonld.h"
#include "jsonld_contexts.h"
#include "nquads.h"
#include "rdfc.h"

#define V MASTERY_VECTORS

/* ---- helpers ------------------------------------------------------------------------------ */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 8192;
            data = realloc(data, cap);
            assert_non_null(data);
        }
        size_t got = fread(data + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    data[n] = '\0';
    if (len)
        *len = n;
    return data;
}

typedef struct lines {
    char **v;
    size_t n;
} lines_t;

static lines_t split_lines(const char *text)
{
    lines_t l = {NULL, 0};
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > 0) {
            l.v = realloc(l.v, (l.n + 1) * sizeof *l.v);
            l.v[l.n] = strndup(p, len);
            l.n++;
        }
        p += len;
        if (*p == '\n')
            p++;
    }
    return l;
}

static void free_lines(lines_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Blank node labels (prefix "_:") used as whole terms in the lines, in order of appearance. */
static size_t labels(const lines_t *l, char out[][32], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        const char *s = l->v[i];
        for (const char *p = s; (p = strstr(p, "_:")) != NULL; p += 2) {
            if (p != s && p[-1] != ' ')
                continue;
            size_t len = strcspn(p, " ");
            if (len >= 32)
                continue;
            size_t k;
            for (k = 0; k < n; k++)
                if (strlen(out[k]) == len && strncmp(out[k], p, len) == 0)
                    break;
            if (k == n && n < max) {
                memcpy(out[n], p, len);
                out[n][len] = '\0';
                n++;
            }
        }
    }
    return n;
}

/* Replaces whole-term occurrences of from[i] by to[perm[i]]. */
static char *relabel(const char *line, char from[][32], char to[][32], const size_t *perm, size_t n)
{
    char *out = malloc(strlen(line) * 2 + 64);
    size_t o = 0;
    const char *p = line;
    while (*p) {
        int done = 0;
        if (p[0] == '_' && p[1] == ':' && (p == line || p[-1] == ' ')) {
            size_t len = strcspn(p, " ");
            for (size_t i = 0; i < n; i++) {
                if (strlen(from[i]) == len && strncmp(from[i], p, len) == 0) {
                    size_t tl = strlen(to[perm[i]]);
                    memcpy(out + o, to[perm[i]], tl);
                    o += tl;
                    p += len;
                    done = 1;
                    break;
                }
            }
        }
        if (!done)
            out[o++] = *p++;
    }
    out[o] = '\0';
    return out;
}

static int try_perm(const lines_t *got, const lines_t *want, char from[][32], char to[][32],
                    size_t *perm, size_t k, size_t n)
{
    if (k == n) {
        char **mine = malloc(got->n * sizeof *mine);
        for (size_t i = 0; i < got->n; i++)
            mine[i] = relabel(got->v[i], from, to, perm, n);
        qsort(mine, got->n, sizeof *mine, str_cmp);
        int same = 1;
        for (size_t i = 0; i < got->n; i++)
            if (strcmp(mine[i], want->v[i]) != 0)
                same = 0;
        for (size_t i = 0; i < got->n; i++)
            free(mine[i]);
        free(mine);
        return same;
    }
    for (size_t i = k; i < n; i++) {
        size_t t = perm[k];
        perm[k] = perm[i];
        perm[i] = t;
        if (try_perm(got, want, from, to, perm, k + 1, n))
            return 1;
        t = perm[k];
        perm[k] = perm[i];
        perm[i] = t;
    }
    return 0;
}

/*
 * Asserts that two N-Quads documents are the same dataset up to blank node labels: same number
 * of lines, and some bijection between the labels makes the sorted lines equal.
 */
static void assert_isomorphic(const char *got_text, const char *want_text)
{
    lines_t got = split_lines(got_text), want = split_lines(want_text);
    if (got.n != want.n)
        fail_msg("got %zu quads, want %zu:\n%s\nwant:\n%s", got.n, want.n, got_text, want_text);
    qsort(want.v, want.n, sizeof *want.v, str_cmp);
    char from[8][32], to[8][32];
    size_t nf = labels(&got, from, 8), nt = labels(&want, to, 8);
    assert_int_equal(nf, nt);
    size_t perm[8];
    for (size_t i = 0; i < nf; i++)
        perm[i] = i;
    if (!try_perm(&got, &want, from, to, perm, 0, nf))
        fail_msg("not the same dataset:\n%s\nwant:\n%s", got_text, want_text);
    free_lines(&got);
    free_lines(&want);
}

static jsonld_t *P;

static int setup(void **state)
{
    (void)state;
    P = jsonld_new();
    return P ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    jsonld_destroy(&P);
    jsonld_destroy(&P); /* idempotent */
    return 0;
}

static const char *to_rdf(const char *json, err_detail_t *d, int *rc)
{
    /* static: gcc -O3 takes the text for this variable itself once its address has been
     * passed out, and warns that the callers use a dangling pointer */
    static const char *out;
    out = NULL;
    size_t len = 0;
    *rc = jsonld_to_rdf_text(P, json, strlen(json), &out, &len, d);
    assert_non_null(out);
    assert_int_equal(strlen(out), len);
    return out;
}

static void check_vector(const char *doc_path, const char *canon_path)
{
    char *doc = slurp(doc_path, NULL), *want = slurp(canon_path, NULL);
    err_detail_t d;
    int rc;
    const char *got = to_rdf(doc, &d, &rc);
    if (rc != 0)
        fail_msg("%s: %s", doc_path, d.message);
    assert_isomorphic(got, want);
    free(doc);
    free(want);
}

/* ---- context tables vs the published documents -------------------------------------------- */

static const struct {
    const char *url, *file;
} published[] = {
    {"https://www.w3.org/ns/credentials/v2", "credentials-v2.jsonld"},
    {"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json", "ob-context-3.0.3.json"},
    {"https://purl.imsglobal.org/spec/ob/v3p0/extensions.json", "ob-extensions.json"},
    {"https://w3id.org/security/data-integrity/v2", "data-integrity-v2.jsonld"},
    {"https://w3id.org/security/multikey/v1", "multikey-v1.jsonld"},
    {"https://www.w3.org/ns/credentials/status/v1", "vc-bitstring-status-list-v1.jsonld"},
    {"https://www.w3.org/ns/credentials/examples/v2", "credentials-examples-v2.jsonld"},
    {"https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json", "clr-context-2.0.1.json"},
};

static unsigned container_bits(const json_t *c)
{
    unsigned bits = 0;
    size_t n = json_is_array(c) ? json_array_size(c) : (c ? 1 : 0);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_is_array(c) ? json_array_get(c, i) : c);
        assert_non_null(s);
        if (strcmp(s, "@set") == 0)
            bits |= JSONLD_C_SET;
        else if (strcmp(s, "@list") == 0)
            bits |= JSONLD_C_LIST;
        else if (strcmp(s, "@graph") == 0)
            bits |= JSONLD_C_GRAPH;
        else if (strcmp(s, "@language") == 0)
            bits |= JSONLD_C_LANGUAGE;
        else
            fail_msg("unexpected container %s", s);
    }
    return bits;
}

static const jsonld_rawterm_t *table_term(const jsonld_ctxdef_t *t, const char *term)
{
    for (size_t i = 0; i < t->nterms; i++)
        if (strcmp(t->terms[i].term, term) == 0)
            return &t->terms[i];
    return NULL;
}

/* The raw table equals the published local context, recursively. Returns the number of terms. */
static size_t compare_ctx(const json_t *pub, const jsonld_ctxdef_t *t, const char *where)
{
    assert_true(json_is_object(pub));
    const json_t *prot = json_object_get(pub, "@protected");
    assert_int_equal(t->protected_, json_is_true(prot) ? 1 : 0);
    const json_t *vocab = json_object_get(pub, "@vocab");
    assert_int_equal(t->has_vocab, vocab != NULL);
    if (json_is_string(vocab))
        assert_string_equal(t->vocab, json_string_value(vocab));
    size_t nterms = 0, checked = 0;
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)pub, key, val)
    {
        if (key[0] == '@')
            continue;
        nterms++;
        const jsonld_rawterm_t *r = table_term(t, key);
        if (r == NULL)
            fail_msg("%s: term %s missing from the table", where, key);
        assert_string_equal(jsonld_universe[r->tid], key);
        if (json_is_string(val)) {
            assert_true(r->simple);
            assert_string_equal(r->id, json_string_value(val));
            assert_null(r->type);
            assert_int_equal(r->container, 0);
            assert_null(r->context);
            continue;
        }
        assert_false(r->simple);
        const json_t *id = json_object_get(val, "@id"), *type = json_object_get(val, "@type");
        if (id)
            assert_string_equal(r->id, json_string_value(id));
        else
            assert_null(r->id);
        if (type)
            assert_string_equal(r->type, json_string_value(type));
        else
            assert_null(r->type);
        assert_int_equal(r->container, container_bits(json_object_get(val, "@container")));
        const json_t *p = json_object_get(val, "@protected");
        assert_int_equal(r->protected_, p ? (json_is_true(p) ? 1 : 0) : -1);
        const json_t *sc = json_object_get(val, "@context");
        if (sc == NULL) {
            assert_null(r->context);
            assert_false(r->context_null);
        } else if (json_is_null(sc)) {
            assert_true(r->context_null);
        } else {
            assert_non_null(r->context);
            char sub[256];
            snprintf(sub, sizeof sub, "%s/%s", where, key);
            checked += compare_ctx(sc, r->context, sub);
        }
    }
    assert_int_equal(nterms, t->nterms);
    return nterms + checked;
}

/* The processed definition (jsonld_term_info) agrees with the published one. */
static void compare_processed(const json_t *pub_ctx, const char *const *urls, size_t nurls,
                              const char *scope)
{
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)pub_ctx, key, val)
    {
        if (key[0] == '@')
            continue;
        jsonld_term_info_t info;
        err_detail_t d;
        int rc = jsonld_term_info(P, urls, nurls, scope, key, &info, &d);
        if (rc != 0)
            fail_msg("%s (scope %s): %s", key, scope ? scope : "-", d.message);
        const json_t *id = json_is_string(val) ? val : json_object_get(val, "@id");
        const char *want = json_string_value(id);
        /* an @id naming another term of the same context ("AchievementCredential") */
        const json_t *ref = want ? json_object_get(pub_ctx, want) : NULL;
        if (ref != NULL && strchr(want, ':') == NULL)
            want = json_string_value(json_is_string(ref) ? ref : json_object_get(ref, "@id"));
        assert_non_null(info.iri);
        assert_string_equal(info.iri, want);
        const json_t *type = json_is_object(val) ? json_object_get(val, "@type") : NULL;
        if (type) {
            /* a compact IRI whose prefix the same context defines ("obi:Achievement" in
             * CLR 2.0.1) is expanded; anything else stays as written ("xsd:anyURI") */
            const char *tw = json_string_value(type), *colon = strchr(tw, ':');
            char prefix[64], full[512];
            const json_t *pv = NULL;
            if (colon != NULL && (size_t)(colon - tw) < sizeof prefix) {
                memcpy(prefix, tw, (size_t)(colon - tw));
                prefix[colon - tw] = '\0';
                pv = json_object_get(pub_ctx, prefix);
            }
            if (json_is_string(pv)) {
                snprintf(full, sizeof full, "%s%s", json_string_value(pv), colon + 1);
                tw = full;
            }
            assert_string_equal(info.type, tw);
        } else
            assert_null(info.type);
        assert_int_equal(
            info.container,
            container_bits(json_is_object(val) ? json_object_get(val, "@container") : NULL));
        assert_int_equal(info.has_context,
                         json_is_object(val) && json_object_get(val, "@context") != NULL);
        assert_true(info.is_protected == json_is_true(json_object_get(pub_ctx, "@protected")));
    }
}

static void test_context_tables(void **state)
{
    (void)state;
    size_t total = 0;
    for (size_t i = 0; i < sizeof published / sizeof published[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/contexts/%s", V, published[i].file);
        json_error_t je;
        json_t *doc = json_load_file(path, 0, &je);
        if (doc == NULL)
            fail_msg("%s: %s", path, je.text);
        const jsonld_ctxdef_t *t = jsonld_ctxdef_find(published[i].url, strlen(published[i].url));
        assert_non_null(t);
        const json_t *ctx = json_object_get(doc, "@context");
        total += compare_ctx(ctx, t, published[i].file);

        /* processed: top-level terms, then each type-scoped context's terms */
        const char *urls[1] = {published[i].url};
        compare_processed(ctx, urls, 1, NULL);
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)ctx, key, val)
        {
            const json_t *sc = json_is_object(val) ? json_object_get(val, "@context") : NULL;
            if (json_is_object(sc) && key[0] >= 'A' && key[0] <= 'Z')
                compare_processed(sc, urls, 1, key);
        }
        json_decref(doc);
    }
    assert_true(total > 250);
    /* the Open Badges context on top of VC v2: no protected-term conflict */
    const char *both[2] = {"https://www.w3.org/ns/credentials/v2",
                           "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"};
    jsonld_term_info_t info;
    err_detail_t d;
    assert_int_equal(jsonld_term_info(P, both, 2, NULL, "AchievementCredential", &info, &d), 0);
    assert_string_equal(info.iri, "https://purl.imsglobal.org/spec/vc/ob/vocab.html#"
                                  "OpenBadgeCredential");
    assert_int_equal(jsonld_term_info(P, both, 2, "VerifiableCredential", "proof", &info, &d), 0);
    assert_string_equal(info.iri, "https://w3id.org/security#proof");
    assert_int_equal(info.container, JSONLD_C_GRAPH);
    assert_string_equal(info.type, "@id");
    assert_int_equal(jsonld_term_info(P, both, 2, NULL, "fooBar", &info, &d), ERR_NOT_FOUND);
    const char *unknown[1] = {"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json"};
    assert_int_equal(jsonld_term_info(P, unknown, 1, NULL, "id", &info, &d), ERR_INVALID);
}

/* ---- the W3C vectors ---------------------------------------------------------------------- */

static void test_vc_di_eddsa_unsigned(void **state)
{
    (void)state;
    check_vector(V "/vc-di-eddsa/unsigned.json",
                 V "/vc-di-eddsa/eddsa-rdfc-2022/canonDocDataInt.txt");
}

static void test_vc_di_eddsa_proof_config(void **state)
{
    (void)state;
    check_vector(V "/vc-di-eddsa/eddsa-rdfc-2022/proofConfigDataInt.json",
                 V "/vc-di-eddsa/eddsa-rdfc-2022/proofCanonDataInt.txt");
}

static void test_vc_di_eddsa_employ(void **state)
{
    (void)state;
    check_vector(V "/vc-di-eddsa/employmentAuth.json",
                 V "/vc-di-eddsa/eddsa-rdfc-2022/employ/canonDocDataInt.txt");
    check_vector(V "/vc-di-eddsa/eddsa-rdfc-2022/employ/proofConfigDataInt.json",
                 V "/vc-di-eddsa/eddsa-rdfc-2022/employ/proofCanonDataInt.txt");
}

/* Number of terms in an N-Quads line (3: default graph, 4: a named graph). */
static int count_terms(const char *p)
{
    int n = 0;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == '\0' || *p == '.')
            return n;
        n++;
        if (*p == '<') {
            p = strchr(p, '>') + 1;
        } else if (*p == '"') {
            for (p++; *p != '"'; p++)
                if (*p == '\\')
                    p++;
            p++;
            if (*p == '@' || *p == '^')
                p += strcspn(p, " ");
        } else {
            p += strcspn(p, " ");
        }
    }
}

/* The signed credential: the document's quads plus the proof in its own named graph. */
static void test_signed_has_proof_graph(void **state)
{
    (void)state;
    char *doc = slurp(V "/vc-di-eddsa/eddsa-rdfc-2022/signedDataInt.json", NULL);
    err_detail_t d;
    int rc;
    const char *got = to_rdf(doc, &d, &rc);
    if (rc)
        fail_msg("%s", d.message);
    lines_t l = split_lines(got);
    assert_int_equal(l.n, 8 + 1 + 6);
    size_t in_graph = 0;
    char graph[32] = "";
    for (size_t i = 0; i < l.n; i++) {
        if (count_terms(l.v[i]) != 4)
            continue;
        in_graph++;
        const char *g = strrchr(l.v[i], '_');
        assert_non_null(g);
        if (graph[0] == '\0')
            snprintf(graph, sizeof graph, "%s", g);
        assert_string_equal(g, graph); /* one graph */
        if (strstr(l.v[i], "https://w3id.org/security#proofValue") != NULL)
            assert_non_null(strstr(l.v[i], "^^<https://w3id.org/security#multibase> _:b"));
    }
    assert_int_equal(in_graph, 6);
    free_lines(&l);
    free(doc);
}

/* ---- safe mode ---------------------------------------------------------------------------- */

static void expect_error(const char *json, int code, const char *field, const char *needle)
{
    err_detail_t d;
    int rc;
    const char *out = to_rdf(json, &d, &rc);
    if (rc != code)
        fail_msg("rc %d (want %d) for %s: %s / %s", rc, code, json, d.message, out);
    assert_int_equal(d.code, code);
    assert_string_equal(out, "");
    if (field != NULL)
        assert_string_equal(d.field, field);
    if (strstr(d.message, needle) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", d.message, needle);
}

#define OB_CTX                                                                                     \
    "\"@context\": [\"https://www.w3.org/ns/credentials/v2\", "                                    \
    "\"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json\"]"

static void test_safe_mode(void **state)
{
    (void)state;
    expect_error("{" OB_CTX ", \"id\": \"urn:uuid:1\", \"type\": [\"VerifiableCredential\", "
                 "\"OpenBadgeCredential\"], \"credentialSubject\": {\"type\": "
                 "[\"AchievementSubject\"], \"achievement\": {\"id\": \"urn:a\", \"type\": "
                 "[\"Achievement\"], \"fooBar\": 1}}}",
                 ERR_INVALID, "credentialSubject.achievement.fooBar",
                 "credentialSubject.achievement.fooBar: term not defined by the active context");
    expect_error("{\"@context\": [\"https://www.w3.org/ns/credentials/v2\", "
                 "\"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json\"], \"name\": "
                 "\"x\"}",
                 ERR_INVALID, "@context[1]",
                 "unknown context URL https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json");
    expect_error("{" OB_CTX ", \"id\": \"credentials/1\", \"name\": \"x\"}", ERR_INVALID, "id",
                 "credentials/1 is not an absolute IRI");
    expect_error("{" OB_CTX ", \"type\": [\"VerifiableCredential\"], \"issuer\": \"issuers/9\"}",
                 ERR_INVALID, "issuer", "issuers/9 is not an absolute IRI");
    expect_error("{" OB_CTX ", \"type\": \"ResultDescription\", \"allowedValue\": [[\"a\"], "
                 "[\"b\"]]}",
                 ERR_INVALID, "allowedValue[0]", "lists of lists");
    expect_error("{" OB_CTX ", \"type\": \"ResultDescription\", \"allowedValue\": {\"@list\": "
                 "[{\"@list\": [\"a\"]}]}}",
                 ERR_INVALID, "allowedValue.@list[0]", "lists of lists");
    /* type-scoped contexts do not propagate: Achievement's terms stop at nested nodes */
    expect_error("{" OB_CTX ", \"id\": \"urn:a\", \"type\": \"Achievement\", \"achievementType\": "
                 "\"Competency\", \"criteria\": {\"achievementType\": \"x\"}}",
                 ERR_INVALID, "criteria.achievementType",
                 "criteria.achievementType: term not defined by the active context");
    expect_error("{" OB_CTX ", \"name\": null}", ERR_INVALID, "name", "null value");
    expect_error("{" OB_CTX ", \"type\": \"NoSuchType\"}", ERR_INVALID, "type",
                 "type NoSuchType is not defined");
    expect_error("{\"@context\": {\"name\": \"http://schema.org/name\"}, \"name\": \"x\"}",
                 ERR_INVALID, "@context", "inline context");
    expect_error("{\"name\": \"x\"}", ERR_INVALID, "name", "term not defined");
    expect_error("{" OB_CTX ", \"@foo\": 1, \"name\": \"x\"}", ERR_INVALID, "@foo",
                 "unknown keyword");
    expect_error("{" OB_CTX ", \"@reverse\": {}, \"name\": \"x\"}", ERR_INVALID, "@reverse",
                 "not supported");
    expect_error("{" OB_CTX ", \"id\": \"urn:x\"}", ERR_INVALID, "", "node has no properties");
    expect_error("[\"just a string\"]", ERR_INVALID, "[0]", "free-floating");
    expect_error("{" OB_CTX ", \"name\": {\"@value\": \"x\", \"@language\": \"not a tag\"}}",
                 ERR_INVALID, "name", "invalid @language");
    expect_error("{" OB_CTX ", \"type\": \"VerifiableCredential\", \"proof\": \"did:x:y\"}",
                 ERR_INVALID, "proof", "would be dropped");
    expect_error("{" OB_CTX ", \"id\": \"urn:x\", \"@id\": \"urn:y\", \"name\": \"n\"}",
                 ERR_INVALID, NULL, "colliding keywords");
    /* a redefinition of a protected term by a later context */
    expect_error("{\"@context\": [\"https://www.w3.org/ns/credentials/v2\", "
                 "\"https://w3id.org/citizenship/v4rc1\", "
                 "\"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json\"], \"name\": "
                 "\"x\"}",
                 ERR_INVALID, "@context[2]", "protected term redefinition: image");
    expect_error("{\"@context\": [\"https://www.w3.org/ns/credentials/v2\", null], \"id\": "
                 "\"urn:x\"}",
                 ERR_INVALID, "@context[1]", "invalid context nullification");
    expect_error("{\"@context\": \"https://www.w3.org/ns/credentials/examples/v2\", \"x\": "
                 "[1, 1e-7]}",
                 ERR_INVALID, "x[1]", "number 1e-7 is converted differently");
    expect_error("{\"a\": ", ERR_INVALID, "", "invalid JSON");
    expect_error("{" OB_CTX ", \"name\": \"a\", \"name\": \"b\"}", ERR_INVALID, "", "invalid JSON");
}

/* Input built by a caller: keys with NUL bytes, nested arrays in a @graph container. */
static void test_tree_input(void **state)
{
    (void)state;
    json_error_t je;
    json_t *doc =
        json_loads("{\"@context\": [\"https://www.w3.org/ns/credentials/v2\", "
                   "\"https://www.w3.org/ns/credentials/examples/v2\"], \"id\": \"urn:c\", "
                   "\"type\": \"VerifiableCredential\", \"proof\": [[{\"type\": "
                   "\"DataIntegrityProof\", \"nonce\": \"1\"}], {\"type\": "
                   "\"DataIntegrityProof\", \"nonce\": \"2\"}]}",
                   0, &je);
    assert_non_null(doc);
    const char *out;
    err_detail_t d;
    assert_int_equal(jsonld_to_rdf(P, doc, &out, NULL, &d), 0);
    lines_t l = split_lines(out);
    size_t graphs = 0, named = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (strstr(l.v[i], "<https://w3id.org/security#proof> _:b") != NULL)
            graphs++;
        if (count_terms(l.v[i]) == 4)
            named++;
    }
    assert_int_equal(graphs, 2);
    assert_int_equal(named, 4);
    free_lines(&l);
    /* a key with a NUL byte is no term and no keyword; with @vocab it is no valid IRI */
    json_object_setn_new(doc, "@id\0x", 5, json_string("urn:y"));
    assert_int_equal(jsonld_to_rdf(P, doc, &out, NULL, &d), ERR_INVALID);
    if (strstr(d.message, "is not a valid IRI") == NULL)
        fail_msg("%s", d.message);
    json_decref(doc);
}

static void test_limits(void **state)
{
    (void)state;
    size_t n = 200;
    char *deep = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        deep[i] = '[';
        deep[n + i] = ']';
    }
    deep[2 * n] = '\0';
    expect_error(deep, ERR_LIMIT, "", "nested deeper");
    free(deep);

    /* the same depth through a jansson tree built by the caller */
    json_t *doc = json_array(), *cur = doc;
    for (size_t i = 0; i < 100; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    const char *out;
    err_detail_t d;
    assert_int_equal(jsonld_to_rdf(P, doc, &out, NULL, &d), ERR_LIMIT);
    json_decref(doc);

    char *big = malloc(JSONLD_MAX_INPUT + 2);
    memset(big, ' ', JSONLD_MAX_INPUT + 1);
    big[JSONLD_MAX_INPUT + 1] = '\0';
    expect_error(big, ERR_LIMIT, "", "larger than");
    free(big);

    /* many distinct blank nodes and quads are fine up to the limit */
    json_error_t je;
    json_t *many =
        json_loads("{\"@context\": \"https://www.w3.org/ns/credentials/examples/v2\"}", 0, &je);
    json_t *arr = json_array();
    for (int i = 0; i < 2000; i++)
        json_array_append_new(arr, json_pack("{s:i}", "v", i));
    json_object_set_new(many, "items", arr);
    size_t len;
    assert_int_equal(jsonld_to_rdf(P, many, &out, &len, &d), 0);
    lines_t l = split_lines(out);
    assert_int_equal(l.n, 4000);
    free_lines(&l);
    json_decref(many);
}

/* ---- a full Open Badges 3.0 credential ---------------------------------------------------- */

static const char *ob_credential =
    "{" OB_CTX ","
    "\"id\": \"urn:uuid:a63a60be-f4af-491c-87fc-2c8fd3007a58\","
    "\"type\": [\"VerifiableCredential\", \"OpenBadgeCredential\"],"
    "\"name\": \"Adding fractions\","
    "\"description\": \"Awarded for mastering\\n\\\"like\\\" denominators.\","
    "\"issuer\": {\"id\": \"did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2\","
    "  \"type\": [\"Profile\"], \"name\": \"Example School\", \"url\": \"https://school.example\"},"
    "\"validFrom\": \"2026-11-20T10:15:00Z\","
    "\"validUntil\": \"2031-11-20T10:15:00Z\","
    "\"awardedDate\": \"2026-11-20T10:15:00Z\","
    "\"credentialSubject\": {"
    "  \"type\": [\"AchievementSubject\"],"
    "  \"identifier\": [{\"type\": \"IdentityObject\", \"hashed\": true,"
    "     \"identityHash\": "
    "\"sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399\","
    "     \"identityType\": \"identifier\", \"salt\": \"not-so-random\"}],"
    "  \"achievement\": {"
    "    \"id\": \"https://school.example/achievements/frac.add-like\","
    "    \"type\": [\"Achievement\"],"
    "    \"achievementType\": \"Competency\","
    "    \"name\": \"Add fractions with like denominators\","
    "    \"description\": \"Adds fractions whose denominators are equal.\","
    "    \"criteria\": {\"narrative\": \"Latest score 80% or better.\"},"
    "    \"image\": {\"id\": \"https://school.example/badges/frac.png\", \"type\": \"Image\","
    "      \"caption\": \"A pie\"},"
    "    \"creditsAvailable\": 1.5,"
    "    \"tag\": [\"math\", \"fractions\"],"
    "    \"alignment\": [{\"type\": [\"Alignment\"],"
    "      \"targetName\": \"Add fractions\","
    "      \"targetUrl\": \"https://case.example/uri/1f2e\","
    "      \"targetCode\": \"5.NF.A.1\","
    "      \"targetFramework\": \"Grade 5 fractions\","
    "      \"targetType\": \"CFItem\"}]"
    "  },"
    "  \"result\": [{\"type\": [\"Result\"], \"value\": \"0.92\"}]"
    "},"
    "\"evidence\": [{\"id\": \"https://school.example/evidence/quiz-77-s1001-q3\","
    "  \"type\": [\"Evidence\"], \"name\": \"Quiz 77\", \"narrative\": \"Scored 92%.\","
    "  \"genre\": \"quiz\", \"audience\": \"teacher\"}],"
    "\"credentialStatus\": {\"id\": \"https://school.example/status/1#94567\","
    "  \"type\": \"BitstringStatusListEntry\", \"statusPurpose\": \"revocation\","
    "  \"statusListIndex\": \"94567\", \"statusSize\": 1,"
    "  \"statusListCredential\": \"https://school.example/status/1\"},"
    "\"proof\": [{\"type\": \"DataIntegrityProof\", \"cryptosuite\": \"eddsa-rdfc-2022\","
    "  \"created\": \"2026-11-20T10:15:01Z\","
    "  \"verificationMethod\": \"did:key:z6Mkr#z6Mkr\","
    "  \"proofPurpose\": \"assertionMethod\", \"proofValue\": \"z3abc\"}]"
    "}";

static void has_line(const char *out, const char *line)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s\n", line);
    if (strstr(out, buf) == NULL)
        fail_msg("missing quad: %s\nin:\n%s", line, out);
}

#define OB   "https://purl.imsglobal.org/spec/vc/ob/vocab.html#"
#define CRED "<urn:uuid:a63a60be-f4af-491c-87fc-2c8fd3007a58> "
#define ACH  "<https://school.example/achievements/frac.add-like> "

static void test_open_badge(void **state)
{
    (void)state;
    err_detail_t d;
    int rc;
    const char *out = to_rdf(ob_credential, &d, &rc);
    if (rc)
        fail_msg("%s", d.message);
    has_line(out, CRED "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <" OB
                       "OpenBadgeCredential> .");
    has_line(out, CRED "<https://schema.org/description> \"Awarded for mastering\\n\\\"like\\\" "
                       "denominators.\" .");
    has_line(out, CRED "<https://www.w3.org/2018/credentials#validUntil> "
                       "\"2031-11-20T10:15:00Z\"^^<http://www.w3.org/2001/XMLSchema#dateTime> .");
    /* OB 3.0.3 writes this datatype as "xsd:dateTime" without defining xsd: kept as written */
    has_line(out, CRED "<" OB "awardedDate> \"2026-11-20T10:15:00Z\"^^<xsd:dateTime> .");
    has_line(out, ACH "<" OB "achievementType> \"Competency\" .");
    has_line(out, ACH "<" OB "creditsAvailable> "
                      "\"1.5E0\"^^<https://www.w3.org/2001/XMLSchema#float> .");
    has_line(out, ACH "<https://schema.org/keywords> \"fractions\" .");
    has_line(out, ACH "<" OB "image> <https://school.example/badges/frac.png> .");
    has_line(out, "<https://school.example/badges/frac.png> <https://schema.org/caption> "
                  "\"A pie\" .");
    has_line(out, "<https://school.example/evidence/quiz-77-s1001-q3> <https://schema.org/genre> "
                  "\"quiz\" .");
    has_line(out, "<https://school.example/status/1#94567> "
                  "<https://www.w3.org/ns/credentials/status#statusListCredential> "
                  "<https://school.example/status/1> .");
    has_line(out, "<https://school.example/status/1#94567> "
                  "<https://www.w3.org/ns/credentials/status#statusSize> "
                  "\"1\"^^<https://www.w3.org/2001/XMLSchema#integer> .");
    has_line(out, CRED "<https://www.w3.org/2018/credentials#credentialStatus> "
                       "<https://school.example/status/1#94567> .");
    const char *p = strstr(out, "<https://schema.org/targetUrl> ");
    assert_non_null(p);
    assert_non_null(strstr(p, "\"https://case.example/uri/1f2e\"^^<https://www.w3.org/2001/"
                              "XMLSchema#anyURI> ."));
    p = strstr(out, "<" OB "hashed> ");
    assert_non_null(p);
    assert_true(strncmp(p + strlen("<" OB "hashed> "),
                        "\"true\"^^<https://www.w3.org/2001/XMLSchema#boolean> .", 40) == 0);
    /* the proof: its quads are in a named graph, the credential points at the graph */
    p = strstr(out, CRED "<https://w3id.org/security#proof> _:b");
    assert_non_null(p);
    char graph[32];
    assert_int_equal(sscanf(p + strlen(CRED "<https://w3id.org/security#proof> "), "%31s", graph),
                     1);
    char want[256];
    snprintf(want, sizeof want,
             "<https://w3id.org/security#proofPurpose> "
             "<https://w3id.org/security#assertionMethod> %s .",
             graph);
    assert_non_null(strstr(out, want));
    /* deterministic, and the cache gives the same answer the second time */
    char *first = strdup(out);
    out = to_rdf(ob_credential, &d, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, first);
    free(first);
    lines_t l = split_lines(out);
    assert_true(l.n > 40);
    free_lines(&l);
}

/* ---- literals ----------------------------------------------------------------------------- */

#define EX  "https://www.w3.org/ns/credentials/examples#"
#define XSD "http://www.w3.org/2001/XMLSchema#"

static void test_literals(void **state)
{
    (void)state;
    err_detail_t d;
    int rc;
    const char *out = to_rdf(
        "{\"@context\": \"https://www.w3.org/ns/credentials/examples/v2\", \"@id\": "
        "\"urn:s\", \"i\": 5, \"r\": 5.5, \"big\": 1e21, \"neg\": -0.0, \"tiny\": "
        "-3.25e-7, \"whole\": 2.0, \"t\": true, \"f\": false, \"dbl\": {\"@value\": 7, "
        "\"@type\": \"http://www.w3.org/2001/XMLSchema#double\"}, \"lang\": {\"@value\": "
        "\"Hi\", \"@language\": \"EN-us\"}, \"esc\": \"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\fc\\u0001"
        "d\\u007f\\u00e9\", \"typed\": {\"@value\": \"x\", \"@type\": \"urn:t\"}, "
        "\"list\": {\"@list\": [1, \"a\"]}, \"empty\": {\"@list\": []}, \"bn\": "
        "{\"@id\": \"_:x\", \"v\": 1}, \"bn2\": {\"@id\": \"_:x\"}, \"dup\": [1, 1]}",
        &d, &rc);
    if (rc)
        fail_msg("%s", d.message);
    has_line(out, "<urn:s> <" EX "i> \"5\"^^<" XSD "integer> .");
    has_line(out, "<urn:s> <" EX "r> \"5.5E0\"^^<" XSD "double> .");
    has_line(out, "<urn:s> <" EX "big> \"1.0E21\"^^<" XSD "double> .");
    has_line(out, "<urn:s> <" EX "neg> \"0\"^^<" XSD "integer> .");
    has_line(out, "<urn:s> <" EX "tiny> \"-3.25E-7\"^^<" XSD "double> .");
    has_line(out, "<urn:s> <" EX "whole> \"2\"^^<" XSD "integer> .");
    has_line(out, "<urn:s> <" EX "t> \"true\"^^<" XSD "boolean> .");
    has_line(out, "<urn:s> <" EX "f> \"false\"^^<" XSD "boolean> .");
    has_line(out, "<urn:s> <" EX "dbl> \"7.0E0\"^^<" XSD "double> .");
    has_line(out, "<urn:s> <" EX "lang> \"Hi\"@en-us .");
    has_line(out,
             "<urn:s> <" EX "esc> \"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\fc\\u0001d\\u007F\xc3\xa9\" .");
    has_line(out, "<urn:s> <" EX "typed> \"x\"^^<urn:t> .");
    has_line(out, "<urn:s> <" EX "empty> <http://www.w3.org/1999/02/22-rdf-syntax-ns#nil> .");
    assert_non_null(strstr(out, "<http://www.w3.org/1999/02/22-rdf-syntax-ns#first> \"a\" ."));
    assert_non_null(strstr(out, "<http://www.w3.org/1999/02/22-rdf-syntax-ns#first> \"1\"^^<" XSD
                                "integer> ."));
    /* the same blank node label is the same node; duplicate quads appear once */
    const char *b1 = strstr(out, "<urn:s> <" EX "bn> ");
    const char *b2 = strstr(out, "<urn:s> <" EX "bn2> ");
    assert_non_null(b1);
    assert_non_null(b2);
    assert_int_equal(strcspn(b1 + strlen("<urn:s> <" EX "bn> "), " "),
                     strcspn(b2 + strlen("<urn:s> <" EX "bn2> "), " "));
    assert_memory_equal(b1 + strlen("<urn:s> <" EX "bn> "), b2 + strlen("<urn:s> <" EX "bn2> "),
                        strcspn(b2 + strlen("<urn:s> <" EX "bn2> "), " "));
    const char *dup = strstr(out, "<urn:s> <" EX "dup> ");
    assert_non_null(dup);
    assert_null(strstr(dup + 1, "<urn:s> <" EX "dup> "));
}

/* Unescapes the string literal starting at q (after the opening quote) into out. */
static size_t nq_unescape(const char *q, char *out, size_t cap)
{
    size_t o = 0;
    for (; *q && *q != '"' && o + 4 < cap; q++) {
        if (*q != '\\') {
            out[o++] = *q;
            continue;
        }
        q++;
        switch (*q) {
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'u': {
            unsigned cp = 0;
            sscanf(q + 1, "%4x", &cp);
            out[o++] = (char)cp;
            q += 4;
            break;
        }
        default:
            out[o++] = *q;
        }
    }
    out[o] = '\0';
    return o;
}

/* The @json literal of each RFC 8785 input is its canonical form. */
static void test_json_literals_jcs(void **state)
{
    (void)state;
    static const char *names[] = {"arrays", "french", "structures", "unicode", "values", "weird"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/jcs/input/%s.json", V, names[i]);
        json_error_t je;
        json_t *in = json_load_file(path, JSON_DECODE_INT_AS_REAL, &je);
        assert_non_null(in);
        json_t *doc =
            json_pack("{s:[s],s:s,s:s,s:o}", "@context", "https://www.w3.org/ns/credentials/v2",
                      "id", "urn:schema:1", "type", "JsonSchema", "jsonSchema", in);
        const char *out;
        err_detail_t d;
        if (jsonld_to_rdf(P, doc, &out, NULL, &d) != 0)
            fail_msg("%s: %s", names[i], d.message);
        const char *pfx = "<urn:schema:1> <https://www.w3.org/2018/credentials#jsonSchema> \"";
        const char *q = strstr(out, pfx);
        assert_non_null(q);
        assert_non_null(strstr(q, "\"^^<http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON> ."));
        static char got[65536];
        nq_unescape(q + strlen(pfx), got, sizeof got);
        snprintf(path, sizeof path, "%s/jcs/output/%s.json", V, names[i]);
        char *want = slurp(path, NULL);
        assert_string_equal(got, want);
        free(want);
        json_decref(doc);
    }
}

/* ES6 number serialization against the first 10,000 lines of the RFC 8785 number file. */
static void test_json_numbers_es6(void **state)
{
    (void)state;
    size_t len;
    char *text = slurp(V "/jcs/es6-numbers-first10k.txt", &len);
    json_t *arr = json_array();
    lines_t l = split_lines(text);
    size_t used = 0;
    char **want = calloc(l.n, sizeof *want);
    for (size_t i = 0; i < l.n; i++) {
        char *comma = strchr(l.v[i], ',');
        assert_non_null(comma);
        *comma = '\0';
        uint64_t bits = strtoull(l.v[i], NULL, 16);
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v))
            continue;
        json_array_append_new(arr, json_real(v));
        want[used++] = comma + 1;
    }
    json_t *doc = json_pack("{s:s,s:s,s:s,s:o}", "@context", "https://www.w3.org/ns/credentials/v2",
                            "id", "urn:n", "type", "JsonSchema", "jsonSchema", arr);
    const char *out;
    err_detail_t d;
    if (jsonld_to_rdf(P, doc, &out, NULL, &d) != 0)
        fail_msg("%s", d.message);
    const char *q = strchr(out, '"');
    assert_non_null(q);
    assert_int_equal(q[1], '[');
    q += 2;
    for (size_t i = 0; i < used; i++) {
        size_t n = strcspn(q, ",]");
        if (strlen(want[i]) != n || strncmp(q, want[i], n) != 0)
            fail_msg("number %zu: got %.*s want %s", i, (int)n, q, want[i]);
        q += n + 1;
    }
    json_decref(doc);
    free(want);
    free_lines(&l);
    free(text);
}

/* ---- the dataset, without text ----------------------------------------------------------- */

/* The dataset of doc_path, canonicalized, must be canon_path byte for byte. */
static void check_dataset_canon(const char *doc_path, const char *canon_path)
{
    json_error_t je;
    json_t *doc = json_load_file(doc_path, 0, &je);
    assert_non_null(doc);
    /* the text form of the same call, for comparison */
    const char *text;
    size_t text_len;
    err_detail_t d;
    assert_int_equal(jsonld_to_rdf(P, doc, &text, &text_len, &d), 0);
    char *text_copy = strdup(text);
    const nquads_dataset_t *ds = NULL;
    if (jsonld_to_dataset(P, doc, &ds, &d) != 0)
        fail_msg("%s: %s", doc_path, d.message);
    assert_non_null(ds);
    /* the same quads, in the same order */
    char *written;
    size_t written_len;
    assert_int_equal(nquads_dataset_serialize(ds, &written, &written_len), 0);
    assert_int_equal(written_len, text_len);
    assert_string_equal(written, text_copy);
    free(written);
    rdfc_result_t *res = NULL;
    assert_int_equal(rdfc_canonicalize(ds, NULL, &res, &d), 0);
    size_t len;
    const char *canon = rdfc_result_nquads(res, &len);
    char *want = slurp(canon_path, NULL);
    assert_string_equal(canon, want);
    /* and the round trip through text gives the same bytes */
    char *via_text = NULL;
    size_t via_len;
    assert_int_equal(rdfc_canonicalize_nquads(text_copy, text_len, NULL, &via_text, &via_len, &d),
                     0);
    assert_int_equal(via_len, len);
    assert_memory_equal(via_text, canon, len);
    free(via_text);
    free(want);
    free(text_copy);
    rdfc_result_destroy(&res);
    json_decref(doc);
}

static void test_dataset(void **state)
{
    (void)state;
    check_dataset_canon(V "/vc-di-eddsa/unsigned.json",
                        V "/vc-di-eddsa/eddsa-rdfc-2022/canonDocDataInt.txt");
    check_dataset_canon(V "/vc-di-eddsa/eddsa-rdfc-2022/proofConfigDataInt.json",
                        V "/vc-di-eddsa/eddsa-rdfc-2022/proofCanonDataInt.txt");
    check_dataset_canon(V "/vc-di-eddsa/employmentAuth.json",
                        V "/vc-di-eddsa/eddsa-rdfc-2022/employ/canonDocDataInt.txt");
    /* terms as the text writes them: lowercased language, no xsd:string, labels b<n> */
    json_error_t je;
    json_t *doc = json_loads("{\"@context\": \"https://www.w3.org/ns/credentials/examples/v2\", "
                             "\"@id\": \"urn:s\", \"lang\": {\"@value\": \"Hi\", "
                             "\"@language\": \"EN-us\"}, \"s\": {\"@value\": \"x\", \"@type\": "
                             "\"http://www.w3.org/2001/XMLSchema#string\"}, \"n\": {\"v\": 1}}",
                             0, &je);
    assert_non_null(doc);
    const nquads_dataset_t *ds;
    err_detail_t d;
    assert_int_equal(jsonld_to_dataset(P, doc, &ds, &d), 0);
    assert_int_equal(nquads_dataset_count(ds), 4);
    int seen = 0;
    for (size_t i = 0; i < nquads_dataset_count(ds); i++) {
        const nquads_quad_t *q = nquads_dataset_quad(ds, i);
        assert_int_equal(q->g.kind, NQUADS_NONE);
        if (q->o.kind == NQUADS_LITERAL && q->o.lang != NULL) {
            assert_string_equal(q->o.lang, "en-us");
            assert_null(q->o.datatype);
            seen |= 1;
        } else if (q->o.kind == NQUADS_LITERAL && strcmp(q->o.value, "x") == 0) {
            assert_null(q->o.datatype);
            seen |= 2;
        } else if (q->o.kind == NQUADS_BNODE) {
            assert_string_equal(q->o.value, "b0");
            seen |= 4;
        }
    }
    assert_int_equal(seen, 7);
    /* a failure hands out no dataset */
    json_object_set_new(doc, "name", json_null());
    ds = (const nquads_dataset_t *)&d; /* anything but NULL */
    assert_int_equal(jsonld_to_dataset(P, doc, &ds, &d), ERR_INVALID);
    assert_null(ds);
    assert_string_equal(d.field, "name");
    json_decref(doc);
}

/* The JSON-LD output bound holds for the dataset as for the text: it counts the text's bytes. */
static void test_output_bound(void **state)
{
    (void)state;
    size_t n = 2000000; /* below the literal limit (JSONLD_MAX_OUTPUT / 6) */
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    json_t *doc = json_pack("{s:s,s:s}", "@context",
                            "https://www.w3.org/ns/credentials/examples/v2", "@id", "urn:s");
    char key[8];
    for (int i = 0; i < 9; i++) { /* 9 x 2 MB > 16 MiB > 8 x 2 MB */
        snprintf(key, sizeof key, "p%d", i);
        big[0] = (char)('a' + i); /* distinct quads */
        json_object_set_new(doc, key, json_string(big));
    }
    const nquads_dataset_t *ds;
    const char *out;
    size_t len;
    err_detail_t d;
    assert_int_equal(jsonld_to_dataset(P, doc, &ds, &d), ERR_LIMIT);
    assert_non_null(strstr(d.message, "output larger than"));
    assert_int_equal(jsonld_to_rdf(P, doc, &out, &len, &d), ERR_LIMIT);
    assert_string_equal(out, "");
    /* eight fit */
    json_object_del(doc, "p8");
    assert_int_equal(jsonld_to_dataset(P, doc, &ds, &d), 0);
    assert_int_equal(nquads_dataset_count(ds), 8);
    json_decref(doc);
    free(big);
}

/* @json literals: the one RFC 8785 formatter (jcs.h), and the nesting bound of this module. */
static void test_json_literal_edges(void **state)
{
    (void)state;
    /* 2^-1017: the shortest form has 16 digits; a formatter that tried only the nearest
     * 16-digit decimal wrote 17 */
    json_t *doc =
        json_pack("{s:s,s:s,s:s,s:[f]}", "@context", "https://www.w3.org/ns/credentials/v2", "id",
                  "urn:n", "type", "JsonSchema", "jsonSchema", ldexp(1.0, -1017));
    assert_non_null(doc);
    const char *out;
    err_detail_t d;
    assert_int_equal(jsonld_to_rdf(P, doc, &out, NULL, &d), 0);
    assert_non_null(strstr(out, "\"[7.120236347223045e-307]\"^^<"));
    json_decref(doc);
    /* nested deeper than JSONLD_MAX_DEPTH inside the literal: refused, as before */
    json_t *arr = json_array(), *cur = arr;
    for (int i = 0; i < JSONLD_MAX_DEPTH + 1; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    doc = json_pack("{s:s,s:s,s:s,s:o}", "@context", "https://www.w3.org/ns/credentials/v2", "id",
                    "urn:n", "type", "JsonSchema", "jsonSchema", arr);
    assert_int_equal(jsonld_to_rdf(P, doc, &out, NULL, &d), ERR_LIMIT);
    assert_non_null(strstr(d.message, "cannot write the JSON literal"));
    json_decref(doc);
    /* a string that is not UTF-8 (a caller's tree built with _nocheck) is refused */
    doc = json_pack("{s:s,s:s}", "@context", "https://www.w3.org/ns/credentials/examples/v2", "@id",
                    "urn:s");
    json_object_set_new(doc, "v", json_string_nocheck("\xff\xfe"));
    assert_int_equal(jsonld_to_rdf(P, doc, &out, NULL, &d), ERR_INVALID);
    assert_string_equal(d.field, "v");
    assert_non_null(strstr(d.message, "UTF-8"));
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context_tables),
        cmocka_unit_test(test_vc_di_eddsa_unsigned),
        cmocka_unit_test(test_vc_di_eddsa_proof_config),
        cmocka_unit_test(test_vc_di_eddsa_employ),
        cmocka_unit_test(test_signed_has_proof_graph),
        cmocka_unit_test(test_safe_mode),
        cmocka_unit_test(test_tree_input),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_open_badge),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_json_literals_jcs),
        cmocka_unit_test(test_json_numbers_es6),
        cmocka_unit_test(test_dataset),
        cmocka_unit_test(test_output_bound),
        cmocka_unit_test(test_json_literal_edges),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
