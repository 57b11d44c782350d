#include "dataint.h"

#include <openssl/sha.h>
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "jcs.h"

/* Canonical forms of credentials are a few KB; the cap bounds hostile input. */
#define CANON_MAX (4u * 1024u * 1024u)

static bool is_digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int two(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* XML Schema dateTimeStamp: YYYY-MM-DDThh:mm:ss(.s+)?(Z|(+|-)hh:mm), time zone required. */
static bool is_date_time_stamp(const char *s)
{
    size_t len = strlen(s);
    if (len < 20 || !is_digits(s, 4) || s[4] != '-' || !is_digits(s + 5, 2) || s[7] != '-' ||
        !is_digits(s + 8, 2) || s[10] != 'T' || !is_digits(s + 11, 2) || s[13] != ':' ||
        !is_digits(s + 14, 2) || s[16] != ':' || !is_digits(s + 17, 2))
        return false;
    int month = two(s + 5), day = two(s + 8), hour = two(s + 11), minute = two(s + 14),
        second = two(s + 17);
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 || second > 60 ||
        (hour == 24 && (minute != 0 || second != 0)))
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (p[0] == 'Z' && p[1] == '\0')
        return true;
    return (p[0] == '+' || p[0] == '-') && is_digits(p + 1, 2) && p[3] == ':' &&
           is_digits(p + 4, 2) && p[6] == '\0' && two(p + 1) <= 14 && two(p + 4) <= 59;
}

static int require_string(const json_t *obj, const char *name, const char *want, err_detail_t *d)
{
    const char *v = json_string_value(json_object_get(obj, name));
    if (v == NULL)
        return err_set(d, ERR_INVALID, name, "proof %s must be a string", name);
    if (want != NULL && strcmp(v, want) != 0)
        return err_set(d, ERR_INVALID, name, "proof %s is \"%.64s\"; expected \"%s\"", name, v,
                       want);
    return 0;
}

int dataint_check_options(const json_t *options, const char *cryptosuite, err_detail_t *d)
{
    if (!json_is_object(options))
        return err_set(d, ERR_INVALID, "proof", "proof options must be a JSON object");
    int rc;
    if ((rc = require_string(options, "type", DATAINT_TYPE, d)) != 0 ||
        (rc = require_string(options, "cryptosuite", cryptosuite, d)) != 0 ||
        (rc = require_string(options, "verificationMethod", NULL, d)) != 0 ||
        (rc = require_string(options, "proofPurpose", NULL, d)) != 0)
        return rc;
    const json_t *created = json_object_get(options, "created");
    if (created != NULL &&
        (!json_is_string(created) || !is_date_time_stamp(json_string_value(created))))
        return err_set(d, ERR_INVALID, "created",
                       "proof created must be a dateTimeStamp like 2023-02-24T23:36:38Z");
    return 0;
}

int dataint_proof_config(const json_t *document, const json_t *options, json_t **config,
                         err_detail_t *d)
{
    if (!json_is_object(document))
        return err_set(d, ERR_INVALID, "document", "the document must be a JSON object");
    int rc = dataint_check_options(options, DATAINT_CRYPTOSUITE, d);
    if (rc != 0)
        return rc;
    if (json_object_get(options, "proofValue") != NULL)
        return err_set(d, ERR_INVALID, "proofValue", "proof options must not hold a proofValue");
    /* Shallow copy: the members are shared, only the top-level object is new. */
    json_t *c = json_copy((json_t *)(uintptr_t)options);
    if (c == NULL)
        return err_set(d, ERR_NOMEM, "proof", "out of memory");
    json_t *ctx = json_object_get(document, "@context");
    if (ctx != NULL && json_object_set(c, "@context", ctx) != 0) {
        json_decref(c);
        return err_set(d, ERR_NOMEM, "proof", "out of memory");
    }
    *config = c;
    return 0;
}

/* Appends SHA-256(JCS(v)) to hash, reusing b. Members named skip (if not NULL) are left out
 * of a top-level object. */
static int hash_canonical(const json_t *v, const char *skip, buf_t *b, uint8_t *hash,
                          err_detail_t *d)
{
    json_t *tmp = NULL;
    if (skip != NULL && json_object_get(v, skip) != NULL) {
        tmp = json_copy((json_t *)(uintptr_t)v);
        if (tmp == NULL || json_object_del(tmp, skip) != 0) {
            json_decref(tmp);
            return err_set(d, ERR_NOMEM, "document", "out of memory");
        }
        v = tmp;
    }
    buf_reset(b);
    int rc = jcs_serialize_buf(v, b, d);
    json_decref(tmp);
    if (rc != 0)
        return rc;
    SHA256((const unsigned char *)b->data, b->len, hash);
    return 0;
}

