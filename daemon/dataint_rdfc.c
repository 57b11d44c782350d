/*
 * dataint_rdfc: eddsa-rdfc-2022 Data Integrity proofs (see dataint_rdfc.h).
 *
 * canon() = jsonld_to_rdf() -> nquads_parse() -> rdfc_canonicalize(). The document without
 * its proof is a shallow copy of the top-level object (members are shared, not copied).
 */
#include "dataint_rdfc.h"

#include <openssl/sha.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "dataint.h"
#include "nquads.h"
#include "rdfc.h"

/* The option checks are dataint's, with this cryptosuite's name. */
static int check_options(const json_t *options, err_detail_t *d)
{
    return dataint_check_options(options, DATAINT_RDFC_CRYPTOSUITE, d);
}

int dataint_rdfc_canonize(jsonld_t *jl, const json_t *doc, char **out, size_t *len, err_detail_t *d)
{
    const char *nq;
    size_t nq_len;
    nquads_dataset_t *ds = NULL;
    rdfc_result_t *res = NULL;
    int rc = jsonld_to_rdf(jl, doc, &nq, &nq_len, d);
    if (rc != 0)
        return rc;
    if ((ds = nquads_dataset_new()) == NULL)
        return err_set(d, ERR_NOMEM, "document", "out of memory");
    if ((rc = nquads_parse(ds, nq, nq_len, NULL, d)) != 0) {
        /* jsonld wrote it: a parse failure is a disagreement between the two modules */
        if (rc == ERR_INVALID)
            rc = err_set(d, ERR_INTERNAL, "document", "toRdf output did not parse: %s",
                         d ? d->message : "");
        goto out;
    }
    if ((rc = rdfc_canonicalize(ds, NULL, &res, d)) != 0)
        goto out;
    size_t clen;
    const char *canon = rdfc_result_nquads(res, &clen);
    char *copy = malloc(clen + 1);
    if (copy == NULL) {
        rc = err_set(d, ERR_NOMEM, "document", "out of memory");
        goto out;
    }
    memcpy(copy, canon, clen + 1);
    *out = copy;
    if (len != NULL)
        *len = clen;
out:
    rdfc_result_destroy(&res);
    nquads_dataset_destroy(&ds);
    return rc;
}

