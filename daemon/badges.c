#include "badges.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "clr.h"
#include "dataint_rdfc.h"
#include "graph.h"
#include "isotime.h"
#include "issuer.h"
#include "jsonld.h"
#include "records.h"
#include "statuslist.h"
#include "translog.h"
#include "wire.h"

#define BADGES_EVIDENCE_LISTED 100 /* evidence items named in one credential (the latest) */
#define BADGES_URL_MAX         1024
#define BADGES_DID_MAX         256

struct badges {
    char issuer_name[256], issuer_url[BADGES_URL_MAX], issuer_email[256];
    char issuer_image[BADGES_URL_MAX];
    char did_web[ISSUER_DID_MAX];     /* "did:web:..." or "" */
    char did[ISSUER_DID_MAX];         /* the issuer DID now */
    char status_base[BADGES_URL_MAX]; /* status_base_url without trailing slashes */
    bool suspension;
    uint32_t status_list_size;
    bool proof_rdfc, proof_jcs; /* which Data Integrity proofs badges and lists carry */
    bool jwt_rs256;             /* VC-JWTs signed RS256 with the RSA key (else EdDSA) */
    keyring_t *kr;
    cred_ctx_t *ctx;
    jsonld_t *jl; /* JSON-LD processor for eddsa-rdfc-2022 (caches processed contexts) */
};

keys_t *badges_log_key(badges_t *b)
{
    keyring_entry_t *ed = keyring_current(b->kr, KEYS_ED25519);
    return ed ? ed->key : NULL;
}

keys_t *badges_ed25519_key(badges_t *b, uint32_t i)
{
    for (uint32_t k = 0; k < keyring_count(b->kr); k++) {
        keyring_entry_t *e = keyring_at(b->kr, k);
        if (e->alg == KEYS_ED25519 && i-- == 0)
            return e->key;
    }
    return NULL;
}

/* ---- credential records (records.h owns the layout) ---------------------------------------- */

static void info_from(badges_info_t *info, const records_credential_t *c)
{
    info->id = c->s[RECORDS_CRED_ID];
    info->learner_id = c->s[RECORDS_CRED_LEARNER];
    info->framework_id = c->s[RECORDS_CRED_FRAMEWORK];
    info->competency_id = c->s[RECORDS_CRED_COMPETENCY];
    info->name = c->s[RECORDS_CRED_NAME];
    info->reason = c->s[RECORDS_CRED_REASON];
    info->revision = c->revision;
    info->status_index = c->status_index;
    info->status_list = c->status_list;
    info->issued_at = c->issued_at;
    info->changed_at = c->changed_at;
    info->state = (badges_state_t)c->state;
    info->suspendable = (c->flags & RECORDS_CRED_SUSPENDABLE) != 0;
}

/* ---- status lists ------------------------------------------------------------------------ */

/* The bitstring of a list that hands out `entries` indexes: never shorter than the spec's
 * minimum (herd privacy is the published list's length), so a small list is padded. */
static uint32_t list_bits(uint32_t entries)
{
    uint64_t n = ((uint64_t)entries + 7) / 8 * 8;
    return n < STATUSLIST_MIN_BITS ? STATUSLIST_MIN_BITS : (uint32_t)n;
}

static int bits_load(store_txn_t *txn, uint32_t n, uint32_t entries, char which, statuslist_t **out)
{
    store_val_t v;
    int rc = records_slist_bits_get(txn, n, which, &v);
    if (rc == ERR_NOT_FOUND)
        return statuslist_new(list_bits(entries), out);
    if (rc != 0)
        return rc;
    return statuslist_from_bytes(v.data, v.len, out);
}

static int bits_store(store_txn_t *txn, uint32_t n, char which, const statuslist_t *l)
{
    size_t len;
    const uint8_t *bytes = statuslist_bytes(l, &len);
    return records_slist_bits_put(txn, n, which, bytes, len);
}

static int bits_set(store_txn_t *txn, uint32_t n, uint32_t entries, char which, uint32_t index,
                    bool value)
{
    statuslist_t *l = NULL;
    int rc = bits_load(txn, n, entries, which, &l);
    if (rc == 0)
        rc = statuslist_set(l, index, value);
    if (rc == 0)
        rc = bits_store(txn, n, which, l);
    statuslist_destroy(&l);
    return rc;
}

/* A list's URL for a purpose: <base>/<purpose>/<n>, or <base>/<purpose> for the list that
 * existed before lists rolled over (its badges already name that URL). */
