/*
 * xapi: statement -> evidence / retraction / not mapped. See xapi.h for the mapping file.
 */
#include "xapi.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"

#define ADL "http://adlnet.gov/expapi/verbs/"

/* category is last and opt-in: its activities usually name a profile, not what was learned. */
enum { LOOK_OBJECT, LOOK_PARENT, LOOK_GROUPING, LOOK_OTHER, LOOK_CATEGORY, LOOK_COUNT };
#define LOOK_DEFAULT LOOK_CATEGORY /* the default look_in: object, parent, grouping, other */
static const char *const look_names[LOOK_COUNT] = {"object", "parent", "grouping", "other",
                                                   "category"};

typedef enum { MBOX_LOOKUP, MBOX_LOCAL_PART, MBOX_ADDRESS } mbox_use_t;

typedef struct account_rule {
    const char *home_page; /* "*" any; borrowed from the map document */
    const char *prefix;
} account_rule_t;

struct xapi_map {
    json_t *doc;        /* the parsed mapping (owns every borrowed string below) */
    json_t *verbs;      /* IRI -> {"score"?} */
    json_t *activities; /* IRI -> competency id */
    json_t *lookup;     /* key -> learner id */
    json_t *domains;    /* lower-case domain -> true, or NULL: any */
    account_rule_t *accounts;
    size_t n_accounts;
    int look[LOOK_COUNT];
    size_t n_look;
    bool look_category;   /* category is in look_in: its structure is checked too */
    bool incomplete_fail; /* result.completion false: failed evidence (else not evidence) */
    mbox_use_t mbox;
    bool openid_as_is;
    const char *source;
};

/* ---- the mapping file -------------------------------------------------------------------- */

static bool key_known(const char *key, const char *const *known, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(known[i], key) == 0)
            return true;
    return false;
}

static int check_keys(const json_t *obj, const char *const *known, size_t n, const char *where,
                      err_detail_t *d)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (!key_known(key, known, n)) {
            char field[128]; /* err_detail_t's field; the path is cut, the message names the key */
            snprintf(field, sizeof field, "%.64s%s%.60s", where, where[0] ? "." : "", key);
            return err_set(d, ERR_INVALID, field, "unknown key '%.60s' in the mapping", key);
        }
    }
    return 0;
}

static bool nonempty_string(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

static int parse_verbs(xapi_map_t *m, const json_t *v, err_detail_t *d)
{
    m->verbs = json_object();
    if (m->verbs == NULL)
        return ERR_NOMEM;
    if (v == NULL) {
        static const char *const dflt[] = {"passed", "failed", "scored", "completed", "mastered"};
        for (size_t i = 0; i < 5; i++) {
            char iri[64];
            snprintf(iri, sizeof iri, ADL "%s", dflt[i]);
            json_object_set_new(m->verbs, iri, json_object());
        }
        return 0;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (!nonempty_string(e))
                return err_set(d, ERR_INVALID, "verbs", "verbs[%zu] must be a verb IRI", i);
            json_object_set_new(m->verbs, json_string_value(e), json_object());
        }
    } else if (json_is_object(v)) {
        const char *iri;
        json_t *e;
        json_object_foreach((json_t *)v, iri, e)
        {
            char field[96];
            snprintf(field, sizeof field, "verbs.%.80s", iri);
            if (!json_is_object(e))
                return err_set(d, ERR_INVALID, field, "must be an object ({} or {\"score\": x})");
            static const char *const keys[] = {"score"};
            int rc = check_keys(e, keys, 1, field, d);
            if (rc)
                return rc;
            const json_t *s = json_object_get(e, "score");
            if (s && (!json_is_number(s) || !(json_number_value(s) >= 0) ||
                      !(json_number_value(s) <= 1)))
                return err_set(d, ERR_INVALID, field, "score must be a number in 0..1");
            json_object_set(m->verbs, iri, e);
        }
    } else {
        return err_set(d, ERR_INVALID, "verbs", "must be an array of verb IRIs or an object");
    }
    if (json_object_get(m->verbs, XAPI_VERB_VOIDED))
        return err_set(d, ERR_INVALID, "verbs",
                       "voided is not evidence: voiding statements always retract");
    return 0;
}

