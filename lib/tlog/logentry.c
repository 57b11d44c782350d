#include "logentry.h"

#include <math.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "isotime.h"
#include "text.h"

typedef enum ftype { F_COMMIT, F_STR, F_F64, F_U8, F_FLAG, F_I64, F_U32 } ftype_t;

/* One row per tag: the field table is the format (doc/log-format.md mirrors it). */
typedef struct field {
    const char *name;
    ftype_t type;
    size_t off;     /* of the value (bytes array, pointer, number) in logentry_t */
    size_t len_off; /* F_STR: of the length */
} field_t;

#define FS(n, m)                                                                                   \
    {                                                                                              \
        n, F_STR, offsetof(logentry_t, m), offsetof(logentry_t, m##_len)                           \
    }
#define FV(n, t, m)                                                                                \
    {                                                                                              \
        n, t, offsetof(logentry_t, m), 0                                                           \
    }

static const field_t fields[LOGENTRY_TAG_MAX + 1] = {
    [LOGENTRY_LEARNER] = FV("learner", F_COMMIT, learner),
    [LOGENTRY_FRAMEWORK] = FS("framework", framework),
    [LOGENTRY_COMPETENCY] = FS("competency", competency),
    [LOGENTRY_SOURCE] = FS("source", source),
    [LOGENTRY_EVIDENCE] = FV("evidence", F_COMMIT, evidence),
    [LOGENTRY_SCORE] = FV("score", F_F64, score),
    [LOGENTRY_WEIGHT] = FV("weight", F_F64, weight),
    [LOGENTRY_OUTCOME] = FV("outcome", F_U8, outcome),
    [LOGENTRY_OBSERVED_AT] = FV("observed_at", F_I64, observed_at),
    [LOGENTRY_NARRATIVE] = FV("narrative", F_COMMIT, narrative),
    [LOGENTRY_URL] = FV("url", F_COMMIT, url),
    [LOGENTRY_REASON] = FV("reason", F_COMMIT, reason),
    [LOGENTRY_ACTOR] = FS("actor", actor),
    [LOGENTRY_FLAG] = FV("flag", F_FLAG, flag),
    [LOGENTRY_REVISION] = FV("revision", F_U32, revision),
    [LOGENTRY_VERSION_TAG] = FS("version", version),
    [LOGENTRY_COUNT] = FV("count", F_U32, count),
    [LOGENTRY_CREDENTIAL] = FS("credential", credential),
    [LOGENTRY_PURPOSE] = FS("purpose", purpose),
    [LOGENTRY_DIGEST] = FV("digest", F_COMMIT, digest),
    [LOGENTRY_KEY] = FS("key", key),
};

static const char *const kinds[] = {
    NULL,
    "evidence_accepted",
    "evidence_retracted",
    "unlocked",
    "mastered",
    "override",
    "framework_loaded",
    "credential_issued",
    "credential_status",
    "keys_rotated",
    "review_due",
    "review_failed",
    "at_risk",
    "learner_erased",
    "legal_hold",
    "learner_reenrolled",
};

const char *logentry_kind_name(int kind)
{
    return kind >= 1 && kind <= LOGENTRY_LEARNER_REENROLLED ? kinds[kind] : NULL;
}

const char *logentry_tag_name(unsigned tag)
{
    return tag >= 1 && tag <= LOGENTRY_TAG_MAX ? fields[tag].name : NULL;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static size_t fixed_len(ftype_t t)
{
    switch (t) {
    case F_COMMIT:
        return 32;
    case F_F64:
    case F_I64:
        return 8;
    case F_U8:
    case F_FLAG:
        return 1;
    case F_U32:
        return 4;
    case F_STR:
        break;
    }
    return 0;
}

/* Whether s is a string a field may hold: valid UTF-8, no U+0000, at most 65535 bytes. */
static bool str_ok(const char *s, size_t len)
{
    if (len == 0)
        return true;
    return len <= 0xffff && s != NULL && memchr(s, 0, len) == NULL && tlog_utf8_valid(s, len);
}

/* The field's value bytes in v (fixed types) or its string; checks the value. */
static int field_value(const logentry_t *e, unsigned tag, uint8_t v[32], const uint8_t **p,
                       size_t *len)
{
    const field_t *f = &fields[tag];
    const char *base = (const char *)e + f->off;
    *p = v;
    *len = fixed_len(f->type);
    switch (f->type) {
    case F_COMMIT:
        *p = (const uint8_t *)base;
        return 0;
    case F_STR: {
        const char *s = *(const char *const *)base;
        size_t n = *(const size_t *)((const char *)e + f->len_off);
        if (n > 0 && s == NULL)
            return ERR_INVALID;
        if (n > 0 && !str_ok(s, n))
            return ERR_INVALID;
        *p = (const uint8_t *)s;
        *len = n;
        return 0;
    }
    case F_F64: {
        double dv;
        memcpy(&dv, base, sizeof dv);
        if (!isfinite(dv))
            return ERR_INVALID;
        uint64_t bits;
        memcpy(&bits, &dv, sizeof bits);
        put_be(v, bits, 8);
        return 0;
    }
    case F_I64: {
        int64_t iv;
        memcpy(&iv, base, sizeof iv);
        put_be(v, (uint64_t)iv, 8);
        return 0;
    }
    case F_U8:
        v[0] = *(const uint8_t *)base;
        return 0;
    case F_FLAG:
        v[0] = *(const uint8_t *)base;
        return v[0] <= 1 ? 0 : ERR_INVALID;
    case F_U32: {
        uint32_t uv;
        memcpy(&uv, base, sizeof uv);
        put_be(v, uv, 4);
        return 0;
    }
    }
    return ERR_INVALID;
}

int logentry_encode(buf_t *out, const logentry_t *e)
{
    if (logentry_kind_name((int)e->kind) == NULL)
        return ERR_INVALID;
    /* Bit 0 and bits above the last tag name no field. */
    if ((e->present & 1u) != 0 || (e->present >> (LOGENTRY_TAG_MAX + 1)) != 0)
        return ERR_INVALID;
    size_t old = out->len;
    uint8_t hdr[LOGENTRY_HEADER];
    hdr[0] = LOGENTRY_VERSION;
    hdr[1] = (uint8_t)e->kind;
    put_be(hdr + 2, e->seq, 8);
    put_be(hdr + 10, (uint64_t)e->at_ms, 8);
    int rc = buf_append(out, hdr, sizeof hdr);
    for (unsigned tag = 1; rc == 0 && tag <= LOGENTRY_TAG_MAX; tag++) {
        if (!LOGENTRY_HAS(e, tag))
            continue;
        uint8_t v[32];
        const uint8_t *p;
        size_t len;
        rc = field_value(e, tag, v, &p, &len);
        if (rc != 0)
            break;
        if (out->len - old + 3 + len > LOGENTRY_MAX) {
            rc = ERR_INVALID; /* over a bundle's uint16 length: a format limit, not a budget */
            break;
        }
        uint8_t fh[3] = {(uint8_t)tag, (uint8_t)(len >> 8), (uint8_t)len};
        rc = buf_append(out, fh, 3);
        if (rc == 0)
            rc = buf_append(out, p, len);
    }
    if (rc != 0)
        buf_truncate(out, old);
    return rc;
}

int logentry_decode(const uint8_t *p, size_t len, logentry_t *e, err_detail_t *d)
{
    memset(e, 0, sizeof *e);
    if (len > LOGENTRY_MAX)
        return err_set(d, ERR_INVALID, "entry", "over %d bytes", LOGENTRY_MAX);
    if (len < LOGENTRY_HEADER)
        return err_set(d, ERR_INVALID, "entry", "shorter than its %d-byte header", LOGENTRY_HEADER);
    if (p[0] != LOGENTRY_VERSION)
        return err_set(d, ERR_INVALID, "entry.version", "version %u is not 1", p[0]);
    if (logentry_kind_name(p[1]) == NULL)
        return err_set(d, ERR_INVALID, "entry.kind", "unknown kind %u", p[1]);
    e->kind = (logentry_kind_t)p[1];
    e->seq = get_be(p + 2, 8);
    e->at_ms = (int64_t)get_be(p + 10, 8);
    size_t pos = LOGENTRY_HEADER;
    unsigned last = 0;
    while (pos < len) {
        if (len - pos < 3)
            return err_set(d, ERR_INVALID, "entry", "a truncated field header at byte %zu", pos);
        unsigned tag = p[pos];
        size_t flen = (size_t)get_be(p + pos + 1, 2);
        if (tag == 0 || tag > LOGENTRY_TAG_MAX)
            return err_set(d, ERR_INVALID, "entry", "unknown field tag 0x%02x at byte %zu", tag,
                           pos);
        const field_t *f = &fields[tag];
        char fname[64];
        snprintf(fname, sizeof fname, "entry.%s", f->name);
        if (tag <= last)
            return err_set(d, ERR_INVALID, fname, "out of order or repeated (tag 0x%02x)", tag);
        last = tag;
        pos += 3;
        if (len - pos < flen)
            return err_set(d, ERR_INVALID, fname, "%zu bytes announced, %zu left", flen, len - pos);
        const uint8_t *v = p + pos;
        size_t want = fixed_len(f->type);
        if (f->type != F_STR && flen != want)
            return err_set(d, ERR_INVALID, fname, "%zu bytes, not %zu", flen, want);
        char *base = (char *)e + f->off;
        switch (f->type) {
        case F_COMMIT:
            memcpy(base, v, 32);
            break;
        case F_STR:
            if (!str_ok((const char *)v, flen))
                return err_set(d, ERR_INVALID, fname, "not UTF-8 without U+0000");
            *(const char **)base = (const char *)v;
            *(size_t *)((char *)e + f->len_off) = flen;
            break;
        case F_F64: {
            uint64_t bits = get_be(v, 8);
            double dv;
            memcpy(&dv, &bits, sizeof dv);
            if (!isfinite(dv))
                return err_set(d, ERR_INVALID, fname, "not a finite number");
            memcpy(base, &dv, sizeof dv);
            break;
        }
        case F_I64: {
            int64_t iv = (int64_t)get_be(v, 8);
            memcpy(base, &iv, sizeof iv);
            break;
        }
        case F_FLAG:
            if (v[0] > 1)
                return err_set(d, ERR_INVALID, fname, "%u is not 0 or 1", v[0]);
            *(uint8_t *)base = v[0];
            break;
        case F_U8:
            *(uint8_t *)base = v[0];
            break;
        case F_U32: {
            uint32_t uv = (uint32_t)get_be(v, 4);
            memcpy(base, &uv, sizeof uv);
            break;
        }
        }
        e->present |= UINT32_C(1) << tag;
        pos += flen;
    }
    return 0;
}

static int set_time(json_t *o, const char *k, int64_t ms)
{
    char t[ISOTIME_BUFSZ];
    if (isotime_format_ms(ms, t, sizeof t) != 0)
        return ERR_INVALID;
    return json_object_set_new(o, k, json_string(t)) == 0 ? 0 : ERR_NOMEM;
}

int logentry_to_json(const logentry_t *e, json_t **out)
{
    *out = NULL;
    const char *kn = logentry_kind_name((int)e->kind);
    if (kn == NULL)
        return ERR_INVALID;
    json_t *o = json_object();
    if (o == NULL)
        return ERR_NOMEM;
    int rc = 0;
    if (json_object_set_new(o, "kind", json_string(kn)) != 0 ||
        json_object_set_new(o, "seq", json_integer((json_int_t)e->seq)) != 0)
        rc = ERR_NOMEM;
    if (rc == 0)
        rc = set_time(o, "at", e->at_ms);
    for (unsigned tag = 1; rc == 0 && tag <= LOGENTRY_TAG_MAX; tag++) {
        if (!LOGENTRY_HAS(e, tag))
            continue;
        const field_t *f = &fields[tag];
        const char *base = (const char *)e + f->off;
        json_t *v = NULL;
        switch (f->type) {
        case F_COMMIT: {
            char hex[65];
            codec_hex_encode((const uint8_t *)base, 32, hex, sizeof hex, NULL);
            v = json_string(hex);
            break;
        }
        case F_STR:
            v = json_stringn_nocheck(*(const char *const *)base,
                                     *(const size_t *)((const char *)e + f->len_off));
            break;
        case F_F64: {
            double dv;
            memcpy(&dv, base, sizeof dv);
            v = json_real(dv);
            break;
        }
        case F_I64: {
            int64_t iv;
            memcpy(&iv, base, sizeof iv);
            rc = set_time(o, f->name, iv);
            continue;
        }
        case F_U8:
        case F_FLAG:
            v = json_integer(*(const uint8_t *)base);
            break;
        case F_U32: {
            uint32_t uv;
            memcpy(&uv, base, sizeof uv);
            v = json_integer(uv);
            break;
        }
        }
        if (v == NULL || json_object_set_new(o, f->name, v) != 0)
            rc = ERR_NOMEM;
    }
    if (rc != 0) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

void logentry_commit(const uint8_t key[32], uint8_t tag, const void *v, size_t len, uint8_t out[32])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                           OSSL_PARAM_END};
    size_t olen = 0;
    if (c == NULL || EVP_MAC_init(c, key, 32, params) != 1 || EVP_MAC_update(c, &tag, 1) != 1 ||
        EVP_MAC_update(c, v, len) != 1 || EVP_MAC_final(c, out, &olen, 32) != 1 || olen != 32)
        memset(out, 0, 32); /* only out of memory */
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(mac);
}

struct logentry_committer {
    EVP_MAC *mac;
    EVP_MAC_CTX *keyed; /* initialised with the key: each commitment works on a copy */
};

int logentry_committer_new(logentry_committer_t **out)
{
    logentry_committer_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ERR_NOMEM;
    c->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (c->mac == NULL) {
        free(c);
        return ERR_INTERNAL;
    }
    *out = c;
    return 0;
}

void logentry_committer_free(logentry_committer_t **cp)
{
    if (cp == NULL || *cp == NULL)
        return;
    EVP_MAC_CTX_free((*cp)->keyed);
    EVP_MAC_free((*cp)->mac);
    free(*cp);
    *cp = NULL;
}

int logentry_committer_key(logentry_committer_t *c, const uint8_t key[32])
{
    OSSL_PARAM params[] = {OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                           OSSL_PARAM_END};
    EVP_MAC_CTX_free(c->keyed);
    c->keyed = EVP_MAC_CTX_new(c->mac);
    if (c->keyed == NULL || EVP_MAC_init(c->keyed, key, 32, params) != 1) {
        EVP_MAC_CTX_free(c->keyed);
        c->keyed = NULL;
        return ERR_INTERNAL;
    }
    return 0;
}

int logentry_committer_commit(logentry_committer_t *c, uint8_t tag, const void *v, size_t len,
                              uint8_t out[32])
{
    EVP_MAC_CTX *x = c->keyed ? EVP_MAC_CTX_dup(c->keyed) : NULL;
    size_t olen = 0;
    int ok = x != NULL && EVP_MAC_update(x, &tag, 1) == 1 && EVP_MAC_update(x, v, len) == 1 &&
             EVP_MAC_final(x, out, &olen, 32) == 1 && olen == 32;
    EVP_MAC_CTX_free(x);
    return ok ? 0 : ERR_INTERNAL;
}
