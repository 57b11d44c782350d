/*
 * bench_sign: single-thread rates of the credential signing path.
 *
 * Prints operations per second (and microseconds per operation) for: raw Ed25519 sign and
 * verify of a 1.5 KB message, JCS serialisation of a ~1.5 KB Open Badges credential (into a
 * reused buffer, and allocating), the jansson compact sorted dump of the same document for
 * comparison, eddsa-jcs-2022 proof creation and verification, and a VC-JWT (EdDSA) sign.
 * Numbers only: it asserts nothing about timings. Usage: bench_sign [seconds-per-case]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataint.h"
#include "jcs.h"
#include "jws.h"
#include "keys.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef int (*op_fn)(void *arg);

/* Runs op in batches until at least seconds have passed; prints the rate. */
static void run(const char *name, op_fn op, void *arg, double seconds)
{
    for (int i = 0; i < 100; i++) /* warm up */
        if (op(arg) != 0) {
            fprintf(stderr, "%s: operation failed\n", name);
            exit(1);
        }
    long n = 0;
    double start = now(), elapsed;
    do {
        for (int i = 0; i < 100; i++)
            if (op(arg) != 0) {
                fprintf(stderr, "%s: operation failed\n", name);
                exit(1);
            }
        n += 100;
        elapsed = now() - start;
    } while (elapsed < seconds);
    printf("%-44s %10.0f /s %9.2f us\n", name, (double)n / elapsed, elapsed / (double)n * 1e6);
}

typedef struct ctx {
    keys_t *key, *pub;
    uint8_t msg[1536];
    uint8_t sig[64];
    json_t *doc, *options, *secured;
    buf_t buf;
} ctx_t;

static int op_sign(void *arg)
{
    ctx_t *c = arg;
    size_t len;
    return keys_sign(c->key, c->msg, sizeof c->msg, c->sig, sizeof c->sig, &len, NULL);
}

static int op_verify(void *arg)
{
    ctx_t *c = arg;
    return keys_verify(c->pub, c->msg, sizeof c->msg, c->sig, sizeof c->sig, NULL);
}

static int op_jcs_buf(void *arg)
{
    ctx_t *c = arg;
    buf_reset(&c->buf);
    return jcs_serialize_buf(c->doc, &c->buf, NULL);
}

static int op_jcs_alloc(void *arg)
{
    ctx_t *c = arg;
    char *out = NULL;
    size_t len;
    int rc = jcs_serialize(c->doc, &out, &len, NULL);
    free(out);
    return rc;
}

