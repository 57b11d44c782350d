#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"

struct keys {
    EVP_PKEY *pkey;
    keys_alg_t alg;
    bool priv;
    EVP_MD_CTX *sign_ctx;   /* cached across keys_sign() calls */
    EVP_MD_CTX *verify_ctx; /* cached across keys_verify() calls */
};

/* Multicodec varint prefixes (multiformats table): ed25519-pub 0xed, ed25519-priv 0x1300. */
static const uint8_t mc_ed25519_pub[2] = {0xed, 0x01};
static const uint8_t mc_ed25519_priv[2] = {0x80, 0x26};

/* Translates the OpenSSL error queue into ERR_INTERNAL with its text, and clears it. */
static int ossl_fail(err_detail_t *d, const char *what)
{
    unsigned long e = ERR_get_error();
    char text[256] = "no OpenSSL error recorded";
    if (e != 0)
        ERR_error_string_n(e, text, sizeof text);
    ERR_clear_error();
    return err_set(d, ERR_INTERNAL, "key", "%s failed: %s", what, text);
}

/* Wraps pkey (taking ownership) in a new keys_t after checking its type. */
static int keys_wrap(EVP_PKEY **pkey, bool priv, keys_t **out, err_detail_t *d)
{
    keys_alg_t alg;
    if (EVP_PKEY_is_a(*pkey, "ED25519")) {
        alg = KEYS_ED25519;
    } else if (EVP_PKEY_is_a(*pkey, "RSA")) {
        int bits = EVP_PKEY_get_bits(*pkey);
        if (bits < KEYS_RSA_MIN_BITS || bits > KEYS_RSA_MAX_BITS) {
            EVP_PKEY_free(*pkey);
            *pkey = NULL;
            return err_set(d, ERR_INVALID, "key", "RSA key of %d bits; need %d to %d", bits,
                           KEYS_RSA_MIN_BITS, KEYS_RSA_MAX_BITS);
        }
        alg = KEYS_RSA;
    } else {
        const char *name = EVP_PKEY_get0_type_name(*pkey);
        err_set(d, ERR_INVALID, "key", "unsupported key type %s; need Ed25519 or RSA",
                name ? name : "(unknown)");
        EVP_PKEY_free(*pkey);
        *pkey = NULL;
        return ERR_INVALID;
    }
    keys_t *k = calloc(1, sizeof *k);
    if (k == NULL) {
        EVP_PKEY_free(*pkey);
        *pkey = NULL;
        return err_set(d, ERR_NOMEM, "key", "out of memory");
    }
    k->pkey = *pkey;
    k->alg = alg;
    k->priv = priv;
    *pkey = NULL;
    *out = k;
    return 0;
}

int keys_generate(keys_alg_t alg, keys_t **out, err_detail_t *d)
{
    EVP_PKEY *pkey;
    if (alg == KEYS_ED25519)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else if (alg == KEYS_RSA)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)KEYS_RSA_MIN_BITS);
    else
        return err_set(d, ERR_INVALID, "alg", "unknown key algorithm %d", (int)alg);
    if (pkey == NULL)
        return ossl_fail(d, "key generation");
    return keys_wrap(&pkey, true, out, d);
}

int keys_dup(const keys_t *k, keys_t **out)
{
    keys_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ERR_NOMEM;
    if (!EVP_PKEY_up_ref(k->pkey)) {
        free(c);
        return ERR_NOMEM;
    }
    c->pkey = k->pkey;
    c->alg = k->alg;
    c->priv = k->priv;
    *out = c;
    return 0;
}

void keys_destroy(keys_t **kp)
{
    if (kp == NULL || *kp == NULL)
        return;
    keys_t *k = *kp;
    EVP_MD_CTX_free(k->sign_ctx);
    EVP_MD_CTX_free(k->verify_ctx);
    EVP_PKEY_free(k->pkey); /* OpenSSL wipes private key material when it frees it */
    OPENSSL_cleanse(k, sizeof *k);
    free(k);
    *kp = NULL;
}

keys_alg_t keys_alg(const keys_t *k)
{
    return k->alg;
}

bool keys_has_private(const keys_t *k)
{
    return k->priv;
}

size_t keys_sig_size(const keys_t *k)
{
    if (k->alg == KEYS_ED25519)
        return KEYS_ED25519_SIG_LEN;
    int n = EVP_PKEY_get_size(k->pkey);
    return n > 0 ? (size_t)n : 0;
}

/* ---- files -------------------------------------------------------------------------------- */

