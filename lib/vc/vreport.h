/*
 * vreport: building the result of an offline check in verify_result_t's shape (verify.h:
 * reasons, warnings, named checks and their ordered results), shared by the badge verifier
 * (verify.c) and the erasure receipt checker (receipt.c), so both report alike.
 *
 * Every function records an allocation failure in r->nomem instead of returning it: the caller
 * checks it once at the end. Messages are cut to 767 bytes and to valid UTF-8 (they may quote
 * untrusted text). Not thread-safe per report.
 */
#ifndef MASTERY_VREPORT_H
#define MASTERY_VREPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "err.h"
#include "verify.h"

typedef struct vreport {
    verify_result_t *res; /* borrowed: its reasons, warnings, checks and results are filled */
    int nomem;
} vreport_t;

/* Sets up an empty result (every list and object made). 0 or ERR_NOMEM (res then freed). */
int vreport_begin(verify_result_t *res);

/* The DID document the caller gave (b->data NULL: none), parsed; a malformed one or one that
 * is not an object is a reason, and NULL. Caller owns the result. */
json_t *vreport_did_document(vreport_t *r, const verify_blob_t *b);

/* A reason the verdict is not VALID; a warning that does not change it. */
void vreport_reason(vreport_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vreport_warning(vreport_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Records check name's result ("ok", "failed", "unknown", ...) in checks and in the ordered
 * results, with a detail for a person when fmt is not NULL. A result other than "ok" is never
 * overwritten by a later "ok".
 */
void vreport_check(vreport_t *r, const char *name, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* obj[key] = val (val's reference taken; NULL counts as out of memory). */
void vreport_set(vreport_t *r, json_t *obj, const char *key, json_t *val);

/* A JSON string of msg, cut to its longest valid UTF-8 prefix. */
json_t *vreport_string(const char *msg);

/* Whether v is the string want, or an array holding it. */
bool vreport_has_string(const json_t *v, const char *want);

/* Parses an untrusted JSON input of at most VERIFY_MAX_INPUT bytes (jcs_parse's rules).
 * Caller owns *out. */
int vreport_parse_json(const verify_blob_t *b, json_t **out, err_detail_t *d);

/* The DID document whose id is issuer among n given ones (a trust file's), parsed: caller owns
 * it; NULL when none matches or issuer is NULL. */
json_t *vreport_did_doc(const verify_blob_t *docs, size_t n, const char *issuer);

/*
 * The "trust" check: "ok" when issuer is in trusted; with a trust list given, "failed" and a
 * reason; else "unknown" and a warning that a signature says who signed, not that the signer
 * may <claim> (e.g. "award this badge"). Nothing for a NULL issuer.
 */
void vreport_trust(vreport_t *r, const char *const *trusted, size_t n_trusted, bool given,
                   const char *issuer, const char *claim);

#endif
