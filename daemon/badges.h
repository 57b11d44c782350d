/*
 * badges: the credentials this daemon issues. Issuance when a competency with an
 * `achievement` becomes MASTERED (inside the same write transaction as the mastery), their
 * storage, revocation and suspension (W3C Bitstring Status List), the status list
 * credentials, the issuer's identity (did:key or did:web, profile, keys) and learners' DIDs.
 *
 * Calls: cred (documents and proofs), statuslist, issuer (DIDs), keyring (the signing keys:
 * only handles; private bytes stay in keys), records (every stored layout). It reads evidence
 * records (the packed Evidence messages the handler stores) to list the evidence that made a
 * mastery. The handler calls it for each mastery the engine returns; it calls nothing above.
 *
 * Every credential is issued once per (learner, framework revision, competency): a mastery is
 * sticky, and the index makes a second mastery event (after an override withdrawal, say) a
 * no-op. A framework change never revokes anything. Status indexes are drawn at random from
 * the unused ones of the newest status list (herd privacy). Lists are numbered; each belongs
 * to one issuer DID and holds status_list_size entries (its published bitstring is never
 * shorter than 131 072 bits). A new list starts when the newest is full, or belongs to
 * another DID (a did:key issuer after a key rotation), or to another status_base_url: so
 * issuance never blocks, and each list is signed as the issuer its badges name.
 *
 * Stored (layouts in records.h): credentials (id -> record with the signed JSON and the JWT),
 * cred_index (learner-first: list by learner, and the once-only check), status (per list:
 * its issuer and URL base, and 'U' used, 'R' revoked, 'S' suspended bitstrings). Learner DIDs:
 * learners H(learner) 'D'.
 */
#ifndef MASTERY_BADGES_H
#define MASTERY_BADGES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "cred.h"
#include "err.h"
#include "keyring.h"
#include "records.h"
#include "store.h"

typedef struct badges badges_t;

typedef struct badges_conf {
    const char *issuer_name; /* the issuer Profile; name required */
    const char *issuer_url;  /* "" to leave out */
    const char *issuer_email;
    const char *issuer_image;
    const char *did_web;         /* a domain ("school.example"): did:web; "": did:key */
    const char *status_base_url; /* lists live at <base>/<purpose> */
    bool suspension;             /* credentials also carry a suspension entry */
    uint32_t status_list_size;   /* bits per list */
    const char *proofs;          /* "rdfc" (eddsa-rdfc-2022), "jcs" (eddsa-jcs-2022), or
                                    "rdfc,jcs" (both, one proof set); NULL: "rdfc" */
    const char *jwt_alg;         /* "EdDSA" (Ed25519 key) or "RS256" (RSA key; needs did:web,
                                    since a did:key names no RSA key); NULL: "EdDSA" */
} badges_conf_t;

typedef enum badges_state {
    BADGE_ACTIVE = 0,
    BADGE_REVOKED = 1,
    BADGE_SUSPENDED = 2,
} badges_state_t;

/* A stored credential's facts. Strings borrowed from the store: valid until the next write
 * in the transaction or its end. */
typedef struct badges_info {
    const char *id;
    const char *learner_id;
    const char *framework_id;
    const char *competency_id;
    const char *name;   /* the achievement's name */
    const char *reason; /* why revoked/suspended; "" */
    uint32_t revision;
    uint32_t status_index;
    uint32_t status_list; /* the list it is on (1, 2, ...) */
    int64_t issued_at;
    int64_t changed_at;
    badges_state_t state;
    bool suspendable; /* carries a suspension entry */
} badges_info_t;

/*
 * Creates the credential service over kr (borrowed; outlives it). Validates conf (the did:web
 * domain, the base URL). Caller owns *out; badges_destroy(). Returns 0 or ERR_INVALID.
 */
int badges_new(const badges_conf_t *conf, keyring_t *kr, badges_t **out, err_detail_t *detail);
void badges_destroy(badges_t **b);

