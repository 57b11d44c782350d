#include "jws.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "jcs.h"

static const char *alg_name(const keys_t *k)
{
    return keys_alg(k) == KEYS_ED25519 ? "EdDSA" : "RS256";
}

/* Appends base64url(p[0..n)) to b. */
static int append_b64u(buf_t *b, const void *p, size_t n)
{
    size_t need = CODEC_BASE64URL_ENCODED_MAX(n);
    int rc = buf_reserve(b, need);
    if (rc != 0)
        return rc;
    size_t len = 0;
    rc = codec_base64url_encode(p, n, b->data + b->len, b->cap - b->len, &len);
    if (rc != 0)
        return rc;
    b->len += len;
    return 0;
}

/* Appends base64url(JCS(v)) to b, using scratch for the JSON. */
static int append_json_b64u(buf_t *b, buf_t *scratch, const json_t *v, err_detail_t *d)
{
    buf_reset(scratch);
    int rc = jcs_serialize_buf(v, scratch, d);
    if (rc != 0)
        return rc;
    return append_b64u(b, scratch->data, scratch->len);
}

int jws_sign(const json_t *claims, keys_t *key, const char *kid, char **out, size_t *len,
             err_detail_t *d)
{
    buf_t tok, scratch;
    buf_init(&tok, JWS_MAX_TOKEN);
    buf_init(&scratch, JWS_MAX_TOKEN);
    json_t *header = NULL;
    uint8_t sig[KEYS_SIG_MAX];
    size_t sig_len = 0;
    int rc;
    if (!json_is_object(claims)) {
        rc = err_set(d, ERR_INVALID, "claims", "JWT claims must be a JSON object");
        goto out;
    }
    if (!keys_has_private(key)) {
        rc = err_set(d, ERR_INVALID, "key", "a public key cannot sign");
        goto out;
    }
    header = kid != NULL
                 ? json_pack("{s:s,s:s,s:s}", "alg", alg_name(key), "kid", kid, "typ", "JWT")
                 : json_pack("{s:s,s:s}", "alg", alg_name(key), "typ", "JWT");
    if (header == NULL) {
        rc = err_set(d, kid != NULL ? ERR_INVALID : ERR_NOMEM, "kid",
                     "cannot build the header (kid must be UTF-8)");
        goto out;
    }
    if ((rc = append_json_b64u(&tok, &scratch, header, d)) != 0 ||
        (rc = buf_append_byte(&tok, '.')) != 0 ||
        (rc = append_json_b64u(&tok, &scratch, claims, d)) != 0)
        goto out;
    if ((rc = keys_sign(key, (const uint8_t *)tok.data, tok.len, sig, sizeof sig, &sig_len, d)) !=
        0)
        goto out;
    if ((rc = buf_append_byte(&tok, '.')) != 0 || (rc = append_b64u(&tok, sig, sig_len)) != 0)
        goto out;
    size_t n = 0;
    if ((rc = buf_detach(&tok, out, &n)) != 0)
        goto out;
    if (len != NULL)
        *len = n;
out:
    if (rc == ERR_LIMIT && d != NULL && d->code == 0)
        err_set(d, rc, "claims", "token longer than %u bytes", JWS_MAX_TOKEN);
    if (rc == ERR_NOMEM && d != NULL && d->code == 0)
        err_set(d, rc, "claims", "out of memory");
    json_decref(header);
    buf_free(&scratch);
    buf_free(&tok);
    return rc;
}

/* The three segments of a compact token. */
typedef struct parts {
    const char *h, *p, *s;
    size_t h_len, p_len, s_len;
} parts_t;

static int split(const char *token, size_t len, parts_t *pt, err_detail_t *d)
{
    if (len > JWS_MAX_TOKEN)
        return err_set(d, ERR_LIMIT, "token", "token longer than %u bytes", JWS_MAX_TOKEN);
    const char *end = token + len;
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1)) : NULL;
    if (dot2 == NULL || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)) != NULL)
        return err_set(d, ERR_INVALID, "token",
                       "a compact JWS has exactly three dot-separated parts");
    pt->h = token;
    pt->h_len = (size_t)(dot1 - token);
    pt->p = dot1 + 1;
    pt->p_len = (size_t)(dot2 - dot1 - 1);
    pt->s = dot2 + 1;
    pt->s_len = (size_t)(end - dot2 - 1);
    if (pt->h_len == 0)
        return err_set(d, ERR_INVALID, "header", "empty header part");
    return 0;
}

/* Decodes a base64url segment into a new NUL-terminated allocation. */
static int decode_segment(const char *s, size_t n, const char *field, uint8_t **out,
                          size_t *out_len, err_detail_t *d)
{
    size_t cap = CODEC_BASE64URL_DECODED_MAX(n) + 1;
    uint8_t *bin = malloc(cap);
    if (bin == NULL)
        return err_set(d, ERR_NOMEM, field, "out of memory");
    size_t len = 0;
    if (codec_base64url_decode(s, n, bin, cap - 1, &len) != 0) {
        free(bin);
        return err_set(d, ERR_INVALID, field, "%s is not base64url without padding", field);
    }
    bin[len] = '\0';
    *out = bin;
    *out_len = len;
    return 0;
}

