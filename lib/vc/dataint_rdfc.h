/*
 * dataint_rdfc: W3C Data Integrity proofs with the eddsa-rdfc-2022 cryptosuite (W3C "Data
 * Integrity EdDSA Cryptosuites v1.0", section 3.2).
 *
 * A proof signs SHA-256(canon(proofConfig)) || SHA-256(canon(document without proof)) with
 * Ed25519, where canon() is JSON-LD toRdf (jsonld.h, safe mode) followed by RDFC-1.0
 * canonicalization (rdfc.h) to canonical N-Quads (the quads go from one to the other as a
 * dataset, never as text), and proofConfig is the proof options (type
 * DataIntegrityProof, cryptosuite eddsa-rdfc-2022, created, verificationMethod, proofPurpose,
 * ...) with the document's @context. The proof added to the document is the options plus
 * proofValue ('z' + base58btc of the 64-byte signature), without @context.
 *
 * Only the contexts jsonld.h knows can be used; an unknown context, or data JSON-LD would
 * drop, is ERR_INVALID (the detail names the JSON path). No I/O and no key resolution: the
 * caller resolves verificationMethod to a key (keys_from_did_key() for did:key) and decides
 * which purposes and times it accepts.
 *
 * Thread safety: a jsonld_t and a keys_t must not be shared between concurrent calls (give
 * each thread its own jsonld_new() and keys_dup()); otherwise reentrant.
 */
#ifndef MASTERY_DATAINT_RDFC_H
#define MASTERY_DATAINT_RDFC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "jsonld.h"
#include "keys.h"

#define DATAINT_RDFC_TYPE        "DataIntegrityProof"
#define DATAINT_RDFC_CRYPTOSUITE "eddsa-rdfc-2022"
#define DATAINT_RDFC_HASH_LEN    64 /* proof config hash (32) then document hash (32) */

/*
 * The canonical N-Quads of a JSON-LD document: toRdf, then RDFC-1.0 with SHA-256.
 * @param[in]  jl  a JSON-LD processor (its context cache is used). Borrowed.
 * @param[in]  doc the document. Borrowed; any "proof" member is converted like the rest.
 * @param[out] out the canonical N-Quads, NUL-terminated. Caller owns it; free with free().
 * @param[out] len its length (may be NULL).
 * @return 0; ERR_INVALID (not convertible: unknown context, undefined term, ...; detail names
 *         the JSON path); ERR_LIMIT (a size or canonicalization work limit); ERR_NOMEM;
 *         ERR_INTERNAL.
 */
int dataint_rdfc_canonize(jsonld_t *jl, const json_t *doc, char **out, size_t *len,
                          err_detail_t *d);

/*
 * Builds the proof configuration: a copy of options with the document's @context (if any).
 * Checks that options has type DataIntegrityProof, cryptosuite eddsa-rdfc-2022, a
 * verificationMethod and proofPurpose string, no proofValue, and that created (if present) is
 * an XML Schema dateTimeStamp (with a time zone).
 * @param[in]  document the unsecured document (a JSON object). Borrowed.
 * @param[in]  options  the proof options (a JSON object). Borrowed.
 * @param[out] config   Caller owns the result; free with json_decref(). It shares member
 *                      values with options and document: do not modify them through it.
 * @return 0; ERR_INVALID (field names the offending option); ERR_NOMEM.
 */
int dataint_rdfc_proof_config(const json_t *document, const json_t *options, json_t **config,
                              err_detail_t *d);

/*
 * Computes hashData: SHA-256(canon(config)) || SHA-256(canon(document without "proof")).
 * @param[in]  jl       a JSON-LD processor. Borrowed.
 * @param[in]  document the unsecured document (any "proof" member is ignored). Borrowed.
 * @param[in]  config   a proof configuration from dataint_rdfc_proof_config(). Borrowed.
 * @param[out] hash     64 bytes.
 * @return as dataint_rdfc_canonize().
 */
int dataint_rdfc_hash_data(jsonld_t *jl, const json_t *document, const json_t *config,
                           uint8_t hash[DATAINT_RDFC_HASH_LEN], err_detail_t *d);

/*
 * Creates a proof for an unsecured document.
 * @param[in]  jl       a JSON-LD processor. Borrowed.
 * @param[in]  document the unsecured document (object; a "proof" member, if any, is not
 *                      signed). Borrowed.
 * @param[in]  options  the proof options, as for dataint_rdfc_proof_config(). Borrowed.
 * @param[in]  key      an Ed25519 key pair. Borrowed; its signing context is used.
 * @param[out] proof    the proof: the options plus proofValue. Caller owns the result; free
 *                      with json_decref().
 * @return 0; ERR_INVALID (bad options or document; a non-Ed25519 or public-only key);
 *         ERR_LIMIT; ERR_NOMEM; ERR_INTERNAL.
 */
int dataint_rdfc_proof_create(jsonld_t *jl, const json_t *document, const json_t *options,
                              keys_t *key, json_t **proof, err_detail_t *d);

/*
 * Creates a proof and stores it in document as "proof" (replacing any proof member).
 * @param[in,out] document the document to secure. Borrowed; modified.
 * Other parameters and errors as dataint_rdfc_proof_create().
 */
int dataint_rdfc_sign(jsonld_t *jl, json_t *document, const json_t *options, keys_t *key,
                      err_detail_t *d);

/*
 * Verifies a secured document's eddsa-rdfc-2022 proof with a public key the caller resolved.
 * "proof" may be one object or an array (a proof set): then every DataIntegrityProof /
 * eddsa-rdfc-2022 member is tried and one that verifies with key suffices. Each proof covers
 * the document without its "proof" member. If a proof carries @context, the document's
 * @context must begin with the same values in the same order (and the proof's is used).
 * @param[in]  jl       a JSON-LD processor. Borrowed.
 * @param[in]  secured  the secured document. Borrowed.
 * @param[in]  key      an Ed25519 key (public suffices). Borrowed; its verify context is used.
 * @param[out] verified optional: the proof that verified. Borrowed; valid while secured is
 *                      alive and unmodified.
 * @return 0 (verified); ERR_INVALID (no proof, malformed proof or proofValue, not
 *         eddsa-rdfc-2022, document not convertible; field names it); ERR_UNAUTHENTICATED
 *         (the signature does not verify with key, or the @context check failed); ERR_LIMIT;
 *         ERR_NOMEM; ERR_INTERNAL.
 */
int dataint_rdfc_proof_verify(jsonld_t *jl, const json_t *secured, keys_t *key,
                              const json_t **verified, err_detail_t *d);

#endif
