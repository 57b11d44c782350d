/*
 * bench_issue: Open Badges 3.0 issuance and verification rates on one core.
 *
 * Cases (each run ROUNDS times for SECONDS; the median rate is printed):
 *   raw Ed25519 sign of the 64-byte hashData (the floor under every DI proof),
 *   issue DI: cred_issue(CRED_FORM_DI) = build + JCS + SHA-256 + Ed25519 + canonical text,
 *   issue JWT EdDSA, issue DI + JWT, issue JWT RS256,
 *   verify DI and verify JWT through verify_badge() (what mastery-verify does, minus I/O).
 * Then, when node and tests/interop/node_modules exist, the Node stack (@digitalbazaar/vc +
 * eddsa-jcs-2022, and jose) issuing the same badge (tests/interop/issue.mjs), and the ratios.
 * Numbers only; nothing is asserted. Usage: bench_issue [seconds-per-round] [rounds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cred.h"
#include "dataint_rdfc.h"
#include "issuer.h"
#include "jsonld.h"
#include "keys.h"
#include "verify.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct bench {
    jsonld_t *jl;
    keys_t *key, *rsa;
    char did[KEYS_DID_MAX], vm[KEYS_VM_ID_MAX];
    cred_ctx_t *ctx;
    cred_input_t in;
    cred_evidence_t ev[3];
    char id[CRED_URN_UUID_MAX];
    char *badge_json, *badge_jwt;
    uint8_t hash[64];
    unsigned long counter;
} bench_t;

typedef int (*op_fn)(bench_t *b);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Runs op for rounds x seconds; prints and returns the median rate. */
static double run(const char *name, op_fn op, bench_t *b, double seconds, int rounds)
{
    double rates[32];
    for (int i = 0; i < 50; i++)
        if (op(b) != 0) {
            fprintf(stderr, "%s: operation failed\n", name);
            exit(1);
        }
    for (int r = 0; r < rounds; r++) {
        long n = 0;
        double start = now(), elapsed;
        do {
            for (int i = 0; i < 20; i++)
                if (op(b) != 0) {
                    fprintf(stderr, "%s: operation failed\n", name);
                    exit(1);
                }
            n += 20;
            elapsed = now() - start;
        } while (elapsed < seconds);
        rates[r] = (double)n / elapsed;
    }
    qsort(rates, (size_t)rounds, sizeof rates[0], cmp_double);
    double med = rates[rounds / 2];
    printf("%-46s %9.0f /s %8.2f us   (min %.0f, max %.0f)\n", name, med, 1e6 / med, rates[0],
           rates[rounds - 1]);
    fflush(stdout);
    return med;
}

/* A fresh id per credential, as the daemon does (no RAND_bytes cost in the loop). */
static void next_id(bench_t *b)
{
    uint8_t rnd[16] = {0};
    memcpy(rnd, &b->counter, sizeof b->counter);
    b->counter++;
    cred_urn_uuid(rnd, b->id, sizeof b->id);
    b->in.id = b->id;
}

static int issue(bench_t *b, int forms, keys_t *jwt_key)
{
    next_id(b);
    cred_signer_t s = {b->key, b->vm, jwt_key, NULL};
    cred_signed_t out;
    int rc = cred_issue(b->ctx, &b->in, &s, forms, &out, NULL, NULL);
    cred_signed_free(&out);
    return rc;
}

static int op_raw_sign(bench_t *b)
{
    uint8_t sig[64];
    size_t n;
    b->hash[0]++;
    return keys_sign(b->key, b->hash, sizeof b->hash, sig, sizeof sig, &n, NULL);
}

static int op_di(bench_t *b)
{
    return issue(b, CRED_FORM_DI, NULL);
}

/* The same through the public two-pass path: cred_build + cred_sign_di + cred_text. */
static int op_di_two_pass(bench_t *b)
{
    next_id(b);
    json_t *doc = NULL;
    char *text = NULL;
    size_t len;
    int rc = cred_build(&b->in, &doc, NULL);
    if (rc == 0)
        rc = cred_sign_di(b->ctx, doc, b->key, b->vm, b->in.valid_from_ms, NULL);
    if (rc == 0)
        rc = cred_text(b->ctx, doc, &text, &len, NULL);
    free(text);
    json_decref(doc);
    return rc;
}

static int op_jwt(bench_t *b)
{
    return issue(b, CRED_FORM_JWT, NULL);
}

