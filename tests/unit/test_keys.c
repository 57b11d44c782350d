/* Unit tests for keys: file round trips and permissions, signing, and published vectors
 * (vc-di-eddsa keyPair.json, RFC 8037 appendix A, RFC 7638 section 3.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "keys.h"

typedef struct fixture {
    char dir[64];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_keys.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void path_in(const fixture_t *f, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", f->dir, name);
}

static void check_sign_verify(keys_t *signer, keys_t *verifier)
{
    uint8_t msg[1500], sig[KEYS_SIG_MAX];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7);
    size_t len = 0;
    err_detail_t d;
    assert_int_equal(keys_sign(signer, msg, sizeof msg, sig, sizeof sig, &len, &d), 0);
    assert_int_equal(len, keys_sig_size(signer));
    assert_int_equal(keys_verify(verifier, msg, sizeof msg, sig, len, &d), 0);
    /* A second signature through the cached context verifies too. */
    assert_int_equal(keys_sign(signer, msg, 10, sig, sizeof sig, &len, &d), 0);
    assert_int_equal(keys_verify(verifier, msg, 10, sig, len, &d), 0);
    /* Tampering with the message or the signature is detected. */
    msg[3] ^= 1;
    assert_int_equal(keys_verify(verifier, msg, 10, sig, len, &d), ERR_UNAUTHENTICATED);
    assert_string_equal(d.field, "signature");
    msg[3] ^= 1;
    sig[len - 1] ^= 0x80;
    assert_int_equal(keys_verify(verifier, msg, 10, sig, len, &d), ERR_UNAUTHENTICATED);
    sig[len - 1] ^= 0x80;
    assert_int_equal(keys_verify(verifier, msg, 10, sig, len - 1, &d), ERR_UNAUTHENTICATED);
    assert_int_equal(keys_verify(verifier, msg, 10, sig, len, &d), 0);
    /* Buffers are checked. */
    assert_int_equal(keys_sign(signer, msg, 10, sig, len - 1, &len, &d), ERR_LIMIT);
}

static void round_trip(fixture_t *f, keys_alg_t alg, const char *name)
{
    char path[256];
    path_in(f, name, path, sizeof path);
    keys_t *k = NULL, *loaded = NULL, *other = NULL;
    err_detail_t d;
    assert_int_equal(keys_generate(alg, &k, &d), 0);
    assert_int_equal(keys_alg(k), alg);
    assert_true(keys_has_private(k));
    assert_int_equal(keys_save(k, path, 0, &d), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Only the key file is left behind (no temporary). */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | grep -c tmp) -eq 0", f->dir);
    assert_int_equal(system(cmd), 0);

    assert_int_equal(keys_load(path, &loaded, &d), 0);
    char id1[KEYS_ID_MAX], id2[KEYS_ID_MAX];
    assert_int_equal(keys_id(k, id1, sizeof id1), 0);
    assert_int_equal(keys_id(loaded, id2, sizeof id2), 0);
    assert_string_equal(id1, id2);
    assert_int_equal(strlen(id1), 43);
    check_sign_verify(loaded, k);
    check_sign_verify(k, loaded);

    /* A signature by another key of the same type fails. */
    assert_int_equal(keys_generate(alg, &other, &d), 0);
    uint8_t sig[KEYS_SIG_MAX];
    size_t len;
    assert_int_equal(keys_sign(other, (const uint8_t *)"m", 1, sig, sizeof sig, &len, &d), 0);
    assert_int_equal(keys_verify(k, (const uint8_t *)"m", 1, sig, len, &d), ERR_UNAUTHENTICATED);

    /* An existing key file is never overwritten unless asked. */
    assert_int_equal(keys_save(other, path, 0, &d), ERR_CONFLICT);
    keys_destroy(&loaded);
    assert_int_equal(keys_load(path, &loaded, &d), 0);
    assert_int_equal(keys_id(loaded, id2, sizeof id2), 0);
    assert_string_equal(id1, id2);
    keys_destroy(&loaded);
    assert_int_equal(keys_save(other, path, KEYS_SAVE_REPLACE, &d), 0);
    assert_int_equal(keys_load(path, &loaded, &d), 0);
    assert_int_equal(keys_id(loaded, id2, sizeof id2), 0);
    assert_string_not_equal(id1, id2);

    /* The JWK carries the public key: a key made from it verifies the key's signatures. */
    json_t *jwk = NULL;
    keys_t *pub = NULL;
    assert_int_equal(keys_jwk(k, &jwk), 0);
    assert_string_equal(json_string_value(json_object_get(jwk, "kty")),
                        alg == KEYS_ED25519 ? "OKP" : "RSA");
    assert_null(json_object_get(jwk, "d"));
    assert_int_equal(keys_from_jwk(jwk, &pub, &d), 0);
    assert_false(keys_has_private(pub));
    check_sign_verify(k, pub);
    assert_int_equal(keys_sign(pub, (const uint8_t *)"m", 1, sig, sizeof sig, &len, &d),
                     ERR_INVALID);
    assert_int_equal(keys_save(pub, path, KEYS_SAVE_REPLACE, &d), ERR_INVALID);
    json_decref(jwk);

    keys_destroy(&pub);
    keys_destroy(&other);
    keys_destroy(&loaded);
    keys_destroy(&k);
    keys_destroy(&k); /* idempotent */
    assert_null(k);
}

