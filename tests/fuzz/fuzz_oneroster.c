/*
 * Fuzz target: oneroster_parse (the CSV reader and the roster mapping) on arbitrary bytes.
 * Input: a flags byte (1: users.csv present, 2: map learners by the "identifier" column), then
 * classes.csv, users.csv and enrollments.csv separated by 0xFF bytes (never valid UTF-8, so no
 * file needs one). A refusal must come with an error detail; a result must hold classes with
 * ids, sorted unique member lists, and at most ONEROSTER_WARNINGS_MAX warnings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oneroster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void sorted_unique(char **v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        check(strcmp(v[i - 1], v[i]) < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    const char *part[3] = {"", "", ""};
    size_t len[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        const char *sep = memchr(p, 0xFF, (size_t)(end - p));
        part[i] = p;
        len[i] = (size_t)((sep ? sep : end) - p);
        p = sep ? sep + 1 : end;
    }
    oneroster_input_t in = {part[0], len[0], (flags & 1) ? part[1] : NULL,     len[1],
                            part[2], len[2], (flags & 2) ? "identifier" : NULL};
    oneroster_t *r = NULL;
    err_detail_t d;
    err_clear(&d);
    int rc = oneroster_parse(&in, &r, &d);
    if (rc != 0) {
        check(r == NULL && d.code == rc && d.message[0] != '\0');
        return 0;
    }
    check(r != NULL && r->n_warnings <= ONEROSTER_WARNINGS_MAX);
    for (size_t i = 0; i < r->n_classes; i++) {
        const oneroster_class_t *c = &r->classes[i];
        check(c->id != NULL && c->id[0] != '\0' && c->title != NULL);
        sorted_unique(c->learners, c->n_learners);
        sorted_unique(c->teachers, c->n_teachers);
        for (size_t k = 0; k < i; k++)
            check(strcmp(r->classes[k].id, c->id) != 0);
    }
    oneroster_destroy(&r);
    check(r == NULL);
    return 0;
}
