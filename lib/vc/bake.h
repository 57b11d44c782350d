/*
 * bake: Open Badges 3.0 (and CLR 2.0) baked images: a signed credential carried inside the
 * badge's own PNG or SVG picture, as the specifications lay it out.
 *
 *   PNG  one iTXt chunk, keyword "openbadgecredential" (CLR: "clrcredential"), compression
 *        flag 0, method 0, empty language tag and translated keyword, the text being the
 *        credential's JSON or its compact JWS (OB 3.0 section 5.3.1). It is inserted right after
 *        IHDR, so an extractor that stops at the first match reads little; every other chunk
 *        is copied unchanged.
 *   SVG  the root <svg> gets xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0" and, directly
 *        after its start tag, <openbadges:credential>: a JWS in its verify attribute, JSON in
 *        CDATA. A "]]>" inside the JSON is split across two CDATA sections ("]]]]><![CDATA[>"),
 *        so every credential round-trips. CLR uses the prefix clr and the namespace
 *        https://purl.imsglobal.org/clr/v2p0.
 *
 * An image that already holds a credential (of either kind) is refused (ERR_CONFLICT), never
 * baked twice: the specifications allow one such chunk or element only.
 *
 * Images are outside input. The unbaker checks the PNG signature, every chunk's length and
 * CRC-32, IHDR first and IEND last, refuses a second credential chunk, a compressed one, and
 * non-UTF-8 text; in SVG it reads only up to the first credential element and decodes the five
 * XML entities and numeric references. Nothing is executed or fetched. Bounded by
 * BAKE_MAX_IMAGE and BAKE_MAX_CREDENTIAL. No I/O.
 */
#ifndef MASTERY_BAKE_H
#define MASTERY_BAKE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define BAKE_MAX_IMAGE      (16u << 20) /* bytes of an image, before or after baking */
#define BAKE_MAX_CREDENTIAL (4u << 20)  /* bytes of the credential text (VERIFY_MAX_INPUT) */

#define BAKE_OB_KEYWORD    "openbadgecredential"
#define BAKE_CLR_KEYWORD   "clrcredential"
#define BAKE_OB_SVG_NS     "https://purl.imsglobal.org/ob/v3p0"
#define BAKE_CLR_SVG_NS    "https://purl.imsglobal.org/clr/v2p0"
#define BAKE_PNG_SIGNATURE "\x89PNG\r\n\x1a\n"

typedef enum bake_kind {
    BAKE_OPEN_BADGE = 0, /* OpenBadgeCredential / AchievementCredential */
    BAKE_CLR = 1,        /* ClrCredential */
} bake_kind_t;

typedef enum bake_format {
    BAKE_FORMAT_UNKNOWN = 0,
    BAKE_FORMAT_PNG,
    BAKE_FORMAT_SVG,
} bake_format_t;

/* What the unbaker found. text is owned (free with bake_found_free()), NUL-terminated. */
typedef struct bake_found {
    bake_format_t format;
    bake_kind_t kind;
    char *text; /* the credential: JSON or compact JWS, exactly as baked */
    size_t len;
} bake_found_t;

/* "png", "svg" or "unknown". Static. */
const char *bake_format_name(bake_format_t f);

/*
 * Tells a PNG (its 8-byte signature) from an SVG (after an optional BOM, whitespace, XML
 * declaration, comments and DOCTYPE, an <svg start tag) by content, not name. Borrowed input.
 */
bake_format_t bake_sniff(const void *data, size_t len);

/*
 * Bakes cred (cred_len bytes of JSON or compact JWS, valid UTF-8) into the PNG image.
 * @param[out] out  initialised by the caller (its max bounds the result); the baked PNG is
 *                  appended. On failure out may hold part of it: discard.
 * @return 0; ERR_INVALID (not a well-formed PNG, or the credential is empty, not UTF-8 or too
 *         large: d names "image" or "credential"); ERR_CONFLICT (already baked); ERR_LIMIT;
 *         ERR_NOMEM.
 */
int bake_png(const void *png, size_t png_len, bake_kind_t kind, const char *cred, size_t cred_len,
             buf_t *out, err_detail_t *d);

/* The same into an SVG image (UTF-8 text; a standalone <svg> document). Same errors. */
int bake_svg(const char *svg, size_t svg_len, bake_kind_t kind, const char *cred, size_t cred_len,
             buf_t *out, err_detail_t *d);

/*
 * Dispatches on bake_sniff(image): bake_png() or bake_svg(). ERR_INVALID ("image") when it is
 * neither.
 */
int bake_image(const void *image, size_t len, bake_kind_t kind, const char *cred, size_t cred_len,
               buf_t *out, err_detail_t *d);

/*
 * Draws the default badge picture, for an achievement without a bakeable image of its own: a
 * 256 x 256 RGBA PNG (zlib), a medal whose colours are chosen by seed (e.g. a hash of the
 * achievement id, so each achievement keeps its colour). Appends to out.
 * @return 0; ERR_LIMIT; ERR_NOMEM; ERR_INTERNAL (zlib).
 */
int bake_default_png(uint32_t seed, buf_t *out, err_detail_t *d);

/*
 * The same medal as an SVG, with title (UTF-8, XML-escaped here; may be NULL) written under it
 * and as the <title> read by screen readers. Appends to out. @return 0; ERR_LIMIT; ERR_NOMEM.
 */
int bake_default_svg(uint32_t seed, const char *title, buf_t *out, err_detail_t *d);

/*
 * Finds the baked credential in a PNG or SVG image.
 * @param[out] found filled on 0; the caller frees with bake_found_free().
 * @return 0; ERR_NOT_FOUND (a well-formed image without a credential); ERR_INVALID (not a PNG
 *         or SVG, a bad chunk, CRC or element: d says which and where); ERR_LIMIT; ERR_NOMEM.
 */
int bake_extract(const void *image, size_t len, bake_found_t *found, err_detail_t *d);

/* Frees found->text and zeroes *found. Safe to call twice. */
void bake_found_free(bake_found_t *found);

#endif
