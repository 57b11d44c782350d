/*
 * Benchmark for jsonld: JSON-LD toRdf of a ~1.5 KB Open Badges 3.0 credential (with a proof),
 * from a jansson tree and from text (both writing N-Quads text), and from the tree to the
 * dataset alone (what eddsa-rdfc-2022 canonicalizes; no text). Prints the median of several
 * runs; asserts nothing.
 * Times are this thread's CPU time (the machine is shared; wall time includes waiting).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonld.h"

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
    "\"statusListIndex\":\"94567\",\"statusListCredential\":\"https://school.example/status/1\"},"
    "\"proof\":[{\"type\":\"DataIntegrityProof\",\"cryptosuite\":\"eddsa-rdfc-2022\","
    "\"created\":\"2026-11-20T10:15:01Z\",\"verificationMethod\":\"did:key:z6MkrJVnaZkeFzdQyMZu1"
    "cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2\","
    "\"proofPurpose\":\"assertionMethod\"}]}";

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

int main(void)
{
    jsonld_t *p = jsonld_new();
    json_error_t je;
    json_t *doc = json_loads(badge, 0, &je);
    if (p == NULL || doc == NULL)
        return 1;
    const char *out;
    size_t len;
    err_detail_t d;
    if (jsonld_to_rdf(p, doc, &out, &len, &d) != 0) {
        fprintf(stderr, "%s\n", d.message);
        return 1;
    }
    size_t quads = 0;
    for (size_t i = 0; i < len; i++)
        quads += out[i] == '\n';
    printf("badge: %zu bytes of JSON -> %zu quads, %zu bytes of N-Quads\n", strlen(badge), quads,
           len);
    enum { RUNS = 7, N = 20000 };
    static const char *const names[] = {
        "toRdf (jansson tree):", "toRdf (text, incl. parse):", "toRdf dataset (tree, no text):"};
    for (int mode = 0; mode < 3; mode++) {
        double t[RUNS];
        for (int r = 0; r < RUNS; r++) {
            double t0 = now();
            for (int i = 0; i < N; i++) {
                const nquads_dataset_t *ds;
                int rc = mode == 0   ? jsonld_to_rdf(p, doc, &out, &len, &d)
                         : mode == 1 ? jsonld_to_rdf_text(p, badge, strlen(badge), &out, &len, &d)
                                     : jsonld_to_dataset(p, doc, &ds, &d);
                if (rc != 0)
                    return 1;
            }
            t[r] = (now() - t0) / N;
        }
        qsort(t, RUNS, sizeof t[0], cmp_double);
        printf("%-31s median %.2f us/doc (%.0f docs/s), min %.2f, max %.2f\n", names[mode],
               t[RUNS / 2] * 1e6, 1 / t[RUNS / 2], t[0] * 1e6, t[RUNS - 1] * 1e6);
    }
    json_decref(doc);
    jsonld_destroy(&p);
    return 0;
}
