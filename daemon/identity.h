/*
 * identity: the store and the issuer keys belong together. Badges name the issuer's DID and
 * status lists are signed with its keys, so a store that starts with other keys (a data.mdb
 * restored without its keys/, keys copied beside another store) or keys that start with an
 * empty store (a lost or truncated data.mdb) would silently issue as someone else or forget
 * every badge. The store records the key ids it was made with (records.h: meta "identity");
 * every start checks them, and refuses with a message that says what is wrong and what to do.
 *
 * Calls: records (the identity record, whether the store is empty), keyring (key ids, whether
 * a key directory holds keys), store (transactions, the origin of data.mdb). main.c calls it
 * around keyring_open.
 */
#ifndef MASTERY_IDENTITY_H
#define MASTERY_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "keyring.h"
#include "store.h"

/*
 * Before keyring_open (which makes keys when there are none): a store that holds data or an
 * identity refuses to start beside a key directory without keys, since new keys would be a
 * new issuer for the badges already issued. Returns 0 or ERR_INVALID (message: what to
 * restore), or a store error.
 */
int identity_precheck(store_t *st, const char *key_dir, err_detail_t *detail);

/*
 * After keyring_open: a store with an identity needs its keys in kr (ERR_INVALID otherwise,
 * naming the key the store was made with). A store without one gets one now: when it holds
 * data (made before identities were recorded), or when the keys are new; a data.mdb that was
 * missing or 0 bytes at this start (store_origin) beside keys that existed before
 * (keys_existed) is refused unless adopt is set (masteryd --adopt-keys), since that is a lost
 * or truncated data.mdb far more often than a wish. (An existing, empty data.mdb beside keys
 * is a first start that stopped before recording the identity: it records it.) data_dir
 * and key_dir name the places in messages. *recorded tells whether an identity was written.
 */
int identity_bind(store_t *st, keyring_t *kr, bool keys_existed, bool adopt, int64_t now,
                  const char *data_dir, const char *key_dir, bool *recorded, err_detail_t *detail);

/*
 * Opens the vault (vault.h) data.mdb is sealed under and gives it to the store: before
 * records_upgrade, which seals an older file with it. A store that recorded a vault needs that
 * store.key (ERR_INVALID when it is missing or another: the message says what to restore); a
 * store without one gets key_dir/store.key (created, with key_dir, when absent) and records its
 * fingerprint. Caller owns *out (vault_destroy after store_close).
 */
struct vault;
int identity_vault(store_t *st, const char *key_dir, bool seal, int64_t now_ms, struct vault **out,
                   err_detail_t *detail);

#endif
