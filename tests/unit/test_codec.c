/* Unit tests for codec: published vectors for base58btc (Bitcoin Core's base58 test data),
 * base64url (RFC 4648 section 10), multibase (the multibase spec's examples) and hex, plus the
 * strictness of every decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "codec.h"

typedef struct vec {
    const char *hex;
    const char *text;
} vec_t;

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(codec_hex_decode(hex, strlen(hex), out, cap, &n), 0);
    return n;
}

static void test_base58_vectors(void **state)
{
    (void)state;
    static const vec_t v[] = {
        {"", ""},
        {"61", "2g"},
        {"626262", "a3gV"},
        {"636363", "aPEr"},
        {"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
        {"00eb15231dfceb60925886b67d065299925915aeb172c06647",
         "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
        {"516b6fcd0f", "ABnLTmg"},
        {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
        {"572e4794", "3EFU7m"},
        {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
        {"10c8511e", "Rt5zm"},
        {"00000000000000000000", "1111111111"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t bin[64], back[64];
        size_t n = unhex(v[i].hex, bin, sizeof bin), len = 99, blen = 99;
        char text[128];
        assert_int_equal(codec_base58_encode(bin, n, text, sizeof text, &len), 0);
        assert_string_equal(text, v[i].text);
        assert_int_equal(len, strlen(v[i].text));
        assert_int_equal(codec_base58_decode(v[i].text, len, back, sizeof back, &blen), 0);
        assert_int_equal(blen, n);
        assert_memory_equal(back, bin, n);
    }
}

static void test_base58_strict(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n;
    const char *bad[] = {"0", "O", "I", "l", "2g ", "+", "2g\xc3\xa9", "a3g\0V"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(
            codec_base58_decode(bad[i], i == 7 ? 5 : strlen(bad[i]), out, sizeof out, &n),
            ERR_INVALID);
    /* Output buffers are checked: "a3gV" is 3 bytes, "111" is 3 zero bytes. */
    assert_int_equal(codec_base58_decode("a3gV", 4, out, 2, &n), ERR_LIMIT);
    assert_int_equal(codec_base58_decode("111", 3, out, 2, &n), ERR_LIMIT);
    char text[5]; /* "bbb" is "a3gV": 4 characters and the NUL */
    assert_int_equal(codec_base58_encode((const uint8_t *)"bbb", 3, text, 4, &n), ERR_LIMIT);
    assert_int_equal(codec_base58_encode((const uint8_t *)"bbb", 3, text, 5, &n), 0);
    assert_string_equal(text, "a3gV");
    char big[8];
    static uint8_t huge[CODEC_BASE58_MAX + 1];
    assert_int_equal(codec_base58_encode(huge, sizeof huge, big, sizeof big, &n), ERR_LIMIT);
}

static void test_base64url_vectors(void **state)
{
    (void)state;
    static const vec_t v[] = {
        {"", ""},
        {"66", "Zg"},
        {"666f", "Zm8"},
        {"666f6f", "Zm9v"},
        {"666f6f62", "Zm9vYg"},
        {"666f6f6261", "Zm9vYmE"},
        {"666f6f626172", "Zm9vYmFy"},
        {"fbff", "-_8"}, /* base64 "+/8=": the two url-safe characters */
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t bin[64], back[64];
        size_t n = unhex(v[i].hex, bin, sizeof bin), len, blen;
        char text[128];
        assert_int_equal(codec_base64url_encode(bin, n, text, sizeof text, &len), 0);
        assert_string_equal(text, v[i].text);
        assert_int_equal(len, strlen(text));
        assert_int_equal(codec_base64url_decode(text, len, back, sizeof back, &blen), 0);
        assert_int_equal(blen, n);
        assert_memory_equal(back, bin, n);
    }
}

