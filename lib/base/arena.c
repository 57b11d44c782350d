#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} arena_chunk_t;

struct arena {
    arena_chunk_t *head;
    size_t chunk_size;
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

arena_t *arena_new(size_t chunk_size)
{
    arena_t *a = malloc(sizeof *a);
    if (a == NULL)
        return NULL;
    a->chunk_size = chunk_size < 1024 ? 1024 : chunk_size;
    a->head = arena_chunk_new(a->chunk_size);
    if (a->head == NULL) {
        free(a);
        return NULL;
    }
    return a;
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
    /* Keep the oldest chunk (the last in the list): it is the usual working size. */
    arena_chunk_t *c = a->head;
    while (c->next) {
        arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    c->used = 0;
    a->head = c;
}

void *arena_alloc(arena_t *a, size_t size)
{
    /* Rounding up and the chunk header must not wrap around to a tiny block. */
    if (size > SIZE_MAX - sizeof(arena_chunk_t) - 15)
        return NULL;
    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    arena_chunk_t *c = a->head;
    if (c->size - c->used < size) {
        size_t want = size > a->chunk_size ? size : a->chunk_size;
        c = arena_chunk_new(want);
        if (c == NULL)
            return NULL;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
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
