/*
 * graph: parse, validate and compile a competency framework (see graph.h).
 *
 * Two passes over the competencies. The first checks every field of every competency, fills
 * graph_comp_t, indexes the ids in an open-addressing hash table and counts the edges; the
 * second resolves the ids of requires and children lists into one index block, builds the
 * reverse edges (counting sort, so every slice is in ascending index order) and orders the
 * graph topologically with Kahn's algorithm; what Kahn cannot order lies on or behind a
 * cycle, and a walk along unordered dependencies finds one to report.
 *
 * Memory: the jansson document (all strings are borrowed from it), the competency array, one
 * uint32_t block for all edges and the topological order, the hash table, and one scratch
 * array freed before graph_parse returns.
 */
#include "graph.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    uint32_t hash; /* low 32 bits of the id's hash: most misses end here */
    uint32_t idx1; /* competency index + 1; 0 = empty */
} slot_t;

struct graph {
    json_t *doc;
    const char *id;
    const char *title;
    const char *version;
    uint32_t count;
    graph_comp_t *comps;
    uint32_t *block; /* forward edges | dependents | parents | topological order */
    uint32_t *topo;
    slot_t *slots;
    uint32_t mask;           /* table size - 1 (a power of two) */
    int64_t review_after_ms; /* the framework's review_after (0: none) */
    int64_t retention_days;  /* the framework's retention_days; -1: not set */
    bool unlocks_known;      /* transitive unlock counts computed (graph_unlocks_known) */
};

/* Bits for the methods a rule key applies to. */
#define M(x) (1u << (x))
#define M_EVIDENCE                                                                                 \
    (M(RULE_LATEST) | M(RULE_HIGHEST) | M(RULE_AVERAGE) | M(RULE_WEIGHTED_AVERAGE) |               \
     M(RULE_DECAYING_AVERAGE) | M(RULE_N_MASTERY) | M(RULE_BKT))

/*
 * The rule parameters: which methods take each one, its kind and bounds, and where it goes in
 * rule_t. One table, so the bounds graph.h documents live in one place.
 */
typedef enum param_kind {
    P_SKIP,  /* checked elsewhere (method; at_least against its list) */
    P_REAL,  /* number in [lo, hi] */
    P_OPEN,  /* number in (lo, hi) */
    P_COUNT, /* integer in [lo, hi] */
    P_IDS,   /* list of competency ids (resolved in pass 2) */
} param_kind_t;

static const struct {
    const char *name;
    uint32_t methods;
    param_kind_t kind;
    double lo, hi;
    size_t offset; /* in rule_t */
} rule_params[] = {
    {"method", M_EVIDENCE | M(RULE_CHILDREN), P_SKIP, 0, 0, 0},
    {"threshold", M_EVIDENCE, P_REAL, 0, 1, offsetof(rule_t, threshold)},
    {"min_evidence", M_EVIDENCE, P_COUNT, 0, GRAPH_MIN_EVIDENCE_MAX,
     offsetof(rule_t, min_evidence)},
    {"weight", M(RULE_WEIGHTED_AVERAGE) | M(RULE_DECAYING_AVERAGE), P_REAL, 0, 1,
     offsetof(rule_t, weight)},
    {"n", M(RULE_N_MASTERY), P_COUNT, 1, GRAPH_RULE_N_MAX, offsetof(rule_t, n)},
    {"p_init", M(RULE_BKT), P_OPEN, 0, 1, offsetof(rule_t, p_init)},
    {"p_transit", M(RULE_BKT), P_OPEN, 0, 1, offsetof(rule_t, p_transit)},
    {"p_guess", M(RULE_BKT), P_OPEN, 0, 1, offsetof(rule_t, p_guess)},
    {"p_slip", M(RULE_BKT), P_OPEN, 0, 1, offsetof(rule_t, p_slip)},
    {"correct_at", M(RULE_BKT), P_REAL, 0, 1, offsetof(rule_t, correct_at)},
    {"p_forget", M(RULE_BKT), P_REAL, 0, 1, offsetof(rule_t, p_forget)},
    {"of", M(RULE_CHILDREN), P_IDS, 0, 0, 0},
    {"at_least", M(RULE_CHILDREN), P_SKIP, 0, 0, 0},
};

static const char *const framework_keys[] = {"$schema",      "id",           "title",
                                             "version",      "description",  "source_uri",
                                             "competencies", "review_after", "retention_days"};
static const char *const competency_keys[] = {"id",          "title",    "description",
                                              "source_uri",  "requires", "rule",
                                              "achievement", "metadata", "review_after"};

/*
 * Where an error is: the JSON path competencies[i].<sub><key>[<item>] (or just <sub><key>
 * for the framework's own fields, i == NO_INDEX). The path is formatted only on failure, so
 * the checks cost nothing on a valid document.
 */
