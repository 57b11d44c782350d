/*
 * mastery-verify: the auditor's offline verifier for masteryd's Open Badges 3.0 credentials.
 *
 *   mastery-verify BADGE [--status-list FILE]... [--did-document FILE] [--json] [--now TIME]
 *
 * BADGE is a file holding a JSON credential or a VC-JWT ("-" reads stdin). Checks the proof,
 * that the key belongs to the issuer (did:key derived; did:web from --did-document), the
 * proof purpose, validFrom/validUntil against --now (RFC 3339; default: the clock), and
 * revocation/suspension against the given status list credentials (whose proofs it checks).
 * No network, no daemon.
 *
 * Output: "VALID <id>" or one "INVALID: <reason>" line per reason (stdout), warnings as
 * "warning: ..." (stderr). --json prints {"valid":..,"reasons":[..],"warnings":[..],
 * "checks":{..}} instead. Exit 0 valid, 1 invalid, 2 usage or I/O error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataint_rdfc.h"
#include "isotime.h"
#include "jsonld.h"
#include "verify.h"

/*
 * eddsa-rdfc-2022 for the verifier: proof (one member of the secured document's proof set)
 * verified over the document, through JSON-LD toRdf (safe mode: the badge's contexts only, no
 * network) and RDFC-1.0. The proof set is narrowed to that one proof for the check.
 */
static int verify_rdfc(const json_t *secured, const json_t *proof, keys_t *key, err_detail_t *d)
{
    static jsonld_t *jl;
    if (jl == NULL && (jl = jsonld_new()) == NULL)
        return err_set(d, ERR_NOMEM, "proof", "out of memory");
    json_t *one = json_copy((json_t *)secured);
    json_t *set = json_array();
    if (one == NULL || set == NULL || json_array_append(set, (json_t *)proof) != 0 ||
        json_object_set_new(one, "proof", set) != 0) {
        json_decref(one);
        return err_set(d, ERR_NOMEM, "proof", "out of memory");
    }
    const json_t *verified = NULL;
    int rc = dataint_rdfc_proof_verify(jl, one, key, &verified, d);
    json_decref(one);
    return rc;
}

#define FILE_MAX (VERIFY_MAX_INPUT + 1)

static void usage(void)
{
    fprintf(stderr, "usage: mastery-verify BADGE [--status-list FILE]... [--did-document FILE] "
                    "[--json] [--now TIME]\n");
    exit(2);
}

/* Reads at most FILE_MAX bytes (one more than the verifier accepts, so it can say "too
 * large"). Exits 2 on I/O errors. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "mastery-verify: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    char *buf = malloc(FILE_MAX + 1);
    if (buf == NULL) {
        fprintf(stderr, "mastery-verify: out of memory\n");
        exit(2);
    }
    size_t n = fread(buf, 1, FILE_MAX, f);
    if (ferror(f)) {
        fprintf(stderr, "mastery-verify: %s: read error\n", path);
        exit(2);
    }
    if (f != stdin)
        fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    const char *badge_path = NULL, *did_path = NULL, *now_text = NULL;
    const char *list_paths[VERIFY_MAX_LISTS];
    size_t n_lists = 0;
    int json_out = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0)
            json_out = 1;
        else if (strcmp(a, "--status-list") == 0 && i + 1 < argc) {
            if (n_lists == VERIFY_MAX_LISTS) {
                fprintf(stderr, "mastery-verify: at most %d status lists\n", VERIFY_MAX_LISTS);
                return 2;
            }
            list_paths[n_lists++] = argv[++i];
        } else if (strcmp(a, "--did-document") == 0 && i + 1 < argc)
            did_path = argv[++i];
        else if (strcmp(a, "--now") == 0 && i + 1 < argc)
            now_text = argv[++i];
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            usage();
        else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "mastery-verify: unknown option %s\n", a);
            usage();
        } else if (badge_path == NULL)
            badge_path = a;
        else
            usage();
    }
    if (badge_path == NULL)
        usage();

    verify_input_t in;
    memset(&in, 0, sizeof in);
    in.rdfc = verify_rdfc;
    if (now_text != NULL) {
        err_detail_t d;
        if (isotime_parse(now_text, strlen(now_text), &in.now_ms, &d) != 0) {
            fprintf(stderr, "mastery-verify: --now: not an RFC 3339 time: %s\n", now_text);
            return 2;
        }
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        in.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    char *badge = slurp(badge_path, &in.badge.len);
    in.badge.data = badge;
    char *did = NULL;
    if (did_path != NULL) {
        did = slurp(did_path, &in.did_document.len);
        in.did_document.data = did;
    }
    verify_blob_t lists[VERIFY_MAX_LISTS];
    char *list_data[VERIFY_MAX_LISTS];
    for (size_t i = 0; i < n_lists; i++) {
        list_data[i] = slurp(list_paths[i], &lists[i].len);
        lists[i].data = list_data[i];
    }
    in.status_lists = lists;
    in.n_status_lists = n_lists;

    verify_result_t res;
    if (verify_badge(&in, &res) != 0) {
        fprintf(stderr, "mastery-verify: out of memory\n");
        return 2;
    }
    if (json_out) {
        json_t *o = json_pack("{s:b,s:O,s:O,s:O}", "valid", res.valid, "reasons", res.reasons,
                              "warnings", res.warnings, "checks", res.checks);
        if (o == NULL || json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
            fprintf(stderr, "mastery-verify: out of memory\n");
            return 2;
        }
        putchar('\n');
        json_decref(o);
    } else {
        size_t i;
        json_t *s;
        json_array_foreach(res.warnings, i, s)
            fprintf(stderr, "warning: %s\n", json_string_value(s));
        if (res.valid)
            printf("VALID\n");
        json_array_foreach(res.reasons, i, s) printf("INVALID: %s\n", json_string_value(s));
    }
    int rc = res.valid ? 0 : 1;
    verify_result_free(&res);
    free(badge);
    free(did);
    for (size_t i = 0; i < n_lists; i++)
        free(list_data[i]);
    return rc;
}
