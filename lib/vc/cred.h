/*
 * cred: Open Badges 3.0 OpenBadgeCredential documents, built from plain C input, secured with
 * a Data Integrity proof (eddsa-jcs-2022, via dataint) and as a VC-JWT (via jws).
 *
 * The document (every collection an array, as the 1EdTech JSON Schema wants):
 *
 *   {"@context": ["https://www.w3.org/ns/credentials/v2",
 *                 "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
 *    "id": "urn:uuid:...", "type": ["VerifiableCredential", "OpenBadgeCredential"],
 *    "name": <achievement name>,
 *    "issuer": {"id": <issuer DID>, "type": ["Profile"], "name", "url"?, "email"?,
 *               "image"? {"id", "type": "Image"}},
 *    "validFrom": "YYYY-MM-DDThh:mm:ssZ", "validUntil"?: ...,
 *    "credentialSubject": {"type": ["AchievementSubject"],
 *        "id": <learner DID>            (when the learner registered one), or
 *        "identifier": [{"type": "IdentityObject", "identityHash": "sha256$<hex>",
 *                        "identityType": "identifier", "hashed": true, "salt": <salt>}],
 *        "achievement": {"id", "type": ["Achievement"], "achievementType": "Competency",
 *            "name", "description", "criteria": {"narrative"?, "id"?},
 *            "image"? {"id", "type": "Image"},
 *            "alignment"? [{"type": ["Alignment"], "targetName", "targetUrl",
 *                           "targetType": "CFItem" | "ceasn:Competency", "targetCode"?,
 *                           "targetFramework"?}]}},
 *    "evidence"?: [{"type": ["Evidence"], "id"?: <url>, "name": <evidence id>,
 *                   "narrative"?: ...}, ...],
 *    "credentialStatus"?: one BitstringStatusListEntry object, or an array of two (below),
 *    "proof": [{"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", ...}]}
 *
 * The learner is never named by the raw school id: without a DID the subject carries
 * identityHash = "sha256$" + lowercase hex of SHA-256(UTF-8(school id) + UTF-8(salt)), the
 * Open Badges 3.0 IdentityHash definition (identifier first, salt appended; the spec's
 * example hashes "a@example.comKosher").
 *
 * credentialStatus: Open Badges 3.0 allows at most ONE credentialStatus ([0..1]; its JSON
 * Schema types it as an object), while VCDM 2.0 allows a set. With one status entry
 * (revocation only, or suspension only) the document is an object and validates against the
 * 1EdTech schema; with both entries it is an array of two BitstringStatusListEntry objects,
 * which VCDM 2.0 verifiers (and mastery-verify) handle but the OB 3.0 schema rejects on that
 * one member. The caller chooses (cred_input_t.revocation / .suspension).
 *
 * HOW THE DAEMON ISSUES A BADGE (one learner, one competency just MASTERED):
 *
 *   cred_ctx_t *ctx;                         // once per thread; reuses buffers
 *   cred_ctx_new(&ctx);
 *   ...
 *   cred_input_t in;
 *   cred_input_init(&in);
 *   char id[CRED_URN_UUID_MAX];  cred_urn_uuid_random(id, sizeof id);
 *   in.id = id;
 *   in.issuer = (cred_issuer_t){issuer_did, conf name, url, email, image};
 *   in.framework_id = graph_id(g); in.framework_version = graph_version(g);
 *   in.competency_id = comp->id;  in.competency_title = comp->title;
 *   in.source_uri = comp->source_uri; in.source_is_case = <the framework came from CASE>;
 *   in.valid_from_ms = now_ms;
 *   rc = cred_input_from_achievement(&in, comp->achievement, &d);  // name, description,
 *                                  // criteria, image, valid_for_days -> valid_until_ms
 *   in.learner_did = <registered DID or NULL>; in.learner_id = learner id;
 *   in.salt = NULL (random) or a stored per-learner salt;
 *   in.evidence = items; in.n_evidence = n;             // ids/urls that made the mastery
 *   in.revocation = (cred_status_t){list_url, index};   // index from statuslist_pick()
 *   cred_signed_t out;
 *   rc = cred_issue(ctx, &in, &signer, CRED_FORM_DI | CRED_FORM_JWT, &out, &d);
 *   // store out.json (canonical JSON text, with proof) and out.jwt; cred_signed_free(&out).
 *
 *   where signer = {ed25519 key, its vm id, NULL, NULL} for EdDSA JWTs, or
 *   {ed25519 key, vm, rsa key, rsa vm id} for RS256 ones. issuer_did() / issuer_vm_id()
 *   (issuer.h) give the DID and vm ids. RS256 needs a did:web issuer: a verifier finds RSA
 *   keys only in the DID document (did:key names Ed25519 keys alone).
 *   Sizes, for storage: the example badge (3 evidence items, one status entry) is ~2.3 KB of
 *   JSON and ~2.9 KB of JWT; each evidence item adds ~80-120 bytes.
 *
 * Every borrowed input pointer only needs to live for the call. No I/O; RAND_bytes only for
 * cred_urn_uuid_random() and a NULL salt. Thread safety: one cred_ctx_t and one signing
 * keys_t (see keys.h: keys_dup() per thread) per thread.
 */
