#include "statuslist.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "buf.h"
#include "codec.h"
#include "cred.h"
#include "isotime.h"

/* Random draws before statuslist_pick() falls back to counting the free indexes. */
#define PICK_TRIES 64

struct statuslist {
    uint32_t nbits;
    uint8_t *bits;
};

static bool size_ok(uint64_t nbits)
{
    return nbits >= STATUSLIST_MIN_BITS && nbits <= STATUSLIST_MAX_BITS && nbits % 8 == 0;
}

int statuslist_new(uint32_t nbits, statuslist_t **out)
{
    if (!size_ok(nbits))
        return ERR_INVALID;
    statuslist_t *l = calloc(1, sizeof *l);
    if (l == NULL)
        return ERR_NOMEM;
    l->bits = calloc(nbits / 8, 1);
    if (l->bits == NULL) {
        free(l);
        return ERR_NOMEM;
    }
    l->nbits = nbits;
    *out = l;
    return 0;
}

void statuslist_destroy(statuslist_t **l)
{
    if (l == NULL || *l == NULL)
        return;
    free((*l)->bits);
    free(*l);
    *l = NULL;
}

uint32_t statuslist_size(const statuslist_t *l)
{
    return l->nbits;
}

int statuslist_set(statuslist_t *l, uint32_t index, bool value)
{
    if (index >= l->nbits)
        return ERR_INVALID;
    uint8_t mask = (uint8_t)(0x80u >> (index % 8));
    if (value)
        l->bits[index / 8] |= mask;
    else
        l->bits[index / 8] &= (uint8_t)~mask;
    return 0;
}

int statuslist_get(const statuslist_t *l, uint32_t index, bool *value)
{
    if (index >= l->nbits)
        return ERR_INVALID;
    *value = (l->bits[index / 8] & (0x80u >> (index % 8))) != 0;
    return 0;
}

uint32_t statuslist_count(const statuslist_t *l)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < l->nbits / 8; i++)
        n += (uint32_t)__builtin_popcount(l->bits[i]);
    return n;
}

const uint8_t *statuslist_bytes(const statuslist_t *l, size_t *len)
{
    *len = l->nbits / 8;
    return l->bits;
}

int statuslist_from_bytes(const uint8_t *bytes, size_t len, statuslist_t **out)
{
    if (len > STATUSLIST_MAX_BITS / 8 || !size_ok((uint64_t)len * 8))
        return ERR_INVALID;
    statuslist_t *l = NULL;
    int rc = statuslist_new((uint32_t)(len * 8), &l);
    if (rc != 0)
        return rc;
    memcpy(l->bits, bytes, len);
    *out = l;
    return 0;
}

int statuslist_encode(const statuslist_t *l, char **out, size_t *len, err_detail_t *d)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    size_t raw = l->nbits / 8;
    /* windowBits 15 + 16: a gzip wrapper (RFC 1952), as the spec requires. */
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return err_set(d, ERR_INTERNAL, "encodedList", "zlib deflateInit2 failed");
    uLong bound = deflateBound(&z, (uLong)raw) + 32;
    uint8_t *gz = malloc(bound);
    char *text = NULL;
    int rc = 0;
    if (gz == NULL) {
        rc = err_set(d, ERR_NOMEM, "encodedList", "out of memory");
        goto out;
    }
    z.next_in = l->bits;
    z.avail_in = (uInt)raw;
    z.next_out = gz;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        rc = err_set(d, ERR_INTERNAL, "encodedList", "zlib deflate failed");
        goto out;
    }
    size_t cap = CODEC_BASE64URL_ENCODED_MAX(z.total_out) + 1, n = 0;
    text = malloc(cap);
    if (text == NULL) {
        rc = err_set(d, ERR_NOMEM, "encodedList", "out of memory");
        goto out;
    }
    if (codec_multibase_encode('u', gz, z.total_out, text, cap, &n) != 0) {
        rc = err_set(d, ERR_INTERNAL, "encodedList", "base64url encoding failed");
        goto out;
    }
    *out = text;
    text = NULL;
    if (len != NULL)
        *len = n;
out:
    deflateEnd(&z);
    free(gz);
    free(text);
    return rc;
}

