#include "fileio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fileio_read_fd(int fd, size_t max, char **buf, size_t *len, const char *path, err_detail_t *d)
{
    char *b = malloc(max + 1);
    if (b == NULL)
        return err_set(d, ERR_NOMEM, path, "out of memory");
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, b + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(b);
            return err_set(d, ERR_UNAVAILABLE, path, "cannot read %s: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            free(b);
            return err_set(d, ERR_INVALID, path, "%s is larger than %zu bytes", path, max);
        }
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}
