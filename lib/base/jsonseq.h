/*
 * jsonseq: splits a stream of JSON documents into items without parsing them, so a client can
 * read a large export incrementally and report a bad item by its place and go on.
 *
 * Pure: no I/O. The caller feeds bytes as they arrive (jsonseq_feed), says when the input
 * ended (jsonseq_end), and takes items (jsonseq_next). Three shapes are recognised from the
 * first non-blank byte (after an optional UTF-8 byte order mark):
 *   '['                      a JSON array: each element is an item (split at commas and the
 *                            closing bracket outside strings and nested brackets);
 *   {"statements": [         an xAPI StatementResult (an LRS's answer to GET /statements): the
 *                            elements of its "statements" array are the items; its "more" link
 *                            is kept (jsonseq_more);
 *   anything else            JSON lines: each non-blank line is an item (CR LF accepted).
 * Items are returned as text with surrounding white space trimmed; whether an item is valid
 * JSON is the caller's to judge (an array element that is not is still one item).
 *
 * Bounds: one item (a line, an element) is at most JSONSEQ_ITEM_MAX bytes; the buffer holds at
 * most one item plus one fed chunk. Time is linear in the input: every byte is scanned once.
 */
#ifndef MASTERY_JSONSEQ_H
#define MASTERY_JSONSEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONSEQ_ITEM_MAX (1u << 20)

typedef struct jsonseq jsonseq_t;

enum {
    JSONSEQ_ITEM = 1,     /* an item is ready */
    JSONSEQ_NEED = 0,     /* feed more input (or, after jsonseq_end, the input is done) */
    JSONSEQ_SKIPPED = -1, /* one item could not be taken (a line over the limit): why says
                             what; the stream goes on with the next item */
    JSONSEQ_BROKEN = -2,  /* the input cannot be split further (an unclosed array, text after
                             it, an element over the limit): why says what; stop */
};

/* A new splitter; caller owns it, free with jsonseq_destroy(). NULL when out of memory. */
jsonseq_t *jsonseq_new(void);

/* Frees the splitter and sets *p to NULL; a NULL *p is a no-op. */
void jsonseq_destroy(jsonseq_t **p);

/*
 * Appends n bytes of input (copied; data is borrowed for the call only). Returns 0, or
 * ERR_NOMEM. Items returned earlier by jsonseq_next are invalidated.
 */
int jsonseq_feed(jsonseq_t *p, const void *data, size_t n);

/* Marks the end of the input: a last line without a newline becomes an item, an unclosed
 * array is reported as JSONSEQ_BROKEN. */
void jsonseq_end(jsonseq_t *p);

/*
 * Takes the next item.
 * @param[out] item  on JSONSEQ_ITEM, the item's text (not NUL-terminated), borrowed until the
 *                   next call of jsonseq_next or jsonseq_feed.
 * @param[out] len   its length in bytes.
 * @param[out] line  the input line on which it starts (1-based), also for SKIPPED and BROKEN.
 * @param[out] why   on SKIPPED or BROKEN, a static sentence.
 * @return JSONSEQ_ITEM, JSONSEQ_NEED, JSONSEQ_SKIPPED or JSONSEQ_BROKEN (then every later call
 *         returns JSONSEQ_NEED).
 */
int jsonseq_next(jsonseq_t *p, const char **item, size_t *len, uint64_t *line, const char **why);

/* Whether the input was recognised as JSON lines (false until the first byte is seen). */
bool jsonseq_is_lines(const jsonseq_t *p);

/* The "more" link of a StatementResult once it was read whole ("" otherwise); borrowed, valid
 * until jsonseq_destroy(). */
const char *jsonseq_more(const jsonseq_t *p);

#endif
