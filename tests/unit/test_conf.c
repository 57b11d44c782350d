/*
 * Unit tests for conf: the embedded defaults, the file format (comments, blank lines, spaces),
 * every refusal naming FILE:LINE and the setting, conf_set, and every default within its own
 * bounds (the dump of the defaults loads back as a file).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"

static char tmpdir[] = "/tmp/test_conf.XXXXXX";
static int file_seq;

/* Writes len bytes of text to a new file in the temp dir; its name goes to path. */
static const char *write_conf(const char *text, size_t len, char *path, size_t cap)
{
    snprintf(path, cap, "%s/c%d.conf", tmpdir, file_seq++);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

static int load_text(conf_t *c, const char *text, char *path, size_t cap, err_detail_t *d)
{
    write_conf(text, strlen(text), path, cap);
    err_clear(d);
    return conf_load_file(c, path, d);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char path[512];
    for (int i = 0; i < file_seq; i++) {
        snprintf(path, sizeof path, "%s/c%d.conf", tmpdir, i);
        unlink(path);
    }
    return rmdir(tmpdir);
}

static void test_defaults(void **state)
{
    (void)state;
    conf_t c;
    memset(&c, 0xab, sizeof c);
    conf_defaults(&c);
    assert_string_equal(c.data_dir, "./masteryd-data");
    assert_string_equal(c.listen, "tcp://127.0.0.1:7411");
    assert_string_equal(c.events, "tcp://127.0.0.1:7412");
    assert_int_equal(c.max_frame, 1048576);
    assert_int_equal(c.max_batch_items, 1000);
    assert_int_equal(c.max_group, 256);
    assert_int_equal(c.page_size, 1000);
    assert_int_equal(c.map_size, 1ull << 30);
    assert_int_equal(c.map_size_max, 64ull << 30);
    assert_int_equal(c.future_skew_ms, 86400000);
    assert_int_equal(c.send_hwm, 1000);
    assert_int_equal(c.page_bytes, 262144);
    assert_int_equal(c.peer_in_bytes, 8388608);
    assert_int_equal(c.recv_hwm, 10000);
    assert_int_equal(c.verbose, 0);
    assert_string_equal(c.clients_file, ""); /* development mode by default */
    assert_string_equal(c.curve_secret_key_file, "");
    assert_true(c.map_size <= c.map_size_max);
}

/* conf_set enforces the bounds; so if the dump of the defaults loads back without error and
 * gives the same struct, every default is within its own bounds. */
static void test_defaults_within_bounds(void **state)
{
    (void)state;
    conf_t def, back;
    conf_defaults(&def);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    conf_dump(&def, mem);
    assert_int_equal(fclose(mem), 0);
    /* One line per setting, each naming it. */
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    assert_true(lines >= 22); /* settings only get added */
    assert_non_null(strstr(buf, "map_size_max"));
    assert_non_null(strstr(buf, "status_base_url"));
    assert_non_null(strstr(buf, "verbose"));

    char path[512];
    err_detail_t d;
    err_clear(&d);
    write_conf(buf, len, path, sizeof path);
    free(buf);
    memset(&back, 0, sizeof back);
    /* Load over a zeroed struct: every setting must come from the file. */
    assert_int_equal(conf_load_file(&back, path, &d), 0);
    assert_memory_equal(&def, &back, sizeof def);
}

static void test_file_parsing(void **state)
{
    (void)state;
    conf_t c;
    conf_defaults(&c);
    char path[512];
    err_detail_t d;
    const char *text = "# a comment line\n"
                       "\n"
                       "   \t\n"
                       "max_frame=2048\n"
                       "  page_size   =   77   # trailing comment\n"
                       "\tdata_dir = /var/lib/masteryd\t\n"
                       "listen = tcp://0.0.0.0:9000\r\n"
                       "verbose = 1\n"
                       "   # indented comment = not a setting\n"
                       "max_group = 1"; /* last line without a newline */
    assert_int_equal(load_text(&c, text, path, sizeof path, &d), 0);
    assert_int_equal(c.max_frame, 2048);
    assert_int_equal(c.page_size, 77);
    assert_string_equal(c.data_dir, "/var/lib/masteryd");
    assert_string_equal(c.listen, "tcp://0.0.0.0:9000");
    assert_int_equal(c.verbose, 1);
    assert_int_equal(c.max_group, 1);
    /* Untouched settings keep their defaults. */
    assert_string_equal(c.events, "tcp://127.0.0.1:7412");
    assert_int_equal(c.max_batch_items, 1000);

    /* Later lines win; an empty file changes nothing. */
    assert_int_equal(load_text(&c, "page_size = 5\npage_size = 6\n", path, sizeof path, &d), 0);
    assert_int_equal(c.page_size, 6);
    conf_t before = c;
    assert_int_equal(load_text(&c, "", path, sizeof path, &d), 0);
    assert_memory_equal(&before, &c, sizeof c);
}

/* '#' starts a comment at a line's start or after a blank only: a URL keeps its fragment, and
 * what conf_dump() prints (value, blanks, "# doc") reads back to the same settings. */
static void test_hash_in_values_and_dump_round_trip(void **state)
{
    (void)state;
    conf_t c, back;
    conf_defaults(&c);
    char path[512];
    err_detail_t d;
    assert_int_equal(load_text(&c,
                               "issuer_url = https://school.example/#about # the fragment stays\n"
                               "issuer_name = Room#5 school\n"
                               "issuer_image = a #b: after a blank, a comment\n"
                               "issuer_email = # empty, then a comment\n"
                               "#listen = tcp://0.0.0.0:1\n",
                               path, sizeof path, &d),
                     0);
    assert_string_equal(c.issuer_url, "https://school.example/#about");
    assert_string_equal(c.issuer_name, "Room#5 school");
    assert_string_equal(c.issuer_image, "a");
    assert_string_equal(c.issuer_email, "");
    assert_string_equal(c.listen, "tcp://127.0.0.1:7411");
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    conf_dump(&c, mem);
    assert_int_equal(fclose(mem), 0);
    conf_defaults(&back);
    write_conf(text, len, path, sizeof path);
    assert_int_equal(conf_load_file(&back, path, &d), 0);
    assert_memory_equal(&back, &c, sizeof c);
    free(text);
    /* A value that begins with '#' (no blank after '=') or has one after a blank (set by a
     * flag) would not read back from the dump: refused, naming the setting. */
    conf_defaults(&c);
    assert_int_equal(load_text(&c, "listen =#tcp://x\n", path, sizeof path, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "listen: a '#' may not begin the value"));
    assert_int_equal(conf_set(&c, "data_dir", "/srv/a #b", &d), ERR_INVALID);
    assert_int_equal(conf_set(&c, "data_dir", "/srv/a#b", &d), 0);
}

static void expect_where(const err_detail_t *d, const char *path, int line)
{
    char where[600];
    snprintf(where, sizeof where, "%s:%d", path, line);
    assert_string_equal(d->field, where);
}

static void test_unknown_setting(void **state)
{
    (void)state;
    conf_t c;
    conf_defaults(&c);
    char path[512];
    err_detail_t d;
    assert_int_equal(
        load_text(&c, "# ok\nmax_frame = 2048\nmax_frames = 4096\n", path, sizeof path, &d),
        ERR_INVALID);
    assert_int_equal(d.code, ERR_INVALID);
    expect_where(&d, path, 3);
    assert_non_null(strstr(d.message, "max_frames"));
    assert_non_null(strstr(d.message, "unknown"));
    /* Names are exact: case matters. */
    assert_int_equal(load_text(&c, "Verbose = 1\n", path, sizeof path, &d), ERR_INVALID);
    expect_where(&d, path, 1);
    assert_non_null(strstr(d.message, "Verbose"));
}

static void test_malformed(void **state)
{
    (void)state;
    conf_t c;
    conf_defaults(&c);
    char path[512];
    err_detail_t d;
    static const struct {
        const char *text;
        int line;
        const char *mention;
    } cases[] = {
        {"max_frame = 12abc\n", 1, "max_frame"},
        {"\n\npage_size = \n", 3, "page_size"},
        {"page_size = -5\n", 1, "page_size"},
        {"page_size = 1.5\n", 1, "page_size"},
        {"page_size = 0x10\n", 1, "page_size"},
        {"page_size = 99999999999999999999999\n", 1, "page_size"},
        {"verbose = -1\n", 1, "verbose"},
        {"data_dir =\n", 1, "data_dir"},
        {"# c\njust some words\n", 2, "name = value"},
        {"= 5\n", 1, "''"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conf_t before = c;
        assert_int_equal(load_text(&c, cases[i].text, path, sizeof path, &d), ERR_INVALID);
        expect_where(&d, path, cases[i].line);
        if (strstr(d.message, cases[i].mention) == NULL)
            fail_msg("case %zu: message '%s' does not mention '%s'", i, d.message,
                     cases[i].mention);
        assert_memory_equal(&before, &c, sizeof c);
    }
}

static void test_out_of_bounds(void **state)
{
    (void)state;
    conf_t c;
    conf_defaults(&c);
    char path[512];
    err_detail_t d;
    assert_int_equal(load_text(&c, "max_frame = 1023\n", path, sizeof path, &d), ERR_INVALID);
    expect_where(&d, path, 1);
    assert_non_null(strstr(d.message, "max_frame"));
    assert_non_null(strstr(d.message, "1023"));
    assert_non_null(strstr(d.message, "1024"));
    assert_int_equal(c.max_frame, 1048576);

    assert_int_equal(load_text(&c, "# x\n\nverbose = 3\n", path, sizeof path, &d), ERR_INVALID);
    expect_where(&d, path, 3);
    assert_non_null(strstr(d.message, "verbose"));

    assert_int_equal(load_text(&c, "max_batch_items = 0\n", path, sizeof path, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "max_batch_items"));

    /* The bounds themselves are inclusive. */
    assert_int_equal(
        load_text(&c, "max_frame = 1024\nverbose = 2\nfuture_skew_ms = 0\n", path, sizeof path, &d),
        0);
    assert_int_equal(c.max_frame, 1024);
    assert_int_equal(c.verbose, 2);
    assert_int_equal(c.future_skew_ms, 0);
    assert_int_equal(load_text(&c, "max_frame = 67108864\n", path, sizeof path, &d), 0);
    assert_int_equal(c.max_frame, 64u << 20);
    assert_int_equal(load_text(&c, "max_frame = 67108865\n", path, sizeof path, &d), ERR_INVALID);

    /* Strings: at most CONF_STR_MAX - 1 bytes. */
    char *big = malloc(CONF_STR_MAX + 64);
    assert_non_null(big);
    int n = snprintf(big, CONF_STR_MAX + 64, "data_dir = ");
    memset(big + n, 'x', CONF_STR_MAX);
    memcpy(big + n + CONF_STR_MAX, "\n", 2);
    assert_int_equal(load_text(&c, big, path, sizeof path, &d), ERR_INVALID);
    expect_where(&d, path, 1);
    assert_non_null(strstr(d.message, "data_dir"));
    big[n + CONF_STR_MAX - 1] = '\n';
    big[n + CONF_STR_MAX] = '\0';
    assert_int_equal(load_text(&c, big, path, sizeof path, &d), 0);
    assert_int_equal(strlen(c.data_dir), CONF_STR_MAX - 1);
    free(big);
}

static void test_long_line(void **state)
{
    (void)state;
    conf_t c;
    conf_defaults(&c);
    char path[512];
    err_detail_t d;
    size_t len = 3 * CONF_STR_MAX;
    char *text = malloc(len + 32);
    assert_non_null(text);
    int n = snprintf(text, 32, "verbose = 1\n# ");
    memset(text + n, 'c', len);
    memcpy(text + n + len, "\nverbose = 2\n", 14);
    assert_int_equal(load_text(&c, text, path, sizeof path, &d), ERR_INVALID);
    expect_where(&d, path, 2);
    assert_non_null(strstr(d.message, "too long"));
    assert_int_equal(c.verbose, 1); /* applied up to the bad line, never past it */
    free(text);

    /* A missing file is NOT_FOUND, naming the path. */
    err_clear(&d);
    snprintf(path, sizeof path, "%s/does-not-exist.conf", tmpdir);
    assert_int_equal(conf_load_file(&c, path, &d), ERR_NOT_FOUND);
    assert_string_equal(d.field, path);
    assert_non_null(strstr(d.message, "does-not-exist.conf"));
}

/* Secure mode refuses the development placeholders, naming every one left. */
static void test_issuer_placeholders(void **state)
{
    (void)state;
    conf_t c;
    err_detail_t d;
    conf_defaults(&c);
    assert_int_equal(conf_check_issuer(&c, &d), 0); /* development mode */
    assert_int_equal(conf_set(&c, "clients_file", "/etc/masteryd/clients", &d), 0);
    assert_int_equal(conf_check_issuer(&c, &d), ERR_INVALID);
    assert_string_equal(d.field, "issuer_name");
    assert_non_null(strstr(d.message, "issuer_name, issuer_url, status_base_url are"));
    assert_int_equal(conf_set(&c, "issuer_name", "Lincoln Elementary", &d), 0);
    assert_int_equal(conf_set(&c, "issuer_url", "https://lincoln.example.edu", &d), 0);
    assert_int_equal(conf_check_issuer(&c, &d), ERR_INVALID);
    assert_string_equal(d.field, "status_base_url");
    assert_non_null(strstr(d.message, "status_base_url is still the development placeholder:"));
    assert_int_equal(conf_set(&c, "status_base_url", "https://lincoln.example.edu/st", &d), 0);
    assert_int_equal(conf_check_issuer(&c, &d), 0);
    assert_int_equal(conf_set(&c, "issuer_url", "https://school.example/", &d), 0);
    assert_int_equal(conf_check_issuer(&c, &d), ERR_INVALID);
    assert_string_equal(d.field, "issuer_url");
}

static void test_conf_set(void **state)
{
    (void)state;
    conf_t c;
    conf_defaults(&c);
    err_detail_t d;
    err_clear(&d);
    assert_int_equal(conf_set(&c, "page_size", "42", &d), 0);
    assert_int_equal(c.page_size, 42);
    assert_int_equal(conf_set(&c, "events", "ipc:///tmp/x", &d), 0);
    assert_string_equal(c.events, "ipc:///tmp/x");
    assert_int_equal(conf_set(&c, "map_size", "1048576", &d), 0);
    assert_int_equal(c.map_size, 1u << 20);

    assert_int_equal(conf_set(&c, "nope", "1", &d), ERR_INVALID);
    assert_string_equal(d.field, "nope");
    assert_non_null(strstr(d.message, "unknown setting"));

    assert_int_equal(conf_set(&c, "page_size", "0", &d), ERR_INVALID);
    assert_string_equal(d.field, "page_size");
    assert_int_equal(c.page_size, 42);
    assert_int_equal(conf_set(&c, "page_size", "4x", &d), ERR_INVALID);
    assert_int_equal(conf_set(&c, "page_size", "", &d), ERR_INVALID);
    assert_int_equal(conf_set(&c, "send_hwm", "-1", &d), ERR_INVALID);
    assert_int_equal(conf_set(&c, "send_hwm", " -1", &d), ERR_INVALID);
    assert_int_equal(conf_set(&c, "listen", "", &d), ERR_INVALID);
    assert_string_equal(d.field, "listen");
    assert_int_equal(c.send_hwm, 1000);
    assert_int_equal(c.page_bytes, 262144);
    assert_int_equal(c.peer_in_bytes, 8388608);
    /* detail may be NULL. */
    assert_int_equal(conf_set(&c, "page_size", "0", NULL), ERR_INVALID);
    assert_int_equal(conf_set(&c, "page_size", "100000", NULL), 0);
    assert_int_equal(c.page_size, 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_defaults_within_bounds),
        cmocka_unit_test(test_file_parsing),
        cmocka_unit_test(test_unknown_setting),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_out_of_bounds),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_conf_set),
        cmocka_unit_test(test_issuer_placeholders),
        cmocka_unit_test(test_hash_in_values_and_dump_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
