/*
 * bench_clr: CLR 2.0 transcripts of N badges on one core: issuing (clr_build + the
 * eddsa-rdfc-2022 proof over the whole transcript, what IssueTranscript does after reading the
 * badges) and verifying (verify_badge(): the transcript's proof and then every embedded
 * badge's, what mastery-verify does minus I/O), with the transcript's size.
 * Each case runs ROUNDS times; the median is printed. Numbers only; nothing is asserted.
 * Usage: bench_clr [rounds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clr.h"
#include "cred.h"
#include "dataint_rdfc.h"
#include "issuer.h"
#include "jsonld.h"
#include "keys.h"
#include "verify.h"

#define T0 1795169700000LL /* 2026-11-20T10:15:00Z */

static keys_t *key;
static jsonld_t *jl;
static char did[ISSUER_DID_MAX], vm[ISSUER_VM_ID_MAX];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static json_t *options(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "DataIntegrityProof", "cryptosuite",
                     "eddsa-rdfc-2022", "created", "2026-11-20T10:15:00Z", "verificationMethod", vm,
                     "proofPurpose", "assertionMethod");
}

static json_t *badge(int i)
{
    char id[64], comp[32], name[64];
    snprintf(id, sizeof id, "urn:uuid:00000000-0000-4000-8000-%012d", i);
    snprintf(comp, sizeof comp, "c%d", i);
    snprintf(name, sizeof name, "Competency %d", i);
    cred_evidence_t ev[2] = {{"quiz-1", "https://quiz.example/r/1", NULL}, {"quiz-2", NULL, NULL}};
    cred_input_t in;
    cred_input_init(&in);
    in.id = id;
    in.issuer = (cred_issuer_t){did, "Lincoln School", "https://lincoln.example.edu", NULL, NULL};
    in.valid_from_ms = T0;
    in.framework_id = "urn:fw:bench";
    in.framework_version = "1";
    in.competency_id = comp;
    in.name = name;
    in.description = "Did it.";
    in.learner_id = "s-1001";
    in.evidence = ev;
    in.n_evidence = 2;
    in.revocation = (cred_status_t){"https://lincoln.example.edu/status/revocation/1", 1000 + i};
    json_t *doc = NULL, *o = options();
    err_detail_t d;
    if (cred_build(&in, &doc, &d) != 0 || dataint_rdfc_sign(jl, doc, o, key, &d) != 0) {
        fprintf(stderr, "bench_clr: badge: %s\n", d.message);
        exit(1);
    }
    json_decref(o);
    return doc;
}

static int rdfc_hook(const json_t *secured, const json_t *proof, keys_t *k, err_detail_t *d)
{
    json_t *one = json_copy((json_t *)secured);
    json_object_set(one, "proof", (json_t *)proof);
    int rc = dataint_rdfc_proof_verify(jl, one, k, NULL, d);
    json_decref(one);
    return rc;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    if (rounds < 1 || rounds > 100)
        rounds = 5;
    uint8_t seed[32];
    memset(seed, 9, sizeof seed);
    if (keys_from_seed(seed, &key, NULL) != 0 || (jl = jsonld_new()) == NULL ||
        issuer_did(key, NULL, did, sizeof did) != 0 || issuer_vm_id(key, NULL, vm, sizeof vm) != 0)
        return 1;
    static const int sizes[] = {1, 10, 50, 200};
    printf("%-8s %12s %14s %14s %10s\n", "badges", "bytes", "issue ms", "verify ms", "verdict");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int n = sizes[s];
        json_t **b = calloc((size_t)n, sizeof *b);
        for (int i = 0; i < n; i++)
            b[i] = badge(i);
        clr_association_t *as = calloc((size_t)n, sizeof *as);
        for (int i = 1; i < n; i++)
            as[i - 1] = (clr_association_t){
                "precedes",
                json_string_value(json_object_get(
                    json_object_get(json_object_get(b[i - 1], "credentialSubject"), "achievement"),
                    "id")),
                json_string_value(json_object_get(
                    json_object_get(json_object_get(b[i], "credentialSubject"), "achievement"),
                    "id"))};
        double *ti = calloc((size_t)rounds, sizeof *ti), *tv = calloc((size_t)rounds, sizeof *tv);
        size_t bytes = 0;
        const char *verdict = "?";
        for (int r = 0; r < rounds; r++) {
            clr_input_t in = {.id = "urn:uuid:5f0c3a4e-1d2b-4c3d-8e9f-0a1b2c3d4e5f",
                              .issuer = {did, "Lincoln School", NULL, NULL, NULL},
                              .valid_from_ms = T0,
                              .name = "Comprehensive Learner Record",
                              .learner_id = "s-1001",
                              .salt = "abcd",
                              .credentials = (const json_t *const *)b,
                              .n_credentials = (size_t)n,
                              .associations = as,
                              .n_associations = (size_t)(n - 1)};
            err_detail_t d;
            json_t *doc = NULL, *o = options();
            double t = now();
            if (clr_build(&in, &doc, &d) != 0 || dataint_rdfc_sign(jl, doc, o, key, &d) != 0) {
                fprintf(stderr, "bench_clr: transcript of %d: %s\n", n, d.message);
                return 1;
            }
            char *text = json_dumps(doc, JSON_COMPACT);
            ti[r] = (now() - t) * 1000.0;
            bytes = strlen(text);
            verify_input_t vin;
            memset(&vin, 0, sizeof vin);
            vin.badge = (verify_blob_t){text, bytes};
            vin.now_ms = T0 + 1000;
            vin.rdfc = rdfc_hook;
            verify_result_t res;
            t = now();
            if (verify_badge(&vin, &res) != 0)
                return 1;
            tv[r] = (now() - t) * 1000.0;
            verdict = res.verdict;
            verify_result_free(&res);
            free(text);
            json_decref(doc);
            json_decref(o);
        }
        qsort(ti, (size_t)rounds, sizeof *ti, cmp);
        qsort(tv, (size_t)rounds, sizeof *tv, cmp);
        printf("%-8d %12zu %14.1f %14.1f %10s\n", n, bytes, ti[rounds / 2], tv[rounds / 2],
               verdict);
        for (int i = 0; i < n; i++)
            json_decref(b[i]);
        free(b);
        free(as);
        free(ti);
        free(tv);
    }
    jsonld_destroy(&jl);
    keys_destroy(&key);
    return 0;
}
