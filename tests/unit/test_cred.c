/* Unit tests for cred: the OpenBadgeCredential shape, the identity hash (the OB 3.0 spec's
 * example), the eddsa-jcs-2022 proof (same bytes as dataint, verifies), the VC-JWT claims
 * (EdDSA and RS256), the achievement object, status entries, and refused input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cred.h"
#include "dataint.h"
#include "jcs.h"
#include "jws.h"
#include "keys.h"

/* 2026-11-20T10:15:00Z */
#define T0 1795169700000LL

static keys_t *seed_key(uint8_t fill)
{
    uint8_t seed[32];
    memset(seed, fill, sizeof seed);
    keys_t *k = NULL;
    assert_int_equal(keys_from_seed(seed, &k, NULL), 0);
    return k;
}

static void base_input(cred_input_t *in, const char *did)
{
    cred_input_init(in);
    in->id = "urn:uuid:3fa85f64-5717-4562-b3fc-2c963f66afa6";
    in->issuer.did = did;
    in->issuer.name = "Lincoln Elementary";
    in->issuer.url = "https://lincoln.example.edu";
    in->issuer.email = "registrar@lincoln.example.edu";
    in->issuer.image = "https://lincoln.example.edu/logo.png";
    in->valid_from_ms = T0;
    in->framework_id = "urn:example:math:fractions-g5";
    in->framework_version = "2026.1";
    in->competency_id = "frac.add-like";
    in->competency_title = "Add fractions with like denominators";
    in->learner_id = "s-1001";
    in->salt = "pepper";
}

static const char *str_at(const json_t *root, const char *path)
{
    /* path like "credentialSubject.achievement.name" (objects only) */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *v = root;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok != NULL;
         tok = strtok_r(NULL, ".", &save))
        v = json_object_get(v, tok);
    return json_string_value(v);
}

static void test_urn_uuid(void **state)
{
    (void)state;
    uint8_t rnd[16];
    for (int i = 0; i < 16; i++)
        rnd[i] = (uint8_t)(0xf0 + i);
    char out[CRED_URN_UUID_MAX];
    assert_int_equal(cred_urn_uuid(rnd, out, sizeof out), 0);
    /* version nibble 4 in byte 6, variant 10xx in byte 8 */
    assert_string_equal(out, "urn:uuid:f0f1f2f3-f4f5-46f7-b8f9-fafbfcfdfeff");
    assert_int_equal(cred_urn_uuid(rnd, out, 20), ERR_LIMIT);
    char a[CRED_URN_UUID_MAX], b[CRED_URN_UUID_MAX];
    assert_int_equal(cred_urn_uuid_random(a, sizeof a), 0);
    assert_int_equal(cred_urn_uuid_random(b, sizeof b), 0);
    assert_int_equal(strlen(a), 45);
    assert_string_not_equal(a, b);
    assert_int_equal(a[23], '4');
}

static void test_identity_hash_spec_example(void **state)
{
    (void)state;
    char h[80];
    /* Open Badges 3.0, IdentityHash: 'a@example.com' salted with 'Kosher'. */
    assert_int_equal(cred_identity_hash("a@example.com", "Kosher", h, sizeof h), 0);
    assert_string_equal(h,
                        "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399");
    assert_int_equal(cred_identity_hash("a", "b", h, 10), ERR_LIMIT);
}

