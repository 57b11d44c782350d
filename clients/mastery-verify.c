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
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bake.h"
#include "codec.h"
#include "dataint_rdfc.h"
#include "fileio.h"
#include "isotime.h"
#include "jcs.h"
#include "jsonld.h"
#include "logbundle.h"
#include "logentry.h"
#include "merkle.h"
#include "proof.h"
#include "receipt.h"
#include "verify.h"

#define MAX_TRUSTED  1024
#define MAX_LOG_KEYS 16

/* The moment checks are made at: --now (RFC 3339), else the clock. */
static int now_of(const char *now_text, int64_t *out)
{
    if (now_text != NULL) {
        err_detail_t d;
        if (isotime_parse(now_text, strlen(now_text), out, &d) != 0) {
            fprintf(stderr, "mastery-verify: --now: not an RFC 3339 time: %s\n", now_text);
            return -1;
        }
        return 0;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *out = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return 0;
}

static const char HELP[] =
    "usage: mastery-verify BADGE [options]\n"
    "       mastery-verify --erasure-receipt FILE [--learner ID] [--issuer FILE] [options]\n"
    "       mastery-verify log --monitor STATE_DIR --from EXPORT_DIR [--key VKEY]\n"
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
    "  --log-proof FILE       a log-proof bundle (masteryctl credential proof): the badge's\n"
    "                         log entries with their tlog-proofs. BADGE may be the bundle\n"
    "                         itself. Adds the checks log_key, log_entry, log_proof and\n"
    "                         log_evidence; any that fails makes the verdict INVALID.\n"
    "  --log-key VKEY         a note verifier key (name+hash+key) the log may sign with,\n"
    "                         besides the credential's own key; repeatable.\n"
    "  --json                 print one JSON object: verdict, valid, issuer, credential, results\n"
    "                         (one {check, result, detail} per check), reasons, warnings, checks.\n"
    "  -h, --help             this text.\n"
    "\n"
    "checks: format, baked, parse, structure, ob3_shape, proof, proof_purpose, issuer_key,\n"
    "jwt_alg, trust, valid_from, valid_until, revocation, suspension, status_fresh, recipient;\n"
    "a CLR transcript also clr_credential_1, clr_credential_2, ... and clr_credentials;\n"
    "with --log-proof: log_credential, log_key, log_entry, log_proof, log_evidence.\n"
    "\n"
    "log --monitor: follows a log's tlog-tiles export (its checkpoint, tile/ and\n"
    "tile/entries/ files) and keeps the last checkpoint it trusted in STATE_DIR. The first\n"
    "run needs --key (the log's note verifier key, kept as STATE_DIR/verifier). Each run\n"
    "verifies the new checkpoint's signature, a consistency proof from the trusted one\n"
    "(computed from the tiles), and that the new entries hash to the level-0 tiles. Exit 0\n"
    "and the new state; or FORK, ROLLBACK or INCONSISTENT with both checkpoints, exit 2,\n"
    "the old state kept.\n"
    "\n"
    "--erasure-receipt FILE: checks a learner's erasure receipt (masteryctl learner erase\n"
    "--receipt FILE) instead of a badge: its shape, its eddsa-jcs-2022 proof by the issuer's\n"
    "key (resolved as for a badge: did:key, or did:web with --did-document), and with\n"
    "  --learner ID           that SHA-256(commitmentSalt || ID) is its learnerCommitment\n"
    "                         (the receipt is about this learner; it never names them).\n"
    "  --issuer FILE          the issuer you expect: as --trust (a DID a line, a DID\n"
    "                         document, or a JSON array of them).\n"
    "  --log-proof FILE       the tlog-proof of the receipt's log entry (masteryctl log prove\n"
    "                         INDEX): its index and leaf hash are the receipt's, and its\n"
    "                         checkpoint is signed by the receipt's key (or a --log-key).\n"
    "  --trust, --did-document, --now, --log-key and --json as for a badge.\n"
    "checks: format, parse, structure, receipt_shape, proof_purpose, issuer_key, proof, trust,\n"
    "valid_from, learner; with --log-proof, log_proof.\n"
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
                    "       [--log-proof FILE [--log-key VKEY]...]\n"
                    "       mastery-verify --erasure-receipt FILE [--learner ID] [--issuer FILE]\n"
                    "       [--did-document FILE] [--log-proof FILE [--log-key VKEY]...] [--json]\n"
                    "       mastery-verify log --monitor STATE_DIR --from EXPORT_DIR [--key VKEY]\n"
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

/* --log-proof: each log check joins the credential's results, in the same shape. */
static void log_report(void *ctx, const char *check, bool ok, const char *detail)
{
    verify_result_t *res = ctx;
    const char *result = ok ? "ok" : "failed";
    json_t *e = json_pack("{s:s,s:s,s:s}", "check", check, "result", result, "detail", detail);
    if (e == NULL || json_array_append_new(res->results, e) != 0) {
        fprintf(stderr, "mastery-verify: out of memory\n");
        exit(2);
    }
    /* a check that runs once per entry stays "failed" once one entry failed */
    const char *prev = json_string_value(json_object_get(res->checks, check));
    if (prev == NULL || strcmp(prev, "failed") != 0)
        json_object_set_new(res->checks, check, json_string(result));
    if (!ok) {
        char *msg = NULL;
        if (asprintf(&msg, "%s: %s", check, detail) < 0 ||
            json_array_append_new(res->reasons, json_string(msg)) != 0) {
            fprintf(stderr, "mastery-verify: out of memory\n");
            exit(2);
        }
        free(msg);
        res->valid = false;
        res->verdict = "INVALID";
    }
}

/* Whether text is a log-proof bundle (a JSON object of type MasterydLogProof). */
static bool is_bundle(const char *text, size_t len)
{
    json_t *j = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    bool yes = type != NULL && strcmp(type, "MasterydLogProof") == 0;
    json_decref(j);
    return yes;
}

/* log_credential: the badge given is the bundle's credential (JSON: the same document; JWT:
 * the same token; a baked image: the same credential id). */
static void check_same_credential(const logbundle_t *b, const char *badge, size_t len,
                                  const verify_result_t *res)
{
    bool same = false;
    json_t *given = json_loadb(badge, len, 0, NULL);
    if (given != NULL)
        same = json_equal(given, (json_t *)b->credential);
    json_decref(given);
    if (!same && json_is_string(b->credential)) {
        const char *jwt = json_string_value(b->credential);
        size_t n = len;
        while (n > 0 && (badge[n - 1] == '\n' || badge[n - 1] == '\r' || badge[n - 1] == ' '))
            n--;
        same = n == strlen(jwt) && memcmp(badge, jwt, n) == 0;
    }
    json_t *doc = NULL;
    if (!same && logbundle_credential_doc(b, &doc) == 0) {
        const char *id = json_string_value(json_object_get(doc, "id"));
        const char *vid = json_string_value(json_object_get(res->credential, "id"));
        same = id != NULL && vid != NULL && strcmp(id, vid) == 0;
    }
    json_decref(doc);
    log_report((void *)res, "log_credential", same,
               same ? "the badge is the bundle's credential"
                    : "the badge is not the credential the bundle's entries are for");
}

/* --erasure-receipt --log-proof: the tlog-proof of the receipt's learner_erased entry. Its
 * index and leaf are the receipt's; its checkpoint must be signed under the log's origin by
 * the key that signed the receipt, or by a --log-key (a key rotated since). */
static void receipt_log_check(verify_result_t *res, const char *text, size_t len,
                              const tlog_verifier_t *keys, size_t n_keys)
{
    const json_t *log = json_object_get(res->credential, "log");
    const char *origin = json_string_value(json_object_get(log, "origin"));
    const char *leaf_hex = json_string_value(json_object_get(log, "leafHash"));
    const json_t *index = json_object_get(log, "index");
    tlog_hash_t leaf;
    size_t n = 0;
    if (origin == NULL || leaf_hex == NULL || !json_is_integer(index) ||
        json_integer_value(index) < 0 || !tlog_name_valid(origin, strlen(origin)) ||
        codec_hex_decode(leaf_hex, strlen(leaf_hex), leaf.b, sizeof leaf.b, &n) != 0 ||
        n != sizeof leaf.b) {
        log_report(res, "log_proof", false, "the receipt names no well-formed log entry");
        return;
    }
    tlog_verifier_t vs[MAX_LOG_KEYS + 1];
    size_t nvs = 0;
    if (res->has_signer) {
        memset(&vs[0], 0, sizeof vs[0]);
        snprintf(vs[0].name, sizeof vs[0].name, "%s", origin);
        memcpy(vs[0].pub, res->signer, sizeof vs[0].pub);
        vs[0].key_hash = tlog_key_hash(vs[0].name, vs[0].pub);
        nvs = 1;
    }
    for (size_t i = 0; i < n_keys && nvs < MAX_LOG_KEYS + 1; i++)
        vs[nvs++] = keys[i];
    tlog_proof_t p;
    tlog_checkpoint_t cp;
    err_detail_t d;
    err_clear(&d);
    if (nvs == 0) {
        log_report(res, "log_proof", false,
                   "no key to check the checkpoint with (the receipt's proof did not verify; "
                   "give --log-key)");
        return;
    }
    if (tlog_proof_verify(text, len, origin, vs, nvs, &leaf, &p, &cp, &d) != 0) {
        char msg[sizeof d.field + sizeof d.message + 4];
        snprintf(msg, sizeof msg, "%s: %s", d.field, d.message);
        log_report(res, "log_proof", false, msg);
        return;
    }
    if (p.index != (uint64_t)json_integer_value(index)) {
        log_report(res, "log_proof", false, "the proof is for another entry than the receipt's");
        return;
    }
    char msg[400];
    snprintf(msg, sizeof msg, "entry %" PRIu64 " is in %s's tree of %" PRIu64 " entries", p.index,
             cp.origin, cp.size);
    log_report(res, "log_proof", true, msg);
}

/* mastery-verify --erasure-receipt FILE [options]: see HELP. */
static int receipt_main(int argc, char **argv)
{
    const char *path = NULL, *did_path = NULL, *now_text = NULL, *trust_path = NULL;
    const char *log_path = NULL;
    tlog_verifier_t log_keys[MAX_LOG_KEYS];
    size_t n_log_keys = 0;
    int json_out = 0;
    receipt_input_t in;
    memset(&in, 0, sizeof in);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--json") == 0)
            json_out = 1;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(HELP, stdout);
            return 0;
        } else if (strcmp(a, "--erasure-receipt") == 0 && has_value && path == NULL)
            path = argv[++i];
        else if (strcmp(a, "--learner") == 0 && has_value) {
            in.learner = argv[++i];
            if (in.learner[0] == '\0') {
                fprintf(stderr, "mastery-verify: --learner: empty\n");
                return 2;
            }
        } else if ((strcmp(a, "--issuer") == 0 || strcmp(a, "--trust") == 0) && has_value) {
            if (trust_path != NULL) {
                fprintf(stderr, "mastery-verify: give one of --issuer or --trust, once\n");
                return 2;
            }
            trust_path = argv[++i];
        } else if (strcmp(a, "--did-document") == 0 && has_value)
            did_path = argv[++i];
        else if (strcmp(a, "--now") == 0 && has_value)
            now_text = argv[++i];
        else if (strcmp(a, "--log-proof") == 0 && has_value)
            log_path = argv[++i];
        else if (strcmp(a, "--log-key") == 0 && has_value) {
            err_detail_t d;
            const char *k = argv[++i];
            if (n_log_keys == MAX_LOG_KEYS) {
                fprintf(stderr, "mastery-verify: at most %d --log-key\n", MAX_LOG_KEYS);
                return 2;
            }
            if (tlog_verifier_parse(k, strlen(k), &log_keys[n_log_keys], &d) != 0) {
                fprintf(stderr, "mastery-verify: --log-key: %s\n", d.message);
                return 2;
            }
            n_log_keys++;
        } else if (strcmp(a, "--erasure-receipt") == 0 && path != NULL) {
            fprintf(stderr, "mastery-verify: one --erasure-receipt at a time\n");
            return 2;
        } else if (a[0] == '-' && a[1] != '\0') {
            static const char *valued[] = {"--erasure-receipt", "--learner", "--issuer",
                                           "--trust",           "--now",     "--did-document",
                                           "--log-proof",       "--log-key"};
            for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
                if (strcmp(a, valued[k]) == 0) {
                    fprintf(stderr, "mastery-verify: option %s needs a value\n", a);
                    usage();
                }
            fprintf(stderr, "mastery-verify: %s does not apply to --erasure-receipt\n", a);
            usage();
        } else {
            fprintf(stderr, "mastery-verify: with --erasure-receipt, no BADGE operand (%s)\n", a);
            usage();
        }
    }
    if (path == NULL)
        usage();
    if (now_of(now_text, &in.now_ms) != 0)
        return 2;
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
    char *text = slurp(path, VERIFY_MAX_INPUT, &in.receipt.len);
    in.receipt.data = text;
    char *did = NULL;
    if (did_path != NULL) {
        did = slurp(did_path, VERIFY_MAX_INPUT, &in.did_document.len);
        in.did_document.data = did;
    }
    char *proof_text = NULL;
    size_t proof_len = 0;
    if (log_path != NULL)
        proof_text = slurp(log_path, TLOG_NOTE_MAX * 2, &proof_len);
    verify_result_t res;
    if (receipt_verify(&in, &res) != 0) {
        fprintf(stderr, "mastery-verify: out of memory\n");
        return 2;
    }
    if (proof_text != NULL)
        receipt_log_check(&res, proof_text, proof_len, log_keys, n_log_keys);
    if (json_out) {
        json_t *o = json_pack("{s:s,s:b,s:O,s:O,s:O,s:O,s:O,s:O}", "verdict", res.verdict, "valid",
                              res.valid, "issuer", res.issuer, "receipt", res.credential, "results",
                              res.results, "reasons", res.reasons, "warnings", res.warnings,
                              "checks", res.checks);
        if (o == NULL || json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
            fprintf(stderr, "mastery-verify: out of memory\n");
            return 2;
        }
        putchar('\n');
        json_decref(o);
    } else {
        const char *id = str_or(res.issuer, "id", NULL);
        printf("issuer:      %s\n", id ? id : "(none)");
        const char *rid = str_or(res.credential, "id", NULL);
        if (rid != NULL)
            printf("receipt:     %s\n", rid);
        const char *at = str_or(res.credential, "erasedAt", NULL);
        if (at != NULL)
            printf("erased at:   %s\n", at);
        const char *ref = str_or(res.credential, "requestRef", NULL);
        if (ref != NULL)
            printf("request:     %s\n", ref);
        /* the rest as for a badge (checks, warnings, reasons, verdict) */
        json_t *keep = res.issuer;
        res.issuer = json_object();
        json_t *cred = res.credential;
        res.credential = json_object();
        print_text(&res);
        json_decref(res.issuer);
        json_decref(res.credential);
        res.issuer = keep;
        res.credential = cred;
    }
    int rc = res.valid ? 0 : 1;
    verify_result_free(&res);
    free(text);
    free(did);
    free(proof_text);
    free(trust.text);
    json_decref(trust.keep);
    return rc;
}

