/*
 * jsonseq: JSON lines / JSON array / StatementResult splitter. See jsonseq.h.
 */
#include "jsonseq.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define TAIL_MAX 65536 /* bytes after a StatementResult's array */

typedef enum { MODE_UNKNOWN, MODE_LINES, MODE_ARRAY, MODE_DONE, MODE_BROKEN } mode_t_;

struct jsonseq {
    char *buf; /* bytes [start, len) not consumed yet */
    size_t start, len, cap;
    size_t scan; /* how far the current item was scanned */
    mode_t_ mode;
    int depth; /* array mode: nesting inside the current element */
    bool in_str, esc, skipping, ended, wrapped, bom_done;
    uint64_t line; /* the line of the byte at start */
    char more[1024];
};

jsonseq_t *jsonseq_new(void)
{
    jsonseq_t *p = calloc(1, sizeof *p);
    if (p != NULL)
        p->line = 1;
    return p;
}

void jsonseq_destroy(jsonseq_t **pp)
{
    if (pp == NULL || *pp == NULL)
        return;
    free((*pp)->buf);
    free(*pp);
    *pp = NULL;
}

int jsonseq_feed(jsonseq_t *p, const void *data, size_t n)
{
    if (p->start > 0) {
        memmove(p->buf, p->buf + p->start, p->len - p->start);
        p->len -= p->start;
        p->scan -= p->start;
        p->start = 0;
    }
    if (n > p->cap - p->len) {
        size_t need = p->len + n, ncap = p->cap ? p->cap : 65536;
        while (ncap < need)
            ncap *= 2;
        char *b = realloc(p->buf, ncap);
        if (b == NULL)
            return ERR_NOMEM;
        p->buf = b;
        p->cap = ncap;
    }
    if (n > 0)
        memcpy(p->buf + p->len, data, n);
    p->len += n;
    return 0;
}

void jsonseq_end(jsonseq_t *p)
{
    p->ended = true;
}

bool jsonseq_is_lines(const jsonseq_t *p)
{
    return p->mode == MODE_LINES;
}

