/*
 * Benchmark: RDFC-1.0 canonicalization of a typical Open Badges 3.0 credential, on one core.
 *
 * The input is the N-Quads a JSON-LD expansion of a signed AchievementCredential produces
 * (modelled on vc-di-eddsa's canonDocDataInt.txt, with the Open Badges vocabulary): 52 quads,
 * 7 blank nodes (subject, identity object, result, criteria, alignment, the proof and its
 * named graph). Prints the median of several runs of: parse + canonicalize (the whole
 * rdfc_canonicalize_nquads call), canonicalize alone (dataset parsed once), and the time the
 * W3C poison-graph test (test074, a 10-node clique) takes to be refused. Prints numbers only;
 * asserts nothing about timing. Times are CPU time of this (single-threaded) process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nquads.h"
#include "rdfc.h"

#define OB     "https://purl.imsglobal.org/spec/vc/ob/vocab.html#"
#define CR     "https://www.w3.org/2018/credentials#"
#define SEC    "https://w3id.org/security#"
#define RDF    "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define XSD    "http://www.w3.org/2001/XMLSchema#"
#define SDO    "https://schema.org/"
#define CRED   "<urn:uuid:2b5c9a4e-8f7d-4c1a-9e3b-6d2f1a0c7e58>"
#define ISSUER "<https://school.example.edu/issuers/565049>"
#define ACH    "<https://school.example.edu/achievements/frac-equivalent>"
#define VM                                                                                         \
    "<did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#"                                   \
    "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2>"

static const char badge[] = CRED
    " <" RDF "type> <" CR "VerifiableCredential> .\n" CRED " <" RDF "type> <" OB
    "OpenBadgeCredential> .\n" CRED " <" SDO "name> \"Recognize equivalent fractions\" .\n" CRED
    " <" SDO "description> \"Awarded for mastering equivalent fractions (grade 5).\" .\n" CRED
    " <" CR "issuer> " ISSUER " .\n" CRED " <" CR "validFrom> \"2026-11-22T17:00:00Z\"^^<" XSD
    "dateTime> .\n" CRED " <" CR "validUntil> \"2031-11-22T17:00:00Z\"^^<" XSD "dateTime> .\n" CRED
    " <" CR "credentialSubject> _:b2 .\n" CRED " <" CR "credentialSchema> "
    "<https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
    "ob_v3p0_achievementcredential_schema.json> .\n" CRED " <" SEC "proof> _:b0 .\n" ISSUER " <" RDF
    "type> <" OB "Profile> .\n" ISSUER " <" SDO "name> \"Example Elementary School\" .\n" ISSUER
    " <" OB "url> <https://school.example.edu/> .\n" ISSUER " <" OB
    "email> \"badges@school.example.edu\" .\n" ISSUER " <" SDO
    "description> \"A public elementary school issuing competency badges.\"@en .\n"
    "_:b2 <" RDF "type> <" OB "AchievementSubject> .\n"
    "_:b2 <" OB "achievement> " ACH " .\n"
    "_:b2 <" OB "identifier> _:b3 .\n"
    "_:b2 <" OB "result> _:b5 .\n"
    "_:b2 <" OB "activityEndDate> \"2026-11-20\"^^<" XSD "date> .\n"
    "_:b2 <" OB "creditsEarned> \"1.0E0\"^^<" XSD "float> .\n"
    "_:b3 <" RDF "type> <" OB "IdentityObject> .\n"
    "_:b3 <" OB "hashed> \"true\"^^<" XSD "boolean> .\n"
    "_:b3 <" OB
    "identityHash> \"sha256$c7ef86405ba71b85acd8e2e95166c4b111448089f2e1599f42fe1bba46e865c5\" .\n"
    "_:b3 <" OB "identityType> \"emailAddress\" .\n"
    "_:b3 <" OB "salt> \"deadbeefcafe\" .\n"
    "_:b5 <" RDF "type> <" OB "Result> .\n"
    "_:b5 <" OB "value> \"0.86\" .\n"
    "_:b5 <" OB "status> \"Completed\" .\n"
    "_:b5 <" OB
    "resultDescription> <https://school.example.edu/achievements/frac-equivalent#score> .\n" ACH
    " <" RDF "type> <" OB "Achievement> .\n" ACH " <" SDO
    "name> \"Recognize equivalent fractions\" .\n" ACH " <" SDO
    "description> \"Identifies and generates equivalent fractions, e.g. 1/2 = 2/4 = 4/8.\" .\n" ACH
    " <" OB "achievementType> \"Competency\" .\n" ACH " <" OB "Criteria> _:b4 .\n" ACH " <" OB
    "alignment> _:b6 .\n" ACH " <" OB "creator> " ISSUER " .\n" ACH " <" OB
    "image> <https://school.example.edu/badges/frac-equivalent.png> .\n" ACH " <" OB
    "humanCode> \"FRAC.5.EQ\" .\n" ACH " <" SDO "keywords> \"fractions\" .\n" ACH " <" SDO
    "keywords> \"grade 5\" .\n"
    "_:b4 <" OB "narrative> \"Scores 0.8 or better on two consecutive fraction-equivalence "
    "quizzes\\n(decaying average, weight 0.65).\" .\n"
    "_:b6 <" RDF "type> <" OB "Alignment> .\n"
    "_:b6 <" OB "targetName> \"CCSS.MATH.CONTENT.5.NF.A.1\" .\n"
    "_:b6 <" OB "targetUrl> <https://case.example.org/uri/5.NF.A.1> .\n"
    "_:b6 <" OB "targetFramework> \"Common Core State Standards\" .\n"
    "_:b6 <" OB "targetType> \"CFItem\" .\n"
    "_:b1 <" RDF "type> <" SEC "DataIntegrityProof> _:b0 .\n"
    "_:b1 <" SEC "cryptosuite> \"eddsa-rdfc-2022\"^^<" SEC "cryptosuiteString> _:b0 .\n"
    "_:b1 <http://purl.org/dc/terms/created> \"2026-11-22T17:00:01Z\"^^<" XSD "dateTime> _:b0 .\n"
    "_:b1 <" SEC "proofPurpose> <" SEC "assertionMethod> _:b0 .\n"
    "_:b1 <" SEC "verificationMethod> " VM " _:b0 .\n"
    "_:b1 <" SEC "proofValue> "
    "\"z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk9czhSePTFehP8c3PGfb6a22gkfUKKFkc2Bs"
    "CDGzPXrj2\"^^<https://w3id.org/security#multibase> _:b0 .\n";

/* CPU time of this process: the machine is shared, and wall time would count other work. */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define RUNS 7

