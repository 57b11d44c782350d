#include "vault.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "entropy.h"
#include "fileio.h"

#define VAULT_FORMAT   "masteryd-store-key/1"
#define NONCE_LEN      12
#define TAG_LEN        16
#define BOX_PLAIN      0x00
#define BOX_SEALED     0x01
#define WRAP_AAD_LABEL "masteryd learner secret v1"

typedef struct vault_epoch {
    uint32_t n;
    int64_t created_ms;
    uint8_t key[VAULT_KEY_LEN];
} vault_epoch_t;

struct vault {
    uint8_t index_key[VAULT_KEY_LEN];
    vault_epoch_t epochs[VAULT_EPOCHS_MAX]; /* oldest first; the last is current */
    uint32_t n_epochs;
    bool seal;
    EVP_CIPHER *gcm;     /* fetched once: a fetch per box would cost more than the box */
    EVP_CIPHER_CTX *ctx; /* reused for every box */
    EVP_MAC_CTX *index;  /* HMAC keyed with index_key; each hash works on a copy */
    /* Box nonces (NIST SP 800-38D 8.2.1): a random 8-byte field drawn per process and every
     * 2^32 boxes, then a 4-byte counter: unique without a DRBG call per box (which cost more
     * than the AES-GCM of a short field). */
    uint8_t nonce_fixed[8];
    uint32_t nonce_count;
    bool nonce_drawn;
};

static int next_nonce(vault_t *v, uint8_t out[NONCE_LEN])
{
    if (!v->nonce_drawn || v->nonce_count == UINT32_MAX) {
        if (RAND_bytes(v->nonce_fixed, sizeof v->nonce_fixed) != 1)
            return ERR_INTERNAL;
        v->nonce_drawn = true;
        v->nonce_count = 0;
    }
    uint32_t n = v->nonce_count++;
    memcpy(out, v->nonce_fixed, 8);
    out[8] = (uint8_t)(n >> 24);
    out[9] = (uint8_t)(n >> 16);
    out[10] = (uint8_t)(n >> 8);
    out[11] = (uint8_t)n;
    return 0;
}

static void hex_encode(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

static int hex_decode(const char *s, uint8_t *out, size_t n)
{
    if (s == NULL || strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < 2 * n; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return 0;
}

static vault_t *vault_alloc(void)
{
    vault_t *v = calloc(1, sizeof *v);
    if (v == NULL)
        return NULL;
    v->seal = true;
    v->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    v->ctx = EVP_CIPHER_CTX_new();
    if (v->gcm == NULL || v->ctx == NULL) {
        vault_destroy(&v);
        return NULL;
    }
    return v;
}

/* Keys the index HMAC once the index key is known. */
static int vault_ready(vault_t *v)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL)
        return ERR_INTERNAL;
    v->index = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    if (v->index == NULL || EVP_MAC_init(v->index, v->index_key, VAULT_KEY_LEN, params) != 1)
        return ERR_INTERNAL;
    return 0;
}

void vault_destroy(vault_t **vp)
{
    if (vp == NULL || *vp == NULL)
        return;
    vault_t *v = *vp;
    EVP_MAC_CTX_free(v->index);
    EVP_CIPHER_CTX_free(v->ctx);
    EVP_CIPHER_free(v->gcm);
    OPENSSL_cleanse(v, sizeof *v);
    free(v);
    *vp = NULL;
}