int monitor_main(int argc, char **argv);

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "log") == 0)
        return monitor_main(argc - 1, argv + 1);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--erasure-receipt") == 0)
            return receipt_main(argc, argv);
    const char *badge_path = NULL, *did_path = NULL, *now_text = NULL, *trust_path = NULL;
    const char *list_paths[VERIFY_MAX_LISTS];
    size_t n_lists = 0;
    const char *log_path = NULL;
    tlog_verifier_t log_keys[MAX_LOG_KEYS];
    size_t n_log_keys = 0;
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
        } else if (strcmp(a, "--log-proof") == 0 && has_value)
            log_path = argv[++i];
        else if (strcmp(a, "--log-key") == 0 && has_value) {
            err_detail_t d;
            const char *k = argv[++i];
            if (n_log_keys == MAX_LOG_KEYS) {
                fprintf(stderr, "mastery-verify: at most %d --log-key\n", MAX_LOG_KEYS);
                return 2;
            }
            if (tlog_verifier_parse(k, strlen(k), &log_keys[n_log_keys], &d) != 0) {
                fprintf(stderr, "mastery-verify: --log-key: %s\n", d.message);
                return 2;
            }
            n_log_keys++;
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
                                           "--trust",       "--recipient",    "--max-status-age",
                                           "--log-proof",   "--log-key"};
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
    if (now_of(now_text, &in.now_ms) != 0)
        return 2;
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
    logbundle_t bundle;
    memset(&bundle, 0, sizeof bundle);
    char *bundle_text = NULL, *bundle_cred = NULL;
    bool badge_is_bundle = false;
    if (log_path != NULL) {
        size_t blen;
        bundle_text = slurp(log_path, LOGBUNDLE_MAX, &blen);
        err_detail_t d;
        if (logbundle_parse(bundle_text, blen, &bundle, &d) != 0) {
            fprintf(stderr, "mastery-verify: --log-proof %s: %s: %s\n", log_path, d.field,
                    d.message);
            logbundle_free(&bundle);
            free(bundle_text);
            free(badge);
            free(trust.text);
            json_decref(trust.keep);
            return 2;
        }
        /* BADGE may be the bundle itself: then its credential is what is verified */
        badge_is_bundle = is_bundle(badge, in.badge.len);
        if (badge_is_bundle) {
            if (logbundle_credential_text(&bundle, &bundle_cred, &in.badge.len) != 0) {
                fprintf(stderr, "mastery-verify: out of memory\n");
                return 2;
            }
            in.badge.data = bundle_cred;
        }
    }
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
    if (log_path != NULL) {
        if (!badge_is_bundle)
            check_same_credential(&bundle, badge, in.badge.len, &res);
        if (logbundle_check(&bundle, res.has_signer ? res.signer : NULL, log_keys, n_log_keys,
                            log_report, &res) < 0) {
            fprintf(stderr, "mastery-verify: out of memory\n");
            return 2;
        }
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
    free(bundle_cred);
    free(bundle_text);
    logbundle_free(&bundle);
    free(did);
    free(trust.text);
    json_decref(trust.keep);
    for (size_t i = 0; i < n_lists; i++)
        free(list_data[i]);
    return rc;
}