#define NO_INDEX UINT32_MAX

typedef struct where {
    uint32_t i;
    const char *sub;
    const char *key;
    long long item; /* -1: none */
} where_t;

#define W(sub_)        ((where_t){i, (sub_), NULL, -1})
#define WK(sub_, key_) ((where_t){i, (sub_), (key_), -1})
#define WF(sub_)       ((where_t){NO_INDEX, (sub_), NULL, -1})

static int fail(err_detail_t *d, int code, where_t w, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(err_detail_t *d, int code, where_t w, const char *fmt, ...)
{
    if (d == NULL)
        return code;
    char field[sizeof d->field], item[32] = "";
    if (w.item >= 0)
        snprintf(item, sizeof item, "[%lld]", w.item);
    if (w.i == NO_INDEX)
        snprintf(field, sizeof field, "%s%s%s", w.sub, w.key ? w.key : "", item);
    else
        snprintf(field, sizeof field, "competencies[%u]%s%s%s%s", w.i, *w.sub || w.key ? "." : "",
                 w.sub, w.key ? w.key : "", item);
    char msg[sizeof d->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(d, code, field, "%s", msg);
}

static bool key_in(const char *key, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

/* FNV-1a, 64 bits, over the id's bytes. */
static uint64_t id_hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 32);
}

/* Inserts comps[index] into the table, or returns the index of the competency with its id. */
static uint32_t table_insert(graph_t *g, uint32_t index)
{
    uint64_t h = id_hash(g->comps[index].id);
    uint32_t h32 = (uint32_t)h;
    for (uint32_t i = (uint32_t)(h >> 32) & g->mask;; i = (i + 1) & g->mask) {
        slot_t *s = &g->slots[i];
        if (s->idx1 == 0) {
            s->hash = h32;
            s->idx1 = index + 1;
            return index;
        }
        if (s->hash == h32 && strcmp(g->comps[s->idx1 - 1].id, g->comps[index].id) == 0)
            return s->idx1 - 1;
    }
}

static bool table_find(const graph_t *g, const char *id, uint32_t *index)
{
    uint64_t h = id_hash(id);
    uint32_t h32 = (uint32_t)h;
    for (uint32_t i = (uint32_t)(h >> 32) & g->mask;; i = (i + 1) & g->mask) {
        const slot_t *s = &g->slots[i];
        if (s->idx1 == 0)
            return false;
        if (s->hash == h32 && strcmp(g->comps[s->idx1 - 1].id, id) == 0) {
            *index = s->idx1 - 1;
            return true;
        }
    }
}

/*
 * Checks an id (framework or competency): a non-empty string of at most GRAPH_ID_MAX bytes
 * without control characters (jansson has already checked UTF-8 and refused NUL).
 */
static int check_id(const json_t *v, where_t w, const char *what, err_detail_t *d)
{
    if (v == NULL)
        return fail(d, ERR_INVALID, w, "missing %s id", what);
    if (!json_is_string(v))
        return fail(d, ERR_INVALID, w, "%s id must be a string", what);
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len == 0)
        return fail(d, ERR_INVALID, w, "%s id is empty", what);
    if (len > GRAPH_ID_MAX)
        return fail(d, ERR_INVALID, w, "%s id is %zu bytes; at most %d", what, len, GRAPH_ID_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return fail(d, ERR_INVALID, w, "%s id contains a control character", what);
    }
    return 0;
}

/* Checks an optional text field; *out = its value, or "" when absent. */
static int check_text(const json_t *v, size_t max, bool required, where_t w, const char *id,
                      const char **out, err_detail_t *d)
{
    const char *name = w.sub;
    *out = "";
    if (v == NULL) {
        if (required)
            return fail(d, ERR_INVALID, w, "%s: missing %s", id, name);
        return 0;
    }
    if (!json_is_string(v))
        return fail(d, ERR_INVALID, w, "%s: %s must be a string", id, name);
    size_t len = json_string_length(v);
    if (required && len == 0)
        return fail(d, ERR_INVALID, w, "%s: %s must not be empty", id, name);
    if (len > max)
        return fail(d, ERR_INVALID, w, "%s: %s is %zu bytes; at most %zu", id, name, len, max);
    *out = json_string_value(v);
    return 0;
}

static int check_uri(const json_t *v, where_t w, const char *id, const char **out, err_detail_t *d)
{
    int rc = check_text(v, GRAPH_URI_MAX, false, w, id, out, d);
    if (rc != 0 || v == NULL)
        return rc;
    const char *s = *out;
    if (*s == '\0')
        return fail(d, ERR_INVALID, w, "%s: empty source_uri", id);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return fail(d, ERR_INVALID, w,
                        "%s: source_uri contains a space or control "
                        "character",
                        id);
    return 0;
}