static int op_jansson_dump(void *arg)
{
    ctx_t *c = arg;
    char *out = json_dumps(c->doc, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = out == NULL ? -1 : 0;
    free(out);
    return rc;
}

static int op_proof_create(void *arg)
{
    ctx_t *c = arg;
    json_t *proof = NULL;
    int rc = dataint_proof_create(c->doc, c->options, c->key, &proof, NULL);
    json_decref(proof);
    return rc;
}

static int op_proof_verify(void *arg)
{
    ctx_t *c = arg;
    return dataint_proof_verify(c->secured, c->pub, NULL, NULL);
}

static int op_jwt_sign(void *arg)
{
    ctx_t *c = arg;
    char *token = NULL;
    int rc = jws_sign(c->doc, c->key, "did:key:z6Mk#z6Mk", &token, NULL, NULL);
    free(token);
    return rc;
}

/* An Open Badges 3.0 credential of about 1.5 KB in canonical form. */
static json_t *credential(const char *issuer)
{
    const char *text =
        "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\","
        "\"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json\"],"
        "\"id\":\"urn:uuid:2f9c3a52-7d1e-4b8a-9e35-0c6d2b1f8a47\","
        "\"type\":[\"VerifiableCredential\",\"OpenBadgeCredential\"],"
        "\"name\":\"Equivalent fractions\","
        "\"issuer\":{\"id\":\"ISSUER\",\"type\":[\"Profile\"],\"name\":\"Lincoln Middle School\"},"
        "\"validFrom\":\"2026-11-20T10:15:00Z\","
        "\"credentialSubject\":{\"type\":[\"AchievementSubject\"],"
        "\"identifier\":[{\"type\":\"IdentityObject\",\"identityHash\":"
        "\"sha256$8f3a9c0d51e2b7a64c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d\","
        "\"identityType\":\"identifier\",\"hashed\":true,\"salt\":\"f1e2d3c4b5a69788\"}],"
        "\"achievement\":{\"id\":\"https://school.example/achievements/frac.equivalent\","
        "\"type\":[\"Achievement\"],\"achievementType\":\"Competency\","
        "\"name\":\"Recognise and generate equivalent fractions\","
        "\"description\":\"Explains why two fractions are equivalent using visual fraction "
        "models, and generates equivalent fractions by multiplying numerator and denominator "
        "by the same number.\","
        "\"criteria\":{\"narrative\":\"Mastery decided from at least 3 independent evidence "
        "items with a decayed average score of 0.85 or more.\"},"
        "\"alignment\":[{\"type\":[\"Alignment\"],\"targetName\":\"4.NF.A.1\","
        "\"targetUrl\":\"https://case.example/uri/5b2e7c1a-1f0d-4c9e-8a3b-2d6f7e8a9b0c\","
        "\"targetFramework\":\"Common Core State Standards for Mathematics\","
        "\"targetCode\":\"4.NF.A.1\",\"targetType\":\"CFItem\"}]}},"
        "\"evidence\":[{\"id\":\"urn:mastery:evidence:quiz-77-s1001-q3\",\"type\":[\"Evidence\"],"
        "\"name\":\"Quiz 77, question 3\",\"score\":0.92},"
        "{\"id\":\"urn:mastery:evidence:quiz-81-s1001-q1\",\"type\":[\"Evidence\"],"
        "\"name\":\"Quiz 81, question 1\",\"score\":0.875}],"
        "\"credentialStatus\":{\"id\":\"https://school.example/status/1#94567\","
        "\"type\":\"BitstringStatusListEntry\",\"statusPurpose\":\"revocation\","
        "\"statusListIndex\":\"94567\","
        "\"statusListCredential\":\"https://school.example/status/1\"}}";
    json_t *doc = NULL;
    if (jcs_parse(text, strlen(text), &doc, NULL) != 0)
        return NULL;
    json_object_set_new(json_object_get(doc, "issuer"), "id", json_string(issuer));
    return doc;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? strtod(argv[1], NULL) : 1.0;
    if (seconds <= 0)
        seconds = 1.0;
    ctx_t c;
    memset(&c, 0, sizeof c);
    err_detail_t d;
    if (keys_generate(KEYS_ED25519, &c.key, &d) != 0) {
        fprintf(stderr, "keys_generate: %s\n", d.message);
        return 1;
    }
    char did[KEYS_DID_MAX], vm[KEYS_VM_ID_MAX];
    keys_did_key(c.key, did, sizeof did);
    keys_vm_id(c.key, vm, sizeof vm);
    keys_from_did_key(vm, &c.pub, &d);
    for (size_t i = 0; i < sizeof c.msg; i++)
        c.msg[i] = (uint8_t)(i * 31 + 7);
    op_sign(&c);

    c.doc = credential(did);
    c.options = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "DataIntegrityProof", "cryptosuite",
                          "eddsa-jcs-2022", "created", "2026-11-22T17:00:00Z", "verificationMethod",
                          vm, "proofPurpose", "assertionMethod");
    c.secured = json_deep_copy(c.doc);
    if (c.doc == NULL || c.options == NULL || dataint_sign(c.secured, c.options, c.key, &d) != 0) {
        fprintf(stderr, "setup failed: %s\n", d.message);
        return 1;
    }
    buf_init(&c.buf, JCS_MAX_OUTPUT);
    op_jcs_buf(&c);
    printf("credential: %zu bytes canonical; message: %zu bytes; %.1f s per case\n", c.buf.len,
           sizeof c.msg, seconds);

    run("Ed25519 sign, 1.5 KB (keys_sign)", op_sign, &c, seconds);
    run("Ed25519 verify, 1.5 KB (keys_verify)", op_verify, &c, seconds);
    run("JCS serialize, reused buffer", op_jcs_buf, &c, seconds);
    run("JCS serialize, allocating", op_jcs_alloc, &c, seconds);
    run("jansson dumps COMPACT|SORT_KEYS (reference)", op_jansson_dump, &c, seconds);
    run("eddsa-jcs-2022 proof create", op_proof_create, &c, seconds);
    run("eddsa-jcs-2022 proof verify", op_proof_verify, &c, seconds);
    run("VC-JWT EdDSA sign (jws_sign)", op_jwt_sign, &c, seconds);

    buf_free(&c.buf);
    json_decref(c.secured);
    json_decref(c.options);
    json_decref(c.doc);
    keys_destroy(&c.pub);
    keys_destroy(&c.key);
    return 0;
}