#ifndef MASTERY_CRED_H
#define MASTERY_CRED_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keys.h"

#define CRED_CONTEXT_VC2  "https://www.w3.org/ns/credentials/v2"
#define CRED_CONTEXT_OB30 "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"

#define CRED_URN_UUID_MAX 46         /* "urn:uuid:" + 36 + NUL, with room */
#define CRED_SALT_MAX     65         /* random salts are 32 hex characters */
#define CRED_EVIDENCE_MAX 1000       /* evidence items listed in one credential */
#define CRED_TEXT_MAX     (1u << 20) /* largest document cred builds (bytes, canonical) */

/* The issuer Profile. id is required; the others may be NULL or "" (left out). */
typedef struct cred_issuer {
    const char *did; /* "did:key:z6Mk..." or "did:web:school.example" */
    const char *name;
    const char *url;
    const char *email;
    const char *image; /* an image URL or data: URI */
} cred_issuer_t;

/* One evidence item that contributed to the mastery. */
typedef struct cred_evidence {
    const char *id;        /* the evidence id (xAPI statement id ...); required */
    const char *url;       /* optional: a URL showing the evidence (becomes Evidence.id) */
    const char *narrative; /* optional */
} cred_evidence_t;

/* A BitstringStatusListEntry: list_url NULL means "no entry of this purpose". */
typedef struct cred_status {
    const char *list_url; /* the status list credential's URL */
    uint32_t index;       /* the credential's bit in that list */
} cred_status_t;

typedef struct cred_input {
    const char *id;         /* the credential id, "urn:uuid:..." (cred_urn_uuid_random()) */
    cred_issuer_t issuer;   /* issuer.did required */
    int64_t valid_from_ms;  /* Unix ms; also the proof's created time */
    int64_t valid_until_ms; /* 0: no expiry */

    /* The achievement. achievement_id NULL: built as
     * "urn:masteryd:achievement:" pct(framework_id) ":" pct(competency_id) ":" pct(version). */
    const char *achievement_id;
    const char *framework_id;      /* required unless achievement_id is given */
    const char *framework_version; /* may be NULL or "" */
    const char *competency_id;     /* required unless achievement_id is given */
    const char *competency_title;  /* the default name and alignment targetName */
    const char *name;              /* NULL: competency_title */
    const char *description;       /* NULL: name (the schema requires one) */
    const char *criteria;          /* criteria narrative; NULL: a sentence naming the badge */
    const char *criteria_url;      /* optional criteria.id */
    const char *image;             /* optional achievement image URL */
    const char *source_uri;        /* optional: the alignment targetUrl (CASE item uri) */
    bool source_is_case;           /* targetType "CFItem" instead of "ceasn:Competency" */

    /* The learner: learner_did when set (non-empty), else a salted hash of learner_id. */
    const char *learner_did;
    const char *learner_id;
    const char *salt;          /* NULL: 16 random bytes as hex */
    const char *identity_type; /* NULL: "identifier" (an OB 3.0 IdentifierTypeEnum value) */

    const cred_evidence_t *evidence; /* n_evidence items, at most CRED_EVIDENCE_MAX */
    size_t n_evidence;

    cred_status_t revocation; /* statusPurpose "revocation" */
    cred_status_t suspension; /* statusPurpose "suspension" */
} cred_input_t;