int main(void)
{
    err_detail_t d;
    char *out = NULL;
    size_t out_len;
    nquads_dataset_t *ds = nquads_dataset_new();
    if (ds == NULL || nquads_parse(ds, badge, sizeof badge - 1, NULL, &d) != 0) {
        fprintf(stderr, "parse: %s %s\n", d.field, d.message);
        return 1;
    }
    rdfc_result_t *res = NULL;
    if (rdfc_canonicalize(ds, NULL, &res, &d) != 0) {
        fprintf(stderr, "canonicalize: %s\n", d.message);
        return 1;
    }
    printf("input: %zu bytes, %zu quads, %zu blank nodes; canonical output %zu bytes\n",
           sizeof badge - 1, nquads_dataset_count(ds), rdfc_result_map_count(res),
           (size_t)strlen(rdfc_result_nquads(res, NULL)));
    rdfc_result_destroy(&res);

    double full[RUNS], canon[RUNS];
    for (int r = 0; r < RUNS; r++) {
        long n = 0;
        double t0 = now(), t;
        do {
            for (int i = 0; i < 200; i++, n++) {
                if (rdfc_canonicalize_nquads(badge, sizeof badge - 1, NULL, &out, &out_len, &d))
                    return 1;
                free(out);
            }
        } while ((t = now()) - t0 < 0.5);
        full[r] = (double)n / (t - t0);
        n = 0;
        t0 = now();
        do {
            for (int i = 0; i < 200; i++, n++) {
                if (rdfc_canonicalize(ds, NULL, &res, &d))
                    return 1;
                rdfc_result_destroy(&res);
            }
        } while ((t = now()) - t0 < 0.5);
        canon[r] = (double)n / (t - t0);
    }
    double mf = median(full, RUNS), mc = median(canon, RUNS);
    printf("parse+canonicalize: %.0f per second (%.1f us each), median of %d runs\n", mf, 1e6 / mf,
           RUNS);
    printf("canonicalize only:  %.0f per second (%.1f us each), median of %d runs\n", mc, 1e6 / mc,
           RUNS);
    nquads_dataset_destroy(&ds);

    /* The poison graph: time to refusal with the default work limit. */
    const char *path = MASTERY_VECTORS "/rdfc10/test074-in.nq";
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    static char poison[1 << 16];
    size_t plen = fread(poison, 1, sizeof poison, f);
    fclose(f);
    double refuse[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = now();
        int rc = rdfc_canonicalize_nquads(poison, plen, NULL, &out, &out_len, &d);
        refuse[r] = (now() - t0) * 1e3;
        if (rc != ERR_LIMIT) {
            fprintf(stderr, "poison graph not refused: %s\n", err_str(rc));
            return 1;
        }
    }
    printf("poison graph (test074, 10-clique) refused with %s in %.2f ms, median of %d runs\n",
           err_str(ERR_LIMIT), median(refuse, RUNS), RUNS);
    return 0;
}
