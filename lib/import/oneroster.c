#include "oneroster.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- RFC 4180 records ---------------------------------------------------------------------- */

/* A CSV reader over one file: each call yields the next record's fields (pointers into buf,
 * NUL-terminated, valid until the next call). */
typedef struct csv {
    const char *name; /* "classes.csv", for messages */
    const char *p, *end;
    size_t line;    /* the physical line the next record starts on (1-based) */
    size_t rows;    /* records read */
    char *buf;      /* the current record's fields, unquoted */
    size_t buf_cap; /* bytes */
    char *field[ONEROSTER_COLS_MAX];
    size_t n;
} csv_t;

static bool utf8_valid(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

static int csv_open(csv_t *c, const char *name, const char *data, size_t len, err_detail_t *d)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    if (data == NULL) {
        data = "";
        len = 0;
    }
    if (len > ONEROSTER_FILE_MAX)
        return err_set(d, ERR_LIMIT, name, "%zu bytes; a roster file holds at most %u", len,
                       ONEROSTER_FILE_MAX);
    if (memchr(data, '\0', len) != NULL)
        return err_set(d, ERR_INVALID, name, "contains a NUL byte: not a CSV text file");
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
    }
    if (!utf8_valid((const unsigned char *)data, len))
        return err_set(d, ERR_INVALID, name, "is not valid UTF-8 (save the export as UTF-8)");
    c->p = data;
    c->end = data + len;
    c->line = 1;
    c->buf_cap = len + ONEROSTER_COLS_MAX + 1; /* every field's bytes and NULs fit */
    c->buf = malloc(c->buf_cap);
    if (c->buf == NULL)
        return err_set(d, ERR_NOMEM, name, "out of memory");
    return 0;
}

static void csv_close(csv_t *c)
{
    free(c->buf);
    c->buf = NULL;
}

/*
 * Reads the next record. Returns 1 with c->field/c->n set (and *line its first line), 0 at
 * the end, or an error (detail "FILE:LINE"). Blank lines are skipped.
 */
static int csv_next(csv_t *c, size_t *line, err_detail_t *d)
{
    char where[64];
    for (;;) {
        if (c->p >= c->end)
            return 0;
        if (*c->p == '\n' || (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n') ||
            (*c->p == '\r' && c->p + 1 == c->end)) {
            c->p += *c->p == '\r' && c->p + 1 < c->end ? 2 : 1;
            c->line++;
            continue; /* a blank line */
        }
        break;
    }
    if (++c->rows > ONEROSTER_ROWS_MAX)
        return err_set(d, ERR_LIMIT, c->name, "more than %u rows", ONEROSTER_ROWS_MAX);
    *line = c->line;
    snprintf(where, sizeof where, "%s:%zu", c->name, c->line);
    char *o = c->buf;
    c->n = 0;
    for (;;) { /* one field */
        if (c->n == ONEROSTER_COLS_MAX)
            return err_set(d, ERR_LIMIT, where, "more than %u fields", ONEROSTER_COLS_MAX);
        char *start = o;
        if (c->p < c->end && *c->p == '"') {
            c->p++;
            for (;;) {
                if (c->p >= c->end)
                    return err_set(d, ERR_INVALID, where,
                                   "a quoted field is never closed (a missing '\"')");
                if (*c->p == '"') {
                    if (c->p + 1 < c->end && c->p[1] == '"') {
                        *o++ = '"';
                        c->p += 2;
                        continue;
                    }
                    c->p++;
                    break;
                }
                if (*c->p == '\n')
                    c->line++;
                *o++ = *c->p++;
            }
            if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
                return err_set(d, ERR_INVALID, where,
                               "field %zu: text after a closing quote (a quote inside a quoted "
                               "field is written \"\")",
                               c->n + 1);
        } else {
            while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
                if (*c->p == '"')
                    return err_set(d, ERR_INVALID, where,
                                   "field %zu: a quote inside an unquoted field (quote the "
                                   "whole field and write \"\")",
                                   c->n + 1);
                *o++ = *c->p++;
            }
        }
        if ((size_t)(o - start) > ONEROSTER_FIELD_MAX)
            return err_set(d, ERR_LIMIT, where, "field %zu is longer than %u bytes", c->n + 1,
                           ONEROSTER_FIELD_MAX);
        *o++ = '\0';
        c->field[c->n++] = start;
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        /* The record's end: CRLF, LF, a lone CR, or the end of the file. */
        if (c->p < c->end && *c->p == '\r')
            c->p++;
        if (c->p < c->end && *c->p == '\n')
            c->p++;
        c->line++;
        return 1;
    }
}

/* ---- the result ---------------------------------------------------------------------------- */

