/*
 * issuer: the issuer's identity as DIDs. did:key (the default: the DID is the Ed25519 public
 * key itself) and did:web (the school's domain; the DID document, published by the school's
 * web server at https://<domain>/.well-known/did.json, lists every key, current and old).
 * Also the reverse direction for verifiers: which key a verification method id names, and
 * whether the issuer DID controls it for assertionMethod.
 *
 * Verification method ids:
 *   did:key  "did:key:z6Mk...#z6Mk..." (keys_vm_id()).
 *   did:web  "did:web:<domain>#<key id>", the key id being the RFC 7638 JWK thumbprint
 *            (keys_id()), the same for Ed25519 and RSA keys; the JWT kid is this id too.
 *
 * The DID document (issuer_did_document()):
 *   {"@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1",
 *                 "https://w3id.org/security/jwk/v1"],
 *    "id": "did:web:<domain>",
 *    "verificationMethod": [
 *       {"id": "did:web:..#<kid>", "type": "Multikey", "controller": "did:web:..",
 *        "publicKeyMultibase": "z6Mk..."}                      (each Ed25519 key)
 *       {"id": "did:web:..#<kid>", "type": "JsonWebKey", "controller": "did:web:..",
 *        "publicKeyJwk": {"kty": "RSA", "n": .., "e": ..}}     (each RSA key)
 *    ],
 *    "assertionMethod": ["did:web:..#<kid>", ...]}          (every key, current and old)
 *
 * Pure: no I/O (the caller reads and writes files).
 */
#ifndef MASTERY_ISSUER_H
#define MASTERY_ISSUER_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "keys.h"

#define ISSUER_DID_MAX    512 /* a did:web DID */
#define ISSUER_VM_ID_MAX  600 /* a did:web DID + "#" + 43-character key id */
#define ISSUER_DOMAIN_MAX 253

/*
 * The did:web DID for a domain: "school.example" -> "did:web:school.example"; a port is
 * percent-encoded ("host:8443" -> "did:web:host%3A8443"); path segments become ':'
 * ("school.example/issuers/1" -> "did:web:school.example:issuers:1").
 * @param[in]  domain host[:port][/path], letters, digits, '-', '.', '_', '~' only in names.
 * @param[out] out    NUL-terminated; cap >= ISSUER_DID_MAX suffices.
 * @return 0; ERR_INVALID (empty, over-long or bad characters); ERR_LIMIT (cap too small).
 */
int issuer_did_web(const char *domain, char *out, size_t cap, err_detail_t *d);

/*
 * The issuer DID for a key: did:key of k when did_web is NULL or "", else did_web itself.
 * @return 0; ERR_INVALID (did:key needs an Ed25519 key); ERR_LIMIT.
 */
int issuer_did(const keys_t *k, const char *did_web, char *out, size_t cap);

/*
 * The verification method id (and JWT kid) of k under the issuer DID: the did:key form when
 * did_web is NULL or "" (Ed25519 only), else did_web + "#" + keys_id(k).
 * @return 0; ERR_INVALID (an RSA key has no did:key form); ERR_LIMIT; ERR_INTERNAL.
 */
int issuer_vm_id(const keys_t *k, const char *did_web, char *out, size_t cap);

/*
 * Builds the did:web DID document listing keys[0..n-1] (current and old; Ed25519 and RSA)
 * under verificationMethod and assertionMethod.
 * @param[in]  did_web the DID ("did:web:..."). Borrowed.
 * @param[in]  keys    public or private keys; only public parts are used. Borrowed.
 * @param[out] out     Caller owns the result; free with json_decref().
 * @return 0; ERR_INVALID (did not did:web, n == 0); ERR_NOMEM; ERR_INTERNAL.
 */
int issuer_did_document(const char *did_web, const keys_t *const *keys, size_t n, json_t **out,
                        err_detail_t *d);

/*
 * Resolves the key a verification method names, checking that issuer_did controls it for
 * assertionMethod:
 *   did:key: vm must be issuer_did + "#" + the same multibase key (the key is the DID).
 *   did:web: did_doc (required) must have id == issuer_did; vm must start with issuer_did +
 *            "#", appear in verificationMethod (ids may be relative "#x") with controller
 *            issuer_did, be listed (by id or embedded) under assertionMethod, and carry
 *            publicKeyMultibase (Ed25519 Multikey) or publicKeyJwk.
 *   any other DID method: ERR_INVALID "unknown DID method".
 * @param[in]  issuer_did the credential's issuer id. Borrowed.
 * @param[in]  vm         the proof's verificationMethod or the JWT kid. Borrowed.
 * @param[in]  did_doc    the did:web DID document, or NULL. Borrowed.
 * @param[out] out        the public key. Caller owns the result; free with keys_destroy().
 * @return 0; ERR_INVALID (unknown method, malformed vm or document; field names it);
 *         ERR_UNAUTHENTICATED (the issuer does not control the key, or not for
 *         assertionMethod); ERR_NOT_FOUND (did:web without a matching document, or the vm is
 *         not in it); ERR_NOMEM; ERR_INTERNAL.
 */
int issuer_resolve_key(const char *issuer_did, const char *vm, const json_t *did_doc, keys_t **out,
                       err_detail_t *d);

#endif
