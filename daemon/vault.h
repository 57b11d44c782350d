/*
 * vault: the store's secrets and the sealing of learners' personal data (issue 16).
 *
 * The store master key file, `<key_dir>/store.key` (mode 0600, beside the issuer keys, never in
 * data.mdb; this module is the only one that reads or writes it), holds:
 *   - the index key: keyed hashes of outside ids that must sit in LMDB keys (evidence ids), so
 *     a copy of data.mdb alone cannot confirm a guessed id;
 *   - the wrap keys, numbered epochs: each learner's secret (their data key and their log
 *     commitment key, 64 bytes) is stored in data.mdb wrapped (AES-256-GCM) under the current
 *     epoch's key, bound to the learner's hash. Erasing a learner deletes their wrapped secret;
 *     an old backup still holds it, wrapped under an epoch key that vault_rotate() replaces and
 *     vault_forget_epochs() destroys (ARCHITECTURE.md, "Erasure and backups").
 *
 * A sealed field is a box: [1][nonce 12][AES-256-GCM ciphertext][tag 16] under the learner's
 * data key, with the record's database and key as associated data, so a box moved to another
 * record (or another learner's) fails to open. With sealing off (conf `seal_records = 0`, for
 * benchmarks only) a box is [0][plain bytes]; vault_unseal() opens both kinds.
 *
 * Not thread-safe (one per process, used by the daemon's one thread). Secrets are wiped on
 * destroy and never logged.
 */
#ifndef MASTERY_VAULT_H
#define MASTERY_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define VAULT_KEY_LEN        32
#define VAULT_SECRET_LEN     64 /* a learner's data key, then their commitment key */
#define VAULT_BOX_OVERHEAD   29 /* version, nonce, tag */
#define VAULT_WRAPPED_LEN    (4 + 12 + VAULT_SECRET_LEN + 16) /* epoch(le32) nonce ct tag */
#define VAULT_INDEX_HASH_LEN 16
#define VAULT_FILE           "store.key" /* the default; see vault_set_file */
#define VAULT_FILE_MAX       65536       /* bytes of store.key read at most */
#define VAULT_EPOCHS_MAX     64

typedef struct vault vault_t;

/*
 * The store key's file name in key_dir: VAULT_FILE unless set once at start, before any other
 * vault call and before threads (a process-wide setting). Cluster mode gives each node its own
 * (store-node<N>.key), because the nodes share key_dir and each re-keys its own store: a
 * shared file rewritten by two nodes would lose one's epochs. name is copied (< 64 bytes).
 */
void vault_set_file(const char *name);
const char *vault_file(void);

/*
 * Opens key_dir/store.key, creating it (0600, fresh random keys, epoch 1) when absent and
 * `create` is set. The directory must exist (keyring_open makes it). seal: whether new boxes
 * are sealed (conf seal_records). Caller owns *out; vault_destroy(). Returns 0,
 * ERR_NOT_FOUND (no file and !create), ERR_FORBIDDEN (the file is open to group or others),
 * ERR_INVALID (malformed: the message names the field), ERR_UNAVAILABLE (I/O).
 */
int vault_open(const char *key_dir, bool create, bool seal, int64_t now_ms, vault_t **out,
               err_detail_t *detail);

/* Wipes every key and frees the vault; sets *v to NULL. */
void vault_destroy(vault_t **v);

/*
 * The file's parser, pure (the fuzz target's entry): text of len bytes. On success *out is a
 * vault (seal on) owned by the caller. ERR_INVALID with the field named.
 */
int vault_parse(const char *text, size_t len, vault_t **out, err_detail_t *detail);

/* Whether new boxes are sealed. */
bool vault_sealing(const vault_t *v);

/* ---- learners' secrets --------------------------------------------------------------------- */

/* A fresh random secret for a new learner. 0 or ERR_UNAVAILABLE (no entropy). */
int vault_new_secret(uint8_t secret[VAULT_SECRET_LEN]);

/* Wraps a secret under the current epoch, bound to learner_hash (hash_len bytes). */
int vault_wrap(vault_t *v, const uint8_t *learner_hash, size_t hash_len,
               const uint8_t secret[VAULT_SECRET_LEN], uint8_t out[VAULT_WRAPPED_LEN]);

/* Unwraps: 0, ERR_DATA_LOSS (damaged, or wrapped for another learner), or ERR_UNAVAILABLE
 * (its epoch's key is not in the file: destroyed, or a store.key from elsewhere; the message
 * names the epoch). *epoch (may be NULL) is the epoch it was wrapped under. */
int vault_unwrap(vault_t *v, const uint8_t *learner_hash, size_t hash_len, const uint8_t *in,
                 size_t len, uint8_t secret[VAULT_SECRET_LEN], uint32_t *epoch,
                 err_detail_t *detail);

/* The current wrap epoch, and the oldest one still held. */
uint32_t vault_epoch(const vault_t *v);
uint32_t vault_oldest_epoch(const vault_t *v);

/*
 * Adds epoch n+1 (fresh random key) as current and rewrites store.key atomically (temp file,
 * fsync, rename, fsync of the directory). Records wrapped under older epochs keep opening
 * until those epochs are forgotten; the caller re-wraps them (records_learner_rewrap).
 */
int vault_rotate(vault_t *v, const char *key_dir, int64_t now_ms, err_detail_t *detail);

/* Destroys every epoch key created before before_ms except the current one, rewriting the
 * file as vault_rotate() does. *forgotten: how many. Backups whose learners are wrapped only
 * under forgotten epochs can no longer be read: that is the point. */
int vault_forget_epochs(vault_t *v, const char *key_dir, int64_t before_ms, uint32_t *forgotten,
                        err_detail_t *detail);

/* ---- boxes --------------------------------------------------------------------------------- */

/* The size of the box of a plain_len-byte field under the current mode. */
size_t vault_box_len(const vault_t *v, size_t plain_len);

/*
 * Seals len bytes into out (vault_box_len(v, len) bytes) under key, with aad (the record's
 * place). Returns 0 or ERR_INTERNAL (the cipher failed; nothing to retry).
 */
int vault_seal(vault_t *v, const uint8_t key[VAULT_KEY_LEN], const void *aad, size_t aad_len,
               const void *plain, size_t len, uint8_t *out);

/*
 * Opens a box of len bytes into out (at least len bytes), setting *out_len. Returns 0, or
 * ERR_DATA_LOSS: not a box, or it fails authentication (damaged, moved, or another key).
 */
int vault_unseal(vault_t *v, const uint8_t key[VAULT_KEY_LEN], const void *aad, size_t aad_len,
                 const uint8_t *box, size_t len, uint8_t *out, size_t *out_len);

/* The vault's fingerprint (which store.key it is): HMAC of a fixed label under the index key. */
int vault_fingerprint(vault_t *v, uint8_t out[VAULT_INDEX_HASH_LEN]);

/* ---- the index key ------------------------------------------------------------------------- */

/* HMAC-SHA256(index key, domain byte || id), first VAULT_INDEX_HASH_LEN bytes: 0, or
 * ERR_NOMEM (OpenSSL could not allocate). */
int vault_index_hash(vault_t *v, uint8_t domain, const void *id, size_t len,
                     uint8_t out[VAULT_INDEX_HASH_LEN]);

#endif
