/*
 * casepkg: CFPackage -> framework document. See casepkg.h for the mapping and the rules.
 */
#include "casepkg.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "isotime.h"

#define NO_SEQ INT64_MAX

enum { END_ITEM, END_DOC, END_EXTERNAL, END_NONE };

typedef struct child {
    uint32_t item;
    int64_t seq;
} child_t;

typedef struct item {
    const char *id;  /* borrowed from the package document */
    const char *uri; /* NULL when absent or unusable */
    json_t *src;     /* borrowed */
    child_t *children;
    size_t n_children, cap_children;
    uint32_t *preds; /* precedes origins: what this one requires */
    size_t n_preds, cap_preds;
    json_t *assocs; /* owned until moved into metadata */
    int rule;       /* index into rule options, -1: none named */
} item_t;

typedef struct rule_opt {
    const char *item; /* borrowed from opts; "*" for every leaf */
    size_t item_len;
    const char *method;
    size_t method_len;
    double threshold;
    bool has_threshold;
    bool used;
} rule_opt_t;

struct casepkg {
    json_t *doc;
    char *text;
    char **warnings;
    size_t n_warnings; /* stored */
    size_t total_warnings;
    char summary[CASEPKG_SUMMARY_MAX];
};

/* The state of one conversion. */
typedef struct conv {
    casepkg_t *out;
    json_t *pkg;
    const char *doc_id, *doc_uri;
    item_t *items;
    size_t n_items;
    json_t *by_id, *by_uri, *edges; /* lookups: id -> index, uri -> index, edge keys */
    json_t *unknown;                /* "kind\nkey" -> {"first", "n"} */
    json_t *kept;                   /* type -> count */
    rule_opt_t *rules;
    size_t n_rules;
    int star_rule; /* index of "*=...", -1 */
    bool gate;
    size_t roots, child_links, parents, gates, externals, ignored;
    err_detail_t *d;
} conv_t;

/* ---- small helpers ----------------------------------------------------------------------- */

