#include "verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bake.h"
#include "codec.h"
#include "cred.h"
#include "dataint.h"
#include "isotime.h"
#include "issuer.h"
#include "vreport.h"
#include "jcs.h"
#include "jws.h"
#include "nquads.h"
#include "statuslist.h"

typedef struct vctx {
    vreport_t rep;
    const verify_input_t *in;
    json_t *did_doc; /* parsed, or NULL */
    int baked_clr;   /* the image said clrcredential */
} vctx_t;

/* The report (vreport.h) is the context's first member: the shared helpers under short names. */
#define reason(v, ...)                    vreport_reason(&(v)->rep, __VA_ARGS__)
#define warning(v, ...)                   vreport_warning(&(v)->rep, __VA_ARGS__)
#define check_detail(v, name, value, ...) vreport_check(&(v)->rep, (name), (value), __VA_ARGS__)
#define vset(v, obj, key, val)            vreport_set(&(v)->rep, (obj), (key), (val))
#define safe_string(msg)                  vreport_string(msg)
#define has_string(v, want)               vreport_has_string((v), (want))
#define parse_json(b, out, d)             vreport_parse_json((b), (out), (d))

static void check(vctx_t *v, const char *name, const char *value)
{
    check_detail(v, name, value, NULL);
}

/* A printable, bounded copy of untrusted text for messages. */
static const char *shown(const char *s)
{
    return s == NULL ? "(none)" : s;
}

static const char *issuer_id(const json_t *doc)
{
    const json_t *is = json_object_get(doc, "issuer");
    return json_is_string(is) ? json_string_value(is)
                              : json_string_value(json_object_get(is, "id"));
}

static void check_structure(vctx_t *v, const json_t *doc, const char *what)
{
    const json_t *ctx = json_object_get(doc, "@context");
    bool ok = true;
    if (!json_is_array(ctx) || !json_is_string(json_array_get(ctx, 0)) ||
        strcmp(json_string_value(json_array_get(ctx, 0)), CRED_CONTEXT_VC2) != 0) {
        reason(v, "%s: @context must be an array starting with %s", what, CRED_CONTEXT_VC2);
        ok = false;
    }
    if (!has_string(json_object_get(doc, "type"), "VerifiableCredential")) {
        reason(v, "%s: type does not include VerifiableCredential", what);
        ok = false;
    }
    if (issuer_id(doc) == NULL) {
        reason(v, "%s: no issuer id", what);
        ok = false;
    }
    if (!json_is_object(json_object_get(doc, "credentialSubject")) &&
        !json_is_array(json_object_get(doc, "credentialSubject"))) {
        reason(v, "%s: no credentialSubject", what);
        ok = false;
    }
    check(v, "structure", ok ? "ok" : "failed");
}

/* "https://purl.imsglobal.org/spec/ob/v3p0/context.json" or ".../context-3.D.D.json" */
static bool is_ob_context(const char *s)
{
    static const char base[] = "https://purl.imsglobal.org/spec/ob/v3p0/context";
    size_t n = sizeof base - 1;
    if (s == NULL || strncmp(s, base, n) != 0)
        return false;
    s += n;
    if (s[0] == '-' && s[1] == '3' && s[2] == '.' && s[3] >= '0' && s[3] <= '9' && s[4] == '.' &&
        s[5] >= '0' && s[5] <= '9')
        s += 6;
    return strcmp(s, ".json") == 0;
}

/* The Open Badges 3.0 shape the 1EdTech schema requires of the parts verifiers rely on. */
static void check_ob3(vctx_t *v, const json_t *doc)
{
    bool ok = true;
    const json_t *ctx = json_object_get(doc, "@context");
    if (!is_ob_context(json_string_value(json_array_get(ctx, 1)))) {
        reason(v, "credential: the second @context must be the Open Badges 3.0 context");
        ok = false;
    }
    const json_t *type = json_object_get(doc, "type");
    if (!has_string(type, "OpenBadgeCredential") && !has_string(type, "AchievementCredential")) {
        reason(v, "credential: type includes neither OpenBadgeCredential nor "
                  "AchievementCredential");
        ok = false;
    }
    const json_t *subj = json_object_get(doc, "credentialSubject");
    const json_t *ach = json_object_get(subj, "achievement");
    if (!has_string(json_object_get(subj, "type"), "AchievementSubject") || !json_is_object(ach) ||
        !has_string(json_object_get(ach, "type"), "Achievement")) {
        reason(v, "credential: credentialSubject must be an AchievementSubject with an "
                  "Achievement");
        ok = false;
    }
    if (json_is_object(subj) && json_object_get(subj, "id") == NULL &&
        !json_is_array(json_object_get(subj, "identifier"))) {
        reason(v, "credential: credentialSubject has neither an id nor an identifier");
        ok = false;
    }
    check(v, "ob3_shape", ok ? "ok" : "failed");
}

