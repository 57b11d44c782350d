/*
 * Fuzz target: graph_parse on arbitrary bytes. A refusal must come with an error detail; an
 * accepted graph must hold its invariants (every edge in range and mirrored by its reverse
 * edge, the topological order a permutation that respects every edge, every id findable).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void check_graph(const graph_t *g)
{
    uint32_t n = graph_count(g);
    check(n <= GRAPH_MAX_COMPETENCIES);
    uint32_t *pos = calloc(n ? n : 1, sizeof *pos);
    if (pos == NULL)
        return;
    const uint32_t *order = graph_topo_order(g);
    for (uint32_t i = 0; i < n; i++) {
        check(order[i] < n && pos[order[i]] == 0);
        pos[order[i]] = i + 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        const graph_comp_t *c = graph_comp(g, i);
        uint32_t found;
        check(graph_find(g, c->id, &found) == 0 && found == i);
        check(strlen(c->id) > 0 && strlen(c->id) <= GRAPH_ID_MAX);
        check(c->requires_kind != REQUIRES_NONE || c->n_requires == 0);
        check(c->requires_k <= c->n_requires);
        for (uint32_t j = 0; j < c->n_requires; j++) {
            uint32_t r = c->requires[j];
            check(r < n && pos[r] < pos[i]);
            const graph_comp_t *p = graph_comp(g, r);
            bool mirrored = false;
            for (uint32_t k = 0; k < p->n_dependents; k++)
                mirrored |= p->dependents[k] == i;
            check(mirrored);
        }
        check(c->rule.method == RULE_CHILDREN || c->n_children == 0);
        for (uint32_t j = 0; j < c->n_children; j++) {
            uint32_t ch = c->children[j];
            check(ch < n && pos[ch] < pos[i]);
            const graph_comp_t *p = graph_comp(g, ch);
            bool mirrored = false;
            for (uint32_t k = 0; k < p->n_parents; k++)
                mirrored |= p->parents[k] == i;
            check(mirrored);
        }
    }
    free(pos);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    graph_t *g = NULL;
    err_detail_t d;
    int rc = graph_parse((const char *)data, size, &g, &d);
    if (rc == 0) {
        check(g != NULL);
        check_graph(g);
        graph_destroy(&g);
        check(g == NULL);
    } else {
        check(g == NULL && d.code == rc && d.message[0] != '\0');
    }
    return 0;
}