int statuslist_decode(const char *text, size_t len, uint32_t max_bits, statuslist_t **out,
                      err_detail_t *d)
{
    if (max_bits == 0 || max_bits > STATUSLIST_MAX_BITS)
        max_bits = STATUSLIST_MAX_BITS;
    if (len > STATUSLIST_ENCODED_MAX)
        return err_set(d, ERR_LIMIT, "encodedList", "encodedList is longer than %u bytes",
                       STATUSLIST_ENCODED_MAX);
    if (len < 2 || text[0] != 'u')
        return err_set(d, ERR_INVALID, "encodedList",
                       "encodedList must be multibase 'u' (base64url) text");
    size_t cap = CODEC_BASE64URL_DECODED_MAX(len), gz_len = 0, max_bytes = max_bits / 8;
    uint8_t *gz = malloc(cap), *raw = malloc(max_bytes + 1);
    statuslist_t *l = NULL;
    z_stream z;
    memset(&z, 0, sizeof z);
    bool z_init = false;
    int rc = 0;
    if (gz == NULL || raw == NULL) {
        rc = err_set(d, ERR_NOMEM, "encodedList", "out of memory");
        goto out;
    }
    if (codec_base64url_decode(text + 1, len - 1, gz, cap, &gz_len) != 0) {
        rc = err_set(d, ERR_INVALID, "encodedList", "encodedList is not valid base64url");
        goto out;
    }
    if (gz_len < 18 || gz[0] != 0x1f || gz[1] != 0x8b) {
        rc = err_set(d, ERR_INVALID, "encodedList", "encodedList is not GZIP data");
        goto out;
    }
    if (inflateInit2(&z, 15 + 16) != Z_OK) {
        rc = err_set(d, ERR_NOMEM, "encodedList", "zlib inflateInit2 failed");
        goto out;
    }
    z_init = true;
    z.next_in = gz;
    z.avail_in = (uInt)gz_len;
    z.next_out = raw;
    z.avail_out = (uInt)(max_bytes + 1); /* one byte more than allowed detects a bomb */
    int zr = inflate(&z, Z_FINISH);
    if (z.total_out > max_bytes) {
        rc = err_set(d, ERR_LIMIT, "encodedList",
                     "the status list inflates past %u bits (a compression bomb?)", max_bits);
        goto out;
    }
    if (zr != Z_STREAM_END) {
        rc = err_set(d, ERR_INVALID, "encodedList", "corrupt GZIP data in encodedList");
        goto out;
    }
    if (z.avail_in != 0) {
        rc = err_set(d, ERR_INVALID, "encodedList", "trailing bytes after the GZIP data");
        goto out;
    }
    if (z.total_out < STATUSLIST_MIN_BITS / 8) {
        rc = err_set(d, ERR_INVALID, "encodedList",
                     "the status list holds %lu bits; at least %u are required",
                     (unsigned long)z.total_out * 8, STATUSLIST_MIN_BITS);
        goto out;
    }
    if ((rc = statuslist_from_bytes(raw, z.total_out, &l)) != 0) {
        err_set(d, rc, "encodedList", "cannot hold the status list");
        goto out;
    }
    *out = l;
out:
    if (z_init)
        inflateEnd(&z);
    free(gz);
    free(raw);
    return rc;
}

/* A uniform random integer in [0, n), n > 0, by rejection. */
static int random_below(uint32_t n, uint32_t *out)
{
    uint32_t limit = UINT32_MAX - (UINT32_MAX % n), r;
    do {
        if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
            return ERR_INTERNAL;
    } while (r >= limit);
    *out = r % n;
    return 0;
}

int statuslist_pick(const statuslist_t *used, uint32_t *index, err_detail_t *d)
{
    return statuslist_pick_below(used, used->nbits, index, d);
}