static void warn(conv_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(conv_t *c, const char *fmt, ...)
{
    casepkg_t *p = c->out;
    p->total_warnings++;
    if (p->n_warnings >= CASEPKG_MAX_WARNINGS)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = strdup(buf);
    if (s != NULL)
        p->warnings[p->n_warnings++] = s;
}

static const char *str_or_null(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

static bool is_uuid(const char *s)
{
    static const int dash[] = {8, 13, 18, 23};
    if (strlen(s) != 36)
        return false;
    for (int i = 0, k = 0; i < 36; i++) {
        if (k < 4 && i == dash[k]) {
            if (s[i] != '-')
                return false;
            k++;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

/* Case-insensitive Levenshtein distance, capped at 3 (enough for "did you mean"). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40 || (la > lb ? la - lb : lb - la) > 2)
        return 3;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t cost =
                tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t best = prev + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb] > 3 ? 3 : row[lb];
}

static const char *const package_keys[] = {"CFDocument", "CFItems", "CFAssociations",
                                           "CFDefinitions", "CFRubrics"};
static const char *const document_keys[] = {
    "identifier",        "uri",       "creator",        "title",           "lastChangeDateTime",
    "officialSourceURL", "publisher", "description",    "subject",         "subjectURI",
    "language",          "version",   "adoptionStatus", "statusStartDate", "statusEndDate",
    "licenseURI",        "notes",     "CFPackageURI"};
static const char *const item_keys[] = {"identifier",
                                        "fullStatement",
                                        "alternativeLabel",
                                        "CFItemType",
                                        "uri",
                                        "humanCodingScheme",
                                        "listEnumeration",
                                        "abbreviatedStatement",
                                        "conceptKeywords",
                                        "conceptKeywordsURI",
                                        "notes",
                                        "language",
                                        "educationLevel",
                                        "CFItemTypeURI",
                                        "licenseURI",
                                        "statusStartDate",
                                        "statusEndDate",
                                        "lastChangeDateTime",
                                        "CFDocumentURI"};
static const char *const assoc_keys[] = {
    "identifier",    "associationType",    "sequenceNumber",           "uri",
    "originNodeURI", "destinationNodeURI", "CFAssociationGroupingURI", "lastChangeDateTime",
    "CFDocumentURI"};
static const char *const assoc_types[] = {"isChildOf",    "isPeerOf", "isPartOf",
                                          "exactMatchOf", "precedes", "isRelatedTo",
                                          "replacedBy",   "exemplar", "hasSkillLevel"};

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

static const char *closest(const char *key, const char *const *known, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (edit_distance(key, known[i]) <= 2)
            return known[i];
    return NULL;
}

/* Notes every key of obj not in known; one warning per (kind, key) is written at the end. */
static void check_keys(conv_t *c, const json_t *obj, const char *kind, const char *const *known,
                       size_t n, const char *who)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i = 0;
        while (i < n && strcmp(known[i], key) != 0)
            i++;
        if (i < n)
            continue;
        char k[300];
        snprintf(k, sizeof k, "%s\n%.280s", kind, key);
        json_t *e = json_object_get(c->unknown, k);
        if (e == NULL) {
            e = json_pack("{s:s,s:I}", "first", who, "n", (json_int_t)0);
            if (e == NULL || json_object_set_new(c->unknown, k, e) != 0)
                continue;
        }
        json_object_set_new(e, "n", json_integer(json_integer_value(json_object_get(e, "n")) + 1));
    }
}

static void report_unknown(conv_t *c)
{
    const char *k;
    json_t *e;
    json_object_foreach(c->unknown, k, e)
    {
        const char *nl = strchr(k, '\n');
        int kl = (int)(nl - k);
        const char *key = nl + 1;
        const char *const *known = item_keys;
        size_t n = NKEYS(item_keys);
        if (strncmp(k, "CFAssociation", (size_t)kl) == 0 && kl == 13) {
            known = assoc_keys;
            n = NKEYS(assoc_keys);
        } else if (strncmp(k, "CFDocument", (size_t)kl) == 0 && kl == 10) {
            known = document_keys;
            n = NKEYS(document_keys);
        } else if (strncmp(k, "package", (size_t)kl) == 0 && kl == 7) {
            known = package_keys;
            n = NKEYS(package_keys);
        }
        const char *near = closest(key, known, n);
        json_int_t count = json_integer_value(json_object_get(e, "n"));
        const char *first = json_string_value(json_object_get(e, "first"));
        if (near)
            warn(c,
                 "%.*s field '%s' (in %lld, first %s) is not a CASE 1.0 field: did you mean "
                 "'%s'? ignored",
                 kl, k, key, (long long)count, first, near);
        else
            warn(c, "%.*s field '%s' (in %lld, first %s) is not a CASE 1.0 field: ignored", kl, k,
                 key, (long long)count, first);
    }
}

/* Warns about a timestamp that is not RFC 3339 (most often: no time zone). The status dates
 * may also be a plain date (YYYY-MM-DD) or null, as the CASE schema allows. */
static void check_time(conv_t *c, const json_t *obj, const char *key, const char *who)
{
    const json_t *v = json_object_get(obj, key);
    bool status_date = strncmp(key, "status", 6) == 0;
    if (v == NULL || (status_date && json_is_null(v)))
        return;
    if (!json_is_string(v)) {
        warn(c, "%s: %s is not a string: ignored", who, key);
        return;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    int64_t ms;
    if (isotime_parse(s, len, &ms, NULL) == 0)
        return;
    char z[64];
    if (status_date && len == 10) {
        snprintf(z, sizeof z, "%sT00:00:00Z", s);
        if (isotime_parse(z, len + 10, &ms, NULL) == 0)
            return;
    }
    if (len < 40) {
        snprintf(z, sizeof z, "%sZ", s);
        if (isotime_parse(z, len + 1, &ms, NULL) == 0) {
            warn(c, "%s: %s '%s' has no time zone: read as UTC", who, key, s);
            return;
        }
    }
    warn(c, "%s: %s '%.64s' is not an RFC 3339 date-time: ignored", who, key, s);
}

static int id_check(conv_t *c, const json_t *v, const char *field, const char *what)
{
    if (v == NULL)
        return err_set(c->d, ERR_INVALID, field, "%s has no identifier", what);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return err_set(c->d, ERR_INVALID, field, "%s identifier must be a non-empty string", what);
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len > GRAPH_ID_MAX)
        return err_set(c->d, ERR_INVALID, field,
                       "%s identifier '%.64s...' is %zu bytes; at most %d", what, s, len,
                       GRAPH_ID_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            return err_set(c->d, ERR_INVALID, field,
                           "%s identifier '%.64s' contains a control character", what, s);
    }
    return 0;
}

static bool uri_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > GRAPH_URI_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch == 0x7f)
            return false;
    }
    return true;
}

/* A copy of s cut at max bytes on a UTF-8 character boundary; caller frees. */
static char *cut_utf8(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = '\0';
    }
    return r;
}

static int set_text(json_t *o, const char *key, const char *s, size_t max, conv_t *c,
                    const char *who)
{
    if (strlen(s) > max)
        warn(c, "%s: %s is %zu bytes: cut to %zu", who, key, strlen(s), max);
    char *t = cut_utf8(s, max);
    if (t == NULL)
        return ERR_NOMEM;
    int rc = json_object_set_new(o, key, json_string(t)) == 0 ? 0 : ERR_NOMEM;
    free(t);
    return rc;
}

#define GROW(arr, n, cap) ((n) < (cap) ? 0 : grow_array((void **)&(arr), &(cap), sizeof *(arr)))

