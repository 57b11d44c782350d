#include "cred.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "dataint.h"
#include "isotime.h"
#include "jcs.h"
#include "jws.h"

#define MS_PER_DAY       86400000LL
#define VALID_DAYS_MAX   36500
#define ACH_ID_MAX       (3u * 3u * 1024u + 64u)
#define IDENTITY_HASH_SZ 72

struct cred_ctx {
    buf_t buf;
};

int cred_ctx_new(cred_ctx_t **out)
{
    cred_ctx_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ERR_NOMEM;
    buf_init(&c->buf, CRED_TEXT_MAX);
    if (buf_reserve(&c->buf, 8192) != 0) {
        free(c);
        return ERR_NOMEM;
    }
    *out = c;
    return 0;
}

void cred_ctx_destroy(cred_ctx_t **ctx)
{
    if (ctx == NULL || *ctx == NULL)
        return;
    buf_free(&(*ctx)->buf);
    free(*ctx);
    *ctx = NULL;
}

void cred_input_init(cred_input_t *in)
{
    memset(in, 0, sizeof *in);
}

int cred_urn_uuid(const uint8_t rnd[16], char *out, size_t cap)
{
    static const char hexd[] = "0123456789abcdef";
    uint8_t u[16];
    if (cap < CRED_URN_UUID_MAX) {
        if (cap > 0)
            out[0] = '\0';
        return ERR_LIMIT;
    }
    memcpy(u, rnd, 16);
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    memcpy(out, "urn:uuid:", 9);
    char *p = out + 9;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hexd[u[i] >> 4];
        *p++ = hexd[u[i] & 15];
    }
    *p = '\0';
    return 0;
}

int cred_urn_uuid_random(char *out, size_t cap)
{
    uint8_t rnd[16];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return ERR_INTERNAL;
    return cred_urn_uuid(rnd, out, cap);
}

int cred_identity_hash(const char *id, const char *salt, char *out, size_t cap)
{
    uint8_t h[SHA256_DIGEST_LENGTH];
    if (cap < IDENTITY_HASH_SZ)
        return ERR_LIMIT;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(c, id, strlen(id)) == 1 &&
             (salt == NULL || EVP_DigestUpdate(c, salt, strlen(salt)) == 1) &&
             EVP_DigestFinal_ex(c, h, NULL) == 1;
    EVP_MD_CTX_free(c);
    if (!ok)
        return ERR_INTERNAL;
    memcpy(out, "sha256$", 7);
    return codec_hex_encode(h, sizeof h, out + 7, cap - 7, NULL);
}

static bool empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* o[key] = string v; an invalid UTF-8 value is ERR_INVALID naming field. */
static int put_str(json_t *o, const char *key, const char *v, const char *field, err_detail_t *d)
{
    json_t *s = json_string(v);
    if (s == NULL)
        return err_set(d, ERR_INVALID, field, "%s must be valid UTF-8 text", field);
    if (json_object_set_new_nocheck(o, key, s) != 0)
        return err_set(d, ERR_NOMEM, field, "out of memory");
    return 0;
}

/* Puts v only when it is non-empty. */
static int put_opt(json_t *o, const char *key, const char *v, const char *field, err_detail_t *d)
{
    return empty(v) ? 0 : put_str(o, key, v, field, d);
}

static int put_new(json_t *o, const char *key, json_t *v, err_detail_t *d)
{
    if (v == NULL || json_object_set_new_nocheck(o, key, v) != 0)
        return err_set(d, ERR_NOMEM, key, "out of memory");
    return 0;
}

