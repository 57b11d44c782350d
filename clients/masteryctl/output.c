/*
 * masteryctl: output and small utilities: JSON lines, text tables, times, files, memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "isotime.h"
#include "masteryctl.h"

/* The library's clock, so deadlines from a window compare with ours. */
int64_t now_ms(void)
{
    return mc_now_ms();
}

double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL) {
        fprintf(stderr, "%s: out of memory\n", progname);
        exit(CTL_ERR_REPLY);
    }
    return p;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL) {
        fprintf(stderr, "%s: out of memory\n", progname);
        exit(CTL_ERR_REPLY);
    }
    return p;
}

json_t *jstr(const char *s)
{
    json_t *j = json_string(s ? s : "");
    return j ? j : json_null();
}

json_t *jtime(int64_t ms)
{
    char buf[ISOTIME_BUFSZ];
    if (ms == 0 || isotime_format_ms(ms, buf, sizeof buf) != 0)
        return json_null();
    return json_string(buf);
}

void text_time(int64_t ms, char *buf, size_t size)
{
    if (ms == 0 || isotime_format_s(ms, buf, size) != 0)
        snprintf(buf, size, "-");
}

void emit_json(json_t *doc)
{
    if (doc == NULL)
        return;
    json_dumpf(doc, stdout, JSON_FLAGS);
    fputc('\n', stdout);
    fflush(stdout);
    json_decref(doc);
}

/* ---- tables for text output ------------------------------------------------------------ */

void table_row(table_t *t, ...)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        char **cells = realloc(t->cells, t->cap * t->ncols * sizeof *cells);
        if (cells == NULL) {
            fprintf(stderr, "%s: out of memory\n", progname);
            exit(CTL_ERR_REPLY);
        }
        t->cells = cells;
    }
    va_list ap;
    va_start(ap, t);
    for (size_t i = 0; i < t->ncols; i++) {
        const char *s = va_arg(ap, const char *);
        t->cells[t->nrows * t->ncols + i] = xstrdup(s ? s : "");
    }
    va_end(ap);
    t->nrows++;
}

void table_print(table_t *t, FILE *f)
{
    size_t w[TABLE_MAX_COLS];
    for (size_t i = 0; i < t->ncols; i++) {
        w[i] = strlen(t->head[i]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t l = strlen(t->cells[r * t->ncols + i]);
            w[i] = l > w[i] ? l : w[i];
        }
    }
    for (size_t r = 0; r <= t->nrows; r++) {
        for (size_t i = 0; i < t->ncols; i++) {
            const char *s = r == 0 ? t->head[i] : t->cells[(r - 1) * t->ncols + i];
            bool last = i + 1 == t->ncols;
            if (t->right[i])
                fprintf(f, "%*s%s", (int)w[i], s, last ? "" : "  ");
            else if (last)
                fprintf(f, "%s", s);
            else
                fprintf(f, "%-*s  ", (int)w[i], s);
        }
        fputc('\n', f);
    }
}

void table_free(table_t *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

int read_file(const char *path, size_t max, char **buf, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
        return CTL_USAGE;
    }
    size_t cap = 65536, n = 0;
    char *p = xcalloc(1, cap + 1);
    int rc = 0;
    for (;;) {
        size_t r = fread(p + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            if (cap >= max) {
                fprintf(stderr, "%s: %s: larger than %zu bytes\n", progname, path, max);
                rc = CTL_USAGE;
                goto out;
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *q = realloc(p, cap + 1);
            if (q == NULL) {
                rc = CTL_ERR_REPLY;
                goto out;
            }
            p = q;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
        rc = CTL_USAGE;
    }
out:
    if (f != stdin)
        fclose(f);
    if (rc != 0) {
        free(p);
        return rc;
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return 0;
}

/* ---- progress ------------------------------------------------------------------------------ */

void progress_start(progress_t *p, const ctl_t *ctl, int fd)
{
    memset(p, 0, sizeof *p);
    p->on = !ctl->json && isatty(STDERR_FILENO);
    p->fd = fd;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        p->size = (uint64_t)st.st_size;
    p->t0 = mono_s();
    p->last = p->t0 - 1; /* the first update draws */
}

void progress_update(progress_t *p, uint64_t count, uint64_t read, const char *unit)
{
    if (!p->on)
        return;
    double now = mono_s();
    if (now - p->last < 0.2)
        return;
    p->last = now;
    double elapsed = now - p->t0;
    char rest[64] = "";
    off_t pos = p->size ? lseek(p->fd, 0, SEEK_CUR) : -1;
    if (pos > 0 && elapsed > 0 && count > 0) {
        /* bytes read, scaled by how many of the records read are answered already */
        double done = (double)pos / (double)p->size * (double)count / (double)(read ? read : 1);
        if (done > 1)
            done = 1;
        double eta = elapsed * (1 - done) / done;
        snprintf(rest, sizeof rest, "  %.0f%%  ETA %d:%02d", 100 * done, (int)eta / 60,
                 (int)eta % 60);
    }
    fprintf(stderr, "\r%" PRIu64 " %ss  %.0f/s%s\033[K", count, unit,
            elapsed > 0 ? (double)count / elapsed : 0.0, rest);
    fflush(stderr);
    p->drawn = true;
}

void progress_clear(progress_t *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = false;
    }
}