int dataint_hash_data(const json_t *document, const json_t *config, uint8_t hash[DATAINT_HASH_LEN],
                      err_detail_t *d)
{
    buf_t b;
    buf_init(&b, CANON_MAX);
    int rc = buf_reserve(&b, 4096);
    if (rc == 0)
        rc = hash_canonical(config, NULL, &b, hash, d);
    if (rc == 0)
        rc = hash_canonical(document, "proof", &b, hash + 32, d);
    buf_free(&b);
    return rc;
}

int dataint_proof_create(const json_t *document, const json_t *options, keys_t *key, json_t **proof,
                         err_detail_t *d)
{
    json_t *config = NULL;
    uint8_t hash[DATAINT_HASH_LEN], sig[KEYS_ED25519_SIG_LEN];
    char value[CODEC_BASE58_ENCODED_MAX(KEYS_ED25519_SIG_LEN) + 1];
    size_t sig_len = 0;
    if (keys_alg(key) != KEYS_ED25519)
        return err_set(d, ERR_INVALID, "key", "eddsa-jcs-2022 needs an Ed25519 key");
    int rc = dataint_proof_config(document, options, &config, d);
    if (rc != 0)
        return rc;
    if ((rc = dataint_hash_data(document, config, hash, d)) != 0)
        goto out;
    if ((rc = keys_sign(key, hash, sizeof hash, sig, sizeof sig, &sig_len, d)) != 0)
        goto out;
    if ((rc = codec_multibase_encode('z', sig, sig_len, value, sizeof value, NULL)) != 0) {
        err_set(d, rc, "proofValue", "cannot encode the signature");
        goto out;
    }
    /* The proof is the configuration (options + @context) plus proofValue. */
    if (json_object_set_new(config, "proofValue", json_string(value)) != 0) {
        rc = err_set(d, ERR_NOMEM, "proof", "out of memory");
        goto out;
    }
    *proof = config;
    config = NULL;
out:
    json_decref(config);
    return rc;
}

int dataint_sign(json_t *document, const json_t *options, keys_t *key, err_detail_t *d)
{
    json_t *proof = NULL;
    int rc = dataint_proof_create(document, options, key, &proof, d);
    if (rc != 0)
        return rc;
    if (json_object_set_new(document, "proof", proof) != 0)
        return err_set(d, ERR_NOMEM, "proof", "out of memory");
    return 0;
}

bool dataint_context_prefix(const json_t *doc_ctx, const json_t *proof_ctx)
{
    if (doc_ctx == NULL)
        return false;
    if (!json_is_array(proof_ctx))
        return json_is_array(doc_ctx) ? json_array_size(doc_ctx) > 0 &&
                                            json_equal(json_array_get(doc_ctx, 0), proof_ctx)
                                      : json_equal(doc_ctx, proof_ctx);
    size_t n = json_array_size(proof_ctx);
    if (!json_is_array(doc_ctx))
        return n == 1 && json_equal(doc_ctx, json_array_get(proof_ctx, 0));
    if (json_array_size(doc_ctx) < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!json_equal(json_array_get(doc_ctx, i), json_array_get(proof_ctx, i)))
            return false;
    return true;
}