/* ["a"] or ["a", "b"] */
static json_t *str_array(const char *a, const char *b)
{
    json_t *arr = json_array();
    if (arr == NULL)
        return NULL;
    if (json_array_append_new(arr, json_string_nocheck(a)) != 0 ||
        (b != NULL && json_array_append_new(arr, json_string_nocheck(b)) != 0)) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* {"id": url, "type": "Image"} */
static int put_image(json_t *o, const char *url, const char *field, err_detail_t *d)
{
    if (empty(url))
        return 0;
    json_t *img = json_object();
    int rc = put_new(o, "image", img, d);
    if (rc == 0)
        rc = put_str(img, "id", url, field, d);
    if (rc == 0)
        rc = put_new(img, "type", json_string_nocheck("Image"), d);
    return rc;
}

static int put_time(json_t *o, const char *key, int64_t ms, err_detail_t *d)
{
    char t[ISOTIME_BUFSZ];
    if (isotime_format_s(ms, t, sizeof t) != 0)
        return err_set(d, ERR_INVALID, key, "%s is out of range", key);
    return put_new(o, key, json_string_nocheck(t), d);
}

/* Appends s percent-encoded: unreserved characters stay, everything else is %XX. */
static int append_pct(buf_t *b, const char *s)
{
    static const char hexd[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        int rc;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
            rc = buf_append_byte(b, (char)c);
        else {
            char e[3] = {'%', hexd[c >> 4], hexd[c & 15]};
            rc = buf_append(b, e, 3);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int achievement_id(const cred_input_t *in, json_t *ach, err_detail_t *d)
{
    if (!empty(in->achievement_id))
        return put_str(ach, "id", in->achievement_id, "achievement_id", d);
    if (empty(in->framework_id) || empty(in->competency_id))
        return err_set(d, ERR_INVALID, empty(in->framework_id) ? "framework_id" : "competency_id",
                       "the achievement id needs a framework id and a competency id");
    buf_t b;
    buf_init(&b, ACH_ID_MAX);
    int rc = buf_append_str(&b, "urn:masteryd:achievement:");
    if (rc == 0)
        rc = append_pct(&b, in->framework_id);
    if (rc == 0)
        rc = buf_append_byte(&b, ':');
    if (rc == 0)
        rc = append_pct(&b, in->competency_id);
    if (rc == 0)
        rc = buf_append_byte(&b, ':');
    if (rc == 0 && !empty(in->framework_version))
        rc = append_pct(&b, in->framework_version);
    if (rc == 0)
        rc = put_new(ach, "id", json_string_nocheck(b.data), d);
    else
        rc = err_set(d, rc, "achievement_id", "the achievement id is too long");
    buf_free(&b);
    return rc;
}

static int build_achievement(const cred_input_t *in, const char *name, json_t *ach, err_detail_t *d)
{
    int rc;
    if ((rc = achievement_id(in, ach, d)) != 0 ||
        (rc = put_new(ach, "type", str_array("Achievement", NULL), d)) != 0 ||
        (rc = put_new(ach, "achievementType", json_string_nocheck("Competency"), d)) != 0 ||
        (rc = put_str(ach, "name", name, "name", d)) != 0 ||
        (rc = put_str(ach, "description", empty(in->description) ? name : in->description,
                      "description", d)) != 0)
        return rc;
    json_t *crit = json_object();
    if ((rc = put_new(ach, "criteria", crit, d)) != 0 ||
        (rc = put_opt(crit, "id", in->criteria_url, "criteria_url", d)) != 0)
        return rc;
    if (!empty(in->criteria))
        rc = put_str(crit, "narrative", in->criteria, "criteria", d);
    else {
        buf_t b;
        buf_init(&b, 8192);
        rc = buf_append_str(&b, "Mastery of the competency \"");
        if (rc == 0)
            rc = buf_append_str(&b, name);
        if (rc == 0)
            rc = buf_append_str(&b, "\", as decided by the school's mastery rule.");
        rc = rc == 0 ? put_str(crit, "narrative", b.data, "name", d)
                     : err_set(d, ERR_INVALID, "name", "the name is too long");
        buf_free(&b);
    }
    if (rc != 0 || (rc = put_image(ach, in->image, "image", d)) != 0)
        return rc;
    if (!empty(in->source_uri)) {
        json_t *arr = json_array(), *al = json_object();
        if (arr == NULL || al == NULL || json_array_append_new(arr, al) != 0) {
            json_decref(arr);
            return err_set(d, ERR_NOMEM, "alignment", "out of memory");
        }
        if ((rc = put_new(ach, "alignment", arr, d)) != 0 ||
            (rc = put_new(al, "type", str_array("Alignment", NULL), d)) != 0 ||
            (rc = put_str(al, "targetName",
                          empty(in->competency_title) ? name : in->competency_title,
                          "competency_title", d)) != 0 ||
            (rc = put_str(al, "targetUrl", in->source_uri, "source_uri", d)) != 0 ||
            (rc = put_new(al, "targetType",
                          json_string_nocheck(in->source_is_case ? "CFItem" : "ceasn:Competency"),
                          d)) != 0 ||
            (rc = put_opt(al, "targetCode", in->competency_id, "competency_id", d)) != 0)
            return rc;
    }
    return 0;
}

static int build_subject(const cred_input_t *in, json_t *subj, err_detail_t *d)
{
    int rc;
    if ((rc = put_new(subj, "type", str_array("AchievementSubject", NULL), d)) != 0)
        return rc;
    return cred_subject_identity(in, subj, d);
}

int cred_subject_identity(const cred_input_t *in, json_t *subj, err_detail_t *d)
{
    int rc;
    if (!empty(in->learner_did))
        return put_str(subj, "id", in->learner_did, "learner_did", d);
    if (empty(in->learner_id))
        return err_set(d, ERR_INVALID, "learner_id", "the learner needs a DID or an id to hash");
    char salt[CRED_SALT_MAX], hash[IDENTITY_HASH_SZ];
    const char *s = in->salt;
    if (s == NULL) {
        uint8_t rnd[16];
        if (RAND_bytes(rnd, sizeof rnd) != 1)
            return err_set(d, ERR_INTERNAL, "salt", "no randomness for the salt");
        codec_hex_encode(rnd, sizeof rnd, salt, sizeof salt, NULL);
        s = salt;
    }
    if (cred_identity_hash(in->learner_id, s, hash, sizeof hash) != 0)
        return err_set(d, ERR_INTERNAL, "learner_id", "identity hash");
    json_t *arr = json_array(), *io = json_object();
    if (arr == NULL || io == NULL || json_array_append_new(arr, io) != 0) {
        json_decref(arr);
        return err_set(d, ERR_NOMEM, "identifier", "out of memory");
    }
    if ((rc = put_new(subj, "identifier", arr, d)) != 0 ||
        (rc = put_new(io, "type", json_string_nocheck("IdentityObject"), d)) != 0 ||
        (rc = put_new(io, "identityHash", json_string_nocheck(hash), d)) != 0 ||
        (rc = put_str(io, "identityType",
                      empty(in->identity_type) ? "identifier" : in->identity_type, "identity_type",
                      d)) != 0 ||
        (rc = put_new(io, "hashed", json_true(), d)) != 0 ||
        (rc = put_str(io, "salt", s, "salt", d)) != 0)
        return rc;
    return 0;
}

static int build_evidence(const cred_input_t *in, json_t *doc, err_detail_t *d)
{
    if (in->n_evidence == 0)
        return 0;
    if (in->n_evidence > CRED_EVIDENCE_MAX || in->evidence == NULL)
        return err_set(d, ERR_INVALID, "evidence", "at most %d evidence items per credential",
                       CRED_EVIDENCE_MAX);
    json_t *arr = json_array();
    int rc = put_new(doc, "evidence", arr, d);
    for (size_t i = 0; rc == 0 && i < in->n_evidence; i++) {
        const cred_evidence_t *e = &in->evidence[i];
        if (empty(e->id))
            return err_set(d, ERR_INVALID, "evidence", "evidence[%zu] has no id", i);
        json_t *ev = json_object();
        if (ev == NULL || json_array_append_new(arr, ev) != 0)
            return err_set(d, ERR_NOMEM, "evidence", "out of memory");
        if ((rc = put_opt(ev, "id", e->url, "evidence.url", d)) != 0 ||
            (rc = put_new(ev, "type", str_array("Evidence", NULL), d)) != 0 ||
            (rc = put_str(ev, "name", e->id, "evidence.id", d)) != 0)
            return rc;
        rc = put_opt(ev, "narrative", e->narrative, "evidence.narrative", d);
    }
    return rc;
}

static int status_entry(const cred_status_t *s, const char *purpose, json_t **out, err_detail_t *d)
{
    char idx[16];
    snprintf(idx, sizeof idx, "%u", (unsigned)s->index);
    buf_t b;
    buf_init(&b, 4096);
    json_t *e = json_object();
    int rc = e == NULL ? ERR_NOMEM : 0;
    if (rc == 0)
        rc = buf_append_str(&b, s->list_url);
    if (rc == 0)
        rc = buf_append_byte(&b, '#');
    if (rc == 0)
        rc = buf_append_str(&b, idx);
    if (rc != 0) {
        rc = err_set(d, rc, "status", "status list URL too long");
        goto out;
    }
    if ((rc = put_str(e, "id", b.data, "status.list_url", d)) != 0 ||
        (rc = put_new(e, "type", json_string_nocheck("BitstringStatusListEntry"), d)) != 0 ||
        (rc = put_new(e, "statusPurpose", json_string_nocheck(purpose), d)) != 0 ||
        (rc = put_new(e, "statusListIndex", json_string_nocheck(idx), d)) != 0 ||
        (rc = put_str(e, "statusListCredential", s->list_url, "status.list_url", d)) != 0)
        goto out;
    *out = e;
    e = NULL;
out:
    buf_free(&b);
    json_decref(e);
    return rc;
}

static int build_status(const cred_input_t *in, json_t *doc, err_detail_t *d)
{
    json_t *r = NULL, *s = NULL, *arr = NULL;
    int rc = 0;
    if (!empty(in->revocation.list_url) &&
        (rc = status_entry(&in->revocation, "revocation", &r, d)) != 0)
        goto out;
    if (!empty(in->suspension.list_url) &&
        (rc = status_entry(&in->suspension, "suspension", &s, d)) != 0)
        goto out;
    if (r == NULL && s == NULL)
        goto out;
    if (r == NULL || s == NULL) { /* one entry: an object, as Open Badges 3.0 wants */
        rc = put_new(doc, "credentialStatus", r != NULL ? r : s, d);
        r = s = NULL;
        goto out;
    }
    arr = json_array();
    if (arr == NULL || json_array_append(arr, r) != 0 || json_array_append(arr, s) != 0) {
        rc = err_set(d, ERR_NOMEM, "credentialStatus", "out of memory");
        goto out;
    }
    rc = put_new(doc, "credentialStatus", arr, d);
    arr = NULL;
out:
    json_decref(arr);
    json_decref(r);
    json_decref(s);
    return rc;
}

int cred_issuer_profile(const cred_issuer_t *is, json_t *issuer, err_detail_t *d)
{
    int rc;
    if (empty(is->did))
        return err_set(d, ERR_INVALID, "issuer.did", "the issuer needs a DID");
    if ((rc = put_str(issuer, "id", is->did, "issuer.did", d)) != 0 ||
        (rc = put_new(issuer, "type", str_array("Profile", NULL), d)) != 0 ||
        (rc = put_opt(issuer, "name", is->name, "issuer.name", d)) != 0 ||
        (rc = put_opt(issuer, "url", is->url, "issuer.url", d)) != 0 ||
        (rc = put_opt(issuer, "email", is->email, "issuer.email", d)) != 0 ||
        (rc = put_image(issuer, is->image, "issuer.image", d)) != 0)
        return rc;
    return 0;
}

int cred_build(const cred_input_t *in, json_t **out, err_detail_t *d)
{
    int rc;
    const char *name = !empty(in->name) ? in->name : in->competency_title;
    if (empty(in->id))
        return err_set(d, ERR_INVALID, "id", "the credential needs an id (urn:uuid:...)");
    if (empty(in->issuer.did))
        return err_set(d, ERR_INVALID, "issuer.did", "the issuer needs a DID");
    if (empty(name))
        return err_set(d, ERR_INVALID, "name", "the achievement needs a name or a title");
    if (in->valid_until_ms != 0 && in->valid_until_ms <= in->valid_from_ms)
        return err_set(d, ERR_INVALID, "valid_until", "validUntil must come after validFrom");

    json_t *doc = json_object(), *issuer = json_object(), *subj = json_object(),
           *ach = json_object();
    if (doc == NULL || issuer == NULL || subj == NULL || ach == NULL) {
        json_decref(doc);
        json_decref(issuer);
        json_decref(subj);
        json_decref(ach);
        return err_set(d, ERR_NOMEM, "credential", "out of memory");
    }
    /* Attach first so one json_decref(doc) frees everything on any later failure. */
    if ((rc = put_new(doc, "issuer", issuer, d)) != 0) {
        json_decref(subj);
        json_decref(ach);
        goto out;
    }
    if ((rc = put_new(doc, "credentialSubject", subj, d)) != 0) {
        json_decref(ach);
        goto out;
    }
    if ((rc = put_new(subj, "achievement", ach, d)) != 0)
        goto out;

    if ((rc = put_new(doc, "@context", str_array(CRED_CONTEXT_VC2, CRED_CONTEXT_OB30), d)) != 0 ||
        (rc = put_str(doc, "id", in->id, "id", d)) != 0 ||
        (rc = put_new(doc, "type", str_array("VerifiableCredential", "OpenBadgeCredential"), d)) !=
            0 ||
        (rc = put_str(doc, "name", name, "name", d)) != 0)
        goto out;
    if ((rc = cred_issuer_profile(&in->issuer, issuer, d)) != 0)
        goto out;
    if ((rc = put_time(doc, "validFrom", in->valid_from_ms, d)) != 0 ||
        (in->valid_until_ms != 0 && (rc = put_time(doc, "validUntil", in->valid_until_ms, d)) != 0))
        goto out;
    if ((rc = build_subject(in, subj, d)) != 0 || (rc = build_achievement(in, name, ach, d)) != 0 ||
        (rc = build_evidence(in, doc, d)) != 0 || (rc = build_status(in, doc, d)) != 0)
        goto out;
    *out = doc;
    doc = NULL;
out:
    json_decref(doc);
    return rc;
}

/* Reads a string member or a {"narrative"/"id"} object member. */
static int ach_string(const json_t *a, const char *key, const char **out, err_detail_t *d)
{
    const json_t *v = json_object_get(a, key);
    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return err_set(d, ERR_INVALID, key, "achievement.%s must be a string", key);
    *out = json_string_value(v);
    return 0;
}

int cred_input_from_achievement(cred_input_t *in, const json_t *achievement, err_detail_t *d)
{
    int rc;
    if (achievement == NULL)
        return 0;
    if (!json_is_object(achievement))
        return err_set(d, ERR_INVALID, "achievement", "achievement must be an object");
    if ((rc = ach_string(achievement, "name", &in->name, d)) != 0 ||
        (rc = ach_string(achievement, "description", &in->description, d)) != 0 ||
        (rc = ach_string(achievement, "id", &in->achievement_id, d)) != 0)
        return rc;
    const json_t *c = json_object_get(achievement, "criteria");
    if (json_is_string(c))
        in->criteria = json_string_value(c);
    else if (json_is_object(c)) {
        if ((rc = ach_string(c, "narrative", &in->criteria, d)) != 0 ||
            (rc = ach_string(c, "id", &in->criteria_url, d)) != 0)
            return err_set(d, rc, "achievement.criteria", "criteria members must be strings");
    } else if (c != NULL)
        return err_set(d, ERR_INVALID, "achievement.criteria",
                       "criteria must be a narrative string or an object");
    const json_t *img = json_object_get(achievement, "image");
    if (json_is_string(img))
        in->image = json_string_value(img);
    else if (json_is_object(img)) {
        if ((rc = ach_string(img, "id", &in->image, d)) != 0)
            return err_set(d, rc, "achievement.image", "image.id must be a string");
    } else if (img != NULL)
        return err_set(d, ERR_INVALID, "achievement.image", "image must be a URL or an object");
    const json_t *days = json_object_get(achievement, "valid_for_days");
    if (days != NULL) {
        if (!json_is_integer(days) || json_integer_value(days) < 1 ||
            json_integer_value(days) > VALID_DAYS_MAX)
            return err_set(d, ERR_INVALID, "achievement.valid_for_days",
                           "valid_for_days must be an integer from 1 to %d", VALID_DAYS_MAX);
        in->valid_until_ms = in->valid_from_ms + (int64_t)json_integer_value(days) * MS_PER_DAY;
    }
    return 0;
}

#define TOP_KEYS_MAX 64

typedef struct top_key {
    const char *key;
    const json_t *value;
} top_key_t;

static int cmp_top_key(const void *a, const void *b)
{
    return strcmp(((const top_key_t *)a)->key, ((const top_key_t *)b)->key);
}

/* A key JCS writes as itself between quotes: printable ASCII without '"' or '\\'. For such
 * keys byte order is UTF-16 code unit order, as RFC 8785 sorts. */
static bool plain_key(const char *k)
{
    for (; *k; k++)
        if (*k < 0x20 || *k > 0x7e || *k == '"' || *k == '\\')
            return false;
    return true;
}

/*
 * Appends JCS(doc) to b member by member, so the caller learns where a "proof" member would
 * go: *ins is the offset just after the last member whose name sorts before "proof" (1, just
 * after '{', when there is none), *n_members the number of members. Returns 1 (nothing
 * appended) when a top-level name is not plain ASCII or there are too many: then the caller
 * serialises the usual way.
 */
static int canon_top(const json_t *doc, buf_t *b, size_t *ins, size_t *n_members, err_detail_t *d)
{
    top_key_t keys[TOP_KEYS_MAX];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)doc, k, v)
    {
        if (n == TOP_KEYS_MAX || !plain_key(k))
            return 1;
        keys[n++] = (top_key_t){k, v};
    }
    qsort(keys, n, sizeof keys[0], cmp_top_key);
    int rc = buf_append_byte(b, '{');
    size_t start = b->len;
    *ins = start;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i > 0)
            rc = buf_append_byte(b, ',');
        if (rc == 0)
            rc = buf_append_byte(b, '"');
        if (rc == 0)
            rc = buf_append_str(b, keys[i].key);
        if (rc == 0)
            rc = buf_append(b, "\":", 2);
        if (rc == 0)
            rc = jcs_serialize_buf(keys[i].value, b, d);
        if (rc == 0 && strcmp(keys[i].key, "proof") < 0)
            *ins = b->len;
    }
    if (rc == 0)
        rc = buf_append_byte(b, '}');
    *n_members = n;
    return rc;
}

