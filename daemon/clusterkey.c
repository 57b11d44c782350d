#include "clusterkey.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "codec.h"
#include "entropy.h"
#include "fileio.h"

#define KEY_LEN   32
#define NONCE_LEN 12
#define TAG_LEN   16
#define VERSION   1

struct clusterkey {
    uint8_t key[KEY_LEN];
    EVP_CIPHER_CTX *ctx;
};

/* Writes a new key to path.tmp and links it to path: exactly one of two racing nodes wins, and
 * nobody reads a half-written file. */
static int create_key(const char *path, err_detail_t *d)
{
    uint8_t key[KEY_LEN];
    char hex[2 * KEY_LEN + 2];
    size_t n;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    if (entropy_fill(key, sizeof key) != 0 ||
        codec_hex_encode(key, sizeof key, hex, sizeof hex, &n) != 0)
        return err_set(d, ERR_INTERNAL, CLUSTERKEY_FILE, "no randomness");
    OPENSSL_cleanse(key, sizeof key);
    hex[n++] = '\n';
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(d, ERR_UNAVAILABLE, path, "cannot create: %s", strerror(errno));
    bool ok = write(fd, hex, n) == (ssize_t)n && fsync(fd) == 0;
    OPENSSL_cleanse(hex, sizeof hex);
    close(fd);
    int rc = 0;
    if (!ok)
        rc = err_set(d, ERR_UNAVAILABLE, path, "cannot write: %s", strerror(errno));
    else if (link(tmp, path) != 0 && errno != EEXIST)
        rc = err_set(d, ERR_UNAVAILABLE, path, "cannot create: %s", strerror(errno));
    unlink(tmp);
    return rc;
}

int clusterkey_open(const char *key_dir, clusterkey_t **out, err_detail_t *d)
{
    char path[4096];
    *out = NULL;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", key_dir, CLUSTERKEY_FILE) >= sizeof path)
        return err_set(d, ERR_INVALID, "key_dir", "too long");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        int rc = create_key(path, d);
        if (rc != 0)
            return rc;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0)
        return err_set(d, ERR_UNAVAILABLE, path, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
        close(fd);
        return err_set(d, ERR_FORBIDDEN, path,
                       "must be a regular file only its owner may read (chmod 600)");
    }
    char *text = NULL;
    size_t len = 0;
    int rc = fileio_read_fd(fd, 256, &text, &len, path, d);
    close(fd);
    if (rc != 0)
        return rc;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    clusterkey_t *k = calloc(1, sizeof *k);
    size_t n = 0;
    if (k == NULL)
        rc = err_set(d, ERR_NOMEM, path, "out of memory");
    else if (len != 2 * KEY_LEN || codec_hex_decode(text, len, k->key, sizeof k->key, &n) != 0 ||
             n != KEY_LEN)
        rc = err_set(d, ERR_INVALID, path, "not a cluster key (64 hex digits)");
    else if ((k->ctx = EVP_CIPHER_CTX_new()) == NULL)
        rc = err_set(d, ERR_NOMEM, path, "out of memory");
    OPENSSL_cleanse(text, len);
    free(text);
    if (rc != 0) {
        clusterkey_destroy(&k);
        return rc;
    }
    *out = k;
    return 0;
}

void clusterkey_destroy(clusterkey_t **kp)
{
    if (kp == NULL || *kp == NULL)
        return;
    OPENSSL_cleanse((*kp)->key, sizeof(*kp)->key);
    EVP_CIPHER_CTX_free((*kp)->ctx);
    free(*kp);
    *kp = NULL;
}

int clusterkey_seal(clusterkey_t *k, const char *aad, const uint8_t *plain, size_t len,
                    uint8_t **box, size_t *box_len)
{
    if (len > INT32_MAX - CLUSTERKEY_OVERHEAD)
        return ERR_INTERNAL;
    uint8_t *b = malloc(len + CLUSTERKEY_OVERHEAD);
    if (b == NULL)
        return ERR_NOMEM;
    b[0] = VERSION;
    int out = 0, fin = 0;
    bool ok =
        entropy_fill(b + 1, NONCE_LEN) == 0 &&
        EVP_EncryptInit_ex(k->ctx, EVP_aes_256_gcm(), NULL, k->key, b + 1) == 1 &&
        EVP_EncryptUpdate(k->ctx, NULL, &out, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
        EVP_EncryptUpdate(k->ctx, b + 1 + NONCE_LEN, &out, plain, (int)len) == 1 &&
        EVP_EncryptFinal_ex(k->ctx, b + 1 + NONCE_LEN + out, &fin) == 1 &&
        (size_t)(out + fin) == len &&
        EVP_CIPHER_CTX_ctrl(k->ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, b + 1 + NONCE_LEN + len) == 1;
    if (!ok) {
        free(b);
        return ERR_INTERNAL;
    }
    *box = b;
    *box_len = len + CLUSTERKEY_OVERHEAD;
    return 0;
}

int clusterkey_open_box(clusterkey_t *k, const char *aad, const uint8_t *box, size_t box_len,
                        uint8_t **plain, size_t *len)
{
    if (box_len < CLUSTERKEY_OVERHEAD || box[0] != VERSION || box_len > INT32_MAX)
        return ERR_DATA_LOSS;
    size_t n = box_len - CLUSTERKEY_OVERHEAD;
    uint8_t *p = malloc(n ? n : 1);
    if (p == NULL)
        return ERR_NOMEM;
    int out = 0, fin = 0;
    bool ok = EVP_DecryptInit_ex(k->ctx, EVP_aes_256_gcm(), NULL, k->key, box + 1) == 1 &&
              EVP_DecryptUpdate(k->ctx, NULL, &out, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
              EVP_DecryptUpdate(k->ctx, p, &out, box + 1 + NONCE_LEN, (int)n) == 1 &&
              EVP_CIPHER_CTX_ctrl(k->ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
                                  (void *)(box + 1 + NONCE_LEN + n)) == 1 &&
              EVP_DecryptFinal_ex(k->ctx, p + out, &fin) == 1;
    if (!ok) {
        OPENSSL_cleanse(p, n);
        free(p);
        return ERR_DATA_LOSS;
    }
    *plain = p;
    *len = n;
    return 0;
}