static int parse_header(const parts_t *pt, json_t **header, err_detail_t *d)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    int rc = decode_segment(pt->h, pt->h_len, "header", &raw, &raw_len, d);
    if (rc != 0)
        return rc;
    json_error_t jerr;
    json_t *h = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, &jerr);
    free(raw);
    if (h == NULL)
        return err_set(d, ERR_INVALID, "header", "header is not a JSON object: %s", jerr.text);
    if (!json_is_object(h)) {
        json_decref(h);
        return err_set(d, ERR_INVALID, "header", "header is not a JSON object");
    }
    *header = h;
    return 0;
}

int jws_peek_header(const char *token, size_t len, json_t **header, err_detail_t *d)
{
    parts_t pt = {0}; /* gcc -O3 cannot see that split() fills it whenever it returns 0 */
    int rc = split(token, len, &pt, d);
    return rc != 0 ? rc : parse_header(&pt, header, d);
}

int jws_verify_compact(const char *token, size_t len, keys_t *key, json_t **header,
                       uint8_t **payload, size_t *payload_len, err_detail_t *d)
{
    parts_t pt;
    json_t *h = NULL;
    uint8_t *sig = NULL, *body = NULL;
    size_t sig_len = 0, body_len = 0;
    int rc = split(token, len, &pt, d);
    if (rc != 0)
        return rc;
    if ((rc = parse_header(&pt, &h, d)) != 0)
        return rc;
    const json_t *alg_v = json_object_get(h, "alg");
    const char *alg = json_string_value(alg_v);
    if (alg == NULL) {
        rc = err_set(d, ERR_INVALID, "alg", "header has no alg string");
        goto out;
    }
    if (strcmp(alg, "none") == 0) {
        rc = err_set(d, ERR_INVALID, "alg", "alg \"none\" (an unsigned token) is refused");
        goto out;
    }
    if (strcmp(alg, "EdDSA") != 0 && strcmp(alg, "RS256") != 0) {
        rc = err_set(d, ERR_INVALID, "alg", "alg \"%.32s\" is not supported (EdDSA, RS256)", alg);
        goto out;
    }
    if (strcmp(alg, alg_name(key)) != 0) {
        rc = err_set(d, ERR_UNAUTHENTICATED, "alg", "alg \"%s\" does not match the %s key", alg,
                     keys_alg(key) == KEYS_ED25519 ? "Ed25519" : "RSA");
        goto out;
    }
    if (json_object_get(h, "crit") != NULL) {
        rc = err_set(d, ERR_INVALID, "crit", "critical header extensions are not supported");
        goto out;
    }
    if (pt.s_len == 0) {
        rc = err_set(d, ERR_INVALID, "signature", "the signature part is empty");
        goto out;
    }
    if ((rc = decode_segment(pt.s, pt.s_len, "signature", &sig, &sig_len, d)) != 0)
        goto out;
    if ((rc = decode_segment(pt.p, pt.p_len, "payload", &body, &body_len, d)) != 0)
        goto out;
    /* The signing input is the token up to the second dot, as ASCII. */
    size_t input_len = (size_t)(pt.s - token) - 1;
    rc = keys_verify(key, (const uint8_t *)token, input_len, sig, sig_len, d);
    if (rc == ERR_UNAUTHENTICATED)
        err_set(d, rc, "signature", "the %s signature does not verify with the key", alg);
    if (rc != 0)
        goto out;
    *payload = body;
    *payload_len = body_len;
    body = NULL;
    if (header != NULL) {
        *header = h;
        h = NULL;
    }
out:
    free(body);
    free(sig);
    json_decref(h);
    return rc;
}

int jws_verify(const char *token, size_t len, keys_t *key, json_t **header, json_t **claims,
               err_detail_t *d)
{
    uint8_t *payload = NULL;
    size_t payload_len = 0;
    json_t *h = NULL;
    int rc = jws_verify_compact(token, len, key, &h, &payload, &payload_len, d);
    if (rc != 0)
        return rc;
    json_error_t jerr;
    json_t *c = json_loadb((const char *)payload, payload_len, JSON_REJECT_DUPLICATES, &jerr);
    free(payload);
    if (c == NULL || !json_is_object(c)) {
        json_decref(c);
        json_decref(h);
        return err_set(d, ERR_INVALID, "payload", "payload is not a JSON object%s%s",
                       c == NULL ? ": " : "", c == NULL ? jerr.text : "");
    }
    *claims = c;
    if (header != NULL)
        *header = h;
    else
        json_decref(h);
    return 0;
}
