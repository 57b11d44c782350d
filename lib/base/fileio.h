/*
 * fileio: reading small files whole, with a size cap, so no caller buffers a file it did not
 * expect to be large.
 */
#ifndef MASTERY_FILEIO_H
#define MASTERY_FILEIO_H

#include <stddef.h>

#include "err.h"

/*
 * Reads everything left in fd (any kind of descriptor; EINTR retried), at most max bytes.
 * @param[out] buf  max + 1 bytes allocated, NUL-terminated after *len. Caller frees.
 * @param      path names the file in messages (detail->field too); borrowed.
 * @return 0; ERR_INVALID (more than max bytes); ERR_UNAVAILABLE (read error: errno text);
 *         ERR_NOMEM. On error *buf is untouched and nothing is allocated.
 */
int fileio_read_fd(int fd, size_t max, char **buf, size_t *len, const char *path,
                   err_detail_t *detail);

#endif
