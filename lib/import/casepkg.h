/*
 * casepkg: a 1EdTech CASE 1.0 CFPackage (JSON) turned into a masteryd framework document.
 *
 * Pure: no I/O. The daemon's ImportCase request and tests call it; the result is a document
 * that graph_parse() accepts (casepkg_convert checks that itself before returning).
 *
 * The mapping:
 *   framework    id = opts->framework_id, else CFDocument.identifier; title = CFDocument.title
 *                (else its identifier, with a warning); version = CFDocument.version, else its
 *                lastChangeDateTime; description = CFDocument.description; source_uri =
 *                CFDocument.uri.
 *   CFItem       one competency each, in package order: id = identifier; source_uri = uri;
 *                title = humanCodingScheme + " " + (abbreviatedStatement, else fullStatement),
 *                or the statement alone, or the coding scheme alone, or the identifier (with a
 *                warning), cut at GRAPH_TITLE_MAX bytes on a character boundary; description =
 *                fullStatement. metadata.case holds {"identifier", "uri",
 *                "alignment_target_type": "CFItem", "humanCodingScheme"?, "CFItemType"?,
 *                "associations"?: [...], "children"?: [...]}: the credential code reads the
 *                alignment target (source_uri, type CFItem) from here.
 *   isChildOf    origin is a child of destination. A destination that is an item gets the rule
 *                {"method": "children", "of": [its children, by sequenceNumber, then package
 *                order]} unless a rule option names that item; an item whose parent is the
 *                CFDocument is a top-level item (nothing to add).
 *   precedes     origin before destination: with gate "precedes" (the default) the destination
 *                requires the origin ({"all": [...]}); with gate "none" the association is kept in
 *                metadata like the other types.
 *   other types  (exactMatchOf, isRelatedTo, isPeerOf, isPartOf, replacedBy, exemplar,
 *                hasSkillLevel, and unknown ones) are kept in metadata.case.associations of each
 *                end that is in the package: {"type", "role": "origin"|"destination", "other":
 *                {"identifier"?, "uri"?, "title"?}, "external"?: true, "sequenceNumber"?}.
 *   Associations whose other end lies outside the package are kept the same way with
 *   "external": true, and warned about (an isChildOf or precedes to an outside item cannot
 *   become an edge). Associations with neither end in the package are ignored (counted, warned).
 *
 * Rule options ("ITEM_ID=METHOD[:threshold]" or "*=METHOD[:threshold]"): METHOD is a masteryd
 * rule method (latest, highest, average, weighted_average, decaying_average, n_mastery, bkt,
 * children); threshold in [0,1] (not for children). ITEM_ID names one item (any item, a parent
 * included: its composition then stays in metadata.case.children only); "*" applies to every
 * item that has no children (parents keep their children rule unless named). "children" for
 * an item without children is refused, as is an ITEM_ID not in the package or given twice.
 *
 * Lenient, with a warning naming the item or association: sequenceNumber as a string of digits,
 * timestamps without a time zone (or otherwise not RFC 3339; statusStartDate/statusEndDate may
 * be a plain date or null without a warning), identifiers that are not UUIDs,
 * unknown or misspelled optional fields ("did you mean ..."), a missing uri or fullStatement,
 * a uri with spaces (dropped), over-long title or description (cut), an association repeated,
 * an association endpoint found only by uri, associations to outside items.
 * Refused (ERR_INVALID or ERR_CONFLICT, detail->field names the place, the message the ids):
 * malformed JSON, no CFDocument or one without identifier, an item without identifier, two
 * items with one identifier (ERR_CONFLICT), an identifier too long or with control characters,
 * a precedes cycle (ERR_CONFLICT, "precedes cycle: a -> b -> a", starting at the cycle's item
 * that comes first in the package), any cycle over precedes and isChildOf together (graph's
 * own message), bad options (field "gate" or "rules[i]").
 *
 * Bounds: at most GRAPH_MAX_COMPETENCIES items and CASEPKG_MAX_ASSOCIATIONS associations;
 * CASEPKG_MAX_WARNINGS warnings are kept (then one "... and N more" line). Time and memory are
 * O(package size).
 */
#ifndef MASTERY_CASEPKG_H
#define MASTERY_CASEPKG_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"

#define CASEPKG_MAX_ASSOCIATIONS 1000000
#define CASEPKG_MAX_WARNINGS     200
#define CASEPKG_SUMMARY_MAX      512

/* Options of one import; every field may be NULL/0 for the defaults. Borrowed for the call. */
typedef struct casepkg_opts {
    const char *framework_id; /* NULL or "": the CFDocument identifier */
    const char *gate;         /* NULL or "": "precedes"; else "precedes" or "none" */
    const char *const *rules; /* n_rules rule options, see above */
    size_t n_rules;
} casepkg_opts_t;

typedef struct casepkg casepkg_t;

/*
 * Converts a CFPackage.
 * @param[in]  json    the package, len bytes of UTF-8 JSON (need not be NUL-terminated).
 * @param[in]  opts    options, or NULL for the defaults.
 * @param[out] out     on success a new result: caller owns it, free with casepkg_destroy().
 *                     Set to NULL on failure.
 * @param[out] detail  on failure what is wrong and where (may be NULL).
 * @return 0, ERR_INVALID, ERR_CONFLICT, ERR_LIMIT (too many items or associations) or
 *         ERR_NOMEM.
 */
int casepkg_convert(const char *json, size_t len, const casepkg_opts_t *opts, casepkg_t **out,
                    err_detail_t *detail);

/* Frees the result and sets *p to NULL; a NULL *p is a no-op. */
void casepkg_destroy(casepkg_t **p);

/* The framework document; borrowed, valid until casepkg_destroy() (json_incref to keep it). */
const json_t *casepkg_framework(const casepkg_t *p);

/* The document as compact JSON text; borrowed NUL-terminated string, valid until destroy. */
const char *casepkg_framework_text(const casepkg_t *p);

/* Number of warnings, and warning i (< count): borrowed, valid until casepkg_destroy(). Each
 * names the item or association ("item 1.NBT.1 (id ...): ..."). */
size_t casepkg_warning_count(const casepkg_t *p);
const char *casepkg_warning(const casepkg_t *p, size_t i);

/* One line of counts: "14 items, 2 parents with 12 children, 3 gates; kept 3 exactMatchOf;
 * ignored 0; 4 warnings". Borrowed, valid until casepkg_destroy(). */
const char *casepkg_summary(const casepkg_t *p);

#endif
