/*
 * clr: 1EdTech Comprehensive Learner Record 2.0 ClrCredential documents (a transcript), built
 * from a learner's signed achievement credentials. Pure: no I/O, no signing (the caller adds
 * the Data Integrity proof, eddsa-rdfc-2022 by default, as for badges).
 *
 * The document (every collection an array, as the 1EdTech CLR 2.0 JSON Schema wants):
 *
 *   {"@context": ["https://www.w3.org/ns/credentials/v2",
 *                 "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
 *                 "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
 *                 "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"],   (as 1EdTech's
 *                 own CLR 2.0 example: it defines 1EdTechJsonSchemaValidator2019)
 *    "id": "urn:uuid:...", "type": ["VerifiableCredential", "ClrCredential"],
 *    "name": ..., "description"?: ...,
 *    "issuer": the issuer Profile (cred_issuer_profile()),
 *    "validFrom": "YYYY-MM-DDThh:mm:ssZ",
 *    "credentialSubject": {"type": ["ClrSubject"],
 *        "id": <learner DID> or "identifier": [hashed IdentityObject] (cred_subject_identity(),
 *              never the raw learner id),
 *        "verifiableCredential": [<each signed achievement credential, unchanged>],
 *        "achievement": [<each distinct credentialSubject.achievement of them, by id>],
 *        "association"?: [{"type": "Association", "associationType": "precedes" | "isChildOf"
 *                          | ..., "sourceId": <achievement id>, "targetId": <achievement id>}]},
 *    "credentialSchema": [{"id": CLR_SCHEMA_URL, "type": "1EdTechJsonSchemaValidator2019"}]}
 *
 * The embedded credentials keep their own @context and proof: each verifies on its own, and
 * the ClrCredential's proof covers them all. In the CLR 2.0.1 context verifiableCredential is
 * a @set (not a @graph container), so their statements join the default graph; each embedded
 * proof stays in its own named graph.
 */
#ifndef MASTERY_CLR_H
#define MASTERY_CLR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cred.h"
#include "err.h"

#define CLR_CONTEXT        "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
#define CLR_CONTEXT_OB_EXT "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
#define CLR_SCHEMA_URL                                                                             \
    "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
#define CLR_CREDENTIALS_MAX 1000 /* embedded credentials in one transcript */

/* One association between two achievements (CLR 2.0 Association). */
typedef struct clr_association {
    const char *type;      /* an AssociationType: "precedes", "isChildOf", ... */
    const char *source_id; /* achievement ids, as the credentials name them */
    const char *target_id;
} clr_association_t;

typedef struct clr_input {
    const char *id;        /* "urn:uuid:..." */
    cred_issuer_t issuer;  /* issuer.did required */
    int64_t valid_from_ms; /* Unix ms; also the proof's created time */
    const char *name;      /* required: "Transcript of <school>" */
    const char *description;

    /* the learner: as cred_subject_identity() reads them */
    const char *learner_did;
    const char *learner_id;
    const char *salt; /* NULL: random */

    /* the signed achievement credentials (JSON objects with a proof), in the order listed;
     * borrowed, and copied into the document */
    const json_t *const *credentials;
    size_t n_credentials; /* 1..CLR_CREDENTIALS_MAX */

    const clr_association_t *associations; /* may be NULL when n_associations is 0 */
    size_t n_associations;
} clr_input_t;

/*
 * Builds the unsecured ClrCredential (no proof).
 * @param[in]  in  the input. Borrowed for the call.
 * @param[out] out the document. Caller owns the result; free with json_decref().
 * @return 0; ERR_INVALID (no credentials or more than CLR_CREDENTIALS_MAX, a credential that is
 *         not an object with a credentialSubject.achievement that has an id, an association
 *         naming an achievement not in the transcript, a missing id/name/issuer; the field
 *         names it, e.g. "credentials[2].credentialSubject.achievement.id"); ERR_NOMEM;
 *         ERR_INTERNAL (no randomness for the salt).
 */
int clr_build(const clr_input_t *in, json_t **out, err_detail_t *d);

#endif