static void test_build_shape(void **state)
{
    (void)state;
    keys_t *k = seed_key(7);
    char did[KEYS_DID_MAX];
    assert_int_equal(keys_did_key(k, did, sizeof did), 0);
    cred_input_t in;
    base_input(&in, did);
    in.source_uri = "https://case.example.org/uri/0b5c-item";
    in.source_is_case = true;
    cred_evidence_t ev[2] = {{"quiz-77-s1001-q3", "https://quiz.example/r/77", NULL},
                             {"quiz-78-s1001-q1", NULL, "Explained the steps aloud"}};
    in.evidence = ev;
    in.n_evidence = 2;
    in.revocation = (cred_status_t){"https://lincoln.example.edu/status/revocation", 4711};
    err_detail_t d;
    json_t *doc = NULL;
    assert_int_equal(cred_build(&in, &doc, &d), 0);

    json_t *ctx = json_object_get(doc, "@context");
    assert_int_equal(json_array_size(ctx), 2);
    assert_string_equal(json_string_value(json_array_get(ctx, 0)), CRED_CONTEXT_VC2);
    assert_string_equal(json_string_value(json_array_get(ctx, 1)), CRED_CONTEXT_OB30);
    json_t *type = json_object_get(doc, "type");
    assert_string_equal(json_string_value(json_array_get(type, 1)), "OpenBadgeCredential");
    assert_string_equal(str_at(doc, "issuer.id"), did);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(doc, "issuer"), "type"), 0)),
                        "Profile");
    assert_string_equal(str_at(doc, "issuer.image.type"), "Image");
    assert_string_equal(str_at(doc, "validFrom"), "2026-11-20T10:15:00Z");
    assert_null(json_object_get(doc, "validUntil"));
    /* achievement id from framework, competency, version (':' and '/' percent-encoded) */
    assert_string_equal(str_at(doc, "credentialSubject.achievement.id"),
                        "urn:masteryd:achievement:urn%3Aexample%3Amath%3Afractions-g5:frac.add-"
                        "like:2026.1");
    assert_string_equal(str_at(doc, "credentialSubject.achievement.achievementType"), "Competency");
    assert_string_equal(str_at(doc, "credentialSubject.achievement.name"),
                        "Add fractions with like denominators");
    json_t *al = json_array_get(
        json_object_get(json_object_get(json_object_get(doc, "credentialSubject"), "achievement"),
                        "alignment"),
        0);
    assert_string_equal(json_string_value(json_object_get(al, "targetType")), "CFItem");
    assert_string_equal(json_string_value(json_object_get(al, "targetUrl")),
                        "https://case.example.org/uri/0b5c-item");
    /* learner: hashed, never the raw id */
    json_t *io =
        json_array_get(json_object_get(json_object_get(doc, "credentialSubject"), "identifier"), 0);
    char want[80];
    cred_identity_hash("s-1001", "pepper", want, sizeof want);
    assert_string_equal(json_string_value(json_object_get(io, "identityHash")), want);
    assert_true(json_is_true(json_object_get(io, "hashed")));
    assert_string_equal(json_string_value(json_object_get(io, "salt")), "pepper");
    assert_null(json_object_get(json_object_get(doc, "credentialSubject"), "id"));
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(jcs_serialize(doc, &text, &len, NULL), 0);
    assert_null(strstr(text, "s-1001"));
    free(text);
    /* evidence */
    json_t *evs = json_object_get(doc, "evidence");
    assert_int_equal(json_array_size(evs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(evs, 0), "id")),
                        "https://quiz.example/r/77");
    assert_string_equal(json_string_value(json_object_get(json_array_get(evs, 1), "name")),
                        "quiz-78-s1001-q1");
    assert_null(json_object_get(json_array_get(evs, 1), "id"));
    /* one status entry: an object */
    json_t *st = json_object_get(doc, "credentialStatus");
    assert_true(json_is_object(st));
    assert_string_equal(json_string_value(json_object_get(st, "id")),
                        "https://lincoln.example.edu/status/revocation#4711");
    assert_string_equal(json_string_value(json_object_get(st, "statusListIndex")), "4711");
    assert_string_equal(json_string_value(json_object_get(st, "statusPurpose")), "revocation");
    json_decref(doc);

    /* both purposes: an array of two; a DID subject; no alignment without a source */
    in.suspension = (cred_status_t){"https://lincoln.example.edu/status/suspension", 9};
    in.learner_did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
    in.source_uri = NULL;
    in.valid_until_ms = T0 + 86400000LL;
    assert_int_equal(cred_build(&in, &doc, &d), 0);
    st = json_object_get(doc, "credentialStatus");
    assert_int_equal(json_array_size(st), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(st, 1), "statusPurpose")),
                        "suspension");
    assert_string_equal(str_at(doc, "credentialSubject.id"), in.learner_did);
    assert_null(json_object_get(json_object_get(doc, "credentialSubject"), "identifier"));
    assert_null(json_object_get(
        json_object_get(json_object_get(doc, "credentialSubject"), "achievement"), "alignment"));
    assert_string_equal(str_at(doc, "validUntil"), "2026-11-21T10:15:00Z");
    json_decref(doc);
    keys_destroy(&k);
}

