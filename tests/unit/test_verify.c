/* Unit tests for verify (the core of mastery-verify) at the library level: a badge issued by
 * cred verifies; the eddsa-rdfc-2022 hook is called with the proof and the issuer's key and
 * its answer decides; status entries are matched to lists by URL; every reason is kept.
 * (The CLI and the bad-input catalogue are in tests/integration/test_mastery_verify.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "bake.h"
#include "cred.h"
#include "jcs.h"
#include "keys.h"
#include "statuslist.h"
#include "verify.h"

#define T0       1795169700000LL /* 2026-11-20T10:15:00Z */
#define LIST_URL "https://lincoln.example.edu/status/revocation"

typedef struct fixture {
    keys_t *key;
    char did[KEYS_DID_MAX], vm[KEYS_VM_ID_MAX];
    cred_ctx_t *ctx;
} fixture_t;

static fixture_t fx;

static int setup(void **state)
{
    (void)state;
    uint8_t seed[32];
    memset(seed, 5, sizeof seed);
    assert_int_equal(keys_from_seed(seed, &fx.key, NULL), 0);
    keys_did_key(fx.key, fx.did, sizeof fx.did);
    keys_vm_id(fx.key, fx.vm, sizeof fx.vm);
    assert_int_equal(cred_ctx_new(&fx.ctx), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    keys_destroy(&fx.key);
    cred_ctx_destroy(&fx.ctx);
    return 0;
}

static json_t *issue(uint32_t index)
{
    cred_input_t in;
    cred_input_init(&in);
    in.id = "urn:uuid:3fa85f64-5717-4562-b3fc-2c963f66afa6";
    in.issuer.did = fx.did;
    in.valid_from_ms = T0;
    in.framework_id = "urn:example:f";
    in.competency_id = "c1";
    in.competency_title = "Competency one";
    in.learner_id = "s-1";
    in.salt = "x";
    in.revocation = (cred_status_t){LIST_URL, index};
    json_t *doc = NULL;
    assert_int_equal(cred_build(&in, &doc, NULL), 0);
    assert_int_equal(cred_sign_di(fx.ctx, doc, fx.key, fx.vm, T0, NULL), 0);
    return doc;
}

static char *text_of(const json_t *doc)
{
    char *t = NULL;
    size_t n;
    assert_int_equal(jcs_serialize(doc, &t, &n, NULL), 0);
    return t;
}

static verify_result_t run(const char *badge, const char *list, verify_rdfc_fn rdfc)
{
    verify_blob_t lists[1] = {{list, list != NULL ? strlen(list) : 0}};
    verify_input_t in;
    memset(&in, 0, sizeof in);
    in.badge = (verify_blob_t){badge, strlen(badge)};
    in.status_lists = lists;
    in.n_status_lists = list != NULL ? 1 : 0;
    in.now_ms = T0 + 1000;
    in.rdfc = rdfc;
    verify_result_t res;
    assert_int_equal(verify_badge(&in, &res), 0);
    return res;
}

/* The auditor's options (issue 11 item 7) on top of run(). */
typedef struct audit {
    const char *const *trusted;
    size_t n_trusted;
    bool trust_given;
    const char *recipient;
    int64_t max_age_ms, now_ms;
} audit_t;

static verify_result_t run_audit(const char *badge, size_t len, const char *list, const audit_t *a)
{
    verify_blob_t lists[1] = {{list, list != NULL ? strlen(list) : 0}};
    verify_input_t in;
    memset(&in, 0, sizeof in);
    in.badge = (verify_blob_t){badge, len};
    in.status_lists = lists;
    in.n_status_lists = list != NULL ? 1 : 0;
    in.now_ms = a->now_ms ? a->now_ms : T0 + 1000;
    in.trusted = a->trusted;
    in.n_trusted = a->n_trusted;
    in.trust_given = a->trust_given;
    in.recipient = a->recipient;
    in.max_status_age_ms = a->max_age_ms;
    verify_result_t res;
    assert_int_equal(verify_badge(&in, &res), 0);
    return res;
}

static const char *check_of(const verify_result_t *r, const char *name)
{
    return json_string_value(json_object_get(r->checks, name));
}

static void test_valid_and_unchecked_status(void **state)
{
    (void)state;
    json_t *doc = issue(10);
    char *t = text_of(doc);
    verify_result_t r = run(t, NULL, NULL);
    assert_true(r.valid);
    assert_int_equal(json_array_size(r.reasons), 0);
    assert_string_equal(check_of(&r, "proof"), "ok");
    assert_string_equal(check_of(&r, "issuer_key"), "ok");
    assert_string_equal(check_of(&r, "revocation"), "unchecked");
    /* the unchecked list, and the issuer nobody vouched for */
    assert_int_equal(json_array_size(r.warnings), 2);
    assert_string_equal(check_of(&r, "trust"), "unknown");
    assert_string_equal(r.verdict, "VALID");
    assert_string_equal(json_string_value(json_object_get(r.issuer, "id")), fx.did);
    verify_result_free(&r);
    verify_result_free(&r);
    free(t);
    json_decref(doc);
}

static void test_status_list_bits(void **state)
{
    (void)state;
    statuslist_t *l = NULL;
    assert_int_equal(statuslist_new(STATUSLIST_MIN_BITS, &l), 0);
    statuslist_set(l, 10, true);
    statuslist_cred_t c = {LIST_URL, fx.did, "revocation", T0, 0};
    json_t *ldoc = NULL;
    assert_int_equal(statuslist_credential(l, &c, &ldoc, NULL), 0);
    assert_int_equal(cred_sign_di(fx.ctx, ldoc, fx.key, fx.vm, T0, NULL), 0);
    char *lt = text_of(ldoc);

    json_t *revoked = issue(10), *clear = issue(11);
    char *rt = text_of(revoked), *ct = text_of(clear);
    verify_result_t r = run(rt, lt, NULL);
    assert_false(r.valid);
    assert_string_equal(check_of(&r, "revocation"), "revoked");
    assert_string_equal(r.verdict, "REVOKED");
    assert_non_null(strstr(json_string_value(json_array_get(r.reasons, 0)), "revoked"));
    verify_result_free(&r);
    r = run(ct, lt, NULL);
    assert_true(r.valid);
    assert_string_equal(check_of(&r, "revocation"), "ok");
    verify_result_free(&r);
    free(rt);
    free(ct);
    free(lt);
    json_decref(revoked);
    json_decref(clear);
    json_decref(ldoc);
    statuslist_destroy(&l);
}

static int rdfc_calls;
static const json_t *rdfc_proof;

static int fake_rdfc_ok(const json_t *secured, const json_t *proof, keys_t *key, err_detail_t *d)
{
    (void)d;
    rdfc_calls++;
    rdfc_proof = proof;
    uint8_t pub[32], want[32];
    assert_int_equal(keys_public_raw(key, pub), 0);
    assert_int_equal(keys_public_raw(fx.key, want), 0);
    assert_memory_equal(pub, want, 32);
    assert_non_null(json_object_get(secured, "credentialSubject"));
    return 0;
}

static int fake_rdfc_bad(const json_t *secured, const json_t *proof, keys_t *key, err_detail_t *d)
{
    (void)secured;
    (void)proof;
    (void)key;
    rdfc_calls++;
    return err_set(d, ERR_UNAUTHENTICATED, "proofValue", "bad rdfc signature");
}

static void test_rdfc_hook(void **state)
{
    (void)state;
    json_t *doc = issue(1);
    json_t *proof = json_array_get(json_object_get(doc, "proof"), 0);
    json_object_set_new(proof, "cryptosuite", json_string("eddsa-rdfc-2022"));
    char *t = text_of(doc);
    verify_result_t r = run(t, NULL, NULL);
    assert_false(r.valid);
    assert_non_null(strstr(json_string_value(json_array_get(r.reasons, 0)), "not supported"));
    verify_result_free(&r);
    rdfc_calls = 0;
    r = run(t, NULL, fake_rdfc_ok);
    assert_true(r.valid);
    assert_int_equal(rdfc_calls, 1);
    verify_result_free(&r);
    r = run(t, NULL, fake_rdfc_bad);
    assert_false(r.valid);
    assert_int_equal(rdfc_calls, 2);
    assert_string_equal(check_of(&r, "proof"), "failed");
    verify_result_free(&r);
    free(t);
    json_decref(doc);
}

static void test_every_reason_kept(void **state)
{
    (void)state;
    json_t *doc = issue(1);
    json_object_set_new(doc, "validUntil", json_string("2026-11-01T00:00:00Z"));
    json_object_set_new(doc, "type", json_pack("[s]", "OpenBadgeCredential"));
    char *t = text_of(doc);
    verify_result_t r = run(t, NULL, NULL);
    assert_false(r.valid);
    /* structure, signature (changed document), expiry */
    assert_true(json_array_size(r.reasons) >= 3);
    assert_string_equal(check_of(&r, "structure"), "failed");
    assert_string_equal(check_of(&r, "proof"), "failed");
    assert_string_equal(check_of(&r, "valid_until"), "failed");
    verify_result_free(&r);
    free(t);
    json_decref(doc);
}

static const char *result_of(const verify_result_t *r, const char *name, const char **detail)
{
    size_t i;
    json_t *e;
    json_array_foreach(r->results, i,
                       e) if (strcmp(json_string_value(json_object_get(e, "check")), name) == 0)
    {
        *detail = json_string_value(json_object_get(e, "detail"));
        return json_string_value(json_object_get(e, "result"));
    }
    return NULL;
}

static void test_auditor(void **state)
{
    (void)state;
    json_t *doc = issue(10);
    char *t = text_of(doc);
    const char *detail = NULL;
    /* trust: on the list, off the list (a failure, naming the issuer), no list (unknown) */
    const char *mine[] = {"did:web:other.example", fx.did};
    audit_t a = {mine, 2, true, NULL, 0, 0};
    verify_result_t r = run_audit(t, strlen(t), NULL, &a);
    assert_true(r.valid);
    assert_string_equal(result_of(&r, "trust", &detail), "ok");
    verify_result_free(&r);
    a.n_trusted = 1;
    r = run_audit(t, strlen(t), NULL, &a);
    assert_false(r.valid);
    assert_string_equal(r.verdict, "INVALID");
    assert_string_equal(result_of(&r, "trust", &detail), "failed");
    assert_non_null(strstr(detail, fx.did));
    assert_non_null(strstr(json_string_value(json_array_get(r.reasons, 0)), "unknown issuer"));
    verify_result_free(&r);

    /* recipient: the hashed id matches s-1 (salt "x"), not s-2 */
    audit_t b = {NULL, 0, false, "s-1", 0, 0};
    r = run_audit(t, strlen(t), NULL, &b);
    assert_true(r.valid);
    assert_string_equal(result_of(&r, "recipient", &detail), "ok");
    verify_result_free(&r);
    b.recipient = "s-2";
    r = run_audit(t, strlen(t), NULL, &b);
    assert_false(r.valid);
    assert_string_equal(check_of(&r, "recipient"), "failed");
    verify_result_free(&r);

    /* status list freshness: signed at T0; a day later with a 12 h limit it is stale */
    statuslist_t *l = NULL;
    assert_int_equal(statuslist_new(STATUSLIST_MIN_BITS, &l), 0);
    statuslist_cred_t c = {LIST_URL, fx.did, "revocation", T0, T0 + 2 * 86400000LL};
    json_t *ldoc = NULL;
    assert_int_equal(statuslist_credential(l, &c, &ldoc, NULL), 0);
    assert_int_equal(cred_sign_di(fx.ctx, ldoc, fx.key, fx.vm, T0, NULL), 0);
    char *lt = text_of(ldoc);
    audit_t f = {NULL, 0, false, NULL, 12 * 3600000LL, T0 + 86400000LL};
    r = run_audit(t, strlen(t), lt, &f);
    assert_false(r.valid);
    assert_string_equal(check_of(&r, "status_fresh"), "failed");
    assert_string_equal(check_of(&r, "revocation"), "ok"); /* the bit itself was read */
    verify_result_free(&r);
    f.max_age_ms = 48 * 3600000LL;
    r = run_audit(t, strlen(t), lt, &f);
    assert_true(r.valid);
    assert_string_equal(check_of(&r, "status_fresh"), "ok");
    verify_result_free(&r);
    /* past the list's validUntil: reported whatever the limit */
    f.now_ms = T0 + 3 * 86400000LL;
    f.max_age_ms = 0;
    r = run_audit(t, strlen(t), lt, &f);
    assert_false(r.valid);
    assert_string_equal(check_of(&r, "status_fresh"), "failed");
    verify_result_free(&r);

    /* baked: the same badge in a PNG verifies; one flipped bit in its payload does not */
    buf_t img, out;
    buf_init(&img, BAKE_MAX_IMAGE);
    buf_init(&out, BAKE_MAX_IMAGE);
    assert_int_equal(bake_default_png(1, &img, NULL), 0);
    assert_int_equal(bake_png(img.data, img.len, BAKE_OPEN_BADGE, t, strlen(t), &out, NULL), 0);
    audit_t none = {NULL, 0, false, NULL, 0, 0};
    r = run_audit(out.data, out.len, NULL, &none);
    assert_true(r.valid);
    assert_string_equal(check_of(&r, "baked"), "png");
    verify_result_free(&r);
    out.data[33 + 8 + 24 + 40] ^= 0x04;
    r = run_audit(out.data, out.len, NULL, &none);
    assert_false(r.valid);
    assert_string_equal(check_of(&r, "baked"), "failed");
    verify_result_free(&r);

    buf_free(&img);
    buf_free(&out);
    free(lt);
    json_decref(ldoc);
    statuslist_destroy(&l);
    free(t);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_and_unchecked_status),
        cmocka_unit_test(test_status_list_bits),
        cmocka_unit_test(test_rdfc_hook),
        cmocka_unit_test(test_every_reason_kept),
        cmocka_unit_test(test_auditor),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
