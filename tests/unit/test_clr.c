/* Unit tests for clr: the ClrCredential shape (contexts, types, subject identity, embedded
 * credentials unchanged, achievements once each, associations), refused input naming the
 * field, an eddsa-rdfc-2022 proof over a transcript that verifies, as does each embedded
 * credential, and stops verifying when an embedded credential changes; and 1EdTech's own CLR
 * 2.0 test vector: the same canonical document hash, and its published proof verifies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clr.h"
#include "cred.h"
#include "dataint_rdfc.h"
#include "issuer.h"
#include "jsonld.h"
#include "keys.h"

/* 2026-11-20T10:15:00Z */
#define T0 1795169700000LL

static keys_t *key;
static jsonld_t *jl;
static char did[ISSUER_DID_MAX], vm[ISSUER_VM_ID_MAX];

static int setup(void **state)
{
    (void)state;
    uint8_t seed[32];
    memset(seed, 7, sizeof seed);
    if (keys_from_seed(seed, &key, NULL) != 0 || (jl = jsonld_new()) == NULL ||
        issuer_did(key, NULL, did, sizeof did) != 0 || issuer_vm_id(key, NULL, vm, sizeof vm) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    keys_destroy(&key);
    jsonld_destroy(&jl);
    return 0;
}

static json_t *rdfc_options(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "DataIntegrityProof", "cryptosuite",
                     "eddsa-rdfc-2022", "created", "2026-11-20T10:15:00Z", "verificationMethod", vm,
                     "proofPurpose", "assertionMethod");
}

/* A signed badge for competency comp, as the daemon issues one. */
static json_t *badge(const char *id, const char *comp, const char *name)
{
    cred_input_t in;
    cred_input_init(&in);
    in.id = id;
    in.issuer = (cred_issuer_t){did, "Lincoln School", "https://lincoln.example.edu", NULL, NULL};
    in.valid_from_ms = T0;
    in.framework_id = "urn:fw:fractions";
    in.framework_version = "1";
    in.competency_id = comp;
    in.name = name;
    in.learner_id = "s-1001";
    in.salt = "0011";
    json_t *doc = NULL, *opts = rdfc_options();
    err_detail_t d;
    assert_int_equal(cred_build(&in, &doc, &d), 0);
    assert_int_equal(dataint_rdfc_sign(jl, doc, opts, key, &d), 0);
    json_decref(opts);
    return doc;
}

static const char *ach_id(const json_t *c)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(c, "credentialSubject"), "achievement"), "id"));
}

static clr_input_t input(const json_t *const *creds, size_t n, const clr_association_t *a,
                         size_t na)
{
    clr_input_t in = {
        .id = "urn:uuid:5f0c3a4e-1d2b-4c3d-8e9f-0a1b2c3d4e5f",
        .issuer = {did, "Lincoln School", "https://lincoln.example.edu", NULL, NULL},
        .valid_from_ms = T0,
        .name = "Comprehensive Learner Record",
        .description = "Every badge.",
        .learner_id = "s-1001",
        .salt = "abcd",
        .credentials = creds,
        .n_credentials = n,
        .associations = a,
        .n_associations = na,
    };
    return in;
}

