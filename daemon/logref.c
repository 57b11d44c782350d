#include "logref.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "entropy.h"

static int read_all(int fd, uint8_t *p, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r = read(fd, p + *got, n - *got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

static int create_key(const char *path, uint8_t key[LOGREF_KEY_LEN], err_detail_t *d)
{
    if (entropy_fill(key, LOGREF_KEY_LEN) != 0)
        return err_set(d, ERR_UNAVAILABLE, path, "no randomness for the log reference key");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(d, ERR_UNAVAILABLE, path, "cannot create %s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < LOGREF_KEY_LEN) {
        ssize_t w = write(fd, key + off, LOGREF_KEY_LEN - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    int ok = off == LOGREF_KEY_LEN && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    if (!ok) {
        unlink(path); /* never leave a short key behind: the next start would refuse it */
        return err_set(d, ERR_UNAVAILABLE, path, "cannot write %s: %s", path, strerror(saved));
    }
    return 0;
}

int logref_key_load(const char *path, uint8_t key[LOGREF_KEY_LEN], err_detail_t *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT)
        return create_key(path, key, d);
    if (fd < 0)
        return err_set(d, ERR_UNAVAILABLE, path, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    size_t got = 0;
    if (fstat(fd, &st) != 0)
        rc = err_set(d, ERR_UNAVAILABLE, path, "cannot stat %s: %s", path, strerror(errno));
    else if (st.st_mode & 077)
        rc = err_set(d, ERR_FORBIDDEN, path, "%s is mode %03o; it must be 0600 (chmod 600 %s)",
                     path, (unsigned)(st.st_mode & 0777), path);
    else if (st.st_size != LOGREF_KEY_LEN || read_all(fd, key, LOGREF_KEY_LEN, &got) != 0 ||
             got != LOGREF_KEY_LEN)
        rc = err_set(d, ERR_INVALID, path, "%s must hold exactly %d bytes", path, LOGREF_KEY_LEN);
    close(fd);
    return rc;
}

void logref_make(const uint8_t key[LOGREF_KEY_LEN], const char *learner_id, char out[LOGREF_LEN])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), key, LOGREF_KEY_LEN, (const unsigned char *)learner_id,
             strlen(learner_id), mac, &mac_len) == NULL)
        memset(mac, 0, sizeof mac); /* HMAC-SHA256 over memory cannot fail; never the id */
    out[0] = 'L';
    out[1] = '-';
    for (int i = 0; i < 6; i++) {
        out[2 + 2 * i] = hex[mac[i] >> 4];
        out[3 + 2 * i] = hex[mac[i] & 15];
    }
    out[LOGREF_LEN - 1] = '\0';
}
