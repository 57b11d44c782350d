/*
 * Tests for `mastery-verify log --monitor` (clients/mastery-verify.c): tlog-tiles exports
 * written here with lib/tlog (entries, hash tiles, bundles, a signed checkpoint), then the real
 * binary run against them: good growth accepted; a rewritten tile and a rewritten entry
 * detected; a truncated and re-grown history reported as a FORK; a rollback; a checkpoint
 * signed by another key; and after every failure the trusted state is the one kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keys.h"
#include "logentry.h"
#include "merkle.h"
#include "note.h"

#define MAXN   1200
#define ORIGIN "school.example/masteryd"

/* One log: entries, the stored hashes (levels 0..11), a frontier. */
typedef struct log {
    uint8_t *entries[MAXN];
    size_t lens[MAXN];
    tlog_hash_t lvl[12][MAXN + 1];
    tlog_frontier_t f;
} log_t;

static int wr(void *ctx, unsigned level, uint64_t index, const tlog_hash_t *h)
{
    log_t *l = ctx;
    assert_true(level < 12 && index <= MAXN);
    l->lvl[level][index] = *h;
    return 0;
}

/* Appends entry seq (its content varies with `variant`, so two logs can diverge). */
static void log_append(log_t *l, int variant)
{
    uint64_t seq = l->f.size;
    logentry_t e;
    memset(&e, 0, sizeof e);
    e.kind = LOGENTRY_EVIDENCE_ACCEPTED;
    e.seq = seq + 1;
    e.at_ms = 1795169700000LL + (int64_t)seq;
    char comp[32];
    snprintf(comp, sizeof comp, "c%llu-%d", (unsigned long long)seq, variant);
    e.competency = comp, e.competency_len = strlen(comp);
    e.score = 0.5;
    e.present = 1u << LOGENTRY_COMPETENCY | 1u << LOGENTRY_SCORE;
    buf_t b;
    buf_init(&b, LOGENTRY_MAX);
    assert_int_equal(logentry_encode(&b, &e), 0);
    tlog_hash_t leaf;
    tlog_leaf_hash(b.data, b.len, &leaf);
    l->entries[seq] = (uint8_t *)b.data;
    l->lens[seq] = b.len;
    assert_int_equal(tlog_frontier_append(&l->f, &leaf, wr, l), 0);
}

static log_t *log_new(size_t n, int variant)
{
    log_t *l = calloc(1, sizeof *l);
    assert_non_null(l);
    tlog_frontier_init(&l->f);
    for (size_t i = 0; i < n; i++)
        log_append(l, variant);
    return l;
}

/* A log of n entries: the first `common` like base's, the rest another variant. */
static log_t *log_fork(size_t common, size_t n)
{
    log_t *l = calloc(1, sizeof *l);
    tlog_frontier_init(&l->f);
    for (size_t i = 0; i < n; i++)
        log_append(l, i < common ? 0 : 1);
    return l;
}

static void log_free(log_t *l)
{
    for (size_t i = 0; i < l->f.size; i++)
        free(l->entries[i]);
    free(l);
}

static keys_t *key, *other_key;
static char vkey[256], tmpdir[64];