static void test_shape(void **state)
{
    (void)state;
    json_t *a = badge("urn:uuid:00000000-0000-4000-8000-00000000000a", "a", "Badge A");
    json_t *b = badge("urn:uuid:00000000-0000-4000-8000-00000000000b", "b", "Badge B");
    json_t *b2 = badge("urn:uuid:00000000-0000-4000-8000-0000000000b2", "b", "Badge B");
    const json_t *creds[3] = {a, b, b2};
    clr_association_t as[1] = {{"precedes", ach_id(a), ach_id(b)}};
    clr_input_t in = input(creds, 3, as, 1);
    json_t *doc = NULL;
    err_detail_t d;
    assert_int_equal(clr_build(&in, &doc, &d), 0);

    const json_t *ctx = json_object_get(doc, "@context");
    assert_int_equal(json_array_size(ctx), 4);
    assert_string_equal(json_string_value(json_array_get(ctx, 0)), CRED_CONTEXT_VC2);
    assert_string_equal(json_string_value(json_array_get(ctx, 1)), CLR_CONTEXT);
    assert_string_equal(json_string_value(json_array_get(ctx, 2)), CRED_CONTEXT_OB30);
    assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "type"), 1)),
                        "ClrCredential");
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "issuer"), "id")),
                        did);
    assert_string_equal(json_string_value(json_object_get(doc, "validFrom")),
                        "2026-11-20T10:15:00Z");
    const json_t *subj = json_object_get(doc, "credentialSubject");
    assert_string_equal(json_string_value(json_array_get(json_object_get(subj, "type"), 0)),
                        "ClrSubject");
    /* the learner as a salted hash, as the badges name them, never the raw id */
    char want[80];
    assert_int_equal(cred_identity_hash("s-1001", "abcd", want, sizeof want), 0);
    const json_t *io = json_array_get(json_object_get(subj, "identifier"), 0);
    assert_string_equal(json_string_value(json_object_get(io, "identityHash")), want);
    char *text = json_dumps(doc, 0);
    assert_null(strstr(text, "\"s-1001\""));
    free(text);
    /* the credentials embedded unchanged, in order; each achievement once */
    const json_t *vcs = json_object_get(subj, "verifiableCredential");
    assert_int_equal(json_array_size(vcs), 3);
    assert_true(json_equal(json_array_get(vcs, 0), a) && json_equal(json_array_get(vcs, 2), b2));
    assert_int_equal(json_array_size(json_object_get(subj, "achievement")), 2);
    const json_t *as0 = json_array_get(json_object_get(subj, "association"), 0);
    assert_string_equal(json_string_value(json_object_get(as0, "type")), "Association");
    assert_string_equal(json_string_value(json_object_get(as0, "associationType")), "precedes");
    assert_string_equal(json_string_value(json_object_get(as0, "sourceId")), ach_id(a));
    assert_string_equal(json_string_value(json_object_get(as0, "targetId")), ach_id(b));

    /* signed: the transcript verifies, each embedded badge still verifies on its own, and a
     * changed embedded badge breaks the transcript's proof */
    json_t *opts = rdfc_options();
    assert_int_equal(dataint_rdfc_sign(jl, doc, opts, key, &d), 0);
    json_decref(opts);
    assert_int_equal(dataint_rdfc_proof_verify(jl, doc, key, NULL, &d), 0);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(dataint_rdfc_proof_verify(jl, json_array_get(vcs, i), key, NULL, &d), 0);
    json_t *t = json_deep_copy(doc);
    json_t *inner = json_array_get(
        json_object_get(json_object_get(t, "credentialSubject"), "verifiableCredential"), 1);
    json_object_set_new(inner, "name", json_string("Forged"));
    assert_int_equal(dataint_rdfc_proof_verify(jl, t, key, NULL, &d), ERR_UNAUTHENTICATED);
    json_decref(t);

    /* a learner DID names the subject instead */
    in.learner_did = "did:example:learner";
    json_t *doc2 = NULL;
    assert_int_equal(clr_build(&in, &doc2, &d), 0);
    subj = json_object_get(doc2, "credentialSubject");
    assert_string_equal(json_string_value(json_object_get(subj, "id")), "did:example:learner");
    assert_null(json_object_get(subj, "identifier"));
    json_decref(doc2);
    json_decref(doc);
    json_decref(a);
    json_decref(b);
    json_decref(b2);
}

static void test_refusals(void **state)
{
    (void)state;
    json_t *a = badge("urn:uuid:00000000-0000-4000-8000-00000000000a", "a", "Badge A");
    const json_t *creds[1] = {a};
    json_t *doc = (json_t *)1;
    err_detail_t d;
    clr_input_t in = input(creds, 0, NULL, 0);
    assert_int_equal(clr_build(&in, &doc, &d), ERR_INVALID);
    assert_null(doc);
    assert_string_equal(d.field, "credentials");

    clr_association_t bad[1] = {{"precedes", ach_id(a), "urn:not-here"}};
    in = input(creds, 1, bad, 1);
    assert_int_equal(clr_build(&in, &doc, &d), ERR_INVALID);
    assert_string_equal(d.field, "associations");

    json_t *unsigned_ = json_deep_copy(a);
    json_object_del(unsigned_, "proof");
    const json_t *u[1] = {unsigned_};
    in = input(u, 1, NULL, 0);
    assert_int_equal(clr_build(&in, &doc, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "credentials[0] is not a signed credential"));

    json_t *noach = json_deep_copy(a);
    json_object_del(json_object_get(json_object_get(noach, "credentialSubject"), "achievement"),
                    "id");
    const json_t *na[1] = {noach};
    in = input(na, 1, NULL, 0);
    assert_int_equal(clr_build(&in, &doc, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "achievement.id"));

    in = input(creds, 1, NULL, 0);
    in.issuer.did = NULL;
    assert_int_equal(clr_build(&in, &doc, &d), ERR_INVALID);
    assert_string_equal(d.field, "issuer.did");
    in = input(creds, 1, NULL, 0);
    in.name = "";
    assert_int_equal(clr_build(&in, &doc, &d), ERR_INVALID);
    assert_string_equal(d.field, "name");
    in = input(creds, CLR_CREDENTIALS_MAX + 1, NULL, 0);
    assert_int_equal(clr_build(&in, &doc, &d), ERR_INVALID);
    in = input(creds, 1, NULL, 0);
    in.learner_id = NULL;
    assert_int_equal(clr_build(&in, &doc, &d), ERR_INVALID);
    assert_null(doc);
    json_decref(unsigned_);
    json_decref(noach);
    json_decref(a);
}