static void test_random_salt(void **state)
{
    (void)state;
    cred_input_t in;
    base_input(&in, "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK");
    in.salt = NULL;
    json_t *a = NULL, *b = NULL;
    assert_int_equal(cred_build(&in, &a, NULL), 0);
    assert_int_equal(cred_build(&in, &b, NULL), 0);
    json_t *ia =
        json_array_get(json_object_get(json_object_get(a, "credentialSubject"), "identifier"), 0);
    json_t *ib =
        json_array_get(json_object_get(json_object_get(b, "credentialSubject"), "identifier"), 0);
    const char *sa = json_string_value(json_object_get(ia, "salt"));
    assert_int_equal(strlen(sa), 32);
    assert_string_not_equal(sa, json_string_value(json_object_get(ib, "salt")));
    char h[80];
    cred_identity_hash("s-1001", sa, h, sizeof h);
    assert_string_equal(json_string_value(json_object_get(ia, "identityHash")), h);
    json_decref(a);
    json_decref(b);
}

static void test_di_proof(void **state)
{
    (void)state;
    keys_t *k = seed_key(9);
    char did[KEYS_DID_MAX], vm[KEYS_VM_ID_MAX];
    keys_did_key(k, did, sizeof did);
    keys_vm_id(k, vm, sizeof vm);
    cred_input_t in;
    base_input(&in, did);
    cred_ctx_t *ctx = NULL;
    assert_int_equal(cred_ctx_new(&ctx), 0);
    json_t *doc = NULL;
    err_detail_t d;
    assert_int_equal(cred_build(&in, &doc, &d), 0);

    /* dataint's own proof over the same document and options */
    json_t *options = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "DataIntegrityProof",
                                "cryptosuite", "eddsa-jcs-2022", "created", "2026-11-20T10:15:00Z",
                                "verificationMethod", vm, "proofPurpose", "assertionMethod");
    json_t *ref = NULL;
    assert_int_equal(dataint_proof_create(doc, options, k, &ref, &d), 0);

    assert_int_equal(cred_sign_di(ctx, doc, k, vm, T0, &d), 0);
    json_t *proof = json_object_get(doc, "proof");
    assert_true(json_is_array(proof));
    assert_int_equal(json_array_size(proof), 1);
    assert_true(json_equal(json_array_get(proof, 0), ref));
    assert_int_equal(dataint_proof_verify(doc, k, NULL, &d), 0);

    /* signing again replaces the proof, never nests it */
    assert_int_equal(cred_sign_di(ctx, doc, k, vm, T0, &d), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "proof")), 1);
    assert_int_equal(dataint_proof_verify(doc, k, NULL, &d), 0);

    /* a changed byte fails; another key fails */
    json_object_set_new(doc, "name", json_string("Adding fractions!"));
    assert_int_equal(dataint_proof_verify(doc, k, NULL, &d), ERR_UNAUTHENTICATED);
    keys_t *other = seed_key(10);
    json_object_set_new(doc, "name", json_string("Add fractions with like denominators"));
    assert_int_equal(dataint_proof_verify(doc, k, NULL, &d), 0);
    assert_int_equal(dataint_proof_verify(doc, other, NULL, &d), ERR_UNAUTHENTICATED);

    /* the text form is the canonical form and parses back to the same document */
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(cred_text(ctx, doc, &text, &len, &d), 0);
    json_t *back = NULL;
    assert_int_equal(jcs_parse(text, len, &back, &d), 0);
    assert_true(json_equal(back, doc));
    assert_int_equal(dataint_proof_verify(back, k, NULL, &d), 0);
    char *canon = NULL;
    size_t clen;
    assert_int_equal(jcs_serialize(doc, &canon, &clen, NULL), 0);
    assert_int_equal(clen, len);
    assert_memory_equal(canon, text, len);
    free(canon);
    free(text);
    json_decref(back);

    /* an RSA key cannot make eddsa-jcs-2022 */
    keys_t *rsa = NULL;
    assert_int_equal(keys_generate(KEYS_RSA, &rsa, NULL), 0);
    assert_int_equal(cred_sign_di(ctx, doc, rsa, vm, T0, &d), ERR_INVALID);
    keys_destroy(&rsa);
    json_decref(ref);
    json_decref(options);
    json_decref(doc);
    keys_destroy(&other);
    keys_destroy(&k);
    cred_ctx_destroy(&ctx);
    assert_null(ctx);
}

