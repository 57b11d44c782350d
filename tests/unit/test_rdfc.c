/*
 * Unit tests for nquads and rdfc.
 *
 * The W3C RDFC-1.0 suite is driven by its manifest (MASTERY_VECTORS/rdfc10-manifest.jsonld):
 * every entry runs by its type, so a new suite version needs no change here. Per type:
 *   RDFC10EvalTest          the canonical N-Quads must equal the result file byte for byte;
 *   RDFC10MapTest           the issued identifier map must equal the result JSON object;
 *   RDFC10NegativeEvalTest  canonicalization must stop with ERR_LIMIT (default work limit).
 * An entry with a hashAlgorithm we do not support, or of an unknown type, is counted as
 * skipped and reported. The parser tests check error positions ("line L col C").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nquads.h"
#include "rdfc.h"

#define MANIFEST MASTERY_VECTORS "/rdfc10-manifest.jsonld"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 8192;
            char *g = realloc(buf, cap + 1);
            if (g == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = g;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ---------------------------------------------------------------------------------------- */
/* The W3C suite.                                                                           */

enum { T_EVAL, T_MAP, T_NEGATIVE, T_COUNT };
static const char *const type_names[T_COUNT] = {"RDFC10EvalTest", "RDFC10MapTest",
                                                "RDFC10NegativeEvalTest"};

typedef struct tally {
    int passed[T_COUNT], failed[T_COUNT];
    int skipped_hash, skipped_type;
    uint64_t max_work;
} tally_t;

static int run_eval(const char *in, size_t in_len, const char *want, size_t want_len,
                    const rdfc_options_t *opt, const char *id, tally_t *t)
{
    char *out = NULL;
    size_t out_len = 0;
    err_detail_t d;
    err_clear(&d);
    nquads_dataset_t *ds = nquads_dataset_new();
    rdfc_result_t *res = NULL;
    int ok = 0;
    int rc = nquads_parse(ds, in, in_len, NULL, &d);
    if (rc == 0)
        rc = rdfc_canonicalize(ds, opt, &res, &d);
    if (rc != 0) {
        printf("FAIL %s: %s %s: %s\n", id, err_str(rc), d.field, d.message);
        goto out;
    }
    out = (char *)rdfc_result_nquads(res, &out_len);
    if (rdfc_result_work(res) > t->max_work)
        t->max_work = rdfc_result_work(res);
    if (out_len != want_len || memcmp(out, want, want_len) != 0) {
        printf("FAIL %s: output differs\n--- got\n%s--- want\n%.*s", id, out, (int)want_len, want);
        goto out;
    }
    ok = 1;
out:
    rdfc_result_destroy(&res);
    nquads_dataset_destroy(&ds);
    return ok;
}

