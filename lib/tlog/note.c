#include "note.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "keys.h"
#include "text.h"

#define EM_DASH     "\xe2\x80\x94"
#define SIG_PREFIX  EM_DASH " "
#define ED25519_SIG 64

uint32_t tlog_key_hash(const char *name, const uint8_t pub[32])
{
    size_t n = strlen(name);
    uint8_t buf[TLOG_NAME_MAX + 2 + 32];
    if (n > TLOG_NAME_MAX)
        n = TLOG_NAME_MAX; /* names are validated before; never overflow */
    memcpy(buf, name, n);
    buf[n] = 0x0a;
    buf[n + 1] = 0x01;
    memcpy(buf + n + 2, pub, 32);
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(buf, n + 2 + 32, md);
    return (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
}

bool tlog_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > TLOG_NAME_MAX)
        return false;
    size_t pos = 0;
    while (pos < len) {
        int32_t c = tlog_utf8_next(name, len, &pos);
        if (c < 0x20 || c == 0x7f || c == '+' || tlog_is_space(c))
            return false; /* c < 0 (invalid UTF-8) too */
    }
    return true;
}

int tlog_verifier_format(buf_t *out, const char *name, const uint8_t pub[32])
{
    if (!tlog_name_valid(name, strlen(name)))
        return ERR_INVALID;
    uint8_t key[33];
    key[0] = 0x01;
    memcpy(key + 1, pub, 32);
    char b64[CODEC_BASE64_ENCODED_MAX(33)];
    char hash[16];
    snprintf(hash, sizeof hash, "+%08x+", (unsigned)tlog_key_hash(name, pub));
    int rc = codec_base64_encode(key, sizeof key, b64, sizeof b64, NULL);
    size_t old = out->len;
    if (rc == 0)
        rc = buf_append_str(out, name);
    if (rc == 0)
        rc = buf_append_str(out, hash);
    if (rc == 0)
        rc = buf_append_str(out, b64);
    if (rc != 0)
        buf_truncate(out, old);
    return rc;
}

static int hex8(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = s[i];
        /* Lowercase only: one string per key, so a changed byte is a different key string. */
        if (c >= '0' && c <= '9')
            v = v << 4 | (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v << 4 | (uint32_t)(c - 'a' + 10);
        else
            return ERR_INVALID;
    }
    *out = v;
    return 0;
}

int tlog_verifier_parse(const char *s, size_t len, tlog_verifier_t *v, err_detail_t *d)
{
    static const char *f = "verifier_key";
    memset(v, 0, sizeof *v);
    const char *p1 = memchr(s, '+', len);
    if (p1 == NULL)
        return err_set(d, ERR_INVALID, f, "not name+hash+key: no '+'");
    size_t nlen = (size_t)(p1 - s);
    if (!tlog_name_valid(s, nlen))
        return err_set(d, ERR_INVALID, f, "the key name is empty, too long or has a space");
    size_t rest = len - nlen - 1;
    if (rest < 9 || p1[9] != '+')
        return err_set(d, ERR_INVALID, f, "the key hash is not 8 hex digits followed by '+'");
    uint32_t h;
    if (hex8(p1 + 1, &h) != 0)
        return err_set(d, ERR_INVALID, f, "the key hash is not 8 lowercase hex digits");
    const char *k = p1 + 10;
    size_t klen = len - nlen - 10;
    uint8_t key[CODEC_BASE64_DECODED_MAX(48)];
    size_t kn = 0;
    if (klen != 44 || codec_base64_decode(k, klen, key, sizeof key, &kn) != 0 || kn != 33)
        return err_set(d, ERR_INVALID, f, "the key is not base64 of 33 bytes");
    if (key[0] != 0x01)
        return err_set(d, ERR_INVALID, f, "key type %u is not Ed25519 (1)", key[0]);
    memcpy(v->name, s, nlen);
    v->name[nlen] = '\0';
    memcpy(v->pub, key + 1, 32);
    v->key_hash = tlog_key_hash(v->name, v->pub);
    if (v->key_hash != h) {
        memset(v, 0, sizeof *v);
        return err_set(d, ERR_INVALID, f, "the key hash does not match the name and key");
    }
    return 0;
}

int tlog_note_signature_line(buf_t *out, const char *name, uint32_t key_hash, const uint8_t sig[64])
{
    if (!tlog_name_valid(name, strlen(name)))
        return ERR_INVALID;
    uint8_t raw[4 + ED25519_SIG];
    raw[0] = (uint8_t)(key_hash >> 24);
    raw[1] = (uint8_t)(key_hash >> 16);
    raw[2] = (uint8_t)(key_hash >> 8);
    raw[3] = (uint8_t)key_hash;
    memcpy(raw + 4, sig, ED25519_SIG);
    char b64[CODEC_BASE64_ENCODED_MAX(sizeof raw)];
    int rc = codec_base64_encode(raw, sizeof raw, b64, sizeof b64, NULL);
    size_t old = out->len;
    if (rc == 0)
        rc = buf_append_str(out, SIG_PREFIX);
    if (rc == 0)
        rc = buf_append_str(out, name);
    if (rc == 0)
        rc = buf_append_byte(out, ' ');
    if (rc == 0)
        rc = buf_append_str(out, b64);
    if (rc == 0)
        rc = buf_append_byte(out, '\n');
    if (rc != 0)
        buf_truncate(out, old);
    return rc;
}