/* The shared body of cred_sign_di() and cred_issue(): when text is not NULL it also returns
 * the canonical text of the signed document, spliced from the hashed bytes (one
 * serialisation of the document instead of two). */
static int sign_di(cred_ctx_t *ctx, json_t *doc, keys_t *key, const char *vm, int64_t created_ms,
                   char **text, size_t *text_len, err_detail_t *d)
{
    int rc;
    char created[ISOTIME_BUFSZ], value[CODEC_BASE58_ENCODED_MAX(KEYS_ED25519_SIG_LEN) + 1];
    uint8_t hash[DATAINT_HASH_LEN], sig[KEYS_ED25519_SIG_LEN];
    size_t sig_len = 0, ins = 0, n_members = 0;
    json_t *options = NULL, *config = NULL, *arr = NULL;
    buf_t pbuf;
    buf_init(&pbuf, CRED_TEXT_MAX);
    if (!json_is_object(doc) || empty(vm))
        return err_set(d, ERR_INVALID, "proof", "a document object and a verification method");
    if (keys_alg(key) != KEYS_ED25519)
        return err_set(d, ERR_INVALID, "key", "eddsa-jcs-2022 needs an Ed25519 key");
    if (isotime_format_s(created_ms, created, sizeof created) != 0)
        return err_set(d, ERR_INVALID, "created", "the proof time is out of range");
    json_object_del(doc, "proof");
    options = json_object();
    if (options == NULL ||
        json_object_set_new_nocheck(options, "type", json_string_nocheck(DATAINT_TYPE)) != 0 ||
        json_object_set_new_nocheck(options, "cryptosuite",
                                    json_string_nocheck(DATAINT_CRYPTOSUITE)) != 0 ||
        json_object_set_new_nocheck(options, "created", json_string_nocheck(created)) != 0 ||
        json_object_set_new_nocheck(options, "verificationMethod", json_string(vm)) != 0 ||
        json_object_set_new_nocheck(options, "proofPurpose",
                                    json_string_nocheck("assertionMethod")) != 0) {
        rc = err_set(d, ERR_INVALID, "proof", "cannot build the proof options (bad vm?)");
        goto out;
    }
    if ((rc = dataint_proof_config(doc, options, &config, d)) != 0)
        goto out;
    /* hashData = SHA-256(JCS(config)) || SHA-256(JCS(document)), as dataint_hash_data(). */
    buf_reset(&ctx->buf);
    if ((rc = jcs_serialize_buf(config, &ctx->buf, d)) != 0)
        goto out;
    SHA256((const unsigned char *)ctx->buf.data, ctx->buf.len, hash);
    buf_reset(&ctx->buf);
    bool spliced = text != NULL;
    if (spliced && (rc = canon_top(doc, &ctx->buf, &ins, &n_members, d)) != 0) {
        if (rc < 0)
            goto out;
        spliced = false;
        buf_reset(&ctx->buf);
    }
    if (!spliced && (rc = jcs_serialize_buf(doc, &ctx->buf, d)) != 0)
        goto out;
    SHA256((const unsigned char *)ctx->buf.data, ctx->buf.len, hash + 32);
    if ((rc = keys_sign(key, hash, sizeof hash, sig, sizeof sig, &sig_len, d)) != 0)
        goto out;
    if ((rc = codec_multibase_encode('z', sig, sig_len, value, sizeof value, NULL)) != 0) {
        err_set(d, rc, "proofValue", "cannot encode the signature");
        goto out;
    }
    arr = json_array();
    if (arr == NULL ||
        json_object_set_new_nocheck(config, "proofValue", json_string_nocheck(value)) != 0 ||
        json_array_append(arr, config) != 0) {
        rc = err_set(d, ERR_NOMEM, "proof", "out of memory");
        goto out;
    }
    if (spliced) {
        /* text = doc[0, ins) + [","] "proof":<JCS(arr)> [","] + doc[ins, end) */
        bool before = ins > 1, after = n_members > 0 && !before;
        if ((rc = buf_append_str(&pbuf, before ? ",\"proof\":" : "\"proof\":")) != 0 ||
            (rc = jcs_serialize_buf(arr, &pbuf, d)) != 0 ||
            (after && (rc = buf_append_byte(&pbuf, ',')) != 0)) {
            err_set(d, rc, "proof", "the proof does not fit");
            goto out;
        }
        size_t total = ctx->buf.len + pbuf.len;
        char *t = total <= CRED_TEXT_MAX ? malloc(total + 1) : NULL;
        if (t == NULL) {
            rc = err_set(d, total > CRED_TEXT_MAX ? ERR_LIMIT : ERR_NOMEM, "credential",
                         "the credential does not fit");
            goto out;
        }
        memcpy(t, ctx->buf.data, ins);
        memcpy(t + ins, pbuf.data, pbuf.len);
        memcpy(t + ins + pbuf.len, ctx->buf.data + ins, ctx->buf.len - ins);
        t[total] = '\0';
        *text = t;
        if (text_len != NULL)
            *text_len = total;
    }
    if (json_object_set_nocheck(doc, "proof", arr) != 0) {
        if (spliced) {
            free(*text);
            *text = NULL;
        }
        rc = err_set(d, ERR_NOMEM, "proof", "out of memory");
        goto out;
    }
    if (text != NULL && !spliced && (rc = cred_text(ctx, doc, text, text_len, d)) != 0)
        goto out;
    rc = 0;
out:
    buf_reset(&ctx->buf);
    buf_free(&pbuf);
    json_decref(arr);
    json_decref(config);
    json_decref(options);
    return rc;
}