static void write_file(const char *dir, const char *rel, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    /* make the parent directories */
    for (char *p = path + strlen(dir) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Writes the tlog-tiles export of the first `size` entries of l, signed by k. */
static void export(const log_t *l, uint64_t size, keys_t *k, const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(mkdir(dir, 0755), 0);
    /* hash tiles, level L holding Merkle level 8L */
    for (unsigned L = 0; L < 2; L++) {
        uint64_t count = size >> (8 * L);
        for (uint64_t n = 0; n * 256 < count; n++) {
            unsigned w = count - n * 256 >= 256 ? 256 : (unsigned)(count - n * 256);
            uint8_t buf[256 * 32];
            for (unsigned i = 0; i < w; i++)
                memcpy(buf + i * 32, l->lvl[8 * L][n * 256 + i].b, 32);
            char rel[TLOG_TILE_PATH_MAX];
            assert_int_equal(tlog_tile_path(rel, sizeof rel, (int)L, n, w), 0);
            write_file(dir, rel, buf, w * 32);
        }
    }
    for (uint64_t n = 0; n * 256 < size; n++) {
        unsigned w = size - n * 256 >= 256 ? 256 : (unsigned)(size - n * 256);
        buf_t b;
        buf_init(&b, 1 << 24);
        for (unsigned i = 0; i < w; i++)
            assert_int_equal(tlog_bundle_append(&b, l->entries[n * 256 + i], l->lens[n * 256 + i]),
                             0);
        char rel[TLOG_TILE_PATH_MAX];
        tlog_tile_path(rel, sizeof rel, -1, n, w);
        write_file(dir, rel, b.data, b.len);
        buf_free(&b);
    }
    /* the root of the first `size` leaves, from the stored hashes */
    tlog_frontier_t f;
    const log_t *lc = l;
    tlog_frontier_init(&f);
    for (unsigned b = 0; b < 64; b++)
        if (size >> b & 1)
            f.node[b] = lc->lvl[b][(size >> b) - 1];
    f.size = size;
    tlog_hash_t root;
    tlog_frontier_root(&f, &root);
    buf_t note;
    buf_init(&note, 4096);
    tlog_checkpoint_format(&note, ORIGIN, size, &root);
    uint8_t sig[64], pub[32];
    size_t sl;
    assert_int_equal(keys_sign(k, (uint8_t *)note.data, note.len, sig, sizeof sig, &sl, NULL), 0);
    keys_public_raw(k, pub);
    buf_append_byte(&note, '\n');
    tlog_note_signature_line(&note, ORIGIN, tlog_key_hash(ORIGIN, pub), sig);
    write_file(dir, "checkpoint", note.data, note.len);
    buf_free(&note);
}

/* Runs the monitor; returns its exit status and its output (static buffer). */
static char out[1 << 16];

static int monitor(const char *state, const char *from, const char *k)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s/mastery-verify' log --monitor '%s' --from '%s' %s%s%s 2>&1",
             MASTERY_BIN_DIR, state, from, k ? "--key '" : "", k ? k : "", k ? "'" : "");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static uint64_t state_size(const char *state)
{
    char path[512], buf[1024];
    snprintf(path, sizeof path, "%s/checkpoint", state);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *nl = strchr(buf, '\n');
    assert_non_null(nl);
    return strtoull(nl + 1, NULL, 10);
}

static int setup(void **state)
{
    (void)state;
    if (keys_generate(KEYS_ED25519, &key, NULL) != 0 ||
        keys_generate(KEYS_ED25519, &other_key, NULL) != 0)
        return -1;
    uint8_t pub[32];
    keys_public_raw(key, pub);
    buf_t b;
    buf_init(&b, sizeof vkey - 1);
    if (tlog_verifier_format(&b, ORIGIN, pub) != 0)
        return -1;
    strcpy(vkey, b.data);
    buf_free(&b);
    strcpy(tmpdir, "/tmp/test_monitor.XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        return -1;
    keys_destroy(&key);
    keys_destroy(&other_key);
    return 0;
}

static void test_growth_and_attacks(void **state)
{
    (void)state;
    char st[128], ex[128];
    snprintf(st, sizeof st, "%s/state", tmpdir);
    snprintf(ex, sizeof ex, "%s/export", tmpdir);
    log_t *l = log_new(1100, 0);

    /* The first run needs the key. */
    export(l, 5, key, ex);
    assert_int_equal(monitor(st, ex, NULL), 2);
    assert_non_null(strstr(out, "--key"));
    assert_int_equal(monitor(st, ex, vkey), 0);
    assert_non_null(strstr(out, "new: size 5 root "));
    assert_non_null(strstr(out, "CONSISTENT"));
    assert_int_equal(state_size(st), 5);
    /* Good growth, across tile boundaries and into level-1 tiles. */
    const uint64_t sizes[] = {6, 255, 256, 257, 300, 300, 600};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        export(l, sizes[i], key, ex);
        if (monitor(st, ex, NULL) != 0)
            fail_msg("growth to %llu refused:\n%s", (unsigned long long)sizes[i], out);
        assert_int_equal(state_size(st), sizes[i]);
    }
    assert_non_null(strstr(out, "old: size 300 root "));
    assert_non_null(strstr(out, "new: size 600 root "));
    export(l, 600, key, ex);
    assert_int_equal(monitor(st, ex, NULL), 0);
    assert_non_null(strstr(out, "UNCHANGED"));

    /* A rewritten level-0 tile in the new range. */
    export(l, 900, key, ex);
    char path[512];
    snprintf(path, sizeof path, "%s/tile/0/002", ex);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 32 * 10, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    if (monitor(st, ex, NULL) != 2)
        fail_msg("%s", out);
    assert_non_null(strstr(out, "INCONSISTENT"));
    assert_non_null(strstr(out, "--- trusted checkpoint\n" ORIGIN "\n600\n"));
    assert_non_null(strstr(out, "--- new checkpoint\n" ORIGIN "\n900\n"));
    assert_int_equal(state_size(st), 600);

    /* A rewritten entry in the new range (its tile left as it was). */
    export(l, 900, key, ex);
    snprintf(path, sizeof path, "%s/tile/entries/003.p/132", ex);
    f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 2 + 18 + 3 + 1, SEEK_SET); /* inside the first entry's competency id */
    int c = fgetc(f);
    fseek(f, 2 + 18 + 3 + 1, SEEK_SET);
    fputc(c ^ 1, f);
    fclose(f);
    assert_int_equal(monitor(st, ex, NULL), 2);
    assert_non_null(strstr(out, "INCONSISTENT"));
    assert_non_null(strstr(out, "rewritten entry"));
    assert_int_equal(state_size(st), 600);

    /* A truncated entry bundle. */
    export(l, 900, key, ex);
    snprintf(path, sizeof path, "%s/tile/entries/003.p/132", ex);
    assert_int_equal(truncate(path, 100), 0);
    assert_int_equal(monitor(st, ex, NULL), 2);
    assert_non_null(strstr(out, "INCONSISTENT"));

    /* History truncated to 150 entries and re-grown past the trusted size: a fork. */
    log_t *forked = log_fork(150, 1000);
    export(forked, 1000, key, ex);
    assert_int_equal(monitor(st, ex, NULL), 2);
    assert_non_null(strstr(out, "FORK"));
    assert_non_null(strstr(out, "history rewritten"));
    assert_int_equal(state_size(st), 600);
    /* The same size with another root: a fork too. */
    export(forked, 600, key, ex);
    assert_int_equal(monitor(st, ex, NULL), 2);
    assert_non_null(strstr(out, "FORK"));
    log_free(forked);

    /* A smaller tree: a rollback. */
    export(l, 400, key, ex);
    assert_int_equal(monitor(st, ex, NULL), 2);
    assert_non_null(strstr(out, "ROLLBACK"));
    assert_int_equal(state_size(st), 600);

    /* Signed by another key: refused. */
    export(l, 700, other_key, ex);
    assert_int_equal(monitor(st, ex, NULL), 2);
    assert_non_null(strstr(out, "INCONSISTENT"));
    assert_non_null(strstr(out, "no signature by a known key"));
    /* A --key that is not the one the state trusts. */
    export(l, 700, key, ex);
    assert_int_equal(monitor(st, ex, "other.example+00000000+AQ=="), 2);

    /* After all that, honest growth from the kept state still works. */
    export(l, 1100, key, ex);
    if (monitor(st, ex, NULL) != 0)
        fail_msg("honest growth refused:\n%s", out);
    assert_non_null(strstr(out, "old: size 600 root "));
    assert_int_equal(state_size(st), 1100);
    log_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_growth_and_attacks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
