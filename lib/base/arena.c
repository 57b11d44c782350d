#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} arena_chunk_t;

struct arena {
    arena_chunk_t *head;  /* the chunk small allocations come from */
    arena_chunk_t *first; /* the chunk arena_reset() keeps */
    size_t chunk_size;
    size_t total, max; /* bytes of chunk data held, and the cap */
    int error;
};

static arena_chunk_t *arena_chunk_new(size_t size)
{
    arena_chunk_t *c = malloc(sizeof *c + size);
    if (c == NULL)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

arena_t *arena_new_limit(size_t chunk_size, size_t max_bytes)
{
    arena_t *a = malloc(sizeof *a);
    if (a == NULL)
        return NULL;
    a->chunk_size = chunk_size < 1024 ? 1024 : chunk_size;
    a->max = max_bytes < a->chunk_size ? a->chunk_size : max_bytes;
    a->head = a->first = arena_chunk_new(a->chunk_size);
    if (a->head == NULL) {
        free(a);
        return NULL;
    }
    a->total = a->chunk_size;
    a->error = 0;
    return a;
}

arena_t *arena_new(size_t chunk_size)
{
    return arena_new_limit(chunk_size, SIZE_MAX);
}

void arena_destroy(arena_t **ap)
{
    if (ap == NULL || *ap == NULL)
        return;
    arena_chunk_t *c = (*ap)->head;
    while (c) {
        arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    free(*ap);
    *ap = NULL;
}

void arena_reset(arena_t *a)
{
    /* Keep the first chunk: it has the usual working size. */
    arena_chunk_t *c = a->head;
    while (c) {
        arena_chunk_t *next = c->next;
        if (c != a->first)
            free(c);
        c = next;
    }
    a->first->next = NULL;
    a->first->used = 0;
    a->head = a->first;
    a->total = a->first->size;
    a->error = 0;
}

/* The common path of every allocation: align is 1 or 16. Not zeroed. */
static void *alloc(arena_t *a, size_t size, size_t align)
{
    arena_chunk_t *c = a->head;
    size_t off = (c->used + align - 1) & ~(align - 1);
    if (off <= c->size && c->size - off >= size) {
        c->used = off + size;
        return c->data + off;
    }
    /* The chunk header must not wrap around to a tiny block. */
    if (size > SIZE_MAX - sizeof(arena_chunk_t)) {
        a->error = ERR_NOMEM;
        return NULL;
    }
    size_t want = size > a->chunk_size ? size : a->chunk_size;
    if (want > a->max - a->total) {
        a->error = ERR_LIMIT;
        return NULL;
    }
    arena_chunk_t *n = arena_chunk_new(want);
    if (n == NULL) {
        a->error = ERR_NOMEM;
        return NULL;
    }
    a->total += want;
    n->used = size;
    if (size > a->chunk_size) {
        /* An outsized block gets a chunk of its own behind the head, so the room left in the
         * head still serves the small allocations that follow. */
        n->next = c->next;
        c->next = n;
    } else {
        n->next = c;
        a->head = n;
    }
    return n->data;
}

void *arena_alloc_uninit(arena_t *a, size_t size)
{
    /* Rounding up must not wrap around to a tiny block. */
    if (size > SIZE_MAX - 15) {
        a->error = ERR_NOMEM;
        return NULL;
    }
    size = size == 0 ? 16 : (size + 15) & ~(size_t)15;
    return alloc(a, size, 16);
}

void *arena_alloc(arena_t *a, size_t size)
{
    void *p = arena_alloc_uninit(a, size);
    if (p != NULL)
        memset(p, 0, size == 0 ? 16 : (size + 15) & ~(size_t)15);
    return p;
}

void *arena_alloc_packed(arena_t *a, size_t size)
{
    return alloc(a, size, 1);
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
    if (n == SIZE_MAX) {
        a->error = ERR_NOMEM;
        return NULL;
    }
    char *p = arena_alloc_uninit(a, n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena_t *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

size_t arena_size(const arena_t *a)
{
    return a->total;
}

int arena_error(const arena_t *a)
{
    return a->error;
}
