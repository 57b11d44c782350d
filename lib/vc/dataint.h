/*
 * dataint: W3C Data Integrity proofs with the eddsa-jcs-2022 cryptosuite (W3C "Data Integrity
 * EdDSA Cryptosuites v1.0", section 3.3).
 *
 * A proof signs SHA-256(JCS(proofConfig)) || SHA-256(JCS(document without proof)) with
 * Ed25519, where proofConfig is the proof options (type DataIntegrityProof, cryptosuite
 * eddsa-jcs-2022, created, verificationMethod, proofPurpose, ...) with the document's @context
 * copied in; proofValue is 'z' + base58btc of the 64-byte signature.
 *
 * This module does no I/O and no key resolution: the caller resolves verificationMethod to a
 * key (keys_from_did_key() for did:key) and decides which purposes and times it accepts.
 * Thread safety: as for the keys_t passed in (see keys.h); otherwise reentrant.
 */
#ifndef MASTERY_DATAINT_H
#define MASTERY_DATAINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "keys.h"

#define DATAINT_TYPE        "DataIntegrityProof"
#define DATAINT_CRYPTOSUITE "eddsa-jcs-2022"
#define DATAINT_HASH_LEN    64 /* proof config hash (32) then document hash (32) */

/*
 * The checks every Data Integrity proof's options share, whatever the cryptosuite (creation
 * and verification, without proofValue): a JSON object with type DataIntegrityProof, the
 * given cryptosuite, verificationMethod and proofPurpose strings, and created (if present) an
 * XML Schema dateTimeStamp with a time zone.
 * @return 0; ERR_INVALID (field names the offending option).
 */
int dataint_check_options(const json_t *options, const char *cryptosuite, err_detail_t *d);

/*
 * What distinguishes one EdDSA Data Integrity cryptosuite from another: its name and how it
 * computes hashData (SHA-256 of the canonical proof configuration, then of the canonical
 * document). Verification is otherwise the same, so both suites share dataint_verify_suite().
 */
typedef int (*dataint_hash_fn)(void *ctx, const json_t *document, const json_t *config,
                               uint8_t hash[DATAINT_HASH_LEN], err_detail_t *d);

typedef struct dataint_suite {
    const char *cryptosuite; /* "eddsa-jcs-2022", "eddsa-rdfc-2022" */
    dataint_hash_fn hash;
    void *ctx; /* passed to hash (e.g. a JSON-LD processor); borrowed */
} dataint_suite_t;

/*
 * Verifies a secured document's proof (one object, or a proof set of which one member of this
 * cryptosuite verifying with key suffices), as dataint_proof_verify() does for jcs.
 */
int dataint_verify_suite(const dataint_suite_t *suite, const json_t *secured, keys_t *key,
                         const json_t **verified, err_detail_t *d);

/* Whether the document's @context (an array, or a single value) begins with the proof's
 * @context values, in order: a proof that carries @context must be read in the document's. */
bool dataint_context_prefix(const json_t *doc_ctx, const json_t *proof_ctx);

/*
 * Builds the proof configuration: a copy of options with the document's @context (if any).
 * Checks that options has type DataIntegrityProof, cryptosuite eddsa-jcs-2022, a
 * verificationMethod and proofPurpose string, no proofValue, and that created (if present)
 * is an XML Schema dateTimeStamp (with a time zone).
 * @param[in]  document the unsecured document (a JSON object). Borrowed.
 * @param[in]  options  the proof options (a JSON object). Borrowed.
 * @param[out] config   Caller owns the result; free with json_decref(). It shares member
 *                      values with options and document: do not modify them through it.
 * @return 0; ERR_INVALID (field names the offending option); ERR_NOMEM.
 */
int dataint_proof_config(const json_t *document, const json_t *options, json_t **config,
                         err_detail_t *d);

/*
 * Computes hashData: SHA-256(JCS(config)) || SHA-256(JCS(document)).
 * @param[in]  document the unsecured document (any "proof" member is ignored). Borrowed.
 * @param[in]  config   a proof configuration from dataint_proof_config(). Borrowed.
 * @param[out] hash     64 bytes.
 * @return 0; ERR_INVALID (not canonicalisable); ERR_LIMIT; ERR_NOMEM.
 */
int dataint_hash_data(const json_t *document, const json_t *config, uint8_t hash[DATAINT_HASH_LEN],
                      err_detail_t *d);

/*
 * Creates a proof for an unsecured document.
 * @param[in]  document the unsecured document (object; a "proof" member, if any, is not
 *                      signed). Borrowed.
 * @param[in]  options  the proof options, as for dataint_proof_config(). Borrowed.
 * @param[in]  key      an Ed25519 key pair. Borrowed; its signing context is used.
 * @param[out] proof    the proof: the options, the document's @context, and proofValue.
 *                      Caller owns the result; free with json_decref().
 * @return 0; ERR_INVALID (bad options or document; a non-Ed25519 or public-only key);
 *         ERR_LIMIT; ERR_NOMEM; ERR_INTERNAL.
 */
int dataint_proof_create(const json_t *document, const json_t *options, keys_t *key, json_t **proof,
                         err_detail_t *d);

/*
 * Creates a proof and stores it in document as "proof" (replacing any proof member).
 * @param[in,out] document the document to secure. Borrowed; modified.
 * Other parameters and errors as dataint_proof_create().
 */
int dataint_sign(json_t *document, const json_t *options, keys_t *key, err_detail_t *d);

/*
 * Verifies a secured document's eddsa-jcs-2022 proof with a public key the caller resolved.
 * "proof" may be one object or an array (a proof set): then every DataIntegrityProof /
 * eddsa-jcs-2022 member is tried and one that verifies with key suffices. Each proof covers
 * the document without its "proof" member. If a proof carries @context, the document's
 * @context must begin with the same values in the same order.
 * @param[in]  secured  the secured document. Borrowed.
 * @param[in]  key      an Ed25519 key (public suffices). Borrowed; its verify context is used.
 * @param[out] verified optional: the proof that verified. Borrowed; valid while secured is
 *                      alive and unmodified.
 * @return 0 (verified); ERR_INVALID (no proof, malformed proof or proofValue, not
 *         eddsa-jcs-2022, document not canonicalisable; field names it);
 *         ERR_UNAUTHENTICATED (the signature does not verify with key, or the @context check
 *         failed); ERR_NOMEM; ERR_INTERNAL.
 */
int dataint_proof_verify(const json_t *secured, keys_t *key, const json_t **verified,
                         err_detail_t *d);

#endif
