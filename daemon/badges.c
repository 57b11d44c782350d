#include "badges.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataint_rdfc.h"
#include "graph.h"
#include "isotime.h"
#include "issuer.h"
#include "jsonld.h"
#include "statuslist.h"
#include "wire.h"

#define BADGES_EVIDENCE_LISTED 100 /* evidence items named in one credential (the latest) */
#define BADGES_URL_MAX         1024
#define BADGES_DID_MAX         256

struct badges {
    char issuer_name[256], issuer_url[BADGES_URL_MAX], issuer_email[256];
    char issuer_image[BADGES_URL_MAX];
    char did_web[ISSUER_DID_MAX];     /* "did:web:..." or "" */
    char did[ISSUER_DID_MAX];         /* the issuer DID now */
    char list_url[2][BADGES_URL_MAX]; /* revocation, suspension */
    bool suspension;
    uint32_t status_list_size;
    bool proof_rdfc, proof_jcs; /* which Data Integrity proofs badges and lists carry */
    bool jwt_rs256;             /* VC-JWTs signed RS256 with the RSA key (else EdDSA) */
    keyring_t *kr;
    cred_ctx_t *ctx;
    jsonld_t *jl; /* JSON-LD processor for eddsa-rdfc-2022 (caches processed contexts) */
};

/* ---- the credential record ------------------------------------------------------------------
 * [32-byte header][8 strings, each: u32 length with its NUL, the bytes, the NUL]. Strings are
 * stored NUL-terminated so readers can use them in place. */

typedef struct rec_hdr {
    int64_t issued_at;
    int64_t changed_at;
    uint32_t index;
    uint32_t revision;
    uint8_t state;
    uint8_t flags; /* REC_SUSPENDABLE */
    uint8_t reserved[6];
} rec_hdr_t;

_Static_assert(sizeof(rec_hdr_t) == 32, "credential header is a stored format");

#define REC_SUSPENDABLE 1u
enum { R_ID, R_LEARNER, R_FRAMEWORK, R_COMPETENCY, R_NAME, R_REASON, R_JSON, R_JWT, R_COUNT };

static uint8_t *rec_build(const rec_hdr_t *h, const char *const s[R_COUNT],
                          const size_t len[R_COUNT], size_t *out_len)
{
    size_t n = sizeof *h;
    for (int i = 0; i < R_COUNT; i++)
        n += 4 + len[i] + 1;
    uint8_t *rec = malloc(n), *p = rec;
    if (rec == NULL)
        return NULL;
    memcpy(p, h, sizeof *h);
    p += sizeof *h;
    for (int i = 0; i < R_COUNT; i++) {
        uint32_t l = (uint32_t)len[i] + 1;
        memcpy(p, &l, 4);
        memcpy(p + 4, s[i], len[i]);
        p[4 + len[i]] = '\0';
        p += 4 + l;
    }
    *out_len = n;
    return rec;
}

static int rec_parse(const store_val_t *v, rec_hdr_t *h, const char *s[R_COUNT],
                     size_t len[R_COUNT])
{
    const uint8_t *p = v->data, *end = p + v->len;
    if (v->len < sizeof *h)
        return ERR_INTERNAL;
    memcpy(h, p, sizeof *h);
    p += sizeof *h;
    for (int i = 0; i < R_COUNT; i++) {
        uint32_t l;
        if (end - p < 4)
            return ERR_INTERNAL;
        memcpy(&l, p, 4);
        if (l == 0 || (size_t)(end - p - 4) < l || p[4 + l - 1] != '\0')
            return ERR_INTERNAL;
        s[i] = (const char *)p + 4;
        len[i] = l - 1;
        p += 4 + l;
    }
    return 0;
}

