#include "bake.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nquads.h"

#define PNG_SIG_LEN   8
#define PNG_CHUNK_MAX 0x7fffffffu /* PNG: a chunk length fits in 31 bits */

typedef struct kind_info {
    const char *keyword; /* PNG iTXt keyword */
    const char *element; /* SVG element, prefix included */
    const char *prefix;  /* SVG namespace prefix */
    const char *ns;      /* SVG namespace */
} kind_info_t;

static const kind_info_t KINDS[2] = {
    [BAKE_OPEN_BADGE] = {BAKE_OB_KEYWORD, "openbadges:credential", "openbadges", BAKE_OB_SVG_NS},
    [BAKE_CLR] = {BAKE_CLR_KEYWORD, "clr:credential", "clr", BAKE_CLR_SVG_NS},
};

const char *bake_format_name(bake_format_t f)
{
    switch (f) {
    case BAKE_FORMAT_PNG:
        return "png";
    case BAKE_FORMAT_SVG:
        return "svg";
    default:
        return "unknown";
    }
}

void bake_found_free(bake_found_t *found)
{
    if (found == NULL)
        return;
    free(found->text);
    memset(found, 0, sizeof *found);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The credential text a baker accepts: JSON (an object) or a compact JWS, UTF-8, bounded. */
static int check_credential(const char *cred, size_t len, bake_kind_t kind, bool *is_jws,
                            err_detail_t *d)
{
    if (kind != BAKE_OPEN_BADGE && kind != BAKE_CLR)
        return err_set(d, ERR_INVALID, "kind", "unknown credential kind");
    if (cred == NULL || len == 0)
        return err_set(d, ERR_INVALID, "credential", "the credential is empty");
    if (len > BAKE_MAX_CREDENTIAL)
        return err_set(d, ERR_LIMIT, "credential", "the credential is larger than %u bytes",
                       BAKE_MAX_CREDENTIAL);
    if (memchr(cred, '\0', len) != NULL || !nquads_utf8_valid(cred, len))
        return err_set(d, ERR_INVALID, "credential", "the credential is not UTF-8 text");
    if (cred[0] == '{') {
        *is_jws = false;
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        char c = cred[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return err_set(d, ERR_INVALID, "credential",
                           "the credential is neither a JSON object nor a compact JWS");
    }
    *is_jws = true;
    return 0;
}

/* ---- PNG ------------------------------------------------------------------------------- */

/* One chunk of a PNG, borrowed from the image. */
typedef struct chunk {
    size_t off; /* of the length field */
    uint32_t len;
    char type[5];
    const uint8_t *data;
} chunk_t;

/* The iTXt keyword of c if it is one of ours, else -1. */
static int chunk_kind(const chunk_t *c)
{
    if (strcmp(c->type, "iTXt") != 0)
        return -1;
    for (int k = 0; k < 2; k++) {
        size_t kl = strlen(KINDS[k].keyword);
        if (c->len > kl && memcmp(c->data, KINDS[k].keyword, kl) == 0 && c->data[kl] == '\0')
            return k;
    }
    return -1;
}

/*
 * Walks a whole PNG, checking its structure and every CRC, to IEND. The extractor (found
 * given) gets the credential chunk, of which there may be only one; the baker (found NULL) is
 * refused any (ERR_CONFLICT). *ihdr_end is the offset just past IHDR.
 */
static int png_walk(const uint8_t *p, size_t n, chunk_t *found, size_t *ihdr_end, err_detail_t *d)
{
    if (n < PNG_SIG_LEN || memcmp(p, BAKE_PNG_SIGNATURE, PNG_SIG_LEN) != 0)
        return err_set(d, ERR_INVALID, "image", "not a PNG (no PNG signature)");
    if (n > BAKE_MAX_IMAGE)
        return err_set(d, ERR_LIMIT, "image", "the image is larger than %u bytes", BAKE_MAX_IMAGE);
    size_t off = PNG_SIG_LEN;
    unsigned idx = 0;
    bool have = false;
    for (;;) {
        if (n - off < 12)
            return err_set(d, ERR_INVALID, "image",
                           "PNG: truncated at byte %zu (chunk %u has no room for its header "
                           "and CRC; no IEND)",
                           off, idx);
        chunk_t c;
        c.off = off;
        c.len = be32(p + off);
        memcpy(c.type, p + off + 4, 4);
        c.type[4] = '\0';
        for (int i = 0; i < 4; i++)
            if (!((c.type[i] >= 'A' && c.type[i] <= 'Z') || (c.type[i] >= 'a' && c.type[i] <= 'z')))
                return err_set(d, ERR_INVALID, "image",
                               "PNG: chunk %u at byte %zu has an invalid type", idx, off);
        if (c.len > PNG_CHUNK_MAX || c.len > n - off - 12)
            return err_set(d, ERR_INVALID, "image",
                           "PNG: chunk %u (%s) at byte %zu is longer than the file", idx, c.type,
                           off);
        c.data = p + off + 8;
        uint32_t want = be32(c.data + c.len);
        uint32_t crc = (uint32_t)crc32(0L, p + off + 4, (uInt)c.len + 4);
        if (crc != want)
            return err_set(d, ERR_INVALID, "image",
                           "PNG: chunk %u (%s) at byte %zu: CRC mismatch (the file is damaged or "
                           "was altered)",
                           idx, c.type, off);
        if (idx == 0 && (strcmp(c.type, "IHDR") != 0 || c.len != 13))
            return err_set(d, ERR_INVALID, "image", "PNG: the first chunk is not IHDR");
        if (idx > 0 && strcmp(c.type, "IHDR") == 0)
            return err_set(d, ERR_INVALID, "image", "PNG: a second IHDR at byte %zu", off);
        off += 12 + (size_t)c.len;
        if (idx == 0)
            *ihdr_end = off;
        int k = chunk_kind(&c);
        if (k >= 0 && found == NULL)
            return err_set(d, ERR_CONFLICT, "image",
                           "the image already holds a baked credential (iTXt %s at byte %zu); "
                           "bake into the original picture",
                           KINDS[k].keyword, c.off);
        if (k >= 0 && have)
            return err_set(d, ERR_INVALID, "image",
                           "PNG: more than one baked credential (a second iTXt %s at byte %zu)",
                           KINDS[k].keyword, c.off);
        if (k >= 0) {
            *found = c;
            have = true;
        }
        if (strcmp(c.type, "IEND") == 0) {
            if (off != n)
                return err_set(d, ERR_INVALID, "image", "PNG: %zu bytes after IEND", n - off);
            if (found != NULL && !have)
                return err_set(d, ERR_NOT_FOUND, "image",
                               "the PNG holds no baked credential (no iTXt openbadgecredential or "
                               "clrcredential)");
            return 0;
        }
        idx++;
    }
}

static int append_chunk(buf_t *out, const char *type, const uint8_t *head, size_t head_len,
                        const void *body, size_t body_len)
{
    size_t len = head_len + body_len;
    if (len > PNG_CHUNK_MAX)
        return ERR_LIMIT;
    uint8_t hdr[8];
    put_be32(hdr, (uint32_t)len);
    memcpy(hdr + 4, type, 4);
    uLong crc = crc32(0L, hdr + 4, 4);
    if (head_len > 0)
        crc = crc32(crc, head, (uInt)head_len);
    /* crc32 takes uInt lengths: feed a large body in slices */
    const uint8_t *b = body;
    for (size_t done = 0; done < body_len;) {
        size_t step = body_len - done > (1u << 30) ? (1u << 30) : body_len - done;
        crc = crc32(crc, b + done, (uInt)step);
        done += step;
    }
    uint8_t tail[4];
    put_be32(tail, (uint32_t)crc);
    int rc;
    if ((rc = buf_append(out, hdr, 8)) != 0 || (rc = buf_append(out, head, head_len)) != 0 ||
        (rc = buf_append(out, body, body_len)) != 0 || (rc = buf_append(out, tail, 4)) != 0)
        return rc;
    return 0;
}

int bake_png(const void *png, size_t png_len, bake_kind_t kind, const char *cred, size_t cred_len,
             buf_t *out, err_detail_t *d)
{
    bool jws;
    int rc = check_credential(cred, cred_len, kind, &jws, d);
    if (rc != 0)
        return rc;
    size_t ihdr_end = 0;
    if ((rc = png_walk(png, png_len, NULL, &ihdr_end, d)) != 0)
        return rc;
    /* keyword NUL, compression flag 0, method 0, language tag "" NUL, translated "" NUL */
    uint8_t head[64];
    size_t kl = strlen(KINDS[kind].keyword);
    memcpy(head, KINDS[kind].keyword, kl);
    memset(head + kl, 0, 5);
    const uint8_t *p = png;
    if ((rc = buf_append(out, p, ihdr_end)) != 0 ||
        (rc = append_chunk(out, "iTXt", head, kl + 5, cred, cred_len)) != 0 ||
        (rc = buf_append(out, p + ihdr_end, png_len - ihdr_end)) != 0)
        return err_set(d, rc, "image", "the baked image would be larger than allowed");
    return 0;
}

static int png_extract(const uint8_t *p, size_t n, bake_found_t *found, err_detail_t *d)
{
    chunk_t c;
    size_t ihdr_end;
    int rc = png_walk(p, n, &c, &ihdr_end, d);
    if (rc != 0)
        return rc;
    int k = chunk_kind(&c);
    /* keyword NUL flag method language NUL translated NUL text */
    size_t pos = strlen(KINDS[k].keyword) + 1;
    if (c.len < pos + 2)
        return err_set(d, ERR_INVALID, "image", "PNG: iTXt %s is truncated", KINDS[k].keyword);
    if (c.data[pos] != 0 || c.data[pos + 1] != 0)
        return err_set(d, ERR_INVALID, "image",
                       "PNG: iTXt %s is compressed (the specification forbids compression)",
                       KINDS[k].keyword);
    pos += 2;
    for (int field = 0; field < 2; field++) {
        const uint8_t *z = memchr(c.data + pos, '\0', c.len - pos);
        if (z == NULL)
            return err_set(d, ERR_INVALID, "image", "PNG: iTXt %s has no %s terminator",
                           KINDS[k].keyword, field == 0 ? "language tag" : "translated keyword");
        pos = (size_t)(z - c.data) + 1;
    }
    size_t tl = c.len - pos;
    const char *text = (const char *)c.data + pos;
    if (tl == 0)
        return err_set(d, ERR_INVALID, "image", "PNG: iTXt %s is empty", KINDS[k].keyword);
    if (tl > BAKE_MAX_CREDENTIAL)
        return err_set(d, ERR_LIMIT, "image", "PNG: the baked credential is larger than %u bytes",
                       BAKE_MAX_CREDENTIAL);
    if (memchr(text, '\0', tl) != NULL || !nquads_utf8_valid(text, tl))
        return err_set(d, ERR_INVALID, "image", "PNG: iTXt %s is not UTF-8 text", KINDS[k].keyword);
    found->text = malloc(tl + 1);
    if (found->text == NULL)
        return err_set(d, ERR_NOMEM, "image", "out of memory");
    memcpy(found->text, text, tl);
    found->text[tl] = '\0';
    found->len = tl;
    found->format = BAKE_FORMAT_PNG;
    found->kind = (bake_kind_t)k;
    return 0;
}

/* ---- SVG ------------------------------------------------------------------------------- */

static bool xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool starts(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* Skips past the first occurrence of lit at or after p; NULL when absent. */
static const char *skip_past(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    while ((size_t)(end - p) >= n) {
        if (memcmp(p, lit, n) == 0)
            return p + n;
        p++;
    }
    return NULL;
}

/*
 * Finds the end of the start tag that begins at p ('<'): just past its '>'; quotes respected.
 * *self_closing says "/>". NULL when it never ends.
 */
static const char *tag_end(const char *p, const char *end, bool *self_closing)
{
    char quote = 0;
    for (const char *q = p + 1; q < end; q++) {
        if (quote) {
            if (*q == quote)
                quote = 0;
        } else if (*q == '"' || *q == '\'')
            quote = *q;
        else if (*q == '<')
            return NULL;
        else if (*q == '>') {
            *self_closing = q[-1] == '/';
            return q + 1;
        }
    }
    return NULL;
}

/* Is the tag at p ('<') named name (followed by space, '>' or '/')? */
static bool tag_named(const char *p, const char *end, const char *name)
{
    size_t n = strlen(name);
    if ((size_t)(end - p) < n + 2 || memcmp(p + 1, name, n) != 0)
        return false;
    char c = p[1 + n];
    return xml_space(c) || c == '>' || c == '/';
}

/* The root <svg start tag: [*start, *stop). 0 or ERR_INVALID. */
static int svg_root(const char *s, size_t n, const char **start, const char **stop,
                    bool *self_closing, err_detail_t *d)
{
    const char *p = s, *end = s + n;
    if (starts(p, end, "\xef\xbb\xbf"))
        p += 3;
    for (;;) {
        while (p < end && xml_space(*p))
            p++;
        if (starts(p, end, "<?"))
            p = skip_past(p, end, "?>");
        else if (starts(p, end, "<!--"))
            p = skip_past(p + 4, end, "-->");
        else if (starts(p, end, "<!DOCTYPE")) {
            const char *gt = memchr(p, '>', (size_t)(end - p));
            const char *br = memchr(p, '[', (size_t)(end - p));
            p = (br != NULL && (gt == NULL || br < gt)) ? skip_past(br, end, "]>")
                                                        : (gt ? gt + 1 : NULL);
        } else
            break;
        if (p == NULL)
            return err_set(d, ERR_INVALID, "image", "SVG: the prolog never ends");
    }
    if (p >= end || !tag_named(p, end, "svg"))
        return err_set(d, ERR_INVALID, "image", "not an SVG (no <svg> root element)");
    const char *e = tag_end(p, end, self_closing);
    if (e == NULL)
        return err_set(d, ERR_INVALID, "image", "SVG: the <svg> start tag never ends");
    *start = p;
    *stop = e;
    return 0;
}

bake_format_t bake_sniff(const void *data, size_t len)
{
    if (data == NULL)
        return BAKE_FORMAT_UNKNOWN;
    if (len >= PNG_SIG_LEN && memcmp(data, BAKE_PNG_SIGNATURE, PNG_SIG_LEN) == 0)
        return BAKE_FORMAT_PNG;
    const char *a, *b;
    bool sc;
    size_t n = len > 65536 ? 65536 : len; /* the root tag comes early */
    if (svg_root(data, n, &a, &b, &sc, NULL) == 0)
        return BAKE_FORMAT_SVG;
    return BAKE_FORMAT_UNKNOWN;
}

/*
 * The value of attribute name in the start tag [p, e), entities not decoded: [*v, *v + *vl).
 * Returns false when absent.
 */
static bool attr_get(const char *p, const char *e, const char *name, const char **v, size_t *vl)
{
    size_t n = strlen(name);
    const char *q = p + 1;
    while (q < e && !xml_space(*q) && *q != '>' && *q != '/')
        q++; /* the element name */
    while (q < e) {
        while (q < e && (xml_space(*q) || *q == '/'))
            q++;
        if (q >= e || *q == '>')
            return false;
        const char *an = q;
        while (q < e && *q != '=' && !xml_space(*q) && *q != '>')
            q++;
        size_t al = (size_t)(q - an);
        while (q < e && xml_space(*q))
            q++;
        if (q >= e || *q != '=')
            continue;
        q++;
        while (q < e && xml_space(*q))
            q++;
        if (q >= e || (*q != '"' && *q != '\''))
            return false;
        char quote = *q++;
        const char *vs = q;
        while (q < e && *q != quote)
            q++;
        if (q >= e)
            return false;
        if (al == n && memcmp(an, name, n) == 0) {
            *v = vs;
            *vl = (size_t)(q - vs);
            return true;
        }
        q++;
    }
    return false;
}

static int put_utf8(buf_t *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return buf_append(b, u, n);
}

/* Appends text [p, e) with XML entity and character references decoded. */
static int xml_decode(const char *p, const char *e, buf_t *b, err_detail_t *d)
{
    static const struct {
        const char *name;
        char c;
    } ents[] = {{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''}};
    while (p < e) {
        const char *amp = memchr(p, '&', (size_t)(e - p));
        const char *stop = amp ? amp : e;
        int rc = buf_append(b, p, (size_t)(stop - p));
        if (rc != 0)
            return err_set(d, rc, "image", "SVG: the credential is too large");
        if (amp == NULL)
            return 0;
        p = amp + 1;
        bool done = false;
        for (size_t i = 0; i < sizeof ents / sizeof ents[0] && !done; i++)
            if (starts(p, e, ents[i].name)) {
                if ((rc = buf_append_byte(b, ents[i].c)) != 0)
                    return err_set(d, rc, "image", "SVG: the credential is too large");
                p += strlen(ents[i].name);
                done = true;
            }
        if (done)
            continue;
        if (p < e && *p == '#') {
            p++;
            int base = 10;
            if (p < e && *p == 'x') {
                base = 16;
                p++;
            }
            unsigned long cp = 0;
            int digits = 0;
            while (p < e && *p != ';' && digits < 8) {
                int v = (*p >= '0' && *p <= '9')                 ? *p - '0'
                        : (base == 16 && *p >= 'a' && *p <= 'f') ? *p - 'a' + 10
                        : (base == 16 && *p >= 'A' && *p <= 'F') ? *p - 'A' + 10
                                                                 : -1;
                if (v < 0)
                    break;
                cp = cp * (unsigned long)base + (unsigned long)v;
                digits++;
                p++;
            }
            if (digits == 0 || p >= e || *p != ';' || cp == 0 || cp > 0x10ffff ||
                (cp >= 0xd800 && cp <= 0xdfff))
                return err_set(d, ERR_INVALID, "image",
                               "SVG: a malformed character reference in the credential");
            p++;
            if ((rc = put_utf8(b, cp)) != 0)
                return err_set(d, rc, "image", "SVG: the credential is too large");
            continue;
        }
        return err_set(d, ERR_INVALID, "image", "SVG: an unknown entity in the credential");
    }
    return 0;
}

/*
 * Finds the first credential element (either kind) in the SVG, skipping comments, CDATA
 * sections and processing instructions, and decodes its text into *found. ERR_NOT_FOUND when
 * there is none.
 */
static int svg_extract(const char *s, size_t n, bake_found_t *found, err_detail_t *d)
{
    if (n > BAKE_MAX_IMAGE)
        return err_set(d, ERR_LIMIT, "image", "the image is larger than %u bytes", BAKE_MAX_IMAGE);
    const char *root, *p, *end = s + n;
    bool sc;
    int rc = svg_root(s, n, &root, &p, &sc, d);
    if (rc != 0)
        return rc;
    int k = -1;
    const char *el = NULL, *el_end = NULL;
    while (!sc && p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (lt == NULL)
            break;
        p = lt;
        if (starts(p, end, "<!--"))
            p = skip_past(p + 4, end, "-->");
        else if (starts(p, end, "<![CDATA["))
            p = skip_past(p + 9, end, "]]>");
        else if (starts(p, end, "<?"))
            p = skip_past(p + 2, end, "?>");
        else {
            for (int i = 0; i < 2 && k < 0; i++)
                if (tag_named(p, end, KINDS[i].element))
                    k = i;
            bool tsc;
            const char *e = tag_end(p, end, &tsc);
            if (e == NULL)
                return err_set(d, ERR_INVALID, "image", "SVG: a tag at byte %zu never ends",
                               (size_t)(p - s));
            if (k >= 0) {
                el = p;
                el_end = e;
                sc = tsc;
                break;
            }
            p = e;
        }
        if (p == NULL)
            return err_set(d, ERR_INVALID, "image",
                           "SVG: a comment, CDATA section or "
                           "processing instruction never ends");
    }
    if (k < 0)
        return err_set(d, ERR_NOT_FOUND, "image",
                       "the SVG holds no baked credential (no <openbadges:credential> or "
                       "<clr:credential> element)");
    /* the prefix must be bound to the right namespace on the root (OB 2.0 used another) */
    char xmlns[32];
    snprintf(xmlns, sizeof xmlns, "xmlns:%s", KINDS[k].prefix);
    bool rsc;
    const char *root_end = tag_end(root, end, &rsc);
    const char *ns;
    size_t nsl;
    if (!attr_get(root, root_end, xmlns, &ns, &nsl) || nsl != strlen(KINDS[k].ns) ||
        memcmp(ns, KINDS[k].ns, nsl) != 0)
        return err_set(d, ERR_INVALID, "image",
                       "SVG: <%s> is not in the namespace %s (the <svg> element must declare "
                       "%s=\"%s\")",
                       KINDS[k].element, KINDS[k].ns, xmlns, KINDS[k].ns);
    buf_t b;
    buf_init(&b, BAKE_MAX_CREDENTIAL);
    const char *v;
    size_t vl;
    bool has_verify = attr_get(el, el_end, "verify", &v, &vl);
    if (has_verify && (rc = xml_decode(v, v + vl, &b, d)) != 0)
        goto fail;
    if (!sc) {
        /* the content: CDATA sections and text, up to the end tag; no child elements */
        char close[40];
        snprintf(close, sizeof close, "</%s", KINDS[k].element);
        const char *q = el_end;
        for (;;) {
            const char *lt = memchr(q, '<', (size_t)(end - q));
            if (lt == NULL) {
                rc =
                    err_set(d, ERR_INVALID, "image", "SVG: <%s> is never closed", KINDS[k].element);
                goto fail;
            }
            bool text_ws = true;
            for (const char *t = q; t < lt; t++)
                text_ws = text_ws && xml_space(*t);
            if (has_verify && !text_ws) {
                rc = err_set(d, ERR_INVALID, "image",
                             "SVG: <%s> has both a verify attribute and content", KINDS[k].element);
                goto fail;
            }
            if (!has_verify && (rc = xml_decode(q, lt, &b, d)) != 0)
                goto fail;
            if (starts(lt, end, "<![CDATA[")) {
                const char *ce = skip_past(lt + 9, end, "]]>");
                if (ce == NULL) {
                    rc = err_set(d, ERR_INVALID, "image", "SVG: a CDATA section never ends");
                    goto fail;
                }
                if (has_verify && ce - 3 > lt + 9) {
                    rc = err_set(d, ERR_INVALID, "image",
                                 "SVG: <%s> has both a verify attribute and content",
                                 KINDS[k].element);
                    goto fail;
                }
                if ((rc = buf_append(&b, lt + 9, (size_t)(ce - 3 - (lt + 9)))) != 0) {
                    err_set(d, rc, "image", "SVG: the credential is too large");
                    goto fail;
                }
                q = ce;
            } else if (starts(lt, end, "<!--")) {
                if ((q = skip_past(lt + 4, end, "-->")) == NULL) {
                    rc = err_set(d, ERR_INVALID, "image", "SVG: a comment never ends");
                    goto fail;
                }
            } else if (starts(lt, end, close)) {
                break;
            } else {
                rc = err_set(d, ERR_INVALID, "image", "SVG: <%s> holds an element",
                             KINDS[k].element);
                goto fail;
            }
        }
    }
    /* the JSON in the examples is indented inside CDATA: the credential is what is inside */
    size_t a = 0, z = b.len;
    while (a < z && xml_space(b.data[a]))
        a++;
    while (z > a && xml_space(b.data[z - 1]))
        z--;
    if (a == z) {
        rc = err_set(d, ERR_INVALID, "image", "SVG: <%s> is empty", KINDS[k].element);
        goto fail;
    }
    if (memchr(b.data + a, '\0', z - a) != NULL || !nquads_utf8_valid(b.data + a, z - a)) {
        rc = err_set(d, ERR_INVALID, "image", "SVG: the credential is not UTF-8 text");
        goto fail;
    }
    found->text = malloc(z - a + 1);
    if (found->text == NULL) {
        rc = err_set(d, ERR_NOMEM, "image", "out of memory");
        goto fail;
    }
    memcpy(found->text, b.data + a, z - a);
    found->text[z - a] = '\0';
    found->len = z - a;
    found->format = BAKE_FORMAT_SVG;
    found->kind = (bake_kind_t)k;
    buf_free(&b);
    return 0;
fail:
    buf_free(&b);
    return rc;
}

int bake_svg(const char *svg, size_t svg_len, bake_kind_t kind, const char *cred, size_t cred_len,
             buf_t *out, err_detail_t *d)
{
    bool jws;
    int rc = check_credential(cred, cred_len, kind, &jws, d);
    if (rc != 0)
        return rc;
    if (svg_len > BAKE_MAX_IMAGE)
        return err_set(d, ERR_LIMIT, "image", "the image is larger than %u bytes", BAKE_MAX_IMAGE);
    if (memchr(svg, '\0', svg_len) != NULL || !nquads_utf8_valid(svg, svg_len))
        return err_set(d, ERR_INVALID, "image", "SVG: not UTF-8 text");
    bake_found_t f = {0};
    rc = svg_extract(svg, svg_len, &f, d);
    bake_found_free(&f);
    if (rc == 0)
        return err_set(d, ERR_CONFLICT, "image",
                       "the image already holds a baked credential; bake into the original "
                       "picture");
    if (rc != ERR_NOT_FOUND)
        return rc;
    const char *root, *root_end;
    bool sc;
    if ((rc = svg_root(svg, svg_len, &root, &root_end, &sc, d)) != 0)
        return rc;
    if (sc)
        return err_set(d, ERR_INVALID, "image", "SVG: the <svg> element is empty (<svg/>)");
    const kind_info_t *ki = &KINDS[kind];
    char xmlns[32];
    snprintf(xmlns, sizeof xmlns, "xmlns:%s", ki->prefix);
    const char *v;
    size_t vl;
    bool declared = attr_get(root, root_end, xmlns, &v, &vl);
    if (declared && (vl != strlen(ki->ns) || memcmp(v, ki->ns, vl) != 0))
        return err_set(d, ERR_INVALID, "image", "SVG: the prefix %s is bound to another namespace",
                       ki->prefix);
    /* up to the '>' of the root start tag ('/>' was refused above) */
    size_t head = (size_t)(root_end - 1 - svg);
    if ((rc = buf_append(out, svg, head)) != 0)
        goto full;
    if (!declared) {
        if ((rc = buf_append_byte(out, ' ')) != 0 || (rc = buf_append_str(out, xmlns)) != 0 ||
            (rc = buf_append_str(out, "=\"")) != 0 || (rc = buf_append_str(out, ki->ns)) != 0 ||
            (rc = buf_append_byte(out, '"')) != 0)
            goto full;
    }
    if ((rc = buf_append_str(out, ">\n<")) != 0 || (rc = buf_append_str(out, ki->element)) != 0)
        goto full;
    if (jws) {
        /* base64url and dots: nothing to escape in an attribute */
        if ((rc = buf_append_str(out, " verify=\"")) != 0 ||
            (rc = buf_append(out, cred, cred_len)) != 0 || (rc = buf_append_str(out, "\">")) != 0)
            goto full;
    } else {
        if ((rc = buf_append_str(out, "><![CDATA[")) != 0)
            goto full;
        /* "]]>" would end the section: close it between "]]" and ">" and open a new one */
        const char *p = cred, *e = cred + cred_len;
        for (;;) {
            const char *m = skip_past(p, e, "]]>");
            if (m == NULL)
                break;
            if ((rc = buf_append(out, p, (size_t)(m - 1 - p))) != 0 ||
                (rc = buf_append_str(out, "]]><![CDATA[>")) != 0)
                goto full;
            p = m;
        }
        if ((rc = buf_append(out, p, (size_t)(e - p))) != 0 ||
            (rc = buf_append_str(out, "]]>")) != 0)
            goto full;
    }
    if ((rc = buf_append_str(out, "</")) != 0 || (rc = buf_append_str(out, ki->element)) != 0 ||
        (rc = buf_append_byte(out, '>')) != 0 ||
        (rc = buf_append(out, root_end, svg_len - (size_t)(root_end - svg))) != 0)
        goto full;
    return 0;
full:
    return err_set(d, rc, "image", "the baked image would be larger than allowed");
}

int bake_image(const void *image, size_t len, bake_kind_t kind, const char *cred, size_t cred_len,
               buf_t *out, err_detail_t *d)
{
    switch (bake_sniff(image, len)) {
    case BAKE_FORMAT_PNG:
        return bake_png(image, len, kind, cred, cred_len, out, d);
    case BAKE_FORMAT_SVG:
        return bake_svg(image, len, kind, cred, cred_len, out, d);
    default:
        return err_set(d, ERR_INVALID, "image", "the image is neither a PNG nor an SVG");
    }
}

int bake_extract(const void *image, size_t len, bake_found_t *found, err_detail_t *d)
{
    memset(found, 0, sizeof *found);
    if (image == NULL || len == 0)
        return err_set(d, ERR_INVALID, "image", "the image is empty");
    switch (bake_sniff(image, len)) {
    case BAKE_FORMAT_PNG:
        return png_extract(image, len, found, d);
    case BAKE_FORMAT_SVG:
        return svg_extract(image, len, found, d);
    default:
        return err_set(d, ERR_INVALID, "image", "the image is neither a PNG nor an SVG");
    }
}

/* ---- the default picture --------------------------------------------------------------- */

#define MEDAL_SIZE 256

typedef struct rgb {
    uint8_t r, g, b;
} rgb_t;

/* Deep, readable colours (fill, ring): white stays legible on each. */
static const rgb_t PALETTE[8][2] = {
    {{0x1f, 0x5f, 0xa8}, {0xd4, 0xa0, 0x17}}, {{0x2e, 0x7d, 0x32}, {0xc0, 0xc0, 0xc8}},
    {{0x8e, 0x24, 0xaa}, {0xd4, 0xa0, 0x17}}, {{0xc6, 0x28, 0x28}, {0xc0, 0xc0, 0xc8}},
    {{0x00, 0x69, 0x7c}, {0xd4, 0xa0, 0x17}}, {{0x45, 0x5a, 0x64}, {0xd4, 0xa0, 0x17}},
    {{0xad, 0x14, 0x57}, {0xc0, 0xc0, 0xc8}}, {{0x28, 0x35, 0x93}, {0xc0, 0xc0, 0xc8}},
};

/* The star's ten vertices, centred on the medal. */
static void star_points(double xs[10], double ys[10])
{
    const double pi = 3.14159265358979323846;
    for (int i = 0; i < 10; i++) {
        double r = i % 2 == 0 ? 70.0 : 29.0;
        double a = -pi / 2 + i * pi / 5;
        xs[i] = MEDAL_SIZE / 2.0 + r * cos(a);
        ys[i] = MEDAL_SIZE / 2.0 + r * sin(a);
    }
}

static bool in_star(double x, double y, const double xs[10], const double ys[10])
{
    bool in = false;
    for (int i = 0, j = 9; i < 10; j = i++)
        if ((ys[i] > y) != (ys[j] > y) &&
            x < (xs[j] - xs[i]) * (y - ys[i]) / (ys[j] - ys[i]) + xs[i])
            in = !in;
    return in;
}

int bake_default_png(uint32_t seed, buf_t *out, err_detail_t *d)
{
    const rgb_t *pal = PALETTE[seed % 8];
    const size_t row = 1 + MEDAL_SIZE * 4, raw_len = row * MEDAL_SIZE;
    uint8_t *raw = calloc(1, raw_len);
    uLongf zlen = compressBound((uLong)raw_len);
    uint8_t *z = malloc(zlen);
    int rc = 0;
    if (raw == NULL || z == NULL) {
        rc = err_set(d, ERR_NOMEM, "image", "out of memory");
        goto out;
    }
    double xs[10], ys[10];
    star_points(xs, ys);
    for (int y = 0; y < MEDAL_SIZE; y++) {
        uint8_t *px = raw + (size_t)y * row + 1; /* filter byte 0: none */
        for (int x = 0; x < MEDAL_SIZE; x++, px += 4) {
            double dx = x + 0.5 - MEDAL_SIZE / 2.0, dy = y + 0.5 - MEDAL_SIZE / 2.0;
            double r = sqrt(dx * dx + dy * dy);
            const rgb_t *c = NULL;
            rgb_t white = {0xff, 0xff, 0xff};
            if (r < 100)
                c = in_star(x + 0.5, y + 0.5, xs, ys) ? &white : &pal[0];
            else if (r < 122)
                c = &pal[1];
            if (c != NULL) {
                px[0] = c->r;
                px[1] = c->g;
                px[2] = c->b;
                px[3] = 0xff;
            }
        }
    }
    if (compress2(z, &zlen, raw, (uLong)raw_len, 9) != Z_OK) {
        rc = err_set(d, ERR_INTERNAL, "image", "zlib could not compress the picture");
        goto out;
    }
    uint8_t ihdr[13];
    put_be32(ihdr, MEDAL_SIZE);
    put_be32(ihdr + 4, MEDAL_SIZE);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 6;  /* RGBA */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* not interlaced */
    if ((rc = buf_append(out, BAKE_PNG_SIGNATURE, PNG_SIG_LEN)) != 0 ||
        (rc = append_chunk(out, "IHDR", NULL, 0, ihdr, sizeof ihdr)) != 0 ||
        (rc = append_chunk(out, "IDAT", NULL, 0, z, zlen)) != 0 ||
        (rc = append_chunk(out, "IEND", NULL, 0, NULL, 0)) != 0)
        rc = err_set(d, rc, "image", "the picture does not fit");
out:
    free(raw);
    free(z);
    return rc;
}

static int append_escaped(buf_t *out, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--; /* cut on a character boundary */
    }
    for (size_t i = 0; i < n; i++) {
        const char *rep = s[i] == '<'    ? "&lt;"
                          : s[i] == '>'  ? "&gt;"
                          : s[i] == '&'  ? "&amp;"
                          : s[i] == '"'  ? "&quot;"
                          : s[i] == '\'' ? "&apos;"
                                         : NULL;
        int rc = rep ? buf_append_str(out, rep) : buf_append_byte(out, s[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int bake_default_svg(uint32_t seed, const char *title, buf_t *out, err_detail_t *d)
{
    const rgb_t *pal = PALETTE[seed % 8];
    if (title != NULL && !nquads_utf8_valid(title, strlen(title)))
        return err_set(d, ERR_INVALID, "title", "the title is not UTF-8 text");
    double xs[10], ys[10];
    star_points(xs, ys);
    char tmp[512];
    int rc;
    snprintf(tmp, sizeof tmp,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 256 296\" width=\"256\" "
             "height=\"296\" role=\"img\">\n<title>");
    if ((rc = buf_append_str(out, tmp)) != 0 ||
        (rc = append_escaped(out, title ? title : "Badge", 300)) != 0)
        goto full;
    snprintf(tmp, sizeof tmp,
             "</title>\n<circle cx=\"128\" cy=\"128\" r=\"111\" fill=\"#%02x%02x%02x\" "
             "stroke=\"#%02x%02x%02x\" stroke-width=\"22\"/>\n<polygon fill=\"#fff\" points=\"",
             pal[0].r, pal[0].g, pal[0].b, pal[1].r, pal[1].g, pal[1].b);
    if ((rc = buf_append_str(out, tmp)) != 0)
        goto full;
    for (int i = 0; i < 10; i++) {
        snprintf(tmp, sizeof tmp, "%s%.1f,%.1f", i ? " " : "", xs[i], ys[i]);
        if ((rc = buf_append_str(out, tmp)) != 0)
            goto full;
    }
    if ((rc = buf_append_str(out, "\"/>\n<text x=\"128\" y=\"284\" text-anchor=\"middle\" "
                                  "font-family=\"sans-serif\" font-size=\"16\" fill=\"#222\">")) !=
            0 ||
        (rc = append_escaped(out, title ? title : "", 60)) != 0 ||
        (rc = buf_append_str(out, "</text>\n</svg>\n")) != 0)
        goto full;
    return 0;
full:
    return err_set(d, rc, "image", "the picture does not fit");
}