static int parse_activities(xapi_map_t *m, const json_t *v, err_detail_t *d)
{
    m->activities = json_object();
    if (m->activities == NULL)
        return ERR_NOMEM;
    if (v == NULL)
        return 0;
    if (!json_is_object(v))
        return err_set(d, ERR_INVALID, "activities", "must be an object {IRI: competency id}");
    const char *iri;
    json_t *e;
    json_object_foreach((json_t *)v, iri, e)
    {
        if (!nonempty_string(e) || json_string_length(e) > XAPI_ID_MAX) {
            char field[96];
            snprintf(field, sizeof field, "activities.%.80s", iri);
            return err_set(d, ERR_INVALID, field, "must be a competency id (1..%d bytes)",
                           XAPI_ID_MAX);
        }
        json_object_set(m->activities, iri, e);
    }
    return 0;
}

static int parse_look_in(xapi_map_t *m, const json_t *v, err_detail_t *d)
{
    if (v == NULL) {
        for (int i = 0; i < LOOK_DEFAULT; i++)
            m->look[i] = i;
        m->n_look = LOOK_DEFAULT;
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > LOOK_COUNT)
        return err_set(d, ERR_INVALID, "look_in",
                       "must list some of object, parent, grouping, other, category");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        int k = 0;
        while (k < LOOK_COUNT &&
               !(json_is_string(e) && strcmp(json_string_value(e), look_names[k]) == 0))
            k++;
        if (k == LOOK_COUNT)
            return err_set(d, ERR_INVALID, "look_in",
                           "look_in[%zu] is not object, parent, grouping or other, nor category",
                           i);
        for (size_t j = 0; j < m->n_look; j++)
            if (m->look[j] == k)
                return err_set(d, ERR_INVALID, "look_in", "%s listed twice", look_names[k]);
        m->look[m->n_look++] = k;
        m->look_category = m->look_category || k == LOOK_CATEGORY;
    }
    return 0;
}

static int parse_accounts(xapi_map_t *m, const json_t *v, err_detail_t *d)
{
    static account_rule_t any = {"*", ""};
    if (v == NULL) {
        m->accounts = malloc(sizeof *m->accounts);
        if (m->accounts == NULL)
            return ERR_NOMEM;
        m->accounts[0] = any;
        m->n_accounts = 1;
        return 0;
    }
    if (!json_is_array(v))
        return err_set(d, ERR_INVALID, "learners.account",
                       "must be an array of {\"homePage\", \"use\": \"name\"}");
    size_t n = json_array_size(v);
    m->accounts = calloc(n ? n : 1, sizeof *m->accounts);
    if (m->accounts == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(v, i);
        char field[64];
        snprintf(field, sizeof field, "learners.account[%zu]", i);
        static const char *const keys[] = {"homePage", "use", "prefix"};
        if (!json_is_object(r))
            return err_set(d, ERR_INVALID, field, "must be an object");
        int rc = check_keys(r, keys, 3, field, d);
        if (rc)
            return rc;
        const json_t *hp = json_object_get(r, "homePage"), *use = json_object_get(r, "use");
        const json_t *prefix = json_object_get(r, "prefix");
        if (!nonempty_string(hp))
            return err_set(d, ERR_INVALID, field, "homePage must be a URL or \"*\"");
        if (use != NULL && !(json_is_string(use) && strcmp(json_string_value(use), "name") == 0))
            return err_set(d, ERR_INVALID, field, "use must be \"name\"");
        if (prefix != NULL && !json_is_string(prefix))
            return err_set(d, ERR_INVALID, field, "prefix must be a string");
        m->accounts[i].home_page = json_string_value(hp);
        m->accounts[i].prefix = prefix ? json_string_value(prefix) : "";
    }
    m->n_accounts = n;
    return 0;
}

