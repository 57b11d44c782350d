/*
 * logentry: the public byte encoding of one transparency log entry (a leaf of the log; its
 * leaf hash is SHA-256(0x00 || these bytes)). A public format: doc/log-format.md describes it
 * for auditors; this header is its reference.
 *
 *   entry := version:u8 (= 1)  kind:u8  seq:u64  at_ms:i64  field*
 *   field := tag:u8  len:u16  value[len]      fields in strictly ascending tag order, each once
 *
 * All integers big-endian; at_ms (milliseconds since 1970, UTC) is signed. seq is the event's
 * journal sequence number. An entry is at most LOGENTRY_MAX bytes (it must fit a tlog-tiles
 * entry bundle's uint16 length).
 *
 * Kinds: 1 evidence_accepted, 2 evidence_retracted, 3 unlocked, 4 mastered, 5 override,
 * 6 framework_loaded, 7 credential_issued, 8 credential_status, 9 keys_rotated, 10 review_due,
 * 11 review_failed, 12 at_risk.
 *
 * Fields (tag, name: value, length):
 *   0x01 learner     32 bytes: commitment HMAC-SHA256(learner_key, 0x01 || learner id)
 *   0x02 framework   UTF-8 framework id           0x03 competency  UTF-8 competency id
 *   0x04 source      UTF-8 tool name              0x05 evidence    32 bytes: commitment
 *   0x06 score       8 bytes IEEE 754 binary64    0x07 weight      8 bytes binary64
 *   0x08 outcome     1 byte                       0x09 observed_at 8 bytes i64 ms
 *   0x0A narrative   32 bytes: commitment         0x0B url         32 bytes: commitment
 *   0x0C reason      32 bytes: commitment         0x0D actor       UTF-8 staff or tool name
 *   0x0E flag        1 byte, 0 or 1               0x0F revision    u32
 *   0x10 version     UTF-8                        0x11 count       u32
 *   0x12 credential  UTF-8 credential id          0x13 purpose     UTF-8
 *   0x14 digest      32 bytes: SHA-256 of content (framework document, signed credential)
 *   0x15 key         UTF-8 verification method id
 * UTF-8 values are valid UTF-8 without U+0000; score and weight are finite. Commitments are
 * logentry_commit() under a key the daemon keeps per learner: deleting the key leaves every
 * entry, proof and checkpoint valid while the entries name no one.
 *
 * Pure: no I/O; thread-safe.
 */
#ifndef MASTERY_TLOG_LOGENTRY_H
#define MASTERY_TLOG_LOGENTRY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define LOGENTRY_VERSION 1
#define LOGENTRY_MAX     65535 /* bytes in one encoded entry */
#define LOGENTRY_HEADER  18    /* version, kind, seq, at_ms */

typedef enum logentry_kind {
    LOGENTRY_EVIDENCE_ACCEPTED = 1,
    LOGENTRY_EVIDENCE_RETRACTED = 2,
    LOGENTRY_UNLOCKED = 3,
    LOGENTRY_MASTERED = 4,
    LOGENTRY_OVERRIDE = 5,
    LOGENTRY_FRAMEWORK_LOADED = 6,
    LOGENTRY_CREDENTIAL_ISSUED = 7,
    LOGENTRY_CREDENTIAL_STATUS = 8,
    LOGENTRY_KEYS_ROTATED = 9,
    LOGENTRY_REVIEW_DUE = 10,
    LOGENTRY_REVIEW_FAILED = 11,
    LOGENTRY_AT_RISK = 12,
    LOGENTRY_LEARNER_ERASED = 13, /* issue 16: digest = SHA-256(salt || id), count */
    LOGENTRY_LEGAL_HOLD = 14,     /* flag: placed (1) or lifted (0) */
    LOGENTRY_LEARNER_REENROLLED = 15,
} logentry_kind_t;

/* The field tags; bit (1u << tag) of logentry_t.present says the field is there. */
enum {
    LOGENTRY_LEARNER = 0x01,
    LOGENTRY_FRAMEWORK = 0x02,
    LOGENTRY_COMPETENCY = 0x03,
    LOGENTRY_SOURCE = 0x04,
    LOGENTRY_EVIDENCE = 0x05,
    LOGENTRY_SCORE = 0x06,
    LOGENTRY_WEIGHT = 0x07,
    LOGENTRY_OUTCOME = 0x08,
    LOGENTRY_OBSERVED_AT = 0x09,
    LOGENTRY_NARRATIVE = 0x0a,
    LOGENTRY_URL = 0x0b,
    LOGENTRY_REASON = 0x0c,
    LOGENTRY_ACTOR = 0x0d,
    LOGENTRY_FLAG = 0x0e,
    LOGENTRY_REVISION = 0x0f,
    LOGENTRY_VERSION_TAG = 0x10,
    LOGENTRY_COUNT = 0x11,
    LOGENTRY_CREDENTIAL = 0x12,
    LOGENTRY_PURPOSE = 0x13,
    LOGENTRY_DIGEST = 0x14,
    LOGENTRY_KEY = 0x15,
    LOGENTRY_TAG_MAX = 0x15,
};

