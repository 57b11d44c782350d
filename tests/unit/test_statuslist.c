/* Unit tests for statuslist: bit order (index 0 = MSB of byte 0), the spec's example
 * encodedList, encode/decode round trips, gzip bombs and corrupt input, random index
 * picking, and the BitstringStatusListCredential shape and signature. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec.h"
#include "cred.h"
#include "dataint.h"
#include "keys.h"
#include "statuslist.h"

/* The W3C Bitstring Status List v1.0 example: 131 072 entries, none set. */
static const char SPEC_EMPTY[] =
    "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA";

static void test_bit_order(void **state)
{
    (void)state;
    statuslist_t *l = NULL;
    assert_int_equal(statuslist_new(STATUSLIST_MIN_BITS, &l), 0);
    assert_int_equal(statuslist_size(l), 131072);
    assert_int_equal(statuslist_set(l, 0, true), 0);
    assert_int_equal(statuslist_set(l, 7, true), 0);
    assert_int_equal(statuslist_set(l, 8, true), 0);
    assert_int_equal(statuslist_set(l, 131071, true), 0);
    assert_int_equal(statuslist_set(l, 131072, true), ERR_INVALID);
    size_t len;
    const uint8_t *b = statuslist_bytes(l, &len);
    assert_int_equal(len, 16384);
    assert_int_equal(b[0], 0x81);
    assert_int_equal(b[1], 0x80);
    assert_int_equal(b[2], 0x00);
    assert_int_equal(b[16383], 0x01);
    assert_int_equal(statuslist_count(l), 4);
    bool v;
    assert_int_equal(statuslist_get(l, 8, &v), 0);
    assert_true(v);
    assert_int_equal(statuslist_get(l, 9, &v), 0);
    assert_false(v);
    assert_int_equal(statuslist_get(l, 200000, &v), ERR_INVALID);
    assert_int_equal(statuslist_set(l, 8, false), 0);
    assert_int_equal(b[1], 0x00);
    statuslist_destroy(&l);
    assert_null(l);
    assert_int_equal(statuslist_new(1000, &l), ERR_INVALID);
    assert_int_equal(statuslist_new(STATUSLIST_MIN_BITS + 4, &l), ERR_INVALID);
}

static void test_spec_example(void **state)
{
    (void)state;
    statuslist_t *l = NULL;
    err_detail_t d;
    assert_int_equal(statuslist_decode(SPEC_EMPTY, strlen(SPEC_EMPTY), 0, &l, &d), 0);
    assert_int_equal(statuslist_size(l), 131072);
    assert_int_equal(statuslist_count(l), 0);
    /* revoking index 94567 (the spec's example entry) sets that one bit */
    assert_int_equal(statuslist_set(l, 94567, true), 0);
    char *enc = NULL;
    size_t n;
    assert_int_equal(statuslist_encode(l, &enc, &n, &d), 0);
    assert_int_equal(enc[0], 'u');
    assert_int_equal(strlen(enc), n);
    statuslist_t *back = NULL;
    assert_int_equal(statuslist_decode(enc, n, 0, &back, &d), 0);
    bool v;
    statuslist_get(back, 94567, &v);
    assert_true(v);
    statuslist_get(back, 94566, &v);
    assert_false(v);
    assert_int_equal(statuslist_count(back), 1);
    size_t len;
    const uint8_t *raw = statuslist_bytes(back, &len);
    assert_int_equal(raw[94567 / 8], 0x80 >> (94567 % 8));
    /* the gzip header is RFC 1952 */
    uint8_t gz[64];
    size_t gz_len;
    assert_int_equal(codec_base64url_decode(enc + 1, 4, gz, sizeof gz, &gz_len), 0);
    assert_int_equal(gz[0], 0x1f);
    assert_int_equal(gz[1], 0x8b);
    free(enc);
    statuslist_destroy(&back);
    statuslist_destroy(&l);
}

