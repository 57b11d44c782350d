/*
 * Writes the seed corpus of fuzz_wal: write-ahead records made by overlay_record_encode from a
 * few transactions (puts, deletes, a key changed twice, a nested rollback, empty values, the
 * longest key, each database). Deterministic; the files are committed. Build and run from the
 * repository's root:
 *
 *   cc -std=c11 -Idaemon -Ilib/base tests/fuzz/gen_wal_corpus.c daemon/overlay.c \
 *      -o /tmp/gen_wal_corpus && /tmp/gen_wal_corpus tests/fuzz/corpus/wal
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay.h"

static void die(const char *what)
{
    fprintf(stderr, "gen_wal_corpus: %s\n", what);
    exit(1);
}

static void put(overlay_t *ov, unsigned db, const char *key, const char *val)
{
    if (overlay_put(ov, db, key, strlen(key), val, strlen(val)) != 0)
        die("put");
}

static void del(overlay_t *ov, unsigned db, const char *key)
{
    if (overlay_del(ov, db, key, strlen(key)) != 0)
        die("del");
}

/* Writes ov's record to DIR/name, then settles it. */
static void emit(overlay_t *ov, const char *dir, const char *name)
{
    size_t len = overlay_record_size(ov);
    unsigned char *rec = malloc(len);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (rec == NULL || f == NULL)
        die(path);
    overlay_record_encode(ov, rec);
    if (fwrite(rec, 1, len, f) != len || fclose(f) != 0)
        die(path);
    free(rec);
    overlay_settle(ov);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        die("usage: gen_wal_corpus OUT_DIR");
    const char *dir = argv[1];
    overlay_t *ov = overlay_new(4, NULL, NULL);
    if (ov == NULL)
        die("overlay_new");

    put(ov, 0, "learner/1/state", "mastered");
    emit(ov, dir, "one-put.bin");

    del(ov, 1, "evidence/7");
    emit(ov, dir, "one-delete.bin");

    put(ov, 0, "a", "1");
    put(ov, 0, "ab", "2");
    put(ov, 0, "a", "3"); /* changed twice: once in the record */
    put(ov, 2, "\xff", "top");
    del(ov, 3, "a");
    if (overlay_put(ov, 2, "e", 1, NULL, 0) != 0) /* an empty value */
        die("put");
    size_t mark = overlay_mark(ov);
    put(ov, 1, "rolled-back", "x");
    overlay_rollback(ov, mark);
    emit(ov, dir, "mixed.bin");

    char key[511], val[300];
    memset(key, 'k', sizeof key);
    memset(val, 0xa5, sizeof val);
    if (overlay_put(ov, 3, key, sizeof key, val, sizeof val) != 0)
        die("put");
    emit(ov, dir, "longest-key.bin");

    for (int i = 0; i < 40; i++) {
        char k[32], v[32];
        snprintf(k, sizeof k, "state/%03d/c%d", i * 7 % 40, i % 3);
        snprintf(v, sizeof v, "v%d", i);
        if (i % 6 == 5)
            del(ov, (unsigned)i % 4, k);
        else
            put(ov, (unsigned)i % 4, k, v);
    }
    emit(ov, dir, "batch-40.bin");
    overlay_free(&ov);
    return 0;
}
