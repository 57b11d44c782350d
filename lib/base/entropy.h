/*
 * entropy: random bytes from the kernel (getrandom), for ids that must not collide or be
 * guessed (request id prefixes, statement ids). Not for keys: keys come from OpenSSL (lib/vc).
 */
#ifndef MASTERY_ENTROPY_H
#define MASTERY_ENTROPY_H

#include <stddef.h>

/* Fills buf with n random bytes (EINTR retried). Returns 0, or -1 with errno set. */
int entropy_fill(void *buf, size_t n);

/* A random version-4 UUID in its 36-character lower-case text form, NUL-terminated.
 * Returns 0, or -1 with errno set. */
int entropy_uuid4(char out[37]);

#endif
