/*
 * Unit tests for note: the golang/mod signed-note vector reproduced byte for byte from its
 * private key's seed and opened with its verifier key; its must_reject cases refused; a
 * second, unknown signature skipped; checkpoints formatted, parsed, and malformed ones
 * refused with a detail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "keys.h"
#include "note.h"

static json_t *vector;

static int setup(void **state)
{
    (void)state;
    json_error_t je;
    vector = json_load_file(MASTERY_VECTORS "/signed-note/peterneumann.json", 0, &je);
    return vector == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(vector);
    return 0;
}

static const char *vs(const char *key)
{
    const char *s = json_string_value(json_object_get(vector, key));
    assert_non_null(s);
    return s;
}

/* The signer key string "PRIVATE+KEY+name+hash+base64(0x01 || seed)" -> an Ed25519 key. */
static keys_t *signer(char *name, size_t cap)
{
    const char *s = vs("signer_key");
    assert_int_equal(strncmp(s, "PRIVATE+KEY+", 12), 0);
    const char *n = s + 12, *plus = strchr(n, '+');
    assert_non_null(plus);
    assert_true((size_t)(plus - n) < cap);
    memcpy(name, n, (size_t)(plus - n));
    name[plus - n] = '\0';
    const char *b64 = strchr(plus + 1, '+') + 1;
    uint8_t raw[64];
    size_t len = 0;
    assert_int_equal(codec_base64_decode(b64, strlen(b64), raw, sizeof raw, &len), 0);
    assert_int_equal(len, 33);
    assert_int_equal(raw[0], 0x01);
    keys_t *k = NULL;
    err_detail_t d;
    assert_int_equal(keys_from_seed(raw + 1, &k, &d), 0);
    return k;
}

