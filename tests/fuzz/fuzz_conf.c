/*
 * Fuzz target: conf_load_file on arbitrary bytes (written to a temporary file, since the
 * config is read from a path). A refusal must name the file and line (or the file, when it
 * cannot be opened) with a message; an accepted file must leave every setting within its
 * bounds, which is checked by dumping the result and loading the dump back over zeroes: it
 * must load without error and give the same settings.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char input_path[64];
static char dump_path[64];
static bool ready;

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void cleanup(void)
{
    unlink(input_path);
    unlink(dump_path);
}

static void prepare(void)
{
    /* tmpfs when there is one: rewriting a file on ext4 flushes it on close (auto_da_alloc),
     * which makes each run take milliseconds. */
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(input_path, sizeof input_path, "%s/fuzz_conf.in.XXXXXX", dir);
    snprintf(dump_path, sizeof dump_path, "%s/fuzz_conf.dump.XXXXXX", dir);
    int a = mkstemp(input_path), b = mkstemp(dump_path);
    check(a >= 0 && b >= 0);
    close(a);
    close(b);
    atexit(cleanup);
    ready = true;
}

/* Same settings (string buffers may differ after their NUL). */
static bool conf_equal(const conf_t *a, const conf_t *b)
{
    return strcmp(a->data_dir, b->data_dir) == 0 && strcmp(a->listen, b->listen) == 0 &&
           strcmp(a->events, b->events) == 0 && a->max_frame == b->max_frame &&
           a->max_batch_items == b->max_batch_items && a->max_group == b->max_group &&
           a->page_size == b->page_size && a->map_size == b->map_size &&
           a->map_size_max == b->map_size_max && a->future_skew_ms == b->future_skew_ms &&
           a->send_hwm == b->send_hwm && a->recv_hwm == b->recv_hwm && a->verbose == b->verbose;
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    check(f != NULL);
    check(size == 0 || fwrite(data, 1, size, f) == size);
    check(fclose(f) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        prepare();
    write_file(input_path, data, size);
    conf_t c;
    conf_defaults(&c);
    err_detail_t d;
    err_clear(&d);
    int rc = conf_load_file(&c, input_path, &d);
    if (rc != 0) {
        check(rc == ERR_INVALID);
        check(d.code == rc && d.message[0] != '\0');
        size_t n = strlen(input_path);
        check(strncmp(d.field, input_path, n) == 0 && d.field[n] == ':');
        return 0;
    }
    /* Round trip: the dump of what was loaded loads back to the same settings. */
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    check(mem != NULL);
    conf_dump(&c, mem);
    check(fclose(mem) == 0);
    write_file(dump_path, buf, len);
    free(buf);
    conf_t back;
    memset(&back, 0, sizeof back);
    err_clear(&d);
    check(conf_load_file(&back, dump_path, &d) == 0);
    check(conf_equal(&c, &back));
    return 0;
}
