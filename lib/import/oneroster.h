/*
 * oneroster: classes and their members from a 1EdTech OneRoster 1.2 CSV export (the bulk
 * files every student information system writes): classes.csv, enrollments.csv and, when
 * present, users.csv.
 *
 * Pure: no I/O (masteryctl reads the files; the fuzz target feeds bytes). The result is what
 * the daemon's ImportRoster request carries: per class its id (sourcedId), title, students
 * and teachers, or that it is to be deleted.
 *
 * CSV: RFC 4180 (fields separated by commas; quoted fields with "" for a quote may hold commas
 * and line breaks; CRLF or LF line ends), UTF-8 with or without a byte order mark. Columns are
 * found by their header names (case-sensitive, as the spec writes them), so their order and
 * any extra columns do not matter.
 *   classes.csv      sourcedId (required), status, title (else the sourcedId)
 *   users.csv        sourcedId (required), status, and the identifier column if one is chosen
 *                    (e.g. "identifier" or "username": the learner id the school's tools use)
 *   enrollments.csv  classSourcedId, userSourcedId, role (required), status
 * Only ids and roles are read: names, e-mail addresses and every other column are never
 * looked at, copied or kept.
 *
 * Lenient, with a warning naming the file and line: blank lines (skipped silently), rows with
 * fewer or more fields than the header (missing ones are empty), rows whose status is
 * tobedeleted (classes: the class is deleted on import; users and enrollments: skipped, so the
 * enrollment is removed), an empty id, a duplicate class, an enrollment of a class or user the
 * other files do not have, a user without the identifier chosen (skipped), roles other than
 * student and teacher (counted, not warned). Refused (ERR_INVALID, detail->field "FILE:LINE"):
 * an unterminated quote, a quote inside an unquoted field, a NUL byte, a field longer than
 * ONEROSTER_FIELD_MAX bytes, a required column missing from the header, invalid UTF-8.
 *
 * Budgets: ONEROSTER_FILE_MAX bytes and ONEROSTER_ROWS_MAX rows per file, ONEROSTER_COLS_MAX
 * columns; ONEROSTER_WARNINGS_MAX warnings are kept (the rest counted). Time O(n log n).
 */
#ifndef MASTERY_ONEROSTER_H
#define MASTERY_ONEROSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define ONEROSTER_FILE_MAX     (64u << 20)
#define ONEROSTER_ROWS_MAX     1000000u
#define ONEROSTER_COLS_MAX     256u
#define ONEROSTER_FIELD_MAX    1024u
#define ONEROSTER_WARNINGS_MAX 1000u

/* The input: the files' bytes (borrowed for the call). users may be NULL (then learners are
 * named by their sourcedId). id_column: users.csv's column holding the learner id; NULL or ""
 * for sourcedId. */
typedef struct oneroster_input {
    const char *classes;
    size_t classes_len;
    const char *users;
    size_t users_len;
    const char *enrollments;
    size_t enrollments_len;
    const char *id_column;
} oneroster_input_t;

typedef struct oneroster_class {
    char *id;
    char *title;
    char **learners; /* sorted, unique */
    size_t n_learners;
    char **teachers; /* sorted, unique */
    size_t n_teachers;
    bool deleted; /* status=tobedeleted */
} oneroster_class_t;

typedef struct oneroster {
    oneroster_class_t *classes; /* in classes.csv order */
    size_t n_classes;
    char **warnings; /* "enrollments.csv:17: class 'x' is not in classes.csv; skipped" */
    size_t n_warnings;
    size_t warnings_dropped; /* beyond ONEROSTER_WARNINGS_MAX */
    size_t enrollments;      /* students and teachers taken */
    size_t other_roles;      /* enrollments of other roles, ignored */
    size_t skipped;          /* rows skipped (tobedeleted or with a warning) */
} oneroster_t;

/*
 * Parses a roster. On success *out is a new result: caller owns it, free with
 * oneroster_destroy(). Returns 0, ERR_INVALID (detail names file:line and what), ERR_LIMIT (a
 * budget, named), ERR_NOMEM.
 */
int oneroster_parse(const oneroster_input_t *in, oneroster_t **out, err_detail_t *detail);

/* Frees the result and sets *r to NULL; NULL is a no-op. */
void oneroster_destroy(oneroster_t **r);

#endif
