/*
 * Unit tests for dataint_rdfc: the W3C vc-di-eddsa eddsa-rdfc-2022 vectors reproduced byte
 * for byte (canonical document and proof configuration, their hashes, the signature, the
 * proofValue, the signed credential), verification, tampering, an Open Badges 3.0
 * credential signed and verified, and the quads passed to RDFC-1.0 without text giving the
 * hashes the N-Quads text round trip gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "dataint_rdfc.h"
#include "rdfc.h"

#define V MASTERY_VECTORS "/vc-di-eddsa"

static jsonld_t *JL;
static keys_t *KEY;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    static char tmp[65536];
    size_t n = fread(tmp, 1, sizeof tmp - 1, f);
    fclose(f);
    tmp[n] = '\0';
    return strdup(tmp);
}

/* A one-line file (a hash or signature), without surrounding whitespace. */
static char *slurp_line(const char *path)
{
    char *s = slurp(path);
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
    return s;
}

static json_t *load(const char *path)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (j == NULL)
        fail_msg("%s: %s", path, je.text);
    return j;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    size_t len;
    assert_int_equal(codec_hex_encode(b, n, out, 2 * n + 1, &len), 0);
    assert_int_equal(len, 2 * n);
}

static int setup(void **state)
{
    (void)state;
    JL = jsonld_new();
    json_t *kp = load(V "/keyPair.json");
    err_detail_t d;
    int rc = keys_from_secret_multibase(
        json_string_value(json_object_get(kp, "privateKeyMultibase")), &KEY, &d);
    char pub[128];
    if (rc == 0)
        rc = keys_public_multibase(KEY, pub, sizeof pub);
    if (rc == 0 && strcmp(pub, json_string_value(json_object_get(kp, "publicKeyMultibase"))) != 0)
        rc = -1;
    json_decref(kp);
    return JL != NULL && rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    jsonld_destroy(&JL);
    keys_destroy(&KEY);
    return 0;
}

static void check_vector(const char *dir, const char *doc_path)
{
    char path[512];
    err_detail_t d;
    json_t *doc = load(doc_path);
    snprintf(path, sizeof path, "%s/proofConfigDataInt.json", dir);
    json_t *options = load(path);
    json_object_del(options, "@context"); /* the file is the configuration: options + @context */

    /* canonical document and its hash */
    char *canon = NULL;
    size_t len;
    if (dataint_rdfc_canonize(JL, doc, &canon, &len, &d) != 0)
        fail_msg("%s", d.message);
    snprintf(path, sizeof path, "%s/canonDocDataInt.txt", dir);
    char *want = slurp(path);
    assert_string_equal(canon, want);
    free(want);
    uint8_t h[32];
    char hx[129];
    SHA256((const unsigned char *)canon, len, h);
    hex(h, 32, hx);
    snprintf(path, sizeof path, "%s/docHashDataInt.txt", dir);
    want = slurp_line(path);
    assert_string_equal(hx, want);
    free(want);
    free(canon);

    /* canonical proof configuration and its hash */
    json_t *config = NULL;
    assert_int_equal(dataint_rdfc_proof_config(doc, options, &config, &d), 0);
    if (dataint_rdfc_canonize(JL, config, &canon, &len, &d) != 0)
        fail_msg("%s", d.message);
    snprintf(path, sizeof path, "%s/proofCanonDataInt.txt", dir);
    want = slurp(path);
    assert_string_equal(canon, want);
    free(want);
    SHA256((const unsigned char *)canon, len, h);
    hex(h, 32, hx);
    snprintf(path, sizeof path, "%s/proofHashDataInt.txt", dir);
    want = slurp_line(path);
    assert_string_equal(hx, want);
    free(want);
    free(canon);

    /* hashData */
    uint8_t hd[DATAINT_RDFC_HASH_LEN];
    assert_int_equal(dataint_rdfc_hash_data(JL, doc, config, hd, &d), 0);
    hex(hd, sizeof hd, hx);
    snprintf(path, sizeof path, "%s/combinedHashDataInt.txt", dir);
    want = slurp_line(path);
    assert_string_equal(hx, want);
    free(want);
    json_decref(config);

    /* the proof: signature hex and proofValue */
    json_t *proof = NULL;
    if (dataint_rdfc_proof_create(JL, doc, options, KEY, &proof, &d) != 0)
        fail_msg("%s", d.message);
    const char *pv = json_string_value(json_object_get(proof, "proofValue"));
    snprintf(path, sizeof path, "%s/sigBTC58DataInt.txt", dir);
    want = slurp_line(path);
    assert_string_equal(pv, want);
    free(want);
    uint8_t sig[65];
    size_t sig_len;
    assert_int_equal(codec_multibase_decode(pv, strlen(pv), NULL, sig, sizeof sig, &sig_len), 0);
    assert_int_equal(sig_len, 64);
    hex(sig, 64, hx);
    snprintf(path, sizeof path, "%s/sigHexDataInt.txt", dir);
    want = slurp_line(path);
    assert_string_equal(hx, want);
    free(want);
    assert_null(json_object_get(proof, "@context"));
    json_decref(proof);

    /* the signed credential, as published */
    assert_int_equal(dataint_rdfc_sign(JL, doc, options, KEY, &d), 0);
    snprintf(path, sizeof path, "%s/signedDataInt.json", dir);
    json_t *signed_doc = load(path);
    assert_true(json_equal(doc, signed_doc));

    /* verification with the key named by verificationMethod */
    keys_t *pub = NULL;
    const char *vm = json_string_value(json_object_get(options, "verificationMethod"));
    assert_int_equal(keys_from_did_key(vm, &pub, &d), 0);
    const json_t *verified = NULL;
    if (dataint_rdfc_proof_verify(JL, signed_doc, pub, &verified, &d) != 0)
        fail_msg("%s", d.message);
    assert_ptr_equal(verified, json_object_get(signed_doc, "proof"));

    /* any change to the data breaks it; so does a change to the proof options */
    json_object_set_new(signed_doc, "name", json_string("Tampered"));
    assert_int_equal(dataint_rdfc_proof_verify(JL, signed_doc, pub, NULL, &d), ERR_UNAUTHENTICATED);
    json_object_set(signed_doc, "name", json_object_get(doc, "name"));
    json_t *p = json_object_get(signed_doc, "proof");
    json_object_set_new(p, "created", json_string("2023-02-24T23:36:39Z"));
    assert_int_equal(dataint_rdfc_proof_verify(JL, signed_doc, pub, NULL, &d), ERR_UNAUTHENTICATED);

    keys_destroy(&pub);
    json_decref(signed_doc);
    json_decref(options);
    json_decref(doc);
}

