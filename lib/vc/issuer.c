#include "issuer.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int issuer_did_web(const char *domain, char *out, size_t cap, err_detail_t *d)
{
    size_t n = domain == NULL ? 0 : strlen(domain);
    if (n == 0 || n > ISSUER_DOMAIN_MAX || domain[0] == '/' || domain[0] == ':' ||
        domain[n - 1] == '/')
        return err_set(d, ERR_INVALID, "did_web", "the did:web domain must be host[:port][/path]");
    buf_t b;
    buf_init(&b, cap > 0 ? cap - 1 : 0);
    int rc = buf_append_str(&b, "did:web:");
    bool in_path = false, port = false;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char c = domain[i];
        if (name_char(c))
            rc = buf_append_byte(&b, c);
        else if (c == ':' && !in_path && !port) {
            port = true;
            rc = buf_append_str(&b, "%3A");
        } else if (c == '/' && domain[i + 1] != '/') {
            in_path = true;
            rc = buf_append_byte(&b, ':');
        } else {
            buf_free(&b);
            return err_set(d, ERR_INVALID, "did_web",
                           "character '%c' not allowed in a did:web "
                           "domain",
                           c);
        }
    }
    if (rc == 0)
        memcpy(out, b.data, b.len + 1);
    buf_free(&b);
    return rc == 0 ? 0 : err_set(d, ERR_LIMIT, "did_web", "the DID does not fit");
}

static bool is_did_web(const char *s)
{
    return s != NULL && strncmp(s, "did:web:", 8) == 0 && s[8] != '\0';
}

int issuer_did(const keys_t *k, const char *did_web, char *out, size_t cap)
{
    if (did_web == NULL || did_web[0] == '\0')
        return keys_did_key(k, out, cap);
    if (strlen(did_web) >= cap)
        return ERR_LIMIT;
    memcpy(out, did_web, strlen(did_web) + 1);
    return 0;
}

int issuer_vm_id(const keys_t *k, const char *did_web, char *out, size_t cap)
{
    if (did_web == NULL || did_web[0] == '\0')
        return keys_vm_id(k, out, cap);
    char kid[KEYS_ID_MAX];
    int rc = keys_id(k, kid, sizeof kid);
    if (rc != 0)
        return rc;
    int n = snprintf(out, cap, "%s#%s", did_web, kid);
    return n < 0 || (size_t)n >= cap ? ERR_LIMIT : 0;
}

static int add_str(json_t *o, const char *k, const char *v)
{
    json_t *s = json_string(v);
    return s == NULL || json_object_set_new_nocheck(o, k, s) != 0 ? ERR_NOMEM : 0;
}

int issuer_did_document(const char *did_web, const keys_t *const *keys, size_t n, json_t **out,
                        err_detail_t *d)
{
    if (!is_did_web(did_web))
        return err_set(d, ERR_INVALID, "did_web", "a DID document needs a did:web DID");
    if (n == 0 || keys == NULL)
        return err_set(d, ERR_INVALID, "keys", "a DID document needs at least one key");
    json_t *doc = json_object(), *ctx = json_array(), *vms = json_array(), *am = json_array();
    int rc = 0;
    if (doc == NULL || ctx == NULL || vms == NULL || am == NULL ||
        json_object_set_new_nocheck(doc, "@context", ctx) != 0) {
        json_decref(ctx);
        json_decref(vms);
        json_decref(am);
        rc = ERR_NOMEM;
        goto out;
    }
    if (json_object_set_new_nocheck(doc, "verificationMethod", vms) != 0) {
        json_decref(am);
        rc = ERR_NOMEM;
        goto out;
    }
    if (json_object_set_new_nocheck(doc, "assertionMethod", am) != 0 ||
        json_array_append_new(ctx, json_string_nocheck("https://www.w3.org/ns/did/v1")) != 0 ||
        json_array_append_new(ctx, json_string_nocheck("https://w3id.org/security/multikey/v1")) !=
            0 ||
        json_array_append_new(ctx, json_string_nocheck("https://w3id.org/security/jwk/v1")) != 0 ||
        add_str(doc, "id", did_web) != 0) {
        rc = ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char vm[ISSUER_VM_ID_MAX];
        if ((rc = issuer_vm_id(keys[i], did_web, vm, sizeof vm)) != 0) {
            err_set(d, rc, "keys", "key %zu has no id", i);
            goto out;
        }
        json_t *m = json_object();
        if (m == NULL || json_array_append_new(vms, m) != 0 || add_str(m, "id", vm) != 0 ||
            add_str(m, "controller", did_web) != 0 ||
            json_array_append_new(am, json_string(vm)) != 0) {
            rc = ERR_NOMEM;
            goto out;
        }
        if (keys_alg(keys[i]) == KEYS_ED25519) {
            char mb[128];
            if ((rc = keys_public_multibase(keys[i], mb, sizeof mb)) != 0 ||
                add_str(m, "type", "Multikey") != 0 || add_str(m, "publicKeyMultibase", mb) != 0)
                goto out;
        } else {
            json_t *jwk = NULL;
            if ((rc = keys_jwk(keys[i], &jwk)) != 0 || add_str(m, "type", "JsonWebKey") != 0 ||
                json_object_set_new_nocheck(m, "publicKeyJwk", jwk) != 0) {
                rc = rc != 0 ? rc : ERR_NOMEM;
                goto out;
            }
        }
    }
    *out = doc;
    doc = NULL;
out:
    json_decref(doc);
    if (rc != 0 && (d == NULL || d->code == 0))
        err_set(d, rc, "did_document", "cannot build the DID document");
    return rc;
}

