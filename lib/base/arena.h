/*
 * arena: a bump allocator for data that dies together (one reply being built). Allocations are
 * never freed one by one; arena_reset() frees all but the first chunk, arena_destroy() all.
 */
#ifndef MASTERY_ARENA_H
#define MASTERY_ARENA_H

#include <stddef.h>

typedef struct arena arena_t;

/* Returns a new arena (caller owns; arena_destroy()), or NULL when out of memory. */
arena_t *arena_new(size_t chunk_size);
void arena_destroy(arena_t **a);
/* Frees every allocation (keeps one chunk for reuse). */
void arena_reset(arena_t *a);
/* Zeroed, 16-byte aligned memory valid until the next reset; NULL when out of memory. */
void *arena_alloc(arena_t *a, size_t size);
/* A NUL-terminated copy of n bytes of s; NULL when out of memory. */
char *arena_strndup(arena_t *a, const char *s, size_t n);
char *arena_strdup(arena_t *a, const char *s);

#endif
