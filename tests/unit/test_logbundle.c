/*
 * Tests for logbundle and `mastery-verify --log-proof`: a badge issued (lib/vc cred) with
 * evidence naming log entries (urn:tlog:<index>:<leaf hash>), its bundle of entries and
 * tlog-proofs against a signed checkpoint; the checks in-process and through the real binary:
 * a good bundle is VALID; a rewritten entry, a log signed by another key, an entry missing
 * from the evidence, another badge: INVALID, naming the check; malformed bundles refused with
 * the member named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec.h"
#include "cred.h"
#include "keys.h"
#include "logbundle.h"
#include "logentry.h"
#include "proof.h"

#define N      50
#define ORIGIN "school.example/masteryd"
#define T0     1795169700000LL

static keys_t *key, *other;
static tlog_hash_t lvl[8][N + 1];
static buf_t entries[N];
static tlog_hash_t root;
static char tmpdir[64];

static int wr(void *ctx, unsigned level, uint64_t index, const tlog_hash_t *h)
{
    (void)ctx;
    lvl[level][index] = *h;
    return 0;
}

static int rd(void *ctx, unsigned level, uint64_t index, tlog_hash_t *out)
{
    (void)ctx;
    *out = lvl[level][index];
    return 0;
}

/* The signed checkpoint of the whole log, by k. */
static void signed_note(keys_t *k, buf_t *note)
{
    uint8_t pub[32], sig[64];
    size_t sl;
    keys_public_raw(k, pub);
    buf_init(note, 4096);
    tlog_checkpoint_format(note, ORIGIN, N, &root);
    assert_int_equal(keys_sign(k, (uint8_t *)note->data, note->len, sig, 64, &sl, NULL), 0);
    buf_append_byte(note, '\n');
    tlog_note_signature_line(note, ORIGIN, tlog_key_hash(ORIGIN, pub), sig);
}

static char *vkey_of(keys_t *k)
{
    uint8_t pub[32];
    keys_public_raw(k, pub);
    buf_t b;
    buf_init(&b, 1024);
    tlog_verifier_format(&b, ORIGIN, pub);
    return b.data;
}

static const uint64_t picked[] = {3, 17, 42};

/* A badge naming `picked` entries, signed by key, with credential id `id`. */
static json_t *issue(const char *id, size_t n_ev)
{
    char did[KEYS_DID_MAX], vm[KEYS_VM_ID_MAX];
    keys_did_key(key, did, sizeof did);
    keys_vm_id(key, vm, sizeof vm);
    cred_evidence_t ev[3];
    char urls[3][128];
    for (size_t i = 0; i < n_ev; i++) {
        tlog_hash_t leaf;
        tlog_leaf_hash(entries[picked[i]].data, entries[picked[i]].len, &leaf);
        char hex[65];
        codec_hex_encode(leaf.b, 32, hex, sizeof hex, NULL);
        snprintf(urls[i], sizeof urls[i], "urn:tlog:%llu:%s", (unsigned long long)picked[i], hex);
        ev[i] = (cred_evidence_t){.id = "ev", .url = urls[i], .narrative = NULL};
    }
    cred_input_t in;
    cred_input_init(&in);
    in.id = id;
    in.issuer.did = did;
    in.valid_from_ms = T0;
    in.framework_id = "urn:example:f";
    in.competency_id = "c1";
    in.competency_title = "Competency one";
    in.learner_id = "s-1";
    in.salt = "x";
    in.evidence = ev;
    in.n_evidence = n_ev;
    json_t *doc = NULL;
    cred_ctx_t *ctx = NULL;
    assert_int_equal(cred_ctx_new(&ctx), 0);
    assert_int_equal(cred_build(&in, &doc, NULL), 0);
    assert_int_equal(cred_sign_di(ctx, doc, key, vm, T0, NULL), 0);
    cred_ctx_destroy(&ctx);
    return doc;
}

