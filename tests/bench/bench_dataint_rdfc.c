/*
 * Benchmark for dataint_rdfc: creating an eddsa-rdfc-2022 proof for a ~1.5 KB Open Badges 3.0
 * credential on one core (toRdf, RDFC-1.0 and SHA-256 of document and proof configuration,
 * Ed25519), and each stage alone: toRdf as N-Quads text, toRdf + RDFC-1.0 (the dataset goes to
 * the canonicalizer without text), the whole proof, and toRdf to the dataset alone. Prints medians
 * of several runs; asserts nothing. Times are this thread's CPU time: the development machines are
 * shared, so wall time includes waiting for a core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataint_rdfc.h"
#include "nquads.h"
#include "rdfc.h"

static const char *badge =
    "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\","
    "\"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json\"],"
    "\"id\":\"urn:uuid:a63a60be-f4af-491c-87fc-2c8fd3007a58\","
    "\"type\":[\"VerifiableCredential\",\"OpenBadgeCredential\"],"
    "\"name\":\"Add fractions with like denominators\","
    "\"issuer\":{\"id\":\"did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2\","
    "\"type\":[\"Profile\"],\"name\":\"Example School\"},"
    "\"validFrom\":\"2026-11-20T10:15:00Z\","
    "\"credentialSubject\":{\"type\":[\"AchievementSubject\"],"
    "\"identifier\":[{\"type\":\"IdentityObject\",\"hashed\":true,\"identityType\":\"identifier\","
    "\"identityHash\":\"sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399\","
    "\"salt\":\"6d1c4a2f\"}],"
    "\"achievement\":{\"id\":\"https://school.example/achievements/frac.add-like\","
    "\"type\":[\"Achievement\"],\"achievementType\":\"Competency\","
    "\"name\":\"Add fractions with like denominators\","
    "\"description\":\"Adds fractions whose denominators are equal.\","
    "\"criteria\":{\"narrative\":\"Latest score 80% or better.\"},"
    "\"alignment\":[{\"type\":[\"Alignment\"],\"targetName\":\"Add fractions\","
    "\"targetUrl\":\"https://case.example/uri/1f2e\",\"targetCode\":\"5.NF.A.1\","
    "\"targetType\":\"CFItem\"}]}},"
    "\"evidence\":[{\"id\":\"https://school.example/evidence/quiz-77-s1001-q3\","
    "\"type\":[\"Evidence\"],\"narrative\":\"Scored 92%.\"}],"
    "\"credentialStatus\":{\"id\":\"https://school.example/status/1#94567\","
    "\"type\":\"BitstringStatusListEntry\",\"statusPurpose\":\"revocation\","
    "\"statusListIndex\":\"94567\",\"statusListCredential\":\"https://school.example/status/1\"}}";

static const char *options_json =
    "{\"type\":\"DataIntegrityProof\",\"cryptosuite\":\"eddsa-rdfc-2022\","
    "\"created\":\"2026-11-20T10:15:01Z\",\"verificationMethod\":\"did:key:z6MkrJVnaZkeFzdQyMZu1"
    "cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2\","
    "\"proofPurpose\":\"assertionMethod\"}";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { RUNS = 7, N = 3000 };

static jsonld_t *jl;
static keys_t *key;
static json_t *doc, *options;

static int stage(int which)
{
    err_detail_t d;
    json_t *proof = NULL;
    char *canon = NULL;
    const char *nq;
    size_t len;
    int rc = 0;
    switch (which) {
    case 0:
        rc = jsonld_to_rdf(jl, doc, &nq, &len, &d);
        break;
    case 1:
        rc = dataint_rdfc_canonize(jl, doc, &canon, &len, &d);
        free(canon);
        break;
    case 2:
        rc = dataint_rdfc_proof_create(jl, doc, options, key, &proof, &d);
        json_decref(proof);
        break;
    default: {
        const nquads_dataset_t *ds;
        rc = jsonld_to_dataset(jl, doc, &ds, &d);
    }
    }
    if (rc != 0)
        fprintf(stderr, "%s\n", d.message);
    return rc;
}

int main(void)
{
    static const char *names[] = {"toRdf (document)", "toRdf + RDFC-1.0 (document)",
                                  "proof: canon x2, SHA-256, Ed25519", "toRdf dataset (no text)"};
    err_detail_t d;
    json_error_t je;
    jl = jsonld_new();
    doc = json_loads(badge, 0, &je);
    options = json_loads(options_json, 0, &je);
    if (jl == NULL || doc == NULL || options == NULL || keys_generate(KEYS_ED25519, &key, &d) != 0)
        return 1;
    printf("badge: %zu bytes of JSON\n", strlen(badge));
    for (int which = 0; which < 4; which++) {
        double t[RUNS];
        for (int r = 0; r < RUNS; r++) {
            double t0 = now();
            for (int i = 0; i < N; i++)
                if (stage(which) != 0)
                    return 1;
            t[r] = (now() - t0) / N;
        }
        qsort(t, RUNS, sizeof t[0], cmp_double);
        printf("%-36s median %7.2f us (%6.0f/s), min %.2f, max %.2f\n", names[which],
               t[RUNS / 2] * 1e6, 1 / t[RUNS / 2], t[0] * 1e6, t[RUNS - 1] * 1e6);
    }
    keys_destroy(&key);
    json_decref(doc);
    json_decref(options);
    jsonld_destroy(&jl);
    return 0;
}