/* A number in [lo, hi] (open at both ends when open is set). */
static int get_real(const json_t *v, double lo, double hi, bool open, where_t w, const char *id,
                    double *out, err_detail_t *d)
{
    if (!json_is_number(v))
        return fail(d, ERR_INVALID, w, "%s: must be a number", id);
    double x = json_number_value(v);
    bool ok = open ? (x > lo && x < hi) : (x >= lo && x <= hi);
    if (!ok)
        return fail(d, ERR_INVALID, w, "%s: %g is out of range %c%g, %g%c", id, x, open ? '(' : '[',
                    lo, hi, open ? ')' : ']');
    *out = x;
    return 0;
}

static int get_count(const json_t *v, json_int_t lo, json_int_t hi, where_t w, const char *id,
                     uint32_t *out, err_detail_t *d)
{
    if (!json_is_integer(v))
        return fail(d, ERR_INVALID, w, "%s: must be an integer", id);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return fail(d, ERR_INVALID, w,
                    "%s: %" JSON_INTEGER_FORMAT " is out of range %" JSON_INTEGER_FORMAT
                    "..%" JSON_INTEGER_FORMAT,
                    id, x, lo, hi);
    *out = (uint32_t)x;
    return 0;
}

/* Checks that list is a non-empty array of strings (resolved in pass 2). */
static int check_id_list(const json_t *list, where_t w, const char *id, err_detail_t *d)
{
    if (!json_is_array(list))
        return fail(d, ERR_INVALID, w, "%s: must be an array of competency ids", id);
    size_t n = json_array_size(list);
    if (n == 0)
        return fail(d, ERR_INVALID, w, "%s: must list at least one competency id", id);
    if (n > GRAPH_MAX_COMPETENCIES)
        return fail(d, ERR_INVALID, w, "%s: %zu ids; at most %d", id, n, GRAPH_MAX_COMPETENCIES);
    for (size_t j = 0; j < n; j++) {
        where_t wi = w;
        wi.item = (long long)j;
        if (!json_is_string(json_array_get(list, j)))
            return fail(d, ERR_INVALID, wi, "%s: must be a competency id (a string)", id);
    }
    return 0;
}

static int parse_requires(const json_t *req, uint32_t i, graph_comp_t *c, err_detail_t *d)
{
    if (req == NULL) {
        c->requires_kind = REQUIRES_NONE;
        return 0;
    }
    if (!json_is_object(req))
        return fail(d, ERR_INVALID, W("requires"),
                    "%s: requires must be {\"all\": [...]} or {\"at_least\": k, \"of\": "
                    "[...]}",
                    c->id);
    const json_t *all = json_object_get(req, "all");
    const json_t *of = json_object_get(req, "of");
    const json_t *k = json_object_get(req, "at_least");
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)req, key, value)
    {
        bool known = all ? strcmp(key, "all") == 0
                         : (strcmp(key, "of") == 0 || strcmp(key, "at_least") == 0);
        if (!known)
            return fail(d, ERR_INVALID, WK("requires.", key),
                        "%s: unexpected key '%s' in requires (use {\"all\": [...]} or "
                        "{\"at_least\": k, \"of\": [...]})",
                        c->id, key);
    }
    int rc;
    if (all != NULL) {
        if ((rc = check_id_list(all, W("requires.all"), c->id, d)))
            return rc;
        c->requires_kind = REQUIRES_ALL;
        c->n_requires = (uint32_t)json_array_size(all);
        c->requires_k = c->n_requires;
        return 0;
    }
    if (of == NULL)
        return fail(d, ERR_INVALID, W("requires"), "%s: requires must have \"all\" or \"of\"",
                    c->id);
    if (k == NULL)
        return fail(d, ERR_INVALID, W("requires.at_least"),
                    "%s: requires with \"of\" needs \"at_least\"", c->id);
    if ((rc = check_id_list(of, W("requires.of"), c->id, d)))
        return rc;
    c->n_requires = (uint32_t)json_array_size(of);
    if ((rc = get_count(k, 1, c->n_requires, W("requires.at_least"), c->id, &c->requires_k, d)))
        return rc;
    c->requires_kind = REQUIRES_AT_LEAST;
    return 0;
}