int dataint_rdfc_proof_config(const json_t *document, const json_t *options, json_t **config,
                              err_detail_t *d)
{
    int rc = check_options(options, d);
    if (rc != 0)
        return rc;
    if (json_object_get(options, "proofValue") != NULL)
        return err_set(d, ERR_INVALID, "proofValue", "proof options must not hold a proofValue");
    if (!json_is_object(document))
        return err_set(d, ERR_INVALID, "document", "the document must be a JSON object");
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

/* SHA-256 of canon(v); a top-level "proof" member of v is left out when skip_proof is set. */
static int hash_canonical(jsonld_t *jl, const json_t *v, bool skip_proof, uint8_t *hash,
                          err_detail_t *d)
{
    json_t *tmp = NULL;
    char *canon = NULL;
    size_t len = 0;
    if (skip_proof && json_object_get(v, "proof") != NULL) {
        tmp = json_copy((json_t *)(uintptr_t)v); /* shallow */
        if (tmp == NULL || json_object_del(tmp, "proof") != 0) {
            json_decref(tmp);
            return err_set(d, ERR_NOMEM, "document", "out of memory");
        }
        v = tmp;
    }
    int rc = dataint_rdfc_canonize(jl, v, &canon, &len, d);
    json_decref(tmp);
    if (rc != 0)
        return rc;
    SHA256((const unsigned char *)canon, len, hash);
    free(canon);
    return 0;
}

int dataint_rdfc_hash_data(jsonld_t *jl, const json_t *document, const json_t *config,
                           uint8_t hash[DATAINT_RDFC_HASH_LEN], err_detail_t *d)
{
    int rc = hash_canonical(jl, config, false, hash, d);
    if (rc == 0)
        rc = hash_canonical(jl, document, true, hash + 32, d);
    return rc;
}

int dataint_rdfc_proof_create(jsonld_t *jl, const json_t *document, const json_t *options,
                              keys_t *key, json_t **proof, err_detail_t *d)
{
    json_t *config = NULL, *out = NULL;
    uint8_t hash[DATAINT_RDFC_HASH_LEN], sig[KEYS_ED25519_SIG_LEN];
    char value[CODEC_BASE58_ENCODED_MAX(KEYS_ED25519_SIG_LEN) + 1];
    size_t sig_len = 0;
    if (keys_alg(key) != KEYS_ED25519)
        return err_set(d, ERR_INVALID, "key", "eddsa-rdfc-2022 needs an Ed25519 key");
    int rc = dataint_rdfc_proof_config(document, options, &config, d);
    if (rc != 0)
        return rc;
    if ((rc = dataint_rdfc_hash_data(jl, document, config, hash, d)) != 0)
        goto out;
    if ((rc = keys_sign(key, hash, sizeof hash, sig, sizeof sig, &sig_len, d)) != 0)
        goto out;
    if ((rc = codec_multibase_encode('z', sig, sig_len, value, sizeof value, NULL)) != 0) {
        err_set(d, rc, "proofValue", "cannot encode the signature");
        goto out;
    }
    /* The proof is the options plus proofValue (the configuration's @context is not kept). */
    out = json_copy((json_t *)(uintptr_t)options);
    if (out == NULL || json_object_set_new(out, "proofValue", json_string(value)) != 0) {
        rc = err_set(d, ERR_NOMEM, "proof", "out of memory");
        goto out;
    }
    *proof = out;
    out = NULL;
out:
    json_decref(out);
    json_decref(config);
    return rc;
}

int dataint_rdfc_sign(jsonld_t *jl, json_t *document, const json_t *options, keys_t *key,
                      err_detail_t *d)
{
    json_t *proof = NULL;
    int rc = dataint_rdfc_proof_create(jl, document, options, key, &proof, d);
    if (rc != 0)
        return rc;
    if (json_object_set_new(document, "proof", proof) != 0)
        return err_set(d, ERR_NOMEM, "proof", "out of memory");
    return 0;
}

/* Verifies one proof object against the document (whose "proof" is ignored). */
static int verify_one(jsonld_t *jl, const json_t *secured, const json_t *proof, keys_t *key,
                      err_detail_t *d)
{
    int rc;
    json_t *options = NULL, *unsecured = NULL;
    uint8_t sig[KEYS_ED25519_SIG_LEN + 1], hash[DATAINT_RDFC_HASH_LEN];
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
    if ((rc = check_options(proof, d)) != 0)
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
    if ((rc = dataint_rdfc_hash_data(jl, unsecured, options, hash, d)) != 0)
        goto out;
    rc = keys_verify(key, hash, sizeof hash, sig, sig_len, d);
    if (rc == ERR_UNAUTHENTICATED)
        err_set(d, rc, "proofValue", "the eddsa-rdfc-2022 signature does not verify with the key");
out:
    json_decref(unsecured);
    json_decref(options);
    return rc;
}

static bool is_candidate(const json_t *p)
{
    const char *type = json_string_value(json_object_get(p, "type"));
    const char *suite = json_string_value(json_object_get(p, "cryptosuite"));
    return type != NULL && suite != NULL && strcmp(type, DATAINT_RDFC_TYPE) == 0 &&
           strcmp(suite, DATAINT_RDFC_CRYPTOSUITE) == 0;
}

int dataint_rdfc_proof_verify(jsonld_t *jl, const json_t *secured, keys_t *key,
                              const json_t **verified, err_detail_t *d)
{
    if (!json_is_object(secured))
        return err_set(d, ERR_INVALID, "document", "the secured document must be a JSON object");
    if (keys_alg(key) != KEYS_ED25519)
        return err_set(d, ERR_INVALID, "key", "eddsa-rdfc-2022 needs an Ed25519 key");
    const json_t *proof = json_object_get(secured, "proof");
    if (proof == NULL)
        return err_set(d, ERR_INVALID, "proof", "the document has no proof");
    if (!json_is_array(proof)) {
        int rc = verify_one(jl, secured, proof, key, d);
        if (rc == 0 && verified != NULL)
            *verified = proof;
        return rc;
    }
    int rc = err_set(d, ERR_INVALID, "proof", "no DataIntegrityProof with eddsa-rdfc-2022");
    for (size_t i = 0; i < json_array_size(proof); i++) {
        const json_t *p = json_array_get(proof, i);
        if (!is_candidate(p))
            continue;
        rc = verify_one(jl, secured, p, key, d);
        if (rc == 0) {
            if (verified != NULL)
                *verified = p;
            return 0;
        }
    }
    return rc;
}