/* Verifies one proof object against the document (whose "proof" is ignored). */
static int verify_one(const dataint_suite_t *suite, const json_t *secured, const json_t *proof,
                      keys_t *key, err_detail_t *d)
{
    int rc;
    json_t *options = NULL, *unsecured = NULL;
    uint8_t sig[KEYS_ED25519_SIG_LEN + 1], hash[DATAINT_HASH_LEN];
    size_t sig_len = 0;
    if (!json_is_object(proof))
        return err_set(d, ERR_INVALID, "proof", "proof must be a JSON object");
    const char *value = json_string_value(json_object_get(proof, "proofValue"));
    if (value == NULL)
        return err_set(d, ERR_INVALID, "proofValue", "proof has no proofValue string");
    if (value[0] != 'z' ||
        codec_multibase_decode(value, strlen(value), NULL, sig, sizeof sig, &sig_len) != 0 ||
        sig_len != KEYS_ED25519_SIG_LEN)
        return err_set(d, ERR_INVALID, "proofValue",
                       "proofValue must be 'z' + base58btc of a 64-byte Ed25519 signature");
    if ((rc = dataint_check_options(proof, suite->cryptosuite, d)) != 0)
        return rc;
    options = json_copy((json_t *)(uintptr_t)proof);
    unsecured = json_copy((json_t *)(uintptr_t)secured);
    if (options == NULL || unsecured == NULL || json_object_del(options, "proofValue") != 0) {
        rc = err_set(d, ERR_NOMEM, "proof", "out of memory");
        goto out;
    }
    json_object_del(unsecured, "proof");
    const json_t *proof_ctx = json_object_get(options, "@context");
    if (proof_ctx != NULL) {
        if (!dataint_context_prefix(json_object_get(unsecured, "@context"), proof_ctx)) {
            rc = err_set(d, ERR_UNAUTHENTICATED, "@context",
                         "the document's @context does not begin with the proof's @context");
            goto out;
        }
        if (json_object_set(unsecured, "@context", (json_t *)(uintptr_t)proof_ctx) != 0) {
            rc = err_set(d, ERR_NOMEM, "proof", "out of memory");
            goto out;
        }
    }
    /* proofConfig = options with the (possibly replaced) document @context. */
    json_t *ctx = json_object_get(unsecured, "@context");
    if (ctx != NULL && json_object_set(options, "@context", ctx) != 0) {
        rc = err_set(d, ERR_NOMEM, "proof", "out of memory");
        goto out;
    }
    if ((rc = suite->hash(suite->ctx, unsecured, options, hash, d)) != 0)
        goto out;
    rc = keys_verify(key, hash, sizeof hash, sig, sig_len, d);
    if (rc == ERR_UNAUTHENTICATED)
        err_set(d, rc, "proofValue", "the %s signature does not verify with the key",
                suite->cryptosuite);
out:
    json_decref(unsecured);
    json_decref(options);
    return rc;
}

static bool is_candidate(const dataint_suite_t *suite, const json_t *p)
{
    const char *type = json_string_value(json_object_get(p, "type"));
    const char *cs = json_string_value(json_object_get(p, "cryptosuite"));
    return type != NULL && cs != NULL && strcmp(type, DATAINT_TYPE) == 0 &&
           strcmp(cs, suite->cryptosuite) == 0;
}

int dataint_verify_suite(const dataint_suite_t *suite, const json_t *secured, keys_t *key,
                         const json_t **verified, err_detail_t *d)
{
    if (!json_is_object(secured))
        return err_set(d, ERR_INVALID, "document", "the secured document must be a JSON object");
    if (keys_alg(key) != KEYS_ED25519)
        return err_set(d, ERR_INVALID, "key", "%s needs an Ed25519 key", suite->cryptosuite);
    const json_t *proof = json_object_get(secured, "proof");
    if (proof == NULL)
        return err_set(d, ERR_INVALID, "proof", "the document has no proof");
    if (!json_is_array(proof)) {
        int rc = verify_one(suite, secured, proof, key, d);
        if (rc == 0 && verified != NULL)
            *verified = proof;
        return rc;
    }
    int rc = err_set(d, ERR_INVALID, "proof", "no DataIntegrityProof with %s", suite->cryptosuite);
    for (size_t i = 0; i < json_array_size(proof); i++) {
        const json_t *p = json_array_get(proof, i);
        if (!is_candidate(suite, p))
            continue;
        rc = verify_one(suite, secured, p, key, d);
        if (rc == 0) {
            if (verified != NULL)
                *verified = p;
            if (d != NULL)
                err_clear(d);
            return 0;
        }
    }
    return rc;
}

static int jcs_hash(void *ctx, const json_t *document, const json_t *config,
                    uint8_t hash[DATAINT_HASH_LEN], err_detail_t *d)
{
    (void)ctx;
    return dataint_hash_data(document, config, hash, d);
}

int dataint_proof_verify(const json_t *secured, keys_t *key, const json_t **verified,
                         err_detail_t *d)
{
    const dataint_suite_t jcs = {DATAINT_CRYPTOSUITE, jcs_hash, NULL};
    return dataint_verify_suite(&jcs, secured, key, verified, d);
}