static void info_from(badges_info_t *info, const rec_hdr_t *h, const char *const s[R_COUNT])
{
    info->id = s[R_ID];
    info->learner_id = s[R_LEARNER];
    info->framework_id = s[R_FRAMEWORK];
    info->competency_id = s[R_COMPETENCY];
    info->name = s[R_NAME];
    info->reason = s[R_REASON];
    info->revision = h->revision;
    info->status_index = h->index;
    info->issued_at = h->issued_at;
    info->changed_at = h->changed_at;
    info->state = (badges_state_t)h->state;
    info->suspendable = (h->flags & REC_SUSPENDABLE) != 0;
}

static void key_id(store_key_t *k, const char *id)
{
    store_key_reset(k);
    store_key_bytes(k, id, strlen(id));
}

/* ---- status bitstrings --------------------------------------------------------------------- */

static int bits_load(badges_t *b, store_txn_t *txn, char which, statuslist_t **out)
{
    store_key_t k;
    store_val_t v;
    store_key_reset(&k);
    store_key_byte(&k, (uint8_t)which);
    int rc = store_get(txn, STORE_DB_STATUS, &k, &v);
    if (rc == ERR_NOT_FOUND)
        return statuslist_new(b->status_list_size, out);
    if (rc != 0)
        return rc;
    return statuslist_from_bytes(v.data, v.len, out);
}

static int bits_store(store_txn_t *txn, char which, const statuslist_t *l)
{
    store_key_t k;
    size_t len;
    const uint8_t *bytes = statuslist_bytes(l, &len);
    store_key_reset(&k);
    store_key_byte(&k, (uint8_t)which);
    return store_put(txn, STORE_DB_STATUS, &k, bytes, len, 0);
}