/* "https://purl.imsglobal.org/spec/clr/v2p0/context.json" or ".../context-2.D.D.json" */
static bool is_clr_context(const char *s)
{
    static const char base[] = "https://purl.imsglobal.org/spec/clr/v2p0/context";
    size_t n = sizeof base - 1;
    if (s == NULL || strncmp(s, base, n) != 0)
        return false;
    s += n;
    if (s[0] == '-' && s[1] == '2' && s[2] == '.' && s[3] >= '0' && s[3] <= '9' && s[4] == '.' &&
        s[5] >= '0' && s[5] <= '9')
        s += 6;
    return strcmp(s, ".json") == 0;
}

/* The CLR 2.0 shape: a ClrCredential whose ClrSubject holds the achievement credentials. */
static void check_clr(vctx_t *v, const json_t *doc)
{
    bool ok = true;
    const json_t *ctx = json_object_get(doc, "@context");
    if (!is_clr_context(json_string_value(json_array_get(ctx, 1)))) {
        reason(v, "transcript: the second @context must be the CLR 2.0 context");
        ok = false;
    }
    const json_t *subj = json_object_get(doc, "credentialSubject");
    const json_t *vcs = json_object_get(subj, "verifiableCredential");
    if (!has_string(json_object_get(subj, "type"), "ClrSubject") || !json_is_array(vcs) ||
        json_array_size(vcs) == 0) {
        reason(v, "transcript: credentialSubject must be a ClrSubject holding at least one "
                  "verifiableCredential");
        ok = false;
    }
    if (json_is_object(subj) && json_object_get(subj, "id") == NULL &&
        !json_is_array(json_object_get(subj, "identifier"))) {
        reason(v, "transcript: credentialSubject has neither an id nor an identifier");
        ok = false;
    }
    if (ok)
        check_detail(v, "ob3_shape", "ok", "a CLR 2.0 ClrCredential holding %zu credentials",
                     json_array_size(vcs));
    else
        check(v, "ob3_shape", "failed");
}

/* Each embedded credential is verified on its own, with the same status lists, DID documents
 * and trust list; each is reported, and any that is not VALID makes the transcript invalid. */
static void check_clr_credentials(vctx_t *v, const json_t *doc)
{
    const json_t *vcs =
        json_object_get(json_object_get(doc, "credentialSubject"), "verifiableCredential");
    size_t n = json_array_size(vcs), bad = 0, i;
    const json_t *c;
    if (n == 0)
        return;
    json_array_foreach(vcs, i, c)
    {
        char name[40];
        snprintf(name, sizeof name, "clr_credential_%zu", i + 1);
        if (has_string(json_object_get(c, "type"), "ClrCredential")) {
            /* bounds the recursion: CLR 2.0 embeds achievement credentials, not transcripts */
            bad++;
            reason(v, "credential %zu of the transcript is itself a transcript", i + 1);
            check_detail(v, name, "failed", "a ClrCredential inside a ClrCredential");
            continue;
        }
        char *text = json_dumps(c, JSON_COMPACT);
        if (text == NULL) {
            v->rep.nomem = 1;
            return;
        }
        verify_input_t sub = *v->in;
        sub.badge = (verify_blob_t){text, strlen(text)};
        sub.recipient = NULL; /* the transcript's subject is checked once, above */
        verify_result_t r;
        int rc = verify_badge(&sub, &r);
        free(text);
        if (rc != 0) {
            v->rep.nomem = 1;
            return;
        }
        const char *cname = json_string_value(json_object_get(r.credential, "achievement"));
        const char *cid = json_string_value(json_object_get(r.credential, "id"));
        const char *why = json_string_value(json_array_get(r.reasons, 0));
        if (strcmp(r.verdict, "VALID") == 0) {
            check_detail(v, name, "ok", "credential %zu of %zu (%.200s, %.100s): VALID", i + 1, n,
                         shown(cname), shown(cid));
        } else {
            bad++;
            reason(v, "credential %zu of the transcript (%.200s) is %s: %.300s", i + 1,
                   shown(cname), r.verdict, why ? why : "");
            check_detail(v, name, "failed", "credential %zu of %zu (%.200s, %.100s): %s: %.300s",
                         i + 1, n, shown(cname), shown(cid), r.verdict, why ? why : "");
        }
        verify_result_free(&r);
    }
    if (bad == 0)
        check_detail(v, "clr_credentials", "ok", "all %zu achievement credentials verify", n);
    else
        check_detail(v, "clr_credentials", "failed",
                     "%zu of %zu achievement credentials do not "
                     "verify",
                     bad, n);
}