static int parse_learners(xapi_map_t *m, const json_t *v, err_detail_t *d)
{
    m->lookup = json_object();
    if (m->lookup == NULL)
        return ERR_NOMEM;
    if (v != NULL && !json_is_object(v))
        return err_set(d, ERR_INVALID, "learners", "must be an object");
    static const char *const keys[] = {"lookup", "account", "mbox", "mbox_domains", "openid"};
    int rc = v ? check_keys(v, keys, 5, "learners", d) : 0;
    if (rc)
        return rc;
    const json_t *lk = v ? json_object_get(v, "lookup") : NULL;
    if (lk != NULL) {
        if (!json_is_object(lk))
            return err_set(d, ERR_INVALID, "learners.lookup", "must be an object {key: learner}");
        const char *key;
        json_t *e;
        json_object_foreach((json_t *)lk, key, e)
        {
            if (!nonempty_string(e) || json_string_length(e) > XAPI_ID_MAX)
                return err_set(d, ERR_INVALID, "learners.lookup",
                               "'%.80s' must map to a learner id (1..%d bytes)", key, XAPI_ID_MAX);
            /* sha1 sums compare in lower case */
            size_t kl = strlen(key);
            char low[41];
            bool hex = kl == 40;
            for (size_t i = 0; i < kl && hex; i++) {
                hex = isxdigit((unsigned char)key[i]) != 0;
                low[i] = (char)tolower((unsigned char)key[i]);
            }
            if (hex) {
                low[40] = '\0';
                json_object_set(m->lookup, low, e);
            } else {
                json_object_set(m->lookup, key, e);
            }
        }
    }
    if ((rc = parse_accounts(m, v ? json_object_get(v, "account") : NULL, d)))
        return rc;
    const json_t *mb = v ? json_object_get(v, "mbox") : NULL;
    m->mbox = MBOX_LOOKUP;
    if (mb != NULL) {
        const char *s = json_is_string(mb) ? json_string_value(mb) : "";
        if (strcmp(s, "lookup") == 0)
            m->mbox = MBOX_LOOKUP;
        else if (strcmp(s, "local_part") == 0)
            m->mbox = MBOX_LOCAL_PART;
        else if (strcmp(s, "address") == 0)
            m->mbox = MBOX_ADDRESS;
        else
            return err_set(d, ERR_INVALID, "learners.mbox",
                           "must be \"lookup\", \"local_part\" or \"address\"");
    }
    const json_t *dom = v ? json_object_get(v, "mbox_domains") : NULL;
    if (dom != NULL) {
        if (!json_is_array(dom))
            return err_set(d, ERR_INVALID, "learners.mbox_domains", "must be an array of domains");
        m->domains = json_object();
        if (m->domains == NULL)
            return ERR_NOMEM;
        size_t i;
        json_t *e;
        json_array_foreach(dom, i, e)
        {
            if (!nonempty_string(e) || json_string_length(e) > 253)
                return err_set(d, ERR_INVALID, "learners.mbox_domains",
                               "mbox_domains[%zu] must be a domain name", i);
            char low[254];
            const char *s = json_string_value(e);
            size_t n = strlen(s);
            for (size_t k = 0; k <= n; k++)
                low[k] = (char)tolower((unsigned char)s[k]);
            json_object_set_new(m->domains, low, json_true());
        }
    }
    const json_t *oid = v ? json_object_get(v, "openid") : NULL;
    if (oid != NULL) {
        const char *s = json_is_string(oid) ? json_string_value(oid) : "";
        if (strcmp(s, "as_is") == 0)
            m->openid_as_is = true;
        else if (strcmp(s, "lookup") != 0)
            return err_set(d, ERR_INVALID, "learners.openid", "must be \"lookup\" or \"as_is\"");
    }
    return 0;
}

int xapi_map_parse(const char *json, size_t len, xapi_map_t **out, err_detail_t *d)
{
    *out = NULL;
    err_clear(d);
    xapi_map_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return ERR_NOMEM;
    int rc;
    json_error_t je;
    m->doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (m->doc == NULL) {
        rc = err_set(d, ERR_INVALID, "", "malformed JSON at line %d, column %d: %s", je.line,
                     je.column, je.text);
        goto out;
    }
    if (!json_is_object(m->doc)) {
        rc = err_set(d, ERR_INVALID, "", "the mapping must be a JSON object");
        goto out;
    }
    static const char *const keys[] = {"verbs",  "activities", "look_in",   "learners",
                                       "source", "frameworks", "incomplete"};
    if ((rc = check_keys(m->doc, keys, 7, "", d)))
        goto out;
    const json_t *inc = json_object_get(m->doc, "incomplete");
    if (inc != NULL) {
        const char *s = json_is_string(inc) ? json_string_value(inc) : "";
        if (strcmp(s, "failed") == 0) {
            m->incomplete_fail = true;
        } else if (strcmp(s, "skip") != 0) {
            rc = err_set(d, ERR_INVALID, "incomplete", "must be \"skip\" or \"failed\"");
            goto out;
        }
    }
    if ((rc = parse_verbs(m, json_object_get(m->doc, "verbs"), d)) ||
        (rc = parse_activities(m, json_object_get(m->doc, "activities"), d)) ||
        (rc = parse_look_in(m, json_object_get(m->doc, "look_in"), d)) ||
        (rc = parse_learners(m, json_object_get(m->doc, "learners"), d)))
        goto out;
    const json_t *src = json_object_get(m->doc, "source");
    if (src != NULL && (!nonempty_string(src) || json_string_length(src) > 256)) {
        rc = err_set(d, ERR_INVALID, "source", "must be a non-empty string of at most 256 bytes");
        goto out;
    }
    m->source = src ? json_string_value(src) : "xapi";
    const json_t *fw = json_object_get(m->doc, "frameworks");
    if (fw != NULL) {
        size_t i;
        json_t *e;
        if (!json_is_array(fw)) {
            rc = err_set(d, ERR_INVALID, "frameworks",
                         "must be an array of framework ids or [\"*\"]");
            goto out;
        }
        json_array_foreach(fw, i, e)
        {
            if (!nonempty_string(e)) {
                rc = err_set(d, ERR_INVALID, "frameworks", "frameworks[%zu] must be a framework id",
                             i);
                goto out;
            }
        }
    }
    *out = m;
    m = NULL;
    rc = 0;
out:
    if (rc == ERR_NOMEM && d && d->code == 0)
        err_set(d, ERR_NOMEM, "", "out of memory");
    xapi_map_destroy(&m);
    return rc;
}