/* "u" + base64url(gzip(n zero bytes)) */
static char *gzip_zeros(size_t n)
{
    uint8_t *raw = calloc(n, 1);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, n);
    uint8_t *gz = malloc(cap);
    z.next_in = raw;
    z.avail_in = (uInt)n;
    z.next_out = gz;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t tcap = CODEC_BASE64URL_ENCODED_MAX(z.total_out) + 1;
    char *text = malloc(tcap);
    assert_int_equal(codec_multibase_encode('u', gz, z.total_out, text, tcap, NULL), 0);
    deflateEnd(&z);
    free(gz);
    free(raw);
    return text;
}

static void test_decode_refuses(void **state)
{
    (void)state;
    statuslist_t *l = NULL;
    err_detail_t d;
    /* a bomb: 64 MiB of zeros, compressed to ~64 KiB, against a 1 MiB-bit limit */
    char *bomb = gzip_zeros(64u << 20);
    assert_int_equal(statuslist_decode(bomb, strlen(bomb), 1u << 20, &l, &d), ERR_LIMIT);
    assert_string_equal(d.field, "encodedList");
    free(bomb);
    /* too short for herd privacy */
    char *small = gzip_zeros(1024);
    assert_int_equal(statuslist_decode(small, strlen(small), 0, &l, &d), ERR_INVALID);
    free(small);
    /* not multibase u, bad base64url, not gzip, truncated gzip */
    const char *bad[] = {"", "u", "zH4sI", "H4sIAAAA", "u!!!!", "uAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(statuslist_decode(bad[i], strlen(bad[i]), 0, &l, &d), ERR_INVALID);
    char trunc[sizeof SPEC_EMPTY];
    memcpy(trunc, SPEC_EMPTY, sizeof SPEC_EMPTY);
    trunc[40] = '\0';
    assert_int_equal(statuslist_decode(trunc, 40, 0, &l, &d), ERR_INVALID);
    /* trailing garbage after the gzip member */
    char *good = gzip_zeros(16384);
    size_t gl = strlen(good);
    char *trail = malloc(gl + 8);
    memcpy(trail, good, gl);
    memcpy(trail + gl, "AAAAAAAA", 8);
    assert_int_equal(statuslist_decode(trail, gl + 8, 0, &l, &d), ERR_INVALID);
    assert_int_equal(statuslist_decode(good, gl, 0, &l, &d), 0);
    statuslist_destroy(&l);
    free(trail);
    free(good);
}

static void test_pick(void **state)
{
    (void)state;
    statuslist_t *used = NULL;
    err_detail_t d;
    assert_int_equal(statuslist_new(STATUSLIST_MIN_BITS, &used), 0);
    /* distinct picks, spread over the whole list */
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int i = 0; i < 2000; i++) {
        uint32_t idx;
        assert_int_equal(statuslist_pick(used, &idx, &d), 0);
        bool v;
        statuslist_get(used, idx, &v);
        assert_false(v);
        statuslist_set(used, idx, true);
        lo = idx < lo ? idx : lo;
        hi = idx > hi ? idx : hi;
    }
    assert_true(lo < 1000);
    assert_true(hi > 130000);
    /* nearly full: the only free indexes are found */
    size_t len;
    statuslist_bytes(used, &len);
    for (uint32_t i = 0; i < statuslist_size(used); i++)
        statuslist_set(used, i, true);
    statuslist_set(used, 77, false);
    statuslist_set(used, 100000, false);
    int seen77 = 0, seen100000 = 0;
    for (int i = 0; i < 40; i++) {
        uint32_t idx;
        assert_int_equal(statuslist_pick(used, &idx, &d), 0);
        assert_true(idx == 77 || idx == 100000);
        seen77 += idx == 77;
        seen100000 += idx == 100000;
    }
    assert_true(seen77 > 0 && seen100000 > 0);
    statuslist_set(used, 77, true);
    statuslist_set(used, 100000, true);
    uint32_t idx;
    assert_int_equal(statuslist_pick(used, &idx, &d), ERR_LIMIT);
    statuslist_destroy(&used);
}