static int parse_rule(const json_t *rule, uint32_t i, graph_comp_t *c, err_detail_t *d)
{
    int rc;
    if (rule == NULL) {
        mastery_rule_defaults(&c->rule, GRAPH_DEFAULT_METHOD);
        return 0;
    }
    if (!json_is_object(rule))
        return fail(d, ERR_INVALID, W("rule"), "%s: rule must be an object", c->id);
    const json_t *m = json_object_get(rule, "method");
    if (m == NULL)
        return fail(d, ERR_INVALID, W("rule.method"), "%s: missing rule method", c->id);
    rule_method_t method;
    if (!json_is_string(m) || mastery_method_parse(json_string_value(m), &method) != 0)
        return fail(d, ERR_INVALID, W("rule.method"),
                    "%s: unknown rule method '%s' (latest, highest, average, "
                    "weighted_average, decaying_average, n_mastery, bkt, children)",
                    c->id, json_is_string(m) ? json_string_value(m) : "(not a string)");
    mastery_rule_defaults(&c->rule, method);
    rule_t *r = &c->rule;

    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)rule, key, v)
    {
        size_t k = 0, nk = sizeof rule_params / sizeof rule_params[0];
        while (k < nk && strcmp(rule_params[k].name, key) != 0)
            k++;
        where_t w = WK("rule.", key);
        if (k == nk)
            return fail(d, ERR_INVALID, w, "%s: unknown key '%s' in rule", c->id, key);
        if (!(rule_params[k].methods & M(method)))
            return fail(d, ERR_INVALID, w, "%s: key '%s' does not apply to method %s", c->id, key,
                        mastery_method_name(method));
        void *dst = (char *)r + rule_params[k].offset;
        double lo = rule_params[k].lo, hi = rule_params[k].hi;
        switch (rule_params[k].kind) {
        case P_REAL:
        case P_OPEN:
            rc = get_real(v, lo, hi, rule_params[k].kind == P_OPEN, w, c->id, dst, d);
            break;
        case P_COUNT:
            rc = get_count(v, (json_int_t)lo, (json_int_t)hi, w, c->id, dst, d);
            break;
        case P_IDS:
            rc = check_id_list(v, w, c->id, d);
            break;
        default:
            rc = 0;
            break;
        }
        if (rc != 0)
            return rc;
    }
    if (method == RULE_BKT && r->p_guess + r->p_slip >= 1.0)
        return fail(d, ERR_INVALID, W("rule.p_slip"),
                    "%s: p_guess + p_slip must be below 1 (%g + %g); otherwise a correct "
                    "answer would lower the estimate",
                    c->id, r->p_guess, r->p_slip);
    if (method == RULE_BKT && r->p_forget >= 1.0)
        return fail(d, ERR_INVALID, W("rule.p_forget"),
                    "%s: p_forget must be below 1 (%g); at 1 every item would forget everything",
                    c->id, r->p_forget);
    if (method == RULE_CHILDREN) {
        const json_t *of = json_object_get(rule, "of");
        if (of == NULL)
            return fail(d, ERR_INVALID, W("rule.of"),
                        "%s: the children rule must list its children in \"of\"", c->id);
        c->n_children = (uint32_t)json_array_size(of);
        const json_t *k = json_object_get(rule, "at_least");
        if (k != NULL &&
            (rc = get_count(k, 1, c->n_children, W("rule.at_least"), c->id, &r->children_k, d)))
            return rc;
    }
    return 0;
}

static int parse_achievement(const json_t *a, uint32_t i, graph_comp_t *c, err_detail_t *d)
{
    if (a == NULL)
        return 0;
    if (!json_is_object(a))
        return fail(d, ERR_INVALID, W("achievement"), "%s: achievement must be an object", c->id);
    const json_t *name = json_object_get(a, "name");
    if (name != NULL && !json_is_string(name))
        return fail(d, ERR_INVALID, W("achievement.name"), "%s: achievement name must be a string",
                    c->id);
    c->achievement = a;
    return 0;
}

static int parse_metadata(const json_t *m, uint32_t i, graph_comp_t *c, err_detail_t *d)
{
    if (m != NULL && !json_is_object(m))
        return fail(d, ERR_INVALID, W("metadata"), "%s: metadata must be an object", c->id);
    c->metadata = m;
    return 0;
}

/*
 * A review_after duration: an ISO 8601 duration string of weeks, days, hours, minutes and
 * seconds ("P30D", "P2W", "PT36H", "P1DT12H30M"; integers only; years and months are refused,
 * since their length varies), at most GRAPH_REVIEW_AFTER_MAX_DAYS days. "P0D" means never.
 */