static void check_jwt(const char *jwt, keys_t *k, const char *alg, const char *kid,
                      const json_t *doc)
{
    json_t *header = NULL, *claims = NULL;
    err_detail_t d;
    assert_int_equal(jws_verify(jwt, strlen(jwt), k, &header, &claims, &d), 0);
    assert_string_equal(json_string_value(json_object_get(header, "alg")), alg);
    assert_string_equal(json_string_value(json_object_get(header, "kid")), kid);
    assert_string_equal(json_string_value(json_object_get(claims, "iss")),
                        str_at(doc, "issuer.id"));
    assert_string_equal(json_string_value(json_object_get(claims, "jti")), str_at(doc, "id"));
    assert_int_equal(json_integer_value(json_object_get(claims, "nbf")), T0 / 1000);
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")), T0 / 1000 + 30 * 86400);
    assert_string_equal(json_string_value(json_object_get(claims, "sub")),
                        str_at(doc, "credentialSubject.id"));
    json_t *want = json_copy((json_t *)doc);
    json_object_del(want, "proof");
    assert_true(json_equal(json_object_get(claims, "vc"), want));
    json_decref(want);
    json_decref(header);
    json_decref(claims);
}

static void test_issue_and_jwt(void **state)
{
    (void)state;
    keys_t *k = seed_key(11), *rsa = NULL;
    assert_int_equal(keys_generate(KEYS_RSA, &rsa, NULL), 0);
    char did[KEYS_DID_MAX], vm[KEYS_VM_ID_MAX];
    keys_did_key(k, did, sizeof did);
    keys_vm_id(k, vm, sizeof vm);
    cred_input_t in;
    base_input(&in, did);
    in.learner_did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
    json_t *ach =
        json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:i}", "name", "Adding fractions", "description",
                  "Adds fractions with like denominators.", "criteria", "narrative",
                  "Latest score 80% or better.", "id", "https://lincoln.example.edu/criteria/frac",
                  "image", "https://lincoln.example.edu/badges/frac.png", "valid_for_days", 30);
    err_detail_t d;
    assert_int_equal(cred_input_from_achievement(&in, ach, &d), 0);
    assert_int_equal(in.valid_until_ms, T0 + 30LL * 86400000LL);
    cred_ctx_t *ctx = NULL;
    assert_int_equal(cred_ctx_new(&ctx), 0);
    cred_signer_t signer = {k, vm, NULL, NULL};
    cred_signed_t out;
    json_t *doc = NULL;
    assert_int_equal(cred_issue(ctx, &in, &signer, CRED_FORM_DI | CRED_FORM_JWT, &out, &doc, &d),
                     0);
    assert_non_null(out.json);
    assert_non_null(out.jwt);
    assert_string_equal(str_at(doc, "name"), "Adding fractions");
    assert_string_equal(str_at(doc, "credentialSubject.achievement.criteria.narrative"),
                        "Latest score 80% or better.");
    assert_string_equal(str_at(doc, "credentialSubject.achievement.criteria.id"),
                        "https://lincoln.example.edu/criteria/frac");
    assert_string_equal(str_at(doc, "credentialSubject.achievement.image.id"),
                        "https://lincoln.example.edu/badges/frac.png");
    assert_string_equal(str_at(doc, "validUntil"), "2026-12-20T10:15:00Z");
    /* the spliced text is exactly the canonical form of the signed document */
    char *canon = NULL;
    size_t clen = 0;
    assert_int_equal(jcs_serialize(doc, &canon, &clen, &d), 0);
    assert_int_equal(clen, out.json_len);
    assert_memory_equal(canon, out.json, clen);
    assert_int_equal(strlen(out.json), out.json_len);
    free(canon);
    json_t *parsed = NULL;
    assert_int_equal(jcs_parse(out.json, out.json_len, &parsed, &d), 0);
    assert_int_equal(dataint_proof_verify(parsed, k, NULL, &d), 0);
    json_decref(parsed);
    check_jwt(out.jwt, k, "EdDSA", vm, doc);
    cred_signed_free(&out);
    cred_signed_free(&out);
    json_decref(doc);

    /* RS256, JWT only */
    signer.jwt_key = rsa;
    signer.jwt_kid = "did:web:lincoln.example.edu#rsa-1";
    assert_int_equal(cred_issue(ctx, &in, &signer, CRED_FORM_JWT, &out, &doc, &d), 0);
    assert_null(out.json);
    check_jwt(out.jwt, rsa, "RS256", "did:web:lincoln.example.edu#rsa-1", doc);
    /* the RS256 token does not verify with the Ed25519 key */
    assert_int_not_equal(jws_verify(out.jwt, out.jwt_len, k, NULL, &parsed, &d), 0);
    cred_signed_free(&out);
    json_decref(doc);
    json_decref(ach);
    keys_destroy(&rsa);
    keys_destroy(&k);
    cred_ctx_destroy(&ctx);
}

