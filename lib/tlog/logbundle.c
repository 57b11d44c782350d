#include "logbundle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "logentry.h"
#include "proof.h"
#include "text.h"

#define URN_PREFIX "urn:tlog:"

void logbundle_free(logbundle_t *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++)
        free(b->entries[i].entry);
    free(b->entries);
    json_decref(b->root);
    memset(b, 0, sizeof *b);
}

/* Only the listed members may appear. */
static int only(const json_t *o, const char *const *keys, size_t n, const char *where,
                err_detail_t *d)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        size_t i = 0;
        while (i < n && strcmp(k, keys[i]) != 0)
            i++;
        if (i == n)
            return err_set(d, ERR_INVALID, where, "unknown member \"%.64s\"", k);
    }
    return 0;
}

static int parse_entry(const json_t *e, size_t i, logbundle_entry_t *out, err_detail_t *d)
{
    char f[64];
    snprintf(f, sizeof f, "entries[%zu]", i);
    static const char *const keys[] = {"index", "entry", "proof"};
    if (!json_is_object(e))
        return err_set(d, ERR_INVALID, f, "not an object");
    int rc = only(e, keys, 3, f, d);
    if (rc != 0)
        return rc;
    const json_t *ix = json_object_get(e, "index");
    snprintf(f, sizeof f, "entries[%zu].index", i);
    if (!json_is_integer(ix) || json_integer_value(ix) < 0)
        return err_set(d, ERR_INVALID, f, "not an integer >= 0");
    out->index = (uint64_t)json_integer_value(ix);
    const json_t *en = json_object_get(e, "entry");
    snprintf(f, sizeof f, "entries[%zu].entry", i);
    const char *s = json_string_value(en);
    size_t sl = json_string_length(en);
    if (s == NULL || sl > CODEC_BASE64_ENCODED_MAX(LOGENTRY_MAX))
        return err_set(d, ERR_INVALID, f, "not a base64 string of at most %d bytes", LOGENTRY_MAX);
    out->entry = malloc(CODEC_BASE64_DECODED_MAX(sl) + 1);
    if (out->entry == NULL)
        return err_set(d, ERR_NOMEM, f, "out of memory");
    if (codec_base64_decode(s, sl, out->entry, CODEC_BASE64_DECODED_MAX(sl) + 1, &out->entry_len) !=
            0 ||
        out->entry_len > LOGENTRY_MAX)
        return err_set(d, ERR_INVALID, f, "not base64 (RFC 4648 section 4, padded)");
    const json_t *pr = json_object_get(e, "proof");
    snprintf(f, sizeof f, "entries[%zu].proof", i);
    if (!json_is_string(pr) || json_string_length(pr) > LOGBUNDLE_PROOF_MAX)
        return err_set(d, ERR_INVALID, f, "not a string of at most %u bytes",
                       (unsigned)LOGBUNDLE_PROOF_MAX);
    out->proof = json_string_value(pr);
    out->proof_len = json_string_length(pr);
    return 0;
}