static int grow_array(void **arr, size_t *cap, size_t size)
{
    size_t ncap = *cap ? *cap * 2 : 4;
    void *p = realloc(*arr, ncap * size);
    if (p == NULL)
        return ERR_NOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* ---- options ----------------------------------------------------------------------------- */

static const char *const methods[] = {
    "latest",           "highest",   "average", "weighted_average",
    "decaying_average", "n_mastery", "bkt",     "children"};

static int parse_rules(conv_t *c, const casepkg_opts_t *o)
{
    c->star_rule = -1;
    if (o == NULL || o->n_rules == 0)
        return 0;
    if (o->rules == NULL)
        return err_set(c->d, ERR_INVALID, "rules", "no rule list");
    c->rules = calloc(o->n_rules, sizeof *c->rules);
    if (c->rules == NULL)
        return ERR_NOMEM;
    c->n_rules = o->n_rules;
    for (size_t i = 0; i < o->n_rules; i++) {
        char field[32];
        snprintf(field, sizeof field, "rules[%zu]", i);
        const char *s = o->rules[i] ? o->rules[i] : "";
        const char *eq = strrchr(s, '=');
        if (eq == NULL || eq == s)
            return err_set(c->d, ERR_INVALID, field,
                           "'%.200s' is not ITEM_ID=METHOD[:threshold] or *=METHOD[:threshold]", s);
        rule_opt_t *r = &c->rules[i];
        r->item = s;
        r->item_len = (size_t)(eq - s);
        r->method = eq + 1;
        const char *colon = strchr(r->method, ':');
        r->method_len = colon ? (size_t)(colon - r->method) : strlen(r->method);
        size_t m = 0;
        while (m < NKEYS(methods) && !(strlen(methods[m]) == r->method_len &&
                                       memcmp(methods[m], r->method, r->method_len) == 0))
            m++;
        if (m == NKEYS(methods))
            return err_set(c->d, ERR_INVALID, field,
                           "unknown method '%.*s' (one of latest, highest, average, "
                           "weighted_average, decaying_average, n_mastery, bkt, children)",
                           (int)(r->method_len > 64 ? 64 : r->method_len), r->method);
        if (colon) {
            char *end = NULL;
            r->threshold = strtod(colon + 1, &end);
            if (colon[1] == '\0' || end == NULL || *end != '\0' || !(r->threshold >= 0) ||
                !(r->threshold <= 1))
                return err_set(c->d, ERR_INVALID, field,
                               "threshold '%.64s' is not a number in 0..1", colon + 1);
            if (strcmp(methods[m], "children") == 0)
                return err_set(c->d, ERR_INVALID, field, "the children rule takes no threshold");
            r->has_threshold = true;
        }
        for (size_t j = 0; j < i; j++)
            if (c->rules[j].item_len == r->item_len &&
                memcmp(c->rules[j].item, r->item, r->item_len) == 0)
                return err_set(c->d, ERR_INVALID, field,
                               "a second rule for '%.*s' (first at rules[%zu])",
                               (int)(r->item_len > 200 ? 200 : r->item_len), r->item, j);
        if (r->item_len == 1 && r->item[0] == '*') {
            if (strcmp(methods[m], "children") == 0)
                return err_set(c->d, ERR_INVALID, field,
                               "*=children: items without children cannot use the children rule");
            c->star_rule = (int)i;
        }
    }
    return 0;
}

/* ---- the package ------------------------------------------------------------------------- */

static int read_document(conv_t *c, const casepkg_opts_t *o)
{
    json_t *doc = json_object_get(c->pkg, "CFDocument");
    if (doc == NULL)
        return err_set(c->d, ERR_INVALID, "CFDocument",
                       "not a CASE package: no CFDocument (a CFPackage has CFDocument, CFItems and "
                       "CFAssociations)");
    if (!json_is_object(doc))
        return err_set(c->d, ERR_INVALID, "CFDocument", "CFDocument must be an object");
    int rc = id_check(c, json_object_get(doc, "identifier"), "CFDocument.identifier", "CFDocument");
    if (rc)
        return rc;
    c->doc_id = json_string_value(json_object_get(doc, "identifier"));
    char who[300];
    snprintf(who, sizeof who, "CFDocument %s", c->doc_id);
    check_keys(c, doc, "CFDocument", document_keys, NKEYS(document_keys), who);
    check_time(c, doc, "lastChangeDateTime", who);
    if (!is_uuid(c->doc_id))
        warn(c, "%s: identifier is not a UUID", who);
    c->doc_uri = str_or_null(doc, "uri");

    json_t *fw = c->out->doc;
    const char *id = o && o->framework_id && o->framework_id[0] ? o->framework_id : c->doc_id;
    const char *title = str_or_null(doc, "title");
    if (title == NULL) {
        warn(c, "%s: no title: the identifier is the framework title", who);
        title = c->doc_id;
    }
    if (json_object_set_new(fw, "id", json_string(id)) != 0)
        return err_set(c->d, ERR_INVALID, "framework_id", "the framework id is not valid UTF-8");
    if ((rc = set_text(fw, "title", title, GRAPH_TITLE_MAX, c, who)))
        return rc;
    const char *version = str_or_null(doc, "version");
    if (version == NULL)
        version = str_or_null(doc, "lastChangeDateTime");
    if (version != NULL && strlen(version) <= GRAPH_ID_MAX)
        json_object_set_new(fw, "version", json_string(version));
    else if (version != NULL)
        warn(c, "%s: version is longer than %d bytes: left out", who, GRAPH_ID_MAX);
    const char *desc = str_or_null(doc, "description");
    if (desc && (rc = set_text(fw, "description", desc, GRAPH_TEXT_MAX, c, who)))
        return rc;
    if (c->doc_uri && uri_ok(c->doc_uri))
        json_object_set_new(fw, "source_uri", json_string(c->doc_uri));
    return 0;
}

static int read_items(conv_t *c)
{
    json_t *items = json_object_get(c->pkg, "CFItems");
    if (items == NULL) {
        warn(c, "the package has no CFItems: an empty framework");
        return 0;
    }
    if (!json_is_array(items))
        return err_set(c->d, ERR_INVALID, "CFItems", "CFItems must be an array");
    size_t n = json_array_size(items);
    if (n > GRAPH_MAX_COMPETENCIES)
        return err_set(c->d, ERR_LIMIT, "CFItems", "%zu items; at most %d", n,
                       GRAPH_MAX_COMPETENCIES);
    c->items = calloc(n ? n : 1, sizeof *c->items);
    if (c->items == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *src = json_array_get(items, i);
        char field[64];
        snprintf(field, sizeof field, "CFItems[%zu]", i);
        if (!json_is_object(src))
            return err_set(c->d, ERR_INVALID, field, "an item must be an object");
        snprintf(field, sizeof field, "CFItems[%zu].identifier", i);
        char what[64];
        snprintf(what, sizeof what, "CFItems[%zu]", i);
        int rc = id_check(c, json_object_get(src, "identifier"), field, what);
        if (rc)
            return rc;
        item_t *it = &c->items[c->n_items];
        it->src = src;
        it->id = json_string_value(json_object_get(src, "identifier"));
        it->rule = -1;
        json_t *prev = json_object_get(c->by_id, it->id);
        if (prev != NULL)
            return err_set(c->d, ERR_CONFLICT, field,
                           "two items with identifier %s (CFItems[%lld] and CFItems[%zu])", it->id,
                           (long long)json_integer_value(prev), i);
        if (json_object_set_new(c->by_id, it->id, json_integer((json_int_t)i)) != 0)
            return ERR_NOMEM;
        c->n_items++;
        char who[300];
        snprintf(who, sizeof who, "item %s", it->id);
        if (!is_uuid(it->id))
            warn(c, "%s: identifier is not a UUID", who);
        check_keys(c, src, "CFItem", item_keys, NKEYS(item_keys), who);
        check_time(c, src, "lastChangeDateTime", who);
        check_time(c, src, "statusStartDate", who);
        check_time(c, src, "statusEndDate", who);
        const char *uri = str_or_null(src, "uri");
        if (uri == NULL) {
            warn(c, "%s: no uri: a badge for it has no CFItem alignment", who);
        } else if (!uri_ok(uri)) {
            warn(c, "%s: uri '%.100s' has spaces or control characters: left out", who, uri);
        } else {
            it->uri = uri;
            if (json_object_get(c->by_uri, uri) == NULL)
                json_object_set_new(c->by_uri, uri, json_integer((json_int_t)i));
        }
        if (str_or_null(src, "fullStatement") == NULL)
            warn(c, "%s: no fullStatement", who);
    }
    return 0;
}

/* Where one end of an association lies: an item (*index), the document, outside, or nowhere. */
static int resolve_end(conv_t *c, const json_t *node, uint32_t *index, const char *who,
                       const char *end)
{
    if (!json_is_object(node))
        return END_NONE;
    const char *id = str_or_null(node, "identifier");
    const char *uri = str_or_null(node, "uri");
    json_t *hit = id ? json_object_get(c->by_id, id) : NULL;
    if (hit) {
        *index = (uint32_t)json_integer_value(hit);
        return END_ITEM;
    }
    if (id && strcmp(id, c->doc_id) == 0)
        return END_DOC;
    hit = uri ? json_object_get(c->by_uri, uri) : NULL;
    if (hit) {
        *index = (uint32_t)json_integer_value(hit);
        warn(c, "%s: %s found by uri only (identifier %s is not in the package)", who, end,
             id ? id : "missing");
        return END_ITEM;
    }
    if (uri && c->doc_uri && strcmp(uri, c->doc_uri) == 0)
        return END_DOC;
    if (id == NULL && uri == NULL)
        return END_NONE;
    return END_EXTERNAL;
}

static int add_kept(item_t *it, const char *type, const char *role, const json_t *other,
                    bool external, int64_t seq, const char *assoc_id)
{
    if (it->assocs == NULL && (it->assocs = json_array()) == NULL)
        return ERR_NOMEM;
    json_t *o = json_pack("{s:s,s:s}", "type", type, "role", role);
    if (o == NULL)
        return ERR_NOMEM;
    json_t *ot = json_object();
    const char *keys[] = {"identifier", "uri", "title"};
    for (size_t k = 0; k < 3; k++) {
        const char *v = json_is_object(other) ? str_or_null(other, keys[k]) : NULL;
        if (v)
            json_object_set_new(ot, keys[k], json_string(v));
    }
    json_object_set_new(o, "other", ot);
    if (external)
        json_object_set_new(o, "external", json_true());
    if (seq != NO_SEQ)
        json_object_set_new(o, "sequenceNumber", json_integer((json_int_t)seq));
    if (assoc_id)
        json_object_set_new(o, "association", json_string(assoc_id));
    return json_array_append_new(it->assocs, o) == 0 ? 0 : ERR_NOMEM;
}

static void count_kept(conv_t *c, const char *type)
{
    json_t *n = json_object_get(c->kept, type);
    json_object_set_new(c->kept, type, json_integer(n ? json_integer_value(n) + 1 : 1));
}

/* Records edge key once; returns true when it was new. */
static bool edge_new(conv_t *c, char kind, uint32_t a, uint32_t b)
{
    char key[48];
    snprintf(key, sizeof key, "%c%u:%u", kind, a, b);
    if (json_object_get(c->edges, key))
        return false;
    json_object_set_new(c->edges, key, json_true());
    return true;
}

static int64_t read_seq(conv_t *c, const json_t *a, const char *who)
{
    const json_t *v = json_object_get(a, "sequenceNumber");
    if (v == NULL || json_is_null(v))
        return NO_SEQ;
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = strlen(s);
        bool digits = n > 0 && n < 12;
        for (size_t i = 0; i < n && digits; i++)
            digits = isdigit((unsigned char)s[i]) || (i == 0 && s[i] == '-' && n > 1);
        if (digits) {
            warn(c, "%s: sequenceNumber \"%s\" is a string: read as %s", who, s, s);
            return strtoll(s, NULL, 10);
        }
    }
    warn(c, "%s: sequenceNumber is not an integer: ignored", who);
    return NO_SEQ;
}