static void test_vector_alumni(void **state)
{
    (void)state;
    check_vector(V "/eddsa-rdfc-2022", V "/unsigned.json");
}

static void test_vector_employ(void **state)
{
    (void)state;
    check_vector(V "/eddsa-rdfc-2022/employ", V "/employmentAuth.json");
}

static const char *badge =
    "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\","
    "\"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json\"],"
    "\"id\":\"urn:uuid:a63a60be-f4af-491c-87fc-2c8fd3007a58\","
    "\"type\":[\"VerifiableCredential\",\"OpenBadgeCredential\"],"
    "\"name\":\"Add fractions\","
    "\"issuer\":{\"id\":\"did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2\","
    "\"type\":[\"Profile\"],\"name\":\"Example School\"},"
    "\"validFrom\":\"2026-11-20T10:15:00Z\",\"validUntil\":\"2031-11-20T10:15:00Z\","
    "\"credentialSubject\":{\"id\":\"did:example:learner\",\"type\":[\"AchievementSubject\"],"
    "\"achievement\":{\"id\":\"https://school.example/a/1\",\"type\":[\"Achievement\"],"
    "\"achievementType\":\"Competency\",\"name\":\"Add fractions\","
    "\"criteria\":{\"narrative\":\"80% or better\"},"
    "\"alignment\":[{\"type\":[\"Alignment\"],\"targetName\":\"Add\","
    "\"targetUrl\":\"https://case.example/1\"}]}},"
    "\"evidence\":[{\"id\":\"https://school.example/e/1\",\"type\":[\"Evidence\"]}],"
    "\"credentialStatus\":{\"id\":\"https://school.example/status/1#9\","
    "\"type\":\"BitstringStatusListEntry\",\"statusPurpose\":\"revocation\","
    "\"statusListIndex\":\"9\",\"statusListCredential\":\"https://school.example/status/1\"}}";

static const char *options_json =
    "{\"type\":\"DataIntegrityProof\",\"cryptosuite\":\"eddsa-rdfc-2022\","
    "\"created\":\"2026-11-20T10:15:01Z\",\"verificationMethod\":\"did:key:z6MkrJVnaZkeFzdQyMZu1"
    "cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2\","
    "\"proofPurpose\":\"assertionMethod\"}";

