/*
 * logbundle: the log-proof bundle `mastery-verify --log-proof` reads (doc/log-format.md): a
 * badge as issued, the log's origin and verifier key, and the log entries that led to it,
 * each with its C2SP tlog-proof.
 *
 *   { "type": "MasterydLogProof", "version": 1,
 *     "credential": <the signed credential: JSON object, or a string for a VC-JWT>,
 *     "log": { "origin": "<checkpoint origin>", "verifier_key": "<note verifier key>" },
 *     "entries": [ { "index": 41, "entry": "<base64 of the entry bytes>",
 *                    "proof": "<c2sp.org/tlog-proof@v1 text>" } ] }
 *
 * The credential itself is checked by lib/vc verify (the caller); this module runs the log's
 * checks and reports each one. Outside input: parsed strictly, bounded in bytes and entries
 * (fuzz_logbundle). No I/O; thread-safe.
 */
#ifndef MASTERY_TLOG_LOGBUNDLE_H
#define MASTERY_TLOG_LOGBUNDLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "note.h"

#define LOGBUNDLE_MAX         (16u << 20) /* bytes of one bundle */
#define LOGBUNDLE_ENTRIES_MAX 4096
#define LOGBUNDLE_PROOF_MAX   (TLOG_NOTE_MAX + 8192) /* bytes of one tlog-proof text */

typedef struct logbundle_entry {
    uint64_t index;
    uint8_t *entry; /* the entry bytes; owned by the bundle */
    size_t entry_len;
    const char *proof; /* the tlog-proof text; borrowed from the bundle's JSON */
    size_t proof_len;
} logbundle_entry_t;

typedef struct logbundle {
    json_t *root;             /* owns everything below */
    const json_t *credential; /* the credential member: an object or a string (JWT) */
    char origin[TLOG_NAME_MAX + 1];
    tlog_verifier_t verifier; /* parsed from log.verifier_key */
    logbundle_entry_t *entries;
    size_t n;
} logbundle_t;

/*
 * Parses a bundle (len bytes of JSON, at most LOGBUNDLE_MAX). Strict: type and version as
 * above, a credential, log.origin a valid origin, log.verifier_key a valid verifier key string,
 * 1..LOGBUNDLE_ENTRIES_MAX entries each with an integer index >= 0, base64 entry bytes (at
 * most LOGENTRY_MAX) and a proof string (at most LOGBUNDLE_PROOF_MAX bytes); unknown members
 * are refused.
 * @param[out] b Caller frees with logbundle_free() (also after a failure).
 * @return 0; ERR_INVALID with a detail naming the member ("entries[2].entry"); ERR_NOMEM.
 */
int logbundle_parse(const char *text, size_t len, logbundle_t *b, err_detail_t *d);

/* Frees what *b holds and zeroes it. Safe to call twice. */
void logbundle_free(logbundle_t *b);

/*
 * The credential as the verifier reads it: a JSON object serialized (compact), or the JWT
 * string. Caller frees *out with free().
 * @return 0; ERR_NOMEM.
 */
int logbundle_credential_text(const logbundle_t *b, char **out, size_t *len);

/*
 * The credential document whose evidence is checked: the object itself, or a JWT's "vc"
 * claim (the payload is read, not verified: lib/vc verify checks the signature).
 * @param[out] out a new reference; json_decref(). NULL with ERR_INVALID when there is none.
 */
int logbundle_credential_doc(const logbundle_t *b, json_t **out);

/* One check's outcome: check name, ok or failed, a sentence for a person. */
typedef void (*logbundle_report_fn)(void *ctx, const char *check, bool ok, const char *detail);

/*
 * Runs the log's checks, reporting each (in order) through report:
 *   log_key       the bundle's verifier key is the credential's signer (signer, the raw
 *                 Ed25519 key that verified the credential's proof; NULL if none did) or one
 *                 of the keys given (keys[0..nkeys): --log-key); name and key hash included.
 *   log_entry     per entry: it decodes (logentry_decode).
 *   log_proof     per entry: its tlog-proof parses, has the entry's index, its checkpoint is
 *                 signed by the bundle's verifier key with the bundle's origin, and the
 *                 inclusion of tlog_leaf_hash(entry) verifies.
 *   log_evidence  the credential's evidence ids "urn:tlog:<index>:<64 lowercase hex leaf
 *                 hash>" and the bundle's entries name each other one for one.
 * @return the number of failed checks (0: the log part holds); ERR_NOMEM.
 */
int logbundle_check(const logbundle_t *b, const uint8_t *signer, const tlog_verifier_t *keys,
                    size_t nkeys, logbundle_report_fn report, void *ctx);

/*
 * Parses a badge evidence id "urn:tlog:<index>:<64 lowercase hex>" (strict: decimal without
 * leading zeros). @return 1 parsed; 0 not a urn:tlog: id; ERR_INVALID malformed.
 */
int logbundle_parse_urn(const char *id, uint64_t *index, tlog_hash_t *leaf);

#endif
