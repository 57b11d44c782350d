#include "proof.h"

#include <string.h>

#include "codec.h"

int tlog_proof_format(buf_t *out, uint64_t index, const uint8_t *extra, size_t extra_len,
                      const tlog_hash_t *hashes, size_t n, const char *signed_checkpoint,
                      size_t len)
{
    if (n > TLOG_MAX_PROOF || (extra != NULL && extra_len > TLOG_PROOF_EXTRA_MAX) || len == 0)
        return ERR_INVALID;
    size_t old = out->len;
    int rc = buf_append_str(out, TLOG_PROOF_HEADER "\n");
    if (rc == 0 && extra != NULL) {
        char b64[CODEC_BASE64_ENCODED_MAX(TLOG_PROOF_EXTRA_MAX)];
        codec_base64_encode(extra, extra_len, b64, sizeof b64, NULL);
        rc = buf_append_str(out, "extra ");
        if (rc == 0)
            rc = buf_append_str(out, b64);
        if (rc == 0)
            rc = buf_append_byte(out, '\n');
    }
    if (rc == 0)
        rc = buf_append_str(out, "index ");
    if (rc == 0)
        rc = buf_append_uint(out, index);
    if (rc == 0)
        rc = buf_append_byte(out, '\n');
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char b64[CODEC_BASE64_ENCODED_MAX(TLOG_HASH_SIZE)];
        codec_base64_encode(hashes[i].b, TLOG_HASH_SIZE, b64, sizeof b64, NULL);
        rc = buf_append_str(out, b64);
        if (rc == 0)
            rc = buf_append_byte(out, '\n');
    }
    if (rc == 0)
        rc = buf_append_byte(out, '\n');
    if (rc == 0)
        rc = buf_append(out, signed_checkpoint, len);
    if (rc != 0)
        buf_truncate(out, old);
    return rc;
}

/* The line at *pos (without its '\n'); NULL when no complete line is left. */
static const char *line(const char *s, size_t len, size_t *pos, size_t *n)
{
    if (*pos >= len)
        return NULL;
    const char *l = s + *pos;
    const char *eol = memchr(l, '\n', len - *pos);
    if (eol == NULL)
        return NULL;
    *n = (size_t)(eol - l);
    *pos += *n + 1;
    return l;
}

static bool starts(const char *l, size_t n, const char *prefix)
{
    size_t pl = strlen(prefix);
    return n >= pl && memcmp(l, prefix, pl) == 0;
}

int tlog_proof_parse(const char *s, size_t len, tlog_proof_t *p, err_detail_t *d)
{
    memset(p, 0, sizeof *p);
    size_t pos = 0, n = 0;
    const char *l = line(s, len, &pos, &n);
    if (l == NULL || n != strlen(TLOG_PROOF_HEADER) || memcmp(l, TLOG_PROOF_HEADER, n) != 0)
        return err_set(d, ERR_INVALID, "proof", "the first line is not %s", TLOG_PROOF_HEADER);
    l = line(s, len, &pos, &n);
    if (l != NULL && starts(l, n, "extra ")) {
        size_t bl = n - 6;
        if (bl > (TLOG_PROOF_EXTRA_MAX + 2) / 3 * 4 ||
            codec_base64_decode(l + 6, bl, p->extra, sizeof p->extra, &p->extra_len) != 0)
            return err_set(d, ERR_INVALID, "proof.extra", "not base64 of at most %d bytes",
                           TLOG_PROOF_EXTRA_MAX);
        p->has_extra = true;
        l = line(s, len, &pos, &n);
    }
    if (l == NULL || !starts(l, n, "index ") || n == 6 || n > 6 + 20 || (l[6] == '0' && n > 7))
        return err_set(d, ERR_INVALID, "proof.index",
                       "no line \"index N\" (decimal, no leading zeros)");
    uint64_t idx = 0;
    for (size_t i = 6; i < n; i++) {
        if (l[i] < '0' || l[i] > '9')
            return err_set(d, ERR_INVALID, "proof.index", "not a decimal number");
        unsigned dg = (unsigned)(l[i] - '0');
        if (idx > (UINT64_MAX - dg) / 10)
            return err_set(d, ERR_INVALID, "proof.index", "over 2^64 - 1");
        idx = idx * 10 + dg;
    }
    p->index = idx;
    for (;;) {
        l = line(s, len, &pos, &n);
        if (l == NULL)
            return err_set(d, ERR_INVALID, "proof", "no empty line before the checkpoint");
        if (n == 0)
            break;
        if (p->n == TLOG_MAX_PROOF)
            return err_set(d, ERR_INVALID, "proof.hash", "over %d hashes", TLOG_MAX_PROOF);
        uint8_t h[CODEC_BASE64_DECODED_MAX(44)];
        size_t hl = 0;
        if (n != 44 || codec_base64_decode(l, n, h, sizeof h, &hl) != 0 || hl != TLOG_HASH_SIZE)
            return err_set(d, ERR_INVALID, "proof.hash", "hash %zu is not base64 of 32 bytes",
                           p->n + 1);
        memcpy(p->hashes[p->n++].b, h, TLOG_HASH_SIZE);
    }
    if (pos >= len)
        return err_set(d, ERR_INVALID, "proof.checkpoint", "missing");
    p->checkpoint = s + pos;
    p->checkpoint_len = len - pos;
    return 0;
}

int tlog_proof_verify(const char *s, size_t len, const char *origin, const tlog_verifier_t *vs,
                      size_t nvs, const tlog_hash_t *leaf, tlog_proof_t *p, tlog_checkpoint_t *cp,
                      err_detail_t *d)
{
    memset(cp, 0, sizeof *cp);
    cp->extensions = "";
    int rc = tlog_proof_parse(s, len, p, d);
    if (rc != 0)
        return rc;
    size_t tl = 0;
    err_detail_t nd;
    err_clear(&nd);
    rc = tlog_note_open(p->checkpoint, p->checkpoint_len, vs, nvs, &tl, NULL, NULL, &nd);
    if (rc != 0)
        return err_set(d, rc, "proof.checkpoint", "%s: %s", nd.field, nd.message);
    rc = tlog_checkpoint_parse(p->checkpoint, tl, cp, &nd);
    if (rc != 0)
        return err_set(d, rc, "proof.checkpoint", "%s: %s", nd.field, nd.message);
    if (strcmp(cp->origin, origin) != 0)
        return err_set(d, ERR_INVALID, "proof.origin", "the checkpoint's origin is not %s", origin);
    if (p->index >= cp->size)
        return err_set(d, ERR_INVALID, "proof.index",
                       "index %llu is not in the checkpoint's tree of %llu entries",
                       (unsigned long long)p->index, (unsigned long long)cp->size);
    if (tlog_verify_inclusion(p->index, cp->size, leaf, p->hashes, p->n, &cp->root) != 0)
        return err_set(d, ERR_INVALID, "proof.inclusion",
                       "the entry at index %llu is not in the checkpoint's tree",
                       (unsigned long long)p->index);
    return 0;
}