/* 1EdTech's CLR 2.0 eddsa-rdfc-2022 test vector (Open Badges 3.0 Implementation Guide,
 * "Linked Data Proof Test Vector for Comprehensive Learner Record 2.0", 1EdTech/
 * openbadges-specification ob_v3p0/impl, final release April 2025): the document before
 * signing, transcribed compact; the document hash, key and proof value as published. The C
 * canonicalizer must give the same hash, and the published proof must verify. */
static const char IMPL_GUIDE_CLR[] =
    "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\",\"https://purl.imsglobal.org/spec/clr"
    "/v2p0/context-2.0.1.json\",\"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json\",\""
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json\"],\"id\":\"http://example.edu/crede"
    "ntials/"
    "3732\",\"type\":[\"VerifiableCredential\",\"ClrCredential\"],\"issuer\":{\"id\":\"https://exa"
    "mple.edu/issuers/565049\",\"type\":\"Profile\",\"name\":\"Example "
    "University\"},\"validFrom\":\"2010"
    "-01-01T00:00:00Z\",\"name\":\"Sample "
    "Transcript\",\"credentialSubject\":{\"id\":\"did:example:ebfe"
    "b1f712ebc6f1c276e12ec21\",\"type\":\"ClrSubject\",\"verifiableCredential\":[{\"@context\":["
    "\"https"
    "://www.w3.org/ns/credentials/v2\",\"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3."
    "json\",\"https://purl.imsglobal.org/spec/ob/v3p0/extensions.json\"],\"id\":\"urn:uuid:91537dba"
    "-56cb-11ec-bf63-0242ac130002\",\"type\":[\"VerifiableCredential\",\"AchievementCredential\"],"
    "\"i"
    "ssuer\":{\"id\":\"https://example.edu/issuers/"
    "565049\",\"type\":\"Profile\",\"name\":\"Example Unive"
    "rsity\"},\"validFrom\":\"2010-01-01T00:00:00Z\",\"name\":\"Example University "
    "Degree\",\"credentia"
    "lSubject\":{\"id\":\"did:example:ebfeb1f712ebc6f1c276e12ec21\",\"type\":"
    "\"AchievementSubject\",\"a"
    "chievement\":{\"id\":\"urn:uuid:a7467ef6-56cb-11ec-bf63-0242ac130002\",\"type\":"
    "\"Achievement\",\""
    "creator\":{\"id\":\"https://example.edu/issuers/"
    "565049\",\"type\":\"Profile\"},\"name\":\"Achievemen"
    "t 1\",\"criteria\":{\"id\":\"https://example.edu/achievements/a7467ef6-56cb-11ec-bf63-0242ac13"
    "0002/criteria\"},\"description\":\"Achievement "
    "1\",\"image\":{\"id\":\"https://example.edu/achieve"
    "ments/sample.png\",\"type\":\"Image\"}}},\"credentialSchema\":[{\"id\":\"https://"
    "purl.imsglobal.or"
    "g/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json\",\"type\":\"1EdTechJso"
    "nSchemaValidator2019\"}],\"proof\":[{\"type\":\"DataIntegrityProof\",\"created\":\"2010-01-"
    "01T19:2"
    "3:24Z\",\"verificationMethod\":\"https://example.edu/issuers/565049#z6MkjZRZv3aez3r18pB1RBFJ"
    "R1kwUVJ5jHt92JmQwXbd5hwi\",\"cryptosuite\":\"eddsa-rdfc-2022\",\"proofPurpose\":"
    "\"assertionMetho"
    "d\",\"proofValue\":\"z45QnLySMt2mWuW787G6cf3SLkP97ZkMZxLeXH5yaaTQPCtTup4GCV95tU8HEnQJSyGCokS"
    "j3AvUhmJtvveTmN4Vu\"}]}],\"achievement\":[{\"id\":\"urn:uuid:a7467ef6-56cb-11ec-bf63-0242ac130"
    "002\",\"type\":\"Achievement\",\"creator\":{\"id\":\"https://example.edu/issuers/"
    "565049\",\"type\":\"P"
    "rofile\"},\"name\":\"Achievement "
    "1\",\"criteria\":{\"id\":\"https://example.edu/achievements/a7467"
    "ef6-56cb-11ec-bf63-0242ac130002/criteria\"},\"description\":\"Achievement "
    "1\",\"image\":{\"id\":\""
    "https://example.edu/achievements/"
    "sample.png\",\"type\":\"Image\"}},{\"id\":\"urn:uuid:dd887f0a-5"
    "6cb-11ec-bf63-0242ac130002\",\"type\":\"Achievement\",\"creator\":{\"id\":\"https://"
    "example.edu/is"
    "suers/565049\",\"type\":\"Profile\"},\"name\":\"Achievement "
    "2\",\"criteria\":{\"id\":\"https://example"
    ".edu/achievements/dd887f0a-56cb-11ec-bf63-0242ac130002/criteria\"},\"description\":\"Achieve"
    "ment "
    "2\",\"image\":{\"id\":\"https://example.edu/achievements/"
    "sample.png\",\"type\":\"Image\"}}],\"a"
    "ssociation\":[{\"type\":\"Association\",\"associationType\":\"isParentOf\",\"sourceId\":\"urn:"
    "uuid:a"
    "7467ef6-56cb-11ec-bf63-0242ac130002\",\"targetId\":\"urn:uuid:dd887f0a-56cb-11ec-bf63-0242ac"
    "130002\"}]},\"credentialSchema\":[{\"id\":\"https://purl.imsglobal.org/spec/clr/v2p0/schema/js"
    "on/clr_v2p0_clrcredential_schema.json\",\"type\":\"1EdTechJsonSchemaValidator2019\"}]}";
