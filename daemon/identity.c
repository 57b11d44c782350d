#include "identity.h"

#include <stdio.h>
#include <string.h>

#include "records.h"

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
