#include "codec.h"

#include <string.h>

static const char b58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char b64u_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Character to digit value, -1 outside the alphabet (ranges skip base58's 0 O I l). */
static int b58_value(unsigned char c)
{
    if (c >= '1' && c <= '9')
        return c - '1';
    if (c >= 'A' && c <= 'H')
        return 9 + (c - 'A');
    if (c >= 'J' && c <= 'N')
        return 17 + (c - 'J');
    if (c >= 'P' && c <= 'Z')
        return 22 + (c - 'P');
    if (c >= 'a' && c <= 'k')
        return 33 + (c - 'a');
    if (c >= 'm' && c <= 'z')
        return 44 + (c - 'm');
    return -1;
}

static int b64u_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return 26 + (c - 'a');
    if (c >= '0' && c <= '9')
        return 52 + (c - '0');
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return 10 + (c - 'a');
    if (c >= 'A' && c <= 'F')
        return 10 + (c - 'A');
    return -1;
}

int codec_base58_encode(const uint8_t *in, size_t n, char *out, size_t cap, size_t *out_len)
{
    if (n > CODEC_BASE58_MAX)
        return ERR_LIMIT;
    size_t zeros = 0;
    while (zeros < n && in[zeros] == 0)
        zeros++;
    /* Base-58 digits of the number, most significant first, in a scratch array. */
    uint8_t digits[CODEC_BASE58_ENCODED_MAX(CODEC_BASE58_MAX)];
    size_t size = (n - zeros) * 138 / 100 + 1;
    size_t used = 0; /* digits in use, at the end of digits[0..size) */
    memset(digits, 0, size);
    for (size_t i = zeros; i < n; i++) {
        unsigned carry = in[i];
        size_t j = 0;
        for (size_t k = size; k-- > 0 && (carry != 0 || j < used); j++) {
            carry += 256u * digits[k];
            digits[k] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        used = j;
    }
    size_t total = zeros + used;
    if (total + 1 > cap)
        return ERR_LIMIT;
    memset(out, '1', zeros);
    for (size_t i = 0; i < used; i++)
        out[zeros + i] = b58_alphabet[digits[size - used + i]];
    out[total] = '\0';
    if (out_len != NULL)
        *out_len = total;
    return 0;
}

int codec_base58_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    if (n > CODEC_BASE58_MAX)
        return ERR_LIMIT;
    size_t ones = 0;
    while (ones < n && in[ones] == '1')
        ones++;
    /* Base-256 bytes of the number, most significant first. */
    uint8_t bytes[CODEC_BASE58_MAX];
    size_t size = (n - ones) * 733 / 1000 + 1;
    size_t used = 0;
    memset(bytes, 0, size);
    for (size_t i = ones; i < n; i++) {
        int v = b58_value((unsigned char)in[i]);
        if (v < 0)
            return ERR_INVALID;
        unsigned carry = (unsigned)v;
        size_t j = 0;
        for (size_t k = size; k-- > 0 && (carry != 0 || j < used); j++) {
            carry += 58u * bytes[k];
            bytes[k] = (uint8_t)(carry & 0xff);
            carry >>= 8;
        }
        used = j;
    }
    size_t total = ones + used;
    if (total > cap)
        return ERR_LIMIT;
    memset(out, 0, ones);
    memcpy(out + ones, bytes + size - used, used);
    *out_len = total;
    return 0;
}

int codec_base64url_encode(const uint8_t *in, size_t n, char *out, size_t cap, size_t *out_len)
{
    size_t total = n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
    if (total + 1 > cap)
        return ERR_LIMIT;
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = b64u_alphabet[w >> 18];
        *o++ = b64u_alphabet[w >> 12 & 63];
        *o++ = b64u_alphabet[w >> 6 & 63];
        *o++ = b64u_alphabet[w & 63];
    }
    if (n - i == 1) {
        uint32_t w = (uint32_t)in[i] << 16;
        *o++ = b64u_alphabet[w >> 18];
        *o++ = b64u_alphabet[w >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *o++ = b64u_alphabet[w >> 18];
        *o++ = b64u_alphabet[w >> 12 & 63];
        *o++ = b64u_alphabet[w >> 6 & 63];
    }
    *o = '\0';
    if (out_len != NULL)
        *out_len = total;
    return 0;
}