static int parse_duration(const json_t *v, where_t w, const char *id, int64_t *ms, err_detail_t *d)
{
    if (!json_is_string(v))
        return fail(d, ERR_INVALID, w,
                    "%s: review_after must be an ISO 8601 duration string "
                    "such as \"P30D\"",
                    id);
    const char *s = json_string_value(v), *p = s;
    int64_t total = 0;
    bool time = false, any = false;
    if (*p++ != 'P')
        goto bad;
    while (*p != '\0') {
        if (*p == 'T' && !time) {
            time = true;
            p++;
            continue;
        }
        int64_t n = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 9) {
            n = n * 10 + (*p++ - '0');
            digits++;
        }
        if (digits == 0)
            goto bad;
        int64_t unit;
        switch (*p++) {
        case 'W':
            unit = time ? 0 : 7 * 86400000LL;
            break;
        case 'D':
            unit = time ? 0 : 86400000LL;
            break;
        case 'H':
            unit = time ? 3600000LL : 0;
            break;
        case 'M':
            unit = time ? 60000LL : 0;
            break;
        case 'S':
            unit = time ? 1000LL : 0;
            break;
        default:
            unit = 0;
            break;
        }
        if (unit == 0)
            goto bad;
        total += n * unit;
        if (total > GRAPH_REVIEW_AFTER_MAX_DAYS * 86400000LL)
            return fail(d, ERR_INVALID, w, "%s: review_after '%s' is over %d days", id, s,
                        GRAPH_REVIEW_AFTER_MAX_DAYS);
        any = true;
    }
    if (!any || p[-1] == 'T')
        goto bad;
    *ms = total;
    return 0;
bad:
    return fail(d, ERR_INVALID, w,
                "%s: review_after '%.64s' is not an ISO 8601 duration of weeks, days, hours, "
                "minutes or seconds (e.g. \"P30D\", \"PT36H\")",
                id, s);
}

/* Pass 1 for competency i: every field but the id references. */
static int parse_competency(graph_t *g, const json_t *cj, uint32_t i, err_detail_t *d)
{
    graph_comp_t *c = &g->comps[i];
    int rc;
    if (!json_is_object(cj))
        return fail(d, ERR_INVALID, W(""), "competency must be an object");
    if ((rc = check_id(json_object_get(cj, "id"), W("id"), "competency", d)))
        return rc;
    c->id = json_string_value(json_object_get(cj, "id"));
    uint32_t first = table_insert(g, i);
    if (first != i)
        return fail(d, ERR_CONFLICT, W("id"), "duplicate id %s (first at competencies[%u])", c->id,
                    first);

    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)cj, key, v)
    {
        if (!key_in(key, competency_keys, sizeof competency_keys / sizeof competency_keys[0]))
            return fail(d, ERR_INVALID, WK("", key), "%s: unknown key '%s' in competency", c->id,
                        key);
    }
    if ((rc = check_text(json_object_get(cj, "title"), GRAPH_TITLE_MAX, true, W("title"), c->id,
                         &c->title, d)))
        return rc;
    if ((rc = check_text(json_object_get(cj, "description"), GRAPH_TEXT_MAX, false,
                         W("description"), c->id, &c->description, d)))
        return rc;
    if ((rc = check_uri(json_object_get(cj, "source_uri"), W("source_uri"), c->id, &c->source_uri,
                        d)))
        return rc;
    if ((rc = parse_requires(json_object_get(cj, "requires"), i, c, d)))
        return rc;
    if ((rc = parse_rule(json_object_get(cj, "rule"), i, c, d)))
        return rc;
    if ((rc = parse_metadata(json_object_get(cj, "metadata"), i, c, d)))
        return rc;
    c->review_after_ms = g->review_after_ms; /* the framework's, unless the competency says */
    const json_t *ra = json_object_get(cj, "review_after");
    if (ra != NULL && (rc = parse_duration(ra, W("review_after"), c->id, &c->review_after_ms, d)))
        return rc;
    return parse_achievement(json_object_get(cj, "achievement"), i, c, d);
}

/*
 * Resolves one id list into dst; stamp marks the indexes already in this list (scratch array,
 * one value per list). w names the list ("competencies[4].requires.of").
 */
static int resolve_list(const graph_t *g, const json_t *list, uint32_t *dst, uint32_t *scratch,
                        uint32_t stamp, where_t w, const char *id, err_detail_t *d)
{
    size_t n = json_array_size(list);
    for (size_t j = 0; j < n; j++) {
        const char *ref = json_string_value(json_array_get(list, j));
        uint32_t idx;
        w.item = (long long)j;
        if (!table_find(g, ref, &idx))
            return fail(d, ERR_INVALID, w, "%s: unknown competency '%s'", id, ref);
        if (scratch[idx] == stamp)
            return fail(d, ERR_INVALID, w, "%s: '%s' is listed twice", id, ref);
        scratch[idx] = stamp;
        dst[j] = idx;
    }
    return 0;
}

/* Appends " -> id" (or the first id) to a bounded message (size >= 4); marks truncation with
 * "...". */
static void append_id(char *buf, size_t size, size_t *len, const char *id, bool first)
{
    int w =
        *len + 1 < size ? snprintf(buf + *len, size - *len, "%s%s", first ? "" : " -> ", id) : -1;
    if (w < 0 || (size_t)w >= size - *len) {
        *len = size - 1; /* full, and something did not fit */
        memcpy(buf + size - 4, "...", 4);
        return;
    }
    *len += (size_t)w;
}