static void test_achievement_errors(void **state)
{
    (void)state;
    cred_input_t in;
    err_detail_t d;
    const char *bad[] = {"{\"name\": 5}",
                         "{\"criteria\": 5}",
                         "{\"image\": [1]}",
                         "{\"valid_for_days\": 0}",
                         "{\"valid_for_days\": \"30\"}",
                         "{\"valid_for_days\": 40000}",
                         "{\"criteria\": {\"narrative\": 1}}",
                         "[]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        base_input(&in, "did:key:z");
        json_t *a = json_loads(bad[i], 0, NULL);
        assert_non_null(a);
        assert_int_equal(cred_input_from_achievement(&in, a, &d), ERR_INVALID);
        json_decref(a);
    }
    base_input(&in, "did:key:z");
    assert_int_equal(cred_input_from_achievement(&in, NULL, &d), 0);
    assert_null(in.name);
}

static void test_build_errors(void **state)
{
    (void)state;
    cred_input_t in;
    err_detail_t d;
    json_t *doc = NULL;

    base_input(&in, NULL);
    assert_int_equal(cred_build(&in, &doc, &d), ERR_INVALID);
    assert_string_equal(d.field, "issuer.did");

    base_input(&in, "did:key:z");
    in.id = "";
    assert_int_equal(cred_build(&in, &doc, &d), ERR_INVALID);
    assert_string_equal(d.field, "id");

    base_input(&in, "did:key:z");
    in.learner_id = NULL;
    assert_int_equal(cred_build(&in, &doc, &d), ERR_INVALID);
    assert_string_equal(d.field, "learner_id");

    base_input(&in, "did:key:z");
    in.valid_until_ms = T0 - 1;
    assert_int_equal(cred_build(&in, &doc, &d), ERR_INVALID);

    base_input(&in, "did:key:z");
    in.competency_title = NULL;
    assert_int_equal(cred_build(&in, &doc, &d), ERR_INVALID);
    assert_string_equal(d.field, "name");

    base_input(&in, "did:key:z");
    in.name = "bad \xff utf-8";
    assert_int_equal(cred_build(&in, &doc, &d), ERR_INVALID);

    base_input(&in, "did:key:z");
    cred_evidence_t ev = {"", NULL, NULL};
    in.evidence = &ev;
    in.n_evidence = 1;
    assert_int_equal(cred_build(&in, &doc, &d), ERR_INVALID);
    in.n_evidence = CRED_EVIDENCE_MAX + 1;
    assert_int_equal(cred_build(&in, &doc, &d), ERR_INVALID);

    base_input(&in, "did:key:z");
    in.valid_from_ms = 400000000000000LL;
    assert_int_equal(cred_build(&in, &doc, &d), ERR_INVALID);
    assert_null(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urn_uuid),
        cmocka_unit_test(test_identity_hash_spec_example),
        cmocka_unit_test(test_build_shape),
        cmocka_unit_test(test_random_salt),
        cmocka_unit_test(test_di_proof),
        cmocka_unit_test(test_issue_and_jwt),
        cmocka_unit_test(test_achievement_errors),
        cmocka_unit_test(test_build_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
