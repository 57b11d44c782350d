/*
 * receipt: checks a masteryd erasure receipt offline (mastery-verify --erasure-receipt): the
 * W3C VC 2.0 "ErasureReceipt" the daemon signs when it erases a learner (issue 16).
 *
 *   {"@context": ["https://www.w3.org/ns/credentials/v2"],
 *    "type": ["VerifiableCredential", "ErasureReceipt"], "id": "urn:uuid:...",
 *    "issuer": "<DID>", "validFrom": "<RFC 3339>",
 *    "credentialSubject": {"type": "LearnerErasure",
 *      "learnerCommitment": "<hex SHA-256(salt || learner id UTF-8)>",
 *      "commitmentSalt": "<hex of 32 bytes>", "requestRef": "...", "reason": "...",
 *      "erasedAt": "<RFC 3339>",
 *      "scope": {"evidence": N, "records": N, "credentialsRevoked": N, "credentialsKept": N},
 *      "log": {"origin": "...", "index": N, "leafHash": "<hex>"}},
 *    "proof": {DataIntegrityProof, eddsa-jcs-2022, assertionMethod}}
 *
 * Checks, each reported by name as verify.h reports a badge's (same result shape, so
 * mastery-verify prints both alike):
 *   format, parse   a JSON object within VERIFY_MAX_INPUT bytes.
 *   structure       @context starts with the VC 2.0 context; type has VerifiableCredential
 *                   and ErasureReceipt; id a urn:uuid:; issuer a DID string.
 *   receipt_shape   credentialSubject as above: type LearnerErasure, the commitment and salt
 *                   64 hex digits each, erasedAt RFC 3339, scope's four counts non-negative
 *                   integers, log's origin a string, index a non-negative integer, leafHash 64
 *                   hex digits; requestRef and reason strings when present. Each problem is a
 *                   reason naming the field (credentialSubject.scope.records).
 *   proof_purpose, issuer_key, proof   as for a badge: every proof DataIntegrityProof /
 *                   eddsa-jcs-2022 / assertionMethod, the key resolved from the issuer's DID
 *                   (did:key, or did:web through the DID document given), the signature.
 *   trust           as for a badge (an issuer outside a given trust list fails).
 *   valid_from      validFrom is RFC 3339 and not after now.
 *   learner         with in->learner: SHA-256(salt bytes || learner id) equals
 *                   learnerCommitment ("ok" / "failed"); without, "unchecked".
 *
 * res->credential holds {"id", "type": "ErasureReceipt", "erasedAt", "requestRef",
 * "learnerCommitment", "log": {origin, index, leafHash}} as the receipt states them;
 * res->issuer {"id"}. has_signer/signer: the key that verified the proof (for a log check).
 * No I/O. Thread-safe (no shared state).
 */
#ifndef MASTERY_RECEIPT_H
#define MASTERY_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "verify.h"

#define RECEIPT_TYPE         "ErasureReceipt"
#define RECEIPT_SUBJECT_TYPE "LearnerErasure"
#define RECEIPT_SALT_LEN     32

typedef struct receipt_input {
    verify_blob_t receipt;              /* the receipt's JSON text */
    verify_blob_t did_document;         /* the issuer's did:web DID document; data NULL: none */
    const verify_blob_t *did_documents; /* more (a trust file's), matched by id */
    size_t n_did_documents;
    const char *const *trusted; /* issuer DIDs the verifier accepts; borrowed */
    size_t n_trusted;
    bool trust_given;
    const char *learner; /* the learner id to check the commitment against, or NULL */
    int64_t now_ms;
} receipt_input_t;

/*
 * Verifies in->receipt. Every pointer in in is borrowed for the call.
 * @param[out] res filled on return 0 (valid or not); caller frees with verify_result_free().
 * @return 0; ERR_NOMEM.
 */
int receipt_verify(const receipt_input_t *in, verify_result_t *res);

/*
 * The commitment to a learner id: lowercase hex of SHA-256(salt || id) into out (65 bytes
 * with the NUL). @return 0; ERR_INTERNAL (the digest failed).
 */
int receipt_commitment(const uint8_t salt[RECEIPT_SALT_LEN], const char *id, size_t id_len,
                       char out[65]);

#endif
