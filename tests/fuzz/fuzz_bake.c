/*
 * Fuzz target for the unbaker (baked PNG and SVG images are outside input: a student uploads
 * one, an employer drops one on the verifier). Arbitrary bytes go to bake_extract(); whatever it
 * finds must be valid UTF-8 of the stated length, and baking that text into the default
 * pictures and extracting it again must give the same text back. Nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bake.h"
#include "nquads.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const bake_found_t *f, bool png)
{
    buf_t img, out;
    buf_init(&img, BAKE_MAX_IMAGE);
    buf_init(&out, BAKE_MAX_IMAGE);
    int rc = png ? bake_default_png(1, &img, NULL) : bake_default_svg(1, "t", &img, NULL);
    if (rc != 0)
        abort();
    /* text the baker refuses (neither JSON nor JWS) is fine; what it takes must come back */
    if (bake_image(img.data, img.len, f->kind, f->text, f->len, &out, NULL) == 0) {
        bake_found_t back;
        if (bake_extract(out.data, out.len, &back, NULL) != 0 || back.len != f->len ||
            memcmp(back.text, f->text, f->len) != 0 || back.kind != f->kind)
            abort();
        bake_found_free(&back);
    }
    buf_free(&out);
    buf_free(&img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bake_found_t f;
    if (bake_extract(data, size, &f, NULL) == 0) {
        if (f.text == NULL || strlen(f.text) != f.len || !nquads_utf8_valid(f.text, f.len))
            abort();
        round_trip(&f, true);
        round_trip(&f, false);
        bake_found_free(&f);
    } else if (f.text != NULL) {
        abort();
    }
    (void)bake_sniff(data, size);
    return 0;
}