static void test_open_badge_roundtrip(void **state)
{
    (void)state;
    json_error_t je;
    json_t *doc = json_loads(badge, 0, &je), *options = json_loads(options_json, 0, &je);
    assert_non_null(doc);
    assert_non_null(options);
    err_detail_t d;
    if (dataint_rdfc_sign(JL, doc, options, KEY, &d) != 0)
        fail_msg("%s", d.message);
    const json_t *verified;
    assert_int_equal(dataint_rdfc_proof_verify(JL, doc, KEY, &verified, &d), 0);

    /* a proof set: an unrelated proof first, then ours */
    json_t *set = json_array();
    json_array_append_new(
        set, json_pack("{s:s,s:s}", "type", "Ed25519Signature2020", "proofValue", "z1"));
    json_array_append(set, json_object_get(doc, "proof"));
    json_object_set_new(doc, "proof", set);
    assert_int_equal(dataint_rdfc_proof_verify(JL, doc, KEY, &verified, &d), 0);
    assert_ptr_equal(verified, json_array_get(set, 1));

    /* a term no context defines cannot be signed (it would not be covered) */
    json_object_set_new(json_object_get(doc, "credentialSubject"), "fooBar", json_true());
    assert_int_equal(dataint_rdfc_sign(JL, doc, options, KEY, &d), ERR_INVALID);
    assert_string_equal(d.field, "credentialSubject.fooBar");
    /* ... and added after signing, it breaks verification with the same error */
    assert_int_equal(dataint_rdfc_proof_verify(JL, doc, KEY, NULL, &d), ERR_INVALID);
    json_object_del(json_object_get(doc, "credentialSubject"), "fooBar");

    /* bad options */
    json_object_set_new(options, "cryptosuite", json_string("eddsa-jcs-2022"));
    assert_int_equal(dataint_rdfc_sign(JL, doc, options, KEY, &d), ERR_INVALID);
    assert_string_equal(d.field, "cryptosuite");
    json_object_set_new(options, "cryptosuite", json_string("eddsa-rdfc-2022"));
    json_object_set_new(options, "created", json_string("2026-11-20"));
    assert_int_equal(dataint_rdfc_sign(JL, doc, options, KEY, &d), ERR_INVALID);
    assert_string_equal(d.field, "created");

    /* an unknown context */
    json_array_append_new(json_object_get(doc, "@context"),
                          json_string("https://example.org/unknown/v1"));
    json_object_set_new(options, "created", json_string("2026-11-20T10:15:01Z"));
    assert_int_equal(dataint_rdfc_sign(JL, doc, options, KEY, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "https://example.org/unknown/v1"));
    json_decref(options);
    json_decref(doc);
}

/* SHA-256 of canon(v) the long way: toRdf as text, parsed back, canonicalized. */
static void hash_via_text(const json_t *v, uint8_t out[32])
{
    const char *nq;
    size_t nq_len, len;
    err_detail_t d;
    if (jsonld_to_rdf(JL, v, &nq, &nq_len, &d) != 0)
        fail_msg("%s", d.message);
    char *canon = NULL;
    assert_int_equal(rdfc_canonicalize_nquads(nq, nq_len, NULL, &canon, &len, &d), 0);
    SHA256((const unsigned char *)canon, len, out);
    free(canon);
}

/*
 * hashData over the dataset (no text) equals hashData over the printed and parsed N-Quads,
 * for the vectors' documents and an Open Badges credential (blank nodes for its criteria and
 * alignment), so signatures made either way verify the other way.
 */
static void test_direct_equals_text(void **state)
{
    (void)state;
    static const char *const docs[] = {V "/unsigned.json", V "/employmentAuth.json"};
    json_error_t je;
    json_t *options = json_loads(options_json, 0, &je);
    assert_non_null(options);
    for (size_t i = 0; i < sizeof docs / sizeof docs[0] + 1; i++) {
        json_t *doc = i < sizeof docs / sizeof docs[0] ? load(docs[i]) : json_loads(badge, 0, &je);
        assert_non_null(doc);
        json_t *config = NULL;
        err_detail_t d;
        assert_int_equal(dataint_rdfc_proof_config(doc, options, &config, &d), 0);
        uint8_t direct[DATAINT_RDFC_HASH_LEN], via_text[DATAINT_RDFC_HASH_LEN];
        if (dataint_rdfc_hash_data(JL, doc, config, direct, &d) != 0)
            fail_msg("%s", d.message);
        hash_via_text(config, via_text);
        hash_via_text(doc, via_text + 32);
        assert_memory_equal(direct, via_text, sizeof direct);
        json_decref(config);
        json_decref(doc);
    }
    json_decref(options);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_alumni),
        cmocka_unit_test(test_vector_employ),
        cmocka_unit_test(test_open_badge_roundtrip),
        cmocka_unit_test(test_direct_equals_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