void xapi_map_destroy(xapi_map_t **mp)
{
    if (mp == NULL || *mp == NULL)
        return;
    xapi_map_t *m = *mp;
    json_decref(m->doc);
    json_decref(m->verbs);
    json_decref(m->activities);
    json_decref(m->lookup);
    json_decref(m->domains);
    free(m->accounts);
    free(m);
    *mp = NULL;
}

int xapi_map_add_activity(xapi_map_t *m, const char *iri, const char *competency_id,
                          const char **existing)
{
    if (iri == NULL || iri[0] == '\0' || competency_id == NULL || competency_id[0] == '\0')
        return ERR_INVALID;
    json_t *e = json_object_get(m->activities, iri);
    if (e != NULL) {
        if (existing)
            *existing = json_string_value(e);
        return ERR_DUPLICATE;
    }
    json_t *v = json_string(competency_id);
    if (v == NULL)
        return ERR_INVALID;
    return json_object_set_new(m->activities, iri, v) == 0 ? 0 : ERR_INVALID;
}

const json_t *xapi_map_frameworks(const xapi_map_t *m)
{
    return json_object_get(m->doc, "frameworks");
}

size_t xapi_map_activity_count(const xapi_map_t *m)
{
    return json_object_size(m->activities);
}

const char *xapi_reason_name(xapi_reason_t r)
{
    switch (r) {
    case XAPI_OK:
        return "ok";
    case XAPI_VERB_NOT_MAPPED:
        return "verb_not_mapped";
    case XAPI_NO_COMPETENCY:
        return "no_competency";
    case XAPI_NO_LEARNER:
        return "no_learner";
    case XAPI_NO_SCORE:
        return "no_score";
    case XAPI_MALFORMED:
        return "malformed";
    case XAPI_NOT_COMPLETED:
        return "not_completed";
    case XAPI_REASON_COUNT:
        break;
    }
    return "unknown";
}

/* ---- one statement ----------------------------------------------------------------------- */

