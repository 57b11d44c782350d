/* Unit tests for dataint: the W3C vc-di-eddsa eddsa-jcs-2022 test vectors, byte for byte,
 * then verification, tampering and option checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "dataint.h"
#include "jcs.h"
#include "keys.h"

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vc-di-eddsa/%s", MASTERY_VECTORS, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *data = malloc(65536);
    assert_non_null(data);
    size_t n = fread(data, 1, 65535, f);
    fclose(f);
    data[n] = '\0';
    *len = n;
    return data;
}

static json_t *load_json(const char *name)
{
    size_t len;
    char *text = slurp(name, &len);
    json_t *v = NULL;
    err_detail_t d;
    assert_int_equal(jcs_parse(text, len, &v, &d), 0);
    free(text);
    return v;
}

/* Asserts that got equals the whole vector file, byte for byte. */
static void assert_matches_file(const char *got, size_t got_len, const char *name)
{
    size_t len;
    char *want = slurp(name, &len);
    if (got_len != len || memcmp(got, want, len) != 0)
        fail_msg("%s differs:\n got  %.*s\n want %s", name, (int)got_len, got, want);
    free(want);
}

static keys_t *vector_key(void)
{
    json_t *pair = load_json("keyPair.json");
    keys_t *k = NULL;
    err_detail_t d;
    assert_int_equal(keys_from_secret_multibase(
                         json_string_value(json_object_get(pair, "privateKeyMultibase")), &k, &d),
                     0);
    json_decref(pair);
    return k;
}

static void test_vectors_byte_for_byte(void **state)
{
    (void)state;
    keys_t *k = vector_key();
    json_t *doc = load_json("unsigned.json");
    json_t *options = load_json("eddsa-jcs-2022/proofConfigJCS.json");
    err_detail_t d;
    char *canon = NULL, hex[200];
    size_t len;

    json_t *config = NULL;
    assert_int_equal(dataint_proof_config(doc, options, &config, &d), 0);
    assert_int_equal(jcs_serialize(config, &canon, &len, &d), 0);
    assert_matches_file(canon, len, "eddsa-jcs-2022/proofCanonJCS.txt");
    free(canon);
    assert_int_equal(jcs_serialize(doc, &canon, &len, &d), 0);
    assert_matches_file(canon, len, "eddsa-jcs-2022/canonDocJCS.txt");
    free(canon);

    uint8_t hash[DATAINT_HASH_LEN];
    assert_int_equal(dataint_hash_data(doc, config, hash, &d), 0);
    assert_int_equal(codec_hex_encode(hash, 32, hex, sizeof hex, &len), 0);
    assert_matches_file(hex, len, "eddsa-jcs-2022/proofHashJCS.txt");
    assert_int_equal(codec_hex_encode(hash + 32, 32, hex, sizeof hex, &len), 0);
    assert_matches_file(hex, len, "eddsa-jcs-2022/docHashJCS.txt");
    assert_int_equal(codec_hex_encode(hash, 64, hex, sizeof hex, &len), 0);
    assert_matches_file(hex, len, "eddsa-jcs-2022/combinedHashJCS.txt");
    json_decref(config);

    json_t *proof = NULL;
    assert_int_equal(dataint_proof_create(doc, options, k, &proof, &d), 0);
    const char *value = json_string_value(json_object_get(proof, "proofValue"));
    assert_non_null(value);
    assert_matches_file(value, strlen(value), "eddsa-jcs-2022/sigBTC58JCS.txt");
    uint8_t sig[80];
    size_t sig_len;
    assert_int_equal(codec_multibase_decode(value, strlen(value), NULL, sig, sizeof sig, &sig_len),
                     0);
    assert_int_equal(codec_hex_encode(sig, sig_len, hex, sizeof hex, &len), 0);
    assert_matches_file(hex, len, "eddsa-jcs-2022/sigHexJCS.txt");
    json_decref(proof);

    /* Securing the document yields the published signed credential. */
    json_t *signed_doc = load_json("eddsa-jcs-2022/signedJCS.json");
    assert_int_equal(dataint_sign(doc, options, k, &d), 0);
    assert_true(json_equal(doc, signed_doc));
    json_decref(signed_doc);

    /* The options need not carry @context: it is copied from the document. */
    json_t *bare = json_copy(options);
    json_object_del(bare, "@context");
    json_t *doc2 = load_json("unsigned.json");
    assert_int_equal(dataint_proof_create(doc2, bare, k, &proof, &d), 0);
    assert_string_equal(
        json_string_value(json_object_get(proof, "proofValue")),
        json_string_value(json_object_get(json_object_get(doc, "proof"), "proofValue")));
    json_decref(proof);
    json_decref(doc2);
    json_decref(bare);

    json_decref(options);
    json_decref(doc);
    keys_destroy(&k);
}