int vault_parse(const char *text, size_t len, vault_t **out, err_detail_t *d)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return err_set(d, ERR_INVALID, "store.key", "not JSON: %s (line %d)", jerr.text, jerr.line);
    int rc = 0;
    vault_t *v = vault_alloc();
    json_t *epochs = json_object_get(root, "epochs");
    if (v == NULL) {
        rc = err_set(d, ERR_NOMEM, "store.key", "out of memory");
    } else if (!json_is_object(root) || !json_is_string(json_object_get(root, "format")) ||
               strcmp(json_string_value(json_object_get(root, "format")), VAULT_FORMAT) != 0) {
        rc = err_set(d, ERR_INVALID, "store.key.format", "expected \"%s\"", VAULT_FORMAT);
    } else if (hex_decode(json_string_value(json_object_get(root, "index_key")), v->index_key,
                          VAULT_KEY_LEN) != 0) {
        rc = err_set(d, ERR_INVALID, "store.key.index_key", "expected 64 lowercase hex digits");
    } else if (!json_is_array(epochs) || json_array_size(epochs) == 0 ||
               json_array_size(epochs) > VAULT_EPOCHS_MAX) {
        rc = err_set(d, ERR_INVALID, "store.key.epochs", "expected 1..%d epochs", VAULT_EPOCHS_MAX);
    }
    for (size_t i = 0; rc == 0 && i < json_array_size(epochs); i++) {
        json_t *e = json_array_get(epochs, i);
        json_t *n = json_object_get(e, "epoch"), *at = json_object_get(e, "created_ms");
        vault_epoch_t *ep = &v->epochs[i];
        if (!json_is_integer(n) || json_integer_value(n) < 1 ||
            json_integer_value(n) > UINT32_MAX ||
            (i > 0 && (uint32_t)json_integer_value(n) <= v->epochs[i - 1].n))
            rc = err_set(d, ERR_INVALID, "store.key.epochs[].epoch",
                         "epoch %zu: expected increasing integers from 1", i);
        else if (!json_is_integer(at) || json_integer_value(at) < 0)
            rc = err_set(d, ERR_INVALID, "store.key.epochs[].created_ms",
                         "epoch %zu: expected a time in ms", i);
        else if (hex_decode(json_string_value(json_object_get(e, "key")), ep->key, VAULT_KEY_LEN) !=
                 0)
            rc = err_set(d, ERR_INVALID, "store.key.epochs[].key",
                         "epoch %zu: expected 64 lowercase hex digits", i);
        if (rc == 0) {
            ep->n = (uint32_t)json_integer_value(n);
            ep->created_ms = json_integer_value(at);
            v->n_epochs++;
        }
    }
    json_decref(root);
    if (rc == 0 && vault_ready(v) != 0)
        rc = err_set(d, ERR_INTERNAL, "store.key", "OpenSSL has no HMAC-SHA256");
    if (rc != 0) {
        vault_destroy(&v);
        return rc;
    }
    *out = v;
    return 0;
}