/*
 * Reports a cycle among the competencies Kahn could not order (deps[i] > 0): every such
 * competency has an unordered dependency, so following one from the first of them must
 * come back to a competency already on the walk. walk and at are scratch arrays (count each).
 */
static int report_cycle(const graph_t *g, const uint32_t *deps, uint32_t *walk, uint32_t *at,
                        err_detail_t *d)
{
    uint32_t u = 0;
    while (deps[u] == 0)
        u++;
    memset(at, 0, g->count * sizeof *at);
    uint32_t len = 0;
    while (at[u] == 0) {
        walk[len] = u;
        at[u] = ++len;
        const graph_comp_t *c = &g->comps[u];
        uint32_t next = UINT32_MAX;
        for (uint32_t j = 0; j < c->n_requires && next == UINT32_MAX; j++)
            if (deps[c->requires[j]] > 0)
        next = c->requires[j];
        for (uint32_t j = 0; j < c->n_children && next == UINT32_MAX; j++)
            if (deps[c->children[j]] > 0)
                next = c->children[j];
        if (next == UINT32_MAX)
            return err_set(d, ERR_INTERNAL, "competencies", "cycle walk lost its way");
        u = next;
    }
    /* The cycle is walk[at[u]-1 .. len); start it at its lowest index for a stable message. */
    uint32_t start = at[u] - 1, n = len - start, low = start;
    for (uint32_t j = start; j < len; j++)
        if (walk[j] < walk[low])
            low = j;
    char msg[sizeof d->message] = "cycle: ";
    size_t mlen = strlen(msg);
    for (uint32_t j = 0; j <= n; j++) {
        uint32_t pos = start + (low - start + j) % n;
        append_id(msg, sizeof msg, &mlen, g->comps[walk[pos]].id, j == 0);
    }
    return err_set(d, ERR_CONFLICT, "competencies", "%s", msg);
}

/* Pass 2: edges, reverse edges, topological order. */
static int compile_edges(graph_t *g, const json_t *list, size_t n_forward, size_t n_req,
                         err_detail_t *d)
{
    uint32_t n = g->count;
    int rc = 0;
    size_t total = 2 * n_forward + n;
    g->block = malloc((total ? total : 1) * sizeof *g->block);
    uint32_t *scratch = malloc(((size_t)n * 3 + 1) * sizeof *scratch);
    if (g->block == NULL || scratch == NULL) {
        rc = err_set(d, ERR_NOMEM, "", "out of memory for %zu edges", n_forward);
        goto out;
    }
    uint32_t *fwd = g->block;
    uint32_t *dependents = fwd + n_forward;
    uint32_t *parents = dependents + n_req;
    g->topo = parents + (n_forward - n_req);

    /* Forward edges, resolved; scratch stamps catch an id listed twice in one list. */
    memset(scratch, 0, (size_t)n * sizeof *scratch);
    size_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
        graph_comp_t *c = &g->comps[i];
        const json_t *cj = json_array_get(list, i);
        if (c->requires_kind != REQUIRES_NONE) {
            const json_t *req = json_object_get(cj, "requires");
            bool all = c->requires_kind == REQUIRES_ALL;
            const json_t *ids = json_object_get(req, all ? "all" : "of");
            if ((rc = resolve_list(g, ids, fwd + at, scratch, 2 * i + 1,
                                   WK("requires.", all ? "all" : "of"), c->id, d)))
                goto out;
            c->requires = fwd + at;
            at += c->n_requires;
        }
        if (c->rule.method == RULE_CHILDREN) {
            const json_t *ids = json_object_get(json_object_get(cj, "rule"), "of");
            if ((rc = resolve_list(g, ids, fwd + at, scratch, 2 * i + 2, W("rule.of"), c->id, d)))
                goto out;
            c->children = fwd + at;
            at += c->n_children;
        }
    }

    /* Reverse edges by counting sort: slices in ascending index order. */
    for (uint32_t i = 0; i < n; i++) {
        const graph_comp_t *c = &g->comps[i];
        for (uint32_t j = 0; j < c->n_requires; j++)
            g->comps[c->requires[j]].n_dependents++;
        for (uint32_t j = 0; j < c->n_children; j++)
            g->comps[c->children[j]].n_parents++;
    }
    size_t dep_at = 0, par_at = 0;
    for (uint32_t i = 0; i < n; i++) {
        graph_comp_t *c = &g->comps[i];
        c->dependents = dependents + dep_at;
        c->parents = parents + par_at;
        dep_at += c->n_dependents;
        par_at += c->n_parents;
        c->n_dependents = 0;
        c->n_parents = 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        const graph_comp_t *c = &g->comps[i];
        for (uint32_t j = 0; j < c->n_requires; j++) {
            graph_comp_t *p = &g->comps[c->requires[j]];
            ((uint32_t *)p->dependents)[p->n_dependents++] = i;
        }
        for (uint32_t j = 0; j < c->n_children; j++) {
            graph_comp_t *p = &g->comps[c->children[j]];
            ((uint32_t *)p->parents)[p->n_parents++] = i;
        }
    }

    /* Kahn: scratch[i] = dependencies of i not yet ordered; topo doubles as the queue. */
    uint32_t *deps = scratch;
    uint32_t head = 0, tail = 0;
    for (uint32_t i = 0; i < n; i++) {
        deps[i] = g->comps[i].n_requires + g->comps[i].n_children;
        if (deps[i] == 0)
            g->topo[tail++] = i;
    }
    while (head < tail) {
        const graph_comp_t *c = &g->comps[g->topo[head++]];
        for (uint32_t j = 0; j < c->n_dependents; j++)
            if (--deps[c->dependents[j]] == 0)
                g->topo[tail++] = c->dependents[j];
        for (uint32_t j = 0; j < c->n_parents; j++)
            if (--deps[c->parents[j]] == 0)
                g->topo[tail++] = c->parents[j];
    }
    if (tail < n)
        rc = report_cycle(g, deps, scratch + n, scratch + 2 * (size_t)n, d);