int codec_base64url_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    if (n % 4 == 1)
        return ERR_INVALID;
    size_t total = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    if (total > cap) {
        /* Still report bad characters as such, not as a size problem. */
        for (size_t i = 0; i < n; i++)
            if (b64u_value((unsigned char)in[i]) < 0)
                return ERR_INVALID;
        return ERR_LIMIT;
    }
    uint8_t *o = out;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64u_value((unsigned char)in[i]);
        if (v < 0)
            return ERR_INVALID;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *o++ = (uint8_t)(acc >> bits);
        }
    }
    /* The unused low bits of the last character must be zero (canonical encoding). */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return ERR_INVALID;
    *out_len = total;
    return 0;
}

int codec_hex_encode(const uint8_t *in, size_t n, char *out, size_t cap, size_t *out_len)
{
    static const char hex[] = "0123456789abcdef";
    if (n > (SIZE_MAX - 1) / 2 || n * 2 + 1 > cap)
        return ERR_LIMIT;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
    if (out_len != NULL)
        *out_len = 2 * n;
    return 0;
}

int codec_hex_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    if (n % 2 != 0)
        return ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (hex_value((unsigned char)in[i]) < 0)
            return ERR_INVALID;
    if (n / 2 > cap)
        return ERR_LIMIT;
    for (size_t i = 0; i < n / 2; i++)
        out[i] = (uint8_t)(hex_value((unsigned char)in[2 * i]) << 4 |
                           hex_value((unsigned char)in[2 * i + 1]));
    *out_len = n / 2;
    return 0;
}

int codec_multibase_encode(char base, const uint8_t *in, size_t n, char *out, size_t cap,
                           size_t *out_len)
{
    if (base != 'z' && base != 'u')
        return ERR_INVALID;
    if (cap < 2)
        return ERR_LIMIT;
    size_t len = 0;
    int rc = base == 'z' ? codec_base58_encode(in, n, out + 1, cap - 1, &len)
                         : codec_base64url_encode(in, n, out + 1, cap - 1, &len);
    if (rc != 0)
        return rc;
    out[0] = base;
    if (out_len != NULL)
        *out_len = len + 1;
    return 0;
}

int codec_multibase_decode(const char *in, size_t n, char *base, uint8_t *out, size_t cap,
                           size_t *out_len)
{
    if (n == 0)
        return ERR_INVALID;
    int rc;
    if (in[0] == 'z')
        rc = codec_base58_decode(in + 1, n - 1, out, cap, out_len);
    else if (in[0] == 'u')
        rc = codec_base64url_decode(in + 1, n - 1, out, cap, out_len);
    else
        return ERR_INVALID;
    if (rc == 0 && base != NULL)
        *base = in[0];
    return rc;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int codec_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap, size_t *out_len)
{
    if (n > (SIZE_MAX - 4) / 4 * 3)
        return ERR_LIMIT;
    size_t total = (n + 2) / 3 * 4;
    if (total + 1 > cap)
        return ERR_LIMIT;
    char *o = out;
    for (size_t i = 0; i < n; i += 3) {
        size_t left = n - i;
        uint32_t w = (uint32_t)in[i] << 16;
        if (left > 1)
            w |= (uint32_t)in[i + 1] << 8;
        if (left > 2)
            w |= in[i + 2];
        *o++ = b64_alphabet[w >> 18];
        *o++ = b64_alphabet[w >> 12 & 63];
        *o++ = left > 1 ? b64_alphabet[w >> 6 & 63] : '=';
        *o++ = left > 2 ? b64_alphabet[w & 63] : '=';
    }
    *o = '\0';
    if (out_len != NULL)
        *out_len = total;
    return 0;
}

int codec_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    if (n % 4 != 0)
        return ERR_INVALID;
    size_t pad = 0;
    if (n >= 1 && in[n - 1] == '=')
        pad++;
    if (pad == 1 && n >= 2 && in[n - 2] == '=')
        pad++;
    for (size_t i = 0; i < n - pad; i++)
        if (b64_value((unsigned char)in[i]) < 0)
            return ERR_INVALID;
    size_t total = n / 4 * 3 - pad;
    if (total > cap)
        return ERR_LIMIT;
    uint8_t *o = out;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n - pad; i++) {
        acc = (acc << 6 | (uint32_t)b64_value((unsigned char)in[i])) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *o++ = (uint8_t)(acc >> bits);
        }
    }
    /* The unused low bits before the padding must be zero (one encoding per value). */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return ERR_INVALID;
    *out_len = total;
    return 0;
}