static int read_one_association(conv_t *c, const json_t *a, size_t i)
{
    char who[300];
    const char *aid = json_is_object(a) ? str_or_null(a, "identifier") : NULL;
    if (aid)
        snprintf(who, sizeof who, "association %s", aid);
    else
        snprintf(who, sizeof who, "CFAssociations[%zu]", i);
    if (!json_is_object(a)) {
        warn(c, "%s: not an object: ignored", who);
        c->ignored++;
        return 0;
    }
    check_keys(c, a, "CFAssociation", assoc_keys, NKEYS(assoc_keys), who);
    check_time(c, a, "lastChangeDateTime", who);
    if (aid && !is_uuid(aid))
        warn(c, "%s: identifier is not a UUID", who);
    const char *type = str_or_null(a, "associationType");
    if (type == NULL) {
        warn(c, "%s: no associationType: ignored", who);
        c->ignored++;
        return 0;
    }
    size_t t = 0;
    while (t < NKEYS(assoc_types) && strcmp(assoc_types[t], type) != 0)
        t++;
    if (t == NKEYS(assoc_types)) {
        const char *near = closest(type, assoc_types, NKEYS(assoc_types));
        if (near)
            warn(c,
                 "%s: associationType '%.64s' is not a CASE type (did you mean '%s'?): kept "
                 "as metadata only",
                 who, type, near);
        else
            warn(c, "%s: associationType '%.64s' is not a CASE 1.0 type: kept as metadata", who,
                 type);
    }
    int64_t seq = read_seq(c, a, who);
    const json_t *on = json_object_get(a, "originNodeURI");
    const json_t *dn = json_object_get(a, "destinationNodeURI");
    uint32_t o = 0, dst = 0;
    int oe = resolve_end(c, on, &o, who, "origin");
    int de = resolve_end(c, dn, &dst, who, "destination");
    if (oe == END_NONE || de == END_NONE) {
        warn(c, "%s: %s has no identifier or uri: ignored", who,
             oe == END_NONE ? "originNodeURI" : "destinationNodeURI");
        c->ignored++;
        return 0;
    }
    bool child_of = strcmp(type, "isChildOf") == 0;
    bool precedes = strcmp(type, "precedes") == 0 && c->gate;
    if (child_of && oe == END_ITEM && de == END_DOC) {
        c->roots++;
        return 0;
    }
    if (child_of && oe == END_ITEM && de == END_ITEM) {
        item_t *p = &c->items[dst];
        if (o == dst) {
            return err_set(c->d, ERR_CONFLICT, "CFAssociations", "cycle: %s isChildOf itself (%s)",
                           c->items[o].id, who);
        }
        if (!edge_new(c, 'c', dst, o)) {
            warn(c, "%s: %s isChildOf %s repeated: counted once", who, c->items[o].id, p->id);
            return 0;
        }
        if (GROW(p->children, p->n_children, p->cap_children))
            return ERR_NOMEM;
        p->children[p->n_children++] = (child_t){o, seq};
        c->child_links++;
        return 0;
    }
    if (precedes && oe == END_ITEM && de == END_ITEM) {
        item_t *d = &c->items[dst];
        if (!edge_new(c, 'p', dst, o)) {
            warn(c, "%s: %s precedes %s repeated: counted once", who, c->items[o].id, d->id);
            return 0;
        }
        if (GROW(d->preds, d->n_preds, d->cap_preds))
            return ERR_NOMEM;
        d->preds[d->n_preds++] = o;
        c->gates++;
        return 0;
    }
    /* Kept as metadata: other types, gate none, and edges with an end outside the package. */
    bool ext = oe == END_EXTERNAL || de == END_EXTERNAL;
    if (oe != END_ITEM && de != END_ITEM) {
        warn(c, "%s: %s with neither end an item of the package: ignored", who, type);
        c->ignored++;
        return 0;
    }
    int rc = 0;
    if (oe == END_ITEM)
        rc = add_kept(&c->items[o], type, "origin", dn, de == END_EXTERNAL, seq, aid);
    if (rc == 0 && de == END_ITEM)
        rc = add_kept(&c->items[dst], type, "destination", on, oe == END_EXTERNAL, seq, aid);
    if (rc)
        return rc;
    if (ext) {
        c->externals++;
        const json_t *outside = oe == END_EXTERNAL ? on : dn;
        const char *oid = str_or_null(outside, "identifier");
        const char *ouri = str_or_null(outside, "uri");
        warn(c, "%s: %s %s %s lies outside the package: kept as an external reference%s", who, type,
             oe == END_EXTERNAL ? "origin" : "destination",
             oid    ? oid
             : ouri ? ouri
                    : "?",
             child_of || precedes ? " (no edge)" : "");
    }
    count_kept(c, type);
    return 0;
}