/* Whether id (possibly relative "#frag") names vm under did. */
static bool same_vm(const char *id, const char *did, const char *vm)
{
    if (id == NULL)
        return false;
    if (id[0] == '#') {
        size_t dl = strlen(did);
        return strncmp(vm, did, dl) == 0 && strcmp(vm + dl, id) == 0;
    }
    return strcmp(id, vm) == 0;
}

static int resolve_web(const char *did, const char *vm, const json_t *doc, keys_t **out,
                       err_detail_t *d)
{
    size_t dl = strlen(did);
    if (strncmp(vm, did, dl) != 0 || vm[dl] != '#' || vm[dl + 1] == '\0')
        return err_set(d, ERR_UNAUTHENTICATED, "verificationMethod",
                       "verification method %.200s is not a key of the issuer %.200s", vm, did);
    if (doc == NULL)
        return err_set(d, ERR_NOT_FOUND, "did_document",
                       "the issuer is %.200s: give its DID document (did.json)", did);
    if (!json_is_object(doc))
        return err_set(d, ERR_INVALID, "did_document", "the DID document is not a JSON object");
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (id == NULL || strcmp(id, did) != 0)
        return err_set(d, ERR_NOT_FOUND, "did_document",
                       "the DID document is for %.200s, not the issuer %.200s",
                       id != NULL ? id : "(no id)", did);
    const json_t *found = NULL, *v;
    size_t i;
    json_array_foreach(json_object_get(doc, "verificationMethod"), i, v)
    {
        if (same_vm(json_string_value(json_object_get(v, "id")), did, vm)) {
            found = v;
            break;
        }
    }
    /* assertionMethod: references (strings) or embedded methods */
    const json_t *am = json_object_get(doc, "assertionMethod");
    bool asserted = false;
    json_array_foreach(am, i, v)
    {
        if (json_is_string(v) && same_vm(json_string_value(v), did, vm))
            asserted = true;
        else if (json_is_object(v) &&
                 same_vm(json_string_value(json_object_get(v, "id")), did, vm)) {
            asserted = true;
            found = found != NULL ? found : v;
        }
    }
    if (found == NULL)
        return err_set(d, ERR_NOT_FOUND, "verificationMethod",
                       "%.200s is not in the issuer's DID document", vm);
    if (!asserted)
        return err_set(d, ERR_UNAUTHENTICATED, "proofPurpose",
                       "%.200s is not listed under assertionMethod in the DID document", vm);
    const char *ctrl = json_string_value(json_object_get(found, "controller"));
    if (ctrl == NULL || strcmp(ctrl, did) != 0)
        return err_set(d, ERR_UNAUTHENTICATED, "controller",
                       "%.200s is not controlled by the issuer %.200s", vm, did);
    const char *mb = json_string_value(json_object_get(found, "publicKeyMultibase"));
    const json_t *jwk = json_object_get(found, "publicKeyJwk");
    if (mb != NULL)
        return keys_from_public_multibase(mb, out, d);
    if (json_is_object(jwk))
        return keys_from_jwk(jwk, out, d);
    return err_set(d, ERR_INVALID, "verificationMethod",
                   "%.200s has neither publicKeyMultibase nor publicKeyJwk", vm);
}

int issuer_resolve_key(const char *issuer_did, const char *vm, const json_t *did_doc, keys_t **out,
                       err_detail_t *d)
{
    if (issuer_did == NULL || vm == NULL)
        return err_set(d, ERR_INVALID, issuer_did == NULL ? "issuer" : "verificationMethod",
                       "missing issuer id or verification method");
    if (strncmp(issuer_did, "did:key:", 8) == 0) {
        size_t dl = strlen(issuer_did);
        if (strncmp(vm, issuer_did, dl) != 0 || vm[dl] != '#')
            return err_set(d, ERR_UNAUTHENTICATED, "verificationMethod",
                           "verification method %.200s does not belong to the issuer %.200s", vm,
                           issuer_did);
        int rc = keys_from_did_key(vm, out, d);
        if (rc != 0)
            err_set(d, rc, "verificationMethod", "%.200s is not an Ed25519 did:key key", vm);
        return rc;
    }
    if (is_did_web(issuer_did))
        return resolve_web(issuer_did, vm, did_doc, out, d);
    if (strncmp(issuer_did, "did:", 4) == 0) {
        const char *end = strchr(issuer_did + 4, ':');
        int mlen = end == NULL ? 0 : (int)(end - issuer_did - 4);
        return err_set(d, ERR_INVALID, "issuer",
                       "unknown DID method \"%.*s\" (did:key and "
                       "did:web are supported)",
                       mlen > 32 ? 32 : mlen, issuer_did + 4);
    }
    return err_set(d, ERR_INVALID, "issuer", "the issuer id %.200s is not a DID", issuer_did);
}
