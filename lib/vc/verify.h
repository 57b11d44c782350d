/*
 * verify: checks an Open Badges 3.0 credential, or a CLR 2.0 transcript of them, fully offline
 * (the core of mastery-verify).
 *
 * Input is untrusted bytes: a JSON credential secured with a Data Integrity proof, or a
 * VC-JWT (compact JWS). Every check runs that can run, and every failure is reported as its
 * own reason (a person reads them), never by crashing:
 *   format        JSON object or compact JWS; malformed JSON (line/column) is a reason.
 *   structure     @context starts with the VC 2.0 context; type has VerifiableCredential;
 *                 an issuer id; credentialSubject present.
 *   ob3_shape     the Open Badges 3.0 parts verifiers rely on: the OB 3.0 context second,
 *                 type OpenBadgeCredential (or AchievementCredential), an AchievementSubject
 *                 (with an id or an identifier) holding an Achievement. The full 1EdTech JSON
 *                 Schema is checked by the test suite, not here.
 *   proof         JSON: every DataIntegrityProof must be eddsa-jcs-2022 (eddsa-rdfc-2022
 *                 through the verify_rdfc_fn hook when one is given; any other cryptosuite is
 *                 a reason), proofPurpose assertionMethod, and verify with the key its
 *                 verificationMethod names. JWT: alg EdDSA or RS256 only (none and the rest
 *                 are refused), a kid, then the signature; iss must equal the vc's issuer and
 *                 jti its id.
 *   issuer_key    the key belongs to the issuer: did:key derived from the issuer DID; did:web
 *                 resolved from the given DID document (controller + assertionMethod);
 *                 another DID method is "unknown DID method".
 *   valid_from / valid_until   against now_ms (JWT: nbf/exp too).
 *   baked         a PNG or SVG input is unbaked first (bake.h): "png" | "svg" | "failed".
 *   trust         the issuer is one of in->trusted ("ok"); not, with a trust list given
 *                 ("failed", a reason); no trust list ("unknown", a warning: anyone can mint a
 *                 did:key and sign a badge with it).
 *   recipient     with in->recipient: equal to credentialSubject.id, or to one of its hashed
 *                 identifiers (IdentityObject: sha256(recipient + salt), "sha256$<hex>").
 *   status_fresh  every status list used: not older than in->max_status_age_ms (its
 *                 validFrom, when the issuer signed it), nor past its validUntil.
 *   clr_credential_N / clr_credentials   a CLR 2.0 ClrCredential (a transcript): ob3_shape
 *                 checks the CLR shape instead (the CLR context second, a ClrSubject holding
 *                 credentials), then each embedded credential is verified by verify_badge()
 *                 with the same input (no recipient) and reported as clr_credential_N; one that
 *                 is not VALID is a reason naming it. A transcript inside a transcript is
 *                 refused (bounds the recursion).
 *   revocation / suspension    every BitstringStatusListEntry is looked up in the given
 *                 status list credentials (matched by id == statusListCredential). A list
 *                 must be a BitstringStatusListCredential of the same issuer and purpose,
 *                 currently valid, with a proof that verifies by a key the issuer controls;
 *                 a set bit is a reason ("revoked", "suspended"). An entry whose list was not
 *                 given is reported in checks as "unchecked" and as a warning, not a reason.
 *
 * Results: valid (no reasons), the reasons (strings), warnings, a checks object
 * {"format": "json"|"jwt", "proof": "ok"|"failed", ...}, the same as a list in the order run
 * with a detail for a person ([{"check","result","detail"}]), the issuer as the credential
 * names it, a summary of the credential, and a verdict: VALID, REVOKED or SUSPENDED (when
 * that is the only reason), else INVALID.
 *
 * No I/O. Bounded: documents up to VERIFY_MAX_INPUT bytes, status lists per statuslist.h.
 */
#ifndef MASTERY_VERIFY_H
#define MASTERY_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keys.h"

#define VERIFY_MAX_INPUT (4u << 20) /* bytes of one credential, list or DID document */
#define VERIFY_MAX_LISTS 64

/*
 * The hook for eddsa-rdfc-2022 (RDF Dataset Canonicalization), which another module will
 * provide: verify proof (one member of secured's proof set) over secured with key.
 * @return 0 verified; ERR_UNAUTHENTICATED (bad signature); ERR_INVALID (malformed), with d.
 */
typedef int (*verify_rdfc_fn)(const json_t *secured, const json_t *proof, keys_t *key,
                              err_detail_t *d);

/* A borrowed byte string (a file's contents). */
typedef struct verify_blob {
    const char *data;
    size_t len;
} verify_blob_t;

typedef struct verify_input {
    verify_blob_t badge;               /* JSON credential or JWT */
    const verify_blob_t *status_lists; /* n_status_lists status list credentials (JSON) */
    size_t n_status_lists;
    verify_blob_t did_document; /* data NULL: none */
    int64_t now_ms;             /* the time the credential is checked at (Unix ms) */
    verify_rdfc_fn rdfc;        /* NULL: eddsa-rdfc-2022 proofs are reported unsupported */
    /* more DID documents (a trust file's); the one whose id is the issuer binds did:web keys
     * when did_document is not given */
    const verify_blob_t *did_documents;
    size_t n_did_documents;
    const char *const *trusted; /* issuer DIDs (or URLs) the verifier accepts; borrowed */
    size_t n_trusted;
    bool trust_given;          /* a trust list was given: an issuer outside it is a failure */
    const char *recipient;     /* a learner id presented by its holder, or NULL */
    int64_t max_status_age_ms; /* 0: any age; else older status lists are a reason */
} verify_input_t;

typedef struct verify_result {
    bool valid;
    json_t *reasons;     /* array of strings; empty when valid */
    json_t *warnings;    /* array of strings */
    json_t *checks;      /* object: check name -> "ok" | "failed" | "unchecked" | detail */
    json_t *results;     /* array of {"check", "result", "detail"} in the order the checks ran */
    json_t *issuer;      /* {"id", "name", "url"} as the credential states them (null if absent) */
    json_t *credential;  /* {"id", "type", "name", "achievement", "subject"} (null if absent) */
    const char *verdict; /* static: "VALID", "INVALID", "REVOKED" or "SUSPENDED" */
    /* the raw Ed25519 public key of the first credential proof that verified (an RSA JWT key
     * or no verified proof: has_signer false); mastery-verify --log-proof compares it with
     * the log's checkpoint key */
    bool has_signer;
    uint8_t signer[32];
} verify_result_t;

/*
 * Verifies in->badge.
 * @param[in]  in  the input; every pointer borrowed for the call.
 * @param[out] res filled on return 0 (valid or not). Caller frees with verify_result_free().
 * @return 0 (res says valid or invalid, with reasons); ERR_NOMEM.
 */
int verify_badge(const verify_input_t *in, verify_result_t *res);

/* Frees what *res holds and zeroes it. Safe to call twice. */
void verify_result_free(verify_result_t *res);

#endif