static void list_url(char *out, size_t cap, const char *base, uint32_t flags, uint32_t n,
                     const char *purpose)
{
    if (flags & RECORDS_SLIST_UNNUMBERED)
        snprintf(out, cap, "%.900s/%s", base, purpose);
    else
        snprintf(out, cap, "%.900s/%s/%u", base, purpose, n);
}

/* Draws an unused index of list n (below its entries) and marks it used. ERR_LIMIT: full. */
static int list_take(store_txn_t *txn, uint32_t n, uint32_t entries, uint32_t *index,
                     err_detail_t *d)
{
    statuslist_t *used = NULL;
    int rc = bits_load(txn, n, entries, RECORDS_BITS_USED, &used);
    if (rc == 0)
        rc = statuslist_pick_below(used, entries, index, d);
    if (rc == 0)
        rc = statuslist_set(used, *index, true);
    if (rc == 0)
        rc = bits_store(txn, n, RECORDS_BITS_USED, used);
    statuslist_destroy(&used);
    return rc;
}

/*
 * The list a new badge goes on, and its index there: the newest list, unless it belongs to
 * another issuer DID (a did:key rotation: a list is signed as the issuer its badges name),
 * started under another status_base_url, or is full; then a new list, numbered next. So
 * issuance never waits for a list, and a list never mixes issuers. The URLs (revocation,
 * suspension) are written to urls[2] (BADGES_URL_MAX each).
 */
static int list_for_issue(badges_t *b, store_txn_t *txn, int64_t now, uint32_t *list,
                          uint32_t *index, char urls[2][BADGES_URL_MAX], err_detail_t *d)
{
    uint32_t last = 0;
    records_slist_t l;
    int rc = records_slist_last(txn, &last);
    if (rc != 0 && rc != ERR_NOT_FOUND)
        return rc;
    if (rc == 0) {
        if ((rc = records_slist_get(txn, last, &l)) != 0)
            return rc;
        if (strcmp(l.did, b->did) == 0 && strcmp(l.base, b->status_base) == 0) {
            uint32_t flags = l.flags, entries = l.entries; /* l is borrowed: the take writes */
            rc = list_take(txn, last, entries, index, d);
            if (rc == 0) {
                *list = last;
                list_url(urls[0], BADGES_URL_MAX, b->status_base, flags, last, "revocation");
                list_url(urls[1], BADGES_URL_MAX, b->status_base, flags, last, "suspension");
                return 0;
            }
            if (rc != ERR_LIMIT)
                return rc;
        }
    }
    l = (records_slist_t){0, b->status_list_size, now, b->did, b->status_base};
    *list = last + 1;
    if ((rc = records_slist_put(txn, *list, &l)) != 0 ||
        (rc = list_take(txn, *list, l.entries, index, d)) != 0)
        return rc;
    list_url(urls[0], BADGES_URL_MAX, b->status_base, 0, *list, "revocation");
    list_url(urls[1], BADGES_URL_MAX, b->status_base, 0, *list, "suspension");
    return 0;
}