static void test_ed25519_round_trip(void **state)
{
    round_trip(*state, KEYS_ED25519, "issuer-ed25519.pem");
}

static void test_rsa_round_trip(void **state)
{
    round_trip(*state, KEYS_RSA, "issuer-rsa.pem");
}

static void test_load_refusals(void **state)
{
    fixture_t *f = *state;
    char path[256], link_path[256];
    path_in(f, "k.pem", path, sizeof path);
    keys_t *k = NULL, *loaded = NULL;
    err_detail_t d;
    assert_int_equal(keys_generate(KEYS_ED25519, &k, &d), 0);
    assert_int_equal(keys_save(k, path, 0, &d), 0);

    const mode_t modes[] = {0644, 0640, 0604, 0660, 0602, 0610};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        assert_int_equal(chmod(path, modes[i]), 0);
        assert_int_equal(keys_load(path, &loaded, &d), ERR_FORBIDDEN);
        assert_null(loaded);
        assert_string_equal(d.field, "path");
        assert_non_null(strstr(d.message, "chmod 600"));
    }
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(keys_load(path, &loaded, &d), 0);
    keys_destroy(&loaded);

    path_in(f, "link.pem", link_path, sizeof link_path);
    assert_int_equal(symlink(path, link_path), 0);
    assert_int_equal(keys_load(link_path, &loaded, &d), ERR_INVALID);

    path_in(f, "missing.pem", path, sizeof path);
    assert_int_equal(keys_load(path, &loaded, &d), ERR_NOT_FOUND);

    path_in(f, "garbage.pem", path, sizeof path);
    FILE *g = fopen(path, "w");
    fputs("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n", g);
    fclose(g);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(keys_load(path, &loaded, &d), ERR_INVALID);

    /* An RSA key below 2048 bits is refused. */
    path_in(f, "weak.pem", path, sizeof path);
    EVP_PKEY *weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    assert_non_null(weak);
    g = fopen(path, "w");
    assert_int_equal(PEM_write_PKCS8PrivateKey(g, weak, NULL, NULL, 0, NULL, NULL), 1);
    fclose(g);
    EVP_PKEY_free(weak);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(keys_load(path, &loaded, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "1024"));

    /* Saving into a missing directory reports the I/O error. */
    path_in(f, "no/such/dir.pem", path, sizeof path);
    assert_int_equal(keys_save(k, path, 0, &d), ERR_UNAVAILABLE);
    keys_destroy(&k);
}

/* Reads a JSON vector file's string member. */
static char *vector_string(const char *file, const char *member)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", MASTERY_VECTORS, file);
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    assert_non_null(v);
    const char *s = json_string_value(json_object_get(v, member));
    assert_non_null(s);
    char *copy = strdup(s);
    json_decref(v);
    return copy;
}

static void test_vc_di_eddsa_key_pair(void **state)
{
    (void)state;
    char *secret = vector_string("vc-di-eddsa/keyPair.json", "privateKeyMultibase");
    char *public = vector_string("vc-di-eddsa/keyPair.json", "publicKeyMultibase");
    char *vm =
        vector_string("vc-di-eddsa/eddsa-jcs-2022/proofConfigJCS.json", "verificationMethod");
    keys_t *k = NULL, *pub = NULL;
    err_detail_t d;
    assert_int_equal(keys_from_secret_multibase(secret, &k, &d), 0);
    char text[KEYS_VM_ID_MAX];
    assert_int_equal(keys_public_multibase(k, text, sizeof text), 0);
    assert_string_equal(text, public);
    assert_int_equal(keys_did_key(k, text, sizeof text), 0);
    assert_string_equal(text, "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2");
    assert_int_equal(keys_vm_id(k, text, sizeof text), 0);
    assert_string_equal(text, vm);
    assert_int_equal(keys_did_key(k, text, 20), ERR_LIMIT);

    /* The verification method id resolves back to the same public key. */
    assert_int_equal(keys_from_did_key(vm, &pub, &d), 0);
    uint8_t a[32], b[32];
    assert_int_equal(keys_public_raw(k, a), 0);
    assert_int_equal(keys_public_raw(pub, b), 0);
    assert_memory_equal(a, b, 32);
    check_sign_verify(k, pub);
    keys_destroy(&pub);

    const char *bad_dids[] = {
        "did:web:example.com",
        "did:key:",
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#other",
        "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", /* secp256k1 */
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ0",
    };
    for (size_t i = 0; i < sizeof bad_dids / sizeof bad_dids[0]; i++) {
        assert_int_equal(keys_from_did_key(bad_dids[i], &pub, &d), ERR_INVALID);
        assert_null(pub);
    }
    /* A public multibase is not a secret one. */
    assert_int_equal(keys_from_secret_multibase(public, &pub, &d), ERR_INVALID);
    assert_int_equal(keys_from_public_multibase(secret, &pub, &d), ERR_INVALID);
    keys_destroy(&k);
    free(vm);
    free(public);
    free(secret);
}