/* The public key, resolved the way a verifier would: from the proof's verificationMethod. */
static keys_t *resolve(const json_t *secured)
{
    const json_t *proof = json_object_get(secured, "proof");
    if (json_is_array(proof))
        proof = json_array_get(proof, json_array_size(proof) - 1);
    keys_t *pub = NULL;
    err_detail_t d;
    assert_int_equal(keys_from_did_key(
                         json_string_value(json_object_get(proof, "verificationMethod")), &pub, &d),
                     0);
    return pub;
}

static int verify_with(const json_t *secured, keys_t *key, err_detail_t *d)
{
    return dataint_proof_verify(secured, key, NULL, d);
}

static void test_verify_signed_vector(void **state)
{
    (void)state;
    json_t *signed_doc = load_json("eddsa-jcs-2022/signedJCS.json");
    keys_t *pub = resolve(signed_doc);
    err_detail_t d;
    const json_t *which = NULL;
    assert_int_equal(dataint_proof_verify(signed_doc, pub, &which, &d), 0);
    assert_ptr_equal(which, json_object_get(signed_doc, "proof"));

    /* Every kind of tampering is detected. */
    json_t *t = json_deep_copy(signed_doc);
    json_object_set_new(json_object_get(t, "credentialSubject"), "alumniOf",
                        json_string("The School of Forgeries"));
    assert_int_equal(verify_with(t, pub, &d), ERR_UNAUTHENTICATED);
    assert_string_equal(d.field, "proofValue");
    json_decref(t);

    t = json_deep_copy(signed_doc);
    json_object_set_new(t, "validUntil", json_string("2099-01-01T00:00:00Z"));
    assert_int_equal(verify_with(t, pub, &d), ERR_UNAUTHENTICATED);
    json_decref(t);

    t = json_deep_copy(signed_doc);
    json_object_set_new(json_object_get(t, "proof"), "created",
                        json_string("2023-02-24T23:36:39Z"));
    assert_int_equal(verify_with(t, pub, &d), ERR_UNAUTHENTICATED);
    json_decref(t);

    t = json_deep_copy(signed_doc);
    json_object_set_new(json_object_get(t, "proof"), "proofPurpose", json_string("authentication"));
    assert_int_equal(verify_with(t, pub, &d), ERR_UNAUTHENTICATED);
    json_decref(t);

    /* Another valid-looking signature value: first base58 digit changed. */
    t = json_deep_copy(signed_doc);
    json_t *proof = json_object_get(t, "proof");
    char value[128];
    snprintf(value, sizeof value, "%s", json_string_value(json_object_get(proof, "proofValue")));
    value[1] = value[1] == '2' ? '3' : '2';
    json_object_set_new(proof, "proofValue", json_string(value));
    assert_int_equal(verify_with(t, pub, &d), ERR_UNAUTHENTICATED);
    json_decref(t);

    /* The proof's @context must be a prefix of the document's. */
    t = json_deep_copy(signed_doc);
    json_array_remove(json_object_get(t, "@context"), 1);
    assert_int_equal(verify_with(t, pub, &d), ERR_UNAUTHENTICATED);
    assert_string_equal(d.field, "@context");
    json_decref(t);

    /* A different key does not verify it. */
    keys_t *other = NULL;
    assert_int_equal(keys_generate(KEYS_ED25519, &other, &d), 0);
    assert_int_equal(verify_with(signed_doc, other, &d), ERR_UNAUTHENTICATED);
    keys_destroy(&other);

    /* In a proof set, the eddsa-jcs-2022 member is found among others. */
    t = json_deep_copy(signed_doc);
    json_t *set = json_array();
    json_array_append_new(
        set, json_pack("{s:s,s:s}", "type", "Ed25519Signature2020", "proofValue", "zabc"));
    json_array_append(set, json_object_get(t, "proof"));
    json_object_set_new(t, "proof", set);
    assert_int_equal(dataint_proof_verify(t, pub, &which, &d), 0);
    assert_ptr_equal(which, json_array_get(set, 1));
    json_decref(t);

    json_decref(signed_doc);
    keys_destroy(&pub);
}

