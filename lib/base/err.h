/*
 * err: the error codes every module returns, and the detail a reply carries.
 *
 * Functions return int: 0 is success, a negative ERR_* is failure. The codes match the wire
 * protocol's status codes one for one (wire translates), so a module's failure reaches the
 * client without a lookup table in between. Library errors (MDB_*, OpenSSL, zmq errno) are
 * translated into these in exactly one module each (store, keys, server).
 */
#ifndef MASTERY_ERR_H
#define MASTERY_ERR_H

#include <stddef.h>

enum {
    ERR_OK = 0,
    ERR_INVALID = -1,         /* the input is malformed or out of range; field names it */
    ERR_NOT_FOUND = -2,       /* an id that does not exist */
    ERR_CONFLICT = -3,        /* contradicts what is stored (same id, other content; a cycle) */
    ERR_DUPLICATE = -4,       /* already stored with the same content: idempotent success */
    ERR_UNAUTHENTICATED = -5, /* no valid credentials */
    ERR_FORBIDDEN = -6,       /* authenticated, but the role or scope does not allow it */
    ERR_UNAVAILABLE = -7,     /* temporary (disk full, shutting down): retry later */
    ERR_INTERNAL = -8,        /* a bug or an unexpected library failure */
    ERR_NOMEM = -9,           /* allocation failed or a budget was exceeded */
    ERR_LIMIT = -10,          /* a configured work or size limit was reached */
    ERR_RETRY = -11,          /* internal: the map was full; grow it and run the batch again */
    ERR_DATA_LOSS = -12,      /* a stored record is damaged (its checksum does not match) */
    ERR_GONE = -13,           /* the learner was erased: nothing of theirs is kept */
};

/* Returns a static, human-readable name for an ERR_* code ("INVALID"); never NULL. */
const char *err_str(int code);

/*
 * The detail of one failure: which field, and a sentence for a person. Fixed-size so it can
 * live on the stack and in arrays without allocation; text is truncated, never overflowed.
 */
typedef struct err_detail {
    int code;
    char field[128];
    char message[512];
} err_detail_t;

/*
 * Records code, field and a printf-style message in *d (d may be NULL: then only the code is
 * returned). Returns code, so call sites read `return err_set(d, ERR_INVALID, "score", ...)`.
 */
int err_set(err_detail_t *d, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Clears *d to "no error". */
void err_clear(err_detail_t *d);

#endif