/* Which forms cred_issue() produces. */
#define CRED_FORM_DI  1 /* JSON with an eddsa-jcs-2022 proof */
#define CRED_FORM_JWT 2 /* VC-JWT */

/* The keys that sign. Borrowed for the call; their signing contexts are used. */
typedef struct cred_signer {
    keys_t *di_key;      /* Ed25519: the Data Integrity proof */
    const char *di_vm;   /* its verificationMethod ("did:key:z..#z.." or "did:web:..#id") */
    keys_t *jwt_key;     /* Ed25519 (EdDSA) or RSA (RS256); NULL: di_key */
    const char *jwt_kid; /* the JWT header kid; NULL: di_vm */
} cred_signer_t;

/* The issued forms. Caller owns both strings; free with cred_signed_free(). */
typedef struct cred_signed {
    char *json; /* canonical (RFC 8785) JSON text with "proof": [...]; NULL if not asked */
    size_t json_len;
    char *jwt; /* compact JWS; NULL if not asked */
    size_t jwt_len;
} cred_signed_t;

/* Reusable scratch state (buffers) for the hot path. Opaque. */
typedef struct cred_ctx cred_ctx_t;

/* Creates a context. Caller owns *out; free with cred_ctx_destroy(). @return 0; ERR_NOMEM. */
int cred_ctx_new(cred_ctx_t **out);

/* Frees *ctx and sets it to NULL. Safe with NULL or *ctx NULL. */
void cred_ctx_destroy(cred_ctx_t **ctx);

/* Sets every field of *in to zero/NULL (no status, no expiry). */
void cred_input_init(cred_input_t *in);

/*
 * Formats 16 bytes as "urn:uuid:xxxxxxxx-xxxx-4xxx-Yxxx-xxxxxxxxxxxx", setting the version
 * (4) and variant (10xx) bits (RFC 9562 random UUID).
 * @param[in]  rnd 16 random bytes. Borrowed.
 * @param[out] out receives the NUL-terminated URN; cap >= CRED_URN_UUID_MAX.
 * @return 0; ERR_LIMIT (cap too small).
 */
int cred_urn_uuid(const uint8_t rnd[16], char *out, size_t cap);

/* As cred_urn_uuid() with 16 bytes from RAND_bytes. @return 0; ERR_LIMIT; ERR_INTERNAL. */
int cred_urn_uuid_random(char *out, size_t cap);

/*
 * Fills the achievement fields of *in from a framework competency's "achievement" object:
 *   name (string), description (string), criteria (a narrative string, or {"narrative"?,
 *   "id"?}), image (a URL string, or {"id"}), id (string: the achievement id),
 *   valid_for_days (integer 1..36500: valid_until_ms = valid_from_ms + days * 86400000, so
 *   set valid_from_ms first). Members of another type are refused; unknown members ignored.
 * @param[in,out] in          the input. Its pointers then borrow from achievement.
 * @param[in]     achievement the object. Borrowed; must outlive every use of *in.
 *                            NULL leaves *in unchanged.
 * @return 0; ERR_INVALID (field names the member, e.g. "achievement.valid_for_days").
 */
int cred_input_from_achievement(cred_input_t *in, const json_t *achievement, err_detail_t *d);

/*
 * Builds the unsecured credential (no proof).
 * @param[in]  in  the input. Borrowed.
 * @param[out] out the document. Caller owns the result; free with json_decref().
 * @return 0; ERR_INVALID (a required field missing or empty, a string not UTF-8, a time out
 *         of range, valid_until before valid_from, too many evidence items; field names it);
 *         ERR_NOMEM; ERR_INTERNAL (no randomness for the salt).
 */
int cred_build(const cred_input_t *in, json_t **out, err_detail_t *d);