int tlog_note_sign(buf_t *out, keys_t *k, const char *name, const char *text, size_t len)
{
    uint8_t pub[32], sig[KEYS_SIG_MAX];
    size_t sl = 0;
    if (len == 0 || text[len - 1] != '\n' || !tlog_name_valid(name, strlen(name)) ||
        keys_alg(k) != KEYS_ED25519 || !keys_has_private(k) || keys_public_raw(k, pub) != 0)
        return ERR_INVALID;
    int rc = keys_sign(k, (const uint8_t *)text, len, sig, sizeof sig, &sl, NULL);
    if (rc != 0)
        return rc;
    if (sl != ED25519_SIG)
        return ERR_INTERNAL;
    size_t old = out->len;
    rc = buf_append(out, text, len);
    if (rc == 0)
        rc = buf_append_byte(out, '\n');
    if (rc == 0)
        rc = tlog_note_signature_line(out, name, tlog_key_hash(name, pub), sig);
    if (rc != 0)
        buf_truncate(out, old);
    return rc;
}

/* Valid UTF-8 with no control character but '\n'. */
static bool clean_text(const char *s, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        int32_t c = tlog_utf8_next(s, len, &pos);
        if (c < 0 || (c < 0x20 && c != '\n') || c == 0x7f)
            return false;
    }
    return true;
}

/* The last "\n\n" in s, or NULL. */
static const char *last_blank(const char *s, size_t len)
{
    for (size_t i = len; i >= 2; i--)
        if (s[i - 1] == '\n' && s[i - 2] == '\n')
            return s + i - 2;
    return NULL;
}

static int verify_sig(const tlog_verifier_t *v, const char *text, size_t tlen, const uint8_t *sig,
                      size_t slen, err_detail_t *d)
{
    keys_t *k = NULL;
    err_detail_t kd;
    if (keys_from_public_raw(v->pub, &k, &kd) != 0)
        return err_set(d, ERR_INTERNAL, "note", "cannot load key %s: %s", v->name, kd.message);
    int rc = keys_verify(k, (const uint8_t *)text, tlen, sig, slen, &kd);
    keys_destroy(&k);
    if (rc == ERR_UNAUTHENTICATED)
        return err_set(d, ERR_INVALID, "note.signature", "the signature by %s does not verify",
                       v->name);
    if (rc != 0)
        return err_set(d, ERR_INTERNAL, "note.signature", "cannot verify: %s", kd.message);
    return 0;
}

int tlog_note_open(const char *note, size_t len, const tlog_verifier_t *vs, size_t nvs,
                   size_t *text_len, uint32_t *verified, size_t *unknown, err_detail_t *d)
{
    *text_len = 0;
    if (verified != NULL)
        *verified = 0;
    if (unknown != NULL)
        *unknown = 0;
    if (len > TLOG_NOTE_MAX)
        return err_set(d, ERR_INVALID, "note", "over %d bytes", TLOG_NOTE_MAX);
    if (!clean_text(note, len))
        return err_set(d, ERR_INVALID, "note", "not UTF-8 text without control characters");
    const char *blank = last_blank(note, len);
    if (blank == NULL || blank == note)
        return err_set(d, ERR_INVALID, "note", "no text ending in a newline before a blank line");
    size_t tlen = (size_t)(blank - note) + 1;
    const char *p = blank + 2, *end = note + len;
    if (p == end || end[-1] != '\n')
        return err_set(d, ERR_INVALID, "note", "no signature lines, or the last has no newline");
    uint32_t ok = 0;
    size_t nunknown = 0, nsig = 0, nok = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (++nsig > TLOG_NOTE_SIG_MAX)
            return err_set(d, ERR_INVALID, "note", "over %d signatures", TLOG_NOTE_SIG_MAX);
        size_t llen = (size_t)(eol - p);
        if (llen < strlen(SIG_PREFIX) || memcmp(p, SIG_PREFIX, strlen(SIG_PREFIX)) != 0)
            return err_set(d, ERR_INVALID, "note.signature",
                           "signature line %zu does not start with an em dash and a space", nsig);
        const char *name = p + strlen(SIG_PREFIX);
        const char *sp = memchr(name, ' ', (size_t)(eol - name));
        if (sp == NULL || !tlog_name_valid(name, (size_t)(sp - name)))
            return err_set(d, ERR_INVALID, "note.signature",
                           "signature line %zu has no valid key name", nsig);
        uint8_t raw[8192]; /* room for post-quantum signatures of unknown keys */
        size_t rlen = 0;
        size_t blen = (size_t)(eol - sp - 1);
        if (blen > sizeof raw / 3 * 4 ||
            codec_base64_decode(sp + 1, blen, raw, sizeof raw, &rlen) != 0 || rlen < 5)
            return err_set(d, ERR_INVALID, "note.signature",
                           "signature line %zu is not base64 of a key hash and a signature", nsig);
        uint32_t h =
            (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
        size_t nl = (size_t)(sp - name);
        size_t i = 0;
        for (; i < nvs; i++)
            if (vs[i].key_hash == h && strlen(vs[i].name) == nl &&
                memcmp(vs[i].name, name, nl) == 0)
                break;
        if (i == nvs) {
            nunknown++;
        } else {
            if (rlen != 4 + ED25519_SIG)
                return err_set(d, ERR_INVALID, "note.signature",
                               "the signature by %s is not 64 bytes", vs[i].name);
            int rc = verify_sig(&vs[i], note, tlen, raw + 4, ED25519_SIG, d);
            if (rc != 0)
                return rc;
            if (i < 32)
                ok |= UINT32_C(1) << i;
            nok++;
        }
        p = eol + 1;
    }
    if (nok == 0)
        return err_set(d, ERR_INVALID, "note.signature", "no signature by a known key");
    *text_len = tlen;
    if (verified != NULL)
        *verified = ok;
    if (unknown != NULL)
        *unknown = nunknown;
    return 0;
}