static void warn(oneroster_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(oneroster_t *r, const char *fmt, ...)
{
    if (r->n_warnings >= ONEROSTER_WARNINGS_MAX) {
        r->warnings_dropped++;
        return;
    }
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = strdup(buf);
    if (s == NULL) {
        r->warnings_dropped++;
        return;
    }
    if (r->warnings == NULL &&
        (r->warnings = calloc(ONEROSTER_WARNINGS_MAX, sizeof(char *))) == NULL) {
        free(s);
        r->warnings_dropped++;
        return;
    }
    r->warnings[r->n_warnings++] = s;
}

void oneroster_destroy(oneroster_t **rp)
{
    if (rp == NULL || *rp == NULL)
        return;
    oneroster_t *r = *rp;
    for (size_t i = 0; i < r->n_classes; i++) {
        oneroster_class_t *c = &r->classes[i];
        free(c->id);
        free(c->title);
        for (size_t j = 0; j < c->n_learners; j++)
            free(c->learners[j]);
        for (size_t j = 0; j < c->n_teachers; j++)
            free(c->teachers[j]);
        free(c->learners);
        free(c->teachers);
    }
    free(r->classes);
    for (size_t i = 0; i < r->n_warnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    free(r);
    *rp = NULL;
}

/* Finds the header's columns: each name in names gets its index, or -1. */
static void columns(const csv_t *c, const char *const *names, int *idx, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        idx[k] = -1;
        for (size_t i = 0; i < c->n; i++)
            if (strcmp(c->field[i], names[k]) == 0) {
                idx[k] = (int)i;
                break;
            }
    }
}

static const char *col(const csv_t *c, int i)
{
    return i >= 0 && (size_t)i < c->n ? c->field[i] : "";
}

/* Reads the header, requiring the first `required` names. */
static int header(csv_t *c, const char *const *names, int *idx, size_t n, size_t required,
                  err_detail_t *d)
{
    size_t line;
    int rc = csv_next(c, &line, d);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return err_set(d, ERR_INVALID, c->name, "is empty: expected a header line");
    columns(c, names, idx, n);
    for (size_t k = 0; k < required; k++)
        if (idx[k] < 0)
            return err_set(d, ERR_INVALID, c->name,
                           "the header has no '%s' column (columns are matched by name, "
                           "case-sensitive)",
                           names[k]);
    return 0;
}

/* Warns for a row whose field count differs from the header's. */
static void row_shape(oneroster_t *r, const csv_t *c, size_t line, size_t want)
{
    if (c->n != want)
        warn(r, "%s:%zu: %zu fields where the header has %zu%s", c->name, line, c->n, want,
             c->n < want ? " (the missing ones are taken as empty)" : " (the extra ones ignored)");
}

static bool tobedeleted(const char *status)
{
    return strcmp(status, "tobedeleted") == 0;
}

/* A sorted (key, value) table of strings. */
typedef struct pair {
    char *key, *val;
    size_t seq; /* classes: index in r->classes */
} pair_t;

static int pair_cmp(const void *a, const void *b)
{
    return strcmp(((const pair_t *)a)->key, ((const pair_t *)b)->key);
}

static pair_t *pair_find(pair_t *v, size_t n, const char *key)
{
    pair_t probe = {(char *)key, NULL, 0};
    return n ? bsearch(&probe, v, n, sizeof *v, pair_cmp) : NULL;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and removes duplicates (freeing them). */
static void unique(char **v, size_t *n)
{
    if (*n == 0)
        return;
    qsort(v, *n, sizeof *v, str_cmp);
    size_t k = 1;
    for (size_t i = 1; i < *n; i++) {
        if (strcmp(v[i], v[k - 1]) == 0)
            free(v[i]);
        else
            v[k++] = v[i];
    }
    *n = k;
}

static int push(char ***v, size_t *n, size_t *cap, const char *s)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        char **g = realloc(*v, c * sizeof *g);
        if (g == NULL)
            return ERR_NOMEM;
        *v = g;
        *cap = c;
    }
    if (((*v)[*n] = strdup(s)) == NULL)
        return ERR_NOMEM;
    (*n)++;
    return 0;
}

/* ---- the three files ----------------------------------------------------------------------- */