/*
 * Fills an issuer Profile object as cred_build() writes it: {"id", "type": ["Profile"],
 * "name"?, "url"?, "email"?, "image"?}. Shared with clr (the transcript names the same issuer).
 * @param[in,out] issuer an empty JSON object. Borrowed; members are added.
 * @return 0; ERR_INVALID (no DID, text not UTF-8; field names it); ERR_NOMEM.
 */
int cred_issuer_profile(const cred_issuer_t *issuer_in, json_t *issuer, err_detail_t *d);

/*
 * Adds the learner to a subject object as cred_build() does: "id" = in->learner_did, or
 * "identifier": [one hashed IdentityObject of in->learner_id with in->salt (NULL: random)].
 * Only learner_did, learner_id, salt and identity_type of *in are read.
 * @return 0; ERR_INVALID (neither a DID nor an id); ERR_NOMEM; ERR_INTERNAL (no randomness).
 */
int cred_subject_identity(const cred_input_t *in, json_t *subj, err_detail_t *d);

/*
 * Adds an eddsa-jcs-2022 DataIntegrityProof as "proof": [ {...} ] (replacing any proof),
 * with proofPurpose assertionMethod and created = created_ms (whole seconds, UTC).
 * Same bytes as dataint_proof_create(), hashed through ctx's reused buffer.
 * @param[in,out] ctx the scratch context.
 * @param[in,out] doc the unsecured document. Borrowed; modified.
 * @param[in]     key an Ed25519 key pair. Borrowed. vm: its verification method id.
 * @return 0; ERR_INVALID (bad key or document); ERR_LIMIT; ERR_NOMEM; ERR_INTERNAL.
 */
int cred_sign_di(cred_ctx_t *ctx, json_t *doc, keys_t *key, const char *vm, int64_t created_ms,
                 err_detail_t *d);

/*
 * Signs the VC-JWT form of an unsecured credential: claims iss (issuer id), jti (id), nbf
 * (validFrom, seconds), exp (validUntil, when present), sub (credentialSubject.id, when
 * present), iat (= nbf) and vc (the credential without any proof). EdDSA for an Ed25519
 * key, RS256 for an RSA key.
 * @param[in]  doc the credential. Borrowed; any "proof" member is left out of vc.
 * @param[out] out the token. Caller owns the result; free with free(). len optional.
 * @return 0; ERR_INVALID (doc lacks id/issuer/validFrom or has an unparseable time);
 *         ERR_LIMIT; ERR_NOMEM; ERR_INTERNAL.
 */
int cred_sign_jwt(const json_t *doc, keys_t *key, const char *kid, char **out, size_t *len,
                  err_detail_t *d);

/*
 * Canonical (RFC 8785) JSON text of doc, through ctx's buffer.
 * @param[out] out Caller owns the result; free with free().
 * @return 0; ERR_INVALID; ERR_LIMIT (beyond CRED_TEXT_MAX); ERR_NOMEM.
 */
int cred_text(cred_ctx_t *ctx, const json_t *doc, char **out, size_t *len, err_detail_t *d);

/*
 * The whole issuance: cred_build(), then per forms cred_sign_di() + cred_text() and
 * cred_sign_jwt().
 * @param[out] out zeroed first; on success holds the asked forms (caller frees with
 *                 cred_signed_free()); on failure holds nothing.
 * @param[out] doc_out optional: the secured document. Caller owns it (json_decref()).
 * @return as the functions it calls.
 */
int cred_issue(cred_ctx_t *ctx, const cred_input_t *in, const cred_signer_t *signer, int forms,
               cred_signed_t *out, json_t **doc_out, err_detail_t *d);

/* Frees the strings of *s and zeroes it. Safe to call twice. */
void cred_signed_free(cred_signed_t *s);

/*
 * The IdentityHash of id with salt: "sha256$" + 64 lowercase hex digits of
 * SHA-256(id || salt). out: cap >= 72.
 * @return 0; ERR_LIMIT.
 */
int cred_identity_hash(const char *id, const char *salt, char *out, size_t cap);

#endif