static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1; /* never prompt on a terminal; encrypted keys are refused */
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsyncs the directory holding path, so a rename or link in it is durable. */
static int sync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        dir[0] = '.';
        dir[1] = '\0';
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof dir)
            return -1;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int keys_save(const keys_t *k, const char *path, int flags, err_detail_t *d)
{
    int rc = 0, fd = -1;
    BIO *mem = NULL;
    char tmp[PATH_MAX];
    bool tmp_made = false;
    if (!k->priv)
        return err_set(d, ERR_INVALID, "key", "a public key has no private key to save");
    uint32_t r;
    if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
        return ossl_fail(d, "random temporary name");
    int n = snprintf(tmp, sizeof tmp, "%s.tmp-%08x", path, (unsigned)r);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return err_set(d, ERR_INVALID, "path", "key file path too long");

    mem = BIO_new(BIO_s_mem());
    if (mem == NULL || !PEM_write_bio_PKCS8PrivateKey(mem, k->pkey, NULL, NULL, 0, NULL, NULL)) {
        rc = ossl_fail(d, "PKCS#8 PEM encoding");
        goto out;
    }
    char *pem = NULL;
    long pem_len = BIO_get_mem_data(mem, &pem);
    if (pem_len <= 0) {
        rc = ossl_fail(d, "PKCS#8 PEM encoding");
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = err_set(d, ERR_UNAVAILABLE, "path", "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    tmp_made = true;
    /* umask can only clear bits, but make the mode exact anyway. */
    if (fchmod(fd, 0600) != 0 || write_all(fd, pem, (size_t)pem_len) != 0 || fsync(fd) != 0) {
        rc = err_set(d, ERR_UNAVAILABLE, "path", "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = err_set(d, ERR_UNAVAILABLE, "path", "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (flags & KEYS_SAVE_REPLACE) {
        if (rename(tmp, path) != 0) {
            rc = err_set(d, ERR_UNAVAILABLE, "path", "cannot rename to %s: %s", path,
                         strerror(errno));
            goto out;
        }
        tmp_made = false;
    } else if (link(tmp, path) != 0) {
        /* link() never replaces: an existing key stays as it is. */
        if (errno == EEXIST)
            rc = err_set(d, ERR_CONFLICT, "path", "%s already exists; a key is never overwritten",
                         path);
        else
            rc = err_set(d, ERR_UNAVAILABLE, "path", "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    if (sync_parent(path) != 0) {
        rc = err_set(d, ERR_UNAVAILABLE, "path", "cannot sync the directory of %s: %s", path,
                     strerror(errno));
        goto out;
    }
out:
    if (fd >= 0)
        close(fd);
    if (tmp_made)
        unlink(tmp);
    if (mem != NULL) {
        char *p = NULL;
        long len = BIO_get_mem_data(mem, &p);
        if (p != NULL && len > 0)
            OPENSSL_cleanse(p, (size_t)len);
        BIO_free(mem);
    }
    return rc;
}

int keys_load(const char *path, keys_t **out, err_detail_t *d)
{
    int rc = 0;
    char *data = NULL;
    size_t len = 0;
    BIO *bio = NULL;
    EVP_PKEY *pkey = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT)
            return err_set(d, ERR_NOT_FOUND, "path", "no key file %s", path);
        if (e == ELOOP)
            return err_set(d, ERR_INVALID, "path", "key file %s is a symbolic link", path);
        return err_set(d, ERR_UNAVAILABLE, "path", "cannot open key file %s: %s", path,
                       strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = err_set(d, ERR_UNAVAILABLE, "path", "cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = err_set(d, ERR_INVALID, "path", "key file %s is not a regular file", path);
        goto out;
    }
    if ((st.st_mode & 077) != 0) {
        rc = err_set(d, ERR_FORBIDDEN, "path",
                     "private key file %s has mode %04o: group or others can access it; "
                     "run chmod 600 on it",
                     path, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    if (st.st_size > KEYS_FILE_MAX) {
        rc = err_set(d, ERR_LIMIT, "path", "key file %s is larger than %d bytes", path,
                     KEYS_FILE_MAX);
        goto out;
    }
    data = malloc(KEYS_FILE_MAX + 1);
    if (data == NULL) {
        rc = err_set(d, ERR_NOMEM, "path", "out of memory");
        goto out;
    }
    for (;;) {
        ssize_t got = read(fd, data + len, KEYS_FILE_MAX + 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = err_set(d, ERR_UNAVAILABLE, "path", "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        len += (size_t)got;
        if (len > KEYS_FILE_MAX) {
            rc = err_set(d, ERR_LIMIT, "path", "key file %s is larger than %d bytes", path,
                         KEYS_FILE_MAX);
            goto out;
        }
    }
    bio = BIO_new_mem_buf(data, (int)len);
    if (bio == NULL) {
        rc = ossl_fail(d, "reading the key");
        goto out;
    }
    pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    if (pkey == NULL) {
        ERR_clear_error();
        rc = err_set(d, ERR_INVALID, "path",
                     "%s is not an unencrypted PEM private key (PKCS#8 expected)", path);
        goto out;
    }
    rc = keys_wrap(&pkey, true, out, d);
out:
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    if (data != NULL) {
        OPENSSL_cleanse(data, KEYS_FILE_MAX + 1);
        free(data);
    }
    close(fd);
    return rc;
}

/* ---- other sources ------------------------------------------------------------------------ */

int keys_from_seed(const uint8_t seed[KEYS_ED25519_SEED_LEN], keys_t **out, err_detail_t *d)
{
    EVP_PKEY *pkey =
        EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, seed, KEYS_ED25519_SEED_LEN);
    if (pkey == NULL)
        return ossl_fail(d, "Ed25519 key from seed");
    return keys_wrap(&pkey, true, out, d);
}

int keys_from_secret_multibase(const char *text, keys_t **out, err_detail_t *d)
{
    uint8_t raw[64];
    size_t n = 0;
    int rc = 0;
    if (text[0] != 'z' ||
        codec_multibase_decode(text, strlen(text), NULL, raw, sizeof raw, &n) != 0 ||
        n != 2 + KEYS_ED25519_SEED_LEN || memcmp(raw, mc_ed25519_priv, 2) != 0) {
        rc = err_set(d, ERR_INVALID, "secretKeyMultibase",
                     "not 'z' + base58btc of multicodec ed25519-priv (0x8026) and 32 bytes");
        goto out;
    }
    rc = keys_from_seed(raw + 2, out, d);
out:
    OPENSSL_cleanse(raw, sizeof raw);
    return rc;
}

int keys_from_public_raw(const uint8_t pub[KEYS_ED25519_PUBLIC_LEN], keys_t **out, err_detail_t *d)
{
    EVP_PKEY *pkey =
        EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub, KEYS_ED25519_PUBLIC_LEN);
    if (pkey == NULL)
        return ossl_fail(d, "Ed25519 public key");
    return keys_wrap(&pkey, false, out, d);
}

int keys_from_public_multibase(const char *text, keys_t **out, err_detail_t *d)
{
    uint8_t raw[64];
    size_t n = 0;
    if (text[0] != 'z' ||
        codec_multibase_decode(text, strlen(text), NULL, raw, sizeof raw, &n) != 0 ||
        n != 2 + KEYS_ED25519_PUBLIC_LEN || memcmp(raw, mc_ed25519_pub, 2) != 0)
        return err_set(d, ERR_INVALID, "publicKeyMultibase",
                       "not 'z' + base58btc of multicodec ed25519-pub (0xed01) and 32 bytes");
    return keys_from_public_raw(raw + 2, out, d);
}

int keys_from_did_key(const char *did, keys_t **out, err_detail_t *d)
{
    static const char prefix[] = "did:key:";
    if (strncmp(did, prefix, sizeof prefix - 1) != 0)
        return err_set(d, ERR_INVALID, "verificationMethod", "not a did:key identifier");
    const char *id = did + sizeof prefix - 1;
    const char *hash = strchr(id, '#');
    size_t id_len = hash ? (size_t)(hash - id) : strlen(id);
    char mb[KEYS_DID_MAX];
    if (id_len == 0 || id_len >= sizeof mb ||
        (hash != NULL && (strlen(hash + 1) != id_len || memcmp(hash + 1, id, id_len) != 0)))
        return err_set(d, ERR_INVALID, "verificationMethod",
                       "malformed did:key (the fragment must repeat the key)");
    memcpy(mb, id, id_len);
    mb[id_len] = '\0';
    int rc = keys_from_public_multibase(mb, out, d);
    if (rc == ERR_INVALID)
        err_set(d, rc, "verificationMethod", "did:key is not an Ed25519 (z6Mk...) key");
    return rc;
}

/* Decodes the base64url member name of jwk into a new BIGNUM. */
static int jwk_bn(const json_t *jwk, const char *name, BIGNUM **bn, err_detail_t *d)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    uint8_t bin[KEYS_RSA_MAX_BITS / 8 + 8];
    size_t n = 0;
    if (s == NULL || codec_base64url_decode(s, strlen(s), bin, sizeof bin, &n) != 0 || n == 0)
        return err_set(d, ERR_INVALID, name, "JWK member %s must be base64url (no padding)", name);
    *bn = BN_bin2bn(bin, (int)n, NULL);
    return *bn == NULL ? err_set(d, ERR_NOMEM, name, "out of memory") : 0;
}

static int rsa_from_ne(const json_t *jwk, keys_t **out, err_detail_t *d)
{
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    int rc = jwk_bn(jwk, "n", &n, d);
    if (rc == 0)
        rc = jwk_bn(jwk, "e", &e, d);
    if (rc != 0)
        goto out;
    if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
        (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
        EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        rc = ossl_fail(d, "RSA public key from JWK");
        goto out;
    }
    rc = keys_wrap(&pkey, false, out, d);
out:
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return rc;
}

int keys_from_jwk(const json_t *jwk, keys_t **out, err_detail_t *d)
{
    if (!json_is_object(jwk))
        return err_set(d, ERR_INVALID, "jwk", "a JWK must be a JSON object");
    static const char *private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    for (size_t i = 0; i < sizeof private_members / sizeof private_members[0]; i++)
        if (json_object_get(jwk, private_members[i]) != NULL)
            return err_set(d, ERR_INVALID, private_members[i],
                           "JWK holds private member \"%s\"; only public keys are accepted",
                           private_members[i]);
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    if (kty != NULL && strcmp(kty, "OKP") == 0) {
        const char *crv = json_string_value(json_object_get(jwk, "crv"));
        if (crv == NULL || strcmp(crv, "Ed25519") != 0)
            return err_set(d, ERR_INVALID, "crv", "OKP JWK must have crv \"Ed25519\"");
        const char *x = json_string_value(json_object_get(jwk, "x"));
        uint8_t pub[KEYS_ED25519_PUBLIC_LEN + 1];
        size_t n = 0;
        if (x == NULL || codec_base64url_decode(x, strlen(x), pub, sizeof pub, &n) != 0 ||
            n != KEYS_ED25519_PUBLIC_LEN)
            return err_set(d, ERR_INVALID, "x", "JWK x must be 32 bytes in base64url");
        return keys_from_public_raw(pub, out, d);
    }
    if (kty != NULL && strcmp(kty, "RSA") == 0)
        return rsa_from_ne(jwk, out, d);
    return err_set(d, ERR_INVALID, "kty", "JWK kty must be \"OKP\" or \"RSA\"");
}

/* ---- signing ------------------------------------------------------------------------------ */

int keys_sign(keys_t *k, const uint8_t *msg, size_t msg_len, uint8_t *sig, size_t cap,
              size_t *sig_len, err_detail_t *d)
{
    if (!k->priv)
        return err_set(d, ERR_INVALID, "key", "a public key cannot sign");
    size_t need = keys_sig_size(k);
    if (cap < need)
        return err_set(d, ERR_LIMIT, "signature", "signature buffer of %zu bytes; need %zu", cap,
                       need);
    if (k->sign_ctx == NULL && (k->sign_ctx = EVP_MD_CTX_new()) == NULL)
        return err_set(d, ERR_NOMEM, "key", "out of memory");
    /* Re-initialising the cached context keeps its allocations (OpenSSL 3 reinit). */
    if (EVP_DigestSignInit_ex(k->sign_ctx, NULL, k->alg == KEYS_RSA ? "SHA256" : NULL, NULL, NULL,
                              k->pkey, NULL) != 1)
        return ossl_fail(d, "signature init");
    size_t len = cap;
    if (EVP_DigestSign(k->sign_ctx, sig, &len, msg, msg_len) != 1)
        return ossl_fail(d, "signing");
    *sig_len = len;
    return 0;
}

int keys_verify(keys_t *k, const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len,
                err_detail_t *d)
{
    if (sig_len != keys_sig_size(k))
        return err_set(d, ERR_UNAUTHENTICATED, "signature",
                       "signature is %zu bytes; the key makes %zu-byte signatures", sig_len,
                       keys_sig_size(k));
    if (k->verify_ctx == NULL && (k->verify_ctx = EVP_MD_CTX_new()) == NULL)
        return err_set(d, ERR_NOMEM, "key", "out of memory");
    if (EVP_DigestVerifyInit_ex(k->verify_ctx, NULL, k->alg == KEYS_RSA ? "SHA256" : NULL, NULL,
                                NULL, k->pkey, NULL) != 1)
        return ossl_fail(d, "verification init");
    int ok = EVP_DigestVerify(k->verify_ctx, sig, sig_len, msg, msg_len);
    if (ok == 1)
        return 0;
    ERR_clear_error();
    return err_set(d, ERR_UNAUTHENTICATED, "signature", "signature does not verify");
}

/* ---- public forms ------------------------------------------------------------------------- */

int keys_public_raw(const keys_t *k, uint8_t out[KEYS_ED25519_PUBLIC_LEN])
{
    if (k->alg != KEYS_ED25519)
        return ERR_INVALID;
    size_t len = KEYS_ED25519_PUBLIC_LEN;
    if (EVP_PKEY_get_raw_public_key(k->pkey, out, &len) != 1 || len != KEYS_ED25519_PUBLIC_LEN) {
        ERR_clear_error();
        return ERR_INTERNAL;
    }
    return 0;
}

int keys_public_multibase(const keys_t *k, char *out, size_t cap)
{
    uint8_t raw[2 + KEYS_ED25519_PUBLIC_LEN];
    memcpy(raw, mc_ed25519_pub, 2);
    int rc = keys_public_raw(k, raw + 2);
    if (rc != 0)
        return rc;
    return codec_multibase_encode('z', raw, sizeof raw, out, cap, NULL);
}

int keys_did_key(const keys_t *k, char *out, size_t cap)
{
    static const char prefix[] = "did:key:";
    if (cap < sizeof prefix)
        return ERR_LIMIT;
    memcpy(out, prefix, sizeof prefix - 1);
    return keys_public_multibase(k, out + sizeof prefix - 1, cap - (sizeof prefix - 1));
}

int keys_vm_id(const keys_t *k, char *out, size_t cap)
{
    char mb[KEYS_DID_MAX];
    int rc = keys_public_multibase(k, mb, sizeof mb);
    if (rc != 0)
        return rc;
    int n = snprintf(out, cap, "did:key:%s#%s", mb, mb);
    return n < 0 || (size_t)n >= cap ? ERR_LIMIT : 0;
}

/* Writes the base64url of an RSA parameter (big-endian, no leading zeros) into out. */
static int rsa_param_b64u(const keys_t *k, const char *name, char *out, size_t cap)
{
    BIGNUM *bn = NULL;
    uint8_t bin[KEYS_RSA_MAX_BITS / 8 + 8];
    if (EVP_PKEY_get_bn_param(k->pkey, name, &bn) != 1) {
        ERR_clear_error();
        return ERR_INTERNAL;
    }
    int n = BN_num_bytes(bn);
    int rc = ERR_INTERNAL;
    if (n > 0 && (size_t)n <= sizeof bin && BN_bn2bin(bn, bin) == n)
        rc = codec_base64url_encode(bin, (size_t)n, out, cap, NULL);
    BN_free(bn);
    return rc;
}

/* The public members in base64url: x for Ed25519; n and e for RSA. */
typedef struct jwk_parts {
    char x[64];
    char n[KEYS_RSA_MAX_BITS / 6 + 8];
    char e[32];
} jwk_parts_t;

static int jwk_parts(const keys_t *k, jwk_parts_t *p)
{
    if (k->alg == KEYS_ED25519) {
        uint8_t raw[KEYS_ED25519_PUBLIC_LEN];
        int rc = keys_public_raw(k, raw);
        return rc != 0 ? rc : codec_base64url_encode(raw, sizeof raw, p->x, sizeof p->x, NULL);
    }
    int rc = rsa_param_b64u(k, OSSL_PKEY_PARAM_RSA_N, p->n, sizeof p->n);
    return rc != 0 ? rc : rsa_param_b64u(k, OSSL_PKEY_PARAM_RSA_E, p->e, sizeof p->e);
}

int keys_jwk(const keys_t *k, json_t **out)
{
    jwk_parts_t p;
    int rc = jwk_parts(k, &p);
    if (rc != 0)
        return rc;
    json_t *jwk = k->alg == KEYS_ED25519
                      ? json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x", p.x)
                      : json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", p.n, "e", p.e);
    if (jwk == NULL)
        return ERR_NOMEM;
    *out = jwk;
    return 0;
}

int keys_id(const keys_t *k, char *out, size_t cap)
{
    jwk_parts_t p;
    int rc = jwk_parts(k, &p);
    if (rc != 0)
        return rc;
    /* RFC 7638: the required members only, in lexicographic order, no whitespace. */
    char canon[sizeof p + 64];
    int n = k->alg == KEYS_ED25519
                ? snprintf(canon, sizeof canon,
                           "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", p.x)
                : snprintf(canon, sizeof canon, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", p.e,
                           p.n);
    if (n < 0 || (size_t)n >= sizeof canon)
        return ERR_INTERNAL;
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)canon, (size_t)n, digest);
    return codec_base64url_encode(digest, sizeof digest, out, cap, NULL);
}