out:
    free(scratch);
    return rc;
}

/*
 * Pass 3: per competency its layer (the longest requires/children chain below it) and how many
 * competencies its mastery could unlock: directly (its dependents) and transitively (everything
 * reachable along dependents edges). One BFS per competency, O(V (V + E)): computed only when
 * that is at most GRAPH_UNLOCKS_WORK_MAX steps (a 480-competency standards map is ~600 000),
 * else the transitive counts stay 0 and graph_unlocks_known() says so.
 */
static int compile_unlocks(graph_t *g, err_detail_t *d)
{
    uint32_t n = g->count;
    size_t edges = 0;
    for (uint32_t i = 0; i < n; i++) {
        graph_comp_t *c = &g->comps[i];
        edges += c->n_dependents;
        c->unlocks_direct = c->n_dependents;
    }
    for (uint32_t j = 0; j < n; j++) {
        graph_comp_t *c = &g->comps[g->topo[j]];
        uint32_t layer = 0;
        for (uint32_t k = 0; k < c->n_requires; k++)
            if (g->comps[c->requires[k]].layer + 1 > layer)
                layer = g->comps[c->requires[k]].layer + 1;
        for (uint32_t k = 0; k < c->n_children; k++)
            if (g->comps[c->children[k]].layer + 1 > layer)
                layer = g->comps[c->children[k]].layer + 1;
        c->layer = layer;
    }
    if ((double)n * (double)(n + edges) > GRAPH_UNLOCKS_WORK_MAX)
        return 0;
    uint32_t *stamp = calloc(n ? n : 1, sizeof *stamp);
    uint32_t *queue = malloc((n ? n : 1) * sizeof *queue);
    if (stamp == NULL || queue == NULL) {
        free(stamp);
        free(queue);
        return err_set(d, ERR_NOMEM, "", "out of memory for %u competencies", n);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t head = 0, tail = 0;
        queue[tail++] = i;
        stamp[i] = i + 1;
        while (head < tail) {
            const graph_comp_t *x = &g->comps[queue[head++]];
            for (uint32_t k = 0; k < x->n_dependents; k++)
                if (stamp[x->dependents[k]] != i + 1) {
                    stamp[x->dependents[k]] = i + 1;
                    queue[tail++] = x->dependents[k];
                }
        }
        g->comps[i].unlocks_transitive = tail - 1;
    }
    free(stamp);
    free(queue);
    g->unlocks_known = true;
    return 0;
}

