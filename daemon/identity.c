#include "identity.h"

#include <errno.h>
#include <sys/stat.h>

#include <stdio.h>
#include <string.h>

#include "records.h"
#include "vault.h"

/* Whether the store holds an identity or any data; read-only. */
static int store_state(store_t *st, bool *has_identity, records_identity_t *id, bool *empty)
{
    store_txn_t *txn = NULL;
    int rc = store_txn_begin(st, false, &txn);
    if (rc != 0)
        return rc;
    rc = records_identity_get(txn, id);
    *has_identity = rc == 0;
    if (rc == ERR_NOT_FOUND)
        rc = 0;
    *empty = records_store_empty(txn);
    store_txn_abort(&txn);
    return rc;
}

int identity_precheck(store_t *st, const char *key_dir, err_detail_t *d)
{
    bool has_id, empty;
    records_identity_t id;
    int rc = store_state(st, &has_id, &id, &empty);
    if (rc != 0)
        return err_set(d, rc, "store", "cannot read the store's identity: %s", err_str(rc));
    if (keyring_present(key_dir) || (!has_id && empty))
        return 0;
    if (has_id)
        return err_set(d, ERR_INVALID, "key_dir",
                       "%s holds no issuer keys, but this store was made with Ed25519 key %s: "
                       "restore the key directory backed up with this store (README: Backup and "
                       "restore), or set key_dir to it. masteryd will not make new keys for it: "
                       "its badges name the old issuer",
                       key_dir, id.ed25519);
    return err_set(d, ERR_INVALID, "key_dir",
                   "%s holds no issuer keys, but the store holds data: restore the key directory "
                   "backed up with this store (README: Backup and restore), or set key_dir to it. "
                   "masteryd will not make new keys for it: its badges name the old issuer",
                   key_dir);
}

/* The identity of a keyring: its oldest key of each kind (rotation never removes one). */
static int identity_of(keyring_t *kr, int64_t now, records_identity_t *id)
{
    memset(id, 0, sizeof *id);
    id->created_at = now;
    for (uint32_t i = 0; i < keyring_count(kr); i++) {
        keyring_entry_t *e = keyring_at(kr, i);
        char *slot = e->alg == KEYS_RSA ? id->rsa : id->ed25519;
        if (slot[0] == '\0')
            snprintf(slot, RECORDS_KEY_ID_MAX, "%s", e->id);
    }
    return id->ed25519[0] && id->rsa[0] ? 0 : ERR_INTERNAL;
}

int identity_bind(store_t *st, keyring_t *kr, bool keys_existed, bool adopt, int64_t now,
                  const char *data_dir, const char *key_dir, bool *recorded, err_detail_t *d)
{
    bool has_id, empty;
    records_identity_t id;
    *recorded = false;
    int rc = store_state(st, &has_id, &id, &empty);
    if (rc != 0)
        return err_set(d, rc, "store", "cannot read the store's identity: %s", err_str(rc));
    if (has_id) {
        if (keyring_find(kr, id.ed25519) != NULL && keyring_find(kr, id.rsa) != NULL)
            return 0;
        return err_set(d, ERR_INVALID, "key_dir",
                       "the issuer keys in %s are not this store's: the store in %s was made with "
                       "Ed25519 key %s, which %s does not hold. Restore the key directory backed "
                       "up with this store (README: Backup and restore), or set key_dir to it",
                       key_dir, data_dir, id.ed25519, key_dir);
    }
    /* Only a data.mdb that was missing or 0 bytes at this start: an existing but empty one
     * beside keys is a first start killed before it recorded the identity. */
    if (empty && keys_existed && !adopt && store_origin(st) != STORE_EXISTED) {
        bool zero = store_origin(st) == STORE_WAS_EMPTY_FILE;
        return err_set(d, ERR_INVALID, "data_dir",
                       "%s/data.mdb %s, but %s holds the issuer keys of an earlier store. Restore "
                       "data.mdb from a backup (README: Backup and restore); to start an empty "
                       "store with these keys on purpose, start once with --adopt-keys",
                       data_dir, zero ? "was 0 bytes (truncated?)" : "is new (empty)", key_dir);
    }
    store_txn_t *txn = NULL;
    if ((rc = identity_of(kr, now, &id)) != 0 || (rc = store_txn_begin(st, true, &txn)) != 0)
        return err_set(d, rc, "store", "cannot record the store's identity: %s", err_str(rc));
    if ((rc = records_identity_put(txn, &id)) != 0)
        store_txn_fail(txn, rc);
    if ((rc = store_txn_commit(&txn)) != 0)
        return err_set(d, rc, "store", "cannot record the store's identity: %s", err_str(rc));
    *recorded = true;
    return 0;
}

int identity_vault(store_t *st, const char *key_dir, bool seal, int64_t now_ms, vault_t **out,
                   err_detail_t *d)
{
    uint8_t want[RECORDS_VAULT_ID_LEN], have[VAULT_INDEX_HASH_LEN];
    store_txn_t *txn = NULL;
    int rc = store_txn_begin(st, false, &txn);
    if (rc == 0)
        rc = records_vault_id_get(txn, want);
    store_txn_abort(&txn);
    bool recorded = rc == 0;
    if (rc != 0 && rc != ERR_NOT_FOUND)
        return err_set(d, rc, "store", "cannot read the store's vault fingerprint: %s",
                       err_str(rc));
    if (!recorded && mkdir(key_dir, 0700) != 0 && errno != EEXIST)
        return err_set(d, ERR_UNAVAILABLE, "key_dir", "cannot create %s: %s", key_dir,
                       strerror(errno));
    vault_t *v = NULL;
    rc = vault_open(key_dir, !recorded, seal, now_ms, &v, d);
    if (rc == ERR_NOT_FOUND)
        return err_set(d, ERR_INVALID, "key_dir",
                       "%s/%s is missing, and data.mdb is sealed under it: learners' records "
                       "cannot be read without it. Restore it from the backup of the key "
                       "directory (README: Backup and restore)",
                       key_dir, vault_file());
    if (rc != 0)
        return rc;
    if ((rc = vault_fingerprint(v, have)) != 0) {
        vault_destroy(&v);
        return err_set(d, rc, "store.key", "cannot fingerprint the store key");
    }
    if (recorded && memcmp(want, have, sizeof want) != 0) {
        vault_destroy(&v);
        return err_set(d, ERR_INVALID, "key_dir",
                       "%s/%s is not the store key data.mdb was sealed under. Restore the key "
                       "directory backed up with this store (README: Backup and restore)",
                       key_dir, vault_file());
    }
    if (!recorded) {
        if ((rc = store_txn_begin(st, true, &txn)) == 0 &&
            (rc = records_vault_id_put(txn, have)) != 0)
            store_txn_fail(txn, rc);
        if (rc == 0)
            rc = store_txn_commit(&txn);
        else
            store_txn_abort(&txn);
        if (rc != 0) {
            vault_destroy(&v);
            return err_set(d, rc, "store", "cannot record the store's vault: %s", err_str(rc));
        }
    }
    store_set_vault(st, v);
    *out = v;
    return 0;
}
