/*
 * note: C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 signatures (type 0x01),
 * and the C2SP tlog-checkpoint text they carry (https://c2sp.org/tlog-checkpoint).
 *
 * A signed note is a text ending in '\n', a blank line, then one or more signature lines
 * "\u2014 <key name> <base64(key hash, big-endian uint32 || 64-byte signature)>\n". The key
 * hash is the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key). A verifier is
 * configured with key strings "name+hhhhhhhh+base64(0x01 || public key)" (Go's note package).
 *
 * A checkpoint is the note text "<origin>\n<tree size>\n<base64 root hash>\n" plus optional
 * non-empty extension lines.
 *
 * Signing goes through lib/vc keys_sign() (tlog_note_sign()): this module never sees private
 * key bytes. Pure apart from the short-lived key handles lib/vc keys makes. Thread-safe (but
 * tlog_note_sign() uses the key's signing context: one thread per keys_t).
 */
#ifndef MASTERY_TLOG_NOTE_H
#define MASTERY_TLOG_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "keys.h"
#include "merkle.h"

#define TLOG_NAME_MAX     255
#define TLOG_NOTE_MAX     65536 /* bytes in a signed note tlog_note_open() accepts */
#define TLOG_NOTE_SIG_MAX 100   /* signature lines in one note (the spec asks for >= 16) */

typedef struct tlog_verifier {
    char name[TLOG_NAME_MAX + 1];
    uint32_t key_hash;
    uint8_t pub[32];
} tlog_verifier_t;

/* First 4 bytes (big-endian) of SHA-256(name || 0x0A || 0x01 || pub). name NUL-terminated. */
uint32_t tlog_key_hash(const char *name, const uint8_t pub[32]);

/*
 * Whether name (len bytes) is a valid key name: 1..TLOG_NAME_MAX bytes of UTF-8 without
 * Unicode spaces, '+' or control characters.
 */
bool tlog_name_valid(const char *name, size_t len);

/*
 * Appends the verifier key string "name+hhhhhhhh+base64(0x01 || pub)" to out.
 * @return 0; ERR_INVALID (name not a valid key name); buf errors.
 */
int tlog_verifier_format(buf_t *out, const char *name, const uint8_t pub[32]);

/*
 * Parses a verifier key string (len bytes, no trailing newline). The key hash must be 8
 * lowercase hex digits equal to tlog_key_hash(name, pub); the key must be type 0x01 with 32
 * bytes. @return 0; ERR_INVALID with a detail (field "verifier_key").
 */
int tlog_verifier_parse(const char *s, size_t len, tlog_verifier_t *v, err_detail_t *d);

/*
 * Appends one signature line: "\u2014 name base64(key_hash_be32 || sig)\n".
 * @return 0; ERR_INVALID (name not a valid key name); buf errors.
 */
int tlog_note_signature_line(buf_t *out, const char *name, uint32_t key_hash,
                             const uint8_t sig[64]);

/*
 * Signs a note: appends text (len bytes, ending in '\n'), the blank line, and one Ed25519
 * signature line by k under the key name `name` (key hash from k's public key). What the
 * daemon does with a checkpoint text; keys_sign() touches the private key, not this module.
 * @param[in] k an Ed25519 key pair. Borrowed; its signing context is used (not thread-safe).
 * @return 0; ERR_INVALID (text empty or not ending in '\n', name not a valid key name, k not
 *         Ed25519 or without a private key); ERR_INTERNAL; buf errors. out unchanged on failure.
 */
int tlog_note_sign(buf_t *out, keys_t *k, const char *name, const char *text, size_t len);

/*
 * Opens a signed note (len bytes, at most TLOG_NOTE_MAX): checks it is well formed (valid
 * UTF-8, no control characters but '\n', text ending in '\n', a blank line, 1..TLOG_NOTE_SIG_MAX
 * well-formed signature lines, the last ending in '\n'), and verifies every signature whose
 * name and key hash match one of vs[0..nvs) (Ed25519 over the text bytes).
 * @param[out] text_len  the text's length, including its final '\n' (the text is note[0..)).
 * @param[out] verified  optional: bit i set when vs[i] verified (nvs <= 32 for all to show).
 * @param[out] unknown   optional: the number of signatures from keys not in vs.
 * @return 0 when at least one known signature verified and none failed; ERR_INVALID with a
 *         detail (malformed note, a known signature that does not verify, or no known
 *         signature); ERR_INTERNAL (OpenSSL failed).
 */
int tlog_note_open(const char *note, size_t len, const tlog_verifier_t *vs, size_t nvs,
                   size_t *text_len, uint32_t *verified, size_t *unknown, err_detail_t *d);

typedef struct tlog_checkpoint {
    char origin[TLOG_NAME_MAX + 1];
    uint64_t size;
    tlog_hash_t root;
    const char *extensions; /* the lines after the root, borrowed from the parsed text; may be "" */
    size_t extensions_len;
} tlog_checkpoint_t;

/*
 * Appends the checkpoint text "origin\nsize\nbase64(root)\n" (no extension lines).
 * @return 0; ERR_INVALID (origin empty, over TLOG_NAME_MAX bytes, not UTF-8 or with a
 *         control character); buf errors.
 */
int tlog_checkpoint_format(buf_t *out, const char *origin, uint64_t size, const tlog_hash_t *root);

/*
 * Parses a checkpoint text (the note text, len bytes, ending in '\n'). The size must be
 * decimal without leading zeros, the root base64 of exactly 32 bytes; extension lines must be
 * non-empty. cp->extensions points into text (borrowed; valid while text is).
 * @return 0; ERR_INVALID with a detail naming the line (field "checkpoint.origin" etc.).
 */
int tlog_checkpoint_parse(const char *text, size_t len, tlog_checkpoint_t *cp, err_detail_t *d);

#endif
