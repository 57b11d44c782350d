/*
 * Fuzz target for codec's decoders: every decoder sees the input; whatever decodes must encode
 * back to exactly the input (the decoders are strict, so each value has one encoding; hex is
 * compared case-insensitively).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { CAP = CODEC_BASE58_MAX + 16 };

static void check_same(const char *text, size_t len, const uint8_t *data, size_t size)
{
    if (len != size || memcmp(text, data, size) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t bin[CAP];
    static char text[2 * CAP + 2];
    const char *in = (const char *)data;
    size_t n, len;
    if (size > CODEC_BASE58_MAX)
        return 0;
    if (codec_base58_decode(in, size, bin, sizeof bin, &n) == 0) {
        if (codec_base58_encode(bin, n, text, sizeof text, &len) != 0)
            abort();
        check_same(text, len, data, size);
    }
    if (codec_base64url_decode(in, size, bin, sizeof bin, &n) == 0) {
        if (codec_base64url_encode(bin, n, text, sizeof text, &len) != 0)
            abort();
        check_same(text, len, data, size);
    }
    if (codec_hex_decode(in, size, bin, sizeof bin, &n) == 0) {
        if (codec_hex_encode(bin, n, text, sizeof text, &len) != 0)
            abort();
        if (len != size || strncasecmp(text, in, size) != 0)
            abort();
    }
    char base;
    if (codec_multibase_decode(in, size, &base, bin, sizeof bin, &n) == 0) {
        if (codec_multibase_encode(base, bin, n, text, sizeof text, &len) != 0)
            abort();
        check_same(text, len, data, size);
    }
    return 0;
}
