/* Unit tests for bake: the iTXt chunk's exact bytes and CRC, PNG and SVG round trips (JSON,
 * JWS, CLR), "]]>" inside the JSON, refusal of an already-baked image, damaged PNGs (one bit,
 * CRC, truncation, trailing bytes), SVG namespace and entity handling, and the default
 * pictures being well-formed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bake.h"

static const char CRED[] = "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\"],"
                           "\"name\":\"A ]]> inside & <tags>\",\"x\":\"\xc3\xa9\"}";
#define JWS_TEXT "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJkaWQ6a2V5In0.c2ln"
static const char JWS[] = JWS_TEXT;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static buf_t default_png(void)
{
    buf_t b;
    buf_init(&b, BAKE_MAX_IMAGE);
    assert_int_equal(bake_default_png(3, &b, NULL), 0);
    return b;
}

static void test_default_png(void **state)
{
    (void)state;
    buf_t b = default_png();
    assert_int_equal(bake_sniff(b.data, b.len), BAKE_FORMAT_PNG);
    err_detail_t d;
    bake_found_t f;
    /* well-formed (every CRC checked) and without a credential */
    assert_int_equal(bake_extract(b.data, b.len, &f, &d), ERR_NOT_FOUND);
    /* the pixels inflate to 256 rows of 1 + 256 * 4 bytes */
    const uint8_t *p = (const uint8_t *)b.data + 8 + 12 + 13;
    assert_memory_equal(p + 4, "IDAT", 4);
    uLongf n = 256 * (1 + 256 * 4);
    uint8_t *raw = malloc(n);
    assert_int_equal(uncompress(raw, &n, p + 8, be32(p)), Z_OK);
    assert_int_equal(n, 256 * (1 + 256 * 4));
    /* the centre pixel is the white star, a corner transparent */
    const uint8_t *centre = raw + 128 * (1 + 1024) + 1 + 128 * 4;
    assert_int_equal(centre[0], 0xff);
    assert_int_equal(centre[3], 0xff);
    assert_int_equal(raw[1 + 3], 0);
    free(raw);
    buf_free(&b);
}

static void test_png_chunk_bytes(void **state)
{
    (void)state;
    buf_t img = default_png(), out;
    buf_init(&out, BAKE_MAX_IMAGE);
    err_detail_t d;
    assert_int_equal(bake_png(img.data, img.len, BAKE_OPEN_BADGE, CRED, strlen(CRED), &out, &d), 0);
    assert_int_equal(out.len, img.len + 12 + strlen("openbadgecredential") + 5 + strlen(CRED));
    /* right after IHDR: length, "iTXt", keyword NUL 0 0 NUL NUL text, CRC over type + data */
    const uint8_t *c = (const uint8_t *)out.data + 8 + 25;
    uint32_t len = be32(c);
    assert_int_equal(len, strlen("openbadgecredential") + 5 + strlen(CRED));
    assert_memory_equal(c + 4, "iTXt", 4);
    assert_memory_equal(c + 8, "openbadgecredential\0\0\0\0\0", 24);
    assert_memory_equal(c + 8 + 24, CRED, strlen(CRED));
    assert_int_equal(be32(c + 8 + len), (uint32_t)crc32(0, c + 4, len + 4));
    /* everything else unchanged */
    assert_memory_equal(out.data, img.data, 33);
    assert_memory_equal(out.data + 33 + 12 + len, img.data + 33, img.len - 33);

    bake_found_t f;
    assert_int_equal(bake_extract(out.data, out.len, &f, &d), 0);
    assert_int_equal(f.format, BAKE_FORMAT_PNG);
    assert_int_equal(f.kind, BAKE_OPEN_BADGE);
    assert_int_equal(f.len, strlen(CRED));
    assert_string_equal(f.text, CRED);
    bake_found_free(&f);
    bake_found_free(&f); /* twice is safe */

    /* baked once only: a second bake (either kind) is refused */
    buf_t again;
    buf_init(&again, BAKE_MAX_IMAGE);
    assert_int_equal(bake_png(out.data, out.len, BAKE_OPEN_BADGE, CRED, strlen(CRED), &again, &d),
                     ERR_CONFLICT);
    assert_string_equal(d.field, "image");
    assert_non_null(strstr(d.message, "already"));
    assert_int_equal(bake_png(out.data, out.len, BAKE_CLR, JWS, strlen(JWS), &again, &d),
                     ERR_CONFLICT);
    buf_free(&again);
    buf_free(&out);
    buf_free(&img);
}

static void test_png_jws_and_clr(void **state)
{
    (void)state;
    buf_t img = default_png(), out;
    buf_init(&out, BAKE_MAX_IMAGE);
    err_detail_t d;
    assert_int_equal(bake_image(img.data, img.len, BAKE_CLR, JWS, strlen(JWS), &out, &d), 0);
    assert_non_null(memmem(out.data, out.len, "clrcredential\0\0\0\0\0", 18));
    bake_found_t f;
    assert_int_equal(bake_extract(out.data, out.len, &f, &d), 0);
    assert_int_equal(f.kind, BAKE_CLR);
    assert_string_equal(f.text, JWS);
    bake_found_free(&f);
    buf_free(&out);
    buf_free(&img);
}

