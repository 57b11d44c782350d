/*
 * dataint_rdfc: eddsa-rdfc-2022 Data Integrity proofs (see dataint_rdfc.h).
 *
 * canon() = jsonld_to_dataset() -> rdfc_canonicalize(): the quads toRdf makes go to RDFC-1.0
 * as they are, never printed and parsed back. The document without its proof is a shallow
 * copy of the top-level object (members are shared, not copied).
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

/* The canonical form of doc: caller owns *res (rdfc_result_destroy()). */
static int canon(jsonld_t *jl, const json_t *doc, rdfc_result_t **res, err_detail_t *d)
{
    const nquads_dataset_t *ds;
    int rc = jsonld_to_dataset(jl, doc, &ds, d);
    if (rc == 0)
        rc = rdfc_canonicalize(ds, NULL, res, d);
    return rc;
}

int dataint_rdfc_canonize(jsonld_t *jl, const json_t *doc, char **out, size_t *len, err_detail_t *d)
{
    rdfc_result_t *res = NULL;
    int rc = canon(jl, doc, &res, d);
    if (rc != 0)
        return rc;
    size_t clen;
    const char *text = rdfc_result_nquads(res, &clen);
    char *copy = malloc(clen + 1);
    if (copy == NULL) {
        rc = err_set(d, ERR_NOMEM, "document", "out of memory");
    } else {
        memcpy(copy, text, clen + 1);
        *out = copy;
        if (len != NULL)
            *len = clen;
    }
    rdfc_result_destroy(&res);
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
    rdfc_result_t *res = NULL;
    if (skip_proof && json_object_get(v, "proof") != NULL) {
        tmp = json_copy((json_t *)(uintptr_t)v); /* shallow */
        if (tmp == NULL || json_object_del(tmp, "proof") != 0) {
            json_decref(tmp);
            return err_set(d, ERR_NOMEM, "document", "out of memory");
        }
        v = tmp;
    }
    int rc = canon(jl, v, &res, d);
    json_decref(tmp);
    if (rc != 0)
        return rc;
    size_t len;
    const char *text = rdfc_result_nquads(res, &len); /* hashed where it lies: no copy */
    SHA256((const unsigned char *)text, len, hash);
    rdfc_result_destroy(&res);
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

static int rdfc_hash(void *ctx, const json_t *document, const json_t *config,
                     uint8_t hash[DATAINT_HASH_LEN], err_detail_t *d)
{
    return dataint_rdfc_hash_data(ctx, document, config, hash, d);
}

int dataint_rdfc_proof_verify(jsonld_t *jl, const json_t *secured, keys_t *key,
                              const json_t **verified, err_detail_t *d)
{
    const dataint_suite_t rdfc = {DATAINT_RDFC_CRYPTOSUITE, rdfc_hash, jl};
    return dataint_verify_suite(&rdfc, secured, key, verified, d);
}
