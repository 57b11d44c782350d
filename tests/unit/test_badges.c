/*
 * Unit tests for badges' status lists on a real LMDB store and keyring: a store from before
 * numbered lists (one list under status 'U'/'R'/'S', credentials on list 0) is migrated once
 * into list 1, keeping its URL (unnumbered), bits and size; its credentials revoke on it; lists
 * export by number, and a number past the last is NOT_FOUND. (Issuance, rollover and rotation
 * run end to end in tests/integration/test_status_lists.py.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "badges.h"
#include "keyring.h"
#include "records.h"
#include "identity.h"
#include "statuslist.h"
#include "store.h"
#include "vault.h"

typedef struct fixture {
    char dir[64], keys[96];
    store_t *st;
    vault_t *vault;
    keyring_t *kr;
    badges_t *b;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    err_detail_t d;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_badges.XXXXXX");
    if (mkdtemp(f->dir) == NULL || store_open(f->dir, 8u << 20, 64u << 20, &f->st, &d) != 0)
        return -1;
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    if (keyring_open(f->keys, 1000, &f->kr, &d) != 0 ||
        identity_vault(f->st, f->keys, true, 0, &f->vault, &d) != 0)
        return -1;
    badges_conf_t c = {.issuer_name = "Test School",
                       .status_base_url = "https://s.example/st/",
                       .status_list_size = 131072};
    if (badges_new(&c, f->kr, &f->b, &d) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    badges_destroy(&f->b);
    keyring_destroy(&f->kr);
    store_close(&f->st);
    vault_destroy(&f->vault);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* The bit `index` of an exported list document. */
static bool exported_bit(const char *json, uint32_t index)
{
    json_t *doc = json_loads(json, 0, NULL);
    const char *enc = json_string_value(
        json_object_get(json_object_get(doc, "credentialSubject"), "encodedList"));
    statuslist_t *l = NULL;
    err_detail_t d;
    bool v = false;
    assert_int_equal(statuslist_decode(enc, strlen(enc), 0, &l, &d), 0);
    assert_int_equal(statuslist_get(l, index, &v), 0);
    statuslist_destroy(&l);
    json_decref(doc);
    return v;
}

static void test_legacy_list_migrates_to_list_1(void **state)
{
    fixture_t *f = *state;
    store_txn_t *txn;
    uint8_t used[16384] = {0}, revoked[16384] = {0};
    used[0] = 0xC0;    /* indexes 0 and 1 in use */
    revoked[0] = 0x80; /* index 0 revoked */
    store_key_t k;
    assert_int_equal(store_txn_begin(f->st, true, &txn), 0);
    store_key_reset(&k);
    store_key_byte(&k, 'U');
    assert_int_equal(store_put(txn, STORE_DB_STATUS, &k, used, sizeof used, 0), 0);
    store_key_reset(&k);
    store_key_byte(&k, 'R');
    assert_int_equal(store_put(txn, STORE_DB_STATUS, &k, revoked, sizeof revoked, 0), 0);
    records_credential_t c = {.issued_at = 1,
                              .changed_at = 1,
                              .status_index = 1,
                              .revision = 1,
                              .s = {"urn:uuid:old", "ann", "fw", "c", "Old", "", "{}", "x.y.z"}};
    for (int i = 0; i < RECORDS_CRED_STRINGS; i++)
        c.len[i] = strlen(c.s[i]);
    assert_int_equal(records_credential_put(txn, &c), 0); /* list 0: written before lists */
    bool migrated = false;
    assert_int_equal(badges_open_store(f->b, txn, 5000, &migrated), 0);
    assert_true(migrated);
    assert_int_equal(badges_open_store(f->b, txn, 6000, &migrated), 0);
    assert_false(migrated); /* once */
    store_val_t v;
    assert_int_equal(records_bits_get(txn, RECORDS_BITS_USED, &v), ERR_NOT_FOUND);
    records_slist_t l;
    assert_int_equal(records_slist_get(txn, 1, &l), 0);
    assert_int_equal(l.flags, RECORDS_SLIST_UNNUMBERED);
    assert_int_equal(l.entries, 131072);
    assert_string_equal(l.did, badges_issuer_did(f->b));

    /* Exported at the URL its badges already name, with the revoked bit. */
    badges_list_doc_t doc;
    err_detail_t d;
    assert_int_equal(badges_status_list(f->b, txn, "revocation", 0, 7000, &doc, &d), 0);
    assert_int_equal(doc.list, 1);
    assert_int_equal(doc.lists, 1);
    assert_string_equal(doc.url, "https://s.example/st/revocation");
    assert_string_equal(doc.issuer, badges_issuer_did(f->b));
    assert_true(exported_bit(doc.json, 0));
    assert_false(exported_bit(doc.json, 1));
    free(doc.json);

    /* The old credential revokes on list 1. */
    bool changed;
    badges_info_t info;
    assert_int_equal(badges_set_status(f->b, txn, "urn:uuid:old", "revocation", true, "r", 8000,
                                       &changed, &info, &d),
                     0);
    assert_true(changed);
    assert_int_equal(info.status_list, 1);
    assert_int_equal(badges_status_list(f->b, txn, "revocation", 1, 9000, &doc, &d), 0);
    assert_true(exported_bit(doc.json, 1));
    free(doc.json);
    assert_int_equal(badges_status_list(f->b, txn, "revocation", 2, 9000, &doc, &d), ERR_NOT_FOUND);
    assert_string_equal(d.field, "export_status_list.list");
    assert_int_equal(badges_status_list(f->b, txn, "other", 1, 9000, &doc, &d), ERR_INVALID);
    store_txn_abort(&txn);
}

/* A new store: nothing to migrate; before any badge, the newest list is the empty list 1. */
static void test_new_store_exports_empty_list_1(void **state)
{
    fixture_t *f = *state;
    store_txn_t *txn;
    bool migrated = true;
    badges_list_doc_t doc;
    err_detail_t d;
    assert_int_equal(store_txn_begin(f->st, true, &txn), 0);
    assert_int_equal(badges_open_store(f->b, txn, 5000, &migrated), 0);
    assert_false(migrated);
    assert_int_equal(badges_status_list(f->b, txn, "suspension", 0, 7000, &doc, &d), 0);
    assert_int_equal(doc.list, 1);
    assert_int_equal(doc.lists, 0);
    assert_string_equal(doc.url, "https://s.example/st/suspension/1");
    assert_false(exported_bit(doc.json, 0));
    free(doc.json);
    store_txn_abort(&txn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_legacy_list_migrates_to_list_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_store_exports_empty_list_1, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
