/* Unit tests for issuer: did:web DIDs from domains, verification method ids, the DID
 * document (every key under assertionMethod), and resolving a verification method to a key
 * with the controller / purpose checks a verifier needs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "issuer.h"
#include "keys.h"

static keys_t *seed_key(uint8_t fill)
{
    uint8_t seed[32];
    memset(seed, fill, sizeof seed);
    keys_t *k = NULL;
    assert_int_equal(keys_from_seed(seed, &k, NULL), 0);
    return k;
}

static void test_did_web(void **state)
{
    (void)state;
    char did[ISSUER_DID_MAX];
    err_detail_t d;
    assert_int_equal(issuer_did_web("lincoln.example.edu", did, sizeof did, &d), 0);
    assert_string_equal(did, "did:web:lincoln.example.edu");
    assert_int_equal(issuer_did_web("localhost:8443", did, sizeof did, &d), 0);
    assert_string_equal(did, "did:web:localhost%3A8443");
    assert_int_equal(issuer_did_web("w3c-ccg.github.io/user/alice", did, sizeof did, &d), 0);
    assert_string_equal(did, "did:web:w3c-ccg.github.io:user:alice");
    const char *bad[] = {"", "/x", "a b", "a/", "a:1:2", "a//b", "é.example", "a?b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(issuer_did_web(bad[i], did, sizeof did, &d), ERR_INVALID);
    assert_int_equal(issuer_did_web("lincoln.example.edu", did, 12, &d), ERR_LIMIT);
}

static void test_vm_ids(void **state)
{
    (void)state;
    keys_t *k = seed_key(1);
    char vm[ISSUER_VM_ID_MAX], want[ISSUER_VM_ID_MAX], kid[KEYS_ID_MAX], did[ISSUER_DID_MAX];
    assert_int_equal(issuer_vm_id(k, NULL, vm, sizeof vm), 0);
    keys_vm_id(k, want, sizeof want);
    assert_string_equal(vm, want);
    assert_int_equal(issuer_did(k, "", did, sizeof did), 0);
    assert_int_equal(strncmp(did, "did:key:z6Mk", 12), 0);
    assert_int_equal(issuer_vm_id(k, "did:web:lincoln.example.edu", vm, sizeof vm), 0);
    keys_id(k, kid, sizeof kid);
    snprintf(want, sizeof want, "did:web:lincoln.example.edu#%s", kid);
    assert_string_equal(vm, want);
    keys_destroy(&k);
}

static void test_document_and_resolve(void **state)
{
    (void)state;
    const char *did = "did:web:lincoln.example.edu";
    keys_t *old = seed_key(2), *cur = seed_key(3), *rsa = NULL, *stranger = seed_key(4);
    assert_int_equal(keys_generate(KEYS_RSA, &rsa, NULL), 0);
    const keys_t *keys[] = {old, cur, rsa};
    json_t *doc = NULL;
    err_detail_t d;
    assert_int_equal(issuer_did_document(did, keys, 3, &doc, &d), 0);
    assert_string_equal(json_string_value(json_object_get(doc, "id")), did);
    json_t *vms = json_object_get(doc, "verificationMethod");
    assert_int_equal(json_array_size(vms), 3);
    assert_int_equal(json_array_size(json_object_get(doc, "assertionMethod")), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(vms, 0), "type")),
                        "Multikey");
    assert_string_equal(json_string_value(json_object_get(json_array_get(vms, 2), "type")),
                        "JsonWebKey");
    assert_null(json_object_get(json_object_get(json_array_get(vms, 2), "publicKeyJwk"), "d"));

    /* every key, old and current, resolves to itself */
    for (int i = 0; i < 3; i++) {
        char vm[ISSUER_VM_ID_MAX], a[KEYS_ID_MAX], b[KEYS_ID_MAX];
        issuer_vm_id(keys[i], did, vm, sizeof vm);
        keys_t *got = NULL;
        assert_int_equal(issuer_resolve_key(did, vm, doc, &got, &d), 0);
        keys_id(got, a, sizeof a);
        keys_id(keys[i], b, sizeof b);
        assert_string_equal(a, b);
        keys_destroy(&got);
    }
    keys_t *got = NULL;
    char vm[ISSUER_VM_ID_MAX];
    issuer_vm_id(stranger, did, vm, sizeof vm);
    assert_int_equal(issuer_resolve_key(did, vm, doc, &got, &d), ERR_NOT_FOUND);
    issuer_vm_id(cur, did, vm, sizeof vm);
    /* no document; a document for another DID; a vm under another DID */
    assert_int_equal(issuer_resolve_key(did, vm, NULL, &got, &d), ERR_NOT_FOUND);
    assert_int_equal(issuer_resolve_key("did:web:other.example", vm, doc, &got, &d),
                     ERR_UNAUTHENTICATED);
    /* not under assertionMethod */
    json_t *doc2 = json_deep_copy(doc);
    json_array_remove(json_object_get(doc2, "assertionMethod"), 1);
    assert_int_equal(issuer_resolve_key(did, vm, doc2, &got, &d), ERR_UNAUTHENTICATED);
    assert_string_equal(d.field, "proofPurpose");
    json_decref(doc2);
    /* controlled by someone else */
    doc2 = json_deep_copy(doc);
    json_object_set_new(json_array_get(json_object_get(doc2, "verificationMethod"), 1),
                        "controller", json_string("did:web:evil.example"));
    assert_int_equal(issuer_resolve_key(did, vm, doc2, &got, &d), ERR_UNAUTHENTICATED);
    json_decref(doc2);
    /* relative ids in a hand-written document */
    doc2 = json_deep_copy(doc);
    const char *frag = strchr(vm, '#');
    json_object_set_new(json_array_get(json_object_get(doc2, "verificationMethod"), 1), "id",
                        json_string(frag));
    json_array_set_new(json_object_get(doc2, "assertionMethod"), 1, json_string(frag));
    assert_int_equal(issuer_resolve_key(did, vm, doc2, &got, &d), 0);
    keys_destroy(&got);
    json_decref(doc2);

    /* did:key: the key is the DID; a vm of another did:key is not the issuer's */
    char kdid[KEYS_DID_MAX], kvm[KEYS_VM_ID_MAX], svm[KEYS_VM_ID_MAX];
    keys_did_key(cur, kdid, sizeof kdid);
    keys_vm_id(cur, kvm, sizeof kvm);
    keys_vm_id(stranger, svm, sizeof svm);
    assert_int_equal(issuer_resolve_key(kdid, kvm, NULL, &got, &d), 0);
    keys_destroy(&got);
    assert_int_equal(issuer_resolve_key(kdid, svm, NULL, &got, &d), ERR_UNAUTHENTICATED);
    assert_int_equal(issuer_resolve_key("did:example:123", "did:example:123#k", NULL, &got, &d),
                     ERR_INVALID);
    assert_non_null(strstr(d.message, "unknown DID method \"example\""));
    assert_int_equal(issuer_resolve_key("https://school.example", "x", NULL, &got, &d),
                     ERR_INVALID);
    assert_int_equal(issuer_did_document("did:key:z6Mk", keys, 3, &doc2, &d), ERR_INVALID);
    assert_int_equal(issuer_did_document(did, keys, 0, &doc2, &d), ERR_INVALID);

    json_decref(doc);
    keys_destroy(&old);
    keys_destroy(&cur);
    keys_destroy(&rsa);
    keys_destroy(&stranger);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_did_web),
        cmocka_unit_test(test_vm_ids),
        cmocka_unit_test(test_document_and_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