/* ---- log --monitor: follow a tlog-tiles export from a trusted checkpoint ---- */

#define TILE_BYTES   (TLOG_TILE_WIDTH * TLOG_HASH_SIZE)
#define BUNDLE_MAX   ((size_t)TLOG_TILE_WIDTH * (2 + LOGENTRY_MAX))
#define TILE_CACHE   32
#define VERIFIER_MAX 1024

/* Reads path whole if it is at most max bytes. 0; ERR_NOT_FOUND; ERR_INVALID (too large);
 * ERR_UNAVAILABLE (I/O). */
static int read_bounded(const char *path, size_t max, char **buf, size_t *len, err_detail_t *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(d, errno == ENOENT ? ERR_NOT_FOUND : ERR_UNAVAILABLE, path, "%s",
                       strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(d, ERR_UNAVAILABLE, path, "not a regular file");
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return err_set(d, ERR_INVALID, path, "larger than %zu bytes", max);
    }
    int rc = fileio_read_fd(fd, (size_t)st.st_size, buf, len, path, d);
    close(fd);
    return rc;
}

/* Writes data to dir/name through a temporary file, fsync and rename, then fsyncs dir. */
static int write_atomic(const char *dir, const char *name, const char *data, size_t len)
{
    char tmp[4096], dst[4096];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, dst) != 0) {
        unlink(tmp);
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

typedef struct tile {
    int level;
    uint64_t index;
    unsigned width;
    uint8_t *hashes; /* width * 32 bytes */
} tile_t;

typedef struct tiles {
    const char *dir;
    uint64_t size; /* the tree the tiles are read for (the new checkpoint's) */
    tile_t cache[TILE_CACHE];
    size_t next;
    err_detail_t err; /* why the last read failed */
} tiles_t;

static void tiles_free(tiles_t *t)
{
    for (size_t i = 0; i < TILE_CACHE; i++)
        free(t->cache[i].hashes);
    memset(t->cache, 0, sizeof t->cache);
}

static int tiles_read(void *ctx, unsigned level, uint64_t index, tlog_hash_t *out);

/* The hashes of tile (L, N) as the tree of t->size has it: partial tiles by their width, a
 * full tile as a fallback when the partial one is gone. */
static int tile_get(tiles_t *t, unsigned L, uint64_t N, const uint8_t **hashes, unsigned *width)
{
    uint64_t count = L * 8 >= 64 ? 0 : t->size >> (L * 8); /* hashes at level 8L */
    if (N >= count / TLOG_TILE_WIDTH + (count % TLOG_TILE_WIDTH != 0))
        return err_set(&t->err, ERR_NOT_FOUND, "tile", "tile %u/%llu is outside the tree", L,
                       (unsigned long long)N);
    unsigned w = count - N * TLOG_TILE_WIDTH >= TLOG_TILE_WIDTH
                     ? TLOG_TILE_WIDTH
                     : (unsigned)(count - N * TLOG_TILE_WIDTH);
    for (size_t i = 0; i < TILE_CACHE; i++) {
        tile_t *c = &t->cache[i];
        if (c->hashes != NULL && c->level == (int)L && c->index == N && c->width >= w) {
            *hashes = c->hashes;
            *width = w;
            return 0;
        }
    }
    char rel[TLOG_TILE_PATH_MAX], path[4200];
    char *buf = NULL;
    size_t len = 0;
    int rc = ERR_NOT_FOUND;
    for (unsigned tryw = w; rc == ERR_NOT_FOUND && tryw <= TLOG_TILE_WIDTH;
         tryw = tryw == TLOG_TILE_WIDTH ? TLOG_TILE_WIDTH + 1 : TLOG_TILE_WIDTH) {
        tlog_tile_path(rel, sizeof rel, (int)L, N, tryw);
        snprintf(path, sizeof path, "%s/%s", t->dir, rel);
        rc = read_bounded(path, TILE_BYTES, &buf, &len, &t->err);
        if (rc == 0 && len != (size_t)tryw * TLOG_HASH_SIZE) {
            free(buf);
            return err_set(&t->err, ERR_INVALID, "tile", "%s has %zu bytes, not %u", rel, len,
                           tryw * TLOG_HASH_SIZE);
        }
    }
    if (rc != 0)
        return rc;
    /* A full tile must hash to its entry in the tile above (when the tree has it), so a
     * rewritten lower tile is caught even where the proof only reads the upper one. */
    if (len == TILE_BYTES && L < 7 && (t->size >> (8 * (L + 1))) > N) {
        tlog_hash_t tmp[TLOG_TILE_WIDTH], parent;
        for (unsigned i = 0; i < TLOG_TILE_WIDTH; i++)
            memcpy(tmp[i].b, buf + (size_t)i * TLOG_HASH_SIZE, TLOG_HASH_SIZE);
        for (unsigned n = TLOG_TILE_WIDTH; n > 1; n /= 2)
            for (unsigned i = 0; i < n / 2; i++)
                tlog_node_hash(&tmp[2 * i], &tmp[2 * i + 1], &tmp[i]);
        rc = tiles_read(t, 8 * (L + 1), N, &parent);
        if (rc != 0 || memcmp(parent.b, tmp[0].b, TLOG_HASH_SIZE) != 0) {
            free(buf);
            return rc != 0 ? rc
                           : err_set(&t->err, ERR_INVALID, "tile",
                                     "tile %u/%llu does not hash to its entry in tile %u "
                                     "(a rewritten tile)",
                                     L, (unsigned long long)N, L + 1);
        }
    }
    tile_t *c = &t->cache[t->next];
    t->next = (t->next + 1) % TILE_CACHE;
    free(c->hashes);
    c->level = (int)L;
    c->index = N;
    c->width = (unsigned)(len / TLOG_HASH_SIZE);
    c->hashes = (uint8_t *)buf;
    *hashes = c->hashes;
    *width = w;
    return 0;
}

/* tlog_read_fn over the tiles: levels between tile levels are hashed up from the tile below. */
static int tiles_read(void *ctx, unsigned level, uint64_t index, tlog_hash_t *out)
{
    tiles_t *t = ctx;
    unsigned L = level / 8, r = level % 8;
    if (r > 0 && index > (UINT64_MAX >> r))
        return ERR_NOT_FOUND;
    uint64_t first = index << r; /* at level 8L */
    const uint8_t *h = NULL;     /* set by tile_get (gcc -O2 cannot tell) */
    unsigned w = 0;
    int rc = tile_get(t, L, first / TLOG_TILE_WIDTH, &h, &w);
    if (rc != 0)
        return rc;
    unsigned off = (unsigned)(first % TLOG_TILE_WIDTH), n = 1u << r;
    if (off + n > w)
        return err_set(&t->err, ERR_NOT_FOUND, "tile", "hash %u/%llu is not complete in the tiles",
                       level, (unsigned long long)index);
    tlog_hash_t tmp[TLOG_TILE_WIDTH];
    for (unsigned i = 0; i < n; i++)
        memcpy(tmp[i].b, h + (size_t)(off + i) * TLOG_HASH_SIZE, TLOG_HASH_SIZE);
    for (; n > 1; n /= 2)
        for (unsigned i = 0; i < n / 2; i++)
            tlog_node_hash(&tmp[2 * i], &tmp[2 * i + 1], &tmp[i]);
    *out = tmp[0];
    return 0;
}

typedef struct cpfile {
    char *note; /* the signed note */
    size_t len;
    tlog_checkpoint_t cp;
} cpfile_t;

static int open_checkpoint(const char *path, const tlog_verifier_t *v, cpfile_t *c, err_detail_t *d)
{
    memset(c, 0, sizeof *c);
    int rc = read_bounded(path, TLOG_NOTE_MAX, &c->note, &c->len, d);
    if (rc != 0)
        return rc;
    size_t tl;
    err_detail_t nd;
    if (tlog_note_open(c->note, c->len, v, 1, &tl, NULL, NULL, &nd) != 0)
        return err_set(d, ERR_INVALID, path, "%s: %s", nd.field, nd.message);
    if (tlog_checkpoint_parse(c->note, tl, &c->cp, &nd) != 0)
        return err_set(d, ERR_INVALID, path, "%s: %s", nd.field, nd.message);
    return 0;
}

static void print_root(const char *what, const tlog_checkpoint_t *cp)
{
    char b64[CODEC_BASE64_ENCODED_MAX(TLOG_HASH_SIZE)];
    codec_base64_encode(cp->root.b, TLOG_HASH_SIZE, b64, sizeof b64, NULL);
    printf("%s size %llu root %s\n", what, (unsigned long long)cp->size, b64);
}

/* A failure: the verdict, why, and both checkpoints in full; exit 2 with the state kept. */
static int alarm_exit(const char *verdict, const cpfile_t *old, const cpfile_t *new,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int alarm_exit(const char *verdict, const cpfile_t *old, const cpfile_t *new,
                      const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("%s: %s\n", verdict, msg);
    printf("--- trusted checkpoint\n%.*s", old->note ? (int)old->len : 0,
           old->note ? old->note : "");
    if (old->note == NULL)
        printf("(none: the empty tree)\n");
    printf("--- new checkpoint\n%.*s", new->note ? (int)new->len : 0, new->note ? new->note : "");
    printf("%s\n", verdict);
    return 2;
}

/* Every entry of [from, to) in the export's bundles hashes to its level-0 tile hash. */
static int check_entries(tiles_t *t, uint64_t from, uint64_t to, char *why, size_t cap)
{
    for (uint64_t n = from / TLOG_TILE_WIDTH; from < to && n <= (to - 1) / TLOG_TILE_WIDTH; n++) {
        uint64_t start = n * TLOG_TILE_WIDTH;
        unsigned w = to - start >= TLOG_TILE_WIDTH ? TLOG_TILE_WIDTH : (unsigned)(to - start);
        char rel[TLOG_TILE_PATH_MAX], path[4200];
        char *buf = NULL;
        size_t len = 0;
        err_detail_t d;
        int rc = ERR_NOT_FOUND;
        for (unsigned tryw = w; rc == ERR_NOT_FOUND && tryw <= TLOG_TILE_WIDTH;
             tryw = tryw == TLOG_TILE_WIDTH ? TLOG_TILE_WIDTH + 1 : TLOG_TILE_WIDTH) {
            tlog_tile_path(rel, sizeof rel, -1, n, tryw);
            snprintf(path, sizeof path, "%s/%s", t->dir, rel);
            rc = read_bounded(path, BUNDLE_MAX, &buf, &len, &d);
        }
        if (rc != 0) {
            snprintf(why, cap, "entry bundle %s: %s", rel, d.message);
            return -1;
        }
        size_t pos = 0, elen;
        const uint8_t *e;
        uint64_t i = start;
        while ((rc = tlog_bundle_next((uint8_t *)buf, len, &pos, &e, &elen)) == 1) {
            if (i >= start + w)
                break; /* a full bundle read for a partial one: the rest is not ours */
            if (i >= from && i < to) {
                tlog_hash_t leaf, tiled;
                tlog_leaf_hash(e, elen, &leaf);
                if (tiles_read(t, 0, i, &tiled) != 0) {
                    snprintf(why, cap, "entry %llu: %s", (unsigned long long)i, t->err.message);
                    free(buf);
                    return -1;
                }
                if (memcmp(leaf.b, tiled.b, TLOG_HASH_SIZE) != 0) {
                    snprintf(why, cap,
                             "entry %llu in %s does not hash to its leaf in the level-0 tile "
                             "(a rewritten entry)",
                             (unsigned long long)i, rel);
                    free(buf);
                    return -1;
                }
            }
            i++;
        }
        free(buf);
        if (rc < 0 || i < start + w) {
            snprintf(why, cap, "entry bundle %s is truncated (%llu of %u entries)", rel,
                     (unsigned long long)(i - start), w);
            return -1;
        }
    }
    return 0;
}

int monitor_main(int argc, char **argv)
{
    const char *state = NULL, *from = NULL, *key = NULL;
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--monitor") == 0 && has_value)
            state = argv[++i];
        else if (strcmp(argv[i], "--from") == 0 && has_value)
            from = argv[++i];
        else if (strcmp(argv[i], "--key") == 0 && has_value)
            key = argv[++i];
        else {
            fprintf(stderr, "mastery-verify log: unexpected %s\n", argv[i]);
            usage();
        }
    }
    if (state == NULL || from == NULL)
        usage();
    err_detail_t d;
    char path[4200];
    tlog_verifier_t v;
    int ret = 2;
    cpfile_t old, new;
    tiles_t t;
    memset(&old, 0, sizeof old);
    memset(&new, 0, sizeof new);
    memset(&t, 0, sizeof t);
    snprintf(path, sizeof path, "%s/verifier", state);
    char *vtext = NULL;
    size_t vlen = 0;
    int rc = read_bounded(path, VERIFIER_MAX, &vtext, &vlen, &d);
    bool first = rc == ERR_NOT_FOUND;
    if (rc != 0 && !first) {
        fprintf(stderr, "mastery-verify log: %s: %s\n", path, d.message);
        goto out;
    }
    if (first) {
        if (key == NULL) {
            fprintf(stderr, "mastery-verify log: first run: --key VKEY (the log's verifier key) "
                            "is required\n");
            goto out;
        }
        vtext = strdup(key);
        vlen = strlen(key);
    }
    while (vlen > 0 && vtext[vlen - 1] == '\n')
        vlen--;
    if (tlog_verifier_parse(vtext, vlen, &v, &d) != 0) {
        fprintf(stderr, "mastery-verify log: %s: %s\n", first ? "--key" : path, d.message);
        goto out;
    }
    if (!first && key != NULL) {
        tlog_verifier_t k;
        if (tlog_verifier_parse(key, strlen(key), &k, &d) != 0 || memcmp(&k, &v, sizeof k) != 0) {
            fprintf(stderr, "mastery-verify log: --key differs from the key %s trusts\n", path);
            goto out;
        }
    }
    if (mkdir(state, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "mastery-verify log: %s: %s\n", state, strerror(errno));
        goto out;
    }
    snprintf(path, sizeof path, "%s/checkpoint", state);
    rc = open_checkpoint(path, &v, &old, &d);
    if (rc == ERR_NOT_FOUND) {
        free(old.note);
        memset(&old, 0, sizeof old);
        tlog_empty_root(&old.cp.root); /* trusting nothing is trusting the empty tree */
    } else if (rc != 0) {
        fprintf(stderr, "mastery-verify log: the trusted checkpoint: %s: %s\n", d.field, d.message);
        goto out;
    }
    snprintf(path, sizeof path, "%s/checkpoint", from);
    rc = open_checkpoint(path, &v, &new, &d);
    if (rc == ERR_NOT_FOUND || rc == ERR_UNAVAILABLE) {
        fprintf(stderr, "mastery-verify log: %s: %s\n", path, d.message);
        goto out;
    }
    if (rc != 0) {
        ret = alarm_exit("INCONSISTENT", &old, &new, "the new checkpoint: %s", d.message);
        goto out;
    }
    if (old.note != NULL && strcmp(old.cp.origin, new.cp.origin) != 0) {
        ret = alarm_exit("INCONSISTENT", &old, &new, "the origin changed from %s to %s",
                         old.cp.origin, new.cp.origin);
        goto out;
    }
    if (new.cp.size < old.cp.size) {
        ret = alarm_exit("ROLLBACK", &old, &new, "the log shrank from %llu to %llu entries",
                         (unsigned long long)old.cp.size, (unsigned long long)new.cp.size);
        goto out;
    }
    if (new.cp.size == old.cp.size && memcmp(&new.cp.root, &old.cp.root, TLOG_HASH_SIZE) != 0) {
        ret = alarm_exit("FORK", &old, &new, "two different trees of %llu entries",
                         (unsigned long long)new.cp.size);
        goto out;
    }
    t.dir = from;
    t.size = new.cp.size;
    char why[1200];
    if (new.cp.size > old.cp.size) {
        /* The export's tiles must be the new checkpoint's tree ... */
        tlog_hash_t root;
        if (tlog_tree_hash(new.cp.size, tiles_read, &t, &root) != 0) {
            ret = alarm_exit("INCONSISTENT", &old, &new, "the export's tiles: %s", t.err.message);
            goto out;
        }
        if (memcmp(root.b, new.cp.root.b, TLOG_HASH_SIZE) != 0) {
            ret = alarm_exit("INCONSISTENT", &old, &new,
                             "the export's tiles do not hash to the new checkpoint's root "
                             "(a rewritten tile)");
            goto out;
        }
        /* ... and that tree must extend the trusted one. */
        if (old.cp.size > 0) {
            tlog_hash_t proof[TLOG_MAX_PROOF];
            size_t n = 0;
            rc = tlog_prove_consistency(old.cp.size, new.cp.size, tiles_read, &t, proof, &n);
            if (rc != 0) {
                ret = alarm_exit("INCONSISTENT", &old, &new, "no consistency proof: %s",
                                 t.err.message);
                goto out;
            }
            if (tlog_verify_consistency(old.cp.size, new.cp.size, &old.cp.root, &new.cp.root, proof,
                                        n) != 0) {
                ret = alarm_exit("FORK", &old, &new,
                                 "the new tree does not extend the trusted one: its first "
                                 "%llu entries differ (history rewritten)",
                                 (unsigned long long)old.cp.size);
                goto out;
            }
        }
        if (check_entries(&t, old.cp.size, new.cp.size, why, sizeof why) != 0) {
            ret = alarm_exit("INCONSISTENT", &old, &new, "%s", why);
            goto out;
        }
    }
    if (first && write_atomic(state, "verifier", vtext, vlen) != 0) {
        fprintf(stderr, "mastery-verify log: %s/verifier: %s\n", state, strerror(errno));
        goto out;
    }
    if (write_atomic(state, "checkpoint", new.note, new.len) != 0) {
        fprintf(stderr, "mastery-verify log: %s/checkpoint: %s\n", state, strerror(errno));
        goto out;
    }
    print_root("old:", &old.cp);
    print_root("new:", &new.cp);
    printf("%s\n", new.cp.size == old.cp.size ? "UNCHANGED" : "CONSISTENT");
    ret = 0;
out:
    tiles_free(&t);
    free(vtext);
    free(old.note);
    free(new.note);
    return ret;
}
