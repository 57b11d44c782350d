/*
 * arena: a bump allocator for data that dies together (one reply being built, one document
 * being converted to RDF). Allocations are never freed one by one; arena_reset() frees all but
 * the first chunk, arena_destroy() all.
 *
 * An arena may be capped: arena_new_limit() bounds the bytes its chunks hold, so input cannot
 * make it grow without bound. A refused allocation returns NULL and arena_error() says why.
 *
 * Three kinds of allocation share the chunks: zeroed and 16-byte aligned (arena_alloc),
 * aligned but not zeroed (arena_alloc_uninit: the caller writes every byte), and packed
 * (arena_alloc_packed: neither aligned nor zeroed, for text, which needs neither, so short
 * strings cost their length and no padding). Not thread-safe.
 */
#ifndef MASTERY_ARENA_H
#define MASTERY_ARENA_H

#include <stddef.h>

typedef struct arena arena_t;

/*
 * Returns a new arena without a cap, or NULL when out of memory. chunk_size is the size of a
 * chunk (raised to 1024 if smaller); the first chunk is allocated now and kept until
 * arena_destroy(). Caller owns the result; free with arena_destroy().
 */
arena_t *arena_new(size_t chunk_size);

/*
 * Like arena_new(), but the chunks never hold more than max_bytes together (chunk data, not
 * the allocator's few bytes of header per chunk). An allocation that would need more returns
 * NULL, and arena_error() returns ERR_LIMIT. max_bytes below chunk_size is raised to it.
 * Caller owns the result; free with arena_destroy().
 */
arena_t *arena_new_limit(size_t chunk_size, size_t max_bytes);

/* Frees the arena and every allocation; sets *a to NULL. NULL a or *a does nothing. */
void arena_destroy(arena_t **a);

/*
 * Frees every allocation: all chunks but the first are released, the first is kept for reuse.
 * Pointers returned before are invalid afterwards. Clears arena_error().
 */
void arena_reset(arena_t *a);

/*
 * Zeroed, 16-byte aligned memory of size bytes (size 0 gives a distinct 16-byte block).
 * Borrowed: valid until arena_reset() or arena_destroy(). NULL when out of memory or past
 * the cap (arena_error() says which).
 */
void *arena_alloc(arena_t *a, size_t size);

/* Like arena_alloc(), but the memory is not zeroed: for callers that write all of it. */
void *arena_alloc_uninit(arena_t *a, size_t size);

/*
 * size bytes with no alignment and not zeroed, placed right after the previous packed
 * allocation when it fits (size 0 may return the same address twice). For text.
 * Lifetime and errors as arena_alloc().
 */
void *arena_alloc_packed(arena_t *a, size_t size);

/* A NUL-terminated copy of n bytes of s, 16-byte aligned; NULL as for arena_alloc(). */
char *arena_strndup(arena_t *a, const char *s, size_t n);
char *arena_strdup(arena_t *a, const char *s);

/* The bytes the arena's chunks hold now (what its cap limits). */
size_t arena_size(const arena_t *a);

/*
 * Why the last allocation that returned NULL failed: ERR_LIMIT (the cap) or ERR_NOMEM (the
 * system, or a size that cannot be represented). 0 when none failed since arena_new() or
 * arena_reset(). The codes are err.h's.
 */
int arena_error(const arena_t *a);

#endif