static void test_malformed(void **state)
{
    (void)state;
    json_t *signed_doc = load_json("eddsa-jcs-2022/signedJCS.json");
    keys_t *pub = resolve(signed_doc);
    err_detail_t d;
    struct {
        const char *member;
        json_t *value;
        const char *field;
    } cases[] = {
        {"proofValue", json_string("uAAAA"), "proofValue"},
        {"proofValue", json_string("z0OIl"), "proofValue"},
        {"proofValue", json_string("z2g"), "proofValue"},
        {"proofValue", json_integer(5), "proofValue"},
        {"cryptosuite", json_string("eddsa-rdfc-2022"), "cryptosuite"},
        {"type", json_string("Ed25519Signature2020"), "type"},
        {"created", json_string("2023-02-24 23:36:38"), "created"},
        {"created", json_string("2023-02-24T23:36:38"), "created"},
        {"verificationMethod", json_null(), "verificationMethod"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *t = json_deep_copy(signed_doc);
        json_object_set_new(json_object_get(t, "proof"), cases[i].member, cases[i].value);
        assert_int_equal(verify_with(t, pub, &d), ERR_INVALID);
        assert_string_equal(d.field, cases[i].field);
        json_decref(t);
    }
    json_t *t = json_deep_copy(signed_doc);
    json_object_del(t, "proof");
    assert_int_equal(verify_with(t, pub, &d), ERR_INVALID);
    assert_string_equal(d.field, "proof");
    json_decref(t);
    json_decref(signed_doc);
    keys_destroy(&pub);
}

static void test_create_checks(void **state)
{
    (void)state;
    keys_t *k = vector_key(), *rsa = NULL;
    json_t *doc = load_json("unsigned.json");
    json_t *options = load_json("eddsa-jcs-2022/proofConfigJCS.json");
    json_t *proof = NULL;
    err_detail_t d;

    json_t *o = json_copy(options);
    json_object_set_new(o, "created", json_string("yesterday"));
    assert_int_equal(dataint_proof_create(doc, o, k, &proof, &d), ERR_INVALID);
    assert_string_equal(d.field, "created");
    json_object_set_new(o, "created", json_string("2026-11-22T17:00:00.123+01:00"));
    assert_int_equal(dataint_proof_create(doc, o, k, &proof, &d), 0);
    json_decref(proof);
    json_object_set_new(o, "proofValue", json_string("z2g"));
    assert_int_equal(dataint_proof_create(doc, o, k, &proof, &d), ERR_INVALID);
    assert_string_equal(d.field, "proofValue");
    json_decref(o);

    o = json_copy(options);
    json_object_del(o, "proofPurpose");
    assert_int_equal(dataint_proof_create(doc, o, k, &proof, &d), ERR_INVALID);
    assert_string_equal(d.field, "proofPurpose");
    json_decref(o);

    json_t *arr = json_array();
    assert_int_equal(dataint_proof_create(arr, options, k, &proof, &d), ERR_INVALID);
    json_decref(arr);

    assert_int_equal(keys_generate(KEYS_RSA, &rsa, &d), 0);
    assert_int_equal(dataint_proof_create(doc, options, rsa, &proof, &d), ERR_INVALID);
    assert_string_equal(d.field, "key");

    /* A freshly generated key signs and verifies a round trip; a document that already has a
     * proof member is re-signed without signing the old proof. */
    keys_t *fresh = NULL;
    assert_int_equal(keys_generate(KEYS_ED25519, &fresh, &d), 0);
    char vm[KEYS_VM_ID_MAX];
    assert_int_equal(keys_vm_id(fresh, vm, sizeof vm), 0);
    o = json_copy(options);
    json_object_set_new(o, "verificationMethod", json_string(vm));
    assert_int_equal(dataint_sign(doc, o, fresh, &d), 0);
    assert_int_equal(dataint_sign(doc, o, fresh, &d), 0);
    keys_t *pub = resolve(doc);
    assert_int_equal(verify_with(doc, pub, &d), 0);
    keys_destroy(&pub);
    json_decref(o);

    keys_destroy(&fresh);
    keys_destroy(&rsa);
    json_decref(options);
    json_decref(doc);
    keys_destroy(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_byte_for_byte),
        cmocka_unit_test(test_verify_signed_vector),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_create_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