int tlog_checkpoint_format(buf_t *out, const char *origin, uint64_t size, const tlog_hash_t *root)
{
    size_t olen = strlen(origin);
    if (olen == 0 || olen > TLOG_NAME_MAX || !clean_text(origin, olen) ||
        memchr(origin, '\n', olen) != NULL)
        return ERR_INVALID;
    char b64[CODEC_BASE64_ENCODED_MAX(TLOG_HASH_SIZE)];
    codec_base64_encode(root->b, TLOG_HASH_SIZE, b64, sizeof b64, NULL);
    size_t old = out->len;
    int rc = buf_append_str(out, origin);
    if (rc == 0)
        rc = buf_append_byte(out, '\n');
    if (rc == 0)
        rc = buf_append_uint(out, size);
    if (rc == 0)
        rc = buf_append_byte(out, '\n');
    if (rc == 0)
        rc = buf_append_str(out, b64);
    if (rc == 0)
        rc = buf_append_byte(out, '\n');
    if (rc != 0)
        buf_truncate(out, old);
    return rc;
}

/* Next line of text[*pos..len): returns its start and length, advances past the '\n'.
 * Returns NULL when no complete line is left. */
static const char *next_line(const char *text, size_t len, size_t *pos, size_t *llen)
{
    if (*pos >= len)
        return NULL;
    const char *s = text + *pos;
    const char *eol = memchr(s, '\n', len - *pos);
    if (eol == NULL)
        return NULL;
    *llen = (size_t)(eol - s);
    *pos += *llen + 1;
    return s;
}

int tlog_checkpoint_parse(const char *text, size_t len, tlog_checkpoint_t *cp, err_detail_t *d)
{
    memset(cp, 0, sizeof *cp);
    cp->extensions = "";
    if (len == 0 || text[len - 1] != '\n' || !clean_text(text, len))
        return err_set(d, ERR_INVALID, "checkpoint",
                       "not UTF-8 lines without control characters ending in a newline");
    size_t pos = 0, n = 0;
    const char *l = next_line(text, len, &pos, &n);
    if (l == NULL || n == 0 || n > TLOG_NAME_MAX)
        return err_set(d, ERR_INVALID, "checkpoint.origin", "empty or over %d bytes",
                       TLOG_NAME_MAX);
    memcpy(cp->origin, l, n);
    cp->origin[n] = '\0';
    l = next_line(text, len, &pos, &n);
    if (l == NULL || n == 0 || n > 20 || (l[0] == '0' && n > 1))
        return err_set(d, ERR_INVALID, "checkpoint.size",
                       "not a decimal number without leading zeros");
    uint64_t size = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i] < '0' || l[i] > '9')
            return err_set(d, ERR_INVALID, "checkpoint.size", "not a decimal number");
        unsigned dg = (unsigned)(l[i] - '0');
        if (size > (UINT64_MAX - dg) / 10)
            return err_set(d, ERR_INVALID, "checkpoint.size", "over 2^64 - 1");
        size = size * 10 + dg;
    }
    cp->size = size;
    l = next_line(text, len, &pos, &n);
    size_t rlen = 0;
    uint8_t root[CODEC_BASE64_DECODED_MAX(44)];
    if (l == NULL || n != 44 || codec_base64_decode(l, n, root, sizeof root, &rlen) != 0 ||
        rlen != TLOG_HASH_SIZE)
        return err_set(d, ERR_INVALID, "checkpoint.root", "not base64 of a 32-byte hash");
    memcpy(cp->root.b, root, TLOG_HASH_SIZE);
    cp->extensions = text + pos;
    cp->extensions_len = len - pos;
    while (next_line(text, len, &pos, &n) != NULL)
        if (n == 0)
            return err_set(d, ERR_INVALID, "checkpoint.extensions", "an empty extension line");
    return 0;
}