const char *jsonseq_more(const jsonseq_t *p)
{
    return p->more;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void skip_ws(jsonseq_t *p)
{
    while (p->start < p->len && is_ws(p->buf[p->start])) {
        if (p->buf[p->start] == '\n')
            p->line++;
        p->start++;
    }
    p->scan = p->start;
}

static int broken(jsonseq_t *p, const char *text, uint64_t *line, const char **why)
{
    p->mode = MODE_BROKEN;
    p->start = p->scan = p->len;
    *line = p->line;
    *why = text;
    return JSONSEQ_BROKEN;
}

/* {"statements": [ at start: 1 (*after past the '['), 0 no, -1 cannot tell yet. */
static int statement_result(const jsonseq_t *p, size_t *after)
{
    static const char *const parts[] = {"{", "\"statements\"", ":", "["};
    size_t i = p->start;
    for (size_t k = 0; k < 4; k++) {
        while (i < p->len && is_ws(p->buf[i]))
            i++;
        size_t n = strlen(parts[k]);
        size_t have = p->len - i < n ? p->len - i : n;
        if (memcmp(p->buf + i, parts[k], have) != 0)
            return 0;
        if (have < n)
            return p->ended ? 0 : -1;
        i += n;
    }
    *after = i;
    return 1;
}

/* The end of a StatementResult after its array: "}" or ', "more": "..." ... }'. */
static int result_tail(jsonseq_t *p, uint64_t *line, const char **why)
{
    size_t n = p->len - p->start;
    char *text = malloc(n + 1);
    if (text == NULL)
        return broken(p, "out of memory", line, why);
    text[0] = '{';
    memcpy(text + 1, p->buf + p->start, n);
    size_t k = 1;
    while (k <= n && is_ws(text[k]))
        k++;
    json_t *o = NULL;
    if (k <= n && text[k] == ',') {
        text[k] = ' ';
        o = json_loadb(text, n + 1, 0, NULL);
    } else if (k <= n && text[k] == '}') {
        size_t j = k + 1; /* only white space may follow the "}" */
        while (j <= n && is_ws(text[j]))
            j++;
        o = j > n ? json_object() : NULL;
    }
    free(text);
    if (!json_is_object(o)) {
        json_decref(o);
        return broken(p, "the StatementResult does not end as a JSON object", line, why);
    }
    const char *more = json_string_value(json_object_get(o, "more"));
    if (more != NULL)
        snprintf(p->more, sizeof p->more, "%s", more);
    json_decref(o);
    p->start = p->scan = p->len;
    return JSONSEQ_NEED;
}

static int next_line(jsonseq_t *p, const char **item, size_t *len, uint64_t *line, const char **why)
{
    for (;;) {
        char *nl = memchr(p->buf + p->scan, '\n', p->len - p->scan);
        if (nl == NULL) {
            p->scan = p->len;
            if (p->skipping) { /* dropping the rest of an over-long line */
                p->start = p->scan = p->len;
                return JSONSEQ_NEED;
            }
            if (p->len - p->start > JSONSEQ_ITEM_MAX) {
                p->skipping = true;
                *line = p->line;
                *why = "a line longer than 1 MiB";
                return JSONSEQ_SKIPPED;
            }
            if (!p->ended || p->start == p->len)
                return JSONSEQ_NEED;
            nl = p->buf + p->len; /* the last line has no newline */
        }
        size_t a = p->start, b = (size_t)(nl - p->buf);
        uint64_t this_line = p->line;
        p->start = p->scan = b < p->len ? b + 1 : b;
        p->line++;
        if (p->skipping) {
            p->skipping = false;
            continue;
        }
        if (b - a > JSONSEQ_ITEM_MAX) {
            *line = this_line;
            *why = "a line longer than 1 MiB";
            return JSONSEQ_SKIPPED;
        }
        while (a < b && is_ws(p->buf[a]))
            a++;
        while (b > a && is_ws(p->buf[b - 1]))
            b--;
        if (a == b)
            continue; /* a blank line */
        *item = p->buf + a;
        *len = b - a;
        *line = this_line;
        return JSONSEQ_ITEM;
    }
}

static int next_element(jsonseq_t *p, const char **item, size_t *len, uint64_t *line,
                        const char **why)
{
    if (p->scan == p->start)
        skip_ws(p);
    if (p->start < p->len && p->buf[p->start] == ']' && p->depth == 0) {
        p->start++;
        p->scan = p->start;
        p->mode = MODE_DONE;
        return JSONSEQ_NEED;
    }
    for (size_t i = p->scan; i < p->len; i++) {
        char c = p->buf[i];
        if (p->in_str) {
            if (p->esc)
                p->esc = false;
            else if (c == '\\')
                p->esc = true;
            else if (c == '"')
                p->in_str = false;
            continue;
        }
        if (c == '"')
            p->in_str = true;
        else if (c == '{' || c == '[')
            p->depth++;
        else if ((c == '}' || c == ']') && p->depth > 0)
            p->depth--;
        else if ((c == ',' || c == ']') && p->depth == 0) {
            size_t a = p->start, b = i;
            while (b > a && is_ws(p->buf[b - 1]))
                b--;
            if (b - a > JSONSEQ_ITEM_MAX)
                return broken(p, "an array element longer than 1 MiB", line, why);
            *item = p->buf + a;
            *len = b - a;
            *line = p->line;
            for (size_t k = p->start; k < i; k++)
                p->line += p->buf[k] == '\n';
            p->start = p->scan = c == ',' ? i + 1 : i; /* a ']' ends the array next time */
            return JSONSEQ_ITEM;
        }
    }
    p->scan = p->len;
    if (p->len - p->start > JSONSEQ_ITEM_MAX)
        return broken(p, "an array element longer than 1 MiB", line, why);
    if (p->ended)
        return broken(p, "the array is not closed with ]", line, why);
    return JSONSEQ_NEED;
}

int jsonseq_next(jsonseq_t *p, const char **item, size_t *len, uint64_t *line, const char **why)
{
    for (;;) {
        switch (p->mode) {
        case MODE_UNKNOWN: {
            if (!p->bom_done) { /* a byte order mark, only as the very first bytes */
                size_t have = p->len - p->start, k = have < 3 ? have : 3;
                if (have == 0 && !p->ended)
                    return JSONSEQ_NEED; /* nothing yet (and no buffer) */
                if (have == 0 || memcmp(p->buf + p->start, "\xEF\xBB\xBF", k) != 0 ||
                    (have < 3 && p->ended))
                    p->bom_done = true;
                else if (have < 3)
                    return JSONSEQ_NEED; /* maybe the start of one */
                else {
                    p->start += 3;
                    p->bom_done = true;
                }
            }
            skip_ws(p);
            if (p->start == p->len)
                return JSONSEQ_NEED;
            size_t after = 0;
            int sr = p->buf[p->start] == '{' ? statement_result(p, &after) : 0;
            if (sr < 0)
                return JSONSEQ_NEED;
            if (p->buf[p->start] == '[' || sr == 1) {
                p->mode = MODE_ARRAY;
                p->wrapped = sr == 1;
                for (size_t k = p->start; k < after; k++)
                    p->line += p->buf[k] == '\n';
                p->start = p->scan = sr == 1 ? after : p->start + 1;
            } else {
                p->mode = MODE_LINES;
            }
            continue;
        }
        case MODE_LINES:
            return next_line(p, item, len, line, why);
        case MODE_ARRAY: {
            int r = next_element(p, item, len, line, why);
            if (r == JSONSEQ_NEED && p->mode == MODE_DONE)
                continue;
            return r;
        }
        case MODE_DONE:
            skip_ws(p);
            if (p->wrapped) {
                if (p->len - p->start > TAIL_MAX)
                    return broken(p, "too much text after the statements of the StatementResult",
                                  line, why);
                if (!p->ended)
                    return JSONSEQ_NEED; /* the object's tail is read whole at the end */
                if (p->start == p->len)
                    return broken(p, "the StatementResult object is not closed with }", line, why);
                p->wrapped = false;
                int r = result_tail(p, line, why);
                if (r != JSONSEQ_NEED)
                    return r;
                continue;
            }
            if (p->start < p->len)
                return broken(p, "text after the closing ] of the array", line, why);
            return JSONSEQ_NEED;
        case MODE_BROKEN:
            p->start = p->scan = p->len;
            return JSONSEQ_NEED;
        }
        return JSONSEQ_NEED;
    }
}