static int read_associations(conv_t *c)
{
    json_t *as = json_object_get(c->pkg, "CFAssociations");
    if (as == NULL)
        return 0;
    if (!json_is_array(as))
        return err_set(c->d, ERR_INVALID, "CFAssociations", "CFAssociations must be an array");
    size_t n = json_array_size(as);
    if (n > CASEPKG_MAX_ASSOCIATIONS)
        return err_set(c->d, ERR_LIMIT, "CFAssociations", "%zu associations; at most %d", n,
                       CASEPKG_MAX_ASSOCIATIONS);
    for (size_t i = 0; i < n; i++) {
        int rc = read_one_association(c, json_array_get(as, i), i);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- checks ------------------------------------------------------------------------------ */

/* Finds a precedes cycle (edges origin -> destination); names it as a path. */
static int check_precedes_cycle(conv_t *c)
{
    size_t n = c->n_items;
    int rc = 0;
    /* successors in CSR form */
    uint32_t *start = calloc(n + 1, sizeof *start);
    uint8_t *color = calloc(n ? n : 1, 1);
    uint32_t *stack = calloc(n ? n : 1, sizeof *stack);
    uint32_t *pos = calloc(n ? n : 1, sizeof *pos);
    uint32_t *succ = NULL;
    if (!start || !color || !stack || !pos) {
        rc = ERR_NOMEM;
        goto out;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < c->items[i].n_preds; k++)
            start[c->items[i].preds[k] + 1]++;
    for (size_t i = 0; i < n; i++) {
        start[i + 1] += start[i];
    }
    m = start[n];
    succ = calloc(m ? m : 1, sizeof *succ);
    if (!succ) {
        rc = ERR_NOMEM;
        goto out;
    }
    {
        uint32_t *fill = pos; /* reuse as a cursor, reset below */
        memcpy(fill, start, n * sizeof *fill);
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < c->items[i].n_preds; k++)
                succ[fill[c->items[i].preds[k]]++] = (uint32_t)i;
    }
    for (size_t root = 0; root < n && rc == 0; root++) {
        if (color[root])
            continue;
        size_t depth = 0;
        stack[depth] = (uint32_t)root;
        pos[depth] = start[root];
        color[root] = 1;
        depth = 1;
        while (depth > 0) {
            uint32_t v = stack[depth - 1];
            if (pos[depth - 1] == start[v + 1]) {
                color[v] = 2;
                depth--;
                continue;
            }
            uint32_t w = succ[pos[depth - 1]++];
            if (color[w] == 0) {
                color[w] = 1;
                stack[depth] = w;
                pos[depth] = start[w];
                depth++;
            } else if (color[w] == 1) {
                size_t from = depth - 1;
                while (stack[from] != w)
                    from--;
                size_t len = depth - from, best = from;
                for (size_t k = from; k < depth; k++)
                    if (stack[k] < stack[best])
                        best = k;
                char msg[sizeof c->d->message];
                size_t used = 0;
                int r = snprintf(msg, sizeof msg, "precedes cycle: ");
                used = (size_t)r;
                for (size_t k = 0; k <= len && used < sizeof msg; k++) {
                    uint32_t it = stack[from + (best - from + k) % len];
                    r = snprintf(msg + used, sizeof msg - used, "%s%s", k ? " -> " : "",
                                 c->items[it].id);
                    if (r < 0)
                        break;
                    used += (size_t)r;
                }
                if (used >= sizeof msg)
                    memcpy(msg + sizeof msg - 4, "...", 4);
                rc = err_set(c->d, ERR_CONFLICT, "CFAssociations", "%s", msg);
                break;
            }
        }
    }
out:
    free(start);
    free(color);
    free(stack);
    free(pos);
    free(succ);
    return rc;
}

static int resolve_rules(conv_t *c)
{
    for (size_t r = 0; r < c->n_rules; r++) {
        rule_opt_t *ro = &c->rules[r];
        if ((int)r == c->star_rule)
            continue;
        char id[GRAPH_ID_MAX + 1];
        if (ro->item_len > GRAPH_ID_MAX)
            return err_set(c->d, ERR_INVALID, "rules", "rules[%zu]: no such item", r);
        memcpy(id, ro->item, ro->item_len);
        id[ro->item_len] = '\0';
        char field[32];
        snprintf(field, sizeof field, "rules[%zu]", r);
        json_t *hit = json_object_get(c->by_id, id);
        if (hit == NULL)
            return err_set(c->d, ERR_INVALID, field, "no item %s in the package", id);
        item_t *it = &c->items[json_integer_value(hit)];
        it->rule = (int)r;
        if (ro->method_len == 8 && memcmp(ro->method, "children", 8) == 0 && it->n_children == 0)
            return err_set(c->d, ERR_INVALID, field,
                           "%s has no children: it cannot use the children rule", id);
    }
    return 0;
}

/* ---- output ------------------------------------------------------------------------------ */

static int cmp_child(const void *a, const void *b)
{
    const child_t *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

static json_t *rule_json(const rule_opt_t *r)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "method", json_stringn(r->method, r->method_len));
    if (r->has_threshold)
        json_object_set_new(o, "threshold", json_real(r->threshold));
    return o;
}