int cred_sign_di(cred_ctx_t *ctx, json_t *doc, keys_t *key, const char *vm, int64_t created_ms,
                 err_detail_t *d)
{
    return sign_di(ctx, doc, key, vm, created_ms, NULL, NULL, d);
}

static int time_claim(json_t *claims, const char *claim, const json_t *doc, const char *member,
                      bool required, err_detail_t *d)
{
    const char *t = json_string_value(json_object_get(doc, member));
    int64_t ms;
    if (t == NULL)
        return required ? err_set(d, ERR_INVALID, member, "the credential has no %s", member) : 0;
    if (isotime_parse(t, strlen(t), &ms, NULL) != 0)
        return err_set(d, ERR_INVALID, member, "%s is not an RFC 3339 time", member);
    int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    if (json_object_set_new_nocheck(claims, claim, json_integer(s)) != 0)
        return err_set(d, ERR_NOMEM, claim, "out of memory");
    return 0;
}

int cred_sign_jwt(const json_t *doc, keys_t *key, const char *kid, char **out, size_t *len,
                  err_detail_t *d)
{
    int rc;
    json_t *claims = NULL, *vc = NULL;
    if (!json_is_object(doc))
        return err_set(d, ERR_INVALID, "credential", "the credential must be an object");
    const json_t *issuer = json_object_get(doc, "issuer");
    const char *iss = json_is_string(issuer) ? json_string_value(issuer)
                                             : json_string_value(json_object_get(issuer, "id"));
    const char *jti = json_string_value(json_object_get(doc, "id"));
    const char *sub =
        json_string_value(json_object_get(json_object_get(doc, "credentialSubject"), "id"));
    if (iss == NULL || jti == NULL)
        return err_set(d, ERR_INVALID, iss == NULL ? "issuer" : "id",
                       "the credential needs an issuer id and an id");
    claims = json_object();
    vc = json_copy((json_t *)(uintptr_t)doc);
    if (claims == NULL || vc == NULL) {
        rc = err_set(d, ERR_NOMEM, "credential", "out of memory");
        goto out;
    }
    json_object_del(vc, "proof");
    if (json_object_set_new_nocheck(claims, "iss", json_string(iss)) != 0 ||
        json_object_set_new_nocheck(claims, "jti", json_string(jti)) != 0 ||
        (sub != NULL && json_object_set_new_nocheck(claims, "sub", json_string(sub)) != 0) ||
        json_object_set_nocheck(claims, "vc", vc) != 0) {
        rc = err_set(d, ERR_NOMEM, "credential", "out of memory");
        goto out;
    }
    if ((rc = time_claim(claims, "nbf", doc, "validFrom", true, d)) != 0 ||
        (rc = time_claim(claims, "iat", doc, "validFrom", true, d)) != 0 ||
        (rc = time_claim(claims, "exp", doc, "validUntil", false, d)) != 0)
        goto out;
    rc = jws_sign(claims, key, kid, out, len, d);
out:
    json_decref(vc);
    json_decref(claims);
    return rc;
}

