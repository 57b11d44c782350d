/*
 * logref: the short, keyed learner reference that log lines carry instead of a learner's id.
 *
 * A school's learner ids ("s-1001") are personal data and easy to guess, so a plain hash of
 * one could be reversed by trying every id. A log line names a learner as "L-" and the first
 * 12 hex digits of HMAC-SHA256(key, id), where the key is 32 random bytes in
 * DATA_DIR/logref.key (mode 0600, created on first start; keep it with the store's backup, or
 * references in old logs stop matching). Given the key, an operator finds the reference of a
 * learner with `masteryd --learner-ref ID`; without it, a log reader cannot.
 */
#ifndef MASTERY_LOGREF_H
#define MASTERY_LOGREF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define LOGREF_KEY_LEN 32
#define LOGREF_LEN     15 /* "L-" + 12 hex digits + NUL */

/*
 * Reads the key from path, creating it (32 random bytes, O_EXCL, mode 0600) when it does not
 * exist. A file that group or others may read, or of the wrong size, is refused.
 * @return 0; ERR_FORBIDDEN (permissions); ERR_INVALID (size); ERR_UNAVAILABLE (I/O, errno
 *         text in the message). The caller wipes key with OPENSSL_cleanse when done.
 */
int logref_key_load(const char *path, uint8_t key[LOGREF_KEY_LEN], err_detail_t *detail);

/* Writes the reference of learner_id into out ("L-" + 12 hex digits). Never fails. */
void logref_make(const uint8_t key[LOGREF_KEY_LEN], const char *learner_id, char out[LOGREF_LEN]);

#endif
