#include "buf.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

void buf_init(buf_t *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max < SIZE_MAX ? max : SIZE_MAX - 1;
}

int buf_reserve(buf_t *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return ERR_LIMIT;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *grown = realloc(b->data, cap);
    if (grown == NULL)
        return ERR_NOMEM;
    grown[b->len] = '\0'; /* a fresh allocation has no NUL yet: keep the promise */
    b->data = grown;
    b->cap = cap;
    return 0;
}

int buf_append_grow(buf_t *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc != 0)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_append_str(buf_t *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_append_uint(buf_t *b, uint64_t v)
{
    char tmp[20]; /* 2^64 - 1 has 20 digits */
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return buf_append(b, tmp + i, sizeof tmp - i);
}

void buf_truncate(buf_t *b, size_t len)
{
    if (len >= b->len)
        return;
    b->len = len;
    b->data[len] = '\0';
}

void buf_reset(buf_t *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

int buf_detach(buf_t *b, char **out, size_t *len)
{
    if (b->data == NULL) {
        int rc = buf_reserve(b, 0);
        if (rc != 0)
            return rc;
        b->data[0] = '\0';
    }
    *out = b->data;
    *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return 0;
}

void buf_free(buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_free_secure(buf_t *b)
{
    if (b->data != NULL)
        OPENSSL_cleanse(b->data, b->cap);
    buf_free(b);
}
