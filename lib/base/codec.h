/*
 * codec: the byte-to-text encodings credentials use: base58btc (Bitcoin alphabet), base64url
 * without padding (RFC 4648 section 5), multibase ('z' base58btc, 'u' base64url) and hex; and
 * padded standard base64 (RFC 4648 section 4) for the transparency log's C2SP formats.
 *
 * Every function writes into a caller-supplied buffer whose capacity it checks, and writes a
 * terminating NUL after text output (the capacity must include it). Decoders are strict: any
 * character outside the alphabet, padding, a dangling base64url character or non-zero unused
 * bits fail with ERR_INVALID, so one value has exactly one accepted encoding.
 *
 * Pure: no I/O, no allocation, no global state; thread-safe.
 */
#ifndef MASTERY_CODEC_H
#define MASTERY_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Largest input (bytes to encode, characters to decode) the quadratic base58 code accepts. */
#define CODEC_BASE58_MAX 4096

/* Buffer sizes (including the NUL for text) that always suffice for n input bytes. */
#define CODEC_BASE58_ENCODED_MAX(n)    ((n)*138 / 100 + 2)
#define CODEC_BASE64URL_ENCODED_MAX(n) (((n) + 2) / 3 * 4 + 1)
#define CODEC_HEX_ENCODED_MAX(n)       ((n)*2 + 1)
#define CODEC_BASE64_ENCODED_MAX(n)    (((n) + 2) / 3 * 4 + 1)
/* Bytes that always suffice to decode n characters. */
#define CODEC_BASE58_DECODED_MAX(n)    (n)
#define CODEC_BASE64URL_DECODED_MAX(n) ((n)*3 / 4 + 1)
#define CODEC_HEX_DECODED_MAX(n)       ((n) / 2)
#define CODEC_BASE64_DECODED_MAX(n)    ((n) / 4 * 3)

/*
 * Encodes n bytes as base58btc text (leading zero bytes become '1').
 * @param[in]  in      the bytes. Borrowed. May be NULL when n is 0.
 * @param[out] out     receives the NUL-terminated text.
 * @param[in]  cap     size of out, including room for the NUL.
 * @param[out] out_len optional: the text length without the NUL.
 * @return 0; ERR_LIMIT (n > CODEC_BASE58_MAX, or out too small).
 */
int codec_base58_encode(const uint8_t *in, size_t n, char *out, size_t cap, size_t *out_len);

/*
 * Decodes base58btc text.
 * @param[in]  in      the text (need not be NUL-terminated). Borrowed.
 * @param[in]  n       its length.
 * @param[out] out     receives the bytes.
 * @param[in]  cap     size of out.
 * @param[out] out_len the number of bytes written.
 * @return 0; ERR_INVALID (a character outside the alphabet, e.g. 0 O I l);
 *         ERR_LIMIT (n > CODEC_BASE58_MAX, or out too small).
 */
int codec_base58_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len);

/* Encodes as base64url without padding. Parameters and errors as codec_base58_encode()
 * (ERR_LIMIT only when out is too small). */
int codec_base64url_encode(const uint8_t *in, size_t n, char *out, size_t cap, size_t *out_len);

/* Decodes unpadded base64url. Parameters as codec_base58_decode(). @return 0; ERR_INVALID
 * (a character outside A-Z a-z 0-9 - _, '=' padding, length % 4 == 1, non-zero unused bits);
 * ERR_LIMIT (out too small). */
int codec_base64url_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len);

/* Encodes as lowercase hex. Parameters and errors as codec_base64url_encode(). */
int codec_hex_encode(const uint8_t *in, size_t n, char *out, size_t cap, size_t *out_len);

/* Decodes hex (either case). @return 0; ERR_INVALID (odd length, a non-hex character);
 * ERR_LIMIT (out too small). */
int codec_hex_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len);

/*
 * Encodes as multibase: the base's prefix character followed by the encoding.
 * @param[in] base 'z' (base58btc) or 'u' (base64url); anything else is ERR_INVALID.
 * Other parameters and errors as codec_base58_encode(); cap must include the prefix.
 */
int codec_multibase_encode(char base, const uint8_t *in, size_t n, char *out, size_t cap,
                           size_t *out_len);

/*
 * Decodes multibase text whose prefix is 'z' or 'u'.
 * @param[out] base optional: receives the prefix character.
 * Other parameters as codec_base58_decode().
 * @return 0; ERR_INVALID (empty, an unsupported prefix, or the body is invalid); ERR_LIMIT.
 */
int codec_multibase_decode(const char *in, size_t n, char *base, uint8_t *out, size_t cap,
                           size_t *out_len);

/* Encodes as standard padded base64 (RFC 4648 section 4: '+', '/', '='), the encoding of the
 * C2SP transparency log formats. Parameters and errors as codec_base64url_encode(). */
int codec_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap, size_t *out_len);

/* Decodes standard padded base64, strictly: length a multiple of 4, '=' only as the last one
 * or two characters, zero unused bits, no whitespace. Parameters as codec_base58_decode().
 * @return 0; ERR_INVALID; ERR_LIMIT (out too small). */
int codec_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len);

#endif
