/*
 * statuslist: W3C Bitstring Status List v1.0 (revocation and suspension of credentials).
 *
 * A status list is a bitstring of at least STATUSLIST_MIN_BITS entries (131 072, the spec's
 * minimum for herd privacy). Bit i is bit (7 - i % 8) of byte i / 8: index 0 is the most
 * significant bit of the first byte. A set bit means the status (revoked, suspended) holds.
 * The published form, encodedList, is multibase "u" + base64url (no padding) of the
 * GZIP-compressed (RFC 1952) bitstring. The list is published as a
 * BitstringStatusListCredential:
 *
 *   {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": <list url>,
 *    "type": ["VerifiableCredential", "BitstringStatusListCredential"], "issuer": <DID>,
 *    "validFrom": ..., "validUntil"?: ...,
 *    "credentialSubject": {"id": <list url>#list, "type": "BitstringStatusList",
 *                          "statusPurpose": "revocation" | "suspension",
 *                          "encodedList": "uH4sI..."}}
 *
 * signed with cred_sign_di() (eddsa-jcs-2022) by the same key that signs the credentials.
 * The same statuslist_t type serves as the issuer's "used indexes" bitmap, from which
 * statuslist_pick() draws a random free index (uniform, RAND_bytes) for a new credential.
 *
 * HOW THE DAEMON USES IT (a suggestion that keeps storage small):
 *   - keep three raw bitstrings per list number in LMDB (statuslist_bytes() /
 *     statuslist_from_bytes(), 16 KiB each): "used", "revocation", "suspension";
 *   - on issuance: statuslist_pick(used) -> i; set used[i]; give the credential
 *     revocation = {<base>/revocation/<n>, i} and suspension = {<base>/suspension/<n>, i}
 *     (one index in both lists; herd privacy is the same) in the same transaction that stores
 *     it; when statuslist_pick() says ERR_LIMIT, start list n + 1;
 *   - revoke / suspend / unsuspend: statuslist_set() on that purpose's bits (idempotent);
 *   - export: statuslist_credential() with valid_from = now, then cred_sign_di() with the
 *     current key and cred_text() for the file the school's web server publishes at the URL.
 *
 * No I/O. A statuslist_t is not thread-safe; distinct lists may be used concurrently.
 */
#ifndef MASTERY_STATUSLIST_H
#define MASTERY_STATUSLIST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define STATUSLIST_MIN_BITS    131072u     /* 16 KiB */
#define STATUSLIST_MAX_BITS    (1u << 26)  /* 8 MiB: the most any list may hold */
#define STATUSLIST_ENCODED_MAX (16u << 20) /* longest encodedList text accepted */

typedef struct statuslist statuslist_t;

/*
 * Creates a list of nbits zero bits.
 * @param[in]  nbits a multiple of 8 from STATUSLIST_MIN_BITS to STATUSLIST_MAX_BITS.
 * @param[out] out   Caller owns the result; free with statuslist_destroy().
 * @return 0; ERR_INVALID (nbits out of range or not a multiple of 8); ERR_NOMEM.
 */
int statuslist_new(uint32_t nbits, statuslist_t **out);

/* Frees *l and sets it to NULL. Safe with NULL or *l NULL. */
void statuslist_destroy(statuslist_t **l);

/* The number of entries (bits). */
uint32_t statuslist_size(const statuslist_t *l);

/* Sets bit index to value. @return 0; ERR_INVALID (index >= size). */
int statuslist_set(statuslist_t *l, uint32_t index, bool value);

/* Reads bit index into *value. @return 0; ERR_INVALID (index >= size). */
int statuslist_get(const statuslist_t *l, uint32_t index, bool *value);

/* The number of set bits. */
uint32_t statuslist_count(const statuslist_t *l);

/* The raw bitstring (size / 8 bytes). Borrowed; valid until the list changes or is freed. */
const uint8_t *statuslist_bytes(const statuslist_t *l, size_t *len);

/*
 * A list from raw bytes (for storage: the daemon may keep the raw bitstring in LMDB).
 * @param[in] bytes len bytes, len * 8 within the limits of statuslist_new(). Borrowed.
 * @return 0; ERR_INVALID; ERR_NOMEM. Caller owns *out.
 */
int statuslist_from_bytes(const uint8_t *bytes, size_t len, statuslist_t **out);

/*
 * Encodes the list as encodedList: "u" + base64url(gzip(bitstring)).
 * @param[out] out NUL-terminated text. Caller owns the result; free with free().
 * @param[out] len optional: its length.
 * @return 0; ERR_NOMEM; ERR_INTERNAL (zlib failed).
 */
int statuslist_encode(const statuslist_t *l, char **out, size_t *len, err_detail_t *d);

/*
 * Decodes an encodedList. Untrusted input: the decompressed size is bounded by max_bits
 * (a "gzip bomb" that inflates past it is refused without inflating the rest).
 * @param[in]  text     the encodedList (need not be NUL-terminated). Borrowed.
 * @param[in]  max_bits the largest list accepted (<= STATUSLIST_MAX_BITS; 0: that maximum).
 * @param[out] out      Caller owns the result; free with statuslist_destroy().
 * @return 0; ERR_INVALID (not "u" + base64url, not gzip, corrupt, trailing bytes, shorter
 *         than STATUSLIST_MIN_BITS; field "encodedList"); ERR_LIMIT (larger than max_bits or
 *         text longer than STATUSLIST_ENCODED_MAX); ERR_NOMEM.
 */
int statuslist_decode(const char *text, size_t len, uint32_t max_bits, statuslist_t **out,
                      err_detail_t *d);

/*
 * Picks an index whose bit is 0 in used, uniformly at random among the free ones
 * (RAND_bytes), and does NOT set it (the caller sets it when the credential is stored).
 * @return 0; ERR_LIMIT (every index is used: start a new list); ERR_INTERNAL (no randomness).
 */
int statuslist_pick(const statuslist_t *used, uint32_t *index, err_detail_t *d);

/*
 * As statuslist_pick(), among the indexes below limit only (0 or more than the size: all):
 * a list that holds fewer entries than its bitstring (the bitstring stays at least
 * STATUSLIST_MIN_BITS long, as published) fills at limit.
 * @return 0; ERR_LIMIT (every index below limit is used); ERR_INTERNAL (no randomness).
 */
int statuslist_pick_below(const statuslist_t *used, uint32_t limit, uint32_t *index,
                          err_detail_t *d);

/* What the status list credential says besides its bits. Borrowed for the call. */
typedef struct statuslist_cred {
    const char *url;        /* the list's URL: credential id; subject id is url + "#list" */
    const char *issuer_did; /* the issuer (the same DID as the credentials') */
    const char *purpose;    /* "revocation" or "suspension" */
    int64_t valid_from_ms;  /* when this version of the list was made */
    int64_t valid_until_ms; /* 0: none (verifiers may cache a list until then) */
} statuslist_cred_t;

/*
 * Builds the unsigned BitstringStatusListCredential for l; sign it with cred_sign_di().
 * @param[out] out Caller owns the result; free with json_decref().
 * @return 0; ERR_INVALID (missing url/issuer, purpose not revocation/suspension, bad time);
 *         ERR_NOMEM; ERR_INTERNAL.
 */
int statuslist_credential(const statuslist_t *l, const statuslist_cred_t *c, json_t **out,
                          err_detail_t *d);

#endif