/* The bundle JSON text: credential, log, the picked entries (entry bytes possibly replaced). */
static char *bundle_text(json_t *cred, keys_t *log_key, size_t n_entries, int tamper)
{
    buf_t note;
    signed_note(log_key, &note);
    char *vk = vkey_of(log_key);
    json_t *arr = json_array();
    for (size_t i = 0; i < n_entries; i++) {
        uint64_t idx = picked[i];
        tlog_hash_t h[TLOG_MAX_PROOF];
        size_t n;
        assert_int_equal(tlog_prove_inclusion(idx, N, rd, NULL, h, &n), 0);
        buf_t p;
        buf_init(&p, 1 << 16);
        assert_int_equal(tlog_proof_format(&p, idx, NULL, 0, h, n, note.data, note.len), 0);
        uint8_t e[LOGENTRY_MAX];
        size_t el = entries[idx].len;
        memcpy(e, entries[idx].data, el);
        if (tamper && i == 1)
            e[el - 1] ^= 1; /* the last byte of the competency id */
        char b64[CODEC_BASE64_ENCODED_MAX(1024)];
        codec_base64_encode(e, el, b64, sizeof b64, NULL);
        json_array_append_new(arr, json_pack("{s:I,s:s,s:s}", "index", (json_int_t)idx, "entry",
                                             b64, "proof", p.data));
        buf_free(&p);
    }
    json_t *b =
        json_pack("{s:s,s:i,s:O,s:{s:s,s:s},s:o}", "type", "MasterydLogProof", "version", 1,
                  "credential", cred, "log", "origin", ORIGIN, "verifier_key", vk, "entries", arr);
    assert_non_null(b);
    char *text = json_dumps(b, JSON_INDENT(1));
    json_decref(b);
    free(vk);
    buf_free(&note);
    return text;
}