static void test_verifier_key(void **state)
{
    (void)state;
    const char *vk = vs("verifier_key");
    tlog_verifier_t v;
    err_detail_t d;
    assert_int_equal(tlog_verifier_parse(vk, strlen(vk), &v, &d), 0);
    assert_string_equal(v.name, "PeterNeumann");
    assert_int_equal(v.key_hash, 0xc74f20a3);
    /* The key the private seed makes. */
    char name[64];
    keys_t *k = signer(name, sizeof name);
    uint8_t pub[32];
    assert_int_equal(keys_public_raw(k, pub), 0);
    assert_memory_equal(pub, v.pub, 32);
    assert_int_equal(tlog_key_hash(name, pub), 0xc74f20a3);
    keys_destroy(&k);
    /* Formatting gives the same string back. */
    buf_t b;
    buf_init(&b, 1024);
    assert_int_equal(tlog_verifier_format(&b, v.name, v.pub), 0);
    assert_string_equal(b.data, vk);
    buf_free(&b);
    /* must_reject: any byte changed or cut. */
    size_t len = strlen(vk);
    char mod[256];
    for (size_t i = 0; i < len; i++) {
        for (int delta = 1; delta < 256; delta += 37) {
            memcpy(mod, vk, len);
            mod[i] = (char)((unsigned char)mod[i] + delta);
            if (tlog_verifier_parse(mod, len, &v, &d) == 0)
                fail_msg("byte %zu changed by %d was accepted", i, delta);
            assert_string_equal(d.field, "verifier_key");
        }
        assert_int_equal(tlog_verifier_parse(vk, i, &v, &d), ERR_INVALID);
        /* and any byte cut out of the middle */
        memcpy(mod, vk, i);
        memcpy(mod + i, vk + i + 1, len - i - 1);
        assert_int_equal(tlog_verifier_parse(mod, len - 1, &v, &d), ERR_INVALID);
    }
    /* A name with a space or plus cannot be formatted. */
    buf_init(&b, 1024);
    assert_int_equal(tlog_verifier_format(&b, "a b", pub), ERR_INVALID);
    assert_int_equal(tlog_verifier_format(&b, "", pub), ERR_INVALID);
    assert_int_equal(tlog_verifier_format(&b,
                                          "a\xc2\xa0"
                                          "b",
                                          pub),
                     ERR_INVALID);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_sign_reproduces_vector(void **state)
{
    (void)state;
    char name[64];
    keys_t *k = signer(name, sizeof name);
    const char *text = vs("text");
    uint8_t sig[64];
    size_t sl = 0;
    err_detail_t d;
    assert_int_equal(keys_sign(k, (const uint8_t *)text, strlen(text), sig, sizeof sig, &sl, &d),
                     0);
    assert_int_equal(sl, 64);
    uint8_t pub[32];
    keys_public_raw(k, pub);
    buf_t b;
    buf_init(&b, 4096);
    assert_int_equal(buf_append_str(&b, text), 0);
    assert_int_equal(buf_append_byte(&b, '\n'), 0);
    assert_int_equal(tlog_note_signature_line(&b, name, tlog_key_hash(name, pub), sig), 0);
    assert_string_equal(b.data, vs("signed_note"));
    buf_free(&b);
    keys_destroy(&k);
}

static void test_open(void **state)
{
    (void)state;
    const char *vk = vs("verifier_key"), *note = vs("signed_note"), *text = vs("text");
    tlog_verifier_t v[2];
    err_detail_t d;
    assert_int_equal(tlog_verifier_parse(vk, strlen(vk), &v[1], &d), 0);
    /* An unrelated key first, so the bit for index 1 is what shows. */
    uint8_t other[32] = {1, 2, 3};
    strcpy(v[0].name, "other.example/log");
    memcpy(v[0].pub, other, 32);
    v[0].key_hash = tlog_key_hash(v[0].name, other);
    size_t tl = 0, unknown = 99;
    uint32_t ok = 0;
    assert_int_equal(tlog_note_open(note, strlen(note), v, 2, &tl, &ok, &unknown, &d), 0);
    assert_int_equal(tl, strlen(text));
    assert_memory_equal(note, text, tl);
    assert_int_equal(ok, 2);
    assert_int_equal(unknown, 0);

    /* With the second signature line too: one known, one unknown. */
    char buf[4096];
    snprintf(buf, sizeof buf, "%s%s", note, vs("second_signature_line"));
    assert_int_equal(tlog_note_open(buf, strlen(buf), v, 2, &tl, &ok, &unknown, &d), 0);
    assert_int_equal(ok, 2);
    assert_int_equal(unknown, 1);
    snprintf(buf, sizeof buf, "%s\n%s%s", text, vs("second_signature_line"),
             note + strlen(text) + 1);
    assert_int_equal(tlog_note_open(buf, strlen(buf), v, 2, &tl, &ok, &unknown, &d), 0);
    assert_int_equal(unknown, 1);
    /* Only the unknown signature: refused. */
    snprintf(buf, sizeof buf, "%s\n%s", text, vs("second_signature_line"));
    assert_int_equal(tlog_note_open(buf, strlen(buf), v, 2, &tl, &ok, &unknown, &d), ERR_INVALID);
    assert_string_equal(d.field, "note.signature");

    /* must_reject: another key name under the same verifier. */
    const char *dash = strstr(note, "PeterNeumann ");
    assert_non_null(dash);
    snprintf(buf, sizeof buf, "%.*sCarmenSandiego%s", (int)(dash - note), note, dash + 12);
    assert_int_equal(tlog_note_open(buf, strlen(buf), v, 2, &tl, &ok, &unknown, &d), ERR_INVALID);
    assert_int_equal(unknown, 0); /* outputs are only set on success */

    /* must_reject: the text without its final newline. */
    snprintf(buf, sizeof buf, "%.*s\n%s", (int)strlen(text) - 1, text, note + strlen(text) + 1);
    assert_int_equal(tlog_note_open(buf, strlen(buf), v, 2, &tl, &ok, &unknown, &d), ERR_INVALID);

    /* Any changed byte of the text, and any flipped signature bit, fails the known key. */
    for (size_t i = 0; i < strlen(text); i++) {
        snprintf(buf, sizeof buf, "%s", note);
        if (buf[i] == '\n')
            continue;
        buf[i] = buf[i] == 'x' ? 'y' : 'x';
        assert_int_equal(tlog_note_open(buf, strlen(buf), v, 2, &tl, &ok, &unknown, &d),
                         ERR_INVALID);
    }
    const char *sigb64 = dash + 13;
    for (size_t i = 6; i < strlen(sigb64) - 2; i++) { /* past the 4-byte key hash */
        snprintf(buf, sizeof buf, "%s", note);
        size_t at = (size_t)(sigb64 - note) + i;
        buf[at] = buf[at] == 'A' ? 'B' : 'A';
        assert_int_equal(tlog_note_open(buf, strlen(buf), v, 2, &tl, &ok, &unknown, &d),
                         ERR_INVALID);
    }

    /* Malformed notes. */
    const char *bad[] = {
        "",
        "\n\n",
        "text\n\n",                              /* no signature */
        "text\n— PeterNeumann x08g\n",           /* no blank line */
        "text\n\n— PeterNeumann\n",              /* no signature after the name */
        "text\n\n-- PeterNeumann x08go/ZJ\n",    /* not an em dash */
        "text\n\n— Peter+Neumann x08go/ZJ\n",    /* a plus in the name */
        "te\x01xt\n\n— PeterNeumann x08go/ZJ\n", /* a control character */
        "te\xffxt\n\n— PeterNeumann x08go/ZJ\n", /* not UTF-8 */
        "text\n\n— PeterNeumann x08go/ZJ",       /* no final newline */
        "text\n\n— PeterNeumann x08go/Z=\n",     /* bad base64 */
        "text\n\n— PeterNeumann x08=\n",         /* under 5 bytes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err_clear(&d);
        if (tlog_note_open(bad[i], strlen(bad[i]), v, 2, &tl, &ok, &unknown, &d) != ERR_INVALID)
            fail_msg("malformed note %zu was accepted", i);
        assert_true(d.message[0] != '\0');
    }
    /* Too many signatures. */
    buf_t big;
    buf_init(&big, 1 << 20);
    buf_append_str(&big, note);
    for (int i = 0; i < TLOG_NOTE_SIG_MAX; i++)
        buf_append_str(&big, vs("second_signature_line"));
    assert_int_equal(tlog_note_open(big.data, big.len, v, 2, &tl, &ok, &unknown, &d), ERR_INVALID);
    buf_free(&big);
}

static void test_checkpoint(void **state)
{
    (void)state;
    tlog_hash_t root;
    for (int i = 0; i < 32; i++)
        root.b[i] = (uint8_t)(i * 9 + 1);
    buf_t b;
    buf_init(&b, 4096);
    assert_int_equal(tlog_checkpoint_format(&b, "example.org/masteryd", 20852163, &root), 0);
    tlog_checkpoint_t cp;
    err_detail_t d;
    assert_int_equal(tlog_checkpoint_parse(b.data, b.len, &cp, &d), 0);
    assert_string_equal(cp.origin, "example.org/masteryd");
    assert_int_equal(cp.size, 20852163);
    assert_memory_equal(cp.root.b, root.b, 32);
    assert_int_equal(cp.extensions_len, 0);
    /* The spec's example, with an extension line. */
    const char *ex = "example.com/behind-the-sofa\n20852163\n"
                     "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nextension one\n";
    assert_int_equal(tlog_checkpoint_parse(ex, strlen(ex), &cp, &d), 0);
    assert_int_equal(cp.extensions_len, strlen("extension one\n"));
    assert_memory_equal(cp.extensions, "extension one\n", cp.extensions_len);
    const char *zero = "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
    assert_int_equal(tlog_checkpoint_parse(zero, strlen(zero), &cp, &d), 0);
    assert_int_equal(cp.size, 0);
    const char *max = "o\n18446744073709551615\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
    assert_int_equal(tlog_checkpoint_parse(max, strlen(max), &cp, &d), 0);
    assert_int_equal(cp.size, UINT64_MAX);

    struct {
        const char *text, *field;
    } bad[] = {
        {"", "checkpoint"},
        {"o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "checkpoint"},
        {"\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "checkpoint.origin"},
        {"o\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "checkpoint.size"},
        {"o\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "checkpoint.size"},
        {"o\n\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "checkpoint.size"},
        {"o\n18446744073709551616\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
         "checkpoint.size"},
        {"o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n", "checkpoint.root"},
        {"o\n1\nZG9uJ3QgY2FyZSAy\n", "checkpoint.root"},
        {"o\n1\n", "checkpoint.root"},
        {"o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n", "checkpoint.extensions"},
        {"o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\na\n\nb\n", "checkpoint.extensions"},
        {"o\t\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "checkpoint"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err_clear(&d);
        if (tlog_checkpoint_parse(bad[i].text, strlen(bad[i].text), &cp, &d) != ERR_INVALID)
            fail_msg("bad checkpoint %zu accepted", i);
        assert_string_equal(d.field, bad[i].field);
    }
    char longo[300];
    memset(longo, 'a', 256);
    longo[256] = '\0';
    buf_reset(&b);
    assert_int_equal(tlog_checkpoint_format(&b, longo, 1, &root), ERR_INVALID);
    assert_int_equal(tlog_checkpoint_format(&b, "a\nb", 1, &root), ERR_INVALID);
    assert_int_equal(tlog_checkpoint_format(&b, "", 1, &root), ERR_INVALID);
    buf_free(&b);
}

/* What the daemon does: sign a checkpoint with keys_sign, add the line; a verifier opens it. */
static void test_signed_checkpoint(void **state)
{
    (void)state;
    keys_t *k = NULL;
    err_detail_t d;
    assert_int_equal(keys_generate(KEYS_ED25519, &k, &d), 0);
    uint8_t pub[32];
    keys_public_raw(k, pub);
    const char *origin = "school.example/masteryd";
    tlog_hash_t root;
    tlog_empty_root(&root);
    buf_t note;
    buf_init(&note, 4096);
    assert_int_equal(tlog_checkpoint_format(&note, origin, 0, &root), 0);
    size_t tlen = note.len;
    uint8_t sig[64];
    size_t sl;
    assert_int_equal(keys_sign(k, (uint8_t *)note.data, note.len, sig, sizeof sig, &sl, &d), 0);
    buf_append_byte(&note, '\n');
    assert_int_equal(tlog_note_signature_line(&note, origin, tlog_key_hash(origin, pub), sig), 0);
    buf_t vk;
    buf_init(&vk, 1024);
    assert_int_equal(tlog_verifier_format(&vk, origin, pub), 0);
    tlog_verifier_t v;
    assert_int_equal(tlog_verifier_parse(vk.data, vk.len, &v, &d), 0);
    size_t tl;
    assert_int_equal(tlog_note_open(note.data, note.len, &v, 1, &tl, NULL, NULL, &d), 0);
    assert_int_equal(tl, tlen);
    tlog_checkpoint_t cp;
    assert_int_equal(tlog_checkpoint_parse(note.data, tl, &cp, &d), 0);
    assert_string_equal(cp.origin, origin);
    /* Another key with the same name and a different key hash is unknown: refused. */
    keys_t *k2 = NULL;
    keys_generate(KEYS_ED25519, &k2, &d);
    uint8_t pub2[32];
    keys_public_raw(k2, pub2);
    tlog_verifier_t v2 = v;
    memcpy(v2.pub, pub2, 32);
    v2.key_hash = tlog_key_hash(origin, pub2);
    assert_int_equal(tlog_note_open(note.data, note.len, &v2, 1, &tl, NULL, NULL, &d), ERR_INVALID);
    /* Same name and key hash but another key (a collision): the signature must fail. */
    v2.key_hash = v.key_hash;
    assert_int_equal(tlog_note_open(note.data, note.len, &v2, 1, &tl, NULL, NULL, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "does not verify"));
    /* tlog_note_sign() makes the same note. */
    buf_t again;
    buf_init(&again, 4096);
    assert_int_equal(tlog_note_sign(&again, k, origin, note.data, tlen), 0);
    assert_int_equal(again.len, note.len);
    assert_memory_equal(again.data, note.data, note.len);
    buf_reset(&again);
    assert_int_equal(tlog_note_sign(&again, k, origin, "no newline", 10), ERR_INVALID);
    assert_int_equal(tlog_note_sign(&again, k, "a b", note.data, tlen), ERR_INVALID);
    keys_t *pubonly = NULL;
    keys_from_public_raw(pub, &pubonly, &d);
    assert_int_equal(tlog_note_sign(&again, pubonly, origin, note.data, tlen), ERR_INVALID);
    assert_int_equal(again.len, 0);
    keys_destroy(&pubonly);
    buf_free(&again);
    keys_destroy(&k2);
    keys_destroy(&k);
    buf_free(&vk);
    buf_free(&note);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verifier_key),
        cmocka_unit_test(test_sign_reproduces_vector),
        cmocka_unit_test(test_open),
        cmocka_unit_test(test_checkpoint),
        cmocka_unit_test(test_signed_checkpoint),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