/* A list that hands out fewer indexes than its (padded) bitstring holds fills at its limit. */
static void test_pick_below(void **state)
{
    (void)state;
    statuslist_t *used = NULL;
    err_detail_t d;
    uint32_t idx;
    assert_int_equal(statuslist_new(STATUSLIST_MIN_BITS, &used), 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(statuslist_pick_below(used, 8, &idx, &d), 0);
        assert_true(idx < 8);
        bool v;
        statuslist_get(used, idx, &v);
        assert_false(v);
        statuslist_set(used, idx, true);
    }
    assert_int_equal(statuslist_count(used), 8);
    assert_int_equal(statuslist_pick_below(used, 8, &idx, &d), ERR_LIMIT);
    /* 0 means the whole list */
    assert_int_equal(statuslist_pick_below(used, 0, &idx, &d), 0);
    assert_true(idx >= 8);
    statuslist_destroy(&used);
}

static void test_credential(void **state)
{
    (void)state;
    uint8_t seed[32];
    memset(seed, 3, sizeof seed);
    keys_t *k = NULL;
    assert_int_equal(keys_from_seed(seed, &k, NULL), 0);
    char did[KEYS_DID_MAX], vm[KEYS_VM_ID_MAX];
    keys_did_key(k, did, sizeof did);
    keys_vm_id(k, vm, sizeof vm);
    statuslist_t *l = NULL;
    assert_int_equal(statuslist_new(STATUSLIST_MIN_BITS, &l), 0);
    statuslist_set(l, 42, true);
    statuslist_cred_t c = {"https://lincoln.example.edu/status/revocation", did, "revocation",
                           1795169700000LL, 0};
    json_t *doc = NULL;
    err_detail_t d;
    assert_int_equal(statuslist_credential(l, &c, &doc, &d), 0);
    json_t *ctx = json_object_get(doc, "@context");
    assert_int_equal(json_array_size(ctx), 1);
    assert_string_equal(json_string_value(json_array_get(ctx, 0)), CRED_CONTEXT_VC2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "type"), 1)),
                        "BitstringStatusListCredential");
    json_t *subj = json_object_get(doc, "credentialSubject");
    assert_string_equal(json_string_value(json_object_get(subj, "id")),
                        "https://lincoln.example.edu/status/revocation#list");
    assert_string_equal(json_string_value(json_object_get(subj, "type")), "BitstringStatusList");
    assert_string_equal(json_string_value(json_object_get(subj, "statusPurpose")), "revocation");
    assert_string_equal(json_string_value(json_object_get(doc, "validFrom")),
                        "2026-11-20T10:15:00Z");
    const char *enc = json_string_value(json_object_get(subj, "encodedList"));
    statuslist_t *back = NULL;
    assert_int_equal(statuslist_decode(enc, strlen(enc), 0, &back, &d), 0);
    bool v;
    statuslist_get(back, 42, &v);
    assert_true(v);
    cred_ctx_t *cc = NULL;
    assert_int_equal(cred_ctx_new(&cc), 0);
    assert_int_equal(cred_sign_di(cc, doc, k, vm, c.valid_from_ms, &d), 0);
    assert_int_equal(dataint_proof_verify(doc, k, NULL, &d), 0);
    json_decref(doc);

    c.purpose = "refresh";
    assert_int_equal(statuslist_credential(l, &c, &doc, &d), ERR_INVALID);
    c.purpose = "suspension";
    c.url = "";
    assert_int_equal(statuslist_credential(l, &c, &doc, &d), ERR_INVALID);
    cred_ctx_destroy(&cc);
    statuslist_destroy(&back);
    statuslist_destroy(&l);
    keys_destroy(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bit_order),      cmocka_unit_test(test_spec_example),
        cmocka_unit_test(test_decode_refuses), cmocka_unit_test(test_pick),
        cmocka_unit_test(test_pick_below),     cmocka_unit_test(test_credential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