static int op_both(bench_t *b)
{
    return issue(b, CRED_FORM_DI | CRED_FORM_JWT, NULL);
}

static int op_rs256(bench_t *b)
{
    return issue(b, CRED_FORM_JWT, b->rsa);
}

static int verify_text(const char *text)
{
    verify_input_t in;
    memset(&in, 0, sizeof in);
    in.badge.data = text;
    in.badge.len = strlen(text);
    in.now_ms = 1795169700000LL;
    verify_result_t res;
    if (verify_badge(&in, &res) != 0)
        return -1;
    int rc = res.valid ? 0 : -1;
    verify_result_free(&res);
    return rc;
}

static int op_verify_di(bench_t *b)
{
    return verify_text(b->badge_json);
}

static int op_verify_jwt(bench_t *b)
{
    return verify_text(b->badge_jwt);
}

/* Runs the Node stack on the same badge; returns 0 and the rates when it ran. */
/* What the daemon does by default: build, eddsa-rdfc-2022 proof (toRdf + RDFC-1.0 of the
 * document and the proof configuration, SHA-256, Ed25519), canonical text. */
static int op_rdfc(bench_t *b)
{
    json_t *doc = NULL, *proof = NULL;
    char *text = NULL;
    size_t len;
    next_id(b);
    json_t *opts = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "DataIntegrityProof",
                             "cryptosuite", "eddsa-rdfc-2022", "created", "2026-11-20T10:15:00Z",
                             "verificationMethod", b->vm, "proofPurpose", "assertionMethod");
    int rc = cred_build(&b->in, &doc, NULL);
    if (rc == 0)
        rc = dataint_rdfc_proof_create(b->jl, doc, opts, b->key, &proof, NULL);
    if (rc == 0) {
        json_t *set = json_array();
        json_array_append_new(set, proof);
        json_object_set_new(doc, "proof", set);
        rc = cred_text(b->ctx, doc, &text, &len, NULL);
    }
    free(text);
    json_decref(opts);
    json_decref(doc);
    return rc;
}

static double node_rdfc_rate;