static int run_map(const char *in, size_t in_len, const char *want_json, size_t want_len,
                   const rdfc_options_t *opt, const char *id)
{
    err_detail_t d;
    json_error_t je;
    nquads_dataset_t *ds = nquads_dataset_new();
    rdfc_result_t *res = NULL;
    int ok = 0;
    json_t *want = json_loadb(want_json, want_len, 0, &je);
    if (want == NULL || !json_is_object(want)) {
        printf("FAIL %s: result is not a JSON object\n", id);
        goto out;
    }
    int rc = nquads_parse(ds, in, in_len, NULL, &d);
    if (rc == 0)
        rc = rdfc_canonicalize(ds, opt, &res, &d);
    if (rc != 0) {
        printf("FAIL %s: %s %s: %s\n", id, err_str(rc), d.field, d.message);
        goto out;
    }
    if (rdfc_result_map_count(res) != json_object_size(want)) {
        printf("FAIL %s: %zu map entries, want %zu\n", id, rdfc_result_map_count(res),
               json_object_size(want));
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(want, key, val)
    {
        const char *got = rdfc_result_map_find(res, key);
        if (got == NULL || !json_is_string(val) || strcmp(got, json_string_value(val)) != 0) {
            printf("FAIL %s: %s -> %s, want %s\n", id, key, got ? got : "(none)",
                   json_is_string(val) ? json_string_value(val) : "?");
            goto out;
        }
    }
    ok = 1;
out:
    json_decref(want);
    rdfc_result_destroy(&res);
    nquads_dataset_destroy(&ds);
    return ok;
}

static int run_negative(const char *in, size_t in_len, const rdfc_options_t *opt, const char *id)
{
    err_detail_t d;
    err_clear(&d);
    char *out = NULL;
    size_t out_len;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = rdfc_canonicalize_nquads(in, in_len, opt, &out, &out_len, &d);
    clock_gettime(CLOCK_MONOTONIC, &b);
    free(out);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    if (rc != ERR_LIMIT) {
        printf("FAIL %s: got %s, want LIMIT\n", id, err_str(rc));
        return 0;
    }
    printf("ok   %s: refused in %.2f ms (%s: %s)\n", id, ms, d.field, d.message);
    return 1;
}

static void test_w3c_suite(void **state)
{
    (void)state;
    json_error_t je;
    json_t *manifest = json_load_file(MANIFEST, 0, &je);
    assert_non_null(manifest);
    json_t *entries = json_object_get(manifest, "entries");
    assert_true(json_is_array(entries));
    /* Paths are relative to the manifest's folder. */
    char base[1024];
    snprintf(base, sizeof base, "%s", MANIFEST);
    char *slash = strrchr(base, '/');
    assert_non_null(slash);
    *slash = '\0';

    tally_t t;
    memset(&t, 0, sizeof t);
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *action = json_string_value(json_object_get(e, "action"));
        const char *result = json_string_value(json_object_get(e, "result"));
        const char *hash = json_string_value(json_object_get(e, "hashAlgorithm"));
        assert_non_null(id);
        assert_non_null(type);
        const char *colon = strrchr(type, ':');
        const char *tname = colon ? colon + 1 : type;
        int kind = -1;
        for (int k = 0; k < T_COUNT; k++)
            if (strcmp(tname, type_names[k]) == 0)
                kind = k;
        if (kind < 0) {
            printf("skip %s: unknown type %s\n", id, type);
            t.skipped_type++;
            continue;
        }
        rdfc_options_t opt;
        memset(&opt, 0, sizeof opt);
        if (hash != NULL && rdfc_hash_from_name(hash, &opt.hash) != 0) {
            printf("skip %s: hash algorithm %s not supported\n", id, hash);
            t.skipped_hash++;
            continue;
        }
        assert_non_null(action);
        char path[2048];
        size_t in_len = 0, want_len = 0;
        snprintf(path, sizeof path, "%s/%s", base, action);
        char *in = read_file(path, &in_len);
        assert_non_null(in);
        char *want = NULL;
        if (kind != T_NEGATIVE) {
            assert_non_null(result);
            snprintf(path, sizeof path, "%s/%s", base, result);
            want = read_file(path, &want_len);
            assert_non_null(want);
        }
        int ok = 0;
        switch (kind) {
        case T_EVAL:
            ok = run_eval(in, in_len, want, want_len, &opt, id, &t);
            break;
        case T_MAP:
            ok = run_map(in, in_len, want, want_len, &opt, id);
            break;
        default:
            ok = run_negative(in, in_len, &opt, id);
            break;
        }
        if (ok)
            t.passed[kind]++;
        else
            t.failed[kind]++;
        free(in);
        free(want);
    }
    json_decref(manifest);
    int total_failed = 0, total_passed = 0;
    for (int k = 0; k < T_COUNT; k++) {
        printf("%-24s passed %3d  failed %3d\n", type_names[k], t.passed[k], t.failed[k]);
        total_failed += t.failed[k];
        total_passed += t.passed[k];
    }
    printf("skipped: %d (unsupported hash), %d (unknown type); max work of an eval test: %llu\n",
           t.skipped_hash, t.skipped_type, (unsigned long long)t.max_work);
    assert_int_equal(total_failed, 0);
    assert_true(t.passed[T_EVAL] > 0 && t.passed[T_MAP] > 0 && t.passed[T_NEGATIVE] > 0);
    assert_true(total_passed > 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Parser errors and the writer.                                                            */

static int parse_err(const char *text, err_detail_t *d)
{
    nquads_dataset_t *ds = nquads_dataset_new();
    assert_non_null(ds);
    err_clear(d);
    int rc = nquads_parse(ds, text, strlen(text), NULL, d);
    nquads_dataset_destroy(&ds);
    return rc;
}

static void expect_err(const char *text, const char *field, const char *msg_part)
{
    err_detail_t d;
    assert_int_equal(parse_err(text, &d), ERR_INVALID);
    assert_int_equal(d.code, ERR_INVALID);
    if (strcmp(d.field, field) != 0 || strstr(d.message, msg_part) == NULL)
        printf("for %s got \"%s\": %s\n", text, d.field, d.message);
    assert_string_equal(d.field, field);
    assert_non_null(strstr(d.message, msg_part));
}

static void test_parse_errors(void **state)
{
    (void)state;
    /* the object is missing: the '.' is at column 23 of line 2 */
    expect_err("<http://a> <http://b> <http://c> .\n<http://a> <http://b> .\n", "line 2 col 23",
               "object");
    /* CRLF is one line break; a comment line and a blank line count too */
    expect_err("# c\r\n\r\n<http://a> <http://b> \"x\" .\r\n_:b <http://b> <http://c\r\n",
               "line 4 col 16", "unterminated IRI");
    /* unknown escape: the backslash, counted in characters (é is one) */
    expect_err("<http://a> <http://b> \"é\\q\" .", "line 1 col 25", "unknown escape");
    expect_err("<a> <http://b> <http://c> .", "line 1 col 1", "not absolute");
    expect_err("<http://a> <http://b> <http://c> <http://g>", "line 1 col 44", "'.'");
    expect_err("<http://a> <http://b> <http://c> . <http://d>", "line 1 col 36", "end of the line");
    expect_err("\"lit\" <http://b> <http://c> .", "line 1 col 1", "subject");
    expect_err("<http://a> _:p <http://c> .", "line 1 col 12", "predicate");
    expect_err("<http://a> <http://b> \"x\" \"g\" .", "line 1 col 27", "'.'");
    expect_err("<http://a> <http://b> \"x\"@ .", "line 1 col 26", "language tag");
    expect_err("<http://a> <http://b> \"x\"^<http://t> .", "line 1 col 26", "'^^'");
    expect_err("<http://a> <http://b> \"\xff\" .", "line 1 col 24", "UTF-8");
    expect_err("<http://a> <http://b> \"\\uD800\" .", "line 1 col 24", "scalar");
    expect_err("<http://a b> <http://b> <http://c> .", "line 1 col 10", "not allowed");
    expect_err("<http://a\\u0020> <http://b> <http://c> .", "line 1 col 10", "not allowed");
    expect_err("<http://a> <http://b> \"x\\u12\" .", "line 1 col 25", "hexadecimal");
    expect_err("_: <http://b> <http://c> .", "line 1 col 1", "blank node label");
    expect_err("<http://a> <http://b> \"open .\n", "line 1 col 23", "unterminated string");
}

static void test_parse_ok(void **state)
{
    (void)state;
    const char *text =
        "# a comment\n"
        "\n"
        "  <http://a>\t<http://b> \"x\\ty\\u00E9\\U0001F600\"@en-GB <http://g> . # c\n"
        "_:b1.x <http://b> \"1\"^^<http://www.w3.org/2001/XMLSchema#string> .\n"
        "_:b1.x <http://b> \"1\" .\n" /* the same quad: a set keeps one */
        "_:b1.x<http://b>_:c.\r\n"
        "<http://a> <http://b> \"5\"^^<http://www.w3.org/2001/XMLSchema#integer>";
    nquads_dataset_t *ds = nquads_dataset_new();
    err_detail_t d;
    assert_int_equal(nquads_parse(ds, text, strlen(text), NULL, &d), ERR_INVALID); /* no '.' */
    assert_string_equal(d.field, "line 7 col 70");
    nquads_dataset_destroy(&ds);
    ds = nquads_dataset_new();
    size_t len = strlen(text);
    char *fixed = malloc(len + 3);
    snprintf(fixed, len + 3, "%s .", text);
    assert_int_equal(nquads_parse(ds, fixed, strlen(fixed), NULL, &d), 0);
    free(fixed);
    assert_int_equal(nquads_dataset_count(ds), 4);
    const nquads_quad_t *q = nquads_dataset_quad(ds, 0);
    assert_int_equal(q->o.kind, NQUADS_LITERAL);
    assert_int_equal(q->o.value_len, strlen("x\ty\xc3\xa9\xf0\x9f\x98\x80"));
    assert_memory_equal(q->o.value, "x\ty\xc3\xa9\xf0\x9f\x98\x80", q->o.value_len);
    assert_string_equal(q->o.lang, "en-GB");
    assert_int_equal(q->g.kind, NQUADS_IRI);
    q = nquads_dataset_quad(ds, 1);
    assert_int_equal(q->s.kind, NQUADS_BNODE);
    assert_string_equal(q->s.value, "b1.x");
    assert_null(q->o.datatype); /* xsd:string dropped */
    q = nquads_dataset_quad(ds, 2);
    assert_string_equal(q->o.value, "c"); /* "_:c." is the label c, then the '.' */
    char *out;
    size_t out_len;
    assert_int_equal(nquads_dataset_serialize(ds, &out, &out_len), 0);
    assert_string_equal(out, "<http://a> <http://b> \"x\\ty\xc3\xa9\xf0\x9f\x98\x80\"@en-GB "
                             "<http://g> .\n"
                             "_:b1.x <http://b> \"1\" .\n"
                             "_:b1.x <http://b> _:c .\n"
                             "<http://a> <http://b> "
                             "\"5\"^^<http://www.w3.org/2001/XMLSchema#integer> .\n");
    free(out);
    nquads_dataset_destroy(&ds);
}

static void test_writer_escapes(void **state)
{
    (void)state;
    const char lex[] = "a\"b\\c\nd\re\tf\bg\fh\x01i\x7fj\x00k";
    nquads_term_t t = {.kind = NQUADS_LITERAL, .value = lex, .value_len = sizeof lex - 1};
    char buf[128];
    size_t n = nquads_term_write(&t, buf, sizeof buf);
    const char want[] = "\"a\\\"b\\\\c\\nd\\re\\tf\\bg\\fh\\u0001i\\u007Fj\\u0000k\"";
    assert_int_equal(n, sizeof want - 1);
    assert_memory_equal(buf, want, n);
    assert_int_equal(nquads_term_write(&t, NULL, 0), n); /* measuring */
    assert_int_equal(nquads_term_write(&t, buf, 3), n);  /* truncated, same length */
    /* and it parses back to the same term */
    char line[256];
    snprintf(line, sizeof line, "<http://a> <http://b> %.*s .\n", (int)n, buf);
    nquads_dataset_t *ds = nquads_dataset_new();
    err_detail_t d;
    assert_int_equal(nquads_parse(ds, line, strlen(line), NULL, &d), 0);
    const nquads_quad_t *q = nquads_dataset_quad(ds, 0);
    assert_int_equal(q->o.value_len, sizeof lex - 1);
    assert_memory_equal(q->o.value, lex, sizeof lex - 1);
    nquads_dataset_destroy(&ds);
}

static void test_limits_and_add(void **state)
{
    (void)state;
    const char *text = "<http://a> <http://b> <http://c> .\n<http://a> <http://b> <http://d> .\n";
    nquads_dataset_t *ds = nquads_dataset_new();
    err_detail_t d;
    nquads_limits_t lim = {.max_input = 10};
    assert_int_equal(nquads_parse(ds, text, strlen(text), &lim, &d), ERR_LIMIT);
    lim = (nquads_limits_t){.max_quads = 1};
    assert_int_equal(nquads_parse(ds, text, strlen(text), &lim, &d), ERR_LIMIT);
    assert_string_equal(d.field, "line 2");
    assert_int_equal(nquads_dataset_count(ds), 1);
    nquads_quad_t q = {
        .s = {.kind = NQUADS_LITERAL, .value = "x", .value_len = 1},
        .p = {.kind = NQUADS_IRI, .value = "http://p", .value_len = 8},
        .o = {.kind = NQUADS_IRI, .value = "http://o", .value_len = 8},
    };
    assert_int_equal(nquads_dataset_add(ds, &q, 0, &d), ERR_INVALID);
    assert_string_equal(d.field, "subject");
    q.s = (nquads_term_t){.kind = NQUADS_BNODE, .value = "x y", .value_len = 3};
    assert_int_equal(nquads_dataset_add(ds, &q, 0, &d), ERR_INVALID);
    q.s = (nquads_term_t){.kind = NQUADS_BNODE, .value = "x", .value_len = 1};
    q.o = (nquads_term_t){
        .kind = NQUADS_LITERAL, .value = "v", .value_len = 1, .lang = "e-", .lang_len = 2};
    assert_int_equal(nquads_dataset_add(ds, &q, 0, &d), ERR_INVALID);
    assert_string_equal(d.field, "object");
    q.o.lang_len = 1;
    assert_int_equal(nquads_dataset_add(ds, &q, 0, &d), 0);
    assert_int_equal(nquads_dataset_add(ds, &q, 0, &d), 0); /* present already */
    assert_int_equal(nquads_dataset_count(ds), 2);
    assert_int_equal(nquads_dataset_add(ds, &q, 0, &d), 0);
    q.o.lang_len = 0;
    q.o.lang = NULL;
    assert_int_equal(nquads_dataset_add(ds, &q, 2, &d), ERR_LIMIT);
    nquads_dataset_destroy(&ds);
}

/* A 6-cycle of blank nodes with identical first-degree hashes needs N-degree hashing. */
static void test_rdfc_ring_and_limit(void **state)
{
    (void)state;
    const char *ring = "_:x1 <http://p> _:x2 .\n_:x2 <http://p> _:x3 .\n_:x3 <http://p> _:x4 .\n"
                       "_:x4 <http://p> _:x5 .\n_:x5 <http://p> _:x6 .\n_:x6 <http://p> _:x1 .\n";
    const char *rotated = "_:q <http://p> _:r .\n_:r <http://p> _:s .\n_:s <http://p> _:t .\n"
                          "_:t <http://p> _:u .\n_:u <http://p> _:v .\n_:v <http://p> _:q .\n";
    char *a = NULL, *b = NULL;
    size_t alen, blen;
    err_detail_t d;
    assert_int_equal(rdfc_canonicalize_nquads(ring, strlen(ring), NULL, &a, &alen, &d), 0);
    assert_int_equal(rdfc_canonicalize_nquads(rotated, strlen(rotated), NULL, &b, &blen, &d), 0);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen); /* isomorphic datasets, same bytes */
    assert_non_null(strstr(a, "_:c14n5"));
    assert_null(strstr(a, "_:c14n6"));
    free(a);
    free(b);
    rdfc_options_t opt = {.work_limit = 3};
    a = NULL;
    assert_int_equal(rdfc_canonicalize_nquads(ring, strlen(ring), &opt, &a, &alen, &d), ERR_LIMIT);
    assert_null(a);
    assert_string_equal(d.field, "work");
    /* parse errors come through the convenience function */
    assert_int_equal(rdfc_canonicalize_nquads("<x> <y> <z> .", 13, NULL, &a, &alen, &d),
                     ERR_INVALID);
    assert_string_equal(d.field, "line 1 col 1");
    rdfc_hash_t h;
    assert_int_equal(rdfc_hash_from_name("SHA-384", &h), 0);
    assert_int_equal(h, RDFC_SHA384);
    assert_int_equal(rdfc_hash_from_name("MD5", &h), ERR_INVALID);
}

/*
 * The canonical documents of the vc-di-eddsa rdfc vectors are fixed points: canonicalizing
 * them, and a copy with the lines reversed and the blank nodes renamed, gives the same bytes.
 */
static void test_vc_di_eddsa_fixed_points(void **state)
{
    (void)state;
    static const char *const files[] = {"canonDocDataInt.txt", "proofCanonDataInt.txt",
                                        "employ/canonDocDataInt.txt",
                                        "employ/proofCanonDataInt.txt"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/vc-di-eddsa/eddsa-rdfc-2022/%s", MASTERY_VECTORS, files[f]);
        size_t len;
        char *doc = read_file(path, &len);
        assert_non_null(doc);
        char *out = NULL;
        size_t out_len;
        err_detail_t d;
        assert_int_equal(rdfc_canonicalize_nquads(doc, len, NULL, &out, &out_len, &d), 0);
        assert_int_equal(out_len, len);
        assert_memory_equal(out, doc, len);
        free(out);
        /* reverse the lines and rename _:c14nN to _:nodeN */
        char *mixed = malloc(len * 2 + 1);
        assert_non_null(mixed);
        size_t m = 0, end = len;
        while (end > 0) {
            size_t start = end - 1;
            while (start > 0 && doc[start - 1] != '\n')
                start--;
            for (size_t i = start; i < end; i++) {
                if (i + 6 <= end && memcmp(doc + i, "_:c14n", 6) == 0) {
                    memcpy(mixed + m, "_:node", 6);
                    m += 6;
                    i += 5;
                } else {
                    mixed[m++] = doc[i];
                }
            }
            end = start;
        }
        assert_int_equal(rdfc_canonicalize_nquads(mixed, m, NULL, &out, &out_len, &d), 0);
        assert_int_equal(out_len, len);
        assert_memory_equal(out, doc, len);
        free(out);
        free(mixed);
        free(doc);
    }
}

/* The working buffers are bounded: a small max_bytes refuses with ERR_LIMIT, field "dataset". */
static void test_buffer_bound(void **state)
{
    (void)state;
    const char *text = "_:a <http://example.org/p> \"a literal of some length\" .\n"
                       "_:a <http://example.org/p> _:b .\n";
    char *out = NULL;
    size_t len;
    err_detail_t d;
    rdfc_options_t opt = {.max_bytes = 40};
    assert_int_equal(rdfc_canonicalize_nquads(text, strlen(text), &opt, &out, &len, &d), ERR_LIMIT);
    assert_null(out);
    assert_string_equal(d.field, "dataset");
    assert_non_null(strstr(d.message, "40 bytes"));
    /* the terms fit, the serialized quads do not */
    opt.max_bytes = 60;
    assert_int_equal(rdfc_canonicalize_nquads(text, strlen(text), &opt, &out, &len, &d), ERR_LIMIT);
    assert_string_equal(d.field, "dataset");
    opt.max_bytes = 4096;
    assert_int_equal(rdfc_canonicalize_nquads(text, strlen(text), &opt, &out, &len, &d), 0);
    /* the labels follow the first-degree hashes, not the input order */
    assert_string_equal(out, "_:c14n1 <http://example.org/p> \"a literal of some length\" .\n"
                             "_:c14n1 <http://example.org/p> _:c14n0 .\n");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_writer_escapes),
        cmocka_unit_test(test_limits_and_add),
        cmocka_unit_test(test_rdfc_ring_and_limit),
        cmocka_unit_test(test_w3c_suite),
        cmocka_unit_test(test_vc_di_eddsa_fixed_points),
        cmocka_unit_test(test_buffer_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