/* Checks validFrom/validUntil of doc against now; prefix names the document. */
static void check_times(vctx_t *v, const json_t *doc, const char *what, bool record)
{
    int64_t ms;
    const json_t *from = json_object_get(doc, "validFrom");
    const json_t *until = json_object_get(doc, "validUntil");
    if (from != NULL) {
        const char *s = json_string_value(from);
        if (s == NULL || isotime_parse(s, strlen(s), &ms, NULL) != 0) {
            reason(v, "%s: validFrom is not an RFC 3339 date-time", what);
            if (record)
                check(v, "valid_from", "failed");
        } else if (ms > v->in->now_ms) {
            reason(v, "%s: not valid yet (validFrom %s)", what, s);
            if (record)
                check(v, "valid_from", "failed");
        } else if (record)
            check_detail(v, "valid_from", "ok", "valid since %s", s);
    } else if (record)
        check(v, "valid_from", "absent");
    if (until != NULL) {
        const char *s = json_string_value(until);
        if (s == NULL || isotime_parse(s, strlen(s), &ms, NULL) != 0) {
            reason(v, "%s: validUntil is not an RFC 3339 date-time", what);
            if (record)
                check(v, "valid_until", "failed");
        } else if (ms <= v->in->now_ms) {
            reason(v, "%s: expired (validUntil %s)", what, s);
            if (record)
                check(v, "valid_until", "failed");
        } else if (record)
            check_detail(v, "valid_until", "ok", "valid until %s", s);
    } else if (record)
        check_detail(v, "valid_until", "absent", "does not expire");
}

/* Verifies every proof of a JSON document by issuer. Returns true when at least one proof
 * verified and none failed. */
static bool check_di_proofs(vctx_t *v, const json_t *doc, const char *issuer, const char *what,
                            bool record)
{
    const json_t *proofs = json_object_get(doc, "proof");
    json_t *one = NULL;
    if (json_is_object(proofs)) {
        one = json_array();
        if (one == NULL || json_array_append(one, (json_t *)(uintptr_t)proofs) != 0) {
            json_decref(one);
            v->rep.nomem = 1;
            return false;
        }
        proofs = one;
    }
    if (!json_is_array(proofs) || json_array_size(proofs) == 0) {
        reason(v, "%s: no proof", what);
        if (record)
            check(v, "proof", "failed");
        json_decref(one);
        return false;
    }
    bool all_ok = true;
    char suites[160] = "";
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
        if (!json_is_object(p) || type == NULL || strcmp(type, DATAINT_TYPE) != 0) {
            reason(v, "%s: proof %zu: type is %s; expected DataIntegrityProof", what, i,
                   shown(type));
            all_ok = false;
            continue;
        }
        bool rdfc = suite != NULL && strcmp(suite, "eddsa-rdfc-2022") == 0;
        if (suite == NULL || (strcmp(suite, DATAINT_CRYPTOSUITE) != 0 && !rdfc)) {
            reason(v, "%s: proof %zu: unsupported cryptosuite %s (eddsa-jcs-2022 expected)", what,
                   i, shown(suite));
            all_ok = false;
            continue;
        }
        if (rdfc && v->in->rdfc == NULL) {
            reason(v, "%s: proof %zu: cryptosuite eddsa-rdfc-2022 is not supported by this build",
                   what, i);
            all_ok = false;
            continue;
        }
        if (purpose == NULL || strcmp(purpose, "assertionMethod") != 0) {
            reason(v, "%s: proof %zu: proofPurpose is %s; expected assertionMethod", what, i,
                   shown(purpose));
            if (record)
                check(v, "proof_purpose", "failed");
            all_ok = false;
            continue;
        }
        if (record)
            check_detail(v, "proof_purpose", "ok", "assertionMethod");
        if (vm == NULL) {
            reason(v, "%s: proof %zu: no verificationMethod", what, i);
            all_ok = false;
            continue;
        }
        if (issuer_resolve_key(issuer, vm, v->did_doc, &key, &d) != 0) {
            reason(v, "%s: proof %zu: %s", what, i, d.message);
            if (record)
                check(v, "issuer_key", "failed");
            all_ok = false;
            continue;
        }
        if (record)
            check_detail(v, "issuer_key", "ok", "%.300s belongs to the issuer", vm);
        int rc;
        if (rdfc)
            rc = v->in->rdfc(doc, p, key, &d);
        else {
            /* verify this proof alone: a document holding only it */
            json_t *single = json_copy((json_t *)(uintptr_t)doc);
            if (single == NULL ||
                json_object_set_nocheck(single, "proof", (json_t *)(uintptr_t)p) != 0) {
                json_decref(single);
                keys_destroy(&key);
                v->rep.nomem = 1;
                break;
            }
            rc = dataint_proof_verify(single, key, NULL, &d);
            json_decref(single);
        }
        /* The credential's signer, for checks made outside (the log's checkpoint key). */
        if (rc == 0 && record && !v->rep.res->has_signer &&
            keys_public_raw(key, v->rep.res->signer) == 0)
            v->rep.res->has_signer = true;
        keys_destroy(&key);
        if (rc == 0 && strlen(suites) + strlen(suite) + 24 < sizeof suites)
            snprintf(suites + strlen(suites), sizeof suites - strlen(suites), "%s%s",
                     suites[0] ? " and " : "", suite);
        if (rc == ERR_NOMEM)
            v->rep.nomem = 1;
        if (rc != 0) {
            if (rc == ERR_UNAUTHENTICATED)
                reason(v,
                       "%s: proof %zu: the signature does not verify (the document was "
                       "changed, or signed by another key)",
                       what, i);
            else
                reason(v, "%s: proof %zu: %s", what, i, d.message);
            all_ok = false;
        }
    }
    if (record)
        check_detail(v, "proof", all_ok ? "ok" : "failed", "%s%s",
                     all_ok ? suites : "a proof does not verify",
                     all_ok ? " signature verifies" : "");
    json_decref(one);
    return all_ok;
}

