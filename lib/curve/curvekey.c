#include "curvekey.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "fileio.h"

static bool key_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* ---- Z85 ----------------------------------------------------------------------------------- */

static const char z85_chars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                ".-:+=^!/*?&<>()[]{}@%$#";

static int z85_value(char c)
{
    const char *p = c ? strchr(z85_chars, c) : NULL;
    return p ? (int)(p - z85_chars) : -1;
}

int curvekey_z85_decode(const char *z85, size_t len, uint8_t key[CURVEKEY_LEN])
{
    if (len != CURVEKEY_Z85_LEN)
        return ERR_INVALID;
    for (size_t i = 0; i < CURVEKEY_Z85_LEN; i += 5) {
        uint64_t v = 0;
        for (size_t j = 0; j < 5; j++) {
            int d = z85_value(z85[i + j]);
            if (d < 0)
                return ERR_INVALID;
            v = v * 85 + (uint64_t)d;
        }
        if (v > 0xffffffffu)
            return ERR_INVALID;
        uint8_t *o = key + i / 5 * 4;
        o[0] = (uint8_t)(v >> 24);
        o[1] = (uint8_t)(v >> 16);
        o[2] = (uint8_t)(v >> 8);
        o[3] = (uint8_t)v;
    }
    return 0;
}

void curvekey_z85_encode(const uint8_t key[CURVEKEY_LEN], char z85[CURVEKEY_Z85_LEN + 1])
{
    for (size_t i = 0; i < CURVEKEY_LEN; i += 4) {
        uint32_t v = (uint32_t)key[i] << 24 | (uint32_t)key[i + 1] << 16 |
                     (uint32_t)key[i + 2] << 8 | key[i + 3];
        for (int j = 4; j >= 0; j--) {
            z85[i / 4 * 5 + (size_t)j] = z85_chars[v % 85];
            v /= 85;
        }
    }
    z85[CURVEKEY_Z85_LEN] = '\0';
}

/* ---- key files ----------------------------------------------------------------------------- */

/* The single Z85 key in a key file: 40 characters, then only blanks and newlines. */
static int key_text_parse(const char *buf, size_t len, uint8_t key[CURVEKEY_LEN])
{
    size_t i = 0;
    while (i < len && (key_blank(buf[i]) || buf[i] == '\n'))
        i++;
    if (len - i < CURVEKEY_Z85_LEN || curvekey_z85_decode(buf + i, CURVEKEY_Z85_LEN, key) != 0)
        return ERR_INVALID;
    for (i += CURVEKEY_Z85_LEN; i < len; i++)
        if (!key_blank(buf[i]) && buf[i] != '\n')
            return ERR_INVALID;
    return 0;
}

static int write_key_file(const char *path, const char *z85, mode_t mode, err_detail_t *d)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return err_set(d, errno == EEXIST ? ERR_CONFLICT : ERR_UNAVAILABLE, path,
                       "cannot create %s: %s", path, strerror(errno));
    char line[CURVEKEY_Z85_LEN + 2];
    memcpy(line, z85, CURVEKEY_Z85_LEN);
    line[CURVEKEY_Z85_LEN] = '\n';
    line[CURVEKEY_Z85_LEN + 1] = '\0';
    int rc = 0;
    /* the umask may have narrowed the mode, never widened it; set it exactly */
    if (fchmod(fd, mode) != 0 || write(fd, line, CURVEKEY_Z85_LEN + 1) != CURVEKEY_Z85_LEN + 1 ||
        fsync(fd) != 0) {
        rc = err_set(d, ERR_UNAVAILABLE, path, "cannot write %s: %s", path, strerror(errno));
        unlink(path);
    }
    OPENSSL_cleanse(line, sizeof line);
    close(fd);
    return rc;
}

int curvekey_pair_create(const char *path, char public_z85[CURVEKEY_Z85_LEN + 1], err_detail_t *d)
{
    char pub[CURVEKEY_Z85_LEN + 1], sec[CURVEKEY_Z85_LEN + 1];
    char pub_path[4096];
    int n = snprintf(pub_path, sizeof pub_path, "%s.pub", path);
    if (n < 0 || (size_t)n >= sizeof pub_path)
        return err_set(d, ERR_INVALID, path, "path too long");
    if (!zmq_has("curve"))
        return err_set(d, ERR_INTERNAL, path, "this libzmq has no CURVE support");
    if (access(pub_path, F_OK) == 0)
        return err_set(d, ERR_CONFLICT, pub_path, "%s exists; not overwriting it", pub_path);
    if (zmq_curve_keypair(pub, sec) != 0)
        return err_set(d, ERR_INTERNAL, path, "zmq_curve_keypair: %s", zmq_strerror(zmq_errno()));
    int rc = write_key_file(path, sec, 0600, d);
    OPENSSL_cleanse(sec, sizeof sec);
    if (rc != 0)
        return rc;
    if ((rc = write_key_file(pub_path, pub, 0644, d)) != 0) {
        unlink(path);
        return rc;
    }
    if (public_z85)
        memcpy(public_z85, pub, sizeof pub);
    return 0;
}

int curvekey_secret_read(const char *path, uint8_t secret[CURVEKEY_LEN],
                         char public_z85[CURVEKEY_Z85_LEN + 1], err_detail_t *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_set(d, errno == ENOENT ? ERR_NOT_FOUND : ERR_UNAVAILABLE, path,
                       "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int rc;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = err_set(d, ERR_FORBIDDEN, path, "%s is not a regular file", path);
        goto out;
    }
    if (st.st_mode & 077) {
        rc = err_set(d, ERR_FORBIDDEN, path,
                     "%s has mode %03o: a secret key must be readable by its owner only "
                     "(chmod 600)",
                     path, (unsigned)(st.st_mode & 0777));
        goto out;
    }
    if ((rc = fileio_read_fd(fd, 256, &buf, &len, path, d)) != 0)
        goto out;
    if (key_text_parse(buf, len, secret) != 0) {
        rc = err_set(d, ERR_INVALID, path, "%s does not hold one Z85 key (40 characters)", path);
        goto out;
    }
    if (public_z85) {
        char sec[CURVEKEY_Z85_LEN + 1];
        curvekey_z85_encode(secret, sec);
        int prc = zmq_curve_public(public_z85, sec);
        OPENSSL_cleanse(sec, sizeof sec);
        if (prc != 0) {
            rc = err_set(d, ERR_INTERNAL, path, "zmq_curve_public: %s", zmq_strerror(zmq_errno()));
            goto out;
        }
    }
out:
    if (buf) {
        OPENSSL_cleanse(buf, len);
        free(buf);
    }
    if (rc != 0)
        OPENSSL_cleanse(secret, CURVEKEY_LEN); /* a partly decoded key, too */
    close(fd);
    return rc;
}

int curvekey_public_read(const char *path, uint8_t key[CURVEKEY_LEN], err_detail_t *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_set(d, ERR_NOT_FOUND, path, "cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0;
    int rc = fileio_read_fd(fd, 256, &buf, &len, path, d);
    close(fd);
    if (rc != 0)
        return rc;
    rc = key_text_parse(buf, len, key);
    free(buf);
    if (rc != 0)
        return err_set(d, ERR_INVALID, path, "%s does not hold one Z85 key (40 characters)", path);
    return 0;
}