int statuslist_pick_below(const statuslist_t *used, uint32_t limit, uint32_t *index,
                          err_detail_t *d)
{
    uint32_t r;
    bool set;
    if (limit == 0 || limit > used->nbits)
        limit = used->nbits;
    /* Draws uniformly over the indexes below limit and keeps the first free one: uniform over
     * the free ones. A nearly full list falls back to choosing the k-th free index directly. */
    for (int i = 0; i < PICK_TRIES; i++) {
        if (random_below(limit, &r) != 0)
            return err_set(d, ERR_INTERNAL, "status", "no randomness");
        statuslist_get(used, r, &set);
        if (!set) {
            *index = r;
            return 0;
        }
    }
    uint32_t free_n = 0;
    for (uint32_t i = 0; i < limit; i++) {
        statuslist_get(used, i, &set);
        free_n += !set;
    }
    if (free_n == 0)
        return err_set(d, ERR_LIMIT, "status", "every index of the status list is used");
    if (random_below(free_n, &r) != 0)
        return err_set(d, ERR_INTERNAL, "status", "no randomness");
    for (uint32_t i = 0; i < limit; i++) {
        statuslist_get(used, i, &set);
        if (!set && r-- == 0) {
            *index = i;
            return 0;
        }
    }
    return err_set(d, ERR_INTERNAL, "status", "free index count changed");
}

static int put(json_t *o, const char *k, json_t *v)
{
    return v == NULL || json_object_set_new_nocheck(o, k, v) != 0 ? ERR_NOMEM : 0;
}

int statuslist_credential(const statuslist_t *l, const statuslist_cred_t *c, json_t **out,
                          err_detail_t *d)
{
    char from[ISOTIME_BUFSZ], until[ISOTIME_BUFSZ];
    if (c->url == NULL || c->url[0] == '\0' || c->issuer_did == NULL || c->issuer_did[0] == '\0')
        return err_set(d, ERR_INVALID, c->url == NULL || c->url[0] == '\0' ? "url" : "issuer",
                       "the status list needs a URL and an issuer");
    if (c->purpose == NULL ||
        (strcmp(c->purpose, "revocation") != 0 && strcmp(c->purpose, "suspension") != 0))
        return err_set(d, ERR_INVALID, "statusPurpose",
                       "statusPurpose must be revocation or suspension");
    if (isotime_format_s(c->valid_from_ms, from, sizeof from) != 0 ||
        (c->valid_until_ms != 0 && (c->valid_until_ms <= c->valid_from_ms ||
                                    isotime_format_s(c->valid_until_ms, until, sizeof until) != 0)))
        return err_set(d, ERR_INVALID, "validFrom", "the list's validity times are out of range");
    char *encoded = NULL;
    int rc = statuslist_encode(l, &encoded, NULL, d);
    if (rc != 0)
        return rc;
    json_t *doc = json_object(), *subj = json_object(), *ctx = json_array(), *type = json_array();
    buf_t sid;
    buf_init(&sid, 8192);
    rc = doc == NULL || subj == NULL || ctx == NULL || type == NULL ? ERR_NOMEM : 0;
    if (rc == 0)
        rc = buf_append_str(&sid, c->url);
    if (rc == 0)
        rc = buf_append_str(&sid, "#list");
    if (rc != 0 || json_array_append_new(ctx, json_string_nocheck(CRED_CONTEXT_VC2)) != 0 ||
        json_array_append_new(type, json_string_nocheck("VerifiableCredential")) != 0 ||
        json_array_append_new(type, json_string_nocheck("BitstringStatusListCredential")) != 0) {
        json_decref(subj);
        json_decref(ctx);
        json_decref(type);
        rc = err_set(d, rc == ERR_LIMIT ? ERR_INVALID : ERR_NOMEM, "url", "cannot build the list");
        goto out;
    }
    if (put(doc, "@context", ctx) != 0 || put(doc, "type", type) != 0 ||
        put(doc, "credentialSubject", subj) != 0 || put(doc, "id", json_string(c->url)) != 0 ||
        put(doc, "issuer", json_string(c->issuer_did)) != 0 ||
        put(doc, "validFrom", json_string_nocheck(from)) != 0 ||
        (c->valid_until_ms != 0 && put(doc, "validUntil", json_string_nocheck(until)) != 0) ||
        put(subj, "id", json_string(sid.data)) != 0 ||
        put(subj, "type", json_string_nocheck("BitstringStatusList")) != 0 ||
        put(subj, "statusPurpose", json_string_nocheck(c->purpose)) != 0 ||
        put(subj, "encodedList", json_string_nocheck(encoded)) != 0) {
        rc = err_set(d, ERR_INVALID, "url", "the URL or issuer is not valid UTF-8, or no memory");
        goto out;
    }
    *out = doc;
    doc = NULL;
out:
    buf_free(&sid);
    json_decref(doc);
    free(encoded);
    return rc;
}
