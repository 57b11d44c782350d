#include "vreport.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jcs.h"
#include "nquads.h"

json_t *vreport_string(const char *msg)
{
    size_t n = strlen(msg);
    while (n > 0 && !nquads_utf8_valid(msg, n))
        n--;
    return json_stringn(msg, n);
}

void vreport_set(vreport_t *r, json_t *obj, const char *key, json_t *val)
{
    if (val == NULL || json_object_set_new(obj, key, val) != 0)
        r->nomem = 1;
}

static void append(vreport_t *r, json_t *list, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void append(vreport_t *r, json_t *list, const char *fmt, va_list ap)
{
    char msg[768];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (json_array_append_new(list, vreport_string(msg)) != 0)
        r->nomem = 1;
}

void vreport_reason(vreport_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append(r, r->res->reasons, fmt, ap);
    va_end(ap);
}

void vreport_warning(vreport_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append(r, r->res->warnings, fmt, ap);
    va_end(ap);
}

void vreport_check(vreport_t *r, const char *name, const char *value, const char *fmt, ...)
{
    const char *old = json_string_value(json_object_get(r->res->checks, name));
    if (old != NULL && strcmp(old, "ok") != 0 && strcmp(value, "ok") == 0)
        return;
    vreport_set(r, r->res->checks, name, json_string(value));
    json_t *entry = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(r->res->results, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "check"));
        if (n != NULL && strcmp(n, name) == 0)
            entry = e;
    }
    if (entry == NULL) {
        entry = json_pack("{s:s,s:s,s:n}", "check", name, "result", value, "detail");
        if (entry == NULL || json_array_append_new(r->res->results, entry) != 0) {
            r->nomem = 1;
            return;
        }
    } else {
        vreport_set(r, entry, "result", json_string(value));
    }
    if (fmt != NULL) {
        char msg[768];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        vreport_set(r, entry, "detail", vreport_string(msg));
    }
}

bool vreport_has_string(const json_t *v, const char *want)
{
    if (json_is_string(v))
        return strcmp(json_string_value(v), want) == 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) if (json_is_string(e) &&
                                    strcmp(json_string_value(e), want) == 0) return true;
    return false;
}

int vreport_parse_json(const verify_blob_t *b, json_t **out, err_detail_t *d)
{
    if (b->len > VERIFY_MAX_INPUT)
        return err_set(d, ERR_LIMIT, "json", "larger than %u bytes", VERIFY_MAX_INPUT);
    return jcs_parse(b->data, b->len, out, d);
}

json_t *vreport_did_doc(const verify_blob_t *docs, size_t n, const char *issuer)
{
    for (size_t i = 0; issuer != NULL && i < n; i++) {
        json_t *doc = NULL;
        if (vreport_parse_json(&docs[i], &doc, NULL) != 0)
            continue;
        const char *id = json_string_value(json_object_get(doc, "id"));
        if (id != NULL && strcmp(id, issuer) == 0)
            return doc;
        json_decref(doc);
    }
    return NULL;
}

/* Anyone can make a did:key and sign with it: a valid signature says who signed, not that the
 * signer is a school. The auditor says which issuers they accept. */
void vreport_trust(vreport_t *r, const char *const *trusted, size_t n_trusted, bool given,
                   const char *issuer, const char *claim)
{
    if (issuer == NULL)
        return;
    for (size_t i = 0; i < n_trusted; i++)
        if (trusted[i] != NULL && strcmp(trusted[i], issuer) == 0) {
            vreport_check(r, "trust", "ok", "the issuer %.300s is on the trust list", issuer);
            return;
        }
    if (given) {
        vreport_reason(r, "the issuer %.300s is not on the trust list: unknown issuer", issuer);
        vreport_check(r, "trust", "failed", "unknown issuer %.300s (not on the trust list)",
                      issuer);
    } else {
        vreport_warning(r,
                        "the issuer %.300s is not known to this check (no trust list given): "
                        "the signature says who signed, not that they %s",
                        issuer, claim);
        vreport_check(r, "trust", "unknown", "no trust list given");
    }
}

int vreport_begin(verify_result_t *res)
{
    memset(res, 0, sizeof *res);
    res->reasons = json_array();
    res->warnings = json_array();
    res->checks = json_object();
    res->results = json_array();
    res->issuer = json_object();
    res->credential = json_object();
    if (res->reasons == NULL || res->warnings == NULL || res->checks == NULL ||
        res->results == NULL || res->issuer == NULL || res->credential == NULL) {
        verify_result_free(res);
        return ERR_NOMEM;
    }
    return 0;
}

json_t *vreport_did_document(vreport_t *r, const verify_blob_t *b)
{
    json_t *doc = NULL;
    err_detail_t d;
    if (b->data == NULL)
        return NULL;
    if (vreport_parse_json(b, &doc, &d) != 0) {
        vreport_reason(r, "DID document: malformed JSON: %s", d.message);
        return NULL;
    }
    if (!json_is_object(doc)) {
        vreport_reason(r, "DID document: not a JSON object");
        json_decref(doc);
        return NULL;
    }
    return doc;
}