/* Writes store.key atomically (temp file 0600, fsync, rename, fsync of the directory). */
static int vault_save(const vault_t *v, const char *key_dir, err_detail_t *d)
{
    char hex[2 * VAULT_KEY_LEN + 1];
    json_t *epochs = json_array();
    for (uint32_t i = 0; epochs != NULL && i < v->n_epochs; i++) {
        hex_encode(v->epochs[i].key, VAULT_KEY_LEN, hex);
        json_array_append_new(epochs, json_pack("{s:I, s:I, s:s}", "epoch",
                                                (json_int_t)v->epochs[i].n, "created_ms",
                                                (json_int_t)v->epochs[i].created_ms, "key", hex));
    }
    hex_encode(v->index_key, VAULT_KEY_LEN, hex);
    json_t *root = epochs ? json_pack("{s:s, s:s, s:o}", "format", VAULT_FORMAT, "index_key", hex,
                                      "epochs", epochs)
                          : NULL;
    OPENSSL_cleanse(hex, sizeof hex);
    char *text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    if (text == NULL)
        return err_set(d, ERR_NOMEM, "store.key", "out of memory");
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", key_dir, vault_file());
    snprintf(path, sizeof path, "%s/%s", key_dir, vault_file());
    size_t len = strlen(text);
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0 ||
        rename(tmp, path) != 0)
        rc = err_set(d, ERR_UNAVAILABLE, "store.key", "cannot write %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    OPENSSL_cleanse(text, len);
    free(text);
    if (rc == 0) {
        int dfd = open(key_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return rc;
}

static char file_name[64] = VAULT_FILE;

void vault_set_file(const char *name)
{
    snprintf(file_name, sizeof file_name, "%s", name);
}

const char *vault_file(void)
{
    return file_name;
}

int vault_open(const char *key_dir, bool create, bool seal, int64_t now_ms, vault_t **out,
               err_detail_t *d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", key_dir, vault_file());
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        if (!create)
            return err_set(d, ERR_NOT_FOUND, "store.key", "%s does not exist", path);
        vault_t *v = vault_alloc();
        if (v == NULL)
            return err_set(d, ERR_NOMEM, "store.key", "out of memory");
        v->n_epochs = 1;
        v->epochs[0] = (vault_epoch_t){.n = 1, .created_ms = now_ms};
        int rc = entropy_fill(v->index_key, VAULT_KEY_LEN);
        if (rc == 0)
            rc = entropy_fill(v->epochs[0].key, VAULT_KEY_LEN);
        if (rc != 0)
            rc = err_set(d, ERR_UNAVAILABLE, "store.key", "no entropy");
        if (rc == 0 && vault_ready(v) != 0)
            rc = err_set(d, ERR_INTERNAL, "store.key", "OpenSSL has no HMAC-SHA256");
        if (rc == 0)
            rc = vault_save(v, key_dir, d);
        if (rc != 0) {
            vault_destroy(&v);
            return rc;
        }
        v->seal = seal;
        *out = v;
        return 0;
    }
    if (fd < 0)
        return err_set(d, ERR_UNAVAILABLE, "store.key", "cannot open %s: %s", path,
                       strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(d, ERR_INVALID, "store.key", "%s is not a regular file", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return err_set(d, ERR_FORBIDDEN, "store.key",
                       "%s is open to others (mode %03o): chmod 600 it", path,
                       (unsigned)(st.st_mode & 0777));
    }
    char *text = NULL;
    size_t len = 0;
    int rc = fileio_read_fd(fd, VAULT_FILE_MAX, &text, &len, path, d);
    close(fd);
    if (rc != 0)
        return rc;
    vault_t *v = NULL;
    rc = vault_parse(text, len, &v, d);
    OPENSSL_cleanse(text, len);
    free(text);
    if (rc != 0)
        return rc;
    v->seal = seal;
    *out = v;
    return 0;
}

bool vault_sealing(const vault_t *v)
{
    return v->seal;
}

uint32_t vault_epoch(const vault_t *v)
{
    return v->epochs[v->n_epochs - 1].n;
}

uint32_t vault_oldest_epoch(const vault_t *v)
{
    return v->epochs[0].n;
}

int vault_rotate(vault_t *v, const char *key_dir, int64_t now_ms, err_detail_t *d)
{
    if (v->n_epochs == VAULT_EPOCHS_MAX)
        return err_set(d, ERR_LIMIT, "store.key", "%d epochs held: forget old ones first",
                       VAULT_EPOCHS_MAX);
    vault_epoch_t *e = &v->epochs[v->n_epochs];
    *e = (vault_epoch_t){.n = vault_epoch(v) + 1, .created_ms = now_ms};
    if (entropy_fill(e->key, VAULT_KEY_LEN) != 0)
        return err_set(d, ERR_UNAVAILABLE, "store.key", "no entropy");
    v->n_epochs++;
    int rc = vault_save(v, key_dir, d);
    if (rc != 0) {
        v->n_epochs--;
        OPENSSL_cleanse(e, sizeof *e);
    }
    return rc;
}

int vault_forget_epochs(vault_t *v, const char *key_dir, int64_t before_ms, uint32_t *forgotten,
                        err_detail_t *d)
{
    vault_epoch_t kept[VAULT_EPOCHS_MAX];
    uint32_t n = 0;
    for (uint32_t i = 0; i < v->n_epochs; i++)
        if (i + 1 == v->n_epochs || v->epochs[i].created_ms >= before_ms)
            kept[n++] = v->epochs[i];
    *forgotten = v->n_epochs - n;
    if (*forgotten == 0)
        return 0;
    vault_epoch_t old[VAULT_EPOCHS_MAX];
    uint32_t old_n = v->n_epochs;
    memcpy(old, v->epochs, sizeof old);
    memcpy(v->epochs, kept, n * sizeof kept[0]);
    v->n_epochs = n;
    int rc = vault_save(v, key_dir, d);
    if (rc != 0) {
        memcpy(v->epochs, old, sizeof old);
        v->n_epochs = old_n;
    }
    OPENSSL_cleanse(old, sizeof old);
    OPENSSL_cleanse(kept, sizeof kept);
    return rc;
}

int vault_new_secret(uint8_t secret[VAULT_SECRET_LEN])
{
    return entropy_fill(secret, VAULT_SECRET_LEN) == 0 ? 0 : ERR_UNAVAILABLE;
}

/* AES-256-GCM of len bytes with a given nonce: out gets ciphertext then tag. */
static int gcm_seal(vault_t *v, const uint8_t *key, const uint8_t nonce[NONCE_LEN],
                    const void *aad1, size_t aad1_len, const void *aad2, size_t aad2_len,
                    const void *plain, size_t len, uint8_t *out)
{
    int n = 0;
    if (len > INT32_MAX || EVP_EncryptInit_ex2(v->ctx, v->gcm, key, nonce, NULL) != 1 ||
        (aad1_len > 0 && EVP_EncryptUpdate(v->ctx, NULL, &n, aad1, (int)aad1_len) != 1) ||
        (aad2_len > 0 && EVP_EncryptUpdate(v->ctx, NULL, &n, aad2, (int)aad2_len) != 1) ||
        (len > 0 && EVP_EncryptUpdate(v->ctx, out, &n, plain, (int)len) != 1) ||
        EVP_EncryptFinal_ex(v->ctx, out + len, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(v->ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + len) != 1)
        return ERR_INTERNAL;
    return 0;
}

static int gcm_open(vault_t *v, const uint8_t *key, const uint8_t nonce[NONCE_LEN],
                    const void *aad1, size_t aad1_len, const void *aad2, size_t aad2_len,
                    const uint8_t *ct, size_t len, const uint8_t tag[TAG_LEN], uint8_t *out)
{
    int n = 0;
    uint8_t t[TAG_LEN];
    memcpy(t, tag, TAG_LEN);
    if (len > INT32_MAX || EVP_DecryptInit_ex2(v->ctx, v->gcm, key, nonce, NULL) != 1 ||
        (aad1_len > 0 && EVP_DecryptUpdate(v->ctx, NULL, &n, aad1, (int)aad1_len) != 1) ||
        (aad2_len > 0 && EVP_DecryptUpdate(v->ctx, NULL, &n, aad2, (int)aad2_len) != 1) ||
        (len > 0 && EVP_DecryptUpdate(v->ctx, out, &n, ct, (int)len) != 1) ||
        EVP_CIPHER_CTX_ctrl(v->ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, t) != 1 ||
        EVP_DecryptFinal_ex(v->ctx, out + len, &n) != 1) {
        OPENSSL_cleanse(out, len);
        return ERR_DATA_LOSS;
    }
    return 0;
}

int vault_wrap(vault_t *v, const uint8_t *learner_hash, size_t hash_len,
               const uint8_t secret[VAULT_SECRET_LEN], uint8_t out[VAULT_WRAPPED_LEN])
{
    const vault_epoch_t *e = &v->epochs[v->n_epochs - 1];
    out[0] = (uint8_t)e->n;
    out[1] = (uint8_t)(e->n >> 8);
    out[2] = (uint8_t)(e->n >> 16);
    out[3] = (uint8_t)(e->n >> 24);
    if (next_nonce(v, out + 4) != 0)
        return ERR_UNAVAILABLE;
    /* The associated data binds the secret to its learner and its epoch (the first 4 bytes). */
    uint8_t aad[sizeof WRAP_AAD_LABEL + 4];
    memcpy(aad, WRAP_AAD_LABEL, sizeof WRAP_AAD_LABEL);
    memcpy(aad + sizeof WRAP_AAD_LABEL, out, 4);
    return gcm_seal(v, e->key, out + 4, aad, sizeof aad, learner_hash, hash_len, secret,
                    VAULT_SECRET_LEN, out + 4 + NONCE_LEN);
}

int vault_unwrap(vault_t *v, const uint8_t *learner_hash, size_t hash_len, const uint8_t *in,
                 size_t len, uint8_t secret[VAULT_SECRET_LEN], uint32_t *epoch, err_detail_t *d)
{
    if (len != VAULT_WRAPPED_LEN)
        return err_set(d, ERR_DATA_LOSS, "learner key", "a wrapped learner key of %zu bytes", len);
    uint32_t n =
        (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
    if (epoch != NULL)
        *epoch = n;
    const vault_epoch_t *e = NULL;
    for (uint32_t i = 0; i < v->n_epochs && e == NULL; i++)
        if (v->epochs[i].n == n)
            e = &v->epochs[i];
    if (e == NULL)
        return err_set(d, ERR_UNAVAILABLE, "store.key",
                       "learner keys wrapped under epoch %u, which store.key does not hold "
                       "(destroyed, or the store.key of another store)",
                       n);
    uint8_t aad[sizeof WRAP_AAD_LABEL + 4];
    memcpy(aad, WRAP_AAD_LABEL, sizeof WRAP_AAD_LABEL);
    memcpy(aad + sizeof WRAP_AAD_LABEL, in, 4);
    int rc =
        gcm_open(v, e->key, in + 4, aad, sizeof aad, learner_hash, hash_len, in + 4 + NONCE_LEN,
                 VAULT_SECRET_LEN, in + 4 + NONCE_LEN + VAULT_SECRET_LEN, secret);
    if (rc != 0)
        return err_set(d, ERR_DATA_LOSS, "learner key",
                       "a wrapped learner key does not open (damaged or moved)");
    return 0;
}

size_t vault_box_len(const vault_t *v, size_t plain_len)
{
    return v->seal ? plain_len + VAULT_BOX_OVERHEAD : plain_len + 1;
}

int vault_seal(vault_t *v, const uint8_t key[VAULT_KEY_LEN], const void *aad, size_t aad_len,
               const void *plain, size_t len, uint8_t *out)
{
    if (!v->seal) {
        out[0] = BOX_PLAIN;
        if (len > 0)
            memcpy(out + 1, plain, len);
        return 0;
    }
    out[0] = BOX_SEALED;
    if (next_nonce(v, out + 1) != 0)
        return ERR_INTERNAL;
    return gcm_seal(v, key, out + 1, aad, aad_len, NULL, 0, plain, len, out + 1 + NONCE_LEN);
}

int vault_unseal(vault_t *v, const uint8_t key[VAULT_KEY_LEN], const void *aad, size_t aad_len,
                 const uint8_t *box, size_t len, uint8_t *out, size_t *out_len)
{
    if (len >= 1 && box[0] == BOX_PLAIN) {
        *out_len = len - 1;
        if (len > 1)
            memcpy(out, box + 1, len - 1);
        return 0;
    }
    if (len < VAULT_BOX_OVERHEAD || box[0] != BOX_SEALED)
        return ERR_DATA_LOSS;
    size_t n = len - VAULT_BOX_OVERHEAD;
    int rc = gcm_open(v, key, box + 1, aad, aad_len, NULL, 0, box + 1 + NONCE_LEN, n,
                      box + 1 + NONCE_LEN + n, out);
    if (rc == 0)
        *out_len = n;
    return rc;
}

int vault_index_hash(vault_t *v, uint8_t domain, const void *id, size_t len,
                     uint8_t out[VAULT_INDEX_HASH_LEN])
{
    uint8_t mac[32];
    size_t mac_len = 0;
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(v->index);
    int ok = c != NULL && EVP_MAC_update(c, &domain, 1) == 1 && EVP_MAC_update(c, id, len) == 1 &&
             EVP_MAC_final(c, mac, &mac_len, sizeof mac) == 1;
    EVP_MAC_CTX_free(c);
    if (!ok)
        return ERR_NOMEM;
    memcpy(out, mac, VAULT_INDEX_HASH_LEN);
    return 0;
}

int vault_fingerprint(vault_t *v, uint8_t out[VAULT_INDEX_HASH_LEN])
{
    static const char label[] = "masteryd store key fingerprint";
    return vault_index_hash(v, 0, label, sizeof label - 1, out);
}
