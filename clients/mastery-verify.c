/*
 * mastery-verify: the auditor's offline verifier for Open Badges 3.0 credentials (masteryd's,
 * or anyone's that use the same proofs). No network, no daemon. --help prints the manual.
 *
 * BADGE is a JSON credential, a VC-JWT, or a baked PNG or SVG ("-" reads stdin). Every check
 * that can run, runs (lib/vc/verify.h), and each is printed with its result; the issuer is
 * named first, as the credential states it. Exit 0 VALID, 1 INVALID / REVOKED / SUSPENDED,
 * 2 usage or I/O error.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bake.h"
#include "dataint_rdfc.h"
#include "isotime.h"
#include "jcs.h"
#include "jsonld.h"
#include "verify.h"

#define MAX_TRUSTED 1024

static const char HELP[] =
    "usage: mastery-verify BADGE [options]\n"
    "\n"
    "Checks an Open Badges 3.0 credential offline and says who issued it and whether each\n"
    "check passed. BADGE is a JSON credential, a VC-JWT, or a baked PNG or SVG image\n"
    "(\"-\": standard input), or a CLR 2.0 transcript: its own proof and each badge inside.\n"
    "\n"
    "options:\n"
    "  --status-list FILE     a status list credential (revocation, suspension) to check the\n"
    "                         badge against; repeatable. Without one, status is \"unchecked\".\n"
    "  --did-document FILE    the issuer's did:web DID document (its did.json).\n"
    "  --trust FILE           the issuers you accept: one DID (or issuer URL) a line (# "
    "comments),\n"
    "                         or a JSON DID document, or a JSON array of DIDs and DID documents.\n"
    "                         An issuer not in it fails the \"trust\" check; without --trust an\n"
    "                         issuer is reported as unknown (a warning: anyone can make a key).\n"
    "                         DID documents in it also serve as --did-document.\n"
    "  --recipient ID         the learner id the holder presents: checked against the badge's\n"
    "                         subject (its DID, or sha256(ID + salt) of its hashed identifier).\n"
    "  --max-status-age AGE   a status list signed longer ago than AGE fails (\"status_fresh\");\n"
    "                         AGE is a number with s, m, h or d (\"36h\", \"7d\"). A list past "
    "its\n"
    "                         validUntil always fails.\n"
    "  --now TIME             check at this RFC 3339 time instead of the clock.\n"
    "  --json                 print one JSON object: verdict, valid, issuer, credential, results\n"
    "                         (one {check, result, detail} per check), reasons, warnings, checks.\n"
    "  -h, --help             this text.\n"
    "\n"
    "checks: format, baked, parse, structure, ob3_shape, proof, proof_purpose, issuer_key,\n"
    "jwt_alg, trust, valid_from, valid_until, revocation, suspension, status_fresh, recipient;\n"
    "a CLR transcript also clr_credential_1, clr_credential_2, ... and clr_credentials.\n"
    "\n"
    "exit: 0 VALID; 1 INVALID, REVOKED or SUSPENDED (every reason printed); 2 usage or I/O.\n";

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

static void usage(void)
{
    fprintf(stderr, "usage: mastery-verify BADGE [--status-list FILE]... [--did-document FILE] "
                    "[--trust FILE]\n"
                    "       [--recipient ID] [--max-status-age AGE] [--now TIME] [--json]\n"
                    "Try 'mastery-verify --help'.\n");
    exit(2);
}

/* Reads at most max bytes, plus one (so the verifier can say "too large"). Exits 2 on I/O
 * errors. */
static char *slurp(const char *path, size_t max, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "mastery-verify: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    char *buf = malloc(max + 2);
    if (buf == NULL) {
        fprintf(stderr, "mastery-verify: out of memory\n");
        exit(2);
    }
    size_t n = fread(buf, 1, max + 1, f);
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

/* "36h", "7d", "90m", "600s", "600" (seconds). 0 on success. */
static int parse_age(const char *s, int64_t *ms)
{
    char *end = NULL;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || v == 0 || v > 100000000ull)
        return -1;
    int64_t unit = 1000;
    if (strcmp(end, "d") == 0)
        unit = 86400000;
    else if (strcmp(end, "h") == 0)
        unit = 3600000;
    else if (strcmp(end, "m") == 0)
        unit = 60000;
    else if (strcmp(end, "s") != 0 && *end != '\0')
        return -1;
    *ms = (int64_t)v * unit;
    return 0;
}

/* The trust file: DIDs and DID documents. Appends to trusted (strings owned by keep) and to
 * docs (serialized DID documents). Exits 2 on a malformed file, naming the line or entry. */