#define IMPL_GUIDE_DOC_HASH "768d7015ae69e0210e1c2a45194d9c1d15d7a6022e52b946574a2a27f6fa85fe"
#define IMPL_GUIDE_PUB      "4bdeafde2ea8beefadd8c699b5c7e0704cf51154d52e17b20b71337ca04cc5a5"
#define IMPL_GUIDE_PROOF                                                                           \
    "zF52sU1nfPAjcwCqtgxPNSor6SJnAzRBwZW5VNQXPt8xXCHkd39sgqj32DnMjhFCzbyHsLkhQ8HpBqQTkMgXy329"

static void test_1edtech_clr_vector(void **state)
{
    (void)state;
    json_error_t je;
    json_t *doc = json_loads(IMPL_GUIDE_CLR, 0, &je);
    assert_non_null(doc);
    char *nq = NULL;
    size_t len = 0;
    err_detail_t d;
    assert_int_equal(dataint_rdfc_canonize(jl, doc, &nq, &len, &d), 0);
    uint8_t h[32];
    SHA256((const unsigned char *)nq, len, h);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    assert_string_equal(hex, IMPL_GUIDE_DOC_HASH);
    /* the embedded badge's statements are in the default graph; its proof in a graph */
    assert_non_null(strstr(nq, "<did:example:ebfeb1f712ebc6f1c276e12ec21> "
                               "<https://purl.imsglobal.org/spec/vc/clr/vocab.html#"
                               "verifiableCredential> <urn:uuid:91537dba-56cb-11ec-bf63-"
                               "0242ac130002> .\n"));
    assert_non_null(strstr(nq, "\"^^<xsd:anyURI> .\n"));
    free(nq);

    uint8_t pub[32];
    static const char pub_hex[] = IMPL_GUIDE_PUB;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        assert_int_equal(sscanf(&pub_hex[2 * i], "%2x", &v), 1);
        pub[i] = (uint8_t)v;
    }
    keys_t *k = NULL;
    assert_int_equal(keys_from_public_raw(pub, &k, &d), 0);
    json_t *proof = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "DataIntegrityProof", "created",
        "2010-01-01T19:23:24Z", "verificationMethod",
        "https://example.edu/issuers/565049#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi",
        "cryptosuite", "eddsa-rdfc-2022", "proofPurpose", "assertionMethod", "proofValue",
        IMPL_GUIDE_PROOF);
    json_object_set_new(doc, "proof", proof);
    assert_int_equal(dataint_rdfc_proof_verify(jl, doc, k, NULL, &d), 0);
    /* and our verifier says the same of a changed association */
    json_t *assoc = json_array_get(
        json_object_get(json_object_get(doc, "credentialSubject"), "association"), 0);
    json_object_set_new(assoc, "associationType", json_string("isChildOf"));
    assert_int_equal(dataint_rdfc_proof_verify(jl, doc, k, NULL, &d), ERR_UNAUTHENTICATED);
    keys_destroy(&k);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_1edtech_clr_vector),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
