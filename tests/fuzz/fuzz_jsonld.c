/*
 * Fuzz target for jsonld: arbitrary bytes as JSON-LD text through expansion and toRdf. Any
 * outcome but a crash, a hang or a leak is fine; on success the output must be N-Quads that
 * the nquads parser (the canonicalizer's input) accepts, with one distinct quad per line, and
 * the dataset jsonld_to_dataset() hands to RDFC-1.0 without text must be the same quads: it
 * writes as the same text, and canonicalizes to the same bytes as the parsed text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonld.h"
#include "nquads.h"
#include "rdfc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Canonical form of ds with a small work limit; NULL when refused (both sides must agree). */
static char *canon(const nquads_dataset_t *ds, int *rc)
{
    rdfc_options_t opt = {.work_limit = 2000};
    rdfc_result_t *res = NULL;
    err_detail_t d;
    *rc = rdfc_canonicalize(ds, &opt, &res, &d);
    char *out = *rc == 0 ? strdup(rdfc_result_nquads(res, NULL)) : NULL;
    rdfc_result_destroy(&res);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static jsonld_t *p; /* kept across inputs, so the context cache is exercised too */
    if (p == NULL && (p = jsonld_new()) == NULL)
        abort();
    const char *out = NULL;
    size_t len = 0;
    err_detail_t d;
    int rc = jsonld_to_rdf_text(p, (const char *)data, size, &out, &len, &d);
    if (out == NULL || strlen(out) != len)
        abort();
    if (rc == 0 && (len < 4 || memcmp(out + len - 3, " .\n", 3) != 0))
        abort();
    if (rc != 0 && (d.code != rc || len != 0))
        abort();
    if (rc != 0)
        return 0;
    char *text = strdup(out); /* the next call on p reuses out */
    nquads_dataset_t *parsed = nquads_dataset_new();
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    if (text == NULL || parsed == NULL || nquads_parse(parsed, text, len, NULL, &d) != 0 ||
        nquads_dataset_count(parsed) != lines)
        abort();
    /* The same document as a tree (it parsed above, so it parses here), as a dataset. */
    json_t *doc = json_loadb((const char *)data, size,
                             JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, NULL);
    const nquads_dataset_t *ds = NULL;
    if (doc == NULL || jsonld_to_dataset(p, doc, &ds, &d) != 0 || nquads_dataset_count(ds) != lines)
        abort();
    char *written = NULL;
    size_t written_len = 0;
    if (nquads_dataset_serialize(ds, &written, &written_len) != 0 || written_len != len ||
        memcmp(written, text, len) != 0)
        abort();
    int rc_direct, rc_parsed;
    char *c_direct = canon(ds, &rc_direct), *c_parsed = canon(parsed, &rc_parsed);
    if (rc_direct != rc_parsed || (rc_direct == 0 && strcmp(c_direct, c_parsed) != 0))
        abort();
    free(c_direct);
    free(c_parsed);
    free(written);
    json_decref(doc);
    nquads_dataset_destroy(&parsed);
    free(text);
    return 0;
}