static void test_rfc8037_ed25519(void **state)
{
    (void)state;
    /* RFC 8037 appendix A.1-A.4: the key, its thumbprint and a deterministic signature. */
    uint8_t seed[32];
    size_t n;
    const char *dd = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    assert_int_equal(codec_base64url_decode(dd, strlen(dd), seed, sizeof seed, &n), 0);
    keys_t *k = NULL;
    err_detail_t d;
    assert_int_equal(keys_from_seed(seed, &k, &d), 0);
    json_t *jwk = NULL;
    assert_int_equal(keys_jwk(k, &jwk), 0);
    assert_string_equal(json_string_value(json_object_get(jwk, "x")),
                        "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "Ed25519");
    json_decref(jwk);
    char id[KEYS_ID_MAX];
    assert_int_equal(keys_id(k, id, sizeof id), 0);
    assert_string_equal(id, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    const char *input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    uint8_t sig[64];
    char text[100];
    assert_int_equal(keys_sign(k, (const uint8_t *)input, strlen(input), sig, sizeof sig, &n, &d),
                     0);
    assert_int_equal(codec_base64url_encode(sig, n, text, sizeof text, NULL), 0);
    assert_string_equal(text, "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5B"
                              "hVsPt9g7sVvpAr_MuM0KAg");
    keys_destroy(&k);
}

static void test_rfc7638_rsa_thumbprint(void **state)
{
    (void)state;
    json_t *jwk = json_pack(
        "{s:s,s:s,s:s,s:s}", "kty", "RSA", "e", "AQAB", "alg", "RS256", "n",
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
        "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
        "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
        "kEgU8awapJzKnqDKgw");
    keys_t *k = NULL;
    err_detail_t d;
    assert_int_equal(keys_from_jwk(jwk, &k, &d), 0);
    assert_int_equal(keys_alg(k), KEYS_RSA);
    assert_int_equal(keys_sig_size(k), 256);
    char id[KEYS_ID_MAX];
    assert_int_equal(keys_id(k, id, sizeof id), 0);
    assert_string_equal(id, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    json_t *back = NULL;
    assert_int_equal(keys_jwk(k, &back), 0);
    assert_true(json_equal(json_object_get(back, "n"), json_object_get(jwk, "n")));
    assert_string_equal(json_string_value(json_object_get(back, "e")), "AQAB");
    /* RSA keys have no did:key form here. */
    char did[KEYS_DID_MAX];
    assert_int_equal(keys_did_key(k, did, sizeof did), ERR_INVALID);
    json_decref(back);
    keys_destroy(&k);

    /* Private members and malformed members are refused, naming the member. */
    json_object_set_new(jwk, "d", json_string("AQAB"));
    assert_int_equal(keys_from_jwk(jwk, &k, &d), ERR_INVALID);
    assert_string_equal(d.field, "d");
    json_object_del(jwk, "d");
    json_object_set_new(jwk, "n", json_string("not+base64url"));
    assert_int_equal(keys_from_jwk(jwk, &k, &d), ERR_INVALID);
    assert_string_equal(d.field, "n");
    json_decref(jwk);
    jwk = json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "X25519", "x",
                    "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    assert_int_equal(keys_from_jwk(jwk, &k, &d), ERR_INVALID);
    assert_string_equal(d.field, "crv");
    json_decref(jwk);
    jwk = json_pack("{s:s}", "kty", "EC");
    assert_int_equal(keys_from_jwk(jwk, &k, &d), ERR_INVALID);
    assert_string_equal(d.field, "kty");
    json_decref(jwk);
    assert_null(k);
}

static void test_dup(void **state)
{
    (void)state;
    keys_t *k = NULL, *c = NULL;
    err_detail_t d;
    assert_int_equal(keys_generate(KEYS_ED25519, &k, &d), 0);
    assert_int_equal(keys_dup(k, &c), 0);
    keys_destroy(&k);
    check_sign_verify(c, c);
    keys_destroy(&c);
    assert_int_equal(keys_generate((keys_alg_t)99, &k, &d), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ed25519_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_refusals, setup, teardown),
        cmocka_unit_test(test_vc_di_eddsa_key_pair),
        cmocka_unit_test(test_rfc8037_ed25519),
        cmocka_unit_test(test_rfc7638_rsa_thumbprint),
        cmocka_unit_test(test_dup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