static int node_rates(const char *badge_path, double *di, double *jwt)
{
    char dir[512], cmd[2048], line[512];
    snprintf(dir, sizeof dir, "%s/tests/interop", MASTERY_SOURCE_DIR);
    snprintf(cmd, sizeof cmd, "%s/node_modules", dir);
    if (access(cmd, F_OK) != 0) {
        printf("node stack: skipped (no %s; run npm ci there)\n", cmd);
        return -1;
    }
    snprintf(cmd, sizeof cmd,
             "node '%s/issue.mjs' --vectors '%s' --badge '%s' --n 2000 2>/dev/null", dir,
             MASTERY_VECTORS, badge_path);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    int ok = fgets(line, sizeof line, p) != NULL;
    int rc = pclose(p);
    if (!ok || rc != 0) {
        printf("node stack: skipped (node failed or is not installed)\n");
        return -1;
    }
    json_t *o = json_loads(line, 0, NULL);
    *di = json_number_value(json_object_get(o, "di_per_second"));
    *jwt = json_number_value(json_object_get(o, "jwt_per_second"));
    node_rdfc_rate = json_number_value(json_object_get(o, "rdfc_per_second"));
    json_decref(o);
    return *di > 0 && *jwt > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? strtod(argv[1], NULL) : 0.5;
    int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
    if (seconds <= 0)
        seconds = 0.5;
    if (rounds < 1 || rounds > 31)
        rounds = 5;
    bench_t b;
    memset(&b, 0, sizeof b);
    uint8_t seed[32];
    memset(seed, 1, sizeof seed);
    if (keys_from_seed(seed, &b.key, NULL) != 0 || keys_generate(KEYS_RSA, &b.rsa, NULL) != 0 ||
        cred_ctx_new(&b.ctx) != 0 || (b.jl = jsonld_new()) == NULL)
        return 1;
    keys_did_key(b.key, b.did, sizeof b.did);
    keys_vm_id(b.key, b.vm, sizeof b.vm);

    /* The badge make_badge issues (DESIGN.md's example competency), hashed learner, three
     * evidence items, a revocation entry. */
    cred_input_t *in = &b.in;
    cred_input_init(in);
    in->issuer =
        (cred_issuer_t){b.did, "Lincoln Elementary", "https://lincoln.example.edu",
                        "registrar@lincoln.example.edu", "https://lincoln.example.edu/logo.png"};
    in->valid_from_ms = 1795169700000LL;
    in->framework_id = "urn:example:math:fractions-g5";
    in->framework_version = "2026.1";
    in->competency_id = "frac.add-like";
    in->competency_title = "Add fractions with like denominators";
    in->name = "Adding fractions";
    in->description = "Adds fractions with like denominators.";
    in->criteria = "Latest score 80% or better.";
    in->image = "https://lincoln.example.edu/badges/frac-add.png";
    in->source_uri = "https://case.example.org/uri/6b6d1f1a-frac-add";
    in->source_is_case = true;
    in->learner_id = "s-1001";
    in->salt = "9f2c4e1a7b3d5f60";
    b.ev[0] = (cred_evidence_t){"quiz-77-s1001-q3", "https://quiz.example/r/77", NULL};
    b.ev[1] = (cred_evidence_t){"quiz-78-s1001-q1", "https://quiz.example/r/78", NULL};
    b.ev[2] = (cred_evidence_t){"quiz-80-s1001-q2", NULL, NULL};
    in->evidence = b.ev;
    in->n_evidence = 3;
    in->revocation = (cred_status_t){"https://lincoln.example.edu/status/revocation", 94567};

    next_id(&b);
    cred_signer_t s = {b.key, b.vm, NULL, NULL};
    cred_signed_t out;
    if (cred_issue(b.ctx, in, &s, CRED_FORM_DI | CRED_FORM_JWT, &out, NULL, NULL) != 0)
        return 1;
    b.badge_json = out.json;
    b.badge_jwt = out.jwt;
    printf("badge: %zu bytes JSON (canonical, with proof), %zu bytes JWT; %.2f s x %d rounds, "
           "medians\n",
           out.json_len, out.jwt_len, seconds, rounds);

    double raw =
        run("Ed25519 sign of hashData (64 B), the floor", op_raw_sign, &b, seconds, rounds);
    double di = run("issue eddsa-jcs-2022 (build+JCS+sign+text)", op_di, &b, seconds, rounds);
    double rdfc =
        run("issue eddsa-rdfc-2022 (build+toRdf+RDFC+sign)", op_rdfc, &b, seconds, rounds);
    run("  same, two serialisations (sign_di + text)", op_di_two_pass, &b, seconds, rounds);
    double jwt = run("issue VC-JWT EdDSA", op_jwt, &b, seconds, rounds);
    run("issue both forms (DI + JWT EdDSA)", op_both, &b, seconds, rounds);
    run("issue VC-JWT RS256 (RSA-2048)", op_rs256, &b, seconds, rounds);
    run("verify eddsa-jcs-2022 badge (verify_badge)", op_verify_di, &b, seconds, rounds);
    run("verify VC-JWT EdDSA badge (verify_badge)", op_verify_jwt, &b, seconds, rounds);
    printf("DI issuance is %.0f%% (jcs) and %.0f%% (rdfc) of the raw signing rate\n",
           100.0 * di / raw, 100.0 * rdfc / raw);

    char path[] = "/tmp/bench_issue_badge_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) {
        FILE *f = fdopen(fd, "w");
        fputs(b.badge_json, f);
        fclose(f);
        double ndi = 0, njwt = 0;
        if (node_rates(path, &ndi, &njwt) == 0) {
            printf("%-46s %9.0f /s\n", "node: @digitalbazaar/vc eddsa-jcs-2022 issue", ndi);
            printf("%-46s %9.0f /s\n", "node: jose VC-JWT EdDSA sign", njwt);
            printf("ratio C/node: eddsa-jcs-2022 %.1fx, VC-JWT %.1fx\n", di / ndi, jwt / njwt);
            if (node_rdfc_rate > 0) {
                printf("%-46s %9.0f /s\n", "node: @digitalbazaar/vc eddsa-rdfc-2022 issue",
                       node_rdfc_rate);
                printf("ratio C/node: eddsa-rdfc-2022 %.1fx\n", rdfc / node_rdfc_rate);
            }
        }
        unlink(path);
    }
    cred_signed_free(&out);
    cred_ctx_destroy(&b.ctx);
    keys_destroy(&b.key);
    keys_destroy(&b.rsa);
    jsonld_destroy(&b.jl);
    return 0;
}