#define LOGENTRY_HAS(e, tag) (((e)->present >> (tag)) & 1u)

/*
 * One entry. Strings are (pointer, length) pairs, not NUL-terminated: on encode they are the
 * caller's; after logentry_decode() they point into the decoded bytes (borrowed: valid while
 * those bytes are). Fields whose present bit is clear are ignored by encode and zero after
 * decode.
 */
typedef struct logentry {
    logentry_kind_t kind;
    uint64_t seq;
    int64_t at_ms;
    uint32_t present; /* bit tag set when the field is present */
    uint8_t learner[32], evidence[32], narrative[32], url[32], reason[32], digest[32];
    const char *framework, *competency, *source, *actor, *version, *credential, *purpose, *key;
    size_t framework_len, competency_len, source_len, actor_len, version_len, credential_len,
        purpose_len, key_len;
    double score, weight;
    uint8_t outcome, flag;
    int64_t observed_at;
    uint32_t revision, count;
} logentry_t;

/* The kind's name ("evidence_accepted"), or NULL for a value outside 1..12. */
const char *logentry_kind_name(int kind);

/* The field's name ("learner"), or NULL for an unknown tag. */
const char *logentry_tag_name(unsigned tag);

/*
 * Appends the encoding of *e to out.
 * @return 0; ERR_INVALID (kind outside 1..12, a present bit for no field, a string over 65535
 *         bytes, not UTF-8 or with U+0000, a non-finite score or weight, flag not 0 or 1, the
 *         entry over LOGENTRY_MAX bytes); buf errors. On failure out is unchanged.
 */
int logentry_encode(buf_t *out, const logentry_t *e);

/*
 * Decodes an entry strictly (everything logentry_encode() refuses is refused, and: a version
 * other than 1, a field of the wrong length, tags out of order or repeated, an unknown tag,
 * trailing bytes, len over LOGENTRY_MAX). A decoded entry re-encodes to the same bytes.
 * @param[in]  p  the bytes. Borrowed; e's strings point into them.
 * @return 0; ERR_INVALID with a detail (field "entry" or "entry.<name>").
 */
int logentry_decode(const uint8_t *p, size_t len, logentry_t *e, err_detail_t *d);

/*
 * A JSON object for people: {"kind": "mastered", "seq": 41, "at": "2026-...Z", then each
 * present field by name: strings as they are, commitments and digest in lowercase hex,
 * score/weight as reals, observed_at as RFC 3339, the rest as integers}.
 * @param[out] out Caller owns the result; json_decref().
 * @return 0; ERR_INVALID (kind unknown, a time out of RFC 3339's range); ERR_NOMEM.
 */
int logentry_to_json(const logentry_t *e, json_t **out);

/*
 * The commitment the daemon uses for learner ids and free text:
 * HMAC-SHA256(key, tag || value) (tag = the field's tag byte; the learner uses 0x01).
 */
void logentry_commit(const uint8_t key[32], uint8_t tag, const void *v, size_t len,
                     uint8_t out[32]);

/*
 * The same commitments for many values under one key, without logentry_commit()'s per-call
 * setup (an HMAC fetch and key schedule each time): the daemon commits several fields of
 * every event of a learner. Keyed once (logentry_committer_key), then each commitment
 * copies the keyed state. Not thread-safe; one per thread.
 */
typedef struct logentry_committer logentry_committer_t;

/* A committer (caller owns; logentry_committer_free). Returns 0 or ERR_NOMEM / ERR_INTERNAL. */
int logentry_committer_new(logentry_committer_t **out);
void logentry_committer_free(logentry_committer_t **c);
/* Sets the key (32 bytes; copied into OpenSSL's state, never kept otherwise). */
int logentry_committer_key(logentry_committer_t *c, const uint8_t key[32]);
/* HMAC-SHA256(key, tag || v) into out, equal to logentry_commit()'s. 0 or ERR_INTERNAL. */
int logentry_committer_commit(logentry_committer_t *c, uint8_t tag, const void *v, size_t len,
                              uint8_t out[32]);

#endif
