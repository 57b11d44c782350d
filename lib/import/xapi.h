/*
 * xapi: xAPI statements -> evidence items or retractions, by a mapping file.
 *
 * Pure: no I/O. masteryctl reads the statements and the mapping, calls xapi_map_statement on
 * each and sends the results (clients/XAPI.md is the user's guide). Every statement maps to
 * exactly one verdict: XAPI_EVIDENCE, XAPI_RETRACTION, or XAPI_UNMAPPED with a reason code
 * (verb not mapped, no competency, no learner, no score, malformed + the JSON path).
 *
 * The mapping file: one JSON object; every key optional; unknown keys are refused (a misspelt
 * key would silently change what is imported).
 *   "verbs"       which verbs become evidence: an array of verb IRIs, or an object
 *                 {IRI: {"score": x}} where x in [0,1] is the score of a statement of that verb
 *                 that carries neither a score nor success (e.g. "mastered"). Default: the ADL
 *                 verbs passed, failed, scored, completed, mastered
 *                 (http://adlnet.gov/expapi/verbs/<name>), without default scores.
 *   "activities"  {activity IRI: competency id}: how the competency is found. A CASE item URI
 *                 is an activity IRI like any other: list it here, or let masteryctl read the
 *                 loaded frameworks and add every competency's source_uri (xapi_map_add_activity).
 *   "look_in"     where to look for a mapped activity, in order; default
 *                 ["object", "parent", "grouping", "other"] (the statement's object id, then
 *                 context.contextActivities.parent, .grouping, .other). The first hit wins.
 *                 "category" (contextActivities.category) may be listed too; it is not in
 *                 the default, and its structure is checked only when it is listed.
 *   "incomplete"  what a statement with result.completion false becomes: "skip" (default:
 *                 XAPI_NOT_COMPLETED, no evidence) or "failed" (evidence with score 0 and
 *                 outcome failed, whatever its score, success or the verb's default).
 *   "learners"    how the actor becomes the school's learner id:
 *     "lookup"      {key: learner id}, tried first for every kind of actor. Keys: an mbox IRI
 *                   ("mailto:ann@school.example"), an mbox_sha1sum (40 hex digits, any case),
 *                   an openid URL, or an account as "HOMEPAGE|NAME".
 *     "account"     [{"homePage": URL or "*", "use": "name", "prefix"?: text}]: the account
 *                   name (with the prefix) is the learner id when the homePage matches
 *                   exactly ("*": any). Default: [{"homePage": "*", "use": "name"}].
 *     "mbox"        "lookup" (default: the lookup table only), "local_part" (ann), or
 *                   "address" (ann@school.example).
 *     "mbox_domains" [domains]: "local_part"/"address" only for these domains (any case);
 *                   absent: any domain.
 *     "openid"      "lookup" (default) or "as_is" (the URL is the learner id).
 *     mbox_sha1sum is found through the lookup table only (a hash cannot be reversed).
 *   "source"      the evidence source; default "xapi".
 *   "frameworks"  [framework ids] or ["*"]: for masteryctl, whose competencies' source_uri (CASE
 *                 item URIs) to add to "activities"; absent: none. Not used by this module.
 *
 * A statement:
 *   id           required (the evidence id, so a replayed statement counts once): non-empty,
 *                <= XAPI_ID_MAX bytes, no control characters; else malformed "id".
 *   verb.id      required; http://adlnet.gov/expapi/verbs/voided with an object
 *                {"objectType": "StatementRef", "id": ...} is a retraction of that id.
 *                Any other verb not in "verbs": XAPI_VERB_NOT_MAPPED (nothing else is checked).
 *   actor        an Agent (or objectType absent) with one of mbox, mbox_sha1sum, openid, account;
 *                a Group, or no rule that identifies it: XAPI_NO_LEARNER. Not an object, or an
 *                account without homePage/name: malformed.
 *   object, context.contextActivities: activity ids looked up as above; none mapped:
 *                XAPI_NO_COMPETENCY. A contextActivities list may be an array or (xAPI 1.0.0)
 *                a single object.
 *   timestamp    RFC 3339 (without a time zone: read as UTC, with a warning); absent: "stored";
 *                neither or unparseable: malformed "timestamp".
 *   result       score.scaled in [-1,1] (a negative one is clipped to 0 with a warning; outside
 *                [-1,1] malformed); else score.raw with min < max and min <= raw <= max, scaled to
 *                (raw - min) / (max - min) (raw outside: malformed; raw without min and max is
 *                not a score); else success as 1 or 0; else the verb's default score; else
 *                XAPI_NO_SCORE. success also sets the outcome (passed/failed).
 *                success false: outcome failed; with no score the score is 0 (never the verb's
 *                default). completion must be a boolean (else malformed "result.completion").
 *
 * The order of the checks (the first one that fails is the verdict):
 *   1. malformed: not an object; "id"; "verb.id"
 *   2. voided verb: retraction, or malformed "object.objectType" / "object.id"
 *   3. XAPI_VERB_NOT_MAPPED
 *   4. malformed: "object", "object.id", "context", "context.contextActivities..." (category
 *      only when looked in), "timestamp"/"stored", "result..." (success, completion, score)
 *   5. the actor: malformed "actor..." or XAPI_NO_LEARNER (the first identifier present of
 *      mbox, mbox_sha1sum, openid, account decides)
 *   6. XAPI_NO_COMPETENCY
 *   7. XAPI_NOT_COMPLETED (result.completion false, "incomplete": "skip")
 *   8. XAPI_NO_SCORE
 * So a statement that is malformed is XAPI_MALFORMED even if it would also not map, except
 * that an unmapped verb is reported before the rest of the statement is looked at.
 */