static int bits_set(badges_t *b, store_txn_t *txn, char which, uint32_t index, bool value)
{
    statuslist_t *l = NULL;
    int rc = bits_load(b, txn, which, &l);
    if (rc == 0)
        rc = statuslist_set(l, index, value);
    if (rc == 0)
        rc = bits_store(txn, which, l);
    statuslist_destroy(&l);
    return rc;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static int compute_did(badges_t *b)
{
    if (b->did_web[0]) {
        snprintf(b->did, sizeof b->did, "%s", b->did_web);
        return 0;
    }
    keyring_entry_t *ed = keyring_current(b->kr, KEYS_ED25519);
    return ed ? issuer_did(ed->key, NULL, b->did, sizeof b->did) : ERR_INTERNAL;
}

static int copy_conf(char *dst, size_t cap, const char *src, const char *field, err_detail_t *d)
{
    src = src ? src : "";
    if (strlen(src) >= cap)
        return err_set(d, ERR_INVALID, field, "longer than %zu bytes", cap - 1);
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

int badges_new(const badges_conf_t *conf, keyring_t *kr, badges_t **out, err_detail_t *d)
{
    badges_t *b = calloc(1, sizeof *b);
    if (b == NULL)
        return err_set(d, ERR_NOMEM, "badges", "out of memory");
    int rc;
    if ((rc = copy_conf(b->issuer_name, sizeof b->issuer_name, conf->issuer_name, "issuer_name",
                        d)) != 0 ||
        (rc = copy_conf(b->issuer_url, sizeof b->issuer_url, conf->issuer_url, "issuer_url", d)) !=
            0 ||
        (rc = copy_conf(b->issuer_email, sizeof b->issuer_email, conf->issuer_email, "issuer_email",
                        d)) != 0 ||
        (rc = copy_conf(b->issuer_image, sizeof b->issuer_image, conf->issuer_image, "issuer_image",
                        d)) != 0)
        goto fail;
    if (b->issuer_name[0] == '\0') {
        rc = err_set(d, ERR_INVALID, "issuer_name", "the issuer needs a name");
        goto fail;
    }
    if (conf->did_web && conf->did_web[0] &&
        (rc = issuer_did_web(conf->did_web, b->did_web, sizeof b->did_web, d)) != 0) {
        snprintf(d->field, sizeof d->field, "issuer_did_web");
        goto fail;
    }
    const char *base = conf->status_base_url ? conf->status_base_url : "";
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    if (blen == 0 || blen > 900 ||
        (strncmp(base, "https://", 8) != 0 && strncmp(base, "http://", 7) != 0)) {
        rc = err_set(d, ERR_INVALID, "status_base_url", "must be an http(s) URL");
        goto fail;
    }
    snprintf(b->list_url[0], sizeof b->list_url[0], "%.*s/revocation", (int)blen, base);
    snprintf(b->list_url[1], sizeof b->list_url[1], "%.*s/suspension", (int)blen, base);
    b->suspension = conf->suspension;
    b->status_list_size = conf->status_list_size;
    const char *proofs = conf->proofs && conf->proofs[0] ? conf->proofs : "rdfc";
    if (strcmp(proofs, "rdfc") == 0) {
        b->proof_rdfc = true;
    } else if (strcmp(proofs, "jcs") == 0) {
        b->proof_jcs = true;
    } else if (strcmp(proofs, "rdfc,jcs") == 0 || strcmp(proofs, "jcs,rdfc") == 0) {
        b->proof_rdfc = b->proof_jcs = true;
    } else {
        rc = err_set(d, ERR_INVALID, "credential_proofs", "'%s' is not rdfc, jcs, or rdfc,jcs",
                     proofs);
        goto fail;
    }
    const char *alg = conf->jwt_alg && conf->jwt_alg[0] ? conf->jwt_alg : "EdDSA";
    b->jwt_rs256 = strcmp(alg, "RS256") == 0;
    if (!b->jwt_rs256 && strcmp(alg, "EdDSA") != 0) {
        rc = err_set(d, ERR_INVALID, "credential_jwt_alg", "'%s' is not EdDSA or RS256", alg);
        goto fail;
    }
    if (b->jwt_rs256 && b->did_web[0] == '\0') {
        rc = err_set(d, ERR_INVALID, "credential_jwt_alg",
                     "RS256 needs a did:web issuer (issuer_did_web): a did:key names no RSA key");
        goto fail;
    }
    b->kr = kr;
    if ((b->jl = jsonld_new()) == NULL) {
        rc = err_set(d, ERR_NOMEM, "badges", "out of memory");
        goto fail;
    }
    if ((rc = cred_ctx_new(&b->ctx)) != 0 || (rc = compute_did(b)) != 0) {
        err_set(d, rc, "badges", "cannot derive the issuer DID");
        goto fail;
    }
    *out = b;
    return 0;
fail:
    badges_destroy(&b);
    return rc;
}

void badges_destroy(badges_t **bp)
{
    if (bp == NULL || *bp == NULL)
        return;
    cred_ctx_destroy(&(*bp)->ctx);
    jsonld_destroy(&(*bp)->jl);
    free(*bp);
    *bp = NULL;
}

const char *badges_issuer_did(const badges_t *b)
{
    return b->did;
}

/* The current signing keys and their verification method ids. */
static int signer_get(badges_t *b, keyring_entry_t **ed, char *vm, size_t cap)
{
    *ed = keyring_current(b->kr, KEYS_ED25519);
    if (*ed == NULL)
        return ERR_INTERNAL;
    return issuer_vm_id((*ed)->key, b->did_web[0] ? b->did_web : NULL, vm, cap);
}

/*
 * Adds the configured Data Integrity proofs to an unsecured document and returns its
 * canonical text: eddsa-rdfc-2022 (what wallets and the 1EdTech validator accept) and/or
 * eddsa-jcs-2022; with both, "proof" is a proof set of two independent proofs.
 */
static int secure(badges_t *b, json_t *doc, int64_t now, char **text, size_t *len, err_detail_t *d)
{
    keyring_entry_t *ed;
    char vm[ISSUER_VM_ID_MAX], created[32];
    json_t *rdfc_proof = NULL;
    int rc = signer_get(b, &ed, vm, sizeof vm);
    if (rc != 0)
        return rc;
    if (b->proof_rdfc) {
        if ((rc = isotime_format_s(now, created, sizeof created)) != 0)
            return rc;
        json_t *opts = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "DataIntegrityProof",
                                 "cryptosuite", "eddsa-rdfc-2022", "created", created,
                                 "verificationMethod", vm, "proofPurpose", "assertionMethod");
        if (opts == NULL)
            return ERR_NOMEM;
        rc = dataint_rdfc_proof_create(b->jl, doc, opts, ed->key, &rdfc_proof, d);
        json_decref(opts);
        if (rc != 0)
            return rc;
    }
    if (b->proof_jcs && (rc = cred_sign_di(b->ctx, doc, ed->key, vm, now, d)) != 0) {
        json_decref(rdfc_proof);
        return rc;
    }
    if (rdfc_proof) {
        json_t *set = json_object_get(doc, "proof");
        if (!json_is_array(set)) {
            set = json_array();
            json_object_set_new(doc, "proof", set);
        }
        json_array_insert_new(set, 0, rdfc_proof); /* rdfc first: the default suite */
    }
    return cred_text(b->ctx, doc, text, len, d);
}

/* The VC-JWT form: EdDSA with the Ed25519 key, or RS256 with the current RSA key (whose kid
 * is its did:web verification method). */
static int sign_jwt(badges_t *b, const json_t *doc, keys_t *ed, const char *ed_vm,
                    cred_signed_t *out, err_detail_t *d)
{
    if (!b->jwt_rs256)
        return cred_sign_jwt(doc, ed, ed_vm, &out->jwt, &out->jwt_len, d);
    keyring_entry_t *rsa = keyring_current(b->kr, KEYS_RSA);
    char kid[ISSUER_VM_ID_MAX];
    int rc = rsa ? issuer_vm_id(rsa->key, b->did_web, kid, sizeof kid) : ERR_INTERNAL;
    return rc ? rc : cred_sign_jwt(doc, rsa->key, kid, &out->jwt, &out->jwt_len, d);
}

/* ---- issuance ------------------------------------------------------------------------------ */

static void key_index(store_key_t *k, const uint8_t *learner_hash, const catalog_fw_t *fw,
                      uint32_t ci)
{
    store_key_reset(k);
    store_key_bytes(k, learner_hash, STORE_HASH_LEN);
    store_key_bytes(k, fw->hash, STORE_HASH_LEN);
    store_key_u32(k, fw->revision);
    store_key_bytes(k, fw->comp_hash[ci], STORE_HASH_LEN);
}

static void key_learner_did(store_key_t *k, const uint8_t *learner_hash)
{
    store_key_reset(k);
    store_key_bytes(k, learner_hash, STORE_HASH_LEN);
    store_key_byte(k, 'D');
}

/* The evidence that made the mastery: the latest BADGES_EVIDENCE_LISTED items, not retracted.
 * Items are unpacked with the default allocator; the caller frees msgs[0..*n). */
static int evidence_collect(store_txn_t *txn, const uint8_t *learner_hash, const uint8_t *comp_hash,
                            Mastery__V1__Evidence **msgs, size_t *n)
{
    store_key_t prefix;
    store_iter_t it;
    store_val_t k, v;
    store_key_reset(&prefix);
    store_key_bytes(&prefix, learner_hash, STORE_HASH_LEN);
    store_key_byte(&prefix, 'E');
    store_key_bytes(&prefix, comp_hash, STORE_HASH_LEN);
    *n = 0;
    int rc = store_iter_open(txn, STORE_DB_LEARNERS, &prefix, NULL, &it);
    if (rc != 0)
        return rc;
    size_t seen = 0;
    while ((rc = store_iter_next(&it, &k, &v)) == 0) {
        store_val_t blob;
        if (engine_record_retracted(&v))
            continue;
        if ((rc = engine_record_blob(&v, &blob)) != 0)
            break;
        Mastery__V1__Evidence *e = mastery__v1__evidence__unpack(NULL, blob.len, blob.data);
        if (e == NULL) {
            rc = ERR_INTERNAL;
            break;
        }
        /* A ring of the latest items: slot seen % max. */
        size_t slot = seen % BADGES_EVIDENCE_LISTED;
        if (seen >= BADGES_EVIDENCE_LISTED)
            mastery__v1__evidence__free_unpacked(msgs[slot], NULL);
        msgs[slot] = e;
        seen++;
    }
    store_iter_close(&it);
    *n = seen < BADGES_EVIDENCE_LISTED ? seen : BADGES_EVIDENCE_LISTED;
    if (seen > BADGES_EVIDENCE_LISTED) { /* rotate the ring into observed order */
        Mastery__V1__Evidence *tmp[BADGES_EVIDENCE_LISTED];
        for (size_t i = 0; i < BADGES_EVIDENCE_LISTED; i++)
            tmp[i] = msgs[(seen + i) % BADGES_EVIDENCE_LISTED];
        memcpy(msgs, tmp, sizeof tmp);
    }
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

int badges_on_mastered(badges_t *b, store_txn_t *txn, const catalog_fw_t *fw, uint32_t ci,
                       const char *learner_id, int64_t now, bool *issued, badges_info_t *info,
                       err_detail_t *d)
{
    const graph_comp_t *c = graph_comp(fw->graph, ci);
    *issued = false;
    if (c->achievement == NULL)
        return 0;
    uint8_t lh[STORE_HASH_LEN];
    store_key_t ik, k;
    store_val_t v;
    store_hash_id(learner_id, lh);
    key_index(&ik, lh, fw, ci);
    int rc = store_get(txn, STORE_DB_CRED_INDEX, &ik, &v);
    if (rc == 0)
        return 0; /* issued before for this revision: never twice */
    if (rc != ERR_NOT_FOUND)
        return rc;

    static char id[CRED_URN_UUID_MAX]; /* info->id points here until the next issuance */
    char did[BADGES_DID_MAX + 1] = "", vm[ISSUER_VM_ID_MAX];
    uint32_t index;
    statuslist_t *used = NULL;
    Mastery__V1__Evidence *msgs[BADGES_EVIDENCE_LISTED];
    cred_evidence_t ev[BADGES_EVIDENCE_LISTED];
    size_t n_ev = 0;
    cred_signed_t out = {0};
    keyring_entry_t *ed;
    json_t *doc = NULL;
    uint8_t *rec = NULL;
    if ((rc = cred_urn_uuid_random(id, sizeof id)) != 0 ||
        (rc = bits_load(b, txn, 'U', &used)) != 0 || (rc = statuslist_pick(used, &index, d)) != 0 ||
        (rc = statuslist_set(used, index, true)) != 0 || (rc = bits_store(txn, 'U', used)) != 0)
        goto out;
    key_learner_did(&k, lh);
    if ((rc = store_get(txn, STORE_DB_LEARNERS, &k, &v)) == 0 && v.len <= BADGES_DID_MAX) {
        memcpy(did, v.data, v.len);
        did[v.len] = '\0';
    } else if (rc != 0 && rc != ERR_NOT_FOUND) {
        goto out;
    }
    if ((rc = evidence_collect(txn, lh, fw->comp_hash[ci], msgs, &n_ev)) != 0)
        goto out;
    for (size_t i = 0; i < n_ev; i++)
        ev[i] = (cred_evidence_t){msgs[i]->evidence_id, msgs[i]->url, msgs[i]->narrative};

    cred_input_t in;
    cred_input_init(&in);
    in.id = id;
    in.issuer =
        (cred_issuer_t){b->did, b->issuer_name, b->issuer_url, b->issuer_email, b->issuer_image};
    in.valid_from_ms = now;
    in.framework_id = graph_id(fw->graph);
    in.framework_version = graph_version(fw->graph);
    in.competency_id = c->id;
    in.competency_title = c->title;
    in.source_uri = c->source_uri[0] ? c->source_uri : NULL;
    /* A CASE item (casepkg puts it in metadata.case) aligns as a CFItem. */
    const json_t *tt = json_object_get(c->achievement, "alignment_target_type");
    if (tt == NULL)
        tt = json_object_get(json_object_get(c->metadata, "case"), "alignment_target_type");
    in.source_is_case = json_is_string(tt) && strcmp(json_string_value(tt), "CFItem") == 0;
    if ((rc = cred_input_from_achievement(&in, c->achievement, d)) != 0)
        goto out;
    in.learner_did = did[0] ? did : NULL;
    in.learner_id = learner_id;
    in.evidence = ev;
    in.n_evidence = n_ev;
    in.revocation = (cred_status_t){b->list_url[0], index};
    if (b->suspension)
        in.suspension = (cred_status_t){b->list_url[1], index};
    if ((rc = signer_get(b, &ed, vm, sizeof vm)) != 0 || (rc = cred_build(&in, &doc, d)) != 0 ||
        (rc = sign_jwt(b, doc, ed->key, vm, &out, d)) != 0 ||
        (rc = secure(b, doc, now, &out.json, &out.json_len, d)) != 0)
        goto out;

    rec_hdr_t h = {.issued_at = now,
                   .changed_at = now,
                   .index = index,
                   .revision = fw->revision,
                   .state = BADGE_ACTIVE,
                   .flags = b->suspension ? REC_SUSPENDABLE : 0};
    const char *name = in.name ? in.name : c->title;
    const char *s[R_COUNT] = {id,       learner_id, graph_id(fw->graph), c->id, name, "",
                              out.json, out.jwt};
    size_t len[R_COUNT];
    for (int i = 0; i < R_COUNT; i++)
        len[i] = strlen(s[i]);
    size_t rec_len;
    if ((rec = rec_build(&h, s, len, &rec_len)) == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    key_id(&k, id);
    if ((rc = store_put(txn, STORE_DB_CREDENTIALS, &k, rec, rec_len, 0)) != 0 ||
        (rc = store_put(txn, STORE_DB_CRED_INDEX, &ik, id, strlen(id), 0)) != 0)
        goto out;
    *issued = true;
    const char *sp[R_COUNT] = {id, learner_id, graph_id(fw->graph), c->id, name, ""};
    info_from(info, &h, sp);
out:
    free(rec);
    json_decref(doc);
    cred_signed_free(&out);
    for (size_t i = 0; i < n_ev; i++)
        mastery__v1__evidence__free_unpacked(msgs[i], NULL);
    statuslist_destroy(&used);
    return rc;
}

/* ---- reads --------------------------------------------------------------------------------- */

int badges_get(badges_t *b, store_txn_t *txn, const char *id, badges_info_t *info,
               const char **json, size_t *json_len, const char **jwt, size_t *jwt_len)
{
    (void)b;
    store_key_t k;
    store_val_t v;
    rec_hdr_t h;
    const char *s[R_COUNT];
    size_t len[R_COUNT];
    key_id(&k, id);
    int rc = store_get(txn, STORE_DB_CREDENTIALS, &k, &v);
    if (rc != 0)
        return rc;
    if ((rc = rec_parse(&v, &h, s, len)) != 0)
        return rc;
    info_from(info, &h, s);
    if (json) {
        *json = s[R_JSON];
        *json_len = len[R_JSON];
    }
    if (jwt) {
        *jwt = s[R_JWT];
        *jwt_len = len[R_JWT];
    }
    return 0;
}

int badges_list(badges_t *b, store_txn_t *txn, const char *learner_id,
                int (*fn)(void *ctx, const badges_info_t *info), void *ctx)
{
    uint8_t lh[STORE_HASH_LEN];
    store_key_t prefix;
    store_iter_t it;
    store_val_t k, v;
    store_hash_id(learner_id, lh);
    store_key_reset(&prefix);
    store_key_bytes(&prefix, lh, STORE_HASH_LEN);
    int rc = store_iter_open(txn, STORE_DB_CRED_INDEX, &prefix, NULL, &it);
    if (rc != 0)
        return rc;
    while ((rc = store_iter_next(&it, &k, &v)) == 0) {
        char id[CRED_URN_UUID_MAX];
        badges_info_t info;
        if (v.len >= sizeof id) {
            rc = ERR_INTERNAL;
            break;
        }
        memcpy(id, v.data, v.len);
        id[v.len] = '\0';
        if ((rc = badges_get(b, txn, id, &info, NULL, NULL, NULL, NULL)) != 0) {
            rc = rc == ERR_NOT_FOUND ? ERR_INTERNAL : rc;
            break;
        }
        if ((rc = fn(ctx, &info)) != 0)
            break;
    }
    store_iter_close(&it);
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

/* ---- status -------------------------------------------------------------------------------- */

int badges_set_status(badges_t *b, store_txn_t *txn, const char *id, const char *purpose, bool set,
                      const char *reason, int64_t now, bool *changed, badges_info_t *info,
                      err_detail_t *d)
{
    bool revocation = strcmp(purpose, "revocation") == 0;
    *changed = false;
    if (!revocation && strcmp(purpose, "suspension") != 0)
        return err_set(d, ERR_INVALID, "set_credential_status.purpose",
                       "'%s' is not revocation or suspension", purpose);
    store_key_t k;
    store_val_t v;
    rec_hdr_t h;
    const char *s[R_COUNT];
    size_t len[R_COUNT];
    key_id(&k, id);
    int rc = store_get(txn, STORE_DB_CREDENTIALS, &k, &v);
    if (rc == ERR_NOT_FOUND)
        return err_set(d, ERR_NOT_FOUND, "set_credential_status.credential_id",
                       "no credential '%s'", id);
    if (rc != 0 || (rc = rec_parse(&v, &h, s, len)) != 0)
        return rc;
    badges_state_t next = (badges_state_t)h.state;
    char bit = revocation ? 'R' : 'S';
    if (revocation) {
        if (!set)
            return err_set(d, ERR_INVALID, "set_credential_status.set",
                           "revocation is final; a revoked credential cannot be restored");
        next = BADGE_REVOKED;
    } else {
        if (!(h.flags & REC_SUSPENDABLE))
            return err_set(d, ERR_INVALID, "set_credential_status.purpose",
                           "credential '%s' was issued without a suspension status entry "
                           "(set credential_suspension = 1 for new credentials)",
                           id);
        if (h.state == BADGE_REVOKED)
            return err_set(d, ERR_INVALID, "set_credential_status.credential_id",
                           "credential '%s' is revoked", id);
        next = set ? BADGE_SUSPENDED : BADGE_ACTIVE;
    }
    if (next == (badges_state_t)h.state) {
        info_from(info, &h, s);
        return 0; /* idempotent */
    }
    h.state = (uint8_t)next;
    h.changed_at = now;
    const char *ns[R_COUNT];
    memcpy(ns, s, sizeof ns);
    ns[R_REASON] = reason ? reason : "";
    len[R_REASON] = strlen(ns[R_REASON]);
    size_t rec_len;
    uint8_t *rec = rec_build(&h, ns, len, &rec_len);
    if (rec == NULL)
        return ERR_NOMEM;
    rc = store_put(txn, STORE_DB_CREDENTIALS, &k, rec, rec_len, 0);
    free(rec);
    if (rc != 0 || (rc = bits_set(b, txn, bit, h.index, set)) != 0)
        return rc;
    *changed = true;
    /* Re-read: the put may have moved the record's memory. */
    if ((rc = store_get(txn, STORE_DB_CREDENTIALS, &k, &v)) != 0 ||
        (rc = rec_parse(&v, &h, s, len)) != 0)
        return rc;
    info_from(info, &h, s);
    return 0;
}

int badges_status_list(badges_t *b, store_txn_t *txn, const char *purpose, int64_t now, char **json,
                       size_t *len, err_detail_t *d)
{
    int which = strcmp(purpose, "revocation") == 0   ? 0
                : strcmp(purpose, "suspension") == 0 ? 1
                                                     : -1;
    if (which < 0)
        return err_set(d, ERR_INVALID, "export_status_list.purpose",
                       "'%s' is not revocation or suspension", purpose);
    statuslist_t *l = NULL;
    json_t *doc = NULL;
    int rc = bits_load(b, txn, which == 0 ? 'R' : 'S', &l);
    statuslist_cred_t c = {b->list_url[which], b->did, purpose, now, 0};
    if (rc == 0)
        rc = statuslist_credential(l, &c, &doc, d);
    if (rc == 0)
        rc = secure(b, doc, now, json, len, d);
    json_decref(doc);
    statuslist_destroy(&l);
    return rc;
}

/* ---- issuer -------------------------------------------------------------------------------- */

int badges_issuer_info(badges_t *b, json_t **out, err_detail_t *d)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "did", b->did, "name", b->issuer_name, "url",
                          b->issuer_url, "email", b->issuer_email, "image", b->issuer_image);
    json_t *keys = json_array();
    uint32_t n = keyring_count(b->kr);
    const keys_t **all = calloc(n ? n : 1, sizeof *all);
    if (o == NULL || keys == NULL || all == NULL) {
        json_decref(o);
        json_decref(keys);
        free(all);
        return err_set(d, ERR_NOMEM, "issuer", "out of memory");
    }
    for (uint32_t i = 0; i < n; i++) {
        keyring_entry_t *e = keyring_at(b->kr, i);
        char vm[ISSUER_VM_ID_MAX] = "";
        all[i] = e->key;
        if (issuer_vm_id(e->key, b->did_web[0] ? b->did_web : NULL, vm, sizeof vm) != 0)
            vm[0] = '\0'; /* an RSA key under did:key has no verification method */
        json_array_append_new(keys, json_pack("{s:s, s:s, s:s, s:b, s:I}", "id", e->id, "type",
                                              e->alg == KEYS_RSA ? "RSA" : "Ed25519",
                                              "verification_method", vm, "current", e->current,
                                              "created_ms", (json_int_t)e->created_at));
    }
    json_object_set_new(o, "keys", keys);
    json_t *doc = NULL;
    int rc = 0;
    if (b->did_web[0])
        rc = issuer_did_document(b->did_web, all, n, &doc, d);
    free(all);
    if (rc != 0) {
        json_decref(o);
        return rc;
    }
    json_object_set_new(o, "did_document", doc ? doc : json_null());
    *out = o;
    return 0;
}

int badges_rotate(badges_t *b, int64_t now, err_detail_t *d)
{
    int rc = keyring_rotate(b->kr, now, d);
    if (rc == 0)
        rc = compute_did(b);
    return rc;
}

/* "did:" method ":" method-specific-id (W3C DID syntax, loosely: the id's characters). */
static bool did_syntax_ok(const char *did)
{
    if (strncmp(did, "did:", 4) != 0)
        return false;
    const char *p = did + 4;
    size_t m = 0;
    while (p[m] && (islower((unsigned char)p[m]) || isdigit((unsigned char)p[m])))
        m++;
    if (m == 0 || p[m] != ':' || p[m + 1] == '\0')
        return false;
    for (const char *q = p + m + 1; *q; q++)
        if (!(isalnum((unsigned char)*q) || strchr(".-_:%", *q)))
            return false;
    return true;
}

int badges_register_did(badges_t *b, store_txn_t *txn, const char *learner_id, const char *did,
                        err_detail_t *d)
{
    (void)b;
    if (strlen(did) > BADGES_DID_MAX || !did_syntax_ok(did))
        return err_set(d, ERR_INVALID, "register_learner_did.did",
                       "'%.64s' is not a DID (did:<method>:<id>, at most %d bytes)", did,
                       BADGES_DID_MAX);
    uint8_t lh[STORE_HASH_LEN];
    store_key_t k;
    store_hash_id(learner_id, lh);
    key_learner_did(&k, lh);
    return store_put(txn, STORE_DB_LEARNERS, &k, did, strlen(did), 0);
}