static void add_warning(xapi_item_t *it, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends a warning ("; " between two). */
static void add_warning(xapi_item_t *it, const char *fmt, ...)
{
    size_t used = strlen(it->warning);
    if (used > 0 && used + 2 < sizeof it->warning) {
        memcpy(it->warning + used, "; ", 3);
        used += 2;
    }
    if (used >= sizeof it->warning - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->warning + used, sizeof it->warning - used, fmt, ap);
    va_end(ap);
}

static xapi_verdict_t unmapped(xapi_item_t *it, xapi_reason_t reason, const char *path,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static xapi_verdict_t unmapped(xapi_item_t *it, xapi_reason_t reason, const char *path,
                               const char *fmt, ...)
{
    it->verdict = XAPI_UNMAPPED;
    it->reason = reason;
    snprintf(it->path, sizeof it->path, "%s", path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->message, sizeof it->message, fmt, ap);
    va_end(ap);
    return XAPI_UNMAPPED;
}

static bool id_ok(const json_t *v)
{
    if (!json_is_string(v))
        return false;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n == 0 || n > XAPI_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* Copies s (n bytes) with prefix into the learner id; false when too long or empty. */
static bool set_learner(xapi_item_t *it, const char *prefix, const char *s, size_t n)
{
    size_t pl = strlen(prefix);
    if (n == 0 || pl + n > XAPI_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    memcpy(it->learner_id, prefix, pl);
    memcpy(it->learner_id + pl, s, n);
    it->learner_id[pl + n] = '\0';
    return true;
}

static bool lookup_learner(const xapi_map_t *m, const char *key, xapi_item_t *it)
{
    const json_t *v = json_object_get(m->lookup, key);
    if (v == NULL)
        return false;
    return set_learner(it, "", json_string_value(v), json_string_length(v));
}

/*
 * Identifies the learner. Returns 0 with it->learner_id set, XAPI_NO_LEARNER or XAPI_MALFORMED
 * (with the verdict already written).
 */
static int identify(const xapi_map_t *m, const json_t *actor, xapi_item_t *it)
{
    if (!json_is_object(actor))
        return unmapped(it, XAPI_MALFORMED, "actor", "actor must be an object"), XAPI_MALFORMED;
    const json_t *type = json_object_get(actor, "objectType");
    if (type && json_is_string(type) && strcmp(json_string_value(type), "Group") == 0)
        return unmapped(it, XAPI_NO_LEARNER, "actor.objectType",
                        "the actor is a Group, not one learner"),
               XAPI_NO_LEARNER;
    const json_t *mbox = json_object_get(actor, "mbox");
    const json_t *sha = json_object_get(actor, "mbox_sha1sum");
    const json_t *oid = json_object_get(actor, "openid");
    const json_t *acc = json_object_get(actor, "account");
    if (mbox) {
        const char *s = json_string_value(mbox);
        if (s == NULL || strncmp(s, "mailto:", 7) != 0 || strchr(s, '@') == NULL)
            return unmapped(it, XAPI_MALFORMED, "actor.mbox",
                            "mbox must be a mailto: IRI with an address"),
                   XAPI_MALFORMED;
        if (lookup_learner(m, s, it))
            return 0;
        const char *addr = s + 7, *at = strrchr(addr, '@');
        bool domain_ok = true;
        if (m->domains) {
            char low[254];
            size_t n = strlen(at + 1);
            domain_ok = n < sizeof low;
            for (size_t k = 0; domain_ok && k <= n; k++)
                low[k] = (char)tolower((unsigned char)at[1 + k]);
            domain_ok = domain_ok && json_object_get(m->domains, low) != NULL;
        }
        if (domain_ok && m->mbox == MBOX_LOCAL_PART &&
            set_learner(it, "", addr, (size_t)(at - addr)))
            return 0;
        if (domain_ok && m->mbox == MBOX_ADDRESS && set_learner(it, "", addr, strlen(addr)))
            return 0;
        return unmapped(it, XAPI_NO_LEARNER, "actor.mbox", "no learner for %.120s%s", s,
                        m->mbox == MBOX_LOOKUP ? " in the lookup table"
                        : domain_ok            ? " (not a usable learner id)"
                                               : " (domain not in mbox_domains)"),
               XAPI_NO_LEARNER;
    }
    if (sha) {
        const char *s = json_string_value(sha);
        char low[41];
        size_t n = s ? strlen(s) : 0;
        bool hex = n == 40;
        for (size_t k = 0; k < n && hex; k++) {
            hex = isxdigit((unsigned char)s[k]) != 0;
            low[k] = (char)tolower((unsigned char)s[k]);
        }
        if (!hex)
            return unmapped(it, XAPI_MALFORMED, "actor.mbox_sha1sum",
                            "mbox_sha1sum must be 40 hex digits"),
                   XAPI_MALFORMED;
        low[40] = '\0';
        if (lookup_learner(m, low, it))
            return 0;
        return unmapped(it, XAPI_NO_LEARNER, "actor.mbox_sha1sum",
                        "no learner for mbox_sha1sum %s in the lookup table", low),
               XAPI_NO_LEARNER;
    }
    if (oid) {
        const char *s = json_string_value(oid);
        if (s == NULL || s[0] == '\0')
            return unmapped(it, XAPI_MALFORMED, "actor.openid", "openid must be a URI"),
                   XAPI_MALFORMED;
        if (lookup_learner(m, s, it))
            return 0;
        if (m->openid_as_is && set_learner(it, "", s, strlen(s)))
            return 0;
        return unmapped(it, XAPI_NO_LEARNER, "actor.openid", "no learner for openid %.120s%s", s,
                        m->openid_as_is ? " (not a usable learner id)" : " in the lookup table"),
               XAPI_NO_LEARNER;
    }
    if (acc) {
        const json_t *hp = json_object_get(acc, "homePage"), *nm = json_object_get(acc, "name");
        if (!json_is_object(acc) || !nonempty_string(hp) || !nonempty_string(nm))
            return unmapped(it, XAPI_MALFORMED, "actor.account",
                            "an account needs homePage and name strings"),
                   XAPI_MALFORMED;
        const char *h = json_string_value(hp), *n = json_string_value(nm);
        char key[1024];
        int kl = snprintf(key, sizeof key, "%s|%s", h, n);
        if (kl > 0 && (size_t)kl < sizeof key && lookup_learner(m, key, it))
            return 0;
        for (size_t i = 0; i < m->n_accounts; i++) {
            const account_rule_t *r = &m->accounts[i];
            if (strcmp(r->home_page, "*") != 0 && strcmp(r->home_page, h) != 0)
                continue;
            if (set_learner(it, r->prefix, n, json_string_length(nm)))
                return 0;
        }
        return unmapped(it, XAPI_NO_LEARNER, "actor.account",
                        "no learner for account %.100s of %.100s", n, h),
               XAPI_NO_LEARNER;
    }
    return unmapped(it, XAPI_NO_LEARNER, "actor",
                    "the actor has no mbox, mbox_sha1sum, openid or account"),
           XAPI_NO_LEARNER;
}

/* The candidate activities of one look_in place: a JSON array (or single object). */
static const char *find_in(const xapi_map_t *m, const json_t *list, const char **iri)
{
    if (json_is_object(list)) {
        const char *id = json_string_value(json_object_get(list, "id"));
        const json_t *c = id ? json_object_get(m->activities, id) : NULL;
        if (c) {
            *iri = id;
            return json_string_value(c);
        }
        return NULL;
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        const json_t *c = id ? json_object_get(m->activities, id) : NULL;
        if (c) {
            *iri = id;
            return json_string_value(c);
        }
    }
    return NULL;
}

/* Checks the structure of context.contextActivities (category only when the map looks in it,
 * so that mappings without it accept what they always accepted); returns false with the
 * verdict set. */
static bool context_ok(const xapi_map_t *m, const json_t *stmt, xapi_item_t *it)
{
    const json_t *ctx = json_object_get(stmt, "context");
    if (ctx == NULL)
        return true;
    if (!json_is_object(ctx))
        return unmapped(it, XAPI_MALFORMED, "context", "context must be an object"), false;
    const json_t *ca = json_object_get(ctx, "contextActivities");
    if (ca == NULL)
        return true;
    if (!json_is_object(ca))
        return unmapped(it, XAPI_MALFORMED, "context.contextActivities",
                        "contextActivities must be an object"),
               false;
    for (int k = LOOK_PARENT; k < (m->look_category ? LOOK_COUNT : LOOK_DEFAULT); k++) {
        const json_t *l = json_object_get(ca, look_names[k]);
        char path[64];
        snprintf(path, sizeof path, "context.contextActivities.%s", look_names[k]);
        if (l == NULL)
            continue;
        if (json_is_object(l)) {
            if (!json_is_string(json_object_get(l, "id")))
                return unmapped(it, XAPI_MALFORMED, path, "an activity needs an id"), false;
            continue;
        }
        if (!json_is_array(l))
            return unmapped(it, XAPI_MALFORMED, path, "must be an array of activities"), false;
        size_t i;
        json_t *e;
        json_array_foreach(l, i, e)
        {
            if (!json_is_object(e) || !json_is_string(json_object_get(e, "id"))) {
                char p2[96];
                snprintf(p2, sizeof p2, "%s[%zu].id", path, i);
                return unmapped(it, XAPI_MALFORMED, p2, "an activity needs an id"), false;
            }
        }
    }
    return true;
}

static const char *find_competency(const xapi_map_t *m, const json_t *stmt, const char **iri)
{
    const json_t *obj = json_object_get(stmt, "object");
    const json_t *ca = json_object_get(json_object_get(stmt, "context"), "contextActivities");
    for (size_t k = 0; k < m->n_look; k++) {
        const char *c = NULL;
        if (m->look[k] == LOOK_OBJECT) {
            const char *ot = json_string_value(json_object_get(obj, "objectType"));
            if (ot == NULL || strcmp(ot, "Activity") == 0)
                c = find_in(m, obj, iri);
        } else if (ca != NULL) {
            const json_t *l = json_object_get(ca, look_names[m->look[k]]);
            if (l)
                c = find_in(m, l, iri);
        }
        if (c)
            return c;
    }
    return NULL;
}

/* Reads timestamp (else stored); false with the verdict set when neither is usable. */
static bool read_time(const json_t *stmt, xapi_item_t *it)
{
    const char *key = "timestamp";
    const json_t *t = json_object_get(stmt, key);
    if (t == NULL) {
        key = "stored";
        t = json_object_get(stmt, key);
    }
    if (t == NULL)
        return unmapped(it, XAPI_MALFORMED, "timestamp",
                        "no timestamp (and no stored time): when was it observed?"),
               false;
    if (!json_is_string(t))
        return unmapped(it, XAPI_MALFORMED, key, "%s must be an RFC 3339 string", key), false;
    const char *s = json_string_value(t);
    size_t n = json_string_length(t);
    if (isotime_parse(s, n, &it->observed_at_ms, NULL) == 0)
        return true;
    char z[64];
    if (n < 40) {
        snprintf(z, sizeof z, "%sZ", s);
        if (isotime_parse(z, n + 1, &it->observed_at_ms, NULL) == 0) {
            add_warning(it, "%s '%s' has no time zone: read as UTC", key, s);
            return true;
        }
    }
    return unmapped(it, XAPI_MALFORMED, key, "%s '%.64s' is not an RFC 3339 date-time", key, s),
           false;
}

/* Reads result: 1 with a score, 0 without one, -1 malformed (verdict set). */
static int read_result(const json_t *stmt, xapi_item_t *it)
{
    const json_t *res = json_object_get(stmt, "result");
    if (res == NULL)
        return 0;
    if (!json_is_object(res))
        return unmapped(it, XAPI_MALFORMED, "result", "result must be an object"), -1;
    const json_t *succ = json_object_get(res, "success");
    if (succ != NULL && !json_is_boolean(succ))
        return unmapped(it, XAPI_MALFORMED, "result.success", "success must be true or false"), -1;
    const json_t *done = json_object_get(res, "completion");
    if (done != NULL && !json_is_boolean(done))
        return unmapped(it, XAPI_MALFORMED, "result.completion",
                        "completion must be true or false"),
               -1;
    if (succ != NULL)
        it->outcome = json_is_true(succ) ? XAPI_OUTCOME_PASSED : XAPI_OUTCOME_FAILED;
    const json_t *sc = json_object_get(res, "score");
    if (sc != NULL && !json_is_object(sc))
        return unmapped(it, XAPI_MALFORMED, "result.score", "score must be an object"), -1;
    const json_t *scaled = json_object_get(sc, "scaled"), *raw = json_object_get(sc, "raw");
    const json_t *min = json_object_get(sc, "min"), *max = json_object_get(sc, "max");
    static const char *const names[] = {"scaled", "raw", "min", "max"};
    const json_t *vals[] = {scaled, raw, min, max};
    for (int k = 0; k < 4; k++) {
        if (vals[k] != NULL &&
            (!json_is_number(vals[k]) || !isfinite(json_number_value(vals[k])))) {
            char path[32];
            snprintf(path, sizeof path, "result.score.%s", names[k]);
            return unmapped(it, XAPI_MALFORMED, path, "%s must be a number", names[k]), -1;
        }
    }
    if (min && max && !(json_number_value(min) < json_number_value(max)))
        return unmapped(it, XAPI_MALFORMED, "result.score.max", "max %g is not above min %g",
                        json_number_value(max), json_number_value(min)),
               -1;
    if (scaled) {
        double s = json_number_value(scaled);
        if (s < -1 || s > 1)
            return unmapped(it, XAPI_MALFORMED, "result.score.scaled", "scaled %g is outside -1..1",
                            s),
                   -1;
        if (s < 0) {
            add_warning(it, "result.score.scaled %g is negative: counted as 0", s);
            s = 0;
        }
        it->score = s;
        return 1;
    }
    if (raw && min && max) {
        double r = json_number_value(raw), lo = json_number_value(min), hi = json_number_value(max);
        if (r < lo || r > hi)
            return unmapped(it, XAPI_MALFORMED, "result.score.raw", "raw %g is outside %g..%g", r,
                            lo, hi),
                   -1;
        it->score = (r - lo) / (hi - lo);
        return 1;
    }
    if (succ) {
        it->score = json_is_true(succ) ? 1.0 : 0.0;
        return 1;
    }
    return 0;
}

xapi_verdict_t xapi_map_statement(const xapi_map_t *m, const json_t *stmt, xapi_item_t *it)
{
    memset(it, 0, sizeof *it);
    if (!json_is_object(stmt))
        return unmapped(it, XAPI_MALFORMED, "", "a statement must be a JSON object");
    const json_t *id = json_object_get(stmt, "id");
    if (id == NULL)
        return unmapped(it, XAPI_MALFORMED, "id",
                        "no statement id (needed so that a replayed statement counts once)");
    if (!id_ok(id))
        return unmapped(it, XAPI_MALFORMED, "id",
                        "the id must be a string of 1..%d bytes without control characters",
                        XAPI_ID_MAX);
    it->statement_id = json_string_value(id);
    const json_t *verb = json_object_get(stmt, "verb");
    const char *verb_id = json_string_value(json_object_get(verb, "id"));
    if (verb_id == NULL || verb_id[0] == '\0')
        return unmapped(it, XAPI_MALFORMED, "verb.id", "no verb id");
    const json_t *obj = json_object_get(stmt, "object");
    if (strcmp(verb_id, XAPI_VERB_VOIDED) == 0) {
        const char *ot = json_string_value(json_object_get(obj, "objectType"));
        if (ot == NULL || strcmp(ot, "StatementRef") != 0)
            return unmapped(it, XAPI_MALFORMED, "object.objectType",
                            "a voiding statement's object must be a StatementRef");
        const json_t *target = json_object_get(obj, "id");
        if (!id_ok(target))
            return unmapped(it, XAPI_MALFORMED, "object.id",
                            "a StatementRef needs the id of the voided statement");
        it->verdict = XAPI_RETRACTION;
        it->evidence_id = json_string_value(target);
        it->source = m->source; /* the voided item's scope: this mapping stored it */
        return XAPI_RETRACTION;
    }
    const json_t *vmap = json_object_get(m->verbs, verb_id);
    if (vmap == NULL)
        return unmapped(it, XAPI_VERB_NOT_MAPPED, "verb.id", "verb %.160s is not mapped", verb_id);
    /* structure first */
    if (!json_is_object(obj))
        return unmapped(it, XAPI_MALFORMED, "object", "object must be an object");
    const char *ot = json_string_value(json_object_get(obj, "objectType"));
    if ((ot == NULL || strcmp(ot, "Activity") == 0) && !nonempty_string(json_object_get(obj, "id")))
        return unmapped(it, XAPI_MALFORMED, "object.id", "an activity needs an id");
    if (!context_ok(m, stmt, it) || !read_time(stmt, it))
        return XAPI_UNMAPPED;
    int has_score = read_result(stmt, it);
    if (has_score < 0)
        return XAPI_UNMAPPED;
    int who = identify(m, json_object_get(stmt, "actor"), it);
    if (who != 0)
        return XAPI_UNMAPPED;
    /* then the mapping */
    const char *iri = NULL;
    it->competency_id = find_competency(m, stmt, &iri);
    if (it->competency_id == NULL) {
        const char *oid = json_string_value(json_object_get(obj, "id"));
        return unmapped(it, XAPI_NO_COMPETENCY, "object.id",
                        "no competency for activity %.160s or its context activities",
                        oid ? oid : "(none)");
    }
    /* An attempt the tool says is not completed observed no mastery: never the verb's default
     * score (a "completed" verb with completion false is common in LRS exports). */
    if (json_is_false(json_object_get(json_object_get(stmt, "result"), "completion"))) {
        if (!m->incomplete_fail)
            return unmapped(it, XAPI_NOT_COMPLETED, "result.completion",
                            "result.completion is false: the attempt was not completed");
        it->score = 0.0;
        it->outcome = XAPI_OUTCOME_FAILED;
        has_score = 1;
    }
    if (has_score == 0) {
        const json_t *dflt = json_object_get(vmap, "score");
        if (dflt == NULL)
            return unmapped(it, XAPI_NO_SCORE, "result",
                            "no result.score.scaled, raw with min and max, or success");
        it->score = json_number_value(dflt);
    }
    it->verdict = XAPI_EVIDENCE;
    it->evidence_id = it->statement_id;
    it->source = m->source;
    return XAPI_EVIDENCE;
}