static void test_png_damage(void **state)
{
    (void)state;
    buf_t img = default_png(), out;
    buf_init(&out, BAKE_MAX_IMAGE);
    err_detail_t d;
    bake_found_t f;
    assert_int_equal(bake_png(img.data, img.len, BAKE_OPEN_BADGE, CRED, strlen(CRED), &out, &d), 0);
    char *copy = malloc(out.len + 4);
    /* one bit of the credential text: the CRC catches it */
    memcpy(copy, out.data, out.len);
    copy[33 + 8 + 24 + 10] ^= 0x01;
    assert_int_equal(bake_extract(copy, out.len, &f, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "CRC"));
    /* the same bit with its CRC recomputed: extracts the altered text (the proof must catch it) */
    uint8_t *c = (uint8_t *)copy + 33;
    uint32_t len = be32(c), crc = (uint32_t)crc32(0, c + 4, len + 4);
    c[8 + len] = (uint8_t)(crc >> 24);
    c[9 + len] = (uint8_t)(crc >> 16);
    c[10 + len] = (uint8_t)(crc >> 8);
    c[11 + len] = (uint8_t)crc;
    assert_int_equal(bake_extract(copy, out.len, &f, &d), 0);
    assert_string_not_equal(f.text, CRED);
    bake_found_free(&f);
    /* truncated, trailing bytes, no signature, compressed flag */
    memcpy(copy, out.data, out.len);
    assert_int_equal(bake_extract(copy, out.len - 5, &f, &d), ERR_INVALID);
    memcpy(copy + out.len, "junk", 4);
    assert_int_equal(bake_extract(copy, out.len + 4, &f, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "after IEND"));
    copy[0] = 'X';
    assert_int_equal(bake_extract(copy, out.len, &f, &d), ERR_INVALID);
    memcpy(copy, out.data, out.len);
    c = (uint8_t *)copy + 33;
    c[8 + 20] = 1; /* compression flag */
    crc = (uint32_t)crc32(0, c + 4, len + 4);
    c[8 + len] = (uint8_t)(crc >> 24);
    c[9 + len] = (uint8_t)(crc >> 16);
    c[10 + len] = (uint8_t)(crc >> 8);
    c[11 + len] = (uint8_t)crc;
    assert_int_equal(bake_extract(copy, out.len, &f, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "compressed"));
    /* not an image */
    assert_int_equal(bake_extract("{\"a\":1}", 7, &f, &d), ERR_INVALID);
    assert_int_equal(bake_extract("", 0, &f, &d), ERR_INVALID);
    /* bad credentials are refused before the image is touched */
    buf_t o2;
    buf_init(&o2, BAKE_MAX_IMAGE);
    assert_int_equal(bake_png(img.data, img.len, BAKE_OPEN_BADGE, "", 0, &o2, &d), ERR_INVALID);
    assert_string_equal(d.field, "credential");
    assert_int_equal(bake_png(img.data, img.len, BAKE_OPEN_BADGE, "not a jws!", 10, &o2, &d),
                     ERR_INVALID);
    assert_int_equal(bake_png(img.data, img.len, BAKE_OPEN_BADGE, "{\"\xff\"}", 5, &o2, &d),
                     ERR_INVALID);
    buf_free(&o2);
    free(copy);
    buf_free(&out);
    buf_free(&img);
}

static void test_svg_round_trip(void **state)
{
    (void)state;
    buf_t img, out;
    buf_init(&img, BAKE_MAX_IMAGE);
    buf_init(&out, BAKE_MAX_IMAGE);
    err_detail_t d;
    assert_int_equal(bake_default_svg(5, "Adding <fractions> & \"more\"", &img, &d), 0);
    assert_int_equal(bake_sniff(img.data, img.len), BAKE_FORMAT_SVG);
    assert_non_null(strstr(img.data, "Adding &lt;fractions&gt; &amp; &quot;more&quot;"));
    assert_int_equal(bake_svg(img.data, img.len, BAKE_OPEN_BADGE, CRED, strlen(CRED), &out, &d), 0);
    assert_non_null(strstr(out.data, "xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\""));
    /* directly after the <svg> start tag */
    assert_non_null(strstr(out.data, "role=\"img\" xmlns:openbadges=\"https://purl.imsglobal.org/"
                                     "ob/v3p0\">\n<openbadges:credential><![CDATA["));
    /* "]]>" split over two sections */
    assert_non_null(strstr(out.data, "A ]]]]><![CDATA[> inside"));
    bake_found_t f;
    assert_int_equal(bake_extract(out.data, out.len, &f, &d), 0);
    assert_int_equal(f.format, BAKE_FORMAT_SVG);
    assert_string_equal(f.text, CRED);
    bake_found_free(&f);
    buf_t again;
    buf_init(&again, BAKE_MAX_IMAGE);
    assert_int_equal(bake_svg(out.data, out.len, BAKE_OPEN_BADGE, CRED, strlen(CRED), &again, &d),
                     ERR_CONFLICT);
    buf_free(&again);

    /* a JWS goes into the verify attribute */
    buf_reset(&out);
    assert_int_equal(bake_svg(img.data, img.len, BAKE_OPEN_BADGE, JWS, strlen(JWS), &out, &d), 0);
    assert_non_null(strstr(out.data, "<openbadges:credential verify=\""));
    assert_int_equal(bake_extract(out.data, out.len, &f, &d), 0);
    assert_string_equal(f.text, JWS);
    bake_found_free(&f);

    /* CLR: its own prefix and namespace */
    buf_reset(&out);
    assert_int_equal(bake_svg(img.data, img.len, BAKE_CLR, CRED, strlen(CRED), &out, &d), 0);
    assert_non_null(strstr(out.data, "xmlns:clr=\"https://purl.imsglobal.org/clr/v2p0\""));
    assert_int_equal(bake_extract(out.data, out.len, &f, &d), 0);
    assert_int_equal(f.kind, BAKE_CLR);
    assert_string_equal(f.text, CRED);
    bake_found_free(&f);
    buf_free(&out);
    buf_free(&img);
}

