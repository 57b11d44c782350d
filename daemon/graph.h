/*
 * graph: one version of a competency framework, parsed, validated and compiled for lookups.
 *
 * A graph is immutable once built: the handler reads it on every evidence item without locks.
 * Competencies are addressed by a dense index (0..count-1) assigned in document order; edges
 * are index arrays. Pure: parsing and validation do no I/O (the caller reads the file or the
 * stored document).
 *
 * Validation refuses, with err_detail_t naming the field and the ids:
 *   malformed JSON (line and column), a missing/empty/over-long/non-UTF-8 id, a repeated id
 *   ("competencies[7].id": "duplicate id frac.add (first at competencies[2])"), a reference to
 *   an id not in the framework (dangling, in requires or children), at_least k < 1 or k larger
 *   than its list, a rule with an unknown method or a parameter out of range, and a cycle over
 *   requires + children edges, reported as the path ("cycle: a -> b -> c -> a").
 */
#ifndef MASTERY_GRAPH_H
#define MASTERY_GRAPH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mastery.h"

#define GRAPH_ID_MAX 256           /* bytes, for framework and competency ids */
#define GRAPH_MAX_COMPETENCIES 100000

typedef struct graph graph_t;

typedef enum graph_requires {
    REQUIRES_NONE = 0, /* unlocked from the start */
    REQUIRES_ALL,      /* every listed competency mastered */
    REQUIRES_AT_LEAST, /* at least k of the listed competencies mastered */
} graph_requires_t;

/* One competency. All pointers are owned by the graph and valid until graph_destroy(). */
typedef struct graph_comp {
    const char *id;
    const char *title;
    const char *description;  /* "" when absent */
    const char *source_uri;   /* "" when absent (CASE item uri, alignment target) */
    rule_t rule;
    graph_requires_t requires_kind;
    uint32_t requires_k;      /* REQUIRES_ALL: n_requires; REQUIRES_AT_LEAST: k */
    const uint32_t *requires; /* prerequisite indexes */
    uint32_t n_requires;
    const uint32_t *children; /* rule.method == RULE_CHILDREN: the rolled-up competencies */
    uint32_t n_children;
    const uint32_t *dependents; /* reverse of requires: who lists this one as a prerequisite */
    uint32_t n_dependents;
    const uint32_t *parents;    /* reverse of children: who rolls this one up */
    uint32_t n_parents;
    const json_t *achievement;  /* the "achievement" object, or NULL: borrowed from the graph */
} graph_comp_t;

/*
 * Parses and validates a framework document (UTF-8 JSON, len bytes, need not be
 * NUL-terminated). On success *out is a new graph: caller owns it, free with graph_destroy().
 * Returns 0, ERR_INVALID (malformed, dangling, range), ERR_CONFLICT (duplicate id, cycle) or
 * ERR_NOMEM, with *detail filled in (detail may be NULL).
 */
int graph_parse(const char *json, size_t len, graph_t **out, err_detail_t *detail);

/* Frees the graph and sets *g to NULL; a NULL *g is a no-op. */
void graph_destroy(graph_t **g);

/* The framework's id, title and version label; borrowed, valid until graph_destroy(). */
const char *graph_id(const graph_t *g);
const char *graph_title(const graph_t *g);
const char *graph_version(const graph_t *g);

/* The number of competencies. */
uint32_t graph_count(const graph_t *g);

/* Competency by index (< graph_count); borrowed. */
const graph_comp_t *graph_comp(const graph_t *g, uint32_t index);

/* Finds a competency by id; returns 0 and sets *index, or ERR_NOT_FOUND. */
int graph_find(const graph_t *g, const char *id, uint32_t *index);

/*
 * A topological order of all competencies: every competency appears after everything it
 * requires and after all its children. Borrowed array of graph_count() indexes.
 */
const uint32_t *graph_topo_order(const graph_t *g);

/* The whole document as parsed (borrowed), e.g. to store or return it. */
const json_t *graph_document(const graph_t *g);

#endif