int graph_parse(const char *json, size_t len, graph_t **out, err_detail_t *detail)
{
    err_detail_t *d = detail;
    int rc = 0;
    *out = NULL;
    err_clear(d);

    graph_t *g = calloc(1, sizeof *g);
    if (g == NULL)
        return err_set(d, ERR_NOMEM, "", "out of memory");

    json_error_t jerr;
    g->doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (g->doc == NULL) {
        rc = err_set(d, ERR_INVALID, "", "malformed JSON at line %d, column %d: %s", jerr.line,
                     jerr.column, jerr.text);
        goto out;
    }
    if (!json_is_object(g->doc)) {
        rc = err_set(d, ERR_INVALID, "", "a framework must be a JSON object");
        goto out;
    }
    const char *key;
    const json_t *v;
    json_object_foreach(g->doc, key, v)
    {
        if (!key_in(key, framework_keys, sizeof framework_keys / sizeof framework_keys[0])) {
            rc = err_set(d, ERR_INVALID, key, "unknown key '%s' in framework", key);
            goto out;
        }
    }
    if ((rc = check_id(json_object_get(g->doc, "id"), WF("id"), "framework", d)))
        goto out;
    g->id = json_string_value(json_object_get(g->doc, "id"));
    if ((rc = check_text(json_object_get(g->doc, "title"), GRAPH_TITLE_MAX, true, WF("title"),
                         g->id, &g->title, d)))
        goto out;
    if ((rc = check_text(json_object_get(g->doc, "version"), GRAPH_ID_MAX, false, WF("version"),
                         g->id, &g->version, d)))
        goto out;
    const char *unused;
    if ((rc = check_text(json_object_get(g->doc, "description"), GRAPH_TEXT_MAX, false,
                         WF("description"), g->id, &unused, d)))
        goto out;
    if ((rc =
             check_uri(json_object_get(g->doc, "source_uri"), WF("source_uri"), g->id, &unused, d)))
        goto out;

    const json_t *ra = json_object_get(g->doc, "review_after");
    if (ra != NULL && (rc = parse_duration(ra, WF("review_after"), g->id, &g->review_after_ms, d)))
        goto out;
    const json_t *rd = json_object_get(g->doc, "retention_days");
    g->retention_days = -1;
    if (rd != NULL) {
        if (!json_is_integer(rd) || json_integer_value(rd) < 0 ||
            json_integer_value(rd) > GRAPH_RETENTION_MAX_DAYS) {
            rc = fail(d, ERR_INVALID, WF("retention_days"),
                      "%s: retention_days must be an integer of 0 to %d (0: kept forever)", g->id,
                      GRAPH_RETENTION_MAX_DAYS);
            goto out;
        }
        g->retention_days = json_integer_value(rd);
    }

    const json_t *list = json_object_get(g->doc, "competencies");
    if (list == NULL || !json_is_array(list)) {
        rc = err_set(d, ERR_INVALID, "competencies",
                     list ? "competencies must be an array" : "missing competencies");
        goto out;
    }
    size_t count = json_array_size(list);
    if (count > GRAPH_MAX_COMPETENCIES) {
        rc = err_set(d, ERR_INVALID, "competencies", "%zu competencies; at most %d", count,
                     GRAPH_MAX_COMPETENCIES);
        goto out;
    }
    g->count = (uint32_t)count;
    uint32_t size = 16;
    while (size < 2 * g->count)
        size *= 2;
    g->mask = size - 1;
    g->comps = calloc(count ? count : 1, sizeof *g->comps);
    g->slots = calloc(size, sizeof *g->slots);
    if (g->comps == NULL || g->slots == NULL) {
        rc = err_set(d, ERR_NOMEM, "", "out of memory for %zu competencies", count);
        goto out;
    }

    size_t n_req = 0, n_child = 0;
    for (uint32_t i = 0; i < g->count; i++) {
        if ((rc = parse_competency(g, json_array_get(list, i), i, d)))
            goto out;
        n_req += g->comps[i].n_requires;
        n_child += g->comps[i].n_children;
    }
    if ((rc = compile_edges(g, list, n_req + n_child, n_req, d)) == 0)
        rc = compile_unlocks(g, d);
out:
    if (rc != 0) {
        graph_destroy(&g);
        return rc;
    }
    *out = g;
    return 0;
}

void graph_destroy(graph_t **gp)
{
    if (gp == NULL || *gp == NULL)
        return;
    graph_t *g = *gp;
    free(g->slots);
    free(g->block);
    free(g->comps);
    json_decref(g->doc);
    free(g);
    *gp = NULL;
}

const char *graph_id(const graph_t *g)
{
    return g->id;
}

const char *graph_title(const graph_t *g)
{
    return g->title;
}

const char *graph_version(const graph_t *g)
{
    return g->version;
}

uint32_t graph_count(const graph_t *g)
{
    return g->count;
}

const graph_comp_t *graph_comp(const graph_t *g, uint32_t index)
{
    return index < g->count ? &g->comps[index] : NULL;
}

int graph_find(const graph_t *g, const char *id, uint32_t *index)
{
    if (id == NULL || !table_find(g, id, index))
        return ERR_NOT_FOUND;
    return 0;
}

const uint32_t *graph_topo_order(const graph_t *g)
{
    return g->topo;
}

const json_t *graph_document(const graph_t *g)
{
    return g->doc;
}

bool graph_unlocks_known(const graph_t *g)
{
    return g->unlocks_known;
}

int64_t graph_review_after(const graph_t *g)
{
    return g->review_after_ms;
}

int64_t graph_retention_days(const graph_t *g)
{
    return g->retention_days;
}
