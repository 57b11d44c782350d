/*
 * jws: compact JWS (RFC 7515) and VC-JWT tokens, signed with EdDSA (Ed25519, RFC 8037) or
 * RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518).
 *
 * Signing writes the header {"alg":...,"kid":...,"typ":"JWT"} and the claims in canonical
 * (RFC 8785) form, so a token is reproducible. Verification is strict: exactly three
 * base64url segments without padding, a JSON object header without duplicate names, alg
 * "EdDSA" or "RS256" matching the key ("none" and every other alg are refused, whatever the
 * key), no "crit" extensions, then the signature over the first two segments.
 *
 * No I/O. Thread safety: as for the keys_t passed in (see keys.h); otherwise reentrant.
 */
#ifndef MASTERY_JWS_H
#define MASTERY_JWS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keys.h"

/* Longest token accepted by the verifier (bytes). */
#define JWS_MAX_TOKEN (1u << 20)

/*
 * Signs claims as a compact JWS (a JWT).
 * @param[in]  claims a JSON object (for a VC-JWT: iss, sub, nbf, jti, vc ...). Borrowed.
 * @param[in]  key    a key pair: Ed25519 signs "EdDSA", RSA signs "RS256". Borrowed; its
 *                    signing context is used.
 * @param[in]  kid    the header's kid (e.g. a verification method id), or NULL for none.
 * @param[out] out    the token, NUL-terminated. Caller owns the result; free with free().
 * @param[out] len    optional: its length.
 * @return 0; ERR_INVALID (claims not an object or not serialisable; a public-only key);
 *         ERR_LIMIT (token longer than JWS_MAX_TOKEN); ERR_NOMEM; ERR_INTERNAL.
 */
int jws_sign(const json_t *claims, keys_t *key, const char *kid, char **out, size_t *len,
             err_detail_t *d);

/*
 * Parses a token's header WITHOUT verifying anything, so the caller can pick the key named
 * by kid. Nothing in it may be trusted until jws_verify*() succeeds.
 * @param[out] header Caller owns the result; free with json_decref().
 * @return 0; ERR_INVALID (not three segments, bad base64url, header not a JSON object);
 *         ERR_LIMIT (token too long); ERR_NOMEM.
 */
int jws_peek_header(const char *token, size_t len, json_t **header, err_detail_t *d);

/*
 * Verifies a compact JWS and returns its payload bytes.
 * @param[in]  token   the token (need not be NUL-terminated). Borrowed.
 * @param[in]  key     the public key the caller trusts for this token. Borrowed.
 * @param[out] header  optional: the header. Caller owns the result; free with json_decref().
 * @param[out] payload the payload bytes (NUL-terminated for convenience). Caller owns the
 *                     result; free with free().
 * @param[out] payload_len its length.
 * @return 0 (valid); ERR_INVALID (malformed token, alg "none" or unknown, "crit" present;
 *         field names the part: "token", "header", "alg", "crit", "signature", "payload");
 *         ERR_UNAUTHENTICATED (alg does not match the key, or the signature does not verify);
 *         ERR_LIMIT; ERR_NOMEM; ERR_INTERNAL. Outputs are untouched on failure.
 */
int jws_verify_compact(const char *token, size_t len, keys_t *key, json_t **header,
                       uint8_t **payload, size_t *payload_len, err_detail_t *d);

/*
 * Verifies a JWT and parses its claims, which must be a JSON object.
 * @param[out] header optional, as jws_verify_compact().
 * @param[out] claims Caller owns the result; free with json_decref().
 * @return as jws_verify_compact(); also ERR_INVALID (field "payload") when the payload is not
 *         a JSON object.
 */
int jws_verify(const char *token, size_t len, keys_t *key, json_t **header, json_t **claims,
               err_detail_t *d);

#endif
