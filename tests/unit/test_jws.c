/* Unit tests for jws: round trips with EdDSA and RS256, the RFC 8037 appendix A.4 token,
 * tampering, and every refusal (alg none, unknown alg, mismatched key, bad encoding). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "jws.h"

static json_t *sample_claims(void)
{
    return json_pack("{s:s,s:s,s:s,s:i,s:{s:[s,s],s:{s:s}}}", "iss", "did:key:z6Mkissuer", "sub",
                     "urn:learner:ab12", "jti", "urn:uuid:1234", "nbf", 1763800000, "vc", "type",
                     "VerifiableCredential", "OpenBadgeCredential", "credentialSubject", "id",
                     "urn:learner:ab12");
}

/* Builds "<b64u(header)>.<b64u(payload)>.<sig>" from raw parts. */
static char *make_token(const char *header, const char *payload, const char *sig)
{
    char h[512], p[512];
    assert_int_equal(
        codec_base64url_encode((const uint8_t *)header, strlen(header), h, sizeof h, NULL), 0);
    assert_int_equal(
        codec_base64url_encode((const uint8_t *)payload, strlen(payload), p, sizeof p, NULL), 0);
    size_t n = strlen(h) + strlen(p) + strlen(sig) + 3;
    char *t = malloc(n);
    snprintf(t, n, "%s.%s.%s", h, p, sig);
    return t;
}

static void round_trip(keys_alg_t alg, const char *alg_name)
{
    keys_t *k = NULL, *other = NULL, *pub = NULL;
    err_detail_t d;
    assert_int_equal(keys_generate(alg, &k, &d), 0);
    json_t *jwk = NULL;
    assert_int_equal(keys_jwk(k, &jwk), 0);
    assert_int_equal(keys_from_jwk(jwk, &pub, &d), 0);
    json_decref(jwk);

    json_t *claims = sample_claims();
    char *token = NULL;
    size_t len = 0;
    assert_int_equal(jws_sign(claims, k, "key-1", &token, &len, &d), 0);
    assert_int_equal(len, strlen(token));

    json_t *header = NULL, *got = NULL;
    assert_int_equal(jws_verify(token, len, pub, &header, &got, &d), 0);
    assert_true(json_equal(got, claims));
    assert_string_equal(json_string_value(json_object_get(header, "alg")), alg_name);
    assert_string_equal(json_string_value(json_object_get(header, "kid")), "key-1");
    assert_string_equal(json_string_value(json_object_get(header, "typ")), "JWT");
    json_decref(header);
    json_decref(got);

    /* The unverified header names the key. */
    assert_int_equal(jws_peek_header(token, len, &header, &d), 0);
    assert_string_equal(json_string_value(json_object_get(header, "kid")), "key-1");
    json_decref(header);

    /* Flipping any character of the payload or signature is detected. */
    char *dot2 = strrchr(token, '.');
    char *mid = strchr(token, '.') + 3;
    for (char *p = mid; p != NULL; p = p == mid ? dot2 + 5 : NULL) {
        char saved = *p;
        *p = saved == 'A' ? 'B' : 'A';
        int rc = jws_verify(token, len, pub, NULL, &got, &d);
        assert_true(rc == ERR_UNAUTHENTICATED || rc == ERR_INVALID);
        *p = saved;
    }
    assert_int_equal(jws_verify(token, len, pub, NULL, &got, &d), 0);
    json_decref(got);

    /* Another key of the same type does not verify it. */
    assert_int_equal(keys_generate(alg, &other, &d), 0);
    assert_int_equal(jws_verify(token, len, other, NULL, &got, &d), ERR_UNAUTHENTICATED);
    assert_string_equal(d.field, "signature");

    /* Without a kid the header has alg and typ only. */
    free(token);
    assert_int_equal(jws_sign(claims, k, NULL, &token, &len, &d), 0);
    assert_int_equal(jws_peek_header(token, len, &header, &d), 0);
    assert_null(json_object_get(header, "kid"));
    assert_int_equal(json_object_size(header), 2);
    json_decref(header);

    /* A public key cannot sign; claims must be an object. */
    char *none = NULL;
    assert_int_equal(jws_sign(claims, pub, NULL, &none, &len, &d), ERR_INVALID);
    json_t *arr = json_array();
    assert_int_equal(jws_sign(arr, k, NULL, &none, &len, &d), ERR_INVALID);
    json_decref(arr);
    assert_null(none);

    free(token);
    json_decref(claims);
    keys_destroy(&pub);
    keys_destroy(&other);
    keys_destroy(&k);
}

static void test_eddsa_round_trip(void **state)
{
    (void)state;
    round_trip(KEYS_ED25519, "EdDSA");
}

static void test_rs256_round_trip(void **state)
{
    (void)state;
    round_trip(KEYS_RSA, "RS256");
}

static keys_t *rfc8037_public(void)
{
    json_t *jwk = json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x",
                            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    keys_t *k = NULL;
    err_detail_t d;
    assert_int_equal(keys_from_jwk(jwk, &k, &d), 0);
    json_decref(jwk);
    return k;
}

