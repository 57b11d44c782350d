#include "receipt.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "dataint.h"
#include "isotime.h"
#include "issuer.h"
#include "vreport.h"
#include "jcs.h"

#define VC2_CONTEXT "https://www.w3.org/ns/credentials/v2"

typedef struct rctx {
    vreport_t rep;
    const receipt_input_t *in;
    json_t *did_doc; /* parsed, owned, or NULL */
} rctx_t;

/* The report (vreport.h) is the context's first member: the shared helpers under short names. */
#define reason(v, ...)                    vreport_reason(&(v)->rep, __VA_ARGS__)
#define warning(v, ...)                   vreport_warning(&(v)->rep, __VA_ARGS__)
#define check_detail(v, name, value, ...) vreport_check(&(v)->rep, (name), (value), __VA_ARGS__)
#define vset(v, obj, key, val)            vreport_set(&(v)->rep, (obj), (key), (val))
#define safe_string(msg)                  vreport_string(msg)
#define has_string(v, want)               vreport_has_string((v), (want))
#define parse_json(b, out, d)             vreport_parse_json((b), (out), (d))

static const char *shown(const char *s)
{
    return s == NULL ? "(none)" : s;
}

static bool is_hex64(const char *s)
{
    if (s == NULL || strlen(s) != 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
            return false;
    return true;
}

static bool is_time(const char *s)
{
    int64_t ms;
    err_detail_t d;
    return s != NULL && isotime_parse(s, strlen(s), &ms, &d) == 0;
}

int receipt_commitment(const uint8_t salt[RECEIPT_SALT_LEN], const char *id, size_t id_len,
                       char out[65])
{
    uint8_t md[32];
    unsigned int n = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(c, salt, RECEIPT_SALT_LEN) == 1 &&
             EVP_DigestUpdate(c, id, id_len) == 1 && EVP_DigestFinal_ex(c, md, &n) == 1 &&
             n == sizeof md;
    EVP_MD_CTX_free(c);
    size_t len = 0;
    if (!ok || codec_hex_encode(md, sizeof md, out, 65, &len) != 0 || len != 64)
        return ERR_INTERNAL;
    out[64] = '\0';
    return 0;
}

static void check_structure(rctx_t *v, const json_t *doc)
{
    bool ok = true;
    const json_t *ctx = json_object_get(doc, "@context");
    const char *first = json_string_value(json_is_array(ctx) ? json_array_get(ctx, 0) : ctx);
    if (first == NULL || strcmp(first, VC2_CONTEXT) != 0) {
        reason(v, "@context: the first must be %s", VC2_CONTEXT);
        ok = false;
    }
    const json_t *type = json_object_get(doc, "type");
    if (!has_string(type, "VerifiableCredential") || !has_string(type, RECEIPT_TYPE)) {
        reason(v, "type: must hold VerifiableCredential and " RECEIPT_TYPE);
        ok = false;
    }
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (id == NULL || strncmp(id, "urn:uuid:", 9) != 0 || strlen(id) != 9 + 36) {
        reason(v, "id: %.100s is not a urn:uuid:", shown(id));
        ok = false;
    }
    const char *issuer = json_string_value(json_object_get(doc, "issuer"));
    if (issuer == NULL || strncmp(issuer, "did:", 4) != 0) {
        reason(v, "issuer: must be the issuer's DID (a string)");
        ok = false;
    }
    if (!json_is_object(json_object_get(doc, "credentialSubject"))) {
        reason(v, "credentialSubject: missing or not an object");
        ok = false;
    }
    check_detail(v, "structure", ok ? "ok" : "failed", "%s",
                 ok ? "a W3C VC 2.0 ErasureReceipt" : "not a VC 2.0 ErasureReceipt");
}

/* A count: jcs_parse reads every number as a double (RFC 8785), so an integer is a real with no
 * fraction, 0..2^53. */
static bool as_count(const json_t *n, json_int_t *out)
{
    double x = json_is_integer(n) ? (double)json_integer_value(n) : json_real_value(n);
    if (!json_is_number(n) || !(x >= 0 && x <= 9007199254740992.0) || x != (double)(json_int_t)x)
        return false;
    *out = (json_int_t)x;
    return true;
}

static bool count_ok(const json_t *o, const char *key)
{
    json_int_t n;
    return as_count(json_object_get(o, key), &n);
}

/* A copy of v with every count-like number as a JSON integer (for the report). */
static json_t *with_integers(const json_t *v)
{
    json_int_t n;
    if (json_is_number(v))
        return as_count(v, &n) ? json_integer(n) : json_deep_copy(v);
    if (!json_is_object(v))
        return json_deep_copy(v);
    json_t *o = json_object();
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)(uintptr_t)v, k, x)
    {
        if (o != NULL && json_object_set_new(o, k, with_integers(x)) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static void check_shape(rctx_t *v, const json_t *doc)
{
    size_t before = json_array_size(v->rep.res->reasons);
    const json_t *s = json_object_get(doc, "credentialSubject");
    if (!json_is_object(s)) {
        check_detail(v, "receipt_shape", "failed", "no credentialSubject");
        return;
    }
    if (!has_string(json_object_get(s, "type"), RECEIPT_SUBJECT_TYPE))
        reason(v, "credentialSubject.type: must be " RECEIPT_SUBJECT_TYPE);
    if (!is_hex64(json_string_value(json_object_get(s, "learnerCommitment"))))
        reason(v, "credentialSubject.learnerCommitment: must be 64 hex digits (SHA-256)");
    if (!is_hex64(json_string_value(json_object_get(s, "commitmentSalt"))))
        reason(v, "credentialSubject.commitmentSalt: must be 64 hex digits (32 bytes)");
    if (!is_time(json_string_value(json_object_get(s, "erasedAt"))))
        reason(v, "credentialSubject.erasedAt: must be an RFC 3339 time");
    static const char *const opt[] = {"requestRef", "reason"};
    for (size_t i = 0; i < 2; i++) {
        const json_t *x = json_object_get(s, opt[i]);
        if (x != NULL && !json_is_string(x))
            reason(v, "credentialSubject.%s: must be a string", opt[i]);
    }
    const json_t *scope = json_object_get(s, "scope");
    static const char *const counts[] = {"evidence", "records", "credentialsRevoked",
                                         "credentialsKept"};
    if (!json_is_object(scope))
        reason(v, "credentialSubject.scope: missing or not an object");
    else
        for (size_t i = 0; i < 4; i++)
            if (!count_ok(scope, counts[i]))
                reason(v, "credentialSubject.scope.%s: must be a non-negative integer", counts[i]);
    const json_t *log = json_object_get(s, "log");
    if (!json_is_object(log))
        reason(v, "credentialSubject.log: missing or not an object");
    else {
        if (!json_is_string(json_object_get(log, "origin")))
            reason(v, "credentialSubject.log.origin: must be a string");
        if (!count_ok(log, "index"))
            reason(v, "credentialSubject.log.index: must be a non-negative integer");
        if (!is_hex64(json_string_value(json_object_get(log, "leafHash"))))
            reason(v, "credentialSubject.log.leafHash: must be 64 hex digits");
    }
    bool ok = json_array_size(v->rep.res->reasons) == before;
    check_detail(v, "receipt_shape", ok ? "ok" : "failed", "%s",
                 ok ? "a LearnerErasure subject with its scope and log entry"
                    : "the subject is not a complete LearnerErasure");
}

/* The receipt's proof(s): eddsa-jcs-2022 only (the daemon signs receipts with it). */
static void check_proofs(rctx_t *v, const json_t *doc, const char *issuer)
{
    const json_t *proofs = json_object_get(doc, "proof");
    json_t *one = NULL;
    if (json_is_object(proofs)) {
        one = json_array();
        if (one == NULL || json_array_append(one, (json_t *)(uintptr_t)proofs) != 0) {
            json_decref(one);
            v->rep.nomem = 1;
            return;
        }
        proofs = one;
    }
    if (!json_is_array(proofs) || json_array_size(proofs) == 0) {
        reason(v, "receipt: no proof");
        check_detail(v, "proof", "failed", "no proof");
        json_decref(one);
        return;
    }
    bool all_ok = true;
    size_t i;
    const json_t *p;
    json_array_foreach(proofs, i, p)
    {
        err_detail_t d;
        err_clear(&d);
        const char *type = json_string_value(json_object_get(p, "type"));
        const char *suite = json_string_value(json_object_get(p, "cryptosuite"));
        const char *purpose = json_string_value(json_object_get(p, "proofPurpose"));
        const char *vm = json_string_value(json_object_get(p, "verificationMethod"));
        keys_t *key = NULL;
        if (type == NULL || strcmp(type, DATAINT_TYPE) != 0) {
            reason(v, "proof %zu: type is %.100s; expected DataIntegrityProof", i, shown(type));
            all_ok = false;
            continue;
        }
        if (suite == NULL || strcmp(suite, DATAINT_CRYPTOSUITE) != 0) {
            reason(v, "proof %zu: unsupported cryptosuite %.100s (eddsa-jcs-2022 expected)", i,
                   shown(suite));
            all_ok = false;
            continue;
        }
        if (purpose == NULL || strcmp(purpose, "assertionMethod") != 0) {
            reason(v, "proof %zu: proofPurpose is %.100s; expected assertionMethod", i,
                   shown(purpose));
            check_detail(v, "proof_purpose", "failed", "not assertionMethod");
            all_ok = false;
            continue;
        }
        check_detail(v, "proof_purpose", "ok", "assertionMethod");
        if (vm == NULL) {
            reason(v, "proof %zu: no verificationMethod", i);
            all_ok = false;
            continue;
        }
        if (issuer_resolve_key(issuer, vm, v->did_doc, &key, &d) != 0) {
            reason(v, "proof %zu: %s", i, d.message);
            check_detail(v, "issuer_key", "failed", "%s", d.message);
            all_ok = false;
            continue;
        }
        check_detail(v, "issuer_key", "ok", "%.300s belongs to the issuer", vm);
        json_t *single = json_copy((json_t *)(uintptr_t)doc);
        int rc = ERR_NOMEM;
        if (single != NULL && json_object_set_nocheck(single, "proof", (json_t *)(uintptr_t)p) == 0)
            rc = dataint_proof_verify(single, key, NULL, &d);
        json_decref(single);
        if (rc == 0 && !v->rep.res->has_signer && keys_public_raw(key, v->rep.res->signer) == 0)
            v->rep.res->has_signer = true;
        keys_destroy(&key);
        if (rc == ERR_NOMEM)
            v->rep.nomem = 1;
        if (rc == ERR_UNAUTHENTICATED)
            reason(v,
                   "proof %zu: the signature does not verify (the receipt was changed, or "
                   "signed by another key)",
                   i);
        else if (rc != 0)
            reason(v, "proof %zu: %s", i, d.message);
        if (rc != 0)
            all_ok = false;
    }
    check_detail(v, "proof", all_ok ? "ok" : "failed", "%s",
                 all_ok ? "eddsa-jcs-2022 signature verifies" : "a proof does not verify");
    json_decref(one);
}

static void check_valid_from(rctx_t *v, const json_t *doc)
{
    const char *vf = json_string_value(json_object_get(doc, "validFrom"));
    int64_t ms = 0;
    err_detail_t d;
    if (vf == NULL || isotime_parse(vf, strlen(vf), &ms, &d) != 0) {
        reason(v, "validFrom: must be an RFC 3339 time");
        check_detail(v, "valid_from", "failed", "no RFC 3339 validFrom");
    } else if (ms > v->in->now_ms) {
        reason(v, "validFrom %.64s is in the future", vf);
        check_detail(v, "valid_from", "failed", "%.64s is in the future", vf);
    } else
        check_detail(v, "valid_from", "ok", "%.64s", vf);
}

static void check_learner(rctx_t *v, const json_t *doc)
{
    if (v->in->learner == NULL) {
        check_detail(v, "learner", "unchecked", "no learner id given (--learner)");
        return;
    }
    const json_t *s = json_object_get(doc, "credentialSubject");
    const char *commit = json_string_value(json_object_get(s, "learnerCommitment"));
    const char *salt_hex = json_string_value(json_object_get(s, "commitmentSalt"));
    uint8_t salt[RECEIPT_SALT_LEN];
    size_t n = 0;
    char mine[65];
    if (!is_hex64(commit) || !is_hex64(salt_hex) ||
        codec_hex_decode(salt_hex, 64, salt, sizeof salt, &n) != 0 || n != sizeof salt) {
        reason(v, "learner: the receipt has no well-formed commitment to check against");
        check_detail(v, "learner", "failed", "no well-formed commitment");
        return;
    }
    if (receipt_commitment(salt, v->in->learner, strlen(v->in->learner), mine) != 0) {
        v->rep.nomem = 1;
        return;
    }
    bool same = strlen(commit) == 64;
    for (size_t i = 0; same && i < 64; i++) {
        char c = commit[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        same = c == mine[i];
    }
    if (same)
        check_detail(v, "learner", "ok", "SHA-256(salt || the given id) is the commitment");
    else {
        reason(v, "learner: the receipt is not about the given learner id (the commitment "
                  "differs)");
        check_detail(v, "learner", "failed", "the commitment is not the given id's");
    }
}

static void describe(rctx_t *v, const json_t *doc)
{
    const json_t *s = json_object_get(doc, "credentialSubject");
    const char *issuer = json_string_value(json_object_get(doc, "issuer"));
    if (issuer != NULL)
        vset(v, v->rep.res->issuer, "id", safe_string(issuer));
    static const char *const top[] = {"id", "validFrom"};
    for (size_t i = 0; i < 2; i++) {
        const json_t *x = json_object_get(doc, top[i]);
        if (json_is_string(x))
            vset(v, v->rep.res->credential, top[i], json_copy((json_t *)(uintptr_t)x));
    }
    vset(v, v->rep.res->credential, "type", json_string(RECEIPT_TYPE));
    static const char *const sub[] = {"erasedAt", "requestRef", "learnerCommitment", "log",
                                      "scope"};
    for (size_t i = 0; json_is_object(s) && i < 5; i++) {
        const json_t *x = json_object_get(s, sub[i]);
        if (x != NULL)
            vset(v, v->rep.res->credential, sub[i], with_integers(x));
    }
}

int receipt_verify(const receipt_input_t *in, verify_result_t *res)
{
    if (vreport_begin(res) != 0)
        return ERR_NOMEM;
    rctx_t v = {.rep = {res, 0}, .in = in};
    err_detail_t d;
    v.did_doc = vreport_did_document(&v.rep, &in->did_document);
    json_t *doc = NULL;
    check_detail(&v, "format", "json", "a JSON credential with an embedded proof");
    if (in->receipt.data == NULL || in->receipt.len == 0) {
        reason(&v, "the receipt is empty");
        check_detail(&v, "parse", "failed", "empty");
    } else if (parse_json(&in->receipt, &doc, &d) != 0) {
        reason(&v, "malformed JSON: %s", d.message);
        check_detail(&v, "parse", "failed", "%s", d.message);
    } else if (!json_is_object(doc)) {
        reason(&v, "the receipt is not a JSON object");
        check_detail(&v, "parse", "failed", "not an object");
    } else {
        check_detail(&v, "parse", "ok", NULL);
        describe(&v, doc);
        check_structure(&v, doc);
        check_shape(&v, doc);
        const char *issuer = json_string_value(json_object_get(doc, "issuer"));
        if ((&v)->did_doc == NULL)
            (&v)->did_doc =
                vreport_did_doc((&v)->in->did_documents, (&v)->in->n_did_documents, issuer);
        if (issuer != NULL)
            check_proofs(&v, doc, issuer);
        else
            check_detail(&v, "proof", "failed", "no issuer to resolve the key from");
        vreport_trust(&(&v)->rep, (&v)->in->trusted, (&v)->in->n_trusted, (&v)->in->trust_given,
                      issuer, "hold the learner's records");
        check_valid_from(&v, doc);
        check_learner(&v, doc);
    }
    json_decref(doc);
    json_decref(v.did_doc);
    if (v.rep.nomem) {
        verify_result_free(res);
        return ERR_NOMEM;
    }
    res->valid = json_array_size(res->reasons) == 0;
    res->verdict = res->valid ? "VALID" : "INVALID";
    return 0;
}