static int setup(void **state)
{
    (void)state;
    if (keys_generate(KEYS_ED25519, &key, NULL) != 0 ||
        keys_generate(KEYS_ED25519, &other, NULL) != 0)
        return -1;
    tlog_frontier_t f;
    tlog_frontier_init(&f);
    for (int i = 0; i < N; i++) {
        logentry_t e;
        memset(&e, 0, sizeof e);
        e.kind = i % 2 ? LOGENTRY_EVIDENCE_ACCEPTED : LOGENTRY_MASTERED;
        e.seq = (uint64_t)i + 1;
        e.at_ms = T0 + i;
        char comp[16];
        snprintf(comp, sizeof comp, "c%d", i);
        e.competency = comp, e.competency_len = strlen(comp);
        e.present = 1u << LOGENTRY_COMPETENCY;
        buf_init(&entries[i], LOGENTRY_MAX);
        if (logentry_encode(&entries[i], &e) != 0)
            return -1;
        tlog_hash_t leaf;
        tlog_leaf_hash(entries[i].data, entries[i].len, &leaf);
        tlog_frontier_append(&f, &leaf, wr, NULL);
    }
    tlog_frontier_root(&f, &root);
    strcpy(tmpdir, "/tmp/test_logbundle.XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < N; i++)
        buf_free(&entries[i]);
    keys_destroy(&key);
    keys_destroy(&other);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

typedef struct seen {
    char text[8192];
    int failed;
} seen_t;

static void collect(void *ctx, const char *check, bool ok, const char *detail)
{
    seen_t *s = ctx;
    size_t n = strlen(s->text);
    snprintf(s->text + n, sizeof s->text - n, "%s %s %s\n", check, ok ? "ok" : "failed", detail);
    s->failed += !ok;
}

static int check_text(const char *text, const uint8_t *signer, const tlog_verifier_t *keys,
                      size_t nkeys, seen_t *s)
{
    logbundle_t b;
    err_detail_t d;
    memset(s, 0, sizeof *s);
    assert_int_equal(logbundle_parse(text, strlen(text), &b, &d), 0);
    int rc = logbundle_check(&b, signer, keys, nkeys, collect, s);
    logbundle_free(&b);
    assert_int_equal(rc, s->failed);
    return rc;
}

static void test_checks(void **state)
{
    (void)state;
    uint8_t pub[32], opub[32];
    keys_public_raw(key, pub);
    keys_public_raw(other, opub);
    json_t *cred = issue("urn:uuid:00000000-0000-4000-8000-000000000001", 3);
    seen_t s;
    char *t = bundle_text(cred, key, 3, 0);
    assert_int_equal(check_text(t, pub, NULL, 0, &s), 0);
    assert_non_null(strstr(s.text, "log_key ok"));
    assert_non_null(strstr(s.text, "log_entry ok entry 17: evidence_accepted, seq 18"));
    assert_non_null(strstr(s.text, "log_proof ok entry 42 is in " ORIGIN "'s tree of 50"));
    assert_non_null(strstr(s.text, "log_evidence ok"));
    /* No signer key known: the log key is not trusted. */
    assert_int_equal(check_text(t, NULL, NULL, 0, &s), 1);
    assert_non_null(strstr(s.text, "log_key failed"));
    free(t);

    /* The log signed by another key: trusted only when given as a --log-key. */
    t = bundle_text(cred, other, 3, 0);
    assert_int_equal(check_text(t, pub, NULL, 0, &s), 1);
    tlog_verifier_t v;
    char *ovk = vkey_of(other);
    assert_int_equal(tlog_verifier_parse(ovk, strlen(ovk), &v, NULL), 0);
    assert_int_equal(check_text(t, pub, &v, 1, &s), 0);
    assert_non_null(strstr(s.text, "--log-key"));
    free(ovk);
    free(t);

    /* A rewritten entry: its proof and the badge's evidence both fail. */
    t = bundle_text(cred, key, 3, 1);
    assert_int_equal(check_text(t, pub, NULL, 0, &s), 2);
    assert_non_null(strstr(s.text, "log_proof failed entry 17: proof.inclusion"));
    assert_non_null(strstr(s.text, "log_evidence failed"));
    free(t);

    /* An entry of the evidence missing from the bundle. */
    t = bundle_text(cred, key, 2, 0);
    assert_int_equal(check_text(t, pub, NULL, 0, &s), 1);
    assert_non_null(strstr(s.text, "log_evidence failed evidence 2 names log entry 42"));
    free(t);
    /* A bundle entry the badge does not name. */
    json_t *cred2 = issue("urn:uuid:00000000-0000-4000-8000-000000000002", 2);
    t = bundle_text(cred2, key, 3, 0);
    assert_int_equal(check_text(t, pub, NULL, 0, &s), 1);
    assert_non_null(strstr(s.text, "bundle entry 42 is not in the badge's evidence"));
    free(t);
    json_decref(cred2);
    json_decref(cred);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    const char *vk = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    char good[1024];
    snprintf(good, sizeof good,
             "{\"type\":\"MasterydLogProof\",\"version\":1,\"credential\":\"a.b.c\","
             "\"log\":{\"origin\":\"o\",\"verifier_key\":\"%s\"},"
             "\"entries\":[{\"index\":0,\"entry\":\"AQ==\",\"proof\":\"p\"}]}",
             vk);
    logbundle_t b;
    err_detail_t d;
    assert_int_equal(logbundle_parse(good, strlen(good), &b, &d), 0);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.entries[0].entry_len, 1);
    logbundle_free(&b);
    logbundle_free(&b); /* twice is safe */
    struct {
        const char *from, *to, *field;
    } bad[] = {
        {"MasterydLogProof", "Other", "type"},
        {"\"version\":1", "\"version\":2", "version"},
        {"\"credential\":\"a.b.c\"", "\"credential\":5", "credential"},
        {"\"origin\":\"o\"", "\"origin\":\"\"", "log.origin"},
        {"\"origin\":\"o\"", "\"origin\":\"o\",\"x\":1", "log"},
        {"c74f20a3", "c74f20a4", "log.verifier_key"},
        {"\"index\":0", "\"index\":-1", "entries[0].index"},
        {"\"index\":0", "\"index\":\"0\"", "entries[0].index"},
        {"AQ==", "AQ=", "entries[0].entry"},
        {"\"proof\":\"p\"", "\"proof\":1", "entries[0].proof"},
        {"\"proof\":\"p\"", "\"proof\":\"p\",\"more\":1", "entries[0]"},
        {"\"version\":1", "\"version\":1,\"extra\":true", "bundle"},
        {"\"type\"", "\"type\":1,\"type\"", "bundle"}, /* duplicate member */
        {"[{", "[], \"x\": [{", "bundle"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char t[2048];
        const char *at = strstr(good, bad[i].from);
        assert_non_null(at);
        snprintf(t, sizeof t, "%.*s%s%s", (int)(at - good), good, bad[i].to,
                 at + strlen(bad[i].from));
        err_clear(&d);
        if (logbundle_parse(t, strlen(t), &b, &d) == 0)
            fail_msg("bundle %zu accepted", i);
        logbundle_free(&b);
        if (strcmp(d.field, bad[i].field) != 0)
            fail_msg("bundle %zu: field %s, want %s (%s)", i, d.field, bad[i].field, d.message);
    }
    const char *empty = "{\"type\":\"MasterydLogProof\",\"version\":1,\"credential\":{},"
                        "\"log\":{\"origin\":\"o\",\"verifier_key\":\"x\"},\"entries\":[]}";
    assert_int_equal(logbundle_parse(empty, strlen(empty), &b, &d), ERR_INVALID);
    logbundle_free(&b);
    assert_int_equal(logbundle_parse("{", 1, &b, &d), ERR_INVALID);
    assert_string_equal(d.field, "bundle");
    logbundle_free(&b);

    uint64_t idx;
    tlog_hash_t h;
    const char *hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char id[128];
    snprintf(id, sizeof id, "urn:tlog:41:%s", hex);
    assert_int_equal(logbundle_parse_urn(id, &idx, &h), 1);
    assert_int_equal(idx, 41);
    assert_int_equal(h.b[31], 0xff);
    assert_int_equal(logbundle_parse_urn("https://example.org/e/1", &idx, &h), 0);
    const char *bad_ids[] = {"urn:tlog:041:", "urn:tlog::", "urn:tlog:1:00",
                             "urn:tlog:x:", "urn:tlog:1"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "%s%s", bad_ids[i], strchr(bad_ids[i] + 9, ':') ? hex : "");
        assert_int_equal(logbundle_parse_urn(id, &idx, &h), ERR_INVALID);
    }
    snprintf(id, sizeof id, "urn:tlog:1:%.63sF", hex);
    assert_int_equal(logbundle_parse_urn(id, &idx, &h), ERR_INVALID);
}

static char out[1 << 16];

static int run(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s/mastery-verify' %s --now 2026-12-01T00:00:00Z 2>&1",
             MASTERY_BIN_DIR, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void save(const char *name, const char *text, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_cli(void **state)
{
    (void)state;
    json_t *cred = issue("urn:uuid:00000000-0000-4000-8000-000000000001", 3);
    char bundle[256], badge[256], other_badge[256], args[1024];
    char *t = bundle_text(cred, key, 3, 0);
    save("good.json", t, bundle, sizeof bundle);
    free(t);
    /* BADGE is the bundle itself. */
    snprintf(args, sizeof args, "'%s' --log-proof '%s'", bundle, bundle);
    if (run(args) != 0)
        fail_msg("%s", out);
    assert_non_null(strstr(out, "log_key"));
    assert_non_null(strstr(out, "log_proof"));
    assert_non_null(strstr(out, "log_evidence"));
    assert_non_null(strstr(out, "\nVALID\n"));
    /* BADGE as its own file: the same credential. */
    char *ct = json_dumps(cred, JSON_COMPACT);
    save("badge.json", ct, badge, sizeof badge);
    free(ct);
    snprintf(args, sizeof args, "'%s' --log-proof '%s' --json", badge, bundle);
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out, "\"log_credential\": \"ok\""));
    /* Another badge with the same bundle. */
    json_t *cred2 = issue("urn:uuid:00000000-0000-4000-8000-000000000002", 3);
    ct = json_dumps(cred2, JSON_COMPACT);
    save("other.json", ct, other_badge, sizeof other_badge);
    free(ct);
    json_decref(cred2);
    snprintf(args, sizeof args, "'%s' --log-proof '%s'", other_badge, bundle);
    assert_int_equal(run(args), 1);
    assert_non_null(strstr(out, "INVALID: log_credential"));
    /* A rewritten entry. */
    t = bundle_text(cred, key, 3, 1);
    save("tampered.json", t, bundle, sizeof bundle);
    free(t);
    snprintf(args, sizeof args, "'%s' --log-proof '%s'", bundle, bundle);
    assert_int_equal(run(args), 1);
    if (getenv("SHOW") != NULL)
        fputs(out, stderr);
    assert_non_null(strstr(out, "INVALID: log_proof: entry 17"));
    assert_non_null(strstr(out, "\nINVALID\n"));
    /* A log signed by another key: INVALID, unless that key is given. */
    t = bundle_text(cred, other, 3, 0);
    save("otherkey.json", t, bundle, sizeof bundle);
    free(t);
    snprintf(args, sizeof args, "'%s' --log-proof '%s'", bundle, bundle);
    assert_int_equal(run(args), 1);
    assert_non_null(strstr(out, "INVALID: log_key"));
    char *ovk = vkey_of(other);
    snprintf(args, sizeof args, "'%s' --log-proof '%s' --log-key '%s'", bundle, bundle, ovk);
    assert_int_equal(run(args), 0);
    free(ovk);
    /* A malformed bundle or key: a usage/input error naming the member. */
    save("bad.json", "{\"type\":\"MasterydLogProof\",\"version\":3}", bundle, sizeof bundle);
    snprintf(args, sizeof args, "'%s' --log-proof '%s'", badge, bundle);
    assert_int_equal(run(args), 2);
    assert_non_null(strstr(out, "version"));
    snprintf(args, sizeof args, "'%s' --log-proof '%s' --log-key nonsense", badge, bundle);
    assert_int_equal(run(args), 2);
    assert_non_null(strstr(out, "--log-key"));
    json_decref(cred);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checks),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
