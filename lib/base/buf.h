/*
 * buf: a growable byte buffer with a hard maximum size (curl's dynbuf idea).
 *
 * Used by the serialisers (jcs, jws, nquads) and the canonicalizer's working buffers (rdfc) so
 * output is built with amortised O(1) appends and never grows past a budget the caller chose:
 * every growth is checked against max. The contents are always followed by a NUL byte (not
 * counted in len), so text can be handed to C string functions.
 *
 * A buf_t is a plain struct so it can live on the stack; initialise it with buf_init() and
 * release it with buf_free(). It is not thread-safe.
 */
#ifndef MASTERY_BUF_H
#define MASTERY_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct buf {
    char *data; /* Owned by the buffer; NULL until the first append. */
    size_t len; /* Bytes in use, excluding the trailing NUL. */
    size_t cap; /* Bytes allocated. */
    size_t max; /* len never exceeds this. */
} buf_t;

/*
 * Initialises *b as empty with a maximum of max bytes of content. Allocates nothing.
 * @param[out] b   the buffer
 * @param[in]  max the largest len the buffer may reach (appends past it fail with ERR_LIMIT);
 *                 at most SIZE_MAX - 1 (larger values are lowered: the NUL needs a byte)
 */
void buf_init(buf_t *b, size_t max);

/*
 * Ensures room for extra more bytes (plus the NUL) without another allocation.
 * @return 0; ERR_LIMIT if len + extra would exceed max; ERR_NOMEM if allocation failed.
 */
int buf_reserve(buf_t *b, size_t extra);

/* The growing half of buf_append() and buf_append_byte(); call those instead. */
int buf_append_grow(buf_t *b, const void *p, size_t n);

/*
 * Appends n bytes from p (p may contain NUL bytes; p may be NULL when n is 0).
 * @return 0; ERR_LIMIT; ERR_NOMEM. On failure the buffer is unchanged.
 * Inline because serialisers call it per token: when the bytes fit the allocation it is a
 * copy (the allocation never exceeds max + 1, so fitting it respects max); otherwise
 * buf_append_grow() checks max and grows.
 */
static inline int buf_append(buf_t *b, const void *p, size_t n)
{
    if (n < b->cap - b->len) {
        if (n > 0)
            memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
    }
    return buf_append_grow(b, p, n);
}

/* Appends the NUL-terminated string s. Same errors as buf_append(). */
int buf_append_str(buf_t *b, const char *s);

/* Appends one byte. Same errors as buf_append(); inline for the same reason. */
static inline int buf_append_byte(buf_t *b, char c)
{
    if (b->cap - b->len > 1) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return 0;
    }
    return buf_append_grow(b, &c, 1);
}

/* Appends v in decimal ("0", "1234"). Same errors as buf_append(). */
int buf_append_uint(buf_t *b, uint64_t v);

/*
 * Shortens the contents to their first len bytes (len <= b->len; a larger len changes
 * nothing), keeping the allocation: undoes the appends made since len was read.
 */
void buf_truncate(buf_t *b, size_t len);

/* Empties the buffer but keeps its allocation, so a hot path can reuse it. */
void buf_reset(buf_t *b);

/*
 * Takes the contents out of the buffer: *out receives the NUL-terminated data (an empty string
 * if nothing was appended) and *len its length; the buffer is left empty and reusable.
 * @return 0; ERR_NOMEM. Caller owns *out; free with free().
 */
int buf_detach(buf_t *b, char **out, size_t *len);

/* Frees the contents and leaves *b empty (still initialised). Safe to call twice. */
void buf_free(buf_t *b);

/* Like buf_free(), but first overwrites the allocation with zeros (for secret material). */
void buf_free_secure(buf_t *b);

#endif