static int read_classes(oneroster_t *r, const oneroster_input_t *in, pair_t **index, size_t *n,
                        err_detail_t *d)
{
    static const char *const names[] = {"sourcedId", "status", "title"};
    int idx[3];
    csv_t c;
    int rc = csv_open(&c, "classes.csv", in->classes, in->classes_len, d);
    if (rc == 0)
        rc = header(&c, names, idx, 3, 1, d);
    size_t want = c.n, cap = 0, line;
    while (rc == 0 && (rc = csv_next(&c, &line, d)) == 1) {
        rc = 0;
        row_shape(r, &c, line, want);
        const char *id = col(&c, idx[0]);
        if (id[0] == '\0') {
            warn(r, "classes.csv:%zu: no sourcedId; skipped", line);
            r->skipped++;
            continue;
        }
        if (r->n_classes == cap) {
            cap = cap ? 2 * cap : 64;
            oneroster_class_t *g = realloc(r->classes, cap * sizeof *g);
            if (g == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            r->classes = g;
        }
        oneroster_class_t *k = &r->classes[r->n_classes];
        memset(k, 0, sizeof *k);
        const char *title = col(&c, idx[2]);
        k->id = strdup(id);
        k->title = strdup(title[0] ? title : id);
        k->deleted = tobedeleted(col(&c, idx[1]));
        r->n_classes++;
        if (k->id == NULL || k->title == NULL)
            rc = ERR_NOMEM;
    }
    csv_close(&c);
    if (rc != 0)
        return rc == ERR_NOMEM ? err_set(d, rc, "classes.csv", "out of memory") : rc;
    /* The index, and duplicates: the first row of an id wins. */
    *index = calloc(r->n_classes ? r->n_classes : 1, sizeof **index);
    if (*index == NULL)
        return err_set(d, ERR_NOMEM, "classes.csv", "out of memory");
    size_t m = 0;
    for (size_t i = 0; i < r->n_classes; i++)
        (*index)[m++] = (pair_t){r->classes[i].id, NULL, i};
    qsort(*index, m, sizeof **index, pair_cmp);
    size_t kept = 0;
    for (size_t i = 0; i < m; i++) {
        if (kept > 0 && strcmp((*index)[kept - 1].key, (*index)[i].key) == 0) {
            size_t a = (*index)[kept - 1].seq, b = (*index)[i].seq;
            size_t first = a < b ? a : b, later = a < b ? b : a;
            (*index)[kept - 1] = (pair_t){r->classes[first].id, NULL, first};
            warn(r, "classes.csv: class '%.200s' is listed twice; the first row is used",
                 r->classes[later].id);
            r->classes[later].id[0] = '\0'; /* dropped below */
            continue;
        }
        (*index)[kept++] = (*index)[i];
    }
    *n = kept;
    /* Compact the dropped duplicates out of the class list, keeping the index right. */
    size_t w = 0;
    size_t *moved = malloc((r->n_classes ? r->n_classes : 1) * sizeof *moved);
    if (moved == NULL)
        return err_set(d, ERR_NOMEM, "classes.csv", "out of memory");
    for (size_t i = 0; i < r->n_classes; i++) {
        if (r->classes[i].id[0] == '\0') {
            free(r->classes[i].id);
            free(r->classes[i].title);
            r->skipped++;
            continue;
        }
        moved[i] = w;
        r->classes[w++] = r->classes[i];
    }
    r->n_classes = w;
    for (size_t i = 0; i < kept; i++)
        (*index)[i].seq = moved[(*index)[i].seq];
    free(moved);
    return 0;
}

/* users.csv: sourcedId -> learner id (the chosen column), skipping tobedeleted users. */
static int read_users(oneroster_t *r, const oneroster_input_t *in, pair_t **users, size_t *n,
                      err_detail_t *d)
{
    const char *idcol = in->id_column && in->id_column[0] ? in->id_column : "sourcedId";
    const char *names[] = {"sourcedId", idcol, "status"};
    int idx[3];
    csv_t c;
    size_t cap = 0, line;
    *users = NULL;
    *n = 0;
    int rc = csv_open(&c, "users.csv", in->users, in->users_len, d);
    if (rc == 0)
        rc = header(&c, names, idx, 3, 2, d);
    size_t want = c.n;
    while (rc == 0 && (rc = csv_next(&c, &line, d)) == 1) {
        rc = 0;
        row_shape(r, &c, line, want);
        const char *sid = col(&c, idx[0]), *lid = col(&c, idx[1]);
        if (tobedeleted(col(&c, idx[2]))) {
            r->skipped++;
            continue;
        }
        if (sid[0] == '\0' || lid[0] == '\0') {
            warn(r, "users.csv:%zu: no %s; the user is skipped", line,
                 sid[0] == '\0' ? "sourcedId" : idcol);
            r->skipped++;
            continue;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            pair_t *g = realloc(*users, cap * sizeof *g);
            if (g == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            *users = g;
        }
        pair_t *p = &(*users)[*n];
        p->key = strdup(sid);
        p->val = strdup(lid);
        p->seq = line;
        (*n)++;
        if (p->key == NULL || p->val == NULL)
            rc = ERR_NOMEM;
    }
    csv_close(&c);
    if (rc != 0)
        return rc == ERR_NOMEM ? err_set(d, rc, "users.csv", "out of memory") : rc;
    if (*n > 1) /* no users: *users is NULL, which qsort may not be given */
        qsort(*users, *n, sizeof **users, pair_cmp);
    for (size_t i = 1; i < *n; i++)
        if (strcmp((*users)[i].key, (*users)[i - 1].key) == 0)
            warn(r, "users.csv:%zu: user '%.200s' is listed twice; one row is used",
                 (*users)[i].seq, (*users)[i].key);
    return 0;
}

typedef struct members {
    char **learners, **teachers;
    size_t n_learners, n_teachers, cap_learners, cap_teachers;
} members_t;

static int read_enrollments(oneroster_t *r, const oneroster_input_t *in, pair_t *classes,
                            size_t n_classes, pair_t *users, size_t n_users, bool have_users,
                            members_t *m, err_detail_t *d)
{
    static const char *const names[] = {"classSourcedId", "userSourcedId", "role", "status"};
    int idx[4];
    csv_t c;
    size_t line;
    int rc = csv_open(&c, "enrollments.csv", in->enrollments, in->enrollments_len, d);
    if (rc == 0)
        rc = header(&c, names, idx, 4, 3, d);
    size_t want = c.n;
    while (rc == 0 && (rc = csv_next(&c, &line, d)) == 1) {
        rc = 0;
        row_shape(r, &c, line, want);
        const char *cid = col(&c, idx[0]), *uid = col(&c, idx[1]), *role = col(&c, idx[2]);
        if (tobedeleted(col(&c, idx[3]))) {
            r->skipped++;
            continue;
        }
        bool student = strcmp(role, "student") == 0, teacher = strcmp(role, "teacher") == 0;
        if (!student && !teacher) {
            r->other_roles++;
            continue;
        }
        pair_t *k = pair_find(classes, n_classes, cid);
        if (k == NULL) {
            warn(r, "enrollments.csv:%zu: class '%.200s' is not in classes.csv; skipped", line,
                 cid);
            r->skipped++;
            continue;
        }
        if (r->classes[k->seq].deleted) {
            r->skipped++;
            continue; /* the class goes with all its members */
        }
        const char *member = uid;
        if (have_users) {
            pair_t *u = pair_find(users, n_users, uid);
            if (u == NULL) {
                warn(r,
                     "enrollments.csv:%zu: user '%.200s' is not in users.csv (or is to be "
                     "deleted); skipped",
                     line, uid);
                r->skipped++;
                continue;
            }
            member = u->val;
        } else if (uid[0] == '\0') {
            warn(r, "enrollments.csv:%zu: no userSourcedId; skipped", line);
            r->skipped++;
            continue;
        }
        members_t *km = &m[k->seq];
        rc = student ? push(&km->learners, &km->n_learners, &km->cap_learners, member)
                     : push(&km->teachers, &km->n_teachers, &km->cap_teachers, member);
        r->enrollments++;
    }
    csv_close(&c);
    if (rc == ERR_NOMEM)
        return err_set(d, rc, "enrollments.csv", "out of memory");
    return rc;
}

int oneroster_parse(const oneroster_input_t *in, oneroster_t **out, err_detail_t *d)
{
    *out = NULL;
    oneroster_t *r = calloc(1, sizeof *r);
    pair_t *classes = NULL, *users = NULL;
    size_t n_classes = 0, n_users = 0;
    members_t *m = NULL;
    if (r == NULL)
        return err_set(d, ERR_NOMEM, "roster", "out of memory");
    int rc = read_classes(r, in, &classes, &n_classes, d);
    if (rc == 0 && in->users != NULL)
        rc = read_users(r, in, &users, &n_users, d);
    else if (rc == 0 && in->id_column && in->id_column[0] &&
             strcmp(in->id_column, "sourcedId") != 0)
        rc = err_set(d, ERR_INVALID, "users.csv", "is needed to map learners to their '%s' column",
                     in->id_column);
    if (rc == 0 && (m = calloc(r->n_classes ? r->n_classes : 1, sizeof *m)) == NULL)
        rc = err_set(d, ERR_NOMEM, "roster", "out of memory");
    if (rc == 0)
        rc = read_enrollments(r, in, classes, n_classes, users, n_users, in->users != NULL, m, d);
    for (size_t i = 0; m != NULL && i < r->n_classes; i++) {
        oneroster_class_t *k = &r->classes[i];
        unique(m[i].learners, &m[i].n_learners);
        unique(m[i].teachers, &m[i].n_teachers);
        k->learners = m[i].learners;
        k->n_learners = m[i].n_learners;
        k->teachers = m[i].teachers;
        k->n_teachers = m[i].n_teachers;
    }
    free(m);
    free(classes);
    for (size_t i = 0; i < n_users; i++) {
        free(users[i].key);
        free(users[i].val);
    }
    free(users);
    if (rc != 0) {
        oneroster_destroy(&r);
        return rc;
    }
    *out = r;
    return 0;
}