static int build_competency(conv_t *c, item_t *it, json_t *list)
{
    char who[300];
    snprintf(who, sizeof who, "item %s", it->id);
    json_t *comp = json_object();
    json_t *meta = json_object();
    json_t *cs = json_object();
    int rc = ERR_NOMEM;
    if (!comp || !meta || !cs)
        goto out;
    json_object_set_new(comp, "id", json_string(it->id));
    const char *hcs = str_or_null(it->src, "humanCodingScheme");
    const char *abbr = str_or_null(it->src, "abbreviatedStatement");
    const char *full = str_or_null(it->src, "fullStatement");
    const char *stmt = abbr ? abbr : full;
    size_t tl = (hcs ? strlen(hcs) : 0) + (stmt ? strlen(stmt) : 0) + 2;
    char *title = malloc(tl);
    if (title == NULL)
        goto out;
    if (hcs && stmt)
        snprintf(title, tl, "%s %s", hcs, stmt);
    else if (hcs || stmt)
        snprintf(title, tl, "%s", hcs ? hcs : stmt);
    else {
        warn(c, "%s: no humanCodingScheme or statement: the identifier is the title", who);
        free(title);
        title = strdup(it->id);
        if (title == NULL)
            goto out;
    }
    rc = set_text(comp, "title", title, GRAPH_TITLE_MAX, c, who);
    free(title);
    if (rc == 0 && full)
        rc = set_text(comp, "description", full, GRAPH_TEXT_MAX, c, who);
    if (rc)
        goto out;
    if (it->uri)
        json_object_set_new(comp, "source_uri", json_string(it->uri));
    if (it->n_preds > 0) {
        json_t *all = json_array();
        for (size_t k = 0; k < it->n_preds; k++)
            json_array_append_new(all, json_string(c->items[it->preds[k]].id));
        json_object_set_new(comp, "requires", json_pack("{s:o}", "all", all));
    }
    json_t *kids = NULL;
    if (it->n_children > 0) {
        qsort(it->children, it->n_children, sizeof *it->children, cmp_child);
        kids = json_array();
        for (size_t k = 0; k < it->n_children; k++)
            json_array_append_new(kids, json_string(c->items[it->children[k].item].id));
        c->parents++;
    }
    if (it->rule >= 0) {
        json_object_set_new(comp, "rule", rule_json(&c->rules[it->rule]));
        c->rules[it->rule].used = true;
        if (kids && !(c->rules[it->rule].method_len == 8 &&
                      memcmp(c->rules[it->rule].method, "children", 8) == 0)) {
            json_object_set(cs, "children", kids); /* composition kept, not a roll-up */
        }
    }
    if (kids && (it->rule < 0 || (c->rules[it->rule].method_len == 8 &&
                                  memcmp(c->rules[it->rule].method, "children", 8) == 0))) {
        json_t *rule = json_pack("{s:s,s:O}", "method", "children", "of", kids);
        json_object_set_new(comp, "rule", rule);
    }
    if (!kids && it->rule < 0 && c->star_rule >= 0) {
        json_object_set_new(comp, "rule", rule_json(&c->rules[c->star_rule]));
        c->rules[c->star_rule].used = true;
    }
    json_decref(kids);

    json_object_set_new(cs, "identifier", json_string(it->id));
    if (it->uri)
        json_object_set_new(cs, "uri", json_string(it->uri));
    json_object_set_new(cs, "alignment_target_type", json_string("CFItem"));
    if (hcs)
        json_object_set_new(cs, "humanCodingScheme", json_string(hcs));
    const char *type = str_or_null(it->src, "CFItemType");
    if (type)
        json_object_set_new(cs, "CFItemType", json_string(type));
    if (it->assocs) {
        json_object_set_new(cs, "associations", it->assocs);
        it->assocs = NULL;
    }
    json_object_set_new(meta, "case", cs);
    cs = NULL;
    json_object_set_new(comp, "metadata", meta);
    meta = NULL;
    rc = json_array_append_new(list, comp) == 0 ? 0 : ERR_NOMEM;
    comp = NULL;
out:
    json_decref(comp);
    json_decref(meta);
    json_decref(cs);
    return rc;
}