static void test_base64url_strict(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n;
    const char *bad[] = {
        "Zg==",                        /* padding */
        "Zm9v+", "Zm9/", "Zm 9v", "Z", /* standard alphabet, space, dangling char */
        "Zh",                          /* unused bits set: "Zg" is the only encoding of 0x66 */
        "Zm9",                         /* unused bits set: "Zm8" is canonical */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(codec_base64url_decode(bad[i], strlen(bad[i]), out, sizeof out, &n),
                         ERR_INVALID);
    assert_int_equal(codec_base64url_decode("Zm9vYmFy", 8, out, 5, &n), ERR_LIMIT);
    assert_int_equal(codec_base64url_decode("Zm9vYmF!", 8, out, 5, &n), ERR_INVALID);
    char text[4];
    assert_int_equal(codec_base64url_encode((const uint8_t *)"foo", 3, text, 4, &n), ERR_LIMIT);
}

static void test_multibase(void **state)
{
    (void)state;
    const char *msg = "Decentralize everything!!";
    char text[128];
    size_t len, blen;
    uint8_t back[64];
    char base = 0;
    assert_int_equal(
        codec_multibase_encode('z', (const uint8_t *)msg, strlen(msg), text, sizeof text, &len), 0);
    assert_string_equal(text, "zUXE7GvtEk8XTXs1GF8HSGbVA9FCX9SEBPe");
    assert_int_equal(codec_multibase_decode(text, len, &base, back, sizeof back, &blen), 0);
    assert_int_equal(base, 'z');
    assert_memory_equal(back, msg, strlen(msg));
    assert_int_equal(
        codec_multibase_encode('u', (const uint8_t *)msg, strlen(msg), text, sizeof text, &len), 0);
    assert_string_equal(text, "uRGVjZW50cmFsaXplIGV2ZXJ5dGhpbmchIQ");
    assert_int_equal(codec_multibase_decode(text, len, &base, back, sizeof back, &blen), 0);
    assert_int_equal(base, 'u');
    assert_int_equal(blen, strlen(msg));
    assert_memory_equal(back, msg, blen);

    /* The vc-di-eddsa public key: multicodec ed25519-pub (0xed 0x01) and 32 key bytes. */
    const char *pub = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
    uint8_t want[40];
    size_t wn = unhex("ed01b00d8d938e7f773d51565aad36a623f5344f7f5d1960f9cf3e8e12620ea2810f", want,
                      sizeof want);
    assert_int_equal(codec_multibase_decode(pub, strlen(pub), NULL, back, sizeof back, &blen), 0);
    assert_int_equal(blen, wn);
    assert_memory_equal(back, want, wn);

    assert_int_equal(codec_multibase_decode("", 0, NULL, back, sizeof back, &blen), ERR_INVALID);
    assert_int_equal(codec_multibase_decode("f00", 3, NULL, back, sizeof back, &blen), ERR_INVALID);
    assert_int_equal(codec_multibase_decode("z0", 2, NULL, back, sizeof back, &blen), ERR_INVALID);
    assert_int_equal(codec_multibase_encode('f', back, 1, text, sizeof text, &len), ERR_INVALID);
}

static void test_hex(void **state)
{
    (void)state;
    uint8_t bin[4] = {0x00, 0xab, 0x7f, 0xff}, back[4];
    char text[9];
    size_t len, n;
    assert_int_equal(codec_hex_encode(bin, 4, text, sizeof text, &len), 0);
    assert_string_equal(text, "00ab7fff");
    assert_int_equal(codec_hex_decode("00AB7fFF", 8, back, sizeof back, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(back, bin, 4);
    assert_int_equal(codec_hex_decode("0ab", 3, back, sizeof back, &n), ERR_INVALID);
    assert_int_equal(codec_hex_decode("0g", 2, back, sizeof back, &n), ERR_INVALID);
    assert_int_equal(codec_hex_decode("00ab7fff00", 10, back, sizeof back, &n), ERR_LIMIT);
    assert_int_equal(codec_hex_encode(bin, 4, text, 8, &len), ERR_LIMIT);
}

/* RFC 4648 section 10 vectors, padded standard base64, and strict decoding. */
static void test_base64(void **state)
{
    (void)state;
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char text[32];
    uint8_t bytes[32];
    size_t n;
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(
            codec_base64_encode((const uint8_t *)in[i], strlen(in[i]), text, sizeof text, &n), 0);
        assert_string_equal(text, out[i]);
        assert_int_equal(codec_base64_decode(out[i], strlen(out[i]), bytes, sizeof bytes, &n), 0);
        assert_int_equal(n, strlen(in[i]));
        assert_memory_equal(bytes, in[i], n);
    }
    const uint8_t hi[] = {0xfb, 0xff};
    assert_int_equal(codec_base64_encode(hi, 2, text, sizeof text, &n), 0);
    assert_string_equal(text, "+/8=");
    const char *bad[] = {
        "Zg=", "Zg", "Zh==", "Zm9=", "Z===", "=Zg=", "Zg=a", "Zm9v\n", "-_8=", "Zm 9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (codec_base64_decode(bad[i], strlen(bad[i]), bytes, sizeof bytes, &n) != ERR_INVALID)
            fail_msg("%s accepted", bad[i]);
    assert_int_equal(codec_base64_decode("Zm9v", 4, bytes, 2, &n), ERR_LIMIT);
    assert_int_equal(codec_base64_encode((const uint8_t *)"foo", 3, text, 4, &n), ERR_LIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base58_vectors),
        cmocka_unit_test(test_base58_strict),
        cmocka_unit_test(test_base64url_vectors),
        cmocka_unit_test(test_base64url_strict),
        cmocka_unit_test(test_multibase),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
