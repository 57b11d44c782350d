/*
 * Fuzz target for jsonld: arbitrary bytes as JSON-LD text through expansion and toRdf. Any
 * outcome but a crash, a hang or a leak is fine; on success the output must be N-Quads that
 * the nquads parser (the canonicalizer's input) accepts, with one distinct quad per line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonld.h"
#include "nquads.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    if (rc == 0) {
        nquads_dataset_t *ds = nquads_dataset_new();
        size_t lines = 0;
        for (size_t i = 0; i < len; i++)
            lines += out[i] == '\n';
        if (ds == NULL || nquads_parse(ds, out, len, NULL, &d) != 0 ||
            nquads_dataset_count(ds) != lines)
            abort();
        nquads_dataset_destroy(&ds);
    }
    return 0;
}