/* Appends "N type" to buf for one kept association type. */
static void kept_append(char *buf, size_t size, size_t *used, const char *type, json_int_t n)
{
    if (*used >= size)
        return;
    int r = snprintf(buf + *used, size - *used, "%s%lld %s", *used ? ", " : "", (long long)n, type);
    if (r < 0 || (size_t)r >= size - *used)
        *used = size;
    else
        *used += (size_t)r;
}

static void build_summary(conv_t *c)
{
    char kept[256] = "";
    size_t used = 0, total_kept = 0;
    /* the CASE types in the specification's order, then unknown ones as they came */
    for (size_t t = 0; t < NKEYS(assoc_types); t++) {
        json_t *v = json_object_get(c->kept, assoc_types[t]);
        if (v)
            kept_append(kept, sizeof kept, &used, assoc_types[t], json_integer_value(v));
    }
    const char *k;
    json_t *v;
    json_object_foreach(c->kept, k, v)
    {
        total_kept += (size_t)json_integer_value(v);
        size_t t = 0;
        while (t < NKEYS(assoc_types) && strcmp(assoc_types[t], k) != 0)
            t++;
        if (t == NKEYS(assoc_types))
            kept_append(kept, sizeof kept, &used, k, json_integer_value(v));
    }
    snprintf(c->out->summary, sizeof c->out->summary,
             "%zu items (%zu top-level), %zu parents with %zu children, %zu gates (precedes); "
             "kept %s (%zu external references); ignored %zu; %zu warnings",
             c->n_items, c->roots, c->parents, c->child_links, c->gates, total_kept ? kept : "0",
             c->externals, c->ignored, c->out->total_warnings);
}