/* The issuer DID now (did:web, or did:key of the current Ed25519 key). Borrowed. */
const char *badges_issuer_did(const badges_t *b);

/* The key that signs the transparency log's checkpoints: the current Ed25519 key (borrowed
 * from the keyring; changes on rotation). */
keys_t *badges_log_key(badges_t *b);

/* Every Ed25519 key of the issuer, oldest first (checkpoints signed before a rotation verify
 * with an older one): the i-th, or NULL past the last. Borrowed. */
keys_t *badges_ed25519_key(badges_t *b, uint32_t i);

/*
 * Issues the credential for a mastery, if competency ci of fw has an achievement and none was
 * issued for (learner, fw revision, competency). *issued is set when one was; then *info
 * describes it. Returns 0 or an error (store, signing; ERR_LIMIT when the status list is
 * full): the caller fails the transaction, since the mastery must not commit without it.
 */
int badges_on_mastered(badges_t *b, store_txn_t *txn, const catalog_fw_t *fw, uint32_t ci,
                       const char *learner_id, int64_t now, bool *issued, badges_info_t *info,
                       err_detail_t *detail);

/* A credential by id: 0, or ERR_NOT_FOUND. json/jwt (optional) borrowed like the info. */
int badges_get(badges_t *b, store_txn_t *txn, const char *id, badges_info_t *info,
               const char **json, size_t *json_len, const char **jwt, size_t *jwt_len);

/* A learner's credentials, ordered by framework, revision, competency: an iterator, so the
 * caller builds its reply without handing badges a callback.
 *     badges_iter_t it;  badges_iter_open(b, txn, learner, &it);
 *     while ((rc = badges_iter_next(&it, &info)) == 0) ...;   rc == ERR_NOT_FOUND: done
 *     badges_iter_close(&it);
 * info is borrowed like badges_get's. */
typedef struct badges_iter {
    badges_t *b;
    store_txn_t *txn;
    records_cred_iter_t it;
} badges_iter_t;

int badges_iter_open(badges_t *b, store_txn_t *txn, const char *learner_id, badges_iter_t *it);
int badges_iter_next(badges_iter_t *it, badges_info_t *info);
void badges_iter_close(badges_iter_t *it);

/* A transcript, as badges_transcript() returns it. json: caller frees with free(). */
typedef struct badges_transcript {
    char id[CRED_URN_UUID_MAX]; /* the ClrCredential's id (urn:uuid:...) */
    char *json;                 /* the signed ClrCredential, canonical JSON text */
    size_t len;
    uint32_t credentials;  /* achievement credentials embedded */
    uint32_t associations; /* precedes / isChildOf associations between their achievements */
} badges_transcript_t;

/*
 * Issues a 1EdTech CLR 2.0 ClrCredential (clr.h) holding every ACTIVE credential of the
 * learner (revoked and suspended ones are left out: a transcript lists what the school
 * stands behind when it signs it), only those of framework_id when it is not NULL or "",
 * with the associations between their achievements that the current revision of each
 * framework in cat states: "precedes" (A is a prerequisite of B: A precedes B) and
 * "isChildOf" (C is rolled up by a children rule of P: C isChildOf P). Signed like a badge,
 * by the issuer's current key, with the configured proofs (eddsa-rdfc-2022 by default).
 * Nothing is stored: the transcript is a signed snapshot; the badges inside keep their own
 * status entries, so revoking one shows through every transcript that holds it.
 * @param[in]  cat the frameworks (borrowed), for the associations
 * @param[out] out filled on success; caller frees out->json with free()
 * @return 0; ERR_NOT_FOUND (no such framework, or the learner has no active credential;
 *         field "issue_transcript.framework_id" / ".learner_id"); ERR_INVALID (more than
 *         CLR_CREDENTIALS_MAX credentials); store, signing and ERR_LIMIT errors.
 */
