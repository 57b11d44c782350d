/*
 * Fuzz target: casepkg_convert on arbitrary bytes, with and without gates and rule options.
 * A refusal must come with an error detail; an accepted package must give a document that
 * graph_parse accepts, as many competencies as the package had items, a summary, and at most
 * CASEPKG_MAX_WARNINGS + 1 warnings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "casepkg.h"
#include "graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void run(const char *text, size_t len, const casepkg_opts_t *opts)
{
    casepkg_t *p = NULL;
    err_detail_t d;
    int rc = casepkg_convert(text, len, opts, &p, &d);
    if (rc != 0) {
        check(p == NULL && d.code == rc && d.message[0] != '\0');
        return;
    }
    check(p != NULL);
    const char *doc = casepkg_framework_text(p);
    graph_t *g = NULL;
    check(graph_parse(doc, strlen(doc), &g, &d) == 0);
    size_t n = json_array_size(json_object_get(casepkg_framework(p), "competencies"));
    check(graph_count(g) == n);
    for (uint32_t i = 0; i < graph_count(g); i++) {
        const graph_comp_t *c = graph_comp(g, i);
        check(c->metadata != NULL && json_is_object(json_object_get(c->metadata, "case")));
    }
    graph_destroy(&g);
    check(casepkg_summary(p)[0] != '\0');
    size_t w = casepkg_warning_count(p);
    check(w <= CASEPKG_MAX_WARNINGS + 1);
    for (size_t i = 0; i < w; i++)
        check(casepkg_warning(p, i) != NULL);
    check(casepkg_warning(p, w) == NULL);
    casepkg_destroy(&p);
    check(p == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run((const char *)data, size, NULL);
    static const char *const rules[] = {"*=highest:0.5"};
    casepkg_opts_t o = {.framework_id = "urn:fuzz", .gate = "none", .rules = rules, .n_rules = 1};
    run((const char *)data, size, &o);
    return 0;
}