static int verify(conv_t *c)
{
    c->out->text = json_dumps(c->out->doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (c->out->text == NULL)
        return ERR_NOMEM;
    graph_t *g = NULL;
    err_detail_t gd;
    err_clear(&gd);
    int rc = graph_parse(c->out->text, strlen(c->out->text), &g, &gd);
    graph_destroy(&g);
    if (rc != 0 && c->d) {
        *c->d = gd;
        if (rc == ERR_CONFLICT && strncmp(gd.message, "cycle:", 6) == 0)
            snprintf(c->d->message, sizeof c->d->message,
                     "precedes and isChildOf together form a %.440s", gd.message);
    }
    return rc;
}

int casepkg_convert(const char *json, size_t len, const casepkg_opts_t *opts, casepkg_t **out,
                    err_detail_t *detail)
{
    conv_t c;
    memset(&c, 0, sizeof c);
    c.d = detail;
    err_clear(detail);
    *out = NULL;
    int rc = ERR_NOMEM;
    c.out = calloc(1, sizeof *c.out);
    if (c.out == NULL)
        return ERR_NOMEM;
    c.out->warnings = calloc(CASEPKG_MAX_WARNINGS + 1, sizeof *c.out->warnings);
    c.out->doc = json_object();
    c.by_id = json_object();
    c.by_uri = json_object();
    c.edges = json_object();
    c.unknown = json_object();
    c.kept = json_object();
    if (!c.out->warnings || !c.out->doc || !c.by_id || !c.by_uri || !c.edges || !c.unknown ||
        !c.kept)
        goto out;

    const char *gate = opts && opts->gate && opts->gate[0] ? opts->gate : "precedes";
    if (strcmp(gate, "precedes") == 0)
        c.gate = true;
    else if (strcmp(gate, "none") != 0) {
        rc = err_set(detail, ERR_INVALID, "gate", "gate '%.64s' is not precedes or none", gate);
        goto out;
    }
    if ((rc = parse_rules(&c, opts)))
        goto out;

    json_error_t je;
    c.pkg = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (c.pkg == NULL) {
        rc = err_set(detail, ERR_INVALID, "", "malformed JSON at line %d, column %d: %s", je.line,
                     je.column, je.text);
        goto out;
    }
    if (!json_is_object(c.pkg)) {
        rc = err_set(detail, ERR_INVALID, "", "a CFPackage must be a JSON object");
        goto out;
    }
    if ((rc = read_document(&c, opts)))
        goto out;
    check_keys(&c, c.pkg, "package", package_keys, NKEYS(package_keys), "the package");
    if ((rc = read_items(&c)) || (rc = read_associations(&c)))
        goto out;
    if ((rc = check_precedes_cycle(&c)) || (rc = resolve_rules(&c)))
        goto out;
    json_t *list = json_array();
    if (list == NULL || json_object_set_new(c.out->doc, "competencies", list) != 0) {
        rc = ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < c.n_items; i++)
        if ((rc = build_competency(&c, &c.items[i], list)))
            goto out;
    report_unknown(&c);
    if (c.star_rule >= 0 && !c.rules[c.star_rule].used)
        warn(&c, "rule *=%s: every item has children or its own rule: unused",
             c.rules[c.star_rule].method);
    if (c.out->total_warnings > CASEPKG_MAX_WARNINGS) {
        char more[96];
        snprintf(more, sizeof more, "... and %zu more warnings",
                 c.out->total_warnings - CASEPKG_MAX_WARNINGS);
        c.out->warnings[c.out->n_warnings] = strdup(more);
        if (c.out->warnings[c.out->n_warnings])
            c.out->n_warnings++;
    }
    build_summary(&c);
    if ((rc = verify(&c)))
        goto out;
    *out = c.out;
    c.out = NULL;
out:
    if (rc == ERR_NOMEM && detail && detail->code == 0)
        err_set(detail, ERR_NOMEM, "", "out of memory");
    for (size_t i = 0; i < c.n_items; i++) {
        free(c.items[i].children);
        free(c.items[i].preds);
        json_decref(c.items[i].assocs);
    }
    free(c.items);
    free(c.rules);
    json_decref(c.pkg);
    json_decref(c.by_id);
    json_decref(c.by_uri);
    json_decref(c.edges);
    json_decref(c.unknown);
    json_decref(c.kept);
    casepkg_destroy(&c.out);
    return rc;
}

void casepkg_destroy(casepkg_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    casepkg_t *x = *p;
    json_decref(x->doc);
    free(x->text);
    if (x->warnings)
        for (size_t i = 0; i < x->n_warnings; i++)
            free(x->warnings[i]);
    free(x->warnings);
    free(x);
    *p = NULL;
}

const json_t *casepkg_framework(const casepkg_t *p)
{
    return p->doc;
}

const char *casepkg_framework_text(const casepkg_t *p)
{
    return p->text;
}

size_t casepkg_warning_count(const casepkg_t *p)
{
    return p->n_warnings;
}

const char *casepkg_warning(const casepkg_t *p, size_t i)
{
    return i < p->n_warnings ? p->warnings[i] : NULL;
}

const char *casepkg_summary(const casepkg_t *p)
{
    return p->summary;
}