/* Finds the given status list whose id is url; returns it parsed (caller decrefs) or NULL. */
static json_t *find_list(vctx_t *v, const char *url)
{
    for (size_t i = 0; i < v->in->n_status_lists && i < VERIFY_MAX_LISTS; i++) {
        json_t *l = NULL;
        err_detail_t d;
        if (parse_json(&v->in->status_lists[i], &l, &d) != 0)
            continue; /* reported once by check_lists_parse() */
        const char *id = json_string_value(json_object_get(l, "id"));
        if (id != NULL && strcmp(id, url) == 0)
            return l;
        json_decref(l);
    }
    return NULL;
}

static void check_lists_parse(vctx_t *v)
{
    for (size_t i = 0; i < v->in->n_status_lists; i++) {
        json_t *l = NULL;
        err_detail_t d;
        if (i >= VERIFY_MAX_LISTS) {
            reason(v, "more than %d status lists given", VERIFY_MAX_LISTS);
            return;
        }
        if (parse_json(&v->in->status_lists[i], &l, &d) != 0)
            reason(v, "status list %zu: malformed JSON: %s", i + 1, d.message);
        else if (!json_is_object(l))
            reason(v, "status list %zu: not a JSON object", i + 1);
        json_decref(l);
    }
}

/* Writes a duration as "3 d 4 h" / "5 min" / "12 s" for messages. */
static void fmt_age(int64_t ms, char *buf, size_t cap)
{
    int64_t s = ms / 1000;
    if (s >= 86400)
        snprintf(buf, cap, "%lld d %lld h", (long long)(s / 86400), (long long)(s % 86400 / 3600));
    else if (s >= 3600)
        snprintf(buf, cap, "%lld h %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else if (s >= 60)
        snprintf(buf, cap, "%lld min", (long long)(s / 60));
    else
        snprintf(buf, cap, "%lld s", (long long)s);
}

/*
 * A status list is only as good as its age: an old copy may predate a revocation. Past its
 * validUntil it is reported by check_times(); here it also fails status_fresh, as does a list
 * signed longer than max_status_age_ms ago.
 */
static void check_fresh(vctx_t *v, const json_t *list, const char *what)
{
    int64_t from = 0, until = 0;
    const char *fs = json_string_value(json_object_get(list, "validFrom"));
    const char *us = json_string_value(json_object_get(list, "validUntil"));
    bool has_from = fs != NULL && isotime_parse(fs, strlen(fs), &from, NULL) == 0;
    if (us != NULL && isotime_parse(us, strlen(us), &until, NULL) == 0 && until <= v->in->now_ms) {
        check_detail(v, "status_fresh", "failed", "%s expired at %s", what, us);
        return;
    }
    if (v->in->max_status_age_ms <= 0) {
        if (has_from)
            check_detail(v, "status_fresh", "ok", "%s signed %s (no age limit given)", what, fs);
        return;
    }
    char age[48], max[48];
    fmt_age(v->in->max_status_age_ms, max, sizeof max);
    if (!has_from) {
        reason(v, "%s has no validFrom: its age cannot be told (limit %s)", what, max);
        check_detail(v, "status_fresh", "failed", "%s has no validFrom", what);
        return;
    }
    fmt_age(v->in->now_ms - from, age, sizeof age);
    if (v->in->now_ms - from > v->in->max_status_age_ms) {
        reason(v, "%s is stale: signed %s (%s ago), more than the %s allowed; fetch a fresh copy",
               what, fs, age, max);
        check_detail(v, "status_fresh", "failed", "%s signed %s, %s ago (limit %s)", what, fs, age,
                     max);
    } else
        check_detail(v, "status_fresh", "ok", "%s signed %s, %s ago (limit %s)", what, fs, age,
                     max);
}

static void check_entry(vctx_t *v, const json_t *entry, const char *issuer)
{
    const char *type = json_string_value(json_object_get(entry, "type"));
    const char *purpose = json_string_value(json_object_get(entry, "statusPurpose"));
    const char *idx_s = json_string_value(json_object_get(entry, "statusListIndex"));
    const char *url = json_string_value(json_object_get(entry, "statusListCredential"));
    if (type == NULL || strcmp(type, "BitstringStatusListEntry") != 0) {
        warning(v, "credentialStatus of type %s is not checked", shown(type));
        return;
    }
    if (purpose == NULL || url == NULL || idx_s == NULL) {
        reason(v, "credentialStatus: a BitstringStatusListEntry needs statusPurpose, "
                  "statusListIndex and statusListCredential");
        check(v, "status", "failed");
        return;
    }
    bool known = strcmp(purpose, "revocation") == 0 || strcmp(purpose, "suspension") == 0;
    const char *name = known ? purpose : "status";
    char *end = NULL;
    unsigned long idx = strtoul(idx_s, &end, 10);
    if (idx_s[0] < '0' || idx_s[0] > '9' || *end != '\0' || idx >= STATUSLIST_MAX_BITS) {
        reason(v, "credentialStatus: statusListIndex \"%.40s\" is not a valid index", idx_s);
        check(v, name, "failed");
        return;
    }
    if (!known) {
        warning(v, "credentialStatus purpose %.40s is not checked", purpose);
        return;
    }
    json_t *list = find_list(v, url);
    if (list == NULL) {
        warning(v, "%s not checked: no status list given for %.300s", purpose, url);
        check(v, name, "unchecked");
        return;
    }
    char what[64];
    snprintf(what, sizeof what, "%s status list", purpose);
    bool ok = true;
    const json_t *subj = json_object_get(list, "credentialSubject");
    const char *lpurpose = json_string_value(json_object_get(subj, "statusPurpose"));
    const char *enc = json_string_value(json_object_get(subj, "encodedList"));
    const char *lissuer = issuer_id(list);
    if (!has_string(json_object_get(list, "type"), "BitstringStatusListCredential")) {
        reason(v, "%s: not a BitstringStatusListCredential", what);
        ok = false;
    }
    if (lissuer == NULL || strcmp(lissuer, issuer) != 0) {
        reason(v, "%s: issued by %.200s, not by the badge's issuer %.200s", what, shown(lissuer),
               issuer);
        ok = false;
    }
    if (lpurpose == NULL || strcmp(lpurpose, purpose) != 0) {
        reason(v, "%s: its statusPurpose is %.40s", what, shown(lpurpose));
        ok = false;
    }
    check_times(v, list, what, false);
    check_fresh(v, list, what);
    if (lissuer != NULL && !check_di_proofs(v, list, lissuer, what, false))
        ok = false;
    statuslist_t *bits = NULL;
    err_detail_t d;
    if (enc == NULL) {
        reason(v, "%s: no encodedList", what);
        ok = false;
    } else if (statuslist_decode(enc, strlen(enc), 0, &bits, &d) != 0) {
        reason(v, "%s: %s", what, d.message);
        ok = false;
    } else if (idx >= statuslist_size(bits)) {
        reason(v, "%s: index %lu is beyond the list's %u entries", what, idx,
               statuslist_size(bits));
        ok = false;
    } else if (ok) {
        bool set = false;
        statuslist_get(bits, (uint32_t)idx, &set);
        if (set) {
            reason(v, "the credential is %s (%s list %.200s, index %lu)",
                   strcmp(purpose, "revocation") == 0 ? "revoked" : "suspended", purpose, url, idx);
            check(v, name, strcmp(purpose, "revocation") == 0 ? "revoked" : "suspended");
        } else
            check_detail(v, name, "ok", "not %s (index %lu of %.200s)",
                         strcmp(purpose, "revocation") == 0 ? "revoked" : "suspended", idx, url);
    }
    if (!ok)
        check(v, name, "failed");
    statuslist_destroy(&bits);
    json_decref(list);
}

static void check_status(vctx_t *v, const json_t *doc, const char *issuer)
{
    const json_t *st = json_object_get(doc, "credentialStatus");
    if (st == NULL) {
        check_detail(v, "revocation", "absent", "the credential has no status entry");
        return;
    }
    if (json_is_object(st)) {
        check_entry(v, st, issuer);
        return;
    }
    if (!json_is_array(st)) {
        reason(v, "credentialStatus must be an object or an array");
        check(v, "status", "failed");
        return;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(st, i, e) check_entry(v, e, issuer);
}

/* The issuer and the credential as they say of themselves (what a person reads first). */
static void describe(vctx_t *v, const json_t *doc)
{
    const json_t *is = json_object_get(doc, "issuer");
    const char *id = issuer_id(doc);
    const char *name = json_string_value(json_object_get(is, "name"));
    const char *url = json_string_value(json_object_get(is, "url"));
    vset(v, v->rep.res->issuer, "id", id ? json_string(id) : json_null());
    vset(v, v->rep.res->issuer, "name", name ? json_string(name) : json_null());
    vset(v, v->rep.res->issuer, "url", url ? json_string(url) : json_null());
    const json_t *subj = json_object_get(doc, "credentialSubject");
    if (json_is_array(subj))
        subj = json_array_get(subj, 0);
    const json_t *ach = json_object_get(subj, "achievement");
    const char *cid = json_string_value(json_object_get(doc, "id"));
    const char *cname = json_string_value(json_object_get(doc, "name"));
    const char *aname = json_string_value(json_object_get(ach, "name"));
    const char *sid = json_string_value(json_object_get(subj, "id"));
    const json_t *type = json_object_get(doc, "type");
    json_t *c = v->rep.res->credential;
    vset(v, c, "id", cid ? json_string(cid) : json_null());
    vset(v, c, "type",
         json_is_array(type) || json_is_string(type) ? json_deep_copy(type) : json_null());
    vset(v, c, "name", cname ? json_string(cname) : json_null());
    vset(v, c, "achievement", aname ? json_string(aname) : json_null());
    vset(v, c, "subject",
         sid ? json_string(sid)
             : json_string(json_is_array(json_object_get(subj, "identifier"))
                               ? "(hashed identifier)"
                               : "(none)"));
    const char *vf = json_string_value(json_object_get(doc, "validFrom"));
    const char *vu = json_string_value(json_object_get(doc, "validUntil"));
    vset(v, c, "validFrom", vf ? json_string(vf) : json_null());
    vset(v, c, "validUntil", vu ? json_string(vu) : json_null());
}

static bool hash_equal(const char *a, const char *b)
{
    /* "sha256$" + hex: the hex compared without regard to case */
    return strlen(a) == strlen(b) && strncmp(a, "sha256$", 7) == 0 &&
           strncmp(b, "sha256$", 7) == 0 && strcasecmp(a + 7, b + 7) == 0;
}

/* The holder presents their school id; the badge carries only its salted hash (or a DID). */
static void check_recipient(vctx_t *v, const json_t *doc)
{
    const char *r = v->in->recipient;
    if (r == NULL)
        return;
    const json_t *subj = json_object_get(doc, "credentialSubject");
    if (json_is_array(subj))
        subj = json_array_get(subj, 0);
    const char *sid = json_string_value(json_object_get(subj, "id"));
    if (sid != NULL && strcmp(sid, r) == 0) {
        check_detail(v, "recipient", "ok", "the presented id is the subject's id");
        return;
    }
    size_t i;
    const json_t *io;
    json_array_foreach(json_object_get(subj, "identifier"), i, io)
    {
        const char *h = json_string_value(json_object_get(io, "identityHash"));
        const char *salt = json_string_value(json_object_get(io, "salt"));
        const char *type = json_string_value(json_object_get(io, "identityType"));
        if (h == NULL)
            continue;
        if (!json_is_true(json_object_get(io, "hashed"))) {
            if (strcmp(h, r) == 0) {
                check_detail(v, "recipient", "ok", "the presented id is the subject's %s",
                             shown(type));
                return;
            }
            continue;
        }
        char mine[80]; /* "sha256$" + 64 hex + NUL; cred.c needs 72 */
        if (cred_identity_hash(r, salt, mine, sizeof mine) == 0 && hash_equal(mine, h)) {
            check_detail(v, "recipient", "ok",
                         "sha256(presented id + salt) matches the subject's hashed %s",
                         shown(type));
            return;
        }
    }
    reason(v, "the presented recipient id does not match the credential's subject (neither its "
              "id nor a hashed identifier)");
    check_detail(v, "recipient", "failed", "the presented id is not the subject's");
}

static void verify_json(vctx_t *v)
{
    json_t *doc = NULL;
    err_detail_t d;
    check_detail(v, "format", "json", "a JSON credential with an embedded proof");
    if (parse_json(&v->in->badge, &doc, &d) != 0) {
        reason(v, "malformed JSON: %s", d.message);
        check(v, "parse", "failed");
        return;
    }
    if (!json_is_object(doc)) {
        reason(v, "the credential is not a JSON object");
        check(v, "parse", "failed");
        json_decref(doc);
        return;
    }
    check(v, "parse", "ok");
    describe(v, doc);
    check_structure(v, doc, "credential");
    bool clr = has_string(json_object_get(doc, "type"), "ClrCredential");
    if (v->baked_clr && !clr) {
        reason(v, "the image says CLR (clrcredential) but holds no ClrCredential");
        check(v, "baked", "failed");
    }
    if (clr)
        check_clr(v, doc);
    else
        check_ob3(v, doc);
    const char *issuer = issuer_id(doc);
    if ((v)->did_doc == NULL)
        (v)->did_doc = vreport_did_doc((v)->in->did_documents, (v)->in->n_did_documents, issuer);
    if (issuer != NULL)
        check_di_proofs(v, doc, issuer, "credential", true);
    vreport_trust(&(v)->rep, (v)->in->trusted, (v)->in->n_trusted, (v)->in->trust_given, issuer,
                  "may award this badge");
    check_times(v, doc, "credential", true);
    if (issuer != NULL)
        check_status(v, doc, issuer);
    check_recipient(v, doc);
    if (clr)
        check_clr_credentials(v, doc);
    json_decref(doc);
}

/* Decodes the unverified payload of a compact JWS (to learn iss before choosing a key). */
static json_t *peek_claims(const char *tok, size_t len)
{
    const char *a = memchr(tok, '.', len);
    if (a == NULL)
        return NULL;
    const char *b = memchr(a + 1, '.', len - (size_t)(a + 1 - tok));
    if (b == NULL)
        return NULL;
    size_t n = (size_t)(b - a - 1), cap = CODEC_BASE64URL_DECODED_MAX(n) + 1, out_len = 0;
    uint8_t *buf = malloc(cap);
    json_t *claims = NULL;
    if (buf != NULL && codec_base64url_decode(a + 1, n, buf, cap, &out_len) == 0)
        jcs_parse((const char *)buf, out_len, &claims, NULL);
    free(buf);
    if (!json_is_object(claims)) {
        json_decref(claims);
        return NULL;
    }
    return claims;
}

static void check_claim_time(vctx_t *v, const json_t *claims, const char *claim)
{
    const json_t *t = json_object_get(claims, claim);
    if (t == NULL)
        return;
    if (!json_is_integer(t) && !json_is_real(t)) {
        reason(v, "JWT: %s is not a number", claim);
        return;
    }
    double s = json_number_value(t);
    double now = (double)v->in->now_ms / 1000.0;
    if (strcmp(claim, "nbf") == 0 && s > now) {
        reason(v, "JWT: not valid yet (nbf %.0f)", s);
        check(v, "valid_from", "failed");
    }
    if (strcmp(claim, "exp") == 0 && s <= now) {
        reason(v, "JWT: expired (exp %.0f)", s);
        check(v, "valid_until", "failed");
    }
}

static void verify_jwt(vctx_t *v)
{
    const char *tok = v->in->badge.data;
    size_t len = v->in->badge.len;
    json_t *header = NULL, *peeked = NULL, *claims = NULL;
    keys_t *key = NULL;
    err_detail_t d;
    check_detail(v, "format", "jwt", "a VC-JWT (compact JWS)");
    if (jws_peek_header(tok, len, &header, &d) != 0) {
        reason(v, "malformed JWT: %s", d.message);
        check(v, "parse", "failed");
        return;
    }
    const char *alg = json_string_value(json_object_get(header, "alg"));
    const char *kid = json_string_value(json_object_get(header, "kid"));
    if (alg == NULL || (strcmp(alg, "EdDSA") != 0 && strcmp(alg, "RS256") != 0)) {
        reason(v, "JWT: alg %.40s is refused (EdDSA or RS256 only)", shown(alg));
        check(v, "jwt_alg", "failed");
        check(v, "proof", "failed");
        goto out;
    }
    check(v, "jwt_alg", "ok");
    peeked = peek_claims(tok, len);
    const char *iss = json_string_value(json_object_get(peeked, "iss"));
    if (iss == NULL) {
        reason(v, "JWT: no iss claim (or the payload is not a JSON object)");
        check(v, "proof", "failed");
        goto out;
    }
    if (kid == NULL) {
        reason(v, "JWT: no kid in the header: cannot tell which issuer key signed it");
        check(v, "issuer_key", "failed");
        check(v, "proof", "failed");
        goto out;
    }
    if ((v)->did_doc == NULL)
        (v)->did_doc = vreport_did_doc((v)->in->did_documents, (v)->in->n_did_documents, iss);
    char full_kid[1024];
    if (kid[0] == '#')
        snprintf(full_kid, sizeof full_kid, "%s%s", iss, kid);
    else
        snprintf(full_kid, sizeof full_kid, "%s", kid);
    if (issuer_resolve_key(iss, full_kid, v->did_doc, &key, &d) != 0) {
        reason(v, "JWT: %s", d.message);
        check(v, "issuer_key", "failed");
        check(v, "proof", "failed");
        goto out;
    }
    check_detail(v, "issuer_key", "ok", "%.300s belongs to the issuer", full_kid);
    int rc = jws_verify(tok, len, key, NULL, &claims, &d);
    if (rc != 0) {
        if (rc == ERR_UNAUTHENTICATED)
            reason(v, "JWT: the signature does not verify with the issuer's key %.200s (%s)",
                   full_kid, d.message);
        else
            reason(v, "JWT: %s", d.message);
        check(v, "proof", "failed");
        goto out;
    }
    check_detail(v, "proof", "ok", "JWT %s signature verifies", alg);
    if (keys_public_raw(key, v->rep.res->signer) == 0)
        v->rep.res->has_signer = true;
    check(v, "parse", "ok");
    const json_t *vc = json_object_get(claims, "vc");
    if (!json_is_object(vc)) {
        reason(v, "JWT: no vc claim holding the credential");
        goto out;
    }
    describe(v, vc);
    check_structure(v, vc, "credential");
    check_ob3(v, vc);
    vreport_trust(&(v)->rep, (v)->in->trusted, (v)->in->n_trusted, (v)->in->trust_given, iss,
                  "may award this badge");
    const char *vc_issuer = issuer_id(vc);
    if (vc_issuer == NULL || strcmp(vc_issuer, iss) != 0)
        reason(v, "JWT: iss %.200s differs from the credential's issuer %.200s", iss,
               shown(vc_issuer));
    const char *jti = json_string_value(json_object_get(claims, "jti"));
    const char *id = json_string_value(json_object_get(vc, "id"));
    if (jti != NULL && (id == NULL || strcmp(jti, id) != 0))
        reason(v, "JWT: jti %.200s differs from the credential id %.200s", jti, shown(id));
    check_times(v, vc, "credential", true);
    check_claim_time(v, claims, "nbf");
    check_claim_time(v, claims, "exp");
    check_status(v, vc, iss);
    check_recipient(v, vc);
out:
    keys_destroy(&key);
    json_decref(claims);
    json_decref(peeked);
    json_decref(header);
}

void verify_result_free(verify_result_t *res)
{
    if (res == NULL)
        return;
    json_decref(res->reasons);
    json_decref(res->warnings);
    json_decref(res->checks);
    json_decref(res->results);
    json_decref(res->issuer);
    json_decref(res->credential);
    memset(res, 0, sizeof *res);
}

int verify_badge(const verify_input_t *in, verify_result_t *res)
{
    if (vreport_begin(res) != 0)
        return ERR_NOMEM;
    vctx_t v = {.rep = {res, 0}, .in = in};
    err_detail_t d;
    v.did_doc = vreport_did_document(&v.rep, &in->did_document);
    check_lists_parse(&v);
    const char *p = in->badge.data;
    size_t n = in->badge.len;
    /* a baked badge: the credential is inside the picture */
    bake_found_t baked = {0};
    bake_format_t bf = bake_sniff(p, n);
    if (bf != BAKE_FORMAT_UNKNOWN) {
        int brc = bake_extract(p, n, &baked, &d);
        if (brc == ERR_NOMEM)
            v.rep.nomem = 1;
        if (brc != 0) {
            reason(&v, "baked %s image: %s", bake_format_name(bf), d.message);
            check_detail(&v, "baked", "failed", "%s", d.message);
            check(&v, "format", "failed");
            p = NULL;
            n = 0;
        } else {
            check_detail(&v, "baked", bake_format_name(bf), "the credential was baked in a%s %s",
                         bf == BAKE_FORMAT_SVG ? "n" : "", bf == BAKE_FORMAT_SVG ? "SVG" : "PNG");
            p = baked.text;
            n = baked.len;
            v.baked_clr = baked.kind == BAKE_CLR;
        }
    }
    while (n > 0 && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == '\t'))
        n--;
    verify_input_t trimmed = *in;
    trimmed.badge.data = p;
    trimmed.badge.len = n;
    v.in = &trimmed;
    if (bf != BAKE_FORMAT_UNKNOWN && p == NULL) {
        /* reported above */
    } else if (p == NULL || n == 0) {
        reason(&v, "the credential is empty");
        check(&v, "format", "failed");
    } else if (n > VERIFY_MAX_INPUT) {
        reason(&v, "the credential is larger than %u bytes", VERIFY_MAX_INPUT);
        check(&v, "format", "failed");
    } else if (p[0] == '{' || p[0] == '[')
        verify_json(&v);
    else if (memchr(p, '.', n) != NULL && memchr(p, '{', n) == NULL)
        verify_jwt(&v);
    else {
        reason(&v, "neither a JSON credential nor a compact JWT");
        check(&v, "format", "failed");
    }
    json_decref(v.did_doc);
    bake_found_free(&baked);
    if (v.rep.nomem) {
        verify_result_free(res);
        return ERR_NOMEM;
    }
    res->valid = json_array_size(res->reasons) == 0;
    /* REVOKED / SUSPENDED only when that is all that is wrong: otherwise the badge is not
     * even what it claims to be */
    const char *rv = json_string_value(json_object_get(res->checks, "revocation"));
    const char *sv = json_string_value(json_object_get(res->checks, "suspension"));
    size_t status_reasons =
        (rv && strcmp(rv, "revoked") == 0) + (sv && strcmp(sv, "suspended") == 0);
    if (res->valid)
        res->verdict = "VALID";
    else if (status_reasons > 0 && json_array_size(res->reasons) == status_reasons)
        res->verdict = rv && strcmp(rv, "revoked") == 0 ? "REVOKED" : "SUSPENDED";
    else
        res->verdict = "INVALID";
    return 0;
}