static const char rfc8037_token[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

static void test_rfc8037_token(void **state)
{
    (void)state;
    keys_t *k = rfc8037_public();
    err_detail_t d;
    uint8_t *payload = NULL;
    size_t n = 0;
    json_t *header = NULL;
    assert_int_equal(
        jws_verify_compact(rfc8037_token, strlen(rfc8037_token), k, &header, &payload, &n, &d), 0);
    assert_int_equal(n, strlen("Example of Ed25519 signing"));
    assert_memory_equal(payload, "Example of Ed25519 signing", n);
    assert_string_equal(json_string_value(json_object_get(header, "alg")), "EdDSA");
    free(payload);
    json_decref(header);
    /* Its payload is not JSON, so it is no JWT. */
    json_t *claims = NULL;
    assert_int_equal(jws_verify(rfc8037_token, strlen(rfc8037_token), k, NULL, &claims, &d),
                     ERR_INVALID);
    assert_string_equal(d.field, "payload");
    assert_null(claims);
    keys_destroy(&k);
}

static void test_deterministic_header(void **state)
{
    (void)state;
    uint8_t seed[32] = {1};
    keys_t *k = NULL;
    err_detail_t d;
    assert_int_equal(keys_from_seed(seed, &k, &d), 0);
    json_t *claims = json_pack("{s:s,s:s}", "sub", "x", "iss", "y");
    char *a = NULL, *b = NULL;
    assert_int_equal(jws_sign(claims, k, "k1", &a, NULL, &d), 0);
    assert_int_equal(jws_sign(claims, k, "k1", &b, NULL, &d), 0);
    assert_string_equal(a, b);
    /* Header and claims are canonical JSON: {"alg":"EdDSA","kid":"k1","typ":"JWT"} and
     * {"iss":"y","sub":"x"}. */
    const char *want =
        "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJpc3MiOiJ5Iiwic3ViIjoieCJ9.";
    assert_int_equal(strncmp(a, want, strlen(want)), 0);
    free(a);
    free(b);
    json_decref(claims);
    keys_destroy(&k);
}

static void expect_refused(keys_t *k, const char *token, int code, const char *field)
{
    err_detail_t d;
    json_t *claims = NULL, *header = NULL;
    int rc = jws_verify(token, strlen(token), k, &header, &claims, &d);
    if (rc != code)
        fail_msg("token %s: %s (%s: %s), want %s", token, err_str(rc), d.field, d.message,
                 err_str(code));
    assert_null(claims);
    assert_null(header);
    if (strcmp(d.field, field) != 0)
        fail_msg("token %s: field %s, want %s (%s)", token, d.field, field, d.message);
    assert_true(strlen(d.message) > 0);
}

static void test_refusals(void **state)
{
    (void)state;
    keys_t *k = rfc8037_public();
    const char *sig = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvp"
                      "Ar_MuM0KAg";
    char *t;

    /* alg "none", with or without a signature part. */
    t = make_token("{\"alg\":\"none\"}", "{\"sub\":\"x\"}", "");
    expect_refused(k, t, ERR_INVALID, "alg");
    free(t);
    t = make_token("{\"alg\":\"none\"}", "{\"sub\":\"x\"}", sig);
    expect_refused(k, t, ERR_INVALID, "alg");
    free(t);
    /* Unknown and missing alg. */
    t = make_token("{\"alg\":\"HS256\"}", "{}", sig);
    expect_refused(k, t, ERR_INVALID, "alg");
    free(t);
    t = make_token("{\"typ\":\"JWT\"}", "{}", sig);
    expect_refused(k, t, ERR_INVALID, "alg");
    free(t);
    /* RS256 with an Ed25519 key. */
    t = make_token("{\"alg\":\"RS256\"}", "{}", sig);
    expect_refused(k, t, ERR_UNAUTHENTICATED, "alg");
    free(t);
    /* Critical extensions, duplicate names, a header that is not an object. */
    t = make_token("{\"alg\":\"EdDSA\",\"crit\":[\"exp\"],\"exp\":1}", "{}", sig);
    expect_refused(k, t, ERR_INVALID, "crit");
    free(t);
    t = make_token("{\"alg\":\"none\",\"alg\":\"EdDSA\"}", "{}", sig);
    expect_refused(k, t, ERR_INVALID, "header");
    free(t);
    t = make_token("[\"EdDSA\"]", "{}", sig);
    expect_refused(k, t, ERR_INVALID, "header");
    free(t);
    /* Encoding errors. */
    expect_refused(k, "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc", ERR_INVALID,
                   "token");
    expect_refused(k, "a.b.c.d", ERR_INVALID, "token");
    expect_refused(k, ".e30.AAAA", ERR_INVALID, "header");
    expect_refused(k, "eyJhbGciOiJFZERTQSJ9=.e30.AAAA", ERR_INVALID, "header");
    t = make_token("{\"alg\":\"EdDSA\"}", "{}", "AAAA====");
    expect_refused(k, t, ERR_INVALID, "signature");
    free(t);
    expect_refused(k,
                   "eyJhbGciOiJFZERTQSJ9.e3+9."
                   "AAAA",
                   ERR_INVALID, "payload");
    /* Well formed but the signature is for another payload. */
    char buf[512];
    snprintf(buf, sizeof buf, "eyJhbGciOiJFZERTQSJ9.e30.%s", sig);
    expect_refused(k, buf, ERR_UNAUTHENTICATED, "signature");
    /* The RFC 8037 token minus one signature character (a dangling base64url character) and
     * minus two (a 63-byte signature). */
    snprintf(buf, sizeof buf, "%.*s", (int)strlen(rfc8037_token) - 1, rfc8037_token);
    expect_refused(k, buf, ERR_INVALID, "signature");
    snprintf(buf, sizeof buf, "%.*s", (int)strlen(rfc8037_token) - 2, rfc8037_token);
    expect_refused(k, buf, ERR_UNAUTHENTICATED, "signature");
    keys_destroy(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eddsa_round_trip), cmocka_unit_test(test_rs256_round_trip),
        cmocka_unit_test(test_rfc8037_token),    cmocka_unit_test(test_deterministic_header),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
