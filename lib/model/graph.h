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
 *
 * The document (schemas/framework.schema.json describes the same shape):
 *   framework   {"id", "title", "version"?, "description"?, "source_uri"?, "$schema"?,
 * "review_after"?, "retention_days"?, "competencies": [...]}; no other keys. id: as a competency
 * id; title: non-empty string; version: string of at most GRAPH_ID_MAX bytes. An empty competency
 *                list is allowed (a framework with nothing in it yet).
 *   competency  {"id", "title", "description"?, "source_uri"?, "requires"?, "rule"?,
 * "review_after"?, "achievement"?, "metadata"?}; no other keys. id          non-empty, <=
 * GRAPH_ID_MAX bytes, valid UTF-8 without NUL or other ASCII control characters, unique in the
 * framework. title       non-empty string, <= GRAPH_TITLE_MAX bytes; description <= GRAPH_TEXT_MAX.
 *     source_uri  non-empty string, <= GRAPH_URI_MAX bytes, no spaces or control characters.
 *     requires    exactly {"all": [ids]} or {"at_least": k, "of": [ids]}: lists non-empty,
 *                 each id once, 1 <= k <= len(of). Absent: REQUIRES_NONE.
 *     rule        {"method": name, ...parameters of that method only}:
 *                   every evidence method: threshold [0,1], min_evidence integer
 *                     0..GRAPH_MIN_EVIDENCE_MAX
 *                   weighted_average, decaying_average: weight [0,1]
 *                   n_mastery: n integer 1..GRAPH_RULE_N_MAX
 *                   bkt: p_init, p_transit, p_guess, p_slip in the open interval (0,1) with
 *                     p_guess + p_slip < 1 (else a correct answer lowers P(L)); correct_at [0,1];
 *                     p_forget [0,1) (default 0)
 *                   children: "of": [ids] (required, non-empty, each once), "at_least": k
 *                     (optional, 1..len(of); absent = all, children_k 0); no threshold or
 *                     min_evidence (a roll-up is met by its children's mastery alone).
 *                 A key of another method is refused ("key 'weight' does not apply to method
 *                 latest"), as is an unknown key. Parameters not given take the defaults of
 *                 mastery_rule_defaults(). Absent rule: GRAPH_DEFAULT_METHOD (latest) with the
 *                 defaults: threshold 0.8, min_evidence 1, i.e. "the last score is 80% or more".
 *     achievement free-form object (badge name, description, criteria, image, ...); only
 *                 "name", when present, must be a string.
 *     review_after  ISO 8601 duration string of W, D, H, M, S with integers ("P30D",
 *                 "PT36H"; no years or months: their length varies), at most
 *                 GRAPH_REVIEW_AFTER_MAX_DAYS; also on the framework (the default of its
 *                 competencies). A mastered competency is due for review this long after its
 *                 last fresh evidence; "P0D" on a competency turns the framework's off.
 *     metadata    free-form object kept with the competency and never interpreted by the
 *                 graph (a CASE import keeps the item's identifier, associations and the
 *                 alignment hint under "case"; see casepkg.h).
 * Errors name the JSON path in detail->field ("competencies[4].requires.of[1]") and the
 * competency id and offending value in the message ("frac.x: unknown competency 'frac.nope'").
 * Malformed JSON has an empty field and "malformed JSON at line L, column C: ...". A cycle
 * has field "competencies" and reads along the edges "X requires (or rolls up) Y", starting
 * at the cycle's competency that comes first in the document: "cycle: frac.a -> frac.b ->
 * frac.a" (a self-reference is "cycle: frac.a -> frac.a"); a very long path is cut with "...".
 * Duplicate keys within one JSON object are refused as malformed JSON.
 *
 * Cost: O(document size); a 10 000 competency framework parses in a few milliseconds. The
 * id index is a hash table (graph_find is O(1) expected).
 */
#ifndef MASTERY_GRAPH_H
#define MASTERY_GRAPH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mastery.h"

#define GRAPH_ID_MAX                256 /* bytes, for framework and competency ids */
#define GRAPH_MAX_COMPETENCIES      100000
#define GRAPH_TITLE_MAX             4096  /* bytes, competency and framework titles */
#define GRAPH_TEXT_MAX              65536 /* bytes, descriptions */
#define GRAPH_URI_MAX               2048  /* bytes, source_uri */
#define GRAPH_MIN_EVIDENCE_MAX      1000
#define GRAPH_RULE_N_MAX            1000
#define GRAPH_DEFAULT_METHOD        RULE_LATEST /* the rule of a competency without "rule" */
#define GRAPH_REVIEW_AFTER_MAX_DAYS 3660        /* review_after: at most about ten years */
#define GRAPH_RETENTION_MAX_DAYS    36500       /* retention_days: at most about a century */
#define GRAPH_UNLOCKS_WORK_MAX      5e7         /* transitive unlock counts: BFS steps at most */

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
    const char *description; /* "" when absent */
    const char *source_uri;  /* "" when absent (CASE item uri, alignment target) */
    rule_t rule;
    graph_requires_t requires_kind;
    uint32_t requires_k;      /* REQUIRES_ALL: n_requires; REQUIRES_AT_LEAST: k */
    const uint32_t *requires; /* prerequisite indexes */
    uint32_t n_requires;
    const uint32_t *children; /* rule.method == RULE_CHILDREN: the rolled-up competencies */
    uint32_t n_children;
    const uint32_t *dependents; /* reverse of requires: who lists this one as a prerequisite */
    uint32_t n_dependents;
    const uint32_t *parents; /* reverse of children: who rolls this one up */
    uint32_t n_parents;
    const json_t *achievement;   /* the "achievement" object, or NULL: borrowed from the graph */
    const json_t *metadata;      /* the "metadata" object, or NULL: borrowed from the graph */
    int64_t review_after_ms;     /* review due this long after the last fresh evidence; 0: never
                                    (the competency's review_after, else the framework's) */
    uint32_t layer;              /* longest requires/children chain below it (roots: 0) */
    uint32_t unlocks_direct;     /* competencies that list it in requires (n_dependents) */
    uint32_t unlocks_transitive; /* reachable along dependents edges (graph_unlocks_known) */
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

/* Competency by index (< graph_count); borrowed, valid until graph_destroy(). NULL for an
 * index out of range. */
const graph_comp_t *graph_comp(const graph_t *g, uint32_t index);

/* Finds a competency by id (exact bytes, NUL-terminated); returns 0 and sets *index, or
 * ERR_NOT_FOUND (also for a NULL id). O(1) expected. */
int graph_find(const graph_t *g, const char *id, uint32_t *index);

/*
 * A topological order of all competencies: every competency appears after everything it
 * requires and after all its children. Borrowed array of graph_count() indexes, valid until
 * graph_destroy(). Deterministic: Kahn's algorithm with a FIFO seeded in document order.
 * Edge slices in graph_comp_t keep list order (requires, children) or ascending index order
 * (dependents, parents).
 */
const uint32_t *graph_topo_order(const graph_t *g);

/* Whether unlocks_transitive was computed (graphs up to GRAPH_UNLOCKS_WORK_MAX BFS steps,
 * V x (V + E)); when false every unlocks_transitive is 0. */
bool graph_unlocks_known(const graph_t *g);

/* The framework's own review_after in ms (0: none); competencies inherit it. */
int64_t graph_review_after(const graph_t *g);

/* The framework's retention_days (issue 16): evidence on its competencies keeps its payload
 * this many days (0: forever); -1 when the document does not say (the daemon's setting
 * applies). */
int64_t graph_retention_days(const graph_t *g);

/* The whole document as parsed (borrowed), e.g. to store or return it. */
const json_t *graph_document(const graph_t *g);

#endif