int badges_transcript(badges_t *b, store_txn_t *txn, const catalog_t *cat, const char *learner_id,
                      const char *framework_id, int64_t now, badges_transcript_t *out,
                      err_detail_t *d);

/*
 * Revokes (purpose "revocation", set true; final: unset is refused), suspends or unsuspends
 * ("suspension") a credential. Idempotent: *changed tells whether anything changed. Returns 0,
 * ERR_NOT_FOUND, ERR_INVALID (unknown purpose, unrevoking, a credential issued without a
 * suspension entry, suspending a revoked one), with the field named.
 */
int badges_set_status(badges_t *b, store_txn_t *txn, const char *id, const char *purpose, bool set,
                      const char *reason, int64_t now, bool *changed, badges_info_t *info,
                      err_detail_t *detail);

/* What an erasure receipt states (issue 16): strings borrowed for the call. */
typedef struct badges_receipt {
    const char *commitment_hex;       /* SHA-256(salt || learner id), hex */
    const char *salt_hex;             /* the 32 random bytes of salt, hex */
    const char *request_ref, *reason; /* "" when not given */
    int64_t erased_at;                /* Unix ms */
    uint64_t evidence, records, revoked, kept;
    const char *log_origin; /* NULL: no transparency log */
    uint64_t log_index;
    const char *leaf_hex; /* the learner_erased entry's leaf hash */
} badges_receipt_t;

/*
 * The signed erasure receipt: a W3C VC 2.0 of type ErasureReceipt issued by the issuer DID,
 * with an eddsa-jcs-2022 proof by the current key (README, "Erasing a learner"). Not stored.
 * @param[out] json canonical JSON text; caller frees (free())
 * @return 0; ERR_NOMEM; signing errors.
 */
int badges_erasure_receipt(badges_t *b, const badges_receipt_t *r, char **json, size_t *len,
                           err_detail_t *detail);

/* An exported status list. */
typedef struct badges_list_doc {
    uint32_t list;    /* its number */
    uint32_t lists;   /* how many lists there are (0: none yet) */
    char url[1024];   /* its URL: the credential id, where to publish it */
    char issuer[512]; /* the issuer DID it is signed as */
    char *json;       /* canonical JSON text; caller frees (free()) */
    size_t len;
} badges_list_doc_t;

/*
 * The signed BitstringStatusListCredential of list n (0: the newest, the one badges go on now;
 * before any badge, the empty list 1) for a purpose, signed as the issuer DID its badges name
 * (see list_for_issue in badges.c: a retired did:key key signs its own lists). Returns 0,
 * ERR_INVALID (purpose), ERR_NOT_FOUND (no list n, or its did:key key is not in the keyring;
 * the message says which), or a signing error. Caller frees out->json.
 */
int badges_status_list(badges_t *b, store_txn_t *txn, const char *purpose, uint32_t n, int64_t now,
                       badges_list_doc_t *out, err_detail_t *detail);

/*
 * Brings a store's status lists up to date at start (a write transaction): the one list of a
 * store made before lists rolled over becomes list 1, keeping its URL. *migrated tells whether
 * it did. Returns 0 or a store error.
 */
int badges_open_store(badges_t *b, store_txn_t *txn, int64_t now, bool *migrated);

/* The issuer: {"did","name","url","email","image","keys":[{"id","type","verification_method",
 * "current","created_ms"}],"did_document": {...} or null}. Caller owns *out (json_decref). */
int badges_issuer_info(badges_t *b, json_t **out, err_detail_t *detail);

/* Rotates the keys (keyring_rotate) and recomputes the issuer DID. */
int badges_rotate(badges_t *b, int64_t now, err_detail_t *detail);

/* Records the DID a learner gave; badges issued later name the learner by it. Returns 0 or
 * ERR_INVALID (not "did:<method>:<id>"). */
int badges_register_did(badges_t *b, store_txn_t *txn, const char *learner_id, const char *did,
                        err_detail_t *detail);

#endif