#ifndef MASTERY_XAPI_H
#define MASTERY_XAPI_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"

#define XAPI_ID_MAX      256 /* bytes, statement ids and learner ids (the daemon's id limit) */
#define XAPI_VERB_VOIDED "http://adlnet.gov/expapi/verbs/voided"

typedef struct xapi_map xapi_map_t;

typedef enum xapi_verdict {
    XAPI_EVIDENCE = 0, /* an evidence item: fields of xapi_item_t filled in */
    XAPI_RETRACTION,   /* a voiding statement: evidence_id is the voided statement's id */
    XAPI_UNMAPPED,     /* reason says why */
} xapi_verdict_t;

typedef enum xapi_reason {
    XAPI_OK = 0,
    XAPI_VERB_NOT_MAPPED,
    XAPI_NO_COMPETENCY,
    XAPI_NO_LEARNER,
    XAPI_NO_SCORE,
    XAPI_MALFORMED,
    XAPI_NOT_COMPLETED, /* result.completion false (and the map's "incomplete" is "skip") */
    XAPI_REASON_COUNT
} xapi_reason_t;

typedef enum xapi_outcome {
    XAPI_OUTCOME_NONE = 0, /* the same values as the wire's Outcome enum */
    XAPI_OUTCOME_PASSED = 1,
    XAPI_OUTCOME_FAILED = 2,
} xapi_outcome_t;

/* The mapping of one statement. Pointers are borrowed: from the statement (valid while the
 * caller keeps the json_t alive) or from the map (valid until xapi_map_destroy()). */
typedef struct xapi_item {
    xapi_verdict_t verdict;
    xapi_reason_t reason;      /* XAPI_OK unless verdict is XAPI_UNMAPPED */
    char path[96];             /* where the problem is ("result.score.scaled", "actor.mbox") */
    char message[256];         /* a sentence for a person; "" when mapped cleanly */
    char warning[192];         /* "" or what was accepted leniently (the item is still mapped) */
    const char *statement_id;  /* the statement's id, or NULL when it has none */
    const char *evidence_id;   /* evidence: the statement id; retraction: the voided id */
    const char *competency_id; /* evidence only */
    const char *source;        /* evidence and retraction: the mapping's source (ids' scope) */
    char learner_id[XAPI_ID_MAX + 1];
    double score; /* in [0,1] */
    xapi_outcome_t outcome;
    int64_t observed_at_ms;
} xapi_item_t;

/*
 * Parses a mapping file (len bytes of JSON).
 * @param[out] out     on success a new map: caller owns it, free with xapi_map_destroy().
 * @param[out] detail  on failure the key at fault ("learners.mbox") and why (may be NULL).
 * @return 0, ERR_INVALID (malformed JSON, unknown key, wrong type or value) or ERR_NOMEM.
 */
int xapi_map_parse(const char *json, size_t len, xapi_map_t **out, err_detail_t *detail);

/* Frees the map and sets *m to NULL; a NULL *m is a no-op. */
void xapi_map_destroy(xapi_map_t **m);

/*
 * Adds activity IRI -> competency id (copied) unless the IRI is already mapped: entries of the
 * mapping file win over ones added later. Returns 0, ERR_DUPLICATE when the IRI was mapped
 * already (to the competency in *existing, borrowed from the map, when existing is non-NULL),
 * ERR_INVALID for an empty or non-UTF-8 IRI or id, ERR_NOMEM.
 */
int xapi_map_add_activity(xapi_map_t *m, const char *iri, const char *competency_id,
                          const char **existing);

/* The "frameworks" list of the mapping (borrowed, valid until destroy), or NULL if absent. */
const json_t *xapi_map_frameworks(const xapi_map_t *m);

/* The number of activity IRIs mapped. */
size_t xapi_map_activity_count(const xapi_map_t *m);

/*
 * Maps one statement (stmt, borrowed) into *out (overwritten). Never fails: every outcome,
 * malformed input included, is a verdict. Returns out->verdict. O(size of the statement).
 */
xapi_verdict_t xapi_map_statement(const xapi_map_t *m, const json_t *stmt, xapi_item_t *out);

/* "verb_not_mapped", "no_competency", "no_learner", "no_score", "malformed", "not_completed"
 * ("ok" for XAPI_OK); static strings, never NULL. */
const char *xapi_reason_name(xapi_reason_t r);

#endif