int cred_text(cred_ctx_t *ctx, const json_t *doc, char **out, size_t *len, err_detail_t *d)
{
    buf_reset(&ctx->buf);
    int rc = jcs_serialize_buf(doc, &ctx->buf, d);
    if (rc != 0) {
        buf_reset(&ctx->buf);
        return rc;
    }
    char *s = malloc(ctx->buf.len + 1);
    if (s == NULL)
        return err_set(d, ERR_NOMEM, "credential", "out of memory");
    memcpy(s, ctx->buf.data, ctx->buf.len + 1);
    *out = s;
    if (len != NULL)
        *len = ctx->buf.len;
    buf_reset(&ctx->buf);
    return 0;
}

void cred_signed_free(cred_signed_t *s)
{
    if (s == NULL)
        return;
    free(s->json);
    free(s->jwt);
    memset(s, 0, sizeof *s);
}

int cred_issue(cred_ctx_t *ctx, const cred_input_t *in, const cred_signer_t *signer, int forms,
               cred_signed_t *out, json_t **doc_out, err_detail_t *d)
{
    json_t *doc = NULL;
    memset(out, 0, sizeof *out);
    int rc = cred_build(in, &doc, d);
    if (rc != 0)
        return rc;
    if (forms & CRED_FORM_JWT) {
        keys_t *k = signer->jwt_key != NULL ? signer->jwt_key : signer->di_key;
        const char *kid = signer->jwt_kid != NULL ? signer->jwt_kid : signer->di_vm;
        if ((rc = cred_sign_jwt(doc, k, kid, &out->jwt, &out->jwt_len, d)) != 0)
            goto out;
    }
    if (forms & CRED_FORM_DI) {
        if ((rc = sign_di(ctx, doc, signer->di_key, signer->di_vm, in->valid_from_ms, &out->json,
                          &out->json_len, d)) != 0)
            goto out;
    }
    if (doc_out != NULL) {
        *doc_out = doc;
        doc = NULL;
    }
out:
    if (rc != 0)
        cred_signed_free(out);
    json_decref(doc);
    return rc;
}
