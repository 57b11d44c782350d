/*
 * make_badge: a test tool that issues what masteryd will issue, through the same library
 * (cred, statuslist, issuer, keys), so the verifier, the schema check and the interop peer
 * have real artefacts to check. Test keys come from a seed byte (32 copies of it), so runs
 * are reproducible. Not installed; never used with real keys.
 *
 *   make_badge badge [--seed-byte N] [--issuer-seed-byte N] [--did-web DOMAIN]
 *                    [--format json|jwt|jwt-rs256] [--rsa-key FILE] [--id URN]
 *                    [--valid-from T] [--valid-until T] [--name TEXT]
 *                    [--learner-did DID | --learner-id ID [--salt S]]
 *                    [--source-uri URI [--case]] [--evidence ID[=URL]]...
 *                    [--revocation-list URL --revocation-index N]
 *                    [--suspension-list URL --suspension-index N]
 *   make_badge status-list --purpose P --url URL [--set N]... [--seed-byte N]
 *                    [--did-web DOMAIN] [--valid-from T] [--valid-until T]
 *   make_badge did-document --did-web DOMAIN [--seed-byte N]... [--rsa-key FILE]
 *   make_badge did [--seed-byte N] [--did-web DOMAIN]
 *   make_badge rsa-keygen FILE
 *   make_badge canon FILE   (the RDFC-1.0 canonical N-Quads of a JSON-LD document without its
 *                            "proof", what eddsa-rdfc-2022 hashes; for the interop peer)
 * Output goes to stdout (JSON documents as canonical text). Exit 0, or 2 with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cred.h"
#include "dataint_rdfc.h"
#include "jsonld.h"
#include "isotime.h"
#include "issuer.h"
#include "keys.h"
#include "statuslist.h"

#define MAX_MULTI 64

typedef struct opts {
    int seed[MAX_MULTI];
    int n_seed;
    int issuer_seed;
    const char *did_web_domain;
    const char *format;
    const char *rsa_key;
    const char *id;
    const char *valid_from, *valid_until;
    const char *name;
    const char *learner_did, *learner_id, *salt;
    const char *source_uri;
    int is_case;
    char *evidence[MAX_MULTI];
    int n_evidence;
    const char *rev_list, *sus_list;
    long rev_index, sus_index;
    const char *purpose, *url;
    long set[MAX_MULTI];
    int n_set;
} opts_t;

static void die(const char *what, const err_detail_t *d)
{
    fprintf(stderr, "make_badge: %s%s%s\n", what, d != NULL ? ": " : "",
            d != NULL ? d->message : "");
    exit(2);
}

static keys_t *seed_key(int b)
{
    uint8_t seed[32];
    memset(seed, b, sizeof seed);
    keys_t *k = NULL;
    if (keys_from_seed(seed, &k, NULL) != 0)
        die("cannot make the key", NULL);
    return k;
}

static int64_t parse_time(const char *t, int64_t dflt)
{
    if (t == NULL)
        return dflt;
    int64_t ms;
    err_detail_t d;
    if (isotime_parse(t, strlen(t), &ms, &d) != 0)
        die("bad time", &d);
    return ms;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000;
}

static long parse_long(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0)
        die("bad number", NULL);
    return v;
}

static void parse(int argc, char **argv, opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->issuer_seed = -1;
    o->format = "json";
    o->rev_index = o->sus_index = -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--case") == 0) {
            o->is_case = 1;
            continue;
        }
        if (v == NULL)
            die("an option needs a value", NULL);
        i++;
        if (strcmp(a, "--seed-byte") == 0 && o->n_seed < MAX_MULTI)
            o->seed[o->n_seed++] = (int)parse_long(v);
        else if (strcmp(a, "--issuer-seed-byte") == 0)
            o->issuer_seed = (int)parse_long(v);
        else if (strcmp(a, "--did-web") == 0)
            o->did_web_domain = v;
        else if (strcmp(a, "--format") == 0)
            o->format = v;
        else if (strcmp(a, "--rsa-key") == 0)
            o->rsa_key = v;
        else if (strcmp(a, "--id") == 0)
            o->id = v;
        else if (strcmp(a, "--valid-from") == 0)
            o->valid_from = v;
        else if (strcmp(a, "--valid-until") == 0)
            o->valid_until = v;
        else if (strcmp(a, "--name") == 0)
            o->name = v;
        else if (strcmp(a, "--learner-did") == 0)
            o->learner_did = v;
        else if (strcmp(a, "--learner-id") == 0)
            o->learner_id = v;
        else if (strcmp(a, "--salt") == 0)
            o->salt = v;
        else if (strcmp(a, "--source-uri") == 0)
            o->source_uri = v;
        else if (strcmp(a, "--evidence") == 0 && o->n_evidence < MAX_MULTI)
            o->evidence[o->n_evidence++] = argv[i];
        else if (strcmp(a, "--revocation-list") == 0)
            o->rev_list = v;
        else if (strcmp(a, "--revocation-index") == 0)
            o->rev_index = parse_long(v);
        else if (strcmp(a, "--suspension-list") == 0)
            o->sus_list = v;
        else if (strcmp(a, "--suspension-index") == 0)
            o->sus_index = parse_long(v);
        else if (strcmp(a, "--purpose") == 0)
            o->purpose = v;
        else if (strcmp(a, "--url") == 0)
            o->url = v;
        else if (strcmp(a, "--set") == 0 && o->n_set < MAX_MULTI)
            o->set[o->n_set++] = parse_long(v);
        else {
            fprintf(stderr, "make_badge: unknown option %s\n", a);
            exit(2);
        }
    }
    if (o->n_seed == 0)
        o->seed[o->n_seed++] = 1;
}

static void did_web_of(const opts_t *o, char *out, size_t cap)
{
    out[0] = '\0';
    err_detail_t d;
    if (o->did_web_domain != NULL && issuer_did_web(o->did_web_domain, out, cap, &d) != 0)
        die("bad --did-web", &d);
}

static void print_doc(const json_t *doc)
{
    cred_ctx_t *ctx = NULL;
    char *text = NULL;
    size_t len = 0;
    err_detail_t d;
    if (cred_ctx_new(&ctx) != 0 || cred_text(ctx, doc, &text, &len, &d) != 0)
        die("cannot serialise", NULL);
    fwrite(text, 1, len, stdout);
    putchar('\n');
    free(text);
    cred_ctx_destroy(&ctx);
}

static int cmd_badge(const opts_t *o)
{
    char did_web[ISSUER_DID_MAX], did[ISSUER_DID_MAX], vm[ISSUER_VM_ID_MAX], id[CRED_URN_UUID_MAX];
    did_web_of(o, did_web, sizeof did_web);
    keys_t *k = seed_key(o->seed[0]), *rsa = NULL;
    keys_t *ik = o->issuer_seed >= 0 ? seed_key(o->issuer_seed) : NULL;
    err_detail_t d;
    if (issuer_did(ik != NULL ? ik : k, did_web, did, sizeof did) != 0 ||
        issuer_vm_id(k, did_web, vm, sizeof vm) != 0)
        die("cannot name the issuer", NULL);
    cred_input_t in;
    cred_input_init(&in);
    if (o->id == NULL)
        cred_urn_uuid_random(id, sizeof id);
    in.id = o->id != NULL ? o->id : id;
    in.issuer =
        (cred_issuer_t){did, "Lincoln Elementary", "https://lincoln.example.edu",
                        "registrar@lincoln.example.edu", "https://lincoln.example.edu/logo.png"};
    in.valid_from_ms = parse_time(o->valid_from, now_ms());
    in.valid_until_ms = parse_time(o->valid_until, 0);
    in.framework_id = "urn:example:math:fractions-g5";
    in.framework_version = "2026.1";
    in.competency_id = "frac.add-like";
    in.competency_title = "Add fractions with like denominators";
    in.name = o->name != NULL ? o->name : "Adding fractions";
    in.description = "Adds fractions with like denominators.";
    in.criteria = "Latest score 80% or better.";
    in.image = "https://lincoln.example.edu/badges/frac-add.png";
    in.source_uri = o->source_uri;
    in.source_is_case = o->is_case != 0;
    in.learner_did = o->learner_did;
    in.learner_id = o->learner_id != NULL ? o->learner_id : "s-1001";
    in.salt = o->salt;
    cred_evidence_t ev[MAX_MULTI];
    for (int i = 0; i < o->n_evidence; i++) {
        char *eq = strchr(o->evidence[i], '=');
        if (eq != NULL)
            *eq = '\0';
        ev[i] = (cred_evidence_t){o->evidence[i], eq != NULL ? eq + 1 : NULL, NULL};
    }
    in.evidence = ev;
    in.n_evidence = (size_t)o->n_evidence;
    if (o->rev_list != NULL)
        in.revocation =
            (cred_status_t){o->rev_list, (uint32_t)(o->rev_index < 0 ? 5 : o->rev_index)};
    if (o->sus_list != NULL)
        in.suspension =
            (cred_status_t){o->sus_list, (uint32_t)(o->sus_index < 0 ? 5 : o->sus_index)};

    cred_signer_t signer = {k, vm, NULL, NULL};
    char rsa_vm[ISSUER_VM_ID_MAX];
    int forms = CRED_FORM_DI;
    if (strcmp(o->format, "jwt") == 0)
        forms = CRED_FORM_JWT;
    else if (strcmp(o->format, "jwt-rs256") == 0) {
        forms = CRED_FORM_JWT;
        if (o->rsa_key == NULL || keys_load(o->rsa_key, &rsa, &d) != 0)
            die("jwt-rs256 needs --rsa-key FILE", o->rsa_key != NULL ? &d : NULL);
        if (issuer_vm_id(rsa, did_web[0] ? did_web : did, rsa_vm, sizeof rsa_vm) != 0)
            die("cannot name the RSA key", NULL);
        signer.jwt_key = rsa;
        signer.jwt_kid = rsa_vm;
    } else if (strcmp(o->format, "json") != 0)
        die("--format is json, jwt or jwt-rs256", NULL);
    cred_ctx_t *ctx = NULL;
    cred_signed_t out;
    if (cred_ctx_new(&ctx) != 0 || cred_issue(ctx, &in, &signer, forms, &out, NULL, &d) != 0)
        die("cannot issue", &d);
    if (out.json != NULL)
        printf("%s\n", out.json);
    else
        printf("%s\n", out.jwt);
    cred_signed_free(&out);
    cred_ctx_destroy(&ctx);
    keys_destroy(&k);
    keys_destroy(&ik);
    keys_destroy(&rsa);
    return 0;
}

static int cmd_status_list(const opts_t *o)
{
    char did_web[ISSUER_DID_MAX], did[ISSUER_DID_MAX], vm[ISSUER_VM_ID_MAX];
    did_web_of(o, did_web, sizeof did_web);
    keys_t *k = seed_key(o->seed[0]);
    keys_t *ik = o->issuer_seed >= 0 ? seed_key(o->issuer_seed) : NULL;
    if (issuer_did(ik != NULL ? ik : k, did_web, did, sizeof did) != 0 ||
        issuer_vm_id(k, did_web, vm, sizeof vm) != 0)
        die("cannot name the issuer", NULL);
    statuslist_t *l = NULL;
    if (statuslist_new(STATUSLIST_MIN_BITS, &l) != 0)
        die("no memory", NULL);
    for (int i = 0; i < o->n_set; i++)
        if (statuslist_set(l, (uint32_t)o->set[i], true) != 0)
            die("--set index out of range", NULL);
    int64_t from = parse_time(o->valid_from, now_ms());
    statuslist_cred_t c = {o->url, did, o->purpose, from, parse_time(o->valid_until, 0)};
    json_t *doc = NULL;
    cred_ctx_t *ctx = NULL;
    err_detail_t d;
    if (o->url == NULL || o->purpose == NULL)
        die("status-list needs --purpose and --url", NULL);
    if (statuslist_credential(l, &c, &doc, &d) != 0 || cred_ctx_new(&ctx) != 0 ||
        cred_sign_di(ctx, doc, k, vm, from, &d) != 0)
        die("cannot build the status list", &d);
    print_doc(doc);
    json_decref(doc);
    cred_ctx_destroy(&ctx);
    statuslist_destroy(&l);
    keys_destroy(&k);
    keys_destroy(&ik);
    return 0;
}

static int cmd_did_document(const opts_t *o)
{
    char did_web[ISSUER_DID_MAX];
    did_web_of(o, did_web, sizeof did_web);
    if (did_web[0] == '\0')
        die("did-document needs --did-web DOMAIN", NULL);
    keys_t *keys[MAX_MULTI + 1];
    size_t n = 0;
    err_detail_t d;
    for (int i = 0; i < o->n_seed; i++)
        keys[n++] = seed_key(o->seed[i]);
    if (o->rsa_key != NULL) {
        if (keys_load(o->rsa_key, &keys[n], &d) != 0)
            die("cannot load --rsa-key", &d);
        n++;
    }
    json_t *doc = NULL;
    if (issuer_did_document(did_web, (const keys_t *const *)keys, n, &doc, &d) != 0)
        die("cannot build the DID document", &d);
    print_doc(doc);
    json_decref(doc);
    for (size_t i = 0; i < n; i++)
        keys_destroy(&keys[i]);
    return 0;
}

int main(int argc, char **argv)
{
    opts_t o;
    if (argc < 2) {
        fprintf(stderr, "usage: make_badge badge|status-list|did-document|did|rsa-keygen ...\n");
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "rsa-keygen") == 0) {
        keys_t *k = NULL;
        err_detail_t d;
        if (argc != 3 || keys_generate(KEYS_RSA, &k, &d) != 0 ||
            keys_save(k, argv[2], KEYS_SAVE_REPLACE, &d) != 0)
            die("rsa-keygen FILE failed", NULL);
        keys_destroy(&k);
        return 0;
    }
    if (strcmp(cmd, "canon") == 0) {
        json_error_t je;
        err_detail_t d;
        json_t *doc = argc == 3 ? json_load_file(argv[2], JSON_REJECT_DUPLICATES, &je) : NULL;
        if (doc == NULL)
            die("canon FILE: not a JSON file", NULL);
        json_object_del(doc, "proof");
        jsonld_t *jl = jsonld_new();
        char *out = NULL;
        size_t len = 0;
        if (jl == NULL || dataint_rdfc_canonize(jl, doc, &out, &len, &d) != 0)
            die("canon failed", jl ? &d : NULL);
        fwrite(out, 1, len, stdout);
        free(out);
        jsonld_destroy(&jl);
        json_decref(doc);
        return 0;
    }
    parse(argc, argv, &o);
    if (strcmp(cmd, "badge") == 0)
        return cmd_badge(&o);
    if (strcmp(cmd, "status-list") == 0)
        return cmd_status_list(&o);
    if (strcmp(cmd, "did-document") == 0)
        return cmd_did_document(&o);
    if (strcmp(cmd, "did") == 0) {
        char did_web[ISSUER_DID_MAX], did[ISSUER_DID_MAX];
        did_web_of(&o, did_web, sizeof did_web);
        keys_t *k = seed_key(o.seed[0]);
        if (issuer_did(k, did_web, did, sizeof did) != 0)
            die("cannot name the issuer", NULL);
        printf("%s\n", did);
        keys_destroy(&k);
        return 0;
    }
    fprintf(stderr, "make_badge: unknown command %s\n", cmd);
    return 2;
}