static void test_svg_foreign(void **state)
{
    (void)state;
    err_detail_t d;
    bake_found_t f;
    /* the specification's example shape: indented JSON in CDATA, a comment before the root */
    const char *ex =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- made by hand -->\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\"\n"
        "  xmlns:openbadges='https://purl.imsglobal.org/ob/v3p0' viewBox=\"0 0 9 9\">\n"
        "  <openbadges:credential>\n    <![CDATA[\n  {\"a\": 1}\n  ]]>\n"
        "  </openbadges:credential><circle r=\"1\"/></svg>";
    assert_int_equal(bake_extract(ex, strlen(ex), &f, &d), 0);
    assert_string_equal(f.text, "{\"a\": 1}");
    bake_found_free(&f);
    /* entities in a verify attribute and in text */
    const char *ent = "<svg xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\">"
                      "<openbadges:credential>{&quot;a&quot;:&#x22;&#233;&lt;&#34;}"
                      "</openbadges:credential></svg>";
    assert_int_equal(bake_extract(ent, strlen(ent), &f, &d), 0);
    assert_string_equal(f.text, "{\"a\":\"\xc3\xa9<\"}");
    bake_found_free(&f);
    /* an element inside a comment or a CDATA section does not count */
    const char *hidden = "<svg xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\">"
                         "<!-- <openbadges:credential>{}</openbadges:credential> -->"
                         "<style><![CDATA[<openbadges:credential>]]></style></svg>";
    assert_int_equal(bake_extract(hidden, strlen(hidden), &f, &d), ERR_NOT_FOUND);
    /* OB 2.0's namespace is not OB 3.0's */
    const char *ob2 = "<svg xmlns:openbadges=\"http://openbadges.org\">"
                      "<openbadges:credential>{}</openbadges:credential></svg>";
    assert_int_equal(bake_extract(ob2, strlen(ob2), &f, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "namespace"));
    /* unknown entity, child element, never closed, both verify and content, empty */
    const char *bad[] = {
        "<svg xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"><openbadges:credential>"
        "&nbsp;</openbadges:credential></svg>",
        "<svg xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"><openbadges:credential>"
        "<g/></openbadges:credential></svg>",
        "<svg xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"><openbadges:credential>"
        "{\"a\":1}",
        "<svg xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"><openbadges:credential "
        "verify=\"a.b.c\">{}</openbadges:credential></svg>",
        "<svg xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"><openbadges:credential/>"
        "</svg>",
        "<svg xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"><openbadges:credential>"
        "&#0;</openbadges:credential></svg>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(bake_extract(bad[i], strlen(bad[i]), &f, &d), ERR_INVALID);
        assert_null(f.text);
    }
    /* baking: <svg/> is refused, an existing right declaration is kept, a wrong one refused */
    buf_t out;
    buf_init(&out, BAKE_MAX_IMAGE);
    assert_int_equal(bake_svg("<svg/>", 6, BAKE_OPEN_BADGE, JWS, strlen(JWS), &out, &d),
                     ERR_INVALID);
    const char *decl = "<svg xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"></svg>";
    assert_int_equal(bake_svg(decl, strlen(decl), BAKE_OPEN_BADGE, JWS, strlen(JWS), &out, &d), 0);
    assert_string_equal(out.data, "<svg xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\">\n"
                                  "<openbadges:credential verify=\"" JWS_TEXT
                                  "\"></openbadges:credential></svg>");
    buf_reset(&out);
    assert_int_equal(bake_svg(ob2, strlen(ob2), BAKE_OPEN_BADGE, JWS, strlen(JWS), &out, &d),
                     ERR_INVALID);
    assert_int_equal(bake_svg("<html>", 6, BAKE_OPEN_BADGE, JWS, strlen(JWS), &out, &d),
                     ERR_INVALID);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_png),     cmocka_unit_test(test_png_chunk_bytes),
        cmocka_unit_test(test_png_jws_and_clr), cmocka_unit_test(test_png_damage),
        cmocka_unit_test(test_svg_round_trip),  cmocka_unit_test(test_svg_foreign),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
