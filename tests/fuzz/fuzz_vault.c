/*
 * Fuzz target: vault_parse (the store.key file, vault.h) on arbitrary bytes. A refusal must be
 * ERR_INVALID naming a store.key field with a message (ERR_NOMEM aside); an accepted file must
 * give a usable vault: epochs in order, a secret wrapped under its current epoch unwraps to
 * the same bytes only for its learner, a sealed box opens only at its place, and the index
 * hash is deterministic.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > VAULT_FILE_MAX) /* vault_open reads no more */
        return 0;
    vault_t *v = NULL;
    err_detail_t d;
    err_clear(&d);
    int rc = vault_parse((const char *)data, size, &v, &d);
    if (rc != 0) {
        check(v == NULL);
        check(rc == ERR_INVALID || rc == ERR_NOMEM);
        check(d.code == rc && d.message[0] != '\0');
        check(strncmp(d.field, "store.key", 9) == 0);
        return 0;
    }
    check(v != NULL);
    check(vault_sealing(v));
    check(vault_oldest_epoch(v) >= 1 && vault_oldest_epoch(v) <= vault_epoch(v));

    static const uint8_t learner[16] = {7, 7, 7}, other[16] = {8, 8, 8};
    uint8_t secret[VAULT_SECRET_LEN], back[VAULT_SECRET_LEN], wrapped[VAULT_WRAPPED_LEN];
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (uint8_t)(i * 31 + size);
    uint32_t epoch = 0;
    check(vault_wrap(v, learner, sizeof learner, secret, wrapped) == 0);
    check(vault_unwrap(v, learner, sizeof learner, wrapped, sizeof wrapped, back, &epoch, &d) == 0);
    check(epoch == vault_epoch(v));
    check(memcmp(secret, back, sizeof secret) == 0);
    check(vault_unwrap(v, other, sizeof other, wrapped, sizeof wrapped, back, NULL, &d) ==
          ERR_DATA_LOSS);

    uint8_t box[64 + VAULT_BOX_OVERHEAD], out[64 + VAULT_BOX_OVERHEAD];
    size_t n = size < 64 ? size : 64, out_len = 0, box_len = vault_box_len(v, n);
    check(box_len == n + VAULT_BOX_OVERHEAD);
    check(vault_seal(v, secret, "place", 5, data, n, box) == 0);
    check(vault_unseal(v, secret, "place", 5, box, box_len, out, &out_len) == 0);
    check(out_len == n && (n == 0 || memcmp(out, data, n) == 0));
    check(vault_unseal(v, secret, "other", 5, box, box_len, out, &out_len) == ERR_DATA_LOSS);

    uint8_t h1[VAULT_INDEX_HASH_LEN], h2[VAULT_INDEX_HASH_LEN];
    check(vault_index_hash(v, 'e', data, n, h1) == 0);
    check(vault_index_hash(v, 'e', data, n, h2) == 0);
    check(memcmp(h1, h2, sizeof h1) == 0);
    check(vault_fingerprint(v, h1) == 0);
    vault_destroy(&v);
    check(v == NULL);
    return 0;
}