typedef struct trust {
    const char *ids[MAX_TRUSTED];
    size_t n;
    verify_blob_t docs[VERIFY_MAX_LISTS];
    size_t n_docs;
    json_t *keep; /* owns the JSON the strings point into */
    char *text;
} trust_t;

static void trust_add_id(trust_t *t, const char *id, const char *path, size_t where)
{
    if (t->n == MAX_TRUSTED) {
        fprintf(stderr, "mastery-verify: --trust %s: more than %d issuers\n", path, MAX_TRUSTED);
        exit(2);
    }
    if (id == NULL || id[0] == '\0') {
        fprintf(stderr, "mastery-verify: --trust %s: entry %zu has no DID\n", path, where);
        exit(2);
    }
    t->ids[t->n++] = id;
}

static void trust_add_json(trust_t *t, json_t *e, const char *path, size_t where)
{
    if (json_is_string(e)) {
        trust_add_id(t, json_string_value(e), path, where);
        return;
    }
    if (!json_is_object(e)) {
        fprintf(stderr,
                "mastery-verify: --trust %s: entry %zu is neither a DID nor a DID "
                "document\n",
                path, where);
        exit(2);
    }
    trust_add_id(t, json_string_value(json_object_get(e, "id")), path, where);
    if (t->n_docs == VERIFY_MAX_LISTS) {
        fprintf(stderr, "mastery-verify: --trust %s: more than %d DID documents\n", path,
                VERIFY_MAX_LISTS);
        exit(2);
    }
    char *text = json_dumps(e, JSON_COMPACT);
    if (text == NULL || json_array_append_new(t->keep, json_string(text)) != 0) {
        fprintf(stderr, "mastery-verify: out of memory\n");
        exit(2);
    }
    free(text);
    const char *kept = json_string_value(json_array_get(t->keep, json_array_size(t->keep) - 1));
    t->docs[t->n_docs].data = kept;
    t->docs[t->n_docs].len = strlen(kept);
    t->n_docs++;
}

static void trust_load(trust_t *t, const char *path)
{
    size_t len;
    t->text = slurp(path, VERIFY_MAX_INPUT, &len);
    if (len > VERIFY_MAX_INPUT) {
        fprintf(stderr, "mastery-verify: --trust %s: larger than %u bytes\n", path,
                VERIFY_MAX_INPUT);
        exit(2);
    }
    const char *p = t->text;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    if (*p == '{' || *p == '[') {
        json_t *doc = NULL;
        err_detail_t d;
        if (jcs_parse(t->text, len, &doc, &d) != 0) {
            fprintf(stderr, "mastery-verify: --trust %s: malformed JSON: %s\n", path, d.message);
            exit(2);
        }
        json_array_append_new(t->keep, doc);
        if (json_is_array(doc)) {
            size_t i;
            json_t *e;
            json_array_foreach(doc, i, e) trust_add_json(t, e, path, i + 1);
        } else
            trust_add_json(t, doc, path, 1);
        return;
    }
    /* one DID a line; '#' starts a comment; the text is ours, so cut it in place */
    size_t line = 0;
    for (char *s = t->text; s != NULL && *s != '\0';) {
        char *nl = strchr(s, '\n');
        if (nl != NULL)
            *nl = '\0';
        line++;
        char *hash = strchr(s, '#');
        if (hash != NULL)
            *hash = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        char *e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            *--e = '\0';
        if (*s != '\0') {
            if (strchr(s, ' ') != NULL || strchr(s, '\t') != NULL) {
                fprintf(stderr, "mastery-verify: --trust %s:%zu: one DID a line\n", path, line);
                exit(2);
            }
            trust_add_id(t, s, path, line);
        }
        s = nl ? nl + 1 : NULL;
    }
}

static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

static void print_text(const verify_result_t *res)
{
    const char *name = str_or(res->issuer, "name", NULL);
    const char *id = str_or(res->issuer, "id", NULL);
    const char *url = str_or(res->issuer, "url", NULL);
    if (id != NULL || name != NULL) {
        printf("issuer:      %s\n", name ? name : "(no name given)");
        printf("  DID:       %s\n", id ? id : "(none)");
        if (url != NULL)
            printf("  URL:       %s\n", url);
    }
    const char *cid = str_or(res->credential, "id", NULL);
    if (cid != NULL)
        printf("credential:  %s\n", cid);
    const char *ach = str_or(res->credential, "achievement", NULL);
    if (ach != NULL)
        printf("achievement: %s\n", ach);
    const char *vf = str_or(res->credential, "validFrom", NULL);
    const char *vu = str_or(res->credential, "validUntil", NULL);
    if (vf != NULL)
        printf("valid:       from %s%s%s\n", vf, vu ? " until " : "", vu ? vu : "");
    printf("checks:\n");
    size_t i;
    json_t *e;
    json_array_foreach(res->results, i, e)
    {
        const char *detail = str_or(e, "detail", NULL);
        printf("  %-13s %-9s%s%s\n", str_or(e, "check", "?"), str_or(e, "result", "?"),
               detail ? " " : "", detail ? detail : "");
    }
    json_array_foreach(res->warnings, i, e) fprintf(stderr, "warning: %s\n", json_string_value(e));
    json_array_foreach(res->reasons, i, e) printf("INVALID: %s\n", json_string_value(e));
    printf("%s\n", res->verdict);
}