int logbundle_parse(const char *text, size_t len, logbundle_t *b, err_detail_t *d)
{
    memset(b, 0, sizeof *b);
    if (len > LOGBUNDLE_MAX)
        return err_set(d, ERR_INVALID, "bundle", "larger than %u bytes", LOGBUNDLE_MAX);
    json_error_t je;
    b->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (b->root == NULL)
        return err_set(d, ERR_INVALID, "bundle", "malformed JSON at line %d column %d: %s", je.line,
                       je.column, je.text);
    if (!json_is_object(b->root))
        return err_set(d, ERR_INVALID, "bundle", "not a JSON object");
    static const char *const top[] = {"type", "version", "credential", "log", "entries"};
    int rc = only(b->root, top, 5, "bundle", d);
    if (rc != 0)
        return rc;
    const char *type = json_string_value(json_object_get(b->root, "type"));
    if (type == NULL || strcmp(type, "MasterydLogProof") != 0)
        return err_set(d, ERR_INVALID, "type", "not \"MasterydLogProof\"");
    const json_t *ver = json_object_get(b->root, "version");
    if (!json_is_integer(ver) || json_integer_value(ver) != 1)
        return err_set(d, ERR_INVALID, "version", "not 1");
    b->credential = json_object_get(b->root, "credential");
    if (!json_is_object(b->credential) && !json_is_string(b->credential))
        return err_set(d, ERR_INVALID, "credential", "neither a JSON object nor a JWT string");
    const json_t *log = json_object_get(b->root, "log");
    static const char *const logk[] = {"origin", "verifier_key"};
    if (!json_is_object(log))
        return err_set(d, ERR_INVALID, "log", "not an object");
    if ((rc = only(log, logk, 2, "log", d)) != 0)
        return rc;
    const json_t *origin = json_object_get(log, "origin");
    const char *os = json_string_value(origin);
    size_t ol = json_string_length(origin);
    if (os == NULL || ol == 0 || ol > TLOG_NAME_MAX || memchr(os, '\n', ol) != NULL ||
        memchr(os, '\0', ol) != NULL)
        return err_set(d, ERR_INVALID, "log.origin", "not a checkpoint origin (1..%d bytes)",
                       TLOG_NAME_MAX);
    memcpy(b->origin, os, ol);
    b->origin[ol] = '\0';
    const json_t *vk = json_object_get(log, "verifier_key");
    if (!json_is_string(vk))
        return err_set(d, ERR_INVALID, "log.verifier_key", "not a string");
    err_detail_t vd;
    if (tlog_verifier_parse(json_string_value(vk), json_string_length(vk), &b->verifier, &vd) != 0)
        return err_set(d, ERR_INVALID, "log.verifier_key", "%s", vd.message);
    const json_t *entries = json_object_get(b->root, "entries");
    size_t n = json_array_size(entries);
    if (!json_is_array(entries) || n == 0 || n > LOGBUNDLE_ENTRIES_MAX)
        return err_set(d, ERR_INVALID, "entries", "not an array of 1..%d entries",
                       LOGBUNDLE_ENTRIES_MAX);
    b->entries = calloc(n, sizeof *b->entries);
    if (b->entries == NULL)
        return err_set(d, ERR_NOMEM, "entries", "out of memory");
    for (size_t i = 0; i < n; i++) {
        b->n = i + 1; /* so logbundle_free() frees what this one allocated */
        rc = parse_entry(json_array_get(entries, i), i, &b->entries[i], d);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int logbundle_credential_text(const logbundle_t *b, char **out, size_t *len)
{
    *out = NULL;
    if (json_is_string(b->credential)) {
        *len = json_string_length(b->credential);
        *out = malloc(*len + 1);
        if (*out == NULL)
            return ERR_NOMEM;
        memcpy(*out, json_string_value(b->credential), *len + 1);
        return 0;
    }
    *out = json_dumps(b->credential, JSON_COMPACT);
    if (*out == NULL)
        return ERR_NOMEM;
    *len = strlen(*out);
    return 0;
}

int logbundle_credential_doc(const logbundle_t *b, json_t **out)
{
    *out = NULL;
    if (json_is_object(b->credential)) {
        *out = json_incref((json_t *)b->credential);
        return 0;
    }
    const char *jwt = json_string_value(b->credential);
    if (jwt == NULL)
        return ERR_INVALID;
    const char *p1 = strchr(jwt, '.');
    const char *p2 = p1 != NULL ? strchr(p1 + 1, '.') : NULL;
    if (p2 == NULL)
        return ERR_INVALID;
    size_t n = (size_t)(p2 - p1 - 1);
    uint8_t *payload = malloc(CODEC_BASE64URL_DECODED_MAX(n) + 1);
    size_t pl = 0;
    if (payload == NULL)
        return ERR_NOMEM;
    json_t *claims = NULL;
    if (codec_base64url_decode(p1 + 1, n, payload, CODEC_BASE64URL_DECODED_MAX(n) + 1, &pl) == 0)
        claims = json_loadb((const char *)payload, pl, JSON_REJECT_DUPLICATES, NULL);
    free(payload);
    json_t *vc = json_object_get(claims, "vc");
    if (!json_is_object(vc)) {
        json_decref(claims);
        return ERR_INVALID;
    }
    *out = json_incref(vc);
    json_decref(claims);
    return 0;
}

int logbundle_parse_urn(const char *id, uint64_t *index, tlog_hash_t *leaf)
{
    size_t pl = strlen(URN_PREFIX);
    if (strncmp(id, URN_PREFIX, pl) != 0)
        return 0;
    const char *p = id + pl;
    const char *colon = strchr(p, ':');
    size_t dl = colon != NULL ? (size_t)(colon - p) : 0;
    if (dl == 0 || dl > 20 || (p[0] == '0' && dl > 1))
        return ERR_INVALID;
    uint64_t v = 0;
    for (size_t i = 0; i < dl; i++) {
        if (p[i] < '0' || p[i] > '9')
            return ERR_INVALID;
        unsigned dg = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - dg) / 10)
            return ERR_INVALID;
        v = v * 10 + dg;
    }
    const char *hex = colon + 1;
    if (strlen(hex) != 2 * TLOG_HASH_SIZE)
        return ERR_INVALID;
    for (size_t i = 0; i < 2 * TLOG_HASH_SIZE; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return ERR_INVALID; /* lowercase only: one id per entry */
    size_t hl = 0;
    if (codec_hex_decode(hex, 2 * TLOG_HASH_SIZE, leaf->b, TLOG_HASH_SIZE, &hl) != 0)
        return ERR_INVALID;
    *index = v;
    return 1;
}

typedef struct reporter {
    logbundle_report_fn fn;
    void *ctx;
    int failed;
} reporter_t;

static void report(reporter_t *r, const char *check, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(reporter_t *r, const char *check, bool ok, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* A detail cut inside a UTF-8 character loses the piece, so it stays text. */
    size_t n = strlen(msg);
    while (n > 0 && !tlog_utf8_valid(msg, n))
        msg[--n] = '\0';
    if (!ok)
        r->failed++;
    r->fn(r->ctx, check, ok, msg);
}

/* The credential's urn:tlog: evidence against the entries, one for one. */
static void check_evidence(const logbundle_t *b, const tlog_hash_t *leaves, reporter_t *r)
{
    json_t *doc = NULL;
    if (logbundle_credential_doc(b, &doc) != 0) {
        report(r, "log_evidence", false, "the credential cannot be read for its evidence");
        return;
    }
    const json_t *ev = json_object_get(doc, "evidence");
    json_t *list = json_is_array(ev) ? json_incref((json_t *)ev) : json_array();
    if (json_is_object(ev))
        json_array_append(list, (json_t *)ev);
    bool *seen = calloc(b->n, sizeof *seen);
    size_t named = 0;
    bool ok = seen != NULL;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        if (!ok)
            break;
        const char *id = json_string_value(json_object_get(item, "id"));
        uint64_t index;
        tlog_hash_t leaf;
        int rc = id != NULL ? logbundle_parse_urn(id, &index, &leaf) : 0;
        if (rc == 0)
            continue;
        if (rc < 0) {
            report(r, "log_evidence", false, "evidence %zu: malformed id %.200s", i, id);
            ok = false;
            break;
        }
        named++;
        size_t k = 0;
        while (k < b->n &&
               !(b->entries[k].index == index && memcmp(leaves[k].b, leaf.b, TLOG_HASH_SIZE) == 0))
            k++;
        if (k == b->n) {
            report(r, "log_evidence", false,
                   "evidence %zu names log entry %llu with a leaf hash no bundle entry has", i,
                   (unsigned long long)index);
            ok = false;
            break;
        }
        seen[k] = true;
    }
    for (size_t k = 0; ok && k < b->n; k++)
        if (!seen[k]) {
            report(r, "log_evidence", false, "bundle entry %llu is not in the badge's evidence",
                   (unsigned long long)b->entries[k].index);
            ok = false;
        }
    if (ok)
        report(r, "log_evidence", true, "the badge's %zu log evidence items are the %zu entries",
               named, b->n);
    if (seen == NULL)
        report(r, "log_evidence", false, "out of memory");
    free(seen);
    json_decref(list);
    json_decref(doc);
}

int logbundle_check(const logbundle_t *b, const uint8_t *signer, const tlog_verifier_t *keys,
                    size_t nkeys, logbundle_report_fn fn, void *ctx)
{
    reporter_t r = {fn, ctx, 0};
    const tlog_verifier_t *v = &b->verifier;
    bool key_ok = signer != NULL && memcmp(signer, v->pub, 32) == 0;
    const char *why = "it is the key that signed the credential";
    for (size_t i = 0; !key_ok && i < nkeys; i++)
        if (memcmp(keys[i].pub, v->pub, 32) == 0 && strcmp(keys[i].name, v->name) == 0) {
            key_ok = true;
            why = "it is a --log-key";
        }
    if (key_ok)
        report(&r, "log_key", true, "%s: %s", v->name, why);
    else
        report(&r, "log_key", false,
               "%s: the log's key is neither the credential's signing key nor a --log-key",
               v->name);
    tlog_hash_t *leaves = calloc(b->n, sizeof *leaves);
    if (leaves == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < b->n; i++) {
        const logbundle_entry_t *e = &b->entries[i];
        tlog_leaf_hash(e->entry, e->entry_len, &leaves[i]);
        logentry_t le;
        err_detail_t d;
        if (logentry_decode(e->entry, e->entry_len, &le, &d) != 0)
            report(&r, "log_entry", false, "entry %llu: %s: %s", (unsigned long long)e->index,
                   d.field, d.message);
        else
            report(&r, "log_entry", true, "entry %llu: %s, seq %llu", (unsigned long long)e->index,
                   logentry_kind_name((int)le.kind), (unsigned long long)le.seq);
        tlog_proof_t *p = malloc(sizeof *p);
        if (p == NULL) {
            free(leaves);
            return ERR_NOMEM;
        }
        tlog_checkpoint_t cp;
        int rc = tlog_proof_verify(e->proof, e->proof_len, b->origin, v, 1, &leaves[i], p, &cp, &d);
        if (rc == 0 && p->index != e->index)
            report(&r, "log_proof", false, "entry %llu: the proof is for index %llu",
                   (unsigned long long)e->index, (unsigned long long)p->index);
        else if (rc != 0)
            report(&r, "log_proof", false, "entry %llu: %s: %s", (unsigned long long)e->index,
                   d.field, d.message);
        else
            report(&r, "log_proof", true, "entry %llu is in %s's tree of %llu entries",
                   (unsigned long long)e->index, cp.origin, (unsigned long long)cp.size);
        free(p);
    }
    check_evidence(b, leaves, &r);
    free(leaves);
    return r.failed;
}