int badges_open_store(badges_t *b, store_txn_t *txn, int64_t now, bool *migrated)
{
    static const char which[] = {RECORDS_BITS_USED, RECORDS_BITS_REVOKED, RECORDS_BITS_SUSPENDED};
    store_val_t v;
    records_slist_t l;
    *migrated = false;
    int rc = records_slist_get(txn, 1, &l);
    if (rc != ERR_NOT_FOUND)
        return rc;
    if ((rc = records_bits_get(txn, RECORDS_BITS_USED, &v)) != 0)
        return rc == ERR_NOT_FOUND ? 0 : rc;
    /* A store from before lists rolled over: its one list becomes list 1, keeping its URL
     * (unnumbered) and size; it is signed as the issuer DID of today. */
    l = (records_slist_t){RECORDS_SLIST_UNNUMBERED, (uint32_t)(v.len * 8), now, b->did,
                          b->status_base};
    if ((rc = records_slist_put(txn, 1, &l)) != 0)
        return rc;
    for (size_t i = 0; i < sizeof which; i++) {
        rc = records_bits_get(txn, which[i], &v);
        if (rc == ERR_NOT_FOUND)
            continue;
        if (rc != 0)
            return rc;
        /* Copied first: a put may move the page a borrowed value is on. */
        void *copy = malloc(v.len ? v.len : 1);
        if (copy == NULL)
            return ERR_NOMEM;
        memcpy(copy, v.data, v.len);
        rc = records_slist_bits_put(txn, 1, which[i], copy, v.len);
        free(copy);
        if (rc != 0 || (rc = records_bits_del(txn, which[i])) != 0)
            return rc;
    }
    *migrated = true;
    return 0;
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
    snprintf(b->status_base, sizeof b->status_base, "%.*s", (int)blen, base);
    b->suspension = conf->suspension;
    if (conf->status_list_size < 8 || conf->status_list_size > STATUSLIST_MAX_BITS) {
        rc = err_set(d, ERR_INVALID, "status_list_size", "must be 8 to %u", STATUSLIST_MAX_BITS);
        goto fail;
    }
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
 * The key that signs as a given issuer DID (a status list's): for a did:key, the keyring's
 * Ed25519 key that is that DID, current or retired (retired keys sign nothing else); for a
 * did:web, the current key, which its DID document lists beside the old ones.
 */
static int signer_for(badges_t *b, const char *did, keyring_entry_t **ed, char *vm, size_t cap,
                      err_detail_t *d)
{
    if (strncmp(did, "did:key:", 8) != 0) {
        *ed = keyring_current(b->kr, KEYS_ED25519);
        return *ed ? issuer_vm_id((*ed)->key, did, vm, cap) : ERR_INTERNAL;
    }
    for (uint32_t i = 0; i < keyring_count(b->kr); i++) {
        keyring_entry_t *e = keyring_at(b->kr, i);
        char kd[ISSUER_DID_MAX];
        if (e->alg == KEYS_ED25519 && issuer_did(e->key, NULL, kd, sizeof kd) == 0 &&
            strcmp(kd, did) == 0) {
            *ed = e;
            return issuer_vm_id(e->key, NULL, vm, cap);
        }
    }
    return err_set(d, ERR_NOT_FOUND, "status_list",
                   "the key of %.120s, the issuer this list's badges name, is not in the keyring: "
                   "restore the key directory that goes with this store",
                   did);
}

/*
 * Adds the configured Data Integrity proofs to an unsecured document and returns its
 * canonical text: eddsa-rdfc-2022 (what wallets and the 1EdTech validator accept) and/or
 * eddsa-jcs-2022; with both, "proof" is a proof set of two independent proofs.
 */
static int secure_as(badges_t *b, keyring_entry_t *ed, const char *vm, json_t *doc, int64_t now,
                     char **text, size_t *len, err_detail_t *d)
{
    char created[32];
    json_t *rdfc_proof = NULL;
    int rc;
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

/* secure_as with the current key, as the issuer DID of today: for badges. */
static int secure(badges_t *b, json_t *doc, int64_t now, char **text, size_t *len, err_detail_t *d)
{
    keyring_entry_t *ed;
    char vm[ISSUER_VM_ID_MAX];
    int rc = signer_get(b, &ed, vm, sizeof vm);
    return rc ? rc : secure_as(b, ed, vm, doc, now, text, len, d);
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

/* The evidence that made the mastery: the latest BADGES_EVIDENCE_LISTED items, not retracted,
 * named by their entries in the transparency log ("urn:tlog:<leaf index>:<leaf hash>"), so
 * an auditor can prove each one was logged, unchanged, before the badge. Nothing of the item
 * itself (the tool's id, its URL or narrative: free text that may name the learner) goes
 * into the public badge. Items stored before the log get a name with their date only. */
typedef struct evidence_ref {
    char url[96];  /* urn:tlog:... or "" */
    char name[64]; /* "Log entry N" / "Evidence observed ..." */
} evidence_ref_t;

static int evidence_collect(store_txn_t *txn, const uint8_t *learner_hash, const uint8_t *comp_hash,
                            evidence_ref_t *refs, size_t *n)
{
    records_evidence_iter_t it;
    records_evidence_t r;
    *n = 0;
    int rc = records_evidence_iter_open(txn, learner_hash, comp_hash, &it);
    if (rc != 0)
        return rc;
    size_t seen = 0;
    /* A ring of the latest items (slot seen % max) of (logged, index, observed_at). */
    struct {
        bool logged;
        uint64_t index;
        int64_t at;
    } ring[BADGES_EVIDENCE_LISTED];
    while ((rc = records_evidence_iter_next(&it, &r)) == 0) {
        if (r.retracted)
            continue;
        size_t slot = seen % BADGES_EVIDENCE_LISTED;
        ring[slot].logged = r.logged;
        ring[slot].index = r.log_index;
        ring[slot].at = r.observed_at;
        seen++;
    }
    records_evidence_iter_close(&it);
    if (rc != ERR_NOT_FOUND)
        return rc;
    *n = seen < BADGES_EVIDENCE_LISTED ? seen : BADGES_EVIDENCE_LISTED;
    size_t first = seen > BADGES_EVIDENCE_LISTED ? seen % BADGES_EVIDENCE_LISTED : 0;
    for (size_t i = 0; i < *n; i++) { /* in observed order */
        size_t slot = (first + i) % BADGES_EVIDENCE_LISTED;
        evidence_ref_t *e = &refs[i];
        if (!ring[slot].logged) {
            char at[40] = "";
            isotime_format_s(ring[slot].at, at, sizeof at);
            snprintf(e->name, sizeof e->name, "Evidence observed %s", at);
            e->url[0] = '\0';
            continue;
        }
        const void *entry;
        size_t len;
        tlog_hash_t leaf;
        if ((rc = translog_entry(txn, ring[slot].index, &entry, &len, &leaf)) != 0)
            return rc == ERR_NOT_FOUND ? ERR_INTERNAL : rc;
        char hex[2 * TLOG_HASH_SIZE + 1];
        size_t hex_len;
        codec_hex_encode(leaf.b, sizeof leaf.b, hex, sizeof hex, &hex_len);
        snprintf(e->url, sizeof e->url, "urn:tlog:%llu:%s", (unsigned long long)ring[slot].index,
                 hex);
        snprintf(e->name, sizeof e->name, "Log entry %llu", (unsigned long long)ring[slot].index);
    }
    return 0;
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
    store_hash_id(learner_id, lh);
    records_cred_key_t ik = {lh, fw->hash, fw->comp_hash[ci], fw->revision};
    static char id[CRED_URN_UUID_MAX]; /* info->id points here until the next issuance */
    int rc = records_cred_index_get(txn, &ik, id, sizeof id);
    if (rc == 0)
        return 0; /* issued before for this revision: never twice */
    if (rc != ERR_NOT_FOUND)
        return rc;

    char did[BADGES_DID_MAX + 1] = "", vm[ISSUER_VM_ID_MAX];
    char urls[2][BADGES_URL_MAX];
    uint32_t index, list;
    evidence_ref_t refs[BADGES_EVIDENCE_LISTED];
    cred_evidence_t ev[BADGES_EVIDENCE_LISTED];
    size_t n_ev = 0;
    cred_signed_t out = {0};
    keyring_entry_t *ed;
    json_t *doc = NULL;
    if ((rc = cred_urn_uuid_random(id, sizeof id)) != 0 ||
        (rc = list_for_issue(b, txn, now, &list, &index, urls, d)) != 0)
        goto out;
    /* A stored DID too long for the buffer is ignored, as before: badges name the learner
     * by id then. */
    records_learner_t ll;
    records_learner_init(&ll, learner_id);
    rc = records_did_get(txn, &ll, did, sizeof did);
    records_learner_forget(&ll);
    if (rc != 0 && rc != ERR_NOT_FOUND && rc != ERR_INTERNAL)
        goto out;
    if ((rc = evidence_collect(txn, lh, fw->comp_hash[ci], refs, &n_ev)) != 0)
        goto out;
    for (size_t i = 0; i < n_ev; i++)
        ev[i] = (cred_evidence_t){refs[i].name, refs[i].url[0] ? refs[i].url : NULL, NULL};

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
    in.revocation = (cred_status_t){urls[0], index};
    if (b->suspension)
        in.suspension = (cred_status_t){urls[1], index};
    if ((rc = signer_get(b, &ed, vm, sizeof vm)) != 0 || (rc = cred_build(&in, &doc, d)) != 0 ||
        (rc = sign_jwt(b, doc, ed->key, vm, &out, d)) != 0 ||
        (rc = secure(b, doc, now, &out.json, &out.json_len, d)) != 0)
        goto out;

    const char *name = in.name ? in.name : c->title;
    records_credential_t rec = {
        .issued_at = now,
        .changed_at = now,
        .status_index = index,
        .status_list = list,
        .revision = fw->revision,
        .state = BADGE_ACTIVE,
        .flags = b->suspension ? RECORDS_CRED_SUSPENDABLE : 0,
        .s = {id, learner_id, graph_id(fw->graph), c->id, name, "", out.json, out.jwt},
    };
    for (int i = 0; i < RECORDS_CRED_STRINGS; i++)
        rec.len[i] = strlen(rec.s[i]);
    if ((rc = records_credential_put(txn, &rec)) != 0 ||
        (rc = records_cred_index_put(txn, &ik, id)) != 0)
        goto out;
    *issued = true;
    rec.s[RECORDS_CRED_JSON] = rec.s[RECORDS_CRED_JWT] = NULL; /* freed below */
    info_from(info, &rec);
out:
    json_decref(doc);
    cred_signed_free(&out);
    return rc;
}

/* ---- reads --------------------------------------------------------------------------------- */

int badges_get(badges_t *b, store_txn_t *txn, const char *id, badges_info_t *info,
               const char **json, size_t *json_len, const char **jwt, size_t *jwt_len)
{
    (void)b;
    records_credential_t c;
    int rc = records_credential_get(txn, id, &c);
    if (rc != 0)
        return rc;
    info_from(info, &c);
    if (json) {
        *json = c.s[RECORDS_CRED_JSON];
        *json_len = c.len[RECORDS_CRED_JSON];
    }
    if (jwt) {
        *jwt = c.s[RECORDS_CRED_JWT];
        *jwt_len = c.len[RECORDS_CRED_JWT];
    }
    return 0;
}

int badges_iter_open(badges_t *b, store_txn_t *txn, const char *learner_id, badges_iter_t *it)
{
    uint8_t lh[STORE_HASH_LEN];
    store_hash_id(learner_id, lh);
    it->b = b;
    it->txn = txn;
    return records_cred_iter_open(txn, lh, &it->it);
}

int badges_iter_next(badges_iter_t *it, badges_info_t *info)
{
    char id[CRED_URN_UUID_MAX];
    int rc = records_cred_iter_next(&it->it, id, sizeof id);
    if (rc != 0)
        return rc;
    rc = badges_get(it->b, it->txn, id, info, NULL, NULL, NULL, NULL);
    return rc == ERR_NOT_FOUND ? ERR_INTERNAL : rc; /* an index entry without its credential */
}

void badges_iter_close(badges_iter_t *it)
{
    records_cred_iter_close(&it->it);
}

/* ---- status -------------------------------------------------------------------------------- */

int badges_set_status(badges_t *b, store_txn_t *txn, const char *id, const char *purpose, bool set,
                      const char *reason, int64_t now, bool *changed, badges_info_t *info,
                      err_detail_t *d)
{
    (void)b; /* a credential names its list; the list record knows its size */
    bool revocation = strcmp(purpose, "revocation") == 0;
    *changed = false;
    if (!revocation && strcmp(purpose, "suspension") != 0)
        return err_set(d, ERR_INVALID, "set_credential_status.purpose",
                       "'%s' is not revocation or suspension", purpose);
    records_credential_t c;
    int rc = records_credential_get(txn, id, &c);
    if (rc == ERR_NOT_FOUND)
        return err_set(d, ERR_NOT_FOUND, "set_credential_status.credential_id",
                       "no credential '%s'", id);
    if (rc != 0)
        return rc;
    badges_state_t next = (badges_state_t)c.state;
    char bit = revocation ? RECORDS_BITS_REVOKED : RECORDS_BITS_SUSPENDED;
    if (revocation) {
        if (!set)
            return err_set(d, ERR_INVALID, "set_credential_status.set",
                           "revocation is final; a revoked credential cannot be restored");
        next = BADGE_REVOKED;
    } else {
        if (!(c.flags & RECORDS_CRED_SUSPENDABLE))
            return err_set(d, ERR_INVALID, "set_credential_status.purpose",
                           "credential '%s' was issued without a suspension status entry "
                           "(set credential_suspension = 1 for new credentials)",
                           id);
        if (c.state == BADGE_REVOKED)
            return err_set(d, ERR_INVALID, "set_credential_status.credential_id",
                           "credential '%s' is revoked", id);
        next = set ? BADGE_SUSPENDED : BADGE_ACTIVE;
    }
    if (next == (badges_state_t)c.state) {
        info_from(info, &c);
        return 0; /* idempotent */
    }
    c.state = (uint8_t)next;
    c.changed_at = now;
    c.s[RECORDS_CRED_REASON] = reason ? reason : "";
    c.len[RECORDS_CRED_REASON] = strlen(c.s[RECORDS_CRED_REASON]);
    /* The record's strings point into the stored value, which the put replaces: the put
     * copies them into a new buffer before it writes. */
    uint32_t list = c.status_list, index = c.status_index;
    records_slist_t l;
    if ((rc = records_credential_put(txn, &c)) != 0 ||
        (rc = records_slist_get(txn, list, &l)) != 0 ||
        (rc = bits_set(txn, list, l.entries, bit, index, set)) != 0)
        return rc == ERR_NOT_FOUND ? ERR_INTERNAL : rc; /* a credential on no list: damage */
    *changed = true;
    /* Re-read: the put may have moved the record's memory. */
    if ((rc = records_credential_get(txn, id, &c)) != 0)
        return rc;
    info_from(info, &c);
    return 0;
}

int badges_status_list(badges_t *b, store_txn_t *txn, const char *purpose, uint32_t n, int64_t now,
                       badges_list_doc_t *out, err_detail_t *d)
{
    int which = strcmp(purpose, "revocation") == 0   ? 0
                : strcmp(purpose, "suspension") == 0 ? 1
                                                     : -1;
    memset(out, 0, sizeof *out);
    if (which < 0)
        return err_set(d, ERR_INVALID, "export_status_list.purpose",
                       "'%s' is not revocation or suspension", purpose);
    uint32_t last = 0;
    records_slist_t l;
    int rc = records_slist_last(txn, &last);
    if (rc != 0 && rc != ERR_NOT_FOUND)
        return rc;
    if (n == 0)
        n = last;
    if (n == 0) { /* nothing issued yet: the empty list the first badge will go on */
        n = 1;
        l = (records_slist_t){0, b->status_list_size, now, b->did, b->status_base};
    } else if (n > last) {
        return err_set(d, ERR_NOT_FOUND, "export_status_list.list",
                       "no status list %u (there are %u)", n, last);
    } else if ((rc = records_slist_get(txn, n, &l)) != 0) {
        return rc == ERR_NOT_FOUND ? ERR_INTERNAL : rc;
    }
    statuslist_t *bits = NULL;
    json_t *doc = NULL;
    keyring_entry_t *ed = NULL;
    char vm[ISSUER_VM_ID_MAX];
    out->list = n;
    out->lists = last;
    list_url(out->url, sizeof out->url, l.base, l.flags, n, purpose);
    snprintf(out->issuer, sizeof out->issuer, "%s", l.did);
    statuslist_cred_t c = {out->url, out->issuer, purpose, now, 0};
    if ((rc = signer_for(b, out->issuer, &ed, vm, sizeof vm, d)) == 0 &&
        (rc = bits_load(txn, n, l.entries,
                        which == 0 ? RECORDS_BITS_REVOKED : RECORDS_BITS_SUSPENDED, &bits)) == 0 &&
        (rc = statuslist_credential(bits, &c, &doc, d)) == 0)
        rc = secure_as(b, ed, vm, doc, now, &out->json, &out->len, d);
    json_decref(doc);
    statuslist_destroy(&bits);
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
    records_learner_t l;
    records_learner_init(&l, learner_id);
    int rc = records_did_put(txn, &l, did);
    records_learner_forget(&l);
    return rc;
}

/* ---- transcripts (CLR 2.0) ----------------------------------------------------------------- */

/* One embedded credential: what it is for, and its achievement's id (borrowed from doc). */
typedef struct tr_item {
    json_t *doc;
    char *framework_id;
    char *competency_id;
    const char *ach_id;
} tr_item_t;

typedef struct tr_list {
    tr_item_t *items;
    size_t n, cap;
    clr_association_t *assoc;
    size_t n_assoc, cap_assoc;
} tr_list_t;

static void tr_free(tr_list_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        json_decref(l->items[i].doc);
        free(l->items[i].framework_id);
        free(l->items[i].competency_id);
    }
    free(l->items);
    free(l->assoc);
    memset(l, 0, sizeof *l);
}

static int tr_add_assoc(tr_list_t *l, const char *type, const char *src, const char *dst)
{
    if (strcmp(src, dst) == 0)
        return 0;
    for (size_t i = 0; i < l->n_assoc; i++)
        if (strcmp(l->assoc[i].type, type) == 0 && strcmp(l->assoc[i].source_id, src) == 0 &&
            strcmp(l->assoc[i].target_id, dst) == 0)
            return 0; /* two revisions' badges can share an achievement id */
    if (l->n_assoc == l->cap_assoc) {
        size_t cap = l->cap_assoc ? l->cap_assoc * 2 : 16;
        clr_association_t *g = realloc(l->assoc, cap * sizeof *g);
        if (g == NULL)
            return ERR_NOMEM;
        l->assoc = g;
        l->cap_assoc = cap;
    }
    l->assoc[l->n_assoc++] = (clr_association_t){type, src, dst};
    return 0;
}

/* Every credential j of competency `other` in the same framework as item i gets an
 * association `type` from j's achievement (source) to i's (target). */
static int tr_link(tr_list_t *l, size_t i, const char *other, const char *type)
{
    for (size_t j = 0; j < l->n; j++) {
        if (strcmp(l->items[j].framework_id, l->items[i].framework_id) != 0 ||
            strcmp(l->items[j].competency_id, other) != 0)
            continue;
        int rc = tr_add_assoc(l, type, l->items[j].ach_id, l->items[i].ach_id);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* precedes: a prerequisite precedes what requires it; isChildOf: a rolled-up competency is a
 * child of its roll-up. Read from each framework's current revision. */
static int tr_associations(tr_list_t *l, const catalog_t *cat)
{
    int rc;
    for (size_t i = 0; i < l->n; i++) {
        const catalog_fw_t *fw = catalog_find(cat, l->items[i].framework_id);
        uint32_t ci;
        if (fw == NULL || graph_find(fw->graph, l->items[i].competency_id, &ci) != 0)
            continue; /* a competency the current revision dropped: no edges to state */
        const graph_comp_t *c = graph_comp(fw->graph, ci);
        for (uint32_t k = 0; k < c->n_requires; k++)
            if ((rc = tr_link(l, i, graph_comp(fw->graph, c->requires[k])->id, "precedes")) != 0)
                return rc;
        for (uint32_t k = 0; k < c->n_children; k++)
            if ((rc = tr_link(l, i, graph_comp(fw->graph, c->children[k])->id, "isChildOf")) != 0)
                return rc;
    }
    return 0;
}

/* The learner's active credentials (of framework_id when given), parsed. */
static int tr_collect(badges_t *b, store_txn_t *txn, const char *learner_id,
                      const char *framework_id, tr_list_t *l, err_detail_t *d)
{
    badges_iter_t it;
    badges_info_t info;
    int rc = badges_iter_open(b, txn, learner_id, &it);
    if (rc != 0)
        return rc;
    while ((rc = badges_iter_next(&it, &info)) == 0) {
        if (info.state != BADGE_ACTIVE ||
            (framework_id != NULL && strcmp(info.framework_id, framework_id) != 0))
            continue;
        if (l->n == CLR_CREDENTIALS_MAX) {
            rc = err_set(d, ERR_INVALID, "issue_transcript.learner_id",
                         "the learner has more than %d active credentials: ask for one "
                         "framework's transcript",
                         CLR_CREDENTIALS_MAX);
            break;
        }
        const char *json;
        size_t len;
        badges_info_t again;
        if ((rc = badges_get(b, txn, info.id, &again, &json, &len, NULL, NULL)) != 0)
            break;
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 16;
            tr_item_t *g = realloc(l->items, cap * sizeof *g);
            if (g == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            l->items = g;
            l->cap = cap;
        }
        tr_item_t *t = &l->items[l->n];
        *t = (tr_item_t){json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL),
                         strdup(again.framework_id), strdup(again.competency_id), NULL};
        l->n++;
        if (t->doc == NULL) {
            rc = err_set(d, ERR_DATA_LOSS, "store", "credential %.64s: its stored JSON is damaged",
                         again.id);
            break;
        }
        if (t->framework_id == NULL || t->competency_id == NULL) {
            rc = ERR_NOMEM;
            break;
        }
        t->ach_id = json_string_value(json_object_get(
            json_object_get(json_object_get(t->doc, "credentialSubject"), "achievement"), "id"));
        if (t->ach_id == NULL) {
            rc = err_set(d, ERR_DATA_LOSS, "store",
                         "credential %.64s: its stored JSON names no achievement", again.id);
            break;
        }
    }
    badges_iter_close(&it);
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

int badges_transcript(badges_t *b, store_txn_t *txn, const catalog_t *cat, const char *learner_id,
                      const char *framework_id, int64_t now, badges_transcript_t *out,
                      err_detail_t *d)
{
    memset(out, 0, sizeof *out);
    if (framework_id != NULL && framework_id[0] == '\0')
        framework_id = NULL;
    const catalog_fw_t *fw = NULL;
    if (framework_id != NULL && (fw = catalog_find(cat, framework_id)) == NULL)
        return err_set(d, ERR_NOT_FOUND, "issue_transcript.framework_id", "no framework '%s'",
                       framework_id);
    tr_list_t l = {0};
    json_t *doc = NULL;
    const json_t **creds = NULL;
    char did[BADGES_DID_MAX + 1] = "", desc[512], when[ISOTIME_BUFSZ];
    uint8_t lh[STORE_HASH_LEN];
    int rc = tr_collect(b, txn, learner_id, framework_id, &l, d);
    if (rc != 0)
        goto out;
    if (l.n == 0) {
        rc = err_set(d, ERR_NOT_FOUND, "issue_transcript.learner_id",
                     "the learner has no active credential%s%s", fw ? " in " : "",
                     fw ? framework_id : "");
        goto out;
    }
    if ((rc = tr_associations(&l, cat)) != 0)
        goto out;
    store_hash_id(learner_id, lh);
    records_learner_t ll;
    records_learner_init(&ll, learner_id);
    rc = records_did_get(txn, &ll, did, sizeof did);
    records_learner_forget(&ll);
    if (rc != 0 && rc != ERR_NOT_FOUND && rc != ERR_INTERNAL)
        goto out;
    if ((creds = calloc(l.n, sizeof *creds)) == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < l.n; i++)
        creds[i] = l.items[i].doc;
    if ((rc = isotime_format_s(now, when, sizeof when)) != 0 ||
        (rc = cred_urn_uuid_random(out->id, sizeof out->id)) != 0)
        goto out;
    if (fw)
        snprintf(desc, sizeof desc,
                 "Every achievement credential %.200s awarded to this learner in %.200s, as "
                 "of %.10s.",
                 b->issuer_name, graph_title(fw->graph), when);
    else
        snprintf(desc, sizeof desc,
                 "Every achievement credential %.200s awarded to this learner, as of %.10s.",
                 b->issuer_name, when);
    clr_input_t in = {
        .id = out->id,
        .issuer = {b->did, b->issuer_name, b->issuer_url, b->issuer_email, b->issuer_image},
        .valid_from_ms = now,
        .name = "Comprehensive Learner Record",
        .description = desc,
        .learner_did = did[0] ? did : NULL,
        .learner_id = learner_id,
        .credentials = creds,
        .n_credentials = l.n,
        .associations = l.assoc,
        .n_associations = l.n_assoc,
    };
    if ((rc = clr_build(&in, &doc, d)) != 0)
        goto out;
    if ((rc = secure(b, doc, now, &out->json, &out->len, d)) == ERR_LIMIT)
        rc = err_set(d, ERR_INVALID, "issue_transcript.learner_id",
                     "a transcript of %zu credentials is too large to sign (over %u bytes, or "
                     "too many statements): ask for one framework's transcript",
                     l.n, CRED_TEXT_MAX);
    if (rc != 0)
        goto out;
    out->credentials = (uint32_t)l.n;
    out->associations = (uint32_t)l.n_assoc;
out:
    if (rc != 0) {
        free(out->json);
        out->json = NULL;
    }
    json_decref(doc);
    free(creds);
    tr_free(&l);
    return rc;
}

/* ---- erasure receipts (issue 16) ----------------------------------------------------------- */

int badges_erasure_receipt(badges_t *b, const badges_receipt_t *r, char **json, size_t *len,
                           err_detail_t *d)
{
    char id[CRED_URN_UUID_MAX], at[40], vm[ISSUER_VM_ID_MAX];
    keyring_entry_t *ed;
    int rc = cred_urn_uuid_random(id, sizeof id);
    if (rc == 0)
        rc = isotime_format_s(r->erased_at, at, sizeof at);
    if (rc == 0)
        rc = signer_get(b, &ed, vm, sizeof vm);
    if (rc != 0)
        return err_set(d, rc, "receipt", "cannot prepare the erasure receipt");
    json_t *scope = json_pack("{s:I, s:I, s:I, s:I}", "evidence", (json_int_t)r->evidence,
                              "records", (json_int_t)r->records, "credentialsRevoked",
                              (json_int_t)r->revoked, "credentialsKept", (json_int_t)r->kept);
    json_t *subject =
        json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", "LearnerErasure", "learnerCommitment",
                  r->commitment_hex, "commitmentSalt", r->salt_hex, "erasedAt", at, "scope", scope);
    if (subject != NULL && r->request_ref[0])
        json_object_set_new(subject, "requestRef", json_string(r->request_ref));
    if (subject != NULL && r->reason[0])
        json_object_set_new(subject, "reason", json_string(r->reason));
    if (subject != NULL && r->log_origin != NULL)
        json_object_set_new(subject, "log",
                            json_pack("{s:s, s:I, s:s}", "origin", r->log_origin, "index",
                                      (json_int_t)r->log_index, "leafHash", r->leaf_hex));
    json_t *doc = subject ? json_pack("{s:[s], s:[s,s], s:s, s:s, s:s, s:o}", "@context",
                                      "https://www.w3.org/ns/credentials/v2", "type",
                                      "VerifiableCredential", "ErasureReceipt", "id", id, "issuer",
                                      b->did, "validFrom", at, "credentialSubject", subject)
                          : NULL;
    if (doc == NULL)
        return err_set(d, ERR_NOMEM, "receipt", "out of memory");
    rc = cred_sign_di(b->ctx, doc, ed->key, vm, r->erased_at, d);
    if (rc == 0)
        rc = cred_text(b->ctx, doc, json, len, d);
    json_decref(doc);
    return rc;
}