int main(int argc, char **argv)
{
    const char *badge_path = NULL, *did_path = NULL, *now_text = NULL, *trust_path = NULL;
    const char *list_paths[VERIFY_MAX_LISTS];
    size_t n_lists = 0;
    int json_out = 0;
    verify_input_t in;
    memset(&in, 0, sizeof in);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--json") == 0)
            json_out = 1;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(HELP, stdout);
            return 0;
        } else if (strcmp(a, "--status-list") == 0 && has_value) {
            if (n_lists == VERIFY_MAX_LISTS) {
                fprintf(stderr, "mastery-verify: at most %d status lists\n", VERIFY_MAX_LISTS);
                return 2;
            }
            list_paths[n_lists++] = argv[++i];
        } else if (strcmp(a, "--did-document") == 0 && has_value)
            did_path = argv[++i];
        else if (strcmp(a, "--now") == 0 && has_value)
            now_text = argv[++i];
        else if (strcmp(a, "--trust") == 0 && has_value)
            trust_path = argv[++i];
        else if (strcmp(a, "--recipient") == 0 && has_value) {
            in.recipient = argv[++i];
            if (in.recipient[0] == '\0') {
                fprintf(stderr, "mastery-verify: --recipient: empty\n");
                return 2;
            }
        } else if (strcmp(a, "--max-status-age") == 0 && has_value) {
            if (parse_age(argv[++i], &in.max_status_age_ms) != 0) {
                fprintf(stderr,
                        "mastery-verify: --max-status-age: \"%s\" is not an age like 36h or 7d\n",
                        argv[i]);
                return 2;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            static const char *valued[] = {"--status-list", "--did-document", "--now",
                                           "--trust",       "--recipient",    "--max-status-age"};
            for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
                if (strcmp(a, valued[k]) == 0) {
                    fprintf(stderr, "mastery-verify: option %s needs a value\n", a);
                    usage();
                }
            fprintf(stderr, "mastery-verify: unknown option %s\n", a);
            usage();
        } else if (badge_path == NULL)
            badge_path = a;
        else
            usage();
    }
    if (badge_path == NULL)
        usage();

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
    trust_t trust;
    memset(&trust, 0, sizeof trust);
    trust.keep = json_array();
    if (trust_path != NULL) {
        trust_load(&trust, trust_path);
        in.trusted = trust.ids;
        in.n_trusted = trust.n;
        in.trust_given = true;
        in.did_documents = trust.docs;
        in.n_did_documents = trust.n_docs;
    }
    /* a baked image may be larger than a credential: the unbaker has its own bound */
    char *badge = slurp(badge_path, BAKE_MAX_IMAGE, &in.badge.len);
    in.badge.data = badge;
    char *did = NULL;
    if (did_path != NULL) {
        did = slurp(did_path, VERIFY_MAX_INPUT, &in.did_document.len);
        in.did_document.data = did;
    }
    verify_blob_t lists[VERIFY_MAX_LISTS];
    char *list_data[VERIFY_MAX_LISTS];
    for (size_t i = 0; i < n_lists; i++) {
        list_data[i] = slurp(list_paths[i], VERIFY_MAX_INPUT, &lists[i].len);
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
        json_t *o = json_pack("{s:s,s:b,s:O,s:O,s:O,s:O,s:O,s:O}", "verdict", res.verdict, "valid",
                              res.valid, "issuer", res.issuer, "credential", res.credential,
                              "results", res.results, "reasons", res.reasons, "warnings",
                              res.warnings, "checks", res.checks);
        if (o == NULL || json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
            fprintf(stderr, "mastery-verify: out of memory\n");
            return 2;
        }
        putchar('\n');
        json_decref(o);
    } else {
        print_text(&res);
    }
    int rc = res.valid ? 0 : 1;
    verify_result_free(&res);
    free(badge);
    free(did);
    free(trust.text);
    json_decref(trust.keep);
    for (size_t i = 0; i < n_lists; i++)
        free(list_data[i]);
    return rc;
}
